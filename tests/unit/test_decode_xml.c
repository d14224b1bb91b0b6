/*
 * test_decode_xml.c — XML audit files (decode_xml.h): the framer that finds records whatever the
 * lines, then Oracle's XML audit trail (oracle-xml) and Percona's legacy audit_log XML, OLD
 * (attributes) and NEW (leaf elements), built from the vendors' documented examples (see
 * tests/e2e/cases/oracle-xml-theft and percona-xml-theft): fields, times, entities and character
 * references, damaged text, records that are not well-formed.
 */
#include <stdlib.h>
#include <apr_general.h>
#include "cdrwatch/decode_native.h"
#include "cdrwatch/decode_xml.h"
#include "tap.h"

static apr_pool_t *pool;
static cw_event_t ev;
static bool is_record;
static char scratch[1 << 16];

#define A (&ev.u.audit)
#define OK(r) ((r).reason == CW_DEC_OK && is_record)

static cw_decode_result_t dec(cw_audit_format_t fmt, const char *text)
{
    return cw_xml_decode(cw_audit_dialect(fmt), text, strlen(text), scratch, &ev, &is_record);
}

/* The records the framer finds in text fed in pieces of `step` bytes, as "[...]" joined. */
static const char *frame(const char *text, size_t step)
{
    static char out[4096];
    cw_xml_frame_t f;
    size_t o = 0, len = strlen(text), at = 0;
    bool in = false;
    cw_xml_frame_init(&f);
    while (at < len) {
        size_t n = len - at < step ? len - at : step, k = 0;
        while (k < n) {
            cw_xml_event_t e;
            size_t used = cw_xml_frame(&f, text + at + k, n - k, &e);
            if (in)
                memcpy(out + o, text + at + k, used), o += used;
            k += used;
            if (e == CW_XML_BEGIN)
                out[o++] = '[', in = true;
            else if (e == CW_XML_END)
                out[o++] = ']', in = false;
        }
        at += n;
    }
    out[o] = '\0';
    return out;
}

static void test_frame(void)
{
    const char *file = "<?xml version=\"1.0\"?>\n<Audit>\n <Version>11.2</Version>\n"
                       "<AuditRecord><DB_User>A</DB_User></AuditRecord>\n"
                       "<AuditRecord><Sql_Text>x &gt; 1\n y</Sql_Text></AuditRecord></Audit>\n";
    is_str(frame(file, 4096), "[<AuditRecord><DB_User>A</DB_User></AuditRecord>]"
                              "[<AuditRecord><Sql_Text>x &gt; 1\n y</Sql_Text></AuditRecord>]",
           "Oracle: two records, the second over two lines; the envelope is not in them");
    is_str(frame(file, 7), frame(file, 4096), "the same fed in 7-byte pieces");
    is_str(frame("<AUDIT>\n <AUDIT_RECORD\n  NAME=\"Query\"\n  SQLTEXT=\"a /> b\"\n />\n"
                 " <AUDIT_RECORD NAME='Quit'/></AUDIT>\n", 4096),
           "[<AUDIT_RECORD\n  NAME=\"Query\"\n  SQLTEXT=\"a /> b\"\n />][<AUDIT_RECORD NAME='Quit'/>]",
           "Percona OLD: an empty element over lines; '/>' inside a quoted value does not end it");
    is_str(frame("<AUDIT_RECORD>\n <NAME>Query</NAME>\n <OS_USER/>\n</AUDIT_RECORD>\n", 4096),
           "[<AUDIT_RECORD>\n <NAME>Query</NAME>\n <OS_USER/>\n</AUDIT_RECORD>]",
           "Percona NEW: children, an empty child");
    is_str(frame("<AuditRecord><DB_User>A</DB_User>\n<AuditRecord><DB_User>B</DB_User></AuditRecord>\n", 4096),
           "[<AuditRecord><DB_User>A</DB_User>\n][<AuditRecord><DB_User>B</DB_User></AuditRecord>]",
           "a record whose end tag is lost ends where the next one begins");
    is_str(frame("<AuditRecords><AuditRecordX/>\n", 4096), "", "other names are not records");
}

