/* crystal.c -- Lua 5.4 binding of the crystal invariants and distances (csrc/crystal, see
 * strata/crystal.h): periodic k-NN distances, AMD and PDD of a frame, AMD distance matrices
 * (L-inf, L1, L2), PDD earth mover's distances (one pair, all pairs, cross), and the exact
 * transport solver.  Outputs are arrays allocated here; PDD collections cross as Lua lists of
 * {weights = 1-d array, rows = 2-d array} and are packed into one buffer here.  Temporary buffers
 * are userdata, so an argument error raised half-way leaks nothing.  The LuaJIT FFI backend
 * (lua/strata/ffi_crystal.lua) offers the same functions with the same messages.
 * Does not: read files or convert element symbols (lua/strata/crystal.lua does). */
#include "binding.h"
#include <stdlib.h>
#include <string.h>

enum { MAX_SPECIES = 128 };

/* Contiguous float64 view of argument idx with the given ndim (copied when needed; the copy stays
 * on the stack until the call returns). */
static const st_view *dense_arg(lua_State *L, int idx, int ndim, const char *what)
{
    st_view *v = stl_checkview(L, idx);
    if (v->ndim != ndim) luaL_error(L, "%s: expected a %d-d array, got %d-d", what, ndim, v->ndim);
    if (v->dtype == ST_F64 && st_view_is_contiguous(v)) return v;
    stl_array *c = stl_array_new(L, ST_F64, v->ndim, v->shape);
    stl_check(L, st_op_copy(stl_ctx(L), v, &c->v));
    return &c->v;
}

/* {k=, species={Z...}, collapse_tol=} -> options (species copied into the caller's buffer). */
static void crystal_opts(lua_State *L, int idx, st_crystal_opts *o, int32_t *species)
{
    memset(o, 0, sizeof *o);
    if (lua_isnoneornil(L, idx)) return;
    luaL_checktype(L, idx, LUA_TTABLE);
    lua_getfield(L, idx, "k");
    if (!lua_isnil(L, -1)) {
        int ok;
        lua_Integer k = lua_tointegerx(L, -1, &ok);
        if (!ok || k < 1 || k > 100000) luaL_error(L, "crystal: k must be an integer 1..100000");
        o->k = (int32_t)k;
    }
    lua_pop(L, 1);
    lua_getfield(L, idx, "collapse_tol");
    o->collapse_tol = luaL_optnumber(L, -1, 0);
    lua_pop(L, 1);
    lua_getfield(L, idx, "species");
    if (!lua_isnil(L, -1)) {
        luaL_checktype(L, -1, LUA_TTABLE);
        int n = (int)luaL_len(L, -1);
        if (n < 1 || n > MAX_SPECIES) luaL_error(L, "crystal: species: give 1 to %d atomic numbers, got %d", MAX_SPECIES, n);
        for (int i = 0; i < n; i++) {
            lua_geti(L, -1, i + 1);
            int ok;
            lua_Integer z = lua_tointegerx(L, -1, &ok);
            if (!ok) luaL_error(L, "crystal: species entry %d is not an atomic number", i + 1);
            species[i] = (int32_t)z;
            lua_pop(L, 1);
        }
        o->species = species;
        o->nspecies = n;
    }
    lua_pop(L, 1);
}

static int metric_arg(lua_State *L, int idx)
{
    static const char *names[] = {"linf", "l1", "l2", NULL};
    return luaL_checkoption(L, idx, "linf", names);   /* order = st_crystal_metric */
}

static int kof(const st_crystal_opts *o) { return o->k ? o->k : ST_CRYSTAL_DEFAULT_K; }

/* crystal_nsites(atoms, opts) -> integer */
static int l_nsites(lua_State *L)
{
    st_atoms *a = stl_checkatoms(L, 1);
    st_crystal_opts o;
    int32_t sp[MAX_SPECIES];
    crystal_opts(L, 2, &o, sp);
    int64_t n;
    int rc = st_crystal_frame_nsites(stl_ctx(L), a, &o, &n);
    if (rc) return stl_fail(L, rc);
    lua_pushinteger(L, n);
    return 1;
}

