/* Growing a heap byte buffer by doubling, with a ceiling. */
#ifndef RF_GROW_H
#define RF_GROW_H

#include <stdint.h>
#include <stdlib.h>

#include "ringfeed/error.h"

/* Makes *buf hold at least `need` bytes (keeping its contents), doubling from
 * 4 KiB but never past `limit` (which must be >= need). Returns 0 or RF_ENOMEM. */
static inline int rf__grow(uint8_t **buf, size_t *cap, size_t need, size_t limit)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 4096;
    while (n < need)
        n *= 2;
    if (n > limit)
        n = limit;
    uint8_t *nb = realloc(*buf, n);
    if (nb == NULL)
        return RF_ENOMEM;
    *buf = nb;
    *cap = n;
    return 0;
}

#endif
