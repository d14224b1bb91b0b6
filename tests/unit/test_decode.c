/* test_decode.c — CSV and JSON decoding: the valid forms and every failure reason. */
#include <stdlib.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "cdrwatch/decode.h"
#include "tap.h"
#include "tricks.h"

static cw_event_t ev;

static cw_decode_result_t json(cw_stream_t s, const char *text)
{
    return cw_decode_json(s, text, strlen(text), &ev);
}

static void test_json(void)
{
    cw_decode_result_t r;

    r = json(CW_STREAM_AUDIT,
             "{\"ts\":\"2026-03-04T02:06:05.023Z\",\"principal\":\"svc_backup\",\"action\":\"select\","
             "\"client_host\":\"mail-ex01\",\"object\":\"mediation.cdr_voice\",\"rows\":8123,"
             "\"subscribers\":[\"+447700900123\",447700900124],\"status\":\"OK\",\"extra\":{\"x\":1}}");
    is_int(r.reason, CW_DEC_OK, "a full audit record decodes");
    is_int(ev.ts, 1772589965023LL, "ts becomes the event time");
    is_str(ev.u.audit.principal, "svc_backup", "principal");
    is_str(ev.u.audit.action, "SELECT", "action is upper-cased");
    is_int(ev.u.audit.rows, 8123, "rows");
    is_int(ev.u.audit.n_subscribers, 2, "two subscribers, one given as a number");
    is_str(ev.u.audit.subscribers[0], "447700900123", "subscribers are normalised");
    ok(!ev.u.audit.failed, "status ok");
    ok(cw_event_has(&ev, CW_F_ROWS) && !cw_event_has(&ev, CW_F_BYTES), "present bits");

    r = json(CW_STREAM_AUDIT, "{\"TS\":1772589965023,\"Principal\":\"a\",\"ACTION\":\"login\",\"rows\":null}");
    ok(r.reason == CW_DEC_OK && ev.ts == 1772589965023LL, "names are case-insensitive, epoch ms as a number, null is absent");

    r = json(CW_STREAM_AUDIT, "{\"ts\":\"2026-03-04T02:06:05Z\",\"action\":\"select\"}");
    ok(r.reason == CW_DEC_MISSING_FIELD && r.field == CW_F_PRINCIPAL, "missing principal is named");
    r = json(CW_STREAM_AUDIT, "{\"ts\":\"2026-03-04T02:06:05Z\",\"principal\":\"\",\"action\":\"select\"}");
    ok(r.reason == CW_DEC_MISSING_FIELD && r.field == CW_F_PRINCIPAL, "an empty required field is missing");
    r = json(CW_STREAM_AUDIT, "{\"ts\":\"yesterday\",\"principal\":\"a\",\"action\":\"select\"}");
    ok(r.reason == CW_DEC_BAD_TIME && r.field == CW_F_TS, "bad time");
    r = json(CW_STREAM_AUDIT, "{\"ts\":1.5,\"principal\":\"a\",\"action\":\"select\"}");
    ok(r.reason == CW_DEC_BAD_TIME, "fractional epoch is a bad time");
    r = json(CW_STREAM_AUDIT, "{\"ts\":\"2026-03-04T02:06:05Z\",\"principal\":\"a\",\"action\":\"select\",\"rows\":-1}");
    ok(r.reason == CW_DEC_BAD_NUMBER && r.field == CW_F_ROWS, "negative rows");
    r = json(CW_STREAM_AUDIT, "{\"ts\":\"2026-03-04T02:06:05Z\",\"principal\":\"a\",\"action\":\"select\",\"rows\":1e300}");
    ok(r.reason == CW_DEC_BAD_NUMBER, "rows out of range");
    r = json(CW_STREAM_AUDIT, "{\"ts\":\"2026-03-04T02:06:05Z\",\"principal\":\"a\",\"action\":\"select\",\"rows\":\"12x\"}");
    ok(r.reason == CW_DEC_BAD_NUMBER, "rows as a non-numeric string");
    r = json(CW_STREAM_AUDIT, "{\"ts\":\"2026-03-04T02:06:05Z\",\"principal\":\"a\",\"action\":\"select\",\"status\":\"maybe\"}");
    ok(r.reason == CW_DEC_BAD_VALUE && r.field == CW_F_STATUS, "status outside ok|fail");
    r = json(CW_STREAM_AUDIT, "{\"ts\":\"2026-03-04T02:06:05Z\",\"principal\":[\"a\"],\"action\":\"select\"}");
    ok(r.reason == CW_DEC_BAD_VALUE && r.field == CW_F_PRINCIPAL, "an array where a string is expected");
    r = json(CW_STREAM_AUDIT, "{\"ts\":\"2026-03-04T02:06:05Z\",\"principal\":\"a\xff\",\"action\":\"select\"}");
    ok(r.reason == CW_DEC_BAD_UTF8 && r.field == CW_F_PRINCIPAL, "invalid UTF-8");
    r = json(CW_STREAM_AUDIT, "{\"ts\":\"2026-03-04T02:06:05Z\",\"principal\":\"\xc3\xa9lodie\",\"action\":\"select\"}");
    ok(r.reason == CW_DEC_OK, "valid UTF-8 passes");
    r = json(CW_STREAM_AUDIT, "{\"ts\":\"2026-03-04T02:06:05Z\",\"principal\":\"\xe0\x80\x80\",\"action\":\"select\"}");
    ok(r.reason == CW_DEC_BAD_UTF8, "overlong UTF-8 is refused");
    r = json(CW_STREAM_AUDIT, "{\"ts\":\"2026-03-04T02:06:05Z\",\"principal\":\"\xed\xa0\x80\",\"action\":\"select\"}");
    ok(r.reason == CW_DEC_BAD_UTF8, "a UTF-8 surrogate is refused");
    r = json(CW_STREAM_AUDIT, "{\"ts\":\"2026-03-04T02:06:05Z\",\"principal\":\"a\",\"action\":\"sel");
    is_int(r.reason, CW_DEC_BAD_JSON, "truncated JSON");
    r = json(CW_STREAM_AUDIT, "[1,2]");
    is_int(r.reason, CW_DEC_NOT_OBJECT, "an array is not an object");
    r = json(CW_STREAM_AUDIT, "{\"ts\":1,\"principal\":\"a\",\"action\":\"x\"} {}");
    is_int(r.reason, CW_DEC_BAD_JSON, "two values on a line");
    r = cw_decode_json(CW_STREAM_AUDIT, "{\"ts\":1,\0\"principal\":\"a\"}", 25, &ev);
    is_int(r.reason, CW_DEC_BAD_JSON, "a NUL byte inside the line");
    r = json(CW_STREAM_AUDIT, "{\"ts\":1,\"principal\":\"a\",\"action\":\"x\",\"subscribers\":[\"+44-77\"]}");
    ok(r.reason == CW_DEC_BAD_MSISDN && r.field == CW_F_SUBSCRIBERS, "a bad subscriber");
    {
        /* a principal one byte over its limit, then exactly at it */
        char big[CW_NAME_MAX + 200];
        char name[CW_NAME_MAX + 2];
        memset(name, 'p', CW_NAME_MAX + 1);
        name[CW_NAME_MAX + 1] = '\0';
        snprintf(big, sizeof big, "{\"ts\":1,\"principal\":\"%s\",\"action\":\"x\"}", name);
        r = json(CW_STREAM_AUDIT, big);
        ok(r.reason == CW_DEC_OVERSIZE && r.field == CW_F_PRINCIPAL, "principal over its size limit");
        name[CW_NAME_MAX] = '\0';
        snprintf(big, sizeof big, "{\"ts\":1,\"principal\":\"%s\",\"action\":\"x\"}", name);
        r = json(CW_STREAM_AUDIT, big);
        is_int(r.reason, CW_DEC_OK, "principal exactly at its size limit");
    }
    {
        /* a huge statement: bigger than the JSON arena's share, over the field limit */
        size_t n = CW_STATEMENT_MAX + 10;
        char *line = malloc(n + 100);
        int k = snprintf(line, n + 100, "{\"ts\":1,\"principal\":\"a\",\"action\":\"x\",\"statement\":\"");
        memset(line + k, 's', n);
        strcpy(line + k + n, "\"}");
        r = json(CW_STREAM_AUDIT, line);
        ok(r.reason == CW_DEC_OK && ev.damage == CW_DAMAGE_TRUNCATED, "statement over its size limit: cut and flagged");
        is_int(strlen(ev.u.audit.statement), CW_STATEMENT_MAX, "... to its limit");
        free(line);
    }
    {
        /* 65 subscribers: one over the bound */
        char line[4096];
        size_t k = (size_t)snprintf(line, sizeof line, "{\"ts\":1,\"principal\":\"a\",\"action\":\"x\",\"subscribers\":[");
        for (int i = 0; i <= CW_SUBSCRIBERS_MAX; i++)
            k += (size_t)snprintf(line + k, sizeof line - k, "%s\"4477009%05d\"", i ? "," : "", i);
        snprintf(line + k, sizeof line - k, "]}");
        r = json(CW_STREAM_AUDIT, line);
        ok(r.reason == CW_DEC_OK && ev.damage == CW_DAMAGE_TRUNCATED, "too many subscribers: the list is cut and flagged");
        is_int(ev.u.audit.n_subscribers, CW_SUBSCRIBERS_MAX, "... to its bound");
    }

    r = json(CW_STREAM_CDR, "{\"start_time\":\"2026-03-02T08:00:00Z\",\"record_type\":\"DATA\","
                            "\"calling_msisdn\":\"+447700900123\",\"bytes_up\":500,\"bytes_down\":9000}");
    ok(r.reason == CW_DEC_OK && ev.u.cdr.record_type == CW_REC_DATA && ev.u.cdr.bytes_down == 9000,
       "a data CDR");
    r = json(CW_STREAM_CDR, "{\"start_time\":\"2026-03-02T08:00:00Z\",\"record_type\":\"fax\",\"calling_msisdn\":\"1\"}");
    ok(r.reason == CW_DEC_BAD_VALUE && r.field == CW_F_RECORD_TYPE, "unknown record type");
    r = json(CW_STREAM_CDR, "{\"start_time\":\"2026-03-02T08:00:00Z\",\"record_type\":\"sms\",\"calling_msisdn\":\"abc\"}");
    ok(r.reason == CW_DEC_BAD_MSISDN && r.field == CW_F_CALLING_MSISDN, "calling MSISDN not a number");
    r = json(CW_STREAM_CDR, "{\"ts\":\"2026-03-02T08:00:00Z\",\"principal\":\"a\",\"action\":\"x\"}");
    ok(r.reason == CW_DEC_MISSING_FIELD && r.field == CW_F_START_TIME, "an audit record on the CDR stream");
}

