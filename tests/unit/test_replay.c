/*
 * test_replay.c — the replay reader on lines over 1 MiB (doc/formats.md §1.3): in every file
 * format a statement carries a 3 MiB, then a 50 MiB comment. The record is read, its head and
 * tail kept around the cut marker, flagged truncated, its rows kept; a line whose cut would cross
 * fields is the one dead letter (oversize_line); the records around both are read as usual; the
 * reader's memory does not grow with the line. The files are written here, in TMPDIR, and removed.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <apr_general.h>
#include "cdrwatch/replay.h"
#include "tap.h"

static apr_pool_t *pool;

#define HEADER "ts,principal,action,object,rows,statement\n"
#define AFTER "2026-03-04T02:00:00Z,after,SELECT,mediation.cdr_voice,20,SELECT 1\n"
#define JSON_AFTER                                                                                 \
    "{\"ts\":\"2026-03-04T02:00:00Z\",\"principal\":\"after\",\"action\":\"SELECT\",\"object\":\"o\",\"rows\":1}\n"

/* A format: a record is head + comment + tail (@M: its minute, @W: its principal); a line that
 * cannot be cut has `cross` (which closes a value and opens another) in the middle of its comment. */
typedef struct {
    const char *name;
    cw_audit_format_t format;
    const char *header; /* first line, or NULL */
    const char *head, *tail, *cross;
    bool rows;
} fmt_t;

static const fmt_t formats[] = {
    {"canonical JSON", CW_AUDIT_CANONICAL, NULL,
     "{\"ts\":\"2026-03-04T02:@M:00Z\",\"principal\":\"@W\",\"action\":\"SELECT\",\"object\":\"mediation.cdr_voice\","
     "\"rows\":900000,\"statement\":\"SELECT * FROM mediation.cdr_voice /* ",
     " */\"}\n", "\",\"client_app\":\"", true},
    {"canonical CSV", CW_AUDIT_CANONICAL, "ts,principal,action,object,rows,statement\n",
     "2026-03-04T02:@M:00Z,@W,SELECT,mediation.cdr_voice,900000,\"SELECT * FROM mediation.cdr_voice /* ",
     " */\"\r\n", "\",\"", true},
    {"pgaudit", CW_AUDIT_PGAUDIT, NULL,
     "2026-03-04 02:@M:00 UTC [3@M]: user=@W,db=mediation,app=psql,client=10.9.9.9 LOG:  AUDIT: "
     "SESSION,1@M,1,READ,SELECT,TABLE,mediation.cdr_voice,\"SELECT * FROM mediation.cdr_voice /* ",
     " */\",<not logged>,900000\n", "\",\"", true},
    {"MariaDB server_audit", CW_AUDIT_MARIADB, NULL,
     "20260304 02:@M:00,db01,@W,10.9.9.9,300,1,QUERY,mediation,'SELECT * FROM mediation.cdr_voice /* ",
     " */',0\n", "','", false},
    {"MySQL JSON", CW_AUDIT_MYSQL_JSON, NULL,
     "{\"timestamp\":\"2026-03-04 02:@M:00\",\"id\":1,\"class\":\"general\",\"event\":\"status\",\"connection_id\":300,"
     "\"account\":{\"user\":\"@W\",\"host\":\"%\"},\"login\":{\"user\":\"@W\",\"ip\":\"10.9.9.9\"},"
     "\"general_data\":{\"command\":\"Query\",\"sql_command\":\"select\",\"query\":\"SELECT * FROM mediation.cdr_voice /* ",
     " */\",\"status\":0},\"query_statistics\":{\"rows_sent\":900000}}\n", "\",\"x\":\"", true},
};

static void put_comment(FILE *f, size_t n)
{
    static char chunk[1 << 16];
    memset(chunk, 'A', sizeof chunk);
    while (n > 0) {
        size_t k = n < sizeof chunk ? n : sizeof chunk;
        fwrite(chunk, 1, k, f);
        n -= k;
    }
}

