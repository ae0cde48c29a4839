/* ops.c -- elementwise, reduction, copy and matmul kernels over strided st_view arrays.
 *
 * Generic path: an N-d odometer over the output shape, reading inputs through broadcast strides
 * (stride 0 on stretched axes), computing in double.  Fast path: all-float64 contiguous operands
 * of equal shape run a flat loop the compiler vectorises.  Large element counts are split over
 * OpenMP threads by flat output index.  Matmul goes to OpenBLAS dgemm/sgemm.
 * Not here: integer-exact arithmetic beyond 2^53 (values pass through double). */
#include "internal.h"
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static inline double load(const void *base, int dtype, int64_t off)
{
    switch (dtype) {
    case ST_F64: return ((const double *)base)[off];
    case ST_F32: return ((const float *)base)[off];
    case ST_I32: return ((const int32_t *)base)[off];
    case ST_I64: return (double)((const int64_t *)base)[off];
    default: return ((const uint8_t *)base)[off];
    }
}

static inline void store(void *base, int dtype, int64_t off, double v)
{
    switch (dtype) {
    case ST_F64: ((double *)base)[off] = v; break;
    case ST_F32: ((float *)base)[off] = (float)v; break;
    case ST_I32: ((int32_t *)base)[off] = isfinite(v) ? (int32_t)v : 0; break;
    case ST_I64: ((int64_t *)base)[off] = isfinite(v) ? (int64_t)v : 0; break;
    default: ((uint8_t *)base)[off] = isfinite(v) ? (uint8_t)(int64_t)v : 0; break;
    }
}

double st_view_get(const st_view *v, const int64_t *idx)
{
    int64_t off = 0;
    for (int i = 0; i < v->ndim; i++) off += idx[i] * v->strides[i];
    return load(v->data, v->dtype, off);
}

void st_view_set(st_view *v, const int64_t *idx, double x)
{
    int64_t off = 0;
    for (int i = 0; i < v->ndim; i++) off += idx[i] * v->strides[i];
    store(v->data, v->dtype, off, x);
}

static int check_view(st_ctx *ctx, const st_view *v, const char *name)
{
    if (!v || (!v->data && st_view_numel(v) > 0))
        return st_fail(ctx, ST_ERR_ARG, "%s: array is NULL", name);
    if (v->ndim < 0 || v->ndim > ST_MAXDIM)
        return st_fail(ctx, ST_ERR_ARG, "%s: ndim %d out of range 0..%d", name, v->ndim, ST_MAXDIM);
    if (!st_dtype_size(v->dtype)) return st_fail(ctx, ST_ERR_ARG, "%s: unknown dtype %d", name, v->dtype);
    for (int i = 0; i < v->ndim; i++)
        if (v->shape[i] < 0) return st_fail(ctx, ST_ERR_ARG, "%s: negative extent on axis %d", name, i);
    return ST_OK;
}

int st_op_broadcast_shape(st_ctx *ctx, const st_view *a, const st_view *b, int *ndim, int64_t *shape)
{
    int n = a->ndim > b->ndim ? a->ndim : b->ndim;
    for (int i = 0; i < n; i++) {
        int ia = a->ndim - n + i, ib = b->ndim - n + i;
        int64_t da = ia >= 0 ? a->shape[ia] : 1, db = ib >= 0 ? b->shape[ib] : 1;
        if (da != db && da != 1 && db != 1) {
            char sa[160] = "", sb[160] = "";
            for (int k = 0; k < a->ndim; k++) snprintf(sa + strlen(sa), sizeof sa - strlen(sa), k ? "x%lld" : "%lld", (long long)a->shape[k]);
            for (int k = 0; k < b->ndim; k++) snprintf(sb + strlen(sb), sizeof sb - strlen(sb), k ? "x%lld" : "%lld", (long long)b->shape[k]);
            return st_fail(ctx, ST_ERR_ARG, "shapes (%s) and (%s) do not broadcast", sa, sb);
        }
        shape[i] = da == 1 ? db : da;
    }
    *ndim = n;
    return ST_OK;
}

