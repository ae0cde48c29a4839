/* atoms.c -- the st_atoms frame: positions, numbers, cell, pbc, named per-atom arrays and
 * per-frame info.  Arrays are kept in small vectors looked up by name (frames carry a handful). */
#include "internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *name;
    int kind, ncols;
    void *data;     /* double* / int32_t*; for STRING: char ** of n*ncols entries */
} array_t;

typedef struct {
    char *key;
    int kind, ndim;
    int64_t dim[2];
    void *data;     /* double* / int32_t* / char* */
} info_t;

struct st_atoms {
    int64_t n;
    double *pos;
    int32_t *num;
    double cell[9];
    int32_t pbc[3];
    array_t *arr;
    int narr, caparr;
    info_t *info;
    int ninfo, capinfo;
    uint64_t gen;
};

uint64_t st_atoms_generation(const st_atoms *a) { return a->gen; }

static size_t kind_size(int kind) { return kind == ST_KIND_REAL ? sizeof(double) : kind == ST_KIND_STRING ? sizeof(char *) : sizeof(int32_t); }

st_atoms *st_atoms_create(int64_t n)
{
    if (n < 0) return NULL;
    st_atoms *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    a->n = n;
    a->pos = st_calloc_array((size_t)n * 3, sizeof(double));
    a->num = st_calloc_array((size_t)n, sizeof(int32_t));
    if (!a->pos || !a->num) {
        st_atoms_destroy(a);
        return NULL;
    }
    return a;
}

static void free_array(array_t *ar, int64_t n)
{
    if (ar->kind == ST_KIND_STRING && ar->data) {
        char **s = ar->data;
        for (int64_t i = 0; i < n * ar->ncols; i++) free(s[i]);
    }
    free(ar->data);
    free(ar->name);
}

void st_atoms_destroy(st_atoms *a)
{
    if (!a) return;
    for (int i = 0; i < a->narr; i++) free_array(&a->arr[i], a->n);
    for (int i = 0; i < a->ninfo; i++) {
        free(a->info[i].key);
        free(a->info[i].data);
    }
    free(a->arr);
    free(a->info);
    free(a->pos);
    free(a->num);
    free(a);
}

int64_t st_atoms_count(const st_atoms *a) { return a ? a->n : 0; }
double *st_atoms_positions(st_atoms *a) { return a->pos; }
int32_t *st_atoms_numbers(st_atoms *a) { return a->num; }
double *st_atoms_cell(st_atoms *a) { return a->cell; }
int32_t *st_atoms_pbc(st_atoms *a) { return a->pbc; }

int st_atoms_has_cell(const st_atoms *a)
{
    for (int i = 0; i < 9; i++)
        if (a->cell[i] != 0) return 1;
    return 0;
}

st_atoms *st_atoms_copy(const st_atoms *a)
{
    if (!a) return NULL;
    st_atoms *b = st_atoms_create(a->n);
    if (!b) return NULL;
    memcpy(b->pos, a->pos, (size_t)a->n * 3 * sizeof(double));
    memcpy(b->num, a->num, (size_t)a->n * sizeof(int32_t));
    memcpy(b->cell, a->cell, sizeof b->cell);
    memcpy(b->pbc, a->pbc, sizeof b->pbc);
    for (int i = 0; i < a->narr; i++) {
        const array_t *s = &a->arr[i];
        int idx = st_atoms_array_add(NULL, b, s->name, s->kind, s->ncols);
        if (idx < 0) goto fail;
        size_t cnt = (size_t)a->n * (size_t)s->ncols;
        if (s->kind == ST_KIND_STRING) {
            char **src = s->data, **dst = b->arr[idx].data;
            for (size_t k = 0; k < cnt; k++)
                if (src[k] && !(dst[k] = st_strdup(src[k]))) goto fail;
        } else {
            memcpy(b->arr[idx].data, s->data, cnt * kind_size(s->kind));
        }
    }
    for (int i = 0; i < a->ninfo; i++) {
        const info_t *s = &a->info[i];
        int rc;
        if (s->kind == ST_KIND_STRING)
            rc = st_atoms_info_set_string(NULL, b, s->key, s->data);
        else if (s->kind == ST_KIND_REAL)
            rc = st_atoms_info_set_real(NULL, b, s->key, s->ndim, s->dim, s->data);
        else
            rc = st_atoms_info_set_int(NULL, b, s->key, s->kind, s->ndim, s->dim, s->data);
        if (rc) goto fail;
    }
    return b;
fail:
    st_atoms_destroy(b);
    return NULL;
}

