/*
 * window.c — bucket rings and the bounded key table (see window.h for the invariants).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "cdrwatch/window.h"

#define HUGE_PAGE ((uintptr_t)2 << 20)

/* floor division for negative times too */
static inline int64_t bucket_of(cw_time_t t, cw_time_t width)
{
    int64_t q = t / width;
    return (t % width < 0) ? q - 1 : q;
}

static inline int slot_of(int64_t bucket, int n)
{
    int64_t s = bucket % n;
    return (int)(s < 0 ? s + n : s);
}

/* ---- block pools ---- */

struct cw_blocks {
    size_t size;
    unsigned char *slab;
    uint32_t cap, made, free_list; /* free_list: number of the first free block, 0: none */
    size_t used;
};

static apr_status_t blocks_cleanup(void *data)
{
    free(((cw_blocks_t *)data)->slab);
    return APR_SUCCESS;
}

cw_status_t cw_blocks_create(apr_pool_t *pool, size_t size, cw_blocks_t **out)
{
    cw_blocks_t *b = apr_pcalloc(pool, sizeof *b);
    b->size = size < sizeof(uint32_t) ? sizeof(uint32_t) : size;
    apr_pool_cleanup_register(pool, b, blocks_cleanup, apr_pool_cleanup_null);
    *out = b;
    return CW_OK;
}

void *cw_blocks_at(const cw_blocks_t *b, uint32_t n) { return b->slab + (size_t)(n - 1) * b->size; }
size_t cw_blocks_memory(const cw_blocks_t *b) { return (size_t)b->cap * b->size; }
size_t cw_blocks_used(const cw_blocks_t *b) { return b->used; }

uint32_t cw_blocks_take(cw_blocks_t *b)
{
    uint32_t n = b->free_list;
    if (n) {
        memcpy(&b->free_list, cw_blocks_at(b, n), sizeof b->free_list);
    } else {
        if (b->made == b->cap) {
            size_t cap = b->cap ? (size_t)b->cap * 2 : 16;
            unsigned char *slab;
            if (cap > UINT32_MAX - 1 || !(slab = realloc(b->slab, cap * b->size)))
                return 0;
            b->slab = slab;
            b->cap = (uint32_t)cap;
        }
        n = ++b->made;
    }
    memset(cw_blocks_at(b, n), 0, b->size);
    b->used++;
    return n;
}

void cw_blocks_give(cw_blocks_t *b, uint32_t n)
{
    memcpy(cw_blocks_at(b, n), &b->free_list, sizeof b->free_list);
    b->free_list = n;
    b->used--;
}

/* ---- windows ---- */

static inline cw_bucket_t *ring_of(const cw_window_t *w) { return cw_blocks_at(w->pool, w->ring); }

void cw_window_init(cw_window_t *w, int n, cw_window_pool_t *pool)
{
    (void)n;
    memset(w, 0, sizeof *w);
    w->head = INT64_MIN;
    w->pool = pool;
}

void cw_window_clear(cw_window_t *w, int n)
{
    if (w->ring)
        cw_blocks_give(w->pool, w->ring);
    cw_window_init(w, n, w->pool);
}

/* The cells as a ring from the pool; false (nothing changed) without memory. */
static bool cells_to_ring(cw_window_t *w, int n)
{
    uint32_t r = w->pool ? cw_blocks_take(w->pool) : 0;
    if (!r)
        return false;
    w->ring = r;
    for (uint32_t i = 0; i < w->cells; i++)
        ring_of(w)[slot_of(w->cell[i].number, n)] = w->cell[i].b;
    w->cells = 0;
    return true;
}

static void cell_remove(cw_window_t *w, uint32_t i)
{
    w->sum -= w->cell[i].b.sum;
    w->count -= w->cell[i].b.count;
    w->cell[i] = w->cell[--w->cells];
}

