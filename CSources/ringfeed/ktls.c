/* Kernel TLS, the socket side: the probe, attaching the tls ULP, handing a
 * direction to the kernel, and records of other content types (alerts,
 * post-handshake messages), which travel with a record-type cmsg. The tls
 * ULP can only be attached to an established TCP socket, so the probe makes
 * a loopback connection to itself and asks. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ktls.h"
#include "ringfeed/tls.h"

#ifndef TCP_ULP
#define TCP_ULP 31
#endif
#ifndef SOL_TLS
#define SOL_TLS 282
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

int rf__ktls_attach(int fd)
{
    return setsockopt(fd, SOL_TCP, TCP_ULP, "tls", sizeof "tls" - 1) == 0 ? 0 : -errno;
}

int rf__ktls_install(int fd, int dir, const rf__ktls_info *info)
{
    int opt = dir == RF__KTLS_TX ? TLS_TX : TLS_RX;
    return setsockopt(fd, SOL_TLS, opt, &info->u, (socklen_t)info->len) == 0 ? 0 : -errno;
}

void rf__ktls_record_msg(struct msghdr *msg, struct iovec *iov, uint8_t *cbuf, uint8_t type,
                         const uint8_t *data, size_t len)
{
    _Static_assert(CMSG_SPACE(1) <= RF__KTLS_CMSG_SPACE, "cmsg buffer too small");
    memset(msg, 0, sizeof *msg);
    memset(cbuf, 0, RF__KTLS_CMSG_SPACE);
    iov->iov_base = (void *)data;
    iov->iov_len = len;
    msg->msg_iov = iov;
    msg->msg_iovlen = 1;
    msg->msg_control = cbuf;
    msg->msg_controllen = CMSG_SPACE(1);
    struct cmsghdr *cm = CMSG_FIRSTHDR(msg);
    cm->cmsg_level = SOL_TLS;
    cm->cmsg_type = TLS_SET_RECORD_TYPE;
    cm->cmsg_len = CMSG_LEN(1);
    *CMSG_DATA(cm) = type;
}

ssize_t rf__ktls_recv_record(int fd, uint8_t *type, uint8_t *buf, size_t cap)
{
    uint8_t cbuf[RF__KTLS_CMSG_SPACE];
    struct iovec iov = {.iov_base = buf, .iov_len = cap};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                         .msg_controllen = sizeof cbuf};
    ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);
    if (n < 0)
        return -errno;
    *type = RF__TLS_APPLICATION_DATA;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm))
        if (cm->cmsg_level == SOL_TLS && cm->cmsg_type == TLS_GET_RECORD_TYPE)
            *type = *CMSG_DATA(cm);
    return n;
}
