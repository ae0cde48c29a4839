/* vasprun.c -- streaming reader for VASP's vasprun.xml: one frame per <calculation> (ionic step).
 *
 * The file is read with libxml2's xmlTextReader (a pull parser), so only the current ionic step
 * is in memory, whatever the file size.  Security: XML_PARSE_NONET, no XML_PARSE_NOENT (entities
 * are never substituted), no DTD loading or validation (external entities are never fetched).
 * The encoding declared by the file (VASP writes ISO-8859-1) is honoured by libxml2; strings
 * come out as UTF-8.
 *
 * What is read (element paths under <modeling>):
 *   atominfo/atoms, atominfo/array[@name=atoms]/set/rc/c[1]   -> species (must agree: count)
 *   atominfo/array[@name=atomtypes]/set/rc/c[1]              -> atoms per type (must sum up)
 *   incar/i[@name=SYSTEM]                                    -> info "system"
 *   calculation/structure/crystal/varray[@name=basis]/v      -> cell (rows, Å)
 *   calculation/structure/varray[@name=positions]/v          -> fractional -> Cartesian Å
 *   calculation/varray[@name=forces]/v                       -> per-atom "forces" (eV/Å)
 *   calculation/varray[@name=stress]/v                       -> info "stress" (3x3, eV/Å^3)
 *   calculation/energy/i, calculation/scstep[last]/energy/i  -> info "energy", "free_energy"
 *
 * Energies follow ASE's read_vasp_xml (ase/io/vasp.py): free_energy = e_fr_energy of the
 * step's <energy>; energy = free_energy + (e_0_energy - e_fr_energy) of the LAST <scstep>,
 * because the step's own <energy> block can hold a wrong e_0_energy (a VASP bug noted in ASE's
 * reader; the shared sample's step block has e_0 = -0.003 next to e_fr = -48.07, although that
 * file was partly hand-edited), while the last <scstep> lacks the van der Waals correction that
 * e_fr of the step block includes.  Without any <scstep>
 * (e.g. machine-learned force-field steps) energy = the step's e_0_energy, else e_fr_energy.
 * Stress: VASP prints kB with pressure positive under compression; ASE's stress is
 * sigma = -0.1 GPa/kB * s, in eV/Å^3 with 1 eV/Å^3 = 160.21766208 GPa (CODATA 2014, ASE's
 * default units), kept here as the full 3x3 matrix.
 *
 * Counts must agree, or the step is an error naming the line and the species: <atominfo>
 * <atoms> vs its rows vs atomtypes, and positions / forces rows vs the species count.  The
 * shared sample has 4 species (W Be Be Be), 4 positions and 2 force rows: it is rejected at the
 * forces rather than silently dropping or padding forces that a training set would then trust.
 * A step without basis, positions or e_fr_energy is an error; forces and stress are optional
 * (VASP omits stress when ISIF = 0).  Truncated XML: the complete steps are returned first, then
 * the error with libxml2's line.
 *
 * Not read: eigenvalues, DOS, projected data, <dynmat>, initial/final structures outside
 * <calculation>, velocities (not in vasprun.xml), magnetic moments.
 */
#include "format.h"
#include <ctype.h>
#include <libxml/xmlreader.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define KBAR_TO_EV_PER_A3 (0.1 / 160.21766208)   /* 1 kB = 0.1 GPa; GPa -> eV/Å^3 */

enum { E_OTHER, E_MODELING, E_INCAR, E_I, E_ATOMINFO, E_ATOMS, E_ARRAY, E_SET, E_RC, E_C,
       E_CALC, E_SCSTEP, E_ENERGY, E_STRUCTURE, E_CRYSTAL, E_VARRAY, E_V };
enum { A_ATOMS = 1, A_TYPES = 2 };                                  /* <array> names */
enum { V_BASIS = 1, V_POS = 2, V_FORCES = 3, V_STRESS = 4 };         /* <varray> names */
enum { I_SYSTEM = 1, I_EFR = 2, I_EWO = 3, I_E0 = 4 };               /* <i> names */
enum { MAXDEPTH = 512 };

typedef struct vnode {
    int kind, sub;
    int sc;          /* inside a <scstep> (for energies) */
    long line;       /* where the element starts */
    char name[16];   /* its name (truncated), for messages about truncated files */
} vnode;

