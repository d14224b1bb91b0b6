/*
 * decode_native.c — pgaudit, MariaDB server_audit and MySQL/Percona JSON audit records into
 * cw_event_t (doc/formats.md §1.4).
 *
 * The three decoders share two things: the funnel (every value through cw_decode_set_field, then
 * cw_decode_finish) and a small SQL reader that takes the verb and the first table out of a
 * statement when the source does not name them. The SQL reader is a scanner, not a parser: it
 * skips comments, string literals and quoted identifiers, and looks for the keyword that
 * introduces the first table of the verb (FROM/JOIN for SELECT, INTO for INSERT, ...). It never
 * fails: a statement it cannot read simply has no object.
 *
 * Derived values never make a record invalid: a statement longer than the canonical limit is cut
 * (at a UTF-8 boundary) like the sources themselves cut it, and an object name over its limit is
 * left out. Values the source gives directly (user, host, database) are checked as usual.
 *
 * Bounds: one scratch buffer of CW_RECORD_MAX per decoder; the pgaudit duplicate table has
 * SEEN_SLOTS entries. Nothing is allocated per record: a MySQL JSON object is read in place
 * (json_scan.h), its strings unescaped into the scratch buffer; cJSON, the reference it is tested
 * against, uses the decode arena.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cjson/cJSON.h>
#include "cdrwatch/decode_native.h"
#include "cdrwatch/decode_xml.h"
#include "cdrwatch/json_scan.h"

static const char *const format_names[CW_AUDIT_FORMAT_COUNT] = {
    [CW_AUDIT_CANONICAL] = "canonical",
    [CW_AUDIT_PGAUDIT] = "pgaudit",
    [CW_AUDIT_MARIADB] = "mariadb",
    [CW_AUDIT_MYSQL_JSON] = "mysql-json",
    [CW_AUDIT_ORACLE_CSV] = "oracle-csv",
    [CW_AUDIT_MSSQL_CSV] = "mssql-csv",
    [CW_AUDIT_ORACLE_JSON] = "oracle-json",
    [CW_AUDIT_ORACLE_XML] = "oracle-xml",
    [CW_AUDIT_PERCONA_JSON] = "percona-json",
    [CW_AUDIT_PERCONA_XML] = "percona-xml",
};

bool cw_audit_format_parse(const char *name, cw_audit_format_t *out)
{
    for (int i = 0; i < CW_AUDIT_FORMAT_COUNT; i++) {
        if (strcmp(name, format_names[i]) == 0) {
            *out = (cw_audit_format_t)i;
            return true;
        }
    }
    return false;
}

const char *cw_audit_format_name(cw_audit_format_t f)
{
    return (f >= 0 && f < CW_AUDIT_FORMAT_COUNT) ? format_names[f] : "?";
}


typedef struct {
    const char *s;
    size_t len;
} span_t;

static span_t span(const char *s, size_t len)
{
    span_t v = {s, len};
    return v;
}

static bool span_is(span_t v, const char *text)
{
    size_t n = strlen(text);
    return v.len == n && memcmp(v.s, text, n) == 0;
}

/* ---- setting fields ---- */

static cw_decode_result_t set(cw_event_t *ev, cw_field_t f, span_t v)
{
    return cw_decode_set_field(ev, f, v.s, v.len);
}

static cw_decode_result_t set_text(cw_event_t *ev, cw_field_t f, const char *s)
{
    return cw_decode_set_field(ev, f, s, strlen(s));
}

/* Statement text: a long one is cut by cw_decode_set_field, keeping its head and tail and flagging
 * the record (as the sources themselves may cut long statements, but a tail can hold the WHERE). */
static cw_decode_result_t set_statement(cw_event_t *ev, span_t v) { return set(ev, CW_F_STATEMENT, v); }

/* A value cdrwatch derived (an object name read from SQL): left out when over its limit. */
static cw_decode_result_t set_derived(cw_event_t *ev, cw_field_t f, const char *s, size_t len)
{
    if (len == 0 || len > cw_field_limit(f))
        return CW_DECODE_OK;
    return cw_decode_set_field(ev, f, s, len);
}

static cw_decode_result_t set_failed(cw_event_t *ev) { return set_text(ev, CW_F_STATUS, "fail"); }

/* Set ts from "YYYY-MM-DD HH:MM:SS[.fff]" and an offset in minutes east of UTC. */
static cw_decode_result_t set_local_time(cw_event_t *ev, const char *date, size_t len, int offset_min)
{
    char iso[64];
    int n;
    if (len < 19 || len > 29)
        return cw_decode_result(CW_DEC_BAD_TIME, CW_F_TS);
    n = snprintf(iso, sizeof iso, "%.10sT%.*s%c%02d:%02d", date, (int)(len - 11), date + 11,
                 offset_min < 0 ? '-' : '+', abs(offset_min) / 60, abs(offset_min) % 60);
    return cw_decode_set_field(ev, CW_F_TS, iso, (size_t)n);
}

static bool all_digits(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
    }
    return true;
}

/* ---- a small SQL scanner: verb, export, first table ---- */

typedef enum { TOK_END, TOK_WORD, TOK_QUOTED, TOK_STRING, TOK_PUNCT } tok_kind_t;

typedef struct {
    const char *s;
    size_t len, pos;
    bool backslash_escapes; /* MySQL/MariaDB string literals */
    int depth;              /* parentheses */
} sql_t;

typedef struct {
    tok_kind_t kind;
    const char *s;
    size_t len;
} tok_t;

static bool word_char(unsigned char c) { return isalnum(c) || c == '_' || c == '$' || c >= 0x80; }

static void sql_skip(sql_t *q)
{
    for (;;) {
        while (q->pos < q->len && isspace((unsigned char)q->s[q->pos]))
            q->pos++;
        if (q->pos + 1 < q->len && q->s[q->pos] == '-' && q->s[q->pos + 1] == '-') {
            while (q->pos < q->len && q->s[q->pos] != '\n')
                q->pos++;
            continue;
        }
        if (q->pos + 1 < q->len && q->s[q->pos] == '#' && q->backslash_escapes) {
            while (q->pos < q->len && q->s[q->pos] != '\n')
                q->pos++;
            continue;
        }
        if (q->pos + 1 < q->len && q->s[q->pos] == '/' && q->s[q->pos + 1] == '*') {
            if (q->pos + 2 < q->len && q->s[q->pos + 2] == '!') {
                /* MySQL executable comment: its content is SQL */
                q->pos += 3;
                while (q->pos < q->len && isdigit((unsigned char)q->s[q->pos]))
                    q->pos++;
                continue;
            }
            q->pos += 2;
            while (q->pos + 1 < q->len && !(q->s[q->pos] == '*' && q->s[q->pos + 1] == '/'))
                q->pos++;
            q->pos = q->pos + 1 < q->len ? q->pos + 2 : q->len;
            continue;
        }
        if (q->pos + 1 < q->len && q->s[q->pos] == '*' && q->s[q->pos + 1] == '/') {
            q->pos += 2; /* the end of an executable comment */
            continue;
        }
        return;
    }
}

/* Skip a literal or quoted identifier that opens at q->pos with quote character c. */
static void sql_skip_quoted(sql_t *q, char c)
{
    q->pos++;
    while (q->pos < q->len) {
        char ch = q->s[q->pos];
        if (ch == '\\' && q->backslash_escapes && c != '`') {
            q->pos += 2;
            continue;
        }
        q->pos++;
        if (ch == c) {
            if (q->pos < q->len && q->s[q->pos] == c) {
                q->pos++; /* doubled quote */
                continue;
            }
            return;
        }
    }
    q->pos = q->len;
}

