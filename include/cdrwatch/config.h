/*
 * config.h — the configuration: load, validate strictly, fill defaults, print.
 *
 * Every option is declared once, in the option tables of config.c (path, type, default, range,
 * help). The same tables drive validation, `check-config` output and the option list of the man
 * page (`cdrwatch check-config --list-options`), so they cannot drift apart.
 *
 * Several files may be loaded as layers (cw_config_load_layers): later ones override earlier
 * ones, rules matched by id, before the merged result is validated as one file would be.
 *
 * A loaded configuration lives in its own pool (one pool per configuration generation); nothing
 * in it changes after cw_config_load returns, so the engine may keep pointers into it.
 */
#ifndef CDRWATCH_CONFIG_H
#define CDRWATCH_CONFIG_H

#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
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

/* Hours of the week as a bitmap: bit (day * 24 + hour), day 0 = Monday, UTC. */
typedef struct {
    uint8_t bits[21];
} cw_hours_t;

static inline bool cw_hours_has(const cw_hours_t *h, int hour_of_week)
{
    return (h->bits[hour_of_week >> 3] >> (hour_of_week & 7)) & 1;
}
/* Hour of week (0 = Monday 00:00-01:00 UTC) of an event time. */
int cw_hour_of_week(cw_time_t t);
/* Parse hour specs like "Mon-Fri 08-18" (08:00 to 18:00), "Sat", "Sun 22-06", "*" into h (OR-ed). */
bool cw_hours_parse(const char *spec, cw_hours_t *h);

/* One filter condition: the field's value must match one of `any` (when not empty), none of
 * `none`, and the regular expressions when given. An absent field has the value "". For the
 * derived field "hours", the patterns are hour specs. `present` tests whether the record has
 * the field at all (a logged row count of 0 is present, no row count is not). */
typedef struct {
    cw_field_t field;
    cw_strlist_t any;      /* patterns, with "@list" references expanded */
    cw_strlist_t none;
    cw_strlist_t any_src;  /* as written in the file (for check-config) */
    cw_strlist_t none_src;
    const char *regex;     /* POSIX extended, case-insensitive; NULL if none */
    const char *not_regex;
    void *re, *not_re;     /* compiled regex_t, owned by the configuration's pool */
    const struct cw_globset *any_set, *none_set; /* any and none compiled (glob.h) */
    size_t re_window;      /* engine.regex_window: bytes given to regexec at a time */
    int8_t present;        /* 1: the record must have the field, 0: must not, -1: either */
    int memo;              /* identical conditions of different rules share this index, so a
                              record evaluates each distinct condition once */
    int any_memo, none_memo; /* the same for the lists alone: the conditions that hold one list
                                on one field (with different regexes) match it once a record */
    cw_hours_t hours_any, hours_none; /* field "hours" */
} cw_cond_t;

typedef struct {
    cw_cond_t *conds;
    int n;
} cw_filter_t;

/* An allow-list entry: records matching every given part are not counted by the rule. */
typedef struct {
    cw_strlist_t principal, client_host, client_app, hours_src;
    const char *comment; /* why the entry is there (ignored by detection) */
    bool has_hours;
    cw_hours_t hours;
} cw_allow_t;

typedef enum { CW_METRIC_COUNT = 0, CW_METRIC_SUM, CW_METRIC_DISTINCT } cw_metric_kind_t;

typedef enum {
    CW_KIND_THRESHOLD = 0, /* a metric over sliding windows against thresholds */
    CW_KIND_FIRST_SEEN,    /* a value of a field never seen before for the key */
    CW_KIND_SEQUENCE,      /* a trigger (an account created) followed by matching records */
    CW_KIND_SILENCE,       /* a key that used to send records goes quiet */
} cw_rule_kind_t;

#define CW_WINDOWS_MAX 4

typedef struct {
    cw_time_t window; /* ms, a multiple of bucket */
    cw_time_t bucket; /* ms */
    int64_t threshold; /* static threshold; with a baseline: the floor below which nothing alerts */
} cw_window_spec_t;

/* Names of the enumerated option values, shared by loading, printing and the rules:
 * `cw_enum_name(cw_rule_kinds, CW_KIND_SILENCE)` is "silence". */
