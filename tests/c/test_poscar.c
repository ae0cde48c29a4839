/* Tests for the POSCAR/CONTCAR reader and writer: VASP 4 and 5 layouts, scale factors (plain,
 * negative = volume, per-axis), Direct/Cartesian, selective dynamics, velocities, errors with
 * line/field messages, and write->read round trips including ../shared/data/vasp/POSCAR_W. */
#include "strata.h"
#include "check.h"
#include <stdint.h>
#include <sys/stat.h>


/* Read one structure from text (format "poscar"); NULL with the message in ctx on error. */
static st_atoms *read_text(st_ctx *ctx, const char *text, int *status)
{
    st_reader *r;
    st_atoms *a = NULL;
    *status = st_reader_open_string(ctx, text, strlen(text), "poscar", "POSCAR", &r);
    if (*status) return NULL;
    *status = st_reader_next(ctx, r, &a);
    if (!*status && a) {
        st_atoms *b = NULL;     /* one structure per file */
        int rc = st_reader_next(ctx, r, &b);
        if (rc || b) *status = ST_ERR_INTERNAL, st_atoms_destroy(b);
    }
    st_reader_close(r);
    return a;
}

static st_atoms *read_file(st_ctx *ctx, const char *path)
{
    st_reader *r;
    st_atoms *a = NULL;
    if (st_reader_open(ctx, path, NULL, &r)) return NULL;
    if (st_reader_next(ctx, r, &a)) a = NULL;
    st_reader_close(r);
    return a;
}

static int write_one(st_ctx *ctx, const char *path, st_atoms *a)
{
    st_writer *w;
    int rc = st_writer_open(ctx, path, "poscar", &w);
    if (rc) return rc;
    if ((rc = st_writer_write(ctx, w, a))) {
        st_writer_abort(w);
        return rc;
    }
    return st_writer_close(ctx, w);
}

static void expect_fail(const char *text, int status, const char *n1, const char *n2, int line)
{
    st_ctx *ctx = st_ctx_create();
    int rc;
    st_atoms *a = read_text(ctx, text, &rc);
    const char *m = st_ctx_message(ctx);
    CHECK_MSG(rc == status && !a, "line %d: status %d (%s), expected %d", line, rc, m, status);
    CHECK_MSG(!strncmp(m, "POSCAR: ", 8), "line %d: message does not name the file: '%s'", line, m);
    CHECK_MSG(!n1 || strstr(m, n1), "line %d: message '%s' lacks '%s'", line, m, n1);
    CHECK_MSG(!n2 || strstr(m, n2), "line %d: message '%s' lacks '%s'", line, m, n2);
    st_atoms_destroy(a);
    st_ctx_destroy(ctx);
}
#define EXPECT_FAIL(text, status, n1, n2) expect_fail(text, status, n1, n2, __LINE__)

TEST(poscar_w)
{
    const char *path = SHARED("vasp/POSCAR_W");
    if (!path) SKIP("../shared/data/vasp/POSCAR_W not found (set STRATA_SHARED)");
    st_ctx *ctx = st_ctx_create();
    st_reader *r;
    CHECK_OK(ctx, st_reader_open(ctx, path, NULL, &r));   /* detected from the name POSCAR* */
    CHECK(r && !strcmp(st_reader_format(r), "poscar"));
    st_atoms *a = NULL;
    if (r) CHECK_OK(ctx, st_reader_next(ctx, r, &a));
    st_reader_close(r);
    CHECK(a != NULL);
    if (!a) return;
    /* bcc W, a = 3.16, atoms at 0 and (1/2,1/2,1/2) (the file's text) */
    CHECK(st_atoms_count(a) == 2);
    const double *c = st_atoms_cell(a), *p = st_atoms_positions(a);
    CHECK(c[0] == 3.16 && c[4] == 3.16 && c[8] == 3.16 && c[1] == 0 && c[3] == 0);
    CHECK(p[0] == 0 && p[3] == 1.58 && p[4] == 1.58 && p[5] == 1.58);
    CHECK(st_atoms_numbers(a)[0] == 74 && st_atoms_numbers(a)[1] == 74);
    CHECK(st_atoms_pbc(a)[0] && st_atoms_pbc(a)[1] && st_atoms_pbc(a)[2]);
    int k = st_atoms_info_find(a, "comment");
    CHECK(k >= 0 && !strcmp(st_atoms_info_string(a, k), "W unit cell"));
    /* round trip: the cell is exact; positions too, here (0.5 is exact in Direct) */
    const char *out = tmp_path("POSCAR_W");
    CHECK_OK(ctx, write_one(ctx, out, a));
    st_atoms *b = read_file(ctx, out);
    CHECK(b != NULL);
    if (b) {
        CHECK(!memcmp(st_atoms_cell(a), st_atoms_cell(b), 9 * sizeof(double)));
        CHECK(!memcmp(st_atoms_positions(a), st_atoms_positions(b), 6 * sizeof(double)));
        CHECK(st_atoms_numbers(b)[1] == 74);
        k = st_atoms_info_find(b, "comment");
        CHECK(k >= 0 && !strcmp(st_atoms_info_string(b, k), "W unit cell"));
    }
    st_atoms_destroy(a);
    st_atoms_destroy(b);
    remove(out);
    st_ctx_destroy(ctx);
}