typedef struct rows {
    double *v;
    int64_t n, cap;
} rows;

typedef struct vr_state {
    xmlTextReaderPtr xr;
    st_source *src;
    /* first libxml2 error */
    char xmlmsg[300];
    int xmlline, xmlerr;
    vnode stack[MAXDEPTH];
    int depth;                 /* number of open elements */
    char *text;                /* text of the current leaf element */
    size_t tlen, tcap;
    int collect;               /* depth of the element whose text is collected, 0 = none */
    int c_index;               /* column inside the current <rc> */
    /* atominfo */
    int64_t natoms_decl;       /* -1 = not given */
    int32_t *species;
    int64_t nspecies, capspecies, ntypes_sum;
    int have_atominfo, have_types;
    char *system;
    /* the current <calculation> */
    int64_t ncalc, calc_line;
    rows basis, pos, forces, stress;
    int have_forces, have_stress, have_structure;
    double e[5];               /* indexed by I_EFR.. I_E0: step <energy> */
    int have_e[5];
    double sc[5];              /* last <scstep> energies */
    int have_sc[5];
    int frame_ready;
    int root_seen;
    int padded;                /* the blank after the end of input was given (io_read) */
    int nonblank;              /* the input has something besides white space */
    char generic[200];         /* first message from libxml2's generic handler */
} vr_state;

/* ---------------------------------------------------------------- libxml2 plumbing */
/* Input callback.  At the end of the input it first returns one blank (legal after the root
 * element) and only then 0: xmlTextReader gives up every node of a chunk whose parse fails, and
 * a cut file fails exactly at the final "end of input" parse.  The extra round makes libxml2 parse
 * everything before the cut without the end flag, so the reader hands out all complete
 * <calculation> steps before it reports the truncation. */
static int io_read(void *ctx, char *buf, int len)
{
    vr_state *s = ctx;
    st_source *src = s->src;
    size_t got;
    if (src->fp) {
        got = fread(buf, 1, (size_t)len, src->fp);
        if (got == 0 && ferror(src->fp)) return -1;
    } else {
        size_t left = src->memlen - src->mempos;
        got = left < (size_t)len ? left : (size_t)len;
        memcpy(buf, src->mem + src->mempos, got);
        src->mempos += got;
    }
    for (size_t i = 0; i < got && !s->nonblank; i++) s->nonblank = !isspace((unsigned char)buf[i]);
    if (got == 0 && !s->padded && len > 0) {
        s->padded = 1;
        buf[0] = ' ';
        return 1;
    }
    return (int)got;
}

static int io_close(void *ctx) { return 0; }

/* libxml2 messages end with a newline and some have one inside ("...encoding !\nBytes: ..."). */
static void one_line(char *m)
{
    size_t n = strlen(m);
    while (n && (m[n - 1] == '\n' || m[n - 1] == ' ')) m[--n] = 0;
    for (char *p = m; *p; p++)
        if (*p == '\n') *p = ' ';
}

static void on_xml_error(void *arg, xmlErrorPtr err)
{
    vr_state *s = arg;
    if (!err || err->level < XML_ERR_ERROR || s->xmlerr) return;
    s->xmlerr = 1;
    s->xmlline = err->line;
    snprintf(s->xmlmsg, sizeof s->xmlmsg, "%s", err->message ? err->message : "XML error");
    one_line(s->xmlmsg);
}

/* Line where the current node starts (the parser itself reads ahead, so its own line number
 * can be a few lines further on). */
/* libxml2 reports some errors (encoding conversion, I/O) through its per-thread generic
 * handler, which prints to stderr by default.  vr_next installs this one for the duration of
 * the call: it keeps the first message for our own error and prints nothing. */
static void on_generic_error(void *arg, const char *fmt, ...)
{
    vr_state *s = arg;
    if (!s || s->xmlerr || s->generic[0]) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->generic, sizeof s->generic, fmt, ap);
    va_end(ap);
    one_line(s->generic);
}

static void on_generic_structured(void *arg, xmlErrorPtr err)
{
    on_xml_error(arg, err);
}