static void test_oracle_xml(void)
{
    cw_decode_result_t r;
    cw_audit_format_t f;
    ok(cw_audit_format_parse("oracle-xml", &f) && f == CW_AUDIT_ORACLE_XML && cw_audit_format_xml(f) &&
           !cw_audit_csv_dialect(f) && cw_audit_dialect(f),
       "oracle-xml: an XML view, not a CSV dialect");
    r = dec(CW_AUDIT_ORACLE_XML,
            "<AuditRecord><Audit_Type>1</Audit_Type><Session_Id>9001</Session_Id><StatementId>12</StatementId>"
            "<EntryId>3</EntryId><Extended_Timestamp>2026-03-04T02:00:01.123456Z</Extended_Timestamp>"
            "<DB_User>THIEF</DB_User><OS_User>tomcat</OS_User><Userhost>web01</Userhost>"
            "<OS_Process>4242</OS_Process><Terminal>pts/1</Terminal><Instance_Number>0</Instance_Number>"
            "<Object_Schema>MED</Object_Schema><Object_Name>CDR_VOICE</Object_Name><Action>3</Action>"
            "<Returncode>0</Returncode><Scn>123</Scn><Sql_Text>SELECT *\n  FROM med.cdr_voice WHERE a &lt; 3"
            " AND b = &apos;x&apos; &amp;&amp; &quot;c&quot; &gt; &#65;&#x42;&#xe9;</Sql_Text>\n</AuditRecord>");
    ok(OK(r), "a SELECT record decodes");
    is_int(ev.ts, 1772589601123LL, "Extended_Timestamp (UTC, Z)");
    is_str(A->principal, "THIEF", "DB_User");
    is_str(A->action, "SELECT", "Action 3 is SELECT");
    is_str(A->object, "MED.CDR_VOICE", "Object_Schema.Object_Name");
    is_str(A->statement, "SELECT *\n  FROM med.cdr_voice WHERE a < 3 AND b = 'x' && \"c\" > AB\xc3\xa9",
           "Sql_Text over two lines, entities and character references decoded");
    is_str(A->client_host, "web01", "Userhost");
    is_str(A->session_id, "9001", "Session_Id");
    ok(!A->failed && !cw_event_has(&ev, CW_F_CLIENT_APP) && ev.damage == 0, "ok; no client program; no damage");
    r = dec(CW_AUDIT_ORACLE_XML, "<AuditRecord><Extended_Timestamp>2026-03-04T02:00:02Z</Extended_Timestamp>"
                                 "<DB_User>X</DB_User><Action>100</Action><Returncode>1017</Returncode></AuditRecord>");
    ok(OK(r) && A->failed, "Returncode 1017 (a refused password): failed");
    is_str(A->action, "LOGIN", "Action 100 (LOGON) is LOGIN");
    r = dec(CW_AUDIT_ORACLE_XML, "<AuditRecord><Extended_Timestamp>2026-03-04T02:00:02Z</Extended_Timestamp>"
                                 "<DB_User>X</DB_User><Action>102</Action></AuditRecord>");
    is_str(A->action, "LOGOUT", "Action 102 (LOGOFF BY CLEANUP) is LOGOUT");
    r = dec(CW_AUDIT_ORACLE_XML, "<AuditRecord><Extended_Timestamp>2026-03-04T02:00:02Z</Extended_Timestamp>"
                                 "<DB_User>X</DB_User><Action>999</Action><Sql_Text>copy t</Sql_Text></AuditRecord>");
    is_str(A->action, "COPY", "an unknown code: the statement's verb");
    r = dec(CW_AUDIT_ORACLE_XML, "<AuditRecord><Extended_Timestamp>2026-03-04T02:00:02Z</Extended_Timestamp>"
                                 "<DB_User>X</DB_User><Action>999</Action></AuditRecord>");
    is_str(A->action, "999", "an unknown code without statement: the code");
    r = dec(CW_AUDIT_ORACLE_XML, "<AuditRecord><DB_User>X</DB_User><Action>3</Action></AuditRecord>");
    ok(r.reason == CW_DEC_MISSING_FIELD && r.field == CW_F_TS, "no Extended_Timestamp: missing_field ts");
    r = dec(CW_AUDIT_ORACLE_XML, "<AuditRecord><Extended_Timestamp>2026-03-04T02:00:02</Extended_Timestamp>"
                                 "<DB_User>X</DB_User><Action>3</Action></AuditRecord>");
    ok(r.reason == CW_DEC_BAD_TIME, "Extended_Timestamp without its zone: bad_time");
    r = dec(CW_AUDIT_ORACLE_XML, "<AuditRecord><Extended_Timestamp>2026-03-04T02:00:02Z</Extended_Timestamp>"
                                 "<Action>3</Action></AuditRecord>");
    ok(r.reason == CW_DEC_MISSING_FIELD && r.field == CW_F_PRINCIPAL, "no DB_User: missing_field principal");
}

