/*
 * cli.h — the subcommands. Each returns the process exit status (0, 1 or 2); only main.c
 * calls exit().
 */
#ifndef CDRWATCH_CLI_H
#define CDRWATCH_CLI_H

#include <apr_pools.h>

enum { CW_EXIT_OK = 0, CW_EXIT_FAILURE = 1, CW_EXIT_USAGE = 2 };

int cw_cmd_replay(apr_pool_t *pool, int argc, char **argv);
int cw_cmd_check_config(apr_pool_t *pool, int argc, char **argv);
int cw_cmd_run(apr_pool_t *pool, int argc, char **argv);
int cw_cmd_score(apr_pool_t *pool, int argc, char **argv);
int cw_cmd_demo(apr_pool_t *pool, int argc, char **argv);

#endif
