/* test_event.c — time parsing and formatting, MSISDN normalisation, durations, globs, fields. */
#include <stdlib.h>
#include <apr_general.h>
#include "cdrwatch/config.h"
#include "cdrwatch/event.h"
#include "tap.h"

static cw_time_t parse(const char *s, int *okp)
{
    cw_time_t t = -1;
    *okp = cw_time_parse(s, strlen(s), &t);
    return t;
}

static void test_time(void)
{
    int good;
    char buf[32];
    cw_time_t t;

    t = parse("2021-03-02T03:14:07Z", &good);
    ok(good, "ISO with Z parses");
    is_int(t, 1614654847000LL, "ISO with Z is the right epoch ms");
    t = parse("2021-03-02T03:14:07.5Z", &good);
    is_int(t, 1614654847500LL, "one fraction digit is tenths");
    t = parse("2021-03-02T03:14:07.123456789Z", &good);
    is_int(t, 1614654847123LL, "nanoseconds are cut to ms");
    t = parse("2021-03-02T05:14:07+02:00", &good);
    is_int(t, 1614654847000LL, "+02:00 offset is subtracted");
    t = parse("2021-03-01T22:14:07-0500", &good);
    is_int(t, 1614654847000LL, "-0500 offset without colon");
    t = parse("2021-03-02 03:14:07Z", &good);
    ok(good && t == 1614654847000LL, "a space instead of T is accepted");
    t = parse("1614654847000", &good);
    ok(good && t == 1614654847000LL, "epoch milliseconds");
    t = parse("0", &good);
    ok(good && t == 0, "epoch 0");
    parse("2021-03-02T03:14:07", &good);
    ok(!good, "no offset is refused (local time would shift windows)");
    parse("2021-02-29T00:00:00Z", &good);
    ok(!good, "29 February of a common year is refused");
    t = parse("2024-02-29T00:00:00Z", &good);
    ok(good && t == 1709164800000LL, "29 February of a leap year");
    parse("2021-13-01T00:00:00Z", &good);
    ok(!good, "month 13 is refused");
    parse("2021-03-02T24:00:00Z", &good);
    ok(!good, "hour 24 is refused");
    parse("2021-03-02T03:14:07.Z", &good);
    ok(!good, "an empty fraction is refused");
    parse("2021-03-02T03:14:07Zjunk", &good);
    ok(!good, "trailing bytes are refused");
    parse("1969-12-31T23:59:59Z", &good);
    ok(!good, "before 1970 is refused");
    parse("1234567890123456", &good);
    ok(!good, "epoch ms beyond year 9999 is refused");
    parse("", &good);
    ok(!good, "empty is refused");
    parse("12a", &good);
    ok(!good, "digits with a letter are refused");
    parse("2021-03-02T03:14:07+25:00", &good);
    ok(!good, "offset hour 25 is refused");

    is_str(cw_time_format(1614654847123LL, buf), "2021-03-02T03:14:07.123Z", "format with ms");
    is_str(cw_time_format(0, buf), "1970-01-01T00:00:00.000Z", "format epoch");
    is_str(cw_time_format(253402300799999LL, buf), "9999-12-31T23:59:59.999Z", "format the last ms");
    t = parse("2000-02-29T12:00:00Z", &good);
    is_str(cw_time_format(t, buf), "2000-02-29T12:00:00.000Z", "round trip through a leap day of a century year");
}

