/*
 * cmd_replay.c — `cdrwatch replay`: files in, the same engine as `run`, alerts out.
 *
 * Alerts go to standard output (or --out) as JSON Lines; dead letters to standard error as one
 * line each (or to --dlq as JSON Lines with the original bytes); a progress line on standard
 * error only when it is a terminal; a summary at the end unless --quiet. With --log-format json
 * (log.h) each of these lines on standard error is one JSON object, and there is no progress line.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include "cw_build.h"
#include "cdrwatch/alert.h"
#include "cdrwatch/engine.h"
#include "cdrwatch/log.h"
#include "cdrwatch/replay.h"
#include "cdrwatch/state.h"
#include "cdrwatch/cli.h"

static const char usage[] =
    "Usage: cdrwatch replay [--config FILE]... [--cdr FILE]... [--audit FILE]... [options]\n"
    "\n"
    "Replay files through the detection engine, merged in event-time order, and write the\n"
    "alerts as JSON Lines (one ECS-shaped object per line) to standard output.\n"
    "\n"
    "Inputs (each may be given many times; '-' is standard input; names ending in .gz are\n"
    "read compressed). A file is JSON Lines if it starts with '{', otherwise CSV with a header\n"
    "line naming the columns (any order, case-insensitive, unknown columns ignored):\n"
    "      --cdr FILE           CDRs: start_time, record_type, calling_msisdn, ...\n"
    "      --audit FILE         database audit records: ts, principal, action, ...\n"
    "      --audit-format FMT   layout of the audit files: canonical (the default, the\n"
    "                           fields above), pgaudit (a PostgreSQL log with pgaudit),\n"
    "                           mariadb (server_audit file), mysql-json (MySQL Enterprise or\n"
    "                           Percona JSON audit log), oracle-csv (Oracle UNIFIED_AUDIT_TRAIL\n"
    "                           rows as CSV), mssql-csv (SQL Server sys.fn_get_audit_file rows\n"
    "                           as CSV), oracle-json (UNIFIED_AUDIT_TRAIL rows as JSON),\n"
    "                           oracle-xml (Oracle XML audit files), percona-json and\n"
    "                           percona-xml (Percona's legacy audit_log plugin, JSON and XML,\n"
    "                           OLD or NEW). Applies to every --audit file; to\n"
    "                           mix layouts, give it before each group of --audit files\n"
    "      --pg-log-prefix PREFIX  the server's log_line_prefix, for pgaudit (default\n"
    "                           '" CW_PG_DEFAULT_PREFIX "')\n"
    "      --audit-tz ZONE      the zone of the local times mariadb logs write: UTC, an\n"
    "                           offset such as +03:00, or an IANA name such as Europe/Berlin\n"
    "                           (default: inputs.audit.tz of the configuration, UTC)\n"
    "\n"
    "Outputs:\n"
    "  -o, --out FILE           write alerts to FILE instead of standard output\n"
    "      --dlq FILE           write records that do not decode to FILE as JSON Lines\n"
    "                           {source, stream, reason, error, record} instead of one line\n"
    "                           each on standard error\n"
    "  -q, --quiet              no progress and no summary on standard error\n"
    CW_CLI_LOG_FORMAT_HELP
    "      --state-out FILE     when the replay ends, write the engine's learned state to FILE\n"
    "                           (doc/state.md)\n"
    "      --state-in FILE      start from the state in FILE instead of from nothing; rules\n"
    "                           whose definition changed since start fresh\n"
    "\n"
    "  -c, --config FILE        configuration (default: the built-in config/cdrwatch.json);\n"
    "                           given more than once, later files override earlier ones\n"
    "      --watchlist FILE     watchlisted identifiers, one MSISDN, IMSI or IMEI a line\n"
    "                           (instead of watchlist.file of the configuration)\n"
    "  -h, --help               this text\n"
    "\n"
    "Records that do not decode never stop the replay: each is reported with its file, line\n"
    "and reason, and counted in the summary. Exit status: 0 done (even with dead letters),\n"
    "1 a read or write failure, 2 a usage or configuration error.\n"
    "\n"
    "Examples:\n"
    "  cdrwatch replay --cdr datasets/small/cdr.csv.gz --audit datasets/small/audit.jsonl.gz\n"
    "  zcat audit-*.jsonl.gz | cdrwatch replay --audit - --dlq rejected.jsonl > alerts.jsonl\n"
    "  cdrwatch replay --audit-format pgaudit --pg-log-prefix '%m [%p] %u@%d ' --audit postgresql.log\n"
    "  cdrwatch replay --audit-format mariadb --audit server_audit.log --audit-format mysql-json \\\n"
    "      --audit audit.log\n";

/* What the command line asked for. */
typedef struct {
    apr_array_header_t *configs; /* const char *: --config layers, in order */
    cw_cli_inputs_t in;          /* --cdr, --audit, --audit-format */
    const char *out_path, *dlq_path, *pg_prefix_text, *watchlist;
    const char *state_in, *state_out; /* --state-in, --state-out */
    const char *audit_tz;             /* --audit-tz; NULL: inputs.audit.tz */
    cw_pg_prefix_t *pg_prefix;
    bool quiet;
} replay_opts_t;

