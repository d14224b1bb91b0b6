/*
 * baseline.h — a key's hour-of-week profile of its hourly metric.
 *
 * The metric is summed per clock hour; when an hour closes, its total (zero for an hour without
 * records) updates an exponentially weighted mean and variance for its hour-of-week slot
 * (Monday 00-01 UTC is slot 0). The expected value of an hour is its slot's, or — while that
 * slot has fewer than min_observations — the pooled slots of the same hour of day, then all
 * slots. Means and variances are kept as bfloat16 (8 bits of mantissa, 0.4 % resolution: plenty
 * for thresholds that are multiples of the mean) so a profile is 848 bytes. No allocation.
 */
#ifndef CDRWATCH_BASELINE_H
#define CDRWATCH_BASELINE_H

#include <stdbool.h>
#include <apr_pools.h>
#include "cdrwatch/common.h"

#define CW_BASELINE_SLOTS 168

typedef struct {
    int64_t hour;    /* clock hour being summed (t / 1 h); INT64_MIN before the first record */
    double hour_sum; /* metric so far in that hour */
    uint16_t mean[CW_BASELINE_SLOTS]; /* bfloat16 */
    uint16_t var[CW_BASELINE_SLOTS];  /* bfloat16 */
    uint8_t n[CW_BASELINE_SLOTS]; /* observations, saturating at 255 */
} cw_baseline_t;

typedef enum {
    CW_BASE_NONE = 0,     /* not enough observations anywhere */
    CW_BASE_HOUR_OF_WEEK, /* the slot itself */
    CW_BASE_HOUR_OF_DAY,  /* the 7 slots of that hour */
    CW_BASE_OVERALL,      /* all slots */
} cw_base_level_t;

void cw_baseline_init(cw_baseline_t *b);
/* Add v at time t; hours that ended since the last call are closed first. */
void cw_baseline_add(cw_baseline_t *b, cw_time_t t, double v, double alpha);
/* Expected total and its variance over the `hours` clock hours ending with t's hour. Returns the
 * coarsest fallback level used, CW_BASE_NONE if some hour has no usable observation. */
cw_base_level_t cw_baseline_expect(const cw_baseline_t *b, cw_time_t t, int hours, int min_obs,
                                   double *mean, double *var);
const char *cw_base_level_name(cw_base_level_t l);

/*
 * A key's peaks: the highest value its window reached in each clock hour of the last
 * CW_PEAK_DAYS days (a row per day, a column per hour of day), kept so that a crossing of a
 * static floor can be explained by the key's own history (the adaptive floors of
 * doc/rules.md). Values are bfloat16 rounded down, so a peak never claims more than was seen.
 *
 * The whole table (cw_peaks_rows_t, 728 bytes) is what a busy key needs; most keys touch a few
 * hours. So a key's cw_peaks_t (64 bytes) holds up to CW_PEAK_CELLS (day, hour, peak) cells
 * and takes a table from its pool (cw_peaks_pool_t: one per rule, a slab of tables reused
 * through a free list, no allocation per record) when it needs more; the answers are those of
 * the table, whichever form holds them (a cell of peak 0 stands for its day's row). Only when
 * the pool cannot grow (out of memory) does a key lose its oldest cell instead.
 */
#define CW_PEAK_DAYS 14
#define CW_PEAK_CELLS 6
typedef struct {
    int32_t day[CW_PEAK_DAYS];       /* day number (t / 1 d) of each row; INT32_MIN: empty */
    uint16_t peak[CW_PEAK_DAYS][24]; /* bfloat16, 0 for an hour without a record */
} cw_peaks_rows_t;

/* The tables of a rule's keys whose peaks outgrow their cells (a block pool, window.h). */
typedef struct cw_blocks cw_peaks_pool_t;

typedef struct {
    int32_t day;
    uint16_t peak; /* bfloat16 */
    uint8_t hour;
    uint8_t pad;
} cw_peak_cell_t;