static tok_t sql_next(sql_t *q)
{
    tok_t t = {TOK_END, q->s + q->len, 0};
    size_t start;
    sql_skip(q);
    if (q->pos >= q->len)
        return t;
    start = q->pos;
    t.s = q->s + start;
    if (word_char((unsigned char)q->s[start])) {
        while (q->pos < q->len && word_char((unsigned char)q->s[q->pos]))
            q->pos++;
        t.kind = TOK_WORD;
    } else if (q->s[start] == '"' || q->s[start] == '`') {
        sql_skip_quoted(q, q->s[start]);
        t.kind = TOK_QUOTED;
    } else if (q->s[start] == '\'') {
        sql_skip_quoted(q, '\'');
        t.kind = TOK_STRING;
    } else {
        if (q->s[start] == '(')
            q->depth++;
        else if (q->s[start] == ')' && q->depth > 0)
            q->depth--;
        q->pos++;
        t.kind = TOK_PUNCT;
    }
    t.len = q->pos - start;
    return t;
}

static bool tok_is(tok_t t, const char *word)
{
    size_t n = strlen(word);
    return t.kind == TOK_WORD && t.len == n && strncasecmp(t.s, word, n) == 0;
}

static bool tok_punct(tok_t t, char c) { return t.kind == TOK_PUNCT && t.s[0] == c; }

/* Does the text contain this (upper-case) word, in any case? A quick test before tokenising. */
static bool contains_word(const char *s, size_t len, const char *word)
{
    size_t n = strlen(word);
    for (size_t i = 0; i + n <= len; i++) {
        if ((s[i] & ~0x20) == word[0] && strncasecmp(s + i, word, n) == 0)
            return true;
    }
    return false;
}

/* The SQL verb of a statement, upper-cased into verb (size >= CW_ACTION_MAX + 1): its first
 * keyword; for WITH, the verb of the main statement after the common table expressions;
 * SELECT ... INTO OUTFILE|DUMPFILE is EXPORT; TABLE t is SELECT. "" if there is none. */
static void sql_verb(const char *s, size_t len, bool mysql, char *verb)
{
    sql_t q = {s, len, 0, mysql, 0};
    tok_t t, prev = {TOK_END, NULL, 0};
    bool is_select;

    verb[0] = '\0';
    do {
        t = sql_next(&q);
    } while (tok_punct(t, '('));
    if (t.kind != TOK_WORD || t.len > CW_ACTION_MAX)
        return;
    if (tok_is(t, "WITH")) {
        /* the main statement's verb is the first of these at the outermost level */
        static const char *const main_verbs[] = {"SELECT", "INSERT", "UPDATE", "DELETE", "MERGE"};
        tok_t w;
        int depth0 = q.depth;
        while ((w = sql_next(&q)).kind != TOK_END) {
            if (q.depth != depth0 || w.kind != TOK_WORD)
                continue;
            for (size_t i = 0; i < sizeof main_verbs / sizeof *main_verbs; i++) {
                if (tok_is(w, main_verbs[i])) {
                    t = w;
                    goto found;
                }
            }
        }
    }
found:
    if (tok_is(t, "TABLE"))
        memcpy(verb, "SELECT", 7);
    else {
        for (size_t i = 0; i < t.len; i++)
            verb[i] = (char)toupper((unsigned char)t.s[i]);
        verb[t.len] = '\0';
    }
    is_select = strcmp(verb, "SELECT") == 0;
    if (!is_select || !(contains_word(s, len, "OUTFILE") || contains_word(s, len, "DUMPFILE")))
        return;
    /* SELECT ... INTO OUTFILE / DUMPFILE writes a file on the server: an export */
    q.pos = 0;
    q.depth = 0;
    while ((t = sql_next(&q)).kind != TOK_END) {
        if (tok_is(prev, "INTO") && (tok_is(t, "OUTFILE") || tok_is(t, "DUMPFILE"))) {
            memcpy(verb, "EXPORT", 7);
            return;
        }
        prev = t;
    }
}

/* Append identifier token t (unquoted) to out; false if it does not fit. */
static bool ident_append(tok_t t, char *out, size_t *olen, size_t max)
{
    const char *p = t.s;
    size_t n = t.len;
    if (t.kind == TOK_QUOTED) {
        char q = p[0];
        p++;
        n = n >= 2 ? n - 2 : 0;
        for (size_t i = 0; i < n; i++) {
            if (p[i] == q && i + 1 < n && p[i + 1] == q)
                i++; /* a doubled quote stands for one */
            if (*olen >= max)
                return false;
            out[(*olen)++] = p[i];
        }
        return true;
    }
    if (*olen + n > max)
        return false;
    memcpy(out + *olen, p, n);
    *olen += n;
    return true;
}

static bool is_modifier(tok_t t)
{
    static const char *const words[] = {"ONLY", "LATERAL", "IF", "NOT", "EXISTS", "TABLE",
                                        "LOW_PRIORITY", "HIGH_PRIORITY", "DELAYED", "IGNORE",
                                        "QUICK", "STRAIGHT_JOIN", "OUTER", "CROSS", "NATURAL"};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++) {
        if (tok_is(t, words[i]))
            return true;
    }
    return false;
}

/* sql_next, remembering for each open parenthesis whether it opened a subquery (bit d of
 * *subquery for depth d) rather than an expression such as EXTRACT(HOUR FROM x). */
static tok_t sql_next_marked(sql_t *q, uint64_t *subquery)
{
    tok_t t = sql_next(q);
    if (tok_punct(t, '(') && q->depth < 64) {
        size_t save = q->pos;
        int depth = q->depth;
        tok_t peek = sql_next(q);
        q->pos = save;
        q->depth = depth;
        if (tok_is(peek, "SELECT") || tok_is(peek, "WITH") || tok_is(peek, "TABLE"))
            *subquery |= 1ULL << q->depth;
        else
            *subquery &= ~(1ULL << q->depth);
    }
    return t;
}

/* The first table a statement names, as written ("schema.table" or "table"), into out (size
 * max + 1); returns its length, 0 when none is found. verb is from sql_verb. */
static size_t sql_first_table(const char *s, size_t len, bool mysql, const char *verb, char *out, size_t max)
{
    sql_t q = {s, len, 0, mysql, 0};
    const char *intro[4] = {"FROM", "JOIN", NULL, NULL};
    bool after_verb = false; /* the table follows the verb itself (UPDATE t, COPY t) */
    uint64_t subquery = 0;   /* bit d: the parenthesis at depth d opened a subquery */
    tok_t t;

    if (!strcmp(verb, "INSERT") || !strcmp(verb, "REPLACE")) {
        intro[0] = "INTO";
        intro[1] = NULL;
    } else if (!strcmp(verb, "UPDATE") || !strcmp(verb, "COPY") || !strcmp(verb, "TRUNCATE")) {
        after_verb = true;
    } else if (!strcmp(verb, "CREATE") || !strcmp(verb, "ALTER") || !strcmp(verb, "DROP") ||
               !strcmp(verb, "LOCK") || !strcmp(verb, "ANALYZE") || !strcmp(verb, "OPTIMIZE")) {
        intro[0] = "TABLE";
        intro[1] = "VIEW";
        intro[2] = "TABLES";
    } else if (!strcmp(verb, "LOAD")) {
        intro[0] = "TABLE";
        intro[1] = NULL;
    } else if (!strcmp(verb, "SELECT") && (t = sql_next(&q), tok_is(t, "TABLE"))) {
        after_verb = true; /* TABLE t */
    }
    q.pos = 0;
    q.depth = 0;
    for (;;) {
        bool at_intro = false;
        t = sql_next_marked(&q, &subquery);
        if (t.kind == TOK_END)
            return 0;
        if (after_verb) {
            while (tok_punct(t, '('))
                t = sql_next_marked(&q, &subquery); /* ( SELECT ... ) */
            at_intro = t.kind == TOK_WORD; /* the verb */
            after_verb = false;
            if (!at_intro)
                continue;
            /* COPY (SELECT ... FROM t): read on and take the FROM */
            if (tok_is(t, "SELECT") || tok_is(t, "WITH") || tok_is(t, "TABLE")) {
                intro[0] = "FROM";
                intro[1] = "JOIN";
                intro[2] = NULL;
                if (!tok_is(t, "TABLE"))
                    continue;
            }
        } else if (q.depth < 64) {
            /* only at the statement's own level or inside subqueries */
            uint64_t levels = (q.depth == 0) ? 0 : ((1ULL << q.depth) - 1) << 1;
            for (int i = 0; i < 4 && intro[i]; i++)
                at_intro |= tok_is(t, intro[i]);
            at_intro &= (subquery & levels) == levels;
        }
        if (!at_intro)
            continue;
        t = sql_next_marked(&q, &subquery);
        while (is_modifier(t))
            t = sql_next_marked(&q, &subquery);
        if (t.kind == TOK_WORD || t.kind == TOK_QUOTED) {
            size_t olen = 0;
            if (!ident_append(t, out, &olen, max))
                return 0;
            for (;;) {
                size_t save = q.pos;
                int depth = q.depth;
                tok_t dot = sql_next(&q), part = {TOK_END, NULL, 0};
                if (tok_punct(dot, '.'))
                    part = sql_next(&q);
                if (part.kind != TOK_WORD && part.kind != TOK_QUOTED) {
                    q.pos = save;
                    q.depth = depth;
                    break;
                }
                if (olen >= max)
                    return 0;
                out[olen++] = '.';
                if (!ident_append(part, out, &olen, max))
                    return 0;
            }
            out[olen] = '\0';
            return olen;
        }
        /* "(" opens a subquery: its FROM comes later */
    }
}

