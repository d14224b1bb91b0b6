/*
 * decode_tz.c — fixed offsets and IANA zones read from their TZif files, into an immutable
 * table of transitions (decode_tz.h). Everything is done at load: a conversion is two binary
 * searches of the table and allocates nothing, so every decoding thread may share one zone.
 *
 * The TZif reader takes what RFC 8536 guarantees: the header, the version 2+ section with 64-bit
 * transition times (version 1 files: the 32-bit section), the local time types (offset, DST
 * flag) and the footer's POSIX TZ string, whose M-rules (Mm.w.d[/time]) are expanded into
 * transitions after the table's last one. Leap-second records are skipped: the file's times
 * are POSIX times.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "cdrwatch/decode_tz.h"

#define TZIF_MAX (1u << 20)    /* bytes of a zone file read (the largest are under 4 KiB) */
#define RULE_LAST_YEAR 2200     /* a footer rule is expanded up to this year */

struct cw_tz {
    const char *name;
    int n;            /* transitions */
    int64_t *at;      /* their UTC times, seconds, ascending */
    int32_t *offset;  /* the offset east of UTC from each on, seconds */
    int32_t initial;  /* before the first (and for a fixed offset, always) */
};

/* ---- calendar ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era;
    unsigned yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (unsigned)((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int year_of(int64_t seconds)
{
    int64_t days = seconds / 86400 - (seconds % 86400 < 0);
    int y = (int)(1970 + days / 366);
    while (days_from_civil(y + 1, 1, 1) <= days)
        y++;
    return y;
}

static int days_in_month(int y, int m)
{
    return (int)(days_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1) - days_from_civil(y, m, 1));
}

/* ---- fixed offsets ---- */

/* "UTC", "Z", "±HH", "±HHMM", "±HH:MM" in seconds east of UTC. */
static bool fixed_offset(const char *s, int32_t *out)
{
    int h, m = 0;
    size_t n = strlen(s);
    if (strcmp(s, "UTC") == 0 || strcmp(s, "Z") == 0) {
        *out = 0;
        return true;
    }
    if ((s[0] != '+' && s[0] != '-') || (n != 3 && n != 5 && n != 6))
        return false;
    for (size_t i = 1; i < n; i++) {
        if (!(s[i] >= '0' && s[i] <= '9') && !(n == 6 && i == 3 && s[i] == ':'))
            return false;
    }
    h = (s[1] - '0') * 10 + (s[2] - '0');
    if (n > 3)
        m = (s[n - 2] - '0') * 10 + (s[n - 1] - '0');
    if (h > 23 || m > 59)
        return false;
    *out = (s[0] == '-' ? -1 : 1) * (h * 3600 + m * 60);
    return true;
}

/* ---- the footer's POSIX TZ rule ---- */

typedef struct {
    int month, week, day; /* Mm.w.d */
    int32_t time;         /* local seconds after midnight */
} rule_t;

typedef struct {
    int32_t std, dst; /* offsets east of UTC */
    bool has_dst;
    rule_t start, end;
} posix_tz_t;

static const char *posix_name(const char *p)
{
    if (*p == '<') {
        const char *e = strchr(p, '>');
        return e ? e + 1 : NULL;
    }
    while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
        p++;
    return p;
}

/* [+-]hh[:mm[:ss]] into *secs (hours up to 167, as RFC 8536 allows in rule times). */
static const char *posix_hms(const char *p, int32_t *secs)
{
    int sign = 1, part[3] = {0, 0, 0}, k = 0;
    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    if (*p < '0' || *p > '9')
        return NULL;
    for (;;) {
        while (*p >= '0' && *p <= '9' && part[k] < 1000)
            part[k] = part[k] * 10 + (*p++ - '0');
        if (*p != ':' || k == 2)
            break;
        p++;
        k++;
    }
    if (part[0] > 167 || part[1] > 59 || part[2] > 59)
        return NULL;
    *secs = sign * (part[0] * 3600 + part[1] * 60 + part[2]);
    return p;
}

static const char *posix_rule(const char *p, rule_t *r)
{
    if (sscanf(p, "M%d.%d.%d", &r->month, &r->week, &r->day) != 3 || r->month < 1 || r->month > 12 ||
        r->week < 1 || r->week > 5 || r->day < 0 || r->day > 6)
        return NULL; /* Jn and n day forms: not used by the IANA files of zones with DST */
    p = strpbrk(p, ",/");
    r->time = 7200;
    if (p && *p == '/')
        p = posix_hms(p + 1, &r->time);
    return p ? p : "";
}

