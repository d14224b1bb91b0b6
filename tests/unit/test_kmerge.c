/*
 * test_kmerge.c — the partition time merge and the rewind points, without a broker.
 */
#include <stdlib.h>
#include <apr_general.h>
#include "cdrwatch/kmerge.h"
#include "tap.h"

/* Items are event times; a negative item does not decode. */
typedef struct {
    long long ts;
    int id;
} item_t;

static int freed;

static bool head_ts(void *ctx, int input, void *item, cw_time_t *ts)
{
    (void)ctx;
    (void)input;
    *ts = ((item_t *)item)->ts;
    return ((item_t *)item)->ts >= 0;
}

static void free_item(void *ctx, void *item)
{
    (void)ctx;
    (void)item;
    freed++;
}

/* Drain the merge at wall time `now`; write the ids handed out into out (up to max). */
static int drain(cw_kmerge_t *m, cw_time_t now, int *out, int max, cw_kmerge_result_t *last)
{
    int n = 0, input;
    void *item;
    bool decoded;
    cw_time_t until;
    cw_kmerge_result_t r;
    while ((r = cw_kmerge_next(m, now, &input, &item, &decoded, &until)) == CW_KMERGE_ITEM && n < max)
        out[n++] = ((item_t *)item)->id;
    *last = r;
    return n;
}

