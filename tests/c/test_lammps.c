/* Tests for the LAMMPS dump reader and data writer: orthogonal, restricted and general
 * triclinic boxes (checked against hand-computed cells and positions), column mapping, sorting
 * by id, multi-frame streaming, error paths, a dump generated here from a known frame read back
 * bit-exactly, and data files parsed back by an independent mini-parser. */
#include "strata.h"
#include "check.h"
#include <stdint.h>
#include <sys/stat.h>


static int read_all(st_ctx *ctx, const char *text, st_atoms ***out, int *nf)
{
    st_reader *r;
    *out = NULL;
    *nf = 0;
    int rc = st_reader_open_string(ctx, text, strlen(text), NULL, "md.lammpstrj", &r);
    if (rc) return rc;
    for (;;) {
        st_atoms *a;
        rc = st_reader_next(ctx, r, &a);
        if (rc || !a) break;
        *out = realloc(*out, (size_t)(*nf + 1) * sizeof **out);
        (*out)[(*nf)++] = a;
    }
    st_reader_close(r);
    return rc;
}

static void free_frames(st_atoms **f, int n)
{
    for (int i = 0; i < n; i++) st_atoms_destroy(f[i]);
    free(f);
}

static const double *arr_real(st_atoms *a, const char *name, int ncols)
{
    int k = st_atoms_array_find(a, name);
    return k >= 0 && st_atoms_array_kind(a, k) == ST_KIND_REAL && st_atoms_array_ncols(a, k) == ncols
               ? st_atoms_array_data(a, k) : NULL;
}

static const int32_t *arr_int(st_atoms *a, const char *name, int ncols)
{
    int k = st_atoms_array_find(a, name);
    return k >= 0 && st_atoms_array_kind(a, k) == ST_KIND_INT && st_atoms_array_ncols(a, k) == ncols
               ? st_atoms_array_data(a, k) : NULL;
}

static void expect_fail(const char *text, int status, const char *n1, const char *n2, int line)
{
    st_ctx *ctx = st_ctx_create();
    st_atoms **f;
    int nf;
    int rc = read_all(ctx, text, &f, &nf);
    const char *m = st_ctx_message(ctx);
    CHECK_MSG(rc == status, "line %d: status %d (%s), expected %d", line, rc, m, status);
    CHECK_MSG(!strncmp(m, "md.lammpstrj: ", 14), "line %d: message does not name the file: '%s'", line, m);
    CHECK_MSG(!n1 || strstr(m, n1), "line %d: message '%s' lacks '%s'", line, m, n1);
    CHECK_MSG(!n2 || strstr(m, n2), "line %d: message '%s' lacks '%s'", line, m, n2);
    free_frames(f, nf);
    st_ctx_destroy(ctx);
}
#define EXPECT_FAIL(text, status, n1, n2) expect_fail(text, status, n1, n2, __LINE__)

