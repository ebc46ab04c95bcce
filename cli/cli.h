/* The ocp command line: shared options and helpers of the subcommands. */
#ifndef OCP_CLI_H
#define OCP_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "ocp/card.h"
#include "ocp/issue.h"
#include "ocp/keystore.h"
#include "ocp/registry.h"
#include "ocp/status.h"

/* Exit codes, documented in `ocp --help` and docs/CLI.md. */
enum {
    EXIT_OK = 0,
    EXIT_FAILURE_ = 1,   /* anything not listed below */
    EXIT_USAGE = 2,
    EXIT_NO_READER = 3,  /* no pcscd, or no such reader */
    EXIT_NO_CARD = 4,    /* no card, or removed during the command */
    EXIT_PIN = 5,        /* wrong or blocked PIN */
    EXIT_NOT_ENTITLED = 6,
    EXIT_BLOCKED = 7,    /* card blocked or terminated */
    EXIT_AUTH = 8,       /* authentication or secure messaging failed */
    EXIT_CARD = 9,       /* the card refused or answered nonsense */
    EXIT_TIMEOUT = 10,   /* the card or reader did not answer in time */
    EXIT_REGISTRY = 11,  /* the registry cannot be reached, or failed */
    EXIT_FINDINGS = 12,  /* the audit found problems */
    EXIT_REFUSED = 13,   /* the registry refused this terminal or clerk
                            (or an approval), or a signature (batch,
                            hotlist) does not verify */
    EXIT_APPROVAL = 14   /* a second clerk must approve: the request is
                            recorded, the card untouched */
};

struct cli {
    const char *reader;  /* -r: name or index */
    const char *keys;    /* --keys URI */
    int json;
    int trace;           /* --trace: APDUs on stderr, payloads masked */
    int verbose;
    long wait_ms;        /* how long to wait for a card */
    long card_timeout_ms; /* --card-timeout: each request's deadline; 0 none */
    uint32_t terminal_id; /* --terminal-id: this desk or terminal */
    int quiet;           /* -q: errors only */
    char pin[9];         /* a PIN already read, for the kiosk session */
    const char *db;      /* --db URI, else OCP_DB, else the default */
    int db_given;        /* --db or OCP_DB was set: the desk records cards,
                            a clerk logs in, the trail is written */
    const char *clerk;   /* --clerk LOGIN, else OCP_CLERK; NULL: none */
    int clerk_logged_in; /* cli_registry_open_admin checked the clerk */
};

/* The registry everyone uses when neither --db nor OCP_DB names one. */
#define CLI_DEFAULT_DB "sqlite:ocp-registry.db"

int cmd_readers(struct cli *c, int argc, char **argv);
int cmd_info(struct cli *c, int argc, char **argv);
int cmd_issue(struct cli *c, int argc, char **argv);
int cmd_use(struct cli *c, int argc, char **argv);

/* Maps a libocp status to an exit code and prints the reason. */
int cli_fail(const char *what, ocp_status st);
/* Connects to the card in the chosen reader (waits c->wait_ms; every
 * request then has the deadline c->card_timeout_ms). */
ocp_status cli_connect(struct cli *c, ocp_transport **t);
/* Opens the key store named by --keys. */
ocp_status cli_keystore(struct cli *c, ocp_keystore **ks);
/* Minutes since 2000-01-01 00:00, local time. */
uint32_t cli_now(void);
/* Parses a role name (issuer, transit, medical, ...); 0 if unknown. */
uint8_t cli_role(const char *name);
const char *cli_role_name(uint8_t role);
void cli_hex(FILE *f, const uint8_t *p, size_t n);
/* SERVICE:DOMAIN:pass | SERVICE:DOMAIN:counter:N[:month|year] |
 * SERVICE:DOMAIN:balance:FEN, valid from..to; 0 or -1. */
int cli_parse_entitlement(const char *spec, uint16_t from, uint16_t to,
                          ocp_entitlement *e);
/* The holder's PIN: from OCP_PIN, else asked on the terminal without echo,
 * else one line of standard input.  0, or -1 with a message. */
int cli_read_pin(const char *prompt, char out[9]);
/* Asks on the terminal without echo; out is the line without its newline.
 * 0, or -1. */
