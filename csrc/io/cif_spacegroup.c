/* cif_spacegroup.c -- symmetry operations from a space-group symbol, for CIFs that name their
 * space group (H-M symbol, Hall symbol or number) but do not list the operations.
 *
 * Operations are generated from the Hall symbol (S. R. Hall, "Space-group notation with an
 * explicit origin", Acta Cryst. A37, 517-525 (1981); International Tables Vol. B, appendix
 * A1.4.2): the lattice symbol [-]L gives the centring translations (and the inversion when '-'),
 * each matrix symbol [-]N[A][T] gives one generator (Hall's rotation matrices; translation
 * symbols a b c n u v w d; screw digits k/N along the axis), default axes follow
 * Hall's rules (first z; second 2-fold x after 2 or 4, a-b after 3 or 6; third 3-fold along
 * a+b+c), and "(vx vy vz)" shifts the origin by V/12: (R, t) -> (R, t + V - R V).  The group is
 * the closure of the generators, computed exactly with translations in twelfths.
 *
 * The table lists the 530 settings of the Hall-symbol list in International Tables Vol. B, in
 * the usual "Hall number" order (the order spglib uses): IT number, group order, setting, Hall
 * symbol, H-M symbol (with " = " aliases) and full H-M symbol.  It was checked against spglib
 * 2.0.2's database for all 530 settings (identical operation sets, when this file was written);
 * tests/c/test_cif.c checks that every entry gives a general position as many images as the
 * listed group order, and that its H-M symbol (with setting suffix) finds the same setting.
 *
 * H-M lookup ignores case, spaces and '_' ("P 63/m m c" = "P6_3/mmc"); a ":1", ":2", ":H", ":R"
 * (or other choice) suffix selects the setting; otherwise the first setting in table order is
 * used (origin choice 1, hexagonal axes for R groups, unique axis b) -- the International Tables'
 * first-listed setting.  Not done: non-standard settings absent from the table.
 */
#include "cif_expand.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct sg_entry {
    short number, order;
    const char *choice, *hall, *hm, *full;
} sg_entry;

