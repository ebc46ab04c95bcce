/*
 * A terminal's own login to a PostgreSQL registry (ocp/registry_access.h):
 * it can do what `ocp sync` does for itself, and nothing for another
 * terminal or with anyone's personal data; a revoked terminal's login is
 * gone; a new password replaces the old.  SQLite has no logins and says
 * so.  Runs on both backends (the SQLite group checks the refusal).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backends.h"
#include "db.h"
#include "ocp/batch.h"
#include "ocp/registry.h"
#include "ocp/registry_access.h"
#include "ocp/replacement.h"

#define T1 0x0B000201u
#define T2 0xF0000202u /* the high bit: the login name is unsigned hex */
#define NOW 1790000000LL

static const uint8_t card[8] = {0x4F, 0x43, 0x50, 0, 0, 0, 0x30, 0x01};

/* The test server's URI with another user and password. */
static void uri_as(const char *owner_uri, const char *user,
                   const char *password, char *out, size_t cap)
{
    const char *at = strchr(owner_uri, '@');
    assert_non_null(at);
    snprintf(out, cap, "postgresql://%s:%s%s", user, password, at);
}

static void signed_batch(ocp_terminal_key *k, uint32_t terminal,
                         uint32_t seq, uint8_t *buf, size_t *len,
                         uint8_t sig[OCP_BATCH_SIGNATURE_LEN])
{
    ocp_use_record rec;
    memset(&rec, 0, sizeof rec);
    rec.seq = seq;
    memcpy(rec.card_id, card, 8);
    rec.domain = 1;
    rec.service = 0x0101;
    rec.amount = 1;
    rec.datetime = 13800000;
    rec.outcome = OCP_USE_ACCEPTED;
    rec.counter = seq;
    *len = ocp_batch_len(1);
    assert_int_equal(ocp_batch_encode(terminal, seq, &rec, 1, buf, *len),
                     OCP_OK);
    assert_int_equal(ocp_batch_sign(k, buf, *len, sig), OCP_OK);
}

static int count_row(void *ctx, const db_value *c, size_t n)
{
    assert_true(n >= 1 && c[0].type == DB_INT);
    *(int64_t *)ctx = c[0].i;
    return 1;
}

static void test_sqlite_has_no_logins(void **state)
{
    struct backend *be = *state;
    ocp_registry *r;
    char err[256], login[OCP_TERMINAL_LOGIN_CAP],
        password[OCP_TERMINAL_PASSWORD_CAP];
    assert_int_equal(ocp_registry_open(be->uri, &r, err, sizeof err), OCP_OK);
    if (strcmp(ocp_registry_backend(r), "sqlite") == 0) {
        assert_int_equal(ocp_registry_terminal_login(r, T1, login, password),
                         OCP_E_ARGS);
        assert_non_null(strstr(ocp_registry_error(r), "PostgreSQL"));
    }
    ocp_registry_close(r);
}

