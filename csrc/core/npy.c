/* npy.c -- the NumPy .npy format: header parsing and writing, conversion of the data to C order
 * and native byte order, and the .npy file API.  zip.c builds the .npz API on the same code
 * through the small byte-stream interface st__npy_io below.
 *
 * Format (numpy.lib.format docs, NEP 1): 6 bytes "\x93NUMPY", major and minor version bytes, a
 * little-endian header length (uint16 in 1.0, uint32 in 2.0 and 3.0), then the header: a Python
 * literal dict {'descr': <dtype str>, 'fortran_order': <bool>, 'shape': <tuple of ints>} padded
 * with spaces and ended by '\n' (latin-1 text in 1.0/2.0, UTF-8 allowed in 3.0), then the raw
 * data.  NumPy pads the header so the data start at a multiple of 64 bytes (ARRAY_ALIGN) and
 * (1.24 does; older releases did not) first leaves 21 - len(repr(shape[0])) spare spaces
 * (GROWTH_AXIS_MAX_DIGITS) so the array can be grown in place.  We write the same bytes, so our
 * files are byte-identical to NumPy 1.24's np.save for the same array (checked by the tests).
 *
 * Does not: read structured, string, complex, object (pickled) or other dtypes (ST_ERR_FORMAT
 * naming the descr); write Fortran order or foreign byte order; memory-map. */
#include "internal.h"
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "npy_io.h"

enum {
    MAGIC_LEN = 8,                   /* "\x93NUMPY" + major + minor */
    ARRAY_ALIGN = 64,                /* numpy.lib.format.ARRAY_ALIGN */
    GROWTH_DIGITS = 21,              /* numpy.lib.format.GROWTH_AXIS_MAX_DIGITS (numpy >= 1.24) */
    MAX_HEADER = 1 << 20,            /* longer headers are refused (np.load's default is 10000) */
    HEADER_CAP = 512                 /* room for any header we write: 8 dims of 19 digits */
};
static const size_t CHUNK = (size_t)16 << 20;   /* bytes per read/write between interrupt polls */

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
static const char NATIVE = '>';
#else
static const char NATIVE = '<';
#endif

/* ------------------------------------------------------------------ header parsing */

/* A printable excerpt of header text for messages: at most 40 characters, quotes kept. */
static const char *excerpt(const char *p, const char *end, char *buf, size_t cap)
{
    size_t k = 0;
    while (p < end && k + 4 < cap && k < 40) {
        unsigned char c = (unsigned char)*p++;
        buf[k++] = (c >= 32 && c < 127) ? (char)c : '?';
    }
    if (p < end && k + 4 < cap) { buf[k++] = '.'; buf[k++] = '.'; buf[k++] = '.'; }
    buf[k] = 0;
    return buf;
}

typedef struct lit {
    const char *p, *end;
    st_ctx *ctx;
    const char *where;
} lit;

static void skip_ws(lit *L)
{
    while (L->p < L->end && (*L->p == ' ' || *L->p == '\t' || *L->p == '\n' || *L->p == '\r'))
        L->p++;
}

static int lit_error(lit *L, int status, const char *field, const char *expected)
{
    char ex[64];
    if (L->p >= L->end)
        return st_fail(L->ctx, status, "%s: .npy header%s%s%s: expected %s, got the end of the header",
                       L->where, field ? ": field '" : "", field ? field : "", field ? "'" : "",
                       expected);
    return st_fail(L->ctx, status, "%s: .npy header%s%s%s: expected %s, got '%s'", L->where,
                   field ? ": field '" : "", field ? field : "", field ? "'" : "", expected,
                   excerpt(L->p, L->end, ex, sizeof ex));
}

/* A Python string literal ('...' or "...") into out (truncated to cap-1, still consumed). */
static int parse_str(lit *L, const char *field, char *out, size_t cap)
{
    if (L->p >= L->end || (*L->p != '\'' && *L->p != '"'))
        return lit_error(L, ST_ERR_PARSE, field, "a quoted string");
    char q = *L->p++;
    size_t k = 0;
    while (L->p < L->end && *L->p != q) {
        char c = *L->p++;
        if (c == '\\' && L->p < L->end) c = *L->p++;   /* only \' \" \\ matter in a descr or key */
        if (k + 1 < cap) out[k++] = c;
    }
    if (L->p >= L->end) return lit_error(L, ST_ERR_PARSE, field, "a closing quote");
    L->p++;
    out[k] = 0;
    return ST_OK;
}

