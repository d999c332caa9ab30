/* Private: each side's index from a level's key to the slot that holds its
 * quantity, so the common update (a new quantity for a level that is
 * there: 96% of a recorded depth stream) is a hash probe and a store, with
 * no ordered search. The ordered blocks are searched only when a level
 * comes or goes.
 *
 * Open addressing with linear probing, at most 2/3 full. Keys are never 0
 * (prices are > 0, keys are +-price), so 0 marks an empty position. The
 * first three positions are repeated after the last, so four keys load
 * from any position without wrapping; a probe compares four at a time.
 * Deletion shifts the following entries back (no tombstones), which keeps
 * the rule a probe relies on: no empty position lies between a key's home
 * and the key. */
#ifndef RF_BOOK_INDEX_H
#define RF_BOOK_INDEX_H

#include "book_internal.h"

#define RF__BOOK_NOWHERE UINT32_MAX

/* Two multiplies with a fold between: one multiply maps prices a tick
 * apart a fixed stride apart, and for some ticks those strides line up
 * into long runs (linear probing, the index 30% full: up to 9% of keys
 * past their first four positions, against under 1% here, as random). */
static inline uint32_t rf__book_home(const rf__book_side *s, int64_t key)
{
    uint64_t x = (uint64_t)key * 0xFF51AFD7ED558CCDu;
    x ^= x >> 32;
    return (uint32_t)((x * 0xC4CEB9FE1A85EC53u) >> s->hshift);
}

/* The index position of key, or RF__BOOK_NOWHERE. */
static inline uint32_t rf__book_index_find(const rf__book_side *s, int64_t key)
{
    for (uint32_t j = rf__book_home(s, key);; j = (j + 1) & s->hmask) {
        int64_t k = s->hkey[j];
        if (k == key) return j;
        if (!k) return RF__BOOK_NOWHERE;
    }
}

/* book_index.c */
void rf__book_index_clear(rf__book_side *s);
/* Adds a key that is not there. */
void rf__book_index_add(rf__book_side *s, int64_t key, uint32_t slot);
/* Removes the key at index position j. */
void rf__book_index_remove(rf__book_side *s, uint32_t j);
/* A slot for a new level's quantity, and back. */
uint32_t rf__book_slot_take(rf__book_side *s);
void rf__book_slot_give(rf__book_side *s, uint32_t slot);
/* rf__book_check's part: 0 or the failing line. */
int rf__book_index_check(const rf__book_side *s, uint32_t max_levels);

#endif
