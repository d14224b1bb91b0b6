/*
 * cdrwatch-gen — a deterministic generator of a mobile operator's call-detail records (CDRs)
 * and of the database audit trail of the mediation database that stores them, with labelled
 * CDR-theft scenarios, for testing, evaluating and benchmarking cdrwatch.
 *
 * It writes into --out-dir, in the formats of doc/formats.md section 1:
 *   cdr.csv        the CDR stream (doc/formats.md §1.1), one row per voice call, SMS or data
 *                  session, sorted by start_time (ties in generation order);
 *   audit.jsonl    the database audit stream (doc/formats.md §1.2), one JSON object per line,
 *                  sorted by ts (ties in generation order): benign actors plus the scenarios;
 *   labels.csv     one row per (scenario, principal) episode: scenario, principal, start, end,
 *                  description; principal * stands for any (a silence of the audit trail);
 *   watchlist.txt  with a watchlist only: one MSISDN, IMSI or IMEI a line.
 *
 * Guarantees:
 *   - Same arguments, byte-identical output, on every run and machine: the only randomness is
 *     the xoshiro256** generator below, seeded from --seed, one stream per actor, day and
 *     scenario; everything written is computed with integer arithmetic; no clock, no locale,
 *     no libc rand(); sorts break every tie. Adding a scenario or an option does not change
 *     what the defaults write (datasets/small is checked byte for byte).
 *   - The audit trail is consistent with the CDRs: every `rows` of a statement that reads CDRs
 *     is the number of generated CDRs that statement's predicate selects (a CDR exists from its
 *     start_time on; a subscriber's CDRs are those whose calling_msisdn is that subscriber).
 *     datasets/gen/check-dataset.py recounts them independently.
 *   - Everything happens inside [start, start + days) UTC; the weekday rhythm is ISO (Mon=1).
 *   - Memory: about 40 bytes per CDR plus about 150 per audit event; time: linear in the
 *     records written (datasets/README.md gives the measured rate).
 *   - Exit status: 0 success; 1 an I/O or memory failure; 2 a usage error, with a message on
 *     standard error naming the option and what was expected.
 *
 * Layout of this file, top to bottom: random numbers; calendar; the scenario table and its
 * parameters; options; the operator (subscribers, cells, numbers); CDR generation and the
 * indexes that count CDRs in a range; the audit log; one function per benign actor; the
 * watchlist and li_officer; one function per scenario; output; main.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#if defined(__GNUC__)
#define PRINTF_LIKE(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define PRINTF_LIKE(fmt, args)
#endif

#define PROGRAM "cdrwatch-gen"

#define MS_PER_SECOND 1000LL
#define MS_PER_MINUTE 60000LL
#define MS_PER_HOUR 3600000LL
#define MS_PER_DAY 86400000LL

#define MAX_DAYS 366u
#define MIN_SUBSCRIBERS 10u
#define MAX_SUBSCRIBERS 1000000u  /* IMEI serials and MSISDNs stay unique up to here */
#define MAX_TOTAL_CDRS 200000000ull /* days x cdr-per-day; about 40 bytes of memory each */
#define MAX_CELLS 40000u

/* ------------------------------------------------------------------------------------------ */
/* Fatal errors. Only out-of-memory is fatal inside the generator; I/O errors are returned.   */

static void die_out_of_memory(void)
{
    fprintf(stderr, "%s: out of memory\n", PROGRAM);
    exit(1);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die_out_of_memory();
    return p;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        die_out_of_memory();
    return p;
}

static char *xasprintf(const char *fmt, ...) PRINTF_LIKE(1, 2);
static char *xasprintf(const char *fmt, ...)
{
    char first_try[512]; /* most statements fit: one formatting pass, not two */
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(first_try, sizeof first_try, fmt, ap);
    va_end(ap);
    if (len < 0)
        die_out_of_memory();
    char *s = xmalloc((size_t)len + 1);
    if ((size_t)len < sizeof first_try) {
        memcpy(s, first_try, (size_t)len + 1);
        return s;
    }
    va_start(ap, fmt);
    vsnprintf(s, (size_t)len + 1, fmt, ap);
    va_end(ap);
    return s;
}

/* ------------------------------------------------------------------------------------------ */
/* Random numbers: splitmix64 to seed, xoshiro256** to draw. One independent stream per       */
/* purpose (and per day or per actor), so a change to one actor does not shift the others.    */

typedef struct {
    uint64_t s[4];
} rng_t;

enum stream_purpose {
    STREAM_OPERATOR = 1,
    STREAM_CDR_VOLUME,
    STREAM_CDR_DAY,
    STREAM_CONTACT,
    STREAM_BILLING,
    STREAM_FRAUD,
    STREAM_ANALYST,
    STREAM_REPORT,
    STREAM_DBA,
    STREAM_MONITOR,
    STREAM_SCENARIO,
    STREAM_WATCHLIST,
    STREAM_LI,
    STREAM_DWH,
    STREAM_CASE
};

static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static rng_t rng_from_key(uint64_t key)
{
    rng_t r;
    for (int i = 0; i < 4; i++) {
        key += 0x9e3779b97f4a7c15ULL;
        r.s[i] = mix64(key);
    }
    return r;
}

/* The stream for (seed, purpose, index): e.g. (seed, STREAM_CDR_DAY, 3) draws day 3's CDRs. */
static rng_t rng_stream(uint64_t seed, uint64_t purpose, uint64_t index)
{
    return rng_from_key(mix64(seed ^ mix64(purpose ^ mix64(index))));
}