static void test_malformed(void)
{
    static const char *const bad[] = {
        "<AuditRecord><DB_User>X</DB_User>",                         /* no end tag */
        "<AuditRecord><DB_User>X</DB_Usr></AuditRecord>",            /* mismatched end tag */
        "<AuditRecord><DB_User>X<b>y</b></DB_User></AuditRecord>",   /* a child with a child */
        "<AuditRecord>text<DB_User>X</DB_User></AuditRecord>",       /* text beside the children */
        "<AuditRecord><DB_User>X</DB_User></AuditRecord>trailing",   /* text after the record */
        "<AUDIT_RECORD NAME=Query/>",                                /* an unquoted value */
        "<AUDIT_RECORD NAME=\"Query/>",                              /* an unclosed value */
        "<AUDIT_RECORD NAME=\"a<b\"/>",                              /* '<' in a value */
        "<AUDIT_RECORD NAME/>",                                      /* no value */
        "<AuditRecord><!-- unclosed </AuditRecord>",                 /* a comment never closed */
        "",                                                          /* nothing */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cw_decode_result_t r = dec(CW_AUDIT_ORACLE_XML, bad[i]);
        ok(r.reason == CW_DEC_BAD_XML, bad[i][0] ? bad[i] : "(empty)");
    }
    ok(OK(dec(CW_AUDIT_ORACLE_XML, "<AuditRecord> <!-- c --> <Extended_Timestamp>2026-03-04T02:00:02Z"
                                   "</Extended_Timestamp><DB_User>X</DB_User><Action>3</Action></AuditRecord >")),
       "comments and blanks between children are read past");
}

static void test_damage(void)
{
    cw_decode_result_t r;
    r = dec(CW_AUDIT_ORACLE_XML, "<AuditRecord><Extended_Timestamp>2026-03-04T02:00:02Z</Extended_Timestamp>"
                                 "<DB_User>X</DB_User><Action>3</Action><Userhost>h\xff</Userhost>"
                                 "<Sql_Text>SELECT &bogus; &#0; &#xD800; &#x110000; \x01 FROM med.cdr_voice"
                                 " &amp &x;y</Sql_Text></AuditRecord>");
    ok(OK(r), "damaged Sql_Text and Userhost: repaired, not refused");
    is_str(A->statement, "SELECT \xef\xbf\xbd \xef\xbf\xbd \xef\xbf\xbd \xef\xbf\xbd \x01 FROM med.cdr_voice \xef\xbf\xbd"
           "amp \xef\xbf\xbdy", "an unknown entity, &#0;, a surrogate, above U+10FFFF, an '&' without ';': each U+FFFD");
    ok((ev.damage & CW_DAMAGE_BAD_UTF8) && (ev.damage & CW_DAMAGE_NUL) && (ev.damage & CW_DAMAGE_CONTROL),
       "flagged bad_utf8, nul, control");
    is_str(A->object, "med.cdr_voice", "the object is still read from the repaired statement");
    r = dec(CW_AUDIT_ORACLE_XML, "<AuditRecord><Extended_Timestamp>2026-03-04T02:00:02Z</Extended_Timestamp>"
                                 "<DB_User>&#xFFFFFF;</DB_User><Action>3</Action></AuditRecord>");
    ok(r.reason == CW_DEC_BAD_UTF8 && r.field == CW_F_PRINCIPAL, "a damaged DB_User is a dead letter");
}

