/*
 * glob.c — glob lists compiled at configuration load (glob.h).
 *
 * A filter condition holds a list of patterns and is evaluated for every record, often on the
 * statement text; matching each pattern on its own reads the value once per pattern, and the
 * tampering rules alone hold eight "*literal*" patterns. The set sorts its patterns by shape once:
 *   exact      "literal"    equal length, then a folded comparison;
 *   prefix     "literal*"   a folded comparison of the first bytes;
 *   suffix     "*literal"   the same on the last bytes;
 *   contains   "*literal*"  one pass over the value for all of them: a table of the patterns'
 *                           first bytes (both cases) names, for each byte of the value, the
 *                           patterns that may start there;
 *   segments   "*a*b*"      in the same pass, by the first literal; where it is found, the
 *                           others are searched for, each after the one before (the leftmost
 *                           match of each is the best one, so a first literal found later
 *                           cannot do better: the pattern is not tried again); "*" and "**"
 *                           match everything;
 *   general    anything else (a '?', an inner '*' without both outer ones): cw_glob_match.
 * Case folding is ASCII only, as in cw_glob_match; test_glob checks the two agree.
 */
#include <string.h>
#include "cdrwatch/common.h"
#include "cdrwatch/glob.h"

typedef struct {
    const char *s; /* the literal part of the pattern (not NUL-terminated for prefix/contains) */
    size_t len;
    const char *rest; /* segments: the pattern after its first literal ("*b*"); NULL otherwise */
} lit_t;

typedef enum { SHAPE_EXACT, SHAPE_PREFIX, SHAPE_SUFFIX, SHAPE_CONTAINS, SHAPE_GENERAL, SHAPE_COUNT } shape_t;

struct cw_globset {
    lit_t *lits[SHAPE_COUNT];
    int n[SHAPE_COUNT];
    bool all;              /* a pattern of stars only: everything matches */
    uint8_t head[256];     /* byte -> 1 + its bucket of contains patterns; 0: no pattern starts so */
    int *bucket_start;     /* bucket b holds bucket_items[bucket_start[b] .. bucket_start[b+1]) */
    int *bucket_items;     /* indices into lits[SHAPE_CONTAINS] */
};