/* Push lines; return the result of decoding the first complete record. */
static int push(cw_csv_t *csv, const char *line)
{
    return cw_csv_push(csv, line, strlen(line));
}

/* A line of `lead` then n cells "<prefix><i>", with its newline, in the pool. */
static char *wide_line(apr_pool_t *pool, const char *lead, const char *prefix, int n)
{
    size_t cap = strlen(lead) + (size_t)n * (strlen(prefix) + 8) + 2, len = strlen(lead);
    char *line = apr_palloc(pool, cap);
    memcpy(line, lead, len);
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(line + len, cap - len, ",%s%d", prefix, i);
    memcpy(line + len, "\n", 2);
    return line;
}

/* A header wider than CW_CSV_COLS_MAX: the columns past it are ignored as unknown ones, rows as
 * wide as the header decode (libcsv and the fast path alike), a row of another width does not. */
static void test_wide_header(apr_pool_t *pool)
{
    static const char *lead = "2026-03-04T02:06:05Z,alice,select,42,SELECT 1";
    int extra = CW_CSV_COLS_MAX + 44; /* 300 columns in all with the 5 known ones */
    const char *header = wide_line(pool, "ts,principal,action,rows,statement", "c", extra);
    const char *row = wide_line(pool, lead, "x", extra);
    const cw_field_t *cols;
    char missing[128];
    cw_decode_result_t r;
    cw_csv_t *csv;

    cw_csv_create(pool, CW_STREAM_AUDIT, &csv);
    ok(push(csv, header) == 1 && cw_csv_header_like(csv), "a 300-column header looks like a header");
    is_int(cw_csv_take_header(csv, missing, sizeof missing), 5, "its five known columns are found");
    is_str(missing, "", "none missing");
    is_int(cw_csv_header_width(csv), 5 + extra, "its width is all its columns");
    is_int(cw_csv_columns(csv, &cols), CW_CSV_COLS_MAX, "the first 256 are kept");
    ok(push(csv, row) == 1, "a 300-cell row");
    r = cw_csv_decode(csv, &ev);
    ok(r.reason == CW_DEC_OK && ev.u.audit.rows == 42 && !strcmp(ev.u.audit.principal, "alice"),
       "a 300-cell row under a 300-column header decodes");
    ok(cw_csv_decode_line(csv, row, strlen(row), &ev, &r) && r.reason == CW_DEC_OK && ev.u.audit.rows == 42,
       "and through the fast path");
    push(csv, wide_line(pool, lead, "x", extra - 1));
    is_int(cw_csv_decode(csv, &ev).reason, CW_DEC_CSV_COLUMNS, "a 299-cell row does not");
    row = wide_line(pool, lead, "x", extra + 1);
    ok(cw_csv_decode_line(csv, row, strlen(row), &ev, &r) && r.reason == CW_DEC_CSV_COLUMNS,
       "nor a 301-cell row through the fast path");

    cw_csv_create(pool, CW_STREAM_AUDIT, &csv);
    header = wide_line(pool, "ts,action,rows,statement", "c", CW_CSV_COLS_MAX);
    push(csv, apr_pstrcat(pool, apr_pstrndup(pool, header, strlen(header) - 1), ",principal\n", NULL));
    is_int(cw_csv_take_header(csv, missing, sizeof missing), 4, "a known column past the first 256 is not read");
    is_str(missing, "principal", "so principal, column 261, is missing");
}

