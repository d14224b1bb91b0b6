/*
 * reference.h — what the CDR stream teaches the audit rules, in bounded memory.
 *
 * - Records per subscriber: a count-min sketch (depth x width 32-bit counters). An estimate is
 *   never below the true count and exceeds it by at most e/width x (all CDRs seen) with
 *   probability 1 - e^-depth (Cormode & Muthukrishnan 2005).
 * - First CDR day per subscriber: a "count-min" of minima (16-bit day numbers); the estimate is
 *   never later than the true first day.
 * - CDRs produced per hour over the last week (a ring of 168 hourly counts).
 * - Recent records per subscriber: a count-min sketch per 6-hour block, the last five blocks
 *   (16-bit counters, a quarter of the width): a subscriber's CDRs of the last day, never
 *   below the true count of the last 24 hours (it covers 24 to 30 hours).
 * - Identity links MSISDN -> latest IMSI and IMEI (hashes), in a bounded key table that evicts
 *   the least recently active subscriber first.
 * - The watchlist: a set of identifier hashes (MSISDN, IMSI or IMEI), replaced whole on reload.
 * Identifiers are compared as digits (cw_msisdn_normalise), so "+44 7700 900123" and
 * "00447700900123" are one subscriber.
 */
#ifndef CDRWATCH_REFERENCE_H
#define CDRWATCH_REFERENCE_H

#include <stdbool.h>
#include "cdrwatch/config.h"

typedef struct cw_reference cw_reference_t;

cw_status_t cw_reference_create(apr_pool_t *pool, const cw_config_t *cfg, cw_reference_t **out,
                                char *err, size_t errlen);
/* Learn from one CDR. */
void cw_reference_add_cdr(cw_reference_t *r, const cw_event_t *ev);
/* Estimated CDRs of a subscriber (normalised MSISDN) so far. */
uint32_t cw_reference_count(const cw_reference_t *r, const char *msisdn);
/* Estimated time of the subscriber's first CDR (start of that UTC day); INT64_MAX if none. */
cw_time_t cw_reference_first(const cw_reference_t *r, const char *msisdn);
/* Both of the above from one look at the subscriber's cells. */
void cw_reference_history(const cw_reference_t *r, const char *msisdn, uint32_t *count, cw_time_t *first);
/* Ask the memory for the cells cw_reference_history and cw_reference_recent(t) will read of a
 * subscriber, so that the look-ups of a record's subscribers wait for memory once, together. */
void cw_reference_prefetch(const cw_reference_t *r, const char *msisdn, cw_time_t t);
/* Estimated CDRs of a subscriber that started in the last 24 hours before t, or up to 6 hours
 * more (the 6-hour block of t and the four before it); never below the true count of the last
 * 24 hours, except for a counter saturated at 65535 in a block. */
uint32_t cw_reference_recent(const cw_reference_t *r, const char *msisdn, cw_time_t t);
/* CDRs that started in the clock hour of t (0 if that hour is older than a week). */
uint64_t cw_reference_hourly(const cw_reference_t *r, cw_time_t t);
/* Is the subscriber, or the IMSI or IMEI last seen with it, on the watchlist? */
bool cw_reference_watchlisted(const cw_reference_t *r, const char *msisdn);
/* (Re)load the watchlist from a file (NULL or "": none) plus inline identifiers. On error
 * (a line that is not an identifier, an unreadable file) the previous watchlist stays. */
cw_status_t cw_reference_load_watchlist(cw_reference_t *r, const char *path, const cw_strlist_t *ids,
                                        char *err, size_t errlen);
size_t cw_reference_watchlist_size(const cw_reference_t *r);
uint64_t cw_reference_link_evictions(const cw_reference_t *r);
/* Snapshots (state.h): the sketches, the hourly production and the identity links; not the
 * watchlist, which is configuration. The sizing is (sketch width, depth, max_links). */
struct cw_wbuf;
struct cw_rbuf;
void cw_reference_sizing(const cw_reference_t *r, uint64_t sizing[3]);
void cw_reference_save(const cw_reference_t *r, struct cw_wbuf *w);
/* Load into a reference of the same sizing; false (message in r) on bad input. */
bool cw_reference_load(cw_reference_t *r, struct cw_rbuf *rd);
/* Bytes of memory held (sketches, links, watchlist). */
size_t cw_reference_memory(const cw_reference_t *r);

#endif
