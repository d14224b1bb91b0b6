/*
 * state.h — snapshots of everything the engine has learned, in one versioned, checksummed
 * binary format (doc/state.md describes it byte by byte).
 *
 * A snapshot holds the engine clock, the input positions (source name, partition, position),
 * the evidence ring, every rule's per-key state (with a fingerprint of the rule's
 * state-shaping definition) and the CDR reference. It is built in memory first
 * (cw_state_serialize), so the same bytes can go to a file (cw_state_write_file: temporary file
 * in the same directory, fsync, rename, mode 0600) or elsewhere; a selection callback can keep
 * a subset of the keys. Restoring (cw_state_restore) checks the magic, the format version, the
 * checksum and every length against the bytes that remain before it trusts anything: garbage is
 * refused with a message, never a crash or an allocation larger than the input.
 *
 * Restoring into an engine whose configuration differs: a rule whose fingerprint matches keeps
 * its state; a changed rule, or one not in the snapshot, starts fresh; a rule of the snapshot
 * that the configuration no longer has is dropped; each decision is logged once per rule. The
 * CDR reference is kept unless its sizing (sketch width and depth, max_links) changed.
 *
 * Since format version 3 most integers are LEB128 varints (signed ones zig-zag encoded, event
 * times relative to the snapshot's clock) and only what holds data is written: the used buckets
 * of a window, the used sketches, peak rows and baseline slots. Hashes, doubles and bfloat16
 * values stay little-endian, fixed width (doubles as their IEEE-754 bits).
 */
#ifndef CDRWATCH_STATE_H
#define CDRWATCH_STATE_H

#include <stdbool.h>
#include "cdrwatch/baseline.h"
#include "cdrwatch/engine.h"
#include "cdrwatch/hll.h"
#include "cdrwatch/window.h"

#define CW_STATE_MAGIC "CDRWSTAT" /* 8 bytes */
#define CW_STATE_VERSION 3u /* 2: adaptive peaks in threshold keys; 3: varints, sparse state */
#define CW_STATE_HEADER 24 /* magic 8, version 4, checksum 4, body length 8 */

/* ---- the codec: a growing write buffer and a bounds-checked reader ---- */

typedef struct cw_wbuf {
    unsigned char *data; /* malloc'd; cw_wbuf_free releases it */
    size_t len, cap;
    bool failed;   /* an allocation failed: the content is incomplete */
    int64_t clock; /* ms; cw_wbuf_time writes times relative to it (the snapshot's clock) */
} cw_wbuf_t;

void cw_wbuf_init(cw_wbuf_t *w);
void cw_wbuf_free(cw_wbuf_t *w);
void cw_wbuf_bytes(cw_wbuf_t *w, const void *p, size_t n);
void cw_wbuf_u8(cw_wbuf_t *w, uint8_t v);
void cw_wbuf_u16(cw_wbuf_t *w, uint16_t v);
void cw_wbuf_u32(cw_wbuf_t *w, uint32_t v);
void cw_wbuf_u64(cw_wbuf_t *w, uint64_t v);
static inline void cw_wbuf_i64(cw_wbuf_t *w, int64_t v) { cw_wbuf_u64(w, (uint64_t)v); }
void cw_wbuf_f64(cw_wbuf_t *w, double v);
/* u32 length, then the bytes */
void cw_wbuf_str(cw_wbuf_t *w, const char *s, size_t n);
/* Reserve a u32 written later (a count known only after a selection). */
size_t cw_wbuf_reserve32(cw_wbuf_t *w);
void cw_wbuf_patch32(cw_wbuf_t *w, size_t at, uint32_t v);
/* Varints (format version 3): LEB128, 1 byte below 128; signed: zig-zag first, so small
 * magnitudes of either sign are short. */
void cw_wbuf_uv(cw_wbuf_t *w, uint64_t v);
void cw_wbuf_sv(cw_wbuf_t *w, int64_t v);
/* An event time (ms) relative to w->clock, zig-zag LEB128; INT64_MIN (none) takes 1 byte. */
void cw_wbuf_time(cw_wbuf_t *w, int64_t t);
/* varint length, then the bytes */
void cw_wbuf_vstr(cw_wbuf_t *w, const char *s, size_t n);

typedef struct cw_rbuf {
    const unsigned char *data;
    size_t len, pos;
    size_t base;   /* file offset of data[0], for messages */
    char *err;     /* the first error, written once */
    size_t errlen;
    bool failed;
    int64_t clock; /* ms; what cw_rbuf_time adds back (the snapshot's clock) */
} cw_rbuf_t;

