/*
 * decode_audit_csv.c — audit views exported as CSV, into cw_event_t (doc/formats.md §1.4):
 * Oracle unified auditing (UNIFIED_AUDIT_TRAIL rows, `--audit-format oracle-csv`) and SQL Server
 * audit (sys.fn_get_audit_file rows, `--audit-format mssql-csv`). The same dialects serve the
 * records of other containers whose values are named like columns: UNIFIED_AUDIT_TRAIL rows as
 * JSON objects (oracle-json), Oracle's XML audit files (oracle-xml: other names, numeric action
 * codes), and Percona's legacy audit_log plugin in JSON or XML (percona-json, percona-xml); the
 * JSON object or XML record is read by decode_native.c or decode_xml.c into cells.
 *
 * Each is a CSV dialect (decode.h): the list of the vendor's columns it reads, which of them are
 * required, and a function mapping one record's cells onto the canonical event. The framing —
 * libcsv, the header line, quoted statements over several lines, the 1 MiB record bound — is the
 * canonical CSV reader's, so there is no second CSV parser here. Every value goes through
 * cw_decode_set_field and every record ends with cw_decode_finish: a record without a time, a
 * principal or an action is a dead letter with its reason, and damaged text in the other fields
 * is repaired and flagged as everywhere else (§1.3).
 *
 * Times: the vendors' views print local timestamps without a zone unless told otherwise. A
 * column documented as UTC (EVENT_TIMESTAMP_UTC, SQL Server's event_time) without an offset is
 * taken as UTC; Oracle's EVENT_TIMESTAMP (the session's time zone) must carry its offset.
 * Nothing is allocated per record.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "cdrwatch/decode_native.h"


/* A cell without the blanks around it (fixed-width exports pad them: action_id is char(4)). */
static size_t trimmed(const cw_csv_cells_t *c, int k, const char **s)
{
    const char *p = c->s[k];
    size_t n = c->len[k];
    if (!p)
        return 0;
    while (n && (*p == ' ' || *p == '\t')) {
        p++;
        n--;
    }
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    *s = p;
    return n;
}

/* Set an optional field from a cell, when the cell is there and not empty. */
static cw_decode_result_t set_cell(cw_event_t *ev, cw_field_t f, const cw_csv_cells_t *c, int k)
{
    const char *s;
    size_t n = trimmed(c, k, &s);
    return n ? cw_decode_set_field(ev, f, s, n) : CW_DECODE_OK;
}

/* A time: with an offset as written ("2026-03-04 03:00:00.000000 +03:00", the space Oracle's
 * TZH:TZM format puts before it dropped); without one, as UTC when utc is set (else bad_time). */
static cw_decode_result_t set_time(cw_event_t *ev, const char *s, size_t n, bool utc)
{
    char iso[64];
    bool offset = n > 6 && (s[n - 6] == '+' || s[n - 6] == '-') && s[n - 3] == ':';
    if (n == 0 || n >= sizeof iso - 1)
        return cw_decode_set_field(ev, CW_F_TS, s, n);
    memcpy(iso, s, n);
    if (offset && n > 7 && s[n - 7] == ' ') {
        memmove(iso + n - 7, iso + n - 6, 6);
        n--;
    } else if (utc && !offset && s[n - 1] >= '0' && s[n - 1] <= '9') {
        iso[n++] = 'Z';
    }
    return cw_decode_set_field(ev, CW_F_TS, iso, n);
}

/* "schema.name", or "name" without a schema, as the object. */
static cw_decode_result_t set_object(cw_event_t *ev, const cw_csv_cells_t *c, int schema, int name)
{
    const char *sc = NULL, *nm = NULL;
    size_t sl = trimmed(c, schema, &sc), nl = trimmed(c, name, &nm);
    char full[CW_OBJECT_MAX + 2];
    int k;
    if (nl == 0)
        return CW_DECODE_OK;
    k = sl ? snprintf(full, sizeof full, "%.*s.%.*s", (int)sl, sc, (int)nl, nm)
           : snprintf(full, sizeof full, "%.*s", (int)nl, nm);
    return cw_decode_set_field(ev, CW_F_OBJECT, full, (size_t)k < sizeof full ? (size_t)k : sizeof full - 1);
}

