/*
 * alert.c — the one alert encoder (doc/formats.md §2) and deterministic alert ids.
 *
 * Two shapes (outputs.format): ECS fields with our own under `cdrwatch`, or an OCSF Detection
 * Finding (class_uid 2004) with the same `cdrwatch` object under `unmapped` (§2.1 maps each
 * attribute). Both are written by the same bounded writers below.
 *
 * Output is built into a caller buffer with bounded pieces (long values are cut on a UTF-8
 * boundary), so an alert never exceeds CW_ALERT_MAX and encoding never allocates.
 */
#include <stdio.h>
#include <string.h>
#include "cdrwatch/alert.h"
#include "cdrwatch/rules.h"

typedef struct {
    char *buf;
    size_t len, cap;
} out_t;

static void put(out_t *o, const char *s, size_t n)
{
    if (o->len + n >= o->cap) {
        o->len = o->cap; /* mark overflow; callers size the buffer so this never happens */
        return;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

static void puts_(out_t *o, const char *s) { put(o, s, strlen(s)); }

size_t cw_json_string(char *buf, size_t pos, size_t buflen, const char *s, size_t len, size_t max)
{
    static const char hex[] = "0123456789abcdef";
    bool cut = false;
    out_t o = {buf, pos, buflen};
    if (len > max) {
        len = max;
        while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
            len--; /* do not split a UTF-8 sequence */
        cut = true;
    }
    put(&o, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            put(&o, esc, 2);
        } else if (c == '\n') {
            put(&o, "\\n", 2);
        } else if (c == '\r') {
            put(&o, "\\r", 2);
        } else if (c == '\t') {
            put(&o, "\\t", 2);
        } else if (c < 0x20 || c == 0x7f) {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            put(&o, esc, 6);
        } else if (c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] < 0xa0 &&
                   (unsigned char)s[i + 1] >= 0x80) {
            unsigned char c1 = (unsigned char)s[++i]; /* U+0080..U+009F: C1 controls, terminal escapes */
            char esc[6] = {'\\', 'u', '0', '0', hex[c1 >> 4], hex[c1 & 15]};
            put(&o, esc, 6);
        } else {
            put(&o, (const char *)&s[i], 1);
        }
    }
    if (cut)
        put(&o, "\xe2\x80\xa6", 3); /* … */
    put(&o, "\"", 1);
    return o.len;
}

static void str(out_t *o, const char *s, size_t max)
{
    o->len = cw_json_string(o->buf, o->len, o->cap, s, strlen(s), max);
}

static void num(out_t *o, long long v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%lld", v);
    put(o, tmp, (size_t)n);
}

static void timestr(out_t *o, cw_time_t t)
{
    char tmp[32];
    str(o, cw_time_format(t, tmp), 32);
}

static void pos(out_t *o, const cw_pos_t *p)
{
    char tmp[512];
    str(o, cw_pos_format(p, tmp, sizeof tmp), 400);
}

void cw_alert_make_id(cw_alert_t *a)
{
    char win[24];
    uint64_t h1, h2;
    int n = snprintf(win, sizeof win, "%lld", (long long)a->window_start);
    /* hash of "rule id \0 key \0 window start", twice with different seeds: 128 bits */
    h1 = cw_hash64(a->rule->id, strlen(a->rule->id), 1);
    h1 = cw_hash64(a->key, a->keylen, h1);
    h1 = cw_hash64(win, (size_t)n, h1);
    h2 = cw_hash64(a->rule->id, strlen(a->rule->id), 2);
    h2 = cw_hash64(a->key, a->keylen, h2);
    h2 = cw_hash64(win, (size_t)n, h2);
    snprintf(a->id, sizeof a->id, "%016llx%016llx", (unsigned long long)h1, (unsigned long long)h2);
}

static void number(out_t *o, double v)
{
    char tmp[40];
    int n;
    if (v == (double)(int64_t)v && v < 9e15 && v > -9e15)
        n = snprintf(tmp, sizeof tmp, "%lld", (long long)v);
    else
        n = snprintf(tmp, sizeof tmp, "%.3f", v);
    put(o, tmp, (size_t)n);
}

/* "damage":["bad_utf8",...]: what the decoder repaired in the record that raised the alert. */
static void damage_list(out_t *o, unsigned damage)
{
    int n = 0;
    puts_(o, ",\"damage\":[");
    for (int k = 0; k < CW_DAMAGE_KINDS; k++) {
        if (!(damage >> k & 1))
            continue;
        if (n++)
            puts_(o, ",");
        str(o, cw_damage_name(k), 32);
    }
    puts_(o, "]");
}

