/*
 * fuzz_json_scan.c — the in-place JSON scanner (json_scan.c) against cJSON. The first byte
 * picks the stream (even: audit, odd: CDR), the rest is the text.
 *
 * Properties, abort on any difference:
 * - the record decoder: cw_decode_json (in place) and cw_decode_json_reference (cJSON's tree)
 *   give the same reason and field, and the same record and damage;
 * - the mysql-json decoder: cw_native_decode (in place) and cw_native_decode_mysql_reference
 *   (cJSON's tree) the same, and the same answer to "is it a record";
 * - the scanner alone, on the raw text (no repair first): cw_json_scan accepts exactly what
 *   cJSON_ParseWithLengthOpts accepts, ends where it ends, and for an object finds the same
 *   members: keys and string values as cJSON's C strings, types, numbers bit for bit.
 */
#include <string.h>
#include <cjson/cJSON.h>
#include "cdrwatch/decode.h"
#include "cdrwatch/decode_native.h"
#include "cdrwatch/json_scan.h"
#include "fuzz.h"

static cw_event_t fast, slow;
static char scratch[1 << 20];

/* A scanned string as cJSON holds it: unescaped, up to its first NUL. */
static bool same_string(const char *s, size_t len, bool escaped, const char *want)
{
    size_t n;
    const char *nul;
    if (!want || len > sizeof scratch)
        return want == NULL;
    if (escaped) {
        n = cw_json_unescape(s, len, scratch);
        s = scratch;
    } else {
        n = (nul = memchr(s, '\0', len)) ? (size_t)(nul - s) : len;
    }
    return strlen(want) == n && memcmp(s, want, n) == 0;
}

static cw_json_type_t type_of(const cJSON *it)
{
    if (cJSON_IsNull(it))
        return CW_JSON_NULL;
    if (cJSON_IsFalse(it))
        return CW_JSON_FALSE;
    if (cJSON_IsTrue(it))
        return CW_JSON_TRUE;
    if (cJSON_IsNumber(it))
        return CW_JSON_NUMBER;
    if (cJSON_IsString(it))
        return CW_JSON_STRING;
    return cJSON_IsArray(it) ? CW_JSON_ARRAY : CW_JSON_OBJECT;
}

static void same_members(const cw_json_value_t *m, size_t n, const cJSON *root)
{
    const cJSON *it;
    size_t i = 0;
    cJSON_ArrayForEach(it, root)
    {
        if (i == n)
            fuzz_fail("cJSON finds more members than the scanner");
        if (!same_string(m[i].key, m[i].key_len, m[i].key_escaped, it->string))
            fuzz_fail("a member's key differs");
        if (m[i].type != type_of(it))
            fuzz_fail("a member's type differs");
        if (m[i].type == CW_JSON_NUMBER && memcmp(&m[i].number, &it->valuedouble, sizeof(double)) != 0)
            fuzz_fail("a number differs");
        if (m[i].type == CW_JSON_STRING && !same_string(m[i].val, m[i].val_len, m[i].val_escaped, it->valuestring))
            fuzz_fail("a string value differs");
        i++;
    }
    if (i != n)
        fuzz_fail("the scanner finds more members than cJSON");
}

static void same_scan(const char *text, size_t len)
{
    static cw_json_value_t m[CW_JSON_MEMBERS_MAX];
    cw_json_value_t root;
    size_t n;
    const char *cend = NULL;
    cw_json_scan_status_t st = cw_json_scan(text, len, &root, m, CW_JSON_MEMBERS_MAX, &n);
    cJSON *tree = cJSON_ParseWithLengthOpts(text, len, &cend, 0);
    if (st == CW_JSCAN_FULL) {
        if (tree && !cJSON_IsObject(tree))
            fuzz_fail("full, and cJSON finds no object");
    } else if ((st == CW_JSCAN_BAD) != (tree == NULL)) {
        fuzz_fail(tree ? "cJSON accepts a text the scanner refuses" : "the scanner accepts a text cJSON refuses");
    } else if (tree) {
        if (cend != root.val + root.val_len)
            fuzz_fail("the value ends elsewhere");
        if ((st == CW_JSCAN_OBJECT) != cJSON_IsObject(tree))
            fuzz_fail("an object for one, not for the other");
        if (st == CW_JSCAN_OBJECT)
            same_members(m, n, tree);
    }
    cJSON_Delete(tree);
}

static void same_mysql(const char *text, size_t len)
{
    static cw_native_t *mysql;
    bool rec_a, rec_b;
    if (!mysql && cw_native_create(fuzz_root(), CW_AUDIT_MYSQL_JSON, NULL, &mysql) != CW_OK)
        fuzz_fail("cw_native_create");
    cw_decode_result_t a = cw_native_decode(mysql, text, len, &fast, &rec_a);
    cw_decode_result_t b = cw_native_decode_mysql_reference(text, len, &slow, &rec_b);
    if (a.reason != b.reason || a.field != b.field || rec_a != rec_b) {
        fprintf(stderr, "fuzz: mysql-json in place %s/%d (%d), cJSON %s/%d (%d)\n", cw_reason_name(a.reason), a.field,
                rec_a, cw_reason_name(b.reason), b.field, rec_b);
        fuzz_fail("the in-place mysql-json decoder and cJSON's give different results");
    }
    if (!fuzz_same_event(&fast, &slow))
        fuzz_fail("the in-place mysql-json decoder and cJSON's give different records");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_pool();
    if (size < 1)
        return 0;
    cw_stream_t s = data[0] & 1 ? CW_STREAM_CDR : CW_STREAM_AUDIT;
    const char *text = (const char *)data + 1;
    cw_decode_result_t a = cw_decode_json(s, text, size - 1, &fast);
    cw_decode_result_t b = cw_decode_json_reference(s, text, size - 1, &slow);
    if (a.reason != b.reason || a.field != b.field) {
        fprintf(stderr, "fuzz: in place %s/%d, cJSON %s/%d\n", cw_reason_name(a.reason), a.field,
                cw_reason_name(b.reason), b.field);
        fuzz_fail("the in-place decoder and cJSON's give different results");
    }
    if (!fuzz_same_event(&fast, &slow))
        fuzz_fail("the in-place decoder and cJSON's give different records");
    same_mysql(text, size - 1);
    same_scan(text, size - 1);
    return 0;
}
