/*
 * tune.c — `cdrwatch tune`'s analysis: per rule and key, the metric observed over time and the
 * alerts raised; the proposals (thresholds, allow-list entries) and the configuration layer
 * that carries them with their evidence. See cdrwatch/tune.h for the method and its bounds.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <cjson/cJSON.h>
#include "cdrwatch/rules.h"
#include "cdrwatch/tune.h"

cw_tune_t *cw_tune_create(apr_pool_t *pool, const cw_config_t *cfg, double margin)
{
    cw_tune_t *t = apr_pcalloc(pool, sizeof *t);
    t->pool = pool;
    t->cfg = cfg;
    t->margin = margin;
    t->n_rules = cfg->n_rules;
    t->rules = apr_pcalloc(pool, (size_t)(cfg->n_rules ? cfg->n_rules : 1) * sizeof *t->rules);
    t->by_id = apr_hash_make(pool);
    t->first_ts = t->last_ts = t->t0 = INT64_MIN;
    t->slot_ms = CW_MS_PER_HOUR;
    for (int i = 0; i < cfg->n_rules; i++) {
        cw_tune_rule_t *tr = &t->rules[i];
        tr->rule = &cfg->rules[i];
        tr->keys = apr_hash_make(pool);
        for (int w = 0; w < tr->rule->n_windows; w++)
            tr->proposed[w] = tr->rule->windows[w].threshold;
        apr_hash_set(t->by_id, tr->rule->id, APR_HASH_KEY_STRING, tr);
    }
    return t;
}

/* ---- keys ---- */

static cw_tune_key_t *key_of(cw_tune_t *t, cw_tune_rule_t *tr, const char *key, size_t len)
{
    cw_tune_key_t *k = apr_hash_get(tr->keys, key, (apr_ssize_t)len);
    char *label;
    if (k)
        return k;
    k = apr_pcalloc(t->pool, sizeof *k);
    k->key = apr_pstrmemdup(t->pool, key, len);
    k->keylen = len;
    label = apr_palloc(t->pool, len * 2 + 8);
    {
        size_t o = 0;
        for (size_t i = 0; i < len; i++) {
            if (key[i] == CW_KEY_SEP) {
                label[o++] = ',';
                label[o++] = ' ';
            } else {
                label[o++] = key[i];
            }
        }
        label[o] = '\0';
        k->label = o ? label : "(all)";
    }
    for (int w = 0; w < CW_WINDOWS_MAX; w++)
        k->max[w] = -1;
    apr_hash_set(tr->keys, k->key, (apr_ssize_t)len, k);
    return k;
}

const char *cw_tune_key_part(const cw_tune_key_t *k, int part, char *buf, size_t buflen)
{
    const char *p = k->key, *end = k->key + k->keylen;
    for (int i = 0; i < part && p < end; i++) {
        const char *sep = memchr(p, CW_KEY_SEP, (size_t)(end - p));
        p = sep ? sep + 1 : end;
    }
    {
        const char *sep = memchr(p, CW_KEY_SEP, (size_t)(end - p));
        size_t n = (size_t)((sep ? sep : end) - p);
        if (n >= buflen)
            n = buflen - 1;
        memcpy(buf, p, n);
        buf[n] = '\0';
    }
    return buf;
}

/* Remember a host or program of the key: up to CW_TUNE_SET_MAX; more, or an empty one, and the
 * allow-list entry will name none (any). */
static void set_add(apr_pool_t *pool, const char **set, int *n, bool *any, const char *s)
{
    if (*any)
        return;
    if (!*s) {
        *any = true;
        return;
    }
    for (int i = 0; i < *n; i++)
        if (strcmp(set[i], s) == 0)
            return;
    if (*n == CW_TUNE_SET_MAX) {
        *any = true;
        return;
    }
    set[(*n)++] = apr_pstrdup(pool, s);
}