TEST(layouts_and_scaling)
{
    st_ctx *ctx = st_ctx_create();
    int rc;
    /* VASP 5, triclinic, scale 2, Direct: r = 2 (f . L) computed by hand below */
    st_atoms *a = read_text(ctx,
        "tri\n 2.0\n 1.0 0.0 0.0\n 0.5 1.5 0.0\n 0.25 0.5 2.0\n Si   O\n 1 2\nDirect\n"
        " 0.1 0.2 0.3\n 0.5 0.5 0.5 Si-label-ignored\n 0 0 1\n", &rc);
    CHECK_MSG(a && !rc, "%s", st_ctx_message(ctx));
    if (a) {
        const double *c = st_atoms_cell(a), *p = st_atoms_positions(a);
        CHECK(c[0] == 2 && c[3] == 1 && c[4] == 3 && c[6] == 0.5 && c[7] == 1 && c[8] == 4);
        /* atom 0: 0.1*(2,0,0) + 0.2*(1,3,0) + 0.3*(0.5,1,4) = (0.55, 0.9, 1.2) */
        CHECK_NEAR(p[0], 0.55, 1e-15);
        CHECK_NEAR(p[1], 0.9, 1e-15);
        CHECK_NEAR(p[2], 1.2, 1e-15);
        CHECK(p[6] == 0.5 && p[7] == 1 && p[8] == 4);
        const int32_t *Z = st_atoms_numbers(a);
        CHECK(Z[0] == 14 && Z[1] == 8 && Z[2] == 8);
    }
    st_atoms_destroy(a);
    /* Cartesian positions are scaled too */
    a = read_text(ctx, "c\n1.5\n2 0 0\n0 2 0\n0 0 2\nCu\n1\ncartesian\n1 2 3\n", &rc);
    CHECK(a && st_atoms_positions(a)[0] == 1.5 && st_atoms_positions(a)[2] == 4.5 && st_atoms_cell(a)[8] == 3);
    st_atoms_destroy(a);
    /* negative scale = volume: 27 Å^3 on a unit-ish cell gives a 3x3x3 cube */
    a = read_text(ctx, "v\n-27\n2 0 0\n0 2 0\n0 0 2\nCu\n1\nD\n0.5 0.5 0.5\n", &rc);
    CHECK(a != NULL);
    if (a) {
        CHECK_NEAR(st_cell_volume(st_atoms_cell(a)), 27, 1e-12);
        CHECK_NEAR(st_atoms_positions(a)[0], 1.5, 1e-14);
    }
    st_atoms_destroy(a);
    /* three scale factors act on x, y, z */
    a = read_text(ctx, "s3\n1 2 3\n1 0 0\n0 1 0\n0 0 1\nAl\n1\nK\n1 1 1\n", &rc);
    CHECK(a && st_atoms_cell(a)[4] == 2 && st_atoms_cell(a)[8] == 3 && st_atoms_positions(a)[2] == 3);
    st_atoms_destroy(a);
    /* VASP 4: symbols from the comment; POTCAR-style labels in VASP 5/6 */
    a = read_text(ctx, "Ga As zincblende\n5.65\n0 .5 .5\n.5 0 .5\n.5 .5 0\n1 1\nDirect\n0 0 0\n.25 .25 .25\n", &rc);
    CHECK(a && st_atoms_numbers(a)[0] == 31 && st_atoms_numbers(a)[1] == 33);
    st_atoms_destroy(a);
    a = read_text(ctx, "x\n1\n3 0 0\n0 3 0\n0 0 3\nFe_pv Si/7a5b1\n1 1\nD\n0 0 0\n.5 .5 .5\n", &rc);
    CHECK(a && st_atoms_numbers(a)[0] == 26 && st_atoms_numbers(a)[1] == 14);
    st_atoms_destroy(a);
    /* interleaved species groups */
    a = read_text(ctx, "x\n1\n3 0 0\n0 3 0\n0 0 3\nCu Au Cu\n1 1 2\nD\n0 0 0\n.5 .5 .5\n.5 0 0\n0 .5 0\n", &rc);
    CHECK(a && st_atoms_numbers(a)[0] == 29 && st_atoms_numbers(a)[1] == 79 && st_atoms_numbers(a)[3] == 29);
    st_atoms_destroy(a);
    st_ctx_destroy(ctx);
}

