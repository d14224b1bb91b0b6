/*
 * fuzz_csv.c — a CSV file as replay reads it: a header line, then records, each line through
 * the comma-splitting fast path (cw_csv_decode_line) when it takes it and through libcsv
 * otherwise. Built four times (build.sh): CW_FUZZ_STREAM and CW_FUZZ_FORMAT pick the canonical
 * audit CSV, the CDR CSV, or a vendor's export (oracle-csv, mssql-csv: a cw_csv_dialect_t).
 *
 * Property: a line the fast path decodes gives what libcsv alone gives (same reason, same field,
 * same record), as decode.h promises; abort otherwise.
 */
#include <stdio.h>
#include <string.h>
#include "cdrwatch/decode_native.h"
#include "fuzz.h"

#ifndef CW_FUZZ_STREAM
#define CW_FUZZ_STREAM CW_STREAM_AUDIT
#endif
#ifndef CW_FUZZ_FORMAT
#define CW_FUZZ_FORMAT CW_AUDIT_CANONICAL
#endif

static cw_event_t ev, ref_ev;

/* libcsv alone on one whole line (a line end added if it has none): the slow path. */
static cw_decode_result_t slow(cw_csv_t *ref, const char *line, size_t len, cw_event_t *out)
{
    cw_csv_reset(ref); /* alone: nothing left of a record the header line began (a CR ends one) */
    int rc = cw_csv_push(ref, line, len);
    if (rc == 0 && (len == 0 || line[len - 1] != '\n'))
        rc = cw_csv_push(ref, "\n", 1);
    if (rc == 0)
        rc = cw_csv_finish(ref);
    if (rc != 1) {
        cw_csv_reset(ref);
        return (cw_decode_result_t){CW_DEC_BAD_CSV, CW_F_NONE};
    }
    cw_decode_result_t res = cw_csv_decode(ref, out);
    cw_csv_reset(ref);
    return res;
}

/* Feed the header line(s) to both decoders; false when the header is not one replay accepts. */
static bool header(cw_csv_t *csv, cw_csv_t *ref, const char **at, const char *end)
{
    const char *line;
    size_t len;
    char missing[256];
    while (fuzz_line(at, end, &line, &len)) {
        int rc = cw_csv_push(csv, line, len);
        if (rc < 0)
            return false;
        cw_csv_push(ref, line, len);
        if (rc == 1)
            return cw_csv_take_header(csv, missing, sizeof missing) > 0 && !missing[0] &&
                   cw_csv_take_header(ref, missing, sizeof missing) > 0;
    }
    return false;
}

/* One record line: the fast path checked against libcsv, or libcsv as replay uses it. */
static void record(cw_csv_t *csv, cw_csv_t *ref, const char *line, size_t len)
{
    cw_decode_result_t res, want;
    if (cw_csv_decode_line(csv, line, len, &ev, &res)) {
        want = slow(ref, line, len, &ref_ev);
        if (res.reason != want.reason || res.field != want.field) {
            fprintf(stderr, "fuzz: line %.*s: fast path %s (%s), libcsv %s (%s)\n", (int)len, line,
                    cw_reason_name(res.reason), cw_field_name(res.field), cw_reason_name(want.reason),
                    cw_field_name(want.field));
            fuzz_fail("the CSV fast path and libcsv give different reasons");
        }
        if (res.reason == CW_DEC_OK && !fuzz_same_event(&ev, &ref_ev))
            fuzz_fail("the CSV fast path and libcsv give different records");
        return;
    }
    int rc = cw_csv_push(csv, line, len);
    if (rc == 1)
        cw_csv_decode(csv, &ev);
    else if (rc < 0)
        cw_csv_reset(csv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    const char *at = (const char *)data, *end = at + size, *line;
    size_t len;
    cw_csv_t *csv, *ref;
    const cw_csv_dialect_t *d = cw_audit_csv_dialect(CW_FUZZ_FORMAT);
    if (cw_csv_create(p, CW_FUZZ_STREAM, &csv) != CW_OK || cw_csv_create(p, CW_FUZZ_STREAM, &ref) != CW_OK)
        fuzz_fail("cw_csv_create");
    if (d && (cw_csv_set_dialect(csv, d) != CW_OK || cw_csv_set_dialect(ref, d) != CW_OK))
        fuzz_fail("cw_csv_set_dialect");
    if (!header(csv, ref, &at, end))
        return 0;
    while (fuzz_line(&at, end, &line, &len))
        record(csv, ref, line, len);
    if (cw_csv_finish(csv) == 1)
        cw_csv_decode(csv, &ev);
    return 0;
}
