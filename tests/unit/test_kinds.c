/* test_kinds.c — the engine's rule kinds and rule options, each with a positive and a negative
 * case and hand-computed expectations: distinct counts, several windows, baselines and their
 * learning period, allow-lists, regex and hour filters, derived fields (history_pull,
 * watchlisted, unbounded_select), first_seen with host classes, sequence, silence, silence.while
 * with the condition present. Records are written as JSON lines and decoded like real input. */
#include <stdarg.h>
#include <stdlib.h>
#include <apr_general.h>
#include "cdrwatch/decode.h"
#include "cdrwatch/engine.h"
#include "tap.h"

typedef struct {
    char rule[64], id[33], principal[64], detail[128], host_class[32];
    double value, threshold;
    int severity, has_baseline;
    cw_time_t at;
    int n_subscribers, n_statements;
} seen_t;

static seen_t got[64];
static int n_got;
static apr_pool_t *pool;
static cw_engine_t *E;
static int line;

static void sink(void *ctx, const cw_alert_t *a)
{
    (void)ctx;
    if (n_got >= 64)
        return;
    seen_t *s = &got[n_got++];
    snprintf(s->rule, sizeof s->rule, "%s", a->rule->id);
    snprintf(s->id, sizeof s->id, "%s", a->id);
    snprintf(s->principal, sizeof s->principal, "%s", a->principal ? a->principal : "");
    snprintf(s->detail, sizeof s->detail, "%s=%s", a->detail_name ? a->detail_name : "", a->detail_value ? a->detail_value : "");
    snprintf(s->host_class, sizeof s->host_class, "%s", a->host_class ? a->host_class : "");
    s->value = a->value;
    s->threshold = a->threshold;
    s->severity = a->severity;
    s->has_baseline = a->has_baseline;
    s->at = a->at;
    s->n_subscribers = a->n_subscribers;
    s->n_statements = a->n_statements;
}

static void start(const char *json)
{
    cw_config_t *cfg;
    char err[512];
    if (cw_config_parse(pool, "test", json, strlen(json), &cfg, err, sizeof err) != CW_OK ||
        cw_engine_create(pool, cfg, sink, NULL, &E, err, sizeof err) != CW_OK) {
        printf("Bail out! %s\n", err);
        exit(1);
    }
    cw_engine_source_id(E, "t", -1);
    n_got = 0;
    line = 0;
}

/* feed(stream, fmt, ...): one JSON record */
static void feed(cw_stream_t stream, const char *fmt, ...)
{
    static cw_event_t ev;
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    cw_decode_result_t r = cw_decode_json(stream, buf, strlen(buf), &ev);
    if (r.reason != CW_DEC_OK) {
        printf("Bail out! fixture does not decode (%s): %s\n", cw_reason_name(r.reason), buf);
        exit(1);
    }
    ev.pos.name = "t";
    ev.pos.partition = -1;
    ev.pos.offset = ++line;
    ev.source_index = 0;
    cw_engine_process(E, &ev);
}

/* every fixture is in time order: a late record would make a negative case vacuous */
static void no_late(const char *what)
{
    char name[128];
    snprintf(name, sizeof name, "%s: no record of the fixture was late", what);
    is_int(cw_engine_metrics(E)->dead[CW_DEC_LATE], 0, name);
}

#define A(...) feed(CW_STREAM_AUDIT, __VA_ARGS__)
#define C(...) feed(CW_STREAM_CDR, __VA_ARGS__)
#define DAY 86400000LL
#define HOUR 3600000LL
#define MIN 60000LL
static const cw_time_t T0 = 1772409600000LL; /* Monday 2026-03-02T00:00:00Z */

