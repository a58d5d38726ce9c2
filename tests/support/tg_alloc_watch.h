/* tg_alloc_watch.h: the largest single allocation, for the hostile-file
 * tests (test_data, test_saver). Built again as test_data_alloc and
 * test_saver_alloc with TG_ALLOC_WATCH defined, linked with the static
 * library and -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc
 * (tests/meson.build): the largest request since tgw_reset is kept, and one
 * over TGW_CAP fails, so a reader that sizes a buffer from a lying header
 * or length field fails these tests instead of exhausting the machine.
 * Without TG_ALLOC_WATCH, tgw_peak is 0 and nothing is wrapped. Include in
 * exactly one file. */
#ifndef TG_ALLOC_WATCH_H
#define TG_ALLOC_WATCH_H

#include <stddef.h>

#ifdef TG_ALLOC_WATCH
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#define TGW_CAP ((size_t)16 << 20)
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
static atomic_size_t tgw_max;
static bool tgw_allow(size_t n)
{
    size_t m = atomic_load(&tgw_max);
    while (n > m && !atomic_compare_exchange_weak(&tgw_max, &m, n)) {}
    return n <= TGW_CAP;
}
void *__wrap_malloc(size_t n) { return tgw_allow(n) ? __real_malloc(n) : NULL; }
void *__wrap_realloc(void *p, size_t n) { return tgw_allow(n) ? __real_realloc(p, n) : NULL; }
void *__wrap_calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) return NULL;
    return tgw_allow(n * size) ? __real_calloc(n, size) : NULL;
}
#define TGW_WATCHING 1
static inline void tgw_reset(void) { atomic_store(&tgw_max, 0); }
static inline size_t tgw_peak(void) { return atomic_load(&tgw_max); }
#else
#define TGW_WATCHING 0
static inline void tgw_reset(void) {}
static inline size_t tgw_peak(void) { return 0; }
#endif

#endif
