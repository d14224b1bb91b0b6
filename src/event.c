/*
 * event.c — field names, time and MSISDN parsing for the normalised record.
 *
 * Times are parsed by hand (no strptime, no locale, no time zone database): ISO-8601 with an
 * explicit offset, or epoch milliseconds. Civil-date arithmetic is Howard Hinnant's
 * days_from_civil, exact for the proleptic Gregorian calendar.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "cdrwatch/event.h"

/* The table of fields, from CW_FIELDS: one row per field, in cw_field_t order. */
#define FIELD_ROW(id, name, stream, required, type, member, limit) \
    [CW_F_##id] = {#name, CW_STREAM_##stream, required, CW_FT_##type, offsetof(cw_event_t, u.member), limit},
static const struct {
    const char *name;
    cw_stream_t stream;
    bool required;
    cw_field_type_t type;
    size_t offset; /* of the value in cw_event_t */
    size_t limit;  /* CW_FT_TEXT: bytes */
} fields[CW_F_COUNT] = {CW_FIELDS(FIELD_ROW)};
#undef FIELD_ROW

static const char *const derived_names[CW_F_V_END - CW_F_V_HISTORY_PULL] = {
    "history_pull", "watchlisted", "unbounded_select", "hours", "damaged"};

static const char *const damage_names[CW_DAMAGE_KINDS] = {"bad_utf8", "overlong_utf8", "truncated", "control",
                                                          "nul"};

const char *cw_damage_name(int k) { return k >= 0 && k < CW_DAMAGE_KINDS ? damage_names[k] : "?"; }

const char *cw_field_name(cw_field_t f)
{
    if (cw_field_is_derived(f))
        return derived_names[f - CW_F_V_HISTORY_PULL];
    return (f >= 0 && f < CW_F_COUNT) ? fields[f].name : "?";
}

cw_field_t cw_field_lookup_derived(const char *name)
{
    for (int f = CW_F_V_HISTORY_PULL; f < CW_F_V_END; f++) {
        if (strcmp(derived_names[f - CW_F_V_HISTORY_PULL], name) == 0)
            return (cw_field_t)f;
    }
    return CW_F_NONE;
}

cw_stream_t cw_field_stream(cw_field_t f)
{
    return cw_field_is_derived(f) ? CW_STREAM_AUDIT : fields[f].stream;
}
bool cw_field_required(cw_field_t f) { return f >= 0 && f < CW_F_COUNT && fields[f].required; }
cw_field_type_t cw_field_type(cw_field_t f) { return fields[f].type; }
size_t cw_field_limit(cw_field_t f) { return f >= 0 && f < CW_F_COUNT ? fields[f].limit : 0; }

void *cw_event_value(cw_event_t *ev, cw_field_t f) { return (char *)ev + fields[f].offset; }

static const void *field_value(const cw_event_t *ev, cw_field_t f)
{
    return (const char *)ev + fields[f].offset;
}
const char *cw_stream_name(cw_stream_t s) { return s == CW_STREAM_CDR ? "cdr" : "audit"; }

/* Per record and field in JSON input: compare the length and the first letter before the name. */
cw_field_t cw_field_lookup(cw_stream_t stream, const char *name, size_t len)
{
    static uint8_t name_len[CW_F_COUNT];
    int first = stream == CW_STREAM_CDR ? CW_FIRST_CDR_FIELD : CW_FIRST_AUDIT_FIELD;
    int last = stream == CW_STREAM_CDR ? CW_LAST_CDR_FIELD : CW_LAST_AUDIT_FIELD;
    char c0;
    if (len == 0)
        return CW_F_NONE;
    if (name_len[0] == 0) {
        for (int f = 0; f < CW_F_COUNT; f++)
            name_len[f] = (uint8_t)strlen(fields[f].name);
    }
    c0 = (char)(name[0] | 0x20);
    for (int f = first; f <= last; f++) {
        if (name_len[f] == len && fields[f].name[0] == c0 && strncasecmp(fields[f].name, name, len) == 0)
            return (cw_field_t)f;
    }
    return CW_F_NONE;
}

const char *cw_event_str(const cw_event_t *ev, cw_field_t f)
{
    if (cw_field_is_derived(f) || f < 0 || f >= CW_F_COUNT || fields[f].stream != ev->stream)
        return "";
    switch (fields[f].type) {
    case CW_FT_TEXT:
    case CW_FT_MSISDN: return field_value(ev, f);
    case CW_FT_ENUM:
        if (f == CW_F_STATUS)
            return ev->u.audit.failed ? "fail" : "ok";
        return ev->u.cdr.record_type == CW_REC_VOICE ? "voice" : ev->u.cdr.record_type == CW_REC_SMS ? "sms" : "data";
    default: return "";
    }
}

int64_t cw_event_num(const cw_event_t *ev, cw_field_t f)
{
    if (cw_field_is_derived(f) || f < 0 || f >= CW_F_COUNT || fields[f].stream != ev->stream)
        return 0;
    switch (fields[f].type) {
    case CW_FT_COUNT: return *(const int64_t *)field_value(ev, f);
    case CW_FT_LIST: return ev->u.audit.n_subscribers;
    case CW_FT_TIME: return ev->ts;
    default: return 0;
    }
}

void cw_event_reset(cw_event_t *ev, cw_stream_t stream)
{
    int first = stream == CW_STREAM_CDR ? CW_FIRST_CDR_FIELD : CW_FIRST_AUDIT_FIELD;
    int last = stream == CW_STREAM_CDR ? CW_LAST_CDR_FIELD : CW_LAST_AUDIT_FIELD;
    ev->stream = stream;
    ev->ts = 0;
    ev->present = 0;
    ev->damage = 0;
    for (int f = first; f <= last; f++) {
        void *v = cw_event_value(ev, (cw_field_t)f);
        switch (fields[f].type) {
        case CW_FT_TEXT:
        case CW_FT_MSISDN: *(char *)v = '\0'; break;
        case CW_FT_COUNT:
        case CW_FT_TIME: *(int64_t *)v = 0; break;
        default: break;
        }
    }
    if (stream == CW_STREAM_CDR) {
        ev->u.cdr.record_type = CW_REC_VOICE;
    } else {
        ev->u.audit.n_subscribers = 0;
        ev->u.audit.failed = false;
    }
}

/* ---- time ---- */

static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static bool digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static int days_in_month(int y, int m)
{
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dim[m - 1];
}

#define CW_TIME_MAX 253402300799999LL /* 9999-12-31T23:59:59.999Z */

bool cw_time_parse(const char *s, size_t len, cw_time_t *out)
{
    int Y, M, D, h, mi, sec, oh = 0, om = 0;
    size_t i;
    int64_t ms = 0;

    if (len == 0)
        return false;
    /* epoch milliseconds: digits only */
    for (i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++)
        ;
    if (i == len) {
        if (len > 15)
            return false;
        int64_t v = 0;
        for (i = 0; i < len; i++)
            v = v * 10 + (s[i] - '0');
        if (v > CW_TIME_MAX)
            return false;
        *out = v;
        return true;
    }
    /* YYYY-MM-DDTHH:MM:SS */
    if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        s[13] != ':' || s[16] != ':')
        return false;
    if (!digits(s, 4, &Y) || !digits(s + 5, 2, &M) || !digits(s + 8, 2, &D) ||
        !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &sec))
        return false;
    if (Y < 1970 || M < 1 || M > 12 || D < 1 || D > days_in_month(Y, M) || h > 23 || mi > 59 ||
        sec > 60)
        return false;
    i = 19;
    if (i < len && (s[i] == '.' || s[i] == ',')) {
        size_t nd = 0;
        i++;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (nd < 3)
                ms = ms * 10 + (s[i] - '0');
            nd++;
            i++;
        }
        if (nd == 0 || nd > 9)
            return false;
        for (; nd < 3; nd++)
            ms *= 10;
    }
    if (i >= len)
        return false; /* no offset: refuse rather than guess the zone */
    if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == len) {
        /* UTC */
    } else if (s[i] == '+' || s[i] == '-') {
        int sign = s[i] == '-' ? -1 : 1;
        size_t rest = len - i - 1;
        const char *o = s + i + 1;
        if (rest == 5 && o[2] == ':') {
            if (!digits(o, 2, &oh) || !digits(o + 3, 2, &om))
                return false;
        } else if (rest == 4) {
            if (!digits(o, 2, &oh) || !digits(o + 2, 2, &om))
                return false;
        } else if (rest == 2) {
            if (!digits(o, 2, &oh))
                return false;
        } else {
            return false;
        }
        if (oh > 23 || om > 59)
            return false;
        oh *= sign;
        om *= sign;
    } else {
        return false;
    }
    int64_t days = days_from_civil(Y, M, D);
    int64_t t = ((days * 24 + h - oh) * 60 + mi - om) * 60 + sec;
    t = t * 1000 + ms;
    if (t < 0 || t > CW_TIME_MAX)
        return false;
    *out = t;
    return true;
}

