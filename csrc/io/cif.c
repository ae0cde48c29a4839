/* cif.c -- CIF reader: every data block that holds a structure is one frame, expanded to P1
 * (the P1 writer is cif_write.c).
 *
 * Syntax follows CIF 1.1 (Hall, Allen & Brown, Acta Cryst. A47, 655 (1991) and the IUCr
 * "CIF version 1.1 working specification", its syntax section): tags start with
 * '_' and are case-insensitive; values are bare words, '...' or "..." strings (a quote closes
 * only when followed by whitespace or the end of the line, so 'O'Neil' is one string), or
 * semicolon text fields that open and close with ';' in column 1; '#' starts a comment; loop_
 * is followed by tags and then values filling the columns row by row; unquoted '?' (unknown) and
 * '.' (inapplicable) are missing values.  DDLm names with a dot (_space_group_symop.operation_xyz)
 * are accepted as the underscore forms.  Numbers may carry a standard uncertainty, "10.123(4)":
 * the uncertainty is dropped.
 *
 * What a frame holds (the contract the crystal module relies on): the expanded P1 cell (see
 * cif_expand.c), Cartesian positions in the cell of st_cell_from_parameters, pbc T T T, per-atom
 * INT "asym_site" and "multiplicity", STRING "label", REAL "occupancy" when the CIF gives
 * occupancies, and info "data_block", "spacegroup" (H-M), "spacegroup_number", "disordered".
 * Blocks with neither cell parameters nor fractional coordinates (e.g. a publication block) are
 * skipped.
 *
 * Symmetry: the listed operations (_space_group_symop_operation_xyz, else
 * _symmetry_equiv_pos_as_xyz); when none are listed, those of the Hall symbol, else of the H-M
 * symbol, else of the IT number (cif_spacegroup.c); with no space group at all, P1.  An H-M
 * symbol that is not recognised, with no operations listed, is an error rather than a silent P1
 * (which would be a wrong crystal).
 *
 * Two sites on one position: kept when their occupancies sum to at most 1 (a mixed site),
 * otherwise an error naming both sites (cif_expand.c).
 *
 * Not supported: CIF 2.0 lists/tables and triple-quoted strings, Cartesian-only sites
 * (_atom_site_Cartn_x), mmCIF/PDBx, nested loops (stop_), anisotropic displacement data.
 */
#include "cif_expand.h"
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---------------------------------------------------------------- lexer */
enum { TK_EOF, TK_TAG, TK_VALUE, TK_LOOP, TK_DATA, TK_SAVE, TK_GLOBAL, TK_STOP };

typedef struct cif_lex {
    st_ctx *ctx;
    st_source *src;
    const char *p;          /* next character of src->line; NULL = read a new line */
    char *tok;              /* current token, NUL-terminated (data_/save_ names without prefix) */
    size_t len, cap;
    int type, quoted;       /* quoted: came from quotes or a text field (so '?' is literal) */
    int64_t line;
} cif_lex;

static int tok_set(cif_lex *lx, const char *s, size_t n, int append)
{
    size_t need = (append ? lx->len : 0) + n + 1;
    if (need > lx->cap) {
        size_t cap = lx->cap ? lx->cap : 64;
        while (cap < need) cap *= 2;
        char *t = realloc(lx->tok, cap);
        if (!t) return st_fail(lx->ctx, ST_ERR_NOMEM, "%s: out of memory", lx->src->name);
        lx->tok = t;
        lx->cap = cap;
    }
    if (!append) lx->len = 0;
    memcpy(lx->tok + lx->len, s, n);
    lx->len += n;
    lx->tok[lx->len] = 0;
    return ST_OK;
}

/* A line starting with ';' opens a text field that runs to the next line starting with ';'. */
static int lex_textfield(cif_lex *lx)
{
    st_source *src = lx->src;
    int64_t start = src->lineno;
    int rc = tok_set(lx, src->line + 1, src->linelen - 1, 0);
    for (;;) {
        if (rc) return rc;
        int got = st_src_getline(lx->ctx, src);
        if (got < 0) return -got;
        if (got == 0)
            return st_fail(lx->ctx, ST_ERR_PARSE,
                           "%s: line %lld: semicolon text field is not closed (no line starting "
                           "with ';' before the end of the file)", src->name, (long long)start);
        if (src->line[0] == ';') break;
        rc = tok_set(lx, "\n", 1, 1);
        if (!rc) rc = tok_set(lx, src->line, src->linelen, 1);
    }
    lx->p = src->line + 1;
    lx->type = TK_VALUE;
    lx->quoted = 1;
    lx->line = start;
    return ST_OK;
}

