/*
 * decode.c — CSV (libcsv) and JSON records, lines and messages into cw_event_t.
 *
 * Both decoders funnel every value through cw_decode_set_field, so validation (UTF-8, size
 * limits, numbers, times, MSISDNs) is written once, driven by the field table (event.h). A CSV
 * record without quotes or line breaks inside, the common case, skips libcsv (one fast path for
 * replay's lines and Kafka's messages); test_kafka_decode holds it to libcsv's results. A JSON
 * record is read in place (json_scan.c: cJSON's grammar checked, no tree built); the cJSON path
 * it replaced stays as its reference (cw_decode_json_reference; test_json_scan and the fuzz
 * target json_scan hold one to the other). Nothing here prints or allocates per record: the CSV
 * decoder reuses its cell buffer, and a repaired JSON text, unescaped strings and cJSON's nodes
 * come from a bump arena that is rewound after each record (the arena is used only while a
 * record is decoded, so other users of cJSON — the configuration loader — get the ordinary heap).
 *
 * Decoding threads are independent: each decoder object belongs to one thread, and the arena is
 * per thread (cJSON's hooks are global, the arena they allocate from is not).
 */
#include <ctype.h>
#include <limits.h>
#include <stdatomic.h>
#include <csv.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cjson/cJSON.h>
#include "cdrwatch/decode.h"
#include "cdrwatch/json_scan.h"

static const char *const reason_names[CW_DEC_REASON_COUNT] = {
    [CW_DEC_OK] = "ok",
    [CW_DEC_BAD_CSV] = "bad_csv",
    [CW_DEC_CSV_COLUMNS] = "csv_columns",
    [CW_DEC_BAD_JSON] = "bad_json",
    [CW_DEC_NOT_OBJECT] = "not_object",
    [CW_DEC_MISSING_FIELD] = "missing_field",
    [CW_DEC_BAD_TIME] = "bad_time",
    [CW_DEC_BAD_NUMBER] = "bad_number",
    [CW_DEC_BAD_VALUE] = "bad_value",
    [CW_DEC_BAD_MSISDN] = "bad_msisdn",
    [CW_DEC_OVERSIZE] = "oversize",
    [CW_DEC_BAD_UTF8] = "bad_utf8",
    [CW_DEC_BAD_PREFIX] = "bad_prefix",
    [CW_DEC_LATE] = "late",
    [CW_DEC_UNCUT] = "oversize_line",
    [CW_DEC_BAD_XML] = "bad_xml",
};

static const char *const reason_texts[CW_DEC_REASON_COUNT] = {
    [CW_DEC_OK] = "ok",
    [CW_DEC_BAD_CSV] = "not valid CSV (stray or unterminated quote)",
    [CW_DEC_CSV_COLUMNS] = "column count differs from the header",
    [CW_DEC_BAD_JSON] = "not valid JSON (nor a CSV file with a header line)",
    [CW_DEC_NOT_OBJECT] = "JSON value is not an object",
    [CW_DEC_MISSING_FIELD] = "required field is missing or empty",
    [CW_DEC_BAD_TIME] = "not an ISO-8601 time with an offset, nor epoch milliseconds",
    [CW_DEC_BAD_NUMBER] = "not an integer from 0 to 2^53",
    [CW_DEC_BAD_VALUE] = "not an allowed value, or of the wrong JSON type",
    [CW_DEC_BAD_MSISDN] = "not an E.164 number (1-15 digits after an optional + or 00)",
    [CW_DEC_OVERSIZE] = "over its size limit",
    [CW_DEC_BAD_UTF8] = "not valid UTF-8",
    [CW_DEC_BAD_PREFIX] = "an AUDIT line that does not match the log_line_prefix (--pg-log-prefix)",
    [CW_DEC_LATE] = "older than the engine clock minus the allowed lateness",
    [CW_DEC_UNCUT] = "a line over 1 MiB that cannot be cut inside one value (the cut would cross fields)",
    [CW_DEC_BAD_XML] = "not a well-formed XML audit record (unclosed or mismatched element, bad attribute)",
};

const char *cw_reason_name(cw_reason_t r)
{
    return (r >= 0 && r < CW_DEC_REASON_COUNT) ? reason_names[r] : "unknown";
}

char *cw_reason_format(cw_decode_result_t r, char *buf, size_t buflen)
{
    const char *text = (r.reason >= 0 && r.reason < CW_DEC_REASON_COUNT) ? reason_texts[r.reason] : "?";
    if (r.field != CW_F_NONE)
        snprintf(buf, buflen, "%s: '%s': %s", cw_reason_name(r.reason), cw_field_name(r.field), text);
    else
        snprintf(buf, buflen, "%s: %s", cw_reason_name(r.reason), text);
    return buf;
}


/* ---- field values ---- */

/* Well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF) and no NUL. */
bool cw_utf8_valid(const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c >= 0x01 && c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false; /* NUL, continuation byte, 0xc0/0xc1, > 0xf4 */
        }
        if (len - i <= n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}

/* ---- repairing free text ---- */

/* What one unit of text (a character, or the bytes that stand for one bad character) becomes. */
typedef enum { U_OK, U_CONTROL, U_BAD, U_OVERLONG, U_SURROGATE, U_NUL } unit_kind_t;

static const uint8_t unit_damage[] = {
    [U_OK] = 0,
    [U_CONTROL] = CW_DAMAGE_CONTROL,
    [U_BAD] = CW_DAMAGE_BAD_UTF8,
    [U_OVERLONG] = CW_DAMAGE_OVERLONG_UTF8,
    [U_SURROGATE] = CW_DAMAGE_BAD_UTF8,
    [U_NUL] = CW_DAMAGE_NUL,
};

static inline bool is_cont(unsigned char c) { return (c & 0xc0) == 0x80; }

/* The unit starting at s[0] (n > 0 bytes left): its kind, and in *used how many bytes it spans.
 * A cut or malformed sequence spans its lead and the continuation bytes that fit its shape (the
 * Unicode "maximal subpart"), so the byte after it starts afresh; an overlong or surrogate
 * sequence of the right shape is one unit. */