static const sg_entry sg_table[] = {
    {1, 1, "", "P 1", "P 1", "P 1"},
    {2, 2, "", "-P 1", "P -1", "P -1"},
    {3, 2, "b", "P 2y", "P 2 = P 1 2 1", "P 1 2 1"},
    {3, 2, "c", "P 2", "P 2 = P 1 1 2", "P 1 1 2"},
    {3, 2, "a", "P 2x", "P 2 = P 2 1 1", "P 2 1 1"},
    {4, 2, "b", "P 2yb", "P 2_1 = P 1 2_1 1", "P 1 2_1 1"},
    {4, 2, "c", "P 2c", "P 2_1 = P 1 1 2_1", "P 1 1 2_1"},
    {4, 2, "a", "P 2xa", "P 2_1 = P 2_1 1 1", "P 2_1 1 1"},
    {5, 4, "b1", "C 2y", "C 2 = C 1 2 1", "C 1 2 1"},
    {5, 4, "b2", "A 2y", "C 2 = A 1 2 1", "A 1 2 1"},
    {5, 4, "b3", "I 2y", "C 2 = I 1 2 1", "I 1 2 1"},
    {5, 4, "c1", "A 2", "C 2 = A 1 1 2", "A 1 1 2"},
    {5, 4, "c2", "B 2", "C 2 = B 1 1 2 = B 2", "B 1 1 2"},
    {5, 4, "c3", "I 2", "C 2 = I 1 1 2", "I 1 1 2"},
    {5, 4, "a1", "B 2x", "C 2 = B 2 1 1", "B 2 1 1"},
    {5, 4, "a2", "C 2x", "C 2 = C 2 1 1", "C 2 1 1"},
    {5, 4, "a3", "I 2x", "C 2 = I 2 1 1", "I 2 1 1"},
    {6, 2, "b", "P -2y", "P m = P 1 m 1", "P 1 m 1"},
    {6, 2, "c", "P -2", "P m = P 1 1 m", "P 1 1 m"},
    {6, 2, "a", "P -2x", "P m = P m 1 1", "P m 1 1"},
    {7, 2, "b1", "P -2yc", "P c = P 1 c 1", "P 1 c 1"},
    {7, 2, "b2", "P -2yac", "P c = P 1 n 1", "P 1 n 1"},
    {7, 2, "b3", "P -2ya", "P c = P 1 a 1", "P 1 a 1"},
    {7, 2, "c1", "P -2a", "P c = P 1 1 a", "P 1 1 a"},
    {7, 2, "c2", "P -2ab", "P c = P 1 1 n", "P 1 1 n"},
    {7, 2, "c3", "P -2b", "P c = P 1 1 b = P b", "P 1 1 b"},
    {7, 2, "a1", "P -2xb", "P c = P b 1 1", "P b 1 1"},
    {7, 2, "a2", "P -2xbc", "P c = P n 1 1", "P n 1 1"},
    {7, 2, "a3", "P -2xc", "P c = P c 1 1", "P c 1 1"},
    {8, 4, "b1", "C -2y", "C m = C 1 m 1", "C 1 m 1"},
    {8, 4, "b2", "A -2y", "C m = A 1 m 1", "A 1 m 1"},
    {8, 4, "b3", "I -2y", "C m = I 1 m 1", "I 1 m 1"},
    {8, 4, "c1", "A -2", "C m = A 1 1 m", "A 1 1 m"},
    {8, 4, "c2", "B -2", "C m = B 1 1 m = B m", "B 1 1 m"},
    {8, 4, "c3", "I -2", "C m = I 1 1 m", "I 1 1 m"},
    {8, 4, "a1", "B -2x", "C m = B m 1 1", "B m 1 1"},
    {8, 4, "a2", "C -2x", "C m = C m 1 1", "C m 1 1"},
    {8, 4, "a3", "I -2x", "C m = I m 1 1", "I m 1 1"},
    {9, 4, "b1", "C -2yc", "C c = C 1 c 1", "C 1 c 1"},
    {9, 4, "b2", "A -2yac", "C c = A 1 n 1", "A 1 n 1"},
    {9, 4, "b3", "I -2ya", "C c = I 1 a 1", "I 1 a 1"},
    {9, 4, "-b1", "A -2ya", "C c = A 1 a 1", "A 1 a 1"},
    {9, 4, "-b2", "C -2ybc", "C c = C 1 n 1", "C 1 n 1"},
    {9, 4, "-b3", "I -2yc", "C c = I 1 c 1", "I 1 c 1"},
    {9, 4, "c1", "A -2a", "C c = A 1 1 a", "A 1 1 a"},
    {9, 4, "c2", "B -2bc", "C c = B 1 1 n", "B 1 1 n"},
    {9, 4, "c3", "I -2b", "C c = I 1 1 b", "I 1 1 b"},
    {9, 4, "-c1", "B -2b", "C c = B 1 1 b = B b", "B 1 1 b"},
    {9, 4, "-c2", "A -2ac", "C c = A 1 1 n", "A 1 1 n"},
    {9, 4, "-c3", "I -2a", "C c = I 1 1 a", "I 1 1 a"},
    {9, 4, "a1", "B -2xb", "C c = B b 1 1", "B b 1 1"},
    {9, 4, "a2", "C -2xbc", "C c = C n 1 1", "C n 1 1"},
    {9, 4, "a3", "I -2xc", "C c = I c 1 1", "I c 1 1"},
    {9, 4, "-a1", "C -2xc", "C c = C c 1 1", "C c 1 1"},
    {9, 4, "-a2", "B -2xbc", "C c = B n 1 1", "B n 1 1"},
    {9, 4, "-a3", "I -2xb", "C c = I b 1 1", "I b 1 1"},
    {10, 4, "b", "-P 2y", "P 2/m = P 1 2/m 1", "P 1 2/m 1"},
    {10, 4, "c", "-P 2", "P 2/m = P 1 1 2/m", "P 1 1 2/m"},
    {10, 4, "a", "-P 2x", "P 2/m = P 2/m 1 1", "P 2/m 1 1"},
    {11, 4, "b", "-P 2yb", "P 2_1/m = P 1 2_1/m 1", "P 1 2_1/m 1"},
    {11, 4, "c", "-P 2c", "P 2_1/m = P 1 1 2_1/m", "P 1 1 2_1/m"},
    {11, 4, "a", "-P 2xa", "P 2_1/m = P 2_1/m 1 1", "P 2_1/m 1 1"},
    {12, 8, "b1", "-C 2y", "C 2/m = C 1 2/m 1", "C 1 2/m 1"},
    {12, 8, "b2", "-A 2y", "C 2/m = A 1 2/m 1", "A 1 2/m 1"},
    {12, 8, "b3", "-I 2y", "C 2/m = I 1 2/m 1", "I 1 2/m 1"},
    {12, 8, "c1", "-A 2", "C 2/m = A 1 1 2/m", "A 1 1 2/m"},
    {12, 8, "c2", "-B 2", "C 2/m = B 1 1 2/m = B 2/m", "B 1 1 2/m"},
    {12, 8, "c3", "-I 2", "C 2/m = I 1 1 2/m", "I 1 1 2/m"},
    {12, 8, "a1", "-B 2x", "C 2/m = B 2/m 1 1", "B 2/m 1 1"},
    {12, 8, "a2", "-C 2x", "C 2/m = C 2/m 1 1", "C 2/m 1 1"},
    {12, 8, "a3", "-I 2x", "C 2/m = I 2/m 1 1", "I 2/m 1 1"},
    {13, 4, "b1", "-P 2yc", "P 2/c = P 1 2/c 1", "P 1 2/c 1"},
    {13, 4, "b2", "-P 2yac", "P 2/c = P 1 2/n 1", "P 1 2/n 1"},
    {13, 4, "b3", "-P 2ya", "P 2/c = P 1 2/a 1", "P 1 2/a 1"},
    {13, 4, "c1", "-P 2a", "P 2/c = P 1 1 2/a", "P 1 1 2/a"},
    {13, 4, "c2", "-P 2ab", "P 2/c = P 1 1 2/n", "P 1 1 2/n"},
    {13, 4, "c3", "-P 2b", "P 2/c = P 1 1 2/b = P 2/b", "P 1 1 2/b"},
    {13, 4, "a1", "-P 2xb", "P 2/c = P 2/b 1 1", "P 2/b 1 1"},
    {13, 4, "a2", "-P 2xbc", "P 2/c = P 2/n 1 1", "P 2/n 1 1"},
    {13, 4, "a3", "-P 2xc", "P 2/c = P 2/c 1 1", "P 2/c 1 1"},
    {14, 4, "b1", "-P 2ybc", "P 2_1/c = P 1 2_1/c 1", "P 1 2_1/c 1"},
    {14, 4, "b2", "-P 2yn", "P 2_1/c = P 1 2_1/n 1", "P 1 2_1/n 1"},
    {14, 4, "b3", "-P 2yab", "P 2_1/c = P 1 2_1/a 1", "P 1 2_1/a 1"},
    {14, 4, "c1", "-P 2ac", "P 2_1/c = P 1 1 2_1/a", "P 1 1 2_1/a"},
    {14, 4, "c2", "-P 2n", "P 2_1/c = P 1 1 2_1/n", "P 1 1 2_1/n"},
    {14, 4, "c3", "-P 2bc", "P 2_1/c = P 1 1 2_1/b = P 2_1/b", "P 1 1 2_1/b"},
    {14, 4, "a1", "-P 2xab", "P 2_1/c = P 2_1/b 1 1", "P 2_1/b 1 1"},
    {14, 4, "a2", "-P 2xn", "P 2_1/c = P 2_1/n 1 1", "P 2_1/n 1 1"},
    {14, 4, "a3", "-P 2xac", "P 2_1/c = P 2_1/c 1 1", "P 2_1/c 1 1"},
    {15, 8, "b1", "-C 2yc", "C 2/c = C 1 2/c 1", "C 1 2/c 1"},
    {15, 8, "b2", "-A 2yac", "C 2/c = A 1 2/n 1", "A 1 2/n 1"},
    {15, 8, "b3", "-I 2ya", "C 2/c = I 1 2/a 1", "I 1 2/a 1"},
    {15, 8, "-b1", "-A 2ya", "C 2/c = A 1 2/a 1", "A 1 2/a 1"},
    {15, 8, "-b2", "-C 2ybc", "C 2/c = C 1 2/n 1", "C 1 2/n 1"},
    {15, 8, "-b3", "-I 2yc", "C 2/c = I 1 2/c 1", "I 1 2/c 1"},
    {15, 8, "c1", "-A 2a", "C 2/c = A 1 1 2/a", "A 1 1 2/a"},
    {15, 8, "c2", "-B 2bc", "C 2/c = B 1 1 2/n", "B 1 1 2/n"},
    {15, 8, "c3", "-I 2b", "C 2/c = I 1 1 2/b", "I 1 1 2/b"},
    {15, 8, "-c1", "-B 2b", "C 2/c = B 1 1 2/b = B 2/b", "B 1 1 2/b"},
    {15, 8, "-c2", "-A 2ac", "C 2/c = A 1 1 2/n", "A 1 1 2/n"},
    {15, 8, "-c3", "-I 2a", "C 2/c = I 1 1 2/a", "I 1 1 2/a"},
    {15, 8, "a1", "-B 2xb", "C 2/c = B 2/b 1 1", "B 2/b 1 1"},
    {15, 8, "a2", "-C 2xbc", "C 2/c = C 2/n 1 1", "C 2/n 1 1"},
    {15, 8, "a3", "-I 2xc", "C 2/c = I 2/c 1 1", "I 2/c 1 1"},
    {15, 8, "-a1", "-C 2xc", "C 2/c = C 2/c 1 1", "C 2/c 1 1"},
    {15, 8, "-a2", "-B 2xbc", "C 2/c = B 2/n 1 1", "B 2/n 1 1"},
    {15, 8, "-a3", "-I 2xb", "C 2/c = I 2/b 1 1", "I 2/b 1 1"},
    {16, 4, "", "P 2 2", "P 2 2 2", "P 2 2 2"},
    {17, 4, "", "P 2c 2", "P 2 2 2_1", "P 2 2 2_1"},
    {17, 4, "cab", "P 2a 2a", "P 2_1 2 2", "P 2_1 2 2"},
    {17, 4, "bca", "P 2 2b", "P 2 2_1 2", "P 2 2_1 2"},
    {18, 4, "", "P 2 2ab", "P 2_1 2_1 2", "P 2_1 2_1 2"},
    {18, 4, "cab", "P 2bc 2", "P 2 2_1 2_1", "P 2 2_1 2_1"},
    {18, 4, "bca", "P 2ac 2ac", "P 2_1 2 2_1", "P 2_1 2 2_1"},
    {19, 4, "", "P 2ac 2ab", "P 2_1 2_1 2_1", "P 2_1 2_1 2_1"},
    {20, 8, "", "C 2c 2", "C 2 2 2_1", "C 2 2 2_1"},
    {20, 8, "cab", "A 2a 2a", "A 2_1 2 2", "A 2_1 2 2"},
    {20, 8, "bca", "B 2 2b", "B 2 2_1 2", "B 2 2_1 2"},
    {21, 8, "", "C 2 2", "C 2 2 2", "C 2 2 2"},
    {21, 8, "cab", "A 2 2", "A 2 2 2", "A 2 2 2"},
    {21, 8, "bca", "B 2 2", "B 2 2 2", "B 2 2 2"},
    {22, 16, "", "F 2 2", "F 2 2 2", "F 2 2 2"},
    {23, 8, "", "I 2 2", "I 2 2 2", "I 2 2 2"},
    {24, 8, "", "I 2b 2c", "I 2_1 2_1 2_1", "I 2_1 2_1 2_1"},
    {25, 4, "", "P 2 -2", "P m m 2", "P m m 2"},
    {25, 4, "cab", "P -2 2", "P 2 m m", "P 2 m m"},
    {25, 4, "bca", "P -2 -2", "P m 2 m", "P m 2 m"},
    {26, 4, "", "P 2c -2", "P m c 2_1", "P m c 2_1"},
    {26, 4, "ba-c", "P 2c -2c", "P c m 2_1", "P c m 2_1"},
    {26, 4, "cab", "P -2a 2a", "P 2_1 m a", "P 2_1 m a"},
    {26, 4, "-cba", "P -2 2a", "P 2_1 a m", "P 2_1 a m"},
    {26, 4, "bca", "P -2 -2b", "P b 2_1 m", "P b 2_1 m"},
    {26, 4, "a-cb", "P -2b -2", "P m 2_1 b", "P m 2_1 b"},
    {27, 4, "", "P 2 -2c", "P c c 2", "P c c 2"},
    {27, 4, "cab", "P -2a 2", "P 2 a a", "P 2 a a"},
    {27, 4, "bca", "P -2b -2b", "P b 2 b", "P b 2 b"},
    {28, 4, "", "P 2 -2a", "P m a 2", "P m a 2"},
    {28, 4, "ba-c", "P 2 -2b", "P b m 2", "P b m 2"},
    {28, 4, "cab", "P -2b 2", "P 2 m b", "P 2 m b"},
    {28, 4, "-cba", "P -2c 2", "P 2 c m", "P 2 c m"},
    {28, 4, "bca", "P -2c -2c", "P c 2 m", "P c 2 m"},
    {28, 4, "a-cb", "P -2a -2a", "P m 2 a", "P m 2 a"},
    {29, 4, "", "P 2c -2ac", "P c a 2_1", "P c a 2_1"},
    {29, 4, "ba-c", "P 2c -2b", "P b c 2_1", "P b c 2_1"},
    {29, 4, "cab", "P -2b 2a", "P 2_1 a b", "P 2_1 a b"},
    {29, 4, "-cba", "P -2ac 2a", "P 2_1 c a", "P 2_1 c a"},
    {29, 4, "bca", "P -2bc -2c", "P c 2_1 b", "P c 2_1 b"},
    {29, 4, "a-cb", "P -2a -2ab", "P b 2_1 a", "P b 2_1 a"},
    {30, 4, "", "P 2 -2bc", "P n c 2", "P n c 2"},
    {30, 4, "ba-c", "P 2 -2ac", "P c n 2", "P c n 2"},
    {30, 4, "cab", "P -2ac 2", "P 2 n a", "P 2 n a"},
    {30, 4, "-cba", "P -2ab 2", "P 2 a n", "P 2 a n"},
    {30, 4, "bca", "P -2ab -2ab", "P b 2 n", "P b 2 n"},
    {30, 4, "a-cb", "P -2bc -2bc", "P n 2 b", "P n 2 b"},
    {31, 4, "", "P 2ac -2", "P m n 2_1", "P m n 2_1"},
    {31, 4, "ba-c", "P 2bc -2bc", "P n m 2_1", "P n m 2_1"},
    {31, 4, "cab", "P -2ab 2ab", "P 2_1 m n", "P 2_1 m n"},
    {31, 4, "-cba", "P -2 2ac", "P 2_1 n m", "P 2_1 n m"},
    {31, 4, "bca", "P -2 -2bc", "P n 2_1 m", "P n 2_1 m"},
    {31, 4, "a-cb", "P -2ab -2", "P m 2_1 n", "P m 2_1 n"},
    {32, 4, "", "P 2 -2ab", "P b a 2", "P b a 2"},
    {32, 4, "cab", "P -2bc 2", "P 2 c b", "P 2 c b"},
    {32, 4, "bca", "P -2ac -2ac", "P c 2 a", "P c 2 a"},
    {33, 4, "", "P 2c -2n", "P n a 2_1", "P n a 2_1"},
    {33, 4, "ba-c", "P 2c -2ab", "P b n 2_1", "P b n 2_1"},
    {33, 4, "cab", "P -2bc 2a", "P 2_1 n b", "P 2_1 n b"},
    {33, 4, "-cba", "P -2n 2a", "P 2_1 c n", "P 2_1 c n"},
    {33, 4, "bca", "P -2n -2ac", "P c 2_1 n", "P c 2_1 n"},
    {33, 4, "a-cb", "P -2ac -2n", "P n 2_1 a", "P n 2_1 a"},
    {34, 4, "", "P 2 -2n", "P n n 2", "P n n 2"},
    {34, 4, "cab", "P -2n 2", "P 2 n n", "P 2 n n"},
    {34, 4, "bca", "P -2n -2n", "P n 2 n", "P n 2 n"},
    {35, 8, "", "C 2 -2", "C m m 2", "C m m 2"},
    {35, 8, "cab", "A -2 2", "A 2 m m", "A 2 m m"},
    {35, 8, "bca", "B -2 -2", "B m 2 m", "B m 2 m"},
    {36, 8, "", "C 2c -2", "C m c 2_1", "C m c 2_1"},
    {36, 8, "ba-c", "C 2c -2c", "C c m 2_1", "C c m 2_1"},
    {36, 8, "cab", "A -2a 2a", "A 2_1 m a", "A 2_1 m a"},
    {36, 8, "-cba", "A -2 2a", "A 2_1 a m", "A 2_1 a m"},
    {36, 8, "bca", "B -2 -2b", "B b 2_1 m", "B b 2_1 m"},
    {36, 8, "a-cb", "B -2b -2", "B m 2_1 b", "B m 2_1 b"},
    {37, 8, "", "C 2 -2c", "C c c 2", "C c c 2"},
    {37, 8, "cab", "A -2a 2", "A 2 a a", "A 2 a a"},
    {37, 8, "bca", "B -2b -2b", "B b 2 b", "B b 2 b"},
    {38, 8, "", "A 2 -2", "A m m 2", "A m m 2"},
    {38, 8, "ba-c", "B 2 -2", "B m m 2", "B m m 2"},
    {38, 8, "cab", "B -2 2", "B 2 m m", "B 2 m m"},
    {38, 8, "-cba", "C -2 2", "C 2 m m", "C 2 m m"},
    {38, 8, "bca", "C -2 -2", "C m 2 m", "C m 2 m"},
    {38, 8, "a-cb", "A -2 -2", "A m 2 m", "A m 2 m"},
    {39, 8, "", "A 2 -2c", "A e m 2", "A e m 2"},
    {39, 8, "ba-c", "B 2 -2c", "B m e 2", "B m e 2"},
    {39, 8, "cab", "B -2c 2", "B 2 e m", "B 2 e m"},
    {39, 8, "-cba", "C -2b 2", "C 2 m e", "C 2 m e"},
    {39, 8, "bca", "C -2b -2b", "C m 2 e", "C m 2 e"},
    {39, 8, "a-cb", "A -2c -2c", "A e 2 m", "A e 2 m"},
    {40, 8, "", "A 2 -2a", "A m a 2", "A m a 2"},
    {40, 8, "ba-c", "B 2 -2b", "B b m 2", "B b m 2"},
    {40, 8, "cab", "B -2b 2", "B 2 m b", "B 2 m b"},
    {40, 8, "-cba", "C -2c 2", "C 2 c m", "C 2 c m"},
    {40, 8, "bca", "C -2c -2c", "C c 2 m", "C c 2 m"},
    {40, 8, "a-cb", "A -2a -2a", "A m 2 a", "A m 2 a"},
    {41, 8, "", "A 2 -2ac", "A e a 2", "A e a 2"},
    {41, 8, "ba-c", "B 2 -2bc", "B b e 2", "B b e 2"},
    {41, 8, "cab", "B -2bc 2", "B 2 e b", "B 2 e b"},
    {41, 8, "-cba", "C -2bc 2", "C 2 c e", "C 2 c e"},
    {41, 8, "bca", "C -2bc -2bc", "C c 2 e", "C c 2 e"},
    {41, 8, "a-cb", "A -2ac -2ac", "A e 2 a", "A e 2 a"},
    {42, 16, "", "F 2 -2", "F m m 2", "F m m 2"},
    {42, 16, "cab", "F -2 2", "F 2 m m", "F 2 m m"},
    {42, 16, "bca", "F -2 -2", "F m 2 m", "F m 2 m"},
    {43, 16, "", "F 2 -2d", "F d d 2", "F d d 2"},
    {43, 16, "cab", "F -2d 2", "F 2 d d", "F 2 d d"},
    {43, 16, "bca", "F -2d -2d", "F d 2 d", "F d 2 d"},
    {44, 8, "", "I 2 -2", "I m m 2", "I m m 2"},
    {44, 8, "cab", "I -2 2", "I 2 m m", "I 2 m m"},
    {44, 8, "bca", "I -2 -2", "I m 2 m", "I m 2 m"},
    {45, 8, "", "I 2 -2c", "I b a 2", "I b a 2"},
    {45, 8, "cab", "I -2a 2", "I 2 c b", "I 2 c b"},
    {45, 8, "bca", "I -2b -2b", "I c 2 a", "I c 2 a"},
    {46, 8, "", "I 2 -2a", "I m a 2", "I m a 2"},
    {46, 8, "ba-c", "I 2 -2b", "I b m 2", "I b m 2"},
    {46, 8, "cab", "I -2b 2", "I 2 m b", "I 2 m b"},
    {46, 8, "-cba", "I -2c 2", "I 2 c m", "I 2 c m"},
    {46, 8, "bca", "I -2c -2c", "I c 2 m", "I c 2 m"},
    {46, 8, "a-cb", "I -2a -2a", "I m 2 a", "I m 2 a"},
    {47, 8, "", "-P 2 2", "P m m m", "P 2/m 2/m 2/m"},
    {48, 8, "1", "P 2 2 -1n", "P n n n", "P 2/n 2/n 2/n"},
    {48, 8, "2", "-P 2ab 2bc", "P n n n", "P 2/n 2/n 2/n"},
    {49, 8, "", "-P 2 2c", "P c c m", "P 2/c 2/c 2/m"},
    {49, 8, "cab", "-P 2a 2", "P m a a", "P 2/m 2/a 2/a"},
    {49, 8, "bca", "-P 2b 2b", "P b m b", "P 2/b 2/m 2/b"},
    {50, 8, "1", "P 2 2 -1ab", "P b a n", "P 2/b 2/a 2/n"},
    {50, 8, "2", "-P 2ab 2b", "P b a n", "P 2/b 2/a 2/n"},
    {50, 8, "1cab", "P 2 2 -1bc", "P n c b", "P 2/n 2/c 2/b"},
    {50, 8, "2cab", "-P 2b 2bc", "P n c b", "P 2/n 2/c 2/b"},
    {50, 8, "1bca", "P 2 2 -1ac", "P c n a", "P 2/c 2/n 2/a"},
    {50, 8, "2bca", "-P 2a 2c", "P c n a", "P 2/c 2/n 2/a"},
    {51, 8, "", "-P 2a 2a", "P m m a", "P 2_1/m 2/m 2/a"},
    {51, 8, "ba-c", "-P 2b 2", "P m m b", "P 2/m 2_1/m 2/b"},
    {51, 8, "cab", "-P 2 2b", "P b m m", "P 2/b 2_1/m 2/m"},
    {51, 8, "-cba", "-P 2c 2c", "P c m m", "P 2/c 2/m 2_1/m"},
    {51, 8, "bca", "-P 2c 2", "P m c m", "P 2/m 2/c 2_1/m"},
    {51, 8, "a-cb", "-P 2 2a", "P m a m", "P 2_1/m 2/a 2/m"},
    {52, 8, "", "-P 2a 2bc", "P n n a", "P 2/n 2_1/n 2/a"},
    {52, 8, "ba-c", "-P 2b 2n", "P n n b", "P 2_1/n 2/n 2/b"},
    {52, 8, "cab", "-P 2n 2b", "P b n n", "P 2/b 2/n 2_1/n"},
    {52, 8, "-cba", "-P 2ab 2c", "P c n n", "P 2/c 2_1/n 2/n"},
    {52, 8, "bca", "-P 2ab 2n", "P n c n", "P 2_1/n 2/c 2/n"},
    {52, 8, "a-cb", "-P 2n 2bc", "P n a n", "P 2/n 2/a 2_1/n"},
    {53, 8, "", "-P 2ac 2", "P m n a", "P 2/m 2/n 2_1/a"},
    {53, 8, "ba-c", "-P 2bc 2bc", "P n m b", "P 2/n 2/m 2_1/b"},
    {53, 8, "cab", "-P 2ab 2ab", "P b m n", "P 2_1/b 2/m 2/n"},
    {53, 8, "-cba", "-P 2 2ac", "P c n m", "P 2_1/c 2/n 2/m"},
    {53, 8, "bca", "-P 2 2bc", "P n c m", "P 2/n 2_1/c 2/m"},
    {53, 8, "a-cb", "-P 2ab 2", "P m a n", "P 2/m 2_1/a 2/n"},
    {54, 8, "", "-P 2a 2ac", "P c c a", "P 2_1/c 2/c 2/a"},
    {54, 8, "ba-c", "-P 2b 2c", "P c c b", "P 2/c 2_1/c 2/b"},
    {54, 8, "cab", "-P 2a 2b", "P b a a", "P 2/b 2_1/a 2/a"},
    {54, 8, "-cba", "-P 2ac 2c", "P c a a", "P 2/c 2/a 2_1/a"},
    {54, 8, "bca", "-P 2bc 2b", "P b c b", "P 2/b 2/c 2_1/b"},
    {54, 8, "a-cb", "-P 2b 2ab", "P b a b", "P 2_1/b 2/a 2/b"},
    {55, 8, "", "-P 2 2ab", "P b a m", "P 2_1/b 2_1/a 2/m"},
    {55, 8, "cab", "-P 2bc 2", "P m c b", "P 2/m 2_1/c 2_1/b"},
    {55, 8, "bca", "-P 2ac 2ac", "P c m a", "P 2_1/c 2/m 2_1/a"},
    {56, 8, "", "-P 2ab 2ac", "P c c n", "P 2_1/c 2_1/c 2/n"},
    {56, 8, "cab", "-P 2ac 2bc", "P n a a", "P 2/n 2_1/a 2_1/a"},
    {56, 8, "bca", "-P 2bc 2ab", "P b n b", "P 2_1/b 2/n 2_1/b"},
    {57, 8, "", "-P 2c 2b", "P b c m", "P 2/b 2_1/c 2_1/m"},
    {57, 8, "ba-c", "-P 2c 2ac", "P c a m", "P 2_1/c 2/a 2_1/m"},
    {57, 8, "cab", "-P 2ac 2a", "P m c a", "P 2_1/m 2/c 2_1/a"},
    {57, 8, "-cba", "-P 2b 2a", "P m a b", "P 2_1/m 2_1/a 2/b"},
    {57, 8, "bca", "-P 2a 2ab", "P b m a", "P 2_1/b 2_1/m 2/a"},
    {57, 8, "a-cb", "-P 2bc 2c", "P c m b", "P 2/c 2_1/m 2_1/b"},
    {58, 8, "", "-P 2 2n", "P n n m", "P 2_1/n 2_1/n 2/m"},
    {58, 8, "cab", "-P 2n 2", "P m n n", "P 2/m 2_1/n 2_1/n"},
    {58, 8, "bca", "-P 2n 2n", "P n m n", "P 2_1/n 2/m 2_1/n"},
    {59, 8, "1", "P 2 2ab -1ab", "P m m n", "P 2_1/m 2_1/m 2/n"},
    {59, 8, "2", "-P 2ab 2a", "P m m n", "P 2_1/m 2_1/m 2/n"},
    {59, 8, "1cab", "P 2bc 2 -1bc", "P n m m", "P 2/n 2_1/m 2_1/m"},
    {59, 8, "2cab", "-P 2c 2bc", "P n m m", "P 2/n 2_1/m 2_1/m"},
    {59, 8, "1bca", "P 2ac 2ac -1ac", "P m n m", "P 2_1/m 2/n 2_1/m"},
    {59, 8, "2bca", "-P 2c 2a", "P m n m", "P 2_1/m 2/n 2_1/m"},
    {60, 8, "", "-P 2n 2ab", "P b c n", "P 2_1/b 2/c 2_1/n"},
    {60, 8, "ba-c", "-P 2n 2c", "P c a n", "P 2/c 2_1/a 2_1/n"},
    {60, 8, "cab", "-P 2a 2n", "P n c a", "P 2_1/n 2_1/c 2/a"},
    {60, 8, "-cba", "-P 2bc 2n", "P n a b", "P 2_1/n 2/a 2_1/b"},
    {60, 8, "bca", "-P 2ac 2b", "P b n a", "P 2/b 2_1/n 2_1/a"},
    {60, 8, "a-cb", "-P 2b 2ac", "P c n b", "P 2_1/c 2_1/n 2/b"},
    {61, 8, "", "-P 2ac 2ab", "P b c a", "P 2_1/b 2_1/c 2_1/a"},
    {61, 8, "ba-c", "-P 2bc 2ac", "P c a b", "P 2_1/c 2_1/a 2_1/b"},
    {62, 8, "", "-P 2ac 2n", "P n m a", "P 2_1/n 2_1/m 2_1/a"},
    {62, 8, "ba-c", "-P 2bc 2a", "P m n b", "P 2_1/m 2_1/n 2_1/b"},
    {62, 8, "cab", "-P 2c 2ab", "P b n m", "P 2_1/b 2_1/n 2_1/m"},
    {62, 8, "-cba", "-P 2n 2ac", "P c m n", "P 2_1/c 2_1/m 2_1/n"},
    {62, 8, "bca", "-P 2n 2a", "P m c n", "P 2_1/m 2_1/c 2_1/n"},
    {62, 8, "a-cb", "-P 2c 2n", "P n a m", "P 2_1/n 2_1/a 2_1/m"},
    {63, 16, "", "-C 2c 2", "C m c m", "C 2/m 2/c 2_1/m"},
    {63, 16, "ba-c", "-C 2c 2c", "C c m m", "C 2/c 2/m 2_1/m"},
    {63, 16, "cab", "-A 2a 2a", "A m m a", "A 2_1/m 2/m 2/a"},
    {63, 16, "-cba", "-A 2 2a", "A m a m", "A 2_1/m 2/a 2/m"},
    {63, 16, "bca", "-B 2 2b", "B b m m", "B 2/b 2_1/m 2/m"},
    {63, 16, "a-cb", "-B 2b 2", "B m m b", "B 2/m 2_1/m 2/b"},
    {64, 16, "", "-C 2bc 2", "C m c e", "C 2/m 2/c 2_1/e"},
    {64, 16, "ba-c", "-C 2bc 2bc", "C c m e", "C 2/c 2/m 2_1/e"},
    {64, 16, "cab", "-A 2ac 2ac", "A e m a", "A 2_1/e 2/m 2/a"},
    {64, 16, "-cba", "-A 2 2ac", "A e a m", "A 2_1/e 2/a 2/m"},
    {64, 16, "bca", "-B 2 2bc", "B b e m", "B 2/b 2_1/e 2/m"},
    {64, 16, "a-cb", "-B 2bc 2", "B m e b", "B 2/m 2_1/e 2/b"},
    {65, 16, "", "-C 2 2", "C m m m", "C 2/m 2/m 2/m"},
    {65, 16, "cab", "-A 2 2", "A m m m", "A 2/m 2/m 2/m"},
    {65, 16, "bca", "-B 2 2", "B m m m", "B 2/m 2/m 2/m"},
    {66, 16, "", "-C 2 2c", "C c c m", "C 2/c 2/c 2/m"},
    {66, 16, "cab", "-A 2a 2", "A m a a", "A 2/m 2/a 2/a"},
    {66, 16, "bca", "-B 2b 2b", "B b m b", "B 2/b 2/m 2/b"},
    {67, 16, "", "-C 2b 2", "C m m e", "C 2/m 2/m 2/e"},
    {67, 16, "ba-c", "-C 2b 2b", "C m m e", "C 2/m 2/m 2/e"},
    {67, 16, "cab", "-A 2c 2c", "A e m m", "A 2/e 2/m 2/m"},
    {67, 16, "-cba", "-A 2 2c", "A e m m", "A 2/e 2/m 2/m"},
    {67, 16, "bca", "-B 2 2c", "B m e m", "B 2/m 2/e 2/m"},
    {67, 16, "a-cb", "-B 2c 2", "B m e m", "B 2/m 2/e 2/m"},
    {68, 16, "1", "C 2 2 -1bc", "C c c e", "C 2/c 2/c 2/e"},
    {68, 16, "2", "-C 2b 2bc", "C c c e", "C 2/c 2/c 2/e"},
    {68, 16, "1ba-c", "C 2 2 -1bc", "C c c e", "C 2/c 2/c 2/e"},
    {68, 16, "2ba-c", "-C 2b 2c", "C c c e", "C 2/c 2/c 2/e"},
    {68, 16, "1cab", "A 2 2 -1ac", "A e a a", "A 2/e 2/a 2/a"},
    {68, 16, "2cab", "-A 2a 2c", "A e a a", "A 2/e 2/a 2/a"},
    {68, 16, "1-cba", "A 2 2 -1ac", "A e a a", "A 2/e 2/a 2/a"},
    {68, 16, "2-cba", "-A 2ac 2c", "A e a a", "A 2/e 2/a 2/a"},
    {68, 16, "1bca", "B 2 2 -1bc", "B b e b", "B 2/b 2/e 2/b"},
    {68, 16, "2bca", "-B 2bc 2b", "B b c b", "B 2/b 2/e 2/b"},
    {68, 16, "1a-cb", "B 2 2 -1bc", "B b e b", "B 2/b 2/e 2/b"},
    {68, 16, "2a-cb", "-B 2b 2bc", "B b e b", "B 2/b 2/e 2/b"},
    {69, 32, "", "-F 2 2", "F m m m", "F 2/m 2/m 2/m"},
    {70, 32, "1", "F 2 2 -1d", "F d d d", "F 2/d 2/d 2/d"},
    {70, 32, "2", "-F 2uv 2vw", "F d d d", "F 2/d 2/d 2/d"},
    {71, 16, "", "-I 2 2", "I m m m", "I 2/m 2/m 2/m"},
    {72, 16, "", "-I 2 2c", "I b a m", "I 2/b 2/a 2/m"},
    {72, 16, "cab", "-I 2a 2", "I m c b", "I 2/m 2/c 2/b"},
    {72, 16, "bca", "-I 2b 2b", "I c m a", "I 2/c 2/m 2/a"},
    {73, 16, "", "-I 2b 2c", "I b c a", "I 2/b 2/c 2/a"},
    {73, 16, "ba-c", "-I 2a 2b", "I c a b", "I 2/c 2/a 2/b"},
    {74, 16, "", "-I 2b 2", "I m m a", "I 2/m 2/m 2/a"},
    {74, 16, "ba-c", "-I 2a 2a", "I m m b", "I 2/m 2/m 2/b"},
    {74, 16, "cab", "-I 2c 2c", "I b m m", "I 2/b 2/m 2/m"},
    {74, 16, "-cba", "-I 2 2b", "I c m m", "I 2/c 2/m 2/m"},
    {74, 16, "bca", "-I 2 2a", "I m c m", "I 2/m 2/c 2/m"},
    {74, 16, "a-cb", "-I 2c 2", "I m a m", "I 2/m 2/a 2/m"},
    {75, 4, "", "P 4", "P 4", "P 4"},
    {76, 4, "", "P 4w", "P 4_1", "P 4_1"},
    {77, 4, "", "P 4c", "P 4_2", "P 4_2"},
    {78, 4, "", "P 4cw", "P 4_3", "P 4_3"},
    {79, 8, "", "I 4", "I 4", "I 4"},
    {80, 8, "", "I 4bw", "I 4_1", "I 4_1"},
    {81, 4, "", "P -4", "P -4", "P -4"},
    {82, 8, "", "I -4", "I -4", "I -4"},
    {83, 8, "", "-P 4", "P 4/m", "P 4/m"},
    {84, 8, "", "-P 4c", "P 4_2/m", "P 4_2/m"},
    {85, 8, "1", "P 4ab -1ab", "P 4/n", "P 4/n"},
    {85, 8, "2", "-P 4a", "P 4/n", "P 4/n"},
    {86, 8, "1", "P 4n -1n", "P 4_2/n", "P 4_2/n"},
    {86, 8, "2", "-P 4bc", "P 4_2/n", "P 4_2/n"},
    {87, 16, "", "-I 4", "I 4/m", "I 4/m"},
    {88, 16, "1", "I 4bw -1bw", "I 4_1/a", "I 4_1/a"},
    {88, 16, "2", "-I 4ad", "I 4_1/a", "I 4_1/a"},
    {89, 8, "", "P 4 2", "P 4 2 2", "P 4 2 2"},
    {90, 8, "", "P 4ab 2ab", "P 4 2_1 2", "P 4 2_1 2"},
    {91, 8, "", "P 4w 2c", "P 4_1 2 2", "P 4_1 2 2"},
    {92, 8, "", "P 4abw 2nw", "P 4_1 2_1 2", "P 4_1 2_1 2"},
    {93, 8, "", "P 4c 2", "P 4_2 2 2", "P 4_2 2 2"},
    {94, 8, "", "P 4n 2n", "P 4_2 2_1 2", "P 4_2 2_1 2"},
    {95, 8, "", "P 4cw 2c", "P 4_3 2 2", "P 4_3 2 2"},
    {96, 8, "", "P 4nw 2abw", "P 4_3 2_1 2", "P 4_3 2_1 2"},
    {97, 16, "", "I 4 2", "I 4 2 2", "I 4 2 2"},
    {98, 16, "", "I 4bw 2bw", "I 4_1 2 2", "I 4_1 2 2"},
    {99, 8, "", "P 4 -2", "P 4 m m", "P 4 m m"},
    {100, 8, "", "P 4 -2ab", "P 4 b m", "P 4 b m"},
    {101, 8, "", "P 4c -2c", "P 4_2 c m", "P 4_2 c m"},
    {102, 8, "", "P 4n -2n", "P 4_2 n m", "P 4_2 n m"},
    {103, 8, "", "P 4 -2c", "P 4 c c", "P 4 c c"},
    {104, 8, "", "P 4 -2n", "P 4 n c", "P 4 n c"},
    {105, 8, "", "P 4c -2", "P 4_2 m c", "P 4_2 m c"},
    {106, 8, "", "P 4c -2ab", "P 4_2 b c", "P 4_2 b c"},
    {107, 16, "", "I 4 -2", "I 4 m m", "I 4 m m"},
    {108, 16, "", "I 4 -2c", "I 4 c m", "I 4 c m"},
    {109, 16, "", "I 4bw -2", "I 4_1 m d", "I 4_1 m d"},
    {110, 16, "", "I 4bw -2c", "I 4_1 c d", "I 4_1 c d"},
    {111, 8, "", "P -4 2", "P -4 2 m", "P -4 2 m"},
    {112, 8, "", "P -4 2c", "P -4 2 c", "P -4 2 c"},
    {113, 8, "", "P -4 2ab", "P -4 2_1 m", "P -4 2_1 m"},
    {114, 8, "", "P -4 2n", "P -4 2_1 c", "P -4 2_1 c"},
    {115, 8, "", "P -4 -2", "P -4 m 2", "P -4 m 2"},
    {116, 8, "", "P -4 -2c", "P -4 c 2", "P -4 c 2"},
    {117, 8, "", "P -4 -2ab", "P -4 b 2", "P -4 b 2"},
    {118, 8, "", "P -4 -2n", "P -4 n 2", "P -4 n 2"},
    {119, 16, "", "I -4 -2", "I -4 m 2", "I -4 m 2"},
    {120, 16, "", "I -4 -2c", "I -4 c 2", "I -4 c 2"},
    {121, 16, "", "I -4 2", "I -4 2 m", "I -4 2 m"},
    {122, 16, "", "I -4 2bw", "I -4 2 d", "I -4 2 d"},
    {123, 16, "", "-P 4 2", "P 4/m m m", "P 4/m 2/m 2/m"},
    {124, 16, "", "-P 4 2c", "P 4/m c c", "P 4/m 2/c 2/c"},
    {125, 16, "1", "P 4 2 -1ab", "P 4/n b m", "P 4/n 2/b 2/m"},
    {125, 16, "2", "-P 4a 2b", "P 4/n b m", "P 4/n 2/b 2/m"},
    {126, 16, "1", "P 4 2 -1n", "P 4/n n c", "P 4/n 2/n 2/c"},
    {126, 16, "2", "-P 4a 2bc", "P 4/n n c", "P 4/n 2/n 2/c"},
    {127, 16, "", "-P 4 2ab", "P 4/m b m", "P 4/m 2_1/b m"},
    {128, 16, "", "-P 4 2n", "P 4/m n c", "P 4/m 2_1/n c"},
    {129, 16, "1", "P 4ab 2ab -1ab", "P 4/n m m", "P 4/n 2_1/m m"},
    {129, 16, "2", "-P 4a 2a", "P 4/n m m", "P 4/n 2_1/m m"},
    {130, 16, "1", "P 4ab 2n -1ab", "P 4/n c c", "P 4/n 2_1/c c"},
    {130, 16, "2", "-P 4a 2ac", "P 4/n c c", "P 4/n 2_1/c c"},
    {131, 16, "", "-P 4c 2", "P 4_2/m m c", "P 4_2/m 2/m 2/c"},
    {132, 16, "", "-P 4c 2c", "P 4_2/m c m", "P 4_2/m 2/c 2/m"},
    {133, 16, "1", "P 4n 2c -1n", "P 4_2/n b c", "P 4_2/n 2/b 2/c"},
    {133, 16, "2", "-P 4ac 2b", "P 4_2/n b c", "P 4_2/n 2/b 2/c"},
    {134, 16, "1", "P 4n 2 -1n", "P 4_2/n n m", "P 4_2/n 2/n 2/m"},
    {134, 16, "2", "-P 4ac 2bc", "P 4_2/n n m", "P 4_2/n 2/n 2/m"},
    {135, 16, "", "-P 4c 2ab", "P 4_2/m b c", "P 4_2/m 2_1/b 2/c"},
    {136, 16, "", "-P 4n 2n", "P 4_2/m n m", "P 4_2/m 2_1/n 2/m"},
    {137, 16, "1", "P 4n 2n -1n", "P 4_2/n m c", "P 4_2/n 2_1/m 2/c"},
    {137, 16, "2", "-P 4ac 2a", "P 4_2/n m c", "P 4_2/n 2_1/m 2/c"},
    {138, 16, "1", "P 4n 2ab -1n", "P 4_2/n c m", "P 4_2/n 2_1/c 2/m"},
    {138, 16, "2", "-P 4ac 2ac", "P 4_2/n c m", "P 4_2/n 2_1/c 2/m"},
    {139, 32, "", "-I 4 2", "I 4/m m m", "I 4/m 2/m 2/m"},
    {140, 32, "", "-I 4 2c", "I 4/m c m", "I 4/m 2/c 2/m"},
    {141, 32, "1", "I 4bw 2bw -1bw", "I 4_1/a m d", "I 4_1/a 2/m 2/d"},
    {141, 32, "2", "-I 4bd 2", "I 4_1/a m d", "I 4_1/a 2/m 2/d"},
    {142, 32, "1", "I 4bw 2aw -1bw", "I 4_1/a c d", "I 4_1/a 2/c 2/d"},
    {142, 32, "2", "-I 4bd 2c", "I 4_1/a c d", "I 4_1/a 2/c 2/d"},
    {143, 3, "", "P 3", "P 3", "P 3"},
    {144, 3, "", "P 31", "P 3_1", "P 3_1"},
    {145, 3, "", "P 32", "P 3_2", "P 3_2"},
    {146, 9, "H", "R 3", "R 3", "R 3"},
    {146, 3, "R", "P 3*", "R 3", "R 3"},
    {147, 6, "", "-P 3", "P -3", "P -3"},
    {148, 18, "H", "-R 3", "R -3", "R -3"},
    {148, 6, "R", "-P 3*", "R -3", "R -3"},
    {149, 6, "", "P 3 2", "P 3 1 2", "P 3 1 2"},
    {150, 6, "", "P 3 2\"", "P 3 2 1", "P 3 2 1"},
    {151, 6, "", "P 31 2c (0 0 1)", "P 3_1 1 2", "P 3_1 1 2"},
    {152, 6, "", "P 31 2\"", "P 3_1 2 1", "P 3_1 2 1"},
    {153, 6, "", "P 32 2c (0 0 -1)", "P 3_2 1 2", "P 3_2 1 2"},
    {154, 6, "", "P 32 2\"", "P 3_2 2 1", "P 3_2 2 1"},
    {155, 18, "H", "R 3 2\"", "R 3 2", "R 3 2"},
    {155, 6, "R", "P 3* 2", "R 3 2", "R 3 2"},
    {156, 6, "", "P 3 -2\"", "P 3 m 1", "P 3 m 1"},
    {157, 6, "", "P 3 -2", "P 3 1 m", "P 3 1 m"},
    {158, 6, "", "P 3 -2\"c", "P 3 c 1", "P 3 c 1"},
    {159, 6, "", "P 3 -2c", "P 3 1 c", "P 3 1 c"},
    {160, 18, "H", "R 3 -2\"", "R 3 m", "R 3 m"},
    {160, 6, "R", "P 3* -2", "R 3 m", "R 3 m"},
    {161, 18, "H", "R 3 -2\"c", "R 3 c", "R 3 c"},
    {161, 6, "R", "P 3* -2n", "R 3 c", "R 3 c"},
    {162, 12, "", "-P 3 2", "P -3 1 m", "P -3 1 2/m"},
    {163, 12, "", "-P 3 2c", "P -3 1 c", "P -3 1 2/c"},
    {164, 12, "", "-P 3 2\"", "P -3 m 1", "P -3 2/m 1"},
    {165, 12, "", "-P 3 2\"c", "P -3 c 1", "P -3 2/c 1"},
    {166, 36, "H", "-R 3 2\"", "R -3 m", "R -3 2/m"},
    {166, 12, "R", "-P 3* 2", "R -3 m", "R -3 2/m"},
    {167, 36, "H", "-R 3 2\"c", "R -3 c", "R -3 2/c"},
    {167, 12, "R", "-P 3* 2n", "R -3 c", "R -3 2/c"},
    {168, 6, "", "P 6", "P 6", "P 6"},
    {169, 6, "", "P 61", "P 6_1", "P 6_1"},
    {170, 6, "", "P 65", "P 6_5", "P 6_5"},
    {171, 6, "", "P 62", "P 6_2", "P 6_2"},
    {172, 6, "", "P 64", "P 6_4", "P 6_4"},
    {173, 6, "", "P 6c", "P 6_3", "P 6_3"},
    {174, 6, "", "P -6", "P -6", "P -6"},
    {175, 12, "", "-P 6", "P 6/m", "P 6/m"},
    {176, 12, "", "-P 6c", "P 6_3/m", "P 6_3/m"},
    {177, 12, "", "P 6 2", "P 6 2 2", "P 6 2 2"},
    {178, 12, "", "P 61 2 (0 0 -1)", "P 6_1 2 2", "P 6_1 2 2"},
    {179, 12, "", "P 65 2 (0 0 1)", "P 6_5 2 2", "P 6_5 2 2"},
    {180, 12, "", "P 62 2c (0 0 1)", "P 6_2 2 2", "P 6_2 2 2"},
    {181, 12, "", "P 64 2c (0 0 -1)", "P 6_4 2 2", "P 6_4 2 2"},
    {182, 12, "", "P 6c 2c", "P 6_3 2 2", "P 6_3 2 2"},
    {183, 12, "", "P 6 -2", "P 6 m m", "P 6 m m"},
    {184, 12, "", "P 6 -2c", "P 6 c c", "P 6 c c"},
    {185, 12, "", "P 6c -2", "P 6_3 c m", "P 6_3 c m"},
    {186, 12, "", "P 6c -2c", "P 6_3 m c", "P 6_3 m c"},
    {187, 12, "", "P -6 2", "P -6 m 2", "P -6 m 2"},
    {188, 12, "", "P -6c 2", "P -6 c 2", "P -6 c 2"},
    {189, 12, "", "P -6 -2", "P -6 2 m", "P -6 2 m"},
    {190, 12, "", "P -6c -2c", "P -6 2 c", "P -6 2 c"},
    {191, 24, "", "-P 6 2", "P 6/m m m", "P 6/m 2/m 2/m"},
    {192, 24, "", "-P 6 2c", "P 6/m c c", "P 6/m 2/c 2/c"},
    {193, 24, "", "-P 6c 2", "P 6_3/m c m", "P 6_3/m 2/c 2/m"},
    {194, 24, "", "-P 6c 2c", "P 6_3/m m c", "P 6_3/m 2/m 2/c"},
    {195, 12, "", "P 2 2 3", "P 2 3", "P 2 3"},
    {196, 48, "", "F 2 2 3", "F 2 3", "F 2 3"},
    {197, 24, "", "I 2 2 3", "I 2 3", "I 2 3"},
    {198, 12, "", "P 2ac 2ab 3", "P 2_1 3", "P 2_1 3"},
    {199, 24, "", "I 2b 2c 3", "I 2_1 3", "I 2_1 3"},
    {200, 24, "", "-P 2 2 3", "P m -3", "P 2/m -3"},
    {201, 24, "1", "P 2 2 3 -1n", "P n -3", "P 2/n -3"},
    {201, 24, "2", "-P 2ab 2bc 3", "P n -3", "P 2/n -3"},
    {202, 96, "", "-F 2 2 3", "F m -3", "F 2/m -3"},
    {203, 96, "1", "F 2 2 3 -1d", "F d -3", "F 2/d -3"},
    {203, 96, "2", "-F 2uv 2vw 3", "F d -3", "F 2/d -3"},
    {204, 48, "", "-I 2 2 3", "I m -3", "I 2/m -3"},
    {205, 24, "", "-P 2ac 2ab 3", "P a -3", "P 2_1/a -3"},
    {206, 48, "", "-I 2b 2c 3", "I a -3", "I 2_1/a -3"},
    {207, 24, "", "P 4 2 3", "P 4 3 2", "P 4 3 2"},
    {208, 24, "", "P 4n 2 3", "P 4_2 3 2", "P 4_2 3 2"},
    {209, 96, "", "F 4 2 3", "F 4 3 2", "F 4 3 2"},
    {210, 96, "", "F 4d 2 3", "F 4_1 3 2", "F 4_1 3 2"},
    {211, 48, "", "I 4 2 3", "I 4 3 2", "I 4 3 2"},
    {212, 24, "", "P 4acd 2ab 3", "P 4_3 3 2", "P 4_3 3 2"},
    {213, 24, "", "P 4bd 2ab 3", "P 4_1 3 2", "P 4_1 3 2"},
    {214, 48, "", "I 4bd 2c 3", "I 4_1 3 2", "I 4_1 3 2"},
    {215, 24, "", "P -4 2 3", "P -4 3 m", "P -4 3 m"},
    {216, 96, "", "F -4 2 3", "F -4 3 m", "F -4 3 m"},
    {217, 48, "", "I -4 2 3", "I -4 3 m", "I -4 3 m"},
    {218, 24, "", "P -4n 2 3", "P -4 3 n", "P -4 3 n"},
    {219, 96, "", "F -4c 2 3", "F -4 3 c", "F -4 3 c"},
    {220, 48, "", "I -4bd 2c 3", "I -4 3 d", "I -4 3 d"},
    {221, 48, "", "-P 4 2 3", "P m -3 m", "P 4/m -3 2/m"},
    {222, 48, "1", "P 4 2 3 -1n", "P n -3 n", "P 4/n -3 2/n"},
    {222, 48, "2", "-P 4a 2bc 3", "P n -3 n", "P 4/n -3 2/n"},
    {223, 48, "", "-P 4n 2 3", "P m -3 n", "P 4_2/m -3 2/n"},
    {224, 48, "1", "P 4n 2 3 -1n", "P n -3 m", "P 4_2/n -3 2/m"},
    {224, 48, "2", "-P 4bc 2bc 3", "P n -3 m", "P 4_2/n -3 2/m"},
    {225, 192, "", "-F 4 2 3", "F m -3 m", "F 4/m -3 2/m"},
    {226, 192, "", "-F 4c 2 3", "F m -3 c", "F 4/m -3 2/c"},
    {227, 192, "1", "F 4d 2 3 -1d", "F d -3 m", "F 4_1/d -3 2/m"},
    {227, 192, "2", "-F 4vw 2vw 3", "F d -3 m", "F 4_1/d -3 2/m"},
    {228, 192, "1", "F 4d 2 3 -1cd", "F d -3 c", "F 4_1/d -3 2/c"},
    {228, 192, "2", "-F 4cvw 2vw 3", "F d -3 c", "F 4_1/d -3 2/c"},
    {229, 96, "", "-I 4 2 3", "I m -3 m", "I 4/m -3 2/m"},
    {230, 96, "", "-I 4bd 2c 3", "I a -3 d", "I 4_1/a -3 2/d"},
};
enum { SG_N = sizeof sg_table / sizeof sg_table[0] };