void cw_window_advance(cw_window_t *w, int n, cw_time_t width, cw_time_t t)
{
    int64_t b = bucket_of(t, width);
    if (w->head == INT64_MIN) {
        w->head = b;
        return;
    }
    if (b <= w->head)
        return;
    if (!w->ring) {
        for (uint32_t i = 0; i < w->cells;) {
            if (w->cell[i].number <= b - n)
                cell_remove(w, i);
            else
                i++;
        }
    } else if (b - w->head >= n) {
        /* everything expired: the ring goes back */
        cw_blocks_give(w->pool, w->ring);
        w->ring = 0;
        w->sum = 0;
        w->count = 0;
    } else {
        for (int64_t k = w->head + 1; k <= b; k++) {
            cw_bucket_t *bk = &ring_of(w)[slot_of(k, n)];
            w->sum -= bk->sum;
            w->count -= bk->count;
            memset(bk, 0, sizeof *bk);
        }
    }
    w->head = b;
}

/* The bucket numbered k to add to: a ring's slot, a cell (a new one, or the ring the cells turn
 * into when they are full). */
static cw_bucket_t *bucket_for(cw_window_t *w, int n, int64_t k)
{
    uint32_t oldest = 0;
    if (w->ring)
        return &ring_of(w)[slot_of(k, n)];
    for (uint32_t i = 0; i < w->cells; i++) {
        if (w->cell[i].number == k)
            return &w->cell[i].b;
        if (w->cell[i].number < w->cell[oldest].number)
            oldest = i;
    }
    if (w->cells == CW_WINDOW_CELLS) {
        if (cells_to_ring(w, n))
            return &ring_of(w)[slot_of(k, n)];
        cell_remove(w, oldest); /* out of memory only */
    }
    memset(&w->cell[w->cells], 0, sizeof w->cell[0]);
    w->cell[w->cells].number = k;
    return &w->cell[w->cells++].b;
}

bool cw_window_add(cw_window_t *w, int n, cw_time_t width, cw_time_t t, int64_t v, uint32_t src,
                   int64_t off)
{
    int64_t b = bucket_of(t, width);
    cw_bucket_t *bk;
    cw_window_advance(w, n, width, t);
    if (b <= w->head - n)
        return false;
    bk = bucket_for(w, n, b);
    if (bk->count == 0) {
        bk->first_src = src;
        bk->first_off = off;
    }
    bk->sum += v;
    bk->count++;
    w->sum += v;
    w->count++;
    return true;
}

void cw_window_bounds(const cw_window_t *w, int n, cw_time_t width, cw_time_t *start, cw_time_t *end)
{
    *end = (w->head + 1) * width;
    *start = *end - (cw_time_t)n * width;
}

/* The live bucket numbered k, or NULL. */
static const cw_bucket_t *bucket_at(const cw_window_t *w, int n, int64_t k)
{
    if (w->head == INT64_MIN || k > w->head || k <= w->head - n)
        return NULL;
    if (w->ring)
        return &ring_of(w)[slot_of(k, n)];
    for (uint32_t i = 0; i < w->cells; i++)
        if (w->cell[i].number == k)
            return &w->cell[i].b;
    return NULL;
}

uint32_t cw_window_count_at(const cw_window_t *w, int n, int64_t k)
{
    const cw_bucket_t *bk = bucket_at(w, n, k);
    return bk ? bk->count : 0;
}

bool cw_window_first(const cw_window_t *w, int n, uint32_t *src, int64_t *off)
{
    const cw_bucket_t *first = NULL;
    if (w->head == INT64_MIN)
        return false;
    if (w->ring) {
        for (int64_t k = w->head - n + 1; k <= w->head && !first; k++)
            if (ring_of(w)[slot_of(k, n)].count)
                first = &ring_of(w)[slot_of(k, n)];
    } else {
        int64_t oldest = INT64_MAX;
        for (uint32_t i = 0; i < w->cells; i++)
            if (w->cell[i].number < oldest && w->cell[i].b.count) {
                oldest = w->cell[i].number;
                first = &w->cell[i].b;
            }
    }
    if (!first)
        return false;
    *src = first->first_src;
    *off = first->first_off;
    return true;
}

void cw_window_get_ring(const cw_window_t *w, int n, cw_bucket_t *ring)
{
    if (w->ring) {
        memcpy(ring, ring_of(w), (size_t)n * sizeof *ring);
        return;
    }
    memset(ring, 0, (size_t)n * sizeof *ring);
    for (uint32_t i = 0; i < w->cells; i++)
        ring[slot_of(w->cell[i].number, n)] = w->cell[i].b;
}

