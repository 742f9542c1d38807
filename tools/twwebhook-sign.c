/*
 * SPDX-License-Identifier: Apache-2.0
 * twwebhook-sign - signs a webhook body the way a provider does (Teamwork
 * by default, or any profile mod_twwebhook knows), for tests, demos and
 * debugging a mod_twwebhook setup.
 *
 *   twwebhook-sign (-s SECRET | -f SECRETFILE) [BODYFILE|-]
 *       prints the lowercase hex HMAC-SHA256 of the body (stdin for - or
 *       no file): Teamwork's Signature header value
 *   twwebhook-sign --profile NAME (-s SECRET | -f SECRETFILE)
 *                  [--timestamp T] [--id ID] [-e EVENT] [-d DELIVERY] [BODYFILE|-]
 *       prints the headers that profile's sender would send, one
 *       "Name: value" line each (signature, timestamp, message id, event,
 *       delivery, as the profile has them)
 *   twwebhook-sign --curl URL [--profile NAME] (-s SECRET | -f SECRETFILE)
 *                  [--timestamp T] [--id ID] [-e EVENT] [-d DELIVERY] BODYFILE
 *       prints a ready-to-run curl command posting BODYFILE with those
 *       headers (default profile: Event, Delivery (default: a random UUID
 *       v4) and Signature); curl --fail-with-body shows a refusal and
 *       exits 22 on it
 *
 * Profiles that sign a timestamp use --timestamp (default: now); those
 * that sign a message id (standard-webhooks' webhook-id) use --id
 * (default: msg_ and 24 random hex digits). The signing itself is
 * libtwsign's tw_scheme_sign() (tw/sign.h); a secret file is read by the
 * core's one rule, tw_secret_from_file(), as TwWebhookSecret file:...
 * reads it: one trailing "\n" or "\r\n" is stripped, and any other CR or
 * LF is an error. Exit status: 0 done, 1 failure, 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "twwebhook.h"
#include "tw/sign.h"

#define EXIT_USAGE 2
#define UUID_LEN   36
#define MSG_ID_RANDOM_BYTES 12
#define OPT_CURL      256   /* the long options without a short form */
#define OPT_PROFILE   257
#define OPT_TIMESTAMP 258
#define OPT_ID        259

static const char *progname = "twwebhook-sign";

struct options {
    const char *secret_arg;     /* -s */
    const char *secret_file;    /* -f */
    const char *curl_url;       /* --curl */
    const char *event;          /* -e */
    const char *delivery;       /* -d */
    const char *profile_name;   /* --profile */
    const char *timestamp_arg;  /* --timestamp */
    const char *id;             /* --id */
    const char *body_file;      /* NULL or "-": stdin */
    const tw_profile_t *profile;
    apr_int64_t timestamp;      /* --timestamp, or now */
};

static void print_profiles(FILE *out)
{
    const tw_profile_t *p;
    size_t i;

    for (i = 0; (p = tw_profile_at(i)) != NULL; i++)
        fprintf(out, "  %-19s %s\n", p->name, p->description);
}

