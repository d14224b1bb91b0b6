/*
 * rules.h — what a rule looks at in a record: its filter, its key and its metric value.
 *
 * Pure functions of (rule, event): no state, no allocation. The windows, thresholds and
 * suppression that turn these values into alerts live in engine.c.
 */
#ifndef CDRWATCH_RULES_H
#define CDRWATCH_RULES_H

#include <stdbool.h>
#include "cdrwatch/config.h"

/* Separator between key fields in the internal key string (never in decoded text). */
#define CW_KEY_SEP '\x1f'

/* Does the record pass the rule's stream and filter? */
bool cw_rule_matches(const cw_rule_t *rule, const cw_event_t *ev);
/* Write the key (key fields joined by CW_KEY_SEP) into buf; returns its length. */
size_t cw_rule_key(const cw_rule_t *rule, const cw_event_t *ev, char *buf, size_t buflen);
/* Longest key this rule can produce (sum of its fields' size limits plus separators). */
size_t cw_rule_key_max(const cw_rule_t *rule);
/* The metric's contribution of this record (1 for count, the field for sum). */
int64_t cw_rule_value(const cw_rule_t *rule, const cw_event_t *ev);

#endif
