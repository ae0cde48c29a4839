/* zip.c -- .npz archives: the zip container np.savez / np.savez_compressed write, read and written
 * with zlib (raw deflate and CRC-32); the .npy members go through npy.c's st__npy_io streams.
 *
 * Container facts are from PKWARE's APPNOTE.TXT (6.3.x): local file header (4.3.7, signature
 * 0x04034b50, 30 bytes + name + extra), central directory header (4.3.12, 0x02014b50, 46 bytes +
 * name + extra + comment), end of central directory (4.3.16, 0x06054b50, 22 bytes + comment), the
 * zip64 end record and locator (4.3.14/4.3.15, 0x06064b50 / 0x07064b50), the zip64 extended
 * information extra field (4.5.3, id 0x0001: original size, compressed size, local header offset,
 * each present only when the 32-bit field holds 0xFFFFFFFF), data descriptors (general purpose
 * flag bit 3, 4.3.9) and deflate as method 8.
 *
 * Reading trusts the central directory for sizes and CRCs, so data descriptors (bit 3, sizes 0 in
 * the local header) and numpy's habit of putting a zip64 extra in every local header (it opens
 * members with force_zip64=True) need nothing special; the local header is only used for the
 * length of its own name and extra field, which may differ from the central ones.
 * Writing knows each member's size in advance (the .npy header is computed first), streams the
 * data through deflate, then seeks back to patch CRC and compressed size into the local header.
 * As Python's zipfile does, zip64 fields are used above 2^31 - 1 bytes (readers that treat the
 * 32-bit fields as signed exist), and only where needed.
 *
 * Does not: read encrypted, split (multi-disk) or non-deflate-compressed archives; handle data
 * prepended to the archive (self-extracting stubs); write archive comments. */
#include "internal.h"
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "npy_io.h"

enum {
    SIG_LOCAL = 0x04034b50, SIG_CENTRAL = 0x02014b50, SIG_END = 0x06054b50,
    SIG_END64 = 0x06064b50, SIG_LOC64 = 0x07064b50,
    LOCAL_LEN = 30, CENTRAL_LEN = 46, END_LEN = 22, END64_LEN = 56, LOC64_LEN = 20,
    FLAG_ENCRYPTED = 1, FLAG_UTF8 = 1 << 11,
    METHOD_STORED = 0, METHOD_DEFLATE = 8,
    VERSION_DEFAULT = 20, VERSION_ZIP64 = 45
};
static const int64_t Z64_LIMIT = 0x7fffffff;   /* above this, use zip64 fields (as zipfile) */
static const uint32_t U32_MAX = 0xffffffffu;

