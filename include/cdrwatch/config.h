/*
 * config.h — the configuration: load, validate strictly, fill defaults, print.
 *
 * Every option is declared once, in the option tables of config.c (path, type, default, range,
 * help). The same tables drive validation, `check-config` output and the option list of the man
 * page (`cdrwatch check-config --list-options`), so they cannot drift apart.
 *
 * A loaded configuration lives in its own pool (one pool per configuration generation); nothing
 * in it changes after cw_config_load returns, so the engine may keep pointers into it.
 */
#ifndef CDRWATCH_CONFIG_H
#define CDRWATCH_CONFIG_H

#include <stdbool.h>
#include <stdio.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include "cdrwatch/event.h"

#define CW_KEY_FIELDS_MAX 4

/* A list of case-insensitive glob patterns ('*', '?'; a pattern without them is an exact
 * match). */
typedef struct {
    const char **items;
    int n;
} cw_strlist_t;

/* One filter condition: the field's value must match one of `any` (when not empty) and none of
 * `none`. An absent field has the value "". */
typedef struct {
    cw_field_t field;
    cw_strlist_t any;      /* patterns, with "@list" references expanded */
    cw_strlist_t none;
    cw_strlist_t any_src;  /* as written in the file (for check-config) */
    cw_strlist_t none_src;
} cw_cond_t;

typedef enum { CW_METRIC_COUNT = 0, CW_METRIC_SUM } cw_metric_kind_t;

typedef struct {
    const char *id;
    const char *name;
    const char *description;
    bool enabled;
    cw_stream_t stream;
    cw_cond_t *conds;
    int n_conds;
    cw_field_t key[CW_KEY_FIELDS_MAX];
    int n_key;
    cw_metric_kind_t metric;
    cw_field_t metric_field; /* for sum */
    cw_time_t window;        /* ms, a multiple of bucket */
    cw_time_t bucket;        /* ms */
    int64_t threshold;       /* alert when the window's value reaches it */
    cw_time_t suppress;      /* ms after an alert during which the (rule, key) stays quiet */
    int severity;            /* 0-100 */
    cw_strlist_t techniques; /* MITRE ATT&CK ids */
    bool include_failed;     /* count records with status=fail too */
    int64_t max_keys;        /* tracked keys before the oldest idle one is evicted */
} cw_rule_t;

typedef struct {
    const char *topic;
    cw_field_t columns[CW_F_COUNT]; /* column order of headerless CSV messages */
    int n_columns;
} cw_input_config_t;

typedef struct {
    const char *key;
    const char *value;
} cw_kv_t;

typedef struct {
    const char *path;             /* file it came from, for messages */
    cw_time_t allowed_lateness;   /* engine.allowed_lateness */
    int64_t max_keys;             /* engine.max_keys: default per rule */
    cw_input_config_t input[CW_STREAM_COUNT];
    const char *alerts_topic;
    const char *dlq_suffix;
    const char *stats_topic;      /* "" = none */
    const char *brokers;
    const char *group;
    cw_time_t kafka_idle_wait;    /* ms: kafka.idle_wait */
    cw_time_t kafka_commit_interval;
    cw_time_t kafka_stats_interval;
    cw_time_t kafka_shutdown_timeout;
    cw_kv_t *kafka_props;         /* passed through to librdkafka */
    int n_kafka_props;
    apr_array_header_t *list_names; /* const char *: names of the `lists` entries, in file order */
    apr_array_header_t *list_values; /* cw_strlist_t, same order */
    cw_rule_t *rules;
    int n_rules;
} cw_config_t;

/* Load and validate a configuration file, or the built-in default when path is NULL.
 * On error returns CW_ERR_USAGE with a message naming the file, the key path and what was
 * expected: `cdrwatch.json: rules[2].window: expected a duration like "1h", got 12`. */
cw_status_t cw_config_load(apr_pool_t *pool, const char *path, cw_config_t **out, char *err,
                           size_t errlen);
/* The same from a string (tests, Kafka-delivered configs); `name` is used in messages. */
cw_status_t cw_config_parse(apr_pool_t *pool, const char *name, const char *text, size_t len,
                            cw_config_t **out, char *err, size_t errlen);

/* Print the effective configuration as JSON (defaults filled in, secrets redacted). The output
 * is itself a valid configuration. */
void cw_config_print(const cw_config_t *cfg, FILE *out);

/* Print every option with type, default, range and help: format "text" or "man" (roff). */
void cw_config_describe(FILE *out, bool roff);

/* Look up a named list ("cdr_objects"); NULL if none. */
const cw_strlist_t *cw_config_list(const cw_config_t *cfg, const char *name);

/* True for librdkafka property names that hold secrets (values never printed). */
bool cw_config_is_secret(const char *key);

/* The built-in default configuration (config/cdrwatch.json, compiled in). */
extern const char cw_default_config[];
extern const size_t cw_default_config_len;

#endif
