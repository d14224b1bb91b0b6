/*
 * test_config_regex.c — a rule's regular expression runs at a bounded cost (engine.regex_window,
 * doc/configuration.md): on a 16 KiB statement the pathological `(a+)+$` (about 3 s a record
 * when glibc is given the whole statement) is run on windows of at most engine.regex_window
 * bytes, in a bounded number of calls — counted here, never timed — and the windows still find
 * every match of up to half a window, wherever it lies, with `^` and `$` only at the ends.
 * And a configuration's regexes are freed with its pool.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "cdrwatch/config.h"
#include "cdrwatch/decode.h"
#include "cdrwatch/rules.h"
#include "tap.h"

static apr_pool_t *pool;
static cw_event_t ev;

/* A rule whose filter is `statement` matching regex, with engine.regex_window `window` (0: the
 * default); NULL with the message if it does not load. */
static cw_config_t *with_regex(const char *regex, int window)
{
    char err[512];
    cw_config_t *cfg;
    const char *text = apr_psprintf(
        pool, "{%s\"rules\":[{\"id\":\"r\",\"name\":\"n\",\"threshold\":1,\"filter\":{\"statement\":{\"regex\":\"%s\"}}}]}",
        window ? apr_psprintf(pool, "\"engine\":{\"regex_window\":%d},", window) : "", regex);
    if (cw_config_parse(pool, "t.json", text, strlen(text), &cfg, err, sizeof err) != CW_OK) {
        printf("# %s\n", err);
        return NULL;
    }
    return cfg;
}

/* Does the rule's filter hold for a statement; *counts says what regexec was given for it. */
static bool matches(const cw_config_t *cfg, const char *statement, cw_regex_counts_t *counts)
{
    cw_view_t view;
    cw_regex_counts_t before, after;
    bool held;
    cw_event_reset(&ev, CW_STREAM_AUDIT);
    cw_decode_set_field(&ev, CW_F_STATEMENT, statement, strlen(statement));
    cw_view_init(&view, &ev, NULL, NULL, NULL, 0);
    cw_regex_counts(&before);
    held = cw_filter_matches(&cfg->rules[0].filter, &view);
    cw_regex_counts(&after);
    counts->calls = after.calls - before.calls;
    counts->bytes = after.bytes - before.bytes;
    counts->longest = after.longest;
    return held;
}

/* n bytes of c, with `at` written at offset pos (pos < 0: none). */
static const char *text_of(size_t n, int c, const char *at, long pos)
{
    static char buf[CW_STATEMENT_MAX + 1];
    memset(buf, c, n);
    buf[n] = '\0';
    if (at && pos >= 0)
        memcpy(buf + pos, at, strlen(at));
    return buf;
}

static void test_cost(void)
{
    const size_t len = CW_STATEMENT_MAX; /* the longest statement a record keeps */
    cw_regex_counts_t n;
    cw_config_t *cfg = with_regex("x", 0);
    if (!ok(cfg != NULL, "a rule with a plain expression loads"))
        return;
    is_int(cfg->regex_window, CW_STATEMENT_MAX, "engine.regex_window is 16384 by default: statements matched whole");
    cfg = with_regex("(a+)+$", 1024);
    if (!ok(cfg != NULL, "a rule with (a+)+$ and a window of 1024 loads"))
        return;
    ok(!matches(cfg, text_of(len, 'a', "!", (long)len - 1), &n), "(a+)+$ on 16 KiB of 'a' then '!': no match");
    ok(n.longest <= 1024, "regexec was never given more than engine.regex_window bytes");
    is_int(n.calls, (long)(2 * len / 1024 - 1), "in 2 * 16384 / 1024 - 1 = 31 calls");
    ok(n.bytes <= 2 * len, "on at most twice the statement's bytes in all");
    printf("# %llu calls, %llu bytes, at most %llu a call\n", (unsigned long long)n.calls,
           (unsigned long long)n.bytes, (unsigned long long)n.longest);

    cfg = with_regex("(a+)+$", 512);
    matches(cfg, text_of(len, 'a', "!", (long)len - 1), &n);
    ok(n.calls == 2 * len / 512 - 1 && n.bytes <= 2 * len, "engine.regex_window 512: 63 calls, 2 x 16 KiB at most");
    cfg = with_regex("(a+)+$", CW_STATEMENT_MAX);
    matches(cfg, text_of(len, 'a', "!", 0), &n); /* '!' first: no match, and cheap */
    ok(n.calls == 1 && n.bytes == len, "engine.regex_window 16384: the statement whole, in one call");
    ok(with_regex("x", 100) == NULL, "a window under 256 bytes is refused");
}

