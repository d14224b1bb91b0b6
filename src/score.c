/*
 * score.c — alerts against labelled scenarios: matching, counting and the three report formats.
 *
 * The definition of a match, a catch, a delay and a false positive is in score.h. Alerts are
 * matched one by one against every label row (rows are few: a dataset has tens, not thousands),
 * so memory grows with the labels, the distinct rule ids and the distinct (rule, user) pairs of
 * false positives, never with the number of alerts. Labels are read with libcsv, alerts with
 * cJSON; every input error names the file and the line.
 */
#include <csv.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include <cjson/cJSON.h>
#include "cdrwatch/decode.h"
#include "cdrwatch/score.h"

typedef struct {
    const char *name;
    apr_array_header_t *principals; /* const char *, distinct, in label order */
    cw_time_t start, end;
    uint64_t alerts;
    cw_time_t first_alert;
    apr_array_header_t *rules;      /* const char * (interned), distinct, in order of first match */
    uint64_t counted_alert;         /* number of the alert last counted here (no double count) */
} scenario_t;

typedef struct {
    int scenario; /* index into scenarios */
    const char *principal;
    cw_time_t start, end;
} row_t;

struct cw_score {
    apr_pool_t *pool;
    cw_time_t grace, learning_until;
    apr_array_header_t *scenarios; /* scenario_t */
    apr_array_header_t *rows;      /* row_t */
    apr_hash_t *rule_ids;          /* interned rule ids */
    apr_hash_t *fp_index;          /* "rule\0user" -> cw_score_fp_t * */
    apr_array_header_t *fps;       /* cw_score_fp_t * */
    cw_score_totals_t totals;
};

cw_status_t cw_score_create(apr_pool_t *pool, cw_time_t grace, cw_time_t learning_until,
                            cw_score_t **out)
{
    cw_score_t *s = apr_pcalloc(pool, sizeof *s);
    if (grace < 0)
        return CW_ERR_USAGE;
    s->pool = pool;
    s->grace = grace;
    s->learning_until = learning_until;
    s->scenarios = apr_array_make(pool, 16, sizeof(scenario_t));
    s->rows = apr_array_make(pool, 16, sizeof(row_t));
    s->rule_ids = apr_hash_make(pool);
    s->fp_index = apr_hash_make(pool);
    s->fps = apr_array_make(pool, 16, sizeof(cw_score_fp_t *));
    *out = s;
    return CW_OK;
}

static bool contains(const apr_array_header_t *list, const char *s)
{
    for (int i = 0; i < list->nelts; i++)
        if (strcmp(APR_ARRAY_IDX(list, i, const char *), s) == 0)
            return true;
    return false;
}

cw_status_t cw_score_add_label(cw_score_t *s, const char *scenario, const char *principal,
                               cw_time_t start, cw_time_t end, char *err, size_t errlen)
{
    scenario_t *sc = NULL;
    int index;
    row_t *row;

    if (s->totals.alerts > 0) {
        snprintf(err, errlen, "labels must be added before the alerts");
        return CW_ERR_USAGE;
    }
    if (!*scenario || !*principal) {
        snprintf(err, errlen, "%s: expected a name, got an empty field", *scenario ? "principal" : "scenario");
        return CW_ERR_USAGE;
    }
    if (end < start) {
        snprintf(err, errlen, "end: expected a time at or after start");
        return CW_ERR_USAGE;
    }
    for (index = 0; index < s->scenarios->nelts; index++) {
        sc = &APR_ARRAY_IDX(s->scenarios, index, scenario_t);
        if (strcmp(sc->name, scenario) == 0)
            break;
    }
    if (index == s->scenarios->nelts) {
        sc = apr_array_push(s->scenarios);
        memset(sc, 0, sizeof *sc);
        sc->name = apr_pstrdup(s->pool, scenario);
        sc->principals = apr_array_make(s->pool, 2, sizeof(const char *));
        sc->rules = apr_array_make(s->pool, 4, sizeof(const char *));
        sc->start = start;
        sc->end = end;
        sc->first_alert = CW_SCORE_NEVER;
    }
    if (start < sc->start)
        sc->start = start;
    if (end > sc->end)
        sc->end = end;
    if (!contains(sc->principals, principal))
        APR_ARRAY_PUSH(sc->principals, const char *) = apr_pstrdup(s->pool, principal);
    row = apr_array_push(s->rows);
    row->scenario = index;
    row->principal = apr_pstrdup(s->pool, principal);
    row->start = start;
    row->end = end;
    return CW_OK;
}

