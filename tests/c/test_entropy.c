/* Tests for csrc/entropy: kernel sums, H, D, dH, overlap, frames, bandwidth rule.
 *
 * Independent checks: QUESTS reference values (../shared/data/quests_ref/reference.json, read with
 * a tiny scanner; descriptor matrices read from the .npy files with a tiny reader written here),
 * a brute-force O(N^2) sum with exact differences and libm exp, analytic cases (identical points,
 * far-apart points, N = 1, two points at a known distance), invariances (row permutation,
 * translation, row stride, thread count), agreement of DENSE / PRUNED / APPROX within their
 * stated bounds, and error paths (status + message naming the function, set, row, column). */
#include "strata.h"
#include "check.h"
#include "../../csrc/entropy/entropy_impl.h"
#include <float.h>
#include <pthread.h>
#include <stdint.h>

/* ---------------------------------------------------------------------------------------------
 * helpers */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static double urand(void)   /* splitmix64 -> [0, 1) */
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-53;
}
static double nrand(void)   /* Box-Muller */
{
    double u = urand(), v = urand();
    if (u < 1e-300) u = 1e-300;
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* Clustered data that looks like descriptor sets: c centres spread by `spread`, points around
 * them with per-cluster noise in [noise/3, noise]; a common offset like the QUESTS x1 block. */
static double *make_clustered(int64_t n, int d, int c, double spread, double noise)
{
    double *C = malloc((size_t)c * d * sizeof *C), *X = malloc((size_t)n * d * sizeof *X);
    double *w = malloc((size_t)c * sizeof *w);
    for (int j = 0; j < c; j++) {
        for (int k = 0; k < d; k++) C[j * d + k] = 0.2 / (1 + k % 7) + spread * nrand();
        w[j] = noise * (1.0 / 3 + 2.0 / 3 * urand());
    }
    for (int64_t i = 0; i < n; i++) {
        int j = (int)(urand() * c);
        for (int k = 0; k < d; k++) X[i * d + k] = C[j * d + k] + w[j] * nrand();
    }
    free(C);
    free(w);
    return X;
}

static double *make_uniform(int64_t n, int d, double scale)
{
    double *X = malloc((size_t)n * d * sizeof *X);
    for (int64_t i = 0; i < n * d; i++) X[i] = scale * urand();
    return X;
}

/* Brute force: ln sum_j exp(-|q-x_j|^2 / 2h^2) with exact differences, libm exp, shifted by the
 * nearest squared distance (so far queries stay finite) and Kahan-summed. */
static void brute_logsums(const double *X, int64_t n, const double *Y, int64_t m, int d,
                          const double *h, int nh, double *out)
{
    double *s = malloc((size_t)n * sizeof *s);
    const int64_t cnt = Y ? m : n;
    for (int64_t i = 0; i < cnt; i++) {
        const double *q = Y ? Y + i * d : X + i * d;
        double smin = INFINITY;
        for (int64_t j = 0; j < n; j++) {
            double e = 0;
            for (int k = 0; k < d; k++) {
                double df = q[k] - X[j * d + k];
                e += df * df;
            }
            s[j] = e;
            if (e < smin) smin = e;
        }
        for (int k = 0; k < nh; k++) {
            double a = 1 / (2 * h[k] * h[k]), sum = 0, c = 0;
            for (int64_t j = 0; j < n; j++) {
                double y = exp(-(s[j] - smin) * a) - c, t = sum + y;
                c = (t - sum) - y;
                sum = t;
            }
            out[(size_t)k * cnt + i] = log(sum) - smin * a;
        }
    }
    free(s);
}

static double max_abs_diff(const double *a, const double *b, int64_t n)
{
    double m = 0;
    for (int64_t i = 0; i < n; i++) {
        double e = fabs(a[i] - b[i]);
        if (!(e <= m)) m = e;   /* NaN propagates as a failure */
    }
    return m;
}

/* Tiny .npy reader: magic, version, header dict ('descr': '<f8', 'fortran_order': False,
 * 'shape': (N, d)), then little-endian float64 row-major data. */
static double *read_npy(const char *path, int64_t *rows, int64_t *cols)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char pre[12];
    double *out = NULL;
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6)) goto done;
    size_t hlen = pre[8] | (size_t)pre[9] << 8;
    if (pre[6] >= 2) {
        if (fread(pre + 10, 1, 2, f) != 2) goto done;
        hlen |= (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
    }
    char *hdr = calloc(hlen + 1, 1);
    if (fread(hdr, 1, hlen, f) != hlen || !strstr(hdr, "'<f8'") || !strstr(hdr, "False")) {
        free(hdr);
        goto done;
    }
    char *sh = strstr(hdr, "'shape':");
    long long r = 0, c = 0;
    if (!sh || sscanf(strchr(sh, '(') + 1, "%lld , %lld", &r, &c) != 2) { free(hdr); goto done; }
    free(hdr);
    out = malloc((size_t)r * c * sizeof *out);
    unsigned char b[8];
    for (long long i = 0; i < r * c; i++) {
        if (fread(b, 1, 8, f) != 8) { free(out); out = NULL; goto done; }
        uint64_t u = 0;
        for (int k = 7; k >= 0; k--) u = u << 8 | b[k];
        memcpy(&out[i], &u, 8);
    }
    *rows = r;
    *cols = c;
done:
    fclose(f);
    return out;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (fread(s, 1, (size_t)n, f) != (size_t)n) { free(s); fclose(f); return NULL; }
    s[n] = 0;
    fclose(f);
    return s;
}

/* Tiny JSON scanner: the number after "key": searching from `from`; NaN if absent. */
static double json_num(const char *from, const char *key, const char **after)
{
    char pat[256];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = from ? strstr(from, pat) : NULL;
    if (!p) return NAN;
    p += strlen(pat);
    char *end;
    double v = strtod(p, &end);
    if (after) *after = end;
    return end == p ? NAN : v;
}
static const char *json_at(const char *from, const char *key)
{
    char pat[256];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    return from ? strstr(from, pat) : NULL;
}

