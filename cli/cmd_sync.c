/*
 * ocp sync: a terminal coming online (docs/BACKOFFICE.md section 4).  Its
 * journal goes up to the registry in signed batches, then the published
 * hotlist and catalogue come down.
 *
 *   ocp --terminal-id ID [--db URI] [--keys URI] sync --journal FILE
 *       --terminal-key FILE [--hotlist-out FILE] [--catalogue-out FILE]
 *
 * Killing it at any moment is safe: the journal marks records only after
 * the registry committed them, and a downloaded file replaces the old one
 * only once it is whole on disk (and verified, with --keys).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "ocp/replacement.h"
#include "ocp/holder.h"
#include "ocp/journal.h"
#include "ocp/sync.h"
#include "output.h"

/* A terminal this far off the registry's clock dates its records wrongly
 * enough for the audit to notice: say so now. */
#define CLOCK_WARN_S 300

static void usage(FILE *f)
{
    fprintf(f, "usage: ocp --terminal-id ID [--db URI] [--keys URI] sync "
               "--journal FILE\n"
               "           --terminal-key FILE [--hotlist-out FILE] "
               "[--catalogue-out FILE]\n"
               "Uploads the journal's new records, signed with the terminal's "
               "key, then\nwrites the published hotlist and catalogue (each "
               "replaced whole, never half\nwritten; the hotlist checked "
               "with the issuer key when --keys is given).\n"
               "Exit 11: the registry cannot be reached; 13: the terminal is "
               "unknown or\nrevoked, or a signature does not verify.\n");
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* FILE.tmp, fully written and on disk; the caller renames it over FILE
 * once it has checked it. */
static int write_temp(const char *path, const uint8_t *body, size_t len,
                      char *tmp, size_t tmp_cap)
{
    int fd;
    if ((size_t)snprintf(tmp, tmp_cap, "%s.tmp", path) >= tmp_cap)
        return -1;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    if (write_all(fd, body, len) != 0 || fsync(fd) != 0) {
        close(fd);
        unlink(tmp);
        return -1;
    }
    return close(fd);
}

/* The rename itself survives a power cut only once the directory is on
 * disk too. */
static int install(const char *tmp, const char *path)
{
    char dir[4096];
    int fd;
    if (rename(tmp, path) != 0)
        return -1;
    snprintf(dir, sizeof dir, "%s", path);
    fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    return 0;
}

/* Fetches one published file into `path`.  *version is 0 when none is
 * published (not an error: a new registry has none). */
static int download(struct cli *c, ocp_registry *r, const char *name,
                    const char *path, uint32_t *version)
{
    char tmp[4096];
    uint8_t *body = NULL;
    size_t len = 0;
    int rc = 0;
    ocp_status st = ocp_registry_fetch(r, name, &body, &len, version);
    if (st == OCP_E_IO) {
        *version = 0;
        return 0;
    }
    if (st != OCP_OK)
        return cli_registry_fail(r, "downloading", st);
    if (write_temp(path, body, len, tmp, sizeof tmp) != 0) {
        fprintf(stderr, "ocp sync: cannot write %s.tmp: %s\n", path,
                strerror(errno));
        free(body);
        return EXIT_FAILURE_;
    }
    if (strcmp(name, "hotlist") == 0 && c->keys != NULL) {
        uint32_t signed_version = 0;
        rc = cli_verify_hotlist(c, tmp, &signed_version);
        if (rc == 0 && signed_version != *version) {
            fprintf(stderr, "ocp sync: the registry says hotlist version %u, "
                            "the signed file says %u\n",
                    *version, signed_version);
            rc = EXIT_REFUSED;
        }
    } else if (strcmp(name, "catalogue") == 0) {
        ocp_catalogue *cat = NULL;
        /* A broken catalogue must not replace a working one. */
        if (ocp_catalogue_parse((const char *)body, len, &cat, NULL) !=
            OCP_OK) {
            fprintf(stderr, "ocp sync: the published catalogue does not "
                            "parse; %s kept as it was\n",
                    path);
            rc = EXIT_FAILURE_;
        }
        ocp_catalogue_free(cat);
    }
    free(body);
    if (rc != 0) {
        unlink(tmp);
        return rc;
    }
    if (install(tmp, path) != 0) {
        fprintf(stderr, "ocp sync: cannot replace %s: %s\n", path,
                strerror(errno));
        unlink(tmp);
        return EXIT_FAILURE_;
    }
    return 0;
}

static json_t *downloaded(const char *path, uint32_t version)
{
    json_t *v;
    if (path == NULL)
        return json_null();
    v = json_object();
    json_object_set_new(v, "file", json_string(path));
    json_object_set_new(v, "version",
                        version != 0 ? json_integer(version) : json_null());
    return v;
}

static void text_downloaded(const char *name, const char *path,
                            uint32_t version)
{
    if (path == NULL)
        return;
    if (version == 0)
        printf("%s: none published; %s left as it was\n", name, path);
    else
        printf("%s: version %u written to %s\n", name, version, path);
}

int cmd_sync(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"journal", required_argument, NULL, 'j'},
        {"terminal-key", required_argument, NULL, 'k'},
        {"hotlist-out", required_argument, NULL, 'H'},
        {"catalogue-out", required_argument, NULL, 'C'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *journal_path = NULL, *key_path = NULL;
    const char *hotlist_out = NULL, *catalogue_out = NULL;
    ocp_terminal_key *key = NULL;
    ocp_journal *j = NULL;
    ocp_registry *r = NULL;
    ocp_sync_result res;
    uint32_t hot_version = 0, cat_version = 0;
    ocp_status st;
    int o, rc = EXIT_OK;

    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'j':
            journal_path = optarg;
            break;
        case 'k':
            key_path = optarg;
            break;
        case 'H':
            hotlist_out = optarg;
            break;
        case 'C':
            catalogue_out = optarg;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (journal_path == NULL || key_path == NULL || optind != argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    st = ocp_terminal_key_load(key_path, &key);
    if (st != OCP_OK) {
        fprintf(stderr, "ocp sync: cannot use the terminal key %s: %s (it "
                        "must be the 0600 file `registry terminal enrol` "
                        "wrote)\n",
                key_path, ocp_strerror(st));
        return EXIT_FAILURE_;
    }
    st = ocp_journal_open(journal_path, c->terminal_id, &j);
    if (st != OCP_OK) {
        fprintf(stderr, "ocp sync: cannot open the journal %s: %s%s\n",
                journal_path, ocp_strerror(st),
                st == OCP_E_ARGS ? " (is it this --terminal-id's?)" : "");
        rc = st == OCP_E_ARGS ? EXIT_USAGE : EXIT_FAILURE_;
        goto out;
    }
    if ((rc = cli_registry_open(c, &r)) != 0)
        goto out;
    st = ocp_sync_upload(j, r, key, c->terminal_id, (int64_t)time(NULL),
                         &res);
    if (st != OCP_OK) {
        rc = cli_registry_fail(r, "uploading the journal", st);
        goto out;
    }
    if (hotlist_out != NULL &&
        (rc = download(c, r, "hotlist", hotlist_out, &hot_version)) != 0)
        goto out;
    /* Installed: the replaced cards on it can no longer be used here
     * (the open windows of docs/BACKOFFICE.md section 6). */
    if (hotlist_out != NULL && hot_version != 0 &&
        (st = ocp_registry_note_hotlist(r, c->terminal_id, hot_version)) !=
            OCP_OK) {
        rc = cli_registry_fail(r, "noting the hotlist taken", st);
        goto out;
    }
    if (catalogue_out != NULL &&
        (rc = download(c, r, "catalogue", catalogue_out, &cat_version)) != 0)
        goto out;

    if (res.clock_offset_s > CLOCK_WARN_S || res.clock_offset_s < -CLOCK_WARN_S)
        fprintf(stderr, "ocp sync: warning: this terminal's clock is %+llds "
                        "off the registry's; set it right\n",
                (long long)res.clock_offset_s);
    if (c->json) {
        json_t *v = json_object();
        char id[12];
        snprintf(id, sizeof id, "0x%08X", c->terminal_id);
        json_object_set_new(v, "terminal_id", json_string(id));
        json_object_set_new(v, "batches", json_integer((json_int_t)res.batches));
        json_object_set_new(v, "stored",
                            json_integer((json_int_t)res.records.stored));
        json_object_set_new(v, "duplicates",
                            json_integer((json_int_t)res.records.duplicates));
        json_object_set_new(v, "finished",
                            json_integer((json_int_t)res.records.finished));
        json_object_set_new(v, "conflicts",
                            json_integer((json_int_t)res.records.conflicts));
        json_object_set_new(v, "clock_offset_s",
                            json_integer(res.clock_offset_s));
        json_object_set_new(v, "hotlist", downloaded(hotlist_out, hot_version));
        json_object_set_new(v, "catalogue",
                            downloaded(catalogue_out, cat_version));
        out_print(1, v, NULL);
    } else if (!c->quiet) {
        printf("terminal %08X: %zu batch%s sent; %zu records stored, %zu "
               "duplicates, %zu finished, %zu conflicts\n",
               c->terminal_id, res.batches, res.batches == 1 ? "" : "es",
               res.records.stored, res.records.duplicates,
               res.records.finished, res.records.conflicts);
        printf("clock offset: %+llds (terminal minus registry)\n",
               (long long)res.clock_offset_s);
        text_downloaded("hotlist", hotlist_out, hot_version);
        text_downloaded("catalogue", catalogue_out, cat_version);
    }
    if (res.records.conflicts > 0)
        fprintf(stderr, "ocp sync: %zu records differ from what this "
                        "terminal uploaded before; the audit will report "
                        "them\n",
                res.records.conflicts);
out:
    ocp_registry_close(r);
    ocp_journal_close(j);
    ocp_terminal_key_free(key);
    return rc;
}
