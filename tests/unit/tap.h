/*
 * tap.h — a tiny TAP producer for the unit tests (automake's tap-driver.sh reads it).
 * Every assertion has a name; a failure prints what was expected and what came.
 */
#ifndef CDRWATCH_TAP_H
#define CDRWATCH_TAP_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

static inline int ok_at(int cond, const char *file, int line, const char *name)
{
    tap_n++;
    printf("%sok %d - %s\n", cond ? "" : "not ", tap_n, name);
    if (!cond) {
        tap_failed++;
        printf("#   failed at %s:%d\n", file, line);
    }
    return cond;
}

static inline int is_int_at(long long got, long long want, const char *file, int line, const char *name)
{
    int r = ok_at(got == want, file, line, name);
    if (!r)
        printf("#   got:      %lld\n#   expected: %lld\n", got, want);
    return r;
}

static inline int is_str_at(const char *got, const char *want, const char *file, int line, const char *name)
{
    int r = ok_at(got && want && strcmp(got, want) == 0, file, line, name);
    if (!r)
        printf("#   got:      '%s'\n#   expected: '%s'\n", got ? got : "(null)", want ? want : "(null)");
    return r;
}

#define ok(cond, name) ok_at(!!(cond), __FILE__, __LINE__, name)
#define is_int(got, want, name) is_int_at((long long)(got), (long long)(want), __FILE__, __LINE__, name)
#define is_str(got, want, name) is_str_at(got, want, __FILE__, __LINE__, name)

static inline int done_testing(void)
{
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}

#endif
