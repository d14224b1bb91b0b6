/*
 * decode.h — turn bytes into cw_event_t: CSV (libcsv, RFC 4180) and JSON (cJSON), a line of a
 * file (replay) or a Kafka message (run, demo). Every bytes-to-event step is here or in
 * decode_native.h; the sources only frame records.
 *
 * Decoders never print and never allocate per record: a failure is a cw_decode_result_t
 * (reason code + field), and the dead-letter writer turns it into text. A CSV decoder keeps its
 * column map and field buffers across records; the JSON decoder parses into a bump arena that is
 * reset after each record (cJSON's allocation hooks point at it).
 */
#ifndef CDRWATCH_DECODE_H
#define CDRWATCH_DECODE_H

#include <string.h>
#include <apr_pools.h>
#include "cdrwatch/event.h"

#define CW_CSV_COLS_MAX 256 /* columns of a CSV header that are read; more are ignored */
#define CW_RECORD_MAX (1u << 20) /* bytes in one record (a CSV record may span lines) */

/* Why a record was not accepted. Stable short names (cw_reason_name) appear in DLQ headers and
 * in the replay summary; keep them. */
typedef enum {
    CW_DEC_OK = 0,
    CW_DEC_BAD_CSV,       /* libcsv rejected the bytes (stray quote, unterminated quote) */
    CW_DEC_CSV_COLUMNS,   /* column count differs from the header */
    CW_DEC_BAD_JSON,      /* not parseable JSON */
    CW_DEC_NOT_OBJECT,    /* JSON, but not an object */
    CW_DEC_MISSING_FIELD, /* a required field is absent or empty */
    CW_DEC_BAD_TIME,      /* time does not parse */
    CW_DEC_BAD_NUMBER,    /* not an integer, negative, or out of range */
    CW_DEC_BAD_VALUE,     /* wrong type or not one of the allowed values */
    CW_DEC_BAD_MSISDN,    /* not an E.164 number after normalisation */
    CW_DEC_OVERSIZE,      /* a field or the record is over its size limit */
    CW_DEC_BAD_UTF8,      /* a text field is not valid UTF-8 */
    CW_DEC_BAD_PREFIX,    /* a pgaudit AUDIT line that does not start with the log_line_prefix */
    CW_DEC_LATE,          /* older than the engine clock minus the allowed lateness */
    CW_DEC_UNCUT,         /* a line over CW_RECORD_MAX whose cut would not fall inside one value */
    CW_DEC_BAD_XML,       /* an XML audit record that is not well-formed (decode_xml.c) */
    CW_DEC_REASON_COUNT
} cw_reason_t;

typedef struct {
    cw_reason_t reason;
    cw_field_t field; /* CW_F_NONE when the reason is about the whole record */
} cw_decode_result_t;

/* For the decoders: a result, success, and returning the first failing step. */
static inline cw_decode_result_t cw_decode_result(cw_reason_t reason, cw_field_t field)
{
    cw_decode_result_t r = {reason, field};
    return r;
}
#define CW_DECODE_OK cw_decode_result(CW_DEC_OK, CW_F_NONE)
#define CW_DECODE_TRY(expr)                                                                        \
    do {                                                                                           \
        cw_decode_result_t try_r_ = (expr);                                                        \
        if (try_r_.reason != CW_DEC_OK)                                                            \
            return try_r_;                                                                         \
    } while (0)

const char *cw_reason_name(cw_reason_t r);
/* "missing field 'principal'", "bad time in 'ts'", ... */
char *cw_reason_format(cw_decode_result_t r, char *buf, size_t buflen);

/* The length of a UTF-8 byte order mark at the start of s (3), or 0: files written by some
 * Windows tools begin with one, and it is no part of the first header name or record. */
static inline size_t cw_utf8_bom(const char *s, size_t len)
{
    return len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
}

/* Well-formed UTF-8 without NUL bytes. */
bool cw_utf8_valid(const char *s, size_t len);

/* Repair free text into dst (max bytes plus a NUL): every invalid, overlong, surrogate or cut
 * UTF-8 sequence and every NUL byte becomes U+FFFD; control characters are kept; text that would
 * exceed max keeps its head and tail around CW_CUT_MARKER. Adds the cw_damage_t bits found
 * (anywhere in s, the cut part included) to *damage and returns the length written. Allocates
 * nothing; the common case (valid, short) is one pass and a memcpy. */
