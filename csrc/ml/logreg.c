/* logreg.c -- L2-regularised binary logistic regression solved exactly by Newton's method
 * (iteratively reweighted least squares) with a backtracking line search.
 *
 * Objective (scikit-learn's parametrisation, so C means the same thing):
 *     f(w, b) = |w|^2 / 2 + C sum_i s_i [log(1 + exp(z_i)) - y_i z_i],   z_i = x_i . w + b,
 * s_i = sample weight x class weight; "balanced" class weights are n / (2 n_c) (King & Zeng,
 * Political Analysis 9, 137 (2001); scikit-learn's class_weight="balanced").
 * Gradient  g = w + C X^T (s o (sigma(z) - y)),  Hessian  H = I + C X^T diag(s sigma (1 - sigma)) X
 * (intercept unpenalised; Hastie, Tibshirani & Friedman, ESL 2nd ed., sec. 4.4.1, with the
 * ridge term added).  Each step solves H d = -g by Cholesky (LAPACK dpotrf/dpotrs) and halves
 * the step until the Armijo condition holds (Nocedal & Wright, Numerical Optimization, 2nd ed.,
 * Alg. 3.1); it stops when the Newton decrement g^T H^-1 g / 2 falls below tol (1 + |f|) (Boyd &
 * Vandenberghe, Convex Optimization, sec. 9.5.1).  Internally f is divided by C, so C = infinity
 * (no penalty) works whenever the data are not separable.
 * Standardisation (optional) z-scores each column with its mean and population standard deviation
 * over the training rows (a constant column is left unscaled), fits, and maps w, b back.
 *
 * Does not: multinomial or one-vs-rest problems, L1 penalties, or sparse data; the Hessian is
 * dense, (p + 1)^2 doubles, so p up to a few thousand.
 */
#include "ml_internal.h"
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

extern void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info, size_t);
extern void dpotrs_(const char *uplo, const int *n, const int *nrhs, const double *a, const int *lda,
                    double *b, const int *ldb, int *info, size_t);

static double softplus(double z) { return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z)); }
static double sigmoid(double z)
{
    if (z >= 0) return 1 / (1 + exp(-z));
    double e = exp(z);
    return e / (1 + e);
}

typedef struct {
    int64_t n, p, ldz;
    const double *z;      /* features [n][ldz] */
    const double *y, *s;  /* labels, per-row weights (sample x class) */
    int has_b;
    double lam;           /* 1 / C (0 when C is infinite) */
} problem;

/* f/C and, when g != NULL, its gradient; when h != NULL (with work [n][q]) the Hessian [q][q]. */
static double evaluate(const problem *P, const double *theta, double *g, double *h, double *work)
{
    int64_t n = P->n, p = P->p, q = p + P->has_b;
    double b = P->has_b ? theta[p] : 0, f = 0;
    for (int64_t j = 0; j < p; j++) f += 0.5 * P->lam * theta[j] * theta[j];
    if (g) {
        for (int64_t j = 0; j < p; j++) g[j] = P->lam * theta[j];
        if (P->has_b) g[p] = 0;
    }
    for (int64_t i = 0; i < n; i++) {
        const double *x = P->z + i * P->ldz;
        double z = b;
        for (int64_t j = 0; j < p; j++) z += x[j] * theta[j];
        double si = P->s[i];
        if (si == 0) {
            if (work) memset(work + i * q, 0, (size_t)q * sizeof(double));
            continue;
        }
        f += si * (softplus(z) - P->y[i] * z);
        double sg = sigmoid(z), r = si * (sg - P->y[i]);
        if (g) {
            for (int64_t j = 0; j < p; j++) g[j] += r * x[j];
            if (P->has_b) g[p] += r;
        }
        if (work) {   /* row sqrt(s sigma (1 - sigma)) [x, 1] for H = W^T W */
            double w = sqrt(si * sg * (1 - sg));
            for (int64_t j = 0; j < p; j++) work[i * q + j] = w * x[j];
            if (P->has_b) work[i * q + p] = w;
        }
    }
    if (h) {
        cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, (int)q, (int)n, 1.0, work, (int)q, 0.0, h, (int)q);
        for (int64_t j = 0; j < p; j++) h[j * q + j] += P->lam;
        for (int64_t a = 0; a < q; a++)
            for (int64_t c = a + 1; c < q; c++) h[a * q + c] = h[c * q + a];
    }
    return f;
}