/* Strides of `v` stretched to the output shape (0 on broadcast axes). */
static int bstrides(st_ctx *ctx, const st_view *v, const st_view *out, int64_t *st, const char *name)
{
    if (v->ndim > out->ndim) return st_fail(ctx, ST_ERR_ARG, "%s: has more dimensions than the output", name);
    for (int i = 0; i < out->ndim; i++) {
        int iv = v->ndim - out->ndim + i;
        if (iv < 0) { st[i] = 0; continue; }
        if (v->shape[iv] == out->shape[i]) st[i] = v->shape[iv] == 1 ? 0 : v->strides[iv];
        else if (v->shape[iv] == 1) st[i] = 0;
        else return st_fail(ctx, ST_ERR_ARG, "%s: extent %lld on axis %d does not match output %lld",
                            name, (long long)v->shape[iv], i, (long long)out->shape[i]);
    }
    return ST_OK;
}

/* Offsets of flat output index `flat` for up to 3 operands. */
static inline void offsets_of(int64_t flat, int nd, const int64_t *shape, const int64_t *s0,
                              const int64_t *s1, const int64_t *s2, int64_t *o)
{
    o[0] = o[1] = o[2] = 0;
    for (int d = nd - 1; d >= 0; d--) {
        int64_t e = shape[d] ? flat % shape[d] : 0;
        flat = shape[d] ? flat / shape[d] : 0;
        o[0] += e * s0[d];
        o[1] += e * s1[d];
        o[2] += e * s2[d];
    }
}

static inline double binop(int op, double x, double y)
{
    switch (op) {
    case ST_OP_ADD: return x + y;
    case ST_OP_SUB: return x - y;
    case ST_OP_MUL: return x * y;
    case ST_OP_DIV: return x / y;
    case ST_OP_POW: return pow(x, y);
    case ST_OP_MIN: return x < y || isnan(x) ? x : y;
    case ST_OP_MAX: return x > y || isnan(x) ? x : y;
    case ST_OP_MOD: return x - floor(x / y) * y; /* Lua's floored modulo */
    case ST_OP_LT: return x < y;
    case ST_OP_LE: return x <= y;
    case ST_OP_GT: return x > y;
    case ST_OP_GE: return x >= y;
    case ST_OP_EQ: return x == y;
    case ST_OP_NE: return x != y;
    case ST_OP_ATAN2: return atan2(x, y);
    default: return NAN;
    }
}

static inline double unop(int op, double x)
{
    switch (op) {
    case ST_OP_NEG: return -x;
    case ST_OP_ABS: return fabs(x);
    case ST_OP_SQRT: return sqrt(x);
    case ST_OP_EXP: return exp(x);
    case ST_OP_LOG: return log(x);
    case ST_OP_SIN: return sin(x);
    case ST_OP_COS: return cos(x);
    case ST_OP_TANH: return tanh(x);
    case ST_OP_FLOOR: return floor(x);
    case ST_OP_CEIL: return ceil(x);
    case ST_OP_ROUND: return round(x);
    case ST_OP_SQUARE: return x * x;
    case ST_OP_SIGN: return (x > 0) - (x < 0);
    case ST_OP_ISNAN: return isnan(x);
    case ST_OP_TAN: return tan(x);
    case ST_OP_ASIN: return asin(x);
    case ST_OP_ACOS: return acos(x);
    case ST_OP_ATAN: return atan(x);
    case ST_OP_LOG1P: return log1p(x);
    case ST_OP_EXPM1: return expm1(x);
    case ST_OP_SIGMOID: return 1.0 / (1.0 + exp(-x));
    case ST_OP_RECIP: return 1.0 / x;
    default: return NAN;
    }
}

#define PAR_THRESHOLD 65536