static void test_distinct(void)
{
    start("{\"rules\":[{\"id\":\"d\",\"name\":\"d\",\"metric\":{\"kind\":\"distinct\",\"field\":\"subscribers\"},"
          "\"window\":\"1h\",\"bucket\":\"10m\",\"threshold\":5}]}");
    /* 4 distinct subscribers, one of them twice, and one named only in the statement text */
    A("{\"ts\":%lld,\"principal\":\"p\",\"action\":\"SELECT\",\"subscribers\":[\"+447700900001\",\"447700900002\"]}", T0);
    A("{\"ts\":%lld,\"principal\":\"p\",\"action\":\"SELECT\",\"subscribers\":[\"00447700900001\"]}", T0 + MIN);
    A("{\"ts\":%lld,\"principal\":\"p\",\"action\":\"SELECT\",\"statement\":\"select * from cdr where calling_msisdn = '+447700900003'\"}", T0 + 2 * MIN);
    A("{\"ts\":%lld,\"principal\":\"p\",\"action\":\"SELECT\",\"subscribers\":[\"447700900004\"]}", T0 + 3 * MIN);
    is_int(n_got, 0, "distinct: 4 distinct subscribers (one repeated in another form) stay below 5");
    A("{\"ts\":%lld,\"principal\":\"p\",\"action\":\"SELECT\",\"subscribers\":[\"447700900005\"]}", T0 + 4 * MIN);
    ok(n_got == 1 && got[0].value == 5, "distinct: the fifth raises the alert with value 5");
    ok(n_got == 1 && got[0].n_subscribers >= 1, "distinct: the alert lists subscribers");
    /* an hour later the window has emptied: 4 new ones do not alert */
    for (int i = 0; i < 4; i++)
        A("{\"ts\":%lld,\"principal\":\"p\",\"action\":\"SELECT\",\"subscribers\":[\"44770090010%d\"]}", T0 + 2 * HOUR + i * MIN, i);
    is_int(n_got, 1, "distinct: buckets expire with the window");
    no_late("distinct");
}

static void test_windows_allow_regex_hours(void)
{
    start("{\"rules\":[{\"id\":\"w\",\"name\":\"w\",\"metric\":{\"kind\":\"sum\",\"field\":\"rows\"},"
          "\"windows\":[{\"window\":\"1h\",\"bucket\":\"5m\",\"threshold\":100},{\"window\":\"24h\",\"bucket\":\"1h\",\"threshold\":250}],"
          "\"suppress\":\"0s\","
          "\"filter\":{\"statement\":{\"regex\":\"from[[:space:]]+cdr\",\"not_regex\":\"count\\\\(\"},\"hours\":{\"none\":[\"Sat-Sun\"]}},"
          "\"allow\":[{\"principal\":[\"billing\"],\"client_host\":[\"bill*\"]}]}]}");
    A("{\"ts\":%lld,\"principal\":\"p\",\"action\":\"SELECT\",\"rows\":90,\"statement\":\"SELECT * FROM cdr\"}", T0);
    A("{\"ts\":%lld,\"principal\":\"p\",\"action\":\"SELECT\",\"rows\":90,\"statement\":\"SELECT count(*) FROM cdr\"}", T0 + MIN);
    A("{\"ts\":%lld,\"principal\":\"p\",\"action\":\"SELECT\",\"rows\":90,\"statement\":\"SELECT * FROM subscriber\"}", T0 + 2 * MIN);
    is_int(n_got, 0, "regex: count(...) and other tables are filtered out");
    A("{\"ts\":%lld,\"principal\":\"p\",\"action\":\"SELECT\",\"rows\":10,\"statement\":\"select a from  cdr\"}", T0 + 3 * MIN);
    ok(n_got == 1 && got[0].value == 100, "1h window crosses at 100");
    A("{\"ts\":%lld,\"principal\":\"p\",\"action\":\"SELECT\",\"rows\":100,\"statement\":\"select a from cdr\"}", T0 + 3 * HOUR);
    is_int(n_got, 2, "3 h later the 1h window crosses again on its own (suppress 0s)");
    A("{\"ts\":%lld,\"principal\":\"p\",\"action\":\"SELECT\",\"rows\":60,\"statement\":\"select a from cdr\"}", T0 + 5 * HOUR);
    ok(n_got == 3 && got[2].value == 260 && got[2].threshold == 250, "the 24h window crosses at 260 >= 250");
    A("{\"ts\":%lld,\"principal\":\"billing\",\"client_host\":\"billing01\",\"action\":\"SELECT\",\"rows\":5000,\"statement\":\"select a from cdr\"}", T0 + 6 * HOUR);
    is_int(n_got, 3, "allow-list: billing from billing01 is not counted");
    A("{\"ts\":%lld,\"principal\":\"billing\",\"client_host\":\"mail01\",\"action\":\"SELECT\",\"rows\":5000,\"statement\":\"select a from cdr\"}", T0 + 7 * HOUR);
    is_int(n_got, 5, "allow-list: billing from another host is (both windows cross)");
    A("{\"ts\":%lld,\"principal\":\"q\",\"action\":\"SELECT\",\"rows\":5000,\"statement\":\"select a from cdr\"}", T0 + 5 * DAY + HOUR);
    is_int(n_got, 5, "hours: nothing counts on Saturday");
    no_late("windows");
}

