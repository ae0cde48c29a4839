/* strata/atoms.h -- one frame of atoms: positions, numbers, cell, periodicity, named per-atom
 * arrays and per-frame info (key -> scalar, vector, matrix or string).
 *
 * Conventions: positions Cartesian in Å; cell rows are the lattice vectors a, b, c in Å (an
 * all-zero cell means "no cell"); pbc per axis 0/1.  Indices are 0-based.  Pointers returned by
 * accessors stay valid until the array is removed/replaced or the frame destroyed. */
#ifndef STRATA_ATOMS_H
#define STRATA_ATOMS_H
#include "core.h"

/* Kinds of values held in per-atom arrays and info entries. */
enum st_kind { ST_KIND_REAL = 0, ST_KIND_INT = 1, ST_KIND_BOOL = 2, ST_KIND_STRING = 3 };

typedef struct st_atoms st_atoms;

ST_API st_atoms *st_atoms_create(int64_t n);          /* NULL on allocation failure */
ST_API void st_atoms_destroy(st_atoms *a);            /* NULL is a no-op */
ST_API st_atoms *st_atoms_copy(const st_atoms *a);    /* deep copy */
ST_API int64_t st_atoms_count(const st_atoms *a);
ST_API double *st_atoms_positions(st_atoms *a);       /* [n][3] */
ST_API int32_t *st_atoms_numbers(st_atoms *a);        /* [n] atomic numbers; 0 = unknown/dummy */
ST_API double *st_atoms_cell(st_atoms *a);            /* [3][3] row vectors */
ST_API int32_t *st_atoms_pbc(st_atoms *a);            /* [3] */
ST_API int st_atoms_has_cell(const st_atoms *a);      /* any cell entry nonzero */
/* Resize to n atoms (keeps the first min(n, old) rows of everything; new rows zero). */
ST_API int st_atoms_resize(st_ctx *ctx, st_atoms *a, int64_t n);
/* Incremented whenever memory returned by an accessor may have moved or been freed (resize,
 * array replaced or removed).  Bindings use it to refuse stale views instead of crashing. */
ST_API uint64_t st_atoms_generation(const st_atoms *a);

/* Per-atom arrays ("forces", "velocities", "charges", "masses", ...).  Positions and numbers are
 * not in this list.  REAL data is double, INT and BOOL data is int32_t, STRING has no data
 * pointer (use the string accessors).  Adding an existing name with the same kind and ncols keeps
 * it; otherwise it is replaced by a zero-filled array. Returns the index, or -1 on error. */
ST_API int st_atoms_array_add(st_ctx *ctx, st_atoms *a, const char *name, int kind, int ncols);
ST_API int st_atoms_array_find(const st_atoms *a, const char *name);   /* -1 if absent */
ST_API int st_atoms_array_count(const st_atoms *a);
ST_API const char *st_atoms_array_name(const st_atoms *a, int idx);
ST_API int st_atoms_array_kind(const st_atoms *a, int idx);
ST_API int st_atoms_array_ncols(const st_atoms *a, int idx);
ST_API void *st_atoms_array_data(st_atoms *a, int idx);               /* [n][ncols] */
ST_API const char *st_atoms_array_string(const st_atoms *a, int idx, int64_t row, int col);
ST_API int st_atoms_array_set_string(st_ctx *ctx, st_atoms *a, int idx, int64_t row, int col,
                                     const char *value);
ST_API int st_atoms_array_remove(st_atoms *a, const char *name);      /* 1 removed, 0 absent */

/* Per-frame info.  ndim 0 = scalar, 1 = vector, 2 = matrix (row-major). Strings are scalars. */
ST_API int st_atoms_info_count(const st_atoms *a);
ST_API const char *st_atoms_info_key(const st_atoms *a, int idx);
ST_API int st_atoms_info_find(const st_atoms *a, const char *key);    /* -1 if absent */
ST_API int st_atoms_info_kind(const st_atoms *a, int idx);
ST_API int st_atoms_info_ndim(const st_atoms *a, int idx);
ST_API int64_t st_atoms_info_dim(const st_atoms *a, int idx, int axis);
ST_API const void *st_atoms_info_data(const st_atoms *a, int idx);    /* double* or int32_t* */
ST_API const char *st_atoms_info_string(const st_atoms *a, int idx);  /* NULL unless STRING */
ST_API int st_atoms_info_set_real(st_ctx *ctx, st_atoms *a, const char *key, int ndim,
                                  const int64_t *shape, const double *values);
ST_API int st_atoms_info_set_int(st_ctx *ctx, st_atoms *a, const char *key, int kind, int ndim,
                                 const int64_t *shape, const int32_t *values); /* INT or BOOL */
ST_API int st_atoms_info_set_string(st_ctx *ctx, st_atoms *a, const char *key, const char *value);
ST_API int st_atoms_info_remove(st_atoms *a, const char *key);        /* 1 removed, 0 absent */

/* Elements: Z = 1..118.  Symbol lookup is case-sensitive on the standard spelling ("Cu"). */
ST_API const char *st_element_symbol(int z);          /* "X" for 0, NULL if out of range */
ST_API int st_element_number(const char *symbol);     /* 0 for "X", -1 if unknown */
ST_API double st_element_mass(int z);                 /* standard atomic weight, amu; 0 if none */

/* Cell helpers. */
ST_API double st_cell_volume(const double *cell);     /* signed det; Å^3 */
ST_API int st_cell_inverse(const double *cell, double *inv);  /* ST_ERR_NUMERIC if singular */
/* frac = cart * inv(cell); cart = frac * cell (row vectors), n rows of 3. */
ST_API void st_cart_to_frac(const double *cell_inv, int64_t n, const double *cart, double *frac);
ST_API void st_frac_to_cart(const double *cell, int64_t n, const double *frac, double *cart);
/* Cell from lengths (Å) and angles (degrees), a along x, b in the xy plane (the usual convention). */
ST_API int st_cell_from_parameters(const double *lengths, const double *angles_deg, double *cell);
ST_API void st_cell_to_parameters(const double *cell, double *lengths, double *angles_deg);

#endif
