/* test_engine.c — thresholds, window edges, suppression and re-arming, late records, filters,
 * keys, eviction and deterministic ids, adaptive floors and lookup profiles (a shift of the
 * lookups' sizes is caught, the usual sizes are not), with hand-computed expectations. */
#include <stdlib.h>
#include <apr_general.h>
#include "cdrwatch/engine.h"
#include "tap.h"

typedef struct {
    char id[33];
    char key[64];
    int64_t value;
    cw_time_t start, end, at;
    uint64_t records;
    int64_t first_line;
    char test[16];       /* cdrwatch.detection.test */
    double profile, peak;
    double p_value;      /* lookups; -1 without */
    int n_new;
} seen_t;

static seen_t seen[32];
static int n_seen;
static apr_pool_t *pool;
static cw_time_t T0; /* 2026-03-04T00:00:00Z, a multiple of 5 minutes */
#define MIN 60000LL

static void sink(void *ctx, const cw_alert_t *a)
{
    (void)ctx;
    if (n_seen >= 32)
        return;
    seen_t *s = &seen[n_seen++];
    memcpy(s->id, a->id, sizeof s->id);
    snprintf(s->key, sizeof s->key, "%.*s", (int)a->keylen, a->key);
    s->value = a->value;
    s->start = a->window_start;
    s->end = a->window_end;
    s->at = a->ev->ts;
    s->records = a->records;
    s->first_line = a->first.offset;
    snprintf(s->test, sizeof s->test, "%s", a->test ? a->test : "");
    s->profile = a->profile;
    s->peak = a->peak;
    s->n_new = a->n_new_fields;
    s->p_value = a->has_lookups ? a->lookups_p_value : -1;
}

static cw_engine_t *engine_for(const char *json)
{
    cw_config_t *cfg;
    cw_engine_t *e;
    char err[512];
    if (cw_config_parse(pool, "test", json, strlen(json), &cfg, err, sizeof err) != CW_OK) {
        printf("# config: %s\n", err);
        exit(1);
    }
    if (cw_engine_create(pool, cfg, sink, NULL, &e, err, sizeof err) != CW_OK) {
        printf("# engine: %s\n", err);
        exit(1);
    }
    cw_engine_source_id(e, "test.jsonl", -1);
    n_seen = 0;
    return e;
}

static int64_t line_no;

static cw_reason_t feed(cw_engine_t *e, const char *who, cw_time_t at, int64_t rows, const char *object, bool failed)
{
    static cw_event_t ev;
    cw_event_reset(&ev, CW_STREAM_AUDIT);
    ev.ts = ev.u.audit.ts = at;
    snprintf(ev.u.audit.principal, sizeof ev.u.audit.principal, "%s", who);
    snprintf(ev.u.audit.action, sizeof ev.u.audit.action, "SELECT");
    snprintf(ev.u.audit.object, sizeof ev.u.audit.object, "%s", object);
    ev.u.audit.rows = rows;
    ev.u.audit.failed = failed;
    ev.present = (1u << (CW_F_TS - CW_F_TS)) | (1u << (CW_F_PRINCIPAL - CW_F_TS)) |
                 (1u << (CW_F_ACTION - CW_F_TS)) | (1u << (CW_F_OBJECT - CW_F_TS)) | (1u << (CW_F_ROWS - CW_F_TS));
    ev.pos.name = "test.jsonl";
    ev.pos.partition = -1;
    ev.pos.offset = ++line_no;
    ev.source_index = 0;
    return cw_engine_process(e, &ev);
}

static const char *CONFIG_A =
    "{\"engine\":{\"allowed_lateness\":\"1m\"},\"rules\":[{\"id\":\"bulk\",\"name\":\"Bulk\","
    "\"filter\":{\"object\":\"*cdr*\"},\"metric\":{\"kind\":\"sum\",\"field\":\"rows\"},"
    "\"window\":\"1h\",\"bucket\":\"5m\",\"threshold\":100,\"suppress\":\"30m\",\"max_keys\":2}]}";

