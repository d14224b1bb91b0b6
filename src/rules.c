/*
 * rules.c — filters, allow-lists, keys and metric values of rules for one record.
 * No state, and no allocation per record (only cw_rule_metric_name, once per rule at setup,
 * allocates); regular expressions were compiled with the configuration, and each is run on at
 * most engine.regex_window bytes at a time (cw_regex_match), so a costly expression costs in
 * proportion to the statement's length, not to its square.
 */
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>
#include "cdrwatch/glob.h"
#include "cdrwatch/rules.h"

void cw_view_init(cw_view_t *view, const cw_event_t *ev,
                  bool (*derive)(cw_view_t *, cw_field_t, void *), void *ctx, int8_t *memo, int n_memo)
{
    view->memo = memo;
    view->n_memo = memo ? n_memo : 0;
    if (memo)
        memset(memo, -1, (size_t)n_memo);
    view->ev = ev;
    view->subscribers = ev->stream == CW_STREAM_AUDIT ? (const cw_msisdn_t *)ev->u.audit.subscribers : NULL;
    view->n_subscribers = ev->stream == CW_STREAM_AUDIT ? ev->u.audit.n_subscribers : 0;
    view->hour_of_week = -1; /* computed on first use: cw_view_hour */
    memset(view->flag, -1, sizeof view->flag);
    view->derive = derive;
    view->ctx = ctx;
}

bool cw_view_flag(cw_view_t *view, cw_field_t f)
{
    int8_t *flag = &view->flag[f - CW_F_V_HISTORY_PULL];
    if (*flag < 0)
        *flag = view->derive && view->ev->stream == CW_STREAM_AUDIT ? view->derive(view, f, view->ctx) : 0;
    return *flag == 1;
}

int cw_view_hour(cw_view_t *view)
{
    if (view->hour_of_week < 0)
        view->hour_of_week = cw_hour_of_week(view->ev->ts);
    return view->hour_of_week;
}

static cw_regex_counts_t regex_counts;
static char window_text[CW_REGEX_WINDOW_MAX + 1]; /* one window, NUL-terminated for regexec */

void cw_regex_counts(cw_regex_counts_t *out) { *out = regex_counts; }

static int counted_regexec(const void *re, const char *text, size_t len, size_t nmatch, regmatch_t *m, int eflags)
{
    regex_counts.calls++;
    regex_counts.bytes += len;
    if (len > regex_counts.longest)
        regex_counts.longest = len;
    return regexec(re, text, nmatch, m, eflags);
}

int cw_regex_match(const void *re, const char *text, size_t window, size_t nmatch, regmatch_t *m)
{
    size_t len = strlen(text), step;
    if (window > CW_REGEX_WINDOW_MAX)
        window = CW_REGEX_WINDOW_MAX;
    step = window / 2;
    if (len <= window || step == 0)
        return counted_regexec(re, text, len, nmatch, m, 0);
    for (size_t at = 0;; at += step) {
        size_t n = len - at < window ? len - at : window;
        bool last = at + n == len;
        memcpy(window_text, text + at, n);
        window_text[n] = '\0';
        if (counted_regexec(re, window_text, n, nmatch, m, (at ? REG_NOTBOL : 0) | (last ? 0 : REG_NOTEOL)) == 0) {
            for (size_t g = 0; g < nmatch; g++) {
                if (m[g].rm_so >= 0) {
                    m[g].rm_so += (regoff_t)at;
                    m[g].rm_eo += (regoff_t)at;
                }
            }
            return 0;
        }
        if (last)
            return REG_NOMATCH;
    }
}

/* The decimal text of v in buf (as "%lld" would write it), without snprintf: this is per record. */
static const char *decimal(int64_t v, char buf[24])
{
    char *p = buf + 23;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    *p = '\0';
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    return p;
}

/* Does v match one pattern of the set? Once a record for each memo index. */
static bool list_holds(cw_view_t *view, int memo, const cw_globset_t *set, const char *v)
{
    if (memo < 0 || memo >= view->n_memo)
        return cw_globset_match(set, v);
    if (view->memo[memo] < 0)
        view->memo[memo] = cw_globset_match(set, v);
    return view->memo[memo];
}

