/* test_state.c — engine snapshots: a stream cut anywhere and resumed from a snapshot raises the
 * same alerts (same ids) as the uncut stream, for every rule kind (threshold with two windows and
 * a baseline, distinct counts, adaptive peaks and adaptive seen pairs, a lookup profile,
 * first_seen, sequence, silence) and the CDR reference (its recent sketches included); a restored
 * engine serializes to the same bytes; damaged, truncated, foreign and crafted inputs are refused
 * without a crash (run it under ASan/UBSan); configuration changes keep or drop each rule's state
 * by its fingerprint. */
#include <stdarg.h>
#include <stdlib.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "cdrwatch/decode.h"
#include "cdrwatch/log.h"
#include "cdrwatch/rules.h"
#include "cdrwatch/state.h"
#include "tap.h"

#define DAY 86400000LL
#define HOUR 3600000LL
#define MIN 60000LL
#define N_REC 4000
static const cw_time_t T0 = 1772409600000LL; /* Monday 2026-03-02T00:00:00Z */

static const char *const CONFIG =
    "{\"engine\":{\"evidence_ring\":64},"
    "\"reference\":{\"sketch_width\":1024,\"sketch_depth\":2,\"max_links\":100},"
    "\"watchlist\":{\"identifiers\":[\"447700900007\"]},"
    "\"host_classes\":{\"mail\":{\"patterns\":[\"mail*\"],\"severity\":90}},"
    "\"rules\":["
    "{\"id\":\"th\",\"name\":\"th\",\"metric\":{\"kind\":\"sum\",\"field\":\"rows\"},"
    " \"windows\":[{\"window\":\"1h\",\"bucket\":\"10m\",\"threshold\":400},{\"window\":\"24h\",\"bucket\":\"1h\",\"threshold\":3000}],"
    " \"suppress\":\"2h\",\"baseline\":{\"ratio\":2,\"sigma\":2,\"learning\":\"2d\",\"min_observations\":2,\"alpha\":0.3}},"
    "{\"id\":\"dist\",\"name\":\"dist\",\"metric\":{\"kind\":\"distinct\",\"field\":\"subscribers\"},"
    " \"window\":\"1h\",\"bucket\":\"10m\",\"threshold\":6,\"suppress\":\"30m\"},"
    "{\"id\":\"watch\",\"name\":\"watch\",\"filter\":{\"watchlisted\":{\"any\":[\"true\"]}},\"window\":\"1h\",\"bucket\":\"1h\",\"threshold\":1},"
    "{\"id\":\"fs\",\"name\":\"fs\",\"kind\":\"first_seen\",\"seen\":{\"field\":\"client_host\","
    " \"new_principal\":true,\"learning\":\"1d\"},\"suppress\":\"1h\"},"
    "{\"id\":\"seq\",\"name\":\"seq\",\"kind\":\"sequence\",\"filter\":{\"object\":\"*cdr*\"},"
    " \"sequence\":{\"trigger\":{\"action\":[\"GRANT\"]},\"extract\":\"[[:space:]]to[[:space:]]+([[:alnum:]_]+)\",\"within\":\"6h\"}},"
    "{\"id\":\"adp\",\"name\":\"adp\",\"metric\":{\"kind\":\"sum\",\"field\":\"rows\"},\"window\":\"1h\",\"bucket\":\"10m\","
    " \"threshold\":400,\"suppress\":\"1h\",\"adaptive\":{\"factor\":1.5,\"learning\":\"2d\"}},"
    "{\"id\":\"uexp\",\"name\":\"uexp\",\"window\":\"1h\",\"bucket\":\"10m\",\"threshold\":1,\"suppress\":\"0s\","
    " \"adaptive\":{\"seen\":[\"client_host\"],\"learning\":\"1d\"}},"
    "{\"id\":\"lk\",\"name\":\"lk\",\"filter\":{\"object\":\"*cdr*\"},\"window\":\"6h\",\"bucket\":\"1h\",\"threshold\":2,"
    " \"suppress\":\"1h\",\"lookups\":{\"quantile\":0.5,\"p_value\":0.2,\"learning\":\"2d\",\"min_observations\":20}},"
    "{\"id\":\"sil\",\"name\":\"sil\",\"kind\":\"silence\",\"key\":[\"principal\"],"
    " \"silence\":{\"gap\":\"3h\",\"min_records\":10,\"min_active_hours\":3}}]}";

typedef struct {
    char id[40];
    int at; /* record index being processed when it was raised */
} got_t;

static got_t got[8192];
static int n_got, cur;
static apr_pool_t *root;

static void sink(void *ctx, const cw_alert_t *a)
{
    (void)ctx;
    if (n_got < 8192) {
        snprintf(got[n_got].id, sizeof got[n_got].id, "%s", a->id);
        got[n_got++].at = cur;
    }
}

static cw_engine_t *engine(apr_pool_t *p, const char *json)
{
    cw_config_t *cfg;
    cw_engine_t *e;
    char err[512];
    if (cw_config_parse(p, "test", json, strlen(json), &cfg, err, sizeof err) != CW_OK ||
        cw_engine_create(p, cfg, sink, NULL, &e, err, sizeof err) != CW_OK) {
        printf("Bail out! %s\n", err);
        exit(1);
    }
    cw_engine_source_id(e, "t", -1);
    return e;
}

/* Record i of a deterministic stream over ~14 days: 6 principals with habits, occasional new
 * hosts, bursts, grants, a busy principal that falls silent, and CDRs. */