int st_op_binary(st_ctx *ctx, int op, const st_view *a, const st_view *b, st_view *out)
{
    int rc;
    if ((rc = check_view(ctx, a, "binary op: left")) || (rc = check_view(ctx, b, "binary op: right")) ||
        (rc = check_view(ctx, out, "binary op: out")))
        return rc;
    if (op < ST_OP_ADD || op > ST_OP_ATAN2) return st_fail(ctx, ST_ERR_ARG, "binary op: unknown op %d", op);
    int64_t sa[ST_MAXDIM], sb[ST_MAXDIM];
    if ((rc = bstrides(ctx, a, out, sa, "binary op: left")) || (rc = bstrides(ctx, b, out, sb, "binary op: right")))
        return rc;
    int64_t n = st_view_numel(out);
    if (a->dtype == ST_F64 && b->dtype == ST_F64 && out->dtype == ST_F64 && st_view_is_contiguous(a) &&
        st_view_is_contiguous(b) && st_view_is_contiguous(out) && st_view_numel(a) == n && st_view_numel(b) == n) {
        const double *x = a->data, *y = b->data;
        double *z = out->data;
        switch (op) {
        case ST_OP_ADD:
#pragma omp parallel for if (n > PAR_THRESHOLD) schedule(static)
            for (int64_t i = 0; i < n; i++) z[i] = x[i] + y[i];
            return ST_OK;
        case ST_OP_SUB:
#pragma omp parallel for if (n > PAR_THRESHOLD) schedule(static)
            for (int64_t i = 0; i < n; i++) z[i] = x[i] - y[i];
            return ST_OK;
        case ST_OP_MUL:
#pragma omp parallel for if (n > PAR_THRESHOLD) schedule(static)
            for (int64_t i = 0; i < n; i++) z[i] = x[i] * y[i];
            return ST_OK;
        case ST_OP_DIV:
#pragma omp parallel for if (n > PAR_THRESHOLD) schedule(static)
            for (int64_t i = 0; i < n; i++) z[i] = x[i] / y[i];
            return ST_OK;
        default: break;
        }
    }
    int nd = out->ndim;
    const int64_t *so = out->strides;
#pragma omp parallel for if (n > PAR_THRESHOLD) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        int64_t o[3];
        offsets_of(i, nd, out->shape, sa, sb, so, o);
        store(out->data, out->dtype, o[2], binop(op, load(a->data, a->dtype, o[0]), load(b->data, b->dtype, o[1])));
    }
    return ST_OK;
}

int st_op_scalar(st_ctx *ctx, int op, const st_view *a, double s, int left, st_view *out)
{
    int rc;
    if ((rc = check_view(ctx, a, "scalar op: array")) || (rc = check_view(ctx, out, "scalar op: out"))) return rc;
    if (op < ST_OP_ADD || op > ST_OP_ATAN2) return st_fail(ctx, ST_ERR_ARG, "scalar op: unknown op %d", op);
    int64_t sa[ST_MAXDIM], z[ST_MAXDIM] = {0};
    if ((rc = bstrides(ctx, a, out, sa, "scalar op: array"))) return rc;
    int64_t n = st_view_numel(out);
    int nd = out->ndim;
    if (a->dtype == ST_F64 && out->dtype == ST_F64 && st_view_is_contiguous(a) && st_view_is_contiguous(out) &&
        st_view_numel(a) == n && !left && (op == ST_OP_ADD || op == ST_OP_MUL)) {
        const double *x = a->data;
        double *y = out->data;
        if (op == ST_OP_ADD) {
#pragma omp parallel for if (n > PAR_THRESHOLD) schedule(static)
            for (int64_t i = 0; i < n; i++) y[i] = x[i] + s;
        } else {
#pragma omp parallel for if (n > PAR_THRESHOLD) schedule(static)
            for (int64_t i = 0; i < n; i++) y[i] = x[i] * s;
        }
        return ST_OK;
    }
#pragma omp parallel for if (n > PAR_THRESHOLD) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        int64_t o[3];
        offsets_of(i, nd, out->shape, sa, out->strides, z, o);
        double x = load(a->data, a->dtype, o[0]);
        store(out->data, out->dtype, o[1], left ? binop(op, s, x) : binop(op, x, s));
    }
    return ST_OK;
}

