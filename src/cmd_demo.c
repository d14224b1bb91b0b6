/*
 * cmd_demo.c — `cdrwatch demo`: the whole Kafka path on a machine without a broker.
 *
 * librdkafka's mock cluster (rdkafka_mock.h) runs in the process; the demo creates the topics,
 * loads the input files into them, runs the same pipeline as `cdrwatch run` until every
 * partition is read to its end and committed, then reads the alerts topic back and prints it:
 * the alerts a consumer of the topic would see. They equal `cdrwatch replay`'s on the same files
 * (tests/e2e/kafka_demo.sh).
 *
 * The files are read by replay's reader (replay.h), one file at a time so its records keep their
 * order: one message per record, keyed by principal or subscriber. A CSV record goes as it was
 * written, without the header, in the header's column order, which the demo configures; a JSON
 * record as its line; a record of a native audit format (--audit-format) as the canonical JSON
 * the pipeline decodes (cw_decode_json_encode). Records that do not decode go unkeyed, as their
 * bytes, and become dead letters in the pipeline.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include "cw_build.h"
#include "cdrwatch/config.h"
#include "cdrwatch/decode.h"
#include "cdrwatch/kafka.h"
#include "cdrwatch/log.h"
#include "cdrwatch/replay.h"
#include "cdrwatch/cli.h"

static const char usage[] =
    "Usage: cdrwatch demo [--config FILE]... [--cdr FILE]... [--audit FILE]... [--audit-format FMT]\n"
    "                     [--partitions N]\n"
    "\n"
    "Run the whole Kafka path in this process, with no broker: start librdkafka's mock\n"
    "cluster, load the files into its CDR and audit topics, run the pipeline of `cdrwatch run`\n"
    "(consumer group, time merge, engine, idempotent producer, commits) until everything is\n"
    "read and committed, then print the alerts read back from the alerts topic, one JSON\n"
    "object per line. They are the alerts `cdrwatch replay` raises on the same files.\n"
    "\n"
    "  -c, --config FILE        configuration (default: the built-in one); given more than once,\n"
    "                           later files override earlier ones; its topics and rules are\n"
    "                           used, its kafka.brokers and kafka.properties are not\n"
    "      --cdr FILE           CDR file (CSV with a header line, or JSON Lines; .gz allowed)\n"
    "      --audit FILE         audit file (same formats)\n"
    "                           (default for both: the bundled dataset, datasets/small)\n"
    "      --audit-format FMT   layout of the audit files, as for replay: canonical (the\n"
    "                           default), pgaudit, mariadb, mysql-json, oracle-csv,\n"
    "                           mssql-csv, oracle-json, oracle-xml, percona-json or\n"
    "                           percona-xml; give it before each\n"
    "                           group of --audit files to mix layouts\n"
    "      --pg-log-prefix PREFIX  the server's log_line_prefix, for pgaudit (default\n"
    "                           '" CW_PG_DEFAULT_PREFIX "')\n"
    "  -p, --partitions N       partitions of the CDR and audit topics (default 4). The mock\n"
    "                           cluster keeps at most 5 MB per partition: larger inputs need more\n"
    "  -q, --quiet              warnings and errors only on standard error\n"
    "  -v, --verbose            debug messages too\n"
    CW_CLI_LOG_FORMAT_HELP
    "  -h, --help               this text\n"
    "\n"
    "Examples:\n"
    "  cdrwatch demo | jq -c '{rule: .rule.id, user: .user.name, at: .\"@timestamp\"}'\n"
    "  cdrwatch demo --cdr cdr.csv.gz --audit audit.jsonl.gz --partitions 4 > alerts.jsonl\n"
    "  cdrwatch demo --audit-format mariadb --audit server_audit.log\n";

/* What the command line asks for. */
typedef struct {
    cw_cli_inputs_t in;          /* --cdr, --audit, --audit-format */
    apr_array_header_t *configs; /* const char *: --config layers, in order */
    const char *pg_prefix_text; /* NULL: the default */
    int partitions;
} demo_args_t;

