/*
 * http.h — the HTTP side of `cdrwatch run` (outputs.http_listen): Prometheus metrics and health
 * checks, served by libmicrohttpd on its own thread (doc/metrics.md).
 *
 *   GET /metrics  Prometheus text exposition 0.0.4 of the run's counters (cw_kafka_stats_t)
 *   GET /healthz  200 "ok" when stats.ready (partitions assigned, the learned state restored or
 *                 rebuilt), else 503 with the reason
 *   GET /livez    200 "ok" while the run loop turns (its last tick younger than CW_HTTP_LIVE_MS)
 *
 * Threads: the run loop publishes (cw_http_publish, from its tick) a copy of the counters at most
 * once a second, and at once when readiness changes; it never waits for the HTTP thread (when a
 * request holds the copy, the publication waits for the next tick). The HTTP thread formats from
 * that copy only and never touches the engine or the Kafka clients.
 */
#ifndef CDRWATCH_HTTP_H
#define CDRWATCH_HTTP_H

#include <apr_pools.h>
#include "cdrwatch/common.h"
#include "cdrwatch/kafka.h"

/* /livez fails once the loop has not turned for this long (ms). The loop sleeps at most a second
 * between ticks, but may block longer: reading the checkpoints back on an assignment (up to 30 s)
 * and the shutdown's waits. */
#define CW_HTTP_LIVE_MS 60000

typedef struct cw_http cw_http_t;

/* Parse "PORT" (on 127.0.0.1) or "ADDR:PORT" ("[IPv6]:PORT" too) into host and port (1..65535).
 * CW_ERR_USAGE: "SOURCE: outputs.http_listen: expected PORT or ADDR:PORT, got \"...\"". */
cw_status_t cw_http_parse_listen(const char *source, const char *spec, char *host, size_t hostlen,
                                 char *port, size_t portlen, char *err, size_t errlen);

/* Listen on LISTEN (as above) and serve from a thread of libmicrohttpd's until cw_http_stop or
 * the pool's cleanup. A bad address, or one that cannot be bound (a port in use), is
 * CW_ERR_USAGE naming outputs.http_listen (SOURCE: the configuration file). Strings the published
 * stats point to (topics, rule ids) must outlive the server. */
cw_status_t cw_http_start(apr_pool_t *pool, const char *source, const char *spec, cw_http_t **out,
                          char *err, size_t errlen);

/* From the run loop's tick: note that it turned, and copy the counters when a second has passed
 * since the last copy or readiness changed. Never blocks. */
void cw_http_publish(cw_http_t *h, const cw_kafka_stats_t *st);

/* Stop serving (waits for the requests in hand); idempotent. */
void cw_http_stop(cw_http_t *h);

/* The /metrics text of st (NUL-terminated, malloc'd; *len its length), NULL when out of memory.
 * Every family has one HELP and one TYPE line; label values are escaped (\\, \", \n). */
char *cw_http_metrics_text(const cw_kafka_stats_t *st, size_t *len);

#endif
