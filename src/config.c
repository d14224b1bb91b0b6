/*
 * config.c — load, validate and print the JSON configuration.
 *
 * Two option tables, one for the top level and one for each element of `rules`, declare every
 * option once: its path, type, default, range and help. Loading walks a table in order (so an
 * option may depend on one declared before it: a rule's `key` on its `stream`), applies the
 * default where the file is silent, and refuses any key the table does not know, naming the
 * file, the key path and what was expected. Printing and the option reference walk the same
 * tables. Each option type is a parse/print pair in the type table (`types`), and every option
 * stores its value at its declared offset (lists as { items, n }). Layers (several --config
 * files) are merged as JSON trees before the walk, remembering which file set each key path.
 * Everything lives in the pool given to cw_config_load; the cJSON trees are deleted before
 * returning.
 */
#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <cjson/cJSON.h>
#include "cdrwatch/config.h"
#include "cdrwatch/decode_tz.h"
#include "cdrwatch/glob.h"
#include "cdrwatch/http.h"

typedef enum {
    T_OBJECT,   /* a container of further options */
    T_DURATION, /* "5m" -> cw_time_t */
    T_INT,      /* int64_t within [min, max] */
    T_SEVERITY, /* int within [min, max] */
    T_BOOL,
    T_STRING,   /* const char * */
    T_ID,       /* const char *, [A-Za-z0-9_.-]+ */
    T_STREAM,   /* "audit" | "cdr" */
    T_METRIC,   /* "count" | "sum" */
    T_FIELD,    /* a numeric field of the rule's stream */
    T_KEY,      /* array of 1..CW_KEY_FIELDS_MAX text fields of the rule's stream */
    T_COLUMNS,  /* array of field names of one stream (headerless CSV column order) */
    T_TECHNIQUES, /* array of ATT&CK ids */
    T_FILTER,   /* object: field -> patterns */
    T_PROPS,    /* object: librdkafka property -> string */
    T_LISTS,    /* object: list name -> array of patterns */
    T_RULES,    /* array of rule objects */
    T_NUMBER,   /* double within [min, max] */
    T_KIND,     /* "threshold" | "first_seen" | "sequence" | "silence" */
    T_TEXTFIELD, /* a field of the rule's stream (any type) */
    T_WINDOWS,  /* array of {window, bucket, threshold} */
    T_ALLOW,    /* array of allow-list entries */
    T_REGEX,    /* POSIX extended regular expression, "" for none */
    T_STRLIST,  /* array of strings */
    T_HOSTCLASSES, /* object: class name -> {patterns, severity} */
    T_FORMAT,   /* "ecs" | "ocsf" */
} opt_type_t;

typedef struct {
    const char *path;
    opt_type_t type;
    const char *def; /* JSON text of the default; NULL: required (T_OBJECT: none) */
    int64_t min, max;
    size_t offset;
    int stream; /* T_COLUMNS: which stream */
    const char *help;
} option_t;

#define CFG(m) offsetof(cw_config_t, m)
#define RULE(m) offsetof(cw_rule_t, m)
#define NOOFF 0

static const option_t config_options[] = {
    {"engine", T_OBJECT, NULL, 0, 0, NOOFF, 0, "Engine settings."},
    {"engine.allowed_lateness", T_DURATION, "\"5m\"", 0, 7 * CW_MS_PER_DAY, CFG(allowed_lateness), 0,
     "How far behind the newest event time a record may arrive and still count. Older records "
     "are dead-lettered with reason 'late'. Must not exceed the smallest rule window."},
    {"engine.max_keys", T_INT, "100000", 1, 100000000, CFG(max_keys), 0,
     "Default number of keys (principals, hosts...) each rule tracks; beyond it a key is evicted "
     "and counted: the lightest of the 8 least recently updated (doc/configuration.md)."},
    {"engine.regex_window", T_INT, "16384", 256, CW_STATEMENT_MAX, CFG(regex_window), 0,
     "Bytes of a field a rule's regular expression is run on at a time. 16384 (the default) "
     "matches every statement whole. Lower, a longer statement is matched in windows of this size "
     "that start every half window: a costly expression of your own then costs in proportion to "
     "the statement's length, not to its square, but a match longer than half a window may be "
     "missed (doc/configuration.md)."},
    {"engine.evidence_ring", T_INT, "4096", 0, 1000000, CFG(evidence_ring), 0,
     "Recent matching audit records kept (about 400 bytes each) to give alerts their sample "
     "statements, objects and subscribers."},
    {"inputs", T_OBJECT, NULL, 0, 0, NOOFF, 0, "The two input streams."},
    {"inputs.cdr", T_OBJECT, NULL, 0, 0, NOOFF, 0, "The CDR stream (see INPUT RECORDS in cdrwatch(1))."},
    {"inputs.cdr.topic", T_STRING, "\"cdr\"", 1, 249, CFG(input[CW_STREAM_CDR].topic), 0,
     "Kafka topic of CDRs."},
    {"inputs.cdr.csv_columns", T_COLUMNS,
     "[\"start_time\",\"record_type\",\"calling_msisdn\",\"called_msisdn\",\"duration_s\","
     "\"record_id\",\"imsi\",\"imei\",\"cell_id\",\"bytes_up\",\"bytes_down\"]",
     1, CW_F_COUNT, CFG(input[CW_STREAM_CDR]), CW_STREAM_CDR,
     "Column order of headerless CSV messages on Kafka (files carry a header line)."},
    {"inputs.audit", T_OBJECT, NULL, 0, 0, NOOFF, 0, "The database audit stream (see INPUT RECORDS in cdrwatch(1))."},
    {"inputs.audit.topic", T_STRING, "\"db-audit\"", 1, 249, CFG(input[CW_STREAM_AUDIT].topic), 0,
     "Kafka topic of audit records."},
    {"inputs.audit.csv_columns", T_COLUMNS,
     "[\"ts\",\"principal\",\"action\",\"client_host\",\"client_app\",\"db\",\"object\",\"rows\","
     "\"bytes\",\"statement\",\"subscribers\",\"status\",\"session_id\"]",
     1, CW_F_COUNT, CFG(input[CW_STREAM_AUDIT]), CW_STREAM_AUDIT,
     "Column order of headerless CSV messages on Kafka."},
    {"inputs.audit.tz", T_STRING, "\"UTC\"", 1, 64, CFG(input[CW_STREAM_AUDIT].tz), 0,
     "Time zone of the local times a MariaDB server_audit log writes without a zone: UTC, an offset "
     "such as +03:00, or an IANA name such as Europe/Berlin (read from the system's zoneinfo). "
     "Read by replay, tune and demo; replay --audit-tz overrides it (doc/formats.md 1.4)."},
    {"outputs", T_OBJECT, NULL, 0, 0, NOOFF, 0, "Where alerts and dead letters go."},
    {"outputs.alerts_topic", T_STRING, "\"cdr-alerts\"", 1, 249, CFG(alerts_topic), 0,
     "Kafka topic alerts are produced to."},
    {"outputs.format", T_FORMAT, "\"ecs\"", 0, 0, CFG(alert_format), 0,
     "Shape of each alert, on standard output (replay) and the alerts topic (run, demo): ecs "
     "(Elastic Common Schema fields, the cdrwatch.* of our own) or ocsf (an OCSF Detection "
     "Finding, class_uid 2004, with our own fields under unmapped.cdrwatch); doc/formats.md."},
    {"outputs.dlq_suffix", T_STRING, "\".dlq\"", 1, 32, CFG(dlq_suffix), 0,
     "Dead letters of topic T go to T followed by this suffix."},
    {"outputs.stats_topic", T_STRING, "\"\"", 0, 249, CFG(stats_topic), 0,
     "Kafka topic that `run` also writes its periodic statistics to, as JSON (and librdkafka's "
     "own, when kafka.properties sets statistics.interval.ms); empty: standard error only."},
    {"outputs.http_listen", T_STRING, "\"\"", 0, 261, CFG(http_listen), 0,
     "Where `run` serves Prometheus metrics (GET /metrics) and health checks (GET /healthz: 200 "
     "once partitions are assigned and the learned state restored, else 503; GET /livez: 200 while "
     "the loop turns) over HTTP: \"PORT\" (on 127.0.0.1) or \"ADDR:PORT\" (\"[::1]:PORT\" for IPv6; "
     "0.0.0.0 exposes them to the network); empty: off. librdkafka's broker metrics need "
     "kafka.properties statistics.interval.ms (doc/metrics.md)."},
    {"kafka", T_OBJECT, NULL, 0, 0, NOOFF, 0, "Kafka connection."},
    {"kafka.brokers", T_STRING, "\"127.0.0.1:9092\"", 1, 4096, CFG(brokers), 0,
     "Bootstrap brokers, HOST:PORT[,HOST:PORT...] (run --brokers overrides)."},
    {"kafka.group", T_STRING, "\"cdrwatch\"", 1, 255, CFG(group), 0,
     "Consumer group of the audit topic (run --group overrides)."},
    {"kafka.idle_wait", T_DURATION, "\"1s\"", 0, CW_MS_PER_HOUR, CFG(kafka_idle_wait), 0,
     "How long `run` holds back records while an input partition is empty but not known to be at "
     "its end (its next record may be older), before moving on without it (Kafka Streams' "
     "max.task.idle.ms). Records that then arrive too old are dead letters with reason 'late'."},
    {"kafka.commit_interval", T_DURATION, "\"1s\"", 10, CW_MS_PER_HOUR, CFG(kafka_commit_interval), 0,
     "How often consumed offsets are committed, each commit waiting until the broker has "
     "acknowledged every alert and dead letter the records before it raised."},
    {"kafka.stats_interval", T_DURATION, "\"60s\"", 0, CW_MS_PER_DAY, CFG(kafka_stats_interval), 0,
     "Period of the statistics line of `run` on standard error (records, alerts, dead letters, "
     "late records, evictions, consumer lag); 0 turns it off."},
    {"kafka.shutdown_timeout", T_DURATION, "\"10s\"", 0, 10 * CW_MS_PER_MINUTE, CFG(kafka_shutdown_timeout), 0,
     "On SIGINT or SIGTERM, how long `run` waits for the broker to acknowledge pending alerts "
     "before it commits and leaves; records whose alerts are not acknowledged by then are not "
     "committed and are read again on the next start."},
    {"kafka.properties", T_PROPS, "{}", 0, 0, CFG(kafka_prop_list), 0,
     "Any librdkafka property, passed as is (security.protocol, sasl.*, ssl.*...). A value "
     "\"@file:PATH\" is read from the file PATH when `run` starts (one trailing newline removed; "
     "a relative path is taken from the current directory): keep passwords there. Values of "
     "secret properties are never printed; such references are."},
    {"state", T_OBJECT, NULL, 0, 0, NOOFF, 0, "Checkpoints of what `run` has learned (doc/state.md)."},
    {"state.topic", T_STRING, "\"cdrwatch-state\"", 1, 249, CFG(state_topic), 0,
     "Compacted Kafka topic `run` checkpoints its learned state to (created with "
     "cleanup.policy=compact if missing), keyed GROUP/TOPIC/PARTITION per audit partition and "
     "GROUP/cdr for the CDR reference; read back on every assignment."},
    {"state.interval", T_DURATION, "\"60s\"", 0, CW_MS_PER_DAY, CFG(state_interval), 0,
     "How often `run` checkpoints its state (also at shutdown and when partitions are revoked); "
     "a restart reads only what follows the last checkpoint. 0 turns checkpoints off: every "
     "assignment rebuilds the windows from the rewind points."},
    {"state.part_size", T_INT, "900000", 1024, 100000000, CFG(state_part_size), 0,
     "Largest checkpoint message in bytes: bigger snapshots are split into parts (keep it under "
     "the broker's message.max.bytes)."},
    {"lists", T_LISTS, "{}", 0, 0, CFG(lists), 0,
     "Named lists of patterns ('*' and '?' wildcards, case-insensitive) that filters refer to "
     "as \"@name\"."},
    {"host_classes", T_HOSTCLASSES, "{}", 0, 0, CFG(host_class_list), 0,
     "Classes of client hosts whose first sighting weighs more: \"name\": {\"patterns\": "
     "[...], \"severity\": N}. A first_seen alert for a host of a class has at least its "
     "severity and names the class."},
    {"watchlist", T_OBJECT, NULL, 0, 0, NOOFF, 0, "Subscribers whose lookups are watched."},
    {"watchlist.file", T_STRING, "\"\"", 0, 4096, CFG(watchlist_file), 0,
     "File of identifiers, one per line (MSISDN, IMSI or IMEI; '#' starts a comment); a "
     "relative path is taken from the current directory. Reloaded on SIGHUP by run."},
    {"watchlist.identifiers", T_STRLIST, "[]", 0, 100000, CFG(watchlist_ids), 0,
     "Identifiers given inline, as in the file."},
    {"reference", T_OBJECT, NULL, 0, 0, NOOFF, 0,
     "What the CDR stream teaches: records per subscriber, identity links."},
    {"reference.sketch_width", T_INT, "1048576", 1024, 268435456, CFG(sketch_width), 0,
     "Counters per row of the count-min sketch of records per subscriber (4 bytes each). A "
     "count is over by at most e/width of all CDRs seen, with probability 1 - e^-depth. The "
     "recent records per subscriber (the last 24-30 hours) take 5 sketches of width/4 (at least "
     "1024) 2-byte counters: a quarter more memory."},
    {"reference.sketch_depth", T_INT, "4", 1, 16, CFG(sketch_depth), 0, "Rows of the sketch."},
    {"reference.max_links", T_INT, "1000000", 1, 1000000000, CFG(max_links), 0,
     "Subscribers whose IMSI, IMEI and first CDR time are kept (about 200 bytes each); the "
     "least recently active are evicted first."},
    {"reference.history_fraction", T_NUMBER, "0.8", 0, 1, CFG(history_fraction), 0,
     "A statement is a history pull when its rows reach this share of its subscribers' CDRs."},
    {"reference.history_min_records", T_INT, "5", 1, 1000000, CFG(history_min_records), 0,
     "... and those subscribers have at least this many CDRs ..."},
    {"reference.history_min_span", T_DURATION, "\"3d\"", 0, 365 * CW_MS_PER_DAY, CFG(history_min_span), 0,
     "... going back at least this far."},
    {"reference.subscriber_pattern", T_REGEX, "\"'(\\\\+?[0-9]{8,15})'\"", 0, 1000, CFG(subscriber_pattern), 0,
     "Where an audit record has no subscribers field, subscribers are taken from its statement "
     "with this regular expression (POSIX extended; group 1 if any, else the whole match)."},
    {"rules", T_RULES, "[]", 0, 1000, NOOFF, 0, "The detection rules, see rules[].*"},
};