static const double HS[6] = {0.005, 0.01, 0.015, 0.03, 0.05, 0.1};
static const char *HK[6] = {"0.005", "0.01", "0.015", "0.03", "0.05", "0.1"};

/* ---------------------------------------------------------------------------------------------
 * tests */

TEST(exp_kernel_accuracy)
{
    /* our vectorised exp against libm over [-708, 600], relative error in ulps */
    enum { N = 200001 };
    double *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
    for (int i = 0; i < N; i++) x[i] = -708.0 + 1308.0 * i / (N - 1);
    x[0] = -708.0;
    x[1] = 0.0;
    x[2] = -1e-300;
    ent_exp_array(x, y, N);
    double worst = 0;
    for (int i = 0; i < N; i++) {
        double r = exp(x[i]);
        double e = fabs(y[i] - r) / (r * DBL_EPSILON);
        if (e > worst) worst = e;
    }
    CHECK_MSG(worst <= 2.0, "exp max error %.2f ulp", worst);
    printf("# vector exp: max error %.2f ulp over [-708, 600]\n", worst);
    CHECK(y[1] == 1.0);
    double lo[3] = {-708.5, -1000.0, -INFINITY}, out[3];
    ent_exp_array(lo, out, 3);
    CHECK(out[0] == 0.0 && out[1] == 0.0 && out[2] == 0.0);
#if ENT_HAVE_F32
    /* the float32 exponential of ST_ENTROPY_FAST: within ENT_EXP32_REL's share (2 ulp) */
    float *xf = malloc(N * sizeof *xf), *yf = malloc(N * sizeof *yf);
    for (int i = 0; i < N; i++) xf[i] = (float)(-87.0 + 167.0 * i / (N - 1));
    ent_exp32_array(xf, yf, N);
    double w32 = 0;
    for (int i = 0; i < N; i++) {
        double r = exp((double)xf[i]);
        w32 = fmax(w32, fabs(yf[i] - r) / (r * FLT_EPSILON));
    }
    CHECK_MSG(w32 <= 2.0, "exp32 max error %.2f ulp", w32);
    printf("# float32 exp: max error %.2f ulp over [-87, 80]\n", w32);
    free(xf);
    free(yf);
#endif
    free(x);
    free(y);
}

TEST(bandwidth_rule)
{
    st_ctx *ctx = st_ctx_create();
    double h;
    /* limits of h(V) = 0.0897141 exp(-0.5 (V/10.896)^2) + 0.0119417 */
    CHECK_OK(ctx, st_entropy_bandwidth(ctx, 1e-9, &h));
    CHECK_NEAR(h, 0.0897141 + 0.0119417, 1e-15);
    CHECK_OK(ctx, st_entropy_bandwidth(ctx, 1e4, &h));
    CHECK_NEAR(h, 0.0119417, 1e-15);
    CHECK_OK(ctx, st_entropy_bandwidth(ctx, 10.896, &h));   /* V = sigma: exp(-1/2) */
    CHECK_NEAR(h, 0.0897141 * 0.60653065971263342 + 0.0119417, 1e-15);
    double h1, h2;
    CHECK_OK(ctx, st_entropy_bandwidth(ctx, 11.0, &h1));
    CHECK_OK(ctx, st_entropy_bandwidth(ctx, 12.0, &h2));
    CHECK(h2 < h1);
    CHECK(st_entropy_bandwidth(ctx, 0.0, &h) == ST_ERR_ARG);
    CHECK(strstr(st_ctx_message(ctx), "volume") != NULL);
    CHECK(st_entropy_bandwidth(ctx, NAN, &h) == ST_ERR_ARG);
    CHECK(st_entropy_bandwidth(ctx, -3, &h) == ST_ERR_ARG);
    CHECK(st_entropy_bandwidth(ctx, 10, NULL) == ST_ERR_ARG);
    st_ctx_destroy(ctx);
}

/* H and D of the QUESTS reference descriptor matrices, every method, all six bandwidths. */
TEST(quests_reference_H_D)
{
    const char *jp = SHARED("quests_ref/reference.json");
    if (!jp) SKIP("../shared/data/quests_ref/reference.json not found");
    char *js = slurp(jp);
    static const char *files[] = {"cu_fcc_4x4x4_s005_seed0", "cu_fcc_4x4x4_s010_seed1",
                                  "cu_cluster_r8_s005_seed2", "cu_fcc_3x3x3_s008_seed3_2frames",
                                  "cu_1k"};
    st_ctx *ctx = st_ctx_create();
    double worst = 0;
    int nfiles = 0;
    for (int f = 0; f < 5; f++) {
        char rel[256], key[256];
        snprintf(rel, sizeof rel, "quests_ref/%s.quests_x.npy", files[f]);
        snprintf(key, sizeof key, "%s.xyz", files[f]);
        const char *np = SHARED(rel);
        int64_t n, d;
        double *X = np ? read_npy(np, &n, &d) : NULL;
        CHECK_MSG(X != NULL, "cannot read %s", rel);
        if (!X) continue;
        const char *blk = json_at(js, key);
        CHECK_MSG(blk != NULL, "reference.json has no %s", key);
        CHECK(d == 63 && n == (int64_t)json_num(blk, "n_envs", NULL));
        /* sanity of our reader against the stored row 0 and x_sum */
        double xs = 0;
        for (int64_t i = 0; i < n * d; i++) xs += X[i];
        CHECK_NEAR(xs, json_num(blk, "x_sum", NULL), 1e-9);
        const char *row0 = json_at(blk, "x_row0");
        CHECK(row0 && fabs(strtod(strchr(row0, '[') + 1, NULL) - X[0]) == 0);
        double refH[6], refD[6];
        const char *eb = json_at(blk, "entropy"), *db = json_at(blk, "diversity");
        for (int k = 0; k < 6; k++) {
            refH[k] = json_num(eb, HK[k], NULL);
            refD[k] = json_num(db, HK[k], NULL);
        }
        for (int meth = ST_ENTROPY_DENSE; meth <= ST_ENTROPY_PRUNED; meth++) {
            st_entropy_opts o = {0};
            o.method = meth;
            o.leaf_size = 2 * ENT_NR;   /* small leaves: exercise the tree on 256 rows */
            double H[6], D[6];
            CHECK_OK(ctx, st_entropy_compute(ctx, X, n, d, 0, HS, 6, &o, H, D));
            for (int k = 0; k < 6; k++) {
                CHECK_NEAR(H[k], refH[k], 1e-10);
                CHECK_NEAR(D[k], refD[k], 1e-10);
                worst = fmax(worst, fmax(fabs(H[k] - refH[k]), fabs(D[k] - refD[k])));
            }
        }
        nfiles++;
        free(X);
    }
    printf("# QUESTS reference: %d files x 6 bandwidths x 2 methods, max |dH|,|dD| = %.2e\n",
           nfiles, worst);
    free(js);
    st_ctx_destroy(ctx);
}