/* A success flag: `ok` and `fail` are the values; anything else is bad_value. */
static cw_decode_result_t set_status(cw_event_t *ev, bool known, bool ok)
{
    if (!known)
        return cw_decode_result(CW_DEC_BAD_VALUE, CW_F_STATUS);
    return ok ? CW_DECODE_OK : cw_decode_set_field(ev, CW_F_STATUS, "fail", 4);
}

static bool is_int(const char *s, size_t n)
{
    size_t i = n && s[0] == '-' ? 1 : 0;
    if (i == n)
        return false;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
    }
    return true;
}

/* The statement and, when the source names no object, the first table of its SQL. */
static cw_decode_result_t set_statement(cw_event_t *ev, const cw_csv_cells_t *c, int k)
{
    if (!c->s[k] || c->len[k] == 0)
        return CW_DECODE_OK;
    CW_DECODE_TRY(cw_decode_set_field(ev, CW_F_STATEMENT, c->s[k], c->len[k]));
    if (cw_event_has(ev, CW_F_OBJECT))
        return CW_DECODE_OK;
    return cw_native_sql_object(ev, c->s[k], c->len[k]);
}

/* ---- Oracle UNIFIED_AUDIT_TRAIL ---- */

enum {
    ORA_TS_UTC,
    ORA_TS,
    ORA_USER,
    ORA_ACTION,
    ORA_SCHEMA,
    ORA_OBJECT,
    ORA_SQL,
    ORA_HOST,
    ORA_PROGRAM,
    ORA_RETURN,
    ORA_SESSION,
    ORA_COLUMNS
};

static const char *const ora_columns[ORA_COLUMNS] = {
    [ORA_TS_UTC] = "EVENT_TIMESTAMP_UTC", [ORA_TS] = "EVENT_TIMESTAMP",
    [ORA_USER] = "DBUSERNAME",            [ORA_ACTION] = "ACTION_NAME",
    [ORA_SCHEMA] = "OBJECT_SCHEMA",       [ORA_OBJECT] = "OBJECT_NAME",
    [ORA_SQL] = "SQL_TEXT",               [ORA_HOST] = "USERHOST",
    [ORA_PROGRAM] = "CLIENT_PROGRAM_NAME", [ORA_RETURN] = "RETURN_CODE",
    [ORA_SESSION] = "SESSIONID",
};

static const uint32_t ora_required[] = {1u << ORA_TS_UTC | 1u << ORA_TS, 1u << ORA_USER, 1u << ORA_ACTION, 0};

/* ACTION_NAME as the canonical action: LOGON is LOGIN, LOGOFF (and LOGOFF BY CLEANUP) is LOGOUT;
 * otherwise its first word, as pgaudit's COMMAND is read ("CREATE TABLE" is CREATE, "ALTER AUDIT
 * POLICY" is ALTER). */
static cw_decode_result_t ora_action(cw_event_t *ev, const cw_csv_cells_t *c)
{
    const char *s = NULL;
    size_t n = trimmed(c, ORA_ACTION, &s), w = 0;
    while (w < n && s[w] != ' ')
        w++;
    if (w == 5 && strncasecmp(s, "LOGON", 5) == 0)
        return cw_decode_set_field(ev, CW_F_ACTION, "LOGIN", 5);
    if (w == 6 && strncasecmp(s, "LOGOFF", 6) == 0)
        return cw_decode_set_field(ev, CW_F_ACTION, "LOGOUT", 6);
    return cw_decode_set_field(ev, CW_F_ACTION, s ? s : "", w);
}

