/*
 * replay.c — file inputs for `cdrwatch replay`, merged by event time.
 *
 * Each input keeps a read buffer (lines up to CW_RECORD_MAX), the raw bytes of the record being
 * decoded (for dead letters), its decoder and one decoded record, the head. cw_replay_next hands
 * out the head with the smallest (event time, input index) and refills that input on the next
 * call. Records that do not decode go to the dead-letter callback as they are read.
 *
 * A longer line (a 3 MB comment in a statement) is read through without being held: its first
 * CUT_HEAD bytes and its last CUT_TAIL bytes are kept and spliced around CW_CUT_MARKER, when the
 * cut falls inside one value (cw_cut_state_t follows the format's quoting), and the record it
 * belongs to is decoded as usual and flagged truncated. Memory stays bounded whatever the line's
 * length: the read buffer (BUF_SIZE) and the spliced line (CUT_SIZE), once per input.
 *
 * Native audit formats frame records themselves: a pgaudit message ends only when the next line
 * does not begin with a tab, so the message being gathered waits in `pend` while the line that
 * ends it starts the next one; a MySQL JSON object ends at its closing brace, which may be in the
 * middle of a line, so the rest of that line is kept (`cur`) for the next call.
 *
 * Each input is read and decoded on its own thread, up to SLOTS records ahead of the engine
 * (doc/design.md, "Decoding ahead"). The thread decodes straight into a slot of the input's ring
 * and copies the record's bytes into a byte ring beside it; the engine's thread takes the slots
 * in order. Dead letters and skipped lines travel in the ring too and are delivered when the
 * engine's thread reaches them, so every callback runs on the caller's thread, in the order and
 * at the moment it ran when decoding was inline: the alerts, dead letters and counts of a replay
 * do not depend on the threads. A ring is single-producer single-consumer: two counters, and a
 * mutex and condition variable only to sleep when it is empty or full.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include <apr_strings.h>
#include "cdrwatch/replay.h"
#include "cdrwatch/decode_xml.h"

#define READ_CHUNK (256u << 10)
#define BUF_SIZE (CW_RECORD_MAX + READ_CHUNK)
#define CUT_HEAD (256u << 10)
#define CUT_TAIL (256u << 10)
#define CUT_RAW 256 /* the first bytes of a line that cannot be cut, for its dead letter */
#define CUT_SIZE (CUT_HEAD + CW_CUT_MARKER_LEN + CUT_TAIL + CUT_RAW)
_Static_assert(CUT_HEAD + CW_CUT_MARKER_LEN + CUT_TAIL <= CW_RECORD_MAX / 4 * 3,
               "a spliced line leaves room in a record for the lines around it");

typedef enum { FMT_JSON, FMT_CSV, FMT_PGAUDIT, FMT_MARIADB, FMT_MYSQL_JSON, FMT_XML } format_t;

#define SLOTS 256                 /* records decoded ahead, per input */
#define RAW_SIZE (4u * CW_RECORD_MAX) /* their bytes: two records of the largest size always fit */

typedef enum { SLOT_EVENT, SLOT_DEAD, SLOT_END, SLOT_ERROR } slot_kind_t;

/* What the decoding thread hands over: a record, a dead letter, the end, or a read error. */
typedef struct {
    slot_kind_t kind;
    cw_status_t st;          /* SLOT_ERROR */
    cw_decode_result_t res;  /* SLOT_DEAD */
    int64_t line;            /* SLOT_DEAD: where it began */
    uint64_t skipped;        /* lines passed over (blank, partial) before this slot */
    uint64_t raw_at, raw_len, raw_end; /* its bytes: offsets in the byte ring, counted from the start */
    cw_event_t ev;           /* SLOT_EVENT */
} slot_t;

struct cw_replay;

typedef struct {
    const char *path; /* as given; "-" shown as "(stdin)" */
    gzFile gz;
    cw_stream_t stream;
    int index;
    format_t fmt;
    char *buf; /* read buffer: [pos, len) not consumed yet */
    size_t pos, len;
    bool eof;
    int64_t line;       /* lines consumed so far */
    char *cut;          /* the last line over CW_RECORD_MAX, spliced (allocated at the first) */
    bool line_cut;      /* the line next_line returned is spliced, at offset cut_at */
    size_t cut_at;
    bool rec_cut;       /* CSV: the record being assembled holds a spliced line */
    char *rec;          /* raw bytes of the record being assembled */
    size_t rec_len;
    int64_t rec_line;   /* its first line */
    cw_csv_t *csv;
    bool has_head;      /* the decoding thread completed a record into ev */
    const char *head_raw; /* and its bytes */
    size_t head_raw_len;
    /* native formats */
    cw_native_t *native;
    char *pend;         /* a pgaudit message or a JSON object being gathered */
    size_t pend_len;
    int64_t pend_line;  /* its first line */
    int64_t pend_lines; /* pgaudit: its physical lines */
    bool pending;
    bool pend_oversize;
    bool pend_uncut;    /* pgaudit: one of its lines was over CW_RECORD_MAX and could not be cut */
    bool pend_cut;      /* the gathered record holds a spliced line */
    int depth;          /* JSON: nesting depth of the object being gathered (0: between objects) */
    bool in_string, escaped;
    cw_xml_frame_t xml; /* XML: where the framer stands */
    const char *cur;    /* JSON, XML: the line being scanned, valid until next_line is called again */
    size_t cur_len, cur_off;
    /* decoding ahead: the decoding thread's side */
    struct cw_replay *r;
    cw_event_t *ev;         /* the slot being decoded into */
    slot_t *slots;          /* SLOTS of them */
    char *raw;              /* RAW_SIZE bytes */
    uint64_t raw_head;      /* bytes written into the byte ring so far */
    uint64_t passed;        /* lines passed over since the last slot */
    char err[256];          /* SLOT_ERROR's message */
    uint64_t p_pub;         /* slots published (the shared count lags by up to WAKE_BATCH) */
    uint64_t p_rel, p_raw_rel; /* the engine's releases, as last read */
    /* shared: each side writes its own cache line (the padding), and reads the other's only
     * when what it last read does not let it go on */
    char pad0[64];
    _Atomic uint64_t pub;              /* slots published, written by the decoding thread */
    char pad1[64];
    _Atomic uint64_t rel, raw_rel;     /* slots and bytes released, by the engine's thread */
    char pad2[64];
    _Atomic int sleeping;              /* SLEEP_ENGINE, SLEEP_SLOTS, SLEEP_BYTES */
    _Atomic bool stop;
    _Atomic bool finished;             /* the decoding thread is past its last read */
    _Atomic uint64_t bytes;            /* compressed bytes read (cw_replay_bytes) */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool started, sync_made;
    char pad3[64];
    /* the engine's thread's side */
    uint64_t taken;         /* slots taken so far */
    uint64_t c_pub;         /* the decoding thread's publications, as last read */
    uint64_t c_rel, c_raw_rel; /* slots and bytes released (the shared counts lag by up to WAKE_BATCH) */
    slot_t *head;           /* the record handed out, NULL at the end */
    bool done;
} source_t;

