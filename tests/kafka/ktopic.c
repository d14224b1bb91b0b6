/*
 * ktopic.c — the topic administration the real-broker tests need and kcat does not do: delete a
 * topic, or print a topic's cleanup.policy (librdkafka's Admin API, as cdrwatch uses it).
 *
 *   ktopic BROKERS delete TOPIC     exit 0 once the broker has deleted it
 *   ktopic BROKERS policy TOPIC     print "cleanup.policy=VALUE"; exit 1 if the topic is missing
 *
 * Errors go to standard error with exit status 1 (2 for a usage error).
 */
#include <stdio.h>
#include <string.h>
#include <librdkafka/rdkafka.h>

#define TIMEOUT_MS 15000

static rd_kafka_t *client(const char *brokers)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;
    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, sizeof err) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "ktopic: %s\n", err);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err)))
        fprintf(stderr, "ktopic: %s\n", err);
    return rk;
}

/* Wait for the admin result on q; NULL (message printed) on timeout or a request error. */
static rd_kafka_event_t *result(rd_kafka_queue_t *q, const char *what)
{
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, TIMEOUT_MS + 5000);
    if (!ev) {
        fprintf(stderr, "ktopic: %s: no answer\n", what);
        return NULL;
    }
    if (rd_kafka_event_error(ev)) {
        fprintf(stderr, "ktopic: %s: %s\n", what, rd_kafka_event_error_string(ev));
        rd_kafka_event_destroy(ev);
        return NULL;
    }
    return ev;
}

static int delete_topic(rd_kafka_t *rk, rd_kafka_queue_t *q, const char *topic)
{
    rd_kafka_DeleteTopic_t *dt = rd_kafka_DeleteTopic_new(topic);
    rd_kafka_event_t *ev;
    const rd_kafka_topic_result_t **tr;
    size_t n = 0;
    int rc = 1;
    rd_kafka_DeleteTopics(rk, &dt, 1, NULL, q);
    rd_kafka_DeleteTopic_destroy(dt);
    if (!(ev = result(q, "delete")))
        return 1;
    tr = rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &n);
    if (n == 1 && rd_kafka_topic_result_error(tr[0]))
        fprintf(stderr, "ktopic: delete %s: %s\n", topic, rd_kafka_topic_result_error_string(tr[0]));
    else
        rc = n == 1 ? 0 : 1;
    rd_kafka_event_destroy(ev);
    return rc;
}

static int print_policy(rd_kafka_t *rk, rd_kafka_queue_t *q, const char *topic)
{
    rd_kafka_ConfigResource_t *cr = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
    rd_kafka_event_t *ev;
    const rd_kafka_ConfigResource_t **res;
    size_t n = 0;
    int rc = 1;
    rd_kafka_DescribeConfigs(rk, &cr, 1, NULL, q);
    rd_kafka_ConfigResource_destroy(cr);
    if (!(ev = result(q, "describe")))
        return 1;
    res = rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &n);
    if (n == 1 && rd_kafka_ConfigResource_error(res[0])) {
        fprintf(stderr, "ktopic: describe %s: %s\n", topic, rd_kafka_ConfigResource_error_string(res[0]));
    } else if (n == 1) {
        size_t nc = 0;
        const rd_kafka_ConfigEntry_t **c = rd_kafka_ConfigResource_configs(res[0], &nc);
        for (size_t i = 0; i < nc; i++)
            if (strcmp(rd_kafka_ConfigEntry_name(c[i]), "cleanup.policy") == 0) {
                printf("cleanup.policy=%s\n", rd_kafka_ConfigEntry_value(c[i]));
                rc = 0;
            }
    }
    rd_kafka_event_destroy(ev);
    return rc;
}

int main(int argc, char **argv)
{
    rd_kafka_t *rk;
    rd_kafka_queue_t *q;
    int rc;
    if (argc != 4 || (strcmp(argv[2], "delete") != 0 && strcmp(argv[2], "policy") != 0)) {
        fputs("usage: ktopic BROKERS delete|policy TOPIC\n", stderr);
        return 2;
    }
    if (!(rk = client(argv[1])))
        return 1;
    q = rd_kafka_queue_new(rk);
    rc = strcmp(argv[2], "delete") == 0 ? delete_topic(rk, q, argv[3]) : print_policy(rk, q, argv[3]);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    return rc;
}
