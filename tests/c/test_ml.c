/* test_ml.c -- the ML kernels of csrc/ml: ranking metrics on hand-computed cases with ties, MST
 * against Kruskal (brute force) and a known graph, Ward against a hand-worked example and a
 * brute-force greedy Ward on Euclidean points, the flat cut, classical MDS recovering Euclidean
 * distances, t-SNE on separated clusters (determinism, KL), logistic regression against
 * closed-form optima and finite differences, XGBoost on a separable problem with SHAP additivity,
 * and error paths. */
#include "check.h"
#include "strata.h"
#include <float.h>
#include <math.h>
#include <stdint.h>

static uint64_t rng_state = 12345;
static double urand(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(rng_state >> 11) * 0x1.0p-53;
}
static double nrand(void) { return sqrt(-2 * log(urand() + 1e-300)) * cos(2 * M_PI * urand()); }

static void euclid(int n, int dim, const double *x, double *d)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int a = 0; a < dim; a++) s += (x[i * dim + a] - x[j * dim + a]) * (x[i * dim + a] - x[j * dim + a]);
            d[i * n + j] = sqrt(s);
        }
}

/* ------------------------------------------------------------------ metrics */

TEST(roc_auc_hand_cases)
{
    st_ctx *ctx = st_ctx_create();
    double auc;
    /* perfect and reversed rankings */
    double y1[4] = {0, 0, 1, 1}, s1[4] = {0.1, 0.2, 0.3, 0.4}, s1r[4] = {0.4, 0.3, 0.2, 0.1};
    CHECK_OK(ctx, st_ml_roc_auc(ctx, 4, y1, s1, &auc));
    CHECK_NEAR(auc, 1.0, 1e-15);
    CHECK_OK(ctx, st_ml_roc_auc(ctx, 4, y1, s1r, &auc));
    CHECK_NEAR(auc, 0.0, 1e-15);
    /* ties: pos {0.8, 0.5, 0.5}, neg {0.5, 0.2}: pairs (pos > neg) = 2 + 1 + 1 = 4, ties = 2 (0.5 vs
       0.5 twice) -> (4 + 2/2) / 6 = 5/6 */
    double y2[5] = {1, 1, 1, 0, 0}, s2[5] = {0.8, 0.5, 0.5, 0.5, 0.2};
    CHECK_OK(ctx, st_ml_roc_auc(ctx, 5, y2, s2, &auc));
    CHECK_NEAR(auc, 5.0 / 6.0, 1e-15);
    /* all scores tied -> 1/2 */
    double s3[5] = {1, 1, 1, 1, 1};
    CHECK_OK(ctx, st_ml_roc_auc(ctx, 5, y2, s3, &auc));
    CHECK_NEAR(auc, 0.5, 1e-15);
    /* brute force on random data with many ties */
    enum { N = 300 };
    double y[N], s[N];
    for (int i = 0; i < N; i++) { y[i] = urand() < 0.3; s[i] = floor(urand() * 10) + 3 * y[i] * urand(); s[i] = floor(s[i]); }
    double num = 0, den = 0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            if (y[i] == 1 && y[j] == 0) { num += s[i] > s[j] ? 1 : s[i] == s[j] ? 0.5 : 0; den += 1; }
    CHECK_OK(ctx, st_ml_roc_auc(ctx, N, y, s, &auc));
    CHECK_NEAR(auc, num / den, 1e-12);
    st_ctx_destroy(ctx);
}