static const option_t rule_options[] = {
    {"id", T_ID, NULL, 1, 64, RULE(id), 0,
     "Stable rule identifier (letters, digits, '_', '-', '.'); part of every alert id."},
    {"name", T_STRING, NULL, 1, 200, RULE(name), 0, "Short human-readable name (rule.name)."},
    {"description", T_STRING, "\"\"", 0, 4000, RULE(description), 0,
     "What the rule catches and how to tune it."},
    {"comment", T_STRING, "\"\"", 0, 100000, RULE(comment), 0,
     "A note for people, ignored by detection: why a layer changes the rule (`cdrwatch tune` "
     "writes the evidence for its proposals here)."},
    {"enabled", T_BOOL, "true", 0, 0, RULE(enabled), 0, "A disabled rule is loaded and checked, not run."},
    {"kind", T_KIND, "\"threshold\"", 0, 0, RULE(kind), 0,
     "threshold (a metric over sliding windows), first_seen (a value never seen before for the "
     "key), sequence (an account created, then used), silence (a busy key goes quiet)."},
    {"stream", T_STREAM, "\"audit\"", 0, 0, RULE(stream), 0, "Which stream the rule reads: audit or cdr."},
    {"filter", T_FILTER, "{}", 0, 0, RULE(filter), 0,
     "Conditions on fields of the stream, all of which must hold: \"field\": \"pattern\" or "
     "[\"p1\",\"p2\"] (any of them), or {\"any\": [...], \"none\": [...], \"regex\": \"...\", "
     "\"not_regex\": \"...\", \"present\": true|false}. Patterns use '*' and '?', match "
     "case-insensitively, and \"@name\" stands for a list from `lists`; regexes are POSIX "
     "extended, case-insensitive. An absent field matches \"\"; \"present\" tests whether the "
     "record has the field at all (rows: a row count was logged, 0 included). Derived fields of "
     "audit records: history_pull, watchlisted, unbounded_select, damaged (\"true\" or "
     "\"false\"; damaged: the decoder repaired a field, doc/formats.md 1.3) and hours (hour "
     "specs like \"Mon-Fri 08-18\", UTC)."},
    {"key", T_KEY, "[\"principal\"]", 0, CW_KEY_FIELDS_MAX, RULE(key_list), 0,
     "Fields whose values identify the tracked entity (one state per distinct key); [] tracks "
     "the whole stream as one key."},
    {"metric", T_OBJECT, NULL, 0, 0, NOOFF, 0, "What is measured over the window."},
    {"metric.kind", T_METRIC, "\"count\"", 0, 0, RULE(metric), 0,
     "count (records), sum (of metric.field) or distinct (values of metric.field, exact up to "
     "a few hundred, then HyperLogLog, about 6.5 % error)."},
    {"metric.field", T_FIELD, "\"\"", 0, 0, RULE(metric_field), 0,
     "With sum, a numeric field: rows, bytes (audit); duration_s, bytes_up, bytes_down (cdr). "
     "With distinct, any text field, or subscribers (each subscriber of a record counts)."},
    {"window", T_DURATION, "\"1h\"", CW_MS_PER_SECOND, 35 * CW_MS_PER_DAY, RULE(window), 0,
     "Length of the sliding window, a multiple of bucket (kind threshold)."},
    {"bucket", T_DURATION, "\"5m\"", CW_MS_PER_SECOND, 35 * CW_MS_PER_DAY, RULE(bucket), 0,
     "Width of one time bucket: the window slides by this step (at most 1024 buckets)."},
    {"threshold", T_INT, "0", 0, INT64_C(1) << 53, RULE(threshold), 0,
     "Alert when the metric over the window reaches this value (kind threshold: required, here "
     "or in windows). With a baseline it is the floor below which nothing alerts."},
    {"windows", T_WINDOWS, "[]", 0, CW_WINDOWS_MAX, RULE(window_list), 0,
     "Several windows over one key state instead of window/bucket/threshold: "
     "[{\"window\": \"24h\", \"bucket\": \"1h\", \"threshold\": N}, ...]; each alerts on its own."},
    {"baseline", T_OBJECT, NULL, 0, 0, NOOFF, 0,
     "Compare with the key's own hour-of-week profile (EWMA of the metric per hour, falling back "
     "to the hour of day, then to all hours, while a slot has few observations)."},
    {"baseline.sigma", T_NUMBER, "0", 0, 1000, RULE(baseline_sigma), 0,
     "Alert only above mean + sigma * standard deviation of the expected value (0: off)."},
    {"baseline.ratio", T_NUMBER, "0", 0, 1000000, RULE(baseline_ratio), 0,
     "Alert only above ratio * the expected value (0: off). Both 0: no baseline."},
    {"baseline.learning", T_DURATION, "\"7d\"", 0, 365 * CW_MS_PER_DAY, RULE(baseline_learning), 0,
     "A key alerts only once its first record is this old."},
    {"baseline.min_observations", T_INT, "3", 1, 255, RULE(baseline_min_observations), 0,
     "Observations an hour-of-week slot needs before it is used on its own."},
    {"baseline.alpha", T_NUMBER, "0.3", 0, 1, RULE(baseline_alpha), 0,
     "Weight of a new hour in the moving averages (0 < alpha <= 1)."},
    {"adaptive", T_OBJECT, NULL, 0, 0, NOOFF, 0,
     "Kind threshold: after learning, a crossing the key's own history explains does not alert; "
     "a key without history still meets the threshold from its first record (doc/rules.md, "
     "\"Adaptive floors\")."},
    {"adaptive.factor", T_NUMBER, "0", 0, 1000, RULE(adaptive_factor), 0,
     "Explained when the value is at most factor * the key's own highest value of that window "
     "in the last 14 days, at the same hour of day for windows shorter than a day (0: off)."},
    {"adaptive.near_hours", T_INT, "0", 0, 11, RULE(adaptive_near_hours), 0,
     "Windows shorter than a day: the key's peaks at this many hours of day either side of the "
     "crossing's hour count too (people move their work by an hour, a batch job keeps its clock "
     "hour; 0: the same hour of day only)."},
    {"adaptive.seen", T_KEY, "[]", 0, CW_KEY_FIELDS_MAX, RULE(adaptive_seen_list), 0,
     "Explained when the record's values of these fields (e.g. [\"object\", \"action\"]) were "
     "already seen for the key ([]: off)."},
    {"adaptive.learning", T_DURATION, "\"7d\"", 0, 365 * CW_MS_PER_DAY, RULE(adaptive_learning), 0,
     "A key's history explains nothing until its first record is this old."},
    {"lookups", T_OBJECT, NULL, 0, 0, NOOFF, 0,
     "Kind threshold, metric count: the key's profile of rows per subscriber looked up (doc/rules.md, "
     "\"Rows per subscriber looked up\"). Only records that name subscribers and log rows are "
     "judged; one counts when its rows, as a share of its subscribers' CDRs of the last day, are "
     "above the key's own learned quantile; the window's count alerts when it reaches the "
     "threshold and is improbable for the key's usual rate of such lookups."},
    {"lookups.quantile", T_NUMBER, "0", 0, 1, RULE(lookup_quantile), 0,
     "The key's own quantile a lookup must exceed, e.g. 0.95 (0: off; else at least 0.5)."},
    {"lookups.p_value", T_NUMBER, "1e-6", 0, 1, RULE(lookup_p_value), 0,
     "Alert only when the chance of at least that many such lookups in the window, at the key's "
     "learned rate (one-sided binomial tail), is at most this."},
    {"lookups.learning", T_DURATION, "\"7d\"", 0, 365 * CW_MS_PER_DAY, RULE(lookup_learning), 0,
     "A key is judged only once its first record is this old ..."},
    {"lookups.min_observations", T_INT, "100", 1, 1000000000, RULE(lookup_min_observations), 0,
     "... and its profile holds at least this many lookups of earlier days."},
    {"seen", T_OBJECT, NULL, 0, 0, NOOFF, 0, "Kind first_seen."},
    {"seen.field", T_TEXTFIELD, "\"\"", 0, 0, RULE(seen_field), 0,
     "The field whose new values are reported (client_host, client_app, action, object...); "
     "required with kind first_seen."},
    {"seen.new_principal", T_BOOL, "false", 0, 0, RULE(seen_new_principal), 0,
     "Also report a key seen for the first time after the learning period (a dormant account)."},
    {"seen.learning", T_DURATION, "\"7d\"", 0, 365 * CW_MS_PER_DAY, RULE(seen_learning), 0,
     "Event time, from the first record the engine saw, during which values are learned quietly."},
    {"sequence", T_OBJECT, NULL, 0, 0, NOOFF, 0, "Kind sequence: trigger, then the filter's records."},
    {"sequence.trigger", T_FILTER, "{}", 0, 0, RULE(trigger), 0,
     "Conditions (as in filter) of the record that starts the sequence (CREATE ROLE, GRANT...)."},
    {"sequence.extract", T_REGEX, "\"\"", 0, 1000, RULE(extract), 0,
     "Regular expression applied to the trigger's statement: its last group that takes part in "
     "the match is the principal whose later records (matching filter) raise the alert."},
    {"sequence.within", T_DURATION, "\"24h\"", CW_MS_PER_SECOND, 365 * CW_MS_PER_DAY, RULE(within), 0,
     "How long after the trigger its principal's records count."},
    {"silence", T_OBJECT, NULL, 0, 0, NOOFF, 0, "Kind silence."},
    {"silence.gap", T_DURATION, "\"1h\"", CW_MS_PER_MINUTE, 35 * CW_MS_PER_DAY, RULE(gap), 0,
     "Event time without a record from a busy key after which it is reported silent."},
    {"silence.min_records", T_INT, "100", 1, INT64_C(1) << 40, RULE(min_records), 0,
     "Records a key must have sent in the 24 hours before to count as busy."},
    {"silence.min_active_hours", T_INT, "12", 1, 24, RULE(min_active_hours), 0,
     "... in at least this many of those 24 hours (a batch that ran and ended is not silent)."},
    {"silence.while", T_FILTER, "{}", 0, 0, RULE(silence_while), 0,
     "Conditions (as in filter) of the key's records that must keep coming while the filter's "
     "records have stopped: the silence counts only if the same key sent at least "
     "silence.while_records of them within the gap (rows stop while reads without rows go on; "
     "reads stop while connections go on). {}: off, the classic silence of a key gone quiet."},
    {"silence.while_records", T_INT, "3", 1, INT64_C(1) << 40, RULE(while_records), 0,
     "With silence.while: records matching it, from the key, within the gap after its last "
     "record matching the filter."},
    {"suppress", T_DURATION, "\"1h\"", 0, 35 * CW_MS_PER_DAY, RULE(suppress), 0,
     "After an alert the same (rule, key) stays quiet this long, and fires again only after its "
     "metric has fallen below the threshold (re-armed)."},
    {"severity", T_SEVERITY, "50", 0, 100, RULE(severity), 0, "event.severity of its alerts, 0-100."},
    {"techniques", T_TECHNIQUES, "[]", 0, 16, RULE(techniques), 0,
     "MITRE ATT&CK technique ids (T1213, T1119, T1030...)."},
    {"allow", T_ALLOW, "[]", 0, 1000, RULE(allow_list), 0,
     "Allow-list: records matching every part of an entry are not counted: "
     "[{\"principal\": [...], \"client_host\": [...], \"client_app\": [...], \"hours\": "
     "[\"Mon-Fri 07-20\"], \"comment\": \"why\"}] (parts optional, patterns as in filter; "
     "comment is a note for people, ignored by detection)."},
    {"include_failed", T_BOOL, "false", 0, 0, RULE(include_failed), 0,
     "Count audit records whose status is fail (off: failed statements read nothing)."},
    {"max_keys", T_INT, "0", 0, 100000000, RULE(max_keys), 0,
     "Keys tracked by this rule; 0 takes engine.max_keys."},
};

#define BUILTIN_NAME "(built-in config/cdrwatch.json)"
#define N_CONFIG_OPTIONS (sizeof config_options / sizeof config_options[0])
#define N_RULE_OPTIONS (sizeof rule_options / sizeof rule_options[0])

/* ---- loading context and errors ---- */

typedef struct {
    apr_pool_t *pool;
    const char *file;  /* named in messages; with layers, see file_of */
    cw_config_t *cfg;
    char *err;
    size_t errlen;
    apr_hash_t *origins; /* layers: key path -> file that set it last (values and objects) */
    const char *rule_id; /* the rule being loaded, named in regex errors; NULL outside rules */
} ctx_t;

static const char *file_of(ctx_t *c, const char *path);

