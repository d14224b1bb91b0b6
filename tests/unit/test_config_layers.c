/* test_config_layers.c — layered configuration: later --config files override earlier ones
 * (objects merged key by key, rules matched by id, lists replaced), the origin of each value,
 * and messages that name the file the offending value came from. */
#include <stdlib.h>
#include <unistd.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "cdrwatch/config.h"
#include "tap.h"

static apr_pool_t *pool;
static char dir[] = "/tmp/cw-layers-XXXXXX";
static char err[1024];

/* Write text to dir/name; returns the path. */
static const char *layer(const char *name, const char *text)
{
    const char *path = apr_pstrcat(pool, dir, "/", name, NULL);
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
    return path;
}

static cw_status_t load2(const char *a, const char *b, cw_config_t **cfg)
{
    const char *paths[2] = {a, b};
    err[0] = '\0';
    return cw_config_load_layers(pool, paths, 2, cfg, err, sizeof err);
}

static const cw_rule_t *rule(const cw_config_t *cfg, const char *id)
{
    for (int i = 0; i < cfg->n_rules; i++) {
        if (strcmp(cfg->rules[i].id, id) == 0)
            return &cfg->rules[i];
    }
    return NULL;
}

static const char *origin(const cw_config_t *cfg, const char *path)
{
    for (int i = 0; i < cfg->origins->nelts; i++) {
        const cw_origin_t *o = &APR_ARRAY_IDX(cfg->origins, i, cw_origin_t);
        if (strcmp(o->path, path) == 0)
            return o->file;
    }
    return "(default)";
}

/* Loading base + overlay fails with a message that is exactly `want` after the directory. */
static void refused(const char *base, const char *over, const char *want, const char *name)
{
    cw_config_t *cfg;
    cw_status_t st = load2(base, over, &cfg);
    size_t n = strlen(dir);
    ok(st == CW_ERR_USAGE, name);
    is_str(strncmp(err, dir, n) == 0 ? err + n + 1 : err, want, name);
}

static const char base_text[] =
    "{\"engine\": {\"max_keys\": 5000, \"evidence_ring\": 10},\n"
    " \"kafka\": {\"properties\": {\"socket.timeout.ms\": 1000, \"client.id\": \"a\"}},\n"
    " \"lists\": {\"a\": [\"x\"], \"b\": [\"y\", \"yy\"]},\n"
    " \"rules\": [{\"id\": \"r1\", \"name\": \"one\", \"threshold\": 10, \"techniques\": [\"T1213\", \"T1119\"],\n"
    "             \"filter\": {\"principal\": \"@a\"}},\n"
    "            {\"id\": \"r2\", \"name\": \"two\", \"threshold\": 20, \"severity\": 30}]}\n";

static const char over_text[] =
    "{\"engine\": {\"evidence_ring\": 100},\n"
    " \"kafka\": {\"properties\": {\"client.id\": \"b\"}},\n"
    " \"lists\": {\"b\": [\"z\"]},\n"
    " \"rules\": [{\"id\": \"r2\", \"threshold\": 25},\n"
    "            {\"id\": \"r1\", \"techniques\": [\"T1030\"]},\n"
    "            {\"id\": \"r3\", \"name\": \"three\", \"kind\": \"first_seen\", \"seen\": {\"field\": \"client_host\"}}]}\n";

