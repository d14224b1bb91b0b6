/*
 * glob.h — a list of glob patterns compiled once, at configuration load, for the per-record
 * filters: the same answers as cw_glob_match over each pattern, in one pass over the value for
 * the "*literal*" patterns of the list.
 */
#ifndef CDRWATCH_GLOB_H
#define CDRWATCH_GLOB_H

#include <stdbool.h>
#include <apr_pools.h>

typedef struct cw_globset cw_globset_t;

/* Compile n patterns (case-insensitive globs, as cw_glob_match takes them) from the pool. The
 * patterns are referred to, not copied: they must outlive the set. NULL when out of memory. */
cw_globset_t *cw_globset_compile(apr_pool_t *pool, const char *const *patterns, int n);

/* Does s match at least one pattern of the set? Exactly
 * (cw_glob_match(p[0], s) || ... || cw_glob_match(p[n-1], s)). No allocation. */
bool cw_globset_match(const cw_globset_t *g, const char *s);

#endif