static void str_list(out_t *o, const char *name, const char *const *items, int n, size_t max)
{
    if (n == 0)
        return;
    puts_(o, ",\"");
    puts_(o, name);
    puts_(o, "\":[");
    for (int i = 0; i < n; i++) {
        if (i)
            puts_(o, ",");
        str(o, items[i], max);
    }
    puts_(o, "]");
}

/* Members: the key text (with its leading comma and quotes), then the value. */
static void member_str(out_t *o, const char *key, const char *s, size_t max)
{
    puts_(o, key);
    str(o, s, max);
}

static void member_time(out_t *o, const char *key, cw_time_t t)
{
    puts_(o, key);
    timestr(o, t);
}

static void member_number(out_t *o, const char *key, double v)
{
    puts_(o, key);
    number(o, v);
}

/* A probability, with 3 significant digits (1.23e-09: JSON numbers allow the exponent). */
static void member_small(out_t *o, const char *key, double v)
{
    char tmp[40];
    int n = snprintf(tmp, sizeof tmp, "%.3g", v);
    puts_(o, key);
    put(o, tmp, (size_t)n);
}

/* The ECS part: @timestamp, event, rule, threat, user, source. */
static void encode_ecs(out_t *o, const cw_alert_t *a)
{
    const cw_rule_t *r = a->rule;
    const cw_event_t *ev = a->ev;
    member_time(o, "{\"@timestamp\":", a->at);
    member_str(o, ",\"event\":{\"kind\":\"alert\",\"id\":", a->id, 40);
    member_time(o, ",\"start\":", a->window_start);
    member_time(o, ",\"end\":", a->window_end);
    puts_(o, ",\"severity\":");
    num(o, a->severity);
    member_str(o, "},\"rule\":{\"id\":", r->id, 64);
    member_str(o, ",\"name\":", r->name, 200);
    puts_(o, "},\"threat\":{\"framework\":\"MITRE ATT&CK\",\"technique\":[");
    for (int i = 0; i < r->techniques.n; i++) {
        puts_(o, i ? ",{\"id\":" : "{\"id\":");
        str(o, r->techniques.items[i], 16);
        puts_(o, "}");
    }
    puts_(o, "]}");
    if (a->principal) {
        puts_(o, ",\"user\":{\"name\":");
        str(o, a->principal, CW_NAME_MAX);
        puts_(o, "}");
    }
    if (ev && ev->stream == CW_STREAM_AUDIT && ev->u.audit.client_host[0]) {
        puts_(o, ",\"source\":{\"address\":");
        str(o, ev->u.audit.client_host, CW_HOST_MAX);
        puts_(o, "}");
    }
}

/* cdrwatch.key: the key's fields, split at CW_KEY_SEP. */
static void encode_key(out_t *o, const cw_alert_t *a)
{
    const cw_rule_t *r = a->rule;
    size_t start = 0;
    puts_(o, "\"key\":{");
    for (int i = 0; i < r->n_key; i++) {
        size_t end = start;
        while (end < a->keylen && a->key[end] != CW_KEY_SEP)
            end++;
        if (i)
            puts_(o, ",");
        str(o, cw_field_name(r->key[i]), 32);
        puts_(o, ":");
        o->len = cw_json_string(o->buf, o->len, o->cap, a->key + start, end - start, 256);
        start = end + 1;
    }
    puts_(o, "}");
}

/* cdrwatch.detection: which test fired, the floor, and the key's own figures */
static void encode_detection(out_t *o, const cw_alert_t *a)
{
    if (!a->test)
        return;
    member_str(o, ",\"detection\":{\"test\":", a->test, 16);
    member_number(o, ",\"floor\":", (double)a->floor);
    if (a->profile >= 0)
        member_number(o, ",\"profile\":", a->profile);
    if (a->peak >= 0)
        member_number(o, ",\"peak\":", a->peak);
    if (a->has_lookups) {
        member_number(o, ",\"lookups\":{\"judged\":", (double)a->lookups_judged);
        member_small(o, ",\"usual_rate\":", a->lookups_rate);
        member_small(o, ",\"p_value\":", a->lookups_p_value);
        puts_(o, "}");
    }
    if (a->n_new_fields) {
        puts_(o, ",\"new\":[");
        for (int i = 0; i < a->n_new_fields; i++) {
            if (i)
                puts_(o, ",");
            str(o, cw_field_name(a->new_fields[i]), 32);
        }
        puts_(o, "]");
    }
    puts_(o, "}");
}

