/* poscar.c -- VASP POSCAR/CONTCAR reader and writer.
 *
 * Layout (VASP wiki, "POSCAR"): comment; scaling factor (one number; negative = target cell
 * volume in Å^3; or three positive per-axis factors); three lattice vectors (rows a, b, c);
 * element symbols (VASP 5; absent in VASP 4, where we take the symbols from the comment line);
 * atom counts per species; optional "Selective dynamics" (first letter S/s); the coordinate mode
 * (first letter C/c/K/k = Cartesian, anything else = Direct); one line per atom; optionally a
 * blank or "Cartesian" line and one velocity line per atom (Å/fs, Cartesian).
 *
 * Read into: cell (scaled), positions in Å (Direct coordinates times the cell), numbers, pbc
 * T T T, info "comment", per-atom BOOL array "selective_dynamics" (3 columns, T = free to move)
 * and REAL array "velocities" when present.  Element names such as "Fe_pv" or "Si/a1b2" (POTCAR
 * labels VASP 6 writes) are cut at the first '_' or '/'.
 *
 * Writer: VASP 5, scale 1, Direct coordinates, atoms in frame order (species that are
 * interleaved give repeated element groups, which VASP accepts), selective dynamics and
 * velocities when the frame has those arrays.  Direct coordinates make write->read round-trip
 * positions to a few ulps, not bit-exactly (the cell itself is exact).
 *
 * Deliberately not done: XDATCAR trajectories, the lattice-velocity block of MD CONTCARs and
 * anything after it (reading stops there), velocities in Direct mode (they are in lattice
 * vectors per POTIM step, which a POSCAR does not state: rejected with a message), the
 * predictor-corrector block.
 */
#include "format.h"
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { MAXSPECIES = 1024 };

typedef struct {
    int done;
    int64_t size;
} poscar_state;

static int poscar_open(st_ctx *ctx, st_source *src, void **state)
{
    poscar_state *s = calloc(1, sizeof *s);
    if (!s) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", src->name);
    s->size = st_txt_size(src);
    *state = s;
    return ST_OK;
}

static void poscar_close(void *state) { free(state); }


/* Parse `n` numbers from the first tokens of the current line. Position-like values must be
 * finite; `field` names the line's content for messages. */
static int line_numbers(st_ctx *ctx, st_source *src, int n, double *out, const char *field,
                        char **tok, int *ntok_out)
{
    char show[48];
    int nt = st_txt_split(src->line, tok, 16);
    if (ntok_out) *ntok_out = nt;
    if (nt < n)
        return st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: %s: expected %d numbers, got %d", src->name,
                       (long long)src->lineno, field, n, nt);
    for (int k = 0; k < n; k++) {
        int r = st_txt_real(tok[k], 0, &out[k]);
        if (r)
            return st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: column %d (%s): %s, got '%s'", src->name,
                           (long long)src->lineno, k + 1, field,
                           r == TXT_RANGE ? "number out of range" : "expected a finite number",
                           st_txt_show(tok[k], show));
    }
    return ST_OK;
}

/* "Fe_pv" -> Fe, "Si/abc" -> Si; -1 if not an element. */
static int species_number(const char *t)
{
    char sym[8];
    size_t n = strcspn(t, "_/");
    if (n == 0 || n >= sizeof sym) return -1;
    memcpy(sym, t, n);
    sym[n] = 0;
    return st_txt_element(sym);
}

