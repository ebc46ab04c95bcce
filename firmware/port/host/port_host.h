/* Host port extras: the NVM image file and counters (not used by the applet). */
#ifndef OCP_PORT_HOST_H
#define OCP_PORT_HOST_H

#include <stdint.h>

/**
 * Opens (or creates, when create is set and the file is missing) the NVM
 * image file.  A new file is filled with 0xFF, like erased memory.
 * @return 0, 1 when a new file was created, -1 on error (errno set).
 */
int port_host_nvm_open(const char *path, int create);
void port_host_nvm_close(void);

/* Block-cipher calls made by this thread since start. */
unsigned long port_host_block_calls(void);
/* Frees this thread's cipher contexts. */
void port_host_crypto_release(void);

#endif
