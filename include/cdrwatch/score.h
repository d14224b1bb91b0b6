/*
 * score.h — scores alerts against labelled theft scenarios (`cdrwatch score`).
 *
 * A label row says: scenario S was played by principal P (or "*", anyone) from start to end
 * (labels.csv of datasets/, doc/formats.md). Several rows may share a scenario name (a DBA
 * creates an account, then the account reads: one row per principal).
 *
 * Matching, the whole definition:
 *   - an alert matches a row when its user.name equals the row's principal (exactly; any alert,
 *     with or without user.name, when the principal is "*") and its @timestamp lies in
 *     [start, end + grace]. The grace period (default 1 h, CW_SCORE_GRACE) covers rules that
 *     alert when a window closes or when the next record arrives after the episode;
 *   - a scenario is caught when at least one alert matches one of its rows; its delay runs from
 *     the earliest start of its rows to the earliest matching alert; its alert count (storms)
 *     counts each matching alert once, even when it matches two of its rows;
 *   - an alert that matches no row is a false positive when its @timestamp is at or after the
 *     end of the learning period, and is counted apart, as a learning-period alert, before it
 *     (no learning period: every unmatched alert is a false positive). An alert may match rows
 *     of two scenarios whose windows overlap; it counts for both.
 *
 * Labels must all be added before the first alert (alerts are matched as they come, so memory
 * does not grow with the number of alerts: it is per scenario, per rule and per false-positive
 * (rule, user) pair). Everything lives in the pool given to cw_score_create.
 */
#ifndef CDRWATCH_SCORE_H
#define CDRWATCH_SCORE_H

#include <stdbool.h>
#include <stdio.h>
#include <apr_pools.h>
#include "cdrwatch/common.h"

#define CW_SCORE_GRACE CW_MS_PER_HOUR /* default grace period after a scenario's end */
#define CW_SCORE_NEVER INT64_MIN      /* no time: no learning period; a scenario not caught */

typedef struct cw_score cw_score_t;

/* One scenario's result. Strings live in the score's pool. */
typedef struct {
    const char *name;
    const char *principals; /* the distinct principals of its rows, ", "-separated, in label order */
    cw_time_t start, end;   /* earliest start and latest end of its rows */
    uint64_t alerts;        /* alerts matching any of its rows */
    cw_time_t first_alert;  /* CW_SCORE_NEVER: missed */
    const char *rules;      /* distinct rule ids of the matching alerts, ", "-separated, in order
                             * of their first match ("" if none) */
    const char *const *principal_list; /* the same two lists as arrays */
    size_t n_principals;
    const char *const *rule_list;
    size_t n_rules;
} cw_score_scenario_t;

/* False positives of one (rule, user) pair; user "" for alerts without user.name. */
typedef struct {
    const char *rule, *user;
    uint64_t alerts;
    cw_time_t first, last;
} cw_score_fp_t;

typedef struct {
    size_t scenarios, caught, missed;
    uint64_t alerts;          /* every alert read */
    uint64_t matched;         /* alerts matching at least one row */
    uint64_t false_positives; /* unmatched, at or after the learning period */
    uint64_t learning;        /* unmatched, before the end of the learning period */
} cw_score_totals_t;

typedef struct {
    const cw_score_scenario_t *scenarios; /* in the order of their first label row */
    size_t n_scenarios;
    const cw_score_fp_t *false_positives; /* by first alert time, then rule, then user */
    size_t n_false_positives;
    cw_score_totals_t totals;
    cw_time_t grace, learning_until;
} cw_score_result_t;

typedef enum { CW_SCORE_TEXT, CW_SCORE_MARKDOWN, CW_SCORE_JSON } cw_score_format_t;

/* grace >= 0 in ms; learning_until: CW_SCORE_NEVER for no learning period. */
cw_status_t cw_score_create(apr_pool_t *pool, cw_time_t grace, cw_time_t learning_until,
                            cw_score_t **out);

/* Add a label row. CW_ERR_USAGE with a message when a name is empty, end < start, or alerts
 * have already been added. */
cw_status_t cw_score_add_label(cw_score_t *s, const char *scenario, const char *principal,
                               cw_time_t start, cw_time_t end, char *err, size_t errlen);

/* Match one alert (user NULL or "" when the alert has no user.name). */
void cw_score_add_alert(cw_score_t *s, cw_time_t ts, const char *rule, const char *user);

/* Read labels.csv: RFC 4180 CSV with a header naming (in any order, case-insensitively)
 * scenario, principal, start and end; other columns (description) are ignored. A file that
 * cannot be read, a missing column, a row with another number of columns, an empty name, a
 * time that does not parse or an end before its start is CW_ERR_USAGE with "FILE:LINE: what". */
cw_status_t cw_score_read_labels(cw_score_t *s, const char *path, char *err, size_t errlen);

/* Read alerts as JSON Lines, as `cdrwatch replay` writes them ("-": standard input): each
 * non-blank line an object with a string "@timestamp" and a string rule.id, and optionally a
 * string user.name. Anything else is CW_ERR_USAGE with "FILE:LINE: what". */
cw_status_t cw_score_read_alerts(cw_score_t *s, const char *path, char *err, size_t errlen);

/* The results so far (valid until the next add or read). */
void cw_score_result(cw_score_t *s, cw_score_result_t *out);

/* Whether the result passes --check: no scenario missed and no false positive. */
bool cw_score_passed(const cw_score_result_t *r);

/* Print the result as an aligned text table, a Markdown table or one JSON object. Returns
 * CW_ERR_IO when writing fails. */
cw_status_t cw_score_print(const cw_score_result_t *r, cw_score_format_t format, FILE *out);

/* A delay as "45s", "41m17s", "2h05m10s" or "1d02h05m" (whole seconds, rounded down). */
char *cw_score_format_delay(cw_time_t ms, char buf[32]);

#endif