/* dH statistics between the two noisy 4x4x4 files (reference.json). */
TEST(quests_reference_dH)
{
    const char *jp = SHARED("quests_ref/reference.json");
    const char *pa = SHARED("quests_ref/cu_fcc_4x4x4_s005_seed0.quests_x.npy");
    const char *pb = SHARED("quests_ref/cu_fcc_4x4x4_s010_seed1.quests_x.npy");
    if (!jp || !pa || !pb) SKIP("../shared/data/quests_ref not found");
    char *js = slurp(jp);
    int64_t na, nb_, d1, d2;
    double *A = read_npy(pa, &na, &d1), *B = read_npy(pb, &nb_, &d2);
    CHECK(A && B);
    if (!A || !B) { free(js); free(A); free(B); return; }
    st_ctx *ctx = st_ctx_create();
    double h = 0.015;
    /* FAST (float32): every dH within its stated bound of the exact one */
    {
        double ex[256], fa[256];
        st_entropy_opts o = {0};
        st_entropy_stats st;
        o.method = ST_ENTROPY_DENSE;
        CHECK_OK(ctx, st_entropy_delta(ctx, B, 256, 63, 0, A, 256, 63, 0, &h, 1, &o, ex));
        o.method = ST_ENTROPY_FAST;
        o.stats = &st;
        CHECK_OK(ctx, st_entropy_delta(ctx, B, 256, 63, 0, A, 256, 63, 0, &h, 1, &o, fa));
        double e = max_abs_diff(fa, ex, 256);
        CHECK_MSG(e <= st.error_bound, "FAST dH error %.3g > bound %.3g", e, st.error_bound);
        CHECK(st.error_bound < 1e-3);
        printf("# FAST (float32) dH on QUESTS Cu: max error %.2e, stated bound %.2e\n", e,
               st.error_bound);
    }
    struct { const char *key; double *Y, *X; } cases[2] = {
        {"dH(s010_seed1 | s005_seed0) h=0.015", B, A},
        {"dH(s005_seed0 | s010_seed1) h=0.015", A, B}};
    for (int c = 0; c < 2; c++) {
        const char *blk = json_at(js, cases[c].key);
        CHECK(blk != NULL);
        for (int meth = ST_ENTROPY_DENSE; meth <= ST_ENTROPY_PRUNED; meth++) {
            st_entropy_opts o = {0};
            o.method = meth;
            o.leaf_size = 2 * ENT_NR;
            double dH[256], ov;
            CHECK_OK(ctx, st_entropy_delta(ctx, cases[c].Y, 256, 63, 0, cases[c].X, 256, 63, 0,
                                           &h, 1, &o, dH));
            double mn = INFINITY, mx = -INFINITY, mean = 0;
            for (int i = 0; i < 256; i++) {
                mn = fmin(mn, dH[i]);
                mx = fmax(mx, dH[i]);
                mean += dH[i] / 256;
            }
            CHECK_NEAR(mn, json_num(blk, "min", NULL), 1e-9);
            CHECK_NEAR(mx, json_num(blk, "max", NULL), 1e-9);
            CHECK_NEAR(mean, json_num(blk, "mean", NULL), 1e-10);
            CHECK_OK(ctx, st_entropy_overlap(ctx, cases[c].Y, 256, 63, 0, cases[c].X, 256, 63, 0,
                                             &h, 1, &o, &ov));
            CHECK_NEAR(ov, json_num(blk, "overlap_lt_1e-5", NULL), 1e-15);
        }
    }
    free(A);
    free(B);
    free(js);
    st_ctx_destroy(ctx);
}

/* DENSE and PRUNED against brute force, self and cross, random and clustered, odd sizes. */
static void agree_case(int64_t n, int64_t m, int d, int clustered, const double *h, int nh,
                       int leaf, double *worst)
{
    st_ctx *ctx = st_ctx_create();
    double *X = clustered ? make_clustered(n, d, 7, 0.05, 0.01) : make_uniform(n, d, 0.05);
    double *Y = m ? (clustered ? make_clustered(m, d, 5, 0.05, 0.012) : make_uniform(m, d, 0.05))
                  : NULL;
    int64_t cnt = m ? m : n;
    double *ref = malloc((size_t)cnt * nh * sizeof *ref), *out = malloc((size_t)cnt * nh * 8);
    brute_logsums(X, n, Y, m, d, h, nh, ref);
    for (int meth = ST_ENTROPY_DENSE; meth <= ST_ENTROPY_PRUNED; meth++) {
        st_entropy_opts o = {0};
        st_entropy_stats st;
        o.method = meth;
        o.leaf_size = leaf;
        o.stats = &st;
        CHECK_OK(ctx, st_entropy_log_kernel_sums(ctx, X, n, d, 0, Y, m, d, 0, h, nh, &o, out));
        double e = max_abs_diff(out, ref, cnt * nh);
        CHECK_MSG(e <= 1e-10, "n=%lld m=%lld d=%d clustered=%d method=%d: max |dL| = %.3g",
                  (long long)n, (long long)m, d, clustered, meth, e);
        *worst = fmax(*worst, e);
        CHECK(st.method_used == meth);
        /* every pair is either computed or provably negligible */
        CHECK_NEAR(st.pairs_computed + st.pairs_neglected + st.pairs_approximated,
                   st.pairs_total, 0.5);
    }
    free(X);
    free(Y);
    free(ref);
    free(out);
    st_ctx_destroy(ctx);
}

