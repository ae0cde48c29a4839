/* ml_internal.h -- helpers shared by the files of csrc/ml (not part of the public API). */
#ifndef STRATA_ML_INTERNAL_H
#define STRATA_ML_INTERNAL_H
#include "../core/internal.h"

/* Checks a distance matrix d [n][ldd]: n >= 1 (>= min_n), ldd >= n, entries off the diagonal
 * finite, >= 0 and symmetric to 1e-9 relative.  The diagonal is ignored (read as 0). */
ST_HIDDEN int st_ml_check_distances(st_ctx *ctx, const char *where, int64_t n, const double *d,
                                    int64_t ldd, int64_t min_n);
/* Checks x [n][ldx] (p columns, all finite unless allow_nan) and binary labels y [n]. */
ST_HIDDEN int st_ml_check_xy(st_ctx *ctx, const char *where, int64_t n, int64_t p, const double *x,
                             int64_t ldx, const double *y, int binary, int allow_nan);

#endif
