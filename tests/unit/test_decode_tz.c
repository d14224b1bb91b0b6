/*
 * test_decode_tz.c — zones resolved once (decode_tz.h): fixed offsets, Europe/Berlin across both
 * changes of a year (the hour skipped in March, the hour repeated in October), a year past the
 * zone file's table (its footer rule), a southern zone, bad names; then MariaDB server_audit's
 * local times read in a zone (cw_native_set_tz).
 */
#include <stdlib.h>
#include <time.h>
#include <apr_general.h>
#include "cdrwatch/decode_native.h"
#include "cdrwatch/decode_tz.h"
#include "tap.h"

static apr_pool_t *pool;

static cw_tz_t *zone(const char *spec)
{
    cw_tz_t *tz = NULL;
    char err[512];
    if (cw_tz_load(pool, spec, &tz, err, sizeof err) != CW_OK) {
        printf("# %s: %s\n", spec, err);
        exit(1);
    }
    return tz;
}

/* A local "YYYY-MM-DD hh:mm:ss" to UTC, printed back as ISO-8601 with Z. */
static const char *utc(const cw_tz_t *tz, const char *local)
{
    static char out[64];
    char iso[32];
    cw_time_t t;
    time_t s;
    struct tm tm;
    snprintf(iso, sizeof iso, "%sZ", local);
    if (!cw_time_parse(iso, strlen(iso), &t))
        return "unparsed";
    s = (time_t)(cw_tz_to_utc(tz, t) / 1000);
    gmtime_r(&s, &tm);
    strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return out;
}

static void test_fixed(void)
{
    is_str(utc(zone("+03:00"), "2026-03-04T03:00:00"), "2026-03-04T00:00:00Z", "+03:00");
    is_str(utc(zone("-0530"), "2026-03-04T00:00:00"), "2026-03-04T05:30:00Z", "-0530");
    is_str(utc(zone("+02"), "2026-01-01T01:00:00"), "2025-12-31T23:00:00Z", "+02, across the new year");
    is_str(utc(zone("UTC"), "2026-03-04T03:00:00"), "2026-03-04T03:00:00Z", "UTC");
    is_str(utc(NULL, "2026-03-04T03:00:00"), "2026-03-04T03:00:00Z", "no zone: UTC");
    is_str(cw_tz_name(zone("-0530")), "-0530", "the name as given");
}

static void test_berlin(void)
{
    cw_tz_t *b = zone("Europe/Berlin");
    is_str(utc(b, "2026-01-15T12:00:00"), "2026-01-15T11:00:00Z", "winter: CET, +01:00");
    is_str(utc(b, "2026-07-15T12:00:00"), "2026-07-15T10:00:00Z", "summer: CEST, +02:00");
    /* 2026-03-29: 02:00 CET becomes 03:00 CEST (01:00 UTC) */
    is_str(utc(b, "2026-03-29T01:59:59"), "2026-03-29T00:59:59Z", "March: the second before the gap");
    is_str(utc(b, "2026-03-29T02:30:00"), "2026-03-29T01:30:00Z",
           "March: 02:30 never happens: shifted forward by the gap (03:30 CEST)");
    is_str(utc(b, "2026-03-29T03:00:00"), "2026-03-29T01:00:00Z", "March: 03:00 CEST, the first second after");
    /* 2026-10-25: 03:00 CEST becomes 02:00 CET (01:00 UTC) */
    is_str(utc(b, "2026-10-25T01:59:59"), "2026-10-24T23:59:59Z", "October: before the repeated hour");
    is_str(utc(b, "2026-10-25T02:30:00"), "2026-10-25T00:30:00Z",
           "October: 02:30 happens twice: the first (CEST, the earlier offset)");
    is_str(utc(b, "2026-10-25T03:00:00"), "2026-10-25T02:00:00Z", "October: 03:00 CET, after it");
    ok(cw_tz_offset(b, 1792890000000LL) == 3600 && cw_tz_offset(b, 1792886400000LL - 1) == 7200,
       "cw_tz_offset either side of 2026-10-25T01:00:00Z");
    /* past the table (2037): the footer's rule, CET-1CEST,M3.5.0,M10.5.0/3 */
    is_str(utc(b, "2050-03-27T02:30:00"), "2050-03-27T01:30:00Z", "2050: the rule's March gap");
    is_str(utc(b, "2050-10-30T02:30:00"), "2050-10-30T00:30:00Z", "2050: the rule's repeated hour");
    is_str(utc(b, "2050-07-01T12:00:00"), "2050-07-01T10:00:00Z", "2050: summer");
    /* the southern hemisphere: summer time spans the new year */
    is_str(utc(zone("Australia/Sydney"), "2050-01-10T12:00:00"), "2050-01-10T01:00:00Z", "Sydney, 2050: AEDT +11");
    is_str(utc(zone("Australia/Sydney"), "2050-07-10T12:00:00"), "2050-07-10T02:00:00Z", "Sydney, 2050: AEST +10");
}

static void bad(const char *spec, const char *want, const char *name)
{
    cw_tz_t *tz;
    char err[512] = "";
    ok(cw_tz_load(pool, spec, &tz, err, sizeof err) == CW_ERR_USAGE && strstr(err, want), name);
    if (!strstr(err, want))
        printf("#   message: %s\n", err);
}

static void test_bad(void)
{
    bad("Mars/Olympus_Mons", "unknown time zone 'Mars/Olympus_Mons'", "an unknown zone");
    bad("../../etc/passwd", "expected UTC, an offset such as +03:00", "a path that leaves the zone directory");
    bad("/etc/localtime", "expected UTC", "an absolute path");
    bad("+25:00", "expected UTC", "an offset over 23 hours");
    bad("+3", "expected UTC", "an offset of one digit");
    bad("Europe", "not a TZif file", "a directory of zones");
}

static void test_mariadb(void)
{
    cw_native_t *n;
    cw_event_t ev;
    bool is_record;
    const char *line = "20261025 02:30:00,db1,bob,10.0.0.1,5,1,QUERY,med,'SELECT 1',0\n";
    if (cw_native_create(pool, CW_AUDIT_MARIADB, NULL, &n) != CW_OK)
        exit(1);
    cw_native_decode(n, line, strlen(line), &ev, &is_record);
    is_int(ev.ts, 1792895400000LL, "mariadb without a zone: the time as UTC");
    cw_native_set_tz(n, zone("Europe/Berlin"));
    ok(cw_native_decode(n, line, strlen(line), &ev, &is_record).reason == CW_DEC_OK, "decodes in Europe/Berlin");
    is_int(ev.ts, 1792895400000LL - 7200000, "Europe/Berlin: 02:30 on 2026-10-25, the first one (CEST)");
    cw_native_set_tz(n, zone("-05:00"));
    cw_native_decode(n, line, strlen(line), &ev, &is_record);
    is_int(ev.ts, 1792895400000LL + 5 * 3600000, "-05:00");
    line = "1772589601123456,db1,bob,10.0.0.1,5,1,QUERY,med,'SELECT 1',0\n";
    cw_native_decode(n, line, strlen(line), &ev, &is_record);
    is_int(ev.ts, 1772589601123LL, "epoch microseconds (RDS) are UTC whatever the zone");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    cw_decode_init();
    test_fixed();
    test_berlin();
    test_bad();
    test_mariadb();
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