typedef struct {
    FILE *out;
    FILE *dlq;       /* NULL: dead letters as lines on stderr */
    cw_observer_t observer;
    char host[256];
    char buf[CW_ALERT_MAX];
    bool write_failed;
} replay_ctx_t;

static cw_time_t wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (cw_time_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void on_alert(void *data, const cw_alert_t *a)
{
    replay_ctx_t *c = data;
    size_t n;
    c->observer.emitted_at = wall_ms();
    n = cw_alert_encode(a, &c->observer, c->buf, sizeof c->buf);
    if (fwrite(c->buf, 1, n, c->out) != n)
        c->write_failed = true;
}

static size_t base64(const unsigned char *in, size_t n, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? tab[v & 63] : '=';
    }
    return o;
}

/* A dead letter on standard error (no --dlq): "cdrwatch: dead letter: POS: WHY", or in JSON a
 * warning with "cdrwatch.dead_letter": {"position", "reason"}. */
static void report_dead_letter(const char *pos, const char *why)
{
    char members[6 * 2048 * 2 + 128], pos_json[6 * 2048 + 8], why_json[6 * 2048 + 8];
    if (cw_log_get_format() == CW_LOG_JSON)
        snprintf(members, sizeof members, "\"cdrwatch.dead_letter\":{\"position\":%s,\"reason\":%s}",
                 cw_log_json_text(pos_json, sizeof pos_json, pos), cw_log_json_text(why_json, sizeof why_json, why));
    cw_log_report(CW_LOG_WARN, cw_log_get_format() == CW_LOG_JSON ? members : NULL, "dead letter: %s: %s", pos, why);
}

/* Write one dead letter (whoever refused the record has counted it). */
static void emit_dead_letter(replay_ctx_t *c, const cw_dead_letter_t *dl)
{
    char pos[512], why[256];
    cw_pos_format(&dl->pos, pos, sizeof pos);
    cw_reason_format(dl->result, why, sizeof why);
    if (!c->dlq) {
        report_dead_letter(pos, why);
        return;
    }
    /* {"source":..., "stream":..., "reason":..., "error":..., "record" or "record_base64":...} */
    {
        static char line[6 * CW_RECORD_MAX + 2048]; /* worst case: every byte escaped as \u00XX */
        size_t len = 0;
        len += (size_t)snprintf(line, sizeof line, "{\"source\":");
        len = cw_json_string(line, len, sizeof line, pos, strlen(pos), 500);
        len += (size_t)snprintf(line + len, sizeof line - len, ",\"stream\":\"%s\",\"reason\":\"%s\",\"error\":",
                                cw_stream_name(dl->stream), cw_reason_name(dl->result.reason));
        len = cw_json_string(line, len, sizeof line, why, strlen(why), 255);
        if (cw_utf8_valid(dl->raw, dl->rawlen)) {
            len += (size_t)snprintf(line + len, sizeof line - len, ",\"record\":");
            len = cw_json_string(line, len, sizeof line, dl->raw, dl->rawlen, CW_RECORD_MAX);
        } else {
            /* JSON strings cannot carry arbitrary bytes: keep them exact in base64 */
            len += (size_t)snprintf(line + len, sizeof line - len, ",\"record_base64\":\"");
            len += base64((const unsigned char *)dl->raw, dl->rawlen, line + len);
            line[len++] = '"';
        }
        len += (size_t)snprintf(line + len, sizeof line - len, "}\n");
        if (fwrite(line, 1, len, c->dlq) != len)
            c->write_failed = true;
    }
}

/* The reader counts the records it refuses (cw_replay_add_counts); this only writes them. */
static void on_dead_letter(void *data, const cw_dead_letter_t *dl)
{
    emit_dead_letter(data, dl);
}

