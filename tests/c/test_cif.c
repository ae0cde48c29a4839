/* Tests for the CIF reader/writer (csrc/io/cif.c, cif_expand.c, cif_spacegroup.c).
 *
 * Independent references: the IZA motif table ../shared/data/zeolites/reference/
 * iza_ideal_motif.csv (atom counts, n_Si, n_O, asymmetric sites, cell volumes, block names; made
 * with average-minimum-distance), the atom listing of each IZA CIF read here with sscanf, the
 * _chemical_formula_sum of every MP-20 CIF and the formula column of Perov-5, spglib's group
 * orders for the 530 Hall settings (kept in the table), and hand geometry (rock salt, a
 * hexagonal cell) for the small cases. */
#include "strata.h"
#include "check.h"
#include <ctype.h>

/* Internal accessor of the settings table (hidden symbol, linkable from the static library). */
int cif_spacegroup_table(int idx, int *number, int *order, const char **choice, const char **hall,
                         const char **full);

/* ---------------------------------------------------------------- helpers */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    if (b) b[n] = 0;
    fclose(f);
    if (len) *len = (size_t)n;
    return b;
}

/* Reads every frame of a CIF string; returns the count (frames kept in out[0..max)) or -status. */
static int read_str(st_ctx *ctx, const char *text, st_atoms **out, int max)
{
    st_reader *r = NULL;
    int rc = st_reader_open_string(ctx, text, strlen(text), "cif", "t.cif", &r);
    int n = 0;
    while (!rc) {
        st_atoms *a = NULL;
        rc = st_reader_next(ctx, r, &a);
        if (rc || !a) break;
        if (n < max) out[n] = a;
        else st_atoms_destroy(a);
        n++;
    }
    st_reader_close(r);
    if (rc) {
        for (int i = 0; i < n && i < max; i++) st_atoms_destroy(out[i]);
        return -rc;
    }
    return n;
}

static st_atoms *read_one(st_ctx *ctx, const char *text)
{
    st_atoms *a[1] = {NULL};
    int n = read_str(ctx, text, a, 1);
    if (n != 1) {
        if (n > 1) st_atoms_destroy(a[0]);
        return NULL;
    }
    return a[0];
}

static const int32_t *iarr(st_atoms *a, const char *name)
{
    int k = st_atoms_array_find(a, name);
    return k < 0 ? NULL : st_atoms_array_data(a, k);
}

static const char *label(st_atoms *a, int64_t i)
{
    return st_atoms_array_string(a, st_atoms_array_find(a, "label"), i, 0);
}

static void frac_of(st_atoms *a, int64_t i, double f[3])
{
    double inv[9];
    st_cell_inverse(st_atoms_cell(a), inv);
    st_cart_to_frac(inv, 1, st_atoms_positions(a) + 3 * i, f);
}

static double wrap1(double x) { double w = x - floor(x); return w >= 1 ? 0 : w; }

/* Periodic per-coordinate distance. */
static double pdist(double a, double b)
{
    double d = fabs(a - b);
    d -= floor(d);
    return d > 0.5 ? 1 - d : d;
}

/* Is fractional point f (mod 1) within tol of some atom of a? */
static int has_atom_at(st_atoms *a, const double f[3], double tol)
{
    for (int64_t i = 0; i < st_atoms_count(a); i++) {
        double g[3];
        frac_of(a, i, g);
        if (pdist(f[0], g[0]) <= tol && pdist(f[1], g[1]) <= tol && pdist(f[2], g[2]) <= tol) return 1;
    }
    return 0;
}

static int same_structure(st_atoms *a, st_atoms *b, double tol)
{
    if (st_atoms_count(a) != st_atoms_count(b)) return 0;
    for (int64_t i = 0; i < st_atoms_count(b); i++) {
        double f[3];
        frac_of(b, i, f);
        if (!has_atom_at(a, f, tol)) return 0;
    }
    return 1;
}

static const char *CELL10 =
    "_cell_length_a 10\n_cell_length_b 11\n_cell_length_c 12\n"
    "_cell_angle_alpha 90\n_cell_angle_beta 90\n_cell_angle_gamma 90\n";

/* ---------------------------------------------------------------- syntax */
TEST(syntax_features)
{
    st_ctx *ctx = st_ctx_create();
    const char *text =
        "# leading comment\n"
        "data_first\n"
        "_publ_section_title\n;\nA title with 'quotes' and loop_ and data_ inside\n;\n"
        "_cell_length_a    10.0(3)   # su dropped\n"
        "_CELL_LENGTH_B    '11.0'\n"        /* quoted numbers are numbers; tags case-insensitive */
        "_cell.length_c    12.000(12)\n"    /* DDLm dotted name */
        "_cell_angle_alpha 90 _cell_angle_beta 90.0 _cell_angle_gamma 90.00(0)\n"
        "_journal_name_full 'O'Neil's \"journal\"'\n"
        "_unknown_item ?\n"
        "loop_\n_some_other_loop_a\n_some_other_loop_b\n1 2 'x y' ;notfield\n"
        "loop_\n"
        "_atom_site_fract_z\n_atom_site_label\n_atom_site_fract_x\n_atom_site_type_symbol\n"
        "_atom_site_fract_y\n_atom_site_U_iso_or_equiv\n"
        "0.3 'Si 1' 0.1 Si 0.2 0.01(2)\n"
        "0.6 O7 0.4 . 0.5 ?\n"                       /* '.' type: element from the label */
        "0.9\n\"Fe 2\"\n0.7\nFe3+ 0.8 .\n"           /* rows may span lines */
        "data_meta\n_publ_contact_author 'nobody'\n"  /* no structure: skipped */
        "data_second\n"
        "_cell_length_a 5 _cell_length_b 5 _cell_length_c 5\n"
        "_cell_angle_alpha 90 _cell_angle_beta 90 _cell_angle_gamma 90\n"
        "_atom_site_label Cu1 _atom_site_fract_x 0 _atom_site_fract_y 0 _atom_site_fract_z 0\n";
    st_atoms *f[4] = {0};
    int n = read_str(ctx, text, f, 4);
    CHECK_MSG(n == 2, "frames %d: %s", n, st_ctx_message(ctx));
    if (n == 2) {
        st_atoms *a = f[0];
        CHECK(st_atoms_count(a) == 3);
        const double *c = st_atoms_cell(a);
        CHECK(c[0] == 10 && c[4] == 11 && c[8] == 12 && c[1] == 0 && c[3] == 0);
        const int32_t *z = st_atoms_numbers(a);
        CHECK(z[0] == 14 && z[1] == 8 && z[2] == 26);
        CHECK(!strcmp(label(a, 0), "Si 1") && !strcmp(label(a, 1), "O7") && !strcmp(label(a, 2), "Fe 2"));
        const double *p = st_atoms_positions(a);
        CHECK_NEAR(p[0], 1.0, 1e-12);
        CHECK_NEAR(p[1], 2.2, 1e-12);
        CHECK_NEAR(p[2], 3.6, 1e-12);
        CHECK_NEAR(p[6], 7.0, 1e-12);
        CHECK_NEAR(p[8], 10.8, 1e-12);
        int k = st_atoms_info_find(a, "data_block");
        CHECK(k >= 0 && !strcmp(st_atoms_info_string(a, k), "first"));
        CHECK(st_atoms_array_find(a, "occupancy") < 0);
        const int32_t *pbc = st_atoms_pbc(a);
        CHECK(pbc[0] && pbc[1] && pbc[2]);
        a = f[1];
        CHECK(st_atoms_count(a) == 1 && st_atoms_numbers(a)[0] == 29);
        k = st_atoms_info_find(a, "data_block");
        CHECK(k >= 0 && !strcmp(st_atoms_info_string(a, k), "second"));
        for (int i = 0; i < 2; i++) st_atoms_destroy(f[i]);
    }
    /* Detection by extension and by content. */
    CHECK(!strcmp(st_format_detect("x/ABW.CIF", NULL, 0), "cif"));
    CHECK(!strcmp(st_format_detect(NULL, text, strlen(text)), "cif"));
    st_ctx_destroy(ctx);
}