/* The demo while it runs: the cluster, the loader, what went into the topics. */
typedef struct {
    apr_pool_t *pool;
    cw_config_t *cfg;
    const cw_pg_prefix_t *pg_prefix;
    int partitions;
    rd_kafka_t *host; /* owns the mock cluster */
    rd_kafka_mock_cluster_t *mc;
    const char *brokers;
    rd_kafka_t *loader; /* producer that loads the files */
    uint64_t sent, failed;
    bool columns_set[CW_STREAM_COUNT];
    const char *topic;   /* of the file being loaded */
    char *json;          /* a native record as canonical JSON (CW_RECORD_MAX bytes) */
    cw_status_t load_st; /* the first failure to produce, from the dead-letter callback too */
    char err[1024];
} demo_t;


/* ---- the command line ---- */

static bool set_partitions(demo_args_t *a, const char *text)
{
    char *end;
    long v = strtol(text, &end, 10);
    if (*end || v < 1 || v > 64) {
        fprintf(stderr, "cdrwatch demo: --partitions: expected an integer from 1 to 64, got '%s'\n", text);
        return false;
    }
    a->partitions = (int)v;
    return true;
}

/* Returns -1 to go on, or the exit status (help, or a usage error). */
static int parse_args(apr_pool_t *pool, int argc, char **argv, demo_args_t *a)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"cdr", required_argument, NULL, 'C'},
                                         {"audit", required_argument, NULL, 'A'},
                                         {"audit-format", required_argument, NULL, 'F'},
                                         {"pg-log-prefix", required_argument, NULL, 'P'},
                                         {"partitions", required_argument, NULL, 'p'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"verbose", no_argument, NULL, 'v'},
                                         {"log-format", required_argument, NULL, 'L'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;

    memset(a, 0, sizeof *a);
    cw_cli_inputs_init(pool, &a->in);
    a->configs = apr_array_make(pool, 2, sizeof(const char *));
    a->partitions = 4;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":c:p:qvh", opts, NULL)) != -1) {
        switch (c) {
        case 'c': *(const char **)apr_array_push(a->configs) = optarg; break;
        case 'C': cw_cli_add_input(&a->in, CW_STREAM_CDR, optarg); break;
        case 'A': cw_cli_add_input(&a->in, CW_STREAM_AUDIT, optarg); break;
        case 'F':
            if (cw_cli_set_audit_format(&a->in, "demo", optarg) != CW_EXIT_OK)
                return CW_EXIT_USAGE;
            break;
        case 'P': a->pg_prefix_text = optarg; break;
        case 'p':
            if (!set_partitions(a, optarg))
                return CW_EXIT_USAGE;
            break;
        case 'q': cw_log_set_level(CW_LOG_WARN); break;
        case 'v': cw_log_set_level(CW_LOG_DEBUG); break;
        case 'L':
            if (cw_cli_set_log_format("demo", optarg) != CW_EXIT_OK)
                return CW_EXIT_USAGE;
            break;
        case 'h': fputs(usage, stdout); return CW_EXIT_OK;
        default: return cw_cli_option_error("demo", c, argv[optind - 1], " (see cdrwatch demo --help)\n");
        }
    }
    if (optind < argc) {
        fprintf(stderr, "cdrwatch demo: unexpected argument '%s': inputs are given with --cdr FILE or "
                        "--audit FILE\n", argv[optind]);
        return CW_EXIT_USAGE;
    }
    return -1;
}

/* The bundled dataset: installed with the program, or the source tree's when run from there. */
static bool find_dataset(apr_pool_t *pool, const char **cdr, const char **audit)
{
    static const char *const dirs[] = {CW_DATASETDIR, "datasets/small"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        const char *c = apr_pstrcat(pool, dirs[i], "/cdr.csv.gz", NULL);
        const char *a = apr_pstrcat(pool, dirs[i], "/audit.jsonl.gz", NULL);
        FILE *f = fopen(c, "rb");
        if (f) {
            fclose(f);
            *cdr = c;
            *audit = a;
            return true;
        }
    }
    return false;
}