int st_atoms_resize(st_ctx *ctx, st_atoms *a, int64_t n)
{
    if (n < 0) return st_fail(ctx, ST_ERR_ARG, "st_atoms_resize: negative atom count %lld", (long long)n);
    int64_t keep = n < a->n ? n : a->n;
    double *pos = st_calloc_array((size_t)n * 3, sizeof(double));
    int32_t *num = st_calloc_array((size_t)n, sizeof(int32_t));
    if (!pos || !num) {
        free(pos);
        free(num);
        return st_fail(ctx, ST_ERR_NOMEM, "out of memory resizing to %lld atoms", (long long)n);
    }
    memcpy(pos, a->pos, (size_t)keep * 3 * sizeof(double));
    memcpy(num, a->num, (size_t)keep * sizeof(int32_t));
    for (int i = 0; i < a->narr; i++) {
        array_t *ar = &a->arr[i];
        size_t es = kind_size(ar->kind);
        void *d = st_calloc_array((size_t)n * (size_t)ar->ncols, es);
        if (!d) {
            free(pos);
            free(num);
            return st_fail(ctx, ST_ERR_NOMEM, "out of memory resizing to %lld atoms", (long long)n);
        }
        memcpy(d, ar->data, (size_t)keep * (size_t)ar->ncols * es);
        if (ar->kind == ST_KIND_STRING) {
            char **s = ar->data;
            for (int64_t k = keep * ar->ncols; k < a->n * ar->ncols; k++) free(s[k]);
        }
        free(ar->data);
        ar->data = d;
    }
    free(a->pos);
    free(a->num);
    a->pos = pos;
    a->num = num;
    a->n = n;
    a->gen++;
    return ST_OK;
}

/* ---- per-atom arrays ---- */
int st_atoms_array_find(const st_atoms *a, const char *name)
{
    for (int i = 0; i < a->narr; i++)
        if (!strcmp(a->arr[i].name, name)) return i;
    return -1;
}

int st_atoms_array_add(st_ctx *ctx, st_atoms *a, const char *name, int kind, int ncols)
{
    if (!name || !*name) return -!!st_fail(ctx, ST_ERR_ARG, "per-atom array needs a name");
    if (kind < ST_KIND_REAL || kind > ST_KIND_STRING || ncols < 1 || ncols > 1 << 20)
        return -!!st_fail(ctx, ST_ERR_ARG, "per-atom array '%s': bad kind %d or column count %d", name, kind, ncols);
    if (!strcmp(name, "positions") || !strcmp(name, "numbers"))
        return -!!st_fail(ctx, ST_ERR_ARG, "'%s' is built in, not a per-atom array", name);
    int idx = st_atoms_array_find(a, name);
    if (idx >= 0 && a->arr[idx].kind == kind && a->arr[idx].ncols == ncols) return idx;
    void *d = st_calloc_array((size_t)a->n * (size_t)ncols, kind_size(kind));
    char *nm = st_strdup(name);
    if (!d || !nm) {
        free(d);
        free(nm);
        return -!!st_fail(ctx, ST_ERR_NOMEM, "out of memory for per-atom array '%s'", name);
    }
    if (idx < 0) {
        if (a->narr == a->caparr) {
            int cap = a->caparr ? a->caparr * 2 : 8;
            array_t *na = realloc(a->arr, (size_t)cap * sizeof *na);
            if (!na) {
                free(d);
                free(nm);
                return -!!st_fail(ctx, ST_ERR_NOMEM, "out of memory");
            }
            a->arr = na;
            a->caparr = cap;
        }
        idx = a->narr++;
    } else {
        free_array(&a->arr[idx], a->n);
        a->gen++;
    }
    a->arr[idx] = (array_t){nm, kind, ncols, d};
    return idx;
}

