/*
 * twwebhook-sign - signs a webhook body the way Teamwork does, for tests,
 * demos and debugging a mod_twwebhook setup.
 *
 *   twwebhook-sign (-s SECRET | -f SECRETFILE) [BODYFILE|-]
 *       prints the lowercase hex HMAC-SHA256 of the body (stdin for - or
 *       no file)
 *   twwebhook-sign --curl URL (-s SECRET | -f SECRETFILE) [-e EVENT]
 *                  [-d DELIVERY] BODYFILE
 *       prints a ready-to-run curl command posting BODYFILE with the
 *       Event, Delivery (default: a random UUID v4) and Signature headers
 *
 * A secret file is read as TwWebhookSecret file:... reads it: one trailing
 * "\n" or "\r\n" is stripped. Exit status: 0 done, 1 failure, 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "twwebhook.h"

#define EXIT_USAGE 2
#define UUID_LEN   36
#define OPT_CURL   256   /* --curl has no short form */

static const char *progname = "twwebhook-sign";

struct options {
    const char *secret_arg;     /* -s */
    const char *secret_file;    /* -f */
    const char *curl_url;       /* --curl */
    const char *event;          /* -e */
    const char *delivery;       /* -d */
    const char *body_file;      /* NULL or "-": stdin */
};

static void print_usage(FILE *out)
{
    fprintf(out,
        "usage: %s (-s SECRET | -f SECRETFILE) [BODYFILE|-]\n"
        "       %s --curl URL (-s SECRET | -f SECRETFILE) [-e EVENT] [-d DELIVERY] BODYFILE\n"
        "\n"
        "Prints the lowercase hex HMAC-SHA256 of the body (standard input when\n"
        "BODYFILE is - or missing), as the Signature header mod_twwebhook checks.\n"
        "\n"
        "  -f, --secret-file FILE  read the secret from FILE; one trailing newline\n"
        "                          (\\n or \\r\\n) is stripped, as the module does\n"
        "  -s, --secret SECRET     the secret itself (visible to every local user\n"
        "                          in the process list: prefer -f)\n"
        "      --curl URL          print a curl command that POSTs BODYFILE to URL\n"
        "                          with Event, Delivery and Signature headers\n"
        "  -e, --event EVENT       Event header for --curl (omitted when not given)\n"
        "  -d, --delivery ID       Delivery header for --curl (default: random UUID v4)\n"
        "  -h, --help              this text\n"
        "\n"
        "Exit status: 0 done, 1 failure, 2 usage error.\n",
        progname, progname);
}

static int usage_hint(void)
{
    fprintf(stderr, "Try '%s --help'.\n", progname);
    return EXIT_USAGE;
}

static int usage_error(const char *msg)
{
    fprintf(stderr, "%s: %s\n", progname, msg);
    return usage_hint();
}

/* ---- reading ----------------------------------------------------------- */

