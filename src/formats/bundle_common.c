/* TF's dtypes and file names, errno codes, and opening untrusted files: the
 * parts of the tensor bundle format the reader and the writer share. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"

/* Indexed by TF's DataType number (types.proto). tf.DType.name spells
 * DT_FLOAT "float32" and DT_HALF "float16". */
static const tg__tf_dtype_info dtypes[TG__DT_MAX + 1] = {
    [1] = {"float32", 4, 4, TG_FLOAT32},  [2] = {"float64", 8, 8, TG_FLOAT64}, [3] = {"int32", 4, 4, TG_INT32},
    [4] = {"uint8", 1, 1, -1},            [5] = {"int16", 2, 2, -1},           [6] = {"int8", 1, 1, -1},
    [7] = {"string", 0, 0, -1},           [8] = {"complex64", 8, 4, -1},       [9] = {"int64", 8, 8, TG_INT64},
    [10] = {"bool", 1, 1, TG_BOOL},       [11] = {"qint8", 1, 1, -1},          [12] = {"quint8", 1, 1, -1},
    [13] = {"qint32", 4, 4, -1},          [14] = {"bfloat16", 2, 2, -1},       [15] = {"qint16", 2, 2, -1},
    [16] = {"quint16", 2, 2, -1},         [17] = {"uint16", 2, 2, -1},         [18] = {"complex128", 16, 8, -1},
    [19] = {"float16", 2, 2, -1},         [20] = {"resource", 0, 0, -1},       [21] = {"variant", 0, 0, -1},
    [22] = {"uint32", 4, 4, -1},          [23] = {"uint64", 8, 8, -1},
};

const tg__tf_dtype_info *tg__tf_dtype(int d)
{
    return d >= 1 && d <= TG__DT_MAX ? &dtypes[d] : NULL;
}

int tg__tf_dtype_of(tg_dtype d)
{
    static const int tf[TG_DTYPE_COUNT] = {[TG_FLOAT32] = TG__DT_FLOAT, [TG_FLOAT64] = TG__DT_DOUBLE,
                                           [TG_INT32] = TG__DT_INT32, [TG_INT64] = TG__DT_INT64,
                                           [TG_BOOL] = TG__DT_BOOL};
    return (unsigned)d < TG_DTYPE_COUNT ? tf[d] : 0;
}

static char *concat(const char *prefix, const char *suffix)
{
    size_t a = strlen(prefix), b = strlen(suffix);
    char *p = malloc(a + b + 1);
    if (!p) return NULL;
    memcpy(p, prefix, a);
    memcpy(p + a, suffix, b + 1);
    return p;
}

char *tg__index_path(const char *prefix) { return concat(prefix, ".index"); }

char *tg__data_path(const char *prefix, int shard, int num_shards)
{
    char suffix[48];
    snprintf(suffix, sizeof suffix, ".data-%05d-of-%05d", shard, num_shards);
    return concat(prefix, suffix);
}

tg_code tg__errno_code(int e)
{
    switch (e) {
    case ENOENT: case ENODEV: case ENXIO: return TG_NOT_FOUND;
    case EEXIST: return TG_ALREADY_EXISTS;
    case EACCES: case EPERM: case EROFS: return TG_PERMISSION_DENIED;
    case EISDIR: case ENOTDIR: case EBUSY: case ETXTBSY: return TG_FAILED_PRECONDITION;
    case ENOSPC: case EMFILE: case ENFILE: case ENOMEM: return TG_RESOURCE_EXHAUSTED;
#ifdef EDQUOT
    case EDQUOT: return TG_RESOURCE_EXHAUSTED;
#endif
    case EINVAL: case ENAMETOOLONG: case ELOOP: return TG_INVALID_ARGUMENT;
    case EFBIG: case EOVERFLOW: return TG_OUT_OF_RANGE;
    default: return TG_UNKNOWN;
    }
}

tg_code tg__errno_fail(int e, const char *what, const char *path, char *err, size_t err_size)
{
    char buf[256];
    if (strerror_r(e, buf, sizeof buf) != 0) snprintf(buf, sizeof buf, "error %d", e);
    return tg__ferr(err, err_size, tg__errno_code(e), "%s %s: %s", what, path, buf);
}

/* O_NONBLOCK because opening a FIFO would wait for a writer forever; it is
 * cleared once fstat shows a regular file. */
tg_code tg__open_regular(const char *path, int *fd, uint64_t *size, char *err, size_t err_size)
{
    *fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (*fd < 0) return tg__errno_fail(errno, "cannot open", path, err, err_size);
    struct stat st;
    tg_code code = TG_OK;
    int flags;
    if (fstat(*fd, &st) != 0)
        code = tg__errno_fail(errno, "cannot stat", path, err, err_size);
    else if (!S_ISREG(st.st_mode))
        code = tg__ferr(err, err_size, TG_INVALID_ARGUMENT, "%s is not a regular file", path);
    else if ((flags = fcntl(*fd, F_GETFL)) < 0 || fcntl(*fd, F_SETFL, flags & ~O_NONBLOCK) != 0)
        code = tg__errno_fail(errno, "cannot read", path, err, err_size);
    if (code != TG_OK) {
        close(*fd);
        *fd = -1;
        return code;
    }
    *size = st.st_size > 0 ? (uint64_t)st.st_size : 0;
    return TG_OK;
}

int tg__pread_full(int fd, void *buf, size_t n, uint64_t offset, size_t *got)
{
    *got = 0;
    while (*got < n) {
        ssize_t k = pread(fd, (char *)buf + *got, n - *got, (off_t)(offset + *got));
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return errno;
        if (k == 0) return 0;
        *got += (size_t)k;
    }
    return 0;
}
