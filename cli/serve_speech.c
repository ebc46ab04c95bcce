/*
 * Reading aloud for ocp serve: espeak-ng (or OCP_SPEECH_CMD) started with
 * fork and exec, never a shell, the text on its standard input so it shows
 * in no process list.  One utterance at a time: a new one stops the last
 * (its whole process group, in case the program is a wrapper script).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "serve.h"

/* The program's path is found once, here: after fork() in a threaded
 * program the child may only call async-signal-safe functions, and a PATH
 * search (execvp) is not one. */
static int find_program(const char *name, char *out, size_t cap)
{
    const char *path = getenv("PATH"), *p, *end;
    if (strchr(name, '/') != NULL) {
        snprintf(out, cap, "%s", name);
        return access(out, X_OK) == 0 ? 0 : -1;
    }
    if (path == NULL || path[0] == '\0')
        path = "/usr/local/bin:/usr/bin:/bin";
    for (p = path; *p; p = *end ? end + 1 : end) {
        end = strchr(p, ':');
        if (end == NULL)
            end = p + strlen(p);
        if ((int)snprintf(out, cap, "%.*s/%s", (int)(end - p), p, name) <
                (int)cap &&
            end > p && access(out, X_OK) == 0)
            return 0;
    }
    return -1;
}

int speech_init(struct serve_speech *sp, int enabled)
{
    const char *cmd = getenv("OCP_SPEECH_CMD");
    memset(sp, 0, sizeof *sp);
    pthread_mutex_init(&sp->lock, NULL);
    sp->enabled = enabled;
    if (!enabled)
        return 0;
    if (cmd == NULL || cmd[0] == '\0')
        cmd = "espeak-ng";
    if (find_program(cmd, sp->program, sizeof sp->program) != 0) {
        fprintf(stderr, "ocp serve: %s not found: reading aloud is off "
                        "(install espeak-ng, or set OCP_SPEECH_CMD)\n", cmd);
        sp->enabled = 0;
        return -1;
    }
    return 0;
}

int speech_has_digit_run(const char *text)
{
    const unsigned char *p = (const unsigned char *)text;
    int run = 0;
    while (*p) {
        /* Fullwidth digits U+FF10..U+FF19: EF BC 90..99 in UTF-8. */
        if (p[0] == 0xEF && p[1] == 0xBC && p[2] >= 0x90 && p[2] <= 0x99) {
            run++;
            p += 3;
        } else if (*p >= '0' && *p <= '9') {
            run++;
            p++;
        } else {
            run = 0;
            p++;
        }
        if (run >= 4)
            return 1;
    }
    return 0;
}

static void stop_locked(struct serve_speech *sp)
{
    if (sp->pid > 0) {
        kill(-sp->pid, SIGTERM);
        while (waitpid(sp->pid, NULL, 0) < 0 && errno == EINTR)
            ;
        sp->pid = 0;
    }
}

int speech_say(struct serve_speech *sp, const char *voice, const char *text)
{
    int fds[2];
    pid_t pid;
    size_t len = strlen(text), done = 0;

    if (!sp->enabled)
        return -1;
    pthread_mutex_lock(&sp->lock);
    stop_locked(sp);
    if (pipe(fds) != 0) {
        pthread_mutex_unlock(&sp->lock);
        return -1;
    }
    pid = fork();
    if (pid == 0) {
        /* The child: its own process group, so a stop reaches the whole
         * utterance; the signals the bridge blocks are unblocked again. */
        sigset_t none;
        int null = open("/dev/null", O_RDWR);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        setpgid(0, 0);
        dup2(fds[0], STDIN_FILENO);
        if (null >= 0) {
            dup2(null, STDOUT_FILENO);
            dup2(null, STDERR_FILENO);
        }
        close(fds[0]);
        close(fds[1]);
        {
            char *const argv[] = {sp->program, (char *)"-v", (char *)voice,
                                  NULL};
            execv(sp->program, argv);
        }
        _exit(127);
    }
    close(fds[0]);
    if (pid < 0) {
        close(fds[1]);
        pthread_mutex_unlock(&sp->lock);
        return -1;
    }
    setpgid(pid, pid); /* also here: the stop may come before the child ran */
    sp->pid = pid;
    /* At most a few KiB: the pipe takes it without blocking.  A program
     * that exits early gives EPIPE (SIGPIPE is blocked), not a crash. */
    while (done < len) {
        ssize_t n = write(fds[1], text + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    close(fds[1]);
    pthread_mutex_unlock(&sp->lock);
    return 0;
}

void speech_reap(struct serve_speech *sp)
{
    pthread_mutex_lock(&sp->lock);
    if (sp->pid > 0 && waitpid(sp->pid, NULL, WNOHANG) == sp->pid)
        sp->pid = 0;
    pthread_mutex_unlock(&sp->lock);
}

void speech_stop(struct serve_speech *sp)
{
    pthread_mutex_lock(&sp->lock);
    stop_locked(sp);
    pthread_mutex_unlock(&sp->lock);
}