TEST(average_precision_hand_cases)
{
    st_ctx *ctx = st_ctx_create();
    double ap;
    /* scores 0.9(1) 0.8(0) 0.7(1) 0.6(0): steps at recall 1/2 (P = 1) and 1 (P = 2/3) -> 5/6 */
    double y1[4] = {1, 0, 1, 0}, s1[4] = {0.9, 0.8, 0.7, 0.6};
    CHECK_OK(ctx, st_ml_average_precision(ctx, 4, y1, s1, &ap));
    CHECK_NEAR(ap, 0.5 * 1 + 0.5 * (2.0 / 3.0), 1e-15);
    /* ties: 0.9(1), then a tie group 0.5 {1, 0, 0}, then 0.1(1): thresholds give (R, P) =
       (1/3, 1), (2/3, 2/4), (1, 3/5) -> 1/3 + 1/3 * 1/2 + 1/3 * 3/5 = 0.7 */
    double y2[5] = {1, 1, 0, 0, 1}, s2[5] = {0.9, 0.5, 0.5, 0.5, 0.1};
    CHECK_OK(ctx, st_ml_average_precision(ctx, 5, y2, s2, &ap));
    CHECK_NEAR(ap, 1.0 / 3 + 1.0 / 6 + 0.2, 1e-15);
    /* the order of tied items does not matter */
    double y3[5] = {0, 0, 1, 1, 1}, s3[5] = {0.5, 0.5, 0.5, 0.9, 0.1};
    double ap3;
    CHECK_OK(ctx, st_ml_average_precision(ctx, 5, y3, s3, &ap3));
    CHECK_NEAR(ap3, ap, 1e-15);
    /* all positives: AP = 1; all tied: AP = prevalence */
    double y4[3] = {1, 1, 1}, s4[3] = {3, 1, 2}, y5[4] = {1, 0, 0, 0}, s5[4] = {2, 2, 2, 2};
    CHECK_OK(ctx, st_ml_average_precision(ctx, 3, y4, s4, &ap));
    CHECK_NEAR(ap, 1.0, 1e-15);
    CHECK_OK(ctx, st_ml_average_precision(ctx, 4, y5, s5, &ap));
    CHECK_NEAR(ap, 0.25, 1e-15);
    st_ctx_destroy(ctx);
}

TEST(metric_errors)
{
    st_ctx *ctx = st_ctx_create();
    double v, y[3] = {1, 1, 1}, s[3] = {1, 2, 3}, ybad[3] = {0, 2, 1}, snan[3] = {1, NAN, 2};
    CHECK(st_ml_roc_auc(ctx, 3, y, s, &v) == ST_ERR_NUMERIC);
    CHECK(strstr(st_ctx_message(ctx), "only one class") != NULL);
    CHECK(st_ml_roc_auc(ctx, 3, ybad, s, &v) == ST_ERR_ARG);
    CHECK(strstr(st_ctx_message(ctx), "label 1 is 2") != NULL);
    CHECK(st_ml_average_precision(ctx, 3, y, snan, &v) == ST_ERR_ARG);
    CHECK(strstr(st_ctx_message(ctx), "score 1") != NULL);
    double y0[3] = {0, 0, 0};
    CHECK(st_ml_average_precision(ctx, 3, y0, s, &v) == ST_ERR_NUMERIC);
    CHECK(st_ml_roc_auc(ctx, 0, y, s, &v) == ST_ERR_ARG);
    st_ctx_destroy(ctx);
}

/* ------------------------------------------------------------------ MST */

static int uf(int *p, int v) { while (p[v] != v) v = p[v] = p[p[v]]; return v; }

TEST(mst_known_graph_and_kruskal)
{
    st_ctx *ctx = st_ctx_create();
    /* points on a line: the MST joins neighbours, total = max - min, longest = largest gap */
    double xs[6] = {0.0, 4.0, 1.5, 10.0, 3.0, 7.5}, d[36];
    euclid(6, 1, xs, d);
    int64_t e[10];
    double w[5], tot = 0, lng = 0;
    CHECK_OK(ctx, st_ml_mst(ctx, 6, d, 6, e, w));
    for (int k = 0; k < 5; k++) { tot += w[k]; lng = fmax(lng, w[k]); CHECK(fabs(xs[e[2 * k]] - xs[e[2 * k + 1]]) == w[k]); }
    CHECK_NEAR(tot, 10.0, 1e-14);
    CHECK_NEAR(lng, 3.5, 1e-14);
    /* random complete graphs: same total weight as Kruskal (brute force), and a spanning tree */
    enum { N = 60 };
    static double D[N * N];
    for (int rep = 0; rep < 3; rep++) {
        for (int i = 0; i < N; i++) {
            D[i * N + i] = 0;
            for (int j = i + 1; j < N; j++) D[i * N + j] = D[j * N + i] = floor(urand() * 50) / 7;  /* ties */
        }
        int64_t E[2 * (N - 1)];
        double W[N - 1], t1 = 0, t2 = 0;
        CHECK_OK(ctx, st_ml_mst(ctx, N, D, N, E, W));
        int par[N];
        for (int i = 0; i < N; i++) par[i] = i;
        int comps = N;
        for (int k = 0; k < N - 1; k++) {
            t1 += W[k];
            CHECK(D[E[2 * k] * N + E[2 * k + 1]] == W[k]);
            int a = uf(par, (int)E[2 * k]), b = uf(par, (int)E[2 * k + 1]);
            if (a != b) { par[a] = b; comps--; }
        }
        CHECK(comps == 1);
        /* Kruskal: scan edges by weight */
        for (int i = 0; i < N; i++) par[i] = i;
        int used = 0;
        while (used < N - 1) {
            int bi = -1, bj = -1;
            double bw = INFINITY;
            for (int i = 0; i < N; i++)
                for (int j = i + 1; j < N; j++)
                    if (D[i * N + j] < bw && uf(par, i) != uf(par, j)) { bw = D[i * N + j]; bi = i; bj = j; }
            par[uf(par, bi)] = uf(par, bj);
            t2 += bw;
            used++;
        }
        CHECK_NEAR(t1, t2, 1e-12);
    }
    st_ctx_destroy(ctx);
}

