/*
 * The registry and a terminal's sync (ocp/registry.h, ocp/sync.h) on both
 * backends: the schema made and checked, terminals enrolled and revoked,
 * the upload idempotent through a crash between the registry's commit and
 * the journal's mark, a pending record finished, a terminal contradicting
 * itself kept apart, a foreign signature refused, published files, the
 * clock offset, the terminal listing and the enrolment check; clerks (the
 * first one, listed, disabled), approvals and the desk trail.
 *
 * PostgreSQL: a database of its own per run on the fixture's server
 * (OCP_TEST_PG_URI), dropped at the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <pthread.h>

#include "backends.h"
#include "registry_internal.h"
#include "db.h"
#include "ocp/holder.h"
#include "ocp/registry.h"
#include "ocp/sync.h"
#include "ocp/wire.h"


static const uint32_t TERM = 0x0B000007u;

static void card_of(uint8_t id[8], unsigned n)
{
    static const uint8_t base[8] = {0x4F, 0x43, 0x50, 0, 0, 0, 0, 0};
    memcpy(id, base, 8);
    id[6] = (uint8_t)(n >> 8);
    id[7] = (uint8_t)n;
}

/* A journal with `n` attempts on `cards` cards, all accepted but the last
 * (pending); returns the pending attempt's sequence number. */
static uint32_t fill_journal(ocp_journal *j, unsigned n, unsigned cards)
{
    unsigned i;
    uint32_t seq = 0;
    for (i = 0; i < n; i++) {
        uint8_t card[8];
        ocp_tx_result tx;
        int retry;
        card_of(card, i % cards);
        assert_int_equal(ocp_journal_begin(j, card, OCP_ROLE_TRANSIT, 0x0101,
                                           1, 14154360u + i, &seq, &retry),
                         OCP_OK);
        if (i + 1 == n)
            break;
        memset(&tx, 0, sizeof tx);
        tx.counter = i + 1;
        tx.remaining = 0xFFFFFFFFu;
        memset(tx.cert, (int)i, 8);
        assert_int_equal(ocp_journal_accept(j, seq, &tx), OCP_OK);
    }
    return seq;
}