/* Reads all of f into a malloc()ed buffer; NULL (errno set) on failure. */
static unsigned char *read_all(FILE *f, size_t *plen)
{
    size_t len = 0, cap = 65536, n;
    unsigned char *buf = malloc(cap), *bigger;

    if (buf == NULL)
        return NULL;
    while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            bigger = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
            if (bigger == NULL) {
                free(buf);
                errno = ENOMEM;
                return NULL;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    if (ferror(f)) {
        free(buf);
        errno = EIO;
        return NULL;
    }
    *plen = len;
    return buf;
}

static unsigned char *read_body(const char *path, size_t *plen)
{
    FILE *f = stdin;
    unsigned char *body;

    if (path != NULL && strcmp(path, "-") != 0) {
        f = fopen(path, "rb");
        if (f == NULL) {
            fprintf(stderr, "%s: cannot open body file %s: %s\n", progname, path, strerror(errno));
            return NULL;
        }
    }
    body = read_all(f, plen);
    if (body == NULL)
        fprintf(stderr, "%s: cannot read body %s: %s\n", progname,
                f == stdin ? "from standard input" : path, strerror(errno));
    if (f != stdin)
        fclose(f);
    return body;
}

/*
 * Reads the secret file into secret (cap bytes, TW_SECRET_MAX plus room
 * for a CRLF and one byte to detect "too long"), strips one trailing "\n"
 * or "\r\n". Returns the length, or 0 after printing why.
 */
static size_t read_secret_file(const char *path, unsigned char *secret, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t len;

    if (f == NULL) {
        fprintf(stderr, "%s: cannot open secret file %s: %s\n", progname, path, strerror(errno));
        return 0;
    }
    len = fread(secret, 1, cap, f);
    if (ferror(f)) {
        fprintf(stderr, "%s: cannot read secret file %s\n", progname, path);
        fclose(f);
        return 0;
    }
    fclose(f);
    if (len > 0 && secret[len - 1] == '\n') {
        len--;
        if (len > 0 && secret[len - 1] == '\r')
            len--;
    }
    if (len == 0) {
        fprintf(stderr, "%s: secret file %s is empty\n", progname, path);
        return 0;
    }
    if (len > TW_SECRET_MAX) {
        fprintf(stderr, "%s: secret in %s is longer than %d bytes\n", progname, path, TW_SECRET_MAX);
        return 0;
    }
    return len;
}

/* The secret from -s or -f into secret; its length, or 0 after an error. */
static size_t load_secret(const struct options *o, unsigned char *secret, size_t cap)
{
    size_t len;

    if (o->secret_file != NULL)
        return read_secret_file(o->secret_file, secret, cap);

    len = strlen(o->secret_arg);
    if (len == 0) {
        fprintf(stderr, "%s: the secret is empty\n", progname);
        return 0;
    }
    if (len > TW_SECRET_MAX) {
        fprintf(stderr, "%s: the secret is longer than %d bytes\n", progname, TW_SECRET_MAX);
        return 0;
    }
    memcpy(secret, o->secret_arg, len);
    return len;
}

/* ---- output ---------------------------------------------------------------- */

/* Writes s as one single-quoted POSIX shell word. */
static void print_shell_quoted(const char *s)
{
    putchar('\'');
    for (; *s != '\0'; s++) {
        if (*s == '\'')
            fputs("'\\''", stdout);
        else
            putchar(*s);
    }
    putchar('\'');
}

/* " -H 'Name: value'" */
static void print_header_arg(const char *name, const char *value)
{
    size_t n = strlen(name) + 2 + strlen(value) + 1;
    char *h = malloc(n);

    if (h == NULL) {
        fprintf(stderr, "%s: out of memory\n", progname);
        exit(EXIT_FAILURE);
    }
    snprintf(h, n, "%s: %s", name, value);
    fputs(" -H ", stdout);
    print_shell_quoted(h);
    free(h);
}

/* A random (version 4, RFC 9562) UUID in lowercase; 0 when RAND_bytes fails. */
static int make_uuid_v4(char out[UUID_LEN + 1])
{
    unsigned char b[16];
    char hex[33];

    if (RAND_bytes(b, sizeof(b)) != 1)
        return 0;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);   /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);   /* variant 10 */
    tw_hex_encode(b, sizeof(b), hex, sizeof(hex));
    snprintf(out, UUID_LEN + 1, "%.8s-%.4s-%.4s-%.4s-%.12s",
             hex, hex + 8, hex + 12, hex + 16, hex + 20);
    return 1;
}

static int print_curl_command(const struct options *o, const char *mac_hex)
{
    char uuid[UUID_LEN + 1];
    const char *delivery = o->delivery;
    char *abs_path, *data_arg;

    if (delivery == NULL) {
        if (!make_uuid_v4(uuid)) {
            fprintf(stderr, "%s: RAND_bytes failed: cannot make a delivery id\n", progname);
            return EXIT_FAILURE;
        }
        delivery = uuid;
    }
    if (o->event != NULL && !tw_event_is_plain(o->event))
        fprintf(stderr, "%s: warning: Event '%s' is not [a-z0-9._-]{1,128}: "
                "mod_twwebhook will answer 400\n", progname, o->event);
    if (!tw_delivery_is_plain(delivery))
        fprintf(stderr, "%s: warning: Delivery '%s' is not [A-Za-z0-9-]{1,128}: "
                "mod_twwebhook will answer 400\n", progname, delivery);

    /* An absolute path keeps the command usable from any directory. */
    abs_path = realpath(o->body_file, NULL);
    data_arg = malloc(strlen(abs_path != NULL ? abs_path : o->body_file) + 2);
    if (data_arg == NULL) {
        free(abs_path);
        fprintf(stderr, "%s: out of memory\n", progname);
        return EXIT_FAILURE;
    }
    sprintf(data_arg, "@%s", abs_path != NULL ? abs_path : o->body_file);

    fputs("curl -sS -X POST --data-binary ", stdout);
    print_shell_quoted(data_arg);
    print_header_arg("Content-Type", "application/json");
    if (o->event != NULL)
        print_header_arg("Event", o->event);
    print_header_arg("Delivery", delivery);
    print_header_arg("Signature", mac_hex);
    putchar(' ');
    print_shell_quoted(o->curl_url);
    putchar('\n');
    free(data_arg);
    free(abs_path);
    return EXIT_SUCCESS;
}

