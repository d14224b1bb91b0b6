/*
 * audit-stream.c — synthetic database audit records (JSON Lines, SPEC §1.2) for the Kafka
 * benchmark, optionally paced to a steady rate.
 *
 *   audit-stream --count N [--rate R] [--live] [--burst K]
 *
 * Record i is a SELECT of 1 row on a CDR table by principal "u<i / K>" (K = --burst, default
 * 100): each principal makes K consecutive records, so a rule counting a principal's reads with
 * threshold K raises one alert per principal, on its K-th record — a steady stream of alerts.
 * Event times start at 2026-03-02T00:00:00Z and advance 1 ms per record, or, with --live, are
 * the wall clock when the record is written (to measure latency). --rate paces the output to R
 * records per second (0, the default: as fast as possible); each line is flushed when paced.
 * Plain C, no dependency: bench/kafka.sh compiles it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    long long count = -1, burst = 100, t = 1772409600000LL;
    double rate = 0, start;
    int live = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
            count = atoll(argv[++i]);
        else if (strcmp(argv[i], "--rate") == 0 && i + 1 < argc)
            rate = atof(argv[++i]);
        else if (strcmp(argv[i], "--burst") == 0 && i + 1 < argc)
            burst = atoll(argv[++i]);
        else if (strcmp(argv[i], "--live") == 0)
            live = 1;
        else {
            fprintf(stderr, "usage: audit-stream --count N [--rate R] [--live] [--burst K]\n");
            return 2;
        }
    }
    if (count < 0 || burst < 1 || rate < 0) {
        fprintf(stderr, "audit-stream: --count N is required (N >= 0), --burst >= 1, --rate >= 0\n");
        return 2;
    }
    start = mono_s();
    for (long long i = 0; i < count; i++) {
        if (rate > 0) { /* the i-th record is due at start + i / rate */
            double due = start + (double)i / rate, wait = due - mono_s();
            if (wait > 0) {
                struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
                nanosleep(&ts, NULL);
            }
        }
        printf("{\"ts\":%lld,\"principal\":\"u%lld\",\"action\":\"SELECT\",\"client_host\":\"ws-%lld.corp.example\","
               "\"client_app\":\"psql\",\"db\":\"mediation\",\"object\":\"mediation.cdr_voice\",\"rows\":1,"
               "\"statement\":\"SELECT * FROM mediation.cdr_voice WHERE calling_msisdn = '+4479%08lld'\","
               "\"status\":\"ok\"}\n",
               live ? now_ms() : t + i, i / burst, i / burst % 500, i % 100000000);
        if (rate > 0 && fflush(stdout) != 0)
            return 1;
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