static cw_status_t fail(ctx_t *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static cw_status_t fail(ctx_t *c, const char *path, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(c->err, c->errlen, "%s: %s: ", file_of(c, path), path);
    if (n < 0 || (size_t)n >= c->errlen)
        return CW_ERR_USAGE;
    va_start(ap, fmt);
    vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return CW_ERR_USAGE;
}

/* A short rendering of a JSON value for "got ..." in messages. */
static const char *got(ctx_t *c, const cJSON *v)
{
    char *text = cJSON_PrintUnformatted(v);
    const char *out;
    if (!text)
        return "?";
    if (strlen(text) > 60)
        out = apr_pstrcat(c->pool, apr_pstrndup(c->pool, text, 57), "...", NULL);
    else
        out = apr_pstrdup(c->pool, text);
    cJSON_free(text);
    return out;
}

/* Levenshtein distance, for "did you mean". Names are short. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), prev[65], cur[65];
    if (la > 64 || lb > 64)
        return 99;
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, (lb + 1) * sizeof *prev);
    }
    return prev[lb];
}

/* The last path component. */
static const char *leaf(const char *path)
{
    const char *dot = strrchr(path, '.');
    return dot ? dot + 1 : path;
}

/* Is option path `p` a direct child of `parent` ("" for the top)? */
static bool is_child(const char *p, const char *parent)
{
    size_t n = strlen(parent);
    if (n == 0)
        return strchr(p, '.') == NULL;
    return strncmp(p, parent, n) == 0 && p[n] == '.' && strchr(p + n + 1, '.') == NULL;
}

static const char *join(ctx_t *c, const char *a, const char *b)
{
    return *a ? apr_pstrcat(c->pool, a, ".", b, NULL) : b;
}

/* ---- hours of the week ---- */

int cw_hour_of_week(cw_time_t t)
{
    int64_t days = t / CW_MS_PER_DAY, hour = (t % CW_MS_PER_DAY) / CW_MS_PER_HOUR;
    if (t % CW_MS_PER_DAY < 0) {
        days--;
        hour += 24;
    }
    /* 1970-01-01 was a Thursday: day 3 when Monday is 0 */
    int dow = (int)(((days % 7) + 7 + 3) % 7);
    return dow * 24 + (int)hour;
}

static int day_index(const char *s, size_t n)
{
    static const char *const days[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
    if (n != 3)
        return -1;
    for (int i = 0; i < 7; i++) {
        if (strncasecmp(s, days[i], 3) == 0)
            return i;
    }
    return -1;
}

/* "*", "Mon-Fri 08-18", "Sat", "Sun 22-06" (wraps past midnight into the next day). */
bool cw_hours_parse(const char *spec, cw_hours_t *h)
{
    int d0 = 0, d1 = 6, h0 = 0, h1 = 24;
    const char *p = spec, *sp;
    if (strcmp(spec, "*") == 0) {
        memset(h->bits, 0xff, sizeof h->bits);
        return true;
    }
    sp = strchr(p, ' ');
    {
        size_t n = sp ? (size_t)(sp - p) : strlen(p);
        const char *dash = memchr(p, '-', n);
        if (dash) {
            d0 = day_index(p, (size_t)(dash - p));
            d1 = day_index(dash + 1, n - (size_t)(dash - p) - 1);
        } else {
            d0 = d1 = day_index(p, n);
        }
        if (d0 < 0 || d1 < 0)
            return false;
    }
    if (sp) {
        char extra;
        if (sscanf(sp + 1, "%2d-%2d%c", &h0, &h1, &extra) != 2 || h0 < 0 || h0 > 23 || h1 < 0 || h1 > 24)
            return false;
    }
    for (int d = d0;; d = (d + 1) % 7) {
        if (h0 < h1) {
            for (int hr = h0; hr < h1; hr++)
                h->bits[(d * 24 + hr) >> 3] |= (uint8_t)(1u << ((d * 24 + hr) & 7));
        } else { /* wraps past midnight */
            for (int hr = h0; hr < 24; hr++)
                h->bits[(d * 24 + hr) >> 3] |= (uint8_t)(1u << ((d * 24 + hr) & 7));
            for (int hr = 0; hr < h1; hr++) {
                int w = ((d + 1) % 7) * 24 + hr;
                h->bits[w >> 3] |= (uint8_t)(1u << (w & 7));
            }
        }
        if (d == d1)
            break;
    }
    return true;
}

static apr_status_t regex_cleanup(void *data)
{
    regfree(data);
    return APR_SUCCESS;
}

/* Where a back-reference (\1 to \9) stands in a POSIX extended regex, or NULL. Inside a bracket
 * expression a backslash is an ordinary character ([\1] is '\' or '1'), and "]" first in one
 * ([]a], [^]a]) or in [:class:], [.coll.] and [=equiv=] does not close it. */
static const char *backref_at(const char *p)
{
    for (; *p; p++) {
        if (*p == '\\') {
            if (p[1] >= '1' && p[1] <= '9')
                return p;
            if (p[1])
                p++;
        } else if (*p == '[') {
            p += p[1] == '^' ? 2 : 1;
            if (*p == ']')
                p++;
            while (*p && *p != ']') {
                const char *close;
                if (*p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=') &&
                    (close = strchr(p + 2, p[1])) && close[1] == ']')
                    p = close + 1;
                p++;
            }
            if (!*p)
                return NULL; /* unterminated: regcomp says so */
        }
    }
    return NULL;
}

/* Compile a regex owned by the pool; NULL pattern or "" gives NULL. Back-references are refused:
 * glibc's matcher recurses without end on some ((|)(\1\1)* kills the process) and takes
 * exponential time on others, so a rule could crash or stall the detector on any statement. */
static cw_status_t compile_regex(ctx_t *c, const char *path, const char *pattern, bool nosub, void **out)
{
    regex_t *re;
    int rc;
    const char *backref;
    *out = NULL;
    if (!pattern || !*pattern)
        return CW_OK;
    if ((backref = backref_at(pattern)))
        return fail(c, path, "%s%s%sexpected a regular expression without back-references, got \"%s\" "
                             "(\\%c at byte %d: back-references can crash or stall the matcher)",
                    c->rule_id ? "rule \"" : "", c->rule_id ? c->rule_id : "", c->rule_id ? "\": " : "", pattern,
                    backref[1], (int)(backref - pattern));
    re = apr_pcalloc(c->pool, sizeof *re);
    rc = regcomp(re, pattern, REG_EXTENDED | REG_ICASE | (nosub ? REG_NOSUB : 0));
    if (rc != 0) {
        char msg[256];
        regerror(rc, re, msg, sizeof msg);
        return fail(c, path, "expected a POSIX extended regular expression: %s, got \"%s\"", msg, pattern);
    }
    apr_pool_cleanup_register(c->pool, re, regex_cleanup, apr_pool_cleanup_null);
    *out = re;
    return CW_OK;
}

/* ---- value types: one parse/print pair each ----
 *
 * A parser reads a JSON value into dst (base + the option's offset) and names the path and what
 * was expected when the value does not fit; a printer writes the stored value back as JSON that
 * parses to the same thing. `rule` is the rule being loaded (rule options only): field options
 * are checked against its stream, which the table declares before them. */

typedef cw_status_t (*parse_fn)(ctx_t *c, const char *path, const option_t *o, const cJSON *v,
                                void *dst, const cw_rule_t *rule);
typedef void (*print_fn)(FILE *out, const option_t *o, const void *src, int level);

static void print_json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", out);
        else if (*p == '\t')
            fputs("\\t", out);
        else if (*p < 0x20)
            fprintf(out, "\\u%04x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

static void print_strlist(FILE *out, const cw_strlist_t *l)
{
    fputc('[', out);
    for (int i = 0; i < l->n; i++) {
        if (i)
            fputs(", ", out);
        print_json_string(out, l->items[i]);
    }
    fputc(']', out);
}

static void indent(FILE *out, int level)
{
    for (int i = 0; i < level; i++)
        fputs("  ", out);
}

/* Close an object or array printed one entry a line: the newline only when it had entries. */
static void close_block(FILE *out, int n, int level, char close)
{
    if (n) {
        fputc('\n', out);
        indent(out, level);
    }
    fputc(close, out);
}

/* duration: "5m" -> cw_time_t ms */
static cw_status_t parse_duration(ctx_t *c, const char *path, const option_t *o, const cJSON *v,
                                  void *dst, const cw_rule_t *rule)
{
    cw_time_t d;
    char lo[32], hi[32];
    (void)rule;
    if (!cJSON_IsString(v) || !cw_duration_parse(v->valuestring, &d))
        return fail(c, path, "expected a duration like \"1h\" (units ms, s, m, h, d, w), got %s", got(c, v));
    if (d < o->min || d > o->max)
        return fail(c, path, "expected a duration from %s to %s, got %s", cw_duration_format(o->min, lo),
                    cw_duration_format(o->max, hi), got(c, v));
    *(cw_time_t *)dst = d;
    return CW_OK;
}

static void print_duration(FILE *out, const option_t *o, const void *src, int level)
{
    char buf[32];
    (void)o, (void)level;
    print_json_string(out, cw_duration_format(*(const cw_time_t *)src, buf));
}

static cw_status_t want_int(ctx_t *c, const char *path, const cJSON *v, int64_t min, int64_t max,
                            int64_t *out)
{
    double d = cJSON_IsNumber(v) ? v->valuedouble : 0.5;
    if (!(d >= (double)min && d <= (double)max) || d != (double)(int64_t)d ||
        (int64_t)d < min || (int64_t)d > max)
        return fail(c, path, "expected an integer from %lld to %lld, got %s", (long long)min,
                    (long long)max, got(c, v));
    *out = (int64_t)d;
    return CW_OK;
}

/* integer: int64_t within [min, max] */
static cw_status_t parse_int(ctx_t *c, const char *path, const option_t *o, const cJSON *v, void *dst,
                             const cw_rule_t *rule)
{
    (void)rule;
    return want_int(c, path, v, o->min, o->max, dst);
}

static void print_int(FILE *out, const option_t *o, const void *src, int level)
{
    (void)o, (void)level;
    fprintf(out, "%lld", (long long)*(const int64_t *)src);
}

/* severity: an int within [min, max] */
static cw_status_t parse_severity(ctx_t *c, const char *path, const option_t *o, const cJSON *v,
                                  void *dst, const cw_rule_t *rule)
{
    int64_t x;
    cw_status_t st = parse_int(c, path, o, v, &x, rule);
    if (st == CW_OK)
        *(int *)dst = (int)x;
    return st;
}

static void print_severity(FILE *out, const option_t *o, const void *src, int level)
{
    (void)o, (void)level;
    fprintf(out, "%d", *(const int *)src);
}

static cw_status_t parse_bool(ctx_t *c, const char *path, const option_t *o, const cJSON *v, void *dst,
                              const cw_rule_t *rule)
{
    (void)o, (void)rule;
    if (!cJSON_IsBool(v))
        return fail(c, path, "expected true or false, got %s", got(c, v));
    *(bool *)dst = cJSON_IsTrue(v);
    return CW_OK;
}

static void print_bool(FILE *out, const option_t *o, const void *src, int level)
{
    (void)o, (void)level;
    fputs(*(const bool *)src ? "true" : "false", out);
}

/* number: a double within [min, max] */
static cw_status_t parse_number(ctx_t *c, const char *path, const option_t *o, const cJSON *v,
                                void *dst, const cw_rule_t *rule)
{
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    (void)rule;
    if (!(d >= (double)o->min && d <= (double)o->max))
        return fail(c, path, "expected a number from %lld to %lld, got %s", (long long)o->min,
                    (long long)o->max, got(c, v));
    *(double *)dst = d;
    return CW_OK;
}

static void print_number(FILE *out, const option_t *o, const void *src, int level)
{
    (void)o, (void)level;
    fprintf(out, "%.15g", *(const double *)src);
}

/* string: const char * of min to max bytes */
static cw_status_t parse_string(ctx_t *c, const char *path, const option_t *o, const cJSON *v,
                                void *dst, const cw_rule_t *rule)
{
    size_t len;
    (void)rule;
    if (!cJSON_IsString(v))
        return fail(c, path, "expected a string, got %s", got(c, v));
    len = strlen(v->valuestring);
    if ((int64_t)len < o->min || (int64_t)len > o->max)
        return fail(c, path, "expected a string of %lld to %lld characters, got %zu", (long long)o->min,
                    (long long)o->max, len);
    *(const char **)dst = apr_pstrdup(c->pool, v->valuestring);
    return CW_OK;
}

/* string, regex: NULL prints as "" */
static void print_string(FILE *out, const option_t *o, const void *src, int level)
{
    const char *s = *(const char *const *)src;
    (void)o, (void)level;
    print_json_string(out, s ? s : "");
}

/* id: a string of [A-Za-z0-9_.-] */
static cw_status_t parse_id(ctx_t *c, const char *path, const option_t *o, const cJSON *v, void *dst,
                            const cw_rule_t *rule)
{
    cw_status_t st = parse_string(c, path, o, v, dst, rule);
    if (st != CW_OK)
        return st;
    for (const char *p = *(const char **)dst; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-' || *p == '.'))
            return fail(c, path, "expected letters, digits, '_', '-' or '.', got %s", got(c, v));
    }
    return CW_OK;
}

/* regex: POSIX extended, kept as text ("" -> NULL); compiled in check_rule / check_config, where
 * its use is known */
static cw_status_t parse_regex(ctx_t *c, const char *path, const option_t *o, const cJSON *v,
                               void *dst, const cw_rule_t *rule)
{
    (void)o, (void)rule;
    if (!cJSON_IsString(v))
        return fail(c, path, "expected a regular expression as a string, got %s", got(c, v));
    *(const char **)dst = v->valuestring[0] ? apr_pstrdup(c->pool, v->valuestring) : NULL;
    return CW_OK;
}

/* ---- enumerations: one name table each, for parsing, printing and the rules ---- */

static const cw_enum_name_t rule_kind_names[] = {
    {"threshold", CW_KIND_THRESHOLD}, {"first_seen", CW_KIND_FIRST_SEEN},
    {"sequence", CW_KIND_SEQUENCE},   {"silence", CW_KIND_SILENCE}};
static const cw_enum_name_t metric_kind_names[] = {
    {"count", CW_METRIC_COUNT}, {"sum", CW_METRIC_SUM}, {"distinct", CW_METRIC_DISTINCT}};
static const cw_enum_name_t stream_names[] = {{"audit", CW_STREAM_AUDIT}, {"cdr", CW_STREAM_CDR}};
static const cw_enum_name_t alert_format_names[] = {{"ecs", CW_FORMAT_ECS}, {"ocsf", CW_FORMAT_OCSF}};

#define ENUM_TABLE(names) {names, (int)(sizeof names / sizeof names[0])}
const cw_enum_t cw_rule_kinds = ENUM_TABLE(rule_kind_names);
const cw_enum_t cw_metric_kinds = ENUM_TABLE(metric_kind_names);
const cw_enum_t cw_streams = ENUM_TABLE(stream_names);
const cw_enum_t cw_alert_formats = ENUM_TABLE(alert_format_names);

/* inputs.*.csv_columns point at their cw_input_config_t, whose first member is the column list. */
_Static_assert(offsetof(cw_input_config_t, column_list) == 0, "csv_columns stores {items, n} at its offset");

/* The options store enumerations as the enum types, which are int-sized. */
_Static_assert(sizeof(cw_rule_kind_t) == sizeof(int) && sizeof(cw_metric_kind_t) == sizeof(int) &&
                   sizeof(cw_stream_t) == sizeof(int) && sizeof(cw_alert_format_t) == sizeof(int),
               "enumerated options are stored as int");

const char *cw_enum_name(const cw_enum_t *e, int value)
{
    for (int i = 0; i < e->n; i++) {
        if (e->names[i].value == value)
            return e->names[i].name;
    }
    return "?";
}

bool cw_enum_lookup(const cw_enum_t *e, const char *name, int *value)
{
    for (int i = 0; i < e->n; i++) {
        if (strcmp(e->names[i].name, name) == 0) {
            *value = e->names[i].value;
            return true;
        }
    }
    return false;
}

/* "\"a\", \"b\" or \"c\"" (messages) or "\"a\" | \"b\" | \"c\"" (the option reference) */
static const char *enum_alternatives(const cw_enum_t *e, bool messages, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < e->n && n < len; i++) {
        const char *sep = i == 0 ? "" : !messages ? " | " : i == e->n - 1 ? " or " : ", ";
        n += (size_t)snprintf(buf + n, len - n, "%s\"%s\"", sep, e->names[i].name);
    }
    return buf;
}

static const cw_enum_t *enum_of(opt_type_t t);

static cw_status_t parse_enum(ctx_t *c, const char *path, const option_t *o, const cJSON *v, void *dst,
                              const cw_rule_t *rule)
{
    const cw_enum_t *e = enum_of(o->type);
    char alt[128];
    (void)rule;
    if (cJSON_IsString(v) && cw_enum_lookup(e, v->valuestring, dst))
        return CW_OK;
    return fail(c, path, "expected %s, got %s", enum_alternatives(e, true, alt, sizeof alt), got(c, v));
}

static void print_enum(FILE *out, const option_t *o, const void *src, int level)
{
    (void)level;
    print_json_string(out, cw_enum_name(enum_of(o->type), *(const int *)src));
}

/* ---- fields of a stream ---- */

static bool is_numeric_field(cw_field_t f)
{
    return f == CW_F_DURATION_S || f == CW_F_BYTES_UP || f == CW_F_BYTES_DOWN || f == CW_F_ROWS ||
           f == CW_F_BYTES;
}

/* Every field name of a stream, for "expected one of" messages. */
static const char *field_names(ctx_t *c, cw_stream_t s, bool numeric_only)
{
    const char *out = "";
    int first = s == CW_STREAM_CDR ? CW_FIRST_CDR_FIELD : CW_FIRST_AUDIT_FIELD;
    int last = s == CW_STREAM_CDR ? CW_LAST_CDR_FIELD : CW_LAST_AUDIT_FIELD;
    for (int f = first; f <= last; f++) {
        if (numeric_only && !is_numeric_field((cw_field_t)f))
            continue;
        out = apr_pstrcat(c->pool, out, *out ? ", " : "", cw_field_name((cw_field_t)f), NULL);
    }
    return out;
}

static cw_status_t want_field(ctx_t *c, const char *path, const cJSON *v, cw_stream_t s,
                              bool numeric, cw_field_t *out)
{
    cw_field_t f = CW_F_NONE;
    if (cJSON_IsString(v))
        f = cw_field_lookup(s, v->valuestring, strlen(v->valuestring));
    if (f != CW_F_NONE && numeric && !is_numeric_field(f))
        f = CW_F_NONE;
    if (f == CW_F_NONE)
        return fail(c, path, "expected a %sfield of the %s stream (%s), got %s",
                    numeric ? "numeric " : "", cw_stream_name(s), field_names(c, s, numeric), got(c, v));
    *out = f;
    return CW_OK;
}

/* field: a field of the rule's stream, "" for none (checked against the rule's kind in
 * check_rule) */
static cw_status_t parse_field(ctx_t *c, const char *path, const option_t *o, const cJSON *v,
                               void *dst, const cw_rule_t *rule)
{
    (void)o;
    if (cJSON_IsString(v) && !v->valuestring[0]) {
        *(cw_field_t *)dst = CW_F_NONE;
        return CW_OK;
    }
    return want_field(c, path, v, rule->stream, false, dst);
}

static void print_field_name(FILE *out, cw_field_t f)
{
    print_json_string(out, f == CW_F_NONE ? "" : cw_field_name(f));
}

static void print_field(FILE *out, const option_t *o, const void *src, int level)
{
    (void)o, (void)level;
    print_field_name(out, *(const cw_field_t *)src);
}

/* key: 0..CW_KEY_FIELDS_MAX fields of the rule's stream -> cw_key_list_t */
static cw_status_t parse_key(ctx_t *c, const char *path, const option_t *o, const cJSON *v, void *dst,
                             const cw_rule_t *rule)
{
    cw_key_list_t *key = dst;
    const cJSON *it;
    int i = 0, n;
    cw_status_t st;
    (void)o;
    if (!cJSON_IsArray(v) || (n = cJSON_GetArraySize(v)) > CW_KEY_FIELDS_MAX)
        return fail(c, path, "expected an array of 0 to %d field names, got %s", CW_KEY_FIELDS_MAX, got(c, v));
    cJSON_ArrayForEach(it, v)
    {
        const char *p = apr_psprintf(c->pool, "%s[%d]", path, i);
        if ((st = want_field(c, p, it, rule->stream, false, &key->items[i])) != CW_OK)
            return st;
        i++;
    }
    key->n = n;
    return CW_OK;
}

static void print_fields(FILE *out, const cw_field_t *fields, int n)
{
    fputc('[', out);
    for (int i = 0; i < n; i++) {
        fputs(i ? ", " : "", out);
        print_field_name(out, fields[i]);
    }
    fputc(']', out);
}

static void print_key(FILE *out, const option_t *o, const void *src, int level)
{
    const cw_key_list_t *key = src;
    (void)o, (void)level;
    print_fields(out, key->items, key->n);
}

/* columns: fields of the option's stream, "" or null for a column to skip -> cw_column_list_t */
static cw_status_t parse_columns(ctx_t *c, const char *path, const option_t *o, const cJSON *v,
                                 void *dst, const cw_rule_t *rule)
{
    cw_column_list_t *cols = dst;
    const cJSON *it;
    int i = 0, n;
    cw_status_t st;
    (void)rule;
    if (!cJSON_IsArray(v) || (n = cJSON_GetArraySize(v)) < 1 || n > CW_F_COUNT)
        return fail(c, path, "expected an array of field names, got %s", got(c, v));
    cJSON_ArrayForEach(it, v)
    {
        const char *p = apr_psprintf(c->pool, "%s[%d]", path, i);
        if (cJSON_IsNull(it) || (cJSON_IsString(it) && !it->valuestring[0]))
            cols->items[i] = CW_F_NONE;
        else if ((st = want_field(c, p, it, (cw_stream_t)o->stream, false, &cols->items[i])) != CW_OK)
            return st;
        i++;
    }
    cols->n = n;
    return CW_OK;
}

static void print_columns(FILE *out, const option_t *o, const void *src, int level)
{
    const cw_column_list_t *cols = src;
    (void)o, (void)level;
    print_fields(out, cols->items, cols->n);
}

/* ---- lists ---- */

/* A string or an array of at most max non-empty strings. */
static cw_status_t want_string_array(ctx_t *c, const char *path, const cJSON *v, int max,
                                     cw_strlist_t *out)
{
    const cJSON *it;
    int i = 0, n;
    if (cJSON_IsString(v)) {
        out->items = apr_palloc(c->pool, sizeof(char *));
        out->items[0] = apr_pstrdup(c->pool, v->valuestring);
        out->n = 1;
        return CW_OK;
    }
    if (!cJSON_IsArray(v))
        return fail(c, path, "expected an array of strings, got %s", got(c, v));
    n = cJSON_GetArraySize(v);
    if (n > max)
        return fail(c, path, "expected at most %d entries, got %d", max, n);
    out->items = apr_pcalloc(c->pool, (size_t)(n ? n : 1) * sizeof(char *));
    cJSON_ArrayForEach(it, v)
    {
        if (!cJSON_IsString(it) || !it->valuestring[0])
            return fail(c, apr_psprintf(c->pool, "%s[%d]", path, i), "expected a non-empty string, got %s",
                        got(c, it));
        out->items[i++] = apr_pstrdup(c->pool, it->valuestring);
    }
    out->n = n;
    return CW_OK;
}

/* strlist: cw_strlist_t of at most max entries */
static cw_status_t parse_strlist(ctx_t *c, const char *path, const option_t *o, const cJSON *v,
                                 void *dst, const cw_rule_t *rule)
{
    (void)rule;
    return want_string_array(c, path, v, (int)o->max, dst);
}

static void print_strlist_option(FILE *out, const option_t *o, const void *src, int level)
{
    (void)o, (void)level;
    print_strlist(out, src);
}

static bool valid_technique(const char *s)
{
    /* T1234 or T1234.567 */
    size_t n = strlen(s);
    if (!(n == 5 || n == 9) || s[0] != 'T')
        return false;
    for (size_t i = 1; i < n; i++) {
        if (i == 5 ? s[i] != '.' : (s[i] < '0' || s[i] > '9'))
            return false;
    }
    return true;
}

/* techniques: a strlist of ATT&CK ids (printed as a strlist) */
static cw_status_t parse_techniques(ctx_t *c, const char *path, const option_t *o, const cJSON *v,
                                    void *dst, const cw_rule_t *rule)
{
    cw_strlist_t *l = dst;
    cw_status_t st = parse_strlist(c, path, o, v, dst, rule);
    for (int i = 0; st == CW_OK && i < l->n; i++) {
        if (!valid_technique(l->items[i]))
            return fail(c, apr_psprintf(c->pool, "%s[%d]", path, i),
                        "expected an ATT&CK technique id like \"T1213\" or \"T1505.003\", got \"%s\"",
                        l->items[i]);
    }
    return st;
}

/* The patterns of l compiled for the per-record filters (glob.h). */
static cw_status_t compile_globs(ctx_t *c, const char *path, const cw_strlist_t *l, const cw_globset_t **out)
{
    if (!(*out = cw_globset_compile(c->pool, l->items, l->n)))
        return fail(c, path, "out of memory");
    return CW_OK;
}

/* Expand "@name" references into the patterns of the named list. */
static cw_status_t expand_patterns(ctx_t *c, const char *path, const cw_strlist_t *src, cw_strlist_t *out)
{
    apr_array_header_t *a = apr_array_make(c->pool, src->n + 4, sizeof(const char *));
    for (int i = 0; i < src->n; i++) {
        const char *s = src->items[i];
        if (s[0] == '@') {
            const cw_strlist_t *l = cw_config_list(c->cfg, s + 1);
            if (!l) {
                const char *names = "";
                for (int k = 0; k < c->cfg->lists.n; k++)
                    names = apr_pstrcat(c->pool, names, k ? ", " : "", c->cfg->lists.items[k].name, NULL);
                return fail(c, path, "expected \"@name\" of a list in `lists` (%s), got \"%s\"",
                            *names ? names : "none defined", s);
            }
            for (int k = 0; k < l->n; k++)
                *(const char **)apr_array_push(a) = l->items[k];
        } else {
            *(const char **)apr_array_push(a) = s;
        }
    }
    out->items = (const char **)a->elts;
    out->n = a->nelts;
    return CW_OK;
}

/* lists: object of name -> patterns -> cw_named_lists_t */
static cw_status_t parse_lists(ctx_t *c, const char *path, const option_t *o, const cJSON *v,
                               void *dst, const cw_rule_t *rule)
{
    cw_named_lists_t *lists = dst;
    const cJSON *it;
    cw_status_t st;
    (void)o, (void)rule;
    if (!cJSON_IsObject(v))
        return fail(c, path, "expected an object of named pattern lists, got %s", got(c, v));
    lists->n = 0;
    lists->items = apr_pcalloc(c->pool, (size_t)(cJSON_GetArraySize(v) + 1) * sizeof *lists->items);
    cJSON_ArrayForEach(it, v)
    {
        cw_named_list_t *l = &lists->items[lists->n];
        if ((st = want_string_array(c, join(c, path, it->string), it, 100000, &l->patterns)) != CW_OK)
            return st;
        l->name = apr_pstrdup(c->pool, it->string);
        lists->n++;
    }
    return CW_OK;
}

static void print_lists(FILE *out, const option_t *o, const void *src, int level)
{
    const cw_named_lists_t *lists = src;
    (void)o;
    fputc('{', out);
    for (int i = 0; i < lists->n; i++) {
        fputs(i ? ",\n" : "\n", out);
        indent(out, level + 1);
        print_json_string(out, lists->items[i].name);
        fputs(": ", out);
        print_strlist(out, &lists->items[i].patterns);
    }
    close_block(out, lists->n, level, '}');
}

/* props: object of librdkafka property -> string, number or boolean -> cw_kv_list_t */
static cw_status_t parse_props(ctx_t *c, const char *path, const option_t *o, const cJSON *v,
                               void *dst, const cw_rule_t *rule)
{
    cw_kv_list_t *props = dst;
    const cJSON *it;
    int i = 0, n;
    (void)o, (void)rule;
    if (!cJSON_IsObject(v))
        return fail(c, path, "expected an object of librdkafka properties, got %s", got(c, v));
    n = cJSON_GetArraySize(v);
    props->items = apr_pcalloc(c->pool, (size_t)(n ? n : 1) * sizeof(cw_kv_t));
    cJSON_ArrayForEach(it, v)
    {
        const char *val;
        if (cJSON_IsString(it))
            val = apr_pstrdup(c->pool, it->valuestring);
        else if (cJSON_IsBool(it))
            val = cJSON_IsTrue(it) ? "true" : "false";
        else if (cJSON_IsNumber(it) && it->valuedouble >= -9e15 && it->valuedouble <= 9e15 &&
                 it->valuedouble == (double)(int64_t)it->valuedouble)
            val = apr_psprintf(c->pool, "%" APR_INT64_T_FMT, (int64_t)it->valuedouble);
        else
            return fail(c, join(c, path, it->string), "expected a string, number or boolean, got %s", got(c, it));
        props->items[i].key = apr_pstrdup(c->pool, it->string);
        props->items[i].value = val;
        i++;
    }
    props->n = n;
    return CW_OK;
}

static void print_props(FILE *out, const option_t *o, const void *src, int level)
{
    const cw_kv_list_t *props = src;
    (void)o, (void)level;
    fputc('{', out);
    for (int i = 0; i < props->n; i++) {
        fputs(i ? ", " : "", out);
        print_json_string(out, props->items[i].key);
        fputs(": ", out);
        /* a reference to a secret file is no secret: printed, so the output stays a configuration */
        print_json_string(out, cw_config_is_secret(props->items[i].key) &&
                                       strncmp(props->items[i].value, CW_CONFIG_FILE_REF, strlen(CW_CONFIG_FILE_REF)) != 0
                                   ? "(redacted)"
                                   : props->items[i].value);
    }
    fputc('}', out);
}

/* ---- lists of small objects, each walked against a little table ---- */

static cw_status_t walk(ctx_t *c, const cJSON *obj, const option_t *table, size_t n, const char *rel,
                        const char *path, char *base, const cw_rule_t *rule);

#define WINDOW(m) offsetof(cw_window_spec_t, m)
static const option_t window_options[] = {
    {"window", T_DURATION, NULL, CW_MS_PER_SECOND, 35 * CW_MS_PER_DAY, WINDOW(window), 0, ""},
    {"bucket", T_DURATION, NULL, CW_MS_PER_SECOND, 35 * CW_MS_PER_DAY, WINDOW(bucket), 0, ""},
    {"threshold", T_INT, NULL, 1, INT64_C(1) << 53, WINDOW(threshold), 0, ""},
};

/* windows: array of {window, bucket, threshold} -> cw_window_list_t */
static cw_status_t parse_windows(ctx_t *c, const char *path, const option_t *o, const cJSON *v,
                                 void *dst, const cw_rule_t *rule)
{
    cw_window_list_t *windows = dst;
    const cJSON *it;
    int i = 0, n;
    cw_status_t st;
    (void)o;
    if (!cJSON_IsArray(v) || (n = cJSON_GetArraySize(v)) > CW_WINDOWS_MAX)
        return fail(c, path, "expected an array of at most %d windows, got %s", CW_WINDOWS_MAX, got(c, v));
    cJSON_ArrayForEach(it, v)
    {
        const char *p = apr_psprintf(c->pool, "%s[%d]", path, i);
        if ((st = walk(c, it, window_options, 3, "", p, (char *)&windows->items[i], rule)) != CW_OK)
            return st;
        i++;
    }
    windows->n = n;
    windows->listed = n > 0;
    return CW_OK;
}

/* Only a list that was given is printed: the one-window form is printed as window/bucket/threshold. */
static void print_windows(FILE *out, const option_t *o, const void *src, int level)
{
    const cw_window_list_t *windows = src;
    (void)o, (void)level;
    fputc('[', out);
    for (int i = 0; windows->listed && i < windows->n; i++) {
        char b1[32], b2[32];
        fprintf(out, "%s{\"window\": \"%s\", \"bucket\": \"%s\", \"threshold\": %lld}", i ? ", " : "",
                cw_duration_format(windows->items[i].window, b1), cw_duration_format(windows->items[i].bucket, b2),
                (long long)windows->items[i].threshold);
    }
    fputc(']', out);
}

#define ALLOW(m) offsetof(cw_allow_t, m)
static const option_t allow_options[] = {
    {"principal", T_STRLIST, "[]", 0, 100000, ALLOW(principal), 0, ""},
    {"client_host", T_STRLIST, "[]", 0, 100000, ALLOW(client_host), 0, ""},
    {"client_app", T_STRLIST, "[]", 0, 100000, ALLOW(client_app), 0, ""},
    {"hours", T_STRLIST, "[]", 0, 100, ALLOW(hours_src), 0, ""},
    {"comment", T_STRING, "\"\"", 0, 100000, ALLOW(comment), 0, ""},
};
#define N_ALLOW_OPTIONS (sizeof allow_options / sizeof allow_options[0])

/* One allow-list entry: patterns expanded, hours parsed. */
static cw_status_t parse_allow_entry(ctx_t *c, const char *path, const cJSON *v, cw_allow_t *a,
                                     const cw_rule_t *rule)
{
    cw_status_t st;
    if ((st = walk(c, v, allow_options, N_ALLOW_OPTIONS, "", path, (char *)a, rule)) != CW_OK ||
        (st = expand_patterns(c, path, &a->principal, &a->principal)) != CW_OK ||
        (st = expand_patterns(c, path, &a->client_host, &a->client_host)) != CW_OK ||
        (st = expand_patterns(c, path, &a->client_app, &a->client_app)) != CW_OK)
        return st;
    for (int k = 0; k < a->hours_src.n; k++) {
        if (!cw_hours_parse(a->hours_src.items[k], &a->hours))
            return fail(c, apr_psprintf(c->pool, "%s.hours[%d]", path, k),
                        "expected hours like \"Mon-Fri 08-18\", \"Sat\" or \"*\", got \"%s\"",
                        a->hours_src.items[k]);
    }
    a->has_hours = a->hours_src.n > 0;
    return CW_OK;
}

/* allow: array of allow-list entries -> cw_allow_list_t */
static cw_status_t parse_allow(ctx_t *c, const char *path, const option_t *o, const cJSON *v,
                               void *dst, const cw_rule_t *rule)
{
    cw_allow_list_t *allow = dst;
    const cJSON *it;
    int i = 0, n;
    cw_status_t st;
    if (!cJSON_IsArray(v) || (n = cJSON_GetArraySize(v)) > (int)o->max)
        return fail(c, path, "expected an array of allow-list entries, got %s", got(c, v));
    allow->items = apr_pcalloc(c->pool, (size_t)(n ? n : 1) * sizeof(cw_allow_t));
    cJSON_ArrayForEach(it, v)
    {
        const char *p = apr_psprintf(c->pool, "%s[%d]", path, i);
        if ((st = parse_allow_entry(c, p, it, &allow->items[i], rule)) != CW_OK)
            return st;
        i++;
    }
    allow->n = n;
    return CW_OK;
}

static void print_allow(FILE *out, const option_t *o, const void *src, int level)
{
    const cw_allow_list_t *allow = src;
    (void)o, (void)level;
    fputc('[', out);
    for (int i = 0; i < allow->n; i++) {
        const cw_allow_t *a = &allow->items[i];
        fputs(i ? ", {" : "{", out);
        fputs("\"principal\": ", out);
        print_strlist(out, &a->principal);
        fputs(", \"client_host\": ", out);
        print_strlist(out, &a->client_host);
        fputs(", \"client_app\": ", out);
        print_strlist(out, &a->client_app);
        fputs(", \"hours\": ", out);
        print_strlist(out, &a->hours_src);
        if (*a->comment) {
            fputs(", \"comment\": ", out);
            print_json_string(out, a->comment);
        }
        fputc('}', out);
    }
    fputc(']', out);
}

#define HOSTCLASS(m) offsetof(cw_host_class_t, m)
static const option_t host_class_options[] = {
    {"patterns", T_STRLIST, NULL, 1, 100000, HOSTCLASS(patterns), 0, ""},
    {"severity", T_SEVERITY, NULL, 0, 100, HOSTCLASS(severity), 0, ""},
};

/* host_classes: object of class name -> {patterns, severity} -> cw_host_class_list_t */
static cw_status_t parse_host_classes(ctx_t *c, const char *path, const option_t *o, const cJSON *v,
                                      void *dst, const cw_rule_t *rule)
{
    cw_host_class_list_t *classes = dst;
    const cJSON *it;
    int i = 0, n;
    cw_status_t st;
    (void)o;
    if (!cJSON_IsObject(v))
        return fail(c, path, "expected an object of host classes, got %s", got(c, v));
    n = cJSON_GetArraySize(v);
    classes->items = apr_pcalloc(c->pool, (size_t)(n ? n : 1) * sizeof(cw_host_class_t));
    cJSON_ArrayForEach(it, v)
    {
        cw_host_class_t *hc = &classes->items[i];
        const char *p = join(c, path, it->string);
        hc->name = apr_pstrdup(c->pool, it->string);
        if ((st = walk(c, it, host_class_options, 2, "", p, (char *)hc, rule)) != CW_OK ||
            (st = expand_patterns(c, p, &hc->patterns, &hc->patterns)) != CW_OK ||
            (st = compile_globs(c, p, &hc->patterns, &hc->set)) != CW_OK)
            return st;
        i++;
    }
    classes->n = n;
    return CW_OK;
}

static void print_host_classes(FILE *out, const option_t *o, const void *src, int level)
{
    const cw_host_class_list_t *classes = src;
    (void)o;
    fputc('{', out);
    for (int i = 0; i < classes->n; i++) {
        fputs(i ? ",\n" : "\n", out);
        indent(out, level + 1);
        print_json_string(out, classes->items[i].name);
        fputs(": {\"patterns\": ", out);
        print_strlist(out, &classes->items[i].patterns);
        fprintf(out, ", \"severity\": %d}", classes->items[i].severity);
    }
    close_block(out, classes->n, level, '}');
}

/* ---- filters ---- */

/* The object form of a condition: {"any": [...], "none": [...], "regex": "...", "not_regex": "...",
 * "present": true|false} */
static cw_status_t parse_cond_parts(ctx_t *c, const char *path, const cJSON *v, cw_cond_t *cond)
{
    const cJSON *part;
    cw_status_t st;
    cJSON_ArrayForEach(part, v)
    {
        const char *pp = join(c, path, part->string);
        if (strcmp(part->string, "any") == 0)
            st = want_string_array(c, pp, part, 100000, &cond->any_src);
        else if (strcmp(part->string, "none") == 0)
            st = want_string_array(c, pp, part, 100000, &cond->none_src);
        else if (strcmp(part->string, "regex") == 0 || strcmp(part->string, "not_regex") == 0) {
            bool neg = part->string[0] == 'n';
            if (!cJSON_IsString(part) || !part->valuestring[0])
                return fail(c, pp, "expected a regular expression as a string, got %s", got(c, part));
            *(neg ? &cond->not_regex : &cond->regex) = apr_pstrdup(c->pool, part->valuestring);
            st = compile_regex(c, pp, part->valuestring, true, neg ? &cond->not_re : &cond->re);
            cond->re_window = (size_t)c->cfg->regex_window;
        } else if (strcmp(part->string, "present") == 0) {
            if (!cJSON_IsBool(part))
                return fail(c, pp, "expected true or false, got %s", got(c, part));
            cond->present = cJSON_IsTrue(part) ? 1 : 0;
            st = CW_OK;
        } else
            st = fail(c, pp, "unknown key: expected \"any\", \"none\", \"regex\", \"not_regex\" or \"present\"");
        if (st != CW_OK)
            return st;
    }
    return CW_OK;
}

/* The patterns of a derived field: hour specs for "hours", "true" or "false" for the others. */
static cw_status_t check_derived_patterns(ctx_t *c, const char *path, cw_cond_t *cond)
{
    for (int k = 0; k < cond->any.n + cond->none.n; k++) {
        bool in_any = k < cond->any.n;
        const char *p = in_any ? cond->any.items[k] : cond->none.items[k - cond->any.n];
        if (cond->field != CW_F_V_HOURS) {
            if (strcmp(p, "true") != 0 && strcmp(p, "false") != 0)
                return fail(c, path, "expected \"true\" or \"false\", got \"%s\"", p);
        } else if (!cw_hours_parse(p, in_any ? &cond->hours_any : &cond->hours_none)) {
            return fail(c, path, "expected hours like \"Mon-Fri 08-18\", \"Sat\" or \"*\", got \"%s\"", p);
        }
    }
    if (cond->field == CW_F_V_HOURS && (cond->regex || cond->not_regex))
        return fail(c, path, "expected hour specs (\"any\", \"none\"), not a regular expression");
    if (cond->present >= 0)
        return fail(c, path, "\"present\" applies to fields of records, not to derived fields");
    return CW_OK;
}

/* One condition: "field": pattern(s) or the object form. */
static cw_status_t parse_cond(ctx_t *c, const char *path, const cJSON *it, const cw_rule_t *rule,
                              cw_cond_t *cond)
{
    cw_status_t st;
    cond->present = -1;
    cond->field = cw_field_lookup(rule->stream, it->string, strlen(it->string));
    if (cond->field == CW_F_NONE && rule->stream == CW_STREAM_AUDIT)
        cond->field = cw_field_lookup_derived(it->string);
    if (cond->field == CW_F_NONE)
        return fail(c, path, "expected a field of the %s stream (%s%s)", cw_stream_name(rule->stream),
                    field_names(c, rule->stream, false),
                    rule->stream == CW_STREAM_AUDIT ? ", history_pull, watchlisted, unbounded_select, hours, damaged" : "");
    if (cJSON_IsObject(it))
        st = parse_cond_parts(c, path, it, cond);
    else
        st = want_string_array(c, path, it, 100000, &cond->any_src);
    if (st != CW_OK || (st = expand_patterns(c, path, &cond->any_src, &cond->any)) != CW_OK ||
        (st = expand_patterns(c, path, &cond->none_src, &cond->none)) != CW_OK ||
        (st = compile_globs(c, path, &cond->any, &cond->any_set)) != CW_OK ||
        (st = compile_globs(c, path, &cond->none, &cond->none_set)) != CW_OK)
        return st;
    if (cw_field_is_derived(cond->field))
        return check_derived_patterns(c, path, cond);
    return CW_OK;
}

/* filter: object of field -> condition -> cw_filter_t */
static cw_status_t parse_filter(ctx_t *c, const char *path, const option_t *o, const cJSON *v,
                                void *dst, const cw_rule_t *rule)
{
    cw_filter_t *filter = dst;
    const cJSON *it;
    int i = 0, n;
    cw_status_t st;
    (void)o;
    if (!cJSON_IsObject(v))
        return fail(c, path, "expected an object of field conditions, got %s", got(c, v));
    n = cJSON_GetArraySize(v);
    filter->conds = apr_pcalloc(c->pool, (size_t)(n ? n : 1) * sizeof(cw_cond_t));
    cJSON_ArrayForEach(it, v)
    {
        if ((st = parse_cond(c, join(c, path, it->string), it, rule, &filter->conds[i])) != CW_OK)
            return st;
        i++;
    }
    filter->n = n;
    return CW_OK;
}

static void print_filter(FILE *out, const option_t *o, const void *src, int level)
{
    const cw_filter_t *f = src;
    (void)o, (void)level;
    fputc('{', out);
    for (int i = 0; i < f->n; i++) {
        const cw_cond_t *cd = &f->conds[i];
        fputs(i ? ", " : "", out);
        print_json_string(out, cw_field_name(cd->field));
        fputs(": {\"any\": ", out);
        print_strlist(out, &cd->any_src);
        fputs(", \"none\": ", out);
        print_strlist(out, &cd->none_src);
        if (cd->regex) {
            fputs(", \"regex\": ", out);
            print_json_string(out, cd->regex);
        }
        if (cd->not_regex) {
            fputs(", \"not_regex\": ", out);
            print_json_string(out, cd->not_regex);
        }
        if (cd->present >= 0)
            fputs(cd->present ? ", \"present\": true" : ", \"present\": false", out);
        fputc('}', out);
    }
    fputc('}', out);
}

/* ---- the type table ---- */

typedef struct {
    const char *name;      /* for "required key is missing" and the option reference */
    const cw_enum_t *names; /* enumerations: the name table (the type name is made from it) */
    parse_fn parse;        /* NULL: T_OBJECT and T_RULES, walked by their callers */
    print_fn print;
} type_info_t;

static const type_info_t types[] = {
    [T_OBJECT] = {"object", NULL, NULL, NULL},
    [T_DURATION] = {"duration", NULL, parse_duration, print_duration},
    [T_INT] = {"integer", NULL, parse_int, print_int},
    [T_SEVERITY] = {"integer", NULL, parse_severity, print_severity},
    [T_BOOL] = {"boolean", NULL, parse_bool, print_bool},
    [T_STRING] = {"string", NULL, parse_string, print_string},
    [T_ID] = {"string", NULL, parse_id, print_string},
    [T_STREAM] = {NULL, &cw_streams, parse_enum, print_enum},
    [T_METRIC] = {NULL, &cw_metric_kinds, parse_enum, print_enum},
    [T_FIELD] = {"field name", NULL, parse_field, print_field},
    [T_KEY] = {"array of field names", NULL, parse_key, print_key},
    [T_COLUMNS] = {"array of field names", NULL, parse_columns, print_columns},
    [T_TECHNIQUES] = {"array of ATT&CK ids", NULL, parse_techniques, print_strlist_option},
    [T_FILTER] = {"object of conditions", NULL, parse_filter, print_filter},
    [T_PROPS] = {"object of strings", NULL, parse_props, print_props},
    [T_LISTS] = {"object of pattern arrays", NULL, parse_lists, print_lists},
    [T_RULES] = {"array of rules", NULL, NULL, NULL},
    [T_NUMBER] = {"number", NULL, parse_number, print_number},
    [T_KIND] = {NULL, &cw_rule_kinds, parse_enum, print_enum},
    [T_TEXTFIELD] = {"field name", NULL, parse_field, print_field},
    [T_WINDOWS] = {"array of windows", NULL, parse_windows, print_windows},
    [T_ALLOW] = {"array of allow-list entries", NULL, parse_allow, print_allow},
    [T_REGEX] = {"regular expression", NULL, parse_regex, print_string},
    [T_STRLIST] = {"array of strings", NULL, parse_strlist, print_strlist_option},
    [T_HOSTCLASSES] = {"object of host classes", NULL, parse_host_classes, print_host_classes},
    [T_FORMAT] = {NULL, &cw_alert_formats, parse_enum, print_enum},
};

static const cw_enum_t *enum_of(opt_type_t t)
{
    return types[t].names;
}

/* "duration", or for an enumeration its names: "\"audit\" | \"cdr\"" */
static const char *type_name(opt_type_t t, char *buf, size_t len)
{
    return types[t].names ? enum_alternatives(types[t].names, false, buf, len) : types[t].name;
}

/* ---- walking an object against a table ---- */

static const cJSON *member(const cJSON *obj, const char *name)
{
    return obj ? cJSON_GetObjectItemCaseSensitive(obj, name) : NULL;
}

static cw_status_t check_unknown_and_duplicates(ctx_t *c, const cJSON *obj, const option_t *table,
                                                size_t n, const char *rel, const char *path)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, obj)
    {
        const char *full = *rel ? apr_pstrcat(c->pool, rel, ".", it->string, NULL) : it->string;
        bool known = false;
        const char *best = NULL;
        size_t best_d = 99;
        for (const cJSON *o = obj->child; o != it; o = o->next) {
            if (strcmp(o->string, it->string) == 0)
                return fail(c, join(c, path, it->string), "duplicate key");
        }
        for (size_t i = 0; i < n; i++) {
            if (!is_child(table[i].path, rel))
                continue;
            if (strcmp(table[i].path, full) == 0) {
                known = true;
                break;
            }
            size_t d = edit_distance(leaf(table[i].path), it->string);
            if (d < best_d) {
                best_d = d;
                best = leaf(table[i].path);
            }
        }
        if (!known) {
            if (best && best_d <= 3)
                return fail(c, join(c, path, it->string), "unknown key (did you mean \"%s\"?)", best);
            return fail(c, join(c, path, it->string), "unknown key");
        }
    }
    return CW_OK;
}