static void print_usage(FILE *out)
{
    fprintf(out,
        "usage: %s (-s SECRET | -f SECRETFILE) [BODYFILE|-]\n"
        "       %s --profile NAME (-s SECRET | -f SECRETFILE) [--timestamp T] [--id ID]\n"
        "                      [-e EVENT] [-d DELIVERY] [BODYFILE|-]\n"
        "       %s --curl URL [--profile NAME] (-s SECRET | -f SECRETFILE) [--timestamp T]\n"
        "                      [--id ID] [-e EVENT] [-d DELIVERY] BODYFILE\n"
        "\n"
        "Without --profile, prints the lowercase hex HMAC-SHA256 of the body (standard\n"
        "input when BODYFILE is - or missing), as the Signature header mod_twwebhook\n"
        "checks. With --profile, prints the headers that provider sends, one\n"
        "\"Name: value\" line each.\n"
        "\n"
        "  -f, --secret-file FILE  read the secret from FILE; one trailing newline\n"
        "                          (\\n or \\r\\n) is stripped, as the module does, and\n"
        "                          any other CR or LF in it is an error\n"
        "  -s, --secret SECRET     the secret itself (visible to every local user\n"
        "                          in the process list: prefer -f)\n"
        "      --profile NAME      sign as that provider does (default: teamwork)\n"
        "      --timestamp T       Unix seconds to sign, for profiles that sign a\n"
        "                          timestamp (default: now)\n"
        "      --id ID             message id to sign ([A-Za-z0-9_-]), for profiles\n"
        "                          that sign one (default: msg_ + random hex)\n"
        "      --curl URL          print a curl command that POSTs BODYFILE to URL\n"
        "                          with the profile's headers (curl exits 22 when\n"
        "                          the answer is 400 or above)\n"
        "  -e, --event EVENT       event header, for profiles with one (omitted\n"
        "                          when not given)\n"
        "  -d, --delivery ID       delivery header, for profiles with one (default:\n"
        "                          random UUID v4; the message id where that is it)\n"
        "  -h, --help              this text\n"
        "\n"
        "Profiles:\n",
        progname, progname, progname);
    print_profiles(out);
    fprintf(out, "\nExit status: 0 done, 1 failure, 2 usage error.\n");
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
 * Reads the secret file into secret (cap bytes, at least
 * TW_SECRET_FILE_READ_MAX) by the core's rule, tw_secret_from_file(), so
 * the tool and the module can never read a file differently. Returns the
 * length, or 0 after printing why.
 */
static size_t read_secret_file(const char *path, unsigned char *secret, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t len = 0;
    tw_status_t st;

    if (f == NULL) {
        fprintf(stderr, "%s: cannot open secret file %s: %s\n", progname, path, strerror(errno));
        return 0;
    }
    len = fread(secret, 1, cap < TW_SECRET_FILE_READ_MAX ? cap : TW_SECRET_FILE_READ_MAX, f);
    if (ferror(f)) {
        fprintf(stderr, "%s: cannot read secret file %s\n", progname, path);
        fclose(f);
        return 0;
    }
    fclose(f);
    st = tw_secret_from_file(secret, len, &len);
    switch (st) {
    case TW_OK:
        return len;
    case TW_ERR_SECRET_TOO_LONG:
        fprintf(stderr, "%s: secret in %s is longer than %d bytes\n", progname, path, TW_SECRET_MAX);
        return 0;
    case TW_ERR_SECRET_EMPTY:
        fprintf(stderr, "%s: secret file %s is empty\n", progname, path);
        return 0;
    default:
        fprintf(stderr, "%s: secret file %s: %s (only one trailing \\n or \\r\\n is allowed)\n",
                progname, path, tw_status_str(st));
        return 0;
    }
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

/* A random (version 4, RFC 9562) UUID in lowercase; 0 when RAND_bytes (or
 * the hex encoding) fails. */
static int make_uuid_v4(char out[UUID_LEN + 1])
{
    unsigned char b[16];
    char hex[33];

    if (RAND_bytes(b, sizeof(b)) != 1)
        return 0;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);   /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);   /* variant 10 */
    if (tw_hex_encode(b, sizeof(b), hex, sizeof(hex)) != TW_OK)
        return 0;
    snprintf(out, UUID_LEN + 1, "%.8s-%.4s-%.4s-%.4s-%.12s",
             hex, hex + 8, hex + 12, hex + 16, hex + 20);
    return 1;
}

/* msg_ and 24 random hex digits, a plain webhook-id; 0 when RAND_bytes (or
 * the hex encoding) fails. */
static int make_message_id(char out[4 + 2 * MSG_ID_RANDOM_BYTES + 1])
{
    unsigned char b[MSG_ID_RANDOM_BYTES];

    if (RAND_bytes(b, sizeof(b)) != 1)
        return 0;
    memcpy(out, "msg_", 4);
    return tw_hex_encode(b, sizeof(b), out + 4, 2 * MSG_ID_RANDOM_BYTES + 1) == TW_OK;
}

/* The headers sent besides the scheme's: the profile's event and delivery. */
struct extra_headers {
    const char *event_name, *event;         /* NULL: none sent */
    const char *delivery_name, *delivery;
    char uuid[UUID_LEN + 1];
    char msg_id[4 + 2 * MSG_ID_RANDOM_BYTES + 1];
    const char *id;                          /* the signed message id, or NULL */
};

/* 1 when the profile's delivery id is the signed message id (webhook-id). */
static int delivery_is_message_id(const tw_profile_t *p)
{
    return p->delivery_source == TW_SOURCE_HEADER && p->id_header != NULL
        && strcasecmp(p->delivery_field, p->id_header) == 0;
}

