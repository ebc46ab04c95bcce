/*
 * usb_io over libusb-1.0 (usb_io.h).
 *
 * Each opened reader has its own libusb context, so two transports in two
 * threads do not share an event loop.  The interrupt endpoint is read with
 * one asynchronous transfer kept pending all the time: looking at it
 * "without waiting" is then one non-blocking turn of the event loop, not a
 * 1 ms synchronous read before every APDU.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <libusb.h>

#include "usb_io.h"

#define CCID_CLASS 0x0Bu
#define INTR_MAX 16

struct usb_dev {
    libusb_context *ctx;
    libusb_device_handle *h;
    uint8_t iface;
    uint8_t ep_in, ep_out, ep_intr;
    struct libusb_transfer *intr;
    uint8_t intr_buf[INTR_MAX];
    int intr_pending; /* submitted, callback not yet run */
    int intr_ready;   /* callback ran: status and data wait to be taken */
    enum libusb_transfer_status intr_status;
    int intr_len;
};

static usb_status map_err(int rc)
{
    switch (rc) {
    case LIBUSB_SUCCESS:
        return USB_OK;
    case LIBUSB_ERROR_TIMEOUT:
        return USB_E_TIMEOUT;
    case LIBUSB_ERROR_PIPE:
        return USB_E_STALL;
    case LIBUSB_ERROR_NO_DEVICE:
        return USB_E_NO_DEVICE;
    case LIBUSB_ERROR_ACCESS:
        return USB_E_ACCESS;
    case LIBUSB_ERROR_NOT_FOUND:
        return USB_E_NOT_FOUND;
    case LIBUSB_ERROR_BUSY:
        return USB_E_BUSY;
    case LIBUSB_ERROR_NO_MEM:
        return USB_E_NOMEM;
    default:
        return USB_E_IO;
    }
}

/* The class descriptor sits in the interface's extra bytes, or on some
 * readers after the last endpoint's. */
static void find_class_desc(const struct libusb_interface_descriptor *d,
                            struct usb_ccid_info *info)
{
    const unsigned char *x = d->extra;
    int n = d->extra_length;
    if (n < 54 && d->bNumEndpoints > 0) {
        x = d->endpoint[d->bNumEndpoints - 1].extra;
        n = d->endpoint[d->bNumEndpoints - 1].extra_length;
    }
    while (x != NULL && n >= 2 && x[0] >= 2 && x[0] <= n) {
        if (x[0] == 54 && (x[1] == 0x21 || x[1] == 0xFF)) {
            memcpy(info->class_desc, x, 54);
            info->class_desc_len = 54;
            return;
        }
        n -= x[0];
        x += x[0];
    }
}

static void fill_endpoints(const struct libusb_interface_descriptor *d,
                           struct usb_ccid_info *info)
{
    uint8_t e;
    for (e = 0; e < d->bNumEndpoints; e++) {
        const struct libusb_endpoint_descriptor *ep = &d->endpoint[e];
        int in = (ep->bEndpointAddress & LIBUSB_ENDPOINT_IN) != 0;
        switch (ep->bmAttributes & LIBUSB_TRANSFER_TYPE_MASK) {
        case LIBUSB_TRANSFER_TYPE_BULK:
            if (in)
                info->ep_bulk_in = ep->bEndpointAddress;
            else
                info->ep_bulk_out = ep->bEndpointAddress;
            break;
        case LIBUSB_TRANSFER_TYPE_INTERRUPT:
            if (in)
                info->ep_interrupt = ep->bEndpointAddress;
            break;
        default:
            break;
        }
    }
}

/*
 * Walk the bus: each CCID interface found goes to visit(); stops when
 * visit returns non-zero (and then *dev_out holds that device, with a
 * reference).
 */