static void test_terminal_login(void **state)
{
    struct backend *be = *state;
    ocp_registry *r, *t1;
    ocp_terminal_key *k1, *k2;
    ocp_upload_result up;
    ocp_db *db;
    char err[256], path[160], uri[700], login[OCP_TERMINAL_LOGIN_CAP],
        password[OCP_TERMINAL_PASSWORD_CAP], old_password[33];
    uint8_t pub[200], buf[256], sig[OCP_BATCH_SIGNATURE_LEN], *body = NULL;
    size_t pub_len, len, body_len = 0;
    uint32_t version = 0;
    int64_t now = 0, count = -1;
    ocp_registry_card c;
    int k;

    assert_int_equal(ocp_registry_open(be->uri, &r, err, sizeof err), OCP_OK);
    if (strcmp(ocp_registry_backend(r), "postgresql") != 0) {
        ocp_registry_close(r);
        return; /* test_sqlite_has_no_logins */
    }
    for (k = 1; k <= 2; k++) {
        snprintf(path, sizeof path, "%s/lt%d.pem", be->dir, k);
        pub_len = sizeof pub;
        assert_int_equal(ocp_terminal_key_create(path, OCP_SUITE_AES, pub,
                                                 &pub_len),
                         OCP_OK);
        assert_int_equal(ocp_terminal_key_load(path, k == 1 ? &k1 : &k2),
                         OCP_OK);
        assert_int_equal(ocp_registry_enrol_terminal(r, k == 1 ? T1 : T2,
                                                     "bus-line-5", "validator",
                                                     pub, pub_len, NOW),
                         OCP_OK);
    }
    memset(&c, 0, sizeof c);
    memcpy(c.card_id, card, 8);
    c.suite = OCP_SUITE_AES;
    c.txmac_version = 1;
    c.issuer_version = 1;
    snprintf(c.state, sizeof c.state, "active");
    assert_int_equal(ocp_registry_put_card(r, &c, NOW), OCP_OK);
    assert_int_equal(ocp_registry_log_access(r, "clerk-li", "holder record",
                                             card, NOW),
                     OCP_OK);
    assert_int_equal(ocp_registry_publish(r, "hotlist", 3,
                                          (const uint8_t *)"list", 4, NOW),
                     OCP_OK);
    /* T2's record, uploaded by the owner: T1 must not see it. */
    signed_batch(k2, T2, 1, buf, &len, sig);
    assert_int_equal(ocp_registry_upload(r, buf, len, sig, NOW, &up), OCP_OK);

    /* Not for an unknown terminal. */
    assert_int_equal(ocp_registry_terminal_login(r, 0x0B0002FFu, login,
                                                 password),
                     OCP_E_ARGS);
    assert_int_equal(ocp_registry_terminal_login(r, T1, login, password),
                     OCP_OK);
    assert_string_equal(login, "ocp_t_0b000201");
    assert_int_equal(strlen(password), 32);
    snprintf(old_password, sizeof old_password, "%s", password);
    /* Again: a new password, the old one stops working. */
    assert_int_equal(ocp_registry_terminal_login(r, T1, login, password),
                     OCP_OK);
    assert_string_not_equal(password, old_password);
    uri_as(be->uri, login, old_password, uri, sizeof uri);
    assert_int_equal(ocp_registry_open(uri, &t1, err, sizeof err), OCP_E_DB);
    assert_null(strstr(err, old_password));

    /* What a sync does, for itself. */
    uri_as(be->uri, login, password, uri, sizeof uri);
    assert_int_equal(ocp_registry_open(uri, &t1, err, sizeof err), OCP_OK);
    assert_int_equal(ocp_registry_check_terminal(t1, T1), OCP_OK);
    assert_int_equal(ocp_registry_now(t1, &now), OCP_OK);
    signed_batch(k1, T1, 1, buf, &len, sig);
    assert_int_equal(ocp_registry_upload(t1, buf, len, sig, now, &up),
                     OCP_OK);
    assert_int_equal(up.stored, 1);
    assert_int_equal(ocp_registry_upload(t1, buf, len, sig, now, &up),
                     OCP_OK); /* again: stored once */
    assert_int_equal(up.duplicates, 1);
    assert_int_equal(ocp_registry_note_clock(t1, T1, 3), OCP_OK);
    assert_int_equal(ocp_registry_fetch(t1, "hotlist", &body, &body_len,
                                        &version),
                     OCP_OK);
    assert_int_equal(version, 3);
    free(body);
    assert_int_equal(ocp_registry_note_hotlist(t1, T1, 3), OCP_OK);

    /* Nothing for another terminal, even with that terminal's signature. */
    signed_batch(k2, T2, 2, buf, &len, sig);
    assert_int_not_equal(ocp_registry_upload(t1, buf, len, sig, now, &up),
                         OCP_OK);
    assert_int_equal(ocp_registry_check_terminal(t1, T2), OCP_E_DENIED);
    ocp_registry_close(t1);

    /* And no personal data, no trail; only its own records. */
    assert_int_equal(db_open(uri, &db, err, sizeof err), OCP_OK);
    assert_int_equal(db_query(db, "SELECT COUNT(*) FROM uses", NULL, 0,
                              count_row, &count, NULL),
                     OCP_OK);
    assert_int_equal(count, 1);
    assert_int_equal(db_query(db, "SELECT COUNT(*) FROM holders", NULL, 0,
                              count_row, &count, NULL),
                     OCP_E_DB);
    assert_int_equal(db_query(db, "SELECT COUNT(*) FROM access_log", NULL, 0,
                              count_row, &count, NULL),
                     OCP_E_DB);
    assert_int_equal(db_query(db, "SELECT holder_ref FROM cards", NULL, 0,
                              NULL, NULL, NULL),
                     OCP_E_DB);
    /* (The amount is the signed bytes' byte 19, schema version 3.) */
    if (db_query(db,
                 "UPDATE uses SET rec = overlay(rec placing '\\x09'::bytea "
                 "from 19)",
                 NULL, 0, NULL, NULL, NULL) != OCP_OK)
        fail_msg("%s", db_last_error(db)); /* its own rows only */
    assert_int_equal(db_query(db, "DELETE FROM uses", NULL, 0, NULL, NULL,
                              NULL),
                     OCP_E_DB);
    assert_int_equal(db_query(db, "UPDATE terminals SET revoked_at = NULL",
                              NULL, 0, NULL, NULL, NULL),
                     OCP_E_DB);
    db_close(db);
    count = -1;
    assert_int_equal(db_open(be->uri, &db, err, sizeof err), OCP_OK);
    assert_int_equal(db_query(db,
                              "SELECT COUNT(*) FROM uses WHERE amount = 9 "
                              "AND terminal_id = 4026532354",
                              NULL, 0, count_row, &count, NULL),
                     OCP_OK);
    assert_int_equal(count, 0); /* T2's record untouched */
    db_close(db);

    /* Revoked: the login is gone with the terminal. */
    assert_int_equal(ocp_registry_revoke_terminal(r, T1, NOW + 60), OCP_OK);
    assert_int_equal(ocp_registry_open(uri, &t1, err, sizeof err), OCP_E_DB);

    /* The high-bit terminal's name maps back to its id. */
    assert_int_equal(ocp_registry_terminal_login(r, T2, login, password),
                     OCP_OK);
    assert_string_equal(login, "ocp_t_f0000202");
    uri_as(be->uri, login, password, uri, sizeof uri);
    assert_int_equal(ocp_registry_open(uri, &t1, err, sizeof err), OCP_OK);
    assert_int_equal(ocp_registry_check_terminal(t1, T2), OCP_OK);
    signed_batch(k2, T2, 2, buf, &len, sig);
    assert_int_equal(ocp_registry_upload(t1, buf, len, sig, NOW, &up),
                     OCP_OK);
    ocp_registry_close(t1);

    ocp_terminal_key_free(k1);
    ocp_terminal_key_free(k2);
    ocp_registry_close(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sqlite_has_no_logins),
        cmocka_unit_test(test_terminal_login),
    };
    return backends_run("terminal_login", tests,
                        sizeof tests / sizeof tests[0]);
}
