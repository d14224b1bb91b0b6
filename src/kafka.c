/*
 * kafka.c — the Kafka driver: consumers, time merge, engine, producer, dead letters, commits.
 *
 * Handles. Three librdkafka clients: `audit`, a consumer-group member subscribed to the audit
 * topic; `cdr`, a consumer of the same group.id that never joins it but is assigned every
 * partition of the CDR topic (reference data each instance needs whole); `prod`, an idempotent
 * producer (acks=all) for alerts, dead letters and statistics. Every callback (rebalance,
 * delivery report, error, statistics, commit) is served on the calling thread by the poll calls
 * of the main loop — librdkafka's own threads only log — so the engine and cJSON (whose hooks
 * decode.c repoints while it parses) are never entered from elsewhere. The loop sleeps in
 * poll(2) on a pipe that the clients' queues (rd_kafka_queue_io_event_enable) and cw_kafka_stop
 * write to.
 *
 * Generations. Each assignment of audit partitions starts a generation: a fresh engine, merge
 * and partition table in their own pool. The CDR partitions are (re)assigned with it, and every
 * partition starts from its rewind point: the commit metadata "cdrwatch rewind=O" holds the
 * offset from which every record younger than (engine clock - rewind span) is read again, where
 * the span is the longest (window + suppress) of the rules — after that much event time a
 * rebuilt key is in exactly the state an uninterrupted run would have (same window contents,
 * same armed/fired flag, same suppression), so the alerts raised after the committed offset are
 * the uninterrupted run's. Records below the committed offset are "silent": they feed the engine
 * but their alerts and dead letters are not produced again (they were acknowledged before the
 * commit). The rebalance protocol is eager (librdkafka's default range,roundrobin): since every
 * assignment rebuilds the windows anyway, cooperative rebalancing would gain nothing, and
 * librdkafka 2.0.2 has known cooperative close bugs (doc/design.md). The cost is one
 * rewind span of input read again per instance on every rebalance or restart.
 *
 * Time merge. Every partition is an input of a cw_kmerge_t: records go to the engine oldest
 * first; an empty partition not at its end (enable.partition.eof tells) holds the others back
 * for at most kafka.idle_wait; a partition with too many buffered records is paused.
 *
 * Commits. Records are processed in a loop; every kafka.commit_interval the offsets reached are
 * sealed into a checkpoint. Each produced message (alert, dead letter) belongs to the open
 * checkpoint and carries it as its opaque; a checkpoint is committed (async, with the rewind
 * metadata) when it and every older one have no message left unacknowledged. A permanent
 * delivery failure leaves its checkpoint, and every later one, uncommitted and ends the run
 * (exit 1): what was not committed is read again on the next start. The producer retries for ever (message.timeout.ms=0 unless
 * configured), so a broker outage only delays commits. The audit consumer, being the group
 * member, commits the CDR partitions' positions too (they are the same for every instance,
 * give or take the moment each commits).
 *
 * Learned state. With state.interval > 0, the engine is checkpointed to the compacted topic
 * state.topic (every state.interval, at shutdown and on revocation): a part per audit partition
 * (the keys its records last touched: every key is tagged with the input of the record that
 * last touched it) and one for the group (CDR reference, CDR-stream rules). On an
 * assignment the parts of the assigned partitions are read back and merged into the new engine,
 * and each partition resumes at its checkpoint's offset (silent up to the committed offset):
 * the rewind above is what remains when there is no usable checkpoint.
 *
 * Secrets. A kafka.properties value "@file:PATH" is read from PATH once, before the clients are
 * made (cw_kafka_prop_value, resolve_props); its contents reach librdkafka and nothing else.
 * librdkafka's errors (a refused password, a certificate not verified) are kept, so that the
 * line saying no broker is reachable says why.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/time.h>
#include <apr_strings.h>
#include <cjson/cJSON.h>
#include <librdkafka/rdkafka.h>
#include "cw_build.h"
#include "cdrwatch/decode.h"
#include "cdrwatch/engine.h"
#include "cdrwatch/kafka.h"
#include "cdrwatch/kmerge.h"
#include "cdrwatch/log.h"
#include "cdrwatch/state.h"

#define BATCH_MAX 5000          /* records per loop iteration before the queues are served again */
/* Memory held in buffered records (payload plus librdkafka's per-message overhead, estimated)
 * above which a partition's fetching pauses: a partition runs ahead when its records are newer
 * than the others'. The budget is shared by the partitions of a generation, at least
 * PAUSE_MIN_BYTES each. Fetching resumes at three quarters: librdkafka takes up to a second to
 * deliver again after a resume, and the records left must cover it. */
#define BUFFER_BUDGET (256u << 20)
#define PAUSE_MIN_BYTES (16u << 20)
#define MSG_OVERHEAD 256
#define REWIND_SAMPLES 512      /* samples kept per partition by its rewind tracker */
#define CKPT_MAX 64             /* sealed checkpoints waiting for acknowledgements */
#define META_PREFIX "cdrwatch rewind="
#define CKPT_MAGIC "CDRWCKPT"   /* a checkpoint message: envelope (doc/state.md), then a chunk */
#define CKPT_VERSION 1u
#define STATE_READ_MS 30000     /* longest wait for the state topic's end on an assignment */
#define STATE_CHECK_MS 500      /* longest wait for the state topic's metadata before a checkpoint */
#define STATE_SEGMENT_BYTES (64LL << 20) /* segment.bytes of the state topic we create (at least) */

typedef struct runner runner_t;

/* One input partition of the current generation. */
typedef struct {
    runner_t *r;
    cw_stream_t stream;
    const char *topic;        /* the configuration's */
    int32_t partition;
    rd_kafka_t *rk;           /* the consumer that reads it */
    int input;                /* its index in the merge */
    uint32_t source_id;       /* engine source */
    int64_t start;            /* offset assigned from, or a logical offset (< 0) */
    int64_t received;         /* next offset expected from the consumer (-1: unknown) */
    int64_t next;             /* next offset to process, -1 before the first record */
    int64_t silent_until;     /* records below: processed before, rebuild only (-1: none) */
    int64_t confirmed;        /* the group's committed offset, as the broker last confirmed it; -1 none */
    cw_rewind_t *rewind;      /* created at the first record */
    bool paused;
    size_t buffered_bytes;    /* payload bytes in the merge */
    cw_event_t ev;            /* the decoded head */
    cw_decode_result_t res;
} part_t;

/* A message of a checkpoint of the learned state, held until it may be produced. */
typedef struct state_msg {
    char key[640];
    size_t keylen;
    cw_wbuf_t value;
    struct state_msg *next;
} state_msg_t;

/* Offsets reached at a moment, committed once every message produced before it is acked. */
typedef struct ckpt {
    long pending;             /* produced, not acknowledged */
    bool sealed;
    bool dropped;             /* its generation ended before it could be committed */
    bool failed;              /* a message of it was not delivered: never committed */
    rd_kafka_topic_partition_list_t *offsets;
    state_msg_t *state;       /* a checkpoint of the learned state taken with these offsets:
                               * produced once every message before it is acknowledged, and the
                               * offsets committed once it is */
    struct ckpt *next;
} ckpt_t;

struct runner {
    apr_pool_t *pool;
    apr_pool_t *gen_pool;     /* the current generation: merge, parts, engine_pool */
    apr_pool_t *engine_pool;  /* the engine of the generation (replaced by a reload) */
    const cw_config_t *cfg;   /* the running configuration: the first, or the last reloaded */
    const cw_config_t *cfg0;  /* the first (its inputs, outputs, kafka and state stay) */
    apr_pool_t *cfg_pool;     /* of the last reloaded configuration; NULL: none */
    cw_kafka_opts_t opts;
    const char *brokers, *group;
    const char **prop_values; /* cfg0's kafka.properties values, secret files read (resolve_props) */
    rd_kafka_t *prod, *audit, *cdr;
    rd_kafka_t *stc;          /* reads the state topic on assignments (created at the first) */
    rd_kafka_queue_t *q_prod, *q_audit, *q_cdr;
    rd_kafka_queue_t *q_commit;    /* results of asynchronous commits */
    int commits_in_flight;
    rd_kafka_resp_err_t last_commit_err; /* of the newest commit whose result came back */
    int wake_rd;              /* read end of the wake-up pipe */
    const char *dlq_topic[CW_STREAM_COUNT];
    cw_time_t rewind_span;
    bool earliest;            /* auto.offset.reset is earliest (for never-committed CDR parts) */
    bool state_on;            /* checkpoints to state.topic (state.interval > 0) */
    unsigned char *state_in;  /* run --state-in: the snapshot the first generation starts from */
    size_t state_in_len;
    uint64_t ckpt_salt;       /* makes checkpoint ids of instances differ */
    uint64_t ckpt_seq;
    uint64_t ckpt_mark;       /* records processed at the last checkpoint; UINT64_MAX: none yet */
    cw_time_t last_state;

    /* the generation */
    bool gen_active;
    bool end_sealed;          /* exit_at_end: at the end, its last records sealed for commit */
    bool last_word;           /* exit_at_end is leaving: the shutdown commits every position again */
    cw_engine_t *engine;
    cw_kmerge_t *merge;
    cw_csv_t *csv[CW_STREAM_COUNT];
    part_t **parts;
    int n_parts;
    part_t **by_partition[CW_STREAM_COUNT]; /* index: partition number */
    int32_t n_by_partition[CW_STREAM_COUNT];
    bool silent;              /* the record being processed only rebuilds state */
    size_t pause_bytes;       /* a partition buffering more pauses */

    /* checkpoints, oldest first; the last one is open */
    ckpt_t *ck_head, *ck_tail;
    int n_sealed;

    /* output */
    cw_observer_t observer;
    char host[256];
    char *buf;                /* CW_ALERT_MAX */

    /* state */
    cw_kafka_stats_t st;
    uint64_t evictions_before; /* of the engines that ended (generations, reloads) */
    uint64_t repaired_before;  /* ... their records accepted with a repaired field */
    cw_time_t last_ckpt_taken; /* mono ms of the last checkpoint round; 0: none yet */
    cw_kafka_part_lag_t *lags; /* st.part_lag: one per assigned partition (malloc, grows) */
    int lags_cap;
    cw_kafka_rule_alerts_t *rule_alerts; /* st.rule_alerts (malloc, grows; ids in pool) */
    int rule_alerts_cap;
    bool fatal;
    char fatal_msg[512];
    bool brokers_down;
    cw_time_t brokers_down_since;
    char last_client_error[512]; /* librdkafka's last non-fatal error (a refused password, a
                                  * certificate not trusted...): said when no broker is reachable */
    cw_time_t shutdown_deadline; /* 0 while running; once the shutdown starts, no wait outlasts it */
    bool cdr_topic_missing_logged;
    char last_error[512];
    cw_time_t last_error_at;
    cw_time_t last_seal, last_stats;
    char rdk_stats[CW_STREAM_COUNT + 1][160]; /* summary of librdkafka's last statistics, per client */
};

/* Signal plumbing: one run per process. */
static volatile sig_atomic_t stop_requests;
static volatile sig_atomic_t reload_requests; /* SIGHUP: reload the watchlist */
static int wake_fd = -1;

void cw_kafka_reload(void)
{
    reload_requests++;
    if (wake_fd >= 0) {
        ssize_t n = write(wake_fd, "r", 1);
        (void)n;
    }
}

void cw_kafka_stop(void)
{
    stop_requests++;
    if (wake_fd >= 0) {
        ssize_t n = write(wake_fd, "s", 1);
        (void)n;
    }
}


static cw_time_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (cw_time_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static cw_time_t wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (cw_time_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void set_fatal(runner_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_fatal(runner_t *r, const char *fmt, ...)
{
    va_list ap;
    if (r->fatal)
        return;
    va_start(ap, fmt);
    vsnprintf(r->fatal_msg, sizeof r->fatal_msg, fmt, ap);
    va_end(ap);
    r->fatal = true;
    cw_log(CW_LOG_ERROR, "%s", r->fatal_msg);
}

cw_time_t cw_kafka_rewind_span(const cw_config_t *cfg)
{
    cw_time_t span = 0;
    for (int i = 0; i < cfg->n_rules; i++) {
        const cw_rule_t *rule = &cfg->rules[i];
        if (rule->enabled && rule->window + rule->suppress > span)
            span = rule->window + rule->suppress;
    }
    return span;
}

/* ---- librdkafka callbacks ---- */

/* librdkafka's log lines (from any of its threads): one write each. */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *msg)
{
    cw_log_level_t l = level <= 3 ? CW_LOG_WARN : level <= 5 ? CW_LOG_INFO : CW_LOG_DEBUG;
    /* "property X is a consumer property and will be ignored by this producer": expected, the
     * same properties go to every client */
    if (strcmp(fac, "CONFWARN") == 0 && strstr(msg, "will be ignored by this"))
        l = CW_LOG_DEBUG;
    cw_log_kafka(l, rd_kafka_name(rk), fac, msg);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    runner_t *r = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char why[512];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, why, sizeof why);
        set_fatal(r, "kafka: fatal error in %s: %s: %s", rd_kafka_name(rk), rd_kafka_err2name(orig), why);
        return;
    }
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
        if (!r->brokers_down) {
            cw_log(CW_LOG_WARN, "no Kafka broker of %s is reachable (%s%s%s); retrying until one is",
                   r->brokers, reason, *r->last_client_error ? "; last error: " : "", r->last_client_error);
            r->brokers_down = true;
            r->brokers_down_since = mono_ms();
        }
        return;
    }
    /* transport errors and the like: librdkafka retries and logs them itself */
    cw_strlcpy(r->last_client_error, reason, sizeof r->last_client_error);
    cw_log(CW_LOG_DEBUG, "kafka: %s: %s: %s", rd_kafka_name(rk), rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static void broker_back(runner_t *r)
{
    if (!r->brokers_down)
        return;
    r->brokers_down = false;
    r->last_client_error[0] = '\0'; /* the next outage says its own */
    cw_log(CW_LOG_INFO, "Kafka brokers reachable again after %.1f s", (double)(mono_ms() - r->brokers_down_since) / 1000.0);
}

static int stats_index(runner_t *r, rd_kafka_t *rk)
{
    return rk == r->prod ? 0 : rk == r->audit ? 1 : 2;
}

const char *cw_kafka_client_name(int i)
{
    static const char *const names[CW_KAFKA_CLIENTS] = {"producer", "consumer_audit", "consumer_cdr"};
    return i >= 0 && i < CW_KAFKA_CLIENTS ? names[i] : "unknown";
}

/* One broker of a client's statistics into st.brokers (for /metrics): name, state, rtt.avg. */
static void note_broker(runner_t *r, int client, const cJSON *b, bool up, const cJSON *avg)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(b, "name");
    cw_kafka_broker_t *k;
    if (r->st.n_brokers[client] >= CW_KAFKA_BROKERS_MAX)
        return;
    k = &r->st.brokers[client][r->st.n_brokers[client]++];
    cw_strlcpy(k->name, cJSON_IsString(name) ? name->valuestring : "?", sizeof k->name);
    k->up = up;
    k->rtt_avg_s = cJSON_IsNumber(avg) ? avg->valuedouble / 1e6 : -1; /* µs -> s */
}