static int read_opts(st_ctx *ctx, const char *where, const st_logreg_opts *opts, int64_t n, const double *y,
                     const double *sw, double **s_out, double *C_out, st_logreg_opts *o)
{
    memset(o, 0, sizeof *o);
    if (opts) *o = *opts;
    double C = o->C != 0 ? o->C : 1;
    if (!(C > 0)) return st_fail(ctx, ST_ERR_ARG, "%s: C = %g must be > 0 (HUGE_VAL = no penalty)", where, C);
    double cw[2] = {o->class_weight[0] != 0 ? o->class_weight[0] : 1, o->class_weight[1] != 0 ? o->class_weight[1] : 1};
    if (!(cw[0] > 0) || !(cw[1] > 0) || !isfinite(cw[0]) || !isfinite(cw[1]))
        return st_fail(ctx, ST_ERR_ARG, "%s: class weights (%g, %g) must be finite and > 0", where, cw[0], cw[1]);
    if (o->balanced) {
        double npos = 0;
        for (int64_t i = 0; i < n; i++) npos += y[i];
        if (npos == 0 || npos == n)
            return st_fail(ctx, ST_ERR_ARG, "%s: balanced class weights need both classes (%g positives of %lld)",
                           where, npos, (long long)n);
        cw[0] = (double)n / (2 * ((double)n - npos));
        cw[1] = (double)n / (2 * npos);
    }
    double *s = st_malloc_array((size_t)n, sizeof *s);
    if (!s) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", where);
    for (int64_t i = 0; i < n; i++) {
        double w = sw ? sw[i] : 1;
        if (!isfinite(w) || w < 0) {
            free(s);
            return st_fail(ctx, ST_ERR_ARG, "%s: sample weight %lld is %g, expected a finite number >= 0", where,
                           (long long)i, w);
        }
        s[i] = w * cw[y[i] == 1];
    }
    *s_out = s;
    *C_out = C;
    return ST_OK;
}

int st_ml_logreg_objective(st_ctx *ctx, int64_t n, int64_t p, const double *x, int64_t ldx, const double *y,
                           const double *sample_weight, const st_logreg_opts *opts, const double *coef,
                           double intercept, double *f, double *grad)
{
    int rc = st_ml_check_xy(ctx, "ml_logreg_objective", n, p, x, ldx, y, 1, 0);
    if (rc) return rc;
    if (!coef || !f) return st_fail(ctx, ST_ERR_ARG, "ml_logreg_objective: NULL coefficients or output");
    st_logreg_opts o;
    double *s, C;
    if ((rc = read_opts(ctx, "ml_logreg_objective", opts, n, y, sample_weight, &s, &C, &o))) return rc;
    double *theta = st_malloc_array((size_t)(p + 1), sizeof *theta);
    if (!theta) { free(s); return st_fail(ctx, ST_ERR_NOMEM, "ml_logreg_objective: out of memory"); }
    memcpy(theta, coef, (size_t)p * sizeof *theta);
    theta[p] = intercept;
    /* evaluate f / C with the intercept always free, then rescale: f = C (lam |w|^2/2 + loss) */
    problem P = {n, p, ldx, x, y, s, 1, isinf(C) ? 0 : 1 / C};
    double scale = isinf(C) ? 1 : C;
    *f = scale * evaluate(&P, theta, grad, NULL, NULL);
    if (grad)
        for (int64_t j = 0; j <= p; j++) grad[j] *= scale;
    free(theta);
    free(s);
    return ST_OK;
}

int st_ml_logreg_predict(st_ctx *ctx, int64_t n, int64_t p, const double *x, int64_t ldx, const double *coef,
                         double intercept, double *prob)
{
    int rc = st_ml_check_xy(ctx, "ml_logreg_predict", n, p, x, ldx, NULL, 0, 0);
    if (rc) return rc;
    if (!coef || !prob) return st_fail(ctx, ST_ERR_ARG, "ml_logreg_predict: NULL coefficients or output");
    for (int64_t i = 0; i < n; i++) {
        double z = intercept;
        for (int64_t j = 0; j < p; j++) z += x[i * ldx + j] * coef[j];
        prob[i] = sigmoid(z);
    }
    return ST_OK;
}

/* Cholesky solve of h d = rhs (h [q][q] symmetric; overwritten).  Adds a tiny ridge once if h is
 * numerically singular.  Returns 0 or -1. */
static int chol_solve(int64_t q, double *h, double *hcopy, double *rhs)
{
    int Q = (int)q, one = 1, info = 0;
    memcpy(hcopy, h, (size_t)(q * q) * sizeof *h);
    dpotrf_("L", &Q, hcopy, &Q, &info, 1);
    if (info) {
        double tr = 0;
        for (int64_t a = 0; a < q; a++) tr += h[a * q + a];
        memcpy(hcopy, h, (size_t)(q * q) * sizeof *h);
        for (int64_t a = 0; a < q; a++) hcopy[a * q + a] += 1e-10 * (tr / (double)q + 1e-300);
        dpotrf_("L", &Q, hcopy, &Q, &info, 1);
        if (info) return -1;
    }
    dpotrs_("L", &Q, &one, hcopy, &Q, rhs, &Q, &info, 1);
    return info ? -1 : 0;
}