static int cur_line(vr_state *s)
{
    xmlNodePtr nd = xmlTextReaderCurrentNode(s->xr);
    long l = nd ? xmlGetLineNo(nd) : -1;
    return l > 0 ? (int)l : xmlTextReaderGetParserLineNumber(s->xr);
}

static int vr_open(st_ctx *ctx, st_source *src, void **state)
{
    vr_state *s = calloc(1, sizeof *s);
    if (!s) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", src->name);
    s->src = src;
    s->natoms_decl = -1;
    xmlInitParser();
    /* NONET: never touch the network; no NOENT/DTDLOAD/DTDATTR/DTDVALID/XINCLUDE, so entities
     * stay unexpanded and no external file is ever opened.  Errors go to on_xml_error only. */
    s->xr = xmlReaderForIO(io_read, io_close, s, src->name, NULL,
                           XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                           XML_PARSE_NOCDATA | XML_PARSE_BIG_LINES);
    if (!s->xr) {
        free(s);
        return st_fail(ctx, ST_ERR_NOMEM, "%s: cannot create an XML reader", src->name);
    }
    xmlTextReaderSetStructuredErrorHandler(s->xr, on_xml_error, s);
    *state = s;
    return ST_OK;
}

static void vr_close(void *state)
{
    vr_state *s = state;
    if (!s) return;
    if (s->xr) xmlFreeTextReader(s->xr);
    free(s->text);
    free(s->species);
    free(s->system);
    free(s->basis.v);
    free(s->pos.v);
    free(s->forces.v);
    free(s->stress.v);
    free(s);
}

/* ---------------------------------------------------------------- helpers */
static int text_append(st_ctx *ctx, vr_state *s, const char *t)
{
    size_t n = strlen(t);
    if (s->tlen + n + 1 > s->tcap) {
        size_t cap = s->tcap ? s->tcap : 256;
        while (cap < s->tlen + n + 1) cap *= 2;
        char *b = realloc(s->text, cap);
        if (!b) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", s->src->name);
        s->text = b;
        s->tcap = cap;
    }
    memcpy(s->text + s->tlen, t, n + 1);
    s->tlen += n;
    return ST_OK;
}

/* Parses exactly `want` numbers from the collected text (want < 0: one integer). */
static int parse_values(st_ctx *ctx, vr_state *s, const char *what, double *out, int want)
{
    const char *p = s->text ? s->text : "";
    int n = 0;
    for (;;) {
        while (isspace((unsigned char)*p)) p++;
        if (!*p) break;
        char *e;
        double v = strtod(p, &e);
        const char *tokend = p;
        while (*tokend && !isspace((unsigned char)*tokend)) tokend++;
        if (e != tokend || !isfinite(v) || n >= want)
            return st_fail(ctx, ST_ERR_PARSE,
                           n >= want ? "%s: line %d: %s: expected %d numbers, got more: '%.60s'"
                                     : "%s: line %d: %s: expected %d numbers, got '%.60s'",
                           s->src->name, cur_line(s), what, want, s->text);
        out[n++] = v;
        p = tokend;
    }
    if (n != want)
        return st_fail(ctx, ST_ERR_PARSE, "%s: line %d: %s: expected %d numbers, got %d",
                       s->src->name, cur_line(s), what, want, n);
    return ST_OK;
}

static int rows_push(st_ctx *ctx, vr_state *s, rows *r, const double *v)
{
    if (r->n == r->cap) {
        int64_t cap = r->cap ? r->cap * 2 : 64;
        double *nv = realloc(r->v, (size_t)cap * 3 * sizeof *nv);
        if (!nv) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", s->src->name);
        r->v = nv;
        r->cap = cap;
    }
    memcpy(r->v + 3 * r->n, v, 3 * sizeof *v);
    r->n++;
    return ST_OK;
}

static char *trimmed(const char *t)
{
    while (*t && isspace((unsigned char)*t)) t++;
    size_t n = strlen(t);
    while (n && isspace((unsigned char)t[n - 1])) n--;
    char *r = malloc(n + 1);
    if (r) {
        memcpy(r, t, n);
        r[n] = 0;
    }
    return r;
}