struct cw_replay {
    source_t *src;
    int n;
    int last; /* input whose head was handed out last, -1 if none */
    cw_dlq_fn dlq;
    void *dlq_ctx;
    uint64_t skipped;
    uint64_t dead[CW_DEC_REASON_COUNT]; /* records this reader dead-lettered, by reason */
    bool taken;  /* the first heads were taken */
};

/* ---- the ring between an input's decoding thread and the engine's thread ---- */

/* Each side counts what it hands over in its own variables and makes it visible in batches
 * (WAKE_BATCH), and before it sleeps, so that the two threads do not pull one cache line back
 * and forth for every record. To sleep, a side announces itself in `sleeping` and looks again
 * under the mutex; the other side makes its counter visible, then (after a full fence) looks
 * for sleepers: one of the two sees the other, so a wake-up is never lost. The decoding thread
 * sleeps until half the ring is free (woken every half ring released: at most once for
 * nothing), the engine's thread until a record comes. */
enum { SLEEP_ENGINE = 1, SLEEP_SLOTS = 2, SLEEP_BYTES = 4, WAKE_BATCH = SLOTS / 4 };

static void wake(source_t *s, int who)
{
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&s->sleeping, memory_order_relaxed) & who) {
        pthread_mutex_lock(&s->mu);
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
    }
}

/* Decoding thread: what it published, visible to the engine's thread. */
static void flush_pub(source_t *s)
{
    atomic_store_explicit(&s->pub, s->p_pub, memory_order_release);
    wake(s, SLEEP_ENGINE);
}

/* Engine's thread: what it released, visible to the decoding thread; wakes it if it sleeps
 * (always for bytes; for slots when `slots`). */
static void flush_rel(source_t *s, bool slots)
{
    atomic_store_explicit(&s->raw_rel, s->c_raw_rel, memory_order_release);
    atomic_store_explicit(&s->rel, s->c_rel, memory_order_release);
    wake(s, SLEEP_BYTES | (slots ? SLEEP_SLOTS : 0));
}

static bool wait_until(source_t *s, bool (*ready)(source_t *, uint64_t), uint64_t need, uint64_t need_asleep,
                       int who)
{
    if (ready(s, need))
        return true;
    if (who == SLEEP_ENGINE)
        flush_rel(s, true); /* what it released so far, before it sleeps */
    else
        flush_pub(s);
    pthread_mutex_lock(&s->mu);
    atomic_fetch_or(&s->sleeping, who);
    while (!ready(s, need_asleep) && !atomic_load(&s->stop))
        pthread_cond_wait(&s->cv, &s->mu);
    atomic_fetch_and(&s->sleeping, ~who);
    pthread_mutex_unlock(&s->mu);
    return !atomic_load(&s->stop);
}

/* Decoding thread: at least need free slots (the engine's releases read again if short). */
static bool has_slots(source_t *s, uint64_t need)
{
    if (SLOTS - (s->p_pub - s->p_rel) >= need)
        return true;
    s->p_rel = atomic_load_explicit(&s->rel, memory_order_acquire);
    return SLOTS - (s->p_pub - s->p_rel) >= need;
}

static bool has_bytes(source_t *s, uint64_t need)
{
    if (RAW_SIZE - (s->raw_head - s->p_raw_rel) >= need)
        return true;
    s->p_raw_rel = atomic_load_explicit(&s->raw_rel, memory_order_acquire);
    return RAW_SIZE - (s->raw_head - s->p_raw_rel) >= need;
}

/* Engine's thread: at least need records published and not taken. */
static bool has_published(source_t *s, uint64_t need)
{
    if (s->c_pub - s->taken >= need)
        return true;
    s->c_pub = atomic_load_explicit(&s->pub, memory_order_acquire);
    return s->c_pub - s->taken >= need;
}

/* Decoding thread: the next slot to decode into (false when told to stop). */
static bool reserve(source_t *s)
{
    if (!wait_until(s, has_slots, 1, SLOTS / 2, SLEEP_SLOTS))
        return false;
    s->ev = &s->slots[s->p_pub % SLOTS].ev;
    return true;
}

/* Decoding thread: hand the reserved slot over with its bytes, then reserve the next one
 * (false when told to stop). Bytes are written contiguously: at the ring's end, what does not
 * fit is skipped and counted with this slot. */
static bool publish(source_t *s, slot_kind_t kind, const char *raw, size_t len)
{
    slot_t *sl = &s->slots[s->p_pub % SLOTS];
    size_t at = (size_t)(s->raw_head % RAW_SIZE), waste = at + len > RAW_SIZE ? RAW_SIZE - at : 0;
    if (!wait_until(s, has_bytes, waste + len, waste + len, SLEEP_BYTES))
        return false;
    s->raw_head += waste;
    sl->kind = kind;
    sl->raw_at = s->raw_head;
    sl->raw_len = len;
    if (len)
        memcpy(s->raw + s->raw_head % RAW_SIZE, raw, len);
    s->raw_head += len;
    sl->raw_end = s->raw_head;
    sl->skipped = s->passed;
    s->passed = 0;
    s->p_pub++;
    if (s->p_pub % WAKE_BATCH == 0 || kind == SLOT_END || kind == SLOT_ERROR)
        flush_pub(s);
    return kind == SLOT_END || kind == SLOT_ERROR || reserve(s);
}

/* Engine's thread: give a slot taken back (in the order taken). */
static void release(source_t *s, const slot_t *sl)
{
    s->c_raw_rel = sl->raw_end;
    s->c_rel++;
    if (s->c_rel % WAKE_BATCH == 0) /* the decoding thread sleeps until half the ring is free */
        flush_rel(s, s->c_rel % (SLOTS / 2) == 0);
}