/* librdkafka statistics (statistics.interval.ms): keep a one-line summary for our own line, and
 * forward the JSON to the statistics topic. Runs on the main thread (served by a poll call). */
static int stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    runner_t *r = opaque;
    cJSON *root = cJSON_ParseWithLength(json, len), *brokers, *b, *cgrp;
    int up = 0, total = 0;
    double rtt = 0;
    char *out = r->rdk_stats[stats_index(r, rk)];
    if (root) {
        brokers = cJSON_GetObjectItemCaseSensitive(root, "brokers");
        r->st.n_brokers[stats_index(r, rk)] = 0;
        cJSON_ArrayForEach(b, brokers)
        {
            cJSON *nodeid = cJSON_GetObjectItemCaseSensitive(b, "nodeid");
            cJSON *state = cJSON_GetObjectItemCaseSensitive(b, "state");
            cJSON *rttobj = cJSON_GetObjectItemCaseSensitive(b, "rtt");
            cJSON *avg = rttobj ? cJSON_GetObjectItemCaseSensitive(rttobj, "avg") : NULL;
            if (!cJSON_IsNumber(nodeid) || nodeid->valueint < 0)
                continue; /* bootstrap and internal pseudo-brokers */
            total++;
            note_broker(r, stats_index(r, rk), b, cJSON_IsString(state) && strcmp(state->valuestring, "UP") == 0, avg);
            if (cJSON_IsString(state) && strcmp(state->valuestring, "UP") == 0) {
                up++;
                if (cJSON_IsNumber(avg) && avg->valuedouble / 1000.0 > rtt)
                    rtt = avg->valuedouble / 1000.0; /* µs -> ms, the worst broker */
            }
        }
        cgrp = cJSON_GetObjectItemCaseSensitive(root, "cgrp");
        snprintf(out, sizeof r->rdk_stats[0], "%s brokers up %d/%d rtt %.1f ms", rd_kafka_name(rk), up,
                 total, rtt);
        if (cgrp) {
            cJSON *rc = cJSON_GetObjectItemCaseSensitive(cgrp, "rebalance_cnt");
            if (cJSON_IsNumber(rc))
                snprintf(out + strlen(out), sizeof r->rdk_stats[0] - strlen(out), " rebalances %d", rc->valueint);
        }
        cJSON_Delete(root);
    }
    if (r->cfg->stats_topic[0] && r->prod) {
        char key[300];
        snprintf(key, sizeof key, "librdkafka/%s/%s", r->host, rd_kafka_name(rk));
        rd_kafka_producev(r->prod, RD_KAFKA_V_TOPIC(r->cfg->stats_topic), RD_KAFKA_V_VALUE(json, len),
                          RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_OPAQUE(NULL), RD_KAFKA_V_END);
    }
    return 0; /* librdkafka frees json */
}

/* Delivery report of an alert, a dead letter (opaque: its checkpoint) or a statistics line. */
static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    runner_t *r = opaque;
    ckpt_t *ck = m->_private;
    (void)rk;
    if (!ck) {
        if (m->err && m->err != RD_KAFKA_RESP_ERR__PURGE_QUEUE && m->err != RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
            cw_log(CW_LOG_WARN, "statistics not delivered to %s: %s", rd_kafka_topic_name(m->rkt),
                   rd_kafka_err2str(m->err));
        return;
    }
    ck->pending--;
    if (m->err) {
        ck->failed = true; /* it, and every checkpoint after it, stays uncommitted */
        if (m->err != RD_KAFKA_RESP_ERR__PURGE_QUEUE && m->err != RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
            set_fatal(r, "kafka: a message to topic %s was not delivered: %s (nothing after it is "
                         "committed; it is raised again on the next start)",
                      rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
        return;
    }
    r->st.acked++;
    broker_back(r);
}

static part_t *find_part(runner_t *r, cw_stream_t s, int32_t partition);

/* The broker's answer to a commit: remember what it confirmed, per partition. */
static rd_kafka_resp_err_t commit_result(runner_t *r, rd_kafka_resp_err_t err,
                                         const rd_kafka_topic_partition_list_t *offsets)
{
    for (int i = 0; offsets && i < offsets->cnt; i++) {
        const rd_kafka_topic_partition_t *e = &offsets->elems[i];
        if (e->err || err) {
            if (!err)
                err = e->err;
            continue;
        }
        for (int s = 0; s < CW_STREAM_COUNT; s++) {
            part_t *p = strcmp(e->topic, r->cfg->input[s].topic) == 0 ? find_part(r, (cw_stream_t)s, e->partition) : NULL;
            if (p && e->offset > p->confirmed)
                p->confirmed = e->offset;
        }
    }
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
        r->st.commits++;
    else if (err != RD_KAFKA_RESP_ERR__NO_OFFSET)
        cw_log(CW_LOG_WARN, "offset commit failed: %s (the next commit carries the same offsets)",
               rd_kafka_err2str(err));
    return err;
}

/* Results of the asynchronous commits, from their own queue (served by the main loop, and
 * waited for before a synchronous commit: a late retry of an older commit must not land after a
 * newer one and move the group's offset back). */
static void serve_commits(runner_t *r, int timeout_ms)
{
    rd_kafka_event_t *ev;
    while (r->commits_in_flight > 0 && (ev = rd_kafka_queue_poll(r->q_commit, timeout_ms))) {
        if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_OFFSET_COMMIT) {
            r->last_commit_err = commit_result(r, rd_kafka_event_error(ev), rd_kafka_event_topic_partition_list(ev));
            r->commits_in_flight--;
        }
        rd_kafka_event_destroy(ev);
    }
}

/* How long a wait of up to `want` ms may last: all of it while running, what is left of
 * kafka.shutdown_timeout once the shutdown has started (0 when it is spent). */
static cw_time_t wait_budget(const runner_t *r, cw_time_t want)
{
    cw_time_t left;
    if (!r->shutdown_deadline)
        return want;
    left = r->shutdown_deadline - mono_ms();
    return left <= 0 ? 0 : left < want ? left : want;
}

/* Wait (up to ms, within the shutdown deadline) for the asynchronous commits still out. */
static void await_commits(runner_t *r, cw_time_t ms)
{
    cw_time_t until = mono_ms() + wait_budget(r, ms);
    while (r->commits_in_flight > 0 && mono_ms() < until)
        serve_commits(r, 100);
}

/* ---- producing ---- */

/* Produce one message for the open checkpoint; waits while the local queue is full. Returns false
 * if it could not be queued (the checkpoint then never commits). */
static bool produce_for(runner_t *r, ckpt_t *ck, const char *topic, int32_t partition, const void *key,
                        size_t keylen, const void *val, size_t len, rd_kafka_headers_t *hdrs)
{
    cw_time_t waited_since = 0;
    for (;;) {
        rd_kafka_resp_err_t err;
        if (hdrs)
            err = rd_kafka_producev(r->prod, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                                    RD_KAFKA_V_KEY(key, keylen), RD_KAFKA_V_VALUE((void *)val, len),
                                    RD_KAFKA_V_HEADERS(hdrs),
                                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(ck),
                                    RD_KAFKA_V_END);
        else
            err = rd_kafka_producev(r->prod, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                                    RD_KAFKA_V_KEY(key, keylen), RD_KAFKA_V_VALUE((void *)val, len),
                                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(ck),
                                    RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            ck->pending++;
            return true;
        }
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && !r->fatal) {
            /* back-pressure: the broker is slow or away; keep the consumers alive meanwhile */
            if (!waited_since) {
                waited_since = mono_ms();
                cw_log(CW_LOG_WARN, "the producer queue is full (broker slow or unreachable): waiting");
            }
            if (stop_requests) /* stopping: not queued, not committed, read again next time */
                break;
            rd_kafka_poll(r->prod, 100);
            continue;
        }
        set_fatal(r, "kafka: cannot produce to topic %s: %s", topic, rd_kafka_err2str(err));
        break;
    }
    if (hdrs)
        rd_kafka_headers_destroy(hdrs);
    ck->failed = true; /* it, and every checkpoint after it, stays uncommitted */
    return false;
}

/* For the open checkpoint. */
static bool produce(runner_t *r, const char *topic, int32_t partition, const void *key, size_t keylen,
                    const void *val, size_t len, rd_kafka_headers_t *hdrs)
{
    return produce_for(r, r->ck_tail, topic, partition, key, keylen, val, len, hdrs);
}

/* The counter of rule ID in st.rule_alerts, added (at 0) when new. Not per record: at start, on
 * a reload and per alert. NULL only when out of memory. */
static cw_kafka_rule_alerts_t *rule_counter(runner_t *r, const char *id)
{
    cw_kafka_rule_alerts_t *n;
    for (int i = 0; i < r->st.n_rule_alerts; i++)
        if (strcmp(r->rule_alerts[i].rule, id) == 0)
            return &r->rule_alerts[i];
    if (r->st.n_rule_alerts == r->rule_alerts_cap) {
        int cap = r->rule_alerts_cap ? 2 * r->rule_alerts_cap : 32;
        if (!(n = realloc(r->rule_alerts, (size_t)cap * sizeof *n)))
            return NULL;
        r->rule_alerts = n;
        r->rule_alerts_cap = cap;
    }
    n = &r->rule_alerts[r->st.n_rule_alerts++];
    n->rule = apr_pstrdup(r->pool, id); /* a reload drops the configuration that held it */
    n->alerts = 0;
    r->st.rule_alerts = r->rule_alerts;
    return n;
}

/* Every enabled rule of cfg counted from 0 (so /metrics shows it before its first alert). */
static void note_rules(runner_t *r, const cw_config_t *cfg)
{
    for (int i = 0; i < cfg->n_rules; i++)
        if (cfg->rules[i].enabled)
            rule_counter(r, cfg->rules[i].id);
}

static void on_alert(void *ctx, const cw_alert_t *a)
{
    runner_t *r = ctx;
    const cw_rule_t *rule = a->rule;
    char keybuf[1024];
    const char *key = NULL;
    size_t n, keylen = 0;
    bool by_principal = false;

    if (r->silent) {
        r->st.rebuilt_alerts++;
        return;
    }
    r->observer.emitted_at = wall_ms();
    n = cw_alert_encode(a, &r->observer, r->buf, CW_ALERT_MAX);
    if (n && r->buf[n - 1] == '\n')
        n--;
    for (int i = 0; i < rule->n_key; i++)
        by_principal |= rule->key[i] == CW_F_PRINCIPAL;
    if (by_principal && a->ev && a->ev->stream == CW_STREAM_AUDIT) { /* silence alerts have no record */
        key = a->ev->u.audit.principal;
        keylen = strlen(key);
    } else {
        keylen = a->keylen < sizeof keybuf ? a->keylen : sizeof keybuf - 1;
        memcpy(keybuf, a->key, keylen);
        for (size_t i = 0; i < keylen; i++)
            if (keybuf[i] == '\x1f')
                keybuf[i] = '/';
        key = keybuf;
    }
    if (produce(r, r->cfg->alerts_topic, RD_KAFKA_PARTITION_UA, key, keylen, r->buf, n, NULL)) {
        cw_kafka_rule_alerts_t *c = rule_counter(r, rule->id);
        r->st.alerts++;
        if (c)
            c->alerts++;
    }
}

/* A record that goes to the dead-letter topic: the original bytes, key, and two headers. */
static void dead_letter(runner_t *r, part_t *p, const rd_kafka_message_t *m, cw_decode_result_t res)
{
    char src[512], why[256];
    cw_pos_t pos = {p->topic, p->partition, m->offset};
    rd_kafka_headers_t *h;

    if (res.reason >= 0 && res.reason < CW_DEC_REASON_COUNT)
        r->st.dead[res.reason]++;
    r->st.dead_total++;
    cw_pos_format(&pos, src, sizeof src);
    cw_reason_format(res, why, sizeof why);
    cw_log(CW_LOG_DEBUG, "dead letter: %s: %s", src, why);
    h = rd_kafka_headers_new(2);
    rd_kafka_header_add(h, "cdrwatch-error", -1, why, -1);
    rd_kafka_header_add(h, "cdrwatch-source", -1, src, -1);
    produce(r, r->dlq_topic[p->stream], RD_KAFKA_PARTITION_UA, m->key, m->key_len, m->payload ? m->payload : "", m->len, h);
}

/* ---- the generation: partitions, engine, merge ---- */

/* The merge's head function: decode a message into its partition's head event. */
static bool decode_head(void *ctx, int input, void *item, cw_time_t *ts)
{
    runner_t *r = ctx;
    part_t *p = r->parts[input];
    rd_kafka_message_t *m = item;
    p->res = cw_decode_message(r->csv[p->stream], m->payload, m->len, &p->ev);
    *ts = p->ev.ts;
    return p->res.reason == CW_DEC_OK;
}

static void free_message(void *ctx, void *item)
{
    (void)ctx;
    rd_kafka_message_destroy(item);
}

static part_t *find_part(runner_t *r, cw_stream_t s, int32_t partition)
{
    if (!r->gen_active || partition < 0 || partition >= r->n_by_partition[s])
        return NULL;
    return r->by_partition[s][partition];
}

