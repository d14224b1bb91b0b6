/*
 * test_json_scan.c — the in-place JSON record decoders (cw_decode_json and the mysql-json
 * cw_native_decode, over json_scan.c) against the cJSON ones they replaced
 * (cw_decode_json_reference, cw_native_decode_mysql_reference): the same result, reason field,
 * record and damage (and for mysql-json whether it is a record) for
 *   - every line (with and without its line end), every object at depth 0 (a pretty-printed
 *     MySQL audit file) and every whole file under datasets/, tests/e2e/, tests/fixtures/,
 *     tests/fuzz/corpus/ and config/ (gzip files read unpacked), in both streams;
 *   - hand-written texts at each corner of cJSON's grammar and of the decoder (duplicates, null,
 *     nesting, numbers, escapes, BOM, trailing bytes, damaged text);
 *   - 200 000 mutations of the corpus's records with a fixed seed.
 * Then what the scanner reports by itself (cw_json_scan, cw_json_unescape).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include <apr_general.h>
#include "cdrwatch/decode.h"
#include "cdrwatch/decode_native.h"
#include "cdrwatch/json_scan.h"
#include "tap.h"

static cw_event_t fast, slow;
static long compared, decoded_ok, differing;

/* ---- comparing two decodings ---- */

#define SAME_TEXT(a, b) (strcmp((a), (b)) == 0)
#define SAME_MSISDN(a, b) (strcmp((a), (b)) == 0)
#define SAME_TIME(a, b) ((a) == (b))
#define SAME_COUNT(a, b) ((a) == (b))
#define SAME_ENUM(a, b) ((a) == (b))
#define SAME_LIST(a, b) same_subscribers()
#define SAME_FIELD_(id, name, stream, required, type, member, limit) \
    if (!SAME_##type(fast.u.member, slow.u.member))                  \
        return #name;

static bool same_subscribers(void)
{
    if (fast.u.audit.n_subscribers != slow.u.audit.n_subscribers)
        return false;
    for (int k = 0; k < fast.u.audit.n_subscribers; k++) {
        if (strcmp(fast.u.audit.subscribers[k], slow.u.audit.subscribers[k]) != 0)
            return false;
    }
    return true;
}

static const char *differing_cdr(void)
{
    CW_CDR_FIELDS(SAME_FIELD_)
    return NULL;
}

static const char *differing_audit(void)
{
    CW_AUDIT_FIELDS(SAME_FIELD_)
    return NULL;
}

/* What differs between the two decodings of the last text, or NULL. */
static const char *difference(cw_decode_result_t a, cw_decode_result_t b)
{
    if (a.reason != b.reason)
        return "result";
    if (a.field != b.field)
        return "result field";
    if (fast.stream != slow.stream)
        return "stream";
    if (fast.damage != slow.damage)
        return "damage";
    if (fast.present != slow.present)
        return "present fields";
    if (fast.ts != slow.ts)
        return "ts";
    return fast.stream == CW_STREAM_CDR ? differing_cdr() : differing_audit();
}

/* Decode text both ways in stream s; false (and a diagnostic) if they differ. */
static bool same_decoding(cw_stream_t s, const char *text, size_t len, const char *where)
{
    cw_decode_result_t a = cw_decode_json(s, text, len, &fast);
    cw_decode_result_t b = cw_decode_json_reference(s, text, len, &slow);
    const char *what = difference(a, b);
    compared++;
    if (a.reason == CW_DEC_OK && !what)
        decoded_ok++;
    if (!what)
        return true;
    if (differing++ < 30)
        printf("# %s (%s stream): %s differs (in place %s/%d, cJSON %s/%d): %.*s\n", where, cw_stream_name(s), what,
               cw_reason_name(a.reason), a.field, cw_reason_name(b.reason), b.field, len > 300 ? 300 : (int)len, text);
    return false;
}

static cw_native_t *mysql;
static long mysql_records;

/* Decode text both ways as a MySQL JSON audit object; false (and a diagnostic) if they differ. */
static bool same_mysql(const char *text, size_t len, const char *where)
{
    bool rec_a, rec_b;
    cw_decode_result_t a = cw_native_decode(mysql, text, len, &fast, &rec_a);
    cw_decode_result_t b = cw_native_decode_mysql_reference(text, len, &slow, &rec_b);
    const char *what = rec_a != rec_b ? "is_record" : difference(a, b);
    compared++;
    if (a.reason == CW_DEC_OK && rec_a && !what)
        mysql_records++;
    if (!what)
        return true;
    if (differing++ < 30)
        printf("# %s (mysql-json): %s differs (in place %s/%d, cJSON %s/%d): %.*s\n", where, what,
               cw_reason_name(a.reason), a.field, cw_reason_name(b.reason), b.field, len > 300 ? 300 : (int)len, text);
    return false;
}

/* The canonical decoder in both streams, and the mysql-json one. */
static bool same_both_streams(const char *text, size_t len, const char *where)
{
    bool audit = same_decoding(CW_STREAM_AUDIT, text, len, where);
    bool mysql_same = same_mysql(text, len, where);
    return same_decoding(CW_STREAM_CDR, text, len, where) && audit && mysql_same;
}

/* Every object at depth 0 of buf (strings skipped), as the mysql-json reader frames them. */
static bool same_objects(const char *buf, size_t len, const char *where)
{
    size_t depth = 0, start = 0;
    bool in_string = false, same = true;
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = depth > 0;
        } else if (c == '{' && depth++ == 0) {
            start = i;
        } else if (c == '}' && depth > 0 && --depth == 0) {
            same &= same_both_streams(buf + start, i + 1 - start, where);
        }
    }
    return same;
}

