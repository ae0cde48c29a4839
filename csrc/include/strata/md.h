/* strata/md.h -- molecular dynamics kernels: a registry of interatomic potentials, Verlet
 * neighbour lists with a skin, integrators (NVE, Langevin BAOAB, Nosé-Hoover chains, NPT by
 * stochastic cell rescaling), restartable state and cheap on-the-fly observers (RDF, MSD, VACF).
 *
 * Units everywhere: Å, eV, fs, amu, K; forces eV/Å; pressure bar; velocities Å/fs.
 *   kinetic energy  = 0.5 m v^2 * ST_MD_MVV2E        (1 amu Å^2/fs^2 = 103.642696... eV)
 *   kB              = 8.617333262e-5 eV/K             (CODATA 2018, exact SI-derived)
 *   1 eV/Å^3        = 1.602176634e6 bar
 * (st_md_constant() returns them.)  Cells are row vectors a, b, c (Å), pbc per axis 0/1, as in
 * strata/atoms.h.  Species are atomic numbers Z; Z = 0 is allowed for model potentials.
 *
 * Virial convention: W_ab = sum_k f_k,a x_k,b = -dE/d(eps_ab) for the homogeneous deformation
 * x -> (1 + eps) x applied to positions and cell.  Pressure tensor P = (sum_i m v_i v_i + W)/V.
 * The stress in the ASE sign convention is -P.
 */
#ifndef STRATA_MD_H
#define STRATA_MD_H
#include "core.h"

/* ABI version of the potential plugin interface below (st_md_potential_class, st_md_pot_args). */
enum { ST_MD_POTENTIAL_ABI = 1 };

/* Physical constants used by the MD kernels; see st_md_constant(). */
enum st_md_constant_id {
    ST_MD_KB = 0,           /* Boltzmann constant, eV/K */
    ST_MD_MVV2E = 1,        /* amu Å^2 fs^-2 -> eV */
    ST_MD_EVA3_TO_BAR = 2   /* eV/Å^3 -> bar */
};
ST_API double st_md_constant(int id);   /* NaN for an unknown id */

/* ---------------------------------------------------------------------------------------------
 * Neighbour lists (Verlet list with skin, periodic triclinic cells, periodic images as "ghost"
 * entries).  A list built with cutoff rc and skin s holds every pair closer than rc + s; it is
 * rebuilt automatically when an atom moved more than s/2 since the last build (corrected for cell
 * deformation).  Half lists hold each pair once; full lists hold both directions. */
typedef struct st_md_nlist st_md_nlist;

ST_API int st_md_nlist_create(st_ctx *ctx, double cutoff, double skin, int full, st_md_nlist **out);
ST_API void st_md_nlist_destroy(st_md_nlist *nl);                   /* NULL is a no-op */
/* Make the list valid for these positions: rebuilds when needed (*rebuilt = 1, may be NULL).
 * cell may be NULL when no axis is periodic. */
ST_API int st_md_nlist_update(st_ctx *ctx, st_md_nlist *nl, int64_t n, const double *positions,
                              const double *cell, const int32_t *pbc, int32_t *rebuilt);
ST_API int64_t st_md_nlist_build_count(const st_md_nlist *nl);
/* Pairs of the (updated) list closer than rmax, each once: atoms i, j and the vector
 * d = x_j(image) - x_i (Å).  Call with i = j = d = NULL to get *count; then with arrays of
 * capacity cap.  ST_ERR_ARG if cap is too small. */
ST_API int st_md_nlist_pairs(st_ctx *ctx, st_md_nlist *nl, double rmax, int32_t *i, int32_t *j,
                             double *d, int64_t cap, int64_t *count);

/* ---------------------------------------------------------------------------------------------
 * Potentials: a registry of classes (libxc style), found by name.  Built in:
 *   "lj"                 Lennard-Jones, params epsilon, sigma, rc (default 2.5 sigma), shift (0/1)
 *   "morse"              Morse, params D0, alpha, r0, rc, shift
 *   "eam"                EAM funcfl file (e.g. Cu_u3.eam), LAMMPS pair_style eam conventions
 *   "eam/alloy"          EAM setfl file (e.g. Cu_mishin1.eam.alloy), LAMMPS pair_style eam/alloy
 *   "sw"                 Stillinger-Weber, LAMMPS .sw file
 *   "tersoff"            Tersoff, LAMMPS .tersoff file
 *   "muller-brown", "muller-brown-scaled", "muller-brown-5d", "three-well",
 *   "three-well-scaled", "harmonic"   analytic models on the flat coordinate vector
 * See docs/md.md for parameters, formulas and file conventions. */