TEST(selective_and_velocities)
{
    st_ctx *ctx = st_ctx_create();
    int rc;
    const char *base = "sd\n1\n4 0 0\n0 4 0\n0 0 4\nC H\n1 1\nSelective dynamics\nDirect\n"
                       "0 0 0 T F T\n0.25 0.5 0.75 F F F\n";
    char buf[1024];
    /* CONTCAR style: blank line, then Cartesian velocities in Å/fs */
    snprintf(buf, sizeof buf, "%s\n 0.01 -0.02 0.03\n 1e-3 0 0\n", base);
    st_atoms *a = read_text(ctx, buf, &rc);
    CHECK_MSG(a && !rc, "%s", st_ctx_message(ctx));
    if (a) {
        int s = st_atoms_array_find(a, "selective_dynamics");
        CHECK(s >= 0 && st_atoms_array_kind(a, s) == ST_KIND_BOOL && st_atoms_array_ncols(a, s) == 3);
        const int32_t *f = s >= 0 ? st_atoms_array_data(a, s) : NULL;
        CHECK(f && f[0] == 1 && f[1] == 0 && f[2] == 1 && f[3] == 0 && f[5] == 0);
        int v = st_atoms_array_find(a, "velocities");
        const double *vel = v >= 0 ? st_atoms_array_data(a, v) : NULL;
        CHECK(vel && vel[0] == 0.01 && vel[1] == -0.02 && vel[3] == 1e-3);
        CHECK(st_atoms_positions(a)[3] == 1 && st_atoms_positions(a)[5] == 3);
        /* write and read back: flags and velocities survive */
        const char *out = tmp_path("CONTCAR");
        CHECK_OK(ctx, write_one(ctx, out, a));
        st_atoms *b = read_file(ctx, out);
        CHECK(b != NULL);
        if (b) {
            int s2 = st_atoms_array_find(b, "selective_dynamics"), v2 = st_atoms_array_find(b, "velocities");
            CHECK(s2 >= 0 && !memcmp(st_atoms_array_data(a, s), st_atoms_array_data(b, s2), 6 * sizeof(int32_t)));
            CHECK(v2 >= 0 && !memcmp(vel, st_atoms_array_data(b, v2), 6 * sizeof(double)));
            CHECK(!memcmp(st_atoms_positions(a), st_atoms_positions(b), 6 * sizeof(double)));
        }
        st_atoms_destroy(b);
        remove(out);
    }
    st_atoms_destroy(a);
    /* velocities after a "Cartesian" line */
    snprintf(buf, sizeof buf, "%sCartesian\n1 2 3\n4 5 6\n", base);
    a = read_text(ctx, buf, &rc);
    CHECK(a && st_atoms_array_find(a, "velocities") >= 0);
    st_atoms_destroy(a);
    /* trailing blank lines, or a lattice-velocities block: no velocities, no error */
    snprintf(buf, sizeof buf, "%s\n\n\n", base);
    a = read_text(ctx, buf, &rc);
    CHECK(a && !rc && st_atoms_array_find(a, "velocities") < 0);
    st_atoms_destroy(a);
    snprintf(buf, sizeof buf, "%sLattice velocities and vectors\n  1\n 0 0 0\n", base);
    a = read_text(ctx, buf, &rc);
    CHECK(a && !rc && st_atoms_array_find(a, "velocities") < 0);
    st_atoms_destroy(a);
    /* Direct-mode velocities cannot be converted (no time step in a POSCAR) */
    snprintf(buf, sizeof buf, "%sDirect\n1 2 3\n4 5 6\n", base);
    EXPECT_FAIL(buf, ST_ERR_FORMAT, "line 12: velocities in Direct mode", NULL);
    snprintf(buf, sizeof buf, "%s\n1 2 3\n", base);
    EXPECT_FAIL(buf, ST_ERR_PARSE, "file ends after 1 of the 2 velocity lines", NULL);
    snprintf(buf, sizeof buf, "%s\n1 2 3\n4 x 6\n", base);
    EXPECT_FAIL(buf, ST_ERR_PARSE, "line 14: column 2 (velocity): expected a finite number, got 'x'", NULL);
    st_ctx_destroy(ctx);
}

