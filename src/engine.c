/*
 * engine.c — the event-time engine: clock, reference, rule dispatch, per-key state, alerts.
 *
 * Rule kinds and their per-key state (one bounded key table per rule, plus a second one of
 * (key, value) pairs for first_seen):
 *   threshold  — one window of buckets per window (its live buckets in itself, a ring from
 *                the rule's pool when it needs more; and, for distinct metrics, one small
 *                HyperLogLog per bucket), an optional hour-of-week baseline, and the alert
 *                state: a window is armed until it crosses (alert, or a suppressed crossing),
 *                then fired until its value falls below the floor again (re-armed). Alerts of
 *                one (rule, key) are suppressed for `suppress` after the last one. With
 *                lookups.quantile, a lookup profile (baseline.h): the windows count the lookups
 *                above the key's learned quantile, and a crossing must also be improbable at the
 *                key's learned rate of them (a binomial tail).
 *   first_seen — the key's first record time; each (key, value) pair ever seen. A new pair after
 *                the learning period (counted from the first record the engine saw) alerts.
 *   sequence   — principals named by a trigger (CREATE ROLE x, GRANT ... TO x), with its time;
 *                their first matching record within `within` alerts.
 *   silence    — last record time and records per hour over a day; checked once a minute of
 *                event time: a busy key quiet for `gap` alerts, and re-arms when it sends again.
 *                With silence.while, only if the same key sent at least while_records records
 *                matching it within that gap (counted from its last record of the filter).
 * Evidence: a ring of recent matching audit records (object, statement, subscriber) gives
 * alerts their samples without any per-key cost.
 * Full key tables: a threshold key weighs the share of its floor its live windows hold, a
 * sequence key weighs full while its trigger waits; the tables evict the lightest of their least
 * recently updated keys (window.h), so a flood of new keys does not evict a thief mid-window.
 */
#include <limits.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include "cdrwatch/baseline.h"
#include "cdrwatch/engine.h"
#include "cdrwatch/glob.h"
#include "cdrwatch/hll.h"
#include "cdrwatch/rules.h"
#include "cdrwatch/state.h"
#include "cdrwatch/window.h"

/* ---- per-key state ---- */

typedef struct {
    cw_time_t first_ts;         /* the key's first record (baseline learning) */
    cw_time_t suppressed_until; /* no alert before this event time */
    uint32_t fired;             /* bit per window: crossed, not yet back below the floor */
    uint32_t pad;
    /* followed by the windows, their HLLs and the baseline, at offsets of rule_rt_t */
} th_state_t;

typedef struct {
    cw_time_t first_ts;
    cw_time_t suppressed_until;
} seen_key_t;

typedef struct {
    cw_time_t ts;
} seen_pair_t;

typedef struct {
    cw_time_t trigger_ts;
    uint32_t src;
    uint32_t fired;
    int64_t off;
} seq_state_t;

#define SILENCE_HOURS 24
typedef struct {
    cw_time_t last_ts;
    int64_t hour_head; /* newest clock hour counted */
    uint32_t counts[SILENCE_HOURS];
    uint32_t src;
    uint16_t fired;
    uint16_t candidate; /* in the rule's list of busy keys that are checked for silence */
    int64_t off;
    uint32_t while_n; /* silence.while: its records from the key within the gap after last_ts */
    uint32_t pad;
} silence_state_t;

#define SILENCE_CANDIDATES 4096 /* busy keys checked per rule; more are counted, not checked */

typedef struct {
    const cw_rule_t *rule;
    const struct cw_engine *engine; /* for its clock, when a full key table weighs its keys */
    int bit; /* index among the engine's rules, for the evidence ring (< 64) */
    cw_keytab_t *keys;
    cw_keytab_t *pairs; /* first_seen */
    int nb[CW_WINDOWS_MAX];
    size_t win_off[CW_WINDOWS_MAX];
    size_t hll_off[CW_WINDOWS_MAX]; /* 0: none */
    size_t base_off;                /* 0: no baseline */
    size_t peak_off[CW_WINDOWS_MAX];  /* adaptive peaks of each window; 0: none */
    cw_peaks_pool_t *peak_pool;       /* the tables of keys whose peaks outgrow their cells */
    cw_window_pool_t *win_pool[CW_WINDOWS_MAX]; /* the rings of windows that outgrow their cells */
    cw_hll_pool_t *hll_pool;          /* the sketches of distinct counts that outgrow their cells */
    size_t lookup_off;              /* the key's lookup profile (lookups.quantile); 0: none */
    bool adaptive;                  /* the rule has adaptive floors (peaks, or pairs seen) */
    const char *metric_name;
    const char *window_name[CW_WINDOWS_MAX];
    const char *new_key_name; /* first_seen: detail name of a key never seen ("new_key_client_host") */
    bool keyed_by_principal;
    /* silence: the busy keys, the only ones checked once a minute of event time */
    char *cand_keys; /* SILENCE_CANDIDATES x cand_stride */
    uint16_t *cand_len;
    size_t cand_stride;
    int n_cand;
} rule_rt_t;

/* ---- evidence ring ---- */

typedef struct {
    uint64_t rules;     /* bit i: rule rt[i] counted this record */
    uint64_t principal; /* hash of the principal */
    cw_time_t ts;
    uint32_t src;       /* input it came from (checkpoints split the ring by input partition) */
    char object[64];
    char statement[160];
    char subscriber[CW_MSISDN_MAX + 1];
} evidence_t;

struct cw_engine {
    const cw_config_t *cfg;
    rule_rt_t *rt;
    int n_rt;
    int *by_stream[CW_STREAM_COUNT]; /* indexes into rt of the rules of each stream */
    int n_by_stream[CW_STREAM_COUNT];
    cw_time_t max_ts;   /* newest event time seen, INT64_MIN before the first */
    cw_time_t first_ts; /* oldest... the first record's time (first_seen learning) */
    cw_time_t next_silence_check;
    bool has_silence;
    cw_alert_sink_fn sink;
    void *sink_ctx;
    cw_observer_fn observe; /* NULL: none (cw_engine_set_observer) */
    void *observe_ctx;
    cw_metrics_t metrics;
    cw_reference_t *ref;
    apr_array_header_t *sources; /* cw_pos_t: name and partition of each source id */
    char *keybuf, *pairbuf;
    size_t keybuf_len;
    evidence_t *ring;
    size_t ring_size, ring_next, ring_used;
    uint64_t rec_rules; /* rules that counted the current record */
    cw_msisdn_t extracted[CW_SUBSCRIBERS_MAX];
    bool extracted_done;
    int8_t *memo; /* per distinct filter condition, reset per record */
    uint64_t unchecked; /* busy keys beyond a silence rule's candidate list */
    char detailbuf[24]; /* an alert's detail value formatted by the engine */
    uint32_t cur_src;   /* input of the record in hand: every key it touches is tagged with it
                         * (checkpoints split the state by input partition); CW_STATE_NO_SOURCE
                         * between records and while a snapshot without tags is restored */
};

static size_t align8(size_t n) { return (n + 7) & ~(size_t)7; }

/* the weigh functions of the key tables (below, with the rules they serve) */
static uint32_t threshold_weight(void *ctx, const void *value);
static uint32_t sequence_weight(void *ctx, const void *value);
static void threshold_release(void *ctx, void *value);

/* Full key tables of threshold and sequence rules evict cold keys first (window.h) while records
 * come; a restore into a smaller table keeps the most recently updated keys (doc/state.md). */
static void weigh_keys(rule_rt_t *rt, bool on)
{
    cw_rule_kind_t kind = rt->rule->kind;
    cw_keytab_weigh_fn fn = kind == CW_KIND_THRESHOLD ? threshold_weight
                            : kind == CW_KIND_SEQUENCE ? sequence_weight
                                                       : NULL;
    cw_keytab_weigh_with(rt->keys, on ? fn : NULL, rt);
}