/* ---- the corpus ---- */

static char *read_all(const char *path, size_t *len)
{
    gzFile f = gzopen(path, "rb");
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    int got;
    if (!f || !buf) {
        if (f)
            gzclose(f);
        free(buf);
        return NULL;
    }
    while ((got = gzread(f, buf + n, (unsigned)(cap - n))) > 0) {
        n += (size_t)got;
        if (n == cap && !(buf = realloc(buf, cap *= 2)))
            break;
    }
    gzclose(f);
    *len = n;
    return buf;
}

static long files_read, lines_read;

/* Every line of a file (without and with its line end), the whole file, and the whole file after
 * its first byte (a fuzz seed's stream byte). */
static bool check_file(const char *path)
{
    size_t len, start = 0;
    char *buf = read_all(path, &len);
    bool same = true;
    if (!buf)
        return true;
    files_read++;
    while (start < len) {
        char *nl = memchr(buf + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - buf) : len;
        same &= same_both_streams(buf + start, end - start, path);
        if (nl)
            same &= same_both_streams(buf + start, end - start + 1, path);
        lines_read++;
        start = end + 1;
    }
    same &= same_objects(buf, len, path);
    same &= same_both_streams(buf, len, path);
    if (len > 1)
        same &= same_both_streams(buf + 1, len - 1, path);
    free(buf);
    return same;
}

static bool check_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    bool same = true;
    if (!d)
        return true;
    while ((e = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            same &= check_tree(path);
        else if (S_ISREG(st.st_mode) && st.st_size < (64 << 20))
            same &= check_file(path);
    }
    closedir(d);
    return same;
}

static void test_corpus(const char *top)
{
    static const char *const dirs[] = {"datasets", "tests/e2e", "tests/fixtures", "tests/fuzz/corpus", "config"};
    bool same = true;
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", top, dirs[i]);
        same &= check_tree(path);
    }
    printf("# corpus: %ld files, %ld lines, %ld decodings compared, %ld canonical and %ld mysql-json records decoded\n",
           files_read, lines_read, compared, decoded_ok, mysql_records);
    ok(files_read > 100 && decoded_ok > 10000 && mysql_records > 50,
       "the corpus was found (over 100 files, 10 000 canonical and 50 mysql-json records that decode)");
    ok(same, "every line and file of the corpus decodes in place as through cJSON");
}