static const char *intern_rule(cw_score_t *s, const char *rule)
{
    const char *known = apr_hash_get(s->rule_ids, rule, APR_HASH_KEY_STRING);
    if (!known) {
        known = apr_pstrdup(s->pool, rule);
        apr_hash_set(s->rule_ids, known, APR_HASH_KEY_STRING, known);
    }
    return known;
}

static void count_false_positive(cw_score_t *s, cw_time_t ts, const char *rule, const char *user)
{
    size_t rlen = strlen(rule), ulen = strlen(user);
    char small[512], *key = rlen + ulen + 2 <= sizeof small ? small : apr_palloc(s->pool, rlen + ulen + 2);
    cw_score_fp_t *fp;

    memcpy(key, rule, rlen + 1);
    memcpy(key + rlen + 1, user, ulen + 1);
    fp = apr_hash_get(s->fp_index, key, (apr_ssize_t)(rlen + ulen + 2));
    if (!fp) {
        fp = apr_pcalloc(s->pool, sizeof *fp);
        fp->rule = intern_rule(s, rule);
        fp->user = apr_pstrdup(s->pool, user);
        fp->first = fp->last = ts;
        apr_hash_set(s->fp_index, apr_pmemdup(s->pool, key, rlen + ulen + 2),
                     (apr_ssize_t)(rlen + ulen + 2), fp);
        APR_ARRAY_PUSH(s->fps, cw_score_fp_t *) = fp;
    }
    fp->alerts++;
    if (ts < fp->first)
        fp->first = ts;
    if (ts > fp->last)
        fp->last = ts;
    s->totals.false_positives++;
}

void cw_score_add_alert(cw_score_t *s, cw_time_t ts, const char *rule, const char *user)
{
    bool matched = false;
    const uint64_t number = ++s->totals.alerts;

    if (!user)
        user = "";
    for (int i = 0; i < s->rows->nelts; i++) {
        const row_t *row = &APR_ARRAY_IDX(s->rows, i, row_t);
        scenario_t *sc;
        if (strcmp(row->principal, "*") != 0 && strcmp(row->principal, user) != 0)
            continue;
        if (ts < row->start || ts > row->end + s->grace)
            continue;
        matched = true;
        sc = &APR_ARRAY_IDX(s->scenarios, row->scenario, scenario_t);
        if (sc->counted_alert == number)
            continue; /* this alert matched another row of the same scenario */
        sc->counted_alert = number;
        sc->alerts++;
        if (sc->first_alert == CW_SCORE_NEVER || ts < sc->first_alert)
            sc->first_alert = ts;
        if (!contains(sc->rules, rule))
            APR_ARRAY_PUSH(sc->rules, const char *) = intern_rule(s, rule);
    }
    if (matched)
        s->totals.matched++;
    else if (s->learning_until != CW_SCORE_NEVER && ts < s->learning_until)
        s->totals.learning++;
    else
        count_false_positive(s, ts, rule, user);
}

/* ---- labels.csv ---- */

enum { COL_SCENARIO, COL_PRINCIPAL, COL_START, COL_END, N_LABEL_COLUMNS };
static const char *const label_columns[N_LABEL_COLUMNS] = {"scenario", "principal", "start", "end"};

