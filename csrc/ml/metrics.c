/* metrics.c -- ranking metrics for binary classifiers: ROC AUC and average precision (the
 * step-wise area under the precision-recall curve), both exact with tied scores.
 *
 * ROC AUC is the Mann-Whitney statistic: AUC = (R_pos - n_pos (n_pos + 1) / 2) / (n_pos n_neg),
 * R_pos = sum of the (1-based, tie-averaged) ranks of the positives in increasing score order
 * (Hanley & McNeil, Radiology 143, 29 (1982): the AUC is the Wilcoxon-Mann-Whitney U / (n_pos n_neg)).  It
 * equals P(s_pos > s_neg) + P(s_pos = s_neg) / 2, the area under the ROC curve drawn through the
 * tie groups with straight segments.
 * Average precision: AP = sum_k (R_k - R_{k-1}) P_k over the distinct thresholds in decreasing
 * order (Manning, Raghavan & Schuetze, Introduction to IR, 2008, sec. 8.4; the definition of
 * scikit-learn's average_precision_score): a tie group enters as one step, so AP does not depend
 * on the order of tied items.
 *
 * Does not: interpolate the PR curve (trapezoids over PR are optimistic), take sample weights, or
 * handle more than two classes.
 */
#include "../core/internal.h"
#include <math.h>
#include <stdlib.h>

typedef struct {
    double s;
    double y;
} scored;

static int by_score_asc(const void *a, const void *b)
{
    double x = ((const scored *)a)->s, z = ((const scored *)b)->s;
    return (x > z) - (x < z);
}

/* Copies (score, label) pairs sorted by increasing score, after checking labels and scores. */
static int sorted_pairs(st_ctx *ctx, const char *where, int64_t n, const double *y,
                        const double *score, scored **out, int64_t *npos)
{
    if (n < 1) return st_fail(ctx, ST_ERR_ARG, "%s: n = %lld, need at least one item", where, (long long)n);
    if (!y || !score) return st_fail(ctx, ST_ERR_ARG, "%s: NULL labels or scores", where);
    scored *p = st_malloc_array((size_t)n, sizeof *p);
    if (!p) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory (n = %lld)", where, (long long)n);
    int64_t pos = 0;
    for (int64_t i = 0; i < n; i++) {
        if (y[i] != 0 && y[i] != 1) {
            free(p);
            return st_fail(ctx, ST_ERR_ARG, "%s: label %lld is %g, expected 0 or 1", where,
                           (long long)i, y[i]);
        }
        if (!isfinite(score[i])) {
            free(p);
            return st_fail(ctx, ST_ERR_ARG, "%s: score %lld is %g, expected a finite number", where,
                           (long long)i, score[i]);
        }
        p[i].s = score[i];
        p[i].y = y[i];
        pos += y[i] == 1;
    }
    qsort(p, (size_t)n, sizeof *p, by_score_asc);
    *out = p;
    *npos = pos;
    return ST_OK;
}

int st_ml_roc_auc(st_ctx *ctx, int64_t n, const double *y, const double *score, double *auc)
{
    if (!auc) return st_fail(ctx, ST_ERR_ARG, "ml_roc_auc: NULL output");
    scored *p;
    int64_t npos;
    int rc = sorted_pairs(ctx, "ml_roc_auc", n, y, score, &p, &npos);
    if (rc) return rc;
    int64_t nneg = n - npos;
    if (npos == 0 || nneg == 0) {
        free(p);
        return st_fail(ctx, ST_ERR_NUMERIC, "ml_roc_auc: only one class present (%lld positives, "
                       "%lld negatives); AUC is undefined", (long long)npos, (long long)nneg);
    }
    /* sum of tie-averaged ranks of the positives; U = R_pos - n_pos (n_pos + 1) / 2 */
    double rpos = 0;
    for (int64_t i = 0; i < n;) {
        int64_t j = i;
        double pos_in_group = 0;
        while (j < n && p[j].s == p[i].s) pos_in_group += p[j++].y;
        double mean_rank = 0.5 * (double)(i + 1 + j);   /* ranks i+1 .. j */
        rpos += pos_in_group * mean_rank;
        i = j;
    }
    free(p);
    *auc = (rpos - 0.5 * (double)npos * (double)(npos + 1)) / ((double)npos * (double)nneg);
    return ST_OK;
}

int st_ml_average_precision(st_ctx *ctx, int64_t n, const double *y, const double *score, double *ap)
{
    if (!ap) return st_fail(ctx, ST_ERR_ARG, "ml_average_precision: NULL output");
    scored *p;
    int64_t npos;
    int rc = sorted_pairs(ctx, "ml_average_precision", n, y, score, &p, &npos);
    if (rc) return rc;
    if (npos == 0) {
        free(p);
        return st_fail(ctx, ST_ERR_NUMERIC, "ml_average_precision: no positive labels; average "
                       "precision is undefined");
    }
    /* walk thresholds from the highest score down; one step per tie group */
    double tp = 0, fp = 0, prev_recall = 0, sum = 0;
    for (int64_t j = n - 1; j >= 0;) {
        int64_t i = j;
        while (i >= 0 && p[i].s == p[j].s) {
            tp += p[i].y;
            fp += 1 - p[i].y;
            i--;
        }
        double recall = tp / (double)npos, precision = tp / (tp + fp);
        sum += (recall - prev_recall) * precision;
        prev_recall = recall;
        j = i;
    }
    free(p);
    *ap = sum;
    return ST_OK;
}
