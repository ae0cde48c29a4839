/* strata/ops.h -- elementwise arithmetic, reductions, copies/casts and matrix multiply over
 * st_view arrays.  Both Lua bindings (the Lua 5.4 C binding and the LuaJIT FFI layer) build their
 * array objects on these, so the two paths compute identical results.
 *
 * Broadcasting follows NumPy: shapes are aligned on the right; a dimension of 1 stretches.  The
 * caller allocates `out` with the broadcast shape (st_op_broadcast_shape) and its dtype; inputs are
 * read through their strides, any dtype, converted to double (int64 beyond 2^53 loses precision:
 * documented), and stored with a cast to out's dtype.  out may alias an input exactly (in-place). */
#ifndef STRATA_OPS_H
#define STRATA_OPS_H
#include "core.h"

enum st_binop {
    ST_OP_ADD = 0, ST_OP_SUB = 1, ST_OP_MUL = 2, ST_OP_DIV = 3, ST_OP_POW = 4, ST_OP_MIN = 5,
    ST_OP_MAX = 6, ST_OP_MOD = 7, ST_OP_LT = 8, ST_OP_LE = 9, ST_OP_GT = 10, ST_OP_GE = 11,
    ST_OP_EQ = 12, ST_OP_NE = 13, ST_OP_ATAN2 = 14
};
enum st_unop {
    ST_OP_NEG = 0, ST_OP_ABS = 1, ST_OP_SQRT = 2, ST_OP_EXP = 3, ST_OP_LOG = 4, ST_OP_SIN = 5,
    ST_OP_COS = 6, ST_OP_TANH = 7, ST_OP_FLOOR = 8, ST_OP_CEIL = 9, ST_OP_ROUND = 10,
    ST_OP_SQUARE = 11, ST_OP_SIGN = 12, ST_OP_ISNAN = 13, ST_OP_TAN = 14, ST_OP_ASIN = 15,
    ST_OP_ACOS = 16, ST_OP_ATAN = 17, ST_OP_LOG1P = 18, ST_OP_EXPM1 = 19, ST_OP_SIGMOID = 20,
    ST_OP_RECIP = 21
};
enum st_redop {
    ST_RED_SUM = 0, ST_RED_PROD = 1, ST_RED_MIN = 2, ST_RED_MAX = 3, ST_RED_MEAN = 4,
    ST_RED_ARGMIN = 5, ST_RED_ARGMAX = 6, ST_RED_VAR = 7, ST_RED_STD = 8, ST_RED_NORM2 = 9,
    ST_RED_LOGSUMEXP = 10
};

/* Broadcast shape of a and b; returns ST_ERR_ARG (with message) when they do not broadcast. */
ST_API int st_op_broadcast_shape(st_ctx *ctx, const st_view *a, const st_view *b, int *ndim,
                                 int64_t *shape);
ST_API int st_op_binary(st_ctx *ctx, int op, const st_view *a, const st_view *b, st_view *out);
/* a op s (scalar_left = 0) or s op a (scalar_left = 1). */
ST_API int st_op_scalar(st_ctx *ctx, int op, const st_view *a, double s, int scalar_left,
                        st_view *out);
ST_API int st_op_unary(st_ctx *ctx, int op, const st_view *a, st_view *out);
/* Reduce over `axis` (0-based; -1 = all, giving a 0-d out).  out has a's shape without that axis
 * (ARGMIN/ARGMAX give 0-based indices; VAR/STD are population (ddof = 0)).  Sums are pairwise
 * (error O(log n eps)). */
ST_API int st_op_reduce(st_ctx *ctx, int op, const st_view *a, int axis, st_view *out);
/* dst[...] = src[...] with a cast; src broadcasts to dst's shape. */
ST_API int st_op_copy(st_ctx *ctx, const st_view *src, st_view *dst);
ST_API int st_op_fill(st_ctx *ctx, st_view *dst, double value);
/* out (m x n) = a (m x k) . b (k x n); float64 or float32 (all three the same dtype).  Uses
 * OpenBLAS when strides allow, copying to contiguous buffers otherwise.  Batched when ndim > 2:
 * leading dimensions must be equal. */
ST_API int st_op_matmul(st_ctx *ctx, const st_view *a, const st_view *b, st_view *out);
/* Element at a multi-index (0-based), as double; and set. No bounds check beyond ndim. */
ST_API double st_view_get(const st_view *v, const int64_t *index);
ST_API void st_view_set(st_view *v, const int64_t *index, double value);

#endif
