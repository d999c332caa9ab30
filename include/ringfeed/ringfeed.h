/* RingFeed: the whole public C API. Link with libringfeed.a and liburing
 * (`pkg-config --static --libs ringfeed`). */
#ifndef RINGFEED_H
#define RINGFEED_H

#include "ringfeed/error.h"
#include "ringfeed/loop.h"
#include "ringfeed/url.h"
#include "ringfeed/utf8.h"
#include "ringfeed/ws.h"
#include "ringfeed/ws_conn.h"
#include "ringfeed/ws_frame.h"
#include "ringfeed/ws_handshake.h"
#include "ringfeed/ws_mask.h"

#endif