static unit_kind_t unit_at(const unsigned char *s, size_t n, size_t *used)
{
    unsigned char c = s[0];
    size_t need, k;
    unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    unit_kind_t odd = U_OK;             /* what a second byte outside [lo, hi] but a continuation means */
    *used = 1;
    if (c < 0x80) {
        if (c == 0)
            return U_NUL;
        return (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f ? U_CONTROL : U_OK;
    }
    if (c == 0xc0 || c == 0xc1) {
        need = 1;
        odd = U_OVERLONG;
        lo = 0xc0; /* every continuation is "odd" */
    } else if (c >= 0xc2 && c <= 0xdf) {
        need = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 2;
        if (c == 0xe0)
            lo = 0xa0, odd = U_OVERLONG;
        else if (c == 0xed)
            hi = 0x9f, odd = U_SURROGATE;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3;
        if (c == 0xf0)
            lo = 0x90, odd = U_OVERLONG;
        else if (c == 0xf4)
            hi = 0x8f; /* above U+10FFFF: bad */
    } else {
        return U_BAD; /* a stray continuation byte, or 0xf5..0xff */
    }
    if (n < 2 || !is_cont(s[1]))
        return U_BAD; /* the lead alone */
    if ((s[1] < lo || s[1] > hi) && odd == U_OK)
        return U_BAD;
    for (k = 2; k <= need && k < n && is_cont(s[k]); k++)
        ;
    if (s[1] < lo || s[1] > hi) {
        *used = k; /* overlong or surrogate: the whole sequence as one unit */
        return odd;
    }
    if (k <= need) {
        *used = k; /* cut short */
        return U_BAD;
    }
    *used = need + 1;
    if (c == 0xc2 && s[1] < 0xa0)
        return U_CONTROL; /* U+0080..U+009F, the C1 controls (CSI among them) */
    return U_OK;
}

/* Bytes the repaired unit takes: itself, or U+FFFD's three. */
static inline size_t unit_size(unit_kind_t k, size_t used) { return k == U_OK || k == U_CONTROL ? used : 3; }

/* Eight bytes all printable ASCII (0x20-0x7e): no high bit, none below 0x20, none 0x7f. */
static inline bool printable8(const unsigned char *p)
{
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    uint64_t w, del;
    memcpy(&w, p, 8);
    del = w ^ (0x7f * ones);
    return !((w | ((w - 0x20 * ones) & ~w) | ((del - ones) & ~del)) & highs);
}

/* The size of s repaired, and the damage found in it. */
static size_t repaired_size(const char *text, size_t len, unsigned *damage)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0, out = 0, used;
    while (i < len) {
        if (len - i >= 8 && printable8(s + i)) { /* the common case: eight at a time */
            i += 8;
            out += 8;
            continue;
        }
        if (s[i] >= 0x20 && s[i] < 0x7f) {
            i++;
            out++;
            continue;
        }
        unit_kind_t k = unit_at(s + i, len - i, &used);
        *damage |= unit_damage[k];
        out += unit_size(k, used);
        i += used;
    }
    return out;
}

/* Writes the repaired units of s that fit in cap bytes to dst; returns the bytes written and in
 * *consumed the bytes of s they stand for. */
static size_t repair_into(char *dst, size_t cap, const char *text, size_t len, size_t *consumed)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0, out = 0, used;
    while (i < len) {
        unit_kind_t k = unit_at(s + i, len - i, &used);
        size_t sz = unit_size(k, used);
        if (out + sz > cap)
            break;
        if (k == U_OK || k == U_CONTROL)
            memcpy(dst + out, s + i, used);
        else
            memcpy(dst + out, "\xef\xbf\xbd", 3); /* U+FFFD */
        out += sz;
        i += used;
    }
    *consumed = i;
    return out;
}

/* The start of a tail of s on a character, at or after p (at most 3 continuation bytes skipped). */
static size_t char_start(const char *s, size_t len, size_t p)
{
    for (int k = 0; k < 3 && p < len && is_cont((unsigned char)s[p]); k++)
        p++;
    return p;
}

/* Where the longest tail of s that repairs into at most cap bytes starts, at or after from. Each
 * source byte repairs into 1 to 3 bytes, so it starts between len - cap and len - cap / 3: a
 * binary search there, each step a pass over at most cap bytes. */
static size_t tail_start(const char *s, size_t len, size_t from, size_t cap)
{
    size_t lo = len > cap && len - cap > from ? len - cap : from;
    size_t hi = len > cap / 3 && len - cap / 3 > lo ? len - cap / 3 : lo;
    unsigned ignored = 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2, p = char_start(s, len, mid);
        if (repaired_size(s + p, len - p, &ignored) <= cap)
            hi = mid;
        else
            lo = mid + 1;
    }
    return char_start(s, len, lo);
}

size_t cw_text_repair(char *dst, size_t max, const char *s, size_t len, unsigned *damage)
{
    size_t total, head, tail, used, n, p;
    unsigned found = 0;
    total = repaired_size(s, len, &found);
    *damage |= found;
    if (total <= max) {
        if (found == 0 || found == CW_DAMAGE_CONTROL)
            memcpy(dst, s, len); /* nothing to replace */
        else
            repair_into(dst, max, s, len, &used);
        dst[total] = '\0';
        return total;
    }
    *damage |= CW_DAMAGE_TRUNCATED;
    if (max <= CW_CUT_MARKER_LEN + 2) {
        n = repair_into(dst, max, s, len, &used); /* too small for a marker: the head */
        dst[n] = '\0';
        return n;
    }
    head = (max - CW_CUT_MARKER_LEN) / 2;
    tail = max - CW_CUT_MARKER_LEN - head;
    n = repair_into(dst, head, s, len, &used);
    memcpy(dst + n, CW_CUT_MARKER, CW_CUT_MARKER_LEN);
    n += CW_CUT_MARKER_LEN;
    p = tail_start(s, len, used, tail);
    n += repair_into(dst + n, tail, s + p, len - p, &used);
    dst[n] = '\0';
    return n;
}

/* A required field (principal, action) names the record's key: it is taken as it is or not at
 * all, since repairing it could merge two principals. Any other text is repaired and flagged. */
static cw_decode_result_t set_text(cw_event_t *ev, char *dst, size_t max, cw_field_t f, const char *s, size_t len)
{
    unsigned damage = 0;
    if (!cw_field_required(f)) {
        cw_text_repair(dst, max, s, len, &damage);
        ev->damage |= (uint8_t)damage;
        return CW_DECODE_OK;
    }
    if (len > max)
        return cw_decode_result(CW_DEC_OVERSIZE, f);
    if (!cw_utf8_valid(s, len))
        return cw_decode_result(CW_DEC_BAD_UTF8, f);
    memcpy(dst, s, len);
    dst[len] = '\0';
    return CW_DECODE_OK;
}

#define CW_NUMBER_MAX (1LL << 53) /* exact in a double, far above any real count */

static bool parse_count(const char *s, size_t len, int64_t *out)
{
    int64_t v = 0;
    if (len == 0 || len > 16)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    if (v > CW_NUMBER_MAX)
        return false;
    *out = v;
    return true;
}

/* Beyond CW_SUBSCRIBERS_MAX the list is cut (flagged), not refused: a statement about very many
 * subscribers is the harvest the rules are for. */
static cw_decode_result_t add_subscriber(cw_event_t *ev, const char *s, size_t len)
{
    cw_audit_t *a = &ev->u.audit;
    if (a->n_subscribers >= CW_SUBSCRIBERS_MAX) {
        ev->damage |= CW_DAMAGE_TRUNCATED;
        return CW_DECODE_OK;
    }
    if (!cw_msisdn_normalise(s, len, a->subscribers[a->n_subscribers]))
        return cw_decode_result(CW_DEC_BAD_MSISDN, CW_F_SUBSCRIBERS);
    a->n_subscribers++;
    return CW_DECODE_OK;
}

static void mark(cw_event_t *ev, cw_field_t f)
{
    int first = ev->stream == CW_STREAM_CDR ? CW_FIRST_CDR_FIELD : CW_FIRST_AUDIT_FIELD;
    ev->present |= 1u << (f - first);
}

static cw_decode_result_t set_time(cw_event_t *ev, cw_field_t f, const char *s, size_t len)
{
    if (len > 64)
        return cw_decode_result(CW_DEC_OVERSIZE, f);
    if (!cw_time_parse(s, len, &ev->ts))
        return cw_decode_result(CW_DEC_BAD_TIME, f);
    *(cw_time_t *)cw_event_value(ev, f) = ev->ts;
    return CW_DECODE_OK;
}

