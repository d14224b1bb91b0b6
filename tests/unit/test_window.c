/* test_window.c — bucket ring arithmetic at bucket edges, windows in cells and in rings against
 * a model of their records, and the bounded key table (long keys in their own slots) and its
 * eviction policy (cold keys go before a key whose state weighs something). */
#include <stdlib.h>
#include <apr_general.h>
#include "cdrwatch/window.h"
#include "tap.h"

#define N 4
#define W 1000 /* bucket width, ms: the window is [head-3, head] buckets = 4 s */

static void test_window(cw_window_pool_t *pool)
{
    cw_window_t *w = malloc(cw_window_size(N));
    cw_time_t s, e;
    uint32_t src;
    int64_t off;

    cw_window_init(w, N, pool);
    ok(!cw_window_first(w, N, &src, &off), "an empty window has no first record");
    ok(cw_window_add(w, N, W, 10500, 5, 1, 100), "first add");
    cw_window_bounds(w, N, W, &s, &e);
    is_int(e, 11000, "window ends at the end of the head bucket");
    is_int(s, 7000, "and starts N buckets earlier");
    cw_window_add(w, N, W, 10999, 1, 1, 101);
    is_int(w->sum, 6, "same bucket up to its last ms");
    cw_window_add(w, N, W, 11000, 10, 1, 102);
    is_int(w->sum, 16, "next bucket at exactly the boundary");
    is_int(w->count, 3, "three records");
    cw_window_add(w, N, W, 13999, 100, 1, 103);
    is_int(w->sum, 116, "bucket 13 still holds bucket 10 (4 buckets: 10..13)");
    cw_window_add(w, N, W, 14000, 1000, 1, 104);
    is_int(w->sum, 1110, "bucket 14 expires bucket 10 (6 gone)");
    is_int(w->count, 3, "count follows");
    ok(cw_window_first(w, N, &src, &off) && off == 102, "first record is now the one in bucket 11");
    ok(!cw_window_add(w, N, W, 10999, 7, 1, 105), "a record for an expired bucket is refused");
    is_int(w->sum, 1110, "and changes nothing");
    ok(cw_window_add(w, N, W, 11500, 7, 1, 106), "a late record inside the window is added");
    is_int(w->sum, 1117, "to its own bucket");
    cw_window_advance(w, N, W, 16000);
    is_int(w->sum, 1100, "advancing to bucket 16 leaves buckets 13..16");
    cw_window_advance(w, N, W, 15000);
    is_int(w->sum, 1100, "advancing backwards is a no-op");
    cw_window_advance(w, N, W, 100000);
    ok(w->sum == 0 && w->count == 0, "a jump past the window clears it");
    ok(!cw_window_add(w, N, W, -1, 3, 2, 1), "a record far older than the window is refused");
    cw_window_bounds(w, N, W, &s, &e);
    is_int(e, 100000 + W, "head stays at the newest bucket");
    free(w);

    w = malloc(cw_window_size(N));
    cw_window_init(w, N, pool);
    cw_window_add(w, N, W, -1, 3, 2, 1);
    cw_window_bounds(w, N, W, &s, &e);
    ok(s == -4000 && e == 0, "bucket of -1 ms is [-1000, 0)");
    free(w);
}

/* A window against a model that keeps every record: random adds (late ones, refused ones, jumps
 * past the window) to windows that hold their buckets in cells, then in a ring from the pool,
 * then give the ring back. Totals, bucket counts, the first record, all as the model says. */
typedef struct {
    int64_t bucket, v, off;
} rec_t;

