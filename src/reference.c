/*
 * reference.c — CDR sketches, identity links and the watchlist (see reference.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cdrwatch/reference.h"
#include "cdrwatch/state.h"
#include "cdrwatch/window.h"

typedef struct {
    uint64_t imsi, imei; /* hashes of the digits; 0 when unknown */
} link_t;

typedef struct {
    uint64_t *slot; /* open addressing; 0 = empty (a hash of 0 is stored as 1) */
    size_t mask;
    size_t n;
} idset_t;

/* One sketch cell: the count and the earliest day of the subscribers hashed to it, together so
 * that an update touches one cache line per row. */
typedef struct {
    uint32_t count;
    uint16_t first_day; /* UINT16_MAX = none */
    uint16_t pad;
} cell_t;

/* Recent records per subscriber: a count-min sketch per 6-hour block of event time, in a ring
 * of RECENT_BLOCKS (the last 24 hours and the block in progress), 16-bit saturating counters,
 * a quarter of the main sketch's width. */
#define RECENT_BLOCKS 5
#define RECENT_BLOCK_MS (6 * CW_MS_PER_HOUR)

struct cw_reference {
    size_t width, depth;
    cell_t *cells; /* depth x width */
    size_t rwidth;
    uint16_t *recent;    /* RECENT_BLOCKS x depth x rwidth */
    int64_t recent_head; /* newest 6-hour block counted; INT64_MIN before the first CDR */
    int64_t hour_head;   /* newest clock hour counted */
    uint64_t hourly[168];
    cw_keytab_t *links;
    idset_t watch;
};

static uint64_t id_hash(const char *digits)
{
    uint64_t h = cw_hash64(digits, strlen(digits), 0x1d);
    return h ? h : 1;
}

static apr_status_t reference_cleanup(void *data)
{
    cw_reference_t *r = data;
    free(r->cells);
    free(r->recent);
    free(r->watch.slot);
    return APR_SUCCESS;
}

cw_status_t cw_reference_create(apr_pool_t *pool, const cw_config_t *cfg, cw_reference_t **out,
                                char *err, size_t errlen)
{
    cw_reference_t *r = apr_pcalloc(pool, sizeof *r);
    r->width = (size_t)cfg->sketch_width;
    r->depth = (size_t)cfg->sketch_depth;
    r->cells = malloc(r->width * r->depth * sizeof *r->cells);
    r->rwidth = r->width / 4 < 1024 ? 1024 : r->width / 4;
    r->recent = calloc(RECENT_BLOCKS * r->depth * r->rwidth, sizeof *r->recent);
    r->recent_head = INT64_MIN;
    r->hour_head = INT64_MIN;
    apr_pool_cleanup_register(pool, r, reference_cleanup, apr_pool_cleanup_null);
    if (!r->cells || !r->recent ||
        cw_keytab_create(pool, (size_t)cfg->max_links, CW_MSISDN_MAX, sizeof(link_t), &r->links) != CW_OK) {
        snprintf(err, errlen, "reference: cannot allocate the CDR sketches (%lld x %lld) and links",
                 (long long)cfg->sketch_depth, (long long)cfg->sketch_width);
        return CW_ERR_NOMEM;
    }
    for (size_t i = 0; i < r->width * r->depth; i++) {
        r->cells[i].count = 0;
        r->cells[i].first_day = UINT16_MAX;
        r->cells[i].pad = 0;
    }
    if (cw_reference_load_watchlist(r, cfg->watchlist_file, &cfg->watchlist_ids, err, errlen) != CW_OK)
        return CW_ERR_USAGE;
    *out = r;
    return CW_OK;
}

/* Cell of row i for a subscriber: double hashing h1 + i * h2. */
static inline size_t cell(const cw_reference_t *r, uint64_t h, size_t i)
{
    uint64_t h1 = h, h2 = (h >> 32) | 1;
    return i * r->width + (size_t)((h1 + i * h2) % r->width);
}

static inline int64_t block_of(cw_time_t t) { return t / RECENT_BLOCK_MS - (t % RECENT_BLOCK_MS < 0); }

