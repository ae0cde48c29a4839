/* cif_expand.h -- private interface of the CIF format: the parser (cif.c), the symmetry code
 * (cif_expand.c: operation strings and the expansion of an asymmetric unit to P1;
 * cif_spacegroup.c: operations from a space-group symbol) and the writer (cif_write.c). */
#ifndef STRATA_IO_CIF_EXPAND_H
#define STRATA_IO_CIF_EXPAND_H
#include "format.h"

/* x' = R x + t in fractional coordinates. */
typedef struct cif_symop {
    int r[3][3];
    double t[3];
} cif_symop;

/* Tolerance (fractional, per coordinate, periodic) under which two images are one atom. */
#define CIF_SAME_TOL 1e-3

/* Parse "x,y,z", "-y+1/2,x-y,z+0.25", "1/2+x,..." (spaces and upper case allowed).  Returns 0,
 * or -1 with the reason written to err. */
ST_HIDDEN int cif_symop_parse(const char *s, cif_symop *op, char *err, size_t nerr);

/* Operations of the group named by a Hall symbol (cif_spacegroup.c); returns the count or -1
 * with the reason in err. */
ST_HIDDEN int cif_hall_ops(const char *hall, cif_symop *ops, int maxops, char *err, size_t nerr);
/* Hall symbol of an H-M symbol ("C m c m", "F d -3 m:2") or of a space-group number (first
 * setting), NULL if unknown; *number gets the IT number when not NULL. */
ST_HIDDEN const char *cif_hall_from_hm(const char *hm, int *number);
ST_HIDDEN const char *cif_hall_from_number(int number);
/* Entry idx (0..529) of the settings table; 0 past the end. */
ST_HIDDEN int cif_spacegroup_table(int idx, int *number, int *order, const char **choice,
                                   const char **hall, const char **full);

typedef struct cif_site {
    double frac[3];      /* as listed (not wrapped) */
    double occ;          /* 1 when the CIF gives none */
    const char *label;   /* for messages */
    int64_t line;        /* line of the site's row, for messages */
} cif_site;

typedef struct cif_p1 {
    int64_t n;           /* atoms after expansion */
    double *frac;        /* [n][3], each in [0,1) */
    int64_t *site;       /* [n] asymmetric site of each atom; atoms are grouped by site */
    int32_t *mult;       /* [nsites] number of unique images of each site */
} cif_p1;

/* Expand sites by ops (the identity is applied first whether or not it is listed).  file and
 * block (the data_ name) are for messages.  Errors: ST_ERR_PARSE for two sites on one position whose
 * occupancies sum above 1, ST_ERR_ARG for absurd sizes, ST_ERR_INTERRUPTED. */
ST_HIDDEN int cif_expand(st_ctx *ctx, const char *file, const char *block, const cif_site *sites,
                         int64_t nsites, const cif_symop *ops, int64_t nops, cif_p1 *out);
ST_HIDDEN void cif_p1_free(cif_p1 *p);

/* The st_format write hook: one P1 data block per frame. */
ST_HIDDEN int cif_write_frame(st_ctx *ctx, FILE *fp, const char *name, int64_t index, st_atoms *a);

#endif
