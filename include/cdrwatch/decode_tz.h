/*
 * decode_tz.h — a time zone resolved once, for the sources that write local time without a zone
 * (MariaDB server_audit): local wall-clock time to UTC without the C library's global TZ state.
 *
 * Decoding runs on a thread per input, so setenv("TZ"), tzset() and mktime() are never used. A
 * zone is resolved when the configuration is loaded (inputs.audit.tz, replay --audit-tz) into an
 * immutable table that any thread may read: a fixed offset ("UTC", "+03:00", "-0530", "+02"), or
 * an IANA name ("Europe/Berlin") whose TZif file (RFC 8536; $TZDIR, else the system's
 * /usr/share/zoneinfo) is read here — its 64-bit (version 2+) transition table, then its footer's
 * POSIX rule ("CET-1CEST,M3.5.0,M10.5.0/3") expanded year by year up to 2200 for files that stop
 * their table early.
 *
 * Local to UTC: a local time that occurs twice (the hour clocks are set back) is taken at its
 * first occurrence, the earlier offset; one that never occurs (the hour skipped when clocks go
 * forward) is shifted forward by the gap (02:30 on a night 02:00 becomes 03:00 is 03:30).
 */
#ifndef CDRWATCH_DECODE_TZ_H
#define CDRWATCH_DECODE_TZ_H

#include <stdint.h>
#include <apr_pools.h>
#include "cdrwatch/common.h"

typedef struct cw_tz cw_tz_t;

/* Resolve spec: "UTC", "Z", "±HH:MM", "±HHMM", "±HH" or an IANA zone name. CW_ERR_USAGE with a
 * message (what was expected, or why the zone file cannot be read) otherwise. Lives as long as
 * the pool. */
cw_status_t cw_tz_load(apr_pool_t *pool, const char *spec, cw_tz_t **out, char *err, size_t errlen);

/* The zone's name as given. */
const char *cw_tz_name(const cw_tz_t *tz);

/* Milliseconds since the epoch of a local wall-clock time (counted as if it were UTC) to UTC
 * milliseconds. A NULL tz is UTC. */
int64_t cw_tz_to_utc(const cw_tz_t *tz, int64_t local_ms);

/* The offset east of UTC, in seconds, in effect at a UTC time. */
int32_t cw_tz_offset(const cw_tz_t *tz, int64_t utc_ms);

#endif