static cw_status_t setup_rule(apr_pool_t *pool, cw_engine_t *e, const cw_rule_t *r, rule_rt_t *rt,
                              char *err, size_t errlen)
{
    size_t kmax = cw_rule_key_max(r), value = 0;
    char dur[32];
    rt->rule = r;
    rt->metric_name = cw_rule_metric_name(pool, r);
    for (int i = 0; i < r->n_key; i++)
        rt->keyed_by_principal |= r->key[i] == CW_F_PRINCIPAL;
    switch (r->kind) {
    case CW_KIND_THRESHOLD:
        value = sizeof(th_state_t);
        for (int w = 0; w < r->n_windows; w++) {
            rt->nb[w] = (int)(r->windows[w].window / r->windows[w].bucket);
            rt->win_off[w] = value;
            value += align8(cw_window_size(rt->nb[w]));
            if (cw_window_pool_create(pool, rt->nb[w], &rt->win_pool[w]) != CW_OK)
                goto nomem;
            if (r->metric == CW_METRIC_DISTINCT) {
                if (!rt->hll_pool && cw_hll_pool_create(pool, &rt->hll_pool) != CW_OK)
                    goto nomem;
                rt->hll_off[w] = value;
                value += align8((size_t)rt->nb[w] * sizeof(cw_hll_t));
            }
            rt->window_name[w] = apr_pstrdup(pool, cw_duration_format(r->windows[w].window, dur));
        }
        if (r->baseline_sigma > 0 || r->baseline_ratio > 0) {
            rt->base_off = value;
            value += align8(sizeof(cw_baseline_t));
        }
        for (int w = 0; r->adaptive_factor > 0 && w < r->n_windows; w++) {
            rt->peak_off[w] = value;
            value += align8(sizeof(cw_peaks_t));
        }
        if (r->adaptive_factor > 0 && cw_peaks_pool_create(pool, &rt->peak_pool) != CW_OK)
            goto nomem;
        rt->adaptive = r->adaptive_factor > 0 || r->n_adaptive_seen > 0;
        if (r->lookup_quantile > 0) {
            rt->lookup_off = value;
            value += align8(sizeof(cw_lookups_t));
        }
        /* adaptive seen: the (key, values) pairs, as a 64-bit hash, as first_seen keeps them */
        if (r->n_adaptive_seen > 0 &&
            cw_keytab_create(pool, (size_t)r->max_keys, sizeof(uint64_t), sizeof(seen_pair_t), &rt->pairs) != CW_OK)
            goto nomem;
        break;
    case CW_KIND_FIRST_SEEN:
        value = sizeof(seen_key_t);
        rt->new_key_name = apr_pstrcat(pool, "new_key_", cw_field_name(r->seen_field), NULL);
        /* pairs are kept as a 64-bit hash of (key, value): 8 bytes instead of up to 385 */
        if (cw_keytab_create(pool, (size_t)r->max_keys, sizeof(uint64_t), sizeof(seen_pair_t), &rt->pairs) != CW_OK)
            goto nomem;
        break;
    case CW_KIND_SEQUENCE:
        value = sizeof(seq_state_t);
        rt->window_name[0] = apr_pstrdup(pool, cw_duration_format(r->within, dur));
        kmax = CW_NAME_MAX; /* keyed by the principal the trigger names */
        break;
    case CW_KIND_SILENCE:
        value = sizeof(silence_state_t);
        e->has_silence = true;
        rt->cand_stride = kmax;
        rt->cand_keys = apr_palloc(pool, SILENCE_CANDIDATES * kmax);
        rt->cand_len = apr_palloc(pool, SILENCE_CANDIDATES * sizeof *rt->cand_len);
        break;
    }
    if (cw_keytab_create(pool, (size_t)r->max_keys, kmax, value, &rt->keys) != CW_OK)
        goto nomem;
    rt->engine = e;
    weigh_keys(rt, true);
    if (r->kind == CW_KIND_THRESHOLD) /* an evicted key's rings and tables go back to their pools */
        cw_keytab_release_with(rt->keys, threshold_release, rt);
    cw_keytab_tag_with(rt->keys, &e->cur_src);
    if (rt->pairs)
        cw_keytab_tag_with(rt->pairs, &e->cur_src);
    if (kmax + 1 + CW_HOST_MAX > e->keybuf_len)
        e->keybuf_len = kmax + 1 + CW_HOST_MAX;
    return CW_OK;
nomem:
    snprintf(err, errlen, "rule %s: cannot allocate its key table (max_keys %lld)", r->id, (long long)r->max_keys);
    return CW_ERR_NOMEM;
}

cw_status_t cw_engine_create(apr_pool_t *pool, const cw_config_t *cfg, cw_alert_sink_fn sink,
                             void *sink_ctx, cw_engine_t **out, char *err, size_t errlen)
{
    cw_engine_t *e = apr_pcalloc(pool, sizeof *e);
    cw_status_t st;
    e->cfg = cfg;
    e->sink = sink;
    e->sink_ctx = sink_ctx;
    e->max_ts = INT64_MIN;
    e->first_ts = INT64_MIN;
    e->next_silence_check = INT64_MIN;
    e->cur_src = CW_STATE_NO_SOURCE;
    e->sources = apr_array_make(pool, 8, sizeof(cw_pos_t));
    e->rt = apr_pcalloc(pool, (size_t)(cfg->n_rules ? cfg->n_rules : 1) * sizeof(rule_rt_t));
    e->keybuf_len = 64;
    if ((st = cw_reference_create(pool, cfg, &e->ref, err, errlen)) != CW_OK)
        return st;
    for (int i = 0; i < cfg->n_rules; i++) {
        if (!cfg->rules[i].enabled)
            continue;
        e->rt[e->n_rt].bit = e->n_rt;
        if ((st = setup_rule(pool, e, &cfg->rules[i], &e->rt[e->n_rt], err, errlen)) != CW_OK)
            return st;
        e->n_rt++;
    }
    for (int st2 = 0; st2 < CW_STREAM_COUNT; st2++) {
        e->by_stream[st2] = apr_pcalloc(pool, (size_t)(e->n_rt ? e->n_rt : 1) * sizeof(int));
        for (int i = 0; i < e->n_rt; i++) {
            if (e->rt[i].rule->stream == (cw_stream_t)st2)
                e->by_stream[st2][e->n_by_stream[st2]++] = i;
        }
    }
    e->memo = apr_palloc(pool, (size_t)(cfg->n_memo ? cfg->n_memo : 1));
    e->keybuf = apr_palloc(pool, e->keybuf_len + 1);
    e->pairbuf = apr_palloc(pool, e->keybuf_len + 1);
    e->ring_size = (size_t)cfg->evidence_ring;
    if (e->ring_size)
        e->ring = apr_pcalloc(pool, e->ring_size * sizeof(evidence_t));
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

static cw_pos_t position(const cw_engine_t *e, uint32_t src, int64_t off)
{
    cw_pos_t p = {"?", -1, off};
    if (src < (uint32_t)e->sources->nelts) {
        p = APR_ARRAY_IDX(e->sources, src, cw_pos_t);
        p.offset = off;
    }
    return p;
}

/* ---- derived fields ---- */

/* Subscribers of the record, taken from its statement when it has none (at most once). */
static void view_subscribers(cw_engine_t *e, cw_view_t *v)
{
    const cw_audit_t *a = &v->ev->u.audit;
    regmatch_t m[2];
    const char *p = a->statement;
    int n = 0;
    if (v->n_subscribers > 0 || e->extracted_done || !e->cfg->subscriber_re || !a->statement[0])
        return;
    e->extracted_done = true;
    while (n < CW_SUBSCRIBERS_MAX && regexec(e->cfg->subscriber_re, p, 2, m, p == a->statement ? 0 : REG_NOTBOL) == 0) {
        int g = m[1].rm_so >= 0 ? 1 : 0;
        bool dup = false;
        if (m[0].rm_eo <= 0)
            break;
        if (cw_msisdn_normalise(p + m[g].rm_so, (size_t)(m[g].rm_eo - m[g].rm_so), e->extracted[n])) {
            for (int k = 0; k < n; k++)
                dup |= strcmp(e->extracted[k], e->extracted[n]) == 0;
            n += !dup;
        }
        p += m[0].rm_eo;
    }
    if (n) {
        v->subscribers = (const cw_msisdn_t *)e->extracted;
        v->n_subscribers = n;
    }
}

static bool word_byte(unsigned char c) { return c == '_' || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'); }

/* Does s hold one of the words that bound a read (WHERE, LIMIT, TOP, FETCH, ROWNUM), in any
 * case, as a whole word (not next to a letter or '_')? Each is all letters, so it is one of the
 * runs of letters and '_' of s: one pass over s compares each run. */
static bool has_bound_word(const char *s)
{
    static const char *const words[] = {"where", "limit", "top", "fetch", "rownum"};
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        const unsigned char *w = p;
        size_t n;
        if (!word_byte(*p)) {
            p++;
            continue;
        }
        while (word_byte(*p))
            p++;
        n = (size_t)(p - w);
        if (n < 3 || n > 6)
            continue;
        for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
            if (strlen(words[i]) == n && strncasecmp((const char *)w, words[i], n) == 0)
                return true;
        }
    }
    return false;
}

/* A read of a whole table: SELECT * FROM ... or an export verb, with no WHERE, LIMIT, TOP,
 * FETCH or ROWNUM to bound it. */
static bool unbounded(const cw_audit_t *a)
{
    static const char *const exports[] = {"COPY", "EXPORT", "UNLOAD", "SPOOL", "BCP", "EXPDP"};
    bool whole = false;
    const char *sel = strcasestr(a->statement, "select");
    if (sel) {
        const char *p = sel + 6;
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            p++;
        whole = *p == '*';
    }
    for (size_t i = 0; !whole && i < sizeof exports / sizeof exports[0]; i++)
        whole = strcmp(a->action, exports[i]) == 0;
    if (!whole || !a->statement[0])
        return false;
    return !has_bound_word(a->statement);
}

static bool derive(cw_view_t *v, cw_field_t f, void *ctx)
{
    cw_engine_t *e = ctx;
    const cw_audit_t *a = &v->ev->u.audit;
    switch (f) {
    case CW_F_V_HISTORY_PULL: {
        uint64_t total = 0;
        cw_time_t first = INT64_MAX;
        if (!cw_event_has(v->ev, CW_F_ROWS))
            return false;
        view_subscribers(e, v);
        if (v->n_subscribers == 0)
            return false;
        for (int i = 0; i < v->n_subscribers; i++) {
            uint32_t n1;
            cw_time_t f1;
            cw_reference_history(e->ref, v->subscribers[i], &n1, &f1);
            total += n1;
            if (f1 < first)
                first = f1;
        }
        return total >= (uint64_t)e->cfg->history_min_records &&
               (double)a->rows >= e->cfg->history_fraction * (double)total &&
               first != INT64_MAX && v->ev->ts - first >= e->cfg->history_min_span;
    }
    case CW_F_V_WATCHLISTED:
        view_subscribers(e, v);
        for (int i = 0; i < v->n_subscribers; i++) {
            if (cw_reference_watchlisted(e->ref, v->subscribers[i]))
                return true;
        }
        return false;
    case CW_F_V_UNBOUNDED_SELECT:
        return unbounded(a);
    case CW_F_V_DAMAGED:
        return v->ev->damage != 0;
    default:
        return false;
    }
}

/* ---- alerts ---- */

static void add_sample(const char **list, int *n, int max, const char *s)
{
    if (!s[0] || *n >= max)
        return;
    for (int i = 0; i < *n; i++) {
        if (strcmp(list[i], s) == 0)
            return;
    }
    list[(*n)++] = s;
}