static apr_status_t source_cleanup(void *data)
{
    source_t *s = data;
    if (s->gz)
        gzclose(s->gz);
    free(s->buf);
    free(s->rec);
    free(s->pend);
    free(s->cut);
    return APR_SUCCESS;
}

/* Fill the buffer. CW_OK, or CW_ERR_IO with a message. */
static cw_status_t fill(source_t *s, char *err, size_t errlen)
{
    int n;
    if (s->eof)
        return CW_OK;
    if (s->pos > 0) {
        memmove(s->buf, s->buf + s->pos, s->len - s->pos);
        s->len -= s->pos;
        s->pos = 0;
    }
    if (s->len == BUF_SIZE)
        return CW_OK;
    if (s->started)
        flush_pub(s); /* a pipe may keep us waiting: what is published is the engine's */
    n = gzread(s->gz, s->buf + s->len, (unsigned)(BUF_SIZE - s->len < READ_CHUNK ? BUF_SIZE - s->len : READ_CHUNK));
    if (n < 0) {
        int code;
        const char *msg = gzerror(s->gz, &code);
        snprintf(err, errlen, "%s: read error: %s", s->path,
                 code == Z_ERRNO ? strerror(errno) : msg);
        return CW_ERR_IO;
    }
    if (n == 0) {
        int code;
        const char *msg = gzerror(s->gz, &code);
        if (code != Z_OK && code != Z_STREAM_END) {
            snprintf(err, errlen, "%s: read error: %s", s->path, msg);
            return CW_ERR_IO;
        }
        s->eof = true;
    }
    s->len += (size_t)n;
    {
        z_off_t off = gzoffset(s->gz);
        atomic_store(&s->bytes, off > 0 ? (uint64_t)off : 0);
    }
    return CW_OK;
}

/* How a line of this input is quoted where it begins (pgaudit: a continuation line goes on with
 * the message gathered so far; MySQL JSON and CSV: a line may go on inside a string or a field). */
static void cut_start(const source_t *s, cw_cut_state_t *st)
{
    if (s->fmt == FMT_JSON || s->fmt == FMT_MYSQL_JSON) {
        cw_cut_init(st, CW_CUT_JSON, s->fmt == FMT_MYSQL_JSON && s->depth > 0 && s->in_string);
    } else if (s->fmt == FMT_MARIADB) {
        cw_cut_init(st, CW_CUT_SQL, false);
    } else if (s->fmt == FMT_CSV) {
        cw_cut_init(st, CW_CUT_CSV, cw_csv_in_record(s->csv));
    } else {
        cw_cut_init(st, CW_CUT_CSV, false);
        if (s->fmt == FMT_PGAUDIT && s->pending && s->buf[s->pos] == '\t')
            cw_cut_scan(st, s->pend, s->pend_len);
    }
}

/* Read on to the end of the line (one byte past its newline, or the end of input) into *end,
 * keeping in the buffer no more than CUT_TAIL bytes before the last read: st follows the bytes
 * dropped and stands at s->pos. 0, or -1 on a read error. */
static int long_line_end(source_t *s, cw_cut_state_t *st, size_t *end, char *err, size_t errlen)
{
    for (;;) {
        char *nl = memchr(s->buf + s->pos, '\n', s->len - s->pos);
        if (nl || s->eof) {
            *end = nl ? (size_t)(nl - s->buf) + 1 : s->len;
            return 0;
        }
        if (s->len - s->pos > CUT_TAIL) {
            size_t drop = s->len - s->pos - CUT_TAIL;
            cw_cut_scan(st, s->buf + s->pos, drop);
            s->pos += drop;
        }
        if (fill(s, err, errlen) != CW_OK)
            return -1;
    }
}

/* A line over CW_RECORD_MAX, whose first CW_RECORD_MAX + 1 bytes at least are in the buffer:
 * spliced into s->cut as its head, the marker and its tail (returns 1, line_cut set), or when
 * the cut would cross a boundary, skipped (returns 2, line and len give its first bytes). */
static int long_line(source_t *s, const char **line, size_t *len, char *err, size_t errlen)
{
    cw_cut_state_t st;
    size_t head = 0, end, tail = 0;
    uint64_t bounds = 0;
    bool ok;
    if (!s->cut && !(s->cut = malloc(CUT_SIZE))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    cut_start(s, &st);
    memcpy(s->cut + CUT_SIZE - CUT_RAW, s->buf + s->pos, CUT_RAW);
    ok = cw_cut_head(&st, s->buf + s->pos, CUT_HEAD, &head, &bounds);
    memcpy(s->cut, s->buf + s->pos, head);
    s->pos += CUT_HEAD;
    if (long_line_end(s, &st, &end, err, errlen) < 0)
        return -1;
    if (end - s->pos > CUT_TAIL) {
        cw_cut_scan(&st, s->buf + s->pos, end - s->pos - CUT_TAIL);
        s->pos = end - CUT_TAIL;
    }
    ok = ok && cw_cut_tail(&st, s->buf + s->pos, end - s->pos, bounds, &tail);
    s->pos += tail;
    s->line++;
    if (!ok) {
        s->pos = end;
        *line = s->cut + CUT_SIZE - CUT_RAW;
        *len = CUT_RAW;
        return 2;
    }
    memcpy(s->cut + head, CW_CUT_MARKER, CW_CUT_MARKER_LEN);
    memcpy(s->cut + head + CW_CUT_MARKER_LEN, s->buf + s->pos, end - s->pos);
    *line = s->cut;
    *len = head + CW_CUT_MARKER_LEN + end - s->pos;
    s->pos = end;
    s->line_cut = true;
    s->cut_at = head;
    return 1;
}

/* The next physical line, with its newline if it has one. Returns 1 and sets line and len, 0 at
 * end of input, -1 on a read error, 2 for a line longer than CW_RECORD_MAX that cannot be cut
 * (skipped; line and len give its first bytes). A longer line that can be cut is returned
 * spliced (long_line) with line_cut set. */
static int next_line(source_t *s, const char **line, size_t *len, char *err, size_t errlen)
{
    s->line_cut = false;
    for (;;) {
        char *start = s->buf + s->pos;
        size_t avail = s->len - s->pos;
        char *nl = memchr(start, '\n', avail);
        if (nl || (s->eof && avail > 0)) {
            size_t n = nl ? (size_t)(nl - start) + 1 : avail;
            if (n > CW_RECORD_MAX)
                return long_line(s, line, len, err, errlen);
            *line = start;
            *len = n;
            s->pos += n;
            s->line++;
            return 1;
        }
        if (s->eof || atomic_load(&s->stop))
            return 0; /* the end, or the replay is being closed: read no further */
        if (avail > CW_RECORD_MAX)
            return long_line(s, line, len, err, errlen);
        if (fill(s, err, errlen) != CW_OK)
            return -1;
    }
}

static size_t trim_newline(const char *p, size_t n)
{
    while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r'))
        n--;
    return n;
}

static bool blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
            return false;
    }
    return true;
}