/* ---------------------------------------------------------------- symmetry expansion */
TEST(expansion_p_minus_1)
{
    st_ctx *ctx = st_ctx_create();
    char text[2048];
    snprintf(text, sizeof text,
             "data_t\n%s_symmetry_space_group_name_H-M 'P -1'\n"
             "loop_\n_symmetry_equiv_pos_as_xyz\nx,y,z\n-x,-y,-z\n"
             "loop_\n_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\n"
             "C1 0.1 0.2 0.3\nN1 0.5 0 0.5\nO1 -0.25 1.5 0.0004\n",
             CELL10);
    st_atoms *a = read_one(ctx, text);
    CHECK_MSG(a != NULL, "%s", st_ctx_message(ctx));
    if (!a) return;
    /* C1 general (2), N1 on the inversion centre (1), O1: -(-0.25,1.5,0.0004) = (0.25,0.5,
     * 0.9996) differs from (0.75,0.5,0.0004) in x: 2 images. */
    CHECK(st_atoms_count(a) == 5);
    const int32_t *as = iarr(a, "asym_site"), *mu = iarr(a, "multiplicity");
    static const int want_site[5] = {0, 0, 1, 2, 2}, want_mu[5] = {2, 2, 1, 2, 2};
    for (int i = 0; i < 5; i++) CHECK(as[i] == want_site[i] && mu[i] == want_mu[i]);
    static const double want[5][3] = {{0.1, 0.2, 0.3}, {0.9, 0.8, 0.7}, {0.5, 0, 0.5},
                                      {0.75, 0.5, 0.0004}, {0.25, 0.5, 0.9996}};
    for (int i = 0; i < 5; i++) {
        double f[3];
        frac_of(a, i, f);
        for (int k = 0; k < 3; k++) CHECK_NEAR(f[k], want[i][k], 1e-12);
    }
    const double *p = st_atoms_positions(a);     /* identity image of O1 wrapped: x = 0.75 a */
    CHECK_NEAR(p[9], 7.5, 1e-12);
    CHECK(!strcmp(label(a, 4), "O1"));
    int k = st_atoms_info_find(a, "spacegroup");
    CHECK(k >= 0 && !strcmp(st_atoms_info_string(a, k), "P -1"));
    st_atoms_destroy(a);
    st_ctx_destroy(ctx);
}

/* The duplicate rule at its edge: images 0.0004 and -0.0004 (0.9996) are one atom (|d - 1| =
 * 0.0008 <= 1e-3); 0.0006 and 0.9994 are two (|d - 1| = 0.0012). */
TEST(expansion_tolerance_edge)
{
    st_ctx *ctx = st_ctx_create();
    const char *fmt = "data_t\n%s"
                      "loop_\n_symmetry_equiv_pos_as_xyz\n'x, y, z'\n'-x, y, z'\n"
                      "loop_\n_atom_site_type_symbol\n_atom_site_fract_x\n_atom_site_fract_y\n"
                      "_atom_site_fract_z\nSi %s 0.3 0.3\n";
    char text[1024];
    snprintf(text, sizeof text, fmt, CELL10, "0.0004");
    st_atoms *a = read_one(ctx, text);
    CHECK(a && st_atoms_count(a) == 1 && iarr(a, "multiplicity")[0] == 1);
    st_atoms_destroy(a);
    snprintf(text, sizeof text, fmt, CELL10, "0.0006");
    a = read_one(ctx, text);
    CHECK(a && st_atoms_count(a) == 2 && iarr(a, "multiplicity")[1] == 2);
    if (a) CHECK(!strcmp(label(a, 0), "Si1"));   /* no label: element + site number */
    st_atoms_destroy(a);
    snprintf(text, sizeof text, fmt, CELL10, "0.4998");   /* -x = 0.5002: one atom */
    a = read_one(ctx, text);
    CHECK(a && st_atoms_count(a) == 1);
    st_atoms_destroy(a);
    st_ctx_destroy(ctx);
}

/* Rock salt from the four F-centring translations: every Na has 6 Cl at a/2, none closer. */
TEST(expansion_rock_salt)
{
    st_ctx *ctx = st_ctx_create();
    const char *ops = "loop_\n_space_group_symop_operation_xyz\n"
                      "x,y,z\nx,y+1/2,z+1/2\n1/2+x,y,1/2+z\nx+0.5,y+.5,z\n";
    const char *head = "data_NaCl\n_cell_length_a 5.64\n_cell_length_b 5.64\n_cell_length_c 5.64\n"
                       "_cell_angle_alpha 90\n_cell_angle_beta 90\n_cell_angle_gamma 90\n";
    const char *sites = "loop_\n_atom_site_label\n_atom_site_type_symbol\n_atom_site_fract_x\n"
                        "_atom_site_fract_y\n_atom_site_fract_z\nNa1 Na 0 0 0\nCl1 Cl 0.5 0 0\n";
    char text[2048];
    snprintf(text, sizeof text, "%s%s%s", head, ops, sites);
    st_atoms *a = read_one(ctx, text);
    CHECK_MSG(a != NULL, "%s", st_ctx_message(ctx));
    if (!a) return;
    CHECK(st_atoms_count(a) == 8);
    const int32_t *z = st_atoms_numbers(a);
    int nna = 0;
    for (int i = 0; i < 8; i++) nna += z[i] == 11;
    CHECK(nna == 4);
    const double *p = st_atoms_positions(a);
    for (int i = 0; i < 8; i++) {   /* minimum-image distances by brute force */
        int near6 = 0;
        double dmin = 1e9;
        for (int j = 0; j < 8; j++) {
            if (j == i) continue;
            double d2 = 0;
            for (int k = 0; k < 3; k++) {
                double d = p[3 * j + k] - p[3 * i + k];
                d -= 5.64 * round(d / 5.64);
                d2 += d * d;
            }
            double d = sqrt(d2);
            if (d < dmin) dmin = d;
            if (fabs(d - 2.82) < 1e-9) near6 += z[i] != z[j];
        }
        CHECK_NEAR(dmin, 2.82, 1e-9);
        CHECK(near6 == 3);   /* 3 distinct Cl images within the cell; 6 counting periodic ones */
    }
    /* The same crystal from the H-M symbol alone, from the Hall symbol, from the number. */
    const char *names[3] = {"_symmetry_space_group_name_H-M 'F m -3 m'\n",
                            "_space_group_name_Hall '-F 4 2 3'\n", "_space_group_IT_number 225\n"};
    for (int i = 0; i < 3; i++) {
        snprintf(text, sizeof text, "%s%s%s", head, names[i], sites);
        st_atoms *b = read_one(ctx, text);
        CHECK_MSG(b && same_structure(a, b, 1e-9), "%s: %s", names[i], st_ctx_message(ctx));
        if (b) CHECK(iarr(b, "multiplicity")[0] == 4);
        st_atoms_destroy(b);
    }
    st_atoms_destroy(a);
    st_ctx_destroy(ctx);
}

