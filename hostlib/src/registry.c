/*
 * The registry (ocp/registry.h): schema, terminals, cards and the
 * idempotent upload of signed batches, on either database backend
 * (db.h).  docs/BACKOFFICE.md is the design.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "ocp/registry.h"
#include "ocp/registry_access.h"
#include "ocp_calendar.h"
#include "ocp_wire.h"
#include "registry_internal.h"

/*
 * Schema version 1.  Card ids are 16 upper-case hex digits (readable in
 * both databases' own tools); times are seconds since 1970; days and
 * minutes are the card's (since 2000-01-01).
 */
static const char schema_v1[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE holders("
    "  holder_ref TEXT PRIMARY KEY, cert_hash {BLOB} UNIQUE,"
    "  district BIGINT, category BIGINT, grade BIGINT,"
    "  created_at BIGINT NOT NULL, pseudonymised_at BIGINT);"
    "CREATE TABLE cards("
    "  card_id TEXT PRIMARY KEY, holder_ref TEXT REFERENCES holders,"
    "  suite BIGINT NOT NULL, txmac_version BIGINT NOT NULL,"
    "  state TEXT NOT NULL, issue_date BIGINT NOT NULL,"
    "  expiry_date BIGINT NOT NULL, replaced_by TEXT, replaced_at BIGINT,"
    "  created_at BIGINT NOT NULL);"
    "CREATE TABLE card_keys("
    "  card_id TEXT NOT NULL REFERENCES cards, slot BIGINT NOT NULL,"
    "  version BIGINT NOT NULL, PRIMARY KEY(card_id, slot));"
    "CREATE TABLE entitlements("
    "  card_id TEXT NOT NULL REFERENCES cards, slot BIGINT NOT NULL,"
    "  service BIGINT NOT NULL, domain BIGINT NOT NULL, kind BIGINT NOT NULL,"
    "  valid_from BIGINT NOT NULL, valid_to BIGINT NOT NULL,"
    "  period BIGINT NOT NULL, limit_value BIGINT NOT NULL,"
    "  known_remaining BIGINT NOT NULL, known_at BIGINT NOT NULL,"
    "  flags BIGINT NOT NULL DEFAULT 0,"
    "  PRIMARY KEY(card_id, slot));"
    "CREATE TABLE terminals("
    "  terminal_id BIGINT PRIMARY KEY, operator TEXT NOT NULL,"
    "  kind TEXT NOT NULL, public_key {BLOB} NOT NULL,"
    "  enrolled_at BIGINT NOT NULL, revoked_at BIGINT,"
    "  last_sync BIGINT, clock_offset_s BIGINT);"
    "CREATE TABLE clerks("
    "  login TEXT PRIMARY KEY, display_name TEXT NOT NULL,"
    "  permissions TEXT NOT NULL, password_hash TEXT NOT NULL,"
    "  disabled_at BIGINT);"
    "CREATE TABLE approvals("
    "  id {SERIAL}, action TEXT NOT NULL, card_id TEXT, amount BIGINT,"
    "  requested_by TEXT NOT NULL, approved_by TEXT, approved_at BIGINT,"
    "  used_at BIGINT);"
    "CREATE TABLE actions("
    "  id {SERIAL}, at BIGINT NOT NULL, clerk TEXT NOT NULL,"
    "  action TEXT NOT NULL, card_id TEXT, detail TEXT,"
    "  approval_id BIGINT);"
    "CREATE TABLE batches("
    "  id {SERIAL}, terminal_id BIGINT NOT NULL REFERENCES terminals,"
    "  batch_no BIGINT NOT NULL, records BIGINT NOT NULL,"
    "  digest {BLOB} NOT NULL, body {BLOB} NOT NULL,"
    "  signature {BLOB} NOT NULL, uploaded_at BIGINT NOT NULL,"
    "  UNIQUE(terminal_id, digest));"
    "CREATE TABLE uses("
    "  terminal_id BIGINT NOT NULL, seq BIGINT NOT NULL,"
    "  card_id TEXT NOT NULL, domain BIGINT NOT NULL,"
    "  service BIGINT NOT NULL, amount BIGINT NOT NULL,"
    "  datetime BIGINT NOT NULL, outcome BIGINT NOT NULL,"
    "  counter BIGINT NOT NULL, remaining BIGINT NOT NULL,"
    "  flags BIGINT NOT NULL, cert {BLOB} NOT NULL,"
    "  batch_id BIGINT NOT NULL REFERENCES batches,"
    "  PRIMARY KEY(terminal_id, seq));"
    /* The audit reads every record in (card, counter, terminal, seq)
     * order: an index in that order holding every column lets it stream
     * the index alone, where (card_id, counter) cost a sort and a table
     * look-up per record (5.3 s instead of 1.6 s for 1 M on SQLite). */
    "CREATE INDEX uses_card ON uses(card_id, counter, terminal_id, seq,"
    "  domain, service, amount, datetime, outcome, remaining, flags, cert);"
    "CREATE TABLE use_conflicts("
    "  id {SERIAL}, terminal_id BIGINT NOT NULL, seq BIGINT NOT NULL,"
    "  card_id TEXT NOT NULL, domain BIGINT NOT NULL,"
    "  service BIGINT NOT NULL, amount BIGINT NOT NULL,"
    "  datetime BIGINT NOT NULL, outcome BIGINT NOT NULL,"
    "  counter BIGINT NOT NULL, remaining BIGINT NOT NULL,"
    "  flags BIGINT NOT NULL, cert {BLOB} NOT NULL,"
    "  batch_id BIGINT NOT NULL REFERENCES batches, seen_at BIGINT NOT NULL);"
    "CREATE TABLE hotlist("
    "  card_id TEXT PRIMARY KEY, reason TEXT NOT NULL,"
    "  added_at BIGINT NOT NULL, added_by TEXT NOT NULL, removed_at BIGINT);"
    "CREATE TABLE published("
    "  name TEXT PRIMARY KEY, version BIGINT NOT NULL,"
    "  issued_at BIGINT NOT NULL, body {BLOB} NOT NULL);"
    "CREATE TABLE access_log("
    "  id {SERIAL}, at BIGINT NOT NULL, who TEXT NOT NULL,"
    "  what TEXT NOT NULL, card_id TEXT);"
    "INSERT INTO meta(key, value) VALUES('schema_version', '1');"
    "INSERT INTO meta(key, value) VALUES('retention_days', '1095');"
    "INSERT INTO meta(key, value) VALUES('approval_threshold_fen', '100000');";

void reg_set_error(ocp_registry *r, const char *what)
{
    const char *why = r->db != NULL ? db_last_error(r->db) : "";
    snprintf(r->error, sizeof r->error, "%s%s%s", what,
             why[0] != '\0' ? ": " : "", why);
}

void reg_hex(const uint8_t id[8], char out[17])
{
    static const char digits[] = "0123456789ABCDEF";
    int i;
    for (i = 0; i < 8; i++) {
        out[2 * i] = digits[id[i] >> 4];
        out[2 * i + 1] = digits[id[i] & 15];
    }
    out[16] = '\0';
}

int reg_unhex_n(const char *s, uint8_t *out, size_t n)
{
    size_t i;
    memset(out, 0, n);
    /* Character by character: a short string ends at its NUL, which is
     * not a hex digit, so nothing past it is read. */
    for (i = 0; i < 2 * n; i++) {
        char c = s != NULL ? s[i] : '\0';
        int v = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                       : -1;
        if (v < 0)
            return -1;
        out[i / 2] = (uint8_t)(out[i / 2] << 4 | v);
    }
    return s[2 * n] == '\0' ? 0 : -1;
}

int reg_unhex(const char *s, uint8_t id[8])
{
    return reg_unhex_n(s, id, 8);
}

static int one_text(void *ctx, const db_value *c, size_t n)
{
    char *out = ctx;
    if (n >= 1 && c[0].type == DB_TEXT)
        snprintf(out, 32, "%s", c[0].s);
    return 1;
}

static int table_exists(void *ctx, const db_value *c, size_t n)
{
    (void)c;
    (void)n;
    *(int *)ctx = 1;
    return 1;
}

/* Creates the schema in an empty database, or checks its version. */
/* Version 2: what a replacement carried over, and the uses of the old
 * card it did not (docs/BACKOFFICE.md section 6). */
static const char schema_v2[] =
    "ALTER TABLE cards ADD COLUMN carried_counter BIGINT;"
    "ALTER TABLE terminals ADD COLUMN hotlist_version BIGINT;"
    "CREATE TABLE replacement_debits("
    "  terminal_id BIGINT NOT NULL, seq BIGINT NOT NULL,"
    "  old_card TEXT NOT NULL, new_card TEXT NOT NULL,"
    "  service BIGINT NOT NULL, domain BIGINT NOT NULL,"
    "  amount BIGINT NOT NULL, datetime BIGINT NOT NULL,"
    "  counter BIGINT NOT NULL, recorded_at BIGINT NOT NULL,"
    "  applied_at BIGINT,"
    "  PRIMARY KEY(terminal_id, seq));"
    "CREATE INDEX replacement_debits_card ON replacement_debits(new_card,"
    "  service);"
    "UPDATE meta SET value = '2' WHERE key = 'schema_version';";

/* The steps from each version to the next, in one transaction each; the
 * version is read again inside it, so two programs opening an old
 * registry at once migrate it once. */
static ocp_status to_v2(ocp_registry *r)
{
    return db_exec(r->db, schema_v2);
}

static ocp_status migrate_steps(ocp_registry *r)
{
    static ocp_status (*const steps[])(ocp_registry *) = {to_v2,
                                                          reg_schema_v3};
    size_t k;
    for (k = 0; k < sizeof steps / sizeof steps[0]; k++) {
        char version[32] = "";
        ocp_status st = db_begin(r->db);
        if (st == OCP_OK)
            st = db_query(r->db,
                          "SELECT value FROM meta WHERE key = "
                          "'schema_version'",
                          NULL, 0, one_text, version, NULL);
        if (st == OCP_OK && atoi(version) == (int)k + 1)
            st = steps[k](r);
        if (st == OCP_OK)
            st = db_commit(r->db);
        else
            db_rollback(r->db);
        if (st != OCP_OK) {
            reg_set_error(r, "migrating the registry schema");
            return st;
        }
    }
    return OCP_OK;
}

/*
 * PostgreSQL: the batches' bodies compressed with lz4 where the server
 * has it.  The audit reads every body; pglz's decompression was a tenth
 * of the server's time in it, lz4's is a fifth of that, for 9 % more
 * space (docs/BACKOFFICE.md section 10).  Older registries may run the
 * same ALTER: it applies to batches stored after it.
 */
static ocp_status compress_bodies_lz4(ocp_registry *r)
{
    int lz4 = 0;
    ocp_status st;
    if (!reg_is_postgresql(r))
        return OCP_OK;
    st = db_query(r->db,
                  "SELECT 1 FROM pg_settings WHERE name = "
                  "'default_toast_compression' AND 'lz4' = ANY(enumvals)",
                  NULL, 0, table_exists, &lz4, NULL);
    if (st != OCP_OK || !lz4)
        return st;
    return db_exec(r->db,
                   "ALTER TABLE batches ALTER COLUMN body SET COMPRESSION lz4");
}

static ocp_status migrate(ocp_registry *r)
{
    char version[32] = "";
    int exists = 0;
    ocp_status st;
    /* Portable: both databases answer this for a table named meta. */
    st = db_query(r->db, "SELECT 1 FROM meta WHERE key = 'schema_version'",
                  NULL, 0, table_exists, &exists, NULL);
    if (st != OCP_OK) {
        /* No meta table: an empty database. */
        st = db_exec(r->db, schema_v1);
        if (st == OCP_OK)
            st = compress_bodies_lz4(r);
        if (st != OCP_OK) {
            reg_set_error(r, "creating the registry schema");
            return st;
        }
        return migrate_steps(r);
    }
    st = db_query(r->db, "SELECT value FROM meta WHERE key = 'schema_version'",
                  NULL, 0, one_text, version, NULL);
    if (st != OCP_OK) {
        reg_set_error(r, "reading the schema version");
        return st;
    }
    if (atoi(version) > OCP_REGISTRY_SCHEMA) {
        snprintf(r->error, sizeof r->error,
                 "the registry has schema version %s, newer than this "
                 "program's %d: use a newer ocp",
                 version, OCP_REGISTRY_SCHEMA);
        return OCP_E_DB;
    }
    return atoi(version) < OCP_REGISTRY_SCHEMA ? migrate_steps(r) : OCP_OK;
}

ocp_status ocp_registry_open(const char *uri, ocp_registry **out, char *err,
                             size_t err_cap)
{
    ocp_registry *r;
    ocp_status st;
    if (err != NULL && err_cap > 0)
        err[0] = '\0';
    if (uri == NULL || out == NULL)
        return OCP_E_ARGS;
    *out = NULL;
    r = calloc(1, sizeof *r);
    if (r == NULL)
        return OCP_E_NOMEM;
    r->uri = strdup(uri);
    st = r->uri != NULL ? db_open(uri, &r->db, r->error, sizeof r->error)
                        : OCP_E_NOMEM;
    if (st == OCP_OK)
        st = migrate(r);
    if (st != OCP_OK) {
        if (err != NULL && err_cap > 0)
            snprintf(err, err_cap, "%s", r->error);
        ocp_registry_close(r);
        return st;
    }
    *out = r;
    return OCP_OK;
}

void ocp_registry_close(ocp_registry *r)
{
    if (r == NULL)
        return;
    db_close(r->db);
    free(r->uri);
    free(r);
}

ocp_status reg_listed(ocp_registry *r, ocp_status st, int malformed,
                      const char *doing, const char *table)
{
    if (st != OCP_OK) {
        reg_set_error(r, doing);
        return st;
    }
    if (malformed) {
        snprintf(r->error, sizeof r->error,
                 "the %s table holds a malformed row", table);
        return OCP_E_DB;
    }
    return OCP_OK;
}

ocp_status reg_open_again(const ocp_registry *r, ocp_registry **out)
{
    return ocp_registry_open(r->uri, out, NULL, 0);
}

const char *ocp_registry_error(const ocp_registry *r)
{
    return r != NULL ? r->error : "no registry";
}

const char *ocp_registry_backend(const ocp_registry *r)
{
    return r != NULL ? db_backend(r->db) : "none";
}

int reg_is_postgresql(const ocp_registry *r)
{
    return strcmp(ocp_registry_backend(r), "postgresql") == 0;
}

ocp_status ocp_registry_enrol_terminal(ocp_registry *r, uint32_t terminal_id,
                                       const char *operator_name,
                                       const char *kind, const uint8_t *pub,
                                       size_t pub_len, int64_t now)
{
    ocp_status st;
    if (r == NULL || operator_name == NULL || kind == NULL || pub == NULL ||
        pub_len == 0)
        return OCP_E_ARGS;
    if (strcmp(kind, "validator") != 0 && strcmp(kind, "counter") != 0 &&
        strcmp(kind, "kiosk") != 0 && strcmp(kind, "desk") != 0) {
        snprintf(r->error, sizeof r->error,
                 "a terminal is a validator, counter, kiosk or desk");
        return OCP_E_ARGS;
    }
    st = db_query(r->db,
                  "INSERT INTO terminals(terminal_id, operator, kind, "
                  "public_key, enrolled_at) VALUES($1, $2, $3, $4, $5)",
                  (db_value[]){db_int(terminal_id), db_text(operator_name),
                               db_text(kind), db_blob(pub, pub_len),
                               db_int(now)},
                  5, NULL, NULL, NULL);
    if (st == OCP_E_DB_CONFLICT)
        snprintf(r->error, sizeof r->error,
                 "terminal %08X is enrolled already", terminal_id);
    else if (st != OCP_OK)
        reg_set_error(r, "enrolling the terminal");
    return st;
}

ocp_status ocp_registry_revoke_terminal(ocp_registry *r, uint32_t terminal_id,
                                        int64_t now)
{
    int64_t changed = 0;
    ocp_status st;
    if (r == NULL)
        return OCP_E_ARGS;
    st = db_query(r->db,
                  "UPDATE terminals SET revoked_at = $2 "
                  "WHERE terminal_id = $1 AND revoked_at IS NULL",
                  (db_value[]){db_int(terminal_id), db_int(now)}, 2, NULL,
                  NULL, &changed);
    if (st != OCP_OK) {
        reg_set_error(r, "revoking the terminal");
        return st;
    }
    if (changed == 0) {
        snprintf(r->error, sizeof r->error,
                 "no enrolled terminal %08X that is not revoked already",
                 terminal_id);
        return OCP_E_ARGS;
    }
    /* Its login too, if it has one (ocp/registry_access.h). */
    return reg_is_postgresql(r) ? ocp_registry_terminal_logout(r, terminal_id)
                                : OCP_OK;
}

struct terminal_state {
    int found, revoked;
};

static int terminal_state_row(void *ctx, const db_value *c, size_t n)
{
    struct terminal_state *t = ctx;
    t->found = 1;
    t->revoked = n >= 1 && c[0].type != DB_NULL;
    return 1;
}

ocp_status ocp_registry_check_terminal(ocp_registry *r, uint32_t terminal_id)
{
    struct terminal_state t = {0, 0};
    ocp_status st;
    if (r == NULL)
        return OCP_E_ARGS;
    st = db_query(r->db,
                  "SELECT revoked_at FROM terminals WHERE terminal_id = $1",
                  (db_value[]){db_int(terminal_id)}, 1, terminal_state_row,
                  &t, NULL);
    if (st != OCP_OK) {
        reg_set_error(r, "looking up the terminal");
        return st;
    }
    if (!t.found || t.revoked) {
        snprintf(r->error, sizeof r->error, "terminal %08X is %s",
                 terminal_id, t.found ? "revoked" : "not enrolled");
        return OCP_E_DENIED;
    }
    return OCP_OK;
}

struct terminal_walk {
    ocp_registry_terminal_fn fn;
    void *ctx;
    int malformed;
};

static int terminal_walk_row(void *ctx, const db_value *c, size_t n)
{
    struct terminal_walk *w = ctx;
    ocp_registry_terminal t;
    if (n < 7 || c[0].type != DB_INT || c[1].type != DB_TEXT ||
        c[2].type != DB_TEXT || c[3].type != DB_INT) {
        w->malformed = 1;
        return 1;
    }
    memset(&t, 0, sizeof t);
    t.terminal_id = (uint32_t)c[0].i;
    t.operator_name = c[1].s;
    t.kind = c[2].s;
    t.enrolled_at = c[3].i;
    t.revoked_at = c[4].type == DB_INT ? c[4].i : 0;
    t.last_sync = c[5].type == DB_INT ? c[5].i : 0;
    t.clock_known = c[6].type == DB_INT;
    t.clock_offset_s = t.clock_known ? c[6].i : 0;
    return w->fn(w->ctx, &t);
}

ocp_status ocp_registry_list_terminals(ocp_registry *r,
                                       ocp_registry_terminal_fn fn, void *ctx)
{
    struct terminal_walk w;
    ocp_status st;
    if (r == NULL || fn == NULL)
        return OCP_E_ARGS;
    w.fn = fn;
    w.ctx = ctx;
    w.malformed = 0;
    st = db_query(r->db,
                  "SELECT terminal_id, operator, kind, enrolled_at, "
                  "revoked_at, last_sync, clock_offset_s FROM terminals "
                  "ORDER BY terminal_id",
                  NULL, 0, terminal_walk_row, &w, NULL);
    return reg_listed(r, st, w.malformed, "listing the terminals", "terminals");
}

ocp_status ocp_registry_put_card(ocp_registry *r, const ocp_registry_card *c,
                                 int64_t now)
{
    char id[17], replaced[17];
    static const uint8_t none[8];
    int own_tx;
    ocp_status st;
    if (r == NULL || c == NULL)
        return OCP_E_ARGS;
    reg_hex(c->card_id, id);
    reg_hex(c->replaced_by, replaced);
    own_tx = !db_in_transaction(r->db);
    st = own_tx ? db_begin(r->db) : OCP_OK;
    if (st == OCP_OK)
        st = db_query(
        r->db,
        "INSERT INTO cards(card_id, suite, txmac_version, state, issue_date, "
        "expiry_date, replaced_by, replaced_at, created_at) "
        "VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9) "
        "ON CONFLICT(card_id) DO UPDATE SET suite = excluded.suite, "
        "txmac_version = excluded.txmac_version, state = excluded.state, "
        "issue_date = excluded.issue_date, "
        "expiry_date = excluded.expiry_date, "
        "replaced_by = excluded.replaced_by, "
        "replaced_at = excluded.replaced_at",
        (db_value[]){db_text(id), db_int(c->suite), db_int(c->txmac_version),
                     db_text(c->state), db_int(c->issue_date),
                     db_int(c->expiry_date),
                     memcmp(c->replaced_by, none, 8) != 0 ? db_text(replaced)
                                                          : db_null(),
                     c->replaced_at != 0 ? db_int(c->replaced_at) : db_null(),
                     db_int(now)},
        9, NULL, NULL, NULL);
    /* The key versions a block cryptogram and the audit need. */
    if (st == OCP_OK && c->issuer_version != 0)
        st = db_query(r->db,
                      "INSERT INTO card_keys(card_id, slot, version) "
                      "VALUES($1, $2, $3) ON CONFLICT(card_id, slot) DO "
                      "UPDATE SET version = excluded.version",
                      (db_value[]){db_text(id), db_int(OCP_ROLE_ISSUER),
                                   db_int(c->issuer_version)},
                      3, NULL, NULL, NULL);
    if (own_tx && st == OCP_OK)
        st = db_commit(r->db);
    else if (own_tx)
        db_rollback(r->db);
    if (st != OCP_OK)
        reg_set_error(r, "recording the card");
    return st;
}

ocp_status ocp_registry_card_changed(ocp_registry *r, const uint8_t card[8],
                                    const char *state, uint16_t expiry_date)
{
    char id[17];
    int64_t changed = 0;
    ocp_status st;
    if (r == NULL || card == NULL ||
        (state != NULL && strcmp(state, "active") != 0 &&
         strcmp(state, "blocked") != 0 && strcmp(state, "terminated") != 0))
        return OCP_E_ARGS;
    reg_hex(card, id);
    st = db_query(r->db,
                  "UPDATE cards SET state = CASE WHEN state = 'replaced' OR "
                  "$2 = '' THEN state ELSE $2 END, expiry_date = CASE WHEN "
                  "$3 = 0 THEN expiry_date ELSE $3 END WHERE card_id = $1",
                  (db_value[]){db_text(id),
                               db_text(state != NULL ? state : ""),
                               db_int(expiry_date)},
                  3, NULL, NULL, &changed);
    if (st != OCP_OK) {
        reg_set_error(r, "recording the card's change");
        return st;
    }
    if (changed == 0) {
        snprintf(r->error, sizeof r->error, "card %s is not in the registry",
                 id);
        return OCP_E_ARGS;
    }
    return OCP_OK;
}

ocp_status ocp_registry_hotlist_add(ocp_registry *r, const uint8_t card[8],
                                    const char *reason, const char *by,
                                    int64_t now)
{
    char id[17];
    int64_t changed = 0;
    ocp_status st;
    if (r == NULL || card == NULL || reason == NULL || by == NULL)
        return OCP_E_ARGS;
    reg_hex(card, id);
    /* Only a card whose issuer key version is known: its terminals will
     * need the block cryptogram made with that key. */
    st = db_query(r->db,
                  "INSERT INTO hotlist(card_id, reason, added_at, added_by) "
                  "SELECT card_id, $2, $3, $4 FROM card_keys WHERE "
                  "card_id = $1 AND slot = 1 "
                  "ON CONFLICT(card_id) DO UPDATE SET reason = "
                  "excluded.reason, added_at = excluded.added_at, added_by = "
                  "excluded.added_by, removed_at = NULL",
                  (db_value[]){db_text(id), db_text(reason), db_int(now),
                               db_text(by)},
                  4, NULL, NULL, &changed);
    if (st != OCP_OK) {
        reg_set_error(r, "adding the card to the hotlist");
        return st;
    }
    if (changed == 0) {
        snprintf(r->error, sizeof r->error,
                 "card %s is not in the registry with its issuer key version",
                 id);
        return OCP_E_ARGS;
    }
    return OCP_OK;
}

ocp_status ocp_registry_hotlist_remove(ocp_registry *r, const uint8_t card[8],
                                       int64_t now)
{
    char id[17];
    int64_t changed = 0;
    ocp_status st;
    if (r == NULL || card == NULL)
        return OCP_E_ARGS;
    reg_hex(card, id);
    st = db_query(r->db,
                  "UPDATE hotlist SET removed_at = $2 WHERE card_id = $1 AND "
                  "removed_at IS NULL",
                  (db_value[]){db_text(id), db_int(now)}, 2, NULL, NULL,
                  &changed);
    if (st != OCP_OK) {
        reg_set_error(r, "taking the card off the hotlist");
        return st;
    }
    if (changed == 0) {
        snprintf(r->error, sizeof r->error, "card %s is not on the hotlist",
                 id);
        return OCP_E_ARGS;
    }
    return OCP_OK;
}

struct listed_cards {
    ocp_hotlist_card *cards;
    size_t n, cap;
    int nomem;
};

static int listed_row(void *ctx, const db_value *c, size_t n)
{
    struct listed_cards *l = ctx;
    ocp_hotlist_card *e;
    if (n < 3 || c[0].type != DB_TEXT)
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        ocp_hotlist_card *p = realloc(l->cards, cap * sizeof *p);
        if (p == NULL) {
            l->nomem = 1;
            return 1;
        }
        l->cards = p;
        l->cap = cap;
    }
    e = &l->cards[l->n];
    if (reg_unhex(c[0].s, e->card_id) != 0)
        return 0;
    e->suite = (uint8_t)c[1].i;
    e->issuer_key_version = (uint8_t)c[2].i;
    l->n++;
    return 0;
}

ocp_status ocp_registry_hotlist_cards(ocp_registry *r,
                                      ocp_hotlist_card **cards, size_t *n)
{
    struct listed_cards l;
    ocp_status st;
    if (r == NULL || cards == NULL || n == NULL)
        return OCP_E_ARGS;
    memset(&l, 0, sizeof l);
    st = db_query(r->db,
                  "SELECT h.card_id, c.suite, k.version FROM hotlist h "
                  "JOIN cards c ON c.card_id = h.card_id "
                  "JOIN card_keys k ON k.card_id = h.card_id AND k.slot = 1 "
                  "WHERE h.removed_at IS NULL ORDER BY h.card_id",
                  NULL, 0, listed_row, &l, NULL);
    if (st == OCP_OK && l.nomem)
        st = OCP_E_NOMEM;
    if (st != OCP_OK) {
        free(l.cards);
        reg_set_error(r, "reading the hotlist");
        return st;
    }
    *cards = l.cards;
    *n = l.n;
    return OCP_OK;
}

static int one_int(void *ctx, const db_value *c, size_t n)
{
    if (n >= 1 && c[0].type == DB_INT)
        *(int64_t *)ctx = c[0].i;
    return 1;
}

ocp_status ocp_registry_count_uses(ocp_registry *r, int64_t *count)
{
    ocp_status st;
    if (r == NULL || count == NULL)
        return OCP_E_ARGS;
    *count = 0;
    st = db_query(r->db, "SELECT COUNT(*) FROM uses", NULL, 0, one_int, count,
                  NULL);
    if (st != OCP_OK)
        reg_set_error(r, "counting the records");
    return st;
}

ocp_status ocp_registry_publish(ocp_registry *r, const char *name,
                                uint32_t version, const uint8_t *body,
                                size_t len, int64_t now)
{
    int64_t changes = 0;
    ocp_status st;
    if (r == NULL || name == NULL || body == NULL)
        return OCP_E_ARGS;
    /* Only forward: an older version never replaces a newer one. */
    st = db_query(r->db,
                  "INSERT INTO published(name, version, issued_at, body) "
                  "VALUES($1, $2, $3, $4) ON CONFLICT(name) DO UPDATE SET "
                  "version = excluded.version, issued_at = excluded.issued_at, "
                  "body = excluded.body "
                  "WHERE published.version < excluded.version",
                  (db_value[]){db_text(name), db_int(version), db_int(now),
                               db_blob(body, len)},
                  4, NULL, NULL, &changes);
    if (st != OCP_OK) {
        reg_set_error(r, "publishing the file");
        return st;
    }
    if (changes == 0) {
        snprintf(r->error, sizeof r->error,
                 "a %s of version %u or newer is published already", name,
                 version);
        return OCP_E_ARGS;
    }
    return OCP_OK;
}

struct fetched {
    uint8_t *body;
    size_t len;
    uint32_t version;
    int found;
    int nomem;
};

static int fetched_row(void *ctx, const db_value *c, size_t n)
{
    struct fetched *f = ctx;
    if (n < 2 || c[0].type != DB_INT || c[1].type != DB_BLOB)
        return 1;
    f->body = malloc(c[1].len > 0 ? c[1].len : 1);
    if (f->body == NULL) {
        f->nomem = 1;
        return 1;
    }
    memcpy(f->body, c[1].b, c[1].len);
    f->len = c[1].len;
    f->version = (uint32_t)c[0].i;
    f->found = 1;
    return 1;
}

ocp_status ocp_registry_fetch(ocp_registry *r, const char *name,
                              uint8_t **body, size_t *len, uint32_t *version)
{
    struct fetched f;
    ocp_status st;
    if (r == NULL || name == NULL || body == NULL || len == NULL ||
        version == NULL)
        return OCP_E_ARGS;
    *body = NULL;
    *len = 0;
    *version = 0;
    memset(&f, 0, sizeof f);
    st = db_query(r->db,
                  "SELECT version, body FROM published WHERE name = $1",
                  (db_value[]){db_text(name)}, 1, fetched_row, &f, NULL);
    if (st != OCP_OK) {
        free(f.body);
        reg_set_error(r, "reading the published file");
        return st;
    }
    if (f.nomem)
        return OCP_E_NOMEM;
    if (!f.found) {
        snprintf(r->error, sizeof r->error, "no %s is published", name);
        return OCP_E_IO;
    }
    *body = f.body;
    *len = f.len;
    *version = f.version;
    return OCP_OK;
}

ocp_status ocp_registry_now(ocp_registry *r, int64_t *now)
{
    ocp_status st;
    if (r == NULL || now == NULL)
        return OCP_E_ARGS;
    *now = 0;
    /* The database server's clock, which every terminal's sync compares
     * its own with. */
    st = db_query(r->db,
                  reg_is_postgresql(r)
                      ? "SELECT CAST(EXTRACT(EPOCH FROM now()) AS BIGINT)"
                      : "SELECT CAST(strftime('%s', 'now') AS INTEGER)",
                  NULL, 0, one_int, now, NULL);
    if (st != OCP_OK)
        reg_set_error(r, "reading the registry's clock");
    return st;
}

ocp_status ocp_registry_note_clock(ocp_registry *r, uint32_t terminal_id,
                                   int64_t offset_s)
{
    int64_t now = 0;
    ocp_status st;
    if (r == NULL)
        return OCP_E_ARGS;
    /* A sync with nothing to upload still counts as one: the terminal
     * fetched the hotlist, which is what `last_sync` is asked about. */
    st = ocp_registry_now(r, &now);
    if (st != OCP_OK)
        return st;
    st = db_query(r->db,
                  "UPDATE terminals SET clock_offset_s = $2, last_sync = $3 "
                  "WHERE terminal_id = $1",
                  (db_value[]){db_int(terminal_id), db_int(offset_s),
                               db_int(now)},
                  3, NULL, NULL, NULL);
    if (st != OCP_OK)
        reg_set_error(r, "recording the terminal's clock");
    return st;
}

ocp_status ocp_registry_backup(ocp_registry *r, const char *path)
{
    ocp_status st;
    if (r == NULL || path == NULL)
        return OCP_E_ARGS;
    st = db_backup(r->db, path);
    if (st != OCP_OK)
        reg_set_error(r, "backing up the registry");
    return st;
}

ocp_status ocp_registry_restore(ocp_registry *r, const char *path)
{
    ocp_status st;
    if (r == NULL || path == NULL)
        return OCP_E_ARGS;
    st = db_restore(r->db, path);
    if (st == OCP_OK)
        st = migrate(r); /* a backup from an older program moves forward */
    else
        reg_set_error(r, "restoring the registry");
    return st;
}

static int meta_int(void *ctx, const db_value *c, size_t n)
{
    if (n >= 1 && c[0].type == DB_TEXT)
        *(int64_t *)ctx = strtoll(c[0].s, NULL, 10);
    return 1;
}

ocp_status ocp_registry_log_access(ocp_registry *r, const char *who,
                                   const char *what, const uint8_t card[8],
                                   int64_t now)
{
    char id[17];
    ocp_status st;
    if (r == NULL || who == NULL || what == NULL)
        return OCP_E_ARGS;
    if (card != NULL)
        reg_hex(card, id);
    st = db_query(r->db,
                  "INSERT INTO access_log(at, who, what, card_id) "
                  "VALUES($1, $2, $3, $4)",
                  (db_value[]){db_int(now), db_text(who), db_text(what),
                               card != NULL ? db_text(id) : db_null()},
                  4, NULL, NULL, NULL);
    if (st != OCP_OK)
        reg_set_error(r, "logging the access");
    return st;
}

ocp_status ocp_registry_purge(ocp_registry *r, int64_t now,
                              ocp_purge_result *res)
{
    int64_t days = 0, cutoff_s, cutoff_minutes, n = 0;
    ocp_status st;
    if (r == NULL || res == NULL)
        return OCP_E_ARGS;
    memset(res, 0, sizeof *res);
    st = db_query(r->db,
                  "SELECT value FROM meta WHERE key = 'retention_days'", NULL,
                  0, meta_int, &days, NULL);
    if (st != OCP_OK || days <= 0) {
        snprintf(r->error, sizeof r->error, "no valid retention_days");
        return st != OCP_OK ? st : OCP_E_DB;
    }
    cutoff_s = now - days * 86400;
    /* Records carry the card's minutes since 2000-01-01. */
    cutoff_minutes = (cutoff_s - 946684800LL) / 60;
    st = db_begin(r->db);
    if (st == OCP_OK)
        st = db_query(r->db, "DELETE FROM uses WHERE datetime < $1",
                      (db_value[]){db_int(cutoff_minutes)}, 1, NULL, NULL,
                      &n);
    res->uses = (uint64_t)n;
    if (st == OCP_OK)
        st = db_query(r->db, "DELETE FROM use_conflicts WHERE datetime < $1",
                      (db_value[]){db_int(cutoff_minutes)}, 1, NULL, NULL,
                      &n);
    /* A batch goes once no record points at it any more. */
    if (st == OCP_OK)
        st = db_query(r->db,
                      "DELETE FROM batches WHERE uploaded_at < $1 AND "
                      "NOT EXISTS (SELECT 1 FROM uses u WHERE u.batch_id = "
                      "batches.id) AND NOT EXISTS (SELECT 1 FROM "
                      "use_conflicts c WHERE c.batch_id = batches.id)",
                      (db_value[]){db_int(cutoff_s)}, 1, NULL, NULL, &n);
    res->batches = (uint64_t)n;
    if (st == OCP_OK)
        st = db_query(r->db,
                      "DELETE FROM actions WHERE at < $1",
                      (db_value[]){db_int(cutoff_s)}, 1, NULL, NULL, &n);
    res->actions = (uint64_t)n;
    if (st == OCP_OK)
        st = db_query(r->db, "DELETE FROM access_log WHERE at < $1",
                      (db_value[]){db_int(cutoff_s)}, 1, NULL, NULL, NULL);
    /* Holders whose every card ended before the cutoff: the keyed hash
     * of the certificate number is replaced by one of nothing, so the
     * person can no longer be found, while counts by district stay. */
    if (st == OCP_OK)
        st = db_query(
            r->db,
            "UPDATE holders SET cert_hash = $2, pseudonymised_at = $3 "
            "WHERE pseudonymised_at IS NULL AND created_at < $1 AND "
            "NOT EXISTS (SELECT 1 FROM cards c WHERE c.holder_ref = "
            "holders.holder_ref AND (c.state <> 'terminated' AND "
            "c.state <> 'replaced'))",
            (db_value[]){db_int(cutoff_s), db_null(), db_int(now)}, 3, NULL,
            NULL, &n);
    res->holders = (uint64_t)n;
    if (st == OCP_OK)
        st = db_commit(r->db);
    else
        db_rollback(r->db);
    if (st != OCP_OK) {
        reg_set_error(r, "purging");
        memset(res, 0, sizeof *res);
    }
    return st;
}

ocp_status ocp_registry_put_entitlements(ocp_registry *r,
                                         const uint8_t card[8],
                                         const ocp_entitlement *e, size_t n,
                                         int64_t now)
{
    char id[17];
    size_t i;
    ocp_status st;
    if (r == NULL || card == NULL || (e == NULL && n > 0))
        return OCP_E_ARGS;
    reg_hex(card, id);
    st = db_begin(r->db);
    for (i = 0; st == OCP_OK && i < n; i++)
        st = db_query(
            r->db,
            "INSERT INTO entitlements(card_id, slot, service, domain, kind, "
            "valid_from, valid_to, period, limit_value, known_remaining, "
            "known_at, flags) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, "
            "$10, $11, $12) "
            "ON CONFLICT(card_id, slot) DO UPDATE SET service = "
            "excluded.service, domain = excluded.domain, kind = "
            "excluded.kind, valid_from = excluded.valid_from, valid_to = "
            "excluded.valid_to, period = excluded.period, limit_value = "
            "excluded.limit_value, known_remaining = "
            "excluded.known_remaining, known_at = excluded.known_at, "
            "flags = excluded.flags",
            (db_value[]){db_text(id),
                         db_int(e[i].slot != 0 ? e[i].slot : (int64_t)i + 1),
                         db_int(e[i].service), db_int(e[i].domain),
                         db_int(e[i].kind), db_int(e[i].valid_from),
                         db_int(e[i].valid_to), db_int(e[i].period),
                         db_int(e[i].limit), db_int(e[i].remaining),
                         db_int(now), db_int(e[i].flags)},
            12, NULL, NULL, NULL);
    if (st == OCP_OK)
        st = db_commit(r->db);
    else
        db_rollback(r->db);
    if (st != OCP_OK)
        reg_set_error(r, "recording the entitlements");
    return st;
}

/* ---- replacing a lost card ------------------------------------------------ */

#define EPOCH_2000 946684800LL /* 2000-01-01 in seconds since 1970 */

struct card_state {
    int found;
    char state[16];
    char replaced_by[17];
};

static int card_state_row(void *ctx, const db_value *c, size_t n)
{
    struct card_state *cs = ctx;
    cs->found = 1;
    if (n >= 2 && c[0].type == DB_TEXT)
        snprintf(cs->state, sizeof cs->state, "%s", c[0].s);
    if (n >= 2 && c[1].type == DB_TEXT)
        snprintf(cs->replaced_by, sizeof cs->replaced_by, "%s", c[1].s);
    return 1;
}

/* OCP_OK for a card the registry knows and that is not replaced; else
 * OCP_E_ARGS with the reason in r->error. */
static ocp_status card_replaceable(ocp_registry *r, const char *id)
{
    struct card_state cs;
    ocp_status st;
    memset(&cs, 0, sizeof cs);
    st = db_query(r->db,
                  "SELECT state, replaced_by FROM cards WHERE card_id = $1",
                  (db_value[]){db_text(id)}, 1, card_state_row, &cs, NULL);
    if (st != OCP_OK) {
        reg_set_error(r, "looking up the card");
        return st;
    }
    if (!cs.found) {
        snprintf(r->error, sizeof r->error, "card %s is not in the registry",
                 id);
        return OCP_E_ARGS;
    }
    if (strcmp(cs.state, "replaced") == 0) {
        snprintf(r->error, sizeof r->error,
                 "card %s was replaced already (by %s)", id,
                 cs.replaced_by[0] ? cs.replaced_by : "an unknown card");
        return OCP_E_ARGS;
    }
    return OCP_OK;
}

struct known_list {
    ocp_entitlement *e;
    size_t n, cap;
    int nomem, malformed;
};

static int known_row(void *ctx, const db_value *c, size_t n)
{
    struct known_list *l = ctx;
    ocp_entitlement *e;
    int64_t day;
    size_t i;
    for (i = 0; i < 10 && i < n; i++)
        if (c[i].type != DB_INT) {
            l->malformed = 1;
            return 1;
        }
    if (n < 14 || c[12].type != DB_INT || c[13].type != DB_INT) {
        l->malformed = 1;
        return 1;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        ocp_entitlement *p = realloc(l->e, cap * sizeof *p);
        if (p == NULL) {
            l->nomem = 1;
            return 1;
        }
        l->e = p;
        l->cap = cap;
    }
    e = &l->e[l->n++];
    memset(e, 0, sizeof *e);
    e->slot = (uint8_t)c[0].i;
    e->service = (uint16_t)c[1].i;
    e->domain = (uint8_t)c[2].i;
    e->kind = (uint8_t)c[3].i;
    e->valid_from = (uint16_t)c[4].i;
    e->valid_to = (uint16_t)c[5].i;
    e->period = (uint8_t)c[6].i;
    e->limit = (uint32_t)c[7].i;
    e->flags = (uint8_t)c[12].i; /* "PIN required" goes to the new card */
    /* The newest accepted record's value when there is one: it is the
     * card's own account after its last use the registry has seen. */
    if (c[10].type == DB_INT && c[11].type == DB_INT) {
        e->remaining = (uint32_t)c[10].i;
        day = c[11].i / 1440; /* a record's minutes since 2000-01-01 */
    } else {
        e->remaining = (uint32_t)c[8].i;
        day = (c[9].i - EPOCH_2000) / 86400;
    }
    e->remaining = c[13].i >= (int64_t)e->remaining
                       ? 0
                       : e->remaining - (uint32_t)c[13].i;
    if (day < 0)
        day = 0;
    else if (day > 0xFFFF)
        day = 0xFFFF;
    e->period_id = ocp_period_of((uint16_t)day, e->period);
    return 0;
}

ocp_status ocp_registry_known_entitlements(ocp_registry *r,
                                           const uint8_t card[8],
                                           ocp_entitlement **out, size_t *n)
{
    struct known_list l;
    char id[17];
    ocp_status st;
    if (r == NULL || card == NULL || out == NULL || n == NULL)
        return OCP_E_ARGS;
    *out = NULL;
    *n = 0;
    reg_hex(card, id);
    st = card_replaceable(r, id);
    if (st != OCP_OK)
        return st;
    memset(&l, 0, sizeof l);
    /* The carry-over is read up to a counter noted first: a use uploaded
     * meanwhile, above it, becomes a debit of the new card at the
     * replacement or its upload, and is never both carried and owed. */
    st = db_query(r->db,
                  "UPDATE cards SET carried_counter = (SELECT "
                  "COALESCE(MAX(u.counter), 0) FROM uses u WHERE u.card_id "
                  "= $1 AND u.outcome = 1) WHERE card_id = $1",
                  (db_value[]){db_text(id)}, 1, NULL, NULL, NULL);
    /* One slot per service on a card, so (card, service) finds the
     * entitlement's records; the two subqueries read the same newest
     * one (uses_card is ordered by card and counter).  A card that was a
     * replacement itself still owes its open debits: they come off. */
    if (st == OCP_OK)
        st = db_query(
            r->db,
            "SELECT e.slot, e.service, e.domain, e.kind, e.valid_from, "
            "e.valid_to, e.period, e.limit_value, e.known_remaining, "
            "e.known_at, "
            "(SELECT u.remaining FROM uses u WHERE u.card_id = e.card_id AND "
            "u.service = e.service AND u.outcome = 1 AND u.counter <= "
            "c.carried_counter ORDER BY u.counter DESC LIMIT 1), "
            "(SELECT u.datetime FROM uses u WHERE u.card_id = e.card_id AND "
            "u.service = e.service AND u.outcome = 1 AND u.counter <= "
            "c.carried_counter ORDER BY u.counter DESC LIMIT 1), e.flags, "
            "(SELECT COALESCE(SUM(d.amount), 0) FROM replacement_debits d "
            "WHERE d.new_card = e.card_id AND d.service = e.service AND "
            "d.applied_at IS NULL) "
            "FROM entitlements e JOIN cards c ON c.card_id = e.card_id "
            "WHERE e.card_id = $1 ORDER BY e.slot",
            (db_value[]){db_text(id)}, 1, known_row, &l, NULL);
    if (st == OCP_OK && l.nomem)
        st = OCP_E_NOMEM;
    if (st == OCP_OK && l.malformed) {
        free(l.e);
        snprintf(r->error, sizeof r->error,
                 "the entitlements table holds a malformed row");
        return OCP_E_DB;
    }
    if (st != OCP_OK) {
        free(l.e);
        reg_set_error(r, "reading the card's entitlements");
        return st;
    }
    *out = l.e;
    *n = l.n;
    return OCP_OK;
}

ocp_status ocp_registry_replace_card(ocp_registry *r,
                                     const uint8_t old_card[8],
                                     const uint8_t new_card[8],
                                     const char *reason, int64_t now)
{
    char old_id[17], new_id[17];
    int64_t changed = 0;
    ocp_status st;
    if (r == NULL || old_card == NULL || new_card == NULL || reason == NULL)
        return OCP_E_ARGS;
    reg_hex(old_card, old_id);
    reg_hex(new_card, new_id);
    if (strcmp(old_id, new_id) == 0) {
        snprintf(r->error, sizeof r->error,
                 "card %s cannot replace itself", old_id);
        return OCP_E_ARGS;
    }
    st = db_begin(r->db);
    if (st != OCP_OK) {
        reg_set_error(r, "replacing the card");
        return st;
    }
    /* The condition on the state makes the check and the change one
     * statement, so two desks replacing one card cannot both succeed
     * (PostgreSQL's READ COMMITTED re-checks it on the locked row). */
    st = db_query(r->db,
                  "UPDATE cards SET state = 'replaced', replaced_by = $2, "
                  "replaced_at = $3 WHERE card_id = $1 AND "
                  "state <> 'replaced'",
                  (db_value[]){db_text(old_id), db_text(new_id),
                               db_int(now)},
                  3, NULL, NULL, &changed);
    if (st != OCP_OK) {
        reg_set_error(r, "replacing the card");
        db_rollback(r->db);
        return st;
    }
    if (changed == 0) {
        db_rollback(r->db);
        st = card_replaceable(r, old_id);
        /* Gone or replaced between the two statements is still a refusal. */
        if (st == OCP_OK) {
            snprintf(r->error, sizeof r->error,
                     "card %s could not be marked replaced", old_id);
            st = OCP_E_ARGS;
        }
        return st;
    }
    /* What the new card carries: up to the counter noted when the values
     * were read (now, if they never were); uses already stored above it
     * are owed by the new card, and the old card's own open debits went
     * into the values it carried. */
    st = db_query(r->db,
                  "UPDATE cards SET carried_counter = COALESCE("
                  "carried_counter, (SELECT COALESCE(MAX(u.counter), 0) "
                  "FROM uses u WHERE u.card_id = $1 AND u.outcome = 1)) "
                  "WHERE card_id = $1",
                  (db_value[]){db_text(old_id)}, 1, NULL, NULL, NULL);
    if (st == OCP_OK)
        st = reg_note_card_debits(r, old_id, now);
    if (st == OCP_OK)
        st = db_query(r->db,
                      "UPDATE replacement_debits SET applied_at = $2 WHERE "
                      "new_card = $1 AND applied_at IS NULL",
                      (db_value[]){db_text(old_id), db_int(now)}, 2, NULL,
                      NULL, NULL);
    if (st != OCP_OK) {
        reg_set_error(r, "replacing the card");
        db_rollback(r->db);
        return st;
    }
    /* Listed in the same transaction: a replaced card that is not on the
     * hotlist would be a window nobody closes. */
    st = ocp_registry_hotlist_add(r, old_card, reason, "desk", now);
    if (st != OCP_OK) {
        db_rollback(r->db); /* keeps hotlist_add's reason in r->error */
        return st;
    }
    st = db_commit(r->db);
    if (st != OCP_OK)
        reg_set_error(r, "replacing the card");
    return st;
}
