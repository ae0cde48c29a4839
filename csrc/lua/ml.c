/* ml.c -- Lua 5.4 binding of the ML kernels (csrc/ml, strata/ml.h): ROC AUC and average precision,
 * minimum spanning tree, Ward linkage and its cut, classical MDS, t-SNE, logistic regression and
 * XGBoost boosters (a userdata handle released by __gc or ml_gbt_free).  Indices cross 1-based:
 * MST edges, linkage ids (leaves 1..n, cluster n+i made in row i) and cluster labels.  Expected
 * failures (one class only, no convergence) return nil, message; bad arguments raise.  The LuaJIT
 * FFI backend (lua/strata/ffi_ml.lua) offers the same functions with the same messages.
 * Does not: split data, resample or loop over models (lua/strata/ml.lua composes those). */
#include "binding.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GBT_MT "strata.gbt"

static const st_view *dense_arg(lua_State *L, int idx, int ndim, const char *what)
{
    st_view *v = stl_checkview(L, idx);
    if (v->ndim != ndim) luaL_error(L, "%s: expected a %d-d array, got %d-d", what, ndim, v->ndim);
    if (v->dtype == ST_F64 && st_view_is_contiguous(v)) return v;
    stl_array *c = stl_array_new(L, ST_F64, v->ndim, v->shape);
    stl_check(L, st_op_copy(stl_ctx(L), v, &c->v));
    return &c->v;
}

static const st_view *square_arg(lua_State *L, int idx, const char *what)
{
    const st_view *d = dense_arg(L, idx, 2, what);
    if (d->shape[0] != d->shape[1])
        luaL_error(L, "%s: distance matrix must be square, got %d x %d", what, (int)d->shape[0], (int)d->shape[1]);
    return d;
}

/* labels y and scores s: 1-d arrays of equal length */
static int ranking(lua_State *L, int which)
{
    const char *name = which ? "average_precision" : "roc_auc";
    const st_view *y = dense_arg(L, 1, 1, name);
    const st_view *s = dense_arg(L, 2, 1, name);
    if (y->shape[0] != s->shape[0])
        luaL_error(L, "%s: %d labels but %d scores", name, (int)y->shape[0], (int)s->shape[0]);
    double v;
    int rc = which ? st_ml_average_precision(stl_ctx(L), y->shape[0], y->data, s->data, &v)
                   : st_ml_roc_auc(stl_ctx(L), y->shape[0], y->data, s->data, &v);
    if (rc) return stl_fail(L, rc);
    lua_pushnumber(L, v);
    return 1;
}
static int l_roc_auc(lua_State *L) { return ranking(L, 0); }
static int l_average_precision(lua_State *L) { return ranking(L, 1); }

/* ml_mst(D) -> edges int64 [n-1][2] (1-based), weights [n-1] */
static int l_mst(lua_State *L)
{
    const st_view *d = square_arg(L, 1, "mst");
    int64_t n = d->shape[0], se[2] = {n - 1, 2}, sw[1] = {n - 1};
    stl_array *e = stl_array_new(L, ST_I64, 2, se);
    stl_array *w = stl_array_new(L, ST_F64, 1, sw);
    int rc = st_ml_mst(stl_ctx(L), n, d->data, n, e->v.data, w->v.data);
    if (rc) return stl_fail(L, rc);
    int64_t *ep = e->v.data;
    for (int64_t i = 0; i < 2 * (n - 1); i++) ep[i] += 1;
    return 2;
}

/* ml_ward(D) -> linkage [n-1][4] (ids 1-based) */
static int l_ward(lua_State *L)
{
    const st_view *d = square_arg(L, 1, "ward");
    int64_t n = d->shape[0], s[2] = {n - 1, 4};
    stl_array *z = stl_array_new(L, ST_F64, 2, s);
    int rc = st_ml_ward(stl_ctx(L), n, d->data, n, z->v.data);
    if (rc) return stl_fail(L, rc);
    double *zp = z->v.data;
    for (int64_t i = 0; i < n - 1; i++) { zp[4 * i] += 1; zp[4 * i + 1] += 1; }
    return 1;
}