static void remember_origin(cw_tune_t *t, cw_tune_key_t *k, const cw_event_t *ev)
{
    if (!ev || ev->stream != CW_STREAM_AUDIT)
        return;
    set_add(t->pool, k->hosts, &k->n_hosts, &k->hosts_any, ev->u.audit.client_host);
    set_add(t->pool, k->apps, &k->n_apps, &k->apps_any, ev->u.audit.client_app);
}

/* ---- series ---- */

/* Halve the resolution of every series: slot i becomes the max of slots 2i and 2i+1. */
static void coarsen(cw_tune_t *t)
{
    for (int r = 0; r < t->n_rules; r++) {
        for (apr_hash_index_t *hi = apr_hash_first(NULL, t->rules[r].keys); hi; hi = apr_hash_next(hi)) {
            cw_tune_key_t *k = apr_hash_this_val(hi);
            for (int w = 0; w < CW_WINDOWS_MAX; w++) {
                float *s = k->series[w];
                if (!s)
                    continue;
                for (int i = 0; i < CW_TUNE_SLOTS / 2; i++) {
                    float a = s[2 * i], b = s[2 * i + 1];
                    s[i] = isnan(a) ? b : isnan(b) ? a : (a > b ? a : b);
                }
                for (int i = CW_TUNE_SLOTS / 2; i < CW_TUNE_SLOTS; i++)
                    s[i] = NAN;
            }
        }
    }
    t->slot_ms *= 2;
}

static int slot_of(cw_tune_t *t, cw_time_t ts)
{
    int64_t i;
    if (t->t0 == INT64_MIN)
        t->t0 = ts - ((ts % CW_MS_PER_HOUR) + CW_MS_PER_HOUR) % CW_MS_PER_HOUR;
    if (ts < t->t0)
        return 0;
    while ((i = (ts - t->t0) / t->slot_ms) >= CW_TUNE_SLOTS)
        coarsen(t);
    return (int)i;
}

void cw_tune_record(cw_tune_t *t, cw_time_t ts)
{
    if (t->first_ts == INT64_MIN)
        t->first_ts = ts;
    if (ts > t->last_ts)
        t->last_ts = ts;
    t->records++;
}

void cw_tune_observe(void *ctx, const cw_observation_t *o)
{
    cw_tune_t *t = ctx;
    cw_tune_rule_t *tr = &t->rules[o->rule - t->cfg->rules];
    cw_tune_key_t *k = key_of(t, tr, o->key, o->keylen);
    int w = o->window, slot = slot_of(t, o->ev->ts);
    float v = (float)o->value;
    if (!k->series[w]) {
        k->series[w] = apr_palloc(t->pool, CW_TUNE_SLOTS * sizeof(float));
        for (int i = 0; i < CW_TUNE_SLOTS; i++)
            k->series[w][i] = NAN;
    }
    if (isnan(k->series[w][slot]) || v > k->series[w][slot])
        k->series[w][slot] = v;
    if (o->value > k->max[w]) {
        k->max[w] = o->value;
        k->max_at[w] = o->ev->ts;
    }
    remember_origin(t, k, o->ev);
}

/* ---- alerts ---- */

static int window_of(const cw_rule_t *r, const cw_alert_t *a)
{
    for (int w = 0; r->kind == CW_KIND_THRESHOLD && w < r->n_windows; w++)
        if (a->window_end - a->window_start == r->windows[w].window)
            return w;
    return 0;
}

void cw_tune_alert(cw_tune_t *t, const cw_alert_t *a)
{
    cw_tune_rule_t *tr = apr_hash_get(t->by_id, a->rule->id, APR_HASH_KEY_STRING);
    cw_tune_key_t *k;
    if (!tr)
        return; /* a rule the overlay added: none does */
    k = key_of(t, tr, a->key, a->keylen);
    if (t->after) {
        tr->alerts_after++;
        k->alerts_after++;
        return;
    }
    tr->alerts_before++;
    k->alerts++;
    k->alerts_w[window_of(tr->rule, a)]++;
    if (tr->rule->kind != CW_KIND_THRESHOLD)
        remember_origin(t, k, a->ev);
}