/* ---------------------------------------------------------------- Hall symbols */
typedef struct hop {
    int r[3][3];
    int t[3];        /* twelfths, in 0..11 */
} hop;

/* Rotations about z (Hall 1981); x and y follow by cyclic permutation. */
static const int rot_z[7][3][3] = {
    {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}},       /* 1 */
    {{-1, 0, 0}, {0, -1, 0}, {0, 0, 1}},     /* 2 */
    {{0, -1, 0}, {1, -1, 0}, {0, 0, 1}},     /* 3 */
    {{0, -1, 0}, {1, 0, 0}, {0, 0, 1}},      /* 4 */
    {{1, -1, 0}, {1, 0, 0}, {0, 0, 1}},      /* 6 */
    {{0, -1, 0}, {-1, 0, 0}, {0, 0, -1}},    /* 2' (a-b) */
    {{0, 1, 0}, {1, 0, 0}, {0, 0, -1}},      /* 2" (a+b) */
};
static const int rot_star[3][3] = {{0, 0, 1}, {1, 0, 0}, {0, 1, 0}};   /* 3 along a+b+c */

/* q[axis][i]: which z-frame index plays index i when the axis is x (0), y (1) or z (2). */
static const int perm[3][3] = {{2, 0, 1}, {1, 2, 0}, {0, 1, 2}};

