/* INCRBYFLOAT and HINCRBYFLOAT compute in C's long double in Redis, and the
 * replies show it (0.1 + 0.2 is "0.3" there, not 0.30000000000000004).
 * Rust has no long double, so these three functions do that arithmetic the
 * same way: parse like string2ld, add, and format like ld2string(HUMAN). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FK_MAX_LD_CHARS 5120

/* 1 if s[0..len) is a valid long double in Redis's sense. */
static int fk_parse(const char *s, size_t len, long double *out) {
    char buf[FK_MAX_LD_CHARS];
    char *end;
    if (len == 0 || len >= sizeof(buf)) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    long double v = strtold(buf, &end);
    if (isspace((unsigned char)buf[0]) || *end != '\0' || (size_t)(end - buf) != len ||
        (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || fpclassify(v) == FP_ZERO)) ||
        errno == EINVAL || isnan(v))
        return 0;
    *out = v;
    return 1;
}

/* Adds two decimal strings as long doubles and writes the human form.
 * Returns the length written, -1 if an operand is not a number (which one
 * is in *bad: 0 current, 1 increment), -2 if the sum is NaN or infinite. */
int fk_ld_incr(const char *cur, size_t cur_len, const char *incr, size_t incr_len,
               char *out, size_t out_cap, int *bad) {
    long double a = 0, b;
    if (cur && !fk_parse(cur, cur_len, &a)) { *bad = 0; return -1; }
    if (!fk_parse(incr, incr_len, &b)) { *bad = 1; return -1; }
    long double v = a + b;
    if (isnan(v) || isinf(v)) return -2;
    int l = snprintf(out, out_cap, "%.17Lf", v);
    if (l < 0 || (size_t)l + 1 > out_cap) return -2;
    if (strchr(out, '.') != NULL) {
        char *p = out + l - 1;
        while (*p == '0') { p--; l--; }
        if (*p == '.') l--;
    }
    if (l == 2 && out[0] == '-' && out[1] == '0') { out[0] = '0'; l = 1; }
    return l;
}