static void deliver_dead(cw_replay_t *r, source_t *s, int64_t line, cw_decode_result_t res, const char *raw,
                         size_t rawlen)
{
    cw_dead_letter_t dl;
    dl.stream = s->stream;
    dl.pos.name = s->path;
    dl.pos.partition = -1;
    dl.pos.offset = line;
    dl.result = res;
    dl.raw = raw;
    dl.rawlen = trim_newline(raw, rawlen);
    r->dead[res.reason]++;
    if (r->dlq)
        r->dlq(r->dlq_ctx, &dl);
}

/* A record that does not decode: delivered at once while the input is opened (on the caller's
 * thread), through the ring once its thread runs. */
static void dead(cw_replay_t *r, source_t *s, int64_t line, cw_decode_result_t res, const char *raw,
                 size_t rawlen)
{
    slot_t *sl;
    if (!s->started) {
        deliver_dead(r, s, line, res, raw, rawlen);
        return;
    }
    sl = &s->slots[s->p_pub % SLOTS];
    if (s->has_head) {
        /* pgaudit: the line that ended the record just completed is a dead letter, delivered
         * before that record as when decoding was inline; the record moves one slot on */
        if (!wait_until(s, has_slots, 2, 2, SLEEP_SLOTS))
            return;
        memcpy(&s->slots[(s->p_pub + 1) % SLOTS].ev, s->ev, sizeof *s->ev);
    }
    sl->res = res;
    sl->line = line;
    publish(s, SLOT_DEAD, raw, rawlen); /* when told to stop, what follows is not read */
}

static void set_head(source_t *s, int64_t line)
{
    s->ev->pos.name = s->path;
    s->ev->pos.partition = -1;
    s->ev->pos.offset = line;
    s->ev->source_index = s->index;
    s->has_head = true;
    s->head_raw = s->rec;
    s->head_raw_len = s->rec_len;
}

static bool rec_append(source_t *s, const char *p, size_t n)
{
    if (s->rec_len + n > CW_RECORD_MAX)
        return false;
    memcpy(s->rec + s->rec_len, p, n);
    s->rec_len += n;
    return true;
}

static const cw_decode_result_t BAD_CSV = {CW_DEC_BAD_CSV, CW_F_NONE};
static const cw_decode_result_t OVERSIZE = {CW_DEC_OVERSIZE, CW_F_NONE};
static const cw_decode_result_t UNCUT = {CW_DEC_UNCUT, CW_F_NONE};

/* A decoded CSV record: the head (true), or a dead letter (false). */
static bool csv_result(cw_replay_t *r, source_t *s, cw_decode_result_t res)
{
    if (res.reason != CW_DEC_OK) {
        dead(r, s, s->rec_line, res, s->rec, s->rec_len);
        return false;
    }
    set_head(s, s->rec_line);
    if (s->rec_cut)
        s->ev->damage |= CW_DAMAGE_TRUNCATED;
    return true;
}

/* After cw_csv_push or cw_csv_finish returned `state`: decode a completed record into the head
 * (true), or dead-letter it or the bad bytes (false). */
static bool csv_record(cw_replay_t *r, source_t *s, int state)
{
    if (state < 0) {
        dead(r, s, s->rec_line, BAD_CSV, s->rec, s->rec_len);
        return false;
    }
    if (state == 0)
        return false;
    return csv_result(r, s, cw_csv_decode(s->csv, s->ev));
}

/* A CSV line (appended to rec): decoded directly when it is a whole record without quotes
 * (cw_csv_decode_line), pushed to libcsv otherwise. True when it completed the head. */
static bool csv_line(cw_replay_t *r, source_t *s, const char *line, size_t len)
{
    cw_decode_result_t res;
    if (cw_csv_decode_line(s->csv, line, len, s->ev, &res))
        return csv_result(r, s, res);
    return csv_record(r, s, cw_csv_push(s->csv, line, len));
}

/* ---- native audit formats ---- */

/* Decode the gathered record (pend), as the head or a dead letter; true when it is the head. */
static bool native_record(cw_replay_t *r, source_t *s)
{
    cw_decode_result_t res;
    bool is_record;
    if (!s->pending)
        return false;
    s->pending = false;
    { /* the record's bytes become rec (kept: the engine may still refuse it as late) */
        char *swap = s->rec;
        s->rec = s->pend;
        s->pend = swap;
        s->rec_len = s->pend_len;
        s->pend_len = 0;
    }
    res = cw_native_decode(s->native, s->rec, s->rec_len, s->ev, &is_record);
    if (!is_record) {
        s->passed += (uint64_t)s->pend_lines;
        return false;
    }
    if (s->pend_oversize)
        res = s->pend_uncut ? UNCUT : OVERSIZE;
    if (res.reason == CW_DEC_OK) {
        set_head(s, s->pend_line);
        if (s->pend_cut)
            s->ev->damage |= CW_DAMAGE_TRUNCATED;
        return true;
    }
    dead(r, s, s->pend_line, res, s->rec, s->rec_len);
    return false;
}

static void pend_start(source_t *s, const char *p, size_t n)
{
    s->pending = true;
    s->pend_oversize = false;
    s->pend_uncut = false;
    s->pend_cut = false;
    s->pend_len = 0;
    s->pend_line = s->line;
    s->pend_lines = 0;
    if (n > CW_RECORD_MAX) {
        s->pend_oversize = true;
        n = CW_RECORD_MAX;
    }
    memcpy(s->pend, p, n);
    s->pend_len = n;
}

static void pend_append(source_t *s, const char *p, size_t n)
{
    if (s->pend_len + n > CW_RECORD_MAX) {
        s->pend_oversize = true;
        n = CW_RECORD_MAX - s->pend_len;
    }
    memcpy(s->pend + s->pend_len, p, n);
    s->pend_len += n;
}

