/* strata/ml.h -- machine-learning helpers for analyses: ranking metrics (ROC AUC, average
 * precision), minimum spanning tree and Ward clustering on a distance matrix, classical MDS and
 * t-SNE embeddings, L2-regularised logistic regression (exact Newton), and gradient-boosted trees
 * through libxgboost with tree SHAP explanations.
 *
 * Conventions: matrices are row-major with an explicit row stride (ld, in elements, >= columns);
 * distance matrices are n x n, symmetric, zero diagonal, finite and >= 0 (checked).  Binary labels
 * are doubles equal to 0 or 1.  Indices are 0-based.  Outputs are caller-allocated; sizes are given
 * in each comment.  See docs/zeolite-maps.md for the study these serve. */
#ifndef STRATA_ML_H
#define STRATA_ML_H
#include "core.h"

/* ---- ranking metrics ------------------------------------------------------------------------ */

/* ROC AUC = P(s_pos > s_neg) + P(s_pos = s_neg) / 2 (Mann-Whitney U / (n_pos n_neg), tied scores
 * get average ranks).  ST_ERR_NUMERIC when only one class is present. */
ST_API int st_ml_roc_auc(st_ctx *ctx, int64_t n, const double *y, const double *score, double *auc);
/* Average precision AP = sum_k (R_k - R_{k-1}) P_k over the distinct score thresholds taken in
 * decreasing order (tied scores form one threshold), the step-wise PR AUC.  ST_ERR_NUMERIC when
 * there is no positive. */
ST_API int st_ml_average_precision(st_ctx *ctx, int64_t n, const double *y, const double *score,
                                   double *ap);

/* ---- graphs and clustering on a distance matrix d [n][ldd] ------------------------------------ */

/* Minimum spanning tree of the complete graph (Prim, O(n^2)): edges [n-1][2] (parent, child, in
 * the order Prim adds them, starting from vertex 0) and weights [n-1]. */
ST_API int st_ml_mst(st_ctx *ctx, int64_t n, const double *d, int64_t ldd, int64_t *edges,
                     double *weights);

/* Ward linkage (Lance-Williams recurrence, exact, nearest-neighbour chain, O(n^2) time and
 * memory), SciPy's convention: linkage [n-1][4] rows (a, b, height, size) sorted by height, a < b;
 * ids 0..n-1 are leaves and n+i is the cluster formed in row i; height = sqrt of the Ward
 * distance on squared inputs, so with Euclidean inputs it equals scipy.cluster.hierarchy.ward. */
ST_API int st_ml_ward(st_ctx *ctx, int64_t n, const double *d, int64_t ldd, double *linkage);
/* Flat clusters from a linkage: leaves joined by every merge of height <= threshold.  labels [n]
 * 0..nclusters-1 numbered in order of each cluster's first leaf. */
ST_API int st_ml_linkage_cut(st_ctx *ctx, int64_t n, const double *linkage, double threshold,
                             int32_t *labels, int64_t *nclusters);

/* ---- embeddings ------------------------------------------------------------------------------ */

/* Classical (Torgerson) MDS: B = -1/2 J D^2 J, coords [n][ndim] = top eigenvectors scaled by
 * sqrt(max(lambda, 0)); eigenvalues [ndim] (may be NULL) in decreasing order.  Each axis's sign is
 * fixed so that its largest-magnitude coordinate is positive. */
ST_API int st_ml_mds(st_ctx *ctx, int64_t n, const double *d, int64_t ldd, int32_t ndim,
                     double *coords, double *eigenvalues);

/* t-SNE options; all-zero means defaults. */
typedef struct st_tsne_opts {
    int32_t ndim;                /* output dimensions; 0 = 2 */
    double perplexity;           /* 0 = 30 (capped at (n - 1) / 3) */
    int32_t iterations;          /* 0 = 1000 */
    double learning_rate;        /* 0 = max(n / early_exaggeration / 4, 50) */
    double early_exaggeration;   /* 0 = 12 */
    int32_t exaggeration_iters;  /* 0 = 250 (momentum 0.5 during these, then 0.8) */
    uint64_t seed;               /* initial layout N(0, (1e-4)^2); any value, 0 included */
} st_tsne_opts;

/* Exact t-SNE (O(n^2) per iteration; meant for n up to a few thousand) on distances d.  coords
 * [n][ndim]; kl (may be NULL) = final Kullback-Leibler divergence KL(P || Q). */
ST_API int st_ml_tsne(st_ctx *ctx, int64_t n, const double *d, int64_t ldd,
                      const st_tsne_opts *opts, double *coords, double *kl);

/* ---- logistic regression --------------------------------------------------------------------- */

/* Objective (scikit-learn's):  f(w, b) = |w|^2 / 2 + C sum_i s_i [log(1 + e^z_i) - y_i z_i],
 * z_i = x_i . w + b, s_i = sample weight x class weight.  All-zero means defaults. */
typedef struct st_logreg_opts {
    double C;                    /* inverse L2 strength; 0 = 1; HUGE_VAL = no penalty */
    double class_weight[2];      /* weights of classes 0 and 1; 0 = 1 */
    int32_t balanced;            /* 1: class weights n / (2 n_c) (replaces class_weight) */
    int32_t no_intercept;        /* 1: b = 0 */
    int32_t standardize;         /* 1: fit on z-scored columns (penalty in that scale); the
                                    coefficients returned are for the original columns */
    int32_t max_iter;            /* Newton iterations; 0 = 100 */
    double tol;                  /* stop when the Newton decrement^2 / 2 <= tol (1 + |f|);
                                    0 = 1e-12 */
} st_logreg_opts;

