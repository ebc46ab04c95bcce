/**
 * @file ocp/holder.h
 * The issuance desk's input files: the city's service catalogue, one
 * holder's file and the batch CSV (docs/HOLDERS.md gives the formats).
 * Each loader turns a file into an ocp_issue_request ready for
 * ocp_issue_card(), or says where the file is wrong: line, column and a
 * sentence, in an ocp_parse_error.
 *
 * Positions: lines and columns count from 1; a column counts characters
 * (UTF-8 code points), not bytes, as an editor shows them.  A leading
 * UTF-8 byte order mark is skipped and not counted.  line = 0 means the
 * error has no place in the file (it could not be opened, memory ran out,
 * an argument was NULL).
 *
 * Status codes: OCP_OK; OCP_E_ARGS for a NULL argument (line 0) or for a
 * file whose content is wrong (line >= 1); OCP_E_IO when the file cannot
 * be read; OCP_E_NOMEM.  The message is always set when the status is not
 * OCP_OK, and never contains the PIN.
 *
 * Dates are days since 2000-01-01 in the civil (proleptic Gregorian)
 * calendar, as on the card: 0 is 2000-01-01, 65535 is 2179-06-06.
 *
 * Memory: the catalogue and the CSV reader are allocated by their open
 * functions and freed by ocp_catalogue_free() and ocp_batch_close(); every
 * other structure is caller-owned.  A request filled from a file points
 * into the caller's ents[] array, never into the catalogue or the file.
 * Thread safety: a catalogue may be shared by threads once loaded (it is
 * read only); a CSV reader belongs to one thread at a time.
 *
 * Example, one holder:
 * @code
 *   ocp_catalogue *cat;
 *   ocp_issue_request req;
 *   ocp_entitlement ents[OCP_HOLDER_MAX_ENTITLEMENTS];
 *   ocp_parse_error err;
 *   if (ocp_catalogue_load("catalogue.json", &cat, &err) != OCP_OK ||
 *       ocp_holder_file_load("holder.json", cat, today, &req, ents, &err)
 *           != OCP_OK)
 *       fprintf(stderr, "%d:%d: %s\n", err.line, err.column, err.message);
 * @endcode
 */
#ifndef OCP_HOLDER_H
#define OCP_HOLDER_H

#include <stddef.h>
#include <stdint.h>

#include "ocp/card.h"
#include "ocp/export.h"
#include "ocp/issue.h"
#include "ocp/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Entitlements one card holds, hence one holder file or CSV row. */
#define OCP_HOLDER_MAX_ENTITLEMENTS 16
/** Longest service or category name, in bytes of UTF-8. */
#define OCP_SERVICE_NAME_MAX 127

/** Where and why an input file is wrong. */
typedef struct {
    int line;          /**< 1-based; 0 when the error has no position */
    int column;        /**< 1-based, in characters; 0 with line 0 */
    char message[200]; /**< one English sentence, NUL-terminated */
} ocp_parse_error;

/* ---- dates --------------------------------------------------------------- */

/**
 * Parse a civil date written "YYYY-MM-DD" (exactly ten characters).
 * @param[in]  ymd  the text, NUL-terminated
 * @param[out] day  days since 2000-01-01 (left unchanged on error)
 * @return 0; -1 when the text is not a date of the calendar
 *         ("2024-02-30", "2024-2-3", trailing characters); -2 when it is a
 *         date but outside 2000-01-01..2179-06-06.
 */
OCP_API int ocp_date_parse(const char *ymd, uint16_t *day);

/** Write a day as "YYYY-MM-DD" and a NUL. */
OCP_API void ocp_date_format(uint16_t day, char out[11]);

/**
 * Days since 2000-01-01 of a civil date.
 * @return 0; -1 when month or day is out of the calendar; -2 when the date
 *         is outside 2000-01-01..2179-06-06.
 */
OCP_API int ocp_date_from_civil(int year, int month, int mday,
                                uint16_t *day);

