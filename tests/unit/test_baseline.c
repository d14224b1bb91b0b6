/* test_baseline.c — hour-of-week profiles: slots, zero hours, EWMA arithmetic, fallbacks; the
 * adaptive peaks: per hour of day (or its neighbours), never overlapping the window judged, 14
 * days kept, in cells or in a table alike; and the lookup profiles: buckets, the learned cut and rate, the daily fold, its decay and taint, and
 * the binomial tail. */
#include <math.h>
#include <string.h>
#include <apr_general.h>
#include "cdrwatch/baseline.h"
#include "cdrwatch/window.h"
#include "tap.h"

#define H CW_MS_PER_HOUR
static const cw_time_t MONDAY = 1772409600000LL; /* 2026-03-02T00:00:00Z, a Monday */

static void test_peaks(cw_peaks_pool_t *pool)
{
    const cw_time_t D = 24 * H;
    cw_peaks_t p;
    cw_peaks_init(&p, pool);
    ok(cw_peaks_high(&p, MONDAY + D, H, 0) < 0, "peaks: no history, no figure");
    cw_peaks_add(&p, MONDAY + 2 * H + 60000, 300);
    cw_peaks_add(&p, MONDAY + 2 * H + 120000, 200); /* lower: the peak stays 300 */
    cw_peaks_add(&p, MONDAY + 5 * H, 50);
    ok(cw_peaks_high(&p, MONDAY + D + 2 * H + 60000, H, 0) == 300, "peaks: the same hour of an earlier day: 300");
    ok(cw_peaks_high(&p, MONDAY + D + 3 * H, H, 0) == 0, "peaks: another hour of a day with history: 0");
    ok(cw_peaks_high(&p, MONDAY + 2 * H + 30 * 60000, H, 0) < 0, "peaks: the hour being judged is not its own history");
    /* a 24-hour window at Tuesday 04:00 covers Monday 04:00 on: only Monday 02-03 qualifies */
    ok(cw_peaks_high(&p, MONDAY + D + 4 * H, D, -1) == 300, "peaks: a day window compares with hours that ended a day before");
    ok(cw_peaks_high(&p, MONDAY + D + 2 * H, D, -1) == 0, "peaks: ... and not with the hours it overlaps (02 on)");
    ok(cw_peaks_high(&p, MONDAY + 14 * D + 2 * H, H, 0) < 0, "peaks: history older than 14 days is forgotten");
    cw_peaks_add(&p, MONDAY + 14 * D + 9 * H, 7);
    ok(cw_peaks_high(&p, MONDAY + 15 * D + 2 * H, H, 0) == 0, "peaks: a row reused 14 days later starts empty");
    cw_peaks_add(&p, MONDAY + 13 * D + 23 * H, 40);
    ok(cw_peaks_high(&p, MONDAY + 15 * D + 10 * H, H, 1) == 7, "peaks: near 1: the hour either side counts (09 for 10)");
    ok(cw_peaks_high(&p, MONDAY + 15 * D + 11 * H, H, 1) == 0, "peaks: ... but not two hours off (09 for 11)");
    ok(cw_peaks_high(&p, MONDAY + 15 * D + 10 * H, H, 0) == 0, "peaks: near 0: the same hour of day only");
    ok(cw_peaks_high(&p, MONDAY + 15 * D + 30 * 60000, H, 1) == 40, "peaks: near 1 wraps around midnight (23 for 00)");
    ok(cw_peaks_high(&p, MONDAY + 15 * D + 12 * H, H, 3) == 7, "peaks: near 3 reaches 09 from 12");
    cw_peaks_add(&p, MONDAY + 3 * H, 1000); /* a late record of a day whose row was reused */
    ok(cw_peaks_high(&p, MONDAY + 15 * D + 9 * H, H, 0) == 7, "peaks: a late record does not overwrite a newer day");
}

/* Peaks held as cells, then as a table from the pool, answer as a whole table does: random adds
 * (late ones, zeros, rows reused after 14 days) and questions, against cw_peaks_rows_t. */
