/*
 * kafka.h — the Kafka driver of `cdrwatch run` (and of `cdrwatch demo`): consume the audit topic
 * in a consumer group and the CDR topic whole, merge every partition by event time, run the
 * engine, produce alerts and dead letters, commit.
 *
 * Guarantees (doc/kafka.md and doc/design.md; the reasoning is at the top of kafka.c):
 *  - at least once, end to end: an input offset is committed only after every alert and dead
 *    letter that it and every earlier record raised has been acknowledged by the broker
 *    (idempotent producer, acks=all). Duplicates after a crash carry the same event.id.
 *  - the learned state is checkpointed to the compacted topic state.topic (a part per audit
 *    partition, one for the group; every state.interval, at shutdown and on revocation; produced
 *    once the alerts before it are acknowledged, its offsets committed once it is). After a
 *    restart or a rebalance it is restored and each partition resumes at its checkpoint.
 *  - without a usable checkpoint the windows are rebuilt: each partition is read again from a
 *    rewind point, kept in the commit's metadata, that holds every record younger than the
 *    longest (window + suppression) of the rules. Records before the committed offset only
 *    rebuild state (their alerts and dead letters were delivered before); the alerts that follow
 *    are those of an uninterrupted run.
 *  - records that do not decode, and late ones, go to `<topic><dlq_suffix>` with the original
 *    bytes and the headers cdrwatch-error and cdrwatch-source; the pipeline goes on.
 *  - SIGINT/SIGTERM (cw_kafka_stop) finish the record in hand, wait up to kafka.shutdown_timeout
 *    for the broker's acknowledgements, commit and leave. A broker going away is retried, and logged,
 *    for as long as it takes; only a fatal error (a permanent delivery failure, a fenced
 *    idempotent producer) ends the run with CW_ERR.
 *
 * One run at a time per process (signals reach it through cw_kafka_stop).
 */
#ifndef CDRWATCH_KAFKA_H
#define CDRWATCH_KAFKA_H

#include <apr_tables.h>
#include <librdkafka/rdkafka.h>
#include "cdrwatch/config.h"
#include "cdrwatch/decode.h"

/* Counters of a run (cumulative over assignments). */
typedef struct {
    uint64_t records;         /* records consumed for the first time (cdr + audit, dead letters included) */
    uint64_t records_by_stream[CW_STREAM_COUNT];
    uint64_t rebuilt;         /* records read again to rebuild windows */
    uint64_t alerts;          /* alerts produced */
    uint64_t rebuilt_alerts;  /* alerts raised while rebuilding, not produced (delivered before) */
    uint64_t acked;           /* alerts and dead letters the broker acknowledged */
    uint64_t dead[CW_DEC_REASON_COUNT]; /* dead letters produced, by reason (late included) */
    uint64_t dead_total;
    uint64_t evictions;       /* keys evicted from full key tables */
    uint64_t commits;         /* successful offset commits */
    uint64_t assignments;     /* partition assignments received */
    uint64_t restored;        /* of them, started from checkpoints (or --state-in), not rebuilt */
    uint64_t checkpoints;     /* checkpoint rounds written to state.topic */
    uint64_t reloads;         /* configurations reloaded (SIGHUP) and run on */
    int64_t lag;              /* records behind the end over every partition; -1 unknown */
    int64_t records_pending;  /* records buffered, not yet processed */
    int64_t uncommitted;      /* records processed whose offsets the broker has not yet confirmed
                               * as the group's (0: committed up to what was processed; -1
                               * while no partitions are assigned) */
    int32_t partitions;       /* partitions assigned now (audit + cdr); 0 between generations */
    bool ready;               /* partitions assigned, the learned state restored (checkpoints or
                               * --state-in) or rebuilt (the records below the committed offsets
                               * read again): new records are being judged. /healthz and systemd's
                               * READY=1 follow it */
    int64_t shutdown_wait_ms; /* from the stop to the end of the driver's own waits (flush,
                               * commits), before the clients are destroyed: at most
                               * kafka.shutdown_timeout, whether or not a broker answers */
} cw_kafka_stats_t;