/* ------------------------------------------------------------------ Ward */

TEST(ward_hand_example)
{
    st_ctx *ctx = st_ctx_create();
    /* 1-D points 0, 1, 5, 6, 20.  Ward heights for Euclidean input are
       sqrt(2 n_a n_b / (n_a + n_b)) |c_a - c_b|: {0,1} and {5,6} at 1, then {0,1}+{5,6} at
       sqrt(2) * 5, then with {20} at sqrt(8/5) * 17. */
    double xs[5] = {0, 1, 5, 6, 20}, d[25], Z[16];
    euclid(5, 1, xs, d);
    CHECK_OK(ctx, st_ml_ward(ctx, 5, d, 5, Z));
    double want[16] = {0, 1, 1, 2, 2, 3, 1, 2, 5, 6, 5 * sqrt(2.0), 4, 4, 7, 17 * sqrt(1.6), 5};
    for (int i = 0; i < 16; i++) CHECK_NEAR(Z[i], want[i], 1e-12);
    int32_t lab[5];
    int64_t k;
    CHECK_OK(ctx, st_ml_linkage_cut(ctx, 5, Z, 1.0, lab, &k));
    CHECK(k == 3 && lab[0] == 0 && lab[1] == 0 && lab[2] == 1 && lab[3] == 1 && lab[4] == 2);
    CHECK_OK(ctx, st_ml_linkage_cut(ctx, 5, Z, 10.0, lab, &k));
    CHECK(k == 2 && lab[0] == 0 && lab[3] == 0 && lab[4] == 1);
    CHECK_OK(ctx, st_ml_linkage_cut(ctx, 5, Z, 0.5, lab, &k));
    CHECK(k == 5);
    CHECK_OK(ctx, st_ml_linkage_cut(ctx, 5, Z, 100.0, lab, &k));
    CHECK(k == 1);
    st_ctx_destroy(ctx);
}

TEST(ward_vs_greedy_centroids)
{
    /* Euclidean points in 2-D: the greedy algorithm merging the pair with the smallest
       sqrt(2 n_a n_b / (n_a + n_b)) |c_a - c_b| (Ward's criterion) gives the same sorted heights */
    st_ctx *ctx = st_ctx_create();
    enum { N = 40 };
    double x[2 * N], d[N * N], Z[4 * (N - 1)];
    for (int i = 0; i < 2 * N; i++) x[i] = nrand() + (i % 4 < 2 ? 0 : 4);
    euclid(N, 2, x, d);
    CHECK_OK(ctx, st_ml_ward(ctx, N, d, N, Z));
    double cx[N], cy[N], cn[N], heights[N - 1];
    int alive[N];
    for (int i = 0; i < N; i++) { cx[i] = x[2 * i]; cy[i] = x[2 * i + 1]; cn[i] = 1; alive[i] = 1; }
    for (int k = 0; k < N - 1; k++) {
        int ba = -1, bb = -1;
        double best = INFINITY;
        for (int a = 0; a < N; a++)
            for (int b = a + 1; b < N; b++)
                if (alive[a] && alive[b]) {
                    double h = sqrt(2 * cn[a] * cn[b] / (cn[a] + cn[b])) * hypot(cx[a] - cx[b], cy[a] - cy[b]);
                    if (h < best) { best = h; ba = a; bb = b; }
                }
        heights[k] = best;
        cx[ba] = (cn[ba] * cx[ba] + cn[bb] * cx[bb]) / (cn[ba] + cn[bb]);
        cy[ba] = (cn[ba] * cy[ba] + cn[bb] * cy[bb]) / (cn[ba] + cn[bb]);
        cn[ba] += cn[bb];
        alive[bb] = 0;
    }
    double e = 0;
    for (int k = 0; k < N - 1; k++) e = fmax(e, fabs(Z[4 * k + 2] - heights[k]));
    CHECK_MSG(e < 1e-10, "Ward heights differ from the greedy centroid computation by %g", e);
    CHECK(Z[4 * (N - 2) + 3] == N);
    /* permutation invariance of the sorted heights */
    int perm[N];
    for (int i = 0; i < N; i++) perm[i] = (i * 17 + 5) % N;
    double dp[N * N], Zp[4 * (N - 1)];
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) dp[i * N + j] = d[perm[i] * N + perm[j]];
    CHECK_OK(ctx, st_ml_ward(ctx, N, dp, N, Zp));
    e = 0;
    for (int k = 0; k < N - 1; k++) e = fmax(e, fabs(Z[4 * k + 2] - Zp[4 * k + 2]));
    CHECK(e < 1e-10);
    st_ctx_destroy(ctx);
}

