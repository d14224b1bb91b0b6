/*
 * cmd_check.c — `cdrwatch check-config`: validate a configuration, print the effective one, or
 * print the option reference generated from the option tables.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "cdrwatch/config.h"
#include <apr_strings.h>
#include "cdrwatch/cli.h"

static const char usage[] =
    "Usage: cdrwatch check-config [--config FILE]... [--origin] [--list-options[=man]]\n"
    "\n"
    "Validate FILE (default: the built-in configuration, a copy of config/cdrwatch.json) and\n"
    "print the effective configuration as JSON, every default filled in and secrets redacted.\n"
    "The output is itself a valid configuration. On error, print the file, the key path and\n"
    "what was expected, and exit 2.\n"
    "\n"
    "  -c, --config FILE        the configuration to check; given more than once, the files\n"
    "                           are layers: later ones override earlier ones (objects merged\n"
    "                           key by key, rules matched by id, lists replaced)\n"
    "      --origin             print, instead, every option's key path and the file its\n"
    "                           value came from, or (default), separated by a tab\n"
    "      --list-options[=man] print every option with its type, default, range and help\n"
    "                           (as roff for the man page with =man) instead\n"
    "  -h, --help               this text\n"
    "\n"
    "Examples:\n"
    "  cdrwatch check-config --config my.json > effective.json\n"
    "  cdrwatch check-config --config site.json --config tuned.json --origin | grep -v default\n";

int cw_cmd_check_config(apr_pool_t *pool, int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"list-options", optional_argument, NULL, 'L'},
                                         {"origin", no_argument, NULL, 'O'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    apr_array_header_t *configs = apr_array_make(pool, 2, sizeof(const char *));
    cw_config_t *cfg;
    bool origin = false;
    int c, rc;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': *(const char **)apr_array_push(configs) = optarg; break;
        case 'L':
            if (optarg && strcmp(optarg, "man") != 0) {
                fprintf(stderr, "cdrwatch check-config: --list-options takes no value or =man, got '%s'\n", optarg);
                return CW_EXIT_USAGE;
            }
            cw_config_describe(stdout, optarg != NULL);
            return CW_EXIT_OK;
        case 'O': origin = true; break;
        case 'h': fputs(usage, stdout); return CW_EXIT_OK;
        default:
            return cw_cli_option_error("check-config", c, argv[optind - 1], apr_pstrcat(pool, "\n", usage, NULL));
        }
    }
    if (optind < argc) {
        fprintf(stderr, "cdrwatch check-config: unexpected argument '%s'\n%s", argv[optind], usage);
        return CW_EXIT_USAGE;
    }
    if ((rc = cw_cli_load_config(pool, configs, &cfg)) != CW_EXIT_OK)
        return rc;
    if (origin)
        cw_config_print_origins(cfg, stdout);
    else
        cw_config_print(cfg, stdout);
    if (fflush(stdout) != 0) {
        perror("cdrwatch: error: standard output");
        return CW_EXIT_FAILURE;
    }
    return CW_EXIT_OK;
}
