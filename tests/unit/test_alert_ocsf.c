/* test_alert_ocsf.c — the OCSF shape of an alert (outputs.format "ocsf", doc/formats.md §2.1): one
 * Detection Finding built by hand, its attributes asserted one by one; the severity mapping at
 * its edges; and the worst case of every bounded piece still fitting CW_ALERT_MAX. */
#include <stdlib.h>
#include <apr_general.h>
#include <cjson/cJSON.h>
#include "cdrwatch/alert.h"
#include "tap.h"

/* The node at a dotted path, where a number is an array index: "finding_info.attacks.0.tactic". */
static cJSON *node_at(cJSON *root, const char *path)
{
    char seg[64];
    cJSON *node = root;
    const char *p = path;
    while (node && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        snprintf(seg, sizeof seg, "%.*s", (int)n, p);
        if (cJSON_IsArray(node))
            node = cJSON_GetArrayItem(node, atoi(seg));
        else
            node = cJSON_GetObjectItemCaseSensitive(node, seg);
        p = dot ? dot + 1 : p + n;
    }
    return node;
}

static const char *get(cJSON *root, const char *path)
{
    static char buf[64];
    cJSON *node = node_at(root, path);
    if (!node)
        return "(absent)";
    if (cJSON_IsString(node))
        return node->valuestring;
    if (cJSON_IsBool(node))
        return cJSON_IsTrue(node) ? "true" : "false";
    snprintf(buf, sizeof buf, "%.0f", node->valuedouble);
    return buf;
}

static cJSON *encode(const cw_alert_t *a, const cw_observer_t *obs, char *buf, size_t *n)
{
    *n = cw_alert_encode(a, obs, buf, CW_ALERT_MAX);
    return cJSON_ParseWithLength(buf, *n);
}