TEST(orthogonal_dump)
{
    const char *text =
        "ITEM: TIMESTEP\n100\nITEM: NUMBER OF ATOMS\n3\nITEM: BOX BOUNDS pp ff pp\n"
        "0.0 10.0\n-1.0 9.0\n2.0 12.0\n"
        "ITEM: ATOMS id type element x y z fx fy fz vx vy vz q c_pe ix iy iz mass\n"
        "3 2 O 1.0 2.0 3.0 0.1 0.2 0.3 1 2 3 -0.8 -1.5 0 1 -1 16\n"
        "1 1 H 4 5 6 -1 -2 -3 0 0 0 0.4 -0.5 2 0 0 1\n"
        "2 1 H 7 8 9 1e-3 0 0 0 0 1 0.4 nan 0 0 0 1\n";
    st_ctx *ctx = st_ctx_create();
    st_atoms **f;
    int nf;
    CHECK_OK(ctx, read_all(ctx, text, &f, &nf));
    CHECK(nf == 1);
    if (nf != 1) return;
    st_atoms *a = f[0];
    /* sorted by id: H(1) H(2) O(3) */
    const int32_t *Z = st_atoms_numbers(a);
    CHECK(Z[0] == 1 && Z[1] == 1 && Z[2] == 8);
    const double *p = st_atoms_positions(a);
    CHECK(p[0] == 4 && p[3] == 7 && p[6] == 1 && p[8] == 3);
    const int32_t *id = arr_int(a, "id", 1), *type = arr_int(a, "type", 1), *img = arr_int(a, "image", 3);
    CHECK(id && id[0] == 1 && id[2] == 3);
    CHECK(type && type[0] == 1 && type[2] == 2);
    CHECK(img && img[0] == 2 && img[6] == 0 && img[8] == -1);
    const double *F = arr_real(a, "forces", 3), *V = arr_real(a, "velocities", 3);
    const double *q = arr_real(a, "charges", 1), *pe = arr_real(a, "c_pe", 1), *m = arr_real(a, "masses", 1);
    CHECK(F && F[0] == -1 && F[3] == 1e-3 && F[8] == 0.3);
    CHECK(V && V[5] == 1 && V[6] == 1);
    CHECK(q && q[0] == 0.4 && q[2] == -0.8);
    CHECK(pe && pe[0] == -0.5 && isnan(pe[1]) && pe[2] == -1.5);   /* nan allowed off positions */
    CHECK(m && m[2] == 16);
    const double *c = st_atoms_cell(a);
    CHECK(c[0] == 10 && c[4] == 10 && c[8] == 10 && c[1] == 0 && c[3] == 0 && c[6] == 0);
    const int32_t *pbc = st_atoms_pbc(a);
    CHECK(pbc[0] == 1 && pbc[1] == 0 && pbc[2] == 1);
    int k = st_atoms_info_find(a, "timestep");
    CHECK(k >= 0 && st_atoms_info_kind(a, k) == ST_KIND_INT && *(const int32_t *)st_atoms_info_data(a, k) == 100);
    k = st_atoms_info_find(a, "cell_origin");
    const double *o = k >= 0 ? st_atoms_info_data(a, k) : NULL;
    CHECK(o && o[0] == 0 && o[1] == -1 && o[2] == 2);
    free_frames(f, nf);
    CHECK(!strcmp(st_format_detect("run/dump.lammpstrj", NULL, 0), "lammps-dump"));
    CHECK(!strcmp(st_format_detect("x.dump", NULL, 0), "lammps-dump"));
    st_ctx_destroy(ctx);
}

TEST(triclinic_dump)
{
    /* box: xlo 0.5 xhi 5.5, ylo -1 yhi 3, zlo 0 zhi 3, xy 1.5 xz -0.7 yz 0.9.  Dump bounds:
       xlo_b = 0.5 + min(0,1.5,-0.7,0.8) = -0.2, xhi_b = 5.5 + max(0,1.5,-0.7,0.8) = 7.0,
       ylo_b = -1 + min(0,0.9) = -1, yhi_b = 3 + 0.9 = 3.9 */
    const char *text =
        "ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n2\nITEM: BOX BOUNDS xy xz yz pp pp pp\n"
        "-0.2 7.0 1.5\n-1 3.9 -0.7\n0 3 0.9\nITEM: ATOMS id type xs ys zs\n"
        "1 1 0.25 0.5 0.75\n2 1 0 0 0\n";
    st_ctx *ctx = st_ctx_create();
    st_atoms **f;
    int nf;
    CHECK_OK(ctx, read_all(ctx, text, &f, &nf));
    CHECK(nf == 1);
    if (nf == 1) {
        const double *c = st_atoms_cell(f[0]), *p = st_atoms_positions(f[0]);
        const double want[9] = {5, 0, 0, 1.5, 4, 0, -0.7, 0.9, 3};
        for (int i = 0; i < 9; i++) CHECK_NEAR(c[i], want[i], 1e-15);
        /* r = origin + s . cell = (0.5 + 1.25 + 0.75 - 0.525, -1 + 2 + 0.675, 2.25) */
        CHECK_NEAR(p[0], 1.975, 1e-14);
        CHECK_NEAR(p[1], 1.675, 1e-14);
        CHECK_NEAR(p[2], 2.25, 1e-14);
        CHECK_NEAR(p[3], 0.5, 1e-15);   /* s = 0 is the origin (0.5, -1, 0) */
        CHECK(p[4] == -1 && p[5] == 0);
        CHECK(st_atoms_numbers(f[0])[0] == 0);             /* no element column */
    }
    free_frames(f, nf);
    /* general triclinic (LAMMPS 2024+): rows a, b, c with the origin in the 4th column */
    CHECK_OK(ctx, read_all(ctx,
        "ITEM: TIMESTEP\n5\nITEM: NUMBER OF ATOMS\n1\nITEM: BOX BOUNDS abc origin pp pp fm\n"
        "3 1 0 10\n0 4 0 20\n1 1 5 30\nITEM: ATOMS id element xs ys zs\n7 Cu 1 0 1\n", &f, &nf));
    CHECK(nf == 1);
    if (nf == 1) {
        const double *c = st_atoms_cell(f[0]), *p = st_atoms_positions(f[0]);
        CHECK(c[0] == 3 && c[1] == 1 && c[4] == 4 && c[6] == 1 && c[8] == 5);
        CHECK(p[0] == 14 && p[1] == 22 && p[2] == 35);   /* (10,20,30) + a + c */
        CHECK(st_atoms_pbc(f[0])[2] == 0 && st_atoms_numbers(f[0])[0] == 29);
    }
    free_frames(f, nf);
    st_ctx_destroy(ctx);
}

