/*
 * ocp serve: the kiosk bridge (docs/KIOSK.md).  This file reads the
 * options, makes the per-start token and the listening socket, starts the
 * watcher and the HTTP threads, and waits for SIGINT or SIGTERM to stop
 * them in order.  The rest is in the serve_*.c files (serve.h).
 */
/* realpath() is XSI, beyond the POSIX base the project builds with. */
#define _XOPEN_SOURCE 700

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "serve.h"

/* ---- options ----------------------------------------------------------- */

struct options {
    const char *listen, *www, *catalogue, *token_file;
    long idle_s;
    int no_speech, any_address;
};

static int usage(int help)
{
    FILE *f = help ? stdout : stderr;
    fprintf(f,
            "usage: ocp [-r READER] --keys URI serve [--listen ADDR:PORT]\n"
            "           [--allow-origin URL]... [--www DIR] [--idle SECONDS]\n"
            "           [--no-speech] [--catalogue FILE] [--token-file FILE]\n"
            "           [--listen-any-address]\n\n"
            "The kiosk bridge (docs/KIOSK.md): the holder's page and its JSON "
            "API over\nthe card in the reader, with the kiosk role.\n\n"
            "  --listen ADDR:PORT     where to listen (default 127.0.0.1:8420; "
            "port 0: any\n"
            "                         free one); a non-loopback address needs\n"
            "                         --listen-any-address as well\n"
            "  --allow-origin URL     a vendor page (http[s]://HOST[:PORT]) that "
            "may call\n"
            "                         the API and embed the page; repeatable\n"
            "  --www DIR              the page (default: the installed one)\n"
            "  --idle SECONDS         back to the start screen after this long "
            "untouched\n"
            "                         (default 120)\n"
            "  --no-speech            no reading aloud (default: espeak-ng, or "
            "the program\n"
            "                         in OCP_SPEECH_CMD)\n"
            "  --catalogue FILE       service names (default $OCP_CATALOGUE, "
            "else the\n"
            "                         installed catalogue)\n"
            "  --token-file FILE      also write the API token to FILE (0600), "
            "for a\n"
            "                         vendor's own program; removed at exit\n\n"
            "Prints \"serving http://ADDR:PORT/\" once listening; stops on "
            "SIGINT or SIGTERM.\n");
    return help ? EXIT_OK : EXIT_USAGE;
}

/* "http[s]://host[:port]", as a browser writes an Origin: no path, no
 * user, no trailing slash (one is forgiven and dropped). */
static int add_origin(struct serve *sv, const char *url)
{
    char buf[256];
    const char *host;
    size_t n = strlen(url);
    if (n >= sizeof buf)
        goto bad;
    strcpy(buf, url);
    if (n > 0 && buf[n - 1] == '/')
        buf[--n] = '\0';
    if (strncmp(buf, "http://", 7) == 0)
        host = buf + 7;
    else if (strncmp(buf, "https://", 8) == 0)
        host = buf + 8;
    else
        goto bad;
    if (host[0] == '\0' || strpbrk(host, "/?#@ \\") != NULL)
        goto bad;
    if (sv->n_origins == SERVE_MAX_ORIGINS) {
        fprintf(stderr, "ocp serve: at most %d --allow-origin\n",
                SERVE_MAX_ORIGINS);
        return -1;
    }
    strcpy(sv->origins[sv->n_origins++], buf);
    return 0;
bad:
    fprintf(stderr, "ocp serve: --allow-origin takes an origin, "
                    "http://HOST[:PORT] or https://HOST[:PORT], not '%s'\n",
            url);
    return -1;
}

static int parse_options(int argc, char **argv, struct serve *sv,
                         struct options *o)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"allow-origin", required_argument, NULL, 'o'},
        {"www", required_argument, NULL, 'w'},
        {"idle", required_argument, NULL, 'i'},
        {"no-speech", no_argument, NULL, 'n'},
        {"catalogue", required_argument, NULL, 'c'},
        {"token-file", required_argument, NULL, 't'},
        {"listen-any-address", no_argument, NULL, 'A'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;
    memset(o, 0, sizeof *o);
    o->listen = "127.0.0.1:8420";
    o->idle_s = 120;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'l':
            o->listen = optarg;
            break;
        case 'o':
            if (add_origin(sv, optarg) != 0)
                return EXIT_USAGE;
            break;
        case 'w':
            o->www = optarg;
            break;
        case 'i': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (end == optarg || *end || v < 1 || v > 86400) {
                fprintf(stderr, "ocp serve: --idle takes whole seconds, 1 to "
                                "86400\n");
                return EXIT_USAGE;
            }
            o->idle_s = v;
            break;
        }
        case 'n':
            o->no_speech = 1;
            break;
        case 'c':
            o->catalogue = optarg;
            break;
        case 't':
            o->token_file = optarg;
            break;
        case 'A':
            o->any_address = 1;
            break;
        case 'h':
            return usage(1) == EXIT_OK ? -1 : EXIT_USAGE;
        default:
            return usage(0);
        }
    }
    if (optind != argc) {
        fprintf(stderr, "ocp serve: unexpected argument '%s'\n", argv[optind]);
        return usage(0);
    }
    return 0;
}