static void scenario_a(cw_engine_t *e)
{
    const char *cdr = "mediation.cdr_voice";
    line_no = 0;
    feed(e, "alice", T0, 60, cdr, false);                           /* sum 60 */
    feed(e, "alice", T0 + 1 * MIN, 10, "mediation.subscriber", false); /* filtered out */
    feed(e, "alice", T0 + 2 * MIN, 40, cdr, true);                  /* failed: not counted */
    feed(e, "alice", T0 + 10 * MIN, 40, cdr, false);                /* sum 100: alert 1 */
    feed(e, "alice", T0 + 20 * MIN, 500, cdr, false);               /* 600, already fired */
    feed(e, "alice", T0 + 70 * MIN, 1, cdr, false);                 /* 501: still above */
    feed(e, "alice", T0 + 85 * MIN, 1, cdr, false);                 /* 500 expired: 1, re-armed; 2 */
    feed(e, "alice", T0 + 86 * MIN, 200, cdr, false);               /* 202: alert 2 */
}

static void test_threshold_and_rearm(void)
{
    cw_engine_t *e = engine_for(CONFIG_A);
    scenario_a(e);
    is_int(n_seen, 2, "two incidents, two alerts");
    is_int(seen[0].value, 100, "alert 1 fires when the sum reaches the threshold exactly");
    is_int(seen[0].at, T0 + 10 * MIN, "alert 1 is raised by the record that crossed");
    is_int(seen[0].end, T0 + 15 * MIN, "window ends with the crossing record's bucket");
    is_int(seen[0].start, T0 - 45 * MIN, "and spans one hour");
    is_int(seen[0].records, 2, "two records counted (the filtered and the failed one are not)");
    is_int(seen[0].first_line, 1, "evidence starts at line 1");
    is_str(seen[0].key, "alice", "keyed by principal");
    is_int(seen[1].value, 202, "alert 2 after the window fell below the threshold");
    is_int(seen[1].first_line, 6, "evidence of alert 2 starts at the oldest record still in its window (line 6, at +70 min)");
    ok(strcmp(seen[0].id, seen[1].id) != 0, "different windows, different ids");
    is_int(cw_engine_metrics(e)->records[CW_STREAM_AUDIT], 8, "every record reached the engine");

    {
        char id1[33], id2[33];
        memcpy(id1, seen[0].id, 33);
        memcpy(id2, seen[1].id, 33);
        e = engine_for(CONFIG_A);
        scenario_a(e);
        ok(n_seen == 2 && strcmp(seen[0].id, id1) == 0 && strcmp(seen[1].id, id2) == 0,
           "the same input gives the same alert ids");
    }
}

static void test_suppression(void)
{
    cw_engine_t *e = engine_for(
        "{\"engine\":{\"allowed_lateness\":\"1m\"},\"rules\":[{\"id\":\"short\",\"name\":\"S\","
        "\"metric\":{\"kind\":\"sum\",\"field\":\"rows\"},\"window\":\"10m\",\"bucket\":\"5m\","
        "\"threshold\":100,\"suppress\":\"30m\"}]}");
    line_no = 0;
    feed(e, "bob", T0, 100, "x", false);                /* alert 1, quiet until T0+30m */
    feed(e, "bob", T0 + 15 * MIN, 100, "x", false);     /* re-armed, crosses inside suppression */
    is_int(n_seen, 1, "a crossing inside the suppression time raises nothing");
    is_int(cw_engine_metrics(e)->suppressed, 1, "but is counted as suppressed");
    feed(e, "bob", T0 + 25 * MIN, 50, "x", false);      /* window fell to 0: re-armed, 50 */
    feed(e, "bob", T0 + 31 * MIN, 60, "x", false);      /* 110 after suppression: alert 2 */
    is_int(n_seen, 2, "a new crossing after the suppression time alerts");
    is_int(seen[1].value, 110, "with the window's value");

    is_int(feed(e, "bob", T0 + 29 * MIN, 1, "x", false), CW_DEC_LATE,
           "a record older than clock - lateness is late");
    is_int(cw_engine_metrics(e)->dead[CW_DEC_LATE], 1, "late records are counted");
    is_int(feed(e, "bob", T0 + 30 * MIN, 1, "x", false), CW_DEC_OK, "a record exactly at the lateness bound is accepted");
    is_int(cw_engine_clock(e), T0 + 30 * MIN, "clock is newest event time minus lateness");
}