/* P 3 in a hexagonal cell: (1/3, 2/3, z) is on the 3-fold axis; Cartesian position checked
 * against a1 = (4, 0, 0), a2 = (-2, 2 sqrt 3, 0). */
TEST(expansion_hexagonal)
{
    st_ctx *ctx = st_ctx_create();
    const char *text = "data_h\n_cell_length_a 4\n_cell_length_b 4\n_cell_length_c 6\n"
                       "_cell_angle_alpha 90\n_cell_angle_beta 90\n_cell_angle_gamma 120\n"
                       "loop_\n_symmetry_equiv_pos_as_xyz\nx,y,z\n-y,x-y,z\n-x+y,-x,z\n"
                       "loop_\n_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\n"
                       "_atom_site_fract_z\nZn1 0.333333 0.666667 0.25\nS1 0.2 0.1 0.5\n";
    st_atoms *a = read_one(ctx, text);
    CHECK_MSG(a != NULL, "%s", st_ctx_message(ctx));
    if (!a) return;
    CHECK(st_atoms_count(a) == 4);
    const int32_t *mu = iarr(a, "multiplicity");
    CHECK(mu[0] == 1 && mu[1] == 3 && mu[3] == 3);
    const double *p = st_atoms_positions(a);
    CHECK_NEAR(p[0], 0.333333 * 4 - 0.666667 * 2, 1e-12);
    CHECK_NEAR(p[1], 0.666667 * 2 * sqrt(3.0), 1e-12);
    CHECK_NEAR(p[2], 1.5, 1e-12);
    /* S images: (x, y), (-y, x-y), (-x+y, -x) = (0.2, 0.1), (0.9, 0.1), (0.9, 0.8) after wrapping;
     * and each is 4 * sqrt(0.2^2 + 0.1^2 - 0.2 * 0.1) = 0.6928 Å from a 3-fold axis (hexagonal
     * metric: |r|^2 = a^2 (x^2 + y^2 - x y)), measured from the nearest lattice point. */
    static const double img[3][2] = {{0.2, 0.1}, {0.9, 0.1}, {0.9, 0.8}};
    for (int i = 0; i < 3; i++) {
        double f[3];
        frac_of(a, i + 1, f);
        CHECK_NEAR(f[0], img[i][0], 1e-12);
        CHECK_NEAR(f[1], img[i][1], 1e-12);
        CHECK_NEAR(f[2], 0.5, 1e-12);
        double best = 1e9;
        for (int u = -1; u <= 1; u++)
            for (int v = -1; v <= 1; v++) {
                double x = p[3 * (i + 1)] - (4.0 * u - 2.0 * v), y = p[3 * (i + 1) + 1] - 2 * sqrt(3.0) * v;
                best = fmin(best, hypot(x, y));
            }
        CHECK_NEAR(best, 4 * sqrt(0.04 + 0.01 - 0.02), 1e-12);
    }
    st_atoms_destroy(a);
    st_ctx_destroy(ctx);
}

/* Site order in the CIF does not change the crystal (permutation invariance). */
TEST(site_permutation_invariance)
{
    st_ctx *ctx = st_ctx_create();
    const char *fmt = "data_t\n%s_symmetry_space_group_name_H-M 'P 21/c'\nloop_\n_atom_site_label\n"
                      "_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\n%s%s%s";
    const char *s1 = "Si1 0.1 0.2 0.3\n", *s2 = "O1 0.45 0.05 0.77\n", *s3 = "O2 0 0.5 0.5\n";
    char t1[2048], t2[2048];
    snprintf(t1, sizeof t1, fmt, CELL10, s1, s2, s3);
    snprintf(t2, sizeof t2, fmt, CELL10, s3, s1, s2);
    st_atoms *a = read_one(ctx, t1), *b = read_one(ctx, t2);
    CHECK(a && b);
    if (a && b) {
        CHECK(st_atoms_count(a) == 4 + 4 + 2);
        CHECK(same_structure(a, b, 1e-12));
        CHECK(iarr(b, "asym_site")[0] == 0 && !strcmp(label(b, 0), "O2"));
    }
    st_atoms_destroy(a);
    st_atoms_destroy(b);
    st_ctx_destroy(ctx);
}

/* Every one of the 530 settings: a general position gives as many atoms as the group has
 * operations (orders from spglib's database), through the Hall symbol and through the H-M
 * symbol with its setting suffix (same atoms: the lookup found the same setting). */
TEST(all_530_settings)
{
    st_ctx *ctx = st_ctx_create();
    int bad = 0, idx = 0, number, order;
    const char *choice, *hall, *full;
    while (cif_spacegroup_table(idx, &number, &order, &choice, &hall, &full)) {
        char t1[1024], t2[1024];
        const char *site = "loop_\n_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\n"
                           "_atom_site_fract_z\nC1 0.1234 0.2345 0.3456\n";
        snprintf(t1, sizeof t1, "data_g\n%s_space_group_name_Hall '%s'\n%s", CELL10, hall, site);
        snprintf(t2, sizeof t2, "data_g\n%s_symmetry_space_group_name_H-M '%s%s%s'\n%s", CELL10, full,
                 *choice ? ":" : "", choice, site);
        st_atoms *a = read_one(ctx, t1), *b = read_one(ctx, t2);
        int ok = a && b && st_atoms_count(a) == order && same_structure(a, b, 1e-12);
        if (!ok && bad++ < 5)
            printf("#   setting %d (%d %s, Hall '%s'): %lld / %lld atoms, want %d: %s\n", idx + 1, number,
                   full, hall, a ? (long long)st_atoms_count(a) : -1LL,
                   b ? (long long)st_atoms_count(b) : -1LL, order, st_ctx_message(ctx));
        st_atoms_destroy(a);
        st_atoms_destroy(b);
        idx++;
    }
    CHECK(idx == 530);
    CHECK(bad == 0);
    /* Number alone: the first setting (origin choice 1 for Fd-3m: 192 images). */
    char t[1024];
    snprintf(t, sizeof t, "data_g\n%s_symmetry_Int_Tables_number 227\nloop_\n_atom_site_label\n"
             "_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\nC1 0.1234 0.2345 0.3456\n"
             "C2 0 0 0\n", CELL10);
    st_atoms *a = read_one(ctx, t);
    CHECK(a && st_atoms_count(a) == 192 + 8);   /* origin 1: (0,0,0) is the 8a site (-43m) */
    st_atoms_destroy(a);
    st_ctx_destroy(ctx);
}