/* ---- corners ---- */

#define REC "\"ts\":1772589965023,\"principal\":\"a\",\"action\":\"select\""

static const char *const corners[] = {
    /* members: duplicates, null, unknown nested values, the subscribers array */
    "{" REC ",\"principal\":\"b\"}",
    "{" REC ",\"principal\":\"\"}",
    "{" REC ",\"principal\":null}",
    "{" REC ",\"rows\":null,\"rows\":5,\"rows\":null}",
    "{" REC ",\"x\":{\"y\":[1,{\"z\":[[[]]]},\"s\\\"\"],\"w\":{}},\"db\":\"d\"}",
    "{" REC ",\"subscribers\":[\"+447700900123\",447700900124,\"00447700900125\"]}",
    "{" REC ",\"subscribers\":[]}",
    "{" REC ",\"subscribers\":[null]}",
    "{" REC ",\"subscribers\":[1e15]}",
    "{" REC ",\"subscribers\":[-1]}",
    "{" REC ",\"subscribers\":[1.5]}",
    "{" REC ",\"subscribers\":[[\"447700900123\"]]}",
    "{" REC ",\"subscribers\":[\"4477\\u0030900123\", \"x\"]}",
    "{" REC ",\"subscribers\":\"447700900123;447700900124\"}",
    "{" REC ",\"subscribers\":{\"a\":1}}",
    "{" REC ",\"rows\":true}",
    "{" REC ",\"rows\":false}",
    "{" REC ",\"rows\":[1]}",
    "{" REC ",\"rows\":{}}",
    "{" REC ",\"status\":\"FAIL\",\"status\":\"ok\"}",
    "{\"ts\":1,\"principal\":\"a\"}",
    "{}",
    "{ }",
    "[]",
    "\"text\"",
    "12",
    "null",
    "true",
    "",
    " ",
    "{",
    "}",
    "{\"a\"}",
    "{\"a\":}",
    "{\"a\":1,}",
    "{,}",
    "{\"a\":1 \"b\":2}",
    "{'a':1}",
    "{a:1}",
    "{\"a\":[1,]}",
    "{\"a\":[,1]}",
    "{\"a\":nul}",
    "{\"a\":nullx}",
    "{\"a\":truex}",
    "{\"a\":tru}",
    "{\"a\":fals}",
    /* numbers: cJSON gives strtod a run of [0-9+-.eE] */
    "{" REC ",\"rows\":-0}",
    "{" REC ",\"rows\":0}",
    "{" REC ",\"rows\":007}",
    "{" REC ",\"rows\":+1}",
    "{" REC ",\"rows\":.5}",
    "{" REC ",\"rows\":-.5}",
    "{" REC ",\"rows\":5.}",
    "{" REC ",\"rows\":1e400}",
    "{" REC ",\"rows\":-1e400}",
    "{" REC ",\"rows\":1e-400}",
    "{" REC ",\"rows\":9007199254740992}",
    "{" REC ",\"rows\":9007199254740993}",
    "{" REC ",\"rows\":1E3}",
    "{" REC ",\"rows\":1e+3}",
    "{" REC ",\"rows\":1e}",
    "{" REC ",\"rows\":1e+}",
    "{" REC ",\"rows\":1.2.3}",
    "{" REC ",\"rows\":1-2}",
    "{" REC ",\"rows\":--1}",
    "{" REC ",\"rows\":-}",
    "{" REC ",\"rows\":0x10}",
    "{" REC ",\"rows\":-Infinity}",
    "{" REC ",\"rows\":NaN}",
    "{" REC ",\"rows\":1 }",
    "{" REC ",\"rows\":100000000000000000000000000000000000000000000000000000000000000000000000000000}",
    "{" REC ",\"rows\":0000000000000000000000000000000000000000000000000000000000000005}",
    "{" REC ",\"rows\":000000000000000000000000000000000000000000000000000000000000005}",
    "{" REC ",\"rows\":1.000000000000000000000000000000000000000000000000000000000000000}",
    "{\"ts\":1772589965023.0,\"principal\":\"a\",\"action\":\"select\"}",
    "{\"ts\":1.772589965023e12,\"principal\":\"a\",\"action\":\"select\"}",
    "{\"ts\":-1,\"principal\":\"a\",\"action\":\"select\"}",
    /* strings and escapes */
    "{\"ts\":1,\"princip\\u0061l\":\"a\",\"action\":\"select\"}",
    "{\"ts\":1,\"PRINCIPAL\":\"a\",\"action\":\"select\"}",
    "{\"ts\":1,\"principal\\u0000x\":\"a\",\"action\":\"select\"}",
    "{\"ts\":1,\"principal\\uZZZZx\":\"a\",\"action\":\"select\"}",
    "{\"ts\":1,\"principal\":\"a\\uZZZZb\",\"action\":\"select\"}",
    "{\"ts\":1,\"principal\":\"a\\u00zzb\",\"action\":\"select\"}",
    "{\"ts\":1,\"principal\":\"a\\u\\\"ab\",\"action\":\"select\"}",
    "{\"ts\":1,\"principal\":\"\\ud83d\\ude00\",\"action\":\"select\"}",
    "{\"ts\":1,\"principal\":\"\\uD83D\\uDE00\",\"action\":\"select\"}",
    "{\"ts\":1,\"principal\":\"\\ud83d\",\"action\":\"select\"}",
    "{\"ts\":1,\"principal\":\"\\ude00\",\"action\":\"select\"}",
    "{\"ts\":1,\"principal\":\"\\ud83d\\u0041\",\"action\":\"select\"}",
    "{\"ts\":1,\"principal\":\"\\ud83d\\uZZZZ\",\"action\":\"select\"}",
    "{\"ts\":1,\"principal\":\"\\ud83dx\",\"action\":\"select\"}",
    "{\"ts\":1,\"principal\":\"a\\u0000b\",\"action\":\"select\"}",
    "{\"ts\":1,\"principal\":\"a\",\"statement\":\"x\\u0000y\",\"action\":\"select\"}",
    "{\"ts\":1,\"principal\":\"a\",\"statement\":\"x\\ud800y\",\"action\":\"select\"}",
    "{\"ts\":1,\"principal\":\"\\u00e9\\u20ac\\u0001\",\"action\":\"select\"}",
    "{\"ts\":1,\"principal\":\"\\b\\f\\n\\r\\t\\\"\\\\\\/\",\"action\":\"select\"}",
    "{\"ts\":1,\"principal\":\"\\x\",\"action\":\"select\"}",
    "{\"ts\":1,\"principal\":\"a\\'b\",\"action\":\"select\"}",
    "{\"ts\":1,\"principal\":\"a\\\nb\",\"action\":\"select\"}",
    "{\"ts\":1,\"principal\":\"\\u12\",\"action\":\"select\"}",
    "{\"ts\":1,\"principal\":\"\\u123\",\"action\":\"select\"}",
    "{\"ts\":1,\"principal\":\"a\",\"action\":\"select\",\"db\":\"\\",
    "{\"ts\":1,\"principal\":\"a\",\"action\":\"select\",\"db\":\"x",
    "{\"ts\":1,\"principal\":\"a\tb\",\"action\":\"select\"}",
    "{\"ts\":1,\"principal\":\"a\",\"action\":\"select\",\"db\":\"\x01\x1b[31m\xc2\x9b\xff\"}",
    "{\"ts\":1,\"principal\":\"a\",\"action\":\"sel\\u0065ct\",\"statement\":\"\\u0053ELECT\"}",
    /* whitespace, BOM, trailing bytes */
    "\xef\xbb\xbf{" REC "}",
    "\xef\xbb\xbf \n{" REC "}",
    " \xef\xbb\xbf{" REC "}",
    "\xef\xbb{" REC "}",
    "\xef\xbb\xbf" "0", /* found by the fuzz target: cJSON keeps the BOM of a text under 5 bytes */
    "\xef\xbb\xbf{}",
    "\xef\xbb\xbf 0",
    "\xef\xbb\xbf",
    "\t\r\n {\t\"ts\"\r:\n1772589965023 ,\"principal\" : \"a\",\"action\":\"select\"\x01}\x20\t",
    "\x01\x1f{" REC "}",
    "{" REC "}\x01",
    "{" REC "}\r\n",
    "{" REC "}\n\n",
    "{" REC "} x",
    "{" REC "}{}",
    "{" REC "},",
    "{" REC "}\x00",
    "{\"ts\":1,\x00\"principal\":\"a\"}",
    "{\"ts\":1,\"principal\":\"a\x00" "b\",\"action\":\"select\"}",
};

