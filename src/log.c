/*
 * log.c — diagnostics on standard error, prefixed with the program name.
 */
#include <stdarg.h>
#include <stdio.h>
#include "cdrwatch/log.h"

static cw_log_level_t current_level = CW_LOG_INFO;

void cw_log_set_level(cw_log_level_t level) { current_level = level; }
cw_log_level_t cw_log_get_level(void) { return current_level; }

void cw_log(cw_log_level_t level, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warning", "info", "debug"};
    va_list ap;
    if (level > current_level)
        return;
    fprintf(stderr, "cdrwatch: %s: ", names[level]);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}
