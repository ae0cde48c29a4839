/* extxyz.c -- extended XYZ reader and writer (ASE-compatible), plus the small text helpers that
 * the other line-oriented formats (poscar.c, lammps.c) share.
 *
 * A frame is: an atom-count line, a comment line, then one line per atom.  The comment line
 * holds key=value pairs in the syntax ASE's extxyz module reads and writes (ase/io/extxyz.py:
 * key_val_str_to_dict, parse_properties; facts re-implemented, no code taken):
 *   - values are bare words, "double"- or 'single'-quoted strings (backslash escapes the next
 *     character; \n is a newline), or {..} / [..] groups; a key without '=' means T;
 *   - a value splits on whitespace and commas into items; all items integers -> INT, else all
 *     numbers -> REAL, else all T/F/True/False -> BOOL, else the value is a STRING; one item is
 *     a scalar, several a vector;
 *   - "_JSON ..." values are JSON: numeric arrays -> REAL vectors (rectangular nested arrays ->
 *     matrices), boolean arrays -> BOOL vectors, a JSON string -> that string; anything else is
 *     kept verbatim as a string;
 *   - Lattice="ax ay az bx by bz cx cy cz" gives the cell rows a, b, c; pbc defaults to T T T
 *     when Lattice is present and to F F F otherwise, unless pbc= is given;
 *   - stress and virial are 3x3 matrices: 9 values in Fortran (column) order as ASE writes them,
 *     or 6 Voigt values xx yy zz yz xz xy; energy and free_energy are always REAL;
 *   - Properties=name:type:ncols:... (types S, R, I, L) declares the atom columns; species
 *     (symbols) -> numbers, pos (positions) -> positions, Z (numbers) -> numbers (Z wins over
 *     species, as in ASE), charge -> "charges"; other columns become per-atom arrays by name.
 * A comment line with no '=' at all is kept as info "comment" (a plain XYZ file).
 *
 * Writing is ASE-style (Lattice, Properties, info in order, pbc) but lossless: every double is
 * printed as the shortest of %.15g/%.16g/%.17g that strtod reads back to the same bits, so
 * write -> read is bit-exact.  Strings that would read back as something else (e.g. "1.5", "T")
 * are written as _JSON strings, which ASE also reads back as strings.
 *
 * Deliberately not done: ASE's VEC lines (adfxyz), constraints from move_mask (the mask stays a
 * BOOL array), calculator objects, per-atom columns holding strings with spaces (the format
 * cannot), and INT/BOOL matrices or 1-element INT vectors in info (they come back as REAL).
 * Numbers are parsed with the C locale's strtod; a host that calls setlocale() with a
 * comma-decimal locale would break parsing (the host must not).
 */
#include "format.h"
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ================================================================ comment-line parsing */
typedef struct {
    char *key, *val;   /* val NULL for a bare key (means T) */
} kv_t;

typedef struct {
    kv_t *kv;
    int n;
    char *buf;
} kvlist;

static void kv_free(kvlist *l)
{
    free(l->kv);
    free(l->buf);
    l->kv = NULL;
    l->buf = NULL;
    l->n = 0;
}

static char unescape(char c) { return c == 'n' ? '\n' : c; }

/* One key (stop at '=') or value word: bare characters, quoted strings and bracket groups
 * glued together, ended by an unquoted blank.  Writes the unquoted text to *o. */
static const char *read_word(const char *p, char **o, int is_key, const char **err)
{
    char *w = *o;
    while (*p && !isspace((unsigned char)*p) && !(is_key && *p == '=')) {
        if (*p == '\\') {
            p++;
            if (!*p) break;
            *w++ = unescape(*p++);
        } else if (*p == '"' || *p == '\'') {
            char q = *p++;
            while (*p && *p != q) {
                if (*p == '\\' && p[1]) {
                    *w++ = unescape(p[1]);
                    p += 2;
                } else {
                    *w++ = *p++;
                }
            }
            if (!*p) {
                *err = q == '"' ? "unterminated \" quote" : "unterminated ' quote";
                return NULL;
            }
            p++;
        } else if (*p == '{' || *p == '[') {
            char open = *p, close = open == '{' ? '}' : ']';
            int depth = 1;
            p++;
            for (; *p; p++) {
                if (*p == open) depth++;
                else if (*p == close && --depth == 0) break;
                *w++ = *p;
            }
            if (!*p) {
                *err = open == '{' ? "unterminated { group" : "unterminated [ group";
                return NULL;
            }
            p++;
        } else {
            *w++ = *p++;
        }
    }
    *w++ = 0;
    *o = w;
    return p;
}

/* Parse a comment line into key/value pairs.  Returns 0, or 1 with *err set. *has_eq tells
 * whether any pair used '=' (a line without any is a plain comment). */
static int kv_parse(const char *line, kvlist *l, int *has_eq, const char **err)
{
    size_t len = strlen(line);
    l->buf = malloc(2 * len + 2);
    l->kv = malloc((len / 2 + 2) * sizeof *l->kv);
    l->n = 0;
    *has_eq = 0;
    *err = NULL;
    if (!l->buf || !l->kv) {
        *err = "out of memory";
        return 1;
    }
    char *o = l->buf;
    const char *p = line;
    for (;;) {
        while (isspace((unsigned char)*p)) p++;
        if (!*p) return 0;
        char *key = o;
        p = read_word(p, &o, 1, err);
        if (!p) return 1;
        const char *q = p;
        while (isspace((unsigned char)*q)) q++;
        char *val = NULL;
        if (!*key) {
            *err = *q == '=' ? "'=' without a key before it" : "empty key";
            return 1;
        }
        if (*q == '=') {
            *has_eq = 1;
            q++;
            while (isspace((unsigned char)*q)) q++;
            val = o;
            p = read_word(q, &o, 0, err);
            if (!p) return 1;
        }
        l->kv[l->n].key = key;
        l->kv[l->n].val = val;
        l->n++;
    }
}

/* ---------------------------------------------------------------- typed values */
typedef struct {
    int kind, ndim;
    int64_t dim[2];
    double *r;        /* REAL data */
    int32_t *i;       /* INT/BOOL data */
    char *s;          /* STRING (owned) */
} val_t;

static void val_free(val_t *v)
{
    free(v->r);
    free(v->i);
    free(v->s);
    memset(v, 0, sizeof *v);
}