static void test_peaks_forms(cw_peaks_pool_t *pool)
{
    uint64_t x = 88172645463325252ULL;
    int wrong = 0, rows_wrong = 0, tables = 0;
    for (int key = 0; key < 400; key++) {
        cw_peaks_t p;
        cw_peaks_rows_t ref, got;
        cw_time_t t = MONDAY + (cw_time_t)key * 7 * H;
        int adds = key % 40; /* some keys stay in cells, others need a table */
        cw_peaks_init(&p, pool);
        cw_peaks_rows_init(&ref);
        for (int i = 0; i < adds; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            cw_time_t at = t + (cw_time_t)(x % (20 * 24)) * H - 3 * 24 * H; /* late ones too */
            double v = (x >> 20) % 5 == 0 ? 0 : (double)((x >> 24) % 100000);
            if ((x >> 40) % 8 == 0)
                t += 24 * H; /* time goes on: rows are reused */
            cw_peaks_add(&p, at, v);
            cw_peaks_rows_add(&ref, at, v);
            for (int q = 0; q < 4; q++) {
                cw_time_t ask = t + (cw_time_t)((x >> (8 * q)) % 48) * H;
                cw_time_t window = q % 2 ? H : 24 * H;
                int near = q - 1;
                wrong += cw_peaks_high(&p, ask, window, near) != cw_peaks_rows_high(&ref, ask, window, near);
            }
        }
        cw_peaks_get_rows(&p, &got);
        rows_wrong += memcmp(&got, &ref, sizeof ref) != 0;
        tables += p.table != 0;
        cw_peaks_clear(&p);
    }
    is_int(wrong, 0, "peaks: cells and tables give a whole table's answers (6400 random questions)");
    is_int(rows_wrong, 0, "peaks: ... and hold the same table");
    ok(tables > 100 && tables < 400, "peaks: some keys needed a table, others did not");
    is_int(cw_blocks_used(pool), 0, "peaks: cleared keys gave their tables back");
}

static void test_lookups(void)
{
    const cw_time_t D = 24 * H;
    cw_lookups_t p;
    int cut;
    double rate;
    is_int(cw_lookups_bucket(0), 0, "lookups: size 0 is bucket 0");
    is_int(cw_lookups_bucket(1), 4, "lookups: size 1 % is bucket 4 (a quarter octave of 1 + x)");
    is_int(cw_lookups_bucket(100), 26, "lookups: 100 % is bucket 26");
    is_int(cw_lookups_bucket(250), 31, "lookups: 250 % is bucket 31");
    is_int(cw_lookups_bucket(1e30), CW_LOOKUP_BUCKETS - 1, "lookups: the last bucket is open");
    ok(fabs(cw_lookups_edge(26) - 89.509) < 0.001, "lookups: bucket 26 starts at 89.51 %");

    cw_lookups_init(&p);
    /* day 0: 95 lookups at 80 % (bucket 25), 5 at 250 % (bucket 31); nothing learned yet */
    for (int i = 0; i < 100; i++)
        cw_lookups_add(&p, MONDAY + i * 60000, i < 95 ? 25 : 31);
    is_int((int)cw_lookups_cut(&p, 0.95, &cut, &rate), 0, "lookups: today is not learned before it ends");
    cw_lookups_add(&p, MONDAY + D, 25); /* day 1 starts: day 0 is folded */
    is_int((int)cw_lookups_cut(&p, 0.95, &cut, &rate), 100, "lookups: a day is learned when the next starts");
    is_int(cut, 25, "lookups: 5 % above bucket 25 -> the 95th percentile's cut is 25");
    ok(fabs(rate - 6.0 / 102) < 1e-12, "lookups: the usual rate above it is (5 + 1) / (100 + 2)");
    cw_lookups_cut(&p, 0.99, &cut, &rate);
    is_int(cut, 31, "lookups: for the 99th, the 5 big ones are under the cut (31)");
    ok(fabs(rate - 1.0 / 102) < 1e-12, "lookups: ... and none above: rate 1 / 102 (Laplace), not 0");
    /* day 1 is tainted: not learned; the learned counts lose an eighth a day */
    for (int i = 0; i < 50; i++)
        cw_lookups_add(&p, MONDAY + D + 60000 + i, 40);
    p.tainted = 1;
    cw_lookups_add(&p, MONDAY + 2 * D, 25);
    is_int((int)p.learned[40], 0, "lookups: a tainted day is not learned");
    is_int((int)p.learned[25], 95 - 12, "lookups: the learned counts lose an eighth (rounded up) a day");
    is_int((int)p.tainted, 0, "lookups: the taint ends with its day");
    cw_lookups_add(&p, MONDAY + 200 * D, 25); /* months later: the old counts have faded */
    is_int((int)p.learned[25], 1, "lookups: after 64 idle days only the last day's lookup is left");

    ok(cw_binomial_tail(100, 3, 0.05) == 1, "binomial: at or under the expectation the tail is 1");
    ok(fabs(cw_binomial_tail(10, 10, 0.5) - pow(0.5, 10)) < 1e-15, "binomial: P(X >= n) = p^n");
    ok(fabs(cw_binomial_tail(20, 3, 0.05) - 0.07548367) < 1e-7, "binomial: P(X >= 3 | 20, 0.05) = 0.0754837");
    ok(cw_binomial_tail(24, 10, 0.00794) < 1e-14, "binomial: 10 of 24 at 0.8 % is about 1.8e-15");
    /* reference values: scipy.stats.binom.sf(k - 1, n, p) */
    ok(fabs(cw_binomial_tail(4800, 270, 0.05) / 0.0269688899 - 1) < 1e-6,
       "binomial: 270 of 4800 at 5 % (z 2) is 0.02697, far from 1e-6");
    ok(fabs(cw_binomial_tail(4800, 350, 0.05) / 4.567182041e-12 - 1) < 1e-6,
       "binomial: 350 of 4800 at 5 % (z 7.3) is 4.567e-12");
    ok(cw_binomial_tail(5, 6, 0.5) == 0, "binomial: more than n is impossible");
}