TEST(dense_pruned_match_brute_force)
{
    double h3[3] = {0.01, 0.003, 0.03}, worst = 0;
    agree_case(1, 0, 5, 0, h3, 3, 0, &worst);
    agree_case(37, 0, 5, 0, h3, 3, 0, &worst);
    agree_case(300, 0, 63, 1, h3, 3, 0, &worst);
    agree_case(301, 0, 63, 1, h3, 3, 2 * ENT_NR, &worst);
    agree_case(513, 0, 17, 0, h3, 3, 2 * ENT_NR, &worst);
    agree_case(700, 0, 63, 1, HS, 6, 2 * ENT_NR, &worst);
    agree_case(200, 33, 63, 1, h3, 3, 2 * ENT_NR, &worst);
    agree_case(250, 1, 8, 0, h3, 3, 2 * ENT_NR, &worst);
    agree_case(33, 400, 63, 1, HS, 6, 2 * ENT_NR, &worst);
    agree_case(900, 650, 63, 1, HS, 6, 0, &worst);
    agree_case(900, 650, 3, 0, h3, 3, 2 * ENT_NR, &worst);
    printf("# dense/pruned vs brute force: max |d ln sum| = %.2e\n", worst);
}

/* Tight clusters (radius `radius`) with centres uniform in a cube of side `side`: most pairs are
 * far apart (pruning), some clusters are at moderate distance (APPROX estimates). */
static double *make_separated(int64_t n, int d, int c, double side, double radius)
{
    double *C = malloc((size_t)c * d * sizeof *C), *X = malloc((size_t)n * d * sizeof *X);
    for (int i = 0; i < c * d; i++) C[i] = 0.1 + side * urand();
    for (int64_t i = 0; i < n; i++) {
        int j = (int)(i % c);
        for (int k = 0; k < d; k++) X[i * d + k] = C[j * d + k] + radius * nrand();
    }
    free(C);
    return X;
}

TEST(pruning_and_approx_within_bounds)
{
    st_ctx *ctx = st_ctx_create();
    const int d = 12;
    const int64_t n = 3000, m = 1200;
    double h[2] = {0.01, 0.02};
    double *X = make_separated(n, d, 30, 0.15, 0.0003);
    double *Y = make_separated(m, d, 12, 0.15, 0.0004);
    double *ref = malloc((size_t)n * 2 * 8), *out = malloc((size_t)n * 2 * 8);
    double *refc = malloc((size_t)m * 2 * 8), *outc = malloc((size_t)m * 2 * 8);
    st_entropy_opts o = {0};
    st_entropy_stats st;
    o.stats = &st;
    o.method = ST_ENTROPY_DENSE;
    CHECK_OK(ctx, st_entropy_log_kernel_sums(ctx, X, n, d, 0, NULL, 0, d, 0, h, 2, &o, ref));
    CHECK_OK(ctx, st_entropy_log_kernel_sums(ctx, X, n, d, 0, Y, m, d, 0, h, 2, &o, refc));
    /* PRUNED at its default tol and at a loose one; APPROX at two tolerances */
    /* PRUNED at its default tol and at a loose one; APPROX at two tolerances; FAST (float32) */
    struct { int method; double tol; } cases[5] = {
        {ST_ENTROPY_PRUNED, 0}, {ST_ENTROPY_PRUNED, 1e-6}, {ST_ENTROPY_APPROX, 1e-3},
        {ST_ENTROPY_APPROX, 3e-2}, {ST_ENTROPY_FAST, 0}};
    for (int c = 0; c < 5; c++) {
        o.method = cases[c].method;
        o.tol = cases[c].tol;
        o.leaf_size = 2 * ENT_NR;
        double tol = o.tol ? o.tol : o.method == ST_ENTROPY_PRUNED ? 1e-14 : 1e-6;
        double bound = -log1p(-tol) + 1e-12;
        CHECK_OK(ctx, st_entropy_log_kernel_sums(ctx, X, n, d, 0, NULL, 0, d, 0, h, 2, &o, out));
        CHECK(st.error_bound >= -log1p(-tol));
        if (o.method == ST_ENTROPY_FAST) bound = st.error_bound + 1e-12;
        double e = max_abs_diff(out, ref, n * 2);
        CHECK_MSG(e <= bound, "self method %d tol %g: max |dL| = %.3g > bound %.3g",
                  o.method, tol, e, bound);
        /* the tree does prune here (FAST has leaves of two float32 panels: coarser) */
        CHECK(st.pairs_neglected > (o.method == ST_ENTROPY_FAST ? 0.1 : 0.3) * st.pairs_total);
        CHECK_NEAR(st.pairs_computed + st.pairs_neglected + st.pairs_approximated,
                   st.pairs_total, 0.5);
        if (c == 3) CHECK(st.pairs_approximated > 0);
        printf("# self  method %d tol %.0e: max |dL| %.2e (bound %.2e); computed %.1f%%, "
               "neglected %.1f%%, estimated %.1f%%\n", o.method, tol, e, bound,
               100 * st.pairs_computed / st.pairs_total, 100 * st.pairs_neglected / st.pairs_total,
               100 * st.pairs_approximated / st.pairs_total);
        CHECK_OK(ctx, st_entropy_log_kernel_sums(ctx, X, n, d, 0, Y, m, d, 0, h, 2, &o, outc));
        if (o.method == ST_ENTROPY_FAST) bound = st.error_bound + 1e-12;
        e = max_abs_diff(outc, refc, m * 2);
        CHECK_MSG(e <= bound, "cross method %d tol %g: max |dL| = %.3g > bound %.3g",
                  o.method, tol, e, bound);
        /* queries far from X: wider balls */
        CHECK(st.pairs_neglected > (o.method == ST_ENTROPY_FAST ? 0.05 : 0.1) * st.pairs_total);
        CHECK_NEAR(st.pairs_computed + st.pairs_neglected + st.pairs_approximated,
                   st.pairs_total, 0.5);
        if (c == 3) CHECK(st.pairs_approximated > 0);
        printf("# cross method %d tol %.0e: max |dL| %.2e (bound %.2e); computed %.1f%%, "
               "neglected %.1f%%, estimated %.1f%%\n", o.method, tol, e, bound,
               100 * st.pairs_computed / st.pairs_total, 100 * st.pairs_neglected / st.pairs_total,
               100 * st.pairs_approximated / st.pairs_total);
    }
    free(X); free(Y); free(ref); free(out); free(refc); free(outc);
    st_ctx_destroy(ctx);
}