static usb_status walk(libusb_context *ctx, struct usb_ccid_info *out,
                       size_t cap, size_t *n, uint16_t vid, uint16_t pid,
                       unsigned want, libusb_device **dev_out)
{
    libusb_device **list = NULL;
    ssize_t count, i;
    unsigned seen = 0;

    *n = 0;
    count = libusb_get_device_list(ctx, &list);
    if (count < 0)
        return map_err((int)count);
    for (i = 0; i < count; i++) {
        struct libusb_device_descriptor dd;
        struct libusb_config_descriptor *cfg = NULL;
        uint8_t k;
        if (libusb_get_device_descriptor(list[i], &dd) != 0)
            continue;
        if (libusb_get_active_config_descriptor(list[i], &cfg) != 0 &&
            libusb_get_config_descriptor(list[i], 0, &cfg) != 0)
            continue;
        for (k = 0; k < cfg->bNumInterfaces; k++) {
            const struct libusb_interface_descriptor *d;
            struct usb_ccid_info info;
            unsigned index = 0;
            size_t j;
            if (cfg->interface[k].num_altsetting < 1)
                continue;
            d = &cfg->interface[k].altsetting[0];
            if (d->bInterfaceClass != CCID_CLASS)
                continue;
            memset(&info, 0, sizeof info);
            info.vid = dd.idVendor;
            info.pid = dd.idProduct;
            info.bus = libusb_get_bus_number(list[i]);
            info.address = libusb_get_device_address(list[i]);
            info.interface = d->bInterfaceNumber;
            fill_endpoints(d, &info);
            find_class_desc(d, &info);
            /* N counts interfaces of the same VID:PID, in bus order. */
            for (j = 0; j < *n && j < cap; j++)
                if (out[j].vid == info.vid && out[j].pid == info.pid)
                    index++;
            if (dev_out != NULL) {
                if (info.vid == vid && info.pid == pid && seen++ == want) {
                    out[0] = info;
                    *n = 1;
                    *dev_out = libusb_ref_device(list[i]);
                    libusb_free_config_descriptor(cfg);
                    libusb_free_device_list(list, 1);
                    return USB_OK;
                }
                continue;
            }
            info.index = index;
            if (*n < cap)
                out[*n] = info;
            (*n)++;
        }
        libusb_free_config_descriptor(cfg);
    }
    libusb_free_device_list(list, 1);
    return dev_out != NULL ? USB_E_NOT_FOUND : USB_OK;
}

usb_status usb_libusb_list(struct usb_ccid_info *out, size_t cap, size_t *n)
{
    libusb_context *ctx = NULL;
    usb_status st;
    if (n == NULL)
        return USB_E_IO;
    *n = 0;
    /* No usbfs (a container, a CI machine): libusb_init fails, or finds
     * nothing.  Either way there is no reader, and nothing waits. */
    if (libusb_init(&ctx) != 0)
        return USB_E_NO_BUS;
    st = walk(ctx, out, cap, n, 0, 0, 0, NULL);
    libusb_exit(ctx);
    return st;
}

static void LIBUSB_CALL intr_done(struct libusb_transfer *x)
{
    struct usb_dev *d = x->user_data;
    d->intr_pending = 0;
    d->intr_ready = 1;
    d->intr_status = x->status;
    d->intr_len = x->actual_length;
}

static usb_status intr_submit(struct usb_dev *d)
{
    int rc;
    libusb_fill_interrupt_transfer(d->intr, d->h, d->ep_intr, d->intr_buf,
                                   INTR_MAX, intr_done, d, 0);
    rc = libusb_submit_transfer(d->intr);
    if (rc == 0)
        d->intr_pending = 1;
    return map_err(rc);
}

static usb_status dev_bulk_out(void *dev, const uint8_t *buf, size_t len,
                               unsigned timeout_ms)
{
    struct usb_dev *d = dev;
    int done = 0, rc;
    if (len > 0x7FFFFFFF)
        return USB_E_IO;
    rc = libusb_bulk_transfer(d->h, d->ep_out, (unsigned char *)buf,
                              (int)len, &done, timeout_ms);
    if (rc == 0 && (size_t)done != len)
        return USB_E_IO;
    return map_err(rc);
}

static usb_status dev_bulk_in(void *dev, uint8_t *buf, size_t cap,
                              size_t *got, unsigned timeout_ms)
{
    struct usb_dev *d = dev;
    int done = 0, rc;
    if (cap > 0x7FFFFFFF)
        cap = 0x7FFFFFFF;
    rc = libusb_bulk_transfer(d->h, d->ep_in, buf, (int)cap, &done,
                              timeout_ms);
    *got = done > 0 ? (size_t)done : 0;
    return map_err(rc);
}

static usb_status dev_interrupt_in(void *dev, uint8_t *buf, size_t cap,
                                   size_t *got, unsigned timeout_ms)
{
    struct usb_dev *d = dev;
    struct timeval tv;
    usb_status st;
    *got = 0;
    if (d->intr == NULL)
        return USB_E_TIMEOUT;
    if (!d->intr_ready) {
        tv.tv_sec = (time_t)(timeout_ms / 1000u);
        tv.tv_usec = (suseconds_t)((timeout_ms % 1000u) * 1000u);
        libusb_handle_events_timeout_completed(d->ctx, &tv, &d->intr_ready);
    }
    if (!d->intr_ready)
        return USB_E_TIMEOUT;
    d->intr_ready = 0;
    switch (d->intr_status) {
    case LIBUSB_TRANSFER_COMPLETED: {
        size_t n = (size_t)d->intr_len;
        if (n > cap)
            n = cap;
        memcpy(buf, d->intr_buf, n);
        *got = n;
        st = USB_OK;
        break;
    }
    case LIBUSB_TRANSFER_STALL:
        return USB_E_STALL; /* resubmitted after clear_halt */
    case LIBUSB_TRANSFER_NO_DEVICE:
        return USB_E_NO_DEVICE;
    case LIBUSB_TRANSFER_TIMED_OUT:
        st = USB_E_TIMEOUT;
        break;
    default:
        st = USB_E_IO;
        break;
    }
    (void)intr_submit(d);
    return st;
}

