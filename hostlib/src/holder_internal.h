/* Internals shared by the desk's input parsers: catalogue.c (which also
 * holds the text and JSON position helpers), holder_file.c and
 * batch_csv.c. */
#ifndef OCP_HOLDER_INTERNAL_H
#define OCP_HOLDER_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ocp/holder.h"

/* Amount bounds of docs/HOLDERS.md: large enough for any real grant,
 * small enough to catch a figure typed in yuan times a hundred. */
#define HL_USES_MAX 9999u
#define HL_FEN_MAX 10000000u /* 100 000 yuan */

#define HL_HOLDER_FILE_MAX (1u << 20)
#define HL_CATALOGUE_FILE_MAX (4u << 20)
#define HL_CSV_FILE_MAX (64u << 20)

/* ---- text (catalogue.c) ------------------------------------------------ */

/* Reads a whole file (at most max bytes) into a NUL-terminated buffer the
 * caller frees; OCP_E_IO with the reason in err otherwise. */
ocp_status hl_read_file(const char *path, size_t max, char **text,
                        size_t *len, ocp_parse_error *err);

/* Length of a leading UTF-8 byte order mark (3 or 0). */
size_t hl_bom(const char *text, size_t len);

/* The line and character column of byte `off`, counting from `start`,
 * which is the first byte of line `start_line`. */
void hl_position(const char *text, size_t start, int start_line, size_t off,
                 int *line, int *column);

/* Fills err (if not NULL) with a position and a printf-style message. */
void hl_error(ocp_parse_error *err, int line, int column, const char *fmt,
              ...)
#ifdef __GNUC__
    __attribute__((format(printf, 4, 5)))
#endif
    ;
void hl_verror(ocp_parse_error *err, int line, int column, const char *fmt,
               va_list ap);

/* NULL if s (len bytes) is well-formed UTF-8 without control characters
 * (C0, DEL, C1), else a phrase saying what is wrong, with *bad the byte
 * offset of the offending character. */
const char *hl_text_problem(const char *s, size_t len, size_t *bad);

/* A service code written "0x0101" (1..4 hex digits) or "257"; 0 if not. */
uint16_t hl_parse_code(const char *s, size_t len);

/* ---- JSON with positions (catalogue.c) ---------------------------------- */

#define HL_JSON_DEPTH 4

/* The parse of one JSON text and the path to the value being checked, so
 * an error can point at it.  jansson keeps no positions; the path (member
 * and element ordinals, which jansson keeps in file order) is walked again
 * over the text when an error needs a line and column. */
typedef struct {
    const char *text;   /* after any byte order mark */
    size_t len;
    int depth;
    int index[HL_JSON_DEPTH];       /* member or element ordinal */
    const char *key[HL_JSON_DEPTH]; /* member name, NULL for an element */
    ocp_parse_error *err;
} hl_json;

/* Parses text (BOM skipped) with duplicate keys rejected into *root:
 * OCP_OK, OCP_E_ARGS (syntax, with jansson's line and column in err) or
 * OCP_E_NOMEM. */
ocp_status hl_json_load(hl_json *j, const char *text, size_t len,
                        ocp_parse_error *err, json_t **root);

/* Enters member `index` named `key`, or element `index` (key NULL). */
void hl_json_push(hl_json *j, int index, const char *key);
void hl_json_pop(hl_json *j);

/* Reports an error at the current value (at its key when at_key), or at
 * byte `str_off` of the decoded string value when str_off is not
 * HL_NO_OFFSET.  The message is prefixed with the path.  Returns -1. */
#define HL_NO_OFFSET ((size_t)-1)
int hl_json_fail(hl_json *j, int at_key, size_t str_off, const char *fmt,
                 ...)
#ifdef __GNUC__
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Splits the members of the current object by name: vals[i] is the
 * member named keys[i] or NULL, index[i] its ordinal.  An unknown member
 * is an error at its key.  Returns 0 or -1. */
int hl_json_members(hl_json *j, json_t *obj, const char *const *keys,
                    size_t n, json_t **vals, int *index);

/* Typed reads of the current value; each reports its own error and
 * returns -1 on a wrong type or range. */
int hl_json_string(hl_json *j, const json_t *v, const char **s,
                   size_t *len);
int hl_json_uint(hl_json *j, const json_t *v, uint32_t min, uint32_t max,
                 uint32_t *out);
int hl_json_bool(hl_json *j, const json_t *v, int *out);
/* A service code: 257 or "0x0101" (or "257"). */
int hl_json_code(hl_json *j, const json_t *v, uint16_t *code);

/* ---- a holder from CSV cells (holder_file.c) ------------------------------ */

enum {
    HL_F_NAME,
    HL_F_CERTIFICATE,
    HL_F_DISTRICT,
    HL_F_SUITE,
    HL_F_PIN,
    HL_F_VALID_YEARS,
    HL_F_ENTITLEMENTS,
    HL_F_COUNT
};

/* The CSV column names, indexed by HL_F_*. */
extern const char *const hl_field_names[HL_F_COUNT];

/* Builds the request from the cells of a row (NULL: column absent, same
 * as empty).  On error, *field and *offset give the cell and the byte in
 * it, msg the sentence (without position), and req/ents are zeroed. */
ocp_status hl_holder_from_fields(const char *const cells[HL_F_COUNT],
                                 const size_t lens[HL_F_COUNT],
                                 const ocp_catalogue *cat, uint16_t today,
                                 ocp_issue_request *req,
                                 ocp_entitlement *ents, int *field,
                                 size_t *offset, char *msg, size_t cap);

#endif