/* ------------------------------------------------------------------ MDS and t-SNE */

TEST(mds_recovers_euclidean)
{
    st_ctx *ctx = st_ctx_create();
    enum { N = 30 };
    double x[3 * N], d[N * N], y[3 * N], dy[N * N], lam[3];
    for (int i = 0; i < 3 * N; i++) x[i] = nrand() * (i % 3 == 0 ? 3 : i % 3 == 1 ? 2 : 1);
    euclid(N, 3, x, d);
    CHECK_OK(ctx, st_ml_mds(ctx, N, d, N, 3, y, lam));
    euclid(N, 3, y, dy);
    double e = 0;
    for (int i = 0; i < N * N; i++) e = fmax(e, fabs(d[i] - dy[i]));
    CHECK_MSG(e < 1e-9, "MDS distances off by %g", e);
    CHECK(lam[0] >= lam[1] && lam[1] >= lam[2] && lam[2] > 0);
    /* the eigenvalues are the variances (times N) of the centred points along the principal axes:
       their sum is the total centred sum of squares */
    double mean[3] = {0, 0, 0}, ss = 0;
    for (int i = 0; i < N; i++) for (int a = 0; a < 3; a++) mean[a] += x[3 * i + a] / N;
    for (int i = 0; i < N; i++) for (int a = 0; a < 3; a++) ss += (x[3 * i + a] - mean[a]) * (x[3 * i + a] - mean[a]);
    CHECK_NEAR(lam[0] + lam[1] + lam[2], ss, 1e-9 * ss);
    /* coordinates are centred */
    for (int a = 0; a < 3; a++) {
        double m = 0;
        for (int i = 0; i < N; i++) m += y[3 * i + a];
        CHECK(fabs(m) < 1e-9);
    }
    /* planar points: 2 axes suffice */
    for (int i = 0; i < N; i++) x[3 * i + 2] = 0;
    euclid(N, 3, x, d);
    double y2[2 * N], d2[N * N];
    CHECK_OK(ctx, st_ml_mds(ctx, N, d, N, 2, y2, lam));
    euclid(N, 2, y2, d2);
    e = 0;
    for (int i = 0; i < N * N; i++) e = fmax(e, fabs(d[i] - d2[i]));
    CHECK(e < 1e-9);
    CHECK(st_ml_mds(ctx, N, d, N, 0, y2, lam) == ST_ERR_ARG);
    st_ctx_destroy(ctx);
}

TEST(tsne_separates_clusters)
{
    st_ctx *ctx = st_ctx_create();
    enum { N = 90 };
    static double x[5 * N], d[N * N], y[2 * N], y2[2 * N];
    for (int i = 0; i < N; i++)
        for (int a = 0; a < 5; a++) x[5 * i + a] = nrand() + (a == i % 3 ? 8 : 0);   /* 3 clusters */
    euclid(N, 5, x, d);
    st_tsne_opts o;
    memset(&o, 0, sizeof o);
    o.perplexity = 10;
    o.iterations = 500;
    o.seed = 7;
    double kl, kl2;
    CHECK_OK(ctx, st_ml_tsne(ctx, N, d, N, &o, y, &kl));
    CHECK(isfinite(kl) && kl >= 0 && kl < 2);
    int same = 0;
    for (int i = 0; i < N; i++) {
        int best = -1;
        double bd = INFINITY;
        for (int j = 0; j < N; j++)
            if (j != i) {
                double dd = hypot(y[2 * i] - y[2 * j], y[2 * i + 1] - y[2 * j + 1]);
                if (dd < bd) { bd = dd; best = j; }
            }
        same += best % 3 == i % 3;
    }
    CHECK_MSG(same == N, "%d of %d nearest neighbours in the map are in the same cluster", same, N);
    /* deterministic for a seed (sums run in a fixed order; threads only above n = 1024) */
    int nt = st_get_num_threads();
    st_set_num_threads(1);
    CHECK_OK(ctx, st_ml_tsne(ctx, N, d, N, &o, y2, &kl2));
    st_set_num_threads(nt);
    CHECK(memcmp(y, y2, sizeof y) == 0 && kl == kl2);
    o.seed = 8;
    CHECK_OK(ctx, st_ml_tsne(ctx, N, d, N, &o, y2, NULL));
    CHECK(memcmp(y, y2, sizeof y) != 0);
    st_ctx_destroy(ctx);
}

