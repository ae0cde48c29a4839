/* strata/npy.h -- NumPy .npy and .npz files: read reference matrices, hand results to Python.
 *
 * .npy: format versions 1.0, 2.0 and 3.0 are read; 1.0 is written (2.0 only if the header would not
 * fit a 16-bit length).  Supported descr: '<f8' '<f4' '<i4' '<i8' '|u1' and their big-endian '>'
 * variants, plus '|b1' (bool, read as ST_U8 with values 0/1).  Any other dtype gives ST_ERR_FORMAT
 * with a message naming the descr.  Data are always written in C order and native byte order;
 * reading converts Fortran order and foreign byte order into a C-order, native-order buffer.
 *
 * Reading is two calls: the header (dtype, shape) so the caller can allocate numel * size bytes,
 * then the data.  The header call already checks that the file holds as many bytes as the shape
 * needs, so a corrupt shape never leads to a huge allocation.
 *
 * .npz: a zip archive of .npy members as np.savez / np.savez_compressed write them (stored or
 * deflate, zip64 extra fields, data descriptors).  Member names are given without ".npy".  CRC-32
 * is checked when a member is read in full.  Writers use "<path>.tmp-<pid>-<n>" and rename on
 * success, so a failed run never leaves a half-written file under the final name.
 * See docs/npy.md. */
#ifndef STRATA_NPY_H
#define STRATA_NPY_H
#include "core.h"

typedef struct st_npy_info {
    int32_t dtype;      /* ST_F64, ST_F32, ST_I32, ST_I64 or ST_U8 */
    int32_t ndim;       /* 0 (a scalar, shape ()) .. 8 */
    int64_t shape[8];   /* entries beyond ndim are 0 */
    int32_t fortran;    /* 1 if the file stores Fortran (column-major) order */
    int32_t swap;       /* 1 if the file's byte order differs from this machine's */
    int64_t offset;     /* byte offset of the data in the file (or in the uncompressed member) */
} st_npy_info;

/* Parse the header of a .npy file.  Errors: ST_ERR_IO (cannot open), ST_ERR_PARSE (bad magic,
 * malformed header dict, negative/absurd shape, file shorter than the shape says), ST_ERR_FORMAT
 * (unsupported dtype, format version or more than 8 dimensions). */
ST_API int st_npy_read_header(st_ctx *ctx, const char *path, st_npy_info *info);
/* Fill `out` (caller-allocated, numel * st_dtype_size(info->dtype) bytes) in C order and native
 * byte order.  `info` must be the one st_npy_read_header returned for this file (it is checked
 * against the file again: ST_ERR_ARG if the file changed).  Polls the interrupt flag. */
ST_API int st_npy_read_data(st_ctx *ctx, const char *path, const st_npy_info *info, void *out);
/* Write a view (any strides, in elements; dtype ST_F64/F32/I32/I64/U8) as a C-order .npy file.
 * Atomic: written under a temporary name and renamed into place. */
ST_API int st_npy_write(st_ctx *ctx, const char *path, const st_view *v);

/* .npz reader. */
typedef struct st_npz st_npz;
ST_API int st_npz_open(st_ctx *ctx, const char *path, st_npz **out);
ST_API void st_npz_close(st_npz *z);                          /* NULL is a no-op */
ST_API int st_npz_count(const st_npz *z);                      /* number of members */
/* Name of member i without the ".npy" suffix; NULL if i is out of range.  Valid until close. */
ST_API const char *st_npz_name(const st_npz *z, int i);
/* Index of the member called `name` (with or without ".npy"), or -1. */
ST_API int st_npz_find(const st_npz *z, const char *name);
/* Header of member i; info->offset is the data offset inside the uncompressed member.  Also checks
 * that the member is long enough for the shape. */
ST_API int st_npz_info(st_ctx *ctx, st_npz *z, int i, st_npy_info *info);
/* Read member i in full into `out` (as st_npy_read_data) and check its CRC-32 and length. */
ST_API int st_npz_read(st_ctx *ctx, st_npz *z, int i, const st_npy_info *info, void *out);

/* .npz writer.  compress = 0: stored (as np.savez); 1: deflate (as np.savez_compressed). */
typedef struct st_npz_writer st_npz_writer;
ST_API int st_npz_writer_open(st_ctx *ctx, const char *path, int compress, st_npz_writer **out);
/* Add member `name` (".npy" is appended; names must be unique).  On failure the archive is left
 * as it was before the call, so the writer can go on or be aborted. */
ST_API int st_npz_writer_add(st_ctx *ctx, st_npz_writer *w, const char *name, const st_view *v);
/* Write the central directory and rename into place.  Always frees w. */
ST_API int st_npz_writer_close(st_ctx *ctx, st_npz_writer *w);
/* Delete the temporary file and free w; the final path is untouched.  NULL is a no-op. */
ST_API void st_npz_writer_abort(st_npz_writer *w);

#endif