static void test_keys_and_eviction(void)
{
    cw_engine_t *e = engine_for(CONFIG_A);
    line_no = 0;
    feed(e, "a", T0, 99, "cdr", false);
    feed(e, "b", T0, 99, "cdr", false);
    is_int(n_seen, 0, "two principals just below the threshold each");
    feed(e, "c", T0, 1, "cdr", false); /* max_keys 2: evicts a */
    is_int(cw_engine_metrics(e)->evictions, 1, "a third key evicts the oldest and counts it");
    feed(e, "b", T0 + MIN, 1, "cdr", false);
    is_int(n_seen, 1, "b keeps its state and crosses");
    is_str(seen[0].key, "b", "alert for b");
    feed(e, "a", T0 + MIN, 1, "cdr", false);
    is_int(n_seen, 1, "a was evicted: its 99 rows are gone, 1 does not cross");
}

/* Adaptive floors, peaks: a key with history is judged by its own peak at that hour (both
 * directions), a key without history by the floor from its first record. */
static const char *CONFIG_PEAKS =
    "{\"rules\":[{\"id\":\"bulk\",\"name\":\"Bulk\",\"filter\":{\"object\":\"*cdr*\"},"
    "\"metric\":{\"kind\":\"sum\",\"field\":\"rows\"},\"window\":\"1h\",\"bucket\":\"5m\","
    "\"threshold\":100,\"suppress\":\"1m\",\"adaptive\":{\"factor\":1.5,\"learning\":\"1d\"}}]}";

static void test_adaptive_peaks(void)
{
    const cw_time_t DAY = 1440 * MIN, H = 60 * MIN;
    cw_engine_t *e = engine_for(CONFIG_PEAKS);
    line_no = 0;
    feed(e, "batch", T0 + 2 * H, 200, "cdr", false); /* day 0: no history yet */
    is_int(n_seen, 1, "peaks: a key in its learning period meets the floor");
    is_str(seen[0].test, "static", "... and the alert says the static floor fired");
    feed(e, "batch", T0 + DAY + 2 * H, 250, "cdr", false); /* 250 <= 1.5 x 200 */
    is_int(n_seen, 1, "peaks: after learning, 250 rows at an hour where the key read 200 is explained");
    feed(e, "batch", T0 + 2 * DAY + 2 * H, 400, "cdr", false); /* 400 > 1.5 x 250 */
    is_int(n_seen, 2, "peaks: 400 rows at that hour exceed 1.5 x its own peak (250): alert");
    is_str(seen[1].test, "both", "... the floor and the own profile both fired");
    ok(seen[1].profile == 375 && seen[1].peak == 250, "... compared with 1.5 x its peak 250 = 375");
    feed(e, "batch", T0 + 2 * DAY + 14 * H, 150, "cdr", false);
    is_int(n_seen, 3, "peaks: 150 rows at an hour the key never read is not explained");
    is_str(seen[2].test, "both", "... by its own profile");
    feed(e, "newbie", T0 + 2 * DAY + 15 * H, 150, "cdr", false);
    is_int(n_seen, 4, "peaks: a key without history meets the floor from its first record");
    is_str(seen[3].test, "static", "... and the alert says static");
    feed(e, "batch", T0 + 3 * DAY + 5 * H, 90, "cdr", false);
    is_int(n_seen, 4, "peaks: under the floor nothing alerts, profile or not");
}

/* A key whose peaks, window and distinct counts outgrew their cells holds a table, a ring and
 * sketches from the rule's pools; evicted, it gives them back: flooding tables of 8 keys with 50
 * or 500 such keys holds the same memory. */
static const char *CONFIG_PEAKS_8 =
    "{\"rules\":[{\"id\":\"bulk\",\"name\":\"Bulk\",\"filter\":{\"object\":\"*cdr*\"},"
    "\"metric\":{\"kind\":\"sum\",\"field\":\"rows\"},\"window\":\"1h\",\"bucket\":\"5m\","
    "\"threshold\":100000,\"adaptive\":{\"factor\":1.5,\"learning\":\"1d\"},\"max_keys\":8},"
    "{\"id\":\"objects\",\"name\":\"Objects\",\"filter\":{\"object\":\"*cdr*\"},"
    "\"metric\":{\"kind\":\"distinct\",\"field\":\"object\"},\"window\":\"1h\",\"bucket\":\"5m\","
    "\"threshold\":100000,\"max_keys\":8}]}";