/* Samples from the current record and the evidence ring (newest first). */
static void gather_evidence(const cw_engine_t *e, const rule_rt_t *rt, const cw_view_t *v, cw_alert_t *a)
{
    const cw_audit_t *au;
    uint64_t who;
    if (!v || v->ev->stream != CW_STREAM_AUDIT)
        return;
    au = &v->ev->u.audit;
    add_sample(a->objects, &a->n_objects, CW_EVIDENCE_SAMPLES, au->object);
    add_sample(a->statements, &a->n_statements, CW_EVIDENCE_SAMPLES, au->statement);
    for (int i = 0; i < v->n_subscribers; i++)
        add_sample(a->subscribers, &a->n_subscribers, CW_EVIDENCE_SUBSCRIBERS, v->subscribers[i]);
    if (!e->ring_used || !rt->keyed_by_principal || rt->bit >= 64)
        return;
    who = cw_hash64(au->principal, strlen(au->principal), 7);
    for (size_t k = 0; k < e->ring_used; k++) {
        const evidence_t *x = &e->ring[(e->ring_next + e->ring_size - 1 - k) % e->ring_size];
        if (x->ts < a->window_start)
            break;
        if (!(x->rules >> rt->bit & 1) || x->principal != who)
            continue;
        add_sample(a->objects, &a->n_objects, CW_EVIDENCE_SAMPLES, x->object);
        add_sample(a->statements, &a->n_statements, CW_EVIDENCE_SAMPLES, x->statement);
        add_sample(a->subscribers, &a->n_subscribers, CW_EVIDENCE_SUBSCRIBERS, x->subscriber);
    }
}

/* Copy src into dst (size bytes with the NUL), cut on a UTF-8 boundary so a sample stays valid
 * UTF-8 in the alert's JSON. */
static void utf8_copy(char *dst, const char *src, size_t size)
{
    size_t n = cw_strlcpy(dst, src, size);
    if (n >= size) {
        n = size - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
            n--;
        dst[n] = '\0';
    }
}

static void remember(cw_engine_t *e, const cw_view_t *v)
{
    evidence_t *x;
    const cw_audit_t *au = &v->ev->u.audit;
    if (!e->ring_size || !e->rec_rules)
        return;
    x = &e->ring[e->ring_next];
    e->ring_next = (e->ring_next + 1) % e->ring_size;
    if (e->ring_used < e->ring_size)
        e->ring_used++;
    x->rules = e->rec_rules;
    x->src = e->cur_src;
    x->principal = cw_hash64(au->principal, strlen(au->principal), 7);
    x->ts = v->ev->ts;
    utf8_copy(x->object, au->object, sizeof x->object);
    utf8_copy(x->statement, au->statement, sizeof x->statement);
    cw_strlcpy(x->subscriber, v->n_subscribers ? v->subscribers[0] : "", sizeof x->subscriber);
}

static void alert_init(cw_engine_t *e, const rule_rt_t *rt, cw_alert_t *a, const cw_event_t *ev, size_t keylen)
{
    memset(a, 0, sizeof *a);
    a->rule = rt->rule;
    a->ev = ev;
    a->at = ev ? ev->ts : e->max_ts;
    a->key = e->keybuf;
    a->keylen = keylen;
    a->severity = rt->rule->severity;
    a->metric = rt->metric_name;
    if (ev) {
        a->last = ev->pos;
        a->first = ev->pos;
        a->records = 1;
        if (rt->keyed_by_principal && ev->stream == CW_STREAM_AUDIT)
            a->principal = ev->u.audit.principal;
    }
}

static void emit(cw_engine_t *e, cw_alert_t *a)
{
    cw_alert_make_id(a);
    e->metrics.alerts++;
    e->sink(e->sink_ctx, a);
}

/* ---- threshold ---- */

static inline cw_window_t *win_of(const rule_rt_t *rt, th_state_t *st, int w)
{
    return (cw_window_t *)((char *)st + rt->win_off[w]);
}
static inline cw_hll_t *hll_of(const rule_rt_t *rt, th_state_t *st, int w)
{
    return (cw_hll_t *)((char *)st + rt->hll_off[w]);
}

static double window_value(const rule_rt_t *rt, th_state_t *st, int w)
{
    const cw_rule_t *r = rt->rule;
    cw_window_t *win = win_of(rt, st, w);
    const cw_hll_t *sets[1024];
    int n = 0, nb = rt->nb[w];
    if (r->metric != CW_METRIC_DISTINCT)
        return (double)win->sum;
    for (int64_t k = win->head - nb + 1; k <= win->head; k++) {
        int slot = (int)(((k % nb) + nb) % nb);
        if (cw_window_count_at(win, nb, k))
            sets[n++] = &hll_of(rt, st, w)[slot];
    }
    return n ? round(cw_hll_union_count(sets, n)) : 0;
}

/* Advance window w to t, clearing the HLLs of the buckets that expire. */
static void advance(const rule_rt_t *rt, th_state_t *st, int w, cw_time_t t)
{
    cw_window_t *win = win_of(rt, st, w);
    int nb = rt->nb[w];
    cw_time_t width = rt->rule->windows[w].bucket;
    if (rt->hll_off[w] && win->head != INT64_MIN) {
        int64_t b = t / width - (t % width < 0);
        for (int64_t k = win->head + 1; k <= b && k <= win->head + nb; k++)
            cw_hll_clear(&hll_of(rt, st, w)[((k % nb) + nb) % nb]);
    }
    cw_window_advance(win, nb, width, t);
}

static void distinct_add(cw_engine_t *e, const rule_rt_t *rt, th_state_t *st, int w, cw_view_t *v)
{
    const cw_rule_t *r = rt->rule;
    cw_window_t *win = win_of(rt, st, w);
    cw_time_t width = r->windows[w].bucket;
    int64_t b = v->ev->ts / width - (v->ev->ts % width < 0);
    cw_hll_t *h = &hll_of(rt, st, w)[((b % rt->nb[w]) + rt->nb[w]) % rt->nb[w]];
    if (r->metric_field == CW_F_SUBSCRIBERS) {
        view_subscribers(e, v);
        for (int i = 0; i < v->n_subscribers; i++)
            cw_hll_add(h, cw_hash64(v->subscribers[i], strlen(v->subscribers[i]), 11));
    } else {
        const char *s = cw_event_str(v->ev, r->metric_field);
        if (*s)
            cw_hll_add(h, cw_hash64(s, strlen(s), 11));
    }
    (void)win;
}

static inline cw_baseline_t *base_of(const rule_rt_t *rt, th_state_t *st)
{
    return rt->base_off ? (cw_baseline_t *)((char *)st + rt->base_off) : NULL;
}
static inline cw_peaks_t *peaks_of(const rule_rt_t *rt, th_state_t *st, int w)
{
    return rt->peak_off[w] ? (cw_peaks_t *)((char *)st + rt->peak_off[w]) : NULL;
}

static void threshold_release(void *ctx, void *value)
{
    const rule_rt_t *rt = ctx;
    for (int w = 0; w < rt->rule->n_windows; w++) {
        cw_window_clear(win_of(rt, value, w), rt->nb[w]);
        for (int k = 0; rt->hll_off[w] && k < rt->nb[w]; k++)
            cw_hll_clear(&hll_of(rt, value, w)[k]);
        if (peaks_of(rt, value, w))
            cw_peaks_clear(peaks_of(rt, value, w));
    }
}

static inline cw_lookups_t *lookups_of(const rule_rt_t *rt, th_state_t *st)
{
    return rt->lookup_off ? (cw_lookups_t *)((char *)st + rt->lookup_off) : NULL;
}

static void threshold_init(const rule_rt_t *rt, th_state_t *st, cw_time_t ts)
{
    const cw_rule_t *r = rt->rule;
    st->first_ts = ts;
    st->suppressed_until = INT64_MIN;
    for (int w = 0; w < r->n_windows; w++) {
        cw_window_init(win_of(rt, st, w), rt->nb[w], rt->win_pool[w]);
        for (int k = 0; rt->hll_off[w] && k < rt->nb[w]; k++)
            cw_hll_init(&hll_of(rt, st, w)[k], rt->hll_pool);
        if (peaks_of(rt, st, w))
            cw_peaks_init(peaks_of(rt, st, w), rt->peak_pool);
    }
    if (base_of(rt, st))
        cw_baseline_init(base_of(rt, st));
    if (lookups_of(rt, st))
        cw_lookups_init(lookups_of(rt, st));
}

/* adaptive seen: a hash of (key, the record's values of the seen fields), in e->pairbuf */
static void seen_pair(cw_engine_t *e, const cw_rule_t *r, const cw_event_t *ev, size_t keylen)
{
    uint64_t h = cw_hash64(e->keybuf, keylen, 0x61646170);
    for (int i = 0; i < r->n_adaptive_seen; i++) {
        const char *s = cw_event_str(ev, r->adaptive_seen[i]);
        h = cw_hash64(s, strlen(s) + 1, h); /* with the NUL: ("ab","c") differs from ("a","bc") */
    }
    memcpy(e->pairbuf, &h, sizeof h);
}

/* How a crossing of a window's floor was judged: the figures its alert reports. */
typedef struct {
    double mean, var, limit; /* baseline; limit: the effective threshold */
    cw_base_level_t level;
    bool profiled;           /* a profile of the key took part (baseline or adaptive) */
    double profile, peak;    /* the own figure exceeded, the key's own peak; -1: none */
    bool seen_new;           /* adaptive seen: the record's values are new for the key */
    double rate, p_value;    /* lookups: the key's learned rate above its cut, the tail; -1: none */
} verdict_t;

/* A lookup's size: its rows per subscriber named, in percent of what those subscribers
 * produced in the last day (the CDR reference). false: not a lookup (no rows, no subscriber). */
static bool lookup_size(cw_engine_t *e, cw_view_t *v, double *x)
{
    uint64_t recent = 0;
    if (v->ev->stream != CW_STREAM_AUDIT || !cw_event_has(v->ev, CW_F_ROWS))
        return false;
    view_subscribers(e, v);
    if (v->n_subscribers == 0)
        return false;
    for (int i = 0; i < v->n_subscribers; i++)
        recent += cw_reference_recent(e->ref, v->subscribers[i], v->ev->ts);
    *x = 100.0 * (double)v->ev->u.audit.rows / (double)(recent ? recent : 1);
    return true;
}

/* The lookups' test of a crossing: true when k lookups above the key's cut among the window's
 * n are improbable (tail <= p_value) at its learned rate. */