static void test_registry_and_sync(void **state)
{
    struct backend *be = *state;
    char path[128], other_path[128], journal_path[128], err[256];
    uint8_t pub[200], other_pub[200], sig[OCP_BATCH_SIGNATURE_LEN];
    size_t pub_len = sizeof pub, other_len = sizeof other_pub;
    ocp_terminal_key *k, *other;
    ocp_registry *r;
    ocp_journal *j;
    ocp_sync_result res;
    ocp_upload_result up;
    ocp_use_record recs[8];
    uint8_t *batch, *body;
    size_t n, len;
    uint32_t pending_seq, version;
    int64_t count, now = (int64_t)time(NULL);
    ocp_tx_result tx;

    snprintf(path, sizeof path, "%s/term.pem", be->dir);
    snprintf(other_path, sizeof other_path, "%s/other.pem", be->dir);
    snprintf(journal_path, sizeof journal_path, "%s/journal.db", be->dir);
    assert_int_equal(ocp_terminal_key_create(path, OCP_SUITE_AES, pub,
                                             &pub_len),
                     OCP_OK);
    assert_int_equal(ocp_terminal_key_create(other_path, OCP_SUITE_SM,
                                             other_pub, &other_len),
                     OCP_OK);
    assert_int_equal(ocp_terminal_key_load(path, &k), OCP_OK);
    assert_int_equal(ocp_terminal_key_load(other_path, &other), OCP_OK);

    /* A new registry, then the same one again. */
    assert_int_equal(ocp_registry_open(be->uri, &r, err, sizeof err), OCP_OK);
    ocp_registry_close(r);
    assert_int_equal(ocp_registry_open(be->uri, &r, err, sizeof err), OCP_OK);
    assert_int_equal(ocp_registry_enrol_terminal(r, TERM, "bus-line-7",
                                                 "validator", pub, pub_len,
                                                 now),
                     OCP_OK);
    assert_int_equal(ocp_registry_enrol_terminal(r, TERM, "bus-line-7",
                                                 "validator", pub, pub_len,
                                                 now),
                     OCP_E_DB_CONFLICT);
    assert_int_equal(ocp_registry_enrol_terminal(r, TERM + 1, "x", "toaster",
                                                 pub, pub_len, now),
                     OCP_E_ARGS);

    /* 1500 attempts: two batches; the last one pending. */
    assert_int_equal(ocp_journal_open(journal_path, TERM, &j), OCP_OK);
    pending_seq = fill_journal(j, 1500, 40);
    {
        /* The offset is the terminal's clock minus the registry's at the
         * sync: between the two readings taken around it, however long
         * the sync takes on a busy machine. */
        int64_t before, after;
        assert_int_equal(ocp_registry_now(r, &before), OCP_OK);
        assert_int_equal(ocp_sync_upload(j, r, k, TERM, now + 30, &res),
                         OCP_OK);
        assert_int_equal(ocp_registry_now(r, &after), OCP_OK);
        assert_true(res.clock_offset_s <= now + 30 - before);
        assert_true(res.clock_offset_s >= now + 30 - after);
    }
    assert_int_equal(res.batches, 2);
    assert_int_equal(res.records.stored, 1500);
    assert_int_equal(ocp_registry_count_uses(r, &count), OCP_OK);
    assert_int_equal(count, 1500);
    /* Nothing left: a second sync sends nothing. */
    assert_int_equal(ocp_sync_upload(j, r, k, TERM, now, &res), OCP_OK);
    assert_int_equal(res.batches, 0);

    /* The pending attempt is finished by a later tap: it goes up again and
     * the registry's record becomes final. */
    memset(&tx, 0, sizeof tx);
    tx.counter = 1500;
    memset(tx.cert, 0xEE, 8);
    assert_int_equal(ocp_journal_accept(j, pending_seq, &tx), OCP_OK);

    /* A crash between the registry's commit and the journal's mark: the
     * batch is stored, the journal still lists it.  The next sync sends it
     * again and the registry stores nothing twice. */
    n = 8;
    assert_int_equal(ocp_journal_to_upload(j, recs, &n), OCP_OK);
    assert_int_equal(n, 1);
    len = ocp_batch_len(n);
    batch = malloc(len);
    assert_non_null(batch);
    assert_int_equal(ocp_batch_encode(TERM, 99, recs, n, batch, len), OCP_OK);
    assert_int_equal(ocp_batch_sign(k, batch, len, sig), OCP_OK);
    assert_int_equal(ocp_registry_upload(r, batch, len, sig, now, &up),
                     OCP_OK);
    assert_int_equal(up.finished, 1);
    assert_int_equal(ocp_sync_upload(j, r, k, TERM, now, &res), OCP_OK);
    assert_int_equal(res.batches, 1);
    assert_int_equal(res.records.duplicates, 1);
    assert_int_equal(res.records.stored, 0);
    assert_int_equal(ocp_registry_count_uses(r, &count), OCP_OK);
    assert_int_equal(count, 1500);

    /* The terminal says something else under a stored number: kept apart
     * for the audit, nothing overwritten. */
    recs[0].counter ^= 0x100;
    assert_int_equal(ocp_batch_encode(TERM, 100, recs, 1, batch, len),
                     OCP_OK);
    assert_int_equal(ocp_batch_sign(k, batch, len, sig), OCP_OK);
    assert_int_equal(ocp_registry_upload(r, batch, len, sig, now, &up),
                     OCP_OK);
    assert_int_equal(up.conflicts, 1);

    /* Another key's signature, a flipped byte, an unknown terminal, a
     * revoked one: refused, nothing stored. */
    assert_int_equal(ocp_batch_sign(other, batch, len, sig), OCP_OK);
    assert_int_equal(ocp_registry_upload(r, batch, len, sig, now, &up),
                     OCP_E_SIGNATURE);
    assert_int_equal(ocp_batch_sign(k, batch, len, sig), OCP_OK);
    batch[len - 1] ^= 1;
    assert_int_equal(ocp_registry_upload(r, batch, len, sig, now, &up),
                     OCP_E_SIGNATURE);
    batch[len - 1] ^= 1;
    assert_int_equal(ocp_batch_encode(TERM + 5, 1, recs, 1, batch, len),
                     OCP_OK);
    assert_int_equal(ocp_batch_sign(k, batch, len, sig), OCP_OK);
    assert_int_equal(ocp_registry_upload(r, batch, len, sig, now, &up),
                     OCP_E_DENIED);
    assert_int_equal(ocp_registry_upload(r, batch, len - 1, sig, now, &up),
                     OCP_E_BAD_RESPONSE);
    assert_int_equal(ocp_registry_revoke_terminal(r, TERM, now), OCP_OK);
    assert_int_equal(ocp_registry_revoke_terminal(r, TERM, now), OCP_E_ARGS);
    assert_int_equal(ocp_batch_encode(TERM, 101, recs, 1, batch, len),
                     OCP_OK);
    assert_int_equal(ocp_batch_sign(k, batch, len, sig), OCP_OK);
    assert_int_equal(ocp_registry_upload(r, batch, len, sig, now, &up),
                     OCP_E_DENIED);
    assert_int_equal(ocp_registry_count_uses(r, &count), OCP_OK);
    assert_int_equal(count, 1500);
    free(batch);

    /* Published files only go forward. */
    assert_int_equal(ocp_registry_fetch(r, "hotlist", &body, &len, &version),
                     OCP_E_IO);
    assert_int_equal(ocp_registry_publish(r, "hotlist", 2,
                                          (const uint8_t *)"v2", 2, now),
                     OCP_OK);
    assert_int_equal(ocp_registry_publish(r, "hotlist", 1,
                                          (const uint8_t *)"v1", 2, now),
                     OCP_E_ARGS);
    assert_int_equal(ocp_registry_fetch(r, "hotlist", &body, &len, &version),
                     OCP_OK);
    assert_int_equal(version, 2);
    assert_int_equal(len, 2);
    assert_memory_equal(body, "v2", 2);
    free(body);

    ocp_journal_close(j);
    ocp_registry_close(r);
    ocp_terminal_key_free(k);
    ocp_terminal_key_free(other);
}

struct clerks_seen {
    size_t n;
    char login[8][32], permissions[8][64];
    int64_t disabled_at[8];
};

static int clerk_seen(void *ctx, const ocp_registry_clerk *k)
{
    struct clerks_seen *s = ctx;
    if (s->n < 8) {
        snprintf(s->login[s->n], sizeof s->login[0], "%s", k->login);
        snprintf(s->permissions[s->n], sizeof s->permissions[0], "%s",
                 k->permissions);
        s->disabled_at[s->n] = k->disabled_at;
    }
    s->n++;
    return 0;
}

/* The first clerk without anyone logged in, then never again; the
 * listing; a disabled clerk cannot log in; the last registry clerk stays;
 * the approval threshold.  Runs before any other test adds a clerk: the
 * bootstrap needs a registry without one. */