static size_t flood_peaks(cw_engine_t *e, int from, int n)
{
    char who[16], object[16];
    for (int k = from; k < from + n; k++) {
        snprintf(who, sizeof who, "k%d", k);
        for (int h = 0; h < 12; h++) /* 12 hours, 3 buckets in each: more than the cells hold */
            for (int j = 0; j < 3; j++)
                for (int o = 0; o < 3; o++) { /* 3 objects a bucket: more than a count holds inline */
                    snprintf(object, sizeof object, "cdr%d", o);
                    feed(e, who, T0 + ((cw_time_t)k * 12 + h) * 60 * MIN + j * 5 * MIN, 1, object, false);
                }
    }
    return cw_engine_memory(e);
}

static void test_peak_tables_evicted(void)
{
    cw_engine_t *e = engine_for(CONFIG_PEAKS_8);
    size_t after_50, after_500;
    line_no = 0;
    after_50 = flood_peaks(e, 0, 50);
    after_500 = flood_peaks(e, 50, 450);
    ok(cw_engine_metrics(e)->evictions == 2 * 492, "peak tables: 500 keys through two tables of 8 evict 492 each");
    ok(after_50 == after_500 && after_50 > 0,
       "peak tables, window rings and sketches: evicted keys' are reused (memory the same after 50 and 500 keys)");
}

/* Adaptive floors, seen: after learning, a record whose (key, object) was seen is explained. */
static const char *CONFIG_SEEN =
    "{\"rules\":[{\"id\":\"export\",\"name\":\"Export\",\"metric\":{\"kind\":\"count\"},"
    "\"window\":\"1h\",\"bucket\":\"5m\",\"threshold\":1,\"suppress\":\"0s\","
    "\"adaptive\":{\"seen\":[\"object\"],\"learning\":\"1d\"}}]}";

static void test_adaptive_seen(void)
{
    const cw_time_t DAY = 1440 * MIN;
    cw_engine_t *e = engine_for(CONFIG_SEEN);
    line_no = 0;
    feed(e, "etl", T0, 5, "cdr_a", false);
    is_int(n_seen, 1, "seen: during learning the floor alerts");
    is_str(seen[0].test, "static", "... static");
    feed(e, "etl", T0 + DAY + 10 * MIN, 5, "cdr_a", false);
    is_int(n_seen, 1, "seen: after learning, the object the key always reads is explained");
    feed(e, "etl", T0 + DAY + 20 * MIN, 5, "cdr_b", false);
    is_int(n_seen, 2, "seen: a new object for the key alerts");
    is_str(seen[1].test, "both", "... both: the floor, and new for its profile");
    is_int(seen[1].n_new, 1, "... naming the one field that was new");
    feed(e, "other", T0 + DAY + 30 * MIN, 5, "cdr_a", false);
    is_int(n_seen, 3, "seen: another key's history explains nothing for a new key");
}

/* Lookup profiles: the reference learns four subscribers' CDRs (one every 6 hours each), and
 * principals look one up every hour, reading its 4 rows of the last day (80-100 % of what it
 * produced in the 24-30 hours the reference covers). */
static const char *CONFIG_LOOKUPS =
    "{\"reference\":{\"sketch_width\":4096,\"sketch_depth\":2},\"rules\":[{\"id\":\"shift\",\"name\":\"Shift\","
    "\"filter\":{\"object\":\"*cdr*\"},\"metric\":{\"kind\":\"count\"},\"window\":\"24h\",\"bucket\":\"1h\","
    "\"threshold\":10,\"suppress\":\"24h\",\"lookups\":{\"quantile\":0.95,\"p_value\":1e-6,"
    "\"learning\":\"7d\",\"min_observations\":100}}]}";

static void feed_cdr(cw_engine_t *e, const char *msisdn, cw_time_t at)
{
    static cw_event_t ev;
    cw_event_reset(&ev, CW_STREAM_CDR);
    ev.ts = at;
    snprintf(ev.u.cdr.calling_msisdn, sizeof ev.u.cdr.calling_msisdn, "%s", msisdn);
    ev.pos.name = "test.jsonl";
    ev.pos.partition = -1;
    ev.pos.offset = ++line_no;
    cw_engine_process(e, &ev);
}

