/* ws://, wss://, http:// and https:// URLs, parsed without allocation. */
#ifndef RINGFEED_URL_H
#define RINGFEED_URL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rf_url {
    char scheme[8];   /* "ws", "wss", "http", "https" (lower case) */
    char host[256];   /* without brackets for IPv6 literals */
    char path[4096];  /* path and query, "/" when absent */
    uint16_t port;    /* explicit, or 80 / 443 by scheme */
    uint8_t tls;      /* 1 for wss and https */
    uint8_t default_port; /* 1 when port is the scheme's default */
} rf_url;

/* Returns 0, or RF_EURL for a malformed URL, an unknown scheme, userinfo,
 * a fragment, a port outside 1..65535 or a component too long. */
int rf_url_parse(const char *text, rf_url *out);

/* The Host header value: host, with ":port" unless it is the default, with
 * brackets around IPv6 literals. Returns its length or RF_ENOSPC. */
int rf_url_host_header(const rf_url *url, char *buf, unsigned cap);

#ifdef __cplusplus
}
#endif
#endif
