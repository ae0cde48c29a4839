/* core.c -- context, status names, interrupt flag, thread control, dtype/view helpers.
 *
 * Thread control: one number decides both OpenMP and OpenBLAS.  Kernels parallelise with OpenMP;
 * BLAS is called only outside OpenMP parallel regions (Debian's default OpenBLAS is the pthread
 * build, which does not serialise itself inside them), so the two never run at once and 2 cores
 * are never oversubscribed.  Kernels that need dot products inside threads use their own
 * micro-kernels (csrc/entropy/tile.c).
 */
#include "internal.h"
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

struct st_ctx {
    int status;
    char message[1024];
    st_progress_fn progress;
    void *progress_ud;
};

st_ctx *st_ctx_create(void) { return calloc(1, sizeof(st_ctx)); }
void st_ctx_destroy(st_ctx *ctx) { free(ctx); }
int st_ctx_status(const st_ctx *ctx) { return ctx ? ctx->status : ST_OK; }
const char *st_ctx_message(const st_ctx *ctx) { return ctx ? ctx->message : ""; }
void st_ctx_clear(st_ctx *ctx)
{
    if (!ctx) return;
    ctx->status = ST_OK;
    ctx->message[0] = 0;
}

int st_ctx_fail(st_ctx *ctx, int status, const char *message)
{
    return st_fail(ctx, status, "%s", message ? message : "");
}

void st_ctx_set_progress(st_ctx *ctx, st_progress_fn fn, void *userdata)
{
    if (!ctx) return;
    ctx->progress = fn;
    ctx->progress_ud = userdata;
}

int st_fail(st_ctx *ctx, int status, const char *fmt, ...)
{
    if (!ctx) return status;
    ctx->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->message, sizeof ctx->message, fmt, ap);
    va_end(ap);
    return status;
}

void st_progress(st_ctx *ctx, const char *what, double done, double total)
{
    if (ctx && ctx->progress) ctx->progress(ctx->progress_ud, what, done, total);
}

int st_abi_version(void) { return ST_ABI_VERSION; }
const char *st_version(void) { return "0.1.0"; }

const char *st_status_name(int status)
{
    static const char *names[] = {"ok", "out of memory", "bad argument", "i/o error",
                                  "parse error", "unsupported format", "interrupted",
                                  "numerical error", "not found", "ABI mismatch",
                                  "internal error"};
    if (status < 0 || status > ST_ERR_INTERNAL) return "unknown status";
    return names[status];
}

static volatile sig_atomic_t interrupt_flag;
void st_interrupt(void) { interrupt_flag = 1; }
void st_interrupt_clear(void) { interrupt_flag = 0; }
int st_interrupt_pending(void) { return interrupt_flag != 0; }

int st_check_interrupt(st_ctx *ctx, const char *where)
{
    if (!interrupt_flag) return ST_OK;
    return st_fail(ctx, ST_ERR_INTERRUPTED, "%s: interrupted", where ? where : "kernel");
}

/* ---- threads ---- */
extern void openblas_set_num_threads(int) __attribute__((weak));
static int nthreads;

static int default_threads(void)
{
    const char *names[] = {"STRATA_NUM_THREADS", "OMP_NUM_THREADS"};
    for (int i = 0; i < 2; i++) {
        const char *s = getenv(names[i]);
        if (s && *s) {
            char *end;
            long v = strtol(s, &end, 10);
            if (end != s && v > 0 && v < 4096) return (int)v;
        }
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

void st_set_num_threads(int n)
{
    if (n <= 0) n = default_threads();
    nthreads = n;
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
    if (openblas_set_num_threads) openblas_set_num_threads(n);
}

int st_get_num_threads(void)
{
    if (nthreads <= 0) st_set_num_threads(0);
    return nthreads;
}

int st_threads(void) { return st_get_num_threads(); }

/* ---- memory ---- */
void *st_malloc_array(size_t count, size_t size)
{
    if (size && count > ((size_t)1 << 46) / size) return NULL; /* > 64 TiB: absurd */
    size_t bytes = count * size;
    return malloc(bytes ? bytes : 1);
}

void *st_calloc_array(size_t count, size_t size)
{
    if (size && count > ((size_t)1 << 46) / size) return NULL;
    return calloc(count ? count : 1, size ? size : 1);
}

char *st_strdup(const char *s)
{
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* ---- dtypes and views ---- */
size_t st_dtype_size(int dtype)
{
    switch (dtype) {
    case ST_F64: return 8;
    case ST_F32: return 4;
    case ST_I32: return 4;
    case ST_I64: return 8;
    case ST_U8: return 1;
    default: return 0;
    }
}

static const char *dtype_names[] = {"float64", "float32", "int32", "int64", "uint8"};

const char *st_dtype_name(int dtype)
{
    return (dtype >= 0 && dtype <= ST_U8) ? dtype_names[dtype] : NULL;
}

int st_dtype_from_name(const char *name)
{
    if (!name) return -1;
    for (int i = 0; i <= ST_U8; i++)
        if (!strcmp(name, dtype_names[i])) return i;
    if (!strcmp(name, "double")) return ST_F64;
    if (!strcmp(name, "float")) return ST_F32;
    if (!strcmp(name, "int")) return ST_I32;
    return -1;
}

/* Element count; 0 if any extent is 0, INT64_MAX if the product overflows (callers treat that
 * as "too large"), so a shape like (1e12, 1e12, 0) is simply empty. */
int64_t st_view_numel(const st_view *v)
{
    int64_t n = 1;
    for (int i = 0; i < v->ndim; i++)
        if (v->shape[i] == 0) return 0;
    for (int i = 0; i < v->ndim; i++) {
        if (v->shape[i] < 0) return 0;
        if (n > INT64_MAX / v->shape[i]) return INT64_MAX;
        n *= v->shape[i];
    }
    return n;
}

int st_view_is_contiguous(const st_view *v)
{
    int64_t s = 1;
    for (int i = v->ndim - 1; i >= 0; i--) {
        if (v->shape[i] != 1 && v->strides[i] != s) return 0;
        s *= v->shape[i];
    }
    return 1;
}

void st_view_set_contiguous(st_view *v)
{
    int64_t s = 1;
    for (int i = v->ndim - 1; i >= 0; i--) {
        v->strides[i] = s;
        if (v->shape[i] > 0 && s <= INT64_MAX / v->shape[i]) s *= v->shape[i];
    }
}
