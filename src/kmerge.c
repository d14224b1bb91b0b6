/*
 * kmerge.c — event-time merge of partition buffers, and rewind points (see kmerge.h).
 *
 * Merge: each input is a ring of item pointers that doubles when full (malloc'd, freed by a pool
 * cleanup), plus what is known of its head (decoded or not, event time). cw_kmerge_next scans the
 * inputs: a partition count is small (tens), so a linear scan beats a heap that would have to be
 * repaired whenever a head changes. An empty input that is not at its end starts its idle wait
 * the first time it holds the merge back; an item or the end of its partition ends it. An input
 * known to lag (the broker has records it has not delivered yet) is waited for without limit.
 *
 * Rewind: a ring of (event time, offset) samples of the prefix maxima of event time; the first
 * sample is the oldest still needed. Samples are taken at most one per "granule" of event time;
 * when the ring is full the granule doubles and the samples are thinned, so any history fits.
 * Dropping samples other than the first only moves answers earlier, which is always safe.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "cdrwatch/kmerge.h"

typedef struct {
    void **ring;
    size_t cap, head, n;
    bool eof;
    bool lagging;    /* known to have records on the broker not delivered yet */
    cw_time_t waiting_since; /* INT64_MIN: not holding the merge back */
    bool head_known; /* the head has been decoded */
    bool head_ok;    /* ... and has an event time */
    cw_time_t head_ts;
} input_t;

struct cw_kmerge {
    input_t *in;
    int n_in, max_in;
    cw_time_t idle_wait;
    cw_kmerge_head_fn head;
    cw_kmerge_free_fn free_item;
    void *ctx;
};

static apr_status_t kmerge_cleanup(void *data)
{
    cw_kmerge_clear(data);
    return APR_SUCCESS;
}

cw_status_t cw_kmerge_create(apr_pool_t *pool, int max_inputs, cw_time_t idle_wait,
                             cw_kmerge_head_fn head, cw_kmerge_free_fn free_item, void *ctx,
                             cw_kmerge_t **out)
{
    cw_kmerge_t *m = apr_pcalloc(pool, sizeof *m);
    if (max_inputs < 1)
        max_inputs = 1;
    m->in = apr_pcalloc(pool, (size_t)max_inputs * sizeof *m->in);
    m->max_in = max_inputs;
    m->idle_wait = idle_wait;
    m->head = head;
    m->free_item = free_item;
    m->ctx = ctx;
    apr_pool_cleanup_register(pool, m, kmerge_cleanup, apr_pool_cleanup_null);
    *out = m;
    return CW_OK;
}

int cw_kmerge_add(cw_kmerge_t *m)
{
    if (m->n_in >= m->max_in)
        return -1;
    memset(&m->in[m->n_in], 0, sizeof m->in[0]);
    m->in[m->n_in].waiting_since = INT64_MIN;
    return m->n_in++;
}

cw_status_t cw_kmerge_push(cw_kmerge_t *m, int input, void *item)
{
    input_t *in = &m->in[input];
    if (in->n == in->cap) {
        size_t cap = in->cap ? in->cap * 2 : 64;
        void **ring = malloc(cap * sizeof *ring);
        if (!ring)
            return CW_ERR_NOMEM;
        for (size_t i = 0; i < in->n; i++)
            ring[i] = in->ring[(in->head + i) % in->cap];
        free(in->ring);
        in->ring = ring;
        in->cap = cap;
        in->head = 0;
    }
    in->ring[(in->head + in->n) % in->cap] = item;
    in->n++;
    in->eof = false;
    in->lagging = false;
    in->waiting_since = INT64_MIN;
    return CW_OK;
}

void cw_kmerge_set_eof(cw_kmerge_t *m, int input)
{
    m->in[input].eof = true;
    m->in[input].lagging = false;
    m->in[input].waiting_since = INT64_MIN;
}

void cw_kmerge_set_lagging(cw_kmerge_t *m, int input, bool lagging)
{
    if (m->in[input].n == 0 && !m->in[input].eof)
        m->in[input].lagging = lagging;
}

size_t cw_kmerge_count(const cw_kmerge_t *m, int input) { return m->in[input].n; }

bool cw_kmerge_at_eof(const cw_kmerge_t *m, int input) { return m->in[input].eof; }

size_t cw_kmerge_total(const cw_kmerge_t *m)
{
    size_t n = 0;
    for (int i = 0; i < m->n_in; i++)
        n += m->in[i].n;
    return n;
}

static void *pop(input_t *in)
{
    void *item = in->ring[in->head];
    in->head = (in->head + 1) % in->cap;
    in->n--;
    in->head_known = false;
    return item;
}