TEST(analytic_cases)
{
    st_ctx *ctx = st_ctx_create();
    const int d = 7;
    double h[3] = {0.015, 0.005, 0.1}, H[3], D[3];
    for (int meth = ST_ENTROPY_DENSE; meth <= ST_ENTROPY_APPROX; meth++) {
        st_entropy_opts o = {0};
        o.method = meth;
        o.leaf_size = 2 * ENT_NR;
        /* all points identical: p_i = N, H = 0, D = ln(N / N) = 0 */
        int64_t n = 150;
        double *X = malloc((size_t)n * d * 8);
        for (int64_t i = 0; i < n * d; i++) X[i] = 0.3 + 0.01 * (double)(i % d);
        CHECK_OK(ctx, st_entropy_compute(ctx, X, n, d, 0, h, 3, &o, H, D));
        for (int k = 0; k < 3; k++) {
            CHECK_NEAR(H[k], 0.0, 1e-13);
            CHECK_NEAR(D[k], 0.0, 1e-13);
        }
        /* points very far apart (a grid with spacing 1000 h): p_i = 1, H = D = ln N */
        for (int64_t i = 0; i < n; i++)
            for (int k = 0; k < d; k++) X[i * d + k] = k == 0 ? 100.0 * (double)i : 0.5;
        CHECK_OK(ctx, st_entropy_compute(ctx, X, n, d, 0, h, 3, &o, H, D));
        for (int k = 0; k < 3; k++) {
            CHECK_NEAR(H[k], log((double)n), 1e-13);
            CHECK_NEAR(D[k], log((double)n), 1e-13);
        }
        /* N = 1: H = D = 0 */
        CHECK_OK(ctx, st_entropy_compute(ctx, X, 1, d, 0, h, 3, &o, H, D));
        CHECK(H[0] == 0.0 && D[0] == 0.0);
        /* two points at distance delta: p = 1 + K, H = ln 2 - ln(1 + K), D = ln(2 / (1 + K)) */
        double two[2 * 7] = {0};
        two[7] = 0.02;
        CHECK_OK(ctx, st_entropy_compute(ctx, two, 2, d, 0, h, 3, &o, H, D));
        for (int k = 0; k < 3; k++) {
            double K = exp(-0.02 * 0.02 / (2 * h[k] * h[k]));
            CHECK_NEAR(H[k], log(2.0) - log1p(K), 2e-16);
            CHECK_NEAR(D[k], log(2.0 / (1 + K)), 2e-16);
        }
        /* a query far from everything: dH = s_min / (2 h^2) exactly (QUESTS returns inf) */
        double y[7] = {0}, xr[2 * 7] = {0}, dH[3];
        y[0] = 1.0;
        xr[7] = 0.5;    /* second reference farther: distances 1 and sqrt(1.25) */
        xr[8] = 1.0;
        CHECK_OK(ctx, st_entropy_delta(ctx, y, 1, d, 0, xr, 2, d, 0, h, 3, &o, dH));
        for (int k = 0; k < 3; k++) {
            double a = 1 / (2 * h[k] * h[k]);
            CHECK_NEAR(dH[k], a - log1p(exp(-0.25 * a)), 1e-12 * a);
            CHECK(isfinite(dH[k]));
        }
        CHECK(dH[1] > 1e4);   /* h = 0.005: dH = 20000, far beyond exp underflow */
        free(X);
    }
    st_ctx_destroy(ctx);
}

/* Near duplicates in data with large norms and a sharp bandwidth: the expanded form alone would
 * be off by ~1e-10 here; recomputation must give K = exp(-eps^2/2h^2) to 1e-13. */
TEST(near_duplicates)
{
    st_ctx *ctx = st_ctx_create();
    const int d = 63;
    const int64_t n = 200;
    double *X = malloc((size_t)n * d * 8);
    for (int64_t i = 0; i < n; i += 2)
        for (int k = 0; k < d; k++) {
            X[i * d + k] = 5.0 * nrand();                    /* centred norm^2 ~ 1600 */
            X[(i + 1) * d + k] = X[i * d + k] + (k == 3 ? 1e-9 * (1 + i % 7) : 0);
        }
    double h = 0.005, L[200];
    for (int meth = ST_ENTROPY_DENSE; meth <= ST_ENTROPY_PRUNED; meth++) {
        st_entropy_opts o = {0};
        st_entropy_stats st;
        o.method = meth;
        o.stats = &st;
        CHECK_OK(ctx, st_entropy_log_kernel_sums(ctx, X, n, d, 0, NULL, 0, d, 0, &h, 1, &o, L));
        double worst = 0;
        for (int64_t i = 0; i < n; i++) {
            double e = 1e-9 * (1 + (i / 2 * 2) % 7);
            double K = exp(-e * e / (2 * h * h));
            worst = fmax(worst, fabs(L[i] - log1p(K)));
        }
        CHECK_MSG(worst <= 1e-13, "method %d: near-duplicate ln p off by %.3g", meth, worst);
        CHECK(st.pairs_recomputed >= n / 2);
    }
    free(X);
    st_ctx_destroy(ctx);
}