/* Skip one Python literal (string, bracketed structure or bare word), leaving L->p after it; used
 * to quote a non-string descr (a structured dtype list) in the error message. */
static void skip_value(lit *L)
{
    int depth = 0;
    while (L->p < L->end) {
        char c = *L->p;
        if (c == '\'' || c == '"') {
            L->p++;
            while (L->p < L->end && *L->p != c) L->p += (*L->p == '\\') ? 2 : 1;
            if (L->p < L->end) L->p++;
            continue;
        }
        if (c == '(' || c == '[' || c == '{') depth++;
        else if (c == ')' || c == ']' || c == '}') {
            if (depth == 0) return;
            depth--;
        } else if (c == ',' && depth == 0) return;
        L->p++;
    }
    if (L->p > L->end) L->p = L->end;   /* a trailing backslash stepped over the end */
}

/* Map a descr string to a dtype.  '|b1' (bool) reads as ST_U8: numpy stores False/True as 0/1. */
static int descr_dtype(const char *d, int *dtype, int *swap)
{
    char order = d[0];
    if (order != '<' && order != '>' && order != '|' && order != '=') return -1;
    const char *t = d + 1;
    int size;
    if (!strcmp(t, "f8")) { *dtype = ST_F64; size = 8; }
    else if (!strcmp(t, "f4")) { *dtype = ST_F32; size = 4; }
    else if (!strcmp(t, "i4")) { *dtype = ST_I32; size = 4; }
    else if (!strcmp(t, "i8")) { *dtype = ST_I64; size = 8; }
    else if (!strcmp(t, "u1") || !strcmp(t, "b1")) { *dtype = ST_U8; size = 1; }
    else return -1;
    if (size == 1) { *swap = 0; return 0; }
    if (order == '|') return -1;             /* numpy never writes '|' for multi-byte types */
    *swap = order != '=' && order != NATIVE;
    return 0;
}

static void format_shape(const int64_t *shape, int ndim, char *buf, size_t cap)
{
    size_t k = (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < ndim && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, i ? ", %lld" : "%lld", (long long)shape[i]);
    if (k < cap) snprintf(buf + k, cap - k, ndim == 1 ? ",)" : ")");
}

static int parse_shape(lit *L, st_npy_info *info)
{
    if (L->p >= L->end || *L->p != '(') return lit_error(L, ST_ERR_PARSE, "shape", "a tuple '(...)'");
    L->p++;
    int n = 0, trailing_comma = 0;
    for (;;) {
        skip_ws(L);
        if (L->p < L->end && *L->p == ')') { L->p++; break; }
        if (L->p < L->end && *L->p == '-')
            return lit_error(L, ST_ERR_PARSE, "shape", "a non-negative dimension");
        if (L->p >= L->end || *L->p < '0' || *L->p > '9')
            return lit_error(L, ST_ERR_PARSE, "shape", "an integer dimension");
        int64_t d = 0;
        const char *start = L->p;
        while (L->p < L->end && *L->p >= '0' && *L->p <= '9') {
            if (d > (INT64_MAX - 9) / 10) {
                L->p = start;
                return lit_error(L, ST_ERR_PARSE, "shape", "a dimension that fits in 64 bits");
            }
            d = d * 10 + (*L->p++ - '0');
        }
        if (L->p < L->end && (*L->p == 'L' || *L->p == 'l')) L->p++;   /* Python 2 long */
        if (n == ST_MAXDIM)
            return st_fail(L->ctx, ST_ERR_FORMAT, "%s: .npy header: field 'shape': more than %d "
                           "dimensions are not supported", L->where, ST_MAXDIM);
        info->shape[n++] = d;
        skip_ws(L);
        trailing_comma = 0;
        if (L->p < L->end && *L->p == ',') { L->p++; trailing_comma = 1; continue; }
        if (L->p < L->end && *L->p == ')') { L->p++; break; }
        return lit_error(L, ST_ERR_PARSE, "shape", "',' or ')'");
    }
    if (n == 1 && !trailing_comma)   /* "(3)" is the integer 3 in Python, not a tuple */
        return st_fail(L->ctx, ST_ERR_PARSE, "%s: .npy header: field 'shape': (%lld) is not a "
                       "tuple (a 1-d shape is written (%lld,))", L->where,
                       (long long)info->shape[0], (long long)info->shape[0]);
    info->ndim = n;
    return ST_OK;
}

