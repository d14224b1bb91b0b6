/*
 * event.h — the normalised record every decoder produces and the engine consumes.
 *
 * One cw_event_t holds either a CDR (doc/formats.md §1.1) or a database audit record (doc/formats.md §1.2).
 * Strings live in fixed-size arrays inside the event, so decoding reuses one event per source
 * and never allocates; every limit below is also the "oversize" bound a decoder enforces.
 * Which optional fields were present is recorded in `present` (one bit per cw_field_t).
 */
#ifndef CDRWATCH_EVENT_H
#define CDRWATCH_EVENT_H

#include <stdbool.h>
#include "cdrwatch/common.h"

typedef enum { CW_STREAM_CDR = 0, CW_STREAM_AUDIT = 1, CW_STREAM_COUNT } cw_stream_t;

/* The one list of record fields: every field of both streams, in the order of doc/formats.md
 * (§1.1, §1.2), which is also the default column order of headerless CSV messages on Kafka.
 * Adding a field is a line here, a member in cw_cdr_t or cw_audit_t, and its row in
 * doc/formats.md (test_event checks the document names every field, test_config that the
 * default csv_columns follow this order); the enum, the names, validation, cw_event_str,
 * cw_event_num and cw_event_reset follow from the line.
 *
 *   X(ID, name, stream, required, type, member, limit)
 *
 * ID gives CW_F_<ID>; name is the field's name in records; member is the field's place in the
 * event's union (u.<member>); limit is the longest text in bytes (CW_FT_TEXT), 0 otherwise. */
#define CW_CDR_FIELDS(X)                                                        \
    X(START_TIME, start_time, CDR, true, TIME, cdr.start_time, 0)               \
    X(RECORD_TYPE, record_type, CDR, true, ENUM, cdr.record_type, 0)            \
    X(CALLING_MSISDN, calling_msisdn, CDR, true, MSISDN, cdr.calling_msisdn, 0) \
    X(CALLED_MSISDN, called_msisdn, CDR, false, MSISDN, cdr.called_msisdn, 0)   \
    X(DURATION_S, duration_s, CDR, false, COUNT, cdr.duration_s, 0)             \
    X(RECORD_ID, record_id, CDR, false, TEXT, cdr.record_id, CW_ID_MAX)         \
    X(IMSI, imsi, CDR, false, TEXT, cdr.imsi, CW_ID_MAX)                        \
    X(IMEI, imei, CDR, false, TEXT, cdr.imei, CW_ID_MAX)                        \
    X(CELL_ID, cell_id, CDR, false, TEXT, cdr.cell_id, CW_ID_MAX)               \
    X(BYTES_UP, bytes_up, CDR, false, COUNT, cdr.bytes_up, 0)                   \
    X(BYTES_DOWN, bytes_down, CDR, false, COUNT, cdr.bytes_down, 0)
#define CW_AUDIT_FIELDS(X)                                                          \
    X(TS, ts, AUDIT, true, TIME, audit.ts, 0)                                       \
    X(PRINCIPAL, principal, AUDIT, true, TEXT, audit.principal, CW_NAME_MAX)        \
    X(ACTION, action, AUDIT, true, TEXT, audit.action, CW_ACTION_MAX)               \
    X(CLIENT_HOST, client_host, AUDIT, false, TEXT, audit.client_host, CW_HOST_MAX) \
    X(CLIENT_APP, client_app, AUDIT, false, TEXT, audit.client_app, CW_NAME_MAX)    \
    X(DB, db, AUDIT, false, TEXT, audit.db, CW_NAME_MAX)                            \
    X(OBJECT, object, AUDIT, false, TEXT, audit.object, CW_OBJECT_MAX)              \
    X(ROWS, rows, AUDIT, false, COUNT, audit.rows, 0)                               \
    X(BYTES, bytes, AUDIT, false, COUNT, audit.bytes, 0)                            \
    X(STATEMENT, statement, AUDIT, false, TEXT, audit.statement, CW_STATEMENT_MAX)  \
    X(SUBSCRIBERS, subscribers, AUDIT, false, LIST, audit.subscribers, 0)           \
    X(STATUS, status, AUDIT, false, ENUM, audit.failed, 0)                          \
    X(SESSION_ID, session_id, AUDIT, false, TEXT, audit.session_id, CW_ID_MAX)
#define CW_FIELDS(X) CW_CDR_FIELDS(X) CW_AUDIT_FIELDS(X)

/* How a field's text is read (cw_decode_set_field) and where its value is kept. */
typedef enum {
    CW_FT_TIME,   /* cw_time_parse; also the event's ts */
    CW_FT_ENUM,   /* one of a few names (record_type, status) */
    CW_FT_MSISDN, /* cw_msisdn_normalise into a cw_msisdn_t */
    CW_FT_COUNT,  /* a non-negative integer in an int64_t */
    CW_FT_TEXT,   /* UTF-8 text of at most `limit` bytes in a char array */
    CW_FT_LIST    /* the subscribers: MSISDNs */
} cw_field_type_t;

