/* test_hll.c — distinct counts: exact while small (inline, then in a sketch from the pool),
 * HyperLogLog within its stated error beyond. */
#include <math.h>
#include <string.h>
#include <apr_general.h>
#include "cdrwatch/common.h"
#include "cdrwatch/hll.h"
#include "cdrwatch/window.h"
#include "tap.h"

static uint64_t value_hash(uint64_t i) { return cw_hash64(&i, sizeof i, 99); }

/* Sets held inline, then in a sketch from the pool: exact counts up to CW_HLL_SPARSE values
 * (duplicates, unions across forms), the same count after a round trip through a whole sketch,
 * and every sketch back in the pool once the sets are cleared. */
static void test_forms(cw_hll_pool_t *pool)
{
    cw_hll_t s[4];
    int wrong = 0;
    for (int n = 0; n <= CW_HLL_SPARSE; n++) {
        const cw_hll_t *sets[2] = {&s[0], &s[1]};
        cw_hll_sketch_t whole;
        for (int i = 0; i < 4; i++)
            cw_hll_init(&s[i], pool);
        for (int rep = 0; rep < 2; rep++)
            for (int i = 0; i < n; i++)
                cw_hll_add(&s[0], value_hash((uint64_t)i));
        for (int i = n / 2; i < n + 1; i++) /* overlaps s[0] by half, one value more */
            cw_hll_add(&s[1], value_hash((uint64_t)i));
        wrong += cw_hll_count(&s[0]) != n;
        wrong += cw_hll_union_count(sets, 2) != n + 1;
        cw_hll_get_sketch(&s[0], &whole);
        wrong += !cw_hll_set_sketch(&s[2], &whole) || cw_hll_count(&s[2]) != n;
        wrong += whole.dense || whole.n != n;
        for (int i = 0; i < 4; i++)
            cw_hll_clear(&s[i]);
    }
    is_int(wrong, 0, "0 to 31 values inline or in a sketch: exact counts, unions and round trips");
    {
        cw_hll_t d, e;
        cw_hll_sketch_t whole;
        cw_hll_init(&d, pool);
        cw_hll_init(&e, pool);
        for (uint64_t i = 0; i < 500; i++)
            cw_hll_add(&d, value_hash(i));
        cw_hll_get_sketch(&d, &whole);
        ok(cw_hll_set_sketch(&e, &whole) && cw_hll_dense(&e) && cw_hll_count(&e) == cw_hll_count(&d),
           "a dense sketch round-trips to the same estimate");
        cw_hll_clear(&d);
        cw_hll_clear(&e);
    }
    is_int(cw_blocks_used(pool), 0, "cleared sets gave their sketches back");
}

int main(void)
{
    cw_hll_t a, b, c;
    const cw_hll_t *two[2] = {&a, &b};
    char name[128];
    apr_pool_t *apool;
    cw_hll_pool_t *pool;

    apr_initialize();
    apr_pool_create(&apool, NULL);
    cw_hll_pool_create(apool, &pool);
    test_forms(pool);
    cw_hll_init(&a, pool);
    cw_hll_init(&b, pool);
    cw_hll_init(&c, pool);
    cw_hll_clear(&a);
    is_int((long long)cw_hll_count(&a), 0, "empty set counts 0");
    for (int rep = 0; rep < 3; rep++)
        for (uint64_t i = 0; i < 20; i++)
            cw_hll_add(&a, value_hash(i));
    is_int((long long)cw_hll_count(&a), 20, "20 values added three times: exactly 20");
    ok(!cw_hll_dense(&a), "still exact (sparse) at 20");
    cw_hll_clear(&b);
    for (uint64_t i = 10; i < 30; i++)
        cw_hll_add(&b, value_hash(i));
    is_int((long long)cw_hll_union_count(two, 2), 30, "union of two overlapping small sets is exact: 30");

    /* dense: the relative error must stay within 3 standard errors (1.04/sqrt(256) = 6.5 %) */
    const double se = 1.04 / sqrt((double)CW_HLL_M);
    const int sizes[] = {50, 200, 1000, 10000, 100000};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        double worst = 0;
        for (uint64_t trial = 0; trial < 20; trial++) {
            cw_hll_clear(&c);
            for (int i = 0; i < sizes[s]; i++)
                cw_hll_add(&c, value_hash(trial * 1000003 + (uint64_t)i));
            double err = fabs(cw_hll_count(&c) - sizes[s]) / sizes[s];
            if (err > worst)
                worst = err;
        }
        snprintf(name, sizeof name, "n=%d: worst relative error over 20 trials %.3f <= 3 x %.3f", sizes[s], worst, se);
        ok(worst <= 3 * se, name);
    }
    /* merged dense sets estimate the union */
    cw_hll_clear(&a);
    cw_hll_clear(&b);
    for (uint64_t i = 0; i < 6000; i++)
        cw_hll_add(&a, value_hash(i));
    for (uint64_t i = 3000; i < 9000; i++)
        cw_hll_add(&b, value_hash(i));
    {
        double u = cw_hll_union_count(two, 2);
        snprintf(name, sizeof name, "union of 6000 and 6000 overlapping by 3000: %.0f within 3 standard errors of 9000", u);
        ok(fabs(u - 9000) / 9000 <= 3 * se, name);
    }
    apr_pool_destroy(apool);
    apr_terminate();
    return done_testing();
}
