/* bench_crystal.c -- timings of the crystal module on the zeolite study's data, printed beside
 * the reference figures of docs/zeolite-maps.md (never asserted):
 *   1. 253 IZA frameworks: CIF reading + AMD_100 of each + the 253 x 253 AMD matrix
 *      (study 1.82 s; Python 0.6 s reading + 0.67 s AMDs);
 *   2. their PDD_100 and the full 253 x 253 PDD-EMD matrix (Python 5.7 s, 178 us per pair);
 *   3. 236 relaxed P1 frameworks (iza_nnpscan): AMDs (Python 58 s) and the PDD-EMD matrix
 *      (Python 505 s).
 * Run from the repository root; needs ../shared/data/zeolites.  Threads: STRATA_NUM_THREADS. */
#include "strata.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Process CPU time (all threads): on a loaded machine, cpu / threads estimates the quiet wall. */
static double cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef struct {
    int n;
    char **paths;
    st_atoms **frames;
} dataset;

static int list_cifs(const char *dir, dataset *d)
{
    DIR *dp = opendir(dir);
    if (!dp) return -1;
    struct dirent *e;
    int cap = 512;
    d->paths = malloc(cap * sizeof(char *));
    d->n = 0;
    while ((e = readdir(dp))) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".cif") != 0) continue;
        if (d->n == cap) d->paths = realloc(d->paths, (cap *= 2) * sizeof(char *));
        d->paths[d->n] = malloc(strlen(dir) + l + 2);
        sprintf(d->paths[d->n++], "%s/%s", dir, e->d_name);
    }
    closedir(dp);
    qsort(d->paths, d->n, sizeof(char *), cmp_str);
    d->frames = calloc(d->n, sizeof(st_atoms *));
    return 0;
}

static int read_all(st_ctx *ctx, dataset *d)
{
    for (int i = 0; i < d->n; i++) {
        st_reader *r = NULL;
        if (st_reader_open(ctx, d->paths[i], "cif", &r) || st_reader_next(ctx, r, &d->frames[i]) ||
            !d->frames[i]) {
            fprintf(stderr, "bench_crystal: %s\n", st_ctx_message(ctx));
            st_reader_close(r);
            return -1;
        }
        st_reader_close(r);
    }
    return 0;
}

/* AMD_100 of every frame into amd [n][100]. */
static int amds(st_ctx *ctx, dataset *d, double *amd)
{
    for (int i = 0; i < d->n; i++)
        if (st_crystal_frame_amd(ctx, d->frames[i], NULL, amd + 100 * i)) {
            fprintf(stderr, "bench_crystal: %s: %s\n", d->paths[i], st_ctx_message(ctx));
            return -1;
        }
    return 0;
}

/* PDD_100 of every frame, back to back; returns total rows or -1. */
static int64_t pdds(st_ctx *ctx, dataset *d, int64_t *off, double **w, double **r, int64_t *maxrows)
{
    int64_t cap = 0;
    for (int i = 0; i < d->n; i++) {
        int64_t ns = 0;
        if (st_crystal_frame_nsites(ctx, d->frames[i], NULL, &ns)) return -1;
        cap += ns;
    }
    *w = malloc((size_t)cap * sizeof(double));
    *r = malloc((size_t)cap * 100 * sizeof(double));
    off[0] = 0;
    *maxrows = 0;
    for (int i = 0; i < d->n; i++) {
        int64_t nr = 0;
        if (st_crystal_frame_pdd(ctx, d->frames[i], NULL, &nr, *w + off[i], *r + off[i] * 100)) {
            fprintf(stderr, "bench_crystal: %s: %s\n", d->paths[i], st_ctx_message(ctx));
            return -1;
        }
        off[i + 1] = off[i] + nr;
        if (nr > *maxrows) *maxrows = nr;
    }
    return off[d->n];
}