/* ---- minimal JSON (RFC 8259) for _JSON values ---- */
static const char *js_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    return p;
}

static char *utf8_put(char *o, unsigned cp)
{
    if (cp < 0x80) *o++ = (char)cp;
    else if (cp < 0x800) *o++ = (char)(0xC0 | cp >> 6), *o++ = (char)(0x80 | (cp & 0x3F));
    else if (cp < 0x10000)
        *o++ = (char)(0xE0 | cp >> 12), *o++ = (char)(0x80 | ((cp >> 6) & 0x3F)),
        *o++ = (char)(0x80 | (cp & 0x3F));
    else
        *o++ = (char)(0xF0 | cp >> 18), *o++ = (char)(0x80 | ((cp >> 12) & 0x3F)),
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F)), *o++ = (char)(0x80 | (cp & 0x3F));
    return o;
}

static int hex4(const char *p, unsigned *cp)
{
    *cp = 0;
    for (int k = 0; k < 4; k++) {
        int c = p[k], d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                        : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return 0;
        *cp = *cp * 16 + (unsigned)d;
    }
    return 1;
}

/* JSON string at p (on the opening quote); decoded into out (may be NULL to just skip).
 * Returns the position after the closing quote, or NULL if malformed. */
static const char *js_string(const char *p, char *out)
{
    if (*p++ != '"') return NULL;
    char *o = out;
    while (*p != '"') {
        unsigned char c = (unsigned char)*p;
        if (!c || c < 0x20) return NULL;
        if (c == '\\') {
            p++;
            char e = *p++;
            unsigned cp;
            switch (e) {
            case '"': case '\\': case '/': cp = (unsigned char)e; break;
            case 'b': cp = '\b'; break;
            case 'f': cp = '\f'; break;
            case 'n': cp = '\n'; break;
            case 'r': cp = '\r'; break;
            case 't': cp = '\t'; break;
            case 'u':
                if (!hex4(p, &cp)) return NULL;
                p += 4;
                if (cp >= 0xD800 && cp < 0xDC00 && p[0] == '\\' && p[1] == 'u') {
                    unsigned lo;
                    if (hex4(p + 2, &lo) && lo >= 0xDC00 && lo < 0xE000) {
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                        p += 6;
                    }
                }
                if (cp == 0) return NULL;     /* a NUL cannot live in a C string */
                break;
            default: return NULL;
            }
            if (o) o = utf8_put(o, cp);
        } else {
            if (o) *o++ = (char)c;
            p++;
        }
    }
    if (o) *o = 0;
    return p + 1;
}

/* JSON number token at p: returns the end, sets *v and *is_int. NULL if not a JSON number. */
static const char *js_number(const char *p, double *v, int *is_int)
{
    const char *s = p;
    char tmp[64];
    if (*p == '-') p++;
    if (!(*p >= '0' && *p <= '9')) return NULL;
    while (*p >= '0' && *p <= '9') p++;
    *is_int = 1;
    if (*p == '.') {
        *is_int = 0;
        p++;
        if (!(*p >= '0' && *p <= '9')) return NULL;
        while (*p >= '0' && *p <= '9') p++;
    }
    if (*p == 'e' || *p == 'E') {
        *is_int = 0;
        p++;
        if (*p == '+' || *p == '-') p++;
        if (!(*p >= '0' && *p <= '9')) return NULL;
        while (*p >= '0' && *p <= '9') p++;
    }
    size_t n = (size_t)(p - s);
    if (n >= sizeof tmp) return NULL;
    memcpy(tmp, s, n);
    tmp[n] = 0;
    if (st_txt_real(tmp, 0, v) != TXT_OK) return NULL;
    return p;
}

/* Interpret the text after "_JSON ".  Numeric arrays (depth 1 or rectangular depth 2), boolean
 * arrays, strings, numbers and booleans become typed values; anything else returns 0 and the
 * caller keeps the whole value as a string. */
static int js_value(const char *p, val_t *v)
{
    p = js_ws(p);
    if (*p == '"') {
        char *s = malloc(strlen(p) + 1);
        if (!s) return 0;
        const char *e = js_string(p, s);
        if (!e || *js_ws(e)) {
            free(s);
            return 0;
        }
        v->kind = ST_KIND_STRING;
        v->s = s;
        return 1;
    }
    if (!strncmp(p, "true", 4) || !strncmp(p, "false", 5)) {
        int b = *p == 't';
        if (*js_ws(p + (b ? 4 : 5))) return 0;
        v->kind = ST_KIND_BOOL;
        v->i = malloc(sizeof *v->i);
        if (!v->i) return 0;
        v->i[0] = b;
        return 1;
    }
    if (*p != '[') {
        double x;
        int isint;
        const char *e = js_number(p, &x, &isint);
        if (!e || *js_ws(e)) return 0;
        v->kind = ST_KIND_REAL;
        v->r = malloc(sizeof *v->r);
        if (!v->r) return 0;
        v->r[0] = x;
        return 1;
    }
    /* An array: count items first (bounded by the text length), then fill. */
    size_t cap = strlen(p) / 2 + 1;
    double *r = malloc(cap * sizeof *r);
    int32_t *b = malloc(cap * sizeof *b);
    if (!r || !b) goto fail;
    int64_t rows = 0, cols = -1, n = 0;
    int depth2 = -1, nbool = 0, nnum = 0;
    p = js_ws(p + 1);
    if (*p == ']') {
        p = js_ws(p + 1);
        if (*p) goto fail;
        free(b);
        v->kind = ST_KIND_REAL;
        v->ndim = 1;
        v->dim[0] = 0;
        v->r = r;
        return 1;
    }
    for (;;) {
        if (*p == '[') {
            if (depth2 == 0) goto fail;
            depth2 = 1;
            int64_t c = 0;
            p = js_ws(p + 1);
            if (*p != ']')
                for (;;) {
                    int isint;
                    const char *e = js_number(p, &r[n], &isint);
                    if (!e) goto fail;
                    n++, c++, nnum++;
                    p = js_ws(e);
                    if (*p == ',') {
                        p = js_ws(p + 1);
                        continue;
                    }
                    if (*p != ']') goto fail;
                    break;
                }
            p = js_ws(p + 1);
            if (cols >= 0 && c != cols) goto fail;   /* ragged: not a matrix */
            cols = c;
            rows++;
        } else {
            if (depth2 == 1) goto fail;
            depth2 = 0;
            if (!strncmp(p, "true", 4) || !strncmp(p, "false", 5)) {
                b[n] = *p == 't';
                r[n] = b[n];
                p = js_ws(p + (b[n] ? 4 : 5));
                n++, nbool++;
            } else {
                int isint;
                const char *e = js_number(p, &r[n], &isint);
                if (!e) goto fail;
                p = js_ws(e);
                n++, nnum++;
            }
        }
        if (*p == ',') {
            p = js_ws(p + 1);
            continue;
        }
        if (*p != ']') goto fail;
        p = js_ws(p + 1);
        if (*p) goto fail;
        break;
    }
    if (nbool && nnum) goto fail;                   /* mixed: keep the text */
    if (nbool) {
        free(r);
        v->kind = ST_KIND_BOOL;
        v->ndim = 1;
        v->dim[0] = n;
        v->i = b;
        return 1;
    }
    free(b);
    v->kind = ST_KIND_REAL;
    v->r = r;
    if (depth2 == 1) {
        v->ndim = 2;
        v->dim[0] = rows;
        v->dim[1] = cols;
    } else {
        v->ndim = 1;
        v->dim[0] = n;
    }
    return 1;
fail:
    free(r);
    free(b);
    return 0;
}