/* Parse the header dict text [p, end). */
static int parse_dict(st_ctx *ctx, const char *where, const char *p, const char *end,
                      st_npy_info *info)
{
    while (end > p && (end[-1] == ' ' || end[-1] == '\n' || end[-1] == '\r' || end[-1] == '\t'))
        end--;   /* drop the padding so excerpts in messages stop at the text */
    lit L = {p, end, ctx, where};
    int have_descr = 0, have_fortran = 0, have_shape = 0, rc;
    skip_ws(&L);
    if (L.p >= L.end || *L.p != '{') return lit_error(&L, ST_ERR_PARSE, NULL, "a dict '{...}'");
    L.p++;
    for (;;) {
        skip_ws(&L);
        if (L.p < L.end && *L.p == '}') { L.p++; break; }
        char key[32];
        if ((rc = parse_str(&L, NULL, key, sizeof key))) return rc;
        skip_ws(&L);
        if (L.p >= L.end || *L.p != ':') return lit_error(&L, ST_ERR_PARSE, key, "':'");
        L.p++;
        skip_ws(&L);
        if (!strcmp(key, "descr")) {
            if (L.p < L.end && *L.p != '\'' && *L.p != '"') {
                const char *s = L.p;
                char ex[64];
                skip_value(&L);
                return st_fail(ctx, ST_ERR_FORMAT, "%s: .npy header: field 'descr': dtype %s is "
                               "not supported (structured dtypes cannot be read; supported: <f8 <f4 "
                               "<i4 <i8 |u1 |b1 and big-endian variants)", where,
                               excerpt(s, L.p, ex, sizeof ex));
            }
            char d[64];
            if ((rc = parse_str(&L, "descr", d, sizeof d))) return rc;
            int dtype, swap;
            if (descr_dtype(d, &dtype, &swap))
                return st_fail(ctx, ST_ERR_FORMAT, "%s: .npy header: field 'descr': dtype '%s' is "
                               "not supported (supported: <f8 <f4 <i4 <i8 |u1 |b1 and big-endian "
                               "variants)", where, d);
            info->dtype = dtype;
            info->swap = swap;
            have_descr = 1;
        } else if (!strcmp(key, "fortran_order")) {
            if (L.end - L.p >= 4 && !memcmp(L.p, "True", 4)) { info->fortran = 1; L.p += 4; }
            else if (L.end - L.p >= 5 && !memcmp(L.p, "False", 5)) { info->fortran = 0; L.p += 5; }
            else return lit_error(&L, ST_ERR_PARSE, "fortran_order", "True or False");
            have_fortran = 1;
        } else if (!strcmp(key, "shape")) {
            if ((rc = parse_shape(&L, info))) return rc;
            have_shape = 1;
        } else {
            return st_fail(ctx, ST_ERR_PARSE, "%s: .npy header: unexpected key '%s' (expected "
                           "'descr', 'fortran_order', 'shape')", where, key);
        }
        skip_ws(&L);
        if (L.p < L.end && *L.p == ',') { L.p++; continue; }
        if (L.p < L.end && *L.p == '}') { L.p++; break; }
        return lit_error(&L, ST_ERR_PARSE, NULL, "',' or '}' after a dict value");
    }
    skip_ws(&L);
    if (L.p < L.end) return lit_error(&L, ST_ERR_PARSE, NULL, "only padding after the dict");
    if (!have_descr || !have_fortran || !have_shape)
        return st_fail(ctx, ST_ERR_PARSE, "%s: .npy header: missing key '%s'", where,
                       !have_descr ? "descr" : !have_fortran ? "fortran_order" : "shape");
    return ST_OK;
}

/* Bytes the data section needs, or -1 if numel * itemsize does not fit in int64. */
static int64_t data_bytes(const int64_t *shape, int ndim, size_t esize)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) if (shape[i] == 0) return 0;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || n > INT64_MAX / shape[i]) return -1;
        n *= shape[i];
    }
    if (n > INT64_MAX / (int64_t)esize) return -1;
    return n * (int64_t)esize;
}