static cw_decode_result_t set_enum(cw_event_t *ev, cw_field_t f, const char *s, size_t len)
{
    static const struct {
        cw_field_t field;
        const char *name;
        int value;
    } names[] = {{CW_F_RECORD_TYPE, "voice", CW_REC_VOICE}, {CW_F_RECORD_TYPE, "sms", CW_REC_SMS},
                 {CW_F_RECORD_TYPE, "data", CW_REC_DATA},   {CW_F_STATUS, "ok", 0},
                 {CW_F_STATUS, "fail", 1}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (names[i].field != f || strlen(names[i].name) != len || strncasecmp(s, names[i].name, len) != 0)
            continue;
        if (f == CW_F_STATUS)
            ev->u.audit.failed = names[i].value;
        else
            ev->u.cdr.record_type = (cw_record_type_t)names[i].value;
        return CW_DECODE_OK;
    }
    return cw_decode_result(CW_DEC_BAD_VALUE, f);
}

/* text form (CSV): identifiers separated by ';' */
static cw_decode_result_t set_subscribers(cw_event_t *ev, const char *s, size_t len)
{
    cw_audit_t *a = &ev->u.audit;
    size_t start = 0;
    a->n_subscribers = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == ';') {
            if (i > start) {
                cw_decode_result_t r = add_subscriber(ev, s + start, i - start);
                if (r.reason != CW_DEC_OK)
                    return r;
            }
            start = i + 1;
        }
    }
    return CW_DECODE_OK;
}

static cw_decode_result_t set_value(cw_event_t *ev, cw_field_t f, const char *s, size_t len)
{
    int64_t v;
    switch (cw_field_type(f)) {
    case CW_FT_TIME: return set_time(ev, f, s, len);
    case CW_FT_ENUM: return set_enum(ev, f, s, len);
    case CW_FT_MSISDN:
        if (len > 64)
            return cw_decode_result(CW_DEC_OVERSIZE, f);
        if (!cw_msisdn_normalise(s, len, cw_event_value(ev, f)))
            return cw_decode_result(CW_DEC_BAD_MSISDN, f);
        return CW_DECODE_OK;
    case CW_FT_COUNT:
        if (!parse_count(s, len, &v))
            return cw_decode_result(CW_DEC_BAD_NUMBER, f);
        *(int64_t *)cw_event_value(ev, f) = v;
        return CW_DECODE_OK;
    case CW_FT_TEXT: return set_text(ev, cw_event_value(ev, f), cw_field_limit(f), f, s, len);
    case CW_FT_LIST: return set_subscribers(ev, s, len);
    }
    return CW_DECODE_OK;
}

cw_decode_result_t cw_decode_set_field(cw_event_t *ev, cw_field_t f, const char *s, size_t len)
{
    cw_decode_result_t r;
    if (len == 0 || f < 0 || f >= CW_F_COUNT)
        return CW_DECODE_OK; /* empty = absent */
    r = set_value(ev, f, s, len);
    if (r.reason != CW_DEC_OK)
        return r;
    if (f == CW_F_ACTION) {
        for (char *p = ev->u.audit.action; *p; p++)
            *p = (char)toupper((unsigned char)*p);
    }
    mark(ev, f);
    return CW_DECODE_OK;
}

/* The present bits of a stream's required fields, made at the first call (by any thread: each
 * stream has a required field, so 0 means not made yet, and making it twice gives the same). */
static uint32_t required_bits(cw_stream_t stream)
{
    static _Atomic uint32_t bits[2];
    int k = stream == CW_STREAM_CDR;
    uint32_t b = atomic_load_explicit(&bits[k], memory_order_relaxed);
    if (!b) {
        int first = k ? CW_FIRST_CDR_FIELD : CW_FIRST_AUDIT_FIELD, last = k ? CW_LAST_CDR_FIELD : CW_LAST_AUDIT_FIELD;
        for (int f = first; f <= last; f++)
            b |= cw_field_required((cw_field_t)f) ? 1u << (f - first) : 0;
        atomic_store_explicit(&bits[k], b, memory_order_relaxed);
    }
    return b;
}

cw_decode_result_t cw_decode_finish(cw_event_t *ev)
{
    int first = ev->stream == CW_STREAM_CDR ? CW_FIRST_CDR_FIELD : CW_FIRST_AUDIT_FIELD;
    int last = ev->stream == CW_STREAM_CDR ? CW_LAST_CDR_FIELD : CW_LAST_AUDIT_FIELD;
    uint32_t need = required_bits(ev->stream);
    if ((ev->present & need) == need)
        return CW_DECODE_OK;
    for (int f = first; f <= last; f++) {
        if (cw_field_required((cw_field_t)f) && !cw_event_has(ev, (cw_field_t)f))
            return cw_decode_result(CW_DEC_MISSING_FIELD, (cw_field_t)f);
    }
    return CW_DECODE_OK;
}

/* ---- cutting an over-long line ---- */

void cw_cut_init(cw_cut_state_t *st, cw_cut_syntax_t syntax, bool quoted)
{
    memset(st, 0, sizeof *st);
    st->syntax = syntax;
    st->quoted = quoted;
}

/* JSON: a quote opens or closes a string; a backslash escapes one byte, or five for \uXXXX. */
static void cut_json(cw_cut_state_t *st, unsigned char c)
{
    if (st->esc == 5)
        st->esc = c == 'u' ? 4 : 0;
    else if (st->esc > 0)
        st->esc--;
    else if (st->quoted && c == '\\')
        st->esc = 5;
    else if (c == '"')
        st->quoted = !st->quoted, st->bounds++;
}

/* CSV: a quote inside a quoted field closes it unless the next byte is a quote too. */
static void cut_csv(cw_cut_state_t *st, unsigned char c)
{
    if (st->quote_seen) {
        st->quote_seen = false;
        if (c == '"')
            return;
        st->quoted = false;
        st->bounds++;
    }
    if (st->quoted)
        st->quote_seen = c == '"';
    else if (c == '"' || c == ',' || c == '\n' || c == '\r')
        st->quoted = c == '"', st->bounds++;
}

/* MariaDB: a quoted query with backslash escapes; fields between commas. */
static void cut_sql(cw_cut_state_t *st, unsigned char c)
{
    if (st->esc > 0)
        st->esc--;
    else if (st->quoted && c == '\\')
        st->esc = 1;
    else if (c == '\'')
        st->quoted = !st->quoted, st->bounds++;
    else if (!st->quoted && (c == ',' || c == '\n' || c == '\r'))
        st->bounds++;
}

void cw_cut_scan(cw_cut_state_t *st, const char *p, size_t n)
{
    const unsigned char *s = (const unsigned char *)p;
    for (size_t i = 0; i < n; i++) {
        if (st->syntax == CW_CUT_JSON)
            cut_json(st, s[i]);
        else if (st->syntax == CW_CUT_CSV)
            cut_csv(st, s[i]);
        else
            cut_sql(st, s[i]);
    }
}

bool cw_cut_safe(const cw_cut_state_t *st, unsigned char next)
{
    if (st->esc > 0 || st->quote_seen || is_cont(next))
        return false;
    return st->quoted || st->syntax != CW_CUT_JSON;
}

bool cw_cut_head(cw_cut_state_t *st, const char *buf, size_t head_max, size_t *head, uint64_t *bounds)
{
    bool found = false;
    for (size_t i = 0; i <= head_max; i++) {
        if (cw_cut_safe(st, (unsigned char)buf[i]))
            *head = i, *bounds = st->bounds, found = true;
        if (i < head_max)
            cw_cut_scan(st, buf + i, 1);
    }
    return found;
}