TEST(streaming_and_columns)
{
    const char *text =
        "ITEM: UNITS\nmetal\nITEM: TIMESTEP\n1\nITEM: TIME\n0.5\nITEM: NUMBER OF ATOMS\n1\n"
        "ITEM: BOX BOUNDS\n0 1\n0 1\n0 1\nITEM: ATOMS x y z xu yu zu\n0.5 0.5 0.5 1.5 0.5 0.5\n"
        "\n"
        "ITEM: TIMESTEP\n3000000000\nITEM: NUMBER OF ATOMS\n2\nITEM: BOX BOUNDS ss pp pf\n0 2\n0 2\n0 2\n"
        "ITEM: ATOMS type xu yu zu fx fy\n1 1 1 1 9 8\n2 0.5 0.5 0.5 7 6\n"
        "ITEM: TIMESTEP\n2\nITEM: NUMBER OF ATOMS\n0\nITEM: BOX BOUNDS pp pp pp\n0 1\n0 1\n0 1\nITEM: ATOMS id x y z\n";
    st_ctx *ctx = st_ctx_create();
    st_atoms **f;
    int nf;
    CHECK_OK(ctx, read_all(ctx, text, &f, &nf));
    CHECK(nf == 3);
    if (nf == 3) {
        /* x wins over xu; the unused xu yu zu become arrays; old headers without flags = periodic */
        CHECK(st_atoms_positions(f[0])[0] == 0.5 && arr_real(f[0], "xu", 1) && arr_real(f[0], "xu", 1)[0] == 1.5);
        CHECK(st_atoms_pbc(f[0])[0] && st_atoms_pbc(f[0])[1] && st_atoms_pbc(f[0])[2]);
        int k = st_atoms_info_find(f[0], "units");
        CHECK(k >= 0 && !strcmp(st_atoms_info_string(f[0], k), "metal"));
        k = st_atoms_info_find(f[0], "time");
        CHECK(k >= 0 && *(const double *)st_atoms_info_data(f[0], k) == 0.5);
        /* unwrapped positions used when there is no x y z; an incomplete force triple stays
           as single columns; a step beyond 32 bits is kept as a double */
        CHECK(st_atoms_count(f[1]) == 2 && st_atoms_positions(f[1])[3] == 0.5);
        CHECK(!arr_real(f[1], "forces", 3) && arr_real(f[1], "fx", 1) && arr_real(f[1], "fy", 1)[1] == 6);
        CHECK(st_atoms_pbc(f[1])[0] == 0 && st_atoms_pbc(f[1])[1] == 1 && st_atoms_pbc(f[1])[2] == 0);
        k = st_atoms_info_find(f[1], "timestep");
        CHECK(k >= 0 && st_atoms_info_kind(f[1], k) == ST_KIND_REAL &&
              *(const double *)st_atoms_info_data(f[1], k) == 3e9);
        CHECK(st_atoms_count(f[2]) == 0);
    }
    free_frames(f, nf);
    st_ctx_destroy(ctx);
}

