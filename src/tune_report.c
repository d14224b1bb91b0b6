/*
 * tune_report.c — the HTML page of `cdrwatch tune --report`: one self-contained file (inline CSS,
 * inline SVG, no script, no font, no link out), readable offline.
 *
 * For each rule that alerted in the history, or that has a metric to show: the alerts before and
 * after the proposals (numbers and a bar chart), for each window of a threshold rule a step plot
 * of its top keys' metric over time against the current and the proposed threshold, the table of
 * the keys that alerted, and the proposal with its evidence. Every string that comes from the
 * data or the configuration (principals, hosts, rule names, comments) is HTML-escaped.
 * Structure the tests rely on: a <section class="rule" data-rule="ID"> per rule, in it one
 * <svg class="plot" data-window="1h"> per window with a <polyline class="series"> per key plotted.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "cdrwatch/rules.h"
#include "cdrwatch/tune.h"

#define TOP_KEYS 5 /* keys plotted per window */
#define PLOT_W 860
#define PLOT_H 260
#define PAD_L 70
#define PAD_R 20
#define PAD_T 16
#define PAD_B 34

static const char *const colours[TOP_KEYS] = {"#1f77b4", "#ff7f0e", "#9467bd", "#8c564b", "#17becf"};

static void esc(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default:
            if ((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n')
                fputc('?', f); /* control characters are not text */
            else
                fputc(*s, f);
        }
    }
}

static const char style[] =
    "body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:980px;color:#222;background:#fff}"
    "h1{font-size:22px}h2{font-size:18px;margin:28px 0 6px;border-top:1px solid #ccc;padding-top:14px}"
    "h3{font-size:15px;margin:14px 0 4px}table{border-collapse:collapse;margin:6px 0}"
    "td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}"
    "th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}"
    ".evidence{font-size:12px;color:#444;max-width:640px}.muted{color:#777}"
    "svg{display:block;margin:4px 0 8px}svg text{font:11px system-ui,sans-serif;fill:#333}"
    ".legend span{display:inline-block;margin-right:14px;font-size:12px}"
    ".sw{display:inline-block;width:14px;height:3px;vertical-align:middle;margin-right:4px}"
    "code{background:#f5f5f5;padding:0 3px}";

/* ---- numbers and scales ---- */

static void num(FILE *f, double v)
{
    if (v >= 1e6 && fmod(v, 1e5) == 0)
        fprintf(f, "%.1fM", v / 1e6);
    else if (v >= 1e4 && fmod(v, 1e3) == 0)
        fprintf(f, "%.0fk", v / 1e3);
    else
        fprintf(f, v == floor(v) ? "%.0f" : "%.1f", v);
}

/* A round upper bound for the value axis. */
static double nice_top(double v)
{
    double p = 1;
    if (v <= 0)
        return 1;
    while (p * 10 <= v)
        p *= 10;
    for (int m = 1; m <= 10; m++)
        if (m * p >= v)
            return m * p;
    return 10 * p;
}

typedef struct {
    const cw_tune_t *t;
    double top;
    int slots; /* slots on the time axis */
} axes_t;

static double x_of(const axes_t *ax, double slot)
{
    return PAD_L + slot * (PLOT_W - PAD_L - PAD_R) / (ax->slots > 0 ? ax->slots : 1);
}
static double y_of(const axes_t *ax, double v)
{
    double y = PLOT_H - PAD_B - v * (PLOT_H - PAD_T - PAD_B) / ax->top;
    return y < 2 ? 2 : y;
}

static void axes(FILE *f, const axes_t *ax)
{
    const cw_tune_t *t = ax->t;
    cw_time_t day = CW_MS_PER_DAY, span = (cw_time_t)ax->slots * t->slot_ms;
    cw_time_t step = span > 20 * day ? 7 * day : span > 3 * day ? day : 6 * CW_MS_PER_HOUR;
    fprintf(f, "<line x1='%d' y1='%d' x2='%d' y2='%d' stroke='#999'/>", PAD_L, PLOT_H - PAD_B, PLOT_W - PAD_R,
            PLOT_H - PAD_B);
    fprintf(f, "<line x1='%d' y1='%d' x2='%d' y2='%d' stroke='#999'/>", PAD_L, PAD_T, PAD_L, PLOT_H - PAD_B);
    for (int i = 0; i <= 4; i++) {
        double v = ax->top * i / 4;
        fprintf(f, "<line x1='%d' y1='%.1f' x2='%d' y2='%.1f' stroke='#eee'/><text x='%d' y='%.1f' "
                   "text-anchor='end'>",
                PAD_L, y_of(ax, v), PLOT_W - PAD_R, y_of(ax, v), PAD_L - 4, y_of(ax, v) + 4);
        num(f, v);
        fputs("</text>", f);
    }
    for (cw_time_t at = t->t0 - t->t0 % day + day; at < t->t0 + span; at += step) {
        char b[32];
        double x = x_of(ax, (double)(at - t->t0) / (double)t->slot_ms);
        cw_time_format(at, b);
        b[step < day ? 16 : 10] = '\0';
        fprintf(f, "<line x1='%.1f' y1='%d' x2='%.1f' y2='%d' stroke='#999'/><text x='%.1f' y='%d' "
                   "text-anchor='middle'>%s</text>",
                x, PLOT_H - PAD_B, x, PLOT_H - PAD_B + 4, x, PLOT_H - PAD_B + 16, b + 5);
    }
}