char *cw_time_format(cw_time_t t, char buf[32])
{
    int y, m, d;
    int64_t days = t / CW_MS_PER_DAY, rem = t % CW_MS_PER_DAY;
    if (rem < 0) {
        rem += CW_MS_PER_DAY;
        days--;
    }
    civil_from_days(days, &y, &m, &d);
    snprintf(buf, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, m, d, (int)(rem / CW_MS_PER_HOUR),
             (int)(rem / CW_MS_PER_MINUTE % 60), (int)(rem / 1000 % 60), (int)(rem % 1000));
    return buf;
}

/* ---- MSISDN ---- */

/* The index of the first byte at or after i that is not a space. */
static size_t past_spaces(const char *s, size_t len, size_t i)
{
    while (i < len && s[i] == ' ')
        i++;
    return i;
}

/* The common form, "+" or nothing then 1-15 digits not beginning with "00": copied as it is. */
static bool msisdn_plain(const char *s, size_t len, cw_msisdn_t out)
{
    size_t i = len && s[0] == '+';
    if (len - i == 0 || len - i > CW_MSISDN_MAX || (len - i >= 2 && s[i] == '0' && s[i + 1] == '0'))
        return false;
    for (size_t k = i; k < len; k++) {
        if ((unsigned)(s[k] - '0') > 9)
            return false;
    }
    memcpy(out, s + i, len - i);
    out[len - i] = '\0';
    return true;
}

