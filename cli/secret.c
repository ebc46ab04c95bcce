/*
 * Secrets typed at the desk: the key file's passphrase, a clerk's password,
 * a PIN.  One way to ask without echo, so that every prompt restores the
 * terminal the same way and none leaves a copy behind.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"

int cli_ask_hidden(const char *prompt, char *out, size_t cap)
{
    struct termios old, quiet;
    size_t n;
    int have_old;
    if (cap < 2 || cap > 0x7FFFFFFF)
        return -1;
    fprintf(stderr, "%s: ", prompt);
    have_old = tcgetattr(STDIN_FILENO, &old) == 0;
    if (have_old) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    if (fgets(out, (int)cap, stdin) == NULL)
        out[0] = '\0';
    if (have_old)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    fputc('\n', stderr);
    n = strcspn(out, "\r\n");
    out[n] = '\0';
    return 0;
}

int cli_read_secret(const char *env, const char *prompt, char *out, size_t cap)
{
    const char *value = getenv(env);
    if (value != NULL) {
        if (strlen(value) >= cap) {
            fprintf(stderr, "ocp: %s is too long\n", env);
            return -1;
        }
        strcpy(out, value);
        return 0;
    }
    /* A script sets the variable; a pipe would put the secret in a file
     * or a process list somewhere. */
    if (!isatty(STDIN_FILENO)) {
        fprintf(stderr, "ocp: set %s or run on a terminal\n", env);
        return -1;
    }
    if (cli_ask_hidden(prompt, out, cap) != 0)
        return -1;
    return out[0] != '\0' ? 0 : -1;
}
