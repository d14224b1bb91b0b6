/*
 * window.h — sliding windows as rings of time buckets, and the bounded key table that holds
 * one window per (rule, key).
 *
 * A window of n buckets of `width` ms covers the n bucket numbers (head-n, head], where a
 * record at time t falls in bucket floor(t / width) and head is the newest bucket seen. Adding a
 * record newer than head advances head and clears the buckets that fall out (at most n, and
 * each only once per pass: amortised O(1)); the running totals are kept, so reading the window
 * is O(1). A record older than head-n+1 no longer fits and is refused.
 *
 * Most keys have a record or two in a window: a window holds up to CW_WINDOW_CELLS live buckets
 * in itself (104 bytes whatever n), and takes a ring of n buckets from its pool
 * (cw_window_pool_t: one per rule window, a slab of rings reused through a free list, no
 * allocation per record) when a record needs one more; the ring goes back when the window has
 * expired whole. The answers are the ring's, whichever form holds the buckets. Only when the
 * pool cannot grow (out of memory) does a window lose its oldest live bucket instead.
 */
#ifndef CDRWATCH_WINDOW_H
#define CDRWATCH_WINDOW_H

#include <stdbool.h>
#include <apr_pools.h>
#include "cdrwatch/common.h"

typedef struct {
    int64_t sum;         /* metric summed over the bucket's records */
    uint32_t count;      /* records in the bucket */
    uint32_t first_src;  /* evidence: source id of the bucket's first record */
    int64_t first_off;   /* ... and its line or offset */
} cw_bucket_t;

#define CW_WINDOW_CELLS 2

typedef struct {
    int64_t number;  /* bucket number */
    cw_bucket_t b;
} cw_window_cell_t;

/* ---- block pools ----
 * A slab of blocks of one size, numbered from 1, handed out zeroed and taken back through a free
 * list; the slab doubles when full (never an allocation per record). Blocks move when it grows:
 * hold their numbers, not pointers. Windows' rings, peak tables and distinct-count sketches that
 * outgrow their cells come from such pools. */
typedef struct cw_blocks cw_blocks_t;

cw_status_t cw_blocks_create(apr_pool_t *pool, size_t size, cw_blocks_t **out);
/* A zeroed block's number; 0 when the slab cannot grow. */
uint32_t cw_blocks_take(cw_blocks_t *b);
void cw_blocks_give(cw_blocks_t *b, uint32_t n);
void *cw_blocks_at(const cw_blocks_t *b, uint32_t n);
/* Bytes the slab holds (blocks used or free), and blocks in use. */
size_t cw_blocks_memory(const cw_blocks_t *b);
size_t cw_blocks_used(const cw_blocks_t *b);

/* The rings of n buckets of a rule's window. */
typedef cw_blocks_t cw_window_pool_t;

typedef struct {
    int64_t head;    /* newest bucket number; INT64_MIN while empty */
    int64_t sum;     /* over live buckets */
    uint64_t count;  /* records over live buckets */
    cw_window_pool_t *pool;
    uint32_t ring;   /* 0: the cells hold the live buckets; else the pool's ring number + 1 */
    uint32_t cells;  /* cells used (each a live bucket, count > 0) */
    cw_window_cell_t cell[CW_WINDOW_CELLS];
} cw_window_t;

static inline size_t cw_window_size(int n) { (void)n; return sizeof(cw_window_t); }

static inline cw_status_t cw_window_pool_create(apr_pool_t *pool, int n, cw_window_pool_t **out)
{
    return cw_blocks_create(pool, (size_t)n * sizeof(cw_bucket_t), out);
}

/* An empty window of n buckets drawing on pool (w's previous content is not looked at; pool
 * NULL: at most CW_WINDOW_CELLS live buckets, the oldest lost beyond). */
void cw_window_init(cw_window_t *w, int n, cw_window_pool_t *pool);
/* Empty again, its ring back to the pool. */
void cw_window_clear(cw_window_t *w, int n);
/* Move the window forward so that its newest bucket is the one holding t (no-op if t is not
 * newer than head); expired buckets leave the totals. */
void cw_window_advance(cw_window_t *w, int n, cw_time_t width, cw_time_t t);
/* Add a record at t with metric value v. Returns false (and changes nothing) when t is older
 * than the window's oldest live bucket. */
bool cw_window_add(cw_window_t *w, int n, cw_time_t width, cw_time_t t, int64_t v,
                   uint32_t src, int64_t off);
/* Event-time bounds [start, end) of the window ending with the head bucket. */
void cw_window_bounds(const cw_window_t *w, int n, cw_time_t width, cw_time_t *start, cw_time_t *end);
/* The oldest live bucket holding a record, for evidence; false if the window is empty. */
bool cw_window_first(const cw_window_t *w, int n, uint32_t *src, int64_t *off);
/* Records in bucket number k (0 unless it is live). */
uint32_t cw_window_count_at(const cw_window_t *w, int n, int64_t k);
/* The buckets as a ring of n (indexed by bucket number mod n), and back from one with the given
 * head and totals (false when a ring was needed and the pool could not grow: w is then empty).
 * For snapshots. */
