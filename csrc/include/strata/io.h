/* strata/io.h -- structure and trajectory readers/writers.
 *
 * A reader streams frames one at a time (files larger than memory are fine).  Formats: "extxyz",
 * "cif", "poscar", "vasprun", "lammps-dump" (read); "extxyz", "cif" (P1), "poscar",
 * "lammps-data" (write).  format NULL or "" means detect from the extension, then the content.
 * Errors name the file, line (and field) and what was expected:
 *   "cu.xyz: line 3: column 4 (pos z): expected a number, got 'abc'"
 * Writers write to "<path>.tmp-XXXX" and rename on st_writer_close, so a failed or interrupted
 * run never leaves a half-written file under the final name. */
#ifndef STRATA_IO_H
#define STRATA_IO_H
#include "core.h"
#include "atoms.h"

typedef struct st_reader st_reader;
typedef struct st_writer st_writer;

ST_API int st_reader_open(st_ctx *ctx, const char *path, const char *format, st_reader **out);
/* Read from memory (the text is copied).  `name` is used in messages, e.g. "mp_20/test.csv:17". */
ST_API int st_reader_open_string(st_ctx *ctx, const char *text, size_t len, const char *format,
                                 const char *name, st_reader **out);
/* Next frame; *out is set to a new frame the caller destroys, or NULL at the end of the file. */
ST_API int st_reader_next(st_ctx *ctx, st_reader *r, st_atoms **out);
ST_API const char *st_reader_format(const st_reader *r);
ST_API void st_reader_close(st_reader *r);            /* NULL is a no-op */

ST_API int st_writer_open(st_ctx *ctx, const char *path, const char *format, st_writer **out);
ST_API int st_writer_write(st_ctx *ctx, st_writer *w, st_atoms *frame);
/* Flush, close and rename into place.  Always frees w. */
ST_API int st_writer_close(st_ctx *ctx, st_writer *w);
/* Close and delete the temporary file; the final path is untouched.  Frees w; NULL no-op. */
ST_API void st_writer_abort(st_writer *w);

/* Detect a format name from a path (extension/basename) and optionally the first bytes. */
ST_API const char *st_format_detect(const char *path, const char *head, size_t nhead);
/* Names of known formats, NULL after the last; flags say read (1) / write (2) support. */
ST_API const char *st_format_name(int idx, int *flags);

#endif
