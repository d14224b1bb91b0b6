/*
 * engine.c — the event-time engine: clock, rule dispatch, windows, thresholds, suppression.
 *
 * Per (rule, key) the engine keeps a window (window.h) and an alert state:
 *   armed    — the next crossing of the threshold raises an alert;
 *   fired    — an alert was raised (or a crossing fell inside the suppression time); the key
 *              re-arms when its window value falls back below the threshold.
 * An alert is raised when an armed key's window value reaches the threshold and the event time
 * is past `suppressed_until` (the last alert's time plus the rule's `suppress`). So one incident
 * gives one alert, and a new incident after the value went down gives a new one.
 *
 * Bounds: one key table per rule with rule.max_keys entries; evictions are counted.
 */
#include <limits.h>
#include <string.h>
#include <stdio.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include "cdrwatch/engine.h"
#include "cdrwatch/rules.h"
#include "cdrwatch/window.h"

typedef struct {
    cw_time_t suppressed_until; /* event time before which no alert is raised */
    bool fired;                 /* false = armed */
    cw_window_t win;            /* must be last: the buckets follow */
} key_state_t;

typedef struct {
    const cw_rule_t *rule;
    cw_keytab_t *keys;
    int n_buckets;
} rule_rt_t;

struct cw_engine {
    const cw_config_t *cfg;
    rule_rt_t *rt;
    int n_rt;
    cw_time_t max_ts; /* newest event time seen, INT64_MIN before the first */
    cw_alert_sink_fn sink;
    void *sink_ctx;
    cw_metrics_t metrics;
    apr_array_header_t *sources; /* cw_pos_t: name and partition of each source id */
    char *keybuf;
    size_t keybuf_len;
};

cw_status_t cw_engine_create(apr_pool_t *pool, const cw_config_t *cfg, cw_alert_sink_fn sink,
                             void *sink_ctx, cw_engine_t **out, char *err, size_t errlen)
{
    cw_engine_t *e = apr_pcalloc(pool, sizeof *e);
    e->cfg = cfg;
    e->sink = sink;
    e->sink_ctx = sink_ctx;
    e->max_ts = INT64_MIN;
    e->sources = apr_array_make(pool, 8, sizeof(cw_pos_t));
    e->rt = apr_pcalloc(pool, (size_t)(cfg->n_rules ? cfg->n_rules : 1) * sizeof(rule_rt_t));
    for (int i = 0; i < cfg->n_rules; i++) {
        const cw_rule_t *r = &cfg->rules[i];
        rule_rt_t *rt = &e->rt[e->n_rt];
        size_t kmax = cw_rule_key_max(r);
        if (!r->enabled)
            continue;
        rt->rule = r;
        rt->n_buckets = (int)(r->window / r->bucket);
        if (cw_keytab_create(pool, (size_t)r->max_keys, kmax,
                             sizeof(key_state_t) + (size_t)rt->n_buckets * sizeof(cw_bucket_t),
                             &rt->keys) != CW_OK) {
            snprintf(err, errlen, "rule %s: cannot allocate its key table (max_keys %lld)", r->id,
                     (long long)r->max_keys);
            return CW_ERR_NOMEM;
        }
        if (kmax > e->keybuf_len)
            e->keybuf_len = kmax;
        e->n_rt++;
    }
    e->keybuf = apr_palloc(pool, e->keybuf_len + 1);
    *out = e;
    return CW_OK;
}

uint32_t cw_engine_source_id(cw_engine_t *e, const char *name, int32_t partition)
{
    for (int i = 0; i < e->sources->nelts; i++) {
        cw_pos_t *p = &APR_ARRAY_IDX(e->sources, i, cw_pos_t);
        if (p->partition == partition && strcmp(p->name, name) == 0)
            return (uint32_t)i;
    }
    cw_pos_t *p = apr_array_push(e->sources);
    p->name = apr_pstrdup(e->sources->pool, name);
    p->partition = partition;
    p->offset = 0;
    return (uint32_t)(e->sources->nelts - 1);
}

static void raise_alert(cw_engine_t *e, const rule_rt_t *rt, key_state_t *st, const cw_event_t *ev,
                        size_t keylen)
{
    const cw_rule_t *r = rt->rule;
    cw_alert_t a;
    uint32_t src;
    int64_t off;

    memset(&a, 0, sizeof a);
    a.rule = r;
    a.ev = ev;
    a.key = e->keybuf;
    a.keylen = keylen;
    cw_window_bounds(&st->win, rt->n_buckets, r->bucket, &a.window_start, &a.window_end);
    a.value = st->win.sum;
    a.threshold = r->threshold;
    a.records = st->win.count;
    a.first = ev->pos;
    if (cw_window_first(&st->win, rt->n_buckets, &src, &off) && src < (uint32_t)e->sources->nelts) {
        a.first = APR_ARRAY_IDX(e->sources, src, cw_pos_t);
        a.first.offset = off;
    }
    cw_alert_make_id(&a);
    e->metrics.alerts++;
    e->sink(e->sink_ctx, &a);
}

static void apply_rule(cw_engine_t *e, const rule_rt_t *rt, const cw_event_t *ev)
{
    const cw_rule_t *r = rt->rule;
    bool created;
    size_t keylen = cw_rule_key(r, ev, e->keybuf, e->keybuf_len);
    key_state_t *st = cw_keytab_get(rt->keys, e->keybuf, keylen, &created);

    if (!st)
        return; /* cannot happen: keys are cut to the table's key size */
    if (created) {
        cw_window_init(&st->win, rt->n_buckets);
        st->fired = false;
        st->suppressed_until = INT64_MIN;
    }
    cw_window_advance(&st->win, rt->n_buckets, r->bucket, ev->ts);
    if (st->fired && st->win.sum < r->threshold)
        st->fired = false; /* re-armed: the incident is over */
    if (!cw_window_add(&st->win, rt->n_buckets, r->bucket, ev->ts, cw_rule_value(r, ev),
                       (uint32_t)ev->source_index, ev->pos.offset)) {
        e->metrics.too_old_for_window++;
        return;
    }
    if (!st->fired && st->win.sum >= r->threshold) {
        st->fired = true;
        if (ev->ts >= st->suppressed_until) {
            raise_alert(e, rt, st, ev, keylen);
            st->suppressed_until = ev->ts + r->suppress;
        } else {
            e->metrics.suppressed++;
        }
    }
}

cw_reason_t cw_engine_process(cw_engine_t *e, const cw_event_t *ev)
{
    if (e->max_ts != INT64_MIN && ev->ts < e->max_ts - e->cfg->allowed_lateness) {
        e->metrics.dead[CW_DEC_LATE]++;
        return CW_DEC_LATE;
    }
    if (ev->ts > e->max_ts)
        e->max_ts = ev->ts;
    e->metrics.records[ev->stream]++;
    for (int i = 0; i < e->n_rt; i++) {
        if (cw_rule_matches(e->rt[i].rule, ev))
            apply_rule(e, &e->rt[i], ev);
    }
    return CW_DEC_OK;
}

cw_time_t cw_engine_clock(const cw_engine_t *e)
{
    return e->max_ts == INT64_MIN ? INT64_MIN : e->max_ts - e->cfg->allowed_lateness;
}

cw_metrics_t *cw_engine_metrics(cw_engine_t *e)
{
    uint64_t ev = 0;
    for (int i = 0; i < e->n_rt; i++)
        ev += cw_keytab_evictions(e->rt[i].keys);
    e->metrics.evictions = ev;
    return &e->metrics;
}