TEST(error_paths)
{
    const char *hdr = "ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n2\nITEM: BOX BOUNDS pp pp pp\n0 1\n0 1\n0 1\n";
    char buf[1024];
    EXPECT_FAIL("ITEM: TIMESTEP\nabc\n", ST_ERR_PARSE, "line 2: TIMESTEP: expected an integer", NULL);
    EXPECT_FAIL("ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n-3\n", ST_ERR_PARSE, "line 4: NUMBER OF ATOMS", "'-3'");
    EXPECT_FAIL("ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n5000000000\n", ST_ERR_PARSE, "absurd", NULL);
    EXPECT_FAIL("ITEM: TIMESTEP\n0\nITEM: BOX BOUNDS pp pp pp\n0 1\n0 1\n0 1\nITEM: ATOMS x y z\n", ST_ERR_PARSE,
                "line 7: ITEM: ATOMS before ITEM: NUMBER OF ATOMS", NULL);
    EXPECT_FAIL("ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n1\nITEM: ATOMS x y z\n", ST_ERR_PARSE,
                "before ITEM: BOX BOUNDS", NULL);
    EXPECT_FAIL("ITEM: TIMESTEP\n0\nITEM: BOX BOUNDS pp pp qq\n", ST_ERR_PARSE, "line 3: BOX BOUNDS: boundary flag 3", "'qq'");
    EXPECT_FAIL("ITEM: TIMESTEP\n0\nITEM: BOX BOUNDS pp pp\n", ST_ERR_PARSE, "expected 3 boundary flags", NULL);
    EXPECT_FAIL("ITEM: TIMESTEP\n0\nITEM: BOX BOUNDS pp pp pp\n0 1\n0\n", ST_ERR_PARSE, "line 5: BOX BOUNDS: expected 2 numbers, got 1", NULL);
    EXPECT_FAIL("ITEM: TIMESTEP\n0\nITEM: BOX BOUNDS xy xz yz pp pp pp\n0 1 0\n0 1 x\n", ST_ERR_PARSE, "line 5: BOX BOUNDS: column 3", "'x'");
    EXPECT_FAIL("ITEM: TIMESTEP\n0\nITEM: BONDS\n", ST_ERR_PARSE, "line 3: unknown section 'ITEM: BONDS'", NULL);
    EXPECT_FAIL("garbage\n", ST_ERR_FORMAT, "cannot tell the file format", NULL);   /* not detected */
    EXPECT_FAIL("ITEM: TIMESTEP\n0\nhello\n", ST_ERR_PARSE, "line 3: expected an 'ITEM:' line, got 'hello'", NULL);
    EXPECT_FAIL("ITEM: TIMESTEP\n", ST_ERR_PARSE, "line 2: file ends; expected the time step", NULL);
    snprintf(buf, sizeof buf, "%sITEM: ATOMS id type vx vy vz\n", hdr);
    EXPECT_FAIL(buf, ST_ERR_PARSE, "line 9: ATOMS: no complete set of position columns", NULL);
    snprintf(buf, sizeof buf, "%sITEM: ATOMS id x y z x\n", hdr);
    EXPECT_FAIL(buf, ST_ERR_PARSE, "column 'x' appears twice", NULL);
    /* a column named like the array a triple makes (found by fuzzing: it replaced the storage) */
    snprintf(buf, sizeof buf, "%sITEM: ATOMS id x y z ix iy iz image\n1 0 0 0 0 0 0 1\n2 0 0 0 0 0 0 1\n", hdr);
    EXPECT_FAIL(buf, ST_ERR_PARSE, "line 9: ATOMS: column 'image' clashes", NULL);
    snprintf(buf, sizeof buf, "%sITEM: ATOMS id x y z q charges\n1 0 0 0 0 0\n2 0 0 0 0 0\n", hdr);
    EXPECT_FAIL(buf, ST_ERR_PARSE, "column 'charges' clashes", NULL);
    snprintf(buf, sizeof buf, "%sITEM: ATOMS id x y z positions\n1 0 0 0 0\n2 0 0 0 0\n", hdr);
    EXPECT_FAIL(buf, ST_ERR_PARSE, "column 'positions' clashes", NULL);
    snprintf(buf, sizeof buf, "%sITEM: ATOMS id x y z\n1 0 0 0\n", hdr);
    EXPECT_FAIL(buf, ST_ERR_PARSE, "line 11: file ends after 1 of the 2 atom lines announced on line 4", NULL);
    snprintf(buf, sizeof buf, "%sITEM: ATOMS id x y z\n1 0 0 0\n2 0 0\n", hdr);
    EXPECT_FAIL(buf, ST_ERR_PARSE, "line 11: 3 columns, the ATOMS header on line 9 names 4", NULL);
    snprintf(buf, sizeof buf, "%sITEM: ATOMS id x y z\n1 0 0 0\n2 0 inf 0\n", hdr);
    EXPECT_FAIL(buf, ST_ERR_PARSE, "line 11: column 3 (y): expected a finite number, got 'inf'", NULL);
    snprintf(buf, sizeof buf, "%sITEM: ATOMS id x y z\n1 0 0 0\n2 0 0 -1e309\n", hdr);
    EXPECT_FAIL(buf, ST_ERR_PARSE, "line 11: column 4 (z): number out of range", NULL);
    snprintf(buf, sizeof buf, "%sITEM: ATOMS id x y z\n1 0 0 0\n1.5 0 0 0\n", hdr);
    EXPECT_FAIL(buf, ST_ERR_PARSE, "line 11: column 1 (id): expected an integer, got '1.5'", NULL);
    snprintf(buf, sizeof buf, "%sITEM: ATOMS id x y z\n1 0 0 0\n1 1 1 1\n", hdr);
    EXPECT_FAIL(buf, ST_ERR_PARSE, "atom id 1 appears twice", NULL);
    snprintf(buf, sizeof buf, "%sITEM: ATOMS id element x y z\n1 Cu 0 0 0\n2 Qq 0 0 0\n", hdr);
    EXPECT_FAIL(buf, ST_ERR_PARSE, "line 11: column 2 (element): unknown element symbol 'Qq'", NULL);
    snprintf(buf, sizeof buf, "%sITEM: ATOMS id x y z c_x\n1 0 0 0 1\n2 0 0 0 oops\n", hdr);
    EXPECT_FAIL(buf, ST_ERR_PARSE, "line 11: column 5 (c_x): expected a number, got 'oops'", NULL);
    EXPECT_FAIL("ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n800000000\nITEM: BOX BOUNDS pp pp pp\n0 1\n0 1\n0 1\n"
                "ITEM: ATOMS x y z\n0 0 0\n", ST_ERR_PARSE, "800000000 atoms cannot fit", NULL);
    {
        const char bin[] = "ITEM: TIMESTEP\n\0\x01\x02";
        st_ctx *ctx = st_ctx_create();
        st_reader *r;
        st_atoms *a = NULL;
        CHECK_OK(ctx, st_reader_open_string(ctx, bin, sizeof bin - 1, NULL, "md.lammpstrj", &r));
        CHECK(st_reader_next(ctx, r, &a) == ST_ERR_PARSE && !a && strstr(st_ctx_message(ctx), "binary data"));
        st_reader_close(r);
        st_ctx_destroy(ctx);
    }
}

