/* md_internal.h -- shared internals of the MD module: neighbour-list layout, potential objects,
 * the counter-based random numbers, and the small text tokenizer used by potential-file parsers.
 * Not part of the public API. */
#ifndef STRATA_MD_INTERNAL_H
#define STRATA_MD_INTERNAL_H
#include "../core/internal.h"
#include "strata/md.h"
#include <math.h>
#include <stdint.h>

/* Unit constants (see md.h).  MVV2E = 1 amu Å^2 fs^-2 in eV = 1.66053906660e-17 J / e;
 * KB = 8.617333262e-5 eV/K (CODATA 2018); EVA3_TO_BAR = 1 eV/Å^3 = 1.602176634e11 Pa. */
#define MD_MVV2E 103.64269652680505
#define MD_KB 8.617333262e-5
#define MD_EVA3_TO_BAR 1.602176634e6

/* ---- neighbour list ---- */
struct st_md_nlist {
    double cutoff, skin;
    int full;               /* build a full list in addition to the half list */
    int64_t builds, dangerous;
    int valid;              /* a list exists */
    /* geometry at the last build */
    int64_t n, next, cap_ext;
    double cell0[9], hinv0[9];
    int32_t pbc0[3];
    int has_frame;          /* cell0/hinv0 meaningful (some axis periodic or cell given) */
    double *x0;             /* [n][3] positions at the last build (reference for the skin test) */
    int32_t *src;           /* [next] */
    int32_t *img;           /* [next][3] lattice shift: x_ext[k] = x[src[k]] + img[k] . cell */
    double *x;              /* [next][3] current extended positions */
    int64_t *half_off;      /* [n+1] */
    int32_t *half_idx;
    int64_t half_cap;
    int64_t *full_off;
    int32_t *full_idx;
    int64_t full_cap;
    double cur_cell[9];     /* cell used for the current x */
};

/* Rebuild from reference positions x0 unconditionally (used by restore to reproduce a list). */
ST_HIDDEN int md_nlist_build(st_ctx *ctx, st_md_nlist *nl, int64_t n, const double *x0,
                             const double *cell, const int32_t *pbc);
/* Refresh extended positions for the current coordinates (no check, no rebuild). */
ST_HIDDEN void md_nlist_refresh(st_md_nlist *nl, const double *x, const double *cell);
/* 1 if the list must be rebuilt for these coordinates; sets *dangerous when the displacement
 * already exceeded the safe bound. */
ST_HIDDEN int md_nlist_needs_rebuild(const st_md_nlist *nl, int64_t n, const double *x,
                                     const double *cell, const int32_t *pbc, int *dangerous);
ST_HIDDEN int md_nlist_ensure_full(st_ctx *ctx, st_md_nlist *nl, int full);

/* ---- potentials ---- */
struct st_md_potential {
    const st_md_potential_class *cls;
    void *state;
};

/* Evaluate a set of potentials at positions x (the sim's and st_md_potential_compute's common
 * path).  forces [n][3] (required), atom_energies [n] or NULL.  nl may be NULL only if all
 * potentials are coordinate models.  rebuild: 1 = check and rebuild when needed, 0 = use as is
 * (the list must be valid), 2 = force a rebuild. */
typedef struct md_eval {
    double energy, virial[9];
    double *fext;           /* scratch [cap][3] */
    int64_t fext_cap;
    double *fbuf;           /* per-thread scratch */
    int64_t fbuf_cap;
} md_eval;
ST_HIDDEN int md_evaluate(st_ctx *ctx, md_eval *ev, st_md_potential **pots, int npots,
                          st_md_nlist *nl, int rebuild, int64_t n, const double *x,
                          const int32_t *numbers, const double *cell, const int32_t *pbc,
                          double *forces, double *atom_energies, int *rebuilt);
ST_HIDDEN void md_eval_free(md_eval *ev);

