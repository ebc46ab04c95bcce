/*
 * ocp registry: the back office's registry (docs/BACKOFFICE.md), on the
 * database named by --db.
 *
 *   ocp --db URI registry init
 *   ocp --db URI registry terminal enrol ID --operator NAME
 *       --kind validator|counter|kiosk|desk --key-out FILE [--suite AES|SM]
 *   ocp --db URI registry terminal revoke ID
 *   ocp --db URI registry terminal login ID --password-out FILE
 *   ocp --db URI registry terminal list
 *   ocp --db URI --keys URI registry publish hotlist FILE
 *   ocp --db URI registry publish catalogue FILE [--version N]
 *   ocp --db URI registry backup FILE
 *   ocp --db URI registry restore FILE --yes
 *   ocp --db URI registry purge
 *   ocp --db URI [--clerk LOGIN] registry clerk|approve|approvals|trail|set
 *       (cli/registry_desk.c)
 *
 * Times shown are the registry's (the database server's clock), in UTC.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clerk.h"
#include "cli.h"
#include "ocp/batch.h"
#include "ocp/holder.h"
#include "ocp/registry_access.h"
#include "ocp/hotlist.h"
#include "ocp/wire.h"
#include "output.h"

/* Large enough for the biggest hotlist the CLI writes (2 M cards). */
#define MAX_PUBLISHED (64u * 1024u * 1024u)

int cli_registry_open(struct cli *c, ocp_registry **r)
{
    char why[320];
    ocp_status st = ocp_registry_open(c->db, r, why, sizeof why);
    if (st == OCP_OK)
        return 0;
    /* The URI may hold a password: the reason never repeats it (db.h),
     * and neither does this message. */
    fprintf(stderr, "ocp: the registry cannot be opened: %s\n",
            why[0] ? why : ocp_strerror(st));
    return st == OCP_E_ARGS ? EXIT_USAGE : EXIT_REGISTRY;
}

int cli_registry_fail(ocp_registry *r, const char *what, ocp_status st)
{
    const char *why = ocp_registry_error(r);
    fprintf(stderr, "ocp: %s: %s\n", what, why[0] ? why : ocp_strerror(st));
    switch (st) {
    case OCP_E_DENIED:
    case OCP_E_SIGNATURE:
        return EXIT_REFUSED;
    case OCP_E_DB:
    case OCP_E_DB_CONFLICT:
        return EXIT_REGISTRY;
    case OCP_E_ARGS:
        return EXIT_USAGE;
    default:
        return EXIT_FAILURE_;
    }
}

/* The registry's clock, so that every time it stores is on one clock
 * however far the desk's own has drifted. */
static int registry_now(ocp_registry *r, int64_t *now)
{
    ocp_status st = ocp_registry_now(r, now);
    return st == OCP_OK ? 0 : cli_registry_fail(r, "the registry's clock", st);
}

int cli_record_issued(struct cli *c, const ocp_issue_request *req,
                      const ocp_select_info *info)
{
    ocp_registry *r;
    ocp_registry_card card;
    ocp_status st;
    int64_t now;
    int rc;
    if (!c->db_given)
        return 0;
    if ((rc = cli_registry_open(c, &r)) != 0)
        return rc;
    if ((rc = registry_now(r, &now)) != 0) {
        ocp_registry_close(r);
        return rc;
    }
    memset(&card, 0, sizeof card);
    memcpy(card.card_id, info->card_id, 8);
    card.suite = req->suite;
    /* Slot 9 is the transaction key, whose version the audit needs to
     * check this card's certificates. */
    card.txmac_version = info->key_versions[8];
    card.issuer_version = info->key_versions[0];
    snprintf(card.state, sizeof card.state, "active");
    card.issue_date = req->issue_date;
    card.expiry_date = req->expiry_date;
    st = ocp_registry_put_card(r, &card, now);
    /* Its entitlements too: the audit checks uses against their windows,
     * and a replacement card starts from what the registry knows. */
    if (st == OCP_OK)
        st = ocp_registry_put_entitlements(r, info->card_id,
                                           req->entitlements,
                                           req->n_entitlements, now);
    rc = st == OCP_OK ? 0 : cli_registry_fail(r, "recording the card", st);
    ocp_registry_close(r);
    return rc;
}