/* Lengths given with the text: sizeof - 1, so that embedded NULs count. */
#define CORNER(s) {s, sizeof s - 1}
static const struct {
    const char *text;
    size_t len;
} nul_corners[] = {
    CORNER("{\"ts\":1,\"principal\":\"a\x00" "b\",\"action\":\"select\"}"),
    CORNER("{\"ts\":1,\x00\"principal\":\"a\",\"action\":\"select\"}"),
    CORNER("{" REC "}\x00"),
    CORNER("\x00{" REC "}"),
    CORNER("{" REC ",\"db\":\"x\x00\\u0000\\udc00\"}"),
};

static void test_corners(void)
{
    bool same = true;
    char *deep = malloc(16384);
    for (size_t i = 0; i < sizeof corners / sizeof corners[0]; i++)
        same &= same_both_streams(corners[i], strlen(corners[i]), "corner");
    for (size_t i = 0; i < sizeof nul_corners / sizeof nul_corners[0]; i++)
        same &= same_both_streams(nul_corners[i].text, nul_corners[i].len, "NUL corner");
    /* nesting: cJSON takes 1000 levels, not 1001 (the record's object is the first) */
    for (int depth = 997; depth <= 1002; depth++) {
        int n = snprintf(deep, 16384, "{" REC ",\"x\":");
        for (int k = 1; k < depth; k++)
            n += sprintf(deep + n, k % 2 ? "[" : "{\"k\":");
        for (int k = depth - 1; k >= 1; k--)
            deep[n++] = k % 2 ? ']' : '}';
        deep[n++] = '}';
        same &= same_both_streams(deep, (size_t)n, "deep nesting");
        if (depth == 1000 || depth == 1001)
            ok(cw_decode_json(CW_STREAM_AUDIT, deep, (size_t)n, &fast).reason ==
                   (depth == 1000 ? CW_DEC_OK : CW_DEC_BAD_JSON),
               depth == 1000 ? "1000 levels of nesting decode" : "1001 levels are bad JSON");
    }
    free(deep);
    ok(same, "every corner decodes in place as through cJSON");

    cw_decode_result_t r = cw_decode_json(CW_STREAM_AUDIT, corners[0], strlen(corners[0]), &fast);
    ok(r.reason == CW_DEC_OK && strcmp(fast.u.audit.principal, "b") == 0, "a duplicate key: the last value wins");
    const char *esc = "{\"ts\":1,\"princip\\u0061l\":\"\\ud83d\\ude00\",\"action\":\"select\"}";
    r = cw_decode_json(CW_STREAM_AUDIT, esc, strlen(esc), &fast);
    ok(r.reason == CW_DEC_OK && strcmp(fast.u.audit.principal, "\xf0\x9f\x98\x80") == 0,
       "an escaped key names its field; a surrogate pair is one character");
}