bool cw_cut_tail(cw_cut_state_t *st, const char *buf, size_t len, uint64_t bounds, size_t *tail)
{
    size_t t = 0;
    while (t < len && st->bounds == bounds && !cw_cut_safe(st, (unsigned char)buf[t]))
        cw_cut_scan(st, buf + t++, 1);
    *tail = t;
    return t < len && st->bounds == bounds;
}

bool cw_cut_find(cw_cut_state_t *st, const char *buf, size_t len, size_t head_max, size_t tail_max,
                 size_t *head, size_t *tail)
{
    uint64_t bounds = 0;
    size_t t = len > tail_max ? len - tail_max : 0;
    if (t <= head_max || !cw_cut_head(st, buf, head_max, head, &bounds))
        return false;
    cw_cut_scan(st, buf + head_max, t - head_max);
    if (!cw_cut_tail(st, buf + t, len - t, bounds, tail))
        return false;
    *tail += t;
    return true;
}

/* ---- JSON ---- */

#define ARENA_SIZE (4u << 20)
static _Thread_local struct {
    unsigned char *base;
    size_t used;
    bool active;
} arena; /* one per decoding thread (replay decodes each input on its own thread) */

static void *arena_malloc(size_t n)
{
    if (arena.active && arena.base) {
        size_t need = (n + 15) & ~(size_t)15;
        if (need <= ARENA_SIZE - arena.used) {
            void *p = arena.base + arena.used;
            arena.used += need;
            return p;
        }
    }
    return malloc(n); /* outside decoding, or a record larger than the arena */
}

static void arena_free(void *p)
{
    unsigned char *q = p;
    if (arena.base && q >= arena.base && q < arena.base + ARENA_SIZE)
        return; /* rewound after the record */
    free(p);
}

void cw_decode_init(void)
{
    static bool done;
    cJSON_Hooks hooks = {arena_malloc, arena_free};
    if (done)
        return;
    cJSON_InitHooks(&hooks);
    done = true;
}

/* Decimal text of a non-negative integer, without snprintf (this is per record). */
static size_t format_count(uint64_t v, char *out)
{
    char tmp[24];
    size_t n = 0, k = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        out[k++] = tmp[--n];
    out[k] = '\0';
    return k;
}

void cw_decode_arena_begin(void)
{
    if (!arena.base)
        arena.base = malloc(ARENA_SIZE); /* once per thread; if it fails cJSON uses the heap */
    arena.used = 0;
    arena.active = true;
}

void cw_decode_thread_end(void)
{
    free(arena.base);
    arena.base = NULL;
}

void cw_decode_arena_end(void)
{
    arena.active = false;
    arena.used = 0;
}

static cw_decode_result_t set_json_number(cw_event_t *ev, cw_field_t f, double d)
{
    char text[32];
    if (!(d >= 0) || d > (double)CW_NUMBER_MAX || floor(d) != d) {
        bool is_time = cw_field_type(f) == CW_FT_TIME;
        bool is_count = cw_field_type(f) == CW_FT_COUNT;
        return cw_decode_result(is_time ? CW_DEC_BAD_TIME : is_count ? CW_DEC_BAD_NUMBER : CW_DEC_BAD_VALUE, f);
    }
    return cw_decode_set_field(ev, f, text, format_count((uint64_t)d, text));
}

/* One element of the subscribers array given as a number. */
static cw_decode_result_t add_json_subscriber(cw_event_t *ev, double d)
{
    char text[32];
    if (!(d >= 0 && d < 1e15 && floor(d) == d))
        return cw_decode_result(CW_DEC_BAD_VALUE, CW_F_SUBSCRIBERS);
    return add_subscriber(ev, text, format_count((uint64_t)d, text));
}

static cw_decode_result_t set_json_subscribers(cw_event_t *ev, const cJSON *arr)
{
    const cJSON *it;
    cw_audit_t *a = &ev->u.audit;
    a->n_subscribers = 0;
    cJSON_ArrayForEach(it, arr)
    {
        cw_decode_result_t r;
        if (cJSON_IsString(it))
            r = add_subscriber(ev, it->valuestring, strlen(it->valuestring));
        else if (cJSON_IsNumber(it))
            r = add_json_subscriber(ev, it->valuedouble);
        else
            r = cw_decode_result(CW_DEC_BAD_VALUE, CW_F_SUBSCRIBERS);
        if (r.reason != CW_DEC_OK)
            return r;
    }
    if (a->n_subscribers > 0)
        mark(ev, CW_F_SUBSCRIBERS);
    return CW_DECODE_OK;
}

static cw_decode_result_t decode_object(cw_event_t *ev, const cJSON *root)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, root)
    {
        cw_field_t f;
        cw_decode_result_t r;
        if (!item->string)
            continue;
        f = cw_field_lookup(ev->stream, item->string, strlen(item->string));
        if (f == CW_F_NONE || cJSON_IsNull(item))
            continue;
        if (cJSON_IsString(item))
            r = cw_decode_set_field(ev, f, item->valuestring, strlen(item->valuestring));
        else if (cJSON_IsNumber(item))
            r = set_json_number(ev, f, item->valuedouble);
        else if (cJSON_IsArray(item) && f == CW_F_SUBSCRIBERS)
            r = set_json_subscribers(ev, item);
        else
            r = cw_decode_result(CW_DEC_BAD_VALUE, f);
        if (r.reason != CW_DEC_OK)
            return r;
    }
    return cw_decode_finish(ev);
}

/* ---- JSON text that cJSON would refuse or cut for a damaged string ---- */

static bool hex4(const char *s, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                            : 16u;
        if (d > 15)
            return false;
        *v = *v << 4 | d;
    }
    return true;
}

/* The escape at s (a backslash, n bytes left) as cJSON would take it: 1 when it is \u0000 (cJSON
 * would cut the string there), 2 when it is a lone surrogate (cJSON refuses the whole text), 0
 * otherwise; *used is its length. */
static int escape_damage(const char *s, size_t n, size_t *used)
{
    unsigned v, w;
    *used = n < 2 ? n : 2;
    if (n < 6 || s[1] != 'u' || !hex4(s + 2, &v))
        return 0;
    *used = 6;
    if (v == 0)
        return 1;
    if (v >= 0xdc00 && v <= 0xdfff)
        return 2;
    if (v < 0xd800 || v > 0xdbff)
        return 0;
    if (n >= 12 && s[6] == '\\' && s[7] == 'u' && hex4(s + 8, &w) && w >= 0xdc00 && w <= 0xdfff) {
        *used = 12; /* a pair: one character */
        return 0;
    }
    return 2;
}

/* Does buf hold a raw NUL (cJSON stops there), an escaped NUL or a lone surrogate? Two memchr
 * passes, the second only over backslashes: the price for every JSON record. */
static bool json_damaged(const char *buf, size_t len)
{
    const char *p = buf, *end = buf + len;
    size_t used;
    if (memchr(buf, '\0', len))
        return true;
    while ((p = memchr(p, '\\', (size_t)(end - p))) != NULL) {
        if (escape_damage(p, (size_t)(end - p), &used))
            return true;
        p += used;
    }
    return false;
}

/* A copy of buf where a raw NUL becomes U+FFFD, and \u0000 or a lone surrogate \ufffd, with the
 * damage flagged; in the arena (the caller has begun it). Returns NULL if out of memory. */
