/*
 * service.c — sd_notify for `cdrwatch run` under systemd (Type=notify; service.h).
 *
 * The protocol (sd_notify(3)): READY=1 when the service is up — here, the first time the run's
 * stats say partitions are assigned and the learned state is restored or rebuilt, so `systemctl
 * start` returns once new records are being judged (until then EXTEND_TIMEOUT_USEC= keeps the
 * start timeout ahead of a loop that turns); WATCHDOG=1 at least every WATCHDOG_USEC
 * (sent at half of it, from the loop, so a loop that stops turning gets the service restarted);
 * RELOADING=1 with MONOTONIC_USEC= before a reload and READY=1 once it is over; STOPPING=1 when a
 * stop request ends the loop. A reload before the first READY=1 sends nothing: the service is
 * still starting. STATUS= lines (shown by `systemctl status`) every STATUS_MS and with each state
 * change. Times are the monotonic clock's: they pace notifications, never detection.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <systemd/sd-daemon.h>
#include "cdrwatch/log.h"
#include "cdrwatch/service.h"

#define STATUS_MS 10000 /* a status line at most this often (ms) */
/* While starting (no READY=1 yet: brokers, assignment, the windows' rebuild), each EXTEND_EVERY_US
 * the start timeout is pushed EXTEND_US further: the start may take as long as it needs while the
 * loop turns, and fails TimeoutStartSec= after the loop stops (systemd's watchdog only begins
 * once the start is over). */
#define EXTEND_EVERY_US 10000000u
#define EXTEND_US 30000000u

struct cw_service {
    bool ready_sent;      /* READY=1 sent once: the start is over */
    bool failed_logged;   /* a failed sd_notify is said once */
    uint64_t watchdog_us; /* half of WATCHDOG_USEC; 0: no watchdog */
    uint64_t last_watchdog_us, last_status_us, last_extend_us;
};

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void send_state(cw_service_t *s, const char *state)
{
    int rc = sd_notify(0, state);
    if (rc < 0 && !s->failed_logged) {
        cw_log(CW_LOG_WARN, "systemd: notification not sent (NOTIFY_SOCKET): error %d", -rc);
        s->failed_logged = true;
    }
}

/* "STATUS=..." plus, when extra is not empty, more lines (READY=1, ...) in the same datagram. */
static void send_status(cw_service_t *s, const char *extra, const char *phase, const cw_kafka_stats_t *st)
{
    char msg[384];
    snprintf(msg, sizeof msg, "%sSTATUS=%s: %d partition(s), records %llu, alerts %llu, dead letters %llu, lag %lld",
             extra, phase, (int)st->partitions, (unsigned long long)st->records, (unsigned long long)st->alerts,
             (unsigned long long)st->dead_total, (long long)st->lag);
    send_state(s, msg);
    s->last_status_us = mono_us();
}

cw_service_t *cw_service_create(apr_pool_t *pool)
{
    cw_service_t *s;
    uint64_t usec = 0;
    const char *sock = getenv("NOTIFY_SOCKET");
    if (!sock || !*sock)
        return NULL;
    s = apr_pcalloc(pool, sizeof *s);
    if (sd_watchdog_enabled(0, &usec) > 0)
        s->watchdog_us = usec / 2;
    cw_log(CW_LOG_DEBUG, "systemd: notifications on%s", s->watchdog_us ? ", watchdog on" : "");
    return s;
}

void cw_service_tick(void *ctx, const cw_kafka_stats_t *st)
{
    cw_service_t *s = ctx;
    uint64_t now = mono_us();
    if (s->watchdog_us && now - s->last_watchdog_us >= s->watchdog_us) {
        send_state(s, "WATCHDOG=1");
        s->last_watchdog_us = now;
    }
    if (!s->ready_sent && !st->ready && (!s->last_extend_us || now - s->last_extend_us >= EXTEND_EVERY_US)) {
        char msg[64];
        snprintf(msg, sizeof msg, "EXTEND_TIMEOUT_USEC=%u", EXTEND_US);
        send_state(s, msg);
        s->last_extend_us = now;
    }
    if (!s->ready_sent && st->ready) {
        send_status(s, "READY=1\n", "ready", st);
        s->ready_sent = true;
    } else if (now - s->last_status_us >= (uint64_t)STATUS_MS * 1000u) {
        send_status(s, "", st->ready ? "running" : (s->ready_sent ? "rebalancing" : "starting"), st);
    }
}

void cw_service_event(void *ctx, cw_kafka_event_t ev, const cw_kafka_stats_t *st)
{
    cw_service_t *s = ctx;
    char msg[96];
    switch (ev) {
    case CW_KAFKA_RELOADING:
        if (!s->ready_sent)
            return;
        snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long)mono_us());
        send_state(s, msg);
        break;
    case CW_KAFKA_RELOADED:
        if (s->ready_sent)
            send_status(s, "READY=1\n", "reloaded", st);
        break;
    case CW_KAFKA_STOPPING:
        send_status(s, "STOPPING=1\n", "stopping", st);
        break;
    }
}