/* Classify a value string as ASE does (see the file comment).  Returns TXT_OK, TXT_RANGE if the
 * value is a list of numbers one of which overflows a double (the caller reports it), or
 * TXT_BAD on allocation failure. */
static int classify(const char *val, val_t *v)
{
    memset(v, 0, sizeof *v);
    if (!strncmp(val, "_JSON ", 6) && js_value(val + 6, v)) return TXT_OK;
    size_t len = strlen(val), cap = len / 2 + 1;
    char *tmp = malloc(len + 1);
    char **items = malloc(cap * sizeof *items);
    double *dv = malloc(cap * sizeof *dv);
    int64_t *iv = malloc(cap * sizeof *iv);
    int32_t *bv = malloc(cap * sizeof *bv);
    int rc = TXT_OK;
    if (!tmp || !items || !dv || !iv || !bv) goto nomem;
    memcpy(tmp, val, len + 1);
    int n = 0;   /* items are separated by blanks and commas */
    for (char *p = tmp; *p;) {
        while (*p && (isspace((unsigned char)*p) || *p == ',')) *p++ = 0;
        if (!*p) break;
        items[n++] = p;
        while (*p && !isspace((unsigned char)*p) && *p != ',') p++;
    }
    int all_int = n > 0, fits32 = 1, all_real = n > 0, all_bool = n > 0, overflow = 0;
    for (int k = 0; k < n; k++) {
        int b = 0;
        if (st_txt_int(items[k], &iv[k]) != TXT_OK) all_int = 0;
        else if (iv[k] < INT32_MIN || iv[k] > INT32_MAX) fits32 = 0;
        int rr = st_txt_real(items[k], 1, &dv[k]);
        if (rr == TXT_RANGE) overflow = 1;
        else if (rr != TXT_OK) all_real = 0;
        if (!st_txt_bool(items[k], &b)) all_bool = 0;
        bv[k] = b;
    }
    v->ndim = n > 1;
    v->dim[0] = n > 1 ? n : 1;
    if (all_real && overflow) {
        rc = TXT_RANGE;
    } else if (all_int && fits32) {
        v->kind = ST_KIND_INT;
        v->i = bv;
        for (int k = 0; k < n; k++) bv[k] = (int32_t)iv[k];
        bv = NULL;
    } else if (all_real) {   /* includes integers beyond 32 bits, kept as doubles */
        v->kind = ST_KIND_REAL;
        v->r = dv;
        dv = NULL;
    } else if (all_bool) {
        v->kind = ST_KIND_BOOL;
        v->i = bv;
        bv = NULL;
    } else {
        v->kind = ST_KIND_STRING;
        v->ndim = 0;
        v->dim[0] = 1;
        if (!(v->s = malloc(len + 1))) goto nomem;
        memcpy(v->s, val, len + 1);
    }
    goto done;
nomem:
    rc = TXT_BAD;
    val_free(v);
done:
    free(tmp);
    free(items);
    free(dv);
    free(iv);
    free(bv);
    return rc;
}

static int64_t val_count(const val_t *v)
{
    return v->ndim == 0 ? 1 : v->ndim == 1 ? v->dim[0] : v->dim[0] * v->dim[1];
}

/* ================================================================ reader */
enum { ROLE_SPECIES, ROLE_POS, ROLE_Z, ROLE_ARRAY };

typedef struct {
    const char *name;    /* file name (for messages) */
    const char *aname;   /* array name in the frame */
    char type;           /* S R I L */
    int ncols, first, role, arr;
    int check_only;      /* species beside a Z column: validated, numbers come from Z */
    void *data;          /* refreshed after every resize */
} col_t;

typedef struct {
    int64_t size;        /* total input bytes, -1 unknown */
} xyz_state;

static int xyz_open(st_ctx *ctx, st_source *src, void **state)
{
    xyz_state *s = calloc(1, sizeof *s);
    if (!s) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", src->name);
    s->size = st_txt_size(src);
    *state = s;
    return ST_OK;
}

static void xyz_close(void *state) { free(state); }

static int is_blank(const char *s)
{
    while (isspace((unsigned char)*s)) s++;
    return !*s;
}

/* Column label for messages: "pos y", "forces z", "charges", "tags[2]". */
static void col_label(const col_t *c, int k, char *buf, size_t n)
{
    static const char xyz[] = "xyz";
    if (c->ncols == 1) snprintf(buf, n, "%s", c->name);
    else if (c->ncols == 3) snprintf(buf, n, "%s %c", c->name, xyz[k]);
    else snprintf(buf, n, "%s[%d]", c->name, k + 1);
}

