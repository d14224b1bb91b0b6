/*
 * fuzz_state.c — the state snapshot loader (cw_state_restore) on a fresh engine of a small
 * configuration (fuzz_small_config). The first byte says how the rest is read: odd, as a whole
 * file (the header fuzzed too); even, as the body of a snapshot, to which the harness gives a
 * valid header (magic, version, CRC-32C, length) so that the fuzzer reaches the sections behind
 * the checksum.
 *
 * Property: a snapshot that restores serializes, and that serialization restores into another
 * fresh engine and serializes to the same bytes.
 */
#include <string.h>
#include "cdrwatch/config.h"
#include "cdrwatch/engine.h"
#include "cdrwatch/state.h"
#include "fuzz.h"

static unsigned char file[CW_STATE_HEADER + (1u << 20)];

static void sink(void *ctx, const cw_alert_t *alert)
{
    (void)ctx;
    (void)alert;
}

/* A fresh engine with the sources replay would register for one input. */
static cw_engine_t *engine(apr_pool_t *p, const cw_config_t *cfg)
{
    cw_engine_t *e;
    char err[512];
    if (cw_engine_create(p, cfg, sink, NULL, &e, err, sizeof err) != CW_OK)
        fuzz_fail(err);
    cw_engine_source_id(e, "audit.jsonl", -1);
    return e;
}

/* The body with a header that passes the checks (little-endian, as state.c writes it). */
static size_t with_header(const uint8_t *body, size_t len)
{
    uint32_t version = CW_STATE_VERSION, crc = cw_crc32c(body, len);
    uint64_t blen = len;
    memcpy(file, CW_STATE_MAGIC, 8);
    for (int i = 0; i < 4; i++) {
        file[8 + i] = (unsigned char)(version >> (8 * i));
        file[12 + i] = (unsigned char)(crc >> (8 * i));
    }
    for (int i = 0; i < 8; i++)
        file[16 + i] = (unsigned char)(blen >> (8 * i));
    memcpy(file + CW_STATE_HEADER, body, len);
    return CW_STATE_HEADER + len;
}

/* Serialize e into w (initialised here), or abort. */
static void serialize(cw_engine_t *e, cw_wbuf_t *w)
{
    char err[512];
    cw_wbuf_init(w);
    if (cw_state_serialize(e, NULL, NULL, w, err, sizeof err) != CW_OK)
        fuzz_fail("a restored state does not serialize");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    char err[512];
    cw_wbuf_t once, twice;
    if (size < 1 || size - 1 > sizeof file - CW_STATE_HEADER)
        return 0;
    const cw_config_t *cfg = fuzz_small_config(p);
    const unsigned char *in = data + 1;
    size_t len = size - 1;
    if (!(data[0] & 1)) {
        len = with_header(data + 1, size - 1);
        in = file;
    }
    if (cw_state_restore(engine(p, cfg), in, len, err, sizeof err) != CW_OK)
        return 0;
    cw_engine_t *e = engine(p, cfg);
    if (cw_state_restore(e, in, len, err, sizeof err) != CW_OK)
        fuzz_fail("a state that restored once does not restore again");
    serialize(e, &once);
    cw_engine_t *e2 = engine(p, cfg);
    if (cw_state_restore(e2, once.data, once.len, err, sizeof err) != CW_OK) {
        fprintf(stderr, "%s\n", err);
        fuzz_fail("a serialized state does not restore");
    }
    serialize(e2, &twice);
    if (once.len != twice.len || memcmp(once.data, twice.data, once.len) != 0)
        fuzz_fail("a state restored and serialized twice gives other bytes");
    cw_wbuf_free(&once);
    cw_wbuf_free(&twice);
    return 0;
}
