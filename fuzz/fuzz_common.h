/* Helpers shared by the libFuzzer harnesses: an always-on assertion and
 * checks that views handed out by a parser stay inside its input. */
#ifndef RF_FUZZ_COMMON_H
#define RF_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ringfeed/ws_handshake.h"

/* assert() that survives NDEBUG and names the broken invariant. */
#define REQUIRE(c)                                                                     \
    do {                                                                               \
        if (!(c)) {                                                                    \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #c);  \
            abort();                                                                   \
        }                                                                              \
    } while (0)

/* A view is either empty-and-NULL or lies within b[0..n). */
static inline void view_inside(rf_str v, const uint8_t *b, size_t n)
{
    if (!v.ptr) {
        REQUIRE(v.len == 0);
        return;
    }
    const char *s = (const char *)b;
    REQUIRE(v.ptr >= s && v.len <= n && (size_t)(v.ptr - s) <= n - v.len);
}

static inline size_t view_offset(rf_str v, const uint8_t *b)
{
    return v.ptr ? (size_t)(v.ptr - (const char *)b) : 0;
}

/* Two views, into two copies of the same bytes, denote the same range. */
static inline int same_view(rf_str a, const uint8_t *ab, rf_str b, const uint8_t *bb)
{
    return a.len == b.len && !a.ptr == !b.ptr && view_offset(a, ab) == view_offset(b, bb);
}

#endif
