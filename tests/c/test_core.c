/* Unit tests for the core: context, status, views, atoms frame, cells. */
#include "strata.h"
#include "check.h"

TEST(ctx_messages)
{
    st_ctx *ctx = st_ctx_create();
    CHECK(st_ctx_status(ctx) == ST_OK);
    CHECK(strcmp(st_ctx_message(ctx), "") == 0);
    CHECK(st_ctx_fail(ctx, ST_ERR_PARSE, "x.cif: line 3: bad") == ST_ERR_PARSE);
    CHECK(st_ctx_status(ctx) == ST_ERR_PARSE);
    CHECK(strstr(st_ctx_message(ctx), "line 3") != NULL);
    st_ctx_clear(ctx);
    CHECK(st_ctx_status(ctx) == ST_OK);
    st_ctx_destroy(ctx);
    st_ctx_destroy(NULL);
    CHECK(strcmp(st_status_name(ST_ERR_INTERRUPTED), "interrupted") == 0);
    CHECK(st_abi_version() == ST_ABI_VERSION);
}

TEST(interrupt_flag)
{
    CHECK(!st_interrupt_pending());
    st_interrupt();
    CHECK(st_interrupt_pending());
    st_interrupt_clear();
    CHECK(!st_interrupt_pending());
}

TEST(threads)
{
    int n = st_get_num_threads();
    CHECK(n >= 1);
    st_set_num_threads(1);
    CHECK(st_get_num_threads() == 1);
    st_set_num_threads(n);
}

TEST(views)
{
    st_view v = {0};
    v.ndim = 3; v.shape[0] = 2; v.shape[1] = 3; v.shape[2] = 4; v.dtype = ST_F64;
    st_view_set_contiguous(&v);
    CHECK(v.strides[0] == 12 && v.strides[1] == 4 && v.strides[2] == 1);
    CHECK(st_view_numel(&v) == 24);
    CHECK(st_view_is_contiguous(&v));
    v.strides[2] = 2;
    CHECK(!st_view_is_contiguous(&v));
    CHECK(st_dtype_size(ST_F32) == 4);
    CHECK(st_dtype_from_name("int64") == ST_I64);
    CHECK(st_dtype_from_name("nope") == -1);
}

TEST(atoms_arrays_and_info)
{
    st_ctx *ctx = st_ctx_create();
    st_atoms *a = st_atoms_create(3);
    CHECK(st_atoms_count(a) == 3);
    int f = st_atoms_array_add(ctx, a, "forces", ST_KIND_REAL, 3);
    CHECK(f == 0);
    double *F = st_atoms_array_data(a, f);
    F[8] = 2.5;
    int s = st_atoms_array_add(ctx, a, "label", ST_KIND_STRING, 1);
    CHECK_OK(ctx, st_atoms_array_set_string(ctx, a, s, 2, 0, "Si1"));
    CHECK(strcmp(st_atoms_array_string(a, s, 2, 0), "Si1") == 0);
    CHECK(st_atoms_array_add(ctx, a, "positions", ST_KIND_REAL, 3) == -1);
    double stress[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    int64_t shp[2] = {3, 3};
    CHECK_OK(ctx, st_atoms_info_set_real(ctx, a, "stress", 2, shp, stress));
    CHECK_OK(ctx, st_atoms_info_set_string(ctx, a, "config_type", "md bulk"));
    double e = -3.5;
    CHECK_OK(ctx, st_atoms_info_set_real(ctx, a, "energy", 0, NULL, &e));
    st_atoms *b = st_atoms_copy(a);
    CHECK(b != NULL);
    CHECK(((double *)st_atoms_array_data(b, st_atoms_array_find(b, "forces")))[8] == 2.5);
    int k = st_atoms_info_find(b, "stress");
    CHECK(st_atoms_info_ndim(b, k) == 2 && st_atoms_info_dim(b, k, 1) == 3);
    CHECK(((const double *)st_atoms_info_data(b, k))[5] == 6);
    CHECK(strcmp(st_atoms_info_string(b, st_atoms_info_find(b, "config_type")), "md bulk") == 0);
    CHECK_OK(ctx, st_atoms_resize(ctx, b, 5));
    CHECK(st_atoms_count(b) == 5);
    CHECK(strcmp(st_atoms_array_string(b, st_atoms_array_find(b, "label"), 2, 0), "Si1") == 0);
    CHECK(st_atoms_array_remove(b, "forces") == 1 && st_atoms_array_find(b, "forces") < 0);
    CHECK(st_atoms_info_remove(b, "energy") == 1 && st_atoms_info_find(b, "energy") < 0);
    st_atoms_destroy(a);
    st_atoms_destroy(b);
    st_atoms_destroy(NULL);
    st_ctx_destroy(ctx);
}

TEST(cells)
{
    double L[3] = {5, 6, 7}, ang[3] = {80, 95, 110}, c[9], inv[9], L2[3], ang2[3];
    CHECK(st_cell_from_parameters(L, ang, c) == ST_OK);
    st_cell_to_parameters(c, L2, ang2);
    for (int i = 0; i < 3; i++) {
        CHECK_NEAR(L2[i], L[i], 1e-12);
        CHECK_NEAR(ang2[i], ang[i], 1e-10);
    }
    CHECK(st_cell_inverse(c, inv) == ST_OK);
    double x[3] = {1.2, -0.3, 2.2}, fr[3], y[3];
    st_cart_to_frac(inv, 1, x, fr);
    st_frac_to_cart(c, 1, fr, y);
    for (int i = 0; i < 3; i++) CHECK_NEAR(y[i], x[i], 1e-12);
    double sing[9] = {1, 0, 0, 2, 0, 0, 0, 0, 1};
    CHECK(st_cell_inverse(sing, inv) == ST_ERR_NUMERIC);
    double bad[3] = {90, 90, 200};
    CHECK(st_cell_from_parameters(L, bad, c) == ST_ERR_ARG);
}

int main(void)
{
    RUN(ctx_messages);
    RUN(interrupt_flag);
    RUN(threads);
    RUN(views);
    RUN(atoms_arrays_and_info);
    RUN(cells);
    return DONE();
}