/* cdrwatch.metric and cdrwatch.detail */
static void encode_metric(out_t *o, const cw_alert_t *a)
{
    member_str(o, ",\"metric\":{\"name\":", a->metric, 64);
    if (a->window_name)
        member_str(o, ",\"window\":", a->window_name, 32);
    member_number(o, ",\"value\":", a->value);
    member_number(o, ",\"threshold\":", a->threshold);
    if (a->has_baseline) {
        member_number(o, ",\"baseline\":{\"mean\":", a->baseline_mean);
        member_number(o, ",\"stddev\":", a->baseline_sd);
        member_str(o, ",\"level\":", a->baseline_level, 32);
        puts_(o, ",\"floor\":");
        num(o, a->floor);
        puts_(o, "}");
    }
    puts_(o, "}");
    encode_detection(o, a);
    if (a->detail_name) {
        puts_(o, ",\"detail\":{");
        str(o, a->detail_name, 64);
        puts_(o, ":");
        str(o, a->detail_value ? a->detail_value : "", 256);
        if (a->host_class) {
            puts_(o, ",\"host_class\":");
            str(o, a->host_class, 64);
        }
        puts_(o, "}");
    }
}

/* cdrwatch.evidence: counts, positions, the record in hand, samples. */
static void encode_evidence(out_t *o, const cw_alert_t *a)
{
    const cw_event_t *ev = a->ev;
    puts_(o, ",\"evidence\":{\"records\":");
    num(o, (long long)a->records);
    puts_(o, ",\"first\":");
    pos(o, &a->first);
    puts_(o, ",\"last\":");
    pos(o, &a->last);
    if (ev && ev->stream == CW_STREAM_AUDIT) {
        const cw_audit_t *au = &ev->u.audit;
        puts_(o, ",\"action\":");
        str(o, au->action, CW_ACTION_MAX);
        if (au->object[0]) {
            puts_(o, ",\"object\":");
            str(o, au->object, CW_OBJECT_MAX);
        }
        if (au->client_app[0]) {
            puts_(o, ",\"client_app\":");
            str(o, au->client_app, CW_NAME_MAX);
        }
        if (au->statement[0]) {
            puts_(o, ",\"statement\":");
            str(o, au->statement, 512);
        }
    } else if (ev) {
        puts_(o, ",\"calling_msisdn\":");
        str(o, ev->u.cdr.calling_msisdn, CW_MSISDN_MAX);
    }
    str_list(o, "objects", a->objects, a->n_objects, CW_OBJECT_MAX);
    str_list(o, "statements", a->statements, a->n_statements, 256);
    str_list(o, "subscribers", a->subscribers, a->n_subscribers, CW_MSISDN_MAX);
    if (ev && ev->damage)
        damage_list(o, ev->damage);
    puts_(o, "}");
}

/* cdrwatch.observer: the only part that depends on the machine and the wall clock. */
static void encode_observer(out_t *o, const cw_observer_t *obs)
{
    member_str(o, ",\"observer\":{\"host\":", obs->host ? obs->host : "", 255);
    member_str(o, ",\"version\":", obs->version ? obs->version : "", 32);
    member_time(o, ",\"emitted_at\":", obs->emitted_at);
    puts_(o, "}");
}

/* "cdrwatch":{...}: our own fields, the same in both formats (ECS: top level; OCSF: unmapped). */
static void encode_cdrwatch(out_t *o, const cw_alert_t *a, const cw_observer_t *obs)
{
    puts_(o, "\"cdrwatch\":{");
    encode_key(o, a);
    encode_metric(o, a);
    encode_evidence(o, a);
    if (obs)
        encode_observer(o, obs);
    puts_(o, "}");
}

/* ---- OCSF: a Detection Finding (class_uid 2004), doc/formats.md §2.1 ---- */

#define OCSF_VERSION "1.9.0-dev" /* the schema the tests validate against (tests/schemas) */

/* ATT&CK techniques of the shipped rules: name, and the tactic when there is only one (a
 * technique of several tactics is given without one rather than with a guess). */
typedef struct {
    const char *id, *name, *tactic_id, *tactic;
} technique_info_t;

