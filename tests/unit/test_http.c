/*
 * test_http.c — the Prometheus exposition of /metrics (names, types, escaping of label values,
 * one HELP and TYPE per family, its samples right after them) and the parsing of
 * outputs.http_listen. No network: the server itself is tested end to end by
 * tests/e2e/kafka_http.sh.
 */
#include <stdlib.h>
#include <apr_general.h>
#include "cdrwatch/config.h"
#include "cdrwatch/http.h"
#include "tap.h"

/* Lines of text starting with prefix. */
static int count_prefix(const char *text, const char *prefix)
{
    int n = 0;
    size_t len = strlen(prefix);
    for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
        n += strncmp(l, prefix, len) == 0;
    return n;
}

static bool has_line(const char *text, const char *line)
{
    size_t len = strlen(line);
    for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
        if (strncmp(l, line, len) == 0 && l[len] == '\n')
            return true;
    return false;
}

/* Every family: HELP once, then TYPE, then only its own samples; counters end in _total. */
static void check_families(const char *text)
{
    char fam[128] = "", type[32] = "", name[160];
    bool shape = true, once = true, counters = true, prefixed = true;
    for (const char *l = text; *l; l = strchr(l, '\n') + 1) {
        if (sscanf(l, "# HELP %127s", fam) == 1) {
            char help[160];
            snprintf(help, sizeof help, "# HELP %s ", fam);
            once &= count_prefix(text, help) == 1;
            snprintf(help, sizeof help, "# TYPE %s ", fam);
            once &= count_prefix(text, help) == 1;
            type[0] = '\0';
        } else if (sscanf(l, "# TYPE %*s %31s", type) == 1) {
            counters &= strcmp(type, "counter") != 0 || (strlen(fam) > 6 && strcmp(fam + strlen(fam) - 6, "_total") == 0);
        } else if (sscanf(l, "%159[^{ ]", name) == 1) {
            shape &= strcmp(name, fam) == 0 && type[0];
        }
        prefixed &= strncmp(l, "cdrwatch_", 9) == 0 || strncmp(l + 7, "cdrwatch_", 9) == 0;
    }
    ok(once, "HELP and TYPE once per family");
    ok(shape, "each sample follows its family's HELP and TYPE");
    ok(counters, "counters end in _total");
    ok(prefixed, "every name has the cdrwatch_ prefix");
}

static void test_exposition(void)
{
    cw_kafka_stats_t st = {0};
    cw_kafka_part_lag_t lags[] = {{"db-audit", 0, 12}, {"db-audit", 1, -1}, {"cdr\"x", 2, 0}};
    cw_kafka_rule_alerts_t rules[] = {{"bulk_read", 3}, {"we\"ird\\id\nx", 1}, {"quiet", 0}};
    size_t len = 0;
    char *text;

    st.records_by_stream[CW_STREAM_CDR] = 5;
    st.records_by_stream[CW_STREAM_AUDIT] = 7;
    st.dead[CW_DEC_LATE] = 2;
    st.dead[CW_DEC_BAD_JSON] = 1;
    st.repaired = 4;
    st.evictions = 9;
    st.partitions = 3;
    st.ready = true;
    st.checkpoint_age_ms = 2500;
    st.part_lag = lags;
    st.n_part_lag = 3;
    st.rule_alerts = rules;
    st.n_rule_alerts = 3;
    st.n_brokers[1] = 1;
    cw_strlcpy(st.brokers[1][0].name, "127.0.0.1:9092/1", sizeof st.brokers[1][0].name);
    st.brokers[1][0].up = true;
    st.brokers[1][0].rtt_avg_s = 0.000250;
    st.n_brokers[0] = 1;
    cw_strlcpy(st.brokers[0][0].name, "k2:9092/2", sizeof st.brokers[0][0].name);
    st.brokers[0][0].rtt_avg_s = -1;

    text = cw_http_metrics_text(&st, &len);
    ok(text != NULL, "formatted");
    if (!text)
        return;
    is_int(len, strlen(text), "length returned");
    check_families(text);
    ok(has_line(text, "cdrwatch_records_total{stream=\"cdr\"} 5"), "records by stream (cdr)");
    ok(has_line(text, "cdrwatch_records_total{stream=\"audit\"} 7"), "records by stream (audit)");
    ok(has_line(text, "# TYPE cdrwatch_records_total counter"), "records_total is a counter");
    ok(has_line(text, "cdrwatch_alerts_total{rule=\"bulk_read\"} 3"), "alerts by rule");
    ok(has_line(text, "cdrwatch_alerts_total{rule=\"quiet\"} 0"), "a rule without alerts shows 0");
    ok(has_line(text, "cdrwatch_alerts_total{rule=\"we\\\"ird\\\\id\\nx\"} 1"),
       "label value escaped: quote, backslash, line feed");
    ok(has_line(text, "cdrwatch_dead_letters_total{reason=\"late\"} 2"), "dead letters by reason (late)");
    ok(has_line(text, "cdrwatch_dead_letters_total{reason=\"bad_json\"} 1"), "dead letters by reason (bad_json)");
    ok(has_line(text, "cdrwatch_dead_letters_total{reason=\"bad_csv\"} 0"), "every reason shown");
    is_int(count_prefix(text, "cdrwatch_dead_letters_total{"), CW_DEC_REASON_COUNT - 1, "one sample per reason");
    ok(has_line(text, "cdrwatch_repaired_records_total 4"), "repaired records");
    ok(has_line(text, "cdrwatch_evictions_total 9"), "evictions");
    ok(has_line(text, "cdrwatch_consumer_lag_records{topic=\"db-audit\",partition=\"0\"} 12"), "lag per partition");
    ok(has_line(text, "cdrwatch_consumer_lag_records{topic=\"cdr\\\"x\",partition=\"2\"} 0"), "topic escaped, lag 0 shown");
    ok(!strstr(text, "partition=\"1\""), "unknown lag left out");
    ok(has_line(text, "cdrwatch_checkpoint_age_seconds 2.5"), "checkpoint age in seconds");
    ok(has_line(text, "cdrwatch_assigned_partitions 3"), "assigned partitions");
    ok(has_line(text, "cdrwatch_ready 1"), "ready");
    ok(has_line(text, "cdrwatch_kafka_broker_up{client=\"consumer_audit\",broker=\"127.0.0.1:9092/1\"} 1"),
       "broker up, per client");
    ok(has_line(text, "cdrwatch_kafka_broker_up{client=\"producer\",broker=\"k2:9092/2\"} 0"), "broker down");
    ok(has_line(text, "cdrwatch_kafka_broker_rtt_seconds{client=\"consumer_audit\",broker=\"127.0.0.1:9092/1\"} 0.00025"),
       "rtt in seconds");
    ok(!strstr(text, "rtt_seconds{client=\"producer\""), "unknown rtt left out");
    free(text);

    st.checkpoint_age_ms = -1;
    st.ready = false;
    st.n_rule_alerts = 0;
    text = cw_http_metrics_text(&st, &len);
    ok(text && !strstr(text, "checkpoint_age"), "no checkpoint yet: no age");
    ok(text && has_line(text, "cdrwatch_ready 0"), "not ready");
    ok(text && has_line(text, "# TYPE cdrwatch_alerts_total counter"), "a family without samples keeps HELP and TYPE");
    if (text)
        check_families(text);
    free(text);
}