/* The inputs (the bundled dataset when none is given), the configuration, the pgaudit prefix. */
static cw_status_t prepare(apr_pool_t *pool, demo_args_t *a, demo_t *d)
{
    cw_pg_prefix_t *prefix = NULL;
    d->pool = pool;
    d->partitions = a->partitions;
    if (a->in.inputs->nelts == 0) {
        const char *cdr, *audit;
        if (!find_dataset(pool, &cdr, &audit)) {
            snprintf(d->err, sizeof d->err, "the bundled dataset is not in %s nor in ./datasets/small: give "
                     "--cdr FILE and --audit FILE", CW_DATASETDIR);
            return CW_ERR_USAGE;
        }
        cw_cli_add_input(&a->in, CW_STREAM_CDR, cdr);
        cw_cli_add_input(&a->in, CW_STREAM_AUDIT, audit);
    }
    for (int i = 0; a->pg_prefix_text && i < a->in.inputs->nelts; i++) {
        if (APR_ARRAY_IDX(a->in.inputs, i, cw_replay_input_t).format == CW_AUDIT_PGAUDIT)
            break;
        if (i == a->in.inputs->nelts - 1) {
            snprintf(d->err, sizeof d->err, "--pg-log-prefix goes with --audit-format pgaudit (no --audit file "
                     "is read as pgaudit)");
            return CW_ERR_USAGE;
        }
    }
    if (a->pg_prefix_text &&
        cw_pg_prefix_compile(pool, a->pg_prefix_text, &prefix, d->err, sizeof d->err) != CW_OK)
        return CW_ERR_USAGE;
    d->pg_prefix = prefix;
    if (cw_config_load_layers(pool, (const char *const *)a->configs->elts, a->configs->nelts, &d->cfg, d->err,
                              sizeof d->err) != CW_OK)
        return CW_ERR_USAGE;
    cw_cli_warn_no_rule(d->cfg, a->configs);
    /* the mock cluster speaks PLAINTEXT on localhost: no security properties */
    d->cfg->n_kafka_props = 0;
    d->cfg->kafka_stats_interval = 0;
    d->json = apr_palloc(pool, CW_RECORD_MAX);
    return CW_OK;
}

/* ---- the cluster ---- */

/* A librdkafka configuration from key, value pairs (NULL-terminated), every property checked. */
static rd_kafka_conf_t *new_conf(const char *const *kv, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    for (; *kv; kv += 2) {
        if (cw_kafka_conf_set(conf, NULL, kv[0], kv[1], false, err, errlen) != CW_OK) {
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    }
    return conf;
}

static rd_kafka_t *new_client(rd_kafka_type_t type, rd_kafka_conf_t *conf, const char *what, char *err,
                              size_t errlen)
{
    char why[512];
    rd_kafka_t *rk = conf ? rd_kafka_new(type, conf, why, sizeof why) : NULL;
    if (conf && !rk) {
        rd_kafka_conf_destroy(conf); /* still ours when rd_kafka_new fails */
        snprintf(err, errlen, "cannot create %s: %s", what, why);
    }
    return rk;
}

static cw_status_t create_topic(demo_t *d, const char *topic, int partitions)
{
    rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(d->mc, topic, partitions, 1);
    if (!e)
        return CW_OK;
    snprintf(d->err, sizeof d->err, "cannot create the topic %s in the mock cluster: %s", topic, rd_kafka_err2str(e));
    return CW_ERR;
}

/* The cluster, in this process, with the input, alert and dead-letter topics. */
static cw_status_t start_cluster(demo_t *d)
{
    static const char *const host_conf[] = {"log_level", "3", NULL};
    const cw_config_t *cfg = d->cfg;
    cw_status_t st = CW_OK;

    if (!(d->host = new_client(RD_KAFKA_PRODUCER, new_conf(host_conf, d->err, sizeof d->err), "a Kafka client",
                               d->err, sizeof d->err)))
        return CW_ERR;
    if (!(d->mc = rd_kafka_mock_cluster_new(d->host, 3))) {
        snprintf(d->err, sizeof d->err, "cannot start librdkafka's mock cluster");
        return CW_ERR;
    }
    d->brokers = apr_pstrdup(d->pool, rd_kafka_mock_cluster_bootstraps(d->mc));
    for (int s = 0; s < CW_STREAM_COUNT && st == CW_OK; s++) {
        st = create_topic(d, cfg->input[s].topic, d->partitions);
        if (st == CW_OK)
            st = create_topic(d, apr_pstrcat(d->pool, cfg->input[s].topic, cfg->dlq_suffix, NULL), 1);
    }
    if (st == CW_OK)
        st = create_topic(d, cfg->alerts_topic, 1);
    if (st == CW_OK && cfg->state_interval > 0) /* the mock cannot create topics on request */
        st = create_topic(d, cfg->state_topic, 1);
    if (st == CW_OK)
        cw_log(CW_LOG_INFO, "demo: mock cluster of 3 brokers at %s; topics %s and %s (%d partition%s each), %s",
               d->brokers, cfg->input[CW_STREAM_CDR].topic, cfg->input[CW_STREAM_AUDIT].topic, d->partitions,
               d->partitions > 1 ? "s" : "", cfg->alerts_topic);
    return st;
}

/* ---- loading the files ---- */

static void loader_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    demo_t *d = opaque;
    (void)rk;
    if (m->err)
        d->failed++;
}

