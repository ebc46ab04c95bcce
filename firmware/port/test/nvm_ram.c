/* Test port NVM: RAM image, write counters, power cuts; see port_test.h. */
#include <string.h>

#include "port_test.h"

/* Two cards' memories, for tests that need an old and a new card at once
 * (renewal); `image` is the selected one.  Counters and cuts are shared:
 * a cut falls on the Nth write of whichever card writes it. */
static uint8_t images[PORT_TEST_CARDS][OCP_NVM_SIZE];
static uint8_t *image = images[0];
static unsigned selected;
static unsigned long writes;
static unsigned long page_writes[OCP_NVM_PAGES];
static unsigned long cut_at;   /* 0: not armed; else absolute write number */
static unsigned torn;
static int lost;

void port_test_select(unsigned card)
{
    if (card < PORT_TEST_CARDS) {
        selected = card;
        image = images[card];
    }
}

unsigned port_test_selected(void)
{
    return selected;
}

void port_test_erase(void)
{
    memset(image, 0xFF, OCP_NVM_SIZE);
    port_test_reset_counters();
    port_test_disarm();
    lost = 0;
}

void port_test_get_image(uint8_t out[OCP_NVM_SIZE])
{
    memcpy(out, image, OCP_NVM_SIZE);
}

void port_test_set_image(const uint8_t in[OCP_NVM_SIZE])
{
    memcpy(image, in, OCP_NVM_SIZE);
}

void port_test_arm_cut(unsigned long write_no, unsigned torn_bytes)
{
    cut_at = writes + write_no;
    torn = torn_bytes > OCP_NVM_PAGE_SIZE ? OCP_NVM_PAGE_SIZE : torn_bytes;
}

void port_test_disarm(void)
{
    cut_at = 0;
}

int port_test_power_lost(void)
{
    return lost;
}

void port_test_power_up(void)
{
    lost = 0;
    cut_at = 0;
}

unsigned long port_test_writes(void)
{
    return writes;
}

unsigned long port_test_page_writes(uint32_t page)
{
    return page < OCP_NVM_PAGES ? page_writes[page] : 0;
}

void port_test_reset_counters(void)
{
    writes = 0;
    memset(page_writes, 0, sizeof page_writes);
}

int port_nvm_read(uint32_t offset, uint8_t *dst, uint32_t len)
{
    if (offset > OCP_NVM_SIZE || len > OCP_NVM_SIZE - offset)
        return -1;
    memcpy(dst, image + offset, len);
    return 0;
}

int port_nvm_write_page(uint32_t page, const uint8_t src[OCP_NVM_PAGE_SIZE])
{
    if (page >= OCP_NVM_PAGES || lost)
        return -1;
    writes++;
    page_writes[page]++;
    if (cut_at != 0 && writes == cut_at) {
        memcpy(image + page * OCP_NVM_PAGE_SIZE, src, torn);
        lost = 1;
        return -1;
    }
    memcpy(image + page * OCP_NVM_PAGE_SIZE, src, OCP_NVM_PAGE_SIZE);
    return 0;
}