static uint64_t rotl64(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(rng_t *r)
{
    uint64_t *s = r->s;
    const uint64_t result = rotl64(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return result;
}

/* Uniform in [0, n), n > 0, without modulo bias. */
static uint64_t rng_below(rng_t *r, uint64_t n)
{
    const uint64_t reject_below = (0 - n) % n;
    uint64_t x;
    do
        x = rng_next(r);
    while (x < reject_below);
    return x % n;
}

/* Uniform in [lo, hi], lo <= hi. */
static int64_t rng_between(rng_t *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t)rng_below(r, (uint64_t)(hi - lo) + 1);
}

/* True with probability per_mille / 1000. */
static int rng_chance(rng_t *r, unsigned per_mille)
{
    return rng_below(r, 1000) < per_mille;
}

/* Index i drawn with probability weight[i] / sum(weight). */
static size_t rng_weighted(rng_t *r, const unsigned *weight, size_t n)
{
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += weight[i];
    uint64_t x = rng_below(r, total);
    for (size_t i = 0; i < n; i++) {
        if (x < weight[i])
            return i;
        x -= weight[i];
    }
    return n - 1;
}

/* A value range with a weight: draw a range by weight, then uniformly inside it. */
typedef struct {
    uint64_t lo, hi;
    unsigned weight;
} weighted_range_t;

static uint64_t rng_from_ranges(rng_t *r, const weighted_range_t *range, size_t n)
{
    unsigned weight[16];
    for (size_t i = 0; i < n; i++)
        weight[i] = range[i].weight;
    const weighted_range_t *pick = &range[rng_weighted(r, weight, n)];
    return pick->lo + rng_below(r, pick->hi - pick->lo + 1);
}

/* The first n of a[0..len) become a uniform random sample without replacement. */
static void sample(rng_t *r, uint32_t *a, size_t len, size_t n)
{
    for (size_t i = 0; i < n && i < len; i++) {
        size_t j = i + (size_t)rng_below(r, len - i);
        uint32_t t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Calendar: proleptic Gregorian, UTC, days since 1970-01-01 (H. Hinnant's algorithms).       */

static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    const int64_t era = y / 400; /* y >= 1969 here, never negative */
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *year, int *month, int *day)
{
    z += 719468;
    const int64_t era = z / 146097;
    const int64_t doe = z - era * 146097;
    const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const int64_t mp = (5 * doy + 2) / 153;
    const int64_t d = doy - (153 * mp + 2) / 5 + 1;
    const int64_t m = mp < 10 ? mp + 3 : mp - 9;
    *year = (int)(yoe + era * 400 + (m <= 2));
    *month = (int)m;
    *day = (int)d;
}

/* ISO weekday of a day number: 1 = Monday ... 7 = Sunday (1970-01-01 was a Thursday). */
static int iso_weekday(int64_t day)
{
    return (int)((day + 3) % 7) + 1;
}

typedef struct {
    int year, month, day, hour, minute, second, milli;
} civil_time_t;

static civil_time_t civil_time(int64_t ms)
{
    civil_time_t c;
    const int64_t day = ms / MS_PER_DAY;
    int64_t in_day = ms % MS_PER_DAY;
    civil_from_days(day, &c.year, &c.month, &c.day);
    c.hour = (int)(in_day / MS_PER_HOUR);
    c.minute = (int)(in_day % MS_PER_HOUR / MS_PER_MINUTE);
    c.second = (int)(in_day % MS_PER_MINUTE / MS_PER_SECOND);
    c.milli = (int)(in_day % MS_PER_SECOND);
    return c;
}

/* ISO-8601 UTC with milliseconds: 2026-03-02T08:14:07.123Z (25 bytes with the NUL). */
static void format_iso(int64_t ms, char out[32])
{
    civil_time_t c = civil_time(ms);
    snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", c.year, c.month, c.day, c.hour,
             c.minute, c.second, c.milli);
}

/* A PostgreSQL timestamptz literal body: 2026-03-02 08:14:07.123+00 (fraction only if any). */
static void format_sql_time(int64_t ms, char out[32])
{
    civil_time_t c = civil_time(ms);
    if (c.milli)
        snprintf(out, 32, "%04d-%02d-%02d %02d:%02d:%02d.%03d+00", c.year, c.month, c.day,
                 c.hour, c.minute, c.second, c.milli);
    else
        snprintf(out, 32, "%04d-%02d-%02d %02d:%02d:%02d+00", c.year, c.month, c.day, c.hour,
                 c.minute, c.second);
}

/* ------------------------------------------------------------------------------------------ */
/* The scenario table: one row per theft scenario, with the defaults of its parameters. The    */
/* code of each scenario is further down (a case per kind in run_scenario()).                 */

typedef enum {
    SCENARIO_BULK_THEFT, /* first: its random stream index, 0, predates the others */
    SCENARIO_LOW_AND_SLOW,
    SCENARIO_HISTORY_HARVEST,
    SCENARIO_EXPORT_BY_NON_EXPORTER,
    SCENARIO_OFF_HOURS_NEW_HOST,
    SCENARIO_WATCHLIST_LOOKUP,
    SCENARIO_ACCOUNT_CREATED_THEN_READS,
    SCENARIO_AUDIT_TAMPERING,
    SCENARIO_SOURCE_SILENCE,
    SCENARIO_APP_CREDENTIAL_ABUSE, /* not in the nine of datasets/scenarios (CLASSIC_KINDS) */
    SCENARIO_BATCH_EXTRA_RUN,
    SCENARIO_SPREAD_THEFT,
    SCENARIO_BLINDING_ROWS,
    SCENARIO_BLINDING_READS,
    N_SCENARIO_KINDS
} scenario_kind_t;

#define KIND_BIT(k) (1u << (k))
#define ALL_KINDS (KIND_BIT(N_SCENARIO_KINDS) - 1u)
#define CLASSIC_KINDS (KIND_BIT(SCENARIO_APP_CREDENTIAL_ABUSE) - 1u) /* --scenarios classic */

/* One scenario and its parameters (--set NAME.PARAM=VALUE changes a copy in options_t). */
typedef struct {
    const char *name;
    scenario_kind_t kind;
    const char *summary;   /* one line of --help */
    unsigned day;          /* day index it starts on, 0 = the first day generated */
    unsigned at;           /* minute of that day it starts at, UTC */
    unsigned minutes;      /* length of its labelled window (see PARAMS for each kind) */
    unsigned days;         /* low-and-slow: consecutive days */
    unsigned amount;       /* rate, subscribers, people or after: see PARAMS */
    const char *principal; /* who does it (account-created-then-reads: the creating DBA) */
    const char *host, *app;
    const char *choice;    /* hours, verb or role: see PARAMS */
    unsigned extent;       /* app-credential-abuse: lookups an hour */
} scenario_t;

/*
 * The defaults place every scenario but bulk-theft in the second week of a 14-day set starting
 * on a Monday, each at its own time; bulk-theft keeps day 2, the theft of datasets/small.
 * datasets/scenarios is generated with --scenarios classic --set bulk-theft.day=9. The three
 * scenarios added after it (not in classic) end by day 17: spread-theft lasts ten nights.
 */
static const scenario_t SCENARIOS[N_SCENARIO_KINDS] = {
    {"bulk-theft", SCENARIO_BULK_THEFT,
     "a dormant service account logs in from a mail server at night, reads every\n"
     "CDR table day by day and COPYs all three to /tmp",
     2, 2 * 60 + 5, 45, 0, 0, "svc_backup", "mail-ex01.corp.example", "sqlcmd", NULL, 0},
    {"low-and-slow", SCENARIO_LOW_AND_SLOW,
     "an analyst's own account walks the CDR history in small chunks, RATE rows\n"
     "an hour more than usual, for DAYS days: under any hourly floor, large over\n"
     "24 h and 7 d",
     8, 0, 0, 3, 1500, "bob", "ws-102.corp.example", "DBeaver", "edges", 0},
    {"history-harvest", SCENARIO_HISTORY_HARVEST,
     "an account pulls the whole call history of dozens of subscribers, one query\n"
     "each",
     8, 14 * 60, 50, 0, 40, "alice", "ws-101.corp.example", "DBeaver", NULL, 0},
    {"export-by-non-exporter", SCENARIO_EXPORT_BY_NON_EXPORTER,
     "an account that never exports runs COPY ... TO (or EXPORT, UNLOAD) on two\n"
     "CDR tables",
     7, 6 * 60 + 5, 15, 0, 0, "rpt_weekly", "bi01.corp.example", "reportsvc", "COPY", 0},
    {"off-hours-new-host", SCENARIO_OFF_HOURS_NEW_HOST,
     "an analyst's account reads CDRs at night from a web server it never used",
     11, 23 * 60 + 10, 45, 0, 0, "chen", "web01.dmz.example", "psql", NULL, 0},
    {"watchlist-lookup", SCENARIO_WATCHLIST_LOOKUP,
     "an account not allowed to (only li_officer is) looks up watchlisted\n"
     "subscribers",
     10, 11 * 60, 30, 0, 3, "chen", "ws-103.corp.example", "DBeaver", NULL, 0},
    {"account-created-then-reads", SCENARIO_ACCOUNT_CREATED_THEN_READS,
     "a DBA creates a login role and grants it SELECT on the CDR tables; hours\n"
     "later the new role reads CDRs; labelled with both accounts",
     11, 11 * 60 + 20, 40, 0, 150, "dba_ops", "jump01.corp.example", "psql", "svc_tmp", 0},
    {"audit-tampering", SCENARIO_AUDIT_TAMPERING,
     "a DBA account switches pgaudit off (ALTER SYSTEM SET pgaudit.log = 'none'):\n"
     "no statement is audited for MINUTES minutes, connections still are;\n"
     "labelled with the account, and with principal * for the silence",
     12, 3 * 60 + 10, 25, 0, 0, "dba_ops", "jump01.corp.example", "psql", NULL, 0},
    {"source-silence", SCENARIO_SOURCE_SILENCE,
     "the audit stream stops (every principal, svc_fraud and svc_monitor\n"
     "included) while CDRs keep flowing; labelled with principal *",
     13, 9 * 60, 180, 0, 0, "*", NULL, NULL, NULL, 0},
    {"app-credential-abuse", SCENARIO_APP_CREDENTIAL_ABUSE,
     "an application's own credentials, from its usual host and program, look\n"
     "subscribers up as it does, but each lookup reads HISTORY hours instead of\n"
     "24 (2-3 times its usual rows), LOOKUPS times an hour for MINUTES minutes",
     8, 20 * 60, 36 * 60, 0, 60, "svc_fraud", "fraud01.corp.example", "fraudengine", NULL, 10},
    {"batch-extra-run", SCENARIO_BATCH_EXTRA_RUN,
     "a batch account runs its usual extract (the same SELECTs and COPYs, from its\n"
     "usual host) once more, at an hour it never runs",
     9, 4 * 60 + 10, 20, 0, 0, "svc_billing", "billing01.corp.example", "billing-extract",
     NULL, 0},
    {"spread-theft", SCENARIO_SPREAD_THEFT,
     "a monitoring account's credentials walk the CDR history in chunks, ROWS rows\n"
     "a night in one short session, for DAYS nights: small every night, the whole\n"
     "history in the end",
     7, 0, 0, 10, 3000, "svc_monitor", "mon01.corp.example", "probe", NULL, 0},
    {"blinding-rows", SCENARIO_BLINDING_ROWS,
     "the server's configuration is edited and reloaded with pgaudit.log_rows off:\n"
     "a busy account's reads are still audited, without row counts, for MINUTES\n"
     "minutes (no statement shows the change)",
     14, 10 * 60, 240, 0, 0, "svc_fraud", "fraud01.corp.example", "fraudengine", NULL, 0},
    {"blinding-reads", SCENARIO_BLINDING_READS,
     "the server's configuration is edited and reloaded with READ out of\n"
     "pgaudit.log: a busy account's reads vanish from the audit for MINUTES minutes\n"
     "while its connections (log_connections) are still logged",
     15, 10 * 60, 240, 0, 0, "svc_fraud", "fraud01.corp.example", "fraudengine", NULL, 0},
};

/* The parameters --set accepts, and which scenarios have each. */
enum param_field {
    P_DAY, P_AT, P_MINUTES, P_DAYS, P_AMOUNT, P_EXTENT, P_PRINCIPAL, P_HOST, P_APP, P_CHOICE
};

typedef struct {
    const char *name;
    unsigned kinds; /* KIND_BIT of each scenario that has it */
    enum param_field field;
    unsigned lo, hi;      /* numbers: the accepted range */
    const char *choices;  /* P_CHOICE: "a|b" accepted values, or NULL for any name */
    const char *help;
} param_t;

#define MANY_DAY_KINDS (KIND_BIT(SCENARIO_LOW_AND_SLOW) | KIND_BIT(SCENARIO_SPREAD_THEFT))
#define ONE_DAY_KINDS (ALL_KINDS & ~MANY_DAY_KINDS)
#define ACTOR_KINDS (ALL_KINDS & ~KIND_BIT(SCENARIO_SOURCE_SILENCE))

static const param_t PARAMS[] = {
    {"day", ALL_KINDS, P_DAY, 0, MAX_DAYS - 1, NULL,
     "day it starts on, 0 = the first day generated"},
    {"at", ONE_DAY_KINDS, P_AT, 0, 24 * 60 - 1, NULL, "time of day it starts, HH:MM UTC"},
    {"minutes", ONE_DAY_KINDS, P_MINUTES, 5, 7 * 24 * 60, NULL,
     "length of the labelled window; account-created-then-reads: of the\n"
     "new role's session; audit-tampering, source-silence: of the silence"},
    {"days", MANY_DAY_KINDS, P_DAYS, 1, 60, NULL, "how many consecutive days"},
    {"rate", KIND_BIT(SCENARIO_LOW_AND_SLOW), P_AMOUNT, 10, 1000000, NULL,
     "extra rows read in each active hour (+-10 %)"},
    {"hours", KIND_BIT(SCENARIO_LOW_AND_SLOW), P_CHOICE, 0, 0, "edges|all",
     "edges: 06-09 and 18-23 UTC, around office hours; all: around the\n"
     "clock"},
    {"subscribers", KIND_BIT(SCENARIO_HISTORY_HARVEST), P_AMOUNT, 1, 1000, NULL,
     "how many subscribers' histories are pulled"},
    {"verb", KIND_BIT(SCENARIO_EXPORT_BY_NON_EXPORTER), P_CHOICE, 0, 0, "COPY|EXPORT|UNLOAD",
     "COPY (PostgreSQL), EXPORT (Vertica's EXPORT TO PARQUET) or UNLOAD\n"
     "(Redshift)"},
    {"people", KIND_BIT(SCENARIO_WATCHLIST_LOOKUP), P_AMOUNT, 1, 1000, NULL,
     "watchlisted people looked up (watchlist.txt lists the first by IMSI,\n"
     "the second by IMEI)"},
    {"after", KIND_BIT(SCENARIO_ACCOUNT_CREATED_THEN_READS), P_AMOUNT, 1, 12 * 60, NULL,
     "minutes from the end of the DBA's 10-minute window to the new role's\n"
     "login"},
    {"role", KIND_BIT(SCENARIO_ACCOUNT_CREATED_THEN_READS), P_CHOICE, 0, 0, NULL,
     "name of the role created"},
    {"history", KIND_BIT(SCENARIO_APP_CREDENTIAL_ABUSE), P_AMOUNT, 25, 24 * 30, NULL,
     "hours of a subscriber's history each lookup reads (the application's\n"
     "own lookups read 24)"},
    {"lookups", KIND_BIT(SCENARIO_APP_CREDENTIAL_ABUSE), P_EXTENT, 1, 100000, NULL,
     "lookups an hour"},
    {"rows", KIND_BIT(SCENARIO_SPREAD_THEFT), P_AMOUNT, 10, 10000000, NULL,
     "rows read each night (+-10 %)"},
    {"principal", ACTOR_KINDS, P_PRINCIPAL, 0, 0, NULL, "database account it uses"},
    {"host", ACTOR_KINDS, P_HOST, 0, 0, NULL, "client_host it comes from"},
    {"app", ACTOR_KINDS, P_APP, 0, 0, NULL, "client_app it uses"},
};
#define N_PARAMS (sizeof PARAMS / sizeof PARAMS[0])

/* ------------------------------------------------------------------------------------------ */
/* Operator profiles: scale and habits of the benign actors (--profile). "default" is the     */
/* operator of datasets/small and datasets/scenarios; the others change its volumes and add   */
/* habits that an operator of their kind has. --subscribers, --cdr-per-day and                */
/* --lookups-per-day still override the profile's scale.                                      */

typedef struct {
    const char *name;
    const char *summary; /* --help */
    unsigned subscribers, cdr_per_day, lookups_per_day;
    unsigned billing_runs;   /* extracts a day: 1 = at 01:30, yesterday; N = every 24/N hours,
                                the last 24/N hours, each 1 h 30 after its window */
    int billing_copy_all;    /* COPY (SELECT * ...) TO of every CDR table, not only voice */
    int dwh_batch;           /* svc_dwh: an hourly load of the last hour of every table */
    int weekly_full;         /* rpt_weekly also reads every CDR of the week */
    unsigned case_per_mille; /* analysts: queries that pull a heavy user's whole history */
} profile_t;

static const profile_t PROFILES[] = {
    {"default",
     "2000 subscribers, 15000 CDRs a weekday, 480 fraud lookups a day, one\n"
     "nightly billing extract: the operator of datasets/small and datasets/scenarios",
     2000, 15000, 480, 1, 0, 0, 0, 0},
    {"large",
     "ten times the subscribers (20000) and the volume (150000 CDRs, 4800 fraud\n"
     "lookups a day); billing extracts every 6 hours with a COPY (SELECT * ...) TO\n"
     "of each table; a second batch account, svc_dwh (etl01, airflow), loads the\n"
     "last hour of every table each hour; rpt_weekly also reads the whole week\n"
     "(about a million rows at full scale)",
     20000, 150000, 4800, 4, 1, 1, 1, 0},
    {"fraud-heavy",
     "5000 subscribers, 30000 CDRs a weekday; the fraud engine looks up 4000\n"
     "subscribers a day; 15 % of the analysts' queries pull a heavy user's whole\n"
     "history (the top 1 % by activity) for their cases",
     5000, 30000, 4000, 1, 0, 0, 0, 150},
};
#define N_PROFILES (sizeof PROFILES / sizeof PROFILES[0])

/* ------------------------------------------------------------------------------------------ */
/* Options.                                                                                   */

typedef struct {
    uint64_t seed;
    int64_t start_day; /* days since 1970-01-01 */
    unsigned days;
    unsigned subscribers;
    unsigned cdr_per_day;
    unsigned lookups_per_day;     /* svc_fraud's lookups a day */
    unsigned watchlist;           /* watchlisted people; 0: no watchlist, no li_officer */
    int watchlist_given;
    const profile_t *profile;     /* --profile, default PROFILES[0] */
    unsigned selected;            /* KIND_BIT of each scenario generated */
    scenario_t scenario[N_SCENARIO_KINDS]; /* SCENARIOS with --set applied */
    const char *out_dir;
} options_t;

#define DEFAULT_SELECTION KIND_BIT(SCENARIO_BULK_THEFT)
#define DEFAULT_WATCHLIST 6u         /* with watchlist-lookup, unless --watchlist says */
#define MIN_WATCHLIST 3u             /* one listed by IMSI, one by IMEI, the rest by MSISDN */

static void format_param(const scenario_t *sc, const param_t *p, char *out, size_t len)
{
    switch (p->field) {
    case P_DAY: snprintf(out, len, "%u", sc->day); break;
    case P_AT: snprintf(out, len, "%02u:%02u", sc->at / 60, sc->at % 60); break;
    case P_MINUTES: snprintf(out, len, "%u", sc->minutes); break;
    case P_DAYS: snprintf(out, len, "%u", sc->days); break;
    case P_AMOUNT: snprintf(out, len, "%u", sc->amount); break;
    case P_EXTENT: snprintf(out, len, "%u", sc->extent); break;
    case P_PRINCIPAL: snprintf(out, len, "%s", sc->principal); break;
    case P_HOST: snprintf(out, len, "%s", sc->host); break;
    case P_APP: snprintf(out, len, "%s", sc->app); break;
    case P_CHOICE: snprintf(out, len, "%s", sc->choice); break;
    }
}

/* Prints text, indenting every line after the first by `indent` spaces. */
static void print_indented(FILE *out, const char *text, int indent)
{
    for (; *text; text++) {
        fputc(*text, out);
        if (*text == '\n')
            fprintf(out, "%*s", indent, "");
    }
}

static void print_help(FILE *out)
{
    fputs("Usage: " PROGRAM " [OPTION]... --out-dir DIR\n"
          "\n"
          "Generate a mobile operator's call-detail records and the audit trail of the\n"
          "database that stores them, with labelled CDR-theft scenarios. Same arguments, same\n"
          "bytes. Writes DIR/cdr.csv, DIR/audit.jsonl and DIR/labels.csv (DIR is created if\n"
          "missing), and DIR/watchlist.txt when there is a watchlist.\n"
          "\n"
          "Options (a value may also be given as --option=VALUE):\n"
          "  --out-dir DIR        where to write the files (required)\n"
          "  --profile NAME       the operator: default, large or fraud-heavy (below); sets\n"
          "                       the defaults of the next three options and adds habits\n"
          "  --seed N             seed of every random choice, 0..18446744073709551615\n"
          "                       (default 1)\n"
          "  --start YYYY-MM-DD   first day generated, UTC (default 2026-03-02, a Monday)\n"
          "  --days N             number of days, 1..366 (default 4)\n"
          "  --subscribers N      subscribers of the operator, 10..1000000 (default 2000; the\n"
          "                       defaults of this option and the next two are the\n"
          "                       profile's)\n"
          "  --cdr-per-day N      CDRs on a weekday, within +-3 %; Saturdays get about 72 % and\n"
          "                       Sundays 62 % of that (default 15000); days x N <= 200000000,\n"
          "                       and every CDR takes about 40 bytes of memory\n"
          "  --lookups-per-day N  svc_fraud's single-subscriber lookups a day, 1..10000000\n"
          "                       (default 480, one every 2-4 minutes): the audit volume\n"
          "  --scenarios LIST     theft scenarios to generate: all, none, classic (the nine\n"
          "                       of datasets/scenarios), or names separated by commas\n"
          "                       (default bulk-theft); each is labelled in labels.csv\n"
          "  --set NAME.PARAM=VALUE\n"
          "                       change a parameter of scenario NAME (below); may be repeated\n"
          "  --watchlist N        N watchlisted subscribers (0 or 3..1000; default 6 with the\n"
          "                       watchlist-lookup scenario, else 0): writes watchlist.txt and\n"
          "                       adds li_officer, the lawful-intercept account that looks them\n"
          "                       up legitimately on weekdays\n"
          "  --no-theft           the same as --scenarios none: benign traffic only, and a\n"
          "                       labels.csv with only its header\n"
          "  --help               show this help and exit\n"
          "\n"
          "Profiles:\n",
          out);
    for (size_t p = 0; p < N_PROFILES; p++) {
        fprintf(out, "  %s\n      ", PROFILES[p].name);
        print_indented(out, PROFILES[p].summary, 6);
        fputc('\n', out);
    }
    fputs("\nScenarios, with their parameters and defaults:\n", out);
    for (int k = 0; k < N_SCENARIO_KINDS; k++) {
        const scenario_t *sc = &SCENARIOS[k];
        fprintf(out, "  %s\n      ", sc->name);
        print_indented(out, sc->summary, 6);
        fputs("\n      ", out);
        int column = 6;
        for (size_t i = 0; i < N_PARAMS; i++) {
            char value[160], item[200];
            if (!(PARAMS[i].kinds & KIND_BIT(k)))
                continue;
            format_param(sc, &PARAMS[i], value, sizeof value);
            int len = snprintf(item, sizeof item, "%s=%s", PARAMS[i].name, value);
            if (column > 6 && column + 1 + len > 86) {
                fputs("\n      ", out);
                column = 6;
            } else if (column > 6) {
                fputc(' ', out);
                column++;
            }
            fputs(item, out);
            column += len;
        }
        fputc('\n', out);
    }
    fputs("\nParameters:\n", out);
    for (size_t i = 0; i < N_PARAMS; i++) {
        fprintf(out, "  %-13s", PARAMS[i].name);
        print_indented(out, PARAMS[i].help, 15);
        fputc('\n', out);
    }
    fputs("\n"
          "Examples:\n"
          "  " PROGRAM " --out-dir datasets/small\n"
          "      the bundled dataset: 4 days from Monday 2026-03-02, bulk-theft on 2026-03-04\n"
          "  " PROGRAM " --days 14 --cdr-per-day 4000 --scenarios classic --set bulk-theft.day=9 \\\n"
          "      --out-dir datasets/scenarios\n"
          "      the scenario dataset: a benign first week to learn from, then every scenario\n"
          "  " PROGRAM " --days 14 --scenarios low-and-slow --set low-and-slow.rate=800 \\\n"
          "      --set low-and-slow.principal=chen --set low-and-slow.host=ws-103.corp.example \\\n"
          "      --out-dir /tmp/ls\n"
          "      one scenario, with another analyst and a gentler rate\n"
          "  " PROGRAM " --seed 7 --days 10 --subscribers 1000000 --cdr-per-day 1000000 \\\n"
          "      --lookups-per-day 100000 --no-theft --out-dir /tmp/big\n"
          "      10 M CDRs and 1 M audit events for benchmarks (about 4 GB of memory at 100 M)\n"
          "  " PROGRAM " --no-theft --days 7 --out-dir /tmp/clean\n"
          "      a week of benign traffic, for false-positive checks\n"
          "  " PROGRAM " --profile large --days 17 --scenarios all --set bulk-theft.day=9 \\\n"
          "      --out-dir /tmp/large\n"
          "      another operator, ten times bigger, with every scenario\n"
          "\n"
          "Exit status: 0 success, 1 I/O or memory failure, 2 usage error.\n",
          out);
}

static int usage_error(const char *option, const char *expected, const char *got)
{
    if (got)
        fprintf(stderr, "%s: %s: expected %s, got '%s' (see --help)\n", PROGRAM, option,
                expected, got);
    else
        fprintf(stderr, "%s: %s: expected %s (see --help)\n", PROGRAM, option, expected);
    return 2;
}

/* Decimal digits only, no sign, no blanks, value <= max. */
static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (!s || !*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        unsigned digit = (unsigned)(*s - '0');
        if (v > (max - digit) / 10)
            return -1;
        v = v * 10 + digit;
    }
    *out = v;
    return 0;
}

static int parse_date(const char *s, int64_t *day)
{
    int fields[3] = {0, 0, 0};
    const int widths[3] = {4, 2, 2};
    for (int f = 0; f < 3; f++) {
        for (int i = 0; i < widths[f]; i++, s++) {
            if (*s < '0' || *s > '9')
                return -1;
            fields[f] = fields[f] * 10 + (*s - '0');
        }
        if (*s != (f < 2 ? '-' : '\0'))
            return -1;
        s++;
    }
    int year = fields[0], month = fields[1], mday = fields[2];
    static const int month_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (year < 1970 || year > 9000 || month < 1 || month > 12 || mday < 1 ||
        mday > month_days[month - 1] + (month == 2 && leap))
        return -1;
    *day = days_from_civil(year, month, mday);
    return 0;
}

/* "HH:MM", 00:00..23:59, into minutes of the day. */
static int parse_clock(const char *s, unsigned *minute)
{
    if (!s || strlen(s) != 5 || s[2] != ':')
        return -1;
    for (int i = 0; i < 5; i++)
        if (i != 2 && (s[i] < '0' || s[i] > '9'))
            return -1;
    unsigned h = (unsigned)((s[0] - '0') * 10 + (s[1] - '0'));
    unsigned m = (unsigned)((s[3] - '0') * 10 + (s[4] - '0'));
    if (h > 23 || m > 59)
        return -1;
    *minute = h * 60 + m;
    return 0;
}

/* A database name, host or program: 1-64 of [A-Za-z0-9_.:@-], so it needs no quoting. */
static int valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:@-") == n;
}

/* Matches "--name VALUE" and "--name=VALUE"; *value is NULL when VALUE is missing. */
static int take_option(int argc, char **argv, int *i, const char *name, const char **value)
{
    const char *arg = argv[*i];
    size_t len = strlen(name);
    if (strncmp(arg, name, len) != 0)
        return 0;
    if (arg[len] == '=') {
        *value = arg + len + 1;
        return 1;
    }
    if (arg[len] != '\0')
        return 0;
    *value = *i + 1 < argc ? argv[++*i] : NULL;
    return 1;
}

static int parse_unsigned_option(const char *name, const char *value, uint64_t lo, uint64_t hi,
                                 const char *expected, unsigned *out)
{
    uint64_t v;
    if (parse_u64(value, hi, &v) != 0 || v < lo)
        return usage_error(name, expected, value);
    *out = (unsigned)v;
    return 0;
}

static int scenario_by_name(const char *name, size_t len)
{
    for (int k = 0; k < N_SCENARIO_KINDS; k++)
        if (strlen(SCENARIOS[k].name) == len && strncmp(SCENARIOS[k].name, name, len) == 0)
            return k;
    return -1;
}

static void scenario_names(char *out, size_t len)
{
    size_t used = 0;
    out[0] = '\0';
    for (int k = 0; k < N_SCENARIO_KINDS && used < len; k++)
        used += (size_t)snprintf(out + used, len - used, "%s%s", k ? ", " : "", SCENARIOS[k].name);
}

/* --scenarios all | none | classic | NAME[,NAME]... */
static int parse_scenarios(const char *value, unsigned *selected)
{
    char names[512], expected[700];
    scenario_names(names, sizeof names);
    snprintf(expected, sizeof expected, "all, none, or names separated by commas among: %s; or "
             "classic, the nine of datasets/scenarios", names);
    if (!value || !*value)
        return usage_error("--scenarios", expected, value);
    if (strcmp(value, "all") == 0) {
        *selected = ALL_KINDS;
        return 0;
    }
    if (strcmp(value, "classic") == 0) {
        *selected = CLASSIC_KINDS;
        return 0;
    }
    if (strcmp(value, "none") == 0) {
        *selected = 0;
        return 0;
    }
    unsigned set = 0;
    for (const char *p = value;;) {
        size_t len = strcspn(p, ",");
        int k = scenario_by_name(p, len);
        if (k < 0)
            return usage_error("--scenarios", expected, value);
        set |= KIND_BIT(k);
        if (p[len] == '\0')
            break;
        p += len + 1;
    }
    *selected = set;
    return 0;
}

/* Whether v is one of the '|'-separated choices. */
static int is_choice(const char *choices, const char *v)
{
    size_t vlen = strlen(v);
    for (const char *c = choices;;) {
        size_t clen = strcspn(c, "|");
        if (clen == vlen && vlen > 0 && strncmp(c, v, clen) == 0)
            return 1;
        if (c[clen] == '\0')
            return 0;
        c += clen + 1;
    }
}

/* --set NAME.PARAM=VALUE */
static int parse_set(const char *value, options_t *opt)
{
    const char *expected = "NAME.PARAM=VALUE, e.g. history-harvest.subscribers=60";
    const char *dot = value ? strchr(value, '.') : NULL;
    const char *eq = dot ? strchr(dot, '=') : NULL;
    if (!eq)
        return usage_error("--set", expected, value);
    int k = scenario_by_name(value, (size_t)(dot - value));
    if (k < 0) {
        char names[512], what[600];
        scenario_names(names, sizeof names);
        snprintf(what, sizeof what, "a scenario name (%s) before the dot", names);
        return usage_error("--set", what, value);
    }
    scenario_t *sc = &opt->scenario[k];
    const param_t *p = NULL;
    size_t plen = (size_t)(eq - dot - 1);
    for (size_t i = 0; i < N_PARAMS; i++)
        if ((PARAMS[i].kinds & KIND_BIT(k)) && strlen(PARAMS[i].name) == plen &&
            strncmp(PARAMS[i].name, dot + 1, plen) == 0)
            p = &PARAMS[i];
    if (!p) {
        char list[300] = "", what[400];
        size_t used = 0;
        for (size_t i = 0; i < N_PARAMS; i++)
            if (PARAMS[i].kinds & KIND_BIT(k))
                used += (size_t)snprintf(list + used, sizeof list - used, "%s%s",
                                         used ? ", " : "", PARAMS[i].name);
        snprintf(what, sizeof what, "a parameter of %s (%s)", sc->name, list);
        return usage_error("--set", what, value);
    }
    const char *v = eq + 1;
    char what[300];
    uint64_t n;
    switch (p->field) {
    case P_AT:
        if (parse_clock(v, &sc->at) != 0)
            return usage_error("--set", "a time HH:MM for 'at'", value);
        return 0;
    case P_DAY:
    case P_MINUTES:
    case P_DAYS:
    case P_AMOUNT:
    case P_EXTENT:
        if (parse_u64(v, p->hi, &n) != 0 || n < p->lo) {
            snprintf(what, sizeof what, "an integer %u..%u for '%s'", p->lo, p->hi, p->name);
            return usage_error("--set", what, value);
        }
        *(p->field == P_DAY       ? &sc->day
          : p->field == P_MINUTES ? &sc->minutes
          : p->field == P_DAYS    ? &sc->days
          : p->field == P_EXTENT  ? &sc->extent
                                  : &sc->amount) = (unsigned)n;
        return 0;
    case P_CHOICE:
        if (p->choices && !is_choice(p->choices, v)) {
            snprintf(what, sizeof what, "one of %s for '%s'", p->choices, p->name);
            return usage_error("--set", what, value);
        }
        if (!p->choices && !valid_name(v)) {
            snprintf(what, sizeof what, "1-64 letters, digits or _.:@- for '%s'", p->name);
            return usage_error("--set", what, value);
        }
        sc->choice = v;
        return 0;
    case P_PRINCIPAL:
    case P_HOST:
    case P_APP:
        if (!valid_name(v)) {
            snprintf(what, sizeof what, "1-64 letters, digits or _.:@- for '%s'", p->name);
            return usage_error("--set", what, value);
        }
        if (p->field == P_PRINCIPAL)
            sc->principal = v;
        else if (p->field == P_HOST)
            sc->host = v;
        else
            sc->app = v;
        return 0;
    }
    return 0;
}

