/* test_glob.c — compiled glob lists (glob.h) give the answers of cw_glob_match pattern by
 * pattern: each shape on its own, then a differential run over random lists and values. */
#include <stdint.h>
#include <apr_general.h>
#include "cdrwatch/common.h"
#include "cdrwatch/glob.h"
#include "tap.h"

static apr_pool_t *pool;

static bool set_match(const char *const *p, int n, const char *s)
{
    cw_globset_t *g = cw_globset_compile(pool, p, n);
    return g && cw_globset_match(g, s);
}

static void test_shapes(void)
{
    const char *exact[] = {"SELECT", "copy"};
    const char *prefix[] = {"svc_*"};
    const char *suffix[] = {"*.corp"};
    const char *contains[] = {"*audit*", "*log_statement*", "*reset*all*", "*AUD*x*"};
    const char *general[] = {"a?c", "*"};
    const char *none[] = {NULL};

    ok(set_match(exact, 2, "select") && set_match(exact, 2, "COPY"), "exact, either case");
    ok(!set_match(exact, 2, "selected") && !set_match(exact, 2, "selec"), "exact: not a prefix, not longer");
    ok(set_match(prefix, 1, "SVC_billing") && !set_match(prefix, 1, "svc") && !set_match(prefix, 1, "my_svc_x"),
       "prefix");
    ok(set_match(suffix, 1, "ws-1.CORP") && !set_match(suffix, 1, "corp") && !set_match(suffix, 1, "ws.corp.x"),
       "suffix");
    ok(set_match(contains, 4, "ALTER SYSTEM SET pgaudit.log = 'none'"), "contains, first pattern");
    ok(set_match(contains, 4, "alter system set LOG_STATEMENT to none"), "contains, a later pattern");
    ok(set_match(contains, 4, "ALTER SYSTEM RESET ALL"), "contains a general pattern (inner star)");
    ok(!set_match(contains, 4, "SELECT * FROM mediation.cdr_voice"), "contains: none of them");
    ok(!set_match(contains, 4, "audi"), "contains: a value shorter than the pattern");
    ok(set_match(general, 2, "") && set_match(general, 1, "AbC") && !set_match(general, 1, "ac"), "general");
    ok(!set_match(none, 0, "") && !set_match(none, 0, "x"), "an empty list matches nothing");
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static unsigned next(unsigned bound)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % bound);
}

static void random_text(char *out, unsigned maxlen, const char *alphabet)
{
    unsigned n = next(maxlen + 1), k = (unsigned)strlen(alphabet);
    for (unsigned i = 0; i < n; i++)
        out[i] = alphabet[next(k)];
    out[n] = '\0';
}

/* Random lists of patterns over a small alphabet (both cases, a non-ASCII byte, the two
 * wildcards) against random values: the set must answer as the patterns one by one. */
static void test_differential(void)
{
    char pats[6][8], value[16];
    const char *p[6];
    long trials = 200000, wrong = 0, matched = 0;
    for (long t = 0; t < trials; t++) {
        int n = (int)next(6);
        bool want = false, got;
        for (int i = 0; i < n; i++) {
            random_text(pats[i], 6, "aAbB.\xc3*?**");
            p[i] = pats[i];
        }
        random_text(value, 12, "aAbBc.\xc3");
        for (int i = 0; i < n; i++)
            want = want || cw_glob_match(p[i], value);
        got = set_match(p, n, value);
        matched += want;
        if (got != want && wrong++ < 5)
            printf("# differs: value '%s' -> %d, cw_glob_match %d, %d pattern(s) first '%s'\n", value, got, want,
                   n, n ? p[0] : "");
        if (t % 1000 == 999)
            apr_pool_clear(pool);
    }
    is_int(wrong, 0, "200 000 random lists: the compiled set answers as cw_glob_match");
    ok(matched > trials / 10 && matched < trials * 9 / 10, "the random lists both match and miss");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_shapes();
    test_differential();
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