static bool lookups_exceeded(const rule_rt_t *rt, th_state_t *st, int w, double value, verdict_t *vd)
{
    const cw_rule_t *r = rt->rule;
    int cut;
    double rate;
    uint64_t n = win_of(rt, st, w)->count;
    cw_lookups_cut(lookups_of(rt, st), r->lookup_quantile, &cut, &rate);
    vd->p_value = cw_binomial_tail(n, (uint64_t)value, rate);
    if (vd->p_value > r->lookup_p_value)
        return false;
    vd->rate = rate;
    vd->profiled = true;
    vd->profile = cw_lookups_edge(cut + 1);
    return true;
}

/* The baseline's test of a crossing: true when the key's profile does not explain it. */
static bool baseline_exceeded(const rule_rt_t *rt, th_state_t *st, int w, cw_time_t ts, double value, verdict_t *vd)
{
    const cw_rule_t *r = rt->rule;
    const cw_window_spec_t *ws = &r->windows[w];
    int hours = (int)((ws->window + CW_MS_PER_HOUR - 1) / CW_MS_PER_HOUR);
    double mean, var;
    if (ts - st->first_ts < r->baseline_learning)
        return false;
    vd->level = cw_baseline_expect(base_of(rt, st), ts, hours, (int)r->baseline_min_observations, &mean, &var);
    if (vd->level == CW_BASE_NONE)
        return false;
    /* the floor is inclusive (like a static threshold); the profile tests are strict */
    if (r->baseline_ratio > 0 && !(value > r->baseline_ratio * mean))
        return false;
    if (r->baseline_sigma > 0 && !(value > mean + r->baseline_sigma * sqrt(var)))
        return false;
    if (r->baseline_ratio * mean > vd->limit)
        vd->limit = r->baseline_ratio * mean;
    if (r->baseline_sigma > 0 && mean + r->baseline_sigma * sqrt(var) > vd->limit)
        vd->limit = mean + r->baseline_sigma * sqrt(var);
    vd->mean = mean;
    vd->var = var;
    vd->profiled = true;
    vd->profile = vd->limit;
    return true;
}

/* The adaptive test of a crossing, once the key has learned: true when its own history does
 * not explain it. A key without history (too young, or no peak old enough) is left to the
 * floor. pair_known: the record's seen values were already in the key's pairs. */
static bool adaptive_exceeded(const rule_rt_t *rt, th_state_t *st, int w, cw_time_t ts, double value,
                              bool pair_known, verdict_t *vd)
{
    const cw_rule_t *r = rt->rule;
    const cw_window_spec_t *ws = &r->windows[w];
    if (ts - st->first_ts < r->adaptive_learning)
        return true;
    if (r->n_adaptive_seen > 0) {
        if (pair_known)
            return false;
        vd->profiled = vd->seen_new = true;
        return true;
    }
    if (peaks_of(rt, st, w)) {
        int near = ws->window < CW_MS_PER_DAY ? (int)r->adaptive_near_hours : -1;
        double high = cw_peaks_high(peaks_of(rt, st, w), ts, ws->window, near);
        if (high < 0)
            return true;
        if (value <= r->adaptive_factor * high)
            return false;
        vd->profiled = true;
        vd->peak = high;
        if (r->adaptive_factor * high > vd->profile)
            vd->profile = r->adaptive_factor * high;
    }
    return true;
}

static void threshold_alert(cw_engine_t *e, rule_rt_t *rt, th_state_t *st, int w, cw_view_t *v, size_t keylen,
                            double value, const verdict_t *vd)
{
    const cw_rule_t *r = rt->rule;
    const cw_window_spec_t *ws = &r->windows[w];
    cw_window_t *win = win_of(rt, st, w);
    cw_alert_t a;
    uint32_t src;
    int64_t off;
    alert_init(e, rt, &a, v->ev, keylen);
    cw_window_bounds(win, rt->nb[w], ws->bucket, &a.window_start, &a.window_end);
    a.window_name = rt->window_name[w];
    a.value = value;
    a.threshold = vd->limit;
    a.records = win->count;
    if (cw_window_first(win, rt->nb[w], &src, &off))
        a.first = position(e, src, off);
    if (rt->base_off) {
        a.has_baseline = true;
        a.baseline_mean = vd->mean;
        a.baseline_sd = sqrt(vd->var);
        a.baseline_level = cw_base_level_name(vd->level);
    }
    a.floor = ws->threshold;
    a.test = !vd->profiled ? "static" : ws->threshold > 0 ? "both" : "profile";
    a.profile = vd->profile;
    a.peak = vd->peak;
    if (vd->rate >= 0) {
        a.has_lookups = true;
        a.lookups_judged = win->count;
        a.lookups_rate = vd->rate;
        a.lookups_p_value = vd->p_value;
    }
    if (vd->seen_new) {
        a.new_fields = r->adaptive_seen;
        a.n_new_fields = r->n_adaptive_seen;
    }
    gather_evidence(e, rt, v, &a);
    emit(e, &a);
}

/* Window w of a key after the record was added: alert on a crossing that neither the floor's
 * profile tests nor the key's own history explain. */
static void threshold_check(cw_engine_t *e, rule_rt_t *rt, th_state_t *st, int w, cw_view_t *v, size_t keylen,
                            double value, bool pair_known)
{
    const cw_window_spec_t *ws = &rt->rule->windows[w];
    verdict_t vd = {0, 0, (double)ws->threshold, CW_BASE_NONE, false, -1, -1, false, -1, -1};
    if ((st->fired >> w & 1) || value < (double)ws->threshold)
        return;
    if (rt->base_off && !baseline_exceeded(rt, st, w, v->ev->ts, value, &vd))
        return;
    if (rt->lookup_off && !lookups_exceeded(rt, st, w, value, &vd))
        return;
    if (rt->adaptive && !adaptive_exceeded(rt, st, w, v->ev->ts, value, pair_known, &vd))
        return; /* explained: not fired, so the next record is judged again */
    st->fired |= 1u << w;
    if (v->ev->ts < st->suppressed_until) {
        e->metrics.suppressed++;
        return;
    }
    threshold_alert(e, rt, st, w, v, keylen, value, &vd);
    st->suppressed_until = v->ev->ts + rt->rule->suppress;
}

/* 1 when a lookup in bucket b is above the key's learned cut, once the key has learned (old
 * enough, and enough lookups of earlier days); else 0. */
static int64_t lookup_above(const rule_rt_t *rt, th_state_t *st, cw_time_t ts, int b)
{
    const cw_rule_t *r = rt->rule;
    int cut;
    double rate;
    if (ts - st->first_ts < r->lookup_learning)
        return 0;
    if (cw_lookups_cut(lookups_of(rt, st), r->lookup_quantile, &cut, &rate) < (uint64_t)r->lookup_min_observations)
        return 0;
    return b > cut;
}

static void apply_threshold(cw_engine_t *e, rule_rt_t *rt, cw_view_t *v)
{
    const cw_rule_t *r = rt->rule;
    const cw_event_t *ev = v->ev;
    bool created, pair_known = false;
    size_t keylen = cw_rule_key(r, ev, e->keybuf, e->keybuf_len);
    th_state_t *st;
    int64_t contrib = cw_rule_value(r, ev);
    int lookup_bucket = -1;
    double size;

    if (rt->lookup_off) {
        if (!lookup_size(e, v, &size))
            return; /* not a lookup: the profile judges lookups only */
        lookup_bucket = cw_lookups_bucket(size);
    }
    st = cw_keytab_get(rt->keys, e->keybuf, keylen, &created);
    if (!st)
        return;
    if (created)
        threshold_init(rt, st, ev->ts);
    if (rt->lookup_off)
        contrib = lookup_above(rt, st, ev->ts, lookup_bucket);
    if (rt->pairs) {
        seen_pair(e, r, ev, keylen);
        pair_known = cw_keytab_find(rt->pairs, e->pairbuf, sizeof(uint64_t)) != NULL;
    }
    e->rec_rules |= rt->bit < 64 ? UINT64_C(1) << rt->bit : 0;
    for (int w = 0; w < r->n_windows; w++) {
        const cw_window_spec_t *ws = &r->windows[w];
        cw_window_t *win = win_of(rt, st, w);
        double value;
        advance(rt, st, w, ev->ts);
        if ((st->fired >> w & 1) && window_value(rt, st, w) < (double)ws->threshold)
            st->fired &= ~(1u << w); /* re-armed: the incident is over */
        if (!cw_window_add(win, rt->nb[w], ws->bucket, ev->ts, r->metric == CW_METRIC_DISTINCT ? 0 : contrib,
                           (uint32_t)ev->source_index, ev->pos.offset)) {
            e->metrics.too_old_for_window++;
            continue;
        }
        if (r->metric == CW_METRIC_DISTINCT)
            distinct_add(e, rt, st, w, v);
        value = window_value(rt, st, w);
        if (e->observe) {
            cw_observation_t o = {r, (int)(rt - e->rt), w, e->keybuf, keylen, ev, value, ws->threshold};
            e->observe(e->observe_ctx, &o);
        }
        threshold_check(e, rt, st, w, v, keylen, value, pair_known);
        if (peaks_of(rt, st, w))
            cw_peaks_add(peaks_of(rt, st, w), ev->ts, value);
    }
    if (rt->pairs && !pair_known) {
        bool pair_new;
        seen_pair_t *p = cw_keytab_get(rt->pairs, e->pairbuf, sizeof(uint64_t), &pair_new);
        if (p && pair_new)
            p->ts = ev->ts;
    }
    if (base_of(rt, st))
        cw_baseline_add(base_of(rt, st), ev->ts, (double)contrib, r->baseline_alpha);
    if (lookups_of(rt, st)) {
        cw_lookups_add(lookups_of(rt, st), ev->ts, lookup_bucket);
        if (st->fired) /* from the crossing until it re-arms: a day found abnormal is not learned */
            lookups_of(rt, st)->tainted = 1;
    }
}

/* ---- what a key's state would lose if evicted (window.h: cold keys go first) ---- */

#define WEIGHT_FULL 1000 /* a window at its floor, a sequence waiting for its follower */

