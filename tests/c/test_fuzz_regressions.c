/* Replays every input in tests/fuzz/regressions/<format>/ (crashes, leaks and timeouts found by
 * tests/fuzz/run.sh, plus hand-written nasty inputs) through st_reader_open_string with that
 * format, draining all frames.  Each must come back with a status -- OK, or an error whose
 * message names the input -- and no crash (run under `make asan` for the memory checks). */
#include "strata.h"
#include "check.h"
#include <dirent.h>
#include <time.h>

static const char *ROOT = "tests/fuzz/regressions";

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

static int replay_dir(const char *format, int *failed)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", ROOT, format);
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t len;
        char *text = slurp(path, &len);
        if (!text) continue;
        n++;
        st_ctx *ctx = st_ctx_create();
        st_reader *r = NULL;
        clock_t t0 = clock();
        int rc = st_reader_open_string(ctx, text, len, format, e->d_name, &r), frames = 0;
        while (!rc && frames < 100000) {
            st_atoms *a = NULL;
            rc = st_reader_next(ctx, r, &a);
            if (!a) break;
            frames++;
            st_atoms_destroy(a);
        }
        st_reader_close(r);
        double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
        int ok = rc == ST_OK || (rc > 0 && rc <= ST_ERR_INTERNAL && rc != ST_ERR_INTERNAL &&
                                 strstr(st_ctx_message(ctx), e->d_name));
        if (!ok || secs > 10) {
            (*failed)++;
            printf("#   %s: status %d after %d frames (%.1f s): %s\n", path, rc, frames, secs,
                   st_ctx_message(ctx));
        }
        st_ctx_destroy(ctx);
        free(text);
    }
    closedir(d);
    return n;
}

TEST(replay_all)
{
    DIR *d = opendir(ROOT);
    if (!d) SKIP("tests/fuzz/regressions not found (run from the repository root)");
    int total = 0, failed = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        int n = replay_dir(e->d_name, &failed);
        printf("#   %s: %d inputs\n", e->d_name, n);
        total += n;
    }
    closedir(d);
    CHECK(total > 0);
    CHECK(failed == 0);
}

int main(void)
{
    RUN(replay_all);
    return DONE();
}
