/* test_config.c — strict validation with messages that name the key, defaults, printing. */
#include <stdlib.h>
#include <apr_general.h>
#include "cdrwatch/config.h"
#include "tap.h"

static apr_pool_t *pool;
static char err[1024];

static cw_status_t load(const char *text, cw_config_t **cfg)
{
    err[0] = '\0';
    return cw_config_parse(pool, "t.json", text, strlen(text), cfg, err, sizeof err);
}

/* The load fails and the message contains `want`. */
static void refused(const char *text, const char *want, const char *name)
{
    cw_config_t *cfg;
    cw_status_t st = load(text, &cfg);
    if (!ok(st == CW_ERR_USAGE && strstr(err, want), name))
        printf("#   message:  %s\n#   expected to contain: %s\n", err, want);
}

#define RULE(extra) "{\"rules\":[{\"id\":\"r1\",\"name\":\"n\",\"threshold\":10" extra "}]}"

#define SEQ(trigger, extract)                                                                      \
    "{\"rules\":[{\"id\":\"seq\",\"name\":\"n\",\"kind\":\"sequence\",\"key\":[\"principal\"],"   \
    "\"sequence\":{\"trigger\":{\"statement\":{\"regex\":\"" trigger "\"}},\"extract\":\"" extract \
    "\",\"within\":\"1h\"}}]}"

/* Back-references are refused at load wherever a rule takes a regex (glibc's matcher recurses
 * without end on (|)(\1\1)* and would kill replay on the first statement); a backslash and a
 * digit inside a bracket expression are no back-reference. */
static void test_backrefs(void)
{
    cw_config_t *cfg;
    refused(RULE(",\"filter\":{\"statement\":{\"regex\":\"(|)(\\\\1\\\\1)*\"}}"),
            "t.json: rules[0].filter.statement.regex: rule \"r1\": expected a regular expression without "
            "back-references, got \"(|)(\\1\\1)*\"",
            "the crash regex (|)(\\1\\1)* in a filter is refused, naming the file, the rule and the field");
    refused(RULE(",\"filter\":{\"principal\":{\"not_regex\":\"(a)x\\\\9\"}}"), "rules[0].filter.principal.not_regex: rule \"r1\"",
            "\\9 in a not_regex is refused");
    refused(SEQ("(grant)[[:space:]]+\\\\1", "(user) ([a-z]+)"), "rules[0].sequence.trigger.statement.regex: rule \"seq\"",
            "a back-reference in a sequence trigger is refused");
    refused(SEQ("grant", "(user)[[:space:]]+\\\\1"), "rules[0].sequence.extract: rule \"seq\"",
            "a back-reference in an extract is refused");
    refused("{\"reference\":{\"subscriber_pattern\":\"'([0-9]+)'\\\\1\"}}", "reference.subscriber_pattern: expected a regular "
            "expression without back-references", "and in the subscriber pattern");
    ok(load(RULE(",\"filter\":{\"statement\":{\"regex\":\"[\\\\1]x[[:digit:]\\\\2]\\\\.[]\\\\3]\\\\\\\\4\"}}"), &cfg) == CW_OK,
       "a backslash and a digit in brackets, an escaped dot, an escaped backslash before a digit: no back-reference");
    if (err[0])
        printf("#   %s\n", err);
    ok(load(SEQ("grant", "(user)[[:space:]]+([a-z]+)"), &cfg) == CW_OK, "a sequence rule without back-references loads");
    if (err[0])
        printf("#   %s\n", err);
}

