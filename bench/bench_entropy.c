/* bench_entropy.c -- timings of the entropy kernels beside the reference figures of
 * ../shared/docs/quests-reference.md (QUESTS on a 2-core machine like ours).  Never asserts.
 *
 *   (a) dense path GFLOP/s (distance part, 2d flops per pair) vs OpenBLAS DGEMM of the same shape
 *   (b) exact entropy of BENCH_N (1e5) environments: PRUNED vs DENSE, wall, CPU, peak RSS
 *   (c) dH of BENCH_M (1e6) environments against BENCH_NREF (1e5): PRUNED and APPROX, error vs
 *       exact (DENSE) on a subsample of BENCH_SUB queries
 *   (d) time vs N (BENCH_SCALING, default 1000,10000,100000,1000000)
 * Environment: BENCH_PARTS (default "abcd"), BENCH_DATA (quests | synthetic), BENCH_DENSE_N
 * (20000), BENCH_N, BENCH_M, BENCH_NREF, BENCH_SUB, BENCH_SCALING, BENCH_DENSE_CHECK (1),
 * BENCH_C_METHODS (comma list of fast, pruned, approx, approx3; default "fast,pruned"),
 * BENCH_D_METHOD (auto | fast).
 * Each part runs in a child process so its peak RSS is its own.  The machine may be shared: CPU
 * time is printed beside wall time.
 *
 * Environments: QUESTS descriptors (csrc/desc, k = 32, rc = 5 Å) of thermally disordered Cu-like
 * crystals (fcc, bcc, hcp; strain, vacancies, Gaussian noise), or, with BENCH_DATA=synthetic or
 * if the descriptor is unavailable, Gaussian clusters around a few hundred centres with spreads
 * like those of the QUESTS rows.
 */