int main(void)
{
    cw_baseline_t b;
    double mean, var;
    cw_base_level_t l;

    cw_baseline_init(&b);
    is_int(cw_baseline_expect(&b, MONDAY, 1, 1, &mean, &var), CW_BASE_NONE, "no observations: no baseline");

    /* Monday 10:00-11:00: 100 then 50 rows; the hour closes when Monday 11:xx arrives */
    cw_baseline_add(&b, MONDAY + 10 * H + 60000, 100, 0.5);
    cw_baseline_add(&b, MONDAY + 10 * H + 120000, 50, 0.5);
    cw_baseline_add(&b, MONDAY + 12 * H, 0, 0.5);
    is_int(b.n[10], 1, "Monday 10h slot observed once");
    cw_baseline_expect(&b, MONDAY + 10 * H, 1, 1, &mean, &var);
    ok(fabs(mean - 150) < 1e-3 && var == 0, "first observation: mean 150, variance 0");
    is_int(b.n[11], 1, "the empty hour 11h is an observation of zero");
    cw_baseline_expect(&b, MONDAY + 11 * H, 1, 1, &mean, &var);
    ok(mean == 0, "with mean 0");

    /* the same slot a week later with 250: alpha 0.5 -> mean 200, var (1-a)(0 + d*a*d) = 0.5*100*50 = 2500 */
    cw_baseline_add(&b, MONDAY + 7 * 24 * H + 10 * H, 250, 0.5);
    cw_baseline_add(&b, MONDAY + 7 * 24 * H + 11 * H, 0, 0.5);
    is_int(b.n[10], 2, "second observation of the slot");
    cw_baseline_expect(&b, MONDAY + 10 * H, 1, 2, &mean, &var);
    ok(fabs(mean - 200) < 1e-3, "EWMA mean 200 (exact in bfloat16)");
    ok(fabs(var - 2500) / 2500 < 0.004, "EWMA variance 2500, within bfloat16's 0.4 %");
    /* a whole week of empty hours was observed in between: every other slot has n >= 1 */
    is_int(b.n[100], 1, "a gap of a week observes every slot once (zeros)");

    l = cw_baseline_expect(&b, MONDAY + 14 * 24 * H + 10 * H, 1, 2, &mean, &var);
    is_int(l, CW_BASE_HOUR_OF_WEEK, "slot with 2 observations is used on its own (min 2)");
    ok(fabs(mean - 200) < 1e-3, "expected 200 for Monday 10h");
    l = cw_baseline_expect(&b, MONDAY + 14 * 24 * H + 10 * H, 1, 3, &mean, &var);
    is_int(l, CW_BASE_HOUR_OF_DAY, "below min 3 it falls back to the hour of day");
    ok(mean > 0 && mean < 200, "pooled with the zeros of the other days at 10h");
    l = cw_baseline_expect(&b, MONDAY + 14 * 24 * H + 10 * H, 24, 2, &mean, &var);
    ok(l != CW_BASE_NONE, "a 24-hour expectation sums 24 hours");
    {
        double m1, v1;
        cw_baseline_expect(&b, MONDAY + 14 * 24 * H + 10 * H, 1, 2, &m1, &v1);
        ok(mean >= m1, "the 24-hour total includes the 10h hour");
    }
    is_str(cw_base_level_name(CW_BASE_HOUR_OF_DAY), "hour_of_day", "level names");
    {
        apr_pool_t *pool;
        cw_peaks_pool_t *pp;
        apr_initialize();
        apr_pool_create(&pool, NULL);
        cw_peaks_pool_create(pool, &pp);
        test_peaks(pp);
        test_peaks_forms(pp);
        apr_pool_destroy(pool);
        apr_terminate();
    }
    test_lookups();
    return done_testing();
}