bool cw_window_set_ring(cw_window_t *w, int n, int64_t head, int64_t sum, uint64_t count, const cw_bucket_t *ring)
{
    int used = 0;
    cw_window_clear(w, n);
    w->head = head;
    w->sum = sum;
    w->count = count;
    for (int i = 0; i < n; i++)
        used += ring[i].count || ring[i].sum || ring[i].first_src || ring[i].first_off;
    if (used > CW_WINDOW_CELLS || (used && head == INT64_MIN) || (used && head <= INT64_MIN + n)) {
        if (!cells_to_ring(w, n)) {
            cw_window_init(w, n, w->pool);
            return false;
        }
        memcpy(ring_of(w), ring, (size_t)n * sizeof *ring);
        return true;
    }
    for (int64_t k = head - n + 1; used && k <= head; k++) {
        const cw_bucket_t *bk = &ring[slot_of(k, n)];
        if (bk->count || bk->sum || bk->first_src || bk->first_off) {
            w->cell[w->cells].number = k;
            w->cell[w->cells++].b = *bk;
        }
    }
    return true;
}

/* ---- bounded key table ---- */

#define NIL UINT32_MAX

typedef struct {
    uint64_t hash;
    uint32_t lru_prev, lru_next; /* towards older / newer */
    uint32_t keylen;
    uint32_t tag; /* *tag_src when the key was last got (cw_keytab_tag_with); NIL: none */
    /* followed by `inline_max` bytes: the key and its NUL when they fit, else the number of its
     * slot in the long-key slab; then the value, 8-byte aligned */
} entry_t;

/* Keys are stored inline up to CW_KEYTAB_INLINE - 1 bytes (a principal, a host name); a longer
 * key (up to key_max) takes a slot of key_max + 1 bytes in a second slab, reused through a free
 * list when its entry is evicted. Entries are thus 24 + 24 bytes plus the value instead of
 * 24 + key_max + 1 (153 bytes for a principal key). */

struct cw_keytab {
    size_t max_keys;
    size_t key_max;
    size_t value_size;
    size_t stride;     /* bytes per entry */
    size_t value_off;  /* offset of the value within an entry */
    size_t inline_max; /* bytes of key storage in the entry (key and NUL) */
    unsigned char *slab;
    char *longs;       /* slots of key_max + 1 bytes for keys longer than inline_max - 1 */
    uint32_t long_cap, long_used, long_free; /* slots allocated, ever used, free list (NIL) */
    size_t cap;        /* entries allocated in slab */
    size_t count;      /* entries in use (0..count-1) */
    uint32_t *index;   /* open-addressing index: entry number + 1, 0 = empty */
    size_t index_mask;
    uint32_t lru_old, lru_new;
    uint64_t evictions;
    uint64_t spared;         /* entries an eviction passed over as heavier */
    const uint32_t *tag_src; /* NULL: entries are not tagged */
    cw_keytab_weigh_fn weigh; /* NULL: evict the least recently updated */
    void *weigh_ctx;
    void (*release)(void *ctx, void *value); /* NULL: an evicted value holds nothing */
    void *release_ctx;
};

static inline entry_t *entry_at(const cw_keytab_t *t, uint32_t i)
{
    return (entry_t *)(t->slab + (size_t)i * t->stride);
}
static inline bool key_is_long(const cw_keytab_t *t, size_t len) { return len >= t->inline_max; }

static inline uint32_t long_slot(const entry_t *e)
{
    uint32_t s;
    memcpy(&s, e + 1, sizeof s);
    return s;
}

static inline char *key_of(const cw_keytab_t *t, entry_t *e)
{
    if (key_is_long(t, e->keylen))
        return t->longs + (size_t)long_slot(e) * (t->key_max + 1);
    return (char *)(e + 1);
}