static void record(int i, cw_stream_t *stream, char *buf, size_t len)
{
    uint32_t x = (uint32_t)i * 2654435761u;
    long long ts = T0 + (long long)i * 5 * MIN + (x % 240) * 1000;
    int who = (int)(x >> 8) % 6;
    const char *host = (x >> 12) % 97 == 0 ? "mail-ex01" : (x >> 12) % 31 == 0 ? "ws-new" : "ws1";
    *stream = CW_STREAM_AUDIT;
    if (i % 5 == 4) {
        *stream = CW_STREAM_CDR;
        snprintf(buf, len, "{\"start_time\":%lld,\"record_type\":\"voice\",\"calling_msisdn\":\"4477009000%02u\","
                 "\"imsi\":\"2341500000%02u\"}", ts, x % 13, x % 13);
    } else if (i % 611 == 17) {
        snprintf(buf, len, "{\"ts\":%lld,\"principal\":\"dba\",\"action\":\"GRANT\",\"statement\":\"GRANT SELECT ON cdr TO p%d\"}",
                 ts, who);
    } else if (who == 5 && i > 2200 && i < 2600) {
        snprintf(buf, len, "{\"ts\":%lld,\"principal\":\"quiet%d\",\"action\":\"LOGIN\",\"client_host\":\"%s\"}", ts, i / 900, host);
    } else {
        int rows = (x >> 16) % 50 + ((x >> 20) % 53 == 0 ? 900 : 0) + (((ts / HOUR) % 24 == 10) ? 60 : 0);
        snprintf(buf, len, "{\"ts\":%lld,\"principal\":\"p%d\",\"action\":\"SELECT\",\"object\":\"mediation.cdr_voice\","
                 "\"client_host\":\"%s\",\"rows\":%d,\"statement\":\"select * from cdr where m = '4477009000%02u'\","
                 "\"subscribers\":[\"4477009000%02u\",\"4477009001%02u\"]}",
                 ts, who, host, rows, x % 17, x % 17, (x >> 3) % ((x >> 20) % 41 == 0 ? 90 : 3));
    }
}

/* parted: as a Kafka run numbers its inputs — CDRs from source 1 (topic c, partition 0), audit
 * records from source 2 or 3 (topic a, partition 0 or 1, by principal) — instead of one file. */
static bool parted;

static void feed(cw_engine_t *e, int from, int to)
{
    static cw_event_t ev;
    char buf[1024];
    for (int i = from; i < to; i++) {
        cw_stream_t s;
        record(i, &s, buf, sizeof buf);
        if (cw_decode_json(s, buf, strlen(buf), &ev).reason != CW_DEC_OK) {
            printf("Bail out! fixture does not decode: %s\n", buf);
            exit(1);
        }
        ev.pos.name = "t";
        ev.pos.partition = -1;
        ev.pos.offset = i + 1;
        ev.source_index = 0;
        if (parted) {
            ev.pos.name = s == CW_STREAM_CDR ? "c" : "a";
            ev.pos.partition = s == CW_STREAM_CDR ? 0 : (int32_t)(cw_hash64(ev.u.audit.principal, strlen(ev.u.audit.principal), 1) & 1);
            ev.source_index = s == CW_STREAM_CDR ? 1 : 2 + ev.pos.partition;
        }
        cur = i;
        cw_engine_process(e, &ev);
    }
}

static void snapshot(cw_engine_t *e, cw_wbuf_t *w)
{
    char err[256];
    cw_wbuf_init(w);
    if (cw_state_serialize(e, NULL, NULL, w, err, sizeof err) != CW_OK) {
        printf("Bail out! %s\n", err);
        exit(1);
    }
}

/* ---- split anywhere = uncut ---- */

static got_t full[8192];
static int n_full;

static void test_split(int cut)
{
    apr_pool_t *p;
    cw_engine_t *a, *b;
    cw_wbuf_t w, w2;
    char err[256], name[160];
    int first = 0, same;
    apr_pool_create(&p, root);
    n_got = 0;
    a = engine(p, CONFIG);
    feed(a, 0, cut);
    snapshot(a, &w);
    b = engine(p, CONFIG);
    snprintf(name, sizeof name, "cut at record %d: the snapshot (%zu bytes) restores", cut, w.len);
    ok(cw_state_restore(b, w.data, w.len, err, sizeof err) == CW_OK, name);
    snapshot(b, &w2);
    snprintf(name, sizeof name, "cut at record %d: the restored engine serializes to the same bytes", cut);
    ok(w.len == w2.len && memcmp(w.data, w2.data, w.len) == 0, name);
    n_got = 0;
    feed(b, cut, N_REC);
    while (first < n_full && full[first].at < cut)
        first++;
    same = n_got == n_full - first;
    for (int k = 0; same && k < n_got; k++)
        same = strcmp(got[k].id, full[first + k].id) == 0 && got[k].at == full[first + k].at;
    snprintf(name, sizeof name, "cut at record %d: the %d alerts after the cut are the uncut run's (%d)", cut, n_got,
             n_full - first);
    ok(same, name);
    cw_wbuf_free(&w);
    cw_wbuf_free(&w2);
    apr_pool_destroy(p);
}

static void kinds_alerted(void)
{
    /* the comparison is only worth something if every rule fired after some cut */
    static const char *const rules[] = {"th", "dist", "watch", "fs", "seq", "adp", "uexp", "sil"};
    apr_pool_t *p;
    apr_pool_create(&p, root);
    for (size_t r = 0; r < sizeof rules / sizeof rules[0]; r++) {
        int n = 0;
        char cfg[4096], name[96], needle[32];
        /* the same stream through an engine with only this rule kept in the config */
        const char *start = strstr(CONFIG, "\"rules\":["), *rule;
        snprintf(needle, sizeof needle, "{\"id\":\"%s\"", rules[r]);
        rule = strstr(CONFIG, needle);
        const char *end = strstr(rule + 1, "},{\"id\"");
        end = end ? end + 1 : CONFIG + strlen(CONFIG) - 2;
        snprintf(cfg, sizeof cfg, "%.*s%.*s]}", (int)(start - CONFIG + 9), CONFIG, (int)(end - rule), rule);
        n_got = 0;
        feed(engine(p, cfg), 0, N_REC);
        n = n_got;
        snprintf(name, sizeof name, "rule %s alone raises alerts in the stream (%d)", rules[r], n);
        ok(n > 0, name);
        if (strstr(cfg, "\"adaptive\"")) {
            /* and its own history explains some crossings, so the snapshot's peaks and pairs
             * decide alerts after the cuts */
            char *key = strstr(cfg, "\"adaptive\""), *comma = key, *close = strchr(key, '}');
            while (*comma != ',')
                comma--;
            memmove(comma, close + 1, strlen(close + 1) + 1); /* drop ,"adaptive":{...} */
            n_got = 0;
            feed(engine(p, cfg), 0, N_REC);
            snprintf(name, sizeof name, "rule %s without adaptive raises more alerts (%d > %d)", rules[r], n_got, n);
            ok(n_got > n, name);
        }
    }
    apr_pool_destroy(p);
}

