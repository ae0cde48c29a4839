/* Energies, forces, per-atom energies and pressure tensors of the built-in potentials against
 * LAMMPS on six saved configurations (lj/cut, eam, eam/alloy, sw, tersoff, two-element tersoff),
 * each a randomly displaced crystal in a sheared (triclinic) periodic cell, built by
 * tmd_make_config() in test_md_util.h.
 *
 * How the reference numbers were produced: Debian's lammps 20220106 ("LAMMPS (29 Sep 2021 -
 * Update 2)", serial, 1 thread) with the potential files of lammps-data.  A scratch program wrote
 * each configuration (positions wrapped into the cell, %.17g) as a LAMMPS data file, and
 *     units metal / atom_style atomic / boundary p p p / read_data conf.data
 *     pair_style lj/cut 7.0 + pair_coeff 1 1 0.0104 3.40        (config 0)
 *     pair_style eam + pair_coeff 1 1 Cu_u3.eam                  (config 1)
 *     pair_style <style> + pair_coeff * * <file> <elements>     (configs 2-5)
 *     compute pe all pe/atom
 *     thermo_style custom pe pxx pyy pzz pxy pxz pyz vol, thermo_modify format float %.17g
 *     dump custom id fx fy fz c_pe (format %.17g, sorted by id), run 0
 * Below: PotEng (eV), the pressure tensor from the virial (bar, LAMMPS metal nktv2p =
 * 1.6021765e6, zero velocities), sum over all atoms of |F|^2, and forces and per-atom energies of
 * four atoms.  Per-atom energies are compared only for pair and EAM styles: for many-body
 * potentials the split among atoms is a convention (LAMMPS gives 1/3 of a triplet to each atom,
 * we give it to the centre). */
#include "check.h"
#include "test_md_util.h"

typedef struct lref {
    double energy, pressure[6], sumf2;
    int atoms[4];
    double forces[4][3], eatom[4];
} lref;

static const lref refs[TMD_NCONFIG] = {
    /* lj: lmp run 0, n = 108 */
    {-6.9720027091103951, {4028.9712903213003, 4413.4312501466447, 3443.4031522574692, -2288.5579477239644, 1482.0744836951797, -821.54391477802062}, 3.169936783582891,
     {0, 36, 72, 107},
     {{-0.0095236209248890282, 0.031683931948467185, -0.071190799132616889}, {-0.075321551563823974, -0.008240557096659001, -0.021937577840082153}, {-0.041168411096618632, 0.04756627881174879, -0.079340660631512558}, {0.059483740274328512, 0.12014577008396397, 0.10627265863686276}},
     {-0.071168587369408023, -0.071235906400888324, -0.072019590217949223, -0.06499436411675516}},
    /* eam: lmp run 0, n = 108 */
    {-375.12214399781385, {26571.074194023349, 29392.211191067992, 27137.768268753272, -39833.936131073344, 26405.983912335585, -21631.119853886121}, 125.1193186575541,
     {0, 36, 72, 107},
     {{-0.22228484439001103, -0.31509598258870153, 0.60003410667176338}, {0.40290577303587971, -1.0118247211677676, 0.22320132700222725}, {-0.19918037878950889, 0.93294491462433393, -1.7365879096387469}, {0.45590788526600029, 0.14123954412823225, -0.45982413012082185}},
     {-3.5343252602430466, -3.4772791191380508, -3.3178861357194385, -3.4953960866141971}},
    /* eam/alloy: lmp run 0, n = 256 */
    {-997.43263473091042, {56502.3312527569, 59807.840096419553, 58434.239626189505, -38977.499124756432, -23254.001248435296, 31855.261444066542}, 290.77971045899477,
     {0, 85, 170, 255},
     {{0.77494632586888157, 1.0840360617813911, 0.097466157967662226}, {0.47785573999093078, -0.091152414543012164, -0.42758874218964615}, {0.24638292530854905, 0.78722801208221449, 0.86609455454975259}, {0.052223144685679818, -0.30910040023892321, -0.11392809431728046}},
     {-4.03692609071138, -3.9721889923545377, -4.1569498165882237, -4.0672362792334615}},
    /* sw: lmp run 0, n = 64 */
    {-261.9826048485312, {14145.308798837896, 20550.053855856859, 17403.667999952941, -78421.253424917057, 21964.699018841446, -9908.2298083146889}, 939.097038949558,
     {0, 21, 42, 63},
     {{-1.8126334759939671, 1.0719215933794439, 0.87305480640625488}, {-4.4160152609608403, 2.9735295693697705, -4.7225515709327786}, {0.7235684359328205, -1.2760105564566158, 1.9067533999090289}, {1.34875925106716, -0.85568112334933566, 0.77049821154004228}},
     {-4.2365429596962141, -3.6994081933388836, -4.1838258736741167, -4.2162678703624366}},
    /* tersoff: lmp run 0, n = 64 */
    {-284.69290831462934, {35308.80319063169, 30790.754762915945, 36945.851286674093, 24854.083424006534, -8330.2450433192807, -35675.172418707509}, 614.3532880373563,
     {0, 21, 42, 63},
     {{2.1129692311805641, 2.5905231437836376, -2.9980973878963662}, {-2.1672355299496102, 1.4621017920675068, -1.2580972272000399}, {-0.84856821675594718, -0.8164044692351613, -4.7316464111643537}, {-2.1928845564083255, -2.0467718507506616, 2.2722432059855078}},
     {-4.3528585749075752, -4.4673118099033218, -4.2698238115806921, -4.4441372618395372}},
    /* tersoff-SiC: lmp run 0, n = 216 */
    {-815.11153881722419, {787454.21836931817, 791252.17233954428, 744473.32836948067, -213837.92274571923, -152826.21247644525, 207116.29295808636}, 55164.00312702478,
     {0, 72, 144, 215},
     {{-3.2678062538198738, -10.116330298938028, 9.5166841417282768}, {-20.110541585870109, 10.203851076785675, 23.917626309142797}, {-3.7918458790490703, -3.2811133294964989, 5.5669736340274465}, {-21.676689815890917, 32.543497832326317, -8.9390968374445379}},
     {-1.6459242079086875, -3.7238631095633314, -5.6187521798107012, -2.4114460088045608}},
};