/* H-M spellings as CIFs write them; a general position gives the group order (ITA). */
TEST(hm_symbol_forms)
{
    st_ctx *ctx = st_ctx_create();
    static const struct { const char *hm; int n; } cases[] = {
        {"P 21/c", 4}, {"P 1 21/c 1", 4}, {"P21/n", 4}, {"P 1 21/n 1", 4}, {"C 2/c", 8},
        {"P 63/m m c", 24}, {"p6_3/MMC", 24}, {"R -3 m", 36}, {"R -3 m:H", 36}, {"R -3 m:R", 12},
        {"F d -3 m", 192}, {"F d -3 m:2", 192}, {"I 41/a m d", 32}, {"P n m a", 8}, {"P m c n", 8},
        {"P 1", 1}, {"P -1", 2}, {"I a -3 d", 96}, {"P 4/n m m:2", 16}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char t[1024];
        snprintf(t, sizeof t, "data_g\n%s_symmetry_space_group_name_H-M '%s'\nloop_\n_atom_site_label\n"
                 "_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\nC1 0.1234 0.2345 0.3456\n",
                 CELL10, cases[i].hm);
        st_atoms *a = read_one(ctx, t);
        CHECK_MSG(a && st_atoms_count(a) == cases[i].n, "'%s': %lld atoms, want %d (%s)", cases[i].hm,
                  a ? (long long)st_atoms_count(a) : -1LL, cases[i].n, st_ctx_message(ctx));
        st_atoms_destroy(a);
    }
    /* Origin choices 1 and 2 of Fd-3m differ: (0,0,0) is 8a (origin 1) but 16c (origin 2). */
    const char *fmt = "data_g\n%s_symmetry_space_group_name_H-M '%s'\nloop_\n_atom_site_label\n"
                      "_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\nC1 0 0 0\n";
    char t[1024];
    snprintf(t, sizeof t, fmt, CELL10, "F d -3 m:1");
    st_atoms *a = read_one(ctx, t);
    CHECK(a && st_atoms_count(a) == 8);
    st_atoms_destroy(a);
    snprintf(t, sizeof t, fmt, CELL10, "F d -3 m:2");
    a = read_one(ctx, t);
    CHECK(a && st_atoms_count(a) == 16);
    st_atoms_destroy(a);
    st_ctx_destroy(ctx);
}

/* ---------------------------------------------------------------- occupancy and duplicates */
TEST(occupancy_and_disorder)
{
    st_ctx *ctx = st_ctx_create();
    char text[2048];
    snprintf(text, sizeof text,
             "data_t\n%sloop_\n_atom_site_label\n_atom_site_type_symbol\n_atom_site_fract_x\n"
             "_atom_site_fract_y\n_atom_site_fract_z\n_atom_site_occupancy\n"
             "Fe1 Fe 0.1 0.1 0.1 0.5\nNi1 Ni 0.1 0.1 0.1 0.5\nO1 O2- 0.6 0.6 0.6 ?\n",
             CELL10);
    st_atoms *a = read_one(ctx, text);
    CHECK_MSG(a != NULL, "%s", st_ctx_message(ctx));
    if (a) {   /* a mixed Fe/Ni site is kept as two atoms, occupancies reported */
        CHECK(st_atoms_count(a) == 3);
        const double *occ = st_atoms_array_data(a, st_atoms_array_find(a, "occupancy"));
        CHECK(occ[0] == 0.5 && occ[1] == 0.5 && occ[2] == 1.0);
        int k = st_atoms_info_find(a, "disordered");
        CHECK(k >= 0 && st_atoms_info_kind(a, k) == ST_KIND_BOOL &&
              ((const int32_t *)st_atoms_info_data(a, k))[0] == 1);
        CHECK(st_atoms_numbers(a)[2] == 8);
        st_atoms_destroy(a);
    }
    /* Full occupancy everywhere: no "disordered" info, occupancy array still present. */
    snprintf(text, sizeof text,
             "data_t\n%sloop_\n_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\n"
             "_atom_site_fract_z\n_atom_site_occupancy\nSi1 0.1 0.1 0.1 1.0\n", CELL10);
    a = read_one(ctx, text);
    CHECK(a && st_atoms_info_find(a, "disordered") < 0 && st_atoms_array_find(a, "occupancy") >= 0);
    st_atoms_destroy(a);
    st_ctx_destroy(ctx);
}

/* ---------------------------------------------------------------- errors */
static void expect_error(const char *text, const char *what, int status, const char *n1, const char *n2)
{
    st_ctx *ctx = st_ctx_create();
    st_atoms *f[4];
    int n = read_str(ctx, text, f, 4);
    CHECK_MSG(n == -status, "%s: got %d, want status %d (%s)", what, n, status, st_ctx_message(ctx));
    for (int i = 0; i < n && i < 4; i++) st_atoms_destroy(f[i]);
    const char *m = st_ctx_message(ctx);
    CHECK_MSG(strstr(m, "t.cif") && strstr(m, n1) && (!n2 || strstr(m, n2)),
              "%s: message '%s' lacks '%s' / '%s'", what, m, n1, n2 ? n2 : "");
    st_ctx_destroy(ctx);
}