static void run(const char *label, const char *dir, double ref_amd, const char *ref_amd_text,
                double ref_pdd, double ref_pair_us)
{
    st_ctx *ctx = st_ctx_create();
    dataset d = {0};
    if (list_cifs(dir, &d) || d.n == 0) {
        printf("%-10s SKIP: %s not found\n", label, dir);
        st_ctx_destroy(ctx);
        return;
    }
    int64_t atoms = 0;
    size_t nn = d.n > 0 ? (size_t)d.n : 1;
    double t0 = now(), c0 = cpu();
    if (read_all(ctx, &d)) {
        printf("%-10s SKIP: CIF reader failed\n", label);
        st_ctx_destroy(ctx);
        return;
    }
    double t1 = now(), c1 = cpu();
    for (int i = 0; i < d.n; i++) atoms += st_atoms_count(d.frames[i]);
    double *amd = malloc(nn * 100 * sizeof(double));
    double *M = malloc(nn * nn * sizeof(double));
    if (amds(ctx, &d, amd)) return;
    double t2 = now(), c2 = cpu();
    st_crystal_amd_matrix(ctx, d.n, 100, amd, ST_CRYSTAL_LINF, M);
    double t3 = now(), c3 = cpu();
    printf("%-10s %d frameworks, %lld atoms, %d threads; times are wall s (process cpu s)\n", label,
           d.n, (long long)atoms, st_get_num_threads());
    printf("  read CIFs %.3f (%.3f) | AMD_100 all %.3f (%.3f) | AMD matrix %.4f (%.4f) | "
           "total %.3f (%.3f)\n", t1 - t0, c1 - c0, t2 - t1, c2 - c1, t3 - t2, c3 - c2, t3 - t0,
           c3 - c0);
    printf("  reference: %s -> %.1fx (wall)\n", ref_amd_text, ref_amd / (t3 - t0));
    int64_t *off = malloc((nn + 1) * sizeof(int64_t)), maxrows = 0;
    double *w = NULL, *r = NULL;
    double t4 = now(), c4 = cpu();
    int64_t rows = pdds(ctx, &d, off, &w, &r, &maxrows);
    double t5 = now(), c5 = cpu();
    if (rows >= 0) {
        st_crystal_pdd_matrix(ctx, d.n, off, w, r, 100, M);
        double t6 = now(), c6 = cpu();
        double pairs = (double)d.n * (d.n - 1) / 2;
        printf("  PDD_100 all %.3f (%.3f), %lld rows, largest %lld | PDD-EMD matrix %.3f (%.3f), "
               "%.1f us/pair wall\n", t5 - t4, c5 - c4, (long long)rows, (long long)maxrows,
               t6 - t5, c6 - c5, 1e6 * (t6 - t5) / pairs);
        printf("  reference: %.1f s, %.0f us/pair -> %.1fx (wall)\n", ref_pdd, ref_pair_us,
               ref_pdd / (t6 - t5));
    }
    for (int i = 0; i < d.n; i++) {
        st_atoms_destroy(d.frames[i]);
        free(d.paths[i]);
    }
    free(d.frames); free(d.paths); free(amd); free(M); free(off); free(w); free(r);
    st_ctx_destroy(ctx);
}

int main(void)
{
    const char *root = getenv("STRATA_SHARED");
    char a[1024], b[1024];
    snprintf(a, sizeof a, "%s/data/zeolites/iza_ideal", root ? root : "../shared");
    snprintf(b, sizeof b, "%s/data/zeolites/iza_nnpscan", root ? root : "../shared");
    printf("bench_crystal: AMD / PDD-EMD on the zeolite study's frameworks (k = 100)\n");
    run("iza_ideal", a, 1.82, "study 1.82 s; Python 0.6 s read + 0.67 s AMDs", 5.7, 178);
    run("nnpscan", b, 58, "Python 58 s for the AMDs", 505, 505e6 / (236.0 * 235 / 2));
    return 0;
}
