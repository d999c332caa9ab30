/* Error codes shared by every RingFeed C API.
 *
 * Functions return 0 (or a non-negative count) on success and one of these
 * negative codes on failure. rf_strerror() names any of them. */
#ifndef RINGFEED_ERROR_H
#define RINGFEED_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

enum rf_error {
    RF_OK = 0,

    /* general */
    RF_EINVAL = -1,          /* bad argument */
    RF_ENOMEM = -2,          /* allocation failed */
    RF_EAGAIN = -3,          /* need more input (incremental parsers) */
    RF_ENOSPC = -4,          /* caller's buffer too small */
    RF_ESYS = -5,            /* a system call failed; see the call's docs */
    RF_ECLOSED = -6,         /* the connection or loop is closed */
    RF_ETIMEDOUT = -7,       /* a deadline passed */
    RF_ERESOLVE = -8,        /* host name did not resolve */
    RF_ECONNREFUSED = -9,    /* peer refused the TCP connection */
    RF_ECONNRESET = -10,     /* peer reset the connection */
    RF_EURL = -11,           /* malformed or unsupported URL */
    RF_EBUSY = -12,          /* operation already in progress */
    RF_EUNSUPPORTED = -13,   /* the kernel or build lacks a feature */
    RF_ESTATE = -14,         /* call not valid in the object's current state */

    /* RFC 6455 framing and messages (each maps to a close code) */
    RF_EPROTO_RSV = -100,                /* reserved bit set, no extension  -> 1002 */
    RF_EPROTO_OPCODE = -101,             /* reserved opcode                 -> 1002 */
    RF_EPROTO_CONTROL_FRAGMENTED = -102, /* control frame without FIN       -> 1002 */
    RF_EPROTO_CONTROL_TOO_LONG = -103,   /* control payload > 125 bytes     -> 1002 */
    RF_EPROTO_MASK = -104,               /* masked from server / unmasked from client -> 1002 */
    RF_EPROTO_LENGTH = -105,             /* 64-bit length with top bit set  -> 1002 */
    RF_EPROTO_CONTINUATION = -106,       /* continuation with no message open -> 1002 */
    RF_EPROTO_FRAGMENT = -107,           /* new data frame inside a fragmented message -> 1002 */
    RF_EPROTO_CLOSE_PAYLOAD = -108,      /* close payload of 1 byte         -> 1002 */
    RF_EPROTO_CLOSE_CODE = -109,         /* close code not allowed on the wire -> 1002 */
    RF_EPROTO_AFTER_CLOSE = -110,        /* data after the peer's close     -> 1002 */
    RF_EUTF8 = -111,                     /* invalid UTF-8 in text or close reason -> 1007 */
    RF_ETOOBIG = -112,                   /* message over the configured maximum -> 1009 */

    /* opening handshake */
    RF_EHS_MALFORMED = -200,  /* not parseable as HTTP/1.1 */
    RF_EHS_TOOBIG = -201,     /* header block over the limit */
    RF_EHS_STATUS = -202,     /* response status is not 101 */
    RF_EHS_UPGRADE = -203,    /* Upgrade: websocket missing or wrong */
    RF_EHS_CONNECTION = -204, /* Connection: upgrade missing */
    RF_EHS_ACCEPT = -205,     /* Sec-WebSocket-Accept missing or wrong */
    RF_EHS_EXTENSION = -206,  /* extension the client did not offer */
    RF_EHS_PROTOCOL = -207,   /* subprotocol the client did not offer */
    RF_EHS_METHOD = -208,     /* request method is not GET */
    RF_EHS_VERSION = -209,    /* Sec-WebSocket-Version is not 13 */
    RF_EHS_KEY = -210,        /* Sec-WebSocket-Key missing or not 16 bytes of base64 */

    /* TLS */
    RF_ETLS_CONFIG = -300,       /* CA, certificate or key file unreadable or invalid */
    RF_ETLS_UNTRUSTED = -301,    /* certificate chain does not lead to a trusted CA */
    RF_ETLS_HOSTNAME = -302,     /* certificate does not match the host name */
    RF_ETLS_EXPIRED = -303,      /* certificate expired or not yet valid */
    RF_ETLS_HANDSHAKE = -304,    /* handshake failed (alert, no shared cipher/version ...) */
    RF_ETLS_NOT_TLS = -305,      /* the peer does not speak TLS (e.g. plain HTTP/WebSocket) */
    RF_ETLS_CLOSED = -306,       /* peer closed the connection during the TLS handshake */
    RF_ETLS_PROTOCOL = -307,     /* corrupt record or other TLS error after the handshake */

    /* HTTP/1.1 responses */
    RF_EHTTP_MALFORMED = -400,   /* status line or headers not valid HTTP/1.1 */
    RF_EHTTP_HEADER_TOOBIG = -401, /* header block over the limit */
    RF_EHTTP_BODY_TOOBIG = -402, /* body over the limit */
    RF_EHTTP_CHUNK = -403,       /* malformed chunked transfer encoding */
    RF_EHTTP_GZIP = -404,        /* gzip body does not decompress */
    RF_EHTTP_TRUNCATED = -405,   /* connection ended before the body did */
    RF_EHTTP_UNSUPPORTED = -406, /* transfer or content coding we do not speak */

    /* market-data messages */
    RF_EJSON = -500,           /* malformed JSON */
    RF_EDECIMAL = -501,        /* a decimal string that is not [-]digits[.digits] */
    RF_EOVERFLOW = -502,       /* a number too large for its fixed-point or integer field */
    RF_EMISSING = -503,        /* a required field is absent */
    RF_ETYPE = -504,           /* a known field has the wrong JSON type */

    /* order books */
    RF_EGAP = -600,            /* a depth event does not continue the book's sequence: resync */
    RF_ECROSSED = -601,        /* an update left best bid >= best ask: the book is stale, resync */
    RF_EEMPTY = -602,          /* no level there: the book side is empty or not that deep */
};

/* A short, stable, human-readable name for a code ("invalid UTF-8 in text
 * message"). Never NULL; unknown codes give "unknown error". */
const char *rf_strerror(int code);

#ifdef __cplusplus
}
#endif
#endif
