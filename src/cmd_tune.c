/*
 * cmd_tune.c — `cdrwatch tune`: replay history, propose thresholds and allow-list entries, write
 * them as a configuration layer, and a report.
 *
 * Two replays of the same inputs over the same event-time bounds: the first with the given
 * configuration, observing every threshold rule's metric per key (cw_engine_set_observer) and
 * every alert; then the proposals (tune.c) are written to --write; the second replay runs with
 * the configuration plus that layer, loaded as `replay --config ... --config OVERLAY` would load
 * it, and counts the alerts left — the "after" column of the report is measured, not estimated.
 * The inputs are read twice, so standard input ('-') is refused.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include "cdrwatch/cli.h"
#include "cdrwatch/engine.h"
#include "cdrwatch/replay.h"
#include "cdrwatch/tune.h"

static const char usage[] =
    "Usage: cdrwatch tune [--config FILE]... [--cdr FILE]... [--audit FILE]... --write OVERLAY.json\n"
    "                     [--report REPORT.html] [options]\n"
    "\n"
    "Replay history (no labels: it is assumed mostly benign) and, for every rule, find which\n"
    "keys would have alerted, how often, and how far their metric went; propose a threshold or\n"
    "allow-list entries that would have kept those alerts quiet, with the margin they leave;\n"
    "write the proposals as a configuration layer (each with its evidence in \"comment\"), then\n"
    "replay again with that layer and report the alerts before and after.\n"
    "\n"
    "Inputs, as for replay (each may be given many times; .gz is read compressed; not '-': the\n"
    "inputs are read twice):\n"
    "      --cdr FILE           CDRs\n"
    "      --audit FILE         database audit records\n"
    "      --audit-format FMT   canonical (default), pgaudit, mariadb, mysql-json, oracle-csv,\n"
    "                           mssql-csv, oracle-json, oracle-xml, percona-json or\n"
    "                           percona-xml\n"
    "      --since TIME         learn only from records at or after TIME (ISO-8601 or epoch ms)\n"
    "      --until TIME         ... and before TIME\n"
    "\n"
    "Outputs:\n"
    "  -w, --write FILE         the configuration layer (required); use it as the last --config\n"
    "  -r, --report FILE        one self-contained HTML page: per rule, the top keys' metric over\n"
    "                           time against the threshold, alerts before and after, proposals\n"
    "      --margin X           proposed threshold = X times the highest value it must clear,\n"
    "                           rounded up to two significant digits (default 1.25, > 1)\n"
    "  -q, --quiet              no progress and no summary on standard error\n"
    "\n"
    "  -c, --config FILE        configuration layers, as for replay (default: the built-in one)\n"
    "      --watchlist FILE     watchlisted identifiers (instead of watchlist.file)\n"
    "  -h, --help               this text\n"
    "\n"
    "A threshold rises to the margin above the highest value of the keys that alerted, unless\n"
    "that is more than 1.5 times the current threshold: then the few keys (at most 3) that alone\n"
    "force it get an allow-list entry (their principal, with the client hosts and programs they\n"
    "used) and the threshold rises only for the rest. Other rules (first seen, sequence, silence)\n"
    "get allow-list entries for the keys that alerted. Review the layer before using it: tune\n"
    "takes every alert of the history for a false positive. doc/tune.md explains the report.\n"
    "\n"
    "Exit status: 0 done, 1 a read or write failure, 2 a usage or configuration error.\n"
    "\n"
    "Examples:\n"
    "  cdrwatch tune --cdr cdr.csv.gz --audit audit.jsonl.gz --until 2026-03-09T00:00:00Z \\\n"
    "      --write tuned.json --report tune.html\n"
    "  cdrwatch replay --config config/cdrwatch.json --config tuned.json --cdr cdr.csv.gz \\\n"
    "      --audit audit.jsonl.gz\n"
    "  cdrwatch tune --config site.json --audit-format pgaudit --audit postgresql.log \\\n"
    "      --since 2026-03-01T00:00:00Z --write tuned.json\n";

typedef struct {
    apr_array_header_t *configs; /* const char *: --config layers */
    cw_cli_inputs_t in;
    const char *write_path, *report_path, *watchlist;
    cw_time_t since, until;
    double margin;
    bool quiet;
} tune_opts_t;