typedef struct {
    cw_score_t *score;
    const char *path;
    apr_pool_t *record_pool;       /* the cells of the record being read; cleared after it */
    apr_array_header_t *cells;     /* const char * */
    int column[N_LABEL_COLUMNS];   /* index of each column; -1 before the header */
    int n_columns;
    long line;                     /* line the current record started on */
    cw_status_t st;
    char *err;
    size_t errlen;
} labels_ctx_t;

static void on_label_cell(void *data, size_t len, void *vctx)
{
    labels_ctx_t *c = vctx;
    APR_ARRAY_PUSH(c->cells, const char *) = apr_pstrmemdup(c->record_pool, data ? data : "", len);
}

/* The header: find each required column (case-insensitive, blanks and a UTF-8 BOM ignored). */
static void take_label_header(labels_ctx_t *c)
{
    c->n_columns = c->cells->nelts;
    for (int i = 0; i < c->cells->nelts; i++) {
        const char *cell = APR_ARRAY_IDX(c->cells, i, const char *);
        size_t len = strlen(cell);
        const char *name = cw_csv_header_name(cell, &len, i);
        for (int k = 0; k < N_LABEL_COLUMNS; k++)
            if (c->column[k] < 0 && strlen(label_columns[k]) == len &&
                strncasecmp(name, label_columns[k], len) == 0)
                c->column[k] = i;
    }
    for (int k = 0; k < N_LABEL_COLUMNS; k++) {
        if (c->column[k] < 0) {
            snprintf(c->err, c->errlen, "%s:%ld: expected a header naming the columns scenario, "
                     "principal, start and end; '%s' is missing", c->path, c->line, label_columns[k]);
            c->st = CW_ERR_USAGE;
            return;
        }
    }
}

static void take_label_row(labels_ctx_t *c)
{
    const char *value[N_LABEL_COLUMNS];
    cw_time_t start, end;
    char why[256];

    if (c->cells->nelts != c->n_columns) {
        snprintf(c->err, c->errlen, "%s:%ld: expected %d columns as in the header, got %d", c->path,
                 c->line, c->n_columns, c->cells->nelts);
        c->st = CW_ERR_USAGE;
        return;
    }
    for (int k = 0; k < N_LABEL_COLUMNS; k++)
        value[k] = APR_ARRAY_IDX(c->cells, c->column[k], const char *);
    for (int k = COL_START; k <= COL_END; k++) {
        if (!cw_time_parse(value[k], strlen(value[k]), k == COL_START ? &start : &end)) {
            snprintf(c->err, c->errlen, "%s:%ld: %s: expected an ISO-8601 time with an offset "
                     "(2026-03-04T02:05:00Z) or epoch milliseconds, got '%s'", c->path, c->line,
                     label_columns[k], value[k]);
            c->st = CW_ERR_USAGE;
            return;
        }
    }
    if (cw_score_add_label(c->score, value[COL_SCENARIO], value[COL_PRINCIPAL], start, end, why,
                           sizeof why) != CW_OK) {
        snprintf(c->err, c->errlen, "%s:%ld: %s", c->path, c->line, why);
        c->st = CW_ERR_USAGE;
    }
}

static void on_label_record(int terminator, void *vctx)
{
    labels_ctx_t *c = vctx;
    (void)terminator;
    if (c->st == CW_OK) {
        if (c->n_columns == 0)
            take_label_header(c);
        else
            take_label_row(c);
    }
    apr_pool_clear(c->record_pool);
    c->cells = apr_array_make(c->record_pool, 8, sizeof(const char *));
}

static int no_space(unsigned char ch)
{
    (void)ch;
    return 0; /* RFC 4180: spaces belong to the field */
}