static void test_merge(const char *base, const char *over)
{
    cw_config_t *cfg;
    const cw_rule_t *r1, *r2;
    const cw_strlist_t *b;
    if (!ok(load2(base, over, &cfg) == CW_OK, "two layers load")) {
        printf("#   %s\n", err);
        return;
    }
    is_int(cfg->max_keys, 5000, "a value only the first layer sets is kept");
    is_int(cfg->evidence_ring, 100, "a value the second layer sets overrides the first");
    is_int(cfg->allowed_lateness, 5 * CW_MS_PER_MINUTE, "a value no layer sets has its default");
    is_int(cfg->n_kafka_props, 2, "objects are merged key by key (kafka.properties)");
    is_str(cfg->kafka_props[cfg->n_kafka_props - 1].value, "b", "... the later layer's value wins");
    b = cw_config_list(cfg, "b");
    ok(b && b->n == 1 && strcmp(b->items[0], "z") == 0, "a list is replaced, not appended to");
    ok(cw_config_list(cfg, "a") != NULL, "a list only the first layer has is kept");
    is_int(cfg->n_rules, 3, "rules are matched by id: two merged, one appended");
    r1 = rule(cfg, "r1");
    r2 = rule(cfg, "r2");
    ok(r1 && r2 && rule(cfg, "r3"), "every rule id is there");
    is_str(cfg->rules[2].id, "r3", "a new rule comes after the earlier layers' rules");
    is_int(r2 ? r2->threshold : 0, 25, "a rule's key set by the overlay overrides");
    is_str(r2 ? r2->name : NULL, "two", "a rule's keys the overlay does not give are kept");
    is_int(r2 ? r2->severity : 0, 30, "... all of them");
    ok(r1 && r1->techniques.n == 1 && strcmp(r1->techniques.items[0], "T1030") == 0,
       "a list inside a rule is replaced");
    ok(r1 && r1->filter.n == 1, "a rule's filter from the first layer is kept");
    is_str(origin(cfg, "engine.max_keys"), base, "origin: a value of the first layer");
    is_str(origin(cfg, "engine.evidence_ring"), over, "origin: a value the second layer overrode");
    is_str(origin(cfg, "rules[1].threshold"), over, "origin: a rule's key, by the rule's merged index");
    is_str(origin(cfg, "rules[1].name"), base, "origin: a rule's key the overlay left alone");
    is_str(origin(cfg, "rules[2].seen.field"), over, "origin: an appended rule");
    is_str(origin(cfg, "engine.allowed_lateness"), "(default)", "origin: no file sets a default");
}

static void test_errors(const char *base)
{
    refused(base, layer("e1.json", "{\"rules\": [{\"id\": \"r1\", \"window\": 12}]}"),
            "e1.json: rules[0].window: expected a duration like \"1h\" (units ms, s, m, h, d, w), got 12",
            "a bad value in the overlay names the overlay and the key path");
    refused(layer("e2.json", "{\"engine\": {\"max_keys\": 0}}"), layer("ok.json", "{}"),
            "e2.json: engine.max_keys: expected an integer from 1 to 100000000, got 0",
            "a bad value in the first layer names the first layer");
    refused(base, layer("e3.json", "{\"rules\": [{\"id\": \"r9\", \"name\": \"n\"}]}"),
            "e3.json: rules[2].threshold: required with kind \"threshold\": expected an integer >= 1 "
            "(or a windows list)",
            "a rule the overlay adds is checked, and its errors name the overlay");
    refused(base, layer("e4.json", "{\"engine\": {\"max_kes\": 3}}"),
            "e4.json: engine.max_kes: unknown key (did you mean \"max_keys\"?)",
            "an unknown key in the overlay names the overlay");
    refused(base, layer("e5.json", "[1]"), "e5.json: (top level): expected an object, got [1]",
            "an overlay that is not an object");
    refused(base, layer("e6.json", "{\"engine\": {\"max_keys\": 1, \"max_keys\": 2}}"),
            "e6.json: engine.max_keys: duplicate key", "a duplicate key in the overlay");
    {
        /* the same message as for the file alone (line and column of cJSON's error position) */
        const char *e7 = layer("e7.json", "{\"engine\": \n");
        cw_config_t *cfg;
        char alone[1024];
        cw_config_load(pool, e7, &cfg, alone, sizeof alone);
        ok(strstr(alone, "e7.json: line ") && strstr(alone, "expected valid JSON (syntax error)"),
           "a syntax error names the file, line and column");
        ok(load2(base, e7, &cfg) == CW_ERR_USAGE, "a syntax error in the overlay is refused");
        is_str(err, alone, "... with the overlay's own message");
    }
}

