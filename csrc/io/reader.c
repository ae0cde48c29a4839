/* reader.c -- format registry and detection, the streaming reader, the atomic writer, and the
 * line source that all text parsers share.
 *
 * Writers never leave a half-written file: they write "<path>.tmp-<pid>-<n>" and rename() it onto
 * the final name only when st_writer_close succeeds. */
#include "format.h"
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const st_format *formats[] = {&st_format_extxyz,  &st_format_cif,
                                     &st_format_poscar,  &st_format_vasprun,
                                     &st_format_lammps_dump, &st_format_lammps_data};
enum { NFORMATS = sizeof formats / sizeof formats[0] };

const char *st_format_name(int idx, int *flags)
{
    if (idx < 0 || idx >= NFORMATS) return NULL;
    if (flags) *flags = (formats[idx]->next ? 1 : 0) | (formats[idx]->write ? 2 : 0);
    return formats[idx]->name;
}

static const st_format *find_format(const char *name)
{
    for (int i = 0; i < NFORMATS; i++)
        if (!strcmp(formats[i]->name, name)) return formats[i];
    return NULL;
}

static int ext_matches(const st_format *f, const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char lower[512];
    size_t n = strlen(base);
    if (n >= sizeof lower) n = sizeof lower - 1;
    for (size_t i = 0; i < n; i++) lower[i] = (char)tolower((unsigned char)base[i]);
    lower[n] = 0;
    const char *p = f->extensions;
    while (p && *p) {
        while (*p == ' ') p++;
        const char *e = p;
        while (*e && *e != ' ') e++;
        size_t len = (size_t)(e - p);
        if (len) {
            char pat[64];
            if (len >= sizeof pat) len = sizeof pat - 1;
            memcpy(pat, p, len);
            pat[len] = 0;
            if (pat[0] == '.') {
                if (n >= len && !strcmp(lower + n - len, pat)) return 1;
            } else if (!fnmatch(pat, base, 0)) {
                return 1;
            }
        }
        p = e;
    }
    return 0;
}

const char *st_format_detect(const char *path, const char *head, size_t nhead)
{
    if (path)
        for (int i = 0; i < NFORMATS; i++)
            if (ext_matches(formats[i], path)) return formats[i]->name;
    if (head && nhead) {
        int best = 0;
        const char *name = NULL;
        for (int i = 0; i < NFORMATS; i++) {
            if (!formats[i]->probe) continue;
            int s = formats[i]->probe(head, nhead);
            if (s > best) best = s, name = formats[i]->name;
        }
        if (best >= 50) return name;
    }
    return NULL;
}

/* ---------------------------------------------------------------- line source */
int st_src_getline(st_ctx *ctx, st_source *src)
{
    size_t len = 0;
    int any = 0;
    for (;;) {
        int c;
        if (src->fp) {
            c = getc(src->fp);
            if (c == EOF) {
                if (ferror(src->fp))
                    return -st_fail(ctx, ST_ERR_IO, "%s: line %lld: read error: %s", src->name,
                                    (long long)src->lineno + 1, strerror(errno));
                break;
            }
        } else {
            if (src->mempos >= src->memlen) break;
            c = (unsigned char)src->mem[src->mempos++];
        }
        any = 1;
        src->offset++;
        if (c == '\n') break;
        if (c == 0)
            return -st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: binary data (NUL byte) in a text file",
                            src->name, (long long)src->lineno + 1);
        if (len + 2 > src->linecap) {
            if (src->linecap >= ((size_t)64 << 20))
                return -st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: line longer than 64 MiB",
                                src->name, (long long)src->lineno + 1);
            size_t cap = src->linecap ? src->linecap * 2 : 256;
            char *nl = realloc(src->line, cap);
            if (!nl) return -st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", src->name);
            src->line = nl;
            src->linecap = cap;
        }
        src->line[len++] = (char)c;
    }
    if (!any) return 0;
    if (len && src->line[len - 1] == '\r') len--;
    if (!src->line) {
        src->line = malloc(16);
        if (!src->line) return -st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", src->name);
        src->linecap = 16;
    }
    src->line[len] = 0;
    src->linelen = len;
    src->lineno++;
    return 1;
}