static int lex_next(cif_lex *lx)
{
    for (;;) {
        if (!lx->p) {
            int got = st_src_getline(lx->ctx, lx->src);
            if (got < 0) return -got;
            if (got == 0) {
                lx->type = TK_EOF;
                lx->line = lx->src->lineno;
                return tok_set(lx, "", 0, 0);
            }
            lx->p = lx->src->line;
            if (lx->p[0] == ';') return lex_textfield(lx);
        }
        const char *p = lx->p;
        while (*p && isspace((unsigned char)*p)) p++;
        if (!*p || *p == '#') {
            lx->p = NULL;
            continue;
        }
        lx->line = lx->src->lineno;
        lx->quoted = 0;
        if (*p == '\'' || *p == '"') {
            char q = *p;
            const char *e = p + 1;
            while (*e && !(*e == q && (!e[1] || isspace((unsigned char)e[1])))) e++;
            if (!*e)
                return st_fail(lx->ctx, ST_ERR_PARSE,
                               "%s: line %lld: quoted string %c%.30s is not closed on its line",
                               lx->src->name, (long long)lx->line, q, p + 1);
            lx->type = TK_VALUE;
            lx->quoted = 1;
            lx->p = e + 1;
            return tok_set(lx, p + 1, (size_t)(e - p - 1), 0);
        }
        const char *e = p;
        while (*e && !isspace((unsigned char)*e)) e++;
        lx->p = e;
        size_t n = (size_t)(e - p);
        int rc;
        if (*p == '_') {
            lx->type = TK_TAG;
            if ((rc = tok_set(lx, p, n, 0))) return rc;
            /* Tags are case-insensitive; DDLm "category.item" equals "category_item". */
            for (size_t i = 0; i < lx->len; i++)
                lx->tok[i] = lx->tok[i] == '.' ? '_' : (char)tolower((unsigned char)lx->tok[i]);
            return ST_OK;
        }
        if (n >= 5 && !strncasecmp(p, "data_", 5)) {
            lx->type = TK_DATA;
            return tok_set(lx, p + 5, n - 5, 0);
        }
        if (n >= 5 && !strncasecmp(p, "save_", 5)) {
            lx->type = TK_SAVE;
            return tok_set(lx, p + 5, n - 5, 0);
        }
        lx->type = n == 5 && !strncasecmp(p, "loop_", 5)     ? TK_LOOP
                   : n == 7 && !strncasecmp(p, "global_", 7) ? TK_GLOBAL
                   : n == 5 && !strncasecmp(p, "stop_", 5)   ? TK_STOP
                                                             : TK_VALUE;
        return tok_set(lx, p, n, 0);
    }
}

/* ---------------------------------------------------------------- one data block */
/* The tags the reader uses; all others are parsed and dropped. */
enum {
    W_A, W_B, W_C, W_AL, W_BE, W_GA,
    W_SYM_OLD, W_SYM_NEW, W_HM_OLD, W_HM_NEW, W_IT_OLD, W_IT_NEW, W_HALL_OLD, W_HALL_NEW,
    W_LABEL, W_TYPE, W_FX, W_FY, W_FZ, W_OCC, NW
};
static const char *const wanted_tag[NW] = {
    "_cell_length_a", "_cell_length_b", "_cell_length_c",
    "_cell_angle_alpha", "_cell_angle_beta", "_cell_angle_gamma",
    "_symmetry_equiv_pos_as_xyz", "_space_group_symop_operation_xyz",
    "_symmetry_space_group_name_h-m", "_space_group_name_h-m_alt",
    "_symmetry_int_tables_number", "_space_group_it_number",
    "_symmetry_space_group_name_hall", "_space_group_name_hall",
    "_atom_site_label", "_atom_site_type_symbol", "_atom_site_fract_x", "_atom_site_fract_y",
    "_atom_site_fract_z", "_atom_site_occupancy"};
