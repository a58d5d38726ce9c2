/* String-keyed hash map (open addressing). Keys are not copied: they must
 * outlive the map, which they do when they live in the graph arena. */
#ifndef TG_STRMAP_H
#define TG_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

typedef struct tg__strmap {
    const char **keys;
    void **vals;
    size_t cap, len;
} tg__strmap;

/* The value for key, or NULL. */
void *tg__strmap_get(const tg__strmap *m, const char *key);
bool tg__strmap_has(const tg__strmap *m, const char *key);
/* Inserts or replaces; false when out of memory. */
bool tg__strmap_put(tg__strmap *m, const char *key, void *val);
/* Removes key; *stored gets the key pointer the map held (the caller may
 * own it). False when key is not there. */
bool tg__strmap_remove(tg__strmap *m, const char *key, const char **stored);
void tg__strmap_free(tg__strmap *m);

#endif
