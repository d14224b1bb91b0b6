/*
 * tune.h — what `cdrwatch tune` learns from a replay of history, and what it proposes.
 *
 * History is assumed mostly benign (no labels): every alert a replay raises is a candidate false
 * positive. The engine's observer (cw_engine_set_observer) gives, for each threshold rule, each
 * key's metric at each record it counts; the alert sink gives which keys alerted, in which
 * window. From that, per rule:
 *   - a threshold rule: for each window, the alerting keys sorted by their highest value; the
 *     proposal raises the threshold to `margin` times the highest value of the alerting keys
 *     (rounded up to two significant digits), unless that is more than CW_TUNE_MAX_RAISE times
 *     the current threshold: then the few keys (at most CW_TUNE_ALLOW_MAX) that alone force the
 *     raise get an allow-list entry instead, and the threshold rises only for the others;
 *   - any other rule (first_seen, sequence, silence): an allow-list entry for each alerting key
 *     (at most CW_TUNE_OTHER_ALLOW_MAX, most alerts first).
 * An allow-list entry names the key's principal and, when few, the client hosts and programs the
 * rule counted for it: the same account from another host or program still counts.
 *
 * Memory: per (rule, key) a fixed record with, per window, a series of CW_TUNE_SLOTS maxima over
 * time (the slot width doubles whenever the replay outgrows the slots), in the command's pool.
 * `tune` is a one-shot batch tool: its memory grows with the number of distinct keys, never with
 * the number of records, and nothing is allocated per record once a key is known.
 */
#ifndef CDRWATCH_TUNE_H
#define CDRWATCH_TUNE_H

#include <apr_hash.h>
#include "cdrwatch/engine.h"

#define CW_TUNE_SLOTS 168           /* points of a key's series (a week of hours at first) */
#define CW_TUNE_SET_MAX 4           /* client hosts / programs remembered per key */
#define CW_TUNE_ALLOW_MAX 3         /* keys a threshold proposal may allow-list */
#define CW_TUNE_OTHER_ALLOW_MAX 10  /* keys allow-listed for a rule of another kind */
/* A bigger raise of a threshold allow-lists the keys that force it instead: a static floor
 * guards every account, new and dormant ones first, and raising it far for one batch job would
 * blind it for all (the allow-list entry is pinned to that job's hosts and programs). */
#define CW_TUNE_MAX_RAISE 1.5
#define CW_TUNE_DEFAULT_MARGIN 1.25 /* proposed threshold / highest benign value */

typedef struct {
    const char *key;   /* key fields joined by CW_KEY_SEP */
    size_t keylen;
    const char *label; /* printable: the fields joined by ", " ("(all)" for an empty key) */
    double max[CW_WINDOWS_MAX];      /* highest value observed, per window (-1: none) */
    cw_time_t max_at[CW_WINDOWS_MAX];
    float *series[CW_WINDOWS_MAX];   /* CW_TUNE_SLOTS maxima, NAN where nothing was observed */
    uint64_t alerts, alerts_w[CW_WINDOWS_MAX], alerts_after;
    const char *hosts[CW_TUNE_SET_MAX], *apps[CW_TUNE_SET_MAX];
    int n_hosts, n_apps;
    bool hosts_any, apps_any; /* too many, or a record without one: the entry names none */
    bool allow;               /* proposed: an allow-list entry */
} cw_tune_key_t;

typedef struct {
    const cw_rule_t *rule;
    apr_hash_t *keys; /* key bytes -> cw_tune_key_t * */
    uint64_t alerts_before, alerts_after;
    int64_t proposed[CW_WINDOWS_MAX]; /* threshold rules: equal to the current one if unchanged */
    double need_max[CW_WINDOWS_MAX];  /* highest value of the alerting keys not allow-listed */
    bool threshold_changed, large_raise;
    int n_allow;
    const char *evidence; /* the rule's comment in the overlay; NULL: no proposal */
} cw_tune_rule_t;

typedef struct {
    apr_pool_t *pool;
    const cw_config_t *cfg;
    cw_tune_rule_t *rules; /* one per rule of cfg, same order */
    int n_rules;
    apr_hash_t *by_id;     /* rule id -> cw_tune_rule_t * */
    double margin;
    cw_time_t first_ts, last_ts; /* event time of the records replayed (INT64_MIN: none) */
    cw_time_t t0, slot_ms;       /* series: slot i covers [t0 + i*slot_ms, t0 + (i+1)*slot_ms) */
    bool after;                  /* alerts now count as "after the proposals" */
    uint64_t records;
} cw_tune_t;

cw_tune_t *cw_tune_create(apr_pool_t *pool, const cw_config_t *cfg, double margin);
/* The engine observer (ctx: the cw_tune_t). */
void cw_tune_observe(void *ctx, const cw_observation_t *o);
/* A record replayed (its event time bounds the period the report shows). */
void cw_tune_record(cw_tune_t *t, cw_time_t ts);
/* An alert of the replay: before the proposals, or after them once t->after is set (rules are
 * matched by id, the configuration of the second replay being another one). */
void cw_tune_alert(cw_tune_t *t, const cw_alert_t *a);
/* Decide the proposals (after the first replay). */
void cw_tune_propose(cw_tune_t *t);
/* The value of part k of a key (k-th key field), into buf. */
const char *cw_tune_key_part(const cw_tune_key_t *k, int part, char *buf, size_t buflen);
/* Keys of a rule sorted: by alerts, then highest value over the threshold (most first). */
cw_tune_key_t **cw_tune_sorted_keys(cw_tune_t *t, const cw_tune_rule_t *tr, int *n);
/* The proposals as a configuration layer (JSON), each with its evidence in "comment". */
cw_status_t cw_tune_write_overlay(cw_tune_t *t, const char *path, char *err, size_t errlen);
/* One self-contained HTML page (tune_report.c). */
cw_status_t cw_tune_write_report(cw_tune_t *t, const char *path, char *err, size_t errlen);

#endif