/* The engine's counters plus the reader's (dead letters before the engine, skipped lines). */
static cw_metrics_t replay_metrics(cw_engine_t *engine, const cw_replay_t *replay)
{
    cw_metrics_t m = *cw_engine_metrics(engine);
    cw_replay_add_counts(replay, &m);
    return m;
}

static void progress(const cw_metrics_t *m, cw_time_t clock, bool final)
{
    char t[32];
    if (final) {
        fputs("\r\033[K", stderr);
        return;
    }
    fprintf(stderr, "\r\033[Kcdrwatch: %llu records, %llu alerts, %llu dead letters, event time %s",
            (unsigned long long)(m->records[0] + m->records[1]), (unsigned long long)m->alerts,
            (unsigned long long)cw_metrics_dead_total(m),
            clock == INT64_MIN ? "-" : cw_time_format(clock, t));
}

/* ---- step 1: options ---- */

/* Read argv into o; -1 to go on, or the exit status (--help, a usage error). */
static int read_options(apr_pool_t *pool, int argc, char **argv, replay_opts_t *o)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"cdr", required_argument, NULL, 'C'},
                                         {"audit", required_argument, NULL, 'A'},
                                         {"audit-format", required_argument, NULL, 'F'},
                                         {"pg-log-prefix", required_argument, NULL, 'P'},
                                         {"audit-tz", required_argument, NULL, 'Z'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"dlq", required_argument, NULL, 'D'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"log-format", required_argument, NULL, 'L'},
                                         {"watchlist", required_argument, NULL, 'W'},
                                         {"state-in", required_argument, NULL, 'I'},
                                         {"state-out", required_argument, NULL, 'S'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    o->configs = apr_array_make(pool, 2, sizeof(const char *));
    cw_cli_inputs_init(pool, &o->in);
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":c:o:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'c': *(const char **)apr_array_push(o->configs) = optarg; break;
        case 'C': cw_cli_add_input(&o->in, CW_STREAM_CDR, optarg); break;
        case 'A': cw_cli_add_input(&o->in, CW_STREAM_AUDIT, optarg); break;
        case 'F':
            if (cw_cli_set_audit_format(&o->in, "replay", optarg) != CW_EXIT_OK)
                return CW_EXIT_USAGE;
            break;
        case 'P': o->pg_prefix_text = optarg; break;
        case 'Z': o->audit_tz = optarg; break;
        case 'o': o->out_path = optarg; break;
        case 'D': o->dlq_path = optarg; break;
        case 'q': o->quiet = true; break;
        case 'L':
            if (cw_cli_set_log_format("replay", optarg) != CW_EXIT_OK)
                return CW_EXIT_USAGE;
            break;
        case 'W': o->watchlist = optarg; break;
        case 'I': o->state_in = optarg; break;
        case 'S': o->state_out = optarg; break;
        case 'h': fputs(usage, stdout); return CW_EXIT_OK;
        default: return cw_cli_option_error("replay", c, argv[optind - 1], " (see cdrwatch replay --help)\n");
        }
    }
    if (optind < argc) {
        fprintf(stderr, "cdrwatch replay: unexpected argument '%s': inputs are given with --cdr FILE "
                        "or --audit FILE\n", argv[optind]);
        return CW_EXIT_USAGE;
    }
    return -1;
}

/* Cross-option checks, the pgaudit prefix compiled; -1 to go on, or CW_EXIT_USAGE. */
static int check_options(apr_pool_t *pool, replay_opts_t *o)
{
    bool any_pgaudit = false;
    char err[1024];
    for (int i = 0; i < o->in.inputs->nelts; i++)
        any_pgaudit |= APR_ARRAY_IDX(o->in.inputs, i, cw_replay_input_t).format == CW_AUDIT_PGAUDIT;
    if (o->pg_prefix_text) {
        if (!any_pgaudit) {
            fputs("cdrwatch replay: --pg-log-prefix goes with --audit-format pgaudit (no --audit file is "
                  "read as pgaudit)\n", stderr);
            return CW_EXIT_USAGE;
        }
        if (cw_pg_prefix_compile(pool, o->pg_prefix_text, &o->pg_prefix, err, sizeof err) != CW_OK) {
            fprintf(stderr, "cdrwatch replay: %s\n", err);
            return CW_EXIT_USAGE;
        }
    }
    if (o->in.inputs->nelts == 0) {
        fprintf(stderr, "cdrwatch replay: no input: give --cdr FILE and/or --audit FILE "
                        "(see cdrwatch replay --help)\n");
        return CW_EXIT_USAGE;
    }
    return -1;
}