/* Thousandths of its floor that a window holds, 0 once its newest bucket has left the span that
 * ends at the engine's clock. O(1): the running total, not the buckets still live at the clock
 * (over-weighs a window half expired, which only delays its eviction). A distinct metric weighs
 * its records, which bound its distinct values. */
static uint32_t window_weight(const rule_rt_t *rt, th_state_t *st, int w, cw_time_t clock)
{
    const cw_window_spec_t *ws = &rt->rule->windows[w];
    const cw_window_t *win = win_of(rt, st, w);
    double held = rt->rule->metric == CW_METRIC_DISTINCT ? (double)win->count : (double)win->sum;
    if (win->head == INT64_MIN || held <= 0)
        return 0;
    if (clock != INT64_MIN && win->head <= clock / ws->bucket - (clock % ws->bucket < 0) - rt->nb[w])
        return 0;
    if (ws->threshold <= 0 || held >= (double)ws->threshold)
        return WEIGHT_FULL;
    return (uint32_t)(held * WEIGHT_FULL / (double)ws->threshold);
}

/* threshold: the heaviest of its windows. A key one small record old weighs about nothing. */
static uint32_t threshold_weight(void *ctx, const void *value)
{
    const rule_rt_t *rt = ctx;
    cw_time_t clock = cw_engine_clock(rt->engine);
    uint32_t most = 0;
    for (int w = 0; w < rt->rule->n_windows; w++) {
        uint32_t x = window_weight(rt, (th_state_t *)value, w, clock);
        most = x > most ? x : most;
    }
    return most;
}

/* sequence: a trigger still waiting for its follower within `within` weighs full. */
static uint32_t sequence_weight(void *ctx, const void *value)
{
    const rule_rt_t *rt = ctx;
    const seq_state_t *s = value;
    cw_time_t clock = cw_engine_clock(rt->engine);
    return !s->fired && (clock == INT64_MIN || clock - s->trigger_ts <= rt->rule->within) ? WEIGHT_FULL : 0;
}

/* ---- first_seen ---- */

static const cw_host_class_t *host_class(const cw_config_t *cfg, const char *host)
{
    for (int i = 0; i < cfg->n_host_classes; i++) {
        if (cw_globset_match(cfg->host_classes[i].set, host))
            return &cfg->host_classes[i];
    }
    return NULL;
}

static void apply_first_seen(cw_engine_t *e, rule_rt_t *rt, cw_view_t *v)
{
    const cw_rule_t *r = rt->rule;
    const cw_event_t *ev = v->ev;
    const char *value = cw_event_str(ev, r->seen_field);
    size_t keylen, vlen = strlen(value);
    bool key_new, pair_new, learned;
    seen_key_t *k;
    seen_pair_t *p;

    if (!*value)
        return;
    keylen = cw_rule_key(r, ev, e->keybuf, e->keybuf_len);
    {
        uint64_t pair = cw_hash64(value, vlen, cw_hash64(e->keybuf, keylen, 0x70616972));
        memcpy(e->pairbuf, &pair, sizeof pair);
    }
    k = cw_keytab_get(rt->keys, e->keybuf, keylen, &key_new);
    p = cw_keytab_get(rt->pairs, e->pairbuf, sizeof(uint64_t), &pair_new);
    if (!k || !p)
        return;
    e->rec_rules |= rt->bit < 64 ? UINT64_C(1) << rt->bit : 0;
    if (key_new) {
        k->first_ts = ev->ts;
        k->suppressed_until = INT64_MIN;
    }
    if (pair_new)
        p->ts = ev->ts;
    learned = ev->ts - e->first_ts >= r->seen_learning;
    if (!pair_new || !learned || (key_new && !r->seen_new_principal))
        return;
    if (ev->ts < k->suppressed_until) {
        e->metrics.suppressed++;
        return;
    }
    {
        cw_alert_t a;
        const cw_host_class_t *hc = r->seen_field == CW_F_CLIENT_HOST ? host_class(e->cfg, value) : NULL;
        alert_init(e, rt, &a, ev, keylen);
        a.window_start = ev->ts;
        a.window_end = ev->ts + 1;
        a.value = 1;
        a.threshold = 1;
        /* a key never seen before (a dormant account) is reported with its first value */
        a.detail_name = key_new ? rt->new_key_name : cw_field_name(r->seen_field);
        a.detail_value = value;
        if (hc) {
            a.host_class = hc->name;
            if (hc->severity > a.severity)
                a.severity = hc->severity;
        }
        gather_evidence(e, rt, v, &a);
        emit(e, &a);
    }
    k->suppressed_until = ev->ts + r->suppress;
}

/* ---- sequence ---- */

static void sequence_trigger(rule_rt_t *rt, cw_view_t *v)
{
    const cw_rule_t *r = rt->rule;
    const cw_event_t *ev = v->ev;
    regmatch_t m[10];
    char name[CW_NAME_MAX + 1];
    size_t n;
    int g;
    bool created;
    seq_state_t *s;

    if (ev->stream != CW_STREAM_AUDIT || ev->u.audit.failed || !cw_filter_matches(&r->trigger, v))
        return;
    if (cw_regex_match(r->extract_re, ev->u.audit.statement, r->extract_window, 10, m) != 0)
        return;
    /* the principal is the last group that took part in the match (alternatives may each
     * have their own group) */
    for (g = 9; g > 0 && m[g].rm_so < 0; g--)
        ;
    if (g == 0)
        return;
    n = (size_t)(m[g].rm_eo - m[g].rm_so);
    if (n > CW_NAME_MAX)
        n = CW_NAME_MAX;
    memcpy(name, ev->u.audit.statement + m[g].rm_so, n);
    name[n] = '\0';
    /* quoted identifiers: "svc_tmp" or `svc_tmp` or 'svc_tmp' */
    if (n >= 2 && (name[0] == '"' || name[0] == '`' || name[0] == '\'') && name[n - 1] == name[0]) {
        memmove(name, name + 1, n - 2);
        name[n - 2] = '\0';
    }
    s = cw_keytab_get(rt->keys, name, strlen(name), &created);
    if (!s)
        return;
    s->trigger_ts = ev->ts;
    s->src = (uint32_t)ev->source_index;
    s->off = ev->pos.offset;
    s->fired = 0;
}

static void sequence_follow(cw_engine_t *e, rule_rt_t *rt, cw_view_t *v)
{
    const cw_rule_t *r = rt->rule;
    const cw_event_t *ev = v->ev;
    const char *who = ev->u.audit.principal;
    seq_state_t *s = cw_keytab_find(rt->keys, who, strlen(who));
    size_t keylen;
    if (!s || s->fired || ev->ts < s->trigger_ts || ev->ts - s->trigger_ts > r->within)
        return;
    s->fired = 1;
    e->rec_rules |= rt->bit < 64 ? UINT64_C(1) << rt->bit : 0;
    keylen = cw_strlcpy(e->keybuf, who, e->keybuf_len);
    {
        cw_alert_t a;
        alert_init(e, rt, &a, ev, keylen);
        a.principal = who;
        a.window_start = s->trigger_ts;
        a.window_end = ev->ts + 1;
        a.value = (double)(ev->ts - s->trigger_ts) / CW_MS_PER_MINUTE;
        a.threshold = (double)r->within / CW_MS_PER_MINUTE;
        a.metric = "minutes_after_trigger";
        a.window_name = rt->window_name[0];
        a.first = position(e, s->src, s->off);
        a.records = 2;
        a.detail_name = "account";
        a.detail_value = who;
        gather_evidence(e, rt, v, &a);
        emit(e, &a);
    }
}

/* ---- silence ---- */

static uint64_t silence_day_count(const silence_state_t *s, int *active_hours)
{
    uint64_t n = 0;
    *active_hours = 0;
    for (int i = 0; i < SILENCE_HOURS; i++) {
        n += s->counts[i];
        *active_hours += s->counts[i] > 0;
    }
    return n;
}

static void silence_record(cw_engine_t *e, rule_rt_t *rt, cw_view_t *v)
{
    const cw_event_t *ev = v->ev;
    bool created;
    size_t keylen = cw_rule_key(rt->rule, ev, e->keybuf, e->keybuf_len);
    silence_state_t *s = cw_keytab_get(rt->keys, e->keybuf, keylen, &created);
    int64_t h = ev->ts / CW_MS_PER_HOUR;
    if (!s)
        return;
    if (created) {
        s->hour_head = h;
        s->last_ts = INT64_MIN;
    }
    if (h > s->hour_head) {
        for (int64_t k = s->hour_head + 1; k <= h && k <= s->hour_head + SILENCE_HOURS; k++)
            s->counts[k % SILENCE_HOURS] = 0;
        s->hour_head = h;
    }
    if (h > s->hour_head - SILENCE_HOURS)
        s->counts[h % SILENCE_HOURS]++;
    if (ev->ts >= s->last_ts) {
        s->last_ts = ev->ts;
        s->src = (uint32_t)ev->source_index;
        s->off = ev->pos.offset;
    }
    s->fired = 0; /* it speaks again: re-armed */
    s->while_n = 0;
    if (!s->candidate) {
        int active;
        const cw_rule_t *r = rt->rule;
        if (silence_day_count(s, &active) >= (uint64_t)r->min_records && active >= r->min_active_hours) {
            if (rt->n_cand < SILENCE_CANDIDATES) {
                memcpy(rt->cand_keys + (size_t)rt->n_cand * rt->cand_stride, e->keybuf, keylen);
                rt->cand_len[rt->n_cand++] = (uint16_t)keylen;
                s->candidate = 1;
            } else {
                e->unchecked++; /* not checked: counted with the state that could not be kept */
            }
        }
    }
}

/* silence.while: a record of what must go on while the filter's records have stopped. Only a key
 * the filter has seen is counted (no key is created), only within the gap after its last one. */
static void silence_while(cw_engine_t *e, rule_rt_t *rt, const cw_event_t *ev)
{
    size_t keylen = cw_rule_key(rt->rule, ev, e->keybuf, e->keybuf_len);
    silence_state_t *s = cw_keytab_find(rt->keys, e->keybuf, keylen);
    if (s && s->last_ts != INT64_MIN && ev->ts > s->last_ts && ev->ts - s->last_ts <= rt->rule->gap &&
        s->while_n < UINT32_MAX)
        s->while_n++;
}