/* crystal_knn(atoms, opts) -> dist [nsites][k], weights [nsites] */
static int l_knn(lua_State *L)
{
    st_atoms *a = stl_checkatoms(L, 1);
    st_crystal_opts o;
    int32_t sp[MAX_SPECIES];
    crystal_opts(L, 2, &o, sp);
    int64_t n;
    int rc = st_crystal_frame_nsites(stl_ctx(L), a, &o, &n);
    if (rc) return stl_fail(L, rc);
    int64_t s2[2] = {n, kof(&o)}, s1[1] = {n};
    stl_array *d = stl_array_new(L, ST_F64, 2, s2);
    stl_array *w = stl_array_new(L, ST_F64, 1, s1);
    rc = st_crystal_frame_knn(stl_ctx(L), a, &o, d->v.data, w->v.data);
    if (rc) return stl_fail(L, rc);
    return 2;
}

/* crystal_amd(atoms, opts) -> array [k] */
static int l_amd(lua_State *L)
{
    st_atoms *a = stl_checkatoms(L, 1);
    st_crystal_opts o;
    int32_t sp[MAX_SPECIES];
    crystal_opts(L, 2, &o, sp);
    int64_t s1[1] = {kof(&o)};
    stl_array *out = stl_array_new(L, ST_F64, 1, s1);
    int rc = st_crystal_frame_amd(stl_ctx(L), a, &o, out->v.data);
    if (rc) return stl_fail(L, rc);
    return 1;
}

/* crystal_pdd(atoms, opts) -> weights [nrows], rows [nrows][k] */
static int l_pdd(lua_State *L)
{
    st_atoms *a = stl_checkatoms(L, 1);
    st_crystal_opts o;
    int32_t sp[MAX_SPECIES];
    crystal_opts(L, 2, &o, sp);
    int64_t cap, nrows = 0, k = kof(&o);
    int rc = st_crystal_frame_nsites(stl_ctx(L), a, &o, &cap);
    if (rc) return stl_fail(L, rc);
    double *w = lua_newuserdatauv(L, (size_t)cap * sizeof(double), 0);
    double *r = lua_newuserdatauv(L, (size_t)(cap * k) * sizeof(double), 0);
    rc = st_crystal_frame_pdd(stl_ctx(L), a, &o, &nrows, w, r);
    if (rc) return stl_fail(L, rc);
    int64_t s1[1] = {nrows}, s2[2] = {nrows, k};
    stl_array *wa = stl_array_new(L, ST_F64, 1, s1);
    memcpy(wa->v.data, w, (size_t)nrows * sizeof(double));
    stl_array *ra = stl_array_new(L, ST_F64, 2, s2);
    memcpy(ra->v.data, r, (size_t)(nrows * k) * sizeof(double));
    return 2;
}

/* crystal_amd_distance(a, b, metric) -> number */
static int l_amd_distance(lua_State *L)
{
    const st_view *a = dense_arg(L, 1, 1, "amd_distance: first AMD");
    const st_view *b = dense_arg(L, 2, 1, "amd_distance: second AMD");
    int metric = metric_arg(L, 3);
    if (a->shape[0] != b->shape[0])
        luaL_error(L, "amd_distance: AMDs of different lengths (%d and %d)", (int)a->shape[0], (int)b->shape[0]);
    double d;
    int rc = st_crystal_amd_distance(stl_ctx(L), a->shape[0], a->data, b->data, metric, &d);
    if (rc) return stl_fail(L, rc);
    lua_pushnumber(L, d);
    return 1;
}

/* crystal_amd_matrix(A [n][k], metric) -> [n][n] */
static int l_amd_matrix(lua_State *L)
{
    const st_view *a = dense_arg(L, 1, 2, "amd_matrix: AMDs (rows = structures)");
    int metric = metric_arg(L, 2);
    int64_t n = a->shape[0], s2[2] = {n, n};
    stl_array *out = stl_array_new(L, ST_F64, 2, s2);
    int rc = st_crystal_amd_matrix(stl_ctx(L), n, a->shape[1], a->data, metric, out->v.data);
    if (rc) return stl_fail(L, rc);
    return 1;
}