/* Walk the options of `table` whose path is a child of `rel`, in table order. */
static cw_status_t walk(ctx_t *c, const cJSON *obj, const option_t *table, size_t n, const char *rel,
                        const char *path, char *base, const cw_rule_t *rule)
{
    cw_status_t st;
    if (obj && !cJSON_IsObject(obj))
        return fail(c, *path ? path : "(top level)", "expected an object, got %s", got(c, obj));
    if (obj && (st = check_unknown_and_duplicates(c, obj, table, n, rel, path)) != CW_OK)
        return st;
    for (size_t i = 0; i < n; i++) {
        const option_t *o = &table[i];
        const char *name;
        const cJSON *v;
        const char *p;
        if (!is_child(o->path, rel))
            continue;
        name = leaf(o->path);
        v = member(obj, name);
        p = join(c, path, name);
        if (o->type == T_OBJECT) {
            if ((st = walk(c, v, table, n, o->path, p, base, rule)) != CW_OK)
                return st;
            continue;
        }
        if (o->type == T_RULES)
            continue; /* handled by the caller, after lists */
        if (!v) {
            cJSON *def;
            char tn[128];
            if (!o->def)
                return fail(c, p, "required key is missing (%s: %s)", type_name(o->type, tn, sizeof tn), o->help);
            def = cJSON_Parse(o->def);
            if (!def)
                return fail(c, p, "internal error: bad default %s", o->def);
            st = types[o->type].parse(c, p, o, def, base + o->offset, rule);
            cJSON_Delete(def);
        } else {
            st = types[o->type].parse(c, p, o, v, base + o->offset, rule);
        }
        if (st != CW_OK)
            return st;
    }
    return CW_OK;
}

