/* test_reference.c — CDR sketches within their error bound, first days, recent records per
 * subscriber (the last 24 to 30 hours), identity links, watchlist by any identifier, watchlist
 * files and reload. */
#include <stdlib.h>
#include <apr_general.h>
#include "cdrwatch/reference.h"
#include "tap.h"

static cw_event_t cdr(const char *msisdn, const char *imsi, const char *imei, cw_time_t ts)
{
    cw_event_t ev;
    cw_event_reset(&ev, CW_STREAM_CDR);
    ev.ts = ev.u.cdr.start_time = ts;
    snprintf(ev.u.cdr.calling_msisdn, sizeof ev.u.cdr.calling_msisdn, "%s", msisdn);
    snprintf(ev.u.cdr.imsi, sizeof ev.u.cdr.imsi, "%s", imsi);
    snprintf(ev.u.cdr.imei, sizeof ev.u.cdr.imei, "%s", imei);
    return ev;
}

int main(void)
{
    apr_pool_t *pool;
    cw_config_t *cfg;
    cw_reference_t *r;
    char err[512];
    const char *conf = "{\"reference\":{\"sketch_width\":4096,\"sketch_depth\":4,\"max_links\":100}}";
    const cw_time_t DAY = CW_MS_PER_DAY, T0 = 1772409600000LL; /* 2026-03-02 */

    apr_initialize();
    apr_pool_create(&pool, NULL);
    cw_config_parse(pool, "t", conf, strlen(conf), &cfg, err, sizeof err);
    ok(cw_reference_create(pool, cfg, &r, err, sizeof err) == CW_OK, "create");

    /* 20000 subscribers with i % 50 + 1 records each: over 4096 counters the sketch error bound
     * is e/width * total = 2.718/4096 * 510000 = 338 */
    {
        long total = 0, worst = 0, under = 0;
        char m[16];
        for (int i = 0; i < 20000; i++) {
            snprintf(m, sizeof m, "4477%08d", i);
            for (int k = 0; k <= i % 50; k++) {
                cw_event_t ev = cdr(m, "", "", T0 + (cw_time_t)k * 3600000);
                cw_reference_add_cdr(r, &ev);
                total++;
            }
        }
        for (int i = 0; i < 20000; i++) {
            snprintf(m, sizeof m, "4477%08d", i);
            long est = cw_reference_count(r, m), truth = i % 50 + 1;
            if (est < truth)
                under++;
            if (est - truth > worst)
                worst = est - truth;
        }
        is_int(under, 0, "a count-min estimate is never below the truth");
        ok(worst <= (long)(2.7183 / 4096 * total), "overestimates stay within e/width x total (338)");
        printf("# worst overestimate %ld of bound %ld\n", worst, (long)(2.7183 / 4096 * total));
    }
    {
        /* a fresh, unsaturated reference: first days and counts are exact */
        cw_reference_t *r2;
        cw_reference_create(pool, cfg, &r2, err, sizeof err);
        cw_event_t ev = cdr("447700900001", "234150000000001", "351713111134493", T0 + 5 * DAY + 3600000);
        cw_reference_add_cdr(r2, &ev);
        ev = cdr("447700900001", "234150000000001", "351713111134493", T0 + 9 * DAY);
        cw_reference_add_cdr(r2, &ev);
        is_int(cw_reference_first(r2, "447700900001"), T0 + 5 * DAY, "first CDR day (start of that UTC day)");
        is_int(cw_reference_count(r2, "447700900001"), 2, "two CDRs");
        is_int(cw_reference_first(r2, "447700900002"), INT64_MAX, "a subscriber never seen has no first day");
        is_int(cw_reference_count(r2, "447700900002"), 0, "and no CDRs");
        is_int(cw_reference_hourly(r2, T0 + 9 * DAY), 1, "one CDR in that hour");
        is_int(cw_reference_hourly(r2, T0 + 9 * DAY + 3600000), 0, "none in the next");
        /* recent records: 6-hour blocks, the block of t and the four before it (24-30 hours) */
        is_int(cw_reference_recent(r2, "447700900001", T0 + 9 * DAY + 60000), 1,
               "recent: the CDR of a minute ago counts, the one of 4 days ago does not");
        ev = cdr("447700900001", "", "", T0 + 9 * DAY + 5 * 3600000);
        cw_reference_add_cdr(r2, &ev);
        ev = cdr("447700900001", "", "", T0 + 9 * DAY + 20 * 3600000);
        cw_reference_add_cdr(r2, &ev);
        is_int(cw_reference_recent(r2, "447700900001", T0 + 9 * DAY + 21 * 3600000), 3,
               "recent: three CDRs of the last 21 hours");
        is_int(cw_reference_recent(r2, "447700900001", T0 + 9 * DAY + 21 * 3600000 - 20 * 3600000), 2,
               "recent: asked about an earlier time, the later blocks are left out");
        ev = cdr("447700900009", "", "", T0 + 10 * DAY + 5 * 3600000); /* day 10 05:00: the ring moves */
        cw_reference_add_cdr(r2, &ev);
        is_int(cw_reference_recent(r2, "447700900001", T0 + 10 * DAY + 5 * 3600000), 3,
               "recent: at 05:00 the next day the block of 00:00-06:00 is still covered (24-30 hours): 3");
        ev = cdr("447700900009", "", "", T0 + 10 * DAY + 6 * 3600000); /* the next block: 00:00 leaves */
        cw_reference_add_cdr(r2, &ev);
        is_int(cw_reference_recent(r2, "447700900001", T0 + 10 * DAY + 6 * 3600000), 1,
               "recent: at 06:00 the blocks of 00:00 and 05:00 are gone: 1 (20:00)");
        is_int(cw_reference_recent(r2, "447700900002", T0 + 10 * DAY), 0, "recent: a subscriber never seen: 0");
        /* in the saturated sketch, a first day is still never later than the truth */
        cw_reference_add_cdr(r, &ev);
        ok(cw_reference_first(r, "447700900001") <= T0 + 9 * DAY, "first day is never later than the truth");
    }
    ok(!cw_reference_watchlisted(r, "447700900001"), "empty watchlist");
    {
        cw_strlist_t ids = {NULL, 0};
        const char *path = "test_reference.watchlist";
        FILE *f = fopen(path, "w");
        fputs("# targets\n351713111134493   # IMEI of a target\n+44 7700 900999\n\n", f);
        fclose(f);
        ok(cw_reference_load_watchlist(r, path, &ids, err, sizeof err) == CW_OK, "watchlist file loads");
        is_int(cw_reference_watchlist_size(r), 2, "two identifiers");
        ok(cw_reference_watchlisted(r, "447700900999"), "a listed MSISDN, normalised");
        {
            cw_event_t ev = cdr("447700900001", "234150000000001", "351713111134493", T0 + 9 * DAY);
            cw_reference_add_cdr(r, &ev);
        }
        ok(cw_reference_watchlisted(r, "447700900001"), "an MSISDN whose IMEI is listed (link learned from CDRs)");
        ok(!cw_reference_watchlisted(r, "447700900002"), "another subscriber is not");
        f = fopen(path, "w");
        fputs("234150000000001\nnot-a-number\n", f);
        fclose(f);
        ok(cw_reference_load_watchlist(r, path, &ids, err, sizeof err) == CW_ERR_USAGE &&
           strstr(err, "test_reference.watchlist:2: expected an MSISDN, IMSI or IMEI"), "a bad line is named with file:line");
        ok(cw_reference_watchlisted(r, "447700900999"), "after a failed reload the old watchlist stays");
        f = fopen(path, "w");
        fputs("234150000000001\n", f);
        fclose(f);
        ok(cw_reference_load_watchlist(r, path, &ids, err, sizeof err) == CW_OK, "reload");
        ok(!cw_reference_watchlisted(r, "447700900999") && cw_reference_watchlisted(r, "447700900001"),
           "the reloaded list replaces the old one; an IMSI link works too");
        remove(path);
    }
    {
        /* links are bounded: 100 kept, the least recently active evicted first */
        char m[16];
        for (int i = 0; i < 150; i++) {
            snprintf(m, sizeof m, "4488%08d", i);
            cw_event_t ev = cdr(m, "2341", "3517", T0 + 10 * DAY + i);
            cw_reference_add_cdr(r, &ev);
        }
        ok(cw_reference_link_evictions(r) > 0, "links beyond max_links are evicted and counted");
        ok(!cw_reference_watchlisted(r, "447700900001"), "an evicted link no longer resolves (documented trade-off)");
    }
    ok(cw_reference_memory(r) > 4 * 4096 * 6, "memory is reported");
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
