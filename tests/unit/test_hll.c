/* test_hll.c — distinct counts: exact while small, HyperLogLog within its stated error beyond. */
#include <math.h>
#include "cdrwatch/common.h"
#include "cdrwatch/hll.h"
#include "tap.h"

static uint64_t value_hash(uint64_t i) { return cw_hash64(&i, sizeof i, 99); }

int main(void)
{
    cw_hll_t a, b, c;
    const cw_hll_t *two[2] = {&a, &b};
    char name[128];

    cw_hll_init(&a);
    is_int((long long)cw_hll_count(&a), 0, "empty set counts 0");
    for (int rep = 0; rep < 3; rep++)
        for (uint64_t i = 0; i < 20; i++)
            cw_hll_add(&a, value_hash(i));
    is_int((long long)cw_hll_count(&a), 20, "20 values added three times: exactly 20");
    ok(!a.dense, "still exact (sparse) at 20");
    cw_hll_init(&b);
    for (uint64_t i = 10; i < 30; i++)
        cw_hll_add(&b, value_hash(i));
    is_int((long long)cw_hll_union_count(two, 2), 30, "union of two overlapping small sets is exact: 30");

    /* dense: the relative error must stay within 3 standard errors (1.04/sqrt(256) = 6.5 %) */
    const double se = 1.04 / sqrt((double)CW_HLL_M);
    const int sizes[] = {50, 200, 1000, 10000, 100000};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        double worst = 0;
        for (uint64_t trial = 0; trial < 20; trial++) {
            cw_hll_init(&c);
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
    cw_hll_init(&a);
    cw_hll_init(&b);
    for (uint64_t i = 0; i < 6000; i++)
        cw_hll_add(&a, value_hash(i));
    for (uint64_t i = 3000; i < 9000; i++)
        cw_hll_add(&b, value_hash(i));
    {
        double u = cw_hll_union_count(two, 2);
        snprintf(name, sizeof name, "union of 6000 and 6000 overlapping by 3000: %.0f within 3 standard errors of 9000", u);
        ok(fabs(u - 9000) / 9000 <= 3 * se, name);
    }
    return done_testing();
}