#include "strata.h"
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double wall(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
static double cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
static long envl(const char *name, long def)
{
    const char *s = getenv(name);
    return s && *s ? atol(s) : def;
}

static unsigned long long rs = 88172645463325252ull;
static double ur(void)
{
    rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17;
    return (double)(rs >> 11) * 0x1.0p-53;
}
static double nr(void)
{
    double u = ur(), v = ur();
    if (u < 1e-300) u = 1e-300;
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* ---- environments ---------------------------------------------------------------------- */

static int use_synthetic;

/* One disordered crystal frame: structure 0 fcc, 1 bcc, 2 hcp. */
static int crystal_frame(int kind, double sigma, double strain, double vac, double *pos,
                         double *cell)
{
    static const double fcc[4][3] = {{0, 0, 0}, {.5, .5, 0}, {.5, 0, .5}, {0, .5, .5}};
    static const double bcc[2][3] = {{0, 0, 0}, {.5, .5, .5}};
    static const double hcp[4][3] = {{0, 0, 0}, {.5, .5, 0}, {.5, 1.0 / 6, .5}, {0, 2.0 / 3, .5}};
    const double (*b)[3] = kind == 0 ? fcc : kind == 1 ? bcc : hcp;
    int nb = kind == 1 ? 2 : 4, rep[3];
    double L[3];
    if (kind == 0) { L[0] = L[1] = L[2] = 3.61; rep[0] = 5; rep[1] = 5; rep[2] = 10; }
    else if (kind == 1) { L[0] = L[1] = L[2] = 2.87; rep[0] = 8; rep[1] = 8; rep[2] = 8; }
    else { L[0] = 2.55; L[1] = 2.55 * sqrt(3.0); L[2] = 4.16; rep[0] = 8; rep[1] = 5; rep[2] = 6; }
    double s[3];
    for (int k = 0; k < 3; k++) s[k] = 1 + strain * (2 * ur() - 1);
    memset(cell, 0, 9 * sizeof *cell);
    for (int k = 0; k < 3; k++) cell[4 * k] = rep[k] * L[k] * s[k];
    int n = 0;
    for (int i = 0; i < rep[0]; i++)
        for (int j = 0; j < rep[1]; j++)
            for (int l = 0; l < rep[2]; l++)
                for (int a = 0; a < nb; a++) {
                    if (ur() < vac) continue;
                    pos[3 * n] = (i + b[a][0]) * L[0] * s[0] + sigma * nr();
                    pos[3 * n + 1] = (j + b[a][1]) * L[1] * s[1] + sigma * nr();
                    pos[3 * n + 2] = (l + b[a][2]) * L[2] * s[2] + sigma * nr();
                    n++;
                }
    return n;
}

/* n environments.  hot = 0: "training-like" (noise 0.01-0.10 Å, strain 1%, fcc/bcc/hcp);
 * hot = 1: "test-like" (noise up to 0.2 Å, strain 4%, vacancies up to 4%). */
static double *make_envs(int64_t n, int hot, unsigned long long seed)
{
    rs = seed * 2654435761ull + 1;
    double *X = malloc((size_t)n * 63 * sizeof *X);
    if (!X) return NULL;
    if (!use_synthetic) {
        st_ctx *ctx = st_ctx_create();
        double *pos = malloc(1100 * 3 * sizeof *pos), *buf = malloc(1100 * 63 * sizeof *buf);
        int pbc[3] = {1, 1, 1};
        int64_t got = 0;
        while (got < n) {
            int kind = (int)(ur() * 3);
            double sig = hot ? 0.02 + 0.18 * ur() : 0.01 + 0.09 * ur();
            double cell[9];
            int na = crystal_frame(kind, sig, hot ? 0.04 : 0.01, hot ? 0.04 * ur() : 0.0, pos,
                                   cell);
            if (st_quests_compute(ctx, na, pos, cell, pbc, NULL, NULL, buf)) {
                fprintf(stderr, "# descriptor unavailable (%s): using synthetic environments\n",
                        st_ctx_message(ctx));
                use_synthetic = 1;
                break;
            }
            int64_t take = n - got < na ? n - got : na;
            memcpy(X + got * 63, buf, (size_t)take * 63 * sizeof *X);
            got += take;
        }
        free(pos);
        free(buf);
        st_ctx_destroy(ctx);
        if (!use_synthetic) return X;
    }
    /* synthetic: 300 centres shaped like QUESTS rows (decaying x1 block), per-cluster spreads
     * 0.002-0.012 per component, i.e. rms distances of a few h = 0.015 */
    enum { C = 300 };
    static double cen[C * 63], wid[C];
    rs = 7777;
    for (int c = 0; c < C; c++) {
        for (int k = 0; k < 63; k++)
            cen[c * 63 + k] = (k < 32 ? 0.22 - 0.006 * k : 0.14 - 0.004 * (k - 32)) + 0.01 * nr();
        wid[c] = 0.002 + 0.008 * ur();
    }
    rs = seed * 2654435761ull + 1;
    for (int64_t i = 0; i < n; i++) {
        int c = (int)(ur() * C);
        double w = wid[c] * (hot ? 1.5 : 1.0);
        for (int k = 0; k < 63; k++) X[i * 63 + k] = cen[c * 63 + k] + w * nr();
    }
    return X;
}

/* ---- helpers ------------------------------------------------------------------------------ */

typedef void (*part_fn)(void);

static void run_part(const char *name, part_fn fn)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        fn();
        fflush(stdout);
        _exit(0);
    }
    int status;
    struct rusage ru;
    wait4(pid, &status, 0, &ru);
    printf("  [%s] peak RSS %.0f MB, child CPU %.1f s\n\n", name, ru.ru_maxrss / 1024.0,
           (double)ru.ru_utime.tv_sec + 1e-6 * ru.ru_utime.tv_usec);
}

static const char *method_name(int m)
{
    return m == ST_ENTROPY_DENSE ? "dense" : m == ST_ENTROPY_PRUNED ? "pruned"
         : m == ST_ENTROPY_APPROX ? "approx" : "fast";
}

/* ---- (a) dense GFLOP/s vs DGEMM ---------------------------------------------------------- */

/* DGEMM of the same shape; returns GFLOP per CPU-second (all threads' CPU time), *wall_rate the
 * wall-clock rate. */
