/*
 * hll.h — distinct counting: exact for small sets, HyperLogLog beyond.
 *
 * A sketch (cw_hll_sketch_t, 264 bytes) holds up to CW_HLL_SPARSE distinct 64-bit hashes
 * exactly; the next distinct value turns it into 2^CW_HLL_P one-byte registers (HyperLogLog,
 * Flajolet et al. 2007, with the linear-counting correction for small cardinalities). Standard
 * error once dense: 1.04 / sqrt(2^P) = 6.5 % for P = 8.
 *
 * Most sets a window bucket counts are tiny: a cw_hll_t (32 bytes) holds up to CW_HLL_INLINE
 * hashes itself and takes a sketch from its pool (cw_hll_pool_t: a slab of sketches reused
 * through a free list, no allocation per record) when it needs more; clearing it gives the
 * sketch back. The counts are the sketch's, whichever form holds the hashes. Only when the pool
 * cannot grow (out of memory) is a value beyond CW_HLL_INLINE not counted.
 */
#ifndef CDRWATCH_HLL_H
#define CDRWATCH_HLL_H

#include <stdbool.h>
#include <stdint.h>
#include <apr_pools.h>
#include "cdrwatch/common.h"

#define CW_HLL_P 8
#define CW_HLL_M (1u << CW_HLL_P)
#define CW_HLL_SPARSE 31
#define CW_HLL_INLINE 2

typedef struct {
    uint8_t dense;
    uint8_t n; /* sparse: hashes held */
    union {
        uint64_t hash[CW_HLL_SPARSE];
        uint8_t reg[CW_HLL_M];
    } u;
} cw_hll_sketch_t;

/* The sketches of a rule's sets that outgrow their cells (a block pool, window.h). */
typedef struct cw_blocks cw_hll_pool_t;

typedef struct {
    cw_hll_pool_t *pool;
    uint32_t sketch; /* 0: the hashes are inline; else the pool's sketch number + 1 */
    uint32_t n;      /* inline hashes */
    uint64_t hash[CW_HLL_INLINE];
} cw_hll_t;

cw_status_t cw_hll_pool_create(apr_pool_t *pool, cw_hll_pool_t **out);

/* An empty set drawing on pool (h's previous content is not looked at). */
void cw_hll_init(cw_hll_t *h, cw_hll_pool_t *pool);
/* Empty again, its sketch back to the pool. */
void cw_hll_clear(cw_hll_t *h);
void cw_hll_add(cw_hll_t *h, uint64_t hash);
/* Estimate of the distinct values in the union of n sets (exact while the union is small and
 * every set is sparse). */
double cw_hll_union_count(const cw_hll_t *const *sets, int n);
static inline double cw_hll_count(const cw_hll_t *h) { return cw_hll_union_count(&h, 1); }
/* Whether the set is dense (HyperLogLog registers), and the set as a whole sketch and back
 * (cw_hll_set_sketch: false when a sketch was needed and the pool could not grow; h is then
 * empty). For snapshots. */
bool cw_hll_dense(const cw_hll_t *h);
void cw_hll_get_sketch(const cw_hll_t *h, cw_hll_sketch_t *out);
bool cw_hll_set_sketch(cw_hll_t *h, const cw_hll_sketch_t *in);

#endif