static part_t *part_of(runner_t *r, const rd_kafka_message_t *m)
{
    const char *topic = rd_kafka_topic_name(m->rkt);
    for (int s = 0; s < CW_STREAM_COUNT; s++)
        if (strcmp(topic, r->cfg->input[s].topic) == 0)
            return find_part(r, (cw_stream_t)s, m->partition);
    return NULL;
}

static void pause_part(runner_t *r, part_t *p, bool pause)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, p->topic, p->partition);
    if (pause)
        rd_kafka_pause_partitions(p->rk, l);
    else
        rd_kafka_resume_partitions(p->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    p->paused = pause;
    cw_log(CW_LOG_DEBUG, "%s/%d: %s with %zu records (%zu bytes) buffered", p->topic, p->partition,
           pause ? "paused" : "resumed", cw_kmerge_count(r->merge, p->input), p->buffered_bytes);
}

/* Parse "cdrwatch rewind=O" from commit metadata; -1 if absent. */
static int64_t parse_meta(const rd_kafka_topic_partition_t *e)
{
    char buf[64];
    long long v;
    char *end;
    size_t n = strlen(META_PREFIX);
    if (!e->metadata || e->metadata_size <= n || e->metadata_size >= sizeof buf)
        return -1;
    memcpy(buf, e->metadata, e->metadata_size);
    buf[e->metadata_size] = '\0';
    if (strncmp(buf, META_PREFIX, n) != 0)
        return -1;
    errno = 0;
    v = strtoll(buf + n, &end, 10);
    if (errno || end == buf + n || (*end && *end != ' ') || v < 0)
        return -1;
    return v;
}

/* The number of partitions of the CDR topic (0 when it does not exist). */
static int cdr_partition_count(runner_t *r)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(r->cdr, r->cfg->input[CW_STREAM_CDR].topic, NULL);
    rd_kafka_resp_err_t err;
    int n = 0;
    if (!rkt)
        return 0;
    for (int attempt = 0; attempt < 3; attempt++) {
        err = rd_kafka_metadata(r->cdr, 0, rkt, &md, 5000);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
            break;
        cw_log(CW_LOG_WARN, "metadata of topic %s: %s; retrying", r->cfg->input[CW_STREAM_CDR].topic,
               rd_kafka_err2str(err));
        md = NULL;
    }
    if (md && md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        n = md->topics[0].partition_cnt;
        r->cdr_topic_missing_logged = false;
    } else if (md && !r->cdr_topic_missing_logged) {
        cw_log(CW_LOG_WARN, "CDR topic %s: %s; running on the audit topic alone until the next "
                            "assignment", r->cfg->input[CW_STREAM_CDR].topic,
               md->topic_cnt ? rd_kafka_err2str(md->topics[0].err) : "no metadata");
        r->cdr_topic_missing_logged = true;
    }
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return n;
}

static void seal(runner_t *r);
static void commit_ready(runner_t *r, bool sync);

/* Flush the producer and commit, until every sealed checkpoint is committed or flush_ms (within
 * the shutdown deadline) is spent: a checkpoint holding learned state takes two rounds (its
 * messages go once the alerts before them are acknowledged, its offsets once they are). */
static void flush_and_commit(runner_t *r, cw_time_t flush_ms)
{
    cw_time_t until = mono_ms() + wait_budget(r, flush_ms);
    for (int round = 0; round <= CKPT_MAX + 1; round++) {
        cw_time_t left = until - mono_ms();
        rd_kafka_flush(r->prod, left > 0 ? (int)left : 0);
        commit_ready(r, true);
        if (r->fatal || !r->ck_head || !r->ck_head->sealed || r->ck_head->failed || until - mono_ms() <= 0)
            break;
    }
    cw_log(CW_LOG_DEBUG, "flushed and committed, %lld ms left", (long long)(until - mono_ms()));
}

/* ---- learned state: checkpoints in the state topic ----
 *
 * A checkpoint round serializes the engine into parts: one per assigned audit partition (the
 * keys of audit rules last touched by a record of it, first_seen pairs and evidence records
 * included) and one for the group (the CDR reference, the keys of CDR-stream rules and the keys
 * no record has touched since they were restored untagged). Each goes to partition 0 of
 * state.topic, keyed GROUP/TOPIC/PARTITION or GROUP/cdr, split into messages of at most
 * state.part_size (keys KEY#1, KEY#2... after the first). Every message starts with an
 * envelope: magic, version, checkpoint id, part index and count, and the input positions the
 * part covers (the next offset to process of each of its partitions). The messages are held by
 * the commit checkpoint sealed right after, and produced only once every alert and dead letter
 * before them is acknowledged: a checkpoint in the topic never covers an alert that could be
 * lost. The offsets are committed once the broker has the checkpoint. */

typedef struct {
    runner_t *r;
    uint32_t src; /* the audit partition's engine source */
    bool group;
} select_t;

static bool is_audit_source(runner_t *r, uint32_t src)
{
    for (int i = 0; i < r->n_parts; i++)
        if (r->parts[i]->stream == CW_STREAM_AUDIT && r->parts[i]->source_id == src)
            return true;
    return false;
}

static bool select_part(void *ctx, const cw_rule_t *rule, const char *key, size_t len, uint32_t src)
{
    select_t *s = ctx;
    (void)key;
    (void)len;
    if (!rule) /* an evidence record: with the partition it came from */
        return s->group ? !is_audit_source(s->r, src) : src == s->src;
    if (!s->group)
        return rule->stream == CW_STREAM_AUDIT && src == s->src;
    return rule->stream == CW_STREAM_CDR || !is_audit_source(s->r, src);
}

/* GROUP/cdr, or GROUP/TOPIC/PARTITION for an audit partition. */
static void state_key(const runner_t *r, const char *topic, int32_t partition, char *out, size_t n)
{
    if (topic)
        snprintf(out, n, "%s/%s/%d", r->group, topic, (int)partition);
    else
        snprintf(out, n, "%s/cdr", r->group);
}

/* The next offset to process of a partition: where a restored engine resumes (-1: unknown, the
 * partition starts where the group's committed offset or auto.offset.reset says). */
static int64_t resume_offset(const part_t *p)
{
    return p->next >= 0 ? p->next : p->start >= 0 ? p->start : -1;
}

static void put_envelope(runner_t *r, const part_t *only, uint64_t id, uint32_t index, uint32_t count,
                         cw_wbuf_t *m)
{
    uint32_t n = 0;
    size_t at;
    cw_wbuf_bytes(m, CKPT_MAGIC, 8);
    cw_wbuf_u32(m, CKPT_VERSION);
    cw_wbuf_u64(m, id);
    cw_wbuf_u32(m, index);
    cw_wbuf_u32(m, count);
    at = cw_wbuf_reserve32(m);
    for (int i = 0; i < r->n_parts; i++) {
        const part_t *p = r->parts[i];
        if (only ? p != only : p->stream != CW_STREAM_CDR)
            continue;
        cw_wbuf_str(m, p->topic, strlen(p->topic));
        cw_wbuf_u32(m, (uint32_t)p->partition);
        cw_wbuf_i64(m, resume_offset(p));
        n++;
    }
    cw_wbuf_patch32(m, at, n);
}

/* One part (only: an audit partition; NULL: the group's), in as many messages as it takes. */
static bool put_part(runner_t *r, const part_t *only, uint64_t id)
{
    select_t sel = {r, only ? only->source_id : 0, only == NULL};
    size_t chunk = (size_t)r->cfg->state_part_size;
    uint32_t count;
    char base[600], err[512];
    cw_wbuf_t w;
    bool ok = true;
    cw_wbuf_init(&w);
    if (cw_state_serialize_part(r->engine, select_part, &sel, only == NULL, &w, err, sizeof err) != CW_OK) {
        set_fatal(r, "checkpoint: %s", err);
        cw_wbuf_free(&w);
        return false;
    }
    state_key(r, only ? only->topic : NULL, only ? only->partition : 0, base, sizeof base);
    count = (uint32_t)((w.len + chunk - 1) / chunk);
    for (uint32_t i = 0; i < count && ok; i++) {
        size_t from = (size_t)i * chunk, n = w.len - from < chunk ? w.len - from : chunk;
        state_msg_t *sm = calloc(1, sizeof *sm), **tail = &r->ck_tail->state;
        if (!sm) {
            set_fatal(r, "checkpoint: out of memory");
            ok = false;
            break;
        }
        sm->keylen = (size_t)(i ? snprintf(sm->key, sizeof sm->key, "%s#%u", base, i)
                                : snprintf(sm->key, sizeof sm->key, "%s", base));
        cw_wbuf_init(&sm->value);
        put_envelope(r, only, id, i, count, &sm->value);
        cw_wbuf_bytes(&sm->value, w.data + from, n);
        while (*tail)
            tail = &(*tail)->next;
        *tail = sm; /* in order: the parts of a key follow each other */
        if (sm->value.failed) {
            set_fatal(r, "checkpoint: out of memory");
            ok = false;
        }
    }
    cw_wbuf_free(&w);
    return ok;
}

typedef enum { TOPIC_UNKNOWN, TOPIC_MISSING, TOPIC_EXISTS } topic_state_t;

/* Does the topic exist? From the cluster's list of topics (asking never auto-creates it, and no
 * topic handle is created: a consumer holding one for a topic deleted meanwhile hangs in
 * rd_kafka_destroy, librdkafka 2.0). TOPIC_UNKNOWN when no answer came within timeout_ms. */