TEST(errors)
{
    const char *cell = "data_t\n_cell_length_a 10\n_cell_length_b 10\n_cell_length_c 10\n"
                       "_cell_angle_alpha 90\n_cell_angle_beta 90\n_cell_angle_gamma 90\n";
    const char *sites = "loop_\n_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\n"
                        "_atom_site_fract_z\nSi1 0.1 0.2 0.3\n";
    char t[2048];
    /* line numbers: data_t is line 1, the cell lines 2..7 */
    expect_error("data_t\n_cell_length_a 10\n_cell_length_c 10\n_cell_angle_alpha 90\n"
                 "_cell_angle_beta 90\n_cell_angle_gamma 90\nloop_\n_atom_site_label\n"
                 "_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\nSi1 0 0 0\n",
                 "missing b", ST_ERR_PARSE, "missing _cell_length_b", "line 1");
    snprintf(t, sizeof t, "data_t\n_cell_length_a 5.0x\n%s", strstr(cell, "_cell_length_b"));
    strcat(t, sites);
    expect_error(t, "non-numeric", ST_ERR_PARSE, "line 2: _cell_length_a: expected a number, got '5.0x'", NULL);
    snprintf(t, sizeof t, "%sloop_\n_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\n"
             "_atom_site_fract_z\nSi1 0.1(3 0.2 0.3\n", cell);
    expect_error(t, "bad su", ST_ERR_PARSE, "line 13: _atom_site_fract_x: expected a number, got '0.1(3'", NULL);
    snprintf(t, sizeof t, "%s%s", cell, "loop_\n_atom_site_label\n_atom_site_fract_x\n"
             "_atom_site_fract_y\n_atom_site_fract_z\nSi1 1e400 0 0\n");
    expect_error(t, "range", ST_ERR_PARSE, "out of range", "line 13");
    snprintf(t, sizeof t, "%sloop_\n_symmetry_equiv_pos_as_xyz\nx,y,z\n'x,y'\n%s", cell, sites);
    expect_error(t, "bad op", ST_ERR_PARSE, "line 11: _symmetry_equiv_pos_as_xyz: malformed symmetry "
                 "operation 'x,y'", "3 comma-separated");
    snprintf(t, sizeof t, "%s_symmetry_equiv_pos_as_xyz 'x,x,z'\n%s", cell, sites);
    expect_error(t, "singular op", ST_ERR_PARSE, "line 8", "determinant 0");
    snprintf(t, sizeof t, "%sloop_\n_symmetry_equiv_pos_as_xyz\n'x+1/0,y,z'\n%s", cell, sites);
    expect_error(t, "div0 op", ST_ERR_PARSE, "line 10", "denominator");
    snprintf(t, sizeof t, "%sloop_\n_symmetry_equiv_pos_as_xyz\n'2x,y,z'\n%s", cell, sites);
    expect_error(t, "coef op", ST_ERR_PARSE, "line 10", "coefficients");
    expect_error(cell, "no sites", ST_ERR_PARSE, "no atom sites", "_atom_site_fract_x");
    snprintf(t, sizeof t, "%sloop_\n_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\n"
             "_atom_site_fract_z\n", cell);
    expect_error(t, "empty loop", ST_ERR_PARSE, "no atom sites", NULL);
    snprintf(t, sizeof t, "%sloop_\n_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\n"
             "_atom_site_fract_z\nO1 0.5 0.5 0.5\nO2 0.5 0.5 0.5\n", cell);
    expect_error(t, "duplicate", ST_ERR_PARSE, "line 14: data_t: site 'O2' lands on site 'O1' (line 13)",
                 "total occupancy 2");
    snprintf(t, sizeof t, "%sloop_\n_symmetry_equiv_pos_as_xyz\nx,y,z\n-x,-y,-z\nloop_\n"
             "_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\n"
             "_atom_site_occupancy\nO1 0.1 0.1 0.1 0.6\nO2 0.9 0.9 0.9 0.6\n", cell);
    expect_error(t, "dup by symmetry", ST_ERR_PARSE, "site 'O2' lands on site 'O1'", "1.2 > 1");
    snprintf(t, sizeof t, "%sloop_\n_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\n"
             "_atom_site_fract_z\n_atom_site_occupancy\nO1 0.1 0.1 0.1 1.5\n", cell);
    expect_error(t, "occupancy", ST_ERR_PARSE, "line 14: _atom_site_occupancy: 1.5 is not in [0, 1]", NULL);
    snprintf(t, sizeof t, "%s_journal 'unterminated\n%s", cell, sites);
    expect_error(t, "quote", ST_ERR_PARSE, "line 8: quoted string 'unterminated is not closed", NULL);
    snprintf(t, sizeof t, "%s_title\n;\ntext\nno end\n%s", cell, sites);
    expect_error(t, "text field", ST_ERR_PARSE, "line 9: semicolon text field is not closed", NULL);
    snprintf(t, sizeof t, "%sloop_\n_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\n"
             "_atom_site_fract_z\nSi1 0.1 0.2 0.3\nO1 0.5\n", cell);
    expect_error(t, "ragged loop", ST_ERR_PARSE, "loop_ of line 8 has 6 values, not a multiple of its 4 tags", NULL);
    snprintf(t, sizeof t, "%s0.5\n%s", cell, sites);
    expect_error(t, "value without tag", ST_ERR_PARSE, "line 8: value '0.5' has no tag", NULL);
    expect_error("", "empty", ST_ERR_PARSE, "no data_ block", NULL);
    expect_error("_cell_length_a 5\n", "no header", ST_ERR_PARSE, "line 1: expected 'data_<name>'", NULL);
    expect_error("data_x\n_publ_author 'me'\n", "no structure", ST_ERR_PARSE, "no data block holds a structure", NULL);
    snprintf(t, sizeof t, "%s_cell_length_a 11\n%s", cell, sites);
    expect_error(t, "twice", ST_ERR_PARSE, "line 8: _cell_length_a appears twice", "first at line 2");
    snprintf(t, sizeof t, "%sloop_\n_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\n"
             "_atom_site_fract_z\nT1 0.1 0.2 0.3\n", cell);
    expect_error(t, "no element", ST_ERR_PARSE, "line 13: _atom_site_label: cannot tell the element of 'T1'", NULL);
    snprintf(t, sizeof t, "%sloop_\n_atom_site_type_symbol\n_atom_site_fract_x\n_atom_site_fract_y\n"
             "_atom_site_fract_z\nQq 0.1 0.2 0.3\n", cell);
    expect_error(t, "bad element", ST_ERR_PARSE, "unknown element 'Qq'", "line 13");
    snprintf(t, sizeof t, "data_t\n_cell_length_a 10\n_cell_length_b 10\n_cell_length_c 10\n"
             "_cell_angle_alpha 200\n_cell_angle_beta 90\n_cell_angle_gamma 90\n%s", sites);
    expect_error(t, "bad cell", ST_ERR_PARSE, "line 2: cell a=10 b=10 c=10 alpha=200", "not a valid cell");
    snprintf(t, sizeof t, "%s_symmetry_space_group_name_H-M 'Q 9 9'\n%s", cell, sites);
    expect_error(t, "unknown H-M", ST_ERR_PARSE, "line 8: no symmetry operations are listed", "'Q 9 9'");
    snprintf(t, sizeof t, "%s_space_group_name_Hall 'P 5'\n%s", cell, sites);
    expect_error(t, "bad Hall", ST_ERR_PARSE, "line 8: Hall symbol 'P 5'", NULL);
    snprintf(t, sizeof t, "%s_cell_length_b ?\n%s", strstr(cell, "_cell_length_b") ? "data_t\n_cell_length_a 10\n"
             "_cell_length_c 10\n_cell_angle_alpha 90\n_cell_angle_beta 90\n_cell_angle_gamma 90\n" : "", sites);
    expect_error(t, "unknown value", ST_ERR_PARSE, "line 7: _cell_length_b: value is missing ('?')", NULL);
    snprintf(t, sizeof t, "%sloop_\n_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\n"
             "_atom_site_fract_z\nSi1 0.1 0.2 0.3\nloop_\n_atom_site_occupancy\n1\n", cell);
    expect_error(t, "split loops", ST_ERR_PARSE, "line 15: _atom_site_occupancy is not in the loop of "
                 "_atom_site_fract_x (line 10)", NULL);
}