int st__npy_read_header_io(st__npy_io *io, st_npy_info *info)
{
    unsigned char m[12];
    int rc;
    memset(info, 0, sizeof *info);
    if (io->size >= 0 && io->size < 10)
        return st_fail(io->ctx, ST_ERR_PARSE, "%s: not a .npy file: %lld bytes is too short for "
                       "the header", io->where, (long long)io->size);
    if ((rc = io->read(io, m, 8))) return rc;
    if (memcmp(m, "\x93NUMPY", 6))
        return st_fail(io->ctx, ST_ERR_PARSE, "%s: not a .npy file (the magic string \\x93NUMPY is "
                       "missing)", io->where);
    int major = m[6], minor = m[7];
    if (major < 1 || major > 3 || minor != 0)
        return st_fail(io->ctx, ST_ERR_FORMAT, "%s: .npy format version %d.%d is not supported "
                       "(1.0, 2.0, 3.0 are)", io->where, major, minor);
    int64_t hlen, pre = major == 1 ? 10 : 12;
    if ((rc = io->read(io, m + 8, (size_t)(pre - 8)))) return rc;
    hlen = major == 1 ? (int64_t)m[8] | (int64_t)m[9] << 8
                      : (int64_t)m[8] | (int64_t)m[9] << 8 | (int64_t)m[10] << 16 |
                        (int64_t)m[11] << 24;
    if (hlen > MAX_HEADER)
        return st_fail(io->ctx, ST_ERR_PARSE, "%s: .npy header length %lld is absurd (limit %d)",
                       io->where, (long long)hlen, MAX_HEADER);
    if (io->size >= 0 && pre + hlen > io->size)
        return st_fail(io->ctx, ST_ERR_PARSE, "%s: .npy header length %lld runs past the end of "
                       "the data (%lld bytes; truncated?)", io->where, (long long)hlen,
                       (long long)io->size);
    char *h = malloc((size_t)hlen + 1);
    if (!h) return st_fail(io->ctx, ST_ERR_NOMEM, "%s: out of memory", io->where);
    if ((rc = io->read(io, h, (size_t)hlen))) { free(h); return rc; }
    h[hlen] = 0;
    rc = parse_dict(io->ctx, io->where, h, h + hlen, info);
    free(h);
    if (rc) { memset(info, 0, sizeof *info); return rc; }
    info->offset = pre + hlen;
    size_t es = st_dtype_size(info->dtype);
    int64_t nb = data_bytes(info->shape, info->ndim, es);
    char sh[256];
    format_shape(info->shape, info->ndim, sh, sizeof sh);
    if (nb < 0) {
        memset(info, 0, sizeof *info);
        return st_fail(io->ctx, ST_ERR_PARSE, "%s: .npy header: field 'shape': %s is absurd (the "
                       "byte count overflows 64 bits)", io->where, sh);
    }
    if (io->size >= 0 && nb > io->size - info->offset) {
        rc = st_fail(io->ctx, ST_ERR_PARSE, "%s: data section has %lld bytes but shape %s of %s "
                     "needs %lld (truncated?)", io->where, (long long)(io->size - info->offset),
                     sh, st_dtype_name(info->dtype), (long long)nb);
        memset(info, 0, sizeof *info);
        return rc;
    }
    return ST_OK;
}

int st__npy_check_info(st_ctx *ctx, const char *where, const st_npy_info *given,
                       const st_npy_info *actual)
{
    int same = given->dtype == actual->dtype && given->ndim == actual->ndim &&
               given->fortran == actual->fortran && given->swap == actual->swap &&
               given->offset == actual->offset;
    for (int i = 0; same && i < actual->ndim; i++) same = given->shape[i] == actual->shape[i];
    if (!same)
        return st_fail(ctx, ST_ERR_ARG, "%s: the st_npy_info passed does not match the file's "
                       "header (was it changed, or read from another file?)", where);
    return ST_OK;
}

/* ------------------------------------------------------------------ strided copies */

/* Walks a strided view in C order and copies its elements into a contiguous buffer, a bounded
 * number at a time, so a huge view is written in fixed-size chunks. */
typedef struct gather {
    const st_view *v;
    size_t es;
    int64_t idx[ST_MAXDIM];
    const char *p;
    int64_t left;
} gather;

