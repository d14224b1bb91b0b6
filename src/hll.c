/*
 * hll.c — exact small sets and HyperLogLog registers (see hll.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "cdrwatch/hll.h"
#include "cdrwatch/window.h"

cw_status_t cw_hll_pool_create(apr_pool_t *pool, cw_hll_pool_t **out)
{
    return cw_blocks_create(pool, sizeof(cw_hll_sketch_t), out);
}

static inline cw_hll_sketch_t *sketch_of(const cw_hll_t *h) { return cw_blocks_at(h->pool, h->sketch); }

void cw_hll_init(cw_hll_t *h, cw_hll_pool_t *pool)
{
    memset(h, 0, sizeof *h);
    h->pool = pool;
}

void cw_hll_clear(cw_hll_t *h)
{
    if (h->sketch)
        cw_blocks_give(h->pool, h->sketch);
    cw_hll_init(h, h->pool);
}

/* The inline hashes as a sketch from the pool (sparse, the same hashes in the same order);
 * false (nothing changed) without memory. */
static bool inline_to_sketch(cw_hll_t *h)
{
    uint32_t s = h->pool ? cw_blocks_take(h->pool) : 0;
    if (!s)
        return false;
    h->sketch = s;
    memcpy(sketch_of(h)->u.hash, h->hash, (size_t)h->n * sizeof h->hash[0]);
    sketch_of(h)->n = (uint8_t)h->n;
    h->n = 0;
    return true;
}

static void reg_add(uint8_t *reg, uint64_t hash)
{
    uint32_t idx = (uint32_t)(hash >> (64 - CW_HLL_P));
    uint64_t rest = hash << CW_HLL_P;
    /* rank: position of the first 1 bit in the remaining 64 - P bits, 1-based */
    uint8_t rank = rest ? (uint8_t)(__builtin_clzll(rest) + 1) : (uint8_t)(64 - CW_HLL_P + 1);
    if (rank > reg[idx])
        reg[idx] = rank;
}

static void to_dense(cw_hll_sketch_t *h)
{
    uint64_t held[CW_HLL_SPARSE];
    int n = h->n;
    memcpy(held, h->u.hash, (size_t)n * sizeof held[0]);
    memset(h->u.reg, 0, sizeof h->u.reg);
    for (int i = 0; i < n; i++)
        reg_add(h->u.reg, held[i]);
    h->dense = 1;
    h->n = 0;
}

static void sketch_add(cw_hll_sketch_t *h, uint64_t hash)
{
    if (!h->dense) {
        for (int i = 0; i < h->n; i++) {
            if (h->u.hash[i] == hash)
                return;
        }
        if (h->n < CW_HLL_SPARSE) {
            h->u.hash[h->n++] = hash;
            return;
        }
        to_dense(h);
    }
    reg_add(h->u.reg, hash);
}

void cw_hll_add(cw_hll_t *h, uint64_t hash)
{
    if (!h->sketch) {
        for (uint32_t i = 0; i < h->n; i++)
            if (h->hash[i] == hash)
                return;
        if (h->n < CW_HLL_INLINE) {
            h->hash[h->n++] = hash;
            return;
        }
        if (!inline_to_sketch(h))
            return; /* out of memory: not counted */
    }
    sketch_add(sketch_of(h), hash);
}

bool cw_hll_dense(const cw_hll_t *h) { return h->sketch && sketch_of(h)->dense; }

/* A set's hashes while it is sparse (inline or in its sketch). */
static int hashes_of(const cw_hll_t *h, const uint64_t **hashes)
{
    if (h->sketch) {
        *hashes = sketch_of(h)->u.hash;
        return sketch_of(h)->n;
    }
    *hashes = h->hash;
    return (int)h->n;
}

void cw_hll_get_sketch(const cw_hll_t *h, cw_hll_sketch_t *out)
{
    if (h->sketch) {
        *out = *sketch_of(h);
        return;
    }
    memset(out, 0, sizeof *out);
    out->n = (uint8_t)h->n;
    memcpy(out->u.hash, h->hash, (size_t)h->n * sizeof h->hash[0]);
}

bool cw_hll_set_sketch(cw_hll_t *h, const cw_hll_sketch_t *in)
{
    cw_hll_clear(h);
    if (!in->dense && in->n <= CW_HLL_INLINE) {
        h->n = in->n;
        memcpy(h->hash, in->u.hash, (size_t)in->n * sizeof h->hash[0]);
        return true;
    }
    if (!inline_to_sketch(h))
        return false;
    *sketch_of(h) = *in;
    return true;
}

/* The distinct values among n hashes (n <= DISTINCT_SLOTS / 2): an open-addressed table on the
 * stack, indexed by the hash's own low bits (hashes are uniform). */
#define DISTINCT_SLOTS 512
static int count_distinct(const uint64_t *v, int n)
{
    uint64_t slot[DISTINCT_SLOTS];
    uint8_t used[DISTINCT_SLOTS];
    int d = 0;
    memset(used, 0, sizeof used);
    for (int i = 0; i < n; i++) {
        unsigned h = (unsigned)v[i] & (DISTINCT_SLOTS - 1);
        while (used[h] && slot[h] != v[i])
            h = (h + 1) & (DISTINCT_SLOTS - 1);
        if (!used[h]) {
            used[h] = 1;
            slot[h] = v[i];
            d++;
        }
    }
    return d;
}

static double estimate(const uint8_t *reg)
{
    static double inv_pow2[66]; /* 2^-k, filled once */
    const double m = CW_HLL_M, alpha = 0.7213 / (1.0 + 1.079 / m);
    double sum = 0;
    int zeros = 0;
    if (inv_pow2[0] == 0) {
        for (int k = 0; k < 66; k++)
            inv_pow2[k] = ldexp(1.0, -k);
    }
    for (unsigned i = 0; i < CW_HLL_M; i++) {
        sum += inv_pow2[reg[i]];
        zeros += reg[i] == 0;
    }
    double e = alpha * m * m / sum;
    if (e <= 2.5 * m && zeros > 0)
        e = m * log(m / zeros); /* linear counting */
    return e;
}

double cw_hll_union_count(const cw_hll_t *const *sets, int n)
{
    uint64_t all[8 * CW_HLL_SPARSE];
    _Static_assert(sizeof all / sizeof all[0] <= DISTINCT_SLOTS / 2, "count_distinct's table is half empty at most");
    int total = 0;
    bool exact = true;
    uint8_t reg[CW_HLL_M];

    for (int i = 0; i < n && exact; i++) {
        const uint64_t *hashes;
        int k = hashes_of(sets[i], &hashes);
        if (cw_hll_dense(sets[i]) || total + k > (int)(sizeof all / sizeof all[0]))
            exact = false;
        else {
            memcpy(all + total, hashes, (size_t)k * sizeof all[0]);
            total += k;
        }
    }
    if (exact)
        return count_distinct(all, total);
    memset(reg, 0, sizeof reg);
    for (int i = 0; i < n; i++) {
        if (cw_hll_dense(sets[i])) {
            const uint8_t *sreg = sketch_of(sets[i])->u.reg;
            for (unsigned r = 0; r < CW_HLL_M; r++) {
                if (sreg[r] > reg[r])
                    reg[r] = sreg[r];
            }
        } else {
            const uint64_t *hashes;
            int k = hashes_of(sets[i], &hashes);
            for (int j = 0; j < k; j++)
                reg_add(reg, hashes[j]);
        }
    }
    return estimate(reg);
}