/* pgaudit: a message is a line and the lines after it that begin with a tab. */
static cw_status_t advance_pgaudit(cw_replay_t *r, source_t *s, char *err, size_t errlen)
{
    const char *line;
    size_t len;
    int got;
    while ((got = next_line(s, &line, &len, err, errlen)) != 0) {
        bool head;
        if (got < 0)
            return CW_ERR_IO;
        if (cw_pgaudit_continues(line, len) && got == 1) {
            if (s->pending) {
                pend_append(s, line, len);
                s->pend_cut |= s->line_cut;
                s->pend_lines++;
            } else {
                s->passed++; /* the rest of a message cut off at the start of the file */
            }
            continue;
        }
        if (got == 2 && cw_pgaudit_continues(line, len)) {
            if (s->pending) /* a continuation line over CW_RECORD_MAX that cannot be cut */
                s->pend_oversize = s->pend_uncut = true;
            else /* one at the start of the file: a dead letter, not a line gone unseen */
                dead(r, s, s->line, UNCUT, line, len);
            continue;
        }
        head = native_record(r, s);
        if (got == 2) {
            dead(r, s, s->line, UNCUT, line, len);
        } else if (blank(line, len)) {
            s->passed++;
        } else {
            pend_start(s, line, len);
            s->pend_cut = s->line_cut;
            s->pend_lines = 1;
        }
        if (head)
            return CW_OK;
    }
    native_record(r, s);
    return CW_OK;
}

/* MySQL JSON: objects at depth 0 of an optional top-level array, separated by commas or
 * newlines. Returns true when an object was completed (pend holds it). The bytes of an object
 * are appended a run at a time: the state machine only looks at them. */
static bool json_scan(cw_replay_t *r, source_t *s)
{
    static const cw_decode_result_t not_json = {CW_DEC_BAD_JSON, CW_F_NONE};
    while (s->cur_off < s->cur_len) {
        const char *p = s->cur;
        size_t i = s->cur_off, start;
        bool done = false;
        if (s->depth == 0) {
            char c = p[i];
            if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',' || c == '[' || c == ']') {
                s->cur_off++;
                continue;
            }
            if (c != '{') {
                /* not JSON between objects: the rest of the line is a dead letter */
                dead(r, s, s->line, not_json, p + i, s->cur_len - i);
                s->cur_off = s->cur_len;
                return false;
            }
            pend_start(s, p + i, 0);
            s->depth = 1;
            s->in_string = s->escaped = false;
            i++;
        }
        start = s->cur_off;
        for (; i < s->cur_len; i++) {
            char c = p[i];
            if (s->in_string) {
                if (s->escaped)
                    s->escaped = false;
                else if (c == '\\')
                    s->escaped = true;
                else if (c == '"')
                    s->in_string = false;
            } else if (c == '"') {
                s->in_string = true;
            } else if (c == '{' || c == '[') {
                s->depth++;
            } else if ((c == '}' || c == ']') && --s->depth == 0) {
                i++;
                done = true;
                break;
            }
        }
        pend_append(s, p + start, i - start);
        s->pend_cut |= s->line_cut && s->cut_at >= start && s->cut_at < i;
        s->cur_off = i;
        if (done)
            return true;
    }
    return false;
}

static cw_status_t advance_mysql_json(cw_replay_t *r, source_t *s, char *err, size_t errlen)
{
    const char *line;
    size_t len;
    int got;
    for (;;) {
        while (s->cur_off < s->cur_len) {
            if (json_scan(r, s)) {
                s->pend_lines = 1;
                if (native_record(r, s))
                    return CW_OK;
            }
        }
        got = next_line(s, &line, &len, err, errlen);
        if (got < 0)
            return CW_ERR_IO;
        if (got == 0)
            break;
        if (got == 2) {
            /* a line over CW_RECORD_MAX that cannot be cut: what it belonged to is lost, start afresh */
            dead(r, s, s->line, UNCUT, line, len);
            s->pending = false;
            s->depth = 0;
            continue;
        }
        if (s->depth == 0 && blank(line, len))
            s->passed++;
        s->cur = line;
        s->cur_len = len;
        s->cur_off = 0;
    }
    if (s->depth > 0) {
        /* the file ends inside an object */
        static const cw_decode_result_t truncated = {CW_DEC_BAD_JSON, CW_F_NONE};
        dead(r, s, s->pend_line, truncated, s->pend, s->pend_len);
        s->depth = 0;
        s->pending = false;
    }
    return CW_OK;
}

/* XML audit files: records framed by cw_xml_frame whatever the lines, one at a time. */
static cw_status_t advance_xml(cw_replay_t *r, source_t *s, char *err, size_t errlen)
{
    static const cw_decode_result_t unclosed = {CW_DEC_BAD_XML, CW_F_NONE};
    const char *line;
    size_t len;
    int got;
    for (;;) {
        while (s->cur_off < s->cur_len) {
            cw_xml_event_t e;
            size_t k = cw_xml_frame(&s->xml, s->cur + s->cur_off, s->cur_len - s->cur_off, &e);
            if (s->pending) {
                pend_append(s, s->cur + s->cur_off, k);
                s->pend_cut |= s->line_cut && s->cut_at >= s->cur_off && s->cut_at < s->cur_off + k;
            }
            s->cur_off += k;
            if (e == CW_XML_BEGIN) {
                pend_start(s, s->cur + s->cur_off, 0);
                s->pend_lines = 1;
            } else if (e == CW_XML_END && native_record(r, s)) {
                return CW_OK;
            }
        }
        got = next_line(s, &line, &len, err, errlen);
        if (got < 0)
            return CW_ERR_IO;
        if (got == 0)
            break;
        if (got == 2) { /* a line over CW_RECORD_MAX that cannot be cut: its record is lost */
            dead(r, s, s->line, UNCUT, line, len);
            s->pending = false;
            cw_xml_frame_init(&s->xml);
            continue;
        }
        if (!s->xml.in_record && blank(line, len))
            s->passed++;
        s->cur = line;
        s->cur_len = len;
        s->cur_off = 0;
    }
    if (s->pending) { /* the file ends inside a record */
        dead(r, s, s->pend_line, unclosed, s->pend, s->pend_len);
        s->pending = false;
        cw_xml_frame_init(&s->xml);
    }
    return CW_OK;
}

