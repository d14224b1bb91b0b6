/*
 * test_kafka_decode.c — cw_decode_message, the message decoder of `run` and `demo` (decode.c):
 * JSON or headerless CSV, with a comma-splitting fast path for CSV records without quotes or
 * line breaks, and cw_csv_decode_line, the same fast path for replay's lines. Whatever the path,
 * the result must be the one libcsv gives (same reason, same field, same event): checked on
 * hand-written cases and on random messages and lines.
 */
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include "cdrwatch/config.h"
#include "cdrwatch/decode.h"
#include "tap.h"

static cw_config_t *cfg;
static cw_csv_t *csv[CW_STREAM_COUNT];  /* the reference's */
static cw_csv_t *fast[CW_STREAM_COUNT]; /* the decoders under test's */
static int lines_taken;                 /* lines replay's fast path decoded */

static cw_decode_result_t reference_csv(cw_stream_t s, const char *b, size_t len, cw_event_t *ev);

/* The reference: libcsv alone, as decode.c's CSV reader uses it. */
static cw_decode_result_t reference(cw_stream_t s, const char *b, size_t len, cw_event_t *ev)
{
    size_t i = 0;
    while (i < len && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n'))
        i++;
    if (i == len) {
        cw_event_reset(ev, s);
        return (cw_decode_result_t){CW_DEC_MISSING_FIELD, CW_F_NONE};
    }
    if (b[i] == '{')
        return cw_decode_json(s, b, len, ev);
    return reference_csv(s, b, len, ev);
}

/* libcsv alone on one record (a line end added if it has none). */
static cw_decode_result_t reference_csv(cw_stream_t s, const char *b, size_t len, cw_event_t *ev)
{
    int rc;
    cw_csv_reset(csv[s]);
    rc = cw_csv_push(csv[s], b, len);
    if (rc == 0 && b[len - 1] != '\n')
        rc = cw_csv_push(csv[s], "\n", 1);
    if (rc == 0)
        rc = cw_csv_finish(csv[s]);
    if (rc != 1) {
        cw_csv_reset(csv[s]);
        cw_event_reset(ev, s);
        return (cw_decode_result_t){CW_DEC_BAD_CSV, CW_F_NONE};
    }
    cw_decode_result_t r = cw_csv_decode(csv[s], ev);
    cw_csv_reset(csv[s]);
    return r;
}

/* Same decoded record: time, fields present, every field's value. */
static bool same_event(const cw_event_t *a, const cw_event_t *b)
{
    int first = a->stream == CW_STREAM_CDR ? CW_FIRST_CDR_FIELD : CW_FIRST_AUDIT_FIELD;
    int last = a->stream == CW_STREAM_CDR ? CW_LAST_CDR_FIELD : CW_LAST_AUDIT_FIELD;
    if (a->stream != b->stream || a->ts != b->ts || a->present != b->present)
        return false;
    for (int f = first; f <= last; f++)
        if (strcmp(cw_event_str(a, (cw_field_t)f), cw_event_str(b, (cw_field_t)f)) != 0 ||
            cw_event_num(a, (cw_field_t)f) != cw_event_num(b, (cw_field_t)f))
            return false;
    if (a->stream == CW_STREAM_AUDIT) {
        if (a->u.audit.n_subscribers != b->u.audit.n_subscribers || a->u.audit.failed != b->u.audit.failed)
            return false;
        for (int i = 0; i < a->u.audit.n_subscribers; i++)
            if (strcmp(a->u.audit.subscribers[i], b->u.audit.subscribers[i]) != 0)
                return false;
    } else if (a->u.cdr.record_type != b->u.cdr.record_type) {
        return false;
    }
    return true;
}

static cw_event_t ev2; /* what the decoder under test made of the last message */

/* cw_decode_json_encode (demo's loader for native audit formats) gives JSON that decodes back
 * into the same record. */
static bool round_trips(const cw_event_t *ev)
{
    static char buf[1 << 17];
    static cw_event_t back;
    size_t n = cw_decode_json_encode(ev, buf, sizeof buf);
    return n > 0 && cw_decode_json(ev->stream, buf, n, &back).reason == CW_DEC_OK && same_event(ev, &back);
}

static bool agrees(cw_stream_t s, const char *b, size_t len, cw_decode_result_t *got)
{
    static cw_event_t ev1;
    cw_decode_result_t want = reference(s, b, len, &ev1);
    *got = cw_decode_message(fast[s], b, len, &ev2);
    if (got->reason != want.reason || got->field != want.field)
        return false;
    return got->reason != CW_DEC_OK || same_event(&ev1, &ev2);
}

/* replay's fast path (cw_csv_decode_line): a line it takes must decode as libcsv decodes it;
 * a line it leaves is pushed to libcsv by replay. */
static bool line_agrees(cw_stream_t s, const char *b, size_t len, int *taken)
{
    static cw_event_t ev1, line_ev;
    cw_decode_result_t want, got;
    if (!cw_csv_decode_line(fast[s], b, len, &line_ev, &got))
        return true;
    (*taken)++;
    want = reference_csv(s, b, len, &ev1);
    if (got.reason != want.reason || got.field != want.field)
        return false;
    return got.reason != CW_DEC_OK || same_event(&ev1, &line_ev);
}

static void check(cw_stream_t s, const char *msg, cw_reason_t expect, const char *name)
{
    cw_decode_result_t got;
    char label[512];
    snprintf(label, sizeof label, "%s: the same as libcsv", name);
    ok(agrees(s, msg, strlen(msg), &got), label);
    snprintf(label, sizeof label, "%s: %s", name, cw_reason_name(expect));
    is_str(cw_reason_name(got.reason), cw_reason_name(expect), label);
    if (got.reason == CW_DEC_OK) {
        snprintf(label, sizeof label, "%s: encoded as JSON, decodes back the same", name);
        ok(round_trips(&ev2), label);
    }
    snprintf(label, sizeof label, "%s: as a replay line, the same as libcsv", name);
    ok(line_agrees(s, msg, strlen(msg), &lines_taken), label);
}

/* A message over 1 MiB (a broker set to carry them): a 3 MiB comment in a statement is cut, the
 * record decoded and flagged truncated, in JSON and in CSV; one whose cut would cross fields is
 * oversize_line. */
static void test_long_messages(void)
{
    static const struct {
        const char *head, *mid, *tail;
        cw_reason_t want;
        const char *name;
    } cases[] = {
        {"{\"ts\":\"2026-03-02T10:00:02Z\",\"principal\":\"thief\",\"action\":\"SELECT\",\"rows\":900000,"
         "\"statement\":\"select * /* ", "", " */\"}", CW_DEC_OK, "JSON, a 3 MiB comment"},
        {"2026-03-02T10:00:02Z,thief,SELECT,ws1,psql,mediation,mediation.cdr_voice,900000,,\"select * /* ", "",
         " */\",,ok,s1", CW_DEC_OK, "CSV, a 3 MiB comment in a quoted field"},
        {"{\"ts\":\"2026-03-02T10:00:02Z\",\"principal\":\"thief\",\"action\":\"SELECT\",\"rows\":900000,"
         "\"statement\":\"select * /* ", "\",\"object\":\"", " */\"}", CW_DEC_UNCUT, "JSON, two long values"},
        {"2026-03-02T10:00:02Z,thief,SELECT,ws1,psql,mediation,mediation.cdr_voice,900000,,\"select * /* ", "\",\"",
         " */\",ok,s1", CW_DEC_UNCUT, "CSV, two long values"},
    };
    size_t big = 3u << 20;
    char *msg = malloc(big + 4096), name[200];
    cw_event_t ev;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = strlen(cases[i].head), m = strlen(cases[i].mid);
        cw_decode_result_t r;
        memcpy(msg, cases[i].head, n);
        memset(msg + n, 'A', big);
        memcpy(msg + n + big / 2, cases[i].mid, m);
        n += big;
        memcpy(msg + n, cases[i].tail, strlen(cases[i].tail));
        n += strlen(cases[i].tail);
        r = cw_decode_message(fast[CW_STREAM_AUDIT], msg, n, &ev);
        snprintf(name, sizeof name, "%s: %s", cases[i].name, cw_reason_name(cases[i].want));
        is_int(r.reason, cases[i].want, name);
        if (cases[i].want != CW_DEC_OK)
            continue;
        snprintf(name, sizeof name, "%s: flagged truncated, rows kept, head and tail kept", cases[i].name);
        ok((ev.damage & CW_DAMAGE_TRUNCATED) && ev.u.audit.rows == 900000 &&
               !strncmp(ev.u.audit.statement, "select * /* AAA", 15) &&
               !strcmp(ev.u.audit.statement + strlen(ev.u.audit.statement) - 6, "AAA */"),
           name);
    }
    free(msg);
}