cw_kmerge_result_t cw_kmerge_next(cw_kmerge_t *m, cw_time_t now, int *input, void **item,
                                  bool *decoded, cw_time_t *wait_until)
{
    int best = -1;

    for (int i = 0; i < m->n_in; i++) {
        input_t *in = &m->in[i];
        if (in->n == 0)
            continue;
        if (!in->head_known) {
            in->head_ok = m->head(m->ctx, i, in->ring[in->head], &in->head_ts);
            in->head_known = true;
        }
        if (!in->head_ok) { /* no event time: out at once, it cannot be ordered */
            *input = i;
            *item = pop(in);
            *decoded = false;
            return CW_KMERGE_ITEM;
        }
        if (best < 0 || in->head_ts < m->in[best].head_ts)
            best = i;
    }
    if (best < 0)
        return CW_KMERGE_EMPTY;
    /* Records are buffered: may an empty input still bring an older one? */
    *wait_until = INT64_MIN;
    for (int i = 0; i < m->n_in; i++) {
        input_t *in = &m->in[i];
        if (in->n || in->eof)
            continue;
        if (in->lagging) { /* its records exist: wait for them, however long */
            *wait_until = INT64_MAX;
            continue;
        }
        if (in->waiting_since == INT64_MIN)
            in->waiting_since = now;
        if (now - in->waiting_since < m->idle_wait && in->waiting_since + m->idle_wait > *wait_until)
            *wait_until = in->waiting_since + m->idle_wait;
    }
    if (*wait_until != INT64_MIN)
        return CW_KMERGE_WAIT;
    *input = best;
    *item = pop(&m->in[best]);
    *decoded = true;
    return CW_KMERGE_ITEM;
}

void cw_kmerge_clear(cw_kmerge_t *m)
{
    for (int i = 0; i < m->n_in; i++) {
        input_t *in = &m->in[i];
        while (in->n) {
            void *item = pop(in);
            if (m->free_item)
                m->free_item(m->ctx, item);
        }
        free(in->ring);
        memset(in, 0, sizeof *in);
    }
    m->n_in = 0;
}

/* ---- rewind points ---- */

typedef struct {
    cw_time_t ts;
    int64_t offset;
} sample_t;

struct cw_rewind {
    sample_t *s; /* ring */
    int cap, head, n;
    cw_time_t max_ts;  /* largest event time noted (INT64_MIN: none) */
    cw_time_t granule; /* ms: one sample per granule of event time */
};

#define SAMPLE(r, i) ((r)->s[((r)->head + (i)) % (r)->cap])

cw_status_t cw_rewind_create(apr_pool_t *pool, int capacity, int64_t start_offset, cw_rewind_t **out)
{
    cw_rewind_t *r = apr_pcalloc(pool, sizeof *r);
    if (capacity < 4)
        capacity = 4;
    r->s = apr_pcalloc(pool, (size_t)capacity * sizeof *r->s);
    r->cap = capacity;
    r->max_ts = INT64_MIN;
    r->granule = 1;
    /* the start: reading from here sees everything this tracker knows of */
    r->s[0].ts = INT64_MIN;
    r->s[0].offset = start_offset;
    r->n = 1;
    *out = r;
    return CW_OK;
}

static cw_time_t granule_of(cw_time_t ts, cw_time_t g)
{
    if (ts == INT64_MIN)
        return INT64_MIN; /* the start sample */
    /* floor division, also for times before 1970 */
    return ts >= 0 ? ts / g : -((-ts + g - 1) / g);
}

/* Keep the first sample and one per granule after it. */
static void thin(cw_rewind_t *r)
{
    int kept = 1;
    for (int i = 1; i < r->n; i++) {
        sample_t s = SAMPLE(r, i);
        sample_t last = SAMPLE(r, kept - 1);
        if (kept == 1 || granule_of(s.ts, r->granule) != granule_of(last.ts, r->granule))
            SAMPLE(r, kept++) = s;
    }
    r->n = kept;
}

void cw_rewind_note(cw_rewind_t *r, cw_time_t ts, int64_t offset)
{
    if (r->max_ts != INT64_MIN && ts <= r->max_ts)
        return; /* not a new prefix maximum */
    r->max_ts = ts;
    if (r->n > 1 && granule_of(ts, r->granule) == granule_of(SAMPLE(r, r->n - 1).ts, r->granule))
        return; /* this granule is sampled already */
    while (r->n == r->cap) { /* ends: with a granule wider than the span, 3 samples remain */
        r->granule = r->granule > INT64_MAX / 2 ? INT64_MAX : r->granule * 2;
        thin(r);
    }
    SAMPLE(r, r->n).ts = ts;
    SAMPLE(r, r->n).offset = offset;
    r->n++;
}

int64_t cw_rewind_point(cw_rewind_t *r, cw_time_t t)
{
    while (r->n >= 2 && SAMPLE(r, 1).ts < t) {
        r->head = (r->head + 1) % r->cap;
        r->n--;
    }
    /* Now sample 0 is older than t and sample 1 (if any) is not. The prefix maxima skipped
     * between them lie in sample 0's granule: when t is past that granule they are all older
     * than t, and sample 1 is the first record at or after t — the exact answer. */
    if (r->n >= 2 && t != INT64_MIN &&
        (SAMPLE(r, 0).ts == INT64_MIN || granule_of(t, r->granule) > granule_of(SAMPLE(r, 0).ts, r->granule)))
        return SAMPLE(r, 1).offset;
    return SAMPLE(r, 0).offset;
}

int cw_rewind_samples(const cw_rewind_t *r) { return r->n; }