/* kind threshold: the one-window form becomes windows[0]; every window fits its buckets and
 * the allowed lateness. `at` is the rule's path and a dot; `obj` the rule's JSON object. */
static cw_status_t check_windows(ctx_t *c, const char *at, cw_rule_t *r, const cJSON *obj)
{
#define AT(key) apr_pstrcat(c->pool, at, key, NULL)
    if (r->windows_listed) {
        if (member(obj, "window") || member(obj, "bucket") || member(obj, "threshold"))
            return fail(c, AT("windows"), "expected either windows or window/bucket/threshold, not both");
    } else {
        if (r->threshold < 1)
            return fail(c, AT("threshold"), "required with kind \"threshold\": expected an integer >= 1 "
                                            "(or a windows list)");
        r->windows[0].window = r->window;
        r->windows[0].bucket = r->bucket;
        r->windows[0].threshold = r->threshold;
        r->n_windows = 1;
    }
    for (int w = 0; w < r->n_windows; w++) {
        cw_window_spec_t *ws = &r->windows[w];
        const char *wp = r->windows_listed ? apr_psprintf(c->pool, "%swindows[%d].", at, w) : at;
        if (ws->window % ws->bucket != 0)
            return fail(c, apr_pstrcat(c->pool, wp, "window", NULL),
                        "expected a multiple of bucket (%lld ms), got %lld ms", (long long)ws->bucket,
                        (long long)ws->window);
        if (ws->window / ws->bucket > 1024)
            return fail(c, apr_pstrcat(c->pool, wp, "bucket", NULL),
                        "expected at most 1024 buckets per window, got %lld (widen the bucket)",
                        (long long)(ws->window / ws->bucket));
        if (c->cfg->allowed_lateness > ws->window)
            return fail(c, "engine.allowed_lateness",
                        "expected at most the smallest rule window (%swindow), got a longer duration", wp);
    }
    return CW_OK;
}