static cw_decode_result_t ora_decode(cw_event_t *ev, const cw_csv_cells_t *c)
{
    const char *s = NULL;
    size_t n;
    if ((n = trimmed(c, ORA_TS_UTC, &s)) != 0)
        CW_DECODE_TRY(set_time(ev, s, n, true));
    else if ((n = trimmed(c, ORA_TS, &s)) != 0)
        CW_DECODE_TRY(set_time(ev, s, n, false));
    CW_DECODE_TRY(set_cell(ev, CW_F_PRINCIPAL, c, ORA_USER));
    CW_DECODE_TRY(ora_action(ev, c));
    CW_DECODE_TRY(set_cell(ev, CW_F_CLIENT_HOST, c, ORA_HOST));
    CW_DECODE_TRY(set_cell(ev, CW_F_CLIENT_APP, c, ORA_PROGRAM));
    CW_DECODE_TRY(set_cell(ev, CW_F_SESSION_ID, c, ORA_SESSION));
    if ((n = trimmed(c, ORA_RETURN, &s)) != 0)
        CW_DECODE_TRY(set_status(ev, is_int(s, n), n == 1 && s[0] == '0'));
    CW_DECODE_TRY(set_object(ev, c, ORA_SCHEMA, ORA_OBJECT));
    CW_DECODE_TRY(set_statement(ev, c, ORA_SQL));
    return cw_decode_finish(ev);
}

static const cw_csv_dialect_t oracle_csv = {"oracle-csv", ora_columns, ORA_COLUMNS, ora_required, ora_decode, NULL};

/* ---- SQL Server sys.fn_get_audit_file ---- */

enum {
    MS_TIME,
    MS_ACTION,
    MS_SUCCEEDED,
    MS_SESSION,
    MS_USER,
    MS_DB,
    MS_SCHEMA,
    MS_OBJECT,
    MS_STATEMENT,
    MS_CLIENT_IP,
    MS_HOST,
    MS_APP,
    MS_ROWS,
    MS_COLUMNS
};

static const char *const ms_columns[MS_COLUMNS] = {
    [MS_TIME] = "event_time",       [MS_ACTION] = "action_id",
    [MS_SUCCEEDED] = "succeeded",   [MS_SESSION] = "session_id",
    [MS_USER] = "server_principal_name", [MS_DB] = "database_name",
    [MS_SCHEMA] = "schema_name",    [MS_OBJECT] = "object_name",
    [MS_STATEMENT] = "statement",   [MS_CLIENT_IP] = "client_ip",
    [MS_HOST] = "host_name",        [MS_APP] = "application_name",
    [MS_ROWS] = "affected_rows",
};

static const uint32_t ms_required[] = {1u << MS_TIME, 1u << MS_USER, 1u << MS_ACTION, 0};

/* action_id codes (sys.dm_audit_actions) and the canonical action they are. */
static const struct {
    const char *code, *action;
} ms_actions[] = {
    {"SL", "SELECT"}, {"IN", "INSERT"}, {"UP", "UPDATE"}, {"DL", "DELETE"},  {"EX", "EXECUTE"},
    {"RC", "RECEIVE"}, {"LGIS", "LOGIN"}, {"LGIF", "LOGIN"}, {"LGO", "LOGOUT"}, {"AL", "ALTER"},
    {"CR", "CREATE"}, {"DR", "DROP"},   {"BA", "BACKUP"}, {"TO", "TRANSFER"},
};

/* The action of a record: its action_id's verb; for another code, the statement's verb, else the
 * code itself. A failed login (LGIF) is a failed LOGIN. */
static cw_decode_result_t ms_action(cw_event_t *ev, const cw_csv_cells_t *c)
{
    const char *s = NULL;
    size_t n = trimmed(c, MS_ACTION, &s);
    char verb[CW_ACTION_MAX + 1];
    for (size_t i = 0; n && i < sizeof ms_actions / sizeof *ms_actions; i++) {
        if (strlen(ms_actions[i].code) == n && strncasecmp(ms_actions[i].code, s, n) == 0)
            return cw_decode_set_field(ev, CW_F_ACTION, ms_actions[i].action, strlen(ms_actions[i].action));
    }
    verb[0] = '\0';
    if (n && c->s[MS_STATEMENT])
        cw_native_sql_verb(c->s[MS_STATEMENT], c->len[MS_STATEMENT], verb);
    if (verb[0])
        return cw_decode_set_field(ev, CW_F_ACTION, verb, strlen(verb));
    return cw_decode_set_field(ev, CW_F_ACTION, s ? s : "", n);
}