static inline unsigned char fold(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* Do the n bytes at a equal the n bytes at b, ASCII case folded? (a may end early: its NUL
 * differs from every byte of a pattern's literal, which holds none.) */
static bool same_folded(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (fold((unsigned char)a[i]) != fold((unsigned char)b[i]))
            return false;
    }
    return true;
}

static bool has_meta(const char *s, size_t n)
{
    return memchr(s, '*', n) || memchr(s, '?', n);
}

/* The shape of pattern p and its literal; *all when p is stars only. */
static shape_t shape_of(const char *p, lit_t *lit, bool *all)
{
    size_t n = strlen(p);
    bool lead = n > 0 && p[0] == '*', trail = n > 1 && p[n - 1] == '*';
    size_t from = lead, to = n - trail;
    lit->rest = NULL;
    if (lead && (trail || n == 1) && !memchr(p, '?', n) && (from >= to || has_meta(p + from, to - from))) {
        const char *seg = p + strspn(p, "*");
        if (!*seg) {
            *all = true; /* "*", "**" */
            lit->s = p;
            lit->len = 0;
            return SHAPE_GENERAL;
        }
        lit->s = seg;
        lit->rest = strchr(seg, '*');
        lit->len = (size_t)(lit->rest - seg);
        return SHAPE_CONTAINS; /* "*a*b*": found by its first literal */
    }
    lit->s = p + from;
    lit->len = to - from;
    if (has_meta(lit->s, lit->len)) {
        lit->s = p;
        lit->len = n;
        return SHAPE_GENERAL;
    }
    return lead ? (trail ? SHAPE_CONTAINS : SHAPE_SUFFIX) : (trail ? SHAPE_PREFIX : SHAPE_EXACT);
}

/* The bucket table of the contains patterns: counting sort by folded first byte. */
static bool build_heads(apr_pool_t *pool, cw_globset_t *g)
{
    int count[256] = {0}, nb = 0, at = 0;
    const lit_t *c = g->lits[SHAPE_CONTAINS];
    int bucket_of[256];
    for (int i = 0; i < g->n[SHAPE_CONTAINS]; i++)
        count[fold((unsigned char)c[i].s[0])]++;
    for (int b = 0; b < 256; b++)
        bucket_of[b] = count[b] ? nb++ : -1;
    g->bucket_start = apr_palloc(pool, (size_t)(nb + 1) * sizeof(int));
    g->bucket_items = apr_palloc(pool, (size_t)(g->n[SHAPE_CONTAINS] ? g->n[SHAPE_CONTAINS] : 1) * sizeof(int));
    if (!g->bucket_start || !g->bucket_items)
        return false;
    for (int b = 0; b < 256; b++) {
        if (bucket_of[b] < 0)
            continue;
        g->bucket_start[bucket_of[b]] = at;
        for (int i = 0; i < g->n[SHAPE_CONTAINS]; i++) {
            if (fold((unsigned char)c[i].s[0]) == b)
                g->bucket_items[at++] = i;
        }
    }
    g->bucket_start[nb] = at;
    for (int byte = 0; byte < 256; byte++) {
        int b = bucket_of[fold((unsigned char)byte)];
        g->head[byte] = (uint8_t)(b + 1); /* 230 folded bytes at most: b + 1 fits */
    }
    return true;
}

cw_globset_t *cw_globset_compile(apr_pool_t *pool, const char *const *patterns, int n)
{
    cw_globset_t *g = apr_pcalloc(pool, sizeof *g);
    if (!g)
        return NULL;
    for (int s = 0; s < SHAPE_COUNT; s++) {
        if (!(g->lits[s] = apr_palloc(pool, (size_t)(n ? n : 1) * sizeof(lit_t))))
            return NULL;
    }
    for (int i = 0; i < n; i++) {
        lit_t lit;
        bool all = false;
        shape_t s = shape_of(patterns[i], &lit, &all);
        if (all)
            g->all = true;
        else
            g->lits[s][g->n[s]++] = lit;
    }
    return build_heads(pool, g) ? g : NULL;
}

/* The first place in s where the n bytes of needle are, case folded; NULL if none. */
static const char *find_folded(const char *s, const char *needle, size_t n)
{
    unsigned char first = fold((unsigned char)needle[0]);
    for (; *s; s++) {
        if (fold((unsigned char)*s) == first && same_folded(s + 1, needle + 1, n - 1))
            return s;
    }
    return NULL;
}

/* pat: stars around literals, no '?'. */
static bool match_segments(const char *pat, const char *s)
{
    for (;;) {
        const char *end, *hit;
        while (*pat == '*')
            pat++;
        if (!*pat)
            return true;
        end = strchr(pat, '*');
        if (!(hit = find_folded(s, pat, (size_t)(end - pat))))
            return false;
        s = hit + (end - pat);
        pat = end;
    }
}

static bool match_contains(const cw_globset_t *g, const char *s)
{
    const lit_t *c = g->lits[SHAPE_CONTAINS];
    uint64_t tried = 0; /* segments patterns (the first 64) whose first literal was found */
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        int b = g->head[*p];
        if (!b)
            continue;
        for (int k = g->bucket_start[b - 1]; k < g->bucket_start[b]; k++) {
            int i = g->bucket_items[k];
            const lit_t *l = &c[i];
            uint64_t bit = i < 64 ? UINT64_C(1) << i : 0;
            if ((tried & bit) || !same_folded((const char *)p + 1, l->s + 1, l->len - 1))
                continue;
            if (!l->rest || match_segments(l->rest, (const char *)p + l->len))
                return true;
            tried |= bit;
        }
    }
    return false;
}

bool cw_globset_match(const cw_globset_t *g, const char *s)
{
    size_t len = (size_t)-1;
    if (g->all)
        return true;
    if (g->n[SHAPE_CONTAINS] && match_contains(g, s))
        return true;
    for (int i = 0; i < g->n[SHAPE_PREFIX]; i++) {
        const lit_t *l = &g->lits[SHAPE_PREFIX][i];
        if (same_folded(s, l->s, l->len))
            return true;
    }
    if (g->n[SHAPE_EXACT] || g->n[SHAPE_SUFFIX])
        len = strlen(s);
    for (int i = 0; i < g->n[SHAPE_EXACT]; i++) {
        const lit_t *l = &g->lits[SHAPE_EXACT][i];
        if (l->len == len && same_folded(s, l->s, len))
            return true;
    }
    for (int i = 0; i < g->n[SHAPE_SUFFIX]; i++) {
        const lit_t *l = &g->lits[SHAPE_SUFFIX][i];
        if (l->len <= len && same_folded(s + len - l->len, l->s, l->len))
            return true;
    }
    for (int i = 0; i < g->n[SHAPE_GENERAL]; i++) {
        if (cw_glob_match(g->lits[SHAPE_GENERAL][i].s, s))
            return true;
    }
    return false;
}
