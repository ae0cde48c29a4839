/* gbt.c -- gradient-boosted decision trees through libxgboost's C API, with tree SHAP values.
 *
 * Gradient boosting with second-order (Newton) leaf weights and the regularised split gain of
 * Chen & Guestrin, KDD 2016 (eq. 2-7); XGBoost does the work.  This file owns the lifetimes: an
 * st_gbt holds the parameters, the training DMatrix (kept until the next training or destroy,
 * because the booster caches predictions against it) and the Booster; every XGBoost failure is
 * turned into a status with XGBGetLastError()'s text through st_fail.  Data cross as float (what
 * XGBoost stores); NaN marks a missing value.  Defaults are XGBoost 1.7's own, so an all-zero
 * st_gbt_opts trains what XGBClassifier() would (base_score 0.5, tree_method "auto").
 * SHAP values: XGBoost's exact tree SHAP (Lundberg, Erion & Lee, arXiv:1802.03888, Algorithm 2);
 * per row the contributions plus the bias column sum to the margin.
 *
 * st_gbt_ensemble trains independent boosters concurrently (separate Booster and DMatrix objects
 * per thread; XGBoost keeps its error text per thread) and sums their outputs in model order.
 * Does not: multi-class objectives, early stopping or evaluation sets (the caller holds out data
 * and scores predictions itself), GPU training, or model files (train again from the seed: it is
 * deterministic).
 */
#include "ml_internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <xgboost/c_api.h>
#ifdef _OPENMP
#include <omp.h>
#endif

enum { MAX_PARAMS = 64 };

struct st_gbt {
    int nparams;
    char *names[MAX_PARAMS], *values[MAX_PARAMS];
    int32_t rounds;
    int32_t objective;
    int64_t nfeat;
    DMatrixHandle dtrain;
    BoosterHandle booster;
};

static int xgb_fail(st_ctx *ctx, const char *what)
{
    const char *m = XGBGetLastError();
    /* XGBoost messages start with a source location and may span lines: keep the first line's
       text after the "]: " prefix */
    char buf[512];
    const char *s = m ? m : "unknown error";
    const char *p = strstr(s, "]: ");
    if (p) s = p + 3;
    size_t len = strcspn(s, "\n");
    if (len >= sizeof buf) len = sizeof buf - 1;
    memcpy(buf, s, len);
    buf[len] = 0;
    return st_fail(ctx, ST_ERR_ARG, "gbt: %s: %s", what, buf);
}

static int put(st_ctx *ctx, st_gbt *m, const char *name, const char *value)
{
    for (int i = 0; i < m->nparams; i++)
        if (strcmp(m->names[i], name) == 0) {
            char *v = st_strdup(value);
            if (!v) return st_fail(ctx, ST_ERR_NOMEM, "gbt: out of memory");
            free(m->values[i]);
            m->values[i] = v;
            return ST_OK;
        }
    if (m->nparams >= MAX_PARAMS) return st_fail(ctx, ST_ERR_ARG, "gbt: more than %d parameters", MAX_PARAMS);
    char *n = st_strdup(name), *v = st_strdup(value);
    if (!n || !v) { free(n); free(v); return st_fail(ctx, ST_ERR_NOMEM, "gbt: out of memory"); }
    m->names[m->nparams] = n;
    m->values[m->nparams++] = v;
    return ST_OK;
}

static int putnum(st_ctx *ctx, st_gbt *m, const char *name, double v)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%.17g", v);
    return put(ctx, m, name, buf);
}

void st_gbt_destroy(st_gbt *m)
{
    if (!m) return;
    if (m->booster) XGBoosterFree(m->booster);
    if (m->dtrain) XGDMatrixFree(m->dtrain);
    for (int i = 0; i < m->nparams; i++) { free(m->names[i]); free(m->values[i]); }
    free(m);
}

