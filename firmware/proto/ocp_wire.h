/*
 * One-Card Pass wire protocol constants.
 *
 * This header is the single source of truth for every number that crosses
 * the card interface: it is included by the applet and by libocp, and
 * installed with libocp as <ocp/wire.h>.  Macros only.  The meaning of each
 * value is given in docs/PROTOCOL.md; keep the two in step.
 */
#ifndef OCP_WIRE_H
#define OCP_WIRE_H

#include <stdint.h>

/* Application identifier F0 4F 43 50 01 ("OCP", version 1). */
#define OCP_AID_LEN 5
#define OCP_AID_BYTES {0xF0, 0x4F, 0x43, 0x50, 0x01}

/* Class bytes.  Bit 0x04 marks a command protected by secure messaging. */
#define OCP_CLA_ISO        0x00u
#define OCP_CLA_ISO_SM     0x04u
#define OCP_CLA_PROP       0x80u
#define OCP_CLA_PROP_SM    0x84u
#define OCP_CLA_SM_BIT     0x04u

/* Instructions. */
#define OCP_INS_SELECT            0xA4u /* ISO */
#define OCP_INS_GET_CHALLENGE     0x84u /* ISO */
#define OCP_INS_MUTUAL_AUTH       0x82u /* ISO (EXTERNAL/MUTUAL AUTHENTICATE) */
#define OCP_INS_GET_DATA          0xCAu /* ISO */
#define OCP_INS_PUT_DATA          0xDAu /* ISO */
#define OCP_INS_READ_RECORD       0xB2u /* ISO */
#define OCP_INS_VERIFY            0x20u /* ISO */
#define OCP_INS_CHANGE_REF_DATA   0x24u /* ISO */
#define OCP_INS_RESET_RETRY       0x2Cu /* ISO */
#define OCP_INS_PUT_KEY           0xD8u /* proprietary, class 84 */
#define OCP_INS_CONSUME           0x30u /* proprietary, class 84 */
#define OCP_INS_GRANT             0x32u /* proprietary, class 84 */
#define OCP_INS_SET_STATE         0x34u /* proprietary, class 84 */

/* Status words. */
#define OCP_SW_OK                   0x9000u
#define OCP_SW_WARN_DEACTIVATED     0x6283u /* SELECT: card blocked */
#define OCP_SW_WARN_TERMINATED      0x6285u /* SELECT: card terminated */
#define OCP_SW_AUTH_FAILED          0x6300u /* cryptogram or block cryptogram wrong */
#define OCP_SW_PIN_TRIES_BASE       0x63C0u /* 63Cx: wrong PIN, x tries left */
#define OCP_SW_MEMORY_FAILURE       0x6581u
#define OCP_SW_WRONG_LENGTH         0x6700u
#define OCP_SW_SM_NOT_SUPPORTED     0x6882u
#define OCP_SW_SM_MISSING           0x6987u /* expected SM data objects missing */
#define OCP_SW_SM_INCORRECT         0x6988u /* SM data objects incorrect (MAC) */
#define OCP_SW_SECURITY_STATUS      0x6982u /* not authenticated / role may not */
#define OCP_SW_PIN_BLOCKED          0x6983u /* authentication method blocked */
#define OCP_SW_CONDITIONS           0x6985u /* conditions of use not satisfied */
#define OCP_SW_WRONG_DATA           0x6A80u
#define OCP_SW_FUNC_NOT_SUPPORTED   0x6A81u
#define OCP_SW_FILE_NOT_FOUND       0x6A82u
#define OCP_SW_RECORD_NOT_FOUND     0x6A83u
#define OCP_SW_CARD_FULL            0x6A84u /* no free entitlement slot */
/* Used up or balance too low: 9401 as in JR/T 0025 (PBOC) purses. */
#define OCP_SW_NOT_ENOUGH_UNITS     0x9401u
#define OCP_SW_WRONG_P1P2           0x6A86u
#define OCP_SW_REF_NOT_FOUND        0x6A88u
#define OCP_SW_INS_NOT_SUPPORTED    0x6D00u
#define OCP_SW_CLA_NOT_SUPPORTED    0x6E00u
#define OCP_SW_NO_PRECISE_DIAG      0x6F00u

/* Cipher suites (P1 of MUTUAL AUTHENTICATE, suite byte of the card). */
#define OCP_SUITE_AES 0x01u
#define OCP_SUITE_SM  0x02u

/* Roles (P2 of MUTUAL AUTHENTICATE) and key slots.  A consuming role is
 * also the domain of the entitlements it may consume. */
