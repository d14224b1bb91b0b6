/*
 * replay.h — file sources for `cdrwatch replay`: read CSV or JSON Lines (plain or gzip, or
 * standard input), or an audit log in a server's own layout, decode, and merge every input by
 * event time.
 *
 * A canonical file is JSON Lines when its first non-blank byte is '{'; otherwise its first line
 * must be a CSV header naming at least one known column, and every required column. A file with
 * neither is read as JSON Lines, so each line becomes a dead letter with its reason. An audit
 * input in a native format (decode_native.h) is framed by that format: a pgaudit log by messages
 * (a line and the tab-led lines that continue it), server_audit by lines, MySQL JSON by objects
 * (a top-level array, one object per line, or pretty-printed objects). The merge always hands
 * out the record with the smallest event time (ties: the input given first, then file order),
 * holding one decoded record per input: memory is bounded by the number of inputs.
 */
#ifndef CDRWATCH_REPLAY_H
#define CDRWATCH_REPLAY_H

#include "cdrwatch/decode_native.h"
#include "cdrwatch/metrics.h"

/* A record that did not decode, as the dead-letter writers receive it. */
typedef struct {
    cw_stream_t stream;
    cw_pos_t pos;
    cw_decode_result_t result;
    const char *raw; /* the original bytes (without the final newline) */
    size_t rawlen;
} cw_dead_letter_t;

typedef void (*cw_dlq_fn)(void *ctx, const cw_dead_letter_t *dl);

typedef struct cw_replay cw_replay_t;

/* One input of a replay. */
typedef struct {
    const char *path;         /* "-" is standard input; ".gz" is read compressed */
    cw_stream_t stream;
    cw_audit_format_t format; /* audit inputs; CW_AUDIT_CANONICAL for CDRs */
    const cw_tz_t *tz;        /* mariadb inputs: the zone of their local times (NULL: UTC) */
} cw_replay_input_t;

/* Open every input. pg_prefix is the log_line_prefix of pgaudit inputs (NULL: the default). A
 * file that cannot be opened, or whose CSV header lacks a required column, is CW_ERR_USAGE with a
 * message. */
cw_status_t cw_replay_open(apr_pool_t *pool, const cw_replay_input_t *inputs, int n,
                           const cw_pg_prefix_t *pg_prefix, cw_dlq_fn dlq, void *dlq_ctx,
                           cw_replay_t **out, char *err, size_t errlen);
/* The next record in event-time order, or CW_ERR_EOF; CW_ERR_IO with a message on a read
 * error. The event stays valid until the next call. */
cw_status_t cw_replay_next(cw_replay_t *r, const cw_event_t **ev, char *err, size_t errlen);
/* The columns of input i when it is a CSV file (its header line, see cw_csv_columns), and their
 * number; 0 for JSON Lines and native formats. */
int cw_replay_columns(const cw_replay_t *r, int i, const cw_field_t **fields);
/* The original bytes of the record cw_replay_next returned last (for a late dead letter). */
void cw_replay_raw(const cw_replay_t *r, const char **raw, size_t *len);
/* Bytes read so far over all inputs (compressed bytes for .gz), for progress. */
uint64_t cw_replay_bytes(const cw_replay_t *r);
/* Lines that were not records, over all inputs: blank lines, the server messages of a pgaudit log
 * (every line of them), and the JSON events of a MySQL audit log that are not statements, table
 * accesses or connections (one each). */
uint64_t cw_replay_skipped(const cw_replay_t *r);
/* Add what this reader counted to m: the records it dead-lettered (by reason; the engine counts
 * the late ones itself) and the skipped lines. The reader owns these counters, the engine its
 * own: a summary adds the two. */
void cw_replay_add_counts(const cw_replay_t *r, cw_metrics_t *m);

#endif