/* Set action (from verb, or fallback when the statement has none) and object (first table,
 * qualified with db when the name has no schema and qualify is set). */
static cw_decode_result_t set_from_sql(cw_event_t *ev, span_t stmt, bool mysql, span_t db, bool qualify,
                                       const char *fallback_action, bool want_object)
{
    char verb[CW_ACTION_MAX + 1];
    char table[CW_OBJECT_MAX + 1];
    size_t tlen;

    sql_verb(stmt.s, stmt.len, mysql, verb);
    CW_DECODE_TRY(set_text(ev, CW_F_ACTION, verb[0] ? verb : fallback_action));
    if (!want_object || !verb[0])
        return CW_DECODE_OK;
    tlen = sql_first_table(stmt.s, stmt.len, mysql, verb, table, CW_OBJECT_MAX);
    if (tlen == 0)
        return CW_DECODE_OK;
    if (qualify && db.len > 0 && !memchr(table, '.', tlen)) {
        char full[CW_OBJECT_MAX + 1];
        int n = snprintf(full, sizeof full, "%.*s.%s", (int)db.len, db.s, table);
        if (n > 0 && (size_t)n <= CW_OBJECT_MAX)
            return set_derived(ev, CW_F_OBJECT, full, (size_t)n);
        return CW_DECODE_OK;
    }
    return set_derived(ev, CW_F_OBJECT, table, tlen);
}

void cw_native_sql_verb(const char *s, size_t len, char verb[CW_ACTION_MAX + 1]) { sql_verb(s, len, false, verb); }

cw_decode_result_t cw_native_sql_object(cw_event_t *ev, const char *s, size_t len)
{
    char verb[CW_ACTION_MAX + 1];
    char table[CW_OBJECT_MAX + 1];
    sql_verb(s, len, false, verb);
    if (!verb[0])
        return CW_DECODE_OK;
    return set_derived(ev, CW_F_OBJECT, table, sql_first_table(s, len, false, verb, table, CW_OBJECT_MAX));
}

/* ---- pgaudit: log_line_prefix ---- */

typedef enum {
    PX_LITERAL,
    PX_TIME,     /* %t %s: 2026-03-04 02:10:49 UTC */
    PX_TIME_MS,  /* %m: 2026-03-04 02:10:49.123 UTC */
    PX_EPOCH,    /* %n: 1772590249.123 */
    PX_NUMBER,   /* %p %l %x %P %Q: [-]digits (may be empty for %P) */
    PX_SESSION,  /* %c: hex.hex */
    PX_VXID,     /* %v: digits/digits */
    PX_SQLSTATE, /* %e: 5 characters */
    PX_TEXT,     /* %u %d %a %h %r %b %i: up to the next literal */
    PX_NOTHING   /* %q */
} px_kind_t;

#define PX_ITEMS_MAX 64

typedef struct {
    px_kind_t kind;
    char letter;
    bool padded;
    const char *lit; /* PX_LITERAL */
    size_t litlen;
} px_item_t;

struct cw_pg_prefix {
    px_item_t items[PX_ITEMS_MAX];
    int n;
};

static px_kind_t escape_kind(char c)
{
    switch (c) {
    case 't':
    case 's': return PX_TIME;
    case 'm': return PX_TIME_MS;
    case 'n': return PX_EPOCH;
    case 'p':
    case 'l':
    case 'x':
    case 'P':
    case 'Q': return PX_NUMBER;
    case 'c': return PX_SESSION;
    case 'v': return PX_VXID;
    case 'e': return PX_SQLSTATE;
    case 'u':
    case 'd':
    case 'a':
    case 'h':
    case 'r':
    case 'b':
    case 'i': return PX_TEXT;
    case 'q': return PX_NOTHING;
    default: return PX_LITERAL; /* unknown */
    }
}

cw_status_t cw_pg_prefix_compile(apr_pool_t *pool, const char *prefix, cw_pg_prefix_t **out, char *err,
                                 size_t errlen)
{
    cw_pg_prefix_t *px = apr_pcalloc(pool, sizeof *px);
    char *lit = apr_palloc(pool, strlen(prefix) + 1); /* literal text, '%%' unescaped */
    size_t litlen = 0;
    bool has_user = false, has_time = false;
    const char *p = prefix;

#define PX_FAIL(...)                                                                               \
    do {                                                                                           \
        snprintf(err, errlen, __VA_ARGS__);                                                        \
        return CW_ERR_USAGE;                                                                       \
    } while (0)

    while (*p) {
        px_item_t *it;
        if (px->n >= PX_ITEMS_MAX - 1)
            PX_FAIL("--pg-log-prefix: more than %d items", PX_ITEMS_MAX - 1);
        if (*p != '%' || p[1] == '%') {
            /* literal text up to the next escape */
            const char *start = lit + litlen;
            while (*p && !(*p == '%' && p[1] != '%')) {
                lit[litlen++] = *p;
                p += *p == '%' ? 2 : 1;
            }
            it = &px->items[px->n++];
            it->kind = PX_LITERAL;
            it->lit = start;
            it->litlen = (size_t)(lit + litlen - start);
            continue;
        }
        p++;
        it = &px->items[px->n];
        if (*p == '-' || isdigit((unsigned char)*p)) {
            it->padded = true;
            if (*p == '-')
                p++;
            while (isdigit((unsigned char)*p))
                p++;
        }
        if (!*p)
            PX_FAIL("--pg-log-prefix: '%%' at the end");
        it->letter = *p;
        it->kind = escape_kind(*p);
        if (it->kind == PX_LITERAL)
            PX_FAIL("--pg-log-prefix: unknown escape '%%%c' (PostgreSQL's log_line_prefix escapes: "
                    "%%t %%m %%n %%p %%u %%d %%a %%h %%r %%c %%l %%s %%v %%x %%e %%b %%i %%P %%Q %%q %%%%)",
                    *p);
        p++;
        if (it->kind == PX_NOTHING)
            continue; /* %q: audit records come from sessions, which print the rest */
        has_user |= it->letter == 'u';
        has_time |= it->letter == 't' || it->letter == 'm' || it->letter == 'n';
        px->n++;
    }
    for (int i = 0; i < px->n; i++) {
        if (px->items[i].kind == PX_TEXT && (i + 1 == px->n || px->items[i + 1].kind != PX_LITERAL))
            PX_FAIL("--pg-log-prefix: '%%%c' must be followed by some text (like a space or a comma), "
                    "where its value ends", px->items[i].letter);
    }
    if (!has_user)
        PX_FAIL("--pg-log-prefix: no %%u: pgaudit records would have no user (principal)");
    if (!has_time)
        PX_FAIL("--pg-log-prefix: no %%m, %%t or %%n: pgaudit records would have no time");
#undef PX_FAIL
    *out = px;
    return CW_OK;
}

