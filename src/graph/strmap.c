#include "strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t hash(const char *s) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (size_t)h;
}

static size_t slot(const tg__strmap *m, const char *key) {
    size_t i = hash(key) & (m->cap - 1);
    while (m->keys[i] && strcmp(m->keys[i], key) != 0) i = (i + 1) & (m->cap - 1);
    return i;
}

void *tg__strmap_get(const tg__strmap *m, const char *key) {
    if (!m->cap) return NULL;
    size_t i = slot(m, key);
    return m->keys[i] ? m->vals[i] : NULL;
}

bool tg__strmap_has(const tg__strmap *m, const char *key) {
    return m->cap && m->keys[slot(m, key)];
}

static bool grow(tg__strmap *m) {
    size_t cap = m->cap ? m->cap * 2 : 64;
    tg__strmap n = {calloc(cap, sizeof *n.keys), calloc(cap, sizeof *n.vals), cap, 0};
    if (!n.keys || !n.vals) {
        free(n.keys);
        free(n.vals);
        return false;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i]) continue;
        size_t j = slot(&n, m->keys[i]);
        n.keys[j] = m->keys[i];
        n.vals[j] = m->vals[i];
        n.len++;
    }
    tg__strmap_free(m);
    *m = n;
    return true;
}

bool tg__strmap_put(tg__strmap *m, const char *key, void *val) {
    if ((m->len + 1) * 2 > m->cap && !grow(m)) return false;
    size_t i = slot(m, key);
    if (!m->keys[i]) {
        m->keys[i] = key;
        m->len++;
    }
    m->vals[i] = val;
    return true;
}

/* Linear probing's backward-shift deletion: later entries of the run move
 * up unless their home slot lies between the hole and them. */
bool tg__strmap_remove(tg__strmap *m, const char *key, const char **stored) {
    if (!m->cap) return false;
    size_t mask = m->cap - 1, i = slot(m, key);
    if (!m->keys[i]) return false;
    *stored = m->keys[i];
    m->keys[i] = NULL;
    m->vals[i] = NULL;
    m->len--;
    for (size_t j = (i + 1) & mask; m->keys[j]; j = (j + 1) & mask) {
        size_t h = hash(m->keys[j]) & mask;
        bool stays = i <= j ? (i < h && h <= j) : (i < h || h <= j);
        if (stays) continue;
        m->keys[i] = m->keys[j];
        m->vals[i] = m->vals[j];
        m->keys[j] = NULL;
        m->vals[j] = NULL;
        i = j;
    }
    return true;
}

void tg__strmap_free(tg__strmap *m) {
    free(m->keys);
    free(m->vals);
    *m = (tg__strmap){0};
}