#define OCP_ROLE_ISSUER   0x01u
#define OCP_ROLE_TRANSIT  0x02u
#define OCP_ROLE_MEDICAL  0x03u
#define OCP_ROLE_REHAB    0x04u
#define OCP_ROLE_ASSIST   0x05u
#define OCP_ROLE_SUBSIDY  0x06u
#define OCP_ROLE_VENUE    0x07u
#define OCP_ROLE_KIOSK    0x08u
#define OCP_ROLE_COUNT    8u
/* Key slots beyond the roles: never used to authenticate. */
#define OCP_KEY_TXMAC     0x09u /* transaction certificates (back office) */
#define OCP_KEY_HOLDER    0x0Au /* holder digest; never stored on the card */
#define OCP_KEY_SLOTS     9u    /* slots 1..9 live on the card */
#define OCP_KEY_VERSION_TRANSPORT 0x00u

/* Card life cycle. */
#define OCP_STATE_BLANK        0x00u
#define OCP_STATE_PERSONALISED 0x01u
#define OCP_STATE_ACTIVE       0x02u
#define OCP_STATE_BLOCKED      0x03u
#define OCP_STATE_TERMINATED   0x04u

/* Entitlement kinds, periods and flags. */
#define OCP_KIND_PASS    0x01u
#define OCP_KIND_COUNTER 0x02u
#define OCP_KIND_BALANCE 0x03u
#define OCP_PERIOD_NONE  0x00u
#define OCP_PERIOD_MONTH 0x01u
#define OCP_PERIOD_YEAR  0x02u
#define OCP_ENT_FLAG_PIN 0x01u /* consumption needs a verified PIN */

/* GRANT operations (P2). */
#define OCP_GRANT_PUT     0x01u /* create or replace the slot */
#define OCP_GRANT_REVOKE  0x02u
#define OCP_GRANT_CREDIT  0x03u /* add to a balance or counter */

/* Certificate flags (low byte of the flags/counter word). */
#define OCP_TXF_BACKDATED 0x01u /* terminal date earlier than the card's */
#define OCP_TXF_AHEAD     0x02u /* terminal date implausibly far ahead */
#define OCP_TXF_RENEWED   0x04u /* the counter was renewed for a new period */
/* Response only, never in a certificate: this answers a repeated
 * (terminal, sequence) and nothing was consumed. */
#define OCP_TXF_REPEAT    0x80u

/* GET DATA / PUT DATA tags (P1 P2). */
#define OCP_TAG_PUBLIC     0x0201u /* anyone: id, suite, dates, digest, sig */
#define OCP_TAG_IDENTITY   0x0202u /* PUT: suite, issue and expiry dates */
#define OCP_TAG_SIGNATURE  0x0203u /* PUT: holder digest and issuer signature */
#define OCP_TAG_HOLDER     0x0101u /* holder record, filtered by role */
#define OCP_TAG_STATUS     0x0102u /* state, counter, dates, PIN tries */
#define OCP_TAG_DRBG_SEED  0x0204u /* PUT only: seed material */
#define OCP_TAG_DATE       0x0205u /* PUT only, issuer: reset the card's date */
#define OCP_TAG_HOLDER_SIGNED   0x0207u /* PUT: holder TLVs, digest, signature */
#define OCP_TAG_IDENTITY_SIGNED 0x0208u /* PUT: identity, digest, signature */

/* Holder record TLV tags (one byte tag, one byte length). */
#define OCP_HT_NAME        0x01u
#define OCP_HT_CERT_NO     0x02u
#define OCP_HT_CATEGORY    0x03u
#define OCP_HT_GRADE       0x04u
#define OCP_HT_DISTRICT    0x05u

/* Short file identifiers for READ RECORD. */
#define OCP_SFI_ENTITLEMENTS 0x01u
#define OCP_SFI_LOG          0x02u

/* Sizes. */
#define OCP_CARD_ID_LEN     8u
#define OCP_CHALLENGE_LEN   8u
#define OCP_KEY_LEN         16u
#define OCP_BLOCK_LEN       16u
#define OCP_MAC_LEN         8u  /* transmitted MAC and certificate length */
#define OCP_SIGNATURE_LEN   64u /* r || s, P-256 or SM2 */
#define OCP_DIGEST_LEN      16u
#define OCP_CERT_NO_LEN     20u
#define OCP_NAME_MAX        48u /* bytes of UTF-8 */
#define OCP_PIN_MIN         4u
#define OCP_PIN_MAX         8u
#define OCP_PIN_TRIES_DEFAULT 3u
#define OCP_MAX_ENTITLEMENTS 16u
#define OCP_LOG_RECORDS     32u
#define OCP_DATE_JUMP_DAYS  7u  /* a later date within this is plausible */

/* Fixed layouts (bytes).  See docs/PROTOCOL.md for the field order. */
#define OCP_SELECT_RESP_LEN  28u
#define OCP_AUTH_DATA_LEN    25u
#define OCP_LASTTX_LEN       27u
#define OCP_CONSUME_DATA_LEN 10u
#define OCP_CONSUME_RESP_LEN 17u
#define OCP_ENT_REC_LEN      21u
#define OCP_LOG_REC_LEN      24u
#define OCP_PUBLIC_LEN       93u
#define OCP_STATUS_LEN       12u

#endif