static void test_window_forms(apr_pool_t *apool)
{
    enum { NB = 12, WIDTH = 1000, RECS = 4000 };
    static rec_t recs[RECS];
    cw_window_pool_t *pool;
    uint64_t x = 88172645463325252ULL;
    int wrong = 0, rings_seen = 0;
    cw_window_pool_create(apool, NB, &pool);
    for (int key = 0; key < 200; key++) {
        cw_window_t w;
        int n = 0;
        int64_t t = 1000000 + key * 7, head = INT64_MIN;
        cw_window_init(&w, NB, pool);
        for (int i = 0; i < 20 + key % 20; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            int r = (int)(x % 100);
            /* mostly near the head, some late, some far ahead */
            t += r < 60 ? (int64_t)(x >> 32) % (3 * WIDTH) : r < 90 ? 0 : (int64_t)(x >> 32) % (40 * WIDTH);
            cw_time_t at = r >= 70 && r < 90 ? t - (int64_t)(x >> 40) % (16 * WIDTH) : t;
            int64_t b = at / WIDTH, v = (int64_t)(x >> 48) % 1000;
            bool added = cw_window_add(&w, NB, WIDTH, at, v, 1, i);
            if (head == INT64_MIN || b > head)
                head = b;
            if (added != (b > head - NB))
                wrong++;
            if (added)
                recs[n++] = (rec_t){b, v, i};
            {
                int64_t sum = 0, first_b = INT64_MAX, first_off = -1;
                uint64_t count = 0;
                uint32_t src;
                int64_t off;
                for (int k = 0; k < n; k++) {
                    if (recs[k].bucket <= head - NB)
                        continue;
                    sum += recs[k].v;
                    count++;
                    if (recs[k].bucket < first_b) {
                        first_b = recs[k].bucket;
                        first_off = recs[k].off;
                    }
                }
                for (int64_t k = head - NB + 1; k <= head; k++) {
                    uint32_t c = 0;
                    for (int j = 0; j < n; j++)
                        c += recs[j].bucket == k;
                    wrong += cw_window_count_at(&w, NB, k) != c;
                }
                wrong += w.sum != sum || w.count != count || w.head != head;
                if (cw_window_first(&w, NB, &src, &off) != (count > 0) || (count && off != first_off))
                    wrong++;
            }
            rings_seen += w.ring != 0;
        }
        cw_window_clear(&w, NB);
    }
    is_int(wrong, 0, "windows in cells and in rings answer as a model of their records");
    ok(rings_seen > 0, "... some needed a ring");
    is_int(cw_blocks_used(pool), 0, "cleared windows gave their rings back");
}

static void test_keytab(apr_pool_t *pool)
{
    cw_keytab_t *t;
    bool created;
    int64_t *v;
    char key[32];
    int found = 0;

    ok(cw_keytab_create(pool, 100, 16, sizeof(int64_t), &t) == CW_OK, "create a table of 100 keys");
    v = cw_keytab_get(t, "alice", 5, &created);
    ok(v && created && *v == 0, "new key, zeroed value");
    *v = 42;
    v = cw_keytab_get(t, "alice", 5, &created);
    ok(v && !created && *v == 42, "same key finds its value");
    ok(cw_keytab_get(t, "this key is far too long", 24, &created) == NULL, "a key over key_max is refused");

    /* 250 keys into 100 slots: the 150 least recently used are evicted */
    for (int i = 0; i < 250; i++) {
        int n = snprintf(key, sizeof key, "k%d", i);
        v = cw_keytab_get(t, key, (size_t)n, &created);
        *v = i;
        if (i == 120) {
            /* touch alice... she was evicted long ago; touch k110 to keep it young */
            cw_keytab_get(t, "k110", 4, &created);
        }
    }
    is_int(cw_keytab_count(t), 100, "the table holds at most max_keys");
    is_int(cw_keytab_evictions(t), 151, "151 evictions counted (alice and 150 others)");
    for (int i = 150; i < 250; i++) {
        int n = snprintf(key, sizeof key, "k%d", i);
        v = cw_keytab_get(t, key, (size_t)n, &created);
        found += !created && *v == i;
    }
    is_int(found, 100, "the 100 most recent keys are all still there with their values");
    v = cw_keytab_get(t, "k110", 4, &created);
    ok(created, "k110 was touched at 120 but is older than k150..k249: evicted");
    v = cw_keytab_get(t, "alice", 5, &created);
    ok(created && *v == 0, "an evicted key comes back new");

    /* a tiny table: every insertion past one evicts; lookups stay correct under backward shift */
    ok(cw_keytab_create(pool, 1, 8, sizeof(int64_t), &t) == CW_OK, "a table of one key");
    *(int64_t *)cw_keytab_get(t, "a", 1, &created) = 1;
    *(int64_t *)cw_keytab_get(t, "b", 1, &created) = 2;
    v = cw_keytab_get(t, "b", 1, &created);
    ok(!created && *v == 2 && cw_keytab_evictions(t) == 1, "one key, one eviction");

    {
        /* churn: random access over 3000 keys with a bound of 1000; check consistency */
        int errors = 0;
        uint64_t x = 88172645463325252ULL;
        cw_keytab_create(pool, 1000, 16, sizeof(int64_t), &t);
        for (int i = 0; i < 200000; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            int k = (int)(x % 3000);
            int n = snprintf(key, sizeof key, "key%d", k);
            v = cw_keytab_get(t, key, (size_t)n, &created);
            if (!created && *v != k)
                errors++;
            *v = k;
        }
        is_int(errors, 0, "200000 random operations: every found key holds its own value");
        is_int(cw_keytab_count(t), 1000, "and the bound holds");
    }
}