TEST(error_paths)
{
    const char *cell = "x\n1\n3 0 0\n0 3 0\n0 0 3\n";
    char buf[512];
    EXPECT_FAIL("", ST_ERR_PARSE, "line 1: file ends; expected a comment line", NULL);
    EXPECT_FAIL("x\n", ST_ERR_PARSE, "line 2: file ends; expected the scaling factor", NULL);
    EXPECT_FAIL("x\nabc\n", ST_ERR_PARSE, "line 2: scaling factor: expected a non-zero number, got 'abc'", NULL);
    EXPECT_FAIL("x\n0\n", ST_ERR_PARSE, "line 2: scaling factor", NULL);
    EXPECT_FAIL("x\n1 -2 3\n", ST_ERR_PARSE, "three positive numbers", NULL);
    EXPECT_FAIL("x\n1\n3 0 0\n0 3\n", ST_ERR_PARSE, "line 4: lattice vector b: expected 3 numbers, got 2", NULL);
    EXPECT_FAIL("x\n1\n3 0 0\n0 3 0\n0 0 1e400\n", ST_ERR_PARSE, "line 5: column 3 (lattice vector c): number out of range", NULL);
    EXPECT_FAIL("x\n-10\n1 0 0\n2 0 0\n0 0 1\n", ST_ERR_PARSE, "zero volume", NULL);
    snprintf(buf, sizeof buf, "%sCu Zz\n1 1\nD\n0 0 0\n1 1 1\n", cell);
    EXPECT_FAIL(buf, ST_ERR_PARSE, "line 6: column 2 (element): unknown element symbol 'Zz'", NULL);
    snprintf(buf, sizeof buf, "%sCu Au\n1\nD\n0 0 0\n", cell);
    EXPECT_FAIL(buf, ST_ERR_PARSE, "2 element symbols on line 6 but 1 atom counts", NULL);
    snprintf(buf, sizeof buf, "%sCu\n-1\nD\n", cell);
    EXPECT_FAIL(buf, ST_ERR_PARSE, "line 7: column 1 (atom count)", NULL);
    snprintf(buf, sizeof buf, "%sCu\nlots\nD\n", cell);
    EXPECT_FAIL(buf, ST_ERR_PARSE, "line 7: column 1 (atom count): expected an integer 0..10^9, got 'lots'", NULL);
    snprintf(buf, sizeof buf, "%sCu\n900000000\nD\n0 0 0\n", cell);
    EXPECT_FAIL(buf, ST_ERR_PARSE, "900000000 atoms cannot fit", NULL);
    snprintf(buf, sizeof buf, "%sCu Au\n900000000 900000000\nD\n0 0 0\n", cell);
    EXPECT_FAIL(buf, ST_ERR_PARSE, "absurd", NULL);
    /* VASP 4 without symbols in the comment */
    EXPECT_FAIL("my structure\n1\n3 0 0\n0 3 0\n0 0 3\n2\nD\n0 0 0\n1 1 1\n", ST_ERR_PARSE,
                "VASP 4 POSCAR (no element line)", "add a line of element symbols");
    snprintf(buf, sizeof buf, "%sCu\n3\nD\n0 0 0\n0.5 0.5 0.5\n", cell);
    EXPECT_FAIL(buf, ST_ERR_PARSE, "line 11: file ends after 2 of the 3 atom positions", NULL);
    snprintf(buf, sizeof buf, "%sCu\n1\nD\n0 nan 0\n", cell);
    EXPECT_FAIL(buf, ST_ERR_PARSE, "line 9: column 2 (position): expected a finite number, got 'nan'", NULL);
    snprintf(buf, sizeof buf, "%sCu\n1\nD\n0 0\n", cell);
    EXPECT_FAIL(buf, ST_ERR_PARSE, "line 9: position: expected 3 numbers, got 2", NULL);
    snprintf(buf, sizeof buf, "%sCu\n1\nS\nD\n0 0 0 T X T\n", cell);
    EXPECT_FAIL(buf, ST_ERR_PARSE, "line 10: column 5 (selective dynamics flag): expected T or F, got 'X'", NULL);
    snprintf(buf, sizeof buf, "%sCu\n1\nS\nD\n0 0 0 T\n", cell);
    EXPECT_FAIL(buf, ST_ERR_PARSE, "column 5 (selective dynamics flag)", NULL);
    snprintf(buf, sizeof buf, "%sCu\n1\n", cell);
    EXPECT_FAIL(buf, ST_ERR_PARSE, "line 8: file ends", NULL);
    /* binary garbage */
    {
        const char bin[] = "\x7f" "ELF\x02\x01\x01\0\0\0";
        st_ctx *ctx = st_ctx_create();
        st_reader *r;
        st_atoms *a = NULL;
        CHECK_OK(ctx, st_reader_open_string(ctx, bin, sizeof bin - 1, "poscar", "POSCAR", &r));
        CHECK(st_reader_next(ctx, r, &a) == ST_ERR_PARSE && !a && strstr(st_ctx_message(ctx), "binary data"));
        st_reader_close(r);
        st_ctx_destroy(ctx);
    }
    EXPECT_FAIL("\xff\xfe\xfd\n\x80\x81\n", ST_ERR_PARSE, "line 2: scaling factor", NULL);
}