/* A record of principal who at minute min, with a comment of n bytes (cut by `cross` if set). */
static void put_record(FILE *f, const fmt_t *fmt, int min, const char *who, size_t n, bool cross)
{
    for (const char *c = fmt->head; *c; c++) {
        if (c[0] == '@' && c[1] == 'M')
            fprintf(f, "%02d", min), c++;
        else if (c[0] == '@' && c[1] == 'W')
            fputs(who, f), c++;
        else
            fputc(*c, f);
    }
    put_comment(f, cross ? n / 2 : n);
    if (cross) {
        fputs(fmt->cross, f);
        put_comment(f, n / 2);
    }
    fputs(fmt->tail, f);
}

typedef struct {
    int n;
    cw_reason_t reason;
    int64_t line;
    size_t rawlen;
} dead_t;

static void on_dead(void *ctx, const cw_dead_letter_t *dl)
{
    dead_t *d = ctx;
    d->n++;
    d->reason = dl->result.reason;
    d->line = dl->pos.offset;
    d->rawlen = dl->rawlen;
}

static long peak_rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static void test_format(const fmt_t *fmt, size_t big)
{
    char err[512], name[256];
    const char *tmpdir = getenv("TMPDIR");
    char tmpl[512];
    int fd;
    FILE *f;
    apr_pool_t *p;
    cw_replay_t *r;
    const cw_event_t *ev;
    dead_t dead = {0};
    int first_line = fmt->header ? 2 : 1;
    long rss_before;
    cw_replay_input_t in = {NULL, CW_STREAM_AUDIT, fmt->format, NULL};

    snprintf(tmpl, sizeof tmpl, "%s/cw-test-replay.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    fd = mkstemp(tmpl);
    if (fd < 0 || !(f = fdopen(fd, "w"))) {
        ok(0, "temporary file");
        return;
    }
    if (fmt->header)
        fputs(fmt->header, f);
    put_record(f, fmt, 0, "before", 10, false);
    put_record(f, fmt, 1, "thief", big, false);
    put_record(f, fmt, 2, "uncut", big, true);
    put_record(f, fmt, 3, "after", 10, false);
    fclose(f);

    in.path = tmpl;
    apr_pool_create(&p, pool);
    rss_before = peak_rss_kib();
#define NAME(what) (snprintf(name, sizeof name, "%s, a %zu MiB comment: %s", fmt->name, big >> 20, what), name)
    if (!ok(cw_replay_open(p, &in, 1, NULL, on_dead, &dead, &r, err, sizeof err) == CW_OK, NAME("opened"))) {
        printf("# %s\n", err);
        goto out;
    }
    ok(cw_replay_next(r, &ev, err, sizeof err) == CW_OK && !strcmp(ev->u.audit.principal, "before") && !ev->damage,
       NAME("the record before is read, undamaged"));
    if (!ok(cw_replay_next(r, &ev, err, sizeof err) == CW_OK, NAME("the long record is read")))
        goto out;
    is_str(ev->u.audit.principal, "thief", NAME("its principal"));
    is_int(ev->pos.offset, first_line + 1, NAME("its line"));
    ok(ev->damage & CW_DAMAGE_TRUNCATED, NAME("flagged truncated"));
    if (fmt->rows)
        is_int(ev->u.audit.rows, 900000, NAME("its rows are kept"));
    ok(!strncmp(ev->u.audit.statement, "SELECT * FROM mediation.cdr_voice /* AAAA", 41), NAME("its statement's head is kept"));
    {
        size_t n = strlen(ev->u.audit.statement);
        ok(n > 7 && !strcmp(ev->u.audit.statement + n - 7, "AAAA */"), NAME("its statement's tail is kept"));
    }
    ok(strstr(ev->u.audit.statement, CW_CUT_MARKER) != NULL, NAME("the cut marker stands between them"));
    ok(cw_replay_next(r, &ev, err, sizeof err) == CW_OK && !strcmp(ev->u.audit.principal, "after") && !ev->damage,
       NAME("the record after the line that cannot be cut is read, undamaged"));
    is_int(dead.n, 1, NAME("one dead letter"));
    is_int(dead.reason, CW_DEC_UNCUT, NAME("the line that cannot be cut: oversize_line"));
    is_int(dead.line, first_line + 2, NAME("at its line"));
    is_int(dead.rawlen, 256, NAME("with its first 256 bytes"));
    is_int(cw_replay_next(r, &ev, err, sizeof err), CW_ERR_EOF, NAME("then the end"));
    /* the reader holds 1.25 MiB of buffer and 0.5 MiB of spliced line, whatever the length: once
     * the 3 MiB pass has made the decoders' buffers grow, a 50 MiB line adds nothing like 50 MiB */
    if (big > CW_RECORD_MAX * 16)
        ok(peak_rss_kib() - rss_before < 16 * 1024, NAME("the line is not held: peak memory grows by < 16 MiB"));
out:
    apr_pool_destroy(p);
    unlink(tmpl);
}

/* pgaudit: a continuation line over 1 MiB that cannot be cut makes its whole message the dead
 * letter oversize_line, at the message's first line; the next message is read. At the start of
 * the file (at_start: no message before it), the line is a dead letter of its own. */
static void test_pgaudit_continuation(bool at_start)
{
    char tmpl[512], err[512];
    const char *tmpdir = getenv("TMPDIR");
    int fd;
    FILE *f;
    apr_pool_t *p;
    cw_replay_t *r;
    const cw_event_t *ev;
    dead_t dead = {0};
    cw_replay_input_t in = {NULL, CW_STREAM_AUDIT, CW_AUDIT_PGAUDIT, NULL};
    snprintf(tmpl, sizeof tmpl, "%s/cw-test-replay.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    if ((fd = mkstemp(tmpl)) < 0 || !(f = fdopen(fd, "w"))) {
        ok(0, "temporary file");
        return;
    }
    if (at_start) { /* the same continuation line, with no message before it */
        fputs("\t/* \"", f);
        put_comment(f, 2u << 20);
        fputs("\",\"", f);
        put_comment(f, 2u << 20);
        fputs(" */\n", f);
    }
    fputs("2026-03-04 02:00:00 UTC [300]: user=thief,db=mediation,app=psql,client=10.9.9.9 LOG:  AUDIT: "
          "SESSION,1,1,READ,SELECT,TABLE,mediation.cdr_voice,\"SELECT *\n\t/* ", f);
    put_comment(f, 2u << 20);
    fputs("\",\"", f);
    put_comment(f, 2u << 20);
    fputs(" */ FROM mediation.cdr_voice\",<not logged>,900000\n", f);
    fputs("2026-03-04 02:01:00 UTC [301]: user=after,db=mediation,app=psql,client=10.9.9.9 LOG:  AUDIT: "
          "SESSION,1,1,READ,SELECT,TABLE,mediation.cdr_voice,SELECT 1,<not logged>,1\n", f);
    fclose(f);
    in.path = tmpl;
    apr_pool_create(&p, pool);
    if (cw_replay_open(p, &in, 1, NULL, on_dead, &dead, &r, err, sizeof err) == CW_OK) {
        ok(cw_replay_next(r, &ev, err, sizeof err) == CW_OK && !strcmp(ev->u.audit.principal, "after"),
           at_start ? "pgaudit, two uncuttable continuation lines: the next message is read"
                    : "pgaudit, an uncuttable continuation line: the next message is read");
        if (at_start) {
            is_int(dead.n, 2, "pgaudit, one at the start of the file: a dead letter too");
            is_int((int)cw_replay_skipped(r), 0, "pgaudit, one at the start of the file: no line skipped");
        } else {
            is_int(dead.n, 1, "pgaudit, an uncuttable continuation line: one dead letter");
            is_int(dead.reason, CW_DEC_UNCUT, "pgaudit, an uncuttable continuation line: oversize_line");
            is_int(dead.line, 1, "pgaudit, an uncuttable continuation line: at the message's first line");
        }
    } else {
        ok(0, err);
    }
    apr_pool_destroy(p);
    unlink(tmpl);
}

/* The scanner alone: where a cut may fall, format by format. */
static void test_cut(void)
{
    static const struct {
        cw_cut_syntax_t syntax;
        const char *text;
        bool ok;
        const char *why;
    } cases[] = {
        {CW_CUT_JSON, "{\"s\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}", true, "JSON: inside one string"},
        {CW_CUT_JSON, "{\"s\":\"xxxxxxxxxxxxxxxxxxxx\",\"t\":\"xxxxxxxxxxxxxxxxx\"}", false, "JSON: across two strings"},
        {CW_CUT_JSON, "{\"s\":1234567890123456789012345678901234567890123}", false, "JSON: in a number"},
        {CW_CUT_JSON, "{\"s\":\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\"}", true,
         "JSON: escaped quotes are no boundary"},
        {CW_CUT_CSV, "a,\"xxxxxxxxxxx\"\"xxxxxxxxxxxxxxxxxxxxxxxxxxxx\",b", true, "CSV: a quoted field, doubled quote"},
        {CW_CUT_CSV, "a,xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx,b", true, "CSV: an unquoted field"},
        {CW_CUT_CSV, "a,\"xxxxxxxxxxxxxxxxxxx\",\"xxxxxxxxxxxxxxxxxxxxx\"", false, "CSV: across two fields"},
        {CW_CUT_SQL, "a,'xxxxxxxxxxx\\'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',0", true, "SQL: an escaped quote"},
        {CW_CUT_SQL, "a,'xxxxxxxxxxxxxxxxxxxxx','xxxxxxxxxxxxxxxxxxxxx',0", false, "SQL: across two values"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cw_cut_state_t st;
        size_t head = 0, tail = 0, len = strlen(cases[i].text);
        cw_cut_init(&st, cases[i].syntax, false);
        is_int(cw_cut_find(&st, cases[i].text, len, 12, 10, &head, &tail), cases[i].ok, cases[i].why);
    }
    { /* never inside an escape or a UTF-8 sequence */
        const char *t = "{\"s\":\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"}";
        cw_cut_state_t st;
        size_t head = 0, tail = 0;
        cw_cut_init(&st, CW_CUT_JSON, false);
        ok(cw_cut_find(&st, t, strlen(t), 15, 13, &head, &tail) && head == 12 && tail == strlen(t) - 8,
           "JSON: the cut keeps whole \\u escapes");
        t = "a,\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\",b";
        cw_cut_init(&st, CW_CUT_CSV, false);
        ok(cw_cut_find(&st, t, strlen(t), 6, 6, &head, &tail) && head == 5 && tail == strlen(t) - 5,
           "CSV: the cut keeps whole UTF-8 characters");
    }
}

/* What a sniff test writes first: the first line(s) of its file. */
typedef void (*first_fn)(FILE *f);

static void put_pad(FILE *f, size_t n, int c)
{
    for (size_t i = 0; i < n; i++)
        fputc(c, f);
}

/* 1.1 MiB of one bare value: a line that could be cut, but no header. */
static void first_long(FILE *f)
{
    put_pad(f, 1100u << 10, 'A');
    fputc('\n', f);
}

/* 300 KiB of spaces, then two 700 KB quoted values: a line that cannot be cut, whose first 256
 * bytes are blank (the spaces filled the sniffing buffer: the file was read as JSON Lines). */
static void first_uncut_blank(FILE *f)
{
    put_pad(f, 300u << 10, ' ');
    fputs("x,\"", f);
    put_pad(f, 700000, 'A');
    fputs("\",\"", f);
    put_pad(f, 700000, 'B');
    fputs("\"\n", f);
}

/* A quoted cell spanning 35 lines of 30 000 bytes, over 1 MiB in all at its last line. */
static void first_long_record(FILE *f)
{
    fputs("\"", f);
    for (int i = 0; i < 34; i++) {
        put_pad(f, 30000, 'A');
        fputc('\n', f);
    }
    put_pad(f, 30000, 'A');
    fputs("\",b\n", f);
}

/* Write first() then body to a temporary file named in tmpl; false if it cannot. */
static bool write_file(char *tmpl, size_t size, first_fn first, const char *body)
{
    const char *tmpdir = getenv("TMPDIR");
    int fd;
    FILE *f;
    snprintf(tmpl, size, "%s/cw-test-replay.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    if ((fd = mkstemp(tmpl)) < 0 || !(f = fdopen(fd, "w")))
        return false;
    if (first)
        first(f);
    fputs(body, f);
    return fclose(f) == 0;
}

/* An oversized first line of a canonical file is one dead letter (oversize; oversize_line if it
 * cannot be cut), at line 1, never a skipped line; the header after it is found and the records
 * under it are read. */
static void test_sniff_oversize(const char *what, first_fn first, const char *body, int want_line,
                                cw_reason_t want_reason)
{
    char tmpl[512], err[512], name[256];
    apr_pool_t *p;
    cw_replay_t *r;
    const cw_event_t *ev;
    dead_t dead = {0};
    cw_replay_input_t in = {NULL, CW_STREAM_AUDIT, CW_AUDIT_CANONICAL, NULL};
    if (!write_file(tmpl, sizeof tmpl, first, body)) {
        ok(0, "temporary file");
        return;
    }
    in.path = tmpl;
    apr_pool_create(&p, pool);
#define SNAME(x) (snprintf(name, sizeof name, "%s: %s", what, x), name)
    if (ok(cw_replay_open(p, &in, 1, NULL, on_dead, &dead, &r, err, sizeof err) == CW_OK, SNAME("opened"))) {
        ok(cw_replay_next(r, &ev, err, sizeof err) == CW_OK && !strcmp(ev->u.audit.principal, "after") &&
               ev->pos.offset == want_line,
           SNAME("the record under the header is read"));
        is_int(cw_replay_next(r, &ev, err, sizeof err), CW_ERR_EOF, SNAME("then the end"));
        is_int(dead.n, 1, SNAME("one dead letter"));
        is_str(cw_reason_name(dead.reason), cw_reason_name(want_reason), SNAME("its reason"));
        is_int(dead.line, 1, SNAME("at line 1"));
        is_int((int)cw_replay_skipped(r), 0, SNAME("no line skipped"));
    } else {
        printf("# %s\n", err);
    }
#undef SNAME
    apr_pool_destroy(p);
    unlink(tmpl);
}

/* A 100 000-column header: one usage error naming its width, not a dead letter per line. */
static void put_wide_header(FILE *f)
{
    for (int i = 0; i < 100000; i++)
        fprintf(f, "%sc%d", i ? "," : "", i);
    fputc('\n', f);
}

static void test_wide_header(void)
{
    char tmpl[512], err[512];
    apr_pool_t *p;
    cw_replay_t *r;
    dead_t dead = {0};
    cw_replay_input_t in = {NULL, CW_STREAM_CDR, CW_AUDIT_CANONICAL, NULL};
    if (!write_file(tmpl, sizeof tmpl, put_wide_header, "1,2\n3,4\n")) {
        ok(0, "temporary file");
        return;
    }
    in.path = tmpl;
    apr_pool_create(&p, pool);
    is_int(cw_replay_open(p, &in, 1, NULL, on_dead, &dead, &r, err, sizeof err), CW_ERR_USAGE,
           "--cdr with a 100 000-column header: a usage error");
    ok(strstr(err, "start_time") && strstr(err, "of 100000"), "naming the missing columns and the header's width");
    is_int(dead.n, 0, "and no dead letter");
    apr_pool_destroy(p);
    unlink(tmpl);
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    cw_decode_init(); /* cdrwatch's main does it through cw_init */
    test_cut();
    test_sniff_oversize("CSV, a 1.1 MiB first line", first_long, HEADER AFTER, 3, CW_DEC_OVERSIZE);
    test_sniff_oversize("CSV, a first line that cannot be cut, behind 300 KiB of blanks", first_uncut_blank,
                        HEADER AFTER, 3, CW_DEC_UNCUT);
    test_sniff_oversize("CSV, a first record over 1 MiB", first_long_record, HEADER AFTER, 37, CW_DEC_OVERSIZE);
    test_sniff_oversize("JSON Lines, a 1.1 MiB first line", first_long, JSON_AFTER, 2, CW_DEC_OVERSIZE);
    test_wide_header();
    test_pgaudit_continuation(false);
    test_pgaudit_continuation(true);
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        test_format(&formats[i], 3u << 20);
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        test_format(&formats[i], 50u << 20);
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
