/*
 * metrics.c — the summary of the engine's counters: a line for people, an object for machines.
 */
#include <stdarg.h>
#include "cdrwatch/metrics.h"

uint64_t cw_metrics_dead_total(const cw_metrics_t *m)
{
    uint64_t n = 0;
    for (int r = 0; r < CW_DEC_REASON_COUNT; r++)
        n += m->dead[r];
    return n;
}

void cw_metrics_print(const cw_metrics_t *m, FILE *out)
{
    bool first = true;
    fprintf(out, "records: cdr=%llu audit=%llu; alerts: %llu (suppressed crossings %llu); dead letters: %llu",
            (unsigned long long)m->records[CW_STREAM_CDR], (unsigned long long)m->records[CW_STREAM_AUDIT],
            (unsigned long long)m->alerts, (unsigned long long)m->suppressed,
            (unsigned long long)cw_metrics_dead_total(m));
    for (int r = 1; r < CW_DEC_REASON_COUNT; r++) {
        if (!m->dead[r])
            continue;
        fprintf(out, "%s%s=%llu", first ? " (" : ", ", cw_reason_name((cw_reason_t)r),
                (unsigned long long)m->dead[r]);
        first = false;
    }
    fprintf(out, "%s; skipped lines: %llu; evicted keys: %llu", first ? "" : ")", (unsigned long long)m->skipped,
            (unsigned long long)m->evictions);
    if (m->spared)
        fprintf(out, " (hot keys spared: %llu)", (unsigned long long)m->spared);
    fprintf(out, "; too old for a window: %llu", (unsigned long long)m->too_old_for_window);
    if (m->damaged_records) {
        fprintf(out, "; damaged records: %llu", (unsigned long long)m->damaged_records);
        for (int k = 0, n = 0; k < CW_DAMAGE_KINDS; k++) {
            if (m->damaged[k])
                fprintf(out, "%s%s=%llu", n++ ? ", " : " (", cw_damage_name(k), (unsigned long long)m->damaged[k]);
        }
        fputs(")", out);
    }
    fputs("\n", out);
}

/* snprintf into buf at *n; false once it no longer fits */
static bool add(char *buf, size_t buflen, size_t *n, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static bool add(char *buf, size_t buflen, size_t *n, const char *fmt, ...)
{
    va_list ap;
    int len;
    if (*n >= buflen)
        return false;
    va_start(ap, fmt);
    len = vsnprintf(buf + *n, buflen - *n, fmt, ap);
    va_end(ap);
    if (len < 0 || (size_t)len >= buflen - *n) {
        *n = buflen;
        return false;
    }
    *n += (size_t)len;
    return true;
}

size_t cw_metrics_json(const cw_metrics_t *m, char *buf, size_t buflen)
{
    size_t n = 0;
    add(buf, buflen, &n, "{\"records\":{\"cdr\":%llu,\"audit\":%llu},\"alerts\":%llu,\"suppressed_crossings\":%llu,"
        "\"dead_letters\":{\"total\":%llu", (unsigned long long)m->records[CW_STREAM_CDR],
        (unsigned long long)m->records[CW_STREAM_AUDIT], (unsigned long long)m->alerts,
        (unsigned long long)m->suppressed, (unsigned long long)cw_metrics_dead_total(m));
    for (int r = 1; r < CW_DEC_REASON_COUNT; r++)
        if (m->dead[r])
            add(buf, buflen, &n, ",\"%s\":%llu", cw_reason_name((cw_reason_t)r), (unsigned long long)m->dead[r]);
    add(buf, buflen, &n, "},\"skipped_lines\":%llu,\"evicted_keys\":%llu,\"hot_keys_spared\":%llu,"
        "\"too_old_for_window\":%llu,\"damaged_records\":{\"total\":%llu", (unsigned long long)m->skipped,
        (unsigned long long)m->evictions, (unsigned long long)m->spared, (unsigned long long)m->too_old_for_window,
        (unsigned long long)m->damaged_records);
    for (int k = 0; k < CW_DAMAGE_KINDS; k++)
        if (m->damaged[k])
            add(buf, buflen, &n, ",\"%s\":%llu", cw_damage_name(k), (unsigned long long)m->damaged[k]);
    if (!add(buf, buflen, &n, "}}")) {
        if (buflen)
            buf[0] = '\0';
        return 0;
    }
    return n;
}
