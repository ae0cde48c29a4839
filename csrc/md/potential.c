/* potential.c -- the potential registry (libxc style: a table of function pointers with a name and
 * an ABI version, found by name), the evaluation driver shared by st_md_potential_compute and the
 * integrators, and small helpers every potential uses (species maps, "key=value" parameters, a
 * line-counting tokenizer for potential files, per-thread force buffers).
 *
 * The driver hands each class the positions of real atoms plus their periodic images (see
 * nlist.c); classes add forces on all entries.  The driver then computes the virial as
 * W = sum_k f_k (x) x_k over all entries (exact for any energy that depends only on differences of
 * the entries, the "fdotr" identity), and folds image forces onto their atoms.  Coordinate models
 * get the raw positions and their virial is sum_i f_i (x) x_i with those positions.
 *
 * Not done: thread safety of registration; a potential object must not be evaluated from two
 * threads at once (its scratch buffers are per object).
 */
#include "md_internal.h"
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

double st_md_constant(int id)
{
    switch (id) {
    case ST_MD_KB: return MD_KB;
    case ST_MD_MVV2E: return MD_MVV2E;
    case ST_MD_EVA3_TO_BAR: return MD_EVA3_TO_BAR;
    default: return NAN;
    }
}

/* ---- registry ---- */
static const st_md_potential_class *const builtin[] = {
    &md_class_lj, &md_class_morse, &md_class_eam, &md_class_eam_alloy, &md_class_sw, &md_class_tersoff,
    &md_class_mb, &md_class_mb_scaled, &md_class_mb5d, &md_class_mb_rings, &md_class_threewell, &md_class_threewell_scaled,
    &md_class_harmonic};
enum { NBUILTIN = sizeof builtin / sizeof builtin[0], MAXEXTRA = 64 };
static const st_md_potential_class *extra[MAXEXTRA];
static int nextra;

int st_md_potential_class_count(void) { return NBUILTIN + nextra; }

static const st_md_potential_class *class_at(int idx)
{
    if (idx < 0) return NULL;
    if (idx < NBUILTIN) return builtin[idx];
    if (idx < NBUILTIN + nextra) return extra[idx - NBUILTIN];
    return NULL;
}

const char *st_md_potential_class_name(int idx)
{
    const st_md_potential_class *c = class_at(idx);
    return c ? c->name : NULL;
}

static const st_md_potential_class *find_class(const char *name)
{
    for (int i = 0; i < st_md_potential_class_count(); i++) {
        const st_md_potential_class *c = class_at(i);
        if (c && c->name && !strcmp(c->name, name)) return c;
    }
    return NULL;
}

int st_md_potential_register(st_ctx *ctx, const st_md_potential_class *cls)
{
    if (!cls || !cls->name || !cls->create || !cls->compute || !cls->cutoff)
        return st_fail(ctx, ST_ERR_ARG, "md potential register: class is NULL or lacks name/create/cutoff/compute");
    if (cls->abi_version != ST_MD_POTENTIAL_ABI)
        return st_fail(ctx, ST_ERR_ABI, "md potential register: '%s' was built for potential ABI %d, this library has %d",
                       cls->name, (int)cls->abi_version, (int)ST_MD_POTENTIAL_ABI);
    if (find_class(cls->name))
        return st_fail(ctx, ST_ERR_ARG, "md potential register: a potential named '%s' already exists", cls->name);
    if (nextra >= MAXEXTRA)
        return st_fail(ctx, ST_ERR_NOMEM, "md potential register: registry full (%d plugins)", MAXEXTRA);
    extra[nextra++] = cls;
    return ST_OK;
}

