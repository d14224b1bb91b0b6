/*
 * http.c — /metrics, /healthz and /livez of `cdrwatch run` over libmicrohttpd (http.h).
 *
 * The run loop and the HTTP thread share one snapshot under a mutex: the loop takes it with
 * trylock only (a request in hand makes it skip a publication, never wait), copies the counters
 * and the per-partition and per-rule arrays into buffers the snapshot owns (grown, never per
 * record), and leaves. A request locks it, formats the answer into its own buffer and unlocks.
 * The time of the last tick is an atomic, so /livez never depends on the lock.
 *
 * The exposition follows Prometheus' text format 0.0.4: a `cdrwatch_` prefix, counters ending in
 * `_total`, base units (seconds), one HELP and one TYPE line per family before its samples, label
 * values escaped. doc/metrics.md lists every family; keep the two alike.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <microhttpd.h>
#include "cdrwatch/http.h"

#define PUBLISH_MS 1000 /* the copy is refreshed at most this often (readiness changes at once) */

struct cw_http {
    struct MHD_Daemon *daemon;
    pthread_mutex_t lock;     /* guards what follows, up to the atomic */
    bool published;           /* snap holds a publication */
    cw_kafka_stats_t snap;    /* its arrays point into lags and rules */
    cw_kafka_part_lag_t *lags;
    int lags_cap;
    cw_kafka_rule_alerts_t *rules;
    int rules_cap;
    int64_t published_at;     /* mono ms */
    _Atomic int64_t last_tick; /* mono ms of the loop's last tick; 0: none yet */
    bool stopped;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the exposition ---- */

typedef struct {
    char *p;
    size_t len, cap;
    bool oom;
} text_t;

static void put(text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text_t *t, const char *fmt, ...)
{
    va_list ap;
    int n;
    if (t->oom)
        return;
    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->oom = true;
            return;
        }
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = 2 * t->cap + (size_t)n;
        char *q = realloc(t->p, cap);
        if (!q) {
            t->oom = true;
            return;
        }
        t->p = q;
        t->cap = cap;
    }
}

/* A label value, escaped as the text format wants: backslash, double quote, line feed. */
static void put_label(text_t *t, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\')
            put(t, "\\\\");
        else if (*v == '"')
            put(t, "\\\"");
        else if (*v == '\n')
            put(t, "\\n");
        else
            put(t, "%c", *v);
    }
}

static void family(text_t *t, const char *name, const char *type, const char *help)
{
    put(t, "# HELP cdrwatch_%s %s\n# TYPE cdrwatch_%s %s\n", name, help, name, type);
}

static void scalar(text_t *t, const char *name, const char *type, const char *help, double v)
{
    family(t, name, type, help);
    put(t, "cdrwatch_%s %.17g\n", name, v);
}

/* One sample with a single label. */
static void sample1(text_t *t, const char *name, const char *label, const char *value, double v)
{
    put(t, "cdrwatch_%s{%s=\"", name, label);
    put_label(t, value);
    put(t, "\"} %.17g\n", v);
}

static void put_counters(text_t *t, const cw_kafka_stats_t *st)
{
    static const char *const streams[CW_STREAM_COUNT] = {"cdr", "audit"};
    family(t, "records_total", "counter", "Records consumed for the first time, by stream (dead letters included).");
    for (int s = 0; s < CW_STREAM_COUNT; s++)
        sample1(t, "records_total", "stream", streams[s], (double)st->records_by_stream[s]);
    scalar(t, "records_rebuilt_total", "counter", "Records read again to rebuild windows after an assignment.",
           (double)st->rebuilt);
    family(t, "alerts_total", "counter", "Alerts produced to the alerts topic, by rule id.");
    for (int i = 0; i < st->n_rule_alerts; i++)
        sample1(t, "alerts_total", "rule", st->rule_alerts[i].rule, (double)st->rule_alerts[i].alerts);
    family(t, "dead_letters_total", "counter", "Records sent to the dead-letter topic, by reason.");
    for (int i = 1; i < CW_DEC_REASON_COUNT; i++)
        sample1(t, "dead_letters_total", "reason", cw_reason_name((cw_reason_t)i), (double)st->dead[i]);
    scalar(t, "repaired_records_total", "counter", "Records accepted with a repaired field (bad UTF-8, NUL, control characters, oversize).",
           (double)st->repaired);
    scalar(t, "evictions_total", "counter", "Keys evicted from full key tables.", (double)st->evictions);
    scalar(t, "acknowledged_total", "counter", "Alerts and dead letters the broker acknowledged.", (double)st->acked);
    scalar(t, "commits_total", "counter", "Successful offset commits.", (double)st->commits);
    scalar(t, "checkpoints_total", "counter", "Checkpoint rounds of the learned state written to state.topic.",
           (double)st->checkpoints);
    scalar(t, "assignments_total", "counter", "Partition assignments received.", (double)st->assignments);
    scalar(t, "reloads_total", "counter", "Configurations reloaded (SIGHUP) and run on.", (double)st->reloads);
}