int main(void)
{
    cw_config_t *cfg;

    apr_initialize();
    apr_pool_create(&pool, NULL);

    ok(load("{}", &cfg) == CW_OK, "an empty object is a valid configuration");
    is_int(cfg->allowed_lateness, 300000, "default lateness 5m");
    is_str(cfg->input[CW_STREAM_AUDIT].topic, "db-audit", "default audit topic");
    is_int(cfg->input[CW_STREAM_AUDIT].n_columns, 13, "default audit columns");
    is_int(cfg->n_rules, 0, "no rules");
    is_str(cfg->input[CW_STREAM_AUDIT].tz, "UTC", "inputs.audit.tz defaults to UTC");
    ok(cfg->input[CW_STREAM_AUDIT].tz_zone != NULL, "and is resolved at load");
    ok(load("{\"inputs\":{\"audit\":{\"tz\":\"Europe/Berlin\"}}}", &cfg) == CW_OK, "inputs.audit.tz: an IANA name");
    refused("{\"inputs\":{\"audit\":{\"tz\":\"Europe/Atlantis\"}}}",
            "t.json: inputs.audit.tz: unknown time zone 'Europe/Atlantis'", "inputs.audit.tz: an unknown zone is refused at load");
    refused("{\"inputs\":{\"audit\":{\"tz\":\"+3\"}}}", "inputs.audit.tz: expected UTC, an offset such as +03:00",
            "inputs.audit.tz: a malformed offset is refused at load");

    ok(load(RULE(""), &cfg) == CW_OK, "a minimal rule");
    is_int(cfg->rules[0].window, 3600000, "rule window defaults to 1h");
    is_int(cfg->rules[0].bucket, 300000, "rule bucket defaults to 5m");
    is_int(cfg->rules[0].key[0], CW_F_PRINCIPAL, "rule key defaults to principal");
    is_int(cfg->rules[0].max_keys, 100000, "rule max_keys takes engine.max_keys");
    ok(cfg->rules[0].enabled && cfg->rules[0].metric == CW_METRIC_COUNT, "enabled count rule");

    ok(load("{\"lists\":{\"objs\":[\"*cdr*\",\"x.y\"]}," "\"rules\":[{\"id\":\"r1\",\"name\":\"n\",\"threshold\":10,"
            "\"filter\":{\"object\":\"@objs\",\"action\":{\"any\":[\"SELECT\"],\"none\":\"COPY\"}},"
            "\"metric\":{\"kind\":\"sum\",\"field\":\"rows\"},\"techniques\":[\"T1213\",\"T1505.003\"]}]}",
            &cfg) == CW_OK,
       "filters, lists, metric and techniques");
    is_int(cfg->rules[0].filter.n, 2, "two conditions");
    is_int(cfg->rules[0].filter.conds[0].any.n, 2, "@objs expanded into its two patterns");
    is_str(cfg->rules[0].filter.conds[0].any_src.items[0], "@objs", "the reference is kept for printing");
    is_int(cfg->rules[0].filter.conds[1].none.n, 1, "a none pattern");
    is_int(cfg->rules[0].metric_field, CW_F_ROWS, "sum of rows");

    refused("{\"engine\":{\"allowed_latenes\":\"5m\"}}",
            "t.json: engine.allowed_latenes: unknown key (did you mean \"allowed_lateness\"?)", "typo named with a suggestion");
    refused("{\"colour\":1}", "t.json: colour: unknown key", "unknown top-level key");
    refused("{\"engine\":{\"allowed_lateness\":12}}",
            "engine.allowed_lateness: expected a duration like \"1h\"", "a number for a duration");
    refused("{\"engine\":{\"allowed_lateness\":\"9w\"}}", "expected a duration from 0s to 1w", "duration out of range");
    refused("{\"engine\":{\"max_keys\":0}}", "engine.max_keys: expected an integer from 1 to 100000000, got 0",
            "integer below its range");
    refused("{\"engine\":{\"max_keys\":1.5}}", "engine.max_keys: expected an integer", "a fraction for an integer");
    refused("{\"engine\":{\"max_keys\":\"10\"}}", "expected an integer from 1 to 100000000, got \"10\"", "a string for an integer");
    refused("{\"engine\":[]}", "engine: expected an object", "an array for an object");
    refused("{\"engine\":{}, \"engine\":{}}", "engine: duplicate key", "duplicate key");
    refused("{\"rules\":[{\"name\":\"n\",\"threshold\":1}]}", "rules[0].id: required key is missing", "rule without id");
    refused(RULE(",\"window\":\"1h\",\"bucket\":\"7m\""), "rules[0].window: expected a multiple of bucket", "window not a multiple of bucket");
    refused(RULE(",\"window\":\"7d\",\"bucket\":\"1m\""), "rules[0].bucket: expected at most 1024 buckets", "too many buckets");
    refused(RULE(",\"stream\":\"cdr\""), "rules[0].key[0]: expected a field of the cdr stream", "audit key on a CDR rule");
    refused(RULE(",\"metric\":{\"kind\":\"sum\",\"field\":\"principal\"}"), "rules[0].metric.field: required with metric.kind \"sum\": expected a numeric field",
            "sum of a text field");
    refused(RULE(",\"metric\":{\"kind\":\"sum\"}"), "rules[0].metric.field: required with metric.kind \"sum\"",
            "sum without a field");
    ok(load(RULE(",\"stream\":\"cdr\",\"key\":[\"imsi\"]"), &cfg) == CW_OK && cfg->rules[0].metric_field == CW_F_NONE,
       "a count rule on the CDR stream needs no metric field");
    refused(RULE(",\"metric\":{\"kind\":\"avg\"}"), "rules[0].metric.kind: expected \"count\", \"sum\" or \"distinct\"", "unknown metric");
    refused(RULE(",\"filter\":{\"objekt\":\"x\"}"), "rules[0].filter.objekt: expected a field of the audit stream", "unknown filter field");
    refused(RULE(",\"filter\":{\"object\":\"@nolist\"}"), "expected \"@name\" of a list in `lists` (none defined)", "unknown list");
    refused(RULE(",\"filter\":{\"object\":{\"anyy\":[\"x\"]}}"), "rules[0].filter.object.anyy: unknown key", "bad condition key");
    refused(RULE(",\"techniques\":[\"T12\"]"), "rules[0].techniques[0]: expected an ATT&CK technique id", "bad technique");
    refused(RULE(",\"severity\":101"), "rules[0].severity: expected an integer from 0 to 100", "severity out of range");
    refused(RULE(",\"id\":\"bad id\""), "rules[0].id: duplicate key", "duplicate id key in a rule");
    refused("{\"rules\":[{\"id\":\"a\",\"name\":\"n\",\"threshold\":1},{\"id\":\"a\",\"name\":\"m\",\"threshold\":1}]}",
            "rules[1].id: expected a unique id, \"a\" is also rules[0].id", "duplicate rule id");
    refused("{\"rules\":[{\"id\":\"a b\",\"name\":\"n\",\"threshold\":1}]}", "rules[0].id: expected letters, digits",
            "id with a space");
    refused("{\"engine\":{\"allowed_lateness\":\"2h\"}," "\"rules\":[{\"id\":\"a\",\"name\":\"n\",\"threshold\":1}]}",
            "engine.allowed_lateness: expected at most the smallest rule window", "lateness longer than a window");
    refused("{\"engine\":{\n  \"max_keys\": 5,\n}}", "t.json: line 3, column 2: expected valid JSON", "syntax error with line and column");
    refused("{} x", "expected the end of the file", "bytes after the object");
    refused("{\"kafka\":{\"properties\":{\"acks\":[1]}}}", "kafka.properties.acks: expected a string, number or boolean",
            "a non-scalar librdkafka property");

    /* secrets: loaded, never printed */
    ok(load("{\"kafka\":{\"properties\":{\"sasl.password\":\"hunter2\",\"linger.ms\":5}}}", &cfg) == CW_OK, "properties load");
    is_str(cfg->kafka_props[1].value, "5", "a number becomes its text");
    {
        char *text = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&text, &len);
        cw_config_print(cfg, mem);
        fclose(mem);
        ok(strstr(text, "hunter2") == NULL && strstr(text, "\"sasl.password\": \"(redacted)\""),
           "check-config output redacts secrets");
        free(text);
    }

    /* the shipped default loads, and its printed form loads to the same printed form */
    {
        char *a = NULL, *b = NULL;
        size_t la = 0, lb = 0;
        FILE *mem;
        cw_config_t *c2;
        ok(cw_config_load(pool, NULL, &cfg, err, sizeof err) == CW_OK, "the built-in default loads");
        ok(cfg->n_rules >= 1, "the default has rules");
        mem = open_memstream(&a, &la);
        cw_config_print(cfg, mem);
        fclose(mem);
        ok(cw_config_parse(pool, "printed", a, la, &c2, err, sizeof err) == CW_OK, "printed config loads");
        mem = open_memstream(&b, &lb);
        cw_config_print(c2, mem);
        fclose(mem);
        is_str(b, a, "print(load(print(default))) == print(default)");
        free(a);
        free(b);
    }
    ok(cw_config_load(pool, "/nonexistent/cdrwatch.json", &cfg, err, sizeof err) == CW_ERR_USAGE &&
       strstr(err, "/nonexistent/cdrwatch.json: cannot open"), "a missing file is named");
    test_backrefs();

    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