/* crystal_amd_cross(A [na][k], B [nb][k], metric) -> [na][nb] */
static int l_amd_cross(lua_State *L)
{
    const st_view *a = dense_arg(L, 1, 2, "amd_cross: first AMDs (rows = structures)");
    const st_view *b = dense_arg(L, 2, 2, "amd_cross: second AMDs (rows = structures)");
    int metric = metric_arg(L, 3);
    if (a->shape[1] != b->shape[1])
        luaL_error(L, "amd_cross: AMDs of different lengths (k = %d and %d)", (int)a->shape[1], (int)b->shape[1]);
    int64_t s2[2] = {a->shape[0], b->shape[0]};
    stl_array *out = stl_array_new(L, ST_F64, 2, s2);
    int rc = st_crystal_amd_cross(stl_ctx(L), a->shape[0], a->data, b->shape[0], b->data, a->shape[1], metric,
                                  out->v.data);
    if (rc) return stl_fail(L, rc);
    return 1;
}

/* One PDD {weights = [r], rows = [r][k]} from the table at idx: views pushed on the stack. */
static void pdd_entry(lua_State *L, int idx, const char *what, int i, const st_view **w, const st_view **r)
{
    idx = lua_absindex(L, idx);
    if (!lua_istable(L, idx)) luaL_error(L, "%s: PDD %d: expected a table {weights=, rows=}", what, i);
    lua_getfield(L, idx, "weights");
    lua_getfield(L, idx, "rows");
    if (!lua_isuserdata(L, -2) || !lua_isuserdata(L, -1))
        luaL_error(L, "%s: PDD %d: weights and rows must be arrays", what, i);
    int top = lua_gettop(L);
    *w = dense_arg(L, top - 1, 1, what);
    *r = dense_arg(L, top, 2, what);
    if ((*w)->shape[0] != (*r)->shape[0] || (*r)->shape[0] < 1)
        luaL_error(L, "%s: PDD %d: %d weights for %d rows", what, i, (int)(*w)->shape[0], (int)(*r)->shape[0]);
}

typedef struct {
    int64_t n, k;
    int64_t *off;
    double *w, *r;
} packed;

/* Pack a Lua list of PDDs (argument idx) into buffers owned by userdata left on the stack. */
static void pack_pdds(lua_State *L, int idx, const char *what, packed *p)
{
    idx = lua_absindex(L, idx);
    luaL_checktype(L, idx, LUA_TTABLE);
    p->n = (int64_t)luaL_len(L, idx);
    if (p->n < 1) luaL_error(L, "%s: empty list of PDDs", what);
    int64_t total = 0;
    p->k = -1;
    for (int64_t i = 1; i <= p->n; i++) {   /* pass 1: check and count */
        int top = lua_gettop(L);
        const st_view *w, *r;
        lua_geti(L, idx, i);
        pdd_entry(L, -1, what, (int)i, &w, &r);
        if (p->k >= 0 && r->shape[1] != p->k)
            luaL_error(L, "%s: PDD %d has k = %d, the first has k = %d", what, (int)i, (int)r->shape[1], (int)p->k);
        p->k = r->shape[1];
        total += r->shape[0];
        lua_settop(L, top);
    }
    p->off = lua_newuserdatauv(L, (size_t)(p->n + 1) * sizeof(int64_t), 0);
    p->w = lua_newuserdatauv(L, (size_t)total * sizeof(double), 0);
    p->r = lua_newuserdatauv(L, (size_t)(total * p->k) * sizeof(double), 0);
    p->off[0] = 0;
    for (int64_t i = 1; i <= p->n; i++) {   /* pass 2: copy */
        int top = lua_gettop(L);
        const st_view *w, *r;
        lua_geti(L, idx, i);
        pdd_entry(L, -1, what, (int)i, &w, &r);
        int64_t m = r->shape[0], o = p->off[i - 1];
        memcpy(p->w + o, w->data, (size_t)m * sizeof(double));
        memcpy(p->r + o * p->k, r->data, (size_t)(m * p->k) * sizeof(double));
        p->off[i] = o + m;
        lua_settop(L, top);
    }
}