/* A slot for a long key: from the free list, else a new one (the slab doubles when full). */
static bool long_alloc(cw_keytab_t *t, uint32_t *out)
{
    size_t slot = t->key_max + 1;
    if (t->long_free != NIL) {
        *out = t->long_free;
        memcpy(&t->long_free, t->longs + (size_t)*out * slot, sizeof t->long_free);
        return true;
    }
    if (t->long_used == t->long_cap) {
        size_t cap = t->long_cap ? (size_t)t->long_cap * 2 : 16;
        char *p;
        if (cap > t->max_keys + 1) /* + 1: a new key's slot is taken before an eviction frees one */
            cap = t->max_keys + 1;
        if (cap <= t->long_cap || !(p = realloc(t->longs, cap * slot)))
            return false;
        t->longs = p;
        t->long_cap = (uint32_t)cap;
    }
    *out = t->long_used++;
    return true;
}

static void long_release(cw_keytab_t *t, const entry_t *e)
{
    uint32_t s;
    if (!key_is_long(t, e->keylen))
        return;
    s = long_slot(e);
    memcpy(t->longs + (size_t)s * (t->key_max + 1), &t->long_free, sizeof t->long_free);
    t->long_free = s;
}

static apr_status_t keytab_cleanup(void *data)
{
    cw_keytab_t *t = data;
    free(t->slab);
    free(t->index);
    free(t->longs);
    return APR_SUCCESS;
}

static cw_status_t rebuild_index(cw_keytab_t *t, size_t slots)
{
    uint32_t *idx = calloc(slots, sizeof *idx);
    if (!idx)
        return CW_ERR_NOMEM;
    free(t->index);
    t->index = idx;
    t->index_mask = slots - 1;
    for (uint32_t i = 0; i < t->count; i++) {
        size_t s = entry_at(t, i)->hash & t->index_mask;
        while (t->index[s])
            s = (s + 1) & t->index_mask;
        t->index[s] = i + 1;
    }
    return CW_OK;
}

cw_status_t cw_keytab_create(apr_pool_t *pool, size_t max_keys, size_t key_max, size_t value_size,
                             cw_keytab_t **out)
{
    cw_keytab_t *t = apr_pcalloc(pool, sizeof *t);
    size_t initial = max_keys < 64 ? max_keys : 64;
    if (max_keys == 0 || max_keys > UINT32_MAX / 4)
        return CW_ERR_USAGE;
    t->max_keys = max_keys;
    t->key_max = key_max;
    t->value_size = value_size;
    t->inline_max = key_max + 1 < CW_KEYTAB_INLINE ? key_max + 1 : CW_KEYTAB_INLINE;
    t->value_off = (sizeof(entry_t) + t->inline_max + 7) & ~(size_t)7;
    t->long_free = NIL;
    t->stride = (t->value_off + value_size + 7) & ~(size_t)7;
    t->cap = initial;
    t->slab = calloc(t->cap, t->stride);
    t->lru_old = t->lru_new = NIL;
    apr_pool_cleanup_register(pool, t, keytab_cleanup, apr_pool_cleanup_null);
    if (!t->slab || rebuild_index(t, 128) != CW_OK)
        return CW_ERR_NOMEM;
    *out = t;
    return CW_OK;
}

static void lru_unlink(cw_keytab_t *t, uint32_t i)
{
    entry_t *e = entry_at(t, i);
    if (e->lru_prev != NIL)
        entry_at(t, e->lru_prev)->lru_next = e->lru_next;
    else
        t->lru_old = e->lru_next;
    if (e->lru_next != NIL)
        entry_at(t, e->lru_next)->lru_prev = e->lru_prev;
    else
        t->lru_new = e->lru_prev;
}

static void lru_push_new(cw_keytab_t *t, uint32_t i)
{
    entry_t *e = entry_at(t, i);
    e->lru_prev = t->lru_new;
    e->lru_next = NIL;
    if (t->lru_new != NIL)
        entry_at(t, t->lru_new)->lru_next = i;
    else
        t->lru_old = i;
    t->lru_new = i;
}

/* Index slot holding entry i (it is there). */
static size_t slot_holding(const cw_keytab_t *t, uint32_t i)
{
    size_t s = entry_at(t, i)->hash & t->index_mask;
    while (t->index[s] != i + 1)
        s = (s + 1) & t->index_mask;
    return s;
}

