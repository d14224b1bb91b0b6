/* test_decode.c — CSV and JSON decoding: the valid forms and every failure reason. */
#include <stdlib.h>
#include <apr_general.h>
#include "cdrwatch/decode.h"
#include "tap.h"

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
        ok(r.reason == CW_DEC_OVERSIZE && r.field == CW_F_STATEMENT, "statement over its size limit");
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
        ok(r.reason == CW_DEC_OVERSIZE && r.field == CW_F_SUBSCRIBERS, "too many subscribers");
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

int main(void)
{
    apr_pool_t *pool;
    apr_initialize();
    apr_pool_create(&pool, NULL);
    cw_decode_init();
    test_json();
    test_csv(pool);
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