/* The spelling used in messages (as the IUCr dictionary writes them). */
static const char *const tag_display[NW] = {
    "_cell_length_a", "_cell_length_b", "_cell_length_c",
    "_cell_angle_alpha", "_cell_angle_beta", "_cell_angle_gamma",
    "_symmetry_equiv_pos_as_xyz", "_space_group_symop_operation_xyz",
    "_symmetry_space_group_name_H-M", "_space_group_name_H-M_alt",
    "_symmetry_Int_Tables_number", "_space_group_IT_number",
    "_symmetry_space_group_name_Hall", "_space_group_name_Hall",
    "_atom_site_label", "_atom_site_type_symbol", "_atom_site_fract_x", "_atom_site_fract_y",
    "_atom_site_fract_z", "_atom_site_occupancy"};

typedef struct cval {
    size_t off;             /* into the block's arena */
    int64_t line;
    int quoted;
} cval;

typedef struct ccol {
    int present, loop;      /* loop 0 = a single (non-loop) item */
    int64_t tagline;
    cval *v;
    int64_t n, cap;
} ccol;

typedef struct cblock {
    char *name;
    int64_t line;
    ccol col[NW];
    char *arena;
    size_t alen, acap;
    int nloops;
} cblock;

static void block_free(cblock *b)
{
    free(b->name);
    for (int i = 0; i < NW; i++) free(b->col[i].v);
    free(b->arena);
    memset(b, 0, sizeof *b);
}

static int wanted_index(const char *tag)
{
    for (int i = 0; i < NW; i++)
        if (!strcmp(tag, wanted_tag[i])) return i;
    return -1;
}

static const char *vstr(const cblock *b, const cval *v) { return b->arena + v->off; }
static int vmissing(const cblock *b, const cval *v)
{
    const char *s = vstr(b, v);
    return !v->quoted && (!strcmp(s, "?") || !strcmp(s, "."));
}

static int store_value(cif_lex *lx, cblock *b, int w)
{
    ccol *c = &b->col[w];
    if (c->n == c->cap) {
        int64_t cap = c->cap ? c->cap * 2 : 16;
        cval *v = realloc(c->v, (size_t)cap * sizeof *v);
        if (!v) return st_fail(lx->ctx, ST_ERR_NOMEM, "%s: out of memory", lx->src->name);
        c->v = v;
        c->cap = cap;
    }
    if (b->alen + lx->len + 1 > b->acap) {
        size_t cap = b->acap ? b->acap : 4096;
        while (cap < b->alen + lx->len + 1) cap *= 2;
        char *a = realloc(b->arena, cap);
        if (!a) return st_fail(lx->ctx, ST_ERR_NOMEM, "%s: out of memory", lx->src->name);
        b->arena = a;
        b->acap = cap;
    }
    memcpy(b->arena + b->alen, lx->tok, lx->len + 1);
    c->v[c->n++] = (cval){b->alen, lx->line, lx->quoted};
    b->alen += lx->len + 1;
    return ST_OK;
}

static int mark_tag(cif_lex *lx, cblock *b, int w, int loop)
{
    ccol *c = &b->col[w];
    if (c->present)
        return st_fail(lx->ctx, ST_ERR_PARSE, "%s: line %lld: %s appears twice in data_%s (first at line %lld)",
                       lx->src->name, (long long)lx->line, tag_display[w], b->name,
                       (long long)c->tagline);
    c->present = 1;
    c->loop = loop;
    c->tagline = lx->line;
    return ST_OK;
}

static int parse_loop(cif_lex *lx, cblock *b)
{
    int64_t loopline = lx->line;
    int *map = NULL, rc;
    int64_t ntags = 0, cap = 0, nv = 0;
    int id = ++b->nloops;
    while (!(rc = lex_next(lx)) && lx->type == TK_TAG) {
        if (ntags == cap) {
            cap = cap ? cap * 2 : 16;
            int *m = realloc(map, (size_t)cap * sizeof *m);
            if (!m) {
                free(map);
                return st_fail(lx->ctx, ST_ERR_NOMEM, "%s: out of memory", lx->src->name);
            }
            map = m;
        }
        int w = wanted_index(lx->tok);
        map[ntags++] = w;
        if (w >= 0 && (rc = mark_tag(lx, b, w, id))) break;
    }
    if (!rc && ntags == 0)
        rc = st_fail(lx->ctx, ST_ERR_PARSE, "%s: line %lld: loop_ without tags", lx->src->name,
                     (long long)loopline);
    while (!rc && lx->type == TK_VALUE) {
        int w = map[nv % ntags];
        if (w >= 0) rc = store_value(lx, b, w);
        nv++;
        if (!rc) rc = lex_next(lx);
    }
    if (!rc && nv % ntags)
        rc = st_fail(lx->ctx, ST_ERR_PARSE,
                     "%s: line %lld: the loop_ of line %lld has %lld values, not a multiple of its "
                     "%lld tags (a row is incomplete)", lx->src->name, (long long)lx->line,
                     (long long)loopline, (long long)nv, (long long)ntags);
    free(map);
    return rc;
}

