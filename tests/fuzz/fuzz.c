/*
 * fuzz.c — the helpers of fuzz.h. Not on any hot path: clarity first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cdrwatch/common.h"
#include "cdrwatch/config.h"
#include "cdrwatch/decode.h"
#include "cdrwatch/log.h"
#include "fuzz.h"

static apr_pool_t *root, *scratch;
static char tmp_path[4096];

static void destroy_root(void)
{
    apr_pool_destroy(root);
    if (tmp_path[0])
        unlink(tmp_path);
}

apr_pool_t *fuzz_root(void)
{
    if (!root) {
        if (cw_init() != CW_OK)
            fuzz_fail("cw_init");
        cw_log_set_level(CW_LOG_ERROR);
        apr_pool_create(&root, NULL);
        apr_pool_create(&scratch, root);
        atexit(destroy_root); /* before LeakSanitizer looks: the cleanups free what the library malloc'd */
    }
    return root;
}

apr_pool_t *fuzz_pool(void)
{
    fuzz_root();
    apr_pool_clear(scratch);
    if (tmp_path[0]) {
        unlink(tmp_path);
        tmp_path[0] = '\0';
    }
    return scratch;
}

bool fuzz_line(const char **p, const char *end, const char **line, size_t *len)
{
    if (*p >= end)
        return false;
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    *line = *p;
    *len = nl ? (size_t)(nl - *p) + 1 : (size_t)(end - *p);
    *p += *len;
    return true;
}

bool fuzz_same_event(const cw_event_t *a, const cw_event_t *b)
{
    static char ja[4 * CW_RECORD_MAX], jb[4 * CW_RECORD_MAX];
    size_t la = cw_decode_json_encode(a, ja, sizeof ja), lb = cw_decode_json_encode(b, jb, sizeof jb);
    if (a->stream == b->stream && a->damage == b->damage && la == lb && memcmp(ja, jb, la) == 0)
        return true;
    fprintf(stderr, "fuzz: records differ:\n  damage %u: %.*s\n  damage %u: %.*s\n", a->damage, (int)la, ja,
            b->damage, (int)lb, jb);
    return false;
}

void fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz: property failed: %s\n", what);
    abort();
}

const char *fuzz_file(const uint8_t *data, size_t size, const char *suffix)
{
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(tmp_path, sizeof tmp_path, "%s/cw-fuzz-%ld%s", dir, (long)getpid(), suffix);
    FILE *f = fopen(tmp_path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        fuzz_fail("cannot write the temporary input file");
    return tmp_path;
}

const cw_config_t *fuzz_small_config(apr_pool_t *pool)
{
    cw_config_t *cfg;
    char err[1024];
    const char *layers[2] = {NULL, fuzz_file((const uint8_t *)FUZZ_SMALL_CONFIG, strlen(FUZZ_SMALL_CONFIG), ".json")};
    if (cw_config_load_layers(pool, layers, 2, &cfg, err, sizeof err) != CW_OK)
        fuzz_fail(err);
    return cfg;
}
