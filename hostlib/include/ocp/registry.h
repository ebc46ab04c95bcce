/**
 * @file ocp/registry.h
 * The back office's registry (docs/BACKOFFICE.md): cards, terminals, the
 * records terminals upload, on SQLite or PostgreSQL.
 *
 * Example, a terminal coming online (see also ocp_sync in ocp/sync.h):
 *     ocp_registry *r;
 *     char why[256];
 *     if (ocp_registry_open("sqlite:ocp-registry.db", &r, why,
 *                           sizeof why) == OCP_OK) {
 *         ocp_upload_result res;
 *         ocp_registry_upload(r, batch, len, sig, now, &res);
 *         ocp_registry_close(r);
 *     }
 */
#ifndef OCP_REGISTRY_H
#define OCP_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "ocp/batch.h"
#include "ocp/card.h"
#include "ocp/export.h"
#include "ocp/hotlist.h"
#include "ocp/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ocp_registry ocp_registry;

/** The schema version this libocp writes and reads. */
#define OCP_REGISTRY_SCHEMA 3

/**
 * Open a registry, creating or migrating its schema.
 * @param[in]  uri      `sqlite:PATH`, a bare path, or `postgresql://…`
 *                      (docs/DATABASE.md)
 * @param[out] err      on failure, why (never a password); may be NULL
 * @return OCP_OK; OCP_E_DB (unreachable, not a database, or a schema newer
 *         than this program); OCP_E_ARGS.
 */
OCP_API ocp_status ocp_registry_open(const char *uri, ocp_registry **out,
                                     char *err, size_t err_cap);
OCP_API void ocp_registry_close(ocp_registry *r);
/** Which database it is on: "sqlite" or "postgresql". */
OCP_API const char *ocp_registry_backend(const ocp_registry *r);
/** Why the last call failed, in English ("" if it did not); never a
 *  parameter value such as a certificate number. */
OCP_API const char *ocp_registry_error(const ocp_registry *r);

/* ---- terminals --------------------------------------------------------- */

/**
 * Enrol a terminal with its public key (DER SubjectPublicKeyInfo, from
 * ocp_terminal_key_create).
 * @param operator  who is paid for its uses ("bus-line-7", "clinic-3")
 * @param kind      "validator", "counter", "kiosk" or "desk"
 * @return OCP_OK; OCP_E_DB_CONFLICT when the id is enrolled already.
 */
OCP_API ocp_status ocp_registry_enrol_terminal(ocp_registry *r,
                                               uint32_t terminal_id,
                                               const char *operator_name,
                                               const char *kind,
                                               const uint8_t *pub,
                                               size_t pub_len, int64_t now);
/** Revoke a terminal: later uploads are refused, earlier ones kept. */
OCP_API ocp_status ocp_registry_revoke_terminal(ocp_registry *r,
                                                uint32_t terminal_id,
                                                int64_t now);

/**
 * May this terminal upload?  The sync asks first, so that a revoked
 * terminal learns it even when it has nothing to send.
 * @return OCP_OK when it is enrolled and not revoked; OCP_E_DENIED when it
 *         is unknown or revoked (ocp_registry_error() says which);
 *         OCP_E_DB.
 */
OCP_API ocp_status ocp_registry_check_terminal(ocp_registry *r,
                                               uint32_t terminal_id);

/** A terminal as ocp_registry_list_terminals() shows it. */
typedef struct {
    uint32_t terminal_id;
    const char *operator_name; /**< valid during the callback only */
    const char *kind;          /**< validator, counter, kiosk or desk */
    int64_t enrolled_at;       /**< seconds since 1970 */
    int64_t revoked_at;        /**< 0: not revoked */
    int64_t last_sync;         /**< 0: never synced */
    int clock_known;           /**< 0 until its first sync */
    int64_t clock_offset_s;    /**< terminal minus registry, last sync */
} ocp_registry_terminal;

/** Called once per terminal; return nonzero to stop. */
typedef int (*ocp_registry_terminal_fn)(void *ctx,
                                        const ocp_registry_terminal *t);