static bool cond_holds(const cw_cond_t *c, cw_view_t *view)
{
    const cw_event_t *ev = view->ev;
    const char *v;
    char num[24];

    if (c->field == CW_F_V_HOURS) {
        if (c->any.n && !cw_hours_has(&c->hours_any, cw_view_hour(view)))
            return false;
        return !(c->none.n && cw_hours_has(&c->hours_none, cw_view_hour(view)));
    }
    if (c->present >= 0 && cw_event_has(ev, c->field) != (c->present == 1))
        return false;
    if (cw_field_is_derived(c->field)) {
        v = cw_view_flag(view, c->field) ? "true" : "false";
    } else {
        v = cw_event_str(ev, c->field);
        if (!*v && cw_event_has(ev, c->field) && c->field != CW_F_STATEMENT) {
            /* a numeric field: match on its decimal text */
            v = decimal(cw_event_num(ev, c->field), num);
        }
    }
    if (c->any.n && !list_holds(view, c->any_memo, c->any_set, v))
        return false;
    if (c->none.n && list_holds(view, c->none_memo, c->none_set, v))
        return false;
    if (c->re && cw_regex_match(c->re, v, c->re_window, 0, NULL) != 0)
        return false;
    if (c->not_re && cw_regex_match(c->not_re, v, c->re_window, 0, NULL) == 0)
        return false;
    return true;
}

bool cw_filter_matches(const cw_filter_t *filter, cw_view_t *view)
{
    for (int i = 0; i < filter->n; i++) {
        const cw_cond_t *c = &filter->conds[i];
        bool holds;
        if (c->memo >= 0 && c->memo < view->n_memo) {
            if (view->memo[c->memo] < 0)
                view->memo[c->memo] = cond_holds(c, view);
            holds = view->memo[c->memo];
        } else {
            holds = cond_holds(c, view);
        }
        if (!holds)
            return false;
    }
    return true;
}

/* Allow-lists are short and read only for the records a rule would count: pattern by pattern. */
static bool any_match(const cw_strlist_t *l, const char *value)
{
    for (int i = 0; i < l->n; i++) {
        if (cw_glob_match(l->items[i], value))
            return true;
    }
    return false;
}

bool cw_rule_allowed(const cw_rule_t *rule, cw_view_t *view)
{
    const cw_event_t *ev = view->ev;
    if (ev->stream != CW_STREAM_AUDIT)
        return false;
    for (int i = 0; i < rule->n_allow; i++) {
        const cw_allow_t *a = &rule->allow[i];
        if ((!a->principal.n || any_match(&a->principal, ev->u.audit.principal)) &&
            (!a->client_host.n || any_match(&a->client_host, ev->u.audit.client_host)) &&
            (!a->client_app.n || any_match(&a->client_app, ev->u.audit.client_app)) &&
            (!a->has_hours || cw_hours_has(&a->hours, cw_view_hour(view))))
            return true;
    }
    return false;
}

/* The rule's stream, status and allow-list, with one of its filters. */
static bool rule_counts(const cw_rule_t *rule, const cw_filter_t *filter, cw_view_t *view)
{
    const cw_event_t *ev = view->ev;
    if (!rule->enabled || rule->stream != ev->stream)
        return false;
    if (ev->stream == CW_STREAM_AUDIT && ev->u.audit.failed && !rule->include_failed)
        return false;
    return cw_filter_matches(filter, view) && !cw_rule_allowed(rule, view);
}

bool cw_rule_matches(const cw_rule_t *rule, cw_view_t *view)
{
    return rule_counts(rule, &rule->filter, view);
}

bool cw_rule_matches_while(const cw_rule_t *rule, cw_view_t *view)
{
    return rule->silence_while.n > 0 && rule_counts(rule, &rule->silence_while, view);
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
    return n ? n : 1;
}

