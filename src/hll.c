/*
 * hll.c — exact small sets and HyperLogLog registers (see hll.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "cdrwatch/hll.h"

void cw_hll_init(cw_hll_t *h)
{
    memset(h, 0, sizeof *h);
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

static void to_dense(cw_hll_t *h)
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

void cw_hll_add(cw_hll_t *h, uint64_t hash)
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

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
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
    int total = 0;
    bool exact = true;
    uint8_t reg[CW_HLL_M];

    for (int i = 0; i < n && exact; i++) {
        if (sets[i]->dense || total + sets[i]->n > (int)(sizeof all / sizeof all[0]))
            exact = false;
        else {
            memcpy(all + total, sets[i]->u.hash, (size_t)sets[i]->n * sizeof all[0]);
            total += sets[i]->n;
        }
    }
    if (exact) {
        int distinct = 0;
        qsort(all, (size_t)total, sizeof all[0], cmp_u64);
        for (int i = 0; i < total; i++)
            distinct += i == 0 || all[i] != all[i - 1];
        return distinct;
    }
    memset(reg, 0, sizeof reg);
    for (int i = 0; i < n; i++) {
        if (sets[i]->dense) {
            for (unsigned r = 0; r < CW_HLL_M; r++) {
                if (sets[i]->u.reg[r] > reg[r])
                    reg[r] = sets[i]->u.reg[r];
            }
        } else {
            for (int k = 0; k < sets[i]->n; k++)
                reg_add(reg, sets[i]->u.hash[k]);
        }
    }
    return estimate(reg);
}
