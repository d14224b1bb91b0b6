/*
 * service.h — telling systemd how `cdrwatch run` is doing (sd_notify, libsystemd): READY=1 once
 * partitions are assigned and the state restored (EXTEND_TIMEOUT_USEC= until then), WATCHDOG=1
 * at half the watchdog interval, RELOADING=1 / READY=1 around a SIGHUP reload, STOPPING=1 on a
 * stop request, and a STATUS= line (records, alerts, lag) now and then.
 *
 * Driven from the run's loop (cw_kafka_opts_t.tick and .event), so a wedged loop stops the
 * watchdog. Without NOTIFY_SOCKET in the environment there is no notifier (the run installs no
 * hook and behaves as before). Nothing here
 * allocates per record: a notification is a datagram, a few per interval.
 */
#ifndef CDRWATCH_SERVICE_H
#define CDRWATCH_SERVICE_H

#include <apr_pools.h>
#include "cdrwatch/kafka.h"

typedef struct cw_service cw_service_t;

/* The notifier of this process, from the environment (NOTIFY_SOCKET, WATCHDOG_USEC and
 * WATCHDOG_PID, read once); allocated in pool. NULL without NOTIFY_SOCKET: nothing to tell. */
cw_service_t *cw_service_create(apr_pool_t *pool);

/* Each loop turn (cw_kafka_opts_t.tick, ctx a cw_service_t): READY=1 the first time stats->ready,
 * the watchdog, the status line. */
void cw_service_tick(void *ctx, const cw_kafka_stats_t *stats);

/* cw_kafka_opts_t.event (ctx a cw_service_t): RELOADING=1 with MONOTONIC_USEC=, READY=1, STOPPING=1. */
void cw_service_event(void *ctx, cw_kafka_event_t ev, const cw_kafka_stats_t *stats);

#endif