static const technique_info_t techniques[] = {
    {"T1005", "Data from Local System", "TA0009", "Collection"},
    {"T1027", "Obfuscated Files or Information", "TA0005", "Defense Evasion"},
    {"T1030", "Data Transfer Size Limits", "TA0010", "Exfiltration"},
    {"T1070", "Indicator Removal", "TA0005", "Defense Evasion"},
    {"T1074", "Data Staged", "TA0009", "Collection"},
    {"T1078", "Valid Accounts", NULL, NULL},
    {"T1098", "Account Manipulation", NULL, NULL},
    {"T1119", "Automated Collection", "TA0009", "Collection"},
    {"T1136", "Create Account", "TA0003", "Persistence"},
    {"T1213", "Data from Information Repositories", "TA0009", "Collection"},
    {"T1505", "Server Software Component", "TA0003", "Persistence"},
    {"T1562", "Impair Defenses", "TA0005", "Defense Evasion"},
};

/* The entry of a technique id ("T1562" or the sub-technique "T1562.001"); NULL if unknown. */
static const technique_info_t *technique_of(const char *id)
{
    size_t n = strcspn(id, ".");
    for (size_t i = 0; i < sizeof techniques / sizeof techniques[0]; i++)
        if (strlen(techniques[i].id) == n && memcmp(techniques[i].id, id, n) == 0)
            return &techniques[i];
    return NULL;
}

/* finding_info.attacks[]: one per technique of the rule (a sub-technique also names its parent). */
static void ocsf_attack(out_t *o, const char *id)
{
    const technique_info_t *t = technique_of(id);
    size_t n = strcspn(id, ".");
    puts_(o, "{\"technique\":{\"uid\":");
    o->len = cw_json_string(o->buf, o->len, o->cap, id, n, 16);
    if (t)
        member_str(o, ",\"name\":", t->name, 64);
    puts_(o, "}");
    if (id[n]) {
        member_str(o, ",\"sub_technique\":{\"uid\":", id, 16);
        puts_(o, "}");
    }
    if (t && t->tactic) {
        member_str(o, ",\"tactic\":{\"uid\":", t->tactic_id, 16);
        member_str(o, ",\"name\":", t->tactic, 32);
        puts_(o, "}");
    }
    puts_(o, "}");
}

/* severity_id from our 0-100: Informational, Low, Medium, High, Critical. */
static int ocsf_severity_id(int severity)
{
    static const int upper[] = {20, 40, 70, 90};
    int id = 1;
    while (id <= 4 && severity >= upper[id - 1])
        id++;
    return id;
}

static const char *const ocsf_severity_names[] = {"Unknown", "Informational", "Low", "Medium", "High",
                                                   "Critical"};

static void member_ms(out_t *o, const char *key, cw_time_t t)
{
    puts_(o, key);
    num(o, (long long)t);
}

/* The classification, time, severity and status of the finding. */
static void ocsf_header(out_t *o, const cw_alert_t *a)
{
    int sev = ocsf_severity_id(a->severity);
    puts_(o, "{\"category_uid\":2,\"category_name\":\"Findings\",\"class_uid\":2004,"
             "\"class_name\":\"Detection Finding\",\"activity_id\":1,\"activity_name\":\"Create\","
             "\"type_uid\":200401,\"type_name\":\"Detection Finding: Create\"");
    member_ms(o, ",\"time\":", a->at);
    puts_(o, ",\"severity_id\":");
    num(o, sev);
    member_str(o, ",\"severity\":", ocsf_severity_names[sev], 16);
    puts_(o, ",\"status_id\":1,\"status\":\"New\",\"is_alert\":true");
    member_str(o, ",\"message\":", a->rule->name, 200);
}

static void ocsf_metadata(out_t *o, const cw_alert_t *a, const cw_observer_t *obs)
{
    puts_(o, ",\"metadata\":{\"version\":\"" OCSF_VERSION "\",\"profiles\":[\"host\"],"
             "\"product\":{\"name\":\"cdrwatch\",\"vendor_name\":\"cdrwatch\"");
    if (obs && obs->version)
        member_str(o, ",\"version\":", obs->version, 32);
    member_str(o, "},\"uid\":", a->id, 40);
    puts_(o, "}");
}

/* finding_info.desc: "sum(rows) over 1h reached 50000 (threshold 40000)". */
static void ocsf_desc(out_t *o, const cw_alert_t *a)
{
    char tmp[256];
    out_t d = {tmp, 0, sizeof tmp};
    put(&d, a->metric, strnlen(a->metric, 64)); /* ASCII names: "sum(rows)", "count" */
    if (a->window_name) {
        puts_(&d, " over ");
        put(&d, a->window_name, strnlen(a->window_name, 32));
    }
    puts_(&d, " reached ");
    number(&d, a->value);
    puts_(&d, " (threshold ");
    number(&d, a->threshold);
    puts_(&d, ")");
    if (d.len >= d.cap)
        d.len = 0; /* cannot happen: metric <= 64, window <= 32, two numbers <= 40 each */
    tmp[d.len] = '\0';
    member_str(o, ",\"desc\":", tmp, sizeof tmp);
}

