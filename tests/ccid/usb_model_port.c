/*
 * The USB bus of the test program ocp-ccid-model: the `ocp` command line
 * linked with this file in place of usb_libusb.c (usb_io.h names the two
 * functions), so `-r usb:1209:0ccd` reaches the device model
 * (ccid_device_model.c) and, behind it, the in-process applet.  Never part
 * of a release build: only tests/ccid/CMakeLists.txt links it.
 *
 * OCP_TEST_USB_MODEL names a scenario file; without it the bus is empty
 * (as on a machine with no USB).  Each card lives in an image file, saved
 * after every command, so a card issued by one run is tapped by the next.
 *
 * The scenario is one step per line (# comments).  Steps run one at a time
 * whenever the program looks at the slot: each GetSlotStatus (the waits of
 * `terminal` and `issue --batch`, and --wait), and each attempt to open
 * the reader while it is unplugged.  A look first applies every arming
 * step in a row, then one slot step:
 *
 *   slot steps
 *     insert IMAGE    a card enters (a new blank card is made in IMAGE, on
 *                     the development batch key, when the file is missing)
 *     remove          the card leaves
 *     wait            nothing changes
 *     unplug          the reader goes away (every call: no device)
 *     replug          it comes back (the card, if any, unpowered)
 *     stop            SIGTERM to this process: the operator stops the loop
 *   arming steps (N counts the XfrBlocks from this step on, from 1)
 *     pull N          the card leaves just before XfrBlock N reaches it
 *     lose N          XfrBlock N reaches the card, which leaves before its
 *                     answer gets out
 *     unplug-at N     the reader goes away with XfrBlock N in flight
 *     slow N MS       the next XfrBlock is answered after N time
 *                     extensions, MS milliseconds apart
 *     stall N         from XfrBlock N on the bulk-in endpoint stalls, again
 *                     after each clear (until replug)
 *
 * When the steps run out, nothing changes any more.  A malformed scenario
 * stops the program with exit 2 and the line at fault.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccid_device_model.h"
#include "ocp/inproc.h"
#include "ocp_card.h"
#include "ocp_crypto.h"
#include "ocp_wire.h"
#include "port_test.h"
#include "usb_io.h"

#define MODEL_VID 0x1209u /* pid.codes test range, as the model says */
#define MODEL_PID 0x0CCDu
#define MAX_STEPS 256
#define PATH_MAX_LEN 1024

enum step_kind {
    STEP_INSERT, STEP_REMOVE, STEP_WAIT, STEP_UNPLUG, STEP_REPLUG,
    STEP_STOP, STEP_PULL, STEP_LOSE, STEP_UNPLUG_AT, STEP_SLOW, STEP_STALL
};

struct step {
    enum step_kind kind;
    unsigned n, ms;
    char path[PATH_MAX_LEN];
    int line;
};

static struct {
    int loaded;
    struct ccid_model *m;
    struct usb_io model_io; /* the model's own ops and descriptor */
    struct step steps[MAX_STEPS];
    size_t n_steps, next;
    char image[PATH_MAX_LEN]; /* the card in (or last in) the slot */
    const char *scenario;
} bus;

/* The development batch key (keystore_dev.c, ocp-card): test cards only. */
static const uint8_t dev_batch_key[16] = {0, 1, 2,  3,  4,  5,  6,  7,
                                          8, 9, 10, 11, 12, 13, 14, 15};

static void fatal(int line, const char *what)
{
    fprintf(stderr, "ocp-ccid-model: %s:%d: %s\n", bus.scenario, line, what);
    exit(2);
}

/* ---- card images -------------------------------------------------------- */

static void save_image(void)
{
    uint8_t img[OCP_NVM_SIZE];
    char tmp[PATH_MAX_LEN + 8];
    FILE *f;
    if (bus.m == NULL || bus.m->card == NULL || bus.image[0] == '\0')
        return;
    port_test_get_image(img);
    /* Whole or not at all: a run killed mid-write leaves the old card. */
    snprintf(tmp, sizeof tmp, "%s.tmp", bus.image);
    f = fopen(tmp, "wb");
    if (f == NULL || fwrite(img, 1, sizeof img, f) != sizeof img ||
        fclose(f) != 0 || rename(tmp, bus.image) != 0) {
        fprintf(stderr, "ocp-ccid-model: cannot save %s: %s\n", bus.image,
                strerror(errno));
        exit(2);
    }
}

/* A card id from the image's name, so each image is its own card. */
static void card_id_for(const char *path, uint8_t id[8])
{
    const char *base = strrchr(path, '/');
    uint32_t h = 2166136261u; /* FNV-1a */
    base = base ? base + 1 : path;
    for (; *base; base++)
        h = (h ^ (uint8_t)*base) * 16777619u;
    id[0] = 0x4F;
    id[1] = 0x43;
    id[2] = 0x50;
    id[3] = 0xCC;
    id[4] = (uint8_t)(h >> 24);
    id[5] = (uint8_t)(h >> 16);
    id[6] = (uint8_t)(h >> 8);
    id[7] = (uint8_t)h;
}