/* ---- mutations ---- */

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint64_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* A copy of text in out (room for len + 16) with a few bytes changed, inserted or removed:
 * mostly the bytes JSON's grammar turns on. */
static size_t mutate(const char *text, size_t len, char *out)
{
    static const char special[] = "{}[]\",:\\u0123456789eE+-.ntf \t\r\n\x00\xef\xbb\xbf\xff";
    size_t n = len;
    memcpy(out, text, len);
    for (int k = 1 + (int)(next_random() % 3); k > 0 && n > 0; k--) {
        size_t at = next_random() % n;
        char c = special[next_random() % (sizeof special - 1)];
        switch (next_random() % 4) {
        case 0: out[at] = c; break;
        case 1: memmove(out + at + 1, out + at, n - at), out[at] = c, n++; break;
        case 2: memmove(out + at, out + at + 1, n - at - 1), n--; break;
        default: n = at + 1; break;
        }
    }
    return n;
}

static void test_mutations(const char *top)
{
    static const char *const seeds[] = {"tests/e2e/cases/evasion-mysql-json/audit.json.gz",
                                        "tests/e2e/cases/evasion-canonical/audit.jsonl", "datasets/small/audit.jsonl.gz"};
    long before = differing;
    int runs = 0;
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        char path[4096];
        size_t len, start = 0;
        snprintf(path, sizeof path, "%s/%s", top, seeds[i]);
        char *buf = read_all(path, &len), *out;
        if (!buf)
            continue;
        out = malloc(len + 16);
        while (start < len && runs < 200000) {
            char *nl = memchr(buf + start, '\n', len - start);
            size_t end = nl ? (size_t)(nl - buf) : len;
            for (int m = 0; m < 60 && end > start && runs < 200000; m++, runs++) {
                size_t n = mutate(buf + start, end - start, out);
                same_both_streams(out, n, "mutation");
            }
            start = end + 1;
        }
        free(out);
        free(buf);
    }
    printf("# %d mutations\n", runs);
    ok(runs == 200000 && differing == before, "mutated records decode in place as through cJSON");
}