static void test_clerk_bootstrap_list_disable(void **state)
{
    struct backend *be = *state;
    struct clerks_seen seen;
    ocp_registry *r;
    char err[256];
    int64_t fen;
    int may, needed;
    assert_int_equal(ocp_registry_open(be->uri, &r, err, sizeof err), OCP_OK);
    /* The first clerk must be able to add the others. */
    assert_int_equal(ocp_registry_add_first_clerk(r, "root", "管理员",
                                                  "issue,audit",
                                                  "root password", 10),
                     OCP_E_ARGS);
    assert_non_null(strstr(ocp_registry_error(r), "registry permission"));
    assert_int_equal(ocp_registry_add_first_clerk(r, "root", "管理员",
                                                  "registry,audit",
                                                  "root password", 10),
                     OCP_OK);
    assert_int_equal(ocp_registry_add_first_clerk(r, "mallory", "x",
                                                  "registry", "a password",
                                                  11),
                     OCP_E_DENIED);
    assert_int_equal(ocp_registry_login(r, "mallory", "a password", NULL),
                     OCP_E_DENIED);
    /* Permission words are checked, and so is the login's form. */
    assert_int_equal(ocp_registry_add_clerk(r, "desk1", "x", "issue,fly",
                                            "desk password", 12),
                     OCP_E_ARGS);
    assert_int_equal(ocp_registry_add_clerk(r, "desk1", "x", "issue, pin",
                                            "desk password", 12),
                     OCP_E_ARGS);
    assert_int_equal(ocp_registry_add_clerk(r, "desk 1", "x", "issue",
                                            "desk password", 12),
                     OCP_E_ARGS);
    assert_int_equal(ocp_registry_add_clerk(r, "desk1", "柜员一", "issue,pin",
                                            "desk password", 12),
                     OCP_OK);

    memset(&seen, 0, sizeof seen);
    assert_int_equal(ocp_registry_list_clerks(r, clerk_seen, &seen), OCP_OK);
    assert_int_equal(seen.n, 2);
    assert_string_equal(seen.login[0], "desk1");
    assert_string_equal(seen.permissions[0], "issue,pin");
    assert_int_equal(seen.disabled_at[0], 0);
    assert_string_equal(seen.login[1], "root");
    assert_string_equal(seen.permissions[1], "registry,audit");

    assert_int_equal(ocp_registry_clerk_may(r, "desk1", "pin", &may), OCP_OK);
    assert_true(may);
    assert_int_equal(ocp_registry_clerk_may(r, "desk1", "registry", &may),
                     OCP_OK);
    assert_false(may);
    assert_int_equal(ocp_registry_clerk_may(r, "nobody", "pin", &may),
                     OCP_OK);
    assert_false(may);

    /* root is the only registry clerk: kept. */
    assert_int_equal(ocp_registry_disable_clerk(r, "root", 13), OCP_E_DENIED);
    assert_non_null(strstr(ocp_registry_error(r), "last active"));
    assert_int_equal(ocp_registry_login(r, "desk1", "desk password", "pin"),
                     OCP_OK);
    assert_int_equal(ocp_registry_disable_clerk(r, "desk1", 14), OCP_OK);
    assert_int_equal(ocp_registry_disable_clerk(r, "desk1", 15), OCP_E_ARGS);
    assert_int_equal(ocp_registry_disable_clerk(r, "nobody", 15), OCP_E_ARGS);
    assert_int_equal(ocp_registry_login(r, "desk1", "desk password", NULL),
                     OCP_E_DENIED);
    assert_non_null(strstr(ocp_registry_error(r), "unknown clerk, wrong"));
    assert_int_equal(ocp_registry_clerk_may(r, "desk1", "pin", &may), OCP_OK);
    assert_false(may);
    memset(&seen, 0, sizeof seen);
    assert_int_equal(ocp_registry_list_clerks(r, clerk_seen, &seen), OCP_OK);
    assert_int_equal(seen.n, 2);
    assert_int_equal(seen.disabled_at[0], 14);
    /* With a second registry clerk the first may go, not the second. */
    assert_int_equal(ocp_registry_add_clerk(r, "root2", "x", "audit,registry",
                                            "root2 password", 16),
                     OCP_OK);
    assert_int_equal(ocp_registry_disable_clerk(r, "root", 17), OCP_OK);
    assert_int_equal(ocp_registry_disable_clerk(r, "root2", 18),
                     OCP_E_DENIED);
    /* Disabled clerks still count: no second bootstrap. */
    assert_int_equal(ocp_registry_add_first_clerk(r, "mallory", "x",
                                                  "registry", "a password",
                                                  19),
                     OCP_E_DENIED);

    assert_int_equal(ocp_registry_approval_threshold(r, &fen), OCP_OK);
    assert_int_equal(fen, 100000);
    assert_int_equal(ocp_registry_set_approval_threshold(r, -1), OCP_E_ARGS);
    assert_int_equal(ocp_registry_set_approval_threshold(r, 5000), OCP_OK);
    assert_int_equal(ocp_registry_approval_threshold(r, &fen), OCP_OK);
    assert_int_equal(fen, 5000);
    assert_int_equal(ocp_registry_needs_approval(r, "credit", 5001, &needed),
                     OCP_OK);
    assert_true(needed);
    assert_int_equal(ocp_registry_needs_approval(r, "grant", 5001, &needed),
                     OCP_OK);
    assert_false(needed);
    /* Back to a new registry's, which the next test counts on. */
    assert_int_equal(ocp_registry_set_approval_threshold(r, 100000), OCP_OK);
    ocp_registry_close(r);
}

struct approvals_seen {
    size_t n;
    int64_t id[8], amount[8];
    char action[8][16], approved_by[8][16];
};

static int approval_seen(void *ctx, const ocp_registry_approval *a)
{
    struct approvals_seen *s = ctx;
    if (s->n < 8) {
        s->id[s->n] = a->id;
        s->amount[s->n] = a->amount;
        snprintf(s->action[s->n], sizeof s->action[0], "%s", a->action);
        snprintf(s->approved_by[s->n], sizeof s->approved_by[0], "%s",
                 a->approved_by != NULL ? a->approved_by : "-");
    }
    s->n++;
    return 0;
}

struct actions_seen {
    size_t n;
    char clerk[8][16], action[8][16], detail[8][64];
    int64_t approval_id[8], at[8];
    int has_card[8];
};

static int action_seen(void *ctx, const ocp_registry_action *a)
{
    struct actions_seen *s = ctx;
    if (s->n < 8) {
        snprintf(s->clerk[s->n], sizeof s->clerk[0], "%s", a->clerk);
        snprintf(s->action[s->n], sizeof s->action[0], "%s", a->action);
        snprintf(s->detail[s->n], sizeof s->detail[0], "%s", a->detail);
        s->approval_id[s->n] = a->approval_id;
        s->at[s->n] = a->at;
        s->has_card[s->n] = a->has_card;
    }
    s->n++;
    return 0;
}