cw_status_t cw_score_read_labels(cw_score_t *s, const char *path, char *err, size_t errlen)
{
    labels_ctx_t c;
    struct csv_parser parser;
    FILE *f;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long line_no = 0;

    memset(&c, 0, sizeof c);
    c.score = s;
    c.path = path;
    c.err = err;
    c.errlen = errlen;
    c.st = CW_OK;
    for (int k = 0; k < N_LABEL_COLUMNS; k++)
        c.column[k] = -1;
    if (!(f = fopen(path, "r"))) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return CW_ERR_USAGE;
    }
    if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI) != 0) {
        fclose(f);
        snprintf(err, errlen, "%s: out of memory", path);
        return CW_ERR_NOMEM;
    }
    csv_set_space_func(&parser, no_space);
    apr_pool_create(&c.record_pool, s->pool);
    c.cells = apr_array_make(c.record_pool, 8, sizeof(const char *));
    while (c.st == CW_OK && (len = getline(&line, &cap, f)) > 0) {
        line_no++;
        if (parser.pstate == 0 && c.cells->nelts == 0)
            c.line = line_no; /* no record in progress: one starts on this line */
        if (csv_parse(&parser, line, (size_t)len, on_label_cell, on_label_record, &c) != (size_t)len) {
            snprintf(err, errlen, "%s:%ld: expected CSV (RFC 4180), found a stray quote", path, line_no);
            c.st = CW_ERR_USAGE;
        }
    }
    if (c.st == CW_OK && ferror(f)) {
        snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
        c.st = CW_ERR_USAGE;
    }
    if (c.st == CW_OK && csv_fini(&parser, on_label_cell, on_label_record, &c) != 0) {
        snprintf(err, errlen, "%s:%ld: expected CSV (RFC 4180), found an unterminated quote", path,
                 c.line);
        c.st = CW_ERR_USAGE;
    }
    if (c.st == CW_OK && c.n_columns == 0) {
        snprintf(err, errlen, "%s: expected a header line naming scenario, principal, start and "
                 "end, found an empty file", path);
        c.st = CW_ERR_USAGE;
    }
    csv_free(&parser);
    free(line);
    fclose(f);
    apr_pool_destroy(c.record_pool);
    return c.st;
}

/* ---- alerts (JSON Lines) ---- */

static const cJSON *member(const cJSON *object, const char *name)
{
    return cJSON_IsObject(object) ? cJSON_GetObjectItemCaseSensitive(object, name) : NULL;
}

/* One alert line: CW_OK, or CW_ERR_USAGE with "what" in why. */
static cw_status_t take_alert(cw_score_t *s, const char *text, size_t len, char *why, size_t whylen)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    const cJSON *ts_item, *rule, *user_obj, *user;
    cw_time_t ts;
    cw_status_t st = CW_ERR_USAGE;

    if (!root) {
        size_t at = end && end >= text ? (size_t)(end - text) + 1 : 1;
        snprintf(why, whylen, "expected a JSON object (syntax error at column %zu)", at);
        return CW_ERR_USAGE;
    }
    end += strspn(end, " \t\r");
    if (end < text + len) {
        snprintf(why, whylen, "expected one JSON object per line, found more after column %zu",
                 (size_t)(end - text));
        goto done;
    }
    if (!cJSON_IsObject(root)) {
        snprintf(why, whylen, "expected a JSON object, got another JSON value");
        goto done;
    }
    ts_item = member(root, "@timestamp");
    if (!cJSON_IsString(ts_item) || !cw_time_parse(ts_item->valuestring, strlen(ts_item->valuestring), &ts)) {
        snprintf(why, whylen, "@timestamp: expected an ISO-8601 time string, as replay writes it");
        goto done;
    }
    rule = member(member(root, "rule"), "id");
    if (!cJSON_IsString(rule) || !*rule->valuestring) {
        snprintf(why, whylen, "rule.id: expected a non-empty string");
        goto done;
    }
    user_obj = member(root, "user");
    user = member(user_obj, "name");
    if ((user_obj && !cJSON_IsObject(user_obj)) || (user && !cJSON_IsString(user))) {
        snprintf(why, whylen, "user.name: expected a string");
        goto done;
    }
    cw_score_add_alert(s, ts, rule->valuestring, user ? user->valuestring : NULL);
    st = CW_OK;
