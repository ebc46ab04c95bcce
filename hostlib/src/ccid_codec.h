/*
 * USB CCID messages (CCID specification rev 1.1), encoded and decoded
 * with bounds and nothing else: no USB calls, no allocation, so the codec
 * is tested from tables and fuzzed on its own (transport_ccid.c drives it).
 *
 * Every bulk message has a 10-byte header:
 *   0 bMessageType, 1..4 dwLength (little-endian, bytes after the header),
 *   5 bSlot, 6 bSeq, 7..9 three bytes that depend on the message.
 * Responses (RDR_to_PC_*) carry bStatus, bError and one more byte there.
 */
#ifndef OCP_CCID_CODEC_H
#define OCP_CCID_CODEC_H

#include <stddef.h>
#include <stdint.h>

#define CCID_HEADER_LEN 10u

/* Bulk-out commands. */
#define CCID_PC_TO_RDR_ICC_POWER_ON 0x62u
#define CCID_PC_TO_RDR_ICC_POWER_OFF 0x63u
#define CCID_PC_TO_RDR_GET_SLOT_STATUS 0x65u
#define CCID_PC_TO_RDR_XFR_BLOCK 0x6Fu
#define CCID_PC_TO_RDR_ABORT 0x72u
/* Bulk-in responses. */
#define CCID_RDR_TO_PC_DATA_BLOCK 0x80u
#define CCID_RDR_TO_PC_SLOT_STATUS 0x81u
/* Interrupt-in messages. */
#define CCID_RDR_TO_PC_NOTIFY_SLOT_CHANGE 0x50u
#define CCID_RDR_TO_PC_HARDWARE_ERROR 0x51u

/* bStatus: bmICCStatus in bits 0-1, bmCommandStatus in bits 6-7. */
#define CCID_ICC_ACTIVE 0u   /* present and powered */
#define CCID_ICC_INACTIVE 1u /* present, not powered */
#define CCID_ICC_ABSENT 2u
#define CCID_CMD_OK 0u
#define CCID_CMD_FAILED 1u   /* bError says why */
#define CCID_CMD_TIME_EXTENSION 2u /* bError is the BWT multiplier */

/* bError when bmCommandStatus is CCID_CMD_FAILED (0x01..0x7F would be the
 * offset of a bad field, 0x00 an unsupported command). */
#define CCID_ERR_CMD_ABORTED 0xFFu
#define CCID_ERR_ICC_MUTE 0xFEu
#define CCID_ERR_XFR_PARITY 0xFDu
#define CCID_ERR_XFR_OVERRUN 0xFCu
#define CCID_ERR_HW_ERROR 0xFBu
#define CCID_ERR_BAD_ATR_TS 0xF8u
#define CCID_ERR_BAD_ATR_TCK 0xF7u
#define CCID_ERR_PROTOCOL_NOT_SUPPORTED 0xF6u
#define CCID_ERR_CLASS_NOT_SUPPORTED 0xF5u
#define CCID_ERR_PROCEDURE_BYTE_CONFLICT 0xF4u
#define CCID_ERR_DEACTIVATED_PROTOCOL 0xF3u
#define CCID_ERR_BUSY_WITH_AUTO_SEQUENCE 0xF2u
#define CCID_ERR_CMD_SLOT_BUSY 0xE0u

/* The class descriptor: 54 bytes, type 0x21 (0xFF on some readers made
 * before rev 1.0, which libccid accepts too). */
#define CCID_CLASS_DESC_LEN 54u
#define CCID_CLASS_DESC_TYPE 0x21u
#define CCID_CLASS_DESC_TYPE_OLD 0xFFu

/* dwFeatures: the exchange level, bits 16-18. */
#define CCID_FEAT_LEVEL_MASK 0x00070000u
#define CCID_FEAT_LEVEL_CHARACTER 0x00000000u
#define CCID_FEAT_LEVEL_TPDU 0x00010000u
#define CCID_FEAT_LEVEL_SHORT_APDU 0x00020000u
#define CCID_FEAT_LEVEL_EXTENDED_APDU 0x00040000u
#define CCID_FEAT_AUTO_ACTIVATION 0x00000004u

/* Largest message the codec handles: a header and a short APDU exchange
 * with room to spare (261-byte command, 258-byte response). */
#define CCID_MSG_MAX (CCID_HEADER_LEN + 512u)