TEST(against_lammps)
{
    static tmd_config c;
    static double f[3 * 256], ea[256];
    st_ctx *ctx = st_ctx_create();
    int skipped = 0;
    for (int w = 0; w < TMD_NCONFIG; w++) {
        tmd_make_config(w, &c);
        if (c.file && access(c.file, R_OK) != 0) { skipped++; continue; }
        st_md_potential_options o = {0};
        o.file = c.file;
        o.params = c.params;
        st_md_potential *p = NULL;
        CHECK_OK(ctx, st_md_potential_create(ctx, c.style, &o, &p));
        if (!p) continue;
        int32_t pbc[3] = {1, 1, 1};
        st_md_result r = {0};
        r.forces = f;
        r.atom_energies = ea;
        CHECK_OK(ctx, st_md_potential_compute(ctx, p, NULL, c.n, c.x, c.z, c.cell, pbc, &r));
        const lref *L = &refs[w];
        CHECK_MSG(fabs(r.energy - L->energy) < 1e-10 * fabs(L->energy), "%s: energy %.15g, LAMMPS %.15g", c.name, r.energy,
                  L->energy);
        double V = fabs(st_cell_volume(c.cell)), nktv2p = 1.6021765e6;
        const int comp[6] = {0, 4, 8, 1, 2, 5};   /* xx yy zz xy xz yz */
        for (int k = 0; k < 6; k++) {
            double P = r.virial[comp[k]] / V * nktv2p;
            CHECK_MSG(fabs(P - L->pressure[k]) < 1e-9 * fabs(L->pressure[0]) + 1e-6, "%s: pressure[%d] %.12g bar, LAMMPS %.12g",
                      c.name, k, P, L->pressure[k]);
        }
        double s2 = 0;
        for (int i = 0; i < 3 * c.n; i++) s2 += f[i] * f[i];
        CHECK_MSG(fabs(s2 - L->sumf2) < 1e-10 * L->sumf2, "%s: sum |F|^2 %.15g, LAMMPS %.15g", c.name, s2, L->sumf2);
        for (int k = 0; k < 4; k++) {
            int i = L->atoms[k];
            for (int a = 0; a < 3; a++)
                CHECK_MSG(fabs(f[3 * i + a] - L->forces[k][a]) < 1e-10, "%s: atom %d F%c %.15g, LAMMPS %.15g", c.name, i,
                          "xyz"[a], f[3 * i + a], L->forces[k][a]);
            if (w <= 2)
                CHECK_MSG(fabs(ea[i] - L->eatom[k]) < 1e-11, "%s: atom %d energy %.15g, LAMMPS %.15g", c.name, i, ea[i],
                          L->eatom[k]);
        }
        st_md_potential_destroy(p);
    }
    st_ctx_destroy(ctx);
    if (skipped) printf("# %d configurations not compared: potential files missing\n", skipped);
}

int main(void)
{
    RUN(against_lammps);
    return DONE();
}
