/* fuzz_file.h: a fuzz input as a file the real readers open by path.
 *
 * The readers take paths (they open, fstat and read like a user's file), so
 * each input is written to a memfd, a regular file in memory that no crash
 * leaves behind on disk, and reached as /proc/self/fd/N. Linux only, like
 * libFuzzer here. The includer defines _GNU_SOURCE first (memfd_create). */
#ifndef FUZZ_FILE_H
#define FUZZ_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

enum { FUZZ_FILES = 2 };

/* Makes file `slot` hold exactly data[0..n); returns its path (static
 * storage) or NULL when the memfd cannot be made or written. */
static const char *fuzz_file(int slot, const uint8_t *data, size_t n)
{
    static int fd[FUZZ_FILES] = {-1, -1};
    static char path[FUZZ_FILES][48];
    if (fd[slot] < 0) {
        fd[slot] = memfd_create("tgraph-fuzz", MFD_CLOEXEC);
        if (fd[slot] < 0) return NULL;
        snprintf(path[slot], sizeof path[slot], "/proc/self/fd/%d", fd[slot]);
    }
    if (ftruncate(fd[slot], 0) != 0) return NULL;
    for (size_t done = 0; done < n;) {
        ssize_t k = pwrite(fd[slot], data + done, n - done, (off_t)done);
        if (k <= 0) return NULL;
        done += (size_t)k;
    }
    return path[slot];
}

/* A broken invariant of the reader under test: the harness (never the
 * library) stops here, so libFuzzer keeps the input. */
#define FUZZ_CHECK(cond, ...)                                           \
    do {                                                                \
        if (!(cond)) {                                                  \
            fprintf(stderr, "fuzz check failed: %s: ", #cond);          \
            fprintf(stderr, __VA_ARGS__);                               \
            fputc('\n', stderr);                                        \
            abort();                                                    \
        }                                                               \
    } while (0)

#endif