/* ---- proposals ---- */

static double ratio_of(const cw_tune_key_t *k, const cw_rule_t *r)
{
    double best = 0;
    for (int w = 0; r->kind == CW_KIND_THRESHOLD && w < r->n_windows; w++)
        if (r->windows[w].threshold > 0 && k->max[w] / (double)r->windows[w].threshold > best)
            best = k->max[w] / (double)r->windows[w].threshold;
    return best;
}

static const cw_rule_t *sort_rule;
static int sort_window;

static int by_alerts(const void *pa, const void *pb)
{
    const cw_tune_key_t *a = *(cw_tune_key_t *const *)pa, *b = *(cw_tune_key_t *const *)pb;
    double ra = ratio_of(a, sort_rule), rb = ratio_of(b, sort_rule);
    if (a->alerts != b->alerts)
        return a->alerts > b->alerts ? -1 : 1;
    if (ra != rb)
        return ra > rb ? -1 : 1;
    return strcmp(a->label, b->label);
}

static int by_max(const void *pa, const void *pb)
{
    const cw_tune_key_t *a = *(cw_tune_key_t *const *)pa, *b = *(cw_tune_key_t *const *)pb;
    if (a->max[sort_window] != b->max[sort_window])
        return a->max[sort_window] > b->max[sort_window] ? -1 : 1;
    return strcmp(a->label, b->label);
}

cw_tune_key_t **cw_tune_sorted_keys(cw_tune_t *t, const cw_tune_rule_t *tr, int *n)
{
    cw_tune_key_t **v = apr_palloc(t->pool, (apr_hash_count(tr->keys) + 1) * sizeof *v);
    int i = 0;
    for (apr_hash_index_t *hi = apr_hash_first(NULL, tr->keys); hi; hi = apr_hash_next(hi))
        v[i++] = apr_hash_this_val(hi);
    sort_rule = tr->rule;
    qsort(v, (size_t)i, sizeof *v, by_alerts);
    *n = i;
    return v;
}

/* A value an allow-list pattern matches exactly: no wildcard, not a list reference. */
static bool literal(const char *s)
{
    return *s && *s != '@' && !strpbrk(s, "*?");
}

/* Can an allow-list entry name this key? Its fields must be principal, client_host or
 * client_app, each a literal. */
static bool allowable(const cw_rule_t *r, const cw_tune_key_t *k)
{
    char part[512];
    if (r->n_key == 0 || r->stream != CW_STREAM_AUDIT)
        return false;
    for (int i = 0; i < r->n_key; i++) {
        if (r->key[i] != CW_F_PRINCIPAL && r->key[i] != CW_F_CLIENT_HOST && r->key[i] != CW_F_CLIENT_APP)
            return false;
        if (!literal(cw_tune_key_part(k, i, part, sizeof part)))
            return false;
    }
    return true;
}

/* Round up to two significant digits: 65431 -> 66000, 37 -> 37. */
static int64_t round_up(double x)
{
    double v = ceil(x), p = 1;
    while (v / p >= 100)
        p *= 10;
    return (int64_t)(ceil(v / p) * p);
}

/* The threshold that clears a highest value m with the margin (always above m). */
static int64_t clearing(const cw_tune_t *t, double m)
{
    int64_t v = round_up(t->margin * m);
    return v > (int64_t)floor(m) ? v : (int64_t)floor(m) + 1;
}

