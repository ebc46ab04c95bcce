/*
 * Storing a terminal's signed batch (ocp_registry_upload), idempotently:
 * docs/BACKOFFICE.md section 4, step 3.
 *
 * A record is keyed by (terminal, sequence number).  Uploading the same
 * record again is the normal result of a crash between the registry's
 * commit and the journal's mark, so it is skipped quietly; a pending
 * attempt may become final once; anything else under a stored key is a
 * terminal saying two different things, kept apart for the audit.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch_record.h"
#include "db.h"
#include "ocp/registry.h"
#include "registry_internal.h"

struct terminal_row {
    int found;
    int revoked;
    uint8_t pub[256];
    size_t pub_len;
};

static int terminal_row(void *ctx, const db_value *c, size_t n)
{
    struct terminal_row *t = ctx;
    if (n < 2 || c[0].type != DB_BLOB || c[0].len > sizeof t->pub)
        return 1;
    memcpy(t->pub, c[0].b, c[0].len);
    t->pub_len = c[0].len;
    t->revoked = c[1].type != DB_NULL;
    t->found = 1;
    return 1;
}

/* The stored record under (terminal, seq), for comparison: its signed
 * bytes (schema version 3). */
struct stored {
    int found;
    uint8_t rec[OCP_BATCH_RECORD_LEN];
    ocp_use_record r;
};

static int stored_row(void *ctx, const db_value *c, size_t n)
{
    struct stored *s = ctx;
    if (n < 1 || c[0].type != DB_BLOB ||
        !hl_record_decode(c[0].b, c[0].len, &s->r))
        return 1;
    memcpy(s->rec, c[0].b, sizeof s->rec);
    s->found = 1;
    return 1;
}

static int batch_id_row(void *ctx, const db_value *c, size_t n)
{
    if (n >= 1 && c[0].type == DB_INT)
        *(int64_t *)ctx = c[0].i;
    return 1;
}

/* The record's columns after (terminal_id, seq): $3..$12, then batch $13. */
static void record_params(uint32_t terminal, const ocp_use_record *u,
                          const char *card, int64_t batch_id,
                          db_value p[13])
{
    p[0] = db_int(terminal);
    p[1] = db_int(u->seq);
    p[2] = db_text(card);
    p[3] = db_int(u->domain);
    p[4] = db_int(u->service);
    p[5] = db_int(u->amount);
    p[6] = db_int(u->datetime);
    p[7] = db_int(u->outcome);
    p[8] = db_int(u->counter);
    p[9] = db_int(u->remaining);
    p[10] = db_int(u->flags);
    p[11] = db_blob(u->cert, 8);
    p[12] = db_int(batch_id);
}

