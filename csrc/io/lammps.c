/* lammps.c -- LAMMPS text dump reader ("lammps-dump") and data-file writer ("lammps-data").
 *
 * Dump (LAMMPS manual, "dump" command, custom style): per frame
 *     ITEM: TIMESTEP / step
 *     ITEM: NUMBER OF ATOMS / N
 *     ITEM: BOX BOUNDS [xy xz yz | abc origin] [flags]  / three lines
 *     ITEM: ATOMS col col ... / N lines
 * (optional ITEM: UNITS and ITEM: TIME sections are read into info "units" and "time").
 * Box: orthogonal lines "lo hi"; restricted triclinic lines "lo_bound hi_bound tilt" where the
 * bounds enclose the tilted box, so lo = lo_bound - min(0, xy, xz, xy+xz), hi = hi_bound -
 * max(0, xy, xz, xy+xz) for x and lo/hi -/+ min/max(0, yz) for y ("Howto triclinic");
 * cell rows a = (xhi-xlo, 0, 0), b = (xy, yhi-ylo, 0), c = (xz, yz, zhi-zlo).  The general
 * triclinic form "abc origin" gives rows "ax ay az ox" etc. directly.  The box origin goes to
 * info "cell_origin"; positions are kept as LAMMPS prints them (not shifted).  Flags: "pp" is
 * periodic, anything else (f, s, m) is not; a header without flags (old LAMMPS) means periodic.
 * Columns: x y z (else xu yu zu, else xs ys zs or xsu ysu zsu, scaled: r = origin + s . cell)
 * -> positions; element -> numbers; type -> INT array "type" (numbers stay 0 without element);
 * id -> INT array "id" and atoms are sorted by it; vx vy vz -> "velocities", fx fy fz ->
 * "forces", q -> "charges", mass -> "masses", ix iy iz -> INT "image"; any other column (or
 * an incomplete triple) -> a one-column REAL array named after it.  Values are in the run's
 * LAMMPS units; nothing is converted.
 *
 * Data writer (LAMMPS manual, "read_data" and "Howto triclinic"): atom_style atomic, or charge
 * when the frame has a "charges" array; the cell is rotated to LAMMPS's restricted triclinic
 * form a = (ax,0,0), b = (bx,by,0), c = (cx,cy,cz) with ax = |a|, bx = b.â, by = |â x b|,
 * cx = c.â, cy = (b.c - bx cx)/by, cz = V/(ax by), and positions follow through fractional
 * coordinates (r' = (r H^-1) H').  Types are numbered by first appearance of each element; the
 * Masses section names the element in a comment.
 *
 * Deliberately not done: binary/gzipped dumps, data-file reading, atom styles other than
 * atomic/charge, velocities in data files (unit conventions differ per LAMMPS units style),
 * wrapping atoms into the box, and reducing tilts beyond LAMMPS's default limits.
 */
#include "format.h"
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t size;
} dump_state;

static int dump_open(st_ctx *ctx, st_source *src, void **state)
{
    dump_state *s = calloc(1, sizeof *s);
    if (!s) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", src->name);
    s->size = st_txt_size(src);
    *state = s;
    return ST_OK;
}

static void dump_close(void *state) { free(state); }


/* What a column of the ATOMS line feeds. */
enum { C_SKIP, C_ID, C_TYPE, C_ELEMENT, C_POS, C_ARRAY };
enum { P_NONE = 0, P_SCALED = 1 };
typedef struct {
    int what, k;          /* k: component 0..2 for C_POS and 3-column arrays */
    int arr, kind, ncols; /* C_ARRAY */
    const char *name;
} dcol_t;

/* Position column sets in order of preference: wrapped, unwrapped, scaled, scaled unwrapped. */
static const char *pos_sets[4][3] = {
    {"x", "y", "z"}, {"xu", "yu", "zu"}, {"xs", "ys", "zs"}, {"xsu", "ysu", "zsu"}};