typedef struct st_md_potential st_md_potential;

typedef struct st_md_potential_options {
    const char *file;       /* potential file (eam, eam/alloy, sw, tersoff) */
    const char *params;     /* "key=value key=value ..." numeric parameters */
    const char *elements;   /* space-separated symbols the potential applies to (pair styles:
                               optional restriction; NULL = any species) */
} st_md_potential_options;

ST_API int st_md_potential_create(st_ctx *ctx, const char *name, const st_md_potential_options *opt,
                                  st_md_potential **out);
ST_API void st_md_potential_destroy(st_md_potential *pot);          /* NULL is a no-op */
ST_API const char *st_md_potential_name(const st_md_potential *pot);
ST_API double st_md_potential_cutoff(const st_md_potential *pot);   /* Å; 0 for coordinate models */

/* Outputs of one evaluation.  forces ([n][3], eV/Å) and atom_energies ([n], eV) are
 * caller-allocated and may be NULL. */
typedef struct st_md_result {
    double energy;          /* eV */
    double virial[9];       /* eV, row-major, see the convention above */
    double *forces;
    double *atom_energies;
} st_md_result;

/* Energy, forces, virial, per-atom energies.  nl may be NULL (a temporary list without skin is
 * built); otherwise it is updated (and rebuilt if needed) and must have a cutoff >= the
 * potential's.  numbers may be NULL for coordinate models. */
ST_API int st_md_potential_compute(st_ctx *ctx, st_md_potential *pot, st_md_nlist *nl, int64_t n,
                                   const double *positions, const int32_t *numbers,
                                   const double *cell, const int32_t *pbc, st_md_result *res);

/* Plugin interface.  A class computes the energy and ADDS forces on every entry of x (real atoms
 * and periodic images); the caller folds image forces back and computes the virial as
 * sum_k f_k x_k, which is exact for any potential that depends only on differences of the
 * entries of x.  Classes flagged ST_MD_POT_COORDINATES instead receive the raw positions
 * (next == n, no lists) and may depend on absolute coordinates. */
enum st_md_potential_flags {
    ST_MD_POT_FULL_LIST = 1,     /* needs full neighbour lists (many-body) */
    ST_MD_POT_COORDINATES = 2    /* acts on raw coordinates: no neighbour list, no cell */
};

typedef struct st_md_pot_args {
    int64_t n;                   /* real atoms */
    int64_t next;                /* real atoms + periodic images held in x */
    const double *x;             /* [next][3] Å; entries >= n are images of src[k] */
    const int32_t *src;          /* [next] real atom of each entry (src[k] == k for k < n) */
    const int32_t *numbers;      /* [n] atomic numbers */
    const double *cell;          /* [9] or NULL */
    const int32_t *pbc;          /* [3] or NULL */
    double cutoff;               /* list cutoff + skin: pairs in the lists are closer than this */
    const int64_t *half_offsets; /* [n+1]: neighbours of i are half_index[off[i] .. off[i+1]) */
    const int32_t *half_index;   /* entries of x; every pair once */
    const int64_t *full_offsets; /* [n+1], only for ST_MD_POT_FULL_LIST classes */
    const int32_t *full_index;
    double *forces;              /* [next][3], add into */
    double *atom_energies;       /* [n], add into, or NULL */
    double energy;               /* set by compute (eV) */
    int32_t nthreads;            /* threads the class may use */
    int32_t reserved;
} st_md_pot_args;

typedef struct st_md_potential_class {
    int32_t abi_version;         /* ST_MD_POTENTIAL_ABI */
    int32_t flags;               /* st_md_potential_flags */
    const char *name;
    const char *description;
    int (*create)(st_ctx *ctx, const st_md_potential_options *opt, void **state);
    void (*destroy)(void *state);
    double (*cutoff)(const void *state);
    int (*compute)(st_ctx *ctx, void *state, st_md_pot_args *args);
} st_md_potential_class;

