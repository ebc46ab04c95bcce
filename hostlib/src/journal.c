/*
 * The terminal journal (ocp/journal.h) on SQLite.  WAL with synchronous
 * FULL: a committed attempt survives a crash of the process or the machine.
 * Each call is one SQLite transaction.
 */
#include <ctype.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocp/batch.h"
#include "ocp/journal.h"

struct ocp_journal {
    sqlite3 *db;
    uint32_t terminal_id;
};

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER);"
    "CREATE TABLE IF NOT EXISTS attempts("
    "  id INTEGER PRIMARY KEY,"
    "  seq INTEGER,"             /* NULL for notes: nothing sent */
    "  card_id TEXT NOT NULL, role INTEGER NOT NULL,"
    "  service INTEGER NOT NULL, amount INTEGER NOT NULL,"
    "  started INTEGER NOT NULL, finished INTEGER,"
    "  outcome TEXT NOT NULL DEFAULT 'pending', reason TEXT,"
    "  counter INTEGER, remaining INTEGER, flags INTEGER, cert TEXT,"
    "  uploaded INTEGER NOT NULL DEFAULT 0,"
    "  UNIQUE(seq));"
    "CREATE INDEX IF NOT EXISTS attempts_card ON attempts(card_id, id);";

static void hex(const uint8_t *p, size_t n, char *out)
{
    size_t i;
    for (i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02X", p[i]);
}

static void unhex(const char *s, uint8_t *out, size_t n)
{
    size_t i;
    unsigned v;
    memset(out, 0, n);
    /* Both digits are checked before either is read as a pair, so a short
     * or damaged column ends the loop at its NUL, never past it. */
    for (i = 0; s && i < n && isxdigit((unsigned char)s[2 * i]) &&
                isxdigit((unsigned char)s[2 * i + 1]) &&
                sscanf(s + 2 * i, "%2x", &v) == 1;
         i++)
        out[i] = (uint8_t)v;
}

static ocp_status exec(ocp_journal *j, const char *sql)
{
    return sqlite3_exec(j->db, sql, NULL, NULL, NULL) == SQLITE_OK
               ? OCP_OK
               : OCP_E_IO;
}

ocp_status ocp_journal_get_u32(ocp_journal *j, const char *key,
                               uint32_t *value, int *found)
{
    sqlite3_stmt *st = NULL;
    int rc;
    *found = 0;
    if (sqlite3_prepare_v2(j->db, "SELECT value FROM meta WHERE key = ?", -1,
                           &st, NULL) != SQLITE_OK)
        return OCP_E_IO;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *value = (uint32_t)sqlite3_column_int64(st, 0);
        *found = 1;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? OCP_OK : OCP_E_IO;
}

ocp_status ocp_journal_set_u32(ocp_journal *j, const char *key,
                               uint32_t value)
{
    sqlite3_stmt *st = NULL;
    int rc;
    if (sqlite3_prepare_v2(j->db,
                           "INSERT INTO meta(key, value) VALUES(?, ?) "
                           "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                           -1, &st, NULL) != SQLITE_OK)
        return OCP_E_IO;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, value);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? OCP_OK : OCP_E_IO;
}

ocp_status ocp_journal_open(const char *path, uint32_t terminal_id,
                            ocp_journal **out)
{
    ocp_journal *j;
    uint32_t owner = 0;
    int found = 0;
    ocp_status st;

    if (path == NULL || out == NULL)
        return OCP_E_ARGS;
    *out = NULL;
    j = calloc(1, sizeof *j);
    if (j == NULL)
        return OCP_E_NOMEM;
    j->terminal_id = terminal_id;
    if (sqlite3_open_v2(path, &j->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                            SQLITE_OPEN_FULLMUTEX,
                        NULL) != SQLITE_OK) {
        ocp_journal_close(j);
        return OCP_E_IO;
    }
    /* Another process (a sync) may hold the file for a moment. */
    sqlite3_busy_timeout(j->db, 5000);
    st = exec(j, schema);
    if (st == OCP_OK)
        st = ocp_journal_get_u32(j, "terminal_id", &owner, &found);
    if (st == OCP_OK && !found)
        st = ocp_journal_set_u32(j, "terminal_id", terminal_id);
    else if (st == OCP_OK && owner != terminal_id)
        st = OCP_E_ARGS; /* another terminal's numbers */
    if (st != OCP_OK) {
        ocp_journal_close(j);
        return st;
    }
    *out = j;
    return OCP_OK;
}

void ocp_journal_close(ocp_journal *j)
{
    if (j == NULL)
        return;
    sqlite3_close(j->db);
    free(j);
}

ocp_status ocp_journal_begin(ocp_journal *j, const uint8_t card[8],
                             uint8_t role, uint16_t service, uint32_t amount,
                             uint32_t datetime, uint32_t *seq, int *retry)
{
    char id[17];
    sqlite3_stmt *st = NULL;
    ocp_status result = OCP_E_IO;
    int rc;

    if (j == NULL || card == NULL || seq == NULL || retry == NULL)
        return OCP_E_ARGS;
    hex(card, 8, id);
    *retry = 0;
    if (exec(j, "BEGIN IMMEDIATE") != OCP_OK)
        return OCP_E_IO;
    /* A pending attempt for this card: its exchange was torn; the card
     * either has it (and answers from memory) or never saw it. */
    if (sqlite3_prepare_v2(j->db,
                           "SELECT seq FROM attempts WHERE card_id = ? AND "
                           "outcome = 'pending' AND seq IS NOT NULL "
                           "ORDER BY id DESC LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *seq = (uint32_t)sqlite3_column_int64(st, 0);
        *retry = 1;
        result = OCP_OK;
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(
            j->db,
            "INSERT INTO attempts(seq, card_id, role, service, amount, "
            "started) VALUES((SELECT IFNULL(MAX(seq), 0) + 1 FROM attempts), "
            "?, ?, ?, ?, ?) RETURNING seq",
            -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, role);
    sqlite3_bind_int(st, 3, service);
    sqlite3_bind_int64(st, 4, amount);
    sqlite3_bind_int64(st, 5, datetime);
    if (sqlite3_step(st) == SQLITE_ROW) {
        *seq = (uint32_t)sqlite3_column_int64(st, 0);
        result = OCP_OK;
    }
out:
    sqlite3_finalize(st);
    if (result == OCP_OK && exec(j, "COMMIT") == OCP_OK)
        return OCP_OK;
    exec(j, "ROLLBACK");
    return OCP_E_IO;
}

static ocp_status finish(ocp_journal *j, uint32_t seq, const char *outcome,
                         const char *reason, const ocp_tx_result *tx)
{
    sqlite3_stmt *st = NULL;
    char cert[17] = "";
    int rc;
    if (sqlite3_prepare_v2(
            j->db,
            "UPDATE attempts SET outcome = ?, reason = ?, counter = ?, "
            "remaining = ?, flags = ?, cert = ?, finished = started, "
            "uploaded = 0 " /* an uploaded pending attempt goes again */
            "WHERE seq = ? AND outcome = 'pending'",
            -1, &st, NULL) != SQLITE_OK)
        return OCP_E_IO;
    sqlite3_bind_text(st, 1, outcome, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, reason, -1, SQLITE_STATIC);
    if (tx != NULL) {
        hex(tx->cert, 8, cert);
        sqlite3_bind_int64(st, 3, tx->counter);
        sqlite3_bind_int64(st, 4, tx->remaining);
        sqlite3_bind_int(st, 5, tx->flags);
        sqlite3_bind_text(st, 6, cert, -1, SQLITE_STATIC);
    }
    sqlite3_bind_int64(st, 7, seq);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? OCP_OK : OCP_E_IO;
}

ocp_status ocp_journal_accept(ocp_journal *j, uint32_t seq,
                              const ocp_tx_result *tx)
{
    if (j == NULL || tx == NULL)
        return OCP_E_ARGS;
    return finish(j, seq, "accepted", NULL, tx);
}

ocp_status ocp_journal_refuse(ocp_journal *j, uint32_t seq,
                              const char *reason)
{
    if (j == NULL)
        return OCP_E_ARGS;
    return finish(j, seq, "refused", reason, NULL);
}

ocp_status ocp_journal_note(ocp_journal *j, const uint8_t card[8],
                            uint8_t role, uint16_t service, uint32_t datetime,
                            const char *outcome, const char *reason)
{
    sqlite3_stmt *st = NULL;
    char id[17];
    int rc;
    if (j == NULL || card == NULL || outcome == NULL)
        return OCP_E_ARGS;
    hex(card, 8, id);
    if (sqlite3_prepare_v2(j->db,
                           "INSERT INTO attempts(card_id, role, service, "
                           "amount, started, finished, outcome, reason) "
                           "VALUES(?, ?, ?, 0, ?, ?, ?, ?)",
                           -1, &st, NULL) != SQLITE_OK)
        return OCP_E_IO;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, role);
    sqlite3_bind_int(st, 3, service);
    sqlite3_bind_int64(st, 4, datetime);
    sqlite3_bind_int64(st, 5, datetime);
    sqlite3_bind_text(st, 6, outcome, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, reason, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? OCP_OK : OCP_E_IO;
}

ocp_status ocp_journal_last_accepted(ocp_journal *j, const uint8_t card[8],
                                     uint32_t *datetime, int *found)
{
    sqlite3_stmt *st = NULL;
    char id[17];
    int rc;
    if (j == NULL || card == NULL || datetime == NULL || found == NULL)
        return OCP_E_ARGS;
    *found = 0;
    hex(card, 8, id);
    if (sqlite3_prepare_v2(j->db,
                           "SELECT started FROM attempts WHERE card_id = ? "
                           "AND outcome = 'accepted' ORDER BY id DESC LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        return OCP_E_IO;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *datetime = (uint32_t)sqlite3_column_int64(st, 0);
        *found = 1;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? OCP_OK : OCP_E_IO;
}

ocp_status ocp_journal_list(ocp_journal *j, ocp_journal_entry *out,
                            size_t *count)
{
    sqlite3_stmt *st = NULL;
    size_t n = 0;
    int rc;
    if (j == NULL || out == NULL || count == NULL)
        return OCP_E_ARGS;
    if (sqlite3_prepare_v2(j->db,
                           "SELECT IFNULL(seq, 0), card_id, role, service, "
                           "amount, started, outcome, IFNULL(reason, ''), "
                           "IFNULL(counter, 0), IFNULL(remaining, 0), "
                           "IFNULL(flags, 0), cert FROM attempts "
                           "ORDER BY id DESC LIMIT ?",
                           -1, &st, NULL) != SQLITE_OK)
        return OCP_E_IO;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)*count);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < *count) {
        ocp_journal_entry *e = &out[n++];
        memset(e, 0, sizeof *e);
        e->seq = (uint32_t)sqlite3_column_int64(st, 0);
        unhex((const char *)sqlite3_column_text(st, 1), e->card_id, 8);
        e->role = (uint8_t)sqlite3_column_int(st, 2);
        e->service = (uint16_t)sqlite3_column_int(st, 3);
        e->amount = (uint32_t)sqlite3_column_int64(st, 4);
        e->started = (uint32_t)sqlite3_column_int64(st, 5);
        snprintf(e->outcome, sizeof e->outcome, "%s",
                 (const char *)sqlite3_column_text(st, 6));
        snprintf(e->reason, sizeof e->reason, "%s",
                 (const char *)sqlite3_column_text(st, 7));
        e->counter = (uint32_t)sqlite3_column_int64(st, 8);
        e->remaining = (uint32_t)sqlite3_column_int64(st, 9);
        e->flags = (uint8_t)sqlite3_column_int(st, 10);
        unhex((const char *)sqlite3_column_text(st, 11), e->cert, 8);
    }
    sqlite3_finalize(st);
    *count = n;
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? OCP_OK : OCP_E_IO;
}

static uint8_t outcome_code(const char *outcome)
{
    if (strcmp(outcome, "accepted") == 0)
        return OCP_USE_ACCEPTED;
    if (strcmp(outcome, "refused") == 0)
        return OCP_USE_REFUSED;
    if (strcmp(outcome, "passback") == 0)
        return OCP_USE_PASSBACK;
    return OCP_USE_PENDING;
}

ocp_status ocp_journal_to_upload(ocp_journal *j, ocp_use_record *out,
                                 size_t *count)
{
    sqlite3_stmt *st = NULL;
    size_t n = 0;
    int rc;
    if (j == NULL || out == NULL || count == NULL)
        return OCP_E_ARGS;
    /* Only attempts that sent a CONSUME have a sequence number: a refusal
     * decided at the terminal (hotlist, passback) never reached the card
     * and is not a record of it. */
    if (sqlite3_prepare_v2(j->db,
                           "SELECT seq, card_id, role, service, amount, "
                           "started, outcome, IFNULL(counter, 0), "
                           "IFNULL(remaining, 0), IFNULL(flags, 0), cert "
                           "FROM attempts WHERE seq IS NOT NULL AND "
                           "uploaded = 0 ORDER BY seq LIMIT ?",
                           -1, &st, NULL) != SQLITE_OK)
        return OCP_E_IO;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)*count);
    rc = SQLITE_DONE;
    while (n < *count && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        ocp_use_record *r = &out[n++];
        memset(r, 0, sizeof *r);
        r->seq = (uint32_t)sqlite3_column_int64(st, 0);
        unhex((const char *)sqlite3_column_text(st, 1), r->card_id, 8);
        r->domain = (uint8_t)sqlite3_column_int(st, 2);
        r->service = (uint16_t)sqlite3_column_int(st, 3);
        r->amount = (uint32_t)sqlite3_column_int64(st, 4);
        r->datetime = (uint32_t)sqlite3_column_int64(st, 5);
        r->outcome = outcome_code((const char *)sqlite3_column_text(st, 6));
        r->counter = (uint32_t)sqlite3_column_int64(st, 7);
        r->remaining = (uint32_t)sqlite3_column_int64(st, 8);
        r->flags = (uint8_t)sqlite3_column_int(st, 9);
        unhex((const char *)sqlite3_column_text(st, 10), r->cert, 8);
    }
    sqlite3_finalize(st);
    *count = n;
    /* The loop ends on DONE, or on a full buffer right after a ROW. */
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? OCP_OK : OCP_E_IO;
}

ocp_status ocp_journal_mark_uploaded(ocp_journal *j,
                                     const ocp_use_record *recs, size_t n)
{
    static const char *const outcomes[] = {"pending", "accepted", "refused",
                                           "passback"};
    sqlite3_stmt *st = NULL;
    ocp_status result = OCP_OK;
    size_t i;
    if (j == NULL || (recs == NULL && n > 0))
        return OCP_E_ARGS;
    if (exec(j, "BEGIN IMMEDIATE") != OCP_OK)
        return OCP_E_IO;
    /* Marked only when the outcome is still the one uploaded: a pending
     * attempt that a tap finished meanwhile must go up again. */
    if (sqlite3_prepare_v2(j->db,
                           "UPDATE attempts SET uploaded = 1 "
                           "WHERE seq = ? AND outcome = ?",
                           -1, &st, NULL) != SQLITE_OK)
        result = OCP_E_IO;
    for (i = 0; result == OCP_OK && i < n; i++) {
        if (recs[i].outcome > OCP_USE_PASSBACK) {
            result = OCP_E_ARGS;
            break;
        }
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, recs[i].seq);
        sqlite3_bind_text(st, 2, outcomes[recs[i].outcome], -1,
                          SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            result = OCP_E_IO;
    }
    sqlite3_finalize(st);
    if (result == OCP_OK && exec(j, "COMMIT") == OCP_OK)
        return OCP_OK;
    exec(j, "ROLLBACK");
    return result == OCP_OK ? OCP_E_IO : result;
}