int st_md_potential_create(st_ctx *ctx, const char *name, const st_md_potential_options *opt,
                           st_md_potential **out)
{
    if (!out) return st_fail(ctx, ST_ERR_ARG, "md potential: out is NULL");
    *out = NULL;
    if (!name) return st_fail(ctx, ST_ERR_ARG, "md potential: name is NULL");
    const st_md_potential_class *c = find_class(name);
    if (!c) {
        char known[512];
        size_t k = 0;
        known[0] = 0;
        for (int i = 0; i < st_md_potential_class_count() && k + 40 < sizeof known; i++)
            k += (size_t)snprintf(known + k, sizeof known - k, "%s%s", i ? ", " : "", st_md_potential_class_name(i));
        return st_fail(ctx, ST_ERR_NOTFOUND, "md potential: unknown potential '%s' (known: %s)", name, known);
    }
    if (c->abi_version != ST_MD_POTENTIAL_ABI)
        return st_fail(ctx, ST_ERR_ABI, "md potential: '%s' has ABI %d, expected %d", name, (int)c->abi_version,
                       (int)ST_MD_POTENTIAL_ABI);
    st_md_potential_options none = {0};
    st_md_potential *p = calloc(1, sizeof *p);
    if (!p) return st_fail(ctx, ST_ERR_NOMEM, "md potential: out of memory");
    p->cls = c;
    int rc = c->create(ctx, opt ? opt : &none, &p->state);
    if (rc != ST_OK) {
        free(p);
        if (st_ctx_status(ctx) == ST_OK) st_fail(ctx, rc, "md potential '%s': create failed", name);
        return rc;
    }
    *out = p;
    return ST_OK;
}

void st_md_potential_destroy(st_md_potential *pot)
{
    if (!pot) return;
    if (pot->cls->destroy) pot->cls->destroy(pot->state);
    free(pot);
}

const char *st_md_potential_name(const st_md_potential *pot) { return pot ? pot->cls->name : NULL; }

double st_md_potential_cutoff(const st_md_potential *pot)
{
    if (!pot || (pot->cls->flags & ST_MD_POT_COORDINATES)) return 0;
    return pot->cls->cutoff(pot->state);
}

/* ---- evaluation driver ---- */
static int grow(double **p, int64_t *cap, int64_t need)
{
    if (need <= *cap) return 1;
    double *q = realloc(*p, sizeof(double) * (size_t)(need > 0 ? need : 1));
    if (!q) return 0;
    *p = q;
    *cap = need;
    return 1;
}

void md_eval_free(md_eval *ev)
{
    free(ev->fext);
    free(ev->fbuf);
    ev->fext = ev->fbuf = NULL;
    ev->fext_cap = ev->fbuf_cap = 0;
}