/* succeeded is a bit: 1 or 0, True or False as exports print it. */
static cw_decode_result_t ms_succeeded(cw_event_t *ev, const cw_csv_cells_t *c)
{
    const char *s = NULL;
    size_t n = trimmed(c, MS_SUCCEEDED, &s);
    bool yes = (n == 1 && s[0] == '1') || (n == 4 && strncasecmp(s, "true", 4) == 0);
    bool no = (n == 1 && s[0] == '0') || (n == 5 && strncasecmp(s, "false", 5) == 0);
    if (n == 0)
        return CW_DECODE_OK;
    return set_status(ev, yes || no, yes);
}

static cw_decode_result_t ms_decode(cw_event_t *ev, const cw_csv_cells_t *c)
{
    const char *s = NULL;
    size_t n = trimmed(c, MS_TIME, &s);
    if (n)
        CW_DECODE_TRY(set_time(ev, s, n, true));
    CW_DECODE_TRY(set_cell(ev, CW_F_PRINCIPAL, c, MS_USER));
    CW_DECODE_TRY(ms_action(ev, c));
    CW_DECODE_TRY(ms_succeeded(ev, c));
    if (trimmed(c, MS_ACTION, &s) == 4 && strncasecmp(s, "LGIF", 4) == 0)
        CW_DECODE_TRY(cw_decode_set_field(ev, CW_F_STATUS, "fail", 4));
    CW_DECODE_TRY(set_cell(ev, CW_F_SESSION_ID, c, MS_SESSION));
    CW_DECODE_TRY(set_cell(ev, CW_F_DB, c, MS_DB));
    CW_DECODE_TRY(set_cell(ev, CW_F_CLIENT_HOST, c, trimmed(c, MS_CLIENT_IP, &s) ? MS_CLIENT_IP : MS_HOST));
    CW_DECODE_TRY(set_cell(ev, CW_F_CLIENT_APP, c, MS_APP));
    CW_DECODE_TRY(set_cell(ev, CW_F_ROWS, c, MS_ROWS));
    CW_DECODE_TRY(set_object(ev, c, MS_SCHEMA, MS_OBJECT));
    CW_DECODE_TRY(set_statement(ev, c, MS_STATEMENT));
    return cw_decode_finish(ev);
}

static const cw_csv_dialect_t mssql_csv = {"mssql-csv", ms_columns, MS_COLUMNS, ms_required, ms_decode, NULL};

/* ---- Oracle XML audit files (AUDIT_TRAIL=XML): the same record under other names ---- */

static const char *const ora_xml_columns[ORA_COLUMNS] = {
    [ORA_TS_UTC] = "EVENT_TIMESTAMP_UTC", [ORA_TS] = "Extended_Timestamp",
    [ORA_USER] = "DB_User",               [ORA_ACTION] = "Action",
    [ORA_SCHEMA] = "Object_Schema",       [ORA_OBJECT] = "Object_Name",
    [ORA_SQL] = "Sql_Text",               [ORA_HOST] = "Userhost",
    [ORA_PROGRAM] = "CLIENT_PROGRAM_NAME", [ORA_RETURN] = "Returncode",
    [ORA_SESSION] = "Session_Id",
};