/* Column triples that become one 3-column array. */
static const struct { const char *c[3], *name; int kind; } triples[] = {
    {{"vx", "vy", "vz"}, "velocities", ST_KIND_REAL},
    {{"fx", "fy", "fz"}, "forces", ST_KIND_REAL},
    {{"ix", "iy", "iz"}, "image", ST_KIND_INT}};

static int find_col(char **names, int nc, const char *s)
{
    for (int i = 0; i < nc; i++)
        if (!strcmp(names[i], s)) return i;
    return -1;
}

typedef struct {
    int64_t id;
    int64_t row;
} idrow;

static int cmp_idrow(const void *x, const void *y)
{
    const idrow *a = x, *b = y;
    return (a->id > b->id) - (a->id < b->id);
}

/* Reorder rows of every per-atom quantity by perm (new row i = old row perm[i]). */
static int permute_rows(st_ctx *ctx, st_atoms *a, const idrow *perm)
{
    int64_t n = st_atoms_count(a);
    double *tmp = st_malloc_array((size_t)n * 3, sizeof(double));
    if (!tmp) return st_fail(ctx, ST_ERR_NOMEM, "out of memory sorting %lld atoms", (long long)n);
    double *pos = st_atoms_positions(a);
    for (int64_t i = 0; i < n; i++) memcpy(tmp + 3 * i, pos + 3 * perm[i].row, 3 * sizeof(double));
    memcpy(pos, tmp, (size_t)n * 3 * sizeof(double));
    int32_t *num = st_atoms_numbers(a), *t32 = (int32_t *)tmp;
    for (int64_t i = 0; i < n; i++) t32[i] = num[perm[i].row];
    memcpy(num, t32, (size_t)n * sizeof(int32_t));
    for (int c = 0; c < st_atoms_array_count(a); c++) {
        int m = st_atoms_array_ncols(a, c), kind = st_atoms_array_kind(a, c);
        size_t es = kind == ST_KIND_REAL ? sizeof(double) : sizeof(int32_t);
        char *d = st_atoms_array_data(a, c);
        if (!d) continue;     /* no string arrays come out of a dump */
        if ((size_t)m * es > 3 * sizeof(double)) {
            free(tmp);
            tmp = st_malloc_array((size_t)n * (size_t)m, es);
            if (!tmp) return st_fail(ctx, ST_ERR_NOMEM, "out of memory sorting %lld atoms", (long long)n);
        }
        char *t = (char *)tmp;
        for (int64_t i = 0; i < n; i++) memcpy(t + (size_t)i * m * es, d + (size_t)perm[i].row * m * es, m * es);
        memcpy(d, t, (size_t)n * m * es);
    }
    free(tmp);
    return ST_OK;
}

/* Add the per-atom array a column (or column triple) feeds.  Two columns may not feed one
 * name (a column called "forces" beside fx fy fz): the second would replace the first's storage. */
static int add_array(st_ctx *ctx, st_source *src, int64_t line, st_atoms *a, const char *name,
                     const char *column, int kind, int ncols)
{
    char show[48];
    if (!strcmp(name, "positions") || !strcmp(name, "numbers") || st_atoms_array_find(a, name) >= 0)
        return -!!st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: ATOMS: column '%s' clashes with another "
                          "column that also gives '%s'", src->name, (long long)line,
                          st_txt_show(column, show), name);
    int idx = st_atoms_array_add(ctx, a, name, kind, ncols);
    if (idx < 0) st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", src->name);
    return idx;
}