int st_op_unary(st_ctx *ctx, int op, const st_view *a, st_view *out)
{
    int rc;
    if ((rc = check_view(ctx, a, "unary op: array")) || (rc = check_view(ctx, out, "unary op: out"))) return rc;
    if (op < ST_OP_NEG || op > ST_OP_RECIP) return st_fail(ctx, ST_ERR_ARG, "unary op: unknown op %d", op);
    int64_t sa[ST_MAXDIM], z[ST_MAXDIM] = {0};
    if ((rc = bstrides(ctx, a, out, sa, "unary op: array"))) return rc;
    int64_t n = st_view_numel(out);
    int nd = out->ndim;
#pragma omp parallel for if (n > PAR_THRESHOLD) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        int64_t o[3];
        offsets_of(i, nd, out->shape, sa, out->strides, z, o);
        store(out->data, out->dtype, o[1], unop(op, load(a->data, a->dtype, o[0])));
    }
    return ST_OK;
}

int st_op_copy(st_ctx *ctx, const st_view *src, st_view *dst)
{
    int rc;
    if ((rc = check_view(ctx, src, "copy: source")) || (rc = check_view(ctx, dst, "copy: destination"))) return rc;
    int64_t ss[ST_MAXDIM], z[ST_MAXDIM] = {0};
    if ((rc = bstrides(ctx, src, dst, ss, "copy: source"))) return rc;
    int64_t n = st_view_numel(dst);
    if (src->dtype == dst->dtype && st_view_is_contiguous(src) && st_view_is_contiguous(dst) &&
        st_view_numel(src) == n) {
        memmove(dst->data, src->data, (size_t)n * st_dtype_size(dst->dtype));
        return ST_OK;
    }
    int nd = dst->ndim;
    if (src->dtype == ST_I64 && dst->dtype == ST_I64) { /* exact for big integers */
        for (int64_t i = 0; i < n; i++) {
            int64_t o[3];
            offsets_of(i, nd, dst->shape, ss, dst->strides, z, o);
            ((int64_t *)dst->data)[o[1]] = ((const int64_t *)src->data)[o[0]];
        }
        return ST_OK;
    }
#pragma omp parallel for if (n > PAR_THRESHOLD) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        int64_t o[3];
        offsets_of(i, nd, dst->shape, ss, dst->strides, z, o);
        store(dst->data, dst->dtype, o[1], load(src->data, src->dtype, o[0]));
    }
    return ST_OK;
}

int st_op_fill(st_ctx *ctx, st_view *dst, double value)
{
    int rc = check_view(ctx, dst, "fill");
    if (rc) return rc;
    int64_t n = st_view_numel(dst), z[ST_MAXDIM] = {0};
    for (int64_t i = 0; i < n; i++) {
        int64_t o[3];
        offsets_of(i, dst->ndim, dst->shape, dst->strides, z, z, o);
        store(dst->data, dst->dtype, o[0], value);
    }
    return ST_OK;
}

/* Pairwise (cascade) summation of a strided line: error grows like log2(n) eps. */
static double pairwise_sum(const void *base, int dtype, int64_t off, int64_t stride, int64_t n)
{
    if (n <= 64) {
        double s = 0;
        for (int64_t i = 0; i < n; i++) s += load(base, dtype, off + i * stride);
        return s;
    }
    int64_t h = n / 2;
    return pairwise_sum(base, dtype, off, stride, h) + pairwise_sum(base, dtype, off + h * stride, stride, n - h);
}

