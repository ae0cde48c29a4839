/* check.h -- the tiny TAP harness for C unit tests.  Each test program prints "ok N - name" or
 * "not ok N - name" lines and a plan; tests/run.sh counts them.  Usage:
 *     TEST(name) { CHECK(x == 1); CHECK_NEAR(a, b, 1e-12); }
 *     int main(void) { RUN(name); return DONE(); }
 * SHARED(path) gives ../shared/data/<path> or NULL (a test then calls SKIP with the reason). */
#ifndef STRATA_CHECK_H
#define STRATA_CHECK_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int check_n, check_failed_total, check_cur_failed, check_skipped;
static const char *check_skip_reason;

#define CHECK(cond) do { if (!(cond)) { check_cur_failed++; \
    fprintf(stdout, "#   %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); } } while (0)
#define CHECK_MSG(cond, ...) do { if (!(cond)) { check_cur_failed++; \
    fprintf(stdout, "#   %s:%d: ", __FILE__, __LINE__); fprintf(stdout, __VA_ARGS__); \
    fputc('\n', stdout); } } while (0)
#define CHECK_NEAR(a, b, tol) do { double check_a_ = (a), check_b_ = (b); \
    if (!(fabs(check_a_ - check_b_) <= (tol))) { check_cur_failed++; \
    fprintf(stdout, "#   %s:%d: %s = %.17g, expected %s = %.17g (tol %g)\n", __FILE__, __LINE__, \
            #a, check_a_, #b, check_b_, (double)(tol)); } } while (0)
#define CHECK_OK(ctx, expr) do { int check_rc_ = (expr); if (check_rc_) { check_cur_failed++; \
    fprintf(stdout, "#   %s:%d: %s returned %d: %s\n", __FILE__, __LINE__, #expr, check_rc_, \
            st_ctx_message(ctx)); } } while (0)
#define SKIP(reason) do { check_skip_reason = (reason); return; } while (0)

#define TEST(name) static void test_##name(void)
#define RUN(name) do { check_cur_failed = 0; check_skip_reason = NULL; test_##name(); \
    check_n++; if (check_skip_reason) { check_skipped++; \
      printf("ok %d - %s # SKIP %s\n", check_n, #name, check_skip_reason); } \
    else if (check_cur_failed) { check_failed_total++; printf("not ok %d - %s\n", check_n, #name); } \
    else { printf("ok %d - %s\n", check_n, #name); } fflush(stdout); } while (0)
#define DONE() (printf("1..%d\n", check_n), check_failed_total ? 1 : 0)

/* Path under ../shared/data (relative to the repository root, where tests run), or NULL. */
static inline const char *SHARED(const char *rel)
{
    static char buf[8][1024];
    static int k;
    const char *root = getenv("STRATA_SHARED");
    if (!root) root = "../shared";
    char *b = buf[k++ & 7];
    snprintf(b, 1024, "%s/data/%s", root, rel);
    return access(b, R_OK) == 0 ? b : NULL;
}

/* A path inside one scratch folder per test program (/tmp/strata-test-XXXXXX, made on first use);
 * the last four results stay valid.  NULL if the folder cannot be made. */
static char check_tmpdir[64];
static inline const char *tmp_path(const char *name)
{
    static char buf[4][256];
    static int k;
    if (!check_tmpdir[0]) {
        strcpy(check_tmpdir, "/tmp/strata-test-XXXXXX");
        if (!mkdtemp(check_tmpdir)) return NULL;
    }
    char *b = buf[k++ & 3];
    snprintf(b, 256, "%s/%s", check_tmpdir, name);
    return b;
}
#endif
