/*
 * state.c — engine snapshots: the codec, the container format, restore decisions, atomic files.
 *
 * The file is a 24-byte header (magic "CDRWSTAT", u32 format version, u32 CRC-32C of the body,
 * u64 body length) and a body of sections (u32 tag, u64 length, payload) in a fixed order:
 * clock, sources, one per rule, evidence ring, CDR reference, end. Since version 3 the payloads
 * are compact: LEB128 varints (zig-zag for signed values, event times relative to the snapshot's
 * clock) and, of the fixed-size per-key structures, only the used slots (window buckets, sketches,
 * peak rows, baseline slots) as (gap, value) lists. Each module encodes its own
 * private state (engine.c the per-key values, reference.c the sketches) with the codec below;
 * this file owns the framing, the checks and the decisions about configuration changes. Nothing
 * read is trusted before the checksum matches, and even then every count is checked against
 * the bytes that remain, so a crafted file cannot make the loader read out of bounds or
 * allocate more than the file's own size.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cdrwatch/log.h"
#include "cdrwatch/rules.h"
#include "cdrwatch/state.h"

enum { SEC_CLOCK = 1, SEC_SOURCES = 2, SEC_RULE = 3, SEC_RING = 4, SEC_REFERENCE = 5, SEC_END = 6 };

static const char *section_name(uint32_t tag)
{
    static const char *const names[] = {"?", "clock", "sources", "rule", "evidence ring", "CDR reference", "end"};
    return tag <= SEC_END ? names[tag] : "?";
}

/* ---- CRC-32C ---- */

/* Slicing by 8 (eight tables, eight bytes a step; Intel's 2006 method), the same value as the
 * bytewise loop: a snapshot of a hundred megabytes is checked in a fraction of a second. */
uint32_t cw_crc32c(const void *data, size_t n)
{
    static uint32_t table[8][256];
    static int ready;
    const unsigned char *p = data;
    uint32_t crc = 0xffffffffu;
    if (!ready) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
            table[0][i] = c;
        }
        for (uint32_t i = 0; i < 256; i++)
            for (int t = 1; t < 8; t++)
                table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
        ready = 1;
    }
    for (; n >= 8; n -= 8, p += 8) {
        uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        crc = table[7][lo & 0xff] ^ table[6][lo >> 8 & 0xff] ^ table[5][lo >> 16 & 0xff] ^ table[4][lo >> 24] ^
              table[3][p[4]] ^ table[2][p[5]] ^ table[1][p[6]] ^ table[0][p[7]];
    }
    for (size_t i = 0; i < n; i++)
        crc = table[0][(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return crc ^ 0xffffffffu;
}

/* ---- write buffer ---- */

void cw_wbuf_init(cw_wbuf_t *w) { memset(w, 0, sizeof *w); }

void cw_wbuf_free(cw_wbuf_t *w)
{
    free(w->data);
    memset(w, 0, sizeof *w);
}

void cw_wbuf_bytes(cw_wbuf_t *w, const void *p, size_t n)
{
    if (w->failed)
        return;
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 4096;
        unsigned char *d;
        while (cap < w->len + n)
            cap *= 2;
        if (!(d = realloc(w->data, cap))) {
            w->failed = true;
            return;
        }
        w->data = d;
        w->cap = cap;
    }
    memcpy(w->data + w->len, p, n);
    w->len += n;
}

static void put_le(unsigned char *b, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        b[i] = (unsigned char)(v >> (8 * i));
}

static void wbuf_le(cw_wbuf_t *w, uint64_t v, int n)
{
    unsigned char b[8];
    put_le(b, v, n);
    cw_wbuf_bytes(w, b, (size_t)n);
}

void cw_wbuf_u8(cw_wbuf_t *w, uint8_t v) { wbuf_le(w, v, 1); }
void cw_wbuf_u16(cw_wbuf_t *w, uint16_t v) { wbuf_le(w, v, 2); }
void cw_wbuf_u32(cw_wbuf_t *w, uint32_t v) { wbuf_le(w, v, 4); }
void cw_wbuf_u64(cw_wbuf_t *w, uint64_t v) { wbuf_le(w, v, 8); }

void cw_wbuf_f64(cw_wbuf_t *w, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    cw_wbuf_u64(w, bits);
}

void cw_wbuf_str(cw_wbuf_t *w, const char *s, size_t n)
{
    cw_wbuf_u32(w, (uint32_t)n);
    cw_wbuf_bytes(w, s, n);
}

size_t cw_wbuf_reserve32(cw_wbuf_t *w)
{
    size_t at = w->len;
    cw_wbuf_u32(w, 0);
    return at;
}

void cw_wbuf_patch32(cw_wbuf_t *w, size_t at, uint32_t v)
{
    if (!w->failed && at + 4 <= w->len)
        put_le(w->data + at, v, 4);
}

/* ---- reader ---- */

void cw_rbuf_init(cw_rbuf_t *r, const void *data, size_t len, size_t base, char *err, size_t errlen)
{
    r->data = data;
    r->len = len;
    r->pos = 0;
    r->base = base;
    r->err = err;
    r->errlen = errlen;
    r->failed = false;
    r->clock = INT64_MIN;
}

void cw_rbuf_fail(cw_rbuf_t *r, const char *fmt, ...)
{
    va_list ap;
    if (r->failed)
        return;
    r->failed = true;
    va_start(ap, fmt);
    vsnprintf(r->err, r->errlen, fmt, ap);
    va_end(ap);
}

