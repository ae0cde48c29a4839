/* Tests for the vasprun.xml reader (csrc/io/vasprun.c).
 *
 * tests/data/vasprun_3step.xml was written by hand for these tests (ISO-8859-1, 3 ionic steps,
 * 3 atoms Si Si O, three different cells including a triclinic and a hexagonal-like one, step 3
 * without <scstep> and without stress).  Expected values below are the numbers typed into that
 * file; derived values (Cartesian positions, ASE energies, stress in eV/Å^3) were computed
 * separately with Python/numpy and are hard-coded with the formula next to them. */
#include "strata.h"
#include "check.h"

static const char *F3 = "tests/data/vasprun_3step.xml";

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
    *len = (size_t)n;
    return b;
}

/* Replace the first occurrence of `from` in text by `to` (new malloc'd string). */
static char *replace(const char *text, const char *from, const char *to)
{
    const char *p = strstr(text, from);
    if (!p) return NULL;
    size_t a = (size_t)(p - text), nf = strlen(from), nt = strlen(to), n = strlen(text);
    char *r = malloc(n - nf + nt + 1);
    memcpy(r, text, a);
    memcpy(r + a, to, nt);
    memcpy(r + a + nt, p + nf, n - a - nf + 1);
    return r;
}

static double info_real(st_atoms *a, const char *key, int k)
{
    int i = st_atoms_info_find(a, key);
    return i < 0 ? NAN : ((const double *)st_atoms_info_data(a, i))[k];
}

/* Reads all frames; returns the count; *rc gets the status of the call that ended it. */
static int read_all(st_ctx *ctx, st_reader *r, st_atoms **frames, int max, int *rc)
{
    int n = 0;
    for (;;) {
        st_atoms *a = NULL;
        *rc = st_reader_next(ctx, r, &a);
        if (*rc || !a) break;
        if (n < max) frames[n] = a;
        else st_atoms_destroy(a);
        n++;
    }
    return n;
}