static ocp_status store_record(ocp_registry *r, uint32_t terminal,
                               const ocp_use_record *u, int64_t batch_id,
                               int64_t now, ocp_upload_result *res)
{
    char card[17];
    uint8_t rec[OCP_BATCH_RECORD_LEN];
    db_value p[14];
    struct stored old;
    int64_t changes = 0;
    ocp_status st;

    reg_hex(u->card_id, card);
    record_params(terminal, u, card, batch_id, p);
    hl_record_encode(u, rec);
    st = db_query(r->db,
                  "INSERT INTO uses(terminal_id, seq, rec, batch_id) "
                  "VALUES($1, $2, $3, $4) "
                  "ON CONFLICT(terminal_id, seq) DO NOTHING",
                  (db_value[]){p[0], p[1], db_blob(rec, sizeof rec),
                               db_int(batch_id)},
                  4, NULL, NULL, &changes);
    if (st != OCP_OK || changes == 1) {
        if (st == OCP_OK)
            res->stored++;
        return st;
    }
    memset(&old, 0, sizeof old);
    st = db_query(r->db,
                  "SELECT rec FROM uses WHERE terminal_id = $1 AND seq = $2",
                  p, 2, stored_row, &old, NULL);
    if (st != OCP_OK)
        return st;
    if (old.found && memcmp(old.rec, rec, sizeof rec) == 0) {
        res->duplicates++;
        return OCP_OK;
    }
    if (old.found && old.r.outcome == OCP_USE_PENDING &&
        u->outcome != OCP_USE_PENDING &&
        memcmp(old.r.card_id, u->card_id, 8) == 0 &&
        old.r.domain == u->domain && old.r.service == u->service &&
        old.r.amount == u->amount && old.r.datetime == u->datetime) {
        /* The same attempt, finished by a later tap; only if the row is
         * still the attempt just read. */
        st = db_query(r->db,
                      "UPDATE uses SET rec = $3, batch_id = $4 WHERE "
                      "terminal_id = $1 AND seq = $2 AND rec = $5",
                      (db_value[]){p[0], p[1], db_blob(rec, sizeof rec),
                                   db_int(batch_id),
                                   db_blob(old.rec, sizeof old.rec)},
                      5, NULL, NULL, &changes);
        if (st == OCP_OK && changes == 1)
            res->finished++;
        return st;
    }
    p[13] = db_int(now);
    st = db_query(r->db,
                  "INSERT INTO use_conflicts(terminal_id, seq, card_id, "
                  "domain, service, amount, datetime, outcome, counter, "
                  "remaining, flags, cert, batch_id, seen_at) VALUES($1, $2, "
                  "$3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                  p, 14, NULL, NULL, NULL);
    if (st == OCP_OK)
        res->conflicts++;
    return st;
}

static ocp_status upload(ocp_registry *r, const uint8_t *batch, size_t len,
                         const uint8_t sig[OCP_BATCH_SIGNATURE_LEN],
                         int64_t now, ocp_upload_result *res,
                         ocp_use_record *recs)
{
    struct terminal_row term;
    uint8_t digest[32];
    unsigned digest_len = 0;
    uint32_t terminal, batch_no;
    int64_t batch_id = 0;
    size_t n, i;
    ocp_status st;

    if (ocp_batch_decode(batch, len, &terminal, &batch_no, recs, &n) !=
        OCP_OK) {
        snprintf(r->error, sizeof r->error, "the batch is malformed");
        return OCP_E_BAD_RESPONSE;
    }
    memset(&term, 0, sizeof term);
    st = db_query(r->db,
                  "SELECT public_key, revoked_at FROM terminals "
                  "WHERE terminal_id = $1",
                  (db_value[]){db_int(terminal)}, 1, terminal_row, &term,
                  NULL);
    if (st != OCP_OK) {
        reg_set_error(r, "looking up the terminal");
        return st;
    }
    if (!term.found || term.revoked) {
        snprintf(r->error, sizeof r->error, "terminal %08X is %s", terminal,
                 term.found ? "revoked" : "not enrolled");
        return OCP_E_DENIED;
    }
    if (ocp_batch_verify(term.pub, term.pub_len, batch, len, sig) != OCP_OK) {
        snprintf(r->error, sizeof r->error,
                 "the batch's signature is not terminal %08X's", terminal);
        return OCP_E_SIGNATURE;
    }
    if (EVP_Digest(batch, len, digest, &digest_len, EVP_sha256(), NULL) != 1)
        return OCP_E_CRYPTO;

    st = db_begin(r->db);
    if (st == OCP_OK)
        st = db_query(r->db,
                      "INSERT INTO batches(terminal_id, batch_no, records, "
                      "digest, body, signature, uploaded_at) "
                      "VALUES($1, $2, $3, $4, $5, $6, $7) "
                      "ON CONFLICT(terminal_id, digest) DO NOTHING",
                      (db_value[]){db_int(terminal), db_int(batch_no),
                                   db_int((int64_t)n),
                                   db_blob(digest, digest_len),
                                   db_blob(batch, len),
                                   db_blob(sig, OCP_BATCH_SIGNATURE_LEN),
                                   db_int(now)},
                      7, NULL, NULL, NULL);
    /* The batch as first stored: the same bytes again add nothing new. */
    if (st == OCP_OK)
        st = db_query(r->db,
                      "SELECT id FROM batches WHERE terminal_id = $1 AND "
                      "digest = $2",
                      (db_value[]){db_int(terminal),
                                   db_blob(digest, digest_len)},
                      2, batch_id_row, &batch_id, NULL);
    for (i = 0; st == OCP_OK && i < n; i++)
        st = store_record(r, terminal, &recs[i], batch_id, now, res);
    if (st == OCP_OK && n > 0) {
        uint32_t lo = recs[0].seq, hi = recs[0].seq;
        for (i = 1; i < n; i++) {
            lo = recs[i].seq < lo ? recs[i].seq : lo;
            hi = recs[i].seq > hi ? recs[i].seq : hi;
        }
        st = reg_note_debits(r, terminal, lo, hi, now);
    }
    if (st == OCP_OK)
        st = db_query(r->db,
                      "UPDATE terminals SET last_sync = $2 "
                      "WHERE terminal_id = $1",
                      (db_value[]){db_int(terminal), db_int(now)}, 2, NULL,
                      NULL, NULL);
    if (st == OCP_OK)
        st = db_commit(r->db);
    else
        db_rollback(r->db);
    if (st != OCP_OK) {
        reg_set_error(r, "storing the batch");
        memset(res, 0, sizeof *res);
    }
    return st;
}


ocp_status ocp_registry_upload(ocp_registry *r, const uint8_t *batch,
                               size_t len,
                               const uint8_t sig[OCP_BATCH_SIGNATURE_LEN],
                               int64_t now, ocp_upload_result *res)
{
    ocp_use_record *recs;
    ocp_status st;

    if (r == NULL || batch == NULL || sig == NULL || res == NULL)
        return OCP_E_ARGS;
    memset(res, 0, sizeof *res);
    recs = calloc(OCP_BATCH_MAX_RECORDS, sizeof *recs);
    if (recs == NULL)
        return OCP_E_NOMEM;
    st = upload(r, batch, len, sig, now, res, recs);
    free(recs);
    return st;
}