const unsigned char *cw_rbuf_bytes(cw_rbuf_t *r, size_t n)
{
    const unsigned char *p;
    if (r->failed)
        return NULL;
    if (n > r->len - r->pos) {
        cw_rbuf_fail(r, "truncated at byte %zu", r->base + r->len);
        return NULL;
    }
    p = r->data + r->pos;
    r->pos += n;
    return p;
}

static uint64_t get_le(const unsigned char *b, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)b[i] << (8 * i);
    return v;
}

static uint64_t rbuf_le(cw_rbuf_t *r, int n)
{
    const unsigned char *p = cw_rbuf_bytes(r, (size_t)n);
    uint64_t v = 0;
    for (int i = 0; p && i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

uint8_t cw_rbuf_u8(cw_rbuf_t *r) { return (uint8_t)rbuf_le(r, 1); }
uint16_t cw_rbuf_u16(cw_rbuf_t *r) { return (uint16_t)rbuf_le(r, 2); }
uint32_t cw_rbuf_u32(cw_rbuf_t *r) { return (uint32_t)rbuf_le(r, 4); }
uint64_t cw_rbuf_u64(cw_rbuf_t *r) { return rbuf_le(r, 8); }

double cw_rbuf_f64(cw_rbuf_t *r)
{
    uint64_t bits = cw_rbuf_u64(r);
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

const char *cw_rbuf_str(cw_rbuf_t *r, size_t max, size_t *n)
{
    size_t at = r->base + r->pos;
    uint32_t len = cw_rbuf_u32(r);
    if (r->failed)
        return NULL;
    if (len > max) {
        cw_rbuf_fail(r, "string of %u bytes at byte %zu, at most %zu expected", len, at, max);
        return NULL;
    }
    *n = len;
    return (const char *)cw_rbuf_bytes(r, len);
}

static uint32_t check_count(cw_rbuf_t *r, uint64_t n, size_t at, size_t min_size, uint32_t max, const char *what)
{
    if (r->failed)
        return 0;
    if (n > max || (min_size && n > (r->len - r->pos) / min_size)) {
        cw_rbuf_fail(r, "%llu %s announced at byte %zu, more than the bytes that remain can hold",
                     (unsigned long long)n, what, at);
        return 0;
    }
    return (uint32_t)n;
}

uint32_t cw_rbuf_count(cw_rbuf_t *r, size_t min_size, uint32_t max, const char *what)
{
    size_t at = r->base + r->pos;
    uint32_t n = cw_rbuf_u32(r);
    return check_count(r, n, at, min_size, max, what);
}

/* ---- varints (format version 3) ---- */

static inline uint64_t zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static inline int64_t unzigzag(uint64_t u) { return (int64_t)(u >> 1) ^ -(int64_t)(u & 1); }

void cw_wbuf_uv(cw_wbuf_t *w, uint64_t v)
{
    unsigned char b[10];
    size_t n = 0;
    while (v >= 0x80) {
        b[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    b[n++] = (unsigned char)v;
    cw_wbuf_bytes(w, b, n);
}

void cw_wbuf_sv(cw_wbuf_t *w, int64_t v) { cw_wbuf_uv(w, zigzag(v)); }

void cw_wbuf_vstr(cw_wbuf_t *w, const char *s, size_t n)
{
    cw_wbuf_uv(w, n);
    cw_wbuf_bytes(w, s, n);
}

/* Times relative to the clock: code(t) = zigzag(t - clock) + 1 (mod 2^64), a bijection whose only
 * 0 is the time 2^63 away from the clock; that one and INT64_MIN (none) swap codes, so that
 * "none" is the 1-byte 0 and every value still round-trips. Arithmetic wraps (unsigned). */
static inline uint64_t time_base(int64_t clock) { return clock == INT64_MIN ? 0 : (uint64_t)clock; }

static inline uint64_t time_code(uint64_t base, int64_t t) { return zigzag((int64_t)((uint64_t)t - base)) + 1; }

void cw_wbuf_time(cw_wbuf_t *w, int64_t t)
{
    uint64_t base = time_base(w->clock);
    int64_t swapped = (int64_t)(base + (uint64_t)INT64_MIN);
    if (t == INT64_MIN)
        cw_wbuf_uv(w, 0);
    else
        cw_wbuf_uv(w, time_code(base, t == swapped ? INT64_MIN : t));
}

uint64_t cw_rbuf_uv(cw_rbuf_t *r)
{
    const unsigned char *p = r->data + r->pos, *end = r->data + r->len;
    uint64_t v = 0;
    if (r->failed)
        return 0;
    for (int shift = 0; p < end; shift += 7) {
        unsigned c = *p++;
        if (shift == 63 && c > 1) {
            cw_rbuf_fail(r, "bad varint at byte %zu", r->base + r->pos);
            return 0;
        }
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            r->pos = (size_t)(p - r->data);
            return v;
        }
    }
    cw_rbuf_fail(r, "truncated at byte %zu", r->base + r->len);
    return 0;
}

int64_t cw_rbuf_sv(cw_rbuf_t *r) { return unzigzag(cw_rbuf_uv(r)); }

int64_t cw_rbuf_time(cw_rbuf_t *r)
{
    uint64_t base = time_base(r->clock), code = cw_rbuf_uv(r);
    int64_t t;
    if (code == 0)
        return INT64_MIN;
    t = (int64_t)((uint64_t)unzigzag(code - 1) + base);
    return t == INT64_MIN ? (int64_t)(base + (uint64_t)INT64_MIN) : t;
}

const char *cw_rbuf_vstr(cw_rbuf_t *r, size_t max, size_t *n)
{
    size_t at = r->base + r->pos;
    uint64_t len = cw_rbuf_uv(r);
    if (r->failed)
        return NULL;
    if (len > max) {
        cw_rbuf_fail(r, "string of %llu bytes at byte %zu, at most %zu expected", (unsigned long long)len, at, max);
        return NULL;
    }
    *n = (size_t)len;
    return (const char *)cw_rbuf_bytes(r, (size_t)len);
}

uint32_t cw_rbuf_vcount(cw_rbuf_t *r, size_t min_size, uint32_t max, const char *what)
{
    size_t at = r->base + r->pos;
    uint64_t n = cw_rbuf_uv(r);
    return check_count(r, n, at, min_size, max, what);
}

/* ---- public structures ---- */

/* A window: head bucket number, totals, then only its used buckets (any field not zero: the
 * others are all zero, as cw_window_advance leaves them), each as the gap from the previous
 * used slot and its fields. */
static bool bucket_used(const cw_bucket_t *b) { return b->count || b->sum || b->first_src || b->first_off; }

/* Windows have at most this many buckets (config.c). */
#define WINDOW_BUCKETS_MAX 1024

void cw_state_put_window(cw_wbuf_t *w, const cw_window_t *win, int n, const uint32_t *src_map)
{
    uint64_t used = 0;
    int prev = -1;
    cw_bucket_t ring[WINDOW_BUCKETS_MAX];
    if (n > WINDOW_BUCKETS_MAX)
        n = WINDOW_BUCKETS_MAX; /* never: the configuration refuses more */
    cw_window_get_ring(win, n, ring);
    cw_wbuf_sv(w, win->head);
    cw_wbuf_sv(w, win->sum);
    cw_wbuf_uv(w, win->count);
    for (int i = 0; i < n; i++)
        used += bucket_used(&ring[i]);
    cw_wbuf_uv(w, used);
    for (int i = 0; i < n; i++) {
        const cw_bucket_t *b = &ring[i];
        if (!bucket_used(b))
            continue;
        cw_wbuf_uv(w, (uint64_t)(i - prev - 1));
        cw_wbuf_sv(w, b->sum);
        cw_wbuf_uv(w, b->count);
        cw_wbuf_uv(w, src_map ? src_map[b->first_src] : b->first_src);
        cw_wbuf_sv(w, b->first_off);
        prev = i;
    }
}

/* The next used slot after prev, from its gap; -1 (failed) when it falls outside the n slots. */
static int next_slot(cw_rbuf_t *r, int prev, int n, const char *what)
{
    size_t at = r->base + r->pos;
    uint64_t gap = cw_rbuf_uv(r);
    if (r->failed)
        return -1;
    if (gap >= (uint64_t)(n - prev - 1)) {
        cw_rbuf_fail(r, "%s: slot gap %llu at byte %zu goes past the %d slots", what, (unsigned long long)gap, at, n);
        return -1;
    }
    return prev + 1 + (int)gap;
}

bool cw_state_get_window(cw_rbuf_t *r, cw_window_t *win, int n, const uint32_t *src_map, uint32_t n_src)
{
    uint32_t used;
    int i = -1;
    int64_t head, sum;
    uint64_t total;
    cw_bucket_t ring[WINDOW_BUCKETS_MAX];
    if (n > WINDOW_BUCKETS_MAX) {
        cw_rbuf_fail(r, "window of %d buckets (at most %d)", n, WINDOW_BUCKETS_MAX);
        return false;
    }
    memset(ring, 0, (size_t)n * sizeof ring[0]);
    head = cw_rbuf_sv(r);
    sum = cw_rbuf_sv(r);
    total = cw_rbuf_uv(r);
    used = cw_rbuf_vcount(r, 5, (uint32_t)n, "window buckets");
    for (uint32_t k = 0; k < used && !r->failed; k++) {
        cw_bucket_t *b;
        uint64_t count, src;
        if ((i = next_slot(r, i, n, "window")) < 0)
            break;
        b = &ring[i];
        b->sum = cw_rbuf_sv(r);
        count = cw_rbuf_uv(r);
        src = cw_rbuf_uv(r);
        b->first_off = cw_rbuf_sv(r);
        b->count = (uint32_t)count;
        if (count > UINT32_MAX && !r->failed)
            cw_rbuf_fail(r, "window bucket of %llu records", (unsigned long long)count);
        /* an empty bucket's source is not used; a used one must name a known source */
        if (b->count && src >= n_src && !r->failed)
            cw_rbuf_fail(r, "source id %llu out of range (%u sources)", (unsigned long long)src, n_src);
        b->first_src = src < n_src ? src_map[src] : 0;
    }
    if (!r->failed && !cw_window_set_ring(win, n, head, sum, total, ring))
        cw_rbuf_fail(r, "window: out of memory");
    return !r->failed;
}

/* A sketch: u8 dense; dense: the 256 registers; sparse: u8 count, then the hashes (8 bytes). */
static bool set_sketch(cw_rbuf_t *r, cw_hll_t *set, const cw_hll_sketch_t *sketch)
{
    if (!r->failed && !cw_hll_set_sketch(set, sketch))
        cw_rbuf_fail(r, "distinct-count sketch: out of memory");
    return !r->failed;
}

void cw_state_put_hll(cw_wbuf_t *w, const cw_hll_t *set)
{
    cw_hll_sketch_t sketch, *h = &sketch;
    cw_hll_get_sketch(set, &sketch);
    cw_wbuf_u8(w, h->dense);
    if (h->dense) {
        cw_wbuf_bytes(w, h->u.reg, CW_HLL_M);
        return;
    }
    cw_wbuf_u8(w, h->n);
    for (int i = 0; i < h->n; i++)
        cw_wbuf_u64(w, h->u.hash[i]);
}

bool cw_state_get_hll(cw_rbuf_t *r, cw_hll_t *set)
{
    const unsigned char *p;
    cw_hll_sketch_t sketch, *h = &sketch;
    memset(&sketch, 0, sizeof sketch);
    h->dense = cw_rbuf_u8(r);
    if (h->dense > 1) {
        cw_rbuf_fail(r, "distinct-count sketch: bad kind %u", h->dense);
        return false;
    }
    if (h->dense) {
        if ((p = cw_rbuf_bytes(r, CW_HLL_M)))
            memcpy(h->u.reg, p, CW_HLL_M);
        return set_sketch(r, set, &sketch);
    }
    h->n = cw_rbuf_u8(r);
    if (h->n > CW_HLL_SPARSE) {
        cw_rbuf_fail(r, "distinct-count sketch: %u exact values, at most %d", h->n, CW_HLL_SPARSE);
        return false;
    }
    if ((p = cw_rbuf_bytes(r, (size_t)h->n * 8))) {
        for (int i = 0; i < h->n; i++, p += 8) {
            uint64_t v = 0;
            for (int k = 0; k < 8; k++)
                v |= (uint64_t)p[k] << (8 * k);
            h->u.hash[i] = v;
        }
    }
    return set_sketch(r, set, &sketch);
}

/* Sketches of a window's buckets: the count of the used ones (dense, or holding values), then
 * each as the gap from the previous used slot and the sketch. */
static bool hll_used(const cw_hll_t *h) { return h->sketch || h->n; }

void cw_state_put_hlls(cw_wbuf_t *w, const cw_hll_t *h, int n)
{
    uint64_t used = 0;
    int prev = -1;
    for (int i = 0; i < n; i++)
        used += hll_used(&h[i]);
    cw_wbuf_uv(w, used);
    for (int i = 0; i < n; i++) {
        if (!hll_used(&h[i]))
            continue;
        cw_wbuf_uv(w, (uint64_t)(i - prev - 1));
        cw_state_put_hll(w, &h[i]);
        prev = i;
    }
}

bool cw_state_get_hlls(cw_rbuf_t *r, cw_hll_t *h, int n)
{
    uint32_t used;
    int i = -1;
    for (int k = 0; k < n; k++)
        cw_hll_clear(&h[k]);
    used = cw_rbuf_vcount(r, 3, (uint32_t)n, "sketches");
    for (uint32_t k = 0; k < used && !r->failed; k++) {
        if ((i = next_slot(r, i, n, "sketches")) < 0)
            break;
        cw_state_get_hll(r, &h[i]);
    }
    return !r->failed;
}

/* A baseline: the hour being summed and its sum, then the used slots (an observation, or a mean
 * or variance not zero), each as the gap from the previous one, mean, variance, observations. */
static bool slot_used(const cw_baseline_t *b, int i) { return b->n[i] || b->mean[i] || b->var[i]; }

void cw_state_put_baseline(cw_wbuf_t *w, const cw_baseline_t *b)
{
    uint64_t used = 0;
    int prev = -1;
    cw_wbuf_sv(w, b->hour);
    cw_wbuf_f64(w, b->hour_sum);
    for (int i = 0; i < CW_BASELINE_SLOTS; i++)
        used += slot_used(b, i);
    cw_wbuf_uv(w, used);
    for (int i = 0; i < CW_BASELINE_SLOTS; i++) {
        if (!slot_used(b, i))
            continue;
        cw_wbuf_uv(w, (uint64_t)(i - prev - 1));
        cw_wbuf_u16(w, b->mean[i]);
        cw_wbuf_u16(w, b->var[i]);
        cw_wbuf_u8(w, b->n[i]);
        prev = i;
    }
}

bool cw_state_get_baseline(cw_rbuf_t *r, cw_baseline_t *b)
{
    uint32_t used;
    int i = -1;
    cw_baseline_init(b);
    b->hour = cw_rbuf_sv(r);
    b->hour_sum = cw_rbuf_f64(r);
    used = cw_rbuf_vcount(r, 6, CW_BASELINE_SLOTS, "baseline slots");
    for (uint32_t k = 0; k < used && !r->failed; k++) {
        if ((i = next_slot(r, i, CW_BASELINE_SLOTS, "baseline")) < 0)
            break;
        b->mean[i] = cw_rbuf_u16(r);
        b->var[i] = cw_rbuf_u16(r);
        b->n[i] = cw_rbuf_u8(r);
    }
    return !r->failed;
}

/* Adaptive peaks: the used rows (a day, or a peak not zero), each as the gap from the previous
 * one, the day number, a 24-bit mask of the hours whose peak is not zero, then those peaks. */
static bool row_used(const cw_peaks_rows_t *p, int d)
{
    if (p->day[d] != INT32_MIN)
        return true;
    for (int h = 0; h < 24; h++)
        if (p->peak[d][h])
            return true;
    return false;
}

void cw_state_put_peaks(cw_wbuf_t *w, const cw_peaks_t *peaks)
{
    uint64_t used = 0;
    int prev = -1;
    cw_peaks_rows_t rows, *p = &rows;
    cw_peaks_get_rows(peaks, &rows);
    for (int d = 0; d < CW_PEAK_DAYS; d++)
        used += row_used(p, d);
    cw_wbuf_uv(w, used);
    for (int d = 0; d < CW_PEAK_DAYS; d++) {
        uint32_t mask = 0;
        if (!row_used(p, d))
            continue;
        for (int h = 0; h < 24; h++)
            mask |= (uint32_t)(p->peak[d][h] != 0) << h;
        cw_wbuf_uv(w, (uint64_t)(d - prev - 1));
        cw_wbuf_sv(w, p->day[d]);
        cw_wbuf_uv(w, mask);
        for (int h = 0; h < 24; h++)
            if (mask >> h & 1)
                cw_wbuf_u16(w, p->peak[d][h]);
        prev = d;
    }
}

bool cw_state_get_peaks(cw_rbuf_t *r, cw_peaks_t *peaks)
{
    uint32_t used;
    int d = -1;
    cw_peaks_rows_t rows, *p = &rows;
    cw_peaks_rows_init(&rows);
    used = cw_rbuf_vcount(r, 3, CW_PEAK_DAYS, "peak rows");
    for (uint32_t k = 0; k < used && !r->failed; k++) {
        int64_t day;
        uint64_t mask;
        if ((d = next_slot(r, d, CW_PEAK_DAYS, "peaks")) < 0)
            break;
        day = cw_rbuf_sv(r);
        mask = cw_rbuf_uv(r);
        if ((day < INT32_MIN || day > INT32_MAX || mask >> 24) && !r->failed)
            cw_rbuf_fail(r, "peaks: bad row (day %lld, hour mask %#llx)", (long long)day, (unsigned long long)mask);
        p->day[d] = (int32_t)day;
        for (int h = 0; h < 24 && !r->failed; h++)
            if (mask >> h & 1)
                p->peak[d][h] = cw_rbuf_u16(r);
    }
    if (!r->failed && !cw_peaks_set_rows(peaks, &rows))
        cw_rbuf_fail(r, "peaks: out of memory");
    return !r->failed;
}

/* ---- serialize ---- */

static size_t section_begin(cw_wbuf_t *w, uint32_t tag)
{
    cw_wbuf_u32(w, tag);
    cw_wbuf_u64(w, 0);
    return w->len;
}

static void section_end(cw_wbuf_t *w, size_t start)
{
    if (!w->failed)
        put_le(w->data + start - 8, (uint64_t)(w->len - start), 8);
}

static void save_sources(cw_engine_t *e, cw_wbuf_t *w)
{
    int n = cw_engine_source_count(e);
    cw_wbuf_uv(w, (uint64_t)n);
    for (int i = 0; i < n; i++) {
        cw_pos_t p = cw_engine_source(e, i);
        cw_wbuf_vstr(w, p.name, strlen(p.name));
        cw_wbuf_sv(w, p.partition);
        cw_wbuf_sv(w, p.offset);
    }
}

cw_status_t cw_state_serialize(cw_engine_t *e, cw_state_select_fn select, void *select_ctx, cw_wbuf_t *w,
                               char *err, size_t errlen)
{
    return cw_state_serialize_part(e, select, select_ctx, true, w, err, errlen);
}

cw_status_t cw_state_serialize_part(cw_engine_t *e, cw_state_select_fn select, void *select_ctx, bool shared,
                                    cw_wbuf_t *w, char *err, size_t errlen)
{
    size_t header = w->len, s;
    uint64_t sizing[3];
    cw_wbuf_bytes(w, CW_STATE_MAGIC, 8);
    cw_wbuf_u32(w, CW_STATE_VERSION);
    cw_wbuf_u32(w, 0);
    cw_wbuf_u64(w, 0);
    s = section_begin(w, SEC_CLOCK);
    cw_engine_save_clock(e, w);
    section_end(w, s);
    if (!w->failed) /* the clock's first field: the base of every time written after it */
        w->clock = (int64_t)get_le(w->data + s, 8);
    s = section_begin(w, SEC_SOURCES);
    save_sources(e, w);
    section_end(w, s);
    for (int i = 0; i < cw_engine_rule_count(e); i++) {
        const cw_rule_t *r = cw_engine_rule(e, i);
        s = section_begin(w, SEC_RULE);
        cw_wbuf_vstr(w, r->id, strlen(r->id));
        cw_wbuf_u64(w, cw_rule_fingerprint(r));
        cw_wbuf_u8(w, (uint8_t)r->kind);
        cw_engine_save_rule(e, i, w, select, select_ctx);
        section_end(w, s);
    }
    s = section_begin(w, SEC_RING);
    cw_engine_save_ring(e, w, select, select_ctx);
    section_end(w, s);
    if (shared) {
        s = section_begin(w, SEC_REFERENCE);
        cw_reference_sizing(cw_engine_reference(e), sizing);
        for (int i = 0; i < 3; i++)
            cw_wbuf_u64(w, sizing[i]);
        cw_reference_save(cw_engine_reference(e), w);
        section_end(w, s);
    }
    section_end(w, section_begin(w, SEC_END));
    if (w->failed) {
        snprintf(err, errlen, "out of memory building the state snapshot (%zu bytes so far)", w->len);
        return CW_ERR_NOMEM;
    }
    {
        size_t body = header + CW_STATE_HEADER;
        put_le(w->data + header + 12, cw_crc32c(w->data + body, w->len - body), 4);
        put_le(w->data + header + 16, (uint64_t)(w->len - body), 8);
    }
    return CW_OK;
}

/* ---- restore ---- */

typedef struct {
    cw_engine_t *e;
    cw_state_restore_opts_t o;
    uint32_t *src_map;  /* snapshot source id -> engine source id */
    uint32_t n_src;
    int *rule_map;      /* snapshot rule ordinal -> engine rule index, -1 if not kept */
    int n_rules;
    bool *seen;         /* per engine rule: found in the snapshot */
    int64_t clock;      /* the snapshot's clock: times after the clock section are relative to it */
} restore_t;

static bool load_sources(restore_t *rs, cw_rbuf_t *r)
{
    uint32_t n = cw_rbuf_vcount(r, 3, UINT32_MAX, "sources");
    if (r->failed)
        return false;
    rs->src_map = calloc(n ? n : 1, sizeof *rs->src_map);
    if (!rs->src_map) {
        cw_rbuf_fail(r, "out of memory");
        return false;
    }
    for (uint32_t i = 0; i < n && !r->failed; i++) {
        size_t len;
        char name[4096];
        const char *s = cw_rbuf_vstr(r, sizeof name - 1, &len);
        int64_t partition = cw_rbuf_sv(r);
        int64_t offset = cw_rbuf_sv(r);
        if (!r->failed && (partition < INT32_MIN || partition > INT32_MAX))
            cw_rbuf_fail(r, "source %u: partition %lld out of range", i, (long long)partition);
        if (r->failed)
            break;
        memcpy(name, s, len);
        name[len] = '\0';
        rs->src_map[i] = cw_engine_source_id(rs->e, name, (int32_t)partition);
        if (!rs->o.merge) /* parts of other moments would move positions back */
            cw_engine_set_position(rs->e, rs->src_map[i], offset);
        rs->n_src = i + 1;
    }
    return !r->failed;
}

static int find_rule(cw_engine_t *e, const char *id, size_t len)
{
    for (int i = 0; i < cw_engine_rule_count(e); i++) {
        const char *x = cw_engine_rule(e, i)->id;
        if (strlen(x) == len && memcmp(x, id, len) == 0)
            return i;
    }
    return -1;
}

static bool load_rule(restore_t *rs, cw_rbuf_t *r)
{
    size_t len;
    const char *id = cw_rbuf_vstr(r, 256, &len);
    uint64_t fp = cw_rbuf_u64(r);
    uint8_t kind = cw_rbuf_u8(r);
    int i, ordinal = rs->n_rules;
    int *grown;
    if (r->failed)
        return false;
    if (!(grown = realloc(rs->rule_map, (size_t)(ordinal + 1) * sizeof *grown))) {
        cw_rbuf_fail(r, "out of memory");
        return false;
    }
    rs->rule_map = grown;
    rs->rule_map[ordinal] = -1;
    rs->n_rules++;
    i = find_rule(rs->e, id, len);
    if (i < 0) {
        if (!rs->o.quiet)
            cw_log(CW_LOG_INFO, "state: rule %.*s is not in the configuration: its state is dropped", (int)len, id);
        r->pos = r->len;
        return true;
    }
    if (rs->seen[i]) {
        cw_rbuf_fail(r, "rule %.*s appears twice", (int)len, id);
        return false;
    }
    rs->seen[i] = true;
    if (fp != cw_rule_fingerprint(cw_engine_rule(rs->e, i)) || kind != cw_engine_rule(rs->e, i)->kind) {
        if (!rs->o.quiet)
            cw_log(CW_LOG_INFO, "state: rule %.*s changed (kind, stream, filter, key, metric, windows or baseline): "
               "it starts fresh", (int)len, id);
        r->pos = r->len;
        return true;
    }
    if (!cw_engine_load_rule(rs->e, i, r, rs->src_map, rs->n_src, rs->o.merge))
        return false;
    rs->rule_map[ordinal] = i;
    if (!rs->o.quiet)
        cw_log(CW_LOG_INFO, "state: rule %.*s: state kept", (int)len, id);
    return true;
}

static bool load_reference(restore_t *rs, cw_rbuf_t *r)
{
    uint64_t have[3], sizing[3];
    cw_reference_t *ref = cw_engine_reference(rs->e);
    cw_reference_sizing(ref, have);
    for (int i = 0; i < 3; i++)
        sizing[i] = cw_rbuf_u64(r);
    if (r->failed)
        return false;
    if (memcmp(have, sizing, sizeof have) != 0) {
        if (!rs->o.quiet)
            cw_log(CW_LOG_INFO, "state: the CDR reference was sized %llu x %llu with %llu links, the configuration "
               "says %llu x %llu with %llu: it starts fresh", (unsigned long long)sizing[1],
               (unsigned long long)sizing[0], (unsigned long long)sizing[2], (unsigned long long)have[1],
               (unsigned long long)have[0], (unsigned long long)have[2]);
        r->pos = r->len;
        return true;
    }
    return cw_reference_load(ref, r);
}

static bool load_section(restore_t *rs, uint32_t tag, cw_rbuf_t *r)
{
    switch (tag) {
    case SEC_CLOCK: {
        cw_rbuf_t first = *r;
        rs->clock = cw_rbuf_i64(&first);
        cw_engine_load_clock(rs->e, r, rs->o.merge);
        return !r->failed;
    }
    case SEC_SOURCES: return load_sources(rs, r);
    case SEC_RULE: return load_rule(rs, r);
    case SEC_RING: return cw_engine_load_ring(rs->e, r, rs->rule_map, rs->n_rules, rs->o.merge);
    case SEC_REFERENCE: return load_reference(rs, r);
    default: return true;
    }
}

/* Sections in order: clock, sources, rules (any number), ring, reference, end; a part
 * (cw_state_serialize_part, not shared) has no reference. */
static bool expected_next(uint32_t prev, uint32_t tag)
{
    if (tag == SEC_END && prev == SEC_RING)
        return true;
    if (tag == SEC_RULE)
        return prev == SEC_SOURCES || prev == SEC_RULE;
    if (tag == SEC_RING)
        return prev == SEC_SOURCES || prev == SEC_RULE;
    return tag == prev + 1;
}

static cw_status_t restore_body(restore_t *rs, const unsigned char *body, size_t len, char *err, size_t errlen)
{
    cw_rbuf_t r;
    uint32_t prev = 0;
    cw_rbuf_init(&r, body, len, CW_STATE_HEADER, err, errlen);
    while (prev != SEC_END) {
        size_t at = CW_STATE_HEADER + r.pos;
        uint32_t tag = cw_rbuf_u32(&r);
        uint64_t n = cw_rbuf_u64(&r);
        cw_rbuf_t sec;
        if (r.failed)
            return CW_ERR_USAGE;
        if (!expected_next(prev, tag)) {
            snprintf(err, errlen, "section %u (%s) at byte %zu is out of place after %s", tag, section_name(tag), at,
                     section_name(prev));
            return CW_ERR_USAGE;
        }
        if (n > r.len - r.pos) {
            snprintf(err, errlen, "truncated at byte %zu (section %s at byte %zu announces %llu bytes)",
                     CW_STATE_HEADER + len, section_name(tag), at, (unsigned long long)n);
            return CW_ERR_USAGE;
        }
        cw_rbuf_init(&sec, body + r.pos, (size_t)n, CW_STATE_HEADER + r.pos, err, errlen);
        sec.clock = rs->clock;
        r.pos += (size_t)n;
        if (!load_section(rs, tag, &sec))
            return CW_ERR_USAGE;
        if (sec.pos != sec.len) {
            snprintf(err, errlen, "section %s at byte %zu: %zu bytes left over", section_name(tag), at, sec.len - sec.pos);
            return CW_ERR_USAGE;
        }
        prev = tag;
    }
    if (r.pos != r.len) {
        snprintf(err, errlen, "%zu bytes after the end section", r.len - r.pos);
        return CW_ERR_USAGE;
    }
    return CW_OK;
}

static cw_status_t check_header(const unsigned char *d, size_t len, char *err, size_t errlen)
{
    uint32_t version, crc;
    uint64_t body;
    cw_rbuf_t r;
    if (len < 8 || memcmp(d, CW_STATE_MAGIC, 8) != 0) {
        snprintf(err, errlen, "not a cdrwatch state file");
        return CW_ERR_USAGE;
    }
    if (len < CW_STATE_HEADER) {
        snprintf(err, errlen, "truncated at byte %zu (the header has %d)", len, CW_STATE_HEADER);
        return CW_ERR_USAGE;
    }
    cw_rbuf_init(&r, d + 8, CW_STATE_HEADER - 8, 8, err, errlen);
    version = cw_rbuf_u32(&r);
    crc = cw_rbuf_u32(&r);
    body = cw_rbuf_u64(&r);
    if (version != CW_STATE_VERSION) {
        snprintf(err, errlen, "format version %u, this build reads %u", version, CW_STATE_VERSION);
        return CW_ERR_USAGE;
    }
    if (body > len - CW_STATE_HEADER) {
        snprintf(err, errlen, "truncated at byte %zu (the header announces %llu)", len,
                 (unsigned long long)(body + CW_STATE_HEADER));
        return CW_ERR_USAGE;
    }
    if (body < len - CW_STATE_HEADER) {
        snprintf(err, errlen, "%llu bytes after the end of the snapshot", (unsigned long long)(len - CW_STATE_HEADER - body));
        return CW_ERR_USAGE;
    }
    if (cw_crc32c(d + CW_STATE_HEADER, (size_t)body) != crc) {
        snprintf(err, errlen, "checksum mismatch: the file is damaged");
        return CW_ERR_USAGE;
    }
    return CW_OK;
}

cw_status_t cw_state_restore(cw_engine_t *e, const void *data, size_t len, char *err, size_t errlen)
{
    return cw_state_restore_with(e, data, len, NULL, err, errlen);
}

cw_status_t cw_state_restore_with(cw_engine_t *e, const void *data, size_t len, const cw_state_restore_opts_t *o,
                                  char *err, size_t errlen)
{
    static const cw_state_restore_opts_t plain = {false, CW_STATE_NO_SOURCE, false};
    restore_t rs = {e, o ? *o : plain, NULL, 0, NULL, 0, NULL, INT64_MIN};
    cw_status_t st = check_header(data, len, err, errlen);
    int n = cw_engine_rule_count(e);
    if (st != CW_OK)
        return st;
    if (!(rs.seen = calloc((size_t)(n ? n : 1), sizeof *rs.seen))) {
        snprintf(err, errlen, "out of memory");
        return CW_ERR_NOMEM;
    }
    cw_engine_set_tag(e, rs.o.tag);
    st = restore_body(&rs, (const unsigned char *)data + CW_STATE_HEADER, len - CW_STATE_HEADER, err, errlen);
    cw_engine_set_tag(e, CW_STATE_NO_SOURCE);
    for (int i = 0; st == CW_OK && !rs.o.quiet && i < n; i++) {
        if (!rs.seen[i])
            cw_log(CW_LOG_INFO, "state: rule %s is not in the snapshot: it starts fresh", cw_engine_rule(e, i)->id);
    }
    free(rs.seen);
    free(rs.src_map);
    free(rs.rule_map);
    return st;
}

/* ---- carrying the state into an engine of another configuration ---- */

typedef struct {
    uint32_t src;
} carry_select_t;

static bool select_tag(void *ctx, const cw_rule_t *rule, const char *key, size_t len, uint32_t src)
{
    (void)rule;
    (void)key;
    (void)len;
    return src == ((const carry_select_t *)ctx)->src;
}

/* Serialize what old's keys tagged src hold and restore it into e (merge after the first). */
static cw_status_t carry_part(cw_engine_t *old, cw_engine_t *e, uint32_t src, bool first, char *err, size_t errlen)
{
    carry_select_t sel = {src};
    cw_state_restore_opts_t o = {!first, src, !first};
    cw_wbuf_t w;
    cw_status_t st;
    cw_wbuf_init(&w);
    st = cw_state_serialize_part(old, select_tag, &sel, first, &w, err, errlen);
    if (st == CW_OK)
        st = cw_state_restore_with(e, w.data, w.len, &o, err, errlen);
    cw_wbuf_free(&w);
    return st;
}

cw_status_t cw_state_carry(apr_pool_t *pool, cw_engine_t *old, const cw_config_t *cfg, cw_alert_sink_fn sink,
                           void *sink_ctx, cw_engine_t **out, char *err, size_t errlen)
{
    cw_engine_t *e;
    int n = cw_engine_source_count(old);
    cw_status_t st = cw_engine_create(pool, cfg, sink, sink_ctx, &e, err, errlen);
    /* the untagged keys with the shared sections first (clock, positions, reference, decisions
     * logged), then one part per source, so that every key keeps the source it is tagged with */
    if (st == CW_OK)
        st = carry_part(old, e, CW_STATE_NO_SOURCE, true, err, errlen);
    for (int i = 0; st == CW_OK && i < n; i++)
        st = carry_part(old, e, (uint32_t)i, false, err, errlen);
    if (st == CW_OK)
        *out = e;
    return st;
}

/* ---- files ---- */

static cw_status_t write_all(int fd, const unsigned char *p, size_t n)
{
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return CW_ERR_IO;
        p += k;
        n -= (size_t)k;
    }
    return CW_OK;
}

static void sync_dir(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    int fd;
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    if ((fd = open(dir, O_RDONLY)) >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

cw_status_t cw_state_write_file(cw_engine_t *e, const char *path, char *err, size_t errlen)
{
    char tmp[4096];
    cw_wbuf_t w;
    cw_status_t st;
    int fd;
    cw_wbuf_init(&w);
    if ((st = cw_state_serialize(e, NULL, NULL, &w, err, errlen)) != CW_OK) {
        cw_wbuf_free(&w);
        return st;
    }
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    fd = cw_file_create(tmp, CW_MODE_PRIVATE);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot create: %s", tmp, strerror(errno));
        cw_wbuf_free(&w);
        return CW_ERR_IO;
    }
    st = write_all(fd, w.data, w.len);
    if (st == CW_OK && fsync(fd) != 0)
        st = CW_ERR_IO;
    if (close(fd) != 0)
        st = CW_ERR_IO;
    if (st == CW_OK && rename(tmp, path) != 0)
        st = CW_ERR_IO;
    if (st != CW_OK) {
        snprintf(err, errlen, "%s: cannot write the state: %s", path, strerror(errno));
        unlink(tmp);
    } else {
        sync_dir(path);
    }
    cw_wbuf_free(&w);
    return st;
}

cw_status_t cw_state_read_file(const char *path, unsigned char **data, size_t *len, char *err, size_t errlen)
{
    struct stat sb;
    FILE *f = fopen(path, "rb");
    *data = NULL;
    *len = 0;
    if (!f || fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        snprintf(err, errlen, "%s: cannot read the state: %s", path, f ? "not a regular file" : strerror(errno));
        if (f)
            fclose(f);
        return CW_ERR_USAGE;
    }
    if (!(*data = malloc(sb.st_size > 0 ? (size_t)sb.st_size : 1))) {
        fclose(f);
        snprintf(err, errlen, "%s: out of memory reading %lld bytes", path, (long long)sb.st_size);
        return CW_ERR_NOMEM;
    }
    if (sb.st_size > 0)
        *len = fread(*data, 1, (size_t)sb.st_size, f);
    fclose(f);
    return CW_OK;
}

cw_status_t cw_state_load_file(cw_engine_t *e, const char *path, char *err, size_t errlen)
{
    char why[512];
    unsigned char *data;
    size_t got;
    cw_status_t st = cw_state_read_file(path, &data, &got, err, errlen);
    if (st != CW_OK)
        return st;
    st = cw_state_restore(e, data, got, why, sizeof why);
    if (st != CW_OK)
        snprintf(err, errlen, "%s: %s", path, why);
    free(data);
    return st;
}