static void send_record(demo_t *d, const char *key, size_t keylen, const char *val, size_t len)
{
    while (d->load_st == CW_OK) {
        rd_kafka_resp_err_t err =
            rd_kafka_producev(d->loader, RD_KAFKA_V_TOPIC(d->topic), RD_KAFKA_V_KEY(key, keylen),
                              RD_KAFKA_V_VALUE((void *)val, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_END);
        if (!err) {
            d->sent++;
            return;
        }
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            snprintf(d->err, sizeof d->err, "cannot load a record into %s: %s", d->topic, rd_kafka_err2str(err));
            d->load_st = CW_ERR;
            return;
        }
        rd_kafka_poll(d->loader, 50);
    }
}

/* A record that does not decode: its bytes, unkeyed, to become a dead letter in the pipeline. */
static void on_dead_letter(void *ctx, const cw_dead_letter_t *dl)
{
    send_record(ctx, NULL, 0, dl->raw, dl->rawlen);
}

/* A record: keyed as its producer would key it (the principal of an audit record, whose state
 * lives with it; the served subscriber of a CDR), as it was written, or as canonical JSON when
 * the pipeline cannot decode its format. */
static void send_event(demo_t *d, const cw_replay_t *r, bool native, const cw_event_t *ev)
{
    const char *key = ev->stream == CW_STREAM_AUDIT ? ev->u.audit.principal : ev->u.cdr.calling_msisdn;
    const char *val = d->json;
    size_t len;
    if (!native)
        cw_replay_raw(r, &val, &len);
    else if (!(len = cw_decode_json_encode(ev, d->json, CW_RECORD_MAX))) {
        snprintf(d->err, sizeof d->err, "out of memory");
        d->load_st = CW_ERR_NOMEM;
        return;
    }
    send_record(d, key, strlen(key), val, len);
}

/* A CSV file's column order becomes its topic's: the messages carry no header. */
static cw_status_t set_columns(demo_t *d, const cw_replay_input_t *in, const cw_replay_t *r)
{
    cw_input_config_t *ic = &d->cfg->input[in->stream];
    const cw_field_t *cols;
    int n = cw_replay_columns(r, 0, &cols);
    if (n == 0)
        return CW_OK;
    if (d->columns_set[in->stream] && (n != ic->n_columns || memcmp(cols, ic->columns, (size_t)n * sizeof *cols))) {
        snprintf(d->err, sizeof d->err, "%s: its header differs from the first %s file's: a topic has one column "
                 "order", in->path, cw_stream_name(in->stream));
        return CW_ERR_USAGE;
    }
    if (n > CW_F_COUNT) {
        snprintf(d->err, sizeof d->err, "%s: more than %d columns", in->path, CW_F_COUNT);
        return CW_ERR_USAGE;
    }
    memcpy(ic->columns, cols, (size_t)n * sizeof *cols);
    ic->n_columns = n;
    d->columns_set[in->stream] = true;
    return CW_OK;
}