int st_gbt_create(st_ctx *ctx, const st_gbt_opts *opts, st_gbt **out)
{
    if (!out) return st_fail(ctx, ST_ERR_ARG, "gbt_create: NULL output");
    *out = NULL;
    st_gbt_opts o;
    memset(&o, 0, sizeof o);
    if (opts) o = *opts;
    if (o.n_estimators < 0 || o.max_depth < 0 || o.nthread < 0)
        return st_fail(ctx, ST_ERR_ARG, "gbt_create: n_estimators (%d), max_depth (%d) and nthread (%d) "
                       "must be >= 0", o.n_estimators, o.max_depth, o.nthread);
    if (o.learning_rate < 0 || o.subsample < 0 || o.subsample > 1 || o.colsample_bytree < 0 ||
        o.colsample_bytree > 1 || o.gamma < 0 || o.scale_pos_weight < 0)
        return st_fail(ctx, ST_ERR_ARG, "gbt_create: learning_rate (%g), gamma (%g) and scale_pos_weight (%g) "
                       "must be >= 0; subsample (%g) and colsample_bytree (%g) in (0, 1]", o.learning_rate,
                       o.gamma, o.scale_pos_weight, o.subsample, o.colsample_bytree);
    if (o.objective != ST_GBT_BINARY_LOGISTIC && o.objective != ST_GBT_SQUARED_ERROR)
        return st_fail(ctx, ST_ERR_ARG, "gbt_create: objective = %d: expected ST_GBT_BINARY_LOGISTIC (0) or "
                       "ST_GBT_SQUARED_ERROR (1)", o.objective);
    st_gbt *m = calloc(1, sizeof *m);
    if (!m) return st_fail(ctx, ST_ERR_NOMEM, "gbt_create: out of memory");
    m->rounds = o.n_estimators ? o.n_estimators : 100;
    m->objective = o.objective;
    /* verbosity first, so that nothing below prints */
    int rc = put(ctx, m, "verbosity", "0");
    if (!rc) rc = put(ctx, m, "objective", o.objective == ST_GBT_BINARY_LOGISTIC ? "binary:logistic" : "reg:squarederror");
    if (!rc) rc = putnum(ctx, m, "max_depth", o.max_depth ? o.max_depth : 6);
    if (!rc) rc = putnum(ctx, m, "eta", o.learning_rate != 0 ? o.learning_rate : 0.3);
    if (!rc) rc = putnum(ctx, m, "subsample", o.subsample != 0 ? o.subsample : 1);
    if (!rc) rc = putnum(ctx, m, "colsample_bytree", o.colsample_bytree != 0 ? o.colsample_bytree : 1);
    if (!rc) rc = putnum(ctx, m, "min_child_weight", o.min_child_weight > 0 ? o.min_child_weight : o.min_child_weight < 0 ? 0 : 1);
    if (!rc) rc = putnum(ctx, m, "lambda", o.reg_lambda > 0 ? o.reg_lambda : o.reg_lambda < 0 ? 0 : 1);
    if (!rc) rc = putnum(ctx, m, "gamma", o.gamma);
    if (!rc) rc = putnum(ctx, m, "scale_pos_weight", o.scale_pos_weight != 0 ? o.scale_pos_weight : 1);
    if (!rc) rc = putnum(ctx, m, "seed", (double)o.seed);
    if (!rc && o.nthread) rc = putnum(ctx, m, "nthread", o.nthread);
    if (!rc) rc = put(ctx, m, "base_score", "0.5");
    if (rc) { st_gbt_destroy(m); return rc; }
    *out = m;
    return ST_OK;
}

int st_gbt_set_param(st_ctx *ctx, st_gbt *m, const char *name, const char *value)
{
    if (!m || !name || !value || !*name) return st_fail(ctx, ST_ERR_ARG, "gbt_set_param: NULL or empty argument");
    if (strcmp(name, "n_estimators") == 0) {
        char *end;
        long v = strtol(value, &end, 10);
        if (*end || v < 1 || v > 1000000)
            return st_fail(ctx, ST_ERR_ARG, "gbt_set_param: n_estimators: expected an integer 1..1000000, got '%s'", value);
        m->rounds = (int32_t)v;
        return ST_OK;
    }
    return put(ctx, m, name, value);
}

int st_gbt_nfeatures(const st_gbt *m) { return m ? (int)m->nfeat : 0; }