/* Register a class (the table is kept, not copied).  ST_ERR_ABI on a version mismatch, ST_ERR_ARG
 * if the name is taken.  Not thread-safe: register before running kernels. */
ST_API int st_md_potential_register(st_ctx *ctx, const st_md_potential_class *cls);
ST_API int st_md_potential_class_count(void);
ST_API const char *st_md_potential_class_name(int idx);            /* NULL if out of range */

/* ---------------------------------------------------------------------------------------------
 * Simulations. */
enum st_md_integrator {
    ST_MD_NVE = 0,        /* velocity Verlet */
    ST_MD_LANGEVIN = 1,   /* BAOAB (Leimkuhler & Matthews 2013) */
    ST_MD_NHC = 2,        /* Nosé-Hoover chains, MTK 1996 Trotter splitting */
    ST_MD_NPT = 3         /* BAOAB thermostat + stochastic cell rescaling (Bernetti & Bussi 2020) */
};
enum st_md_barostat {
    ST_MD_BARO_ISO = 0,   /* volume only */
    ST_MD_BARO_ANISO = 1, /* three independent diagonal strains (orthorhombic stays orthorhombic) */
    ST_MD_BARO_TRI = 2    /* all six strains; the cell must be lower triangular (a along x,
                             b in the xy plane) */
};

typedef struct st_md_options {
    int32_t integrator;          /* st_md_integrator */
    int32_t barostat;            /* st_md_barostat (NPT only) */
    double timestep;             /* fs, required > 0 */
    double temperature;          /* K, required > 0 for LANGEVIN, NHC, NPT */
    double friction;             /* 1/fs (Langevin, NPT); default 0.01 */
    double tau_t;                /* fs (NHC); default 100 timesteps */
    int32_t nhc_length;          /* chain length; default 3 */
    int32_t nhc_substeps;        /* multiple time steps per half step; default 1 */
    double pressure;             /* bar (NPT) */
    double tau_p;                /* fs (NPT); default 1000 timesteps */
    double compressibility;      /* 1/bar (NPT; sets the time scale only); default 1e-6 */
    int32_t barostat_stride;     /* apply the barostat every k steps; default 1 */
    int32_t rebuild_every;       /* check the neighbour list every k steps; default 1 */
    double skin;                 /* Å; default 1.0 */
    uint64_t seed;               /* random stream; 0 is a valid seed */
    double max_energy_change;    /* eV/atom change of total energy that counts as an explosion
                                    (default 10); negative disables the check (not NaN) */
    double dof;                  /* degrees of freedom for the temperature; 0 = automatic */
} st_md_options;

typedef struct st_md_sim st_md_sim;

/* Copies positions (Å), numbers, masses (amu; NULL = standard atomic weights), cell, pbc. */
ST_API int st_md_sim_create(st_ctx *ctx, int64_t n, const double *positions, const int32_t *numbers,
                            const double *masses, const double *cell, const int32_t *pbc,
                            const st_md_options *opt, st_md_sim **out);
ST_API void st_md_sim_destroy(st_md_sim *sim);                      /* NULL is a no-op */
/* The sim keeps (borrows) pot: it must outlive the sim.  Energies and forces of all added
 * potentials are summed. */
ST_API int st_md_sim_add_potential(st_ctx *ctx, st_md_sim *sim, st_md_potential *pot);
/* Maxwell-Boltzmann velocities at temperature (K), zero total momentum, rescaled so the
 * instantaneous temperature is exactly `temperature`. */
ST_API int st_md_sim_init_velocities(st_ctx *ctx, st_md_sim *sim, double temperature, uint64_t seed);
ST_API int st_md_sim_set_velocities(st_ctx *ctx, st_md_sim *sim, const double *v);   /* Å/fs */
ST_API int st_md_sim_set_positions(st_ctx *ctx, st_md_sim *sim, const double *x, const double *cell);
/* Advance nsteps.  Polls interrupts once per step (ST_ERR_INTERRUPTED, state consistent at the
 * last completed step) and reports progress "md run".  On NaN or an absurd energy change returns
 * ST_ERR_NUMERIC with the state of the last good step. */
ST_API int st_md_sim_run(st_ctx *ctx, st_md_sim *sim, int64_t nsteps);