/* Deterministic mutations of a valid file: each gives a structure or a clean error naming the
 * file; none may crash or hang (run under `make asan` to catch memory errors). */
TEST(mutations)
{
    const char *seed = "ITEM: TIMESTEP\n10\nITEM: NUMBER OF ATOMS\n3\nITEM: BOX BOUNDS xy xz yz pp pp ff\n"
        "-0.5 5.5 0.5\n0 4 0\n0 3 0.2\nITEM: ATOMS id type element xs ys zs fx fy fz q\n"
        "2 1 Cu 0.1 0.2 0.3 1 2 3 0.5\n1 2 Au 0.5 0.5 0.5 -1 -2 -3 -0.5\n3 1 Cu 0 0 0 0 0 0 0\n";
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
        st_atoms **f;
        int nf;
        int rc = read_all(ctx, buf, &f, &nf);
        if (rc) {
            errors++;
            if (strncmp(st_ctx_message(ctx), "md.lammpstrj: ", 14)) bad_messages++;
        } else {
            ok++;
        }
        free_frames(f, nf);
    }
    CHECK(errors > 100 && ok > 100);   /* both paths were exercised */
    CHECK_MSG(bad_messages == 0, "%d error messages did not name the file", bad_messages);
    free(buf);
    st_ctx_destroy(ctx);
}

