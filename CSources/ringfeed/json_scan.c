/* Strict JSON tokenizing and skipping without allocation or recursion; see
 * json_scan.h. Rejection is exact to RFC 8259's grammar: no leading zeros,
 * no bare '.', no trailing commas, no single quotes, no raw control bytes in
 * strings, only the eight escapes and \u with four hex digits. */
#include "json_scan.h"

#include <limits.h>
#include <string.h>

#define C1(x) [x] = 1
/* Control characters, the quote and the backslash: everything that ends the
 * plain run of a string. */
const uint8_t rf__json_str_special[256] = {
    C1(0), C1(1), C1(2), C1(3), C1(4), C1(5), C1(6), C1(7), C1(8), C1(9), C1(10),
    C1(11), C1(12), C1(13), C1(14), C1(15), C1(16), C1(17), C1(18), C1(19), C1(20),
    C1(21), C1(22), C1(23), C1(24), C1(25), C1(26), C1(27), C1(28), C1(29), C1(30),
    C1(31), C1('"'), C1('\\'),
};
#undef C1

static inline int is_digit(uint8_t c) { return (unsigned)(c - '0') < 10; }

/* Eight ASCII digits in a little-endian word (Lemire's SWAR tests). */
static inline int eight_digits(uint64_t w)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return ((w & 0xF0F0F0F0F0F0F0F0ull) |
            (((w + 0x0606060606060606ull) & 0xF0F0F0F0F0F0F0F0ull) >> 4)) ==
           0x3333333333333333ull;
#else
    return 0; /* the byte loop does it all */
#endif
}

static inline uint64_t eight_digits_value(uint64_t w)
{
    w -= 0x3030303030303030ull;
    w = w * 10 + (w >> 8);
    return ((w & 0x000000FF000000FFull) * (100 + (1000000ull << 32)) +
            ((w >> 16) & 0x000000FF000000FFull) * (1 + (10000ull << 32))) >> 32;
}

static inline int hex_value(uint8_t c)
{
    if (is_digit(c)) return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

const uint8_t *rf__json_string_slow(const uint8_t *p, const uint8_t *end, unsigned *flags)
{
    unsigned f = 0;
    for (;;) {
        while (p < end && !rf__json_str_special[*p]) p++;
        if (p >= end) return NULL;
        uint8_t c = *p;
        if (c == '"') {
            *flags = f;
            return p + 1;
        }
        if (c != '\\') return NULL; /* raw control character */
        f |= RF__JSON_STR_ESCAPED;
        if (++p >= end) return NULL;
        switch (*p) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
            p++;
            break;
        case 'u':
            if (end - p < 5) return NULL;
            for (int i = 1; i <= 4; i++)
                if (hex_value(p[i]) < 0) return NULL;
            p += 5;
            break;
        default:
            return NULL;
        }
    }
}

const uint8_t *rf__json_number(const uint8_t *p, const uint8_t *end, int *kind, int64_t *value)
{
    int neg = 0;
    if (*p == '-') {
        neg = 1;
        if (++p >= end) return NULL;
    }
    uint64_t v = 0;
    int big = 0;
    if (*p == '0') {
        p++; /* a digit after it is left for the caller to reject */
    } else if (is_digit(*p)) {
        /* Up to 19 digits always fit a uint64; a 20th may not, so 20 or
         * more digits are called big (no int64 has that many). */
        const uint8_t *stop = end - p > 19 ? p + 19 : end;
        /* Ids and times have 9 to 13 digits: eight at a time first. */
        for (int i = 0; i < 2 && end - p >= 8; i++) {
            uint64_t w;
            memcpy(&w, p, 8);
            if (!eight_digits(w)) break;
            v = v * 100000000 + eight_digits_value(w);
            p += 8;
        }
        while (p < stop && is_digit(*p)) v = v * 10 + (unsigned)(*p++ - '0');
        while (p < end && is_digit(*p)) p++, big = 1;
    } else {
        return NULL;
    }
    int k = RF__JSON_NUM_INT;
    if (p < end && *p == '.') {
        if (++p >= end || !is_digit(*p)) return NULL;
        while (p < end && is_digit(*p)) p++;
        k = RF__JSON_NUM_FRACTION;
    }
    if (p < end && (*p | 0x20) == 'e') {
        if (++p < end && (*p == '+' || *p == '-')) p++;
        if (p >= end || !is_digit(*p)) return NULL;
        while (p < end && is_digit(*p)) p++;
        k = RF__JSON_NUM_FRACTION;
    }
    if (k == RF__JSON_NUM_INT) {
        if (big || v > (uint64_t)INT64_MAX) {
            k = RF__JSON_NUM_BIG;
        } else {
            *value = neg ? -(int64_t)v : (int64_t)v;
        }
    }
    *kind = k;
    return p;
}