/* ml_linkage_cut(Z [n-1][4] 1-based, threshold) -> labels int32 [n] (1-based), nclusters */
static int l_linkage_cut(lua_State *L)
{
    const st_view *z = dense_arg(L, 1, 2, "linkage_cut");
    double t = luaL_checknumber(L, 2);
    if (z->shape[1] != 4) luaL_error(L, "linkage_cut: linkage must have 4 columns, got %d", (int)z->shape[1]);
    int64_t n = z->shape[0] + 1, s[1] = {n};
    double *zz = lua_newuserdatauv(L, (size_t)(4 * (n - 1)) * sizeof(double) + 1, 0);
    const double *zp = z->data;
    for (int64_t i = 0; i < 4 * (n - 1); i++) zz[i] = zp[i] - ((i & 3) < 2 ? 1 : 0);
    stl_array *lab = stl_array_new(L, ST_I32, 1, s);
    int64_t k;
    int rc = st_ml_linkage_cut(stl_ctx(L), n, zz, t, lab->v.data, &k);
    if (rc) return stl_fail(L, rc);
    int32_t *lp = lab->v.data;
    for (int64_t i = 0; i < n; i++) lp[i] += 1;
    lua_pushinteger(L, k);
    return 2;
}

/* ml_mds(D, ndim) -> coords [n][ndim], eigenvalues [ndim] */
static int l_mds(lua_State *L)
{
    const st_view *d = square_arg(L, 1, "mds");
    lua_Integer k = luaL_optinteger(L, 2, 2);
    int64_t n = d->shape[0];
    if (k < 1 || k > n) luaL_error(L, "mds: ndim = %d, expected 1..%d", (int)k, (int)n);
    int64_t sc[2] = {n, k}, se[1] = {k};
    stl_array *c = stl_array_new(L, ST_F64, 2, sc);
    stl_array *e = stl_array_new(L, ST_F64, 1, se);
    int rc = st_ml_mds(stl_ctx(L), n, d->data, n, (int32_t)k, c->v.data, e->v.data);
    if (rc) return stl_fail(L, rc);
    return 2;
}

static double optnum(lua_State *L, int idx, const char *key, double def)
{
    lua_getfield(L, idx, key);
    if (!lua_isnil(L, -1) && !lua_isnumber(L, -1)) luaL_error(L, "option '%s' must be a number", key);
    double v = luaL_optnumber(L, -1, def);
    lua_pop(L, 1);
    return v;
}

/* ml_tsne(D, {ndim=, perplexity=, iterations=, learning_rate=, early_exaggeration=,
 * exaggeration_iters=, seed=}) -> coords [n][ndim], kl */
static int l_tsne(lua_State *L)
{
    const st_view *d = square_arg(L, 1, "tsne");
    st_tsne_opts o;
    memset(&o, 0, sizeof o);
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        o.ndim = (int32_t)optnum(L, 2, "ndim", 0);
        o.perplexity = optnum(L, 2, "perplexity", 0);
        o.iterations = (int32_t)optnum(L, 2, "iterations", 0);
        o.learning_rate = optnum(L, 2, "learning_rate", 0);
        o.early_exaggeration = optnum(L, 2, "early_exaggeration", 0);
        o.exaggeration_iters = (int32_t)optnum(L, 2, "exaggeration_iters", 0);
        o.seed = (uint64_t)optnum(L, 2, "seed", 0);
    }
    int64_t n = d->shape[0], s[2] = {n, o.ndim ? o.ndim : 2};
    if (s[1] < 1 || s[1] > 3) luaL_error(L, "tsne: ndim = %d, expected 1, 2 or 3", (int)s[1]);
    stl_array *c = stl_array_new(L, ST_F64, 2, s);
    double kl;
    int rc = st_ml_tsne(stl_ctx(L), n, d->data, n, &o, c->v.data, &kl);
    if (rc) return stl_fail(L, rc);
    lua_pushnumber(L, kl);
    return 2;
}

/* ---- logistic regression ---- */

