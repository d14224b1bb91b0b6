/*
 * alert.h — the alert record and its one encoder (doc/formats.md §2: JSON on one line, shaped
 * after ECS or, with outputs.format "ocsf", an OCSF Detection Finding, §2.1), used by replay and
 * run alike.
 *
 * event.id (OCSF: finding_info.uid) is a deterministic function of (rule id, key, window start):
 * the same input gives the same ids. Nothing outside `cdrwatch.observer` depends on the machine
 * or the wall clock.
 */
#ifndef CDRWATCH_ALERT_H
#define CDRWATCH_ALERT_H

#include "cdrwatch/config.h"

#define CW_EVIDENCE_SAMPLES 3
#define CW_EVIDENCE_SUBSCRIBERS 8

typedef struct {
    const cw_rule_t *rule;
    const cw_event_t *ev;        /* the record that raised the alert; NULL (silence) if none */
    cw_time_t at;                /* @timestamp: the record's event time, or the engine clock */
    const char *key;             /* key fields joined by CW_KEY_SEP */
    size_t keylen;
    const char *principal;       /* user.name, when the alert is about a principal; else NULL */
    int severity;                /* effective: the rule's, raised by a host class */
    cw_time_t window_start;      /* [start, end) in event time */
    cw_time_t window_end;
    const char *metric;          /* "sum(rows)", "count", "distinct(subscribers)", "first_seen(client_host)" */
    const char *window_name;     /* "1h", or NULL when the rule has no window */
    double value;                /* metric over the window */
    double threshold;            /* what it crossed (with a baseline: the effective threshold) */
    bool has_baseline;
    double baseline_mean, baseline_sd;
    const char *baseline_level;  /* hour_of_week, hour_of_day, overall */
    int64_t floor;               /* the static floor, with a baseline */
    /* cdrwatch.detection (threshold rules): which test fired — "static" (the floor alone: no
     * profile of the key was used), "profile" (the key's own profile alone: a floor of 0) or
     * "both" (the floor, and the key's own profile did not explain the value) */
    const char *test;
    double profile;              /* the own-profile figure the value exceeded; < 0: none */
    double peak;                 /* adaptive peaks: the key's own highest value; < 0: none */
    bool has_lookups;            /* lookups: the window's lookups judged, the key's learned rate
                                  * of lookups above its cut, and the binomial tail of the count */
    uint64_t lookups_judged;
    double lookups_rate, lookups_p_value;
    const cw_field_t *new_fields; /* adaptive seen: the fields whose values were new */
    int n_new_fields;
    uint64_t records;            /* records counted in the window */
    cw_pos_t first;              /* oldest record still in the window */
    cw_pos_t last;               /* the record that raised it, or the last one seen (silence) */
    const char *detail_name;     /* e.g. "client_host" (first_seen), "account" (sequence) */
    const char *detail_value;
    const char *host_class;      /* class of the client host, when it has one */
    const char *objects[CW_EVIDENCE_SAMPLES];
    int n_objects;
    const char *statements[CW_EVIDENCE_SAMPLES];
    int n_statements;
    const char *subscribers[CW_EVIDENCE_SUBSCRIBERS];
    int n_subscribers;
    char id[33];                 /* filled by cw_alert_make_id */
} cw_alert_t;

/* Who emitted the alert (the only machine- and clock-dependent part of an alert), and in which
 * shape: outputs.format. */
typedef struct {
    const char *host;
    const char *version;
    cw_time_t emitted_at; /* wall clock, ms */
    cw_alert_format_t format; /* CW_FORMAT_ECS (0) or CW_FORMAT_OCSF */
} cw_observer_t;

void cw_alert_make_id(cw_alert_t *a);
/* Encode as one line of JSON plus '\n', in obs->format (ECS without obs). Returns the length written (always < buflen: long
 * values are truncated with "…"), buflen must be at least CW_ALERT_MAX. */
#define CW_ALERT_MAX 65536 /* the worst case of every bounded piece, escaped, in either format */
size_t cw_alert_encode(const cw_alert_t *a, const cw_observer_t *obs, char *buf, size_t buflen);

/* Append s to buf as a JSON string (quoted, escaped), writing at most max bytes of s (cut on a
 * UTF-8 boundary, "…" appended when cut). Returns the new length or buflen if it did not fit. */
size_t cw_json_string(char *buf, size_t pos, size_t buflen, const char *s, size_t len, size_t max);

#endif