static void check_three_steps(st_ctx *ctx, st_reader *r)
{
    st_atoms *f[4] = {0};
    int rc, n = read_all(ctx, r, f, 4, &rc);
    CHECK(rc == ST_OK);
    CHECK(n == 3);
    if (n != 3) return;
    static const double basis[3][9] = {
        {5.0, 0, 0, 0, 5.0, 0, 0, 0, 5.0},
        {5.1, 0.1, 0.0, 0.2, 5.0, 0.0, 0.0, 0.3, 4.9},
        {4.8, 0.0, 0.0, -2.4, 4.15692194, 0.0, 0.5, 0.6, 5.2}};
    static const double frac[3][9] = {
        {0.0, 0.0, 0.0, 0.25, 0.5, 0.75, 0.5, 0.125, 0.375},
        {0.01, 0.02, 0.03, 0.26, 0.49, 0.74, 0.51, 0.13, 0.37},
        {0.99, 0.98, 0.97, 0.3, 0.45, 0.8, -0.1, 0.2, 1.25}};
    static const double forces[3][9] = {
        {0.1, -0.2, 0.3, -0.15, 0.25, -0.35, 0.05, -0.05, 0.05},
        {0.01, -0.02, 0.03, -0.015, 0.025, -0.035, 0.005, -0.005, 0.005},
        {0.0, 0.0, 0.1, 0.0, 0.0, -0.05, 0.0, 0.0, -0.05}};
    /* ASE: energy = e_fr(step) + (e_0 - e_fr)(last scstep); no scstep -> e_0 of the step. */
    static const double energy[3] = {-30.11845678, -30.4925, -30.695};
    static const double free_e[3] = {-30.12345678, -30.5, -30.7};
    for (int s = 0; s < 3; s++) {
        st_atoms *a = f[s];
        CHECK(st_atoms_count(a) == 3);
        const int32_t *z = st_atoms_numbers(a);
        CHECK(z[0] == 14 && z[1] == 14 && z[2] == 8);
        const double *cell = st_atoms_cell(a), *pos = st_atoms_positions(a);
        for (int k = 0; k < 9; k++) CHECK_NEAR(cell[k], basis[s][k], 1e-12);
        for (int i = 0; i < 3; i++)        /* Cartesian = frac . basis (rows), not wrapped */
            for (int c = 0; c < 3; c++) {
                double want = 0;
                for (int j = 0; j < 3; j++) want += frac[s][3 * i + j] * basis[s][3 * j + c];
                CHECK_NEAR(pos[3 * i + c], want, 1e-12);
            }
        const int32_t *pbc = st_atoms_pbc(a);
        CHECK(pbc[0] == 1 && pbc[1] == 1 && pbc[2] == 1);
        int fi = st_atoms_array_find(a, "forces");
        CHECK(fi >= 0);
        if (fi >= 0) {
            const double *F = st_atoms_array_data(a, fi);
            for (int k = 0; k < 9; k++) CHECK_NEAR(F[k], forces[s][k], 1e-12);
        }
        CHECK_NEAR(info_real(a, "energy", 0), energy[s], 1e-9);
        CHECK_NEAR(info_real(a, "free_energy", 0), free_e[s], 1e-9);
        /* SYSTEM is "Quartz test été" in ISO-8859-1 (bytes E9): must come out as UTF-8. */
        int si = st_atoms_info_find(a, "system");
        CHECK(si >= 0 && !strcmp(st_atoms_info_string(a, si), "Quartz test \xc3\xa9t\xc3\xa9"));
    }
    /* Independent literal values (numpy): step 2 atom 2 = [0.26 0.49 0.74] . basis. */
    const double *p2 = st_atoms_positions(f[1]);
    CHECK_NEAR(p2[3], 1.424, 1e-12);
    CHECK_NEAR(p2[4], 2.698, 1e-12);
    CHECK_NEAR(p2[5], 3.626, 1e-12);
    const double *p3 = st_atoms_positions(f[2]);
    CHECK_NEAR(p3[6], -0.335, 1e-12);
    CHECK_NEAR(p3[7], 1.58138439, 1e-8);
    CHECK_NEAR(p3[8], 6.5, 1e-12);
    /* Stress: sigma = -0.1 * s[kB] / 160.21766208 eV/Å^3, full 3x3 kept. */
    int k = st_atoms_info_find(f[0], "stress");
    CHECK(k >= 0 && st_atoms_info_ndim(f[0], k) == 2 && st_atoms_info_dim(f[0], k, 0) == 3);
    CHECK_NEAR(info_real(f[0], "stress", 0), 0.007801886407354072, 1e-15);   /* s_xx = -12.5 kB */
    CHECK_NEAR(info_real(f[0], "stress", 8), -0.004993207300706607, 1e-15);  /* s_zz = 8 kB */
    CHECK_NEAR(info_real(f[0], "stress", 1), -1.5 * 0.1 / 160.21766208, 1e-15);
    CHECK_NEAR(info_real(f[0], "stress", 3), info_real(f[0], "stress", 1), 0);
    CHECK_NEAR(info_real(f[1], "stress", 5), 0.75 * 0.1 / 160.21766208, 1e-15);
    CHECK(st_atoms_info_find(f[2], "stress") < 0);    /* step 3 has no stress varray */
    for (int s = 0; s < 3; s++) st_atoms_destroy(f[s]);
}

TEST(three_steps_from_file)
{
    st_ctx *ctx = st_ctx_create();
    st_reader *r = NULL;
    CHECK_OK(ctx, st_reader_open(ctx, F3, NULL, &r));   /* detected by the name vasprun*.xml */
    if (!r) SKIP("cannot open tests/data/vasprun_3step.xml");
    CHECK(!strcmp(st_reader_format(r), "vasprun"));
    check_three_steps(ctx, r);
    st_reader_close(r);
    st_ctx_destroy(ctx);
}

TEST(three_steps_from_memory_by_content)
{
    st_ctx *ctx = st_ctx_create();
    size_t n;
    char *text = slurp(F3, &n);
    CHECK(text != NULL);
    if (!text) return;
    st_reader *r = NULL;
    CHECK_OK(ctx, st_reader_open_string(ctx, text, n, NULL, "mem", &r));   /* probe: <modeling> */
    CHECK(r && !strcmp(st_reader_format(r), "vasprun"));
    if (r) check_three_steps(ctx, r);
    st_reader_close(r);
    CHECK(!strcmp(st_format_detect("run1/vasprun.xml", NULL, 0), "vasprun"));
    CHECK(!strcmp(st_format_detect("x/vasprun_relax.xml", NULL, 0), "vasprun"));
    free(text);
    st_ctx_destroy(ctx);
}