/* ---- step 2: outputs and inputs ---- */

static int open_outputs(const replay_opts_t *o, replay_ctx_t *ctx)
{
    ctx->out = stdout;
    if (o->out_path && !(ctx->out = cw_file_fcreate(o->out_path, CW_MODE_SHARED))) {
        cw_log(CW_LOG_ERROR, "%s: cannot create: %s", o->out_path, strerror(errno));
        return CW_EXIT_USAGE;
    }
    if (o->dlq_path && !(ctx->dlq = cw_file_fcreate(o->dlq_path, CW_MODE_PRIVATE))) {
        cw_log(CW_LOG_ERROR, "%s: cannot create: %s", o->dlq_path, strerror(errno));
        if (o->out_path)
            fclose(ctx->out);
        return CW_EXIT_USAGE;
    }
    gethostname(ctx->host, sizeof ctx->host - 1);
    ctx->observer.host = ctx->host;
    ctx->observer.version = PACKAGE_VERSION;
    return -1;
}

/* The zone of the inputs' local times: --audit-tz, else inputs.audit.tz (resolved at load). */
static cw_status_t set_audit_tz(apr_pool_t *pool, const replay_opts_t *o, const cw_config_t *cfg, char *err,
                                size_t errlen)
{
    const cw_tz_t *tz = cfg->input[CW_STREAM_AUDIT].tz_zone;
    cw_tz_t *given;
    char why[512];
    if (o->audit_tz) {
        if (cw_tz_load(pool, o->audit_tz, &given, why, sizeof why) != CW_OK) {
            snprintf(err, errlen, "--audit-tz: %s", why);
            return CW_ERR_USAGE;
        }
        tz = given;
    }
    for (int i = 0; i < o->in.inputs->nelts; i++)
        APR_ARRAY_IDX(o->in.inputs, i, cw_replay_input_t).tz = tz;
    return CW_OK;
}

/* The engine and the reader; input i is registered i-th, so ev->source_index is its engine
 * source id. */
static cw_status_t open_inputs(apr_pool_t *pool, const replay_opts_t *o, const cw_config_t *cfg,
                               replay_ctx_t *ctx, cw_engine_t **engine, cw_replay_t **replay, char *err,
                               size_t errlen)
{
    cw_status_t st;
    if ((st = set_audit_tz(pool, o, cfg, err, errlen)) != CW_OK ||
        (st = cw_engine_create(pool, cfg, on_alert, ctx, engine, err, errlen)) != CW_OK ||
        (st = cw_replay_open(pool, (const cw_replay_input_t *)o->in.inputs->elts, o->in.inputs->nelts, o->pg_prefix,
                             on_dead_letter, ctx, replay, err, errlen)) != CW_OK)
        return st;
    for (int i = 0; i < o->in.inputs->nelts; i++) {
        const char *p = APR_ARRAY_IDX(o->in.inputs, i, cw_replay_input_t).path;
        cw_engine_source_id(*engine, strcmp(p, "-") == 0 ? "(stdin)" : p, -1);
    }
    if (o->state_in) /* after the sources: the state's positions are matched to them by name */
        return cw_state_load_file(*engine, o->state_in, err, errlen);
    return CW_OK;
}

/* ---- step 3: run ---- */

/* Every record through the engine; CW_ERR_EOF at the end of the inputs. */
static cw_status_t run(replay_ctx_t *ctx, cw_replay_t *replay, cw_engine_t *engine, bool tty, char *err,
                       size_t errlen)
{
    const cw_event_t *ev;
    cw_time_t last_progress = wall_ms();
    uint64_t n = 0;
    cw_status_t st;
    while ((st = cw_replay_next(replay, &ev, err, errlen)) == CW_OK) {
        if (cw_engine_process(engine, ev) == CW_DEC_LATE) {
            /* counted by the engine */
            cw_dead_letter_t dl = {ev->stream, ev->pos, {CW_DEC_LATE, CW_F_NONE}, "", 0};
            cw_replay_raw(replay, &dl.raw, &dl.rawlen);
            emit_dead_letter(ctx, &dl);
        }
        if (tty && (++n & 0xffff) == 0) {
            cw_time_t now = wall_ms();
            if (now - last_progress >= 500) {
                cw_metrics_t m = replay_metrics(engine, replay);
                progress(&m, cw_engine_clock(engine), false);
                last_progress = now;
            }
        }
        if (ctx->write_failed)
            break;
    }
    if (tty)
        progress(NULL, 0, true);
    return st;
}

