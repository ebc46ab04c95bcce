/* The holder options `issue` and `replace` share (cli.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_holder_option(const char *prog, int opt, const char *arg,
                      ocp_issue_request *req)
{
    switch (opt) {
    case 'n':
        if (strlen(arg) > OCP_NAME_MAX) {
            fprintf(stderr, "%s: the name is %zu bytes; the card holds at "
                            "most %u\n",
                    prog, strlen(arg), OCP_NAME_MAX);
            return -1;
        }
        strcpy(req->holder.name, arg);
        return 1;
    case 'c':
        if (strlen(arg) != OCP_CERT_NO_LEN) {
            fprintf(stderr, "%s: a certificate number has 20 characters\n",
                    prog);
            return -1;
        }
        strcpy(req->holder.cert_no, arg);
        return 1;
    case 'd':
        req->holder.district = (uint32_t)strtoul(arg, NULL, 10);
        return 1;
    case 'p':
        if (strlen(arg) < 4 || strlen(arg) >= sizeof req->pin ||
            strspn(arg, "0123456789") != strlen(arg)) {
            fprintf(stderr, "%s: a PIN has 4 to 8 digits\n", prog);
            return -1;
        }
        strcpy(req->pin, arg);
        return 1;
    case 's':
        if (strcmp(arg, "AES") == 0)
            req->suite = OCP_SUITE_AES;
        else if (strcmp(arg, "SM") == 0)
            req->suite = OCP_SUITE_SM;
        else {
            fprintf(stderr, "%s: --suite is AES or SM\n", prog);
            return -1;
        }
        return 1;
    default:
        return 0;
    }
}
