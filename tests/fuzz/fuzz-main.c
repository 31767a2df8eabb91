/* SPDX-License-Identifier: MIT */
/*
 * Replays inputs through a libFuzzer target without libFuzzer (systemd's
 * fuzz-main.c), so gcc builds run every corpus file, and every crash ever
 * found, in `make check`:
 *
 *   fuzz-http-replay tests/fuzz/corpus/http/ [more files or directories]
 *
 * A directory stands for every regular file in it (not recursively, in
 * name order). Each input is read into a buffer of exactly its size, so
 * ASan reports a read past the end. Set FUZZ_MAIN_VERBOSE=1 to print each
 * file name before it runs. Exits 0 after replaying at least one input,
 * 1 if none was found or one could not be read.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional in a target, as in libFuzzer. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

#define FUZZ_MAIN_INPUT_MAX (64 * 1024 * 1024)

static bool verbose;

/* Reads all of fd into a malloc'ed buffer of exactly its size. */
static int read_all(int fd, uint8_t **ret_data, size_t *ret_size)
{
        uint8_t *data = NULL, *exact;
        size_t size = 0, alloc = 0;

        for (;;) {
                ssize_t n;

                if (size == alloc) {
                        uint8_t *p;

                        if (alloc >= FUZZ_MAIN_INPUT_MAX) {
                                free(data);
                                return -EFBIG;
                        }
                        alloc = alloc ? alloc * 2 : 4096;
                        p = realloc(data, alloc);
                        if (!p) {
                                free(data);
                                return -ENOMEM;
                        }
                        data = p;
                }
                n = read(fd, data + size, alloc - size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        free(data);
                        return -errno;
                }
                if (n == 0)
                        break;
                size += (size_t)n;
        }

        /* The target gets a buffer of exactly size bytes (one for empty input). */
        exact = malloc(size ? size : 1);
        if (!exact) {
                free(data);
                return -ENOMEM;
        }
        if (size > 0)
                memcpy(exact, data, size);
        free(data);
        *ret_data = exact;
        *ret_size = size;
        return 0;
}

static int replay_file(int dirfd, const char *name, const char *shown)
{
        uint8_t *data = NULL;
        size_t size = 0;
        int fd, r;

        fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                fprintf(stderr, "Failed to open '%s': %s\n", shown, strerror(-r));
                return r;
        }
        r = read_all(fd, &data, &size);
        (void)close(fd);
        if (r < 0) {
                fprintf(stderr, "Failed to read '%s': %s\n", shown, strerror(-r));
                return r;
        }
        if (verbose)
                fprintf(stderr, "%s (%zu bytes)\n", shown, size);
        (void)LLVMFuzzerTestOneInput(data, size);
        free(data);
        return 0;
}

static int only_visible(const struct dirent *de)
{
        return de->d_name[0] != '.';
}

/* Replays every regular file in path; returns how many, or -errno. */
static int replay_dir(const char *path)
{
        struct dirent **names;
        int dirfd, n, count = 0, r = 0;

        dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0) {
                r = -errno;
                fprintf(stderr, "Failed to open directory '%s': %s\n", path, strerror(-r));
                return r;
        }
        n = scandirat(dirfd, ".", &names, only_visible, alphasort);
        if (n < 0) {
                r = -errno;
                fprintf(stderr, "Failed to list '%s': %s\n", path, strerror(-r));
                (void)close(dirfd);
                return r;
        }
        for (int i = 0; i < n; i++) {
                struct stat st;
                char shown[4096];

                if (r >= 0 && fstatat(dirfd, names[i]->d_name, &st, 0) == 0 &&
                    S_ISREG(st.st_mode)) {
                        (void)snprintf(shown, sizeof(shown), "%s/%s", path, names[i]->d_name);
                        r = replay_file(dirfd, names[i]->d_name, shown);
                        if (r >= 0)
                                count++;
                }
                free(names[i]);
        }
        free(names);
        (void)close(dirfd);
        return r < 0 ? r : count;
}

int main(int argc, char *argv[])
{
        const char *argv0 = argc > 0 ? argv[0] : "fuzz-main";
        long total = 0;

        verbose = getenv("FUZZ_MAIN_VERBOSE") && strcmp(getenv("FUZZ_MAIN_VERBOSE"), "0") != 0;
        if (LLVMFuzzerInitialize)
                (void)LLVMFuzzerInitialize(&argc, &argv);

        for (int i = 1; i < argc; i++) {
                struct stat st;
                int r;

                if (stat(argv[i], &st) < 0) {
                        fprintf(stderr, "%s: cannot access '%s': %s\n", argv0, argv[i],
                                strerror(errno));
                        return 1;
                }
                if (S_ISDIR(st.st_mode)) {
                        r = replay_dir(argv[i]);
                        if (r < 0)
                                return 1;
                        total += r;
                } else {
                        if (replay_file(AT_FDCWD, argv[i], argv[i]) < 0)
                                return 1;
                        total++;
                }
        }

        printf("%s: replayed %ld inputs\n", argv0, total);
        return total > 0 ? 0 : 1;
}
