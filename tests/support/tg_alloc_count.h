/* tg_alloc_count.h: counts every malloc, calloc and realloc, for the tests
 * that prove a steady-state run allocates nothing. The test executable must
 * link the static library with
 *   -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc
 * and include this header in exactly one file. The count is atomic because
 * intra-op worker threads could allocate too. */
#ifndef TG_ALLOC_COUNT_H
#define TG_ALLOC_COUNT_H

#include <stdatomic.h>
#include <stddef.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);

static atomic_long tga_allocations;
/* Allocation failure injection: when positive, the tga_fail_at-th
 * allocation from now fails (returns NULL) and injection stops. */
static atomic_long tga_fail_at;

static int tga_fails_now(void)
{
    atomic_fetch_add(&tga_allocations, 1);
    long left = atomic_load(&tga_fail_at);
    return left > 0 && atomic_fetch_sub(&tga_fail_at, 1) == 1;
}

void *__wrap_malloc(size_t n)
{
    return tga_fails_now() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return tga_fails_now() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
    return tga_fails_now() ? NULL : __real_realloc(p, n);
}

#endif