/* ------------------------------------------------------------------ logistic regression */

TEST(logreg_closed_form)
{
    st_ctx *ctx = st_ctx_create();
    /* no penalty: x = 0 -> y {0, 1}, x = 1 -> y {0, 1, 1}.  The optimum matches the group
       frequencies: sigmoid(b) = 1/2, sigmoid(w + b) = 2/3 -> b = 0, w = ln 2. */
    double x[5] = {0, 0, 1, 1, 1}, y[5] = {0, 1, 0, 1, 1}, w, b;
    st_logreg_opts o;
    memset(&o, 0, sizeof o);
    o.C = HUGE_VAL;
    st_logreg_info info;
    CHECK_OK(ctx, st_ml_logreg_fit(ctx, 5, 1, x, 1, y, NULL, &o, &w, &b, &info));
    CHECK_NEAR(b, 0, 1e-10);
    CHECK_NEAR(w, log(2.0), 1e-10);
    CHECK(info.iterations >= 2 && info.iterations < 20);
    /* class weights {1, 2}: sigmoid(b) = 2/3, sigmoid(w + b) = 4/5 -> b = ln 2, w = ln 2 */
    o.class_weight[0] = 1;
    o.class_weight[1] = 2;
    CHECK_OK(ctx, st_ml_logreg_fit(ctx, 5, 1, x, 1, y, NULL, &o, &w, &b, NULL));
    CHECK_NEAR(b, log(2.0), 1e-10);
    CHECK_NEAR(w, log(2.0), 1e-10);
    /* balanced (n / (2 n_c) = 5/4, 5/6): sigmoid(b) = 2/5, sigmoid(w + b) = 4/7 -> w = ln 2 */
    o.balanced = 1;
    CHECK_OK(ctx, st_ml_logreg_fit(ctx, 5, 1, x, 1, y, NULL, &o, &w, &b, NULL));
    CHECK_NEAR(b, log(2.0 / 3.0), 1e-10);
    CHECK_NEAR(w, log(2.0), 1e-10);
    /* sample weights equal to duplicating rows */
    double sw[5] = {1, 1, 1, 1, 3}, xd[7] = {0, 0, 1, 1, 1, 1, 1}, yd[7] = {0, 1, 0, 1, 1, 1, 1}, w2, b2;
    memset(&o, 0, sizeof o);
    CHECK_OK(ctx, st_ml_logreg_fit(ctx, 5, 1, x, 1, y, sw, &o, &w, &b, NULL));
    CHECK_OK(ctx, st_ml_logreg_fit(ctx, 7, 1, xd, 1, yd, NULL, &o, &w2, &b2, NULL));
    CHECK_NEAR(w, w2, 1e-10);
    CHECK_NEAR(b, b2, 1e-10);
    st_ctx_destroy(ctx);
}