/* Windows lose no match of up to half a window, wherever it lies, and add none. */
static void test_found(void)
{
    const size_t len = 10000;
    cw_regex_counts_t n;
    cw_config_t *cfg = with_regex("grant[[:space:]]+all", 1024);
    long miss = -1;
    if (!ok(cfg != NULL, "a rule with grant[[:space:]]+all loads"))
        return;
    for (long pos = 0; pos + 10 <= (long)len; pos += 7) {
        if (!matches(cfg, text_of(len, 'x', "grant  all", pos), &n) && miss < 0)
            miss = pos;
    }
    is_int(miss, -1, "a 10-byte match is found at every offset of a 10 000-byte statement");
    ok(matches(cfg, text_of(len, 'x', "grant                                              all", 5100), &n),
           "... and a match of 55 bytes across the windows' edges at 5100");
    ok(!matches(cfg, text_of(len, 'x', "grant", 5117), &n), "and nothing where there is no match");

    cfg = with_regex("^x{3}y", 1024);
    ok(!matches(cfg, text_of(len, 'x', "y", 3075), &n), "^ does not match at a window's start (3072) ...");
    ok(matches(cfg, text_of(len, 'x', "y", 3), &n), "... only at the statement's");
    cfg = with_regex("yx{3}$", 1024);
    ok(!matches(cfg, text_of(len, 'x', "y", 1532), &n), "$ does not match at a window's end (1536) ...");
    ok(matches(cfg, text_of(len, 'x', "y", (long)len - 4), &n), "... only at the statement's");
}

/* A sequence extract's groups: offsets in the statement, not in the window. */
static void test_offsets(void)
{
    regex_t re;
    regmatch_t m[2];
    const char *s = text_of(10000, ' ', "to bob", 7000);
    regcomp(&re, "to[[:space:]]+([a-z]+)", REG_EXTENDED | REG_ICASE);
    ok(cw_regex_match(&re, s, 1024, 2, m) == 0 && m[1].rm_so == 7003 && m[1].rm_eo == 7006,
       "a group's offsets are the statement's");
    regfree(&re);
}

#ifdef __SANITIZE_ADDRESS__
size_t __sanitizer_get_current_allocated_bytes(void); /* gcc ships no allocator_interface.h */
#endif

/* Bytes held from malloc now: AddressSanitizer's count in a sanitizer build, glibc's otherwise. */
static long heap_in_use(void)
{
#ifdef __SANITIZE_ADDRESS__
    return (long)__sanitizer_get_current_allocated_bytes();
#else
    return (long)mallinfo2().uordblks;
#endif
}

/* Load the built-in configuration and a rule with a regex into a pool of their own, match both
 * regexes (regexec grows glibc's automata), destroy the pool; *(int *)times times. NULL, or the
 * message of a configuration that does not load. */
static void *generations(void *times)
{
    static char err[512];
    const char *text = "{\"rules\":[{\"id\":\"r\",\"name\":\"n\",\"threshold\":1,"
                       "\"filter\":{\"statement\":{\"regex\":\"grant[[:space:]]+(all|select)\"}}}]}";
    for (int i = 0; i < *(int *)times; i++) {
        apr_pool_t *generation;
        cw_config_t *builtin, *cfg;
        cw_regex_counts_t n;
        apr_pool_create(&generation, pool);
        if (cw_config_load(generation, NULL, &builtin, err, sizeof err) != CW_OK ||
            cw_config_parse(generation, "t.json", text, strlen(text), &cfg, err, sizeof err) != CW_OK)
            return err;
        matches(cfg, text_of(3000, 'x', "GRANT \t SELECT", 2000), &n);
        regexec(builtin->subscriber_re, text_of(200, 'y', "msisdn 447700900123", 50), 0, NULL, 0);
        apr_pool_destroy(generation);
    }
    return NULL;
}

/* generations(times) in a thread of its own; the heap in use once it has ended (its exit gives
 * back the chunks glibc's thread cache kept, which mallinfo2 counts as in use), or -1. */
static long heap_after(int times)
{
    pthread_t t;
    void *failed;
    if (pthread_create(&t, NULL, generations, &times) != 0 || pthread_join(t, &failed) != 0)
        return -1;
    if (failed)
        printf("# %s\n", (const char *)failed);
    return failed ? -1 : heap_in_use();
}

/* glibc mallocs a regex's automaton at regcomp and grows it at each regexec; the configuration's
 * pool frees it (a cleanup). Loaded, used and destroyed again and again, configurations hold no
 * more heap than the first left behind (the caches it filled). LeakSanitizer alone cannot tell:
 * APR may take pool memory with mmap, which it does not scan, so a live configuration's regexes
 * look leaked to it and a leaked one's might not. */
static void test_freed_with_pool(void)
{
    long first = heap_after(1), more = heap_after(19);
    if (!ok(first >= 0 && more >= 0, "the configurations load and match"))
        return;
    is_int(more - first, 0, "19 more configurations loaded, matched and destroyed hold no heap");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    cw_decode_init();
    test_cost();
    test_found();
    test_offsets();
    test_freed_with_pool();
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
