/* dtypes and static shapes. */
#include <stdio.h>
#include <string.h>

#include "graph_internal.h"

const char *tg_dtype_name(tg_dtype dtype) {
    switch (dtype) {
    case TG_FLOAT32: return "float32";
    case TG_FLOAT64: return "float64";
    case TG_INT32: return "int32";
    case TG_INT64: return "int64";
    case TG_BOOL: return "bool";
    case TG_DTYPE_COUNT: break;
    }
    return "invalid";
}

size_t tg_dtype_size(tg_dtype dtype) {
    switch (dtype) {
    case TG_FLOAT32: return 4;
    case TG_FLOAT64: return 8;
    case TG_INT32: return 4;
    case TG_INT64: return 8;
    case TG_BOOL: return 1;
    case TG_DTYPE_COUNT: break;
    }
    return 0;
}

int64_t tg_shape_num_elements(const tg_shape *s) {
    if (!s || s->rank < 0 || s->rank > TG_MAX_RANK) return -1;
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++) {
        if (s->dims[i] < 0) return -1;
        if (s->dims[i] > 0 && n > TG__MAX_ELEMENTS / s->dims[i]) return -1;
        n *= s->dims[i];
    }
    return n;
}

bool tg__shape_too_large(const tg_shape *s) {
    if (!s || s->rank < 0 || s->rank > TG_MAX_RANK) return false;
    for (int i = 0; i < s->rank; i++)
        if (s->dims[i] < 0) return false;
    return tg_shape_num_elements(s) < 0;
}

char *tg_shape_format(const tg_shape *s, char *buf, size_t size) {
    if (!buf || size == 0) return buf;
    if (!s || s->rank < 0 || s->rank > TG_MAX_RANK) {
        snprintf(buf, size, "<unknown>");
        return buf;
    }
    size_t len = 0;
    buf[0] = '\0';
#define PUT(...)                                                              \
    do {                                                                      \
        if (len < size) {                                                     \
            int n_ = snprintf(buf + len, size - len, __VA_ARGS__);            \
            len = n_ < 0 ? size : len + (size_t)n_;                           \
        }                                                                     \
    } while (0)
    PUT("(");
    for (int i = 0; i < s->rank; i++) {
        if (i) PUT(", ");
        if (s->dims[i] < 0) PUT("?");
        else PUT("%lld", (long long)s->dims[i]);
    }
    PUT(s->rank == 1 ? ",)" : ")");
#undef PUT
    return buf;
}

bool tg__shape_compatible(const tg_shape *a, const tg_shape *b) {
    if (a->rank < 0 || b->rank < 0) return true;
    if (a->rank != b->rank) return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] >= 0 && b->dims[i] >= 0 && a->dims[i] != b->dims[i]) return false;
    return true;
}

bool tg__array_matches_shape(const tg_array *a, const tg_shape *s) {
    if (s->rank < 0) return true;
    if (a->rank != s->rank) return false;
    for (int i = 0; i < s->rank; i++)
        if (s->dims[i] >= 0 && s->dims[i] != a->dims[i]) return false;
    return true;
}