static inline uint16_t *recent_cell(const cw_reference_t *r, int64_t block, uint64_t h, size_t i)
{
    uint64_t h1 = h, h2 = (h >> 32) | 1;
    size_t b = (size_t)(((block % RECENT_BLOCKS) + RECENT_BLOCKS) % RECENT_BLOCKS);
    return &r->recent[(b * r->depth + i) * r->rwidth + (size_t)((h1 + i * h2) % r->rwidth)];
}

static void recent_add(cw_reference_t *r, uint64_t h, cw_time_t t)
{
    int64_t b = block_of(t);
    if (r->recent_head == INT64_MIN)
        r->recent_head = b;
    for (int64_t k = r->recent_head + 1; k <= b && k <= r->recent_head + RECENT_BLOCKS; k++) {
        size_t slot = (size_t)(((k % RECENT_BLOCKS) + RECENT_BLOCKS) % RECENT_BLOCKS);
        memset(&r->recent[slot * r->depth * r->rwidth], 0, r->depth * r->rwidth * sizeof *r->recent);
    }
    if (b > r->recent_head)
        r->recent_head = b;
    if (b <= r->recent_head - RECENT_BLOCKS)
        return; /* older than the ring */
    for (size_t i = 0; i < r->depth; i++) {
        uint16_t *c = recent_cell(r, b, h, i);
        if (*c < UINT16_MAX)
            (*c)++;
    }
}

uint32_t cw_reference_recent(const cw_reference_t *r, const char *msisdn, cw_time_t t)
{
    uint64_t h = cw_hash64(msisdn, strlen(msisdn), 0x5b);
    int64_t last = block_of(t);
    uint32_t n = 0;
    if (r->recent_head == INT64_MIN)
        return 0;
    if (last > r->recent_head)
        last = r->recent_head;
    for (int64_t b = last - RECENT_BLOCKS + 1; b <= last; b++) {
        uint16_t best = UINT16_MAX;
        if (b <= r->recent_head - RECENT_BLOCKS)
            continue;
        for (size_t i = 0; i < r->depth; i++) {
            uint16_t v = *recent_cell(r, b, h, i);
            if (v < best)
                best = v;
        }
        n += best;
    }
    return n;
}

static void hourly_add(cw_reference_t *r, cw_time_t t)
{
    int64_t h = t / CW_MS_PER_HOUR;
    if (r->hour_head == INT64_MIN)
        r->hour_head = h;
    if (h > r->hour_head) {
        for (int64_t k = r->hour_head + 1; k <= h && k <= r->hour_head + 168; k++)
            r->hourly[k % 168] = 0;
        r->hour_head = h;
    }
    if (h > r->hour_head - 168)
        r->hourly[h % 168]++;
}

void cw_reference_add_cdr(cw_reference_t *r, const cw_event_t *ev)
{
    const cw_cdr_t *c = &ev->u.cdr;
    uint64_t h = cw_hash64(c->calling_msisdn, strlen(c->calling_msisdn), 0x5b);
    int64_t day = ev->ts / CW_MS_PER_DAY;
    uint16_t d16 = day < 0 ? 0 : day >= UINT16_MAX ? UINT16_MAX - 1 : (uint16_t)day;
    bool created;
    link_t *l;

    for (size_t i = 0; i < r->depth; i++) {
        cell_t *c1 = &r->cells[cell(r, h, i)];
        if (c1->count < UINT32_MAX)
            c1->count++;
        if (d16 < c1->first_day)
            c1->first_day = d16;
    }
    hourly_add(r, ev->ts);
    recent_add(r, h, ev->ts);
    l = cw_keytab_get(r->links, c->calling_msisdn, strlen(c->calling_msisdn), &created);
    if (l) {
        cw_msisdn_t digits;
        if (c->imsi[0] && cw_msisdn_normalise(c->imsi, strlen(c->imsi), digits))
            l->imsi = id_hash(digits);
        if (c->imei[0] && cw_msisdn_normalise(c->imei, strlen(c->imei), digits))
            l->imei = id_hash(digits);
    }
}

