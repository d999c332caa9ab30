/* Listening sockets: multishot accept (single-shot where the kernel refuses
 * it). A listener, like a connection, is freed by the last completion that
 * references it, so closing it from inside on_accept is safe. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop_internal.h"

static void arm_accept(rf_listener *l) {
    struct io_uring_sqe *sqe = rf__get_sqe(l->loop, RF__UD(l, RF__OP_ACCEPT));
    if (!sqe)
        return; /* retried from the next completion or the retry timer */
    if (l->multishot)
        io_uring_prep_multishot_accept(sqe, l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    else
        io_uring_prep_accept(sqe, l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    l->accept_armed = true;
    l->inflight++;
}

static void listener_put(rf_listener *l) {
    l->inflight--;
    if (l->inflight == 0 && l->closing) {
        close(l->fd);
        free(l);
    }
}

static void accept_retry(rf_loop *loop, void *arg) {
    rf_listener *l = arg;
    (void)loop;
    l->retry_timer = NULL;
    if (!l->closing && !l->accept_armed)
        arm_accept(l);
}

void rf__listener_on_accept(rf_listener *l, int res, unsigned flags) {
    bool more = flags & IORING_CQE_F_MORE;
    bool backoff = false;
    if (!more)
        l->accept_armed = false;
    if (res >= 0) {
        if (l->closing) {
            close(res);
        } else {
            int one = 1;
            setsockopt(res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            rf_conn *c = rf__conn_new(l->loop, res, RF__OPEN);
            if (!c) {
                close(res);
            } else {
                l->on_accept(l, l->ctx, c);
                if (!c->has_handlers)
                    rf__conn_fail(c, 0); /* untaken: closed without on_close */
                else
                    rf__conn_arm_recv(c);
            }
        }
    } else if (res == -EINVAL && l->multishot) {
        l->multishot = false;
    } else if (res != -ECANCELED && res != -EAGAIN && res != -EINTR && res != -ECONNABORTED) {
        /* EMFILE and friends: re-arming at once would spin. */
        backoff = true;
    }
    if (!more && !l->closing && !l->accept_armed) {
        if (!backoff)
            arm_accept(l);
        else if (!l->retry_timer)
            rf_timer_start(l->loop, 100000000u, accept_retry, l, &l->retry_timer);
    }
    if (!more)
        listener_put(l);
}

int rf_tcp_listen(rf_loop *loop, const char *host, uint16_t port, int backlog,
                  rf_accept_fn on_accept, void *ctx, rf_listener **out) {
    if (out)
        *out = NULL;
    if (!loop || !on_accept)
        return RF_EINVAL;
    if (loop->destroying)
        return RF_ECLOSED;
    struct addrinfo *ai;
    int r = rf__resolve(host, port, AI_PASSIVE, &ai);
    if (r != 0)
        return r;
    int fd = -1;
    for (struct addrinfo *a = ai; a; a = a->ai_next) {
        fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 &&
            listen(fd, backlog > 0 ? backlog : SOMAXCONN) == 0)
            break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    if (fd < 0)
        return RF_ESYS;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    uint16_t bound = port;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET)
            bound = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        else if (ss.ss_family == AF_INET6)
            bound = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    rf_listener *l = calloc(1, sizeof *l);
    if (!l) {
        close(fd);
        return RF_ENOMEM;
    }
    l->loop = loop;
    l->fd = fd;
    l->port = bound;
    l->multishot = true;
    l->on_accept = on_accept;
    l->ctx = ctx;
    arm_accept(l);
    if (!l->accept_armed) {
        close(fd);
        free(l);
        return RF_ESYS;
    }
    l->next = loop->listeners;
    if (loop->listeners)
        loop->listeners->prev = l;
    loop->listeners = l;
    if (out)
        *out = l;
    return 0;
}

uint16_t rf_listener_port(const rf_listener *l) {
    return l->port;
}

void rf_listener_close(rf_listener *l) {
    if (!l || l->closing)
        return;
    rf_loop *loop = l->loop;
    l->closing = true;
    if (l->prev)
        l->prev->next = l->next;
    else
        loop->listeners = l->next;
    if (l->next)
        l->next->prev = l->prev;
    l->prev = l->next = NULL;
    if (l->retry_timer) {
        rf_timer_cancel(l->retry_timer);
        l->retry_timer = NULL;
    }
    if (l->accept_armed)
        rf__cancel_op(loop, RF__UD(l, RF__OP_ACCEPT));
    /* Freed by the last completion; inside on_accept that is still ahead. */
    l->inflight++;
    listener_put(l);
}