static int parse_properties(st_ctx *ctx, st_source *src, char *spec, col_t **cols_out, int *ncol_out,
                            int *ntok_out)
{
    int nf = 1;
    for (char *p = spec; *p; p++) nf += *p == ':';
    if (nf % 3)
        return st_fail(ctx, ST_ERR_PARSE,
                       "%s: line %lld: Properties: expected name:type:ncols triples, got %d "
                       "':'-separated fields", src->name, (long long)src->lineno, nf);
    int nc = nf / 3;
    col_t *cols = calloc((size_t)nc, sizeof *cols);
    if (!cols) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", src->name);
    char *p = spec;
    int ntok = 0;
    char show[48];
    for (int c = 0; c < nc; c++) {
        char *f[3];
        for (int k = 0; k < 3; k++) {
            f[k] = p;
            while (*p && *p != ':') p++;
            if (*p) *p++ = 0;
        }
        col_t *col = &cols[c];
        col->name = f[0];
        if (!*f[0]) {
            free(cols);
            return st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: Properties: column %d has an empty name",
                           src->name, (long long)src->lineno, c + 1);
        }
        if (strlen(f[1]) != 1 || !strchr("SRIL", f[1][0])) {
            free(cols);
            return st_fail(ctx, ST_ERR_PARSE,
                           "%s: line %lld: Properties: type of '%s': expected S, R, I or L, got '%s'",
                           src->name, (long long)src->lineno, f[0], st_txt_show(f[1], show));
        }
        col->type = f[1][0];
        int64_t nco;
        if (st_txt_int(f[2], &nco) != TXT_OK || nco < 1 || nco > 65536) {
            free(cols);
            return st_fail(ctx, ST_ERR_PARSE,
                           "%s: line %lld: Properties: column count of '%s': expected an integer "
                           "1..65536, got '%s'", src->name, (long long)src->lineno, f[0],
                           st_txt_show(f[2], show));
        }
        col->ncols = (int)nco;
        col->first = ntok;
        ntok += col->ncols;
        const char *nm = f[0];
        col->role = ROLE_ARRAY;
        col->aname = nm;
        if (!strcmp(nm, "species") || !strcmp(nm, "symbols")) col->role = ROLE_SPECIES;
        else if (!strcmp(nm, "pos") || !strcmp(nm, "positions")) col->role = ROLE_POS;
        else if (!strcmp(nm, "Z") || !strcmp(nm, "numbers")) col->role = ROLE_Z;
        else if (!strcmp(nm, "charge")) col->aname = "charges";
        const char *need = col->role == ROLE_SPECIES ? "S:1" : col->role == ROLE_POS ? "R:3"
                         : col->role == ROLE_Z ? "I:1" : NULL;
        if (need && (col->type != need[0] || col->ncols != need[2] - '0')) {
            free(cols);
            return st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: Properties: '%s' must be %s:%s",
                           src->name, (long long)src->lineno, nm, nm, need);
        }
        for (int d = 0; d < c; d++)
            if ((col->role != ROLE_ARRAY && cols[d].role == col->role) ||
                (col->role == ROLE_ARRAY && cols[d].role == ROLE_ARRAY &&
                 !strcmp(cols[d].aname, col->aname))) {
                free(cols);
                return st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: Properties: column '%s' given twice",
                               src->name, (long long)src->lineno, nm);
            }
    }
    *cols_out = cols;
    *ncol_out = nc;
    *ntok_out = ntok;
    return ST_OK;
}

/* Apply one comment-line key=value to the frame (special keys handled by the caller). */
static int put_info(st_ctx *ctx, st_source *src, st_atoms *a, const char *key, const char *val)
{
    val_t v;
    char show[48];
    int rc = classify(val ? val : "T", &v);
    if (rc == TXT_RANGE)
        return st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: %s: number out of range in '%s'", src->name,
                       (long long)src->lineno, key, st_txt_show(val, show));
    if (rc) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", src->name);
    int is33 = !strcmp(key, "stress") || !strcmp(key, "virial");
    int isE = !strcmp(key, "energy") || !strcmp(key, "free_energy");
    if (is33 || isE) {
        int64_t cnt = val_count(&v);
        double x[9];
        int numeric = v.kind == ST_KIND_REAL || v.kind == ST_KIND_INT;
        if (!numeric || (isE && (cnt != 1 || v.ndim)) || (is33 && cnt != 9 && cnt != 6)) {
            val_free(&v);
            return st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: %s: expected %s, got '%s'", src->name,
                           (long long)src->lineno, key,
                           isE ? "a number" : "9 numbers (3x3) or 6 (Voigt xx yy zz yz xz xy)",
                           st_txt_show(val ? val : "T", show));
        }
        for (int64_t k = 0; k < cnt; k++) x[k] = v.kind == ST_KIND_REAL ? v.r[k] : v.i[k];
        val_free(&v);
        if (isE) return st_atoms_info_set_real(ctx, a, key, 0, NULL, x);
        double m[9];
        if (cnt == 9) {
            /* ASE writes these 3x3 matrices flattened in Fortran (column) order */
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++) m[3 * i + j] = x[3 * j + i];
        } else {
            /* Voigt order xx yy zz yz xz xy -> symmetric matrix */
            m[0] = x[0], m[4] = x[1], m[8] = x[2];
            m[5] = m[7] = x[3];
            m[2] = m[6] = x[4];
            m[1] = m[3] = x[5];
        }
        int64_t shape[2] = {3, 3};
        return st_atoms_info_set_real(ctx, a, key, 2, shape, m);
    }
    switch (v.kind) {
    case ST_KIND_STRING: rc = st_atoms_info_set_string(ctx, a, key, v.s); break;
    case ST_KIND_REAL: rc = st_atoms_info_set_real(ctx, a, key, v.ndim, v.dim, v.r); break;
    default: rc = st_atoms_info_set_int(ctx, a, key, v.kind, v.ndim, v.dim, v.i); break;
    }
    val_free(&v);
    return rc;
}

/* Comment line: info, cell, pbc and the column layout.  On success *cols is malloc'd (NULL
 * for the default species:S:1:pos:R:3 layout of a plain XYZ file) and l keeps the strings the
 * columns point into. */
