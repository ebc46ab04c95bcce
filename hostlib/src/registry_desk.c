/*
 * The desk's side of the registry (ocp/registry.h): clerks who log in, the
 * trail of every desk action, and the second clerk's approval that large
 * credits and PIN unblocks need (docs/BACKOFFICE.md section 2).
 *
 * Passwords are kept as scrypt hashes: "scrypt$LOG2N$R$P$SALT$HASH" (salt
 * and hash in hex), so the cost can rise later without breaking old ones.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "ocp/registry.h"
#include "registry_internal.h"

#define SCRYPT_LOG2N 15u /* 32 MB, about 0.1 s: a login, not a tap */
#define SCRYPT_R 8u
#define SCRYPT_P 1u

static void hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static int scrypt(const char *password, const uint8_t salt[16], unsigned log2n,
                  unsigned r, unsigned p, uint8_t out[32])
{
    return EVP_PBE_scrypt(password, strlen(password), salt, 16,
                          (uint64_t)1 << log2n, r, p, 64u * 1024 * 1024, out,
                          32) == 1
               ? 0
               : -1;
}

/* The words a clerk's permission list may hold (docs/BACKOFFICE.md
 * section 2).  A typo must not become a permission no check ever asks
 * for, nor a comma-less list that has_permission() cannot split. */
static int valid_permissions(const char *list)
{
    static const char *const known[] = {"issue",   "grant",    "credit",
                                        "pin",     "lifecycle", "approve",
                                        "registry", "audit"};
    const char *p = list;
    size_t i, len;
    if (*p == '\0')
        return 1; /* a clerk who may do nothing yet */
    for (;;) {
        len = strcspn(p, ",");
        for (i = 0; i < sizeof known / sizeof known[0]; i++)
            if (strlen(known[i]) == len && strncmp(p, known[i], len) == 0)
                break;
        if (i == sizeof known / sizeof known[0])
            return 0;
        if (p[len] == '\0')
            return 1;
        p += len + 1;
    }
}