/* Clerks log in; a second clerk approves a large credit and a PIN unblock,
 * and the approval covers exactly what was asked, once. */
struct disabler {
    ocp_registry *r;
    ocp_status st;
};

static void *disable_race2(void *arg)
{
    struct disabler *d = arg;
    d->st = ocp_registry_disable_clerk(d->r, "race2", 31);
    return NULL;
}

/*
 * Two clerks disabling the last two registry clerks at the same moment:
 * the second waits for the first and is refused, so one stays.  Without
 * the turn both went through on PostgreSQL (each saw the other still
 * active).
 */
static void test_last_registry_clerks_race(void **state)
{
    struct backend *be = *state;
    ocp_registry *a, *b;
    struct disabler d;
    pthread_t thread;
    char err[256];
    int may1 = 1, may2 = 1;
    struct timespec pause = {0, 300000000L};
    assert_int_equal(ocp_registry_open(be->uri, &a, err, sizeof err), OCP_OK);
    assert_int_equal(ocp_registry_open(be->uri, &b, err, sizeof err), OCP_OK);
    /* After test_clerk_bootstrap_list_disable root2 is the one registry
     * clerk: two new ones take over, and the race is between them. */
    assert_int_equal(ocp_registry_add_clerk(a, "race1", "x", "registry",
                                            "race1 password", 30),
                     OCP_OK);
    assert_int_equal(ocp_registry_add_clerk(a, "race2", "x", "registry",
                                            "race2 password", 30),
                     OCP_OK);
    assert_int_equal(ocp_registry_disable_clerk(a, "root2", 30), OCP_OK);
    /* a is half way through its disable (its transaction open) when b
     * starts its own. */
    assert_int_equal(db_begin(a->db), OCP_OK);
    assert_int_equal(ocp_registry_disable_clerk(a, "race1", 31), OCP_OK);
    d.r = b;
    d.st = OCP_E_ARGS;
    assert_int_equal(pthread_create(&thread, NULL, disable_race2, &d), 0);
    nanosleep(&pause, NULL);
    assert_int_equal(db_commit(a->db), OCP_OK);
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_int_equal(d.st, OCP_E_DENIED);
    assert_int_equal(ocp_registry_clerk_may(a, "race1", "registry", &may1),
                     OCP_OK);
    assert_int_equal(ocp_registry_clerk_may(a, "race2", "registry", &may2),
                     OCP_OK);
    assert_false(may1);
    assert_true(may2);
    ocp_registry_close(b);
    ocp_registry_close(a);
}

static void test_clerks_and_approvals(void **state)
{
    struct backend *be = *state;
    static const uint8_t card[8] = {0x4F, 0x43, 0x50, 0, 0, 0, 0x0C, 0x01};
    static const uint8_t other[8] = {0x4F, 0x43, 0x50, 0, 0, 0, 0x0C, 0x02};
    ocp_registry *r;
    char err[256];
    struct approvals_seen aps;
    struct actions_seen acts;
    int64_t id, id2;
    int needed;
    assert_int_equal(ocp_registry_open(be->uri, &r, err, sizeof err), OCP_OK);
    assert_int_equal(ocp_registry_add_clerk(r, "wang", "王芳", "issue,grant,credit",
                                            "correct horse", 1),
                     OCP_OK);
    assert_int_equal(ocp_registry_add_clerk(r, "li", "李强", "approve,pin",
                                            "battery staple", 1),
                     OCP_OK);
    assert_int_equal(ocp_registry_add_clerk(r, "li", "x", "", "battery staple",
                                            1),
                     OCP_E_DB_CONFLICT);
    assert_int_equal(ocp_registry_add_clerk(r, "zhao", "x", "", "short", 1),
                     OCP_E_ARGS);
    assert_int_equal(ocp_registry_login(r, "wang", "correct horse", "credit"),
                     OCP_OK);
    assert_int_equal(ocp_registry_login(r, "wang", "correct horse", "approve"),
                     OCP_E_DENIED);
    assert_int_equal(ocp_registry_login(r, "wang", "correct horsE", NULL),
                     OCP_E_DENIED);
    assert_int_equal(ocp_registry_login(r, "nobody", "correct horse", NULL),
                     OCP_E_DENIED);
    /* The same message whether the login exists or not. */
    assert_non_null(strstr(ocp_registry_error(r), "unknown clerk, wrong"));

    assert_int_equal(ocp_registry_needs_approval(r, "credit", 100000,
                                                 &needed),
                     OCP_OK);
    assert_false(needed); /* at the threshold: one clerk is enough */
    assert_int_equal(ocp_registry_needs_approval(r, "credit", 100001,
                                                 &needed),
                     OCP_OK);
    assert_true(needed);
    assert_int_equal(ocp_registry_needs_approval(r, "pin-unblock", 0,
                                                 &needed),
                     OCP_OK);
    assert_true(needed);

    assert_int_equal(ocp_registry_request_approval(r, "wang", "credit", card,
                                                   500000, 2, &id),
                     OCP_OK);
    assert_true(id > 0);
    /* Not yet approved; the requester cannot approve it herself. */
    assert_int_equal(ocp_registry_use_approval(r, "wang", id, "credit", card,
                                               500000, 3),
                     OCP_E_DENIED);
    assert_int_equal(ocp_registry_approve(r, "wang", id, 3), OCP_E_DENIED);
    assert_int_equal(ocp_registry_approve(r, "li", id, 3), OCP_OK);
    assert_int_equal(ocp_registry_approve(r, "li", id, 3), OCP_E_DENIED);
    /* Another card, another amount, another clerk: not covered. */
    assert_int_equal(ocp_registry_use_approval(r, "wang", id, "credit", other,
                                               500000, 4),
                     OCP_E_DENIED);
    assert_int_equal(ocp_registry_use_approval(r, "wang", id, "credit", card,
                                               500001, 4),
                     OCP_E_DENIED);
    assert_int_equal(ocp_registry_use_approval(r, "li", id, "credit", card,
                                               500000, 4),
                     OCP_E_DENIED);
    assert_int_equal(ocp_registry_use_approval(r, "wang", id, "credit", card,
                                               500000, 4),
                     OCP_OK);
    assert_int_equal(ocp_registry_use_approval(r, "wang", id, "credit", card,
                                               500000, 5),
                     OCP_E_DENIED); /* once */
    assert_int_equal(ocp_registry_record_action(r, "wang", "credit", card,
                                                "{\"slot\":4,\"fen\":500000}",
                                                id, 5),
                     OCP_OK);
    assert_int_equal(ocp_registry_request_approval(r, "li", "pin-unblock",
                                                   card, 0, 6, &id2),
                     OCP_OK);
    assert_true(id2 > id);

    /* Listed: only what is not spent yet. */
    memset(&aps, 0, sizeof aps);
    assert_int_equal(ocp_registry_list_approvals(r, approval_seen, &aps),
                     OCP_OK);
    assert_int_equal(aps.n, 1);
    assert_int_equal(aps.id[0], id2);
    assert_string_equal(aps.action[0], "pin-unblock");
    assert_string_equal(aps.approved_by[0], "-");
    assert_int_equal(ocp_registry_approve(r, "wang", id2, 7), OCP_OK);
    memset(&aps, 0, sizeof aps);
    assert_int_equal(ocp_registry_list_approvals(r, approval_seen, &aps),
                     OCP_OK);
    assert_string_equal(aps.approved_by[0], "wang");

    /* The trail: of one card, and all of it. */
    assert_int_equal(ocp_registry_record_action(r, "li", "clerk-add", NULL,
                                                "{\"login\":\"zhao\"}", 0, 8),
                     OCP_OK);
    memset(&acts, 0, sizeof acts);
    assert_int_equal(ocp_registry_list_actions(r, card, action_seen, &acts),
                     OCP_OK);
    assert_int_equal(acts.n, 1);
    assert_string_equal(acts.clerk[0], "wang");
    assert_string_equal(acts.action[0], "credit");
    assert_string_equal(acts.detail[0], "{\"slot\":4,\"fen\":500000}");
    assert_int_equal(acts.approval_id[0], id);
    assert_int_equal(acts.at[0], 5);
    assert_true(acts.has_card[0]);
    memset(&acts, 0, sizeof acts);
    assert_int_equal(ocp_registry_list_actions(r, other, action_seen, &acts),
                     OCP_OK);
    assert_int_equal(acts.n, 0);
    memset(&acts, 0, sizeof acts);
    assert_int_equal(ocp_registry_list_actions(r, NULL, action_seen, &acts),
                     OCP_OK);
    assert_int_equal(acts.n, 2);
    assert_string_equal(acts.action[1], "clerk-add");
    assert_false(acts.has_card[1]);
    assert_int_equal(acts.approval_id[1], 0);
    ocp_registry_close(r);
}