/**
 * Every enrolled terminal, revoked ones included, in id order, one row in
 * memory at a time.  The callback must not call back into `r`.
 * @return OCP_OK (also when fn stopped early); OCP_E_DB; OCP_E_ARGS.
 *
 * Example, the revoked ones:
 *     static int show(void *ctx, const ocp_registry_terminal *t)
 *     {
 *         if (t->revoked_at != 0)
 *             printf("%08X %s\n", t->terminal_id, t->operator_name);
 *         return 0;
 *     }
 *     st = ocp_registry_list_terminals(r, show, NULL);
 */
OCP_API ocp_status ocp_registry_list_terminals(ocp_registry *r,
                                               ocp_registry_terminal_fn fn,
                                               void *ctx);

/* ---- cards --------------------------------------------------------------- */

/** What the registry knows of a card (enough for the audit). */
typedef struct {
    uint8_t card_id[8];
    uint8_t suite;
    uint8_t txmac_version;   /**< the card's transaction-key version */
    uint8_t issuer_version;  /**< its issuer key's (for block cryptograms) */
    char state[16];          /**< active, blocked, terminated, replaced */
    uint16_t issue_date, expiry_date;
    uint8_t replaced_by[8];  /**< zeros unless replaced */
    int64_t replaced_at;     /**< seconds since 1970; 0 unless replaced */
} ocp_registry_card;

/**
 * Record what a card holds (the desk, at issuance or after a grant): each
 * entitlement by slot (slot 0 in e means the i-th of the list, 1-based),
 * its window for the audit and its remaining units as known now.
 */
OCP_API ocp_status ocp_registry_put_entitlements(ocp_registry *r,
                                                 const uint8_t card[8],
                                                 const ocp_entitlement *e,
                                                 size_t n, int64_t now);

/** Record a card (the desk, at issuance); replaces an earlier record. */
OCP_API ocp_status ocp_registry_put_card(ocp_registry *r,
                                         const ocp_registry_card *c,
                                         int64_t now);

/**
 * Record what the desk changed on a card the registry knows: its state
 * ("active", "blocked", "terminated"; NULL: unchanged) and its expiry
 * (days since 2000-01-01; 0: unchanged).  A replaced card keeps that
 * state.  OCP_E_ARGS (with the reason in ocp_registry_error()) for a
 * card the registry does not know.
 */
OCP_API ocp_status ocp_registry_card_changed(ocp_registry *r,
                                             const uint8_t card[8],
                                             const char *state,
                                             uint16_t expiry_date);

/**
 * A card's entitlements as the registry knows them, for a replacement
 * card: each recorded entitlement (table `entitlements`, slot order) with
 * its window, and `remaining` taken from the newest accepted record
 * uploaded for that card and service (the highest card counter), else the
 * value recorded at issuance.  A record is what the card itself said after
 * the use, so it wins over the issuance value.  `period_id` is the period
 * (as on a card, docs/PROTOCOL.md 2.8) that value belongs to, so that a
 * counter last seen in an earlier period can be started full; `flags`
 * (PIN required) are those recorded at issuance.
 * @param[in]  card  the card's id
 * @param[out] out   malloc'd array (free it); NULL when *n is 0
 * @param[out] n     how many
 * @return OCP_OK; OCP_E_ARGS for a card the registry does not know, or one
 *         already replaced (its entitlements are its replacement's now);
 *         OCP_E_DB; OCP_E_NOMEM.
 */
OCP_API ocp_status ocp_registry_known_entitlements(ocp_registry *r,
                                                   const uint8_t card[8],
                                                   ocp_entitlement **out,
                                                   size_t *n);

/**
 * Replace a lost card, in one transaction: the old card's state becomes
 * "replaced" with replaced_by = new_card and replaced_at = now, and the old
 * card goes on the registry's hotlist (as ocp_registry_hotlist_add, added
 * by "desk").  Nothing changes when any step is refused.
 * @param[in] reason  the hotlist's reason ("lost, replaced")
 * @param[in] now     the registry's time, seconds since 1970
 * @return OCP_OK; OCP_E_ARGS when the old card is unknown, already
 *         replaced, lacks its issuer key version, or is the new card
 *         (ocp_registry_error() says which); OCP_E_DB.
 *
 * Example, at the desk once the new card is issued:
 *     st = ocp_registry_replace_card(r, old_id, new_id, "lost", now);
 */
