/* tricks.h — bytes a thief can hide in a statement to break its record (invalid, overlong or
 * cut UTF-8, surrogates, control characters, NUL), with what the decoders must make of them:
 * the repaired text and the damage flags. Shared by test_decode and test_decode_native, so every
 * format is held to the same table. */
#ifndef CDRWATCH_TESTS_TRICKS_H
#define CDRWATCH_TESTS_TRICKS_H
#include <stdio.h>
#include <string.h>
#include "cdrwatch/decode.h"

/* One trick hidden in a statement: its bytes, what the statement becomes, the damage. */
typedef struct {
    const char *name;
    const char *bytes;
    size_t len;
    const char *repaired;
    unsigned damage;
} trick_t;

#define FFFD "\xef\xbf\xbd"
static const trick_t tricks[] = {
    {"an invalid byte", "\xff", 1, FFFD, CW_DAMAGE_BAD_UTF8},
    {"a stray continuation byte", "\x80", 1, FFFD, CW_DAMAGE_BAD_UTF8},
    {"an overlong '/' (C0 AF)", "\xc0\xaf", 2, FFFD, CW_DAMAGE_OVERLONG_UTF8},
    {"an overlong NUL (C0 80)", "\xc0\x80", 2, FFFD, CW_DAMAGE_OVERLONG_UTF8},
    {"a three-byte overlong (E0 80 AF)", "\xe0\x80\xaf", 3, FFFD, CW_DAMAGE_OVERLONG_UTF8},
    {"a four-byte overlong (F0 80 80 AF)", "\xf0\x80\x80\xaf", 4, FFFD, CW_DAMAGE_OVERLONG_UTF8},
    {"a surrogate (ED A0 80)", "\xed\xa0\x80", 3, FFFD, CW_DAMAGE_BAD_UTF8},
    {"a cut sequence, then a byte", "\xe2\x82x", 3, FFFD "x", CW_DAMAGE_BAD_UTF8},
    {"a lead byte at the end of the field", "\xf0", 1, FFFD, CW_DAMAGE_BAD_UTF8},
    {"above U+10FFFF", "\xf4\x90\x80\x80", 4, FFFD FFFD FFFD FFFD, CW_DAMAGE_BAD_UTF8},
    {"a control character (ESC)", "\x1b[2J", 4, "\x1b[2J", CW_DAMAGE_CONTROL},
    {"a C1 control (CSI)", "\xc2\x9b", 2, "\xc2\x9b", CW_DAMAGE_CONTROL},
    {"a NUL byte", "a\0b", 3, "a" FFFD "b", CW_DAMAGE_NUL},
    {"valid UTF-8 and tabs", "\xc3\xa9\t\xe2\x82\xac", 6, "\xc3\xa9\t\xe2\x82\xac", 0},
};
#define N_TRICKS (sizeof tricks / sizeof tricks[0])

/* The statement "SELECT * FROM mediation.cdr_voice /<star> TRICK <star>/" into out; returns its
 * length (it may hold a NUL) and points *want at the repaired statement the decoders must give. */
static inline size_t trick_statement(const trick_t *t, char *out, const char **want)
{
    static char expect[256];
    size_t n = (size_t)sprintf(out, "SELECT * FROM mediation.cdr_voice /* ");
    memcpy(out + n, t->bytes, t->len);
    n += t->len;
    memcpy(out + n, " */", 3);
    snprintf(expect, sizeof expect, "SELECT * FROM mediation.cdr_voice /* %s */", t->repaired);
    *want = expect;
    return n + 3;
}

/* The record decoded, its rows kept (when the format has rows: 900000), the statement repaired,
 * the damage flagged. The caller includes tap.h. */
static inline void check_trick(const cw_event_t *ev, cw_decode_result_t r, const trick_t *t, const char *want,
                               const char *format)
{
    char name[200];
    snprintf(name, sizeof name, "%s in a %s statement: decoded", t->name, format);
    is_int(r.reason, CW_DEC_OK, name);
    if (cw_event_has(ev, CW_F_ROWS)) {
        snprintf(name, sizeof name, "%s in a %s statement: the rows are kept", t->name, format);
        is_int(ev->u.audit.rows, 900000, name);
    }
    snprintf(name, sizeof name, "%s in a %s statement: repaired", t->name, format);
    is_str(ev->u.audit.statement, want, name);
    snprintf(name, sizeof name, "%s in a %s statement: flagged", t->name, format);
    is_int(ev->damage, t->damage, name);
}

#endif