static topic_state_t topic_listed(rd_kafka_t *rk, const char *topic, int timeout_ms)
{
    const struct rd_kafka_metadata *md = NULL;
    topic_state_t ts = TOPIC_UNKNOWN;
    if (rd_kafka_metadata(rk, 1, NULL, &md, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        ts = TOPIC_MISSING;
        for (int i = 0; i < md->topic_cnt && ts == TOPIC_MISSING; i++)
            if (strcmp(md->topics[i].topic, topic) == 0)
                ts = md->topics[i].partition_cnt > 0 ? TOPIC_EXISTS : TOPIC_UNKNOWN;
    }
    if (md)
        rd_kafka_metadata_destroy(md);
    return ts;
}

static bool topic_exists(rd_kafka_t *rk, const char *topic)
{
    return topic_listed(rk, topic, 10000) == TOPIC_EXISTS;
}

static void create_state_topic(runner_t *r);

/* At each checkpoint round, even one with nothing new to write: is the state topic still there? Deleted under a running instance
 * (by hand, by a cleanup script), it is created again, compacted, before the producer writes to
 * it — a broker with auto.create.topics.enable would create it itself, not compacted, and one
 * without it would refuse the checkpoint. Every round writes every part, so the next checkpoint
 * is complete. No answer within STATE_CHECK_MS (a broker away): the round goes on. */
static bool check_state_topic(runner_t *r)
{
    /* (no state reader at the end: its clients are being destroyed, the revocation checkpoints) */
    if (!r->stc || topic_listed(r->stc, r->cfg->state_topic, STATE_CHECK_MS) != TOPIC_MISSING)
        return false;
    cw_log(CW_LOG_WARN, "state topic %s is gone (deleted?): creating it again; the checkpoints in it are lost, "
                        "a whole one is written now", r->cfg->state_topic);
    create_state_topic(r);
    return true;
}

/* The counters of an engine about to be dropped (end of a generation, a reload) carried over. */
static void retire_engine_counts(runner_t *r)
{
    const cw_metrics_t *m = cw_engine_metrics(r->engine);
    r->evictions_before += m->evictions;
    r->repaired_before += m->damaged_records;
}

/* A checkpoint round (state.interval, shutdown, revocation): every part, then a seal, so that the
 * offsets they cover are committed once the broker has them. Nothing when nothing was processed
 * since the last one of this generation (it still holds), unless the state topic was gone. */
static void checkpoint(runner_t *r)
{
    uint64_t done, id;
    r->last_state = mono_ms();
    if (!r->state_on || !r->gen_active || r->fatal)
        return;
    if (check_state_topic(r))
        r->ckpt_mark = UINT64_MAX; /* what it held is gone: write it again */
    done = r->st.records + r->st.rebuilt;
    if (done == r->ckpt_mark)
        return;
    id = ((uint64_t)wall_ms() << 20) ^ ((r->ckpt_salt + r->ckpt_seq++) & 0xfffff);
    if (!put_part(r, NULL, id))
        return;
    for (int i = 0; i < r->n_parts; i++)
        if (r->parts[i]->stream == CW_STREAM_AUDIT && !put_part(r, r->parts[i], id))
            return;
    r->ckpt_mark = done;
    r->st.checkpoints++;
    r->last_ckpt_taken = mono_ms();
    cw_log(CW_LOG_DEBUG, "state: checkpoint %llu taken after %llu records", (unsigned long long)r->st.checkpoints,
           (unsigned long long)done);
    seal(r);
}

/* ---- learned state: reading the checkpoints back on an assignment ---- */

/* One wanted part while the state topic is read: the checkpoint being assembled, and the
 * newest complete one. */
typedef struct {
    char key[600];
    uint64_t id;            /* being assembled */
    uint32_t count, got;
    cw_wbuf_t data, pos;    /* its snapshot bytes so far; its positions block (from part 0) */
    bool complete;
    cw_wbuf_t done, done_pos;
    bool damaged;           /* the newest message of the key is not a usable checkpoint */
    char why[256];
} wanted_t;

static void wanted_free(wanted_t *w)
{
    cw_wbuf_free(&w->data);
    cw_wbuf_free(&w->pos);
    cw_wbuf_free(&w->done);
    cw_wbuf_free(&w->done_pos);
}

/* Parse a message's envelope: false (and why) if it is not a checkpoint message of this build. */
static bool parse_envelope(const rd_kafka_message_t *m, uint64_t *id, uint32_t *index, uint32_t *count,
                           const unsigned char **pos, size_t *pos_len, size_t *body_at, char *why, size_t whylen)
{
    cw_rbuf_t rb;
    size_t start;
    uint32_t n;
    if (m->len < 8 || memcmp(m->payload, CKPT_MAGIC, 8) != 0) {
        snprintf(why, whylen, "not a cdrwatch checkpoint");
        return false;
    }
    cw_rbuf_init(&rb, m->payload, m->len, 0, why, whylen);
    rb.pos = 8;
    if (cw_rbuf_u32(&rb) != CKPT_VERSION && !rb.failed) {
        snprintf(why, whylen, "checkpoint of another format version");
        return false;
    }
    *id = cw_rbuf_u64(&rb);
    *index = cw_rbuf_u32(&rb);
    *count = cw_rbuf_u32(&rb);
    start = rb.pos;
    n = cw_rbuf_count(&rb, 4 + 4 + 8, 1u << 20, "positions");
    for (uint32_t i = 0; i < n && !rb.failed; i++) {
        size_t len;
        cw_rbuf_str(&rb, 249, &len);
        cw_rbuf_u32(&rb);
        cw_rbuf_i64(&rb);
    }
    if (!rb.failed && (*count == 0 || *index >= *count))
        cw_rbuf_fail(&rb, "part %u of %u", *index, *count);
    *pos = (const unsigned char *)m->payload + start;
    *pos_len = rb.pos - start;
    *body_at = rb.pos;
    return !rb.failed;
}

static void wanted_feed(wanted_t *w, const rd_kafka_message_t *m)
{
    uint64_t id;
    uint32_t index, count;
    const unsigned char *pos;
    size_t pos_len, body_at;
    if (!parse_envelope(m, &id, &index, &count, &pos, &pos_len, &body_at, w->why, sizeof w->why)) {
        w->damaged = true; /* the newest word on this key is garbage: nothing older counts */
        w->complete = false;
        w->count = 0;
        return;
    }
    if (index == 0) {
        w->id = id;
        w->count = count;
        w->got = 0;
        w->data.len = w->pos.len = 0;
        w->data.failed = w->pos.failed = false;
        cw_wbuf_bytes(&w->pos, pos, pos_len);
    } else if (!w->count || id != w->id || index != w->got) {
        return; /* a part of an older checkpoint that compaction has not removed yet */
    }
    cw_wbuf_bytes(&w->data, (const unsigned char *)m->payload + body_at, m->len - body_at);
    if (++w->got < w->count)
        return;
    {
        cw_wbuf_t t = w->done;
        w->done = w->data;
        w->data = t;
        t = w->done_pos;
        w->done_pos = w->pos;
        w->pos = t;
    }
    w->complete = !w->done.failed && !w->done_pos.failed;
    w->damaged = false;
    w->count = 0;
}

/* Read partition 0 of the state topic to its end, feeding the wanted keys. False when the topic
 * does not exist or its end was not reached. */
static bool read_state_topic(runner_t *r, wanted_t *w, int n)
{
    rd_kafka_topic_partition_list_t *l;
    cw_time_t until = mono_ms() + STATE_READ_MS;
    bool at_end = false;
    if (!topic_exists(r->stc, r->cfg->state_topic))
        return false;
    l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, r->cfg->state_topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(r->stc, l);
    rd_kafka_topic_partition_list_destroy(l);
    while (!at_end && mono_ms() < until && !stop_requests) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(r->stc, 200);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
            at_end = true;
        for (int i = 0; !m->err && m->key && i < n; i++) {
            size_t kl = strlen(w[i].key);
            if (m->key_len >= kl && memcmp(m->key, w[i].key, kl) == 0 &&
                (m->key_len == kl || ((const char *)m->key)[kl] == '#'))
                wanted_feed(&w[i], m);
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_assign(r->stc, NULL);
    return at_end;
}

/* The position a checkpoint's positions block gives (topic, partition); -2 if absent. */
static int64_t ckpt_position(const cw_wbuf_t *pos, const char *topic, int32_t partition)
{
    char why[64];
    cw_rbuf_t rb;
    uint32_t n;
    cw_rbuf_init(&rb, pos->data, pos->len, 0, why, sizeof why);
    n = cw_rbuf_u32(&rb);
    for (uint32_t i = 0; i < n && !rb.failed; i++) {
        size_t len;
        const char *t = cw_rbuf_str(&rb, 249, &len);
        int32_t part = (int32_t)cw_rbuf_u32(&rb);
        int64_t off = cw_rbuf_i64(&rb);
        if (t && len == strlen(topic) && memcmp(t, topic, len) == 0 && part == partition)
            return off;
    }
    return -2;
}

/* The keys wanted on an assignment: the group's part, then one per audit partition of all. */
static int want_parts(runner_t *r, const rd_kafka_topic_partition_list_t *all, wanted_t **out)
{
    wanted_t *w = calloc((size_t)all->cnt + 1, sizeof *w);
    int n = 1;
    if (!w)
        return 0;
    state_key(r, NULL, 0, w[0].key, sizeof w[0].key);
    for (int i = 0; i < all->cnt; i++)
        if (strcmp(all->elems[i].topic, r->cfg->input[CW_STREAM_AUDIT].topic) == 0)
            state_key(r, all->elems[i].topic, all->elems[i].partition, w[n++].key, sizeof w[0].key);
    *out = w;
    return n;
}

static wanted_t *wanted_of(runner_t *r, wanted_t *w, int n, const rd_kafka_topic_partition_t *e)
{
    char key[600];
    if (strcmp(e->topic, r->cfg->input[CW_STREAM_AUDIT].topic) != 0)
        return &w[0];
    state_key(r, e->topic, e->partition, key, sizeof key);
    for (int i = 1; i < n; i++)
        if (strcmp(w[i].key, key) == 0)
            return &w[i];
    return &w[0];
}

/* Check every partition's checkpoint against the group's committed offset (in all): where it
 * resumes (resume[i], -1: as if never committed), or the first reason it cannot. A checkpoint
 * behind the committed offset is used: the records in between are read again silently. One
 * beyond it is too: it was produced only once every alert of the records before it had been
 * acknowledged (the commit that follows it did not happen). */
static bool check_positions(runner_t *r, wanted_t *w, int n, const rd_kafka_topic_partition_list_t *all,
                            int64_t *resume, char *why, size_t whylen)
{
    for (int i = 0; i < n; i++) {
        if (w[i].damaged) {
            snprintf(why, whylen, "%s: %s", w[i].key, w[i].why);
            return false;
        }
        if (!w[i].complete) {
            snprintf(why, whylen, "%s: no complete checkpoint", w[i].key);
            return false;
        }
    }
    for (int i = 0; i < all->cnt; i++) {
        const rd_kafka_topic_partition_t *e = &all->elems[i];
        wanted_t *x = wanted_of(r, w, n, e);
        int64_t pos = ckpt_position(&x->done_pos, e->topic, e->partition);
        int64_t committed = e->offset >= 0 ? e->offset : -1;
        if (pos == -2 || (pos < 0 && committed >= 0)) {
            snprintf(why, whylen, "%s: its position of %s/%d (%lld) does not fit the committed offset (%lld)",
                     x->key, e->topic, (int)e->partition, (long long)pos, (long long)committed);
            return false;
        }
        resume[i] = pos;
    }
    return true;
}

/* Merge every part into the (fresh) engine: the group's first (it logs each rule's decision). */
static bool merge_parts(runner_t *r, wanted_t *w, int n, const rd_kafka_topic_partition_list_t *all,
                        char *why, size_t whylen)
{
    char err[512];
    for (int i = 0; i < n; i++) {
        cw_state_restore_opts_t o = {true, CW_STATE_NO_SOURCE, i > 0};
        if (i > 0) {
            for (int j = 0; j < all->cnt; j++)
                if (wanted_of(r, w, n, &all->elems[j]) == &w[i])
                    o.tag = cw_engine_source_id(r->engine, all->elems[j].topic, all->elems[j].partition);
        }
        if (cw_state_restore_with(r->engine, w[i].done.data, w[i].done.len, &o, err, sizeof err) != CW_OK) {
            snprintf(why, whylen, "%s: %s", w[i].key, err);
            return false;
        }
    }
    return true;
}

/* On an assignment: restore the engine from the checkpoints of its partitions, and say where each
 * resumes. False, with one line saying why, when there is none to use (the engine is then
 * spoiled if *spoiled): the generation rebuilds from the rewind points as without checkpoints. */
static bool restore_checkpoints(runner_t *r, const rd_kafka_topic_partition_list_t *all, int64_t *resume,
                                bool *spoiled)
{
    wanted_t *w = NULL;
    int n = want_parts(r, all, &w);
    char why[1536] = "";
    bool read, any = false, ok = false;
    *spoiled = false;
    if (!n) {
        set_fatal(r, "out of memory");
        return false;
    }
    read = read_state_topic(r, w, n);
    for (int i = 0; i < n; i++)
        any |= w[i].complete || w[i].damaged;
    if (!read || !any)
        cw_log(CW_LOG_INFO, "state: %s in topic %s for group %s: windows rebuilt from the rewind points",
               read ? "no checkpoint" : "no checkpoint readable (the topic does not exist yet?)", r->cfg->state_topic,
               r->group);
    else if (!check_positions(r, w, n, all, resume, why, sizeof why))
        cw_log(CW_LOG_WARN, "state: checkpoint not used (%s): windows rebuilt from the rewind points", why);
    else if (!(ok = merge_parts(r, w, n, all, why, sizeof why))) {
        *spoiled = true;
        cw_log(CW_LOG_WARN, "state: checkpoint not usable (%s): windows rebuilt from the rewind points", why);
    } else {
        cw_log(CW_LOG_INFO, "state: restored %d checkpoint part(s) from %s: no rewind", n, r->cfg->state_topic);
    }
    for (int i = 0; i < n; i++)
        wanted_free(&w[i]);
    free(w);
    return ok;
}


/* End the current generation: commit what is acknowledged (unless the partitions were lost),
 * forget buffered records and every checkpoint that cannot be committed any more. */
static void end_generation(runner_t *r, bool commit, cw_time_t flush_ms)
{
    int dropped = 0;
    if (!r->gen_active)
        return;
    if (commit)
        checkpoint(r); /* revocation or shutdown: the state goes with the partitions */
    seal(r);
    if (commit)
        flush_and_commit(r, flush_ms);
    for (ckpt_t *ck = r->ck_head; ck; ck = ck->next)
        if (ck->sealed && !ck->dropped) {
            ck->dropped = true;
            dropped++;
        }
    if (dropped)
        cw_log(CW_LOG_WARN, "%d checkpoint(s) not acknowledged before the partitions were handed "
                            "over: their records will be read again", dropped);
    retire_engine_counts(r);
    /* librdkafka keeps a partition's pause across assignments: resume before handing it back */
    for (int i = 0; i < r->n_parts; i++)
        if (r->parts[i]->paused)
            pause_part(r, r->parts[i], false);
    cw_kmerge_clear(r->merge);
    if (r->cdr) {
        rd_kafka_message_t *m;
        rd_kafka_assign(r->cdr, NULL);
        while ((m = rd_kafka_consumer_poll(r->cdr, 0))) /* fetched for the old assignment */
            rd_kafka_message_destroy(m);
    }
    r->gen_active = false;
    r->parts = NULL;
    r->n_parts = 0;
    apr_pool_clear(r->gen_pool);
    r->engine_pool = NULL; /* cleared with it */
    r->engine = NULL;
}

/* Where a partition starts: at the checkpoint's position (resume >= 0, at or before the committed
 * offset), else at its rewind point (or the committed offset without one), else as the group or
 * auto.offset.reset says. */
static int64_t start_offset(const runner_t *r, cw_stream_t s, const rd_kafka_topic_partition_t *e, int64_t rewind,
                            int64_t resume)
{
    if (resume >= 0)
        return resume;
    if (e->offset >= 0)
        return rewind >= 0 && rewind <= e->offset ? rewind : e->offset;
    if (e->offset == RD_KAFKA_OFFSET_STORED)
        return RD_KAFKA_OFFSET_STORED;
    /* never committed */
    return s == CW_STREAM_AUDIT ? RD_KAFKA_OFFSET_INVALID : r->earliest ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
}

/* A fresh engine for the generation, in a pool of its own (a reload replaces it). */
static cw_status_t new_engine(runner_t *r, char *err, size_t errlen)
{
    if (r->engine_pool)
        apr_pool_destroy(r->engine_pool);
    apr_pool_create(&r->engine_pool, r->gen_pool);
    return cw_engine_create(r->engine_pool, r->cfg, on_alert, r, &r->engine, err, errlen);
}

/* The input of partition e (its committed offset in e->offset) of stream s, read from `start`:
 * the next in merge order. */
static part_t *add_part(runner_t *r, cw_stream_t s, const rd_kafka_topic_partition_t *e, int64_t start)
{
    part_t *p = apr_pcalloc(r->gen_pool, sizeof *p);
    p->r = r;
    p->stream = s;
    p->topic = r->cfg->input[s].topic;
    p->partition = e->partition;
    p->rk = s == CW_STREAM_CDR ? r->cdr : r->audit;
    p->input = cw_kmerge_add(r->merge);
    p->source_id = cw_engine_source_id(r->engine, p->topic, p->partition);
    p->next = -1;
    p->confirmed = e->offset >= 0 ? e->offset : -1;
    p->silent_until = p->confirmed;
    p->start = start;
    p->received = start >= 0 ? start : -1;
    r->parts[r->n_parts++] = p;
    r->by_partition[s][p->partition] = p;
    return p;
}

/* Start a generation for the audit partitions just assigned: rewind points and committed offsets
 * from the group, a fresh engine, the CDR topic assigned whole. */
static void start_generation(runner_t *r, const rd_kafka_topic_partition_list_t *assigned)
{
    const cw_config_t *cfg = r->cfg;
    int n_cdr = cdr_partition_count(r);
    rd_kafka_topic_partition_list_t *all = rd_kafka_topic_partition_list_new(assigned->cnt + n_cdr);
    rd_kafka_topic_partition_list_t *la, *lc;
    rd_kafka_resp_err_t err;
    char err_buf[512];
    int rebuilding = 0;
    int64_t *resume = NULL;
    bool restored = false, from_file = false, spoiled = false;

    for (int i = 0; i < n_cdr; i++)
        rd_kafka_topic_partition_list_add(all, cfg->input[CW_STREAM_CDR].topic, i);
    for (int i = 0; i < assigned->cnt; i++)
        rd_kafka_topic_partition_list_add(all, assigned->elems[i].topic, assigned->elems[i].partition);
    /* committed offsets and rewind metadata, for both topics, from the group */
    err = rd_kafka_committed(r->audit, all, 30000);
    if (err) {
        cw_log(CW_LOG_WARN, "cannot read the committed offsets (%s): starting from them without "
                            "rebuilding the windows", rd_kafka_err2str(err));
        for (int i = 0; i < all->cnt; i++) {
            all->elems[i].offset = RD_KAFKA_OFFSET_STORED;
            all->elems[i].metadata_size = 0;
        }
    }
    rd_kafka_topic_partition_list_sort(all, NULL, NULL);

    if (new_engine(r, err_buf, sizeof err_buf) != CW_OK) {
        set_fatal(r, "%s", err_buf);
        rd_kafka_topic_partition_list_destroy(all);
        return;
    }
    resume = apr_pcalloc(r->gen_pool, (size_t)(all->cnt ? all->cnt : 1) * sizeof *resume);
    if (r->state_in && !err) {
        /* checked when the run started: it restores */
        from_file = restored = cw_state_restore(r->engine, r->state_in, r->state_in_len, err_buf, sizeof err_buf) == CW_OK;
        cw_log(CW_LOG_INFO, "state: started from the --state-in snapshot; the input positions in it are replay's and "
                            "are ignored: partitions start at the group's committed offsets (or as auto.offset.reset says)");
        free(r->state_in);
        r->state_in = NULL;
    } else if (r->state_on && !err) {
        restored = restore_checkpoints(r, all, resume, &spoiled);
    }
    if (spoiled && new_engine(r, err_buf, sizeof err_buf) != CW_OK) {
        set_fatal(r, "%s", err_buf);
        rd_kafka_topic_partition_list_destroy(all);
        return;
    }
    r->ckpt_mark = restored && !from_file ? r->st.records + r->st.rebuilt : UINT64_MAX;
    cw_kmerge_create(r->gen_pool, all->cnt ? all->cnt : 1, cfg->kafka_idle_wait, decode_head, free_message,
                     r, &r->merge);
    for (int s = 0; s < CW_STREAM_COUNT; s++) {
        cw_csv_create(r->gen_pool, (cw_stream_t)s, &r->csv[s]);
        cw_csv_set_columns(r->csv[s], cfg->input[s].columns, cfg->input[s].n_columns);
        r->n_by_partition[s] = 0;
    }
    r->parts = apr_pcalloc(r->gen_pool, (size_t)(all->cnt ? all->cnt : 1) * sizeof *r->parts);
    r->n_parts = 0;
    la = rd_kafka_topic_partition_list_new(assigned->cnt);
    lc = rd_kafka_topic_partition_list_new(n_cdr);
    /* inputs in merge order (ties): CDR partitions first, then audit, each by partition number —
     * as replay orders --cdr before --audit */
    for (int pass = 0; pass < CW_STREAM_COUNT; pass++) {
        cw_stream_t s = pass == 0 ? CW_STREAM_CDR : CW_STREAM_AUDIT;
        int32_t maxp = -1;
        for (int i = 0; i < all->cnt; i++)
            if (strcmp(all->elems[i].topic, cfg->input[s].topic) == 0 && all->elems[i].partition > maxp)
                maxp = all->elems[i].partition;
        r->n_by_partition[s] = maxp + 1;
        r->by_partition[s] = apr_pcalloc(r->gen_pool, (size_t)(maxp + 2) * sizeof(part_t *));
        for (int i = 0; i < all->cnt; i++) {
            rd_kafka_topic_partition_t *e = &all->elems[i];
            part_t *p;
            int64_t rewind;
            if (strcmp(e->topic, cfg->input[s].topic) != 0)
                continue;
            rewind = e->offset >= 0 && !restored ? parse_meta(e) : -1;
            p = add_part(r, s, e, start_offset(r, s, e, rewind, restored && !from_file ? resume[i] : -1));
            if (p->start >= 0 && p->confirmed > p->start)
                rebuilding++;
            rd_kafka_topic_partition_list_add(s == CW_STREAM_CDR ? lc : la, p->topic, p->partition)->offset =
                p->start;
            cw_log(CW_LOG_DEBUG, "%s/%d: committed %lld, rewind %lld, start %lld", p->topic, p->partition,
                   (long long)e->offset, (long long)rewind, (long long)p->start);
        }
    }
    r->pause_bytes = r->n_parts ? BUFFER_BUDGET / (size_t)r->n_parts : BUFFER_BUDGET;
    if (r->pause_bytes < PAUSE_MIN_BYTES)
        r->pause_bytes = PAUSE_MIN_BYTES;
    r->gen_active = true;
    r->st.assignments++;
    err = rd_kafka_assign(r->audit, la);
    if (!err && n_cdr)
        err = rd_kafka_assign(r->cdr, lc);
    if (err)
        set_fatal(r, "kafka: cannot assign partitions: %s", rd_kafka_err2str(err));
    if (restored)
        r->st.restored++;
    cw_log(CW_LOG_INFO, "assigned %d partition(s) of %s and all %d of %s%s", la->cnt,
           cfg->input[CW_STREAM_AUDIT].topic, n_cdr, cfg->input[CW_STREAM_CDR].topic,
           !rebuilding ? ""
           : restored  ? "; reading again silently from the checkpoint to the committed offsets"
                       : "; rebuilding the windows from the rewind points");
    rd_kafka_topic_partition_list_destroy(la);
    rd_kafka_topic_partition_list_destroy(lc);
    rd_kafka_topic_partition_list_destroy(all);
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                         void *opaque)
{
    runner_t *r = opaque;
    switch (err) {
    case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
        end_generation(r, true, r->cfg->kafka_shutdown_timeout); /* normally done on revoke */
        start_generation(r, parts);
        break;
    case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS: {
        bool lost = rd_kafka_assignment_lost(rk);
        if (lost)
            cw_log(CW_LOG_WARN, "the group lost our partitions (session timed out?): not committing");
        else
            cw_log(CW_LOG_INFO, "partitions revoked: committing and handing them over");
        end_generation(r, !lost, r->cfg->kafka_shutdown_timeout);
        rd_kafka_assign(rk, NULL);
        break;
    }
    default:
        cw_log(CW_LOG_WARN, "rebalance failed: %s", rd_kafka_err2str(err));
        end_generation(r, false, 0);
        rd_kafka_assign(rk, NULL);
        break;
    }
}

/* ---- checkpoints ---- */

static ckpt_t *ckpt_open(runner_t *r)
{
    ckpt_t *ck = calloc(1, sizeof *ck);
    if (!ck)
        return NULL;
    if (r->ck_tail)
        r->ck_tail->next = ck;
    else
        r->ck_head = ck;
    r->ck_tail = ck;
    return ck;
}

/* Seal the open checkpoint with the offsets reached, and open the next one. */
static void seal(runner_t *r)
{
    ckpt_t *ck = r->ck_tail;
    cw_time_t clock = r->gen_active ? cw_engine_clock(r->engine) : INT64_MIN;
    cw_time_t t = clock == INT64_MIN ? INT64_MIN : clock - r->rewind_span;
    r->last_seal = mono_ms();
    if (!r->gen_active)
        return;
    if (r->n_sealed >= CKPT_MAX && ck->pending)
        return; /* acknowledgements lag far behind: keep filling this one */
    ck->offsets = rd_kafka_topic_partition_list_new(r->n_parts);
    for (int i = 0; i < r->n_parts; i++) {
        part_t *p = r->parts[i];
        rd_kafka_topic_partition_t *e;
        char meta[64];
        /* every partition whose commit the broker has not confirmed yet — a failed commit is
         * carried by the next one; never below the group's offset (still rebuilding there) */
        /* a partition restored at a checkpoint beyond the committed offset is committed there
         * even before it reads anything */
        int64_t next = resume_offset(p);
        /* leaving at the end, even a confirmed position is committed once more, synchronously
         * and after every asynchronous commit: the broker may have answered a retry of an older
         * commit after the newer one, and the group's offset must end at the end */
        if (next < 0 || (next <= p->confirmed && !(r->last_word && next == p->confirmed)))
            continue;
        e = rd_kafka_topic_partition_list_add(ck->offsets, p->topic, p->partition);
        e->offset = next;
        snprintf(meta, sizeof meta, META_PREFIX "%lld",
                 (long long)(p->rewind ? cw_rewind_point(p->rewind, t) : p->start >= 0 ? p->start : p->next));
        e->metadata = strdup(meta);
        e->metadata_size = e->metadata ? strlen(meta) : 0;
    }
    if (ck->offsets->cnt == 0 && ck->pending == 0 && !ck->state) { /* nothing to commit or wait for */
        rd_kafka_topic_partition_list_destroy(ck->offsets);
        ck->offsets = NULL;
        return;
    }
    ck->sealed = true;
    r->n_sealed++;
    if (!ckpt_open(r))
        set_fatal(r, "out of memory");
}

static void state_free(ckpt_t *ck)
{
    while (ck->state) {
        state_msg_t *sm = ck->state;
        ck->state = sm->next;
        cw_wbuf_free(&sm->value);
        free(sm);
    }
}

/* Produce the state checkpoint a commit checkpoint holds (its messages count as its own). */
static void produce_state(runner_t *r, ckpt_t *ck)
{
    for (state_msg_t *sm = ck->state; sm && !ck->failed; sm = sm->next)
        produce_for(r, ck, r->cfg->state_topic, 0, sm->key, sm->keylen, sm->value.data, sm->value.len, NULL);
    state_free(ck);
}

static void ckpt_free(ckpt_t *ck)
{
    state_free(ck);
    if (ck->offsets)
        rd_kafka_topic_partition_list_destroy(ck->offsets);
    free(ck);
}

/* Commit the newest checkpoint whose messages, and all older ones', are acknowledged. */
static void commit_ready(runner_t *r, bool sync)
{
    rd_kafka_topic_partition_list_t *merged = NULL;
    while (r->ck_head && r->ck_head->sealed && r->ck_head->pending == 0 && !r->ck_head->failed) {
        ckpt_t *ck = r->ck_head;
        if (ck->state && !ck->dropped) {
            /* every alert before it is acknowledged: the learned state may go, and the offsets
             * once the broker has it */
            produce_state(r, ck);
            if (ck->pending || ck->failed)
                break;
        }
        r->ck_head = ck->next;
        r->n_sealed--;
        if (!ck->dropped && ck->offsets && ck->offsets->cnt) {
            /* later checkpoints hold later offsets; a partition missing from the newest keeps the
             * offset of an older one */
            if (!merged)
                merged = rd_kafka_topic_partition_list_new(ck->offsets->cnt);
            for (int i = 0; i < ck->offsets->cnt; i++) {
                rd_kafka_topic_partition_t *e = &ck->offsets->elems[i];
                rd_kafka_topic_partition_t *m = rd_kafka_topic_partition_list_find(merged, e->topic, e->partition);
                if (!m)
                    m = rd_kafka_topic_partition_list_add(merged, e->topic, e->partition);
                m->offset = e->offset;
                free(m->metadata);
                m->metadata = malloc(e->metadata_size ? e->metadata_size : 1);
                memcpy(m->metadata, e->metadata, e->metadata_size);
                m->metadata_size = e->metadata_size;
            }
        }
        ckpt_free(ck);
    }
    if (!r->ck_head)
        r->ck_tail = NULL;
    if (!r->ck_tail && !ckpt_open(r))
        set_fatal(r, "out of memory");
    if (!merged)
        return;
    if (sync) {
        /* the last word (shutdown, hand-over): after the asynchronous ones, a few tries if the
         * coordinator hiccups, each waited for within kafka.shutdown_timeout (and within what is
         * left of it once the shutdown has started). Never rd_kafka_commit(): with no coordinator
         * reachable it blocks until one is, for ever if the brokers stay down. */
        cw_time_t give_up = mono_ms() + wait_budget(r, r->cfg->kafka_shutdown_timeout);
        await_commits(r, 5000);
        for (int attempt = 0; attempt < 3 && r->commits_in_flight == 0 && mono_ms() < give_up; attempt++) {
            if (rd_kafka_commit_queue(r->audit, merged, r->q_commit, NULL, NULL) != RD_KAFKA_RESP_ERR_NO_ERROR)
                break;
            r->commits_in_flight++;
            r->last_commit_err = RD_KAFKA_RESP_ERR__IN_PROGRESS;
            while (r->commits_in_flight > 0 && mono_ms() < give_up)
                serve_commits(r, 100);
            if (r->commits_in_flight == 0 && r->last_commit_err == RD_KAFKA_RESP_ERR_NO_ERROR)
                break;
        }
    } else {
        if (rd_kafka_commit_queue(r->audit, merged, r->q_commit, NULL, NULL) == RD_KAFKA_RESP_ERR_NO_ERROR)
            r->commits_in_flight++; /* result in serve_commits */
    }
    rd_kafka_topic_partition_list_destroy(merged);
}

/* ---- the loop ---- */

static void on_message(runner_t *r, rd_kafka_message_t *m)
{
    part_t *p;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        p = m->rkt ? part_of(r, m) : NULL;
        if (p)
            cw_log(CW_LOG_DEBUG, "%s/%d: end of partition at %lld (received up to %lld)", p->topic, p->partition,
                   (long long)m->offset, (long long)p->received);
        if (p && (p->received < 0 || m->offset >= p->received)) {
            cw_kmerge_set_eof(r->merge, p->input);
            if (p->received < 0)
                p->received = m->offset;
        }
        broker_back(r);
        rd_kafka_message_destroy(m);
        return;
    }
    if (m->err) {
        if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
            char why[512];
            rd_kafka_fatal_error(r->audit, why, sizeof why);
            set_fatal(r, "kafka: fatal consumer error: %s", why);
        } else {
            char msg[512];
            cw_time_t now = mono_ms();
            snprintf(msg, sizeof msg, "kafka: %s: %s", m->rkt ? rd_kafka_topic_name(m->rkt) : "consumer",
                     rd_kafka_message_errstr(m));
            /* the same error again and again (a topic that does not exist yet): once a minute */
            if (strcmp(msg, r->last_error) != 0 || now - r->last_error_at > 60000) {
                cw_log(CW_LOG_WARN, "%s", msg);
                cw_strlcpy(r->last_error, msg, sizeof r->last_error);
                r->last_error_at = now;
            }
        }
        rd_kafka_message_destroy(m);
        return;
    }
    p = part_of(r, m);
    if (!p || (p->received >= 0 && m->offset < p->received)) {
        if (p)
            cw_log(CW_LOG_DEBUG, "%s/%d: dropping offset %lld (expected %lld)", p->topic, p->partition,
                   (long long)m->offset, (long long)p->received);
        rd_kafka_message_destroy(m); /* from before a re-assignment */
        return;
    }
    if (p->received >= 0 && m->offset != p->received)
        cw_log(CW_LOG_DEBUG, "%s/%d: offset %lld after %lld", p->topic, p->partition, (long long)m->offset,
               (long long)p->received - 1);
    if (cw_kmerge_push(r->merge, p->input, m) != CW_OK) {
        set_fatal(r, "out of memory buffering partition %s/%d", p->topic, p->partition);
        rd_kafka_message_destroy(m);
        return;
    }
    p->received = m->offset + 1;
    p->buffered_bytes += m->len + MSG_OVERHEAD;
    broker_back(r);
    if (!p->paused && p->buffered_bytes > r->pause_bytes)
        pause_part(r, p, true);
}

