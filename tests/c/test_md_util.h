/* test_md_util.h -- structure builders and helpers shared by the MD tests (tests/c/test_md_*.c).
 * The reference configurations for the LAMMPS comparison are generated here, deterministically,
 * so the test and the script that produced the LAMMPS numbers build identical coordinates. */
#ifndef STRATA_TEST_MD_UTIL_H
#define STRATA_TEST_MD_UTIL_H
#include "strata.h"
#include "strata/md.h"
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LAMMPS_POT "/usr/share/lammps/potentials/"

/* splitmix64 (Steele, Lea & Flood 2014) as a tiny deterministic generator for test data. */
static inline uint64_t tmd_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static inline double tmd_uniform(uint64_t *s) { return (double)(tmd_next(s) >> 11) * (1.0 / 9007199254740992.0); }
static inline double tmd_sym(uint64_t *s) { return 2.0 * tmd_uniform(s) - 1.0; }

/* Lattice with a cubic basis of nb sites (fractions of the cubic cell), repeated nx*ny*nz times,
 * in a lower-triangular cell: a = (nx A, 0, 0), b = (xy, ny A, 0), c = (xz, yz, nz A).  Sites keep
 * their fractional coordinates (so the tilted cell is a sheared lattice).  Positions get uniform
 * displacements in [-amp, amp]. Returns the atom count. */
static inline int tmd_lattice(const double (*basis)[3], int nb, double A, int nx, int ny, int nz,
                              const double *tilt, double amp, uint64_t seed, double *x, double *cell)
{
    memset(cell, 0, sizeof(double) * 9);
    cell[0] = nx * A;
    cell[3] = tilt ? tilt[0] : 0;
    cell[4] = ny * A;
    cell[6] = tilt ? tilt[1] : 0;
    cell[7] = tilt ? tilt[2] : 0;
    cell[8] = nz * A;
    int k = 0;
    uint64_t s = seed;
    for (int i = 0; i < nx; i++)
        for (int j = 0; j < ny; j++)
            for (int l = 0; l < nz; l++)
                for (int m = 0; m < nb; m++) {
                    double f[3] = {(i + basis[m][0]) / nx, (j + basis[m][1]) / ny, (l + basis[m][2]) / nz};
                    for (int c = 0; c < 3; c++)
                        x[3 * k + c] = f[0] * cell[c] + f[1] * cell[3 + c] + f[2] * cell[6 + c] + amp * tmd_sym(&s);
                    k++;
                }
    return k;
}

static const double tmd_fcc[4][3] = {{0, 0, 0}, {0.5, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5}};
static const double tmd_diamond[8][3] = {{0, 0, 0}, {0.5, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5},
                                         {0.25, 0.25, 0.25}, {0.75, 0.75, 0.25}, {0.75, 0.25, 0.75}, {0.25, 0.75, 0.75}};

/* The six reference configurations compared with LAMMPS (see test_md_lammps.c). */
typedef struct tmd_config {
    const char *name, *style, *file, *params;
    int n;
    double x[3 * 256], cell[9];
    int32_t z[256];
} tmd_config;

static inline void tmd_make_config(int which, tmd_config *c)
{
    memset(c, 0, sizeof *c);
    switch (which) {
    case 0: {  /* lj/cut, argon, triclinic */
        double tilt[3] = {1.1, -0.7, 0.5};
        c->name = "lj"; c->style = "lj"; c->params = "epsilon=0.0104 sigma=3.40 rc=7.0";
        c->n = tmd_lattice(tmd_fcc, 4, 5.26, 3, 3, 3, tilt, 0.25, 11, c->x, c->cell);
        for (int i = 0; i < c->n; i++) c->z[i] = 18;
        break;
    }
    case 1: {  /* eam funcfl, Cu_u3 */
        double tilt[3] = {0.6, -0.4, 0.3};
        c->name = "eam"; c->style = "eam"; c->file = LAMMPS_POT "Cu_u3.eam";
        c->n = tmd_lattice(tmd_fcc, 4, 3.615, 3, 3, 3, tilt, 0.12, 22, c->x, c->cell);
        for (int i = 0; i < c->n; i++) c->z[i] = 29;
        break;
    }
    case 2: {  /* eam/alloy, CuNi random alloy */
        double tilt[3] = {0.5, 0.3, -0.4};
        c->name = "eam/alloy"; c->style = "eam/alloy"; c->file = LAMMPS_POT "CuNi.eam.alloy";
        c->n = tmd_lattice(tmd_fcc, 4, 3.56, 4, 4, 4, tilt, 0.10, 33, c->x, c->cell);
        uint64_t s = 333;
        for (int i = 0; i < c->n; i++) c->z[i] = tmd_uniform(&s) < 0.5 ? 29 : 28;
        break;
    }
    case 3: {  /* sw, Si */
        double tilt[3] = {0.5, -0.3, 0.2};
        c->name = "sw"; c->style = "sw"; c->file = LAMMPS_POT "Si.sw";
        c->n = tmd_lattice(tmd_diamond, 8, 5.431, 2, 2, 2, tilt, 0.15, 44, c->x, c->cell);
        for (int i = 0; i < c->n; i++) c->z[i] = 14;
        break;
    }
    case 4: {  /* tersoff, Si */
        double tilt[3] = {-0.4, 0.3, 0.25};
        c->name = "tersoff"; c->style = "tersoff"; c->file = LAMMPS_POT "Si.tersoff";
        c->n = tmd_lattice(tmd_diamond, 8, 5.432, 2, 2, 2, tilt, 0.15, 55, c->x, c->cell);
        for (int i = 0; i < c->n; i++) c->z[i] = 14;
        break;
    }
    default: { /* tersoff, SiC random occupation (exercises every triplet and n < 1) */
        double tilt[3] = {0.3, 0.2, -0.3};
        c->name = "tersoff-SiC"; c->style = "tersoff"; c->file = LAMMPS_POT "SiC.tersoff";
        c->n = tmd_lattice(tmd_diamond, 8, 4.36, 3, 3, 3, tilt, 0.10, 66, c->x, c->cell);
        uint64_t s = 666;
        for (int i = 0; i < c->n; i++) c->z[i] = tmd_uniform(&s) < 0.5 ? 14 : 6;
        break;
    }
    }
}
enum { TMD_NCONFIG = 6 };

#endif