int cli_record_card_change(struct cli *c, const uint8_t card[8],
                           const char *state, uint16_t expiry_date)
{
    ocp_registry *r;
    ocp_status st;
    int rc;
    if (!c->db_given)
        return 0;
    if ((rc = cli_registry_open(c, &r)) != 0)
        return rc;
    st = ocp_registry_card_changed(r, card, state, expiry_date);
    if (st == OCP_E_ARGS) {
        /* Issued before this desk had a registry: the card changed, the
         * registry has nothing to update. */
        fprintf(stderr, "ocp: warning: %s\n", ocp_registry_error(r));
        rc = 0;
    } else if (st != OCP_OK) {
        rc = cli_registry_fail(r, "recording the card's change", st);
    }
    ocp_registry_close(r);
    return rc;
}

int cli_record_renewed_onto(struct cli *c, const uint8_t old_card[8],
                            const ocp_select_info *info, uint16_t expiry,
                            const ocp_entitlement *ents, size_t n)
{
    ocp_registry *r;
    ocp_registry_card card;
    ocp_status st;
    int64_t now;
    int rc;
    if (!c->db_given)
        return 0;
    if ((rc = cli_registry_open(c, &r)) != 0)
        return rc;
    if ((rc = registry_now(r, &now)) != 0) {
        ocp_registry_close(r);
        return rc;
    }
    memset(&card, 0, sizeof card);
    memcpy(card.card_id, info->card_id, 8);
    card.suite = info->suite;
    card.txmac_version = info->key_versions[8];
    card.issuer_version = info->key_versions[0];
    snprintf(card.state, sizeof card.state, "active");
    card.issue_date = (uint16_t)(cli_now() / 1440u);
    card.expiry_date = expiry;
    /* The new card with what it holds (read back from it), then the old
     * one terminated: its uses end with the renewal, nothing to carry. */
    st = ocp_registry_put_card(r, &card, now);
    if (st == OCP_OK)
        st = ocp_registry_put_entitlements(r, info->card_id, ents, n, now);
    if (st == OCP_OK) {
        st = ocp_registry_card_changed(r, old_card, "terminated", 0);
        if (st == OCP_E_ARGS) {
            fprintf(stderr, "ocp: warning: %s\n", ocp_registry_error(r));
            st = OCP_OK;
        }
    }
    rc = st == OCP_OK ? 0 : cli_registry_fail(r, "recording the renewal", st);
    ocp_registry_close(r);
    return rc;
}

int cli_verify_hotlist(struct cli *c, const char *path, uint32_t *version)
{
    ocp_hotlist *h = NULL;
    ocp_status st = OCP_E_SIGNATURE, got;
    ocp_keystore *ks = NULL;
    uint8_t der[256], suite;
    size_t der_len;
    got = cli_keystore(c, &ks);
    if (got != OCP_OK)
        return cli_fail("opening the key store", got);
    /* Either issuer key may have signed it; the file does not say which
     * before it is checked. */
    for (suite = OCP_SUITE_AES; suite <= OCP_SUITE_SM && st != OCP_OK;
         suite++) {
        der_len = sizeof der;
        if (ks->ops->public_key(ks, suite, der, &der_len) != OCP_OK)
            continue;
        got = ocp_hotlist_open(path, der, der_len, &h);
        /* A malformed or unreadable file fails the same with either key. */
        if (got != OCP_E_SIGNATURE) {
            st = got;
            break;
        }
    }
    ocp_keystore_close(ks);
    if (st != OCP_OK) {
        fprintf(stderr, "ocp: %s: %s\n", path,
                st == OCP_E_SIGNATURE
                    ? "the issuer's signature does not verify"
                    : ocp_strerror(st));
        return st == OCP_E_SIGNATURE ? EXIT_REFUSED : EXIT_FAILURE_;
    }
    *version = ocp_hotlist_version(h);
    ocp_hotlist_close(h);
    return 0;
}