TEST(invariances)
{
    st_ctx *ctx = st_ctx_create();
    const int d = 63;
    const int64_t n = 700, m = 90;
    double *X = make_clustered(n, d, 6, 0.03, 0.01), *Y = make_clustered(m, d, 4, 0.03, 0.012);
    int64_t *perm = malloc((size_t)n * sizeof *perm);
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(urand() * (double)(i + 1)), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    double *XP = malloc((size_t)n * d * 8), *XT = malloc((size_t)n * d * 8);
    double *XS = malloc((size_t)n * (d + 5) * 8);
    for (int64_t i = 0; i < n; i++)
        for (int k = 0; k < d; k++) {
            XP[i * d + k] = X[perm[i] * d + k];
            XT[i * d + k] = X[i * d + k] + 10.0;          /* translation */
            XS[i * (d + 5) + k] = X[i * d + k];             /* row stride d + 5 */
        }
    double *YT = malloc((size_t)m * d * 8);
    for (int64_t i = 0; i < m * d; i++) YT[i] = Y[i] + 10.0;
    const int nt0 = st_get_num_threads();
    for (int meth = ST_ENTROPY_DENSE; meth <= ST_ENTROPY_PRUNED; meth++) {
        st_entropy_opts o = {0};
        o.method = meth;
        double H0[6], D0[6], H1[6], D1[6];
        CHECK_OK(ctx, st_entropy_compute(ctx, X, n, d, 0, HS, 6, &o, H0, D0));
        CHECK_OK(ctx, st_entropy_compute(ctx, XP, n, d, 0, HS, 6, &o, H1, D1));
        for (int k = 0; k < 6; k++) {
            CHECK_NEAR(H1[k], H0[k], 1e-12);
            CHECK_NEAR(D1[k], D0[k], 1e-12);
        }
        CHECK_OK(ctx, st_entropy_compute(ctx, XT, n, d, 0, HS, 6, &o, H1, D1));
        for (int k = 0; k < 6; k++) {
            CHECK_NEAR(H1[k], H0[k], 1e-10);
            CHECK_NEAR(D1[k], D0[k], 1e-10);
        }
        CHECK_OK(ctx, st_entropy_compute(ctx, XS, n, d, d + 5, HS, 6, &o, H1, D1));
        for (int k = 0; k < 6; k++) CHECK(H1[k] == H0[k] || fabs(H1[k] - H0[k]) < 1e-14);
        st_set_num_threads(1);
        CHECK_OK(ctx, st_entropy_compute(ctx, X, n, d, 0, HS, 6, &o, H1, D1));
        st_set_num_threads(nt0);
        for (int k = 0; k < 6; k++) {
            CHECK_NEAR(H1[k], H0[k], 1e-13);
            CHECK_NEAR(D1[k], D0[k], 1e-13);
        }
        /* dH: permuting the references changes nothing; translating both sets neither */
        double dh0[6 * 90], dh1[6 * 90];
        CHECK_OK(ctx, st_entropy_delta(ctx, Y, m, d, 0, X, n, d, 0, HS, 6, &o, dh0));
        CHECK_OK(ctx, st_entropy_delta(ctx, Y, m, d, 0, XP, n, d, 0, HS, 6, &o, dh1));
        CHECK(max_abs_diff(dh0, dh1, 6 * m) <= 1e-12);
        CHECK_OK(ctx, st_entropy_delta(ctx, YT, m, d, 0, XT, n, d, 0, HS, 6, &o, dh1));
        CHECK(max_abs_diff(dh0, dh1, 6 * m) <= 1e-9);
    }
    free(X); free(Y); free(XP); free(XT); free(XS); free(YT); free(perm);
    st_ctx_destroy(ctx);
}

TEST(overlap_cases)
{
    st_ctx *ctx = st_ctx_create();
    const int d = 10;
    double *X = make_uniform(200, d, 1.0), h = 0.01, ov;
    /* Y = rows of X: dH = -ln(1 + ...) <= 0 < eps, overlap 1 */
    CHECK_OK(ctx, st_entropy_overlap(ctx, X + 10 * d, 50, d, 0, X, 200, d, 0, &h, 1, NULL, &ov));
    CHECK(ov == 1.0);
    /* Y far from X: overlap 0; half near, half far: 1/2 */
    double *Y = malloc(100 * d * 8);
    for (int i = 0; i < 100 * d; i++) Y[i] = i < 50 * d ? X[i] : X[i] + 5.0;
    CHECK_OK(ctx, st_entropy_overlap(ctx, Y + 50 * d, 50, d, 0, X, 200, d, 0, &h, 1, NULL, &ov));
    CHECK(ov == 0.0);
    CHECK_OK(ctx, st_entropy_overlap(ctx, Y, 100, d, 0, X, 200, d, 0, &h, 1, NULL, &ov));
    CHECK(ov == 0.5);
    /* eps: a point at distance t from one reference has dH = t^2/(2h^2); eps just above/below */
    double x1[10] = {0}, y1[10] = {0};
    y1[0] = 0.01;   /* dH = 0.5 */
    st_entropy_opts o = {0};
    o.overlap_eps = 0.5000001;
    CHECK_OK(ctx, st_entropy_overlap(ctx, y1, 1, d, 0, x1, 1, d, 0, &h, 1, &o, &ov));
    CHECK(ov == 1.0);
    o.overlap_eps = 0.4999999;
    CHECK_OK(ctx, st_entropy_overlap(ctx, y1, 1, d, 0, x1, 1, d, 0, &h, 1, &o, &ov));
    CHECK(ov == 0.0);
    free(X);
    free(Y);
    st_ctx_destroy(ctx);
}