typedef struct {
    const char *name;
    int value;
} cw_enum_name_t;
typedef struct {
    const cw_enum_name_t *names; /* in the order messages and the option reference list them */
    int n;
} cw_enum_t;
extern const cw_enum_t cw_rule_kinds;   /* cw_rule_kind_t: threshold, first_seen, ... */
extern const cw_enum_t cw_metric_kinds; /* cw_metric_kind_t: count, sum, distinct */
extern const cw_enum_t cw_streams;      /* cw_stream_t: audit, cdr */
/* outputs.format: the shape of an alert (alert.c). */
typedef enum { CW_FORMAT_ECS = 0, CW_FORMAT_OCSF = 1 } cw_alert_format_t;
extern const cw_enum_t cw_alert_formats; /* cw_alert_format_t: ecs, ocsf */
/* The name of a value; "?" if the table has none. */
const char *cw_enum_name(const cw_enum_t *e, int value);
/* The value of a name (exact, case-sensitive); false if the table has none. */
bool cw_enum_lookup(const cw_enum_t *e, const char *name, int *value);

/*
 * Lists the option table stores at one offset, as { items, n } (config.c parses and prints
 * them through these types). Each sits in an anonymous union with the member names the other
 * modules read (`allow`, `n_allow`...): the two structs share their initial sequence.
 */
typedef struct {
    cw_field_t items[CW_KEY_FIELDS_MAX];
    int n;
} cw_key_list_t;

typedef struct {
    cw_window_spec_t items[CW_WINDOWS_MAX];
    int n;
    bool listed; /* given as `windows` (printing uses the same form) */
} cw_window_list_t;

typedef struct {
    cw_allow_t *items;
    int n;
} cw_allow_list_t;

typedef struct {
    const char *id;
    const char *name;
    const char *description;
    const char *comment; /* a note, e.g. the evidence `cdrwatch tune` gives (ignored by detection) */
    bool enabled;
    cw_rule_kind_t kind;
    cw_stream_t stream;
    cw_filter_t filter;
    union {
        cw_key_list_t key_list;
        struct {
            cw_field_t key[CW_KEY_FIELDS_MAX];
            int n_key;
        };
    };
    cw_metric_kind_t metric;
    cw_field_t metric_field; /* for sum and distinct */
    /* windows: `window`, `bucket`, `threshold` are the one-window form; `windows` the list */
    cw_time_t window;
    cw_time_t bucket;
    int64_t threshold;
    union {
        cw_window_list_t window_list;
        struct {
            cw_window_spec_t windows[CW_WINDOWS_MAX];
            int n_windows;
            bool windows_listed; /* given as `windows` (printing uses the same form) */
        };
    };
    /* baseline: alert only when the value also exceeds mean + sigma * sd and ratio * mean of
     * the key's hour-of-week profile (a factor of 0 turns that test off; both 0: no baseline) */
    double baseline_sigma;
    double baseline_ratio;
    cw_time_t baseline_learning;
    int64_t baseline_min_observations;
    double baseline_alpha;
    /* adaptive floors (doc/rules.md): once the key's first record is adaptive_learning old, a
     * crossing its own history explains does not alert. Peaks: explained when the value is at
     * most adaptive_factor times the key's own highest value of the window over the last 14
     * days (at the same hour of day for windows under a day; 0: off). Seen: explained when the
     * record's values of these fields were seen for the key before (n 0: off). */
    double adaptive_factor;
    cw_time_t adaptive_learning;
    int64_t adaptive_near_hours; /* windows under a day: peaks of the hours of day this near */
    union {
        cw_key_list_t adaptive_seen_list;
        struct {
            cw_field_t adaptive_seen[CW_KEY_FIELDS_MAX];
            int n_adaptive_seen;
        };
    };
    /* lookup profile (doc/rules.md, "Rows per subscriber looked up"): with lookup_quantile > 0
     * the rule counts only records that name subscribers and log rows; a record counts 1 when
     * its rows per subscriber, as a share of those subscribers' CDRs of the last day, are above
     * the key's own learned lookup_quantile, and the window's count alerts only when it is
     * improbable (one-sided binomial tail at most lookup_p_value) for the key's learned rate
     * of such lookups. 0: off. */
    double lookup_quantile;
    double lookup_p_value;
    cw_time_t lookup_learning;
    int64_t lookup_min_observations;
    /* first_seen */
    cw_field_t seen_field;
    bool seen_new_principal;
    cw_time_t seen_learning;
    /* sequence */
    cw_filter_t trigger;
    const char *extract; /* regex with one group: the principal the trigger names */
    void *extract_re;
    size_t extract_window; /* engine.regex_window, for cw_regex_match */
    cw_time_t within;
    /* silence */
    cw_time_t gap;
    int64_t min_records; /* in the 24 h before the silence, to count as a busy key */
    int64_t min_active_hours; /* ... spread over at least this many of those hours */
    cw_filter_t silence_while; /* what must keep coming from the key while `filter` is silent;
                                * no conditions: off (any record of the stream moves the clock) */
    int64_t while_records;     /* ... at least this many of them within the gap */
    cw_time_t suppress;
    int severity;            /* 0-100 */
    cw_strlist_t techniques; /* MITRE ATT&CK ids */
    union {
        cw_allow_list_t allow_list;
        struct {
            cw_allow_t *allow;
            int n_allow;
        };
    };
    bool include_failed;     /* count records with status=fail too */
    int64_t max_keys;        /* tracked keys before the oldest idle one is evicted */
} cw_rule_t;

