/*
 * A USB CCID reader in software, plugged in under usb_io (hostlib/src/
 * usb_io.h): it decodes the commands the transport sends, answers the way
 * a short-APDU-level reader does, and passes each APDU to a card behind
 * an ocp_transport (the in-process applet).  Faults are scripted through
 * the `fault` fields; each one-shot fault is consumed when it fires.
 *
 * The model decodes and encodes the CCID bytes itself, from the layouts
 * of the specification, not through ccid_codec.c: the tests then check
 * the codec against a second reading of the specification.
 */
#ifndef OCP_TEST_CCID_DEVICE_MODEL_H
#define OCP_TEST_CCID_DEVICE_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "ocp/transport.h"
#include "usb_io.h"

struct ccid_model_faults {
    unsigned time_extensions; /* this many before the next answer */
    unsigned stale_frames;    /* answers with an old bSeq before it */
    int wrong_seq;            /* every answer to the next command has a
                                 foreign bSeq (and there are many) */
    int wrong_slot;           /* the next answer names slot 1 */
    int wrong_type;           /* the next answer is a SlotStatus, OK */
    int short_read;           /* the next answer loses its last 3 bytes */
    int length_overflow;      /* the next answer claims 0xFFFFFFF0 bytes */
    int bad_status;           /* the next answer has bStatus RFU bits */
    int error;                /* next XfrBlock fails with this bError */
    int chained;              /* next DataBlock has bChainParameter 1 */
    int stall_in;             /* bulk in halts (once, until cleared) */
    int stall_in_always;      /* bulk in halts again after each clear */
    int stall_out;            /* bulk out halts (once, until cleared) */
    int vanish;               /* after the next command: device gone */
    int mute;                 /* the next XfrBlock gets no answer */
};

struct ccid_model {
    ocp_transport *card; /* owned: closed with the model */
    int present;         /* a card in the slot */
    int powered;
    int gone;            /* unplugged */
    int halted_in, halted_out;
    struct ccid_model_faults fault;
    /* Counters the tests read. */
    unsigned commands, xfr_blocks, power_ons, clear_halts;
    /* Answers waiting on the bulk-in endpoint, and notifications on the
     * interrupt endpoint. */
    uint8_t queue[16][600];
    size_t queue_len[16];
    unsigned q_head, q_count;
    uint8_t notify[8][4];
    size_t notify_len[8];
    unsigned n_head, n_count;
    uint8_t last_seq;
};

/*
 * A model reader around `card` (taken over), with a class descriptor whose
 * dwFeatures are `features` (e.g. 0x000204BA for a short-APDU reader);
 * io->ops/dev/info filled for ccid_transport_open().  with_interrupt 0:
 * the reader has no interrupt endpoint.
 */
struct ccid_model *ccid_model_new(ocp_transport *card, uint32_t features,
                                  int with_interrupt, struct usb_io *io);

/* The card leaves the slot (notified on the interrupt endpoint). */
void ccid_model_remove_card(struct ccid_model *m);
/* A card (the same one) comes back (notified). */
void ccid_model_insert_card(struct ccid_model *m);

/* The model stays valid after the transport closed the device until this. */
void ccid_model_free(struct ccid_model *m);

#endif