/* A horizontal threshold line with its label. */
static void hline(FILE *f, const axes_t *ax, double v, const char *colour, const char *label)
{
    fprintf(f, "<line class='threshold' x1='%d' y1='%.1f' x2='%d' y2='%.1f' stroke='%s' stroke-width='1.5' "
               "stroke-dasharray='6 4'/><text x='%d' y='%.1f' text-anchor='end' style='fill:%s'>%s ",
            PAD_L, y_of(ax, v), PLOT_W - PAD_R, y_of(ax, v), colour, PLOT_W - PAD_R - 2, y_of(ax, v) - 3, colour,
            label);
    num(f, v);
    fputs("</text>", f);
}

/* The key's series as a step line: each slot's maximum held across the slot; a run of slots
 * starts and ends on the axis (no record counted in a gap), so a lone peak shows as a spike. */
static void series(FILE *f, const axes_t *ax, const float *s, const char *colour)
{
    bool open = false;
    for (int i = 0; i <= ax->slots; i++) {
        if (i == ax->slots || isnan(s[i])) {
            if (open)
                fprintf(f, " %.1f,%.1f'/>", x_of(ax, i), y_of(ax, 0));
            open = false;
            continue;
        }
        if (!open)
            fprintf(f, "<polyline class='series' fill='none' stroke='%s' stroke-width='1.6' points='%.1f,%.1f",
                    colour, x_of(ax, i), y_of(ax, 0));
        fprintf(f, " %.1f,%.1f %.1f,%.1f", x_of(ax, i), y_of(ax, s[i]), x_of(ax, i + 1), y_of(ax, s[i]));
        open = true;
    }
}

static double top_of(const cw_tune_key_t **keys, int n, int w)
{
    double m = 0;
    for (int i = 0; i < n; i++)
        if (keys[i]->max[w] > m)
            m = keys[i]->max[w];
    return m;
}

static int by_window_max(const void *pa, const void *pb, int w)
{
    const cw_tune_key_t *a = *(cw_tune_key_t *const *)pa, *b = *(cw_tune_key_t *const *)pb;
    if ((a->alerts_w[w] > 0) != (b->alerts_w[w] > 0))
        return a->alerts_w[w] ? -1 : 1;
    if (a->max[w] != b->max[w])
        return a->max[w] > b->max[w] ? -1 : 1;
    return strcmp(a->label, b->label);
}
static int plot_window;
static int cmp_plot(const void *a, const void *b) { return by_window_max(a, b, plot_window); }

static void plot(FILE *f, const cw_tune_t *t, const cw_tune_rule_t *tr, cw_tune_key_t **all, int n, int w)
{
    const cw_rule_t *r = tr->rule;
    const cw_tune_key_t *top[TOP_KEYS];
    int k = 0;
    char d[32];
    axes_t ax = {t, 0, 0};
    plot_window = w;
    qsort(all, (size_t)n, sizeof *all, cmp_plot);
    for (int i = 0; i < n && k < TOP_KEYS; i++)
        if (all[i]->series[w])
            top[k++] = all[i];
    if (k == 0)
        return;
    for (cw_time_t end = t->last_ts; ax.slots < CW_TUNE_SLOTS && t->t0 + (cw_time_t)ax.slots * t->slot_ms <= end;)
        ax.slots++;
    ax.top = top_of(top, k, w);
    if ((double)tr->proposed[w] > ax.top)
        ax.top = (double)tr->proposed[w];
    if ((double)r->windows[w].threshold > ax.top)
        ax.top = (double)r->windows[w].threshold;
    ax.top = nice_top(ax.top * 1.05);
    fprintf(f, "<h3>%s over %s</h3>", cw_rule_metric_name(t->pool, r), cw_duration_format(r->windows[w].window, d));
    fprintf(f, "<svg class='plot' data-window='%s' xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' "
               "viewBox='0 0 %d %d' role='img'>",
            d, PLOT_W, PLOT_H, PLOT_W, PLOT_H);
    axes(f, &ax);
    for (int i = k - 1; i >= 0; i--)
        series(f, &ax, top[i]->series[w], colours[i]);
    hline(f, &ax, (double)r->windows[w].threshold, "#d62728", "threshold");
    if (tr->proposed[w] != r->windows[w].threshold)
        hline(f, &ax, (double)tr->proposed[w], "#2ca02c", "proposed");
    fputs("</svg><div class='legend'>", f);
    for (int i = 0; i < k; i++) {
        fprintf(f, "<span><i class='sw' style='background:%s'></i>", colours[i]);
        esc(f, top[i]->label);
        fputs(top[i]->allow ? " (allow-listed)" : "", f);
        fputs("</span>", f);
    }
    fprintf(f, "<span class='muted'>each step: the highest value in %s of event time; on the axis: no record counted</span></div>",
            cw_duration_format(t->slot_ms, d));
}

