/* format.h -- the internal interface every file format implements, and the buffered source
 * (file or memory) with line counting that text parsers read from. */
#ifndef STRATA_IO_FORMAT_H
#define STRATA_IO_FORMAT_H
#include "../core/internal.h"

typedef struct st_source {
    const char *name;      /* for messages: path or caller-given name */
    const char *path;      /* NULL when reading from memory */
    FILE *fp;              /* NULL when reading from memory */
    const char *mem;       /* memory input (owned by the reader), else NULL */
    size_t memlen, mempos;
    char *line;            /* current line, NUL-terminated, without the newline */
    size_t linelen, linecap;
    int64_t lineno;        /* 1-based number of the current line; 0 before the first */
    int64_t offset;        /* byte offset of the start of the next line */
} st_source;

/* Read the next line into src->line (CR/LF stripped). Returns 1 on a line, 0 at EOF, negative
 * status on error (sets ctx: embedded NUL bytes = binary data, line over 64 MiB). */
ST_HIDDEN int st_src_getline(st_ctx *ctx, st_source *src);
/* Read the whole remaining input into a malloc'd buffer (for formats parsed as a whole). */
ST_HIDDEN int st_src_slurp(st_ctx *ctx, st_source *src, char **buf, size_t *len);

typedef struct st_format {
    const char *name;
    const char *extensions;  /* space-separated, lower case, with dot: ".xyz .extxyz"; or a
                                basename pattern such as "POSCAR*" */
    /* Score 0..100 that `head` (first bytes of the input) is this format. */
    int (*probe)(const char *head, size_t n);
    /* Reading; NULL if write-only.  `open` may read from src; state is the format's. */
    int (*open)(st_ctx *ctx, st_source *src, void **state);
    int (*next)(st_ctx *ctx, void *state, st_source *src, st_atoms **out);
    void (*close)(void *state);
    /* Writing; NULL if read-only.  Frames are written to fp one by one; `finish` writes any
       trailer (may be NULL). */
    int (*write)(st_ctx *ctx, FILE *fp, const char *name, int64_t index, st_atoms *frame);
    int (*finish)(st_ctx *ctx, FILE *fp, const char *name, int64_t nframes);
} st_format;


/* Text helpers shared by the text formats (csrc/io/text.c).  Numbers use the C locale. */
ST_HIDDEN int st_txt_split(char *s, char **tok, int max);
ST_HIDDEN int st_txt_real(const char *t, int allow_nonfinite, double *out);
ST_HIDDEN int st_txt_int(const char *t, int64_t *out);
ST_HIDDEN int st_txt_bool(const char *t, int *out);
ST_HIDDEN void st_txt_real_str(double v, char *buf);
ST_HIDDEN int st_txt_element(const char *t);
ST_HIDDEN int64_t st_txt_size(st_source *src);
ST_HIDDEN const char *st_txt_show(const char *t, char *buf);
ST_HIDDEN int st_txt_need_line(st_ctx *ctx, st_source *src, const char *what);
enum { TXT_OK = 0, TXT_BAD = 1, TXT_RANGE = 2 };

extern const st_format st_format_extxyz;
extern const st_format st_format_cif;
extern const st_format st_format_poscar;
extern const st_format st_format_vasprun;
extern const st_format st_format_lammps_dump;
extern const st_format st_format_lammps_data;

#endif