static char *json_repair(const char *buf, size_t len, size_t *outlen, uint8_t *damage)
{
    size_t n = len, i = 0, o = 0, used;
    char *out;
    for (const char *p = buf; (p = memchr(p, '\0', (size_t)(buf + len - p))) != NULL; p++)
        n += 2;
    if (!(out = arena_malloc(n + 1)))
        return NULL;
    while (i < len) {
        int kind = 0;
        used = 1;
        if (buf[i] == '\0') {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            *damage |= CW_DAMAGE_NUL;
            o += 3;
        } else if (buf[i] == '\\' && (kind = escape_damage(buf + i, len - i, &used)) != 0) {
            memcpy(out + o, "\\ufffd", 6);
            *damage |= kind == 1 ? CW_DAMAGE_NUL : CW_DAMAGE_BAD_UTF8;
            o += 6;
        } else {
            memcpy(out + o, buf + i, used);
            o += used;
        }
        i += used;
    }
    out[o] = '\0';
    *outlen = o;
    return out;
}

/* The text to parse: buf itself, or (*fixed, in the arena the caller has begun) a copy with
 * its damage repaired and flagged. False if out of memory. */
static bool json_prepare(const char **buf, size_t *len, uint8_t *damage, char **fixed)
{
    *fixed = NULL;
    if (!json_damaged(*buf, *len))
        return true;
    if (!(*fixed = json_repair(*buf, *len, len, damage)))
        return false;
    *buf = *fixed;
    return true;
}

/* Only whitespace after the value that ends at end? */
static bool json_tail_clean(const char *buf, size_t len, size_t end)
{
    while (end < len && (buf[end] == ' ' || buf[end] == '\t' || buf[end] == '\r' || buf[end] == '\n'))
        end++;
    return end == len;
}

/* The prepared text through cJSON, its tree to fn. */
static cw_decode_result_t parse_tree(const char *buf, size_t len, cw_event_t *ev, cw_json_object_fn fn, void *ctx)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    cw_decode_result_t r;
    if (!root)
        return cw_decode_result(CW_DEC_BAD_JSON, CW_F_NONE);
    if (!end || !json_tail_clean(buf, len, (size_t)(end - buf)))
        r = cw_decode_result(CW_DEC_BAD_JSON, CW_F_NONE); /* trailing bytes after the value */
    else if (!cJSON_IsObject(root))
        r = cw_decode_result(CW_DEC_NOT_OBJECT, CW_F_NONE);
    else
        r = fn(ev, root, ctx);
    cJSON_Delete(root);
    return r;
}

cw_decode_result_t cw_decode_json_object(const char *buf, size_t len, cw_event_t *ev,
                                         cw_json_object_fn fn, void *ctx)
{
    cw_decode_result_t r;
    char *fixed;
    cw_decode_arena_begin();
    if (!json_prepare(&buf, &len, &ev->damage, &fixed))
        r = cw_decode_result(CW_DEC_OVERSIZE, CW_F_NONE);
    else
        r = parse_tree(buf, len, ev, fn, ctx);
    arena_free(fixed);
    cw_decode_arena_end();
    return r;
}

cw_decode_result_t cw_decode_json_scan(const char *buf, size_t len, cw_event_t *ev, cw_json_scan_fn scan,
                                       cw_json_object_fn fn, void *ctx)
{
    cw_json_value_t root;
    size_t n;
    cw_decode_result_t r;
    char *fixed;
    cw_decode_arena_begin();
    if (!json_prepare(&buf, &len, &ev->damage, &fixed))
        r = cw_decode_result(CW_DEC_OVERSIZE, CW_F_NONE);
    else if (cw_json_scan(buf, len, &root, NULL, 0, &n) == CW_JSCAN_BAD ||
             !json_tail_clean(buf, len, (size_t)(root.val + root.val_len - buf)))
        r = cw_decode_result(CW_DEC_BAD_JSON, CW_F_NONE);
    else if (root.type != CW_JSON_OBJECT)
        r = cw_decode_result(CW_DEC_NOT_OBJECT, CW_F_NONE);
    else if (!scan(ev, &root, len, ctx, &r))
        r = parse_tree(buf, len, ev, fn, ctx);
    arena_free(fixed);
    cw_decode_arena_end();
    return r;
}

static cw_decode_result_t canonical_object(cw_event_t *ev, const struct cJSON *root, void *ctx)
{
    (void)ctx;
    return decode_object(ev, root);
}

cw_decode_result_t cw_decode_json_reference(cw_stream_t stream, const char *buf, size_t len, cw_event_t *ev)
{
    cw_event_reset(ev, stream);
    return cw_decode_json_object(buf, len, ev, canonical_object, NULL);
}

/* ---- JSON in place: the known fields read from the text, no tree ---- */

/* The bytes of a scanned string, its escapes undone in *scratch (allocated once per record in
 * the arena, room for the whole text) when it has any. NULL if out of memory. */
static const char *json_text(const char *s, size_t n, bool escaped, size_t *out, char **scratch, size_t room)
{
    if (!escaped) {
        *out = n;
        return s;
    }
    if (!*scratch && !(*scratch = arena_malloc(room)))
        return NULL;
    *out = cw_json_unescape(s, n, *scratch);
    return *scratch;
}

static cw_decode_result_t scan_subscribers(cw_event_t *ev, const cw_json_value_t *arr, char **scratch, size_t room)
{
    cw_json_value_t it;
    size_t pos = 0, n;
    const char *s;
    ev->u.audit.n_subscribers = 0;
    while (cw_json_next(arr, &pos, &it)) {
        cw_decode_result_t r;
        if (it.type == CW_JSON_STRING) {
            if (!(s = json_text(it.val, it.val_len, it.val_escaped, &n, scratch, room)))
                return cw_decode_result(CW_DEC_BAD_JSON, CW_F_NONE);
            r = add_subscriber(ev, s, n);
        } else if (it.type == CW_JSON_NUMBER) {
            r = add_json_subscriber(ev, it.number);
        } else {
            r = cw_decode_result(CW_DEC_BAD_VALUE, CW_F_SUBSCRIBERS);
        }
        if (r.reason != CW_DEC_OK)
            return r;
    }
    if (ev->u.audit.n_subscribers > 0)
        mark(ev, CW_F_SUBSCRIBERS);
    return CW_DECODE_OK;
}

/* decode_object's walk over the scanned members: the same fields, in the same order. */
static cw_decode_result_t decode_members(cw_event_t *ev, const cw_json_value_t *m, size_t count, char **scratch,
                                         size_t room)
{
    for (size_t i = 0; i < count; i++) {
        cw_decode_result_t r;
        size_t n;
        const char *s = json_text(m[i].key, m[i].key_len, m[i].key_escaped, &n, scratch, room);
        cw_field_t f;
        if (!s)
            return cw_decode_result(CW_DEC_BAD_JSON, CW_F_NONE);
        f = cw_field_lookup(ev->stream, s, n);
        if (f == CW_F_NONE || m[i].type == CW_JSON_NULL)
            continue;
        if (m[i].type == CW_JSON_STRING) {
            if (!(s = json_text(m[i].val, m[i].val_len, m[i].val_escaped, &n, scratch, room)))
                return cw_decode_result(CW_DEC_BAD_JSON, CW_F_NONE);
            r = cw_decode_set_field(ev, f, s, n);
        } else if (m[i].type == CW_JSON_NUMBER) {
            r = set_json_number(ev, f, m[i].number);
        } else if (m[i].type == CW_JSON_ARRAY && f == CW_F_SUBSCRIBERS) {
            r = scan_subscribers(ev, &m[i], scratch, room);
        } else {
            r = cw_decode_result(CW_DEC_BAD_VALUE, f);
        }
        if (r.reason != CW_DEC_OK)
            return r;
    }
    return cw_decode_finish(ev);
}

