/*
 * floor-libcsv.c — the floor of CDR CSV decoding: libcsv splitting a CSV file into fields and
 * records, nothing else. The file is read in 1 MiB blocks and handed to csv_parse with the
 * options cdrwatch uses (CSV_STRICT | CSV_STRICT_FINI); the callbacks count fields, records and
 * field bytes. Prints the counts and the seconds spent (reading included, start-up excluded).
 *
 *   floor-libcsv FILE.csv
 *
 * bench/floors.sh compiles it with the system libcsv (-lcsv).
 */
#include <csv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct count {
    long long fields, records, bytes;
};

static void on_field(void *s, size_t len, void *ctx)
{
    struct count *c = ctx;
    (void)s;
    c->fields++;
    c->bytes += (long long)len;
}

static void on_record(int term, void *ctx)
{
    struct count *c = ctx;
    (void)term;
    c->records++;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: floor-libcsv FILE.csv\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (f == NULL) {
        perror(argv[1]);
        return 1;
    }
    struct csv_parser p;
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0)
        return 1;
    static char buf[1u << 20];
    struct count c = {0, 0, 0};
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) {
        if (csv_parse(&p, buf, got, on_field, on_record, &c) != got) {
            fprintf(stderr, "floor-libcsv: %s\n", csv_strerror(csv_error(&p)));
            return 1;
        }
    }
    if (ferror(f) || csv_fini(&p, on_field, on_record, &c) != 0) {
        fprintf(stderr, "floor-libcsv: read or parse error\n");
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    csv_free(&p);
    fclose(f);
    printf("records %lld fields %lld field-bytes %lld seconds %.3f\n", c.records, c.fields, c.bytes,
           (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9);
    return 0;
}