static void test_csv(apr_pool_t *pool)
{
    cw_csv_t *csv;
    cw_decode_result_t r;
    char missing[128];

    cw_csv_create(pool, CW_STREAM_AUDIT, &csv);
    ok(push(csv, "\xef\xbb\xbfTS,Principal,action,Rows,unknown_col,statement\r\n") == 1, "header line completes");
    is_int(cw_csv_take_header(csv, missing, sizeof missing), 5, "five known columns (BOM and case ignored)");
    is_str(missing, "", "no required column missing");

    ok(push(csv, "2026-03-04T02:06:05Z,alice,select,42,zzz,\"SELECT a, b FROM cdr\"\r\n") == 1, "CRLF record");
    r = cw_csv_decode(csv, &ev);
    ok(r.reason == CW_DEC_OK && ev.u.audit.rows == 42, "quoted comma stays in its field");
    is_str(ev.u.audit.statement, "SELECT a, b FROM cdr", "quoted statement");

    is_int(push(csv, "2026-03-04T02:06:06Z,alice,select,1,,\"SELECT *\n"), 0, "an open quote waits for the next line");
    ok(cw_csv_in_record(csv), "in a record across lines");
    is_int(push(csv, "FROM \"\"cdr\"\"\"\n"), 1, "the record ends on the next line");
    r = cw_csv_decode(csv, &ev);
    ok(r.reason == CW_DEC_OK, "multi-line record decodes");
    is_str(ev.u.audit.statement, "SELECT *\nFROM \"cdr\"", "embedded newline and doubled quotes");

    push(csv, "2026-03-04T02:06:07Z,alice,select\n");
    r = cw_csv_decode(csv, &ev);
    is_int(r.reason, CW_DEC_CSV_COLUMNS, "missing columns");
    push(csv, "2026-03-04T02:06:07Z,alice,select,1,x,y,z\n");
    r = cw_csv_decode(csv, &ev);
    is_int(r.reason, CW_DEC_CSV_COLUMNS, "extra columns");
    push(csv, "2026-03-04T02:06:07Z,,select,1,x,y\n");
    r = cw_csv_decode(csv, &ev);
    ok(r.reason == CW_DEC_MISSING_FIELD && r.field == CW_F_PRINCIPAL, "empty principal cell is missing");
    push(csv, "2026-03-04 02:06:07,bob,select,1,x,y\n");
    r = cw_csv_decode(csv, &ev);
    ok(r.reason == CW_DEC_BAD_TIME && r.field == CW_F_TS, "a time without offset in CSV");
    is_int(push(csv, "2026-03-04T02:06:07Z,b\"ob,select,1,x,y\n"), -1, "a stray quote is bad CSV");
    ok(!cw_csv_in_record(csv), "after an error the parser starts afresh");
    ok(push(csv, "2026-03-04T02:06:08Z, bob ,select,1,x,y\n") == 1 &&
       cw_csv_decode(csv, &ev).reason == CW_DEC_OK && strcmp(ev.u.audit.principal, " bob ") == 0,
       "spaces are part of a field (RFC 4180)");
    is_int(push(csv, "2026-03-04T02:06:09Z,bob,select,1,x,\"never closed\n"), 0, "unterminated quote waits");
    is_int(cw_csv_finish(csv), -1, "unterminated quote at the end is bad CSV");
    is_int(push(csv, "2026-03-04T02:06:10Z,carol,select,7,x,y"), 0, "a last line without newline waits");
    is_int(cw_csv_finish(csv), 1, "finish completes it");
    ok(cw_csv_decode(csv, &ev).reason == CW_DEC_OK && strcmp(ev.u.audit.principal, "carol") == 0,
       "and it decodes");

    cw_csv_create(pool, CW_STREAM_AUDIT, &csv);
    push(csv, "ts,action,rows\n");
    cw_csv_take_header(csv, missing, sizeof missing);
    is_str(missing, "principal", "a header without principal says so");

    cw_csv_create(pool, CW_STREAM_CDR, &csv);
    push(csv, "start_time,record_type,calling_msisdn,called_msisdn\n");
    cw_csv_take_header(csv, missing, sizeof missing);
    push(csv, "2026-03-02T08:00:00Z,voice,0044 7700 900123,+447700900124\n");
    r = cw_csv_decode(csv, &ev);
    ok(r.reason == CW_DEC_OK && strcmp(ev.u.cdr.calling_msisdn, "447700900123") == 0, "CDR CSV with 00 and spaces");

    {
        /* subscribers as a ;-separated cell; headerless columns as configured for Kafka */
        cw_field_t cols[] = {CW_F_TS, CW_F_PRINCIPAL, CW_F_ACTION, CW_F_SUBSCRIBERS};
        cw_csv_create(pool, CW_STREAM_AUDIT, &csv);
        cw_csv_set_columns(csv, cols, 4);
        push(csv, "1772589965023,fraud,select,+447700900123;00447700900124;\n");
        r = cw_csv_decode(csv, &ev);
        ok(r.reason == CW_DEC_OK && ev.u.audit.n_subscribers == 2 &&
           strcmp(ev.u.audit.subscribers[1], "447700900124") == 0, "headerless CSV with ;-separated subscribers");
    }
    {
        char reason[128];
        cw_decode_result_t mf = {CW_DEC_MISSING_FIELD, CW_F_PRINCIPAL};
        is_str(cw_reason_format(mf, reason, sizeof reason), "missing_field: 'principal': required field is missing or empty",
               "reasons format with the field");
    }
}