/* Parses from the current data_/global_ token up to the next one (left as the current token) or
 * the end of the input. */
static int parse_block(cif_lex *lx, cblock *b)
{
    b->name = st_strdup(lx->type == TK_GLOBAL ? "global_" : lx->tok);
    b->line = lx->line;
    if (!b->name) return st_fail(lx->ctx, ST_ERR_NOMEM, "%s: out of memory", lx->src->name);
    int rc = lex_next(lx);
    while (!rc) {
        switch (lx->type) {
        case TK_EOF:
        case TK_DATA:
        case TK_GLOBAL:
            return ST_OK;
        case TK_TAG: {
            char tag[96];
            snprintf(tag, sizeof tag, "%s", lx->tok);
            int w = wanted_index(lx->tok);
            if (w >= 0 && (rc = mark_tag(lx, b, w, 0))) return rc;
            if ((rc = lex_next(lx))) return rc;
            if (lx->type != TK_VALUE)
                return st_fail(lx->ctx, ST_ERR_PARSE, "%s: line %lld: %s has no value (next is '%.40s')",
                               lx->src->name, (long long)lx->line, tag,
                               lx->type == TK_EOF ? "end of file" : lx->tok);
            if (w >= 0 && (rc = store_value(lx, b, w))) return rc;
            rc = lex_next(lx);
            break;
        }
        case TK_LOOP:
            rc = parse_loop(lx, b);
            break;
        case TK_SAVE: {     /* DDL save frames hold definitions, never structures: skipped */
            int64_t start = lx->line;
            if (!lx->len)
                return st_fail(lx->ctx, ST_ERR_PARSE, "%s: line %lld: save_ without an open save frame",
                               lx->src->name, (long long)start);
            do rc = lex_next(lx);
            while (!rc && lx->type != TK_EOF && !(lx->type == TK_SAVE && !lx->len));
            if (!rc && lx->type == TK_EOF)
                return st_fail(lx->ctx, ST_ERR_PARSE, "%s: line %lld: save frame is not closed",
                               lx->src->name, (long long)start);
            if (!rc) rc = lex_next(lx);
            break;
        }
        case TK_STOP:
            return st_fail(lx->ctx, ST_ERR_PARSE, "%s: line %lld: stop_ (nested loops) is not CIF",
                           lx->src->name, (long long)lx->line);
        default:
            return st_fail(lx->ctx, ST_ERR_PARSE, "%s: line %lld: value '%.40s' has no tag",
                           lx->src->name, (long long)lx->line, lx->tok);
        }
    }
    return rc;
}

/* ---------------------------------------------------------------- values */
/* CIF numbers: [sign] digits [. digits] [e [sign] digits] [(su)].  The standard uncertainty in
 * parentheses is dropped.  Returns 0, -1 (not a number) or -2 (out of range). */
static int parse_number(const char *s, double *out)
{
    const char *p = s;
    int digits = 0;
    if (*p == '+' || *p == '-') p++;
    while (isdigit((unsigned char)*p)) p++, digits++;
    if (*p == '.')
        for (p++; isdigit((unsigned char)*p); p++) digits++;
    if (!digits) return -1;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-') p++;
        if (!isdigit((unsigned char)*p)) return -1;
        while (isdigit((unsigned char)*p)) p++;
    }
    const char *end = p;
    if (*p == '(') {
        p++;
        if (!isdigit((unsigned char)*p)) return -1;
        while (isdigit((unsigned char)*p)) p++;
        if (*p++ != ')') return -1;
    }
    if (*p) return -1;
    char *e;
    double v = strtod(s, &e);
    if (e != end) return -1;
    if (!isfinite(v)) return -2;
    *out = v;
    return 0;
}

