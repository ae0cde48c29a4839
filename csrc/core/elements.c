/* elements.c -- chemical symbols and standard atomic weights for Z = 0..118.
 *
 * Masses are the values ASE ships as ase.data.atomic_masses_iupac2016 (facts, not code), which
 * come from J. Meija et al., "Atomic weights of the elements 2013 (IUPAC Technical Report)",
 * Pure Appl. Chem. 88, 265-291 (2016), doi:10.1515/pac-2015-0305:
 *   - Table 1 standard atomic weights, uncertainties dropped;
 *   - where Table 1 gives an interval (H, Li, B, C, N, O, Mg, Si, S, Cl, Br, Tl) the
 *     "conventional" value of Table 3;
 *   - for elements without a standard weight (Tc, Pm, Po..Ac, Np and beyond) the mass of the
 *     longest-lived isotope from Table 4 (mass number given in the comment).
 *
 * Deliberately not here: isotopes, covalent radii, reference states.  Z = 0 ("X", a dummy or
 * unknown atom) has mass 0 here, as atoms.h documents; ASE uses 1.0 for X.
 */
#include "internal.h"
#include <string.h>

enum { NZ = 119 };

static const char symbols[][3] = {
    "X",
    "H",  "He", "Li", "Be", "B",  "C",  "N",  "O",  "F",  "Ne",
    "Na", "Mg", "Al", "Si", "P",  "S",  "Cl", "Ar", "K",  "Ca",
    "Sc", "Ti", "V",  "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn",
    "Ga", "Ge", "As", "Se", "Br", "Kr", "Rb", "Sr", "Y",  "Zr",
    "Nb", "Mo", "Tc", "Ru", "Rh", "Pd", "Ag", "Cd", "In", "Sn",
    "Sb", "Te", "I",  "Xe", "Cs", "Ba", "La", "Ce", "Pr", "Nd",
    "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb",
    "Lu", "Hf", "Ta", "W",  "Re", "Os", "Ir", "Pt", "Au", "Hg",
    "Tl", "Pb", "Bi", "Po", "At", "Rn", "Fr", "Ra", "Ac", "Th",
    "Pa", "U",  "Np", "Pu", "Am", "Cm", "Bk", "Cf", "Es", "Fm",
    "Md", "No", "Lr", "Rf", "Db", "Sg", "Bh", "Hs", "Mt", "Ds",
    "Rg", "Cn", "Nh", "Fl", "Mc", "Lv", "Ts", "Og"};

/* amu; see the header comment for the source of each group. */
static const double masses[] = {
    0.0,                                                                   /* X: none */
    1.008, 4.002602, 6.94, 9.0121831, 10.81, 12.011, 14.007, 15.999,       /* H..O */
    18.998403163, 20.1797, 22.98976928, 24.305, 26.9815385, 28.085,        /* F..Si */
    30.973761998, 32.06, 35.45, 39.948, 39.0983, 40.078, 44.955908,        /* P..Sc */
    47.867, 50.9415, 51.9961, 54.938044, 55.845, 58.933194, 58.6934,       /* Ti..Ni */
    63.546, 65.38, 69.723, 72.630, 74.921595, 78.971, 79.904, 83.798,      /* Cu..Kr */
    85.4678, 87.62, 88.90584, 91.224, 92.90637, 95.95,                     /* Rb..Mo */
    97.90721,                                                              /* Tc (98) */
    101.07, 102.90550, 106.42, 107.8682, 112.414, 114.818, 118.710,        /* Ru..Sn */
    121.760, 127.60, 126.90447, 131.293, 132.90545196, 137.327,            /* Sb..Ba */
    138.90547, 140.116, 140.90766, 144.242,                                /* La..Nd */
    144.91276,                                                             /* Pm (145) */
    150.36, 151.964, 157.25, 158.92535, 162.500, 164.93033, 167.259,       /* Sm..Er */
    168.93422, 173.054, 174.9668, 178.49, 180.94788, 183.84, 186.207,      /* Tm..Re */
    190.23, 192.217, 195.084, 196.966569, 200.592, 204.38, 207.2,          /* Os..Pb */
    208.98040,                                                             /* Bi */
    208.98243, 209.98715, 222.01758, 223.01974, 226.02541, 227.02775,      /* Po(209) At(210)
                                                           Rn(222) Fr(223) Ra(226) Ac(227) */
    232.0377, 231.03588, 238.02891,                                        /* Th, Pa, U */
    237.04817, 244.06421, 243.06138, 247.07035, 247.07031, 251.07959,      /* Np(237) Pu(244)
                                                 Am(243) Cm(247) Bk(247) Cf(251) */
    252.0830, 257.09511, 258.09843, 259.1010, 262.110, 267.122, 268.126,   /* Es(252)..Db(268) */
    271.134, 270.133, 269.1338, 278.156, 281.165, 281.166, 285.177,        /* Sg(271)..Cn(285) */
    286.182, 289.190, 289.194, 293.204, 293.208, 294.214};                 /* Nh(286)..Og(294) */

/* An entry too few or too many would shift every heavier element. */
_Static_assert(sizeof symbols / sizeof symbols[0] == NZ, "one symbol per element");
_Static_assert(sizeof masses / sizeof masses[0] == NZ, "one mass per element");

const char *st_element_symbol(int z)
{
    return z >= 0 && z < NZ ? symbols[z] : NULL;
}

int st_element_number(const char *s)
{
    if (!s || !s[0] || (s[1] && s[2])) return -1;    /* every symbol has 1 or 2 letters */
    for (int z = 0; z < NZ; z++)
        if (symbols[z][0] == s[0] && symbols[z][1] == s[1]) return z;
    return -1;
}

double st_element_mass(int z)
{
    return z >= 0 && z < NZ ? masses[z] : 0.0;
}