int st_src_slurp(st_ctx *ctx, st_source *src, char **buf, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap + 1);
    if (!b) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", src->name);
    for (;;) {
        if (n == cap) {
            char *nb = realloc(b, cap * 2 + 1);
            if (!nb) {
                free(b);
                return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", src->name);
            }
            b = nb;
            cap *= 2;
        }
        size_t got;
        if (src->fp) {
            got = fread(b + n, 1, cap - n, src->fp);
            if (got == 0 && ferror(src->fp)) {
                free(b);
                return st_fail(ctx, ST_ERR_IO, "%s: read error: %s", src->name, strerror(errno));
            }
        } else {
            got = src->memlen - src->mempos;
            if (got > cap - n) got = cap - n;
            memcpy(b + n, src->mem + src->mempos, got);
            src->mempos += got;
        }
        if (got == 0) break;
        n += got;
    }
    b[n] = 0;
    *buf = b;
    *len = n;
    return ST_OK;
}

/* ---------------------------------------------------------------- reader */
struct st_reader {
    const st_format *fmt;
    st_source src;
    void *state;
    char *name;
    char *mem;
    int done;
};

static int reader_start(st_ctx *ctx, st_reader *r, const char *format, const char *path)
{
    const char *fname = format && *format ? format : NULL;
    if (!fname) {
        char head[4096];
        size_t n = 0;
        if (r->src.fp) {
            n = fread(head, 1, sizeof head - 1, r->src.fp);
            rewind(r->src.fp);
        } else {
            n = r->src.memlen < sizeof head - 1 ? r->src.memlen : sizeof head - 1;
            memcpy(head, r->src.mem, n);
        }
        head[n] = 0;
        fname = st_format_detect(path, head, n);
        if (!fname)
            return st_fail(ctx, ST_ERR_FORMAT,
                           "%s: cannot tell the file format from the name or content; pass a "
                           "format (extxyz, cif, poscar, vasprun, lammps-dump)", r->src.name);
    }
    r->fmt = find_format(fname);
    if (!r->fmt)
        return st_fail(ctx, ST_ERR_FORMAT, "%s: unknown format '%s'", r->src.name, fname);
    if (!r->fmt->open)
        return st_fail(ctx, ST_ERR_FORMAT, "%s: format '%s' cannot be read", r->src.name, fname);
    return r->fmt->open(ctx, &r->src, &r->state);
}

int st_reader_open(st_ctx *ctx, const char *path, const char *format, st_reader **out)
{
    *out = NULL;
    if (!path) return st_fail(ctx, ST_ERR_ARG, "st_reader_open: path is NULL");
    st_reader *r = calloc(1, sizeof *r);
    if (!r) return st_fail(ctx, ST_ERR_NOMEM, "out of memory");
    r->name = st_strdup(path);
    r->src.name = r->src.path = r->name;
    r->src.fp = fopen(path, "rb");
    if (!r->src.fp) {
        int e = errno;
        st_reader_close(r);
        return st_fail(ctx, ST_ERR_IO, "%s: cannot open: %s", path, strerror(e));
    }
    int rc = reader_start(ctx, r, format, path);
    if (rc) {
        st_reader_close(r);
        return rc;
    }
    *out = r;
    return ST_OK;
}

int st_reader_open_string(st_ctx *ctx, const char *text, size_t len, const char *format,
                          const char *name, st_reader **out)
{
    *out = NULL;
    st_reader *r = calloc(1, sizeof *r);
    if (!r) return st_fail(ctx, ST_ERR_NOMEM, "out of memory");
    r->name = st_strdup(name ? name : "<string>");
    r->mem = malloc(len + 1);
    if (!r->name || !r->mem) {
        st_reader_close(r);
        return st_fail(ctx, ST_ERR_NOMEM, "out of memory");
    }
    memcpy(r->mem, text, len);
    r->mem[len] = 0;
    r->src.name = r->name;
    r->src.mem = r->mem;
    r->src.memlen = len;
    int rc = reader_start(ctx, r, format, NULL);
    if (rc) {
        st_reader_close(r);
        return rc;
    }
    *out = r;
    return ST_OK;
}