/* ---------------------------------------------------------------- writer */
TEST(write_read_round_trip)
{
    st_ctx *ctx = st_ctx_create();
    char path[256];
    snprintf(path, sizeof path, "/tmp/strata_test_cif_%d.cif", (int)getpid());
    char text[2048];
    snprintf(text, sizeof text,
             "data_mono\n_cell_length_a 7.1\n_cell_length_b 8.2\n_cell_length_c 9.3\n"
             "_cell_angle_alpha 90\n_cell_angle_beta 104.5\n_cell_angle_gamma 90\n"
             "_symmetry_space_group_name_H-M 'P 1 21/c 1'\n"
             "loop_\n_atom_site_label\n_atom_site_type_symbol\n_atom_site_fract_x\n_atom_site_fract_y\n"
             "_atom_site_fract_z\n_atom_site_occupancy\n"
             "Cu1 Cu 0.1 0.2 0.3 1\nO1 O 0.45 0.05 0.77 0.75\nN1 N 0 0 0 1\n");
    st_atoms *a = read_one(ctx, text);
    CHECK_MSG(a != NULL, "%s", st_ctx_message(ctx));
    if (!a) return;
    CHECK(st_atoms_count(a) == 10);
    st_writer *w = NULL;
    CHECK_OK(ctx, st_writer_open(ctx, path, NULL, &w));
    CHECK_OK(ctx, st_writer_write(ctx, w, a));
    CHECK_OK(ctx, st_writer_close(ctx, w));
    st_reader *r = NULL;
    CHECK_OK(ctx, st_reader_open(ctx, path, NULL, &r));
    st_atoms *b = NULL;
    if (r) CHECK_OK(ctx, st_reader_next(ctx, r, &b));
    st_reader_close(r);
    CHECK(b != NULL);
    if (b) {
        CHECK(st_atoms_count(b) == 10);
        for (int k = 0; k < 9; k++) CHECK_NEAR(st_atoms_cell(b)[k], st_atoms_cell(a)[k], 1e-12);
        for (int i = 0; i < 10; i++) {
            CHECK(st_atoms_numbers(b)[i] == st_atoms_numbers(a)[i]);
            for (int k = 0; k < 3; k++)
                CHECK_NEAR(st_atoms_positions(b)[3 * i + k], st_atoms_positions(a)[3 * i + k], 1e-12);
            CHECK(iarr(b, "multiplicity")[i] == 1 && iarr(b, "asym_site")[i] == i);
            const double *o1 = st_atoms_array_data(a, st_atoms_array_find(a, "occupancy"));
            const double *o2 = st_atoms_array_data(b, st_atoms_array_find(b, "occupancy"));
            CHECK(o1[i] == o2[i]);
        }
        CHECK(!strcmp(label(b, 0), "Cu1_1"));   /* labels made unique: label_<index> */
        CHECK(st_atoms_info_find(b, "disordered") >= 0);
        int k = st_atoms_info_find(b, "data_block");
        CHECK(k >= 0 && !strcmp(st_atoms_info_string(b, k), "mono"));
        st_atoms_destroy(b);
    }
    /* A cell not in the standard orientation, atoms outside the cell: read back rotated, same
     * cell parameters, same fractional coordinates mod 1. */
    st_atoms *c = st_atoms_create(2);
    double cell[9] = {0, 4, 0, -3, 0, 0, 0.5, 0.2, 5};
    memcpy(st_atoms_cell(c), cell, sizeof cell);
    double *p = st_atoms_positions(c);
    p[0] = 1; p[1] = 2; p[2] = 3; p[3] = -1; p[4] = 7; p[5] = 0.1;
    st_atoms_numbers(c)[0] = 6;
    st_atoms_numbers(c)[1] = 0;   /* a dummy atom, written as X */
    CHECK_OK(ctx, st_writer_open(ctx, path, "cif", &w));
    CHECK_OK(ctx, st_writer_write(ctx, w, c));
    CHECK_OK(ctx, st_writer_write(ctx, w, a));   /* two frames -> two data blocks */
    CHECK_OK(ctx, st_writer_close(ctx, w));
    CHECK_OK(ctx, st_reader_open(ctx, path, NULL, &r));
    b = NULL;
    if (r) CHECK_OK(ctx, st_reader_next(ctx, r, &b));
    if (b) {
        double L1[3], A1[3], L2[3], A2[3];
        st_cell_to_parameters(st_atoms_cell(c), L1, A1);
        st_cell_to_parameters(st_atoms_cell(b), L2, A2);
        for (int k = 0; k < 3; k++) {
            CHECK_NEAR(L1[k], L2[k], 1e-12);
            CHECK_NEAR(A1[k], A2[k], 1e-10);
        }
        for (int i = 0; i < 2; i++) {
            double f1[3], f2[3];
            frac_of(c, i, f1);
            frac_of(b, i, f2);
            for (int k = 0; k < 3; k++) CHECK_NEAR(wrap1(f1[k]), f2[k], 1e-12);
        }
        CHECK(st_atoms_numbers(b)[0] == 6 && st_atoms_numbers(b)[1] == 0);
        CHECK(!strcmp(label(b, 1), "X2"));
        st_atoms_destroy(b);
        CHECK_OK(ctx, st_reader_next(ctx, r, &b));
        CHECK(b && st_atoms_count(b) == 10);
        st_atoms_destroy(b);
    }
    st_reader_close(r);
    /* No cell: refused, and the final file is untouched. */
    st_atoms *d = st_atoms_create(1);
    CHECK_OK(ctx, st_writer_open(ctx, path, "cif", &w));
    CHECK(st_writer_write(ctx, w, d) == ST_ERR_ARG);
    CHECK(strstr(st_ctx_message(ctx), "needs a unit cell") != NULL);
    st_writer_abort(w);
    CHECK(access(path, R_OK) == 0);
    remove(path);
    st_atoms_destroy(a);
    st_atoms_destroy(c);
    st_atoms_destroy(d);
    st_ctx_destroy(ctx);
}