/* Alerts before and after as two bars. */
static void bars(FILE *f, const cw_tune_rule_t *tr)
{
    double m = (double)(tr->alerts_before > tr->alerts_after ? tr->alerts_before : tr->alerts_after);
    double wb = m ? 300.0 * (double)tr->alerts_before / m : 0, wa = m ? 300.0 * (double)tr->alerts_after / m : 0;
    fprintf(f, "<svg class='bars' xmlns='http://www.w3.org/2000/svg' width='460' height='52' viewBox='0 0 460 52'>"
               "<text x='0' y='17'>before</text><rect x='60' y='5' width='%.1f' height='16' fill='#d62728'/>"
               "<text x='%.1f' y='17'>%llu</text>"
               "<text x='0' y='43'>after</text><rect x='60' y='31' width='%.1f' height='16' fill='#2ca02c'/>"
               "<text x='%.1f' y='43'>%llu</text></svg>",
            wb, 66 + wb, (unsigned long long)tr->alerts_before, wa, 66 + wa, (unsigned long long)tr->alerts_after);
}

static void key_table(FILE *f, const cw_tune_t *t, const cw_tune_rule_t *tr, cw_tune_key_t **keys, int n)
{
    const cw_rule_t *r = tr->rule;
    char d[32];
    fputs("<table><tr><th>key</th><th>alerts before</th><th>after</th>", f);
    for (int w = 0; r->kind == CW_KIND_THRESHOLD && w < r->n_windows; w++)
        fprintf(f, "<th>highest over %s</th>", cw_duration_format(r->windows[w].window, d));
    fputs("<th>client hosts</th><th>programs</th><th>proposal</th></tr>", f);
    for (int i = 0; i < n && keys[i]->alerts; i++) {
        const cw_tune_key_t *k = keys[i];
        fputs("<tr><td>", f);
        esc(f, k->label);
        fprintf(f, "</td><td class='n'>%llu</td><td class='n'>%llu</td>", (unsigned long long)k->alerts,
                (unsigned long long)k->alerts_after);
        for (int w = 0; r->kind == CW_KIND_THRESHOLD && w < r->n_windows; w++) {
            fputs("<td class='n'>", f);
            if (k->max[w] >= 0)
                num(f, k->max[w]);
            fputs("</td>", f);
        }
        fputs("<td>", f);
        for (int j = 0; j < k->n_hosts; j++) {
            esc(f, k->hosts[j]);
            fputs(j + 1 < k->n_hosts ? ", " : "", f);
        }
        fputs(k->hosts_any ? " <span class='muted'>(and others)</span></td><td>" : "</td><td>", f);
        for (int j = 0; j < k->n_apps; j++) {
            esc(f, k->apps[j]);
            fputs(j + 1 < k->n_apps ? ", " : "", f);
        }
        fputs(k->apps_any ? " <span class='muted'>(and others)</span>" : "", f);
        fprintf(f, "</td><td>%s</td></tr>", k->allow ? "allow-list entry" : tr->threshold_changed ? "threshold" : "-");
    }
    fputs("</table>", f);
    (void)t;
}

static void proposal(FILE *f, const cw_tune_rule_t *tr)
{
    const cw_rule_t *r = tr->rule;
    char d[32];
    fputs("<table class='proposal'><tr><th>change</th><th>from</th><th>to</th></tr>", f);
    for (int w = 0; r->kind == CW_KIND_THRESHOLD && w < r->n_windows; w++)
        if (tr->proposed[w] != r->windows[w].threshold)
            fprintf(f, "<tr><td>threshold over %s</td><td class='n'>%lld</td><td class='n'>%lld</td></tr>",
                    cw_duration_format(r->windows[w].window, d), (long long)r->windows[w].threshold,
                    (long long)tr->proposed[w]);
    if (tr->n_allow)
        fprintf(f, "<tr><td>allow-list entries</td><td class='n'>%d</td><td class='n'>%d</td></tr>", r->n_allow,
                r->n_allow + tr->n_allow);
    if (!tr->threshold_changed && !tr->n_allow)
        fputs("<tr><td colspan='3'>none: no key can be allow-listed and no threshold applies</td></tr>", f);
    fputs("</table><p class='evidence'>", f);
    esc(f, tr->evidence ? tr->evidence : "");
    fputs("</p>", f);
}