/* ---- damaged free text: repaired and flagged, never a dead letter ---- */

static void test_tricks(apr_pool_t *pool)
{
    cw_csv_t *csv;
    cw_field_t cols[] = {CW_F_TS, CW_F_PRINCIPAL, CW_F_ACTION, CW_F_ROWS, CW_F_STATEMENT};
    char stmt[128], line[512];
    const char *want;
    cw_csv_create(pool, CW_STREAM_AUDIT, &csv);
    cw_csv_set_columns(csv, cols, 5);
    for (size_t i = 0; i < N_TRICKS; i++) {
        const trick_t *t = &tricks[i];
        size_t n = trick_statement(t, stmt, &want), k;
        cw_decode_result_t r;
        /* JSON: the bytes raw inside the string */
        k = (size_t)sprintf(line, "{\"ts\":1,\"principal\":\"x\",\"action\":\"SELECT\",\"rows\":900000,\"statement\":\"");
        memcpy(line + k, stmt, n);
        k += n;
        k += (size_t)sprintf(line + k, "\"}");
        check_trick(&ev, cw_decode_json(CW_STREAM_AUDIT, line, k, &ev), t, want, "JSON");
        check_trick(&ev, cw_decode_message(csv, line, k, &ev), t, want, "JSON message");
        /* CSV: a plain record (the fast path) and a quoted one (libcsv) */
        k = (size_t)sprintf(line, "1,x,SELECT,900000,");
        memcpy(line + k, stmt, n);
        k += n;
        r = cw_decode_message(csv, line, k, &ev);
        check_trick(&ev, r, t, want, "CSV message");
        ok(cw_csv_decode_line(csv, line, k, &ev, &r), "a plain CSV line takes the fast path");
        check_trick(&ev, r, t, want, "CSV line");
        k = (size_t)sprintf(line, "1,x,SELECT,900000,\"");
        memcpy(line + k, stmt, n);
        k += n;
        k += (size_t)sprintf(line + k, "\"\n");
        cw_csv_reset(csv);
        ok(cw_csv_push(csv, line, k) == 1, "a quoted CSV record completes");
        check_trick(&ev, cw_csv_decode(csv, &ev), t, want, "quoted CSV");
    }
}

