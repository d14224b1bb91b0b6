/*
 * fuzz_config.c — the configuration loader and printer, alone and as a layer on the built-in
 * default: the input is a configuration file.
 *
 * Property: a configuration that loads prints as a configuration that loads and prints the same
 * (parse, print, parse, print: the two prints equal), as config.h promises of cw_config_print;
 * the same for the layered one (the default, then the input as a file on top).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cdrwatch/config.h"
#include "fuzz.h"

/* cfg printed into a malloc'd string (*len bytes), which the caller frees. */
static char *print(const cw_config_t *cfg, size_t *len)
{
    char *text = NULL;
    FILE *f = open_memstream(&text, len);
    if (!f)
        fuzz_fail("open_memstream");
    cw_config_print(cfg, f);
    if (fclose(f) != 0)
        fuzz_fail("cannot print the configuration");
    return text;
}

/* Print cfg, load the print, print that: the same text, or abort. */
static void check_print(apr_pool_t *p, const cw_config_t *cfg)
{
    char err[1024];
    size_t len1, len2;
    cw_config_t *again;
    char *first = print(cfg, &len1);
    if (cw_config_parse(p, "printed", first, len1, &again, err, sizeof err) != CW_OK) {
        fprintf(stderr, "%s\n", err);
        fuzz_fail("a printed configuration does not load");
    }
    char *second = print(again, &len2);
    if (len1 != len2 || memcmp(first, second, len1) != 0)
        fuzz_fail("a printed configuration, loaded, prints differently");
    free(first);
    free(second);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    char err[1024];
    cw_config_t *cfg;
    if (cw_config_parse(p, "fuzz", (const char *)data, size, &cfg, err, sizeof err) == CW_OK)
        check_print(p, cfg);
    const char *layers[2] = {NULL, fuzz_file(data, size, ".json")};
    if (cw_config_load_layers(p, layers, 2, &cfg, err, sizeof err) == CW_OK) {
        check_print(p, cfg);
        FILE *devnull = fopen("/dev/null", "w");
        if (devnull) {
            cw_config_print_origins(cfg, devnull);
            fclose(devnull);
        }
    }
    return 0;
}