/* Action codes (the AUDIT_ACTIONS table) and the word ACTION_NAME starts with. */
static const struct {
    int code;
    const char *name;
} ora_codes[] = {
    {1, "CREATE"},   {2, "INSERT"},  {3, "SELECT"},  {6, "UPDATE"},   {7, "DELETE"},  {9, "CREATE"},
    {12, "DROP"},    {15, "ALTER"},  {17, "GRANT"},  {18, "REVOKE"},  {26, "LOCK"},   {43, "ALTER"},
    {47, "EXECUTE"}, {51, "CREATE"}, {53, "DROP"},   {85, "TRUNCATE"}, {100, "LOGON"}, {101, "LOGOFF"},
    {102, "LOGOFF"}, {189, "MERGE"},
};

/* <Action> is a number: its name; another code, the statement's verb, else the number itself. */
static cw_decode_result_t ora_xml_decode(cw_event_t *ev, const cw_csv_cells_t *c)
{
    cw_csv_cells_t named = *c;
    const char *s = NULL;
    size_t n = trimmed(c, ORA_ACTION, &s);
    char verb[CW_ACTION_MAX + 1];
    if (n && n < 6 && is_int(s, n) && s[0] != '-') {
        int code = 0;
        for (size_t i = 0; i < n; i++)
            code = code * 10 + (s[i] - '0');
        verb[0] = '\0';
        for (size_t i = 0; i < sizeof ora_codes / sizeof *ora_codes; i++) {
            if (ora_codes[i].code == code)
                snprintf(verb, sizeof verb, "%s", ora_codes[i].name);
        }
        if (!verb[0] && c->s[ORA_SQL])
            cw_native_sql_verb(c->s[ORA_SQL], c->len[ORA_SQL], verb);
        if (verb[0]) {
            named.s[ORA_ACTION] = verb;
            named.len[ORA_ACTION] = strlen(verb);
        }
    }
    return ora_decode(ev, &named);
}

static const cw_csv_dialect_t oracle_json = {"oracle-json", ora_columns, ORA_COLUMNS, ora_required, ora_decode, NULL};
static const cw_csv_dialect_t oracle_xml = {"oracle-xml", ora_xml_columns, ORA_COLUMNS, ora_required, ora_xml_decode,
                                            NULL};

/* ---- Percona audit_log plugin, legacy formats (audit_log_format OLD, NEW, JSON) ---- */

enum {
    PC_NAME,
    PC_TIME,
    PC_CLASS,
    PC_CONNECTION,
    PC_USER,
    PC_HOST,
    PC_IP,
    PC_DB,
    PC_SQL,
    PC_STATUS,
    PC_COLUMNS
};

static const char *const pc_columns[PC_COLUMNS] = {
    [PC_NAME] = "name",        [PC_TIME] = "timestamp",       [PC_CLASS] = "command_class",
    [PC_CONNECTION] = "connection_id", [PC_USER] = "user",    [PC_HOST] = "host",
    [PC_IP] = "ip",            [PC_DB] = "db",                [PC_SQL] = "sqltext",
    [PC_STATUS] = "status",
};

static const uint32_t pc_required[] = {1u << PC_NAME, 0};

static bool cell_is(const cw_csv_cells_t *c, int k, const char *word)
{
    const char *s = NULL;
    size_t n = trimmed(c, k, &s);
    return n == strlen(word) && strncasecmp(s, word, n) == 0;
}

/* Audit, Startup and NoAudit (the plugin switched on or off) are not records; every other name is. */
static bool pc_is_record(const cw_csv_cells_t *c)
{
    return !cell_is(c, PC_NAME, "Audit") && !cell_is(c, PC_NAME, "Startup") && !cell_is(c, PC_NAME, "NoAudit");
}

/* "2016-01-27T13:23:55 UTC" (always UTC) as an ISO time. */
static cw_decode_result_t pc_time(cw_event_t *ev, const cw_csv_cells_t *c)
{
    const char *s = NULL;
    size_t n = trimmed(c, PC_TIME, &s);
    if (n > 4 && strncasecmp(s + n - 4, " UTC", 4) == 0)
        n -= 4;
    return n ? set_time(ev, s, n, true) : CW_DECODE_OK;
}