#define CW_FIELD_ENUM_(id, name, stream, required, type, member, limit) CW_F_##id,
typedef enum {
    CW_FIELDS(CW_FIELD_ENUM_)
    CW_F_COUNT, /* fields of records */
    /* Derived fields: computed by the engine for audit records, usable in rule filters, never
     * decoded from input. */
    CW_F_V_HISTORY_PULL = 64, /* "true" when the rows reach most of the subscribers' history */
    CW_F_V_WATCHLISTED,       /* "true" when a subscriber (or a linked identity) is watchlisted */
    CW_F_V_UNBOUNDED_SELECT,  /* "true" for SELECT * / COPY of a whole table, without WHERE or LIMIT */
    CW_F_V_HOURS,             /* the hour of week of the record; filters give hour specs */
    CW_F_V_DAMAGED,           /* "true" when the decoder repaired a field (cw_event_t.damage) */
    CW_F_V_END,
    CW_F_NONE = -1
} cw_field_t;

static inline bool cw_field_is_derived(cw_field_t f) { return f >= CW_F_V_HISTORY_PULL && f < CW_F_V_END; }

#undef CW_FIELD_ENUM_

#define CW_FIELD_COUNT_(id, name, stream, required, type, member, limit) +1
#define CW_FIRST_CDR_FIELD 0
#define CW_LAST_CDR_FIELD (CW_FIRST_AUDIT_FIELD - 1)
#define CW_FIRST_AUDIT_FIELD (0 CW_CDR_FIELDS(CW_FIELD_COUNT_))
#define CW_LAST_AUDIT_FIELD (CW_F_COUNT - 1)
/* `present` has one bit per field of a stream */
_Static_assert(CW_LAST_CDR_FIELD - CW_FIRST_CDR_FIELD < 32 && CW_LAST_AUDIT_FIELD - CW_FIRST_AUDIT_FIELD < 32,
               "more fields in a stream than bits in cw_event_t.present");

typedef enum { CW_REC_VOICE = 0, CW_REC_SMS, CW_REC_DATA } cw_record_type_t;

/* Size limits (bytes, without the terminating NUL). A longer value of a required field
 * (principal, action) makes the record invalid; a longer value of any other text field is cut
 * to its head and tail around CW_CUT_MARKER and flagged CW_DAMAGE_TRUNCATED. */
#define CW_MSISDN_MAX 15 /* E.164 digits after normalisation */
#define CW_ID_MAX 64     /* record_id, imsi, imei, cell_id, session_id */
#define CW_NAME_MAX 128  /* principal, client_app, db */
#define CW_HOST_MAX 255  /* client_host */
#define CW_ACTION_MAX 32
#define CW_OBJECT_MAX 255
#define CW_STATEMENT_MAX 16384
#define CW_SUBSCRIBERS_MAX 64 /* identifiers per statement */

typedef char cw_msisdn_t[CW_MSISDN_MAX + 1];

/* Damage a decoder repaired in a record's optional text fields (doc/formats.md §1.3): whoever
 * writes a statement must not be able to hide the record by breaking it, so the record is kept
 * and these bits say what was repaired. Rules see them as the derived field `damaged`; alerts
 * list them in cdrwatch.evidence.damage; the engine counts them per kind. */
typedef enum {
    CW_DAMAGE_BAD_UTF8 = 1u << 0,     /* invalid bytes, a surrogate, a cut sequence: each U+FFFD */
    CW_DAMAGE_OVERLONG_UTF8 = 1u << 1, /* an overlong encoding (C0 80, E0 80 AF...): U+FFFD */
    CW_DAMAGE_TRUNCATED = 1u << 2,    /* over the field's limit: head and tail kept around the marker */
    CW_DAMAGE_CONTROL = 1u << 3,      /* control characters other than tab, LF, CR: kept, escaped in output */
    CW_DAMAGE_NUL = 1u << 4,          /* NUL bytes, raw or escaped in JSON: U+FFFD (a C string holds none) */
} cw_damage_t;
#define CW_DAMAGE_KINDS 5
/* Between the head and the tail of a cut value: "…[truncated]…" (17 bytes). */
#define CW_CUT_MARKER "\xe2\x80\xa6[truncated]\xe2\x80\xa6"
#define CW_CUT_MARKER_LEN 17
/* "bad_utf8", "overlong_utf8", "truncated", "control", "nul" for kind k (0..CW_DAMAGE_KINDS-1):
 * the names of the replay summary, of alerts and of doc/formats.md. */
const char *cw_damage_name(int k);