static size_t scan_digits(const char *s, size_t i, size_t len)
{
    while (i < len && isdigit((unsigned char)s[i]))
        i++;
    return i;
}

static bool zone_char(char c) { return isalnum((unsigned char)c) || c == '+' || c == '-' || c == ':'; }

/* Scan "YYYY-MM-DD HH:MM:SS[.fff] ZONE" at i; returns the end, or 0 if it is not one. */
static size_t scan_time(const char *s, size_t i, size_t len, bool frac)
{
    static const char shape[] = "dddd-dd-dd dd:dd:dd";
    for (size_t k = 0; k < sizeof shape - 1; k++, i++) {
        if (i >= len || (shape[k] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[k]))
            return 0;
    }
    if (frac) {
        if (i >= len || s[i] != '.')
            return 0;
        size_t e = scan_digits(s, i + 1, len);
        if (e == i + 1)
            return 0;
        i = e;
    }
    if (i >= len || s[i] != ' ')
        return 0;
    i++;
    size_t z = i;
    while (i < len && zone_char(s[i]))
        i++;
    return i > z ? i : 0;
}

/* The value of every escape of one line, by letter. */
typedef struct {
    span_t v[128];
    size_t message; /* where the message (after the prefix) starts */
} px_values_t;

/* Match the prefix at the start of line. */
static bool px_match(const cw_pg_prefix_t *px, const char *s, size_t len, px_values_t *out)
{
    size_t i = 0;
    memset(out, 0, sizeof *out);
    for (int k = 0; k < px->n; k++) {
        const px_item_t *it = &px->items[k];
        size_t start, end;
        if (it->kind == PX_LITERAL) {
            if (len - i < it->litlen || memcmp(s + i, it->lit, it->litlen) != 0)
                return false;
            i += it->litlen;
            continue;
        }
        if (it->padded)
            while (i < len && s[i] == ' ')
                i++;
        start = i;
        switch (it->kind) {
        case PX_TIME:
        case PX_TIME_MS:
            end = scan_time(s, i, len, it->kind == PX_TIME_MS);
            if (!end)
                return false;
            break;
        case PX_EPOCH:
            end = scan_digits(s, i, len);
            if (end == i || end >= len || s[end] != '.')
                return false;
            end = scan_digits(s, end + 1, len);
            break;
        case PX_NUMBER:
            end = i < len && s[i] == '-' ? i + 1 : i;
            end = scan_digits(s, end, len);
            break;
        case PX_SESSION:
            end = i;
            while (end < len && (isxdigit((unsigned char)s[end]) || s[end] == '.'))
                end++;
            break;
        case PX_VXID:
            end = i;
            while (end < len && (isdigit((unsigned char)s[end]) || s[end] == '/' || s[end] == '-'))
                end++;
            break;
        case PX_SQLSTATE:
            end = i;
            while (end < len && end < i + 5 && isalnum((unsigned char)s[end]))
                end++;
            break;
        default: { /* PX_TEXT: up to the next literal (compile made sure there is one) */
            const px_item_t *next = &px->items[k + 1];
            const char *hit = memmem(s + i, len - i, next->lit, next->litlen);
            if (!hit)
                return false;
            end = (size_t)(hit - s);
            break;
        }
        }
        i = end;
        if (it->padded) {
            /* the value's own padding; the literal after it keeps its spaces */
            const px_item_t *next = k + 1 < px->n ? &px->items[k + 1] : NULL;
            while (end > start && s[end - 1] == ' ')
                end--;
            if (next && next->kind == PX_LITERAL && next->lit[0] == ' ') {
                while (i < len && s[i] == ' ' && len - i - 1 >= next->litlen &&
                       memcmp(s + i + 1, next->lit, next->litlen) == 0)
                    i++;
            } else {
                while (i < len && s[i] == ' ')
                    i++;
            }
        }
        out->v[(unsigned char)it->letter] = span(s + start, end - start);
    }
    out->message = i;
    return true;
}

/* Offset in minutes of a zone PostgreSQL prints (%Z): UTC, GMT, or a numeric one (+03, -0330,
 * +05:30). Names like CET or EST are ambiguous and refused: run with log_timezone = 'UTC'. */
static bool zone_offset(span_t z, int *minutes)
{
    int h, m = 0;
    if (span_is(z, "UTC") || span_is(z, "GMT") || span_is(z, "UCT") || span_is(z, "Z")) {
        *minutes = 0;
        return true;
    }
    if (z.len < 3 || (z.s[0] != '+' && z.s[0] != '-') || !isdigit((unsigned char)z.s[1]) ||
        !isdigit((unsigned char)z.s[2]))
        return false;
    h = (z.s[1] - '0') * 10 + (z.s[2] - '0');
    if (z.len == 5 || z.len == 6) {
        size_t k = z.len == 6 ? 4 : 3;
        if ((z.len == 6 && z.s[3] != ':') || !isdigit((unsigned char)z.s[k]) || !isdigit((unsigned char)z.s[k + 1]))
            return false;
        m = (z.s[k] - '0') * 10 + (z.s[k + 1] - '0');
    } else if (z.len != 3) {
        return false;
    }
    if (h > 15 || m > 59)
        return false;
    *minutes = (z.s[0] == '-' ? -1 : 1) * (h * 60 + m);
    return true;
}

static cw_decode_result_t set_pg_time(cw_event_t *ev, const px_values_t *pv)
{
    span_t t = pv->v['m'].len ? pv->v['m'] : pv->v['t'];
    if (t.len) {
        const char *sp = memchr(t.s + 11, ' ', t.len - 11); /* the space before the zone */
        int offset;
        if (!sp || !zone_offset(span(sp + 1, (size_t)(t.s + t.len - sp - 1)), &offset))
            return cw_decode_result(CW_DEC_BAD_TIME, CW_F_TS);
        return set_local_time(ev, t.s, (size_t)(sp - t.s), offset);
    }
    t = pv->v['n'];
    if (t.len) { /* seconds.milliseconds since the epoch */
        const char *dot = memchr(t.s, '.', t.len);
        char ms[32];
        size_t frac = dot ? (size_t)(t.s + t.len - dot - 1) : 0;
        if (!dot || dot == t.s || (size_t)(dot - t.s) > 12 || frac > 9)
            return cw_decode_result(CW_DEC_BAD_TIME, CW_F_TS);
        int n = snprintf(ms, sizeof ms, "%.*s%.*s%.*s", (int)(dot - t.s), t.s, (int)(frac < 3 ? frac : 3),
                         dot + 1, (int)(frac < 3 ? 3 - frac : 0), "000");
        return cw_decode_set_field(ev, CW_F_TS, ms, (size_t)n);
    }
    return cw_decode_result(CW_DEC_MISSING_FIELD, CW_F_TS);
}

/* ---- decoder state ---- */

#define SEEN_SLOTS 1024 /* sessions whose last pgaudit statement id is remembered */

typedef struct {
    uint64_t session; /* hash of the session key; 0 = empty */
    int64_t statement, substatement;
} seen_t;

struct cw_native {
    cw_audit_format_t fmt;
    const cw_pg_prefix_t *prefix;
    const cw_tz_t *tz; /* mariadb: the zone of its local times; NULL: UTC */
    char *scratch; /* CW_RECORD_MAX + 1: fields after unquoting or unescaping */
    seen_t seen[SEEN_SLOTS];
};

static apr_status_t native_cleanup(void *data)
{
    free(((cw_native_t *)data)->scratch);
    return APR_SUCCESS;
}

void cw_native_set_tz(cw_native_t *n, const cw_tz_t *tz) { n->tz = tz; }