static void gather_init(gather *g, const st_view *v)
{
    memset(g, 0, sizeof *g);
    g->v = v;
    g->es = st_dtype_size(v->dtype);
    g->p = v->data;
    g->left = data_bytes(v->shape, v->ndim, 1);   /* numel; the view was checked */
}

static inline void copy_elems(char *dst, const char *src, int64_t n, int64_t sbytes, size_t es)
{
    if (sbytes == (int64_t)es) { memcpy(dst, src, (size_t)n * es); return; }
    switch (es) {   /* fixed-size memcpy compiles to one load/store */
    case 8: for (int64_t i = 0; i < n; i++) memcpy(dst + 8 * i, src + i * sbytes, 8); break;
    case 4: for (int64_t i = 0; i < n; i++) memcpy(dst + 4 * i, src + i * sbytes, 4); break;
    default: for (int64_t i = 0; i < n; i++) dst[i] = src[i * sbytes]; break;
    }
}

/* Axis k has just run past its end: rewind it and step the outer axes (odometer carry). */
static void carry(gather *g, int k)
{
    const st_view *v = g->v;
    g->p -= v->shape[k] * v->strides[k] * (int64_t)g->es;
    g->idx[k] = 0;
    for (int j = k - 1; j >= 0; j--) {
        int64_t sj = v->strides[j] * (int64_t)g->es;
        g->p += sj;
        if (++g->idx[j] < v->shape[j]) break;
        g->p -= v->shape[j] * sj;
        g->idx[j] = 0;
    }
}

/* Copy `rows` whole rows of length L (row stride rs, element stride cs, in bytes) in tiles of
 * TILE columns, so that when cs is large (a transposed matrix, a Fortran-order file) the TILE
 * source cache lines of a tile are reused across rows instead of missed on every element. */
enum { TILE = 32, TILE_ROWS = 64 };
static void copy_tile_rows(char *dst, const char *src, int64_t rows, int64_t L, int64_t rs,
                           int64_t cs, size_t es)
{
    for (int64_t j0 = 0; j0 < L; j0 += TILE) {
        int64_t j1 = j0 + TILE < L ? j0 + TILE : L;
        for (int64_t i = 0; i < rows; i++)
            copy_elems(dst + (i * L + j0) * (int64_t)es, src + i * rs + j0 * cs, j1 - j0, cs, es);
    }
}

/* Copy up to max elements into dst; returns the number copied (0 when done). */
static int64_t gather_next(gather *g, char *dst, int64_t max)
{
    const st_view *v = g->v;
    const int64_t es = (int64_t)g->es;
    int64_t done = 0;
    if (v->ndim == 0) {
        if (g->left > 0 && max > 0) { memcpy(dst, g->p, g->es); g->left = 0; return 1; }
        return 0;
    }
    int last = v->ndim - 1;
    int64_t L = v->shape[last], sl = v->strides[last] * es;
    while (g->left > 0 && done < max) {
        if (last > 0 && g->idx[last] == 0 && sl != es && L >= TILE) {
            /* several whole rows along axis last-1: tiled copy */
            int64_t rows = v->shape[last - 1] - g->idx[last - 1], room = (max - done) / L;
            if (rows > room) rows = room;
            if (rows > TILE_ROWS) rows = TILE_ROWS;
            if (rows >= 2) {
                int64_t rs = v->strides[last - 1] * es;
                copy_tile_rows(dst + done * es, g->p, rows, L, rs, sl, g->es);
                done += rows * L;
                g->left -= rows * L;
                g->idx[last - 1] += rows;
                g->p += rows * rs;
                if (g->idx[last - 1] == v->shape[last - 1]) carry(g, last - 1);
                continue;
            }
        }
        int64_t n = L - g->idx[last];
        if (n > max - done) n = max - done;
        copy_elems(dst + done * es, g->p, n, sl, g->es);
        done += n;
        g->left -= n;
        g->idx[last] += n;
        g->p += n * sl;
        if (g->idx[last] == L) carry(g, last);
    }
    return done;
}

static void swap_bytes(void *buf, int64_t n, size_t es)
{
    char *b = buf;
    if (es == 8)
        for (int64_t i = 0; i < n; i++) {
            uint64_t x;
            memcpy(&x, b + 8 * i, 8);
            x = __builtin_bswap64(x);
            memcpy(b + 8 * i, &x, 8);
        }
    else if (es == 4)
        for (int64_t i = 0; i < n; i++) {
            uint32_t x;
            memcpy(&x, b + 4 * i, 4);
            x = __builtin_bswap32(x);
            memcpy(b + 4 * i, &x, 4);
        }
}