/* Connect and Change user are LOGIN, Quit is LOGOUT; a statement is its verb, else the first word
 * of command_class ("show_databases": SHOW). */
static cw_decode_result_t pc_action(cw_event_t *ev, const cw_csv_cells_t *c)
{
    const char *s = NULL;
    char verb[CW_ACTION_MAX + 1] = "";
    size_t n, k;
    if (cell_is(c, PC_NAME, "Connect") || cell_is(c, PC_NAME, "Change user"))
        return cw_decode_set_field(ev, CW_F_ACTION, "LOGIN", 5);
    if (cell_is(c, PC_NAME, "Quit"))
        return cw_decode_set_field(ev, CW_F_ACTION, "LOGOUT", 6);
    if (c->s[PC_SQL])
        cw_native_sql_verb(c->s[PC_SQL], c->len[PC_SQL], verb);
    if (verb[0])
        return cw_decode_set_field(ev, CW_F_ACTION, verb, strlen(verb));
    n = trimmed(c, PC_CLASS, &s);
    for (k = 0; k < n && k < CW_ACTION_MAX && s[k] != '_'; k++)
        verb[k] = (char)(s[k] >= 'a' && s[k] <= 'z' ? s[k] - 'a' + 'A' : s[k]);
    return cw_decode_set_field(ev, CW_F_ACTION, verb, k);
}

/* "root[root] @ localhost [127.0.0.1]": the name before the bracket. */
static cw_decode_result_t pc_user(cw_event_t *ev, const cw_csv_cells_t *c)
{
    const char *s = NULL;
    size_t n = trimmed(c, PC_USER, &s);
    const char *br = n ? memchr(s, '[', n) : NULL;
    if (br)
        n = (size_t)(br - s);
    while (n && s[n - 1] == ' ')
        n--;
    return n ? cw_decode_set_field(ev, CW_F_PRINCIPAL, s, n) : CW_DECODE_OK;
}

static cw_decode_result_t pc_decode(cw_event_t *ev, const cw_csv_cells_t *c)
{
    const char *s = NULL;
    size_t n;
    CW_DECODE_TRY(pc_time(ev, c));
    CW_DECODE_TRY(pc_user(ev, c));
    CW_DECODE_TRY(pc_action(ev, c));
    CW_DECODE_TRY(set_cell(ev, CW_F_CLIENT_HOST, c, trimmed(c, PC_IP, &s) ? PC_IP : PC_HOST));
    CW_DECODE_TRY(set_cell(ev, CW_F_SESSION_ID, c, PC_CONNECTION));
    CW_DECODE_TRY(set_cell(ev, CW_F_DB, c, PC_DB));
    if ((n = trimmed(c, PC_STATUS, &s)) != 0)
        CW_DECODE_TRY(set_status(ev, is_int(s, n), n == 1 && s[0] == '0'));
    CW_DECODE_TRY(set_statement(ev, c, PC_SQL));
    return cw_decode_finish(ev);
}

static const cw_csv_dialect_t percona_json = {"percona-json", pc_columns, PC_COLUMNS, pc_required, pc_decode,
                                              pc_is_record};
static const cw_csv_dialect_t percona_xml = {"percona-xml", pc_columns, PC_COLUMNS, pc_required, pc_decode,
                                             pc_is_record};

const cw_csv_dialect_t *cw_audit_csv_dialect(cw_audit_format_t f)
{
    return f == CW_AUDIT_ORACLE_CSV ? &oracle_csv : f == CW_AUDIT_MSSQL_CSV ? &mssql_csv : NULL;
}

const cw_csv_dialect_t *cw_audit_dialect(cw_audit_format_t f)
{
    switch (f) {
    case CW_AUDIT_ORACLE_JSON: return &oracle_json;
    case CW_AUDIT_ORACLE_XML: return &oracle_xml;
    case CW_AUDIT_PERCONA_JSON: return &percona_json;
    case CW_AUDIT_PERCONA_XML: return &percona_xml;
    default: return cw_audit_csv_dialect(f);
    }
}