static int name_attr_is(xmlTextReaderPtr xr, const char *const *names, int count)
{
    xmlChar *a = xmlTextReaderGetAttribute(xr, (const xmlChar *)"name");
    int hit = 0;
    if (a)
        for (int i = 0; i < count && !hit; i++)
            if (!strcmp((const char *)a, names[i])) hit = i + 1;
    xmlFree(a);
    return hit;
}

static const char *species_list(vr_state *s, char *buf, size_t n)
{
    size_t k = 0;
    buf[0] = 0;
    for (int64_t i = 0; i < s->nspecies && k + 8 < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%s", i ? " " : "", st_element_symbol(s->species[i]));
    if (s->nspecies && k + 8 >= n) snprintf(buf + k, n - k, " ...");
    return buf;
}

/* ---------------------------------------------------------------- element handlers */
static int on_start(st_ctx *ctx, vr_state *s, const char *name)
{
    const vnode *par = s->depth ? &s->stack[s->depth - 1] : NULL;
    vnode nd = {E_OTHER, 0, par ? par->sc : 0, cur_line(s), ""};
    snprintf(nd.name, sizeof nd.name, "%s", name);
    int pk = par ? par->kind : -1;
    if (!par) {
        if (strcmp(name, "modeling"))
            return st_fail(ctx, ST_ERR_PARSE, "%s: line %d: root element is <%.40s>, not <modeling>: "
                           "not a vasprun.xml", s->src->name, cur_line(s), name);
        nd.kind = E_MODELING;
        s->root_seen = 1;
    } else if (pk == E_MODELING) {
        if (!strcmp(name, "incar")) nd.kind = E_INCAR;
        else if (!strcmp(name, "atominfo")) nd.kind = E_ATOMINFO;
        else if (!strcmp(name, "calculation")) {
            nd.kind = E_CALC;
            if (!s->have_atominfo)
                return st_fail(ctx, ST_ERR_PARSE, "%s: line %d: <calculation> before <atominfo>: "
                               "the species are unknown", s->src->name, cur_line(s));
            s->calc_line = cur_line(s);
            s->basis.n = s->pos.n = s->forces.n = s->stress.n = 0;
            s->have_forces = s->have_stress = s->have_structure = 0;
            memset(s->have_e, 0, sizeof s->have_e);
            memset(s->have_sc, 0, sizeof s->have_sc);
        }
    } else if (pk == E_INCAR && !strcmp(name, "i")) {
        static const char *const n1[] = {"SYSTEM"};
        if (name_attr_is(s->xr, n1, 1)) nd.kind = E_I, nd.sub = I_SYSTEM;
    } else if (pk == E_ATOMINFO) {
        static const char *const n2[] = {"atoms", "atomtypes"};
        if (!strcmp(name, "atoms")) nd.kind = E_ATOMS;
        else if (!strcmp(name, "array") && (nd.sub = name_attr_is(s->xr, n2, 2))) nd.kind = E_ARRAY;
    } else if (pk == E_ARRAY && !strcmp(name, "set")) {
        nd.kind = E_SET, nd.sub = par->sub;
    } else if (pk == E_SET && !strcmp(name, "rc")) {
        nd.kind = E_RC, nd.sub = par->sub;
        s->c_index = 0;
    } else if (pk == E_RC && !strcmp(name, "c")) {
        nd.kind = E_C, nd.sub = s->c_index++ == 0 ? par->sub : 0;
    } else if (pk == E_CALC) {
        static const char *const n3[] = {"forces", "stress"};
        if (!strcmp(name, "scstep")) {
            nd.kind = E_SCSTEP, nd.sc = 1;
            memset(s->have_sc, 0, sizeof s->have_sc);
        } else if (!strcmp(name, "energy")) {
            nd.kind = E_ENERGY;
        } else if (!strcmp(name, "structure")) {
            nd.kind = E_STRUCTURE;
            s->basis.n = s->pos.n = 0;
            s->have_structure = 1;
        } else if (!strcmp(name, "varray") && (nd.sub = name_attr_is(s->xr, n3, 2))) {
            nd.kind = E_VARRAY;
            nd.sub = nd.sub == 1 ? V_FORCES : V_STRESS;
            rows *r = nd.sub == V_FORCES ? &s->forces : &s->stress;
            r->n = 0;
            *(nd.sub == V_FORCES ? &s->have_forces : &s->have_stress) = 1;
        }
    } else if (pk == E_SCSTEP && !strcmp(name, "energy")) {
        nd.kind = E_ENERGY;
    } else if (pk == E_ENERGY && !strcmp(name, "i")) {
        static const char *const n4[] = {"e_fr_energy", "e_wo_entrp", "e_0_energy"};
        int k = name_attr_is(s->xr, n4, 3);
        if (k) nd.kind = E_I, nd.sub = I_EFR + k - 1;
    } else if (pk == E_STRUCTURE) {
        static const char *const n5[] = {"positions"};
        if (!strcmp(name, "crystal")) nd.kind = E_CRYSTAL;
        else if (!strcmp(name, "varray") && name_attr_is(s->xr, n5, 1)) nd.kind = E_VARRAY, nd.sub = V_POS;
    } else if (pk == E_CRYSTAL && !strcmp(name, "varray")) {
        static const char *const n6[] = {"basis"};
        if (name_attr_is(s->xr, n6, 1)) nd.kind = E_VARRAY, nd.sub = V_BASIS;
    } else if (pk == E_VARRAY && !strcmp(name, "v")) {
        nd.kind = E_V, nd.sub = par->sub;
    }
    if (s->depth >= MAXDEPTH)
        return st_fail(ctx, ST_ERR_PARSE, "%s: line %d: elements nested too deeply", s->src->name,
                       cur_line(s));
    s->stack[s->depth++] = nd;
    int leaf = nd.kind == E_I || nd.kind == E_ATOMS || nd.kind == E_V || (nd.kind == E_C && nd.sub);
    if (leaf) {
        s->collect = s->depth;
        s->tlen = 0;
        if (s->text) s->text[0] = 0;
    }
    return ST_OK;
}

static int end_atominfo(st_ctx *ctx, vr_state *s)
{
    char buf[200];
    if (s->natoms_decl >= 0 && s->natoms_decl != s->nspecies)
        return st_fail(ctx, ST_ERR_PARSE, "%s: line %d: <atominfo>: <atoms> says %lld atoms but the "
                       "'atoms' array lists %lld (%s)", s->src->name, cur_line(s),
                       (long long)s->natoms_decl, (long long)s->nspecies, species_list(s, buf, sizeof buf));
    if (s->have_types && s->ntypes_sum != s->nspecies)
        return st_fail(ctx, ST_ERR_PARSE, "%s: line %d: <atominfo>: 'atomtypes' counts add up to %lld "
                       "atoms but the 'atoms' array lists %lld (%s)", s->src->name, cur_line(s),
                       (long long)s->ntypes_sum, (long long)s->nspecies, species_list(s, buf, sizeof buf));
    if (!s->nspecies)
        return st_fail(ctx, ST_ERR_PARSE, "%s: line %d: <atominfo> lists no atoms", s->src->name,
                       cur_line(s));
    s->have_atominfo = 1;
    return ST_OK;
}

static int end_leaf(st_ctx *ctx, vr_state *s, const vnode *nd)
{
    const char *t = s->text ? s->text : "";
    double v[3];
    int rc = ST_OK;
    switch (nd->kind) {
    case E_ATOMS:
        if ((rc = parse_values(ctx, s, "<atominfo><atoms>", v, 1))) return rc;
        if (!(v[0] >= 0 && v[0] <= 1e9 && v[0] == floor(v[0])))
            return st_fail(ctx, ST_ERR_PARSE, "%s: line %d: <atoms>: expected an atom count, got '%.40s'",
                           s->src->name, cur_line(s), t);
        s->natoms_decl = (int64_t)v[0];
        return ST_OK;
    case E_C:
        if (nd->sub == A_ATOMS) {
            char *sym = trimmed(t);
            if (!sym) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", s->src->name);
            if (sym[0]) {
                sym[0] = (char)toupper((unsigned char)sym[0]);
                for (char *q = sym + 1; *q; q++) *q = (char)tolower((unsigned char)*q);
            }
            int z = st_element_number(sym);
            if (z <= 0) {
                rc = st_fail(ctx, ST_ERR_PARSE, "%s: line %d: <atominfo> atom %lld: unknown element '%.20s'",
                             s->src->name, cur_line(s), (long long)s->nspecies + 1, sym);
                free(sym);
                return rc;
            }
            free(sym);
            if (s->nspecies == s->capspecies) {
                int64_t cap = s->capspecies ? s->capspecies * 2 : 64;
                int32_t *sp = realloc(s->species, (size_t)cap * sizeof *sp);
                if (!sp) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", s->src->name);
                s->species = sp;
                s->capspecies = cap;
            }
            s->species[s->nspecies++] = z;
        } else if (nd->sub == A_TYPES) {
            if ((rc = parse_values(ctx, s, "<atominfo> atomtypes atomspertype", v, 1))) return rc;
            if (!(v[0] >= 0 && v[0] <= 1e9 && v[0] == floor(v[0])))
                return st_fail(ctx, ST_ERR_PARSE, "%s: line %d: atomtypes: expected an atom count, got "
                               "'%.40s'", s->src->name, cur_line(s), t);
            s->ntypes_sum += (int64_t)v[0];
            s->have_types = 1;
        }
        return ST_OK;
    case E_I:
        if (nd->sub == I_SYSTEM) {
            free(s->system);
            s->system = trimmed(t);
            return s->system ? ST_OK : st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", s->src->name);
        } else {
            static const char *const nm[5] = {"", "", "e_fr_energy", "e_wo_entrp", "e_0_energy"};
            if ((rc = parse_values(ctx, s, nm[nd->sub], v, 1))) return rc;
            if (nd->sc) s->sc[nd->sub] = v[0], s->have_sc[nd->sub] = 1;
            else s->e[nd->sub] = v[0], s->have_e[nd->sub] = 1;
        }
        return ST_OK;
    case E_V: {
        static const char *const vn[5] = {"", "varray 'basis'", "varray 'positions'",
                                          "varray 'forces'", "varray 'stress'"};
        if ((rc = parse_values(ctx, s, vn[nd->sub], v, 3))) return rc;
        rows *r = nd->sub == V_BASIS ? &s->basis : nd->sub == V_POS ? &s->pos
                : nd->sub == V_FORCES ? &s->forces : &s->stress;
        if ((nd->sub == V_BASIS || nd->sub == V_STRESS) && r->n == 3)
            return st_fail(ctx, ST_ERR_PARSE, "%s: line %d: %s has more than 3 rows", s->src->name,
                           cur_line(s), vn[nd->sub]);
        if (nd->sub == V_POS || nd->sub == V_FORCES) {
            /* Bound by the species count so garbage cannot grow memory without limit. */
            if (r->n == s->nspecies) {
                char buf[200];
                return st_fail(ctx, ST_ERR_PARSE, "%s: line %d: <calculation> %lld: %s has more rows "
                               "than the %lld atoms of <atominfo> (%s)", s->src->name, cur_line(s),
                               (long long)s->ncalc + 1, vn[nd->sub], (long long)s->nspecies,
                               species_list(s, buf, sizeof buf));
            }
        }
        return rows_push(ctx, s, r, v);
    }
    }
    return ST_OK;
}

static int on_end(st_ctx *ctx, vr_state *s)
{
    if (!s->depth) return ST_OK;
    vnode nd = s->stack[--s->depth];
    int rc = ST_OK;
    if (s->collect == s->depth + 1) {
        s->collect = 0;
        rc = end_leaf(ctx, s, &nd);
    }
    if (rc) return rc;
    if (nd.kind == E_ATOMINFO) return end_atominfo(ctx, s);
    if (nd.kind == E_VARRAY && (nd.sub == V_POS || nd.sub == V_FORCES)) {
        /* Checked here, not at </calculation>, so the message points at the varray. */
        const rows *r = nd.sub == V_POS ? &s->pos : &s->forces;
        char buf[200];
        if (r->n != s->nspecies)
            return st_fail(ctx, ST_ERR_PARSE, "%s: line %d: <calculation> %lld: varray '%s' has %lld "
                           "rows, but <atominfo> lists %lld atoms (%s)", s->src->name, cur_line(s),
                           (long long)s->ncalc + 1, nd.sub == V_POS ? "positions" : "forces",
                           (long long)r->n, (long long)s->nspecies, species_list(s, buf, sizeof buf));
    }
    if (nd.kind == E_CALC) s->frame_ready = 1;
    return ST_OK;
}

/* ---------------------------------------------------------------- frames */
static int build_frame(st_ctx *ctx, vr_state *s, st_atoms **out)
{
    char buf[200];
    long long step = (long long)s->ncalc + 1;
    int line = cur_line(s);
    const char *nm = s->src->name;
    if (!s->have_structure || s->basis.n != 3)
        return st_fail(ctx, ST_ERR_PARSE, "%s: line %d: <calculation> %lld (line %lld): %s", nm, line,
                       step, (long long)s->calc_line,
                       !s->have_structure ? "no <structure>" : "<crystal> varray 'basis' needs 3 rows");
    int64_t n = s->nspecies;
    if (s->pos.n != n)
        return st_fail(ctx, ST_ERR_PARSE, "%s: line %d: <calculation> %lld: varray 'positions' has %lld "
                       "rows, but <atominfo> lists %lld atoms (%s)", nm, line, step,
                       (long long)s->pos.n, (long long)n, species_list(s, buf, sizeof buf));
    if (s->have_forces && s->forces.n != n)
        return st_fail(ctx, ST_ERR_PARSE, "%s: line %d: <calculation> %lld: varray 'forces' has %lld "
                       "rows, but <atominfo> lists %lld atoms (%s)", nm, line, step,
                       (long long)s->forces.n, (long long)n, species_list(s, buf, sizeof buf));
    if (s->have_stress && s->stress.n != 3)
        return st_fail(ctx, ST_ERR_PARSE, "%s: line %d: <calculation> %lld: varray 'stress' has %lld "
                       "rows, expected 3", nm, line, step, (long long)s->stress.n);
    if (!s->have_e[I_EFR])
        return st_fail(ctx, ST_ERR_PARSE, "%s: line %d: <calculation> %lld (line %lld): no <energy> "
                       "with e_fr_energy", nm, line, step, (long long)s->calc_line);
    st_atoms *a = st_atoms_create(n);
    if (!a) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", nm);
    double *cell = st_atoms_cell(a);
    memcpy(cell, s->basis.v, 9 * sizeof *cell);
    int32_t *pbc = st_atoms_pbc(a);
    pbc[0] = pbc[1] = pbc[2] = 1;
    st_frac_to_cart(cell, n, s->pos.v, st_atoms_positions(a));
    memcpy(st_atoms_numbers(a), s->species, (size_t)n * sizeof(int32_t));
    int rc = ST_OK;
    if (s->have_forces) {
        int k = st_atoms_array_add(ctx, a, "forces", ST_KIND_REAL, 3);
        if (k < 0) rc = st_ctx_status(ctx) ? st_ctx_status(ctx) : ST_ERR_NOMEM;
        else memcpy(st_atoms_array_data(a, k), s->forces.v, (size_t)n * 3 * sizeof(double));
    }
    double free_e = s->e[I_EFR], energy;
    if (s->have_sc[I_EFR] && s->have_sc[I_E0]) energy = free_e + (s->sc[I_E0] - s->sc[I_EFR]);
    else if (s->have_e[I_E0]) energy = s->e[I_E0];
    else energy = free_e;
    if (!rc) rc = st_atoms_info_set_real(ctx, a, "energy", 0, NULL, &energy);
    if (!rc) rc = st_atoms_info_set_real(ctx, a, "free_energy", 0, NULL, &free_e);
    if (!rc && s->have_stress) {
        double st[9];
        for (int i = 0; i < 9; i++) st[i] = -KBAR_TO_EV_PER_A3 * s->stress.v[i];
        int64_t shp[2] = {3, 3};
        rc = st_atoms_info_set_real(ctx, a, "stress", 2, shp, st);
    }
    if (!rc && s->system) rc = st_atoms_info_set_string(ctx, a, "system", s->system);
    if (rc) {
        st_atoms_destroy(a);
        return rc;
    }
    *out = a;
    return ST_OK;
}

static int vr_step(st_ctx *ctx, vr_state *s, st_source *src, st_atoms **out);

static int vr_next(st_ctx *ctx, void *state, st_source *src, st_atoms **out)
{
    vr_state *s = state;
    /* Silence libxml2's global (per-thread) handlers while we parse; restore them after. */
    xmlGenericErrorFunc old_generic = xmlGenericError;
    void *old_generic_ctx = xmlGenericErrorContext;
    xmlStructuredErrorFunc old_structured = xmlStructuredError;
    void *old_structured_ctx = xmlStructuredErrorContext;
    xmlSetGenericErrorFunc(s, on_generic_error);
    xmlSetStructuredErrorFunc(s, on_generic_structured);
    int rc = vr_step(ctx, s, src, out);
    xmlSetGenericErrorFunc(old_generic_ctx, old_generic);
    xmlSetStructuredErrorFunc(old_structured_ctx, old_structured);
    return rc;
}

static int vr_step(st_ctx *ctx, vr_state *s, st_source *src, st_atoms **out)
{
    *out = NULL;
    for (;;) {
        int r = xmlTextReaderRead(s->xr);
        if (r < 0) {
            if (!s->xmlerr)
                snprintf(s->xmlmsg, sizeof s->xmlmsg, "%s", s->generic[0] ? s->generic : "unreadable XML");
            int line = s->xmlline > 0 ? s->xmlline : xmlTextReaderGetParserLineNumber(s->xr);
            /* An error with the whole input consumed and elements still open is a cut file
             * (libxml2 then says "Extra content...", "Premature end..." or "Couldn't find end
             * of Start Tag"): name the step that was left open. */
            int at_eof = s->src->fp ? feof(s->src->fp) : s->src->mempos >= s->src->memlen;
            if (s->depth && at_eof) {
                const vnode *open = &s->stack[s->depth > 1 ? 1 : 0];   /* e.g. <calculation> */
                return st_fail(ctx, ST_ERR_PARSE, "%s: line %d: the file ends inside <%s> (opened at "
                               "line %ld): truncated XML (libxml2: %s)", src->name, line,
                               open->name, open->line, s->xmlmsg);
            }
            if (!s->nonblank)
                return st_fail(ctx, ST_ERR_PARSE, "%s: empty file (no XML content)", src->name);
            return st_fail(ctx, ST_ERR_PARSE, "%s: line %d: malformed XML: %s", src->name, line,
                           s->xmlmsg);
        }
        if (r == 0) break;
        int type = xmlTextReaderNodeType(s->xr), rc = ST_OK;
        if (type == XML_READER_TYPE_ELEMENT) {
            const char *name = (const char *)xmlTextReaderConstLocalName(s->xr);
            rc = on_start(ctx, s, name ? name : "");
            if (!rc && xmlTextReaderIsEmptyElement(s->xr)) rc = on_end(ctx, s);
        } else if (type == XML_READER_TYPE_END_ELEMENT) {
            rc = on_end(ctx, s);
        } else if ((type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA ||
                    type == XML_READER_TYPE_SIGNIFICANT_WHITESPACE || type == XML_READER_TYPE_WHITESPACE) &&
                   s->collect && s->collect == s->depth) {
            const char *v = (const char *)xmlTextReaderConstValue(s->xr);
            if (v) rc = text_append(ctx, s, v);
        }
        if (rc) return rc;
        if (s->frame_ready) {
            s->frame_ready = 0;
            if ((rc = build_frame(ctx, s, out))) return rc;
            s->ncalc++;
            if (s->ncalc % 64 == 0 && (rc = st_check_interrupt(ctx, src->name))) {
                st_atoms_destroy(*out);
                *out = NULL;
                return rc;
            }
            return ST_OK;
        }
    }
    if (!s->root_seen)
        return st_fail(ctx, ST_ERR_PARSE, "%s: no XML content (empty file)", src->name);
    if (!s->ncalc)
        return st_fail(ctx, ST_ERR_PARSE, "%s: no <calculation> (ionic step) in the file", src->name);
    return ST_OK;
}

static int vr_probe(const char *head, size_t n)
{
    for (size_t i = 0; i + 9 <= n; i++)
        if (!memcmp(head + i, "<modeling", 9)) return 95;
    return 0;
}

const st_format st_format_vasprun = {"vasprun", "vasprun*.xml", vr_probe, vr_open, vr_next,
                                     vr_close, NULL, NULL};