/* Minutes from the start of the first day generated to the end of a scenario. */
static uint64_t scenario_end_minute(const scenario_t *sc)
{
    const uint64_t day = (uint64_t)sc->day * 24 * 60;
    switch (sc->kind) {
    case SCENARIO_LOW_AND_SLOW:
    case SCENARIO_SPREAD_THEFT:
        return day + (uint64_t)sc->days * 24 * 60;
    case SCENARIO_ACCOUNT_CREATED_THEN_READS: /* CREATE, GRANTs, the wait, the new role's session */
        return day + sc->at + 10 + sc->amount + sc->minutes;
    default:
        return day + sc->at + sc->minutes;
    }
}

/* Checks the selected scenarios against --days and --watchlist. */
static int check_scenarios(options_t *opt, unsigned set_given)
{
    char what[400];
    for (int k = 0; k < N_SCENARIO_KINDS; k++) {
        const scenario_t *sc = &opt->scenario[k];
        if ((set_given & KIND_BIT(k)) && !(opt->selected & KIND_BIT(k))) {
            snprintf(what, sizeof what, "a scenario that --scenarios selects; %s is not", sc->name);
            return usage_error("--set", what, sc->name);
        }
        if (!(opt->selected & KIND_BIT(k)))
            continue;
        if (scenario_end_minute(sc) > (uint64_t)opt->days * 24 * 60) {
            if (k == SCENARIO_BULK_THEFT && sc->day == SCENARIOS[k].day && opt->days <= sc->day)
                return usage_error("--days", "at least 3 days: the bulk-theft scenario runs on "
                                             "the third day (or add --no-theft, or move it with "
                                             "--set bulk-theft.day=N)", NULL);
            char got[24];
            snprintf(what, sizeof what, "at least %u days for scenario %s, which starts on day %u "
                     "(counting from 0), or move it with --set %s.day=N",
                     (unsigned)((scenario_end_minute(sc) + 24 * 60 - 1) / (24 * 60)), sc->name,
                     sc->day, sc->name);
            snprintf(got, sizeof got, "%u", opt->days);
            return usage_error("--days", what, got);
        }
    }
    if (!opt->watchlist_given)
        opt->watchlist = (opt->selected & KIND_BIT(SCENARIO_WATCHLIST_LOOKUP)) ? DEFAULT_WATCHLIST : 0;
    if ((opt->selected & KIND_BIT(SCENARIO_WATCHLIST_LOOKUP)) &&
        opt->watchlist < opt->scenario[SCENARIO_WATCHLIST_LOOKUP].amount) {
        snprintf(what, sizeof what, "at least as many watchlisted people as watchlist-lookup's "
                 "people (%u)", opt->scenario[SCENARIO_WATCHLIST_LOOKUP].amount);
        char got[24];
        snprintf(got, sizeof got, "%u", opt->watchlist);
        return usage_error("--watchlist", what, got);
    }
    return 0;
}

/* Returns 0 to go on, 2 on a usage error (message printed), -1 when --help was printed. */
/* --profile NAME, wherever it is on the command line: its scale becomes the default of
 * --subscribers, --cdr-per-day and --lookups-per-day. Returns 0, or 2 on a usage error. */
static int parse_profile(int argc, char **argv, options_t *opt)
{
    opt->profile = &PROFILES[0];
    for (int i = 1; i < argc; i++) {
        const char *value = NULL;
        if (!take_option(argc, argv, &i, "--profile", &value))
            continue;
        opt->profile = NULL;
        for (size_t p = 0; p < N_PROFILES && value; p++)
            if (strcmp(value, PROFILES[p].name) == 0)
                opt->profile = &PROFILES[p];
        if (!opt->profile)
            return usage_error("--profile", "default, large or fraud-heavy", value);
    }
    opt->subscribers = opt->profile->subscribers;
    opt->cdr_per_day = opt->profile->cdr_per_day;
    opt->lookups_per_day = opt->profile->lookups_per_day;
    return 0;
}

static int parse_options(int argc, char **argv, options_t *opt)
{
    opt->seed = 1;
    parse_date("2026-03-02", &opt->start_day);
    opt->days = 4;
    if (parse_profile(argc, argv, opt) != 0)
        return 2;
    opt->watchlist = 0;
    opt->watchlist_given = 0;
    opt->selected = DEFAULT_SELECTION;
    memcpy(opt->scenario, SCENARIOS, sizeof SCENARIOS);
    opt->out_dir = NULL;
    unsigned set_given = 0;

    for (int i = 1; i < argc; i++) {
        const char *value = NULL;
        int rc = 0;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_help(stdout);
            return -1;
        } else if (strcmp(argv[i], "--no-theft") == 0) {
            opt->selected = 0;
        } else if (take_option(argc, argv, &i, "--profile", &value)) {
            continue; /* parse_profile() took it */
        } else if (take_option(argc, argv, &i, "--seed", &value)) {
            if (parse_u64(value, UINT64_MAX, &opt->seed) != 0)
                rc = usage_error("--seed", "an integer 0..18446744073709551615", value);
        } else if (take_option(argc, argv, &i, "--start", &value)) {
            if (!value || parse_date(value, &opt->start_day) != 0)
                rc = usage_error("--start", "a date YYYY-MM-DD between 1970 and 9000", value);
        } else if (take_option(argc, argv, &i, "--days", &value)) {
            rc = parse_unsigned_option("--days", value, 1, MAX_DAYS, "an integer 1..366",
                                       &opt->days);
        } else if (take_option(argc, argv, &i, "--subscribers", &value)) {
            rc = parse_unsigned_option("--subscribers", value, MIN_SUBSCRIBERS, MAX_SUBSCRIBERS,
                                       "an integer 10..1000000", &opt->subscribers);
        } else if (take_option(argc, argv, &i, "--cdr-per-day", &value)) {
            rc = parse_unsigned_option("--cdr-per-day", value, 1, MAX_TOTAL_CDRS,
                                       "an integer 1..200000000", &opt->cdr_per_day);
        } else if (take_option(argc, argv, &i, "--lookups-per-day", &value)) {
            rc = parse_unsigned_option("--lookups-per-day", value, 1, 10000000,
                                       "an integer 1..10000000", &opt->lookups_per_day);
        } else if (take_option(argc, argv, &i, "--watchlist", &value)) {
            rc = parse_unsigned_option("--watchlist", value, 0, 1000, "an integer 0 or 3..1000",
                                       &opt->watchlist);
            if (rc == 0 && opt->watchlist > 0 && opt->watchlist < MIN_WATCHLIST)
                rc = usage_error("--watchlist", "an integer 0 or 3..1000 (one person listed by "
                                 "IMSI, one by IMEI, the others by MSISDN)", value);
            opt->watchlist_given = 1;
        } else if (take_option(argc, argv, &i, "--scenarios", &value)) {
            rc = parse_scenarios(value, &opt->selected);
        } else if (take_option(argc, argv, &i, "--set", &value)) {
            rc = parse_set(value, opt);
            if (rc == 0)
                set_given |= KIND_BIT(scenario_by_name(value, strcspn(value, ".")));
        } else if (take_option(argc, argv, &i, "--out-dir", &value)) {
            if (!value || !*value)
                rc = usage_error("--out-dir", "a directory name", value);
            opt->out_dir = value;
        } else {
            fprintf(stderr, "%s: %s: unknown option (see --help)\n", PROGRAM, argv[i]);
            rc = 2;
        }
        if (rc)
            return rc;
    }
    if (!opt->out_dir)
        return usage_error("--out-dir", "a directory to write cdr.csv, audit.jsonl and "
                                        "labels.csv into", NULL);
    if ((uint64_t)opt->days * opt->cdr_per_day > MAX_TOTAL_CDRS) {
        char got[64];
        snprintf(got, sizeof got, "%u x %u", opt->days, opt->cdr_per_day);
        return usage_error("--cdr-per-day", "days x cdr-per-day <= 200000000", got);
    }
    return check_scenarios(opt, set_given);
}

/* ------------------------------------------------------------------------------------------ */
/* The operator: subscribers (MSISDN, IMSI, IMEI, home cell, activity) and cells.             */

#define MSISDN_PREFIX "+4479" /* UK mobile range; 8 more digits follow */
#define IMSI_PREFIX "23415"   /* MCC 234, MNC 15; 10 more digits follow */
#define CELL_MCC_MNC "234-15"

typedef char number_t[24]; /* an MSISDN, IMSI or IMEI as text */

/* A subscriber's identity: its three numbers in one 64-byte block, so that writing a CDR costs
 * one cache miss per subscriber, not three (it matters with a million subscribers). */
typedef struct {
    char msisdn[16], imsi[16], imei[16]; /* 13, 15 and 15 characters */
    uint8_t msisdn_len, imsi_len, imei_len;
    char unused[13];
} identity_t;

typedef struct {
    unsigned n_subs, n_cells;
    identity_t *id; /* per subscriber, 64-byte aligned */
    uint32_t *home_cell;
    uint64_t *activity_cum; /* cumulative Zipf-like weights: picks a subscriber by activity */
    uint32_t *activity_guide; /* activity_guide[j]: first i with activity_cum[i] > j * guide_width */
    uint64_t guide_width;
    uint32_t *subs_in_cell; /* how many subscribers have each cell as home */
    char (*cell_name)[32];  /* format_cell() of every cell, computed once */
} operator_t;

/* Cell k as MCC-MNC-LAC-CI, e.g. 234-15-1203-20111; distinct for distinct k. */
static void format_cell(uint32_t cell, char out[32])
{
    snprintf(out, 32, CELL_MCC_MNC "-%u-%u", 1200u + cell / 32u,
             10000u + (unsigned)((uint64_t)cell * 37u % MAX_CELLS));
}

/* Luhn check digit of the 14 digits of an IMEI body. */
static int luhn_digit(const char *digits14)
{
    int sum = 0;
    for (int i = 0; i < 14; i++) {
        int d = digits14[i] - '0';
        if (i % 2 == 1) {
            d *= 2;
            if (d > 9)
                d -= 9;
        }
        sum += d;
    }
    return (10 - sum % 10) % 10;
}

static void make_imei(rng_t *r, unsigned subscriber, uint64_t serial_offset, number_t out)
{
    /* Type allocation codes of a few common handsets (8 digits each). */
    static const char *const tac[] = {"35332811", "35391110", "35693803", "86769603",
                                      "35171311", "35420911", "86446103", "35290611"};
    static const unsigned tac_weight[] = {22, 18, 14, 12, 10, 9, 8, 7};
    const char *model = tac[rng_weighted(r, tac_weight, 8)];
    /* A bijection of 0..999999 keeps serials distinct (380377 is coprime to 10). */
    uint64_t serial = (serial_offset + (uint64_t)subscriber * 380377u) % 1000000u;
    char body[16];
    snprintf(body, sizeof body, "%s%06" PRIu64, model, serial);
    snprintf(out, sizeof(number_t), "%s%d", body, luhn_digit(body));
}

/* Zipf-Mandelbrot weight of activity rank r (0 = busiest): 1 / (r + 10), as an integer. */
static uint64_t activity_weight(unsigned rank)
{
    return 1000000000ull / (rank + 10u);
}

static void build_operator(operator_t *op, const options_t *opt)
{
    rng_t r = rng_stream(opt->seed, STREAM_OPERATOR, 0);
    unsigned n = opt->subscribers;
    op->n_subs = n;
    op->n_cells = n / 20 < 1 ? 1 : n / 20 > MAX_CELLS ? MAX_CELLS : n / 20;
    op->id = aligned_alloc(64, (size_t)n * sizeof(identity_t));
    if (!op->id)
        die_out_of_memory();
    op->home_cell = xcalloc(n, sizeof(uint32_t));
    op->activity_cum = xcalloc(n, sizeof(uint64_t));
    op->subs_in_cell = xcalloc(op->n_cells, sizeof(uint32_t));

    /* Offsets plus multipliers coprime to 10 map subscriber numbers one-to-one onto digits. */
    uint64_t msisdn_offset = rng_below(&r, 100000000u);
    uint64_t msin_offset = rng_below(&r, 10000000000u);
    uint64_t serial_offset = rng_below(&r, 1000000u);
    for (unsigned i = 0; i < n; i++) {
        identity_t *id = &op->id[i];
        number_t imei;
        memset(id, 0, sizeof *id);
        id->msisdn_len = (uint8_t)snprintf(id->msisdn, sizeof id->msisdn, MSISDN_PREFIX "%08" PRIu64,
                                           (msisdn_offset + (uint64_t)i * 48271u) % 100000000u);
        id->imsi_len = (uint8_t)snprintf(id->imsi, sizeof id->imsi, IMSI_PREFIX "%010" PRIu64,
                                         (msin_offset + (uint64_t)i * 7919u) % 10000000000u);
        make_imei(&r, i, serial_offset, imei);
        id->imei_len = (uint8_t)snprintf(id->imei, sizeof id->imei, "%s", imei);
        op->home_cell[i] = (uint32_t)rng_below(&r, op->n_cells);
        op->subs_in_cell[op->home_cell[i]]++;
    }

    /* Activity ranks: a random permutation, so busy subscribers are spread over the numbers. */
    unsigned *rank = xmalloc(n * sizeof *rank);
    for (unsigned i = 0; i < n; i++)
        rank[i] = i;
    for (unsigned i = n - 1; i > 0; i--) {
        unsigned j = (unsigned)rng_below(&r, (uint64_t)i + 1);
        unsigned t = rank[i];
        rank[i] = rank[j];
        rank[j] = t;
    }
    uint64_t sum = 0;
    for (unsigned i = 0; i < n; i++) {
        sum += activity_weight(rank[i]);
        op->activity_cum[i] = sum;
    }
    free(rank);

    /* A guide table (Chen and Asau's indexed search) narrows pick_subscriber()'s binary search
     * to one bucket of width guide_width; it changes only the speed, never the result. */
    op->guide_width = sum / n + 1;
    op->activity_guide = xmalloc(((size_t)n + 1) * sizeof(uint32_t));
    for (unsigned j = 0, i = 0; j <= n; j++) {
        uint64_t floor = (uint64_t)j * op->guide_width;
        while (i < n - 1 && op->activity_cum[i] <= floor)
            i++;
        op->activity_guide[j] = i;
    }
    op->cell_name = xcalloc(op->n_cells, sizeof *op->cell_name);
    for (uint32_t c = 0; c < op->n_cells; c++)
        format_cell(c, op->cell_name[c]);
}

static void free_operator(operator_t *op)
{
    free(op->id);
    free(op->home_cell);
    free(op->activity_cum);
    free(op->activity_guide);
    free(op->subs_in_cell);
    free(op->cell_name);
}