static void test_baseline(void)
{
    /* 1h window, floor 50, alert above 3 x mean; learning 7 days */
    start("{\"rules\":[{\"id\":\"b\",\"name\":\"b\",\"metric\":{\"kind\":\"sum\",\"field\":\"rows\"},"
          "\"window\":\"1h\",\"bucket\":\"5m\",\"threshold\":50,\"suppress\":\"1h\","
          "\"baseline\":{\"ratio\":3,\"learning\":\"7d\",\"min_observations\":3,\"alpha\":0.5}}]}");
    /* analyst: 100 rows at 10:00 every day for 10 days */
    for (int d = 0; d < 10; d++)
        A("{\"ts\":%lld,\"principal\":\"ana\",\"action\":\"SELECT\",\"rows\":100}", T0 + d * DAY + 10 * HOUR);
    is_int(n_got, 0, "baseline: the usual 100 rows at 10:00 never alert");
    A("{\"ts\":%lld,\"principal\":\"ana\",\"action\":\"SELECT\",\"rows\":250}", T0 + 10 * DAY + 10 * HOUR);
    is_int(n_got, 0, "baseline: 250 at 10:00 is below 3 x 100");
    A("{\"ts\":%lld,\"principal\":\"ana\",\"action\":\"SELECT\",\"rows\":400}", T0 + 11 * DAY + 10 * HOUR);
    ok(n_got == 1 && got[0].has_baseline, "baseline: 400 at 10:00 is above 3 x the usual");
    A("{\"ts\":%lld,\"principal\":\"ana\",\"action\":\"SELECT\",\"rows\":60}", T0 + 12 * DAY + 3 * HOUR);
    ok(n_got == 2 && got[1].value == 60, "baseline: 60 rows at 3 am, where the profile is 0, alerts (above the floor)");
    A("{\"ts\":%lld,\"principal\":\"ana\",\"action\":\"SELECT\",\"rows\":40}", T0 + 13 * DAY + 4 * HOUR);
    is_int(n_got, 2, "baseline: 40 rows at 4 am stay under the floor of 50");
    /* a new principal: quiet during its learning period whatever it reads */
    A("{\"ts\":%lld,\"principal\":\"newbie\",\"action\":\"SELECT\",\"rows\":100000}", T0 + 13 * DAY + 5 * HOUR);
    is_int(n_got, 2, "baseline: a principal in its learning period does not alert");
    no_late("baseline");
}