static int dump_next(st_ctx *ctx, void *state, st_source *src, st_atoms **out)
{
    dump_state *s = state;
    char show[48];
    int rc;
    *out = NULL;
    do {
        rc = st_src_getline(ctx, src);
        if (rc < 0) return -rc;
        if (rc == 0) return ST_OK;
    } while (src->line[strspn(src->line, " \t")] == 0);

    st_atoms *a = st_atoms_create(0);
    if (!a) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", src->name);
    char **names = NULL, **tok = NULL, *hdr = NULL;
    dcol_t *cols = NULL;
    idrow *ids = NULL;
    int64_t n = -1, nline = 0;
    int have_box = 0, have_step = 0;
    double cell[9] = {0}, origin[3] = {0};
    int32_t pbc[3] = {1, 1, 1};

    /* header sections up to ITEM: ATOMS */
    for (;;) {
        const char *p = src->line + strspn(src->line, " \t");
        if (strncmp(p, "ITEM:", 5)) {
            rc = st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: expected an 'ITEM:' line, got '%s'",
                         src->name, (long long)src->lineno, st_txt_show(p, show));
            goto fail;
        }
        p += 5;
        p += strspn(p, " \t");
        if (!strncmp(p, "TIMESTEP", 8)) {
            if ((rc = st_txt_need_line(ctx, src, "the time step"))) goto fail;
            char *t[2];
            int64_t step;
            if (st_txt_split(src->line, t, 2) != 1 || st_txt_int(t[0], &step)) {
                rc = st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: TIMESTEP: expected an integer",
                             src->name, (long long)src->lineno);
                goto fail;
            }
            if (step >= INT32_MIN && step <= INT32_MAX) {
                int32_t v = (int32_t)step;
                rc = st_atoms_info_set_int(ctx, a, "timestep", ST_KIND_INT, 0, NULL, &v);
            } else {
                double v = (double)step;   /* beyond 32 bits: exact as a double up to 2^53 */
                rc = st_atoms_info_set_real(ctx, a, "timestep", 0, NULL, &v);
            }
            if (rc) goto fail;
            have_step = 1;
        } else if (!strncmp(p, "UNITS", 5)) {
            if ((rc = st_txt_need_line(ctx, src, "the units style"))) goto fail;
            char *t[2];
            if (st_txt_split(src->line, t, 2) >= 1 && (rc = st_atoms_info_set_string(ctx, a, "units", t[0])))
                goto fail;
        } else if (!strncmp(p, "TIME", 4)) {
            if ((rc = st_txt_need_line(ctx, src, "the simulation time"))) goto fail;
            char *t[2];
            double tm;
            if (st_txt_split(src->line, t, 2) != 1 || st_txt_real(t[0], 0, &tm)) {
                rc = st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: TIME: expected a number", src->name,
                             (long long)src->lineno);
                goto fail;
            }
            if ((rc = st_atoms_info_set_real(ctx, a, "time", 0, NULL, &tm))) goto fail;
        } else if (!strncmp(p, "NUMBER OF ATOMS", 15)) {
            if ((rc = st_txt_need_line(ctx, src, "the number of atoms"))) goto fail;
            char *t[2];
            nline = src->lineno;
            int nt = st_txt_split(src->line, t, 2);
            if (nt != 1 || st_txt_int(t[0], &n) || n < 0) {
                rc = st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: NUMBER OF ATOMS: expected a "
                             "non-negative integer, got '%s'", src->name, (long long)src->lineno,
                             nt ? st_txt_show(t[0], show) : "");
                goto fail;
            }
            if (n > 1000000000) {
                rc = st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: atom count %lld is absurd (limit 10^9)",
                             src->name, (long long)src->lineno, (long long)n);
                goto fail;
            }
        } else if (!strncmp(p, "BOX BOUNDS", 10)) {
            char *t[12];
            hdr = st_strdup(p + 10);
            if (!hdr) goto nomem;
            int nt = st_txt_split(hdr, t, 12), k = 0, tri = 0, general = 0;
            if (nt >= 3 && !strcmp(t[0], "xy") && !strcmp(t[1], "xz") && !strcmp(t[2], "yz")) tri = 1, k = 3;
            else if (nt >= 2 && !strcmp(t[0], "abc") && !strcmp(t[1], "origin")) general = 1, k = 2;
            if (nt - k != 0 && nt - k != 3) {
                rc = st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: BOX BOUNDS: expected 3 boundary flags "
                             "(e.g. pp pp pp), got %d words", src->name, (long long)src->lineno, nt - k);
                goto fail;
            }
            for (int d = 0; nt - k == 3 && d < 3; d++) {
                const char *f = t[k + d];
                if (strlen(f) > 2 || strspn(f, "pfsm") != strlen(f)) {
                    rc = st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: BOX BOUNDS: boundary flag %d: "
                                 "expected p, f, s or m pairs, got '%s'", src->name,
                                 (long long)src->lineno, d + 1, st_txt_show(f, show));
                    goto fail;
                }
                pbc[d] = f[0] == 'p' && (f[1] == 0 || f[1] == 'p');   /* periodic only as "pp" */
            }
            free(hdr);
            hdr = NULL;
            double b[3][4];
            int want = tri ? 3 : general ? 4 : 2;
            for (int d = 0; d < 3; d++) {
                if ((rc = st_txt_need_line(ctx, src, "a box bounds line"))) goto fail;
                int m = st_txt_split(src->line, t, 12);
                if (m != want) {
                    rc = st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: BOX BOUNDS: expected %d numbers, got %d",
                                 src->name, (long long)src->lineno, want, m);
                    goto fail;
                }
                for (int q = 0; q < want; q++) {
                    int r = st_txt_real(t[q], 0, &b[d][q]);
                    if (r) {
                        rc = st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: BOX BOUNDS: column %d: %s, got '%s'",
                                     src->name, (long long)src->lineno, q + 1,
                                     r == TXT_RANGE ? "number out of range" : "expected a finite number",
                                     st_txt_show(t[q], show));
                        goto fail;
                    }
                }
            }
            if (general) {
                for (int d = 0; d < 3; d++) {
                    for (int q = 0; q < 3; q++) cell[3 * d + q] = b[d][q];
                    origin[d] = b[d][3];
                }
            } else {
                double xy = tri ? b[0][2] : 0, xz = tri ? b[1][2] : 0, yz = tri ? b[2][2] : 0;
                /* bounding box -> box (LAMMPS "Howto triclinic", dump box bounds) */
                double xlo = b[0][0] - fmin(fmin(0.0, xy), fmin(xz, xy + xz));
                double xhi = b[0][1] - fmax(fmax(0.0, xy), fmax(xz, xy + xz));
                double ylo = b[1][0] - fmin(0.0, yz), yhi = b[1][1] - fmax(0.0, yz);
                double zlo = b[2][0], zhi = b[2][1];
                double c[9] = {xhi - xlo, 0, 0, xy, yhi - ylo, 0, xz, yz, zhi - zlo};
                memcpy(cell, c, sizeof c);
                origin[0] = xlo, origin[1] = ylo, origin[2] = zlo;
            }
            have_box = 1;
        } else if (!strncmp(p, "ATOMS", 5)) {
            break;
        } else {
            rc = st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: unknown section 'ITEM: %s'", src->name,
                         (long long)src->lineno, st_txt_show(p, show));
            goto fail;
        }
        if ((rc = st_txt_need_line(ctx, src, "the next 'ITEM:' line"))) goto fail;
    }
    (void)have_step;
    if (n < 0 || !have_box) {
        rc = st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: ITEM: ATOMS before %s", src->name,
                     (long long)src->lineno, n < 0 ? "ITEM: NUMBER OF ATOMS" : "ITEM: BOX BOUNDS");
        goto fail;
    }
    memcpy(st_atoms_cell(a), cell, sizeof cell);
    memcpy(st_atoms_pbc(a), pbc, sizeof pbc);
    {
        int64_t three = 3;
        if ((rc = st_atoms_info_set_real(ctx, a, "cell_origin", 1, &three, origin))) goto fail;
    }

    /* column plan */
    int64_t atoms_line = src->lineno;
    hdr = st_strdup(strstr(src->line, "ATOMS") + 5);   /* the loop above stopped on "ITEM: ATOMS" */
    if (!hdr) goto nomem;
    size_t hl = strlen(hdr);
    names = malloc((hl / 2 + 2) * sizeof *names);
    if (!names) goto nomem;
    int nc = st_txt_split(hdr, names, (int)(hl / 2 + 2));
    cols = calloc((size_t)nc + 1, sizeof *cols);
    tok = malloc(((size_t)nc + 1) * sizeof *tok);
    if (!cols || !tok) goto nomem;
    for (int i = 0; i < nc; i++) {
        cols[i].name = names[i];
        for (int j = 0; j < i; j++)
            if (!strcmp(names[i], names[j])) {
                rc = st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: ATOMS: column '%s' appears twice",
                             src->name, (long long)atoms_line, st_txt_show(names[i], show));
                goto fail;
            }
    }
    int pset = -1;
    for (int ps = 0; ps < 4 && pset < 0; ps++) {
        int ix = find_col(names, nc, pos_sets[ps][0]), iy = find_col(names, nc, pos_sets[ps][1]),
            iz = find_col(names, nc, pos_sets[ps][2]);
        if (ix >= 0 && iy >= 0 && iz >= 0) {
            pset = ps;
            cols[ix] = (dcol_t){C_POS, 0, -1, 0, 0, names[ix]};
            cols[iy] = (dcol_t){C_POS, 1, -1, 0, 0, names[iy]};
            cols[iz] = (dcol_t){C_POS, 2, -1, 0, 0, names[iz]};
        }
    }
    if (pset < 0) {
        rc = st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: ATOMS: no complete set of position columns "
                     "(x y z, xu yu zu, xs ys zs or xsu ysu zsu)", src->name, (long long)atoms_line);
        goto fail;
    }
    int id_col = -1;
    for (int i = 0; i < nc; i++) {
        if (cols[i].what == C_POS) continue;
        if (!strcmp(names[i], "id")) cols[i].what = C_ID, id_col = i;
        else if (!strcmp(names[i], "element")) cols[i].what = C_ELEMENT;
    }
    for (size_t t = 0; t < sizeof triples / sizeof *triples; t++) {
        int ci[3];
        for (int k = 0; k < 3; k++) ci[k] = find_col(names, nc, triples[t].c[k]);
        if (ci[0] < 0 || ci[1] < 0 || ci[2] < 0) continue;
        int arr = add_array(ctx, src, atoms_line, a, triples[t].name, triples[t].c[0], triples[t].kind, 3);
        if (arr < 0) {
            rc = st_ctx_status(ctx);
            goto fail;
        }
        for (int k = 0; k < 3; k++) cols[ci[k]] = (dcol_t){C_ARRAY, k, arr, triples[t].kind, 3, names[ci[k]]};
    }
    for (int i = 0; i < nc; i++) {
        if (cols[i].what != C_SKIP) continue;
        int kind = ST_KIND_REAL;
        const char *an = names[i];
        if (!strcmp(an, "type")) kind = ST_KIND_INT, cols[i].what = C_TYPE;
        else if (!strcmp(an, "q")) an = "charges";
        else if (!strcmp(an, "mass")) an = "masses";
        int arr = add_array(ctx, src, atoms_line, a, an, names[i], kind, 1);
        if (arr < 0) {
            rc = st_ctx_status(ctx);
            goto fail;
        }
        cols[i].arr = arr, cols[i].kind = kind, cols[i].ncols = 1, cols[i].k = 0;
        if (cols[i].what == C_SKIP) cols[i].what = C_ARRAY;
    }
    int id_arr = -1;
    if (id_col >= 0 && (id_arr = add_array(ctx, src, atoms_line, a, "id", "id", ST_KIND_INT, 1)) < 0) {
        rc = st_ctx_status(ctx);
        goto fail;
    }
    if (s->size >= 0 && n > (s->size - src->offset) / (2 * (int64_t)nc) + 1) {
        rc = st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: %lld atoms cannot fit in the %lld bytes left "
                     "in the file (truncated file or wrong count)", src->name, (long long)nline,
                     (long long)n, (long long)(s->size - src->offset));
        goto fail;
    }

    /* atom lines, growing the frame as they arrive */
    int64_t cap = n < 1024 ? n : 1024;
    if ((rc = st_atoms_resize(ctx, a, cap))) goto fail;
    if (id_col >= 0 && !(ids = st_malloc_array((size_t)(cap ? cap : 1), sizeof *ids))) goto nomem;
    char last_sym[8] = "";
    int last_z = 0;
    for (int64_t row = 0; row < n; row++) {
        if (row == cap) {
            cap = cap * 2 < n ? cap * 2 : n;
            if ((rc = st_atoms_resize(ctx, a, cap))) goto fail;
            if (ids) {
                idrow *ni = realloc(ids, (size_t)cap * sizeof *ids);
                if (!ni) goto nomem;
                ids = ni;
            }
        }
        if ((row & 0xFFFF) == 0xFFFF && (rc = st_check_interrupt(ctx, src->name))) goto fail;
        rc = st_src_getline(ctx, src);
        if (rc < 0) {
            rc = -rc;
            goto fail;
        }
        if (rc == 0) {
            rc = st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: file ends after %lld of the %lld atom lines "
                         "announced on line %lld", src->name, (long long)src->lineno + 1,
                         (long long)row, (long long)n, (long long)nline);
            goto fail;
        }
        int nt = st_txt_split(src->line, tok, nc + 1);
        if (nt != nc) {
            rc = st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: %d columns, the ATOMS header on line %lld "
                         "names %d", src->name, (long long)src->lineno, nt, (long long)atoms_line, nc);
            goto fail;
        }
        double *pos = st_atoms_positions(a) + 3 * row;
        for (int i = 0; i < nc; i++) {
            const dcol_t *c = &cols[i];
            const char *t = tok[i];
            if (c->what == C_ELEMENT) {
                if (strcmp(t, last_sym)) {
                    if ((last_z = st_txt_element(t)) < 0) {
                        rc = st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: column %d (element): unknown "
                                     "element symbol '%s'", src->name, (long long)src->lineno, i + 1,
                                     st_txt_show(t, show));
                        goto fail;
                    }
                    snprintf(last_sym, sizeof last_sym, "%s", t);
                }
                st_atoms_numbers(a)[row] = last_z;
                continue;
            }
            int is_int = c->what == C_ID || c->kind == ST_KIND_INT;
            if (is_int) {
                int64_t v;
                int r = st_txt_int(t, &v);
                if (r || v < INT32_MIN || v > INT32_MAX) {
                    rc = st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: column %d (%s): %s, got '%s'",
                                 src->name, (long long)src->lineno, i + 1, c->name,
                                 r == TXT_BAD ? "expected an integer" : "integer out of 32-bit range",
                                 st_txt_show(t, show));
                    goto fail;
                }
                if (c->what == C_ID) {
                    ids[row].id = v, ids[row].row = row;
                    ((int32_t *)st_atoms_array_data(a, id_arr))[row] = (int32_t)v;
                } else {
                    ((int32_t *)st_atoms_array_data(a, c->arr))[row * c->ncols + c->k] = (int32_t)v;
                }
                continue;
            }
            double v;
            int r = st_txt_real(t, c->what != C_POS, &v);
            if (r) {
                rc = st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: column %d (%s): %s, got '%s'", src->name,
                             (long long)src->lineno, i + 1, c->name,
                             r == TXT_RANGE ? "number out of range"
                             : c->what == C_POS ? "expected a finite number" : "expected a number",
                             st_txt_show(t, show));
                goto fail;
            }
            if (c->what == C_POS) pos[c->k] = v;
            else ((double *)st_atoms_array_data(a, c->arr))[row * c->ncols + c->k] = v;
        }
    }
    if (pset >= 2) {
        /* scaled coordinates: r = origin + s . cell */
        double *pos = st_atoms_positions(a);
        for (int64_t i = 0; i < n; i++) {
            double f[3] = {pos[3 * i], pos[3 * i + 1], pos[3 * i + 2]};
            st_frac_to_cart(cell, 1, f, pos + 3 * i);
            for (int k = 0; k < 3; k++) pos[3 * i + k] += origin[k];
        }
    }
    if (ids && n > 1) {
        qsort(ids, (size_t)n, sizeof *ids, cmp_idrow);
        for (int64_t i = 1; i < n; i++)
            if (ids[i].id == ids[i - 1].id) {
                rc = st_fail(ctx, ST_ERR_PARSE, "%s: atom id %lld appears twice in the frame whose "
                             "ATOMS header is on line %lld", src->name, (long long)ids[i].id,
                             (long long)atoms_line);
                goto fail;
            }
        if ((rc = permute_rows(ctx, a, ids))) goto fail;
    }
    free(ids);
    free(names);
    free(tok);
    free(cols);
    free(hdr);
    *out = a;
    return ST_OK;
