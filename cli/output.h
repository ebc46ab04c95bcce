/*
 * Output of the ocp command: every result is built once as a JSON value
 * (jansson) and printed either as JSON (--json) or as text for people.  A
 * field a role may not see is never put into the value, so it can appear
 * in neither form.
 */
#ifndef OCP_CLI_OUTPUT_H
#define OCP_CLI_OUTPUT_H

#include <jansson.h>
#include <stdint.h>

#include "ocp/card.h"

json_t *out_hex(const uint8_t *p, size_t n);
json_t *out_date(uint16_t day);
json_t *out_datetime(uint32_t minutes);
/* A registry time (seconds since 1970) as "2026-11-29T09:21:36Z" in out,
 * or "-" for 0 (never). */
void out_utc(int64_t t, char out[24]);
/* The same as a JSON string, or null for 0. */
json_t *out_time(int64_t t);
const char *out_state_name(uint8_t state);
const char *out_suite_name(uint8_t suite);
const char *out_kind_name(uint8_t kind);
const char *out_period_name(uint8_t period);
const char *out_category_name(uint8_t category);
json_t *out_holder(const ocp_holder *h);
json_t *out_entitlement(const ocp_entitlement *e);
json_t *out_log(const ocp_log_record *l);
json_t *out_tx(const ocp_tx_result *tx);
/* Prints v as one line of JSON, or through `text` for people; frees v. */
void out_print(int json, json_t *v, void (*text)(json_t *v));
/* Text lines shared by several commands. */
void out_text_entitlement(json_t *e);
void out_text_log(json_t *l);
void out_text_holder(json_t *h);

#endif