/* server_audit: one record per line. */
static cw_status_t advance_mariadb(cw_replay_t *r, source_t *s, char *err, size_t errlen)
{
    const char *line;
    size_t len;
    int got;
    while ((got = next_line(s, &line, &len, err, errlen)) != 0) {
        if (got < 0)
            return CW_ERR_IO;
        if (got == 2) {
            dead(r, s, s->line, UNCUT, line, len);
            continue;
        }
        if (blank(line, len)) {
            s->passed++;
            continue;
        }
        pend_start(s, line, len);
        s->pend_cut = s->line_cut;
        s->pend_lines = 1;
        if (native_record(r, s))
            return CW_OK;
    }
    return CW_OK;
}

/* Decode records until one is valid (head set) or the input ends. */
static cw_status_t advance(cw_replay_t *r, source_t *s, char *err, size_t errlen)
{
    const char *line;
    size_t len;
    int got;

    s->has_head = false;
    if (s->fmt == FMT_PGAUDIT)
        return advance_pgaudit(r, s, err, errlen);
    if (s->fmt == FMT_MARIADB)
        return advance_mariadb(r, s, err, errlen);
    if (s->fmt == FMT_MYSQL_JSON)
        return advance_mysql_json(r, s, err, errlen);
    if (s->fmt == FMT_XML)
        return advance_xml(r, s, err, errlen);
    while ((got = next_line(s, &line, &len, err, errlen)) != 0) {
        if (got < 0)
            return CW_ERR_IO;
        if (got == 2) {
            if (s->fmt == FMT_CSV && cw_csv_in_record(s->csv))
                cw_csv_reset(s->csv);
            dead(r, s, s->line, UNCUT, line, len);
            continue;
        }
        if (s->fmt == FMT_JSON) {
            cw_decode_result_t res;
            if (blank(line, len)) {
                s->passed++;
                continue;
            }
            res = cw_decode_json(s->stream, line, trim_newline(line, len), s->ev);
            if (res.reason == CW_DEC_OK) {
                /* keep the bytes: the engine may still refuse the record as late */
                set_head(s, s->line);
                s->head_raw = line; /* the read buffer holds it until the next line is read */
                s->head_raw_len = len;
                if (s->line_cut)
                    s->ev->damage |= CW_DAMAGE_TRUNCATED;
                return CW_OK;
            }
            dead(r, s, s->line, res, line, len);
            continue;
        }
        /* CSV: a record may span lines (quoted newlines) */
        if (!cw_csv_in_record(s->csv)) {
            if (blank(line, len)) {
                s->passed++;
                continue;
            }
            s->rec_len = 0;
            s->rec_line = s->line;
            s->rec_cut = false;
        }
        s->rec_cut |= s->line_cut;
        if (!rec_append(s, line, len)) {
            cw_csv_reset(s->csv);
            dead(r, s, s->rec_line, OVERSIZE, s->rec, s->rec_len);
            continue;
        }
        if (csv_line(r, s, line, len))
            return CW_OK;
    }
    if (s->fmt == FMT_CSV)
        csv_record(r, s, cw_csv_finish(s->csv));
    return CW_OK;
}

/* At least 4 KiB ahead in the buffer, or the end of input: enough to tell JSON from CSV. */
static cw_status_t fill_ahead(source_t *s, char *err, size_t errlen)
{
    cw_status_t st;
    while (s->len - s->pos < 4096 && !s->eof) {
        if ((st = fill(s, err, errlen)) != CW_OK)
            return st;
    }
    return CW_OK;
}

/* The first non-blank byte ahead is '{', or the input holds only blanks: JSON Lines. Blanks
 * that fill the buffer decide nothing (the caller reads on, line by line). */
static bool looks_json(const source_t *s)
{
    size_t i = s->pos;
    while (i < s->len && (s->buf[i] == ' ' || s->buf[i] == '\t' || s->buf[i] == '\r' || s->buf[i] == '\n'))
        i++;
    return !cw_csv_dialect(s->csv) && (i == s->len ? s->eof : s->buf[i] == '{');
}

/* A header lacking required columns: a usage error naming them (and the header's width, when
 * the columns after the first CW_CSV_COLS_MAX were not read). */
static cw_status_t header_error(const source_t *s, const char *missing, char *err, size_t errlen)
{
    char wide[96] = "";
    int width = cw_csv_header_width(s->csv);
    if (width > CW_CSV_COLS_MAX)
        snprintf(wide, sizeof wide, " among its first %d columns (of %d; the others are not read)",
                 CW_CSV_COLS_MAX, width);
    if (cw_csv_dialect(s->csv))
        snprintf(err, errlen, "%s:%lld: the CSV header lacks the required %s column(s) %s%s", s->path,
                 (long long)s->rec_line, cw_csv_dialect(s->csv)->name, missing, wide);
    else
        snprintf(err, errlen, "%s:%lld: the CSV header lacks the required %s column(s) %s%s (is this a %s file?)",
                 s->path, (long long)s->rec_line, cw_stream_name(s->stream), missing, wide,
                 s->stream == CW_STREAM_AUDIT ? "CDR" : "audit");
    return CW_ERR_USAGE;
}

/* Decide between JSON Lines and CSV, and read the CSV header. A line or record over CW_RECORD_MAX
 * before the header is a dead letter (oversize, or oversize_line if it cannot be cut), never a
 * skipped line, and the decision is made again on what follows it. */