static int parse_terminal_id(const char *s, uint32_t *id)
{
    char *end;
    unsigned long v;
    errno = 0;
    v = strtoul(s, &end, 0);
    if (errno || end == s || *end || v == 0 || v > 0xFFFFFFFFul ||
        s[0] == '-') {
        fprintf(stderr, "ocp registry: '%s' is not a terminal id (a "
                        "nonzero 32-bit number, 0x0B000001 or 184549377)\n",
                s);
        return -1;
    }
    *id = (uint32_t)v;
    return 0;
}

static json_t *json_terminal_id(uint32_t id)
{
    char buf[12];
    snprintf(buf, sizeof buf, "0x%08X", id);
    return json_string(buf);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ocp [--db URI] registry init\n"
            "       ocp [--db URI] registry terminal enrol ID --operator NAME\n"
            "           --kind validator|counter|kiosk|desk --key-out FILE "
            "[--suite AES|SM]\n"
            "       ocp [--db URI] registry terminal revoke ID\n"
            "       ocp [--db URI] registry terminal login ID --password-out "
            "FILE\n"
            "       ocp [--db URI] registry terminal list\n"
            "       ocp [--db URI] --keys URI registry publish hotlist FILE\n"
            "       ocp [--db URI] registry publish catalogue FILE "
            "[--version N]\n"
            "       ocp [--db URI] registry backup FILE\n"
            "       ocp [--db URI] registry restore FILE --yes\n"
            "       ocp [--db URI] registry purge\n"
            "       ocp [--db URI] [--clerk LOGIN] registry clerk add|list|"
            "disable ...\n"
            "       ocp [--db URI] --clerk LOGIN registry approve N | "
            "approvals\n"
            "       ocp [--db URI] --clerk LOGIN registry trail [--card ID]\n"
            "       ocp [--db URI] --clerk LOGIN registry set "
            "approval-threshold FEN\n"
            "The registry is --db URI, else $OCP_DB, else " CLI_DEFAULT_DB
            ".\n"
            "enrol writes the terminal's private key to FILE (0600, must "
            "not exist);\nonly its public key enters the registry.  login "
            "(PostgreSQL) gives the\nterminal a login of its own, "
            "ocp_t_<id>, that may only sync; its new password\ngoes to FILE "
            "(0600, must not exist).  A "
            "hotlist is published only if\nthe issuer's signature verifies "
            "(--keys); its version is the file's own.\n"
            "backup copies the whole registry into FILE (0600; PostgreSQL: "
            "pg_dump's\ncustom format); restore replaces everything in the "
            "registry with FILE.\npurge applies the retention rule: records, "
            "actions and access-log entries\nolder than retention_days go, "
            "holders whose cards all ended are\npseudonymised.  "
            "ocp registry clerk --help: clerks, approvals, the desk "
            "trail.\n");
}

static int do_backup(struct cli *c, const char *path, int restore)
{
    ocp_registry *r;
    ocp_status st;
    int rc = cli_registry_open_admin(c, &r);
    if (rc != 0)
        return rc;
    st = restore ? ocp_registry_restore(r, path)
                 : ocp_registry_backup(r, path);
    if (st != OCP_OK) {
        rc = cli_registry_fail(r, restore ? "restoring" : "backing up", st);
        ocp_registry_close(r);
        return rc;
    }
    if (c->json)
        out_print(1,
                  json_pack("{s:s,s:s}", restore ? "restored_from" : "backup",
                            path, "backend", ocp_registry_backend(r)),
                  NULL);
    else if (!c->quiet)
        printf("%s %s (%s)\n", restore ? "registry restored from" :
                                          "registry backed up to",
               path, ocp_registry_backend(r));
    /* After a restore the row goes into the registry as restored, which
     * is the one that goes on. */
    rc = cli_admin_record(c, r, restore ? "restore" : "backup", NULL,
                          json_pack("{s:s}", "file", path));
    ocp_registry_close(r);
    return rc;
}