/* A class of client hosts (mail, web, dmz...) whose first sighting weighs more. */
typedef struct {
    const char *name;
    cw_strlist_t patterns;
    const struct cw_globset *set; /* patterns compiled (glob.h) */
    int severity;
} cw_host_class_t;

typedef struct {
    cw_host_class_t *items;
    int n;
} cw_host_class_list_t;

typedef struct {
    cw_field_t items[CW_F_COUNT];
    int n;
} cw_column_list_t;

typedef struct {
    union { /* first: the option inputs.*.csv_columns points at the whole struct */
        cw_column_list_t column_list;
        struct {
            cw_field_t columns[CW_F_COUNT]; /* column order of headerless CSV messages */
            int n_columns;
        };
    };
    const char *topic;
    const char *tz;              /* inputs.audit.tz: the zone of local times in the sources' logs */
    const struct cw_tz *tz_zone; /* ... resolved at load (decode_tz.h) */
} cw_input_config_t;

typedef struct {
    const char *key;
    const char *value;
} cw_kv_t;

typedef struct {
    cw_kv_t *items;
    int n;
} cw_kv_list_t;

/* A named list of patterns (`lists` in the file). */
typedef struct {
    const char *name;
    cw_strlist_t patterns;
} cw_named_list_t;

typedef struct {
    cw_named_list_t *items; /* in file order */
    int n;
} cw_named_lists_t;

/* Where a value of the configuration came from (check-config --origin). */
typedef struct {
    const char *path; /* key path as in messages: "engine.max_keys", "rules[2].threshold" */
    const char *file; /* the layer that set it last */
} cw_origin_t;

