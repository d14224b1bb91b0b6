/*
 * floor-cjson.c — the floor of audit JSON decoding: cJSON parsing each line of a JSON Lines
 * file, nothing else. For each line: cJSON_ParseWithLengthOpts, one field read (so that the
 * parse is not optimised away), cJSON_Delete. Prints the lines, the lines parsed, and the
 * seconds spent (reading included, start-up excluded).
 *
 *   floor-cjson [--arena] FILE.jsonl
 *
 * By default cJSON allocates with malloc/free, as a user of the library would. --arena gives it
 * the bump arena cdrwatch uses (src/decode.c: a 4 MiB block rewound after each record) to show
 * how much of the floor is the allocator. bench/floors.sh compiles it with the system cJSON.
 */
#include <cjson/cJSON.h>
#include "floor-lines.h"

#define ARENA_SIZE (4u << 20)
static unsigned char *arena_base;
static size_t arena_used;

static void *arena_malloc(size_t n)
{
    size_t need = (n + 15) & ~(size_t)15;
    if (need <= ARENA_SIZE - arena_used) {
        void *p = arena_base + arena_used;
        arena_used += need;
        return p;
    }
    return malloc(n);
}

static void arena_free(void *p)
{
    unsigned char *q = p;
    if (q >= arena_base && q < arena_base + ARENA_SIZE)
        return;
    free(p);
}

struct count {
    long long lines, parsed, touched;
};

static void one_line(const char *text, size_t len, void *ctx)
{
    struct count *c = ctx;
    const char *end = NULL;
    c->lines++;
    arena_used = 0;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (root == NULL)
        return;
    c->parsed++;
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(root, "principal");
    if (cJSON_IsString(p))
        c->touched += (long long)strlen(p->valuestring);
    cJSON_Delete(root);
}

int main(int argc, char **argv)
{
    int arena = argc == 3 && strcmp(argv[1], "--arena") == 0;
    if (argc != 2 + arena) {
        fprintf(stderr, "usage: floor-cjson [--arena] FILE.jsonl\n");
        return 2;
    }
    FILE *f = fopen(argv[1 + arena], "rb");
    if (f == NULL) {
        perror(argv[1 + arena]);
        return 1;
    }
    if (arena) {
        cJSON_Hooks hooks = {arena_malloc, arena_free};
        if ((arena_base = malloc(ARENA_SIZE)) == NULL)
            return 1;
        cJSON_InitHooks(&hooks);
    }
    struct count c = {0, 0, 0};
    double t0 = floor_now();
    int rc = floor_lines(f, one_line, &c);
    double t = floor_now() - t0;
    fclose(f);
    if (rc != 0) {
        fprintf(stderr, "floor-cjson: read error\n");
        return 1;
    }
    printf("lines %lld parsed %lld principal-bytes %lld seconds %.3f allocator %s\n", c.lines, c.parsed,
           c.touched, t, arena ? "arena" : "malloc");
    return 0;
}
