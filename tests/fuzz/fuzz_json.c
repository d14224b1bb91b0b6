/*
 * fuzz_json.c — the canonical JSON decoder (cw_decode_json), one record of either stream: the
 * first byte picks the stream (even: audit, odd: CDR), the rest is the record.
 *
 * Property: a record that decodes, encoded back (cw_decode_json_encode), decodes to the same
 * record, as decode.h promises. It found that an MSISDN written "+0044..." normalised to
 * "0044...", which normalised again to "44...": cw_msisdn_normalise now strips every leading 00
 * (regression seed corpus/json/regress-msisdn-00.json).
 */
#include "cdrwatch/decode.h"
#include "fuzz.h"

static cw_event_t ev, again;
static char encoded[4 * CW_RECORD_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_pool();
    if (size < 1)
        return 0;
    cw_stream_t s = data[0] & 1 ? CW_STREAM_CDR : CW_STREAM_AUDIT;
    cw_decode_result_t res = cw_decode_json(s, (const char *)data + 1, size - 1, &ev);
    if (res.reason != CW_DEC_OK)
        return 0;
    size_t len = cw_decode_json_encode(&ev, encoded, sizeof encoded);
    if (len == 0)
        fuzz_fail("a decoded record does not encode");
    res = cw_decode_json(s, encoded, len, &again);
    if (res.reason != CW_DEC_OK)
        fuzz_fail("a decoded record, encoded, does not decode");
    again.damage = ev.damage; /* the repairs were made once, in the first decoding */
    if (!fuzz_same_event(&ev, &again))
        fuzz_fail("a decoded record, encoded and decoded, is another record");
    return 0;
}