size_t cw_rule_key(const cw_rule_t *rule, const cw_event_t *ev, char *buf, size_t buflen)
{
    size_t len = 0;
    for (int i = 0; i < rule->n_key; i++) {
        const char *v = cw_event_str(ev, rule->key[i]);
        size_t n = strlen(v), max = field_max(rule->key[i]);
        char num[24];
        if (!*v && cw_event_has(ev, rule->key[i])) {
            v = decimal(cw_event_num(ev, rule->key[i]), num);
            n = strlen(v);
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
    if (rule->metric == CW_METRIC_SUM)
        return cw_event_num(ev, rule->metric_field);
    return 1;
}

/* ---- fingerprint ---- */

static uint64_t fp_i64(uint64_t h, int64_t v) { return cw_hash64(&v, sizeof v, h); }

static uint64_t fp_str(uint64_t h, const char *s)
{
    if (!s)
        return fp_i64(h, -1);
    return cw_hash64(s, strlen(s) + 1, h);
}

static uint64_t fp_list(uint64_t h, const cw_strlist_t *l)
{
    h = fp_i64(h, l->n);
    for (int i = 0; i < l->n; i++)
        h = fp_str(h, l->items[i]);
    return h;
}

static uint64_t fp_filter(uint64_t h, const cw_filter_t *f)
{
    h = fp_i64(h, f->n);
    for (int i = 0; i < f->n; i++) {
        const cw_cond_t *c = &f->conds[i];
        h = fp_i64(h, c->field);
        h = fp_list(fp_list(h, &c->any), &c->none);
        h = fp_str(fp_str(h, c->regex), c->not_regex);
        if (c->present >= 0) /* only where given: the prints of filters without it stay as they were */
            h = fp_i64(h, c->present);
        h = cw_hash64(c->hours_any.bits, sizeof c->hours_any.bits, h);
        h = cw_hash64(c->hours_none.bits, sizeof c->hours_none.bits, h);
    }
    return h;
}

uint64_t cw_rule_fingerprint(const cw_rule_t *r)
{
    uint64_t h = 0x66696e6765727072; /* "fingerpr" */
    h = fp_i64(fp_i64(h, r->kind), r->stream);
    h = fp_filter(h, &r->filter);
    h = fp_i64(h, r->n_allow);
    for (int i = 0; i < r->n_allow; i++) {
        const cw_allow_t *a = &r->allow[i];
        h = fp_list(fp_list(fp_list(h, &a->principal), &a->client_host), &a->client_app);
        h = fp_i64(h, a->has_hours);
        h = cw_hash64(a->hours.bits, sizeof a->hours.bits, h);
    }
    h = fp_i64(h, r->include_failed);
    h = fp_i64(h, r->n_key);
    for (int i = 0; i < r->n_key; i++)
        h = fp_i64(h, r->key[i]);
    switch (r->kind) {
    case CW_KIND_THRESHOLD:
        h = fp_i64(fp_i64(h, r->metric), r->metric_field);
        h = fp_i64(h, r->n_windows);
        for (int i = 0; i < r->n_windows; i++)
            h = fp_i64(fp_i64(h, r->windows[i].window), r->windows[i].bucket);
        h = fp_i64(h, r->baseline_sigma > 0 || r->baseline_ratio > 0);
        if (r->baseline_sigma > 0 || r->baseline_ratio > 0)
            h = cw_hash64(&r->baseline_alpha, sizeof r->baseline_alpha, h);
        /* adaptive: peaks kept or not, and which fields make a pair seen (not the factor) */
        h = fp_i64(h, r->adaptive_factor > 0);
        h = fp_i64(h, r->n_adaptive_seen);
        for (int i = 0; i < r->n_adaptive_seen; i++)
            h = fp_i64(h, r->adaptive_seen[i]);
        /* lookups: the profile is kept or not, and the quantile decides what the windows count */
        h = fp_i64(h, r->lookup_quantile > 0);
        if (r->lookup_quantile > 0)
            h = cw_hash64(&r->lookup_quantile, sizeof r->lookup_quantile, h);
        break;
    case CW_KIND_FIRST_SEEN: h = fp_i64(h, r->seen_field); break;
    case CW_KIND_SEQUENCE: h = fp_str(fp_filter(h, &r->trigger), r->extract); break;
    case CW_KIND_SILENCE:
        /* silence.while adds a counter to the key state (a rule without it keeps its old print) */
        if (r->silence_while.n > 0)
            h = fp_i64(fp_filter(h, &r->silence_while), r->while_records);
        break;
    }
    return h;
}

const char *cw_rule_metric_name(apr_pool_t *pool, const cw_rule_t *rule)
{
    switch (rule->kind) {
    case CW_KIND_FIRST_SEEN:
        return apr_psprintf(pool, "%s(%s)", cw_enum_name(&cw_rule_kinds, rule->kind),
                            cw_field_name(rule->seen_field));
    case CW_KIND_SEQUENCE: return cw_enum_name(&cw_rule_kinds, rule->kind);
    case CW_KIND_SILENCE: return "silence_minutes";
    case CW_KIND_THRESHOLD: break;
    }
    if (rule->metric == CW_METRIC_COUNT)
        return cw_enum_name(&cw_metric_kinds, rule->metric);
    return apr_psprintf(pool, "%s(%s)", cw_enum_name(&cw_metric_kinds, rule->metric),
                        cw_field_name(rule->metric_field));
}