/* ------------------------------------------------------------------ data */

static int read_chunked(st__npy_io *io, char *dst, int64_t nbytes)
{
    for (int64_t done = 0; done < nbytes;) {
        int rc = st_check_interrupt(io->ctx, io->where);
        if (rc) return rc;
        size_t n = (size_t)(nbytes - done) < CHUNK ? (size_t)(nbytes - done) : CHUNK;
        if ((rc = io->read(io, dst + done, n))) return rc;
        done += (int64_t)n;
        st_progress(io->ctx, "npy read", (double)done, (double)nbytes);
    }
    return ST_OK;
}

int st__npy_read_data_io(st__npy_io *io, const st_npy_info *info, void *out)
{
    size_t es = st_dtype_size(info->dtype);
    int64_t nb = data_bytes(info->shape, info->ndim, es), numel = nb / (int64_t)es;
    if (nb < 0 || es == 0) return st_fail(io->ctx, ST_ERR_ARG, "%s: invalid st_npy_info", io->where);
    if (nb == 0) return ST_OK;
    if (!out) return st_fail(io->ctx, ST_ERR_ARG, "%s: output buffer is NULL", io->where);
    int nontrivial = 0;   /* Fortran order differs from C order only with 2+ axes longer than 1 */
    for (int i = 0; i < info->ndim; i++) nontrivial += info->shape[i] > 1;
    if (!info->fortran || nontrivial < 2) {
        int rc = read_chunked(io, out, nb);
        if (rc) return rc;
    } else {
        char *tmp = st_malloc_array((size_t)numel, es);
        if (!tmp) return st_fail(io->ctx, ST_ERR_NOMEM, "%s: out of memory (%lld bytes for the "
                                 "Fortran-order copy)", io->where, (long long)nb);
        int rc = read_chunked(io, tmp, nb);
        if (rc) { free(tmp); return rc; }
        /* Column-major strides: stride[0] = 1, stride[k] = stride[k-1] * shape[k-1]. */
        st_view f = {tmp, info->dtype, info->ndim, {0}, {0}};
        int64_t s = 1;
        for (int k = 0; k < info->ndim; k++) {
            f.shape[k] = info->shape[k];
            f.strides[k] = s;
            s *= info->shape[k];
        }
        gather g;
        gather_init(&g, &f);
        int64_t step = (int64_t)(CHUNK / es), done = 0, n;
        while ((n = gather_next(&g, (char *)out + done * (int64_t)es, step)) > 0) {
            done += n;
            if ((rc = st_check_interrupt(io->ctx, io->where))) { free(tmp); return rc; }
        }
        free(tmp);
    }
    if (info->swap) swap_bytes(out, numel, es);
    return ST_OK;
}

/* ------------------------------------------------------------------ writing */

int st__npy_check_view(st_ctx *ctx, const char *where, const st_view *v)
{
    if (!v) return st_fail(ctx, ST_ERR_ARG, "%s: view is NULL", where);
    if (st_dtype_size(v->dtype) == 0)
        return st_fail(ctx, ST_ERR_ARG, "%s: view dtype %d is not one of ST_F64, ST_F32, ST_I32, "
                       "ST_I64, ST_U8", where, (int)v->dtype);
    if (v->ndim < 0 || v->ndim > ST_MAXDIM)
        return st_fail(ctx, ST_ERR_ARG, "%s: view ndim %d is outside 0..%d", where, (int)v->ndim,
                       ST_MAXDIM);
    for (int i = 0; i < v->ndim; i++)
        if (v->shape[i] < 0)
            return st_fail(ctx, ST_ERR_ARG, "%s: view shape[%d] = %lld is negative", where, i,
                           (long long)v->shape[i]);
    int64_t nb = data_bytes(v->shape, v->ndim, st_dtype_size(v->dtype));
    if (nb < 0) return st_fail(ctx, ST_ERR_ARG, "%s: view size overflows 64 bits", where);
    if (nb > 0 && !v->data) return st_fail(ctx, ST_ERR_ARG, "%s: view data is NULL", where);
    return ST_OK;
}