const uint8_t *rf__json_literal(const uint8_t *p, const uint8_t *end)
{
    size_t left = (size_t)(end - p);
    switch (*p) {
    case 't':
        return left >= 4 && p[1] == 'r' && p[2] == 'u' && p[3] == 'e' ? p + 4 : NULL;
    case 'f':
        return left >= 5 && p[1] == 'a' && p[2] == 'l' && p[3] == 's' && p[4] == 'e' ? p + 5
                                                                                       : NULL;
    case 'n':
        return left >= 4 && p[1] == 'u' && p[2] == 'l' && p[3] == 'l' ? p + 4 : NULL;
    }
    return NULL;
}

/* A state machine over an explicit stack: bit d of `objects` is 1 when the
 * container at local level d is an object. Local depth plus the caller's
 * depth never exceeds RF__JSON_MAX_DEPTH (<= 64 bits). */
const uint8_t *rf__json_skip(const uint8_t *p, const uint8_t *end, int depth)
{
    _Static_assert(RF__JSON_MAX_DEPTH <= 64, "nesting stack is one uint64_t");
    uint64_t objects = 0;
    int d = 0; /* containers opened by this call and still open */
    unsigned flags;
    int kind;
    int64_t ignored;

value:
    if (p >= end) return NULL;
    switch (*p) {
    case '"':
        p = rf__json_string(p + 1, end, &flags);
        break;
    case '{':
    case '[':
        if (depth + d >= RF__JSON_MAX_DEPTH) return NULL;
        if (*p == '{') objects |= (uint64_t)1 << d;
        else objects &= ~((uint64_t)1 << d);
        d++;
        p = rf__json_ws(p + 1, end);
        if (p < end && *p == (objects >> (d - 1) & 1 ? '}' : ']')) {
            p++;
            d--;
            break;
        }
        if (objects >> (d - 1) & 1) goto key;
        goto value;
    case 't':
    case 'f':
    case 'n':
        p = rf__json_literal(p, end);
        break;
    default:
        p = rf__json_number(p, end, &kind, &ignored);
        break;
    }

after_value:
    if (!p) return NULL;
    if (d == 0) return p;
    p = rf__json_ws(p, end);
    if (p >= end) return NULL;
    if (*p == ',') {
        p = rf__json_ws(p + 1, end);
        if (objects >> (d - 1) & 1) goto key;
        goto value;
    }
    if (*p != (objects >> (d - 1) & 1 ? '}' : ']')) return NULL;
    p++;
    d--;
    goto after_value;

key:
    if (p >= end || *p != '"') return NULL;
    p = rf__json_string(p + 1, end, &flags);
    if (!p) return NULL;
    p = rf__json_ws(p, end);
    if (p >= end || *p != ':') return NULL;
    p = rf__json_ws(p + 1, end);
    goto value;
}

int rf__json_ascii(const uint8_t *raw, size_t n, char *buf, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = raw[i];
        if (c == '\\') {
            /* The string was validated, so the escape is complete. */
            uint8_t e = raw[++i];
            switch (e) {
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            case 'u': {
                int v = 0;
                for (int k = 1; k <= 4; k++) v = v << 4 | hex_value(raw[i + k]);
                if (v >= 0x80) return -1;
                c = (uint8_t)v;
                i += 4;
                break;
            }
            default: c = e; break; /* '"', '\\', '/' */
            }
        } else if (c >= 0x80) {
            return -1;
        }
        if (o >= cap) return -1;
        buf[o++] = (char)c;
    }
    return (int)o;
}
