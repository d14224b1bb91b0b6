/*
 * decode_xml.c — XML audit records (decode_xml.h): the framer that finds them in a file and the
 * strict scanner that reads one.
 *
 * The shapes read are flat: a record element with attributes (Percona OLD) or with leaf children
 * (Oracle, Percona NEW), each child holding text only. Anything else inside a record — a child
 * with children, an end tag that does not match, an attribute without a quoted value, text after
 * the record — is bad_xml: the record is a dead letter and the next one is read. Values are
 * decoded into the caller's scratch (never longer than the record) and handed to the dialect as
 * cells, so nothing is allocated per record.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "cdrwatch/decode_xml.h"

static const char *const record_names[] = {"AuditRecord", "AUDIT_RECORD"};

static bool blank_char(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Does p (at a '<') start a record: one of the record names, then a blank, '>' or '/'? */
static bool record_start(const char *p, size_t n)
{
    for (size_t k = 0; k < sizeof record_names / sizeof *record_names; k++) {
        size_t l = strlen(record_names[k]);
        if (n > l + 1 && memcmp(p + 1, record_names[k], l) == 0 &&
            (blank_char(p[l + 1]) || p[l + 1] == '>' || p[l + 1] == '/'))
            return true;
    }
    return false;
}

/* One byte of a tag: quotes, the end tag's '/', and the '>' that closes it. True when the tag
 * closed the record. */
static bool frame_tag(cw_xml_frame_t *f, char c)
{
    if (f->quote) {
        if (c == f->quote)
            f->quote = 0;
        return false;
    }
    if (f->fresh) {
        f->fresh = false;
        f->closing = c == '/';
        f->special = c == '!' || c == '?';
        if (f->closing || f->special)
            return false;
    }
    if (c == '>') {
        f->in_tag = false;
        if (f->closing)
            f->depth--;
        else if (!f->slash && !f->special)
            f->depth++;
        return f->depth <= 0;
    }
    if ((c == '"' || c == '\'') && !f->special)
        f->quote = c;
    f->slash = c == '/';
    return false;
}

size_t cw_xml_frame(cw_xml_frame_t *f, const char *p, size_t n, cw_xml_event_t *event)
{
    *event = CW_XML_NONE;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (!f->in_record) {
            if (c == '<' && record_start(p + i, n - i)) {
                cw_xml_frame_init(f);
                f->in_record = f->opening = true;
                *event = CW_XML_BEGIN;
                return i;
            }
        } else if (f->in_tag) {
            if (frame_tag(f, c)) {
                f->in_record = false;
                *event = CW_XML_END;
                return i + 1;
            }
        } else if (c == '<') {
            if (!f->opening && record_start(p + i, n - i)) { /* the record's end was lost */
                f->in_record = false;
                *event = CW_XML_END;
                return i;
            }
            f->opening = false;
            f->in_tag = f->fresh = true;
            f->closing = f->slash = f->special = false;
        }
    }
    return n;
}

/* ---- one record ---- */

typedef struct {
    const char *s;
    size_t len, i;
    char *out; /* scratch: decoded values, one after the other */
    size_t used;
    bool bad;
} xml_t;

static void skip_blanks(xml_t *x)
{
    while (x->i < x->len && blank_char(x->s[x->i]))
        x->i++;
}

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.' || c == ':' || (unsigned char)c >= 0x80;
}

/* A name at i (its length; 0 and bad when there is none). */
static size_t take_name(xml_t *x, const char **name)
{
    size_t start = x->i;
    while (x->i < x->len && name_char(x->s[x->i]))
        x->i++;
    *name = x->s + start;
    x->bad |= x->i == start;
    return x->i - start;
}

static bool take(xml_t *x, char c)
{
    if (x->i < x->len && x->s[x->i] == c) {
        x->i++;
        return true;
    }
    x->bad = true;
    return false;
}

static size_t put_utf8(char *o, unsigned long cp)
{
    if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
        o[0] = cp == 0 ? '\0' : '\xff'; /* repaired and flagged by cw_decode_set_field */
        return 1;
    }
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* The character reference "#N" or "#xN" (between '&' and ';'), as UTF-8 into o; 0 when it is
 * not one. */
static size_t char_ref(const char *s, size_t n, char *o)
{
    unsigned long cp = 0;
    bool hex = n > 1 && (s[1] == 'x' || s[1] == 'X');
    size_t k = hex ? 2 : 1;
    if (n <= k || n > k + 8)
        return 0;
    for (; k < n; k++) {
        char c = s[k];
        int d = c >= '0' && c <= '9' ? c - '0'
                : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                               : -1;
        if (d < 0)
            return 0;
        cp = cp * (hex ? 16 : 10) + (unsigned long)d;
    }
    return put_utf8(o, cp);
}

/* The reference at s ('&'): its replacement into o, its length in the text into *used. */
static size_t entity(const char *s, size_t n, char *o, size_t *used)
{
    static const struct {
        const char *name;
        char c;
    } named[] = {{"lt", '<'}, {"gt", '>'}, {"amp", '&'}, {"quot", '"'}, {"apos", '\''}};
    size_t k = 0;
    *used = 1;
    while (k + 1 < n && k < 12 && (name_char(s[k + 1]) || s[k + 1] == '#'))
        k++;
    if (k == 0 || k + 1 >= n || s[k + 1] != ';') { /* no reference: the '&' alone is damage */
        o[0] = '\xff';
        return 1;
    }
    *used = k + 2;
    for (size_t e = 0; e < sizeof named / sizeof *named; e++) {
        if (strlen(named[e].name) == k && memcmp(s + 1, named[e].name, k) == 0) {
            o[0] = named[e].c;
            return 1;
        }
    }
    if (k > 1 && s[1] == '#' && (k = char_ref(s + 1, k, o)) != 0)
        return k;
    o[0] = '\xff';
    return 1;
}

