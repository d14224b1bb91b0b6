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

/* Every field of both streams, in the order of doc/formats.md. The order is also the default column order
 * of headerless CSV messages on Kafka. */
typedef enum {
    /* CDR */
    CW_F_START_TIME = 0,
    CW_F_RECORD_TYPE,
    CW_F_CALLING_MSISDN,
    CW_F_CALLED_MSISDN,
    CW_F_DURATION_S,
    CW_F_RECORD_ID,
    CW_F_IMSI,
    CW_F_IMEI,
    CW_F_CELL_ID,
    CW_F_BYTES_UP,
    CW_F_BYTES_DOWN,
    /* audit */
    CW_F_TS,
    CW_F_PRINCIPAL,
    CW_F_ACTION,
    CW_F_CLIENT_HOST,
    CW_F_CLIENT_APP,
    CW_F_DB,
    CW_F_OBJECT,
    CW_F_ROWS,
    CW_F_BYTES,
    CW_F_STATEMENT,
    CW_F_SUBSCRIBERS,
    CW_F_STATUS,
    CW_F_SESSION_ID,
    CW_F_COUNT,
    /* Derived fields: computed by the engine for audit records, usable in rule filters, never
     * decoded from input. */
    CW_F_V_HISTORY_PULL = 64, /* "true" when the rows reach most of the subscribers' history */
    CW_F_V_WATCHLISTED,       /* "true" when a subscriber (or a linked identity) is watchlisted */
    CW_F_V_UNBOUNDED_SELECT,  /* "true" for SELECT * / COPY of a whole table, without WHERE or LIMIT */
    CW_F_V_HOURS,             /* the hour of week of the record; filters give hour specs */
    CW_F_V_END,
    CW_F_NONE = -1
} cw_field_t;

static inline bool cw_field_is_derived(cw_field_t f) { return f >= CW_F_V_HISTORY_PULL && f < CW_F_V_END; }

#define CW_FIRST_CDR_FIELD CW_F_START_TIME
#define CW_LAST_CDR_FIELD CW_F_BYTES_DOWN
#define CW_FIRST_AUDIT_FIELD CW_F_TS
#define CW_LAST_AUDIT_FIELD CW_F_SESSION_ID

typedef enum { CW_REC_VOICE = 0, CW_REC_SMS, CW_REC_DATA } cw_record_type_t;

/* Size limits (bytes, without the terminating NUL). A longer value makes the record invalid. */
#define CW_MSISDN_MAX 15 /* E.164 digits after normalisation */
#define CW_ID_MAX 64     /* record_id, imsi, imei, cell_id, session_id */
#define CW_NAME_MAX 128  /* principal, client_app, db */
#define CW_HOST_MAX 255  /* client_host */
#define CW_ACTION_MAX 32
#define CW_OBJECT_MAX 255
#define CW_STATEMENT_MAX 16384
#define CW_SUBSCRIBERS_MAX 64 /* identifiers per statement */

typedef char cw_msisdn_t[CW_MSISDN_MAX + 1];

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
const char *cw_stream_name(cw_stream_t s);

static inline bool cw_event_has(const cw_event_t *ev, cw_field_t f)
{
    if (f < 0 || f >= CW_F_COUNT)
        return false;
    int first = ev->stream == CW_STREAM_CDR ? CW_FIRST_CDR_FIELD : CW_FIRST_AUDIT_FIELD;
    return (ev->present >> (f - first)) & 1u;
}

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