done:
    cJSON_Delete(root);
    return st;
}

cw_status_t cw_score_read_alerts(cw_score_t *s, const char *path, char *err, size_t errlen)
{
    const bool is_stdin = strcmp(path, "-") == 0;
    const char *name = is_stdin ? "(stdin)" : path;
    FILE *f = is_stdin ? stdin : fopen(path, "r");
    char *line = NULL, why[256];
    size_t cap = 0;
    ssize_t len;
    long line_no = 0;
    cw_status_t st = CW_OK;

    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return CW_ERR_USAGE;
    }
    while (st == CW_OK && (len = getline(&line, &cap, f)) > 0) {
        line_no++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        if ((size_t)len == strspn(line, " \t"))
            continue; /* a blank line */
        if ((st = take_alert(s, line, (size_t)len, why, sizeof why)) != CW_OK)
            snprintf(err, errlen, "%s:%ld: %s", name, line_no, why);
    }
    if (st == CW_OK && ferror(f)) {
        snprintf(err, errlen, "%s: read error: %s", name, strerror(errno));
        st = CW_ERR_USAGE;
    }
    free(line);
    if (!is_stdin)
        fclose(f);
    return st;
}

/* ---- results ---- */

static const char *join(apr_pool_t *pool, const apr_array_header_t *list)
{
    const char *s = "";
    for (int i = 0; i < list->nelts; i++)
        s = apr_pstrcat(pool, s, i ? ", " : "", APR_ARRAY_IDX(list, i, const char *), NULL);
    return s;
}

static int compare_fp(const void *a, const void *b)
{
    const cw_score_fp_t *x = *(const cw_score_fp_t *const *)a, *y = *(const cw_score_fp_t *const *)b;
    int c;
    if (x->first != y->first)
        return x->first < y->first ? -1 : 1;
    if ((c = strcmp(x->rule, y->rule)) != 0)
        return c;
    return strcmp(x->user, y->user);
}

void cw_score_result(cw_score_t *s, cw_score_result_t *out)
{
    cw_score_scenario_t *list = apr_pcalloc(s->pool, (size_t)(s->scenarios->nelts + 1) * sizeof *list);
    cw_score_fp_t *fps = apr_pcalloc(s->pool, (size_t)(s->fps->nelts + 1) * sizeof *fps);
    cw_score_fp_t **sorted = apr_pmemdup(s->pool, s->fps->elts,
                                         (size_t)(s->fps->nelts + 1) * sizeof(cw_score_fp_t *));

    memset(out, 0, sizeof *out);
    out->totals = s->totals;
    out->totals.scenarios = (size_t)s->scenarios->nelts;
    for (int i = 0; i < s->scenarios->nelts; i++) {
        const scenario_t *sc = &APR_ARRAY_IDX(s->scenarios, i, scenario_t);
        cw_score_scenario_t *r = &list[i];
        r->name = sc->name;
        r->principals = join(s->pool, sc->principals);
        r->principal_list = (const char *const *)sc->principals->elts;
        r->n_principals = (size_t)sc->principals->nelts;
        r->start = sc->start;
        r->end = sc->end;
        r->alerts = sc->alerts;
        r->first_alert = sc->first_alert;
        r->rules = join(s->pool, sc->rules);
        r->rule_list = (const char *const *)sc->rules->elts;
        r->n_rules = (size_t)sc->rules->nelts;
        if (sc->alerts)
            out->totals.caught++;
        else
            out->totals.missed++;
    }
    if (s->fps->nelts > 1)
        qsort(sorted, (size_t)s->fps->nelts, sizeof *sorted, compare_fp);
    for (int i = 0; i < s->fps->nelts; i++)
        fps[i] = *sorted[i];
    out->scenarios = list;
    out->n_scenarios = (size_t)s->scenarios->nelts;
    out->false_positives = fps;
    out->n_false_positives = (size_t)s->fps->nelts;
    out->grace = s->grace;
    out->learning_until = s->learning_until;
}