nomem:
    rc = st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", src->name);
fail:
    free(ids);
    free(names);
    free(tok);
    free(cols);
    free(hdr);
    st_atoms_destroy(a);
    return rc;
}

static int dump_probe(const char *head, size_t n)
{
    size_t i = 0;
    while (i < n && isspace((unsigned char)head[i])) i++;
    if (n - i >= 5 && !strncmp(head + i, "ITEM:", 5)) return 100;
    return 0;
}

const st_format st_format_lammps_dump = {
    "lammps-dump", ".lammpstrj .dump", dump_probe, dump_open, dump_next, dump_close, NULL, NULL};

/* ================================================================ data writer */
static int data_write(st_ctx *ctx, FILE *fp, const char *name, int64_t index, st_atoms *a)
{
    if (index > 0)
        return st_fail(ctx, ST_ERR_FORMAT, "%s: a LAMMPS data file holds one structure; frame %lld "
                       "not written (write one file per frame)", name, (long long)index + 1);
    int64_t n = st_atoms_count(a);
    if (!st_atoms_has_cell(a))
        return st_fail(ctx, ST_ERR_ARG, "%s: a LAMMPS data file needs a box; the frame has no cell", name);
    const double *H = st_atoms_cell(a), *pos = st_atoms_positions(a);
    const int32_t *num = st_atoms_numbers(a);
    double V = st_cell_volume(H), inv[9];
    if (st_cell_inverse(H, inv) || !(V > 0))
        return st_fail(ctx, ST_ERR_ARG, "%s: the cell is %s; LAMMPS needs a right-handed cell (swap two "
                       "lattice vectors)", name, V < 0 ? "left-handed" : "singular");
    for (int64_t i = 0; i < 3 * n; i++)
        if (!isfinite(pos[i]))
            return st_fail(ctx, ST_ERR_NUMERIC, "%s: atom %lld: position is not finite", name, (long long)(i / 3));
    /* restricted triclinic cell (LAMMPS "Howto triclinic") */
    const double *A = H, *B = H + 3, *C = H + 6;
    double la = sqrt(A[0] * A[0] + A[1] * A[1] + A[2] * A[2]);
    double bx = (B[0] * A[0] + B[1] * A[1] + B[2] * A[2]) / la;
    double axb[3] = {A[1] * B[2] - A[2] * B[1], A[2] * B[0] - A[0] * B[2], A[0] * B[1] - A[1] * B[0]};
    double by = sqrt(axb[0] * axb[0] + axb[1] * axb[1] + axb[2] * axb[2]) / la;
    double cx = (C[0] * A[0] + C[1] * A[1] + C[2] * A[2]) / la;
    double bc = B[0] * C[0] + B[1] * C[1] + B[2] * C[2];
    double cy = (bc - bx * cx) / by, cz = V / (la * by);
    double L[9] = {la, 0, 0, bx, by, 0, cx, cy, cz};
    /* a cell already in LAMMPS form is kept bit for bit (and positions with it) */
    int same = H[1] == 0 && H[2] == 0 && H[5] == 0 && H[0] > 0 && H[4] > 0 && H[8] > 0;
    if (same) memcpy(L, H, sizeof L);

    /* types by first appearance of each element */
    int type_of[119] = {0}, ntypes = 0, zs[119];
    for (int64_t i = 0; i < n; i++) {
        if (num[i] < 0 || num[i] > 118)
            return st_fail(ctx, ST_ERR_ARG, "%s: atom %lld: atomic number %d is not 0..118", name,
                           (long long)i, (int)num[i]);
        if (!type_of[num[i]]) type_of[num[i]] = ++ntypes, zs[ntypes - 1] = num[i];
    }
    int im = st_atoms_array_find(a, "masses"), iq = st_atoms_array_find(a, "charges");
    if (im >= 0 && (st_atoms_array_kind(a, im) != ST_KIND_REAL || st_atoms_array_ncols(a, im) != 1)) im = -1;
    if (iq >= 0 && (st_atoms_array_kind(a, iq) != ST_KIND_REAL || st_atoms_array_ncols(a, iq) != 1)) iq = -1;
    const double *pm = im >= 0 ? st_atoms_array_data(a, im) : NULL;
    const double *pq = iq >= 0 ? st_atoms_array_data(a, iq) : NULL;
    double mass[119];
    for (int t = 0; t < ntypes; t++) {
        mass[t] = st_element_mass(zs[t]);
        if (pm)
            for (int64_t i = 0; i < n; i++)
                if (num[i] == zs[t]) {
                    mass[t] = pm[i];
                    break;
                }
        if (!(mass[t] > 0) || !isfinite(mass[t]))
            return st_fail(ctx, ST_ERR_ARG, "%s: atom type %d (%s) has no mass; give the frame a "
                           "'masses' array", name, t + 1, st_element_symbol(zs[t]));
    }

    char b[4][40];
    fprintf(fp, "LAMMPS data file written by Strata %s (units: positions in Å)\n\n", st_version());
    fprintf(fp, "%lld atoms\n%d atom types\n\n", (long long)n, ntypes);
    st_txt_real_str(L[0], b[0]);
    fprintf(fp, "0.0 %s xlo xhi\n", b[0]);
    st_txt_real_str(L[4], b[0]);
    fprintf(fp, "0.0 %s ylo yhi\n", b[0]);
    st_txt_real_str(L[8], b[0]);
    fprintf(fp, "0.0 %s zlo zhi\n", b[0]);
    if (L[3] != 0 || L[6] != 0 || L[7] != 0) {
        st_txt_real_str(L[3], b[0]);
        st_txt_real_str(L[6], b[1]);
        st_txt_real_str(L[7], b[2]);
        fprintf(fp, "%s %s %s xy xz yz\n", b[0], b[1], b[2]);
    }
    fputs("\nMasses\n\n", fp);
    for (int t = 0; t < ntypes; t++) {
        st_txt_real_str(mass[t], b[0]);
        fprintf(fp, "%d %s # %s\n", t + 1, b[0], st_element_symbol(zs[t]));
    }
    fprintf(fp, "\nAtoms # %s\n\n", pq ? "charge" : "atomic");
    /* Q = H^-1 L maps the frame's Cartesian axes onto LAMMPS's: r' = r Q */
    double Q[9];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) Q[3 * i + j] = inv[3 * i] * L[j] + inv[3 * i + 1] * L[3 + j] + inv[3 * i + 2] * L[6 + j];
    for (int64_t i = 0; i < n; i++) {
        const double *r = pos + 3 * i;
        for (int k = 0; k < 3; k++)
            st_txt_real_str(same ? r[k] : r[0] * Q[k] + r[1] * Q[3 + k] + r[2] * Q[6 + k], b[k]);
        if (pq) {
            st_txt_real_str(pq[i], b[3]);
            fprintf(fp, "%lld %d %s %s %s %s\n", (long long)i + 1, type_of[num[i]], b[3], b[0], b[1], b[2]);
        } else {
            fprintf(fp, "%lld %d %s %s %s\n", (long long)i + 1, type_of[num[i]], b[0], b[1], b[2]);
        }
        if ((i & 0xFFFF) == 0xFFFF) {
            int rc = st_check_interrupt(ctx, name);
            if (rc) return rc;
        }
    }
    return ST_OK;
}

const st_format st_format_lammps_data = {
    "lammps-data", ".data .lmp", NULL, NULL, NULL, NULL, data_write, NULL};
