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

#endif