static int mod12(int v) { return ((v % 12) + 12) % 12; }

static void hop_mul(const hop *a, const hop *b, hop *c)
{
    hop o;
    for (int i = 0; i < 3; i++) {
        int t = a->t[i];
        for (int j = 0; j < 3; j++) {
            int s = 0;
            for (int k = 0; k < 3; k++) s += a->r[i][k] * b->r[k][j];
            o.r[i][j] = s;
            t += a->r[i][j] * b->t[j];
        }
        o.t[i] = mod12(t);
    }
    *c = o;
}

static int hop_eq(const hop *a, const hop *b)
{
    return !memcmp(a->r, b->r, sizeof a->r) && !memcmp(a->t, b->t, sizeof a->t);
}

/* Generators from a Hall symbol; returns their count or -1. */
static int hall_generators(const char *sym, hop *gen, int maxgen, char *err, size_t nerr)
{
    int ng = 0;
    const char *p = sym;
    while (*p == ' ') p++;
    int centric = 0;
    if (*p == '-') centric = 1, p++;
    static const struct { char l; int n; int v[3][3]; } lat[] = {
        {'P', 0, {{0}}},
        {'A', 1, {{0, 6, 6}}}, {'B', 1, {{6, 0, 6}}}, {'C', 1, {{6, 6, 0}}}, {'I', 1, {{6, 6, 6}}},
        {'R', 2, {{8, 4, 4}, {4, 8, 8}}}, {'S', 2, {{4, 4, 8}, {8, 8, 4}}},
        {'T', 2, {{4, 8, 4}, {8, 4, 8}}}, {'F', 3, {{0, 6, 6}, {6, 0, 6}, {6, 6, 0}}}};
    int li = -1;
    for (size_t i = 0; i < sizeof lat / sizeof lat[0]; i++)
        if (toupper((unsigned char)*p) == lat[i].l) li = (int)i;
    if (li < 0) {
        snprintf(err, nerr, "unknown lattice symbol '%c'", *p ? *p : ' ');
        return -1;
    }
    p++;
    hop id = {{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}, {0, 0, 0}};
    for (int i = 0; i < lat[li].n; i++) {
        gen[ng] = id;
        memcpy(gen[ng].t, lat[li].v[i], sizeof gen[ng].t);
        ng++;
    }
    if (centric) {
        gen[ng] = id;
        for (int i = 0; i < 3; i++) gen[ng].r[i][i] = -1;
        ng++;
    }
    int nmat = 0, prevn = 0, prevaxis = 2, shift[3] = {0, 0, 0};
    for (;;) {
        while (*p == ' ') p++;
        if (!*p) break;
        if (*p == '(') {   /* origin shift in twelfths */
            char *e;
            p++;
            for (int i = 0; i < 3; i++) {
                long v = strtol(p, &e, 10);
                if (e == p || v < -120 || v > 120) {
                    snprintf(err, nerr, "bad origin shift");
                    return -1;
                }
                shift[i] = (int)v;
                p = e;
            }
            while (*p == ' ') p++;
            if (*p != ')') {
                snprintf(err, nerr, "origin shift not closed");
                return -1;
            }
            p++;
            continue;
        }
        int improper = 0;
        if (*p == '-') improper = 1, p++;
        if (!strchr("12346", *p) || !*p) {
            snprintf(err, nerr, "expected a rotation order 1, 2, 3, 4 or 6 at '%.8s'", p);
            return -1;
        }
        int n = *p++ - '0';
        /* Axis: explicit x y z ' " *, else Hall's defaults. */
        int axis = -1;          /* 0 x, 1 y, 2 z, 3 ', 4 ", 5 * */
        if (*p && strchr("xyz'\"*", *p)) axis = (int)(strchr("xyz'\"*", *p) - "xyz'\"*"), p++;
        if (axis < 0) {
            if (nmat == 0) axis = 2;
            else if (nmat == 1 && n == 2) axis = (prevn == 2 || prevn == 4) ? 0 : 3;
            else if (nmat == 2 && n == 3) axis = 5;
            else if (n == 1) axis = 2;
            else {
                snprintf(err, nerr, "matrix %d: no default axis for order %d", nmat + 1, n);
                return -1;
            }
        }
        if (ng >= maxgen) {
            snprintf(err, nerr, "too many generators");
            return -1;
        }
        hop *g = &gen[ng++];
        memset(g, 0, sizeof *g);
        int ri = n == 1 ? 0 : n == 2 ? 1 : n == 3 ? 2 : n == 4 ? 3 : 4;
        if (axis <= 2) {
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++) g->r[i][j] = rot_z[ri][perm[axis][i]][perm[axis][j]];
        } else if (axis <= 4) {
            if (n != 2) {
                snprintf(err, nerr, "face-diagonal axis needs a 2-fold rotation");
                return -1;
            }
            int base = axis == 3 ? 5 : 6, pa = prevaxis <= 2 ? prevaxis : 2;
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++) g->r[i][j] = rot_z[base][perm[pa][i]][perm[pa][j]];
        } else {
            if (n != 3) {
                snprintf(err, nerr, "body-diagonal axis needs a 3-fold rotation");
                return -1;
            }
            memcpy(g->r, rot_star, sizeof g->r);
        }
        if (improper)
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++) g->r[i][j] = -g->r[i][j];
        /* Translations: screw digits and letters. */
        while (*p && *p != ' ') {
            int c = *p++;
            if (c >= '1' && c <= '5') {
                if (axis > 2 || c - '0' >= n) {
                    snprintf(err, nerr, "bad screw component %c%c", '0' + n, c);
                    return -1;
                }
                g->t[axis] += 12 * (c - '0') / n;
            } else {
                static const char *letters = "abcnuvwd";
                static const int tv[8][3] = {{6, 0, 0}, {0, 6, 0}, {0, 0, 6}, {6, 6, 6},
                                             {3, 0, 0}, {0, 3, 0}, {0, 0, 3}, {3, 3, 3}};
                const char *l = strchr(letters, c);
                if (!l) {
                    snprintf(err, nerr, "unknown translation symbol '%c'", c);
                    return -1;
                }
                for (int i = 0; i < 3; i++) g->t[i] += tv[l - letters][i];
            }
        }
        for (int i = 0; i < 3; i++) g->t[i] = mod12(g->t[i]);
        prevn = n;
        if (axis <= 2) prevaxis = axis;
        nmat++;
    }
    if (!nmat) {
        snprintf(err, nerr, "no rotation matrix symbol");
        return -1;
    }
    /* Origin shift: (R, t) -> (R, t + V - R V). */
    for (int k = 0; k < ng; k++)
        for (int i = 0; i < 3; i++) {
            int rv = 0;
            for (int j = 0; j < 3; j++) rv += gen[k].r[i][j] * shift[j];
            gen[k].t[i] = mod12(gen[k].t[i] + shift[i] - rv);
        }
    return ng;
}