/* kind threshold: the metric's field fits its kind, and a baseline fits the metric. */
static cw_status_t check_metric(ctx_t *c, const char *at, const cw_rule_t *r)
{
    if (r->metric == CW_METRIC_SUM && !is_numeric_field(r->metric_field))
        return fail(c, AT("metric.field"),
                    "required with metric.kind \"sum\": expected a numeric field of the %s stream (%s)",
                    cw_stream_name(r->stream), field_names(c, r->stream, true));
    if (r->metric == CW_METRIC_DISTINCT && (r->metric_field == CW_F_NONE || is_numeric_field(r->metric_field)))
        return fail(c, AT("metric.field"),
                    "required with metric.kind \"distinct\": expected a text field of the %s stream "
                    "(client_host, object, subscribers...)", cw_stream_name(r->stream));
    if (r->metric == CW_METRIC_DISTINCT && (r->baseline_sigma > 0 || r->baseline_ratio > 0))
        return fail(c, AT("baseline"), "expected no baseline with metric.kind \"distinct\" "
                                       "(distinct counts do not add up hour by hour)");
    if (r->baseline_alpha <= 0)
        return fail(c, AT("baseline.alpha"), "expected a number above 0 and at most 1, got 0");
    if (r->adaptive_factor > 0 && r->n_adaptive_seen > 0)
        return fail(c, AT("adaptive"), "expected either factor or seen, not both");
    if (r->adaptive_factor > 0 && r->adaptive_factor < 1)
        return fail(c, AT("adaptive.factor"), "expected 0 (off) or at least 1, got %g", r->adaptive_factor);
    if (r->lookup_quantile > 0 && (r->lookup_quantile < 0.5 || r->lookup_quantile > 0.999))
        return fail(c, AT("lookups.quantile"), "expected 0 (off) or from 0.5 to 0.999, got %g", r->lookup_quantile);
    if (r->lookup_quantile > 0 && (r->metric != CW_METRIC_COUNT || r->stream != CW_STREAM_AUDIT))
        return fail(c, AT("lookups"), "expected only with metric.kind \"count\" on the audit stream");
    if (r->lookup_quantile > 0 && (r->baseline_sigma > 0 || r->baseline_ratio > 0 || r->adaptive_factor > 0 ||
                                   r->n_adaptive_seen > 0))
        return fail(c, AT("lookups"), "expected no baseline and no adaptive with lookups (it is the key's own profile)");
    return CW_OK;
#undef AT
}