/* foreach: every key comes back whole (NUL after it) with its value */
static void check_key(void *ctx, const char *key, size_t len, void *value)
{
    int *errors = ctx;
    char want[160];
    int n = snprintf(want, sizeof want, "%0*d", (int)(*(int64_t *)value % 100) + 1, (int)*(int64_t *)value);
    if ((size_t)n != len || memcmp(key, want, len) != 0 || key[len] != '\0')
        (*errors)++;
}

/* Keys longer than the entry holds inline live in their own slots, reused after an eviction. */
static void test_keytab_long_keys(apr_pool_t *pool)
{
    cw_keytab_t *t, *wide;
    bool created;
    int64_t *v;
    char key[160];
    int errors = 0, n;
    uint64_t x = 88172645463325252ULL;

    cw_keytab_create(pool, 500, 128, sizeof(int64_t), &t);
    /* key k is k zero-padded to (k % 100) + 1 digits: 1 to 100 bytes, inline and long mixed */
    for (int i = 0; i < 300000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int k = (int)(x % 2000);
        n = snprintf(key, sizeof key, "%0*d", k % 100 + 1, k);
        v = cw_keytab_get(t, key, (size_t)n, &created);
        if (!v || (!created && *v != k))
            errors++;
        if (v)
            *v = k;
    }
    is_int(errors, 0, "300000 random operations on keys of 1 to 100 bytes: every found key holds its own value");
    is_int(cw_keytab_count(t), 500, "and the bound holds");
    errors = 0;
    cw_keytab_foreach(t, check_key, &errors);
    is_int(errors, 0, "every key read back whole, short or long");
    n = snprintf(key, sizeof key, "%0*d", 1999 % 100 + 1, 1999);
    v = cw_keytab_find(t, key, (size_t)n);
    ok(!v || *v == 1999, "a long key is found by its whole text");
    key[n - 1] = 'x';
    ok(cw_keytab_find(t, key, (size_t)n) == NULL, "a long key differing in its last byte is another key");

    /* entries no longer reserve key_max bytes each: 500 short keys of a 128-byte table take
     * what they take in a 16-byte table */
    cw_keytab_create(pool, 500, 128, sizeof(int64_t), &wide);
    cw_keytab_create(pool, 500, 16, sizeof(int64_t), &t);
    for (int i = 0; i < 500; i++) {
        n = snprintf(key, sizeof key, "p%d", i);
        cw_keytab_get(wide, key, (size_t)n, &created);
        cw_keytab_get(t, key, (size_t)n, &created);
    }
    is_int(cw_keytab_memory(wide), cw_keytab_memory(t), "short keys cost the same whatever key_max");
}

/* weight = the value itself (an int64 >= 0), and how many times the table asked */
static int weighings;
static uint32_t weigh_value(void *ctx, const void *value)
{
    (void)ctx;
    weighings++;
    return (uint32_t)*(const int64_t *)value;
}

/* Insert n one-shot keys "f<from>".."f<from+n-1>" of weight 0; the most weighings one insert took. */
static int flood(cw_keytab_t *t, int from, int n)
{
    char key[32];
    bool created;
    int most = 0;
    for (int i = from; i < from + n; i++) {
        int len = snprintf(key, sizeof key, "f%d", i);
        weighings = 0;
        *(int64_t *)cw_keytab_get(t, key, (size_t)len, &created) = 0;
        most = weighings > most ? weighings : most;
    }
    return most;
}