/* Take everything the consumer has fetched, and serve its callbacks (rebalance, errors,
 * commits). One message per call: a rebalance served in the middle of a batch call
 * (rd_kafka_consume_batch_queue) would leave messages of the old assignment in the batch. */
static void drain(runner_t *r, rd_kafka_t *rk)
{
    rd_kafka_message_t *m;
    if (!rk)
        return;
    while ((m = rd_kafka_consumer_poll(rk, 0)))
        on_message(r, m);
}

/* One record out of the merge into the engine. */
static void process(runner_t *r, part_t *p, rd_kafka_message_t *m, bool decoded)
{
    bool silent = p->silent_until >= 0 && m->offset < p->silent_until;
    if (!decoded) {
        if (!silent)
            dead_letter(r, p, m, p->res);
    } else {
        cw_event_t *ev = &p->ev;
        ev->pos.name = p->topic;
        ev->pos.partition = p->partition;
        ev->pos.offset = m->offset;
        ev->source_index = (int)p->source_id;
        r->silent = silent;
        if (cw_engine_process(r->engine, ev) == CW_DEC_LATE && !silent)
            dead_letter(r, p, m, (cw_decode_result_t){CW_DEC_LATE, CW_F_NONE});
        r->silent = false;
        if (!p->rewind)
            cw_rewind_create(r->gen_pool, REWIND_SAMPLES, p->start >= 0 ? p->start : m->offset, &p->rewind);
        cw_rewind_note(p->rewind, ev->ts, m->offset);
    }
    if (silent) {
        r->st.rebuilt++;
    } else {
        r->st.records++;
        r->st.records_by_stream[p->stream]++;
    }
    p->next = m->offset + 1;
    p->buffered_bytes -= m->len + MSG_OVERHEAD;
    rd_kafka_message_destroy(m);
    if (p->paused && p->buffered_bytes < r->pause_bytes / 4 * 3)
        pause_part(r, p, false);
}