static void propose_window(cw_tune_t *t, cw_tune_rule_t *tr, int w)
{
    const cw_rule_t *r = tr->rule;
    int64_t cur = r->windows[w].threshold;
    cw_tune_key_t **a = apr_palloc(t->pool, (apr_hash_count(tr->keys) + 1) * sizeof *a);
    int n = 0, s, top = 0;
    for (apr_hash_index_t *hi = apr_hash_first(NULL, tr->keys); hi; hi = apr_hash_next(hi)) {
        cw_tune_key_t *k = apr_hash_this_val(hi);
        if (k->alerts_w[w])
            a[n++] = k;
    }
    if (n == 0)
        return;
    sort_window = w;
    qsort(a, (size_t)n, sizeof *a, by_max);
    /* allow-list at most the few top keys that alone force a raise beyond CW_TUNE_MAX_RAISE */
    while (top < n && top < CW_TUNE_ALLOW_MAX && allowable(r, a[top]))
        top++;
    for (s = 0; s <= top; s++) {
        int64_t need = s < n ? clearing(t, a[s]->max[w]) : cur;
        if ((double)need <= CW_TUNE_MAX_RAISE * (double)(cur > 0 ? cur : 1) || s == top) {
            tr->large_raise |= (double)need > CW_TUNE_MAX_RAISE * (double)(cur > 0 ? cur : 1);
            tr->need_max[w] = s < n ? a[s]->max[w] : -1;
            if (need > cur) {
                tr->proposed[w] = need;
                tr->threshold_changed = true;
            }
            break;
        }
    }
    for (int i = 0; i < s; i++)
        if (!a[i]->allow) {
            a[i]->allow = true;
            tr->n_allow++;
        }
}

static void propose_other(cw_tune_t *t, cw_tune_rule_t *tr)
{
    int n;
    cw_tune_key_t **v = cw_tune_sorted_keys(t, tr, &n);
    for (int i = 0; i < n && tr->n_allow < CW_TUNE_OTHER_ALLOW_MAX; i++) {
        if (v[i]->alerts && allowable(tr->rule, v[i])) {
            v[i]->allow = true;
            tr->n_allow++;
        }
    }
}

static const char *fmt_num(apr_pool_t *p, double v)
{
    return v == floor(v) && fabs(v) < 1e15 ? apr_psprintf(p, "%.0f", v) : apr_psprintf(p, "%.1f", v);
}

static const char *period(cw_tune_t *t)
{
    char a[32], b[32];
    if (t->first_ts == INT64_MIN)
        return "(no record)";
    return apr_psprintf(t->pool, "%s to %s", cw_time_format(t->first_ts, a), cw_time_format(t->last_ts, b));
}

/* The rule's comment: what the replay showed and what changes. */
static void describe(cw_tune_t *t, cw_tune_rule_t *tr)
{
    const cw_rule_t *r = tr->rule;
    int n, shown = 0;
    cw_tune_key_t **v = cw_tune_sorted_keys(t, tr, &n);
    char *s = apr_psprintf(t->pool, "cdrwatch tune, history %s: %" APR_UINT64_T_FMT " alerts on ", period(t),
                           (apr_uint64_t)tr->alerts_before);
    for (int i = 0; i < n && v[i]->alerts; i++)
        shown++;
    s = apr_psprintf(t->pool, "%s%d key%s (", s, shown, shown == 1 ? "" : "s");
    for (int i = 0; i < shown && i < 5; i++)
        s = apr_psprintf(t->pool, "%s%s%s %" APR_UINT64_T_FMT "", s, i ? ", " : "", v[i]->label, (apr_uint64_t)v[i]->alerts);
    s = apr_pstrcat(t->pool, s, shown > 5 ? ", ...)" : ")", NULL);
    for (int w = 0; r->kind == CW_KIND_THRESHOLD && w < r->n_windows; w++) {
        char d[32];
        double hi = -1;
        const char *who = "";
        for (int i = 0; i < n; i++)
            if (v[i]->max[w] > hi) {
                hi = v[i]->max[w];
                who = v[i]->label;
            }
        if (hi < 0)
            continue;
        s = apr_psprintf(t->pool, "%s; %s over %s: highest %s (%s)", s, cw_rule_metric_name(t->pool, r),
                         cw_duration_format(r->windows[w].window, d), fmt_num(t->pool, hi), who);
        if (tr->proposed[w] != r->windows[w].threshold)
            s = apr_psprintf(t->pool,
                             "%s, threshold %" APR_INT64_T_FMT " -> %" APR_INT64_T_FMT
                             " (%.2f x %s, rounded up; %s: the highest value of the alerting keys not allow-listed)",
                             s, (apr_int64_t)r->windows[w].threshold, (apr_int64_t)tr->proposed[w], t->margin,
                             fmt_num(t->pool, tr->need_max[w]), fmt_num(t->pool, tr->need_max[w]));
        else
            s = apr_psprintf(t->pool, "%s, threshold %" APR_INT64_T_FMT " unchanged", s, (apr_int64_t)r->windows[w].threshold);
    }
    if (tr->n_allow)
        s = apr_psprintf(t->pool, "%s; %d allow-list entr%s for the key%s that alone cause%s the alerts", s,
                         tr->n_allow, tr->n_allow == 1 ? "y" : "ies", tr->n_allow == 1 ? "" : "s",
                         tr->n_allow == 1 ? "s" : "");
    if (tr->large_raise)
        s = apr_psprintf(t->pool, "%s; WARNING: the threshold rises more than %g times: review it", s,
                         CW_TUNE_MAX_RAISE);
    tr->evidence = s;
}