static double reduce_line(int op, const void *base, int dtype, int64_t off, int64_t stride, int64_t n)
{
    switch (op) {
    case ST_RED_SUM: return pairwise_sum(base, dtype, off, stride, n);
    case ST_RED_MEAN: return n ? pairwise_sum(base, dtype, off, stride, n) / (double)n : NAN;
    case ST_RED_PROD: {
        double p = 1;
        for (int64_t i = 0; i < n; i++) p *= load(base, dtype, off + i * stride);
        return p;
    }
    case ST_RED_MIN: case ST_RED_MAX: case ST_RED_ARGMIN: case ST_RED_ARGMAX: {
        if (!n) return NAN;
        int want_max = op == ST_RED_MAX || op == ST_RED_ARGMAX;
        double best = load(base, dtype, off);
        int64_t bi = 0;
        for (int64_t i = 1; i < n && !isnan(best); i++) {
            double v = load(base, dtype, off + i * stride);
            if (isnan(v) || (want_max ? v > best : v < best)) best = v, bi = i;
        }
        return op == ST_RED_MIN || op == ST_RED_MAX ? best : (double)bi;
    }
    case ST_RED_VAR: case ST_RED_STD: {
        if (!n) return NAN;
        double m = pairwise_sum(base, dtype, off, stride, n) / (double)n, s = 0, c = 0;
        for (int64_t i = 0; i < n; i++) {
            double d = load(base, dtype, off + i * stride) - m;
            s += d * d;
            c += d;
        }
        double var = (s - c * c / (double)n) / (double)n; /* corrected two-pass */
        return op == ST_RED_VAR ? var : sqrt(var);
    }
    case ST_RED_NORM2: {
        double scale = 0, ssq = 1; /* overflow-safe, as in LAPACK's dnrm2 */
        for (int64_t i = 0; i < n; i++) {
            double v = fabs(load(base, dtype, off + i * stride));
            if (v == 0) continue;
            if (scale < v) ssq = 1 + ssq * (scale / v) * (scale / v), scale = v;
            else ssq += (v / scale) * (v / scale);
        }
        return scale * sqrt(ssq);
    }
    case ST_RED_LOGSUMEXP: {
        if (!n) return -INFINITY;
        double m = -INFINITY, s = 0;
        for (int64_t i = 0; i < n; i++) m = fmax(m, load(base, dtype, off + i * stride));
        if (!isfinite(m)) return m;
        for (int64_t i = 0; i < n; i++) s += exp(load(base, dtype, off + i * stride) - m);
        return m + log(s);
    }
    default: return NAN;
    }
}

int st_op_reduce(st_ctx *ctx, int op, const st_view *a, int axis, st_view *out)
{
    int rc;
    if ((rc = check_view(ctx, a, "reduce: array")) || (rc = check_view(ctx, out, "reduce: out"))) return rc;
    if (op < ST_RED_SUM || op > ST_RED_LOGSUMEXP) return st_fail(ctx, ST_ERR_ARG, "reduce: unknown op %d", op);
    if (axis < -1 || axis >= a->ndim)
        return st_fail(ctx, ST_ERR_ARG, "reduce: axis %d out of range for a %d-d array", axis + 1, a->ndim);
    if (axis == -1) {
        if (st_view_numel(out) != 1) return st_fail(ctx, ST_ERR_ARG, "reduce: out must hold one value");
        int64_t n = st_view_numel(a);
        if (st_view_is_contiguous(a)) {
            store(out->data, out->dtype, 0, reduce_line(op, a->data, a->dtype, 0, 1, n));
            return ST_OK;
        }
        /* Non-contiguous: gather to a temporary. */
        double *tmp = st_malloc_array((size_t)n, sizeof(double));
        if (!tmp) return st_fail(ctx, ST_ERR_NOMEM, "reduce: out of memory");
        st_view t = {tmp, ST_F64, a->ndim, {0}, {0}};
        memcpy(t.shape, a->shape, sizeof t.shape);
        st_view_set_contiguous(&t);
        st_op_copy(ctx, a, &t);
        store(out->data, out->dtype, 0, reduce_line(op, tmp, ST_F64, 0, 1, n));
        free(tmp);
        return ST_OK;
    }
    if (out->ndim != a->ndim - 1) return st_fail(ctx, ST_ERR_ARG, "reduce: out must have %d dimensions", a->ndim - 1);
    int64_t ishape[ST_MAXDIM], istr[ST_MAXDIM];
    for (int i = 0, k = 0; i < a->ndim; i++) {
        if (i == axis) continue;
        if (out->shape[k] != a->shape[i]) return st_fail(ctx, ST_ERR_ARG, "reduce: out shape does not match");
        ishape[k] = a->shape[i];
        istr[k++] = a->strides[i];
    }
    int64_t n = st_view_numel(out), len = a->shape[axis], ls = a->strides[axis];
    int nd = out->ndim;
#pragma omp parallel for if (n * len > PAR_THRESHOLD) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        int64_t o[3];
        offsets_of(i, nd, ishape, istr, out->strides, out->strides, o);
        store(out->data, out->dtype, o[1], reduce_line(op, a->data, a->dtype, o[0], ls, len));
    }
    return ST_OK;
}

