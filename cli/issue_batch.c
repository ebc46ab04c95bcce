/*
 * ocp issue --holder FILE and --batch FILE.
 *
 * A batch issues card after card: for each good row it waits for a blank
 * card, issues it, and waits for the card to be taken out.  Progress goes
 * to stdout (one line, or one JSON object, per row); bad rows are reported
 * with their line and column and skipped.
 *
 * Resuming: beside the CSV a journal FILE.csv.progress records, with an
 * fsync each, "start CERT CARDID" before a card is issued and "done CERT
 * CARDID" after.  A new run skips the done holders.  A holder that was
 * started but not done can only be finished on the same card (ocp_issue_
 * card recognises it and completes it), never issued again on another:
 * that is how no holder gets two cards.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "issue_batch.h"
#include "ocp/holder.h"
#include "ocp/wire.h"
#include "output.h"
#include "reader.h"

static int load_catalogue(const char *path, ocp_catalogue **cat)
{
    ocp_parse_error err;
    ocp_status st = ocp_catalogue_load(path, cat, &err);
    if (st != OCP_OK) {
        fprintf(stderr, "ocp issue: %s:%d:%d: %s\n", path, err.line,
                err.column, err.message);
        return cli_fail("reading the catalogue", st);
    }
    return EXIT_OK;
}

static void report_issued(struct cli *c, const ocp_issue_request *req,
                          const ocp_select_info *info, size_t row,
                          size_t rows)
{
    if (c->json) {
        json_t *v = json_object();
        json_object_set_new(v, "result", json_string("issued"));
        if (rows)
            json_object_set_new(v, "row", json_integer((json_int_t)row));
        json_object_set_new(v, "certificate",
                            json_string(req->holder.cert_no));
        json_object_set_new(v, "card_id", out_hex(info->card_id, 8));
        json_object_set_new(v, "state", json_string("active"));
        json_object_set_new(
            v, "entitlements",
            json_integer((json_int_t)req->n_entitlements));
        out_print(1, v, NULL);
    } else {
        if (rows)
            printf("[%zu/%zu] ", row, rows);
        printf("%s: issued card ", req->holder.name);
        cli_hex(stdout, info->card_id, 8);
        printf(" (%s, %zu entitlements), active\n",
               out_suite_name(req->suite), req->n_entitlements);
    }
    fflush(stdout);
}

/* Fills in what the files leave to the desk: PIN, terminal, time. */
static int complete_request(struct cli *c, ocp_issue_request *req)
{
    if (req->pin[0] == '\0' &&
        cli_read_pin("PIN chosen by the holder", req->pin) != 0)
        return -1;
    req->terminal_id = c->terminal_id;
    req->datetime = cli_now();
    return 0;
}

int issue_holder_file(struct cli *c, struct desk *d, const char *path,
                      const char *catalogue, const char *pin)
{
    ocp_catalogue *cat = NULL;
    ocp_issue_request req;
    ocp_entitlement ents[16];
    ocp_parse_error err;
    ocp_select_info info;
    ocp_transport *t = NULL;
    ocp_keystore *ks = NULL;
    ocp_status st;
    int rc = load_catalogue(catalogue, &cat);

    if (rc != EXIT_OK)
        return rc;
    st = ocp_holder_file_load(path, cat, (uint16_t)(cli_now() / 1440u), &req,
                              ents, &err);
    ocp_catalogue_free(cat);
    if (st != OCP_OK) {
        fprintf(stderr, "ocp issue: %s:%d:%d: %s\n", path, err.line,
                err.column, err.message);
        return st == OCP_E_ARGS ? EXIT_USAGE : cli_fail("reading", st);
    }
    if (pin[0])
        strcpy(req.pin, pin);
    if (complete_request(c, &req) != 0)
        return EXIT_USAGE;
    st = cli_keystore(c, &ks);
    if (st == OCP_OK)
        st = cli_connect(c, &t);
    if (st == OCP_OK)
        st = ocp_issue_card(t, ks, &req, &info);
    if (st != OCP_OK) {
        rc = cli_fail("issuing the card", st);
    } else {
        int recorded;
        rc = cli_record_issued(c, &req, &info);
        report_issued(c, &req, &info, 0, 0);
        recorded = desk_record(c, d, info.card_id, desk_issue_detail(&req));
        if (rc == 0)
            rc = recorded;
    }
    memset(&req, 0, sizeof req);
    cli_close(t, ks, NULL);
    return rc;
}

/* ---- the progress journal ----------------------------------------------- */

/* A holder whose issuance started on a card and never finished: as many
 * as rows failed after their start (a card pulled, say), not just the
 * last one, or a later run could issue one of them on a second card. */
struct started {
    char cert[21];
    uint8_t card[8];
};

struct progress {
    FILE *f;
    char (*done)[21];
    size_t n_done, cap_done;
    struct started *started;
    size_t n_started, cap_started;
};