int st_atoms_array_count(const st_atoms *a) { return a->narr; }
const char *st_atoms_array_name(const st_atoms *a, int i) { return i >= 0 && i < a->narr ? a->arr[i].name : NULL; }
int st_atoms_array_kind(const st_atoms *a, int i) { return i >= 0 && i < a->narr ? a->arr[i].kind : -1; }
int st_atoms_array_ncols(const st_atoms *a, int i) { return i >= 0 && i < a->narr ? a->arr[i].ncols : 0; }
void *st_atoms_array_data(st_atoms *a, int i)
{
    return i >= 0 && i < a->narr && a->arr[i].kind != ST_KIND_STRING ? a->arr[i].data : NULL;
}

const char *st_atoms_array_string(const st_atoms *a, int i, int64_t row, int col)
{
    if (i < 0 || i >= a->narr || a->arr[i].kind != ST_KIND_STRING) return NULL;
    if (row < 0 || row >= a->n || col < 0 || col >= a->arr[i].ncols) return NULL;
    const char *s = ((char **)a->arr[i].data)[row * a->arr[i].ncols + col];
    return s ? s : "";
}

int st_atoms_array_set_string(st_ctx *ctx, st_atoms *a, int i, int64_t row, int col, const char *v)
{
    if (i < 0 || i >= a->narr || a->arr[i].kind != ST_KIND_STRING)
        return st_fail(ctx, ST_ERR_ARG, "array %d is not a string array", i);
    if (row < 0 || row >= a->n || col < 0 || col >= a->arr[i].ncols)
        return st_fail(ctx, ST_ERR_ARG, "array '%s': index (%lld, %d) out of range", a->arr[i].name, (long long)row, col);
    char *d = st_strdup(v ? v : "");
    if (!d) return st_fail(ctx, ST_ERR_NOMEM, "out of memory");
    char **s = a->arr[i].data;
    free(s[row * a->arr[i].ncols + col]);
    s[row * a->arr[i].ncols + col] = d;
    return ST_OK;
}

int st_atoms_array_remove(st_atoms *a, const char *name)
{
    int i = st_atoms_array_find(a, name);
    if (i < 0) return 0;
    free_array(&a->arr[i], a->n);
    memmove(&a->arr[i], &a->arr[i + 1], (size_t)(a->narr - i - 1) * sizeof *a->arr);
    a->narr--;
    a->gen++;
    return 1;
}

/* ---- info ---- */
int st_atoms_info_count(const st_atoms *a) { return a->ninfo; }
const char *st_atoms_info_key(const st_atoms *a, int i) { return i >= 0 && i < a->ninfo ? a->info[i].key : NULL; }
int st_atoms_info_find(const st_atoms *a, const char *key)
{
    for (int i = 0; i < a->ninfo; i++)
        if (!strcmp(a->info[i].key, key)) return i;
    return -1;
}
int st_atoms_info_kind(const st_atoms *a, int i) { return i >= 0 && i < a->ninfo ? a->info[i].kind : -1; }
int st_atoms_info_ndim(const st_atoms *a, int i) { return i >= 0 && i < a->ninfo ? a->info[i].ndim : -1; }
int64_t st_atoms_info_dim(const st_atoms *a, int i, int axis)
{
    if (i < 0 || i >= a->ninfo || axis < 0 || axis >= a->info[i].ndim) return 1;
    return a->info[i].dim[axis];
}
const void *st_atoms_info_data(const st_atoms *a, int i)
{
    return i >= 0 && i < a->ninfo && a->info[i].kind != ST_KIND_STRING ? a->info[i].data : NULL;
}
const char *st_atoms_info_string(const st_atoms *a, int i)
{
    return i >= 0 && i < a->ninfo && a->info[i].kind == ST_KIND_STRING ? a->info[i].data : NULL;
}

