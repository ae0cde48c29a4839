/* Tests for csrc/entropy/select.c: greedy entropy-maximising frame selection.
 *
 * Independent checks: a brute-force greedy written here from the definition (every step tries
 * every remaining frame, entropy of the union from st_entropy_compute on the gathered rows), on
 * data with a few frame sizes and with more than 64 distinct sizes (the bound's size buckets);
 * the direct small-block sums against the engine (explicit DENSE); H_path against the entropy of
 * the picked union; invariance under a permutation of the frames and under the thread count; and
 * error paths (status + message naming the argument, row and column), interrupts. */
#include "strata.h"
#include "check.h"
#include <stdint.h>

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;
static double urand(void)   /* splitmix64 -> [0, 1) */
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-53;
}
static double nrand(void)
{
    double u = urand(), v = urand();
    if (u < 1e-300) u = 1e-300;
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* Frames of the given sizes; each frame's rows scatter around its own centre (spread `c`) with
 * noise `s`, so frames overlap partially -- the regime where the greedy choice is not obvious. */
static double *make_frames(int64_t nf, const int64_t *sizes, int d, double c, double s, int64_t *off)
{
    off[0] = 0;
    for (int64_t f = 0; f < nf; f++) off[f + 1] = off[f] + sizes[f];
    double *X = malloc((size_t)off[nf] * d * sizeof *X);
    for (int64_t f = 0; f < nf; f++) {
        double centre[16];
        for (int k = 0; k < d; k++) centre[k] = c * nrand();
        for (int64_t i = off[f]; i < off[f + 1]; i++)
            for (int k = 0; k < d; k++) X[i * d + k] = centre[k] + s * nrand();
    }
    return X;
}

/* Entropy of the union of frames sel[0..ns-1]. */
static double union_H(st_ctx *ctx, const double *X, int d, const int64_t *off, const int64_t *sel,
                      int64_t ns, double h)
{
    int64_t n = 0;
    for (int64_t s = 0; s < ns; s++) n += off[sel[s] + 1] - off[sel[s]];
    double *Y = malloc((size_t)n * d * sizeof *Y), H = NAN;
    int64_t r = 0;
    for (int64_t s = 0; s < ns; s++)
        for (int64_t i = off[sel[s]]; i < off[sel[s] + 1]; i++, r++)
            memcpy(Y + r * d, X + i * d, (size_t)d * sizeof *Y);
    st_entropy_opts o = {0};
    o.method = ST_ENTROPY_DENSE;
    if (st_entropy_compute(ctx, Y, n, d, 0, &h, 1, &o, &H, NULL)) H = NAN;
    free(Y);
    return H;
}

/* Brute-force greedy: argmax over remaining frames of H(union), ties to the lower index. */
static void brute_greedy(st_ctx *ctx, const double *X, int d, const int64_t *off, int64_t nf,
                         double h, int64_t ns, int64_t *order, double *Hp)
{
    unsigned char *used = calloc((size_t)nf, 1);
    for (int64_t s = 0; s < ns; s++) {
        int64_t best = -1;
        double bestH = -INFINITY;
        for (int64_t f = 0; f < nf; f++) {
            if (used[f]) continue;
            order[s] = f;
            double H = union_H(ctx, X, d, off, order, s + 1, h);
            if (H > bestH + 1e-12) { bestH = H; best = f; }
        }
        order[s] = best;
        Hp[s] = bestH;
        used[best] = 1;
    }
    free(used);
}

static void check_against_brute(int64_t nf, const int64_t *sizes, int d, double c, double s,
                                 double h, int64_t ns)
{
    st_ctx *ctx = st_ctx_create();
    int64_t *off = malloc((size_t)(nf + 1) * sizeof *off);
    double *X = make_frames(nf, sizes, d, c, s, off);
    int64_t *want = malloc((size_t)ns * sizeof *want), *got = malloc((size_t)ns * sizeof *got);
    double *wantH = malloc((size_t)ns * sizeof *wantH), *gotH = malloc((size_t)ns * sizeof *gotH);
    brute_greedy(ctx, X, d, off, nf, h, ns, want, wantH);
    for (int method = 0; method < 2; method++) {   /* AUTO (direct sums), DENSE (engine) */
        st_entropy_opts ko = {0};
        ko.method = method ? ST_ENTROPY_DENSE : ST_ENTROPY_AUTO;
        st_entropy_select_stats st;
        st_entropy_select_opts so = {0};
        so.kernel = &ko;
        so.stats = &st;
        so.max_evals = 1000;
        CHECK_OK(ctx, st_entropy_select_frames(ctx, X, off[nf], d, 0, off, nf, h, ns, &so, got, gotH));
        for (int64_t k = 0; k < ns; k++) {
            CHECK_MSG(got[k] == want[k], "method %d, step %lld: picked %lld, brute force %lld", method,
                      (long long)k, (long long)got[k], (long long)want[k]);
            CHECK_NEAR(gotH[k], wantH[k], 1e-10);
        }
        CHECK(st.capped_steps == 0);
        CHECK(st.evaluations >= ns);
    }
    free(X); free(off); free(want); free(got); free(wantH); free(gotH);
    st_ctx_destroy(ctx);
}

TEST(matches_brute_force_few_sizes)
{
    int64_t sizes[14];
    for (int f = 0; f < 14; f++) sizes[f] = 3 + f % 5;
    check_against_brute(14, sizes, 5, 0.02, 0.015, 0.015, 8);
}

TEST(matches_brute_force_many_sizes)
{
    /* 70 frames of 70 distinct sizes: more than 64, so the bound uses the geometric buckets */
    int64_t sizes[70];
    for (int f = 0; f < 70; f++) sizes[f] = 1 + (f * 37) % 70;
    check_against_brute(70, sizes, 3, 0.03, 0.02, 0.015, 5);
}

TEST(h_path_is_the_entropy_of_the_union)
{
    st_ctx *ctx = st_ctx_create();
    int64_t sizes[30], off[31], order[12];
    double Hp[12], h = 0.02;
    for (int f = 0; f < 30; f++) sizes[f] = 10;
    double *X = make_frames(30, sizes, 8, 0.05, 0.02, off);
    st_entropy_select_opts so = {0};
    so.max_evals = 1;   /* capped steps still report the exact H of what they picked */
    CHECK_OK(ctx, st_entropy_select_frames(ctx, X, off[30], 8, 0, off, 30, h, 12, &so, order, Hp));
    for (int64_t k = 0; k < 12; k++) CHECK_NEAR(Hp[k], union_H(ctx, X, 8, off, order, k + 1, h), 1e-10);
    /* all picks distinct */
    for (int a = 0; a < 12; a++)
        for (int b = a + 1; b < 12; b++) CHECK(order[a] != order[b]);
    free(X);
    st_ctx_destroy(ctx);
}

TEST(invariant_to_frame_order_and_threads)
{
    st_ctx *ctx = st_ctx_create();
    enum { NF = 25, D = 6, NS = 10 };
    int64_t sizes[NF], off[NF + 1], order[NS], order2[NS], order3[NS];
    for (int f = 0; f < NF; f++) sizes[f] = 2 + f % 6;
    double *X = make_frames(NF, sizes, D, 0.03, 0.02, off);
    double h = 0.015, Hp[NS], Hp2[NS], Hp3[NS];
    CHECK_OK(ctx, st_entropy_select_frames(ctx, X, off[NF], D, 0, off, NF, h, NS, NULL, order, Hp));
    /* reverse the frames */
    int64_t off2[NF + 1], sizes2[NF];
    for (int f = 0; f < NF; f++) sizes2[f] = sizes[NF - 1 - f];
    off2[0] = 0;
    for (int f = 0; f < NF; f++) off2[f + 1] = off2[f] + sizes2[f];
    double *X2 = malloc((size_t)off[NF] * D * sizeof *X2);
    for (int f = 0; f < NF; f++)
        memcpy(X2 + off2[f] * D, X + off[NF - 1 - f] * D, (size_t)sizes2[f] * D * sizeof *X2);
    CHECK_OK(ctx, st_entropy_select_frames(ctx, X2, off[NF], D, 0, off2, NF, h, NS, NULL, order2, Hp2));
    for (int k = 0; k < NS; k++) {
        CHECK(order2[k] == NF - 1 - order[k]);
        CHECK_NEAR(Hp2[k], Hp[k], 1e-12);
    }
    /* one thread gives the same picks */
    int nt0 = st_get_num_threads();
    st_set_num_threads(1);
    CHECK_OK(ctx, st_entropy_select_frames(ctx, X, off[NF], D, 0, off, NF, h, NS, NULL, order3, Hp3));
    st_set_num_threads(nt0);
    for (int k = 0; k < NS; k++) { CHECK(order3[k] == order[k]); CHECK_NEAR(Hp3[k], Hp[k], 1e-12); }
    /* a row stride larger than d changes nothing */
    double *Xs = calloc((size_t)off[NF] * (D + 3), sizeof *Xs);
    for (int64_t i = 0; i < off[NF]; i++) memcpy(Xs + i * (D + 3), X + i * D, D * sizeof *Xs);
    CHECK_OK(ctx, st_entropy_select_frames(ctx, Xs, off[NF], D, D + 3, off, NF, h, NS, NULL, order3, Hp3));
    for (int k = 0; k < NS; k++) CHECK(order3[k] == order[k]);
    free(X); free(X2); free(Xs);
    st_ctx_destroy(ctx);
}

TEST(analytic_three_frames)
{
    /* Rows far apart compared with h, so p_i counts copies: frame 0 = two pairs of copies
     * (H = ln 2), frame 1 = three copies (H = 0), frame 2 = four distinct rows (H = ln 4).
     * Greedy: frame 2 (ln 4); then frame 0 (8 rows, p = 1,1,1,1,2,2,2,2: H = ln 8 - ln 2 / 2)
     * beats frame 1 (7 rows: H = ln 7 - 3 ln 3 / 7); then frame 1 (H = ln 11 - (4 ln 2 + 3 ln 3)/11). */
    st_ctx *ctx = st_ctx_create();
    double X[11 * 2] = {0, 0, 0, 0, 1, 1, 1, 1,     /* frame 0 */
                        5, 5, 5, 5, 5, 5,           /* frame 1 */
                        9, 0, 0, 9, 9, 9, 20, 20};  /* frame 2 */
    int64_t off[4] = {0, 4, 7, 11}, order[3];
    double Hp[3], h = 0.01;
    CHECK_OK(ctx, st_entropy_select_frames(ctx, X, 11, 2, 0, off, 3, h, 3, NULL, order, Hp));
    CHECK(order[0] == 2 && order[1] == 0 && order[2] == 1);
    CHECK_NEAR(Hp[0], log(4.0), 1e-14);
    CHECK_NEAR(Hp[1], log(8.0) - 0.5 * log(2.0), 1e-14);
    CHECK_NEAR(Hp[2], log(11.0) - (4 * log(2.0) + 3 * log(3.0)) / 11, 1e-14);
    st_ctx_destroy(ctx);
}

TEST(errors)
{
    st_ctx *ctx = st_ctx_create();
    double X[8] = {0, 0, 1, 1, 2, 2, 3, 3}, h = 0.1;
    int64_t off[3] = {0, 2, 4}, order[2];
    CHECK(st_entropy_select_frames(ctx, NULL, 4, 2, 0, off, 2, h, 1, NULL, order, NULL) == ST_ERR_ARG);
    CHECK(strstr(st_ctx_message(ctx), "st_entropy_select_frames") != NULL);
    int64_t bad0[3] = {1, 2, 4};
    CHECK(st_entropy_select_frames(ctx, X, 4, 2, 0, bad0, 2, h, 1, NULL, order, NULL) == ST_ERR_ARG);
    CHECK(strstr(st_ctx_message(ctx), "offsets[0] = 1") != NULL);
    int64_t empty[3] = {0, 0, 4};
    CHECK(st_entropy_select_frames(ctx, X, 4, 2, 0, empty, 2, h, 1, NULL, order, NULL) == ST_ERR_ARG);
    CHECK(strstr(st_ctx_message(ctx), "frame 0 is empty") != NULL);
    int64_t shortoff[3] = {0, 2, 3};
    CHECK(st_entropy_select_frames(ctx, X, 4, 2, 0, shortoff, 2, h, 1, NULL, order, NULL) == ST_ERR_ARG);
    CHECK(strstr(st_ctx_message(ctx), "but x has 4 rows") != NULL);
    double hs[3] = {0, -1, NAN};
    for (int i = 0; i < 3; i++) {
        CHECK(st_entropy_select_frames(ctx, X, 4, 2, 0, off, 2, hs[i], 1, NULL, order, NULL) == ST_ERR_ARG);
        CHECK(strstr(st_ctx_message(ctx), "bandwidth") != NULL);
    }
    CHECK(st_entropy_select_frames(ctx, X, 4, 2, 0, off, 2, h, 3, NULL, order, NULL) == ST_ERR_ARG);
    CHECK(strstr(st_ctx_message(ctx), "nselect = 3") != NULL);
    CHECK(st_entropy_select_frames(ctx, X, 4, 2, 0, off, 2, h, 1, NULL, NULL, NULL) == ST_ERR_ARG);
    st_entropy_select_opts so = {0};
    so.max_evals = -2;
    CHECK(st_entropy_select_frames(ctx, X, 4, 2, 0, off, 2, h, 1, &so, order, NULL) == ST_ERR_ARG);
    CHECK(strstr(st_ctx_message(ctx), "max_evals") != NULL);
    CHECK(st_entropy_select_frames(ctx, X, 4, 2, 1, off, 2, h, 1, NULL, order, NULL) == ST_ERR_ARG);
    X[5] = INFINITY;
    CHECK(st_entropy_select_frames(ctx, X, 4, 2, 0, off, 2, h, 1, NULL, order, NULL) == ST_ERR_NUMERIC);
    CHECK(strstr(st_ctx_message(ctx), "row 2, column 1") != NULL);
    X[5] = 2;
    CHECK_OK(ctx, st_entropy_select_frames(ctx, X, 4, 2, 0, off, 2, h, 0, NULL, NULL, NULL));
    st_interrupt();
    CHECK(st_entropy_select_frames(ctx, X, 4, 2, 0, off, 2, h, 2, NULL, order, NULL) == ST_ERR_INTERRUPTED);
    st_interrupt_clear();
    CHECK_OK(ctx, st_entropy_select_frames(ctx, X, 4, 2, 0, off, 2, h, 2, NULL, order, NULL));
    st_ctx_destroy(ctx);
}

int main(void)
{
    RUN(matches_brute_force_few_sizes);
    RUN(matches_brute_force_many_sizes);
    RUN(h_path_is_the_entropy_of_the_union);
    RUN(invariant_to_frame_order_and_threads);
    RUN(analytic_three_frames);
    RUN(errors);
    return DONE();
}