/* Fills x from the options and the profile; 0 after printing why not. */
static int resolve_extra_headers(const struct options *o, struct extra_headers *x)
{
    const tw_profile_t *p = o->profile;

    memset(x, 0, sizeof(*x));
    if (p->event_source == TW_SOURCE_HEADER && o->event != NULL) {
        x->event_name = p->event_field;
        x->event = o->event;
    }
    if (p->id_header != NULL) {
        x->id = o->id != NULL ? o->id : o->delivery;
        if (x->id == NULL) {
            if (!make_message_id(x->msg_id)) {
                fprintf(stderr, "%s: RAND_bytes failed: cannot make a message id\n", progname);
                return 0;
            }
            x->id = x->msg_id;
        }
    }
    if (p->delivery_source == TW_SOURCE_HEADER && !delivery_is_message_id(p)) {
        x->delivery_name = p->delivery_field;
        x->delivery = o->delivery;
        if (x->delivery == NULL) {
            if (!make_uuid_v4(x->uuid)) {
                fprintf(stderr, "%s: RAND_bytes failed: cannot make a delivery id\n", progname);
                return 0;
            }
            x->delivery = x->uuid;
        }
    }
    /* The checks mod_twwebhook applies to these headers. */
    if (p == tw_profile_default()) {
        if (x->event != NULL && !tw_event_is_plain(x->event))
            fprintf(stderr, "%s: warning: Event '%s' is not %s, at most %d characters: "
                    "mod_twwebhook will answer 400\n", progname, x->event, TW_EVENT_SYNTAX,
                    TW_EVENT_MAX);
        if (!tw_delivery_is_plain(x->delivery))
            fprintf(stderr, "%s: warning: Delivery '%s' is not [A-Za-z0-9_-]{1,%d}: "
                    "mod_twwebhook will answer 400\n", progname, x->delivery, TW_DELIVERY_MAX);
    }
    return 1;
}

/* Calls emit for every header to send, in order: event, delivery, the scheme's. */
static void each_header(const struct extra_headers *x, const tw_signed_headers_t *sh,
                        void (*emit)(const char *name, const char *value))
{
    size_t i;

    if (x->event_name != NULL)
        emit(x->event_name, x->event);
    if (x->delivery_name != NULL)
        emit(x->delivery_name, x->delivery);
    for (i = 0; i < sh->nheaders; i++)
        emit(sh->headers[i].name, sh->headers[i].value);
}

static void print_header_line(const char *name, const char *value)
{
    printf("%s: %s\n", name, value);
}

static int print_curl_command(const struct options *o, const struct extra_headers *x,
                              const tw_signed_headers_t *sh)
{
    char *abs_path, *data_arg;

    /* An absolute path keeps the command usable from any directory. */
    abs_path = realpath(o->body_file, NULL);
    data_arg = malloc(strlen(abs_path != NULL ? abs_path : o->body_file) + 2);
    if (data_arg == NULL) {
        free(abs_path);
        fprintf(stderr, "%s: out of memory\n", progname);
        return EXIT_FAILURE;
    }
    sprintf(data_arg, "@%s", abs_path != NULL ? abs_path : o->body_file);

    /* --fail-with-body: a refusal (401, 503, ...) still shows the module's
     * one-line answer, and curl exits 22 instead of 0, so that a script
     * running the command notices. */
    fputs("curl -sS --fail-with-body -X POST --data-binary ", stdout);
    print_shell_quoted(data_arg);
    print_header_arg("Content-Type", "application/json");
    each_header(x, sh, print_header_arg);
    putchar(' ');
    print_shell_quoted(o->curl_url);
    putchar('\n');
    free(data_arg);
    free(abs_path);
    return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
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

/* 1 when s has no control character: it goes into a header line. */
static int is_header_safe(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    }
    return 1;
}

/* The checks that need the profile; -1 to go on, else the exit status. */
static int check_profile_options(struct options *o)
{
    const tw_profile_t *p;
    tw_status_t st;

    o->profile = o->profile_name != NULL ? tw_profile_find(o->profile_name) : tw_profile_default();
    if (o->profile == NULL) {
        fprintf(stderr, "%s: unknown profile '%s'; the profiles are:\n", progname, o->profile_name);
        print_profiles(stderr);
        return EXIT_USAGE;
    }
    p = o->profile;
    if (o->event != NULL && p->event_source != TW_SOURCE_HEADER)
        return usage_error(p->event_source == TW_SOURCE_BODY
                           ? "-e: this profile's event is in the body" : "-e: this profile has no event");
    if (o->delivery != NULL && p->delivery_source != TW_SOURCE_HEADER)
        return usage_error(p->delivery_source == TW_SOURCE_BODY
                           ? "-d: this profile's delivery id is in the body"
                           : "-d: this profile has no delivery id");
    if (o->delivery != NULL && o->id != NULL && delivery_is_message_id(p))
        return usage_error("-d and --id name the same header for this profile: give one");
    if (o->id != NULL && p->id_header == NULL)
        return usage_error("--id: this profile signs no message id");
    if (o->timestamp_arg != NULL && !p->signs_timestamp)
        return usage_error("--timestamp: this profile signs no timestamp");
    if ((o->event != NULL && !is_header_safe(o->event))
        || (o->delivery != NULL && !is_header_safe(o->delivery)))
        return usage_error("-e and -d values may not hold control characters");
    if (o->timestamp_arg != NULL) {
        st = tw_timestamp_parse(o->timestamp_arg, &o->timestamp);
        if (st != TW_OK)
            return usage_error("--timestamp takes Unix seconds: 0..1000000000000, digits only");
    }
    else {
        o->timestamp = (apr_int64_t)time(NULL);
    }
    return -1;
}