static cw_time_t wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (cw_time_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static int bad_time(const char *opt, const char *v)
{
    fprintf(stderr, "cdrwatch tune: %s: expected a time like 2026-03-09T00:00:00Z or epoch milliseconds, got '%s'\n",
            opt, v);
    return CW_EXIT_USAGE;
}

/* Read argv into o; -1 to go on, or the exit status. */
static int read_options(apr_pool_t *pool, int argc, char **argv, tune_opts_t *o)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"cdr", required_argument, NULL, 'C'},
                                         {"audit", required_argument, NULL, 'A'},
                                         {"audit-format", required_argument, NULL, 'F'},
                                         {"since", required_argument, NULL, 'S'},
                                         {"until", required_argument, NULL, 'U'},
                                         {"write", required_argument, NULL, 'w'},
                                         {"report", required_argument, NULL, 'r'},
                                         {"margin", required_argument, NULL, 'M'},
                                         {"watchlist", required_argument, NULL, 'W'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    char *end;
    o->configs = apr_array_make(pool, 2, sizeof(const char *));
    cw_cli_inputs_init(pool, &o->in);
    o->since = INT64_MIN;
    o->until = INT64_MAX;
    o->margin = CW_TUNE_DEFAULT_MARGIN;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":c:w:r:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'c': *(const char **)apr_array_push(o->configs) = optarg; break;
        case 'C': cw_cli_add_input(&o->in, CW_STREAM_CDR, optarg); break;
        case 'A': cw_cli_add_input(&o->in, CW_STREAM_AUDIT, optarg); break;
        case 'F':
            if (cw_cli_set_audit_format(&o->in, "tune", optarg) != CW_EXIT_OK)
                return CW_EXIT_USAGE;
            break;
        case 'S':
            if (!cw_time_parse(optarg, strlen(optarg), &o->since))
                return bad_time("--since", optarg);
            break;
        case 'U':
            if (!cw_time_parse(optarg, strlen(optarg), &o->until))
                return bad_time("--until", optarg);
            break;
        case 'w': o->write_path = optarg; break;
        case 'r': o->report_path = optarg; break;
        case 'M':
            o->margin = strtod(optarg, &end);
            if (*end || !(o->margin > 1.0 && o->margin <= 100.0)) {
                fprintf(stderr, "cdrwatch tune: --margin: expected a number above 1 and at most 100, got '%s'\n",
                        optarg);
                return CW_EXIT_USAGE;
            }
            break;
        case 'W': o->watchlist = optarg; break;
        case 'q': o->quiet = true; break;
        case 'h': fputs(usage, stdout); return CW_EXIT_OK;
        default: return cw_cli_option_error("tune", c, argv[optind - 1], " (see cdrwatch tune --help)\n");
        }
    }
    if (optind < argc) {
        fprintf(stderr, "cdrwatch tune: unexpected argument '%s': inputs are given with --cdr FILE or --audit FILE\n",
                argv[optind]);
        return CW_EXIT_USAGE;
    }
    return -1;
}

static int check_options(const tune_opts_t *o)
{
    if (o->in.inputs->nelts == 0) {
        fputs("cdrwatch tune: no input: give --cdr FILE and/or --audit FILE (see cdrwatch tune --help)\n", stderr);
        return CW_EXIT_USAGE;
    }
    for (int i = 0; i < o->in.inputs->nelts; i++)
        if (strcmp(APR_ARRAY_IDX(o->in.inputs, i, cw_replay_input_t).path, "-") == 0) {
            fputs("cdrwatch tune: '-' (standard input) cannot be read twice: tune replays its inputs a second "
                  "time with the proposals; give files\n", stderr);
            return CW_EXIT_USAGE;
        }
    if (!o->write_path) {
        fputs("cdrwatch tune: --write OVERLAY.json is required: it receives the proposals (see cdrwatch tune "
              "--help)\n", stderr);
        return CW_EXIT_USAGE;
    }
    if (o->since >= o->until) {
        fputs("cdrwatch tune: --since must come before --until\n", stderr);
        return CW_EXIT_USAGE;
    }
    return -1;
}