int main(void)
{
    apr_pool_t *pool;
    char err[256];
    static const char cdr[] = "2026-03-02T00:00:14.963Z,voice,+447967839659,+447987130547,0,r1,"
                              "234153410456081,351713111134493,234-15-1202-13293,,";
    static const char alphabet[] = "0123456789,,,,\"\r\n +-:TZ.;avoicesmsdataSELECT";
    unsigned seed = 1;
    int disagree = 0, plain = 0, line_disagree = 0, random_taken = 0, decoded = 0, not_round = 0;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    cw_decode_init();
    cw_config_load(pool, NULL, &cfg, err, sizeof err);
    for (int s = 0; s < CW_STREAM_COUNT; s++) {
        cw_csv_create(pool, (cw_stream_t)s, &csv[s]);
        cw_csv_set_columns(csv[s], cfg->input[s].columns, cfg->input[s].n_columns);
        cw_csv_create(pool, (cw_stream_t)s, &fast[s]);
        cw_csv_set_columns(fast[s], cfg->input[s].columns, cfg->input[s].n_columns);
    }

    check(CW_STREAM_CDR, cdr, CW_DEC_OK, "a CDR");
    check(CW_STREAM_CDR, "2026-03-02T00:00:14.963Z,voice,+447967839659,+447987130547,0,r1,,,,,\n", CW_DEC_OK,
          "with a newline");
    check(CW_STREAM_CDR, "2026-03-02T00:00:14.963Z,voice,+447967839659,+447987130547,0,r1,,,,,\r\n", CW_DEC_OK,
          "with CR LF");
    check(CW_STREAM_CDR, "2026-03-02T00:00:14.963Z,voice,+447967839659,,,,,,,,,", CW_DEC_CSV_COLUMNS,
          "a trailing comma: one column too many");
    check(CW_STREAM_CDR, "2026-03-02T00:00:14.963Z,voice,+447967839659", CW_DEC_CSV_COLUMNS, "too few columns");
    check(CW_STREAM_CDR, "2026-03-02T00:00:14.963Z,voice,not-a-number,,,,,,,,", CW_DEC_BAD_MSISDN, "a bad MSISDN");
    check(CW_STREAM_CDR, "2026-03-02T00:00:14.963Z,fax,+447967839659,,,,,,,,", CW_DEC_BAD_VALUE, "a bad record type");
    check(CW_STREAM_CDR, "2026-03-02T00:00:14.963Z, voice,+447967839659,,,,,,,,", CW_DEC_BAD_VALUE,
          "a space is part of the field");
    check(CW_STREAM_CDR, "yesterday,voice,+447967839659,,,,,,,,", CW_DEC_BAD_TIME, "a bad time");
    check(CW_STREAM_CDR, "2026-03-02T00:00:14.963Z,voice,+447967839659,,-5,,,,,,", CW_DEC_BAD_NUMBER, "a negative duration");
    check(CW_STREAM_CDR, ",,,,,,,,,,", CW_DEC_MISSING_FIELD, "only commas");
    check(CW_STREAM_CDR, "2026-03-02T00:00:14.963Z,voice,\"+44 7967,839659\",,,,,,,,", CW_DEC_BAD_MSISDN,
          "a quoted field with a comma (libcsv's path)");
    check(CW_STREAM_CDR, "2026-03-02T00:00:14.963Z,\"voice\",+447967839659,,,,,,,,", CW_DEC_OK, "a quoted field");
    check(CW_STREAM_CDR, "2026-03-02T00:00:14.963Z,\"voice,+447967839659,,,,,,,,", CW_DEC_BAD_CSV,
          "an unterminated quote");
    check(CW_STREAM_CDR, "2026-03-02T00:00:14.963Z,voice,+447967839659,,,,,,,,\n2026-03-02T00:00:15Z,sms",
          CW_DEC_CSV_COLUMNS, "two lines in one message");
    check(CW_STREAM_CDR, "2026-03-02T00:00:14.963Z,vo\rice,+447967839659,,,,,,,,", CW_DEC_BAD_VALUE,
          "a CR inside a field (libcsv's path)");
    check(CW_STREAM_CDR, "   ", CW_DEC_MISSING_FIELD, "a blank message");
    check(CW_STREAM_AUDIT, "2026-03-02T10:00:02Z,carol,SELECT,ws1,psql,mediation,mediation.cdr_voice,5,,select 1,"
                           "+447900000001;+447900000002,ok,s1",
          CW_DEC_OK, "an audit record with subscribers");
    check(CW_STREAM_AUDIT, "2026-03-02T10:00:02Z,carol,SELECT,ws1,psql,mediation,mediation.cdr_voice,5,,select 1,,fail,s1",
          CW_DEC_OK, "a failed statement");
    check(CW_STREAM_AUDIT, "{\"ts\":\"2026-03-02T10:00:02Z\",\"principal\":\"carol\",\"action\":\"SELECT\"}", CW_DEC_OK,
          "JSON");
    test_long_messages();
    check(CW_STREAM_AUDIT, " {\"ts\":\"2026-03-02T10:00:02Z\"", CW_DEC_BAD_JSON, "broken JSON after a blank");

    /* random messages: mostly near-CSV, with quotes, CR and LF now and then */
    for (int i = 0; i < 50000; i++) {
        char msg[200];
        size_t len;
        cw_decode_result_t got;
        cw_stream_t s = i % 2 ? CW_STREAM_AUDIT : CW_STREAM_CDR;
        seed = seed * 1103515245 + 12345;
        if (seed >> 28 < 12) { /* a real record with a few bytes changed */
            memcpy(msg, cdr, sizeof cdr);
            len = sizeof cdr - 1;
            s = CW_STREAM_CDR;
            for (int k = 0; k < (int)(seed >> 20) % 4; k++) {
                seed = seed * 1103515245 + 12345;
                msg[(seed >> 8) % len] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
            }
        } else {
            len = (seed >> 8) % 80;
            for (size_t k = 0; k < len; k++) {
                seed = seed * 1103515245 + 12345;
                msg[k] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
            }
        }
        msg[len] = '\0';
        if (!memchr(msg, '"', len) && !memchr(msg, '\r', len))
            plain++;
        if (!agrees(s, msg, len, &got)) {
            if (disagree++ < 5)
                printf("#   differs: %s '%s'\n", cw_stream_name(s), msg);
        }
        if (got.reason == CW_DEC_OK) {
            decoded++;
            not_round += !round_trips(&ev2);
        }
        if (!line_agrees(s, msg, len, &random_taken)) {
            if (line_disagree++ < 5)
                printf("#   differs as a line: %s '%s'\n", cw_stream_name(s), msg);
        }
    }
    is_int(disagree, 0, "50000 random messages: the same result as libcsv");
    ok(plain > 10000, "many of them take the fast path");
    is_int(not_round, 0, "the random records that decode, encoded as JSON, decode back the same");
    ok(decoded > 1000, "many random records decode");
    is_int(line_disagree, 0, "the same messages as replay lines: the same result as libcsv");
    ok(random_taken > 10000, "many of them take replay's fast path");
    /* the 14 hand-written CSV records without a quote, a CR or an inner LF */
    is_int(lines_taken, 14, "the hand-written plain records take replay's fast path");

    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
