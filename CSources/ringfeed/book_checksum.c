/* The canonical checksum of the top of a book (definition in book.h): CRC-32
 * of "price:qty" texts, bid and ask of each rank interleaved, joined by
 * ",". Texts, not integers, so any program holding the exchange's strings
 * can reproduce it without knowing the book's grids. The text is gathered
 * in a stack buffer and handed to zlib a few KiB at a time: zlib's crc32
 * costs about 150 ns a call however short the input, so one call per
 * entry would cost ten times the formatting. */
#include <zlib.h>

#include "book_internal.h"
#include "ringfeed/error.h"

#define ENTRY_MAX (2 * RF_DECIMAL_MAX_TEXT + 2) /* ",price:qty" */

typedef struct text {
    char buf[4096];
    size_t n;
    uLong crc;
    int first;
} text;

static void entry(const rf_book *book, text *t, int64_t price, int64_t qty)
{
    if (t->n > sizeof t->buf - ENTRY_MAX) {
        t->crc = crc32(t->crc, (const Bytef *)t->buf, (uInt)t->n);
        t->n = 0;
    }
    if (!t->first) t->buf[t->n++] = ',';
    t->first = 0;
    t->n += (size_t)rf_decimal_format((rf_decimal){price, book->price_scale}, t->buf + t->n, RF_DECIMAL_MAX_TEXT);
    t->buf[t->n++] = ':';
    t->n += (size_t)rf_decimal_format((rf_decimal){qty, book->qty_scale}, t->buf + t->n, RF_DECIMAL_MAX_TEXT);
}

int rf_book_checksum(const rf_book *book, size_t n, uint32_t *out)
{
    rf_book_iter it[2];
    rf_book_iter_init(&it[0], book, RF_BOOK_BID);
    rf_book_iter_init(&it[1], book, RF_BOOK_ASK);
    int more[2] = {1, 1};
    text t;
    t.n = 0;
    t.crc = crc32(0L, Z_NULL, 0);
    t.first = 1;
    for (size_t i = 0; i < n && (more[0] || more[1]); i++) {
        for (int side = 0; side < 2; side++) {
            rf_book_level l;
            if (more[side] && (more[side] = rf_book_iter_next(&it[side], &l))) entry(book, &t, l.price, l.qty);
        }
    }
    *out = (uint32_t)crc32(t.crc, (const Bytef *)t.buf, (uInt)t.n);
    return book->state;
}
