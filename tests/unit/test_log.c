/* test_log.c — the JSON log lines (log.h) parse whatever the message holds, carry the ECS logging
 * fields and the caller's members; the metrics summary object (metrics.h) holds the counters. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "cdrwatch/log.h"
#include "cdrwatch/metrics.h"
#include "tap.h"

static char line[32768];

static size_t format(cw_log_level_t level, const char *members, const char *fmt, ...)
{
    va_list ap;
    size_t n;
    va_start(ap, fmt);
    n = cw_log_format_json(line, sizeof line, 1764547200123LL, level, members, fmt, ap);
    va_end(ap);
    return n;
}

static const cJSON *get(const cJSON *o, const char *name)
{
    return o ? cJSON_GetObjectItemCaseSensitive(o, name) : NULL;
}

static long num(const cJSON *o, const char *name)
{
    const cJSON *v = get(o, name);
    return cJSON_IsNumber(v) ? (long)v->valuedouble : -1;
}

static const char *str(const cJSON *o, const char *name)
{
    const cJSON *v = get(o, name);
    return cJSON_IsString(v) ? v->valuestring : "(missing)";
}

static void test_fields(void)
{
    size_t n = format(CW_LOG_WARN, NULL, "partition %d: %s", 3, "lagging");
    cJSON *o = cJSON_Parse(line);
    ok(o != NULL, "a line is one JSON object");
    is_int(line[n - 1], '\n', "ends with a newline");
    ok(strchr(line, '\n') == line + n - 1, "and holds no other");
    is_str(str(o, "@timestamp"), "2025-12-01T00:00:00.123Z", "@timestamp in UTC, milliseconds");
    is_str(str(o, "log.level"), "warning", "log.level");
    is_str(str(o, "log.logger"), "cdrwatch", "log.logger");
    is_str(str(o, "message"), "partition 3: lagging", "message, formatted");
    ok(cJSON_IsNumber(get(o, "process.pid")), "process.pid");
    cJSON_Delete(o);
}

static void test_members(void)
{
    cJSON *o;
    const cJSON *stats;
    format(CW_LOG_INFO, "\"cdrwatch.stats\":{\"records\":{\"total\":12},\"ready\":true},\"x\":1", "stats");
    o = cJSON_Parse(line);
    stats = get(o, "cdrwatch.stats");
    ok(cJSON_IsObject(stats), "members are added to the object");
    is_int(num(get(stats, "records"), "total"), 12,
           "a member's nested value");
    ok(cJSON_IsTrue(get(stats, "ready")), "a member's boolean");
    is_int(num(o, "x"), 1, "a second member");
    cJSON_Delete(o);
}

/* whatever the message holds — quotes, backslashes, control characters, bytes that are not
 * UTF-8, a terminal escape — the line parses, and the text reads back (repaired) */
static void test_hostile_text(void)
{
    static char big[10000];
    cJSON *o;
    format(CW_LOG_ERROR, NULL, "%s", "a \"quoted\" \\ back\tslash\n\x01\x1b[31m bad \xff\xfe end \xc3");
    o = cJSON_Parse(line);
    ok(o != NULL, "hostile text: still one JSON object");
    is_str(str(o, "message"), "a \"quoted\" \\ back\tslash\n\x01\x1b[31m bad \xef\xbf\xbd\xef\xbf\xbd end \xef\xbf\xbd",
           "hostile text: read back, invalid bytes as U+FFFD");
    ok(strchr(line, '\n') == line + strlen(line) - 1, "hostile text: a newline in the message is escaped");
    cJSON_Delete(o);
    memset(big, '"', sizeof big - 1);
    format(CW_LOG_INFO, "\"m\":1", "%s", big);
    o = cJSON_Parse(line);
    ok(o != NULL, "a message of 10 000 quotes: cut, and the line still parses");
    ok(strlen(str(o, "message")) < 4096, "cut to its budget");
    is_int(num(o, "m"), 1, "the members are kept after a cut message");
    cJSON_Delete(o);
}

static void test_json_text(void)
{
    char b[64];
    is_str(cw_log_json_text(b, sizeof b, "a\"b\xff"), "\"a\\\"b\xef\xbf\xbd\"", "json text: quoted, escaped, repaired");
    is_str(cw_log_json_text(b, 4, "abcdef"), "\"\"", "json text: too small a buffer gives an empty string");
}

static void test_formats(void)
{
    cw_log_format_t f = CW_LOG_TEXT;
    ok(cw_log_format_parse("json", &f) && f == CW_LOG_JSON, "json");
    ok(cw_log_format_parse("text", &f) && f == CW_LOG_TEXT, "text");
    ok(!cw_log_format_parse("JSON ", &f) && !cw_log_format_parse("", &f), "anything else is refused");
}

static void test_metrics_json(void)
{
    cw_metrics_t m;
    char b[2048];
    cJSON *o;
    const cJSON *dead;
    memset(&m, 0, sizeof m);
    m.records[CW_STREAM_CDR] = 5;
    m.records[CW_STREAM_AUDIT] = 7;
    m.alerts = 2;
    m.dead[CW_DEC_BAD_JSON] = 3;
    m.damaged_records = 1;
    m.damaged[0] = 1;
    ok(cw_metrics_json(&m, b, sizeof b) > 0, "metrics: written");
    o = cJSON_Parse(b);
    ok(o != NULL, "metrics: one JSON object");
    is_int(num(get(o, "records"), "audit"), 7,
           "metrics: records by stream");
    dead = get(o, "dead_letters");
    is_int(num(dead, "total"), 3, "metrics: dead letters in all");
    is_int(num(dead, "bad_json"), 3, "metrics: dead letters by reason");
    ok(get(dead, "late") == NULL, "metrics: a reason with none is left out");
    is_int(num(get(o, "damaged_records"), "bad_utf8"),
           1, "metrics: damaged records by kind");
    cJSON_Delete(o);
    is_int(cw_metrics_json(&m, b, 40), 0, "metrics: too small a buffer gives 0");
    is_str(b, "", "metrics: and an empty string");
}

int main(void)
{
    test_fields();
    test_members();
    test_hostile_text();
    test_json_text();
    test_formats();
    test_metrics_json();
    return done_testing();
}
