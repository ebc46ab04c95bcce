/* Shared by the registry's source files (registry*.c, audit.c). */
#ifndef OCP_REGISTRY_INTERNAL_H
#define OCP_REGISTRY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "ocp/registry.h"

struct ocp_registry {
    ocp_db *db;
    char *uri; /* as opened: the audit's threads open their own */
    char error[320];
};

/*
 * Uses of a replaced card that its replacement did not carry over (a
 * counter above the card's carried_counter) become debits of the new card
 * (docs/BACKOFFICE.md section 6): those among terminal's records with
 * sequence numbers from first_seq to last_seq.  Inside the caller's
 * transaction.
 */
ocp_status reg_note_debits(ocp_registry *r, uint32_t terminal,
                           uint32_t first_seq, uint32_t last_seq,
                           int64_t now);

/* The same for every stored use of one replaced card (its id in hex). */
ocp_status reg_note_card_debits(ocp_registry *r, const char *card_hex,
                                int64_t now);

/* The end of a listing query: its failure (the registry's error says
 * `doing`), else a row its callback could not read (OCP_E_DB). */
ocp_status reg_listed(ocp_registry *r, ocp_status st, int malformed,
                      const char *doing, const char *table);

/* The step from schema version 2 to 3 (registry_records.c), inside the
 * caller's transaction. */
ocp_status reg_schema_v3(ocp_registry *r);

/* Whether the registry is on PostgreSQL (else SQLite). */
int reg_is_postgresql(const ocp_registry *r);

/* Another connection to the same registry (a thread's own). */
ocp_status reg_open_again(const ocp_registry *r, ocp_registry **out);

/* error = what, then the database's reason when there is one. */
void reg_set_error(ocp_registry *r, const char *what);

/* Card ids as the registry stores them: 16 upper-case hex digits. */
void reg_hex(const uint8_t id[8], char out[17]);
int reg_unhex(const char *s, uint8_t id[8]);
/* Exactly 2n hex digits, either case: 0, else -1 (out zeroed first). */
int reg_unhex_n(const char *s, uint8_t *out, size_t n);

#endif