int md_evaluate(st_ctx *ctx, md_eval *ev, st_md_potential **pots, int npots, st_md_nlist *nl, int rebuild,
                int64_t n, const double *x, const int32_t *numbers, const double *cell, const int32_t *pbc,
                double *forces, double *atom_energies, int *rebuilt)
{
    if (rebuilt) *rebuilt = 0;
    ev->energy = 0;
    memset(ev->virial, 0, sizeof ev->virial);
    memset(forces, 0, sizeof(double) * 3 * (size_t)n);
    if (atom_energies) memset(atom_energies, 0, sizeof(double) * (size_t)n);
    int need_list = 0, need_full = 0;
    double cut = 0;
    for (int p = 0; p < npots; p++) {
        if (pots[p]->cls->flags & ST_MD_POT_COORDINATES) continue;
        need_list = 1;
        if (pots[p]->cls->flags & ST_MD_POT_FULL_LIST) need_full = 1;
        double c = pots[p]->cls->cutoff(pots[p]->state);
        if (c > cut) cut = c;
    }
    static const int32_t zero3[3] = {0, 0, 0};
    if (!pbc) pbc = zero3;
    int nth = st_threads();
    if (nth > 64) nth = 64;
    if (need_list) {
        if (!nl) return st_fail(ctx, ST_ERR_INTERNAL, "md evaluate: neighbour list missing");
        if (nl->cutoff < cut)
            return st_fail(ctx, ST_ERR_ARG, "md evaluate: neighbour list cutoff %g Å is below the potential cutoff %g Å",
                           nl->cutoff, cut);
        if (need_full && !nl->full) md_nlist_ensure_full(ctx, nl, 1);
        int rb = 0;
        if (rebuild == 2 || !nl->valid || (rebuild == 1 && md_nlist_needs_rebuild(nl, n, x, cell, pbc, NULL))) {
            int rc = md_nlist_build(ctx, nl, n, x, cell, pbc);
            if (rc) return rc;
            rb = 1;
        } else {
            if (nl->n != n) return st_fail(ctx, ST_ERR_ARG, "md evaluate: list built for %lld atoms, got %lld",
                                           (long long)nl->n, (long long)n);
            md_nlist_refresh(nl, x, cell);
        }
        if (rebuilt) *rebuilt = rb;
        const int64_t next = nl->next;
        if (!grow(&ev->fext, &ev->fext_cap, 3 * next))
            return st_fail(ctx, ST_ERR_NOMEM, "md evaluate: out of memory (%lld entries)", (long long)next);
        double *fe = ev->fext;
        memset(fe, 0, sizeof(double) * 3 * (size_t)next);
        for (int p = 0; p < npots; p++) {
            st_md_potential *pot = pots[p];
            if (pot->cls->flags & ST_MD_POT_COORDINATES) continue;
            st_md_pot_args a;
            memset(&a, 0, sizeof a);
            a.n = n;
            a.next = next;
            a.x = nl->x;
            a.src = nl->src;
            a.numbers = numbers;
            a.cell = cell;
            a.pbc = pbc;
            a.cutoff = nl->cutoff + nl->skin;
            a.half_offsets = nl->half_off;
            a.half_index = nl->half_idx;
            if (pot->cls->flags & ST_MD_POT_FULL_LIST) {
                a.full_offsets = nl->full_off;
                a.full_index = nl->full_idx;
            }
            a.forces = fe;
            a.atom_energies = atom_energies;
            a.nthreads = nth;
            int rc = pot->cls->compute(ctx, pot->state, &a);
            if (rc) return rc;
            ev->energy += a.energy;
        }
        /* virial W_ab = sum_k f_k,a x_k,b over all entries, then fold images onto their atoms */
        double w[9] = {0};
        const double *xe = nl->x;
        for (int64_t k = 0; k < next; k++) {
            const double *f = fe + 3 * k, *r = xe + 3 * k;
            for (int a2 = 0; a2 < 3; a2++) {
                w[3 * a2] += f[a2] * r[0];
                w[3 * a2 + 1] += f[a2] * r[1];
                w[3 * a2 + 2] += f[a2] * r[2];
            }
        }
        for (int i = 0; i < 9; i++) ev->virial[i] += w[i];
        memcpy(forces, fe, sizeof(double) * 3 * (size_t)n);
        const int32_t *src = nl->src;
        for (int64_t k = n; k < next; k++) {
            double *f = forces + 3 * (int64_t)src[k];
            f[0] += fe[3 * k];
            f[1] += fe[3 * k + 1];
            f[2] += fe[3 * k + 2];
        }
    }
    for (int p = 0; p < npots; p++) {
        st_md_potential *pot = pots[p];
        if (!(pot->cls->flags & ST_MD_POT_COORDINATES)) continue;
        if (!grow(&ev->fbuf, &ev->fbuf_cap, 3 * n))
            return st_fail(ctx, ST_ERR_NOMEM, "md evaluate: out of memory");
        double *fl = ev->fbuf;
        memset(fl, 0, sizeof(double) * 3 * (size_t)n);
        st_md_pot_args a;
        memset(&a, 0, sizeof a);
        a.n = n;
        a.next = n;
        a.x = x;
        a.numbers = numbers;
        a.cell = cell;
        a.pbc = pbc;
        a.forces = fl;
        a.atom_energies = atom_energies;
        a.nthreads = nth;
        int rc = pot->cls->compute(ctx, pot->state, &a);
        if (rc) return rc;
        ev->energy += a.energy;
        for (int64_t i = 0; i < n; i++)
            for (int a2 = 0; a2 < 3; a2++) {
                double f = fl[3 * i + a2];
                forces[3 * i + a2] += f;
                for (int b = 0; b < 3; b++) ev->virial[3 * a2 + b] += f * x[3 * i + b];
            }
    }
    return ST_OK;
}