static void test_one_or_none(const char *base)
{
    cw_config_t *a, *b;
    const char *bad = layer("bad.json", "{\"rules\": [{\"id\": \"r1\", \"name\": \"n\", \"threshold\": \"x\"}]}");
    char err2[1024];
    ok(cw_config_load_layers(pool, NULL, 0, &a, err, sizeof err) == CW_OK &&
           cw_config_load(pool, NULL, &b, err, sizeof err) == CW_OK && a->n_rules == b->n_rules && a->n_rules > 0,
       "no layer: the built-in configuration");
    ok(cw_config_load_layers(pool, &bad, 1, &a, err, sizeof err) == CW_ERR_USAGE &&
           cw_config_load(pool, bad, &b, err2, sizeof err2) == CW_ERR_USAGE,
       "one layer with an error is refused, as by cw_config_load");
    is_str(err, err2, "... with the same message");
    ok(cw_config_load_layers(pool, &base, 1, &a, err, sizeof err) == CW_OK, "one layer loads");
    is_str(origin(a, "rules[0].name"), base, "one layer: its values come from it");
}

/* A reload of `run` keeps the running inputs, outputs, kafka and state settings (its clients are
 * built on them) and names those the new files changed; everything else is the new files'. */
static void test_keep_restart_only(void)
{
    static const char running[] = "{\"kafka\":{\"brokers\":\"k1:9092\",\"properties\":{\"sasl.password\":\"a\"}},"
                                  "\"state\":{\"interval\":\"60s\"}}";
    static const char reloaded[] =
        "{\"kafka\":{\"brokers\":\"k2:9092\",\"properties\":{\"sasl.password\":\"b\"}},"
        "\"inputs\":{\"cdr\":{\"csv_columns\":[\"start_time\",\"calling_msisdn\"]}},\"state\":{\"interval\":\"5s\"},"
        "\"engine\":{\"max_keys\":77}}";
    cw_config_t *a, *b, *c;
    char why[512], changed[512];
    if (cw_config_parse(pool, "running", running, strlen(running), &a, why, sizeof why) != CW_OK ||
        cw_config_parse(pool, "reloaded", reloaded, strlen(reloaded), &b, why, sizeof why) != CW_OK ||
        cw_config_parse(pool, "same", running, strlen(running), &c, why, sizeof why) != CW_OK) {
        printf("Bail out! %s\n", why);
        exit(1);
    }
    cw_config_keep_restart_only(b, a, changed, sizeof changed);
    is_str(changed, "inputs.cdr.csv_columns, kafka.brokers, kafka.properties, state.interval",
           "restart-only: the changed settings are named (a secret property too, never its value)");
    ok(strcmp(b->brokers, "k1:9092") == 0 && b->state_interval == 60000 && b->n_kafka_props == 1 &&
           strcmp(b->kafka_props[0].value, "a") == 0 && b->input[CW_STREAM_CDR].n_columns == a->input[CW_STREAM_CDR].n_columns,
       "restart-only: ... and keep the running values");
    is_int(b->max_keys, 77, "restart-only: the other settings are the reloaded file's");
    cw_config_keep_restart_only(c, a, changed, sizeof changed);
    is_str(changed, "", "restart-only: nothing named when nothing changed");
}

int main(void)
{
    const char *base, *over;
    apr_initialize();
    apr_pool_create(&pool, NULL);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    base = layer("base.json", base_text);
    over = layer("over.json", over_text);
    test_merge(base, over);
    test_errors(base);
    test_one_or_none(base);
    test_keep_restart_only();
    if (system(apr_pstrcat(pool, "rm -rf '", dir, "'", NULL)) != 0)
        printf("# could not remove %s\n", dir);
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