TEST(logreg_gradient_and_optimum)
{
    st_ctx *ctx = st_ctx_create();
    enum { N = 80, P = 6 };
    double x[N * 8], y[N], coef[P], b, g[P + 1], f;
    for (int i = 0; i < N; i++) {
        double z = 0.3;
        for (int j = 0; j < P; j++) { x[i * 8 + j] = nrand() * (j + 1); z += x[i * 8 + j] * (j % 2 ? 0.5 : -0.3); }
        y[i] = urand() < 1 / (1 + exp(-z));
    }
    st_logreg_opts o;
    memset(&o, 0, sizeof o);
    o.C = 0.7;
    o.class_weight[1] = 1.5;
    /* finite differences of the objective at a random point (row stride 8 > P exercises ldx) */
    double w0[P], f0;
    for (int j = 0; j < P; j++) w0[j] = 0.2 * nrand();
    CHECK_OK(ctx, st_ml_logreg_objective(ctx, N, P, x, 8, y, NULL, &o, w0, 0.1, &f0, g));
    for (int j = 0; j <= P; j++) {
        double h = 1e-6, fp, fm, wp[P], bp = 0.1, bm = 0.1;
        memcpy(wp, w0, sizeof wp);
        if (j < P) wp[j] += h; else bp += h;
        st_ml_logreg_objective(ctx, N, P, x, 8, y, NULL, &o, wp, bp, &fp, NULL);
        memcpy(wp, w0, sizeof wp);
        if (j < P) wp[j] -= h; else bm -= h;
        st_ml_logreg_objective(ctx, N, P, x, 8, y, NULL, &o, wp, bm, &fm, NULL);
        CHECK_NEAR(g[j], (fp - fm) / (2 * h), 1e-5 * (1 + fabs(g[j])));
    }
    /* at the fitted optimum the gradient vanishes */
    st_logreg_info info;
    CHECK_OK(ctx, st_ml_logreg_fit(ctx, N, P, x, 8, y, NULL, &o, coef, &b, &info));
    CHECK_OK(ctx, st_ml_logreg_objective(ctx, N, P, x, 8, y, NULL, &o, coef, b, &f, g));
    double gm = 0;
    for (int j = 0; j <= P; j++) gm = fmax(gm, fabs(g[j]));
    CHECK_MSG(gm < 1e-8, "max |gradient| at the optimum = %g", gm);
    CHECK_NEAR(f, info.objective, 1e-10 * f);
    CHECK(f < f0);
    /* standardize: invariant to rescaling a column (the penalty acts on z-scored columns) */
    o.standardize = 1;
    double c1[P], b1, prob1[N], prob2[N];
    CHECK_OK(ctx, st_ml_logreg_fit(ctx, N, P, x, 8, y, NULL, &o, c1, &b1, NULL));
    CHECK_OK(ctx, st_ml_logreg_predict(ctx, N, P, x, 8, c1, b1, prob1));
    for (int i = 0; i < N; i++) { x[i * 8 + 2] = 100 * x[i * 8 + 2] + 7; }
    CHECK_OK(ctx, st_ml_logreg_fit(ctx, N, P, x, 8, y, NULL, &o, c1, &b1, NULL));
    CHECK_OK(ctx, st_ml_logreg_predict(ctx, N, P, x, 8, c1, b1, prob2));
    double e = 0;
    for (int i = 0; i < N; i++) e = fmax(e, fabs(prob1[i] - prob2[i]));
    CHECK_MSG(e < 1e-9, "standardized fit not scale invariant: %g", e);
    st_ctx_destroy(ctx);
}

TEST(logreg_errors)
{
    st_ctx *ctx = st_ctx_create();
    double x[4] = {0, 1, 2, 3}, y[4] = {0, 1, 0, 3}, w, b;
    CHECK(st_ml_logreg_fit(ctx, 4, 1, x, 1, y, NULL, NULL, &w, &b, NULL) == ST_ERR_ARG);
    CHECK(strstr(st_ctx_message(ctx), "label 3 is 3") != NULL);
    double ys[4] = {0, 0, 1, 1};   /* separable, no penalty: no finite optimum */
    st_logreg_opts o;
    memset(&o, 0, sizeof o);
    o.C = HUGE_VAL;
    o.max_iter = 3;   /* w grows without bound; Newton cannot settle in 3 steps */
    int rc = st_ml_logreg_fit(ctx, 4, 1, x, 1, ys, NULL, &o, &w, &b, NULL);
    CHECK(rc == ST_ERR_NUMERIC);
    o.C = -1;
    CHECK(st_ml_logreg_fit(ctx, 4, 1, x, 1, ys, NULL, &o, &w, &b, NULL) == ST_ERR_ARG);
    CHECK(strstr(st_ctx_message(ctx), "C = -1") != NULL);
    double xn[4] = {0, NAN, 1, 2};
    CHECK(st_ml_logreg_fit(ctx, 4, 1, xn, 1, ys, NULL, NULL, &w, &b, NULL) == ST_ERR_ARG);
    CHECK(strstr(st_ctx_message(ctx), "feature (1, 0)") != NULL);
    st_ctx_destroy(ctx);
}

/* ------------------------------------------------------------------ gradient-boosted trees */

