/*
 * fuzz_replay.c — the whole replay path: the input written to a temporary file, read by
 * cw_replay_open / cw_replay_next as `cdrwatch replay` reads it (format sniffing, framing,
 * gzip, decoding, dead letters) and fed to an engine of the default configuration, alerts and
 * all. The first byte picks the input: its low three bits the kind (0 CDRs, 1 canonical audit,
 * 2 pgaudit, 3 mariadb, 4 mysql-json, 5 oracle-csv, 6 mssql-csv, 7 canonical audit again), bit 3
 * a ".gz" name (read compressed).
 *
 * No property beyond ASan and UBSan, and that the reader ends only at
 * the end of the input, on a read error or on a usage error (a file that is not what it names).
 */
#include "cdrwatch/config.h"
#include "cdrwatch/engine.h"
#include "cdrwatch/replay.h"
#include "fuzz.h"

static const cw_config_t *cfg;
static uint64_t alerts, dead_letters;

static void sink(void *ctx, const cw_alert_t *alert)
{
    (void)ctx;
    (void)alert;
    alerts++;
}

static void dlq(void *ctx, const cw_dead_letter_t *dl)
{
    (void)ctx;
    (void)dl;
    dead_letters++;
}

/* The input the first byte names (the formats in cw_audit_format_t's order; with bit 4 set,
 * 1 to 4 are the formats after mssql-csv: oracle-json, oracle-xml, percona-json, percona-xml). */
static cw_replay_input_t input(uint8_t kind, const char *path)
{
    cw_replay_input_t in = {path, CW_STREAM_AUDIT, CW_AUDIT_CANONICAL, NULL};
    unsigned k = kind & 7;
    if (k == 0)
        in.stream = CW_STREAM_CDR;
    else if ((kind & 0x10) && k <= 4)
        in.format = (cw_audit_format_t)(CW_AUDIT_MSSQL_CSV + k);
    else if (k >= 2 && k <= 6)
        in.format = (cw_audit_format_t)(k - 1);
    return in;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    char err[1024];
    cw_engine_t *e;
    cw_replay_t *r;
    const cw_event_t *ev;
    cw_status_t st;
    if (!cfg)
        cfg = fuzz_small_config();
    if (size < 1)
        return 0;
    cw_replay_input_t in = input(data[0], fuzz_file(data + 1, size - 1, data[0] & 8 ? ".gz" : ".log"));
    if (cw_engine_create(p, cfg, sink, NULL, &e, err, sizeof err) != CW_OK)
        fuzz_fail(err);
    if (cw_replay_open(p, &in, 1, NULL, dlq, NULL, &r, err, sizeof err) != CW_OK)
        return 0; /* a usage error (a CSV header without a required column) */
    cw_engine_source_id(e, in.path, -1);
    while ((st = cw_replay_next(r, &ev, err, sizeof err)) == CW_OK)
        if (cw_engine_process(e, ev) == CW_DEC_LATE)
            dead_letters++;
    if (st != CW_ERR_EOF && st != CW_ERR_IO && st != CW_ERR_USAGE)
        fuzz_fail("cw_replay_next ended with neither the end, a read error nor a usage error");
    return 0;
}