static void put_gauges(text_t *t, const cw_kafka_stats_t *st)
{
    family(t, "consumer_lag_records", "gauge", "Records between the next one to process and the partition's high watermark.");
    for (int i = 0; i < st->n_part_lag; i++) {
        if (st->part_lag[i].lag < 0)
            continue; /* not fetched yet: unknown */
        put(t, "cdrwatch_consumer_lag_records{topic=\"");
        put_label(t, st->part_lag[i].topic);
        put(t, "\",partition=\"%d\"} %lld\n", (int)st->part_lag[i].partition, (long long)st->part_lag[i].lag);
    }
    if (st->checkpoint_age_ms >= 0)
        scalar(t, "checkpoint_age_seconds", "gauge", "Time since the last checkpoint round of the learned state.",
               (double)st->checkpoint_age_ms / 1000.0);
    scalar(t, "assigned_partitions", "gauge", "Partitions assigned now (audit and cdr).", (double)st->partitions);
    scalar(t, "ready", "gauge", "1 when partitions are assigned and the learned state is restored or rebuilt.",
           st->ready ? 1 : 0);
    scalar(t, "records_pending", "gauge", "Records buffered, not yet processed.", (double)st->records_pending);
}

static void put_brokers(text_t *t, const cw_kafka_stats_t *st)
{
    family(t, "kafka_broker_up", "gauge", "1 when librdkafka's client sees the broker UP, by client and broker.");
    for (int c = 0; c < CW_KAFKA_CLIENTS; c++)
        for (int b = 0; b < st->n_brokers[c] && b < CW_KAFKA_BROKERS_MAX; b++) {
            put(t, "cdrwatch_kafka_broker_up{client=\"%s\",broker=\"", cw_kafka_client_name(c));
            put_label(t, st->brokers[c][b].name);
            put(t, "\"} %d\n", st->brokers[c][b].up ? 1 : 0);
        }
    family(t, "kafka_broker_rtt_seconds", "gauge", "Average round-trip time to the broker over librdkafka's last statistics interval.");
    for (int c = 0; c < CW_KAFKA_CLIENTS; c++)
        for (int b = 0; b < st->n_brokers[c] && b < CW_KAFKA_BROKERS_MAX; b++) {
            if (st->brokers[c][b].rtt_avg_s < 0)
                continue;
            put(t, "cdrwatch_kafka_broker_rtt_seconds{client=\"%s\",broker=\"", cw_kafka_client_name(c));
            put_label(t, st->brokers[c][b].name);
            put(t, "\"} %.9g\n", st->brokers[c][b].rtt_avg_s);
        }
}

char *cw_http_metrics_text(const cw_kafka_stats_t *st, size_t *len)
{
    text_t t = {malloc(4096), 0, 4096, false};
    t.oom = !t.p;
    put_counters(&t, st);
    put_gauges(&t, st);
    put_brokers(&t, st);
    if (t.oom) {
        free(t.p);
        return NULL;
    }
    *len = t.len;
    return t.p;
}

/* ---- the server ---- */