static int poscar_next(st_ctx *ctx, void *state, st_source *src, st_atoms **out)
{
    poscar_state *s = state;
    char *tok[16], show[48];
    double v[3];
    int rc;
    *out = NULL;
    if (s->done) return ST_OK;
    s->done = 1;
    if ((rc = st_txt_need_line(ctx, src, "a comment line (this POSCAR is empty)"))) return rc;
    char *comment = st_strdup(src->line);
    int32_t *znum = malloc(MAXSPECIES * sizeof *znum);
    int64_t *counts = malloc(MAXSPECIES * sizeof *counts);
    st_atoms *a = NULL;
    if (!comment || !znum || !counts) goto nomem;

    /* scaling factor(s) */
    double scale[3] = {1, 1, 1};
    int negvol = 0;
    if ((rc = st_txt_need_line(ctx, src, "the scaling factor"))) goto fail;
    {
        int nt = st_txt_split(src->line, tok, 16);
        int ns = nt >= 3 && st_txt_real(tok[1], 0, &v[0]) == TXT_OK &&
                         st_txt_real(tok[2], 0, &v[0]) == TXT_OK ? 3 : 1;
        if (nt < 1) {
            rc = st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: scaling factor: expected a number, got an "
                         "empty line", src->name, (long long)src->lineno);
            goto fail;
        }
        for (int k = 0; k < ns; k++) {
            int r = st_txt_real(tok[k], 0, &scale[k]);
            if (r || scale[k] == 0 || (ns == 3 && scale[k] < 0)) {
                rc = st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: scaling factor: expected %s, got '%s'",
                             src->name, (long long)src->lineno,
                             ns == 3 ? "three positive numbers" : "a non-zero number",
                             st_txt_show(tok[k], show));
                goto fail;
            }
        }
        if (ns == 1) {
            negvol = scale[0] < 0;
            scale[1] = scale[2] = scale[0];
        }
    }
    double cell[9];
    static const char *vec_name[3] = {"lattice vector a", "lattice vector b", "lattice vector c"};
    for (int i = 0; i < 3; i++) {
        if ((rc = st_txt_need_line(ctx, src, vec_name[i]))) goto fail;
        if ((rc = line_numbers(ctx, src, 3, &cell[3 * i], vec_name[i], tok, NULL))) goto fail;
    }
    if (negvol) {
        /* a negative factor is the wanted volume: s^3 |det L| = V */
        double det = fabs(st_cell_volume(cell));
        if (!(det > 0)) {
            rc = st_fail(ctx, ST_ERR_PARSE, "%s: line 3: the lattice vectors are linearly dependent "
                         "(zero volume), so a target volume cannot be applied", src->name);
            goto fail;
        }
        scale[0] = scale[1] = scale[2] = cbrt(-scale[0] / det);
    }
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++) cell[3 * i + k] *= scale[k];

    /* element line (VASP 5) or counts (VASP 4) */
    if ((rc = st_txt_need_line(ctx, src, "element symbols or atom counts"))) goto fail;
    int nsp = 0;
    {
        int64_t iv;
        char *line6 = st_strdup(src->line);
        if (!line6) goto nomem;
        int nt = st_txt_split(src->line, tok, 16);   /* line6 keeps the unsplit text */
        int vasp4 = nt > 0 && st_txt_int(tok[0], &iv) == TXT_OK;
        char **syms = NULL;
        char *symline = NULL;
        if (!vasp4) {
            symline = line6;
            line6 = NULL;
            rc = st_txt_need_line(ctx, src, "atom counts per species");
            if (rc) {
                free(symline);
                goto fail;
            }
        } else {
            strcpy(src->line, line6);   /* undo the split: the counts are on this line */
            free(line6);
        }
        /* counts on the current line */
        char **ct = malloc(MAXSPECIES * sizeof *ct);
        syms = malloc(MAXSPECIES * sizeof *syms);
        if (!ct || !syms) {
            free(ct), free(syms), free(symline);
            goto nomem;
        }
        int64_t counts_line = src->lineno;
        nsp = st_txt_split(src->line, ct, MAXSPECIES);
        if (nsp > MAXSPECIES || nsp == 0) {
            rc = st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: atom counts: expected 1..%d integers, got %d",
                         src->name, (long long)src->lineno, MAXSPECIES, nsp);
            free(ct), free(syms), free(symline);
            goto fail;
        }
        for (int k = 0; k < nsp; k++) {
            int r = st_txt_int(ct[k], &counts[k]);
            if (r || counts[k] < 0 || counts[k] > 1000000000) {
                rc = st_fail(ctx, ST_ERR_PARSE,
                             "%s: line %lld: column %d (atom count): expected an integer 0..10^9, got '%s'",
                             src->name, (long long)src->lineno, k + 1, st_txt_show(ct[k], show));
                free(ct), free(syms), free(symline);
                goto fail;
            }
        }
        free(ct);
        int nsym;
        if (symline) {
            nsym = st_txt_split(symline, syms, MAXSPECIES);
            if (nsym != nsp) {
                rc = st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: %d element symbols on line %lld but %d "
                             "atom counts", src->name, (long long)counts_line, nsym,
                             (long long)counts_line - 1, nsp);
                free(syms), free(symline);
                goto fail;
            }
            for (int k = 0; k < nsp; k++) {
                znum[k] = species_number(syms[k]);
                if (znum[k] < 0) {
                    rc = st_fail(ctx, ST_ERR_PARSE,
                                 "%s: line %lld: column %d (element): unknown element symbol '%s'",
                                 src->name, (long long)counts_line - 1, k + 1, st_txt_show(syms[k], show));
                    free(syms), free(symline);
                    goto fail;
                }
            }
        } else {
            /* VASP 4: the symbols may be the first words of the comment line (what ASE and
               pymatgen also accept) */
            char *c = st_strdup(comment);
            if (!c) {
                free(syms);
                goto nomem;
            }
            nsym = st_txt_split(c, syms, MAXSPECIES);
            int ok = nsym >= nsp;
            for (int k = 0; ok && k < nsp; k++) ok = (znum[k] = species_number(syms[k])) >= 0;
            free(c);
            if (!ok) {
                rc = st_fail(ctx, ST_ERR_PARSE,
                             "%s: line %lld: VASP 4 POSCAR (no element line) and the comment on line 1 "
                             "does not start with the %d element symbols; add a line of element "
                             "symbols before the counts", src->name, (long long)counts_line, nsp);
                free(syms);
                goto fail;
            }
        }
        free(syms);
        free(symline);
    }
    int64_t n = 0;
    for (int k = 0; k < nsp; k++) n += counts[k];
    if (n > 1000000000) {
        rc = st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: %lld atoms in total is absurd (limit 10^9)",
                     src->name, (long long)src->lineno, (long long)n);
        goto fail;
    }

    /* selective dynamics, coordinate mode */
    if ((rc = st_txt_need_line(ctx, src, "'Selective dynamics', 'Direct' or 'Cartesian'"))) goto fail;
    int selective = 0;
    {
        const char *p = src->line;
        while (isspace((unsigned char)*p)) p++;
        if (*p == 'S' || *p == 's') {
            selective = 1;
            if ((rc = st_txt_need_line(ctx, src, "'Direct' or 'Cartesian'"))) goto fail;
        }
    }
    const char *p = src->line;
    while (isspace((unsigned char)*p)) p++;
    int cartesian = *p == 'C' || *p == 'c' || *p == 'K' || *p == 'k';
    if (s->size >= 0 && n > (s->size - src->offset) / 6 + 1) {
        rc = st_fail(ctx, ST_ERR_PARSE,
                     "%s: line %lld: %lld atoms cannot fit in the %lld bytes left in the file "
                     "(truncated file or wrong counts)", src->name, (long long)src->lineno,
                     (long long)n, (long long)(s->size - src->offset));
        goto fail;
    }

    a = st_atoms_create(0);
    if (!a) goto nomem;
    memcpy(st_atoms_cell(a), cell, sizeof cell);
    int32_t *pbc = st_atoms_pbc(a);
    pbc[0] = pbc[1] = pbc[2] = 1;
    {
        const char *c = comment;
        while (isspace((unsigned char)*c)) c++;
        size_t len = strlen(c);
        while (len && isspace((unsigned char)c[len - 1])) len--;
        ((char *)c)[len] = 0;
        if (*c && (rc = st_atoms_info_set_string(ctx, a, "comment", c))) goto fail;
    }
    int sel = -1;
    if (selective && (sel = st_atoms_array_add(ctx, a, "selective_dynamics", ST_KIND_BOOL, 3)) < 0) {
        rc = st_ctx_status(ctx);
        goto fail;
    }
    /* grow as lines arrive, so a wrong count cannot make us allocate for atoms that are not there */
    int64_t cap = n < 1024 ? n : 1024;
    if ((rc = st_atoms_resize(ctx, a, cap))) goto fail;
    int sp = 0;
    int64_t left = nsp ? counts[0] : 0;
    for (int64_t i = 0; i < n; i++) {
        if (i == cap) {
            cap = cap * 2 < n ? cap * 2 : n;
            if ((rc = st_atoms_resize(ctx, a, cap))) goto fail;
        }
        if ((i & 0xFFFF) == 0xFFFF && (rc = st_check_interrupt(ctx, src->name))) goto fail;
        rc = st_src_getline(ctx, src);
        if (rc < 0) {
            rc = -rc;
            goto fail;
        }
        if (rc == 0) {
            rc = st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: file ends after %lld of the %lld atom "
                         "positions", src->name, (long long)src->lineno + 1, (long long)i, (long long)n);
            goto fail;
        }
        int nt;
        if ((rc = line_numbers(ctx, src, 3, v, "position", tok, &nt))) goto fail;
        double *pos = st_atoms_positions(a) + 3 * i;
        for (int k = 0; k < 3; k++) pos[k] = cartesian ? v[k] * scale[k] : v[k];
        if (selective) {
            int32_t *flags = (int32_t *)st_atoms_array_data(a, sel) + 3 * i;
            for (int k = 0; k < 3; k++) {
                int b;
                if (nt < 4 + k || !st_txt_bool(tok[3 + k], &b)) {
                    rc = st_fail(ctx, ST_ERR_PARSE,
                                 "%s: line %lld: column %d (selective dynamics flag): expected T or F, "
                                 "got '%s'", src->name, (long long)src->lineno, 4 + k,
                                 nt < 4 + k ? "" : st_txt_show(tok[3 + k], show));
                    goto fail;
                }
                flags[k] = b;
            }
        }
        while (left == 0 && sp + 1 < nsp) left = counts[++sp];
        st_atoms_numbers(a)[i] = znum[sp];
        left--;
    }
    if (!cartesian) {
        /* Direct: r = f1 a + f2 b + f3 c */
        double *pos = st_atoms_positions(a);
        for (int64_t i = 0; i < n; i++) {
            double f[3] = {pos[3 * i], pos[3 * i + 1], pos[3 * i + 2]};
            st_frac_to_cart(cell, 1, f, pos + 3 * i);
        }
    }

    /* optional velocities: a blank or Cartesian line, then one line per atom */
    rc = st_src_getline(ctx, src);
    if (rc < 0) {
        rc = -rc;
        goto fail;
    }
    if (rc > 0) {
        p = src->line;
        while (isspace((unsigned char)*p)) p++;
        int have = 0;
        if (*p == 'D' || *p == 'd') {
            rc = st_fail(ctx, ST_ERR_FORMAT,
                         "%s: line %lld: velocities in Direct mode (lattice vectors per time step) "
                         "are not supported; give them in Cartesian (Å/fs)", src->name,
                         (long long)src->lineno);
            goto fail;
        }
        if (*p == 0 || *p == 'C' || *p == 'c' || *p == 'K' || *p == 'k') {
            rc = st_src_getline(ctx, src);   /* the first velocity line, if any */
            if (rc < 0) {
                rc = -rc;
                goto fail;
            }
            have = rc > 0;
        } else {
            have = 1;                        /* velocities without a mode line */
        }
        if (have) {
            /* velocities start with a number; blank lines or a "Lattice velocities" block end
               the part we read */
            double w;
            char *t2[2];
            char *tmp = st_strdup(src->line);
            if (!tmp) goto nomem;
            have = st_txt_split(tmp, t2, 2) >= 1 && st_txt_real(t2[0], 0, &w) == TXT_OK;
            free(tmp);
        }
        if (have && n > 0) {
            int vi = st_atoms_array_add(ctx, a, "velocities", ST_KIND_REAL, 3);
            if (vi < 0) {
                rc = st_ctx_status(ctx);
                goto fail;
            }
            double *vel = st_atoms_array_data(a, vi);
            for (int64_t i = 0; i < n; i++) {
                if (i > 0) {
                    rc = st_src_getline(ctx, src);
                    if (rc < 0) {
                        rc = -rc;
                        goto fail;
                    }
                    if (rc == 0) {
                        rc = st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: file ends after %lld of the %lld "
                                     "velocity lines", src->name, (long long)src->lineno + 1,
                                     (long long)i, (long long)n);
                        goto fail;
                    }
                }
                if ((rc = line_numbers(ctx, src, 3, vel + 3 * i, "velocity", tok, NULL))) goto fail;
            }
        }
    }
    free(comment);
    free(znum);
    free(counts);
    *out = a;
    return ST_OK;