ST_API int64_t st_md_sim_count(const st_md_sim *sim);
ST_API const double *st_md_sim_positions(const st_md_sim *sim);   /* [n][3], never wrapped */
ST_API const double *st_md_sim_velocities(const st_md_sim *sim);  /* [n][3] */
ST_API const double *st_md_sim_forces(const st_md_sim *sim);      /* [n][3] at the positions */
ST_API const double *st_md_sim_cell(const st_md_sim *sim);        /* [9] */
ST_API const double *st_md_sim_masses(const st_md_sim *sim);      /* [n] */

typedef struct st_md_thermo {
    int64_t step;
    double time;                 /* fs */
    double potential_energy;     /* eV */
    double kinetic_energy;       /* eV */
    double temperature;          /* K */
    double pressure;             /* bar (0 without a cell) */
    double pressure_tensor[9];   /* bar */
    double virial[9];            /* eV */
    double volume;               /* Å^3 (0 without a cell) */
    double conserved;            /* eV; extended energy (see docs/md.md); NaN for NPT */
    double dof;
    int64_t nlist_builds;
    int64_t dangerous_builds;    /* rebuilds found with a displacement beyond skin/2 */
} st_md_thermo;
/* Computes forces first if they are not current. */
ST_API int st_md_sim_thermo(st_ctx *ctx, st_md_sim *sim, st_md_thermo *out);

/* Restart state: positions, velocities, cell, step, thermostat variables, RNG position and the
 * neighbour-list reference, so a restored run continues bit for bit. */
ST_API size_t st_md_sim_state_size(const st_md_sim *sim);
ST_API int st_md_sim_save(st_ctx *ctx, const st_md_sim *sim, void *buf, size_t len);
ST_API int st_md_sim_restore(st_ctx *ctx, st_md_sim *sim, const void *buf, size_t len);

/* ---------------------------------------------------------------------------------------------
 * Observers: sampled every `stride` steps by a sim they are attached to, or fed frames directly. */
enum st_md_observer_kind { ST_MD_OBS_RDF = 0, ST_MD_OBS_MSD = 1, ST_MD_OBS_VACF = 2 };

typedef struct st_md_observer_options {
    int32_t kind;                /* st_md_observer_kind */
    int32_t stride;              /* steps between samples when attached; default 1 */
    double rmax;                 /* RDF: Å, required */
    int32_t nbins;               /* RDF: default 200 */
    int32_t species_a, species_b;/* RDF partial g_ab(r) by atomic number; 0 = all atoms */
    int32_t nlags;               /* MSD/VACF: lags (in samples) 0..nlags-1; default 100 */
    int32_t origin_every;        /* MSD/VACF: a new time origin every k samples; default 10 */
} st_md_observer_options;

typedef struct st_md_observer st_md_observer;
ST_API int st_md_observer_create(st_ctx *ctx, const st_md_observer_options *opt, st_md_observer **out);
ST_API void st_md_observer_destroy(st_md_observer *obs);           /* NULL is a no-op */
ST_API void st_md_observer_reset(st_md_observer *obs);
/* Feed one frame (time in fs).  RDF uses positions, cell, pbc, numbers; MSD uses unwrapped
 * positions; VACF uses velocities. */
ST_API int st_md_observer_sample(st_ctx *ctx, st_md_observer *obs, int64_t n, const double *positions,
                                 const double *velocities, const int32_t *numbers, const double *cell,
                                 const int32_t *pbc, double time);
ST_API int64_t st_md_observer_length(const st_md_observer *obs);   /* rows of the result */
/* RDF: x = r (bin centre, Å), y = g(r).  MSD: x = lag (fs), y = <|dx|^2> (Å^2).  VACF: x = lag,
 * y = <v(0).v(t)> (Å^2/fs^2).  Rows of MSD/VACF lags without samples are NaN. */
ST_API int st_md_observer_result(st_ctx *ctx, const st_md_observer *obs, double *x, double *y, int64_t len);
ST_API int64_t st_md_observer_samples(const st_md_observer *obs);
/* The sim samples obs after every obs.stride steps; the sim borrows obs (detach or destroy the
 * sim first). */
ST_API int st_md_sim_attach(st_ctx *ctx, st_md_sim *sim, st_md_observer *obs);
ST_API void st_md_sim_detach(st_md_sim *sim, st_md_observer *obs);

#endif
