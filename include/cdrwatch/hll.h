/*
 * hll.h — distinct counting: exact for small sets, HyperLogLog beyond.
 *
 * A cw_hll_t holds up to CW_HLL_SPARSE distinct 64-bit hashes exactly; the next distinct value
 * turns it into 2^CW_HLL_P one-byte registers (HyperLogLog, Flajolet et al. 2007, with the
 * linear-counting correction for small cardinalities). Standard error once dense:
 * 1.04 / sqrt(2^P) = 6.5 % for P = 8. Fixed size (264 bytes), no allocation.
 */
#ifndef CDRWATCH_HLL_H
#define CDRWATCH_HLL_H

#include <stdbool.h>
#include <stdint.h>

#define CW_HLL_P 8
#define CW_HLL_M (1u << CW_HLL_P)
#define CW_HLL_SPARSE 31

typedef struct {
    uint8_t dense;
    uint8_t n; /* sparse: hashes held */
    union {
        uint64_t hash[CW_HLL_SPARSE];
        uint8_t reg[CW_HLL_M];
    } u;
} cw_hll_t;

void cw_hll_init(cw_hll_t *h);
void cw_hll_add(cw_hll_t *h, uint64_t hash);
/* Estimate of the distinct values in the union of n sets (exact while the union is small and
 * every set is sparse). */
double cw_hll_union_count(const cw_hll_t *const *sets, int n);
static inline double cw_hll_count(const cw_hll_t *h) { return cw_hll_union_count(&h, 1); }

#endif