/* The text up to stop (or '<', which is bad in an attribute value), entities decoded into the
 * scratch. */
static size_t take_text(xml_t *x, char stop, const char **value)
{
    char *o = x->out + x->used;
    size_t n = 0;
    *value = o;
    while (x->i < x->len && x->s[x->i] != stop && x->s[x->i] != '<') {
        size_t used = 1;
        if (x->s[x->i] == '&')
            n += entity(x->s + x->i, x->len - x->i, o + n, &used);
        else
            o[n++] = x->s[x->i];
        x->i += used;
    }
    x->used += n;
    return n;
}

/* Keep value as the cell of the dialect's column named name (case-insensitively), if any. */
static void keep(const cw_csv_dialect_t *d, cw_csv_cells_t *c, const char *name, size_t nlen, const char *value,
                 size_t vlen)
{
    for (int k = 0; k < d->n_columns; k++) {
        if (strlen(d->columns[k]) == nlen && strncasecmp(d->columns[k], name, nlen) == 0) {
            c->s[k] = value;
            c->len[k] = vlen;
        }
    }
}

/* A tag's attributes, up to its '>' or "/>": kept as cells when cells is set. True for "/>". */
static bool attributes(xml_t *x, const cw_csv_dialect_t *d, cw_csv_cells_t *cells)
{
    for (;;) {
        const char *name, *value;
        size_t nlen, vlen;
        char q;
        skip_blanks(x);
        if (x->bad || x->i >= x->len) {
            x->bad = true;
            return false;
        }
        if (x->s[x->i] == '>' || x->s[x->i] == '/') {
            bool empty = x->s[x->i] == '/';
            if (empty)
                x->i++;
            take(x, '>');
            return empty;
        }
        nlen = take_name(x, &name);
        skip_blanks(x);
        take(x, '=');
        skip_blanks(x);
        q = x->i < x->len ? x->s[x->i] : 0;
        if ((q != '"' && q != '\'') || !take(x, q)) {
            x->bad = true;
            return false;
        }
        vlen = take_text(x, q, &value);
        if (take(x, q) && cells)
            keep(d, cells, name, nlen, value, vlen);
    }
}

/* Skip a comment at i ("<!--" ... "-->"); false when there is none. */
static bool comment(xml_t *x)
{
    const char *end;
    if (x->len - x->i < 4 || memcmp(x->s + x->i, "<!--", 4) != 0)
        return false;
    end = x->i + 4 < x->len ? memmem(x->s + x->i + 4, x->len - x->i - 4, "-->", 3) : NULL;
    x->bad |= !end;
    x->i = end ? (size_t)(end - x->s) + 3 : x->len;
    return true;
}

/* "</name>" for the element named name. */
static void end_tag(xml_t *x, const char *name, size_t nlen)
{
    const char *got;
    size_t glen;
    if (!take(x, '<') || !take(x, '/'))
        return;
    glen = take_name(x, &got);
    x->bad |= glen != nlen || memcmp(got, name, nlen) != 0;
    skip_blanks(x);
    take(x, '>');
}

/* One child: <name attrs>text</name> or <name attrs/>, its text kept as a cell. */
static void child(xml_t *x, const cw_csv_dialect_t *d, cw_csv_cells_t *cells)
{
    const char *name, *value = "";
    size_t nlen, vlen = 0;
    take(x, '<');
    nlen = take_name(x, &name);
    if (x->bad)
        return;
    if (!attributes(x, d, NULL)) {
        vlen = take_text(x, '<', &value);
        end_tag(x, name, nlen);
    }
    if (!x->bad)
        keep(d, cells, name, nlen, value, vlen);
}

/* The record: its start tag, then children and comments up to its end tag. */
static void record(xml_t *x, const cw_csv_dialect_t *d, cw_csv_cells_t *cells)
{
    const char *name;
    size_t nlen;
    skip_blanks(x);
    take(x, '<');
    nlen = take_name(x, &name);
    if (x->bad || attributes(x, d, cells))
        return;
    while (!x->bad) {
        skip_blanks(x);
        if (x->i >= x->len) {
            x->bad = true; /* no end tag */
        } else if (x->s[x->i] != '<') {
            x->bad = true; /* text beside the children */
        } else if (x->i + 1 < x->len && x->s[x->i + 1] == '/') {
            end_tag(x, name, nlen);
            return;
        } else if (!comment(x)) {
            child(x, d, cells);
        }
    }
}

cw_decode_result_t cw_xml_decode(const cw_csv_dialect_t *d, const char *buf, size_t len, char *scratch,
                                 cw_event_t *ev, bool *is_record)
{
    xml_t x = {buf, len, 0, scratch, 0, false};
    cw_csv_cells_t cells;
    memset(&cells, 0, sizeof cells);
    *is_record = true;
    cw_event_reset(ev, CW_STREAM_AUDIT);
    record(&x, d, &cells);
    skip_blanks(&x);
    if (x.bad || x.i != x.len)
        return cw_decode_result(CW_DEC_BAD_XML, CW_F_NONE);
    if (d->is_record && !d->is_record(&cells)) {
        *is_record = false;
        return CW_DECODE_OK;
    }
    return d->decode(ev, &cells);
}