static uint32_t get16(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t get32(const unsigned char *p) { return get16(p) | get16(p + 2) << 16; }
static uint64_t get64(const unsigned char *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }
static unsigned char *put16(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    return p + 2;
}
static unsigned char *put32(unsigned char *p, uint32_t v) { return put16(put16(p, v & 0xffff), v >> 16); }
static unsigned char *put64(unsigned char *p, uint64_t v)
{
    return put32(put32(p, (uint32_t)v), (uint32_t)(v >> 32));
}

/* ================================================================== reader */

typedef struct npz_entry {
    char *name;         /* as stored, e.g. "x.npy" */
    char *short_name;   /* without ".npy" */
    uint32_t crc;
    uint32_t flags, method;
    int64_t csize, usize, lho;
} npz_entry;

struct st_npz {
    FILE *fp;
    char *path;
    int64_t fsize;
    int n;
    npz_entry *e;
};

static int read_at(st_ctx *ctx, st_npz *z, int64_t off, void *buf, size_t n, const char *what)
{
    if (off < 0 || off > z->fsize || (int64_t)n > z->fsize - off)
        return st_fail(ctx, ST_ERR_PARSE, "%s: corrupt zip: %s (%zu bytes at offset %lld) lies "
                       "outside the file (%lld bytes; truncated?)", z->path, what, n,
                       (long long)off, (long long)z->fsize);
    if (fseeko(z->fp, (off_t)off, SEEK_SET) || fread(buf, 1, n, z->fp) != n)
        return st_fail(ctx, ST_ERR_IO, "%s: read error at byte %lld: %s", z->path, (long long)off,
                       strerror(errno));
    return ST_OK;
}

static int to_i64(uint64_t v, int64_t *out)
{
    if (v > (uint64_t)INT64_MAX) return -1;
    *out = (int64_t)v;
    return 0;
}

/* Parse central directory entry k starting at cd[*q]; advances *q. */
static int parse_entry(st_ctx *ctx, st_npz *z, const unsigned char *cd, uint64_t cdlen,
                       uint64_t *q, int k)
{
    const unsigned char *c = cd + *q;
    if (cdlen - *q < CENTRAL_LEN || get32(c) != SIG_CENTRAL)
        return st_fail(ctx, ST_ERR_PARSE, "%s: corrupt zip: central directory entry %d: no "
                       "signature at directory offset %llu", z->path, k, (unsigned long long)*q);
    npz_entry *e = &z->e[k];
    uint32_t nlen = get16(c + 28), xlen = get16(c + 30), clen = get16(c + 32);
    if (cdlen - *q - CENTRAL_LEN < (uint64_t)nlen + xlen + clen)
        return st_fail(ctx, ST_ERR_PARSE, "%s: corrupt zip: central directory entry %d runs past "
                       "the end of the directory", z->path, k);
    e->flags = get16(c + 8);
    e->method = get16(c + 10);
    e->crc = get32(c + 16);
    uint64_t csize = get32(c + 20), usize = get32(c + 24), lho = get32(c + 42);
    const char *name = (const char *)c + CENTRAL_LEN;
    if (memchr(name, 0, nlen))
        return st_fail(ctx, ST_ERR_PARSE, "%s: corrupt zip: entry %d has a NUL byte in its name",
                       z->path, k);
    e->name = malloc((size_t)nlen + 1);
    if (!e->name) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", z->path);
    memcpy(e->name, name, nlen);
    e->name[nlen] = 0;
    /* zip64 extended information (APPNOTE 4.5.3): only the fields that overflowed, in order. */
    const unsigned char *x = c + CENTRAL_LEN + nlen, *xend = x + xlen;
    while (xend - x >= 4) {
        uint32_t id = get16(x), sz = get16(x + 2);
        if ((uint32_t)(xend - x - 4) < sz)
            return st_fail(ctx, ST_ERR_PARSE, "%s: member '%s': extra field runs past its end "
                           "(corrupt zip)", z->path, e->name);
        if (id == 1) {
            const unsigned char *f = x + 4, *fend = f + sz;
            uint64_t *fields[3] = {&usize, &csize, &lho};
            for (int i = 0; i < 3; i++) {
                if (*fields[i] != U32_MAX) continue;
                if (fend - f < 8)
                    return st_fail(ctx, ST_ERR_PARSE, "%s: member '%s': zip64 extra field too "
                                   "short (corrupt zip)", z->path, e->name);
                *fields[i] = get64(f);
                f += 8;
            }
        }
        x += 4 + sz;
    }
    if (to_i64(csize, &e->csize) || to_i64(usize, &e->usize) || to_i64(lho, &e->lho))
        return st_fail(ctx, ST_ERR_PARSE, "%s: member '%s': absurd size or offset (corrupt zip)",
                       z->path, e->name);
    size_t len = strlen(e->name);
    e->short_name = st_strdup(e->name);
    if (!e->short_name) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", z->path);
    if (len > 4 && !strcmp(e->name + len - 4, ".npy")) e->short_name[len - 4] = 0;
    *q += CENTRAL_LEN + (uint64_t)nlen + xlen + clen;
    return ST_OK;
}

static int read_directory(st_ctx *ctx, st_npz *z)
{
    if (z->fsize < END_LEN)
        return st_fail(ctx, ST_ERR_PARSE, "%s: not a zip archive (%lld bytes is too short)",
                       z->path, (long long)z->fsize);
    /* The end record sits in the last 22 + 65535 (maximum comment) bytes; search backwards. */
    int64_t tail = z->fsize < END_LEN + 65535 ? z->fsize : END_LEN + 65535;
    unsigned char *buf = malloc((size_t)tail), *cd = NULL;
    if (!buf) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", z->path);
    int rc = read_at(ctx, z, z->fsize - tail, buf, (size_t)tail, "end of archive");
    int64_t p = tail - END_LEN;
    for (; !rc && p >= 0; p--)
        if (get32(buf + p) == SIG_END && p + END_LEN + get16(buf + p + 20) <= tail) break;
    if (!rc && p < 0)
        rc = st_fail(ctx, ST_ERR_PARSE, "%s: not a zip archive, or truncated (no "
                     "end-of-central-directory record)", z->path);
    if (rc) { free(buf); return rc; }
    int64_t eocd = z->fsize - tail + p, limit = eocd;
    const unsigned char *e = buf + p;
    uint64_t ndisk = get16(e + 4), cddisk = get16(e + 6), nthis = get16(e + 8),
             ntotal = get16(e + 10), cdsize = get32(e + 12), cdoff = get32(e + 16);
    free(buf);
    unsigned char loc[LOC64_LEN], e64[END64_LEN];
    if (eocd >= LOC64_LEN && !(rc = read_at(ctx, z, eocd - LOC64_LEN, loc, LOC64_LEN, "zip64 "
                                            "locator")) && get32(loc) == SIG_LOC64) {
        int64_t off64;
        if (to_i64(get64(loc + 8), &off64) || off64 > eocd - LOC64_LEN - END64_LEN)
            return st_fail(ctx, ST_ERR_PARSE, "%s: corrupt zip: zip64 end record offset %llu is "
                           "outside the file", z->path, (unsigned long long)get64(loc + 8));
        if ((rc = read_at(ctx, z, off64, e64, END64_LEN, "zip64 end record"))) return rc;
        if (get32(e64) != SIG_END64)
            return st_fail(ctx, ST_ERR_PARSE, "%s: corrupt zip: no zip64 end record at offset "
                           "%lld", z->path, (long long)off64);
        ndisk = get32(e64 + 16);
        cddisk = get32(e64 + 20);
        nthis = get64(e64 + 24);
        ntotal = get64(e64 + 32);
        cdsize = get64(e64 + 40);
        cdoff = get64(e64 + 48);
        limit = off64;
    }
    if (rc) return rc;
    if (ndisk || cddisk || nthis != ntotal)
        return st_fail(ctx, ST_ERR_FORMAT, "%s: split (multi-disk) zip archives are not "
                       "supported", z->path);
    if (cdoff > (uint64_t)limit || cdsize > (uint64_t)limit - cdoff)
        return st_fail(ctx, ST_ERR_PARSE, "%s: corrupt zip: central directory (offset %llu, "
                       "%llu bytes) does not end before the end record at %lld", z->path,
                       (unsigned long long)cdoff, (unsigned long long)cdsize, (long long)limit);
    if (ntotal > cdsize / CENTRAL_LEN || ntotal > INT_MAX)
        return st_fail(ctx, ST_ERR_PARSE, "%s: corrupt zip: %llu entries cannot fit in a central "
                       "directory of %llu bytes", z->path, (unsigned long long)ntotal,
                       (unsigned long long)cdsize);
    z->e = calloc(ntotal ? (size_t)ntotal : 1, sizeof *z->e);
    cd = malloc(cdsize ? (size_t)cdsize : 1);
    if (!z->e || !cd) { free(cd); return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", z->path); }
    z->n = (int)ntotal;
    rc = read_at(ctx, z, (int64_t)cdoff, cd, (size_t)cdsize, "central directory");
    uint64_t q = 0;
    for (int k = 0; !rc && k < z->n; k++) rc = parse_entry(ctx, z, cd, cdsize, &q, k);
    free(cd);
    return rc;
}

int st_npz_open(st_ctx *ctx, const char *path, st_npz **out)
{
    if (!out) return st_fail(ctx, ST_ERR_ARG, "st_npz_open: out is NULL");
    *out = NULL;
    if (!path) return st_fail(ctx, ST_ERR_ARG, "st_npz_open: path is NULL");
    st_npz *z = calloc(1, sizeof *z);
    if (!z || !(z->path = st_strdup(path))) {
        free(z);
        return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", path);
    }
    z->fp = fopen(path, "rb");
    struct stat st;
    int rc;
    if (!z->fp) rc = st_fail(ctx, ST_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    else if (fstat(fileno(z->fp), &st) || !S_ISREG(st.st_mode))
        rc = st_fail(ctx, ST_ERR_IO, "%s: not a regular file", path);
    else {
        z->fsize = (int64_t)st.st_size;
        rc = read_directory(ctx, z);
    }
    if (rc) { st_npz_close(z); return rc; }
    *out = z;
    return ST_OK;
}

void st_npz_close(st_npz *z)
{
    if (!z) return;
    if (z->fp) fclose(z->fp);
    for (int i = 0; z->e && i < z->n; i++) {
        free(z->e[i].name);
        free(z->e[i].short_name);
    }
    free(z->e);
    free(z->path);
    free(z);
}

int st_npz_count(const st_npz *z) { return z ? z->n : 0; }

const char *st_npz_name(const st_npz *z, int i)
{
    return z && i >= 0 && i < z->n ? z->e[i].short_name : NULL;
}

int st_npz_find(const st_npz *z, const char *name)
{
    for (int i = 0; z && name && i < z->n; i++)
        if (!strcmp(z->e[i].short_name, name) || !strcmp(z->e[i].name, name)) return i;
    return -1;
}

/* ---- one member as a byte stream: inflates, counts and checksums what it delivers ---- */
typedef struct mstream {
    st_npz *z;
    npz_entry *e;
    char where[1024];
    int64_t pos;      /* uncompressed bytes delivered */
    int64_t cleft;    /* compressed bytes not yet read from the file */
    uint32_t crc;
    int zinit, zend;
    z_stream zs;
    unsigned char in[1 << 16];
} mstream;

/* The file ended (or failed) inside data that open-time checks said were there: it changed. */
static int short_read(st_ctx *ctx, mstream *m)
{
    if (ferror(m->z->fp))
        return st_fail(ctx, ST_ERR_IO, "%s: read error: %s", m->where, strerror(errno));
    return st_fail(ctx, ST_ERR_PARSE, "%s: unexpected end of file (was the archive truncated "
                   "while open?)", m->where);
}

static int member_read(st__npy_io *io, void *buf, size_t n)
{
    mstream *m = io->ud;
    if ((int64_t)n > m->e->usize - m->pos)
        return st_fail(io->ctx, ST_ERR_PARSE, "%s: unexpected end of the member at byte %lld "
                       "(truncated?)", m->where, (long long)m->e->usize);
    if (m->e->method == METHOD_STORED) {
        if (fread(buf, 1, n, m->z->fp) != n) return short_read(io->ctx, m);
        m->cleft -= (int64_t)n;
    } else {
        unsigned char *o = buf;
        size_t left = n;
        while (left > 0) {
            uInt piece = left > (1u << 30) ? (1u << 30) : (uInt)left;
            m->zs.next_out = o;
            m->zs.avail_out = piece;
            while (m->zs.avail_out > 0) {
                if (m->zs.avail_in == 0 && m->cleft > 0) {
                    size_t k = m->cleft < (int64_t)sizeof m->in ? (size_t)m->cleft : sizeof m->in;
                    if (fread(m->in, 1, k, m->z->fp) != k) return short_read(io->ctx, m);
                    m->cleft -= (int64_t)k;
                    m->zs.next_in = m->in;
                    m->zs.avail_in = (uInt)k;
                }
                int zr = inflate(&m->zs, Z_NO_FLUSH);
                if (zr == Z_STREAM_END && m->zs.avail_out > 0)
                    return st_fail(io->ctx, ST_ERR_PARSE, "%s: deflate data end after %lld bytes "
                                   "but the directory says %lld (corrupt zip)", m->where,
                                   (long long)(m->pos + (int64_t)(n - left) + piece -
                                               m->zs.avail_out), (long long)m->e->usize);
                if (zr == Z_STREAM_END) { m->zend = 1; break; }
                if (zr == Z_MEM_ERROR) return st_fail(io->ctx, ST_ERR_NOMEM, "%s: out of memory", m->where);
                if (zr == Z_DATA_ERROR || zr == Z_NEED_DICT || zr == Z_STREAM_ERROR)
                    return st_fail(io->ctx, ST_ERR_PARSE, "%s: corrupt deflate data (%s)",
                                   m->where, m->zs.msg ? m->zs.msg : "zlib error");
                if (zr == Z_BUF_ERROR && m->zs.avail_in == 0 && m->cleft == 0)
                    return st_fail(io->ctx, ST_ERR_PARSE, "%s: deflate data end early (truncated "
                                   "or corrupt)", m->where);
            }
            o += piece;
            left -= piece;
        }
    }
    m->crc = (uint32_t)crc32_z(m->crc, buf, n);
    m->pos += (int64_t)n;
    return ST_OK;
}

static void member_close(mstream *m)
{
    if (!m) return;
    if (m->zinit) inflateEnd(&m->zs);
    free(m);
}

static int member_open(st_ctx *ctx, st_npz *z, int i, mstream **out, st__npy_io *io)
{
    *out = NULL;
    if (!z) return st_fail(ctx, ST_ERR_ARG, "npz: archive handle is NULL");
    if (i < 0 || i >= z->n)
        return st_fail(ctx, ST_ERR_ARG, "%s: member index %d is out of range (%d members)",
                       z->path, i, z->n);
    mstream *m = calloc(1, sizeof *m);
    if (!m) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", z->path);
    npz_entry *e = m->e = &z->e[i];
    m->z = z;
    snprintf(m->where, sizeof m->where, "%s: member '%s'", z->path, e->name);
    unsigned char h[LOCAL_LEN];
    int rc = ST_OK;
    if (e->flags & FLAG_ENCRYPTED)
        rc = st_fail(ctx, ST_ERR_FORMAT, "%s: encrypted members are not supported", m->where);
    else if (e->method != METHOD_STORED && e->method != METHOD_DEFLATE)
        rc = st_fail(ctx, ST_ERR_FORMAT, "%s: compression method %u is not supported (stored and "
                     "deflate are)", m->where, e->method);
    else if (e->method == METHOD_STORED && e->csize != e->usize)
        rc = st_fail(ctx, ST_ERR_PARSE, "%s: stored member has compressed size %lld but size "
                     "%lld (corrupt zip)", m->where, (long long)e->csize, (long long)e->usize);
    else if (!(rc = read_at(ctx, z, e->lho, h, LOCAL_LEN, "local header")) &&
             get32(h) != SIG_LOCAL)
        rc = st_fail(ctx, ST_ERR_PARSE, "%s: no local header at offset %lld (corrupt zip)",
                     m->where, (long long)e->lho);
    if (!rc) {
        size_t nlen = get16(h + 26), xlen = get16(h + 28);
        char *name = malloc(nlen + 1);
        if (!name) rc = st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", m->where);
        else if (!(rc = read_at(ctx, z, e->lho + LOCAL_LEN, name, nlen, "local header name")) &&
                 (nlen != strlen(e->name) || memcmp(name, e->name, nlen)))
            rc = st_fail(ctx, ST_ERR_PARSE, "%s: local header names '%.*s' (corrupt zip)",
                         m->where, (int)(nlen > 200 ? 200 : nlen), name);
        free(name);
        int64_t data = e->lho + LOCAL_LEN + (int64_t)nlen + (int64_t)xlen;
        if (!rc && (data > z->fsize || e->csize > z->fsize - data))
            rc = st_fail(ctx, ST_ERR_PARSE, "%s: compressed data (%lld bytes at offset %lld) run "
                         "past the end of the file (truncated?)", m->where, (long long)e->csize,
                         (long long)data);
        if (!rc && fseeko(z->fp, (off_t)data, SEEK_SET))
            rc = st_fail(ctx, ST_ERR_IO, "%s: seek failed: %s", m->where, strerror(errno));
    }
    if (!rc && e->method == METHOD_DEFLATE) {
        if (inflateInit2(&m->zs, -15) != Z_OK)   /* negative window bits: raw deflate, no header */
            rc = st_fail(ctx, ST_ERR_NOMEM, "%s: cannot start zlib inflate", m->where);
        else m->zinit = 1;
    }
    if (rc) { member_close(m); return rc; }
    m->cleft = e->csize;
    m->crc = (uint32_t)crc32_z(0, Z_NULL, 0);
    memset(io, 0, sizeof *io);
    io->ctx = ctx;
    io->where = m->where;
    io->size = e->usize;
    io->read = member_read;
    io->ud = m;
    *out = m;
    return ST_OK;
}

/* After the array: consume what is left, make sure the deflate stream ends where the directory
 * says, and compare CRC-32 over the whole member. */
static int member_finish(st__npy_io *io)
{
    mstream *m = io->ud;
    unsigned char scratch[4096];
    int rc;
    while (m->pos < m->e->usize) {
        size_t k = m->e->usize - m->pos < (int64_t)sizeof scratch ? (size_t)(m->e->usize - m->pos)
                                                                   : sizeof scratch;
        if ((rc = member_read(io, scratch, k))) return rc;
    }
    if (m->e->method == METHOD_DEFLATE && !m->zend) {
        for (;;) {
            if (m->zs.avail_in == 0 && m->cleft > 0) {
                size_t k = m->cleft < (int64_t)sizeof m->in ? (size_t)m->cleft : sizeof m->in;
                if (fread(m->in, 1, k, m->z->fp) != k) return short_read(io->ctx, m);
                m->cleft -= (int64_t)k;
                m->zs.next_in = m->in;
                m->zs.avail_in = (uInt)k;
            }
            m->zs.next_out = scratch;
            m->zs.avail_out = 1;
            int zr = inflate(&m->zs, Z_NO_FLUSH);
            if (zr == Z_STREAM_END && m->zs.avail_out == 1) break;
            if (m->zs.avail_out == 0)
                return st_fail(io->ctx, ST_ERR_PARSE, "%s: member is longer than the directory's "
                               "%lld bytes (corrupt zip)", m->where, (long long)m->e->usize);
            if (zr != Z_OK && zr != Z_BUF_ERROR)
                return st_fail(io->ctx, ST_ERR_PARSE, "%s: corrupt deflate data (%s)", m->where,
                               m->zs.msg ? m->zs.msg : "zlib error");
            if (m->zs.avail_in == 0 && m->cleft == 0)
                return st_fail(io->ctx, ST_ERR_PARSE, "%s: deflate data do not end (truncated or "
                               "corrupt)", m->where);
        }
    }
    if (m->crc != m->e->crc)
        return st_fail(io->ctx, ST_ERR_PARSE, "%s: CRC-32 mismatch (directory says %08x, data give "
                       "%08x): the member is corrupt", m->where, m->e->crc, m->crc);
    return ST_OK;
}

int st_npz_info(st_ctx *ctx, st_npz *z, int i, st_npy_info *info)
{
    if (!info) return st_fail(ctx, ST_ERR_ARG, "st_npz_info: info is NULL");
    memset(info, 0, sizeof *info);
    mstream *m;
    st__npy_io io;
    int rc = member_open(ctx, z, i, &m, &io);
    if (rc) return rc;
    rc = st__npy_read_header_io(&io, info);
    member_close(m);
    return rc;
}

int st_npz_read(st_ctx *ctx, st_npz *z, int i, const st_npy_info *info, void *out)
{
    if (!info) return st_fail(ctx, ST_ERR_ARG, "st_npz_read: info is NULL");
    mstream *m;
    st__npy_io io;
    st_npy_info actual;
    int rc = member_open(ctx, z, i, &m, &io);
    if (rc) return rc;
    if (!(rc = st__npy_read_header_io(&io, &actual)) &&
        !(rc = st__npy_check_info(ctx, m->where, info, &actual)) &&
        !(rc = st__npy_read_data_io(&io, &actual, out)))
        rc = member_finish(&io);
    member_close(m);
    return rc;
}

/* ================================================================== writer */

typedef struct wentry {
    char *name;
    uint32_t crc, flags, method;
    int64_t csize, usize, lho;
} wentry;

struct st_npz_writer {
    FILE *fp;
    char *path, *tmp;
    int compress, broken, n, cap;
    wentry *e;
    uint32_t dostime, dosdate;
};

/* Data of the member being written: checksummed, optionally deflated, appended to the file. */
typedef struct wstream {
    st_npz_writer *w;
    const char *where;
    z_stream zs;
    int zinit;
    uint32_t crc;
    int64_t usize, csize;
    unsigned char out[1 << 16];
} wstream;

static int wput(st_ctx *ctx, wstream *s, const void *buf, size_t n)
{
    if (fwrite(buf, 1, n, s->w->fp) != n)
        return st_fail(ctx, ST_ERR_IO, "%s: write error: %s", s->where, strerror(errno));
    s->csize += (int64_t)n;
    return ST_OK;
}

static int deflate_run(st_ctx *ctx, wstream *s, int flush)
{
    int zr, rc;
    do {
        s->zs.next_out = s->out;
        s->zs.avail_out = sizeof s->out;
        zr = deflate(&s->zs, flush);
        if (zr == Z_STREAM_ERROR)
            return st_fail(ctx, ST_ERR_INTERNAL, "%s: zlib deflate failed", s->where);
        if ((rc = wput(ctx, s, s->out, sizeof s->out - s->zs.avail_out))) return rc;
    } while (s->zs.avail_out == 0 || (flush == Z_FINISH && zr != Z_STREAM_END));
    return ST_OK;
}

static int member_write(st__npy_io *io, const void *buf, size_t n)
{
    wstream *s = io->ud;
    s->crc = (uint32_t)crc32_z(s->crc, buf, n);
    s->usize += (int64_t)n;
    if (!s->w->compress) return wput(io->ctx, s, buf, n);
    const unsigned char *p = buf;
    while (n > 0) {
        uInt piece = n > (1u << 30) ? (1u << 30) : (uInt)n;
        s->zs.next_in = (unsigned char *)p;
        s->zs.avail_in = piece;
        int rc = deflate_run(io->ctx, s, Z_NO_FLUSH);
        if (rc) return rc;
        p += piece;
        n -= piece;
    }
    return ST_OK;
}

int st_npz_writer_open(st_ctx *ctx, const char *path, int compress, st_npz_writer **out)
{
    if (!out) return st_fail(ctx, ST_ERR_ARG, "st_npz_writer_open: out is NULL");
    *out = NULL;
    if (!path) return st_fail(ctx, ST_ERR_ARG, "st_npz_writer_open: path is NULL");
    if (compress != 0 && compress != 1)
        return st_fail(ctx, ST_ERR_ARG, "%s: compress must be 0 (stored) or 1 (deflate), got %d",
                       path, compress);
    st_npz_writer *w = calloc(1, sizeof *w);
    static int counter;
    size_t n = strlen(path) + 64;
    if (!w || !(w->path = st_strdup(path)) || !(w->tmp = malloc(n))) {
        st_npz_writer_abort(w);
        return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", path);
    }
    snprintf(w->tmp, n, "%s.tmp-%ld-%d", path, (long)getpid(), counter++);
    w->fp = fopen(w->tmp, "w+b");
    if (!w->fp) {
        int e = errno;
        st_npz_writer_abort(w);
        return st_fail(ctx, ST_ERR_IO, "%s: cannot create: %s", path, strerror(e));
    }
    w->compress = compress;
    /* MS-DOS date and time of the members (APPNOTE 4.4.6), local time, 2-second resolution. */
    time_t now = time(NULL);
    struct tm tm;
    if (localtime_r(&now, &tm) && tm.tm_year >= 80) {
        w->dostime = (uint32_t)(tm.tm_hour << 11 | tm.tm_min << 5 | tm.tm_sec / 2);
        w->dosdate = (uint32_t)((tm.tm_year - 80) << 9 | (tm.tm_mon + 1) << 5 | tm.tm_mday);
    } else {
        w->dosdate = 1 << 5 | 1;   /* 1980-01-01 */
    }
    *out = w;
    return ST_OK;
}

static int name_is_ascii(const char *s)
{
    for (; *s; s++) if ((unsigned char)*s >= 0x80) return 0;
    return 1;
}

/* Undo a partly written member so the archive stays as it was before the call. */
static void rollback(st_npz_writer *w, int64_t lho)
{
    fflush(w->fp);
    clearerr(w->fp);
    if (ftruncate(fileno(w->fp), (off_t)lho) || fseeko(w->fp, (off_t)lho, SEEK_SET)) w->broken = 1;
}

int st_npz_writer_add(st_ctx *ctx, st_npz_writer *w, const char *name, const st_view *v)
{
    if (!w || !name) return st_fail(ctx, ST_ERR_ARG, "st_npz_writer_add: NULL argument");
    if (w->broken)
        return st_fail(ctx, ST_ERR_IO, "%s: an earlier failure left the archive unusable; abort "
                       "it", w->path);
    size_t nlen = strlen(name) + 4;
    if (nlen == 4 || nlen > 65535)
        return st_fail(ctx, ST_ERR_ARG, "%s: member name must have 1 to 65531 bytes", w->path);
    char *full = malloc(nlen + 1), where[1024];
    if (!full) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", w->path);
    snprintf(full, nlen + 1, "%s.npy", name);
    snprintf(where, sizeof where, "%s: member '%s'", w->path, full);
    int rc = ST_OK;
    for (int i = 0; !rc && i < w->n; i++)
        if (!strcmp(w->e[i].name, full))
            rc = st_fail(ctx, ST_ERR_ARG, "%s: a member of this name was already added", where);
    if (!rc) rc = st__npy_check_view(ctx, where, v);
    if (!rc && w->n == w->cap) {
        int cap = w->cap ? 2 * w->cap : 8;
        wentry *e = realloc(w->e, (size_t)cap * sizeof *e);
        if (!e) rc = st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", where);
        else { w->e = e; w->cap = cap; }
    }
    if (!rc && st__npy_encoded_size(v) < 0)
        rc = st_fail(ctx, ST_ERR_INTERNAL, "%s: .npy header does not fit", where);
    if (rc) { free(full); return rc; }

    int64_t usize = st__npy_encoded_size(v), lho = (int64_t)ftello(w->fp);
    int z64 = usize > Z64_LIMIT || (w->compress && (int64_t)compressBound((uLong)usize) > Z64_LIMIT);
    uint32_t flags = name_is_ascii(full) ? 0 : FLAG_UTF8;
    uint32_t method = w->compress ? METHOD_DEFLATE : METHOD_STORED;
    unsigned char h[LOCAL_LEN], x[20], *p;
    p = put32(h, SIG_LOCAL);
    p = put16(p, z64 ? VERSION_ZIP64 : VERSION_DEFAULT);
    p = put16(p, flags);
    p = put16(p, method);
    p = put16(p, w->dostime);
    p = put16(p, w->dosdate);
    p = put32(p, 0);                                   /* CRC-32, patched below */
    p = put32(p, z64 ? U32_MAX : 0);                   /* compressed size, patched below */
    p = put32(p, z64 ? U32_MAX : (uint32_t)usize);
    p = put16(p, (uint32_t)nlen);
    put16(p, z64 ? 20 : 0);
    p = put16(x, 1);                                   /* zip64 extra: id 1, 16 bytes */
    p = put16(p, 16);
    p = put64(p, (uint64_t)usize);
    put64(p, 0);                                       /* compressed size, patched below */
    wstream *s = calloc(1, sizeof *s);
    if (!s) { free(full); return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", where); }
    s->w = w;
    s->where = where;
    s->crc = (uint32_t)crc32_z(0, Z_NULL, 0);
    if (lho < 0) rc = st_fail(ctx, ST_ERR_IO, "%s: cannot tell file position: %s", where, strerror(errno));
    if (!rc && (fwrite(h, 1, LOCAL_LEN, w->fp) != LOCAL_LEN || fwrite(full, 1, nlen, w->fp) != nlen ||
                (z64 && fwrite(x, 1, 20, w->fp) != 20)))
        rc = st_fail(ctx, ST_ERR_IO, "%s: write error: %s", where, strerror(errno));
    if (!rc && w->compress) {
        /* Raw deflate (negative window bits), zlib's default level as zipfile uses. */
        if (deflateInit2(&s->zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            rc = st_fail(ctx, ST_ERR_NOMEM, "%s: cannot start zlib deflate", where);
        else s->zinit = 1;
    }
    st__npy_io io = {ctx, where, -1, NULL, member_write, s};
    if (!rc) rc = st__npy_write_io(&io, v);
    if (!rc && w->compress) rc = deflate_run(ctx, s, Z_FINISH);
    if (!rc && (s->usize != usize || (!z64 && s->csize > Z64_LIMIT)))
        rc = st_fail(ctx, ST_ERR_INTERNAL, "%s: wrote %lld bytes (%lld compressed), planned %lld",
                     where, (long long)s->usize, (long long)s->csize, (long long)usize);
    if (!rc) {   /* patch CRC and compressed size into the local header */
        unsigned char c[8];
        put32(c, s->crc);
        put32(c + 4, z64 ? U32_MAX : (uint32_t)s->csize);
        if (fseeko(w->fp, (off_t)(lho + 14), SEEK_SET) || fwrite(c, 1, 8, w->fp) != 8)
            rc = st_fail(ctx, ST_ERR_IO, "%s: write error: %s", where, strerror(errno));
        put64(c, (uint64_t)s->csize);
        if (!rc && z64 && (fseeko(w->fp, (off_t)(lho + LOCAL_LEN + (int64_t)nlen + 12), SEEK_SET) ||
                           fwrite(c, 1, 8, w->fp) != 8))
            rc = st_fail(ctx, ST_ERR_IO, "%s: write error: %s", where, strerror(errno));
        if (!rc && fseeko(w->fp, 0, SEEK_END))
            rc = st_fail(ctx, ST_ERR_IO, "%s: seek failed: %s", where, strerror(errno));
    }
    if (s->zinit) deflateEnd(&s->zs);
    if (rc) {
        if (lho >= 0) rollback(w, lho);
        free(full);
        free(s);
        return rc;
    }
    wentry *e = &w->e[w->n++];
    e->name = full;
    e->crc = s->crc;
    e->flags = flags;
    e->method = method;
    e->csize = s->csize;
    e->usize = usize;
    e->lho = lho;
    free(s);
    return ST_OK;
}

static int write_directory(st_ctx *ctx, st_npz_writer *w)
{
    int64_t cdoff = (int64_t)ftello(w->fp);
    if (cdoff < 0) return st_fail(ctx, ST_ERR_IO, "%s: cannot tell file position", w->path);
    for (int i = 0; i < w->n; i++) {
        wentry *e = &w->e[i];
        unsigned char h[CENTRAL_LEN], x[28], *p, *q;
        size_t nlen = strlen(e->name);
        int bu = e->usize > Z64_LIMIT, bc = e->csize > Z64_LIMIT, bo = e->lho > Z64_LIMIT;
        q = x + 4;   /* zip64 extra: only the overflowing fields, in APPNOTE order */
        if (bu) q = put64(q, (uint64_t)e->usize);
        if (bc) q = put64(q, (uint64_t)e->csize);
        if (bo) q = put64(q, (uint64_t)e->lho);
        size_t xlen = q == x + 4 ? 0 : (size_t)(q - x);
        put16(put16(x, 1), (uint32_t)(xlen ? xlen - 4 : 0));
        p = put32(h, SIG_CENTRAL);
        p = put16(p, 3 << 8 | VERSION_ZIP64);              /* made by: Unix, spec 4.5 */
        p = put16(p, xlen ? VERSION_ZIP64 : VERSION_DEFAULT);
        p = put16(p, e->flags);
        p = put16(p, e->method);
        p = put16(p, w->dostime);
        p = put16(p, w->dosdate);
        p = put32(p, e->crc);
        p = put32(p, bc ? U32_MAX : (uint32_t)e->csize);
        p = put32(p, bu ? U32_MAX : (uint32_t)e->usize);
        p = put16(p, (uint32_t)nlen);
        p = put16(p, (uint32_t)xlen);
        p = put16(p, 0);                                   /* comment length */
        p = put16(p, 0);                                   /* disk number */
        p = put16(p, 0);                                   /* internal attributes */
        p = put32(p, 0100644u << 16);                      /* external: regular file, rw-r--r-- */
        put32(p, bo ? U32_MAX : (uint32_t)e->lho);
        if (fwrite(h, 1, CENTRAL_LEN, w->fp) != CENTRAL_LEN || fwrite(e->name, 1, nlen, w->fp) != nlen ||
            fwrite(x, 1, xlen, w->fp) != xlen)
            return st_fail(ctx, ST_ERR_IO, "%s: write error: %s", w->path, strerror(errno));
    }
    int64_t end = (int64_t)ftello(w->fp), cdsize = end - cdoff;
    int z64 = w->n >= 0xffff || cdoff > Z64_LIMIT || cdsize > Z64_LIMIT;
    unsigned char t[END64_LEN + LOC64_LEN + END_LEN], *p = t;
    if (z64) {
        p = put32(p, SIG_END64);
        p = put64(p, END64_LEN - 12);                      /* size of the rest of this record */
        p = put16(p, 3 << 8 | VERSION_ZIP64);
        p = put16(p, VERSION_ZIP64);
        p = put32(p, 0);
        p = put32(p, 0);
        p = put64(p, (uint64_t)w->n);
        p = put64(p, (uint64_t)w->n);
        p = put64(p, (uint64_t)cdsize);
        p = put64(p, (uint64_t)cdoff);
        p = put32(p, SIG_LOC64);
        p = put32(p, 0);
        p = put64(p, (uint64_t)end);                       /* where the zip64 end record starts */
        p = put32(p, 1);
    }
    p = put32(p, SIG_END);
    p = put16(p, 0);
    p = put16(p, 0);
    p = put16(p, z64 ? 0xffff : (uint32_t)w->n);
    p = put16(p, z64 ? 0xffff : (uint32_t)w->n);
    p = put32(p, z64 ? U32_MAX : (uint32_t)cdsize);
    p = put32(p, z64 ? U32_MAX : (uint32_t)cdoff);
    p = put16(p, 0);
    size_t n = (size_t)(p - t);
    if (fwrite(t, 1, n, w->fp) != n)
        return st_fail(ctx, ST_ERR_IO, "%s: write error: %s", w->path, strerror(errno));
    return ST_OK;
}

int st_npz_writer_close(st_ctx *ctx, st_npz_writer *w)
{
    if (!w) return ST_OK;
    int rc = w->broken ? st_fail(ctx, ST_ERR_IO, "%s: an earlier failure left the archive "
                                 "unusable; nothing written", w->path)
                       : write_directory(ctx, w);
    if (!rc && fflush(w->fp)) rc = st_fail(ctx, ST_ERR_IO, "%s: write error: %s", w->path, strerror(errno));
    if (fclose(w->fp) && !rc) rc = st_fail(ctx, ST_ERR_IO, "%s: close failed: %s", w->path, strerror(errno));
    w->fp = NULL;
    if (!rc && rename(w->tmp, w->path))
        rc = st_fail(ctx, ST_ERR_IO, "%s: cannot rename temporary file into place: %s", w->path,
                     strerror(errno));
    if (rc) remove(w->tmp);
    free(w->tmp);
    w->tmp = NULL;
    st_npz_writer_abort(w);
    return rc;
}

void st_npz_writer_abort(st_npz_writer *w)
{
    if (!w) return;
    if (w->fp) fclose(w->fp);
    if (w->tmp) remove(w->tmp);
    for (int i = 0; i < w->n; i++) free(w->e[i].name);
    free(w->e);
    free(w->path);
    free(w->tmp);
    free(w);
}
