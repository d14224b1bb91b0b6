/* test_score.c — scoring alerts against labels (score.h): matching by principal and time with
 * the grace period and its edges, '*' labels, scenarios of two rows, alerts counted once,
 * storms, the learning period, false positives grouped by (rule, user), the delay format, the
 * three report formats, and labels.csv / alerts JSON Lines with their errors (file:line). */
#include <stdlib.h>
#include <unistd.h>
#include <apr_general.h>
#include <cjson/cJSON.h>
#include "cdrwatch/event.h"
#include "cdrwatch/score.h"
#include "tap.h"

#define MIN CW_MS_PER_MINUTE
#define HOUR CW_MS_PER_HOUR

static cw_time_t T(const char *iso)
{
    cw_time_t t = 0;
    if (!cw_time_parse(iso, strlen(iso), &t))
        printf("# bad time in the test itself: %s\n", iso);
    return t;
}

static apr_pool_t *pool;

static cw_score_t *fresh(cw_time_t grace, cw_time_t learning_until)
{
    cw_score_t *s = NULL;
    if (cw_score_create(pool, grace, learning_until, &s) != CW_OK)
        printf("# cw_score_create failed\n");
    return s;
}

static void label(cw_score_t *s, const char *scenario, const char *principal, const char *start,
                  const char *end)
{
    char err[256];
    if (cw_score_add_label(s, scenario, principal, T(start), T(end), err, sizeof err) != CW_OK)
        printf("# label refused: %s\n", err);
}

/* Writes text to a temporary file; returns its path (static storage, one at a time). */
static const char *temp_file(const char *text)
{
    static char path[64];
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(path, sizeof path, "%.40s/score-XXXXXX", dir);
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        printf("# cannot write a temporary file\n");
    if (fd >= 0)
        close(fd);
    return path;
}

/* What cw_score_print writes, as a string owned by the caller. */
static char *printed(const cw_score_result_t *r, cw_score_format_t format)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cw_score_print(r, format, f);
    fclose(f);
    return text;
}