static int do_purge(struct cli *c)
{
    ocp_registry *r;
    ocp_purge_result res;
    ocp_status st;
    int64_t now;
    int rc = cli_registry_open_admin(c, &r);
    if (rc != 0)
        return rc;
    if ((rc = registry_now(r, &now)) != 0) {
        ocp_registry_close(r);
        return rc;
    }
    st = ocp_registry_purge(r, now, &res);
    if (st != OCP_OK) {
        rc = cli_registry_fail(r, "purging", st);
        ocp_registry_close(r);
        return rc;
    }
    if (c->json)
        printf("{\"uses\":%llu,\"batches\":%llu,\"actions\":%llu,"
               "\"holders_pseudonymised\":%llu}\n",
               (unsigned long long)res.uses, (unsigned long long)res.batches,
               (unsigned long long)res.actions,
               (unsigned long long)res.holders);
    else if (!c->quiet)
        printf("purged: %llu records, %llu batches, %llu desk actions; "
               "%llu holders pseudonymised\n",
               (unsigned long long)res.uses, (unsigned long long)res.batches,
               (unsigned long long)res.actions,
               (unsigned long long)res.holders);
    rc = cli_admin_record(
        c, r, "purge", NULL,
        json_pack("{s:I,s:I,s:I,s:I}", "uses", (json_int_t)res.uses,
                  "batches", (json_int_t)res.batches, "actions",
                  (json_int_t)res.actions, "holders_pseudonymised",
                  (json_int_t)res.holders));
    ocp_registry_close(r);
    return rc;
}

static int do_init(struct cli *c)
{
    ocp_registry *r;
    int rc = cli_registry_open(c, &r);
    if (rc != 0)
        return rc;
    if (c->json)
        printf("{\"backend\":\"%s\",\"schema_version\":%d}\n",
               ocp_registry_backend(r), OCP_REGISTRY_SCHEMA);
    else if (!c->quiet)
        printf("registry ready: %s, schema version %d\n",
               ocp_registry_backend(r), OCP_REGISTRY_SCHEMA);
    ocp_registry_close(r);
    return EXIT_OK;
}

static int do_enrol(struct cli *c, uint32_t id, const char *operator_name,
                    const char *kind, const char *key_out, uint8_t suite)
{
    uint8_t pub[256];
    size_t pub_len = sizeof pub;
    ocp_registry *r;
    ocp_status st;
    int64_t now;
    int rc;

    /* The registry first: an unreachable one leaves no key file behind. */
    if ((rc = cli_registry_open_admin(c, &r)) != 0)
        return rc;
    if ((rc = registry_now(r, &now)) != 0)
        goto out;
    st = ocp_terminal_key_create(key_out, suite, pub, &pub_len);
    if (st != OCP_OK) {
        fprintf(stderr, "ocp registry: cannot make the key file %s: %s%s\n",
                key_out, ocp_strerror(st),
                access(key_out, F_OK) == 0 ? " (it exists already)" : "");
        rc = EXIT_FAILURE_;
        goto out;
    }
    st = ocp_registry_enrol_terminal(r, id, operator_name, kind, pub, pub_len,
                                     now);
    if (st != OCP_OK) {
        /* A key the registry does not know is of no use to anyone, and
         * would stop the next attempt with "file exists". */
        unlink(key_out);
        rc = cli_registry_fail(r, "enrolling the terminal", st);
        if (st == OCP_E_DB_CONFLICT)
            rc = EXIT_FAILURE_;
        goto out;
    }
    if (c->json) {
        json_t *v = json_object();
        json_object_set_new(v, "terminal_id", json_terminal_id(id));
        json_object_set_new(v, "operator", json_string(operator_name));
        json_object_set_new(v, "kind", json_string(kind));
        json_object_set_new(v, "suite", json_string(out_suite_name(suite)));
        json_object_set_new(v, "key_file", json_string(key_out));
        json_object_set_new(v, "enrolled_at", out_time(now));
        out_print(1, v, NULL);
    } else if (!c->quiet) {
        printf("terminal %08X enrolled: %s of %s, %s key in %s\n", id, kind,
               operator_name, suite == OCP_SUITE_SM ? "SM2" : "P-256",
               key_out);
    }
    rc = cli_admin_record(c, r, "terminal-enrol", NULL,
                          json_pack("{s:o,s:s,s:s,s:s}", "terminal_id",
                                    json_terminal_id(id), "operator",
                                    operator_name, "kind", kind, "suite",
                                    out_suite_name(suite)));
out:
    ocp_registry_close(r);
    return rc;
}

