/* The small pieces every format file uses: error messages into the caller's
 * buffer, little-endian integers, varints and a growable buffer. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats_internal.h"

tg_code tg__ferr(char *err, size_t err_size, tg_code code, const char *fmt, ...)
{
    if (err && err_size > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_size, fmt, ap);
        va_end(ap);
    }
    return code;
}

uint32_t tg__get_u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t tg__get_u64le(const uint8_t *p) { return (uint64_t)tg__get_u32le(p) | (uint64_t)tg__get_u32le(p + 4) << 32; }

void tg__put_u32le(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

void tg__put_u64le(uint8_t *p, uint64_t v)
{
    tg__put_u32le(p, (uint32_t)v);
    tg__put_u32le(p + 4, (uint32_t)(v >> 32));
}

bool tg__get_varint(const uint8_t **p, const uint8_t *end, unsigned max_bits, uint64_t *v)
{
    uint64_t r = 0;
    const uint8_t *q = *p;
    for (unsigned shift = 0; shift < max_bits && q < end; shift += 7) {
        uint64_t byte = *q++;
        uint64_t part = (byte & 0x7f) << shift;
        /* Bits that fall off the top would make two encodings of one value. */
        if ((part >> shift) != (byte & 0x7f) || (max_bits < 64 && (part >> max_bits) != 0)) return false;
        r |= part;
        if (!(byte & 0x80)) {
            *p = q;
            *v = r;
            return true;
        }
    }
    return false;
}

int tg__bytes_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    int c = n ? memcmp(a, b, n) : 0; /* an empty key may have no buffer at all */
    if (c != 0) return c;
    return an < bn ? -1 : an > bn;
}

/* ---- growable buffer ---------------------------------------------------------- */

static bool reserve(tg__buf *b, size_t more)
{
    if (b->oom) return false;
    if (more <= b->cap - b->len) return true;
    if (more > SIZE_MAX / 2 - b->len) return b->oom = true, false;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < more) cap *= 2;
    uint8_t *d = realloc(b->data, cap);
    if (!d) return b->oom = true, false;
    b->data = d;
    b->cap = cap;
    return true;
}

void tg__buf_append(tg__buf *b, const void *data, size_t n)
{
    if (n == 0 || !reserve(b, n)) return;
    memcpy(b->data + b->len, data, n);
    b->len += n;
}

void tg__buf_put_varint(tg__buf *b, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    for (; v >= 0x80; v >>= 7) tmp[n++] = (uint8_t)(v | 0x80);
    tmp[n++] = (uint8_t)v;
    tg__buf_append(b, tmp, n);
}

void tg__buf_put_u32le(tg__buf *b, uint32_t v)
{
    uint8_t tmp[4];
    tg__put_u32le(tmp, v);
    tg__buf_append(b, tmp, 4);
}

void tg__buf_free(tg__buf *b)
{
    free(b->data);
    *b = (tg__buf){0};
}