static void test_matching(void)
{
    cw_score_t *s = fresh(HOUR, CW_SCORE_NEVER);
    cw_score_result_t r;

    label(s, "bulk", "eve", "2026-03-04T02:00:00Z", "2026-03-04T03:00:00Z");
    cw_score_add_alert(s, T("2026-03-04T02:41:17Z"), "bulk-1h", "eve");
    cw_score_result(s, &r);
    is_int(r.n_scenarios, 1, "one scenario");
    is_str(r.scenarios[0].name, "bulk", "its name");
    is_int(r.scenarios[0].alerts, 1, "an alert on the principal inside the window is caught");
    is_int(r.scenarios[0].first_alert - r.scenarios[0].start, 41 * MIN + 17000, "the delay runs from the start");
    is_str(r.scenarios[0].rules, "bulk-1h", "the rule that caught it");
    is_int(r.totals.caught, 1, "totals: 1 caught");
    is_int(r.totals.false_positives, 0, "totals: no false positive");
    ok(cw_score_passed(&r), "passes --check");

    /* edges: start, end + grace, one millisecond outside on either side */
    s = fresh(HOUR, CW_SCORE_NEVER);
    label(s, "edge", "eve", "2026-03-04T02:00:00Z", "2026-03-04T03:00:00Z");
    cw_score_add_alert(s, T("2026-03-04T01:59:59.999Z"), "r", "eve");
    cw_score_add_alert(s, T("2026-03-04T04:00:00.001Z"), "r", "eve");
    cw_score_result(s, &r);
    is_int(r.scenarios[0].alerts, 0, "1 ms before the start or after end + grace: not matched");
    is_int(r.totals.false_positives, 2, "... and both are false positives");
    ok(!cw_score_passed(&r), "a missed scenario fails --check");
    s = fresh(HOUR, CW_SCORE_NEVER);
    label(s, "edge", "eve", "2026-03-04T02:00:00Z", "2026-03-04T03:00:00Z");
    cw_score_add_alert(s, T("2026-03-04T04:00:00Z"), "late", "eve");
    cw_score_add_alert(s, T("2026-03-04T02:00:00Z"), "early", "eve");
    cw_score_result(s, &r);
    is_int(r.scenarios[0].alerts, 2, "exactly at the start and at end + grace: both matched");
    is_int(r.scenarios[0].first_alert, T("2026-03-04T02:00:00Z"), "the first alert is the earliest, whatever the order read");
    is_str(r.scenarios[0].rules, "late, early", "rules in the order they first matched");
    s = fresh(0, CW_SCORE_NEVER);
    label(s, "edge", "eve", "2026-03-04T02:00:00Z", "2026-03-04T03:00:00Z");
    cw_score_add_alert(s, T("2026-03-04T03:00:00.001Z"), "r", "eve");
    cw_score_result(s, &r);
    is_int(r.scenarios[0].alerts, 0, "grace 0: 1 ms after the end does not count");

    /* principal: exact, and '*' for anyone, even an alert without user.name */
    s = fresh(HOUR, CW_SCORE_NEVER);
    label(s, "bulk", "eve", "2026-03-04T02:00:00Z", "2026-03-04T03:00:00Z");
    label(s, "silence", "*", "2026-03-05T09:00:00Z", "2026-03-05T12:00:00Z");
    cw_score_add_alert(s, T("2026-03-04T02:30:00Z"), "bulk-1h", "eve2");
    cw_score_add_alert(s, T("2026-03-04T02:30:00Z"), "bulk-1h", NULL);
    cw_score_add_alert(s, T("2026-03-05T10:00:00Z"), "audit-silent", NULL);
    cw_score_add_alert(s, T("2026-03-05T10:05:00Z"), "off-hours", "bob");
    cw_score_result(s, &r);
    is_int(r.scenarios[0].alerts, 0, "another principal (eve2, or none) does not catch eve's scenario");
    is_int(r.scenarios[1].alerts, 2, "'*' matches an alert without user.name and one with any");
    is_str(r.scenarios[1].rules, "audit-silent, off-hours", "'*' collects both rules");
    is_int(r.totals.false_positives, 2, "the two alerts on eve's window but not eve: false positives");
    is_int(r.n_false_positives, 2, "grouped as (bulk-1h, eve2) and (bulk-1h, no user)");
    is_str(r.false_positives[0].user, "", "sorted by time, then rule, then user: no user first");
    is_str(r.false_positives[1].user, "eve2", "... then eve2");
}