static void silence_check_one(cw_engine_t *e, rule_rt_t *rt, const char *key, size_t len, silence_state_t *s)
{
    const cw_rule_t *r = rt->rule;
    cw_time_t now = e->max_ts;
    int active;
    if (s->fired || s->last_ts == INT64_MIN || now - s->last_ts < r->gap)
        return;
    /* busy: enough records, spread over enough hours (a batch burst that ends is not silence) */
    if (silence_day_count(s, &active) < (uint64_t)r->min_records || active < r->min_active_hours)
        return;
    /* with while: the key went on sending the other records (blinded, not gone home) */
    if (r->silence_while.n > 0 && s->while_n < (uint64_t)r->while_records)
        return;
    s->fired = 1;
    {
        cw_alert_t a;
        size_t n = len < e->keybuf_len ? len : e->keybuf_len;
        memcpy(e->keybuf, key, n);
        alert_init(e, rt, &a, NULL, n);
        a.at = s->last_ts + r->gap;
        a.window_start = s->last_ts;
        a.window_end = s->last_ts + r->gap;
        a.value = (double)(r->gap / CW_MS_PER_MINUTE);
        a.threshold = (double)(r->gap / CW_MS_PER_MINUTE);
        a.records = silence_day_count(s, &active);
        a.first = a.last = position(e, s->src, s->off);
        if (r->silence_while.n > 0) {
            snprintf(e->detailbuf, sizeof e->detailbuf, "%u", (unsigned)s->while_n);
            a.detail_name = "while_records";
            a.detail_value = e->detailbuf;
        }
        if (r->n_key == 1 && r->key[0] == CW_F_PRINCIPAL) {
            e->keybuf[n] = '\0';
            a.principal = e->keybuf;
        }
        emit(e, &a);
    }
}

static void silence_check(cw_engine_t *e)
{
    for (int i = 0; i < e->n_rt; i++) {
        rule_rt_t *rt = &e->rt[i];
        if (rt->rule->kind != CW_KIND_SILENCE)
            continue;
        for (int k = 0; k < rt->n_cand;) {
            const char *key = rt->cand_keys + (size_t)k * rt->cand_stride;
            silence_state_t *s = cw_keytab_find(rt->keys, key, rt->cand_len[k]);
            if (!s) { /* evicted: drop it from the list (the last one takes its place) */
                rt->n_cand--;
                memcpy(rt->cand_keys + (size_t)k * rt->cand_stride,
                       rt->cand_keys + (size_t)rt->n_cand * rt->cand_stride, rt->cand_len[rt->n_cand]);
                rt->cand_len[k] = rt->cand_len[rt->n_cand];
                continue;
            }
            silence_check_one(e, rt, key, rt->cand_len[k], s);
            k++;
        }
    }
}

/* ---- dispatch ---- */

/* Same key fields: the same key string (and hash) for a record. */
static bool same_key(const cw_rule_t *a, const cw_rule_t *b)
{
    return a->n_key == b->n_key && memcmp(a->key, b->key, (size_t)a->n_key * sizeof a->key[0]) == 0;
}

/* The key tables this record may touch, asked of the memory before the rules run: their index
 * slots, then the entries those name. A rule's table is several megabytes for a large operator,
 * and a look-up waits for memory twice; asked together, the waits overlap. The key string and
 * hash are made once for consecutive rules keyed alike. Changes nothing but when memory is read. */
static void prefetch_keys(cw_engine_t *e, const cw_event_t *ev)
{
    uint64_t hash[64];
    bool keyed[64];
    int n = e->n_by_stream[ev->stream] < 64 ? e->n_by_stream[ev->stream] : 64, last = -1;
    for (int j = 0; j < n; j++) {
        const rule_rt_t *rt = &e->rt[e->by_stream[ev->stream][j]];
        cw_rule_kind_t k = rt->rule->kind;
        keyed[j] = rt->keys && (k == CW_KIND_THRESHOLD || k == CW_KIND_FIRST_SEEN || k == CW_KIND_SILENCE);
        if (!keyed[j])
            continue;
        if (last < 0 || !same_key(e->rt[e->by_stream[ev->stream][last]].rule, rt->rule)) {
            last = j;
            hash[j] = cw_keytab_hash(e->keybuf, cw_rule_key(rt->rule, ev, e->keybuf, e->keybuf_len));
        } else {
            hash[j] = hash[last];
        }
        cw_keytab_prefetch_slot(rt->keys, hash[j]);
    }
    for (int j = 0; j < n; j++) {
        const rule_rt_t *rt = &e->rt[e->by_stream[ev->stream][j]];
        if (keyed[j])
            cw_keytab_prefetch_entry(rt->keys, hash[j]);
    }
}

cw_reason_t cw_engine_process(cw_engine_t *e, const cw_event_t *ev)
{
    cw_view_t v;
    if (e->max_ts != INT64_MIN && ev->ts < e->max_ts - e->cfg->allowed_lateness) {
        e->metrics.dead[CW_DEC_LATE]++;
        return CW_DEC_LATE;
    }
    if (ev->ts > e->max_ts)
        e->max_ts = ev->ts;
    if (e->first_ts == INT64_MIN)
        e->first_ts = ev->ts;
    cw_engine_set_position(e, (uint32_t)ev->source_index, ev->pos.offset);
    e->cur_src = (uint32_t)ev->source_index;
    e->metrics.records[ev->stream]++;
    if (ev->damage) {
        e->metrics.damaged_records++;
        for (int k = 0; k < CW_DAMAGE_KINDS; k++)
            e->metrics.damaged[k] += ev->damage >> k & 1;
    }
    if (ev->stream == CW_STREAM_CDR)
        cw_reference_add_cdr(e->ref, ev);
    cw_view_init(&v, ev, derive, e, e->memo, e->cfg->n_memo);
    for (int i = 0; i < v.n_subscribers; i++) /* the sketch cells the rules below may read */
        cw_reference_prefetch(e->ref, v.subscribers[i], ev->ts);
    prefetch_keys(e, ev);
    e->extracted_done = false;
    e->rec_rules = 0;
    for (int j = 0; j < e->n_by_stream[ev->stream]; j++) {
        rule_rt_t *rt = &e->rt[e->by_stream[ev->stream][j]];
        if (rt->rule->kind == CW_KIND_SEQUENCE)
            sequence_trigger(rt, &v);
        if (!cw_rule_matches(rt->rule, &v)) {
            if (rt->rule->kind == CW_KIND_SILENCE && cw_rule_matches_while(rt->rule, &v))
                silence_while(e, rt, ev);
            continue;
        }
        switch (rt->rule->kind) {
        case CW_KIND_THRESHOLD: apply_threshold(e, rt, &v); break;
        case CW_KIND_FIRST_SEEN: apply_first_seen(e, rt, &v); break;
        case CW_KIND_SEQUENCE: sequence_follow(e, rt, &v); break;
        case CW_KIND_SILENCE: silence_record(e, rt, &v); break;
        }
    }
    if (ev->stream == CW_STREAM_AUDIT)
        remember(e, &v);
    if (e->has_silence && e->max_ts >= e->next_silence_check) {
        silence_check(e);
        e->next_silence_check = e->max_ts + CW_MS_PER_MINUTE;
    }
    e->cur_src = CW_STATE_NO_SOURCE;
    return CW_DEC_OK;
}

void cw_engine_set_observer(cw_engine_t *e, cw_observer_fn fn, void *ctx)
{
    e->observe = fn;
    e->observe_ctx = ctx;
}

cw_time_t cw_engine_clock(const cw_engine_t *e)
{
    return e->max_ts == INT64_MIN ? INT64_MIN : e->max_ts - e->cfg->allowed_lateness;
}

const cw_metrics_t *cw_engine_metrics(cw_engine_t *e)
{
    uint64_t ev = 0, spared = 0;
    for (int i = 0; i < e->n_rt; i++) {
        ev += cw_keytab_evictions(e->rt[i].keys);
        spared += cw_keytab_spared(e->rt[i].keys);
        if (e->rt[i].pairs)
            ev += cw_keytab_evictions(e->rt[i].pairs);
    }
    e->metrics.evictions = ev + cw_reference_link_evictions(e->ref) + e->unchecked;
    e->metrics.spared = spared;
    return &e->metrics;
}

cw_reference_t *cw_engine_reference(cw_engine_t *e) { return e->ref; }

size_t cw_engine_keys(const cw_engine_t *e)
{
    size_t n = 0;
    for (int i = 0; i < e->n_rt; i++)
        n += cw_keytab_count(e->rt[i].keys);
    return n;
}

size_t cw_engine_memory(const cw_engine_t *e)
{
    size_t n = e->ring_size * sizeof(evidence_t);
    for (int i = 0; i < e->n_rt; i++) {
        n += cw_keytab_memory(e->rt[i].keys);
        if (e->rt[i].pairs)
            n += cw_keytab_memory(e->rt[i].pairs);
        if (e->rt[i].peak_pool)
            n += cw_blocks_memory(e->rt[i].peak_pool);
        if (e->rt[i].hll_pool)
            n += cw_blocks_memory(e->rt[i].hll_pool);
        for (int w = 0; w < CW_WINDOWS_MAX; w++)
            n += e->rt[i].win_pool[w] ? cw_blocks_memory(e->rt[i].win_pool[w]) : 0;
    }
    return n;
}

/* ---- snapshot support (the format is state.c's; doc/state.md) ---- */

int cw_engine_rule_count(const cw_engine_t *e) { return e->n_rt; }
const cw_rule_t *cw_engine_rule(const cw_engine_t *e, int i) { return e->rt[i].rule; }
int cw_engine_source_count(const cw_engine_t *e) { return e->sources->nelts; }
cw_pos_t cw_engine_source(const cw_engine_t *e, int i) { return APR_ARRAY_IDX(e->sources, i, cw_pos_t); }