/* ---- bad input ---- */

static int restore_into_fresh(const void *data, size_t len, char *err, size_t errlen)
{
    apr_pool_t *p;
    int st;
    apr_pool_create(&p, root);
    st = cw_state_restore(engine(p, CONFIG), data, len, err, errlen);
    apr_pool_destroy(p);
    return st;
}

static void fix_crc(unsigned char *d, size_t len)
{
    uint32_t c = cw_crc32c(d + CW_STATE_HEADER, len - CW_STATE_HEADER);
    for (int i = 0; i < 4; i++)
        d[12 + i] = (unsigned char)(c >> (8 * i));
}

static void test_bad_input(void)
{
    apr_pool_t *p;
    cw_wbuf_t w;
    char err[256];
    unsigned char *d;
    int refused = 0, tried = 0, crafted_ok = 0;
    uint32_t x = 12345;
    apr_pool_create(&p, root);
    {
        cw_engine_t *e = engine(p, CONFIG);
        feed(e, 0, 2000);
        snapshot(e, &w);
    }
    d = malloc(w.len);

    is_int(restore_into_fresh("hello world, not a snapshot", 27, err, sizeof err), CW_ERR_USAGE, "foreign bytes are refused");
    is_str(err, "not a cdrwatch state file", "... as not a state file");
    is_int(restore_into_fresh("", 0, err, sizeof err), CW_ERR_USAGE, "an empty file is refused");
    memcpy(d, w.data, w.len);
    d[8] = 2;
    restore_into_fresh(d, w.len, err, sizeof err);
    is_str(err, "format version 2, this build reads 3", "an older format version is refused, saying which");
    d[8] = 4;
    restore_into_fresh(d, w.len, err, sizeof err);
    is_str(err, "format version 4, this build reads 3", "a newer format version is refused, saying which");
    memcpy(d, w.data, w.len);
    d[w.len / 2] ^= 0x10;
    restore_into_fresh(d, w.len, err, sizeof err);
    is_str(err, "checksum mismatch: the file is damaged", "a flipped bit is a checksum mismatch");
    restore_into_fresh(w.data, w.len - 100, err, sizeof err);
    ok(strncmp(err, "truncated at byte ", 18) == 0, "a truncated file says where it ends");

    /* every truncation, a bit flip in every region: refused, never a crash */
    cw_log_set_level(CW_LOG_WARN); /* the restore decisions of thousands of attempts */
    for (size_t n = 0; n < w.len; n += n < 300 ? 1 : 211) {
        tried++;
        refused += restore_into_fresh(w.data, n, err, sizeof err) != CW_OK;
    }
    for (size_t i = 0; i < w.len * 8; i += 997) {
        memcpy(d, w.data, w.len);
        d[i / 8] ^= (unsigned char)(1u << (i % 8));
        tried++;
        refused += restore_into_fresh(d, w.len, err, sizeof err) != CW_OK;
    }
    is_int(refused, tried, "every truncated or bit-flipped snapshot is refused");

    /* crafted: damaged bytes behind a valid checksum must still never crash or over-allocate */
    for (int k = 0; k < 400; k++) {
        memcpy(d, w.data, w.len);
        for (int j = 0; j < 1 + k % 4; j++) {
            x = x * 1103515245u + 12345u;
            size_t at = CW_STATE_HEADER + (x >> 4) % (w.len - CW_STATE_HEADER);
            d[at] = (unsigned char)(k % 3 == 0 ? 0xff : x >> 24);
        }
        fix_crc(d, w.len);
        crafted_ok += restore_into_fresh(d, w.len, err, sizeof err) == CW_OK;
    }
    ok(crafted_ok < 400, "crafted snapshots with a valid checksum: refused where inconsistent, no crash");
    /* random garbage behind a valid header */
    for (int k = 0; k < 200; k++) {
        size_t n = CW_STATE_HEADER + (size_t)k * 7;
        memcpy(d, w.data, CW_STATE_HEADER);
        for (size_t i = CW_STATE_HEADER; i < n; i++) {
            x = x * 1103515245u + 12345u;
            d[i] = (unsigned char)(x >> 24);
        }
        for (int i = 0; i < 8; i++)
            d[16 + i] = (unsigned char)((uint64_t)(n - CW_STATE_HEADER) >> (8 * i));
        fix_crc(d, n);
        restore_into_fresh(d, n, err, sizeof err);
    }
    ok(1, "random bodies with a valid header and checksum: no crash");
    cw_log_set_level(CW_LOG_INFO);
    free(d);
    cw_wbuf_free(&w);
    apr_pool_destroy(p);
}

/* ---- configuration changes ---- */