static cw_status_t sniff(cw_replay_t *r, source_t *s, char *err, size_t errlen)
{
    cw_status_t st;
    const char *line;
    size_t len;
    int got;
    char missing[256];

    if ((st = fill_ahead(s, err, errlen)) != CW_OK)
        return st;
    s->pos = cw_utf8_bom(s->buf, s->len);
    for (;;) {
        if ((st = fill_ahead(s, err, errlen)) != CW_OK)
            return st;
        if (!cw_csv_in_record(s->csv) && looks_json(s)) {
            s->fmt = FMT_JSON;
            return CW_OK;
        }
        /* CSV: the first non-blank record must be a header line */
        s->fmt = FMT_CSV;
        got = next_line(s, &line, &len, err, errlen);
        if (got < 0)
            return CW_ERR_IO;
        if (got == 0)
            return CW_OK;
        if (got == 2 || s->line_cut) {
            cw_csv_reset(s->csv);
            dead(r, s, s->line, got == 2 ? UNCUT : OVERSIZE, line, len < CUT_RAW ? len : CUT_RAW);
            continue;
        }
        if (!cw_csv_in_record(s->csv) && blank(line, len)) {
            s->passed++;
            continue;
        }
        if (!cw_csv_in_record(s->csv)) {
            s->rec_len = 0;
            s->rec_line = s->line;
        }
        if (!rec_append(s, line, len)) {
            cw_csv_reset(s->csv);
            dead(r, s, s->rec_line, OVERSIZE, s->rec, s->rec_len < CUT_RAW ? s->rec_len : CUT_RAW);
            continue;
        }
        int pushed = cw_csv_push(s->csv, line, len);
        if (pushed < 0)
            break;
        if (pushed == 1 || (s->eof && s->pos == s->len && cw_csv_finish(s->csv) == 1)) {
            if (cw_csv_take_header(s->csv, missing, sizeof missing) == 0 && !cw_csv_header_like(s->csv))
                break;
            if (missing[0])
                return header_error(s, missing, err, errlen);
            return CW_OK;
        }
    }
    /* Neither JSON nor a CSV header: read as JSON Lines so every line is dead-lettered. */
    {
        static const cw_decode_result_t not_json = {CW_DEC_BAD_JSON, CW_F_NONE};
        cw_csv_reset(s->csv);
        dead(r, s, s->rec_line, not_json, s->rec, s->rec_len);
        s->fmt = FMT_JSON;
    }
    return CW_OK;
}

/* A native format: only a UTF-8 byte order mark to skip. */
static cw_status_t open_native(apr_pool_t *pool, source_t *s, const cw_replay_input_t *in,
                               const cw_pg_prefix_t *pg_prefix, char *err, size_t errlen)
{
    cw_audit_format_t format = in->format;
    cw_status_t st;
    if ((st = cw_native_create(pool, format, pg_prefix, &s->native)) != CW_OK || !(s->pend = malloc(CW_RECORD_MAX))) {
        snprintf(err, errlen, "out of memory");
        return CW_ERR_NOMEM;
    }
    cw_native_set_tz(s->native, in->tz);
    s->fmt = format == CW_AUDIT_PGAUDIT          ? FMT_PGAUDIT
             : format == CW_AUDIT_MARIADB        ? FMT_MARIADB
             : cw_audit_format_xml(format)       ? FMT_XML
                                                 : FMT_MYSQL_JSON;
    while (s->len < 3 && !s->eof) {
        if ((st = fill(s, err, errlen)) != CW_OK)
            return st;
    }
    s->pos = cw_utf8_bom(s->buf, s->len);
    return CW_OK;
}

/* Engine's thread: the slots of input s up to its next record (its head) or its end; dead
 * letters and skipped lines on the way are delivered here. */
static cw_status_t take(cw_replay_t *r, source_t *s, char *err, size_t errlen)
{
    s->head = NULL;
    while (!s->done) {
        slot_t *sl;
        if (!wait_until(s, has_published, 1, 1, SLEEP_ENGINE))
            return CW_ERR_EOF; /* not reached: only closing the replay stops a ring */
        sl = &s->slots[s->taken++ % SLOTS];
        r->skipped += sl->skipped;
        switch (sl->kind) {
        case SLOT_EVENT:
            s->head = sl;
            return CW_OK;
        case SLOT_DEAD:
            deliver_dead(r, s, sl->line, sl->res, s->raw + sl->raw_at % RAW_SIZE, (size_t)sl->raw_len);
            break;
        case SLOT_END:
            s->done = true;
            break;
        case SLOT_ERROR:
            s->done = true;
            snprintf(err, errlen, "%s", s->err);
            release(s, sl);
            return sl->st;
        }
        release(s, sl);
    }
    return CW_OK;
}

/* An input's decoding thread: records into the ring until the end, an error or a stop. */
static void *decode_input(void *arg)
{
    source_t *s = arg;
    cw_status_t st = CW_OK;
    while (!atomic_load(&s->stop) && (st = advance(s->r, s, s->err, sizeof s->err)) == CW_OK && s->has_head) {
        if (!publish(s, SLOT_EVENT, s->head_raw, s->head_raw_len))
            break;
    }
    if (!atomic_load(&s->stop)) {
        s->slots[s->p_pub % SLOTS].st = st;
        publish(s, st == CW_OK ? SLOT_END : SLOT_ERROR, NULL, 0);
    }
    cw_decode_thread_end();
    atomic_store(&s->finished, true);
    return NULL;
}

/* A replay that stops early (a write failure, another input's read error) must not wait for an
 * input that has nothing to say: a pipe or FIFO whose writer keeps it open blocks its decoding
 * thread in read() for as long as the writer likes. The stop interrupts that read with
 * INTERRUPT_SIGNAL, whose handler does nothing but is installed without SA_RESTART: read()
 * returns EINTR, gzread an error, and the thread, seeing the stop, ends without publishing it.
 * The signal is sent until the thread says it is past its reads (a signal that comes just
 * before the read would be lost), and only to decoding threads, only after a stop. SIGURG:
 * ignored by default, so a stray one elsewhere ends nothing. */
#define INTERRUPT_SIGNAL SIGURG
#define INTERRUPT_EVERY_NS 2000000L /* 2 ms between signals while the thread still reads */

static void interrupt_read(int sig) { (void)sig; }

static void install_handler(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = interrupt_read;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: the blocked read returns EINTR */
    sigaction(INTERRUPT_SIGNAL, &sa, NULL);
}

static void install_interrupt(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, install_handler);
}

/* Stop every decoding thread and wait for it (the pool's cleanup, before the inputs' buffers
 * go: registered after them, it runs before them). */
static apr_status_t stop_threads(void *data)
{
    cw_replay_t *r = data;
    for (int i = 0; i < r->n; i++) {
        source_t *s = &r->src[i];
        if (s->started) {
            struct timespec pause = {0, INTERRUPT_EVERY_NS};
            atomic_store(&s->stop, true);
            pthread_mutex_lock(&s->mu);
            pthread_cond_broadcast(&s->cv);
            pthread_mutex_unlock(&s->mu);
            while (!atomic_load(&s->finished) && pthread_kill(s->thread, INTERRUPT_SIGNAL) == 0)
                nanosleep(&pause, NULL);
            pthread_join(s->thread, NULL);
            s->started = false;
        }
        if (s->sync_made) {
            pthread_cond_destroy(&s->cv);
            pthread_mutex_destroy(&s->mu);
            s->sync_made = false;
        }
    }
    return APR_SUCCESS;
}