/* Cut the file: the complete steps come first, then an error naming the line and the
 * unclosed <calculation>. */
TEST(truncated_file)
{
    st_ctx *ctx = st_ctx_create();
    size_t n;
    char *text = slurp(F3, &n);
    if (!text) SKIP("no test file");
    /* After the second </calculation> plus a few bytes of the third step. */
    const char *p = strstr(text, "</calculation>");
    p = strstr(p + 1, "</calculation>");
    size_t cut = (size_t)(p - text) + strlen("</calculation>\n <calculation>\n  <str");
    st_reader *r = NULL;
    CHECK_OK(ctx, st_reader_open_string(ctx, text, cut, "vasprun", "cut.xml", &r));
    st_atoms *f[4] = {0};
    int rc, got = read_all(ctx, r, f, 4, &rc);
    CHECK_MSG(got == 2, "got %d frames", got);
    CHECK(rc == ST_ERR_PARSE);
    CHECK_MSG(strstr(st_ctx_message(ctx), "cut.xml: line ") && strstr(st_ctx_message(ctx), "truncated") &&
              strstr(st_ctx_message(ctx), "<calculation>"), "message: %s", st_ctx_message(ctx));
    for (int i = 0; i < got && i < 4; i++) st_atoms_destroy(f[i]);
    st_reader_close(r);
    /* Cut inside the first step's positions. */
    p = strstr(text, "name=\"positions\"");
    p = strstr(p + 1, "name=\"positions\"");   /* the first one is initialpos */
    r = NULL;
    CHECK_OK(ctx, st_reader_open_string(ctx, text, (size_t)(p - text) + 40, "vasprun", "cut2.xml", &r));
    got = read_all(ctx, r, f, 4, &rc);
    CHECK(got == 0 && rc == ST_ERR_PARSE);
    CHECK_MSG(strstr(st_ctx_message(ctx), "cut2.xml: line "), "message: %s", st_ctx_message(ctx));
    st_reader_close(r);
    free(text);
    st_ctx_destroy(ctx);
}

/* The shared sample: <atominfo> lists 4 atoms (W Be Be Be), positions have 4 rows, forces 2.
 * Documented decision: an error at the forces varray, naming line and species. */
TEST(shared_sample_count_mismatch)
{
    const char *path = SHARED("vasp/vasprun.xml");
    if (!path) SKIP("../shared/data/vasp/vasprun.xml not found");
    st_ctx *ctx = st_ctx_create();
    st_reader *r = NULL;
    CHECK_OK(ctx, st_reader_open(ctx, path, NULL, &r));
    st_atoms *a = NULL;
    CHECK(st_reader_next(ctx, r, &a) == ST_ERR_PARSE && a == NULL);
    const char *m = st_ctx_message(ctx);
    CHECK_MSG(strstr(m, "line 1719") && strstr(m, "'forces' has 2 rows") && strstr(m, "4 atoms") &&
              strstr(m, "W Be Be Be"), "message: %s", m);
    st_reader_close(r);

    /* With the two missing force rows restored the step reads, with ASE's energies. */
    size_t n;
    char *text = slurp(path, &n);
    char *fixed = replace(text, "-0.6 </v>", "-0.6 </v>\n   <v> 1 2 3 </v>\n   <v> 4 5 6 </v>");
    CHECK(fixed != NULL);
    if (fixed) {
        CHECK_OK(ctx, st_reader_open_string(ctx, fixed, strlen(fixed), NULL, "fixed", &r));
        CHECK_OK(ctx, st_reader_next(ctx, r, &a));
        CHECK(a && st_atoms_count(a) == 4);
        if (a) {
            const int32_t *z = st_atoms_numbers(a);
            CHECK(z[0] == 74 && z[1] == 4 && z[3] == 4);
            /* free = -48.07109596 (step); energy = free + (-48.06957103 + 48.07109596) (last
             * scstep), NOT the step's hand-edited e_0_energy -0.00304986. */
            CHECK_NEAR(info_real(a, "free_energy", 0), -48.07109596, 1e-9);
            CHECK_NEAR(info_real(a, "energy", 0), -48.06957103, 1e-9);
            CHECK_NEAR(info_real(a, "stress", 0), 0.13409778563160019, 1e-14);  /* -214.848 kB */
            CHECK_NEAR(st_atoms_cell(a)[4], 3.55744, 1e-12);
            const double *pos = st_atoms_positions(a);
            CHECK_NEAR(pos[4], 0.5 * 3.55744, 1e-12);
            CHECK_NEAR(pos[5], 0.5 * 3.176781, 1e-12);
            const double *F = st_atoms_array_data(a, st_atoms_array_find(a, "forces"));
            CHECK(F[0] == 0.1 && F[5] == -0.6 && F[11] == 6);
            st_atoms_destroy(a);
        }
        CHECK_OK(ctx, st_reader_next(ctx, r, &a));
        CHECK(a == NULL);
        st_reader_close(r);
    }
    free(fixed);
    free(text);
    st_ctx_destroy(ctx);
}