void cw_reference_history(const cw_reference_t *r, const char *msisdn, uint32_t *count, cw_time_t *first)
{
    uint64_t h = cw_hash64(msisdn, strlen(msisdn), 0x5b);
    uint32_t best = UINT32_MAX;
    uint16_t day = 0;
    for (size_t i = 0; i < r->depth; i++) {
        const cell_t *c = &r->cells[cell(r, h, i)];
        if (c->count < best)
            best = c->count;
        if (c->first_day > day)
            day = c->first_day;
    }
    *count = best;
    *first = day == UINT16_MAX ? INT64_MAX : (cw_time_t)day * CW_MS_PER_DAY;
}

void cw_reference_prefetch(const cw_reference_t *r, const char *msisdn, cw_time_t t)
{
    uint64_t h = cw_hash64(msisdn, strlen(msisdn), 0x5b);
    int64_t last = block_of(t);
    for (size_t i = 0; i < r->depth; i++)
        __builtin_prefetch(&r->cells[cell(r, h, i)]);
    if (r->recent_head == INT64_MIN)
        return;
    if (last > r->recent_head)
        last = r->recent_head;
    for (int64_t b = last - RECENT_BLOCKS + 1; b <= last; b++) {
        if (b <= r->recent_head - RECENT_BLOCKS)
            continue;
        for (size_t i = 0; i < r->depth; i++)
            __builtin_prefetch(recent_cell(r, b, h, i));
    }
}

uint32_t cw_reference_count(const cw_reference_t *r, const char *msisdn)
{
    uint32_t n;
    cw_time_t first;
    cw_reference_history(r, msisdn, &n, &first);
    return n;
}

cw_time_t cw_reference_first(const cw_reference_t *r, const char *msisdn)
{
    uint32_t n;
    cw_time_t first;
    cw_reference_history(r, msisdn, &n, &first);
    return first;
}

uint64_t cw_reference_hourly(const cw_reference_t *r, cw_time_t t)
{
    int64_t h = t / CW_MS_PER_HOUR;
    if (r->hour_head == INT64_MIN || h > r->hour_head || h <= r->hour_head - 168)
        return 0;
    return r->hourly[h % 168];
}

/* ---- watchlist ---- */

static bool idset_has(const idset_t *s, uint64_t h)
{
    if (!s->slot)
        return false;
    for (size_t i = h & s->mask;; i = (i + 1) & s->mask) {
        if (s->slot[i] == h)
            return true;
        if (s->slot[i] == 0)
            return false;
    }
}

static void idset_put(idset_t *s, uint64_t h)
{
    size_t i;
    for (i = h & s->mask; s->slot[i] && s->slot[i] != h; i = (i + 1) & s->mask)
        ;
    if (!s->slot[i]) {
        s->slot[i] = h;
        s->n++;
    }
}

bool cw_reference_watchlisted(const cw_reference_t *r, const char *msisdn)
{
    const link_t *l;
    if (r->watch.n == 0)
        return false;
    if (idset_has(&r->watch, id_hash(msisdn)))
        return true;
    /* the links table is only read here: a lookup that finds nothing must not insert */
    l = cw_keytab_find(r->links, msisdn, strlen(msisdn));
    return l && ((l->imsi && idset_has(&r->watch, l->imsi)) || (l->imei && idset_has(&r->watch, l->imei)));
}

