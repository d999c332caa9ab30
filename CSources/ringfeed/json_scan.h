/* Private: a strict, allocation-free JSON tokenizer for scanners that pick a
 * few fields out of a message without building a DOM (RFC 8259).
 *
 * Cursor style: every function takes the current position and the end of the
 * input and returns the position just past what it consumed, or NULL when the
 * bytes are not valid JSON there. Messages are not NUL-terminated, so every
 * read is bounded by `end`.
 *
 * Strings are validated (escapes, no raw control characters) but not
 * decoded: callers get views of the raw bytes between the quotes. UTF-8 is
 * not checked again here; text frames were validated by the WebSocket layer. */
#ifndef RINGFEED_JSON_SCAN_H
#define RINGFEED_JSON_SCAN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Deepest nesting of objects and arrays accepted, counting the outermost
 * value as 1. Bounds work per message; Binance needs 4. */
#define RF__JSON_MAX_DEPTH 32

/* Class of each byte inside a string: 0 = plain, 1 = needs attention
 * ('"', '\\' or a control character). */
extern const uint8_t rf__json_str_special[256];

static inline const uint8_t *rf__json_ws(const uint8_t *p, const uint8_t *end)
{
    /* Binance sends no whitespace: one test settles the usual case. */
    if (p < end && *p > ' ') return p;
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
    return p;
}

enum {
    RF__JSON_STR_ESCAPED = 1, /* the string holds at least one escape */
};

/* p points just past the opening quote. Returns the position past the
 * closing quote; *flags gets RF__JSON_STR_ESCAPED when the raw bytes differ
 * from the decoded text. */
const uint8_t *rf__json_string_slow(const uint8_t *p, const uint8_t *end, unsigned *flags);

/* Index of the first byte of the 8 at p that ends a plain run, or 8. The
 * borrow tricks below may flag bytes above a true hit, never below it, so
 * the lowest flag is exact. */
static inline unsigned rf__json_plain8(const uint8_t *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t v;
    memcpy(&v, p, 8);
    uint64_t q = v ^ (ones * '"'), b = v ^ (ones * '\\');
    uint64_t hit = ((q - ones) & ~q) | ((b - ones) & ~b) | ((v - ones * 0x20) & ~v);
    hit &= highs;
    return hit ? (unsigned)__builtin_ctzll(hit) >> 3 : 8;
#else
    for (unsigned i = 0; i < 8; i++)
        if (rf__json_str_special[p[i]]) return i;
    return 8;
#endif
}

static inline const uint8_t *rf__json_string(const uint8_t *p, const uint8_t *end,
                                             unsigned *flags)
{
    /* Keys and values on the hot path are short and plain: stay inline for
     * them, eight bytes a step, and leave escapes to the out-of-line loop. */
    while (end - p >= 8) {
        unsigned k = rf__json_plain8(p);
        p += k;
        if (k < 8) goto special;
    }
    while (p < end && !rf__json_str_special[*p]) p++;
    if (p >= end) return NULL;
special:
    if (*p == '"') {
        *flags = 0;
        return p + 1;
    }
    return rf__json_string_slow(p, end, flags);
}

enum {
    RF__JSON_NUM_INT = 0,      /* an integer literal that fits int64 (and is not INT64_MIN) */
    RF__JSON_NUM_BIG = 1,      /* an integer literal that does not */
    RF__JSON_NUM_FRACTION = 2, /* has a fraction or an exponent */
};

/* p points at '-' or a digit. Returns the position past the number and sets
 * *kind, and *value for RF__JSON_NUM_INT. INT64_MIN counts as BIG so that no
 * value can be mistaken for a caller's "absent" sentinel. */
const uint8_t *rf__json_number(const uint8_t *p, const uint8_t *end, int *kind, int64_t *value);

/* p points at the first byte of a literal ('t', 'f' or 'n'). */
const uint8_t *rf__json_literal(const uint8_t *p, const uint8_t *end);

/* Skips one value starting at p (whitespace already skipped), validating all
 * of it. depth is how many containers already enclose the value. Never
 * recurses: nesting is tracked in a bit stack of RF__JSON_MAX_DEPTH bits. */
const uint8_t *rf__json_skip(const uint8_t *p, const uint8_t *end, int depth);

/* Decodes a validated raw string into buf when it is pure ASCII and fits:
 * enough to compare an escaped key or name with a known one. Returns the
 * length, or -1 (not ASCII, or longer than cap). */
int rf__json_ascii(const uint8_t *raw, size_t n, char *buf, size_t cap);

#endif