static void expect_error(const char *text, const char *what, const char *needle1, const char *needle2)
{
    CHECK_MSG(text != NULL, "%s: test input not built", what);
    if (!text) return;
    st_ctx *ctx = st_ctx_create();
    st_reader *r = NULL;
    int rc = st_reader_open_string(ctx, text, strlen(text), "vasprun", "bad.xml", &r);
    st_atoms *a = NULL;
    int got = 0;
    while (!rc) {
        rc = st_reader_next(ctx, r, &a);
        if (!a) break;
        got++;
        st_atoms_destroy(a);
    }
    CHECK_MSG(rc == ST_ERR_PARSE, "%s: status %d", what, rc);
    const char *m = st_ctx_message(ctx);
    CHECK_MSG(strstr(m, "bad.xml") && strstr(m, needle1) && (!needle2 || strstr(m, needle2)),
              "%s: message '%s' lacks '%s'/'%s'", what, m, needle1, needle2 ? needle2 : "");
    st_reader_close(r);
    st_ctx_destroy(ctx);
}

TEST(errors)
{
    size_t n;
    char *t = slurp(F3, &n);
    if (!t) SKIP("no test file");
    char *s;
    /* Missing positions in step 1 (the second positions varray in the file). */
    const char *p = strstr(strstr(t, "name=\"positions\"") + 1, "name=\"positions\"");
    s = strdup(t);
    memcpy(s + (p - t), "name=\"positionz\"", 16);
    expect_error(s, "missing positions", "'positions' has 0 rows", "3 atoms (Si Si O)");
    free(s);
    /* Missing basis. */
    p = strstr(strstr(t, "name=\"basis\"") + 1, "name=\"basis\"");
    s = strdup(t);
    memcpy(s + (p - t), "name=\"basiz\"", 12);
    expect_error(s, "missing basis", "basis", "line");
    free(s);
    /* VASP's overflow stars in a force. */
    s = replace(t, "0.10000000     -0.20000000", "********     -0.20000000");
    expect_error(s, "stars", "expected 3 numbers", "forces");
    free(s);
    /* Unknown element. */
    s = replace(t, "<c>O </c>", "<c>Qq</c>");
    expect_error(s, "element", "unknown element 'Qq'", "atom 3");
    free(s);
    /* <atoms> disagrees with the rows. */
    s = replace(t, "<atoms>       3 </atoms>", "<atoms>       4 </atoms>");
    expect_error(s, "atoms count", "says 4 atoms", "lists 3");
    free(s);
    /* atomtypes disagree. */
    s = replace(t, "<rc><c>   1</c><c>O </c>", "<rc><c>   2</c><c>O </c>");
    expect_error(s, "atomtypes", "atomtypes", "4 atoms");
    free(s);
    /* Too many force rows. */
    s = replace(t, "<varray name=\"forces\" >\n", "<varray name=\"forces\" >\n    <v> 1 1 1 </v>\n");
    expect_error(s, "extra forces", "more rows than the 3 atoms", NULL);
    free(s);
    /* No energy. */
    s = replace(t, "  <energy>\n   <i name=\"e_fr_energy\">", "  <energy>\n   <i name=\"e_fr_XXXXXX\">");
    expect_error(s, "energy", "e_fr_energy", "<calculation> 1");
    free(s);
    free(t);
    expect_error("", "empty", "empty file", NULL);
    expect_error("  \n\n", "blank", "empty file", NULL);
    expect_error("<?xml version=\"1.0\"?>\n<html><body/></html>\n", "root", "not <modeling>", "line 2");
    expect_error("<modeling>\n <atominfo>\n", "cut", "truncated", "<atominfo>");
    expect_error("<modeling><atominfo><atoms>1</atoms><array name=\"atoms\"><set><rc><c>H</c></rc>"
                 "</set></array></atominfo></modeling>", "no steps", "no <calculation>", NULL);
    expect_error("<modeling><calculation></calculation></modeling>", "order", "before <atominfo>", NULL);
    expect_error("<modeling>\n<a>\n</b>\n</modeling>", "mismatch", "line 3", "malformed XML");
    /* The declared encoding is honoured both ways: Latin-1 bytes in a file declared UTF-8. */
    expect_error("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<modeling>\n<incar><i name=\"SYSTEM\">"
                 "\xe9t\xe9</i></incar></modeling>\n", "utf8", "line 3", "not proper UTF-8");
}