static void feed_lookup(cw_engine_t *e, const char *who, cw_time_t at, int64_t rows, const char *msisdn)
{
    static cw_event_t ev;
    cw_event_reset(&ev, CW_STREAM_AUDIT);
    ev.ts = ev.u.audit.ts = at;
    snprintf(ev.u.audit.principal, sizeof ev.u.audit.principal, "%s", who);
    snprintf(ev.u.audit.action, sizeof ev.u.audit.action, "SELECT");
    snprintf(ev.u.audit.object, sizeof ev.u.audit.object, "mediation.cdr_voice");
    ev.u.audit.rows = rows;
    snprintf(ev.u.audit.subscribers[0], sizeof ev.u.audit.subscribers[0], "%s", msisdn);
    ev.u.audit.n_subscribers = msisdn[0] ? 1 : 0;
    ev.present = (1u << (CW_F_TS - CW_F_TS)) | (1u << (CW_F_PRINCIPAL - CW_F_TS)) | (1u << (CW_F_ACTION - CW_F_TS)) |
                 (1u << (CW_F_OBJECT - CW_F_TS)) | (1u << (CW_F_ROWS - CW_F_TS));
    ev.pos.name = "test.jsonl";
    ev.pos.partition = -1;
    ev.pos.offset = ++line_no;
    cw_engine_process(e, &ev);
}

/* days of history; on the last day, from its 00:00, `big` lookups of "shifted" read 10 rows */
static void lookups_days(cw_engine_t *e, int days, int big)
{
    static const char *const subs[] = {"447700900100", "447700900101", "447700900102", "447700900103"};
    const cw_time_t H = 60 * MIN;
    for (int d = 0; d < days; d++) {
        for (int h = 0; h < 24; h++) {
            cw_time_t hour = T0 + (d * 24 + h) * H;
            if (h % 6 == 0)
                for (int i = 0; i < 4; i++)
                    feed_cdr(e, subs[i], hour + (30 + i) * MIN);
            feed_lookup(e, "steady", hour + 45 * MIN, 4, subs[h % 4]);
            feed_lookup(e, "shifted", hour + 46 * MIN, d == days - 1 && h < big ? 10 : 4, subs[h % 4]);
            feed_lookup(e, "shifted", hour + 47 * MIN, 999, ""); /* names no subscriber: not judged */
        }
    }
}

static void test_lookups(void)
{
    cw_engine_t *e = engine_for(CONFIG_LOOKUPS);
    line_no = 0;
    lookups_days(e, 10, 0);
    is_int(n_seen, 0, "lookups: ten days of the usual sizes raise nothing (the usual distribution)");
    e = engine_for(CONFIG_LOOKUPS);
    line_no = 0;
    lookups_days(e, 10, 12);
    is_int(n_seen, 1, "lookups: 2.5 times the usual history per lookup, 12 hours long, raises one alert");
    is_str(seen[0].key, "shifted", "... for the principal whose lookups shifted");
    is_int(seen[0].value, 10, "... at the 10th lookup above its cut (the threshold)");
    is_int(seen[0].at, T0 + (9 * 24 + 9) * 60 * MIN + 46 * MIN, "... on day 10 at 09:46");
    is_str(seen[0].test, "both", "... the floor and the key's own profile");
    ok(seen[0].p_value > 0 && seen[0].p_value <= 1e-6, "... with a binomial tail at most 1e-6");
    ok(seen[0].profile > 80 && seen[0].profile < 250, "... the size exceeded lies between its usual (80-100 %) and the shift (200-250 %)");
    e = engine_for(CONFIG_LOOKUPS);
    line_no = 0;
    lookups_days(e, 10, 9);
    is_int(n_seen, 0, "lookups: 9 lookups above the cut stay under the minimum of 10");
    e = engine_for(CONFIG_LOOKUPS);
    line_no = 0;
    lookups_days(e, 6, 12);
    is_int(n_seen, 0, "lookups: during the learning period (6 days < 7) nothing is judged");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    cw_time_parse("2026-03-04T00:00:00Z", 20, &T0);
    test_threshold_and_rearm();
    test_suppression();
    test_keys_and_eviction();
    test_adaptive_peaks();
    test_peak_tables_evicted();
    test_adaptive_seen();
    test_lookups();
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