/* ---- the scanner alone ---- */

static void test_scanner(void)
{
    cw_json_value_t m[4], it, root;
    size_t n, pos = 0;
    char out[64];
    const char *t = "{\"a\" : [1, \"x\\n\"], \"b\\\"\":-2.5e1} ";
    is_int(cw_json_scan(t, strlen(t), &root, m, 4, &n), CW_JSCAN_OBJECT, "an object");
    ok(n == 2 && root.val == t && root.val_len == strlen(t) - 1, "two members; the object's span");
    ok(m[0].type == CW_JSON_ARRAY && m[0].val_len == 10 && memcmp(m[0].val, "[1, \"x\\n\"]", 10) == 0,
       "an array's span");
    ok(m[1].type == CW_JSON_NUMBER && m[1].number == -25.0 && m[1].key_escaped, "a number's value; an escaped key");
    ok(cw_json_next(&m[0], &pos, &it) && it.type == CW_JSON_NUMBER && it.number == 1.0, "first element");
    ok(cw_json_next(&m[0], &pos, &it) && it.type == CW_JSON_STRING && it.val_escaped &&
           cw_json_unescape(it.val, it.val_len, out) == 2 && memcmp(out, "x\n", 2) == 0,
       "second element, unescaped");
    ok(!cw_json_next(&m[0], &pos, &it), "no third element");
    is_int(cw_json_scan(t, strlen(t), &root, m, 1, &n), CW_JSCAN_FULL, "more members than room: full");
    is_int(cw_json_scan(t, strlen(t), &root, NULL, 0, &n), CW_JSCAN_OBJECT, "no members asked: an object");
    pos = 0;
    ok(cw_json_next(&root, &pos, &it) && it.key_len == 1 && *it.key == 'a' && it.type == CW_JSON_ARRAY &&
           cw_json_next(&root, &pos, &it) && it.key_escaped && it.type == CW_JSON_NUMBER &&
           !cw_json_next(&root, &pos, &it),
       "an object's members one by one");
    is_int(cw_json_scan("[1]", 3, &root, m, 4, &n), CW_JSCAN_OTHER, "an array is another value");
    is_int(cw_json_scan("{\"a\":01x}", 9, &root, m, 4, &n), CW_JSCAN_BAD, "a bad text");
    is_int(cw_json_unescape("a\\u0000b", 8, out), 1, "an escaped NUL ends the string");
}