static void test_scenarios_and_storms(void)
{
    cw_score_t *s = fresh(HOUR, T("2026-03-09T00:00:00Z"));
    cw_score_result_t r;
    char err[256];

    /* account created then reads: two rows, two principals */
    label(s, "created", "dba_ops", "2026-03-13T11:20:00Z", "2026-03-13T11:30:00Z");
    label(s, "created", "svc_tmp", "2026-03-13T14:00:00Z", "2026-03-13T14:40:00Z");
    label(s, "harvest", "alice", "2026-03-13T11:00:00Z", "2026-03-13T12:00:00Z");
    label(s, "overlap", "alice", "2026-03-13T11:10:00Z", "2026-03-13T11:40:00Z");
    label(s, "twice", "bob", "2026-03-14T01:00:00Z", "2026-03-14T02:00:00Z");
    label(s, "twice", "bob", "2026-03-14T01:30:00Z", "2026-03-14T03:00:00Z");
    cw_score_add_alert(s, T("2026-03-13T14:10:00Z"), "new-account", "svc_tmp");
    cw_score_add_alert(s, T("2026-03-13T11:15:00Z"), "distinct-subs", "alice");
    for (int i = 0; i < 5; i++)
        cw_score_add_alert(s, T("2026-03-14T01:45:00Z") + i * MIN, i < 3 ? "b" : "a", "bob");
    cw_score_add_alert(s, T("2026-03-02T10:00:00Z"), "cold-start", "chen");
    cw_score_add_alert(s, T("2026-03-09T00:00:00Z"), "night", "svc_fraud");
    cw_score_add_alert(s, T("2026-03-10T00:00:00Z"), "night", "svc_fraud");
    cw_score_add_alert(s, T("2026-03-10T05:00:00Z"), "night", "svc_fraud");
    cw_score_result(s, &r);

    is_int(r.n_scenarios, 4, "rows with one name make one scenario (4 names)");
    is_str(r.scenarios[0].principals, "dba_ops, svc_tmp", "its principals, in label order");
    is_int(r.scenarios[0].start, T("2026-03-13T11:20:00Z"), "its start is the earliest row's");
    is_int(r.scenarios[0].end, T("2026-03-13T14:40:00Z"), "its end the latest row's");
    is_int(r.scenarios[0].alerts, 1, "an alert on the second principal catches it");
    is_int(r.scenarios[0].first_alert - r.scenarios[0].start, 170 * MIN, "delay from the scenario's start");
    is_int(r.scenarios[1].alerts, 1, "an alert in two overlapping scenarios counts for the first ...");
    is_int(r.scenarios[2].alerts, 1, "... and for the second");
    is_int(r.scenarios[3].alerts, 5, "a storm: five alerts, each counted once though it matches two rows");
    is_str(r.scenarios[3].rules, "b, a", "distinct rules of the storm");
    is_int(r.totals.alerts, 11, "totals: 11 alerts read");
    is_int(r.totals.matched, 7, "7 on scenarios");
    is_int(r.totals.learning, 1, "1 before the end of the learning period");
    is_int(r.totals.false_positives, 3, "3 false positives (the one at the very end of learning included)");
    is_int(r.n_false_positives, 1, "grouped by (rule, user)");
    is_int(r.false_positives[0].alerts, 3, "three alerts in the group");
    is_int(r.false_positives[0].first, T("2026-03-09T00:00:00Z"), "its first");
    is_int(r.false_positives[0].last, T("2026-03-10T05:00:00Z"), "and last");
    ok(!cw_score_passed(&r), "false positives fail --check");

    ok(cw_score_add_label(s, "late", "x", 0, 1, err, sizeof err) == CW_ERR_USAGE,
       "a label after the alerts is refused");
    s = fresh(HOUR, CW_SCORE_NEVER);
    ok(cw_score_add_label(s, "", "x", 0, 1, err, sizeof err) == CW_ERR_USAGE, "an empty scenario name is refused");
    ok(cw_score_add_label(s, "x", "", 0, 1, err, sizeof err) == CW_ERR_USAGE, "an empty principal is refused");
    ok(cw_score_add_label(s, "x", "p", 2, 1, err, sizeof err) == CW_ERR_USAGE, "an end before the start is refused");
    is_str(err, "end: expected a time at or after start", "with a message");
    cw_score_result(s, &r);
    ok(cw_score_passed(&r) && r.n_scenarios == 0, "no labels, no alerts: nothing missed, nothing false");
}

static void test_delay_format(void)
{
    char buf[32];
    is_str(cw_score_format_delay(0, buf), "0s", "0 ms");
    is_str(cw_score_format_delay(45999, buf), "45s", "seconds are rounded down");
    is_str(cw_score_format_delay(41 * MIN + 17000, buf), "41m17s", "minutes");
    is_str(cw_score_format_delay(2 * HOUR + 5 * MIN + 10000, buf), "2h05m10s", "hours");
    is_str(cw_score_format_delay(26 * HOUR + 5 * MIN + 10000, buf), "1d02h05m", "days");
}

