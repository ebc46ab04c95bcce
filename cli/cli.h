/* The ocp command line: shared options and helpers of the subcommands. */
#ifndef OCP_CLI_H
#define OCP_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "ocp/card.h"
#include "ocp/issue.h"
#include "ocp/keystore.h"
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
    EXIT_TIMEOUT = 10    /* the card or reader did not answer in time */
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
};

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

#endif
