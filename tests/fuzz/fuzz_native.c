/*
 * fuzz_native.c — the decoders of the servers' own audit layouts (decode_native.h), built once
 * per format (build.sh, CW_FUZZ_FORMAT): pgaudit, whose input's first line is the log_line_prefix
 * (fuzzed with the log), then the log framed into messages (a line and the tab-led lines that
 * continue it); MariaDB server_audit, one line a record; MySQL JSON, Oracle and Percona JSON,
 * each line and then the whole input as one record (objects may span lines); Oracle and Percona
 * XML, the records the XML framer finds (decode_xml.h), then each line and the whole input. No property beyond ASan and UBSan: a record is
 * an event, a reason or not a record.
 */
#include <string.h>
#include <apr_strings.h>
#include "cdrwatch/decode_native.h"
#include "cdrwatch/decode_xml.h"
#include "fuzz.h"

#ifndef CW_FUZZ_FORMAT
#define CW_FUZZ_FORMAT CW_AUDIT_PGAUDIT
#endif

static cw_event_t ev;

static void decode(cw_native_t *n, const char *buf, size_t len)
{
    bool is_record;
    cw_native_decode(n, buf, len, &ev, &is_record);
}

/* The log_line_prefix from the first line (false: not one cw_pg_prefix_compile accepts). */
static bool prefix_line(apr_pool_t *p, const char **at, const char *end, const cw_pg_prefix_t **prefix)
{
    const char *line;
    size_t len;
    char err[256];
    cw_pg_prefix_t *compiled;
    if (!fuzz_line(at, end, &line, &len))
        return false;
    if (len > 0 && line[len - 1] == '\n')
        len--;
    if (memchr(line, '\0', len))
        return false;
    if (cw_pg_prefix_compile(p, apr_pstrmemdup(p, line, len), &compiled, err, sizeof err) != CW_OK)
        return false;
    *prefix = compiled;
    return true;
}

/* Each message: a line and the lines that continue it, contiguous in the input. */
static void pgaudit_messages(cw_native_t *n, const char *at, const char *end)
{
    const char *line, *msg = NULL;
    size_t len;
    while (fuzz_line(&at, end, &line, &len)) {
        if (msg && !cw_pgaudit_continues(line, len)) {
            decode(n, msg, (size_t)(line - msg));
            msg = NULL;
        }
        if (!msg)
            msg = line;
    }
    if (msg)
        decode(n, msg, (size_t)(end - msg));
}

/* XML: the records cw_xml_frame finds in the input, as replay frames them; a record must begin
 * with '<' and lie inside the input. */
static void xml_records(cw_native_t *n, const char *at, const char *end)
{
    cw_xml_frame_t f;
    const char *rec = NULL;
    cw_xml_frame_init(&f);
    while (at < end) {
        cw_xml_event_t e;
        at += cw_xml_frame(&f, at, (size_t)(end - at), &e);
        if (at > end || (e == CW_XML_BEGIN && *at != '<'))
            fuzz_fail("cw_xml_frame: a record outside the input, or not at a '<'");
        if (e == CW_XML_END && rec)
            decode(n, rec, (size_t)(at - rec));
        if (e != CW_XML_NONE)
            rec = e == CW_XML_BEGIN ? at : NULL;
    }
    if (rec)
        decode(n, rec, (size_t)(end - rec));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    const char *at = (const char *)data, *end = at + size, *line;
    size_t len;
    const cw_pg_prefix_t *prefix = NULL;
    cw_native_t *n;
    if (CW_FUZZ_FORMAT == CW_AUDIT_PGAUDIT && !prefix_line(p, &at, end, &prefix))
        return 0;
    if (cw_native_create(p, CW_FUZZ_FORMAT, prefix, &n) != CW_OK)
        fuzz_fail("cw_native_create");
    if (CW_FUZZ_FORMAT == CW_AUDIT_PGAUDIT) {
        pgaudit_messages(n, at, end);
        return 0;
    }
    const char *all = at;
    if (cw_audit_format_xml(CW_FUZZ_FORMAT))
        xml_records(n, at, end);
    while (fuzz_line(&at, end, &line, &len))
        decode(n, line, len);
    if (CW_FUZZ_FORMAT != CW_AUDIT_MARIADB)
        decode(n, all, (size_t)(end - all));
    return 0;
}