int st_reader_next(st_ctx *ctx, st_reader *r, st_atoms **out)
{
    *out = NULL;
    if (!r) return st_fail(ctx, ST_ERR_ARG, "st_reader_next: reader is NULL");
    if (r->done) return ST_OK;
    int rc = st_check_interrupt(ctx, r->src.name);
    if (rc) return rc;
    rc = r->fmt->next(ctx, r->state, &r->src, out);
    if (rc || !*out) r->done = 1;
    return rc;
}

const char *st_reader_format(const st_reader *r) { return r && r->fmt ? r->fmt->name : NULL; }

void st_reader_close(st_reader *r)
{
    if (!r) return;
    if (r->fmt && r->fmt->close && r->state) r->fmt->close(r->state);
    if (r->src.fp) fclose(r->src.fp);
    free(r->src.line);
    free(r->mem);
    free(r->name);
    free(r);
}

/* ---------------------------------------------------------------- writer */
struct st_writer {
    const st_format *fmt;
    FILE *fp;
    char *path, *tmp;
    int64_t nframes;
};

int st_writer_open(st_ctx *ctx, const char *path, const char *format, st_writer **out)
{
    *out = NULL;
    if (!path) return st_fail(ctx, ST_ERR_ARG, "st_writer_open: path is NULL");
    const char *fname = format && *format ? format : st_format_detect(path, NULL, 0);
    if (!fname)
        return st_fail(ctx, ST_ERR_FORMAT,
                       "%s: cannot tell the output format from the name; pass a format", path);
    const st_format *f = find_format(fname);
    if (!f) return st_fail(ctx, ST_ERR_FORMAT, "%s: unknown format '%s'", path, fname);
    if (!f->write) return st_fail(ctx, ST_ERR_FORMAT, "%s: format '%s' cannot be written", path, fname);
    st_writer *w = calloc(1, sizeof *w);
    if (!w) return st_fail(ctx, ST_ERR_NOMEM, "out of memory");
    static int counter;
    size_t n = strlen(path) + 64;
    w->path = st_strdup(path);
    w->tmp = malloc(n);
    if (!w->path || !w->tmp) {
        st_writer_abort(w);
        return st_fail(ctx, ST_ERR_NOMEM, "out of memory");
    }
    snprintf(w->tmp, n, "%s.tmp-%ld-%d", path, (long)getpid(), counter++);
    w->fp = fopen(w->tmp, "wb");
    if (!w->fp) {
        int e = errno;
        st_writer_abort(w);
        return st_fail(ctx, ST_ERR_IO, "%s: cannot create: %s", path, strerror(e));
    }
    w->fmt = f;
    *out = w;
    return ST_OK;
}

int st_writer_write(st_ctx *ctx, st_writer *w, st_atoms *frame)
{
    if (!w || !frame) return st_fail(ctx, ST_ERR_ARG, "st_writer_write: NULL argument");
    int rc = w->fmt->write(ctx, w->fp, w->path, w->nframes, frame);
    if (!rc && ferror(w->fp)) rc = st_fail(ctx, ST_ERR_IO, "%s: write error", w->path);
    if (!rc) w->nframes++;
    return rc;
}

int st_writer_close(st_ctx *ctx, st_writer *w)
{
    if (!w) return ST_OK;
    int rc = ST_OK;
    if (w->fmt->finish) rc = w->fmt->finish(ctx, w->fp, w->path, w->nframes);
    if (!rc && fflush(w->fp)) rc = st_fail(ctx, ST_ERR_IO, "%s: write error: %s", w->path, strerror(errno));
    if (fclose(w->fp) && !rc) rc = st_fail(ctx, ST_ERR_IO, "%s: close failed: %s", w->path, strerror(errno));
    w->fp = NULL;
    if (!rc && rename(w->tmp, w->path))
        rc = st_fail(ctx, ST_ERR_IO, "%s: cannot rename temporary file into place: %s", w->path,
                     strerror(errno));
    if (rc) remove(w->tmp);
    free(w->path);
    free(w->tmp);
    free(w);
    return rc;
}

void st_writer_abort(st_writer *w)
{
    if (!w) return;
    if (w->fp) fclose(w->fp);
    if (w->tmp) remove(w->tmp);
    free(w->path);
    free(w->tmp);
    free(w);
}