/* "STDoff[DST[off][,start[/time],end[/time]]]"; false when it is not one this reader knows. */
static bool posix_parse(const char *p, posix_tz_t *z)
{
    int32_t west;
    memset(z, 0, sizeof *z);
    if (!(p = posix_name(p)) || !(p = posix_hms(p, &west)))
        return false;
    z->std = -west;
    if (*p == '\0')
        return true;
    if (!(p = posix_name(p)))
        return false;
    z->dst = z->std + 3600;
    if (*p != ',' && *p != '\0') {
        if (!(p = posix_hms(p, &west)))
            return false;
        z->dst = -west;
    }
    if (*p != ',' || !(p = posix_rule(p + 1, &z->start)) || *p != ',' || !(p = posix_rule(p + 1, &z->end)))
        return false;
    z->has_dst = *p == '\0';
    return z->has_dst;
}

/* The UTC time a rule takes effect in year y, its time being local time at offset before. */
static int64_t rule_at(int y, const rule_t *r, int32_t before)
{
    int64_t first = days_from_civil(y, r->month, 1);
    int dow = (int)((first % 7 + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
    int day = 1 + (r->day - dow + 7) % 7 + (r->week - 1) * 7;
    while (day > days_in_month(y, r->month))
        day -= 7;
    return (first + day - 1) * 86400 + r->time - before;
}

static void add(cw_tz_t *tz, int64_t at, int32_t offset)
{
    if (tz->n == 0 || at > tz->at[tz->n - 1]) {
        tz->at[tz->n] = at;
        tz->offset[tz->n++] = offset;
    }
}

/* The rule's transitions after the table's, year by year. */
static void expand(cw_tz_t *tz, const posix_tz_t *z)
{
    int from = tz->n ? year_of(tz->at[tz->n - 1]) : 1970;
    if (!z->has_dst) {
        if (tz->n == 0)
            tz->initial = z->std;
        return;
    }
    for (int y = from; y <= RULE_LAST_YEAR; y++) {
        int64_t on = rule_at(y, &z->start, z->std), off = rule_at(y, &z->end, z->dst);
        if (on < off) {
            add(tz, on, z->dst);
            add(tz, off, z->std);
        } else { /* southern hemisphere: summer time spans the new year */
            add(tz, off, z->std);
            add(tz, on, z->dst);
        }
    }
}

/* ---- TZif ---- */

static int64_t be(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = v << 8 | p[i];
    return bytes == 4 ? (int64_t)(int32_t)(uint32_t)v : (int64_t)v;
}

typedef struct {
    int64_t isut, isstd, leap, time, type, chars;
} counts_t;

static bool header(const unsigned char *p, size_t len, counts_t *c)
{
    if (len < 44 || memcmp(p, "TZif", 4) != 0)
        return false;
    c->isut = be(p + 20, 4);
    c->isstd = be(p + 24, 4);
    c->leap = be(p + 28, 4);
    c->time = be(p + 32, 4);
    c->type = be(p + 36, 4);
    c->chars = be(p + 40, 4);
    return c->isut >= 0 && c->isstd >= 0 && c->leap >= 0 && c->time >= 0 && c->type >= 1 && c->type <= 256 &&
           c->chars >= 0 && c->time <= 100000;
}

static size_t block_size(const counts_t *c, int tb)
{
    return (size_t)(c->time * tb + c->time + c->type * 6 + c->chars + c->leap * (tb + 4) + c->isstd + c->isut);
}

static cw_status_t fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static cw_status_t fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return CW_ERR_USAGE;
}

static cw_status_t read_zone(apr_pool_t *pool, const char *name, cw_tz_t *tz, char *err, size_t errlen)
{
    const char *dir = getenv("TZDIR");
    const char *path;
    unsigned char *buf;
    size_t len;
    counts_t c;
    int tb = 4;
    const unsigned char *p;
    posix_tz_t z;
    FILE *f;
    if (name[0] == '/' || name[0] == '+' || name[0] == '-' || strstr(name, "..") || strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                               "0123456789_+-/") != strlen(name))
        return fail(err, errlen, "expected UTC, an offset such as +03:00, or an IANA zone name such as "
                                 "Europe/Berlin, got '%s'", name);
    path = apr_pstrcat(pool, dir && *dir ? dir : "/usr/share/zoneinfo", "/", name, NULL);
    if (!(f = fopen(path, "rb")))
        return fail(err, errlen, "unknown time zone '%s': %s", name, strerror(errno));
    buf = apr_palloc(pool, TZIF_MAX);
    len = fread(buf, 1, TZIF_MAX, f);
    fclose(f);
    if (!header(buf, len, &c) || block_size(&c, 4) + 44 > len)
        return fail(err, errlen, "time zone '%s': %s is not a TZif file", name, path);
    p = buf + 44;
    if (buf[4] >= '2') { /* the 64-bit section follows the 32-bit one */
        p += block_size(&c, 4);
        if (!header(p, len - (size_t)(p - buf), &c) || block_size(&c, 8) + 44 > len - (size_t)(p - buf))
            return fail(err, errlen, "time zone '%s': %s: a damaged version 2 section", name, path);
        p += 44;
        tb = 8;
    }
    tz->at = apr_palloc(pool, sizeof *tz->at * (size_t)(c.time + 2 * (RULE_LAST_YEAR - 1970 + 2)));
    tz->offset = apr_palloc(pool, sizeof *tz->offset * (size_t)(c.time + 2 * (RULE_LAST_YEAR - 1970 + 2)));
    {
        const unsigned char *times = p, *idx = p + c.time * tb, *types = idx + c.time;
        tz->initial = (int32_t)be(types, 4);
        for (int64_t i = 0; i < c.time; i++) {
            unsigned k = idx[i];
            if (k >= c.type)
                return fail(err, errlen, "time zone '%s': %s: a transition to a type it lacks", name, path);
            add(tz, be(times + i * tb, tb), (int32_t)be(types + k * 6, 4));
        }
    }
    p += block_size(&c, tb);
    if (tb == 8 && p < buf + len && *p == '\n') { /* the footer: "\n" POSIX-TZ "\n" */
        const unsigned char *end = memchr(p + 1, '\n', len - (size_t)(p + 1 - buf));
        if (end && end > p + 1 && posix_parse(apr_pstrmemdup(pool, (const char *)p + 1, (size_t)(end - p - 1)), &z))
            expand(tz, &z);
    }
    return CW_OK;
}