/* Per-thread force buffers for classes that scatter forces onto neighbours: thread 0 writes
 * into args->forces directly; others into zeroed private buffers that are summed afterwards. */
typedef struct md_tforce {
    double *f[64];          /* per-thread force targets ([next][3]); f[0] = args->forces */
    double *e[64];          /* per-thread atom-energy targets ([n]) or NULL */
    int nthreads;
    int64_t len;            /* doubles per private buffer */
    double *mem;
    int64_t cap;
} md_tforce;
ST_HIDDEN int md_tforce_init(st_ctx *ctx, md_tforce *tf, st_md_pot_args *a, int nthreads);
ST_HIDDEN void md_tforce_reduce(md_tforce *tf, st_md_pot_args *a);
ST_HIDDEN void md_tforce_free(md_tforce *tf);

/* Species map shared by the file-based potentials: z2t[Z] = type index or -1. */
typedef struct md_species {
    int ntypes;
    int32_t z[16];
    int8_t z2t[119];
} md_species;
ST_HIDDEN void md_species_init(md_species *sp);
ST_HIDDEN int md_species_add(md_species *sp, int z);                 /* index or -1 if full */
/* Checks every real atom; fills type[k] for all next entries.  label names the potential. */
ST_HIDDEN int md_species_types(st_ctx *ctx, const md_species *sp, const char *label,
                               const st_md_pot_args *a, int32_t *type);

/* "key=value ..." parsing into doubles.  keys: NULL-terminated; vals pre-filled with defaults;
 * given[i] set to 1 when present. */
ST_HIDDEN int md_parse_params(st_ctx *ctx, const char *label, const char *params, const char **keys,
                              double *vals, int *given);

/* ---- text tokenizer for potential files ---- */
typedef struct md_text {
    const char *name;       /* for messages */
    char *buf;
    size_t len, pos;
    int64_t line;           /* 1-based line of the last token */
    int field;              /* 1-based field of the last token on its line */
    int64_t cur_line;       /* line at pos */
    int cur_field;
} md_text;
ST_HIDDEN int md_text_open(st_ctx *ctx, md_text *t, const char *path);
ST_HIDDEN void md_text_close(md_text *t);
/* Next whitespace-separated token; '#' starts a comment to the end of the line when comments is
 * set.  Returns 1 with the token (NUL-terminated copy in tok, at most cap-1 chars), 0 at EOF. */
ST_HIDDEN int md_text_token(md_text *t, int comments, char *tok, size_t cap);
/* Skip to the start of the next line. */
ST_HIDDEN void md_text_skip_line(md_text *t);
/* Read the rest of the current line (without the newline) into out. */
ST_HIDDEN void md_text_rest_of_line(md_text *t, char *out, size_t cap);
/* Next token as a number; on failure sets a message naming the file, line, field and `what`. */
ST_HIDDEN int md_text_number(st_ctx *ctx, md_text *t, int comments, const char *what, double *out);
ST_HIDDEN int md_text_int(st_ctx *ctx, md_text *t, int comments, const char *what, long *out);

/* ---- random numbers: Philox4x32-10 (Salmon et al., SC'11), counter based ---- */
ST_HIDDEN void md_philox(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);
/* Two independent standard normals for (seed, stream, a, b) by Box-Muller on one Philox block. */
ST_HIDDEN void md_gauss2(uint64_t seed, uint32_t stream, uint64_t a, uint32_t b, double *g0, double *g1);

/* ---- built-in classes ---- */
extern const st_md_potential_class md_class_lj, md_class_morse, md_class_eam, md_class_eam_alloy,
    md_class_sw, md_class_tersoff, md_class_mb, md_class_mb_scaled, md_class_mb5d, md_class_mb_rings,
    md_class_threewell, md_class_threewell_scaled, md_class_harmonic;

/* ---- observers (sampled by the sim) ---- */
ST_HIDDEN int md_observer_stride(const st_md_observer *obs);

#endif
