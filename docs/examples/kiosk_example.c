/*
 * A kiosk in forty lines: the holder's own card, read with their PIN.
 * Built by the project's build and run by its tests; a vendor starts here.
 *
 *   kiosk_example READER KEYSTORE-DIR
 *
 * (The key store here is the development one; a kiosk would open its own
 * with ocp_keyfile_open or ocp_pkcs11_open.)  The PIN comes from OCP_PIN.
 */
#include <stdio.h>
#include <stdlib.h>
#include <ocp/ocp.h>

int main(int argc, char **argv)
{
    ocp_transport *t = NULL;
    ocp_keystore *ks = NULL;
    ocp_session *s = NULL;
    ocp_holder holder;
    ocp_entitlement e[16];
    size_t n = 16, i;
    int tries = -1;
    const char *pin = getenv("OCP_PIN");
    ocp_status st;

    if (argc != 3 || pin == NULL) {
        fprintf(stderr, "usage: OCP_PIN=.... kiosk_example READER KEYDIR\n");
        return 2;
    }
    st = ocp_keystore_dev_open(argv[2], &ks);
    if (st == OCP_OK)
        st = ocp_pcsc_connect(argv[1], &t);
    if (st == OCP_OK)
        st = ocp_open_role(t, ks, OCP_ROLE_KIOSK, 0x4B000001u, 0, NULL, NULL,
                           &s);
    if (st == OCP_OK)
        st = ocp_verify_pin(s, pin, &tries);
    if (st == OCP_OK)
        st = ocp_read_holder(s, &holder);
    if (st == OCP_OK)
        st = ocp_read_entitlements(s, e, &n);
    if (st != OCP_OK) {
        fprintf(stderr, "kiosk: %s", ocp_strerror(st));
        if (st == OCP_E_PIN_WRONG)
            fprintf(stderr, " (%d tries left)", tries);
        fputc('\n', stderr);
    } else {
        printf("%s\n", holder.name);
        for (i = 0; i < n; i++)
            printf("service 0x%04X: %u left\n", e[i].service, e[i].remaining);
    }
    ocp_session_close(s);
    ocp_keystore_close(ks);
    if (t)
        t->ops->close(t);
    return st == OCP_OK ? 0 : 1;
}