/* Backward-shift deletion from the index: no tombstones, probe chains stay short. */
static void index_remove(cw_keytab_t *t, size_t hole)
{
    size_t s = hole;
    for (;;) {
        s = (s + 1) & t->index_mask;
        if (!t->index[s])
            break;
        size_t ideal = entry_at(t, t->index[s] - 1)->hash & t->index_mask;
        /* move s into the hole if its ideal slot is not in (hole, s] cyclically */
        if (((s - ideal) & t->index_mask) >= ((s - hole) & t->index_mask)) {
            t->index[hole] = t->index[s];
            hole = s;
        }
    }
    t->index[hole] = 0;
}

/* A slab reserved whole for a restore is filled front to back at once: transparent huge pages
 * (where the system offers them on request) take one fault per 2 MB instead of one per 4 KB. A
 * hint only, and not for slabs that grow by doubling as records come (measured: the replay of
 * 100 000 principals took half as long again with it). */
static void huge_pages(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
    uintptr_t start = ((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
    uintptr_t end = ((uintptr_t)p + n) & ~(uintptr_t)(HUGE_PAGE - 1);
    if (end > start)
        (void)madvise((void *)start, end - start, MADV_HUGEPAGE);
#else
    (void)p;
    (void)n;
#endif
}

/* Capacity for cap entries (at most max_keys) in one step, the index sized once. */
static cw_status_t grow_to(cw_keytab_t *t, size_t cap, bool huge)
{
    unsigned char *slab;
    if (cap > t->max_keys)
        cap = t->max_keys;
    if (cap <= t->cap)
        return CW_OK;
    if (!(slab = realloc(t->slab, cap * t->stride)))
        return CW_ERR_NOMEM;
    t->slab = slab;
    if (huge)
        huge_pages(slab, cap * t->stride);
    if (cap * 2 > t->index_mask + 1) {
        size_t slots = t->index_mask + 1;
        while (slots < cap * 2)
            slots *= 2;
        if (rebuild_index(t, slots) != CW_OK)
            return CW_ERR_NOMEM; /* keep the old capacity: the index must stay at most half full */
    }
    t->cap = cap;
    return CW_OK;
}

/* The entry to evict: the lightest of the CW_KEYTAB_SCAN least recently updated (the oldest of
 * equals; the scan stops at the first weightless one). The older ones it passes over weigh more:
 * they move to the recent end, so the next evictions weigh other keys instead of sparing the
 * same ones again, and they come back to the old end after the other keys have been weighed. */
static uint32_t pick_victim(cw_keytab_t *t)
{
    uint32_t victim = t->lru_old, least = UINT32_MAX;
    if (!t->weigh)
        return victim;
    for (uint32_t i = t->lru_old, n = 0; i != NIL && n < CW_KEYTAB_SCAN; n++) {
        uint32_t w = t->weigh(t->weigh_ctx, (unsigned char *)entry_at(t, i) + t->value_off);
        if (w < least) {
            victim = i;
            least = w;
            if (w == 0)
                break;
        }
        i = entry_at(t, i)->lru_next;
    }
    while (t->lru_old != victim) {
        uint32_t heavier = t->lru_old;
        lru_unlink(t, heavier);
        lru_push_new(t, heavier);
        t->spared++;
    }
    return victim;
}

void cw_keytab_reserve(cw_keytab_t *t, size_t more) { (void)grow_to(t, t->count + more, true); }

void *cw_keytab_get(cw_keytab_t *t, const char *key, size_t len, bool *created)
{
    uint64_t h;
    size_t s;
    uint32_t i, long_at = NIL;
    entry_t *e;

    if (len > t->key_max)
        return NULL;
    h = cw_keytab_hash(key, len);
    s = h & t->index_mask;
    while (t->index[s]) {
        i = t->index[s] - 1;
        e = entry_at(t, i);
        if (e->hash == h && e->keylen == len && memcmp(key_of(t, e), key, len) == 0) {
            if (t->lru_new != i) {
                lru_unlink(t, i);
                lru_push_new(t, i);
            }
            e->tag = t->tag_src ? *t->tag_src : NIL;
            *created = false;
            return (unsigned char *)e + t->value_off;
        }
        s = (s + 1) & t->index_mask;
    }
    /* new key; a long one takes its slot first: without memory for it the key is not tracked */
    if (key_is_long(t, len) && !long_alloc(t, &long_at))
        return NULL;
    if (t->count == t->cap && t->cap < t->max_keys)
        (void)grow_to(t, t->cap * 2, false); /* out of memory below the bound: evict instead */
    if (t->count < t->cap) {
        i = (uint32_t)t->count++;
    } else {
        /* evict a cold key among the least recently updated and reuse its entry */
        i = pick_victim(t);
        lru_unlink(t, i);
        index_remove(t, slot_holding(t, i));
        long_release(t, entry_at(t, i));
        if (t->release)
            t->release(t->release_ctx, (unsigned char *)entry_at(t, i) + t->value_off);
        t->evictions++;
    }
    e = entry_at(t, i);
    memset(e, 0, t->stride);
    e->hash = h;
    e->keylen = (uint32_t)len;
    e->tag = t->tag_src ? *t->tag_src : NIL;
    if (key_is_long(t, len))
        memcpy(e + 1, &long_at, sizeof long_at);
    memcpy(key_of(t, e), key, len);
    key_of(t, e)[len] = '\0';
    s = h & t->index_mask;
    while (t->index[s])
        s = (s + 1) & t->index_mask;
    t->index[s] = i + 1;
    lru_push_new(t, i);
    *created = true;
    return (unsigned char *)e + t->value_off;
}

uint64_t cw_keytab_hash(const char *key, size_t len) { return cw_hash64(key, len, 0x6b6579); }

void cw_keytab_prefetch_slot(const cw_keytab_t *t, uint64_t hash) { __builtin_prefetch(&t->index[hash & t->index_mask]); }

void cw_keytab_prefetch_entry(const cw_keytab_t *t, uint64_t hash)
{
    uint32_t v = t->index[hash & t->index_mask];
    if (v)
        __builtin_prefetch(entry_at(t, v - 1));
}

void *cw_keytab_find(const cw_keytab_t *t, const char *key, size_t len)
{
    uint64_t h;
    if (len > t->key_max)
        return NULL;
    h = cw_hash64(key, len, 0x6b6579);
    for (size_t s = h & t->index_mask; t->index[s]; s = (s + 1) & t->index_mask) {
        entry_t *e = entry_at(t, t->index[s] - 1);
        if (e->hash == h && e->keylen == len && memcmp(key_of(t, e), key, len) == 0)
            return (unsigned char *)e + t->value_off;
    }
    return NULL;
}

void cw_keytab_foreach(cw_keytab_t *t, void (*fn)(void *ctx, const char *key, size_t len, void *value),
                       void *ctx)
{
    for (uint32_t i = t->lru_old; i != NIL;) {
        entry_t *e = entry_at(t, i);
        uint32_t next = e->lru_next;
        fn(ctx, key_of(t, e), e->keylen, (unsigned char *)e + t->value_off);
        i = next;
    }
}

size_t cw_keytab_memory(const cw_keytab_t *t)
{
    return t->cap * t->stride + (t->index_mask + 1) * sizeof *t->index +
           (size_t)t->long_cap * (t->key_max + 1);
}

void cw_keytab_tag_with(cw_keytab_t *t, const uint32_t *src) { t->tag_src = src; }

void cw_keytab_weigh_with(cw_keytab_t *t, cw_keytab_weigh_fn fn, void *ctx)
{
    t->weigh = fn;
    t->weigh_ctx = ctx;
}

void cw_keytab_release_with(cw_keytab_t *t, void (*fn)(void *ctx, void *value), void *ctx)
{
    t->release = fn;
    t->release_ctx = ctx;
}

uint32_t cw_keytab_tag_of(const cw_keytab_t *t, const void *value)
{
    return ((const entry_t *)((const unsigned char *)value - t->value_off))->tag;
}

size_t cw_keytab_count(const cw_keytab_t *t) { return t->count; }
size_t cw_keytab_max(const cw_keytab_t *t) { return t->max_keys; }
uint64_t cw_keytab_evictions(const cw_keytab_t *t) { return t->evictions; }
uint64_t cw_keytab_spared(const cw_keytab_t *t) { return t->spared; }
