/* Names for the codes of error.h: one short line each, fit for a user. */
#include "ringfeed/error.h"

const char *rf_strerror(int code)
{
    switch (code) {
    case RF_OK: return "success";
    case RF_EINVAL: return "invalid argument";
    case RF_ENOMEM: return "out of memory";
    case RF_EAGAIN: return "incomplete input";
    case RF_ENOSPC: return "buffer too small";
    case RF_ESYS: return "system call failed";
    case RF_ECLOSED: return "connection closed";
    case RF_ETIMEDOUT: return "timed out";
    case RF_ERESOLVE: return "host name did not resolve";
    case RF_ECONNREFUSED: return "connection refused";
    case RF_ECONNRESET: return "connection reset by peer";
    case RF_EURL: return "malformed or unsupported URL";
    case RF_EBUSY: return "operation already in progress";
    case RF_EUNSUPPORTED: return "not supported by this kernel or build";
    case RF_ESTATE: return "not allowed in the current state";

    case RF_EPROTO_RSV: return "reserved bit set without a negotiated extension";
    case RF_EPROTO_OPCODE: return "reserved opcode";
    case RF_EPROTO_CONTROL_FRAGMENTED: return "fragmented control frame";
    case RF_EPROTO_CONTROL_TOO_LONG: return "control frame payload over 125 bytes";
    case RF_EPROTO_MASK: return "frame masking does not match the role";
    case RF_EPROTO_LENGTH: return "invalid frame length";
    case RF_EPROTO_CONTINUATION: return "continuation frame without a message to continue";
    case RF_EPROTO_FRAGMENT: return "new message started inside a fragmented message";
    case RF_EPROTO_CLOSE_PAYLOAD: return "close frame with a 1-byte payload";
    case RF_EPROTO_CLOSE_CODE: return "invalid close code";
    case RF_EPROTO_AFTER_CLOSE: return "data frame after close";
    case RF_EUTF8: return "invalid UTF-8";
    case RF_ETOOBIG: return "message too big";

    case RF_EHS_MALFORMED: return "malformed HTTP in the opening handshake";
    case RF_EHS_TOOBIG: return "handshake header block too large";
    case RF_EHS_STATUS: return "server did not answer 101 Switching Protocols";
    case RF_EHS_UPGRADE: return "handshake without Upgrade: websocket";
    case RF_EHS_CONNECTION: return "handshake without Connection: upgrade";
    case RF_EHS_ACCEPT: return "wrong Sec-WebSocket-Accept";
    case RF_EHS_EXTENSION: return "server chose an extension that was not offered";
    case RF_EHS_PROTOCOL: return "server chose a subprotocol that was not offered";
    case RF_EHS_METHOD: return "handshake request method is not GET";
    case RF_EHS_VERSION: return "unsupported Sec-WebSocket-Version (need 13)";
    case RF_EHS_KEY: return "missing or invalid Sec-WebSocket-Key";

    case RF_ETLS_CONFIG: return "TLS configuration: CA, certificate or key file unusable";
    case RF_ETLS_UNTRUSTED: return "TLS certificate not trusted (unknown CA)";
    case RF_ETLS_HOSTNAME: return "TLS certificate does not match the host name";
    case RF_ETLS_EXPIRED: return "TLS certificate expired or not yet valid";
    case RF_ETLS_HANDSHAKE: return "TLS handshake failed";
    case RF_ETLS_NOT_TLS: return "peer does not speak TLS";
    case RF_ETLS_CLOSED: return "peer closed the connection during the TLS handshake";
    case RF_ETLS_PROTOCOL: return "TLS protocol error";

    case RF_EHTTP_MALFORMED: return "malformed HTTP response";
    case RF_EHTTP_HEADER_TOOBIG: return "HTTP response header too large";
    case RF_EHTTP_BODY_TOOBIG: return "HTTP response body over the limit";
    case RF_EHTTP_CHUNK: return "malformed chunked HTTP body";
    case RF_EHTTP_GZIP: return "HTTP body does not decompress (gzip)";
    case RF_EHTTP_TRUNCATED: return "HTTP response truncated";
    case RF_EHTTP_UNSUPPORTED: return "unsupported HTTP transfer or content coding";

    case RF_EJSON: return "malformed JSON";
    case RF_EDECIMAL: return "malformed decimal number";
    case RF_EOVERFLOW: return "number out of range";
    case RF_EMISSING: return "required field missing";
    case RF_ETYPE: return "field has the wrong type";

    case RF_EGAP: return "gap in the order book's update sequence";
    case RF_ECROSSED: return "order book crossed (best bid at or above best ask)";
    case RF_EEMPTY: return "no such order book level";
    }
    return "unknown error";
}
