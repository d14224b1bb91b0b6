/*
 * cmd_demo.c — `cdrwatch demo`: the whole Kafka path on a machine without a broker.
 *
 * librdkafka's mock cluster (rdkafka_mock.h) runs in the process; the demo creates the topics,
 * loads the input files into them (one message per record: CSV records without their header, in
 * the header's column order, which the demo configures; keyed by principal or subscriber), runs
 * the same pipeline as `cdrwatch run` until every partition is read to its end and committed,
 * then reads the alerts topic back and prints it: the alerts a consumer of the topic would see.
 * They equal `cdrwatch replay`'s on the same files (tests/e2e/kafka_demo.sh).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include "cw_build.h"
#include "cdrwatch/config.h"
#include "cdrwatch/decode.h"
#include "cdrwatch/kafka.h"
#include "cdrwatch/log.h"
#include "cli.h"

static const char usage[] =
    "Usage: cdrwatch demo [--config FILE] [--cdr FILE]... [--audit FILE]... [--partitions N]\n"
    "\n"
    "Run the whole Kafka path in this process, with no broker: start librdkafka's mock\n"
    "cluster, load the files into its CDR and audit topics, run the pipeline of `cdrwatch run`\n"
    "(consumer group, time merge, engine, idempotent producer, commits) until everything is\n"
    "read and committed, then print the alerts read back from the alerts topic, one JSON\n"
    "object per line. They are the alerts `cdrwatch replay` raises on the same files.\n"
    "\n"
    "  -c, --config FILE        configuration (default: the built-in one); its topics and rules\n"
    "                           are used, its kafka.brokers and kafka.properties are not\n"
    "      --cdr FILE           CDR file (CSV with a header line, or JSON Lines; .gz allowed)\n"
    "      --audit FILE         audit file (same formats)\n"
    "                           (default for both: the bundled dataset, datasets/small)\n"
    "  -p, --partitions N       partitions of the CDR and audit topics (default 4). The mock\n"
    "                           cluster keeps at most 5 MB per partition: larger inputs need more\n"
    "  -q, --quiet              warnings and errors only on standard error\n"
    "  -v, --verbose            debug messages too\n"
    "  -h, --help               this text\n"
    "\n"
    "Examples:\n"
    "  cdrwatch demo | jq -c '{rule: .rule.id, user: .user.name, at: .\"@timestamp\"}'\n"
    "  cdrwatch demo --cdr cdr.csv.gz --audit audit.jsonl.gz --partitions 4 > alerts.jsonl\n";

typedef struct {
    const char *path;
    cw_stream_t stream;
} input_t;

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

/* Column order of a CSV header line: unknown columns are kept as CW_F_NONE (skipped). */
static int header_columns(cw_stream_t s, const char *line, cw_field_t *cols, int max)
{
    int n = 0;
    const char *p = line;
    while (n < max) {
        const char *end = p + strcspn(p, ",\r\n");
        const char *b = p, *e = end;
        while (b < e && (*b == ' ' || *b == '"'))
            b++;
        while (e > b && (e[-1] == ' ' || e[-1] == '"'))
            e--;
        if (n == 0 && e - b >= 3 && memcmp(b, "\xef\xbb\xbf", 3) == 0)
            b += 3;
        cols[n++] = cw_field_lookup(s, b, (size_t)(e - b));
        if (*end != ',')
            break;
        p = end + 1;
    }
    return n;
}

typedef struct {
    rd_kafka_t *rk;
    uint64_t sent, failed;
} loader_t;

static void loader_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    loader_t *l = opaque;
    (void)rk;
    if (m->err)
        l->failed++;
}

static bool send_record(loader_t *l, const char *topic, const char *key, size_t keylen, const char *val,
                        size_t len)
{
    for (;;) {
        rd_kafka_resp_err_t err =
            rd_kafka_producev(l->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, keylen),
                              RD_KAFKA_V_VALUE((void *)val, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_END);
        if (!err) {
            l->sent++;
            return true;
        }
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            return false;
        rd_kafka_poll(l->rk, 50);
    }
}

/* The message key of a record, as its producer would set it: the principal of an audit
 * record (its state lives with it), the served subscriber of a CDR. */
static const char *record_key(const cw_event_t *ev, size_t *len)
{
    const char *k = ev->stream == CW_STREAM_AUDIT ? ev->u.audit.principal : ev->u.cdr.calling_msisdn;
    *len = strlen(k);
    return k;
}

/* Load one file into its topic: every record a message, keyed (record_key); records that do not
 * decode go unkeyed, to become dead letters in the pipeline. */