/* The prepared text scanned in place; cJSON only for an object with very many members. */
static cw_decode_result_t scan_record(const char *buf, size_t len, cw_event_t *ev)
{
    cw_json_value_t members[CW_JSON_MEMBERS_MAX], root;
    size_t n;
    char *scratch = NULL;
    cw_decode_result_t r;
    switch (cw_json_scan(buf, len, &root, members, CW_JSON_MEMBERS_MAX, &n)) {
    case CW_JSCAN_OBJECT:
        if (!json_tail_clean(buf, len, (size_t)(root.val + root.val_len - buf)))
            return cw_decode_result(CW_DEC_BAD_JSON, CW_F_NONE);
        r = decode_members(ev, members, n, &scratch, len + 1);
        arena_free(scratch);
        return r;
    case CW_JSCAN_OTHER:
        if (!json_tail_clean(buf, len, (size_t)(root.val + root.val_len - buf)))
            return cw_decode_result(CW_DEC_BAD_JSON, CW_F_NONE);
        return cw_decode_result(CW_DEC_NOT_OBJECT, CW_F_NONE);
    case CW_JSCAN_FULL: return parse_tree(buf, len, ev, canonical_object, NULL);
    case CW_JSCAN_BAD: break;
    }
    return cw_decode_result(CW_DEC_BAD_JSON, CW_F_NONE);
}

cw_decode_result_t cw_decode_json(cw_stream_t stream, const char *buf, size_t len, cw_event_t *ev)
{
    cw_decode_result_t r;
    char *fixed;
    cw_event_reset(ev, stream);
    cw_decode_arena_begin();
    if (!json_prepare(&buf, &len, &ev->damage, &fixed))
        r = cw_decode_result(CW_DEC_OVERSIZE, CW_F_NONE);
    else
        r = scan_record(buf, len, ev);
    arena_free(fixed);
    cw_decode_arena_end();
    return r;
}

/* The fields of ev as one JSON object, in the table's order: times as epoch milliseconds,
 * counts as numbers, the subscribers as an array, every other field as a string. */
static cJSON *event_object(const cw_event_t *ev)
{
    int first = ev->stream == CW_STREAM_CDR ? CW_FIRST_CDR_FIELD : CW_FIRST_AUDIT_FIELD;
    int last = ev->stream == CW_STREAM_CDR ? CW_LAST_CDR_FIELD : CW_LAST_AUDIT_FIELD;
    cJSON *o = cJSON_CreateObject(), *v;
    for (int i = first; o && i <= last; i++) {
        cw_field_t f = (cw_field_t)i;
        if (!cw_event_has(ev, f))
            continue;
        switch (cw_field_type(f)) {
        case CW_FT_TIME:
        case CW_FT_COUNT: v = cJSON_CreateNumber((double)cw_event_num(ev, f)); break;
        case CW_FT_LIST:
            v = cJSON_CreateArray();
            for (int k = 0; v && k < ev->u.audit.n_subscribers; k++)
                cJSON_AddItemToArray(v, cJSON_CreateString(ev->u.audit.subscribers[k]));
            break;
        default: v = cJSON_CreateString(cw_event_str(ev, f)); break;
        }
        if (!v || !cJSON_AddItemToObject(o, cw_field_name(f), v)) {
            cJSON_Delete(v);
            cJSON_Delete(o);
            return NULL;
        }
    }
    return o;
}

size_t cw_decode_json_encode(const cw_event_t *ev, char *buf, size_t buflen)
{
    cJSON *o = event_object(ev);
    bool done = o && buflen <= INT_MAX && cJSON_PrintPreallocated(o, buf, (int)buflen, false);
    cJSON_Delete(o);
    return done ? strlen(buf) : 0;
}

/* ---- CSV ---- */

#define CSV_COLS_MAX CW_CSV_COLS_MAX

struct cw_csv {
    struct csv_parser parser;
    cw_stream_t stream;
    bool have_header;
    int n_columns;                       /* columns kept: the first CSV_COLS_MAX of the header */
    int n_header;                        /* columns of the header (or configured), all of them */
    cw_field_t columns[CSV_COLS_MAX];    /* field of each column, CW_F_NONE if ignored */
    /* the record being assembled: cells concatenated in `cells` */
    char *cells;
    size_t cells_len, cells_cap;
    size_t cell_off[CSV_COLS_MAX];
    size_t cell_len[CSV_COLS_MAX];
    int n_cells;                         /* may exceed CSV_COLS_MAX: only the first are kept */
    bool complete;
    bool oversize;
    /* a vendor's audit export: its column id per column (-1 if ignored) */
    const cw_csv_dialect_t *dialect;
    int dialect_col[CSV_COLS_MAX];
    char *cut; /* a message over CW_RECORD_MAX, spliced (allocated at the first) */
};

static apr_status_t csv_cleanup(void *data)
{
    cw_csv_t *csv = data;
    csv_free(&csv->parser);
    free(csv->cells);
    free(csv->cut);
    return APR_SUCCESS;
}

static int no_space(unsigned char c)
{
    (void)c;
    return 0; /* RFC 4180: spaces are part of a field */
}

cw_status_t cw_csv_create(apr_pool_t *pool, cw_stream_t stream, cw_csv_t **out)
{
    cw_csv_t *csv = apr_pcalloc(pool, sizeof *csv);
    if (csv_init(&csv->parser, CSV_STRICT | CSV_STRICT_FINI) != 0)
        return CW_ERR_NOMEM;
    csv_set_space_func(&csv->parser, no_space);
    csv->stream = stream;
    csv->cells_cap = 4096;
    csv->cells = malloc(csv->cells_cap);
    if (!csv->cells) {
        csv_free(&csv->parser);
        return CW_ERR_NOMEM;
    }
    apr_pool_cleanup_register(pool, csv, csv_cleanup, apr_pool_cleanup_null);
    *out = csv;
    return CW_OK;
}

static void on_cell(void *s, size_t len, void *data)
{
    cw_csv_t *csv = data;
    int i = csv->n_cells++;
    if (i >= CSV_COLS_MAX)
        return;
    if (csv->cells_len + len + 1 > csv->cells_cap) {
        size_t cap = csv->cells_cap;
        char *p;
        while (cap < csv->cells_len + len + 1)
            cap *= 2;
        if (cap > 2 * CW_RECORD_MAX || !(p = realloc(csv->cells, cap))) {
            csv->oversize = true;
            csv->cell_off[i] = csv->cell_len[i] = 0;
            return;
        }
        csv->cells = p;
        csv->cells_cap = cap;
    }
    csv->cell_off[i] = csv->cells_len;
    csv->cell_len[i] = len;
    if (len)
        memcpy(csv->cells + csv->cells_len, s, len);
    csv->cells_len += len;
    csv->cells[csv->cells_len++] = '\0';
}

static void on_record(int c, void *data)
{
    (void)c;
    ((cw_csv_t *)data)->complete = true;
}