static int get_number(st_ctx *ctx, const char *file, const cblock *b, int w, const cval *v,
                      double *out)
{
    const char *s = vstr(b, v);
    if (vmissing(b, v))
        return st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: %s: value is missing ('%s')", file,
                       (long long)v->line, tag_display[w], s);
    int r = parse_number(s, out);
    if (r == -2)
        return st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: %s: number '%.40s' is out of range", file,
                       (long long)v->line, tag_display[w], s);
    if (r)
        return st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: %s: expected a number, got '%.40s'", file,
                       (long long)v->line, tag_display[w], s);
    return ST_OK;
}

/* Element from a type symbol ("Si", "O2-", "Fe3+") or a label ("Si1", "O12"): two letters if
 * they name an element, else one; "D" is deuterium (H), "X" a dummy (0).  -1 if neither. */
static int symbol_to_z(const char *s)
{
    if (!isalpha((unsigned char)s[0])) return -1;
    char sym[3] = {(char)toupper((unsigned char)s[0]), 0, 0};
    if (isalpha((unsigned char)s[1])) {
        sym[1] = (char)tolower((unsigned char)s[1]);
        int z = st_element_number(sym);
        if (z > 0) return z;
        sym[1] = 0;
    }
    if (sym[0] == 'D') return 1;
    if (sym[0] == 'X') return 0;
    int z = st_element_number(sym);
    return z > 0 ? z : -1;
}

/* ---------------------------------------------------------------- block -> frame */
typedef struct cif_state {
    cif_lex lx;
    int started;
    int64_t nframes;
} cif_state;

/* The single value of item w, or NULL when absent, looped or missing ('?', '.'). */
static const cval *single(const cblock *b, int w)
{
    const ccol *c = &b->col[w];
    return c->present && c->n == 1 && !vmissing(b, &c->v[0]) ? &c->v[0] : NULL;
}

/* Operations named by the block's Hall symbol, else H-M symbol, else IT number (used only when
 * none are listed).  *found = 0 when the block names no space group at all (then P1). */
static int symbol_symops(st_ctx *ctx, const char *file, const cblock *b, cif_symop *o,
                         int64_t *nops, int *found)
{
    char err[160];
    const cval *hall = single(b, W_HALL_NEW) ? single(b, W_HALL_NEW) : single(b, W_HALL_OLD);
    const cval *hm = single(b, W_HM_NEW) ? single(b, W_HM_NEW) : single(b, W_HM_OLD);
    const cval *it = single(b, W_IT_NEW) ? single(b, W_IT_NEW) : single(b, W_IT_OLD);
    const char *hs = NULL;
    const cval *from = NULL;
    double num;
    *found = 1;
    if (hall) {
        hs = vstr(b, hall);
        from = hall;
    } else if (hm && (hs = cif_hall_from_hm(vstr(b, hm), NULL))) {
        from = hm;
    } else if (it && !parse_number(vstr(b, it), &num) && num == floor(num) && num >= 1 && num <= 230) {
        hs = cif_hall_from_number((int)num);
        from = it;
    } else if (hm) {
        return st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: no symmetry operations are listed and the "
                       "space group '%.40s' is not a known H-M symbol", file,
                       (long long)hm->line, vstr(b, hm));
    } else {
        *found = 0;
        return ST_OK;
    }
    int n = cif_hall_ops(hs, o, 192, err, sizeof err);
    if (n < 0)
        return st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: Hall symbol '%.40s': %s", file,
                       (long long)from->line, hs, err);
    *nops = n;
    return ST_OK;
}