/* Load one file into its topic, record by record in file order. */
static cw_status_t load_file(demo_t *d, const cw_replay_input_t *in)
{
    bool native = in->stream == CW_STREAM_AUDIT && in->format != CW_AUDIT_CANONICAL;
    cw_replay_input_t zoned = *in; /* mariadb's local times: inputs.audit.tz */
    apr_pool_t *pool;
    cw_replay_t *r;
    const cw_event_t *ev;
    cw_status_t st;

    apr_pool_create(&pool, d->pool); /* the reader's buffers, freed after the file */
    d->topic = d->cfg->input[in->stream].topic;
    zoned.tz = d->cfg->input[CW_STREAM_AUDIT].tz_zone;
    st = cw_replay_open(pool, &zoned, 1, d->pg_prefix, on_dead_letter, d, &r, d->err, sizeof d->err);
    if (st == CW_OK)
        st = set_columns(d, in, r);
    while (st == CW_OK && d->load_st == CW_OK && (st = cw_replay_next(r, &ev, d->err, sizeof d->err)) == CW_OK)
        send_event(d, r, native, ev);
    if (st == CW_ERR_EOF)
        st = CW_OK;
    apr_pool_destroy(pool);
    return st != CW_OK ? st : d->load_st;
}

/* librdkafka's mock keeps a bounded log per partition and drops the oldest records beyond it. */
static cw_status_t check_kept(demo_t *d)
{
    for (int s = 0; s < CW_STREAM_COUNT; s++) {
        const char *topic = d->cfg->input[s].topic;
        for (int p = 0; p < d->partitions; p++) {
            int64_t lo = 0, hi = 0;
            rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(d->loader, topic, p, &lo, &hi, 10000);
            if (e) {
                snprintf(d->err, sizeof d->err, "cannot read the offsets of %s/%d: %s", topic, p, rd_kafka_err2str(e));
                return CW_ERR;
            }
            cw_log(CW_LOG_DEBUG, "demo: %s/%d holds offsets %lld to %lld", topic, p, (long long)lo, (long long)hi);
            if (lo > 0) {
                snprintf(d->err, sizeof d->err, "the mock cluster dropped the first %lld records of %s/%d (it keeps "
                         "5 MB per partition): give more --partitions", (long long)lo, topic, p);
                return CW_ERR_USAGE;
            }
        }
    }
    return CW_OK;
}

/* Every file into its topic, acknowledged and kept whole. */
static cw_status_t load_inputs(demo_t *d, const apr_array_header_t *inputs)
{
    const char *const conf[] = {"bootstrap.servers", d->brokers, "linger.ms", "20", "enable.idempotence", "true",
                                "log_level", "3", NULL};
    rd_kafka_conf_t *c = new_conf(conf, d->err, sizeof d->err);
    cw_status_t st = CW_OK;

    if (c) {
        rd_kafka_conf_set_dr_msg_cb(c, loader_dr);
        rd_kafka_conf_set_opaque(c, d);
    }
    if (!(d->loader = new_client(RD_KAFKA_PRODUCER, c, "the loader", d->err, sizeof d->err)))
        return CW_ERR;
    for (int i = 0; i < inputs->nelts && st == CW_OK; i++)
        st = load_file(d, &APR_ARRAY_IDX(inputs, i, cw_replay_input_t));
    rd_kafka_flush(d->loader, 60000);
    if (st == CW_OK)
        st = check_kept(d);
    rd_kafka_destroy(d->loader);
    d->loader = NULL;
    if (st == CW_OK && d->failed) {
        snprintf(d->err, sizeof d->err, "%llu records could not be loaded into the mock cluster",
                 (unsigned long long)d->failed);
        st = CW_ERR;
    }
    if (st == CW_OK)
        cw_log(CW_LOG_INFO, "demo: loaded %llu records; running the pipeline", (unsigned long long)d->sent);
    return st;
}

/* ---- the pipeline and its alerts ---- */