/* Cross-option checks of one rule; `obj` is its JSON object (to tell given from defaulted). */
static cw_status_t check_rule(ctx_t *c, const char *path, cw_rule_t *r, const cJSON *obj)
{
    cw_status_t st;
    const char *at = apr_pstrcat(c->pool, path, ".", NULL);
#define AT(key) apr_pstrcat(c->pool, at, key, NULL)
    for (int i = 0; i < r->n_key; i++) {
        for (int j = 0; j < i; j++) {
            if (r->key[i] == r->key[j])
                return fail(c, apr_psprintf(c->pool, "%s.key[%d]", path, i), "expected distinct fields");
        }
    }
    if (r->max_keys == 0)
        r->max_keys = c->cfg->max_keys;
    if (r->kind != CW_KIND_THRESHOLD && (r->adaptive_factor > 0 || r->n_adaptive_seen > 0))
        return fail(c, AT("adaptive"), "expected only with kind \"threshold\"");
    if (r->kind != CW_KIND_THRESHOLD && r->lookup_quantile > 0)
        return fail(c, AT("lookups"), "expected only with kind \"threshold\"");
    switch (r->kind) {
    case CW_KIND_THRESHOLD:
        if ((st = check_windows(c, at, r, obj)) != CW_OK || (st = check_metric(c, at, r)) != CW_OK)
            return st;
        break;
    case CW_KIND_FIRST_SEEN:
        if (r->seen_field == CW_F_NONE)
            return fail(c, AT("seen.field"), "required with kind \"first_seen\": expected a text field of the %s "
                                             "stream (client_host, client_app, action...)", cw_stream_name(r->stream));
        if (is_numeric_field(r->seen_field))
            return fail(c, AT("seen.field"), "expected a text field, got \"%s\"", cw_field_name(r->seen_field));
        break;
    case CW_KIND_SEQUENCE:
        if (!r->extract)
            return fail(c, AT("sequence.extract"),
                        "required with kind \"sequence\": a regular expression whose group 1 is the principal");
        if (r->trigger.n == 0)
            return fail(c, AT("sequence.trigger"), "required with kind \"sequence\": expected conditions");
        if ((st = compile_regex(c, AT("sequence.extract"), r->extract, false, &r->extract_re)) != CW_OK)
            return st;
        r->extract_window = (size_t)c->cfg->regex_window;
        if (((regex_t *)r->extract_re)->re_nsub < 1)
            return fail(c, AT("sequence.extract"), "expected a group ( ) around the principal, got \"%s\"", r->extract);
        break;
    case CW_KIND_SILENCE:
        if (c->cfg->allowed_lateness > r->gap)
            return fail(c, "engine.allowed_lateness", "expected at most %ssilence.gap", at);
        break;
    }
#undef AT
    return CW_OK;
}

static bool same_list(const cw_strlist_t *a, const cw_strlist_t *b)
{
    if (a->n != b->n)
        return false;
    for (int i = 0; i < a->n; i++) {
        if (strcmp(a->items[i], b->items[i]) != 0)
            return false;
    }
    return true;
}

static bool same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool same_cond(const cw_cond_t *a, const cw_cond_t *b)
{
    return a->field == b->field && same_list(&a->any, &b->any) && same_list(&a->none, &b->none) &&
           same_text(a->regex, b->regex) && same_text(a->not_regex, b->not_regex) &&
           a->present == b->present;
}

/* The filters of rule r: its filter, trigger and silence.while. */
static int rule_filters(cw_rule_t *r, cw_filter_t *out[3])
{
    out[0] = &r->filter;
    out[1] = &r->trigger;
    out[2] = &r->silence_while;
    return 3;
}

/* The memo index of (field, list) among those seen so far, adding it if new; -1 for an empty
 * list or beyond the table. */
static int list_memo(cw_field_t field, const cw_strlist_t *l, cw_field_t *fields, const cw_strlist_t **lists,
                     int *n, int max, int base)
{
    int k;
    if (!l->n)
        return -1;
    for (k = 0; k < *n && !(fields[k] == field && same_list(lists[k], l)); k++)
        ;
    if (k == *n && *n < max) {
        fields[k] = field;
        lists[(*n)++] = l;
    }
    return k < *n ? base + k : -1;
}

/* Number the distinct conditions of every filter of every rule, then the distinct lists they
 * match on a field: a record evaluates each once (cw_filter_matches). */
static void assign_memos(cw_config_t *cfg)
{
    enum { MAX = 4096 };
    const cw_cond_t *seen[MAX];
    cw_field_t fields[MAX];
    const cw_strlist_t *lists[MAX];
    cw_filter_t *filters[3];
    int n = 0, nl = 0, nf;
    for (int r = 0; r < cfg->n_rules; r++) {
        nf = rule_filters(&cfg->rules[r], filters);
        for (int f = 0; f < nf; f++) {
            for (int i = 0; i < filters[f]->n; i++) {
                cw_cond_t *c = &filters[f]->conds[i];
                int k;
                for (k = 0; k < n && !same_cond(seen[k], c); k++)
                    ;
                if (k == n && n < MAX)
                    seen[n++] = c;
                c->memo = k < n ? k : -1; /* -1: beyond the memo table, evaluated every time */
            }
        }
    }
    for (int r = 0; r < cfg->n_rules; r++) {
        nf = rule_filters(&cfg->rules[r], filters);
        for (int f = 0; f < nf; f++) {
            for (int i = 0; i < filters[f]->n; i++) {
                cw_cond_t *c = &filters[f]->conds[i];
                c->any_memo = list_memo(c->field, &c->any, fields, lists, &nl, MAX, n);
                c->none_memo = list_memo(c->field, &c->none, fields, lists, &nl, MAX, n);
            }
        }
    }
    cfg->n_memo = n + nl;
}

static cw_status_t parse_rules(ctx_t *c, const cJSON *rules)
{
    const cJSON *it;
    int i = 0, n;
    cw_status_t st;
    if (!rules) {
        c->cfg->n_rules = 0;
        return CW_OK;
    }
    if (!cJSON_IsArray(rules))
        return fail(c, "rules", "expected an array of rule objects, got %s", got(c, rules));
    n = cJSON_GetArraySize(rules);
    if (n > 1000)
        return fail(c, "rules", "expected at most 1000 rules, got %d", n);
    c->cfg->rules = apr_pcalloc(c->pool, (size_t)(n ? n : 1) * sizeof(cw_rule_t));
    cJSON_ArrayForEach(it, rules)
    {
        cw_rule_t *r = &c->cfg->rules[i];
        const char *path = apr_psprintf(c->pool, "rules[%d]", i);
        if (!cJSON_IsObject(it))
            return fail(c, path, "expected a rule object, got %s", got(c, it));
        c->rule_id = cJSON_IsString(member(it, "id")) ? member(it, "id")->valuestring : NULL;
        if ((st = walk(c, it, rule_options, N_RULE_OPTIONS, "", path, (char *)r, r)) != CW_OK)
            return st;
        if ((st = check_rule(c, path, r, it)) != CW_OK)
            return st;
        c->rule_id = NULL;
        for (int k = 0; k < i; k++) {
            if (strcmp(c->cfg->rules[k].id, r->id) == 0)
                return fail(c, apr_pstrcat(c->pool, path, ".id", NULL),
                            "expected a unique id, \"%s\" is also rules[%d].id", r->id, k);
        }
        i++;
    }
    c->cfg->n_rules = n;
    assign_memos(c->cfg);
    return CW_OK;
}

/* Line and column of a byte offset, for JSON syntax errors. */
static void line_col(const char *text, size_t off, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

/* Parse the JSON text of one file (a syntax error names its line and column). */
static cw_status_t parse_json(const char *name, const char *text, size_t len, cJSON **root, char *err,
                              size_t errlen)
{
    const char *end = NULL;
    int line, col;
    *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!*root) {
        size_t off = end && end >= text ? (size_t)(end - text) : 0;
        line_col(text, off < len ? off : len, &line, &col);
        snprintf(err, errlen, "%s: line %d, column %d: expected valid JSON (syntax error)", name, line, col);
        return CW_ERR_USAGE;
    }
    for (const char *p = end; p < text + len; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
            line_col(text, (size_t)(p - text), &line, &col);
            snprintf(err, errlen, "%s: line %d, column %d: expected the end of the file after the top-level object",
                     name, line, col);
            cJSON_Delete(*root);
            return CW_ERR_USAGE;
        }
    }
    return CW_OK;
}

/* outputs.http_listen, when set: "PORT" or "ADDR:PORT" (http.c says which; binding waits for run). */
static cw_status_t check_http_listen(ctx_t *c)
{
    char host[256], port[8];
    if (!c->cfg->http_listen[0])
        return CW_OK;
    return cw_http_parse_listen(file_of(c, "outputs.http_listen"), c->cfg->http_listen, host, sizeof host, port,
                                sizeof port, c->err, c->errlen);
}

/* Build the configuration from a (merged) JSON tree, walking the option tables. */
/* inputs.audit.tz resolved once (decode_tz.h), for every decoding thread to share. */
static cw_status_t resolve_tz(ctx_t *c, cw_input_config_t *in)
{
    cw_tz_t *tz;
    char why[512];
    if (cw_tz_load(c->pool, in->tz, &tz, why, sizeof why) != CW_OK)
        return fail(c, "inputs.audit.tz", "%s", why);
    in->tz_zone = tz;
    return CW_OK;
}

static cw_status_t build(ctx_t *c, const char *name, const cJSON *root, cw_config_t **out)
{
    cw_status_t st;
    c->cfg = apr_pcalloc(c->pool, sizeof *c->cfg);
    c->cfg->path = apr_pstrdup(c->pool, name);
    c->cfg->origins = apr_array_make(c->pool, 0, sizeof(cw_origin_t));
    st = walk(c, root, config_options, N_CONFIG_OPTIONS, "", "", (char *)c->cfg, NULL);
    if (st == CW_OK)
        st = compile_regex(c, "reference.subscriber_pattern", c->cfg->subscriber_pattern, false,
                           &c->cfg->subscriber_re);
    if (st == CW_OK)
        st = resolve_tz(c, &c->cfg->input[CW_STREAM_AUDIT]);
    if (st == CW_OK)
        st = check_http_listen(c);
    if (st == CW_OK)
        st = parse_rules(c, member(root, "rules"));
    if (st == CW_OK)
        *out = c->cfg;
    return st;
}

cw_status_t cw_config_parse(apr_pool_t *pool, const char *name, const char *text, size_t len,
                            cw_config_t **out, char *err, size_t errlen)
{
    ctx_t c = {pool, name, NULL, err, errlen, NULL, NULL};
    cJSON *root;
    cw_status_t st;
    if ((st = parse_json(name, text, len, &root, err, errlen)) != CW_OK)
        return st;
    st = build(&c, name, root, out);
    cJSON_Delete(root);
    return st;
}

/* The whole of a file, in the pool (at most 16 MiB). */
static cw_status_t read_text(apr_pool_t *pool, const char *path, char **out, size_t *outlen, char *err,
                             size_t errlen)
{
    FILE *f = fopen(path, "rb");
    size_t len = 0, cap = 65536;
    char *text;
    if (!f) {
        snprintf(err, errlen, "%s: cannot open configuration: %s", path, strerror(errno));
        return CW_ERR_USAGE;
    }
    text = apr_palloc(pool, cap);
    for (;;) {
        size_t n = fread(text + len, 1, cap - len, f);
        len += n;
        if (len < cap)
            break;
        if (cap >= (16u << 20)) {
            fclose(f);
            snprintf(err, errlen, "%s: expected a configuration of at most 16 MiB", path);
            return CW_ERR_USAGE;
        }
        char *bigger = apr_palloc(pool, cap * 2);
        memcpy(bigger, text, len);
        text = bigger;
        cap *= 2;
    }
    if (ferror(f)) {
        fclose(f);
        snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
        return CW_ERR_USAGE;
    }
    fclose(f);
    *out = text;
    *outlen = len;
    return CW_OK;
}

cw_status_t cw_config_load(apr_pool_t *pool, const char *path, cw_config_t **out, char *err,
                           size_t errlen)
{
    char *text;
    size_t len;
    cw_status_t st;
    if (!path)
        return cw_config_parse(pool, BUILTIN_NAME, cw_default_config, cw_default_config_len, out, err, errlen);
    if ((st = read_text(pool, path, &text, &len, err, errlen)) != CW_OK)
        return st;
    return cw_config_parse(pool, path, text, len, out, err, errlen);
}

/* ---- layers ----
 *
 * Later files override earlier ones on the JSON trees, before validation: objects are merged
 * key by key, arrays and other values replaced, and `rules` matched by id (a rule whose id an
 * earlier layer has is merged into it key by key; a new id is appended). Every key path of the
 * merged tree remembers the file that set it last (a value) or touched it last (an object), so
 * that a message names the file its value came from, and check-config --origin can say it. */

static void set_origin(ctx_t *c, const char *path, const char *file)
{
    /* a copy: a top-level path (join) is the key string of a layer's tree, deleted after the merge */
    apr_hash_set(c->origins, apr_pstrdup(c->pool, path), APR_HASH_KEY_STRING, file);
}

/* Record `file` for path and everything under it (rules by their index in the merged list). */
static void set_origin_all(ctx_t *c, const cJSON *v, const char *path, const char *file)
{
    const cJSON *it;
    int i = 0;
    set_origin(c, path, file);
    if (cJSON_IsObject(v)) {
        cJSON_ArrayForEach(it, v)
            set_origin_all(c, it, join(c, path, it->string), file);
    } else if (cJSON_IsArray(v) && strcmp(path, "rules") == 0) {
        cJSON_ArrayForEach(it, v)
            set_origin_all(c, it, apr_psprintf(c->pool, "rules[%d]", i++), file);
    }
}

/* The file a key path came from: the path itself, else its closest enclosing object or array
 * ("rules[2].window" -> "rules[2]" -> "rules"), else the last layer. One file: that file. */
static const char *file_of(ctx_t *c, const char *path)
{
    char *p;
    if (!c->origins)
        return c->file;
    p = apr_pstrdup(c->pool, path);
    for (;;) {
        const char *f = apr_hash_get(c->origins, p, APR_HASH_KEY_STRING);
        char *cut = strrchr(p, '.'), *bracket = strrchr(p, '[');
        if (f)
            return f;
        if (bracket && (!cut || bracket > cut))
            cut = bracket;
        if (!cut)
            return c->file;
        *cut = '\0';
    }
}

static cw_status_t merge_object(ctx_t *c, cJSON *base, const cJSON *over, const char *path,
                                const char *file);

static const char *rule_id(const cJSON *rule)
{
    const cJSON *id = cJSON_IsObject(rule) ? cJSON_GetObjectItemCaseSensitive(rule, "id") : NULL;
    return cJSON_IsString(id) ? id->valuestring : NULL;
}

