/* test_alert.c — the alert encoder: valid JSON whatever the input, doc/formats.md §2 fields, bounded
 * size, and ids that are a stable function of (rule id, key, window start). */
#include <stdlib.h>
#include <apr_general.h>
#include <cjson/cJSON.h>
#include "cdrwatch/alert.h"
#include "tap.h"

static const char *get(cJSON *root, const char *path)
{
    /* dotted path; "@timestamp" has no dot */
    static char buf[256];
    cJSON *node = root;
    const char *p = path;
    while (node && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        snprintf(buf, sizeof buf, "%.*s", (int)n, p);
        node = cJSON_GetObjectItemCaseSensitive(node, buf);
        p = dot ? dot + 1 : p + n;
    }
    if (!node)
        return "(absent)";
    if (cJSON_IsString(node))
        return node->valuestring;
    snprintf(buf, sizeof buf, "%.0f", node->valuedouble);
    return buf;
}

int main(void)
{
    apr_pool_t *pool;
    cw_config_t *cfg;
    cw_event_t ev;
    cw_alert_t a;
    cw_observer_t obs = {"host-1", "9.9.9", 1700000000000LL, CW_FORMAT_ECS};
    char err[256], buf[CW_ALERT_MAX];
    const char *conf = "{\"rules\":[{\"id\":\"bulk\",\"name\":\"Bulk \\\"read\\\"\",\"threshold\":5,"
                       "\"severity\":73,\"techniques\":[\"T1213\",\"T1119\"],\"key\":[\"principal\",\"client_host\"]}]}";
    size_t n;
    cJSON *root;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    if (cw_config_parse(pool, "t", conf, strlen(conf), &cfg, err, sizeof err) != CW_OK) {
        printf("# %s\n", err);
        return 1;
    }
    cw_event_reset(&ev, CW_STREAM_AUDIT);
    ev.ts = ev.u.audit.ts = 1772589965023LL;
    strcpy(ev.u.audit.principal, "eve\"\\\n");
    strcpy(ev.u.audit.client_host, "mail\x01-ex01");
    strcpy(ev.u.audit.action, "SELECT");
    strcpy(ev.u.audit.object, "mediation.cdr_voice");
    /* a statement longer than the 512 bytes kept, with a 2-byte character across the cut */
    memset(ev.u.audit.statement, 'x', 600);
    ev.u.audit.statement[511] = '\xc3';
    ev.u.audit.statement[512] = '\xa9';
    ev.u.audit.statement[600] = '\0';
    ev.present = 0xffff;
    ev.pos.name = "audit.jsonl";
    ev.pos.partition = -1;
    ev.pos.offset = 42;

    memset(&a, 0, sizeof a);
    a.rule = &cfg->rules[0];
    a.ev = &ev;
    a.key = "eve\"\\\n\x1fmail\x01-ex01";
    a.keylen = strlen(a.key);
    a.window_start = 1772586000000LL;
    a.window_end = 1772589600000LL + 300000;
    a.at = ev.ts;
    a.principal = ev.u.audit.principal;
    a.severity = cfg->rules[0].severity;
    a.metric = "count";
    a.window_name = "1h";
    a.value = 46700;
    a.threshold = 40000;
    a.records = 13;
    a.first = ev.pos;
    a.first.offset = 7;
    a.last = ev.pos;
    a.objects[a.n_objects++] = "mediation.cdr_voice";
    a.objects[a.n_objects++] = "mediation.cdr_sms";
    a.statements[a.n_statements++] = "SELECT * FROM \"cdr\"";
    a.subscribers[a.n_subscribers++] = "447700900123";
    cw_alert_make_id(&a);

    n = cw_alert_encode(&a, &obs, buf, sizeof buf);
    ok(n > 0 && buf[n - 1] == '\n' && strchr(buf, '\n') == buf + n - 1, "one line, ending with a newline");
    root = cJSON_ParseWithLength(buf, n);
    ok(root != NULL, "the alert is valid JSON despite quotes, backslashes and control bytes");
    is_str(get(root, "@timestamp"), "2026-03-04T02:06:05.023Z", "@timestamp is the record's event time");
    is_str(get(root, "event.kind"), "alert", "event.kind");
    is_str(get(root, "event.id"), a.id, "event.id");
    is_str(get(root, "event.start"), "2026-03-04T01:00:00.000Z", "event.start");
    is_str(get(root, "event.end"), "2026-03-04T02:05:00.000Z", "event.end");
    is_str(get(root, "event.severity"), "73", "event.severity");
    is_str(get(root, "rule.id"), "bulk", "rule.id");
    is_str(get(root, "rule.name"), "Bulk \"read\"", "rule.name with quotes survives");
    is_str(get(root, "threat.framework"), "MITRE ATT&CK", "threat.framework");
    ok(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "threat"), "technique")) == 2,
       "two techniques");
    is_str(get(root, "user.name"), "eve\"\\\n", "user.name round-trips exactly");
    is_str(get(root, "source.address"), "mail\x01-ex01", "source.address with a control byte round-trips");
    is_str(get(root, "cdrwatch.metric.value"), "46700", "metric value");
    is_str(get(root, "cdrwatch.metric.threshold"), "40000", "metric threshold");
    is_str(get(root, "cdrwatch.metric.name"), "count", "metric name");
    is_str(get(root, "cdrwatch.evidence.records"), "13", "evidence: records");
    is_str(get(root, "cdrwatch.evidence.first"), "audit.jsonl:7", "evidence: first position");
    is_str(get(root, "cdrwatch.evidence.last"), "audit.jsonl:42", "evidence: last position");
    is_str(get(root, "cdrwatch.key.client_host"), "mail\x01-ex01", "both key fields are reported");
    {
        const char *st = get(root, "cdrwatch.evidence.statement");
        ok(strlen(st) == 511 + 3 && strcmp(st + 511, "\xe2\x80\xa6") == 0,
           "a long statement is cut before a split UTF-8 character, with an ellipsis");
    }
    is_str(get(root, "cdrwatch.observer.host"), "host-1", "observer.host");
    {
        cJSON *evd = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "cdrwatch"), "evidence");
        cJSON *objs = cJSON_GetObjectItem(evd, "objects"), *sts = cJSON_GetObjectItem(evd, "statements");
        ok(cJSON_GetArraySize(objs) == 2 && strcmp(cJSON_GetArrayItem(objs, 1)->valuestring, "mediation.cdr_sms") == 0,
           "evidence: sample objects");
        ok(cJSON_GetArraySize(sts) == 1 && strcmp(cJSON_GetArrayItem(sts, 0)->valuestring, "SELECT * FROM \"cdr\"") == 0,
           "evidence: sample statements, escaped");
        ok(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "cdrwatch"), "metric"), "baseline") == NULL,
           "no baseline object without a baseline");
    }
    cJSON_Delete(root);

    n = cw_alert_encode(&a, NULL, buf, sizeof buf);
    ok(strstr(buf, "observer") == NULL, "without an observer there is no observer object");

    {
        cw_alert_t b = a;
        char id[33];
        memcpy(id, a.id, sizeof id);
        cw_alert_make_id(&b);
        is_str(b.id, id, "the id is a function of its inputs");
        b.value = 1;
        b.records = 99;
        b.severity = 1;
        b.ev = &ev;
        cw_alert_make_id(&b);
        is_str(b.id, id, "the id does not depend on the value or the evidence");
        b.window_start += 300000;
        cw_alert_make_id(&b);
        ok(strcmp(b.id, id) != 0, "another window, another id");
        b = a;
        b.keylen--;
        cw_alert_make_id(&b);
        ok(strcmp(b.id, id) != 0, "another key, another id");
        /* Golden value: ids must not change between versions or machines, or consumers that
         * drop duplicates by id would see old alerts again after an upgrade. */
        is_str(id, "6e0eb1d3027ce6f7dea46b5807f0cb9e", "the id is stable across versions and machines");
    }

    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