TEST(frames)
{
    st_ctx *ctx = st_ctx_create();
    const char *np = SHARED("quests_ref/cu_fcc_3x3x3_s008_seed3_2frames.quests_x.npy");
    int64_t n = 216, d = 63;
    double *X = np ? read_npy(np, &n, &d) : make_clustered(216, 63, 5, 0.03, 0.01);
    double *R = make_clustered(300, 63, 5, 0.03, 0.01);
    double h[2] = {0.015, 0.03};
    int64_t off2[3] = {0, 108, 216};
    double H[4], D[4], mdH[4];
    CHECK_OK(ctx, st_entropy_frames(ctx, X, n, d, 0, off2, 2, R, 300, 63, 0, h, 2, NULL, H, D,
                                    mdH));
    for (int f = 0; f < 2; f++) {
        double Hf[2], Df[2], dH[2 * 108];
        CHECK_OK(ctx, st_entropy_compute(ctx, X + off2[f] * d, 108, d, 0, h, 2, NULL, Hf, Df));
        CHECK_OK(ctx, st_entropy_delta(ctx, X + off2[f] * d, 108, d, 0, R, 300, 63, 0, h, 2,
                                       NULL, dH));
        for (int k = 0; k < 2; k++) {
            CHECK_NEAR(H[k * 2 + f], Hf[k], 1e-13);
            CHECK_NEAR(D[k * 2 + f], Df[k], 1e-13);
            double mean = 0;
            for (int i = 0; i < 108; i++) mean += dH[k * 108 + i] / 108;
            CHECK_NEAR(mdH[k * 2 + f], mean, 1e-10 * fmax(1, fabs(mean)));
        }
    }
    /* many small frames (run one per thread) agree with one call per frame */
    int64_t nf = 24, off[25];
    for (int f = 0; f <= nf; f++) off[f] = f * 9;
    double Hs[48], Ds[48];
    CHECK_OK(ctx, st_entropy_frames(ctx, X, 216, d, 0, off, nf, NULL, 0, 0, 0, h, 2, NULL, Hs, Ds,
                                    NULL));
    for (int f = 0; f < nf; f++) {
        double Hf[2], Df[2];
        CHECK_OK(ctx, st_entropy_compute(ctx, X + off[f] * d, 9, d, 0, h, 2, NULL, Hf, Df));
        CHECK_NEAR(Hs[f], Hf[0], 1e-13);
        CHECK_NEAR(Ds[nf + f], Df[1], 1e-13);
    }
    free(X);
    free(R);
    st_ctx_destroy(ctx);
}

static int progress_calls, progress_bad;
static double progress_last;
static pthread_t progress_thread;
static void on_progress(void *ud, const char *what, double done, double total)
{
    (void)ud;
    progress_calls++;
    if (!what || done > total || done < progress_last) progress_bad++;
    if (!pthread_equal(pthread_self(), progress_thread)) progress_bad++;
    progress_last = done;
}

TEST(progress_reports)
{
    st_ctx *ctx = st_ctx_create();
    st_ctx_set_progress(ctx, on_progress, NULL);
    progress_thread = pthread_self();
    double *X = make_clustered(3000, 20, 8, 0.05, 0.01), h = 0.01, H;
    for (int meth = ST_ENTROPY_DENSE; meth <= ST_ENTROPY_PRUNED; meth++) {
        st_entropy_opts o = {0};
        o.method = meth;
        progress_calls = progress_bad = 0;
        progress_last = 0;
        CHECK_OK(ctx, st_entropy_compute(ctx, X, 3000, 20, 0, &h, 1, &o, &H, NULL));
        CHECK(progress_calls > 0);
        CHECK(progress_bad == 0);
    }
    free(X);
    st_ctx_destroy(ctx);
}