/* A subscriber drawn by activity: the busiest make a large share of all records. */
static uint32_t pick_subscriber(const operator_t *op, rng_t *r)
{
    uint64_t x = rng_below(r, op->activity_cum[op->n_subs - 1]);
    uint64_t bucket = x / op->guide_width;
    size_t lo = op->activity_guide[bucket], hi = op->activity_guide[bucket + 1];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (op->activity_cum[mid] > x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return (uint32_t)lo;
}


/* A number outside the operator: UK landlines and other networks, a few abroad. */
typedef struct {
    const char *prefix;
    int digits; /* how many digits follow the prefix */
    unsigned weight;
    int mobile;
} number_plan_t;

static const number_plan_t EXTERNAL_PLANS[] = {
    {"+4420", 8, 18, 0},  {"+44161", 7, 6, 0}, {"+44121", 7, 5, 0}, {"+4477", 8, 22, 1},
    {"+4475", 8, 18, 1},  {"+4474", 8, 12, 1}, {"+336", 8, 5, 1},   {"+4915", 9, 4, 1},
    {"+1212", 7, 3, 0},   {"+9198", 8, 4, 1},  {"+3538", 8, 3, 1},
};
#define N_EXTERNAL_PLANS (sizeof EXTERNAL_PLANS / sizeof EXTERNAL_PLANS[0])

static void external_number(uint64_t key, int mobile_only, number_t out)
{
    rng_t r = rng_from_key(key);
    unsigned weight[N_EXTERNAL_PLANS];
    for (size_t i = 0; i < N_EXTERNAL_PLANS; i++)
        weight[i] = mobile_only && !EXTERNAL_PLANS[i].mobile ? 0 : EXTERNAL_PLANS[i].weight;
    const number_plan_t *plan = &EXTERNAL_PLANS[rng_weighted(&r, weight, N_EXTERNAL_PLANS)];
    size_t len = strlen(plan->prefix);
    memcpy(out, plan->prefix, len);
    for (int i = 0; i < plan->digits; i++)
        out[len++] = (char)('0' + rng_below(&r, 10));
    out[len] = '\0';
}

/* ------------------------------------------------------------------------------------------ */
/* CDRs. Each record keeps what the audit side must count (time, type, caller, cell); the    */
/* rest (called party, duration, bytes) is drawn at write time from its own detail_seed.      */

enum cdr_type { CDR_VOICE, CDR_SMS, CDR_DATA, N_CDR_TYPES };

static const char *const CDR_TYPE_NAME[N_CDR_TYPES] = {"voice", "sms", "data"};
static const char *const CDR_TABLE[N_CDR_TYPES] = {"mediation.cdr_voice", "mediation.cdr_sms",
                                                   "mediation.cdr_data"};
static const char *const CDR_TABLE_SHORT[N_CDR_TYPES] = {"cdr_voice", "cdr_sms", "cdr_data"};
static const char *const CDR_COLUMNS[N_CDR_TYPES] = {
    "record_id, start_time, calling_msisdn, called_msisdn, duration_s, imsi, cell_id",
    "record_id, start_time, calling_msisdn, called_msisdn, imsi, cell_id",
    "record_id, start_time, calling_msisdn, duration_s, imsi, cell_id, bytes_up, bytes_down"};
/* Bytes a row of each table costs on the wire; audit `bytes` = rows x this. */
static const unsigned CDR_ROW_BYTES[N_CDR_TYPES] = {156, 128, 172};
#define SUBSCRIBER_ROW_BYTES 112u
#define AGGREGATE_ROW_BYTES 36u

typedef struct {
    int64_t t_ms;         /* start_time, ms since epoch, UTC */
    uint64_t detail_seed; /* seeds the fields drawn at write time */
    uint32_t caller;      /* subscriber index: calling_msisdn, imsi, imei */
    uint32_t cell;
    uint32_t gen;         /* generation order, breaks ties of t_ms */
    uint8_t type;         /* enum cdr_type */
} cdr_t;

/*
 * All CDRs, sorted by (t_ms, gen), and two indexes of positions into that array, each sorted
 * by time: per type, and per (subscriber, type) in compressed-row form (the positions of
 * subscriber s, type k are sub_pos[sub_off[s*3+k] .. sub_off[s*3+k+1])).
 */
typedef struct {
    cdr_t *rec;
    size_t n;
    uint32_t *type_pos[N_CDR_TYPES];
    size_t type_n[N_CDR_TYPES];
    uint32_t *sub_off;
    uint32_t *sub_pos;
    uint32_t *cell_mark; /* scratch for distinct-cell counts */
    uint32_t mark;
} cdr_store_t;

/* Share of records per hour of day (local time = UTC): quiet nights, day and evening peaks. */
static const unsigned HOUR_WEIGHT_WEEKDAY[24] = {28, 14, 7,  5,  5,   8,   22,  48,
                                                 74, 88, 94, 96, 100, 96,  92,  92,
                                                 96, 106, 112, 104, 88, 72, 56, 40};
static const unsigned HOUR_WEIGHT_WEEKEND[24] = {40, 24, 12, 7,  5,  6,  10, 22,
                                                 40, 60, 78, 88, 94, 94, 92, 90,
                                                 92, 98, 104, 100, 90, 78, 62, 50};
/* Day volume in per cent of --cdr-per-day, Monday first. */
static const unsigned WEEKDAY_VOLUME_PERCENT[7] = {100, 100, 100, 100, 100, 72, 62};
static const unsigned CDR_TYPE_WEIGHT[N_CDR_TYPES] = {55, 30, 15};

static int is_weekend(int64_t day)
{
    return iso_weekday(day) >= 6;
}

static int64_t day_start_ms(const options_t *opt, unsigned day_index)
{
    return (opt->start_day + (int64_t)day_index) * MS_PER_DAY;
}

static size_t cdrs_on_day(const options_t *opt, unsigned day_index)
{
    rng_t r = rng_stream(opt->seed, STREAM_CDR_VOLUME, day_index);
    unsigned jitter_per_mille = (unsigned)rng_between(&r, 970, 1030);
    uint64_t percent = WEEKDAY_VOLUME_PERCENT[iso_weekday(opt->start_day + day_index) - 1];
    uint64_t n = (uint64_t)opt->cdr_per_day * percent * jitter_per_mille / 100000u;
    return n ? (size_t)n : 1;
}

/* The cell a record is served by: mostly home, sometimes a neighbour, rarely anywhere. */
static uint32_t serving_cell(const operator_t *op, rng_t *r, uint32_t subscriber)
{
    uint32_t home = op->home_cell[subscriber];
    unsigned roll = (unsigned)rng_below(r, 100);
    if (roll < 75 || op->n_cells == 1)
        return home;
    if (roll < 92)
        return (uint32_t)((home + 1 + rng_below(r, 3)) % op->n_cells);
    return (uint32_t)rng_below(r, op->n_cells);
}

static void generate_day(cdr_store_t *store, const operator_t *op, const options_t *opt,
                         unsigned day_index, size_t count)
{
    rng_t r = rng_stream(opt->seed, STREAM_CDR_DAY, day_index);
    const int64_t day = opt->start_day + day_index;
    const unsigned *hour_weight = is_weekend(day) ? HOUR_WEIGHT_WEEKEND : HOUR_WEIGHT_WEEKDAY;
    for (size_t i = 0; i < count; i++) {
        cdr_t *c = &store->rec[store->n];
        c->type = (uint8_t)rng_weighted(&r, CDR_TYPE_WEIGHT, N_CDR_TYPES);
        c->caller = pick_subscriber(op, &r);
        int64_t hour = (int64_t)rng_weighted(&r, hour_weight, 24);
        c->t_ms = day * MS_PER_DAY + hour * MS_PER_HOUR + (int64_t)rng_below(&r, MS_PER_HOUR);
        c->cell = serving_cell(op, &r, c->caller);
        c->detail_seed = rng_next(&r);
        c->gen = (uint32_t)store->n;
        store->n++;
    }
}

static void build_indexes(cdr_store_t *s, const operator_t *op)
{
    for (int k = 0; k < N_CDR_TYPES; k++)
        s->type_n[k] = 0;
    for (size_t i = 0; i < s->n; i++)
        s->type_n[s->rec[i].type]++;
    size_t fill[N_CDR_TYPES] = {0, 0, 0};
    for (int k = 0; k < N_CDR_TYPES; k++)
        s->type_pos[k] = xmalloc(s->type_n[k] * sizeof(uint32_t));

    size_t slots = (size_t)op->n_subs * N_CDR_TYPES;
    s->sub_off = xcalloc(slots + 1, sizeof(uint32_t));
    s->sub_pos = xmalloc(s->n * sizeof(uint32_t));
    for (size_t i = 0; i < s->n; i++)
        s->sub_off[(size_t)s->rec[i].caller * N_CDR_TYPES + s->rec[i].type + 1]++;
    for (size_t j = 0; j < slots; j++)
        s->sub_off[j + 1] += s->sub_off[j];
    uint32_t *next = xmalloc(slots * sizeof(uint32_t));
    memcpy(next, s->sub_off, slots * sizeof(uint32_t));

    for (size_t i = 0; i < s->n; i++) {
        const cdr_t *c = &s->rec[i];
        s->type_pos[c->type][fill[c->type]++] = (uint32_t)i;
        s->sub_pos[next[(size_t)c->caller * N_CDR_TYPES + c->type]++] = (uint32_t)i;
    }
    free(next);
    s->cell_mark = xcalloc(op->n_cells, sizeof(uint32_t));
    s->mark = 0;
}

/*
 * Sorts one day's records, generated in gen order, by (t_ms, gen): a stable LSD radix sort on
 * the millisecond of the day (< 2^27), low 14 bits then high 13 bits. Stability keeps gen
 * order among equal times, so the result is exactly (t_ms, gen) order, in linear
 * time (qsort took a third of the run on large sets).
 */
static void sort_day(cdr_t *rec, size_t n, int64_t day_ms, cdr_t *scratch)
{
    enum { LOW_BITS = 14, HIGH_BITS = 13 };
    static size_t count[1u << LOW_BITS];
    cdr_t *from = rec, *to = scratch;
    for (int pass = 0; pass < 2; pass++) {
        const unsigned shift = pass ? LOW_BITS : 0, buckets = 1u << (pass ? HIGH_BITS : LOW_BITS);
        memset(count, 0, buckets * sizeof count[0]);
        for (size_t i = 0; i < n; i++)
            count[(uint64_t)(from[i].t_ms - day_ms) >> shift & (buckets - 1)]++;
        for (size_t b = 0, sum = 0; b < buckets; b++) {
            size_t c = count[b];
            count[b] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            to[count[(uint64_t)(from[i].t_ms - day_ms) >> shift & (buckets - 1)]++] = from[i];
        cdr_t *t = from;
        from = to;
        to = t;
    }
    /* two passes: the sorted records are back in rec */
}

static void generate_cdrs(cdr_store_t *store, const operator_t *op, const options_t *opt)
{
    size_t total = 0, largest_day = 0;
    for (unsigned d = 0; d < opt->days; d++) {
        size_t n = cdrs_on_day(opt, d);
        total += n;
        largest_day = n > largest_day ? n : largest_day;
    }
    store->rec = xmalloc(total * sizeof(cdr_t));
    cdr_t *scratch = xmalloc(largest_day * sizeof(cdr_t));
    store->n = 0;
    for (unsigned d = 0; d < opt->days; d++) {
        size_t first = store->n;
        generate_day(store, op, opt, d, cdrs_on_day(opt, d));
        sort_day(store->rec + first, store->n - first, day_start_ms(opt, d), scratch);
    }
    free(scratch);
    build_indexes(store, op);
}

static void free_cdrs(cdr_store_t *s)
{
    free(s->rec);
    for (int k = 0; k < N_CDR_TYPES; k++)
        free(s->type_pos[k]);
    free(s->sub_off);
    free(s->sub_pos);
    free(s->cell_mark);
}

/* First position in pos[0..n) whose record starts at or after t_ms. */
static size_t lower_bound(const cdr_store_t *s, const uint32_t *pos, size_t n, int64_t t_ms)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->rec[pos[mid]].t_ms < t_ms)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* CDRs of a type with start_time in [from, to). */
static int64_t count_type(const cdr_store_t *s, int type, int64_t from, int64_t to)
{
    const uint32_t *pos = s->type_pos[type];
    size_t n = s->type_n[type];
    return (int64_t)(lower_bound(s, pos, n, to) - lower_bound(s, pos, n, from));
}

/* CDRs of a type whose calling_msisdn is the subscriber, with start_time in [from, to). */
static int64_t count_subscriber(const cdr_store_t *s, uint32_t subscriber, int type,
                                int64_t from, int64_t to)
{
    size_t slot = (size_t)subscriber * N_CDR_TYPES + (size_t)type;
    const uint32_t *pos = s->sub_pos + s->sub_off[slot];
    size_t n = s->sub_off[slot + 1] - s->sub_off[slot];
    return (int64_t)(lower_bound(s, pos, n, to) - lower_bound(s, pos, n, from));
}

/* CDRs of every type whose calling_msisdn is the subscriber, with start_time in [from, to). */
static int64_t count_subscriber_all(const cdr_store_t *s, uint32_t subscriber, int64_t from,
                                    int64_t to)
{
    int64_t n = 0;
    for (int k = 0; k < N_CDR_TYPES; k++)
        n += count_subscriber(s, subscriber, k, from, to);
    return n;
}

/* Distinct cell_id values among CDRs of a type with start_time in [from, to). */
static int64_t count_cells(cdr_store_t *s, int type, int64_t from, int64_t to)
{
    const uint32_t *pos = s->type_pos[type];
    size_t end = lower_bound(s, pos, s->type_n[type], to);
    int64_t distinct = 0;
    s->mark++;
    for (size_t i = lower_bound(s, pos, s->type_n[type], from); i < end; i++) {
        uint32_t cell = s->rec[pos[i]].cell;
        if (s->cell_mark[cell] != s->mark) {
            s->cell_mark[cell] = s->mark;
            distinct++;
        }
    }
    return distinct;
}

/* ------------------------------------------------------------------------------------------ */
/* The audit log: events appended by each actor, sorted by (ts, seq) before writing.          */

typedef struct {
    const char *principal, *host, *app;
} actor_t;

typedef struct {
    int64_t ts_ms;
    uint32_t seq; /* append order, breaks ties of ts_ms */
    const actor_t *actor;
    const char *action;
    const char *object; /* static string or NULL */
    int64_t rows;       /* -1: absent */
    int64_t bytes;      /* -1: absent */
    char *statement;    /* owned, or NULL */
    uint32_t *subscribers; /* owned subscriber indexes, or NULL */
    size_t n_subscribers;
    int failed;
    char session_id[24];
} audit_event_t;

typedef struct {
    audit_event_t *ev;
    size_t n, cap;
} audit_log_t;

/* A label row of one generated theft episode (a scenario may have two: one per principal). */
typedef struct {
    const char *scenario, *principal;
    char *description; /* owned */
    int64_t start_ms, end_ms;
} label_t;

#define MAX_LABELS (2 * N_SCENARIO_KINDS)

/* A stretch of time the audit trail does not show (audit-tampering, source-silence). */
typedef struct {
    int64_t from, to;     /* [from, to) */
    int keep_connections; /* LOGIN and LOGOUT still appear */
} silence_t;

#define MAX_SILENCES N_SCENARIO_KINDS

/* Everything the actors read and write. */
typedef struct {
    options_t opt;
    operator_t op;
    cdr_store_t cdrs;
    audit_log_t audit;
    label_t labels[MAX_LABELS];
    size_t n_labels;
    uint32_t *watchlist;           /* subscriber indexes of the opt.watchlist watchlisted people */
    uint8_t *watch_flag;           /* per subscriber: 1 if watchlisted (NULL: no watchlist) */
    actor_t actor[N_SCENARIO_KINDS]; /* who each scenario acts as, from its parameters */
    actor_t new_role;              /* account-created-then-reads: the role it creates */
    silence_t silence[MAX_SILENCES];
    size_t n_silences;
} world_t;

/* A PostgreSQL-style session id: session start (s, hex) "." backend pid (hex). */
static void make_session_id(char out[24], int64_t start_ms, rng_t *r)
{
    snprintf(out, 24, "%" PRIx64 ".%x", (uint64_t)(start_ms / MS_PER_SECOND),
             (unsigned)rng_between(r, 1000, 65000));
}

/* Appends an event with no object, rows, bytes or statement; valid until the next append. */
static audit_event_t *audit_add(world_t *w, const actor_t *actor, int64_t ts_ms,
                                const char *action, const char *session_id)
{
    audit_log_t *log = &w->audit;
    if (log->n == log->cap) {
        log->cap = log->cap ? log->cap * 2 : 4096;
        audit_event_t *grown = realloc(log->ev, log->cap * sizeof *grown);
        if (!grown)
            die_out_of_memory();
        log->ev = grown;
    }
    audit_event_t *e = &log->ev[log->n];
    memset(e, 0, sizeof *e);
    e->ts_ms = ts_ms;
    e->seq = (uint32_t)log->n;
    e->actor = actor;
    e->action = action;
    e->rows = -1;
    e->bytes = -1;
    snprintf(e->session_id, sizeof e->session_id, "%s", session_id);
    log->n++;
    return e;
}

static void set_subscriber(audit_event_t *e, uint32_t subscriber)
{
    e->subscribers = xmalloc(sizeof(uint32_t));
    e->subscribers[0] = subscriber;
    e->n_subscribers = 1;
}

/* A SELECT that read `rows` rows of a table whose rows cost `row_bytes` each. */
static void set_read(audit_event_t *e, const char *object, int64_t rows, unsigned row_bytes)
{
    e->object = object;
    e->rows = rows;
    e->bytes = rows * row_bytes;
}

static int compare_event(const void *a, const void *b)
{
    const audit_event_t *x = a, *y = b;
    if (x->ts_ms != y->ts_ms)
        return x->ts_ms < y->ts_ms ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void free_audit(audit_log_t *log)
{
    for (size_t i = 0; i < log->n; i++) {
        free(log->ev[i].statement);
        free(log->ev[i].subscribers);
    }
    free(log->ev);
}

/* ------------------------------------------------------------------------------------------ */
/* Benign actors. Each draws from its own stream and appends its events to the audit log.     */

static const actor_t BILLING = {"svc_billing", "billing01.corp.example", "billing-extract"};
static const actor_t FRAUD = {"svc_fraud", "fraud01.corp.example", "fraudengine"};
static const actor_t ANALYSTS[] = {{"alice", "ws-101.corp.example", "DBeaver"},
                                   {"bob", "ws-102.corp.example", "DBeaver"},
                                   {"chen", "ws-103.corp.example", "DBeaver"}};
#define N_ANALYSTS (sizeof ANALYSTS / sizeof ANALYSTS[0])
static const actor_t REPORT = {"rpt_weekly", "bi01.corp.example", "reportsvc"};
static const actor_t DBA = {"dba_ops", "jump01.corp.example", "psql"};
static const actor_t MONITOR = {"svc_monitor", "mon01.corp.example", "probe"};
static const actor_t LI_OFFICER = {"li_officer", "li01.corp.example", "li-portal"};

#define SUBSCRIBER_TABLE "mediation.subscriber"
#define CDR_ALL_VIEW "mediation.cdr_all" /* a UNION ALL view of the three CDR tables */
#define CDR_ALL_ROW_BYTES 172u

/* A SELECT of one day of a CDR table, [from, to), as billing exports and a thief walks it. */
static char *select_range(int type, const char *columns, int64_t from, int64_t to)
{
    char a[32], b[32];
    format_sql_time(from, a);
    format_sql_time(to, b);
    return xasprintf("SELECT %s FROM %s WHERE start_time >= '%s' AND start_time < '%s'", columns,
                     CDR_TABLE[type], a, b);
}

/* One run of svc_billing's extract (or of a batch-extra-run) at ts in its session: one SELECT
 * per CDR table of [from, to), then a COPY (SELECT * ...) TO a file named after `tag` of voice
 * (or of every table, with copy_all). */
static void billing_run(world_t *w, const actor_t *a, rng_t *r, int64_t ts, int64_t from,
                        int64_t to, const char *tag, int copy_all)
{
    char session[24], sa[32], sb[32];
    make_session_id(session, ts - rng_between(r, 200, 900), r);
    for (int k = 0; k < N_CDR_TYPES; k++) {
        int64_t rows = count_type(&w->cdrs, k, from, to);
        audit_event_t *e = audit_add(w, a, ts, "SELECT", session);
        set_read(e, CDR_TABLE[k], rows, CDR_ROW_BYTES[k]);
        e->statement = select_range(k, CDR_COLUMNS[k], from, to);
        ts += 2 * MS_PER_SECOND + rows / 4 + rng_between(r, 0, 1500);
    }
    format_sql_time(from, sa);
    format_sql_time(to, sb);
    for (int k = 0; k < (copy_all ? N_CDR_TYPES : 1); k++) {
        audit_event_t *e = audit_add(w, a, ts, "COPY", session);
        e->object = CDR_TABLE[k];
        e->rows = count_type(&w->cdrs, k, from, to);
        e->statement = xasprintf("COPY (SELECT * FROM %s WHERE start_time >= '%s' AND start_time "
                                 "< '%s') TO '/export/billing/%s_%s.csv' WITH (FORMAT "
                                 "csv, HEADER)",
                                 CDR_TABLE[k], sa, sb, CDR_TABLE_SHORT[k], tag);
        ts += 2 * MS_PER_SECOND + e->rows / 4;
    }
}

/* The tag of a billing file: the window's date, and its hour when there are several a day. */
static void billing_tag(int64_t from, int with_hour, char out[32])
{
    format_iso(from, out);
    out[with_hour ? 13 : 10] = '\0';
}

/* svc_billing: at 01:30 every night, yesterday's rows of each CDR table, then a COPY of voice;
 * with a profile of N runs a day, every 24/N hours the last 24/N hours. */
static void actor_billing(world_t *w)
{
    const unsigned runs = w->opt.profile->billing_runs;
    const int64_t period = MS_PER_DAY / runs;
    for (unsigned d = 0; d < w->opt.days; d++) {
        for (unsigned i = 0; i < runs; i++) {
            const int64_t to = day_start_ms(&w->opt, d) + (int64_t)i * period, from = to - period;
            if (from < day_start_ms(&w->opt, 0))
                continue; /* the first window has nothing before it */
            rng_t r = rng_stream(w->opt.seed, STREAM_BILLING, runs == 1 ? d : d * 24 + i);
            char tag[32];
            billing_tag(from, runs > 1, tag);
            billing_run(w, &BILLING, &r, to + 90 * MS_PER_MINUTE + rng_between(&r, 0, 2500), from,
                        to, tag, w->opt.profile->billing_copy_all);
        }
    }
}

/* svc_dwh (profile large): each hour at about :15, the last full hour of every CDR table, for
 * the data warehouse; one session a day. */
static void actor_dwh(world_t *w)
{
    static const actor_t DWH = {"svc_dwh", "etl01.corp.example", "airflow"};
    for (unsigned d = 0; d < w->opt.days && w->opt.profile->dwh_batch; d++) {
        rng_t r = rng_stream(w->opt.seed, STREAM_DWH, d);
        char session[24];
        make_session_id(session, day_start_ms(&w->opt, d) + rng_between(&r, 0, 60000), &r);
        for (int h = d == 0 ? 1 : 0; h < 24; h++) {
            const int64_t to = day_start_ms(&w->opt, d) + h * MS_PER_HOUR;
            int64_t ts = to + 15 * MS_PER_MINUTE + rng_between(&r, 0, 60000);
            for (int k = 0; k < N_CDR_TYPES; k++) {
                audit_event_t *e = audit_add(w, &DWH, ts, "SELECT", session);
                e->statement = select_range(k, "*", to - MS_PER_HOUR, to);
                set_read(e, CDR_TABLE[k], count_type(&w->cdrs, k, to - MS_PER_HOUR, to),
                         CDR_ROW_BYTES[k]);
                ts += rng_between(&r, 500, 5000);
            }
        }
    }
}

/* The table a subscriber lookup reads: mostly voice. */
static int pick_lookup_table(rng_t *r)
{
    static const unsigned weight[N_CDR_TYPES] = {60, 25, 15};
    return (int)rng_weighted(r, weight, N_CDR_TYPES);
}

/* SELECT of one subscriber's CDRs of one table since `from` (up to now). */
static char *select_subscriber(const world_t *w, int type, uint32_t subscriber, int64_t from)
{
    char since[32];
    format_sql_time(from, since);
    return xasprintf("SELECT %s FROM %s WHERE calling_msisdn = '%s' AND start_time >= '%s' "
                     "ORDER BY start_time",
                     CDR_COLUMNS[type], CDR_TABLE[type], w->op.id[subscriber].msisdn, since);
}

/* The caller of one of the last 50 CDRs of a type before ts: what a fraud engine reacts to. */
static uint32_t recently_active_subscriber(const world_t *w, rng_t *r, int type, int64_t ts)
{
    const cdr_store_t *s = &w->cdrs;
    size_t before = lower_bound(s, s->type_pos[type], s->type_n[type], ts);
    if (before == 0)
        return pick_subscriber(&w->op, r);
    size_t back = (size_t)rng_below(r, before < 50 ? before : 50);
    return s->rec[s->type_pos[type][before - 1 - back]].caller;
}

/* One lookup of the fraud engine at ts: the last `history` ms in one table of a subscriber who
 * just made a record there (never a watchlisted one: only li_officer looks those up). 0.2 %
 * fail with a statement timeout. */
static void fraud_lookup(world_t *w, const actor_t *a, rng_t *r, int64_t ts, const char *session,
                         int64_t history)
{
    int type = pick_lookup_table(r);
    uint32_t subscriber = recently_active_subscriber(w, r, type, ts);
    int64_t from = ts - history;
    if (w->watch_flag && w->watch_flag[subscriber])
        return;
    audit_event_t *e = audit_add(w, a, ts, "SELECT", session);
    e->statement = select_subscriber(w, type, subscriber, from);
    set_subscriber(e, subscriber);
    if (rng_chance(r, 2)) { /* statement timeout */
        e->object = CDR_TABLE[type];
        e->rows = 0;
        e->failed = 1;
    } else {
        set_read(e, CDR_TABLE[type], count_subscriber(&w->cdrs, subscriber, type, from, ts),
                 CDR_ROW_BYTES[type]);
    }
}

/* svc_fraud: around the clock, --lookups-per-day times a day (by default every 2-4 minutes),
 * the last 24 h in one table of a subscriber who just made a record there. */
static void actor_fraud(world_t *w)
{
    rng_t r = rng_stream(w->opt.seed, STREAM_FRAUD, 0);
    const int64_t mean_gap = MS_PER_DAY / w->opt.lookups_per_day; /* 180000 by default */
    const int64_t min_gap = mean_gap * 2 / 3 > 0 ? mean_gap * 2 / 3 : 1, max_gap = mean_gap * 4 / 3;
    const int64_t end = day_start_ms(&w->opt, w->opt.days);
    int64_t ts = day_start_ms(&w->opt, 0) + rng_between(&r, 0, max_gap);
    char session[24] = "";
    int64_t session_day = -1;
    for (; ts < end; ts += rng_between(&r, min_gap, max_gap)) {
        if (ts / MS_PER_DAY != session_day) { /* the pool reconnects once a day */
            session_day = ts / MS_PER_DAY;
            make_session_id(session, ts - rng_between(&r, 1000, 60000), &r);
        }
        fraud_lookup(w, &FRAUD, &r, ts, session, MS_PER_DAY);
    }
}

/* One ad-hoc query of an analyst: who, when, in which session. */
typedef struct {
    world_t *w;
    const actor_t *actor;
    rng_t *r;
    int64_t ts;   /* when the query runs; it sees the CDRs that started before */
    unsigned day; /* day index of ts */
    const char *session;
} analyst_turn_t;

/* A day among the last seven, today included, never before the first day generated. */
static unsigned recent_day(const analyst_turn_t *q)
{
    return (unsigned)rng_between(q->r, q->day >= 6 ? q->day - 6 : 0, q->day);
}

/* SELECT * of a daytime window (5 min to 2 h) of a recent day, capped by a LIMIT. */
static void query_time_window(const analyst_turn_t *q, int type)
{
    static const int64_t window_minutes[] = {5, 10, 15, 30, 60, 120};
    int64_t from = day_start_ms(&q->w->opt, recent_day(q)) +
                   rng_between(q->r, 7 * 60, 21 * 60) * MS_PER_MINUTE;
    int64_t length = window_minutes[rng_below(q->r, 6)] * MS_PER_MINUTE;
    if (from + length > q->ts)
        from = q->ts - length;
    int64_t rows = count_type(&q->w->cdrs, type, from, from + length);
    char *range = select_range(type, "*", from, from + length);
    audit_event_t *e = audit_add(q->w, q->actor, q->ts, "SELECT", q->session);
    e->statement = xasprintf("%s ORDER BY start_time LIMIT 2000", range);
    set_read(e, CDR_TABLE[type], rows < 2000 ? rows : 2000, CDR_ROW_BYTES[type]);
    free(range);
}

/* One subscriber's last 7 days in one table, as a complaint investigation reads them. */
static void query_subscriber_week(const analyst_turn_t *q, int type)
{
    uint32_t subscriber = pick_subscriber(&q->w->op, q->r);
    int64_t from = q->ts - 7 * MS_PER_DAY;
    audit_event_t *e = audit_add(q->w, q->actor, q->ts, "SELECT", q->session);
    e->statement = select_subscriber(q->w, type, subscriber, from);
    set_subscriber(e, subscriber);
    set_read(e, CDR_TABLE[type], count_subscriber(&q->w->cdrs, subscriber, type, from, q->ts),
             CDR_ROW_BYTES[type]);
}

/* Records per cell of one table on a recent day (today: so far). */
static void query_cell_counts(const analyst_turn_t *q, int type)
{
    unsigned day = recent_day(q);
    int64_t from = day_start_ms(&q->w->opt, day);
    int64_t to = day == q->day ? q->ts : from + MS_PER_DAY;
    char a[32], b[32];
    format_sql_time(from, a);
    format_sql_time(from + MS_PER_DAY, b);
    audit_event_t *e = audit_add(q->w, q->actor, q->ts, "SELECT", q->session);
    e->statement = xasprintf("SELECT cell_id, count(*) AS records FROM %s WHERE start_time >= "
                             "'%s' AND start_time < '%s' GROUP BY cell_id ORDER BY records DESC",
                             CDR_TABLE[type], a, b);
    set_read(e, CDR_TABLE[type], count_cells(&q->w->cdrs, type, from, to), AGGREGATE_ROW_BYTES);
}

/* The subscribers whose home is one of 1-4 neighbouring cells. */
static void query_home_cells(const analyst_turn_t *q)
{
    const operator_t *op = &q->w->op;
    uint32_t first = (uint32_t)rng_below(q->r, op->n_cells);
    unsigned n_cells = (unsigned)rng_between(q->r, 1, 4);
    int64_t rows = 0;
    char list[160] = "", cell[32];
    size_t len = 0;
    for (unsigned i = 0; i < n_cells && i < op->n_cells; i++) {
        uint32_t c = (first + i) % op->n_cells;
        format_cell(c, cell);
        len += (size_t)snprintf(list + len, sizeof list - len, "%s'%s'", i ? ", " : "", cell);
        rows += op->subs_in_cell[c];
    }
    audit_event_t *e = audit_add(q->w, q->actor, q->ts, "SELECT", q->session);
    e->statement = xasprintf("SELECT msisdn, imsi, imei, plan, activated_on FROM %s WHERE "
                             "home_cell IN (%s) ORDER BY msisdn",
                             SUBSCRIBER_TABLE, list);
    set_read(e, SUBSCRIBER_TABLE, rows, SUBSCRIBER_ROW_BYTES);
}

/* A typo: the server rejects the statement, nothing is read. */
static void query_with_typo(const analyst_turn_t *q, int type)
{
    char today[32];
    format_sql_time(day_start_ms(&q->w->opt, q->day), today);
    audit_event_t *e = audit_add(q->w, q->actor, q->ts, "SELECT", q->session);
    e->statement = xasprintf("SELECT calling_msisdn, durration_s FROM %s WHERE start_time >= "
                             "'%s'",
                             CDR_TABLE[type], today);
    e->object = CDR_TABLE[type];
    e->rows = 0;
    e->failed = 1;
}

/* An analyst's ad-hoc query, one of five kinds. */
/* A case (profile fraud-heavy): the whole history of a heavy user (one of the top 1 % by
 * activity, drawn by activity), through the view over every CDR table. */
static void query_case_history(const analyst_turn_t *q)
{
    const world_t *w = q->w;
    const operator_t *op = &w->op;
    const uint64_t heavy = activity_weight(op->n_subs / 100); /* the weight of rank n/100 */
    uint32_t subscriber = pick_subscriber(op, q->r);
    for (int tries = 0; tries < 10000; tries++) { /* by activity, until one of the top 1 % */
        uint64_t weight = op->activity_cum[subscriber] -
                          (subscriber ? op->activity_cum[subscriber - 1] : 0);
        if (weight > heavy)
            break;
        subscriber = pick_subscriber(op, q->r);
    }
    audit_event_t *e = audit_add(q->w, q->actor, q->ts, "SELECT", q->session);
    e->statement = xasprintf("SELECT * FROM %s WHERE calling_msisdn = '%s' ORDER BY start_time",
                             CDR_ALL_VIEW, w->op.id[subscriber].msisdn);
    set_subscriber(e, subscriber);
    set_read(e, CDR_ALL_VIEW,
             count_subscriber_all(&w->cdrs, subscriber, day_start_ms(&w->opt, 0), q->ts),
             CDR_ALL_ROW_BYTES);
}

static void analyst_query(const analyst_turn_t *q)
{
    static const unsigned kind_weight[] = {36, 22, 16, 18, 4};
    const unsigned case_per_mille = q->w->opt.profile->case_per_mille;
    if (case_per_mille && rng_chance(q->r, case_per_mille)) {
        query_case_history(q);
        return;
    }
    int type = (int)rng_weighted(q->r, CDR_TYPE_WEIGHT, N_CDR_TYPES);
    switch (rng_weighted(q->r, kind_weight, sizeof kind_weight / sizeof kind_weight[0])) {
    case 0:
        query_time_window(q, type);
        break;
    case 1:
        query_subscriber_week(q, type);
        break;
    case 2:
        query_cell_counts(q, type);
        break;
    case 3:
        query_home_cells(q);
        break;
    default:
        query_with_typo(q, type);
        break;
    }
}

static int compare_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* One analyst's working day: LOGIN about 09:00, a few dozen queries, LOGOUT before 18:00. */
static void analyst_day(world_t *w, const actor_t *a, unsigned analyst, unsigned day)
{
    rng_t r = rng_stream(w->opt.seed, STREAM_ANALYST, (uint64_t)day * 16 + analyst);
    const int64_t midnight = day_start_ms(&w->opt, day);
    int64_t login = midnight + 9 * MS_PER_HOUR + rng_between(&r, 0, 25 * MS_PER_MINUTE);
    char session[24];
    if (rng_chance(&r, 60)) { /* mistyped password */
        make_session_id(session, login, &r);
        audit_add(w, a, login, "LOGIN", session)->failed = 1;
        login += rng_between(&r, 15 * MS_PER_SECOND, 90 * MS_PER_SECOND);
    }
    make_session_id(session, login, &r);
    audit_add(w, a, login, "LOGIN", session);

    size_t n = (size_t)rng_between(&r, 24, 48);
    int64_t *when = xmalloc(n * sizeof *when);
    for (size_t i = 0; i < n; i++)
        when[i] = rng_between(&r, login + 2 * MS_PER_MINUTE, midnight + 17 * MS_PER_HOUR +
                                                                 40 * MS_PER_MINUTE);
    qsort(when, n, sizeof *when, compare_i64);
    for (size_t i = 0; i < n; i++) {
        analyst_turn_t turn = {w, a, &r, when[i], day, session};
        analyst_query(&turn);
    }
    free(when);
    int64_t logout = midnight + 17 * MS_PER_HOUR + rng_between(&r, 45, 59) * MS_PER_MINUTE +
                     rng_between(&r, 0, 59999);
    audit_add(w, a, logout, "LOGOUT", session);
}

/* alice, bob and chen: weekdays, office hours. */
static void actor_analysts(world_t *w)
{
    for (unsigned d = 0; d < w->opt.days; d++) {
        if (is_weekend(w->opt.start_day + d))
            continue;
        for (unsigned i = 0; i < N_ANALYSTS; i++)
            analyst_day(w, &ANALYSTS[i], i, d);
    }
}

/* CDRs of a type with start_time in [from, to) as the operator's store holds them: the store
 * had records before the first generated day, like those of the weeks that follow. The part of a
 * range that reaches before the first day is counted as the same hours of the week a whole number
 * of weeks later (or, when the dataset is too short for that, at the rate of the part that does not
 * reach before). Used by the reader whose every run spans days back, the weekly report: counted
 * from the first day only, its first run (the only one a learning week sees) read six night hours'
 * worth and the next one, a whole week, looked like a theft thirty times its size. */
static int64_t count_type_stored(const world_t *w, int type, int64_t from, int64_t to)
{
    const int64_t week = 7 * MS_PER_DAY;
    int64_t first = day_start_ms(&w->opt, 0), end = day_start_ms(&w->opt, w->opt.days), shift, rows;
    if (from >= first || to <= first)
        return count_type(&w->cdrs, type, from, to);
    rows = count_type(&w->cdrs, type, first, to);
    shift = (first - from + week - 1) / week * week;
    if (first + shift <= end)
        return rows + count_type(&w->cdrs, type, from + shift, first + shift);
    return (int64_t)((double)rows * (double)(to - from) / (double)(to - first));
}

/* rpt_weekly: Mondays 06:00, records per cell of each CDR table over the last 7 days. */
static void actor_weekly_report(world_t *w)
{
    static const char *const volume[N_CDR_TYPES] = {"sum(duration_s) AS seconds",
                                                    "count(DISTINCT calling_msisdn) AS senders",
                                                    "sum(bytes_up + bytes_down) AS bytes"};
    for (unsigned d = 0; d < w->opt.days; d++) {
        if (iso_weekday(w->opt.start_day + d) != 1)
            continue;
        rng_t r = rng_stream(w->opt.seed, STREAM_REPORT, d);
        int64_t ts = day_start_ms(&w->opt, d) + 6 * MS_PER_HOUR + rng_between(&r, 0, 3000);
        int64_t from = ts - 7 * MS_PER_DAY;
        char session[24], a[32], b[32];
        make_session_id(session, ts - rng_between(&r, 100, 900), &r);
        format_sql_time(from, a);
        format_sql_time(ts, b);
        for (int k = 0; k < N_CDR_TYPES; k++) {
            int64_t rows = count_cells(&w->cdrs, k, from, ts);
            audit_event_t *e = audit_add(w, &REPORT, ts, "SELECT", session);
            e->statement = xasprintf(
                "SELECT cell_id, count(*) AS records, %s FROM %s WHERE start_time >= '%s' AND "
                "start_time < '%s' GROUP BY cell_id ORDER BY cell_id",
                volume[k], CDR_TABLE[k], a, b);
            set_read(e, CDR_TABLE[k], rows, AGGREGATE_ROW_BYTES);
            ts += rng_between(&r, 800, 4000);
        }
        for (int k = 0; k < N_CDR_TYPES && w->opt.profile->weekly_full; k++) {
            audit_event_t *e = audit_add(w, &REPORT, ts, "SELECT", session);
            e->statement = select_range(k, CDR_COLUMNS[k], from, ts);
            set_read(e, CDR_TABLE[k], count_type_stored(w, k, from, ts), CDR_ROW_BYTES[k]);
            ts += 5 * MS_PER_SECOND + e->rows / 8 + rng_between(&r, 800, 4000);
        }
    }
}

/* One maintenance statement of dba_ops: its action, object and SQL text. */
static void dba_statement(world_t *w, rng_t *r, int64_t ts, unsigned day, const char *session)
{
    int type = (int)rng_below(r, N_CDR_TYPES);
    char date[32];
    format_iso(day_start_ms(&w->opt, day), date);
    date[10] = '\0';
    for (char *p = date; *p; p++)
        if (*p == '-')
            *p = '_';
    audit_event_t *e;
    switch (rng_below(r, 4)) {
    case 0:
        e = audit_add(w, &DBA, ts, "CREATE", session);
        e->object = CDR_TABLE[type];
        e->statement = xasprintf("CREATE INDEX CONCURRENTLY IF NOT EXISTS %s_cell_%s ON %s "
                                 "(cell_id, start_time)",
                                 CDR_TABLE_SHORT[type], date, CDR_TABLE[type]);
        break;
    case 1:
        e = audit_add(w, &DBA, ts, "ALTER", session);
        e->object = CDR_TABLE[type];
        e->statement = xasprintf("ALTER TABLE %s ALTER COLUMN calling_msisdn SET STATISTICS %d",
                                 CDR_TABLE[type], (int)rng_between(r, 2, 10) * 100);
        break;
    case 2:
        e = audit_add(w, &DBA, ts, "ALTER", session);
        e->object = SUBSCRIBER_TABLE;
        e->statement = xasprintf("ALTER TABLE %s SET (autovacuum_analyze_scale_factor = 0.0%d)",
                                 SUBSCRIBER_TABLE, (int)rng_between(r, 1, 5));
        break;
    default:
        e = audit_add(w, &DBA, ts, "ANALYZE", session);
        e->object = CDR_TABLE[type];
        e->statement = xasprintf("ANALYZE %s", CDR_TABLE[type]);
        break;
    }
}

/* dba_ops: on most weekdays, one psql session in office hours with 1-3 DDL statements. */
static void actor_dba(world_t *w)
{
    int sessions = 0;
    for (unsigned d = 0; d < w->opt.days; d++) {
        rng_t r = rng_stream(w->opt.seed, STREAM_DBA, d);
        if (is_weekend(w->opt.start_day + d) || (sessions > 0 && !rng_chance(&r, 600)))
            continue;
        sessions++;
        int64_t ts = day_start_ms(&w->opt, d) + rng_between(&r, 10 * 60, 15 * 60) * MS_PER_MINUTE +
                     rng_between(&r, 0, 59999);
        char session[24];
        make_session_id(session, ts, &r);
        audit_add(w, &DBA, ts, "LOGIN", session);
        int n = (int)rng_between(&r, 1, 3);
        for (int i = 0; i < n; i++) {
            ts += rng_between(&r, 30 * MS_PER_SECOND, 6 * MS_PER_MINUTE);
            dba_statement(w, &r, ts, d, session);
        }
        ts += rng_between(&r, 20 * MS_PER_SECOND, 3 * MS_PER_MINUTE);
        audit_add(w, &DBA, ts, "LOGOUT", session);
    }
}

/* svc_monitor: SELECT 1 every 5 minutes, a fresh connection each time. */
static void actor_monitor(world_t *w)
{
    rng_t r = rng_stream(w->opt.seed, STREAM_MONITOR, 0);
    const int64_t end = day_start_ms(&w->opt, w->opt.days);
    for (int64_t tick = day_start_ms(&w->opt, 0); tick < end; tick += 5 * MS_PER_MINUTE) {
        int64_t ts = tick + rng_between(&r, 5, 400);
        char session[24];
        make_session_id(session, ts, &r);
        audit_event_t *e = audit_add(w, &MONITOR, ts, "SELECT", session);
        e->rows = 1;
        e->statement = xasprintf("SELECT 1");
    }
}

/*
 * The watchlist: people a lawful-intercept warrant names. They are drawn among the subscribers
 * that no benign actor ever looks up (so that only li_officer, and the watchlist-lookup
 * scenario, touch them), with a CDR on the first day and three or more in the first week (so
 * that the CDR stream links their IMSI, IMEI and MSISDN before anyone asks). Returns 0, or 2
 * with a message when too few subscribers qualify.
 */
static int choose_watchlist(world_t *w)
{
    const unsigned n_subs = w->op.n_subs;
    uint8_t *touched = xcalloc(n_subs, 1);
    for (size_t i = 0; i < w->audit.n; i++)
        for (size_t j = 0; j < w->audit.ev[i].n_subscribers; j++)
            touched[w->audit.ev[i].subscribers[j]] = 1;
    const int64_t first = day_start_ms(&w->opt, 0);
    const int64_t week = day_start_ms(&w->opt, w->opt.days < 7 ? w->opt.days : 7);
    uint32_t *candidate = xmalloc((size_t)n_subs * sizeof *candidate);
    size_t n = 0;
    for (uint32_t s = 0; s < n_subs; s++)
        if (!touched[s] && count_subscriber_all(&w->cdrs, s, first, first + MS_PER_DAY) >= 1 &&
            count_subscriber_all(&w->cdrs, s, first, week) >= 3)
            candidate[n++] = s;
    free(touched);
    if (n < w->opt.watchlist) {
        fprintf(stderr, "%s: --watchlist %u: only %zu subscribers qualify (never looked up by "
                "the benign actors, a CDR on the first day and 3 in the first week): ask for "
                "fewer, or give more --cdr-per-day or --subscribers\n",
                PROGRAM, w->opt.watchlist, n);
        free(candidate);
        return 2;
    }
    rng_t r = rng_stream(w->opt.seed, STREAM_WATCHLIST, 0);
    sample(&r, candidate, n, w->opt.watchlist);
    w->watchlist = xmalloc(w->opt.watchlist * sizeof *w->watchlist);
    memcpy(w->watchlist, candidate, w->opt.watchlist * sizeof *w->watchlist);
    free(candidate);
    w->watch_flag = xcalloc(n_subs, 1);
    for (unsigned i = 0; i < w->opt.watchlist; i++)
        w->watch_flag[w->watchlist[i]] = 1;
    return 0;
}

/* li_officer: on weekdays, one session between 10:00 and 16:30 with 1-4 lookups of watchlisted
 * people, the last 30 days of one CDR table each: the only account allowed to. */
static void actor_li_officer(world_t *w)
{
    for (unsigned d = 0; d < w->opt.days; d++) {
        if (is_weekend(w->opt.start_day + d))
            continue;
        rng_t r = rng_stream(w->opt.seed, STREAM_LI, d);
        const int64_t midnight = day_start_ms(&w->opt, d);
        int64_t when[4];
        size_t n = (size_t)rng_between(&r, 1, 4);
        for (size_t i = 0; i < n; i++)
            when[i] = midnight + rng_between(&r, 10 * MS_PER_HOUR, 16 * MS_PER_HOUR);
        qsort(when, n, sizeof when[0], compare_i64);
        char session[24];
        int64_t login = when[0] - rng_between(&r, 30 * MS_PER_SECOND, 3 * MS_PER_MINUTE);
        make_session_id(session, login, &r);
        audit_add(w, &LI_OFFICER, login, "LOGIN", session);
        for (size_t i = 0; i < n; i++) {
            uint32_t subscriber = w->watchlist[rng_below(&r, w->opt.watchlist)];
            int type = pick_lookup_table(&r);
            int64_t from = when[i] - 30 * MS_PER_DAY;
            audit_event_t *e = audit_add(w, &LI_OFFICER, when[i], "SELECT", session);
            e->statement = select_subscriber(w, type, subscriber, from);
            set_subscriber(e, subscriber);
            set_read(e, CDR_TABLE[type],
                     count_subscriber(&w->cdrs, subscriber, type, from, when[i]),
                     CDR_ROW_BYTES[type]);
        }
        audit_add(w, &LI_OFFICER, when[n - 1] + rng_between(&r, MS_PER_MINUTE, 20 * MS_PER_MINUTE),
                  "LOGOUT", session);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Theft scenarios. Add one: a kind and a row in SCENARIOS (with its PARAMS), a function here, */
/* a case in run_scenario(), and its description in datasets/README.md.                       */

/* "the Exchange server mail-ex01", "the web server web01" or "host jump01": what a host is. */
static char *host_phrase(const char *host)
{
    size_t short_len = strcspn(host, ".");
    if (strncmp(host, "mail", 4) == 0)
        return xasprintf("the Exchange server %.*s", (int)short_len, host);
    if (strncmp(host, "web", 3) == 0)
        return xasprintf("the web server %.*s", (int)short_len, host);
    return xasprintf("host %.*s", (int)short_len, host);
}

/* "at night" from 22:00 to 05:59, else "at HH:MM". */
static char *time_phrase(unsigned minute_of_day)
{
    unsigned h = minute_of_day / 60;
    if (h >= 22 || h < 6)
        return xasprintf("at night");
    return xasprintf("at %02u:%02u", h, minute_of_day % 60);
}

/* Appends a label row; takes ownership of description. */
static void add_label(world_t *w, const scenario_t *sc, const char *principal, int64_t start,
                      int64_t end, char *description)
{
    label_t *l = &w->labels[w->n_labels++];
    l->scenario = sc->name;
    l->principal = principal;
    l->description = description;
    l->start_ms = start;
    l->end_ms = end;
}

/* A silence of the audit trail: statements in [from, to) are not written (connections too,
 * unless keep_connections). */
static void add_silence(world_t *w, int64_t from, int64_t to, int keep_connections)
{
    silence_t *s = &w->silence[w->n_silences++];
    s->from = from;
    s->to = to;
    s->keep_connections = keep_connections;
}

/* Evenly spread times in [from, to): slot i starts at from + i * (to - from) / n, plus up to
 * half a slot of jitter. Sorted. */
static int64_t spread(rng_t *r, int64_t from, int64_t to, size_t i, size_t n)
{
    int64_t slot = (to - from) / (int64_t)n;
    return from + (int64_t)i * slot + rng_between(r, 0, slot / 2);
}

/* A SELECT * of [from, to) of one CDR table: what a thief walking the history runs. */
static void read_range(world_t *w, const actor_t *a, const char *session, int64_t ts, int type,
                       int64_t from, int64_t to)
{
    audit_event_t *e = audit_add(w, a, ts, "SELECT", session);
    e->statement = select_range(type, "*", from, to);
    set_read(e, CDR_TABLE[type], count_type(&w->cdrs, type, from, to), CDR_ROW_BYTES[type]);
}

/* A SELECT * of a window of 1 to max_hours hours of a recent day (the last `back` days), never
 * past ts. */
static void read_recent_window(world_t *w, rng_t *r, const actor_t *a, const char *session,
                               int64_t ts, unsigned day, unsigned back, int max_hours)
{
    int type = (int)rng_weighted(r, CDR_TYPE_WEIGHT, N_CDR_TYPES);
    unsigned from_day = (unsigned)rng_between(r, day >= back ? day - back : 0, day);
    int64_t from = day_start_ms(&w->opt, from_day) + rng_between(r, 7, 20) * MS_PER_HOUR;
    int64_t length = rng_between(r, 1, max_hours) * MS_PER_HOUR;
    if (from + length > ts)
        from = (ts - length) / MS_PER_MINUTE * MS_PER_MINUTE;
    read_range(w, a, session, ts, type, from, from + length);
}

/*
 * bulk-theft: LOGIN; three reconnaissance counts; one SELECT * per (table, day) from the first
 * day to the theft day (that day up to the query), spread over the window; a COPY of every
 * CDR table so far to files under /tmp; LOGOUT. Together the SELECTs read every CDR generated
 * before them.
 */
static void scenario_bulk_theft(world_t *w, const scenario_t *sc, int64_t start, int64_t end)
{
    rng_t r = rng_stream(w->opt.seed, STREAM_SCENARIO, (uint64_t)sc->kind);
    const actor_t *a = &w->actor[sc->kind];
    int64_t ts = start + rng_between(&r, 1000, 20000);
    char session[24];
    make_session_id(session, ts, &r);
    audit_add(w, a, ts, "LOGIN", session);

    for (int k = 0; k < N_CDR_TYPES; k++) {
        ts += rng_between(&r, 25 * MS_PER_SECOND, 70 * MS_PER_SECOND);
        audit_event_t *e = audit_add(w, a, ts, "SELECT", session);
        e->statement = xasprintf("SELECT count(*), min(start_time), max(start_time) FROM %s",
                                 CDR_TABLE[k]);
        set_read(e, CDR_TABLE[k], 1, AGGREGATE_ROW_BYTES);
    }

    const unsigned days = sc->day + 1;
    const int64_t walk_start = start + 5 * MS_PER_MINUTE, walk_end = end - 6 * MS_PER_MINUTE;
    const int64_t step = (walk_end - walk_start) / (N_CDR_TYPES * days);
    int64_t slot = walk_start;
    for (int k = 0; k < N_CDR_TYPES; k++) {
        for (unsigned d = 0; d < days; d++, slot += step) {
            ts = slot + rng_between(&r, 0, step / 2);
            int64_t from = day_start_ms(&w->opt, d);
            int64_t to = d + 1 < days ? from + MS_PER_DAY : ts;
            audit_event_t *e = audit_add(w, a, ts, "SELECT", session);
            if (d + 1 < days) {
                e->statement = select_range(k, "*", from, to);
            } else {
                char since[32];
                format_sql_time(from, since);
                e->statement = xasprintf("SELECT * FROM %s WHERE start_time >= '%s'",
                                         CDR_TABLE[k], since);
            }
            set_read(e, CDR_TABLE[k], count_type(&w->cdrs, k, from, to), CDR_ROW_BYTES[k]);
        }
    }

    static const char *const dump_file[N_CDR_TYPES] = {"v", "s", "d"};
    for (int k = 0; k < N_CDR_TYPES; k++) {
        ts = end - (4 - k) * MS_PER_MINUTE + rng_between(&r, 0, 50000);
        audit_event_t *e = audit_add(w, a, ts, "COPY", session);
        e->object = CDR_TABLE[k];
        e->rows = count_type(&w->cdrs, k, day_start_ms(&w->opt, 0), ts);
        e->statement = xasprintf("COPY (SELECT * FROM %s) TO '/tmp/.cache/%s.csv'", CDR_TABLE[k],
                                 dump_file[k]);
    }
    audit_add(w, a, end - rng_between(&r, 5000, 50000), "LOGOUT", session);

    char *where = host_phrase(a->host), *when = time_phrase(sc->at);
    add_label(w, sc, a->principal, start, end,
              xasprintf("dormant service account %s, first seen, logs in from %s with %s %s, "
                        "reads the whole history of cdr_voice, cdr_sms and cdr_data day by day, "
                        "then COPYs all three tables to /tmp/.cache/{v,s,d}.csv",
                        a->principal, where, a->app, when));
    free(where);
    free(when);
}

/* The history walk of low-and-slow: which table, and where the next chunk starts. */
typedef struct {
    int table;
    int64_t cursor;
} history_walk_t;

/* Reads the next chunk of the walk: from the cursor, in 10-minute steps, until about `want`
 * rows, never past the last 10-minute mark an hour before ts; when what is left of the table
 * falls short of `want`, the walk goes on to the next table, from the first day. */
static void read_next_chunk(world_t *w, const actor_t *a, const char *session, int64_t ts,
                            history_walk_t *walk, int64_t want)
{
    const int64_t step = 10 * MS_PER_MINUTE, limit = (ts - MS_PER_HOUR) / step * step;
    if (count_type(&w->cdrs, walk->table, walk->cursor, limit) < want) {
        walk->table = (walk->table + 1) % N_CDR_TYPES;
        walk->cursor = day_start_ms(&w->opt, 0);
    }
    int64_t from = walk->cursor, to = from;
    do
        to = to + step < limit ? to + step : limit;
    while (to < limit && count_type(&w->cdrs, walk->table, from, to) < want);
    read_range(w, a, session, ts, walk->table, from, to);
    walk->cursor = to;
}

/*
 * low-and-slow: for `days` days, in each active hour (06-09 and 18-23, or every hour), the
 * analyst's own account reads about `rate` rows in 1-3 SELECT * of consecutive chunks of the
 * CDR history (voice, then SMS, then data, then voice again), each active stretch of hours in
 * its own session. Its usual office-hours work goes on as well.
 */
static void scenario_low_and_slow(world_t *w, const scenario_t *sc)
{
    rng_t r = rng_stream(w->opt.seed, STREAM_SCENARIO, (uint64_t)sc->kind);
    const actor_t *a = &w->actor[sc->kind];
    const int around_the_clock = strcmp(sc->choice, "all") == 0;
    history_walk_t walk = {CDR_VOICE, day_start_ms(&w->opt, 0)};
    int64_t first = -1, stretch_end = -1;
    char session[24] = "";
    for (unsigned d = sc->day; d < sc->day + sc->days; d++) {
        for (int h = 0; h < 24; h++) {
            if (!around_the_clock && !((h >= 6 && h < 9) || (h >= 18 && h < 23)))
                continue;
            const int64_t hour = day_start_ms(&w->opt, d) + h * MS_PER_HOUR;
            if (hour != stretch_end) { /* a new stretch of hours: a new session */
                if (stretch_end >= 0)
                    audit_add(w, a, stretch_end - rng_between(&r, MS_PER_MINUTE, 3 * MS_PER_MINUTE),
                              "LOGOUT", session);
                int64_t login = hour + rng_between(&r, 0, 3 * MS_PER_MINUTE);
                make_session_id(session, login, &r);
                audit_add(w, a, login, "LOGIN", session);
            }
            if (first < 0)
                first = hour;
            stretch_end = hour + MS_PER_HOUR;
            int64_t target = (int64_t)sc->amount * rng_between(&r, 900, 1100) / 1000;
            int64_t when[3];
            int n = (int)rng_between(&r, 1, 3);
            for (int i = 0; i < n; i++)
                when[i] = hour + rng_between(&r, 4 * MS_PER_MINUTE, 56 * MS_PER_MINUTE);
            qsort(when, (size_t)n, sizeof when[0], compare_i64);
            for (int i = 0; i < n; i++)
                read_next_chunk(w, a, session, when[i], &walk, target / n);
        }
    }
    audit_add(w, a, stretch_end - rng_between(&r, MS_PER_MINUTE, 3 * MS_PER_MINUTE), "LOGOUT",
              session);
    add_label(w, sc, a->principal, first, stretch_end,
              xasprintf("%s's own account, from its usual %s with %s, reads about %u CDR rows an "
                        "hour more than usual %s for %u days: a walk through the whole CDR "
                        "history in chunks, under any hourly floor but large over 24 h and 7 d",
                        a->principal, a->host, a->app, sc->amount,
                        around_the_clock ? "around the clock"
                                         : "at the edges of office hours (06-09 and 18-23 UTC)",
                        sc->days));
}

/* Subscribers that are not watchlisted and have a CDR more than 7 days before ts (so that their
 * whole history is more than any week-long lookup returns), or, early in the set, any CDR
 * before ts; in index order. */
static size_t harvest_candidates(const world_t *w, int64_t ts, uint32_t *out)
{
    size_t n = 0;
    const int64_t first = day_start_ms(&w->opt, 0);
    const int64_t before = ts - 7 * MS_PER_DAY > first ? ts - 7 * MS_PER_DAY : ts;
    for (uint32_t s = 0; s < w->op.n_subs; s++)
        if (!(w->watch_flag && w->watch_flag[s]) &&
            count_subscriber_all(&w->cdrs, s, first, before) > 0)
            out[n++] = s;
    return n;
}


/*
 * history-harvest: in a session of its own, one SELECT * of the view over every CDR table per
 * subscriber, no time bound: each returns the subscriber's whole history so far. The
 * subscribers are drawn uniformly among those with a CDR (watchlisted people excepted).
 */
static void scenario_history_harvest(world_t *w, const scenario_t *sc, int64_t start, int64_t end)
{
    rng_t r = rng_stream(w->opt.seed, STREAM_SCENARIO, (uint64_t)sc->kind);
    const actor_t *a = &w->actor[sc->kind];
    uint32_t *target = xmalloc((size_t)w->op.n_subs * sizeof *target);
    size_t n = harvest_candidates(w, start, target);
    sample(&r, target, n, sc->amount);
    if (n > sc->amount)
        n = sc->amount;
    char session[24];
    int64_t ts = start + rng_between(&r, 10 * MS_PER_SECOND, 60 * MS_PER_SECOND);
    make_session_id(session, ts, &r);
    audit_add(w, a, ts, "LOGIN", session);
    for (size_t i = 0; i < n; i++) {
        ts = spread(&r, start + 2 * MS_PER_MINUTE, end - 2 * MS_PER_MINUTE, i, n);
        audit_event_t *e = audit_add(w, a, ts, "SELECT", session);
        e->statement = xasprintf("SELECT * FROM %s WHERE calling_msisdn = '%s' ORDER BY "
                                 "start_time",
                                 CDR_ALL_VIEW, w->op.id[target[i]].msisdn);
        set_subscriber(e, target[i]);
        set_read(e, CDR_ALL_VIEW,
                 count_subscriber_all(&w->cdrs, target[i], day_start_ms(&w->opt, 0), ts),
                 CDR_ALL_ROW_BYTES);
    }
    audit_add(w, a, end - rng_between(&r, 10 * MS_PER_SECOND, 60 * MS_PER_SECOND), "LOGOUT",
              session);
    free(target);
    add_label(w, sc, a->principal, start, end,
              xasprintf("%s pulls the whole call history (every CDR since the first day, through "
                        "the view %s) of %zu subscribers, one query per subscriber, from %s with "
                        "%s",
                        a->principal, CDR_ALL_VIEW, n, a->host, a->app));
}

/* The export statement of a verb for [from, to) of a table, to a file named after `tag`. */
static char *export_statement(const char *verb, int type, int64_t from, int64_t to,
                              const char *tag)
{
    char a[32], b[32];
    format_sql_time(from, a);
    format_sql_time(to, b);
    if (strcmp(verb, "EXPORT") == 0)
        return xasprintf("EXPORT TO PARQUET (directory = '/var/tmp/rpt/%s_%s') AS SELECT * FROM "
                         "%s WHERE start_time >= '%s' AND start_time < '%s'",
                         CDR_TABLE_SHORT[type], tag, CDR_TABLE[type], a, b);
    if (strcmp(verb, "UNLOAD") == 0)
        return xasprintf("UNLOAD ('SELECT * FROM %s WHERE start_time >= ''%s'' AND start_time < "
                         "''%s''') TO 's3://rpt-exports/%s_%s_' FORMAT AS CSV",
                         CDR_TABLE[type], a, b, CDR_TABLE_SHORT[type], tag);
    return xasprintf("COPY (SELECT * FROM %s WHERE start_time >= '%s' AND start_time < '%s') TO "
                     "'/var/tmp/rpt/%s_%s.csv' WITH (FORMAT csv, HEADER)",
                     CDR_TABLE[type], a, b, CDR_TABLE_SHORT[type], tag);
}

/*
 * export-by-non-exporter: in a session of its own, the account exports the last seven full
 * days of cdr_voice and then cdr_sms with the chosen verb (rows: the CDRs exported; no bytes,
 * the file is written by the server).
 */
static void scenario_export(world_t *w, const scenario_t *sc, int64_t start, int64_t end)
{
    rng_t r = rng_stream(w->opt.seed, STREAM_SCENARIO, (uint64_t)sc->kind);
    const actor_t *a = &w->actor[sc->kind];
    const int64_t to = day_start_ms(&w->opt, sc->day);
    const int64_t from = day_start_ms(&w->opt, sc->day >= 7 ? sc->day - 7 : 0);
    char session[24], tag[32];
    int64_t ts = start + rng_between(&r, 30 * MS_PER_SECOND, 2 * MS_PER_MINUTE);
    make_session_id(session, ts - rng_between(&r, 100, 900), &r);
    format_iso(from, tag);
    tag[10] = '\0';
    static const int tables[] = {CDR_VOICE, CDR_SMS};
    for (int i = 0; i < 2; i++) {
        audit_event_t *e = audit_add(w, a, ts, sc->choice, session);
        e->object = CDR_TABLE[tables[i]];
        e->rows = count_type(&w->cdrs, tables[i], from, to);
        e->statement = export_statement(sc->choice, tables[i], from, to, tag);
        ts += rng_between(&r, 2 * MS_PER_MINUTE, 5 * MS_PER_MINUTE);
    }
    add_label(w, sc, a->principal, start, end,
              xasprintf("%s, which never exports, runs %s of the last seven days of cdr_voice "
                        "and cdr_sms (from %s) from its usual %s",
                        a->principal, sc->choice, tag, a->host));
}

/* off-hours-new-host: LOGIN from the new host, 6-9 SELECT * of 1-3 hour windows of the last
 * three days, LOGOUT. A few thousand rows at most: only where and when are unusual. */
static void scenario_off_hours(world_t *w, const scenario_t *sc, int64_t start, int64_t end)
{
    rng_t r = rng_stream(w->opt.seed, STREAM_SCENARIO, (uint64_t)sc->kind);
    const actor_t *a = &w->actor[sc->kind];
    char session[24];
    int64_t login = start + rng_between(&r, 20 * MS_PER_SECOND, 2 * MS_PER_MINUTE);
    make_session_id(session, login, &r);
    audit_add(w, a, login, "LOGIN", session);
    size_t n = (size_t)rng_between(&r, 6, 9);
    for (size_t i = 0; i < n; i++) {
        int64_t ts = spread(&r, start + 3 * MS_PER_MINUTE, end - 3 * MS_PER_MINUTE, i, n);
        read_recent_window(w, &r, a, session, ts, (unsigned)(ts / MS_PER_DAY - w->opt.start_day),
                           2, 3);
    }
    audit_add(w, a, end - rng_between(&r, 20 * MS_PER_SECOND, 2 * MS_PER_MINUTE), "LOGOUT",
              session);
    char *where = host_phrase(a->host), *when = time_phrase(sc->at);
    add_label(w, sc, a->principal, start, end,
              xasprintf("%s reads CDRs %s from %s (%s), a host it never used, with %s", a->principal,
                        when, where, a->host, a->app));
    free(where);
    free(when);
}

/* watchlist-lookup: in a session of its own, the last 30 days of voice and of SMS of each of the
 * first `people` watchlisted subscribers, by MSISDN. */
static void scenario_watchlist_lookup(world_t *w, const scenario_t *sc, int64_t start,
                                      int64_t end)
{
    rng_t r = rng_stream(w->opt.seed, STREAM_SCENARIO, (uint64_t)sc->kind);
    const actor_t *a = &w->actor[sc->kind];
    char session[24];
    int64_t login = start + rng_between(&r, 20 * MS_PER_SECOND, 2 * MS_PER_MINUTE);
    make_session_id(session, login, &r);
    audit_add(w, a, login, "LOGIN", session);
    const size_t n = (size_t)sc->amount * 2;
    for (size_t i = 0; i < n; i++) {
        int64_t ts = spread(&r, start + 3 * MS_PER_MINUTE, end - 2 * MS_PER_MINUTE, i, n);
        uint32_t subscriber = w->watchlist[i / 2];
        int type = i % 2 ? CDR_SMS : CDR_VOICE;
        int64_t from = ts - 30 * MS_PER_DAY;
        audit_event_t *e = audit_add(w, a, ts, "SELECT", session);
        e->statement = select_subscriber(w, type, subscriber, from);
        set_subscriber(e, subscriber);
        set_read(e, CDR_TABLE[type], count_subscriber(&w->cdrs, subscriber, type, from, ts),
                 CDR_ROW_BYTES[type]);
    }
    audit_add(w, a, end - rng_between(&r, 10 * MS_PER_SECOND, 60 * MS_PER_SECOND), "LOGOUT",
              session);
    add_label(w, sc, a->principal, start, end,
              xasprintf("%s, not allowed to look up watchlisted subscribers (li_officer is), reads "
                        "the last 30 days of voice and SMS of %u of them by MSISDN; watchlist.txt "
                        "lists the first by IMSI and the second by IMEI only",
                        a->principal, sc->amount));
}

/*
 * account-created-then-reads: the DBA's session (within 10 minutes of `at`): CREATE ROLE,
 * GRANT USAGE on the schema, GRANT SELECT on each CDR table. `after` minutes later the new
 * role logs in from the same host and reads 5-8 windows of 2-6 hours of the last three days.
 * Two label rows: the DBA's window and the new role's session.
 */
static void scenario_account_created(world_t *w, const scenario_t *sc, int64_t start)
{
    rng_t r = rng_stream(w->opt.seed, STREAM_SCENARIO, (uint64_t)sc->kind);
    const actor_t *dba = &w->actor[sc->kind], *role = &w->new_role;
    char session[24];
    int64_t ts = start + rng_between(&r, 5 * MS_PER_SECOND, 40 * MS_PER_SECOND);
    make_session_id(session, ts, &r);
    audit_add(w, dba, ts, "LOGIN", session);
    ts += rng_between(&r, 30 * MS_PER_SECOND, 90 * MS_PER_SECOND);
    audit_add(w, dba, ts, "CREATE", session)->statement =
        xasprintf("CREATE ROLE %s LOGIN PASSWORD '********'", role->principal);
    ts += rng_between(&r, 20 * MS_PER_SECOND, 60 * MS_PER_SECOND);
    audit_add(w, dba, ts, "GRANT", session)->statement =
        xasprintf("GRANT USAGE ON SCHEMA mediation TO %s", role->principal);
    for (int k = 0; k < N_CDR_TYPES; k++) {
        ts += rng_between(&r, 10 * MS_PER_SECOND, 40 * MS_PER_SECOND);
        audit_event_t *e = audit_add(w, dba, ts, "GRANT", session);
        e->object = CDR_TABLE[k];
        e->statement = xasprintf("GRANT SELECT ON %s TO %s", CDR_TABLE[k], role->principal);
    }
    audit_add(w, dba, ts + rng_between(&r, 20 * MS_PER_SECOND, 90 * MS_PER_SECOND), "LOGOUT",
              session);
    const int64_t dba_end = start + 10 * MS_PER_MINUTE;
    add_label(w, sc, dba->principal, start, dba_end,
              xasprintf("%s creates the login role %s and grants it SELECT on the three CDR "
                        "tables, from its usual %s; %u minutes later %s reads CDRs",
                        dba->principal, role->principal, dba->host, sc->amount, role->principal));

    const int64_t from = dba_end + (int64_t)sc->amount * MS_PER_MINUTE;
    const int64_t to = from + (int64_t)sc->minutes * MS_PER_MINUTE;
    int64_t login = from + rng_between(&r, 0, 60 * MS_PER_SECOND);
    make_session_id(session, login, &r);
    audit_add(w, role, login, "LOGIN", session);
    size_t n = (size_t)rng_between(&r, 5, 8);
    for (size_t i = 0; i < n; i++) {
        ts = spread(&r, from + 2 * MS_PER_MINUTE, to - 2 * MS_PER_MINUTE, i, n);
        read_recent_window(w, &r, role, session, ts,
                           (unsigned)(ts / MS_PER_DAY - w->opt.start_day), 3, 6);
    }
    audit_add(w, role, to - rng_between(&r, 10 * MS_PER_SECOND, 60 * MS_PER_SECOND), "LOGOUT",
              session);
    add_label(w, sc, role->principal, from, to,
              xasprintf("%s, created by %s %u minutes before, logs in from %s with %s and reads "
                        "CDRs of the last three days",
                        role->principal, dba->principal, sc->amount, role->host, role->app));
}

/*
 * audit-tampering: the DBA account runs ALTER SYSTEM SET pgaudit.log = 'none' and reloads the
 * configuration; from then to the end of the window no statement of anyone is in the audit
 * trail (connections still are: they come from log_connections, not pgaudit). Two label rows:
 * the account, and * for the silence it causes.
 */
static void scenario_audit_tampering(world_t *w, const scenario_t *sc, int64_t start, int64_t end)
{
    rng_t r = rng_stream(w->opt.seed, STREAM_SCENARIO, (uint64_t)sc->kind);
    const actor_t *a = &w->actor[sc->kind];
    char session[24];
    int64_t ts = start + rng_between(&r, 5 * MS_PER_SECOND, 30 * MS_PER_SECOND);
    make_session_id(session, ts, &r);
    audit_add(w, a, ts, "LOGIN", session);
    ts += rng_between(&r, 30 * MS_PER_SECOND, 90 * MS_PER_SECOND);
    audit_add(w, a, ts, "ALTER", session)->statement =
        xasprintf("ALTER SYSTEM SET pgaudit.log = 'none'");
    ts += rng_between(&r, 5 * MS_PER_SECOND, 20 * MS_PER_SECOND);
    audit_event_t *e = audit_add(w, a, ts, "SELECT", session);
    e->statement = xasprintf("SELECT pg_reload_conf()");
    e->rows = 1;
    add_silence(w, ts + 1, end, 1);
    audit_add(w, a, end - rng_between(&r, 10 * MS_PER_SECOND, 60 * MS_PER_SECOND), "LOGOUT",
              session);
    char *where = host_phrase(a->host), *when = time_phrase(sc->at);
    add_label(w, sc, a->principal, start, end,
              xasprintf("%s switches auditing off (ALTER SYSTEM SET pgaudit.log = 'none', then "
                        "pg_reload_conf()) %s from %s: no statement of anyone is audited until %s "
                        "logs out %u minutes later",
                        a->principal, when, where, a->principal, sc->minutes));
    add_label(w, sc, "*", ts + 1, end,
              xasprintf("the silence %s causes: statements of every principal missing from the "
                        "audit trail, connections still logged",
                        a->principal));
    free(where);
    free(when);
}

/* source-silence: nothing at all in the audit trail for the window; CDRs go on. */
static void scenario_source_silence(world_t *w, const scenario_t *sc, int64_t start, int64_t end)
{
    add_silence(w, start, end, 0);
    add_label(w, sc, "*", start, end,
              xasprintf("the audit stream of mediation stops for %u minutes: no event of any "
                        "principal (svc_fraud's lookups and svc_monitor's probes included) while "
                        "CDRs keep flowing; principal * matches any alert",
                        sc->minutes));
}

/*
 * app-credential-abuse: the application's own account, host and program, in a session a day of
 * its own, looks subscribers up as the application does (a subscriber who just made a record,
 * one table), `extent` times an hour, but each lookup reads `amount` hours of history instead of
 * 24: 2-3 times the rows of a usual lookup, nothing else unusual.
 */
static void scenario_app_credential_abuse(world_t *w, const scenario_t *sc, int64_t start,
                                          int64_t end)
{
    rng_t r = rng_stream(w->opt.seed, STREAM_SCENARIO, (uint64_t)sc->kind);
    const actor_t *a = &w->actor[sc->kind];
    const int64_t gap = MS_PER_HOUR / sc->extent;
    const int64_t min_gap = gap * 2 / 3 > 0 ? gap * 2 / 3 : 1, max_gap = gap * 4 / 3;
    char session[24] = "";
    int64_t session_day = -1;
    for (int64_t ts = start + rng_between(&r, 0, max_gap); ts < end;
         ts += rng_between(&r, min_gap, max_gap)) {
        if (ts / MS_PER_DAY != session_day) {
            session_day = ts / MS_PER_DAY;
            make_session_id(session, ts - rng_between(&r, 1000, 60000), &r);
        }
        fraud_lookup(w, a, &r, ts, session, (int64_t)sc->amount * MS_PER_HOUR);
    }
    add_label(w, sc, a->principal, start, end,
              xasprintf("%s's own credentials, from its usual %s with %s, look up about %u "
                        "subscribers an hour reading %u hours of history each instead of 24 (2-3 "
                        "times its usual rows per lookup) for %u minutes",
                        a->principal, a->host, a->app, sc->extent, sc->amount, sc->minutes));
}

/*
 * batch-extra-run: the billing extract's account runs the extract once more, from its usual host
 * and program, at an hour it never runs: the same SELECTs and COPYs of its last window.
 */
static void scenario_batch_extra_run(world_t *w, const scenario_t *sc, int64_t start, int64_t end)
{
    rng_t r = rng_stream(w->opt.seed, STREAM_SCENARIO, (uint64_t)sc->kind);
    const actor_t *a = &w->actor[sc->kind];
    const int64_t period = MS_PER_DAY / w->opt.profile->billing_runs;
    const int64_t to = start - start % period, from = to - period;
    char tag[32];
    billing_tag(from, w->opt.profile->billing_runs > 1, tag);
    billing_run(w, a, &r, start + rng_between(&r, 30 * MS_PER_SECOND, 3 * MS_PER_MINUTE), from,
                to, tag, w->opt.profile->billing_copy_all);
    add_label(w, sc, a->principal, start, end,
              xasprintf("%s runs its extract of %s once more, from its usual %s with %s, at an "
                        "hour it never runs",
                        a->principal, tag, a->host, a->app));
}

/*
 * spread-theft: for `days` nights, the account logs in once between 01:00 and 05:00 and reads
 * about `amount` rows in 2-4 SELECT * of consecutive chunks of the CDR history (the walk of
 * low-and-slow), then logs out: a little every night, the whole history in the end.
 */
static void scenario_spread_theft(world_t *w, const scenario_t *sc)
{
    rng_t r = rng_stream(w->opt.seed, STREAM_SCENARIO, (uint64_t)sc->kind);
    const actor_t *a = &w->actor[sc->kind];
    history_walk_t walk = {CDR_VOICE, day_start_ms(&w->opt, 0)};
    int64_t first = -1, last = -1, total = 0;
    for (unsigned d = sc->day; d < sc->day + sc->days; d++) {
        int64_t ts = day_start_ms(&w->opt, d) + rng_between(&r, MS_PER_HOUR, 4 * MS_PER_HOUR);
        char session[24];
        make_session_id(session, ts, &r);
        audit_add(w, a, ts, "LOGIN", session);
        if (first < 0)
            first = ts;
        int64_t target = (int64_t)sc->amount * rng_between(&r, 900, 1100) / 1000;
        int n = (int)rng_between(&r, 2, 4);
        for (int i = 0; i < n; i++) {
            ts += rng_between(&r, MS_PER_MINUTE, 8 * MS_PER_MINUTE);
            read_next_chunk(w, a, session, ts, &walk, target / n);
            total += w->audit.ev[w->audit.n - 1].rows;
        }
        last = ts + rng_between(&r, 30 * MS_PER_SECOND, 3 * MS_PER_MINUTE);
        audit_add(w, a, last, "LOGOUT", session);
    }
    add_label(w, sc, a->principal, first, last,
              xasprintf("%s's credentials, from its usual %s with %s, read %" PRId64 " CDR rows "
                        "in %u nightly sessions (about %u a night), walking the CDR history",
                        a->principal, a->host, a->app, total, sc->days, sc->amount));
}

/*
 * blinding-rows and blinding-reads: the audit is narrowed by editing the server's configuration
 * and reloading it, so no statement shows it; what the audit trail shows of the account changes.
 * rows: its records in [start, end) lose their row and byte counts (pgaudit.log_rows off).
 * reads: its reads in [start, end) are not written (READ out of pgaudit.log), while its
 * connection pool's sessions, which come from log_connections, are: a LOGIN every 10 minutes
 * (+-2) and its LOGOUT 8-9 minutes later. Applied to what the benign actors already wrote.
 */
static int is_connection(const audit_event_t *e);

static void scenario_blinding(world_t *w, const scenario_t *sc, int64_t start, int64_t end)
{
    rng_t r = rng_stream(w->opt.seed, STREAM_SCENARIO, (uint64_t)sc->kind);
    const actor_t *a = &w->actor[sc->kind];
    audit_log_t *log = &w->audit;
    const int rows_only = sc->kind == SCENARIO_BLINDING_ROWS;
    size_t kept = 0;
    for (size_t i = 0; i < log->n; i++) {
        audit_event_t *e = &log->ev[i];
        /* benign actors share the scenario's actor only by name: compare the names */
        int blinded = strcmp(e->actor->principal, a->principal) == 0 && e->ts_ms >= start &&
                      e->ts_ms < end && !is_connection(e);
        if (blinded && rows_only) {
            e->rows = -1;
            e->bytes = -1;
        } else if (blinded) {
            free(e->statement);
            free(e->subscribers);
            continue;
        }
        log->ev[kept++] = *e;
    }
    log->n = kept;
    for (int64_t ts = start + rng_between(&r, 0, 2 * MS_PER_MINUTE); !rows_only && ts < end;
         ts += rng_between(&r, 8 * MS_PER_MINUTE, 12 * MS_PER_MINUTE)) {
        char session[24];
        make_session_id(session, ts, &r);
        audit_add(w, a, ts, "LOGIN", session);
        audit_add(w, a, ts + rng_between(&r, 8 * MS_PER_MINUTE, 9 * MS_PER_MINUTE), "LOGOUT", session);
    }
    add_label(w, sc, a->principal, start, end,
              rows_only ? xasprintf("the server's configuration is reloaded with pgaudit.log_rows "
                                    "off: %s's reads are audited without row counts for %u "
                                    "minutes, and no statement shows the change",
                                    a->principal, sc->minutes)
                        : xasprintf("the server's configuration is reloaded with READ out of "
                                    "pgaudit.log: %s's reads are not audited for %u minutes while "
                                    "its connection pool's sessions still are",
                                    a->principal, sc->minutes));
}

static void run_scenario(world_t *w, const scenario_t *sc)
{
    const int64_t day = day_start_ms(&w->opt, sc->day);
    const int64_t start = day + (int64_t)sc->at * MS_PER_MINUTE;
    const int64_t end = start + (int64_t)sc->minutes * MS_PER_MINUTE;
    switch (sc->kind) {
    case SCENARIO_BULK_THEFT:
        scenario_bulk_theft(w, sc, start, end);
        break;
    case SCENARIO_LOW_AND_SLOW:
        scenario_low_and_slow(w, sc);
        break;
    case SCENARIO_HISTORY_HARVEST:
        scenario_history_harvest(w, sc, start, end);
        break;
    case SCENARIO_EXPORT_BY_NON_EXPORTER:
        scenario_export(w, sc, start, end);
        break;
    case SCENARIO_OFF_HOURS_NEW_HOST:
        scenario_off_hours(w, sc, start, end);
        break;
    case SCENARIO_WATCHLIST_LOOKUP:
        scenario_watchlist_lookup(w, sc, start, end);
        break;
    case SCENARIO_ACCOUNT_CREATED_THEN_READS:
        scenario_account_created(w, sc, start);
        break;
    case SCENARIO_AUDIT_TAMPERING:
        scenario_audit_tampering(w, sc, start, end);
        break;
    case SCENARIO_SOURCE_SILENCE:
        scenario_source_silence(w, sc, start, end);
        break;
    case SCENARIO_APP_CREDENTIAL_ABUSE:
        scenario_app_credential_abuse(w, sc, start, end);
        break;
    case SCENARIO_BATCH_EXTRA_RUN:
        scenario_batch_extra_run(w, sc, start, end);
        break;
    case SCENARIO_SPREAD_THEFT:
        scenario_spread_theft(w, sc);
        break;
    case SCENARIO_BLINDING_ROWS:
    case SCENARIO_BLINDING_READS:
        scenario_blinding(w, sc, start, end);
        break;
    case N_SCENARIO_KINDS:
        break;
    }
}

static int is_connection(const audit_event_t *e)
{
    return strcmp(e->action, "LOGIN") == 0 || strcmp(e->action, "LOGOUT") == 0;
}

/* Removes what the silences hide from the audit log (before it is sorted). */
static void apply_silences(world_t *w)
{
    audit_log_t *log = &w->audit;
    size_t kept = 0;
    for (size_t i = 0; i < log->n; i++) {
        audit_event_t *e = &log->ev[i];
        int hidden = 0;
        for (size_t s = 0; s < w->n_silences && !hidden; s++)
            hidden = e->ts_ms >= w->silence[s].from && e->ts_ms < w->silence[s].to &&
                     !(w->silence[s].keep_connections && is_connection(e));
        if (hidden) {
            free(e->statement);
            free(e->subscribers);
        } else {
            log->ev[kept++] = *e;
        }
    }
    log->n = kept;
}

/* The actors the scenarios play, from their parameters. */
static void cast_scenarios(world_t *w)
{
    for (int k = 0; k < N_SCENARIO_KINDS; k++) {
        const scenario_t *sc = &w->opt.scenario[k];
        w->actor[k] = (actor_t){sc->principal, sc->host, sc->app};
    }
    const scenario_t *created = &w->opt.scenario[SCENARIO_ACCOUNT_CREATED_THEN_READS];
    w->new_role = (actor_t){created->choice, created->host, created->app};
}

static int generate_audit(world_t *w)
{
    actor_billing(w);
    actor_dwh(w);
    actor_fraud(w);
    actor_analysts(w);
    actor_weekly_report(w);
    actor_dba(w);
    actor_monitor(w);
    if (w->opt.watchlist) {
        if (choose_watchlist(w) != 0)
            return 2;
        actor_li_officer(w);
    }
    cast_scenarios(w);
    for (int k = 0; k < N_SCENARIO_KINDS; k++)
        if (w->opt.selected & KIND_BIT(k))
            run_scenario(w, &w->opt.scenario[k]);
    apply_silences(w);
    qsort(w->audit.ev, w->audit.n, sizeof(audit_event_t), compare_event);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Output.                                                                                    */

/* One CSV field, RFC 4180: quoted only if it holds a comma, quote, CR or LF. */
static void csv_field(FILE *f, const char *s, int last)
{
    if (strpbrk(s, ",\"\r\n")) {
        fputc('"', f);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', f);
            fputc(*s, f);
        }
        fputc('"', f);
    } else {
        fputs(s, f);
    }
    fputc(last ? '\n' : ',', f);
}

/* Called party for voice and SMS: another subscriber, a regular contact, or a one-off. */
static void called_party(const world_t *w, rng_t *r, uint32_t caller, int mobile_only,
                         number_t out)
{
    unsigned roll = (unsigned)rng_below(r, 100);
    if (roll < 55) {
        uint32_t other;
        do
            other = pick_subscriber(&w->op, r);
        while (other == caller);
        memcpy(out, w->op.id[other].msisdn, sizeof w->op.id[other].msisdn);
    } else if (roll < 87) {
        uint64_t contact = rng_below(r, 8);
        rng_t k = rng_stream(w->opt.seed, STREAM_CONTACT, (uint64_t)caller * 8 + contact);
        external_number(rng_next(&k), mobile_only, out);
    } else {
        external_number(rng_next(r), mobile_only, out);
    }
}

static const weighted_range_t VOICE_SECONDS[] = {
    {0, 0, 12},     {1, 10, 6},     {11, 30, 14},     {31, 60, 18},
    {61, 180, 26},  {181, 600, 17}, {601, 1800, 6},   {1801, 5400, 1}};
static const weighted_range_t DATA_SECONDS[] = {
    {1, 60, 20}, {61, 600, 35}, {601, 3600, 35}, {3601, 14400, 10}};
static const weighted_range_t DATA_BYTES_DOWN[] = {
    {2000, 20000, 15},          {20001, 200000, 25},          {200001, 2000000, 30},
    {2000001, 20000000, 20},    {20000001, 200000000, 8},     {200000001, 1000000000, 2}};
#define N_RANGES(a) (sizeof(a) / sizeof((a)[0]))

/* Appends the decimal digits of v at p; returns the end. */
static char *put_u64(char *p, uint64_t v)
{
    char digits[20];
    int n = 0;
    do
        digits[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (n)
        *p++ = digits[--n];
    return p;
}

static char *put_bytes(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

static char *put_str(char *p, const char *s)
{
    return put_bytes(p, s, strlen(s));
}

static char *put_digits(char *p, unsigned v, int width)
{
    for (int i = width - 1; i >= 0; i--, v /= 10)
        p[i] = (char)('0' + v % 10);
    return p + width;
}

/* format_iso() of a record time, without snprintf: the date is recomputed only when the day
 * changes (records come in time order). */
static char *put_iso(char *p, int64_t ms)
{
    static int64_t cached_day = -1;
    static char date[11];
    const int64_t day = ms / MS_PER_DAY;
    if (day != cached_day) {
        int y, m, d;
        civil_from_days(day, &y, &m, &d);
        put_digits(date, (unsigned)y, 4);
        date[4] = '-';
        put_digits(date + 5, (unsigned)m, 2);
        date[7] = '-';
        put_digits(date + 8, (unsigned)d, 2);
        date[10] = 'T';
        cached_day = day;
    }
    memcpy(p, date, 11);
    p += 11;
    unsigned in_day = (unsigned)(ms - day * MS_PER_DAY);
    p = put_digits(p, in_day / 3600000u, 2);
    *p++ = ':';
    p = put_digits(p, in_day / 60000u % 60u, 2);
    *p++ = ':';
    p = put_digits(p, in_day / 1000u % 60u, 2);
    *p++ = '.';
    p = put_digits(p, in_day % 1000u, 3);
    *p++ = 'Z';
    return p;
}

/*
 * One CDR row. Every field is digits, '+', '-', 'T', ':', '.', 'Z' or a record type name, so no
 * field ever needs CSV quoting and the row is assembled directly (this is the hot loop when
 * writing millions of records).
 */
static void write_cdr_row(FILE *f, const world_t *w, const cdr_t *c, size_t position)
{
    rng_t r = rng_from_key(c->detail_seed);
    char line[320], *p = line;
    number_t called = "";
    uint64_t duration = 0, bytes_up = 0, bytes_down = 0;
    if (c->type == CDR_VOICE) {
        called_party(w, &r, c->caller, 0, called);
        duration = rng_from_ranges(&r, VOICE_SECONDS, N_RANGES(VOICE_SECONDS));
    } else if (c->type == CDR_SMS) {
        called_party(w, &r, c->caller, 1, called);
    } else {
        bytes_down = rng_from_ranges(&r, DATA_BYTES_DOWN, N_RANGES(DATA_BYTES_DOWN));
        bytes_up = bytes_down * rng_below(&r, 23) / 100 + 300 + rng_below(&r, 4000);
        duration = rng_from_ranges(&r, DATA_SECONDS, N_RANGES(DATA_SECONDS));
    }
    p = put_iso(p, c->t_ms);
    *p++ = ',';
    p = put_str(p, CDR_TYPE_NAME[c->type]);
    *p++ = ',';
    const identity_t *id = &w->op.id[c->caller];
    p = put_bytes(p, id->msisdn, id->msisdn_len);
    *p++ = ',';
    p = put_str(p, called);
    *p++ = ',';
    p = put_u64(p, duration);
    *p++ = ',';
    *p++ = 'r';
    p = put_u64(p, (uint64_t)position + 1);
    *p++ = ',';
    p = put_bytes(p, id->imsi, id->imsi_len);
    *p++ = ',';
    p = put_bytes(p, id->imei, id->imei_len);
    *p++ = ',';
    p = put_str(p, w->op.cell_name[c->cell]);
    *p++ = ',';
    if (c->type == CDR_DATA) {
        p = put_u64(p, bytes_up);
        *p++ = ',';
        p = put_u64(p, bytes_down);
    } else {
        *p++ = ',';
    }
    *p++ = '\n';
    fwrite(line, 1, (size_t)(p - line), f);
}

/* A growing line buffer: an audit line is assembled here, then written with one fwrite. */
typedef struct {
    char *buf;
    size_t len, cap;
} line_t;

static char *line_room(line_t *l, size_t more)
{
    if (l->len + more > l->cap) {
        size_t cap = l->cap ? l->cap : 4096;
        while (cap < l->len + more)
            cap *= 2;
        char *grown = realloc(l->buf, cap);
        if (!grown)
            die_out_of_memory();
        l->buf = grown;
        l->cap = cap;
    }
    return l->buf + l->len;
}

static void line_raw(line_t *l, const char *s, size_t n)
{
    memcpy(line_room(l, n), s, n);
    l->len += n;
}

/* ,"key":"value", with the escapes RFC 8259 requires. */
static void line_key_string(line_t *l, const char *key, const char *value)
{
    size_t n = strlen(value);
    char *p = line_room(l, strlen(key) + 6 * n + 6), *start = p;
    *p++ = ',';
    *p++ = '"';
    p = put_str(p, key);
    *p++ = '"';
    *p++ = ':';
    *p++ = '"';
    for (const char *s = value; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = (char)c;
        } else if (c == '\n') {
            *p++ = '\\';
            *p++ = 'n';
        } else if (c == '\t') {
            *p++ = '\\';
            *p++ = 't';
        } else if (c < 0x20) {
            p += snprintf(p, 7, "\\u%04x", c);
        } else {
            *p++ = (char)c;
        }
    }
    *p++ = '"';
    l->len += (size_t)(p - start);
}

static void line_key_number(line_t *l, const char *key, int64_t value)
{
    char *p = line_room(l, strlen(key) + 24), *start = p;
    *p++ = ',';
    *p++ = '"';
    p = put_str(p, key);
    *p++ = '"';
    *p++ = ':';
    p = put_u64(p, (uint64_t)value);
    l->len += (size_t)(p - start);
}

/* One audit event as a JSON line (keys in a fixed order, absent ones left out). */
static void write_audit_line(FILE *f, const world_t *w, const audit_event_t *e)
{
    static line_t line;
    char ts[32];
    line.len = 0;
    format_iso(e->ts_ms, ts);
    line_raw(&line, "{\"ts\":\"", 7);
    line_raw(&line, ts, strlen(ts));
    line_raw(&line, "\"", 1);
    line_key_string(&line, "principal", e->actor->principal);
    line_key_string(&line, "action", e->action);
    line_key_string(&line, "client_host", e->actor->host);
    line_key_string(&line, "client_app", e->actor->app);
    line_key_string(&line, "db", "mediation");
    if (e->object)
        line_key_string(&line, "object", e->object);
    if (e->rows >= 0)
        line_key_number(&line, "rows", e->rows);
    if (e->bytes >= 0 && !e->failed)
        line_key_number(&line, "bytes", e->bytes);
    if (e->statement)
        line_key_string(&line, "statement", e->statement);
    if (e->n_subscribers) {
        line_raw(&line, ",\"subscribers\":[", 16);
        for (size_t i = 0; i < e->n_subscribers; i++) {
            const identity_t *id = &w->op.id[e->subscribers[i]];
            if (i)
                line_raw(&line, ",", 1);
            line_raw(&line, "\"", 1);
            line_raw(&line, id->msisdn, id->msisdn_len); /* digits and '+': nothing to escape */
            line_raw(&line, "\"", 1);
        }
        line_raw(&line, "]", 1);
    }
    line_key_string(&line, "status", e->failed ? "fail" : "ok");
    line_key_string(&line, "session_id", e->session_id);
    line_raw(&line, "}\n", 2);
    fwrite(line.buf, 1, line.len, f);
}

static void write_labels(FILE *f, const world_t *w)
{
    fputs("scenario,principal,start,end,description\n", f);
    for (size_t i = 0; i < w->n_labels; i++) {
        const label_t *l = &w->labels[i];
        char start[32], end[32];
        format_iso(l->start_ms, start);
        format_iso(l->end_ms, end);
        csv_field(f, l->scenario, 0);
        csv_field(f, l->principal, 0);
        csv_field(f, start, 0);
        csv_field(f, end, 0);
        csv_field(f, l->description, 1);
    }
}

/* watchlist.txt: one identifier a line; the first person by IMSI, the second by IMEI, the
 * others by MSISDN, so that recognising the first two needs the CDR stream's identity links. */
static void write_watchlist(FILE *f, const world_t *w)
{
    for (unsigned i = 0; i < w->opt.watchlist; i++) {
        uint32_t s = w->watchlist[i];
        const identity_t *id = &w->op.id[s];
        fprintf(f, "%s\n", i == 0 ? id->imsi : i == 1 ? id->imei : id->msisdn);
    }
}

enum output_file { OUT_CDR, OUT_AUDIT, OUT_LABELS, OUT_WATCHLIST };

static void write_content(FILE *f, const world_t *w, enum output_file which)
{
    switch (which) {
    case OUT_CDR:
        fputs("start_time,record_type,calling_msisdn,called_msisdn,duration_s,record_id,imsi,"
              "imei,cell_id,bytes_up,bytes_down\n",
              f);
        for (size_t i = 0; i < w->cdrs.n; i++)
            write_cdr_row(f, w, &w->cdrs.rec[i], i);
        break;
    case OUT_AUDIT:
        for (size_t i = 0; i < w->audit.n; i++)
            write_audit_line(f, w, &w->audit.ev[i]);
        break;
    case OUT_LABELS:
        write_labels(f, w);
        break;
    case OUT_WATCHLIST:
        write_watchlist(f, w);
        break;
    }
}

/* Writes DIR/name; on failure prints the path and the reason, returns -1. */
static int write_file(const world_t *w, const char *name, enum output_file which)
{
    char *path = xasprintf("%s/%s", w->opt.out_dir, name);
    FILE *f = fopen(path, "w");
    int rc = 0;
    if (!f) {
        fprintf(stderr, "%s: %s: %s\n", PROGRAM, path, strerror(errno));
        free(path);
        return -1;
    }
    static char buffer[1 << 16];
    setvbuf(f, buffer, _IOFBF, sizeof buffer);
    write_content(f, w, which);
    if (fflush(f) != 0 || ferror(f)) {
        fprintf(stderr, "%s: %s: write error: %s\n", PROGRAM, path, strerror(errno));
        rc = -1;
    }
    if (fclose(f) != 0 && rc == 0) {
        fprintf(stderr, "%s: %s: %s\n", PROGRAM, path, strerror(errno));
        rc = -1;
    }
    free(path);
    return rc;
}

/* mkdir -p: creates DIR and missing parents. */
static int make_directories(const char *dir)
{
    char *path = xasprintf("%s", dir);
    int rc = 0;
    for (char *p = path + 1; rc == 0; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        struct stat st;
        if (mkdir(path, 0777) != 0) {
            int mkdir_errno = errno;
            if (stat(path, &st) != 0) {
                fprintf(stderr, "%s: %s: %s\n", PROGRAM, path, strerror(mkdir_errno));
                rc = -1;
            } else if (!S_ISDIR(st.st_mode)) {
                fprintf(stderr, "%s: %s: exists and is not a directory\n", PROGRAM, path);
                rc = -1;
            }
        }
        *p = saved;
        if (saved == '\0')
            break;
    }
    free(path);
    return rc;
}

int main(int argc, char **argv)
{
    static world_t w;
    int rc = parse_options(argc, argv, &w.opt);
    if (rc == -1)
        return 0;
    if (rc)
        return rc;
    if (make_directories(w.opt.out_dir) != 0)
        return 1;

    build_operator(&w.op, &w.opt);
    generate_cdrs(&w.cdrs, &w.op, &w.opt);
    rc = generate_audit(&w);

    if (rc == 0 &&
        (write_file(&w, "cdr.csv", OUT_CDR) != 0 || write_file(&w, "audit.jsonl", OUT_AUDIT) != 0 ||
         write_file(&w, "labels.csv", OUT_LABELS) != 0 ||
         (w.opt.watchlist && write_file(&w, "watchlist.txt", OUT_WATCHLIST) != 0)))
        rc = 1;

    for (size_t i = 0; i < w.n_labels; i++)
        free(w.labels[i].description);
    free(w.watchlist);
    free(w.watch_flag);
    free_audit(&w.audit);
    free_cdrs(&w.cdrs);
    free_operator(&w.op);
    return rc;
}