static void test_files(void)
{
    cw_score_t *s;
    cw_score_result_t r;
    char err[512];
    const char *path;

    /* a description with commas, quotes and a newline; columns in another order; CRLF */
    path = temp_file("Description,END,scenario,start,principal\r\n"
                     "\"a, \"\"quoted\"\"\nmultiline\",2026-03-04T02:50:00Z,bulk,2026-03-04T02:05:00Z,svc_backup\r\n"
                     "\r\n"
                     "plain,2026-03-15T12:00:00.000Z,silence,2026-03-15T09:00:00.000Z,*\r\n");
    s = fresh(HOUR, CW_SCORE_NEVER);
    ok(cw_score_read_labels(s, path, err, sizeof err) == CW_OK, "labels: a valid file is read");
    unlink(path);
    path = temp_file("{\"@timestamp\":\"2026-03-04T02:46:17.014Z\",\"rule\":{\"id\":\"cdr-bulk-read-1h\"},"
                     "\"user\":{\"name\":\"svc_backup\"}}\n"
                     "\n"
                     "{\"@timestamp\":\"2026-03-15T10:00:00Z\",\"rule\":{\"id\":\"silent\"}}\n");
    ok(cw_score_read_alerts(s, path, err, sizeof err) == CW_OK, "alerts: a valid file is read");
    unlink(path);
    cw_score_result(s, &r);
    is_int(r.n_scenarios, 2, "labels: two scenarios");
    is_str(r.scenarios[0].name, "bulk", "labels: columns found by name");
    is_int(r.scenarios[0].start, T("2026-03-04T02:05:00Z"), "labels: start");
    is_int(r.scenarios[1].alerts, 1, "alerts: an alert without user matches '*'");
    is_int(r.totals.caught, 2, "both caught");

    char *text = printed(&r, CW_SCORE_TEXT);
    ok(text && strstr(text, "bulk      svc_backup  yes     2026-03-04T02:46:17.014Z  41m17s"),
       "text: an aligned row with the first alert and the delay");
    ok(text && strstr(text, "false positives (no learning period): 0"), "text: the false positives");
    ok(text && strstr(text, "2 scenarios: 2 caught, 0 missed; 2 alerts: 2 on scenarios, 0 false positives, "
                            "0 in the learning period (grace 1h)"), "text: the totals");
    free(text);
    text = printed(&r, CW_SCORE_MARKDOWN);
    ok(text && strstr(text, "| bulk | svc_backup | yes | 2026-03-04T02:46:17.014Z | 41m17s | 1 | cdr-bulk-read-1h |"),
       "markdown: a table row");
    free(text);
    text = printed(&r, CW_SCORE_JSON);
    cJSON *root = text ? cJSON_Parse(text) : NULL;
    cJSON *first = root ? cJSON_GetArrayItem(cJSON_GetObjectItem(root, "scenarios"), 0) : NULL;
    ok(first && cJSON_GetObjectItem(first, "delay_ms")->valuedouble == 41 * MIN + 17014,
       "json: delay_ms exact to the millisecond");
    ok(root && cJSON_IsTrue(cJSON_GetObjectItem(root, "passed")), "json: passed");
    ok(root && cJSON_IsNull(cJSON_GetObjectItem(root, "learning_until")), "json: no learning period is null");
    cJSON_Delete(root);
    free(text);

    /* errors name the file and the line of the record */
    static const struct {
        const char *text, *want, *name;
    } bad_labels[] = {
        {"", "expected a header line", "an empty labels file"},
        {"scenario,principal,start\n", ":1: expected a header naming the columns scenario, principal, start and end; 'end' is missing",
         "a missing column"},
        {"scenario,principal,start,end,description\nx,p,2026-03-04T02:05:00Z,2026-03-04T02:50:00Z,\"two\nlines\"\n"
         "y,p,2026-03-04T02:05:00Z\n",
         ":4: expected 5 columns as in the header, got 3", "a short row, after a record spanning two lines"},
        {"scenario,principal,start,end\nx,p,yesterday,2026-03-04T02:50:00Z\n",
         ":2: start: expected an ISO-8601 time with an offset", "a bad start time"},
        {"scenario,principal,start,end\nx,p,2026-03-04T02:05:00,2026-03-04T02:50:00Z\n",
         ":2: start: expected an ISO-8601 time", "a time without an offset"},
        {"scenario,principal,start,end\nx,p,2026-03-04T03:00:00Z,2026-03-04T02:50:00Z\n",
         ":2: end: expected a time at or after start", "an end before the start"},
        {"scenario,principal,start,end\n,p,2026-03-04T02:05:00Z,2026-03-04T02:50:00Z\n",
         ":2: scenario: expected a name", "an empty scenario"},
        {"scenario,principal,start,end\nx,\"p,2026-03-04T02:05:00Z,2026-03-04T02:50:00Z\n",
         ":2: expected CSV (RFC 4180), found an unterminated quote", "an unterminated quote"},
        {"scenario,principal,start,end\nx,p\"q,2026-03-04T02:05:00Z,2026-03-04T02:50:00Z\n",
         ":2: expected CSV (RFC 4180), found a stray quote", "a stray quote"},
    };
    for (size_t i = 0; i < sizeof bad_labels / sizeof bad_labels[0]; i++) {
        char name[160];
        path = temp_file(bad_labels[i].text);
        s = fresh(HOUR, CW_SCORE_NEVER);
        err[0] = '\0';
        snprintf(name, sizeof name, "labels: %s is refused with its line", bad_labels[i].name);
        ok(cw_score_read_labels(s, path, err, sizeof err) == CW_ERR_USAGE && strstr(err, path) &&
               strstr(err, bad_labels[i].want), name);
        if (!strstr(err, bad_labels[i].want))
            printf("#   got: %s\n", err);
        unlink(path);
    }
    s = fresh(HOUR, CW_SCORE_NEVER);
    ok(cw_score_read_labels(s, "/nonexistent/labels.csv", err, sizeof err) == CW_ERR_USAGE &&
           strstr(err, "/nonexistent/labels.csv: cannot open"), "labels: a missing file is named");

    static const struct {
        const char *text, *want, *name;
    } bad_alerts[] = {
        {"{\"@timestamp\":\"2026-03-04T02:46:17Z\",\"rule\":{\"id\":\"r\"}}\n\nnot json\n", ":3: expected a JSON object",
         "a line that is not JSON"},
        {"[1,2]\n", ":1: expected a JSON object, got another JSON value", "an array"},
        {"{\"@timestamp\":\"2026-03-04T02:46:17Z\"}\n", ":1: rule.id: expected a non-empty string", "no rule.id"},
        {"{\"@timestamp\":\"soon\",\"rule\":{\"id\":\"r\"}}\n", ":1: @timestamp: expected an ISO-8601 time",
         "a bad @timestamp"},
        {"{\"@timestamp\":\"2026-03-04T02:46:17Z\",\"rule\":{\"id\":\"r\"},\"user\":{\"name\":7}}\n",
         ":1: user.name: expected a string", "a user.name that is not a string"},
        {"{\"@timestamp\":\"2026-03-04T02:46:17Z\",\"rule\":{\"id\":\"r\"}} {}\n",
         ":1: expected one JSON object per line", "two objects on a line"},
    };
    for (size_t i = 0; i < sizeof bad_alerts / sizeof bad_alerts[0]; i++) {
        char name[160];
        path = temp_file(bad_alerts[i].text);
        s = fresh(HOUR, CW_SCORE_NEVER);
        err[0] = '\0';
        snprintf(name, sizeof name, "alerts: %s is refused with its line", bad_alerts[i].name);
        ok(cw_score_read_alerts(s, path, err, sizeof err) == CW_ERR_USAGE && strstr(err, path) &&
               strstr(err, bad_alerts[i].want), name);
        if (!strstr(err, bad_alerts[i].want))
            printf("#   got: %s\n", err);
        unlink(path);
    }
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_matching();
    test_scenarios_and_storms();
    test_delay_format();
    test_files();
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