void cw_tune_propose(cw_tune_t *t)
{
    for (int i = 0; i < t->n_rules; i++) {
        cw_tune_rule_t *tr = &t->rules[i];
        if (!tr->alerts_before)
            continue;
        if (tr->rule->kind == CW_KIND_THRESHOLD)
            for (int w = 0; w < tr->rule->n_windows; w++)
                propose_window(t, tr, w);
        else
            propose_other(t, tr);
        describe(t, tr);
    }
}

/* ---- the overlay ---- */

static cJSON *strings(const char *const *v, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
    return a;
}

static cJSON *allow_entry(cw_tune_t *t, const cw_tune_rule_t *tr, const cw_tune_key_t *k)
{
    const cw_rule_t *r = tr->rule;
    cJSON *e = cJSON_CreateObject();
    bool host_in_key = false, app_in_key = false;
    char part[512], when[32];
    for (int i = 0; i < r->n_key; i++) {
        const char *name = cw_field_name(r->key[i]);
        const char *v = cw_tune_key_part(k, i, part, sizeof part);
        cJSON_AddItemToObject(e, name, strings(&v, 1));
        host_in_key |= r->key[i] == CW_F_CLIENT_HOST;
        app_in_key |= r->key[i] == CW_F_CLIENT_APP;
    }
    if (!host_in_key && !k->hosts_any && k->n_hosts)
        cJSON_AddItemToObject(e, "client_host", strings(k->hosts, k->n_hosts));
    if (!app_in_key && !k->apps_any && k->n_apps)
        cJSON_AddItemToObject(e, "client_app", strings(k->apps, k->n_apps));
    {
        char *c = apr_psprintf(t->pool, "cdrwatch tune: %" APR_UINT64_T_FMT " of the rule's %" APR_UINT64_T_FMT " alerts in the history came from "
                                        "this key",
                               (apr_uint64_t)k->alerts, (apr_uint64_t)tr->alerts_before);
        for (int w = 0; r->kind == CW_KIND_THRESHOLD && w < r->n_windows; w++) {
            char d[32];
            if (k->max[w] >= 0)
                c = apr_psprintf(t->pool, "%s; highest %s over %s: %s at %s (%.1f x the threshold %" APR_INT64_T_FMT ")", c,
                                 cw_rule_metric_name(t->pool, r), cw_duration_format(r->windows[w].window, d),
                                 fmt_num(t->pool, k->max[w]), cw_time_format(k->max_at[w], when),
                                 r->windows[w].threshold > 0 ? k->max[w] / (double)r->windows[w].threshold : 0,
                                 (apr_int64_t)r->windows[w].threshold);
        }
        c = apr_pstrcat(t->pool, c,
                        k->hosts_any || host_in_key ? "" : "; only from the client hosts it used",
                        k->apps_any || app_in_key ? "" : "; only with the programs it used", NULL);
        cJSON_AddStringToObject(e, "comment", c);
    }
    return e;
}

