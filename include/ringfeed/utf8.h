/* Incremental UTF-8 validation (RFC 3629: no overlongs, no surrogates, no
 * code points above U+10FFFF).
 *
 * Fails fast: rf_utf8_feed reports RF_EUTF8 at the first byte that cannot
 * start or continue a valid sequence, even in the middle of a chunk, so a
 * WebSocket peer can close with 1007 before the rest of a frame arrives.
 * A sequence may be split across calls (fragments, socket reads). */
#ifndef RINGFEED_UTF8_H
#define RINGFEED_UTF8_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rf_utf8 {
    uint32_t state; /* private: 0 = at a character boundary */
} rf_utf8;

static inline void rf_utf8_init(rf_utf8 *v) { v->state = 0; }

/* 0 if every byte so far can still be part of valid UTF-8, RF_EUTF8 otherwise.
 * After RF_EUTF8 the validator stays failed. */
int rf_utf8_feed(rf_utf8 *v, const uint8_t *p, size_t n);

/* 0 if the input ended on a character boundary, RF_EUTF8 if it ended inside
 * a sequence (or had failed). */
int rf_utf8_finish(const rf_utf8 *v);

/* One-shot: 0 if p[0..n) is complete, valid UTF-8, else RF_EUTF8. */
int rf_utf8_validate(const uint8_t *p, size_t n);

/* "avx2", "sse2" or "scalar": the ASCII fast path in use on this CPU. */
const char *rf_utf8_impl(void);

#ifdef __cplusplus
}
#endif
#endif