void cw_engine_set_position(cw_engine_t *e, uint32_t src, int64_t offset)
{
    if (src < (uint32_t)e->sources->nelts)
        APR_ARRAY_IDX(e->sources, src, cw_pos_t).offset = offset;
}

void cw_engine_save_clock(const cw_engine_t *e, cw_wbuf_t *w)
{
    cw_wbuf_i64(w, e->max_ts);
    cw_wbuf_i64(w, e->first_ts);
    cw_wbuf_i64(w, e->next_silence_check);
}

void cw_engine_load_clock(cw_engine_t *e, cw_rbuf_t *r, bool merge)
{
    cw_time_t max_ts = cw_rbuf_i64(r), first_ts = cw_rbuf_i64(r), next_check = cw_rbuf_i64(r);
    if (!merge || e->max_ts == INT64_MIN) {
        e->max_ts = max_ts;
        e->first_ts = first_ts;
        e->next_silence_check = next_check;
        return;
    }
    /* parts of one engine (or of instances of one group): the oldest clock and start. A part
     * can be older than the others: a partition that moved in a rebalance keeps the part its
     * last owner wrote at the revocation, while the group's part goes on with the instances
     * that kept running. Its records from that checkpoint on are older than the newest clock;
     * they must not be late: the merge feeds them first, then the clock moves on. */
    if (max_ts == INT64_MIN) /* written before any record: it says nothing of time */
        return;
    if (max_ts < e->max_ts)
        e->max_ts = max_ts;
    if (first_ts != INT64_MIN && first_ts < e->first_ts)
        e->first_ts = first_ts;
    if (next_check < e->next_silence_check)
        e->next_silence_check = next_check;
}

void cw_engine_set_tag(cw_engine_t *e, uint32_t src) { e->cur_src = src; }

void cw_engine_save_ring(const cw_engine_t *e, cw_wbuf_t *w, cw_state_select_fn select, void *ctx)
{
    size_t at = cw_wbuf_reserve32(w);
    uint32_t n = 0;
    for (size_t k = e->ring_used; k > 0; k--) {
        const evidence_t *x = &e->ring[(e->ring_next + e->ring_size - k) % e->ring_size];
        if (select && !select(ctx, NULL, NULL, 0, x->src))
            continue;
        n++;
        cw_wbuf_uv(w, x->rules);
        cw_wbuf_u64(w, x->principal);
        cw_wbuf_time(w, x->ts);
        cw_wbuf_vstr(w, x->object, strlen(x->object));
        cw_wbuf_vstr(w, x->statement, strlen(x->statement));
        cw_wbuf_vstr(w, x->subscriber, strlen(x->subscriber));
    }
    cw_wbuf_patch32(w, at, n);
}

static int by_time(const void *a, const void *b)
{
    const evidence_t *x = a, *y = b;
    return x->ts < y->ts ? -1 : x->ts > y->ts;
}

/* After a merge: the ring in event-time order (parts are restored one after the other), the
 * newest ring_size records kept. Stable: records of one part keep their order. */
static void ring_sort(cw_engine_t *e, evidence_t *all, size_t n)
{
    size_t keep = n < e->ring_size ? n : e->ring_size;
    /* insertion sort: each part is sorted already, and a ring holds a few thousand records */
    for (size_t i = 1; i < n; i++) {
        evidence_t t = all[i];
        size_t j = i;
        while (j > 0 && by_time(&all[j - 1], &t) > 0) {
            all[j] = all[j - 1];
            j--;
        }
        all[j] = t;
    }
    memcpy(e->ring, all + (n - keep), keep * sizeof *all);
    e->ring_used = keep;
    e->ring_next = keep % e->ring_size;
}

static void get_text(cw_rbuf_t *r, char *dst, size_t size)
{
    size_t n;
    const char *s = cw_rbuf_vstr(r, size - 1, &n);
    memcpy(dst, s ? s : "", s ? n : 0);
    dst[s ? n : 0] = '\0';
}

bool cw_engine_load_ring(cw_engine_t *e, cw_rbuf_t *r, const int *rule_map, int n_map, bool merge)
{
    uint32_t n = cw_rbuf_count(r, 1 + 8 + 1 + 3, UINT32_MAX, "evidence records");
    evidence_t *all = NULL;
    size_t n_all = 0;
    if (merge && e->ring_size && n) {
        /* what the engine holds, oldest first, then this part's records */
        if (!(all = malloc((e->ring_used + n) * sizeof *all))) {
            cw_rbuf_fail(r, "out of memory");
            return false;
        }
        for (size_t k = e->ring_used; k > 0; k--)
            all[n_all++] = e->ring[(e->ring_next + e->ring_size - k) % e->ring_size];
    }
    for (uint32_t k = 0; k < n && !r->failed; k++) {
        evidence_t tmp, *x = all ? &all[n_all++] : e->ring_size ? &e->ring[e->ring_next] : &tmp;
        uint64_t bits = cw_rbuf_uv(r), mapped = 0;
        for (int b = 0; b < 64 && b < n_map; b++) {
            if ((bits >> b & 1) && rule_map[b] >= 0 && rule_map[b] < 64)
                mapped |= UINT64_C(1) << rule_map[b];
        }
        x->rules = mapped;
        x->src = e->cur_src; /* the restore's tag */
        x->principal = cw_rbuf_u64(r);
        x->ts = cw_rbuf_time(r);
        get_text(r, x->object, sizeof x->object);
        get_text(r, x->statement, sizeof x->statement);
        get_text(r, x->subscriber, sizeof x->subscriber);
        if (!e->ring_size || all)
            continue; /* this configuration keeps no evidence, or merged below */
        /* a smaller ring keeps the newest records, as it would have */
        e->ring_next = (e->ring_next + 1) % e->ring_size;
        if (e->ring_used < e->ring_size)
            e->ring_used++;
    }
    if (all) {
        if (!r->failed)
            ring_sort(e, all, n_all);
        free(all);
    }
    return !r->failed;
}

typedef struct {
    cw_engine_t *e;
    rule_rt_t *rt;
    cw_wbuf_t *w;
    cw_state_select_fn select;
    void *ctx;
    size_t count_at;
    uint32_t n;
} save_ctx_t;

/* A lookup profile: its day, taint and both histograms (only with lookups.quantile, which the
 * fingerprint holds: a snapshot of the rule has it exactly when the rule has it). */
static void save_lookups(cw_wbuf_t *w, const cw_lookups_t *p)
{
    cw_wbuf_sv(w, p->day);
    cw_wbuf_uv(w, p->tainted);
    for (int b = 0; b < CW_LOOKUP_BUCKETS; b++) {
        cw_wbuf_uv(w, p->today[b]);
        cw_wbuf_uv(w, p->learned[b]);
    }
}

static uint32_t get_u32v(cw_rbuf_t *r)
{
    uint64_t v = cw_rbuf_uv(r);
    if (v > UINT32_MAX)
        cw_rbuf_fail(r, "lookup count %llu out of range", (unsigned long long)v);
    return (uint32_t)v;
}

static void load_lookups(cw_rbuf_t *r, cw_lookups_t *p)
{
    p->day = cw_rbuf_sv(r);
    p->tainted = get_u32v(r);
    for (int b = 0; b < CW_LOOKUP_BUCKETS; b++) {
        p->today[b] = get_u32v(r);
        p->learned[b] = get_u32v(r);
    }
}

static void save_threshold(const rule_rt_t *rt, cw_wbuf_t *w, th_state_t *st)
{
    const cw_rule_t *r = rt->rule;
    cw_wbuf_time(w, st->first_ts);
    cw_wbuf_time(w, st->suppressed_until);
    cw_wbuf_uv(w, st->fired);
    cw_wbuf_u8(w, (uint8_t)r->n_windows);
    for (int wi = 0; wi < r->n_windows; wi++) {
        cw_wbuf_uv(w, (uint32_t)rt->nb[wi]);
        cw_state_put_window(w, win_of(rt, st, wi), rt->nb[wi], NULL);
        cw_wbuf_u8(w, rt->hll_off[wi] != 0);
        if (rt->hll_off[wi])
            cw_state_put_hlls(w, hll_of(rt, st, wi), rt->nb[wi]);
        cw_wbuf_u8(w, rt->peak_off[wi] != 0);
        if (rt->peak_off[wi])
            cw_state_put_peaks(w, peaks_of(rt, st, wi));
    }
    cw_wbuf_u8(w, rt->base_off != 0);
    if (rt->base_off)
        cw_state_put_baseline(w, (const cw_baseline_t *)((char *)st + rt->base_off));
    if (rt->lookup_off)
        save_lookups(w, lookups_of(rt, st));
}

static void save_key(void *data, const char *key, size_t len, void *value)
{
    save_ctx_t *c = data;
    cw_wbuf_t *w = c->w;
    if (c->select && !c->select(c->ctx, c->rt->rule, key, len, cw_keytab_tag_of(c->rt->keys, value)))
        return;
    c->n++;
    cw_wbuf_vstr(w, key, len);
    switch (c->rt->rule->kind) {
    case CW_KIND_THRESHOLD: save_threshold(c->rt, w, value); break;
    case CW_KIND_FIRST_SEEN: {
        const seen_key_t *k = value;
        cw_wbuf_time(w, k->first_ts);
        cw_wbuf_time(w, k->suppressed_until);
        break;
    }
    case CW_KIND_SEQUENCE: {
        const seq_state_t *s = value;
        cw_wbuf_time(w, s->trigger_ts);
        cw_wbuf_uv(w, s->src);
        cw_wbuf_uv(w, s->fired);
        cw_wbuf_sv(w, s->off);
        break;
    }
    case CW_KIND_SILENCE: {
        const silence_state_t *s = value;
        cw_wbuf_time(w, s->last_ts);
        cw_wbuf_sv(w, s->hour_head);
        for (int h = 0; h < SILENCE_HOURS; h++)
            cw_wbuf_uv(w, s->counts[h]);
        cw_wbuf_uv(w, s->src);
        cw_wbuf_uv(w, s->fired);
        cw_wbuf_uv(w, s->candidate);
        cw_wbuf_sv(w, s->off);
        if (c->rt->rule->silence_while.n > 0) /* a rule without it keeps the old layout */
            cw_wbuf_uv(w, s->while_n);
        break;
    }
    }
}