int cli_ask_hidden(const char *prompt, char *out, size_t cap);
/* A secret from the environment variable env, else asked without echo on
 * a terminal (never read from a pipe).  0, or -1 with a message. */
int cli_read_secret(const char *env, const char *prompt, char *out,
                    size_t cap);
/* Connect, open the key store and a session as `role` (PIN verified for
 * the kiosk).  On failure prints why and returns the exit code. */
int cli_open(struct cli *c, uint8_t role, ocp_transport **t,
             ocp_keystore **ks, ocp_session **s, ocp_select_info *info);
void cli_close(ocp_transport *t, ocp_keystore *ks, ocp_session *s);
/* Parses YYYY-MM-DD into days since 2000-01-01; 0 or -1. */
int cli_parse_date(const char *s, uint16_t *day);

int cmd_read(struct cli *c, int argc, char **argv);
int cmd_log(struct cli *c, int argc, char **argv);
int cmd_update(struct cli *c, int argc, char **argv);
int cmd_grant(struct cli *c, int argc, char **argv);
int cmd_renew(struct cli *c, int argc, char **argv);
int cmd_pin(struct cli *c, int argc, char **argv);
int cmd_block(struct cli *c, int argc, char **argv);
int cmd_unblock(struct cli *c, int argc, char **argv);
int cmd_terminate(struct cli *c, int argc, char **argv);
int cmd_hotlist(struct cli *c, int argc, char **argv);
int cmd_keys(struct cli *c, int argc, char **argv);
int cmd_terminal(struct cli *c, int argc, char **argv);
int cmd_registry(struct cli *c, int argc, char **argv);
int cmd_sync(struct cli *c, int argc, char **argv);
int cmd_audit(struct cli *c, int argc, char **argv);
int cmd_report(struct cli *c, int argc, char **argv);
int cmd_settle(struct cli *c, int argc, char **argv);
/* The holder options of `issue` and `replace` (--name n, --cert c,
 * --district d, --pin p, --suite s, as their getopt values): 1 when opt was
 * one and is now in req, 0 when it is not one, -1 after a message on a bad
 * value. */
int cli_holder_option(const char *prog, int opt, const char *arg,
                      ocp_issue_request *req);
int cmd_replace(struct cli *c, int argc, char **argv);
/* ocp serve: the kiosk bridge (cmd_serve.c and serve_*.c, serve.h). */
int cmd_serve(struct cli *c, int argc, char **argv);

/* Opens the registry named by --db.  On failure prints why and returns
 * the exit code (EXIT_REGISTRY), else 0. */
int cli_registry_open(struct cli *c, ocp_registry **r);
/* Prints why a registry call failed and returns its exit code:
 * EXIT_REFUSED for a refused terminal or signature, EXIT_REGISTRY for the
 * database, EXIT_USAGE for a bad argument, else EXIT_FAILURE_. */
int cli_registry_fail(ocp_registry *r, const char *what, ocp_status st);
/* Checks a hotlist file's issuer signature with the --keys store (either
 * suite's key); *version is the file's.  0, or the exit code with a
 * message: EXIT_REFUSED when the signature does not verify. */
int cli_verify_hotlist(struct cli *c, const char *path, uint32_t *version);
/* After `ocp issue` with --db or OCP_DB: the card goes into the registry
 * (so the audit knows its suite and transaction-key version).  0, or the
 * exit code with a message. */
int cli_record_issued(struct cli *c, const ocp_issue_request *req,
                      const ocp_select_info *info);
/* With a registry: a desk command changed a card's state ("active",
 * "blocked", "terminated"; NULL: unchanged) or expiry (0: unchanged). A
 * card the registry does not know gets a warning.  0 or an exit code. */
int cli_record_card_change(struct cli *c, const uint8_t card[8],
                           const char *state, uint16_t expiry_date);
/* With a registry: renewal onto a new card (its entitlements as read
 * from it); the old card terminated.  0 or an exit code. */
int cli_record_renewed_onto(struct cli *c, const uint8_t old_card[8],
                            const ocp_select_info *info, uint16_t expiry,
                            const ocp_entitlement *ents, size_t n);
/* ocp registry clerk|approve|approvals|trail|set (cli/registry_desk.c):
 * argv[0] is the verb. */
int cli_registry_desk(struct cli *c, int argc, char **argv);

#endif