static void listen_ok(const char *spec, const char *host, const char *port)
{
    char h[64] = "", p[8] = "", err[256] = "", name[128];
    cw_status_t st = cw_http_parse_listen("f.json", spec, h, sizeof h, p, sizeof p, err, sizeof err);
    snprintf(name, sizeof name, "listen \"%s\" accepted", spec);
    is_int(st, CW_OK, name);
    snprintf(name, sizeof name, "listen \"%s\": host", spec);
    is_str(h, host, name);
    snprintf(name, sizeof name, "listen \"%s\": port", spec);
    is_str(p, port, name);
}

static void listen_bad(const char *spec)
{
    char h[64], p[8], err[256] = "", want[160], name[128];
    cw_status_t st = cw_http_parse_listen("f.json", spec, h, sizeof h, p, sizeof p, err, sizeof err);
    snprintf(name, sizeof name, "listen \"%s\" refused", spec);
    is_int(st, CW_ERR_USAGE, name);
    snprintf(want, sizeof want, "f.json: outputs.http_listen: expected PORT or ADDR:PORT (port 1 to 65535), got \"%s\"", spec);
    snprintf(name, sizeof name, "listen \"%s\": message names the option", spec);
    is_str(err, want, name);
}

static void test_listen(void)
{
    listen_ok("9464", "127.0.0.1", "9464");
    listen_ok("0.0.0.0:80", "0.0.0.0", "80");
    listen_ok("[::1]:9464", "::1", "9464");
    listen_ok("localhost:65535", "localhost", "65535");
    listen_bad("");
    listen_bad("abc");
    listen_bad("0");
    listen_bad("65536");
    listen_bad("-5");
    listen_bad(":80");
    listen_bad("host:");
    listen_bad("[::1:80");
    listen_bad("127.0.0.1:80x");
}

/* The configuration refuses a malformed value at load (check-config too), naming the file. */
static void test_config(void)
{
    static const char bad[] = "{\"outputs\": {\"http_listen\": \"localhost\"}}";
    static const char good[] = "{\"outputs\": {\"http_listen\": \"9464\"}}";
    apr_pool_t *pool;
    cw_config_t *cfg = NULL;
    char err[512] = "";
    apr_pool_create(&pool, NULL);
    is_int(cw_config_parse(pool, "site.json", bad, strlen(bad), &cfg, err, sizeof err), CW_ERR_USAGE,
           "config: a malformed outputs.http_listen is refused");
    is_str(err, "site.json: outputs.http_listen: expected PORT or ADDR:PORT (port 1 to 65535), got \"localhost\"",
           "config: the message names the file and the option");
    is_int(cw_config_parse(pool, "site.json", good, strlen(good), &cfg, err, sizeof err), CW_OK,
           "config: a port alone is accepted");
    is_str(cfg ? cfg->http_listen : NULL, "9464", "config: the value kept");
    apr_pool_destroy(pool);
}

int main(void)
{
    apr_initialize();
    test_exposition();
    test_listen();
    test_config();
    apr_terminate();
    return done_testing();
}