/* x [n][ldx] -> a new float DMatrix (NaN = missing). */
static int make_dmatrix(st_ctx *ctx, const char *where, int64_t n, int64_t p, const double *x, int64_t ldx,
                        DMatrixHandle *out)
{
    float *buf = st_malloc_array((size_t)n * (size_t)p, sizeof *buf);
    if (!buf) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory (%lld x %lld)", where, (long long)n, (long long)p);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < p; j++) buf[i * p + j] = (float)x[i * ldx + j];
    int r = XGDMatrixCreateFromMat(buf, (bst_ulong)n, (bst_ulong)p, NAN, out);
    free(buf);
    if (r) return xgb_fail(ctx, "XGDMatrixCreateFromMat");
    return ST_OK;
}

int st_gbt_train(st_ctx *ctx, st_gbt *m, int64_t n, int64_t p, const double *x, int64_t ldx, const double *y,
                 const double *weights)
{
    if (!m) return st_fail(ctx, ST_ERR_ARG, "gbt_train: NULL booster");
    int rc = st_ml_check_xy(ctx, "gbt_train", n, p, x, ldx, y, m->objective == ST_GBT_BINARY_LOGISTIC, 1);
    if (rc) return rc;
    if (!y) return st_fail(ctx, ST_ERR_ARG, "gbt_train: NULL labels");
    if (weights)
        for (int64_t i = 0; i < n; i++)
            if (!isfinite(weights[i]) || weights[i] < 0)
                return st_fail(ctx, ST_ERR_ARG, "gbt_train: weight %lld is %g, expected a finite number >= 0",
                               (long long)i, weights[i]);
    if (m->booster) { XGBoosterFree(m->booster); m->booster = NULL; }
    if (m->dtrain) { XGDMatrixFree(m->dtrain); m->dtrain = NULL; }
    m->nfeat = 0;
    DMatrixHandle dm = NULL;
    BoosterHandle b = NULL;
    float *fy = st_malloc_array((size_t)n, sizeof *fy);
    if (!fy) return st_fail(ctx, ST_ERR_NOMEM, "gbt_train: out of memory");
    if ((rc = make_dmatrix(ctx, "gbt_train", n, p, x, ldx, &dm))) goto fail;
    for (int64_t i = 0; i < n; i++) fy[i] = (float)y[i];
    if (XGDMatrixSetFloatInfo(dm, "label", fy, (bst_ulong)n)) { rc = xgb_fail(ctx, "setting labels"); goto fail; }
    if (weights) {
        for (int64_t i = 0; i < n; i++) fy[i] = (float)weights[i];
        if (XGDMatrixSetFloatInfo(dm, "weight", fy, (bst_ulong)n)) { rc = xgb_fail(ctx, "setting weights"); goto fail; }
    }
    if (XGBoosterCreate(&dm, 1, &b)) { rc = xgb_fail(ctx, "XGBoosterCreate"); goto fail; }
    /* threads: below ~1e6 cells a round takes a millisecond and OpenMP barriers cost more than
       they save (measured 10-30x slower with 2 threads on a busy 2-core machine); an explicit
       nthread (or the "nthread" parameter) overrides this */
    char nth[16];
    snprintf(nth, sizeof nth, "%d", (double)n * (double)p >= 1e6 ? st_threads() : 1);
    if (XGBoosterSetParam(b, "nthread", nth)) {
        rc = xgb_fail(ctx, "parameter nthread");
        goto fail;
    }
    for (int i = 0; i < m->nparams; i++)
        if (XGBoosterSetParam(b, m->names[i], m->values[i])) {
            char what[160];
            snprintf(what, sizeof what, "parameter %s = '%s'", m->names[i], m->values[i]);
            rc = xgb_fail(ctx, what);
            goto fail;
        }
    for (int32_t it = 0; it < m->rounds; it++) {
        if ((rc = st_check_interrupt(ctx, "gbt_train"))) goto fail;
        if (XGBoosterUpdateOneIter(b, it, dm)) {
            char what[64];
            snprintf(what, sizeof what, "boosting round %d", it + 1);
            rc = xgb_fail(ctx, what);
            goto fail;
        }
    }
    free(fy);
    m->dtrain = dm;
    m->booster = b;
    m->nfeat = p;
    return ST_OK;
fail:
    free(fy);
    if (b) XGBoosterFree(b);
    if (dm) XGDMatrixFree(dm);
    return rc;
}

