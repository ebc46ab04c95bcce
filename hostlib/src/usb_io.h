/*
 * The thin USB layer under the CCID transport: a small ops table plus a
 * device pointer, so the transport runs over libusb (usb_libusb.c) or over
 * a device model in the tests, and neither knows which.
 *
 * Endpoint calls return usb_status; a transfer that moved some bytes and
 * then timed out reports the bytes (got) and USB_E_TIMEOUT.  A bulk
 * timeout of 0 means no deadline (as in libusb); an interrupt-in timeout
 * of 0 means do not wait at all.
 */
#ifndef OCP_USB_IO_H
#define OCP_USB_IO_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    USB_OK = 0,
    USB_E_TIMEOUT,   /* nothing (or not everything) in time */
    USB_E_STALL,     /* the endpoint halted (LIBUSB_ERROR_PIPE) */
    USB_E_NO_DEVICE, /* the device went away */
    USB_E_ACCESS,    /* no permission to open it (udev rule missing) */
    USB_E_NOT_FOUND, /* no such device */
    USB_E_NO_BUS,    /* no USB at all on this machine */
    USB_E_BUSY,      /* another program (or a kernel driver) claimed it */
    USB_E_NOMEM,
    USB_E_IO         /* anything else */
} usb_status;

enum usb_endpoint { USB_EP_BULK_IN, USB_EP_BULK_OUT, USB_EP_INTERRUPT };

/* One CCID interface (class 0x0B) found on the bus. */
struct usb_ccid_info {
    uint16_t vid, pid;
    unsigned index;         /* 0, 1, ... among interfaces of this VID:PID */
    uint8_t bus, address;
    uint8_t interface;
    uint8_t ep_bulk_in, ep_bulk_out, ep_interrupt; /* 0: none */
    uint8_t class_desc[54]; /* the CCID class descriptor as read */
    size_t class_desc_len;
};

struct usb_io_ops {
    usb_status (*bulk_out)(void *dev, const uint8_t *buf, size_t len,
                           unsigned timeout_ms);
    usb_status (*bulk_in)(void *dev, uint8_t *buf, size_t cap, size_t *got,
                          unsigned timeout_ms);
    /* timeout_ms 0: look without waiting (USB_E_TIMEOUT when nothing). */
    usb_status (*interrupt_in)(void *dev, uint8_t *buf, size_t cap,
                               size_t *got, unsigned timeout_ms);
    usb_status (*clear_halt)(void *dev, enum usb_endpoint ep);
    /* The CCID class request ABORT (CCID 5.3.1) on the control pipe:
     * wValue bSeq << 8 | bSlot, to the CCID interface. */
    usb_status (*abort_request)(void *dev, uint8_t slot, uint8_t seq,
                                unsigned timeout_ms);
    void (*close)(void *dev);
};

struct usb_io {
    const struct usb_io_ops *ops;
    void *dev;
    struct usb_ccid_info info;
};

/*
 * The libusb-1.0 implementation (usb_libusb.c).
 *
 * usb_libusb_list: up to cap CCID interfaces into out; *n gets how many
 * there are in all.  USB_E_NO_BUS when libusb cannot start (no usbfs, no
 * /sys/bus/usb): the caller says "no USB CCID reader", nothing else.
 *
 * usb_libusb_open: the index-th CCID interface of VID:PID, claimed.
 *
 * These two are the only way into the bus: a test program may link its
 * own pair in their place (tests/ccid/usb_model_port.c), never a release
 * build.  usb_status_text is in usb_status.c, which both keep.
 */
usb_status usb_libusb_list(struct usb_ccid_info *out, size_t cap, size_t *n);
usb_status usb_libusb_open(uint16_t vid, uint16_t pid, unsigned index,
                           struct usb_io *io);
const char *usb_status_text(usb_status st);

#endif
