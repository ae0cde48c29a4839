/* fuzz_reader.c -- libFuzzer harness for the structure readers.
 *
 * Feeds the input to st_reader_open_string for one format and drains every frame.  The format is
 * FUZZ_FORMAT (a string macro, one binary per format, as tests/fuzz/run.sh builds them) or, when
 * that is not defined, chosen by the first input byte.  For "cif" each frame is also written as
 * P1 and read back: the writer must accept what the reader produced, and a re-read that succeeds
 * must give the same number of atoms (otherwise abort(), which libFuzzer reports).
 * Build: clang -fsanitize=fuzzer,address,undefined (see run.sh). */
#include "strata.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const formats[] = {"cif", "vasprun", "extxyz", "poscar", "lammps-dump"};

static void cif_round_trip(st_ctx *ctx, st_atoms *a)
{
    static char path[64];
    if (!path[0]) snprintf(path, sizeof path, "/tmp/strata_fuzz_%d.cif", (int)getpid());
    st_writer *w = NULL;
    if (st_writer_open(ctx, path, "cif", &w)) return;
    if (st_writer_write(ctx, w, a)) {
        /* Only a frame without a usable cell may be refused, and the reader never makes one. */
        fprintf(stderr, "cif writer refused a frame the reader made: %s\n", st_ctx_message(ctx));
        abort();
    }
    if (st_writer_close(ctx, w)) return;
    st_reader *r = NULL;
    st_atoms *b = NULL;
    if (!st_reader_open(ctx, path, "cif", &r) && !st_reader_next(ctx, r, &b) && b &&
        st_atoms_count(b) != st_atoms_count(a)) {
        fprintf(stderr, "cif round trip: %lld atoms became %lld\n", (long long)st_atoms_count(a),
                (long long)st_atoms_count(b));
        abort();
    }
    st_atoms_destroy(b);
    st_reader_close(r);
    remove(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
#ifdef FUZZ_FORMAT
    const char *fmt = FUZZ_FORMAT;
#else
    if (size < 1) return 0;
    const char *fmt = formats[data[0] % (sizeof formats / sizeof formats[0])];
    data++;
    size--;
#endif
    (void)formats;
    st_ctx *ctx = st_ctx_create();
    st_reader *r = NULL;
    if (st_reader_open_string(ctx, (const char *)data, size, fmt, "fuzz", &r) == ST_OK) {
        for (int i = 0; i < 10000; i++) {
            st_atoms *a = NULL;
            int rc = st_reader_next(ctx, r, &a);
            if (rc) {
                /* Every failure carries a message that names the input. */
                if (!strstr(st_ctx_message(ctx), "fuzz")) {
                    fprintf(stderr, "error without the input's name: %s\n", st_ctx_message(ctx));
                    abort();
                }
                break;
            }
            if (!a) break;
            /* Touch everything the frame claims to hold. */
            int64_t n = st_atoms_count(a);
            volatile double sink = 0;
            const double *pos = st_atoms_positions(a);
            for (int64_t k = 0; k < 3 * n; k++) sink += pos[k];
            for (int j = 0; j < st_atoms_array_count(a); j++)
                if (st_atoms_array_kind(a, j) == ST_KIND_STRING)
                    for (int64_t k = 0; k < n; k++) sink += (double)strlen(st_atoms_array_string(a, j, k, 0));
            (void)sink;
            if (!strcmp(fmt, "cif") && i < 4) cif_round_trip(ctx, a);
            st_atoms_destroy(a);
        }
        st_reader_close(r);
    }
    st_ctx_destroy(ctx);
    return 0;
}