/* A dump written here from a known frame (ids shuffled, %.17g) reads back bit-exactly. */
TEST(dump_round_trip)
{
    enum { N = 50 };
    uint64_t x = 99;
#define RND() (x ^= x << 13, x ^= x >> 7, x ^= x << 17, (double)(x >> 11) / 9007199254740992.0)
    double pos[N][3], frc[N][3];
    int Z[N], perm[N];
    for (int i = 0; i < N; i++) {
        for (int k = 0; k < 3; k++) pos[i][k] = 30 * RND() - 5, frc[i][k] = RND() - 0.5;
        Z[i] = 1 + (int)(RND() * 80);
        perm[i] = i;
    }
    for (int i = N - 1; i > 0; i--) {
        int j = (int)(RND() * (i + 1)), t = perm[i];
        perm[i] = perm[j], perm[j] = t;
    }
    size_t cap = 64 * 1024;
    char *text = malloc(cap);
    int len = snprintf(text, cap, "ITEM: TIMESTEP\n42\nITEM: NUMBER OF ATOMS\n%d\nITEM: BOX BOUNDS pp pp pp\n"
                                  "0 20\n0 20\n0 20\nITEM: ATOMS id element x y z fx fy fz\n", N);
    for (int r = 0; r < N; r++) {
        int i = perm[r];
        len += snprintf(text + len, cap - (size_t)len, "%d %s %.17g %.17g %.17g %.17g %.17g %.17g\n", i + 1,
                        st_element_symbol(Z[i]), pos[i][0], pos[i][1], pos[i][2], frc[i][0], frc[i][1], frc[i][2]);
    }
    st_ctx *ctx = st_ctx_create();
    st_atoms **f;
    int nf;
    CHECK_OK(ctx, read_all(ctx, text, &f, &nf));
    CHECK(nf == 1 && st_atoms_count(f[0]) == N);
    if (nf == 1) {
        const double *F = arr_real(f[0], "forces", 3);
        CHECK(!memcmp(st_atoms_positions(f[0]), pos, sizeof pos));
        CHECK(F && !memcmp(F, frc, sizeof frc));
        int ok = 1;
        for (int i = 0; i < N; i++) ok &= st_atoms_numbers(f[0])[i] == Z[i];
        CHECK(ok);
    }
    free_frames(f, nf);
    free(text);
    st_ctx_destroy(ctx);
}

/* ---------------------------------------------------------------- data writer */
typedef struct {
    long natoms;
    int ntypes;
    double lo[3], hi[3], tilt[3];
    int have_tilt;
    double mass[8];
    char mass_comment[8][8];
    char style[16];
    int type[64];
    double q[64], r[64][3];
} data_file;

/* Independent reader of the data files our writer makes (only what they contain). */
static int parse_data(const char *path, data_file *d)
{
    memset(d, 0, sizeof *d);
    FILE *fp = fopen(path, "r");
    if (!fp) return 0;
    char line[512];
    int section = 0, got = 0;
    if (!fgets(line, sizeof line, fp)) return fclose(fp), 0;   /* title line */
    while (fgets(line, sizeof line, fp)) {
        char w1[32], w2[32];
        double a, b;
        if (line[0] == '\n') continue;
        if (!strncmp(line, "Masses", 6)) { section = 1; got = 0; continue; }
        if (!strncmp(line, "Atoms", 5)) {
            section = 2;
            got = 0;
            sscanf(line, "Atoms # %15s", d->style);
            continue;
        }
        if (section == 0) {
            if (strstr(line, "atom types")) {
                sscanf(line, "%d", &d->ntypes);
            } else if (strstr(line, " atoms")) {
                sscanf(line, "%ld", &d->natoms);
            } else if (strstr(line, "xy xz yz")) {
                d->have_tilt = sscanf(line, "%lf %lf %lf", &d->tilt[0], &d->tilt[1], &d->tilt[2]) == 3;
            } else if (sscanf(line, "%lf %lf %31s %31s", &a, &b, w1, w2) == 4 && strlen(w1) == 3 &&
                       w1[0] >= 'x' && w1[0] <= 'z' && !strcmp(w1 + 1, "lo")) {
                d->lo[w1[0] - 'x'] = a, d->hi[w1[0] - 'x'] = b;
            }
        } else if (section == 1 && got < 8) {
            int t;
            if (sscanf(line, "%d %lf # %7s", &t, &a, w1) == 3) {
                d->mass[t - 1] = a;
                strcpy(d->mass_comment[t - 1], w1);
                got++;
            }
        } else if (section == 2 && got < 64) {
            long id;
            int t;
            double v[4];
            int nv = sscanf(line, "%ld %d %lf %lf %lf %lf", &id, &t, &v[0], &v[1], &v[2], &v[3]);
            if (nv < 5 || id < 1 || id > 64) continue;
            d->type[id - 1] = t;
            if (nv == 6) d->q[id - 1] = v[0], memmove(v, v + 1, 3 * sizeof(double));
            memcpy(d->r[id - 1], v, 3 * sizeof(double));
            got++;
        }
    }
    fclose(fp);
    return 1;
}

