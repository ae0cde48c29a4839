/* Tests for the element table and the extxyz reader/writer: ASE comment-line syntax, typed
 * info, per-atom columns, error paths with file/line/field messages, hostile input (garbage,
 * absurd counts, mutations), lossless write->read, and the real datasets in ../shared/data. */
#include "strata.h"
#include "check.h"
#include <stdint.h>
#include <sys/stat.h>

/* ---------------------------------------------------------------- helpers */

/* Read every frame of a text; returns the status, frames in *out (caller frees). */
static int read_all_string(st_ctx *ctx, const char *text, const char *fmt, st_atoms ***out, int *nf)
{
    st_reader *r;
    *out = NULL;
    *nf = 0;
    int rc = st_reader_open_string(ctx, text, strlen(text), fmt, "t.xyz", &r);
    if (rc) return rc;
    int cap = 0;
    for (;;) {
        st_atoms *a;
        rc = st_reader_next(ctx, r, &a);
        if (rc || !a) break;
        if (*nf == cap) {
            cap = cap ? 2 * cap : 8;
            *out = realloc(*out, (size_t)cap * sizeof **out);
        }
        (*out)[(*nf)++] = a;
    }
    st_reader_close(r);
    return rc;
}

static int read_all_file(st_ctx *ctx, const char *path, st_atoms ***out, int *nf)
{
    st_reader *r;
    *out = NULL;
    *nf = 0;
    int rc = st_reader_open(ctx, path, NULL, &r);
    if (rc) return rc;
    int cap = 0;
    for (;;) {
        st_atoms *a;
        rc = st_reader_next(ctx, r, &a);
        if (rc || !a) break;
        if (*nf == cap) {
            cap = cap ? 2 * cap : 64;
            *out = realloc(*out, (size_t)cap * sizeof **out);
        }
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

static int write_frames(st_ctx *ctx, const char *path, const char *fmt, st_atoms **f, int n)
{
    st_writer *w;
    int rc = st_writer_open(ctx, path, fmt, &w);
    if (rc) return rc;
    for (int i = 0; i < n; i++)
        if ((rc = st_writer_write(ctx, w, f[i]))) {
            st_writer_abort(w);
            return rc;
        }
    return st_writer_close(ctx, w);
}

/* Bit-for-bit equality of two frames: counts, numbers, positions, cell, pbc, every array and
 * info entry (same order, kind, shape and bytes).  Prints the first difference. */
static int frames_identical(st_atoms *a, st_atoms *b)
{
    int64_t n = st_atoms_count(a);
    if (n != st_atoms_count(b)) return printf("#   atom count %lld vs %lld\n", (long long)n, (long long)st_atoms_count(b)), 0;
    if (memcmp(st_atoms_positions(a), st_atoms_positions(b), (size_t)n * 3 * sizeof(double)))
        return printf("#   positions differ\n"), 0;
    if (memcmp(st_atoms_numbers(a), st_atoms_numbers(b), (size_t)n * sizeof(int32_t)))
        return printf("#   numbers differ\n"), 0;
    if (memcmp(st_atoms_cell(a), st_atoms_cell(b), 9 * sizeof(double))) return printf("#   cell differs\n"), 0;
    if (memcmp(st_atoms_pbc(a), st_atoms_pbc(b), 3 * sizeof(int32_t))) return printf("#   pbc differs\n"), 0;
    if (st_atoms_array_count(a) != st_atoms_array_count(b)) return printf("#   array count differs\n"), 0;
    for (int c = 0; c < st_atoms_array_count(a); c++) {
        const char *nm = st_atoms_array_name(a, c);
        int kind = st_atoms_array_kind(a, c), m = st_atoms_array_ncols(a, c);
        if (strcmp(nm, st_atoms_array_name(b, c)) || kind != st_atoms_array_kind(b, c) ||
            m != st_atoms_array_ncols(b, c))
            return printf("#   array %d (%s) differs in name/kind/ncols\n", c, nm), 0;
        if (kind == ST_KIND_STRING) {
            for (int64_t i = 0; i < n; i++)
                for (int k = 0; k < m; k++)
                    if (strcmp(st_atoms_array_string(a, c, i, k), st_atoms_array_string(b, c, i, k)))
                        return printf("#   array %s row %lld differs\n", nm, (long long)i), 0;
        } else {
            size_t es = kind == ST_KIND_REAL ? 8 : 4;
            if (memcmp(st_atoms_array_data(a, c), st_atoms_array_data(b, c), (size_t)n * m * es))
                return printf("#   array %s data differs\n", nm), 0;
        }
    }
    if (st_atoms_info_count(a) != st_atoms_info_count(b))
        return printf("#   info count %d vs %d\n", st_atoms_info_count(a), st_atoms_info_count(b)), 0;
    for (int k = 0; k < st_atoms_info_count(a); k++) {
        const char *key = st_atoms_info_key(a, k);
        int kind = st_atoms_info_kind(a, k), nd = st_atoms_info_ndim(a, k);
        if (strcmp(key, st_atoms_info_key(b, k)) || kind != st_atoms_info_kind(b, k) ||
            nd != st_atoms_info_ndim(b, k) || st_atoms_info_dim(a, k, 0) != st_atoms_info_dim(b, k, 0) ||
            st_atoms_info_dim(a, k, 1) != st_atoms_info_dim(b, k, 1))
            return printf("#   info '%s' differs in key/kind/shape\n", key), 0;
        if (kind == ST_KIND_STRING) {
            if (strcmp(st_atoms_info_string(a, k), st_atoms_info_string(b, k)))
                return printf("#   info '%s': '%s' vs '%s'\n", key, st_atoms_info_string(a, k),
                              st_atoms_info_string(b, k)), 0;
        } else {
            int64_t cnt = nd == 0 ? 1 : nd == 1 ? st_atoms_info_dim(a, k, 0)
                                                : st_atoms_info_dim(a, k, 0) * st_atoms_info_dim(a, k, 1);
            size_t es = kind == ST_KIND_REAL ? 8 : 4;
            if (memcmp(st_atoms_info_data(a, k), st_atoms_info_data(b, k), (size_t)cnt * es))
                return printf("#   info '%s' values differ\n", key), 0;
        }
    }
    return 1;
}

static const double *info_real(st_atoms *a, const char *key, int ndim, int64_t d0)
{
    int k = st_atoms_info_find(a, key);
    if (k < 0 || st_atoms_info_kind(a, k) != ST_KIND_REAL || st_atoms_info_ndim(a, k) != ndim ||
        (ndim && st_atoms_info_dim(a, k, 0) != d0))
        return NULL;
    return st_atoms_info_data(a, k);
}

static const int32_t *info_int(st_atoms *a, const char *key, int kind, int ndim, int64_t d0)
{
    int k = st_atoms_info_find(a, key);
    if (k < 0 || st_atoms_info_kind(a, k) != kind || st_atoms_info_ndim(a, k) != ndim ||
        (ndim && st_atoms_info_dim(a, k, 0) != d0))
        return NULL;
    return st_atoms_info_data(a, k);
}

static const char *info_str(st_atoms *a, const char *key)
{
    int k = st_atoms_info_find(a, key);
    return k < 0 ? NULL : st_atoms_info_string(a, k);
}

/* The text must fail to read with `status`, and the message must contain each needle. */
static void expect_fail(const char *text, int status, const char *n1, const char *n2, int line)
{
    st_ctx *ctx = st_ctx_create();
    st_atoms **f;
    int nf;
    int rc = read_all_string(ctx, text, "extxyz", &f, &nf);
    const char *m = st_ctx_message(ctx);
    CHECK_MSG(rc == status, "line %d: status %d (%s), expected %d", line, rc, m, status);
    CHECK_MSG(!strncmp(m, "t.xyz: ", 7), "line %d: message does not name the file: '%s'", line, m);
    CHECK_MSG(!n1 || strstr(m, n1), "line %d: message '%s' lacks '%s'", line, m, n1);
    CHECK_MSG(!n2 || strstr(m, n2), "line %d: message '%s' lacks '%s'", line, m, n2);
    free_frames(f, nf);
    st_ctx_destroy(ctx);
}
#define EXPECT_FAIL(text, status, n1, n2) expect_fail(text, status, n1, n2, __LINE__)

/* ---------------------------------------------------------------- elements */
TEST(elements)
{
    /* IUPAC 2013 (Pure Appl. Chem. 88, 265 (2016)) conventional/standard weights */
    CHECK(st_element_mass(1) == 1.008);
    CHECK(st_element_mass(6) == 12.011);
    CHECK(st_element_mass(8) == 15.999);
    CHECK(st_element_mass(29) == 63.546);
    CHECK(st_element_mass(74) == 183.84);
    CHECK(st_element_mass(43) == 97.90721);   /* Tc: longest-lived isotope 98 */
    CHECK(st_element_mass(118) == 294.214);   /* Og 294 */
    CHECK(st_element_mass(0) == 0 && st_element_mass(119) == 0 && st_element_mass(-1) == 0);
    CHECK(st_element_number("Cu") == 29 && st_element_number("W") == 74 && st_element_number("Og") == 118);
    CHECK(st_element_number("X") == 0);
    CHECK(st_element_number("cu") == -1 && st_element_number("Xx") == -1 && st_element_number("") == -1);
    CHECK(st_element_number("Cuu") == -1 && st_element_number(NULL) == -1);
    CHECK(st_element_symbol(0) && !strcmp(st_element_symbol(0), "X"));
    CHECK(st_element_symbol(119) == NULL && st_element_symbol(-1) == NULL);
    /* every symbol maps back to its number, masses grow roughly with Z (no shifted entries:
       a shift would break this somewhere across the table) */
    int ok = 1;
    for (int z = 0; z <= 118; z++) ok &= st_element_number(st_element_symbol(z)) == z;
    CHECK(ok);
    /* Masses rise with Z except at the known inversions Ar/K, Co/Ni, Te/I, Th/Pa, U/Np, Pu/Am,
       Cm/Bk and (isotope masses) Sg/Bh/Hs; a shifted or mistyped entry would add or move one. */
    const int inversions[] = {19, 28, 53, 91, 93, 95, 97, 107, 108};
    int ninv = 0, match = 1;
    for (int z = 2; z <= 118; z++)
        if (st_element_mass(z) < st_element_mass(z - 1)) {
            match &= ninv < 9 && inversions[ninv] == z;
            ninv++;
        }
    CHECK_MSG(match && ninv == 9, "%d mass inversions", ninv);
    for (int z = 1; z <= 118; z++) CHECK_MSG(st_element_mass(z) > z, "mass of Z=%d", z);
}

/* ---------------------------------------------------------------- reading */
TEST(ase_comment_line)
{
    const char *text =
        "3\n"
        "Lattice=\"5.0 0.0 0.0 0.0 6.0 0.0 1.0 0.0 7.0\" Properties=species:S:1:pos:R:3:forces:R:3:"
        "tags:I:1:fixed:L:1:label:S:1:charge:R:1 energy=-5 free_energy=-5.25 step=12 big=3000000000 "
        "temp=300.5 flag=T off=False name=md_bulk quoted=\"two words\" esc=\"a \\\"q\\\" b\" "
        "vec=\"1 2 3\" rvec={1.5 2 3} bvec=[T, F, T] comma=1,2 "
        "stress=\"1 2 3 4 5 6 7 8 9\" virial=\"1 2 3 4 5 6\" js=\"_JSON [1.5, 2, 3]\" "
        "jm=\"_JSON [[1, 2], [3, 4], [5, 6]]\" jstr=\"_JSON \\\"1.5\\\"\" jobj=\"_JSON {\\\"a\\\": 1}\" "
        "bare spaced = 7 pbc=\"T F T\"\n"
        "CU 0 0 0 0.1 0.2 0.3 7 T a1 0.5\n"
        "o 1.5 -2.5e-3 1e2 1 2 3 -8 F b2 -0.5\n"
        "H 1 2 3 4 5 6 0 True c3 0\n";
    st_ctx *ctx = st_ctx_create();
    st_atoms **f;
    int nf;
    CHECK_OK(ctx, read_all_string(ctx, text, NULL, &f, &nf));
    CHECK(nf == 1);
    if (nf != 1) return;
    st_atoms *a = f[0];
    CHECK(st_atoms_count(a) == 3);
    const int32_t *Z = st_atoms_numbers(a);
    CHECK(Z[0] == 29 && Z[1] == 8 && Z[2] == 1);   /* symbols capitalised as ASE does */
    const double *c = st_atoms_cell(a), *p = st_atoms_positions(a);
    CHECK(c[0] == 5 && c[4] == 6 && c[6] == 1 && c[8] == 7 && c[1] == 0);
    CHECK(st_atoms_pbc(a)[0] == 1 && st_atoms_pbc(a)[1] == 0 && st_atoms_pbc(a)[2] == 1);
    CHECK(p[3] == 1.5 && p[4] == -2.5e-3 && p[5] == 100);
    int fi = st_atoms_array_find(a, "forces");
    CHECK(fi >= 0 && ((double *)st_atoms_array_data(a, fi))[8] == 6);
    int ti = st_atoms_array_find(a, "tags");
    CHECK(ti >= 0 && st_atoms_array_kind(a, ti) == ST_KIND_INT && ((int32_t *)st_atoms_array_data(a, ti))[1] == -8);
    int li = st_atoms_array_find(a, "fixed");
    CHECK(li >= 0 && st_atoms_array_kind(a, li) == ST_KIND_BOOL);
    if (li >= 0) {
        int32_t *L = st_atoms_array_data(a, li);
        CHECK(L[0] == 1 && L[1] == 0 && L[2] == 1);
    }
    int si = st_atoms_array_find(a, "label");
    CHECK(si >= 0 && !strcmp(st_atoms_array_string(a, si, 2, 0), "c3"));
    int qi = st_atoms_array_find(a, "charges");     /* ASE name for the 'charge' column */
    CHECK(qi >= 0 && st_atoms_array_find(a, "charge") < 0);
    const double *e = info_real(a, "energy", 0, 0);   /* integer text, but energy is REAL */
    CHECK(e && *e == -5);
    CHECK(info_real(a, "free_energy", 0, 0) && *info_real(a, "free_energy", 0, 0) == -5.25);
    CHECK(info_int(a, "step", ST_KIND_INT, 0, 0) && *info_int(a, "step", ST_KIND_INT, 0, 0) == 12);
    CHECK(info_real(a, "big", 0, 0) && *info_real(a, "big", 0, 0) == 3e9);   /* beyond int32 */
    CHECK(info_real(a, "temp", 0, 0) && *info_real(a, "temp", 0, 0) == 300.5);
    CHECK(info_int(a, "flag", ST_KIND_BOOL, 0, 0) && *info_int(a, "flag", ST_KIND_BOOL, 0, 0) == 1);
    CHECK(info_int(a, "off", ST_KIND_BOOL, 0, 0) && *info_int(a, "off", ST_KIND_BOOL, 0, 0) == 0);
    CHECK(info_str(a, "name") && !strcmp(info_str(a, "name"), "md_bulk"));
    CHECK(info_str(a, "quoted") && !strcmp(info_str(a, "quoted"), "two words"));
    CHECK(info_str(a, "esc") && !strcmp(info_str(a, "esc"), "a \"q\" b"));
    const int32_t *iv = info_int(a, "vec", ST_KIND_INT, 1, 3);
    CHECK(iv && iv[0] == 1 && iv[2] == 3);
    const double *rv = info_real(a, "rvec", 1, 3);
    CHECK(rv && rv[0] == 1.5 && rv[2] == 3);
    const int32_t *bv = info_int(a, "bvec", ST_KIND_BOOL, 1, 3);
    CHECK(bv && bv[0] == 1 && bv[1] == 0 && bv[2] == 1);
    CHECK(info_int(a, "comma", ST_KIND_INT, 1, 2) != NULL);
    /* stress: 9 values in Fortran order (ASE), so row 0 is 1 4 7 */
    const double *S = info_real(a, "stress", 2, 3);
    CHECK(S && S[0] == 1 && S[1] == 4 && S[2] == 7 && S[3] == 2 && S[8] == 9);
    /* virial: Voigt xx yy zz yz xz xy */
    const double *V = info_real(a, "virial", 2, 3);
    CHECK(V && V[0] == 1 && V[4] == 2 && V[8] == 3 && V[5] == 4 && V[7] == 4 && V[2] == 5 &&
          V[6] == 5 && V[1] == 6 && V[3] == 6);
    const double *js = info_real(a, "js", 1, 3);
    CHECK(js && js[0] == 1.5 && js[1] == 2);
    int jm = st_atoms_info_find(a, "jm");
    CHECK(jm >= 0 && st_atoms_info_ndim(a, jm) == 2 && st_atoms_info_dim(a, jm, 0) == 3 &&
          st_atoms_info_dim(a, jm, 1) == 2 && ((const double *)st_atoms_info_data(a, jm))[3] == 4);
    CHECK(info_str(a, "jstr") && !strcmp(info_str(a, "jstr"), "1.5"));
    CHECK(info_str(a, "jobj") && !strcmp(info_str(a, "jobj"), "_JSON {\"a\": 1}"));
    CHECK(info_int(a, "bare", ST_KIND_BOOL, 0, 0) && *info_int(a, "bare", ST_KIND_BOOL, 0, 0) == 1);
    CHECK(info_int(a, "spaced", ST_KIND_INT, 0, 0) && *info_int(a, "spaced", ST_KIND_INT, 0, 0) == 7);
    CHECK(st_atoms_info_find(a, "pbc") < 0 && st_atoms_info_find(a, "Lattice") < 0 &&
          st_atoms_info_find(a, "Properties") < 0);
    free_frames(f, nf);
    st_ctx_destroy(ctx);
}

TEST(plain_xyz_and_streaming)
{
    st_ctx *ctx = st_ctx_create();
    st_atoms **f;
    int nf;
    /* plain XYZ: free comment, extra columns ignored, blank lines between and after frames */
    const char *text = "2\nWater dimer, MP2 (it's \"plain\")\nO 0 0 0 extra\nH 0.96 0 0\n\n"
                       "  1  \n\nX 1 2 3\n\n\n";
    CHECK_OK(ctx, read_all_string(ctx, text, NULL, &f, &nf));
    CHECK(nf == 2);
    if (nf == 2) {
        CHECK(info_str(f[0], "comment") && !strcmp(info_str(f[0], "comment"), "Water dimer, MP2 (it's \"plain\")"));
        CHECK(!st_atoms_has_cell(f[0]) && st_atoms_pbc(f[0])[0] == 0);
        CHECK(st_atoms_numbers(f[0])[1] == 1 && st_atoms_positions(f[0])[3] == 0.96);
        CHECK(st_atoms_info_count(f[1]) == 0 && st_atoms_numbers(f[1])[0] == 0);
    }
    free_frames(f, nf);
    /* not key=value syntax (empty key): the whole line is a plain comment */
    CHECK_OK(ctx, read_all_string(ctx, "1\n'' a=1\nH 0 0 0\n", "extxyz", &f, &nf));
    CHECK(nf == 1 && info_str(f[0], "comment") && !strcmp(info_str(f[0], "comment"), "'' a=1"));
    free_frames(f, nf);
    /* Lattice without pbc means T T T; Z wins over species (ASE) */
    CHECK_OK(ctx, read_all_string(ctx, "1\nLattice=\"2 0 0 0 2 0 0 0 2\" Properties=species:S:1:pos:R:3:Z:I:1\n"
                                       "H 0 0 0 26\n", NULL, &f, &nf));
    CHECK(nf == 1 && st_atoms_pbc(f[0])[2] == 1 && st_atoms_numbers(f[0])[0] == 26);
    CHECK(nf == 1 && st_atoms_array_count(f[0]) == 0);
    free_frames(f, nf);
    /* zero atoms is a valid frame; an empty or blank input has no frames */
    CHECK_OK(ctx, read_all_string(ctx, "0\n\n", "extxyz", &f, &nf));
    CHECK(nf == 1 && st_atoms_count(f[0]) == 0);
    free_frames(f, nf);
    CHECK_OK(ctx, read_all_string(ctx, "", "extxyz", &f, &nf));
    CHECK(nf == 0);
    free_frames(f, nf);
    CHECK_OK(ctx, read_all_string(ctx, "\n  \n\t\n", "extxyz", &f, &nf));
    CHECK(nf == 0);
    free_frames(f, nf);
    /* CRLF line ends */
    CHECK_OK(ctx, read_all_string(ctx, "1\r\nenergy=2.5\r\nHe 1 2 3\r\n", "extxyz", &f, &nf));
    CHECK(nf == 1 && info_real(f[0], "energy", 0, 0) && *info_real(f[0], "energy", 0, 0) == 2.5 &&
          st_atoms_positions(f[0])[2] == 3);
    free_frames(f, nf);
    /* detection by extension and by content */
    CHECK(!strcmp(st_format_detect("a/b/w.XYZ", NULL, 0), "extxyz"));
    CHECK(!strcmp(st_format_detect("w.extxyz", NULL, 0), "extxyz"));
    const char *head = "2\nx\nO 0 0 0\nH 1 0 0\n";
    const char *det = st_format_detect("data.txt", head, strlen(head));
    CHECK(det && !strcmp(det, "extxyz"));
    st_ctx_destroy(ctx);
}

TEST(error_paths)
{
    const char *props = "Properties=species:S:1:pos:R:3";
    char buf[512];
    EXPECT_FAIL("abc\nx\nH 0 0 0\n", ST_ERR_PARSE, "line 1: atom count", "got 'abc'");
    EXPECT_FAIL("1.5\nx\nH 0 0 0\n", ST_ERR_PARSE, "line 1: atom count", "'1.5'");
    EXPECT_FAIL("-1\nx\n", ST_ERR_PARSE, "non-negative integer", NULL);
    EXPECT_FAIL("2 atoms\nx\n", ST_ERR_PARSE, "line 1: atom count", NULL);
    EXPECT_FAIL("2000000000\nx\nH 0 0 0\n", ST_ERR_PARSE, "absurd", NULL);
    EXPECT_FAIL("99999999999999999999999\nx\n", ST_ERR_PARSE, "atom count", NULL);
    /* a count the rest of the text cannot hold is refused before allocating anything */
    EXPECT_FAIL("900000000\nx\nH 0 0 0\n", ST_ERR_PARSE, "line 1: atom count 900000000 cannot fit", NULL);
    EXPECT_FAIL("3\nx\nH 0 0 0\nH 1 0 0\n", ST_ERR_PARSE, "line 5: file ends after 2 of the 3 atom lines", "line 1");
    EXPECT_FAIL("3\n", ST_ERR_PARSE, "line 2: file ends after the atom count", NULL);
    EXPECT_FAIL("1\nx\nH 0 1.2.3 0\n", ST_ERR_PARSE, "t.xyz: line 3: column 3 (pos y): expected a finite number, got '1.2.3'", NULL);
    EXPECT_FAIL("1\nx\nH 0 0 nan\n", ST_ERR_PARSE, "line 3: column 4 (pos z)", "got 'nan'");
    EXPECT_FAIL("1\nx\nH inf 0 0\n", ST_ERR_PARSE, "column 2 (pos x)", "'inf'");
    EXPECT_FAIL("1\nx\nH 0 1e400 0\n", ST_ERR_PARSE, "column 3 (pos y): number out of range", "1e400");
    EXPECT_FAIL("1\nx\nXx 0 0 0\n", ST_ERR_PARSE, "line 3: column 1 (species): unknown element symbol 'Xx'", NULL);
    EXPECT_FAIL("1\nx\nH 0 0\n", ST_ERR_PARSE, "line 3: column 4 (pos z): missing", NULL);
    snprintf(buf, sizeof buf, "1\n%s:forces:R:3\nH 0 0 0 1 2\n", props);
    EXPECT_FAIL(buf, ST_ERR_PARSE, "line 3: column 7 (forces z): missing", "Properties declares 7");
    snprintf(buf, sizeof buf, "1\n%s\nH 0 0 0 9\n", props);
    EXPECT_FAIL(buf, ST_ERR_PARSE, "line 3: 5 columns, Properties declares 4", NULL);
    snprintf(buf, sizeof buf, "1\n%s:q:R:1\nH 0 0 0 1e999\n", props);
    EXPECT_FAIL(buf, ST_ERR_PARSE, "column 5 (q): number out of range", NULL);
    snprintf(buf, sizeof buf, "1\n%s:t:I:1\nH 0 0 0 1.5\n", props);
    EXPECT_FAIL(buf, ST_ERR_PARSE, "column 5 (t): expected an integer", NULL);
    snprintf(buf, sizeof buf, "1\n%s:t:I:1\nH 0 0 0 4000000000\n", props);
    EXPECT_FAIL(buf, ST_ERR_PARSE, "32-bit", NULL);
    snprintf(buf, sizeof buf, "1\n%s:m:L:3\nH 0 0 0 T F 1\n", props);
    EXPECT_FAIL(buf, ST_ERR_PARSE, "column 7 (m z): expected T, F, True or False", NULL);
    EXPECT_FAIL("1\nProperties=species:S:1:pos:R\nH 0 0 0\n", ST_ERR_PARSE, "line 2: Properties", "triples");
    EXPECT_FAIL("1\nProperties=species:S:1:pos:Q:3\nH 0 0 0\n", ST_ERR_PARSE, "type of 'pos': expected S, R, I or L, got 'Q'", NULL);
    EXPECT_FAIL("1\nProperties=species:S:1:pos:R:x\nH 0 0 0\n", ST_ERR_PARSE, "column count of 'pos'", NULL);
    EXPECT_FAIL("1\nProperties=species:S:1:pos:R:2\nH 0 0\n", ST_ERR_PARSE, "'pos' must be pos:R:3", NULL);
    EXPECT_FAIL("1\nProperties=species:S:1:forces:R:3\nH 0 0 0\n", ST_ERR_PARSE, "no 'pos' column", NULL);
    EXPECT_FAIL("1\nProperties=pos:R:3\n0 0 0\n", ST_ERR_PARSE, "no 'species' column", NULL);
    EXPECT_FAIL("1\nProperties=species:S:1:pos:R:3:pos:R:3\nH 0 0 0 0 0 0\n", ST_ERR_PARSE, "given twice", NULL);
    EXPECT_FAIL("1\nLattice=\"1 0 0 0 1 0 0 0\"\nH 0 0 0\n", ST_ERR_PARSE, "line 2: Lattice: expected 9 numbers, got 8", NULL);
    EXPECT_FAIL("1\nLattice=\"1 0 0 0 1 0 0 0 nan\"\nH 0 0 0\n", ST_ERR_PARSE, "Lattice: value 9", NULL);
    EXPECT_FAIL("1\npbc=\"T T\"\nH 0 0 0\n", ST_ERR_PARSE, "line 2: pbc", NULL);
    EXPECT_FAIL("1\nstress=\"1 2 3 4 5\"\nH 0 0 0\n", ST_ERR_PARSE, "line 2: stress: expected 9 numbers", NULL);
    EXPECT_FAIL("1\nenergy=abc\nH 0 0 0\n", ST_ERR_PARSE, "line 2: energy: expected a number, got 'abc'", NULL);
    EXPECT_FAIL("1\nenergy=1e999\nH 0 0 0\n", ST_ERR_PARSE, "line 2: energy: number out of range", NULL);
    snprintf(buf, sizeof buf, "1\n%s \"\" x=1\nH 0 0 0\n", props);    /* found by fuzzing */
    EXPECT_FAIL(buf, ST_ERR_PARSE, "line 2: comment line: empty key", NULL);
    snprintf(buf, sizeof buf, "1\n%s =5\nH 0 0 0\n", props);
    EXPECT_FAIL(buf, ST_ERR_PARSE, "line 2: comment line: '=' without a key", NULL);
    snprintf(buf, sizeof buf, "1\n%s name=\"unterminated\nH 0 0 0\n", props);
    EXPECT_FAIL(buf, ST_ERR_PARSE, "line 2: comment line: unterminated \" quote", NULL);
    /* binary data: NUL bytes are refused by the line reader; other bytes fail as text */
    {
        const char bin[] = "1\nx\nH 0\0 0 0\n";
        st_ctx *ctx = st_ctx_create();
        st_reader *r;
        st_atoms *a = NULL;
        CHECK_OK(ctx, st_reader_open_string(ctx, bin, sizeof bin - 1, "extxyz", "t.xyz", &r));
        CHECK(st_reader_next(ctx, r, &a) == ST_ERR_PARSE && a == NULL);
        CHECK(strstr(st_ctx_message(ctx), "line 3: binary data") != NULL);
        st_reader_close(r);
        st_ctx_destroy(ctx);
    }
    EXPECT_FAIL("\x89PNG\r\n\x1a\n\xff\xfe", ST_ERR_PARSE, "line 1: atom count", NULL);
}

/* Deterministic mutations of a valid file: every result is a frame or a clean error naming the
 * file; none may crash or hang (run under `make asan` to catch memory errors). */
TEST(mutations)
{
    const char *seed =
        "2\nLattice=\"3 0 0 0 3 0 0 0 3\" Properties=species:S:1:pos:R:3:forces:R:3:t:I:1 "
        "energy=-1.5 s=\"a b\" v=\"1 2 3\" j=\"_JSON [[1,2],[3,4]]\" pbc=\"T T F\"\n"
        "Cu 0 0 0 1 2 3 4\nAu 1.5 1.5 1.5 -1 -2 -3 5\n";
    size_t n = strlen(seed);
    char *buf = malloc(n + 64);
    uint64_t x = 88172645463325252ull;
    int ok_frames = 0, errors = 0, bad_messages = 0;
    st_ctx *ctx = st_ctx_create();
    const char alphabet[] = "\"'{}[]=:\\ \n0123456789.eE+-TFxyz_JSON";
    for (int it = 0; it < 4000; it++) {
        memcpy(buf, seed, n + 1);
        size_t len = n;
        int edits = 1 + it % 4;
        for (int e = 0; e < edits; e++) {
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
        int rc = read_all_string(ctx, buf, "extxyz", &f, &nf);
        if (rc) {
            errors++;
            if (strncmp(st_ctx_message(ctx), "t.xyz: ", 7)) bad_messages++;
        } else {
            ok_frames += nf;
        }
        free_frames(f, nf);
    }
    CHECK(errors > 100 && ok_frames > 100);   /* both paths were exercised */
    CHECK_MSG(bad_messages == 0, "%d error messages did not name the file", bad_messages);
    free(buf);
    st_ctx_destroy(ctx);
}

/* ---------------------------------------------------------------- writing */
static st_atoms *rich_frame(void)
{
    st_ctx *ctx = st_ctx_create();
    st_atoms *a = st_atoms_create(4);
    int32_t *Z = st_atoms_numbers(a);
    Z[0] = 29, Z[1] = 79, Z[2] = 0, Z[3] = 1;
    double *p = st_atoms_positions(a);
    const double vals[12] = {0.1, -0.0, 1e-310, 3.141592653589793, 1e300, -2.5,
                             1.0 / 3.0, 2.0 / 3.0, 12345678.901234567, 5e-324, 0.30000000000000004, 7};
    memcpy(p, vals, sizeof vals);
    double *c = st_atoms_cell(a);
    c[0] = 5.43, c[3] = 1.0 / 7.0, c[4] = 5.43, c[8] = 10;
    st_atoms_pbc(a)[0] = st_atoms_pbc(a)[1] = 1;
    double *F = st_atoms_array_data(a, st_atoms_array_add(ctx, a, "forces", ST_KIND_REAL, 3));
    for (int i = 0; i < 12; i++) F[i] = vals[11 - i] * -1.5;
    int32_t *I = st_atoms_array_data(a, st_atoms_array_add(ctx, a, "tags", ST_KIND_INT, 2));
    for (int i = 0; i < 8; i++) I[i] = i * 1000003 - 4;
    int32_t *B = st_atoms_array_data(a, st_atoms_array_add(ctx, a, "move_mask", ST_KIND_BOOL, 3));
    for (int i = 0; i < 12; i++) B[i] = i % 3 == 1;
    int s = st_atoms_array_add(ctx, a, "label", ST_KIND_STRING, 1);
    const char *labels[4] = {"Cu1", "Au_site", "ghost", "T"};
    for (int i = 0; i < 4; i++) st_atoms_array_set_string(ctx, a, s, i, 0, labels[i]);
    double e = -1234.5678901234567, r1 = 2.0, v3[3] = {1, 2.5, -3}, v1[1] = {0.125};
    double m23[6] = {1, 2, 3, 4, 5, 6.5}, st[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    int64_t s3 = 3, s2 = 2, s1 = 1, s0 = 0, sm[2] = {2, 3}, s33[2] = {3, 3};
    int32_t iv[3] = {-1, 0, 7}, one = 42, t = 1, bv[2] = {1, 0}, b1 = 0;
    st_atoms_info_set_real(ctx, a, "energy", 0, NULL, &e);
    st_atoms_info_set_real(ctx, a, "whole", 0, NULL, &r1);           /* REAL that looks like int */
    st_atoms_info_set_real(ctx, a, "vec", 1, &s3, v3);
    st_atoms_info_set_real(ctx, a, "vec1", 1, &s1, v1);
    st_atoms_info_set_real(ctx, a, "empty", 1, &s0, v1);
    st_atoms_info_set_real(ctx, a, "mat", 2, sm, m23);
    st_atoms_info_set_real(ctx, a, "stress", 2, s33, st);           /* not symmetric on purpose */
    st_atoms_info_set_int(ctx, a, "ivec", ST_KIND_INT, 1, &s3, iv);
    st_atoms_info_set_int(ctx, a, "answer", ST_KIND_INT, 0, NULL, &one);
    st_atoms_info_set_int(ctx, a, "flag", ST_KIND_BOOL, 0, NULL, &t);
    st_atoms_info_set_int(ctx, a, "bvec", ST_KIND_BOOL, 1, &s2, bv);
    st_atoms_info_set_int(ctx, a, "bvec1", ST_KIND_BOOL, 1, &s1, &b1);
    const char *strings[][2] = {{"config_type", "md_bulk"}, {"num_like", "1.5"}, {"bool_like", "T"},
                                {"empty_str", ""}, {"spaced", "two  words "}, {"quote", "say \"hi\""},
                                {"nl", "line1\nline2"}, {"json_like", "_JSON [1, 2]"},
                                {"json_obj", "_JSON {\"a\": [1, \"x\"]}"}, {"back", "C:\\new\\x"},
                                {"eq", "a=b"}, {"brackets", "[x]{y}"}, {"vec_like", "1 2 3"},
                                {"nan_like", "nan"}, {"ctrl", "tab\there\x01"}, {"utf8", "Å ε"},
                                {"quoted key ok", "v"}};
    for (size_t k = 0; k < sizeof strings / sizeof *strings; k++)
        st_atoms_info_set_string(ctx, a, strings[k][0], strings[k][1]);
    st_ctx_destroy(ctx);
    return a;
}

TEST(write_read_bit_exact)
{
    st_ctx *ctx = st_ctx_create();
    st_atoms *f[3];
    f[0] = rich_frame();
    f[1] = st_atoms_create(0);                /* an empty frame between */
    f[2] = rich_frame();
    st_atoms_positions(f[2])[0] = -7.75;
    const char *path = tmp_path("rich.xyz");
    CHECK_OK(ctx, write_frames(ctx, path, NULL, f, 3));
    st_atoms **g;
    int ng;
    CHECK_OK(ctx, read_all_file(ctx, path, &g, &ng));
    CHECK(ng == 3);
    if (ng == 3) {
        /* the 1-element BOOL vector and the 2x3 REAL matrix survive through _JSON */
        for (int i = 0; i < 3; i++) CHECK_MSG(frames_identical(f[i], g[i]), "frame %d differs", i);
        /* and a second round trip writes the same bytes */
        const char *path2 = tmp_path("rich2.xyz");
        CHECK_OK(ctx, write_frames(ctx, path2, "extxyz", g, ng));
        FILE *a = fopen(path, "rb"), *b = fopen(path2, "rb");
        int same = a && b;
        while (same) {
            int ca = getc(a), cb = getc(b);
            if (ca != cb) same = 0;
            if (ca == EOF) break;
        }
        if (a) fclose(a);
        if (b) fclose(b);
        CHECK(same);
        remove(path2);
    }
    /* the text is ASE-style */
    FILE *fp = fopen(path, "r");
    char line1[64], line2[4096];
    CHECK(fp && fgets(line1, sizeof line1, fp) && fgets(line2, sizeof line2, fp));
    if (fp) fclose(fp);
    CHECK(!strcmp(line1, "4\n"));
    CHECK(!strncmp(line2, "Lattice=\"5.43 0.0 0.0 0.14285714285714285 5.43 0.0 0.0 0.0 10.0\" "
                          "Properties=species:S:1:pos:R:3:forces:R:3:tags:I:2:move_mask:L:3:label:S:1 ", 130));
    CHECK(strstr(line2, " stress=\"1.0 4.0 7.0 2.0 5.0 8.0 3.0 6.0 9.0\" ") != NULL);   /* Fortran order */
    CHECK(strstr(line2, " num_like=\"_JSON \\\"1.5\\\"\" ") != NULL);
    CHECK(strstr(line2, " config_type=md_bulk ") != NULL);
    CHECK(strstr(line2, " whole=2.0 ") != NULL);
    CHECK(strstr(line2, " pbc=\"T T F\"\n") != NULL);
    free_frames(g, ng);
    for (int i = 0; i < 3; i++) st_atoms_destroy(f[i]);
    remove(path);
    st_ctx_destroy(ctx);
}

TEST(write_errors)
{
    st_ctx *ctx = st_ctx_create();
    const char *path = tmp_path("bad.xyz");
    st_atoms *a;
    /* per-atom array named like a built-in column */
    a = rich_frame();
    st_atoms_array_add(ctx, a, "pos", ST_KIND_REAL, 3);
    CHECK(write_frames(ctx, path, "extxyz", &a, 1) == ST_ERR_ARG && strstr(st_ctx_message(ctx), "'pos' collides"));
    st_atoms_destroy(a);
    a = rich_frame();
    st_atoms_array_add(ctx, a, "a:b", ST_KIND_REAL, 1);
    CHECK(write_frames(ctx, path, "extxyz", &a, 1) == ST_ERR_ARG && strstr(st_ctx_message(ctx), "'a:b'"));
    st_atoms_destroy(a);
    a = rich_frame();
    st_atoms_info_set_string(ctx, a, "pbc", "T");
    CHECK(write_frames(ctx, path, "extxyz", &a, 1) == ST_ERR_ARG && strstr(st_ctx_message(ctx), "'pbc' is reserved"));
    st_atoms_destroy(a);
    a = rich_frame();
    st_atoms_positions(a)[4] = NAN;
    CHECK(write_frames(ctx, path, "extxyz", &a, 1) == ST_ERR_NUMERIC && strstr(st_ctx_message(ctx), "atom 1"));
    st_atoms_destroy(a);
    a = rich_frame();
    st_atoms_array_set_string(ctx, a, st_atoms_array_find(a, "label"), 2, 0, "has space");
    CHECK(write_frames(ctx, path, "extxyz", &a, 1) == ST_ERR_ARG && strstr(st_ctx_message(ctx), "'label' row 2"));
    st_atoms_destroy(a);
    a = rich_frame();
    st_atoms_numbers(a)[3] = 200;
    CHECK(write_frames(ctx, path, "extxyz", &a, 1) == ST_ERR_ARG && strstr(st_ctx_message(ctx), "atomic number 200"));
    st_atoms_destroy(a);
    /* a failed write leaves no file behind */
    struct stat sb;
    CHECK(stat(path, &sb) != 0);
    st_ctx_destroy(ctx);
}

/* ---------------------------------------------------------------- real data */
/* Frame and atom counts were obtained independently of this code with awk over the count lines
 * (`awk '{n=$1; fr++; at+=n; skip n+1 lines}'`), and agree with each folder's README.md.  The
 * first/last energies and the last atom's symbol, z and last force component were copied from
 * the text with awk/tail.  NAN = not present. */
static const struct {
    const char *file;
    int frames;
    long atoms;
    double e_first, e_last;
    const char *last_sym;
    double last_z, last_fz;
} datasets[] = {
    {"3bpa/iso_atoms.xyz", 4, 4, -1029.4889999855063, -2041.9816003861047, "O", 0.00000000, NAN},
    {"3bpa/train_300K.xyz", 500, 13500, -17660.461737861464, -17660.432087619458, "H", -0.34460159, 0.03801297},
    {"3bpa/train_mixedT.xyz", 500, 13500, -17660.321436367645, -17657.825834901647, "H", -3.43531219, 1.66131209},
    {"acac/isolated_atoms.xyz", 3, 3, -13.568422178253735, -2037.796869412825, "O", 0.00000000, NAN},
    {"acac/test_H_transfer.xyz", 15, 225, -9392.075934260127, -9392.076011342118, "H", 0.58199771, NAN},
    {"acac/test_MD_300K.xyz", 650, 9750, -9391.254099941396, -9391.351677360259, "H", 1.92775454, 0.09358572},
    {"acac/test_MD_600K.xyz", 650, 9750, -9390.786398197868, -9391.394728700403, "H", 1.49087337, 0.51128427},
    {"acac/test_dihedral.xyz", 45, 675, -9391.927102388827, -9391.143382199763, "H", 1.04666466, NAN},
    {"acac/train_300K.xyz", 500, 7500, -9391.45554428476, -9391.456196487641, "H", 0.28875618, -0.08610791},
    {"acac/train_600K.xyz", 500, 7500, -9390.791202754173, -9390.826722276006, "H", 0.49255619, 0.52079206},
    {"aspirin_ccsd_subset/aspirin.xyz", 15, 315, -405681.6, -405679.38, "H", 2.44712234, -41.55041504},
    {"ethanol_botnet/isolated_atoms.xyz", 4, 4, -13.568422383046626, -1479.0665594928669, "N", 0.00000000, NAN},
    {"ethanol_botnet/test_H_removal.xyz", 60, 540, -4205.403516430553, -4205.616283745715, "H", 5.63900242, NAN},
    {"ethanol_botnet/test_MD.xyz", 1000, 9000, -4209.395215196984, -4209.6058531877225, "H", 1.16733251, 1.76102983},
    {"ethanol_botnet/test_dimers.xyz", 429, 858, -22.24381190594901, -4077.0672274285735, "O", 0.00000000, NAN},
    {"ethanol_botnet/test_eth_meth.xyz", 1145, 9870, -3142.2054267582866, -4209.6058531877225, "H", 1.16733251, 1.76102983},
    {"ethanol_botnet/test_norm_mode_3005.xyz", 18, 162, -4202.711345779505, -4204.109403707703, "H", 1.11645683, NAN},
    {"ethanol_botnet/test_norm_mode_874.xyz", 37, 333, -4205.103658966119, -4204.802490657492, "H", 1.19983641, NAN},
    {"ethanol_botnet/train.xyz", 1000, 9000, -4209.4657843064815, -4209.592337303737, "H", 0.36753388, -0.05985133},
    {"ethanol_botnet/train_eth_meth.xyz", 1300, 10800, -3142.2563665078364, -4209.592337303737, "H", 0.36753388, -0.05985133},
    {"quests_ref/cu_1k.xyz", 1, 1000, NAN, NAN, "Cu", 32.42866559, NAN},
    {"quests_ref/cu_cluster_r8_s005_seed2.xyz", 1, 177, NAN, NAN, "Cu", 12.58892065, NAN},
    {"quests_ref/cu_fcc_3x3x3_s008_seed3_2frames.xyz", 2, 216, NAN, NAN, "Cu", 7.18481534, NAN},
    {"quests_ref/cu_fcc_4x4x4.xyz", 1, 256, NAN, NAN, "Cu", 10.83000000, NAN},
    {"quests_ref/cu_fcc_4x4x4_s005_seed0.xyz", 1, 256, NAN, NAN, "Cu", 10.82013600, NAN},
    {"quests_ref/cu_fcc_4x4x4_s010_seed1.xyz", 1, 256, NAN, NAN, "Cu", 10.99586636, NAN},
    {"w14_subset/w-14-subset.xyz", 15, 1920, -1431.629494590219, -1430.061068724812, "W", 11.15326135, -0.06807795},
};

TEST(shared_datasets)
{
    if (!SHARED("w14_subset/w-14-subset.xyz")) SKIP("../shared/data not found (set STRATA_SHARED)");
    st_ctx *ctx = st_ctx_create();
    for (size_t d = 0; d < sizeof datasets / sizeof *datasets; d++) {
        const char *path = SHARED(datasets[d].file);
        CHECK_MSG(path != NULL, "%s missing", datasets[d].file);
        if (!path) continue;
        st_atoms **f;
        int nf;
        int rc = read_all_file(ctx, path, &f, &nf);
        CHECK_MSG(rc == 0, "%s: %s", datasets[d].file, st_ctx_message(ctx));
        long atoms = 0;
        for (int i = 0; i < nf; i++) atoms += (long)st_atoms_count(f[i]);
        CHECK_MSG(nf == datasets[d].frames && atoms == datasets[d].atoms, "%s: %d frames, %ld atoms",
                  datasets[d].file, nf, atoms);
        if (nf != datasets[d].frames || nf == 0) {
            free_frames(f, nf);
            continue;
        }
        st_atoms *first = f[0], *last = f[nf - 1];
        const double *e0 = info_real(first, "energy", 0, 0), *e1 = info_real(last, "energy", 0, 0);
        if (isnan(datasets[d].e_first)) {
            CHECK_MSG(!e0, "%s: unexpected energy", datasets[d].file);
        } else {
            CHECK_MSG(e0 && *e0 == datasets[d].e_first && e1 && *e1 == datasets[d].e_last,
                      "%s: energies", datasets[d].file);
        }
        int64_t n = st_atoms_count(last);
        CHECK_MSG(st_atoms_numbers(last)[n - 1] == st_element_number(datasets[d].last_sym) &&
                  st_atoms_positions(last)[3 * n - 1] == datasets[d].last_z, "%s: last atom", datasets[d].file);
        int fi = st_atoms_array_find(last, "forces");
        if (isnan(datasets[d].last_fz)) {
            CHECK_MSG(fi < 0, "%s: unexpected forces", datasets[d].file);
        } else {
            CHECK_MSG(fi >= 0 && ((double *)st_atoms_array_data(last, fi))[3 * n - 1] == datasets[d].last_fz,
                      "%s: last force", datasets[d].file);
        }
        /* write, read back, compare bit for bit */
        const char *tmp = tmp_path("roundtrip.xyz");
        CHECK_OK(ctx, write_frames(ctx, tmp, "extxyz", f, nf));
        st_atoms **g;
        int ng;
        CHECK_OK(ctx, read_all_file(ctx, tmp, &g, &ng));
        int same = ng == nf;
        for (int i = 0; same && i < nf; i++) same = frames_identical(f[i], g[i]);
        CHECK_MSG(same, "%s: write->read is not bit-identical", datasets[d].file);
        free_frames(g, ng);
        remove(tmp);
        free_frames(f, nf);
    }
    /* spot values in the middle of files, read from the text by hand */
    st_atoms **f;
    int nf;
    CHECK_OK(ctx, read_all_file(ctx, SHARED("w14_subset/w-14-subset.xyz"), &f, &nf));
    if (nf == 15) {
        const double *p = st_atoms_positions(f[0]), *c = st_atoms_cell(f[0]);
        const double *F = st_atoms_array_data(f[0], st_atoms_array_find(f[0], "forces"));
        CHECK(p[0] == 0.02630432 && p[1] == -0.01504028 && p[2] == 0.02768572);
        CHECK(F[0] == -0.47425815 && F[1] == 0.15455256 && F[2] == -0.33990876);
        CHECK(c[0] == 12.72199597962937 && c[4] == 12.72199597962937 && c[8] == 12.72199597962937 && c[1] == 0);
        CHECK(st_atoms_pbc(f[0])[0] && st_atoms_pbc(f[0])[1] && st_atoms_pbc(f[0])[2]);
        CHECK(info_str(f[0], "config_type") && !strcmp(info_str(f[0], "config_type"), "md_bulk"));
        /* our writer reproduces ASE's comment line for this file byte for byte */
        const char *tmp = tmp_path("w14.xyz");
        CHECK_OK(ctx, write_frames(ctx, tmp, "extxyz", f, 1));
        FILE *a = fopen(tmp, "r"), *b = fopen(SHARED("w14_subset/w-14-subset.xyz"), "r");
        char la[2][1024], lb[2][1024];
        CHECK(a && b && fgets(la[0], 1024, a) && fgets(la[1], 1024, a) && fgets(lb[0], 1024, b) &&
              fgets(lb[1], 1024, b));
        CHECK(!strcmp(la[1], lb[1]));
        if (a) fclose(a);
        if (b) fclose(b);
        remove(tmp);
    }
    free_frames(f, nf);
    CHECK_OK(ctx, read_all_file(ctx, SHARED("3bpa/train_300K.xyz"), &f, &nf));
    if (nf == 500) {
        const double *dh = info_real(f[0], "dihedrals", 1, 3);   /* from _JSON [209.44, 80.54, 59.96] */
        CHECK(dh && dh[0] == 209.44 && dh[1] == 80.54 && dh[2] == 59.96);
        CHECK(!st_atoms_pbc(f[0])[0] && st_atoms_cell(f[0])[0] == 50.0);
    }
    free_frames(f, nf);
    CHECK_OK(ctx, read_all_file(ctx, SHARED("ethanol_botnet/test_dimers.xyz"), &f, &nf));
    if (nf == 429) {
        CHECK(info_str(f[0], "config_type") && !strcmp(info_str(f[0], "config_type"), "HH"));
        CHECK(info_real(f[0], "distance", 0, 0) && *info_real(f[0], "distance", 0, 0) == 0.35);
        CHECK(st_atoms_positions(f[0])[3] == 0.35);
    }
    free_frames(f, nf);
    st_ctx_destroy(ctx);
}

int main(void)
{
    RUN(elements);
    RUN(ase_comment_line);
    RUN(plain_xyz_and_streaming);
    RUN(error_paths);
    RUN(mutations);
    RUN(write_read_bit_exact);
    RUN(write_errors);
    RUN(shared_datasets);
    if (check_tmpdir[0]) rmdir(check_tmpdir);
    return DONE();
}