static cw_status_t load_file(apr_pool_t *pool, loader_t *l, cw_config_t *cfg, const input_t *in,
                             bool *columns_set, char *err, size_t errlen)
{
    gzFile gz = gzopen(in->path, "rb");
    char *line = malloc(CW_RECORD_MAX + 2), *rec = malloc(2 * CW_RECORD_MAX + 2);
    size_t reclen = 0;
    cw_csv_t *csv = NULL;
    bool first = true, is_csv = false;
    cw_event_t *ev = apr_palloc(pool, sizeof *ev);
    cw_status_t st = CW_OK;
    const char *topic = cfg->input[in->stream].topic;

    if (!gz || !line || !rec) {
        snprintf(err, errlen, "%s: cannot open: %s", in->path, gz ? "out of memory" : strerror(errno));
        st = CW_ERR_USAGE;
        goto out;
    }
    gzbuffer(gz, 256 << 10);
    while (gzgets(gz, line, CW_RECORD_MAX + 2)) {
        size_t len = strlen(line);
        if (first) {
            first = false;
            is_csv = line[strspn(line, " \t\r\n")] != '{';
            if (is_csv) {
                cw_field_t cols[CW_F_COUNT * 2];
                int n = header_columns(in->stream, line, cols, CW_F_COUNT * 2);
                cw_input_config_t *ic = &cfg->input[in->stream];
                /* messages carry no header: the pipeline decodes them in this column order */
                if (*columns_set && (n != ic->n_columns || memcmp(cols, ic->columns, (size_t)n * sizeof *cols))) {
                    snprintf(err, errlen, "%s: its header differs from the first %s file's: a topic has "
                             "one column order", in->path, cw_stream_name(in->stream));
                    st = CW_ERR_USAGE;
                    goto out;
                }
                if (n > CW_F_COUNT) {
                    snprintf(err, errlen, "%s: more than %d columns", in->path, CW_F_COUNT);
                    st = CW_ERR_USAGE;
                    goto out;
                }
                memcpy(ic->columns, cols, (size_t)n * sizeof *cols);
                ic->n_columns = n;
                *columns_set = true;
                cw_csv_create(pool, in->stream, &csv);
                cw_csv_set_columns(csv, cols, n);
                continue;
            }
        }
        if (is_csv) {
            /* a quoted field may span lines: gather the lines of one record */
            int rc = cw_csv_push(csv, line, len);
            if (reclen + len <= 2 * CW_RECORD_MAX) {
                memcpy(rec + reclen, line, len);
                reclen += len;
            }
            if (rc == 0 && cw_csv_in_record(csv))
                continue;
            while (reclen && (rec[reclen - 1] == '\n' || rec[reclen - 1] == '\r'))
                reclen--;
            if (reclen) {
                const char *key = NULL;
                size_t keylen = 0;
                if (rc == 1 && cw_csv_decode(csv, ev).reason == CW_DEC_OK)
                    key = record_key(ev, &keylen);
                if (!send_record(l, topic, key, keylen, rec, reclen))
                    break;
            }
            reclen = 0;
            continue;
        }
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        if (!len)
            continue;
        {
            const char *key = NULL;
            size_t keylen = 0;
            if (cw_decode_json(in->stream, line, len, ev).reason == CW_DEC_OK)
                key = record_key(ev, &keylen);
            if (!send_record(l, topic, key, keylen, line, len))
                break;
        }
    }
    if (!gzeof(gz)) {
        int e;
        const char *m = gzerror(gz, &e);
        snprintf(err, errlen, "%s: read error: %s", in->path, e == Z_ERRNO ? strerror(errno) : m);
        st = CW_ERR_IO;
    }
out:
    if (gz)
        gzclose(gz);
    free(line);
    free(rec);
    return st;
}

/* Read a topic from the beginning to its end and print every message, one per line. */
static cw_status_t print_topic(const char *brokers, const char *topic, uint64_t *count, char *err,
                               size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_partition_list_t *parts;
    int eofs = 0, n = 0;
    char why[512];

    rd_kafka_conf_set(conf, "bootstrap.servers", brokers, why, sizeof why);
    rd_kafka_conf_set(conf, "group.id", "cdrwatch-demo-reader", why, sizeof why);
    rd_kafka_conf_set(conf, "enable.partition.eof", "true", why, sizeof why);
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", why, sizeof why);
    if (!(rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof why))) {
        rd_kafka_conf_destroy(conf);
        snprintf(err, errlen, "cannot create a consumer: %s", why);
        return CW_ERR;
    }
    {
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
        if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1)
            n = md->topics[0].partition_cnt;
        rd_kafka_topic_destroy(rkt);
        if (md)
            rd_kafka_metadata_destroy(md);
    }
    parts = rd_kafka_topic_partition_list_new(n);
    for (int i = 0; i < n; i++)
        rd_kafka_topic_partition_list_add(parts, topic, i)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    while (eofs < n) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 10000);
        if (!m) {
            snprintf(err, errlen, "reading %s back: no end of partition after 10 s", topic);
            rd_kafka_consumer_close(rk);
            rd_kafka_destroy(rk);
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
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return fflush(stdout) == 0 ? CW_OK : CW_ERR_IO;
}