/* ---- main -------------------------------------------------------------------- */

/* The option getopt_long() just refused, for the error message. */
static const char *bad_option(char **argv)
{
    static char short_opt[3] = "-?";

    if (optopt > 0 && optopt < OPT_CURL) {
        short_opt[1] = (char)optopt;
        return short_opt;
    }
    return argv[optind - 1];
}

/* Parses argv into o; returns -1 to go on, else the exit status. */
static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        { "secret",      required_argument, NULL, 's' },
        { "secret-file", required_argument, NULL, 'f' },
        { "curl",        required_argument, NULL, OPT_CURL },
        { "event",       required_argument, NULL, 'e' },
        { "delivery",    required_argument, NULL, 'd' },
        { "help",        no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int c;

    opterr = 0;   /* our own messages, with the usage hint */
    while ((c = getopt_long(argc, argv, ":s:f:e:d:h", longopts, NULL)) != -1) {
        switch (c) {
        case 's': o->secret_arg = optarg; break;
        case 'f': o->secret_file = optarg; break;
        case OPT_CURL: o->curl_url = optarg; break;
        case 'e': o->event = optarg; break;
        case 'd': o->delivery = optarg; break;
        case 'h': print_usage(stdout); return EXIT_SUCCESS;
        case ':':
            fprintf(stderr, "%s: option %s needs an argument\n", progname, bad_option(argv));
            return usage_hint();
        default:
            fprintf(stderr, "%s: unknown option %s\n", progname, bad_option(argv));
            return usage_hint();
        }
    }
    if ((o->secret_arg == NULL) == (o->secret_file == NULL))
        return usage_error("give exactly one of -s SECRET and -f SECRETFILE");
    if (argc - optind > 1)
        return usage_error("at most one BODYFILE");
    o->body_file = optind < argc ? argv[optind] : NULL;
    if (o->curl_url == NULL && (o->event != NULL || o->delivery != NULL))
        return usage_error("-e and -d only go with --curl");
    if (o->curl_url != NULL && (o->body_file == NULL || strcmp(o->body_file, "-") == 0))
        return usage_error("--curl needs a BODYFILE (curl reads the body from it)");
    if (o->secret_arg != NULL)
        fprintf(stderr, "%s: warning: -s puts the secret in the process list "
                "and shell history; prefer -f SECRETFILE\n", progname);
    return -1;
}

int main(int argc, char **argv)
{
    struct options o = { NULL, NULL, NULL, NULL, NULL, NULL };
    unsigned char secret[TW_SECRET_MAX + 3];   /* + "\r\n" + one to see "too long" */
    unsigned char mac[TW_MAC_LEN];
    char mac_hex[TW_MAC_HEX_LEN + 1];
    unsigned char *body;
    size_t secret_len, body_len = 0;
    int status;

    status = parse_options(argc, argv, &o);
    if (status >= 0)
        return status;

    secret_len = load_secret(&o, secret, sizeof(secret));
    /* Shortens the time -s shows in ps; it does not close the window. */
    if (o.secret_arg != NULL)
        OPENSSL_cleanse((char *)o.secret_arg, strlen(o.secret_arg));
    if (secret_len == 0) {
        OPENSSL_cleanse(secret, sizeof(secret));
        return EXIT_FAILURE;
    }

    body = read_body(o.body_file, &body_len);
    if (body == NULL) {
        OPENSSL_cleanse(secret, sizeof(secret));
        return EXIT_FAILURE;
    }
    status = tw_hmac_sha256(secret, secret_len, body, body_len, mac) == TW_OK
        && tw_hex_encode(mac, sizeof(mac), mac_hex, sizeof(mac_hex)) == TW_OK;
    OPENSSL_cleanse(secret, sizeof(secret));
    OPENSSL_cleanse(mac, sizeof(mac));
    free(body);
    if (!status) {
        fprintf(stderr, "%s: computing HMAC-SHA256 failed\n", progname);
        return EXIT_FAILURE;
    }

    if (o.curl_url != NULL)
        return print_curl_command(&o, mac_hex);
    printf("%s\n", mac_hex);
    return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