typedef enum {
    CCID_OK = 0,
    CCID_E_BUFFER,     /* the output does not fit */
    CCID_E_SHORT,      /* fewer bytes than a header, or than dwLength says */
    CCID_E_LONG,       /* bytes after the message, or dwLength over a bound */
    CCID_E_TYPE,       /* not the message type that answers the command */
    CCID_E_SEQ,        /* bSeq is not the command's */
    CCID_E_SLOT,       /* bSlot is not the command's */
    CCID_E_STATUS,     /* reserved bits or values in bStatus */
    CCID_E_DESCRIPTOR  /* class descriptor malformed */
} ccid_result;

/* A response from the bulk-in endpoint, pointing into the caller's bytes. */
struct ccid_response {
    uint8_t type;
    uint8_t slot;
    uint8_t seq;
    uint8_t icc_status;  /* CCID_ICC_* */
    uint8_t cmd_status;  /* CCID_CMD_* */
    uint8_t error;       /* bError */
    uint8_t param;       /* bChainParameter or bClockStatus */
    const uint8_t *data; /* dwLength bytes (DataBlock only; else none) */
    size_t data_len;
};

/* What the transport needs from the class descriptor. */
struct ccid_features {
    uint16_t bcd_ccid;
    uint8_t max_slot_index;
    uint8_t voltage_support;
    uint32_t protocols;      /* bit 0 T=0, bit 1 T=1 */
    uint32_t default_clock;  /* dwDefaultClock, kHz */
    uint32_t data_rate;      /* dwDataRate, bps */
    uint32_t max_ifsd;       /* dwMaxIFSD, bytes */
    uint32_t features;       /* dwFeatures */
    uint32_t max_message;    /* dwMaxCCIDMessageLength */
    uint8_t max_busy_slots;  /* bMaxCCIDBusySlots */
};

/* Which exchange level a descriptor announces. */
typedef enum {
    CCID_LEVEL_CHARACTER,
    CCID_LEVEL_TPDU,
    CCID_LEVEL_SHORT_APDU,
    CCID_LEVEL_EXTENDED_APDU
} ccid_level;

/* Encoders: write one command into out[cap]; *len gets its length.
 * CCID_E_BUFFER when cap is too small. */
ccid_result ccid_encode_power_on(uint8_t slot, uint8_t seq, uint8_t voltage,
                                 uint8_t *out, size_t cap, size_t *len);
ccid_result ccid_encode_power_off(uint8_t slot, uint8_t seq, uint8_t *out,
                                  size_t cap, size_t *len);
ccid_result ccid_encode_get_slot_status(uint8_t slot, uint8_t seq,
                                        uint8_t *out, size_t cap,
                                        size_t *len);
/* The bulk half of an abort (CCID 5.3.1, 6.1.13): bSeq must be the one
 * the class request ABORT named. */
ccid_result ccid_encode_abort(uint8_t slot, uint8_t seq, uint8_t *out,
                              size_t cap, size_t *len);
/* bBWI 0, wLevelParameter 0: one whole short APDU per message. */
ccid_result ccid_encode_xfr_block(uint8_t slot, uint8_t seq,
                                  const uint8_t *apdu, size_t apdu_len,
                                  uint8_t *out, size_t cap, size_t *len);

/*
 * Decode one bulk-in message of n bytes, which must be exactly one
 * message: a header, then dwLength bytes (at most max_data), no more.
 * Checks the reserved bStatus bits, and that only a DataBlock carries
 * data.  Does not check type, slot or seq: see ccid_check_response().
 */
ccid_result ccid_decode_response(const uint8_t *msg, size_t n,
                                 size_t max_data, struct ccid_response *r);

/*
 * The response answers the command (type, slot, seq), in this order of
 * checks: seq first, since a frame with another seq is a stale one the
 * transport may skip.
 */
ccid_result ccid_check_response(const struct ccid_response *r,
                                uint8_t want_type, uint8_t slot, uint8_t seq);

/*
 * RDR_to_PC_NotifySlotChange: whether `slot` changed since the last
 * notification and whether a card is in it now.  n counts the whole
 * message (bMessageType and bmSlotICCState, 2 bits per slot).
 */
ccid_result ccid_decode_slot_change(const uint8_t *msg, size_t n,
                                    uint8_t slot, int *present,
                                    int *changed);

/* Parse the 54-byte class descriptor. */
ccid_result ccid_parse_class_descriptor(const uint8_t *d, size_t n,
                                        struct ccid_features *f);

ccid_level ccid_exchange_level(const struct ccid_features *f);

/* Little-endian helpers, bounds already checked by the caller. */
uint32_t ccid_get_le32(const uint8_t *p);
void ccid_put_le32(uint8_t *p, uint32_t v);

#endif