static cw_status_t start_threads(apr_pool_t *pool, cw_replay_t *r, char *err, size_t errlen)
{
    install_interrupt();
    apr_pool_cleanup_register(pool, r, stop_threads, apr_pool_cleanup_null);
    for (int i = 0; i < r->n; i++) {
        source_t *s = &r->src[i];
        int rc;
        s->r = r;
        s->slots = apr_palloc(pool, SLOTS * sizeof(slot_t));
        s->raw = apr_palloc(pool, RAW_SIZE);
        if (!s->slots || !s->raw) {
            snprintf(err, errlen, "out of memory");
            return CW_ERR_NOMEM;
        }
        if (pthread_mutex_init(&s->mu, NULL) != 0 || pthread_cond_init(&s->cv, NULL) != 0) {
            snprintf(err, errlen, "cannot start the decoding of %s", s->path);
            return CW_ERR_NOMEM;
        }
        s->sync_made = true;
        s->ev = &s->slots[0].ev;
        s->started = true;
        if ((rc = pthread_create(&s->thread, NULL, decode_input, s)) != 0) {
            s->started = false;
            snprintf(err, errlen, "cannot start the decoding of %s: %s", s->path, strerror(rc));
            return CW_ERR_NOMEM;
        }
    }
    return CW_OK;
}

cw_status_t cw_replay_open(apr_pool_t *pool, const cw_replay_input_t *inputs, int n,
                           const cw_pg_prefix_t *pg_prefix, cw_dlq_fn dlq, void *dlq_ctx,
                           cw_replay_t **out, char *err, size_t errlen)
{
    cw_replay_t *r = apr_pcalloc(pool, sizeof *r);
    cw_status_t st;
    int stdin_used = 0;

    r->src = apr_pcalloc(pool, (size_t)(n ? n : 1) * sizeof(source_t));
    r->n = n;
    r->last = -1;
    r->dlq = dlq;
    r->dlq_ctx = dlq_ctx;
    for (int i = 0; i < n; i++) {
        source_t *s = &r->src[i];
        bool is_stdin = strcmp(inputs[i].path, "-") == 0;
        bool audit = inputs[i].stream == CW_STREAM_AUDIT;
        const cw_csv_dialect_t *dialect = audit ? cw_audit_csv_dialect(inputs[i].format) : NULL;
        bool native = audit && inputs[i].format != CW_AUDIT_CANONICAL && !dialect;
        s->path = is_stdin ? "(stdin)" : apr_pstrdup(pool, inputs[i].path);
        s->stream = inputs[i].stream;
        s->index = i;
        if (is_stdin && stdin_used++) {
            snprintf(err, errlen, "standard input ('-') can be given only once");
            return CW_ERR_USAGE;
        }
        s->buf = malloc(BUF_SIZE);
        s->rec = malloc(CW_RECORD_MAX);
        apr_pool_cleanup_register(pool, s, source_cleanup, apr_pool_cleanup_null);
        if (!s->buf || !s->rec) {
            snprintf(err, errlen, "out of memory");
            return CW_ERR_NOMEM;
        }
        if (is_stdin) {
            int fd = dup(STDIN_FILENO);
            s->gz = fd >= 0 ? gzdopen(fd, "rb") : NULL;
        } else {
            s->gz = gzopen(inputs[i].path, "rb");
        }
        if (!s->gz) {
            snprintf(err, errlen, "%s: cannot open: %s", s->path, errno ? strerror(errno) : "out of memory");
            return CW_ERR_USAGE;
        }
        gzbuffer(s->gz, 128u << 10);
        if ((st = cw_csv_create(pool, s->stream, &s->csv)) != CW_OK ||
            (dialect && (st = cw_csv_set_dialect(s->csv, dialect)) != CW_OK)) {
            snprintf(err, errlen, "out of memory");
            return st;
        }
        if ((st = native ? open_native(pool, s, &inputs[i], pg_prefix, err, errlen)
                         : sniff(r, s, err, errlen)) != CW_OK)
            return st;
    }
    if ((st = start_threads(pool, r, err, errlen)) != CW_OK)
        return st;
    *out = r;
    return CW_OK;
}

cw_status_t cw_replay_next(cw_replay_t *r, const cw_event_t **ev, char *err, size_t errlen)
{
    int best = -1;
    if (r->last >= 0) {
        source_t *s = &r->src[r->last];
        cw_status_t st;
        release(s, s->head);
        st = take(r, s, err, errlen);
        r->last = -1;
        if (st != CW_OK)
            return st;
    } else if (!r->taken) {
        r->taken = true;
        for (int i = 0; i < r->n; i++) {
            cw_status_t st = take(r, &r->src[i], err, errlen);
            if (st != CW_OK)
                return st;
        }
    }
    for (int i = 0; i < r->n; i++) {
        if (r->src[i].head && (best < 0 || r->src[i].head->ev.ts < r->src[best].head->ev.ts))
            best = i;
    }
    if (best < 0)
        return CW_ERR_EOF;
    r->last = best;
    *ev = &r->src[best].head->ev;
    return CW_OK;
}

uint64_t cw_replay_bytes(const cw_replay_t *r)
{
    uint64_t n = 0;
    for (int i = 0; i < r->n; i++)
        n += atomic_load(&r->src[i].bytes);
    return n;
}

uint64_t cw_replay_skipped(const cw_replay_t *r) { return r->skipped; }

void cw_replay_add_counts(const cw_replay_t *r, cw_metrics_t *m)
{
    for (int i = 0; i < CW_DEC_REASON_COUNT; i++)
        m->dead[i] += r->dead[i];
    m->skipped += r->skipped;
}

void cw_replay_raw(const cw_replay_t *r, const char **raw, size_t *len)
{
    const source_t *s;
    if (r->last < 0) {
        *raw = "";
        *len = 0;
        return;
    }
    s = &r->src[r->last];
    *raw = s->raw + s->head->raw_at % RAW_SIZE;
    *len = trim_newline(*raw, (size_t)s->head->raw_len);
}

int cw_replay_columns(const cw_replay_t *r, int i, const cw_field_t **fields)
{
    *fields = NULL;
    if (i < 0 || i >= r->n || r->src[i].fmt != FMT_CSV)
        return 0;
    return cw_csv_columns(r->src[i].csv, fields);
}
