/* test_baseline.c — hour-of-week profiles: slots, zero hours, EWMA arithmetic, fallbacks; and
 * the adaptive peaks: per hour of day, never overlapping the window judged, 14 days kept. */
#include <math.h>
#include "cdrwatch/baseline.h"
#include "tap.h"

#define H CW_MS_PER_HOUR
static const cw_time_t MONDAY = 1772409600000LL; /* 2026-03-02T00:00:00Z, a Monday */

static void test_peaks(void)
{
    const cw_time_t D = 24 * H;
    cw_peaks_t p;
    cw_peaks_init(&p);
    ok(cw_peaks_high(&p, MONDAY + D, H, true) < 0, "peaks: no history, no figure");
    cw_peaks_add(&p, MONDAY + 2 * H + 60000, 300);
    cw_peaks_add(&p, MONDAY + 2 * H + 120000, 200); /* lower: the peak stays 300 */
    cw_peaks_add(&p, MONDAY + 5 * H, 50);
    ok(cw_peaks_high(&p, MONDAY + D + 2 * H + 60000, H, true) == 300, "peaks: the same hour of an earlier day: 300");
    ok(cw_peaks_high(&p, MONDAY + D + 3 * H, H, true) == 0, "peaks: another hour of a day with history: 0");
    ok(cw_peaks_high(&p, MONDAY + 2 * H + 30 * 60000, H, true) < 0, "peaks: the hour being judged is not its own history");
    /* a 24-hour window at Tuesday 04:00 covers Monday 04:00 on: only Monday 02-03 qualifies */
    ok(cw_peaks_high(&p, MONDAY + D + 4 * H, D, false) == 300, "peaks: a day window compares with hours that ended a day before");
    ok(cw_peaks_high(&p, MONDAY + D + 2 * H, D, false) == 0, "peaks: ... and not with the hours it overlaps (02 on)");
    ok(cw_peaks_high(&p, MONDAY + 14 * D + 2 * H, H, true) < 0, "peaks: history older than 14 days is forgotten");
    cw_peaks_add(&p, MONDAY + 14 * D + 9 * H, 7);
    ok(cw_peaks_high(&p, MONDAY + 15 * D + 2 * H, H, true) == 0, "peaks: a row reused 14 days later starts empty");
    cw_peaks_add(&p, MONDAY + 3 * H, 1000); /* a late record of a day whose row was reused */
    ok(cw_peaks_high(&p, MONDAY + 15 * D + 9 * H, H, true) == 7, "peaks: a late record does not overwrite a newer day");
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
    test_peaks();
    return done_testing();
}