/* The block's symmetry operations without the identity (cif_expand applies it first). */
static int block_symops(st_ctx *ctx, const char *file, const cblock *b, cif_symop **ops,
                        int64_t *nops)
{
    *ops = NULL;
    *nops = 0;
    int w = b->col[W_SYM_NEW].present ? W_SYM_NEW : W_SYM_OLD;
    const ccol *c = &b->col[w];
    if (c->n > 4096)
        return st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: %s: %lld symmetry operations (at most 4096)",
                       file, (long long)c->tagline, tag_display[w], (long long)c->n);
    cif_symop *o = st_malloc_array((size_t)(c->n > 192 ? c->n : 192), sizeof *o);
    if (!o) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", file);
    int64_t n = 0;
    for (int64_t i = 0; i < c->n; i++) {
        const char *s = vstr(b, &c->v[i]);
        if (vmissing(b, &c->v[i])) continue;
        char err[160];
        if (cif_symop_parse(s, &o[n], err, sizeof err)) {
            free(o);
            return st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: %s: malformed symmetry operation "
                           "'%.60s': %s", file, (long long)c->v[i].line, tag_display[w], s, err);
        }
        n++;
    }
    if (n == 0) {   /* none listed: from the space-group symbol, if any */
        int found, rc = symbol_symops(ctx, file, b, o, &n, &found);
        if (rc) {
            free(o);
            return rc;
        }
    }
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++) {
        int ident = 1;
        for (int r = 0; r < 3; r++) {
            for (int q = 0; q < 3; q++) ident &= o[i].r[r][q] == (r == q);
            ident &= o[i].t[r] == floor(o[i].t[r]);
        }
        if (!ident) o[k++] = o[i];
    }
    *ops = o;
    *nops = k;
    return ST_OK;
}

static int set_int_info(st_ctx *ctx, st_atoms *a, const char *key, int kind, int32_t v)
{
    return st_atoms_info_set_int(ctx, a, key, kind, 0, NULL, &v);
}