static int write_data(st_ctx *ctx, const char *path, st_atoms *a)
{
    st_writer *w;
    int rc = st_writer_open(ctx, path, NULL, &w);   /* format from the .data extension */
    if (rc) return rc;
    if ((rc = st_writer_write(ctx, w, a))) {
        st_writer_abort(w);
        return rc;
    }
    return st_writer_close(ctx, w);
}

TEST(data_writer_triclinic)
{
    enum { N = 12 };
    st_ctx *ctx = st_ctx_create();
    st_atoms *a = st_atoms_create(N);
    double L[3] = {5.1, 6.3, 7.7}, ang[3] = {75, 100, 110}, H0[9];
    CHECK(st_cell_from_parameters(L, ang, H0) == ST_OK);
    /* rotate the cell out of LAMMPS's orientation: H = H0 R, R a rotation about (1,2,3) */
    double u[3] = {1 / sqrt(14.0), 2 / sqrt(14.0), 3 / sqrt(14.0)}, th = 0.7, cs = cos(th), sn = sin(th);
    double R[9];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double e = i == j ? cs : 0;
            e += (1 - cs) * u[i] * u[j];
            if (i != j) {
                int k = 3 - i - j;
                double sgn = ((i == 0 && j == 1) || (i == 1 && j == 2) || (i == 2 && j == 0)) ? -1 : 1;
                e += sgn * sn * u[k];
            }
            R[3 * i + j] = e;
        }
    double *H = st_atoms_cell(a);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) H[3 * i + j] = H0[3 * i] * R[j] + H0[3 * i + 1] * R[3 + j] + H0[3 * i + 2] * R[6 + j];
    uint64_t x = 7;
    double *p = st_atoms_positions(a);
    for (int i = 0; i < 3 * N; i++) p[i] = 12 * RND() - 2;
    static const int zs[4] = {8, 1, 1, 26};
    for (int i = 0; i < N; i++) st_atoms_numbers(a)[i] = zs[i % 4];
    double *q = st_atoms_array_data(a, st_atoms_array_add(ctx, a, "charges", ST_KIND_REAL, 1));
    for (int i = 0; i < N; i++) q[i] = RND() - 0.5;
    const char *path = tmp_path("tri.data");
    CHECK_OK(ctx, write_data(ctx, path, a));
    data_file d;
    CHECK(parse_data(path, &d));
    CHECK(d.natoms == N && d.ntypes == 3 && !strcmp(d.style, "charge") && d.have_tilt);
    /* masses by first appearance O, H, Fe (IUPAC values) */
    CHECK(d.mass[0] == 15.999 && d.mass[1] == 1.008 && d.mass[2] == 55.845);
    CHECK(!strcmp(d.mass_comment[0], "O") && !strcmp(d.mass_comment[1], "H") && !strcmp(d.mass_comment[2], "Fe"));
    /* the LAMMPS cell has the same lengths and angles as the original */
    double Lc[9] = {d.hi[0] - d.lo[0], 0, 0, d.tilt[0], d.hi[1] - d.lo[1], 0, d.tilt[1], d.tilt[2], d.hi[2] - d.lo[2]};
    double L2[3], ang2[3];
    st_cell_to_parameters(Lc, L2, ang2);
    for (int k = 0; k < 3; k++) {
        CHECK_NEAR(L2[k], L[k], 1e-12);
        CHECK_NEAR(ang2[k], ang[k], 1e-10);
    }
    CHECK(Lc[0] > 0 && Lc[4] > 0 && Lc[8] > 0);
    /* same fractional coordinates, types and charges */
    double inv[9], invL[9];
    CHECK(st_cell_inverse(H, inv) == ST_OK && st_cell_inverse(Lc, invL) == ST_OK);
    double worst = 0;
    int types_ok = 1, q_ok = 1;
    for (int i = 0; i < N; i++) {
        double f0[3], f1[3];
        st_cart_to_frac(inv, 1, p + 3 * i, f0);
        st_cart_to_frac(invL, 1, d.r[i], f1);
        for (int k = 0; k < 3; k++) worst = fmax(worst, fabs(f0[k] - f1[k]));
        types_ok &= d.type[i] == (i % 4 == 0 ? 1 : i % 4 == 3 ? 3 : 2);
        q_ok &= d.q[i] == q[i];
    }
    CHECK_MSG(worst < 1e-13, "fractional coordinates differ by %g", worst);
    CHECK(types_ok && q_ok);
    /* pair distances are preserved (rotation, not deformation) */
    double dworst = 0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < i; j++) {
            double d0 = 0, d1 = 0;
            for (int k = 0; k < 3; k++) {
                d0 += (p[3 * i + k] - p[3 * j + k]) * (p[3 * i + k] - p[3 * j + k]);
                d1 += (d.r[i][k] - d.r[j][k]) * (d.r[i][k] - d.r[j][k]);
            }
            dworst = fmax(dworst, fabs(sqrt(d0) - sqrt(d1)));
        }
    CHECK_MSG(dworst < 1e-12, "distances differ by %g", dworst);
    remove(path);
    st_atoms_destroy(a);
    st_ctx_destroy(ctx);
}

