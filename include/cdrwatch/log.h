/*
 * log.h — diagnostics on standard error. Standard output carries only alerts.
 */
#ifndef CDRWATCH_LOG_H
#define CDRWATCH_LOG_H

typedef enum { CW_LOG_ERROR = 0, CW_LOG_WARN, CW_LOG_INFO, CW_LOG_DEBUG } cw_log_level_t;

void cw_log_set_level(cw_log_level_t level);
cw_log_level_t cw_log_get_level(void);
void cw_log(cw_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
