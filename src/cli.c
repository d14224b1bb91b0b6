/*
 * cli.c — what the subcommands share: bad-option messages, configuration loading, exit status.
 * See cdrwatch/cli.h. Nothing here exits; main.c does, with the status a command returns.
 */
#include <stdio.h>
#include "cdrwatch/cli.h"
#include "cdrwatch/log.h"

int cw_cli_exit_status(cw_status_t st)
{
    if (st == CW_OK)
        return CW_EXIT_OK;
    return st == CW_ERR_USAGE ? CW_EXIT_USAGE : CW_EXIT_FAILURE;
}

int cw_cli_option_error(const char *cmd, int c, const char *opt, const char *tail)
{
    if (c == ':')
        fprintf(stderr, "cdrwatch %s: option '%s' needs a value%s", cmd, opt, tail);
    else
        fprintf(stderr, "cdrwatch %s: unknown option '%s'%s", cmd, opt, tail);
    return CW_EXIT_USAGE;
}

int cw_cli_error(cw_status_t st, const char *msg)
{
    cw_log(CW_LOG_ERROR, "%s", msg);
    return cw_cli_exit_status(st);
}

int cw_cli_set_log_format(const char *cmd, const char *name)
{
    cw_log_format_t f;
    if (!cw_log_format_parse(name, &f)) {
        fprintf(stderr, "cdrwatch %s: --log-format: expected text or json, got '%s'\n", cmd, name);
        return CW_EXIT_USAGE;
    }
    cw_log_set_format(f);
    return CW_EXIT_OK;
}

int cw_cli_load_config(apr_pool_t *pool, const apr_array_header_t *paths, cw_config_t **cfg)
{
    char err[1024];
    cw_status_t st = cw_config_load_layers(pool, (const char *const *)paths->elts, paths->nelts, cfg, err,
                                           sizeof err);
    if (st != CW_OK) {
        cw_cli_error(st, err);
        return CW_EXIT_USAGE;
    }
    cw_cli_warn_no_rule(*cfg, paths);
    return CW_EXIT_OK;
}

void cw_cli_warn_no_rule(const cw_config_t *cfg, const apr_array_header_t *paths)
{
    for (int i = 0; i < cfg->n_rules; i++)
        if (cfg->rules[i].enabled)
            return;
    if (paths->nelts == 0)
        return;
    cw_log(CW_LOG_WARN,
           "%s: the configuration enables no rule: nothing will be detected (the first --config file is the "
           "base, not a layer on the built-in configuration: to change some settings only, give the full "
           "configuration, config/cdrwatch.json, first and this file after it)",
           APR_ARRAY_IDX(paths, paths->nelts - 1, const char *));
}

void cw_cli_inputs_init(apr_pool_t *pool, cw_cli_inputs_t *in)
{
    in->inputs = apr_array_make(pool, 8, sizeof(cw_replay_input_t));
    in->format = CW_AUDIT_CANONICAL;
    in->format_given = false;
}

void cw_cli_add_input(cw_cli_inputs_t *in, cw_stream_t stream, const char *path)
{
    cw_replay_input_t *r = apr_array_push(in->inputs);
    r->path = path;
    r->stream = stream;
    r->format = stream == CW_STREAM_AUDIT ? in->format : CW_AUDIT_CANONICAL;
    r->tz = NULL; /* the command sets it (replay --audit-tz, inputs.audit.tz) */
}

int cw_cli_set_audit_format(cw_cli_inputs_t *in, const char *cmd, const char *name)
{
    if (!cw_audit_format_parse(name, &in->format)) {
        fprintf(stderr, "cdrwatch %s: --audit-format: expected canonical, pgaudit, mariadb, mysql-json, oracle-csv, mssql-csv, oracle-json, oracle-xml, percona-json or percona-xml, got '%s'\n",
                cmd, name);
        return CW_EXIT_USAGE;
    }
    for (int i = 0; !in->format_given && i < in->inputs->nelts; i++) {
        cw_replay_input_t *r = &APR_ARRAY_IDX(in->inputs, i, cw_replay_input_t);
        if (r->stream == CW_STREAM_AUDIT) /* given before the first --audit-format */
            r->format = in->format;
    }
    in->format_given = true;
    return CW_EXIT_OK;
}