static const char *descr_of(int dtype)
{
    static const char *le[] = {"<f8", "<f4", "<i4", "<i8", "|u1"};
    static const char *be[] = {">f8", ">f4", ">i4", ">i8", "|u1"};
    return NATIVE == '<' ? le[dtype] : be[dtype];
}

/* Build magic + length + padded header into buf (HEADER_CAP bytes); returns its length, 0 if it
 * would not fit (impossible for a checked view: 8 dims of 19 digits need about 250 bytes). */
static size_t build_header(const st_view *v, char *buf)
{
    char d[HEADER_CAP], sh[256];
    format_shape(v->shape, v->ndim, sh, sizeof sh);
    int n = snprintf(d, sizeof d, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                     descr_of(v->dtype), sh);
    if (v->ndim > 0 && n >= 0) {   /* numpy >= 1.24: spare room for axis 0 to grow in place */
        char dig[32];
        int nd = snprintf(dig, sizeof dig, "%lld", (long long)v->shape[0]);
        n += nd > 0 && nd < GROWTH_DIGITS ? GROWTH_DIGITS - nd : 0;
    }
    if (n < 0 || n > HEADER_CAP - ARRAY_ALIGN - 16) return 0;   /* not with <= 8 dims */
    /* Version 1.0 unless the length does not fit 16 bits (cannot happen with <= 8 dims; kept so
     * the rule stays visible).  numpy pads with ARRAY_ALIGN - (total % ARRAY_ALIGN) spaces before
     * the '\n', i.e. a full 64 when the total is already aligned. */
    int v1 = n + 1 + ARRAY_ALIGN <= 65535;
    int pre = MAGIC_LEN + (v1 ? 2 : 4);
    int pad = ARRAY_ALIGN - (pre + n + 1) % ARRAY_ALIGN;
    int hlen = n + pad + 1;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = v1 ? 1 : 2;
    buf[7] = 0;
    buf[8] = (char)(hlen & 0xff);
    buf[9] = (char)(hlen >> 8 & 0xff);
    if (!v1) { buf[10] = (char)(hlen >> 16 & 0xff); buf[11] = (char)(hlen >> 24 & 0xff); }
    memset(buf + pre, ' ', (size_t)(n + pad));   /* growth room and alignment are both spaces */
    memcpy(buf + pre, d, strlen(d));
    buf[pre + hlen - 1] = '\n';
    return (size_t)(pre + hlen);
}

int64_t st__npy_encoded_size(const st_view *v)
{
    char h[HEADER_CAP];
    size_t hl = build_header(v, h);
    return hl ? (int64_t)hl + data_bytes(v->shape, v->ndim, st_dtype_size(v->dtype)) : -1;
}

int st__npy_write_io(st__npy_io *io, const st_view *v)
{
    char h[HEADER_CAP];
    size_t hl = build_header(v, h), es = st_dtype_size(v->dtype);
    if (!hl) return st_fail(io->ctx, ST_ERR_INTERNAL, "%s: .npy header does not fit", io->where);
    int rc = io->write(io, h, hl);
    if (rc) return rc;
    int64_t nb = data_bytes(v->shape, v->ndim, es);   /* zero-aware: (huge, 0) is empty */
    if (nb <= 0) return ST_OK;
    if (st_view_is_contiguous(v)) {   /* straight from the caller's memory */
        for (int64_t done = 0; done < nb;) {
            if ((rc = st_check_interrupt(io->ctx, io->where))) return rc;
            size_t n = (size_t)(nb - done) < CHUNK ? (size_t)(nb - done) : CHUNK;
            if ((rc = io->write(io, (const char *)v->data + done, n))) return rc;
            done += (int64_t)n;
            st_progress(io->ctx, "npy write", (double)done, (double)nb);
        }
        return ST_OK;
    }
    size_t cap = nb < (int64_t)(1 << 20) ? (size_t)nb : (size_t)1 << 20;
    char *buf = malloc(cap);
    if (!buf) return st_fail(io->ctx, ST_ERR_NOMEM, "%s: out of memory", io->where);
    gather g;
    gather_init(&g, v);
    int64_t n, done = 0;
    while ((n = gather_next(&g, buf, (int64_t)(cap / es))) > 0) {
        if ((rc = st_check_interrupt(io->ctx, io->where))) break;
        if ((rc = io->write(io, buf, (size_t)n * es))) break;
        done += n;
        st_progress(io->ctx, "npy write", (double)(done * (int64_t)es), (double)nb);
    }
    free(buf);
    return rc;
}

