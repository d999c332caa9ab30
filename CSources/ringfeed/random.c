#include "random.h"

#include <errno.h>
#include <sys/random.h>

#include "ringfeed/error.h"

int rf__random_fill(void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return RF_ESYS;
        }
        p += got;
        n -= (size_t)got;
    }
    return 0;
}