static void test_derived(void)
{
    /* history pulls need CDR history: subscriber 1 has 10 CDRs over 5 days, subscriber 2 has 10
     * CDRs within one day */
    start("{\"reference\":{\"history_min_records\":5,\"history_min_span\":\"3d\",\"history_fraction\":0.8},"
          "\"watchlist\":{\"identifiers\":[\"351713111134493\"]},"
          "\"rules\":["
          "{\"id\":\"h\",\"name\":\"h\",\"filter\":{\"history_pull\":\"true\"},\"threshold\":1,\"suppress\":\"0s\"},"
          "{\"id\":\"wl\",\"name\":\"wl\",\"filter\":{\"watchlisted\":\"true\",\"principal\":{\"none\":[\"li_*\"]}},\"threshold\":1,\"suppress\":\"0s\"},"
          "{\"id\":\"u\",\"name\":\"u\",\"filter\":{\"unbounded_select\":\"true\"},\"threshold\":1,\"suppress\":\"0s\"}]}");
    for (int i = 0; i < 10; i++)
        C("{\"start_time\":%lld,\"record_type\":\"voice\",\"calling_msisdn\":\"447700900001\",\"imei\":\"351713111134493\"}", T0 + i * 12 * HOUR);
    for (int i = 0; i < 10; i++)
        C("{\"start_time\":%lld,\"record_type\":\"voice\",\"calling_msisdn\":\"447700900002\"}", T0 + 4 * DAY + 13 * HOUR + i * HOUR);
    A("{\"ts\":%lld,\"principal\":\"p\",\"action\":\"SELECT\",\"rows\":3,\"subscribers\":[\"447700900001\"],\"statement\":\"select * from cdr where calling_msisdn='447700900001' and start_time > now() - interval '1 day'\"}", T0 + 5 * DAY);
    is_int(n_got, 1, "3 of 10 records is not a history pull (but the IMEI is watchlisted: 1 alert)");
    ok(n_got == 1 && strcmp(got[0].rule, "wl") == 0, "watchlisted by the IMEI linked to the MSISDN");
    A("{\"ts\":%lld,\"principal\":\"p\",\"action\":\"SELECT\",\"rows\":10,\"statement\":\"select * from cdr where calling_msisdn = '+447700900002'\"}", T0 + 5 * DAY + MIN);
    is_int(n_got, 1, "all 10 records of a subscriber whose history is one day old is not a history pull");
    A("{\"ts\":%lld,\"principal\":\"p\",\"action\":\"SELECT\",\"rows\":9,\"statement\":\"select * from cdr where calling_msisdn = '+447700900001'\"}", T0 + 5 * DAY + 2 * MIN);
    /* the watchlist rule of p fired 2 minutes ago and stays fired within its hour: one alert */
    ok(n_got == 2 && strcmp(got[1].rule, "h") == 0,
       "9 of 10 records over 5 days, subscriber taken from the statement: a history pull");
    A("{\"ts\":%lld,\"principal\":\"li_officer\",\"action\":\"SELECT\",\"rows\":1,\"subscribers\":[\"447700900001\"],\"statement\":\"select 1\"}", T0 + 5 * DAY + 3 * MIN);
    is_int(n_got, 2, "an allowed principal looks up a watchlisted subscriber quietly");
    A("{\"ts\":%lld,\"principal\":\"x\",\"action\":\"COPY\",\"statement\":\"COPY (SELECT * FROM mediation.cdr_voice) TO '/tmp/v.csv'\"}", T0 + 5 * DAY + 4 * MIN);
    ok(n_got == 3 && strcmp(got[2].rule, "u") == 0, "unbounded: COPY (SELECT * FROM t) without WHERE");
    A("{\"ts\":%lld,\"principal\":\"y\",\"action\":\"SELECT\",\"statement\":\"SELECT * FROM cdr_voice LIMIT 2000\"}", T0 + 5 * DAY + 5 * MIN);
    A("{\"ts\":%lld,\"principal\":\"y\",\"action\":\"COPY\",\"statement\":\"COPY (SELECT * FROM cdr_voice WHERE start_time >= '2026-03-01') TO '/x'\"}", T0 + 5 * DAY + 6 * MIN);
    A("{\"ts\":%lld,\"principal\":\"y\",\"action\":\"SELECT\",\"statement\":\"SELECT a, b FROM cdr_voice\"}", T0 + 5 * DAY + 7 * MIN);
    is_int(n_got, 3, "bounded by LIMIT or WHERE, or not SELECT *: not unbounded");
    A("{\"ts\":%lld,\"principal\":\"z\",\"action\":\"SELECT\",\"statement\":\"select *\\nfrom cdr_voice\\tFetch first 10 rows only\"}", T0 + 5 * DAY + 8 * MIN);
    A("{\"ts\":%lld,\"principal\":\"z\",\"action\":\"SELECT\",\"statement\":\"SELECT * FROM t9rownum\"}", T0 + 5 * DAY + 9 * MIN);
    is_int(n_got, 3, "bound words in any case, next to a digit or white space: bounded");
    A("{\"ts\":%lld,\"principal\":\"w\",\"action\":\"SELECT\",\"statement\":\"SELECT * FROM mediation.cdr_where_top, nowhere, limits\"}", T0 + 5 * DAY + 10 * MIN);
    ok(n_got == 4 && strcmp(got[3].rule, "u") == 0, "bound words inside a name (next to '_' or a letter) do not bound it");
    no_late("derived");
}

