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
    unsigned every_extensions; /* this many before every XfrBlock's
                                  answer, until changed */
    unsigned extension_ms;    /* each time extension (and the answer after
                                 them) comes this long after the frame
                                 before it: a card that is slow for real */
    unsigned pull_at;         /* XfrBlock number (m->xfr_blocks counts
                                 them) the card is pulled before (0: no) */
    unsigned lose_at;         /* XfrBlock number the card runs, and is
                                 pulled before it answers (0: no) */
    unsigned vanish_at;       /* XfrBlock number the reader is unplugged
                                 at, before answering (0: no) */
    unsigned stall_at;        /* XfrBlock number from which bulk in halts
                                 for good, as stall_in_always (0: no) */
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
    int abort_unsupported;    /* the next PC_to_RDR_Abort is failed with
                                 bError 0 (not supported) */
};

struct ccid_model;
/* Called when a GetSlotStatus arrives, before it is answered: a scripted
 * test moves its scenario on there (tests/ccid/usb_model_port.c). */
typedef void (*ccid_model_poll_hook)(struct ccid_model *m, void *arg);

#define CCID_MODEL_QUEUE 16u

struct ccid_model_frame {
    uint8_t bytes[600];
    size_t len;
    unsigned extensions_before; /* time extensions still to send first */
    unsigned extension_ms;      /* their spacing */
};

struct ccid_model {
    ocp_transport *card; /* owned: closed with the model (may be NULL
                            while no card was ever inserted) */
    int present;         /* a card in the slot */
    int powered;
    int gone;            /* unplugged */
    int halted_in, halted_out;
    struct ccid_model_faults fault;
    /* Counters the tests read. */
    unsigned commands, xfr_blocks, power_ons, clear_halts, aborts,
        abort_requests;
    unsigned long extensions_sent;
    /* Answers waiting on the bulk-in endpoint, and notifications on the
     * interrupt endpoint. */
    struct ccid_model_frame queue[CCID_MODEL_QUEUE];
    unsigned q_head, q_count;
    unsigned long long last_frame_ms; /* when the last frame was sent or
                                         the last command came */
    int abort_armed;      /* the class request ABORT came for abort_seq */
    uint8_t abort_seq;
    uint8_t xfr_seq;      /* the last XfrBlock's bSeq */
    int in_xfr;           /* answering an XfrBlock (time extensions go
                             before that answer only) */
    ccid_model_poll_hook on_poll;
    void *on_poll_arg;
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

/* Another card enters the slot (card taken over; the old one closed). */
void ccid_model_swap_card(struct ccid_model *m, ocp_transport *card);

/* The card leaves the slot (notified on the interrupt endpoint). */
void ccid_model_remove_card(struct ccid_model *m);
/* A card (the same one) comes back (notified). */
void ccid_model_insert_card(struct ccid_model *m);

/* The model stays valid after the transport closed the device until this. */
void ccid_model_free(struct ccid_model *m);

#endif
