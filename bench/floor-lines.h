/*
 * floor-lines.h — the line reader of bench/floor-cjson.c: the file read
 * in 1 MiB blocks, lines found with memchr, each handed to a callback without its newline. A
 * line longer than the buffer grows it. Header-only so each floor is one `cc` command.
 */
#ifndef FLOOR_LINES_H
#define FLOOR_LINES_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double floor_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* floor_lines: calls line(text, length, ctx) for every line of f; returns 0, or -1 on error */
static int floor_lines(FILE *f, void (*line)(const char *, size_t, void *), void *ctx)
{
    size_t cap = 1u << 20, have = 0;
    char *buf = malloc(cap);
    if (buf == NULL)
        return -1;
    for (;;) {
        if (have == cap) {
            char *bigger = realloc(buf, cap * 2);
            if (bigger == NULL) {
                free(buf);
                return -1;
            }
            buf = bigger;
            cap *= 2;
        }
        size_t got = fread(buf + have, 1, cap - have, f);
        have += got;
        char *p = buf, *end = buf + have, *nl;
        while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
            if (nl > p)
                line(p, (size_t)(nl - p), ctx);
            p = nl + 1;
        }
        have = (size_t)(end - p);
        memmove(buf, p, have);
        if (got == 0) {
            if (have > 0)
                line(buf, have, ctx); /* a last line without its newline */
            free(buf);
            return ferror(f) ? -1 : 0;
        }
    }
}
#endif
