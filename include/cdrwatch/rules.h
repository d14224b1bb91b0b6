/*
 * rules.h — what a rule looks at in a record: its filter, allow-list, key and metric value.
 *
 * Rules see a record through a cw_view_t: the decoded event plus what the engine derives from
 * it (subscribers taken from the statement, the hour of week, and the derived boolean fields
 * history_pull, watchlisted, unbounded_select), computed lazily, at most once per record, and
 * only when a rule asks. No state, no allocation per record here: windows, thresholds and
 * suppression live in engine.c.
 */
#ifndef CDRWATCH_RULES_H
#define CDRWATCH_RULES_H

#include <regex.h>
#include <stdbool.h>
#include <stdint.h>
#include "cdrwatch/config.h"

/* Separator between key fields in the internal key string (never in decoded text). */
#define CW_KEY_SEP '\x1f'

typedef struct cw_view cw_view_t;
struct cw_view {
    const cw_event_t *ev;
    const cw_msisdn_t *subscribers; /* the record's, or taken from its statement */
    int n_subscribers;
    int hour_of_week; /* -1 until cw_view_hour computes it */
    int8_t flag[CW_F_V_END - CW_F_V_HISTORY_PULL]; /* -1 not yet derived, 0 false, 1 true */
    int8_t *memo;   /* per distinct condition (cw_cond_t.memo): -1 unknown, 0, 1; may be NULL */
    int n_memo;
    /* computes a derived boolean field on first use */
    bool (*derive)(cw_view_t *view, cw_field_t f, void *ctx);
    void *ctx;
};

/* Start a view of ev (flags unknown, subscribers = the record's). memo: an array of n_memo
 * bytes owned by the caller (reset here), or NULL. */
void cw_view_init(cw_view_t *view, const cw_event_t *ev,
                  bool (*derive)(cw_view_t *, cw_field_t, void *), void *ctx, int8_t *memo, int n_memo);
/* The record's hour of week (computed on first use). */
int cw_view_hour(cw_view_t *view);
/* A derived boolean field (computed on first use). */
bool cw_view_flag(cw_view_t *view, cw_field_t f);

/* A rule's regex run on text with a bounded cost (engine.regex_window, doc/configuration.md):
 * text up to `window` bytes is matched whole; longer text in windows of `window` bytes that
 * start every window/2 bytes, so any match of up to window/2 bytes is found, in at most
 * 2 * strlen(text) / window + 1 calls of regexec on at most `window` bytes each (glibc's cost
 * grows with the square of the length it is given). `^` matches only at the text's start and
 * `$` only at its end; the offsets in m are the text's. 0 on a match, else REG_NOMATCH.
 * window is at most CW_REGEX_WINDOW_MAX. Not thread-safe (one scratch buffer). */
#define CW_REGEX_WINDOW_MAX CW_STATEMENT_MAX
int cw_regex_match(const void *re, const char *text, size_t window, size_t nmatch, regmatch_t *m);

/* What cw_regex_match has given regexec since the process started: calls, bytes in all, and
 * the most bytes in one call. */
typedef struct {
    uint64_t calls, bytes, longest;
} cw_regex_counts_t;
void cw_regex_counts(cw_regex_counts_t *out);

/* Do all conditions of the filter hold? */
bool cw_filter_matches(const cw_filter_t *filter, cw_view_t *view);
/* Is the record allowed by one of the rule's allow-list entries (and so not counted)? */
bool cw_rule_allowed(const cw_rule_t *rule, cw_view_t *view);
/* Does the record count for the rule: its stream, status, filter, and no allow-list entry? */
bool cw_rule_matches(const cw_rule_t *rule, cw_view_t *view);

/* Kind silence with silence.while: the record is one the key must keep sending while the
 * filter's records have stopped (stream, failed status and allow-list as cw_rule_matches). */
bool cw_rule_matches_while(const cw_rule_t *rule, cw_view_t *view);
/* Write the key (key fields joined by CW_KEY_SEP) into buf; returns its length. */
size_t cw_rule_key(const cw_rule_t *rule, const cw_event_t *ev, char *buf, size_t buflen);
/* Longest key this rule can produce (sum of its fields' size limits plus separators). */
size_t cw_rule_key_max(const cw_rule_t *rule);
/* The metric's name in alerts (cdrwatch.metric.name): "count", "sum(rows)",
 * "distinct(subscribers)", "first_seen(client_host)", "sequence", "silence_minutes". The names
 * come from the option value tables of config.h (cw_rule_kinds, cw_metric_kinds). */
const char *cw_rule_metric_name(apr_pool_t *pool, const cw_rule_t *rule);
/* The metric's contribution of this record (1 for count, the field for sum). */
int64_t cw_rule_value(const cw_rule_t *rule, const cw_event_t *ev);

/* A 64-bit fingerprint of what shapes the rule's per-key state: kind, stream, filter (and
 * trigger, extract), allow-list, include_failed, key, metric and its field, windows and buckets,
 * whether it has a baseline and its alpha, whether it keeps adaptive peaks and the fields of
 * adaptive.seen, lookups.quantile (a lookup profile or not, and what its windows count), the
 * first_seen field. Not its id, name, thresholds, adaptive.factor,
 * baseline factors, learning periods, severity, suppression, silence gap, max_keys or
 * techniques: changing those keeps the state (state.h). */
uint64_t cw_rule_fingerprint(const cw_rule_t *rule);

#endif