/* JSON escapes cJSON would cut at (\u0000) or refuse (a lone surrogate): repaired before it parses. */
static void test_json_escapes(void)
{
    static const struct {
        const char *escape, *repaired;
        unsigned damage;
    } cases[] = {
        {"\\u0000", FFFD, CW_DAMAGE_NUL},
        {"\\ud800", FFFD, CW_DAMAGE_BAD_UTF8},
        {"\\udfff", FFFD, CW_DAMAGE_BAD_UTF8},
        {"\\ud800\\u0041", FFFD "A", CW_DAMAGE_BAD_UTF8},
        {"\\ud83d\\ude00", "\xf0\x9f\x98\x80", 0}, /* a pair is one character, no damage */
        {"\\\\u0000", "\\u0000", 0},              /* an escaped backslash, then text */
    };
    char line[256], want[128], name[128];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cw_decode_result_t r;
        snprintf(line, sizeof line,
                 "{\"ts\":1,\"principal\":\"x\",\"action\":\"SELECT\",\"rows\":900000,\"statement\":\"SELECT %s * FROM t\"}",
                 cases[i].escape);
        snprintf(want, sizeof want, "SELECT %s * FROM t", cases[i].repaired);
        r = json(CW_STREAM_AUDIT, line);
        snprintf(name, sizeof name, "JSON escape %s: decoded, repaired, flagged", cases[i].escape);
        ok(r.reason == CW_DEC_OK && strcmp(ev.u.audit.statement, want) == 0 && ev.damage == cases[i].damage &&
               ev.u.audit.rows == 900000,
           name);
    }
}