/* The hotlist kept in the registry: only known cards, with the suite and
 * issuer key version their block cryptograms need; off and on again. */
static void test_hotlist(void **state)
{
    struct backend *be = *state;
    static const uint8_t a[8] = {0x4F, 0x43, 0x50, 0, 0, 0, 0x0D, 0x01};
    static const uint8_t b[8] = {0x4F, 0x43, 0x50, 0, 0, 0, 0x0D, 0x02};
    ocp_registry_card card;
    ocp_hotlist_card *cards;
    ocp_registry *r;
    char err[256];
    size_t n;
    assert_int_equal(ocp_registry_open(be->uri, &r, err, sizeof err), OCP_OK);
    memset(&card, 0, sizeof card);
    memcpy(card.card_id, a, 8);
    card.suite = OCP_SUITE_SM;
    card.txmac_version = 1;
    card.issuer_version = 3;
    snprintf(card.state, sizeof card.state, "active");
    assert_int_equal(ocp_registry_put_card(r, &card, 1), OCP_OK);
    assert_int_equal(ocp_registry_hotlist_add(r, b, "lost", "desk", 2),
                     OCP_E_ARGS); /* unknown card */
    assert_int_equal(ocp_registry_hotlist_add(r, a, "lost", "desk", 2),
                     OCP_OK);
    assert_int_equal(ocp_registry_hotlist_cards(r, &cards, &n), OCP_OK);
    assert_int_equal(n, 1);
    assert_memory_equal(cards[0].card_id, a, 8);
    assert_int_equal(cards[0].suite, OCP_SUITE_SM);
    assert_int_equal(cards[0].issuer_key_version, 3);
    free(cards);
    assert_int_equal(ocp_registry_hotlist_remove(r, a, 3), OCP_OK);
    assert_int_equal(ocp_registry_hotlist_remove(r, a, 3), OCP_E_ARGS);
    assert_int_equal(ocp_registry_hotlist_cards(r, &cards, &n), OCP_OK);
    assert_int_equal(n, 0);
    free(cards);
    assert_int_equal(ocp_registry_hotlist_add(r, a, "found and lost again",
                                              "desk", 4),
                     OCP_OK);
    assert_int_equal(ocp_registry_hotlist_cards(r, &cards, &n), OCP_OK);
    assert_int_equal(n, 1);
    free(cards);
    ocp_registry_close(r);
}

/* A registry written by a newer program is refused, not misread. */
static void test_newer_schema_refused(void **state)
{
    struct backend *be = *state;
    ocp_registry *r;
    ocp_db *db;
    char err[256], sql[96];
    assert_int_equal(ocp_registry_open(be->uri, &r, err, sizeof err), OCP_OK);
    ocp_registry_close(r);
    assert_int_equal(db_open(be->uri, &db, err, sizeof err), OCP_OK);
    assert_int_equal(db_query(db, "UPDATE meta SET value = '99' "
                                  "WHERE key = 'schema_version'",
                              NULL, 0, NULL, NULL, NULL),
                     OCP_OK);
    assert_int_equal(ocp_registry_open(be->uri, &r, err, sizeof err),
                     OCP_E_DB);
    assert_non_null(strstr(err, "newer"));
    snprintf(sql, sizeof sql,
             "UPDATE meta SET value = '%d' WHERE key = 'schema_version'",
             OCP_REGISTRY_SCHEMA);
    assert_int_equal(db_query(db, sql, NULL, 0, NULL, NULL, NULL), OCP_OK);
    db_close(db);
    assert_int_equal(ocp_registry_open(be->uri, &r, err, sizeof err), OCP_OK);
    ocp_registry_close(r);
}