/** The civil year, month (1..12) and day of the month of a day. */
OCP_API void ocp_date_to_civil(uint16_t day, int *year, int *month,
                               int *mday);

/* ---- the service catalogue ------------------------------------------------ */

/** One service of the catalogue. */
typedef struct {
    uint16_t code;         /**< high byte: category, low byte: item */
    uint8_t domain;        /**< consuming role, 2 transit .. 7 venue
                                (docs/PROTOCOL.md 2.4) */
    uint8_t kind;          /**< 1 pass, 2 counter, 3 balance */
    uint8_t period;        /**< counters: 0 none, 1 month, 2 year */
    uint8_t pin_required;  /**< 1: consuming needs the holder's PIN */
    uint32_t default_uses; /**< counters: uses per period, else 0 */
    uint32_t default_fen;  /**< balances: amount in fen, else 0 */
    char name_zh[OCP_SERVICE_NAME_MAX + 1]; /**< UTF-8 */
    char name_en[OCP_SERVICE_NAME_MAX + 1];
} ocp_service;

/** One category of the catalogue (the high byte of its services' codes). */
typedef struct {
    uint8_t id;
    char name_zh[OCP_SERVICE_NAME_MAX + 1];
    char name_en[OCP_SERVICE_NAME_MAX + 1];
} ocp_service_category;

typedef struct ocp_catalogue ocp_catalogue;

/**
 * Load and check a catalogue file.
 * @param[in]  path  the JSON file
 * @param[out] out   the catalogue; free with ocp_catalogue_free()
 * @param[out] err   where it is wrong (may be NULL)
 * @return OCP_OK, OCP_E_ARGS, OCP_E_IO, OCP_E_NOMEM (see the top of this
 *         file); *out is NULL unless OCP_OK.
 */
OCP_API ocp_status ocp_catalogue_load(const char *path, ocp_catalogue **out,
                                      ocp_parse_error *err);

/** As ocp_catalogue_load(), from len bytes of text in memory. */
OCP_API ocp_status ocp_catalogue_parse(const char *text, size_t len,
                                       ocp_catalogue **out,
                                       ocp_parse_error *err);

/** Free a catalogue.  NULL is allowed. */
OCP_API void ocp_catalogue_free(ocp_catalogue *cat);

/** The service with this code, or NULL. */
OCP_API const ocp_service *ocp_catalogue_find(const ocp_catalogue *cat,
                                              uint16_t code);

/**
 * Iterate over the services, in code order:
 * @code
 *   for (i = 0; i < ocp_catalogue_count(cat); i++)
 *       show(ocp_catalogue_service(cat, i));
 * @endcode
 */
OCP_API size_t ocp_catalogue_count(const ocp_catalogue *cat);
/** The index-th service in code order, or NULL past the end. */
OCP_API const ocp_service *ocp_catalogue_service(const ocp_catalogue *cat,
                                                 size_t index);

/** The number of categories; they are iterated like the services. */
OCP_API size_t ocp_catalogue_category_count(const ocp_catalogue *cat);
/** The index-th category in id order, or NULL past the end. */
OCP_API const ocp_service_category *
ocp_catalogue_category(const ocp_catalogue *cat, size_t index);

/** The catalogue's "edition" string ("" when the file has none). */
OCP_API const char *ocp_catalogue_edition(const ocp_catalogue *cat);

/* ---- one holder (JSON) ------------------------------------------------------ */

/**
 * Load one holder's file and build the issuance request.
 *
 * The whole request is set: holder (category and grade from the
 * certificate number), suite, PIN (empty when the file has none: the desk
 * asks for it), issue and expiry days, and the entitlements, built from
 * the catalogue with the file's overrides, in file order, each with slot
 * 0 and valid_from/valid_to in days.  terminal_id and datetime are left 0
 * for the caller.  req->entitlements points to ents.  On any error the
 * request and ents are zeroed.
 *
 * @param[in]  path   the JSON file
 * @param[in]  cat    the service catalogue
 * @param[in]  today  days since 2000-01-01: the default issue date
 * @param[out] req    the request
 * @param[out] ents   room for OCP_HOLDER_MAX_ENTITLEMENTS entitlements
 * @param[out] err    where it is wrong (may be NULL)
 * @return OCP_OK, OCP_E_ARGS, OCP_E_IO, OCP_E_NOMEM.
 */