static int parse_comment(st_ctx *ctx, st_source *src, st_atoms *a, kvlist *l, col_t **cols,
                         int *ncol, int *ntok)
{
    const char *err;
    int has_eq;
    char show[48];
    *cols = NULL;
    if (kv_parse(src->line, l, &has_eq, &err)) {
        if (!strcmp(err, "out of memory")) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", src->name);
        if (strstr(src->line, "Properties"))
            return st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: comment line: %s", src->name,
                           (long long)src->lineno, err);
        has_eq = 0;   /* not key=value syntax: a plain comment */
    }
    if (!has_eq) {
        kv_free(l);
        const char *s = src->line;
        while (isspace((unsigned char)*s)) s++;
        size_t n = strlen(s);
        while (n && isspace((unsigned char)s[n - 1])) n--;
        if (!n) return ST_OK;
        char *c = malloc(n + 1);
        if (!c) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", src->name);
        memcpy(c, s, n);
        c[n] = 0;
        int rc = st_atoms_info_set_string(ctx, a, "comment", c);
        free(c);
        return rc;
    }
    int have_lattice = 0, have_pbc = 0, rc;
    char *props = NULL;
    for (int k = 0; k < l->n; k++) {
        const char *key = l->kv[k].key, *val = l->kv[k].val;
        if (!strcmp(key, "Properties")) {
            if (!val) return st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: Properties has no value",
                                     src->name, (long long)src->lineno);
            props = l->kv[k].val;
        } else if (!strcmp(key, "Lattice")) {
            char *tmp = st_strdup(val ? val : ""), *t[10];
            if (!tmp) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", src->name);
            for (char *p = tmp; *p; p++) if (*p == ',') *p = ' ';
            int nt = st_txt_split(tmp, t, 10);
            if (nt != 9) {
                free(tmp);
                return st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: Lattice: expected 9 numbers, got %d",
                               src->name, (long long)src->lineno, nt);
            }
            double *cell = st_atoms_cell(a);
            for (int q = 0; q < 9; q++) {
                int r = st_txt_real(t[q], 0, &cell[q]);
                if (r) {
                    rc = st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: Lattice: value %d: %s, got '%s'",
                                 src->name, (long long)src->lineno, q + 1,
                                 r == TXT_RANGE ? "number out of range" : "expected a finite number",
                                 st_txt_show(t[q], show));
                    free(tmp);
                    return rc;
                }
            }
            free(tmp);
            have_lattice = 1;
        } else if (!strcmp(key, "pbc")) {
            char *tmp = st_strdup(val ? val : "T"), *t[4];
            if (!tmp) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", src->name);
            for (char *p = tmp; *p; p++) if (*p == ',') *p = ' ';
            int nt = st_txt_split(tmp, t, 4), b[3];
            int ok = nt == 3 || nt == 1;
            for (int q = 0; ok && q < nt; q++)
                ok = st_txt_bool(t[q], &b[q]) || ((!strcmp(t[q], "1") || !strcmp(t[q], "0")) &&
                                                  (b[q] = t[q][0] == '1', 1));
            free(tmp);
            if (!ok)
                return st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: pbc: expected 3 of T/F, got '%s'",
                               src->name, (long long)src->lineno, st_txt_show(val ? val : "", show));
            int32_t *pbc = st_atoms_pbc(a);
            for (int q = 0; q < 3; q++) pbc[q] = b[nt == 1 ? 0 : q];
            have_pbc = 1;
        } else if ((rc = put_info(ctx, src, a, key, val))) {
            return rc;
        }
    }
    if (have_lattice && !have_pbc) {
        int32_t *pbc = st_atoms_pbc(a);
        pbc[0] = pbc[1] = pbc[2] = 1;
    }
    if (props) return parse_properties(ctx, src, props, cols, ncol, ntok);
    return ST_OK;
}

static const col_t default_cols[2] = {
    {"species", "species", 'S', 1, 0, ROLE_SPECIES, -1, 0, NULL},
    {"pos", "pos", 'R', 3, 1, ROLE_POS, -1, 0, NULL}};

/* Point each array column at the frame's current storage (moves on resize). */
static void refresh_cols(st_atoms *a, col_t *cols, int nc)
{
    for (int c = 0; c < nc; c++)
        cols[c].data = cols[c].role == ROLE_POS ? (void *)st_atoms_positions(a)
                     : cols[c].role == ROLE_ARRAY && cols[c].type != 'S' ? st_atoms_array_data(a, cols[c].arr)
                     : NULL;
}

static int parse_atom_line(st_ctx *ctx, st_source *src, st_atoms *a, col_t *cols, int nc, int ntok,
                           int strict, int64_t row, char **tok, char *last_sym, int *last_z)
{
    char show[48], lab[160];
    int nt = st_txt_split(src->line, tok, ntok + 1);
    if (nt < ntok || (strict && nt > ntok)) {
        if (nt < ntok) {
            int c = 0;
            while (c + 1 < nc && cols[c + 1].first <= nt) c++;
            col_label(&cols[c], nt - cols[c].first, lab, sizeof lab);
            return st_fail(ctx, ST_ERR_PARSE,
                           "%s: line %lld: column %d (%s): missing; the line has %d columns, "
                           "Properties declares %d", src->name, (long long)src->lineno, nt + 1, lab,
                           nt, ntok);
        }
        return st_fail(ctx, ST_ERR_PARSE,
                       "%s: line %lld: %d columns, Properties declares %d", src->name,
                       (long long)src->lineno, nt, ntok);
    }
    for (int c = 0; c < nc; c++) {
        col_t *col = &cols[c];
        for (int k = 0; k < col->ncols; k++) {
            const char *t = tok[col->first + k];
            int bad = 0;
            const char *what = NULL;
            switch (col->type) {
            case 'R': {
                double v;
                int r = st_txt_real(t, col->role != ROLE_POS, &v);
                if (r == TXT_OK && col->role == ROLE_POS && !isfinite(v)) r = TXT_BAD;
                if (r) {
                    bad = 1;
                    what = r == TXT_RANGE ? "number out of range" : col->role == ROLE_POS
                         ? "expected a finite number" : "expected a number";
                } else {
                    ((double *)col->data)[row * col->ncols + k] = v;
                }
                break;
            }
            case 'I': {
                int64_t v;
                int r = st_txt_int(t, &v);
                if (r || v < INT32_MIN || v > INT32_MAX) {
                    bad = 1;
                    what = r == TXT_BAD ? "expected an integer" : "integer out of 32-bit range";
                } else if (col->role == ROLE_Z) {
                    if (v < 0 || v > 118) bad = 1, what = "expected an atomic number 0..118";
                    else st_atoms_numbers(a)[row] = (int32_t)v;
                } else {
                    ((int32_t *)col->data)[row * col->ncols + k] = (int32_t)v;
                }
                break;
            }
            case 'L': {
                int b;
                if (!st_txt_bool(t, &b)) bad = 1, what = "expected T, F, True or False";
                else ((int32_t *)col->data)[row * col->ncols + k] = b;
                break;
            }
            default:
                if (col->role == ROLE_SPECIES) {
                    if (strcmp(t, last_sym)) {
                        int z = st_txt_element(t);
                        if (z < 0) {
                            col_label(col, k, lab, sizeof lab);
                            return st_fail(ctx, ST_ERR_PARSE,
                                           "%s: line %lld: column %d (%s): unknown element symbol '%s'",
                                           src->name, (long long)src->lineno, col->first + k + 1, lab,
                                           st_txt_show(t, show));
                        }
                        *last_z = z;
                        snprintf(last_sym, 8, "%s", strlen(t) < 8 ? t : "");
                    }
                    /* with a Z column too, Z gives the numbers (ASE) and species is only checked */
                    if (!col->check_only) st_atoms_numbers(a)[row] = *last_z;
                } else {
                    int rc = st_atoms_array_set_string(ctx, a, col->arr, row, k, t);
                    if (rc) return rc;
                }
            }
            if (bad) {
                col_label(col, k, lab, sizeof lab);
                return st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: column %d (%s): %s, got '%s'",
                               src->name, (long long)src->lineno, col->first + k + 1, lab, what,
                               st_txt_show(t, show));
            }
        }
    }
    return ST_OK;
}