static void test_first_seen(void)
{
    start("{\"host_classes\":{\"mail\":{\"patterns\":[\"mail*\"],\"severity\":90}},"
          "\"rules\":[{\"id\":\"fs\",\"name\":\"fs\",\"kind\":\"first_seen\",\"seen\":{\"field\":\"client_host\","
          "\"new_principal\":true,\"learning\":\"2d\"},\"severity\":50,\"suppress\":\"1h\"}]}");
    A("{\"ts\":%lld,\"principal\":\"alice\",\"action\":\"LOGIN\",\"client_host\":\"ws1\"}", T0);
    A("{\"ts\":%lld,\"principal\":\"alice\",\"action\":\"LOGIN\",\"client_host\":\"ws2\"}", T0 + DAY);
    A("{\"ts\":%lld,\"principal\":\"alice\",\"action\":\"SELECT\"}", T0 + DAY + HOUR);
    is_int(n_got, 0, "first_seen: new hosts during the learning period are learned quietly; no host, no check");
    A("{\"ts\":%lld,\"principal\":\"alice\",\"action\":\"LOGIN\",\"client_host\":\"ws1\"}", T0 + 3 * DAY);
    is_int(n_got, 0, "first_seen: a known host after learning is quiet");
    A("{\"ts\":%lld,\"principal\":\"alice\",\"action\":\"LOGIN\",\"client_host\":\"mail-ex01\"}", T0 + 3 * DAY + HOUR);
    ok(n_got == 1 && strcmp(got[0].detail, "client_host=mail-ex01") == 0, "first_seen: a new host after learning alerts");
    ok(n_got == 1 && got[0].severity == 90 && strcmp(got[0].host_class, "mail") == 0, "first_seen: a mail host raises the severity to its class");
    A("{\"ts\":%lld,\"principal\":\"alice\",\"action\":\"LOGIN\",\"client_host\":\"ws9\"}", T0 + 3 * DAY + HOUR + MIN);
    is_int(n_got, 1, "first_seen: another new host within the suppression time is suppressed");
    A("{\"ts\":%lld,\"principal\":\"svc_backup\",\"action\":\"LOGIN\",\"client_host\":\"web01\"}", T0 + 3 * DAY + 2 * HOUR);
    ok(n_got == 2 && strcmp(got[1].detail, "new_key_client_host=web01") == 0 && got[1].severity == 50,
       "first_seen: a principal never seen after learning alerts (new key), plain severity for an unclassed host");
    no_late("first_seen");
}