void cw_window_get_ring(const cw_window_t *w, int n, cw_bucket_t *ring);
bool cw_window_set_ring(cw_window_t *w, int n, int64_t head, int64_t sum, uint64_t count, const cw_bucket_t *ring);

/* ---- bounded key table ----
 * Open addressing (linear probing, backward-shift deletion) over a slab of fixed-size entries,
 * with an LRU list: when max_keys are tracked, a new key evicts the least recently updated one
 * and the eviction is counted. Entries grow by doubling up to max_keys (never per record).
 * With a weigh function (cw_keytab_weigh_with), a flood of new keys cannot push out a key that
 * holds something: the eviction weighs the CW_KEYTAB_SCAN least recently updated entries and
 * evicts the lightest (the oldest of equals); the older ones it passes over are spared, moved to
 * the recent end of the list and counted. At most CW_KEYTAB_SCAN weighings per new key. */
typedef struct cw_keytab cw_keytab_t;

#define CW_KEYTAB_SCAN 8
/* Bytes of key storage inside an entry (key and NUL): keys of up to 23 bytes live in the entry,
 * longer ones in a slab of key_max + 1 byte slots beside it, reused when their key is evicted. */
#define CW_KEYTAB_INLINE 24

/* What an entry's value would lose if it were evicted: 0 nothing (cold), larger is heavier. */
typedef uint32_t (*cw_keytab_weigh_fn)(void *ctx, const void *value);

cw_status_t cw_keytab_create(apr_pool_t *pool, size_t max_keys, size_t key_max, size_t value_size,
                             cw_keytab_t **out);
/* Find or insert the key; returns its value (zeroed when new, *created set). NULL when the key
 * is longer than key_max (the caller truncates first, so never in practice), or when a new key
 * longer than CW_KEYTAB_INLINE - 1 bytes finds no memory for its slot (it is not tracked). */
void *cw_keytab_get(cw_keytab_t *t, const char *key, size_t len, bool *created);
/* Room for `more` new keys (up to max_keys) in one step instead of doublings, as a restore
 * that knows its key count asks; when memory is short nothing changes (gets grow as usual). */
void cw_keytab_reserve(cw_keytab_t *t, size_t more);
/* Find without inserting or refreshing; NULL if absent. */
void *cw_keytab_find(const cw_keytab_t *t, const char *key, size_t len);
/* Ask the memory for what cw_keytab_get(t, key, len) will read, so that the look-ups of one
 * record in several tables wait for memory together: first each table's index slot, then (once
 * they are on their way) the entries they name. Changes nothing. */
uint64_t cw_keytab_hash(const char *key, size_t len); /* the same in every table */
void cw_keytab_prefetch_slot(const cw_keytab_t *t, uint64_t hash);
void cw_keytab_prefetch_entry(const cw_keytab_t *t, uint64_t hash);
/* Call fn for every entry, least recently updated first. fn must not insert. */
void cw_keytab_foreach(cw_keytab_t *t, void (*fn)(void *ctx, const char *key, size_t len, void *value),
                       void *ctx);
/* Tag every entry got from now on with *src as it is at that moment (the engine points it at
 * the input of the record in hand: checkpoints split the state by input partition). Entries
 * got while src is NULL, or *src is UINT32_MAX, carry no tag (UINT32_MAX). */
void cw_keytab_tag_with(cw_keytab_t *t, const uint32_t *src);
/* The tag of an entry, from the value pointer cw_keytab_get or cw_keytab_foreach gave. */
uint32_t cw_keytab_tag_of(const cw_keytab_t *t, const void *value);
/* Weigh entries before evicting one (see above); NULL: the least recently updated goes. */
void cw_keytab_weigh_with(cw_keytab_t *t, cw_keytab_weigh_fn fn, void *ctx);
/* Call fn with the value of every entry evicted, before the entry is reused (a value that
 * holds something outside the table gives it back); NULL: nothing to do. */
void cw_keytab_release_with(cw_keytab_t *t, void (*fn)(void *ctx, void *value), void *ctx);
/* Bytes allocated (entries, index and long-key slots). */
size_t cw_keytab_memory(const cw_keytab_t *t);
size_t cw_keytab_count(const cw_keytab_t *t);
size_t cw_keytab_max(const cw_keytab_t *t);
uint64_t cw_keytab_evictions(const cw_keytab_t *t);
/* Entries passed over by an eviction because they weighed more than the one evicted. */
uint64_t cw_keytab_spared(const cw_keytab_t *t);

#endif