/* The pipeline of `run`, to the end of every partition. */
static cw_status_t run_pipeline(demo_t *d, cw_kafka_stats_t *kst)
{
    cw_kafka_opts_t kopts = {0};
    kopts.brokers = d->brokers;
    kopts.group = "cdrwatch-demo";
    kopts.exit_at_end = true;
    return cw_kafka_run(d->pool, d->cfg, &kopts, kst, d->err, sizeof d->err);
}

/* Assign every partition of topic from its beginning; their number in *n. */
static cw_status_t assign_all(rd_kafka_t *rk, const char *topic, int *n, char *err, size_t errlen)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    rd_kafka_topic_partition_list_t *parts;
    rd_kafka_resp_err_t e;

    *n = 0;
    if (rkt && rd_kafka_metadata(rk, 0, rkt, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1)
        *n = md->topics[0].partition_cnt;
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    if (md)
        rd_kafka_metadata_destroy(md);
    parts = rd_kafka_topic_partition_list_new(*n);
    for (int i = 0; i < *n; i++)
        rd_kafka_topic_partition_list_add(parts, topic, i)->offset = RD_KAFKA_OFFSET_BEGINNING;
    e = rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (!e)
        return CW_OK;
    snprintf(err, errlen, "reading %s back: cannot assign its partitions: %s", topic, rd_kafka_err2str(e));
    return CW_ERR;
}

/* Print every message of the assigned partitions, one per line, until each is at its end. */
static cw_status_t print_messages(rd_kafka_t *rk, const char *topic, int n, uint64_t *count, char *err,
                                  size_t errlen)
{
    for (int eofs = 0; eofs < n;) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 10000);
        if (!m) {
            snprintf(err, errlen, "reading %s back: no end of partition after 10 s", topic);
            return CW_ERR;
        }
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
            eofs++;
        else if (!m->err) {
            fwrite(m->payload, 1, m->len, stdout);
            putchar('\n');
            (*count)++;
        }
        rd_kafka_message_destroy(m);
    }
    return fflush(stdout) == 0 ? CW_OK : CW_ERR_IO;
}

/* Read a topic from the beginning to its end and print every message, one per line. */
static cw_status_t print_topic(const char *brokers, const char *topic, uint64_t *count, char *err,
                               size_t errlen)
{
    const char *const conf[] = {"bootstrap.servers", brokers, "group.id", "cdrwatch-demo-reader",
                                "enable.partition.eof", "true", "enable.auto.commit", "false", NULL};
    rd_kafka_t *rk = new_client(RD_KAFKA_CONSUMER, new_conf(conf, err, errlen), "a consumer", err, errlen);
    cw_status_t st;
    int n;

    if (!rk)
        return CW_ERR;
    st = assign_all(rk, topic, &n, err, errlen);
    if (st == CW_OK)
        st = print_messages(rk, topic, n, count, err, errlen);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return st;
}

int cw_cmd_demo(apr_pool_t *pool, int argc, char **argv)
{
    demo_args_t args;
    demo_t *d = apr_pcalloc(pool, sizeof *d);
    cw_kafka_stats_t kst;
    uint64_t printed = 0;
    cw_status_t st;
    int rc = parse_args(pool, argc, argv, &args);

    if (rc >= 0)
        return rc;
    st = prepare(pool, &args, d);
    if (st == CW_OK)
        st = start_cluster(d);
    if (st == CW_OK)
        st = load_inputs(d, args.in.inputs);
    if (st == CW_OK)
        st = run_pipeline(d, &kst);
    /* what a consumer of the alerts topic sees */
    if (st == CW_OK && (st = print_topic(d->brokers, d->cfg->alerts_topic, &printed, d->err, sizeof d->err)) == CW_OK)
        cw_log(CW_LOG_INFO, "demo: %llu alerts read back from %s (%llu records in, %llu dead letters)",
               (unsigned long long)printed, d->cfg->alerts_topic, (unsigned long long)kst.records,
               (unsigned long long)kst.dead_total);
    if (st != CW_OK)
        cw_log(CW_LOG_ERROR, "%s", d->err);
    if (d->mc)
        rd_kafka_mock_cluster_destroy(d->mc);
    if (d->host)
        rd_kafka_destroy(d->host);
    return st == CW_OK ? CW_EXIT_OK : cw_cli_exit_status(st);
}