nomem:
    rc = st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", src->name);
fail:
    free(comment);
    free(znum);
    free(counts);
    st_atoms_destroy(a);
    return rc;
}

static int poscar_probe(const char *head, size_t n)
{
    /* line 2: one (or three) numbers; lines 3-5: three numbers each */
    char buf[256], *t[8];
    size_t i = 0;
    int score = 0;
    for (int line = 0; line < 5; line++) {
        size_t len = 0;
        while (i < n && head[i] != '\n') {
            if (len < sizeof buf - 1) buf[len++] = head[i];
            i++;
        }
        buf[len] = 0;
        if (i >= n && line < 4) return 0;
        i++;
        if (line == 0) continue;
        int nt = st_txt_split(buf, t, 8);
        double x;
        int want = line == 1 ? 1 : 3;
        if (nt < want || (line == 1 && nt != 1 && nt != 3)) return 0;
        for (int k = 0; k < want; k++)
            if (st_txt_real(t[k], 0, &x) != TXT_OK) return 0;
        score += line == 1 ? 20 : 20;
    }
    return score;   /* 80 when all four lines fit */
}

/* ---------------------------------------------------------------- writer */
static int poscar_write(st_ctx *ctx, FILE *fp, const char *name, int64_t index, st_atoms *a)
{
    if (index > 0)
        return st_fail(ctx, ST_ERR_FORMAT, "%s: a POSCAR holds one structure; frame %lld not written "
                       "(write one file per frame)", name, (long long)index + 1);
    int64_t n = st_atoms_count(a);
    if (n == 0) return st_fail(ctx, ST_ERR_ARG, "%s: a POSCAR needs at least one atom", name);
    if (!st_atoms_has_cell(a)) return st_fail(ctx, ST_ERR_ARG, "%s: a POSCAR needs a cell; the frame has none", name);
    const double *cell = st_atoms_cell(a), *pos = st_atoms_positions(a);
    const int32_t *num = st_atoms_numbers(a);
    double inv[9];
    if (st_cell_inverse(cell, inv))
        return st_fail(ctx, ST_ERR_NUMERIC, "%s: the cell is singular (zero volume)", name);
    for (int64_t i = 0; i < n; i++) {
        if (num[i] < 1 || num[i] > 118)
            return st_fail(ctx, ST_ERR_ARG, "%s: atom %lld has atomic number %d; a POSCAR needs "
                           "element symbols (1..118)", name, (long long)i, (int)num[i]);
        for (int k = 0; k < 3; k++)
            if (!isfinite(pos[3 * i + k]))
                return st_fail(ctx, ST_ERR_NUMERIC, "%s: atom %lld: position is not finite", name, (long long)i);
    }
    int sel = st_atoms_array_find(a, "selective_dynamics");
    if (sel >= 0 && (st_atoms_array_ncols(a, sel) != 3 || (st_atoms_array_kind(a, sel) != ST_KIND_BOOL &&
                                                           st_atoms_array_kind(a, sel) != ST_KIND_INT)))
        return st_fail(ctx, ST_ERR_ARG, "%s: per-atom array 'selective_dynamics' must be BOOL with 3 "
                       "columns", name);
    int vel = st_atoms_array_find(a, "velocities");
    if (vel >= 0 && (st_atoms_array_ncols(a, vel) != 3 || st_atoms_array_kind(a, vel) != ST_KIND_REAL))
        vel = -1;   /* not a Cartesian 3-vector: not something a POSCAR can hold */

    /* comment: the frame's, on one line, else the element sequence */
    int ic = st_atoms_info_find(a, "comment");
    const char *c = ic >= 0 ? st_atoms_info_string(a, ic) : NULL;
    if (c && *c) {
        for (const char *q = c; *q; q++) fputc(*q == '\n' || *q == '\r' ? ' ' : *q, fp);
        fputc('\n', fp);
    } else {
        for (int64_t i = 0; i < n; i++)
            if (i == 0 || num[i] != num[i - 1]) fprintf(fp, i ? " %s" : "%s", st_element_symbol(num[i]));
        fputc('\n', fp);
    }
    char b[3][40];
    fputs("1.0\n", fp);
    for (int i = 0; i < 3; i++) {
        for (int k = 0; k < 3; k++) st_txt_real_str(cell[3 * i + k], b[k]);
        fprintf(fp, " %22s %22s %22s\n", b[0], b[1], b[2]);
    }
    for (int64_t i = 0; i < n; i++)
        if (i == 0 || num[i] != num[i - 1]) fprintf(fp, " %s", st_element_symbol(num[i]));
    fputc('\n', fp);
    for (int64_t i = 0, run = 0; i < n; i++) {
        run++;
        if (i + 1 == n || num[i + 1] != num[i]) {
            fprintf(fp, " %lld", (long long)run);
            run = 0;
        }
    }
    fputc('\n', fp);
    if (sel >= 0) fputs("Selective dynamics\n", fp);
    fputs("Direct\n", fp);
    const int32_t *flags = sel >= 0 ? st_atoms_array_data(a, sel) : NULL;
    for (int64_t i = 0; i < n; i++) {
        double f[3], back[3], res[3], df[3];
        st_cart_to_frac(inv, 1, pos + 3 * i, f);
        /* one step of iterative refinement, f += (r - f H) H^-1, so that e.g. 1.58 in a 3.16
           cell is written as 0.5 rather than 0.49999999999999994 */
        st_frac_to_cart(cell, 1, f, back);
        for (int k = 0; k < 3; k++) res[k] = pos[3 * i + k] - back[k];
        st_cart_to_frac(inv, 1, res, df);
        for (int k = 0; k < 3; k++) f[k] += df[k];
        for (int k = 0; k < 3; k++) st_txt_real_str(f[k] == 0 ? 0.0 : f[k], b[k]);
        fprintf(fp, " %22s %22s %22s", b[0], b[1], b[2]);
        if (flags)
            fprintf(fp, " %c %c %c", flags[3 * i] ? 'T' : 'F', flags[3 * i + 1] ? 'T' : 'F',
                    flags[3 * i + 2] ? 'T' : 'F');
        fputc('\n', fp);
    }
    if (vel >= 0) {
        const double *v = st_atoms_array_data(a, vel);
        fputc('\n', fp);
        for (int64_t i = 0; i < n; i++) {
            for (int k = 0; k < 3; k++) st_txt_real_str(v[3 * i + k], b[k]);
            fprintf(fp, " %22s %22s %22s\n", b[0], b[1], b[2]);
        }
    }
    return ST_OK;
}

const st_format st_format_poscar = {
    "poscar", ".poscar .vasp POSCAR* CONTCAR*", poscar_probe, poscar_open, poscar_next,
    poscar_close, poscar_write, NULL};