/* ---- step 4: report ---- */

static void report(cw_engine_t *engine, const cw_replay_t *replay, cw_time_t started)
{
    cw_metrics_t m = replay_metrics(engine, replay);
    double secs = (double)(wall_ms() - started) / 1000.0;
    uint64_t total = m.records[0] + m.records[1];
    struct rusage ru;
    double rate = secs > 0 ? total / secs : 0.0, state_mib = (double)cw_engine_memory(engine) / 1048576.0,
           ref_mib = (double)cw_reference_memory(cw_engine_reference(engine)) / 1048576.0, rss_mib;
    getrusage(RUSAGE_SELF, &ru);
    rss_mib = (double)ru.ru_maxrss / 1024.0;
    if (cw_log_get_format() == CW_LOG_JSON) { /* one object: {"cdrwatch.replay": {...}} */
        char counters[4096], members[4608];
        cw_metrics_json(&m, counters, sizeof counters);
        snprintf(members, sizeof members,
                 "\"cdrwatch.replay\":{\"seconds\":%.3f,\"records_per_second\":%.0f,\"counters\":%s,"
                 "\"state_keys\":%zu,\"state_mib\":%.1f,\"reference_mib\":%.1f,\"peak_rss_mib\":%.1f}",
                 secs, rate, counters[0] ? counters : "{}", cw_engine_keys(engine), state_mib, ref_mib, rss_mib);
        cw_log_report(CW_LOG_INFO, members, "replay done in %.2f s", secs);
        return;
    }
    fprintf(stderr, "cdrwatch: replay done in %.2f s (%.0f records/s); ", secs, rate);
    cw_metrics_print(&m, stderr);
    fprintf(stderr, "cdrwatch: state: %zu keys in %.1f MiB; CDR reference %.1f MiB; peak RSS %.1f MiB\n",
            cw_engine_keys(engine), state_mib, ref_mib, rss_mib);
}

/* Flush and close the outputs; a failed write anywhere makes the exit status 1. */
static int close_outputs(const replay_opts_t *o, replay_ctx_t *ctx, int rc)
{
    if (fflush(ctx->out) != 0 || ferror(ctx->out))
        ctx->write_failed = true;
    if (o->out_path && fclose(ctx->out) != 0)
        ctx->write_failed = true;
    if (ctx->dlq && fclose(ctx->dlq) != 0)
        ctx->write_failed = true;
    if (ctx->write_failed) {
        cw_log(CW_LOG_ERROR, "writing output failed: %s", strerror(errno));
        return CW_EXIT_FAILURE;
    }
    return rc;
}

int cw_cmd_replay(apr_pool_t *pool, int argc, char **argv)
{
    replay_opts_t *o = apr_pcalloc(pool, sizeof *o);
    replay_ctx_t *ctx = apr_pcalloc(pool, sizeof *ctx);
    cw_time_t started = wall_ms();
    cw_config_t *cfg;
    cw_engine_t *engine;
    cw_replay_t *replay;
    cw_status_t st;
    char err[1024];
    int rc;

    if ((rc = read_options(pool, argc, argv, o)) >= 0 || (rc = check_options(pool, o)) >= 0)
        return rc;
    if ((rc = cw_cli_load_config(pool, o->configs, &cfg)) != CW_EXIT_OK)
        return rc;
    if (o->watchlist)
        cfg->watchlist_file = o->watchlist;
    if ((rc = open_outputs(o, ctx)) >= 0)
        return rc;
    ctx->observer.format = cfg->alert_format;
    if ((st = open_inputs(pool, o, cfg, ctx, &engine, &replay, err, sizeof err)) != CW_OK)
        return close_outputs(o, ctx, cw_cli_error(st, err));
    st = run(ctx, replay, engine, !o->quiet && isatty(STDERR_FILENO) && cw_log_get_format() == CW_LOG_TEXT, err,
             sizeof err);
    rc = CW_EXIT_OK;
    if (st != CW_OK && st != CW_ERR_EOF)
        rc = cw_cli_error(CW_ERR_IO, err);
    if (rc == CW_EXIT_OK && o->state_out && (st = cw_state_write_file(engine, o->state_out, err, sizeof err)) != CW_OK)
        rc = cw_cli_error(CW_ERR_IO, err);
    if (!o->quiet)
        report(engine, replay, started);
    return close_outputs(o, ctx, rc);
}