static void severities(cw_alert_t a, const cw_observer_t *obs, char *buf)
{
    static const struct {
        int ours, id;
        const char *name;
    } cases[] = {{0, 1, "Informational"}, {19, 1, "Informational"}, {20, 2, "Low"}, {39, 2, "Low"},
                 {40, 3, "Medium"}, {69, 3, "Medium"}, {70, 4, "High"}, {89, 4, "High"},
                 {90, 5, "Critical"}, {100, 5, "Critical"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n;
        cJSON *root;
        char name[64];
        a.severity = cases[i].ours;
        root = encode(&a, obs, buf, &n);
        snprintf(name, sizeof name, "severity %d is severity_id %d", cases[i].ours, cases[i].id);
        is_int(atoi(get(root, "severity_id")), cases[i].id, name);
        snprintf(name, sizeof name, "severity %d is \"%s\"", cases[i].ours, cases[i].name);
        is_str(get(root, "severity"), cases[i].name, name);
        cJSON_Delete(root);
    }
}

/* Every bounded piece at its longest, of bytes that escape to 6 (\u0001). */
static void worst_case(cw_alert_t a, const cw_observer_t *obs, char *buf, cw_event_t *ev)
{
    static char big[4096];
    cw_rule_t rule = *a.rule;
    size_t n;
    cJSON *root;
    memset(big, 1, sizeof big - 1);
    rule.name = big;
    rule.id = big;
    a.rule = &rule;
    a.principal = big;
    rule.n_key = CW_KEY_FIELDS_MAX; /* every key field at its longest (256 bytes kept of each) */
    for (int i = 0; i < CW_KEY_FIELDS_MAX; i++) {
        rule.key[i] = CW_F_PRINCIPAL;
        big[(i + 1) * 300] = '\x1f'; /* CW_KEY_SEP */
    }
    a.key = big;
    a.keylen = 1300;
    a.metric = big;
    a.window_name = big;
    a.test = big;
    a.detail_name = big;
    a.detail_value = big;
    a.host_class = big;
    memset(ev->u.audit.client_host, 1, CW_HOST_MAX);
    memset(ev->u.audit.statement, 1, 4000);
    ev->u.audit.statement[4000] = '\0';
    a.objects[0] = a.objects[1] = a.objects[2] = big;
    a.n_objects = 3;
    a.statements[0] = a.statements[1] = a.statements[2] = big;
    a.n_statements = 3;
    for (int i = 0; i < CW_EVIDENCE_SUBSCRIBERS; i++)
        a.subscribers[i] = big;
    a.n_subscribers = CW_EVIDENCE_SUBSCRIBERS;
    a.new_fields = rule.key;
    a.n_new_fields = CW_KEY_FIELDS_MAX;
    a.has_lookups = a.has_baseline = true;
    a.baseline_level = big;
    root = encode(&a, obs, buf, &n);
    printf("# the longest OCSF alert: %zu bytes\n", n);
    ok(n > 0 && n < CW_ALERT_MAX, "the longest OCSF alert fits CW_ALERT_MAX");
    ok(root != NULL, "and is valid JSON");
    ok(strlen(get(root, "finding_info.desc")) > 64, "with the metric's sentence cut, not dropped");
    cJSON_Delete(root);
}

int main(void)
{
    apr_pool_t *pool;
    cw_config_t *cfg;
    cw_event_t ev;
    cw_alert_t a;
    cw_observer_t obs = {"host-1", "9.9.9", 1700000000000LL, CW_FORMAT_OCSF};
    static char buf[CW_ALERT_MAX];
    char err[256];
    const char *conf = "{\"rules\":[{\"id\":\"bulk\",\"name\":\"Bulk \\\"read\\\"\",\"threshold\":5,"
                       "\"severity\":73,\"techniques\":[\"T1213\",\"T1562.001\",\"T1078\",\"T9999\"],"
                       "\"key\":[\"principal\"]}]}";
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
    strcpy(ev.u.audit.principal, "eve");
    strcpy(ev.u.audit.client_host, "10.1.2.3");
    strcpy(ev.u.audit.action, "SELECT");
    strcpy(ev.u.audit.statement, "SELECT * FROM cdr_voice");
    ev.pos.name = "audit.jsonl";
    ev.pos.partition = -1;
    ev.pos.offset = 42;

    memset(&a, 0, sizeof a);
    a.rule = &cfg->rules[0];
    a.ev = &ev;
    a.key = "eve";
    a.keylen = 3;
    a.window_start = 1772586000000LL;
    a.window_end = 1772589600000LL;
    a.at = ev.ts;
    a.principal = ev.u.audit.principal;
    a.severity = cfg->rules[0].severity;
    a.metric = "sum(rows)";
    a.window_name = "1h";
    a.value = 46700;
    a.threshold = 40000;
    a.records = 13;
    a.first = ev.pos;
    a.last = ev.pos;
    cw_alert_make_id(&a);

    root = encode(&a, &obs, buf, &n);
    ok(root != NULL, "the OCSF alert is valid JSON");
    ok(n > 0 && buf[n - 1] == '\n' && memchr(buf, '\n', n - 1) == NULL, "on one line, ending with a newline");
    is_str(get(root, "class_uid"), "2004", "class_uid: Detection Finding");
    is_str(get(root, "category_uid"), "2", "category_uid: Findings");
    is_str(get(root, "activity_id"), "1", "activity_id: Create");
    is_str(get(root, "type_uid"), "200401", "type_uid = class_uid * 100 + activity_id");
    is_str(get(root, "severity_id"), "4", "severity 73 is severity_id 4");
    is_str(get(root, "severity"), "High", "and its caption");
    is_str(get(root, "time"), "1772589965023", "time: the record's event time in ms");
    is_str(get(root, "status_id"), "1", "status_id: New");
    is_str(get(root, "is_alert"), "true", "is_alert");
    is_str(get(root, "metadata.version"), "1.9.0-dev", "metadata.version: the OCSF version");
    is_str(get(root, "metadata.product.name"), "cdrwatch", "metadata.product.name");
    is_str(get(root, "metadata.product.version"), "9.9.9", "metadata.product.version: the observer's");
    is_str(get(root, "metadata.uid"), a.id, "metadata.uid: the alert id");
    is_str(get(root, "metadata.profiles.0"), "host", "metadata.profiles: host (for actor)");
    is_str(get(root, "finding_info.uid"), a.id, "finding_info.uid: the deterministic alert id");
    is_str(get(root, "finding_info.title"), "Bulk \"read\"", "finding_info.title: the rule name");
    is_str(get(root, "finding_info.desc"), "sum(rows) over 1h reached 46700 (threshold 40000)",
           "finding_info.desc: the metric, its window, value and threshold");
    is_str(get(root, "finding_info.types.0"), "threshold", "finding_info.types: the rule kind");
    is_str(get(root, "finding_info.analytic.uid"), "bulk", "finding_info.analytic.uid: the rule id");
    is_str(get(root, "finding_info.analytic.type_id"), "1", "finding_info.analytic.type_id: Rule");
    is_str(get(root, "finding_info.first_seen_time"), "1772586000000", "first_seen_time: window start");
    is_str(get(root, "finding_info.last_seen_time"), "1772589600000", "last_seen_time: window end");
    is_str(get(root, "finding_info.attacks.0.technique.uid"), "T1213", "attacks: the rule's first technique");
    is_str(get(root, "finding_info.attacks.0.technique.name"), "Data from Information Repositories",
           "with its name");
    is_str(get(root, "finding_info.attacks.0.tactic.uid"), "TA0009", "and its one tactic");
    is_str(get(root, "finding_info.attacks.1.technique.uid"), "T1562", "a sub-technique names its parent");
    is_str(get(root, "finding_info.attacks.1.sub_technique.uid"), "T1562.001", "and itself");
    is_str(get(root, "finding_info.attacks.2.technique.uid"), "T1078", "a technique of several tactics");
    is_str(get(root, "finding_info.attacks.2.tactic"), "(absent)", "has no tactic guessed for it");
    is_str(get(root, "finding_info.attacks.3.technique.uid"), "T9999", "an unknown technique keeps its id");
    is_str(get(root, "finding_info.attacks.3.technique.name"), "(absent)", "without a name");
    is_str(get(root, "finding_info.attacks.4"), "(absent)", "one attack per technique");
    is_str(get(root, "actor.user.name"), "eve", "actor.user.name: the principal");
    is_str(get(root, "evidences.0.data.metric"), "sum(rows)", "evidences[0].data.metric");
    is_str(get(root, "evidences.0.data.value"), "46700", "evidences[0].data.value");
    is_str(get(root, "evidences.0.data.threshold"), "40000", "evidences[0].data.threshold");
    is_str(get(root, "evidences.0.data.window"), "1h", "evidences[0].data.window");
    is_str(get(root, "evidences.0.data.records"), "13", "evidences[0].data.records");
    is_str(get(root, "evidences.0.actor.user.name"), "eve", "evidences[0].actor: the principal");
    is_str(get(root, "evidences.0.src_endpoint.ip"), "10.1.2.3", "an IP client host is src_endpoint.ip");
    is_str(get(root, "unmapped.severity"), "73", "unmapped.severity: our own 0-100");
    is_str(get(root, "unmapped.cdrwatch.key.principal"), "eve", "unmapped.cdrwatch: our own key");
    is_str(get(root, "unmapped.cdrwatch.evidence.statement"), "SELECT * FROM cdr_voice",
           "unmapped.cdrwatch: our own evidence");
    is_str(get(root, "unmapped.cdrwatch.observer.host"), "host-1", "unmapped.cdrwatch.observer");
    is_str(get(root, "@timestamp"), "(absent)", "no ECS field at the top");
    is_str(get(root, "cdrwatch"), "(absent)", "nor our own outside unmapped");
    cJSON_Delete(root);

    strcpy(ev.u.audit.client_host, "etl01.corp.example");
    root = encode(&a, &obs, buf, &n);
    is_str(get(root, "evidences.0.src_endpoint.hostname"), "etl01.corp.example",
           "a named client host is src_endpoint.hostname");
    is_str(get(root, "evidences.0.src_endpoint.ip"), "(absent)", "and not an ip");
    cJSON_Delete(root);

    {
        cw_alert_t b = a;
        b.principal = NULL;
        ev.u.audit.client_host[0] = '\0';
        root = encode(&b, &obs, buf, &n);
        is_str(get(root, "actor"), "(absent)", "no principal: no actor");
        is_str(get(root, "evidences.0.src_endpoint"), "(absent)", "no client host: no src_endpoint");
        is_str(get(root, "evidences.0.data.metric"), "sum(rows)", "the evidence still holds the metric");
        cJSON_Delete(root);
        obs.format = CW_FORMAT_ECS;
        root = encode(&b, &obs, buf, &n);
        is_str(get(root, "event.id"), a.id, "format ecs: the ECS shape, with the same id");
        is_str(get(root, "class_uid"), "(absent)", "format ecs: no OCSF attribute");
        cJSON_Delete(root);
        obs.format = CW_FORMAT_OCSF;
    }

    severities(a, &obs, buf);
    worst_case(a, &obs, buf, &ev);

    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