/* Builds the frame of block b, or leaves *out NULL when b holds no structure at all. */
static int build_frame(st_ctx *ctx, const char *file, cblock *b, st_atoms **out)
{
    *out = NULL;
    int any = 0;
    for (int w = W_A; w <= W_GA; w++) any |= b->col[w].present;
    for (int w = W_FX; w <= W_FZ; w++) any |= b->col[w].present;
    if (!any) return ST_OK;

    /* Cell. */
    double par[6];
    for (int w = W_A; w <= W_GA; w++) {
        const ccol *c = &b->col[w];
        if (!c->present)
            return st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: data_%s: missing %s", file,
                           (long long)b->line, b->name, tag_display[w]);
        if (c->n != 1)
            return st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: %s: expected one value, got %lld",
                           file, (long long)c->tagline, tag_display[w], (long long)c->n);
        int rc = get_number(ctx, file, b, w, &c->v[0], &par[w - W_A]);
        if (rc) return rc;
    }
    double cell[9];
    /* Lengths above 1e6 Å are garbage, and would overflow the volume and the inverse. */
    if (par[0] > 1e6 || par[1] > 1e6 || par[2] > 1e6 || st_cell_from_parameters(par, par + 3, cell))
        return st_fail(ctx, ST_ERR_PARSE,
                       "%s: line %lld: cell a=%g b=%g c=%g alpha=%g beta=%g gamma=%g is not a valid "
                       "cell (lengths in (0, 1e6] Å, angles in (0, 180) and compatible)", file,
                       (long long)b->col[W_A].v[0].line, par[0], par[1], par[2], par[3], par[4], par[5]);

    /* Sites: all _atom_site_ columns must come from the loop (or single items) of fract_x. */
    for (int w = W_FX; w <= W_FZ; w++)
        if (!b->col[w].present)
            return st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: data_%s: no atom sites (missing %s)",
                           file, (long long)b->line, b->name, tag_display[w]);
    const ccol *fx = &b->col[W_FX];
    for (int w = W_LABEL; w <= W_OCC; w++)
        if (b->col[w].present && b->col[w].loop != fx->loop)
            return st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: %s is not in the loop of %s (line %lld)",
                           file, (long long)b->col[w].tagline, tag_display[w],
                           tag_display[W_FX], (long long)fx->tagline);
    int64_t ns = fx->n;
    if (ns == 0)
        return st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: data_%s: no atom sites (empty loop)", file,
                       (long long)fx->tagline, b->name);

    cif_site *sites = st_calloc_array((size_t)ns, sizeof *sites);
    int32_t *z = st_malloc_array((size_t)ns, sizeof *z);
    char **labels = st_calloc_array((size_t)ns, sizeof *labels);
    cif_symop *ops = NULL;
    int64_t nops = 0;
    cif_p1 p1 = {0};
    st_atoms *a = NULL;
    int rc = ST_OK, disordered = 0, has_occ = b->col[W_OCC].present;
    if (!sites || !z || !labels) {
        rc = st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", file);
        goto done;
    }
    for (int64_t i = 0; i < ns && !rc; i++) {
        cif_site *s = &sites[i];
        s->line = fx->v[i].line;
        for (int k = 0; k < 3 && !rc; k++) {
            const cval *v = &b->col[W_FX + k].v[i];
            rc = get_number(ctx, file, b, W_FX + k, v, &s->frac[k]);
            if (!rc && fabs(s->frac[k]) > 1e4)   /* wrapping would lose every digit */
                rc = st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: %s: fractional coordinate %g is out of "
                             "range (|x| <= 1e4)", file, (long long)v->line, tag_display[W_FX + k],
                             s->frac[k]);
        }
        if (rc) break;
        const cval *lv = b->col[W_LABEL].present ? &b->col[W_LABEL].v[i] : NULL;
        const cval *tv = b->col[W_TYPE].present ? &b->col[W_TYPE].v[i] : NULL;
        if (lv && vmissing(b, lv)) lv = NULL;
        if (tv && vmissing(b, tv)) tv = NULL;
        if (tv) {
            z[i] = symbol_to_z(vstr(b, tv));
            if (z[i] < 0)
                rc = st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: %s: unknown element '%.40s'", file,
                             (long long)tv->line, tag_display[W_TYPE], vstr(b, tv));
        } else if (lv) {
            z[i] = symbol_to_z(vstr(b, lv));
            if (z[i] < 0)
                rc = st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: %s: cannot tell the element of "
                             "'%.40s' (and no _atom_site_type_symbol)", file, (long long)lv->line,
                             tag_display[W_LABEL], vstr(b, lv));
        } else {
            rc = st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: site %lld has neither "
                         "_atom_site_type_symbol nor _atom_site_label", file, (long long)s->line,
                         (long long)i + 1);
        }
        if (rc) break;
        if (lv) {
            labels[i] = st_strdup(vstr(b, lv));
        } else {   /* no label: element and 1-based site number, as "Si3" */
            char buf[32];
            snprintf(buf, sizeof buf, "%s%lld", z[i] ? st_element_symbol(z[i]) : "X", (long long)i + 1);
            labels[i] = st_strdup(buf);
        }
        if (!labels[i]) {
            rc = st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", file);
            break;
        }
        s->label = labels[i];
        s->occ = 1;
        if (has_occ && !vmissing(b, &b->col[W_OCC].v[i])) {
            const cval *ov = &b->col[W_OCC].v[i];
            if ((rc = get_number(ctx, file, b, W_OCC, ov, &s->occ))) break;
            if (!(s->occ >= 0 && s->occ <= 1 + 1e-6))
                rc = st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: %s: %g is not in [0, 1]", file,
                             (long long)ov->line, tag_display[W_OCC], s->occ);
            if (s->occ < 1 - 1e-6) disordered = 1;
        }
    }
    if (rc) goto done;
    if ((rc = block_symops(ctx, file, b, &ops, &nops))) goto done;
    if ((rc = cif_expand(ctx, file, b->name, sites, ns, ops, nops, &p1))) goto done;

    a = st_atoms_create(p1.n);
    if (!a) {
        rc = st_fail(ctx, ST_ERR_NOMEM, "%s: data_%s: out of memory for %lld atoms", file, b->name,
                     (long long)p1.n);
        goto done;
    }
    memcpy(st_atoms_cell(a), cell, sizeof cell);
    int32_t *pbc = st_atoms_pbc(a);
    pbc[0] = pbc[1] = pbc[2] = 1;
    st_frac_to_cart(cell, p1.n, p1.frac, st_atoms_positions(a));
    int32_t *num = st_atoms_numbers(a);
    int ia = st_atoms_array_add(ctx, a, "asym_site", ST_KIND_INT, 1);
    int im = st_atoms_array_add(ctx, a, "multiplicity", ST_KIND_INT, 1);
    int il = st_atoms_array_add(ctx, a, "label", ST_KIND_STRING, 1);
    int io = has_occ ? st_atoms_array_add(ctx, a, "occupancy", ST_KIND_REAL, 1) : 0;
    if (ia < 0 || im < 0 || il < 0 || io < 0) {
        rc = st_ctx_status(ctx) ? st_ctx_status(ctx) : st_fail(ctx, ST_ERR_NOMEM, "out of memory");
        goto done;
    }
    int32_t *asym = st_atoms_array_data(a, ia), *mult = st_atoms_array_data(a, im);
    double *occ = has_occ ? st_atoms_array_data(a, io) : NULL;
    for (int64_t i = 0; i < p1.n && !rc; i++) {
        int64_t s = p1.site[i];
        num[i] = z[s];
        asym[i] = (int32_t)s;
        mult[i] = p1.mult[s];
        if (occ) occ[i] = sites[s].occ;
        rc = st_atoms_array_set_string(ctx, a, il, i, 0, labels[s]);
    }
    if (!rc) rc = st_atoms_info_set_string(ctx, a, "data_block", b->name);
    int hm = b->col[W_HM_NEW].present ? W_HM_NEW : W_HM_OLD;
    if (!rc && b->col[hm].present && b->col[hm].n == 1 && !vmissing(b, &b->col[hm].v[0]))
        rc = st_atoms_info_set_string(ctx, a, "spacegroup", vstr(b, &b->col[hm].v[0]));
    int it = b->col[W_IT_NEW].present ? W_IT_NEW : W_IT_OLD;
    double itn;
    if (!rc && b->col[it].present && b->col[it].n == 1 &&
        !parse_number(vstr(b, &b->col[it].v[0]), &itn) && itn >= 1 && itn <= 230 && itn == floor(itn))
        rc = set_int_info(ctx, a, "spacegroup_number", ST_KIND_INT, (int32_t)itn);
    if (!rc && disordered) rc = set_int_info(ctx, a, "disordered", ST_KIND_BOOL, 1);