int st_md_potential_compute(st_ctx *ctx, st_md_potential *pot, st_md_nlist *nl, int64_t n,
                            const double *positions, const int32_t *numbers, const double *cell,
                            const int32_t *pbc, st_md_result *res)
{
    if (!pot || !res) return st_fail(ctx, ST_ERR_ARG, "md potential compute: NULL potential or result");
    if (n < 0 || (n > 0 && !positions))
        return st_fail(ctx, ST_ERR_ARG, "md potential compute: bad positions (n = %lld)", (long long)n);
    int coords = (pot->cls->flags & ST_MD_POT_COORDINATES) != 0;
    if (!coords && !numbers && n > 0)
        return st_fail(ctx, ST_ERR_ARG, "%s: atomic numbers are required", pot->cls->name);
    st_md_nlist *tmp = NULL;
    if (!coords && !nl) {
        int rc = st_md_nlist_create(ctx, pot->cls->cutoff(pot->state), 0.0,
                                    (pot->cls->flags & ST_MD_POT_FULL_LIST) != 0, &tmp);
        if (rc) return rc;
        nl = tmp;
    }
    double *f = res->forces ? res->forces : malloc(sizeof(double) * (size_t)(3 * n + 3));
    if (!f) { st_md_nlist_destroy(tmp); return st_fail(ctx, ST_ERR_NOMEM, "md potential compute: out of memory"); }
    md_eval ev;
    memset(&ev, 0, sizeof ev);
    int rc = md_evaluate(ctx, &ev, &pot, 1, nl, 1, n, positions, numbers, cell, pbc, f, res->atom_energies, NULL);
    if (rc == ST_OK) {
        res->energy = ev.energy;
        memcpy(res->virial, ev.virial, sizeof res->virial);
    }
    md_eval_free(&ev);
    if (!res->forces) free(f);
    st_md_nlist_destroy(tmp);
    return rc;
}

/* ---- per-thread force buffers ---- */
int md_tforce_init(st_ctx *ctx, md_tforce *tf, st_md_pot_args *a, int nthreads)
{
    if (nthreads < 1) nthreads = 1;
    if (nthreads > 64) nthreads = 64;
    tf->nthreads = nthreads;
    int64_t len = 3 * a->next + (a->atom_energies ? a->n : 0);
    tf->len = len;
    tf->f[0] = a->forces;
    tf->e[0] = a->atom_energies;
    if (nthreads > 1) {
        int64_t need = len * (nthreads - 1);
        if (need > tf->cap) {
            double *m = realloc(tf->mem, sizeof(double) * (size_t)need);
            if (!m) return st_fail(ctx, ST_ERR_NOMEM, "md: out of memory (per-thread forces)");
            tf->mem = m;
            tf->cap = need;
        }
        memset(tf->mem, 0, sizeof(double) * (size_t)need);
        for (int t = 1; t < nthreads; t++) {
            tf->f[t] = tf->mem + (t - 1) * len;
            tf->e[t] = a->atom_energies ? tf->f[t] + 3 * a->next : NULL;
        }
    }
    return ST_OK;
}

void md_tforce_reduce(md_tforce *tf, st_md_pot_args *a)
{
    if (tf->nthreads <= 1) return;
    const int T = tf->nthreads;
    const int64_t nf = 3 * a->next;
    double *f0 = a->forces;
#pragma omp parallel for num_threads(T) schedule(static)
    for (int64_t j = 0; j < nf; j++) {
        double s = f0[j];
        for (int t = 1; t < T; t++) s += tf->f[t][j];
        f0[j] = s;
    }
    if (a->atom_energies)
        for (int64_t i = 0; i < a->n; i++)
            for (int t = 1; t < T; t++) a->atom_energies[i] += tf->e[t][i];
}

void md_tforce_free(md_tforce *tf)
{
    free(tf->mem);
    tf->mem = NULL;
    tf->cap = 0;
}