/* Checks what ocp_registry_add_clerk checks and makes the stored hash. */
static ocp_status new_clerk(ocp_registry *r, const char *login,
                            const char *display_name, const char *permissions,
                            const char *password, char stored[160])
{
    uint8_t salt[16], hash[32];
    char salt_hex[33], hash_hex[65];
    if (r == NULL || login == NULL || display_name == NULL ||
        permissions == NULL || password == NULL || login[0] == '\0')
        return OCP_E_ARGS;
    if (strlen(login) > 64 || strspn(login, "abcdefghijklmnopqrstuvwxyz"
                                            "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                            "0123456789._-") != strlen(login)) {
        snprintf(r->error, sizeof r->error,
                 "a clerk's login has 1 to 64 letters, digits, '.', '_' "
                 "or '-'");
        return OCP_E_ARGS;
    }
    if (!valid_permissions(permissions)) {
        snprintf(r->error, sizeof r->error,
                 "permissions are a comma-separated list of issue, grant, "
                 "credit, pin, lifecycle, approve, registry, audit");
        return OCP_E_ARGS;
    }
    if (strlen(password) < 8) {
        snprintf(r->error, sizeof r->error,
                 "a clerk's password has at least 8 characters");
        return OCP_E_ARGS;
    }
    if (RAND_bytes(salt, sizeof salt) != 1 ||
        scrypt(password, salt, SCRYPT_LOG2N, SCRYPT_R, SCRYPT_P, hash) != 0)
        return OCP_E_CRYPTO;
    hex(salt, sizeof salt, salt_hex);
    hex(hash, sizeof hash, hash_hex);
    OPENSSL_cleanse(hash, sizeof hash);
    snprintf(stored, 160, "scrypt$%u$%u$%u$%s$%s", SCRYPT_LOG2N, SCRYPT_R,
             SCRYPT_P, salt_hex, hash_hex);
    return OCP_OK;
}

static ocp_status insert_clerk(ocp_registry *r, const char *login,
                               const char *display_name,
                               const char *permissions, const char *stored)
{
    ocp_status st = db_query(r->db,
                             "INSERT INTO clerks(login, display_name, "
                             "permissions, password_hash) VALUES($1, $2, $3, "
                             "$4)",
                             (db_value[]){db_text(login), db_text(display_name),
                                          db_text(permissions),
                                          db_text(stored)},
                             4, NULL, NULL, NULL);
    if (st == OCP_E_DB_CONFLICT)
        snprintf(r->error, sizeof r->error, "clerk %s exists already", login);
    else if (st != OCP_OK)
        reg_set_error(r, "adding the clerk");
    return st;
}

ocp_status ocp_registry_add_clerk(ocp_registry *r, const char *login,
                                  const char *display_name,
                                  const char *permissions,
                                  const char *password, int64_t now)
{
    char stored[160];
    ocp_status st;
    (void)now;
    st = new_clerk(r, login, display_name, permissions, password, stored);
    if (st != OCP_OK)
        return st;
    return insert_clerk(r, login, display_name, permissions, stored);
}

/* 1 when the comma-separated list holds the permission. */
static int has_permission(const char *list, const char *permission)
{
    size_t len = strlen(permission);
    const char *p = list;
    while ((p = strstr(p, permission)) != NULL) {
        if ((p == list || p[-1] == ',') && (p[len] == ',' || p[len] == '\0'))
            return 1;
        p += len;
    }
    return 0;
}

ocp_status ocp_registry_add_first_clerk(ocp_registry *r, const char *login,
                                        const char *display_name,
                                        const char *permissions,
                                        const char *password, int64_t now)
{
    char stored[160];
    int64_t won = 0;
    ocp_status st;
    (void)now;
    st = new_clerk(r, login, display_name, permissions, password, stored);
    if (st != OCP_OK)
        return st;
    if (!has_permission(permissions, "registry")) {
        snprintf(r->error, sizeof r->error,
                 "the first clerk needs the registry permission, or no one "
                 "could add the others");
        return OCP_E_ARGS;
    }
    st = db_begin(r->db);
    /* "No clerk yet" and the insert must be one decision: on PostgreSQL
     * (READ COMMITTED) two desks would both see an empty table.  The meta
     * row's primary key makes the second wait for the first and then find
     * the row there. */
    if (st == OCP_OK)
        st = db_query(r->db,
                      "INSERT INTO meta(key, value) SELECT 'first_clerk', "
                      "CAST($1 AS TEXT) WHERE NOT EXISTS (SELECT 1 FROM "
                      "clerks) ON CONFLICT(key) DO NOTHING",
                      (db_value[]){db_text(login)}, 1, NULL, NULL, &won);
    if (st == OCP_OK && won != 1) {
        (void)db_rollback(r->db);
        snprintf(r->error, sizeof r->error,
                 "the registry has clerks already: one with the registry "
                 "permission adds the next");
        return OCP_E_DENIED;
    }
    if (st == OCP_OK)
        st = insert_clerk(r, login, display_name, permissions, stored);
    else
        reg_set_error(r, "adding the first clerk");
    if (st == OCP_OK) {
        st = db_commit(r->db);
        if (st != OCP_OK)
            reg_set_error(r, "adding the first clerk");
    } else {
        (void)db_rollback(r->db);
    }
    return st;
}

struct clerk_row {
    int found, disabled;
    char permissions[128];
    char hash[160];
};

static int clerk_row(void *ctx, const db_value *c, size_t n)
{
    struct clerk_row *k = ctx;
    if (n < 3 || c[0].type != DB_TEXT || c[1].type != DB_TEXT)
        return 1;
    snprintf(k->permissions, sizeof k->permissions, "%s", c[0].s);
    snprintf(k->hash, sizeof k->hash, "%s", c[1].s);
    k->disabled = c[2].type != DB_NULL;
    k->found = 1;
    return 1;
}

ocp_status ocp_registry_login(ocp_registry *r, const char *login,
                              const char *password, const char *permission)
{
    struct clerk_row k;
    unsigned log2n, rr, pp;
    uint8_t salt[16], want[32], got[32];
    char salt_hex[33], hash_hex[65];
    ocp_status st;
    int ok;
    if (r == NULL || login == NULL || password == NULL)
        return OCP_E_ARGS;
    memset(&k, 0, sizeof k);
    st = db_query(r->db,
                  "SELECT permissions, password_hash, disabled_at FROM "
                  "clerks WHERE login = $1",
                  (db_value[]){db_text(login)}, 1, clerk_row, &k, NULL);
    if (st != OCP_OK) {
        reg_set_error(r, "looking up the clerk");
        return st;
    }
    /* The same answer for an unknown login and a wrong password: the
     * message must not tell which logins exist. */
    ok = k.found && !k.disabled &&
         sscanf(k.hash, "scrypt$%u$%u$%u$%32[0-9a-f]$%64[0-9a-f]", &log2n,
                &rr, &pp, salt_hex, hash_hex) == 5 &&
         log2n >= 10 && log2n <= 20 && rr >= 1 && rr <= 32 && pp >= 1 &&
         pp <= 4 && reg_unhex_n(salt_hex, salt, 16) == 0 &&
         reg_unhex_n(hash_hex, want, 32) == 0 &&
         scrypt(password, salt, log2n, rr, pp, got) == 0 &&
         CRYPTO_memcmp(got, want, 32) == 0;
    OPENSSL_cleanse(got, sizeof got);
    if (!ok) {
        snprintf(r->error, sizeof r->error,
                 "unknown clerk, wrong password or disabled clerk");
        return OCP_E_DENIED;
    }
    if (permission != NULL && !has_permission(k.permissions, permission)) {
        snprintf(r->error, sizeof r->error, "clerk %s may not %s", login,
                 permission);
        return OCP_E_DENIED;
    }
    return OCP_OK;
}

ocp_status ocp_registry_clerk_may(ocp_registry *r, const char *login,
                                  const char *permission, int *may)
{
    struct clerk_row k;
    ocp_status st;
    if (r == NULL || login == NULL || permission == NULL || may == NULL)
        return OCP_E_ARGS;
    *may = 0;
    memset(&k, 0, sizeof k);
    st = db_query(r->db,
                  "SELECT permissions, password_hash, disabled_at FROM "
                  "clerks WHERE login = $1",
                  (db_value[]){db_text(login)}, 1, clerk_row, &k, NULL);
    if (st != OCP_OK) {
        reg_set_error(r, "looking up the clerk");
        return st;
    }
    *may = k.found && !k.disabled && has_permission(k.permissions, permission);
    return OCP_OK;
}

struct clerk_walk {
    ocp_registry_clerk_fn fn;
    void *ctx;
    int malformed;
};

static int clerk_walk_row(void *ctx, const db_value *c, size_t n)
{
    struct clerk_walk *w = ctx;
    ocp_registry_clerk k;
    if (n < 4 || c[0].type != DB_TEXT || c[1].type != DB_TEXT ||
        c[2].type != DB_TEXT) {
        w->malformed = 1;
        return 1;
    }
    k.login = c[0].s;
    k.display_name = c[1].s;
    k.permissions = c[2].s;
    k.disabled_at = c[3].type == DB_INT ? c[3].i : 0;
    return w->fn(w->ctx, &k);
}

ocp_status ocp_registry_list_clerks(ocp_registry *r, ocp_registry_clerk_fn fn,
                                    void *ctx)
{
    struct clerk_walk w;
    ocp_status st;
    if (r == NULL || fn == NULL)
        return OCP_E_ARGS;
    w.fn = fn;
    w.ctx = ctx;
    w.malformed = 0;
    /* Never the password hash: a listing goes to screens and logs. */
    st = db_query(r->db,
                  "SELECT login, display_name, permissions, disabled_at "
                  "FROM clerks ORDER BY login",
                  NULL, 0, clerk_walk_row, &w, NULL);
    return reg_listed(r, st, w.malformed, "listing the clerks", "clerks");
}

ocp_status ocp_registry_disable_clerk(ocp_registry *r, const char *login,
                                      int64_t now)
{
    struct clerk_row k;
    int64_t changed = 0;
    ocp_status st;
    int joined; /* inside the caller's transaction */
    if (r == NULL || login == NULL)
        return OCP_E_ARGS;
    joined = db_in_transaction(r->db);
    /* One statement decides and writes.  It keeps one active clerk with
     * the registry permission: without one, clerks could never be added
     * or disabled again (the bootstrap is for an empty registry only).
     * Disables take turns: two of them on the last two such clerks at
     * once would each see the other still active under PostgreSQL's READ
     * COMMITTED.  The schema version's row is the turn (SQLite's
     * BEGIN IMMEDIATE takes turns already); the statement after it sees
     * what the one before committed. */
    if (!joined && (st = db_begin(r->db)) != OCP_OK) {
        reg_set_error(r, "disabling the clerk");
        return st;
    }
    st = db_query(r->db,
                  "UPDATE meta SET value = value WHERE key = "
                  "'schema_version'",
                  NULL, 0, NULL, NULL, NULL);
    if (st == OCP_OK)
        st = db_query(r->db,
                      "UPDATE clerks SET disabled_at = $2 WHERE login = $1 "
                      "AND disabled_at IS NULL AND (',' || permissions || "
                      "',' NOT LIKE '%,registry,%' OR EXISTS (SELECT 1 FROM "
                      "clerks o WHERE o.login <> $1 AND o.disabled_at IS "
                      "NULL AND ',' || o.permissions || ',' LIKE "
                      "'%,registry,%'))",
                      (db_value[]){db_text(login), db_int(now)}, 2, NULL,
                      NULL, &changed);
    if (st == OCP_OK && !joined)
        st = db_commit(r->db);
    if (st != OCP_OK) {
        reg_set_error(r, "disabling the clerk");
        if (!joined)
            db_rollback(r->db);
        return st;
    }
    if (changed == 1)
        return OCP_OK;
    memset(&k, 0, sizeof k);
    st = db_query(r->db,
                  "SELECT permissions, password_hash, disabled_at FROM "
                  "clerks WHERE login = $1",
                  (db_value[]){db_text(login)}, 1, clerk_row, &k, NULL);
    if (st != OCP_OK) {
        reg_set_error(r, "looking up the clerk");
        return st;
    }
    if (!k.found || k.disabled) {
        snprintf(r->error, sizeof r->error, "clerk %s is %s", login,
                 k.found ? "disabled already" : "unknown");
        return OCP_E_ARGS;
    }
    snprintf(r->error, sizeof r->error,
             "clerk %s is the last active clerk with the registry "
             "permission: add another one first",
             login);
    return OCP_E_DENIED;
}

ocp_status ocp_registry_record_action(ocp_registry *r, const char *clerk,
                                      const char *action,
                                      const uint8_t card[8],
                                      const char *detail_json,
                                      int64_t approval_id, int64_t now)
{
    char id[17];
    ocp_status st;
    if (r == NULL || clerk == NULL || action == NULL)
        return OCP_E_ARGS;
    if (card != NULL)
        reg_hex(card, id);
    st = db_query(r->db,
                  "INSERT INTO actions(at, clerk, action, card_id, detail, "
                  "approval_id) VALUES($1, $2, $3, $4, $5, $6)",
                  (db_value[]){db_int(now), db_text(clerk), db_text(action),
                               card != NULL ? db_text(id) : db_null(),
                               db_text(detail_json),
                               approval_id > 0 ? db_int(approval_id)
                                               : db_null()},
                  6, NULL, NULL, NULL);
    if (st != OCP_OK)
        reg_set_error(r, "recording the desk action");
    return st;
}

static int meta_value(void *ctx, const db_value *c, size_t n)
{
    if (n >= 1 && c[0].type == DB_TEXT)
        *(int64_t *)ctx = strtoll(c[0].s, NULL, 10);
    return 1;
}

ocp_status ocp_registry_approval_threshold(ocp_registry *r, int64_t *fen)
{
    ocp_status st;
    if (r == NULL || fen == NULL)
        return OCP_E_ARGS;
    /* Missing (a registry someone edited by hand): 0, so that every
     * credit asks for a second clerk rather than none. */
    *fen = 0;
    st = db_query(r->db,
                  "SELECT value FROM meta WHERE key = "
                  "'approval_threshold_fen'",
                  NULL, 0, meta_value, fen, NULL);
    if (st != OCP_OK)
        reg_set_error(r, "reading the approval threshold");
    return st;
}

ocp_status ocp_registry_set_approval_threshold(ocp_registry *r, int64_t fen)
{
    char value[24];
    ocp_status st;
    if (r == NULL || fen < 0)
        return OCP_E_ARGS;
    snprintf(value, sizeof value, "%lld", (long long)fen);
    st = db_query(r->db,
                  "INSERT INTO meta(key, value) VALUES("
                  "'approval_threshold_fen', $1) ON CONFLICT(key) DO UPDATE "
                  "SET value = excluded.value",
                  (db_value[]){db_text(value)}, 1, NULL, NULL, NULL);
    if (st != OCP_OK)
        reg_set_error(r, "setting the approval threshold");
    return st;
}

ocp_status ocp_registry_needs_approval(ocp_registry *r, const char *action,
                                       int64_t amount, int *needed)
{
    int64_t threshold = 0;
    ocp_status st;
    if (r == NULL || action == NULL || needed == NULL)
        return OCP_E_ARGS;
    *needed = 0;
    if (strcmp(action, "pin-unblock") == 0) {
        *needed = 1;
        return OCP_OK;
    }
    if (strcmp(action, "credit") != 0)
        return OCP_OK;
    st = ocp_registry_approval_threshold(r, &threshold);
    if (st != OCP_OK)
        return st;
    *needed = amount > threshold;
    return OCP_OK;
}

static int id_row(void *ctx, const db_value *c, size_t n)
{
    if (n >= 1 && c[0].type == DB_INT)
        *(int64_t *)ctx = c[0].i;
    return 1;
}

ocp_status ocp_registry_request_approval(ocp_registry *r, const char *clerk,
                                         const char *action,
                                         const uint8_t card[8],
                                         int64_t amount, int64_t now,
                                         int64_t *id)
{
    char hexid[17];
    ocp_status st;
    if (r == NULL || clerk == NULL || action == NULL || card == NULL ||
        id == NULL)
        return OCP_E_ARGS;
    *id = 0;
    reg_hex(card, hexid);
    st = db_query(r->db,
                  "INSERT INTO approvals(action, card_id, amount, "
                  "requested_by, requested_at) VALUES($1, $2, $3, $4, $5) "
                  "RETURNING id",
                  (db_value[]){db_text(action), db_text(hexid),
                               db_int(amount), db_text(clerk), db_int(now)},
                  5, id_row, id, NULL);
    if (st != OCP_OK)
        reg_set_error(r, "requesting the approval");
    return st;
}

ocp_status ocp_registry_approve(ocp_registry *r, const char *approver,
                                int64_t id, int64_t now)
{
    int64_t changed = 0;
    ocp_status st;
    if (r == NULL || approver == NULL)
        return OCP_E_ARGS;
    /* One statement decides and writes: a second clerk, not the one who
     * asked, and only once. */
    st = db_query(r->db,
                  "UPDATE approvals SET approved_by = $2, approved_at = $3 "
                  "WHERE id = $1 AND approved_by IS NULL AND "
                  "requested_by <> $2",
                  (db_value[]){db_int(id), db_text(approver), db_int(now)},
                  3, NULL, NULL, &changed);
    if (st != OCP_OK) {
        reg_set_error(r, "approving");
        return st;
    }
    if (changed != 1) {
        snprintf(r->error, sizeof r->error,
                 "approval %lld: no such request waiting for a second "
                 "clerk (the requester cannot approve it)",
                 (long long)id);
        return OCP_E_DENIED;
    }
    return OCP_OK;
}

ocp_status ocp_registry_use_approval(ocp_registry *r, const char *clerk,
                                     int64_t id, const char *action,
                                     const uint8_t card[8], int64_t amount,
                                     int64_t now)
{
    char hexid[17];
    int64_t changed = 0;
    ocp_status st;
    if (r == NULL || clerk == NULL || action == NULL || card == NULL)
        return OCP_E_ARGS;
    reg_hex(card, hexid);
    /* Approved, unused, and for exactly this action, card and amount. */
    st = db_query(r->db,
                  "UPDATE approvals SET used_at = $6 WHERE id = $1 AND "
                  "requested_by = $2 AND action = $3 AND card_id = $4 AND "
                  "amount = $5 AND approved_by IS NOT NULL AND used_at IS NULL",
                  (db_value[]){db_int(id), db_text(clerk), db_text(action),
                               db_text(hexid), db_int(amount), db_int(now)},
                  6, NULL, NULL, &changed);
    if (st != OCP_OK) {
        reg_set_error(r, "using the approval");
        return st;
    }
    if (changed != 1) {
        snprintf(r->error, sizeof r->error,
                 "approval %lld does not cover this %s: not approved, used "
                 "already, or for another card, amount or clerk",
                 (long long)id, action);
        return OCP_E_DENIED;
    }
    return OCP_OK;
}

struct approval_walk {
    ocp_registry_approval_fn fn;
    void *ctx;
    int malformed;
};

static int approval_walk_row(void *ctx, const db_value *c, size_t n)
{
    struct approval_walk *w = ctx;
    ocp_registry_approval a;
    if (n < 8 || c[0].type != DB_INT || c[1].type != DB_TEXT ||
        c[2].type != DB_TEXT || reg_unhex(c[2].s, a.card_id) != 0 ||
        c[4].type != DB_TEXT) {
        w->malformed = 1;
        return 1;
    }
    a.id = c[0].i;
    a.action = c[1].s;
    a.amount = c[3].type == DB_INT ? c[3].i : 0;
    a.requested_by = c[4].s;
    a.approved_by = c[5].type == DB_TEXT ? c[5].s : NULL;
    a.approved_at = c[6].type == DB_INT ? c[6].i : 0;
    a.requested_at = c[7].type == DB_INT ? c[7].i : 0;
    return w->fn(w->ctx, &a);
}

ocp_status ocp_registry_list_approvals(ocp_registry *r,
                                       ocp_registry_approval_fn fn, void *ctx)
{
    struct approval_walk w;
    ocp_status st;
    if (r == NULL || fn == NULL)
        return OCP_E_ARGS;
    w.fn = fn;
    w.ctx = ctx;
    w.malformed = 0;
    st = db_query(r->db,
                  "SELECT id, action, card_id, amount, requested_by, "
                  "approved_by, approved_at, requested_at FROM approvals "
                  "WHERE used_at IS "
                  "NULL ORDER BY id",
                  NULL, 0, approval_walk_row, &w, NULL);
    return reg_listed(r, st, w.malformed, "listing the approvals", "approvals");
}

struct action_walk {
    ocp_registry_action_fn fn;
    void *ctx;
    int malformed;
};

static int action_walk_row(void *ctx, const db_value *c, size_t n)
{
    struct action_walk *w = ctx;
    ocp_registry_action a;
    memset(&a, 0, sizeof a);
    if (n < 7 || c[0].type != DB_INT || c[1].type != DB_INT ||
        c[2].type != DB_TEXT || c[3].type != DB_TEXT ||
        (c[4].type == DB_TEXT && reg_unhex(c[4].s, a.card_id) != 0)) {
        w->malformed = 1;
        return 1;
    }
    a.id = c[0].i;
    a.at = c[1].i;
    a.clerk = c[2].s;
    a.action = c[3].s;
    a.has_card = c[4].type == DB_TEXT;
    a.detail = c[5].type == DB_TEXT ? c[5].s : "";
    a.approval_id = c[6].type == DB_INT ? c[6].i : 0;
    return w->fn(w->ctx, &a);
}

ocp_status ocp_registry_list_actions(ocp_registry *r, const uint8_t card[8],
                                     ocp_registry_action_fn fn, void *ctx)
{
    struct action_walk w;
    char id[17];
    ocp_status st;
    if (r == NULL || fn == NULL)
        return OCP_E_ARGS;
    w.fn = fn;
    w.ctx = ctx;
    w.malformed = 0;
    if (card != NULL) {
        reg_hex(card, id);
        st = db_query(r->db,
                      "SELECT id, at, clerk, action, card_id, detail, "
                      "approval_id FROM actions WHERE card_id = $1 ORDER BY "
                      "id",
                      (db_value[]){db_text(id)}, 1, action_walk_row, &w,
                      NULL);
    } else {
        st = db_query(r->db,
                      "SELECT id, at, clerk, action, card_id, detail, "
                      "approval_id FROM actions ORDER BY id",
                      NULL, 0, action_walk_row, &w, NULL);
    }
    return reg_listed(r, st, w.malformed, "reading the desk trail", "actions");
}