/* Parses argv into o; returns -1 to go on, else the exit status. */
static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        { "secret",      required_argument, NULL, 's' },
        { "secret-file", required_argument, NULL, 'f' },
        { "curl",        required_argument, NULL, OPT_CURL },
        { "profile",     required_argument, NULL, OPT_PROFILE },
        { "timestamp",   required_argument, NULL, OPT_TIMESTAMP },
        { "id",          required_argument, NULL, OPT_ID },
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
        case OPT_PROFILE: o->profile_name = optarg; break;
        case OPT_TIMESTAMP: o->timestamp_arg = optarg; break;
        case OPT_ID: o->id = optarg; break;
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
    if (o->curl_url == NULL && o->profile_name == NULL
        && (o->event != NULL || o->delivery != NULL || o->id != NULL || o->timestamp_arg != NULL))
        return usage_error("-e, -d, --id and --timestamp only go with --curl or --profile");
    if (o->curl_url != NULL && (o->body_file == NULL || strcmp(o->body_file, "-") == 0))
        return usage_error("--curl needs a BODYFILE (curl reads the body from it)");
    c = check_profile_options(o);
    if (c >= 0)
        return c;
    if (o->secret_arg != NULL)
        fprintf(stderr, "%s: warning: -s puts the secret in the process list "
                "and shell history; prefer -f SECRETFILE\n", progname);
    return -1;
}

/* Signs the body under o's profile into sh; 0 after printing why not. */
static int sign_body(const struct options *o, const struct extra_headers *x,
                     tw_signed_headers_t *sh)
{
    unsigned char secret[TW_SECRET_FILE_READ_MAX];
    unsigned char *body;
    size_t secret_len, body_len = 0;
    tw_status_t st;

    secret_len = load_secret(o, secret, sizeof(secret));
    /* Shortens the time -s shows in ps; it does not close the window. */
    if (o->secret_arg != NULL)
        OPENSSL_cleanse((char *)o->secret_arg, strlen(o->secret_arg));
    if (secret_len == 0) {
        OPENSSL_cleanse(secret, sizeof(secret));
        return 0;
    }
    body = read_body(o->body_file, &body_len);
    if (body == NULL) {
        OPENSSL_cleanse(secret, sizeof(secret));
        return 0;
    }
    st = tw_scheme_sign(o->profile, secret, secret_len, body, body_len, o->timestamp, x->id, sh);
    OPENSSL_cleanse(secret, sizeof(secret));
    free(body);
    if (st == TW_ERR_SECRET_MALFORMED)
        fprintf(stderr, "%s: profile %s needs a whsec_<base64> secret\n", progname, o->profile->name);
    else if (st == TW_ERR_ID_MALFORMED)
        fprintf(stderr, "%s: the message id must be 1..%d characters of [A-Za-z0-9_-]\n",
                progname, TW_ID_MAX);
    else if (st != TW_OK)
        fprintf(stderr, "%s: signing failed: %s\n", progname, tw_status_str(st));
    return st == TW_OK;
}

int main(int argc, char **argv)
{
    struct options o;
    struct extra_headers x;
    tw_signed_headers_t sh;
    int status;

    memset(&o, 0, sizeof(o));
    status = parse_options(argc, argv, &o);
    if (status >= 0)
        return status;
    if (!resolve_extra_headers(&o, &x) || !sign_body(&o, &x, &sh))
        return EXIT_FAILURE;

    if (o.curl_url != NULL) {
        status = print_curl_command(&o, &x, &sh);
    }
    else if (o.profile_name != NULL) {
        each_header(&x, &sh, print_header_line);
        status = fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
    }
    else {
        /* The default profile's one header, bare, as before profiles. */
        printf("%s\n", sh.headers[0].value);
        status = fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
    }
    OPENSSL_cleanse(&sh, sizeof(sh));
    return status;
}