/* rules: a rule whose id is already there is merged into it; any other is appended. */
static cw_status_t merge_rules(ctx_t *c, cJSON *base, const cJSON *over, const char *file)
{
    const cJSON *r;
    cw_status_t st;
    set_origin(c, "rules", file);
    cJSON_ArrayForEach(r, over)
    {
        const char *id = rule_id(r);
        cJSON *b;
        int k = 0;
        for (b = base->child; b && !(id && rule_id(b) && strcmp(rule_id(b), id) == 0); b = b->next)
            k++;
        if (b) {
            if ((st = merge_object(c, b, r, apr_psprintf(c->pool, "rules[%d]", k), file)) != CW_OK)
                return st;
            continue;
        }
        set_origin_all(c, r, apr_psprintf(c->pool, "rules[%d]", cJSON_GetArraySize(base)), file);
        cJSON_AddItemToArray(base, cJSON_Duplicate(r, true));
    }
    return CW_OK;
}

static cw_status_t merge_object(ctx_t *c, cJSON *base, const cJSON *over, const char *path,
                                const char *file)
{
    const cJSON *it;
    cw_status_t st;
    set_origin(c, path, file);
    cJSON_ArrayForEach(it, over)
    {
        const char *p = join(c, path, it->string);
        cJSON *b = cJSON_GetObjectItemCaseSensitive(base, it->string);
        for (const cJSON *o = over->child; o != it; o = o->next) {
            if (strcmp(o->string, it->string) == 0)
                return fail(c, p, "duplicate key");
        }
        if (b && cJSON_IsObject(b) && cJSON_IsObject(it))
            st = merge_object(c, b, it, p, file);
        else if (b && cJSON_IsArray(b) && cJSON_IsArray(it) && strcmp(p, "rules") == 0)
            st = merge_rules(c, b, it, file);
        else {
            set_origin_all(c, it, p, file);
            if (b)
                cJSON_ReplaceItemViaPointer(base, b, cJSON_Duplicate(it, true));
            else
                cJSON_AddItemToObject(base, it->string, cJSON_Duplicate(it, true));
            st = CW_OK;
        }
        if (st != CW_OK)
            return st;
    }
    return CW_OK;
}

/* Read, parse and merge the layers into *root. */
static cw_status_t merge_layers(ctx_t *c, const char *const *paths, int n, cJSON **root)
{
    cw_status_t st = CW_OK;
    *root = NULL;
    for (int i = 0; i < n && st == CW_OK; i++) {
        char *text;
        size_t len;
        cJSON *layer;
        c->file = paths[i] ? paths[i] : BUILTIN_NAME; /* NULL: the built-in configuration */
        if (paths[i]) {
            if ((st = read_text(c->pool, paths[i], &text, &len, c->err, c->errlen)) != CW_OK)
                break;
        } else {
            text = (char *)cw_default_config;
            len = cw_default_config_len;
        }
        if ((st = parse_json(c->file, text, len, &layer, c->err, c->errlen)) != CW_OK)
            break;
        if (!cJSON_IsObject(layer)) {
            st = fail(c, "(top level)", "expected an object, got %s", got(c, layer));
            cJSON_Delete(layer);
        } else if (!*root) {
            *root = layer;
            set_origin_all(c, layer, "", c->file);
        } else {
            st = merge_object(c, *root, layer, "", c->file);
            cJSON_Delete(layer);
        }
    }
    if (st != CW_OK) {
        cJSON_Delete(*root);
        *root = NULL;
    }
    return st;
}

/* Every leaf key path of the merged tree with the file that set it. */
static void collect_origins(ctx_t *c, const cJSON *v, const char *path)
{
    const cJSON *it;
    int i = 0;
    bool rules = cJSON_IsArray(v) && strcmp(path, "rules") == 0;
    if (!cJSON_IsObject(v) && !rules) {
        cw_origin_t *o = apr_array_push(c->cfg->origins);
        o->path = path;
        o->file = file_of(c, path);
        return;
    }
    cJSON_ArrayForEach(it, v)
    {
        const char *p = rules ? apr_psprintf(c->pool, "rules[%d]", i++) : join(c, path, it->string);
        collect_origins(c, it, p);
    }
}

cw_status_t cw_config_load_layers(apr_pool_t *pool, const char *const *paths, int n, cw_config_t **out,
                                  char *err, size_t errlen)
{
    ctx_t c = {pool, BUILTIN_NAME, NULL, err, errlen, apr_hash_make(pool), NULL};
    cJSON *root = NULL;
    cw_status_t st;
    if (n == 0) {
        st = parse_json(BUILTIN_NAME, cw_default_config, cw_default_config_len, &root, err, errlen);
        if (st == CW_OK)
            set_origin_all(&c, root, "", BUILTIN_NAME);
    } else {
        st = merge_layers(&c, paths, n, &root);
    }
    if (st != CW_OK)
        return st;
    if (n == 1)
        c.origins = NULL; /* one file: every message names it, as cw_config_load does */
    st = build(&c, n ? paths[n - 1] : BUILTIN_NAME, root, out);
    if (st == CW_OK) {
        if (!c.origins) {
            c.origins = apr_hash_make(pool);
            set_origin_all(&c, root, "", paths[0]);
        }
        collect_origins(&c, root, "");
    }
    cJSON_Delete(root);
    return st;
}

const cw_strlist_t *cw_config_list(const cw_config_t *cfg, const char *name)
{
    for (int i = 0; i < cfg->lists.n; i++) {
        if (strcmp(cfg->lists.items[i].name, name) == 0)
            return &cfg->lists.items[i].patterns;
    }
    return NULL;
}

bool cw_config_is_secret(const char *key)
{
    static const char *const words[] = {"password", "secret", "pem", "jaas", "token", "credential"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (strcasestr(key, words[i]))
            return true;
    }
    return false;
}

/* ---- printing ---- */

static void print_object(FILE *out, const option_t *table, size_t n, const char *rel,
                         const char *base, const cw_config_t *cfg, const cw_rule_t *rule, int level)
{
    bool first = true;
    fputs("{\n", out);
    for (size_t i = 0; i < n; i++) {
        const option_t *o = &table[i];
        if (!is_child(o->path, rel))
            continue;
        if (rule && table == rule_options && *rel == '\0' &&
            (rule->windows_listed ? (strcmp(o->path, "window") == 0 || strcmp(o->path, "bucket") == 0 ||
                                     strcmp(o->path, "threshold") == 0)
                                  : strcmp(o->path, "windows") == 0))
            continue; /* one form of windows, as given */
        if (rule && table == rule_options && strcmp(o->path, "comment") == 0 && !*rule->comment)
            continue; /* a note is printed only where a layer gave one */
        if (!first)
            fputs(",\n", out);
        first = false;
        indent(out, level + 1);
        print_json_string(out, leaf(o->path));
        fputs(": ", out);
        if (o->type == T_OBJECT) {
            print_object(out, table, n, o->path, base, cfg, rule, level + 1);
        } else if (o->type == T_RULES) {
            fputc('[', out);
            for (int r = 0; r < cfg->n_rules; r++) {
                fputs(r ? ",\n" : "\n", out);
                indent(out, level + 2);
                print_object(out, rule_options, N_RULE_OPTIONS, "", (const char *)&cfg->rules[r], cfg,
                             &cfg->rules[r], level + 2);
            }
            if (cfg->n_rules) {
                fputc('\n', out);
                indent(out, level + 1);
            }
            fputc(']', out);
        } else {
            types[o->type].print(out, o, base + o->offset, level + 1);
        }
    }
    fputc('\n', out);
    indent(out, level);
    fputc('}', out);
}

void cw_config_print(const cw_config_t *cfg, FILE *out)
{
    print_object(out, config_options, N_CONFIG_OPTIONS, "", (const char *)cfg, cfg, NULL, 0);
    fputc('\n', out);
}

/* ---- origins ---- */

/* The origins at or under `path`, or "(default)". */
static void print_origin(FILE *out, const cw_config_t *cfg, const char *path)
{
    size_t n = strlen(path);
    bool any = false;
    for (int i = 0; i < cfg->origins->nelts; i++) {
        const cw_origin_t *o = &APR_ARRAY_IDX(cfg->origins, i, cw_origin_t);
        if (strncmp(o->path, path, n) == 0 && (o->path[n] == '\0' || o->path[n] == '.' || o->path[n] == '[')) {
            fprintf(out, "%s\t%s\n", o->path, o->file);
            any = true;
        }
    }
    if (!any)
        fprintf(out, "%s\t(default)\n", path);
}

static void print_table_origins(FILE *out, const cw_config_t *cfg, const option_t *table, size_t n,
                                const char *prefix)
{
    char path[256];
    for (size_t i = 0; i < n; i++) {
        if (table[i].type == T_OBJECT)
            continue;
        if (table[i].type == T_RULES) {
            for (int r = 0; r < cfg->n_rules; r++) {
                snprintf(path, sizeof path, "rules[%d].", r);
                print_table_origins(out, cfg, rule_options, N_RULE_OPTIONS, path);
            }
            continue;
        }
        snprintf(path, sizeof path, "%s%s", prefix, table[i].path);
        print_origin(out, cfg, path);
    }
}

void cw_config_print_origins(const cw_config_t *cfg, FILE *out)
{
    print_table_origins(out, cfg, config_options, N_CONFIG_OPTIONS, "");
}

/* ---- option reference ---- */

/* s as roff text: backslashes and hyphens escaped, and a line that would start with '.' or '\''
 * (a request to roff, such as the help texts that begin "... and") guarded with \&. */
static void roff_text(FILE *out, const char *s)
{
    for (bool bol = true; *s; bol = *s == '\n', s++) {
        if (bol && (*s == '.' || *s == '\''))
            fputs("\\&", out);
        if (*s == '\\')
            fputs("\\e", out);
        else if (*s == '-')
            fputs("\\-", out);
        else
            fputc(*s, out);
    }
}

static void describe_one(FILE *out, const char *prefix, const option_t *o, bool roff)
{
    char lo[32], hi[32];
    const char *def = o->type == T_OBJECT ? NULL : o->def ? o->def : "(required)";
    char tn[128];
    if (roff) {
        fputs(".TP\n.B ", out);
        roff_text(out, prefix);
        roff_text(out, o->path);
        fputs("\n(", out);
        roff_text(out, type_name(o->type, tn, sizeof tn));
        if (def) {
            fputs("; default ", out);
            roff_text(out, def);
        }
        if (o->type == T_INT || o->type == T_SEVERITY || o->type == T_NUMBER)
            fprintf(out, "; %lld..%lld", (long long)o->min, (long long)o->max);
        if (o->type == T_DURATION)
            fprintf(out, "; %s..%s", cw_duration_format(o->min, lo), cw_duration_format(o->max, hi));
        fputs(")\n", out);
        roff_text(out, o->help);
        fputc('\n', out);
    } else {
        fprintf(out, "%s%s  (%s", prefix, o->path, type_name(o->type, tn, sizeof tn));
        if (def)
            fprintf(out, "; default %s", def);
        if (o->type == T_INT || o->type == T_SEVERITY || o->type == T_NUMBER)
            fprintf(out, "; %lld..%lld", (long long)o->min, (long long)o->max);
        if (o->type == T_DURATION)
            fprintf(out, "; %s..%s", cw_duration_format(o->min, lo), cw_duration_format(o->max, hi));
        fprintf(out, ")\n    %s\n", o->help);
    }
}

void cw_config_describe(FILE *out, bool roff)
{
    for (size_t i = 0; i < N_CONFIG_OPTIONS; i++)
        describe_one(out, "", &config_options[i], roff);
    for (size_t i = 0; i < N_RULE_OPTIONS; i++)
        describe_one(out, "rules[].", &rule_options[i], roff);
}

/* ---- what a running `run` cannot change ---- */

static bool restart_only(const option_t *o)
{
    static const char *const sections[] = {"inputs.", "outputs.", "kafka.", "state."};
    for (size_t i = 0; i < sizeof sections / sizeof *sections; i++)
        if (strncmp(o->path, sections[i], strlen(sections[i])) == 0)
            return o->type != T_OBJECT;
    return false;
}

static size_t value_size(opt_type_t t)
{
    switch (t) {
    case T_STRING: return sizeof(const char *);
    case T_DURATION: return sizeof(cw_time_t);
    case T_INT: return sizeof(int64_t);
    case T_COLUMNS: return sizeof(cw_column_list_t);
    case T_PROPS: return sizeof(cw_kv_list_t);
    default: return 0;
    }
}

static bool same_value(const option_t *o, const char *a, const char *b)
{
    char *ta = NULL, *tb = NULL;
    size_t na = 0, nb = 0;
    FILE *fa, *fb;
    bool same;
    if (o->type == T_PROPS) { /* printing redacts secrets: compare the values themselves */
        const cw_kv_list_t *x = (const void *)a, *y = (const void *)b;
        if (x->n != y->n)
            return false;
        for (int i = 0; i < x->n; i++)
            if (strcmp(x->items[i].key, y->items[i].key) != 0 || strcmp(x->items[i].value, y->items[i].value) != 0)
                return false;
        return true;
    }
    fa = open_memstream(&ta, &na);
    fb = open_memstream(&tb, &nb);
    if (fa)
        types[o->type].print(fa, o, a, 0);
    if (fb)
        types[o->type].print(fb, o, b, 0);
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    same = ta && tb && na == nb && memcmp(ta, tb, na) == 0;
    free(ta);
    free(tb);
    return same;
}

void cw_config_keep_restart_only(cw_config_t *to, const cw_config_t *from, char *changed, size_t n)
{
    size_t used = 0;
    if (n)
        changed[0] = '\0';
    for (size_t i = 0; i < N_CONFIG_OPTIONS; i++) {
        const option_t *o = &config_options[i];
        size_t size = value_size(o->type);
        char *dst = (char *)to + o->offset;
        const char *src = (const char *)from + o->offset;
        if (!restart_only(o) || !size)
            continue;
        if (!same_value(o, dst, src) && used < n) {
            int k = snprintf(changed + used, n - used, "%s%s", used ? ", " : "", o->path);
            used += k > 0 ? (size_t)k : 0;
        }
        memcpy(dst, src, size);
    }
}