/* Deterministic mutations of a valid file: each gives a structure or a clean error naming the
 * file; none may crash or hang (run under `make asan` to catch memory errors). */
TEST(mutations)
{
    const char *seed = "Cu Au\n 1.0\n 3 0 0\n 0.5 3 0\n 0 0 3\n Cu Au\n 1 2\nSelective dynamics\nDirect\n"
        "0 0 0 T T F\n0.5 0.5 0 F F F\n0.5 0 0.5 T T T\n\n0.1 0.2 0.3\n0 0 0\n1e-3 2e-3 3e-3\n";
    size_t n = strlen(seed);
    char *buf = malloc(n + 64);
    uint64_t x = 88172645463325252ull;
    int ok = 0, errors = 0, bad_messages = 0;
    st_ctx *ctx = st_ctx_create();
    const char alphabet[] = " \n0123456789.eE+-TFSDCKxyz_:";
    for (int it = 0; it < 3000; it++) {
        memcpy(buf, seed, n + 1);
        size_t len = n;
        for (int e = 0; e < 1 + it % 4; e++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;    /* xorshift64 */
            size_t pos = (size_t)(x % len);
            int op = (int)((x >> 32) % 3);
            char c = alphabet[(x >> 40) % (sizeof alphabet - 1)];
            if (op == 0) buf[pos] = c;
            else if (op == 1 && len > 1) memmove(buf + pos, buf + pos + 1, len - pos), len--;
            else if (len < n + 60) memmove(buf + pos + 1, buf + pos, len - pos + 1), buf[pos] = c, len++;
        }
        int rc;
        st_atoms *a = read_text(ctx, buf, &rc);
        if (rc) {
            errors++;
            if (strncmp(st_ctx_message(ctx), "POSCAR: ", 8)) bad_messages++;
        } else {
            ok++;
        }
        st_atoms_destroy(a);
    }
    CHECK(errors > 100 && ok > 100);   /* both paths were exercised */
    CHECK_MSG(bad_messages == 0, "%d error messages did not name the file", bad_messages);
    free(buf);
    st_ctx_destroy(ctx);
}

/* Random triclinic cells and positions: write (Direct) -> read agrees to a few ulps of the
 * cell size, and frac = r H^-1 -> r = frac H is checked against the independent inverse. */
TEST(round_trip_random)
{
    st_ctx *ctx = st_ctx_create();
    uint64_t x = 12345;
#define RND() (x ^= x << 13, x ^= x >> 7, x ^= x << 17, (double)(x >> 11) / 9007199254740992.0)
    double worst = 0;
    for (int t = 0; t < 20; t++) {
        int n = 1 + t % 7;
        st_atoms *a = st_atoms_create(n);
        double *c = st_atoms_cell(a);
        double L[3] = {3 + 5 * RND(), 3 + 5 * RND(), 3 + 5 * RND()};
        double ang[3] = {60 + 60 * RND(), 60 + 60 * RND(), 70 + 40 * RND()};
        if (st_cell_from_parameters(L, ang, c)) {
            st_atoms_destroy(a);
            continue;
        }
        for (int i = 0; i < 3 * n; i++) st_atoms_positions(a)[i] = 20 * RND() - 5;
        static const int zs[4] = {8, 1, 26, 8};
        for (int i = 0; i < n; i++) st_atoms_numbers(a)[i] = zs[i % 4];
        const char *out = tmp_path("rand.vasp");
        CHECK_OK(ctx, write_one(ctx, out, a));
        st_atoms *b = read_file(ctx, out);
        CHECK(b && st_atoms_count(b) == n);
        if (b) {
            CHECK(!memcmp(st_atoms_cell(a), st_atoms_cell(b), 9 * sizeof(double)));
            CHECK(!memcmp(st_atoms_numbers(a), st_atoms_numbers(b), (size_t)n * sizeof(int32_t)));
            for (int i = 0; i < 3 * n; i++)
                worst = fmax(worst, fabs(st_atoms_positions(a)[i] - st_atoms_positions(b)[i]));
        }
        st_atoms_destroy(a);
        st_atoms_destroy(b);
        remove(out);
    }
    CHECK_MSG(worst < 1e-13, "worst position error %g Å", worst);
    st_ctx_destroy(ctx);
}