static void test_merge_order(apr_pool_t *pool)
{
    cw_kmerge_t *m;
    item_t a[] = {{10, 1}, {20, 2}, {30, 3}, {30, 4}};
    item_t b[] = {{5, 11}, {20, 12}, {25, 13}, {40, 14}};
    int out[16], n, a_in, b_in;
    cw_kmerge_result_t last;
    char want[] = "11 1 2 12 13 3 4 14 ", got[64] = "";

    cw_kmerge_create(pool, 4, 1000, head_ts, free_item, NULL, &m);
    a_in = cw_kmerge_add(m);
    b_in = cw_kmerge_add(m);
    is_int(a_in, 0, "first input is 0");
    is_int(b_in, 1, "second input is 1");
    for (int i = 0; i < 4; i++) {
        cw_kmerge_push(m, a_in, &a[i]);
        cw_kmerge_push(m, b_in, &b[i]);
    }
    cw_kmerge_set_eof(m, a_in); /* ignored: pushes after it clear it, and so does this order */
    is_int(cw_kmerge_at_eof(m, a_in), 1, "set_eof marks the input at its end");
    cw_kmerge_set_eof(m, b_in);
    is_int(cw_kmerge_total(m), 8, "eight items buffered");
    n = drain(m, 0, out, 16, &last);
    for (int i = 0; i < n; i++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%d ", out[i]);
    is_str(got, want, "merged by event time; a tie goes to the input added first");
    is_int(last, CW_KMERGE_EMPTY, "then empty");
}

static void test_idle_wait(apr_pool_t *pool)
{
    cw_kmerge_t *m;
    item_t a[] = {{100, 1}, {200, 2}};
    item_t late = {50, 9};
    int input, out[8];
    void *item;
    bool decoded;
    cw_time_t until = 0;
    cw_kmerge_result_t last;

    cw_kmerge_create(pool, 2, 1000, head_ts, NULL, NULL, &m);
    cw_kmerge_add(m);
    cw_kmerge_add(m);
    cw_kmerge_push(m, 0, &a[0]);
    cw_kmerge_push(m, 0, &a[1]);
    /* input 1 is empty and not at its end: the merge waits for it */
    is_int(cw_kmerge_next(m, 5000, &input, &item, &decoded, &until), CW_KMERGE_WAIT,
           "an empty input that is not at its end holds the merge back");
    is_int(until, 6000, "for idle_wait from the moment it started waiting");
    is_int(cw_kmerge_next(m, 5999, &input, &item, &decoded, &until), CW_KMERGE_WAIT,
           "still waiting just before the idle wait ends");
    is_int(cw_kmerge_next(m, 6000, &input, &item, &decoded, &until), CW_KMERGE_ITEM,
           "moves on once the idle wait is over");
    is_int(((item_t *)item)->id, 1, "with the oldest buffered head");
    /* the older record arrives now: it is handed out next, before a[1] */
    cw_kmerge_push(m, 1, &late);
    is_int(cw_kmerge_next(m, 6001, &input, &item, &decoded, &until), CW_KMERGE_ITEM, "next item");
    is_int(((item_t *)item)->id, 9, "the record that arrived late comes before newer heads");
    is_int(input, 1, "from its input");
    /* input 1 at its end: no wait */
    cw_kmerge_set_eof(m, 1);
    is_int(cw_kmerge_next(m, 6001, &input, &item, &decoded, &until), CW_KMERGE_ITEM,
           "an input known at its end does not hold the merge back");
    is_int(((item_t *)item)->id, 2, "the last item");
    is_int(drain(m, 6001, out, 8, &last), 0, "nothing more");
    is_int(last, CW_KMERGE_EMPTY, "empty");

    /* the wait restarts: a new item on 0 while 1 is empty again and not at its end */
    cw_kmerge_push(m, 0, &a[0]);
    cw_kmerge_push(m, 1, &a[1]);
    is_int(cw_kmerge_next(m, 7000, &input, &item, &decoded, &until), CW_KMERGE_ITEM,
           "both inputs have items: no wait");
    is_int(((item_t *)item)->id, 1, "the older head");
    is_int(cw_kmerge_next(m, 7000, &input, &item, &decoded, &until), CW_KMERGE_WAIT,
           "input 0 is empty (not at its end) while input 1 holds an item: wait");
    is_int(until, 8000, "a fresh idle wait");
    cw_kmerge_set_eof(m, 0);
    is_int(cw_kmerge_next(m, 7001, &input, &item, &decoded, &until), CW_KMERGE_ITEM,
           "end of partition on input 0 releases the wait at once");
}

static void test_lagging_and_timers(apr_pool_t *pool)
{
    cw_kmerge_t *m;
    item_t a[] = {{100, 1}, {200, 2}, {300, 3}, {400, 4}};
    item_t b[] = {{150, 11}, {250, 12}};
    int input;
    void *item;
    bool decoded;
    cw_time_t until = 0;

    cw_kmerge_create(pool, 2, 1000, head_ts, NULL, NULL, &m);
    cw_kmerge_add(m);
    cw_kmerge_add(m);
    for (int i = 0; i < 4; i++)
        cw_kmerge_push(m, 0, &a[i]);
    cw_kmerge_set_lagging(m, 1, true);
    is_int(cw_kmerge_next(m, 1000, &input, &item, &decoded, &until), CW_KMERGE_WAIT,
           "an empty input known to lag holds the merge back");
    is_int(cw_kmerge_next(m, 1000000, &input, &item, &decoded, &until), CW_KMERGE_WAIT,
           "however long it takes");
    ok(until == INT64_MAX, "with no deadline");
    cw_kmerge_push(m, 1, &b[0]);
    is_int(cw_kmerge_next(m, 1000000, &input, &item, &decoded, &until), CW_KMERGE_ITEM, "its record arrives");
    is_int(((item_t *)item)->id, 1, "the older head goes first");
    is_int(cw_kmerge_next(m, 1000000, &input, &item, &decoded, &until), CW_KMERGE_ITEM, "next");
    is_int(((item_t *)item)->id, 11, "then the lagging input's record");
    /* input 1 is empty again, not lagging any more: a fresh idle wait of its own */
    is_int(cw_kmerge_next(m, 1000000, &input, &item, &decoded, &until), CW_KMERGE_WAIT,
           "an input that empties again starts a new idle wait");
    is_int(until, 1001000, "measured from now, not from an earlier wait");
    is_int(cw_kmerge_next(m, 1001000, &input, &item, &decoded, &until), CW_KMERGE_ITEM,
           "which ends after idle_wait");
    cw_kmerge_push(m, 1, &b[1]);
    is_int(cw_kmerge_next(m, 1001000, &input, &item, &decoded, &until), CW_KMERGE_ITEM, "next");
    is_int(((item_t *)item)->id, 12, "the item that came after the wait is merged in order");
    cw_kmerge_set_lagging(m, 0, true);
    is_int(cw_kmerge_next(m, 1001000, &input, &item, &decoded, &until), CW_KMERGE_WAIT,
           "lagging is ignored for an input that holds items; 1 is empty: wait");
    cw_kmerge_set_eof(m, 1);
    is_int(cw_kmerge_next(m, 1001000, &input, &item, &decoded, &until), CW_KMERGE_ITEM,
           "end of partition releases it");
    is_int(((item_t *)item)->id, 3, "input 0 goes on");
    is_int(cw_kmerge_next(m, 1001000, &input, &item, &decoded, &until), CW_KMERGE_ITEM, "and on");
    is_int(((item_t *)item)->id, 4, "to its last item");
}

static void test_bad_head(apr_pool_t *pool)
{
    cw_kmerge_t *m;
    item_t bad = {-1, 5}, good = {10, 6};
    int input;
    void *item;
    bool decoded = true;
    cw_time_t until;

    cw_kmerge_create(pool, 2, 1000, head_ts, NULL, NULL, &m);
    cw_kmerge_add(m);
    cw_kmerge_add(m);
    cw_kmerge_push(m, 0, &bad);
    cw_kmerge_push(m, 0, &good);
    is_int(cw_kmerge_next(m, 0, &input, &item, &decoded, &until), CW_KMERGE_ITEM,
           "a head that does not decode is handed out even while waiting");
    ok(!decoded && ((item_t *)item)->id == 5, "marked as not decoded");
    is_int(cw_kmerge_next(m, 0, &input, &item, &decoded, &until), CW_KMERGE_WAIT,
           "the next, decodable head waits for the empty input");
}

static void test_growth_and_clear(apr_pool_t *pool)
{
    cw_kmerge_t *m;
    static item_t items[1000];
    int input, in_order = 1;
    void *item;
    bool decoded;
    cw_time_t until;

    cw_kmerge_create(pool, 1, 0, head_ts, free_item, NULL, &m);
    cw_kmerge_add(m);
    is_int(cw_kmerge_add(m), -1, "no more inputs than max_inputs");
    for (int i = 0; i < 1000; i++) {
        items[i].ts = i / 3;
        items[i].id = i;
        cw_kmerge_push(m, 0, &items[i]);
        if (i % 7 == 0) { /* take some out while pushing so that the ring wraps */
            cw_kmerge_next(m, 0, &input, &item, &decoded, &until);
        }
    }
    is_int(cw_kmerge_count(m, 0), 1000 - 143, "items buffered after the ring grew and wrapped");
    for (int expect = 143; cw_kmerge_count(m, 0) > 500; expect++) {
        cw_kmerge_next(m, 0, &input, &item, &decoded, &until);
        if (((item_t *)item)->id != expect)
            in_order = 0;
    }
    ok(in_order, "FIFO order kept across growth");
    freed = 0;
    cw_kmerge_clear(m);
    is_int(freed, 500, "clear releases every buffered item");
    is_int(cw_kmerge_total(m), 0, "and forgets them");
}

/* ---- rewind points ---- */

/* Brute force: the offset of the first record at or after t (every record before it is older
 * than t). Records are (ts[i], offset i). */
static long long exact_point(const long long *ts, int n, long long t)
{
    for (int i = 0; i < n; i++)
        if (ts[i] >= t)
            return i;
    return n;
}

static void test_rewind(apr_pool_t *pool)
{
    cw_rewind_t *r;
    enum { N = 20000 };
    static long long ts[N];
    long long now = 1000000;
    unsigned seed = 7;
    int wrong = 0, far = 0, exact = 1;

    cw_rewind_create(pool, 64, 500, &r);
    is_int(cw_rewind_point(r, INT64_MIN), 500, "nothing noted: the start");
    is_int(cw_rewind_point(r, 42), 500, "nothing noted: the start for any time");

    /* sorted input, ample samples: exact answers */
    cw_rewind_create(pool, 1024, 100, &r);
    for (int i = 0; i < 10; i++)
        cw_rewind_note(r, 1000 + i * 10, 100 + i);
    is_int(cw_rewind_point(r, 1000), 100, "t at the first record: the first record");
    is_int(cw_rewind_point(r, 1035), 104, "t between records: the first record after t");
    is_int(cw_rewind_point(r, 1040), 104, "t equal to a record's time: that record");
    is_int(cw_rewind_point(r, 5000), 109, "t after everything: the last record (nothing later is known)");

    /* out-of-order input (records up to 300 ms late), growing questions, small capacity: every
     * answer is safe (every record before it is older than t) */
    cw_rewind_create(pool, 16, 0, &r);
    for (int i = 0; i < N; i++) {
        seed = seed * 1103515245 + 12345;
        now += (seed >> 16) % 50;
        ts[i] = now - (long long)((seed >> 8) % 300);
        cw_rewind_note(r, ts[i], i);
        if (i % 97 == 0 && i > 1000) {
            long long t = now - 20000, p = cw_rewind_point(r, t);
            for (long long k = 0; k < p; k++)
                if (ts[k] >= t) {
                    wrong++;
                    break;
                }
            if (p > exact_point(ts, i + 1, t))
                wrong++;
            if (p < exact_point(ts, i + 1, t) - 1000) /* ~2 granules of 4 s at 25 ms a record */
                far++;
        }
    }
    is_int(wrong, 0, "with thinning, every answer re-reads every record at or after t");
    ok(cw_rewind_samples(r) <= 16, "memory stays within the capacity");
    is_int(far, 0, "and no answer re-reads much more than needed");

    /* without thinning the answer is the exact one */
    cw_rewind_create(pool, 100000, 0, &r);
    for (int i = 0; i < N; i++)
        cw_rewind_note(r, ts[i], i);
    for (long long t = ts[N / 2]; t < ts[N - 1]; t += 7919)
        if (cw_rewind_point(r, t) != exact_point(ts, N, t))
            exact = 0;
    ok(exact, "with room for every sample the answer is exact");
}

int main(void)
{
    apr_pool_t *pool;
    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_merge_order(pool);
    test_idle_wait(pool);
    test_lagging_and_timers(pool);
    test_bad_head(pool);
    test_growth_and_clear(pool);
    test_rewind(pool);
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