/* A terminal's own PostgreSQL login (ocp/registry_access.h); the
 * password goes to a new 0600 file, never to the screen. */
static int do_login(struct cli *c, uint32_t id, const char *path)
{
    char login[OCP_TERMINAL_LOGIN_CAP], password[OCP_TERMINAL_PASSWORD_CAP];
    ocp_registry *r;
    ocp_status st;
    FILE *f;
    int fd, rc;
    if ((rc = cli_registry_open_admin(c, &r)) != 0)
        return rc;
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        fprintf(stderr, "ocp registry: cannot create %s: %s\n", path,
                strerror(errno));
        ocp_registry_close(r);
        return EXIT_FAILURE_;
    }
    st = ocp_registry_terminal_login(r, id, login, password);
    if (st != OCP_OK) {
        close(fd);
        unlink(path);
        if (st == OCP_E_ARGS) {
            fprintf(stderr, "ocp registry: %s\n", ocp_registry_error(r));
            rc = EXIT_FAILURE_;
        } else {
            rc = cli_registry_fail(r, "giving the terminal a login", st);
        }
        ocp_registry_close(r);
        return rc;
    }
    /* Never the password: who gave which terminal a login, and when. */
    rc = cli_admin_record(c, r, "terminal-login", NULL,
                          json_pack("{s:o,s:s}", "terminal_id",
                                    json_terminal_id(id), "login", login));
    ocp_registry_close(r);
    f = fdopen(fd, "w");
    if (f == NULL || fprintf(f, "%s\n", password) < 0 || fflush(f) != 0 ||
        fsync(fileno(f)) != 0) {
        fprintf(stderr, "ocp registry: writing %s failed: %s; run login "
                        "again for a new password\n",
                path, strerror(errno));
        if (f != NULL)
            fclose(f);
        else
            close(fd);
        unlink(path);
        ocp_secret_wipe(password, sizeof password);
        return EXIT_FAILURE_;
    }
    fclose(f);
    ocp_secret_wipe(password, sizeof password);
    if (c->json) {
        char tid[12];
        snprintf(tid, sizeof tid, "0x%08X", id);
        out_print(1, json_pack("{s:s,s:s,s:s}", "terminal_id", tid, "login",
                               login, "password_file", path),
                  NULL);
    } else if (!c->quiet)
        printf("terminal %08X: login %s, its password in %s (give it to "
               "the terminal,\nthen delete it here)\n",
               id, login, path);
    return rc;
}

static int do_revoke(struct cli *c, uint32_t id)
{
    ocp_registry *r;
    ocp_status st;
    int64_t now;
    int rc;
    if ((rc = cli_registry_open_admin(c, &r)) != 0)
        return rc;
    if ((rc = registry_now(r, &now)) == 0) {
        st = ocp_registry_revoke_terminal(r, id, now);
        if (st == OCP_E_ARGS) {
            /* Unknown or revoked already: a mistake in the id, not in
             * the command line's form. */
            fprintf(stderr, "ocp: %s\n", ocp_registry_error(r));
            rc = EXIT_FAILURE_;
        } else if (st != OCP_OK)
            rc = cli_registry_fail(r, "revoking the terminal", st);
        else {
            if (c->json)
                printf("{\"terminal_id\":\"0x%08X\",\"revoked\":true}\n",
                       id);
            else if (!c->quiet)
                printf("terminal %08X revoked: its uploads are refused "
                       "from now on\n",
                       id);
            rc = cli_admin_record(c, r, "terminal-revoke", NULL,
                                  json_pack("{s:o}", "terminal_id",
                                            json_terminal_id(id)));
        }
    }
    ocp_registry_close(r);
    return rc;
}

