#include "base64.h"

#include "ringfeed/error.h"

#include <limits.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t rf__base64_encode(const uint8_t *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? alphabet[v & 63] : '=';
    }
    return o;
}

static int sextet(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int rf__base64_decode(const char *in, size_t n, uint8_t *out, size_t cap)
{
    if (n % 4 != 0 || n / 4 > INT_MAX / 3)
        return RF_EINVAL;
    size_t pad = 0;
    if (n > 0 && in[n - 1] == '=')
        pad = in[n - 2] == '=' ? 2 : 1;
    size_t len = n / 4 * 3 - pad;
    /* Validate everything before writing, so a refused input leaves out alone. */
    for (size_t i = 0; i < n - pad; i++)
        if (sextet((unsigned char)in[i]) < 0)
            return RF_EINVAL;
    if (pad > 0) {
        /* Canonical encoders zero the bits the padding hides; anything else
         * means two different strings decode to the same bytes. */
        int last = sextet((unsigned char)in[n - pad - 1]);
        if (last & (pad == 2 ? 0x0f : 0x03))
            return RF_EINVAL;
    }
    if (len > cap)
        return RF_ENOSPC;

    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        uint32_t v = 0;
        for (size_t j = 0; j < 4; j++)
            v = v << 6 | (in[i + j] == '=' ? 0u : (uint32_t)sextet((unsigned char)in[i + j]));
        out[o++] = (uint8_t)(v >> 16);
        if (o < len)
            out[o++] = (uint8_t)(v >> 8);
        if (o < len)
            out[o++] = (uint8_t)v;
    }
    return (int)len;
}