static int info_put(st_ctx *ctx, st_atoms *a, const char *key, int kind, int ndim, const int64_t *shape,
                    const void *values, size_t bytes)
{
    if (!key || !*key) return st_fail(ctx, ST_ERR_ARG, "info entry needs a key");
    if (ndim < 0 || ndim > 2) return st_fail(ctx, ST_ERR_ARG, "info '%s': ndim must be 0, 1 or 2", key);
    void *d = malloc(bytes ? bytes : 1);
    char *k = st_strdup(key);
    if (!d || !k) {
        free(d);
        free(k);
        return st_fail(ctx, ST_ERR_NOMEM, "out of memory");
    }
    if (bytes) memcpy(d, values, bytes);
    int i = st_atoms_info_find(a, key);
    if (i < 0) {
        if (a->ninfo == a->capinfo) {
            int cap = a->capinfo ? a->capinfo * 2 : 8;
            info_t *ni = realloc(a->info, (size_t)cap * sizeof *ni);
            if (!ni) {
                free(d);
                free(k);
                return st_fail(ctx, ST_ERR_NOMEM, "out of memory");
            }
            a->info = ni;
            a->capinfo = cap;
        }
        i = a->ninfo++;
    } else {
        free(a->info[i].key);
        free(a->info[i].data);
    }
    info_t *e = &a->info[i];
    e->key = k;
    e->kind = kind;
    e->ndim = ndim;
    e->dim[0] = ndim > 0 ? shape[0] : 1;
    e->dim[1] = ndim > 1 ? shape[1] : 1;
    e->data = d;
    return ST_OK;
}

static int64_t info_numel(int ndim, const int64_t *shape)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || shape[i] > ((int64_t)1 << 40)) return -1;
        n *= shape[i];
    }
    return n;
}

int st_atoms_info_set_real(st_ctx *ctx, st_atoms *a, const char *key, int ndim, const int64_t *shape,
                           const double *values)
{
    int64_t n = info_numel(ndim, shape);
    if (n < 0) return st_fail(ctx, ST_ERR_ARG, "info '%s': bad shape", key ? key : "");
    return info_put(ctx, a, key, ST_KIND_REAL, ndim, shape, values, (size_t)n * sizeof(double));
}

int st_atoms_info_set_int(st_ctx *ctx, st_atoms *a, const char *key, int kind, int ndim,
                          const int64_t *shape, const int32_t *values)
{
    if (kind != ST_KIND_INT && kind != ST_KIND_BOOL)
        return st_fail(ctx, ST_ERR_ARG, "info '%s': kind must be INT or BOOL", key ? key : "");
    int64_t n = info_numel(ndim, shape);
    if (n < 0) return st_fail(ctx, ST_ERR_ARG, "info '%s': bad shape", key ? key : "");
    return info_put(ctx, a, key, kind, ndim, shape, values, (size_t)n * sizeof(int32_t));
}

int st_atoms_info_set_string(st_ctx *ctx, st_atoms *a, const char *key, const char *value)
{
    if (!value) value = "";
    return info_put(ctx, a, key, ST_KIND_STRING, 0, NULL, value, strlen(value) + 1);
}

int st_atoms_info_remove(st_atoms *a, const char *key)
{
    int i = st_atoms_info_find(a, key);
    if (i < 0) return 0;
    free(a->info[i].key);
    free(a->info[i].data);
    memmove(&a->info[i], &a->info[i + 1], (size_t)(a->ninfo - i - 1) * sizeof *a->info);
    a->ninfo--;
    return 1;
}

/* ---- cells ---- */
double st_cell_volume(const double *c)
{
    return c[0] * (c[4] * c[8] - c[5] * c[7]) - c[1] * (c[3] * c[8] - c[5] * c[6]) +
           c[2] * (c[3] * c[7] - c[4] * c[6]);
}

