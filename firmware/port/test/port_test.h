/*
 * Test port: the NVM image in RAM, with write counting and power cuts.
 *
 * A cut is armed to fall on write number N (1-based, counted from the
 * arming).  A clean cut loses write N entirely; a torn cut programs only the
 * first `torn_bytes` bytes of page N (any mix of old and new is legal; a
 * prefix is the common physical case and the sweep varies the length).
 * After a cut every write fails until port_test_power_up().
 */
#ifndef OCP_PORT_TEST_H
#define OCP_PORT_TEST_H

#include <stdint.h>

#include "ocp_port.h"

#define PORT_TEST_CARDS 2u
/* Which card's memory the port reads and writes (0 or 1). */
void port_test_select(unsigned card);
unsigned port_test_selected(void);
void port_test_erase(void);                      /* all 0xFF, counters 0 */
void port_test_get_image(uint8_t out[OCP_NVM_SIZE]);
void port_test_set_image(const uint8_t in[OCP_NVM_SIZE]);
void port_test_arm_cut(unsigned long write_no, unsigned torn_bytes);
void port_test_disarm(void);
int port_test_power_lost(void);                  /* 1 after a cut */
void port_test_power_up(void);                   /* clears the cut */
unsigned long port_test_writes(void);            /* page writes since erase */
unsigned long port_test_page_writes(uint32_t page);
void port_test_reset_counters(void);
/* Entropy: 0 makes port_entropy return nothing (a chip without TRNG). */
void port_test_set_entropy(int available);

#endif