static void test_sequence(void)
{
    start("{\"rules\":[{\"id\":\"seq\",\"name\":\"seq\",\"kind\":\"sequence\",\"filter\":{\"object\":\"*cdr*\"},"
          "\"sequence\":{\"trigger\":{\"action\":[\"CREATE\",\"GRANT\"]},"
          "\"extract\":\"(role|user)[[:space:]]+(\\\"?[[:alnum:]_]+\\\"?)|[[:space:]]to[[:space:]]+([[:alnum:]_]+)\",\"within\":\"24h\"}}]}");
    A("{\"ts\":%lld,\"principal\":\"dba\",\"action\":\"CREATE\",\"statement\":\"CREATE ROLE \\\"svc_tmp\\\" LOGIN PASSWORD 'x'\"}", T0);
    A("{\"ts\":%lld,\"principal\":\"svc_tmp\",\"action\":\"SELECT\",\"object\":\"subscriber\"}", T0 + HOUR);
    is_int(n_got, 0, "sequence: the new account reading something else is not the sequence");
    A("{\"ts\":%lld,\"principal\":\"svc_tmp\",\"action\":\"SELECT\",\"object\":\"mediation.cdr_voice\"}", T0 + 2 * HOUR);
    ok(n_got == 1 && strcmp(got[0].principal, "svc_tmp") == 0 && got[0].value == 120, "sequence: created, then reads CDRs 120 minutes later");
    A("{\"ts\":%lld,\"principal\":\"svc_tmp\",\"action\":\"SELECT\",\"object\":\"mediation.cdr_sms\"}", T0 + 3 * HOUR);
    is_int(n_got, 1, "sequence: one alert per trigger");
    A("{\"ts\":%lld,\"principal\":\"dba\",\"action\":\"GRANT\",\"statement\":\"GRANT SELECT ON mediation.cdr_sms TO bob\"}", T0 + 4 * HOUR);
    A("{\"ts\":%lld,\"principal\":\"bob\",\"action\":\"SELECT\",\"object\":\"mediation.cdr_sms\"}", T0 + 30 * HOUR);
    is_int(n_got, 1, "sequence: a read after the 24 h window is not the sequence");
    A("{\"ts\":%lld,\"principal\":\"dba\",\"action\":\"GRANT\",\"statement\":\"GRANT SELECT ON mediation.cdr_sms TO carol\"}", T0 + 31 * HOUR);
    A("{\"ts\":%lld,\"principal\":\"carol\",\"action\":\"SELECT\",\"object\":\"mediation.cdr_sms\"}", T0 + 32 * HOUR);
    ok(n_got == 2 && strcmp(got[1].principal, "carol") == 0, "sequence: GRANT ... TO carol, then a read within 24 h");
    no_late("sequence");
}

static void test_silence(void)
{
    start("{\"rules\":[{\"id\":\"sil\",\"name\":\"sil\",\"kind\":\"silence\",\"key\":[\"principal\"],"
          "\"silence\":{\"gap\":\"1h\",\"min_records\":10,\"min_active_hours\":2}}]}");
    /* in time order: busy, 20 records over 2 hours (every 6 minutes); quiet, 3 records; burst,
     * 30 records in the last 5 minutes (one active hour) */
    for (int m = 0; m < 120; m++) {
        if (m % 6 == 0 && m / 6 < 20)
            A("{\"ts\":%lld,\"principal\":\"busy\",\"action\":\"SELECT\"}", T0 + m * MIN);
        if (m == 1 || m == 31 || m == 61)
            A("{\"ts\":%lld,\"principal\":\"quiet\",\"action\":\"SELECT\"}", T0 + m * MIN);
        for (int k = 0; m >= 115 && k < 6; k++)
            A("{\"ts\":%lld,\"principal\":\"burst\",\"action\":\"SELECT\"}", T0 + m * MIN + k * 10000);
    }
    is_int(cw_engine_metrics(E)->dead[CW_DEC_LATE], 0, "silence: fixture in time order (nothing late)");
    /* the clock advances with CDRs while both stop sending */
    for (int i = 0; i < 10; i++)
        C("{\"start_time\":%lld,\"record_type\":\"sms\",\"calling_msisdn\":\"1\"}", T0 + 2 * HOUR + i * 10 * MIN);
    ok(n_got == 1 && strcmp(got[0].principal, "busy") == 0,
       "silence: the busy principal, quiet for an hour, is reported; not the quiet one, nor the one-hour burst");
    is_int(n_got == 1 ? got[0].at : 0, T0 + 114 * MIN + HOUR, "silence: reported at its last record + the gap");
    A("{\"ts\":%lld,\"principal\":\"busy\",\"action\":\"SELECT\"}", T0 + 4 * HOUR);
    for (int i = 0; i < 5; i++)
        C("{\"start_time\":%lld,\"record_type\":\"sms\",\"calling_msisdn\":\"1\"}", T0 + 4 * HOUR + i * 10 * MIN);
    is_int(n_got, 1, "silence: it spoke again (re-armed); 40 minutes of quiet are under the gap");
    C("{\"start_time\":%lld,\"record_type\":\"sms\",\"calling_msisdn\":\"1\"}", T0 + 5 * HOUR + 5 * MIN);
    ok(n_got == 2 && strcmp(got[1].principal, "busy") == 0, "silence: an hour after it spoke again, a second silence is reported");
    no_late("silence");
}