/* ------------------------------------------------------------------ .npy files */

typedef struct file_ud {
    FILE *fp;
    int64_t pos;
} file_ud;

static int file_read(st__npy_io *io, void *buf, size_t n)
{
    file_ud *f = io->ud;
    size_t got = fread(buf, 1, n, f->fp);
    f->pos += (int64_t)got;
    if (got == n) return ST_OK;
    if (ferror(f->fp))
        return st_fail(io->ctx, ST_ERR_IO, "%s: read error at byte %lld: %s", io->where,
                       (long long)f->pos, strerror(errno));
    return st_fail(io->ctx, ST_ERR_PARSE, "%s: unexpected end of file at byte %lld (truncated?)",
                   io->where, (long long)f->pos);
}

static int file_write(st__npy_io *io, const void *buf, size_t n)
{
    file_ud *f = io->ud;
    if (fwrite(buf, 1, n, f->fp) == n) return ST_OK;
    return st_fail(io->ctx, ST_ERR_IO, "%s: write error: %s", io->where, strerror(errno));
}

static int open_read(st_ctx *ctx, const char *path, FILE **fp, int64_t *size)
{
    *fp = fopen(path, "rb");
    if (!*fp) return st_fail(ctx, ST_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(*fp), &st) || !S_ISREG(st.st_mode)) {
        fclose(*fp);
        *fp = NULL;
        return st_fail(ctx, ST_ERR_IO, "%s: not a regular file", path);
    }
    *size = (int64_t)st.st_size;
    return ST_OK;
}

int st_npy_read_header(st_ctx *ctx, const char *path, st_npy_info *info)
{
    if (!path || !info) return st_fail(ctx, ST_ERR_ARG, "st_npy_read_header: NULL argument");
    memset(info, 0, sizeof *info);
    file_ud f = {NULL, 0};
    st__npy_io io = {ctx, path, 0, file_read, NULL, &f};
    int rc = open_read(ctx, path, &f.fp, &io.size);
    if (rc) return rc;
    rc = st__npy_read_header_io(&io, info);
    fclose(f.fp);
    return rc;
}

int st_npy_read_data(st_ctx *ctx, const char *path, const st_npy_info *info, void *out)
{
    if (!path || !info) return st_fail(ctx, ST_ERR_ARG, "st_npy_read_data: NULL argument");
    file_ud f = {NULL, 0};
    st__npy_io io = {ctx, path, 0, file_read, NULL, &f};
    st_npy_info actual;
    int rc = open_read(ctx, path, &f.fp, &io.size);
    if (rc) return rc;
    if (!(rc = st__npy_read_header_io(&io, &actual)) &&
        !(rc = st__npy_check_info(ctx, path, info, &actual)))
        rc = st__npy_read_data_io(&io, &actual, out);
    fclose(f.fp);
    return rc;
}

int st_npy_write(st_ctx *ctx, const char *path, const st_view *v)
{
    if (!path) return st_fail(ctx, ST_ERR_ARG, "st_npy_write: path is NULL");
    int rc = st__npy_check_view(ctx, path, v);
    if (rc) return rc;
    static int counter;
    size_t n = strlen(path) + 64;
    char *tmp = malloc(n);
    if (!tmp) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", path);
    snprintf(tmp, n, "%s.tmp-%ld-%d", path, (long)getpid(), counter++);
    file_ud f = {fopen(tmp, "wb"), 0};
    if (!f.fp) {
        rc = st_fail(ctx, ST_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
        free(tmp);
        return rc;
    }
    st__npy_io io = {ctx, path, -1, NULL, file_write, &f};
    rc = st__npy_write_io(&io, v);
    if (!rc && fflush(f.fp)) rc = st_fail(ctx, ST_ERR_IO, "%s: write error: %s", path, strerror(errno));
    if (fclose(f.fp) && !rc) rc = st_fail(ctx, ST_ERR_IO, "%s: close failed: %s", path, strerror(errno));
    if (!rc && rename(tmp, path))
        rc = st_fail(ctx, ST_ERR_IO, "%s: cannot rename temporary file into place: %s", path,
                     strerror(errno));
    if (rc) remove(tmp);
    free(tmp);
    return rc;
}
