/*
 * baseline.c — hour-of-week EWMA profiles, adaptive peaks and lookup profiles (see baseline.h).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cdrwatch/baseline.h"
#include "cdrwatch/window.h"

/* bfloat16: the top 16 bits of an IEEE float, rounded to nearest even. */
static inline uint16_t to_bf16(double d)
{
    float f = (float)d;
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    u += 0x7fff + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}

static inline double from_bf16(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline int slot_of_hour(int64_t hour)
{
    /* hour 0 (1970-01-01 00:00 UTC) was a Thursday: slot 3 * 24 */
    int64_t s = (hour + 3 * 24) % CW_BASELINE_SLOTS;
    return (int)(s < 0 ? s + CW_BASELINE_SLOTS : s);
}

static inline int64_t hour_of(cw_time_t t)
{
    int64_t h = t / CW_MS_PER_HOUR;
    return (t % CW_MS_PER_HOUR < 0) ? h - 1 : h;
}

void cw_baseline_init(cw_baseline_t *b)
{
    memset(b, 0, sizeof *b);
    b->hour = INT64_MIN;
}

static void observe(cw_baseline_t *b, int64_t hour, double x, double alpha)
{
    int s = slot_of_hour(hour);
    if (b->n[s] == 0) {
        b->mean[s] = to_bf16(x);
        b->var[s] = 0;
    } else {
        double m = from_bf16(b->mean[s]), d = x - m, incr = alpha * d;
        b->mean[s] = to_bf16(m + incr);
        b->var[s] = to_bf16((1 - alpha) * (from_bf16(b->var[s]) + d * incr));
    }
    if (b->n[s] < 255)
        b->n[s]++;
}

void cw_baseline_add(cw_baseline_t *b, cw_time_t t, double v, double alpha)
{
    int64_t h = hour_of(t);
    if (b->hour == INT64_MIN) {
        b->hour = h;
        b->hour_sum = 0;
    } else if (h > b->hour) {
        observe(b, b->hour, b->hour_sum, alpha);
        /* hours without records are observations of zero; a week of them covers every slot */
        int64_t from = h - b->hour - 1 > CW_BASELINE_SLOTS ? h - CW_BASELINE_SLOTS : b->hour + 1;
        for (int64_t k = from; k < h; k++)
            observe(b, k, 0, alpha);
        b->hour = h;
        b->hour_sum = 0;
    }
    b->hour_sum += v; /* a late record of an earlier hour counts in the current one */
}

/* Pooled mean and variance of the given slots (weighted by observations). */
static int pooled(const cw_baseline_t *b, const int *slots, int n, double *mean, double *var)
{
    double sw = 0, sm = 0, sv = 0;
    for (int i = 0; i < n; i++) {
        int s = slots[i];
        sw += b->n[s];
        sm += b->n[s] * from_bf16(b->mean[s]);
    }
    if (sw == 0)
        return 0;
    *mean = sm / sw;
    for (int i = 0; i < n; i++) {
        int s = slots[i];
        double d = from_bf16(b->mean[s]) - *mean;
        sv += b->n[s] * (from_bf16(b->var[s]) + d * d);
    }
    *var = sv / sw;
    return (int)sw;
}

static cw_base_level_t expect_hour(const cw_baseline_t *b, int64_t hour, int min_obs, double *mean, double *var)
{
    int s = slot_of_hour(hour), slots[CW_BASELINE_SLOTS];
    if (b->n[s] >= min_obs) {
        *mean = from_bf16(b->mean[s]);
        *var = from_bf16(b->var[s]);
        return CW_BASE_HOUR_OF_WEEK;
    }
    for (int d = 0; d < 7; d++)
        slots[d] = (s % 24) + 24 * d;
    if (pooled(b, slots, 7, mean, var) >= min_obs)
        return CW_BASE_HOUR_OF_DAY;
    for (int i = 0; i < CW_BASELINE_SLOTS; i++)
        slots[i] = i;
    if (pooled(b, slots, CW_BASELINE_SLOTS, mean, var) >= min_obs)
        return CW_BASE_OVERALL;
    return CW_BASE_NONE;
}

cw_base_level_t cw_baseline_expect(const cw_baseline_t *b, cw_time_t t, int hours, int min_obs,
                                   double *mean, double *var)
{
    int64_t last = hour_of(t);
    cw_base_level_t worst = CW_BASE_HOUR_OF_WEEK;
    *mean = 0;
    *var = 0;
    for (int64_t h = last - hours + 1; h <= last; h++) {
        double m, v;
        cw_base_level_t l = expect_hour(b, h, min_obs, &m, &v);
        if (l == CW_BASE_NONE)
            return CW_BASE_NONE;
        if (l > worst)
            worst = l;
        *mean += m;
        *var += v;
    }
    return worst;
}

const char *cw_base_level_name(cw_base_level_t l)
{
    static const char *const names[] = {"none", "hour_of_week", "hour_of_day", "overall"};
    return names[l];
}

/* ---- peaks ---- */

/* bfloat16 rounded towards zero: a stored peak is never above the value seen. */
static inline uint16_t to_bf16_down(double d)
{
    float f = (float)d;
    uint32_t u;
    if (!(d > 0))
        return 0;
    if ((double)f > d)
        f = nextafterf(f, 0);
    memcpy(&u, &f, sizeof u);
    return (uint16_t)(u >> 16);
}

static inline int64_t day_of(cw_time_t t)
{
    int64_t d = t / CW_MS_PER_DAY;
    return (t % CW_MS_PER_DAY < 0) ? d - 1 : d;
}

void cw_peaks_rows_init(cw_peaks_rows_t *r)
{
    memset(r, 0, sizeof *r);
    for (int i = 0; i < CW_PEAK_DAYS; i++)
        r->day[i] = INT32_MIN;
}

static inline int row_of_day(int64_t day) { return (int)(((day % CW_PEAK_DAYS) + CW_PEAK_DAYS) % CW_PEAK_DAYS); }

void cw_peaks_rows_add(cw_peaks_rows_t *p, cw_time_t t, double v)
{
    int64_t day = day_of(t);
    int row = row_of_day(day);
    int hour = (int)((t - day * CW_MS_PER_DAY) / CW_MS_PER_HOUR);
    uint16_t b = to_bf16_down(v);
    if (p->day[row] != (int32_t)day) {
        if (p->day[row] != INT32_MIN && p->day[row] > (int32_t)day)
            return; /* a late record of a day already overwritten */
        memset(p->peak[row], 0, sizeof p->peak[row]);
        p->day[row] = (int32_t)day;
    }
    /* positive bfloat16 values order as their bit patterns */
    if (b > p->peak[row][hour])
        p->peak[row][hour] = b;
}

/* Is hour of day h within `near` hours of `now`, around the clock (near < 0: any hour)? */
static bool hour_near(int h, int now, int near)
{
    int d = h > now ? h - now : now - h;
    return near < 0 || (d < 24 - d ? d : 24 - d) <= near;
}

/* May hour h of `day` be compared with a crossing at t (hour_now of today)? */
static bool hour_counts(int64_t day, int h, int hour_now, cw_time_t t, cw_time_t window, int near)
{
    cw_time_t end = day * CW_MS_PER_DAY + (cw_time_t)(h + 1) * CW_MS_PER_HOUR;
    /* not an hour that overlaps the window being judged */
    return hour_near(h, hour_now, near) && end <= t - window;
}

static bool day_counts(int64_t day, int64_t today)
{
    return day != INT32_MIN && day <= today && day > today - CW_PEAK_DAYS;
}

double cw_peaks_rows_high(const cw_peaks_rows_t *p, cw_time_t t, cw_time_t window, int near)
{
    int64_t today = day_of(t);
    int hour_now = (int)((t - today * CW_MS_PER_DAY) / CW_MS_PER_HOUR);
    double high = -1;
    for (int row = 0; row < CW_PEAK_DAYS; row++) {
        int64_t day = p->day[row];
        if (!day_counts(day, today))
            continue;
        for (int h = 0; h < 24; h++)
            if (hour_counts(day, h, hour_now, t, window, near) && from_bf16(p->peak[row][h]) > high)
                high = from_bf16(p->peak[row][h]);
    }
    return high;
}

/* ---- peaks: cells, and tables from a pool ---- */

cw_status_t cw_peaks_pool_create(apr_pool_t *pool, cw_peaks_pool_t **out)
{
    return cw_blocks_create(pool, sizeof(cw_peaks_rows_t), out);
}

static inline cw_peaks_rows_t *table_of(const cw_peaks_t *p) { return cw_blocks_at(p->pool, p->table); }

void cw_peaks_init(cw_peaks_t *p, cw_peaks_pool_t *pool)
{
    memset(p, 0, sizeof *p);
    p->pool = pool;
}

void cw_peaks_clear(cw_peaks_t *p)
{
    if (p->table)
        cw_blocks_give(p->pool, p->table);
    cw_peaks_init(p, p->pool);
}

static void cells_to_rows(const cw_peaks_t *p, cw_peaks_rows_t *r)
{
    cw_peaks_rows_init(r);
    for (uint32_t i = 0; i < p->n; i++) {
        int row = row_of_day(p->cell[i].day);
        r->day[row] = p->cell[i].day;
        r->peak[row][p->cell[i].hour] = p->cell[i].peak;
    }
}

/* The cells as a table from the pool; false (nothing changed) without memory. */
static bool cells_to_table(cw_peaks_t *p)
{
    uint32_t n = p->pool ? cw_blocks_take(p->pool) : 0;
    if (!n)
        return false;
    p->table = n;
    cells_to_rows(p, table_of(p));
    p->n = 0;
    return true;
}

static void cell_remove(cw_peaks_t *p, uint32_t i) { p->cell[i] = p->cell[--p->n]; }

/* Full cells and no table to be had: the oldest day's cell goes (out of memory only). */
static void cell_drop_oldest(cw_peaks_t *p)
{
    uint32_t old = 0;
    for (uint32_t i = 1; i < p->n; i++)
        if (p->cell[i].day < p->cell[old].day)
            old = i;
    cell_remove(p, old);
}

/* cw_peaks_rows_add on cells: a row is the cells of its day (all cells of a row share it). */
static void cells_add(cw_peaks_t *p, int64_t day, int hour, uint16_t b, cw_time_t t, double v)
{
    int row = row_of_day(day);
    for (uint32_t i = 0; i < p->n;) {
        const cw_peak_cell_t *c = &p->cell[i];
        if (row_of_day(c->day) != row || c->day == (int32_t)day) {
            i++;
            continue;
        }
        if (c->day > (int32_t)day)
            return; /* a late record of a day already overwritten */
        cell_remove(p, i); /* the row is reused: its old day goes */
    }
    for (uint32_t i = 0; i < p->n; i++) {
        if (p->cell[i].day == (int32_t)day && !b)
            return; /* its row is there: a peak of 0 adds nothing to it */
        if (p->cell[i].day == (int32_t)day && p->cell[i].hour == hour) {
            if (b > p->cell[i].peak)
                p->cell[i].peak = b;
            return;
        }
    }
    if (p->n == CW_PEAK_CELLS) {
        if (cells_to_table(p)) {
            cw_peaks_rows_add(table_of(p), t, v);
            return;
        }
        cell_drop_oldest(p);
    }
    p->cell[p->n++] = (cw_peak_cell_t){.day = (int32_t)day, .peak = b, .hour = (uint8_t)hour};
}

void cw_peaks_add(cw_peaks_t *p, cw_time_t t, double v)
{
    int64_t day = day_of(t);
    if (p->table) {
        cw_peaks_rows_add(table_of(p), t, v);
        return;
    }
    cells_add(p, day, (int)((t - day * CW_MS_PER_DAY) / CW_MS_PER_HOUR), to_bf16_down(v), t, v);
}

double cw_peaks_high(const cw_peaks_t *p, cw_time_t t, cw_time_t window, int near)
{
    int64_t today = day_of(t);
    int hour_now = (int)((t - today * CW_MS_PER_DAY) / CW_MS_PER_HOUR);
    double high = -1;
    if (p->table)
        return cw_peaks_rows_high(table_of(p), t, window, near);
    for (uint32_t i = 0; i < p->n; i++) {
        const cw_peak_cell_t *c = &p->cell[i];
        if (!day_counts(c->day, today))
            continue;
        if (hour_counts(c->day, c->hour, hour_now, t, window, near) && from_bf16(c->peak) > high)
            high = from_bf16(c->peak);
        /* the day's other hours are zeros in a table: any that counts makes the answer >= 0 */
        for (int h = 0; high < 0 && h < 24; h++)
            if (hour_counts(c->day, h, hour_now, t, window, near))
                high = 0;
    }
    return high;
}

void cw_peaks_get_rows(const cw_peaks_t *p, cw_peaks_rows_t *rows)
{
    if (p->table)
        *rows = *table_of(p);
    else
        cells_to_rows(p, rows);
}

/* Can the table be held as cells: every used row's day is its own (a table made by adds), and
 * its cells (the hours not zero, or one of peak 0 for a row of zeros) are few enough? */
static bool rows_fit_cells(const cw_peaks_rows_t *rows)
{
    int n = 0;
    for (int d = 0; d < CW_PEAK_DAYS; d++) {
        int here = 0;
        for (int h = 0; h < 24; h++)
            here += rows->peak[d][h] != 0;
        if (rows->day[d] == INT32_MIN) {
            if (here)
                return false;
            continue;
        }
        if (row_of_day(rows->day[d]) != d)
            return false;
        n += here ? here : 1;
    }
    return n <= CW_PEAK_CELLS;
}

bool cw_peaks_set_rows(cw_peaks_t *p, const cw_peaks_rows_t *rows)
{
    cw_peaks_clear(p);
    if (rows_fit_cells(rows)) {
        for (int d = 0; d < CW_PEAK_DAYS; d++) {
            bool any = false;
            if (rows->day[d] == INT32_MIN)
                continue;
            for (int h = 0; h < 24; h++) {
                if (!rows->peak[d][h] && (any || h < 23))
                    continue;
                /* a row of zeros is one cell of peak 0, at its last hour */
                p->cell[p->n++] = (cw_peak_cell_t){.day = rows->day[d], .peak = rows->peak[d][h], .hour = (uint8_t)h};
                any = true;
            }
        }
        return true;
    }
    if (!cells_to_table(p))
        return false;
    *table_of(p) = *rows;
    return true;
}

/* ---- lookup profiles ---- */

void cw_lookups_init(cw_lookups_t *p)
{
    memset(p, 0, sizeof *p);
    p->day = INT64_MIN;
}

int cw_lookups_bucket(double x)
{
    double b = x > 0 ? floor(4 * log2(1 + x)) : 0;
    return b >= CW_LOOKUP_BUCKETS - 1 ? CW_LOOKUP_BUCKETS - 1 : (int)b;
}

double cw_lookups_edge(int b) { return exp2(b / 4.0) - 1; }

static void lookups_fold(cw_lookups_t *p, int64_t days)
{
    for (int i = 0; i < CW_LOOKUP_BUCKETS; i++) {
        uint32_t v = p->learned[i];
        for (int64_t d = 0; d < days && v; d++)
            v -= (v + 7) / 8; /* an eighth per day, rounded up so that a count reaches 0 */
        if (!p->tainted && v <= UINT32_MAX - p->today[i])
            v += p->today[i];
        p->learned[i] = v;
        p->today[i] = 0;
    }
    p->tainted = 0;
}

void cw_lookups_add(cw_lookups_t *p, cw_time_t t, int b)
{
    int64_t day = day_of(t);
    if (p->day == INT64_MIN)
        p->day = day;
    if (day > p->day) {
        lookups_fold(p, day - p->day > 64 ? 64 : day - p->day);
        p->day = day;
    }
    if (p->today[b] < UINT32_MAX)
        p->today[b]++;
}

uint64_t cw_lookups_cut(const cw_lookups_t *p, double q, int *cut, double *rate)
{
    uint64_t n = 0, above = 0;
    int b;
    for (b = 0; b < CW_LOOKUP_BUCKETS; b++)
        n += p->learned[b];
    /* walk down from the top while the mass above stays within 1 - q */
    for (b = CW_LOOKUP_BUCKETS - 1; b > 0 && (double)(above + p->learned[b]) <= (1 - q) * (double)n; b--)
        above += p->learned[b];
    *cut = b;
    *rate = ((double)above + 1) / ((double)n + 2);
    return n;
}

double cw_binomial_tail(uint64_t n, uint64_t k, double p)
{
    double lt, term, sum, ratio;
    if (k == 0 || p >= 1)
        return 1;
    if (k > n || p <= 0)
        return 0;
    if ((double)k <= (double)n * p)
        return 1;
    /* log of the first term, then the terms j > k by their ratio (decreasing past the mode) */
    lt = lgamma((double)n + 1) - lgamma((double)k + 1) - lgamma((double)(n - k) + 1) + (double)k * log(p) +
         (double)(n - k) * log1p(-p);
    term = 1;
    sum = 1;
    for (uint64_t j = k; j < n; j++) {
        ratio = (double)(n - j) / (double)(j + 1) * p / (1 - p);
        term *= ratio;
        sum += term;
        if (term < 1e-16 * sum)
            break;
    }
    return exp(lt) * sum;
}