/* ---- the listening socket ---------------------------------------------- */

/* ADDR:PORT or [V6]:PORT; "localhost" means 127.0.0.1.  Fills the Host
 * values the checks accept and opens the socket.  -1 after a message. */
static int open_listener(struct serve *sv, const struct options *o)
{
    char addr[48], shown[52];
    const char *colon = strrchr(o->listen, ':');
    struct sockaddr_storage ss;
    socklen_t sslen;
    unsigned long port;
    char *end;
    int fd, one = 1, loopback, v6 = 0;
    size_t alen;

    if (colon == NULL || colon == o->listen || colon[1] == '\0')
        goto bad;
    port = strtoul(colon + 1, &end, 10);
    if (*end || port > 65535)
        goto bad;
    alen = (size_t)(colon - o->listen);
    if (o->listen[0] == '[') {
        if (alen < 3 || o->listen[alen - 1] != ']' || alen - 2 >= sizeof addr)
            goto bad;
        memcpy(addr, o->listen + 1, alen - 2);
        addr[alen - 2] = '\0';
        v6 = 1;
    } else {
        if (alen >= sizeof addr)
            goto bad;
        memcpy(addr, o->listen, alen);
        addr[alen] = '\0';
        if (strcmp(addr, "localhost") == 0)
            strcpy(addr, "127.0.0.1");
    }
    memset(&ss, 0, sizeof ss);
    if (!v6) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        if (inet_pton(AF_INET, addr, &in->sin_addr) != 1)
            goto bad;
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
        sslen = sizeof *in;
        loopback = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
        if (in->sin_addr.s_addr == htonl(INADDR_ANY))
            goto wildcard;
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        if (inet_pton(AF_INET6, addr, &in6->sin6_addr) != 1)
            goto bad;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        sslen = sizeof *in6;
        loopback = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
        if (IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr))
            goto wildcard;
    }
    if (!loopback && !o->any_address) {
        fprintf(stderr, "ocp serve: %s is not a loopback address: anyone on "
                        "that network could reach the holder's card.  Add "
                        "--listen-any-address if that is really meant\n",
                addr);
        return -1;
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        bind(fd, (struct sockaddr *)&ss, sslen) != 0 || listen(fd, 32) != 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &sslen) != 0) {
        fprintf(stderr, "ocp serve: cannot listen on %s: %s\n", o->listen,
                strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    /* Port 0: the kernel chose; the Host check needs the real one. */
    port = ntohs(v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                    : ((struct sockaddr_in *)&ss)->sin_port);
    snprintf(shown, sizeof shown, v6 ? "[%s]" : "%s", addr);
    snprintf(sv->host, sizeof sv->host, "%s:%lu", shown, port);
    snprintf(sv->self_origin, sizeof sv->self_origin, "http://%s", sv->host);
    if (strcmp(addr, "127.0.0.1") == 0 || strcmp(addr, "::1") == 0) {
        snprintf(sv->host_alias, sizeof sv->host_alias, "localhost:%lu", port);
        snprintf(sv->alias_origin, sizeof sv->alias_origin, "http://%s",
                 sv->host_alias);
    }
    return fd;
bad:
    fprintf(stderr, "ocp serve: --listen takes ADDR:PORT (127.0.0.1:8420, "
                    "[::1]:8420, localhost:0), not '%s'\n",
            o->listen);
    return -1;
wildcard:
    fprintf(stderr, "ocp serve: --listen needs one address, not %s: the "
                    "Host check must know which name the page uses\n",
            addr);
    return -1;
}

/* ---- where the page and the catalogue are -------------------------------- */

/* ocp run from the build tree uses the source tree's files, an installed
 * ocp the installed ones: the build tree knows both paths. */
static int in_build_tree(void)
{
    char exe[PATH_MAX], dir[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash;
    if (n <= 0)
        return 0;
    exe[n] = '\0';
    slash = strrchr(exe, '/');
    if (slash == NULL || realpath(OCP_SERVE_BUILD_BIN_DIR, dir) == NULL)
        return 0;
    *slash = '\0';
    return strcmp(exe, dir) == 0;
}

static int setup_www(struct serve *sv, const struct options *o,
                     char real[PATH_MAX])
{
    const char *dir = o->www ? o->www
                      : in_build_tree() ? OCP_SERVE_WWW_SOURCE
                                        : OCP_SERVE_WWW_INSTALLED;
    struct stat sb;
    if (realpath(dir, real) == NULL || stat(real, &sb) != 0 ||
        !S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "ocp serve: the page directory %s does not exist%s\n",
                dir, o->www ? "" : " (give --www DIR)");
        return -1;
    }
    sv->www = real;
    return 0;
}

static int setup_catalogue(const struct options *o, ocp_catalogue **cat)
{
    const char *path = o->catalogue ? o->catalogue : getenv("OCP_CATALOGUE");
    int given = path != NULL && path[0] != '\0';
    ocp_parse_error e;
    if (!given)
        path = in_build_tree() ? OCP_SERVE_CATALOGUE_SOURCE
                               : OCP_SERVE_CATALOGUE_INSTALLED;
    if (ocp_catalogue_load(path, cat, &e) == OCP_OK)
        return 0;
    *cat = NULL;
    if (e.line > 0)
        fprintf(stderr, "ocp serve: %s:%d:%d: %s\n", path, e.line, e.column,
                e.message);
    else
        fprintf(stderr, "ocp serve: %s: %s\n", path, e.message);
    if (given)
        return -1;
    /* The names are a help for the screen, not a reason to stay closed. */
    fprintf(stderr, "ocp serve: going on without service names\n");
    return 0;
}

static int make_token(struct serve *sv)
{
    uint8_t raw[SERVE_TOKEN_HEX / 2];
    size_t i;
    if (RAND_bytes(raw, sizeof raw) != 1) {
        fprintf(stderr, "ocp serve: no random bytes for the token\n");
        return -1;
    }
    for (i = 0; i < sizeof raw; i++)
        snprintf(sv->token + 2 * i, 3, "%02x", raw[i]);
    ocp_secret_wipe(raw, sizeof raw);
    return 0;
}

static int write_token_file(const struct serve *sv, const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                  0600);
    int ok = fd >= 0 && fchmod(fd, 0600) == 0 &&
             write(fd, sv->token, SERVE_TOKEN_HEX) == SERVE_TOKEN_HEX &&
             write(fd, "\n", 1) == 1;
    if (fd >= 0 && close(fd) != 0)
        ok = 0;
    if (!ok) {
        fprintf(stderr, "ocp serve: cannot write the token to %s: %s\n", path,
                strerror(errno));
        return -1;
    }
    return 0;
}