struct listing {
    int json;
    size_t n;
};

/* One line per terminal as it streams out of the registry: text, or one
 * JSON object per line. */
static int list_row(void *ctx, const ocp_registry_terminal *t)
{
    struct listing *l = ctx;
    char enrolled[24], revoked[24], synced[24], clock[24];
    if (l->json) {
        json_t *v = json_object();
        json_object_set_new(v, "terminal_id", json_terminal_id(t->terminal_id));
        json_object_set_new(v, "operator", json_string(t->operator_name));
        json_object_set_new(v, "kind", json_string(t->kind));
        json_object_set_new(v, "enrolled_at", out_time(t->enrolled_at));
        json_object_set_new(v, "revoked_at", out_time(t->revoked_at));
        json_object_set_new(v, "last_sync", out_time(t->last_sync));
        json_object_set_new(v, "clock_offset_s",
                            t->clock_known ? json_integer(t->clock_offset_s)
                                           : json_null());
        out_print(1, v, NULL);
    } else {
        if (l->n == 0)
            printf("%-10s  %-16s %-9s  %-20s  %-20s  %-20s  %s\n", "TERMINAL",
                   "OPERATOR", "KIND", "ENROLLED", "REVOKED", "LAST SYNC",
                   "CLOCK");
        out_utc(t->enrolled_at, enrolled);
        out_utc(t->revoked_at, revoked);
        out_utc(t->last_sync, synced);
        if (t->clock_known)
            snprintf(clock, sizeof clock, "%+llds",
                     (long long)t->clock_offset_s);
        else
            snprintf(clock, sizeof clock, "-");
        printf("0x%08X  %-16s %-9s  %-20s  %-20s  %-20s  %s\n", t->terminal_id,
               t->operator_name, t->kind, enrolled, revoked, synced, clock);
    }
    l->n++;
    return 0;
}

static int do_list(struct cli *c)
{
    struct listing l;
    ocp_registry *r;
    ocp_status st;
    int rc;
    if ((rc = cli_registry_open(c, &r)) != 0)
        return rc;
    l.json = c->json;
    l.n = 0;
    st = ocp_registry_list_terminals(r, list_row, &l);
    if (st != OCP_OK)
        rc = cli_registry_fail(r, "listing the terminals", st);
    else if (!c->json && l.n == 0 && !c->quiet)
        printf("no terminal is enrolled\n");
    ocp_registry_close(r);
    return rc;
}

/* The whole file, for the registry's published copy; *body is malloc'd. */
static int read_whole(const char *path, uint8_t **body, size_t *len)
{
    FILE *f = fopen(path, "rb");
    long size;
    *body = NULL;
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
        (unsigned long)size > MAX_PUBLISHED || fseek(f, 0, SEEK_SET) != 0 ||
        (*body = malloc((size_t)size + 1)) == NULL ||
        fread(*body, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "ocp registry: cannot read %s\n", path);
        if (f != NULL)
            fclose(f);
        free(*body);
        *body = NULL;
        return -1;
    }
    fclose(f);
    *len = (size_t)size;
    return 0;
}

