/* bench_md.c -- MD throughput on the standard LAMMPS benchmarks, beside the reference figures of
 * ../shared/docs/nnip-benchmarks.md ("Classical MD reference") and, when the `lmp` executable is
 * installed, LAMMPS measured here the same way.
 *
 *   LJ:  fcc at reduced density 0.8442, 32,000 atoms, T* = 1.44, cutoff 2.5 sigma, skin 0.3 sigma,
 *        NVE, dt = 0.005 tau; neighbour check every 20 steps (LAMMPS bench/in.lj uses
 *        "every 20 delay 0 check no") and every step.  Reference: LAMMPS 2.1 M atom-steps/s on one
 *        core, 2.4 M with its optimised pair style; target here >= 2.5 M.
 *   EAM: Cu_u3.eam, fcc 3.615 Å, 32,000 atoms, 1600 K, dt 5 fs, skin 1 Å, check every step (LAMMPS
 *        bench/in.eam).
 * Units: LJ is run in Å, eV, amu with sigma = 1 Å, eps = 1 eV, m = 1 amu, so tau =
 * sqrt(m sigma^2/eps) = sqrt(103.64) fs = 10.18 fs and T* = 1.44 is 16,711 K; the dynamics are
 * identical.
 * Figures are printed, never asserted; the machine may be shared and timings noisy.  "M/s (wall)"
 * is atoms x steps per wall-clock second; "M/s (cpu)" divides by the CPU time of the process (times
 * the thread count), which is what the wall clock would show on an idle machine when the threads
 * are never descheduled.  LAMMPS gets the same two figures (its CPU time is that of a run of N
 * steps minus a run of 0 steps).
 * Environment: STRATA_BENCH_STEPS (default 200), STRATA_BENCH_NO_LAMMPS=1 skips lmp.
 */
#include "strata.h"
#include "strata/md.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <unistd.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* CPU time of this process (all threads): on a shared machine it measures the work done when the
 * wall clock is inflated by other jobs. */
static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static double children_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    return ru.ru_utime.tv_sec + 1e-6 * ru.ru_utime.tv_usec + ru.ru_stime.tv_sec + 1e-6 * ru.ru_stime.tv_usec;
}

static int fcc(double a, int nc, double *x, double *cell)
{
    static const double b[4][3] = {{0, 0, 0}, {0.5, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5}};
    int k = 0;
    for (int i = 0; i < nc; i++)
        for (int j = 0; j < nc; j++)
            for (int l = 0; l < nc; l++)
                for (int m = 0; m < 4; m++) {
                    x[3 * k] = a * (i + b[m][0]);
                    x[3 * k + 1] = a * (j + b[m][1]);
                    x[3 * k + 2] = a * (l + b[m][2]);
                    k++;
                }
    memset(cell, 0, sizeof(double) * 9);
    cell[0] = cell[4] = cell[8] = a * nc;
    return k;
}

typedef struct result { double rate, cpu_rate, e_drift; long long builds, dangerous; } result;