/* Leading dimension for BLAS: a row-major matrix view is usable directly when its column stride
 * is 1 (or row stride 1 = transposed). Returns 'N'/'T' and sets ld; 0 if a copy is needed. */
static char blas_layout(const int64_t *shape, const int64_t *st, int64_t *ld)
{
    if (st[1] == 1 && (st[0] >= shape[1] || shape[0] == 1)) {
        *ld = st[0] > 0 ? st[0] : (shape[1] ? shape[1] : 1);
        if (*ld < shape[1]) *ld = shape[1];
        return 'N';
    }
    if (st[0] == 1 && (st[1] >= shape[0] || shape[1] == 1)) {
        *ld = st[1] > 0 ? st[1] : (shape[0] ? shape[0] : 1);
        if (*ld < shape[0]) *ld = shape[0];
        return 'T';
    }
    return 0;
}

static int gemm2d(st_ctx *ctx, int dtype, const void *A, const int64_t *ash, const int64_t *ast,
                  const void *Bm, const int64_t *bsh, const int64_t *bst, void *C, const int64_t *csh,
                  const int64_t *cst)
{
    int64_t m = ash[0], k = ash[1], n = bsh[1];
    size_t es = st_dtype_size(dtype);
    int64_t lda = 0, ldb = 0, ldc = 0;
    char ta = blas_layout(ash, ast, &lda), tb = blas_layout(bsh, bst, &ldb), tc = blas_layout(csh, cst, &ldc);
    void *ca = NULL, *cb = NULL, *cc = NULL;
    int rc = ST_OK;
    if (!ta) {
        ca = st_malloc_array((size_t)(m * k), es);
        if (!ca) { rc = ST_ERR_NOMEM; goto done; }
        st_view s = {(void *)A, dtype, 2, {m, k}, {ast[0], ast[1]}}, d = {ca, dtype, 2, {m, k}, {k, 1}};
        st_op_copy(ctx, &s, &d);
        A = ca, ta = 'N', lda = k ? k : 1;
    }
    if (!tb) {
        cb = st_malloc_array((size_t)(k * n), es);
        if (!cb) { rc = ST_ERR_NOMEM; goto done; }
        st_view s = {(void *)Bm, dtype, 2, {k, n}, {bst[0], bst[1]}}, d = {cb, dtype, 2, {k, n}, {n, 1}};
        st_op_copy(ctx, &s, &d);
        Bm = cb, tb = 'N', ldb = n ? n : 1;
    }
    void *Cout = C;
    if (tc != 'N') {
        cc = st_calloc_array((size_t)(m * n), es);
        if (!cc) { rc = ST_ERR_NOMEM; goto done; }
        Cout = cc, ldc = n ? n : 1;
    }
    if (m && n) {
        if (k == 0) {
            st_view d = {Cout, dtype, 2, {m, n}, {ldc, 1}};
            st_op_fill(ctx, &d, 0);
        } else if (dtype == ST_F64) {
            cblas_dgemm(CblasRowMajor, ta == 'N' ? CblasNoTrans : CblasTrans, tb == 'N' ? CblasNoTrans : CblasTrans,
                        (int)m, (int)n, (int)k, 1.0, A, (int)lda, Bm, (int)ldb, 0.0, Cout, (int)ldc);
        } else {
            cblas_sgemm(CblasRowMajor, ta == 'N' ? CblasNoTrans : CblasTrans, tb == 'N' ? CblasNoTrans : CblasTrans,
                        (int)m, (int)n, (int)k, 1.0f, A, (int)lda, Bm, (int)ldb, 0.0f, Cout, (int)ldc);
        }
    }
    if (cc) {
        st_view s = {cc, dtype, 2, {m, n}, {n, 1}}, d = {C, dtype, 2, {m, n}, {cst[0], cst[1]}};
        st_op_copy(ctx, &s, &d);
    }
done:
    free(ca);
    free(cb);
    free(cc);
    if (rc) return st_fail(ctx, rc, "matmul: out of memory");
    return ST_OK;
}

