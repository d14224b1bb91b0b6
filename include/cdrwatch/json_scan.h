/*
 * json_scan.h — one JSON text checked with cJSON's grammar and its top-level members located in
 * place, without building a tree (json_scan.c).
 *
 * The record decoder (cw_decode_json) reads a canonical record's known fields straight from the
 * bytes: cw_json_scan accepts exactly the texts cJSON_ParseWithLengthOpts accepts (cJSON's
 * laxities included: any byte inside a string, numbers as strtod reads a run of [0-9+-.eE],
 * `\u` escapes with a bad hex digit read as U+0000, 1000 levels of nesting at most) and records
 * where each member of the top-level object lies. A string is unescaped only when it is used
 * (cw_json_unescape), a number is converted as cJSON converts it. The differential test
 * (tests/unit/test_json_scan.c) and the fuzz target json_scan hold it to cJSON.
 */
#ifndef CDRWATCH_JSON_SCAN_H
#define CDRWATCH_JSON_SCAN_H

#include <stdbool.h>
#include <stddef.h>

/* Members of the top-level object recorded at most; a text with more is left to cJSON. */
#define CW_JSON_MEMBERS_MAX 64

typedef enum {
    CW_JSON_NULL,
    CW_JSON_FALSE,
    CW_JSON_TRUE,
    CW_JSON_NUMBER,
    CW_JSON_STRING,
    CW_JSON_ARRAY,
    CW_JSON_OBJECT,
} cw_json_type_t;

/* One value (with its key, when it is a member of an object), pointing into the text. */
typedef struct cw_json_value {
    const char *key;     /* the key's bytes between its quotes, escapes not undone */
    size_t key_len;
    const char *val;     /* a string: its bytes between the quotes; otherwise the whole value */
    size_t val_len;
    double number;       /* CW_JSON_NUMBER: the value, as cJSON's valuedouble */
    cw_json_type_t type;
    bool key_escaped;    /* the key holds a backslash (cw_json_unescape before use) */
    bool val_escaped;    /* the string value holds a backslash */
} cw_json_value_t;

typedef enum {
    CW_JSCAN_BAD,    /* not a text cJSON parses */
    CW_JSCAN_OBJECT, /* an object: its members are recorded */
    CW_JSCAN_OTHER,  /* a valid value that is not an object */
    CW_JSCAN_FULL,   /* an object with more than cap members: nothing decided */
} cw_json_scan_status_t;

/* Scan one JSON value at the start of buf (after an optional UTF-8 BOM and whitespace) as
 * cJSON_ParseWithLengthOpts(buf, len, &end, 0) would parse it. On OBJECT and OTHER, *root is the
 * value (root->val + root->val_len is where cJSON's return_parse_end points); on OBJECT, when
 * members is not NULL, members[0..*n) are the top-level members in document order (FULL when
 * there are more than cap; with members NULL nothing is recorded and FULL never comes). */
cw_json_scan_status_t cw_json_scan(const char *buf, size_t len, cw_json_value_t *root, cw_json_value_t *members,
                                   size_t cap, size_t *n);

/* The next element of a scanned array or member of a scanned object (with its key) in
 * document order; *pos starts at 0. False after the last. */
bool cw_json_next(const cw_json_value_t *container, size_t *pos, cw_json_value_t *item);

/* Undo the escapes of a scanned string's bytes s[0..len) into out (room for len bytes; the
 * result is never longer), as cJSON does, and return the length of the result up to its first
 * NUL (cJSON's strings are C strings: `\u0000`, or a `\u` with a bad hex digit, ends one). */
size_t cw_json_unescape(const char *s, size_t len, char *out);

#endif