static char *replace(apr_pool_t *p, const char *s, const char *from, const char *to)
{
    const char *at = strstr(s, from);
    if (!at) {
        printf("Bail out! '%s' not in the config\n", from);
        exit(1);
    }
    return apr_psprintf(p, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
}

static size_t keys_after_restore(apr_pool_t *p, const char *cfg, const cw_wbuf_t *w)
{
    char err[256];
    cw_engine_t *e = engine(p, cfg);
    if (cw_state_restore(e, w->data, w->len, err, sizeof err) != CW_OK) {
        printf("# %s\n", err);
        return (size_t)-1;
    }
    return cw_engine_keys(e);
}

static bool only_p1(void *ctx, const cw_rule_t *rule, const char *key, size_t len, uint32_t src)
{
    (void)ctx;
    (void)rule;
    (void)src;
    return key && len == 2 && memcmp(key, "p1", 2) == 0;
}

/* The threshold rule's keys in save order (least recently updated first), via a selection. */
typedef struct {
    char keys[64][32];
    int n;
} key_list_t;

static bool list_th_keys(void *ctx, const cw_rule_t *rule, const char *key, size_t len, uint32_t src)
{
    key_list_t *l = ctx;
    (void)src;
    if (key && rule && strcmp(rule->id, "th") == 0 && l->n < 64 && len < sizeof l->keys[0])
        snprintf(l->keys[l->n++], sizeof l->keys[0], "%.*s", (int)len, key);
    return false;
}

static void th_keys_of(cw_engine_t *e, key_list_t *l)
{
    cw_wbuf_t w;
    char err[128];
    l->n = 0;
    cw_wbuf_init(&w);
    cw_state_serialize(e, list_th_keys, l, &w, err, sizeof err);
    cw_wbuf_free(&w);
}

/* A smaller max_keys: the restore keeps the most recently updated keys, as the running engine
 * would have (key tables make room for the announced count in one step, up to max_keys). */
static void test_smaller_max_keys(apr_pool_t *p, const char *only_th, const cw_wbuf_t *w)
{
    char err[256];
    key_list_t all, two;
    cw_engine_t *whole = engine(p, only_th);
    cw_engine_t *small = engine(p, replace(p, only_th, "\"suppress\":\"2h\"", "\"suppress\":\"2h\",\"max_keys\":2"));
    int same;
    cw_state_restore(whole, w->data, w->len, err, sizeof err);
    cw_state_restore(small, w->data, w->len, err, sizeof err);
    th_keys_of(whole, &all);
    th_keys_of(small, &two);
    same = all.n > 2 && two.n == 2 && strcmp(two.keys[0], all.keys[all.n - 2]) == 0 &&
           strcmp(two.keys[1], all.keys[all.n - 1]) == 0;
    ok(same, "a smaller max_keys keeps the 2 most recently updated keys of the snapshot, in order");
}

static void test_config_changes(void)
{
    apr_pool_t *p;
    cw_wbuf_t w, sel;
    cw_engine_t *e, *th_only;
    char err[256];
    const char *th_end = strstr(CONFIG, "},{\"id\":\"dist\"");
    char *only_th, *threshold_changed, *window_changed, *severity_changed, *added;
    size_t th_keys;
    apr_pool_create(&p, root);
    e = engine(p, CONFIG);
    feed(e, 0, 1500);
    snapshot(e, &w);
    only_th = apr_psprintf(p, "%.*s}]}", (int)(th_end - CONFIG), CONFIG);
    th_only = engine(p, only_th);
    feed(th_only, 0, 1500);
    th_keys = cw_engine_keys(th_only);
    ok(th_keys > 0 && th_keys < cw_engine_keys(e), "the threshold rule holds some of the keys");

    threshold_changed = replace(p, only_th, "\"threshold\":400", "\"threshold\":401");
    severity_changed = replace(p, replace(p, only_th, "\"suppress\":\"2h\"", "\"suppress\":\"9h\",\"severity\":11"),
                               "\"ratio\":2", "\"ratio\":5");
    window_changed = replace(p, only_th, "\"bucket\":\"10m\"", "\"bucket\":\"5m\"");
    added = apr_psprintf(p, "%.*s,{\"id\":\"new\",\"name\":\"new\",\"window\":\"1h\",\"bucket\":\"1h\",\"threshold\":9}]}",
                         (int)(strlen(window_changed) - 2), window_changed);
    is_int(keys_after_restore(p, only_th, &w), th_keys, "same definition, other rules removed: its keys are kept, theirs dropped");
    is_int(keys_after_restore(p, threshold_changed, &w), th_keys, "a changed threshold keeps the state");
    is_int(keys_after_restore(p, severity_changed, &w), th_keys, "a changed severity, suppression or baseline ratio keeps the state");
    is_int(keys_after_restore(p, window_changed, &w), 0, "a changed bucket starts the rule fresh");
    is_int(keys_after_restore(p, added, &w), 0, "an added rule starts fresh");
    ok(cw_rule_fingerprint(&cw_engine_rule(th_only, 0)[0]) != 0, "fingerprints are computed");
    test_smaller_max_keys(p, only_th, &w);
    {
        /* the adaptive rules alone: the factor keeps the peaks, peaks off or other seen fields drop */
        const char *adp = strstr(CONFIG, "{\"id\":\"adp\""), *sil = strstr(CONFIG, ",{\"id\":\"sil\"");
        char *only_adp = apr_psprintf(p, "%.*s%.*s]}", (int)(strstr(CONFIG, "\"rules\":[") - CONFIG + 9), CONFIG,
                                      (int)(sil - adp), adp);
        size_t adp_keys = keys_after_restore(p, only_adp, &w);
        ok(adp_keys > 0, "the adaptive rules' keys are restored");
        is_int(keys_after_restore(p, replace(p, only_adp, "\"factor\":1.5", "\"factor\":2"), &w), adp_keys,
               "a changed adaptive.factor keeps the state");
        ok(keys_after_restore(p, replace(p, only_adp, "\"factor\":1.5", "\"factor\":0"), &w) < adp_keys,
           "adaptive peaks turned off start that rule fresh");
        ok(keys_after_restore(p, replace(p, only_adp, "[\"client_host\"]", "[\"client_app\"]"), &w) < adp_keys,
           "other adaptive.seen fields start that rule fresh");
    }

    /* a selection keeps a subset of the keys (the later per-partition checkpoints) */
    cw_wbuf_init(&sel);
    ok(cw_state_serialize(e, only_p1, NULL, &sel, err, sizeof err) == CW_OK && sel.len < w.len,
       "a selection of keys makes a smaller snapshot");
    {
        size_t k = keys_after_restore(p, only_th, &sel);
        is_int(k, 1, "... holding only the selected key of the threshold rule");
    }

    /* the reference starts fresh when its sizing changes, and is kept otherwise */
    {
        cw_engine_t *r1 = engine(p, CONFIG), *r2 = engine(p, replace(p, CONFIG, "\"sketch_width\":1024", "\"sketch_width\":2048"));
        cw_state_restore(r1, w.data, w.len, err, sizeof err);
        cw_state_restore(r2, w.data, w.len, err, sizeof err);
        ok(cw_reference_count(cw_engine_reference(r1), "447700900001") > 0, "same sizing: the CDR reference is kept");
        is_int(cw_reference_count(cw_engine_reference(r2), "447700900001"), 0, "another sketch width: the CDR reference starts fresh");
    }
    cw_wbuf_free(&w);
    cw_wbuf_free(&sel);
    apr_pool_destroy(p);
}

static void test_file(void)
{
    apr_pool_t *p;
    cw_engine_t *e;
    char err[512], path[] = "test_state.tmp";
    FILE *f;
    apr_pool_create(&p, root);
    e = engine(p, CONFIG);
    feed(e, 0, 300);
    is_int(cw_state_write_file(e, path, err, sizeof err), CW_OK, "the snapshot is written to a file");
    is_int(cw_state_load_file(engine(p, CONFIG), path, err, sizeof err), CW_OK, "... and loads back");
    f = fopen(path, "r+b");
    fseek(f, 40, SEEK_SET);
    fputc('x', f);
    fclose(f);
    is_int(cw_state_load_file(engine(p, CONFIG), path, err, sizeof err), CW_ERR_USAGE, "a damaged file is refused");
    ok(strstr(err, path) && strstr(err, "checksum mismatch"), "... with the file name and what is wrong");
    remove(path);
    is_int(cw_state_load_file(engine(p, CONFIG), path, err, sizeof err), CW_ERR_USAGE, "a missing file is refused");
    apr_pool_destroy(p);
}

/* ---- parts: one per input partition, merged back ---- */

typedef struct {
    int part; /* 0: the group's (CDR rules, untagged keys), 2 or 3: that audit source's keys */
    size_t keys; /* restored alone into a fresh engine */
} part_sel_t;

static bool select_part(void *ctx, const cw_rule_t *rule, const char *key, size_t len, uint32_t src)
{
    part_sel_t *ps = ctx;
    (void)key;
    (void)len;
    if (!rule) /* an evidence record */
        return ps->part ? src == (uint32_t)ps->part : src != 2 && src != 3;
    return ps->part ? rule->stream == CW_STREAM_AUDIT && src == (uint32_t)ps->part
                    : rule->stream == CW_STREAM_CDR || (src != 2 && src != 3);
}

static cw_engine_t *parted_engine(apr_pool_t *p)
{
    cw_engine_t *e = engine(p, CONFIG);
    cw_engine_source_id(e, "c", 0);
    cw_engine_source_id(e, "a", 0);
    cw_engine_source_id(e, "a", 1);
    return e;
}

static int cmp_got(const void *a, const void *b) { return strcmp(((const got_t *)a)->id, ((const got_t *)b)->id); }

/* A stream from three inputs cut at `cut`: the engine split into the group's part and one part
 * per audit partition (each key in exactly one), merged into a fresh engine in that order, goes
 * on to raise exactly the alerts of the engine that was not split. */
static void test_parts(int cut)
{
    static got_t want[8192];
    apr_pool_t *p;
    cw_engine_t *a, *b;
    cw_wbuf_t w[3];
    part_sel_t sel[3] = {{0, 0}, {2, 0}, {3, 0}};
    size_t keys = 0;
    int n_want, same = 1;
    char err[256], name[160];
    apr_pool_create(&p, root);
    parted = true;
    a = parted_engine(p);
    b = parted_engine(p);
    feed(a, 0, cut);
    for (int i = 0; i < 3; i++) {
        cw_state_restore_opts_t o = {true, i ? (uint32_t)sel[i].part : CW_STATE_NO_SOURCE, i > 0};
        cw_wbuf_init(&w[i]);
        cw_state_serialize_part(a, select_part, &sel[i], i == 0, &w[i], err, sizeof err);
        {
            cw_engine_t *alone = parted_engine(p);
            cw_state_restore_with(alone, w[i].data, w[i].len, &o, err, sizeof err);
            sel[i].keys = cw_engine_keys(alone);
            keys += sel[i].keys;
        }
        if (cw_state_restore_with(b, w[i].data, w[i].len, &o, err, sizeof err) != CW_OK)
            printf("# part %d: %s\n", i, err);
        cw_wbuf_free(&w[i]);
    }
    snprintf(name, sizeof name, "parts at %d: every key in one part (%zu in all, %zu, %zu and %zu)", cut,
             cw_engine_keys(a), sel[0].keys, sel[1].keys, sel[2].keys);
    is_int((long long)keys, (long long)cw_engine_keys(a), name);
    if (cut >= 100) {
        snprintf(name, sizeof name, "parts at %d: each audit partition's keys in its part, none in the group's", cut);
        ok(sel[0].keys == 0 && sel[1].keys > 0 && sel[2].keys > 0, name);
    }
    snprintf(name, sizeof name, "parts at %d: merged back, the same keys", cut);
    is_int((long long)cw_engine_keys(b), (long long)cw_engine_keys(a), name);
    n_got = 0;
    feed(a, cut, N_REC);
    memcpy(want, got, sizeof got);
    n_want = n_got;
    n_got = 0;
    feed(b, cut, N_REC);
    qsort(want, (size_t)n_want, sizeof *want, cmp_got);
    qsort(got, (size_t)n_got, sizeof *got, cmp_got);
    for (int i = 0; i < n_want && i < n_got; i++)
        same &= strcmp(want[i].id, got[i].id) == 0;
    snprintf(name, sizeof name, "parts at %d: the merged engine raises the same %d alerts", cut, n_want);
    ok(same && n_got == n_want && n_want > 0, name);
    parted = false;
    apr_pool_destroy(p);
}

/* ---- carrying the state into an engine of another configuration (run's SIGHUP) ---- */

static size_t part_keys(cw_engine_t *e, int part)
{
    part_sel_t ps = {part, 0};
    cw_wbuf_t w;
    char err[256];
    cw_state_restore_opts_t o = {true, CW_STATE_NO_SOURCE, true};
    apr_pool_t *p;
    size_t n;
    apr_pool_create(&p, root);
    cw_wbuf_init(&w);
    cw_state_serialize_part(e, select_part, &ps, part == 0, &w, err, sizeof err);
    {
        cw_engine_t *alone = parted_engine(p);
        cw_state_restore_with(alone, w.data, w.len, &o, err, sizeof err);
        n = cw_engine_keys(alone);
    }
    cw_wbuf_free(&w);
    apr_pool_destroy(p);
    return n;
}

static cw_engine_t *carried(apr_pool_t *p, cw_engine_t *old, const char *json)
{
    cw_config_t *cfg;
    cw_engine_t *e = NULL;
    char err[512];
    if (cw_config_parse(p, "reloaded", json, strlen(json), &cfg, err, sizeof err) != CW_OK ||
        cw_state_carry(p, old, cfg, sink, NULL, &e, err, sizeof err) != CW_OK)
        printf("# carry: %s\n", err);
    return e;
}

/* The same configuration carried at `cut`: the new engine raises exactly the old one's alerts,
 * holds the same keys, and each key stays tagged with its input partition (the checkpoint parts
 * are the same); the old engine is left as it was. */
static void test_carry(int cut)
{
    static got_t want[8192];
    apr_pool_t *p;
    cw_engine_t *a, *b;
    int n_want, same = 1;
    char name[160];
    apr_pool_create(&p, root);
    parted = true;
    a = parted_engine(p);
    feed(a, 0, cut);
    b = carried(p, a, CONFIG);
    if (!b) {
        ok(0, "carry: a new engine");
        apr_pool_destroy(p);
        parted = false;
        return;
    }
    snprintf(name, sizeof name, "carry at %d: the same keys (%zu), in the same checkpoint parts", cut, cw_engine_keys(a));
    ok(cw_engine_keys(b) == cw_engine_keys(a) && part_keys(b, 0) == part_keys(a, 0) &&
       part_keys(b, 2) == part_keys(a, 2) && part_keys(b, 3) == part_keys(a, 3), name);
    n_got = 0;
    feed(a, cut, N_REC);
    memcpy(want, got, sizeof got);
    n_want = n_got;
    n_got = 0;
    feed(b, cut, N_REC);
    for (int i = 0; i < n_want && i < n_got; i++)
        same &= strcmp(want[i].id, got[i].id) == 0 && want[i].at == got[i].at;
    snprintf(name, sizeof name, "carry at %d: the new engine raises the old one's %d alerts, in order", cut, n_want);
    ok(same && n_got == n_want && n_want > 0, name);
    parted = false;
    apr_pool_destroy(p);
}

static void test_carry_changes(void)
{
    apr_pool_t *p;
    cw_engine_t *a;
    const char *th_end = strstr(CONFIG, "},{\"id\":\"dist\"");
    char *only_th, *added, *low;
    size_t th_keys;
    apr_pool_create(&p, root);
    only_th = apr_psprintf(p, "%.*s}]}", (int)(th_end - CONFIG), CONFIG);
    a = engine(p, only_th);
    feed(a, 0, 1500);
    th_keys = cw_engine_keys(a);
    low = replace(p, only_th, "\"threshold\":400", "\"threshold\":40");
    is_int(cw_engine_keys(carried(p, a, low)), th_keys, "carry: a changed threshold keeps the rule's state");
    is_int(cw_engine_keys(carried(p, a, replace(p, only_th, "\"bucket\":\"10m\"", "\"bucket\":\"5m\""))), 0,
           "carry: a changed bucket starts the rule fresh");
    added = apr_psprintf(p, "%.*s,{\"id\":\"new\",\"name\":\"new\",\"window\":\"1h\",\"bucket\":\"1h\",\"threshold\":9}]}",
                         (int)(strlen(only_th) - 2), only_th);
    {
        cw_engine_t *b = carried(p, a, added);
        is_int(b ? cw_engine_rule_count(b) : 0, 2, "carry: an added rule is in the new engine");
        is_int(b ? cw_engine_keys(b) : 0, th_keys, "... starting fresh, the kept rule with its keys");
        feed(b, 1500, 1600);
        ok(cw_engine_keys(b) > th_keys, "... and tracks keys from the next record on");
    }
    /* the running engine is what it was: a fresh carry from it still holds the same keys */
    is_int(cw_engine_keys(a), th_keys, "carry: the old engine is left as it was");
    apr_pool_destroy(p);
}

/* ---- the codec of format version 3 ---- */

static uint32_t crc32c_bitwise(const unsigned char *p, size_t n)
{
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = crc & 1 ? (crc >> 1) ^ 0x82f63b78u : crc >> 1;
    }
    return crc ^ 0xffffffffu;
}