/* ---- species ---- */
void md_species_init(md_species *sp)
{
    sp->ntypes = 0;
    memset(sp->z2t, -1, sizeof sp->z2t);
}

int md_species_add(md_species *sp, int z)
{
    if (z < 0 || z > 118) return -1;
    if (sp->z2t[z] >= 0) return sp->z2t[z];
    if (sp->ntypes >= 16) return -1;
    sp->z[sp->ntypes] = z;
    sp->z2t[z] = (int8_t)sp->ntypes;
    return sp->ntypes++;
}

int md_species_types(st_ctx *ctx, const md_species *sp, const char *label, const st_md_pot_args *a, int32_t *type)
{
    for (int64_t i = 0; i < a->n; i++) {
        int z = a->numbers ? a->numbers[i] : 0;
        int t = (z >= 0 && z <= 118) ? sp->z2t[z] : -1;
        if (t < 0) {
            char have[200];
            size_t k = 0;
            have[0] = 0;
            for (int j = 0; j < sp->ntypes && k + 8 < sizeof have; j++) {
                const char *sym = st_element_symbol(sp->z[j]);
                k += (size_t)snprintf(have + k, sizeof have - k, "%s%s", j ? " " : "", sym ? sym : "?");
            }
            const char *sym = (z >= 0 && z <= 118) ? st_element_symbol(z) : NULL;
            return st_fail(ctx, ST_ERR_NOTFOUND, "%s: atom %lld is %s (Z=%d), which the potential does not define "
                           "(it has: %s)", label, (long long)i, sym ? sym : "unknown", z, have);
        }
        type[i] = t;
    }
    for (int64_t k = a->n; k < a->next; k++) type[k] = type[a->src[k]];
    return ST_OK;
}

/* ---- parameters ---- */
int md_parse_params(st_ctx *ctx, const char *label, const char *params, const char **keys, double *vals, int *given)
{
    int nk = 0;
    while (keys[nk]) nk++;
    for (int i = 0; i < nk; i++) given[i] = 0;
    if (!params) return ST_OK;
    const char *p = params;
    while (*p) {
        while (*p && (isspace((unsigned char)*p) || *p == ',' || *p == ';')) p++;
        if (!*p) break;
        const char *k0 = p;
        while (*p && *p != '=' && !isspace((unsigned char)*p) && *p != ',') p++;
        size_t kl = (size_t)(p - k0);
        while (*p && isspace((unsigned char)*p)) p++;
        if (*p != '=')
            return st_fail(ctx, ST_ERR_PARSE, "%s: params: '%.*s': expected key=value", label, (int)kl, k0);
        p++;
        while (*p && isspace((unsigned char)*p)) p++;
        const char *v0 = p;
        while (*p && !isspace((unsigned char)*p) && *p != ',' && *p != ';') p++;
        size_t vl = (size_t)(p - v0);
        int idx = -1;
        for (int i = 0; i < nk; i++)
            if (strlen(keys[i]) == kl && !strncmp(keys[i], k0, kl)) idx = i;
        if (idx < 0) {
            char known[256];
            size_t q = 0;
            known[0] = 0;
            for (int i = 0; i < nk && q + 20 < sizeof known; i++)
                q += (size_t)snprintf(known + q, sizeof known - q, "%s%s", i ? " " : "", keys[i]);
            return st_fail(ctx, ST_ERR_ARG, "%s: params: unknown key '%.*s' (known: %s)", label, (int)kl, k0, known);
        }
        char buf[64];
        if (vl == 0 || vl >= sizeof buf)
            return st_fail(ctx, ST_ERR_PARSE, "%s: params: '%s': expected a number, got '%.*s'", label, keys[idx],
                           (int)(vl > 40 ? 40 : vl), v0);
        memcpy(buf, v0, vl);
        buf[vl] = 0;
        char *end;
        errno = 0;
        double v = strtod(buf, &end);
        if (*end || end == buf || !isfinite(v))
            return st_fail(ctx, ST_ERR_PARSE, "%s: params: '%s': expected a number, got '%s'", label, keys[idx], buf);
        vals[idx] = v;
        given[idx] = 1;
    }
    return ST_OK;
}

