/*
 * decode_native.h — audit logs as the database servers write them, into cw_event_t:
 * pgaudit (PostgreSQL log lines), MariaDB server_audit (its CSV-like file) and the MySQL
 * Enterprise / Percona audit_log_filter JSON format.
 *
 * Every value goes through cw_decode_set_field and every record ends with cw_decode_finish, so
 * the limits and reasons of the canonical decoders (doc/formats.md §1) hold here too. A decoder
 * is given one record's bytes — a pgaudit message with its continuation lines, one server_audit
 * line, one JSON object — and says whether it was an audit record at all: server messages that
 * are not pgaudit records, and JSON events that are not statements or logins, are not records
 * (the reader counts them as skipped), while a record that is malformed is a reason code, as
 * everywhere else. Field mapping and what each source lacks: doc/formats.md §1.4.
 *
 * A decoder (cw_native_t) belongs to one input; it keeps scratch buffers (one record long) and,
 * for pgaudit, a small fixed table that recognises the repeated lines pgaudit writes for one
 * statement. Nothing is allocated per record.
 */
#ifndef CDRWATCH_DECODE_NATIVE_H
#define CDRWATCH_DECODE_NATIVE_H

#include <apr_pools.h>
#include "cdrwatch/decode.h"
#include "cdrwatch/decode_tz.h"

/* Layout of an audit input (replay --audit-format). */
typedef enum {
    CW_AUDIT_CANONICAL = 0, /* doc/formats.md §1.2, CSV with a header or JSON Lines */
    CW_AUDIT_PGAUDIT,       /* PostgreSQL log with pgaudit AUDIT: lines */
    CW_AUDIT_MARIADB,       /* MariaDB server_audit file output */
    CW_AUDIT_MYSQL_JSON,    /* MySQL Enterprise Audit / Percona audit_log_filter, JSON */
    CW_AUDIT_ORACLE_CSV,    /* Oracle UNIFIED_AUDIT_TRAIL rows as CSV with a header */
    CW_AUDIT_MSSQL_CSV,     /* SQL Server sys.fn_get_audit_file rows as CSV with a header */
    CW_AUDIT_ORACLE_JSON,   /* Oracle UNIFIED_AUDIT_TRAIL rows as JSON objects */
    CW_AUDIT_ORACLE_XML,    /* Oracle XML audit files (AUDIT_TRAIL=XML), <AuditRecord> elements */
    CW_AUDIT_PERCONA_JSON,  /* Percona audit_log plugin, legacy JSON ({"audit_record": ...}) */
    CW_AUDIT_PERCONA_XML,   /* Percona audit_log plugin, legacy XML (<AUDIT_RECORD>, OLD and NEW) */
    CW_AUDIT_FORMAT_COUNT
} cw_audit_format_t;

/* "canonical", "pgaudit", "mariadb", "mysql-json", "oracle-csv", "mssql-csv", "oracle-json",
 * "oracle-xml", "percona-json", "percona-xml"; false if the name is none of them. */
bool cw_audit_format_parse(const char *name, cw_audit_format_t *out);
const char *cw_audit_format_name(cw_audit_format_t f);

/* The log_line_prefix assumed when --pg-log-prefix is not given (the one pgBadger recommends). */
#define CW_PG_DEFAULT_PREFIX "%t [%p]: user=%u,db=%d,app=%a,client=%h "

typedef struct cw_pg_prefix cw_pg_prefix_t;

/* Compile a PostgreSQL log_line_prefix. Understood: %t %m %n %p %u %d %a %h %r %c %l %s %v %x
 * %e %b %i %P %Q %q %%, with PostgreSQL's optional padding (%-10u). It must contain %u (the
 * principal) and one of %m, %t, %n (the time), and a text-valued escape (%u %d %a %h %r %b %i)
 * must be followed by literal text, which is where its value ends. CW_ERR_USAGE with a message
 * otherwise. */
cw_status_t cw_pg_prefix_compile(apr_pool_t *pool, const char *prefix, cw_pg_prefix_t **out,
                                 char *err, size_t errlen);

/* The CSV dialect of a format read as a CSV export of a vendor's audit view (oracle-csv,
 * mssql-csv: decode_audit_csv.c), NULL for the others. Such an input is framed and its header
 * read as canonical CSV is (decode.h), only its columns and their meaning differ. */
const cw_csv_dialect_t *cw_audit_csv_dialect(cw_audit_format_t f);
/* The same view read from JSON objects or XML records (oracle-json, oracle-xml, percona-json,
 * percona-xml): the dialect whose columns are matched, case-insensitively, against the members
 * of the object or the attributes and leaf elements of the record; the CSV dialects too; NULL for
 * the others. */
const cw_csv_dialect_t *cw_audit_dialect(cw_audit_format_t f);
/* Is the format read as XML records (decode_xml.c frames them)? */
static inline bool cw_audit_format_xml(cw_audit_format_t f)
{
    return f == CW_AUDIT_ORACLE_XML || f == CW_AUDIT_PERCONA_XML;
}

/* The SQL reader of the native decoders (doc/formats.md §1.4, "Verbs and tables"), for the CSV
 * dialects: the verb of a statement, upper-cased into verb ("" when it has none) ... */
void cw_native_sql_verb(const char *s, size_t len, char verb[CW_ACTION_MAX + 1]);
/* ... and its first table set as ev's object (left out when there is none or it is too long). */
cw_decode_result_t cw_native_sql_object(cw_event_t *ev, const char *s, size_t len);

typedef struct cw_native cw_native_t;

/* A decoder for one input of a native format (not CW_AUDIT_CANONICAL, nor a CSV dialect). prefix is used by
 * pgaudit only; NULL means CW_PG_DEFAULT_PREFIX. Lives as long as the pool. */
cw_status_t cw_native_create(apr_pool_t *pool, cw_audit_format_t fmt, const cw_pg_prefix_t *prefix,
                             cw_native_t **out);

/* The zone of a mariadb input's local times (inputs.audit.tz, --audit-tz; resolved at load and
 * shared, read-only, by every decoding thread). NULL, the default: UTC. Other formats carry
 * their zone (or UTC) in the record and ignore it. */
void cw_native_set_tz(cw_native_t *n, const cw_tz_t *tz);

/* Decode one record into ev (an audit event). *is_record is false when the bytes are not an
 * audit record (the result is then CW_DEC_OK and ev is meaningless); otherwise the result says
 * whether ev is valid.
 *   pgaudit:    one log message: its first line and the lines that continue it (each begins
 *               with a tab, as PostgreSQL writes a message's newlines), newlines included.
 *   mariadb:    one line.
 *   mysql-json: one JSON object (it may span lines). */
cw_decode_result_t cw_native_decode(cw_native_t *n, const char *buf, size_t len, cw_event_t *ev,
                                    bool *is_record);
/* The mysql-json decoder through cJSON's tree, the reference cw_native_decode (which reads the
 * object in place) is held to by test_json_scan and the fuzz target json_scan. */
cw_decode_result_t cw_native_decode_mysql_reference(const char *buf, size_t len, cw_event_t *ev, bool *is_record);

/* pgaudit framing: does this physical line continue the previous message (a leading tab)? */
static inline bool cw_pgaudit_continues(const char *line, size_t len)
{
    return len > 0 && line[0] == '\t';
}

#endif
