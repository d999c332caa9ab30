/* Kernel TLS probe. The tls ULP can only be attached to an established TCP
 * socket, so the probe makes a loopback connection to itself and asks. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ringfeed/tls.h"

#ifndef TCP_ULP
#define TCP_ULP 31
#endif

static const char *reason(int err)
{
    switch (err) {
    case ENOENT: return "kernel has no tls ULP (ENOENT: tls module not built or not loaded)";
    case ENOPROTOOPT: return "kernel does not support TCP_ULP (ENOPROTOOPT)";
    case EOPNOTSUPP: return "kernel refused the tls ULP on a TCP socket (EOPNOTSUPP)";
    case EPERM: return "not permitted to attach the tls ULP (EPERM)";
    case EEXIST: return "socket already has an upper-layer protocol (EEXIST)";
    default: return "setsockopt(TCP_ULP, \"tls\") failed";
    }
}

int rf_tls_kernel_offload_available(const char **why)
{
    const char *msg = "could not make a loopback TCP connection to probe with";
    int ok = 0;
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    /* A blocking connect completes against the listen backlog; no accept needed. */
    if (lfd >= 0 && cfd >= 0 && bind(lfd, (struct sockaddr *)&a, sizeof a) == 0 && listen(lfd, 1) == 0 &&
        getsockname(lfd, (struct sockaddr *)&a, &alen) == 0 &&
        connect(cfd, (struct sockaddr *)&a, sizeof a) == 0) {
        if (setsockopt(cfd, SOL_TCP, TCP_ULP, "tls", sizeof "tls" - 1) == 0) {
            ok = 1;
            msg = "kernel accepts the tls ULP";
        } else {
            msg = reason(errno);
        }
    }
    if (cfd >= 0)
        close(cfd);
    if (lfd >= 0)
        close(lfd);
    if (why != NULL)
        *why = msg;
    return ok;
}