/* ---- tokenizer ---- */
int md_text_open(st_ctx *ctx, md_text *t, const char *path)
{
    memset(t, 0, sizeof *t);
    if (!path || !*path) return st_fail(ctx, ST_ERR_ARG, "potential file name is missing (options.file)");
    t->name = path;
    FILE *fp = fopen(path, "rb");
    if (!fp) return st_fail(ctx, ST_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (len + 4096 + 1 > cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) { free(buf); buf = NULL; break; }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len - 1, fp);
        len += got;
        if (got == 0) break;
    }
    int err = ferror(fp);
    fclose(fp);
    if (!buf) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory reading the file", path);
    if (err) { free(buf); return st_fail(ctx, ST_ERR_IO, "%s: read error", path); }
    buf[len] = 0;
    if (memchr(buf, 0, len)) { free(buf); return st_fail(ctx, ST_ERR_PARSE, "%s: binary data (NUL byte) in a text file", path); }
    t->buf = buf;
    t->len = len;
    t->cur_line = 1;
    t->cur_field = 0;
    t->line = 1;
    return ST_OK;
}

void md_text_close(md_text *t)
{
    free(t->buf);
    t->buf = NULL;
}

int md_text_token(md_text *t, int comments, char *tok, size_t cap)
{
    for (;;) {
        while (t->pos < t->len && t->buf[t->pos] != '\n' && isspace((unsigned char)t->buf[t->pos])) t->pos++;
        if (t->pos >= t->len) return 0;   /* t->line stays at the last token's line */
        char c = t->buf[t->pos];
        if (c == '\n') {
            t->pos++;
            t->cur_line++;
            t->cur_field = 0;
            continue;
        }
        if (comments && c == '#') {
            while (t->pos < t->len && t->buf[t->pos] != '\n') t->pos++;
            continue;
        }
        break;
    }
    size_t k = 0;
    while (t->pos < t->len) {
        char c = t->buf[t->pos];
        if (isspace((unsigned char)c) || (comments && c == '#')) break;
        if (k + 1 < cap) tok[k++] = c;
        t->pos++;
    }
    tok[k] = 0;
    t->cur_field++;
    t->line = t->cur_line;
    t->field = t->cur_field;
    return 1;
}

void md_text_skip_line(md_text *t)
{
    while (t->pos < t->len && t->buf[t->pos] != '\n') t->pos++;
    if (t->pos < t->len) {
        t->pos++;
        t->cur_line++;
        t->cur_field = 0;
    }
}

void md_text_rest_of_line(md_text *t, char *out, size_t cap)
{
    size_t k = 0;
    while (t->pos < t->len && t->buf[t->pos] != '\n') {
        if (k + 1 < cap && t->buf[t->pos] != '\r') out[k++] = t->buf[t->pos];
        t->pos++;
    }
    out[k] = 0;
}

int md_text_number(st_ctx *ctx, md_text *t, int comments, const char *what, double *out)
{
    char tok[128];
    if (!md_text_token(t, comments, tok, sizeof tok))
        return st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: %s: expected a number, the file ended", t->name,
                       (long long)t->line, what);
    char *end;
    double v = strtod(tok, &end);
    if (end == tok || *end || !isfinite(v))
        return st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: field %d (%s): expected a number, got '%s'", t->name,
                       (long long)t->line, t->field, what, tok);
    *out = v;
    return ST_OK;
}

int md_text_int(st_ctx *ctx, md_text *t, int comments, const char *what, long *out)
{
    char tok[128];
    if (!md_text_token(t, comments, tok, sizeof tok))
        return st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: %s: expected an integer, the file ended", t->name,
                       (long long)t->line, what);
    char *end;
    errno = 0;
    long v = strtol(tok, &end, 10);
    if (end == tok || *end || errno)
        return st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: field %d (%s): expected an integer, got '%s'", t->name,
                       (long long)t->line, t->field, what, tok);
    *out = v;
    return ST_OK;
}
