/*
 * ocp report: settlement per operator and service over a period
 * (docs/BACKOFFICE.md section 7), paying only what the audit accepts.
 *
 *   ocp --db URI --keys URI report --from DATE --to DATE [--csv] [--json]
 *
 * Text is a table; --csv one line per operator and service with a header;
 * --json an array of objects.  Amounts are rides or units, or fen for a
 * balance: the service code says which (docs/catalogue.json).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ocp/report.h"
#include "output.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ocp [--db URI] --keys URI [--json] report --from DATE "
            "--to DATE [--csv]\n"
            "Settlement per operator and service for the days from DATE to "
            "DATE\n(YYYY-MM-DD, both included): the consumptions the audit "
            "accepts, their\namounts summed, and how many were held back "
            "(forged, cloned, outside\ntheir window, of an unknown card).\n");
}

/* RFC 4180: a field with a comma, quote or line break is quoted. */
static void csv_field(const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        if (*s == '"')
            putchar('"');
        putchar(*s);
    }
    putchar('"');
}

int cmd_report(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},
        {"csv", no_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *from_s = NULL, *to_s = NULL;
    uint16_t from, to;
    ocp_report_line *lines = NULL;
    ocp_keystore *ks = NULL;
    ocp_registry *r = NULL;
    size_t n = 0, i;
    ocp_status st;
    int o, csv = 0, rc;

    optind = 0;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'f':
            from_s = optarg;
            break;
        case 't':
            to_s = optarg;
            break;
        case 'c':
            csv = 1;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc || from_s == NULL || to_s == NULL ||
        cli_parse_date(from_s, &from) != 0 ||
        cli_parse_date(to_s, &to) != 0 || from > to) {
        usage(stderr);
        return EXIT_USAGE;
    }
    st = cli_keystore(c, &ks);
    if (st != OCP_OK)
        return cli_fail("opening the key store", st);
    if ((rc = cli_registry_open(c, &r)) != 0) {
        ocp_keystore_close(ks);
        return rc;
    }
    st = ocp_report(r, ks, from, to, &lines, &n);
    if (st != OCP_OK) {
        rc = st == OCP_E_KEY_MISSING ? cli_fail("settling", st)
                                     : cli_registry_fail(r, "settling", st);
        ocp_registry_close(r);
        ocp_keystore_close(ks);
        return rc;
    }
    if (c->json) {
        json_t *a = json_array();
        for (i = 0; i < n; i++) {
            char service[8];
            snprintf(service, sizeof service, "0x%04X", lines[i].service);
            json_array_append_new(
                a, json_pack("{s:s,s:s,s:s,s:I,s:I,s:I}", "operator",
                             lines[i].operator_name, "service", service,
                             "domain", cli_role_name(lines[i].domain), "uses",
                             (json_int_t)lines[i].uses, "amount",
                             (json_int_t)lines[i].amount, "excluded",
                             (json_int_t)lines[i].excluded));
        }
        out_print(1, json_pack("{s:s,s:s,s:o}", "from", from_s, "to", to_s,
                               "lines", a),
                  NULL);
    } else if (csv) {
        puts("operator,service,domain,uses,amount,excluded");
        for (i = 0; i < n; i++) {
            csv_field(lines[i].operator_name);
            printf(",0x%04X,%s,%llu,%llu,%llu\n", lines[i].service,
                   cli_role_name(lines[i].domain),
                   (unsigned long long)lines[i].uses,
                   (unsigned long long)lines[i].amount,
                   (unsigned long long)lines[i].excluded);
        }
    } else {
        printf("settlement %s to %s\n", from_s, to_s);
        printf("  %-24s %-7s %-9s %10s %12s %9s\n", "OPERATOR", "SERVICE",
               "DOMAIN", "USES", "AMOUNT", "HELD BACK");
        for (i = 0; i < n; i++)
            printf("  %-24s 0x%04X  %-9s %10llu %12llu %9llu\n",
                   lines[i].operator_name, lines[i].service,
                   cli_role_name(lines[i].domain),
                   (unsigned long long)lines[i].uses,
                   (unsigned long long)lines[i].amount,
                   (unsigned long long)lines[i].excluded);
        if (n == 0)
            puts("  (no consumption in this period)");
    }
    free(lines);
    ocp_registry_close(r);
    ocp_keystore_close(ks);
    return EXIT_OK;
}