/* External entities are never loaded and nothing is fetched; a bomb is not expanded. */
TEST(no_external_entities)
{
    const char *secret = "/tmp/strata_test_vasprun_secret.txt";
    FILE *f = fopen(secret, "w");
    if (!f) SKIP("cannot write /tmp");
    fputs("SECRET-MARKER", f);
    fclose(f);
    size_t n;
    char *t = slurp(F3, &n);
    if (!t) SKIP("no test file");
    char *s1 = replace(t, "<modeling>",
                       "<!DOCTYPE modeling [ <!ENTITY xxe SYSTEM \"file:///tmp/strata_test_vasprun_secret.txt\">"
                       " <!ENTITY net SYSTEM \"http://127.0.0.1:9/x\"> ]>\n<modeling>");
    char *s2 = replace(s1, "Quartz test", "Quartz &xxe; &net; test");
    st_ctx *ctx = st_ctx_create();
    st_reader *r = NULL;
    int rc = st_reader_open_string(ctx, s2, strlen(s2), "vasprun", "xxe.xml", &r);
    st_atoms *a = NULL;
    int frames = 0;
    while (!rc && !(rc = st_reader_next(ctx, r, &a)) && a) {
        int k = st_atoms_info_find(a, "system");
        CHECK(k < 0 || !strstr(st_atoms_info_string(a, k), "SECRET"));
        frames++;
        st_atoms_destroy(a);
    }
    CHECK(!strstr(st_ctx_message(ctx), "SECRET"));
    CHECK(frames == 3 || rc == ST_ERR_PARSE);
    st_reader_close(r);
    /* Billion laughs: entities are not substituted, so this neither hangs nor eats memory. */
    char bomb[4096] = "<?xml version=\"1.0\"?>\n<!DOCTYPE modeling [\n <!ENTITY a0 \"lol\">\n";
    for (int i = 1; i < 10; i++) {
        char l[128];
        snprintf(l, sizeof l, " <!ENTITY a%d \"&a%d;&a%d;&a%d;&a%d;&a%d;&a%d;&a%d;&a%d;&a%d;&a%d;\">\n",
                 i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
        strcat(bomb, l);
    }
    strcat(bomb, "]>\n<modeling><incar><i name=\"SYSTEM\">&a9;</i></incar></modeling>\n");
    r = NULL;
    rc = st_reader_open_string(ctx, bomb, strlen(bomb), "vasprun", "bomb.xml", &r);
    while (!rc && !(rc = st_reader_next(ctx, r, &a)) && a) st_atoms_destroy(a);
    CHECK(rc == ST_ERR_PARSE);   /* no <atominfo>/<calculation>: an ordinary error */
    st_reader_close(r);
    free(s1);
    free(s2);
    free(t);
    remove(secret);
    st_ctx_destroy(ctx);
}

int main(void)
{
    RUN(three_steps_from_file);
    RUN(three_steps_from_memory_by_content);
    RUN(truncated_file);
    RUN(shared_sample_count_mismatch);
    RUN(errors);
    RUN(no_external_entities);
    return DONE();
}
