/*
 * engine.h — event-time clock, dispatch of each record to the rules, per-(rule, key) state,
 * thresholds, baselines, suppression and re-arming, and the CDR reference.
 *
 * The clock is the largest event time seen minus the allowed lateness; a record older than the
 * clock is refused as late (CW_DEC_LATE) and goes to the dead-letter path. CDRs feed the
 * reference (records per subscriber, identity links) before the rules see them. Per-key state
 * lives in bounded key tables, one or two per rule. The engine is single-threaded and allocates
 * nothing per record; an alert is handed to the sink as a stack cw_alert_t, valid during the
 * call.
 */
#ifndef CDRWATCH_ENGINE_H
#define CDRWATCH_ENGINE_H

#include "cdrwatch/alert.h"
#include "cdrwatch/metrics.h"
#include "cdrwatch/reference.h"
#include <stdbool.h>

typedef struct cw_engine cw_engine_t;
typedef void (*cw_alert_sink_fn)(void *ctx, const cw_alert_t *alert);

cw_status_t cw_engine_create(apr_pool_t *pool, const cw_config_t *cfg, cw_alert_sink_fn sink,
                             void *sink_ctx, cw_engine_t **out, char *err, size_t errlen);
/* An observation of a threshold rule: each time a record it counts is added to window w of
 * key (key fields joined by CW_KEY_SEP, not NUL-terminated), the window's value after it and the
 * window's static threshold (with a baseline: the floor). Tools that study a configuration
 * (`cdrwatch tune`) read the metric's distribution through it; detection never depends on it. */
typedef struct {
    const cw_rule_t *rule;
    int rule_index; /* cw_engine_rule(e, rule_index) == rule */
    int window;     /* index in rule->windows */
    const char *key;
    size_t keylen;
    const cw_event_t *ev; /* the record just counted */
    double value;
    int64_t threshold;
} cw_observation_t;
typedef void (*cw_observer_fn)(void *ctx, const cw_observation_t *obs);
/* Call fn (NULL: none, the default) at each evaluation of a threshold rule. */
void cw_engine_set_observer(cw_engine_t *e, cw_observer_fn fn, void *ctx);

/* Register a source (file or topic/partition) once; records carry its id in source_index, and
 * evidence positions are reported against it. */
uint32_t cw_engine_source_id(cw_engine_t *e, const char *name, int32_t partition);
/* Feed one decoded record. Returns CW_DEC_OK, or CW_DEC_LATE when the record is older than the
 * clock (the caller dead-letters it; the engine counts it). */
cw_reason_t cw_engine_process(cw_engine_t *e, const cw_event_t *ev);
/* Current clock (ms), INT64_MIN before the first record. */
cw_time_t cw_engine_clock(const cw_engine_t *e);
/* The engine's own counters (records, alerts, late records, evictions...), read-only: counts of
 * what a reader refused before the engine saw it belong to the reader (cw_replay_add_counts). */
const cw_metrics_t *cw_engine_metrics(cw_engine_t *e);
cw_reference_t *cw_engine_reference(cw_engine_t *e);
/* Keys tracked and bytes held by the rules' state (for memory measurements). */
size_t cw_engine_keys(const cw_engine_t *e);
size_t cw_engine_memory(const cw_engine_t *e);

/* ---- snapshot support: each piece of the engine's state in the format of state.h ----
 * Sources are saved as the engine numbers them; a loader maps the snapshot's source ids to
 * the engine's (src_map, n_src entries). The position of a source is the offset of the last
 * record the engine took from it. */
struct cw_wbuf;
struct cw_rbuf;
/* Which keys of a rule a snapshot keeps (NULL: all); see state.h. src: the source id of the
 * record that last touched the key (CW_STATE_NO_SOURCE: none since it was restored untagged). */
#define CW_STATE_NO_SOURCE UINT32_MAX
typedef bool (*cw_state_select_fn)(void *ctx, const cw_rule_t *rule, const char *key, size_t len, uint32_t src);
int cw_engine_rule_count(const cw_engine_t *e);
const cw_rule_t *cw_engine_rule(const cw_engine_t *e, int i);
int cw_engine_source_count(const cw_engine_t *e);
cw_pos_t cw_engine_source(const cw_engine_t *e, int i);
void cw_engine_set_position(cw_engine_t *e, uint32_t src, int64_t offset);
void cw_engine_save_clock(const cw_engine_t *e, struct cw_wbuf *w);
/* merge: into an engine that may hold other parts already (the oldest clock wins: a part older than the others keeps its records from being late). */
void cw_engine_load_clock(cw_engine_t *e, struct cw_rbuf *r, bool merge);
/* Tag the keys restored from now on as last touched by source src (CW_STATE_NO_SOURCE: none). */
void cw_engine_set_tag(cw_engine_t *e, uint32_t src);
/* The evidence ring, oldest first; rule bits are engine rule indexes (rule_map: snapshot index
 * -> engine index or -1, n_map entries). */
/* select (NULL: all) is asked about each record with rule and key NULL and the input it came
 * from. merge: the records join those the engine holds, in event-time order, the newest kept. */
void cw_engine_save_ring(const cw_engine_t *e, struct cw_wbuf *w, cw_state_select_fn select, void *ctx);
bool cw_engine_load_ring(cw_engine_t *e, struct cw_rbuf *r, const int *rule_map, int n_map, bool merge);
/* One rule's per-key state (keys least recently updated first). */
void cw_engine_save_rule(cw_engine_t *e, int i, struct cw_wbuf *w, cw_state_select_fn select, void *ctx);
/* merge: a key already present takes the snapshot's value; silence candidates are appended. */
bool cw_engine_load_rule(cw_engine_t *e, int i, struct cw_rbuf *r, const uint32_t *src_map, uint32_t n_src,
                         bool merge);

#endif
