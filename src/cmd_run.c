/*
 * cmd_run.c — `cdrwatch run`: the Kafka driver (kafka.h) with options, signals and exit status.
 *
 * SIGINT and SIGTERM ask the pipeline to finish (cw_kafka_stop); a second one stops waiting for
 * the broker's acknowledgements. Exit status: 0 after a clean stop, 1 on a fatal error, 2 for a
 * usage or configuration error. Under systemd the run tells the service manager when it is ready,
 * reloading or stopping, and feeds the watchdog (service.h).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include "cdrwatch/config.h"
#include "cdrwatch/kafka.h"
#include "cdrwatch/log.h"
#include "cdrwatch/cli.h"
#include "cdrwatch/service.h"

static const char usage[] =
    "Usage: cdrwatch run [--config FILE]... [--brokers HOST:PORT,...] [--group ID] [--state-in FILE]\n"
    "                    [--exit-at-end]\n"
    "\n"
    "Consume the database audit topic (in a consumer group) and the CDR topic (every partition,\n"
    "on every instance), run the detection engine over both merged in event-time order, and\n"
    "produce alerts to the alerts topic, until SIGINT or SIGTERM. Topics, group, brokers and any\n"
    "librdkafka property come from the configuration (see cdrwatch check-config --list-options).\n"
    "SIGHUP reads the configuration files again and runs on them: rules, thresholds, lists, host\n"
    "classes and the watchlist file take effect at the next record, and each rule whose state-\n"
    "shaping definition did not change (only its threshold, severity or suppression, say) keeps\n"
    "what it has learned. The files are checked whole first: one with an error is refused, with\n"
    "its message, and the running configuration stays. inputs, outputs, kafka and state settings\n"
    "take effect at the next start (a warning names those that changed).\n"
    "\n"
    "  -c, --config FILE        configuration (default: the built-in config/cdrwatch.json);\n"
    "                           given more than once, later files override earlier ones\n"
    "  -b, --brokers LIST       bootstrap brokers HOST:PORT,... (overrides kafka.brokers, as kcat -b)\n"
    "  -G, --group ID           consumer group (overrides kafka.group, as kcat -G)\n"
    "      --state-in FILE      start from what a replay learned (its --state-out FILE) instead of\n"
    "                           the group's checkpoints; partitions start at the committed offsets\n"
    "  -e, --exit-at-end        stop once every partition is read to its end and everything is\n"
    "                           processed, acknowledged and committed (as kcat -e)\n"
    "  -q, --quiet              warnings and errors only on standard error\n"
    "  -v, --verbose            debug messages too (every dead letter, each partition's rewind)\n"
    CW_CLI_LOG_FORMAT_HELP
    "  -h, --help               this text\n"
    "\n"
    "Alerts are delivered at least once: an input offset is committed only after the broker has\n"
    "acknowledged every alert raised before it, so a crash loses nothing and the duplicates it\n"
    "may cause carry the same event.id. The learned state is checkpointed to a compacted topic\n"
    "(state.topic, every state.interval, at shutdown and on revocation); on start and on every\n"
    "rebalance it is restored and each partition resumes where its checkpoint was taken. Without\n"
    "a usable checkpoint the windows are rebuilt by reading each partition again from a point one\n"
    "rewind span (the longest window plus suppression of the rules) before where it stopped.\n"
    "Records that do not decode, or come too late, go to <topic>.dlq with headers cdrwatch-error\n"
    "and cdrwatch-source. Statistics go to standard error every kafka.stats_interval.\n"
    "\n"
    "Exit status: 0 stopped by a signal (or at the end with --exit-at-end), 1 a fatal error,\n"
    "2 a usage or configuration error.\n"
    "\n"
    "Examples:\n"
    "  # topics, group and brokers from the configuration\n"
    "  cdrwatch run --config /etc/cdrwatch/cdrwatch.json\n"
    "  # another cluster and group, given as to kcat\n"
    "  cdrwatch run -b kafka1:9092,kafka2:9092 -G cdrwatch-eu\n"
    "  # feed an audit record by hand (keyed by principal) and watch the alerts\n"
    "  echo 'bob:{\"ts\":\"2026-03-04T02:05:00Z\",\"principal\":\"bob\",\"action\":\"SELECT\",'\\\n"
    "       '\"object\":\"mediation.cdr_voice\",\"rows\":50000}' | kcat -P -b localhost:9092 -t db-audit -K:\n"
    "  kcat -C -b localhost:9092 -t cdr-alerts -o beginning\n"
    "  # SASL over TLS: librdkafka properties go through \"kafka\": {\"properties\": {...}}, e.g.\n"
    "  #   \"security.protocol\": \"SASL_SSL\", \"sasl.mechanism\": \"SCRAM-SHA-512\",\n"
    "  #   \"sasl.username\": \"cdrwatch\", \"sasl.password\": \"@file:/etc/cdrwatch/kafka.pass\",\n"
    "  #   \"ssl.ca.location\": \"/etc/cdrwatch/kafka-ca.pem\" (the password read from that file;\n"
    "  #   secrets never printed; doc/kafka.md: the ACLs cdrwatch needs)\n"
    "  # the whole path on a machine without a broker: see cdrwatch demo --help\n";

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        cw_kafka_reload();
    else
        cw_kafka_stop();
}

int cw_cmd_run(apr_pool_t *pool, int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"brokers", required_argument, NULL, 'b'},
                                         {"group", required_argument, NULL, 'G'},
                                         {"exit-at-end", no_argument, NULL, 'e'},
                                         {"state-in", required_argument, NULL, 'S'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"verbose", no_argument, NULL, 'v'},
                                         {"log-format", required_argument, NULL, 'L'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    apr_array_header_t *configs = apr_array_make(pool, 2, sizeof(const char *));
    cw_kafka_opts_t kopts = {0};
    cw_config_t *cfg;
    struct sigaction sa;
    cw_status_t st;
    char err[1024];
    int c, rc;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":c:b:G:eqvh", opts, NULL)) != -1) {
        switch (c) {
        case 'c': *(const char **)apr_array_push(configs) = optarg; break;
        case 'b': kopts.brokers = optarg; break;
        case 'G': kopts.group = optarg; break;
        case 'e': kopts.exit_at_end = true; break;
        case 'S': kopts.state_in = optarg; break;
        case 'q': cw_log_set_level(CW_LOG_WARN); break;
        case 'v': cw_log_set_level(CW_LOG_DEBUG); break;
        case 'L':
            if (cw_cli_set_log_format("run", optarg) != CW_EXIT_OK)
                return CW_EXIT_USAGE;
            break;
        case 'h': fputs(usage, stdout); return CW_EXIT_OK;
        default: return cw_cli_option_error("run", c, argv[optind - 1], " (see cdrwatch run --help)\n");
        }
    }
    if (optind < argc) {
        fprintf(stderr, "cdrwatch run: unexpected argument '%s': topics come from the configuration "
                        "(inputs.audit.topic, inputs.cdr.topic)\n", argv[optind]);
        return CW_EXIT_USAGE;
    }
    if ((kopts.brokers && !*kopts.brokers) || (kopts.group && !*kopts.group)) {
        fputs("cdrwatch run: --brokers and --group need a non-empty value\n", stderr);
        return CW_EXIT_USAGE;
    }
    if ((rc = cw_cli_load_config(pool, configs, &cfg)) != CW_EXIT_OK)
        return rc;
    kopts.config_paths = configs; /* SIGHUP reads them again */
    /* under systemd (Type=notify): readiness, watchdog, reload and stop; NULL elsewhere */
    if ((kopts.tick_ctx = cw_service_create(pool)) != NULL) {
        kopts.tick = cw_service_tick;
        kopts.event = cw_service_event;
    }

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    st = cw_kafka_run(pool, cfg, &kopts, NULL, err, sizeof err);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    if (st == CW_OK)
        return CW_EXIT_OK;
    return cw_cli_error(st, err);
}
