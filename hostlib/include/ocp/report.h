/**
 * @file ocp/report.h
 * Settlement (docs/BACKOFFICE.md section 7): what each operator and
 * clinic is paid for, per service, over a period.  Only consumptions whose
 * certificate the audit accepts count; forged, cloned and out-of-window
 * records are counted apart.
 */
#ifndef OCP_REPORT_H
#define OCP_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "ocp/export.h"
#include "ocp/keystore.h"
#include "ocp/registry.h"
#include "ocp/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** One line: an operator's uses of one service. */
typedef struct {
    char operator_name[64];
    uint16_t service;
    uint8_t domain;
    uint64_t uses;      /**< consumptions that count */
    uint64_t amount;    /**< their amounts summed: rides or units, or fen
                             for a balance (the catalogue says which) */
    uint64_t excluded;  /**< consumptions the audit rejected */
} ocp_report_line;

/**
 * Settle the consumptions dated from day `from` to day `to` (days since
 * 2000-01-01, both included).  Lines are sorted by operator, then service.
 * @param[out] lines  malloc'd array of *n lines (free it)
 * @return OCP_OK; as ocp_audit otherwise.
 */
OCP_API ocp_status ocp_report(ocp_registry *r, ocp_keystore *ks,
                              uint16_t from, uint16_t to,
                              ocp_report_line **lines, size_t *n);

#ifdef __cplusplus
}
#endif

#endif