static void load_image(const struct step *s)
{
    uint8_t img[OCP_NVM_SIZE];
    ocp_transport *card = NULL;
    FILE *f = fopen(s->path, "rb");

    save_image();
    if (f != NULL) {
        size_t got = fread(img, 1, sizeof img, f);
        fclose(f);
        if (got != sizeof img)
            fatal(s->line, "card image of the wrong size");
        port_test_set_image(img);
    } else {
        uint8_t id[8], div[OCP_DIV_INPUT_LEN], transport[16], seed[16];
        card_id_for(s->path, id);
        memcpy(seed, id, 8);
        memcpy(seed + 8, id, 8);
        port_test_erase();
        ocp_div_input(id, OCP_ROLE_ISSUER, OCP_KEY_VERSION_TRANSPORT, div);
        ocp_an10922(OCP_CIPHER_AES128, dev_batch_key, div, sizeof div,
                    transport);
        if (ocp_card_manufacture(id, transport, seed) != OCP_CARD_OK)
            fatal(s->line, "cannot make a blank card");
    }
    port_test_power_up();
    if (ocp_inproc_open(&card) != OCP_OK)
        fatal(s->line, "the card image does not power up");
    strcpy(bus.image, s->path);
    ccid_model_swap_card(bus.m, card);
    save_image();
}

/* ---- the scenario ------------------------------------------------------- */

static const struct {
    const char *word;
    enum step_kind kind;
    int args; /* 0, 1 (N), 2 (N MS) or -1 (a path) */
} words[] = {
    {"insert", STEP_INSERT, -1}, {"remove", STEP_REMOVE, 0},
    {"wait", STEP_WAIT, 0},      {"unplug", STEP_UNPLUG, 0},
    {"replug", STEP_REPLUG, 0},  {"stop", STEP_STOP, 0},
    {"pull", STEP_PULL, 1},      {"lose", STEP_LOSE, 1},
    {"unplug-at", STEP_UNPLUG_AT, 1}, {"slow", STEP_SLOW, 2},
    {"stall", STEP_STALL, 1},
};

static void parse_line(char *text, int line)
{
    char word[16], arg[PATH_MAX_LEN];
    unsigned n = 0, ms = 0;
    char extra;
    size_t i;
    struct step *s;
    int fields;

    text[strcspn(text, "#\r\n")] = '\0';
    fields = sscanf(text, "%15s", word);
    if (fields != 1)
        return; /* blank or a comment */
    for (i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strcmp(word, words[i].word) == 0)
            break;
    if (i == sizeof words / sizeof words[0])
        fatal(line, "unknown step");
    if (bus.n_steps == MAX_STEPS)
        fatal(line, "too many steps");
    s = &bus.steps[bus.n_steps];
    memset(s, 0, sizeof *s);
    s->kind = words[i].kind;
    s->line = line;
    switch (words[i].args) {
    case -1:
        if (sscanf(text, "%15s %1023s %c", word, arg, &extra) != 2)
            fatal(line, "insert takes one image path");
        strcpy(s->path, arg);
        break;
    case 0:
        if (sscanf(text, "%15s %c", word, &extra) != 1)
            fatal(line, "this step takes no argument");
        break;
    case 1:
        if (sscanf(text, "%15s %u %c", word, &n, &extra) != 2 || n == 0)
            fatal(line, "this step takes a count from 1");
        s->n = n;
        break;
    default:
        if (sscanf(text, "%15s %u %u %c", word, &n, &ms, &extra) != 3)
            fatal(line, "slow takes a count and milliseconds");
        s->n = n;
        s->ms = ms;
        break;
    }
    bus.n_steps++;
}

static void apply(const struct step *s)
{
    struct ccid_model *m = bus.m;
    switch (s->kind) {
    case STEP_INSERT:
        load_image(s);
        ccid_model_insert_card(m);
        break;
    case STEP_REMOVE:
        if (m->present)
            ccid_model_remove_card(m);
        break;
    case STEP_WAIT:
        break;
    case STEP_UNPLUG:
        m->gone = 1;
        break;
    case STEP_REPLUG:
        /* A device that enumerates afresh: nothing queued, nothing
         * halted, the card (still in the slot) unpowered. */
        m->gone = 0;
        m->halted_in = m->halted_out = 0;
        m->fault.stall_in_always = 0;
        m->q_count = 0;
        m->n_count = 0;
        m->powered = 0;
        break;
    case STEP_STOP:
        raise(SIGTERM);
        break;
    case STEP_PULL:
        m->fault.pull_at = m->xfr_blocks + s->n;
        break;
    case STEP_LOSE:
        m->fault.lose_at = m->xfr_blocks + s->n;
        break;
    case STEP_UNPLUG_AT:
        m->fault.vanish_at = m->xfr_blocks + s->n;
        break;
    case STEP_SLOW:
        m->fault.time_extensions = s->n;
        m->fault.extension_ms = s->ms;
        break;
    case STEP_STALL:
        m->fault.stall_at = m->xfr_blocks + s->n;
        break;
    }
}