/* A statement far over its limit keeps its head and tail, whatever sits in the middle. */
static void test_cut(void)
{
    size_t n = 3u << 20; /* 3 MiB */
    char *big = malloc(n), *dst = malloc(CW_STATEMENT_MAX + 1);
    unsigned damage = 0;
    size_t len;
    const char *head = "SELECT * FROM mediation.cdr_voice /* ", *tail = " */ WHERE msisdn = '447700900123'";
    memset(big, 'A', n);
    memcpy(big, head, strlen(head));
    for (size_t i = 1000; i < n - 1000; i += 7)
        big[i] = (char)(0x80 + i % 0x80); /* stray bytes all through the middle */
    memcpy(big + n - strlen(tail), tail, strlen(tail));
    len = cw_text_repair(dst, CW_STATEMENT_MAX, big, n, &damage);
    is_int(len, strlen(dst), "cut: the length returned is the string's");
    ok(len <= CW_STATEMENT_MAX && len >= CW_STATEMENT_MAX - 8, "cut: fills the field");
    ok(strncmp(dst, head, strlen(head)) == 0, "cut: the head is kept");
    ok(strcmp(dst + len - strlen(tail), tail) == 0, "cut: the tail (the WHERE) is kept");
    ok(strstr(dst, CW_CUT_MARKER) != NULL, "cut: the marker sits between them");
    ok(cw_utf8_valid(dst, len), "cut: the result is valid UTF-8");
    is_int(damage, CW_DAMAGE_TRUNCATED | CW_DAMAGE_BAD_UTF8, "cut: truncated and bad bytes flagged");
    /* a tail made of bad bytes only: three output bytes each, still within the limit */
    memset(big + n / 2, '\xff', n / 2);
    damage = 0;
    len = cw_text_repair(dst, CW_STATEMENT_MAX, big, n, &damage);
    ok(len <= CW_STATEMENT_MAX && cw_utf8_valid(dst, len), "cut: a tail of bad bytes fits, valid");
    ok(len >= 3 && strcmp(dst + len - 3, FFFD) == 0, "cut: ... and ends with their replacement");
    /* a small field: head and tail of a host name */
    damage = 0;
    len = cw_text_repair(dst, 20, "abcdefghijklmnopqrstuvwxyz", 26, &damage);
    ok(len <= 20 && dst[0] == 'a' && dst[len - 1] == 'z' && damage == CW_DAMAGE_TRUNCATED, "cut: a short field too");
    damage = 0;
    len = cw_text_repair(dst, 10, "abcdefghijklmnopqrstuvwxyz", 26, &damage);
    is_str(dst, "abcdefghij", "cut: a field too small for the marker keeps its head");
    free(big);
    free(dst);
}