/* Tell the merge which empty partitions are known to hold more records on the broker (their
 * high watermark, as of the last fetch, is beyond what was delivered), or may (never fetched):
 * it waits for those. */
static void update_lagging(runner_t *r)
{
    for (int i = 0; i < r->n_parts; i++) {
        part_t *p = r->parts[i];
        int64_t lo, hi;
        if (cw_kmerge_count(r->merge, p->input) || cw_kmerge_at_eof(r->merge, p->input))
            continue;
        if (rd_kafka_get_watermark_offsets(p->rk, p->topic, p->partition, &lo, &hi) || hi < 0) {
            /* not fetched yet: nothing is known, so it may hold anything (Kafka Streams waits
             * for a partition of unknown lag too) */
            cw_kmerge_set_lagging(r->merge, p->input, p->received < 0 || p->received == p->start);
            continue;
        }
        cw_kmerge_set_lagging(r->merge, p->input, hi > (p->received >= 0 ? p->received : lo));
    }
}

/* Process up to BATCH_MAX records (opts.batch); returns how long the loop may sleep (ms). */
static int run_batch(runner_t *r)
{
    cw_time_t now = mono_ms(), until = 0;
    bool lag_checked = false;
    int batch = r->opts.batch > 0 ? r->opts.batch : BATCH_MAX;
    for (int n = 0; n < batch && r->gen_active && !r->fatal && !stop_requests; n++) {
        int input;
        void *item;
        bool decoded;
        switch (cw_kmerge_next(r->merge, now, &input, &item, &decoded, &until)) {
        case CW_KMERGE_ITEM:
            process(r, r->parts[input], item, decoded);
            break;
        case CW_KMERGE_WAIT:
            if (!lag_checked) { /* is the empty partition behind, or caught up? */
                update_lagging(r);
                lag_checked = true;
                n--;
                continue;
            }
            /* a lagging partition wakes us when its records arrive (queue event) */
            return until == INT64_MAX ? 100 : until > now ? (int)(until - now) : 1;
        case CW_KMERGE_EMPTY:
            return 1000;
        }
    }
    return 0; /* more to do */
}

/* Room for n entries in r->lags (not per record: grows to the largest assignment). */
static bool lags_room(runner_t *r, int n)
{
    cw_kafka_part_lag_t *l;
    if (n <= r->lags_cap)
        return true;
    if (!(l = realloc(r->lags, (size_t)n * sizeof *l)))
        return false;
    r->lags = l;
    r->lags_cap = n;
    return true;
}

static void update_lag(runner_t *r)
{
    int64_t lag = 0, uncommitted = 0;
    bool known = r->gen_active, ready = r->gen_active && r->n_parts > 0;
    bool per_part = r->gen_active && lags_room(r, r->n_parts);
    r->st.n_part_lag = 0;
    for (int i = 0; i < r->n_parts; i++) {
        part_t *p = r->parts[i];
        int64_t lo, hi;
        bool marks = rd_kafka_get_watermark_offsets(p->rk, p->topic, p->partition, &lo, &hi) == 0 && hi >= 0;
        if (per_part) {
            cw_kafka_part_lag_t *l = &r->lags[r->st.n_part_lag++];
            l->topic = p->topic;
            l->partition = p->partition;
            l->lag = marks ? hi - (p->next >= 0 ? p->next : p->start >= 0 ? p->start : lo) : -1;
        }
        if (p->start >= 0 && p->silent_until > p->start && (p->next < 0 || p->next < p->silent_until))
            ready = false; /* still reading again what was judged before */
        if (p->next >= 0 && p->next > p->confirmed)
            uncommitted += p->next - (p->confirmed >= 0 ? p->confirmed : p->start >= 0 ? p->start : marks ? lo : 0);
        if (!marks) {
            known = false;
            continue;
        }
        lag += hi - (p->next >= 0 ? p->next : p->start >= 0 ? p->start : lo);
    }
    r->st.lag = known ? lag : -1;
    r->st.partitions = r->gen_active ? r->n_parts : 0;
    r->st.ready = ready;
    r->st.uncommitted = r->gen_active ? uncommitted : -1;
    r->st.records_pending = r->gen_active ? (int64_t)cw_kmerge_total(r->merge) : 0;
    r->st.evictions = r->evictions_before + (r->gen_active ? cw_engine_metrics(r->engine)->evictions : 0);
    r->st.repaired = r->repaired_before + (r->gen_active ? cw_engine_metrics(r->engine)->damaged_records : 0);
    r->st.checkpoint_age_ms = r->last_ckpt_taken ? mono_ms() - r->last_ckpt_taken : -1;
    r->st.part_lag = r->lags;
}

/* The stats line as one JSON log object: "message": "stats", "cdrwatch.stats": {...}. */
static void log_stats_json(runner_t *r, const int parts[CW_STREAM_COUNT])
{
    char members[3072], text[sizeof r->rdk_stats[0] * 2 + 8];
    size_t n = (size_t)snprintf(
        members, sizeof members,
        "\"cdrwatch.stats\":{\"records\":{\"total\":%llu,\"cdr\":%llu,\"audit\":%llu},\"rebuilt\":%llu,"
        "\"alerts\":%llu,\"dead_letters\":{\"total\":%llu,\"late\":%llu},\"acknowledged\":%llu,\"commits\":%llu,"
        "\"evictions\":%llu,\"lag\":%lld,\"partitions\":{\"cdr\":%d,\"audit\":%d},\"ready\":%s,"
        "\"checkpoints\":%llu,\"restored\":%llu,\"reloads\":%llu,\"kafka\":[",
        (unsigned long long)r->st.records, (unsigned long long)r->st.records_by_stream[CW_STREAM_CDR],
        (unsigned long long)r->st.records_by_stream[CW_STREAM_AUDIT], (unsigned long long)r->st.rebuilt,
        (unsigned long long)r->st.alerts, (unsigned long long)r->st.dead_total,
        (unsigned long long)r->st.dead[CW_DEC_LATE], (unsigned long long)r->st.acked,
        (unsigned long long)r->st.commits, (unsigned long long)r->st.evictions, (long long)r->st.lag,
        parts[CW_STREAM_CDR], parts[CW_STREAM_AUDIT], r->st.ready ? "true" : "false",
        (unsigned long long)r->st.checkpoints, (unsigned long long)r->st.restored,
        (unsigned long long)r->st.reloads);
    for (int i = 0, k = 0; i < CW_STREAM_COUNT + 1 && n < sizeof members; i++)
        if (r->rdk_stats[i][0])
            n += (size_t)snprintf(members + n, sizeof members - n, "%s%s", k++ ? "," : "",
                                  cw_log_json_text(text, sizeof text, r->rdk_stats[i]));
    if (n + 3 < sizeof members) {
        memcpy(members + n, "]}", 3);
        cw_log_with(CW_LOG_INFO, members, "stats");
    } else {
        cw_log(CW_LOG_INFO, "stats"); /* cannot happen with these sizes */
    }
}

static void report_stats(runner_t *r)
{
    char line[2048], json[2048];
    size_t n;
    int parts[CW_STREAM_COUNT] = {0, 0};
    update_lag(r);
    for (int i = 0; i < r->n_parts; i++)
        parts[r->parts[i]->stream]++;
    n = (size_t)snprintf(line, sizeof line,
                         "stats: records in %llu (cdr %llu, audit %llu), rebuilt %llu; alerts out %llu; "
                         "dead letters %llu (late %llu); acknowledged %llu; commits %llu; evictions %llu; "
                         "lag %lld; partitions cdr %d, audit %d; checkpoints %llu, restored %llu; reloads %llu",
                         (unsigned long long)r->st.records,
                         (unsigned long long)r->st.records_by_stream[CW_STREAM_CDR],
                         (unsigned long long)r->st.records_by_stream[CW_STREAM_AUDIT],
                         (unsigned long long)r->st.rebuilt, (unsigned long long)r->st.alerts,
                         (unsigned long long)r->st.dead_total, (unsigned long long)r->st.dead[CW_DEC_LATE],
                         (unsigned long long)r->st.acked, (unsigned long long)r->st.commits,
                         (unsigned long long)r->st.evictions, (long long)r->st.lag, parts[CW_STREAM_CDR],
                         parts[CW_STREAM_AUDIT], (unsigned long long)r->st.checkpoints,
                         (unsigned long long)r->st.restored, (unsigned long long)r->st.reloads);
    for (int i = 0; i < CW_STREAM_COUNT + 1 && n < sizeof line; i++)
        if (r->rdk_stats[i][0])
            n += (size_t)snprintf(line + n, sizeof line - n, "; %s", r->rdk_stats[i]);
    if (cw_log_get_format() == CW_LOG_JSON)
        log_stats_json(r, parts);
    else
        cw_log(CW_LOG_INFO, "%s", line);
    if (r->cfg->stats_topic[0]) {
        char key[300], t[32];
        int len = snprintf(json, sizeof json,
                           "{\"@timestamp\":\"%s\",\"host\":\"%s\",\"records\":%llu,\"records_cdr\":%llu,"
                           "\"records_audit\":%llu,\"rebuilt\":%llu,\"alerts\":%llu,\"dead_letters\":%llu,"
                           "\"late\":%llu,\"acknowledged\":%llu,\"evictions\":%llu,\"lag\":%lld}",
                           cw_time_format(wall_ms(), t), r->host, (unsigned long long)r->st.records,
                           (unsigned long long)r->st.records_by_stream[CW_STREAM_CDR],
                           (unsigned long long)r->st.records_by_stream[CW_STREAM_AUDIT],
                           (unsigned long long)r->st.rebuilt, (unsigned long long)r->st.alerts,
                           (unsigned long long)r->st.dead_total, (unsigned long long)r->st.dead[CW_DEC_LATE],
                           (unsigned long long)r->st.acked, (unsigned long long)r->st.evictions,
                           (long long)r->st.lag);
        snprintf(key, sizeof key, "cdrwatch/%s", r->host);
        if (len > 0 && (size_t)len < sizeof json)
            rd_kafka_producev(r->prod, RD_KAFKA_V_TOPIC(r->cfg->stats_topic), RD_KAFKA_V_VALUE(json, (size_t)len),
                              RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_OPAQUE(NULL), RD_KAFKA_V_END);
    }
    r->last_stats = mono_ms();
}

/* Every partition at its end, everything processed, acknowledged and committed. */
static bool at_end(runner_t *r)
{
    if (!r->gen_active || cw_kmerge_total(r->merge))
        return false;
    for (int i = 0; i < r->n_parts; i++)
        if (!cw_kmerge_at_eof(r->merge, r->parts[i]->input))
            return false;
    return true;
}

/* exit_at_end leaves only when what the records produced (alerts, dead letters, checkpoints) is
 * acknowledged and their offsets committed, as kafka.h promises: the shutdown that follows is
 * bounded by kafka.shutdown_timeout and would otherwise leave a slow acknowledgement behind (its
 * records read again next time, but the caller told the input was done). Brokers away: it waits,
 * as the run does. */
static bool settled(runner_t *r)
{
    update_lag(r);
    return r->st.uncommitted == 0 && rd_kafka_outq_len(r->prod) == 0;
}

/* ---- setup ---- */