/* ---- one replay ---- */

typedef struct {
    cw_tune_t *tune;
    uint64_t dead; /* dead letters (not written: replay shows them) */
} pass_ctx_t;

static void on_alert(void *data, const cw_alert_t *a)
{
    cw_tune_alert(((pass_ctx_t *)data)->tune, a);
}

static void on_dead_letter(void *data, const cw_dead_letter_t *dl)
{
    (void)dl;
    ((pass_ctx_t *)data)->dead++;
}

static void progress(const char *what, uint64_t n, cw_time_t clock, bool final)
{
    char t[32];
    if (final) {
        fputs("\r\033[K", stderr);
        return;
    }
    fprintf(stderr, "\r\033[Kcdrwatch tune: %s: %llu records, event time %s", what, (unsigned long long)n,
            clock == INT64_MIN ? "-" : cw_time_format(clock, t));
}

/* Replay the inputs within [since, until) through an engine of cfg; observe: pass 1. */
static cw_status_t replay_pass(apr_pool_t *parent, const tune_opts_t *o, const cw_config_t *cfg, cw_tune_t *tune,
                               bool observe, const char *what, char *err, size_t errlen)
{
    apr_pool_t *pool;
    pass_ctx_t ctx = {tune, 0};
    cw_engine_t *engine;
    cw_replay_t *replay;
    const cw_event_t *ev;
    cw_status_t st;
    bool tty = !o->quiet && isatty(STDERR_FILENO);
    cw_time_t last = wall_ms();
    uint64_t n = 0;
    apr_pool_create(&pool, parent);
    for (int i = 0; i < o->in.inputs->nelts; i++) /* mariadb's local times: inputs.audit.tz */
        APR_ARRAY_IDX(o->in.inputs, i, cw_replay_input_t).tz = cfg->input[CW_STREAM_AUDIT].tz_zone;
    if ((st = cw_engine_create(pool, cfg, on_alert, &ctx, &engine, err, errlen)) != CW_OK ||
        (st = cw_replay_open(pool, (const cw_replay_input_t *)o->in.inputs->elts, o->in.inputs->nelts, NULL,
                             on_dead_letter, &ctx, &replay, err, errlen)) != CW_OK) {
        apr_pool_destroy(pool);
        return st;
    }
    for (int i = 0; i < o->in.inputs->nelts; i++)
        cw_engine_source_id(engine, APR_ARRAY_IDX(o->in.inputs, i, cw_replay_input_t).path, -1);
    if (observe)
        cw_engine_set_observer(engine, cw_tune_observe, tune);
    while ((st = cw_replay_next(replay, &ev, err, errlen)) == CW_OK) {
        if (ev->ts < o->since)
            continue;
        if (ev->ts >= o->until)
            break; /* merged in event-time order: nothing after is inside */
        if (cw_engine_process(engine, ev) == CW_DEC_OK && observe)
            cw_tune_record(tune, ev->ts);
        if (tty && (++n & 0xffff) == 0 && wall_ms() - last >= 500) {
            progress(what, n, cw_engine_clock(engine), false);
            last = wall_ms();
        }
    }
    if (tty)
        progress(what, 0, 0, true);
    if (!o->quiet && ctx.dead)
        fprintf(stderr, "cdrwatch tune: %s: %llu records did not decode (cdrwatch replay lists them)\n", what,
                (unsigned long long)ctx.dead);
    apr_pool_destroy(pool);
    return st == CW_ERR_EOF || st == CW_OK ? CW_OK : st;
}

