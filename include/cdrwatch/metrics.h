/*
 * metrics.h — the engine's own counters: records in, alerts out, dead letters by reason, late
 * records, evictions. Plain integers updated on the hot path; printed as a summary at the end of
 * replay (and periodically by `run`).
 */
#ifndef CDRWATCH_METRICS_H
#define CDRWATCH_METRICS_H

#include <stdio.h>
#include "cdrwatch/decode.h"

typedef struct {
    uint64_t records[CW_STREAM_COUNT]; /* accepted by the engine */
    uint64_t dead[CW_DEC_REASON_COUNT]; /* dead letters by reason (late included) */
    uint64_t skipped;                   /* lines that are not records (blank lines) */
    uint64_t alerts;
    uint64_t suppressed;                /* crossings inside a rule's suppression time */
    uint64_t evictions;                 /* keys evicted from full key tables */
    uint64_t spared;                    /* keys an eviction passed over: their windows held more */
    uint64_t too_old_for_window;        /* accepted, but older than one rule's window */
    uint64_t damaged_records;           /* accepted with a repaired field (cw_event_t.damage) */
    uint64_t damaged[CW_DAMAGE_KINDS];  /* ... of them, by kind of damage */
} cw_metrics_t;

uint64_t cw_metrics_dead_total(const cw_metrics_t *m);
/* One line: "records: cdr=… audit=…; alerts: …; dead letters: … (missing_field=…, …); …",
 * "evicted keys: … (hot keys spared: …)" when an eviction passed over a key whose window held
 * more, and "; damaged records: … (bad_utf8=…, …)" when some were repaired. */
void cw_metrics_print(const cw_metrics_t *m, FILE *out);
/* The same counters as one JSON object into buf (NUL-terminated): {"records":{"cdr":…,"audit":…},
 * "alerts":…,"suppressed_crossings":…,"dead_letters":{"total":…,"<reason>":…},"skipped_lines":…,
 * "evicted_keys":…,"hot_keys_spared":…,"too_old_for_window":…,"damaged_records":{"total":…,
 * "<kind>":…}}, reasons and kinds only when non-zero. Returns the length, or 0 if buflen (at
 * least 1024 is enough) was too small. */
size_t cw_metrics_json(const cw_metrics_t *m, char *buf, size_t buflen);

#endif