static void test_keytab_eviction_policy(apr_pool_t *pool)
{
    cw_keytab_t *lru, *t;
    bool created;
    int64_t *v;
    int most;

    /* a thief's state (weight 500) in a table of 10 while 100 one-shot keys come */
    cw_keytab_create(pool, 10, 16, sizeof(int64_t), &lru);
    cw_keytab_create(pool, 10, 16, sizeof(int64_t), &t);
    cw_keytab_weigh_with(t, weigh_value, NULL);
    *(int64_t *)cw_keytab_get(lru, "thief", 5, &created) = 500;
    *(int64_t *)cw_keytab_get(t, "thief", 5, &created) = 500;
    flood(lru, 0, 100);
    most = flood(t, 0, 100);
    ok(cw_keytab_find(lru, "thief", 5) == NULL, "without weights a flood of 10x max_keys evicts the thief");
    v = cw_keytab_find(t, "thief", 5);
    ok(v && *v == 500, "with weights the thief's state outlives a flood of 10x max_keys");
    is_int(cw_keytab_count(t), 10, "the flood keeps the table at max_keys");
    is_int(cw_keytab_evictions(t), 91, "91 evictions counted (101 keys, 10 kept), none of them the thief");
    /* the thief is the oldest at the 1st eviction, then again every 9 (the other keys pass) */
    is_int(cw_keytab_spared(t), 11, "the thief was spared once per pass over the table: 11 times");
    is_int(cw_keytab_spared(lru), 0, "a table without weights spares nothing");
    ok(most >= 1 && most <= CW_KEYTAB_SCAN, "each insertion weighed at most CW_KEYTAB_SCAN keys");
    ok(cw_keytab_find(t, "f99", 3) && cw_keytab_find(t, "f91", 3) && !cw_keytab_find(t, "f90", 3),
       "the 9 newest one-shot keys are there beside the thief, older ones evicted");

    /* once its state is worth nothing (its window passed), the thief goes like any cold key */
    if ((v = cw_keytab_find(t, "thief", 5)))
        *v = 0;
    flood(t, 100, 10);
    ok(cw_keytab_find(t, "thief", 5) == NULL, "a key that no longer weighs anything is evicted");

    /* every key heavy: the lightest of the oldest goes, and the bound still holds */
    cw_keytab_create(pool, 4, 16, sizeof(int64_t), &t);
    cw_keytab_weigh_with(t, weigh_value, NULL);
    *(int64_t *)cw_keytab_get(t, "w300", 4, &created) = 300;
    *(int64_t *)cw_keytab_get(t, "w100", 4, &created) = 100;
    *(int64_t *)cw_keytab_get(t, "w400", 4, &created) = 400;
    *(int64_t *)cw_keytab_get(t, "w200", 4, &created) = 200;
    *(int64_t *)cw_keytab_get(t, "new", 3, &created) = 1000;
    ok(!cw_keytab_find(t, "w100", 4) && cw_keytab_find(t, "w300", 4) && cw_keytab_find(t, "w200", 4),
       "all heavy: the lightest (w100) is evicted, not the oldest (w300)");
    is_int(cw_keytab_spared(t), 1, "w300, older and heavier, was spared");

    /* equal weights: the least recently updated goes, as without weights */
    cw_keytab_create(pool, 3, 16, sizeof(int64_t), &t);
    cw_keytab_weigh_with(t, weigh_value, NULL);
    for (int i = 0; i < 3; i++)
        *(int64_t *)cw_keytab_get(t, i == 0 ? "a" : i == 1 ? "b" : "c", 1, &created) = 7;
    cw_keytab_get(t, "a", 1, &created); /* a is now the most recent */
    *(int64_t *)cw_keytab_get(t, "d", 1, &created) = 7;
    ok(!cw_keytab_find(t, "b", 1) && cw_keytab_find(t, "a", 1) && cw_keytab_spared(t) == 0,
       "equal weights: the least recently updated (b) is evicted, nothing spared");

    {
        /* churn with random weights: the index and the list stay consistent under the moves */
        int errors = 0;
        uint64_t x = 88172645463325252ULL;
        char key[32];
        cw_keytab_create(pool, 500, 16, sizeof(int64_t), &t);
        cw_keytab_weigh_with(t, weigh_value, NULL);
        for (int i = 0; i < 100000; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            int k = (int)(x % 2000);
            int n = snprintf(key, sizeof key, "key%d", k);
            v = cw_keytab_get(t, key, (size_t)n, &created);
            if (!created && *v != k % 5)
                errors++;
            *v = k % 5; /* weights 0..4 */
        }
        is_int(errors, 0, "100000 random operations with weights: every found key holds its own value");
        is_int(cw_keytab_count(t), 500, "and the bound holds");
    }
}

int main(void)
{
    apr_pool_t *pool;
    apr_initialize();
    apr_pool_create(&pool, NULL);
    {
        cw_window_pool_t *wp;
        cw_window_pool_create(pool, N, &wp);
        test_window(wp);
        test_window_forms(pool);
    }
    test_keytab(pool);
    test_keytab_long_keys(pool);
    test_keytab_eviction_policy(pool);
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
