/*
 * json_scan.c — a JSON text checked with cJSON's grammar in one pass, its top-level members
 * located in place (json_scan.h).
 *
 * What cJSON 1.7 accepts, rule by rule (the reference is its behaviour, which the differential
 * test and the fuzz target json_scan compare against the linked library):
 * - whitespace is any byte up to 0x20; a UTF-8 BOM is skipped at the very start of a text of 5
 *   bytes or more (a shorter one keeps it, and is refused);
 * - `null`, `false`, `true` are matched as prefixes (what follows is the container's business);
 * - a number starts with '-' or a digit; the longest run of [0-9+-.eE] (however long) is
 *   given to strtod, which must take at least one byte, and the value ends where strtod stopped;
 * - a string ends at the first quote not escaped (a backslash escapes the next byte, whatever it
 *   is); any raw byte is allowed inside; the escapes are \b \f \n \r \t \" \\ \/ and \uXXXX,
 *   where a bad hex digit makes the code point 0, a low surrogate alone is refused and a high
 *   surrogate must be followed by \u and a low one;
 * - arrays and objects nest to 1000 levels at most; no trailing comma; keys are strings.
 * Numbers are read with the C library's strtod in the "C" numeric locale, as cdrwatch runs.
 *
 * Nothing allocates: the members go to the caller's array, nested values are only checked.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cdrwatch/json_scan.h"

#define NESTING_MAX 1000 /* cJSON's CJSON_NESTING_LIMIT */
#define NUMBER_SMALL 63  /* bytes of a number copied on the stack */

typedef struct {
    const unsigned char *s;
    size_t len, pos;
    unsigned depth;
} scanner_t;

static inline void skip_space(scanner_t *sc)
{
    while (sc->pos < sc->len && sc->s[sc->pos] <= 0x20)
        sc->pos++;
}

static unsigned hex4(const unsigned char *p)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else
            return 0; /* cJSON: a bad digit makes the whole escape U+0000 */
        v = v << 4 | d;
    }
    return v;
}

/* Write code point cp as UTF-8 to out (if not NULL); returns its length. */
static size_t put_utf8(uint32_t cp, unsigned char *out)
{
    if (cp < 0x80) {
        if (out)
            out[0] = (unsigned char)cp;
        return 1;
    }
    size_t n = cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (out) {
        static const unsigned char lead[5] = {0, 0, 0xc0, 0xe0, 0xf0};
        for (size_t k = n - 1; k > 0; k--) {
            out[k] = (unsigned char)(0x80 | (cp & 0x3f));
            cp >>= 6;
        }
        out[0] = (unsigned char)(lead[n] | cp);
    }
    return n;
}

/* The \u escape at p (end: the closing quote): its code point in *cp; returns its length (6 or
 * 12), 0 if cJSON refuses it. */
static size_t unicode_escape(const unsigned char *p, const unsigned char *end, uint32_t *cp)
{
    unsigned first, second;
    if (end - p < 6)
        return 0;
    first = hex4(p + 2);
    if (first >= 0xdc00 && first <= 0xdfff)
        return 0;
    if (first < 0xd800 || first > 0xdbff) {
        *cp = first;
        return 6;
    }
    if (end - (p + 6) < 6 || p[6] != '\\' || p[7] != 'u')
        return 0;
    second = hex4(p + 8);
    if (second < 0xdc00 || second > 0xdfff)
        return 0;
    *cp = 0x10000 + (((first & 0x3ff) << 10) | (second & 0x3ff));
    return 12;
}

/* Walk the escapes of a string's bytes [s, s + len): check them (out NULL) or undo them into
 * out. Returns the length of the result, or SIZE_MAX if cJSON refuses the string. */
static size_t walk_escapes(const unsigned char *s, size_t len, unsigned char *out)
{
    const unsigned char *p = s, *end = s + len;
    size_t o = 0;
    while (p < end) {
        const unsigned char *bs = memchr(p, '\\', (size_t)(end - p));
        size_t plain = bs ? (size_t)(bs - p) : (size_t)(end - p);
        if (out)
            memcpy(out + o, p, plain);
        o += plain;
        if (!bs)
            break;
        uint32_t cp = 0;
        size_t used = 2;
        switch (bs[1]) { /* a backslash is never the last byte: it escapes the byte after */
        case 'b': cp = '\b'; break;
        case 'f': cp = '\f'; break;
        case 'n': cp = '\n'; break;
        case 'r': cp = '\r'; break;
        case 't': cp = '\t'; break;
        case '"':
        case '\\':
        case '/': cp = bs[1]; break;
        case 'u':
            if (!(used = unicode_escape(bs, end, &cp)))
                return SIZE_MAX;
            break;
        default: return SIZE_MAX;
        }
        o += put_utf8(cp, out ? out + o : NULL);
        p = bs + used;
    }
    return o;
}