size_t cw_text_repair(char *dst, size_t max, const char *s, size_t len, unsigned *damage);

/* ---- cutting an over-long line ----
 * A line over CW_RECORD_MAX (a 3 MB comment in a statement) is not refused: its head and its tail
 * are kept around CW_CUT_MARKER, provided the bytes cut away lie inside one value (a quoted string
 * or field, or in CSV an unquoted field), so that what is left still parses. A cw_cut_state_t
 * follows the quoting of a line byte by byte and counts the boundaries it crosses (quotes opened
 * or closed, separators); a cut from position h to position t is safe when both are safe places
 * (cw_cut_safe) and no boundary lies between them (the same count at h and at t). */
typedef enum {
    CW_CUT_JSON, /* "..." with backslash escapes (\uXXXX included); only strings may be cut */
    CW_CUT_CSV,  /* "..." with doubled quotes, fields between commas (canonical CSV, pgaudit) */
    CW_CUT_SQL,  /* '...' with backslash escapes, fields between commas (MariaDB server_audit) */
} cw_cut_syntax_t;

typedef struct {
    cw_cut_syntax_t syntax;
    bool quoted;     /* inside a quoted value */
    bool quote_seen; /* CSV: a quote inside a quoted value, closing it or the first of a pair */
    unsigned esc;    /* escaped bytes still to come (JSON: 5 right after the backslash) */
    uint64_t bounds; /* boundaries crossed so far */
} cw_cut_state_t;

/* The state at the start of a line; quoted when the line continues a quoted value. */
void cw_cut_init(cw_cut_state_t *st, cw_cut_syntax_t syntax, bool quoted);
/* Follow n bytes. */
void cw_cut_scan(cw_cut_state_t *st, const char *p, size_t n);
/* May a cut begin or end right before the byte next (not inside an escape or a UTF-8 sequence,
 * inside a value)? */
bool cw_cut_safe(const cw_cut_state_t *st, unsigned char next);
/* The last safe place in buf[0, head_max] (buf holds head_max + 1 bytes at least) into *head and
 * the boundary count there into *bounds, false if none; st has followed buf[0, head_max). */
bool cw_cut_head(cw_cut_state_t *st, const char *buf, size_t head_max, size_t *head, uint64_t *bounds);
/* The first safe place in buf (which continues where st stands) with the boundary count bounds
 * into *tail; false when a boundary comes first or buf ends. */
bool cw_cut_tail(cw_cut_state_t *st, const char *buf, size_t len, uint64_t bounds, size_t *tail);
/* For a value held whole in memory (a Kafka message): where a cut of buf may begin (*head, at
 * most head_max) and end (*tail, so that at most tail_max bytes follow), true when it is safe. */
bool cw_cut_find(cw_cut_state_t *st, const char *buf, size_t len, size_t head_max, size_t tail_max,
                 size_t *head, size_t *tail);

/* One-time process setup (cJSON hooks). Safe to call more than once. */
void cw_decode_init(void);

/* Set one field from text (CSV cell or JSON string). Validates and normalises. */
cw_decode_result_t cw_decode_set_field(cw_event_t *ev, cw_field_t f, const char *s, size_t len);
/* Check required fields and fill ev->ts. */
cw_decode_result_t cw_decode_finish(cw_event_t *ev);

/* The bump arena cJSON allocates from while cw_decode_json runs, for the native JSON decoder:
 * parse between begin and end; end releases everything cJSON allocated in between. One arena
 * per thread, made at its first record. */
void cw_decode_arena_begin(void);
void cw_decode_arena_end(void);
/* A decoding thread that ends gives its arena back. */
void cw_decode_thread_end(void);

struct cJSON;
/* Decodes a parsed JSON object into ev (fields through cw_decode_set_field). */
typedef cw_decode_result_t (*cw_json_object_fn)(cw_event_t *ev, const struct cJSON *root, void *ctx);
/* Parse one JSON object in the per-record arena (not valid JSON, trailing bytes or another kind
 * of value are dead-letter reasons) and hand it to fn; the tree is freed after. A NUL byte, an
 * escaped NUL or a lone surrogate escape inside a string, which cJSON would cut at or refuse, is
 * first replaced by U+FFFD in a copy and flagged in ev->damage (ev is reset by the caller). */