static int run_case(st_ctx *ctx, int lj, int every, int threads, int steps, result *out)
{
    st_set_num_threads(threads);
    int n = 32000;
    double *x = malloc(sizeof(double) * 3 * n), cell[9];
    int32_t *z = malloc(sizeof(int32_t) * n), pbc[3] = {1, 1, 1};
    double *m = malloc(sizeof(double) * n);
    st_md_options o = {0};
    o.integrator = ST_MD_NVE;
    st_md_potential_options po = {0};
    const char *style;
    double T;
    if (lj) {
        fcc(pow(4.0 / 0.8442, 1.0 / 3.0), 20, x, cell);
        for (int i = 0; i < n; i++) { z[i] = 18; m[i] = 1.0; }
        double tau = sqrt(st_md_constant(ST_MD_MVV2E));   /* fs */
        o.timestep = 0.005 * tau;
        o.skin = 0.3;
        T = 1.44 / st_md_constant(ST_MD_KB);
        style = "lj";
        po.params = "epsilon=1 sigma=1 rc=2.5";
    } else {
        fcc(3.615, 20, x, cell);
        for (int i = 0; i < n; i++) { z[i] = 29; m[i] = 63.55; }
        o.timestep = 5;
        o.skin = 1.0;
        T = 1600;
        style = "eam";
        po.file = "/usr/share/lammps/potentials/Cu_u3.eam";
    }
    o.rebuild_every = every;
    st_md_potential *p = NULL;
    st_md_sim *s = NULL;
    int rc = st_md_potential_create(ctx, style, &po, &p);
    if (!rc) rc = st_md_sim_create(ctx, n, x, z, m, cell, pbc, &o, &s);
    if (!rc) rc = st_md_sim_add_potential(ctx, s, p);
    if (!rc) rc = st_md_sim_init_velocities(ctx, s, T, 87287);
    if (!rc) rc = st_md_sim_run(ctx, s, 10);    /* warm-up: first list, buffers */
    st_md_thermo th0, th1;
    if (!rc) rc = st_md_sim_thermo(ctx, s, &th0);
    double t0 = now(), c0 = cpu_now();
    if (!rc) rc = st_md_sim_run(ctx, s, steps);
    double t1 = now(), c1 = cpu_now();
    if (!rc) rc = st_md_sim_thermo(ctx, s, &th1);
    if (!rc) {
        out->rate = (double)n * steps / (t1 - t0) / 1e6;
        out->cpu_rate = (double)n * steps / (c1 - c0) / 1e6;
        out->e_drift = (th1.conserved - th0.conserved) / n;
        out->builds = th1.nlist_builds - th0.nlist_builds;
        out->dangerous = th1.dangerous_builds;
    } else {
        fprintf(stderr, "bench_md: %s\n", st_ctx_message(ctx));
    }
    st_md_sim_destroy(s);
    st_md_potential_destroy(p);
    free(x);
    free(z);
    free(m);
    return rc;
}

/* Run LAMMPS on the same benchmark in a scratch directory.  Returns the wall-clock rate from its
 * "Loop time" (M atom-steps/s) or -1; *cpu_rate gets the CPU-time rate of the loop, measured as
 * the difference between a run of `steps` and a run of 0 steps (so setup is excluded). */
static double run_lammps(int lj, int steps, double *cpu_rate)
{
    *cpu_rate = -1;
    if (getenv("STRATA_BENCH_NO_LAMMPS")) return -1;
    if (system("command -v lmp >/dev/null 2>&1") != 0) return -1;
    char dir[] = "/tmp/strata-bench-lmp-XXXXXX";
    if (!mkdtemp(dir)) return -1;
    double rate = -1, cpu[2] = {0, 0};
    for (int pass = 0; pass < 2; pass++) {
        char path[256], cmd[600];
        snprintf(path, sizeof path, "%s/in.bench", dir);
        FILE *f = fopen(path, "w");
        if (!f) break;
        int ns = pass ? steps : 0;
        if (lj)
            fprintf(f, "units lj\natom_style atomic\nlattice fcc 0.8442\nregion box block 0 20 0 20 0 20\n"
                       "create_box 1 box\ncreate_atoms 1 box\nmass 1 1.0\nvelocity all create 1.44 87287 loop geom\n"
                       "pair_style lj/cut 2.5\npair_coeff 1 1 1.0 1.0 2.5\nneighbor 0.3 bin\n"
                       "neigh_modify delay 0 every 20 check no\nfix 1 all nve\nthermo 100\nrun %d\n", ns);
        else
            fprintf(f, "units metal\natom_style atomic\nlattice fcc 3.615\nregion box block 0 20 0 20 0 20\n"
                       "create_box 1 box\ncreate_atoms 1 box\npair_style eam\n"
                       "pair_coeff 1 1 /usr/share/lammps/potentials/Cu_u3.eam\nvelocity all create 1600.0 376847 loop geom\n"
                       "neighbor 1.0 bin\nneigh_modify every 1 delay 5 check yes\nfix 1 all nve\ntimestep 0.005\n"
                       "thermo 50\nrun %d\n", ns);
        fclose(f);
        snprintf(cmd, sizeof cmd, "cd %s && OMP_NUM_THREADS=1 lmp -in in.bench -log log.bench -screen none >/dev/null 2>&1", dir);
        double c0 = children_cpu();
        if (system(cmd) != 0) break;
        cpu[pass] = children_cpu() - c0;
        if (!pass) continue;
        snprintf(path, sizeof path, "%s/log.bench", dir);
        f = fopen(path, "r");
        char line[512];
        while (f && fgets(line, sizeof line, f)) {
            double t;
            int np, nsteps, na;
            if (sscanf(line, "Loop time of %lf on %d procs for %d steps with %d atoms", &t, &np, &nsteps, &na) == 4) {
                rate = (double)na * nsteps / t / 1e6;
                if (cpu[1] > cpu[0]) *cpu_rate = (double)na * nsteps / (cpu[1] - cpu[0]) / 1e6;
            }
        }
        if (f) fclose(f);
    }
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "bench_md: could not remove %s\n", dir);
    return rate;
}

