/* bench_desc -- QUESTS descriptor cost: CPU-µs per atom at k = 32, rc = 5 Å for ~10^5 atoms of
 * FCC Cu with 0.1 Å Gaussian noise, 1 and 2 threads, printed beside the reference figure from
 * shared/docs/quests-reference.md (QUESTS: ~30 CPU-µs per atom, 3.0 s for 100k atoms on a
 * 2-core machine like ours).  Also the species-aware variant on a random binary alloy.  Never
 * asserted.  Usage: bench_desc [natoms] */
#include "strata.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}
static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static uint64_t rs = 7;
static double urand(void)
{
    uint64_t z = (rs += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return (double)((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
}
static double nrand(void) { return sqrt(-2 * log(urand() + 1e-300)) * cos(6.283185307179586 * urand()); }

int main(int argc, char **argv)
{
    int64_t target = argc > 1 ? atoll(argv[1]) : 100000;
    int nc = (int)ceil(cbrt(target / 4.0)), nz = nc;
    while ((int64_t)4 * nc * nc * (nz - 1) >= target && nz > 1) nz--;
    const double a = 3.61;
    int64_t n = (int64_t)4 * nc * nc * nz;
    double cell[9] = {nc * a, 0, 0, 0, nc * a, 0, 0, 0, nz * a};
    double *pos = malloc(3 * n * sizeof *pos);
    int32_t *Z = malloc(n * sizeof *Z);
    const double b[4][3] = {{0, 0, 0}, {0, .5, .5}, {.5, 0, .5}, {.5, .5, 0}};
    int64_t i = 0;
    for (int x = 0; x < nc; x++) for (int y = 0; y < nc; y++) for (int z = 0; z < nz; z++)
        for (int q = 0; q < 4; q++, i++) {
            pos[3 * i] = (x + b[q][0]) * a + 0.1 * nrand();
            pos[3 * i + 1] = (y + b[q][1]) * a + 0.1 * nrand();
            pos[3 * i + 2] = (z + b[q][2]) * a + 0.1 * nrand();
            Z[i] = urand() < 0.5 ? 28 : 29;
        }
    int32_t pbc[3] = {1, 1, 1};
    st_ctx *ctx = st_ctx_create();
    double *X = malloc(n * 63 * sizeof *X);
    int maxt = st_get_num_threads();
    printf("bench_desc: QUESTS descriptor, FCC Cu + 0.1 Å noise, %lld atoms, k = 32, rc = 5 Å\n",
           (long long)n);
    printf("(machine shared with other jobs: CPU time is the steadier figure)\n");
    printf("%-22s %3s %9s %14s %16s\n", "variant", "thr", "wall s", "CPU-µs/atom", "reference");
    for (int t = 1; t <= 2 && t <= maxt; t++) {
        st_set_num_threads(t);
        double t0 = now(), c0 = cpu_now();
        int rc = st_quests_compute(ctx, n, pos, cell, pbc, NULL, NULL, X);
        double dt = now() - t0, dc = cpu_now() - c0;
        if (rc) { printf("error: %s\n", st_ctx_message(ctx)); return 1; }
        printf("%-22s %3d %9.3f %14.2f %16s\n", "agnostic", t, dt, dc / n * 1e6, "30 (QUESTS)");
    }
    /* species-aware, random Ni/Cu: agnostic + 2 species blocks + one-hot (3 searches) */
    st_quests_opts o = {.species_aware = 1};
    int64_t dim;
    st_quests_dim(ctx, &o, n, Z, &dim);
    double *S = malloc(n * dim * sizeof *S);
    for (int t = 1; t <= 2 && t <= maxt; t++) {
        st_set_num_threads(t);
        double t0 = now(), c0 = cpu_now();
        int rc = st_quests_compute(ctx, n, pos, cell, pbc, Z, &o, S);
        double dt = now() - t0, dc = cpu_now() - c0;
        if (rc) { printf("error: %s\n", st_ctx_message(ctx)); return 1; }
        printf("%-22s %3d %9.3f %14.2f %16s\n", "species-aware (2 el.)", t, dt, dc / n * 1e6, "-");
    }
    st_set_num_threads(maxt);
    free(S); free(X); free(pos); free(Z);
    st_ctx_destroy(ctx);
    return 0;
}