cw_decode_result_t cw_decode_json_object(const char *buf, size_t len, cw_event_t *ev,
                                         cw_json_object_fn fn, void *ctx);

struct cw_json_value;
/* Decodes a JSON object scanned in place (json_scan.h; text_len: the length of the text it lies
 * in) into ev and returns true with the result in *r; or returns false, having changed nothing,
 * when it cannot take this text (then the object goes to the cw_json_object_fn as a tree). */
typedef bool (*cw_json_scan_fn)(cw_event_t *ev, const struct cw_json_value *root, size_t text_len, void *ctx,
                                cw_decode_result_t *r);
/* As cw_decode_json_object (the same repairs, reasons and damage), but the object is checked and
 * handed to scan in place, without a tree; to fn through cJSON only when scan declines. */
cw_decode_result_t cw_decode_json_scan(const char *buf, size_t len, cw_event_t *ev, cw_json_scan_fn scan,
                                       cw_json_object_fn fn, void *ctx);

/* Decode one JSON object (a line or a Kafka message): the known fields read in place from the
 * text (json_scan.h), no tree built. */
cw_decode_result_t cw_decode_json(cw_stream_t stream, const char *buf, size_t len, cw_event_t *ev);
/* The same through cJSON's tree: the reference cw_decode_json is held to (same result, same
 * record, same damage) by test_json_scan and the fuzz target json_scan. */
cw_decode_result_t cw_decode_json_reference(cw_stream_t stream, const char *buf, size_t len, cw_event_t *ev);

/* The inverse of cw_decode_json: the present fields of ev as one JSON object (times as epoch
 * milliseconds), which cw_decode_json decodes back into the same record. Writes it, NUL
 * included, into buf and returns its length, or 0 if it does not fit (or out of memory).
 * Allocates (cJSON builds the object): not for the per-record path of the engine. */
size_t cw_decode_json_encode(const cw_event_t *ev, char *buf, size_t buflen);

/* ---- CSV ---- */
typedef struct cw_csv cw_csv_t;

/* A CSV decoder whose lifetime is the pool's (libcsv's buffers are released by a cleanup). */
cw_status_t cw_csv_create(apr_pool_t *pool, cw_stream_t stream, cw_csv_t **out);

/* Push bytes, normally one physical line with its newline. Returns 1 when a record is complete
 * (call cw_csv_decode or cw_csv_take_header next), 0 when more lines are needed (a quoted field
 * spans lines), or -1 when the bytes are not valid CSV (the partial record is discarded). */
int cw_csv_push(cw_csv_t *csv, const char *buf, size_t len);
/* Finish input: returns 1 if a last record without newline completed, -1 on an unterminated
 * quote, 0 otherwise. */
int cw_csv_finish(cw_csv_t *csv);
/* Discard any partial record (after an oversize record, say). */
void cw_csv_reset(cw_csv_t *csv);

/* A header cell as a column name: without the blanks (spaces, tabs) around it and, in the first
 * column (0), a UTF-8 byte order mark. Returns where the name starts and sets *len to its
 * length. Every CSV header (records, score's labels) is read through it. */
const char *cw_csv_header_name(const char *cell, size_t *len, int column);

/* Use the completed record as the header line. Columns are matched to the fields of doc/formats.md by name,
 * case-insensitively; unknown columns are ignored, and so are the columns after the first
 * CW_CSV_COLS_MAX of a wider header (rows must still have as many cells as it has). Returns the number of known columns found
 * and, in missing, a comma-separated list of required fields the header lacks ("" if none). */
int cw_csv_take_header(cw_csv_t *csv, char *missing, size_t missinglen);
/* Headerless CSV (Kafka messages): the columns are these fields in this order. */
void cw_csv_set_columns(cw_csv_t *csv, const cw_field_t *fields, int n);
bool cw_csv_has_header(const cw_csv_t *csv);
/* The columns of the header (or cw_csv_set_columns) into *fields, and their number; 0 before a
 * header. Unknown columns are CW_F_NONE. */