static void ocsf_finding_info(out_t *o, const cw_alert_t *a)
{
    const cw_rule_t *r = a->rule;
    member_str(o, ",\"finding_info\":{\"uid\":", a->id, 40);
    member_str(o, ",\"title\":", r->name, 200);
    ocsf_desc(o, a);
    member_str(o, ",\"types\":[", cw_enum_name(&cw_rule_kinds, r->kind), 32);
    member_str(o, "],\"analytic\":{\"uid\":", r->id, 64);
    member_str(o, ",\"name\":", r->name, 200);
    puts_(o, ",\"type_id\":1,\"type\":\"Rule\"}");
    member_ms(o, ",\"first_seen_time\":", a->window_start);
    member_ms(o, ",\"last_seen_time\":", a->window_end);
    if (r->techniques.n) {
        puts_(o, ",\"attacks\":[");
        for (int i = 0; i < r->techniques.n; i++) {
            if (i)
                puts_(o, ",");
            ocsf_attack(o, r->techniques.items[i]);
        }
        puts_(o, "]");
    }
    puts_(o, "}");
}

/* An address that is an IPv4 or IPv6 literal (digits and dots, or hex digits and colons). */
static bool is_ip_literal(const char *s)
{
    bool colon = strchr(s, ':') != NULL;
    return *s && strspn(s, colon ? "0123456789abcdefABCDEF:." : "0123456789.") == strlen(s);
}

static void ocsf_actor(out_t *o, const cw_alert_t *a)
{
    if (!a->principal)
        return;
    puts_(o, ",\"actor\":{\"user\":{\"name\":");
    str(o, a->principal, CW_NAME_MAX);
    puts_(o, "}}");
}

/* evidences[0]: the actor, the client host, and the metric as data. */
static void ocsf_evidences(out_t *o, const cw_alert_t *a)
{
    const cw_event_t *ev = a->ev;
    puts_(o, ",\"evidences\":[{\"data\":{");
    member_str(o, "\"metric\":", a->metric, 64);
    if (a->window_name)
        member_str(o, ",\"window\":", a->window_name, 32);
    member_number(o, ",\"value\":", a->value);
    member_number(o, ",\"threshold\":", a->threshold);
    puts_(o, ",\"records\":");
    num(o, (long long)a->records);
    puts_(o, "}");
    ocsf_actor(o, a);
    if (ev && ev->stream == CW_STREAM_AUDIT && ev->u.audit.client_host[0]) {
        const char *host = ev->u.audit.client_host;
        member_str(o, is_ip_literal(host) ? ",\"src_endpoint\":{\"ip\":" : ",\"src_endpoint\":{\"hostname\":",
                   host, CW_HOST_MAX);
        puts_(o, "}");
    }
    puts_(o, "}]");
}

static void encode_ocsf(out_t *o, const cw_alert_t *a, const cw_observer_t *obs)
{
    ocsf_header(o, a);
    ocsf_metadata(o, a, obs);
    ocsf_finding_info(o, a);
    ocsf_actor(o, a);
    ocsf_evidences(o, a);
    puts_(o, ",\"unmapped\":{\"severity\":"); /* ours, 0-100: OCSF has only its 0-6 scale */
    num(o, a->severity);
    puts_(o, ",");
    encode_cdrwatch(o, a, obs);
    puts_(o, "}}\n");
}

size_t cw_alert_encode(const cw_alert_t *a, const cw_observer_t *obs, char *buf, size_t buflen)
{
    out_t o = {buf, 0, buflen};

    if (obs && obs->format == CW_FORMAT_OCSF) {
        encode_ocsf(&o, a, obs);
    } else {
        encode_ecs(&o, a);
        puts_(&o, ",");
        encode_cdrwatch(&o, a, obs);
        puts_(&o, "}\n");
    }
    if (o.len >= buflen) {
        /* cannot happen with buflen >= CW_ALERT_MAX: every piece above is bounded */
        buf[0] = '\0';
        return 0;
    }
    buf[o.len] = '\0';
    return o.len;
}
