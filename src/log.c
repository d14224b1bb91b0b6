/*
 * log.c — diagnostics on standard error, as text for people or as one JSON object a line for
 * machines (see log.h). Each line is built in a buffer on the stack and written with one fputs:
 * stdio locks the stream for the call, so lines from librdkafka's threads and ours never mix.
 * Nothing here allocates.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
#include "cdrwatch/alert.h"
#include "cdrwatch/decode.h"
#include "cdrwatch/event.h"
#include "cdrwatch/log.h"

#define LINE_MAX_BYTES 20480 /* a line's budget: the message escaped at worst, and the members */
#define MESSAGE_MAX 2048    /* the message's own budget inside a JSON line, before escaping */

static cw_log_level_t current_level = CW_LOG_INFO;
static cw_log_format_t current_format = CW_LOG_TEXT;
static const char *const level_names[] = {"error", "warning", "info", "debug"};

void cw_log_set_level(cw_log_level_t level) { current_level = level; }
cw_log_level_t cw_log_get_level(void) { return current_level; }
void cw_log_set_format(cw_log_format_t format) { current_format = format; }
cw_log_format_t cw_log_get_format(void) { return current_format; }

bool cw_log_format_parse(const char *name, cw_log_format_t *format)
{
    if (strcmp(name, "text") == 0)
        *format = CW_LOG_TEXT;
    else if (strcmp(name, "json") == 0)
        *format = CW_LOG_JSON;
    else
        return false;
    return true;
}

static long long now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void put_raw(char *buf, size_t buflen, size_t *n, const char *s)
{
    size_t len = strlen(s);
    if (*n + len < buflen) {
        memcpy(buf + *n, s, len);
        *n += len;
    }
}

/* Append text to buf at *n as a JSON string, repaired to valid UTF-8 first. */
static void put_string(char *buf, size_t buflen, size_t *n, const char *text, size_t len)
{
    char fixed[MESSAGE_MAX + 1];
    unsigned damage = 0;
    size_t m = cw_text_repair(fixed, MESSAGE_MAX, text, len, &damage);
    size_t at = cw_json_string(buf, *n, buflen, fixed, m, MESSAGE_MAX);
    if (at < buflen)
        *n = at;
    else
        put_raw(buf, buflen, n, "\"\""); /* cannot happen with the budgets above; still valid JSON */
}

char *cw_log_json_text(char *buf, size_t buflen, const char *s)
{
    size_t n = 0;
    put_string(buf, buflen - 1, &n, s, strlen(s));
    buf[n < buflen ? n : 0] = '\0';
    return buf;
}

/* {"@timestamp":…,"log.level":…,"log.logger":"cdrwatch","message":…,"process.pid":…[,members]} */
static size_t json_line(char *buf, size_t buflen, long long when, cw_log_level_t level, const char *members,
                        const char *message, size_t message_len)
{
    char t[32], pid[64];
    size_t n = 0;
    put_raw(buf, buflen, &n, "{\"@timestamp\":\"");
    put_raw(buf, buflen, &n, cw_time_format((cw_time_t)when, t));
    put_raw(buf, buflen, &n, "\",\"log.level\":\"");
    put_raw(buf, buflen, &n, level_names[level]);
    put_raw(buf, buflen, &n, "\",\"log.logger\":\"cdrwatch\",\"message\":");
    put_string(buf, buflen, &n, message, message_len);
    snprintf(pid, sizeof pid, ",\"process.pid\":%ld", (long)getpid());
    put_raw(buf, buflen, &n, pid);
    /* the members whole or not at all: half an object would not parse */
    if (members && *members && n + strlen(members) + 3 < buflen) {
        put_raw(buf, buflen, &n, ",");
        put_raw(buf, buflen, &n, members);
    }
    put_raw(buf, buflen, &n, "}\n");
    buf[n] = '\0';
    return n;
}

size_t cw_log_format_json(char *buf, size_t buflen, long long now, cw_log_level_t level, const char *members,
                          const char *fmt, va_list ap)
{
    char message[MESSAGE_MAX + 1];
    int len = vsnprintf(message, sizeof message, fmt, ap);
    size_t mlen = len < 0 ? 0 : (size_t)len < sizeof message ? (size_t)len : sizeof message - 1;
    return json_line(buf, buflen, now, level, members, message, mlen);
}

/* Write one line: text "cdrwatch: [LEVEL: ]message", or the JSON object. */
static void emit(cw_log_level_t level, bool level_word, const char *members, const char *fmt, va_list ap)
{
    char line[LINE_MAX_BYTES];
    if (current_format == CW_LOG_JSON) {
        cw_log_format_json(line, sizeof line, now_ms(), level, members, fmt, ap);
    } else {
        int head = level_word ? snprintf(line, sizeof line, "cdrwatch: %s: ", level_names[level])
                              : snprintf(line, sizeof line, "cdrwatch: ");
        int len = vsnprintf(line + head, sizeof line - (size_t)head - 1, fmt, ap);
        size_t end = (size_t)head + (len < 0 ? 0 : (size_t)len);
        if (end > sizeof line - 2)
            end = sizeof line - 2;
        line[end] = '\n';
        line[end + 1] = '\0';
    }
    fputs(line, stderr);
}

void cw_log(cw_log_level_t level, const char *fmt, ...)
{
    va_list ap;
    if (level > current_level)
        return;
    va_start(ap, fmt);
    emit(level, true, NULL, fmt, ap);
    va_end(ap);
}

void cw_log_with(cw_log_level_t level, const char *members, const char *fmt, ...)
{
    va_list ap;
    if (level > current_level)
        return;
    va_start(ap, fmt);
    emit(level, true, members, fmt, ap);
    va_end(ap);
}

void cw_log_report(cw_log_level_t level, const char *members, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit(level, false, members, fmt, ap);
    va_end(ap);
}

void cw_log_kafka(cw_log_level_t level, const char *client, const char *facility, const char *msg)
{
    char members[512];
    size_t n = 0;
    if (level > current_level)
        return;
    if (current_format == CW_LOG_TEXT) {
        cw_log(level, "kafka: %s: %s: %s", client, facility, msg);
        return;
    }
    put_raw(members, sizeof members, &n, "\"kafka.client\":");
    put_string(members, sizeof members, &n, client, strlen(client));
    put_raw(members, sizeof members, &n, ",\"kafka.facility\":");
    put_string(members, sizeof members, &n, facility, strlen(facility));
    members[n] = '\0';
    cw_log_with(level, members, "kafka: %s", msg);
}
