/*
 * cli.h — the subcommands, and what they share (src/cli.c): the messages for a bad option, the
 * loading of the configuration layers given with --config, and the exit status of a status.
 *
 * Each command returns the process exit status (0, 1 or 2); only main.c calls exit(), and it
 * calls cw_init() once before any command runs. Messages go to standard error, one line each,
 * starting "cdrwatch COMMAND: " for usage errors and "cdrwatch: error: " for the others.
 */
#ifndef CDRWATCH_CLI_H
#define CDRWATCH_CLI_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "cdrwatch/common.h"
#include "cdrwatch/config.h"

enum { CW_EXIT_OK = 0, CW_EXIT_FAILURE = 1, CW_EXIT_USAGE = 2 };

int cw_cmd_replay(apr_pool_t *pool, int argc, char **argv);
int cw_cmd_check_config(apr_pool_t *pool, int argc, char **argv);
int cw_cmd_run(apr_pool_t *pool, int argc, char **argv);
int cw_cmd_score(apr_pool_t *pool, int argc, char **argv);
int cw_cmd_demo(apr_pool_t *pool, int argc, char **argv);

/* The exit status of a status: 0 for CW_OK, 2 for CW_ERR_USAGE, 1 for any other. */
int cw_cli_exit_status(cw_status_t st);

/* Report what getopt_long returned for a bad option of command `cmd` ("replay"): c is ':' for an
 * option without its value, anything else for an unknown option; `opt` is the option as written
 * (argv[optind - 1]). `tail` follows the message ("" or " (see cdrwatch replay --help)\n"...).
 * Returns CW_EXIT_USAGE. */
int cw_cli_option_error(const char *cmd, int c, const char *opt, const char *tail);

/* "cdrwatch: error: MESSAGE" on standard error; returns cw_cli_exit_status(st). */
int cw_cli_error(cw_status_t st, const char *msg);

/* Load the configuration layers given with --config (const char * paths, in order; none: the
 * built-in configuration). On error print the message (file, key path, what was expected) and
 * return CW_EXIT_USAGE; CW_EXIT_OK with *cfg set otherwise. */
int cw_cli_load_config(apr_pool_t *pool, const apr_array_header_t *paths, cw_config_t **cfg);

#endif
