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
#include "cdrwatch/replay.h"

enum { CW_EXIT_OK = 0, CW_EXIT_FAILURE = 1, CW_EXIT_USAGE = 2 };

int cw_cmd_replay(apr_pool_t *pool, int argc, char **argv);
int cw_cmd_check_config(apr_pool_t *pool, int argc, char **argv);
int cw_cmd_run(apr_pool_t *pool, int argc, char **argv);
int cw_cmd_score(apr_pool_t *pool, int argc, char **argv);
int cw_cmd_demo(apr_pool_t *pool, int argc, char **argv);
int cw_cmd_tune(apr_pool_t *pool, int argc, char **argv);

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
 * return CW_EXIT_USAGE; CW_EXIT_OK with *cfg set otherwise (and cw_cli_warn_no_rule's warning
 * when it applies). */
int cw_cli_load_config(apr_pool_t *pool, const apr_array_header_t *paths, cw_config_t **cfg);

/* A warning when configuration files were given and the merged result enables no rule: nothing
 * can be detected, and the usual cause is a partial file given alone (the first --config file is
 * the base, not a layer on the built-in configuration). */
void cw_cli_warn_no_rule(const cw_config_t *cfg, const apr_array_header_t *paths);

/* The input files of --cdr, --audit and --audit-format, as replay and demo take them: an --audit
 * file is read in the --audit-format given before it, and the first --audit-format also applies
 * to the --audit files given before it. */
typedef struct {
    apr_array_header_t *inputs; /* cw_replay_input_t, in command-line order */
    cw_audit_format_t format;   /* of the next --audit file */
    bool format_given;
} cw_cli_inputs_t;

void cw_cli_inputs_init(apr_pool_t *pool, cw_cli_inputs_t *in);
void cw_cli_add_input(cw_cli_inputs_t *in, cw_stream_t stream, const char *path);
/* --audit-format NAME of command `cmd`: CW_EXIT_OK, or CW_EXIT_USAGE with the message printed. */
int cw_cli_set_audit_format(cw_cli_inputs_t *in, const char *cmd, const char *name);

/* --log-format NAME (text or json): sets the format of the diagnostics (log.h); CW_EXIT_OK, or
 * CW_EXIT_USAGE with "cdrwatch CMD: --log-format: expected text or json, got 'NAME'". */
int cw_cli_set_log_format(const char *cmd, const char *name);

/* The help lines of --log-format, shared by the commands that take it. */
#define CW_CLI_LOG_FORMAT_HELP                                                                      \
    "      --log-format FMT     diagnostics on standard error: text (the default), or json: one\n" \
    "                           object a line for journald and log shippers (doc/logging.md)\n"

#endif