/* ---------------------------------------------------------------- acceptance: IZA zeolites */
TEST(iza_ideal_all_253)
{
    const char *csv = SHARED("zeolites/reference/iza_ideal_motif.csv");
    if (!csv || !SHARED("zeolites/iza_ideal/ABW.cif")) SKIP("../shared/data/zeolites not found");
    st_ctx *ctx = st_ctx_create();
    FILE *f = fopen(csv, "r");
    char line[512];
    if (!fgets(line, sizeof line, f)) {
        CHECK(0);
        fclose(f);
        return;
    }
    long total = 0, total_sites = 0;
    int files = 0, bad = 0;
    while (fgets(line, sizeof line, f)) {
        char code[32], block[64];
        int nat, nsi, no, nas, pdd;
        double vol;
        if (sscanf(line, "%31[^,],%63[^,],%d,%d,%d,%d,%d,%lf", code, block, &nat, &nsi, &no, &nas,
                   &pdd, &vol) != 8) {
            CHECK_MSG(0, "bad csv line %s", line);
            continue;
        }
        char rel[128];
        snprintf(rel, sizeof rel, "zeolites/iza_ideal/%s.cif", code);
        const char *path = SHARED(rel);
        st_reader *r = NULL;
        st_atoms *a = NULL;
        int rc = path ? st_reader_open(ctx, path, NULL, &r) : ST_ERR_IO;
        if (!rc) rc = st_reader_next(ctx, r, &a);
        st_reader_close(r);
        files++;
        if (rc || !a) {
            if (bad++ < 5) printf("#   %s: %s\n", code, st_ctx_message(ctx));
            continue;
        }
        int64_t n = st_atoms_count(a);
        const int32_t *z = st_atoms_numbers(a), *as = iarr(a, "asym_site"), *mu = iarr(a, "multiplicity");
        int cs = 0, co = 0, ok = 1;
        for (int64_t i = 0; i < n; i++) cs += z[i] == 14, co += z[i] == 8;
        int nsites = n ? as[n - 1] + 1 : 0;
        ok &= n == nat && cs == nsi && co == no && nsites == nas;
        ok &= fabs(st_cell_volume(st_atoms_cell(a)) - vol) < 2e-6 * vol;
        int kb = st_atoms_info_find(a, "data_block");
        ok &= kb >= 0 && !strcmp(st_atoms_info_string(a, kb), block);
        /* Sites are contiguous, multiplicities count them. */
        for (int64_t i = 0, start = 0; i < n; i++) {
            if (i > 0 && as[i] != as[i - 1]) {
                ok &= as[i] == as[i - 1] + 1;
                start = i;
            }
            if (i + 1 == n || as[i + 1] != as[i]) ok &= mu[i] == i - start + 1;
        }
        /* The first atom of each site is the site as listed (identity image, wrapped),
         * against the CIF's own listing read here with sscanf. */
        size_t len;
        char *cif = slurp(path, &len);
        char *p = cif ? strstr(cif, "_atom_site_fract_z") : NULL;
        int site = 0, typed = cif && strstr(cif, "_atom_site_type_symbol");   /* else 4 columns */
        for (p = p ? strchr(p, '\n') : NULL; p && *p;) {
            char lab[32], typ[8];
            double x, y, zz;
            p++;
            int got = typed ? sscanf(p, "%31s %7s %lf %lf %lf", lab, typ, &x, &y, &zz)
                            : sscanf(p, "%31s %lf %lf %lf", lab, &x, &y, &zz) + 1;
            if (!typed) snprintf(typ, sizeof typ, "%.*s", isalpha((unsigned char)lab[1]) ? 2 : 1, lab);
            if (got == 5) {
                int64_t first = -1;
                for (int64_t i = 0; i < n && first < 0; i++)
                    if (as[i] == site) first = i;
                double g[3];
                if (first < 0) {
                    ok = 0;
                    break;
                }
                frac_of(a, first, g);
                ok &= fabs(g[0] - wrap1(x)) < 1e-9 && fabs(g[1] - wrap1(y)) < 1e-9 &&
                      fabs(g[2] - wrap1(zz)) < 1e-9 && !strcmp(label(a, first), lab) &&
                      z[first] == st_element_number(typ);
                site++;
            }
            p = strchr(p, '\n');
        }
        ok &= site == nas;
        free(cif);
        if (!ok && bad++ < 5)
            printf("#   %s: %lld atoms (want %d), Si %d/%d, O %d/%d, sites %d/%d (listed %d), V %.6f/%.6f\n",
                   code, (long long)n, nat, cs, nsi, co, no, nsites, nas, site,
                   st_cell_volume(st_atoms_cell(a)), vol);
        total += n;
        total_sites += nsites;
        st_atoms_destroy(a);
    }
    fclose(f);
    CHECK(files == 253);
    CHECK(bad == 0);
    CHECK_MSG(total == 54393 && total_sites == 4671, "totals %ld atoms, %ld sites", total, total_sites);
    st_ctx_destroy(ctx);
}

/* ABW (I m m a) is closed under four generators of its group, applied here independently of the
 * CIF's listed operations: inversion, I-centring, the mirror x -> -x, and y -> 1/2 - y. */
TEST(iza_abw_closed_under_generators)
{
    const char *path = SHARED("zeolites/iza_ideal/ABW.cif");
    if (!path) SKIP("../shared/data/zeolites not found");
    st_ctx *ctx = st_ctx_create();
    st_reader *r = NULL;
    st_atoms *a = NULL;
    CHECK_OK(ctx, st_reader_open(ctx, path, NULL, &r));
    if (r) CHECK_OK(ctx, st_reader_next(ctx, r, &a));
    st_reader_close(r);
    if (!a) return;
    CHECK(st_atoms_count(a) == 24);
    int closed = 1;
    for (int64_t i = 0; i < st_atoms_count(a); i++) {
        double f[3], g[3];
        frac_of(a, i, f);
        for (int op = 0; op < 4; op++) {
            g[0] = op == 0 ? -f[0] : op == 1 ? f[0] + 0.5 : op == 2 ? -f[0] : f[0];
            g[1] = op == 0 ? -f[1] : op == 1 ? f[1] + 0.5 : op == 2 ? f[1] : 0.5 - f[1];
            g[2] = op == 0 ? -f[2] : op == 1 ? f[2] + 0.5 : f[2];
            closed &= has_atom_at(a, g, 1e-9);
        }
    }
    CHECK(closed);
    /* And no two atoms within 1e-3 of each other (no duplicate images left). */
    int dup = 0;
    for (int64_t i = 0; i < st_atoms_count(a); i++)
        for (int64_t j = 0; j < i; j++) {
            double f[3], g[3];
            frac_of(a, i, f);
            frac_of(a, j, g);
            dup += pdist(f[0], g[0]) <= 1e-3 && pdist(f[1], g[1]) <= 1e-3 && pdist(f[2], g[2]) <= 1e-3;
        }
    CHECK(dup == 0);
    st_atoms_destroy(a);
    st_ctx_destroy(ctx);
}

/* ---------------------------------------------------------------- acceptance: MP-20, Perov-5 */
/* RFC-4180 CSV: next record's fields (in place, unescaped) into fld[]; returns the count, 0 at
 * the end. */
static int csv_record(char **cur, char **fld, int maxf)
{
    char *p = *cur;
    if (!*p) return 0;
    int n = 0;
    for (;;) {
        char *out = p, *start = p;
        if (*p == '"') {
            p++;
            for (;;) {
                if (!*p) break;
                if (*p == '"' && p[1] == '"') *out++ = '"', p += 2;
                else if (*p == '"') {
                    p++;
                    break;
                } else *out++ = *p++;
            }
        } else {
            while (*p && *p != ',' && *p != '\n' && *p != '\r') *out++ = *p++;
        }
        char end = *p;
        *out = 0;
        if (n < maxf) fld[n++] = start;
        if (end == ',') {
            p++;
            continue;
        }
        if (end == '\r') {   /* *p may have been overwritten by the terminator: use `end` */
            p++;
            if (*p == '\n') p++;
        } else if (end == '\n') {
            p++;
        }
        break;
    }
    *cur = p;
    return n;
}