int cif_hall_ops(const char *hall, cif_symop *ops, int maxops, char *err, size_t nerr)
{
    hop gen[16], grp[192];
    int ng = hall_generators(hall, gen, 16, err, nerr);
    if (ng < 0) return -1;
    int n = 1;
    memset(&grp[0], 0, sizeof grp[0]);
    for (int i = 0; i < 3; i++) grp[0].r[i][i] = 1;
    for (int i = 0; i < n; i++)   /* closure: multiply every element by every generator */
        for (int k = 0; k < ng; k++) {
            hop c;
            hop_mul(&grp[i], &gen[k], &c);
            int found = 0;
            for (int j = 0; j < n && !found; j++) found = hop_eq(&grp[j], &c);
            if (found) continue;
            if (n == 192) {
                snprintf(err, nerr, "group has more than 192 operations");
                return -1;
            }
            grp[n++] = c;
        }
    if (n > maxops) {
        snprintf(err, nerr, "group has %d operations, room for %d", n, maxops);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        memcpy(ops[i].r, grp[i].r, sizeof ops[i].r);
        for (int j = 0; j < 3; j++) ops[i].t[j] = grp[i].t[j] / 12.0;
    }
    return n;
}

/* ---------------------------------------------------------------- lookups */
static void squeeze(const char *s, const char *e, char *out, size_t nout)
{
    size_t k = 0;
    for (; s < e && *s; s++)
        if (*s != ' ' && *s != '_' && k + 1 < nout) out[k++] = (char)tolower((unsigned char)*s);
    out[k] = 0;
}