/* crystal_pdd_emd(w1, rows1, w2, rows2) -> number */
static int l_pdd_emd(lua_State *L)
{
    const st_view *w1 = dense_arg(L, 1, 1, "pdd_emd: weights 1");
    const st_view *r1 = dense_arg(L, 2, 2, "pdd_emd: rows 1");
    const st_view *w2 = dense_arg(L, 3, 1, "pdd_emd: weights 2");
    const st_view *r2 = dense_arg(L, 4, 2, "pdd_emd: rows 2");
    if (w1->shape[0] != r1->shape[0] || w2->shape[0] != r2->shape[0])
        luaL_error(L, "pdd_emd: weights and rows differ in length");
    if (r1->shape[1] != r2->shape[1])
        luaL_error(L, "pdd_emd: PDDs of different k (%d and %d)", (int)r1->shape[1], (int)r2->shape[1]);
    double d;
    int rc = st_crystal_pdd_emd(stl_ctx(L), r1->shape[1], r1->shape[0], w1->data, r1->data, r2->shape[0], w2->data,
                                r2->data, &d);
    if (rc) return stl_fail(L, rc);
    lua_pushnumber(L, d);
    return 1;
}

/* crystal_pdd_matrix({pdd...}) -> [n][n] */
static int l_pdd_matrix(lua_State *L)
{
    packed p;
    pack_pdds(L, 1, "pdd_matrix", &p);
    int64_t s2[2] = {p.n, p.n};
    stl_array *out = stl_array_new(L, ST_F64, 2, s2);
    int rc = st_crystal_pdd_matrix(stl_ctx(L), p.n, p.off, p.w, p.r, p.k, out->v.data);
    if (rc) return stl_fail(L, rc);
    return 1;
}

/* crystal_pdd_cross({pdd...}, {pdd...}) -> [na][nb] */
static int l_pdd_cross(lua_State *L)
{
    packed a, b;
    pack_pdds(L, 1, "pdd_cross: first list", &a);
    pack_pdds(L, 2, "pdd_cross: second list", &b);
    if (a.k != b.k) luaL_error(L, "pdd_cross: PDDs of different k (%d and %d)", (int)a.k, (int)b.k);
    int64_t s2[2] = {a.n, b.n};
    stl_array *out = stl_array_new(L, ST_F64, 2, s2);
    int rc = st_crystal_pdd_cross(stl_ctx(L), a.n, a.off, a.w, a.r, b.n, b.off, b.w, b.r, a.k, out->v.data);
    if (rc) return stl_fail(L, rc);
    return 1;
}

/* crystal_transport(a [n1], b [n2], cost [n1][n2]) -> value, flow [n1][n2], u [n1], v [n2] */
static int l_transport(lua_State *L)
{
    const st_view *a = dense_arg(L, 1, 1, "transport: supplies");
    const st_view *b = dense_arg(L, 2, 1, "transport: demands");
    const st_view *c = dense_arg(L, 3, 2, "transport: cost");
    int64_t n1 = a->shape[0], n2 = b->shape[0];
    if (c->shape[0] != n1 || c->shape[1] != n2)
        luaL_error(L, "transport: cost is %d x %d, expected %d x %d", (int)c->shape[0], (int)c->shape[1], (int)n1,
                   (int)n2);
    int64_t sf[2] = {n1, n2}, su[1] = {n1}, sv[1] = {n2};
    lua_pushnil(L);   /* slot for the value */
    int vslot = lua_gettop(L);
    stl_array *f = stl_array_new(L, ST_F64, 2, sf);
    stl_array *u = stl_array_new(L, ST_F64, 1, su);
    stl_array *v = stl_array_new(L, ST_F64, 1, sv);
    double value;
    int rc = st_crystal_transport(stl_ctx(L), n1, a->data, n2, b->data, c->data, f->v.data, u->v.data, v->v.data,
                                  &value);
    if (rc) return stl_fail(L, rc);
    lua_pushnumber(L, value);
    lua_replace(L, vslot);
    return 4;
}

STL_MODULE(crystal)
{
    static const luaL_Reg fns[] = {
        {"crystal_nsites", l_nsites}, {"crystal_knn", l_knn}, {"crystal_amd", l_amd}, {"crystal_pdd", l_pdd},
        {"crystal_amd_distance", l_amd_distance}, {"crystal_amd_matrix", l_amd_matrix},
        {"crystal_amd_cross", l_amd_cross}, {"crystal_pdd_emd", l_pdd_emd}, {"crystal_pdd_matrix", l_pdd_matrix},
        {"crystal_pdd_cross", l_pdd_cross}, {"crystal_transport", l_transport}, {NULL, NULL}};
    luaL_setfuncs(L, fns, 0);
    return 0;
}