static int column(char **hdr, int nh, const char *name)
{
    for (int i = 0; i < nh; i++)
        if (!strcmp(hdr[i], name)) return i;
    return -1;
}

/* Adds the counts of "Ga4 Te4" or "TiOsNOF" / "CuCdN3" style formulas to count[Z]. */
static int formula_counts(const char *s, int count[120])
{
    int total = 0;
    while (*s) {
        if (!isupper((unsigned char)*s)) {
            s++;
            continue;
        }
        char sym[3] = {*s++, 0, 0};
        if (islower((unsigned char)*s)) sym[1] = *s++;
        int k = isdigit((unsigned char)*s) ? (int)strtol(s, (char **)&s, 10) : 1;
        int z = st_element_number(sym);
        if (z <= 0) return -1;
        count[z] += k;
        total += k;
    }
    return total;
}

static void check_crystal_csv(const char *rel, int expect_rows, int is_mp)
{
    const char *path = SHARED(rel);
    if (!path) {
        check_skip_reason = "../shared/data/crystals not found";
        return;
    }
    st_ctx *ctx = st_ctx_create();
    size_t len;
    char *text = slurp(path, &len), *cur = text;
    char *hdr[16], *fld[16];
    int nh = csv_record(&cur, hdr, 16);
    int ccif = column(hdr, nh, "cif");
    int cform = is_mp ? -1 : column(hdr, nh, "formula");
    int celem = is_mp ? column(hdr, nh, "elements") : -1;
    CHECK(ccif >= 0 && (is_mp ? celem >= 0 : cform >= 0));
    int rows = 0, parsed = 0, bad = 0, roundtrips = 0;
    char name[128], tmp[256];
    snprintf(tmp, sizeof tmp, "/tmp/strata_test_cif_rt_%d.cif", (int)getpid());
    int nf;
    while ((nf = csv_record(&cur, fld, 16)) > 0) {
        if (nf != nh) continue;
        rows++;
        snprintf(name, sizeof name, "%s:%d", rel, rows + 1);
        const char *cif = fld[ccif];
        st_reader *r = NULL;
        st_atoms *a = NULL;
        int rc = st_reader_open_string(ctx, cif, strlen(cif), NULL, name, &r);
        if (!rc) rc = st_reader_next(ctx, r, &a);
        st_reader_close(r);
        if (rc || !a) {
            if (bad++ < 5) printf("#   %s: %s\n", name, st_ctx_message(ctx));
            continue;
        }
        parsed++;
        /* Independent composition: MP-20 from _chemical_formula_sum, Perov-5 from `formula`. */
        int want[120] = {0}, got[120] = {0}, total;
        if (is_mp) {
            const char *p = strstr(cif, "_chemical_formula_sum");
            char buf[256] = "";
            if (p) {   /* 'Ga4 Te4' quoted, or a bare F4 */
                p += strlen("_chemical_formula_sum");
                while (*p == ' ') p++;
                if (*p == '\'') sscanf(p + 1, "%255[^']", buf);
                else sscanf(p, "%255s", buf);
            }
            total = formula_counts(buf, want);
        } else {
            total = formula_counts(fld[cform], want);
        }
        int64_t n = st_atoms_count(a);
        for (int64_t i = 0; i < n; i++) got[st_atoms_numbers(a)[i]]++;
        int ok = total == n && !memcmp(want, got, sizeof want) && (is_mp || n == 5);
        if (is_mp) {   /* every element of the `elements` column is present, nothing else */
            int listed[120] = {0}, nl = formula_counts(fld[celem], listed);
            for (int zz = 1; zz < 120; zz++) ok &= (listed[zz] > 0) == (got[zz] > 0);
            ok &= nl > 0;
        }
        if (!ok && bad++ < 5) printf("#   %s: %lld atoms, composition differs (want %d)\n", name, (long long)n, total);
        /* Write P1 and read back, every 500th row. */
        if (rows % 500 == 1) {
            st_writer *w = NULL;
            st_atoms *b = NULL;
            int rt = st_writer_open(ctx, tmp, "cif", &w);
            if (!rt) rt = st_writer_write(ctx, w, a);
            if (!rt) rt = st_writer_close(ctx, w);
            else st_writer_abort(w);
            if (!rt) rt = st_reader_open(ctx, tmp, NULL, &r);
            if (!rt) rt = st_reader_next(ctx, r, &b), st_reader_close(r);
            int same = !rt && b && st_atoms_count(b) == n;
            for (int64_t i = 0; same && i < n; i++) {
                same &= st_atoms_numbers(b)[i] == st_atoms_numbers(a)[i];
                for (int k = 0; k < 3; k++)
                    same &= fabs(st_atoms_positions(b)[3 * i + k] - st_atoms_positions(a)[3 * i + k]) < 1e-10;
            }
            for (int k = 0; same && k < 9; k++) same &= fabs(st_atoms_cell(b)[k] - st_atoms_cell(a)[k]) < 1e-10;
            CHECK_MSG(same, "%s: round trip differs: %s", name, st_ctx_message(ctx));
            roundtrips++;
            st_atoms_destroy(b);
        }
        st_atoms_destroy(a);
    }
    remove(tmp);
    CHECK_MSG(rows == expect_rows, "%s: %d rows, want %d", rel, rows, expect_rows);
    CHECK_MSG(parsed == rows, "%s: %d of %d CIFs parsed", rel, parsed, rows);
    CHECK(bad == 0);
    CHECK(roundtrips >= 7);
    printf("#   %s: %d of %d CIFs parsed, %d round trips\n", rel, parsed, rows, roundtrips);
    free(text);
    st_ctx_destroy(ctx);
}

TEST(mp_20_val) { check_crystal_csv("crystals/mp_20/val.csv", 9047, 1); }
TEST(mp_20_test) { check_crystal_csv("crystals/mp_20/test.csv", 9046, 1); }
TEST(perov_5_val) { check_crystal_csv("crystals/perov_5/val.csv", 3787, 0); }
TEST(perov_5_test) { check_crystal_csv("crystals/perov_5/test.csv", 3785, 0); }

int main(void)
{
    RUN(syntax_features);
    RUN(expansion_p_minus_1);
    RUN(expansion_tolerance_edge);
    RUN(expansion_rock_salt);
    RUN(expansion_hexagonal);
    RUN(site_permutation_invariance);
    RUN(all_530_settings);
    RUN(hm_symbol_forms);
    RUN(occupancy_and_disorder);
    RUN(errors);
    RUN(write_read_round_trip);
    RUN(iza_ideal_all_253);
    RUN(iza_abw_closed_under_generators);
    RUN(mp_20_val);
    RUN(mp_20_test);
    RUN(perov_5_val);
    RUN(perov_5_test);
    return DONE();
}
