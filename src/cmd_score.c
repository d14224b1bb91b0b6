/*
 * cmd_score.c — `cdrwatch score`: how well alerts catch labelled theft scenarios.
 *
 * Reads labels.csv and the alerts `cdrwatch replay` wrote, and prints per scenario whether it
 * was caught, how soon, by which rules and with how many alerts, then the false positives and
 * the totals (score.h defines each). Exit status: 0 done (with --check: everything caught and
 * no false positive), 1 with --check when a scenario is missed or a false positive exists,
 * 2 a usage error or bad input (the message names the file and line).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "cdrwatch/event.h"
#include "cdrwatch/score.h"
#include "cdrwatch/cli.h"

static const char usage[] =
    "Usage: cdrwatch score --labels FILE [--alerts FILE|-] [--learning-until TIME]\n"
    "                      [--grace DURATION] [--format text|markdown|json] [--check]\n"
    "\n"
    "Score alerts against labelled theft scenarios: for each scenario, caught or missed, the\n"
    "delay from its start to the first alert on its principal, the rules that caught it and\n"
    "how many alerts it raised (storms); then the false positives (alerts on no scenario,\n"
    "after the learning period) and the totals.\n"
    "\n"
    "  -l, --labels FILE          labels.csv: scenario,principal,start,end[,...] with a header;\n"
    "                             principal * matches an alert whatever its user.name; rows\n"
    "                             with the same scenario name are one scenario\n"
    "  -a, --alerts FILE          alerts as JSON Lines, as cdrwatch replay writes them\n"
    "                             ('-', the default: standard input)\n"
    "      --learning-until TIME  alerts before TIME that match no scenario are the learning\n"
    "                             period's, not false positives (ISO-8601, e.g.\n"
    "                             2026-03-09T00:00:00Z; default: no learning period)\n"
    "      --grace DURATION       an alert still counts for a scenario this long after its end\n"
    "                             (default 1h; 0s for none)\n"
    "  -f, --format FMT           text (the default, an aligned table), markdown or json\n"
    "      --check                exit 1 if a scenario is missed or a false positive exists\n"
    "  -h, --help                 this text\n"
    "\n"
    "An alert matches a label row when its user.name is the row's principal and its\n"
    "@timestamp lies in [start, end + grace]. Exit status: 0 done, 1 --check failed, 2 a\n"
    "usage error or bad input (the message names the file and line).\n"
    "\n"
    "Examples:\n"
    "  cdrwatch replay --cdr datasets/scenarios/cdr.csv.gz --audit datasets/scenarios/audit.jsonl.gz \\\n"
    "      | cdrwatch score --labels datasets/scenarios/labels.csv --learning-until 2026-03-09T00:00:00Z\n"
    "  cdrwatch score --labels labels.csv --alerts alerts.jsonl --format markdown --check\n";

int cw_cmd_score(apr_pool_t *pool, int argc, char **argv)
{
    static const struct option opts[] = {{"labels", required_argument, NULL, 'l'},
                                         {"alerts", required_argument, NULL, 'a'},
                                         {"learning-until", required_argument, NULL, 'L'},
                                         {"grace", required_argument, NULL, 'G'},
                                         {"format", required_argument, NULL, 'f'},
                                         {"check", no_argument, NULL, 'k'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *labels = NULL, *alerts = "-";
    cw_time_t learning_until = CW_SCORE_NEVER, grace = CW_SCORE_GRACE;
    cw_score_format_t format = CW_SCORE_TEXT;
    bool check = false;
    cw_score_t *score;
    cw_score_result_t result;
    char err[1024] = "cannot start scoring";
    int c;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":l:a:f:h", opts, NULL)) != -1) {
        switch (c) {
        case 'l': labels = optarg; break;
        case 'a': alerts = optarg; break;
        case 'L':
            if (!cw_time_parse(optarg, strlen(optarg), &learning_until)) {
                fprintf(stderr, "cdrwatch score: --learning-until: expected an ISO-8601 time with an "
                                "offset (2026-03-09T00:00:00Z) or epoch milliseconds, got '%s'\n", optarg);
                return CW_EXIT_USAGE;
            }
            break;
        case 'G':
            if (!cw_duration_parse(optarg, &grace)) {
                fprintf(stderr, "cdrwatch score: --grace: expected a duration like 30m or 1h, got '%s'\n",
                        optarg);
                return CW_EXIT_USAGE;
            }
            break;
        case 'f':
            if (strcmp(optarg, "text") == 0)
                format = CW_SCORE_TEXT;
            else if (strcmp(optarg, "markdown") == 0)
                format = CW_SCORE_MARKDOWN;
            else if (strcmp(optarg, "json") == 0)
                format = CW_SCORE_JSON;
            else {
                fprintf(stderr, "cdrwatch score: --format: expected text, markdown or json, got '%s'\n",
                        optarg);
                return CW_EXIT_USAGE;
            }
            break;
        case 'k': check = true; break;
        case 'h': fputs(usage, stdout); return CW_EXIT_OK;
        default: return cw_cli_option_error("score", c, argv[optind - 1], " (see cdrwatch score --help)\n");
        }
    }
    if (optind < argc) {
        fprintf(stderr, "cdrwatch score: unexpected argument '%s' (see cdrwatch score --help)\n",
                argv[optind]);
        return CW_EXIT_USAGE;
    }
    if (!labels) {
        fputs("cdrwatch score: --labels FILE is required (see cdrwatch score --help)\n", stderr);
        return CW_EXIT_USAGE;
    }
    if (cw_score_create(pool, grace, learning_until, &score) != CW_OK ||
        cw_score_read_labels(score, labels, err, sizeof err) != CW_OK ||
        cw_score_read_alerts(score, alerts, err, sizeof err) != CW_OK) {
        fprintf(stderr, "cdrwatch score: error: %s\n", err);
        return CW_EXIT_USAGE;
    }
    cw_score_result(score, &result);
    if (cw_score_print(&result, format, stdout) != CW_OK) {
        fputs("cdrwatch score: error: writing the report failed\n", stderr);
        return CW_EXIT_FAILURE;
    }
    return check && !cw_score_passed(&result) ? CW_EXIT_FAILURE : CW_EXIT_OK;
}