static enum MHD_Result answer(struct MHD_Connection *c, unsigned status, char *body, size_t len,
                              enum MHD_ResponseMemoryMode mode, const char *type)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, mode);
    enum MHD_Result ret;
    if (!resp) {
        if (mode == MHD_RESPMEM_MUST_FREE)
            free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    ret = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result text_answer(struct MHD_Connection *c, unsigned status, const char *msg)
{
    return answer(c, status, (char *)msg, strlen(msg), MHD_RESPMEM_PERSISTENT, "text/plain; charset=utf-8");
}

static enum MHD_Result serve_metrics(cw_http_t *h, struct MHD_Connection *c)
{
    char *body = NULL;
    size_t len = 0;
    bool published;
    pthread_mutex_lock(&h->lock);
    if ((published = h->published))
        body = cw_http_metrics_text(&h->snap, &len);
    pthread_mutex_unlock(&h->lock);
    if (!published)
        return text_answer(c, MHD_HTTP_SERVICE_UNAVAILABLE, "no statistics yet: the run is starting\n");
    if (!body)
        return text_answer(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    return answer(c, MHD_HTTP_OK, body, len, MHD_RESPMEM_MUST_FREE, "text/plain; version=0.0.4; charset=utf-8");
}

static enum MHD_Result serve_health(cw_http_t *h, struct MHD_Connection *c)
{
    const char *why;
    pthread_mutex_lock(&h->lock);
    why = !h->published            ? "not ready: starting\n"
          : h->snap.ready          ? NULL
          : h->snap.partitions == 0 ? "not ready: no partitions assigned\n"
                                    : "not ready: restoring the learned state (or rebuilding the windows)\n";
    pthread_mutex_unlock(&h->lock);
    return why ? text_answer(c, MHD_HTTP_SERVICE_UNAVAILABLE, why) : text_answer(c, MHD_HTTP_OK, "ok\n");
}

static enum MHD_Result serve_live(cw_http_t *h, struct MHD_Connection *c)
{
    int64_t last = atomic_load(&h->last_tick);
    if (last && mono_ms() - last < CW_HTTP_LIVE_MS)
        return text_answer(c, MHD_HTTP_OK, "ok\n");
    return text_answer(c, MHD_HTTP_SERVICE_UNAVAILABLE, last ? "not live: the run loop has not turned for a minute\n"
                                                              : "not live: the run loop has not started\n");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **req)
{
    cw_http_t *h = cls;
    (void)version;
    (void)upload;
    (void)upload_size;
    (void)req;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return text_answer(c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET or HEAD only\n");
    if (strcmp(url, "/metrics") == 0)
        return serve_metrics(h, c);
    if (strcmp(url, "/healthz") == 0)
        return serve_health(h, c);
    if (strcmp(url, "/livez") == 0)
        return serve_live(h, c);
    return text_answer(c, MHD_HTTP_NOT_FOUND, "not found: /metrics, /healthz, /livez\n");
}

cw_status_t cw_http_parse_listen(const char *source, const char *spec, char *host, size_t hostlen,
                                 char *port, size_t portlen, char *err, size_t errlen)
{
    const char *colon = strrchr(spec, ':'), *p = colon ? colon + 1 : spec;
    const char *h = spec, *h_end = colon;
    char *end;
    long n;
    if (colon && *spec == '[') { /* [IPv6]:PORT */
        h++;
        h_end = colon > spec && colon[-1] == ']' ? colon - 1 : NULL;
    }
    n = strtol(p, &end, 10);
    if (!*p || *end || *p == '-' || *p == '+' || n < 1 || n > 65535 || (colon && (!h_end || h_end <= h)) ||
        (colon && (size_t)(h_end - h) >= hostlen)) {
        snprintf(err, errlen, "%s: outputs.http_listen: expected PORT or ADDR:PORT (port 1 to 65535), got \"%s\"",
                 source, spec);
        return CW_ERR_USAGE;
    }
    if (colon) {
        memcpy(host, h, (size_t)(h_end - h));
        host[h_end - h] = '\0';
    } else {
        cw_strlcpy(host, "127.0.0.1", hostlen);
    }
    snprintf(port, portlen, "%ld", n);
    return CW_OK;
}

/* A listening socket on host:port; -1 with the reason in err. Bound here, not by
 * libmicrohttpd, so that a port in use is said as such. */
static int listen_on(const char *source, const char *spec, const char *host, const char *port, char *err,
                     size_t errlen)
{
    struct addrinfo hints = {0}, *ai = NULL;
    int fd = -1, one = 1, e = 0, rc;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0) {
        snprintf(err, errlen, "%s: outputs.http_listen: cannot resolve \"%s\": %s", source, spec, gai_strerror(rc));
        return -1;
    }
    for (struct addrinfo *a = ai; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            e = errno;
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 64) == 0)
            break;
        e = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    if (fd < 0)
        snprintf(err, errlen, "%s: outputs.http_listen: cannot listen on %s (%s port %s): %s", source, spec, host, port,
                 strerror(e));
    return fd;
}

static apr_status_t http_cleanup(void *data)
{
    cw_http_stop(data);
    return APR_SUCCESS;
}

cw_status_t cw_http_start(apr_pool_t *pool, const char *source, const char *spec, cw_http_t **out,
                          char *err, size_t errlen)
{
    char host[256], port[8];
    cw_http_t *h;
    int fd;
    cw_status_t st = cw_http_parse_listen(source, spec, host, sizeof host, port, sizeof port, err, errlen);
    if (st != CW_OK)
        return st;
    if ((fd = listen_on(source, spec, host, port, err, errlen)) < 0)
        return CW_ERR_USAGE;
    h = apr_pcalloc(pool, sizeof *h);
    pthread_mutex_init(&h->lock, NULL);
    atomic_init(&h->last_tick, 0);
    h->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, on_request, h,
                                 MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT, 32u,
                                 MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
    if (!h->daemon) {
        close(fd);
        pthread_mutex_destroy(&h->lock);
        snprintf(err, errlen, "%s: outputs.http_listen: cannot start the HTTP server on %s", source, spec);
        return CW_ERR;
    }
    apr_pool_cleanup_register(pool, h, http_cleanup, apr_pool_cleanup_null);
    *out = h;
    return CW_OK;
}

/* Room for n elements of size sz in *buf (capacity *cap); false when out of memory. */
static bool room(void **buf, int *cap, int n, size_t sz)
{
    void *p;
    if (n <= *cap)
        return true;
    if (!(p = realloc(*buf, (size_t)n * sz)))
        return false;
    *buf = p;
    *cap = n;
    return true;
}

void cw_http_publish(cw_http_t *h, const cw_kafka_stats_t *st)
{
    int64_t now = mono_ms();
    void *lags, *rules;
    atomic_store(&h->last_tick, now);
    if (h->published && now - h->published_at < PUBLISH_MS && st->ready == h->snap.ready)
        return;
    if (pthread_mutex_trylock(&h->lock) != 0)
        return; /* a request holds the copy: the next tick publishes */
    h->snap = *st;
    lags = h->lags;
    rules = h->rules;
    h->snap.n_part_lag = room(&lags, &h->lags_cap, st->n_part_lag, sizeof *h->lags) ? st->n_part_lag : 0;
    h->snap.n_rule_alerts = room(&rules, &h->rules_cap, st->n_rule_alerts, sizeof *h->rules) ? st->n_rule_alerts : 0;
    h->lags = lags;
    h->rules = rules;
    if (h->snap.n_part_lag)
        memcpy(h->lags, st->part_lag, (size_t)h->snap.n_part_lag * sizeof *h->lags);
    if (h->snap.n_rule_alerts)
        memcpy(h->rules, st->rule_alerts, (size_t)h->snap.n_rule_alerts * sizeof *h->rules);
    h->snap.part_lag = h->lags;
    h->snap.rule_alerts = h->rules;
    h->published = true;
    h->published_at = now;
    pthread_mutex_unlock(&h->lock);
}

void cw_http_stop(cw_http_t *h)
{
    if (!h || h->stopped)
        return;
    h->stopped = true;
    MHD_stop_daemon(h->daemon);
    pthread_mutex_destroy(&h->lock);
    free(h->lags);
    free(h->rules);
    h->lags = NULL;
    h->rules = NULL;
}