typedef struct {
    const char *path;             /* file it came from (with layers: the last one), for messages */
    apr_array_header_t *origins;  /* cw_origin_t, every value a file set (cw_config_load_layers) */
    cw_time_t allowed_lateness;   /* engine.allowed_lateness */
    int64_t max_keys;             /* engine.max_keys: default per rule */
    int64_t regex_window;         /* engine.regex_window: bytes a rule's regex sees at a time */
    cw_input_config_t input[CW_STREAM_COUNT];
    const char *alerts_topic;
    cw_alert_format_t alert_format; /* outputs.format */
    const char *dlq_suffix;
    const char *stats_topic;      /* "" = none */
    const char *http_listen;      /* outputs.http_listen: "PORT" or "ADDR:PORT"; "" = off (http.h) */
    const char *brokers;
    const char *group;
    cw_time_t kafka_idle_wait;    /* ms: kafka.idle_wait */
    cw_time_t kafka_commit_interval;
    cw_time_t kafka_stats_interval;
    cw_time_t kafka_shutdown_timeout;
    union {
        cw_kv_list_t kafka_prop_list;
        struct {
            cw_kv_t *kafka_props; /* passed through to librdkafka */
            int n_kafka_props;
        };
    };
    cw_named_lists_t lists;
    const char *state_topic;      /* state.topic: checkpoints of run */
    cw_time_t state_interval;     /* ms; 0: no checkpoints */
    int64_t state_part_size;      /* bytes per checkpoint message */
    cw_rule_t *rules;
    int n_rules;
    union {
        cw_host_class_list_t host_class_list;
        struct {
            cw_host_class_t *host_classes;
            int n_host_classes;
        };
    };
    /* watchlist: identifiers (MSISDN, IMSI or IMEI) from a file and inline */
    const char *watchlist_file;
    cw_strlist_t watchlist_ids;
    /* CDR reference */
    int64_t sketch_width;
    int64_t sketch_depth;
    int64_t max_links;
    double history_fraction;
    int64_t history_min_records;
    cw_time_t history_min_span;
    const char *subscriber_pattern;
    void *subscriber_re;
    int64_t evidence_ring;
    int n_memo;            /* distinct filter conditions, then distinct (field, list) pairs */
} cw_config_t;

/* Load and validate a configuration file, or the built-in default when path is NULL.
 * On error returns CW_ERR_USAGE with a message naming the file, the key path and what was
 * expected: `cdrwatch.json: rules[2].window: expected a duration like "1h", got 12`. */
cw_status_t cw_config_load(apr_pool_t *pool, const char *path, cw_config_t **out, char *err,
                           size_t errlen);
/* Load configuration layers: paths[0] first, each later file overriding the earlier ones (objects
 * merged key by key, rules matched by id and merged, every other value and list replaced);
 * n == 0 loads the built-in default; a NULL path is the built-in default as a layer (so a tuning
 * layer can go on top of it). Fills cfg->origins. A message names the file the offending
 * value came from and its key path in the merged configuration (rules[N] counts the merged
 * rules: an earlier layer's rules first, then the new ids of each later layer). */
cw_status_t cw_config_load_layers(apr_pool_t *pool, const char *const *paths, int n, cw_config_t **out,
                                  char *err, size_t errlen);
/* The same from a string (tests, Kafka-delivered configs); `name` is used in messages. */
cw_status_t cw_config_parse(apr_pool_t *pool, const char *name, const char *text, size_t len,
                            cw_config_t **out, char *err, size_t errlen);

/* Print the effective configuration as JSON (defaults filled in, secrets redacted). The output
 * is itself a valid configuration. */
void cw_config_print(const cw_config_t *cfg, FILE *out);

/* Print, one a line, every option path and the file its value came from ("(default)" when no
 * file set it): "rules[2].threshold<TAB>overlay.json". Paths a file set inside an option (a
 * list of `lists`, a filter condition) are listed one by one. */
void cw_config_print_origins(const cw_config_t *cfg, FILE *out);

/* The settings a running `run` cannot change, because its Kafka clients and topics are built on
 * them — every option under inputs, outputs, kafka and state: copied from `from` into `to` (a
 * reloaded configuration keeps the running ones); `changed` receives the paths of those that
 * differed, comma-separated ("" when none). */
void cw_config_keep_restart_only(cw_config_t *to, const cw_config_t *from, char *changed, size_t n);

/* Print every option with type, default, range and help: format "text" or "man" (roff). */
void cw_config_describe(FILE *out, bool roff);

/* Look up a named list ("cdr_objects"); NULL if none. */
const cw_strlist_t *cw_config_list(const cw_config_t *cfg, const char *name);

/* True for librdkafka property names that hold secrets (values never printed). */
bool cw_config_is_secret(const char *key);

/* A kafka.properties value that begins with this names a file holding the value, read by `run`
 * at start (cw_kafka_prop_value): the reference is printed, the file's contents never. */
#define CW_CONFIG_FILE_REF "@file:"

/* The built-in default configuration (config/cdrwatch.json, compiled in). */
extern const char cw_default_config[];
extern const size_t cw_default_config_len;

#endif