static void test_percona_xml(void)
{
    cw_decode_result_t r;
    /* audit_log_format=OLD */
    r = dec(CW_AUDIT_PERCONA_XML, "<AUDIT_RECORD\n  NAME=\"Query\"\n  RECORD=\"4707_2014-08-27T10:43:52\"\n"
                                  "  TIMESTAMP=\"2026-03-04T02:00:01 UTC\"\n  COMMAND_CLASS=\"select\"\n"
                                  "  CONNECTION_ID=\"37\"\n  STATUS=\"0\"\n"
                                  "  SQLTEXT=\"SELECT * FROM cdr_voice WHERE x &lt;&gt; &apos;a&apos;\"\n"
                                  "  USER=\"thief[thief] @ web01 [10.0.0.7]\"\n  HOST=\"web01\"\n  OS_USER=\"\"\n"
                                  "  IP=\"10.0.0.7\"\n  DB=\"med\"\n/>");
    ok(OK(r), "OLD: attributes decode");
    is_int(ev.ts, 1772589601000LL, "TIMESTAMP ' UTC'");
    is_str(A->principal, "thief", "USER: the name before the bracket");
    is_str(A->action, "SELECT", "a Query: its statement's verb");
    is_str(A->statement, "SELECT * FROM cdr_voice WHERE x <> 'a'", "SQLTEXT, entities decoded");
    is_str(A->object, "cdr_voice", "the statement's first table");
    is_str(A->client_host, "10.0.0.7", "IP");
    is_str(A->db, "med", "DB");
    is_str(A->session_id, "37", "CONNECTION_ID");
    ok(!A->failed, "STATUS 0: ok");
    /* audit_log_format=NEW */
    r = dec(CW_AUDIT_PERCONA_XML, "<AUDIT_RECORD>\n <NAME>Query</NAME>\n <RECORD>2_2026-03-04T02:00:00</RECORD>\n"
                                  " <TIMESTAMP>2026-03-04T02:00:02 UTC</TIMESTAMP>\n"
                                  " <COMMAND_CLASS>show_databases</COMMAND_CLASS>\n <CONNECTION_ID>2</CONNECTION_ID>\n"
                                  " <STATUS>1146</STATUS>\n <SQLTEXT></SQLTEXT>\n <USER>root[root] @ localhost []</USER>\n"
                                  " <HOST>localhost</HOST>\n <OS_USER></OS_USER>\n <IP/>\n</AUDIT_RECORD>");
    ok(OK(r), "NEW: leaf elements decode");
    is_str(A->action, "SHOW", "no statement: COMMAND_CLASS's first word");
    is_str(A->client_host, "localhost", "IP empty: HOST");
    ok(A->failed, "STATUS 1146: failed");
    r = dec(CW_AUDIT_PERCONA_XML, "<AUDIT_RECORD NAME=\"Connect\" TIMESTAMP=\"2026-03-04T02:00:03 UTC\" "
                                  "CONNECTION_ID=\"3\" STATUS=\"1045\" USER=\"x\" HOST=\"h\" IP=\"\"/>");
    ok(OK(r) && A->failed, "a refused Connect: a failed LOGIN");
    is_str(A->action, "LOGIN", "Connect is LOGIN");
    r = dec(CW_AUDIT_PERCONA_XML, "<AUDIT_RECORD NAME='Quit' TIMESTAMP='2026-03-04T02:00:04 UTC' USER='x'/>");
    is_str(A->action, "LOGOUT", "Quit is LOGOUT (single-quoted attributes)");
    r = dec(CW_AUDIT_PERCONA_XML, "<AUDIT_RECORD NAME=\"Audit\" RECORD=\"1_2026-03-04T02:00:00\" "
                                  "TIMESTAMP=\"2026-03-04T02:00:00 UTC\" MYSQL_VERSION=\"5.6.17\"/>");
    ok(r.reason == CW_DEC_OK && !is_record, "Audit (the plugin starting) is not a record");
    r = dec(CW_AUDIT_PERCONA_XML, "<AUDIT_RECORD NAME=\"Query\" TIMESTAMP=\"2026-03-04 02:00:05\" USER=\"x\" "
                                  "SQLTEXT=\"select 1\"/>");
    ok(OK(r) && ev.ts == 1772589605000LL, "a TIMESTAMP without ' UTC' is read as UTC too");
    r = dec(CW_AUDIT_PERCONA_XML, "<AUDIT_RECORD NAME=\"Query\" TIMESTAMP=\"yesterday\" USER=\"x\" SQLTEXT=\"select 1\"/>");
    ok(r.reason == CW_DEC_BAD_TIME, "a TIMESTAMP that is no time: bad_time");
    r = dec(CW_AUDIT_PERCONA_XML, "<AUDIT_RECORD NAME=\"Query\" TIMESTAMP=\"2026-03-04T02:00:05 UTC\" USER=\"x\" "
                                  "STATUS=\"e\" SQLTEXT=\"select 1\"/>");
    ok(r.reason == CW_DEC_BAD_VALUE && r.field == CW_F_STATUS, "STATUS not a number: bad_value");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    cw_decode_init();
    test_frame();
    test_oracle_xml();
    test_malformed();
    test_damage();
    test_percona_xml();
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
