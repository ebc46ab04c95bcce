/*
 * The card flows and the error paths over the USB CCID transport, with no
 * hardware: the transport runs over a device model (ccid_device_model.c)
 * that answers like a short-APDU reader and passes the APDUs to the
 * in-process applet.  Every error path asserts the exact libocp status.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "card_fixture.h"
#include "ccid_device_model.h"
#include "ccid_transport.h"
#include "ocp/ccid.h"
#include "port_test.h"

/* dwFeatures of a typical short-APDU reader (auto ATR parameters, voltage,
 * clock, baud rate, PPS, IFSD; short APDU level). */
#define FEAT_SHORT_APDU 0x000204BAu
#define FEAT_TPDU 0x000104BAu
#define FEAT_CHARACTER 0x000004BAu

struct env {
    struct card_fixture f;
    struct ccid_model *m;
};

static struct env env;

/* A blank card behind a model reader, reached through the CCID
 * transport, each command allowed deadline_ms. */
static int open_env(uint32_t features, int with_interrupt,
                    unsigned deadline_ms, int issue)
{
    struct usb_io io;
    struct ccid_options opt;
    ocp_transport *t = NULL;

    memset(&env, 0, sizeof env);
    if (fixture_blank(&env.f) != 0)
        return -1;
    env.m = ccid_model_new(env.f.t, features, with_interrupt, &io);
    if (env.m == NULL)
        return -1;
    env.f.t = NULL; /* the model owns the card now */
    memset(&opt, 0, sizeof opt);
    opt.deadline_ms = deadline_ms;
    if (ccid_transport_open(&io, &opt, &t) != OCP_OK)
        return -1;
    env.f.t = t;
    if (issue && fixture_issue(&env.f, OCP_SUITE_AES) != 0)
        return -1;
    return 0;
}

/* The same, with a reader whose messages hold at most `max_message`
 * bytes (dwMaxCCIDMessageLength). */
static int setup_small_messages(void **state)
{
    struct usb_io io;
    ocp_transport *t = NULL;
    (void)state;
    memset(&env, 0, sizeof env);
    if (fixture_blank(&env.f) != 0)
        return -1;
    env.m = ccid_model_new(env.f.t, FEAT_SHORT_APDU, 1, &io);
    if (env.m == NULL)
        return -1;
    env.f.t = NULL;
    io.info.class_desc[44] = 30; /* 30 bytes: APDUs up to 20 */
    io.info.class_desc[45] = 0;
    if (ccid_transport_open(&io, NULL, &t) != OCP_OK)
        return -1;
    env.f.t = t;
    return 0;
}

static int setup_issued(void **state)
{
    (void)state;
    return open_env(FEAT_SHORT_APDU, 1, 5000, 1);
}

static int setup_blank(void **state)
{
    (void)state;
    return open_env(FEAT_SHORT_APDU, 1, 1000, 0);
}

static int setup_no_interrupt(void **state)
{
    (void)state;
    return open_env(FEAT_SHORT_APDU, 0, 5000, 1);
}

static int teardown(void **state)
{
    (void)state;
    fixture_free(&env.f);
    ccid_model_free(env.m);
    memset(&env, 0, sizeof env);
    return 0;
}

static ocp_status select_card(void)
{
    ocp_select_info info;
    return ocp_select(env.f.t, &info);
}

/* ---- the card flows ---------------------------------------------------- */