TEST(data_writer_orthogonal_and_errors)
{
    st_ctx *ctx = st_ctx_create();
    st_atoms *a = st_atoms_create(3);
    double *c = st_atoms_cell(a), *p = st_atoms_positions(a);
    c[0] = 10.5, c[4] = 11.25, c[8] = 3.0 / 7.0;
    const double pv[9] = {0.1, 0.2, 0.3, 1.0 / 3.0, 5.5, -0.25, 9.75, 1e-9, 0.42};
    memcpy(p, pv, sizeof pv);
    st_atoms_numbers(a)[0] = 29, st_atoms_numbers(a)[1] = 29, st_atoms_numbers(a)[2] = 79;
    const char *path = tmp_path("cu.lmp");
    CHECK_OK(ctx, write_data(ctx, path, a));
    data_file d;
    CHECK(parse_data(path, &d));
    /* a box already in LAMMPS form and its positions are written exactly; no tilt line */
    CHECK(d.natoms == 3 && d.ntypes == 2 && !strcmp(d.style, "atomic") && !d.have_tilt);
    CHECK(d.hi[0] == 10.5 && d.hi[1] == 11.25 && d.hi[2] == 3.0 / 7.0 && d.lo[2] == 0);
    CHECK(!memcmp(d.r, pv, sizeof pv));
    CHECK(d.mass[0] == 63.546 && d.mass[1] == 196.966569 && d.type[2] == 2);
    /* dummy atoms need masses from a 'masses' array */
    st_atoms_numbers(a)[2] = 0;
    CHECK(write_data(ctx, path, a) == ST_ERR_ARG && strstr(st_ctx_message(ctx), "type 2 (X) has no mass"));
    double *m = st_atoms_array_data(a, st_atoms_array_add(ctx, a, "masses", ST_KIND_REAL, 1));
    m[0] = m[1] = 63.5, m[2] = 4.0;
    CHECK_OK(ctx, write_data(ctx, path, a));
    CHECK(parse_data(path, &d) && d.mass[0] == 63.5 && d.mass[1] == 4.0 && !strcmp(d.mass_comment[1], "X"));
    /* left-handed and missing cells, second frame */
    c[8] = -1;
    CHECK(write_data(ctx, path, a) == ST_ERR_ARG && strstr(st_ctx_message(ctx), "left-handed"));
    memset(c, 0, 9 * sizeof(double));
    CHECK(write_data(ctx, path, a) == ST_ERR_ARG && strstr(st_ctx_message(ctx), "no cell"));
    c[0] = c[4] = c[8] = 5;
    st_writer *w;
    CHECK_OK(ctx, st_writer_open(ctx, path, "lammps-data", &w));
    CHECK_OK(ctx, st_writer_write(ctx, w, a));
    CHECK(st_writer_write(ctx, w, a) == ST_ERR_FORMAT && strstr(st_ctx_message(ctx), "one structure"));
    st_writer_abort(w);
    /* lammps-data is write-only, lammps-dump read-only */
    int flags = 0;
    for (int i = 0; st_format_name(i, &flags); i++) {
        if (!strcmp(st_format_name(i, &flags), "lammps-data")) CHECK(flags == 2);
        if (!strcmp(st_format_name(i, &flags), "lammps-dump")) CHECK(flags == 1);
    }
    remove(path);
    st_atoms_destroy(a);
    st_ctx_destroy(ctx);
}

int main(void)
{
    RUN(orthogonal_dump);
    RUN(triclinic_dump);
    RUN(streaming_and_columns);
    RUN(error_paths);
    RUN(mutations);
    RUN(dump_round_trip);
    RUN(data_writer_triclinic);
    RUN(data_writer_orthogonal_and_errors);
    if (check_tmpdir[0]) rmdir(check_tmpdir);
    return DONE();
}