TEST(error_paths)
{
    st_ctx *ctx = st_ctx_create();
    const int d = 5;
    double X[20 * 5], Y[10 * 5], h = 0.01, bad_h[2] = {0.01, NAN}, H, D, out[64];
    for (int i = 0; i < 100; i++) X[i] = 0.01 * i;
    for (int i = 0; i < 50; i++) Y[i] = 0.02 * i;
#define EXPECT(call, status, text) do { st_ctx_clear(ctx); CHECK((call) == (status)); \
        CHECK_MSG(strstr(st_ctx_message(ctx), text) != NULL, "message '%s' lacks '%s'", \
                  st_ctx_message(ctx), text); } while (0)
    EXPECT(st_entropy_compute(ctx, X, 0, d, 0, &h, 1, NULL, &H, &D), ST_ERR_ARG,
           "st_entropy_compute: X is empty");
    EXPECT(st_entropy_compute(ctx, NULL, 3, d, 0, &h, 1, NULL, &H, &D), ST_ERR_ARG, "NULL");
    EXPECT(st_entropy_compute(ctx, X, 20, 0, 0, &h, 1, NULL, &H, &D), ST_ERR_ARG, "columns");
    EXPECT(st_entropy_compute(ctx, X, 20, d, 3, &h, 1, NULL, &H, &D), ST_ERR_ARG, "stride");
    EXPECT(st_entropy_compute(ctx, X, 20, d, 0, bad_h, 2, NULL, &H, &D), ST_ERR_ARG,
           "h[1] = nan");
    double hz = 0, hn = -1, hi = INFINITY;
    EXPECT(st_entropy_compute(ctx, X, 20, d, 0, &hz, 1, NULL, &H, &D), ST_ERR_ARG, "h[0] = 0");
    EXPECT(st_entropy_compute(ctx, X, 20, d, 0, &hn, 1, NULL, &H, &D), ST_ERR_ARG, "h[0] = -1");
    EXPECT(st_entropy_compute(ctx, X, 20, d, 0, &hi, 1, NULL, &H, &D), ST_ERR_ARG, "h[0] = inf");
    EXPECT(st_entropy_compute(ctx, X, 20, d, 0, &h, 0, NULL, &H, &D), ST_ERR_ARG, "bandwidth");
    st_entropy_opts o = {0};
    o.tol = 2;
    EXPECT(st_entropy_compute(ctx, X, 20, d, 0, &h, 1, &o, &H, &D), ST_ERR_ARG, "opts.tol");
    o.tol = 0;
    o.method = 9;
    EXPECT(st_entropy_compute(ctx, X, 20, d, 0, &h, 1, &o, &H, &D), ST_ERR_ARG, "opts.method");
    EXPECT(st_entropy_delta(ctx, Y, 10, d - 1, 0, X, 20, d, 0, &h, 1, NULL, out), ST_ERR_ARG,
           "Y has 4 columns but X has 5");
    EXPECT(st_entropy_delta(ctx, Y, 10, d, 0, X, 0, d, 0, &h, 1, NULL, out), ST_ERR_ARG,
           "X is empty");
    CHECK_OK(ctx, st_entropy_delta(ctx, Y, 0, d, 0, X, 20, d, 0, &h, 1, NULL, out));
    EXPECT(st_entropy_overlap(ctx, Y, 0, d, 0, X, 20, d, 0, &h, 1, NULL, out), ST_ERR_ARG,
           "Y is empty");
    EXPECT(st_entropy_log_kernel_sums(ctx, X, 20, d, 0, NULL, 5, d, 0, &h, 1, NULL, out),
           ST_ERR_ARG, "y is NULL but m = 5");
    /* non-finite descriptors: the message names the set, row and column */
    X[7 * d + 3] = NAN;
    EXPECT(st_entropy_compute(ctx, X, 20, d, 0, &h, 1, NULL, &H, &D), ST_ERR_NUMERIC,
           "X row 7, column 3");
    X[7 * d + 3] = 0.5;
    Y[4 * d + 1] = -INFINITY;
    EXPECT(st_entropy_delta(ctx, Y, 10, d, 0, X, 20, d, 0, &h, 1, NULL, out), ST_ERR_NUMERIC,
           "Y row 4, column 1");
    Y[4 * d + 1] = 0.5;
    X[2 * d] = 1e200;   /* finite but its squared norm overflows */
    EXPECT(st_entropy_compute(ctx, X, 20, d, 0, &h, 1, NULL, &H, &D), ST_ERR_NUMERIC,
           "squared norm overflows");
    X[2 * d] = 0.1;
    /* frames */
    int64_t off_bad0[3] = {1, 10, 20}, off_empty[3] = {0, 0, 20}, off_short[3] = {0, 10, 19};
    int64_t off[3] = {0, 10, 20};
    EXPECT(st_entropy_frames(ctx, X, 20, d, 0, off_bad0, 2, NULL, 0, 0, 0, &h, 1, NULL, &H, NULL,
                             NULL), ST_ERR_ARG, "offsets[0] = 1");
    EXPECT(st_entropy_frames(ctx, X, 20, d, 0, off_empty, 2, NULL, 0, 0, 0, &h, 1, NULL, out,
                             NULL, NULL), ST_ERR_ARG, "frame 0 is empty");
    EXPECT(st_entropy_frames(ctx, X, 20, d, 0, off_short, 2, NULL, 0, 0, 0, &h, 1, NULL, out,
                             NULL, NULL), ST_ERR_ARG, "offsets[2] = 19 but X has 20 rows");
    EXPECT(st_entropy_frames(ctx, X, 20, d, 0, off, 2, NULL, 0, 0, 0, &h, 1, NULL, NULL, NULL,
                             out), ST_ERR_ARG, "R is empty");
    EXPECT(st_entropy_frames(ctx, X, 20, d, 0, off, 2, Y, 10, d - 2, 0, &h, 1, NULL, NULL, NULL,
                             out), ST_ERR_ARG, "R has 3 columns but X has 5");
    EXPECT(st_entropy_frames(ctx, X, 20, d, 0, NULL, 2, NULL, 0, 0, 0, &h, 1, NULL, out, NULL,
                             NULL), ST_ERR_ARG, "offsets");
    /* interrupts: every method stops with ST_ERR_INTERRUPTED and keeps the context usable */
    double *big = make_clustered(2000, 16, 4, 0.05, 0.01), Hb;
    for (int meth = ST_ENTROPY_DENSE; meth <= ST_ENTROPY_FAST; meth++) {
        o.method = meth;
        st_interrupt();
        EXPECT(st_entropy_compute(ctx, big, 2000, 16, 0, &h, 1, &o, &Hb, NULL),
               ST_ERR_INTERRUPTED, "interrupted");
        EXPECT(st_entropy_delta(ctx, big, 500, 16, 0, big + 500 * 16, 1500, 16, 0, &h, 1, &o,
                                big /* not written on failure paths we test */),
               ST_ERR_INTERRUPTED, "interrupted");
        st_interrupt_clear();
        CHECK_OK(ctx, st_entropy_compute(ctx, big, 2000, 16, 0, &h, 1, &o, &Hb, NULL));
    }
    free(big);
#undef EXPECT
    st_ctx_destroy(ctx);
}

int main(void)
{
    RUN(exp_kernel_accuracy);
    RUN(bandwidth_rule);
    RUN(quests_reference_H_D);
    RUN(quests_reference_dH);
    RUN(dense_pruned_match_brute_force);
    RUN(pruning_and_approx_within_bounds);
    RUN(analytic_cases);
    RUN(near_duplicates);
    RUN(invariances);
    RUN(overlap_cases);
    RUN(frames);
    RUN(progress_reports);
    RUN(error_paths);
    return DONE();
}