static int hex_id(const char *s, uint8_t id[8])
{
    unsigned i, v;
    if (strlen(s) != 16)
        return -1;
    for (i = 0; i < 8; i++) {
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        id[i] = (uint8_t)v;
    }
    return 0;
}

/* The card a holder was started on and not finished, or NULL. */
static const uint8_t *progress_started_on(const struct progress *p,
                                          const char *cert)
{
    size_t i;
    for (i = 0; i < p->n_started; i++)
        if (strcmp(p->started[i].cert, cert) == 0)
            return p->started[i].card;
    return NULL;
}

/* The first card stays: it is the one that may hold the holder already. */
static int progress_note_start(struct progress *p, const char *cert,
                               const uint8_t card[8])
{
    if (progress_started_on(p, cert) != NULL)
        return 0;
    if (p->n_started == p->cap_started) {
        size_t cap = p->cap_started ? p->cap_started * 2 : 16;
        struct started *grown = realloc(p->started, cap * sizeof *grown);
        if (grown == NULL)
            return -1;
        p->started = grown;
        p->cap_started = cap;
    }
    strcpy(p->started[p->n_started].cert, cert);
    memcpy(p->started[p->n_started].card, card, 8);
    p->n_started++;
    return 0;
}

static void progress_note_done(struct progress *p, const char *cert)
{
    size_t i;
    for (i = 0; i < p->n_started; i++)
        if (strcmp(p->started[i].cert, cert) == 0) {
            p->started[i] = p->started[--p->n_started];
            return;
        }
}

static int progress_open(struct progress *p, const char *csv)
{
    char path[4096], line[128];
    FILE *r;
    memset(p, 0, sizeof *p);
    if ((size_t)snprintf(path, sizeof path, "%s.progress", csv) >= sizeof path)
        return -1;
    r = fopen(path, "r");
    if (r != NULL) {
        while (fgets(line, sizeof line, r)) {
            char verb[8], cert[32], card[32];
            if (sscanf(line, "%7s %31s %31s", verb, cert, card) != 3 ||
                strlen(cert) != 20)
                continue; /* a torn last line: the write never finished */
            if (strcmp(verb, "start") == 0) {
                uint8_t id[8];
                if (hex_id(card, id) == 0 &&
                    progress_note_start(p, cert, id) != 0) {
                    fclose(r);
                    return -1;
                }
            } else if (strcmp(verb, "done") == 0) {
                if (p->n_done == p->cap_done) {
                    size_t cap = p->cap_done ? p->cap_done * 2 : 64;
                    char(*grown)[21] = realloc(p->done, cap * sizeof *grown);
                    if (grown == NULL) {
                        fclose(r);
                        return -1;
                    }
                    p->done = grown;
                    p->cap_done = cap;
                }
                strcpy(p->done[p->n_done++], cert);
                progress_note_done(p, cert);
            }
        }
        fclose(r);
    }
    p->f = fopen(path, "a");
    return p->f ? 0 : -1;
}

static int progress_is_done(const struct progress *p, const char *cert)
{
    size_t i;
    for (i = 0; i < p->n_done; i++)
        if (strcmp(p->done[i], cert) == 0)
            return 1;
    return 0;
}

/* Appends and makes it durable before the card is touched further. */
static int progress_write(struct progress *p, const char *verb,
                          const char *cert, const uint8_t card[8])
{
    fprintf(p->f, "%s %s ", verb, cert);
    cli_hex(p->f, card, 8);
    fputc('\n', p->f);
    return fflush(p->f) == 0 && fsync(fileno(p->f)) == 0 ? 0 : -1;
}

static void progress_close(struct progress *p)
{
    if (p->f)
        fclose(p->f);
    free(p->done);
    free(p->started);
}

/* ---- the batch ------------------------------------------------------------ */

/* Waits for a card in the reader and connects (forever: a desk waits).
 * PC/SC and USB CCID readers alike (reader.h). */
static ocp_status next_card(struct cli *c, const char *who,
                            ocp_transport **t)
{
    struct cli_reader r;
    ocp_status st = cli_reader_find(c, &r);
    if (st == OCP_OK) {
        if (!c->quiet && !c->json)
            fprintf(stderr, "insert a blank card for %s\n", who);
        st = cli_reader_wait_card(&r, -1);
    }
    if (st == OCP_OK)
        st = cli_reader_connect(c, &r, t);
    if (st != OCP_OK && cli_reader_detail(&r)[0])
        fprintf(stderr, "ocp issue: %s\n", cli_reader_detail(&r));
    return st;
}

static void wait_removal(struct cli *c)
{
    struct cli_reader r;
    if (cli_reader_find(c, &r) == OCP_OK) {
        if (!c->quiet && !c->json)
            fprintf(stderr, "take the card out\n");
        (void)cli_reader_wait_removal(&r, -1);
    }
}

