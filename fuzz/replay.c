/* replay.c: runs a fuzz harness's LLVMFuzzerTestOneInput over files, as a
 * plain program without libFuzzer. The unit tests fuzz_replay_idx and
 * fuzz_replay_checkpoint (fuzz/meson.build) feed it the seed corpus and
 * every input fuzz/run.sh kept in fuzz/regressions, in the plain and the
 * sanitizer builds, so a crash once found stays fixed.
 *
 * Usage: replay PREFIX CORPUS_DIR REGRESSIONS_DIR: every file of CORPUS_DIR,
 * then those of REGRESSIONS_DIR whose name starts with PREFIX ("idx-"); a
 * missing directory holds nothing. Exits 0 after all of them, printing how
 * many; a harness check or a sanitizer stops it earlier. */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The bytes of path in a new buffer (at least 1 byte), or NULL. */
static uint8_t *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    uint8_t *b = malloc(cap);
    for (size_t k; b && (k = fread(b + n, 1, cap - n, f)) > 0;) {
        n += k;
        if (n == cap) {
            uint8_t *nb = realloc(b, cap *= 2);
            if (!nb) free(b);
            b = nb;
        }
    }
    fclose(f);
    *size = n;
    return b;
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Replays the regular files of dir whose names start with prefix, in name
 * order; returns how many, or -1 on an error. */
static int replay_dir(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    char *names[4096];
    int n = 0;
    for (struct dirent *e; n < 4096 && (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.' && strncmp(e->d_name, prefix, strlen(prefix)) == 0 && (names[n] = strdup(e->d_name)))
            n++;
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_names);
    int done = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        free(names[i]);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        size_t size = 0;
        uint8_t *data = slurp(path, &size);
        if (!data) {
            fprintf(stderr, "replay: cannot read %s\n", path);
            done = -1;
            continue;
        }
        printf("replay: %s (%zu bytes)\n", path, size);
        fflush(stdout);
        LLVMFuzzerTestOneInput(data, size);
        free(data);
        if (done >= 0) done++;
    }
    return done;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s PREFIX CORPUS_DIR REGRESSIONS_DIR\n", argv[0]);
        return 2;
    }
    int corpus = replay_dir(argv[2], ""), regressions = replay_dir(argv[3], argv[1]);
    if (corpus < 0 || regressions < 0) return 1;
    printf("replay: %d corpus inputs and %d regression inputs, all handled\n", corpus, regressions);
    return 0;
}
