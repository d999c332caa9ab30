/* Kernel CSPRNG access for masking keys and handshake nonces. */
#ifndef RF_RANDOM_H
#define RF_RANDOM_H

#include <stddef.h>

/* Fills buf with n bytes from getrandom(2). Returns 0 or RF_ESYS. */
int rf__random_fill(void *buf, size_t n);

#endif