cw_status_t cw_native_create(apr_pool_t *pool, cw_audit_format_t fmt, const cw_pg_prefix_t *prefix,
                             cw_native_t **out)
{
    cw_native_t *n = apr_pcalloc(pool, sizeof *n);
    cw_pg_prefix_t *fallback;
    char err[256];
    if (fmt <= CW_AUDIT_CANONICAL || fmt >= CW_AUDIT_FORMAT_COUNT || cw_audit_csv_dialect(fmt))
        return CW_ERR_USAGE;
    if (fmt == CW_AUDIT_PGAUDIT && !prefix) {
        if (cw_pg_prefix_compile(pool, CW_PG_DEFAULT_PREFIX, &fallback, err, sizeof err) != CW_OK)
            return CW_ERR;
        prefix = fallback;
    }
    n->fmt = fmt;
    n->prefix = prefix;
    n->scratch = malloc(CW_RECORD_MAX + 1);
    if (!n->scratch)
        return CW_ERR_NOMEM;
    apr_pool_cleanup_register(pool, n, native_cleanup, apr_pool_cleanup_null);
    *out = n;
    return CW_OK;
}

/* ---- pgaudit ---- */

#define PG_FIELDS_MAX 10

/* Split the CSV after "AUDIT: " into fields (unquoted into scratch). Continuation lines of the
 * log ("\n\t") are the message's newlines ("\n"). Returns the field count, or -1 on bad CSV. */
static int pg_csv(const char *s, size_t len, char *scratch, span_t *fields)
{
    size_t i = 0, o = 0;
    int n = 0;
    for (;;) {
        size_t start = o;
        if (n == PG_FIELDS_MAX)
            return PG_FIELDS_MAX + 1;
        if (i < len && s[i] == '"') {
            i++;
            for (;;) {
                if (i >= len)
                    return -1; /* unterminated quote */
                if (s[i] == '"') {
                    if (i + 1 < len && s[i + 1] == '"') {
                        scratch[o++] = '"';
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                scratch[o++] = s[i];
                if (s[i] == '\n' && i + 1 < len && s[i + 1] == '\t')
                    i++;
                i++;
            }
            if (i < len && s[i] != ',')
                return -1; /* text after the closing quote */
        } else {
            while (i < len && s[i] != ',') {
                if (s[i] == '"')
                    return -1;
                scratch[o++] = s[i];
                if (s[i] == '\n' && i + 1 < len && s[i + 1] == '\t')
                    i++;
                i++;
            }
        }
        fields[n++] = span(scratch + start, o - start);
        if (i >= len)
            return n;
        i++; /* the comma */
    }
}

static bool parse_int(span_t v, int64_t *out)
{
    int64_t x = 0;
    if (!all_digits(v.s, v.len) || v.len > 18)
        return false;
    for (size_t i = 0; i < v.len; i++)
        x = x * 10 + (v.s[i] - '0');
    *out = x;
    return true;
}

/* Is this (session, statement, substatement) the one the session logged last? pgaudit writes one
 * line per relation (log_relation) with the same ids and the statement's rows on each. */
static bool pg_repeated(cw_native_t *n, const px_values_t *pv, span_t stmt_id, span_t sub_id)
{
    static const char keys[] = "cpuhad"; /* %c, else %p, else who and where */
    uint64_t h = 1469598103934665603ULL;
    int64_t st, sub;
    seen_t *slot;
    if (!parse_int(stmt_id, &st) || !parse_int(sub_id, &sub))
        return false;
    for (const char *k = keys; *k; k++) {
        span_t v = pv->v[(unsigned char)*k];
        h = cw_hash64(v.s ? v.s : "", v.len, h ^ (uint64_t)*k);
        if (*k == 'c' && v.len)
            break;
        if (*k == 'p' && v.len)
            break;
    }
    h |= 1; /* never 0, the empty slot */
    slot = &n->seen[h % SEEN_SLOTS];
    if (slot->session == h && slot->statement == st && slot->substatement == sub)
        return true;
    slot->session = h;
    slot->statement = st;
    slot->substatement = sub;
    return false;
}

static cw_decode_result_t decode_pgaudit(cw_native_t *n, const char *buf, size_t len, cw_event_t *ev,
                                         bool *is_record)
{
    static const char audit[] = "AUDIT: ";
    const char *nl = memchr(buf, '\n', len);
    size_t first = nl ? (size_t)(nl - buf) : len; /* the first physical line */
    px_values_t pv;
    size_t i;
    span_t f[PG_FIELDS_MAX + 1];
    int nf;
    char action[CW_ACTION_MAX + 1];
    span_t command, object, statement, host;

    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        len--;
    if (first > len)
        first = len;
    if (!px_match(n->prefix, buf, first, &pv)) {
        /* not this server's line layout: an error only if it carries an audit record */
        *is_record = memmem(buf, first, audit, sizeof audit - 1) != NULL;
        return *is_record ? cw_decode_result(CW_DEC_BAD_PREFIX, CW_F_NONE) : CW_DECODE_OK;
    }
    /* SEVERITY:  [SQLSTATE: ]AUDIT: */
    i = pv.message;
    while (i < first && (isupper((unsigned char)buf[i]) || isdigit((unsigned char)buf[i])))
        i++;
    if (i == pv.message || first - i < 3 || memcmp(buf + i, ":  ", 3) != 0) {
        *is_record = false;
        return CW_DECODE_OK;
    }
    i += 3;
    if (first - i >= 7 && buf[i + 5] == ':' && buf[i + 6] == ' ' && memcmp(buf + i, audit, 5) != 0)
        i += 7; /* log_error_verbosity = verbose: the SQLSTATE */
    if (first - i < sizeof audit - 1 || memcmp(buf + i, audit, sizeof audit - 1) != 0) {
        *is_record = false;
        return CW_DECODE_OK;
    }
    *is_record = true;
    i += sizeof audit - 1;

    cw_event_reset(ev, CW_STREAM_AUDIT);
    nf = pg_csv(buf + i, len - i, n->scratch, f);
    if (nf < 0)
        return cw_decode_result(CW_DEC_BAD_CSV, CW_F_NONE);
    /* AUDIT_TYPE,STATEMENT_ID,SUBSTATEMENT_ID,CLASS,COMMAND,OBJECT_TYPE,OBJECT_NAME,STATEMENT
     * [,PARAMETER[,ROWS]] */
    if (nf < 8 || nf > 10)
        return cw_decode_result(CW_DEC_CSV_COLUMNS, CW_F_NONE);

    CW_DECODE_TRY(set_pg_time(ev, &pv));
    CW_DECODE_TRY(set(ev, CW_F_PRINCIPAL, pv.v['u']));
    CW_DECODE_TRY(set(ev, CW_F_DB, pv.v['d']));
    CW_DECODE_TRY(set(ev, CW_F_CLIENT_APP, pv.v['a']));
    host = pv.v['h'];
    if (!host.len && pv.v['r'].len) { /* %r is host(port) */
        host = pv.v['r'];
        if (host.s[host.len - 1] == ')') {
            const char *paren = memchr(host.s, '(', host.len);
            if (paren)
                host.len = (size_t)(paren - host.s);
        }
    }
    CW_DECODE_TRY(set(ev, CW_F_CLIENT_HOST, host));
    CW_DECODE_TRY(set(ev, CW_F_SESSION_ID, pv.v['c'].len ? pv.v['c'] : pv.v['p']));

    /* action: the command's first word; COPY into a table (class WRITE) is a load, not a read */
    command = f[4];
    for (i = 0; i < command.len && command.s[i] != ' ' && i < CW_ACTION_MAX; i++)
        action[i] = command.s[i];
    action[i] = '\0';
    if (span_is(f[3], "WRITE") && strcasecmp(action, "COPY") == 0)
        strcpy(action, "INSERT");
    CW_DECODE_TRY(set_text(ev, CW_F_ACTION, action));

    statement = f[7];
    if (span_is(statement, "<not logged>"))
        statement.len = 0;
    CW_DECODE_TRY(set_statement(ev, statement));
    object = f[6];
    if (object.len) {
        CW_DECODE_TRY(set_derived(ev, CW_F_OBJECT, object.s, object.len));
    } else if (statement.len) {
        char verb[CW_ACTION_MAX + 1], table[CW_OBJECT_MAX + 1];
        size_t tlen;
        sql_verb(statement.s, statement.len, false, verb);
        tlen = sql_first_table(statement.s, statement.len, false, verb, table, CW_OBJECT_MAX);
        CW_DECODE_TRY(set_derived(ev, CW_F_OBJECT, table, tlen));
    }
    if (nf == 10 && !pg_repeated(n, &pv, f[1], f[2])) {
        int64_t rows;
        if (!parse_int(f[9], &rows))
            return cw_decode_result(CW_DEC_BAD_NUMBER, CW_F_ROWS);
        CW_DECODE_TRY(set(ev, CW_F_ROWS, f[9]));
    }
    return cw_decode_finish(ev);
}

/* ---- MariaDB server_audit ---- */

/* Undo the plugin's escaping of the query text ('...' with \' \\ \n \r \t \b \f) into out. */
static size_t maria_unescape(const char *s, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '\\' && i + 1 < len) {
            char e = s[++i];
            c = e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : e == 'b' ? '\b' : e == 'f' ? '\f' : e;
        }
        out[o++] = c;
    }
    return o;
}