TEST(gbt_separable_and_shap)
{
    st_ctx *ctx = st_ctx_create();
    enum { N = 200, P = 4 };
    static double x[N * P], y[N], prob[N], margin[N], shap[N * (P + 1)];
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < P; j++) x[i * P + j] = urand();
        y[i] = x[i * P + 1] > 0.5;
    }
    st_gbt_opts o;
    memset(&o, 0, sizeof o);
    o.n_estimators = 50;
    o.max_depth = 3;
    o.learning_rate = 0.3;
    o.seed = 3;
    st_gbt *m = NULL;
    CHECK_OK(ctx, st_gbt_create(ctx, &o, &m));
    CHECK(st_gbt_predict(ctx, m, N, P, x, P, 0, prob) == ST_ERR_ARG);   /* not trained yet */
    CHECK(strstr(st_ctx_message(ctx), "not been trained") != NULL);
    CHECK_OK(ctx, st_gbt_train(ctx, m, N, P, x, P, y, NULL));
    CHECK(st_gbt_nfeatures(m) == P);
    CHECK_OK(ctx, st_gbt_predict(ctx, m, N, P, x, P, 0, prob));
    CHECK_OK(ctx, st_gbt_predict(ctx, m, N, P, x, P, 1, margin));
    int correct = 0;
    for (int i = 0; i < N; i++) {
        correct += (prob[i] > 0.5) == (y[i] == 1);
        CHECK_NEAR(prob[i], 1 / (1 + exp(-margin[i])), 1e-6);
    }
    CHECK(correct == N);
    double auc;
    CHECK_OK(ctx, st_ml_roc_auc(ctx, N, y, prob, &auc));
    CHECK(auc == 1.0);
    /* tree SHAP: each row sums to the margin; the informative feature dominates */
    CHECK_OK(ctx, st_gbt_shap(ctx, m, N, P, x, P, shap));
    double e = 0, imp[P] = {0};
    for (int i = 0; i < N; i++) {
        double s = 0;
        for (int j = 0; j <= P; j++) s += shap[i * (P + 1) + j];
        e = fmax(e, fabs(s - margin[i]));
        for (int j = 0; j < P; j++) imp[j] += fabs(shap[i * (P + 1) + j]);
    }
    CHECK_MSG(e < 1e-4, "SHAP rows differ from the margin by up to %g", e);
    CHECK(imp[1] > 10 * (imp[0] + imp[2] + imp[3]));
    /* same seed -> same model; weights of 2 on every row change nothing but the hessian scale */
    st_gbt *m2 = NULL;
    double prob2[N];
    CHECK_OK(ctx, st_gbt_create(ctx, &o, &m2));
    CHECK_OK(ctx, st_gbt_train(ctx, m2, N, P, x, P, y, NULL));
    CHECK_OK(ctx, st_gbt_predict(ctx, m2, N, P, x, P, 0, prob2));
    CHECK(memcmp(prob, prob2, sizeof prob) == 0);
    /* errors: wrong feature count, bad parameter named in the message, bad labels */
    CHECK(st_gbt_predict(ctx, m, N, P - 1, x, P, 0, prob) == ST_ERR_ARG);
    CHECK(strstr(st_ctx_message(ctx), "trained on 4") != NULL);
    CHECK_OK(ctx, st_gbt_set_param(ctx, m2, "max_depth", "deep"));
    CHECK(st_gbt_train(ctx, m2, N, P, x, P, y, NULL) == ST_ERR_ARG);
    CHECK(strstr(st_ctx_message(ctx), "max_depth") != NULL);
    y[0] = 0.5;
    CHECK(st_gbt_train(ctx, m, N, P, x, P, y, NULL) == ST_ERR_ARG);
    CHECK(strstr(st_ctx_message(ctx), "label 0 is 0.5") != NULL);
    CHECK(st_gbt_set_param(ctx, m, "n_estimators", "0") == ST_ERR_ARG);
    o.subsample = 2;
    st_gbt *m3 = NULL;
    CHECK(st_gbt_create(ctx, &o, &m3) == ST_ERR_ARG && m3 == NULL);
    st_gbt_destroy(m);
    st_gbt_destroy(m2);
    st_gbt_destroy(NULL);
    st_ctx_destroy(ctx);
}