static void make_csp(struct serve *sv)
{
    size_t i, n;
    n = (size_t)snprintf(sv->csp, sizeof sv->csp,
                         "default-src 'self'; connect-src 'self'; img-src "
                         "'self' data:; style-src 'self'; script-src 'self'; "
                         "media-src 'self'; base-uri 'none'; form-action "
                         "'none'; frame-ancestors");
    if (sv->n_origins == 0)
        snprintf(sv->csp + n, sizeof sv->csp - n, " 'none'");
    for (i = 0; i < sv->n_origins && n < sizeof sv->csp; i++)
        n += (size_t)snprintf(sv->csp + n, sizeof sv->csp - n, " %s",
                              sv->origins[i]);
}

/* ---- start and stop ------------------------------------------------------- */

struct stopper {
    struct serve *sv;
    struct MHD_Daemon *d;
    pthread_t watcher;
    sigset_t set;
};

/* Waits for SIGINT or SIGTERM, then stops everything but the card thread
 * in order: the streams (so their threads return), the HTTP threads (a
 * request still in a card call finishes it), the watcher (it may make a
 * last card call), and last the card thread itself. */
static void *stopper_main(void *arg)
{
    struct stopper *st = arg;
    int sig = 0;
    while (sig != SIGINT && sig != SIGTERM)
        if (sigwait(&st->set, &sig) != 0)
            break;
    fprintf(stderr, "ocp serve: stopping\n");
    st->sv->stopping = 1;
    events_stop(&st->sv->ev);
    MHD_stop_daemon(st->d); /* waits for the connections' threads */
    pthread_join(st->watcher, NULL);
    card_thread_stop(st->sv);
    return NULL;
}