static cw_decode_result_t maria_time(cw_event_t *ev, span_t t, const cw_tz_t *tz)
{
    char iso[32];
    int n;
    if (all_digits(t.s, t.len)) {
        /* epoch microseconds (Amazon RDS / Aurora) */
        if (t.len < 4 || t.len > 19)
            return cw_decode_result(CW_DEC_BAD_TIME, CW_F_TS);
        return cw_decode_set_field(ev, CW_F_TS, t.s, t.len - 3);
    }
    /* YYYYMMDD HH:MM:SS, the server's local time: in the zone of inputs.audit.tz (--audit-tz),
     * UTC by default (doc/formats.md §1.4) */
    if (t.len != 17 || !all_digits(t.s, 8) || t.s[8] != ' ')
        return cw_decode_result(CW_DEC_BAD_TIME, CW_F_TS);
    n = snprintf(iso, sizeof iso, "%.4s-%.2s-%.2sT%.8sZ", t.s, t.s + 4, t.s + 6, t.s + 9);
    CW_DECODE_TRY(cw_decode_set_field(ev, CW_F_TS, iso, (size_t)n));
    if (tz) { /* the time read as UTC is the local time: moved by the zone's offset then */
        char ms[32];
        n = snprintf(ms, sizeof ms, "%lld", (long long)cw_tz_to_utc(tz, ev->u.audit.ts));
        return cw_decode_set_field(ev, CW_F_TS, ms, (size_t)n);
    }
    return CW_DECODE_OK;
}

static cw_decode_result_t decode_mariadb(cw_native_t *n, const char *buf, size_t len, cw_event_t *ev)
{
    span_t f[8], object, retcode, host;
    size_t i = 0;
    const char *rest, *end;

    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        len--;
    cw_event_reset(ev, CW_STREAM_AUDIT);
    /* timestamp,serverhost,username,host,connectionid,queryid,operation,database, then object
     * (free text for QUERY, quoted and escaped) and retcode */
    for (int k = 0; k < 8; k++) {
        const char *comma = memchr(buf + i, ',', len - i);
        if (!comma)
            return cw_decode_result(CW_DEC_CSV_COLUMNS, CW_F_NONE);
        f[k] = span(buf + i, (size_t)(comma - (buf + i)));
        i = (size_t)(comma - buf) + 1;
    }
    rest = buf + i;
    end = buf + len;
    if (rest < end && *rest == '\'') {
        /* quoted query text: find the closing quote, skipping escapes */
        const char *p = rest + 1;
        while (p < end && *p != '\'')
            p += *p == '\\' ? 2 : 1;
        if (p >= end || p + 1 >= end || p[1] != ',')
            return cw_decode_result(CW_DEC_BAD_CSV, CW_F_NONE);
        object = span(rest + 1, (size_t)(p - rest - 1));
        retcode = span(p + 2, (size_t)(end - p - 2));
    } else {
        const char *comma = memchr(rest, ',', (size_t)(end - rest));
        if (!comma)
            return cw_decode_result(CW_DEC_CSV_COLUMNS, CW_F_NONE);
        if (rest == comma) { /* connection events: ,retcode[,connection type] */
            object = span(rest, 0);
            retcode = span(comma + 1, (size_t)(end - comma - 1));
            const char *more = memchr(retcode.s, ',', retcode.len);
            if (more)
                retcode.len = (size_t)(more - retcode.s);
        } else { /* a table name, or name=value for AUDIT_CONFIG: retcode after the last comma */
            const char *last = end;
            while (last > rest && last[-1] != ',')
                last--;
            object = span(rest, (size_t)(last - 1 - rest));
            retcode = span(last, (size_t)(end - last));
        }
    }
    if (retcode.len && !all_digits(retcode.s, retcode.len) &&
        !(retcode.s[0] == '-' && all_digits(retcode.s + 1, retcode.len - 1)))
        return cw_decode_result(CW_DEC_BAD_VALUE, CW_F_STATUS);

    CW_DECODE_TRY(maria_time(ev, f[0], n->tz));
    CW_DECODE_TRY(set(ev, CW_F_PRINCIPAL, f[2]));
    host = f[3];
    { /* MariaDB 12 writes host:port; an IPv6 address has more than one colon */
        const char *colon = memchr(host.s, ':', host.len);
        if (colon && !memchr(colon + 1, ':', (size_t)(host.s + host.len - colon - 1)) &&
            all_digits(colon + 1, (size_t)(host.s + host.len - colon - 1)))
            host.len = (size_t)(colon - host.s);
    }
    CW_DECODE_TRY(set(ev, CW_F_CLIENT_HOST, host));
    CW_DECODE_TRY(set(ev, CW_F_SESSION_ID, f[4]));
    CW_DECODE_TRY(set(ev, CW_F_DB, f[7]));
    if (retcode.len && !span_is(retcode, "0"))
        CW_DECODE_TRY(set_failed(ev));

    if (span_is(f[6], "QUERY")) {
        span_t stmt = span(n->scratch, maria_unescape(object.s, object.len, n->scratch));
        CW_DECODE_TRY(set_statement(ev, stmt));
        CW_DECODE_TRY(set_from_sql(ev, stmt, true, f[7], true, "QUERY", true));
    } else if (span_is(f[6], "CONNECT") || span_is(f[6], "CHANGEUSER")) {
        CW_DECODE_TRY(set_text(ev, CW_F_ACTION, "LOGIN"));
    } else if (span_is(f[6], "FAILED_CONNECT")) {
        CW_DECODE_TRY(set_text(ev, CW_F_ACTION, "LOGIN"));
        CW_DECODE_TRY(set_failed(ev));
    } else if (span_is(f[6], "DISCONNECT")) {
        CW_DECODE_TRY(set_text(ev, CW_F_ACTION, "LOGOUT"));
    } else if (span_is(f[6], "AUDIT_CONFIG")) {
        CW_DECODE_TRY(set(ev, CW_F_ACTION, f[6]));
        CW_DECODE_TRY(set_statement(ev, object));
    } else {
        /* TABLE events (READ, WRITE, CREATE, ALTER, RENAME, DROP): database and table; RENAME
         * writes old|newdb.new */
        const char *bar = memchr(object.s, '|', object.len);
        char full[CW_OBJECT_MAX + 1];
        size_t tlen = bar ? (size_t)(bar - object.s) : object.len;
        int k;
        CW_DECODE_TRY(set(ev, CW_F_ACTION, f[6]));
        if (tlen) {
            k = f[7].len ? snprintf(full, sizeof full, "%.*s.%.*s", (int)f[7].len, f[7].s, (int)tlen, object.s)
                         : snprintf(full, sizeof full, "%.*s", (int)tlen, object.s);
            if (k > 0 && (size_t)k < sizeof full)
                CW_DECODE_TRY(set_derived(ev, CW_F_OBJECT, full, (size_t)k));
        }
    }
    return cw_decode_finish(ev);
}

/* ---- MySQL Enterprise / Percona JSON ---- */

/* The strings of a record read in place, unescaped one after the other into the decoder's
 * scratch (distinct members lie apart in the text, so they never need more than its length). */
typedef struct {
    char *buf;
    size_t used;
} jscratch_t;