/* The allow-list entries the configuration already has for rule index i (an overlay's list
 * replaces the earlier one as a whole, so they are carried over), as check-config prints them. */
static cJSON *existing_allow(const cw_tune_t *t, cJSON *printed, int i)
{
    cJSON *rules = cJSON_GetObjectItemCaseSensitive(printed, "rules");
    cJSON *rule = rules ? cJSON_GetArrayItem(rules, i) : NULL;
    cJSON *allow = rule ? cJSON_GetObjectItemCaseSensitive(rule, "allow") : NULL;
    (void)t;
    return allow ? cJSON_Duplicate(allow, true) : cJSON_CreateArray();
}

static cJSON *printed_config(const cw_config_t *cfg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cJSON *j;
    if (!f)
        return NULL;
    cw_config_print(cfg, f);
    fclose(f);
    j = cJSON_ParseWithLength(buf, len);
    free(buf);
    return j;
}

static cJSON *rule_layer(cw_tune_t *t, cw_tune_rule_t *tr, cJSON *printed, int i)
{
    const cw_rule_t *r = tr->rule;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", r->id);
    cJSON_AddStringToObject(o, "comment", tr->evidence);
    if (tr->threshold_changed && r->windows_listed) {
        cJSON *ws = cJSON_AddArrayToObject(o, "windows");
        for (int w = 0; w < r->n_windows; w++) {
            cJSON *x = cJSON_CreateObject();
            char d[32];
            cJSON_AddStringToObject(x, "window", cw_duration_format(r->windows[w].window, d));
            cJSON_AddStringToObject(x, "bucket", cw_duration_format(r->windows[w].bucket, d));
            cJSON_AddNumberToObject(x, "threshold", (double)tr->proposed[w]);
            cJSON_AddItemToArray(ws, x);
        }
    } else if (tr->threshold_changed) {
        cJSON_AddNumberToObject(o, "threshold", (double)tr->proposed[0]);
    }
    if (tr->n_allow) {
        cJSON *allow = existing_allow(t, printed, i);
        int n;
        cw_tune_key_t **v = cw_tune_sorted_keys(t, tr, &n);
        for (int k = 0; k < n; k++)
            if (v[k]->allow)
                cJSON_AddItemToArray(allow, allow_entry(t, tr, v[k]));
        cJSON_AddItemToObject(o, "allow", allow);
    }
    return o;
}

cw_status_t cw_tune_write_overlay(cw_tune_t *t, const char *path, char *err, size_t errlen)
{
    cJSON *root = cJSON_CreateObject(), *rules = cJSON_AddArrayToObject(root, "rules");
    cJSON *printed = printed_config(t->cfg);
    char *text;
    FILE *f;
    bool ok;
    for (int i = 0; i < t->n_rules; i++)
        if (t->rules[i].evidence && (t->rules[i].threshold_changed || t->rules[i].n_allow))
            cJSON_AddItemToArray(rules, rule_layer(t, &t->rules[i], printed, i));
    text = cJSON_Print(root);
    cJSON_Delete(root);
    cJSON_Delete(printed);
    if (!text) {
        snprintf(err, errlen, "%s: out of memory", path);
        return CW_ERR_IO;
    }
    f = cw_file_fcreate(path, CW_MODE_SHARED);
    if (!f) {
        snprintf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
        cJSON_free(text);
        return CW_ERR_USAGE;
    }
    ok = fputs(text, f) >= 0 && fputc('\n', f) != EOF;
    ok = (fclose(f) == 0) && ok;
    cJSON_free(text);
    if (!ok) {
        snprintf(err, errlen, "%s: write failed: %s", path, strerror(errno));
        return CW_ERR_IO;
    }
    return CW_OK;
}