int issue_batch(struct cli *c, struct desk *d, const char *path,
                const char *catalogue)
{
    ocp_catalogue *cat = NULL;
    ocp_csv *csv = NULL;
    ocp_keystore *ks = NULL;
    struct progress prog;
    ocp_parse_error err;
    size_t rows, row = 0, issued = 0, skipped = 0, failed = 0;
    int rc = load_catalogue(catalogue, &cat);
    ocp_status st;

    if (rc != EXIT_OK)
        return rc;
    st = ocp_batch_open(path, &csv, &err);
    if (st != OCP_OK) {
        fprintf(stderr, "ocp issue: %s:%d:%d: %s\n", path, err.line,
                err.column, err.message);
        ocp_catalogue_free(cat);
        return st == OCP_E_ARGS ? EXIT_USAGE : cli_fail("reading", st);
    }
    rows = ocp_batch_rows(csv);
    if (progress_open(&prog, path) != 0) {
        fprintf(stderr, "ocp issue: cannot keep progress beside %s\n", path);
        rc = EXIT_FAILURE_;
        goto out;
    }
    st = cli_keystore(c, &ks);
    if (st != OCP_OK) {
        rc = cli_fail("opening the key store", st);
        goto out;
    }
    for (;;) {
        ocp_issue_request req;
        ocp_entitlement ents[16];
        ocp_select_info info;
        ocp_transport *t = NULL;
        const uint8_t *started_on;
        int line = 0, done = 0;

        st = ocp_batch_next(csv, cat, (uint16_t)(cli_now() / 1440u), &req,
                            ents, &line, &done, &err);
        if (st == OCP_OK && done)
            break;
        row++;
        if (st != OCP_OK) {
            failed++;
            fprintf(stderr, "[%zu/%zu] %s:%d:%d: %s\n", row, rows, path,
                    err.line, err.column, err.message);
            if (st == OCP_E_ARGS)
                continue;
            rc = cli_fail("reading the batch", st);
            break;
        }
        if (progress_is_done(&prog, req.holder.cert_no)) {
            skipped++;
            continue;
        }
        if (complete_request(c, &req) != 0) {
            failed++;
            continue;
        }
        st = next_card(c, req.holder.name, &t);
        if (st == OCP_OK)
            st = ocp_select(t, &info);
        started_on = st == OCP_OK
                         ? progress_started_on(&prog, req.holder.cert_no)
                         : NULL;
        if (started_on != NULL && memcmp(started_on, info.card_id, 8) != 0) {
            fprintf(stderr, "[%zu/%zu] %s was being issued on card ", row,
                    rows, req.holder.name);
            cli_hex(stderr, started_on, 8);
            fprintf(stderr, " when the last run stopped: insert that card "
                            "to finish it\n");
            st = OCP_E_DENIED;
        }
        if (st == OCP_OK &&
            (progress_write(&prog, "start", req.holder.cert_no,
                            info.card_id) != 0 ||
             progress_note_start(&prog, req.holder.cert_no, info.card_id) !=
                 0))
            st = OCP_E_IO;
        if (st == OCP_OK)
            st = ocp_issue_card(t, ks, &req, &info);
        if (st == OCP_OK &&
            progress_write(&prog, "done", req.holder.cert_no, info.card_id) !=
                0)
            st = OCP_E_IO;
        if (st == OCP_OK)
            progress_note_done(&prog, req.holder.cert_no);
        if (st == OCP_OK) {
            int recorded = cli_record_issued(c, &req, &info);
            int trailed;
            issued++;
            /* Issued all the same: the batch goes on, and the exit code
             * tells that the registry lacks a card or its trail row. */
            if (recorded != 0) {
                fprintf(stderr, "[%zu/%zu] card issued but not recorded in "
                                "the registry\n",
                        row, rows);
                rc = recorded;
            }
            report_issued(c, &req, &info, row, rows);
            trailed = desk_record(c, d, info.card_id, desk_issue_detail(&req));
            if (trailed != 0)
                rc = trailed;
        } else {
            failed++;
            fprintf(stderr, "[%zu/%zu] %s: %s\n", row, rows, req.holder.name,
                    ocp_strerror(st));
            if (st == OCP_E_NO_SERVICE || st == OCP_E_NO_READER) {
                rc = cli_fail("the reader", st);
                cli_close(t, NULL, NULL);
                memset(&req, 0, sizeof req);
                break;
            }
        }
        cli_close(t, NULL, NULL);
        memset(&req, 0, sizeof req);
        wait_removal(c);
    }
    if (!c->quiet) {
        if (c->json)
            printf("{\"result\":\"batch\",\"rows\":%zu,\"issued\":%zu,"
                   "\"already_done\":%zu,\"failed\":%zu}\n",
                   rows, issued, skipped, failed);
        else
            printf("batch: %zu rows, %zu issued, %zu done before, %zu "
                   "failed\n",
                   rows, issued, skipped, failed);
    }
    if (rc == EXIT_OK && failed)
        rc = EXIT_FAILURE_;
out:
    progress_close(&prog);
    ocp_keystore_close(ks);
    ocp_batch_close(csv);
    ocp_catalogue_free(cat);
    return rc;
}