static int xyz_next(st_ctx *ctx, void *state, st_source *src, st_atoms **out)
{
    xyz_state *s = state;
    char show[48];
    int rc;
    *out = NULL;
    /* blank lines between frames and at the end are skipped */
    do {
        rc = st_src_getline(ctx, src);
        if (rc < 0) return -rc;
        if (rc == 0) return ST_OK;
    } while (is_blank(src->line));
    int64_t count_line = src->lineno, n;
    {
        char *t[2];
        int nt = st_txt_split(src->line, t, 2);
        int r = nt == 1 ? st_txt_int(t[0], &n) : TXT_BAD;
        if (r == TXT_OK && n < 0) r = TXT_BAD;
        if (r)
            return st_fail(ctx, ST_ERR_PARSE,
                           "%s: line %lld: atom count: expected a non-negative integer, got '%s'",
                           src->name, (long long)count_line, nt ? st_txt_show(t[0], show) : "");
        if (n > 1000000000)
            return st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: atom count %lld is absurd (limit 10^9)",
                           src->name, (long long)count_line, (long long)n);
    }
    rc = st_src_getline(ctx, src);
    if (rc < 0) return -rc;
    if (rc == 0)
        return st_fail(ctx, ST_ERR_PARSE,
                       "%s: line %lld: file ends after the atom count; expected a comment line",
                       src->name, (long long)count_line + 1);
    st_atoms *a = st_atoms_create(0);
    if (!a) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", src->name);
    kvlist l = {0};
    col_t *cols = NULL;
    int nc = 0, ntok = 0;
    char **tok = NULL;
    rc = parse_comment(ctx, src, a, &l, &cols, &nc, &ntok);
    if (rc) goto fail;
    int strict = cols != NULL;
    if (!cols) {
        cols = malloc(sizeof default_cols);
        if (!cols) goto nomem;
        memcpy(cols, default_cols, sizeof default_cols);
        nc = 2;
        ntok = 4;
    }
    int has_species = 0, has_pos = 0, has_z = 0;
    for (int c = 0; c < nc; c++) {
        has_species |= cols[c].role == ROLE_SPECIES;
        has_pos |= cols[c].role == ROLE_POS;
        has_z |= cols[c].role == ROLE_Z;
    }
    if (!has_pos || (!has_species && !has_z)) {
        rc = st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: Properties: no '%s' column", src->name,
                     (long long)src->lineno, has_pos ? "species" : "pos");
        goto fail;
    }
    if (has_z && has_species)
        for (int c = 0; c < nc; c++) cols[c].check_only = cols[c].role == ROLE_SPECIES;
    /* Refuse counts the rest of the input cannot hold: each atom line needs at least one
     * character and one separator per column. */
    if (s->size >= 0 && n > (s->size - src->offset) / (2 * (int64_t)ntok) + 1) {
        rc = st_fail(ctx, ST_ERR_PARSE,
                     "%s: line %lld: atom count %lld cannot fit in the %lld bytes left in the file "
                     "(truncated file or wrong count)", src->name, (long long)count_line,
                     (long long)n, (long long)(s->size - src->offset));
        goto fail;
    }
    for (int c = 0; c < nc; c++) {
        if (cols[c].role != ROLE_ARRAY) continue;
        int kind = cols[c].type == 'R' ? ST_KIND_REAL : cols[c].type == 'I' ? ST_KIND_INT
                 : cols[c].type == 'L' ? ST_KIND_BOOL : ST_KIND_STRING;
        cols[c].arr = st_atoms_array_add(ctx, a, cols[c].aname, kind, cols[c].ncols);
        if (cols[c].arr < 0) {
            rc = st_ctx_status(ctx);
            goto fail;
        }
    }
    tok = malloc((size_t)(ntok + 1) * sizeof *tok);
    if (!tok) goto nomem;
    /* Grow the frame geometrically while reading, so a wrong count in a stream of unknown size
     * costs memory in proportion to the lines actually present, not to the claimed count. */
    int64_t cap = n < 1024 ? n : 1024;
    if ((rc = st_atoms_resize(ctx, a, cap))) goto fail;
    refresh_cols(a, cols, nc);
    char last_sym[8] = "";
    int last_z = 0;
    for (int64_t row = 0; row < n; row++) {
        if (row == cap) {
            cap = cap * 2 < n ? cap * 2 : n;
            if ((rc = st_atoms_resize(ctx, a, cap))) goto fail;
            refresh_cols(a, cols, nc);
        }
        if ((row & 0xFFFF) == 0xFFFF && (rc = st_check_interrupt(ctx, src->name))) goto fail;
        rc = st_src_getline(ctx, src);
        if (rc < 0) {
            rc = -rc;
            goto fail;
        }
        if (rc == 0) {
            rc = st_fail(ctx, ST_ERR_PARSE,
                         "%s: line %lld: file ends after %lld of the %lld atom lines announced on "
                         "line %lld", src->name, (long long)src->lineno + 1, (long long)row,
                         (long long)n, (long long)count_line);
            goto fail;
        }
        rc = parse_atom_line(ctx, src, a, cols, nc, ntok, strict, row, tok, last_sym, &last_z);
        if (rc) goto fail;
    }
    free(tok);
    free(cols);
    kv_free(&l);
    *out = a;
    return ST_OK;