cw_status_t cw_reference_load_watchlist(cw_reference_t *r, const char *path, const cw_strlist_t *ids,
                                        char *err, size_t errlen)
{
    idset_t s = {NULL, 0, 0};
    size_t cap = 64;
    FILE *f = NULL;
    char line[256];
    long lineno = 0;
    size_t lines = 0;

    if (path && *path) {
        f = fopen(path, "r");
        if (!f) {
            snprintf(err, errlen, "%s: cannot open the watchlist: %s", path, strerror(errno));
            return CW_ERR_USAGE;
        }
        while (fgets(line, sizeof line, f))
            lines++;
        rewind(f);
    }
    while (cap < 2 * (lines + (size_t)ids->n) + 2)
        cap *= 2;
    s.slot = calloc(cap, sizeof *s.slot);
    s.mask = cap - 1;
    if (!s.slot) {
        if (f)
            fclose(f);
        snprintf(err, errlen, "watchlist: out of memory");
        return CW_ERR_NOMEM;
    }
    for (int i = 0; i < ids->n; i++) {
        cw_msisdn_t digits;
        if (!cw_msisdn_normalise(ids->items[i], strlen(ids->items[i]), digits)) {
            snprintf(err, errlen, "watchlist.identifiers[%d]: expected an MSISDN, IMSI or IMEI (up to 15 digits), got \"%s\"",
                     i, ids->items[i]);
            free(s.slot);
            if (f)
                fclose(f);
            return CW_ERR_USAGE;
        }
        idset_put(&s, id_hash(digits));
    }
    while (f && fgets(line, sizeof line, f)) {
        char *p = line, *end;
        cw_msisdn_t digits;
        lineno++;
        if ((end = strchr(p, '#')))
            *end = '\0';
        while (*p == ' ' || *p == '\t')
            p++;
        end = p + strlen(p);
        while (end > p && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if (end == p)
            continue;
        if (!cw_msisdn_normalise(p, (size_t)(end - p), digits)) {
            snprintf(err, errlen, "%s:%ld: expected an MSISDN, IMSI or IMEI (up to 15 digits), got \"%.*s\"",
                     path, lineno, (int)(end - p > 40 ? 40 : end - p), p);
            free(s.slot);
            fclose(f);
            return CW_ERR_USAGE;
        }
        idset_put(&s, id_hash(digits));
    }
    if (f)
        fclose(f);
    free(r->watch.slot);
    r->watch = s;
    return CW_OK;
}

size_t cw_reference_watchlist_size(const cw_reference_t *r) { return r->watch.n; }
uint64_t cw_reference_link_evictions(const cw_reference_t *r) { return cw_keytab_evictions(r->links); }

size_t cw_reference_memory(const cw_reference_t *r)
{
    return r->width * r->depth * sizeof *r->cells + RECENT_BLOCKS * r->depth * r->rwidth * sizeof *r->recent +
           cw_keytab_memory(r->links) +
           (r->watch.mask + 1) * sizeof *r->watch.slot;
}

/* ---- snapshots ----
 * Sketch cells as runs: (u32 empty cells, u32 used cells, then the used cells as u32 count and
 * u16 first day), so a sparsely filled sketch costs little. */

void cw_reference_sizing(const cw_reference_t *r, uint64_t sizing[3])
{
    sizing[0] = r->width;
    sizing[1] = r->depth;
    sizing[2] = cw_keytab_max(r->links);
}

static bool cell_empty(const cell_t *c) { return c->count == 0 && c->first_day == UINT16_MAX; }

static void save_cells(const cw_reference_t *r, cw_wbuf_t *w)
{
    size_t n = r->width * r->depth, i = 0;
    while (i < n) {
        size_t e0 = i, u0;
        while (i < n && cell_empty(&r->cells[i]) && i - e0 < UINT32_MAX)
            i++;
        u0 = i;
        while (i < n && !cell_empty(&r->cells[i]) && i - u0 < UINT32_MAX)
            i++;
        cw_wbuf_uv(w, u0 - e0);
        cw_wbuf_uv(w, i - u0);
        for (size_t k = u0; k < i; k++) {
            cw_wbuf_uv(w, r->cells[k].count);
            cw_wbuf_u16(w, r->cells[k].first_day);
        }
    }
}

/* The recent sketches: the newest block, then runs of (zero cells, non-zero cells) as the
 * main sketch is saved. */
static void save_recent(const cw_reference_t *r, cw_wbuf_t *w)
{
    size_t n = RECENT_BLOCKS * r->depth * r->rwidth, i = 0;
    cw_wbuf_sv(w, r->recent_head);
    while (i < n) {
        size_t e0 = i, u0;
        while (i < n && r->recent[i] == 0 && i - e0 < UINT32_MAX)
            i++;
        u0 = i;
        while (i < n && r->recent[i] != 0 && i - u0 < UINT32_MAX)
            i++;
        cw_wbuf_uv(w, u0 - e0);
        cw_wbuf_uv(w, i - u0);
        for (size_t k = u0; k < i; k++)
            cw_wbuf_uv(w, r->recent[k]);
    }
}

static bool load_recent(cw_reference_t *r, cw_rbuf_t *rd)
{
    size_t n = RECENT_BLOCKS * r->depth * r->rwidth, i = 0;
    r->recent_head = cw_rbuf_sv(rd);
    while (i < n && !rd->failed) {
        uint64_t empty = cw_rbuf_uv(rd), used = cw_rbuf_uv(rd);
        if (rd->failed || (empty == 0 && used == 0) || empty > n - i || used > n - i - empty) {
            cw_rbuf_fail(rd, "recent CDR sketch runs do not add up to its %zu cells", n);
            break;
        }
        memset(&r->recent[i], 0, (size_t)empty * sizeof *r->recent);
        i += (size_t)empty;
        if (used > rd->len - rd->pos) { /* at least a byte each */
            cw_rbuf_fail(rd, "recent CDR sketch: %llu cells announced, fewer bytes remain", (unsigned long long)used);
            break;
        }
        for (uint64_t k = 0; k < used && !rd->failed; k++, i++) {
            uint64_t v = cw_rbuf_uv(rd);
            if (v > UINT16_MAX)
                cw_rbuf_fail(rd, "recent CDR sketch: a counter of %llu", (unsigned long long)v);
            r->recent[i] = (uint16_t)v;
        }
    }
    return !rd->failed;
}

static void save_link(void *data, const char *key, size_t len, void *value)
{
    const link_t *l = value;
    cw_wbuf_vstr(data, key, len);
    cw_wbuf_u64(data, l->imsi);
    cw_wbuf_u64(data, l->imei);
}

void cw_reference_save(const cw_reference_t *r, cw_wbuf_t *w)
{
    save_cells(r, w);
    cw_wbuf_sv(w, r->hour_head);
    for (int h = 0; h < 168; h++)
        cw_wbuf_uv(w, r->hourly[h]);
    cw_wbuf_u32(w, (uint32_t)cw_keytab_count(r->links));
    cw_keytab_foreach(r->links, save_link, w);
    save_recent(r, w);
}

static bool load_cells(cw_reference_t *r, cw_rbuf_t *rd)
{
    size_t n = r->width * r->depth, i = 0;
    while (i < n && !rd->failed) {
        uint64_t empty = cw_rbuf_uv(rd), used = cw_rbuf_uv(rd);
        if (rd->failed || (empty == 0 && used == 0) || empty > n - i || used > n - i - empty) {
            cw_rbuf_fail(rd, "CDR sketch runs do not add up to its %zu cells", n);
            break;
        }
        i += empty;
        if (used > (rd->len - rd->pos) / 3) { /* a cell: a count (1 byte or more) and a u16 */
            cw_rbuf_fail(rd, "CDR sketch: %llu cells announced, fewer bytes remain", (unsigned long long)used);
            break;
        }
        for (uint64_t k = 0; k < used; k++, i++) {
            uint64_t count = cw_rbuf_uv(rd);
            if (count > UINT32_MAX && !rd->failed)
                cw_rbuf_fail(rd, "CDR sketch: a cell counts %llu", (unsigned long long)count);
            r->cells[i].count = (uint32_t)count;
            r->cells[i].first_day = cw_rbuf_u16(rd);
        }
    }
    return !rd->failed;
}

bool cw_reference_load(cw_reference_t *r, cw_rbuf_t *rd)
{
    uint32_t n;
    if (!load_cells(r, rd))
        return false;
    r->hour_head = cw_rbuf_sv(rd);
    for (int h = 0; h < 168; h++)
        r->hourly[h] = cw_rbuf_uv(rd);
    n = cw_rbuf_count(rd, 1 + 16, UINT32_MAX, "identity links");
    for (uint32_t k = 0; k < n && !rd->failed; k++) {
        size_t len;
        bool created;
        const char *key = cw_rbuf_vstr(rd, CW_MSISDN_MAX, &len);
        link_t *l = key ? cw_keytab_get(r->links, key, len, &created) : NULL;
        if (!l)
            break;
        l->imsi = cw_rbuf_u64(rd);
        l->imei = cw_rbuf_u64(rd);
    }
    return !rd->failed && load_recent(r, rd);
}