static int do_publish(struct cli *c, const char *what, const char *path,
                      unsigned long version)
{
    ocp_registry *r = NULL;
    uint8_t *body = NULL, *old = NULL;
    size_t len = 0, old_len;
    uint32_t v = 0, old_version = 0;
    ocp_status st;
    int64_t now;
    int rc;

    if (strcmp(what, "hotlist") == 0) {
        /* Its version is the one inside the signed file, so the registry
         * and every terminal agree on it. */
        if (version != 0) {
            fprintf(stderr, "ocp registry: a hotlist's version is the "
                            "file's own; --version is for the catalogue\n");
            return EXIT_USAGE;
        }
        if ((rc = cli_verify_hotlist(c, path, &v)) != 0)
            return rc;
    } else {
        ocp_catalogue *cat = NULL;
        ocp_parse_error perr;
        memset(&perr, 0, sizeof perr);
        st = ocp_catalogue_load(path, &cat, &perr);
        if (st != OCP_OK) {
            fprintf(stderr, "ocp registry: %s:%d:%d: %s\n", path,
                    perr.line, perr.column,
                    perr.message[0] ? perr.message : ocp_strerror(st));
            return st == OCP_E_IO ? EXIT_FAILURE_ : EXIT_USAGE;
        }
        ocp_catalogue_free(cat);
    }
    if (read_whole(path, &body, &len) != 0)
        return EXIT_FAILURE_;
    if ((rc = cli_registry_open_admin(c, &r)) != 0)
        goto out;
    if ((rc = registry_now(r, &now)) != 0)
        goto out;
    if (strcmp(what, "catalogue") == 0) {
        /* Without --version, the next one after what is published. */
        st = ocp_registry_fetch(r, "catalogue", &old, &old_len, &old_version);
        if (st != OCP_OK && st != OCP_E_IO) {
            rc = cli_registry_fail(r, "reading the published catalogue", st);
            goto out;
        }
        if (version > 0xFFFFFFFFul ||
            (version == 0 && old_version == 0xFFFFFFFFu)) {
            fprintf(stderr, "ocp registry: the version is a 32-bit number\n");
            rc = EXIT_USAGE;
            goto out;
        }
        v = version != 0 ? (uint32_t)version : old_version + 1;
    }
    st = ocp_registry_publish(r, what, v, body, len, now);
    if (st == OCP_E_ARGS) {
        /* Versions only go forward: a terminal never downloads an older
         * file than it has. */
        fprintf(stderr, "ocp registry: %s\n", ocp_registry_error(r));
        rc = EXIT_FAILURE_;
        goto out;
    }
    if (st != OCP_OK) {
        rc = cli_registry_fail(r, "publishing", st);
        goto out;
    }
    if (c->json)
        printf("{\"published\":\"%s\",\"version\":%u,\"bytes\":%zu}\n", what,
               v, len);
    else if (!c->quiet)
        printf("%s version %u published (%zu bytes)\n", what, v, len);
    rc = cli_admin_record(c, r, "publish", NULL,
                          json_pack("{s:s,s:I,s:I}", "name", what, "version",
                                    (json_int_t)v, "bytes", (json_int_t)len));
out:
    free(old);
    free(body);
    ocp_registry_close(r);
    return rc;
}