/* What the listing showed, for the checks after it. */
struct listed {
    size_t n;
    uint32_t ids[16];
    char operators[16][32], kinds[16][16];
    int64_t enrolled[16], revoked[16], last_sync[16], offset[16];
    int clock_known[16];
    size_t stop_after; /* 0: never stop */
};

static int listed_row(void *ctx, const ocp_registry_terminal *t)
{
    struct listed *l = ctx;
    size_t i = l->n;
    if (i == 16)
        return 1;
    l->ids[i] = t->terminal_id;
    snprintf(l->operators[i], sizeof l->operators[i], "%s", t->operator_name);
    snprintf(l->kinds[i], sizeof l->kinds[i], "%s", t->kind);
    l->enrolled[i] = t->enrolled_at;
    l->revoked[i] = t->revoked_at;
    l->last_sync[i] = t->last_sync;
    l->clock_known[i] = t->clock_known;
    l->offset[i] = t->clock_offset_s;
    l->n++;
    return l->stop_after != 0 && l->n == l->stop_after;
}

static size_t listed_index(const struct listed *l, uint32_t id)
{
    size_t i;
    for (i = 0; i < l->n; i++)
        if (l->ids[i] == id)
            return i;
    fail_msg("terminal %08X is not listed", id);
    return 0;
}

/* The terminal listing (id order, every column, revoked ones shown, the
 * callback can stop it), the enrolment check, and a sync refused to a
 * revoked or unknown terminal even with an empty journal. */
static void test_terminal_listing(void **state)
{
    static const uint32_t A = 0x0C000001u, B = 0x0C000002u, C = 0x0C000003u;
    struct backend *be = *state;
    char path[128], journal_path[128], err[256];
    uint8_t pub[200];
    size_t pub_len, a, b, c, i;
    ocp_terminal_key *k;
    ocp_registry *r;
    ocp_journal *j;
    ocp_sync_result res;
    struct listed l;
    int64_t now = (int64_t)time(NULL), before, after, offset;

    assert_int_equal(ocp_registry_open(be->uri, &r, err, sizeof err), OCP_OK);
    assert_string_equal(ocp_registry_backend(r),
                        strncmp(be->uri, "sqlite:", 7) == 0 ? "sqlite"
                                                            : "postgresql");
    /* Enrolled out of order, so the listing's order is its own. */
    snprintf(path, sizeof path, "%s/list-c.pem", be->dir);
    pub_len = sizeof pub;
    assert_int_equal(ocp_terminal_key_create(path, OCP_SUITE_SM, pub,
                                             &pub_len),
                     OCP_OK);
    assert_int_equal(ocp_registry_enrol_terminal(r, C, "clinic-3", "counter",
                                                 pub, pub_len, now - 20),
                     OCP_OK);
    snprintf(path, sizeof path, "%s/list-a.pem", be->dir);
    pub_len = sizeof pub;
    assert_int_equal(ocp_terminal_key_create(path, OCP_SUITE_AES, pub,
                                             &pub_len),
                     OCP_OK);
    assert_int_equal(ocp_registry_enrol_terminal(r, A, "bus-line-9",
                                                 "validator", pub, pub_len,
                                                 now - 10),
                     OCP_OK);
    assert_int_equal(ocp_terminal_key_load(path, &k), OCP_OK);
    assert_int_equal(ocp_registry_enrol_terminal(r, B, "kiosk-1", "kiosk",
                                                 pub, pub_len, now - 5),
                     OCP_OK);
    assert_int_equal(ocp_registry_revoke_terminal(r, B, now - 1), OCP_OK);

    assert_int_equal(ocp_registry_check_terminal(r, A), OCP_OK);
    assert_int_equal(ocp_registry_check_terminal(r, B), OCP_E_DENIED);
    assert_non_null(strstr(ocp_registry_error(r), "revoked"));
    assert_int_equal(ocp_registry_check_terminal(r, 0x0C0000FFu),
                     OCP_E_DENIED);
    assert_non_null(strstr(ocp_registry_error(r), "not enrolled"));

    /* A syncs with nothing to send: its clock and last sync are noted. */
    snprintf(journal_path, sizeof journal_path, "%s/list-a.db", be->dir);
    assert_int_equal(ocp_journal_open(journal_path, A, &j), OCP_OK);
    assert_int_equal(ocp_registry_now(r, &before), OCP_OK);
    assert_int_equal(ocp_sync_upload(j, r, k, A, now - 120, &res), OCP_OK);
    assert_int_equal(ocp_registry_now(r, &after), OCP_OK);
    assert_int_equal(res.batches, 0);
    offset = res.clock_offset_s;
    ocp_journal_close(j);
    /* B (revoked) and an unknown id are refused, though there is nothing
     * to send, and nothing of theirs is noted. */
    snprintf(journal_path, sizeof journal_path, "%s/list-b.db", be->dir);
    assert_int_equal(ocp_journal_open(journal_path, B, &j), OCP_OK);
    assert_int_equal(ocp_sync_upload(j, r, k, B, now, &res), OCP_E_DENIED);
    ocp_journal_close(j);
    snprintf(journal_path, sizeof journal_path, "%s/list-x.db", be->dir);
    assert_int_equal(ocp_journal_open(journal_path, 0x0C0000FFu, &j),
                     OCP_OK);
    assert_int_equal(ocp_sync_upload(j, r, k, 0x0C0000FFu, now, &res),
                     OCP_E_DENIED);
    ocp_journal_close(j);

    memset(&l, 0, sizeof l);
    assert_int_equal(ocp_registry_list_terminals(r, listed_row, &l), OCP_OK);
    for (i = 1; i < l.n; i++)
        assert_true(l.ids[i - 1] < l.ids[i]);
    a = listed_index(&l, A);
    b = listed_index(&l, B);
    c = listed_index(&l, C);
    assert_true(a < b && b < c);
    assert_string_equal(l.operators[a], "bus-line-9");
    assert_string_equal(l.kinds[a], "validator");
    assert_int_equal(l.enrolled[a], now - 10);
    assert_int_equal(l.revoked[a], 0);
    assert_true(l.clock_known[a]);
    /* Bounded by registry readings taken around the sync, not by a fixed
     * window, which a loaded machine can overrun. */
    assert_int_equal(l.offset[a], offset);
    assert_true(l.offset[a] <= now - 120 - before &&
                l.offset[a] >= now - 120 - after);
    assert_true(l.last_sync[a] >= before && l.last_sync[a] <= after);
    assert_string_equal(l.operators[b], "kiosk-1");
    assert_int_equal(l.revoked[b], now - 1);
    assert_int_equal(l.last_sync[b], 0);
    assert_false(l.clock_known[b]);
    assert_string_equal(l.kinds[c], "counter");
    assert_int_equal(l.enrolled[c], now - 20);
    assert_int_equal(l.last_sync[c], 0);
    assert_false(l.clock_known[c]);

    /* The callback stops it after the first row. */
    memset(&l, 0, sizeof l);
    l.stop_after = 1;
    assert_int_equal(ocp_registry_list_terminals(r, listed_row, &l), OCP_OK);
    assert_int_equal(l.n, 1);
    assert_int_equal(ocp_registry_list_terminals(r, NULL, &l), OCP_E_ARGS);

    ocp_registry_close(r);
    ocp_terminal_key_free(k);
}