int st_op_matmul(st_ctx *ctx, const st_view *a, const st_view *b, st_view *out)
{
    int rc;
    if ((rc = check_view(ctx, a, "matmul: left")) || (rc = check_view(ctx, b, "matmul: right")) ||
        (rc = check_view(ctx, out, "matmul: out")))
        return rc;
    if (a->dtype != b->dtype || a->dtype != out->dtype || (a->dtype != ST_F64 && a->dtype != ST_F32))
        return st_fail(ctx, ST_ERR_ARG, "matmul: operands must all be float64 or all float32");
    if (a->ndim < 2 || b->ndim != a->ndim || out->ndim != a->ndim)
        return st_fail(ctx, ST_ERR_ARG, "matmul: operands must be matrices (or equal-rank batches)");
    int nd = a->ndim;
    int64_t m = a->shape[nd - 2], k = a->shape[nd - 1], k2 = b->shape[nd - 2], n = b->shape[nd - 1];
    if (k != k2)
        return st_fail(ctx, ST_ERR_ARG, "matmul: inner dimensions differ (%lld x %lld times %lld x %lld)",
                       (long long)m, (long long)k, (long long)k2, (long long)n);
    if (out->shape[nd - 2] != m || out->shape[nd - 1] != n) return st_fail(ctx, ST_ERR_ARG, "matmul: out shape");
    if (m > INT32_MAX || n > INT32_MAX || k > INT32_MAX) return st_fail(ctx, ST_ERR_ARG, "matmul: too large for BLAS");
    int64_t batch = 1;
    for (int i = 0; i < nd - 2; i++) {
        if (a->shape[i] != b->shape[i] || a->shape[i] != out->shape[i])
            return st_fail(ctx, ST_ERR_ARG, "matmul: batch dimensions differ");
        batch *= a->shape[i];
    }
    size_t es = st_dtype_size(a->dtype);
    for (int64_t t = 0; t < batch; t++) {
        int64_t oa = 0, ob = 0, oc = 0, r = t;
        for (int i = nd - 3; i >= 0; i--) {
            int64_t e = r % a->shape[i];
            r /= a->shape[i];
            oa += e * a->strides[i], ob += e * b->strides[i], oc += e * out->strides[i];
        }
        rc = gemm2d(ctx, a->dtype, (const char *)a->data + oa * (int64_t)es, a->shape + nd - 2, a->strides + nd - 2,
                    (const char *)b->data + ob * (int64_t)es, b->shape + nd - 2, b->strides + nd - 2,
                    (char *)out->data + oc * (int64_t)es, out->shape + nd - 2, out->strides + nd - 2);
        if (rc) return rc;
    }
    return ST_OK;
}