typedef struct {
    cw_peaks_pool_t *pool;
    uint32_t table; /* 0: the cells hold the peaks; else the pool's table number + 1 */
    uint32_t n;     /* cells used */
    cw_peak_cell_t cell[CW_PEAK_CELLS];
} cw_peaks_t;

cw_status_t cw_peaks_pool_create(apr_pool_t *pool, cw_peaks_pool_t **out);

/* Empty peaks drawing on pool (p's previous content is not looked at). */
void cw_peaks_init(cw_peaks_t *p, cw_peaks_pool_t *pool);
/* Empty again: a table goes back to the pool. */
void cw_peaks_clear(cw_peaks_t *p);
/* The window's value was v at time t (a row older than CW_PEAK_DAYS is reused). */
void cw_peaks_add(cw_peaks_t *p, cw_time_t t, double v);
/* The highest value of the key's history that a crossing at t of a window of length `window`
 * may be compared with: only hours that ended at least `window` before t (so the history does
 * not overlap the window being judged) and, with near >= 0, only hours of day at most `near`
 * hours from t's, around the clock (0: t's hour of day alone; < 0: any hour). Returns -1 when
 * no row qualifies (a key without history there). */
double cw_peaks_high(const cw_peaks_t *p, cw_time_t t, cw_time_t window, int near);
/* The peaks as a whole table, and back (cw_peaks_set: false when a table was needed and the
 * pool could not grow; p is then empty). For snapshots. */
void cw_peaks_get_rows(const cw_peaks_t *p, cw_peaks_rows_t *rows);
bool cw_peaks_set_rows(cw_peaks_t *p, const cw_peaks_rows_t *rows);
/* The same operations on a whole table. */
void cw_peaks_rows_init(cw_peaks_rows_t *r);
void cw_peaks_rows_add(cw_peaks_rows_t *r, cw_time_t t, double v);
double cw_peaks_rows_high(const cw_peaks_rows_t *r, cw_time_t t, cw_time_t window, int near);

/*
 * A key's lookup profile: how its lookups' sizes are distributed, to tell a shift of that
 * distribution (the same application asking for more of each subscriber's history) from its
 * day-to-day noise. A lookup's size x is in percent of what its subscribers produced in the last
 * day (rows x 100 / their recent CDRs), counted in a log-scaled histogram of quarter octaves
 * (bucket floor(4 log2(1 + x)), the last one open). Two histograms: today's (UTC day) and the
 * learned one, into which a day is folded when the next one starts, after the learned counts
 * lose an eighth per day (a memory of about a week and a half). A day on which the key's
 * lookups were found abnormal (tainted) is not learned: the abuse never becomes the norm.
 * 520 bytes. No allocation.
 */
#define CW_LOOKUP_BUCKETS 64
typedef struct {
    int64_t day;                          /* UTC day of `today`; INT64_MIN before the first */
    uint32_t today[CW_LOOKUP_BUCKETS];
    uint32_t learned[CW_LOOKUP_BUCKETS];
    uint32_t tainted;                     /* today is not learned */
} cw_lookups_t;

void cw_lookups_init(cw_lookups_t *p);
/* The bucket of a lookup of size x (percent). */
int cw_lookups_bucket(double x);
/* Move to t's day (folding the days that ended into the learned histogram); count bucket b. */
void cw_lookups_add(cw_lookups_t *p, cw_time_t t, int b);
/* The learned cut for quantile q: the lowest bucket with at most (1 - q) of the learned
 * lookups above it. *rate: the learned share above the cut, as (above + 1) / (n + 2) (Laplace:
 * a key that never went above has a small rate, not none). Returns n, the learned lookups. */
uint64_t cw_lookups_cut(const cw_lookups_t *p, double q, int *cut, double *rate);
/* The lower edge of bucket b (percent): what a lookup above the cut exceeded. */
double cw_lookups_edge(int b);
/* P(X >= k) for X binomial (n, p): the one-sided tail (1 when k <= n p). */
double cw_binomial_tail(uint64_t n, uint64_t k, double p);

#endif