static void logreg_opts(lua_State *L, int idx, st_logreg_opts *o)
{
    memset(o, 0, sizeof *o);
    if (lua_isnoneornil(L, idx)) return;
    luaL_checktype(L, idx, LUA_TTABLE);
    o->C = optnum(L, idx, "C", 0);
    o->max_iter = (int32_t)optnum(L, idx, "max_iter", 0);
    o->tol = optnum(L, idx, "tol", 0);
    lua_getfield(L, idx, "balanced"); o->balanced = lua_toboolean(L, -1); lua_pop(L, 1);
    lua_getfield(L, idx, "standardize"); o->standardize = lua_toboolean(L, -1); lua_pop(L, 1);
    lua_getfield(L, idx, "intercept");
    o->no_intercept = lua_isboolean(L, -1) && !lua_toboolean(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, idx, "class_weight");
    if (!lua_isnil(L, -1)) {
        luaL_checktype(L, -1, LUA_TTABLE);
        for (int c = 0; c < 2; c++) {
            lua_geti(L, -1, c + 1);
            o->class_weight[c] = luaL_optnumber(L, -1, 0);
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
}

/* X [n][p], y [n], optional sample weights [n] at wi (or nil) */
static void xy_args(lua_State *L, int xi, int yi, int wi, const char *what, const st_view **x, const st_view **y,
                    const st_view **w)
{
    *x = dense_arg(L, xi, 2, what);
    *y = dense_arg(L, yi, 1, what);
    if ((*y)->shape[0] != (*x)->shape[0])
        luaL_error(L, "%s: %d rows but %d labels", what, (int)(*x)->shape[0], (int)(*y)->shape[0]);
    *w = NULL;
    if (wi && !lua_isnoneornil(L, wi)) {
        *w = dense_arg(L, wi, 1, what);
        if ((*w)->shape[0] != (*x)->shape[0])
            luaL_error(L, "%s: %d rows but %d weights", what, (int)(*x)->shape[0], (int)(*w)->shape[0]);
    }
}

/* ml_logreg_fit(X, y, opts, weights) -> coef [p], intercept, {iterations=, objective=, grad_norm=} */
static int l_logreg_fit(lua_State *L)
{
    const st_view *x, *y, *w;
    xy_args(L, 1, 2, 4, "logreg_fit", &x, &y, &w);
    st_logreg_opts o;
    logreg_opts(L, 3, &o);
    int64_t p = x->shape[1], s[1] = {p};
    stl_array *coef = stl_array_new(L, ST_F64, 1, s);
    double b = 0;
    st_logreg_info info;
    int rc = st_ml_logreg_fit(stl_ctx(L), x->shape[0], p, x->data, p, y->data, w ? w->data : NULL, &o, coef->v.data,
                              &b, &info);
    if (rc) return stl_fail(L, rc);
    lua_pushnumber(L, b);
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, info.iterations); lua_setfield(L, -2, "iterations");
    lua_pushnumber(L, info.objective); lua_setfield(L, -2, "objective");
    lua_pushnumber(L, info.grad_norm); lua_setfield(L, -2, "grad_norm");
    return 3;
}

/* ml_logreg_objective(X, y, coef, intercept, opts, weights) -> f, grad [p+1] */
static int l_logreg_objective(lua_State *L)
{
    const st_view *x, *y, *w;
    xy_args(L, 1, 2, 6, "logreg_objective", &x, &y, &w);
    const st_view *c = dense_arg(L, 3, 1, "logreg_objective: coefficients");
    double b = luaL_checknumber(L, 4);
    st_logreg_opts o;
    logreg_opts(L, 5, &o);
    int64_t p = x->shape[1], s[1] = {p + 1};
    if (c->shape[0] != p) luaL_error(L, "logreg_objective: %d coefficients for %d columns", (int)c->shape[0], (int)p);
    lua_pushnil(L);
    int fslot = lua_gettop(L);
    stl_array *g = stl_array_new(L, ST_F64, 1, s);
    double f;
    int rc = st_ml_logreg_objective(stl_ctx(L), x->shape[0], p, x->data, p, y->data, w ? w->data : NULL, &o, c->data,
                                    b, &f, g->v.data);
    if (rc) return stl_fail(L, rc);
    lua_pushnumber(L, f);
    lua_replace(L, fslot);
    return 2;
}

/* ml_logreg_predict(X, coef, intercept) -> prob [n] */
static int l_logreg_predict(lua_State *L)
{
    const st_view *x = dense_arg(L, 1, 2, "logreg_predict");
    const st_view *c = dense_arg(L, 2, 1, "logreg_predict: coefficients");
    double b = luaL_checknumber(L, 3);
    int64_t n = x->shape[0], p = x->shape[1], s[1] = {n};
    if (c->shape[0] != p) luaL_error(L, "logreg_predict: %d coefficients for %d columns", (int)c->shape[0], (int)p);
    stl_array *out = stl_array_new(L, ST_F64, 1, s);
    int rc = st_ml_logreg_predict(stl_ctx(L), n, p, x->data, p, c->data, b, out->v.data);
    if (rc) return stl_fail(L, rc);
    return 1;
}

/* ---- gradient-boosted trees ---- */

typedef struct {
    st_gbt *m;
} gbt_ref;

static gbt_ref *checkgbt(lua_State *L, int idx)
{
    gbt_ref *r = luaL_checkudata(L, idx, GBT_MT);
    if (!r->m) luaL_error(L, "gbt: booster used after it was freed");
    return r;
}

static int gbt_gc(lua_State *L)
{
    gbt_ref *r = luaL_checkudata(L, 1, GBT_MT);
    st_gbt_destroy(r->m);
    r->m = NULL;
    return 0;
}

/* {n_estimators=, max_depth=, learning_rate=, subsample=, colsample_bytree=, min_child_weight=,
 * reg_lambda=, gamma=, scale_pos_weight=, seed=, nthread=, objective=} -> options */
static void gbt_opts(lua_State *L, int idx, st_gbt_opts *o)
{
    memset(o, 0, sizeof *o);
    if (lua_isnoneornil(L, idx)) return;
    luaL_checktype(L, idx, LUA_TTABLE);
    o->n_estimators = (int32_t)optnum(L, idx, "n_estimators", 0);
    o->max_depth = (int32_t)optnum(L, idx, "max_depth", 0);
    o->learning_rate = optnum(L, idx, "learning_rate", 0);
    o->subsample = optnum(L, idx, "subsample", 0);
    o->colsample_bytree = optnum(L, idx, "colsample_bytree", 0);
    o->min_child_weight = optnum(L, idx, "min_child_weight", 0);
    o->reg_lambda = optnum(L, idx, "reg_lambda", 0);
    o->gamma = optnum(L, idx, "gamma", 0);
    o->scale_pos_weight = optnum(L, idx, "scale_pos_weight", 0);
    o->seed = (int64_t)optnum(L, idx, "seed", 0);
    o->nthread = (int32_t)optnum(L, idx, "nthread", 0);
    lua_getfield(L, idx, "objective");
    if (!lua_isnil(L, -1)) {
        static const char *names[] = {"binary:logistic", "reg:squarederror", NULL};
        o->objective = luaL_checkoption(L, -1, NULL, names);
    }
    lua_pop(L, 1);
}

/* ml_gbt_create(opts) -> booster userdata */
static int l_gbt_create(lua_State *L)
{
    st_gbt_opts o;
    gbt_opts(L, 1, &o);
    gbt_ref *r = lua_newuserdatauv(L, sizeof *r, 0);
    r->m = NULL;
    luaL_setmetatable(L, GBT_MT);
    int rc = st_gbt_create(stl_ctx(L), &o, &r->m);
    if (rc) return stl_fail(L, rc);
    return 1;
}

/* ml_gbt_ensemble(X, y, opts, nmodels, weights|nil, Xq|nil, want_shap) -> shap_mean [n][p+1] | false,
 * pred_mean [nq] | false */
static int l_gbt_ensemble(lua_State *L)
{
    const st_view *x, *y, *w;
    xy_args(L, 1, 2, 5, "gbt_ensemble", &x, &y, &w);
    st_gbt_opts o;
    gbt_opts(L, 3, &o);
    lua_Integer m = luaL_checkinteger(L, 4);
    if (m < 1 || m > 1000000) luaL_error(L, "gbt_ensemble: nmodels = %d, expected 1..1000000", (int)m);
    const st_view *q = NULL;
    int64_t n = x->shape[0], p = x->shape[1];
    if (!lua_isnoneornil(L, 6)) {
        q = dense_arg(L, 6, 2, "gbt_ensemble: query rows");
        if (q->shape[1] != p) luaL_error(L, "gbt_ensemble: query rows have %d columns, X has %d", (int)q->shape[1], (int)p);
    }
    int want = lua_toboolean(L, 7);
    int64_t ss[2] = {n, p + 1}, sq[1] = {q ? q->shape[0] : 0};
    lua_pushboolean(L, 0);
    int s1 = lua_gettop(L);
    lua_pushboolean(L, 0);
    int s2 = lua_gettop(L);
    stl_array *sh = NULL, *pr = NULL;
    if (want) { sh = stl_array_new(L, ST_F64, 2, ss); lua_replace(L, s1); }
    if (q) { pr = stl_array_new(L, ST_F64, 1, sq); lua_replace(L, s2); }
    int rc = st_gbt_ensemble(stl_ctx(L), &o, (int32_t)m, n, p, x->data, p, y->data, w ? w->data : NULL,
                             sh ? sh->v.data : NULL, q ? q->shape[0] : 0, q ? q->data : NULL, p,
                             pr ? pr->v.data : NULL);
    if (rc) return stl_fail(L, rc);
    lua_settop(L, s2);
    return 2;
}

static int l_gbt_free(lua_State *L)
{
    gbt_ref *r = luaL_checkudata(L, 1, GBT_MT);
    st_gbt_destroy(r->m);
    r->m = NULL;
    return 0;
}

static int l_gbt_set_param(lua_State *L)
{
    gbt_ref *r = checkgbt(L, 1);
    const char *k = luaL_checkstring(L, 2), *v = luaL_tolstring(L, 3, NULL);
    stl_check(L, st_gbt_set_param(stl_ctx(L), r->m, k, v));
    return 0;
}

static int l_gbt_train(lua_State *L)
{
    gbt_ref *r = checkgbt(L, 1);
    const st_view *x, *y, *w;
    xy_args(L, 2, 3, 4, "gbt_train", &x, &y, &w);
    int rc = st_gbt_train(stl_ctx(L), r->m, x->shape[0], x->shape[1], x->data, x->shape[1], y->data,
                          w ? w->data : NULL);
    if (rc) return stl_fail(L, rc);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_gbt_nfeatures(lua_State *L)
{
    lua_pushinteger(L, st_gbt_nfeatures(checkgbt(L, 1)->m));
    return 1;
}

/* ml_gbt_predict(g, X, margin) -> [n] */
static int l_gbt_predict(lua_State *L)
{
    gbt_ref *r = checkgbt(L, 1);
    const st_view *x = dense_arg(L, 2, 2, "gbt_predict");
    int margin = lua_toboolean(L, 3);
    int64_t s[1] = {x->shape[0]};
    stl_array *out = stl_array_new(L, ST_F64, 1, s);
    int rc = st_gbt_predict(stl_ctx(L), r->m, x->shape[0], x->shape[1], x->data, x->shape[1], margin, out->v.data);
    if (rc) return stl_fail(L, rc);
    return 1;
}

/* ml_gbt_shap(g, X) -> [n][p+1] (bias last) */
static int l_gbt_shap(lua_State *L)
{
    gbt_ref *r = checkgbt(L, 1);
    const st_view *x = dense_arg(L, 2, 2, "gbt_shap");
    int64_t s[2] = {x->shape[0], x->shape[1] + 1};
    stl_array *out = stl_array_new(L, ST_F64, 2, s);
    int rc = st_gbt_shap(stl_ctx(L), r->m, x->shape[0], x->shape[1], x->data, x->shape[1], out->v.data);
    if (rc) return stl_fail(L, rc);
    return 1;
}

STL_MODULE(ml)
{
    static const luaL_Reg fns[] = {
        {"ml_roc_auc", l_roc_auc}, {"ml_average_precision", l_average_precision}, {"ml_mst", l_mst},
        {"ml_ward", l_ward}, {"ml_linkage_cut", l_linkage_cut}, {"ml_mds", l_mds}, {"ml_tsne", l_tsne},
        {"ml_logreg_fit", l_logreg_fit}, {"ml_logreg_objective", l_logreg_objective},
        {"ml_logreg_predict", l_logreg_predict}, {"ml_gbt_create", l_gbt_create}, {"ml_gbt_free", l_gbt_free},
        {"ml_gbt_set_param", l_gbt_set_param}, {"ml_gbt_train", l_gbt_train}, {"ml_gbt_nfeatures", l_gbt_nfeatures},
        {"ml_gbt_predict", l_gbt_predict}, {"ml_gbt_shap", l_gbt_shap}, {"ml_gbt_ensemble", l_gbt_ensemble},
        {NULL, NULL}};
    luaL_setfuncs(L, fns, 0);
    luaL_newmetatable(L, GBT_MT);
    lua_pushcfunction(L, gbt_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushstring(L, "strata.gbt");
    lua_setfield(L, -2, "__name");
    lua_pop(L, 1);
    return 0;
}