int cw_cmd_demo(apr_pool_t *pool, int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"cdr", required_argument, NULL, 'C'},
                                         {"audit", required_argument, NULL, 'A'},
                                         {"partitions", required_argument, NULL, 'p'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"verbose", no_argument, NULL, 'v'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    apr_array_header_t *inputs = apr_array_make(pool, 4, sizeof(input_t));
    const char *config_path = NULL, *brokers;
    bool columns_set[CW_STREAM_COUNT] = {false, false};
    int partitions = 4, c, rc = CW_EXIT_OK;
    cw_config_t *cfg;
    rd_kafka_conf_t *conf;
    rd_kafka_t *host = NULL;
    rd_kafka_mock_cluster_t *mc = NULL;
    loader_t loader = {0};
    cw_kafka_opts_t kopts = {0};
    cw_kafka_stats_t kst;
    cw_status_t st;
    uint64_t printed = 0;
    char err[1024], why[512];

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":c:p:qvh", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config_path = optarg; break;
        case 'C':
        case 'A': {
            input_t *in = apr_array_push(inputs);
            in->path = optarg;
            in->stream = c == 'C' ? CW_STREAM_CDR : CW_STREAM_AUDIT;
            break;
        }
        case 'p': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 64) {
                fprintf(stderr, "cdrwatch demo: --partitions: expected an integer from 1 to 64, got '%s'\n", optarg);
                return CW_EXIT_USAGE;
            }
            partitions = (int)v;
            break;
        }
        case 'q': cw_log_set_level(CW_LOG_WARN); break;
        case 'v': cw_log_set_level(CW_LOG_DEBUG); break;
        case 'h': fputs(usage, stdout); return CW_EXIT_OK;
        case ':':
            fprintf(stderr, "cdrwatch demo: option '%s' needs a value (see cdrwatch demo --help)\n", argv[optind - 1]);
            return CW_EXIT_USAGE;
        default:
            fprintf(stderr, "cdrwatch demo: unknown option '%s' (see cdrwatch demo --help)\n", argv[optind - 1]);
            return CW_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "cdrwatch demo: unexpected argument '%s': inputs are given with --cdr FILE or "
                        "--audit FILE\n", argv[optind]);
        return CW_EXIT_USAGE;
    }
    if (inputs->nelts == 0) {
        const char *cdr, *audit;
        input_t *in;
        if (!find_dataset(pool, &cdr, &audit)) {
            fprintf(stderr, "cdrwatch demo: the bundled dataset is not in %s nor in ./datasets/small: "
                            "give --cdr FILE and --audit FILE\n", CW_DATASETDIR);
            return CW_EXIT_USAGE;
        }
        in = apr_array_push(inputs);
        in->path = cdr;
        in->stream = CW_STREAM_CDR;
        in = apr_array_push(inputs);
        in->path = audit;
        in->stream = CW_STREAM_AUDIT;
    }
    if (cw_config_load(pool, config_path, &cfg, err, sizeof err) != CW_OK) {
        fprintf(stderr, "cdrwatch: error: %s\n", err);
        return CW_EXIT_USAGE;
    }
    /* the mock cluster speaks PLAINTEXT on localhost: no security properties; quicker group
     * timers than a real deployment needs */
    cfg->n_kafka_props = 0;
    cfg->kafka_stats_interval = 0;
    cw_decode_init();

    /* the cluster, in this process */
    conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", why, sizeof why);
    if (!(host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why))) {
        rd_kafka_conf_destroy(conf);
        fprintf(stderr, "cdrwatch: error: cannot create a Kafka client: %s\n", why);
        return CW_EXIT_FAILURE;
    }
    if (!(mc = rd_kafka_mock_cluster_new(host, 3))) {
        fputs("cdrwatch: error: cannot start librdkafka's mock cluster\n", stderr);
        rd_kafka_destroy(host);
        return CW_EXIT_FAILURE;
    }
    brokers = apr_pstrdup(pool, rd_kafka_mock_cluster_bootstraps(mc));
    rd_kafka_mock_topic_create(mc, cfg->input[CW_STREAM_CDR].topic, partitions, 1);
    rd_kafka_mock_topic_create(mc, cfg->input[CW_STREAM_AUDIT].topic, partitions, 1);
    rd_kafka_mock_topic_create(mc, cfg->alerts_topic, 1, 1);
    for (int s = 0; s < CW_STREAM_COUNT; s++)
        rd_kafka_mock_topic_create(mc, apr_pstrcat(pool, cfg->input[s].topic, cfg->dlq_suffix, NULL), 1, 1);
    cw_log(CW_LOG_INFO, "demo: mock cluster of 3 brokers at %s; topics %s and %s (%d partition%s each), %s",
           brokers, cfg->input[CW_STREAM_CDR].topic, cfg->input[CW_STREAM_AUDIT].topic, partitions,
           partitions > 1 ? "s" : "", cfg->alerts_topic);

    /* load the files */
    conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", brokers, why, sizeof why);
    rd_kafka_conf_set(conf, "linger.ms", "20", why, sizeof why);
    rd_kafka_conf_set(conf, "enable.idempotence", "true", why, sizeof why);
    rd_kafka_conf_set(conf, "log_level", "3", why, sizeof why);
    rd_kafka_conf_set_dr_msg_cb(conf, loader_dr);
    rd_kafka_conf_set_opaque(conf, &loader);
    if (!(loader.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why))) {
        rd_kafka_conf_destroy(conf);
        fprintf(stderr, "cdrwatch: error: cannot create the loader: %s\n", why);
        rc = CW_EXIT_FAILURE;
        goto done;
    }
    for (int i = 0; i < inputs->nelts && rc == CW_EXIT_OK; i++) {
        const input_t *in = &APR_ARRAY_IDX(inputs, i, input_t);
        if ((st = load_file(pool, &loader, cfg, in, &columns_set[in->stream], err, sizeof err)) != CW_OK) {
            fprintf(stderr, "cdrwatch: error: %s\n", err);
            rc = st == CW_ERR_USAGE ? CW_EXIT_USAGE : CW_EXIT_FAILURE;
        }
    }
    rd_kafka_flush(loader.rk, 60000);
    /* librdkafka's mock keeps a bounded log per partition and drops the oldest beyond it */
    for (int s = 0; s < CW_STREAM_COUNT && rc == CW_EXIT_OK; s++)
        for (int p = 0; p < partitions && rc == CW_EXIT_OK; p++) {
            int64_t lo = 0, hi = 0;
            rd_kafka_query_watermark_offsets(loader.rk, cfg->input[s].topic, p, &lo, &hi, 10000);
            cw_log(CW_LOG_DEBUG, "demo: %s/%d holds offsets %lld to %lld", cfg->input[s].topic, p,
                   (long long)lo, (long long)hi);
            if (lo > 0) {
                fprintf(stderr, "cdrwatch: error: the mock cluster dropped the first %lld records of %s/%d "
                                "(it keeps 5 MB per partition): give more --partitions\n",
                        (long long)lo, cfg->input[s].topic, p);
                rc = CW_EXIT_USAGE;
            }
        }
    rd_kafka_destroy(loader.rk);
    if (rc != CW_EXIT_OK)
        goto done;
    if (loader.failed) {
        fprintf(stderr, "cdrwatch: error: %llu records could not be loaded into the mock cluster\n",
                (unsigned long long)loader.failed);
        rc = CW_EXIT_FAILURE;
        goto done;
    }
    cw_log(CW_LOG_INFO, "demo: loaded %llu records; running the pipeline", (unsigned long long)loader.sent);

    /* the pipeline of `run`, to the end of every partition */
    kopts.brokers = brokers;
    kopts.group = "cdrwatch-demo";
    kopts.exit_at_end = true;
    if ((st = cw_kafka_run(pool, cfg, &kopts, &kst, err, sizeof err)) != CW_OK) {
        fprintf(stderr, "cdrwatch: error: %s\n", err);
        rc = st == CW_ERR_USAGE ? CW_EXIT_USAGE : CW_EXIT_FAILURE;
        goto done;
    }

    /* what a consumer of the alerts topic sees */
    if ((st = print_topic(brokers, cfg->alerts_topic, &printed, err, sizeof err)) != CW_OK) {
        fprintf(stderr, "cdrwatch: error: %s\n", err);
        rc = CW_EXIT_FAILURE;
        goto done;
    }
    cw_log(CW_LOG_INFO, "demo: %llu alerts read back from %s (%llu records in, %llu dead letters)",
           (unsigned long long)printed, cfg->alerts_topic, (unsigned long long)kst.records,
           (unsigned long long)kst.dead_total);
done:
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(host);
    return rc;
}