static void test_flows(void **state)
{
    ocp_session *s;
    ocp_tx_result tx, again;
    ocp_log_record log[40];
    ocp_entitlement ents[16];
    ocp_holder h;
    size_t n;
    int left = -1;
    uint8_t atr[33];
    (void)state;

    assert_int_equal(ccid_transport_atr(env.f.t, atr, sizeof atr), 8);
    assert_int_equal(atr[0], 0x3B);

    /* Transit: a ride on the pass. */
    assert_int_equal(fixture_session(&env.f, OCP_ROLE_TRANSIT, &s), OCP_OK);
    assert_int_equal(ocp_consume(s, SVC_BUS, 1, 1, &tx), OCP_OK);
    ocp_session_close(s);

    /* Medical: two refills a month, the third refused. */
    assert_int_equal(fixture_session(&env.f, OCP_ROLE_MEDICAL, &s), OCP_OK);
    n = 16;
    assert_int_equal(ocp_read_entitlements(s, ents, &n), OCP_OK);
    assert_int_equal(n, 1);
    assert_int_equal(ocp_read_holder(s, &h), OCP_OK);
    assert_int_equal(h.category, fixture_holder.category);
    assert_int_equal(ocp_consume(s, SVC_REFILL, 1, 1, &tx), OCP_OK);
    assert_int_equal(ocp_consume(s, SVC_REFILL, 1, 2, &tx), OCP_OK);
    assert_int_equal(tx.remaining, 0);
    assert_int_equal(ocp_consume(s, SVC_REFILL, 1, 3, &tx),
                     OCP_E_NOT_ENTITLED);
    ocp_session_close(s);

    /* Assistive devices: a debit, and its retry that debits nothing. */
    assert_int_equal(fixture_session(&env.f, OCP_ROLE_ASSIST, &s), OCP_OK);
    assert_int_equal(ocp_consume(s, SVC_DEVICE, 1000, 42, &tx), OCP_OK);
    assert_int_equal(ocp_consume(s, SVC_DEVICE, 1000, 42, &again), OCP_OK);
    assert_int_equal(again.flags, OCP_TXF_REPEAT);
    assert_int_equal(again.remaining, tx.remaining);
    assert_memory_equal(again.cert, tx.cert, 8);
    ocp_session_close(s);

    /* Rehab: the entitlement needs the PIN; a wrong one costs a try. */
    assert_int_equal(fixture_session(&env.f, OCP_ROLE_REHAB, &s), OCP_OK);
    assert_int_equal(ocp_verify_pin(s, "1111", &left), OCP_E_PIN_WRONG);
    assert_int_equal(left, 2);
    assert_int_equal(ocp_verify_pin(s, "2468", &left), OCP_OK);
    assert_int_equal(ocp_consume(s, SVC_REHAB, 1, 1, &tx), OCP_OK);
    assert_int_equal(tx.remaining, 9);
    ocp_session_close(s);

    /* The holder at the kiosk reads the whole log, newest first. */
    assert_int_equal(fixture_session(&env.f, OCP_ROLE_KIOSK, &s), OCP_OK);
    assert_int_equal(ocp_verify_pin(s, "2468", NULL), OCP_OK);
    n = 40;
    assert_int_equal(ocp_read_log(s, log, &n), OCP_OK);
    assert_int_equal(n, 5);
    assert_int_equal(log[0].service, SVC_REHAB);
    assert_int_equal(log[4].service, SVC_BUS);
    ocp_session_close(s);

    /* Every APDU went through XfrBlock, one command per message. */
    assert_true(env.m->xfr_blocks > 20);
    assert_int_equal(env.m->power_ons, 1);
}

/* ---- the reader's answers ---------------------------------------------- */