/* Random bytes inserted into the statement of a valid record, encoded as the format requires
 * (JSON: quote and backslash escaped; CSV: a quoted field), never make it a dead letter. */
/* Ordinary text is checked eight bytes at a time: a damaged byte is found wherever it falls in
 * its word, and the bytes around 0x20 and 0x7f are told apart. */
static void test_word_path(void)
{
    static const struct {
        unsigned char byte;
        unsigned damage;
    } bytes[] = {{0x1f, CW_DAMAGE_CONTROL}, {0x01, CW_DAMAGE_CONTROL}, {0x7f, CW_DAMAGE_CONTROL},
                 {0x80, CW_DAMAGE_BAD_UTF8}, {0xff, CW_DAMAGE_BAD_UTF8}, {0x00, CW_DAMAGE_NUL},
                 {0x20, 0}, {0x7e, 0}, {0x21, 0}};
    int wrong = 0;
    for (size_t b = 0; b < sizeof bytes / sizeof bytes[0]; b++) {
        for (size_t at = 0; at < 24; at++) {
            char text[24], dst[80];
            unsigned damage = 0;
            memset(text, 'a', sizeof text);
            text[at] = (char)bytes[b].byte;
            cw_text_repair(dst, sizeof dst - 1, text, sizeof text, &damage);
            if (damage != bytes[b].damage) {
                printf("# byte %02x at %zu: damage %u, expected %u\n", bytes[b].byte, at, damage, bytes[b].damage);
                wrong++;
            }
        }
    }
    is_int(wrong, 0, "a damaged byte is found at every place of a word, printable bytes pass");
}

static void test_fuzz(apr_pool_t *pool)
{
    cw_csv_t *csv;
    cw_field_t cols[] = {CW_F_TS, CW_F_PRINCIPAL, CW_F_ACTION, CW_F_ROWS, CW_F_STATEMENT};
    char line[1024];
    int bad = 0, invalid = 0, damaged = 0;
    uint32_t seed = 12345;
    cw_csv_create(pool, CW_STREAM_AUDIT, &csv);
    cw_csv_set_columns(csv, cols, 5);
    for (int round = 0; round < 20000; round++) {
        bool as_json = round % 2 == 0;
        size_t k = (size_t)sprintf(line, as_json ? "{\"ts\":1,\"principal\":\"x\",\"action\":\"SELECT\",\"rows\":900000,\"statement\":\"SELECT * FROM cdr_voice "
                                                 : "1,x,SELECT,900000,\"SELECT * FROM cdr_voice ");
        int n = 1 + round % 200;
        for (int i = 0; i < n; i++) {
            char c;
            seed = seed * 1103515245u + 12345u;
            c = (char)(seed >> 16);
            if (as_json && (c == '"' || c == '\\'))
                line[k++] = '\\';
            else if (!as_json && c == '"')
                line[k++] = '"';
            line[k++] = c;
        }
        k += (size_t)sprintf(line + k, as_json ? "\"}" : "\"");
        cw_decode_result_t r = cw_decode_message(csv, line, k, &ev);
        bad += r.reason != CW_DEC_OK || ev.u.audit.rows != 900000;
        invalid += !cw_utf8_valid(ev.u.audit.statement, strlen(ev.u.audit.statement));
        damaged += ev.damage != 0;
    }
    is_int(bad, 0, "fuzz: 20000 records with random bytes in the statement: none is a dead letter");
    is_int(invalid, 0, "fuzz: every repaired statement is valid UTF-8");
    ok(damaged > 15000, "fuzz: most of them are flagged");
}

int main(void)
{
    apr_pool_t *pool;
    apr_initialize();
    apr_pool_create(&pool, NULL);
    cw_decode_init();
    test_json();
    test_csv(pool);
    test_wide_header(pool);
    test_tricks(pool);
    test_json_escapes();
    test_cut();
    test_word_path();
    test_fuzz(pool);
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
