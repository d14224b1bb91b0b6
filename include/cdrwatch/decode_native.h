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

/* Layout of an audit input (replay --audit-format). */
typedef enum {
    CW_AUDIT_CANONICAL = 0, /* doc/formats.md §1.2, CSV with a header or JSON Lines */
    CW_AUDIT_PGAUDIT,       /* PostgreSQL log with pgaudit AUDIT: lines */
    CW_AUDIT_MARIADB,       /* MariaDB server_audit file output */
    CW_AUDIT_MYSQL_JSON,    /* MySQL Enterprise Audit / Percona audit_log_filter, JSON */
    CW_AUDIT_FORMAT_COUNT
} cw_audit_format_t;

/* "canonical", "pgaudit", "mariadb", "mysql-json"; false if the name is none of them. */
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

typedef struct cw_native cw_native_t;

/* A decoder for one input of a native format (not CW_AUDIT_CANONICAL). prefix is used by
 * pgaudit only; NULL means CW_PG_DEFAULT_PREFIX. Lives as long as the pool. */
cw_status_t cw_native_create(apr_pool_t *pool, cw_audit_format_t fmt, const cw_pg_prefix_t *prefix,
                             cw_native_t **out);

/* Decode one record into ev (an audit event). *is_record is false when the bytes are not an
 * audit record (the result is then CW_DEC_OK and ev is meaningless); otherwise the result says
 * whether ev is valid.
 *   pgaudit:    one log message: its first line and the lines that continue it (each begins
 *               with a tab, as PostgreSQL writes a message's newlines), newlines included.
 *   mariadb:    one line.
 *   mysql-json: one JSON object (it may span lines). */
cw_decode_result_t cw_native_decode(cw_native_t *n, const char *buf, size_t len, cw_event_t *ev,
                                    bool *is_record);

/* pgaudit framing: does this physical line continue the previous message (a leading tab)? */
static inline bool cw_pgaudit_continues(const char *line, size_t len)
{
    return len > 0 && line[0] == '\t';
}

#endif
