/* cif_write.c -- the P1 CIF writer.
 *
 * One data block per frame: cell parameters (from the cell matrix, so a rotated cell is written
 * in the standard orientation of st_cell_from_parameters and reads back rotated, with the same
 * fractional coordinates), the identity as the only operation, and one _atom_site row per atom
 * with label, type symbol, fractional x y z (not wrapped) and the occupancy when the frame has an
 * "occupancy" array.  Numbers are written with 17 significant digits, so a read-write-read cycle
 * reproduces positions to rounding (~1e-15 relative).
 *
 * Not written: symmetry (no spglib-style search here), displacement parameters, other per-atom
 * arrays or info besides "data_block".
 */
#include "cif_expand.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A bare CIF word: non-empty, no whitespace or quotes, not starting with a character that would
 * make it a tag, comment, quoted string, reserved word or text field. */
static int bare_word_ok(const char *s)
{
    if (!*s || strchr("_#$'\";[]", *s)) return 0;
    if (!strcmp(s, "?") || !strcmp(s, ".")) return 0;
    if (!strncasecmp(s, "data_", 5) || !strncasecmp(s, "save_", 5) || !strcasecmp(s, "loop_") ||
        !strcasecmp(s, "global_") || !strcasecmp(s, "stop_"))
        return 0;
    for (const char *p = s; *p; p++)
        if (isspace((unsigned char)*p) || !isprint((unsigned char)*p)) return 0;
    return 1;
}

typedef struct lab_ref {
    const char *s;
    int64_t i;
} lab_ref;

static int cmp_lab(const void *a, const void *b)   /* by label, then atom index (stable) */
{
    const lab_ref *x = a, *y = b;
    int c = strcmp(x->s, y->s);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

int cif_write_frame(st_ctx *ctx, FILE *fp, const char *name, int64_t index, st_atoms *a)
{
    if (!st_atoms_has_cell(a))
        return st_fail(ctx, ST_ERR_ARG, "%s: frame %lld: a CIF needs a unit cell; this frame has none",
                       name, (long long)index);
    double *cell = st_atoms_cell(a), inv[9], L[3], ang[3];
    if (st_cell_inverse(cell, inv))
        return st_fail(ctx, ST_ERR_NUMERIC, "%s: frame %lld: the cell is singular", name, (long long)index);
    st_cell_to_parameters(cell, L, ang);
    int64_t n = st_atoms_count(a);

    /* Block name: the frame's data_block, else the file's stem; "_<index>" after the first. */
    char block[128];
    int ib = st_atoms_info_find(a, "data_block");
    const char *bn = ib >= 0 ? st_atoms_info_string(a, ib) : NULL;
    int from_file = !bn || !*bn;
    if (from_file) {
        const char *base = strrchr(name, '/');
        bn = base ? base + 1 : name;
    }
    size_t k = 0;
    for (const char *p = bn; *p && k + 1 < 96; p++) {
        if (*p == '.' && from_file) break;   /* drop the file extension */
        block[k++] = isgraph((unsigned char)*p) ? *p : '_';
    }
    if (!k) block[k++] = 'S';
    block[k] = 0;
    if (index > 0) snprintf(block + k, sizeof block - k, "_%lld", (long long)index);

    fprintf(fp, "# P1 CIF written by Strata %s\ndata_%s\n", st_version(), block);
    const char *pn[6] = {"_cell_length_a", "_cell_length_b", "_cell_length_c",
                         "_cell_angle_alpha", "_cell_angle_beta", "_cell_angle_gamma"};
    for (int i = 0; i < 6; i++) fprintf(fp, "%-18s %.17g\n", pn[i], i < 3 ? L[i] : ang[i - 3]);
    fprintf(fp, "_symmetry_space_group_name_H-M 'P 1'\n_symmetry_Int_Tables_number 1\n"
                "loop_\n_symmetry_equiv_pos_as_xyz\n'x, y, z'\n");

    /* Labels: the frame's own when every one is a bare word (unique ones as they are; repeated
     * ones, as in an expanded cell, get "_k", the k-th atom with that label); else element + index. */
    int il = st_atoms_array_find(a, "label");
    if (il >= 0 && st_atoms_array_kind(a, il) != ST_KIND_STRING) il = -1;
    int64_t *suffix = NULL;   /* 0 = label unique */
    if (il >= 0 && n > 0) {
        lab_ref *ref = st_malloc_array((size_t)n, sizeof *ref);
        suffix = st_calloc_array((size_t)n, sizeof *suffix);
        if (!ref || !suffix) {
            free(ref);
            free(suffix);
            return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", name);
        }
        for (int64_t i = 0; i < n && il >= 0; i++) {
            ref[i].s = st_atoms_array_string(a, il, i, 0);
            ref[i].i = i;
            if (!ref[i].s || !bare_word_ok(ref[i].s)) il = -1;
        }
        if (il >= 0) {
            qsort(ref, (size_t)n, sizeof *ref, cmp_lab);
            for (int64_t i = 0, j; i < n; i = j) {
                for (j = i + 1; j < n && !strcmp(ref[j].s, ref[i].s); j++) {}
                if (j - i > 1)
                    for (int64_t k = i; k < j; k++) suffix[ref[k].i] = k - i + 1;
            }
        }
        free(ref);
    }
    int io = st_atoms_array_find(a, "occupancy");
    if (io >= 0 && (st_atoms_array_kind(a, io) != ST_KIND_REAL || st_atoms_array_ncols(a, io) != 1))
        io = -1;
    const double *occ = io >= 0 ? st_atoms_array_data(a, io) : NULL;
    fprintf(fp, "loop_\n_atom_site_label\n_atom_site_type_symbol\n_atom_site_fract_x\n"
                "_atom_site_fract_y\n_atom_site_fract_z\n%s", occ ? "_atom_site_occupancy\n" : "");
    const double *pos = st_atoms_positions(a);
    const int32_t *num = st_atoms_numbers(a);
    for (int64_t i = 0; i < n; i++) {
        const char *sym = st_element_symbol(num[i]);
        if (!sym) sym = "X";
        double f[3];
        st_cart_to_frac(inv, 1, pos + 3 * i, f);
        if (il >= 0 && suffix[i])
            fprintf(fp, "%s_%lld %s", st_atoms_array_string(a, il, i, 0), (long long)suffix[i], sym);
        else if (il >= 0)
            fprintf(fp, "%s %s", st_atoms_array_string(a, il, i, 0), sym);
        else
            fprintf(fp, "%s%lld %s", sym, (long long)i + 1, sym);
        fprintf(fp, " %.17g %.17g %.17g", f[0], f[1], f[2]);
        if (occ) fprintf(fp, " %.17g", occ[i]);
        fputc('\n', fp);
    }
    free(suffix);
    return ST_OK;
}
