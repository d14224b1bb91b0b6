/*
 * rules.c — filter, key and metric value of a rule for one record. No state, no allocation.
 */
#include <stdio.h>
#include <string.h>
#include "cdrwatch/rules.h"

static bool any_match(const cw_strlist_t *l, const char *value)
{
    for (int i = 0; i < l->n; i++) {
        if (cw_glob_match(l->items[i], value))
            return true;
    }
    return false;
}

bool cw_rule_matches(const cw_rule_t *rule, const cw_event_t *ev)
{
    if (!rule->enabled || rule->stream != ev->stream)
        return false;
    if (ev->stream == CW_STREAM_AUDIT && ev->u.audit.failed && !rule->include_failed)
        return false;
    for (int i = 0; i < rule->n_conds; i++) {
        const cw_cond_t *c = &rule->conds[i];
        const char *v = cw_event_str(ev, c->field);
        char num[24];
        if (!*v && cw_event_has(ev, c->field) && c->field != CW_F_STATEMENT) {
            /* a numeric field: match on its decimal text */
            snprintf(num, sizeof num, "%lld", (long long)cw_event_num(ev, c->field));
            v = num;
        }
        if (c->any.n && !any_match(&c->any, v))
            return false;
        if (c->none.n && any_match(&c->none, v))
            return false;
    }
    return true;
}

static size_t field_max(cw_field_t f)
{
    switch (f) {
    case CW_F_CALLING_MSISDN:
    case CW_F_CALLED_MSISDN: return CW_MSISDN_MAX;
    case CW_F_CLIENT_HOST: return CW_HOST_MAX;
    case CW_F_OBJECT: return CW_OBJECT_MAX;
    case CW_F_ACTION: return CW_ACTION_MAX;
    case CW_F_STATEMENT: return 256; /* keys on statements are cut: see cw_rule_key */
    case CW_F_PRINCIPAL:
    case CW_F_CLIENT_APP:
    case CW_F_DB: return CW_NAME_MAX;
    default: return CW_ID_MAX;
    }
}

size_t cw_rule_key_max(const cw_rule_t *rule)
{
    size_t n = 0;
    for (int i = 0; i < rule->n_key; i++)
        n += field_max(rule->key[i]) + 1;
    return n;
}

size_t cw_rule_key(const cw_rule_t *rule, const cw_event_t *ev, char *buf, size_t buflen)
{
    size_t len = 0;
    for (int i = 0; i < rule->n_key; i++) {
        const char *v = cw_event_str(ev, rule->key[i]);
        size_t n = strlen(v), max = field_max(rule->key[i]);
        char num[24];
        if (!*v && cw_event_has(ev, rule->key[i])) {
            n = (size_t)snprintf(num, sizeof num, "%lld", (long long)cw_event_num(ev, rule->key[i]));
            v = num;
        }
        if (n > max)
            n = max;
        if (i && len < buflen)
            buf[len++] = CW_KEY_SEP;
        if (len + n > buflen)
            n = buflen - len;
        memcpy(buf + len, v, n);
        len += n;
    }
    return len;
}

int64_t cw_rule_value(const cw_rule_t *rule, const cw_event_t *ev)
{
    if (rule->metric == CW_METRIC_COUNT)
        return 1;
    return cw_event_num(ev, rule->metric_field);
}
