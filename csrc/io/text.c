/* text.c -- small text helpers shared by the text formats (extxyz, POSCAR, LAMMPS): splitting
 * on blanks, strict number parsing (no trailing garbage, overflow is an error), booleans, element
 * symbols, the shortest round-trip representation of a double, and quoting bad tokens for messages. */
#include "format.h"
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Split s in place on blanks; stores up to max token pointers, returns the number of tokens. */
int st_txt_split(char *s, char **tok, int max)
{
    int n = 0;
    for (;;) {
        while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\v' || *s == '\f') s++;
        if (!*s) return n;
        if (n < max) tok[n] = s;
        n++;
        while (*s && *s != ' ' && *s != '\t' && *s != '\r' && *s != '\v' && *s != '\f') s++;
        if (!*s) return n;
        *s++ = 0;
    }
}

/* Decimal floating-point syntax: [+-] digits [. digits] [(e|E) [+-] digits], at least one digit
 * in the mantissa.  Stricter than strtod, which also takes hex floats, "1e", leading blanks. */
static int is_decimal(const char *p)
{
    int digits = 0;
    if (*p == '+' || *p == '-') p++;
    while (*p >= '0' && *p <= '9') p++, digits++;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') p++, digits++;
    }
    if (!digits) return 0;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-') p++;
        if (!(*p >= '0' && *p <= '9')) return 0;
        while (*p >= '0' && *p <= '9') p++;
    }
    return *p == 0;
}

static int is_nonfinite_word(const char *p)
{
    if (*p == '+' || *p == '-') p++;
    return !strcasecmp(p, "nan") || !strcasecmp(p, "inf") || !strcasecmp(p, "infinity");
}

/* TXT_OK, TXT_BAD (not a number) or TXT_RANGE (magnitude overflows a double, e.g. 1e400).
 * nan/inf spelled out are numbers only when allow_nonfinite. Underflow to 0/denormal is fine. */
int st_txt_real(const char *t, int allow_nonfinite, double *out)
{
    if (is_decimal(t)) {
        double v = strtod(t, NULL);
        if (isinf(v)) return TXT_RANGE;
        *out = v;
        return TXT_OK;
    }
    if (allow_nonfinite && is_nonfinite_word(t)) {
        *out = strtod(t, NULL);
        return TXT_OK;
    }
    return TXT_BAD;
}

int st_txt_int(const char *t, int64_t *out)
{
    const char *p = t;
    if (*p == '+' || *p == '-') p++;
    if (!*p) return TXT_BAD;
    for (; *p; p++)
        if (*p < '0' || *p > '9') return TXT_BAD;
    errno = 0;
    long long v = strtoll(t, NULL, 10);
    if (errno == ERANGE) return TXT_RANGE;
    *out = v;
    return TXT_OK;
}

/* T/F/True/False as ASE's parse_bool. Returns 1 and sets *out on success. */
int st_txt_bool(const char *t, int *out)
{
    if (!strcmp(t, "T") || !strcmp(t, "True")) return *out = 1, 1;
    if (!strcmp(t, "F") || !strcmp(t, "False")) return *out = 0, 1;
    return 0;
}

/* Shortest of %.15g, %.16g, %.17g that reads back to the same double (17 always does). */
void st_txt_real_str(double v, char *buf)
{
    if (isnan(v)) {
        strcpy(buf, "nan");
        return;
    }
    if (isinf(v)) {
        strcpy(buf, v > 0 ? "inf" : "-inf");
        return;
    }
    for (int p = 15; p <= 17; p++) {
        snprintf(buf, 32, "%.*g", p, v);
        if (p == 17 || strtod(buf, NULL) == v) return;
    }
}

/* Element symbol -> Z: the exact spelling, else capitalised as ASE does ("CU", "cu" -> "Cu").
 * -1 if unknown. */
int st_txt_element(const char *t)
{
    int z = st_element_number(t);
    if (z >= 0 || !t[0] || (t[1] && t[2])) return z;
    char c[3] = {(char)toupper((unsigned char)t[0]), (char)(t[1] ? tolower((unsigned char)t[1]) : 0), 0};
    return st_element_number(c);
}

/* Total input size in bytes if known (regular file or memory), else -1.  Used to refuse atom
 * counts that cannot fit in what is left of the input before allocating anything. */
int64_t st_txt_size(st_source *src)
{
    if (!src->fp) return (int64_t)src->memlen;
    struct stat st;
    if (fstat(fileno(src->fp), &st) == 0 && S_ISREG(st.st_mode)) return (int64_t)st.st_size;
    return -1;
}

/* A token for an error message: at most 40 characters, non-printing bytes as '?'. buf >= 48. */
const char *st_txt_show(const char *t, char *buf)
{
    size_t i = 0;
    for (; t[i] && i < 40; i++) buf[i] = isprint((unsigned char)t[i]) ? t[i] : '?';
    if (t[i]) buf[i++] = '.', buf[i++] = '.', buf[i++] = '.';
    buf[i] = 0;
    return buf;
}

/* Read the next line, which must exist: at the end of the input the message names the line that
 * was expected (`what`, e.g. "the number of atoms"). */
int st_txt_need_line(st_ctx *ctx, st_source *src, const char *what)
{
    int rc = st_src_getline(ctx, src);
    if (rc < 0) return -rc;
    if (rc == 0)
        return st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: file ends; expected %s", src->name,
                       (long long)src->lineno + 1, what);
    return ST_OK;
}
