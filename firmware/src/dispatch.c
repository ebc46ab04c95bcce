/*
 * The applet's entry point: APDU parsing, class and instruction checks,
 * secure messaging on the way in and out, and the command table.
 */
#include <string.h>

#include "card_internal.h"

enum sm_policy { PLAIN_ONLY, SM_ONLY, EITHER };

struct command {
    uint8_t ins;
    uint8_t proprietary; /* class 80/84 rather than 00/04 */
    uint8_t policy;
};

static const struct command commands[] = {
    {OCP_INS_SELECT, 0, PLAIN_ONLY},
    {OCP_INS_GET_CHALLENGE, 0, PLAIN_ONLY},
    {OCP_INS_MUTUAL_AUTH, 0, PLAIN_ONLY},
    {OCP_INS_GET_DATA, 0, EITHER},
    {OCP_INS_PUT_DATA, 0, SM_ONLY},
    {OCP_INS_READ_RECORD, 0, SM_ONLY},
    {OCP_INS_VERIFY, 0, SM_ONLY},
    {OCP_INS_CHANGE_REF_DATA, 0, SM_ONLY},
    {OCP_INS_RESET_RETRY, 0, SM_ONLY},
    {OCP_INS_PUT_KEY, 1, SM_ONLY},
    {OCP_INS_CONSUME, 1, SM_ONLY},
    {OCP_INS_GRANT, 1, SM_ONLY},
    {OCP_INS_SET_STATE, 1, SM_ONLY},
};

/* A switch, not a table of function pointers: the firmware has no
 * indirect call, so the stack analysis of the Cortex-M build
 * (firmware/port/cortexm/footprint.py) follows every call as written. */
static uint16_t run_command(struct ocp_card *card, uint8_t ins, card_apdu *a)
{
    switch (ins) {
    case OCP_INS_SELECT: return cmd_select(card, a);
    case OCP_INS_GET_CHALLENGE: return cmd_get_challenge(card, a);
    case OCP_INS_MUTUAL_AUTH: return cmd_mutual_auth(card, a);
    case OCP_INS_GET_DATA: return cmd_get_data(card, a);
    case OCP_INS_PUT_DATA: return cmd_put_data(card, a);
    case OCP_INS_READ_RECORD: return cmd_read_record(card, a);
    case OCP_INS_VERIFY: return cmd_verify(card, a);
    case OCP_INS_CHANGE_REF_DATA: return cmd_change_pin(card, a);
    case OCP_INS_RESET_RETRY: return cmd_reset_retry(card, a);
    case OCP_INS_PUT_KEY: return cmd_put_key(card, a);
    case OCP_INS_CONSUME: return cmd_consume(card, a);
    case OCP_INS_GRANT: return cmd_grant(card, a);
    case OCP_INS_SET_STATE: return cmd_set_state(card, a);
    default: return OCP_SW_INS_NOT_SUPPORTED; /* find_command checked */
    }
}

ocp_card_status ocp_card_power_on(struct ocp_card *card)
{
    if (card == NULL)
        return OCP_CARD_BAD_ARGS;
    ocp_wipe(card, sizeof *card);
    return store_open(card);
}

ocp_card_status ocp_card_manufacture(const uint8_t card_id[8],
                                     const uint8_t transport_key[16],
                                     const uint8_t seed[16])
{
    if (card_id == NULL || transport_key == NULL || seed == NULL)
        return OCP_CARD_BAD_ARGS;
    return store_format(card_id, transport_key, seed);
}

/* Splits a short APDU into Lc data and Le (ISO 7816-3 cases 1 to 4). */
static int parse_lengths(const uint8_t *capdu, size_t len, card_apdu *a)
{
    size_t lc;
    a->len = 0;
    a->has_le = 0;
    a->le = 0;
    if (len == 4)
        return 0;
    if (len == 5) {
        a->has_le = 1;
        a->le = capdu[4] ? capdu[4] : 256u;
        return 0;
    }
    lc = capdu[4];
    if (lc == 0) /* extended length: not supported */
        return -1;
    if (len == 5 + lc) {
        a->len = lc;
    } else if (len == 6 + lc) {
        a->len = lc;
        a->has_le = 1;
        a->le = capdu[len - 1] ? capdu[len - 1] : 256u;
    } else {
        return -1;
    }
    return 0;
}

static const struct command *find_command(uint8_t ins)
{
    size_t i;
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (commands[i].ins == ins)
            return &commands[i];
    return NULL;
}

static size_t put_sw(uint8_t *rapdu, size_t at, uint16_t sw)
{
    rapdu[at] = (uint8_t)(sw >> 8);
    rapdu[at + 1] = (uint8_t)sw;
    return at + 2;
}

