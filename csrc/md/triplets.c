/* triplets.c -- reader for LAMMPS three-body parameter files (.sw, .tersoff): entries of three
 * element symbols followed by a fixed number of numbers, free format across lines, '#' comments.
 * Every combination of the selected elements must be present exactly once.
 */
#include "md_internal.h"
#include "triplets.h"
#include <stdlib.h>
#include <string.h>

int md_triplets_read(st_ctx *ctx, const char *label, const char *path, const char *elements, int nvals,
                     const char *const *names, md_triplets *out)
{
    memset(out, 0, sizeof *out);
    md_species_init(&out->sp);
    int fixed = 0;
    if (elements && *elements) {
        const char *p = elements;
        while (*p) {
            while (*p == ' ' || *p == ',' || *p == '\t') p++;
            if (!*p) break;
            char sym[8];
            size_t k = 0;
            while (*p && *p != ' ' && *p != ',' && *p != '\t') {
                if (k + 1 < sizeof sym) sym[k++] = *p;
                p++;
            }
            sym[k] = 0;
            int z = st_element_number(sym);
            if (z <= 0) return st_fail(ctx, ST_ERR_ARG, "%s: elements: unknown element '%s'", label, sym);
            if (md_species_add(&out->sp, z) < 0) return st_fail(ctx, ST_ERR_ARG, "%s: elements: too many (max 8)", label);
            fixed = 1;
        }
        if (out->sp.ntypes > 8) return st_fail(ctx, ST_ERR_ARG, "%s: elements: too many (max 8)", label);
    }
    md_text t;
    int rc = md_text_open(ctx, &t, path);
    if (rc) return rc;
    /* first pass: collect entries into a growing array */
    typedef struct ent { int z[3]; double v[20]; int64_t line; } ent;
    ent *es = NULL;
    int nes = 0, caps = 0;
    char tok[64];
    for (;;) {
        if (!md_text_token(&t, 1, tok, sizeof tok)) break;
        if (nes == caps) {
            caps = caps ? 2 * caps : 64;
            ent *q = realloc(es, sizeof(ent) * (size_t)caps);
            if (!q) { free(es); md_text_close(&t); return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", label); }
            es = q;
        }
        ent *e = &es[nes];
        e->line = t.line;
        for (int s = 0; s < 3; s++) {
            if (s > 0 && !md_text_token(&t, 1, tok, sizeof tok)) {
                free(es);
                md_text_close(&t);
                return st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: entry truncated: expected element %d of 3", path,
                               (long long)t.line, s + 1);
            }
            int z = st_element_number(tok);
            if (z <= 0) {
                free(es);
                md_text_close(&t);
                return st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: field %d (element %d): expected an element symbol, got '%s'",
                               path, (long long)t.line, t.field, s + 1, tok);
            }
            e->z[s] = z;
        }
        char what[80];
        for (int v = 0; v < nvals; v++) {
            snprintf(what, sizeof what, "%s of %s-%s-%s", names[v], st_element_symbol(e->z[0]),
                     st_element_symbol(e->z[1]), st_element_symbol(e->z[2]));
            rc = md_text_number(ctx, &t, 1, what, &e->v[v]);
            if (rc) { free(es); md_text_close(&t); return rc; }
        }
        nes++;
    }
    md_text_close(&t);
    if (!fixed)
        for (int i = 0; i < nes; i++)
            for (int s = 0; s < 3; s++)
                if (md_species_add(&out->sp, es[i].z[s]) < 0 || out->sp.ntypes > 8) {
                    free(es);
                    return st_fail(ctx, ST_ERR_PARSE, "%s: more than 8 elements; select some with options.elements", path);
                }
    const int ne = out->sp.ntypes;
    if (ne == 0) { free(es); return st_fail(ctx, ST_ERR_PARSE, "%s: no entries found", path); }
    out->ne = ne;
    out->nvals = nvals;
    out->v = calloc((size_t)ne * ne * ne * nvals, sizeof(double));
    char *have = calloc((size_t)ne * ne * ne, 1);
    if (!out->v || !have) { free(es); free(have); md_triplets_free(out); return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", label); }
    for (int i = 0; i < nes; i++) {
        int a = out->sp.z2t[es[i].z[0]], b = out->sp.z2t[es[i].z[1]], c = out->sp.z2t[es[i].z[2]];
        if (a < 0 || b < 0 || c < 0) continue;   /* element not selected */
        int slot = (a * ne + b) * ne + c;
        if (have[slot]) {
            rc = st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: duplicate entry for %s-%s-%s", path, (long long)es[i].line,
                         st_element_symbol(es[i].z[0]), st_element_symbol(es[i].z[1]), st_element_symbol(es[i].z[2]));
            free(es); free(have); md_triplets_free(out);
            return rc;
        }
        have[slot] = 1;
        memcpy(out->v + (size_t)slot * nvals, es[i].v, sizeof(double) * (size_t)nvals);
    }
    free(es);
    for (int a = 0; a < ne; a++)
        for (int b = 0; b < ne; b++)
            for (int c = 0; c < ne; c++)
                if (!have[(a * ne + b) * ne + c]) {
                    rc = st_fail(ctx, ST_ERR_PARSE, "%s: no entry for %s-%s-%s", path, st_element_symbol(out->sp.z[a]),
                                 st_element_symbol(out->sp.z[b]), st_element_symbol(out->sp.z[c]));
                    free(have);
                    md_triplets_free(out);
                    return rc;
                }
    free(have);
    return ST_OK;
}

void md_triplets_free(md_triplets *t)
{
    free(t->v);
    t->v = NULL;
}

int md_threebody_begin(st_ctx *ctx, const char *label, st_md_pot_args *a, const md_triplets *tp,
                       int32_t **type, int64_t *type_cap, md_tforce *tf, size_t nbr_size, int *nth,
                       int64_t *maxnb_out, void **scratch)
{
    const int64_t n = a->n, next = a->next;
    *scratch = NULL;
    if (!a->full_offsets) return st_fail(ctx, ST_ERR_INTERNAL, "%s: full neighbour list missing", label);
    if (next > *type_cap) {
        int32_t *t = realloc(*type, sizeof(int32_t) * (size_t)next);
        if (!t) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", label);
        *type = t;
        *type_cap = next;
    }
    int rc = md_species_types(ctx, &tp->sp, label, a, *type);
    if (rc) return rc;
    int64_t maxnb = 1;
    for (int64_t i = 0; i < n; i++)
        if (a->full_offsets[i + 1] - a->full_offsets[i] > maxnb) maxnb = a->full_offsets[i + 1] - a->full_offsets[i];
    *maxnb_out = maxnb;
    *nth = a->nthreads;
    if ((int64_t)*nth > n / 1024 + 1) *nth = (int)(n / 1024 + 1);
    rc = md_tforce_init(ctx, tf, a, *nth);
    if (rc) return rc;
    *scratch = malloc(nbr_size * (size_t)(maxnb * *nth));
    if (!*scratch) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", label);
    return ST_OK;
}