static double dgemm_gflops(const double *X, int64_t n, int d, double *wall_rate)
{
    /* C = X X^T in row blocks (the same 2 n^2 d flops as a full product, bounded memory) */
    const int64_t B = 1024;
    double *C = malloc((size_t)B * n * sizeof *C);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)B, (int)n, d, 1.0, X, d, X, d, 0.0,
                C, (int)n);
    double t0 = wall(), c0 = cpu();
    for (int64_t r = 0; r < n; r += B) {
        int rows = (int)(n - r < B ? n - r : B);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, (int)n, d, 1.0, X + r * d, d,
                    X, d, 0.0, C, (int)n);
    }
    double t = wall() - t0, ct = cpu() - c0;
    free(C);
    *wall_rate = 2.0 * (double)n * (double)n * d / t * 1e-9;
    return 2.0 * (double)n * (double)n * d / ct * 1e-9;
}

static void part_a(void)
{
    const int64_t n = envl("BENCH_DENSE_N", 20000);
    printf("(a) dense path vs OpenBLAS DGEMM, N = %lld, d = 63, %d threads\n", (long long)n,
           st_get_num_threads());
    st_ctx *ctx = st_ctx_create();
    double *U = malloc((size_t)n * 63 * sizeof *U);
    for (int64_t i = 0; i < n * 63; i++) U[i] = ur();   /* far apart: exponentials skipped */
    double *Q = make_envs(n, 0, 1);                      /* real-like: every pair in range */
    double gw, gd = dgemm_gflops(U, n, 63, &gw);
    printf("    OpenBLAS dgemm X X^T (%lld x %lld x 63): %.1f GFLOP per CPU-second (%.1f GFLOP/s "
           "wall)\n", (long long)n, (long long)n, gd, gw);
    double h6[6] = {0.015, 0.005, 0.01, 0.03, 0.05, 0.1};
    struct { const char *what; double *X; int nh; int method; } cs[4] = {
        {"uniform data, h=0.015 (terms negligible)", U, 1, ST_ENTROPY_DENSE},
        {"QUESTS-like data, h=0.015 (all pairs in range)", Q, 1, ST_ENTROPY_DENSE},
        {"QUESTS-like data, 6 bandwidths", Q, 6, ST_ENTROPY_DENSE},
        {"QUESTS-like data, h=0.015, FAST (float32)", Q, 1, ST_ENTROPY_FAST}};
    for (int c = 0; c < 4; c++) {
        st_entropy_stats st;
        st_entropy_opts o = {0};
        o.method = cs[c].method;
        o.stats = &st;
        double H[6], t0 = wall(), c0 = cpu();
        st_entropy_compute(ctx, cs[c].X, n, 63, 0, h6, cs[c].nh, &o, H, NULL);
        double t = wall() - t0, ct = cpu() - c0;
        double fl = st.pairs_computed * 2 * 63;
        printf("    %-48s %6.2f s wall (%6.2f s CPU): %5.1f GFLOP per CPU-s = %3.0f%% of DGEMM; "
               "%.2f CPU-ns/pair; recomputed %.2f%%\n", cs[c].what, t, ct, fl / ct * 1e-9,
               100 * fl / ct * 1e-9 / gd, ct / st.pairs_computed * 1e9,
               100 * st.pairs_recomputed / st.pairs_computed);
    }
    printf("    (symmetric: N(N+1)/2 pairs, each pair's dot product = 2*63 flops; DGEMM would "
           "also need the N^2 exponentials and sums.)\n");
    printf("    reference: QUESTS exact entropy ~10-20 CPU-ns per pair\n");
    free(U);
    free(Q);
    st_ctx_destroy(ctx);
}

/* ---- (b) exact entropy of 1e5 environments ---------------------------------------------- */

