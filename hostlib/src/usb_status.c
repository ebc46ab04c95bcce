/* usb_status in words (usb_io.h), apart from libusb: a usb_io put in
 * libusb's place at link time (the tests' device model) keeps it. */
#include "usb_io.h"

const char *usb_status_text(usb_status st)
{
    switch (st) {
    case USB_OK:
        return "ok";
    case USB_E_TIMEOUT:
        return "timeout";
    case USB_E_STALL:
        return "endpoint stalled";
    case USB_E_NO_DEVICE:
        return "device gone";
    case USB_E_ACCESS:
        return "permission denied";
    case USB_E_NOT_FOUND:
        return "not found";
    case USB_E_NO_BUS:
        return "no USB on this machine";
    case USB_E_BUSY:
        return "in use by another program or driver";
    case USB_E_NOMEM:
        return "out of memory";
    case USB_E_IO:
        break;
    }
    return "I/O error";
}