static void test_crc(void)
{
    unsigned char buf[1003];
    uint32_t x = 7;
    int same = 0, tried = 0;
    is_int(cw_crc32c("123456789", 9), 0xe3069283u, "CRC-32C of \"123456789\" is the check value 0xE3069283");
    for (size_t i = 0; i < sizeof buf; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (unsigned char)(x >> 16);
    }
    for (size_t n = 0; n <= 1000; n += n < 20 ? 1 : 98, tried++)
        same += cw_crc32c(buf + 3, n) == crc32c_bitwise(buf + 3, n);
    is_int(same, tried, "CRC-32C by slices equals the bitwise definition at every length and alignment tried");
}

static void test_varints(void)
{
    static const uint64_t uv[] = {0, 1, 127, 128, 16383, 16384, UINT32_MAX, (uint64_t)1 << 63, UINT64_MAX};
    static const size_t uv_len[] = {1, 1, 1, 2, 2, 3, 5, 10, 10};
    static const int64_t sv[] = {0, -1, 1, -64, 63, -65, INT64_MIN, INT64_MAX};
    static const size_t sv_len[] = {1, 1, 1, 1, 1, 2, 10, 10};
    const int64_t clocks[] = {T0, INT64_MIN, 0, -5, INT64_MAX};
    char err[128];
    cw_wbuf_t w;
    cw_rbuf_t r;
    int uv_ok = 0, sv_ok = 0, t_ok = 0, t_tried = 0;
    for (size_t i = 0; i < sizeof uv / sizeof uv[0]; i++) {
        cw_wbuf_init(&w);
        cw_wbuf_uv(&w, uv[i]);
        cw_rbuf_init(&r, w.data, w.len, 0, err, sizeof err);
        uv_ok += w.len == uv_len[i] && cw_rbuf_uv(&r) == uv[i] && r.pos == w.len && !r.failed;
        cw_wbuf_free(&w);
    }
    is_int(uv_ok, sizeof uv / sizeof uv[0], "unsigned varints round-trip in 1 byte below 128 ... 10 at 2^63");
    for (size_t i = 0; i < sizeof sv / sizeof sv[0]; i++) {
        cw_wbuf_init(&w);
        cw_wbuf_sv(&w, sv[i]);
        cw_rbuf_init(&r, w.data, w.len, 0, err, sizeof err);
        sv_ok += w.len == sv_len[i] && cw_rbuf_sv(&r) == sv[i] && !r.failed;
        cw_wbuf_free(&w);
    }
    is_int(sv_ok, sizeof sv / sizeof sv[0], "signed varints (zig-zag) round-trip, small magnitudes of either sign short");
    for (size_t c = 0; c < sizeof clocks / sizeof clocks[0]; c++) {
        const int64_t base = clocks[c] == INT64_MIN ? 0 : clocks[c];
        const int64_t times[] = {INT64_MIN, INT64_MAX, INT64_MIN + 1, 0, T0, T0 - 1, T0 + DAY, clocks[c],
                                 (int64_t)((uint64_t)base + ((uint64_t)1 << 63)), /* 2^63 from the clock */
                                 (int64_t)((uint64_t)base + ((uint64_t)1 << 63) + 1)};
        for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
            cw_wbuf_init(&w);
            w.clock = clocks[c];
            cw_wbuf_time(&w, times[i]);
            cw_rbuf_init(&r, w.data, w.len, 0, err, sizeof err);
            r.clock = clocks[c];
            t_tried++;
            t_ok += cw_rbuf_time(&r) == times[i] && r.pos == w.len && !r.failed &&
                    (times[i] != INT64_MIN || w.len == 1) && (times[i] != clocks[c] || w.len == 1);
            cw_wbuf_free(&w);
        }
    }
    is_int(t_ok, t_tried, "times relative to the clock round-trip for every value tried; none and the clock take 1 byte");

    {
        static const unsigned char eleven[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
        static const unsigned char high[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
        static const unsigned char cut[] = {0x80, 0x80};
        cw_rbuf_init(&r, eleven, sizeof eleven, 100, err, sizeof err);
        cw_rbuf_uv(&r);
        is_str(err, "bad varint at byte 100", "a varint of 11 bytes is refused");
        cw_rbuf_init(&r, high, sizeof high, 0, err, sizeof err);
        cw_rbuf_uv(&r);
        ok(r.failed, "a varint with bits beyond 64 is refused");
        cw_rbuf_init(&r, cut, sizeof cut, 0, err, sizeof err);
        cw_rbuf_uv(&r);
        is_str(err, "truncated at byte 2", "a varint cut short is refused as truncated");
    }
}

/* Sparse structures: a window, a baseline and peaks holding one value each are a few bytes, and
 * read back to the same values; a slot gap past the end is refused. */
static void test_sparse(void)
{
    enum { NB = 168 };
    static union {
        cw_window_t w;
        unsigned char room[sizeof(cw_window_t) + NB * sizeof(cw_bucket_t)];
    } a, b;
    cw_baseline_t ba, bb;
    cw_peaks_t pa, pb;
    cw_peaks_pool_t *pp;
    apr_pool_t *p;
    const uint32_t map[2] = {0, 1};
    char err[160];
    cw_wbuf_t w;
    cw_rbuf_t r;
    size_t n;
    cw_window_init(&a.w, NB, NULL);
    cw_window_add(&a.w, NB, HOUR, T0 + 5 * HOUR, 42, 1, 12345);
    cw_wbuf_init(&w);
    cw_state_put_window(&w, &a.w, NB, NULL);
    n = w.len;
    memset(&b, 0xab, sizeof b);
    cw_window_init(&b.w, NB, NULL);
    cw_rbuf_init(&r, w.data, w.len, 0, err, sizeof err);
    ok(n <= 16, "a window of 168 buckets with one used is at most 16 bytes");
    ok(cw_state_get_window(&r, &b.w, NB, map, 2) && r.pos == w.len && memcmp(&a.w, &b.w, sizeof a.w) == 0,
       "... and reads back to the same window, the other buckets empty");
    cw_wbuf_free(&w);
    cw_wbuf_init(&w); /* head, sum, count, 1 used bucket, its gap: one past the last slot */
    cw_wbuf_sv(&w, a.w.head);
    cw_wbuf_sv(&w, 42);
    cw_wbuf_uv(&w, 1);
    cw_wbuf_uv(&w, 1);
    cw_wbuf_uv(&w, NB);
    cw_wbuf_sv(&w, 42);
    cw_wbuf_uv(&w, 1);
    cw_wbuf_uv(&w, 1);
    cw_wbuf_sv(&w, 12345);
    cw_rbuf_init(&r, w.data, w.len, 0, err, sizeof err);
    ok(!cw_state_get_window(&r, &b.w, NB, map, 2) && strstr(err, "goes past the 168 slots"),
       "a bucket gap past the window's slots is refused");
    cw_wbuf_free(&w);

    cw_baseline_init(&ba);
    cw_baseline_add(&ba, T0, 10, 0.3);
    cw_baseline_add(&ba, T0 + 2 * HOUR, 30, 0.3);
    cw_wbuf_init(&w);
    cw_state_put_baseline(&w, &ba);
    n = w.len;
    memset(&bb, 0xab, sizeof bb);
    cw_rbuf_init(&r, w.data, w.len, 0, err, sizeof err);
    ok(n <= 3 + 8 + 1 + 2 * 6, "a baseline with a couple of slots used is a few bytes, not 856");
    ok(cw_state_get_baseline(&r, &bb) && r.pos == w.len && memcmp(&ba, &bb, sizeof ba) == 0,
       "... and reads back to the same baseline");
    cw_wbuf_free(&w);

    apr_pool_create(&p, root);
    cw_peaks_pool_create(p, &pp);
    cw_peaks_init(&pa, pp);
    cw_peaks_add(&pa, T0 + 3 * HOUR, 17);
    cw_wbuf_init(&w);
    cw_state_put_peaks(&w, &pa);
    n = w.len;
    memset(&pb, 0xab, sizeof pb);
    cw_peaks_init(&pb, pp);
    cw_rbuf_init(&r, w.data, w.len, 0, err, sizeof err);
    ok(n <= 1 + 1 + 3 + 2 + 2, "peaks with one day and one hour used are a few bytes, not 728");
    ok(cw_state_get_peaks(&r, &pb) && r.pos == w.len && memcmp(&pa, &pb, sizeof pa) == 0,
       "... and read back to the same peaks");
    cw_wbuf_free(&w);
    /* peaks that need a whole table: 20 hours of 20 days (the last 14 kept) */
    for (int k = 0; k < 20; k++)
        cw_peaks_add(&pa, T0 + k * (CW_MS_PER_DAY + HOUR), 100 + k);
    cw_wbuf_init(&w);
    cw_state_put_peaks(&w, &pa);
    cw_rbuf_init(&r, w.data, w.len, 0, err, sizeof err);
    ok(cw_state_get_peaks(&r, &pb) && r.pos == w.len && cw_blocks_used(pp) == 2,
       "peaks held in a table read back into a table of their own");
    {
        cw_peaks_rows_t ra, rb;
        cw_peaks_get_rows(&pa, &ra);
        cw_peaks_get_rows(&pb, &rb);
        ok(memcmp(&ra, &rb, sizeof ra) == 0, "... the same table");
    }
    cw_wbuf_free(&w);
    apr_pool_destroy(p);
}

/* Parts of different moments, as after a rebalance: the partition that moved brings the part its
 * last owner wrote at cut1, the group's part and the other partition's go on to cut2. Merged, the
 * moved partition's records from cut1 on are not late (the oldest clock wins). (What they raise
 * is not always the unsplit engine's: keys that are not the partitioning's — a host, a
 * subscriber — hold records of both partitions, and the CDR reference is cut2's.) */
static void test_parts_of_two_moments(int cut1, int cut2)
{
    apr_pool_t *p;
    cw_engine_t *a, *b;
    cw_wbuf_t w;
    part_sel_t g = {0, 0}, moved = {2, 0}, kept = {3, 0};
    char err[256], name[200];
    int late = 0;
    static cw_event_t ev;
    char buf[1024];
    apr_pool_create(&p, root);
    parted = true;
    a = parted_engine(p);
    b = parted_engine(p);
    feed(a, 0, cut1);
    cw_wbuf_init(&w);
    cw_state_serialize_part(a, select_part, &moved, false, &w, err, sizeof err);
    feed(a, cut1, cut2);
    {
        cw_state_restore_opts_t og = {true, CW_STATE_NO_SOURCE, false}, o3 = {true, 3, true}, o2 = {true, 2, true};
        cw_wbuf_t wg, w3;
        cw_wbuf_init(&wg);
        cw_wbuf_init(&w3);
        cw_state_serialize_part(a, select_part, &g, true, &wg, err, sizeof err);
        cw_state_serialize_part(a, select_part, &kept, false, &w3, err, sizeof err);
        cw_state_restore_with(b, wg.data, wg.len, &og, err, sizeof err);
        cw_state_restore_with(b, w3.data, w3.len, &o3, err, sizeof err);
        cw_state_restore_with(b, w.data, w.len, &o2, err, sizeof err);
        cw_wbuf_free(&wg);
        cw_wbuf_free(&w3);
    }
    for (int i = cut1; i < cut2; i++) { /* the moved partition's records, read again from its part */
        cw_stream_t st;
        record(i, &st, buf, sizeof buf);
        if (st != CW_STREAM_AUDIT || cw_decode_json(st, buf, strlen(buf), &ev).reason != CW_DEC_OK)
            continue;
        if ((cw_hash64(ev.u.audit.principal, strlen(ev.u.audit.principal), 1) & 1) != 0)
            continue; /* partition 1: not the moved one */
        ev.pos.name = "a";
        ev.pos.partition = 0;
        ev.pos.offset = i + 1;
        ev.source_index = 2;
        cur = i;
        late += cw_engine_process(b, &ev) == CW_DEC_LATE;
    }
    snprintf(name, sizeof name, "parts of two moments (%d, %d): the moved partition's records are not late (%d)", cut1,
             cut2, late);
    is_int(late, 0, name);
    cw_wbuf_free(&w);
    parted = false;
    apr_pool_destroy(p);
}

int main(void)
{
    static const int cuts[] = {1, 2, 17, 100, 288, 577, 1000, 1013, 1500, 2210, 2399, 2950, 3333, 3999};
    apr_initialize();
    apr_pool_create(&root, NULL);
    {
        apr_pool_t *p;
        apr_pool_create(&p, root);
        n_got = 0;
        feed(engine(p, CONFIG), 0, N_REC);
        memcpy(full, got, sizeof got);
        n_full = n_got;
        printf("# uncut run: %d alerts\n", n_full);
        apr_pool_destroy(p);
    }
    kinds_alerted();
    test_crc();
    test_varints();
    test_sparse();
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++)
        test_split(cuts[i]);
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i += 3)
        test_parts(cuts[i]);
    test_bad_input();
    test_config_changes();
    for (size_t i = 1; i < sizeof cuts / sizeof cuts[0] - 1; i += 4)
        test_carry(cuts[i]);
    test_carry(cuts[sizeof cuts / sizeof cuts[0] - 3]);
    test_carry_changes();
    test_parts_of_two_moments(1000, 1500);
    test_parts_of_two_moments(2210, 2950);
    test_file();
    apr_pool_destroy(root);
    apr_terminate();
    return done_testing();
}