cw_status_t cw_kafka_conf_set(rd_kafka_conf_t *conf, const cw_config_t *cfg, const char *key,
                              const char *value, bool from_user, char *err, size_t errlen)
{
    char why[512];
    if (rd_kafka_conf_set(conf, key, value, why, sizeof why) == RD_KAFKA_CONF_OK)
        return CW_OK;
    if (from_user)
        snprintf(err, errlen, "%s: kafka.properties.%s: %s", cfg->path ? cfg->path : "(built-in configuration)",
                 key, why);
    else
        snprintf(err, errlen, "kafka: %s: %s", key, why);
    return CW_ERR_USAGE;
}

/* Secrets in files: a kafka.properties value "@file:PATH" keeps the password out of the
 * configuration (which check-config prints and layers) and off the command line. */
#define SECRET_MAX (64 * 1024) /* bytes: a password, a token or a PEM key fits */

static cw_status_t secret_error(const char *source, const char *key, const char *path, const char *why,
                                char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: kafka.properties.%s: cannot read the secret file %s: %s",
             source ? source : "(built-in configuration)", key, *path ? path : "(no path after @file:)", why);
    return CW_ERR_USAGE;
}

cw_status_t cw_kafka_prop_value(apr_pool_t *pool, const char *source, const char *key, const char *value,
                                const char **out, char *err, size_t errlen)
{
    const char *path = value + strlen(CW_CONFIG_FILE_REF);
    char *buf;
    size_t n;
    FILE *f;
    int read_errno;

    *out = value;
    if (strncmp(value, CW_CONFIG_FILE_REF, strlen(CW_CONFIG_FILE_REF)) != 0)
        return CW_OK;
    if (!*path)
        return secret_error(source, key, path, "expected @file:PATH", err, errlen);
    if (!(f = fopen(path, "r")))
        return secret_error(source, key, path, strerror(errno), err, errlen);
    buf = apr_palloc(pool, SECRET_MAX + 2);
    n = fread(buf, 1, SECRET_MAX + 1, f);
    read_errno = ferror(f) ? errno : 0;
    fclose(f);
    if (read_errno)
        return secret_error(source, key, path, strerror(read_errno), err, errlen);
    if (n > SECRET_MAX)
        return secret_error(source, key, path, "larger than 64 KiB", err, errlen);
    if (memchr(buf, '\0', n))
        return secret_error(source, key, path, "holds a NUL byte", err, errlen);
    if (n && buf[n - 1] == '\n')
        n -= (n > 1 && buf[n - 2] == '\r') ? 2 : 1;
    buf[n] = '\0';
    *out = buf;
    return CW_OK;
}

/* Every kafka.properties value as librdkafka gets it, secret files read: once, at start (a
 * reload keeps the running clients and their properties). */
static cw_status_t resolve_props(runner_t *r, char *err, size_t errlen)
{
    const cw_config_t *cfg = r->cfg;
    cw_status_t st = CW_OK;
    r->prop_values = apr_pcalloc(r->pool, sizeof *r->prop_values * (size_t)(cfg->n_kafka_props + 1));
    for (int i = 0; i < cfg->n_kafka_props && st == CW_OK; i++)
        st = cw_kafka_prop_value(r->pool, cfg->path, cfg->kafka_props[i].key, cfg->kafka_props[i].value,
                                 &r->prop_values[i], err, errlen);
    return st;
}

typedef enum { CLIENT_PRODUCER, CLIENT_AUDIT, CLIENT_CDR, CLIENT_STATE } client_t;

/* Properties cdrwatch sets itself: a user value would break a guarantee. */
static const char *const managed[] = {"enable.auto.commit", "enable.auto.offset.store", "enable.partition.eof",
                                      "enable.idempotence", "group.id", "bootstrap.servers",
                                      "metadata.broker.list", "transactional.id"};

static cw_status_t make_client(runner_t *r, client_t kind, rd_kafka_t **out, char *err, size_t errlen)
{
    const cw_config_t *cfg = r->cfg;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char why[512];
    cw_status_t st = CW_OK;
    static const char *const names[] = {"producer", "audit consumer", "cdr consumer", "state reader"};
    static const char *const ids[] = {"cdrwatch", "cdrwatch-audit", "cdrwatch-cdr", "cdrwatch-state"};

#define SET(k, v) \
    if (st == CW_OK) st = cw_kafka_conf_set(conf, cfg, k, v, false, err, errlen)
    SET("bootstrap.servers", r->brokers);
    SET("client.id", ids[kind]);
    if (kind == CLIENT_PRODUCER) {
        SET("enable.idempotence", "true");
        SET("acks", "all");
        SET("message.timeout.ms", "0"); /* retry for ever: a broker outage only delays commits */
        SET("linger.ms", "5");
    } else {
        SET("group.id", r->group);
        SET("enable.auto.commit", "false");
        SET("enable.auto.offset.store", "false");
        SET("enable.partition.eof", "true");
        SET("auto.offset.reset", "earliest");
        /* a long poll on idle partitions delays the fetch of a resumed one by up to this */
        SET("fetch.wait.max.ms", "100");
    }
#undef SET
    for (int i = 0; i < cfg->n_kafka_props && st == CW_OK; i++) {
        const char *k = cfg->kafka_props[i].key, *v = r->prop_values[i];
        for (size_t j = 0; j < sizeof managed / sizeof managed[0]; j++)
            if (strcmp(k, managed[j]) == 0) {
                snprintf(err, errlen, "%s: kafka.properties.%s: set by cdrwatch itself (%s); remove it",
                         cfg->path ? cfg->path : "(built-in configuration)", k,
                         j < 4 ? "its commits and deliveries depend on it"
                               : "use kafka.brokers and kafka.group, or --brokers and --group");
                st = CW_ERR_USAGE;
            }
        if (st == CW_OK && strcmp(k, "partition.assignment.strategy") == 0 && strstr(v, "cooperative")) {
            snprintf(err, errlen,
                     "%s: kafka.properties.%s: cooperative rebalancing is not supported: every "
                     "assignment rebuilds the windows, so it would gain nothing (use range or roundrobin)",
                     cfg->path ? cfg->path : "(built-in configuration)", k);
            st = CW_ERR_USAGE;
        }
        if (st == CW_OK)
            st = cw_kafka_conf_set(conf, cfg, k, v, true, err, errlen);
        if (st == CW_OK && kind == CLIENT_AUDIT && strcmp(k, "auto.offset.reset") == 0)
            r->earliest = strcmp(v, "earliest") == 0 || strcmp(v, "smallest") == 0 || strcmp(v, "beginning") == 0;
    }
    if (st != CW_OK) {
        rd_kafka_conf_destroy(conf);
        return st;
    }
    rd_kafka_conf_set_opaque(conf, r);
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    rd_kafka_conf_set_stats_cb(conf, stats_cb);
    if (kind == CLIENT_PRODUCER) {
        rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    } else if (kind == CLIENT_AUDIT) {
        rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    }
    *out = rd_kafka_new(kind == CLIENT_PRODUCER ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER, conf, why, sizeof why);
    if (!*out) {
        rd_kafka_conf_destroy(conf); /* still ours when rd_kafka_new fails */
        /* librdkafka checks combinations at creation (acks vs idempotence...): a configuration error */
        snprintf(err, errlen, "%s: kafka.properties: cannot create the Kafka %s: %s",
                 cfg->path ? cfg->path : "(built-in configuration)", names[kind], why);
        return CW_ERR_USAGE;
    }
    return CW_OK;
}