int main(void)
{
    st_ctx *ctx = st_ctx_create();
    const char *e = getenv("STRATA_BENCH_STEPS");
    int steps = e && atoi(e) > 0 ? atoi(e) : 200;
    int maxth = st_get_num_threads();
    printf("bench_md: %d steps per case, up to %d threads (timings on a shared machine are noisy)\n", steps, maxth > 2 ? 2 : maxth);
    if (!getenv("OMP_WAIT_POLICY"))
        printf("  note: on a busy machine set OMP_WAIT_POLICY=passive, or spinning OpenMP threads make 2 threads slower than 1\n");
    printf("%-44s %7s %12s %12s %10s %7s\n", "case", "threads", "M/s (wall)", "M/s (cpu)", "dE/N", "builds");
    for (int lj = 1; lj >= 0; lj--) {
        if (!lj && access("/usr/share/lammps/potentials/Cu_u3.eam", R_OK) != 0) {
            printf("EAM Cu: skipped (Cu_u3.eam not installed; apt-get install lammps-data)\n");
            break;
        }
        const int everys[2] = {20, 1};
        for (int ev = lj ? 0 : 1; ev < 2; ev++)
            for (int th = 1; th <= 2 && th <= (maxth > 1 ? 2 : 1); th++) {
                result r;
                char name[96];
                snprintf(name, sizeof name, "%s 32000 atoms, check every %d", lj ? "LJ rho*=0.8442 T*=1.44" : "EAM Cu_u3 1600 K",
                         everys[ev]);
                if (run_case(ctx, lj, everys[ev], th, steps, &r)) continue;
                printf("%-44s %7d %12.3f %12.3f %10.2e %7lld%s\n", name, th, r.rate, th == 1 ? r.cpu_rate : r.cpu_rate * th,
                       r.e_drift, r.builds, r.dangerous ? " (dangerous builds)" : "");
                fflush(stdout);
            }
        if (lj) printf("  reference (nnip-benchmarks.md): LAMMPS 2.1 M atom-steps/s on 1 core, 2.4 M optimised; target >= 2.5 M\n");
        double lcpu, lr = run_lammps(lj, lj ? steps : steps / 2 > 0 ? steps / 2 : 1, &lcpu);
        if (lr > 0)
            printf("  LAMMPS (lmp on this machine, 1 thread, %s): %.3f M atom-steps/s (wall), %.3f (cpu)\n",
                   lj ? "bench/in.lj" : "bench/in.eam", lr, lcpu);
        else printf("  LAMMPS not run (no lmp in PATH or STRATA_BENCH_NO_LAMMPS set)\n");
    }
    st_ctx_destroy(ctx);
    return 0;
}