size_t cw_json_unescape(const char *s, size_t len, char *out)
{
    size_t n = walk_escapes((const unsigned char *)s, len, (unsigned char *)out);
    const char *nul;
    if (n == SIZE_MAX)
        return 0;
    nul = memchr(out, '\0', n);
    return nul ? (size_t)(nul - out) : n;
}

/* Eight bytes with no '"' and no '\\' (a zero byte of w ^ c marks a c). */
static inline bool plain8(const unsigned char *p)
{
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    uint64_t w, q, b;
    memcpy(&w, p, 8);
    q = w ^ ('"' * ones);
    b = w ^ ('\\' * ones);
    return !((((q - ones) & ~q) | ((b - ones) & ~b)) & highs);
}

/* A string at sc->pos (a quote): its bytes in *v (val/val_len/val_escaped). */
static bool scan_string(scanner_t *sc, const char **start, size_t *len, bool *escaped)
{
    const unsigned char *s = sc->s;
    size_t i = sc->pos + 1, n = sc->len;
    bool esc = false;
    for (;;) {
        while (n - i >= 8 && plain8(s + i))
            i += 8;
        while (i < n && s[i] != '"' && s[i] != '\\')
            i++;
        if (i >= n)
            return false;
        if (s[i] == '"')
            break;
        if (i + 1 >= n)
            return false; /* a backslash at the end of the text */
        esc = true;
        i += 2;
    }
    *start = (const char *)s + sc->pos + 1;
    *len = i - sc->pos - 1;
    *escaped = esc;
    if (esc && walk_escapes((const unsigned char *)*start, *len, NULL) == SIZE_MAX)
        return false;
    sc->pos = i + 1;
    return true;
}