bool cw_score_passed(const cw_score_result_t *r)
{
    return r->totals.missed == 0 && r->totals.false_positives == 0;
}

char *cw_score_format_delay(cw_time_t ms, char buf[32])
{
    long long t = ms < 0 ? 0 : (long long)(ms / 1000);
    long long d = t / 86400, h = t / 3600 % 24, m = t / 60 % 60, sec = t % 60;
    if (d)
        snprintf(buf, 32, "%lldd%02lldh%02lldm", d, h, m);
    else if (h)
        snprintf(buf, 32, "%lldh%02lldm%02llds", h, m, sec);
    else if (m)
        snprintf(buf, 32, "%lldm%02llds", m, sec);
    else
        snprintf(buf, 32, "%llds", sec);
    return buf;
}

/* ---- printing ---- */

typedef struct {
    const char *scenario, *principals, *caught, *first, *delay, *alerts, *rules;
} text_row_t;

static void text_row_strings(const cw_score_scenario_t *sc, char first[32], char delay[32],
                             char alerts[24], text_row_t *row)
{
    row->scenario = sc->name;
    row->principals = sc->principals;
    row->caught = sc->alerts ? "yes" : "MISSED";
    if (sc->alerts) {
        cw_time_format(sc->first_alert, first);
        cw_score_format_delay(sc->first_alert - sc->start, delay);
    } else {
        strcpy(first, "-");
        strcpy(delay, "-");
    }
    snprintf(alerts, 24, "%llu", (unsigned long long)sc->alerts);
    row->first = first;
    row->delay = delay;
    row->alerts = alerts;
    row->rules = sc->alerts ? sc->rules : "-";
}

static int width(int w, const char *s)
{
    int n = (int)strlen(s);
    return n > w ? n : w;
}

static void print_totals(const cw_score_result_t *r, FILE *out)
{
    char grace[32];
    cw_duration_format(r->grace, grace);
    fprintf(out, "%zu scenario%s: %zu caught, %zu missed; %llu alert%s: %llu on scenarios, %llu false "
            "positive%s, %llu in the learning period (grace %s)",
            r->totals.scenarios, r->totals.scenarios == 1 ? "" : "s", r->totals.caught, r->totals.missed,
            (unsigned long long)r->totals.alerts, r->totals.alerts == 1 ? "" : "s",
            (unsigned long long)r->totals.matched, (unsigned long long)r->totals.false_positives,
            r->totals.false_positives == 1 ? "" : "s", (unsigned long long)r->totals.learning, grace);
}

static const char *learning_text(const cw_score_result_t *r, char buf[64])
{
    char t[32];
    if (r->learning_until == CW_SCORE_NEVER)
        return "no learning period";
    snprintf(buf, 64, "after %s", cw_time_format(r->learning_until, t));
    return buf;
}