/* type: 0 value, 1 margin, 2 contributions.  out has n (or n (p + 1)) doubles. */
static int predict(st_ctx *ctx, const char *where, st_gbt *m, int64_t n, int64_t p, const double *x, int64_t ldx,
                   int type, double *out)
{
    if (!m) return st_fail(ctx, ST_ERR_ARG, "%s: NULL booster", where);
    if (!m->booster) return st_fail(ctx, ST_ERR_ARG, "%s: the booster has not been trained", where);
    int rc = st_ml_check_xy(ctx, where, n, p, x, ldx, NULL, 0, 1);
    if (rc) return rc;
    if (p != m->nfeat)
        return st_fail(ctx, ST_ERR_ARG, "%s: %lld features, the booster was trained on %lld", where, (long long)p,
                       (long long)m->nfeat);
    if (!out) return st_fail(ctx, ST_ERR_ARG, "%s: NULL output", where);
    DMatrixHandle dm = NULL;
    if ((rc = make_dmatrix(ctx, where, n, p, x, ldx, &dm))) return rc;
    char config[160];
    snprintf(config, sizeof config, "{\"type\": %d, \"training\": false, \"iteration_begin\": 0, "
             "\"iteration_end\": 0, \"strict_shape\": false}", type);
    const bst_ulong *shape = NULL;
    bst_ulong dim = 0;
    const float *res = NULL;
    if (XGBoosterPredictFromDMatrix(m->booster, dm, config, &shape, &dim, &res)) {
        rc = xgb_fail(ctx, "XGBoosterPredictFromDMatrix");
        XGDMatrixFree(dm);
        return rc;
    }
    bst_ulong total = 1;
    for (bst_ulong k = 0; k < dim; k++) total *= shape[k];
    bst_ulong want = (bst_ulong)n * (type == 2 ? (bst_ulong)(p + 1) : 1);
    if (total != want) {
        XGDMatrixFree(dm);
        return st_fail(ctx, ST_ERR_INTERNAL, "%s: XGBoost returned %llu values, expected %llu", where,
                       (unsigned long long)total, (unsigned long long)want);
    }
    for (bst_ulong k = 0; k < total; k++) out[k] = res[k];   /* copy before the buffer is reused */
    XGDMatrixFree(dm);
    return ST_OK;
}

int st_gbt_predict(st_ctx *ctx, st_gbt *m, int64_t n, int64_t p, const double *x, int64_t ldx, int32_t margin,
                   double *out)
{
    return predict(ctx, "gbt_predict", m, n, p, x, ldx, margin ? 1 : 0, out);
}

int st_gbt_shap(st_ctx *ctx, st_gbt *m, int64_t n, int64_t p, const double *x, int64_t ldx, double *out)
{
    return predict(ctx, "gbt_shap", m, n, p, x, ldx, 2, out);
}