/* A value of the record: a node of cJSON's tree, or a value scanned in place (json_scan.h).
 * Absent: a member the object does not have. */
typedef struct {
    const cJSON *tree;   /* the tree's node; NULL for a scanned value */
    cw_json_value_t v;   /* the scanned value */
    jscratch_t *scratch; /* where a scanned value's strings are unescaped; NULL in the tree */
    bool present;
} jnode_t;

static cw_json_type_t jtype(const jnode_t *x)
{
    const cJSON *t = x->tree;
    if (!x->scratch) {
        return cJSON_IsNull(t)     ? CW_JSON_NULL
               : cJSON_IsFalse(t)  ? CW_JSON_FALSE
               : cJSON_IsTrue(t)   ? CW_JSON_TRUE
               : cJSON_IsNumber(t) ? CW_JSON_NUMBER
               : cJSON_IsString(t) ? CW_JSON_STRING
               : cJSON_IsArray(t)  ? CW_JSON_ARRAY
                                   : CW_JSON_OBJECT;
    }
    return x->v.type;
}

/* A scanned string's text as cJSON would hold it (escapes undone, cut at a NUL). */
static span_t jtext(jscratch_t *js, const char *s, size_t len, bool escaped)
{
    if (!escaped)
        return span(s, len);
    return span(js->buf + js->used, cw_json_unescape(s, len, js->buf + js->used));
}

/* The first member of object o named key (compared as cJSON_GetObjectItemCaseSensitive does). */
static jnode_t jget(const jnode_t *o, const char *key)
{
    jnode_t m = {NULL, {0}, o->scratch, false};
    size_t pos = 0, klen = strlen(key);
    if (!o->present)
        return m;
    if (!o->scratch) {
        m.tree = cJSON_GetObjectItemCaseSensitive(o->tree, key);
        m.present = m.tree != NULL;
        return m;
    }
    while (cw_json_next(&o->v, &pos, &m.v)) {
        span_t k = jtext(o->scratch, m.v.key, m.v.key_len, m.v.key_escaped); /* scratch not kept */
        if (k.len == klen && memcmp(k.s, key, klen) == 0) {
            m.present = true;
            return m;
        }
    }
    return m;
}

static jnode_t jobj(const jnode_t *o, const char *key)
{
    jnode_t m = jget(o, key);
    m.present = m.present && jtype(&m) == CW_JSON_OBJECT;
    return m;
}

/* A string member's text; "" when absent or another type. */
static span_t jstr(const jnode_t *o, const char *key)
{
    jnode_t m = jget(o, key);
    span_t t;
    if (!m.present || jtype(&m) != CW_JSON_STRING)
        return span("", 0);
    if (!m.scratch)
        return span(m.tree->valuestring, strlen(m.tree->valuestring));
    t = jtext(m.scratch, m.v.val, m.v.val_len, m.v.val_escaped);
    if (m.v.val_escaped)
        m.scratch->used += t.len + 1; /* kept until the record is decoded */
    return t;
}

/* A number member's value in *d; false when absent or another type. */
static bool jnum(const jnode_t *o, const char *key, double *d)
{
    jnode_t m = jget(o, key);
    if (!m.present || jtype(&m) != CW_JSON_NUMBER)
        return false;
    *d = m.scratch ? m.v.number : m.tree->valuedouble;
    return true;
}

/* An integer member as text into buf ("" when absent); false when present but not an integer >= 0. */
static bool jint(const jnode_t *o, const char *key, char *buf, size_t buflen, span_t *out)
{
    jnode_t m = jget(o, key);
    double d;
    *out = span("", 0);
    if (!m.present || jtype(&m) == CW_JSON_NULL)
        return true;
    if (jtype(&m) == CW_JSON_STRING) {
        *out = jstr(o, key);
        return true;
    }
    if (!jnum(o, key, &d) || !(d >= 0) || d > 9007199254740992.0 || floor(d) != d)
        return false;
    *out = span(buf, (size_t)snprintf(buf, buflen, "%lld", (long long)d));
    return true;
}

/* "root[root] @ localhost [127.0.0.1]" (older Percona) or "root": the user name. */
static span_t mysql_user(span_t u)
{
    const char *br = memchr(u.s, '[', u.len);
    if (br)
        u.len = (size_t)(br - u.s);
    while (u.len && u.s[u.len - 1] == ' ')
        u.len--;
    return u;
}

static cw_decode_result_t mysql_time(cw_event_t *ev, const jnode_t *root)
{
    span_t t = jstr(root, "timestamp");
    double unix_time;
    if (t.len == 19 && t.s[10] == ' ')
        return set_local_time(ev, t.s, t.len, 0); /* YYYY-MM-DD hh:mm:ss, UTC */
    if (t.len)
        return cw_decode_set_field(ev, CW_F_TS, t.s, t.len);
    if (jnum(root, "time", &unix_time) && unix_time >= 0 && unix_time < 253402300800.0) {
        char ms[32];
        int n = snprintf(ms, sizeof ms, "%lld", (long long)(unix_time * 1000.0));
        return cw_decode_set_field(ev, CW_F_TS, ms, (size_t)n);
    }
    return cw_decode_result(CW_DEC_MISSING_FIELD, CW_F_TS);
}

static cw_decode_result_t mysql_event(const jnode_t *root, cw_event_t *ev, bool *is_record)
{
    span_t cls = jstr(root, "class"), event = jstr(root, "event");
    jnode_t account = jobj(root, "account"), login = jobj(root, "login");
    jnode_t gd = jobj(root, "general_data"), ta = jobj(root, "table_access_data");
    jnode_t cd = jobj(root, "connection_data"), qs = jobj(root, "query_statistics");
    double status;
    span_t user, host, num;
    char numbuf[32];
    uint8_t damage;

    /* statements (general/status), table accesses and connections; the rest (audit, command,
     * query, message, general/log before execution...) are not records */
    *is_record = (span_is(cls, "general") && span_is(event, "status")) || span_is(cls, "table_access") ||
                 span_is(cls, "connection");
    if (!*is_record)
        return CW_DECODE_OK;
    damage = ev->damage; /* what cw_decode_json_object repaired before parsing */
    cw_event_reset(ev, CW_STREAM_AUDIT);
    ev->damage = damage;
    CW_DECODE_TRY(mysql_time(ev, root));
    user = mysql_user(jstr(&account, "user"));
    if (!user.len)
        user = mysql_user(jstr(&login, "user"));
    CW_DECODE_TRY(set(ev, CW_F_PRINCIPAL, user));
    host = jstr(&login, "ip");
    if (!host.len) {
        /* account.host is the account's host pattern: a client only when it has no wildcard */
        host = jstr(&account, "host");
        if (memchr(host.s, '%', host.len) || memchr(host.s, '_', host.len))
            host.len = 0;
    }
    CW_DECODE_TRY(set(ev, CW_F_CLIENT_HOST, host));
    if (!jint(root, "connection_id", numbuf, sizeof numbuf, &num))
        return cw_decode_result(CW_DEC_BAD_VALUE, CW_F_SESSION_ID);
    CW_DECODE_TRY(set(ev, CW_F_SESSION_ID, num));

    if (span_is(cls, "general")) {
        span_t query = jstr(&gd, "query"), cmd = jstr(&gd, "sql_command");
        char fallback[CW_ACTION_MAX + 1];
        size_t k;
        /* without a query: the sql_command's first word (create_table: CREATE), or the command */
        if (!cmd.len)
            cmd = jstr(&gd, "command");
        for (k = 0; k < cmd.len && k < CW_ACTION_MAX && cmd.s[k] != '_' && cmd.s[k] != ' '; k++)
            fallback[k] = (char)toupper((unsigned char)cmd.s[k]);
        fallback[k] = '\0';
        CW_DECODE_TRY(set_statement(ev, query));
        CW_DECODE_TRY(set_from_sql(ev, query, true, span("", 0), false, fallback, true));
        if (jnum(&gd, "status", &status) && status != 0)
            CW_DECODE_TRY(set_failed(ev));
        if (!jint(&qs, "rows_sent", numbuf, sizeof numbuf, &num))
            return cw_decode_result(CW_DEC_BAD_NUMBER, CW_F_ROWS);
        CW_DECODE_TRY(set(ev, CW_F_ROWS, num));
        if (!jint(&qs, "bytes_sent", numbuf, sizeof numbuf, &num))
            return cw_decode_result(CW_DEC_BAD_NUMBER, CW_F_BYTES);
        CW_DECODE_TRY(set(ev, CW_F_BYTES, num));
    } else if (span_is(cls, "table_access")) {
        /* read, insert, update, delete on one table */
        span_t db = jstr(&ta, "db"), table = jstr(&ta, "table");
        char up[CW_ACTION_MAX + 1], full[CW_OBJECT_MAX + 1];
        size_t k;
        int len;
        for (k = 0; k < event.len && k < CW_ACTION_MAX; k++)
            up[k] = (char)toupper((unsigned char)event.s[k]);
        up[k] = '\0';
        CW_DECODE_TRY(set_text(ev, CW_F_ACTION, up));
        CW_DECODE_TRY(set(ev, CW_F_DB, db));
        CW_DECODE_TRY(set_statement(ev, jstr(&ta, "query")));
        if (table.len) {
            len = db.len ? snprintf(full, sizeof full, "%.*s.%.*s", (int)db.len, db.s, (int)table.len, table.s)
                         : snprintf(full, sizeof full, "%.*s", (int)table.len, table.s);
            if (len > 0 && (size_t)len < sizeof full)
                CW_DECODE_TRY(set_derived(ev, CW_F_OBJECT, full, (size_t)len));
        }
    } else { /* connection: connect, change_user, disconnect */
        jnode_t attrs = jobj(&cd, "connection_attributes");
        span_t app = jstr(&attrs, "program_name");
        if (!app.len)
            app = jstr(&attrs, "_client_name");
        CW_DECODE_TRY(set_text(ev, CW_F_ACTION, span_is(event, "disconnect") ? "LOGOUT" : "LOGIN"));
        CW_DECODE_TRY(set(ev, CW_F_DB, jstr(&cd, "db")));
        CW_DECODE_TRY(set(ev, CW_F_CLIENT_APP, app));
        if (jnum(&cd, "status", &status) && status != 0)
            CW_DECODE_TRY(set_failed(ev));
    }
    return cw_decode_finish(ev);
}