/* The turns of a run that opts.event reports. */
typedef enum {
    CW_KAFKA_RELOADING, /* a reload (SIGHUP) starts */
    CW_KAFKA_RELOADED,  /* it is over: the new configuration runs, or the old one stays */
    CW_KAFKA_STOPPING   /* a stop request (SIGINT/SIGTERM) ends the loop: the shutdown starts */
} cw_kafka_event_t;

typedef struct {
    const char *brokers;  /* NULL: cfg->brokers */
    const char *group;    /* NULL: cfg->group */
    bool exit_at_end;     /* stop (status CW_OK) once every assigned partition is at its end,
                           * everything processed, acknowledged and committed (kcat -e) */
    /* Called once per loop iteration on the running thread, with the counters (tests use it to
     * inject faults at a chosen point). May call cw_kafka_stop. */
    void (*tick)(void *ctx, const cw_kafka_stats_t *stats);
    void *tick_ctx;
    /* Called (with tick_ctx) on the running thread at the turns of the run a service manager is
     * told about: before a SIGHUP's reload reads the files, once it is over (applied or
     * refused), and when a stop request ends the loop, before the shutdown's waits. May be NULL. */
    void (*event)(void *ctx, cw_kafka_event_t ev, const cw_kafka_stats_t *stats);
    /* Records processed per loop iteration at most (0: the default, 5000). Lower, the tick comes
     * more often: a test that stops at a chosen record count stops within `batch` of it. */
    int batch;
    /* run --state-in: the snapshot (of a replay) the first generation starts from, instead of
     * the checkpoints and the rewind; NULL: none. Checked before any Kafka work. */
    const char *state_in;
    /* The configuration layers (const char * paths, as given to cw_config_load_layers; none: the
     * built-in configuration) that SIGHUP (cw_kafka_reload) reads again: checked whole first
     * (a file with an error is refused, the running configuration stays), then run on with the
     * state of the rules whose fingerprint did not change; inputs, outputs, kafka and state
     * settings wait for a restart. NULL: SIGHUP reloads only the watchlist file. */
    const apr_array_header_t *config_paths;
} cw_kafka_opts_t;

/* Run until cw_kafka_stop (or the end, with exit_at_end). Returns CW_OK after a clean stop,
 * CW_ERR_USAGE for a configuration librdkafka refuses (message names kafka.properties.KEY),
 * CW_ERR for a fatal runtime error (message in err). stats, when not NULL, gets the counters. */
cw_status_t cw_kafka_run(apr_pool_t *pool, const cw_config_t *cfg, const cw_kafka_opts_t *opts,
                         cw_kafka_stats_t *stats, char *err, size_t errlen);

/* Ask the running pipeline to reload its configuration (SIGHUP; see opts.config_paths);
 * async-signal-safe. */
void cw_kafka_reload(void);

/* Ask the running pipeline to finish (async-signal-safe). A second call shortens the wait for
 * acknowledgements to nothing. */
void cw_kafka_stop(void);

/* Set one librdkafka property, turning its refusal into our message: "FILE:
 * kafka.properties.KEY: why" when the user set it (from_user; cfg names the file), "kafka: KEY:
 * why" otherwise (cfg may then be NULL). CW_OK or CW_ERR_USAGE. */
cw_status_t cw_kafka_conf_set(rd_kafka_conf_t *conf, const cw_config_t *cfg, const char *key,
                              const char *value, bool from_user, char *err, size_t errlen);

/* The value librdkafka gets for kafka.properties KEY: VALUE itself, or, when VALUE is
 * "@file:PATH" (CW_CONFIG_FILE_REF), the contents of the file PATH (at most 64 KiB, no NUL byte)
 * less one trailing newline ("\n" or "\r\n"), copied into pool. A missing, unreadable, empty-named,
 * oversized or binary file is CW_ERR_USAGE: "SOURCE: kafka.properties.KEY: cannot read the
 * secret file PATH: why" (SOURCE: the configuration file). The contents never reach err. */
cw_status_t cw_kafka_prop_value(apr_pool_t *pool, const char *source, const char *key, const char *value,
                                const char **out, char *err, size_t errlen);

/* The rewind span of a configuration: the longest (window + suppress) of its enabled rules, in
 * ms. Every partition is read again from this far before the engine clock on assignment. */
cw_time_t cw_kafka_rewind_span(const cw_config_t *cfg);

#endif