static usb_status dev_clear_halt(void *dev, enum usb_endpoint ep)
{
    struct usb_dev *d = dev;
    usb_status st;
    uint8_t addr = ep == USB_EP_BULK_IN    ? d->ep_in
                   : ep == USB_EP_BULK_OUT ? d->ep_out
                                           : d->ep_intr;
    st = map_err(libusb_clear_halt(d->h, addr));
    if (st == USB_OK && ep == USB_EP_INTERRUPT && d->intr != NULL &&
        !d->intr_pending)
        st = intr_submit(d);
    return st;
}

static usb_status dev_abort_request(void *dev, uint8_t slot, uint8_t seq,
                                    unsigned timeout_ms)
{
    struct usb_dev *d = dev;
    int rc = libusb_control_transfer(
        d->h,
        LIBUSB_ENDPOINT_OUT | LIBUSB_REQUEST_TYPE_CLASS |
            LIBUSB_RECIPIENT_INTERFACE,
        0x01 /* ABORT */, (uint16_t)(seq << 8 | slot), d->iface, NULL, 0,
        timeout_ms);
    return rc < 0 ? map_err(rc) : USB_OK;
}

static void dev_close(void *dev)
{
    struct usb_dev *d = dev;
    if (d == NULL)
        return;
    if (d->intr != NULL) {
        if (d->intr_pending && libusb_cancel_transfer(d->intr) == 0) {
            /* Bounded: a cancelled transfer completes at the next turns
             * of the event loop, or the device is gone anyway. */
            struct timeval tv = {0, 100000};
            int i;
            for (i = 0; i < 10 && d->intr_pending; i++)
                libusb_handle_events_timeout_completed(d->ctx, &tv, NULL);
        }
        if (!d->intr_pending)
            libusb_free_transfer(d->intr);
    }
    if (d->h != NULL) {
        libusb_release_interface(d->h, d->iface);
        libusb_close(d->h);
    }
    libusb_exit(d->ctx);
    free(d);
}

static const struct usb_io_ops libusb_ops = {
    dev_bulk_out,   dev_bulk_in,       dev_interrupt_in,
    dev_clear_halt, dev_abort_request, dev_close,
};

usb_status usb_libusb_open(uint16_t vid, uint16_t pid, unsigned index,
                           struct usb_io *io)
{
    struct usb_dev *d;
    libusb_device *dev = NULL;
    size_t n = 0;
    usb_status st;
    int rc;

    memset(io, 0, sizeof *io);
    d = calloc(1, sizeof *d);
    if (d == NULL)
        return USB_E_NOMEM;
    if (libusb_init(&d->ctx) != 0) {
        free(d);
        return USB_E_NO_BUS;
    }
    st = walk(d->ctx, &io->info, 1, &n, vid, pid, index, &dev);
    if (st != USB_OK)
        goto fail;
    rc = libusb_open(dev, &d->h);
    libusb_unref_device(dev);
    if (rc != 0) {
        st = map_err(rc);
        d->h = NULL;
        goto fail;
    }
    d->iface = io->info.interface;
    d->ep_in = io->info.ep_bulk_in;
    d->ep_out = io->info.ep_bulk_out;
    d->ep_intr = io->info.ep_interrupt;
    /* Where a kernel driver holds the interface (none does for CCID on
     * Debian, but a vendor's might), take it for the session. */
    (void)libusb_set_auto_detach_kernel_driver(d->h, 1);
    rc = libusb_claim_interface(d->h, d->iface);
    if (rc != 0) {
        st = map_err(rc);
        libusb_close(d->h);
        d->h = NULL;
        goto fail;
    }
    if (d->ep_intr != 0) {
        d->intr = libusb_alloc_transfer(0);
        if (d->intr == NULL || intr_submit(d) != USB_OK) {
            /* Not fatal: removal then shows in the bulk answers' bStatus. */
            if (d->intr != NULL)
                libusb_free_transfer(d->intr);
            d->intr = NULL;
        }
    }
    io->ops = &libusb_ops;
    io->dev = d;
    return USB_OK;
fail:
    libusb_exit(d->ctx);
    free(d);
    memset(io, 0, sizeof *io);
    return st;
}