static void part_b(void)
{
    const int64_t n = envl("BENCH_N", 100000);
    printf("(b) exact entropy of N = %lld environments (%s), h = 0.015, %d threads\n",
           (long long)n, use_synthetic ? "synthetic" : "QUESTS descriptors", st_get_num_threads());
    double t0 = wall();
    double *X = make_envs(n, 0, 2);
    printf("    environments generated in %.1f s\n", wall() - t0);
    st_ctx *ctx = st_ctx_create();
    double h = 0.015, H[3], D[3];
    int methods[2] = {ST_ENTROPY_PRUNED, ST_ENTROPY_DENSE};
    int nm = envl("BENCH_DENSE_CHECK", 1) ? 2 : 1;
    for (int i = 0; i < nm; i++) {
        st_entropy_stats st;
        st_entropy_opts o = {0};
        o.method = methods[i];
        o.stats = &st;
        double w0 = wall(), c0 = cpu();
        int rc = st_entropy_compute(ctx, X, n, 63, 0, &h, 1, &o, &H[i], &D[i]);
        double t = wall() - w0, ct = cpu() - c0;
        printf("    %-6s rc=%d H = %.12f D = %.12f  %6.2f s wall (%6.2f s CPU); computed %.1f%% "
               "of %.3g pairs, %.2f CPU-ns/pair\n", method_name(o.method), rc, H[i], D[i], t, ct,
               100 * st.pairs_computed / st.pairs_total, st.pairs_total,
               ct / st.pairs_total * 1e9);
    }
    if (nm == 2)
        printf("    |H_pruned - H_dense| = %.2e, |D_pruned - D_dense| = %.2e (target 1e-10)\n",
               fabs(H[0] - H[1]), fabs(D[0] - D[1]));
    printf("    target < 10 s, < 1 GB; reference QUESTS: 93 s (small batch), 188 s / 11.5 GB "
           "(default batch)\n");
    free(X);
    st_ctx_destroy(ctx);
}

/* ---- (c) dH of 1e6 environments against 1e5 -------------------------------------------- */

static int in_list(const char *list, const char *name)   /* exact item of a comma list */
{
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && !strncmp(p, name, n)) return 1;
        p = e ? e + 1 : NULL;
    }
    return 0;
}

static void part_c(void)
{
    const int64_t nref = envl("BENCH_NREF", 100000), m = envl("BENCH_M", 1000000);
    const int64_t sub = envl("BENCH_SUB", 2000) < m ? envl("BENCH_SUB", 2000) : m;
    printf("(c) dH of M = %lld test-like environments against N = %lld training-like (%s), "
           "h = 0.015, %d threads\n", (long long)m, (long long)nref,
           use_synthetic ? "synthetic" : "QUESTS descriptors", st_get_num_threads());
    double t0 = wall();
    double *X = make_envs(nref, 0, 3), *Y = make_envs(m, 1, 4);
    printf("    environments generated in %.1f s\n", wall() - t0);
    st_ctx *ctx = st_ctx_create();
    double h = 0.015;
    double *dH = malloc((size_t)m * sizeof *dH), *ex = malloc((size_t)sub * sizeof *ex);
    st_entropy_opts o = {0};
    o.method = ST_ENTROPY_DENSE;
    double w0 = wall();
    st_entropy_delta(ctx, Y, sub, 63, 0, X, nref, 63, 0, &h, 1, &o, ex);   /* exact reference */
    printf("    exact (dense) dH of a %lld-query subsample: %.1f s\n", (long long)sub,
           wall() - w0);
    const char *ml = getenv("BENCH_C_METHODS");
    if (!ml || !*ml) ml = "fast,pruned";
    struct { const char *name; int method; double tol; } cs[4] = {
        {"fast", ST_ENTROPY_FAST, 0}, {"pruned", ST_ENTROPY_PRUNED, 0},
        {"approx", ST_ENTROPY_APPROX, 1e-6}, {"approx3", ST_ENTROPY_APPROX, 1e-3}};
    for (int c = 0; c < 4; c++) {
        if (!in_list(ml, cs[c].name)) continue;
        st_entropy_stats st;
        o.method = cs[c].method;
        o.tol = cs[c].tol;
        o.stats = &st;
        w0 = wall();
        double c0 = cpu();
        int rc = st_entropy_delta(ctx, Y, m, 63, 0, X, nref, 63, 0, &h, 1, &o, dH);
        double t = wall() - w0, ct = cpu() - c0;
        double err = 0, mean = 0, mx = -INFINITY, ov = 0;
        int64_t ninf = 0;
        for (int64_t i = 0; i < sub; i++) err = fmax(err, fabs(dH[i] - ex[i]));
        for (int64_t i = 0; i < m; i++) {
            mean += dH[i] / (double)m;
            mx = fmax(mx, dH[i]);
            ov += dH[i] < 1e-5;
            ninf += !isfinite(dH[i]);
        }
        printf("    %-6s rc=%d: %7.1f s wall (%7.1f s CPU, %.2f CPU-ns/pair); computed %.1f%%, "
               "neglected %.1f%%, estimated %.2f%% of %.3g pairs\n", method_name(o.method), rc, t,
               ct, ct / st.pairs_total * 1e9, 100 * st.pairs_computed / st.pairs_total,
               100 * st.pairs_neglected / st.pairs_total,
               100 * st.pairs_approximated / st.pairs_total, st.pairs_total);
        printf("           dH mean %.4f max %.3f, overlap %.4f, non-finite %lld; max |dH - exact| "
               "on subsample %.2e (stated bound %.2e)\n", mean, mx, ov / (double)m,
               (long long)ninf, err, st.error_bound);
        fflush(stdout);
    }
    printf("    target < 2 min; reference QUESTS: approximate dH slower than exact at 7,500 "
           "references, inf for 12 of 9,750 environments\n");
    free(X); free(Y); free(dH); free(ex);
    st_ctx_destroy(ctx);
}

