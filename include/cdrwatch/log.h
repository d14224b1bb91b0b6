/*
 * log.h — diagnostics on standard error. Standard output carries only alerts.
 *
 * Two formats (--log-format): text, "cdrwatch: LEVEL: message" a line, for people; json, one
 * object a line, for journald and log shippers (doc/logging.md). A JSON line holds the ECS
 * logging fields "@timestamp" (UTC, ms), "log.level", "log.logger" ("cdrwatch"), "message",
 * "process.pid", and the members a caller adds (cw_log_with): a report such as the run's stats
 * is then one object, its figures members of their own. Every line is written with one call, so
 * lines from several threads (librdkafka's among them) do not mix. Text that is not valid UTF-8
 * is repaired (U+FFFD) in JSON, so every line parses.
 */
#ifndef CDRWATCH_LOG_H
#define CDRWATCH_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum { CW_LOG_ERROR = 0, CW_LOG_WARN, CW_LOG_INFO, CW_LOG_DEBUG } cw_log_level_t;
typedef enum { CW_LOG_TEXT = 0, CW_LOG_JSON } cw_log_format_t;

void cw_log_set_level(cw_log_level_t level);
cw_log_level_t cw_log_get_level(void);
void cw_log_set_format(cw_log_format_t format);
cw_log_format_t cw_log_get_format(void);
/* "text" or "json"; false for anything else. */
bool cw_log_format_parse(const char *name, cw_log_format_t *format);

/* A message at a level (dropped above the level set). */
void cw_log(cw_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* As cw_log; in JSON, members (NULL or "\"name\":value,..." — already JSON, no leading or
 * trailing comma) are added to the object after "message". Text ignores them. */
void cw_log_with(cw_log_level_t level, const char *members, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A report the command prints whatever the level (a summary, a dead letter without --dlq): text
 * "cdrwatch: message", with no level word; JSON an object at level `level`, with members. */
void cw_log_report(cw_log_level_t level, const char *members, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* One line from elsewhere (librdkafka's log): text "cdrwatch: LEVEL: kafka: CLIENT: FACILITY:
 * message"; JSON with "log.origin.facility" style members: "kafka.client", "kafka.facility". */
void cw_log_kafka(cw_log_level_t level, const char *client, const char *facility, const char *msg);

/* s as a JSON string (quoted, escaped, repaired to valid UTF-8, cut at 2 KiB) into buf, NUL
 * terminated: for the members of cw_log_with. Returns buf ("\"\"" if buflen is too small). */
char *cw_log_json_text(char *buf, size_t buflen, const char *s);

/* The JSON of a log line into buf (for tests): what cw_log_with would write in JSON mode, at
 * wall-clock time now_ms, with its '\n'. Returns the length (< buflen; a long message is cut). */
size_t cw_log_format_json(char *buf, size_t buflen, long long now_ms, cw_log_level_t level, const char *members,
                          const char *fmt, va_list ap) __attribute__((format(printf, 6, 0)));

#endif