void cw_rbuf_init(cw_rbuf_t *r, const void *data, size_t len, size_t base, char *err, size_t errlen);
/* Record the first error ("what, at byte N"); later reads return zeros. */
void cw_rbuf_fail(cw_rbuf_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
uint8_t cw_rbuf_u8(cw_rbuf_t *r);
uint16_t cw_rbuf_u16(cw_rbuf_t *r);
uint32_t cw_rbuf_u32(cw_rbuf_t *r);
uint64_t cw_rbuf_u64(cw_rbuf_t *r);
static inline int64_t cw_rbuf_i64(cw_rbuf_t *r) { return (int64_t)cw_rbuf_u64(r); }
double cw_rbuf_f64(cw_rbuf_t *r);
/* n raw bytes (pointer into the buffer), NULL when fewer remain. */
const unsigned char *cw_rbuf_bytes(cw_rbuf_t *r, size_t n);
/* A u32-length string of at most max bytes (pointer into the buffer, not terminated). */
const char *cw_rbuf_str(cw_rbuf_t *r, size_t max, size_t *n);
/* A u32 count of items of at least min_size bytes each: refused (0, failed) when the items
 * cannot fit in what remains, or when it exceeds max. */
uint32_t cw_rbuf_count(cw_rbuf_t *r, size_t min_size, uint32_t max, const char *what);
/* The readers of the varints. More than 10 bytes, or bits beyond 64, fail the read ("bad varint
 * at byte N"). */
uint64_t cw_rbuf_uv(cw_rbuf_t *r);
int64_t cw_rbuf_sv(cw_rbuf_t *r);
int64_t cw_rbuf_time(cw_rbuf_t *r);
/* A varint string of at most max bytes (pointer into the buffer, not terminated). */
const char *cw_rbuf_vstr(cw_rbuf_t *r, size_t max, size_t *n);
/* A varint count of items of at least min_size encoded bytes each (a varint takes at least one),
 * refused as cw_rbuf_count's. */
uint32_t cw_rbuf_vcount(cw_rbuf_t *r, size_t min_size, uint32_t max, const char *what);

/* ---- encoders of the public state structures (used by engine.c) ---- */

void cw_state_put_window(cw_wbuf_t *w, const cw_window_t *win, int n, const uint32_t *src_map);
bool cw_state_get_window(cw_rbuf_t *r, cw_window_t *win, int n, const uint32_t *src_map, uint32_t n_src);
void cw_state_put_hll(cw_wbuf_t *w, const cw_hll_t *h);
bool cw_state_get_hll(cw_rbuf_t *r, cw_hll_t *h);
/* The n sketches of a window's buckets, only the used ones written (the others restore empty). */
void cw_state_put_hlls(cw_wbuf_t *w, const cw_hll_t *h, int n);
bool cw_state_get_hlls(cw_rbuf_t *r, cw_hll_t *h, int n);
void cw_state_put_baseline(cw_wbuf_t *w, const cw_baseline_t *b);
bool cw_state_get_baseline(cw_rbuf_t *r, cw_baseline_t *b);
/* A window's adaptive peaks (baseline.h): the used rows, each its day and its bfloat16 peaks.
 * Reading draws on the pool p was initialised with (cw_peaks_init) and clears what p held. */
void cw_state_put_peaks(cw_wbuf_t *w, const cw_peaks_t *p);
bool cw_state_get_peaks(cw_rbuf_t *r, cw_peaks_t *p);

/* ---- snapshots ---- */

/* Selection of keys (cw_state_select_fn, engine.h): return true to keep this key of this rule.
 * NULL keeps everything. Every key carries the source id of the record that last touched it
 * (src; CW_STATE_NO_SOURCE when none did since it was restored untagged), so a checkpoint can
 * keep one input partition's keys. The first_seen pairs are hashes of (key, value): each is
 * offered with key NULL and its own src. */

/* Serialize the engine's learned state (header included) into w, which the caller initialised. */
cw_status_t cw_state_serialize(cw_engine_t *e, cw_state_select_fn select, void *select_ctx, cw_wbuf_t *w,
                               char *err, size_t errlen);
/* The same, but a part: shared false leaves out the evidence ring and the CDR reference (a
 * checkpoint of one input partition; restored with merge, see below). */
cw_status_t cw_state_serialize_part(cw_engine_t *e, cw_state_select_fn select, void *select_ctx, bool shared,
                                    cw_wbuf_t *w, char *err, size_t errlen);

typedef struct {
    bool merge;   /* into an engine that may hold other parts already: a key present takes this
                   * part's value, silence candidates are appended, the oldest clock and the
                   * oldest first record win, the sources' positions are left alone */
    uint32_t tag; /* the keys restored count as last touched by this source id */
    bool quiet;   /* no per-rule decision lines (the first part of a set logs them) */
} cw_state_restore_opts_t;

/* Restore a snapshot into a freshly created engine (no record processed yet), after its sources
 * were registered. CW_ERR_USAGE with a message when the bytes are not a usable snapshot; the
 * engine may then hold part of the state and must be discarded. */
cw_status_t cw_state_restore(cw_engine_t *e, const void *data, size_t len, char *err, size_t errlen);
/* The same with options (NULL: cw_state_restore's: no merge, no tag, decisions logged). */
cw_status_t cw_state_restore_with(cw_engine_t *e, const void *data, size_t len, const cw_state_restore_opts_t *o,
                                  char *err, size_t errlen);

/* A new engine for cfg (created in pool, with sink) holding what old has learned, by the rules of
 * a restore: a rule whose fingerprint matches keeps its state, a changed or new one starts fresh,
 * a removed one is dropped, each decision logged once; the reference is kept unless its sizing
 * changed. old's sources are registered in the same order (their ids stay valid) with their
 * positions, and every key keeps the source it is tagged with (checkpoints still split by input
 * partition). old is left as it was. Used by run's SIGHUP reload. */
cw_status_t cw_state_carry(apr_pool_t *pool, cw_engine_t *old, const cw_config_t *cfg, cw_alert_sink_fn sink,
                           void *sink_ctx, cw_engine_t **out, char *err, size_t errlen);

/* Write the snapshot to path atomically: path.tmp.<pid> in the same directory, mode 0600,
 * fsync, rename, fsync of the directory. CW_ERR_IO with a message on failure. */
cw_status_t cw_state_write_file(cw_engine_t *e, const char *path, char *err, size_t errlen);
/* Read a whole file into *data (malloc'd, the caller frees it); CW_ERR_USAGE with a message
 * naming the file when it cannot be read. */
cw_status_t cw_state_read_file(const char *path, unsigned char **data, size_t *len, char *err, size_t errlen);
/* Read path and restore it; the message names the file. */
cw_status_t cw_state_load_file(cw_engine_t *e, const char *path, char *err, size_t errlen);

/* CRC-32C (Castagnoli) of n bytes, as iSCSI and ext4 use it. */
uint32_t cw_crc32c(const void *data, size_t n);

#endif