static long long ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (long long)(t1.tv_sec - t0->tv_sec) * 1000 +
           (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Time extensions have no count limit: 1000 in a row are served, and a
 * card that is slow for real (20 extensions 30 ms apart) is waited for
 * while it stays within the deadline (1000 ms in setup_blank). */
static void test_time_extensions(void **state)
{
    struct timespec t0;
    (void)state;
    env.m->fault.time_extensions = 1000;
    assert_int_equal(select_card(), OCP_OK);
    assert_int_equal(env.m->extensions_sent, 1000);

    env.m->fault.time_extensions = 20;
    env.m->fault.extension_ms = 30;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(select_card(), OCP_OK);
    assert_true(ms_since(&t0) >= 20 * 30);
    assert_int_equal(env.m->extensions_sent, 1020);
    assert_int_equal(env.m->aborts, 0);
}

/* Past the deadline: OCP_E_TIMEOUT when it passes, not after a count; the
 * command aborted (the class request, then PC_to_RDR_Abort with the same
 * bSeq); the aborted command's late frames skipped; the next command
 * answered at once. */
static void test_time_extensions_past_deadline(void **state)
{
    struct timespec t0;
    long long took;
    unsigned commands;
    (void)state;
    env.m->fault.time_extensions = 10000;
    env.m->fault.extension_ms = 50;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(select_card(), OCP_E_TIMEOUT);
    took = ms_since(&t0);
    assert_true(took >= 1000);
    assert_true(took < 3000);
    assert_non_null(strstr(ocp_ccid_last_error(), "more than 1000 ms"));
    assert_non_null(strstr(ocp_ccid_last_error(), "aborted"));
    assert_int_equal(env.m->abort_requests, 1);
    assert_int_equal(env.m->aborts, 1);
    assert_int_equal(env.m->q_count, 0);
    env.m->fault.extension_ms = 0;
    commands = env.m->commands;
    assert_int_equal(select_card(), OCP_OK);
    assert_int_equal(env.m->commands, commands + 1);
}

/* A reader that does not know the abort (it fails PC_to_RDR_Abort with
 * bError 0, "command not supported"): the timeout stands and says the
 * abort was not confirmed; the next command still goes through. */
static void test_abort_not_supported(void **state)
{
    (void)state;
    env.m->fault.mute = 1;
    env.m->fault.abort_unsupported = 1;
    assert_int_equal(select_card(), OCP_E_TIMEOUT);
    assert_non_null(strstr(ocp_ccid_last_error(),
                           "did not confirm the abort"));
    assert_int_equal(env.m->abort_requests, 1);
    assert_int_equal(env.m->aborts, 0);
    assert_int_equal(select_card(), OCP_OK);
}

static void test_time_extensions_in_a_session(void **state)
{
    ocp_session *s;
    ocp_tx_result tx;
    (void)state;
    assert_int_equal(fixture_session(&env.f, OCP_ROLE_TRANSIT, &s), OCP_OK);
    env.m->fault.time_extensions = 10;
    assert_int_equal(ocp_consume(s, SVC_BUS, 1, 7, &tx), OCP_OK);
    ocp_session_close(s);
}

static void test_stale_frames_skipped(void **state)
{
    (void)state;
    env.m->fault.stale_frames = 2;
    assert_int_equal(select_card(), OCP_OK);
}

static void test_wrong_seq(void **state)
{
    (void)state;
    env.m->fault.wrong_seq = 1;
    assert_int_equal(select_card(), OCP_E_BAD_RESPONSE);
    assert_non_null(strstr(ocp_ccid_last_error(), "sequence"));
    /* What is left of them is skipped; the next command goes through. */
    assert_int_equal(select_card(), OCP_OK);
}

struct malformed_case {
    const char *name;
    size_t offset; /* of the int field in struct ccid_model_faults */
    ocp_status want;
};

static void test_malformed_answers(void **state)
{
    static const struct malformed_case cases[] = {
        {"wrong slot", offsetof(struct ccid_model_faults, wrong_slot),
         OCP_E_BAD_RESPONSE},
        {"wrong type", offsetof(struct ccid_model_faults, wrong_type),
         OCP_E_BAD_RESPONSE},
        {"short read", offsetof(struct ccid_model_faults, short_read),
         OCP_E_BAD_RESPONSE},
        {"length overflow",
         offsetof(struct ccid_model_faults, length_overflow),
         OCP_E_BAD_RESPONSE},
        {"bStatus RFU bits", offsetof(struct ccid_model_faults, bad_status),
         OCP_E_BAD_RESPONSE},
        {"chained response", offsetof(struct ccid_model_faults, chained),
         OCP_E_BAD_RESPONSE},
        {"no answer", offsetof(struct ccid_model_faults, mute),
         OCP_E_TIMEOUT},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int *flag = (int *)((char *)&env.m->fault + cases[i].offset);
        *flag = 1;
        print_message("  %s\n", cases[i].name);
        assert_int_equal(select_card(), cases[i].want);
        assert_int_equal(*flag, 0);
        /* The transport is still usable afterwards. */
        assert_int_equal(select_card(), OCP_OK);
    }
}

static void test_reader_errors(void **state)
{
    static const struct {
        uint8_t error;
        ocp_status want;
    } cases[] = {
        {0xFE, OCP_E_TIMEOUT},   /* ICC_MUTE */
        {0xFB, OCP_E_TRANSPORT}, /* HW_ERROR */
        {0xE0, OCP_E_TRANSPORT}, /* CMD_SLOT_BUSY */
        {0xFD, OCP_E_TRANSPORT}, /* XFR_PARITY_ERROR */
        {0x05, OCP_E_TRANSPORT}, /* bad parameter at offset 5 */
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        env.m->fault.error = cases[i].error;
        assert_int_equal(select_card(), cases[i].want);
        assert_int_equal(select_card(), OCP_OK);
    }
}

/* ---- the USB endpoints ------------------------------------------------- */

static void test_stall_cleared_once(void **state)
{
    (void)state;
    env.m->fault.stall_in = 1;
    assert_int_equal(select_card(), OCP_OK);
    assert_int_equal(env.m->clear_halts, 1);
    env.m->fault.stall_out = 1;
    assert_int_equal(select_card(), OCP_OK);
    assert_int_equal(env.m->clear_halts, 2);
}

static void test_stall_for_good(void **state)
{
    (void)state;
    env.m->fault.stall_in_always = 1;
    assert_int_equal(select_card(), OCP_E_TRANSPORT);
    assert_non_null(strstr(ocp_ccid_last_error(), "stalled"));
    assert_int_equal(env.m->clear_halts, 1); /* once, not in a loop */
}

static void test_vanished_device(void **state)
{
    unsigned commands;
    (void)state;
    env.m->fault.vanish = 1;
    assert_int_equal(select_card(), OCP_E_NO_READER);
    assert_non_null(strstr(ocp_ccid_last_error(), "unplugged"));
    commands = env.m->commands;
    /* Every later call fails at once, without touching the bus. */
    assert_int_equal(select_card(), OCP_E_NO_READER);
    assert_int_equal(env.f.t->ops->reset(env.f.t), OCP_E_NO_READER);
    assert_int_equal(env.m->commands, commands);
}

/* ---- the card ---------------------------------------------------------- */

static void test_removal_notified(void **state)
{
    ocp_session *s;
    ocp_tx_result tx;
    unsigned xfr;
    (void)state;
    assert_int_equal(fixture_session(&env.f, OCP_ROLE_TRANSIT, &s), OCP_OK);
    ccid_model_remove_card(env.m);
    xfr = env.m->xfr_blocks;
    assert_int_equal(ocp_consume(s, SVC_BUS, 1, 1, &tx), OCP_E_CARD_REMOVED);
    /* Seen on the interrupt endpoint: no command was sent. */
    assert_int_equal(env.m->xfr_blocks, xfr);
    ocp_session_close(s);

    /* Back in the slot: still removed until the terminal resets, since
     * the card that came back may be another one. */
    ccid_model_insert_card(env.m);
    assert_int_equal(select_card(), OCP_E_CARD_REMOVED);
    assert_int_equal(env.f.t->ops->reset(env.f.t), OCP_OK);
    assert_int_equal(fixture_session(&env.f, OCP_ROLE_TRANSIT, &s), OCP_OK);
    assert_int_equal(ocp_consume(s, SVC_BUS, 1, 2, &tx), OCP_OK);
    ocp_session_close(s);
}

static void test_removal_without_interrupt(void **state)
{
    ocp_session *s;
    ocp_tx_result tx;
    (void)state;
    assert_int_equal(fixture_session(&env.f, OCP_ROLE_TRANSIT, &s), OCP_OK);
    ccid_model_remove_card(env.m); /* nowhere to notify: bStatus says it */
    assert_int_equal(ocp_consume(s, SVC_BUS, 1, 1, &tx), OCP_E_CARD_REMOVED);
    ocp_session_close(s);
    assert_int_equal(env.f.t->ops->reset(env.f.t), OCP_E_NO_CARD);
    ccid_model_insert_card(env.m);
    assert_int_equal(env.f.t->ops->reset(env.f.t), OCP_OK);
    assert_int_equal(select_card(), OCP_OK);
}

static void test_card_unpowered(void **state)
{
    (void)state;
    env.m->powered = 0; /* the reader deactivated it behind our back */
    assert_int_equal(select_card(), OCP_E_CARD_RESET);
    assert_int_equal(select_card(), OCP_E_CARD_RESET);
    assert_int_equal(env.f.t->ops->reset(env.f.t), OCP_OK);
    assert_int_equal(select_card(), OCP_OK);
}

/* A power cut in the test port is the card torn from the slot in the
 * middle of VERIFY: the reader says the slot is empty, and the try that
 * was counted before the cut stays counted. */
static void test_pin_try_survives_tearing(void **state)
{
    ocp_session *s;
    ocp_card_status_info st;
    int left;
    (void)state;
    assert_int_equal(fixture_session(&env.f, OCP_ROLE_KIOSK, &s), OCP_OK);
    port_test_arm_cut(2, 0); /* the decrement commits; the restore is cut */
    assert_int_equal(ocp_verify_pin(s, "2468", &left), OCP_E_CARD_REMOVED);
    ocp_session_close(s);
    assert_int_equal(select_card(), OCP_E_CARD_REMOVED);
    port_test_power_up();
    ccid_model_insert_card(env.m);
    assert_int_equal(env.f.t->ops->reset(env.f.t), OCP_OK);
    assert_int_equal(fixture_session(&env.f, OCP_ROLE_KIOSK, &s), OCP_OK);
    assert_int_equal(ocp_read_status(s, &st), OCP_OK);
    assert_int_equal(st.pin_tries, 2);
    ocp_session_close(s);
}

/* The caller's buffer decides: too small is OCP_E_BUFFER with the size
 * needed, and the transport goes on. */
static void test_response_buffer_too_small(void **state)
{
    static const uint8_t select[] = {0x00, 0xA4, 0x04, 0x00, 0x05, 0xF0,
                                     0x4F, 0x43, 0x50, 0x01, 0x00};
    uint8_t r[OCP_RAPDU_MAX];
    size_t rlen = 2;
    (void)state;
    assert_int_equal(env.f.t->ops->transmit(env.f.t, select, sizeof select,
                                            r, &rlen),
                     OCP_E_BUFFER);
    assert_true(rlen > 2);
    assert_int_equal(select_card(), OCP_OK);
}

/* An APDU longer than the reader's messages is refused before sending. */
static void test_message_too_small_for_apdu(void **state)
{
    uint8_t apdu[40] = {0x80, 0xCA, 0x00, 0x00, 35};
    uint8_t r[OCP_RAPDU_MAX];
    size_t rlen = sizeof r;
    unsigned commands;
    (void)state;
    commands = env.m->commands;
    assert_int_equal(env.f.t->ops->transmit(env.f.t, apdu, sizeof apdu, r,
                                            &rlen),
                     OCP_E_TRANSPORT);
    assert_non_null(strstr(ocp_ccid_last_error(), "dwMaxCCIDMessageLength"));
    assert_int_equal(env.m->commands, commands);
}

/* GetSlotStatus, for the validator loop's waits (ocp_ccid_wait_card). */
static void test_slot_status(void **state)
{
    struct usb_io io;
    struct ccid_options opt;
    struct card_fixture f;
    struct ccid_model *m;
    uint8_t seq = 0x10;
    int present = -1;
    (void)state;

    assert_int_equal(fixture_blank(&f), 0);
    m = ccid_model_new(f.t, FEAT_SHORT_APDU, 1, &io);
    assert_non_null(m);
    f.t = NULL;
    memset(&opt, 0, sizeof opt);
    opt.deadline_ms = 100;
    assert_int_equal(ccid_slot_present(&io, &opt, &seq, &present), OCP_OK);
    assert_int_equal(present, 1);
    assert_int_equal(seq, 0x11);
    assert_int_equal(m->last_seq, 0x10);
    ccid_model_remove_card(m);
    assert_int_equal(ccid_slot_present(&io, &opt, &seq, &present), OCP_OK);
    assert_int_equal(present, 0);
    m->fault.wrong_slot = 1;
    assert_int_equal(ccid_slot_present(&io, &opt, &seq, &present),
                     OCP_E_BAD_RESPONSE);
    m->fault.vanish = 1;
    assert_int_equal(ccid_slot_present(&io, &opt, &seq, &present),
                     OCP_E_NO_READER);
    fixture_free(&f);
    ccid_model_free(m);

    /* Through libusb: no such reader here, at once. */
    assert_int_equal(ocp_ccid_wait_card("usb:ffff:fffe", 1000),
                     OCP_E_NO_READER);
    assert_int_equal(ocp_ccid_wait_removal("usb:ffff:fffe", -1),
                     OCP_E_NO_READER);
    assert_int_equal(ocp_ccid_wait_card("usb:", 0), OCP_E_ARGS);
}

/* ---- opening ------------------------------------------------------------ */

static void open_fails(uint32_t features, int present, ocp_status want,
                       const char *why)
{
    struct card_fixture f;
    struct usb_io io;
    struct ccid_model *m;
    ocp_transport *t = NULL;

    assert_int_equal(fixture_blank(&f), 0);
    m = ccid_model_new(f.t, features, 1, &io);
    assert_non_null(m);
    f.t = NULL;
    m->present = present;
    assert_int_equal(ccid_transport_open(&io, NULL, &t), want);
    assert_null(t);
    assert_non_null(strstr(ocp_ccid_last_error(), why));
    fixture_free(&f);
    ccid_model_free(m);
}

static void test_open_refused(void **state)
{
    (void)state;
    open_fails(FEAT_TPDU, 1, OCP_E_NO_READER, "reader needs TPDU, not "
                                              "supported");
    open_fails(FEAT_CHARACTER, 1, OCP_E_NO_READER, "character level");
    open_fails(FEAT_SHORT_APDU, 0, OCP_E_NO_CARD, "no card");
}

/* libusb on a machine without that reader (CI has no USB at all): a
 * plain error, at once. */
static void test_no_such_usb_reader(void **state)
{
    ocp_transport *t = NULL;
    ocp_ccid_reader r[4];
    size_t n = 99;
    (void)state;
    assert_int_equal(ocp_ccid_open("usb:ffff:fffe", &t), OCP_E_NO_READER);
    assert_null(t);
    assert_non_null(strstr(ocp_ccid_last_error(), "no USB CCID reader"));
    assert_int_equal(ocp_ccid_list(r, 4, &n), OCP_OK);
    assert_true(n != 99);
    assert_int_equal(ocp_ccid_open("usb:12345:1", &t), OCP_E_ARGS);
}

static void test_parse_spec(void **state)
{
    static const struct {
        const char *spec;
        int ok;
        uint16_t vid, pid;
        unsigned index;
    } cases[] = {
        {"usb:08e6:3437", 1, 0x08E6, 0x3437, 0},
        {"usb:08E6:3437:2", 1, 0x08E6, 0x3437, 2},
        {"076b:3021", 1, 0x076B, 0x3021, 0},
        {"usb:1:2:0", 1, 1, 2, 0},
        {"usb:", 0, 0, 0, 0},
        {"usb:08e6", 0, 0, 0, 0},
        {"usb:08e6:", 0, 0, 0, 0},
        {"usb:08e6:3437:", 0, 0, 0, 0},
        {"usb:08e6:3437:x", 0, 0, 0, 0},
        {"usb:08e6:3437:1000", 0, 0, 0, 0},
        {"usb:108e6:3437", 0, 0, 0, 0},
        {"usb:-8e6:3437", 0, 0, 0, 0},
        {"usb: 8e6:3437", 0, 0, 0, 0},
        {"usb:08e6:3437:1:2", 0, 0, 0, 0},
        {"Virtual PCD 00 00", 0, 0, 0, 0},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint16_t vid = 0, pid = 0;
        unsigned index = 99;
        int rc = ocp_ccid_parse_spec(cases[i].spec, &vid, &pid, &index);
        print_message("  %s\n", cases[i].spec);
        assert_int_equal(rc, cases[i].ok ? 0 : -1);
        if (cases[i].ok) {
            assert_int_equal(vid, cases[i].vid);
            assert_int_equal(pid, cases[i].pid);
            assert_int_equal(index, cases[i].index);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_flows, setup_issued, teardown),
        cmocka_unit_test_setup_teardown(test_time_extensions, setup_blank,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_time_extensions_past_deadline,
                                        setup_blank, teardown),
        cmocka_unit_test_setup_teardown(test_abort_not_supported, setup_blank,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_time_extensions_in_a_session,
                                        setup_issued, teardown),
        cmocka_unit_test_setup_teardown(test_stale_frames_skipped,
                                        setup_blank, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_seq, setup_blank,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_malformed_answers, setup_blank,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reader_errors, setup_blank,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stall_cleared_once, setup_blank,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stall_for_good, setup_blank,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_vanished_device, setup_blank,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_removal_notified, setup_issued,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_removal_without_interrupt,
                                        setup_no_interrupt, teardown),
        cmocka_unit_test_setup_teardown(test_card_unpowered, setup_blank,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pin_try_survives_tearing,
                                        setup_issued, teardown),
        cmocka_unit_test_setup_teardown(test_response_buffer_too_small,
                                        setup_blank, teardown),
        cmocka_unit_test_setup_teardown(test_message_too_small_for_apdu,
                                        setup_small_messages, teardown),
        cmocka_unit_test(test_slot_status),
        cmocka_unit_test(test_open_refused),
        cmocka_unit_test(test_no_such_usb_reader),
        cmocka_unit_test(test_parse_spec),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