TEST(writer)
{
    st_ctx *ctx = st_ctx_create();
    st_atoms *a = st_atoms_create(4);
    int32_t *Z = st_atoms_numbers(a);
    Z[0] = 29, Z[1] = 79, Z[2] = 29, Z[3] = 29;
    st_atoms_cell(a)[0] = st_atoms_cell(a)[4] = st_atoms_cell(a)[8] = 4;
    const char *out = tmp_path("POSCAR");
    CHECK_OK(ctx, write_one(ctx, out, a));
    /* atom order is kept: repeated element groups Cu Au Cu with counts 1 1 2 */
    FILE *fp = fopen(out, "r");
    char lines[8][256];
    int nl = 0;
    while (fp && nl < 8 && fgets(lines[nl], 256, fp)) nl++;
    if (fp) fclose(fp);
    CHECK(nl == 8 && !strcmp(lines[0], "Cu Au Cu\n") && !strcmp(lines[1], "1.0\n"));
    CHECK(nl == 8 && !strcmp(lines[5], " Cu Au Cu\n") && !strcmp(lines[6], " 1 1 2\n") && !strcmp(lines[7], "Direct\n"));
    st_atoms *b = read_file(ctx, out);
    CHECK(b && !memcmp(st_atoms_numbers(b), Z, 4 * sizeof(int32_t)));
    st_atoms_destroy(b);
    /* detection by name and by content */
    CHECK(!strcmp(st_format_detect("run/CONTCAR", NULL, 0), "poscar"));
    CHECK(!strcmp(st_format_detect("POSCAR.relaxed", NULL, 0), "poscar"));
    CHECK(!strcmp(st_format_detect("Si.vasp", NULL, 0), "poscar"));
    const char *head = "Si\n5.43\n0 .5 .5\n.5 0 .5\n.5 .5 0\nSi\n2\nDirect\n";
    const char *det = st_format_detect("structure.txt", head, strlen(head));
    CHECK(det && !strcmp(det, "poscar"));
    /* errors: second frame, no cell, dummy atoms */
    st_writer *w;
    CHECK_OK(ctx, st_writer_open(ctx, out, "poscar", &w));
    CHECK_OK(ctx, st_writer_write(ctx, w, a));
    CHECK(st_writer_write(ctx, w, a) == ST_ERR_FORMAT && strstr(st_ctx_message(ctx), "one structure"));
    st_writer_abort(w);
    Z[1] = 0;
    CHECK(write_one(ctx, out, a) == ST_ERR_ARG && strstr(st_ctx_message(ctx), "atom 1 has atomic number 0"));
    Z[1] = 79;
    memset(st_atoms_cell(a), 0, 9 * sizeof(double));
    CHECK(write_one(ctx, out, a) == ST_ERR_ARG && strstr(st_ctx_message(ctx), "needs a cell"));
    st_atoms_cell(a)[0] = st_atoms_cell(a)[3] = 1, st_atoms_cell(a)[8] = 1;
    CHECK(write_one(ctx, out, a) == ST_ERR_NUMERIC && strstr(st_ctx_message(ctx), "singular"));
    st_atoms_destroy(a);
    remove(out);
    st_ctx_destroy(ctx);
}

int main(void)
{
    RUN(poscar_w);
    RUN(layouts_and_scaling);
    RUN(selective_and_velocities);
    RUN(error_paths);
    RUN(mutations);
    RUN(round_trip_random);
    RUN(writer);
    if (check_tmpdir[0]) rmdir(check_tmpdir);
    return DONE();
}
