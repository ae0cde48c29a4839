/* bench_neighbor -- neighbour-list throughput: full lists for FCC Cu (a = 3.61 Å) with Gaussian
 * thermal noise (sigma 0.1 Å), cutoff 5 Å (~42 neighbours per atom), 10^5 and 10^6 atoms, 1 and
 * 2 threads; also k = 32 nearest neighbours.  Prints pairs/second and memory.  Never asserted.
 * Usage: bench_neighbor [natoms ...]   (default 100000 1000000)
 * /work/shared/docs holds no reference figure for neighbour lists; for scale, the QUESTS
 * reference descriptor (which includes its own neighbour search) costs ~30 CPU-µs per atom. */
#include "strata.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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

static uint64_t rs = 42;
static double urand(void)
{
    uint64_t z = (rs += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return (double)((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
}
static double nrand(void)
{
    return sqrt(-2 * log(urand() + 1e-300)) * cos(6.283185307179586 * urand());
}

/* FCC Cu supercell of about `target` atoms, nx x ny x nz conventional cells. */
static double *make_fcc(int64_t target, double *cell, int64_t *n)
{
    int nc = (int)ceil(cbrt(target / 4.0));
    int nx = nc, ny = nc, nz = nc;
    while ((int64_t)4 * nx * ny * (nz - 1) >= target && nz > 1) nz--;
    const double a = 3.61;
    memset(cell, 0, 9 * sizeof *cell);
    cell[0] = nx * a; cell[4] = ny * a; cell[8] = nz * a;
    *n = (int64_t)4 * nx * ny * nz;
    double *p = malloc(3 * *n * sizeof *p);
    const double b[4][3] = {{0, 0, 0}, {0, .5, .5}, {.5, 0, .5}, {.5, .5, 0}};
    int64_t i = 0;
    for (int x = 0; x < nx; x++) for (int y = 0; y < ny; y++) for (int z = 0; z < nz; z++)
        for (int q = 0; q < 4; q++, i++) {
            p[3 * i] = (x + b[q][0]) * a + 0.1 * nrand();
            p[3 * i + 1] = (y + b[q][1]) * a + 0.1 * nrand();
            p[3 * i + 2] = (z + b[q][2]) * a + 0.1 * nrand();
        }
    return p;
}

static double maxrss_mb(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss / 1024.0;
}

int main(int argc, char **argv)
{
    int64_t sizes[8] = {100000, 1000000};
    int nsizes = 2;
    if (argc > 1) {
        nsizes = 0;
        for (int i = 1; i < argc && nsizes < 8; i++) sizes[nsizes++] = atoll(argv[i]);
    }
    st_ctx *ctx = st_ctx_create();
    int32_t pbc[3] = {1, 1, 1};
    int maxthreads = st_get_num_threads();
    printf("bench_neighbor: FCC Cu + 0.1 Å noise, cutoff 5 Å, full list (vectors stored)\n");
    printf("(machine shared with other jobs: CPU time is the steadier figure)\n");
    printf("%10s %3s %10s %9s %10s %12s %10s %8s %9s\n", "atoms", "thr", "pairs", "wall s",
           "Mpairs/s", "CPU-ns/pair", "CPU-µs/at", "B/pair", "MB list");
    for (int s = 0; s < nsizes; s++) {
        double cell[9];
        int64_t n;
        double *pos = make_fcc(sizes[s], cell, &n);
        for (int t = 1; t <= 2 && t <= (maxthreads > 2 ? 2 : maxthreads); t++) {
            st_set_num_threads(t);
            st_nlist *nl = NULL;
            double t0 = now(), c0 = cpu_now();
            int rc = st_nlist_build(ctx, n, pos, cell, pbc, 5.0, NULL, &nl);
            double dt = now() - t0, dc = cpu_now() - c0;
            if (rc) { printf("error: %s\n", st_ctx_message(ctx)); return 1; }
            int64_t np = st_nlist_npairs(nl);
            double mb = st_nlist_memory(nl) / 1048576.0;
            printf("%10lld %3d %10lld %9.3f %10.1f %12.1f %10.2f %8.1f %9.1f\n", (long long)n, t,
                   (long long)np, dt, np / dt / 1e6, dc / np * 1e9, dc / n * 1e6,
                   (double)st_nlist_memory(nl) / np, mb);
            /* rebuild in place (MD-style): no allocation or first-touch cost */
            t0 = now(); c0 = cpu_now();
            rc = st_nlist_update(ctx, nl, n, pos, cell, pbc, 5.0, NULL);
            dt = now() - t0; dc = cpu_now() - c0;
            if (rc) { printf("error: %s\n", st_ctx_message(ctx)); return 1; }
            printf("%10lld %3d %10s %9.3f %10.1f %12.1f %10.2f  (st_nlist_update)\n", (long long)n,
                   t, "", dt, np / dt / 1e6, dc / np * 1e9, dc / n * 1e6);
            st_nlist_destroy(nl);
        }
        /* k nearest neighbours, k = 32 */
        int k = 32;
        int32_t *idx = malloc((size_t)n * k * sizeof *idx);
        double *dist = malloc((size_t)n * k * sizeof *dist);
        for (int t = 1; t <= 2 && t <= (maxthreads > 2 ? 2 : maxthreads); t++) {
            st_set_num_threads(t);
            double t0 = now(), c0 = cpu_now();
            int rc = st_nlist_knn(ctx, n, pos, cell, pbc, k, idx, NULL, NULL, dist, NULL);
            double dt = now() - t0, dc = cpu_now() - c0;
            if (rc) { printf("error: %s\n", st_ctx_message(ctx)); return 1; }
            printf("%10lld %3d knn k=32: wall %.3f s, %.2f CPU-µs/atom\n", (long long)n, t, dt,
                   dc / n * 1e6);
        }
        free(idx); free(dist);
        free(pos);
    }
    st_set_num_threads(maxthreads);
    printf("peak RSS %.0f MB\n", maxrss_mb());
    st_ctx_destroy(ctx);
    return 0;
}