/* The first column of the first row, as text, into a 64-byte buffer. */
static int first_text(void *ctx, const db_value *c, size_t n)
{
    if (n >= 1 && c[0].type == DB_TEXT)
        snprintf(ctx, 64, "%s", c[0].s);
    return 1;
}

/* Replacing a lost card: what the registry knows of its entitlements
 * (windows kept, remaining from the newest accepted record of that
 * service, else the issuance value), and the replacement itself, all or
 * nothing, refused for unknown, replaced or unlisted cards. */
static void test_replace_card(void **state)
{
    struct backend *be = *state;
    static const uint32_t T = 0x0B0000E1u;
    uint8_t a[8], b[8], unknown[8], bare[8], pub[200];
    uint8_t sig[OCP_BATCH_SIGNATURE_LEN], batch[17 + 6 * 41];
    size_t pub_len = sizeof pub, n, i;
    char path[128], err[256];
    ocp_entitlement given[3], *known;
    ocp_registry_card card;
    ocp_use_record recs[6];
    ocp_hotlist_card *listed;
    ocp_upload_result up;
    ocp_terminal_key *k;
    ocp_registry *r;
    ocp_db *db;
    uint16_t jan5, mar10;
    int64_t issued_at;
    char row[64] = "";

    card_of(a, 0x0E01);
    card_of(b, 0x0E02);
    card_of(unknown, 0x0E03);
    card_of(bare, 0x0E04);
    assert_int_equal(ocp_date_from_civil(2026, 1, 5, &jan5), 0);
    assert_int_equal(ocp_date_from_civil(2026, 3, 10, &mar10), 0);
    issued_at = 946684800LL + (int64_t)jan5 * 86400 + 3600;
    assert_int_equal(ocp_registry_open(be->uri, &r, err, sizeof err), OCP_OK);

    memset(&card, 0, sizeof card);
    memcpy(card.card_id, a, 8);
    card.suite = OCP_SUITE_AES;
    card.txmac_version = 1;
    card.issuer_version = 1;
    snprintf(card.state, sizeof card.state, "active");
    assert_int_equal(ocp_registry_put_card(r, &card, issued_at), OCP_OK);
    memset(given, 0, sizeof given);
    given[0].service = 0x0201;
    given[0].domain = OCP_ROLE_MEDICAL;
    given[0].kind = OCP_KIND_COUNTER;
    given[0].period = OCP_PERIOD_MONTH;
    given[0].limit = given[0].remaining = 5;
    given[0].flags = OCP_ENT_FLAG_PIN; /* must reach the new card */
    given[1].service = 0x0401;
    given[1].domain = OCP_ROLE_ASSIST;
    given[1].kind = OCP_KIND_BALANCE;
    given[1].remaining = 10000;
    given[2].service = 0x0101;
    given[2].domain = OCP_ROLE_TRANSIT;
    given[2].kind = OCP_KIND_PASS;
    for (i = 0; i < 3; i++) {
        given[i].valid_from = jan5;
        given[i].valid_to = (uint16_t)(jan5 + 100 + i);
    }
    assert_int_equal(ocp_registry_put_entitlements(r, a, given, 3, issued_at),
                     OCP_OK);

    /* Nothing uploaded yet: the issuance values, in the issuance's
     * period (2026-01: months since 2000-01 plus one). */
    assert_int_equal(ocp_registry_known_entitlements(r, a, &known, &n),
                     OCP_OK);
    assert_int_equal(n, 3);
    for (i = 0; i < 3; i++) {
        assert_int_equal(known[i].slot, i + 1);
        assert_int_equal(known[i].service, given[i].service);
        assert_int_equal(known[i].domain, given[i].domain);
        assert_int_equal(known[i].kind, given[i].kind);
        assert_int_equal(known[i].valid_from, given[i].valid_from);
        assert_int_equal(known[i].valid_to, given[i].valid_to);
        assert_int_equal(known[i].limit, given[i].limit);
        assert_int_equal(known[i].remaining, given[i].remaining);
        assert_int_equal(known[i].flags, given[i].flags);
    }
    assert_int_equal(known[0].period_id, 26 * 12 + 1);
    assert_int_equal(known[1].period_id, 0);
    free(known);

    /* Uses of A: the counter at 4 then 3 (a refused attempt after them
     * says 2 and does not count), the balance at 7000 (a pending attempt
     * after it says 0 and does not count either); B's record of the same
     * service is not A's. */
    snprintf(path, sizeof path, "%s/replace.pem", be->dir);
    assert_int_equal(ocp_terminal_key_create(path, OCP_SUITE_AES, pub,
                                             &pub_len),
                     OCP_OK);
    assert_int_equal(ocp_terminal_key_load(path, &k), OCP_OK);
    assert_int_equal(ocp_registry_enrol_terminal(r, T, "clinic-9", "counter",
                                                 pub, pub_len, issued_at),
                     OCP_OK);
    memset(recs, 0, sizeof recs);
    for (i = 0; i < 6; i++) {
        recs[i].seq = (uint32_t)i + 1;
        memcpy(recs[i].card_id, a, 8);
        recs[i].counter = (uint32_t)i + 1;
        recs[i].amount = 1;
        recs[i].outcome = OCP_USE_ACCEPTED;
        recs[i].datetime = (uint32_t)mar10 * 1440u + 600u + (uint32_t)i;
        recs[i].domain = OCP_ROLE_MEDICAL;
        recs[i].service = 0x0201;
        memset(recs[i].cert, (int)i, 8);
    }
    recs[0].remaining = 4;
    recs[1].service = 0x0401;
    recs[1].domain = OCP_ROLE_ASSIST;
    recs[1].amount = 3000;
    recs[1].remaining = 7000;
    recs[2].remaining = 3;
    recs[3].remaining = 2;
    recs[3].outcome = OCP_USE_REFUSED;
    recs[4].service = 0x0401;
    recs[4].domain = OCP_ROLE_ASSIST;
    recs[4].remaining = 0;
    recs[4].outcome = OCP_USE_PENDING;
    memcpy(recs[5].card_id, b, 8);
    recs[5].remaining = 0;
    assert_int_equal(ocp_batch_len(6), sizeof batch);
    assert_int_equal(ocp_batch_encode(T, 1, recs, 6, batch, sizeof batch),
                     OCP_OK);
    assert_int_equal(ocp_batch_sign(k, batch, sizeof batch, sig), OCP_OK);
    assert_int_equal(ocp_registry_upload(r, batch, sizeof batch, sig,
                                         issued_at, &up),
                     OCP_OK);
    assert_int_equal(up.stored, 6);
    ocp_terminal_key_free(k);

    assert_int_equal(ocp_registry_known_entitlements(r, a, &known, &n),
                     OCP_OK);
    assert_int_equal(n, 3);
    assert_int_equal(known[0].remaining, 3);
    assert_int_equal(known[0].period_id, 26 * 12 + 3); /* the record's */
    assert_int_equal(known[1].remaining, 7000);
    assert_int_equal(known[2].remaining, 0);
    assert_int_equal(known[2].valid_to, jan5 + 102);
    free(known);
    assert_int_equal(ocp_registry_known_entitlements(r, unknown, &known, &n),
                     OCP_E_ARGS);
    assert_null(known);
    assert_int_equal(n, 0);

    /* Refused: itself, an unknown card, a card without its issuer key
     * version (no block cryptogram could be made: nothing changes). */
    assert_int_equal(ocp_registry_replace_card(r, a, a, "lost", 100),
                     OCP_E_ARGS);
    assert_int_equal(ocp_registry_replace_card(r, unknown, b, "lost", 100),
                     OCP_E_ARGS);
    assert_non_null(strstr(ocp_registry_error(r), "not in the registry"));
    memcpy(card.card_id, bare, 8);
    card.issuer_version = 0;
    assert_int_equal(ocp_registry_put_card(r, &card, issued_at), OCP_OK);
    assert_int_equal(ocp_registry_replace_card(r, bare, b, "lost", 100),
                     OCP_E_ARGS);
    assert_int_equal(db_open(be->uri, &db, err, sizeof err), OCP_OK);
    assert_int_equal(db_query(db,
                              "SELECT state FROM cards WHERE card_id = "
                              "'4F43500000000E04'",
                              NULL, 0, first_text, row, NULL),
                     OCP_OK);
    assert_string_equal(row, "active");

    /* A replaced by B: one transaction marks it and lists it. */
    assert_int_equal(ocp_registry_replace_card(r, a, b, "lost, replaced",
                                               issued_at + 60),
                     OCP_OK);
    assert_int_equal(db_query(db,
                              "SELECT state || ' ' || replaced_by || ' ' || "
                              "CAST(replaced_at - $1 AS TEXT) FROM cards "
                              "WHERE card_id = '4F43500000000E01'",
                              (db_value[]){db_int(issued_at)}, 1, first_text,
                              row, NULL),
                     OCP_OK);
    assert_string_equal(row, "replaced 4F43500000000E02 60");
    db_close(db);
    assert_int_equal(ocp_registry_hotlist_cards(r, &listed, &n), OCP_OK);
    for (i = 0; i < n && memcmp(listed[i].card_id, a, 8) != 0; i++)
        ;
    assert_true(i < n);
    free(listed);

    /* Once only; and a replaced card's entitlements are B's now. */
    assert_int_equal(ocp_registry_replace_card(r, a, b, "lost", 200),
                     OCP_E_ARGS);
    assert_non_null(strstr(ocp_registry_error(r), "replaced already"));
    assert_int_equal(ocp_registry_known_entitlements(r, a, &known, &n),
                     OCP_E_ARGS);
    ocp_registry_close(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry_and_sync),
        cmocka_unit_test(test_clerk_bootstrap_list_disable),
        cmocka_unit_test(test_last_registry_clerks_race),
        cmocka_unit_test(test_clerks_and_approvals),
        cmocka_unit_test(test_hotlist),
        cmocka_unit_test(test_newer_schema_refused),
        cmocka_unit_test(test_terminal_listing),
        cmocka_unit_test(test_replace_card),
    };
    return backends_run("registry", tests, sizeof tests / sizeof tests[0]);
}
