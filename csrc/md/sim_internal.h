/* sim_internal.h -- the simulation object shared by sim.c, integrate.c and restart.c. */
#ifndef STRATA_MD_SIM_INTERNAL_H
#define STRATA_MD_SIM_INTERNAL_H
#include "md_internal.h"

enum { MD_MAXPOTS = 16, MD_MAXOBS = 16, MD_NHC_MAX = 10 };
/* Philox streams (one per use, so no two uses ever share a counter). */
enum { MD_STREAM_LANGEVIN = 1, MD_STREAM_BARO = 2, MD_STREAM_INIT = 3 };

/* Thermostat variables: part of the restart state and of the per-step backup. */
typedef struct md_thermo_state {
    double heat;                 /* energy removed by the Langevin O steps (eV) */
    double xi[MD_NHC_MAX];       /* Nosé-Hoover chain positions (dimensionless) */
    double vxi[MD_NHC_MAX];      /* and velocities (1/fs) */
} md_thermo_state;

struct st_md_sim {
    int64_t n;
    double *x, *v, *f, *m, *acc;  /* positions Å, velocities Å/fs, forces eV/Å, masses amu, 1/(m MVV2E) */
    int32_t *z;
    double cell[9];
    int32_t pbc[3];
    st_md_options opt;            /* defaults resolved */
    st_md_potential *pots[MD_MAXPOTS];
    int npots;
    st_md_nlist *nl;
    md_eval ev;
    int forces_valid;
    double epot, virial[9];
    int64_t step;
    double time;
    uint64_t seed;
    md_thermo_state thermo;
    double nhc_q[MD_NHC_MAX];     /* chain masses, eV fs^2 */
    int64_t dangerous, last_build_step;
    int have_build;
    st_md_observer *obs[MD_MAXOBS];
    int nobs;
    /* state at the start of the current step, for explosion recovery */
    double *bx, *bv, bcell[9], btime;
    int64_t bstep;
    md_thermo_state bthermo;
};

ST_HIDDEN int md_compute_forces(st_ctx *ctx, st_md_sim *s, int mode);
ST_HIDDEN int md_sim_ensure_nlist(st_ctx *ctx, st_md_sim *s);
ST_HIDDEN double md_kinetic(const st_md_sim *s);
ST_HIDDEN double md_dof(const st_md_sim *s);
/* integrate.c */
ST_HIDDEN void md_thermostat_init(st_md_sim *s);
ST_HIDDEN int md_step(st_ctx *ctx, st_md_sim *s);
ST_HIDDEN double md_conserved(const st_md_sim *s, double ke);

#endif