int st_gbt_ensemble(st_ctx *ctx, const st_gbt_opts *opts, int32_t nmodels, int64_t n, int64_t p, const double *x,
                    int64_t ldx, const double *y, const double *weights, double *shap_mean, int64_t nq,
                    const double *xq, int64_t ldq, double *pred_mean)
{
    const char *where = "gbt_ensemble";
    if (nmodels < 1) return st_fail(ctx, ST_ERR_ARG, "%s: nmodels = %d, need at least 1", where, nmodels);
    int rc = st_ml_check_xy(ctx, where, n, p, x, ldx, y, !opts || opts->objective == ST_GBT_BINARY_LOGISTIC, 1);
    if (rc) return rc;
    if (!y) return st_fail(ctx, ST_ERR_ARG, "%s: NULL labels", where);
    if (nq < 0 || (nq > 0 && (!xq || ldq < p || !pred_mean)))
        return st_fail(ctx, ST_ERR_ARG, "%s: query rows need xq, a row stride >= %lld and pred_mean", where,
                       (long long)p);
    if (nq > 0 && (rc = st_ml_check_xy(ctx, where, nq, p, xq, ldq, NULL, 0, 1))) return rc;
    st_gbt_opts o;
    memset(&o, 0, sizeof o);
    if (opts) o = *opts;
    o.nthread = 1;   /* parallel over models instead */
    {   /* validate the options once, on the calling thread */
        st_gbt *probe = NULL;
        if ((rc = st_gbt_create(ctx, &o, &probe))) return rc;
        st_gbt_destroy(probe);
    }
    size_t ns = (size_t)n * (size_t)(p + 1);
    if (shap_mean) memset(shap_mean, 0, ns * sizeof(double));
    if (pred_mean && nq > 0) memset(pred_mean, 0, (size_t)nq * sizeof(double));
    int stop = 0, fail_status = ST_OK, nt = st_threads() < nmodels ? st_threads() : nmodels;
    char fail_msg[512] = "";
    int64_t done = 0;
#pragma omp parallel num_threads(nt)
    {
        st_ctx *tctx = st_ctx_create();
        double *sh = shap_mean ? st_malloc_array(ns, sizeof(double)) : NULL;
        double *pr = pred_mean && nq > 0 ? st_malloc_array((size_t)nq, sizeof(double)) : NULL;
        if (!tctx || (shap_mean && !sh) || (pred_mean && nq > 0 && !pr)) {
#pragma omp critical(st_gbt_ensemble_fail)
            if (!fail_status) { fail_status = ST_ERR_NOMEM; snprintf(fail_msg, sizeof fail_msg, "%s: out of memory", where); }
#pragma omp atomic write
            stop = 1;
        }
#pragma omp for ordered schedule(dynamic, 1)
        for (int32_t m = 0; m < nmodels; m++) {
            int s, r = ST_OK;
#pragma omp atomic read
            s = stop;
            st_gbt *g = NULL;
            if (!s && st_interrupt_pending()) r = st_fail(tctx, ST_ERR_INTERRUPTED, "%s: interrupted", where);
            if (!s && !r) {
                st_gbt_opts om = o;
                om.seed = o.seed + m;
                r = st_gbt_create(tctx, &om, &g);
                if (!r) r = st_gbt_train(tctx, g, n, p, x, ldx, y, weights);
                if (!r && sh) r = st_gbt_shap(tctx, g, n, p, x, ldx, sh);
                if (!r && pr) r = st_gbt_predict(tctx, g, nq, p, xq, ldq, 0, pr);
                st_gbt_destroy(g);
            }
            if (r) {
#pragma omp critical(st_gbt_ensemble_fail)
                if (!fail_status) {
                    fail_status = r;
                    snprintf(fail_msg, sizeof fail_msg, "%s: model %d: %s", where, m + 1, st_ctx_message(tctx));
                }
#pragma omp atomic write
                stop = 1;
            }
#pragma omp ordered
            {   /* sums in model order: identical results for any thread count */
                int s2;
#pragma omp atomic read
                s2 = stop;
                if (!s2) {
                    if (sh) for (size_t k = 0; k < ns; k++) shap_mean[k] += sh[k];
                    if (pr) for (int64_t k = 0; k < nq; k++) pred_mean[k] += pr[k];
                }
                done++;
                int tid = 0;
#ifdef _OPENMP
                tid = omp_get_thread_num();
#endif
                if (tid == 0) st_progress(ctx, "boosters", (double)done, (double)nmodels);
            }
        }
        free(sh);
        free(pr);
        st_ctx_destroy(tctx);
    }
    if (fail_status) return st_fail(ctx, fail_status, "%s", fail_msg);
    if (shap_mean) for (size_t k = 0; k < ns; k++) shap_mean[k] /= nmodels;
    if (pred_mean) for (int64_t k = 0; k < nq; k++) pred_mean[k] /= nmodels;
    st_progress(ctx, "boosters", (double)nmodels, (double)nmodels);
    return ST_OK;
}
