/*
 * kmerge.h — the two pure data structures under the Kafka driver, kept apart from librdkafka so
 * that they can be tested without a broker:
 *
 * cw_kmerge_t — event-time merge of partition buffers (Kafka Streams' timestamp
 *   synchronisation). Each input (one topic partition) is a FIFO of opaque items (Kafka messages)
 *   in offset order. The merge always hands out the head with the smallest event time (ties: the
 *   input added first), so the engine sees partitions interleaved as replay interleaves files. An
 *   input that is empty and not known to be at its end holds the merge back — its next record
 *   may be older than every buffered head: without limit while it is known to lag (the broker
 *   holds records not delivered yet), otherwise for at most `idle_wait` ms of wall-clock time
 *   (max.task.idle.ms), after which the merge moves on without it. A head that does not decode
 *   has no place in time and is handed out at once (it becomes a dead letter).
 *
 * cw_rewind_t — rewind points of one partition. Fed (event time, offset) for every record in
 *   offset order, it answers "from which offset must this partition be read again so that every
 *   record with event time >= t is seen?" — the first record at or after t (every record before
 *   it is older than t), which is always a new maximum of event time. It keeps a bounded,
 *   thinning sample of those maxima, so an answer is exact or a little earlier, never later, and
 *   forgets samples older than the last question: memory is fixed per partition.
 *
 * Neither allocates per item on the hot path: a FIFO grows by doubling (and is freed with its
 * pool), a rewind tracker never grows.
 */
#ifndef CDRWATCH_KMERGE_H
#define CDRWATCH_KMERGE_H

#include <stdbool.h>
#include <apr_pools.h>
#include "cdrwatch/common.h"

typedef struct cw_kmerge cw_kmerge_t;

/* Decode the head item of an input and give its event time. Returns false when the item does not
 * decode. Called once per item, when it becomes the head. */
typedef bool (*cw_kmerge_head_fn)(void *ctx, int input, void *item, cw_time_t *ts);
/* Release an item the merge still holds when it is cleared (NULL: nothing to release). */
typedef void (*cw_kmerge_free_fn)(void *ctx, void *item);

/* A merge of up to max_inputs inputs; idle_wait in ms. Everything it holds is released (free_item)
 * when the pool is cleared or cw_kmerge_clear is called. */
cw_status_t cw_kmerge_create(apr_pool_t *pool, int max_inputs, cw_time_t idle_wait,
                             cw_kmerge_head_fn head, cw_kmerge_free_fn free_item, void *ctx,
                             cw_kmerge_t **out);
/* Add an input; returns its index (0, 1, ...), or -1 when max_inputs are already there. Inputs
 * added first win ties. A new input is empty and not at its end. */
int cw_kmerge_add(cw_kmerge_t *m);
/* Append an item to an input (offset order). CW_ERR_NOMEM when the FIFO cannot grow. An item
 * clears the input's end-of-partition flag. */
cw_status_t cw_kmerge_push(cw_kmerge_t *m, int input, void *item);
/* The input has reached the end of its partition (until its next item). */
void cw_kmerge_set_eof(cw_kmerge_t *m, int input);
/* An empty input is known to lag (or no longer): records exist that it has not delivered yet.
 * Ignored for an input that holds items or is at its end; an item or the end clears it. */
void cw_kmerge_set_lagging(cw_kmerge_t *m, int input, bool lagging);
/* Items buffered in one input, and in all. */
size_t cw_kmerge_count(const cw_kmerge_t *m, int input);
size_t cw_kmerge_total(const cw_kmerge_t *m);
bool cw_kmerge_at_eof(const cw_kmerge_t *m, int input);

typedef enum {
    CW_KMERGE_ITEM,  /* an item is handed out */
    CW_KMERGE_WAIT,  /* items are buffered, but an empty input may still bring an older one */
    CW_KMERGE_EMPTY, /* nothing buffered */
} cw_kmerge_result_t;

/* The next item in event-time order, removed from the merge. `now` is wall-clock ms (only the
 * idle wait uses it). On CW_KMERGE_ITEM: *input, *item, and *decoded (false: the head function
 * refused it) are set; on CW_KMERGE_WAIT: *wait_until is the wall-clock time at which the merge
 * moves on without the empty inputs (INT64_MAX: not before a lagging input delivers). */
cw_kmerge_result_t cw_kmerge_next(cw_kmerge_t *m, cw_time_t now, int *input, void **item,
                                  bool *decoded, cw_time_t *wait_until);
/* Release every buffered item (free_item) and forget the inputs. */
void cw_kmerge_clear(cw_kmerge_t *m);

/* ---- rewind points ---- */

typedef struct cw_rewind cw_rewind_t;

/* A tracker for a partition read from start_offset, keeping at most `capacity` (>= 4) samples. */
cw_status_t cw_rewind_create(apr_pool_t *pool, int capacity, int64_t start_offset,
                             cw_rewind_t **out);
/* Record a processed record (offsets increasing). Records without an event time (dead letters)
 * need not be noted. */
void cw_rewind_note(cw_rewind_t *r, cw_time_t ts, int64_t offset);
/* The offset from which reading again sees every record with event time >= t: every record
 * before it is older than t. t must not decrease from one call to the next (samples older than t
 * are forgotten); INT64_MIN asks for the start. */
int64_t cw_rewind_point(cw_rewind_t *r, cw_time_t t);
/* Samples held (for tests). */
int cw_rewind_samples(const cw_rewind_t *r);

#endif
