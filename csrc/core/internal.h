/* internal.h -- helpers shared by the C core; not part of the public API. */
#ifndef STRATA_INTERNAL_H
#define STRATA_INTERNAL_H
#include "strata.h"
#include <stdarg.h>
#include <stdio.h>

#define ST_HIDDEN __attribute__((visibility("hidden")))

/* Set ctx's error (printf-style) and return `status`.  ctx may be NULL. */
ST_HIDDEN int st_fail(st_ctx *ctx, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Report progress through ctx's hook (no-op without one). Call from the calling thread only. */
ST_HIDDEN void st_progress(st_ctx *ctx, const char *what, double done, double total);
/* Returns ST_ERR_INTERRUPTED with a message if an interrupt is pending, else ST_OK. */
ST_HIDDEN int st_check_interrupt(st_ctx *ctx, const char *where);
/* Allocation that refuses absurd sizes (overflow) instead of wrapping. */
ST_HIDDEN void *st_malloc_array(size_t count, size_t size);
ST_HIDDEN void *st_calloc_array(size_t count, size_t size);
ST_HIDDEN char *st_strdup(const char *s);
/* Threads to use inside a kernel: st_get_num_threads(). */
ST_HIDDEN int st_threads(void);

#endif