static void rule_section(FILE *f, cw_tune_t *t, cw_tune_rule_t *tr)
{
    const cw_rule_t *r = tr->rule;
    int n;
    cw_tune_key_t **keys = cw_tune_sorted_keys(t, tr, &n);
    fputs("<section class='rule' data-rule='", f);
    esc(f, r->id);
    fputs("'><h2><code>", f);
    esc(f, r->id);
    fputs("</code> ", f);
    esc(f, r->name);
    fprintf(f, "</h2><p>alerts in the history: <b>%llu</b> before the proposals, <b>%llu</b> after.</p>",
            (unsigned long long)tr->alerts_before, (unsigned long long)tr->alerts_after);
    bars(f, tr);
    if (tr->alerts_before) {
        proposal(f, tr);
        key_table(f, t, tr, keys, n);
    }
    for (int w = 0; r->kind == CW_KIND_THRESHOLD && w < r->n_windows; w++)
        plot(f, t, tr, keys, n, w);
    fputs("</section>\n", f);
}

static void overview(FILE *f, const cw_tune_t *t)
{
    fputs("<table><tr><th>rule</th><th>alerts before</th><th>after</th><th>proposal</th></tr>", f);
    for (int i = 0; i < t->n_rules; i++) {
        const cw_tune_rule_t *tr = &t->rules[i];
        if (!tr->rule->enabled)
            continue;
        fputs("<tr><td><a href='#rule-", f);
        esc(f, tr->rule->id);
        fputs("'>", f);
        esc(f, tr->rule->id);
        fprintf(f, "</a></td><td class='n'>%llu</td><td class='n'>%llu</td><td>%s%s%s</td></tr>",
                (unsigned long long)tr->alerts_before, (unsigned long long)tr->alerts_after,
                tr->threshold_changed ? "threshold " : "", tr->n_allow ? "allow-list " : "",
                tr->threshold_changed || tr->n_allow ? "" : "-");
    }
    fputs("</table>", f);
}

static bool shown(const cw_tune_rule_t *tr)
{
    if (!tr->rule->enabled)
        return false;
    if (tr->alerts_before)
        return true;
    for (apr_hash_index_t *hi = apr_hash_first(NULL, tr->keys); hi; hi = apr_hash_next(hi))
        if (((const cw_tune_key_t *)apr_hash_this_val(hi))->series[0])
            return true;
    return false;
}

cw_status_t cw_tune_write_report(cw_tune_t *t, const char *path, char *err, size_t errlen)
{
    FILE *f = cw_file_fcreate(path, CW_MODE_SHARED);
    char a[32], b[32], m[32];
    bool ok;
    if (!f) {
        snprintf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
        return CW_ERR_USAGE;
    }
    fprintf(f, "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>cdrwatch tune report</title>"
               "<style>%s</style></head><body>\n<h1>cdrwatch tune report</h1>",
            style);
    if (t->first_ts != INT64_MIN)
        fprintf(f, "<p>History replayed: %llu records, event time %s to %s. Every alert of the history is taken "
                   "for a false positive. Proposed thresholds leave a margin of %.2f times the highest value "
                   "they must clear; the counts <i>after</i> come from a second replay with the proposals.</p>",
                (unsigned long long)t->records, cw_time_format(t->first_ts, a), cw_time_format(t->last_ts, b),
                t->margin);
    overview(f, t);
    for (int i = 0; i < t->n_rules; i++)
        if (shown(&t->rules[i])) {
            fputs("<a id='rule-", f);
            esc(f, t->rules[i].rule->id);
            fputs("'></a>", f);
            rule_section(f, t, &t->rules[i]);
        }
    fprintf(f, "<p class='muted'>Plots: one point per %s of event time, the highest value of the window in "
               "it; red dashes the current threshold, green the proposed one.</p></body></html>\n",
            cw_duration_format(t->slot_ms, m));
    ok = !ferror(f);
    ok = (fclose(f) == 0) && ok;
    if (!ok) {
        snprintf(err, errlen, "%s: write failed: %s", path, strerror(errno));
        return CW_ERR_IO;
    }
    return CW_OK;
}