/* ---- (d) time vs N ------------------------------------------------------------------------ */

static void part_d(void)
{
    const char *list = getenv("BENCH_SCALING");
    if (!list || !*list) list = "1000,10000,100000,1000000";
    printf("(d) entropy time vs N (%s, h = 0.015, AUTO method, %d threads)\n",
           use_synthetic ? "synthetic" : "QUESTS descriptors", st_get_num_threads());
    st_ctx *ctx = st_ctx_create();
    char *s = strdup(list);
    for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
        int64_t n = atol(tok);
        if (n <= 0) continue;
        double *X = make_envs(n, 0, 5);
        double h = 0.015, H, D;
        st_entropy_stats st;
        st_entropy_opts o = {0};
        o.stats = &st;
        const char *dm = getenv("BENCH_D_METHOD");
        if (dm && !strcmp(dm, "fast")) o.method = ST_ENTROPY_FAST;
        double w0 = wall(), c0 = cpu();
        st_entropy_compute(ctx, X, n, 63, 0, &h, 1, &o, &H, &D);
        double t = wall() - w0, ct = cpu() - c0;
        printf("    N = %8lld: %8.2f s wall (%8.2f s CPU), %-6s computed %5.1f%% of %.3g pairs, "
               "%.2f CPU-ns/pair; H = %.4f; QUESTS ~%.0f s at 9.3 wall-ns/pair\n", (long long)n,
               t, ct, method_name(st.method_used), 100 * st.pairs_computed / st.pairs_total,
               st.pairs_total, ct / st.pairs_total * 1e9, H, 9.3e-9 * (double)n * (double)n);
        fflush(stdout);
        free(X);
    }
    free(s);
    st_ctx_destroy(ctx);
}

int main(void)
{
    const char *parts = getenv("BENCH_PARTS");
    if (!parts || !*parts) parts = "abcd";
    const char *data = getenv("BENCH_DATA");
    use_synthetic = data && !strcmp(data, "synthetic");
    printf("bench_entropy: %d threads; reference figures from quests-reference.md\n\n",
           st_get_num_threads());
    if (strchr(parts, 'a')) run_part("a", part_a);
    if (strchr(parts, 'b')) run_part("b", part_b);
    if (strchr(parts, 'c')) run_part("c", part_c);
    if (strchr(parts, 'd')) run_part("d", part_d);
    return 0;
}