static inline bool number_byte(unsigned char c)
{
    return (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.' || c == 'e' || c == 'E';
}

/* A run that is an optional '-' and 1 to 15 digits (epoch milliseconds, counts): its value,
 * exact in a double, so what strtod would give, without strtod. */
static bool exact_integer(const unsigned char *p, size_t n, double *value)
{
    size_t i = p[0] == '-';
    uint64_t v = 0;
    if (n == i || n - i > 15)
        return false;
    for (size_t k = i; k < n; k++) {
        if (p[k] < '0' || p[k] > '9')
            return false;
        v = v * 10 + (p[k] - '0');
    }
    *value = i ? -(double)v : (double)v;
    return true;
}

/* A number at sc->pos: strtod over a NUL-terminated copy of the run of number bytes (on the
 * stack; a run longer than any real number, hostile input, is copied to the heap). */
static bool scan_number(scanner_t *sc, double *value)
{
    char small[NUMBER_SMALL + 1], *text = small, *after;
    size_t n = 0;
    while (sc->pos + n < sc->len && number_byte(sc->s[sc->pos + n]))
        n++;
    if (exact_integer(sc->s + sc->pos, n, value)) {
        sc->pos += n;
        return true;
    }
    if (n > NUMBER_SMALL && !(text = malloc(n + 1)))
        return false;
    memcpy(text, sc->s + sc->pos, n);
    text[n] = '\0';
    *value = strtod(text, &after);
    n = (size_t)(after - text);
    if (text != small)
        free(text);
    if (n == 0)
        return false;
    sc->pos += n;
    return true;
}

static bool scan_value(scanner_t *sc, cw_json_value_t *v);

/* A container at sc->pos ('[' or '{', closed by close): its members go to members[0..cap) when
 * members is not NULL (the count in *n; *full when there are more). */
static bool scan_container(scanner_t *sc, unsigned char close, cw_json_value_t *members, size_t cap, size_t *n,
                           bool *full)
{
    cw_json_value_t scratch, *v = &scratch;
    if (sc->depth >= NESTING_MAX)
        return false;
    sc->depth++;
    sc->pos++;
    skip_space(sc);
    if (sc->pos < sc->len && sc->s[sc->pos] == close)
        goto done;
    for (;;) {
        if (members) {
            if (*n == cap) {
                *full = true;
                return false;
            }
            v = &members[(*n)++];
        }
        skip_space(sc);
        if (close == '}') {
            if (sc->pos >= sc->len || sc->s[sc->pos] != '"' ||
                !scan_string(sc, &v->key, &v->key_len, &v->key_escaped))
                return false;
            skip_space(sc);
            if (sc->pos >= sc->len || sc->s[sc->pos] != ':')
                return false;
            sc->pos++;
            skip_space(sc);
        }
        if (!scan_value(sc, v))
            return false;
        skip_space(sc);
        if (sc->pos >= sc->len || sc->s[sc->pos] != ',')
            break;
        sc->pos++;
    }
    if (sc->pos >= sc->len || sc->s[sc->pos] != close)
        return false;
done:
    sc->pos++;
    sc->depth--;
    return true;
}

static bool literal(scanner_t *sc, const char *word, size_t n, cw_json_value_t *v, cw_json_type_t type)
{
    if (sc->len - sc->pos < n || memcmp(sc->s + sc->pos, word, n) != 0)
        return false;
    sc->pos += n;
    v->type = type;
    return true;
}

/* One value at sc->pos into v (its type and span; a nested container only checked). */
static bool scan_value(scanner_t *sc, cw_json_value_t *v)
{
    size_t start = sc->pos;
    bool ok;
    if (sc->pos >= sc->len)
        return false;
    switch (sc->s[sc->pos]) {
    case 'n': return literal(sc, "null", 4, v, CW_JSON_NULL);
    case 'f': return literal(sc, "false", 5, v, CW_JSON_FALSE);
    case 't': return literal(sc, "true", 4, v, CW_JSON_TRUE);
    case '"':
        v->type = CW_JSON_STRING;
        return scan_string(sc, &v->val, &v->val_len, &v->val_escaped);
    case '[':
    case '{':
        v->type = sc->s[sc->pos] == '[' ? CW_JSON_ARRAY : CW_JSON_OBJECT;
        ok = scan_container(sc, v->type == CW_JSON_ARRAY ? ']' : '}', NULL, 0, NULL, NULL);
        break;
    default:
        if (sc->s[sc->pos] != '-' && (sc->s[sc->pos] < '0' || sc->s[sc->pos] > '9'))
            return false;
        v->type = CW_JSON_NUMBER;
        ok = scan_number(sc, &v->number);
        break;
    }
    v->val = (const char *)sc->s + start;
    v->val_len = sc->pos - start;
    return ok;
}

cw_json_scan_status_t cw_json_scan(const char *buf, size_t len, cw_json_value_t *root, cw_json_value_t *members,
                                   size_t cap, size_t *n)
{
    scanner_t sc = {(const unsigned char *)buf, len, 0, 0};
    bool full = false;
    size_t start;
    *n = 0;
    if (len == 0)
        return CW_JSCAN_BAD;
    if (len >= 5 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
        sc.pos = 3; /* cJSON skips a BOM only in a text of 5 bytes or more */
    skip_space(&sc);
    start = sc.pos;
    if (members && sc.pos < len && buf[sc.pos] == '{') {
        root->type = CW_JSON_OBJECT;
        if (!scan_container(&sc, '}', members, cap, n, &full))
            return full ? CW_JSCAN_FULL : CW_JSCAN_BAD;
    } else if (!scan_value(&sc, root)) {
        return CW_JSCAN_BAD;
    }
    root->val = buf + start;
    root->val_len = sc.pos - start;
    return root->type == CW_JSON_OBJECT ? CW_JSCAN_OBJECT : CW_JSCAN_OTHER;
}

bool cw_json_next(const cw_json_value_t *c, size_t *pos, cw_json_value_t *item)
{
    scanner_t sc = {(const unsigned char *)c->val, c->val_len, *pos ? *pos : 1, 1};
    skip_space(&sc);
    if (sc.pos >= sc.len || sc.s[sc.pos] == ']' || sc.s[sc.pos] == '}')
        return false;
    if (*pos && sc.s[sc.pos] == ',') {
        sc.pos++;
        skip_space(&sc);
    }
    if (c->type == CW_JSON_OBJECT) {
        if (!scan_string(&sc, &item->key, &item->key_len, &item->key_escaped))
            return false;
        skip_space(&sc);
        sc.pos++; /* the colon */
        skip_space(&sc);
    }
    if (!scan_value(&sc, item))
        return false;
    *pos = sc.pos;
    return true;
}