bool cw_msisdn_normalise(const char *s, size_t len, cw_msisdn_t out)
{
    size_t n = 0, i, j;
    if (msisdn_plain(s, len, out))
        return true;
    i = past_spaces(s, len, 0);
    if (i < len && s[i] == '+')
        i++;
    /* the international prefix 00, however it was written (00 44, +00 44, 00 00 44, 0 044):
     * what is left never begins with 00, so a normal form normalises to itself and one
     * subscriber written two ways compares equal (the fuzz target json found +0044... ->
     * 0044... -> 44...) */
    for (;;) {
        i = past_spaces(s, len, i);
        j = i < len && s[i] == '0' ? past_spaces(s, len, i + 1) : len;
        if (j >= len || s[j] != '0')
            break;
        i = j + 1;
    }
    for (; i < len; i++) {
        if (s[i] == ' ')
            continue;
        if (s[i] < '0' || s[i] > '9' || n >= CW_MSISDN_MAX)
            return false;
        out[n++] = s[i];
    }
    out[n] = '\0';
    return n > 0;
}

/* ---- durations ---- */

bool cw_duration_parse(const char *s, cw_time_t *out)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"ms", 1}, {"s", CW_MS_PER_SECOND}, {"m", CW_MS_PER_MINUTE}, {"h", CW_MS_PER_HOUR},
                 {"d", CW_MS_PER_DAY}, {"w", 7 * CW_MS_PER_DAY}};
    int64_t v = 0;
    const char *p = s;
    if (*p < '0' || *p > '9')
        return false;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (*p - '0');
        if (v > 1000000000LL)
            return false;
        p++;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(p, units[i].unit) == 0) {
            *out = v * units[i].ms;
            return true;
        }
    }
    return false;
}

char *cw_duration_format(cw_time_t ms, char buf[32])
{
    if (ms != 0 && ms % (7 * CW_MS_PER_DAY) == 0)
        snprintf(buf, 32, "%lldw", (long long)(ms / (7 * CW_MS_PER_DAY)));
    else if (ms != 0 && ms % CW_MS_PER_DAY == 0)
        snprintf(buf, 32, "%lldd", (long long)(ms / CW_MS_PER_DAY));
    else if (ms != 0 && ms % CW_MS_PER_HOUR == 0)
        snprintf(buf, 32, "%lldh", (long long)(ms / CW_MS_PER_HOUR));
    else if (ms != 0 && ms % CW_MS_PER_MINUTE == 0)
        snprintf(buf, 32, "%lldm", (long long)(ms / CW_MS_PER_MINUTE));
    else if (ms % CW_MS_PER_SECOND == 0)
        snprintf(buf, 32, "%llds", (long long)(ms / CW_MS_PER_SECOND));
    else
        snprintf(buf, 32, "%lldms", (long long)ms);
    return buf;
}
