/* Private: what the Binance scanner's files share. binance_scan.c walks the
 * JSON once and records a slot per known key; binance_event.c turns the
 * slots into an rf_bn_event; binance_stream.c names stream kinds. */
#ifndef RINGFEED_BINANCE_INTERNAL_H
#define RINGFEED_BINANCE_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include "ringfeed/binance.h"

enum { /* keys of the event object (and of a raw message's top level) */
    S_e, S_E, S_s, S_t, S_p, S_q, S_T, S_m, S_a, S_f, S_l, S_U, S_u, S_b, S_B, S_A, S_k,
    S_P, S_w, S_x, S_c, S_Q, S_o, S_h, S_v, S_O, S_C, S_F, S_L, S_n, S_i,
    S_pu, S_lastUpdateId, S_bids, S_asks,
    S_result, S_id, S_error, S_code, S_msg, /* control answers: top level only */
    S_COUNT,
    S_STREAM = S_COUNT, S_DATA, S_EVENT, /* wrappers: top level only */
};
enum { /* keys of the kline's "k" object */
    K_t, K_T, K_i, K_f, K_L, K_o, K_c, K_h, K_l, K_v, K_n, K_x, K_q, K_V, K_Q, K_COUNT,
};
enum { R_code, R_msg, R_COUNT }; /* keys of a control answer's "error" object */

/* Which object a key belongs to. */
enum { OBJ_TOP, OBJ_EVENT, OBJ_KLINE, OBJ_ERROR };

enum { V_STRING, V_INT, V_BIG, V_FRACTION, V_TRUE, V_FALSE, V_NULL, V_OBJECT, V_ARRAY, V_ABSENT };

typedef struct rf__bn_value {
    const uint8_t *ptr; /* string: raw bytes between the quotes; "result"/"id": the raw value */
    size_t len;         /* string: byte length; level list: levels written; array: count */
    int64_t num;        /* integer; level list: offset into the caller's array */
    int8_t kind;
    int8_t escaped;
    int8_t has_dec;     /* string: dec holds its value as a decimal */
    rf_decimal dec;
    int16_t err; /* level list: the first error inside it, reported if it is used */
} rf__bn_value;

typedef struct rf__bn_scan {
    const uint8_t *base, *end; /* the message */
    rf_bn_level *levels;
    size_t cap, used;
    uint64_t seen;  /* bit per S_* */
    uint32_t kseen; /* bit per K_* */
    uint32_t rseen; /* bit per R_* */
    int combined;   /* "data" held the event (or the array) */
    int wrapped;    /* "event" held the event */
    rf__bn_value stream;
    rf__bn_value array; /* RF_BN_ARRAY: ptr/len the raw array text, num its count */
    rf__bn_value v[S_COUNT];
    rf__bn_value k[K_COUNT];
    rf__bn_value r[R_COUNT];
} rf__bn_scan;

/* The fast path (binance_fast.c): reads the object at p when it has the
 * exact layout Binance sends, into *out (it sets the header and the union
 * member of the event's kind, and leaves the rest of the union as it was),
 * and returns the position past it; NULL means "take the general path". base is the
 * start of the message (bytes before p may be read, never before base). */
const uint8_t *rf__bn_fast(const uint8_t *base, const uint8_t *p, const uint8_t *end,
                          rf_bn_level *levels, size_t level_cap, rf_bn_event *out);

/* A depth level list [["price","qty"],...] as the fast path takes it, p at
 * its '[', into lv up to lv_end (binance_levels.c): the position past its
 * ']' and the number of levels, or NULL ("take the general path"). */
const uint8_t *rf__bn_levels_portable(const uint8_t *base, const uint8_t *p, const uint8_t *end, rf_bn_level *lv,
                                      rf_bn_level *lv_end, size_t *count);

/* The general path alone: rf_bn_scan without the fast path, for tests that
 * prove the two agree. */
int rf__bn_scan_general(const uint8_t *msg, size_t len, rf_bn_level *levels, size_t level_cap,
                        rf_bn_event *out);

/* Interprets the slots of a validated message (binance_event.c). */
int rf__bn_interpret(rf__bn_scan *sc, rf_bn_event *out);

static inline int rf__bn_digit(uint8_t c) { return (unsigned)(c - '0') < 10u; }

#define RF__BN_NAME_IS(s, n, lit) ((n) == sizeof lit - 1 && !memcmp(s, lit, sizeof lit - 1))

#endif