/* squeeze() of s without the tokens "1" (when more than the lattice and one axis remain). */
static void drop_ones(const char *s, char *out, size_t nout)
{
    char buf[64];
    size_t k = 0;
    int ntok = 0;
    for (const char *p = s; *p;) {
        while (*p == ' ') p++;
        if (*p) ntok++;
        while (*p && *p != ' ') p++;
    }
    for (const char *p = s; *p && ntok > 2;) {
        while (*p == ' ') p++;
        const char *e = p;
        while (*e && *e != ' ') e++;
        if (!(e - p == 1 && *p == '1'))
            for (const char *q = p; q < e && k + 2 < sizeof buf; q++) buf[k++] = *q;
        p = e;
    }
    buf[k] = 0;
    squeeze(ntok > 2 ? buf : s, (ntok > 2 ? buf : s) + strlen(ntok > 2 ? buf : s), out, nout);
}

const char *cif_hall_from_hm(const char *hm, int *number)
{
    char want[64], choice[16] = "";
    const char *colon = strchr(hm, ':');
    squeeze(hm, colon ? colon : hm + strlen(hm), want, sizeof want);
    if (colon) squeeze(colon + 1, colon + strlen(colon), choice, sizeof choice);
    if (!*want) return NULL;
    for (int i = 0; i < SG_N; i++) {
        const sg_entry *e = &sg_table[i];
        if (*choice && strcasecmp(choice, e->choice)) continue;
        int hit = 0;
        char got[64];
        squeeze(e->full, e->full + strlen(e->full), got, sizeof got);
        hit = !strcmp(got, want);
        if (!hit) {   /* the full symbol without its '1' axes: "P 1 2_1/n 1" -> "P 2_1/n" */
            drop_ones(e->full, got, sizeof got);
            hit = !strcmp(got, want);
        }
        for (const char *p = e->hm; !hit && p;) {   /* "P 2_1/c = P 1 2_1/c 1": each alias */
            const char *q = strstr(p, " = ");
            squeeze(p, q ? q : p + strlen(p), got, sizeof got);
            hit = !strcmp(got, want);
            p = q ? q + 3 : NULL;
        }
        if (hit) {
            if (number) *number = e->number;
            return e->hall;
        }
    }
    return NULL;
}

const char *cif_hall_from_number(int number)
{
    for (int i = 0; i < SG_N; i++)
        if (sg_table[i].number == number) return sg_table[i].hall;
    return NULL;
}

int cif_spacegroup_table(int idx, int *number, int *order, const char **choice, const char **hall,
                         const char **full)
{
    if (idx < 0 || idx >= SG_N) return 0;
    if (hall) *hall = sg_table[idx].hall;
    if (full) *full = sg_table[idx].full;
    if (number) *number = sg_table[idx].number;
    if (order) *order = sg_table[idx].order;
    if (choice) *choice = sg_table[idx].choice;
    return 1;
}