/* libcsv has no reset call and csv_fini refuses to reset after an unterminated quote; these are
 * the fields csv_fini itself clears (csv.h documents the struct). */
static void parser_reset(struct csv_parser *p)
{
    p->spaces = 0;
    p->quoted = 0;
    p->entry_pos = 0;
    p->status = 0;
    p->pstate = 0; /* ROW_NOT_BEGUN */
}

static void record_reset(cw_csv_t *csv)
{
    csv->n_cells = 0;
    csv->cells_len = 0;
    csv->complete = false;
    csv->oversize = false;
}

void cw_csv_reset(cw_csv_t *csv)
{
    parser_reset(&csv->parser);
    record_reset(csv);
}

int cw_csv_push(cw_csv_t *csv, const char *buf, size_t len)
{
    size_t done;
    if (csv->complete)
        record_reset(csv);
    done = csv_parse(&csv->parser, buf, len, on_cell, on_record, csv);
    if (done != len || csv_error(&csv->parser) != CSV_SUCCESS) {
        cw_csv_reset(csv);
        return -1;
    }
    return csv->complete ? 1 : 0;
}

int cw_csv_finish(cw_csv_t *csv)
{
    if (csv->complete)
        record_reset(csv);
    if (csv_fini(&csv->parser, on_cell, on_record, csv) != 0) {
        cw_csv_reset(csv);
        return -1;
    }
    return csv->complete ? 1 : 0;
}

bool cw_csv_in_record(const cw_csv_t *csv)
{
    return csv->parser.pstate != 0 || (csv->n_cells > 0 && !csv->complete);
}

const char *cw_csv_header_name(const char *cell, size_t *len, int column)
{
    size_t n = *len, bom = column == 0 ? cw_utf8_bom(cell, n) : 0;
    cell += bom;
    n -= bom;
    while (n && (*cell == ' ' || *cell == '\t')) {
        cell++;
        n--;
    }
    while (n && (cell[n - 1] == ' ' || cell[n - 1] == '\t'))
        n--;
    *len = n;
    return cell;
}

cw_status_t cw_csv_set_dialect(cw_csv_t *csv, const cw_csv_dialect_t *d)
{
    if (csv->stream != CW_STREAM_AUDIT || d->n_columns > CW_CSV_DIALECT_COLS)
        return CW_ERR_USAGE;
    csv->dialect = d;
    return CW_OK;
}

const cw_csv_dialect_t *cw_csv_dialect(const cw_csv_t *csv) { return csv->dialect; }

static int dialect_column(const cw_csv_dialect_t *d, const char *name, size_t len)
{
    for (int k = 0; k < d->n_columns; k++) {
        if (strlen(d->columns[k]) == len && strncasecmp(d->columns[k], name, len) == 0)
            return k;
    }
    return -1;
}

/* The header's width: rows must have as many cells, but only the first CSV_COLS_MAX columns are
 * kept; the ones beyond are ignored as unknown columns are. */
static void keep_header(cw_csv_t *csv)
{
    csv->n_header = csv->n_cells;
    csv->n_columns = csv->n_cells < CSV_COLS_MAX ? csv->n_cells : CSV_COLS_MAX;
}

/* The header of a vendor's export: column ids, and the required groups none of whose columns
 * appear, as "DBUSERNAME, EVENT_TIMESTAMP_UTC or EVENT_TIMESTAMP". */
static int dialect_header(cw_csv_t *csv, char *missing, size_t missinglen)
{
    const cw_csv_dialect_t *d = csv->dialect;
    uint32_t seen = 0;
    int known = 0;
    size_t mlen = 0;

    keep_header(csv);
    for (int i = 0; i < csv->n_columns; i++) {
        size_t len = csv->cell_len[i];
        const char *name = cw_csv_header_name(csv->cells + csv->cell_off[i], &len, i);
        int k = dialect_column(d, name, len);
        if (k >= 0 && (seen >> k & 1u))
            k = -1; /* a repeated column: the first one counts */
        csv->dialect_col[i] = k;
        csv->columns[i] = CW_F_NONE;
        if (k >= 0) {
            seen |= 1u << k;
            known++;
        }
    }
    if (missinglen)
        missing[0] = '\0';
    for (const uint32_t *g = d->required; *g; g++) {
        if (seen & *g)
            continue;
        for (int k = 0; k < d->n_columns && mlen + 64 < missinglen; k++) {
            if (*g >> k & 1u)
                mlen += (size_t)snprintf(missing + mlen, missinglen - mlen, "%s%s",
                                         mlen == 0 ? "" : (*g & ((1u << k) - 1)) ? " or " : ", ", d->columns[k]);
        }
    }
    csv->have_header = true;
    return known;
}

static cw_decode_result_t dialect_decode(cw_csv_t *csv, cw_event_t *ev)
{
    cw_csv_cells_t cells;
    memset(cells.s, 0, sizeof cells.s);
    for (int i = 0; i < csv->n_columns; i++) {
        int k = csv->dialect_col[i];
        if (k < 0)
            continue;
        cells.s[k] = csv->cells + csv->cell_off[i];
        cells.len[k] = csv->cell_len[i];
    }
    return csv->dialect->decode(ev, &cells);
}

int cw_csv_take_header(cw_csv_t *csv, char *missing, size_t missinglen)
{
    bool seen[CW_F_COUNT] = {false};
    int known = 0;
    size_t mlen = 0;
    int first = csv->stream == CW_STREAM_CDR ? CW_FIRST_CDR_FIELD : CW_FIRST_AUDIT_FIELD;
    int last = csv->stream == CW_STREAM_CDR ? CW_LAST_CDR_FIELD : CW_LAST_AUDIT_FIELD;

    if (csv->dialect)
        return dialect_header(csv, missing, missinglen);
    keep_header(csv);
    for (int i = 0; i < csv->n_columns; i++) {
        size_t len = csv->cell_len[i];
        const char *name = cw_csv_header_name(csv->cells + csv->cell_off[i], &len, i);
        cw_field_t f = cw_field_lookup(csv->stream, name, len);
        if (f != CW_F_NONE && seen[f])
            f = CW_F_NONE; /* a repeated column: the first one counts */
        csv->columns[i] = f;
        if (f != CW_F_NONE) {
            seen[f] = true;
            known++;
        }
    }
    if (missinglen)
        missing[0] = '\0';
    for (int f = first; f <= last; f++) {
        if (cw_field_required((cw_field_t)f) && !seen[f] && mlen + 32 < missinglen) {
            mlen += (size_t)snprintf(missing + mlen, missinglen - mlen, "%s%s", mlen ? ", " : "",
                                     cw_field_name((cw_field_t)f));
        }
    }
    csv->have_header = true;
    return known;
}

void cw_csv_set_columns(cw_csv_t *csv, const cw_field_t *fields, int n)
{
    csv->n_header = n;
    csv->n_columns = n < CSV_COLS_MAX ? n : CSV_COLS_MAX;
    memcpy(csv->columns, fields, (size_t)csv->n_columns * sizeof *fields);
    csv->have_header = true;
}

bool cw_csv_has_header(const cw_csv_t *csv) { return csv->have_header; }

int cw_csv_columns(const cw_csv_t *csv, const cw_field_t **fields)
{
    *fields = csv->columns;
    return csv->have_header ? csv->n_columns : 0;
}