static void test_msisdn(void)
{
    cw_msisdn_t m, m2;
    ok(cw_msisdn_normalise("+447700900123", 13, m) && strcmp(m, "447700900123") == 0, "leading + stripped");
    ok(cw_msisdn_normalise("00447700900123", 14, m) && strcmp(m, "447700900123") == 0, "leading 00 stripped");
    ok(cw_msisdn_normalise("+00447700900123", 15, m) && strcmp(m, "447700900123") == 0, "+00: the prefix written twice");
    ok(cw_msisdn_normalise("0000447700900123", 16, m) && strcmp(m, "447700900123") == 0, "00 00 stripped");
    ok(cw_msisdn_normalise("0 0447700900123", 15, m) && strcmp(m, "447700900123") == 0, "00 with a space inside");
    ok(cw_msisdn_normalise("07700900123", 11, m) && strcmp(m, "07700900123") == 0, "a national 0 is kept");
    ok(cw_msisdn_normalise("+00447700900123", 15, m) && cw_msisdn_normalise(m, strlen(m), m2) && strcmp(m, m2) == 0,
       "a normal form normalises to itself");
    ok(!cw_msisdn_normalise("00", 2, m) && !cw_msisdn_normalise("+0000", 5, m), "a prefix alone is refused");
    ok(cw_msisdn_normalise(" +44 7700 900123", 16, m) && strcmp(m, "447700900123") == 0, "spaces stripped");
    ok(cw_msisdn_normalise("447700900123", 12, m) && strcmp(m, "447700900123") == 0, "bare digits kept");
    ok(!cw_msisdn_normalise("+44-7700", 8, m), "a dash is refused");
    ok(!cw_msisdn_normalise("1234567890123456", 16, m), "16 digits are refused (E.164 has 15)");
    ok(cw_msisdn_normalise("123456789012345", 15, m), "15 digits are accepted");
    ok(!cw_msisdn_normalise("+", 1, m), "a lone + is refused");
    ok(!cw_msisdn_normalise("", 0, m), "empty is refused");
}

static void test_duration(void)
{
    cw_time_t d;
    char buf[32];
    ok(cw_duration_parse("5m", &d) && d == 300000, "5m");
    ok(cw_duration_parse("1h", &d) && d == 3600000, "1h");
    ok(cw_duration_parse("7d", &d) && d == 604800000, "7d");
    ok(cw_duration_parse("250ms", &d) && d == 250, "250ms");
    ok(!cw_duration_parse("1 h", &d), "a space is refused");
    ok(!cw_duration_parse("h", &d), "no number is refused");
    ok(!cw_duration_parse("12", &d), "no unit is refused");
    ok(!cw_duration_parse("-1h", &d), "negative is refused");
    is_str(cw_duration_format(90000, buf), "90s", "90 s stays seconds");
    is_str(cw_duration_format(7200000, buf), "2h", "2 h");
    is_str(cw_duration_format(604800000, buf), "1w", "a week");
    is_str(cw_duration_format(1500, buf), "1500ms", "ms when not whole seconds");
}

static void test_glob_and_fields(void)
{
    ok(cw_glob_match("*cdr*", "mediation.CDR_voice"), "glob is case-insensitive");
    ok(!cw_glob_match("*cdr*", "mediation.subscriber"), "glob misses");
    ok(cw_glob_match("SELECT", "select"), "exact pattern, other case");
    ok(cw_glob_match("a?c", "abc") && !cw_glob_match("a?c", "ac"), "? is one character");
    ok(cw_glob_match("*", ""), "* matches empty");
    ok(!cw_glob_match("", "x"), "empty pattern matches only empty");
    ok(cw_glob_match("*a*b*c", "xxaxxbxxbxc"), "backtracking over several stars");
    is_int(cw_field_lookup(CW_STREAM_AUDIT, "PRINCIPAL", 9), CW_F_PRINCIPAL, "field lookup ignores case");
    is_int(cw_field_lookup(CW_STREAM_AUDIT, "start_time", 10), CW_F_NONE, "a CDR field is not an audit field");
    is_int(cw_field_lookup(CW_STREAM_CDR, "imsi", 4), CW_F_IMSI, "imsi is a CDR field");
    ok(cw_field_required(CW_F_TS) && !cw_field_required(CW_F_ROWS), "required flags");
}

/* ---- the field table against doc/formats.md and the default configuration ---- */

#define DOC_MAX (256u << 10)

/* The rows of the field tables of doc/formats.md §1.1 (CDR) or §1.2 (audit): the text from the
 * section's heading to the next heading. */
static const char *doc_section(const char *doc, cw_stream_t s, size_t *len)
{
    const char *start = strstr(doc, s == CW_STREAM_CDR ? "\n### 1.1 " : "\n### 1.2 "), *end;
    if (!start)
        return NULL;
    end = strstr(start + 1, "\n### ");
    *len = end ? (size_t)(end - start) : strlen(start);
    return start;
}

/* The row of a table in sec whose first cell names field `name` ("| imsi, imei, cell_id |" names
 * three); NULL if none. */
