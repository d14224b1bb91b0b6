/*
 * alert.h — the alert record and its one encoder (doc/formats.md §2, ECS-shaped JSON on one line), used
 * by replay and run alike.
 *
 * event.id is a deterministic function of (rule id, key, window start): the same input gives
 * the same ids. Nothing outside `cdrwatch.observer` depends on the machine or the wall clock.
 */
#ifndef CDRWATCH_ALERT_H
#define CDRWATCH_ALERT_H

#include "cdrwatch/config.h"

typedef struct {
    const cw_rule_t *rule;
    const cw_event_t *ev;        /* the record that raised the alert */
    const char *key;             /* key fields joined by CW_KEY_SEP */
    size_t keylen;
    cw_time_t window_start;      /* [start, end) in event time */
    cw_time_t window_end;
    int64_t value;               /* metric over the window */
    int64_t threshold;
    uint64_t records;            /* records counted in the window */
    cw_pos_t first;              /* oldest record still in the window */
    char id[33];                 /* filled by cw_alert_make_id */
} cw_alert_t;

/* Who emitted the alert; the only machine- and clock-dependent part of an alert. */
typedef struct {
    const char *host;
    const char *version;
    cw_time_t emitted_at; /* wall clock, ms */
} cw_observer_t;

void cw_alert_make_id(cw_alert_t *a);
/* Encode as one line of JSON plus '\n'. Returns the length written (always < buflen: long
 * values are truncated with "…"), buflen must be at least CW_ALERT_MAX. */
#define CW_ALERT_MAX 8192
size_t cw_alert_encode(const cw_alert_t *a, const cw_observer_t *obs, char *buf, size_t buflen);

/* Append s to buf as a JSON string (quoted, escaped), writing at most max bytes of s (cut on a
 * UTF-8 boundary, "…" appended when cut). Returns the new length or buflen if it did not fit. */
size_t cw_json_string(char *buf, size_t pos, size_t buflen, const char *s, size_t len, size_t max);

#endif