static void print_text(const cw_score_result_t *r, FILE *out)
{
    static const text_row_t head = {"scenario", "principal", "caught", "first alert", "delay",
                                    "alerts", "rules"};
    int w[6] = {0};
    char learn[64];

    for (size_t i = 0; i <= r->n_scenarios; i++) {
        char first[32], delay[32], alerts[24];
        text_row_t row = head;
        if (i > 0)
            text_row_strings(&r->scenarios[i - 1], first, delay, alerts, &row);
        w[0] = width(w[0], row.scenario);
        w[1] = width(w[1], row.principals);
        w[2] = width(w[2], row.caught);
        w[3] = width(w[3], row.first);
        w[4] = width(w[4], row.delay);
        w[5] = width(w[5], row.alerts);
    }
    for (size_t i = 0; i <= r->n_scenarios; i++) {
        char first[32], delay[32], alerts[24];
        text_row_t row = head;
        if (i > 0)
            text_row_strings(&r->scenarios[i - 1], first, delay, alerts, &row);
        fprintf(out, "%-*s  %-*s  %-*s  %-*s  %-*s  %*s  %s\n", w[0], row.scenario, w[1], row.principals,
                w[2], row.caught, w[3], row.first, w[4], row.delay, w[5], row.alerts, row.rules);
    }
    fprintf(out, "\nfalse positives (%s): %llu\n", learning_text(r, learn),
            (unsigned long long)r->totals.false_positives);
    if (r->n_false_positives) {
        int fw[3] = {4, 4, 6}; /* "rule", "user", "alerts" */
        for (size_t i = 0; i < r->n_false_positives; i++) {
            char n[24];
            snprintf(n, sizeof n, "%llu", (unsigned long long)r->false_positives[i].alerts);
            fw[0] = width(fw[0], r->false_positives[i].rule);
            fw[1] = width(fw[1], *r->false_positives[i].user ? r->false_positives[i].user : "(none)");
            fw[2] = width(fw[2], n);
        }
        fprintf(out, "  %-*s  %-*s  %*s  %-24s  %s\n", fw[0], "rule", fw[1], "user", fw[2], "alerts",
                "first", "last");
        for (size_t i = 0; i < r->n_false_positives; i++) {
            const cw_score_fp_t *fp = &r->false_positives[i];
            char a[32], b[32];
            fprintf(out, "  %-*s  %-*s  %*llu  %-24s  %s\n", fw[0], fp->rule, fw[1],
                    *fp->user ? fp->user : "(none)", fw[2], (unsigned long long)fp->alerts,
                    cw_time_format(fp->first, a), cw_time_format(fp->last, b));
        }
    }
    fputc('\n', out);
    print_totals(r, out);
    fputc('\n', out);
}

/* A Markdown table cell: '|' escaped, nothing else needs it in these values. */
static void md_cell(FILE *out, const char *s)
{
    fputs("| ", out);
    for (; *s; s++) {
        if (*s == '|')
            fputc('\\', out);
        fputc(*s == '\n' ? ' ' : *s, out);
    }
    fputc(' ', out);
}

static void print_markdown(const cw_score_result_t *r, FILE *out)
{
    char learn[64];
    fputs("| scenario | principal | caught | first alert | delay | alerts | rules |\n"
          "|---|---|---|---|---|---:|---|\n",
          out);
    for (size_t i = 0; i < r->n_scenarios; i++) {
        char first[32], delay[32], alerts[24];
        text_row_t row;
        text_row_strings(&r->scenarios[i], first, delay, alerts, &row);
        md_cell(out, row.scenario);
        md_cell(out, row.principals);
        md_cell(out, r->scenarios[i].alerts ? "yes" : "**missed**");
        md_cell(out, row.first);
        md_cell(out, row.delay);
        md_cell(out, row.alerts);
        md_cell(out, row.rules);
        fputs("|\n", out);
    }
    fprintf(out, "\nFalse positives (%s): %llu.\n", learning_text(r, learn),
            (unsigned long long)r->totals.false_positives);
    if (r->n_false_positives) {
        fputs("\n| rule | user | alerts | first | last |\n|---|---|---:|---|---|\n", out);
        for (size_t i = 0; i < r->n_false_positives; i++) {
            const cw_score_fp_t *fp = &r->false_positives[i];
            char a[32], b[32], n[24];
            snprintf(n, sizeof n, "%llu", (unsigned long long)fp->alerts);
            md_cell(out, fp->rule);
            md_cell(out, *fp->user ? fp->user : "(none)");
            md_cell(out, n);
            md_cell(out, cw_time_format(fp->first, a));
            md_cell(out, cw_time_format(fp->last, b));
            fputs("|\n", out);
        }
    }
    fputc('\n', out);
    print_totals(r, out);
    fputs(".\n", out);
}