/* Decides what to do with a command before its handler runs; returns 0 to
 * go on, or the status word to answer with. */
static uint16_t admit(struct ocp_card *card, const struct command *cmd,
                      uint8_t cla, int sm)
{
    if (cmd == NULL)
        return OCP_SW_INS_NOT_SUPPORTED;
    if ((cla & 0x80u) != (cmd->proprietary ? 0x80u : 0x00u))
        return OCP_SW_CLA_NOT_SUPPORTED;
    if (sm && cmd->policy == PLAIN_ONLY)
        return OCP_SW_SM_NOT_SUPPORTED;
    if (sm && card->session_role == 0)
        return OCP_SW_SECURITY_STATUS;
    if (!sm && cmd->policy == SM_ONLY) {
        if (card->session_role != 0) {
            channel_close(card); /* a plain command breaks the session */
            return OCP_SW_SM_MISSING;
        }
        return OCP_SW_SECURITY_STATUS;
    }
    return 0;
}

ocp_card_status ocp_card_process(struct ocp_card *card, const uint8_t *capdu,
                                 size_t capdu_len, uint8_t *rapdu,
                                 size_t rapdu_cap, size_t *rapdu_len)
{
    card_apdu a;
    const struct command *cmd;
    uint8_t cla;
    uint16_t sw;
    int sm;

    if (card == NULL || capdu == NULL || rapdu == NULL ||
        rapdu_len == NULL || rapdu_cap < OCP_CARD_RAPDU_MAX)
        return OCP_CARD_BAD_ARGS;
    if (card->dead)
        return OCP_CARD_NVM_FAILURE;
    *rapdu_len = 0;
    memset(&a, 0, sizeof a);
    a.out = rapdu;
    a.out_cap = rapdu_cap - 2;

    if (capdu_len < 4 || capdu_len > 261) {
        *rapdu_len = put_sw(rapdu, 0, OCP_SW_WRONG_LENGTH);
        return OCP_CARD_OK;
    }
    cla = capdu[0];
    a.cla = cla;
    a.ins = capdu[1];
    a.p1 = capdu[2];
    a.p2 = capdu[3];
    if ((cla & (uint8_t)~OCP_CLA_SM_BIT) != OCP_CLA_ISO &&
        (cla & (uint8_t)~OCP_CLA_SM_BIT) != OCP_CLA_PROP) {
        *rapdu_len = put_sw(rapdu, 0, OCP_SW_CLA_NOT_SUPPORTED);
        return OCP_CARD_OK;
    }
    sm = (cla & OCP_CLA_SM_BIT) != 0;
    cmd = find_command(a.ins);
    sw = admit(card, cmd, cla, sm);
    if (sw == 0 && parse_lengths(capdu, capdu_len, &a) != 0) {
        sw = OCP_SW_WRONG_LENGTH;
        if (sm)
            channel_close(card);
    }
    if (sw != 0) {
        *rapdu_len = put_sw(rapdu, 0, sw);
        return OCP_CARD_OK;
    }

    if (sm) {
        size_t plain = 0;
        /* The body is decrypted in the response buffer: the one APDU
         * buffer of the card. */
        memcpy(rapdu, capdu + 5, a.len);
        if (!a.has_le ||
            ocp_sm_unwrap_command(&card->sm, capdu, rapdu, a.len, &plain) !=
                0) {
            channel_close(card);
            *rapdu_len = put_sw(rapdu, 0, OCP_SW_SM_INCORRECT);
            return OCP_CARD_OK;
        }
        a.data = rapdu;
        a.len = plain;
        a.out_cap = CARD_SM_DATA_MAX;
    } else {
        a.data = capdu + 5;
    }
    a.sm = sm;

    sw = run_command(card, cmd->ins, &a);
    if (card->dead)
        return OCP_CARD_NVM_FAILURE;
    if (sw != OCP_SW_OK && (sw >> 8) != 0x62u)
        a.out_len = 0; /* errors carry no data */
    if (a.sm && card->session_role != 0) {
        size_t body = ocp_sm_wrap_response(&card->sm, rapdu, a.out_len, sw);
        *rapdu_len = put_sw(rapdu, body, sw);
        return OCP_CARD_OK;
    }
    if (!a.sm && a.out_len > 0 && a.has_le && a.le < a.out_len) {
        /* Le too small for the answer: tell the exact length (ISO). */
        *rapdu_len = put_sw(rapdu, 0, (uint16_t)(0x6C00u | a.out_len));
        return OCP_CARD_OK;
    }
    *rapdu_len = put_sw(rapdu, a.out_len, sw);
    return OCP_CARD_OK;
}
