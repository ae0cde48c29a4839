/* strata/core.h -- context, status codes, interrupt flag, threads, array views.
 *
 * Every public header of Strata is written in the C subset that LuaJIT's ffi.cdef parses:
 * no varargs, no structs by value, no function-like macros needed to call the API, constants as
 * enums (only ever appended to).  Under -DST_FFI the system includes and attributes drop out so
 * `cc -E -P -DST_FFI strata.h` yields the FFI declarations.
 */
#ifndef STRATA_CORE_H
#define STRATA_CORE_H

#ifndef ST_FFI
#include <stddef.h>
#include <stdint.h>
#define ST_API __attribute__((visibility("default")))
#else
#define ST_API
#endif

/* ABI version of this header set; C extensions compare it with st_abi_version(). */
enum { ST_ABI_VERSION = 1 };

/* Status codes returned by every fallible function.  0 is success. */
enum st_status {
    ST_OK = 0,
    ST_ERR_NOMEM = 1,        /* allocation failed or size absurd */
    ST_ERR_ARG = 2,          /* bad argument (shape, range, NULL) */
    ST_ERR_IO = 3,           /* file could not be opened/read/written */
    ST_ERR_PARSE = 4,        /* malformed input; message names file, line, field */
    ST_ERR_FORMAT = 5,       /* unknown or unsupported format/feature */
    ST_ERR_INTERRUPTED = 6,  /* st_interrupt() was called while a kernel ran */
    ST_ERR_NUMERIC = 7,      /* NaN/inf, no convergence, singular matrix */
    ST_ERR_NOTFOUND = 8,     /* named thing (key, plugin, element) does not exist */
    ST_ERR_ABI = 9,          /* ABI version mismatch */
    ST_ERR_INTERNAL = 10     /* a bug: please report */
};

/* A context carries the last error message and an optional progress hook.  One per thread of
 * use; kernels never keep it beyond the call. */
typedef struct st_ctx st_ctx;

/* Progress hook: called from the calling thread only, with done <= total (units are the kernel's:
 * frames, rows, pairs...).  `what` names the work.  Must not call back into the same kernel. */
typedef void (*st_progress_fn)(void *userdata, const char *what, double done, double total);

ST_API st_ctx *st_ctx_create(void);
ST_API void st_ctx_destroy(st_ctx *ctx);                 /* NULL is a no-op */
ST_API int st_ctx_status(const st_ctx *ctx);             /* last status set, ST_OK if none */
ST_API const char *st_ctx_message(const st_ctx *ctx);    /* "" if none; valid until next call */
ST_API void st_ctx_clear(st_ctx *ctx);
ST_API int st_ctx_fail(st_ctx *ctx, int status, const char *message); /* set; returns status */
ST_API void st_ctx_set_progress(st_ctx *ctx, st_progress_fn fn, void *userdata);

ST_API int st_abi_version(void);
ST_API const char *st_version(void);
ST_API const char *st_status_name(int status);

/* Interrupts: a process-wide, async-signal-safe flag.  A signal handler calls st_interrupt();
 * long kernels poll it and return ST_ERR_INTERRUPTED; the host clears it before each command. */
ST_API void st_interrupt(void);
ST_API void st_interrupt_clear(void);
ST_API int st_interrupt_pending(void);

/* Threads: the single place that decides how many threads kernels (OpenMP) and BLAS use.
 * Initial value from STRATA_NUM_THREADS, else OMP_NUM_THREADS, else the number of cores.
 * BLAS is kept single-threaded inside OpenMP regions so the two never oversubscribe. */
ST_API void st_set_num_threads(int n);
ST_API int st_get_num_threads(void);

/* ---------------------------------------------------------------------------------------------
 * Array views: data pointer + explicit shape and strides (in elements, not bytes), BLIS style.
 * Caller owns the memory.  Kernels that take views document which dtypes they accept. */
enum st_dtype { ST_F64 = 0, ST_F32 = 1, ST_I32 = 2, ST_I64 = 3, ST_U8 = 4 };
enum { ST_MAXDIM = 8 };

typedef struct st_view {
    void *data;
    int32_t dtype;
    int32_t ndim;
    int64_t shape[8];
    int64_t strides[8];
} st_view;

ST_API size_t st_dtype_size(int dtype);               /* 0 for an unknown dtype */
ST_API const char *st_dtype_name(int dtype);          /* "float64", ... or NULL */
ST_API int st_dtype_from_name(const char *name);     /* -1 if unknown */
ST_API int64_t st_view_numel(const st_view *v);
ST_API int st_view_is_contiguous(const st_view *v);   /* C order */
ST_API void st_view_set_contiguous(st_view *v);       /* fills strides for C order */

#endif