nomem:
    rc = st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", src->name);
fail:
    free(tok);
    free(cols);
    kv_free(&l);
    st_atoms_destroy(a);
    return rc;
}

static int xyz_probe(const char *head, size_t n)
{
    /* line 1 a lone integer, line 3 (if present) a word followed by numbers */
    char buf[512];
    size_t i = 0, len;
    for (len = 0; len < n && head[len] != '\n' && len < sizeof buf - 1; len++) buf[len] = head[len];
    buf[len] = 0;
    char *t[2];
    int64_t v;
    if (st_txt_split(buf, t, 2) != 1 || st_txt_int(t[0], &v) || v < 0) return 0;
    i = len + 1;
    while (i < n && head[i] != '\n') i++;          /* skip the comment line */
    if (i >= n) return 40;
    i++;
    for (len = 0; i + len < n && head[i + len] != '\n' && len < sizeof buf - 1; len++)
        buf[len] = head[i + len];
    buf[len] = 0;
    char *u[5];
    double x;
    if (st_txt_split(buf, u, 5) >= 4 && st_txt_real(u[1], 0, &x) == TXT_OK &&
        st_txt_real(u[2], 0, &x) == TXT_OK && st_txt_real(u[3], 0, &x) == TXT_OK)
        return 90;
    return 30;
}

/* ================================================================ writer */
/* Characters that end or change a bare word when read back. */
static int needs_quotes(const char *s)
{
    if (!*s) return 1;
    for (; *s; s++)
        if (isspace((unsigned char)*s) || strchr("\"'{}[]\\=", *s)) return 1;
    return 0;
}

static void put_quoted(FILE *fp, const char *s)
{
    fputc('"', fp);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', fp), fputc(*s, fp);
        else if (*s == '\n') fputs("\\n", fp);
        else fputc(*s, fp);
    }
    fputc('"', fp);
}

static void put_word(FILE *fp, const char *s)
{
    if (needs_quotes(s)) put_quoted(fp, s);
    else fputs(s, fp);
}

/* A REAL in info must read back as REAL, so "5" is written "5.0". */
static void real_info_str(double v, char *buf)
{
    st_txt_real_str(v, buf);
    if (strspn(buf, "+-0123456789") == strlen(buf)) strcat(buf, ".0");
}

/* A string value, written so that it reads back as the same string: bare or quoted when the
 * classifier would give it back unchanged, else as a _JSON string (which ASE reads too). */
static int put_info_string(FILE *fp, const char *s)
{
    val_t v;
    int rc = classify(s, &v);
    if (rc == TXT_BAD) return ST_ERR_NOMEM;
    int same = rc == TXT_OK && v.kind == ST_KIND_STRING && !strcmp(v.s, s);
    val_free(&v);
    if (same) {
        put_word(fp, s);
        return ST_OK;
    }
    size_t n = strlen(s);
    char *j = malloc(6 * n + 16), *o = j;
    if (!j) return ST_ERR_NOMEM;
    o += sprintf(o, "_JSON \"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') *o++ = '\\', *o++ = (char)*p;
        else if (*p == '\n') *o++ = '\\', *o++ = 'n';
        else if (*p < 0x20) o += sprintf(o, "\\u%04x", *p);
        else *o++ = (char)*p;
    }
    *o++ = '"';
    *o = 0;
    put_quoted(fp, j);
    free(j);
    return ST_OK;
}

static int write_info(FILE *fp, st_atoms *a, int idx)
{
    const char *key = st_atoms_info_key(a, idx);
    int kind = st_atoms_info_kind(a, idx), nd = st_atoms_info_ndim(a, idx);
    int64_t d0 = st_atoms_info_dim(a, idx, 0), d1 = st_atoms_info_dim(a, idx, 1);
    const void *data = st_atoms_info_data(a, idx);
    const double *r = data;
    const int32_t *iv = data;
    char buf[40];
    put_word(fp, key);
    fputc('=', fp);
    if (kind == ST_KIND_STRING) return put_info_string(fp, st_atoms_info_string(a, idx));
    int64_t cnt = nd == 0 ? 1 : nd == 1 ? d0 : d0 * d1;
    int is33 = (!strcmp(key, "stress") || !strcmp(key, "virial")) && nd == 2 && d0 == 3 && d1 == 3;
    if (nd == 0) {
        if (kind == ST_KIND_REAL) real_info_str(r[0], buf), fputs(buf, fp);
        else if (kind == ST_KIND_INT) fprintf(fp, "%d", (int)iv[0]);
        else fputc(iv[0] ? 'T' : 'F', fp);
        return ST_OK;
    }
    if (is33 || (nd == 1 && cnt >= 2)) {
        /* a quoted list of items; 3x3 stress/virial in Fortran order as ASE writes them */
        fputc('"', fp);
        for (int64_t k = 0; k < cnt; k++) {
            int64_t q = is33 ? 3 * (k % 3) + k / 3 : k;
            if (k) fputc(' ', fp);
            if (kind == ST_KIND_REAL) real_info_str(r[q], buf), fputs(buf, fp);
            else if (kind == ST_KIND_INT) fprintf(fp, "%d", (int)iv[q]);
            else fputc(iv[q] ? 'T' : 'F', fp);
        }
        fputc('"', fp);
        return ST_OK;
    }
    /* 0/1-element vectors and other matrices: a JSON array (the only form that keeps them) */
    fputs("\"_JSON [", fp);
    for (int64_t row = 0; row < (nd == 2 ? d0 : 1); row++) {
        if (row) fputs(", ", fp);
        if (nd == 2) fputc('[', fp);
        int64_t m = nd == 2 ? d1 : cnt;
        for (int64_t k = 0; k < m; k++) {
            int64_t q = row * m + k;
            if (k) fputs(", ", fp);
            if (kind == ST_KIND_REAL) real_info_str(r[q], buf), fputs(buf, fp);
            else if (kind == ST_KIND_INT) fprintf(fp, "%d", (int)iv[q]);
            else fputs(nd == 1 ? (iv[q] ? "true" : "false") : (iv[q] ? "1" : "0"), fp);
        }
        if (nd == 2) fputc(']', fp);
    }
    fputs("]\"", fp);
    return ST_OK;
}