int st_ml_logreg_fit(st_ctx *ctx, int64_t n, int64_t p, const double *x, int64_t ldx, const double *y,
                     const double *sample_weight, const st_logreg_opts *opts, double *coef, double *intercept,
                     st_logreg_info *info)
{
    const char *where = "ml_logreg_fit";
    int rc = st_ml_check_xy(ctx, where, n, p, x, ldx, y, 1, 0);
    if (rc) return rc;
    if (!coef) return st_fail(ctx, ST_ERR_ARG, "%s: NULL coefficient output", where);
    if (p > 20000) return st_fail(ctx, ST_ERR_ARG, "%s: p = %lld too large for the dense Newton solver", where, (long long)p);
    st_logreg_opts o;
    double *s = NULL, C;
    if ((rc = read_opts(ctx, where, opts, n, y, sample_weight, &s, &C, &o))) return rc;
    int has_b = !o.no_intercept;
    if (has_b && !intercept) { free(s); return st_fail(ctx, ST_ERR_ARG, "%s: NULL intercept output", where); }
    int max_iter = o.max_iter > 0 ? o.max_iter : 100;
    double tol = o.tol > 0 ? o.tol : 1e-12;
    int64_t q = p + has_b;
    double *mu = NULL, *sd = NULL, *zs = NULL;
    double *theta = st_calloc_array((size_t)q, sizeof(double)), *trial = st_malloc_array((size_t)q, sizeof(double));
    double *g = st_malloc_array((size_t)q, sizeof(double)), *dir = st_malloc_array((size_t)q, sizeof(double));
    double *h = st_malloc_array((size_t)(q * q), sizeof(double)), *hc = st_malloc_array((size_t)(q * q), sizeof(double));
    double *work = st_malloc_array((size_t)(n * q), sizeof(double));
    if (!theta || !trial || !g || !dir || !h || !hc || !work) {
        rc = st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory (n = %lld, p = %lld)", where, (long long)n, (long long)p);
        goto done;
    }
    problem P = {n, p, ldx, x, y, s, has_b, isinf(C) ? 0 : 1 / C};
    if (o.standardize) {
        mu = st_calloc_array((size_t)p, sizeof(double));
        sd = st_calloc_array((size_t)p, sizeof(double));
        zs = st_malloc_array((size_t)(n * p), sizeof(double));
        if (!mu || !sd || !zs) { rc = st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", where); goto done; }
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < p; j++) mu[j] += x[i * ldx + j] / (double)n;
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < p; j++) sd[j] += (x[i * ldx + j] - mu[j]) * (x[i * ldx + j] - mu[j]) / (double)n;
        for (int64_t j = 0; j < p; j++) sd[j] = sd[j] > 1e-300 ? sqrt(sd[j]) : 1;
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < p; j++) zs[i * p + j] = (x[i * ldx + j] - mu[j]) / sd[j];
        P.z = zs;
        P.ldz = p;
    }
    int it = 0, converged = 0;
    double f = evaluate(&P, theta, g, h, work);
    for (; it < max_iter; it++) {
        if ((rc = st_check_interrupt(ctx, where))) goto done;
        for (int64_t a = 0; a < q; a++) dir[a] = -g[a];
        if (chol_solve(q, h, hc, dir)) {
            rc = st_fail(ctx, ST_ERR_NUMERIC, "%s: Hessian not positive definite at iteration %d (separable "
                         "data without a penalty?)", where, it);
            goto done;
        }
        double dec = 0;   /* Newton decrement squared = g^T H^-1 g */
        for (int64_t a = 0; a < q; a++) dec -= g[a] * dir[a];
        if (dec / 2 <= tol * (1 + fabs(f))) {
            /* converged: one last full step squares the remaining error (quadratic convergence)
               when it does not raise f beyond rounding */
            for (int64_t a = 0; a < q; a++) trial[a] = theta[a] + dir[a];
            if (evaluate(&P, trial, NULL, NULL, NULL) <= f + 1e-15 * (1 + fabs(f))) {
                memcpy(theta, trial, (size_t)q * sizeof *theta);
                f = evaluate(&P, theta, g, NULL, NULL);
            }
            converged = 1;
            break;
        }
        /* backtracking line search (Armijo, c = 1e-4) */
        double t = 1, ft = f;
        for (int k = 0; k < 60; k++) {
            for (int64_t a = 0; a < q; a++) trial[a] = theta[a] + t * dir[a];
            ft = evaluate(&P, trial, NULL, NULL, NULL);
            if (ft <= f - 1e-4 * t * dec) break;
            t *= 0.5;
        }
        if (!(ft <= f)) { converged = 1; break; }   /* no decrease left at machine precision */
        memcpy(theta, trial, (size_t)q * sizeof *theta);
        f = evaluate(&P, theta, g, h, work);
    }
    /* outputs in the original column scale */
    double b = has_b ? theta[p] : 0;
    for (int64_t j = 0; j < p; j++) {
        coef[j] = o.standardize ? theta[j] / sd[j] : theta[j];
        if (o.standardize) b -= theta[j] * mu[j] / sd[j];
    }
    if (has_b) *intercept = b;
    if (info) {
        double scale = isinf(C) ? 1 : C, gmax = 0;
        for (int64_t a = 0; a < q; a++) gmax = fmax(gmax, fabs(g[a]));
        info->iterations = it;
        info->objective = scale * f;
        info->grad_norm = scale * gmax;
    }
    if (!converged)
        rc = st_fail(ctx, ST_ERR_NUMERIC, "%s: Newton did not converge in %d iterations", where, max_iter);
done:
    free(s); free(mu); free(sd); free(zs); free(theta); free(trial); free(g); free(dir); free(h); free(hc); free(work);
    return rc;
}
