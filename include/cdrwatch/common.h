/*
 * common.h — status codes, time units and small helpers shared by every module.
 *
 * Time inside cdrwatch is always event time in milliseconds since the Unix epoch, UTC
 * (cw_time_t). Functions that can fail return cw_status_t: CW_OK (0) or a negative code;
 * where a person will read the failure they also fill a caller-owned message buffer.
 *
 * Memory. APR pools own objects, and a pool's lifetime is the lifetime of what it holds: the
 * process pool (main.c), a pool per configuration generation (cw_config_load; a reload builds a
 * new one and drops the old), a per-batch pool cleared at the top of each batch loop. Nothing
 * allocated from a pool is freed piece by piece. Large buffers (read buffers, sketches, key
 * tables, the decoders' arena) are malloc'ed and tied to a pool by a cleanup
 * (apr_pool_cleanup_register) that frees them when the pool goes, as are foreign handles (gzip,
 * librdkafka, libcsv, regex_t). Per-key state never lives in a pool or an apr_hash_t (they only
 * grow): it lives in bounded tables with counted evictions. The per-record path allocates
 * nothing.
 *
 * Process setup. Every command starts with cw_init() (main.c calls it once, before
 * dispatching): it initialises APR and installs the process-wide cJSON allocation hooks of the
 * decoders (cw_decode_init). cw_terminate() undoes the APR part at exit.
 */
#ifndef CDRWATCH_COMMON_H
#define CDRWATCH_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef int64_t cw_time_t; /* ms since epoch, UTC */

#define CW_MS_PER_SECOND 1000LL
#define CW_MS_PER_MINUTE (60LL * CW_MS_PER_SECOND)
#define CW_MS_PER_HOUR (60LL * CW_MS_PER_MINUTE)
#define CW_MS_PER_DAY (24LL * CW_MS_PER_HOUR)

typedef enum {
    CW_OK = 0,
    CW_ERR = -1,        /* generic failure, message in err */
    CW_ERR_USAGE = -2,  /* bad arguments or configuration (exit 2) */
    CW_ERR_IO = -3,     /* input/output failure (exit 1) */
    CW_ERR_NOMEM = -4,  /* allocation failed (exit 1) */
    CW_ERR_EOF = -5,    /* no more records */
} cw_status_t;

/* The one process-wide setup (see above); CW_ERR if APR cannot start. Call once, first. */
cw_status_t cw_init(void);
void cw_terminate(void);

/* Where a record came from: a file and line (replay) or a topic, partition and offset (Kafka).
 * `name` points at storage owned by the source and outlives every event it produced. */
typedef struct {
    const char *name;  /* file path as given, or topic */
    int32_t partition; /* -1 for files */
    int64_t offset;    /* line number (1-based) in files, offset in Kafka */
} cw_pos_t;

/* Write "name:line" or "topic/partition/offset" into buf; returns buf. */
char *cw_pos_format(const cw_pos_t *pos, char *buf, size_t buflen);

/* 64-bit hash of a byte string (stable across machines and runs: alert ids depend on it). */
uint64_t cw_hash64(const void *data, size_t len, uint64_t seed);

/* Case-insensitive glob match: '*' any run, '?' one byte; ASCII case folding. */
int cw_glob_match(const char *pattern, const char *s);

/* Copy at most dstlen-1 bytes and terminate; returns the length copied. */
size_t cw_strlcpy(char *dst, const char *src, size_t dstlen);

/* Modes of the files cdrwatch writes (doc/security.md): the state and the dead letters hold
 * records and what was learned from them, for the owner only; alerts, tune's overlay and its
 * report, for the owner and the group. */
#define CW_MODE_PRIVATE 0600
#define CW_MODE_SHARED 0640
/* Open path for writing, created or truncated, with exactly `mode` whatever the umask or the
 * mode of a file already there. Only regular files take the mode: a device or a pipe
 * (/dev/stdout, /dev/fd/N) keeps its own. -1 with errno set on failure. */
int cw_file_create(const char *path, unsigned mode);
/* The same, as a stdio stream open for writing; NULL with errno set on failure. */
FILE *cw_file_fcreate(const char *path, unsigned mode);

#endif
