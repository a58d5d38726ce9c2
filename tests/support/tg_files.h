/* tg_files.h: scratch folders for the tests that write files (IDX data,
 * checkpoints, converted digits). Needs _POSIX_C_SOURCE 200809L before the
 * first include (mkdtemp, lstat). Everything asserts with Check. */
#ifndef TG_FILES_H
#define TG_FILES_H

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* "dir/name", malloc'ed; the caller frees it. */
static inline char *tgf_path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* A new empty folder /tmp/<prefix>.XXXXXX, malloc'ed; the caller frees it
 * after tgf_remove_tree. */
static inline char *tgf_make_tmpdir(const char *prefix)
{
    char *d = tgf_path_join("/tmp", prefix);
    size_t n = strlen(d) + sizeof ".XXXXXX";
    char *t = malloc(n);
    ck_assert_ptr_nonnull(t);
    snprintf(t, n, "%s.XXXXXX", d);
    free(d);
    ck_assert_ptr_nonnull(mkdtemp(t));
    return t;
}

/* Removes dir and everything under it (files and folders; a folder a test
 * made read-only is opened up first). */
static inline void tgf_remove_tree(const char *dir)
{
    chmod(dir, 0700);
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char *p = tgf_path_join(dir, e->d_name);
        struct stat st;
        ck_assert_int_eq(lstat(p, &st), 0);
        if (S_ISDIR(st.st_mode)) tgf_remove_tree(p);
        else ck_assert_int_eq(unlink(p), 0);
        free(p);
    }
    closedir(d);
    ck_assert_int_eq(rmdir(dir), 0);
}


/* The whole file at path, malloc'ed (one byte more than *size). */
static inline unsigned char *tgf_read_all(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    ck_assert_int_ge(n, 0);
    rewind(f);
    unsigned char *b = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *size = (size_t)n;
    return b;
}

/* Writes n bytes of b as the file at path (replacing it). */
static inline void tgf_write_all(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fwrite(b, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

/* tests/data/tf (files written by TensorFlow), found from this header's
 * path (meson compiles the tests by paths relative to the build folder),
 * or $TG_TF_TESTDATA. */
static inline const char *tgf_tf_testdata(void)
{
    static char dir[4096];
    if (dir[0]) return dir;
    const char *env = getenv("TG_TF_TESTDATA");
    if (env) snprintf(dir, sizeof dir, "%s", env);
    else {
        const char *slash = strrchr(__FILE__, '/');
        int n = slash ? (int)(slash - __FILE__) : 1;
        snprintf(dir, sizeof dir, "%.*s/../data/tf", n, slash ? __FILE__ : ".");
    }
    struct stat st;
    ck_assert_msg(stat(dir, &st) == 0 && S_ISDIR(st.st_mode), "test data folder %s not found (set TG_TF_TESTDATA)",
                  dir);
    return dir;
}

#endif