static const char *builtin_cols[] = {"species", "symbols", "pos", "positions", "Z", "numbers"};

static int xyz_check(st_ctx *ctx, const char *name, int64_t index, st_atoms *a)
{
    int64_t n = st_atoms_count(a);
    const int32_t *num = st_atoms_numbers(a);
    const double *pos = st_atoms_positions(a), *cell = st_atoms_cell(a);
    for (int64_t i = 0; i < n; i++) {
        if (!st_element_symbol(num[i]))
            return st_fail(ctx, ST_ERR_ARG, "%s: frame %lld: atom %lld: atomic number %d is not 0..118",
                           name, (long long)index, (long long)i, (int)num[i]);
        for (int k = 0; k < 3; k++)
            if (!isfinite(pos[3 * i + k]))
                return st_fail(ctx, ST_ERR_NUMERIC, "%s: frame %lld: atom %lld: position is not finite",
                               name, (long long)index, (long long)i);
    }
    for (int k = 0; k < 9; k++)
        if (!isfinite(cell[k]))
            return st_fail(ctx, ST_ERR_NUMERIC, "%s: frame %lld: cell is not finite", name, (long long)index);
    for (int c = 0; c < st_atoms_array_count(a); c++) {
        const char *an = st_atoms_array_name(a, c);
        for (const char *p = an; *p; p++)
            if (*p == ':' || isspace((unsigned char)*p) || strchr("\"'{}[]\\=", *p))
                return st_fail(ctx, ST_ERR_ARG,
                               "%s: frame %lld: per-atom array '%s': extxyz column names cannot "
                               "contain ':', blanks, quotes, brackets, '\\' or '='", name,
                               (long long)index, an);
        for (size_t b = 0; b < sizeof builtin_cols / sizeof *builtin_cols; b++)
            if (!strcmp(an, builtin_cols[b]))
                return st_fail(ctx, ST_ERR_ARG,
                               "%s: frame %lld: per-atom array '%s' collides with a built-in extxyz "
                               "column", name, (long long)index, an);
        if (st_atoms_array_kind(a, c) == ST_KIND_STRING)
            for (int64_t i = 0; i < n; i++)
                for (int k = 0; k < st_atoms_array_ncols(a, c); k++) {
                    const char *s = st_atoms_array_string(a, c, i, k);
                    if (!*s || strpbrk(s, " \t\n\r\v\f"))
                        return st_fail(ctx, ST_ERR_ARG,
                                       "%s: frame %lld: per-atom array '%s' row %lld: empty or "
                                       "blank-containing strings cannot be an extxyz column",
                                       name, (long long)index, an, (long long)i);
                }
    }
    for (int k = 0; k < st_atoms_info_count(a); k++) {
        const char *key = st_atoms_info_key(a, k);
        if (!strcmp(key, "Lattice") || !strcmp(key, "Properties") || !strcmp(key, "pbc"))
            return st_fail(ctx, ST_ERR_ARG,
                           "%s: frame %lld: info key '%s' is reserved in extxyz (it is the cell, "
                           "column layout or periodicity)", name, (long long)index, key);
    }
    return ST_OK;
}

static int xyz_write(st_ctx *ctx, FILE *fp, const char *name, int64_t index, st_atoms *a)
{
    int rc = xyz_check(ctx, name, index, a);
    if (rc) return rc;
    int64_t n = st_atoms_count(a);
    const int32_t *num = st_atoms_numbers(a), *pbc = st_atoms_pbc(a);
    const double *pos = st_atoms_positions(a), *cell = st_atoms_cell(a);
    int na = st_atoms_array_count(a);
    char buf[40];
    fprintf(fp, "%lld\n", (long long)n);
    if (st_atoms_has_cell(a)) {
        fputs("Lattice=\"", fp);
        for (int k = 0; k < 9; k++) {
            real_info_str(cell[k], buf);
            fprintf(fp, k ? " %s" : "%s", buf);
        }
        fputs("\" ", fp);
    }
    fputs("Properties=species:S:1:pos:R:3", fp);
    for (int c = 0; c < na; c++) {
        int kind = st_atoms_array_kind(a, c);
        fprintf(fp, ":%s:%c:%d", st_atoms_array_name(a, c),
                kind == ST_KIND_REAL ? 'R' : kind == ST_KIND_INT ? 'I' : kind == ST_KIND_BOOL ? 'L' : 'S',
                st_atoms_array_ncols(a, c));
    }
    for (int k = 0; k < st_atoms_info_count(a); k++) {
        fputc(' ', fp);
        if ((rc = write_info(fp, a, k))) return st_fail(ctx, rc, "%s: out of memory", name);
    }
    fprintf(fp, " pbc=\"%c %c %c\"\n", pbc[0] ? 'T' : 'F', pbc[1] ? 'T' : 'F', pbc[2] ? 'T' : 'F');
    for (int64_t i = 0; i < n; i++) {
        fprintf(fp, "%-2s", st_element_symbol(num[i]));
        for (int k = 0; k < 3; k++) {
            st_txt_real_str(pos[3 * i + k], buf);
            fprintf(fp, " %16s", buf);
        }
        for (int c = 0; c < na; c++) {
            int kind = st_atoms_array_kind(a, c), m = st_atoms_array_ncols(a, c);
            const void *d = st_atoms_array_data(a, c);
            for (int k = 0; k < m; k++) {
                int64_t q = i * m + k;
                if (kind == ST_KIND_REAL) {
                    st_txt_real_str(((const double *)d)[q], buf);
                    fprintf(fp, " %16s", buf);
                } else if (kind == ST_KIND_INT) {
                    fprintf(fp, " %d", (int)((const int32_t *)d)[q]);
                } else if (kind == ST_KIND_BOOL) {
                    fputs(((const int32_t *)d)[q] ? " T" : " F", fp);
                } else {
                    fprintf(fp, " %s", st_atoms_array_string(a, c, i, k));
                }
            }
        }
        fputc('\n', fp);
        if ((i & 0xFFFF) == 0xFFFF && (rc = st_check_interrupt(ctx, name))) return rc;
    }
    return ST_OK;
}

const st_format st_format_extxyz = {
    "extxyz", ".xyz .extxyz", xyz_probe, xyz_open, xyz_next, xyz_close, xyz_write, NULL};
