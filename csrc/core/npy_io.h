/* npy_io.h -- the stream interface shared by npy.c (the .npy format) and zip.c (.npz
 * containers): a .npy member is read and written through st__npy_io whether it lives in a file or
 * inside a zip archive.  Internal; not part of the public API. */
#ifndef STRATA_NPY_IO_H
#define STRATA_NPY_IO_H
#include "internal.h"

typedef struct st__npy_io st__npy_io;
struct st__npy_io {
    st_ctx *ctx;
    const char *where;   /* "file.npy" or "file.npz: member 'x.npy'", for messages */
    int64_t size;        /* bytes the stream holds in total (reading), for size checks */
    int (*read)(st__npy_io *io, void *buf, size_t n);          /* exactly n bytes or status */
    int (*write)(st__npy_io *io, const void *buf, size_t n);   /* all n bytes or status */
    void *ud;
};
ST_HIDDEN int st__npy_read_header_io(st__npy_io *io, st_npy_info *info);
ST_HIDDEN int st__npy_read_data_io(st__npy_io *io, const st_npy_info *info, void *out);
ST_HIDDEN int st__npy_check_info(st_ctx *ctx, const char *where, const st_npy_info *given,
                                 const st_npy_info *actual);
ST_HIDDEN int st__npy_check_view(st_ctx *ctx, const char *where, const st_view *v);
ST_HIDDEN int64_t st__npy_encoded_size(const st_view *v);
ST_HIDDEN int st__npy_write_io(st__npy_io *io, const st_view *v);

#endif