typedef struct st_logreg_info {
    int32_t iterations;          /* Newton steps taken */
    double objective;            /* f at the solution (in the scale it was fitted in) */
    double grad_norm;            /* max |gradient| at the solution */
} st_logreg_info;

/* Fit: x [n][ldx] (p columns), y [n] in {0, 1}, sample_weight [n] (NULL = 1).  coef [p];
 * intercept (may be NULL when no_intercept); info may be NULL.  ST_ERR_NUMERIC if Newton does not
 * converge in max_iter (the last iterate is still written). */
ST_API int st_ml_logreg_fit(st_ctx *ctx, int64_t n, int64_t p, const double *x, int64_t ldx,
                            const double *y, const double *sample_weight,
                            const st_logreg_opts *opts, double *coef, double *intercept,
                            st_logreg_info *info);
/* The objective f and its gradient grad [p + 1] (w then b; may be NULL) at (coef, intercept), in
 * the given column scale (opts->standardize is ignored). */
ST_API int st_ml_logreg_objective(st_ctx *ctx, int64_t n, int64_t p, const double *x, int64_t ldx,
                                  const double *y, const double *sample_weight,
                                  const st_logreg_opts *opts, const double *coef, double intercept,
                                  double *f, double *grad);
/* P(y = 1 | x) = sigmoid(x . coef + intercept) into prob [n]. */
ST_API int st_ml_logreg_predict(st_ctx *ctx, int64_t n, int64_t p, const double *x, int64_t ldx,
                                const double *coef, double intercept, double *prob);

/* ---- gradient-boosted trees (libxgboost) ----------------------------------------------------- */

enum st_gbt_objective { ST_GBT_BINARY_LOGISTIC = 0, ST_GBT_SQUARED_ERROR = 1 };

/* Options; all-zero means XGBoost's own defaults (XGBClassifier's n_estimators = 100). */
typedef struct st_gbt_opts {
    int32_t n_estimators;        /* boosting rounds; 0 = 100 */
    int32_t max_depth;           /* 0 = 6 */
    double learning_rate;        /* eta; 0 = 0.3 */
    double subsample;            /* row fraction per tree; 0 = 1 */
    double colsample_bytree;     /* column fraction per tree; 0 = 1 */
    double min_child_weight;     /* 0 = 1; negative = 0 */
    double reg_lambda;           /* L2 on leaf weights; 0 = 1; negative = 0 */
    double gamma;                /* minimum split loss; 0 = 0 */
    double scale_pos_weight;     /* 0 = 1 */
    int64_t seed;                /* random seed for subsampling (0 is a seed like any other) */
    int32_t nthread;             /* 0 = st_get_num_threads() from 1e6 cells (n p) up, else 1 */
    int32_t objective;           /* st_gbt_objective */
} st_gbt_opts;

/* A booster: options plus, after st_gbt_train, the trained trees. */
typedef struct st_gbt st_gbt;

ST_API int st_gbt_create(st_ctx *ctx, const st_gbt_opts *opts, st_gbt **out);
ST_API void st_gbt_destroy(st_gbt *m);                    /* NULL is a no-op */
/* Any other XGBoost parameter by name ("tree_method", "max_bin", ...); applied at the next
 * training, which reports an unknown name or bad value. */
ST_API int st_gbt_set_param(st_ctx *ctx, st_gbt *m, const char *name, const char *value);
/* Train from scratch (replacing earlier trees): x [n][ldx] (p columns; NaN = missing), y [n],
 * weights [n] (NULL = 1).  Polls the interrupt flag once per round. */
ST_API int st_gbt_train(st_ctx *ctx, st_gbt *m, int64_t n, int64_t p, const double *x,
                        int64_t ldx, const double *y, const double *weights);
ST_API int st_gbt_nfeatures(const st_gbt *m);             /* p of the last training, 0 before */
/* Predictions out [n]: probabilities (binary objective) or values; margin = 1 gives the raw
 * score (log-odds for the binary objective). */
ST_API int st_gbt_predict(st_ctx *ctx, st_gbt *m, int64_t n, int64_t p, const double *x,
                          int64_t ldx, int32_t margin, double *out);
/* Tree SHAP values out [n][p + 1]: feature contributions, then the bias in column p; each row
 * sums to the margin (Lundberg, Erion & Lee 2018, Algorithm 2, as implemented in XGBoost). */
ST_API int st_gbt_shap(st_ctx *ctx, st_gbt *m, int64_t n, int64_t p, const double *x, int64_t ldx,
                       double *out);
/* An ensemble of nmodels boosters with seeds opts->seed + 0 .. nmodels - 1, all trained on the
 * same x [n][ldx], y, weights (NULL = 1), run in parallel over models (one XGBoost thread each),
 * then averaged in model order (so the result does not depend on the thread count):
 * shap_mean [n][p + 1] (may be NULL) = mean tree SHAP values on x; pred_mean [nq] (may be NULL or
 * nq = 0) = mean prediction on xq [nq][ldq]. */
ST_API int st_gbt_ensemble(st_ctx *ctx, const st_gbt_opts *opts, int32_t nmodels, int64_t n, int64_t p,
                           const double *x, int64_t ldx, const double *y, const double *weights,
                           double *shap_mean, int64_t nq, const double *xq, int64_t ldq,
                           double *pred_mean);

#endif