done:
    if (rc) {
        st_atoms_destroy(a);
        a = NULL;
    }
    if (labels)
        for (int64_t i = 0; i < ns; i++) free(labels[i]);
    free(labels);
    free(sites);
    free(z);
    free(ops);
    cif_p1_free(&p1);
    *out = a;
    return rc;
}

/* ---------------------------------------------------------------- reader */
static int cif_open(st_ctx *ctx, st_source *src, void **state)
{
    cif_state *s = calloc(1, sizeof *s);
    if (!s) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", src->name);
    s->lx.src = src;
    *state = s;
    return ST_OK;
}

static int cif_next(st_ctx *ctx, void *state, st_source *src, st_atoms **out)
{
    cif_state *s = state;
    cif_lex *lx = &s->lx;
    lx->ctx = ctx;
    *out = NULL;
    int rc;
    if (!s->started) {
        if ((rc = lex_next(lx))) return rc;
        if (lx->type == TK_EOF)
            return st_fail(ctx, ST_ERR_PARSE, "%s: no data_ block (empty file or not a CIF)", src->name);
        if (lx->type != TK_DATA && lx->type != TK_GLOBAL)
            return st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: expected 'data_<name>' before '%.40s'",
                           src->name, (long long)lx->line, lx->tok);
        s->started = 1;
    }
    while (lx->type != TK_EOF) {
        cblock b = {0};
        rc = parse_block(lx, &b);
        if (!rc) rc = build_frame(ctx, src->name, &b, out);
        block_free(&b);
        if (rc) return rc;
        if (*out) {
            s->nframes++;
            return ST_OK;
        }
    }
    if (!s->nframes)
        return st_fail(ctx, ST_ERR_PARSE, "%s: no data block holds a structure (cell parameters and "
                       "_atom_site_fract_x/y/z)", src->name);
    return ST_OK;
}

static void cif_close(void *state)
{
    cif_state *s = state;
    if (!s) return;
    free(s->lx.tok);
    free(s);
}

static int cif_probe(const char *head, size_t n)
{
    int data = 0, tags = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && (head[j] == ' ' || head[j] == '\t')) j++;
        if (n - j >= 5 && !strncasecmp(head + j, "data_", 5)) data = 1;
        if (n - j >= 6 && (!strncasecmp(head + j, "_cell_", 6) || !strncasecmp(head + j, "_atom_", 6) ||
                           !strncasecmp(head + j, "_symme", 6) || !strncasecmp(head + j, "_space", 6)))
            tags = 1;
        while (j < n && head[j] != '\n') j++;
        i = j + 1;
    }
    return data ? (tags ? 95 : 60) : 0;
}

const st_format st_format_cif = {"cif", ".cif", cif_probe, cif_open, cif_next, cif_close,
                                 cif_write_frame, NULL};