static int is_arming(enum step_kind k)
{
    return k == STEP_PULL || k == STEP_LOSE || k == STEP_UNPLUG_AT ||
           k == STEP_SLOW || k == STEP_STALL;
}

/* One look at the slot: the arming steps in a row, then one slot step. */
static void tick(void)
{
    while (bus.next < bus.n_steps) {
        const struct step *s = &bus.steps[bus.next++];
        apply(s);
        if (!is_arming(s->kind))
            break;
    }
}

static void on_poll(struct ccid_model *m, void *arg)
{
    (void)m;
    (void)arg;
    tick();
}

static void free_bus(void)
{
    save_image();
    ccid_model_free(bus.m);
    bus.m = NULL;
}

/* Loads the scenario on first use; 0, or -1 when none is named. */
static int load_bus(void)
{
    char text[PATH_MAX_LEN + 32];
    FILE *f;
    int line = 0;

    if (bus.loaded)
        return bus.m != NULL ? 0 : -1;
    bus.loaded = 1;
    bus.scenario = getenv("OCP_TEST_USB_MODEL");
    if (bus.scenario == NULL || bus.scenario[0] == '\0')
        return -1;
    f = fopen(bus.scenario, "r");
    if (f == NULL) {
        fprintf(stderr, "ocp-ccid-model: cannot read %s: %s\n", bus.scenario,
                strerror(errno));
        exit(2);
    }
    while (fgets(text, sizeof text, f) != NULL)
        parse_line(text, ++line);
    fclose(f);
    /* A reader with an interrupt endpoint and an empty slot. */
    bus.m = ccid_model_new(NULL, 0x000204BAu, 1, &bus.model_io);
    if (bus.m == NULL) {
        fprintf(stderr, "ocp-ccid-model: out of memory\n");
        exit(2);
    }
    bus.m->on_poll = on_poll;
    atexit(free_bus);
    return 0;
}

/* ---- usb_io in front of the model: saves the card after each command ---- */

static usb_status port_bulk_out(void *dev, const uint8_t *buf, size_t len,
                                unsigned timeout_ms)
{
    usb_status st = bus.model_io.ops->bulk_out(dev, buf, len, timeout_ms);
    save_image();
    return st;
}

static usb_status port_bulk_in(void *dev, uint8_t *buf, size_t cap,
                               size_t *got, unsigned timeout_ms)
{
    return bus.model_io.ops->bulk_in(dev, buf, cap, got, timeout_ms);
}

static usb_status port_interrupt_in(void *dev, uint8_t *buf, size_t cap,
                                    size_t *got, unsigned timeout_ms)
{
    return bus.model_io.ops->interrupt_in(dev, buf, cap, got, timeout_ms);
}

static usb_status port_clear_halt(void *dev, enum usb_endpoint ep)
{
    return bus.model_io.ops->clear_halt(dev, ep);
}

static usb_status port_abort_request(void *dev, uint8_t slot, uint8_t seq,
                                     unsigned timeout_ms)
{
    return bus.model_io.ops->abort_request(dev, slot, seq, timeout_ms);
}

static void port_close(void *dev)
{
    (void)dev; /* the bus keeps the model for the next open */
}

static const struct usb_io_ops port_ops = {
    port_bulk_out,   port_bulk_in,       port_interrupt_in,
    port_clear_halt, port_abort_request, port_close,
};

usb_status usb_libusb_list(struct usb_ccid_info *out, size_t cap, size_t *n)
{
    if (n == NULL)
        return USB_E_IO;
    *n = 0;
    if (load_bus() != 0)
        return USB_E_NO_BUS;
    if (bus.m->gone)
        return USB_OK;
    if (cap > 0 && out != NULL)
        out[0] = bus.model_io.info;
    *n = 1;
    return USB_OK;
}

usb_status usb_libusb_open(uint16_t vid, uint16_t pid, unsigned index,
                           struct usb_io *io)
{
    memset(io, 0, sizeof *io);
    if (load_bus() != 0)
        return USB_E_NO_BUS;
    if (bus.m->gone)
        tick(); /* looking for an unplugged reader is a look too */
    if (bus.m->gone || vid != MODEL_VID || pid != MODEL_PID || index != 0)
        return USB_E_NOT_FOUND;
    /* A fresh open starts a fresh interrupt transfer: notifications sent
     * while nobody listened are gone, as with libusb. */
    bus.m->n_count = 0;
    io->ops = &port_ops;
    io->dev = bus.m;
    io->info = bus.model_io.info;
    return USB_OK;
}