static cJSON *json_time(cw_time_t t)
{
    char buf[32];
    return t == CW_SCORE_NEVER ? cJSON_CreateNull() : cJSON_CreateString(cw_time_format(t, buf));
}

static cJSON *json_strings(const char *const *list, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(list[i]));
    return a;
}

static cJSON *json_result(const cw_score_result_t *r)
{
    cJSON *root = cJSON_CreateObject(), *list = cJSON_CreateArray(), *fps = cJSON_CreateArray();
    cJSON *totals = cJSON_CreateObject();

    cJSON_AddNumberToObject(root, "grace_ms", (double)r->grace);
    cJSON_AddItemToObject(root, "learning_until", json_time(r->learning_until));
    for (size_t i = 0; i < r->n_scenarios; i++) {
        const cw_score_scenario_t *sc = &r->scenarios[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "scenario", sc->name);
        cJSON_AddItemToObject(o, "principals", json_strings(sc->principal_list, sc->n_principals));
        cJSON_AddItemToObject(o, "start", json_time(sc->start));
        cJSON_AddItemToObject(o, "end", json_time(sc->end));
        cJSON_AddBoolToObject(o, "caught", sc->alerts > 0);
        cJSON_AddItemToObject(o, "first_alert", json_time(sc->first_alert));
        if (sc->alerts)
            cJSON_AddNumberToObject(o, "delay_ms", (double)(sc->first_alert - sc->start));
        else
            cJSON_AddNullToObject(o, "delay_ms");
        cJSON_AddNumberToObject(o, "alerts", (double)sc->alerts);
        cJSON_AddItemToObject(o, "rules", json_strings(sc->rule_list, sc->n_rules));
        cJSON_AddItemToArray(list, o);
    }
    cJSON_AddItemToObject(root, "scenarios", list);
    for (size_t i = 0; i < r->n_false_positives; i++) {
        const cw_score_fp_t *fp = &r->false_positives[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "rule", fp->rule);
        if (*fp->user)
            cJSON_AddStringToObject(o, "user", fp->user);
        else
            cJSON_AddNullToObject(o, "user");
        cJSON_AddNumberToObject(o, "alerts", (double)fp->alerts);
        cJSON_AddItemToObject(o, "first", json_time(fp->first));
        cJSON_AddItemToObject(o, "last", json_time(fp->last));
        cJSON_AddItemToArray(fps, o);
    }
    cJSON_AddItemToObject(root, "false_positives", fps);
    cJSON_AddNumberToObject(totals, "scenarios", (double)r->totals.scenarios);
    cJSON_AddNumberToObject(totals, "caught", (double)r->totals.caught);
    cJSON_AddNumberToObject(totals, "missed", (double)r->totals.missed);
    cJSON_AddNumberToObject(totals, "alerts", (double)r->totals.alerts);
    cJSON_AddNumberToObject(totals, "matched", (double)r->totals.matched);
    cJSON_AddNumberToObject(totals, "false_positives", (double)r->totals.false_positives);
    cJSON_AddNumberToObject(totals, "learning", (double)r->totals.learning);
    cJSON_AddItemToObject(root, "totals", totals);
    cJSON_AddBoolToObject(root, "passed", cw_score_passed(r));
    return root;
}

cw_status_t cw_score_print(const cw_score_result_t *r, cw_score_format_t format, FILE *out)
{
    if (format == CW_SCORE_JSON) {
        cJSON *root = json_result(r);
        char *text = cJSON_PrintUnformatted(root);
        cJSON_Delete(root);
        if (!text)
            return CW_ERR_NOMEM;
        fprintf(out, "%s\n", text);
        cJSON_free(text);
    } else if (format == CW_SCORE_MARKDOWN) {
        print_markdown(r, out);
    } else {
        print_text(r, out);
    }
    return fflush(out) == 0 && !ferror(out) ? CW_OK : CW_ERR_IO;
}
