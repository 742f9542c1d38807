/*
 * SPDX-License-Identifier: Apache-2.0
 * fuzz_run_inputs.c - runs a fuzz target over saved inputs, printing TAP.
 *
 *   fuzz_run_inputs TARGET FILE_OR_DIR...    one "ok" per file, directories
 *                                        walked recursively, in name order
 *   fuzz_run_inputs --list                   the target names, one a line
 *
 * This is how "make check" runs the seed corpus (fuzz/run-corpus) and how a
 * crash file from libFuzzer is run again without clang. A target that finds
 * a disagreement aborts: the SIGABRT handler names the file first.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_targets.h"

#define REPLAY_MAX_INPUT (16 * 1024 * 1024)   /* corpus files are tiny; refuse junk */

struct file_list {
    char **paths;
    size_t count, cap;
};

static const char *current_path;   /* for the signal handler */

static void on_fatal_signal(int sig)
{
    static const char msg[] = "fuzz_run_inputs: target crashed on ";

    /* Only async-signal-safe calls here. */
    if (current_path != NULL) {
        (void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
        (void)!write(STDERR_FILENO, current_path, strlen(current_path));
        (void)!write(STDERR_FILENO, "\n", 1);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

/*
 * Names the input on a crash, unless a sanitizer already handles the
 * signal: its report is worth more than our one line.
 */
static void catch_fatal_signal(int sig)
{
    struct sigaction old, sa;

    if (sigaction(sig, NULL, &old) != 0 || old.sa_handler != SIG_DFL)
        return;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_fatal_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

static const tw_fuzz_target_t *find_target(const char *name)
{
    const tw_fuzz_target_t *t;

    for (t = tw_fuzz_targets; t->name != NULL; t++) {
        if (strcmp(t->name, name) == 0)
            return t;
    }
    return NULL;
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (p == NULL) {
        fprintf(stderr, "fuzz_run_inputs: out of memory\n");
        exit(2);
    }
    return p;
}

static void list_add(struct file_list *list, const char *path)
{
    if (list->count == list->cap) {
        list->cap = list->cap ? 2 * list->cap : 64;
        list->paths = xrealloc(list->paths, list->cap * sizeof(*list->paths));
    }
    list->paths[list->count] = xrealloc(NULL, strlen(path) + 1);
    strcpy(list->paths[list->count], path);
    list->count++;
}

static int compare_paths(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds path, or every regular file below it; 0 when it cannot be read. */
static int collect(struct file_list *list, const char *path)
{
    struct stat st;
    struct dirent *e;
    DIR *d;

    if (stat(path, &st) != 0) {
        fprintf(stderr, "fuzz_run_inputs: %s: %s\n", path, strerror(errno));
        return 0;
    }
    if (!S_ISDIR(st.st_mode)) {
        list_add(list, path);
        return 1;
    }
    d = opendir(path);
    if (d == NULL) {
        fprintf(stderr, "fuzz_run_inputs: %s: %s\n", path, strerror(errno));
        return 0;
    }
    while ((e = readdir(d)) != NULL) {
        char *child;

        /* Hidden files (.gitignore, editor droppings) are not inputs. */
        if (e->d_name[0] == '.')
            continue;
        child = xrealloc(NULL, strlen(path) + strlen(e->d_name) + 2);
        sprintf(child, "%s/%s", path, e->d_name);
        if (!collect(list, child)) {
            free(child);
            closedir(d);
            return 0;
        }
        free(child);
    }
    closedir(d);
    return 1;
}

/* Reads a whole file into a fresh buffer; NULL on error. */
static unsigned char *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t len = 0, n;

    if (f == NULL)
        return NULL;
    buf = xrealloc(NULL, 4096);
    while ((n = fread(buf + len, 1, 4096, f)) > 0) {
        len += n;
        if (len > REPLAY_MAX_INPUT)
            break;
        buf = xrealloc(buf, len + 4096);
    }
    if (ferror(f) || len > REPLAY_MAX_INPUT) {
        fclose(f);
        free(buf);
        return NULL;
    }
    fclose(f);
    *size = len;
    return buf;
}

static int usage(void)
{
    fprintf(stderr, "usage: fuzz_run_inputs TARGET FILE_OR_DIR...\n"
                    "       fuzz_run_inputs --list\n");
    return 2;
}

int main(int argc, char **argv)
{
    const tw_fuzz_target_t *target;
    struct file_list list = { NULL, 0, 0 };
    size_t i;
    int failed = 0, a;

    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (target = tw_fuzz_targets; target->name != NULL; target++)
            printf("%s\n", target->name);
        return 0;
    }
    if (argc < 3)
        return usage();
    target = find_target(argv[1]);
    if (target == NULL) {
        fprintf(stderr, "fuzz_run_inputs: unknown target '%s' (try --list)\n", argv[1]);
        return 2;
    }
    for (a = 2; a < argc; a++) {
        if (!collect(&list, argv[a]))
            return 1;
    }
    if (list.count == 0) {
        fprintf(stderr, "fuzz_run_inputs: no input files\n");
        return 1;
    }
    qsort(list.paths, list.count, sizeof(*list.paths), compare_paths);

    catch_fatal_signal(SIGABRT);
    catch_fatal_signal(SIGSEGV);
    printf("1..%zu\n", list.count);
    for (i = 0; i < list.count; i++) {
        size_t size = 0;
        unsigned char *data = read_file(list.paths[i], &size);

        if (data == NULL) {
            printf("not ok %zu - %s %s: cannot read: %s\n", i + 1, target->name,
                   list.paths[i], strerror(errno));
            failed = 1;
            continue;
        }
        fflush(stdout);
        current_path = list.paths[i];
        target->run(data, size);
        current_path = NULL;
        printf("ok %zu - %s %s (%zu bytes)\n", i + 1, target->name, list.paths[i], size);
        free(data);
    }
    for (i = 0; i < list.count; i++)
        free(list.paths[i]);
    free(list.paths);
    return failed;
}
