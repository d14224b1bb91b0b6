/*
 * decode_xml.h — XML audit files, a record at a time: Oracle's XML audit trail (<AuditRecord>
 * elements, AUDIT_TRAIL=XML) and Percona's legacy audit_log (<AUDIT_RECORD>, attributes in the OLD
 * format, leaf elements in the NEW one). doc/formats.md §1.4.
 *
 * Two parts. The framer follows a file's bytes, whatever the lines, and says where each record
 * begins and ends, so a record is gathered (at most CW_RECORD_MAX bytes) and decoded alone: the
 * file is never held whole. The decoder reads one record — its element, the element's attributes
 * and its children's text — with a small strict scanner (no XML library): names, quoted attribute
 * values, leaf elements, comments; the entities &lt; &gt; &amp; &quot; &apos; and character
 * references &#N; &#xN;. The values are matched to a dialect's columns by name (case-insensitively)
 * and decoded as the CSV form of the same view is (decode.h, cw_csv_dialect_t).
 */
#ifndef CDRWATCH_DECODE_XML_H
#define CDRWATCH_DECODE_XML_H

#include "cdrwatch/decode.h"

/* Where the framer stands. Zero it (cw_xml_frame_init) at the start of a file. */
typedef struct {
    bool in_record; /* between a record's '<' and the '>' that closes it */
    bool opening;   /* the record's own start tag is next: its '<' was reported, not consumed */
    bool in_tag;    /* inside <...> */
    bool fresh;     /* right after a tag's '<' */
    bool special;   /* the tag is a comment, a declaration or a processing instruction (<!..>, <?..>) */
    bool closing;   /* the tag is an end tag (</...>) */
    bool slash;     /* the last byte of the tag was '/' (an empty element, <x/>) */
    char quote;     /* inside an attribute value quoted with it, else 0 */
    int depth;      /* elements open inside the record (its own included) */
} cw_xml_frame_t;

typedef enum {
    CW_XML_NONE,  /* the bytes were consumed; nothing happened */
    CW_XML_BEGIN, /* a record begins at the returned offset (the bytes before it are not in one) */
    CW_XML_END,   /* the record ends at the returned offset (exclusive) */
} cw_xml_event_t;

static inline void cw_xml_frame_init(cw_xml_frame_t *f) { memset(f, 0, sizeof *f); }

/* Follow p[0, n): returns how many bytes were consumed before the event it sets in *event (all
 * of them with CW_XML_NONE). A record begins at '<' followed by one of the record names
 * (AuditRecord, AUDIT_RECORD) and a blank, '>' or '/', on one line; it ends where its element
 * closes. A record start met inside a record (its end tag lost) ends that record first: it is
 * then cut short and its decoding says bad_xml. */
size_t cw_xml_frame(cw_xml_frame_t *f, const char *p, size_t n, cw_xml_event_t *event);

/* Decode one record (the bytes from its '<' to its closing '>') in dialect d into ev. scratch
 * holds len + 1 bytes (the values after entity decoding). *is_record is false for a record the
 * dialect does not count (Percona's Audit and NoAudit). A record that is not well-formed is
 * bad_xml. A character reference that is no character (a surrogate, above U+10FFFF) or an unknown
 * or unterminated entity becomes a byte that is not UTF-8, and &#0; a NUL byte: both are repaired
 * and flagged by cw_decode_set_field (U+FFFD; bad_utf8, nul), or refused in a required field. */
cw_decode_result_t cw_xml_decode(const cw_csv_dialect_t *d, const char *buf, size_t len, char *scratch,
                                 cw_event_t *ev, bool *is_record);

#endif