static cw_decode_result_t mysql_object(cw_event_t *ev, const struct cJSON *root, void *ctx)
{
    jnode_t top = {root, {0}, NULL, true};
    return mysql_event(&top, ev, ctx);
}

typedef struct {
    bool *is_record;
    char *scratch; /* CW_RECORD_MAX + 1 */
} mysql_scan_t;

/* The record in place; the tree when its strings might not fit the scratch (text repaired to
 * more than CW_RECORD_MAX). */
static bool mysql_scanned(cw_event_t *ev, const cw_json_value_t *root, size_t text_len, void *ctx,
                          cw_decode_result_t *r)
{
    mysql_scan_t *m = ctx;
    jscratch_t js = {m->scratch, 0};
    jnode_t top = {NULL, *root, &js, true};
    if (text_len > CW_RECORD_MAX)
        return false;
    *r = mysql_event(&top, ev, m->is_record);
    return true;
}

static cw_decode_result_t mysql_tree(cw_event_t *ev, const struct cJSON *root, void *ctx)
{
    return mysql_object(ev, root, ((mysql_scan_t *)ctx)->is_record);
}

static cw_decode_result_t decode_mysql_json(cw_native_t *n, const char *buf, size_t len, cw_event_t *ev,
                                            bool *is_record)
{
    mysql_scan_t m = {is_record, n->scratch};
    *is_record = true;
    cw_event_reset(ev, CW_STREAM_AUDIT);
    return cw_decode_json_scan(buf, len, ev, mysql_scanned, mysql_tree, &m);
}

cw_decode_result_t cw_native_decode_mysql_reference(const char *buf, size_t len, cw_event_t *ev, bool *is_record)
{
    *is_record = true;
    if (len > CW_RECORD_MAX)
        return cw_decode_result(CW_DEC_OVERSIZE, CW_F_NONE);
    cw_event_reset(ev, CW_STREAM_AUDIT);
    return cw_decode_json_object(buf, len, ev, mysql_object, is_record);
}

/* ---- a vendor's audit view as JSON objects (oracle-json, percona-json) ---- */

typedef struct {
    const cw_csv_dialect_t *d;
    bool *is_record;
} view_json_t;

/* A member's value as a cell: a string as it is, a number as written in decimal, true and false
 * as words (which no column accepts as a number); null, objects and arrays are absent. */
static bool view_cell(const cJSON *m, char num[32], const char **s, size_t *len)
{
    if (cJSON_IsString(m)) {
        *s = m->valuestring;
        *len = strlen(m->valuestring);
    } else if (cJSON_IsNumber(m)) {
        double d = m->valuedouble;
        int k = floor(d) == d && fabs(d) < 9007199254740992.0 ? snprintf(num, 32, "%lld", (long long)d)
                                                              : snprintf(num, 32, "%.17g", d);
        *s = num;
        *len = (size_t)k;
    } else if (cJSON_IsBool(m)) {
        *s = cJSON_IsTrue(m) ? "true" : "false";
        *len = strlen(*s);
    } else {
        return false;
    }
    return true;
}

/* The members of the object (or of its "audit_record" member: Percona's legacy JSON) matched to
 * the dialect's columns case-insensitively; a repeated member, the last one present wins. */
static cw_decode_result_t view_object(cw_event_t *ev, const struct cJSON *root, void *ctx)
{
    view_json_t *v = ctx;
    const cJSON *inner = cJSON_GetObjectItemCaseSensitive(root, "audit_record"), *m;
    cw_csv_cells_t cells;
    char num[CW_CSV_DIALECT_COLS][32];
    uint8_t damage = ev->damage; /* what cw_decode_json_object repaired before parsing */
    memset(&cells, 0, sizeof cells);
    if (cJSON_IsObject(inner))
        root = inner;
    cJSON_ArrayForEach(m, root)
    {
        for (int k = 0; m->string && k < v->d->n_columns; k++) {
            if (strcasecmp(m->string, v->d->columns[k]) == 0)
                (void)(view_cell(m, num[k], &cells.s[k], &cells.len[k]));
        }
    }
    if (v->d->is_record && !v->d->is_record(&cells)) {
        *v->is_record = false;
        return CW_DECODE_OK;
    }
    cw_event_reset(ev, CW_STREAM_AUDIT);
    ev->damage = damage;
    return v->d->decode(ev, &cells);
}

static cw_decode_result_t decode_view_json(const char *buf, size_t len, cw_event_t *ev, bool *is_record,
                                           cw_audit_format_t fmt)
{
    view_json_t v = {cw_audit_dialect(fmt), is_record};
    *is_record = true;
    cw_event_reset(ev, CW_STREAM_AUDIT);
    return cw_decode_json_object(buf, len, ev, view_object, &v);
}

cw_decode_result_t cw_native_decode(cw_native_t *n, const char *buf, size_t len, cw_event_t *ev, bool *is_record)
{
    if (len > CW_RECORD_MAX) {
        *is_record = true;
        return cw_decode_result(CW_DEC_OVERSIZE, CW_F_NONE);
    }
    switch (n->fmt) {
    case CW_AUDIT_PGAUDIT: return decode_pgaudit(n, buf, len, ev, is_record);
    case CW_AUDIT_MARIADB: *is_record = true; return decode_mariadb(n, buf, len, ev);
    case CW_AUDIT_ORACLE_JSON:
    case CW_AUDIT_PERCONA_JSON: return decode_view_json(buf, len, ev, is_record, n->fmt);
    case CW_AUDIT_ORACLE_XML:
    case CW_AUDIT_PERCONA_XML:
        return cw_xml_decode(cw_audit_dialect(n->fmt), buf, len, n->scratch, ev, is_record);
    default: return decode_mysql_json(n, buf, len, ev, is_record);
    }
}
