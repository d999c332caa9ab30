/* RingFeed: the whole public C API. Link with libringfeed.a, liburing,
 * OpenSSL and zlib (`pkg-config --static --libs ringfeed`). */
#ifndef RINGFEED_H
#define RINGFEED_H

#include "ringfeed/binance.h"
#include "ringfeed/book.h"
#include "ringfeed/decimal.h"
#include "ringfeed/error.h"
#include "ringfeed/http.h"
#include "ringfeed/http_client.h"
#include "ringfeed/loop.h"
#include "ringfeed/tls.h"
#include "ringfeed/url.h"
#include "ringfeed/utf8.h"
#include "ringfeed/ws.h"
#include "ringfeed/ws_conn.h"
#include "ringfeed/ws_frame.h"
#include "ringfeed/ws_handshake.h"
#include "ringfeed/ws_mask.h"

#endif
