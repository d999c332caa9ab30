/* Each side's key -> slot index and its quantity slots (book_index.h).
 * Everything runs on memory allocated by rf_book_create. */
#include <string.h>

#include "book_index.h"

static inline void put(rf__book_side *s, uint32_t j, int64_t key, uint32_t slot)
{
    s->hkey[j] = key;
    s->hslot[j] = slot;
    if (j < 3) s->hkey[s->hmask + 1 + j] = key; /* the repeat after the last position */
}

void rf__book_index_clear(rf__book_side *s)
{
    /* An index with no levels is all empty already (every removal empties
     * its position), and a fresh one is zeroed memory: untouched pages
     * stay untouched. */
    if (s->levels) memset(s->hkey, 0, (s->hmask + 4) * sizeof s->hkey[0]);
    s->slots_used = 0;
    s->free_slot = RF__BOOK_NOWHERE;
    s->free_slots = 0;
}

void rf__book_index_add(rf__book_side *s, int64_t key, uint32_t slot)
{
    uint32_t j = rf__book_home(s, key);
    while (s->hkey[j]) j = (j + 1) & s->hmask;
    put(s, j, key, slot);
}

void rf__book_index_remove(rf__book_side *s, uint32_t j)
{
    /* Close the hole at j: a later entry of the same run moves into it
     * unless its home lies after the hole (cyclically in (j, k]), where a
     * probe for it never passes the hole. */
    uint32_t m = s->hmask;
    for (uint32_t k = (j + 1) & m;; k = (k + 1) & m) {
        int64_t key = s->hkey[k];
        if (!key) break;
        uint32_t home = rf__book_home(s, key);
        if (((k - home) & m) >= ((k - j) & m)) {
            put(s, j, key, s->hslot[k]);
            j = k;
        }
    }
    put(s, j, 0, 0);
}

/* Freed slots are chained through their own quantity cells; slots never
 * used are handed out in order, so a small side touches few pages. */
uint32_t rf__book_slot_take(rf__book_side *s)
{
    uint32_t slot = s->free_slot;
    if (slot == RF__BOOK_NOWHERE) return s->slots_used++;
    s->free_slot = (uint32_t)s->qty[slot];
    s->free_slots--;
    return slot;
}

void rf__book_slot_give(rf__book_side *s, uint32_t slot)
{
    s->qty[slot] = s->free_slot == RF__BOOK_NOWHERE ? -1 : (int64_t)s->free_slot;
    s->free_slot = slot;
    s->free_slots++;
}

int rf__book_index_check(const rf__book_side *s, uint32_t max_levels)
{
#define REQ(c)                                                                                     \
    do {                                                                                           \
        if (!(c)) return __LINE__;                                                                 \
    } while (0)
    uint32_t cap = s->hmask + 1, entries = 0;
    REQ((cap & s->hmask) == 0 && cap >= 4 && (uint64_t)max_levels * 3 <= (uint64_t)cap * 2);
    for (uint32_t j = 0; j < 3; j++) REQ(s->hkey[cap + j] == s->hkey[j]);
    /* Every entry is reachable from its home without crossing an empty
     * position, and names a slot in use. */
    uint64_t slot_sum = 0;
    for (uint32_t j = 0; j < cap; j++) {
        int64_t key = s->hkey[j];
        if (!key) continue;
        entries++;
        for (uint32_t k = rf__book_home(s, key); k != j; k = (k + 1) & s->hmask) REQ(s->hkey[k]);
        REQ(s->hslot[j] < s->slots_used);
        REQ(s->qty[s->hslot[j]] > 0);
        slot_sum += s->hslot[j];
    }
    REQ(entries == s->levels);
    /* The free chain and the levels' slots together are each slot below
     * slots_used once: the counts agree and so do the sums. */
    uint32_t n = 0;
    for (uint32_t f = s->free_slot; f != RF__BOOK_NOWHERE; n++) {
        REQ(f < s->slots_used && n < s->slots_used);
        slot_sum += f;
        int64_t next = s->qty[f];
        REQ(next == -1 || (next >= 0 && next < s->slots_used));
        f = next == -1 ? RF__BOOK_NOWHERE : (uint32_t)next;
    }
    REQ(n == s->free_slots);
    REQ(entries + n == s->slots_used);
    REQ(slot_sum == (uint64_t)s->slots_used * (s->slots_used ? s->slots_used - 1 : 0) / 2);
    REQ(s->slots_used <= max_levels);
    return 0;
#undef REQ
}