cw_status_t cw_tz_load(apr_pool_t *pool, const char *spec, cw_tz_t **out, char *err, size_t errlen)
{
    cw_tz_t *tz = apr_pcalloc(pool, sizeof *tz);
    cw_status_t st;
    tz->name = apr_pstrdup(pool, spec);
    if (!fixed_offset(spec, &tz->initial) && (st = read_zone(pool, spec, tz, err, errlen)) != CW_OK)
        return st;
    *out = tz;
    return CW_OK;
}

const char *cw_tz_name(const cw_tz_t *tz) { return tz ? tz->name : "UTC"; }

/* The offset in effect at UTC second t. */
static int32_t offset_at(const cw_tz_t *tz, int64_t t)
{
    int lo = 0, hi = tz->n; /* the first transition after t */
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (tz->at[mid] <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == 0 ? tz->initial : tz->offset[lo - 1];
}

int32_t cw_tz_offset(const cw_tz_t *tz, int64_t utc_ms)
{
    int64_t t = utc_ms / 1000 - (utc_ms % 1000 < 0);
    return tz ? offset_at(tz, t) : 0;
}

int64_t cw_tz_to_utc(const cw_tz_t *tz, int64_t local_ms)
{
    int64_t local = local_ms / 1000 - (local_ms % 1000 < 0), ms = local_ms - local * 1000;
    int32_t before, after;
    if (!tz || tz->n == 0)
        return local_ms - (tz ? tz->initial : 0) * 1000LL;
    /* the offsets in effect a day either side: equal but near a transition */
    before = offset_at(tz, local - 86400);
    after = offset_at(tz, local + 86400);
    if (offset_at(tz, local - before) == before) /* valid with the earlier offset: its first occurrence */
        return (local - before) * 1000 + ms;
    if (offset_at(tz, local - after) == after)
        return (local - after) * 1000 + ms;
    return (local - before) * 1000 + ms; /* skipped: shifted forward by the gap */
}