static void save_pair(void *data, const char *key, size_t len, void *value)
{
    save_ctx_t *c = data;
    uint64_t h;
    (void)len;
    if (c->select && !c->select(c->ctx, c->rt->rule, NULL, 0, cw_keytab_tag_of(c->rt->pairs, value)))
        return;
    memcpy(&h, key, sizeof h);
    c->n++;
    cw_wbuf_u64(c->w, h);
    cw_wbuf_time(c->w, ((const seen_pair_t *)value)->ts);
}

void cw_engine_save_rule(cw_engine_t *e, int i, cw_wbuf_t *w, cw_state_select_fn select, void *ctx)
{
    rule_rt_t *rt = &e->rt[i];
    save_ctx_t c = {e, rt, w, select, ctx, 0, 0};
    c.count_at = cw_wbuf_reserve32(w);
    cw_keytab_foreach(rt->keys, save_key, &c);
    cw_wbuf_patch32(w, c.count_at, c.n);
    if (rt->pairs) {
        c.n = 0;
        c.count_at = cw_wbuf_reserve32(w);
        cw_keytab_foreach(rt->pairs, save_pair, &c);
        cw_wbuf_patch32(w, c.count_at, c.n);
    }
    if (rt->rule->kind == CW_KIND_SILENCE) {
        c.n = 0;
        c.count_at = cw_wbuf_reserve32(w);
        for (int k = 0; k < rt->n_cand; k++) {
            const char *key = rt->cand_keys + (size_t)k * rt->cand_stride;
            const void *value = cw_keytab_find(rt->keys, key, rt->cand_len[k]);
            if (select && !select(ctx, rt->rule, key, rt->cand_len[k],
                                  value ? cw_keytab_tag_of(rt->keys, value) : CW_STATE_NO_SOURCE))
                continue;
            cw_wbuf_vstr(w, key, rt->cand_len[k]);
            c.n++;
        }
        cw_wbuf_patch32(w, c.count_at, c.n);
    }
}

static uint32_t get_src(cw_rbuf_t *r, const uint32_t *src_map, uint32_t n_src)
{
    uint64_t id = cw_rbuf_uv(r);
    if (r->failed)
        return 0;
    if (id >= n_src) {
        cw_rbuf_fail(r, "source id %llu out of range (%u sources)", (unsigned long long)id, n_src);
        return 0;
    }
    return src_map[id];
}

static bool load_threshold(const rule_rt_t *rt, cw_rbuf_t *r, th_state_t *st, const uint32_t *src_map, uint32_t n_src)
{
    const cw_rule_t *r0 = rt->rule;
    st->first_ts = cw_rbuf_time(r);
    st->suppressed_until = cw_rbuf_time(r);
    st->fired = (uint32_t)cw_rbuf_uv(r);
    if (cw_rbuf_u8(r) != r0->n_windows && !r->failed)
        cw_rbuf_fail(r, "rule %s: window count differs from its definition", r0->id);
    for (int wi = 0; wi < r0->n_windows && !r->failed; wi++) {
        if (cw_rbuf_uv(r) != (uint64_t)rt->nb[wi] && !r->failed) {
            cw_rbuf_fail(r, "rule %s: bucket count differs from its definition", r0->id);
            break;
        }
        if (!win_of(rt, st, wi)->pool) /* a new key's: zeroed */
            cw_window_init(win_of(rt, st, wi), rt->nb[wi], rt->win_pool[wi]);
        cw_state_get_window(r, win_of(rt, st, wi), rt->nb[wi], src_map, n_src);
        if ((cw_rbuf_u8(r) != 0) != (rt->hll_off[wi] != 0) && !r->failed)
            cw_rbuf_fail(r, "rule %s: distinct sketches differ from its definition", r0->id);
        if (rt->hll_off[wi] && !hll_of(rt, st, wi)[0].pool) /* a new key's: zeroed */
            for (int k = 0; k < rt->nb[wi]; k++)
                cw_hll_init(&hll_of(rt, st, wi)[k], rt->hll_pool);
        if (rt->hll_off[wi] && !r->failed)
            cw_state_get_hlls(r, hll_of(rt, st, wi), rt->nb[wi]);
        if ((cw_rbuf_u8(r) != 0) != (rt->peak_off[wi] != 0) && !r->failed)
            cw_rbuf_fail(r, "rule %s: adaptive peaks differ from its definition", r0->id);
        if (rt->peak_off[wi] && !r->failed) {
            if (!peaks_of(rt, st, wi)->pool) /* a new key's: zeroed */
                cw_peaks_init(peaks_of(rt, st, wi), rt->peak_pool);
            cw_state_get_peaks(r, peaks_of(rt, st, wi));
        }
    }
    if ((cw_rbuf_u8(r) != 0) != (rt->base_off != 0) && !r->failed)
        cw_rbuf_fail(r, "rule %s: baseline differs from its definition", r0->id);
    if (rt->base_off && !r->failed)
        cw_state_get_baseline(r, (cw_baseline_t *)((char *)st + rt->base_off));
    if (rt->lookup_off && !r->failed)
        load_lookups(r, lookups_of(rt, st));
    return !r->failed;
}

static void load_value(const rule_rt_t *rt, cw_rbuf_t *r, void *value, const uint32_t *src_map, uint32_t n_src)
{
    switch (rt->rule->kind) {
    case CW_KIND_THRESHOLD: load_threshold(rt, r, value, src_map, n_src); break;
    case CW_KIND_FIRST_SEEN: {
        seen_key_t *k = value;
        k->first_ts = cw_rbuf_time(r);
        k->suppressed_until = cw_rbuf_time(r);
        break;
    }
    case CW_KIND_SEQUENCE: {
        seq_state_t *s = value;
        s->trigger_ts = cw_rbuf_time(r);
        s->src = get_src(r, src_map, n_src);
        s->fired = (uint32_t)cw_rbuf_uv(r);
        s->off = cw_rbuf_sv(r);
        break;
    }
    case CW_KIND_SILENCE: {
        silence_state_t *s = value;
        s->last_ts = cw_rbuf_time(r);
        s->hour_head = cw_rbuf_sv(r);
        for (int h = 0; h < SILENCE_HOURS; h++)
            s->counts[h] = (uint32_t)cw_rbuf_uv(r);
        s->src = get_src(r, src_map, n_src);
        s->fired = (uint16_t)cw_rbuf_uv(r);
        s->candidate = (uint16_t)cw_rbuf_uv(r);
        s->off = cw_rbuf_sv(r);
        if (rt->rule->silence_while.n > 0)
            s->while_n = (uint32_t)cw_rbuf_uv(r);
        break;
    }
    }
}

static bool load_keys(rule_rt_t *rt, cw_rbuf_t *r, const uint32_t *src_map, uint32_t n_src, bool merge)
{
    uint32_t n = cw_rbuf_count(r, 2, UINT32_MAX, "keys");
    cw_keytab_reserve(rt->keys, n);
    weigh_keys(rt, false);
    for (uint32_t k = 0; k < n && !r->failed; k++) {
        size_t len;
        bool created;
        const char *key = cw_rbuf_vstr(r, UINT32_MAX, &len);
        void *value = key ? cw_keytab_get(rt->keys, key, len, &created) : NULL;
        if (r->failed)
            break;
        if (!value || (!created && !merge)) { /* merging parts: the later one's value wins */
            cw_rbuf_fail(r, "rule %s: key %u is %s", rt->rule->id, k, value ? "a duplicate" : "too long");
            break;
        }
        load_value(rt, r, value, src_map, n_src);
    }
    weigh_keys(rt, true);
    return !r->failed;
}

static bool load_pairs(rule_rt_t *rt, cw_rbuf_t *r)
{
    uint32_t n = cw_rbuf_count(r, 8 + 1, UINT32_MAX, "first_seen pairs");
    cw_keytab_reserve(rt->pairs, n);
    for (uint32_t k = 0; k < n && !r->failed; k++) {
        uint64_t h = cw_rbuf_u64(r);
        char key[sizeof h];
        bool created;
        seen_pair_t *p;
        memcpy(key, &h, sizeof h);
        p = cw_keytab_get(rt->pairs, key, sizeof key, &created);
        if (p)
            p->ts = cw_rbuf_time(r);
    }
    return !r->failed;
}

static bool is_candidate(const rule_rt_t *rt, const char *key, size_t len)
{
    for (int k = 0; k < rt->n_cand; k++)
        if (rt->cand_len[k] == len && memcmp(rt->cand_keys + (size_t)k * rt->cand_stride, key, len) == 0)
            return true;
    return false;
}

static bool load_candidates(rule_rt_t *rt, cw_rbuf_t *r, bool merge)
{
    uint32_t n = cw_rbuf_count(r, 1, SILENCE_CANDIDATES, "silence candidates");
    if (!merge)
        rt->n_cand = 0;
    for (uint32_t k = 0; k < n && !r->failed; k++) {
        size_t len;
        const char *key = cw_rbuf_vstr(r, rt->cand_stride, &len);
        if (!key)
            break;
        if (merge && (rt->n_cand >= SILENCE_CANDIDATES || is_candidate(rt, key, len)))
            continue; /* parts are appended in the order they are restored */
        memcpy(rt->cand_keys + (size_t)rt->n_cand * rt->cand_stride, key, len);
        rt->cand_len[rt->n_cand++] = (uint16_t)len;
    }
    return !r->failed;
}

bool cw_engine_load_rule(cw_engine_t *e, int i, cw_rbuf_t *r, const uint32_t *src_map, uint32_t n_src, bool merge)
{
    rule_rt_t *rt = &e->rt[i];
    if (!load_keys(rt, r, src_map, n_src, merge))
        return false;
    if (rt->pairs && !load_pairs(rt, r))
        return false;
    if (rt->rule->kind == CW_KIND_SILENCE && !load_candidates(rt, r, merge))
        return false;
    return true;
}
