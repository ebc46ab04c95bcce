/*
 * NVM port on the host: the 8 KB image lives in a file, written one page at
 * a time with pwrite.  The file system gives no atomicity here and none is
 * assumed: the applet's journal provides it.  A killed process leaves every
 * completed pwrite in the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ocp_port.h"
#include "port_host.h"

static int nvm_fd = -1;

int port_host_nvm_open(const char *path, int create)
{
    struct stat st;
    int created = 0;
    int fd = open(path, O_RDWR | O_CLOEXEC);

    if (fd < 0 && errno == ENOENT && create) {
        uint8_t erased[OCP_NVM_SIZE];
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
            return -1;
        memset(erased, 0xFF, sizeof erased);
        if (pwrite(fd, erased, sizeof erased, 0) != (ssize_t)sizeof erased) {
            close(fd);
            return -1;
        }
        created = 1;
    }
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) != 0 || st.st_size != (off_t)OCP_NVM_SIZE) {
        close(fd);
        errno = EINVAL;
        return -1;
    }
    if (nvm_fd >= 0)
        close(nvm_fd);
    nvm_fd = fd;
    return created;
}

void port_host_nvm_close(void)
{
    if (nvm_fd >= 0)
        close(nvm_fd);
    nvm_fd = -1;
}

int port_nvm_read(uint32_t offset, uint8_t *dst, uint32_t len)
{
    if (nvm_fd < 0 || offset > OCP_NVM_SIZE || len > OCP_NVM_SIZE - offset)
        return -1;
    return pread(nvm_fd, dst, len, (off_t)offset) == (ssize_t)len ? 0 : -1;
}

int port_nvm_write_page(uint32_t page, const uint8_t src[OCP_NVM_PAGE_SIZE])
{
    if (nvm_fd < 0 || page >= OCP_NVM_PAGES)
        return -1;
    return pwrite(nvm_fd, src, OCP_NVM_PAGE_SIZE,
                  (off_t)page * OCP_NVM_PAGE_SIZE) == OCP_NVM_PAGE_SIZE
               ? 0
               : -1;
}