int cmd_registry(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"operator", required_argument, NULL, 'o'},
        {"kind", required_argument, NULL, 'k'},
        {"key-out", required_argument, NULL, 'K'},
        {"suite", required_argument, NULL, 's'},
        {"version", required_argument, NULL, 'n'},
        {"yes", no_argument, NULL, 'y'},
        {"help", no_argument, NULL, 'h'},
        {"password-out", required_argument, NULL, 'P'},
        {NULL, 0, NULL, 0}};
    const char *operator_name = NULL, *kind = NULL, *key_out = NULL;
    const char *password_out = NULL;
    const char *verb, *object = NULL;
    unsigned long version = 0;
    uint8_t suite = OCP_SUITE_AES;
    uint32_t id = 0;
    int o, nargs, yes = 0;

    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    verb = argv[1];
    if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(verb, "clerk") == 0 || strcmp(verb, "approve") == 0 ||
        strcmp(verb, "approvals") == 0 || strcmp(verb, "trail") == 0 ||
        strcmp(verb, "set") == 0)
        return cli_registry_desk(c, argc - 1, argv + 1);
    /* "terminal" and "publish" take a second word before their options. */
    nargs = 1;
    if ((strcmp(verb, "terminal") == 0 || strcmp(verb, "publish") == 0) &&
        argc >= 3 && argv[2][0] != '-') {
        object = argv[2];
        nargs = 2;
    }
    argc -= nargs;
    argv += nargs;
    optind = 0;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'o':
            operator_name = optarg;
            break;
        case 'k':
            kind = optarg;
            break;
        case 'K':
            key_out = optarg;
            break;
        case 'P':
            password_out = optarg;
            break;
        case 's':
            if (strcmp(optarg, "AES") == 0)
                suite = OCP_SUITE_AES;
            else if (strcmp(optarg, "SM") == 0)
                suite = OCP_SUITE_SM;
            else {
                fprintf(stderr, "ocp registry: --suite is AES or SM\n");
                return EXIT_USAGE;
            }
            break;
        case 'n': {
            char *end;
            errno = 0;
            version = strtoul(optarg, &end, 10);
            if (errno || *end || end == optarg || version == 0 ||
                version > 0xFFFFFFFFul) {
                fprintf(stderr, "ocp registry: --version is a number from 1 "
                                "to 4294967295\n");
                return EXIT_USAGE;
            }
            break;
        }
        case 'y':
            yes = 1;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }

    if (strcmp(verb, "init") == 0 && object == NULL && optind == argc)
        return do_init(c);
    if (strcmp(verb, "purge") == 0 && optind == argc)
        return do_purge(c);
    if (strcmp(verb, "backup") == 0 && optind == argc - 1)
        return do_backup(c, argv[optind], 0);
    if (strcmp(verb, "restore") == 0 && optind == argc - 1) {
        if (!yes) {
            fprintf(stderr, "ocp registry: restore replaces everything in "
                            "the registry; say --yes\n");
            return EXIT_USAGE;
        }
        return do_backup(c, argv[optind], 1);
    }
    if (strcmp(verb, "terminal") == 0 && object != NULL) {
        if (strcmp(object, "list") == 0 && optind == argc)
            return do_list(c);
        if (optind != argc - 1)
            goto bad;
        if (parse_terminal_id(argv[optind], &id) != 0)
            return EXIT_USAGE;
        if (strcmp(object, "revoke") == 0)
            return do_revoke(c, id);
        if (strcmp(object, "login") == 0) {
            if (password_out == NULL) {
                fprintf(stderr, "ocp registry: terminal login needs "
                                "--password-out FILE\n");
                return EXIT_USAGE;
            }
            return do_login(c, id, password_out);
        }
        if (strcmp(object, "enrol") == 0) {
            if (operator_name == NULL || kind == NULL || key_out == NULL) {
                fprintf(stderr, "ocp registry: terminal enrol needs "
                                "--operator, --kind and --key-out\n");
                return EXIT_USAGE;
            }
            if (strcmp(kind, "validator") != 0 &&
                strcmp(kind, "counter") != 0 && strcmp(kind, "kiosk") != 0 &&
                strcmp(kind, "desk") != 0) {
                fprintf(stderr, "ocp registry: --kind is validator, "
                                "counter, kiosk or desk\n");
                return EXIT_USAGE;
            }
            if (operator_name[0] == '\0') {
                fprintf(stderr, "ocp registry: --operator names who is "
                                "paid for the terminal's uses\n");
                return EXIT_USAGE;
            }
            return do_enrol(c, id, operator_name, kind, key_out, suite);
        }
    }
    if (strcmp(verb, "publish") == 0 && object != NULL &&
        (strcmp(object, "hotlist") == 0 ||
         strcmp(object, "catalogue") == 0) &&
        optind == argc - 1)
        return do_publish(c, object, argv[optind], version);
bad:
    usage(stderr);
    return EXIT_USAGE;
}