int cw_csv_header_width(const cw_csv_t *csv) { return csv->have_header ? csv->n_header : 0; }

bool cw_csv_header_like(const cw_csv_t *csv)
{
    if (csv->n_cells < 2)
        return false;
    for (int i = 0; i < csv->n_cells && i < CSV_COLS_MAX; i++) {
        const char *c = csv->cells + csv->cell_off[i];
        size_t n = csv->cell_len[i];
        if (i == 0) {
            size_t bom = cw_utf8_bom(c, n);
            c += bom;
            n -= bom;
        }
        if (n == 0 || n > 64 || !(isalpha((unsigned char)c[0]) || c[0] == '_'))
            return false;
        for (size_t k = 1; k < n; k++) {
            if (!(isalnum((unsigned char)c[k]) || c[k] == '_' || c[k] == '.' || c[k] == '-' || c[k] == ' '))
                return false;
        }
    }
    return true;
}

cw_decode_result_t cw_csv_decode(cw_csv_t *csv, cw_event_t *ev)
{
    cw_event_reset(ev, csv->stream);
    if (csv->oversize)
        return cw_decode_result(CW_DEC_OVERSIZE, CW_F_NONE);
    if (csv->n_cells != csv->n_header)
        return cw_decode_result(CW_DEC_CSV_COLUMNS, CW_F_NONE);
    if (csv->dialect)
        return dialect_decode(csv, ev);
    for (int i = 0; i < csv->n_columns; i++) {
        cw_field_t f = csv->columns[i];
        if (f == CW_F_NONE)
            continue;
        cw_decode_result_t r = cw_decode_set_field(ev, f, csv->cells + csv->cell_off[i], csv->cell_len[i]);
        if (r.reason != CW_DEC_OK)
            return r;
    }
    return cw_decode_finish(ev);
}

/* ---- the fast path: records without quotes ---- */

/* The length of a record without its line end (an LF, a CR LF or a CR), or 0 when the record has
 * a quote or another CR or LF (or is empty): only when it has none are its cells simply the bytes between commas (RFC 4180
 * gives them no other meaning), what libcsv would return without its byte-by-byte state machine,
 * the larger part of the cost of a CDR. */
/* The length of a record of one line without quotes (its line end left out), 0 if it is not
 * one; in *cells its cells (commas + 1). memchr, which reads many bytes at a time, for each. */
static size_t plain_length(const char *b, size_t len, int *cells)
{
    const char *p, *end;
    int commas = 0;
    if (len && b[len - 1] == '\n')
        len--;
    if (len && b[len - 1] == '\r')
        len--;
    if (memchr(b, '"', len) || memchr(b, '\n', len) || memchr(b, '\r', len))
        return 0;
    for (p = b, end = b + len; (p = memchr(p, ',', (size_t)(end - p))) != NULL; p++)
        commas++;
    *cells = commas + 1;
    return len;
}

/* Decode a plain record of len bytes and `cells` cells (plain_length) in the columns of csv. */
static cw_decode_result_t decode_plain(const cw_csv_t *csv, const char *b, size_t len, int cells, cw_event_t *ev)
{
    const char *s = b, *end = b + len;
    cw_event_reset(ev, csv->stream);
    if (cells != csv->n_header)
        return cw_decode_result(CW_DEC_CSV_COLUMNS, CW_F_NONE);
    for (int col = 0; col < csv->n_columns; col++) {
        const char *comma = memchr(s, ',', (size_t)(end - s)), *e = comma ? comma : end;
        if (csv->columns[col] != CW_F_NONE) {
            cw_decode_result_t r = cw_decode_set_field(ev, csv->columns[col], s, (size_t)(e - s));
            if (r.reason != CW_DEC_OK)
                return r;
        }
        s = e + 1;
    }
    return cw_decode_finish(ev);
}

bool cw_csv_decode_line(cw_csv_t *csv, const char *buf, size_t len, cw_event_t *ev, cw_decode_result_t *res)
{
    size_t n;
    int cells;
    if (csv->dialect || cw_csv_in_record(csv) || !(n = plain_length(buf, len, &cells)))
        return false;
    *res = decode_plain(csv, buf, n, cells, ev);
    return true;
}

/* One message through libcsv: a record, with a line end added if it has none. */
static cw_decode_result_t decode_csv_message(cw_csv_t *csv, const char *b, size_t len, cw_event_t *ev)
{
    cw_decode_result_t res;
    int rc;
    cw_csv_reset(csv);
    rc = cw_csv_push(csv, b, len);
    if (rc == 0 && b[len - 1] != '\n')
        rc = cw_csv_push(csv, "\n", 1);
    if (rc == 0)
        rc = cw_csv_finish(csv);
    if (rc == 1) {
        res = cw_csv_decode(csv, ev);
    } else {
        cw_event_reset(ev, csv->stream);
        res = cw_decode_result(CW_DEC_BAD_CSV, CW_F_NONE);
    }
    cw_csv_reset(csv);
    return res;
}

/* A message over CW_RECORD_MAX (brokers may be set to carry larger ones): its head and tail
 * around the marker, as replay does with a long line (doc/formats.md §1.3), decoded and flagged
 * truncated; the dead letter oversize_line when the cut would cross fields. */
static cw_decode_result_t decode_long_message(cw_csv_t *csv, const char *b, size_t len, bool json, cw_event_t *ev)
{
    cw_cut_state_t st;
    size_t head, tail, n;
    cw_decode_result_t res;
    cw_cut_init(&st, json ? CW_CUT_JSON : CW_CUT_CSV, false);
    if (!cw_cut_find(&st, b, len, CW_MESSAGE_CUT, CW_MESSAGE_CUT, &head, &tail)) {
        cw_event_reset(ev, csv->stream);
        return cw_decode_result(CW_DEC_UNCUT, CW_F_NONE);
    }
    if (!csv->cut && !(csv->cut = malloc(2 * CW_MESSAGE_CUT + CW_CUT_MARKER_LEN))) {
        cw_event_reset(ev, csv->stream);
        return cw_decode_result(CW_DEC_OVERSIZE, CW_F_NONE);
    }
    memcpy(csv->cut, b, head);
    memcpy(csv->cut + head, CW_CUT_MARKER, CW_CUT_MARKER_LEN);
    memcpy(csv->cut + head + CW_CUT_MARKER_LEN, b + tail, len - tail);
    n = head + CW_CUT_MARKER_LEN + len - tail;
    res = cw_decode_message(csv, csv->cut, n, ev);
    if (res.reason == CW_DEC_OK)
        ev->damage |= CW_DAMAGE_TRUNCATED;
    return res;
}

cw_decode_result_t cw_decode_message(cw_csv_t *csv, const char *b, size_t len, cw_event_t *ev)
{
    size_t i = 0, n;
    int cells;
    if (!b)
        len = 0;
    while (i < len && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n'))
        i++;
    if (i == len) { /* an empty message (a tombstone): no required field */
        cw_event_reset(ev, csv->stream);
        return cw_decode_result(CW_DEC_MISSING_FIELD, CW_F_NONE);
    }
    if (len > CW_RECORD_MAX)
        return decode_long_message(csv, b, len, b[i] == '{', ev);
    if (b[i] == '{')
        return cw_decode_json(csv->stream, b, len, ev);
    if ((n = plain_length(b, len, &cells)) != 0)
        return decode_plain(csv, b, n, cells, ev);
    return decode_csv_message(csv, b, len, ev);
}