int st_cell_inverse(const double *c, double *inv)
{
    double det = st_cell_volume(c);
    double scale = 0;
    for (int i = 0; i < 9; i++) scale = fmax(scale, fabs(c[i]));
    if (!(fabs(det) > 1e-12 * scale * scale * scale) || !isfinite(det)) return ST_ERR_NUMERIC;
    double d = 1.0 / det;
    inv[0] = (c[4] * c[8] - c[5] * c[7]) * d;
    inv[1] = (c[2] * c[7] - c[1] * c[8]) * d;
    inv[2] = (c[1] * c[5] - c[2] * c[4]) * d;
    inv[3] = (c[5] * c[6] - c[3] * c[8]) * d;
    inv[4] = (c[0] * c[8] - c[2] * c[6]) * d;
    inv[5] = (c[2] * c[3] - c[0] * c[5]) * d;
    inv[6] = (c[3] * c[7] - c[4] * c[6]) * d;
    inv[7] = (c[1] * c[6] - c[0] * c[7]) * d;
    inv[8] = (c[0] * c[4] - c[1] * c[3]) * d;
    return ST_OK;
}

void st_cart_to_frac(const double *inv, int64_t n, const double *cart, double *frac)
{
    for (int64_t i = 0; i < n; i++) {
        double x = cart[3 * i], y = cart[3 * i + 1], z = cart[3 * i + 2];
        for (int k = 0; k < 3; k++) frac[3 * i + k] = x * inv[k] + y * inv[3 + k] + z * inv[6 + k];
    }
}

void st_frac_to_cart(const double *c, int64_t n, const double *frac, double *cart)
{
    for (int64_t i = 0; i < n; i++) {
        double x = frac[3 * i], y = frac[3 * i + 1], z = frac[3 * i + 2];
        for (int k = 0; k < 3; k++) cart[3 * i + k] = x * c[k] + y * c[3 + k] + z * c[6 + k];
    }
}

int st_cell_from_parameters(const double *L, const double *ang, double *c)
{
    const double d2r = 3.14159265358979323846 / 180.0;
    double al = ang[0] * d2r, be = ang[1] * d2r, ga = ang[2] * d2r;
    for (int i = 0; i < 3; i++)
        if (!(L[i] > 0) || !isfinite(L[i]) || !(ang[i] > 0 && ang[i] < 180)) return ST_ERR_ARG;
    /* Exact values for right angles so orthorhombic cells stay exactly diagonal. */
    double ca = ang[0] == 90 ? 0 : cos(al), cb = ang[1] == 90 ? 0 : cos(be);
    double cg = ang[2] == 90 ? 0 : cos(ga), sg = ang[2] == 90 ? 1 : sin(ga);
    c[0] = L[0]; c[1] = 0; c[2] = 0;
    c[3] = L[1] * cg; c[4] = L[1] * sg; c[5] = 0;
    double cx = cb, cy = (ca - cb * cg) / sg;
    double cz2 = 1 - cx * cx - cy * cy;
    if (!(cz2 > 0)) return ST_ERR_ARG;
    c[6] = L[2] * cx; c[7] = L[2] * cy; c[8] = L[2] * sqrt(cz2);
    return ST_OK;
}

void st_cell_to_parameters(const double *c, double *L, double *ang)
{
    const double r2d = 180.0 / 3.14159265358979323846;
    for (int i = 0; i < 3; i++) L[i] = sqrt(c[3 * i] * c[3 * i] + c[3 * i + 1] * c[3 * i + 1] + c[3 * i + 2] * c[3 * i + 2]);
    for (int i = 0; i < 3; i++) {
        int j = (i + 1) % 3, k = (i + 2) % 3;
        double dot = c[3 * j] * c[3 * k] + c[3 * j + 1] * c[3 * k + 1] + c[3 * j + 2] * c[3 * k + 2];
        double v = (L[j] > 0 && L[k] > 0) ? dot / (L[j] * L[k]) : 0;
        if (v > 1) v = 1;
        if (v < -1) v = -1;
        ang[i] = acos(v) * r2d;
    }
}