/* silence.while: reads with a row count stop while reads without one go on (log_rows off) */
static const char *CONFIG_WHILE =
    "{\"rules\":[{\"id\":\"rows-gone\",\"name\":\"rows-gone\",\"kind\":\"silence\","
    "\"filter\":{\"action\":\"SELECT\",\"rows\":{\"present\":true}},"
    "\"silence\":{\"gap\":\"1h\",\"min_records\":10,\"min_active_hours\":2,"
    "\"while\":{\"action\":\"SELECT\",\"rows\":{\"present\":false}},\"while_records\":3}}]}";

static void test_silence_while(void)
{
    char err[256];
    cw_config_t *cfg;
    start(CONFIG_WHILE);
    /* 0-114 min, every 6: blinded, home and zero read with rows (zero logs 0 rows); norows reads
     * without rows throughout. Then, every 10 min from 120: blinded reads without rows (records at
     * 120..170 fall within its gap: 6); home sends one read without rows at 130 and stops; zero
     * goes on logging 0 rows. */
    for (int m = 0; m <= 240; m++) {
        if (m % 6 == 0 && m <= 114) {
            A("{\"ts\":%lld,\"principal\":\"blinded\",\"action\":\"SELECT\",\"rows\":5}", T0 + m * MIN);
            A("{\"ts\":%lld,\"principal\":\"home\",\"action\":\"SELECT\",\"rows\":5}", T0 + m * MIN);
        }
        if (m % 6 == 0) {
            A("{\"ts\":%lld,\"principal\":\"zero\",\"action\":\"SELECT\",\"rows\":0}", T0 + m * MIN);
            A("{\"ts\":%lld,\"principal\":\"norows\",\"action\":\"SELECT\"}", T0 + m * MIN);
        }
        if (m >= 120 && m % 10 == 0)
            A("{\"ts\":%lld,\"principal\":\"blinded\",\"action\":\"SELECT\"}", T0 + m * MIN);
        if (m == 130)
            A("{\"ts\":%lld,\"principal\":\"home\",\"action\":\"SELECT\"}", T0 + m * MIN);
    }
    ok(n_got == 1 && strcmp(got[0].principal, "blinded") == 0,
       "silence.while: the principal whose reads lost their row counts is reported; not one that never "
       "had them, nor one that went quiet (one read without rows), nor one logging 0 rows");
    is_int(n_got == 1 ? got[0].at : 0, T0 + 114 * MIN + HOUR, "silence.while: reported at its last read with rows + the gap");
    is_str(n_got == 1 ? got[0].detail : "", "while_records=6", "silence.while: the alert counts the reads without rows in the gap");
    no_late("silence.while");
    static const char *on_derived = "{\"rules\":[{\"id\":\"x\",\"name\":\"x\","
                                    "\"filter\":{\"damaged\":{\"present\":true}},\"threshold\":1}]}";
    static const char *not_bool = "{\"rules\":[{\"id\":\"x\",\"name\":\"x\","
                                  "\"filter\":{\"rows\":{\"present\":1}},\"threshold\":1}]}";
    ok(cw_config_parse(pool, "test", on_derived, strlen(on_derived), &cfg, err, sizeof err) != CW_OK &&
           strstr(err, "derived") != NULL,
       "present: refused on a derived field");
    ok(cw_config_parse(pool, "test", not_bool, strlen(not_bool), &cfg, err, sizeof err) != CW_OK &&
           strstr(err, "expected true or false") != NULL,
       "present: a boolean");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    cw_decode_init();
    test_distinct();
    test_windows_allow_regex_hours();
    test_baseline();
    test_derived();
    test_first_seen();
    test_sequence();
    test_silence();
    test_silence_while();
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