OCP_API ocp_status ocp_holder_file_load(const char *path,
                                        const ocp_catalogue *cat,
                                        uint16_t today,
                                        ocp_issue_request *req,
                                        ocp_entitlement ents[16],
                                        ocp_parse_error *err);

/** As ocp_holder_file_load(), from len bytes of text in memory. */
OCP_API ocp_status ocp_holder_json_parse(const char *text, size_t len,
                                         const ocp_catalogue *cat,
                                         uint16_t today,
                                         ocp_issue_request *req,
                                         ocp_entitlement ents[16],
                                         ocp_parse_error *err);

/* ---- many holders (CSV) ------------------------------------------------------- */

typedef struct ocp_csv ocp_csv;

/**
 * Open a batch CSV and read its header line.
 * @param[in]  path  the file (read whole into memory, at most 64 MiB)
 * @param[out] out   the reader; close with ocp_batch_close()
 * @param[out] err   a header or file error (may be NULL)
 * @return OCP_OK, OCP_E_ARGS (bad header), OCP_E_IO, OCP_E_NOMEM.
 */
OCP_API ocp_status ocp_batch_open(const char *path, ocp_csv **out,
                                  ocp_parse_error *err);

/** As ocp_batch_open(), from len bytes of text in memory (copied). */
OCP_API ocp_status ocp_batch_open_buffer(const char *text, size_t len,
                                         ocp_csv **out, ocp_parse_error *err);

/** The number of data rows after the header, blank rows not counted
 *  (for progress: "row 3 of 120"). */
OCP_API size_t ocp_batch_rows(const ocp_csv *csv);

/**
 * Read the next row into an issuance request, as ocp_holder_file_load()
 * fills it (issue date today, the PIN empty when the cell is empty).
 *
 * A bad row returns OCP_E_ARGS with its error; the next call goes on with
 * the row after it, so a desk can issue the good rows and list the bad.
 * @code
 *   int line, done;
 *   for (;;) {
 *       st = ocp_batch_next(csv, cat, today, &req, ents, &line, &done, &err);
 *       if (st == OCP_OK && done)
 *           break;
 *       if (st == OCP_OK)
 *           issue_one(&req);
 *       else if (st == OCP_E_ARGS)
 *           printf("line %d, column %d: %s\n", err.line, err.column,
 *                  err.message);
 *       else
 *           break;   // memory: give up
 *   }
 * @endcode
 * @param[in,out] csv    the reader
 * @param[in]     cat    the service catalogue
 * @param[in]     today  the issue day
 * @param[out]    req    the request (zeroed unless a row was read)
 * @param[out]    ents   room for OCP_HOLDER_MAX_ENTITLEMENTS entitlements
 * @param[out]    line   the row's first line in the file (may be NULL)
 * @param[out]    done   1 when there is no row left (and OCP_OK), else 0
 * @param[out]    err    the row's error (may be NULL)
 * @return OCP_OK (a row, or the end with *done = 1), OCP_E_ARGS,
 *         OCP_E_NOMEM.
 */
OCP_API ocp_status ocp_batch_next(ocp_csv *csv, const ocp_catalogue *cat,
                                  uint16_t today, ocp_issue_request *req,
                                  ocp_entitlement ents[16], int *line,
                                  int *done, ocp_parse_error *err);

/** Close the reader and wipe its copy of the file.  NULL is allowed. */
OCP_API void ocp_batch_close(ocp_csv *csv);

#ifdef __cplusplus
}
#endif

#endif