TEST(gbt_ensemble_matches_sequential)
{
    /* the parallel ensemble = the mean of boosters trained one by one with seeds seed + m, exactly,
       whatever the thread count */
    st_ctx *ctx = st_ctx_create();
    enum { N = 80, P = 5, Q = 7, M = 5 };
    static double x[N * P], y[N], xq[Q * P], shap[N * (P + 1)], pred[Q], s1[N * (P + 1)], p1[Q], one[N * (P + 1)],
        po[Q];
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < P; j++) x[i * P + j] = urand();
        y[i] = x[i * P] + 0.3 * urand() > 0.6;
    }
    for (int i = 0; i < Q * P; i++) xq[i] = urand();
    st_gbt_opts o;
    memset(&o, 0, sizeof o);
    o.n_estimators = 20;
    o.max_depth = 3;
    o.subsample = 0.7;
    o.colsample_bytree = 0.6;
    o.seed = 10;
    CHECK_OK(ctx, st_gbt_ensemble(ctx, &o, M, N, P, x, P, y, NULL, shap, Q, xq, P, pred));
    memset(s1, 0, sizeof s1);
    memset(p1, 0, sizeof p1);
    for (int m = 0; m < M; m++) {
        st_gbt_opts om = o;
        om.seed = o.seed + m;
        om.nthread = 1;
        st_gbt *g = NULL;
        CHECK_OK(ctx, st_gbt_create(ctx, &om, &g));
        CHECK_OK(ctx, st_gbt_train(ctx, g, N, P, x, P, y, NULL));
        CHECK_OK(ctx, st_gbt_shap(ctx, g, N, P, x, P, one));
        CHECK_OK(ctx, st_gbt_predict(ctx, g, Q, P, xq, P, 0, po));
        for (int k = 0; k < N * (P + 1); k++) s1[k] += one[k];
        for (int k = 0; k < Q; k++) p1[k] += po[k];
        st_gbt_destroy(g);
    }
    double e = 0;
    for (int k = 0; k < N * (P + 1); k++) e = fmax(e, fabs(s1[k] / M - shap[k]));
    for (int k = 0; k < Q; k++) e = fmax(e, fabs(p1[k] / M - pred[k]));
    CHECK_MSG(e == 0, "ensemble differs from the sequential mean by %g", e);
    int nt = st_get_num_threads();
    st_set_num_threads(1);
    CHECK_OK(ctx, st_gbt_ensemble(ctx, &o, M, N, P, x, P, y, NULL, s1, Q, xq, P, p1));
    st_set_num_threads(nt);
    CHECK(memcmp(s1, shap, sizeof shap) == 0 && memcmp(p1, pred, sizeof pred) == 0);
    /* errors name the model; bad options are caught before any thread starts */
    CHECK(st_gbt_ensemble(ctx, &o, 0, N, P, x, P, y, NULL, shap, 0, NULL, 0, NULL) == ST_ERR_ARG);
    o.subsample = 3;
    CHECK(st_gbt_ensemble(ctx, &o, M, N, P, x, P, y, NULL, shap, 0, NULL, 0, NULL) == ST_ERR_ARG);
    CHECK(strstr(st_ctx_message(ctx), "subsample (3)") != NULL);
    st_ctx_destroy(ctx);
}

TEST(distance_matrix_errors)
{
    st_ctx *ctx = st_ctx_create();
    double d[9] = {0, 1, 2, 1, 0, 3, 2, 3.5, 0}, Z[8], y[6];
    int64_t e[4];
    double w[2];
    CHECK(st_ml_ward(ctx, 3, d, 3, Z) == ST_ERR_ARG);
    CHECK(strstr(st_ctx_message(ctx), "not symmetric: d(1, 2) = 3") != NULL);
    d[7] = 3;
    d[5] = d[7] = -1;
    CHECK(st_ml_mst(ctx, 3, d, 3, e, w) == ST_ERR_ARG);
    CHECK(strstr(st_ctx_message(ctx), "distance (1, 2) = -1") != NULL);
    d[5] = d[7] = 3;
    CHECK(st_ml_mds(ctx, 3, d, 2, 2, y, NULL) == ST_ERR_ARG);
    CHECK(strstr(st_ctx_message(ctx), "row stride 2") != NULL);
    double bad[8] = {0, 1, 1, 0, 7, 9, 1, 2};   /* row 1 refers to cluster 7 which does not exist */
    int32_t lab[3];
    CHECK(st_ml_linkage_cut(ctx, 3, bad, 1, lab, NULL) == ST_ERR_ARG);
    CHECK(strstr(st_ctx_message(ctx), "row 1") != NULL);
    st_ctx_destroy(ctx);
}

int main(void)
{
    RUN(roc_auc_hand_cases);
    RUN(average_precision_hand_cases);
    RUN(metric_errors);
    RUN(mst_known_graph_and_kruskal);
    RUN(ward_hand_example);
    RUN(ward_vs_greedy_centroids);
    RUN(mds_recovers_euclidean);
    RUN(tsne_separates_clusters);
    RUN(logreg_closed_form);
    RUN(logreg_gradient_and_optimum);
    RUN(logreg_errors);
    RUN(gbt_separable_and_shap);
    RUN(gbt_ensemble_matches_sequential);
    RUN(distance_matrix_errors);
    return DONE();
}