/* MySQL JSON corners: nested objects, types, escapes, duplicates. */
static const char *const mysql_corners[] = {
    "{\"timestamp\":\"2026-03-04 02:00:00\",\"class\":\"general\",\"event\":\"status\",\"connection_id\":7,"
    "\"account\":{\"user\":\"u\\u0031\",\"host\":\"%\"},\"login\":{\"user\":\"x\",\"ip\":\"10.0.0.1\"},"
    "\"general_data\":{\"command\":\"Query\",\"sql_command\":\"select\",\"query\":\"SELECT * FROM t\\n\",\"status\":1},"
    "\"query_statistics\":{\"rows_sent\":900000,\"bytes_sent\":\"12\"}}",
    "{\"time\":1772589965.5,\"class\":\"table_access\",\"event\":\"read\",\"connection_id\":\"7\","
    "\"account\":{\"user\":\"root[root] @ localhost [127.0.0.1]\",\"host\":\"db_1\"},"
    "\"table_access_data\":{\"db\":\"mediation\",\"table\":\"cdr_voice\",\"query\":\"SELECT 1\"}}",
    "{\"timestamp\":\"2026-03-04T02:00:00Z\",\"class\":\"connection\",\"event\":\"connect\",\"connection_id\":-1,"
    "\"login\":{\"user\":\"a\"}}",
    "{\"timestamp\":\"2026-03-04T02:00:00Z\",\"class\":\"connection\",\"event\":\"disconnect\",\"connection_id\":null,"
    "\"login\":{\"user\":\"a\"},\"connection_data\":{\"db\":\"d\",\"status\":1045,"
    "\"connection_attributes\":{\"_client_name\":\"libmysql\",\"program_name\":\"\"}}}",
    "{\"timestamp\":\"2026-03-04 02:00:00\",\"class\":\"general\",\"event\":\"status\",\"account\":{\"user\":\"a\"},"
    "\"account\":{\"user\":\"b\"},\"login\":[1],\"general_data\":{\"sql_command\":\"create_table\",\"status\":\"1\"},"
    "\"query_statistics\":{\"rows_sent\":1.5}}",
    "{\"timestamp\":\"2026-03-04 02:00:00\",\"class\":\"general\",\"event\":\"status\",\"account\":{\"us\\u0065r\":\"a\"},"
    "\"general_data\":{\"query\":\"\\uZZZZ\",\"status\":0},\"query_statistics\":{\"bytes_sent\":true}}",
    "{\"class\":\"audit\",\"event\":\"startup\"}",
    "{\"class\":\"general\",\"event\":\"status\"}",
    "{\"class\":\"general\",\"event\":\"status\",\"time\":-5,\"account\":{\"user\":\"a\"}}",
    "[{\"class\":\"general\"}]",
};

static void test_mysql_corners(void)
{
    bool same = true;
    for (size_t i = 0; i < sizeof mysql_corners / sizeof mysql_corners[0]; i++)
        same &= same_mysql(mysql_corners[i], strlen(mysql_corners[i]), "mysql corner");
    ok(same, "every mysql-json corner decodes in place as through cJSON");
}

int main(void)
{
    const char *top = getenv("top_srcdir") ? getenv("top_srcdir") : ".";
    apr_pool_t *pool;
    apr_initialize();
    apr_pool_create(&pool, NULL);
    if (cw_native_create(pool, CW_AUDIT_MYSQL_JSON, NULL, &mysql) != CW_OK)
        return 1;
    cw_decode_init();
    test_mysql_corners();
    test_scanner();
    test_corners();
    test_corpus(top);
    test_mutations(top);
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