static int run(struct serve *sv, int fd)
{
    struct stopper st;
    pthread_t stopper;
    sigset_t pipe_only;

    /* Every thread started from here inherits the mask: SIGINT and SIGTERM
     * go to the stopper's sigwait, SIGPIPE to nobody (a page that went
     * away mid-answer is an error return, not a death). */
    memset(&st, 0, sizeof st);
    st.sv = sv;
    sigemptyset(&st.set);
    sigaddset(&st.set, SIGINT);
    sigaddset(&st.set, SIGTERM);
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &st.set, NULL);
    pthread_sigmask(SIG_BLOCK, &pipe_only, NULL);
    card_thread_init(sv);
    if (watch_start(sv, &st.watcher) != 0) {
        fprintf(stderr, "ocp serve: cannot start the card watcher\n");
        close(fd);
        return EXIT_FAILURE_;
    }
    st.d = http_start(sv, fd);
    if (st.d == NULL || pthread_create(&stopper, NULL, stopper_main, &st) != 0) {
        sv->stopping = 1;
        if (st.d != NULL)
            MHD_stop_daemon(st.d);
        else
            close(fd);
        /* The watcher may be in a card call: serve it until it is gone. */
        card_thread_stop(sv);
        pthread_join(st.watcher, NULL);
        return EXIT_FAILURE_;
    }
    printf("serving http://%s/\n", sv->host);
    fflush(stdout);
    /* This thread is the card thread from now on (serve_card_thread.c). */
    card_thread_loop(sv);
    pthread_join(stopper, NULL);
    return EXIT_OK;
}

int cmd_serve(struct cli *c, int argc, char **argv)
{
    static struct serve sv; /* large, and alive as long as the threads */
    struct options o;
    char www[PATH_MAX];
    ocp_catalogue *cat = NULL;
    ocp_status st;
    int rc, fd;

    /* Before any JSON value exists: every one the bridge makes (PINs in
     * request bodies, holder data in answers) is wiped when freed. */
    json_set_alloc_funcs(serve_wipe_malloc, serve_wipe_free);
    rc = parse_options(argc, argv, &sv, &o);
    if (rc != 0)
        return rc < 0 ? EXIT_OK : rc;
    if (c->reader != NULL && strncmp(c->reader, "usb:", 4) == 0) {
        fprintf(stderr, "ocp serve: the bridge watches PC/SC readers; a "
                        "usb: reader is not supported here\n");
        return EXIT_USAGE;
    }
    if (setup_www(&sv, &o, www) != 0 || setup_catalogue(&o, &cat) != 0)
        return EXIT_USAGE;
    st = cli_keystore(c, &sv.card.ks);
    if (st != OCP_OK) {
        ocp_catalogue_free(cat);
        return cli_fail("opening the key store", st);
    }
    rc = EXIT_FAILURE_;
    if (make_token(&sv) != 0)
        goto out;
    if ((fd = open_listener(&sv, &o)) < 0) {
        rc = EXIT_USAGE;
        goto out;
    }
    if (o.token_file != NULL && write_token_file(&sv, o.token_file) != 0) {
        close(fd);
        goto out;
    }
    make_csp(&sv);
    events_init(&sv.ev);
    sv.card.cat = cat;
    sv.card.reader_spec = c->reader;
    sv.card.terminal_id = c->terminal_id;
    sv.card.card_timeout_ms = c->card_timeout_ms;
    pthread_mutex_init(&sv.idle.lock, NULL);
    sv.idle.idle_ms = o.idle_s * 1000;
    sv.idle.warn_ms = o.idle_s >= 60 ? 30000 : o.idle_s * 500;
    (void)speech_init(&sv.speech, !o.no_speech);
    rc = run(&sv, fd);
    card_cleanup(&sv);
    speech_stop(&sv.speech);
    if (o.token_file != NULL)
        unlink(o.token_file);
out:
    ocp_secret_wipe(sv.token, sizeof sv.token);
    ocp_keystore_close(sv.card.ks);
    ocp_catalogue_free(cat);
    return rc;
}