OCP_API ocp_status ocp_registry_replace_card(ocp_registry *r,
                                             const uint8_t old_card[8],
                                             const uint8_t new_card[8],
                                             const char *reason, int64_t now);

/* ---- the hotlist ----------------------------------------------------------- */

/**
 * Put a card the registry knows on the hotlist (again, if it was taken
 * off), with the reason and who decided.  OCP_E_ARGS for an unknown card:
 * its block cryptogram needs its suite and issuer key version.
 */
OCP_API ocp_status ocp_registry_hotlist_add(ocp_registry *r,
                                            const uint8_t card[8],
                                            const char *reason,
                                            const char *by, int64_t now);
/** Take a card off the hotlist (kept, with the time, for the audit). */
OCP_API ocp_status ocp_registry_hotlist_remove(ocp_registry *r,
                                               const uint8_t card[8],
                                               int64_t now);
/**
 * The cards on the hotlist now, as ocp_hotlist_write() takes them
 * (ocp/hotlist.h: id, suite, issuer key version); *cards is malloc'd.
 */
OCP_API ocp_status ocp_registry_hotlist_cards(ocp_registry *r,
                                              ocp_hotlist_card **cards,
                                              size_t *n);

/* ---- uploads ------------------------------------------------------------- */

typedef struct {
    size_t stored;      /**< records new to the registry */
    size_t duplicates;  /**< already stored with the same content */
    size_t finished;    /**< stored as pending before, final now */
    size_t conflicts;   /**< a different record under a stored number */
} ocp_upload_result;

/**
 * Store a terminal's signed batch (ocp/batch.h), idempotently, in one
 * transaction: a record already stored with the same content is skipped,
 * a pending one may become final, any other difference is kept apart for
 * the audit.
 * @param now  the registry's time (seconds since 1970)
 * @return OCP_OK; OCP_E_SIGNATURE (bad signature: nothing stored);
 *         OCP_E_DENIED (terminal unknown or revoked); OCP_E_BAD_RESPONSE
 *         (malformed batch); OCP_E_DB.
 */
OCP_API ocp_status ocp_registry_upload(ocp_registry *r, const uint8_t *batch,
                                       size_t len,
                                       const uint8_t sig[OCP_BATCH_SIGNATURE_LEN],
                                       int64_t now, ocp_upload_result *res);

/* ---- what terminals download ---------------------------------------- */

/**
 * Publish a file for terminals: name "hotlist" (signed, docs/HOTLIST.md)
 * or "catalogue" (JSON).  Versions only go forward (OCP_E_ARGS otherwise).
 */
OCP_API ocp_status ocp_registry_publish(ocp_registry *r, const char *name,
                                        uint32_t version, const uint8_t *body,
                                        size_t len, int64_t now);
/** The published file; *body is malloc'd (free it).  OCP_E_IO: none. */
OCP_API ocp_status ocp_registry_fetch(ocp_registry *r, const char *name,
                                      uint8_t **body, size_t *len,
                                      uint32_t *version);
/** The registry's clock (the database server's), seconds since 1970. */
OCP_API ocp_status ocp_registry_now(ocp_registry *r, int64_t *now);
/** Remember a terminal's clock offset (terminal minus registry), and the
 *  registry's time as its last sync. */
OCP_API ocp_status ocp_registry_note_clock(ocp_registry *r,
                                           uint32_t terminal_id,
                                           int64_t offset_s);

/* ---- clerks, the desk trail, approvals ----------------------------------- */

/**
 * Add a clerk.  permissions: comma-separated from issue, grant, credit,
 * pin, lifecycle, approve, registry, audit (OCP_E_ARGS for any other
 * word).  The password (8 characters or more) is kept as an scrypt hash.
 * The caller checks that whoever adds the clerk may (permission registry);
 * the first clerk of a registry is ocp_registry_add_first_clerk's.
 * @return OCP_OK; OCP_E_DB_CONFLICT when the login exists; OCP_E_ARGS;
 *         OCP_E_DB.
 */
