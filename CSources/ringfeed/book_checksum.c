/* The canonical checksum of the top of a book (definition in book.h): CRC-32
 * of "price:qty" texts, bid and ask of each rank interleaved, joined by
 * ",". Texts, not integers, so any program holding the exchange's strings
 * can reproduce it without knowing the book's grids. */
#include <zlib.h>

#include "book_internal.h"
#include "ringfeed/error.h"

/* Appends ",price:qty" (no comma before the first entry) to the CRC. */
static uLong entry(const rf_book *book, uLong crc, int first, int64_t price, int64_t qty)
{
    char buf[2 * RF_DECIMAL_MAX_TEXT + 2];
    size_t n = 0;
    if (!first) buf[n++] = ',';
    n += (size_t)rf_decimal_format((rf_decimal){price, book->price_scale}, buf + n, RF_DECIMAL_MAX_TEXT);
    buf[n++] = ':';
    n += (size_t)rf_decimal_format((rf_decimal){qty, book->qty_scale}, buf + n, RF_DECIMAL_MAX_TEXT);
    return crc32(crc, (const Bytef *)buf, (uInt)n);
}

int rf_book_checksum(const rf_book *book, size_t n, uint32_t *out)
{
    rf_book_iter it[2];
    rf_book_iter_init(&it[0], book, RF_BOOK_BID);
    rf_book_iter_init(&it[1], book, RF_BOOK_ASK);
    int more[2] = {1, 1}, first = 1;
    uLong crc = crc32(0L, Z_NULL, 0);
    for (size_t i = 0; i < n && (more[0] || more[1]); i++) {
        for (int side = 0; side < 2; side++) {
            rf_book_level l;
            if (more[side] && (more[side] = rf_book_iter_next(&it[side], &l))) {
                crc = entry(book, crc, first, l.price, l.qty);
                first = 0;
            }
        }
    }
    *out = (uint32_t)crc;
    return book->state;
}