typedef struct {
    cw_time_t start_time;
    cw_record_type_t record_type;
    cw_msisdn_t calling_msisdn;
    cw_msisdn_t called_msisdn;
    int64_t duration_s;
    char record_id[CW_ID_MAX + 1];
    char imsi[CW_ID_MAX + 1];
    char imei[CW_ID_MAX + 1];
    char cell_id[CW_ID_MAX + 1];
    int64_t bytes_up;
    int64_t bytes_down;
} cw_cdr_t;

typedef struct {
    cw_time_t ts;
    char principal[CW_NAME_MAX + 1];
    char action[CW_ACTION_MAX + 1]; /* upper-cased by the decoder */
    char client_host[CW_HOST_MAX + 1];
    char client_app[CW_NAME_MAX + 1];
    char db[CW_NAME_MAX + 1];
    char object[CW_OBJECT_MAX + 1];
    int64_t rows;
    int64_t bytes;
    char statement[CW_STATEMENT_MAX + 1];
    cw_msisdn_t subscribers[CW_SUBSCRIBERS_MAX];
    int n_subscribers;
    bool failed; /* status == fail */
    char session_id[CW_ID_MAX + 1];
} cw_audit_t;

typedef struct {
    cw_stream_t stream;
    cw_time_t ts;      /* event time: start_time or ts */
    uint32_t present;  /* bit (1u << (f - first field of the stream)) per field present */
    cw_pos_t pos;      /* where the record came from */
    int source_index;  /* which input (replay merge tie-break) */
    uint8_t damage;    /* cw_damage_t bits: what the decoder repaired */
    union {
        cw_cdr_t cdr;
        cw_audit_t audit;
    } u;
} cw_event_t;

/* Empty an event for a stream before decoding into it. */
void cw_event_reset(cw_event_t *ev, cw_stream_t stream);

/* Field names as in doc/formats.md (lower case) and the stream each belongs to. */
const char *cw_field_name(cw_field_t f);
cw_stream_t cw_field_stream(cw_field_t f);
/* A derived field by name ("history_pull"...), CW_F_NONE if unknown. */
cw_field_t cw_field_lookup_derived(const char *name);
/* Look a field up by name within one stream, case-insensitively; CW_F_NONE if unknown. */
cw_field_t cw_field_lookup(cw_stream_t stream, const char *name, size_t len);
bool cw_field_required(cw_field_t f);
cw_field_type_t cw_field_type(cw_field_t f);
/* The longest value of a text field in bytes (CW_FT_TEXT), 0 for the others. */
size_t cw_field_limit(cw_field_t f);
const char *cw_stream_name(cw_stream_t s);

static inline bool cw_event_has(const cw_event_t *ev, cw_field_t f)
{
    if (f < 0 || f >= CW_F_COUNT)
        return false;
    int first = ev->stream == CW_STREAM_CDR ? CW_FIRST_CDR_FIELD : CW_FIRST_AUDIT_FIELD;
    return (ev->present >> (f - first)) & 1u;
}

/* Where the value of field f is kept in ev: a char array (CW_FT_TEXT, CW_FT_MSISDN), an int64_t
 * (CW_FT_COUNT, CW_FT_TIME), the record type or the failed flag (CW_FT_ENUM), the subscribers'
 * array (CW_FT_LIST). f must be a field of ev's stream. */
void *cw_event_value(cw_event_t *ev, cw_field_t f);

/* Textual value of a string field of an audit or CDR event ("" when absent or not a string
 * field); used by rule filters and keys. */
const char *cw_event_str(const cw_event_t *ev, cw_field_t f);
/* Numeric value of an integer field (0 when absent). */
int64_t cw_event_num(const cw_event_t *ev, cw_field_t f);

/* Parse an ISO-8601 time ("2021-03-02T03:14:07Z", optional fraction, 'Z' or ±hh:mm / ±hhmm;
 * a space is accepted for 'T') or integer epoch milliseconds. Years 1970–9999. A time without
 * an offset is rejected: local time would shift every window. Returns true on success. */
bool cw_time_parse(const char *s, size_t len, cw_time_t *out);
/* Format as "2021-03-02T03:14:07.000Z" (24 bytes + NUL); returns buf. */
char *cw_time_format(cw_time_t t, char buf[32]);

/* Normalise an MSISDN: strip spaces, then a leading '+' or "00"; the rest must be 1–15 digits.
 * Returns true and fills out on success. */
bool cw_msisdn_normalise(const char *s, size_t len, cw_msisdn_t out);

/* Parse a decimal duration like "30s", "5m", "1h", "7d", "250ms" into ms. */
bool cw_duration_parse(const char *s, cw_time_t *out);
/* Format ms as the shortest exact duration string ("90s", "1h", "7d"); returns buf. */
char *cw_duration_format(cw_time_t ms, char buf[32]);

#endif