OCP_API ocp_status ocp_registry_add_clerk(ocp_registry *r, const char *login,
                                          const char *display_name,
                                          const char *permissions,
                                          const char *password, int64_t now);
/**
 * Add a registry's first clerk, with no one logged in: the bootstrap.  Only
 * while the registry has no clerk at all (disabled ones count), and only
 * with the registry permission, so that someone can add the others.  Two
 * desks trying at once: one wins (meta first_clerk is the lock), the other
 * gets OCP_E_DENIED.
 * @return OCP_OK; OCP_E_DENIED when the registry has a clerk already;
 *         OCP_E_ARGS (as ocp_registry_add_clerk, or registry missing from
 *         permissions); OCP_E_DB.
 */
OCP_API ocp_status ocp_registry_add_first_clerk(ocp_registry *r,
                                                const char *login,
                                                const char *display_name,
                                                const char *permissions,
                                                const char *password,
                                                int64_t now);
/** A clerk as ocp_registry_list_clerks() shows it (never the password). */
typedef struct {
    const char *login;        /**< valid during the callback only */
    const char *display_name; /**< valid during the callback only */
    const char *permissions;  /**< comma-separated, as added */
    int64_t disabled_at;      /**< seconds since 1970; 0: active */
} ocp_registry_clerk;

/** Called once per clerk; return nonzero to stop. */
typedef int (*ocp_registry_clerk_fn)(void *ctx, const ocp_registry_clerk *k);

/**
 * Every clerk, disabled ones included, in login order.  The callback must
 * not call back into `r`.
 * @return OCP_OK (also when fn stopped early); OCP_E_DB; OCP_E_ARGS.
 */
OCP_API ocp_status ocp_registry_list_clerks(ocp_registry *r,
                                            ocp_registry_clerk_fn fn,
                                            void *ctx);
/**
 * Disable a clerk: no later login succeeds.  The row stays, so the trail
 * still names who did what.  The last active clerk holding the registry
 * permission is kept, or no one could add or disable clerks again.
 * @return OCP_OK; OCP_E_ARGS for an unknown or already disabled login;
 *         OCP_E_DENIED for the last registry clerk; OCP_E_DB.
 */
OCP_API ocp_status ocp_registry_disable_clerk(ocp_registry *r,
                                              const char *login, int64_t now);
/**
 * Whether an active clerk holds a permission, without a password: after
 * ocp_registry_login() succeeded, for commands that accept one of several
 * permissions.  *may is 0 for an unknown or disabled login.
 */
OCP_API ocp_status ocp_registry_clerk_may(ocp_registry *r, const char *login,
                                          const char *permission, int *may);
/**
 * Check a clerk's password and, when permission is not NULL, that the
 * clerk holds it.  OCP_E_DENIED for an unknown login, a wrong password or
 * a disabled clerk (one answer for all three) or a missing permission.
 */
OCP_API ocp_status ocp_registry_login(ocp_registry *r, const char *login,
                                      const char *password,
                                      const char *permission);
/** Add to the trail of desk actions (detail: JSON, never a PIN or key). */
OCP_API ocp_status ocp_registry_record_action(ocp_registry *r,
                                              const char *clerk,
                                              const char *action,
                                              const uint8_t card[8],
                                              const char *detail_json,
                                              int64_t approval_id,
                                              int64_t now);
/** The credit above which a second clerk must approve (meta
 *  approval_threshold_fen; 100000 in a new registry). */
OCP_API ocp_status ocp_registry_approval_threshold(ocp_registry *r,
                                                   int64_t *fen);
/** Set it (0 or more: 0 makes every credit need a second clerk). */
OCP_API ocp_status ocp_registry_set_approval_threshold(ocp_registry *r,
                                                       int64_t fen);
/** Whether an action needs a second clerk: a PIN unblock always, a credit
 *  above the registry's approval_threshold_fen. */
OCP_API ocp_status ocp_registry_needs_approval(ocp_registry *r,
                                               const char *action,
                                               int64_t amount, int *needed);