static const char *doc_row(const char *sec, size_t seclen, const char *name)
{
    size_t n = strlen(name);
    for (const char *row = sec; row && row < sec + seclen; row = strchr(row + 1, '\n')) {
        const char *p = row + 1, *cell_end;
        if (strncmp(p, "| ", 2) != 0)
            continue;
        p += 2;
        cell_end = strstr(p, " |");
        while (p && p < cell_end) {
            const char *sep = strstr(p, ", ");
            size_t len = (size_t)((sep && sep < cell_end ? sep : cell_end) - p);
            if (len == n && strncmp(p, name, n) == 0)
                return row + 1;
            p = sep && sep < cell_end ? sep + 2 : NULL;
        }
    }
    return NULL;
}

/* Each field of the table has its row in doc/formats.md, in its stream's section, saying
 * whether it is required and, for text, its limit in bytes. */
static void test_fields_documented(void)
{
    const char *top = getenv("top_srcdir");
    char path[4096], *doc = malloc(DOC_MAX + 1), label[256];
    FILE *f;
    size_t n = 0;
    int missing = 0;

    snprintf(path, sizeof path, "%s/doc/formats.md", top ? top : ".");
    f = fopen(path, "r");
    ok(f != NULL, "doc/formats.md opens (top_srcdir is set by the Makefile)");
    if (f) {
        n = fread(doc, 1, DOC_MAX, f);
        fclose(f);
    }
    doc[n] = '\0';
    for (int fld = 0; fld < CW_F_COUNT; fld++) {
        size_t seclen = 0;
        const char *name = cw_field_name((cw_field_t)fld);
        const char *sec = doc_section(doc, cw_field_stream((cw_field_t)fld), &seclen);
        const char *row = sec ? doc_row(sec, seclen, name) : NULL;
        const char *eol = row ? strchr(row, '\n') : NULL;
        char text[512] = "", want[64];
        if (row)
            snprintf(text, sizeof text, "%.*s", (int)(eol ? eol - row : (long)strlen(row)), row);
        snprintf(label, sizeof label, "doc/formats.md has a row for the %s field %s",
                 cw_stream_name(cw_field_stream((cw_field_t)fld)), name);
        missing += !ok(row != NULL, label);
        snprintf(label, sizeof label, "doc/formats.md: %s is %srequired", name,
                 cw_field_required((cw_field_t)fld) ? "" : "not ");
        ok(strstr(text, cw_field_required((cw_field_t)fld) ? " | yes | " : " | no ") != NULL, label);
        if (cw_field_limit((cw_field_t)fld)) {
            snprintf(want, sizeof want, " | %zu bytes", cw_field_limit((cw_field_t)fld));
            snprintf(label, sizeof label, "doc/formats.md: %s holds at most %zu bytes", name,
                     cw_field_limit((cw_field_t)fld));
            ok(strstr(text, want) != NULL, label);
        }
    }
    is_int(missing, 0, "doc/formats.md names every field of the table");
    free(doc);
}

/* The default csv_columns of each input are its stream's fields in the table's order. */
static void test_default_columns(void)
{
    apr_pool_t *pool;
    cw_config_t *cfg = NULL;
    char err[512];
    apr_pool_create(&pool, NULL);
    ok(cw_config_load(pool, NULL, &cfg, err, sizeof err) == CW_OK, "the built-in configuration loads");
    for (int s = 0; cfg && s < CW_STREAM_COUNT; s++) {
        int first = s == CW_STREAM_CDR ? CW_FIRST_CDR_FIELD : CW_FIRST_AUDIT_FIELD;
        int last = s == CW_STREAM_CDR ? CW_LAST_CDR_FIELD : CW_LAST_AUDIT_FIELD;
        bool same = cfg->input[s].n_columns == last - first + 1;
        for (int i = 0; same && i < cfg->input[s].n_columns; i++)
            same = cfg->input[s].columns[i] == (cw_field_t)(first + i);
        snprintf(err, sizeof err, "inputs.%s.csv_columns defaults to every %s field in the table's order",
                 cw_stream_name((cw_stream_t)s), cw_stream_name((cw_stream_t)s));
        ok(same, err);
    }
    apr_pool_destroy(pool);
}

int main(void)
{
    apr_initialize();
    test_fields_documented();
    test_default_columns();
    test_time();
    test_msisdn();
    test_duration();
    test_glob_and_fields();
    apr_terminate();
    return done_testing();
}