int cw_csv_columns(const cw_csv_t *csv, const cw_field_t **fields);
/* The number of columns of the header, kept or not (over CW_CSV_COLS_MAX for a wide one); 0
 * before a header. */
int cw_csv_header_width(const cw_csv_t *csv);
/* Does the completed record look like a header line (two or more cells, each of the first
 * CW_CSV_COLS_MAX a name)? Used to
 * tell a header naming the wrong columns (an error) from a line that is not CSV at all. */
bool cw_csv_header_like(const cw_csv_t *csv);
/* True while a record has begun but not ended (a quoted field spans lines). */
bool cw_csv_in_record(const cw_csv_t *csv);
/* Decode the completed record into ev. */
cw_decode_result_t cw_csv_decode(cw_csv_t *csv, cw_event_t *ev);

/* ---- CSV exports of a vendor's audit view ----
 * Oracle's UNIFIED_AUDIT_TRAIL and SQL Server's sys.fn_get_audit_file exported as CSV have a
 * header naming the vendor's columns, not the fields of doc/formats.md §1.2. A dialect names the
 * columns its decoder reads (matched case-insensitively, in any order; others are ignored) and
 * maps one record's cells onto an event; the CSV framing (libcsv, the header, the record bounds)
 * stays this module's. Declared in decode_native.c (cw_audit_csv_dialect). */
#define CW_CSV_DIALECT_COLS 32
typedef struct {
    const char *s[CW_CSV_DIALECT_COLS]; /* NULL when the header has no such column */
    size_t len[CW_CSV_DIALECT_COLS];
} cw_csv_cells_t;

typedef struct {
    const char *name;                  /* "oracle-csv" */
    const char *const *columns;        /* the vendor's column names the decoder reads */
    int n_columns;                     /* at most CW_CSV_DIALECT_COLS */
    /* Required columns: each group a bit mask of column ids of which at least one must be in
     * the header (EVENT_TIMESTAMP_UTC or EVENT_TIMESTAMP), 0-terminated. */
    const uint32_t *required;
    /* Decode one record's cells (by column id) into ev, reset for the audit stream. */
    cw_decode_result_t (*decode)(cw_event_t *ev, const cw_csv_cells_t *cells);
    /* Is the record an audit record at all (NULL: always)? For the JSON and XML forms of a view,
     * whose files also hold events that are not statements nor logins (Percona's Audit). */
    bool (*is_record)(const cw_csv_cells_t *cells);
} cw_csv_dialect_t;

/* Read csv's header and records in this dialect (audit stream only; before the header). The
 * fast path (cw_csv_decode_line) is off for it: every record goes through libcsv. */
cw_status_t cw_csv_set_dialect(cw_csv_t *csv, const cw_csv_dialect_t *d);
const cw_csv_dialect_t *cw_csv_dialect(const cw_csv_t *csv);

/* The fast path for the common record, one line without any quote or CR inside: its cells are
 * the bytes between commas (RFC 4180 gives them no other meaning), so libcsv's byte-by-byte
 * state machine is skipped; the result is the one cw_csv_push and cw_csv_decode would give.
 * Decodes such a line (its LF or CR LF optional) into ev, sets res and returns true; returns
 * false, having done nothing, for any other line or while a record spans lines (push it). */
bool cw_csv_decode_line(cw_csv_t *csv, const char *buf, size_t len, cw_event_t *ev, cw_decode_result_t *res);

/* ---- messages ---- */

#define CW_MESSAGE_CUT (256u << 10) /* head and tail kept of a message over CW_RECORD_MAX */

/* Decode one message (Kafka's `run` and `demo`): JSON when its first non-blank byte is '{',
 * otherwise one headerless CSV record in csv's columns (cw_csv_set_columns), through the fast
 * path when it has no quote or line break inside, through libcsv otherwise. An empty or blank
 * message is missing_field. One over CW_RECORD_MAX (a broker may carry them) keeps its first and
 * last CW_MESSAGE_CUT bytes around CW_CUT_MARKER when the cut falls inside one value, and is
 * decoded and flagged truncated (a copy in a buffer csv allocates once); otherwise it is
 * oversize_line. csv is left without a partial record. */
cw_decode_result_t cw_decode_message(cw_csv_t *csv, const char *buf, size_t len, cw_event_t *ev);

#endif