/** A clerk asks for approval of (action, card, amount); *id names it. */
OCP_API ocp_status ocp_registry_request_approval(ocp_registry *r,
                                                 const char *clerk,
                                                 const char *action,
                                                 const uint8_t card[8],
                                                 int64_t amount, int64_t now,
                                                 int64_t *id);
/** A second clerk approves (never the one who asked; once). */
OCP_API ocp_status ocp_registry_approve(ocp_registry *r, const char *approver,
                                        int64_t id, int64_t now);
/** The requesting clerk spends the approval on exactly that action, card
 *  and amount, once; OCP_E_DENIED otherwise. */
OCP_API ocp_status ocp_registry_use_approval(ocp_registry *r,
                                             const char *clerk, int64_t id,
                                             const char *action,
                                             const uint8_t card[8],
                                             int64_t amount, int64_t now);

/** An approval as ocp_registry_list_approvals() shows it. */
typedef struct {
    int64_t id;
    const char *action;       /**< credit, pin-unblock */
    uint8_t card_id[8];
    int64_t amount;           /**< fen for a credit; 0 for a PIN unblock */
    const char *requested_by; /**< valid during the callback only */
    const char *approved_by;  /**< NULL while it waits for a second clerk */
    int64_t approved_at;      /**< 0 while it waits */
    int64_t requested_at;     /**< 0 for a request from before schema 3 */
} ocp_registry_approval;

typedef int (*ocp_registry_approval_fn)(void *ctx,
                                        const ocp_registry_approval *a);

/**
 * The approvals not spent yet, waiting or approved, in id order.  The
 * callback must not call back into `r`.
 */
OCP_API ocp_status ocp_registry_list_approvals(ocp_registry *r,
                                               ocp_registry_approval_fn fn,
                                               void *ctx);

/** A row of the desk trail. */
typedef struct {
    int64_t id;
    int64_t at;            /**< the registry's time, seconds since 1970 */
    const char *clerk;     /**< valid during the callback only */
    const char *action;
    int has_card;          /**< 0: not about one card (a clerk added) */
    uint8_t card_id[8];
    const char *detail;    /**< JSON; "" when none */
    int64_t approval_id;   /**< 0: none */
} ocp_registry_action;

typedef int (*ocp_registry_action_fn)(void *ctx,
                                      const ocp_registry_action *a);

/**
 * The desk trail in the order it was written, of one card (card not NULL)
 * or all.  The detail can name services that tell of the holder's health:
 * the caller logs who read it (ocp_registry_log_access).  The callback
 * must not call back into `r`.
 * @return OCP_OK (also when fn stopped early); OCP_E_DB; OCP_E_ARGS.
 */
OCP_API ocp_status ocp_registry_list_actions(ocp_registry *r,
                                             const uint8_t card[8],
                                             ocp_registry_action_fn fn,
                                             void *ctx);

/* ---- data protection --------------------------------------------------- */

typedef struct {
    uint64_t uses, batches, actions, holders;
} ocp_purge_result;

/**
 * Apply the retention rule (meta retention_days, default 1095): delete
 * records, batches no record needs, desk actions and access-log entries
 * older than that, and pseudonymise holders whose cards all ended before
 * it (their keyed certificate hash is erased).  One transaction.
 */
OCP_API ocp_status ocp_registry_purge(ocp_registry *r, int64_t now,
                                      ocp_purge_result *res);

/** Log a read of sensitive holder data: who (a clerk or terminal), what,
 *  which card (may be NULL). */
OCP_API ocp_status ocp_registry_log_access(ocp_registry *r, const char *who,
                                           const char *what,
                                           const uint8_t card[8],
                                           int64_t now);

/**
 * A consistent copy of the whole registry in a file (SQLite: the online
 * backup API; PostgreSQL: pg_dump's custom format, mode 0600), and its
 * restoration over this registry (everything in it is replaced).
 */
OCP_API ocp_status ocp_registry_backup(ocp_registry *r, const char *path);
OCP_API ocp_status ocp_registry_restore(ocp_registry *r, const char *path);

/** Records stored in the registry (all terminals). */
OCP_API ocp_status ocp_registry_count_uses(ocp_registry *r, int64_t *count);

#ifdef __cplusplus
}
#endif

#endif
