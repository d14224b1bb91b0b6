/*
 * fuzz_message.c — the Kafka message decoder of `run` and `demo` (cw_decode_message) against
 * the slow path: JSON through cJSON's tree (cw_decode_json_reference), headerless CSV through libcsv alone (cw_csv_push,
 * cw_csv_decode) in the columns of the default configuration. The first byte picks the stream
 * (even: audit, odd: CDR), the rest is the message.
 *
 * Property: the same reason and field, and for a record the same event; abort otherwise.
 */
#include "cdrwatch/config.h"
#include "cdrwatch/decode.h"
#include "fuzz.h"

static cw_csv_t *fast[CW_STREAM_COUNT], *slow[CW_STREAM_COUNT];
static cw_event_t ev, want_ev;

/* The decoders, once, in the columns the default configuration gives Kafka messages. */
static void setup(void)
{
    apr_pool_t *root = fuzz_root();
    cw_config_t *cfg;
    char err[512];
    if (cw_config_load(root, NULL, &cfg, err, sizeof err) != CW_OK)
        fuzz_fail(err);
    for (int s = 0; s < CW_STREAM_COUNT; s++) {
        if (cw_csv_create(root, (cw_stream_t)s, &fast[s]) != CW_OK ||
            cw_csv_create(root, (cw_stream_t)s, &slow[s]) != CW_OK)
            fuzz_fail("cw_csv_create");
        cw_csv_set_columns(fast[s], cfg->input[s].columns, cfg->input[s].n_columns);
        cw_csv_set_columns(slow[s], cfg->input[s].columns, cfg->input[s].n_columns);
    }
}

/* The slow path: blank is missing_field, '{' is JSON, anything else one record for libcsv. */
static cw_decode_result_t reference(cw_stream_t s, const char *b, size_t len, cw_event_t *out)
{
    size_t i = 0;
    int rc;
    while (i < len && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n'))
        i++;
    cw_event_reset(out, s);
    if (i == len)
        return (cw_decode_result_t){CW_DEC_MISSING_FIELD, CW_F_NONE};
    if (b[i] == '{')
        return cw_decode_json_reference(s, b, len, out);
    cw_csv_reset(slow[s]);
    rc = cw_csv_push(slow[s], b, len);
    if (rc == 0 && b[len - 1] != '\n')
        rc = cw_csv_push(slow[s], "\n", 1);
    if (rc == 0)
        rc = cw_csv_finish(slow[s]);
    cw_decode_result_t res = {CW_DEC_BAD_CSV, CW_F_NONE};
    if (rc == 1)
        res = cw_csv_decode(slow[s], out);
    cw_csv_reset(slow[s]);
    return res;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fast[0])
        setup();
    /* over CW_RECORD_MAX the decoder cuts the message, which the slow path does not */
    if (size < 1 || size - 1 > CW_RECORD_MAX)
        return 0;
    cw_stream_t s = data[0] & 1 ? CW_STREAM_CDR : CW_STREAM_AUDIT;
    const char *msg = (const char *)data + 1;
    cw_decode_result_t got = cw_decode_message(fast[s], msg, size - 1, &ev);
    cw_decode_result_t want = reference(s, msg, size - 1, &want_ev);
    if (got.reason != want.reason || got.field != want.field)
        fuzz_fail("the message decoder and the slow path give different reasons");
    if (got.reason == CW_DEC_OK && !fuzz_same_event(&ev, &want_ev))
        fuzz_fail("the message decoder and the slow path give different records");
    return 0;
}