/* ---- the summary on standard error ---- */

static void summary(const cw_tune_t *t, const char *overlay, const char *report)
{
    int changed = 0;
    uint64_t before = 0, after = 0;
    for (int i = 0; i < t->n_rules; i++) {
        const cw_tune_rule_t *tr = &t->rules[i];
        before += tr->alerts_before;
        after += tr->alerts_after;
        if (!tr->alerts_before)
            continue;
        changed += tr->threshold_changed || tr->n_allow;
        fprintf(stderr, "cdrwatch tune: %-28s %5llu alerts -> %llu", tr->rule->id,
                (unsigned long long)tr->alerts_before, (unsigned long long)tr->alerts_after);
        for (int w = 0; tr->threshold_changed && w < tr->rule->n_windows; w++)
            if (tr->proposed[w] != tr->rule->windows[w].threshold)
                fprintf(stderr, "; threshold %lld -> %lld", (long long)tr->rule->windows[w].threshold,
                        (long long)tr->proposed[w]);
        if (tr->n_allow)
            fprintf(stderr, "; %d allow-list entr%s", tr->n_allow, tr->n_allow == 1 ? "y" : "ies");
        fputc('\n', stderr);
    }
    fprintf(stderr, "cdrwatch tune: %llu records; %llu alerts before, %llu after; %d rule%s changed in %s%s%s\n",
            (unsigned long long)t->records, (unsigned long long)before, (unsigned long long)after, changed,
            changed == 1 ? "" : "s", overlay, report ? "; report in " : "", report ? report : "");
}

int cw_cmd_tune(apr_pool_t *pool, int argc, char **argv)
{
    tune_opts_t *o = apr_pcalloc(pool, sizeof *o);
    cw_config_t *cfg, *tuned;
    cw_tune_t *tune;
    cw_status_t st;
    char err[1024];
    int rc;

    if ((rc = read_options(pool, argc, argv, o)) >= 0 || (rc = check_options(o)) >= 0)
        return rc;
    if ((rc = cw_cli_load_config(pool, o->configs, &cfg)) != CW_EXIT_OK)
        return rc;
    if (o->watchlist)
        cfg->watchlist_file = o->watchlist;
    tune = cw_tune_create(pool, cfg, o->margin);
    if ((st = replay_pass(pool, o, cfg, tune, true, "learning", err, sizeof err)) != CW_OK)
        return cw_cli_error(st, err);
    cw_tune_propose(tune);
    if ((st = cw_tune_write_overlay(tune, o->write_path, err, sizeof err)) != CW_OK)
        return cw_cli_error(st, err);
    /* the layers again, the overlay last, as replay --config ... --config OVERLAY loads them;
     * without --config the built-in configuration (a NULL layer) is the base */
    if (o->configs->nelts == 0)
        *(const char **)apr_array_push(o->configs) = NULL;
    *(const char **)apr_array_push(o->configs) = o->write_path;
    if ((st = cw_config_load_layers(pool, (const char *const *)o->configs->elts, o->configs->nelts, &tuned, err,
                                    sizeof err)) != CW_OK) {
        fprintf(stderr, "cdrwatch: error: the layer tune wrote is refused (a bug): %s\n", err);
        return CW_EXIT_FAILURE;
    }
    if (o->watchlist)
        tuned->watchlist_file = o->watchlist;
    tune->after = true;
    if ((st = replay_pass(pool, o, tuned, tune, false, "measuring the proposals", err, sizeof err)) != CW_OK)
        return cw_cli_error(st, err);
    if (o->report_path && (st = cw_tune_write_report(tune, o->report_path, err, sizeof err)) != CW_OK)
        return cw_cli_error(st, err);
    if (!o->quiet)
        summary(tune, o->write_path, o->report_path);
    return CW_EXIT_OK;
}
