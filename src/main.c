/*
 * main.c — `cdrwatch` entry point: global options and dispatch to the subcommands.
 * The only file that calls exit().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include "cw_build.h"
#include "cdrwatch/cli.h"

static const char usage[] =
    "cdrwatch " PACKAGE_VERSION " - catch the theft of call-detail records while it happens\n"
    "\n"
    "Usage:\n"
    "  cdrwatch replay [--config FILE]... [--cdr FILE]... [--audit FILE]... [--out FILE] [--dlq FILE]\n"
    "                  [--audit-format FMT] [--quiet]\n"
    "      Run the detection engine over files (CSV with a header line, or JSON Lines; '-' is\n"
    "      standard input; .gz is read compressed), merged in event-time order. Alerts go to\n"
    "      standard output as JSON Lines, diagnostics to standard error.\n"
    "  cdrwatch run [--config FILE]... [--brokers HOST:PORT,...] [--group ID] [--exit-at-end]\n"
    "      Consume the audit and CDR topics from Kafka, detect, produce alerts to the alerts\n"
    "      topic (at least once), until SIGINT or SIGTERM.\n"
    "  cdrwatch demo [--config FILE] [--cdr FILE]... [--audit FILE]...\n"
    "      The whole Kafka path in this process with librdkafka's mock cluster (no broker):\n"
    "      load the bundled dataset (or the files), run, print the alerts read back.\n"
    "  cdrwatch tune [--config FILE]... [--cdr FILE]... [--audit FILE]... [--audit-format FMT]\n"
    "                [--since TIME] [--until TIME] --write OVERLAY.json [--report REPORT.html]\n"
    "      Replay history, propose thresholds and allow-list entries that keep its alerts quiet,\n"
    "      write them as a configuration layer (with their evidence) and an HTML report.\n"
    "  cdrwatch check-config [--config FILE]... [--origin] [--list-options[=man]]\n"
    "      Validate a configuration and print the effective one (defaults filled in).\n"
    "      --config may be given more than once (replay, run, tune, check-config): the files are\n"
    "      layers, later ones overriding earlier ones (rules matched by id).\n"
    "  cdrwatch score --labels FILE [--alerts FILE|-] [--learning-until TIME] [--grace DURATION]\n"
    "                 [--format text|markdown|json] [--check]\n"
    "      Score alerts against labelled theft scenarios: caught or missed, delay, rules,\n"
    "      alerts per scenario, false positives after the learning period.\n"
    "  cdrwatch --help | --version\n"
    "\n"
    "Each command explains its options with --help, e.g. `cdrwatch replay --help`.\n"
    "\n"
    "Examples:\n"
    "  cdrwatch replay --cdr datasets/small/cdr.csv.gz --audit datasets/small/audit.jsonl.gz\n"
    "  printf '%s\\n' '{\"ts\":\"2026-03-04T02:05:00Z\",\"principal\":\"bob\",\"action\":\"select\"}' \\\n"
    "      | cdrwatch replay --audit -\n"
    "  cdrwatch run --config /etc/cdrwatch/cdrwatch.json --brokers kafka1:9092,kafka2:9092\n"
    "  cdrwatch demo | jq -c '{rule: .rule.id, user: .user.name}'\n"
    "  cdrwatch check-config --config config/cdrwatch.json\n"
    "  cdrwatch replay --cdr datasets/scenarios/cdr.csv.gz --audit datasets/scenarios/audit.jsonl.gz \\\n"
    "      | cdrwatch score --labels datasets/scenarios/labels.csv --learning-until 2026-03-09T00:00:00Z\n"
    "  cdrwatch tune --cdr cdr.csv.gz --audit audit.jsonl.gz --until 2026-03-09T00:00:00Z \\\n"
    "      --write tuned.json --report tune.html\n"
    "\n"
    "Exit status: 0 success, 1 runtime failure, 2 usage or configuration error.\n";

int main(int argc, char **argv)
{
    apr_pool_t *pool;
    int rc;

    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("cdrwatch %s\n", PACKAGE_VERSION);
        return 0;
    }
    if (cw_init() != CW_OK || apr_pool_create(&pool, NULL) != APR_SUCCESS) {
        fputs("cdrwatch: error: cannot initialise APR\n", stderr);
        return 1;
    }
    if (strcmp(argv[1], "replay") == 0)
        rc = cw_cmd_replay(pool, argc - 1, argv + 1);
    else if (strcmp(argv[1], "check-config") == 0)
        rc = cw_cmd_check_config(pool, argc - 1, argv + 1);
    else if (strcmp(argv[1], "run") == 0)
        rc = cw_cmd_run(pool, argc - 1, argv + 1);
    else if (strcmp(argv[1], "score") == 0)
        rc = cw_cmd_score(pool, argc - 1, argv + 1);
    else if (strcmp(argv[1], "tune") == 0)
        rc = cw_cmd_tune(pool, argc - 1, argv + 1);
    else if (strcmp(argv[1], "demo") == 0)
        rc = cw_cmd_demo(pool, argc - 1, argv + 1);
    else {
        fprintf(stderr, "cdrwatch: error: unknown command '%s' (expected replay, run, tune, "
                        "check-config, score or demo; see cdrwatch --help)\n", argv[1]);
        rc = 2;
    }
    apr_pool_destroy(pool);
    cw_terminate();
    exit(rc);
}