static void destroy_clients(runner_t *r, cw_time_t deadline)
{
    /* our references to their queues first: a client is not destroyed while they are held */
    if (r->q_prod)
        rd_kafka_queue_destroy(r->q_prod);
    if (r->q_audit)
        rd_kafka_queue_destroy(r->q_audit);
    if (r->q_cdr)
        rd_kafka_queue_destroy(r->q_cdr);
    r->q_prod = r->q_audit = r->q_cdr = NULL;
    if (r->stc) {
        rd_kafka_destroy_flags(r->stc, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
        r->stc = NULL;
    }
    if (r->audit) {
        cw_time_t left = deadline - mono_ms();
        bool close = left > 0 && !r->brokers_down;
        if (close)
            rd_kafka_consumer_close(r->audit); /* revokes (our callback commits), leaves the group */
        /* else no broker to talk to, or no time: leave without the group's goodbye (the session
         * times out) */
        end_generation(r, false, 0); /* the messages we hold go first: librdkafka waits for them */
        if (r->q_commit) {
            rd_kafka_queue_destroy(r->q_commit);
            r->q_commit = NULL;
        }
        if (close)
            rd_kafka_destroy(r->audit);
        else
            rd_kafka_destroy_flags(r->audit, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
        r->audit = NULL;
    }
    end_generation(r, false, 0);
    if (r->cdr) {
        rd_kafka_destroy_flags(r->cdr, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
        r->cdr = NULL;
    }
    if (r->prod) {
        rd_kafka_purge(r->prod, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(r->prod, 0);
        rd_kafka_destroy(r->prod);
        r->prod = NULL;
    }
    while (r->ck_head) {
        ckpt_t *ck = r->ck_head;
        r->ck_head = ck->next;
        ckpt_free(ck);
    }
    r->ck_tail = NULL;
}

/* Learn the output topics' leaders now (the broker creates a missing topic on this request if
 * it auto-creates topics), rather than with the first alert: a first produce to an unknown topic
 * waits for metadata, a second or so. A topic that does not exist is worth a warning. */
static void prime_outputs(runner_t *r)
{
    const char *topics[] = {r->cfg->alerts_topic, r->dlq_topic[CW_STREAM_AUDIT], r->dlq_topic[CW_STREAM_CDR],
                            r->cfg->stats_topic[0] ? r->cfg->stats_topic : NULL};
    for (size_t i = 0; i < sizeof topics / sizeof topics[0]; i++) {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_topic_t *rkt;
        if (!topics[i] || !(rkt = rd_kafka_topic_new(r->prod, topics[i], NULL)))
            continue;
        if (rd_kafka_metadata(r->prod, 0, rkt, &md, 3000) == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 &&
            md->topics[0].err)
            cw_log(CW_LOG_WARN, "output topic %s does not exist yet (%s): what goes to it waits until it "
                                "is created (a broker with auto.create.topics.enable creates it now)",
                   topics[i], rd_kafka_err2str(md->topics[0].err));
        if (md)
            rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
    }
}

/* Create the state topic (one partition, cleanup.policy=compact) unless it exists. A broker
 * that cannot (no CreateTopics, no right to) is told once; with auto-creation on, the first
 * checkpoint creates it, not compacted. */
static void create_state_topic(runner_t *r)
{
    char why[512];
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(r->cfg->state_topic, 1, -1, why, sizeof why);
    rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(r->prod, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_queue_t *q = rd_kafka_queue_new(r->prod);
    rd_kafka_event_t *ev;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__TIMED_OUT;
    const char *msg = "no answer";
    char segment[32];
    /* asked through the state reader: a consumer's metadata request never auto-creates it */
    bool exists = topic_exists(r->stc, r->cfg->state_topic);
    /* compacted; small segments and an eager cleaner, so that what an assignment reads back (the
     * partition from its start) stays near one checkpoint per key: the active segment is never
     * compacted, and with the broker's defaults (1 GiB, dirty ratio 0.5) it would hold hundreds of
     * rounds of a big state */
    snprintf(segment, sizeof segment, "%lld", (long long)(r->cfg->state_part_size * 2 > STATE_SEGMENT_BYTES
                                                              ? r->cfg->state_part_size * 2 : STATE_SEGMENT_BYTES));
    if (!exists && nt && ao && q && rd_kafka_NewTopic_set_config(nt, "cleanup.policy", "compact") == RD_KAFKA_RESP_ERR_NO_ERROR &&
        rd_kafka_NewTopic_set_config(nt, "segment.bytes", segment) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        rd_kafka_NewTopic_set_config(nt, "min.cleanable.dirty.ratio", "0.1") == RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_AdminOptions_set_request_timeout(ao, 10000, why, sizeof why);
        rd_kafka_CreateTopics(r->prod, &nt, 1, ao, q);
        if ((ev = rd_kafka_queue_poll(q, 15000))) {
            const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
            size_t cnt = 0;
            const rd_kafka_topic_result_t **tr = res ? rd_kafka_CreateTopics_result_topics(res, &cnt) : NULL;
            err = rd_kafka_event_error(ev);
            msg = rd_kafka_event_error_string(ev);
            if (!err && cnt == 1) {
                err = rd_kafka_topic_result_error(tr[0]);
                msg = rd_kafka_topic_result_error_string(tr[0]);
            }
            if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
                cw_log(CW_LOG_INFO, "state topic %s created (cleanup.policy=compact, segment.bytes=%s)",
                       r->cfg->state_topic, segment);
            else if (err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
                cw_log(CW_LOG_WARN, "state topic %s not created (%s: %s): checkpoints go to it if the broker "
                                    "creates it (then not compacted)", r->cfg->state_topic, rd_kafka_err2name(err),
                       msg ? msg : "");
            rd_kafka_event_destroy(ev);
        }
    }
    if (q)
        rd_kafka_queue_destroy(q);
    if (ao)
        rd_kafka_AdminOptions_destroy(ao);
    if (nt)
        rd_kafka_NewTopic_destroy(nt);
}

static cw_status_t setup(runner_t *r, char *err, size_t errlen)
{
    cw_status_t st;
    rd_kafka_topic_partition_list_t *sub;
    rd_kafka_resp_err_t e;
    int fds[2];

    if ((st = resolve_props(r, err, errlen)) != CW_OK ||
        (st = make_client(r, CLIENT_PRODUCER, &r->prod, err, errlen)) != CW_OK ||
        (st = make_client(r, CLIENT_AUDIT, &r->audit, err, errlen)) != CW_OK ||
        (st = make_client(r, CLIENT_CDR, &r->cdr, err, errlen)) != CW_OK)
        return st;
    rd_kafka_poll_set_consumer(r->audit);
    rd_kafka_poll_set_consumer(r->cdr);
    if (r->state_on) {
        if ((st = make_client(r, CLIENT_STATE, &r->stc, err, errlen)) != CW_OK)
            return st;
        rd_kafka_poll_set_consumer(r->stc);
        create_state_topic(r);
    }
    if (pipe(fds) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return CW_ERR;
    }
    for (int i = 0; i < 2; i++) {
        fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
        fcntl(fds[i], F_SETFD, FD_CLOEXEC);
    }
    wake_fd = fds[1];
    r->q_prod = rd_kafka_queue_get_main(r->prod);
    r->q_audit = rd_kafka_queue_get_consumer(r->audit);
    r->q_cdr = rd_kafka_queue_get_consumer(r->cdr);
    r->q_commit = rd_kafka_queue_new(r->audit);
    rd_kafka_queue_io_event_enable(r->q_prod, fds[1], "p", 1);
    rd_kafka_queue_io_event_enable(r->q_audit, fds[1], "a", 1);
    rd_kafka_queue_io_event_enable(r->q_cdr, fds[1], "c", 1);
    rd_kafka_queue_io_event_enable(r->q_commit, fds[1], "o", 1);
    r->wake_rd = fds[0];
    if (!ckpt_open(r)) {
        snprintf(err, errlen, "out of memory");
        return CW_ERR_NOMEM;
    }
    prime_outputs(r);
    sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, r->cfg->input[CW_STREAM_AUDIT].topic, RD_KAFKA_PARTITION_UA);
    e = rd_kafka_subscribe(r->audit, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (e) {
        snprintf(err, errlen, "kafka: cannot subscribe to %s: %s", r->cfg->input[CW_STREAM_AUDIT].topic,
                 rd_kafka_err2str(e));
        return CW_ERR;
    }
    return CW_OK;
}

/* ---- SIGHUP ---- */

/* Without configuration files to read again (opts.config_paths NULL): replace the watchlist of
 * the running engine; on error the previous one stays. */
static void reload_watchlist(runner_t *r)
{
    char why[512];
    cw_reference_t *ref;
    if (!r->gen_active) /* the next engine loads the file when it is created */
        return;
    ref = cw_engine_reference(r->engine);
    if (cw_reference_load_watchlist(ref, r->cfg->watchlist_file, &r->cfg->watchlist_ids, why, sizeof why) == CW_OK)
        cw_log(CW_LOG_INFO, "watchlist reloaded: %zu identifiers", cw_reference_watchlist_size(ref));
    else
        cw_log(CW_LOG_ERROR, "watchlist not reloaded, the previous one stays: %s", why);
}

/* Read the configuration layers again and check them whole: the files, then an engine built from
 * them (rules, lists, host classes, the watchlist file) holding the running engine's state (or,
 * between generations, an empty one, discarded). On success *cfg and *pool (the configuration's)
 * are the new ones, and so are *epool and *engine (NULL between generations); on failure nothing
 * changed and err says why. */
static cw_status_t reload_check(runner_t *r, cw_config_t **cfg, apr_pool_t **pool, apr_pool_t **epool,
                                cw_engine_t **engine, char *err, size_t errlen)
{
    char changed[512];
    cw_status_t st;
    const apr_array_header_t *paths = r->opts.config_paths;
    apr_pool_create(pool, r->pool);
    *epool = NULL;
    *engine = NULL;
    st = cw_config_load_layers(*pool, (const char *const *)paths->elts, paths->nelts, cfg, err, errlen);
    if (st == CW_OK) {
        cw_config_keep_restart_only(*cfg, r->cfg0, changed, sizeof changed);
        if (*changed)
            cw_log(CW_LOG_WARN, "configuration: %s changed: not applied until cdrwatch run restarts", changed);
        apr_pool_create(epool, r->gen_active ? r->gen_pool : *pool);
        st = r->gen_active ? cw_state_carry(*epool, r->engine, *cfg, on_alert, r, engine, err, errlen)
                           : cw_engine_create(*epool, *cfg, NULL, NULL, engine, err, errlen);
        if (!r->gen_active) { /* a trial: the next generation creates its own */
            apr_pool_destroy(*epool);
            *epool = NULL;
            *engine = NULL;
        }
    }
    if (st != CW_OK) {
        if (*epool)
            apr_pool_destroy(*epool);
        apr_pool_destroy(*pool);
    }
    return st;
}

/* SIGHUP with configuration files: read them again and, once the whole is checked, run on it —
 * rules, thresholds, lists, host classes and the watchlist take effect at the next record; the
 * state of the rules whose fingerprint did not change is kept (cw_state_carry). A file with an
 * error is refused with its message and the running configuration stays. Inputs, outputs, kafka
 * and state settings shape the clients and topics: they stay until a restart (a warning names
 * those that changed). */
static void reload_config(runner_t *r)
{
    cw_config_t *cfg;
    apr_pool_t *pool, *epool;
    cw_engine_t *engine;
    char err[1024];
    if (reload_check(r, &cfg, &pool, &epool, &engine, err, sizeof err) != CW_OK) {
        cw_log(CW_LOG_ERROR, "configuration not reloaded, the running one stays: %s", err);
        return;
    }
    if (engine) {
        retire_engine_counts(r);
        apr_pool_destroy(r->engine_pool); /* the old engine, before the configuration it points into */
        r->engine_pool = epool;
        r->engine = engine;
    }
    if (r->cfg_pool)
        apr_pool_destroy(r->cfg_pool);
    r->cfg_pool = pool;
    r->cfg = cfg;
    r->rewind_span = cw_kafka_rewind_span(cfg);
    note_rules(r, cfg);
    r->st.reloads++;
    cw_log(CW_LOG_INFO, "configuration reloaded from %s: %d rule(s)%s", cfg->path ? cfg->path : "the built-in file",
           cfg->n_rules, engine ? ", the state of unchanged rules kept" : "");
}

/* opts.event, when set (a service manager's notifications) */
static void report_event(runner_t *r, cw_kafka_event_t ev)
{
    if (r->opts.event)
        r->opts.event(r->opts.tick_ctx, ev, &r->st);
}

static void reload(runner_t *r)
{
    if (r->opts.config_paths)
        reload_config(r);
    else
        reload_watchlist(r);
}

/* ---- the run ---- */

static void drain_pipe(int fd)
{
    char b[256];
    while (read(fd, b, sizeof b) > 0)
        ;
}

/* The loop of the run: poll the clients, process a batch, seal and commit, sleep until there is
 * something to do; until a stop, a fatal error or (exit_at_end) the end of every partition with
 * everything acknowledged and committed. */
static void consume(runner_t *r)
{
    sig_atomic_t reloads_done = reload_requests;
    while (!stop_requests && !r->fatal) {
        const cw_config_t *cfg;
        cw_time_t now, next_timer;
        int sleep_ms;
        if (reload_requests != reloads_done) {
            reloads_done = reload_requests;
            report_event(r, CW_KAFKA_RELOADING);
            reload(r);
            report_event(r, CW_KAFKA_RELOADED);
        }
        cfg = r->cfg;
        rd_kafka_poll(r->prod, 0);
        drain(r, r->audit);
        drain(r, r->cdr);
        serve_commits(r, 0);
        sleep_ms = r->gen_active ? run_batch(r) : 1000;
        now = mono_ms();
        if (r->state_on && now - r->last_state >= cfg->state_interval)
            checkpoint(r); /* seals too */
        if (now - r->last_seal >= cfg->kafka_commit_interval)
            seal(r);
        commit_ready(r, false);
        if (cfg->kafka_stats_interval && now - r->last_stats >= cfg->kafka_stats_interval)
            report_stats(r);
        if (r->opts.tick) {
            update_lag(r);
            r->opts.tick(r->opts.tick_ctx, &r->st);
        }
        if (r->opts.exit_at_end && at_end(r)) {
            if (settled(r)) {
                r->last_word = true;
                break;
            }
            if (!r->end_sealed)
                seal(r); /* commit the last records now, not at the next commit interval */
            r->end_sealed = true;
        } else {
            r->end_sealed = false;
        }
        if (sleep_ms <= 0)
            continue;
        next_timer = r->last_seal + cfg->kafka_commit_interval;
        if (cfg->kafka_stats_interval && r->last_stats + cfg->kafka_stats_interval < next_timer)
            next_timer = r->last_stats + cfg->kafka_stats_interval;
        if (r->state_on && r->last_state + cfg->state_interval < next_timer)
            next_timer = r->last_state + cfg->state_interval;
        if (next_timer - now < sleep_ms)
            sleep_ms = next_timer - now > 0 ? (int)(next_timer - now) : 0;
        if (sleep_ms > 0 && !stop_requests) {
            struct pollfd pfd = {r->wake_rd, POLLIN, 0};
            poll(&pfd, 1, sleep_ms);
        }
        drain_pipe(r->wake_rd);
    }
}

/* run --state-in: read the file and check that it restores into this configuration's engine,
 * before any Kafka work (a bad file is a usage error); the first generation starts from it. */
static cw_status_t load_state_in(runner_t *r, char *err, size_t errlen)
{
    apr_pool_t *trial;
    cw_engine_t *e;
    char why[512];
    cw_status_t st = cw_state_read_file(r->opts.state_in, &r->state_in, &r->state_in_len, err, errlen);
    cw_state_restore_opts_t quiet = {false, CW_STATE_NO_SOURCE, true};
    if (st != CW_OK)
        return st;
    apr_pool_create(&trial, r->pool);
    st = cw_engine_create(trial, r->cfg, NULL, NULL, &e, err, errlen);
    if (st == CW_OK && (st = cw_state_restore_with(e, r->state_in, r->state_in_len, &quiet, why, sizeof why)) != CW_OK) {
        snprintf(err, errlen, "%s: %s", r->opts.state_in, why);
        st = CW_ERR_USAGE;
    }
    apr_pool_destroy(trial);
    return st;
}

cw_status_t cw_kafka_run(apr_pool_t *pool, const cw_config_t *cfg, const cw_kafka_opts_t *opts,
                         cw_kafka_stats_t *stats, char *err, size_t errlen)
{
    runner_t *r = apr_pcalloc(pool, sizeof *r);
    cw_kafka_opts_t none = {0};
    cw_status_t st;
    cw_time_t deadline, shutdown_start;
    char span[32];

    r->pool = pool;
    apr_pool_create(&r->gen_pool, pool);
    r->cfg = r->cfg0 = cfg;
    r->opts = opts ? *opts : none;
    r->brokers = r->opts.brokers ? r->opts.brokers : cfg->brokers;
    r->group = r->opts.group ? r->opts.group : cfg->group;
    r->rewind_span = cw_kafka_rewind_span(cfg);
    r->earliest = true;
    r->state_on = cfg->state_interval > 0;
    r->ckpt_salt = (uint64_t)getpid() * 2654435761u ^ (uint64_t)mono_ms();
    r->wake_rd = -1;
    r->st.lag = -1;
    r->st.checkpoint_age_ms = -1;
    note_rules(r, cfg);
    for (int s = 0; s < CW_STREAM_COUNT; s++)
        r->dlq_topic[s] = apr_pstrcat(pool, cfg->input[s].topic, cfg->dlq_suffix, NULL);
    gethostname(r->host, sizeof r->host - 1);
    r->observer.host = r->host;
    r->observer.version = PACKAGE_VERSION;
    r->observer.format = cfg->alert_format; /* outputs.*: until a restart, as the topics */
    r->buf = apr_palloc(pool, CW_ALERT_MAX);
    stop_requests = 0;

    if (r->opts.state_in && (st = load_state_in(r, err, errlen)) != CW_OK)
        goto out;
    if ((st = setup(r, err, errlen)) != CW_OK) {
        destroy_clients(r, mono_ms());
        goto out;
    }
    cw_log(CW_LOG_INFO, "consuming %s (group %s) and every partition of %s from %s; alerts to %s, "
                        "dead letters to %s and %s; %s%s; without a checkpoint, windows rebuilt over %s on assignment",
           cfg->input[CW_STREAM_AUDIT].topic, r->group, cfg->input[CW_STREAM_CDR].topic, r->brokers,
           cfg->alerts_topic, r->dlq_topic[CW_STREAM_AUDIT], r->dlq_topic[CW_STREAM_CDR],
           r->state_on ? "checkpoints to " : "checkpoints off", r->state_on ? cfg->state_topic : "",
           cw_duration_format(r->rewind_span, span));
    r->last_seal = r->last_stats = r->last_state = mono_ms();

    consume(r);
    if (stop_requests)
        report_event(r, CW_KAFKA_STOPPING);

    /* finish: what is processed is sealed, acknowledged (within the shutdown timeout), committed */
    shutdown_start = mono_ms();
    deadline = shutdown_start + (stop_requests > 1 ? 0 : cfg->kafka_shutdown_timeout);
    r->shutdown_deadline = deadline;
    if (!r->fatal && r->gen_active) {
        cw_time_t left;
        checkpoint(r);
        seal(r);
        left = deadline - mono_ms();
        flush_and_commit(r, left > 0 ? left : 0);
        cw_log(CW_LOG_DEBUG, "shutdown: committed, %lld ms left", (long long)(deadline - mono_ms()));
        for (ckpt_t *ck = r->ck_head; ck; ck = ck->next)
            if (ck->sealed && ck->pending) {
                cw_log(CW_LOG_WARN, "alerts not acknowledged within kafka.shutdown_timeout: their "
                                    "records are not committed and will be read again");
                break;
            }
    }
    r->st.shutdown_wait_ms = mono_ms() - shutdown_start;
    if (cfg->kafka_stats_interval || r->opts.exit_at_end)
        report_stats(r);
    destroy_clients(r, deadline);
    cw_log(CW_LOG_DEBUG, "shutdown: clients destroyed, %lld ms left", (long long)(deadline - mono_ms()));
    if (r->fatal) {
        snprintf(err, errlen, "%s", r->fatal_msg);
        st = CW_ERR;
    }
out:
    if (wake_fd >= 0) {
        close(wake_fd);
        wake_fd = -1;
    }
    if (r->wake_rd >= 0)
        close(r->wake_rd);
    r->st.part_lag = NULL; /* views into what is freed now */
    r->st.n_part_lag = 0;
    r->st.rule_alerts = NULL;
    r->st.n_rule_alerts = 0;
    if (stats)
        *stats = r->st;
    free(r->state_in);
    free(r->lags);
    free(r->rule_alerts);
    apr_pool_destroy(r->gen_pool);
    if (r->cfg_pool)
        apr_pool_destroy(r->cfg_pool);
    return st;
}
