/* TCP connections and listeners on the ring.
 *
 * Lifetime: an rf_conn counts the ops whose user_data points at it
 * (c->inflight). Closing only marks it CLOSING and queues it on
 * loop->pending; after the current batch the loop cancels its ops, and once
 * the last one has completed it closes the fd, calls on_close and frees it.
 * So on_close never runs inside an API call, runs exactly once, and no
 * completion can arrive for freed memory. */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ktls.h"
#include "loop_internal.h"
#include "loop_ktls.h"

/* Send buffers above this are freed once drained, so one 16 MiB message
 * does not pin 16 MiB per connection forever. */
#define RF__SEND_KEEP ((size_t)256 * 1024)
/* One send SQE carries at most this much (sqe->len is 32 bits); the rest
 * goes out as if it were a short write. */
#define RF__SEND_MAX ((size_t)1 << 30)

static int map_errno(int err) {
    switch (err) {
    case ECONNREFUSED:
        return RF_ECONNREFUSED;
    case ETIMEDOUT:
        return RF_ETIMEDOUT;
    case ECONNRESET:
    case EPIPE:
    case ECONNABORTED:
        return RF_ECONNRESET;
    default:
        return RF_ESYS;
    }
}

/* ---- lists ---- */

static void pending_add(rf_conn *c) {
    if (c->in_pending)
        return;
    c->in_pending = true;
    c->next_pending = c->loop->pending;
    c->loop->pending = c;
}

static void flush_add(rf_conn *c) {
    if (c->in_flush)
        return;
    c->in_flush = true;
    c->next_flush = c->loop->flush;
    c->loop->flush = c;
}

static void flush_remove(rf_conn *c) {
    if (!c->in_flush)
        return;
    for (rf_conn **pp = &c->loop->flush; *pp; pp = &(*pp)->next_flush) {
        if (*pp == c) {
            *pp = c->next_flush;
            break;
        }
    }
    c->in_flush = false;
}

rf_conn *rf__conn_new(rf_loop *loop, int fd, int state) {
    rf_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->loop = loop;
    c->fd = fd;
    c->state = state;
    c->next = loop->conns;
    if (loop->conns)
        loop->conns->prev = c;
    loop->conns = c;
    return c;
}

static void conn_free(rf_conn *c) {
    rf_loop *loop = c->loop;
    if (c->prev)
        c->prev->next = c->next;
    else
        loop->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->ai_head)
        freeaddrinfo(c->ai_head);
    free(c->acc.p);
    free(c->fly.p);
    free(c->rbuf);
    free(c);
}

static void conn_put(rf_conn *c) {
    c->inflight--;
    if (c->inflight == 0 && c->state == RF__CLOSING)
        pending_add(c);
}

void rf__conn_fail(rf_conn *c, int reason) {
    if (c->state == RF__CLOSING)
        return;
    c->state = RF__CLOSING;
    c->reason = reason;
    pending_add(c);
}

static void finalize(rf_conn *c) {
    if (c->grace_timer) {
        rf_timer_cancel(c->grace_timer);
        c->grace_timer = NULL;
    }
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    flush_remove(c);
    if (c->has_handlers && c->h.on_close)
        c->h.on_close(c, c->ctx, c->reason);
    conn_free(c);
}

/* ---- receive ---- */

void rf__conn_arm_recv(rf_conn *c) {
    rf_loop *loop = c->loop;
    if (c->recv_armed || c->recv_paused || c->peer_eof || c->state == RF__CLOSING ||
        c->state == RF__CONNECTING)
        return;
    if (!loop->br && !c->rbuf) {
        c->rbuf = malloc(loop->buf_size);
        if (!c->rbuf) {
            rf__conn_fail(c, RF_ENOMEM);
            return;
        }
    }
    struct io_uring_sqe *sqe = rf__get_sqe(loop, RF__UD(c, RF__OP_RECV));
    if (!sqe) {
        rf__conn_fail(c, RF_ESYS);
        return;
    }
    if (loop->multishot) {
        io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
    } else if (loop->br) {
        io_uring_prep_recv(sqe, c->fd, NULL, loop->buf_size, 0);
    } else {
        io_uring_prep_recv(sqe, c->fd, c->rbuf, loop->buf_size, 0);
    }
    if (loop->br) {
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = RF__BGID;
    }
    c->recv_multishot = loop->multishot;
    c->recv_armed = true;
    c->inflight++;
}

void rf__conn_on_recv(rf_conn *c, int res, unsigned flags) {
    rf_loop *loop = c->loop;
    bool more = flags & IORING_CQE_F_MORE;
    uint8_t *data = c->rbuf;
    int bid = -1;
    if (flags & IORING_CQE_F_BUFFER) {
        bid = (int)(flags >> IORING_CQE_BUFFER_SHIFT);
        data = loop->bufs + (size_t)bid * loop->buf_size;
    }
    if (!more)
        c->recv_armed = false;
    if (res > 0 && c->state == RF__OPEN && c->h.on_data)
        c->h.on_data(c, c->ctx, data, (size_t)res);
    /* Returned only now: the view handed to on_data is valid until it returns. */
    if (bid >= 0)
        rf__buf_return(loop, (unsigned)bid);

    if (res == 0) {
        /* A polite close still owes the peer its queued bytes (the peer may
         * only have shut down its write side): finish those first. */
        if (c->state == RF__GRACEFUL && !c->shut_wr)
            c->peer_eof = true;
        else
            rf__conn_fail(c, 0);
    } else if (res < 0) {
        if (res == -EINVAL && c->recv_multishot) {
            /* The probe passed but this kernel still refuses multishot here:
             * the whole loop drops to single-shot. */
            loop->multishot = false;
        } else if (res != -ENOBUFS && res != -EAGAIN && res != -EINTR && res != -ECANCELED) {
            /* kTLS RX fails a recv with EIO when a non-data record is next. */
            int reason = c->on_recv_error ? c->on_recv_error(c, c->ktls_arg, res) : map_errno(-res);
            if (reason != 0)
                rf__conn_fail(c, reason);
        }
    }
    /* Re-arm before dropping the reference so the count never touches 0 on
     * a live connection. Multishot ends on -ENOBUFS or a full CQ; buffers
     * go back synchronously, so re-arming at once is fine. */
    if (!more) {
        if (c->state == RF__OPEN || c->state == RF__GRACEFUL)
            rf__conn_arm_recv(c);
        conn_put(c);
        if (c->recv_paused && c->on_paused && !c->recv_armed && c->state == RF__OPEN) {
            void (*paused)(rf_conn *, void *) = c->on_paused;
            c->on_paused = NULL;
            paused(c, c->ktls_arg);
        }
    }
}

/* ---- send ---- */

static void submit_fly(rf_conn *c) {
    size_t n = c->fly.len - c->fly.off;
    if (n > RF__SEND_MAX)
        n = RF__SEND_MAX;
    struct io_uring_sqe *sqe = rf__get_sqe(c->loop, RF__UD(c, RF__OP_SEND));
    if (!sqe) {
        rf__conn_fail(c, RF_ESYS);
        return;
    }
    io_uring_prep_send(sqe, c->fd, c->fly.p + c->fly.off, n, MSG_NOSIGNAL);
    c->send_inflight = true;
    c->inflight++;
}

/* The queued control record: one sendmsg with its record-type cmsg. */
static void submit_ctl(rf_conn *c) {
    struct io_uring_sqe *sqe = rf__get_sqe(c->loop, RF__UD(c, RF__OP_SEND));
    if (!sqe) {
        rf__conn_fail(c, RF_ESYS);
        return;
    }
    rf__ktls_record_msg(&c->ctl_msg, &c->ctl_iov, c->ctl_cbuf, c->ctl_type, c->ctl, c->ctl_len);
    io_uring_prep_sendmsg(sqe, c->fd, &c->ctl_msg, MSG_NOSIGNAL);
    c->send_inflight = c->ctl_inflight = true;
    c->inflight++;
}

static void maybe_shutdown(rf_conn *c) {
    if (c->state == RF__GRACEFUL && !c->shut_wr && !c->send_inflight && c->acc.len == 0 && c->ctl_len == 0) {
        c->shut_wr = true;
        shutdown(c->fd, SHUT_WR);
        if (c->peer_eof)
            rf__conn_fail(c, 0);
    }
}

static void flush_one(rf_conn *c) {
    if (c->state != RF__OPEN && c->state != RF__GRACEFUL)
        return;
    if (!c->send_inflight && c->acc.len > 0) {
        rf__sbuf t = c->fly; /* empty: nothing in flight */
        c->fly = c->acc;
        c->acc = t;
        c->acc.len = c->acc.off = 0;
        submit_fly(c);
    } else if (!c->send_inflight && c->ctl_len > 0) {
        submit_ctl(c); /* after every byte queued before it */
    }
    maybe_shutdown(c);
}

void rf__conn_on_send(rf_conn *c, int res) {
    c->send_inflight = false;
    if (c->ctl_inflight) {
        c->ctl_inflight = false;
        if (c->state != RF__CLOSING) {
            if (res > 0)
                c->ctl_len = 0; /* a record is taken whole or not at all */
            else if (res != 0 && res != -EAGAIN && res != -EINTR && res != -ECANCELED)
                rf__conn_fail(c, map_errno(-res));
            flush_add(c); /* retry, or go on with what was queued since */
        }
        conn_put(c);
        return;
    }
    if (c->state != RF__CLOSING) {
        if (res > 0) {
            c->fly.off += (size_t)res;
            if (c->fly.off < c->fly.len) {
                submit_fly(c);
            } else {
                c->fly.len = c->fly.off = 0;
                if (c->fly.cap > RF__SEND_KEEP) {
                    free(c->fly.p);
                    c->fly.p = NULL;
                    c->fly.cap = 0;
                }
                if (c->acc.len > 0 || c->ctl_len > 0)
                    flush_add(c);
                maybe_shutdown(c);
            }
        } else if (res == 0 || res == -EAGAIN || res == -EINTR || res == -ECANCELED) {
            /* -ECANCELED on a live connection: the kernel dropped the op
             * (e.g. its submitting thread exited), not us. */
            submit_fly(c);
        } else {
            rf__conn_fail(c, map_errno(-res));
        }
    }
    conn_put(c);
}

uint8_t *rf_conn_reserve(rf_conn *c, size_t n) {
    if (c->state == RF__CLOSING || c->state == RF__GRACEFUL)
        return NULL;
    rf__sbuf *b = &c->acc;
    if (n > SIZE_MAX - b->len)
        return NULL;
    size_t need = b->len + n;
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < need)
            cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        /* acc is never in the kernel's hands, so moving it is safe. */
        uint8_t *p = realloc(b->p, cap);
        if (!p)
            return NULL;
        b->p = p;
        b->cap = cap;
    }
    c->reserved = n;
    return b->p + b->len;
}

int rf_conn_commit(rf_conn *c, size_t n) {
    if (c->state == RF__CLOSING || c->state == RF__GRACEFUL)
        return RF_ECLOSED;
    if (n > c->reserved)
        return RF_EINVAL;
    c->acc.len += n;
    c->reserved = 0;
    if (n)
        flush_add(c);
    return 0;
}

int rf_conn_send(rf_conn *c, const void *data, size_t len) {
    if (len == 0)
        return 0;
    uint8_t *p = rf_conn_reserve(c, len);
    if (!p)
        return (c->state == RF__CLOSING || c->state == RF__GRACEFUL) ? RF_ECLOSED : RF_ENOMEM;
    memcpy(p, data, len);
    return rf_conn_commit(c, len);
}

size_t rf_conn_pending(const rf_conn *c) {
    return c->acc.len + (c->fly.len - c->fly.off);
}

/* ---- closing ---- */

void rf_conn_close(rf_conn *c) {
    if (c->state == RF__GRACEFUL) {
        /* Upgrade a polite close to an immediate one; the reason stays 0. */
        c->state = RF__OPEN;
    }
    rf__conn_fail(c, 0);
}

static void grace_expired(rf_loop *loop, void *arg) {
    rf_conn *c = arg;
    (void)loop;
    c->grace_timer = NULL; /* freed by the timer code after we return */
    rf__conn_fail(c, RF_ETIMEDOUT);
}

void rf_conn_close_graceful(rf_conn *c, uint64_t timeout_ns) {
    if (c->state == RF__CONNECTING) {
        rf__conn_fail(c, 0);
        return;
    }
    if (c->state != RF__OPEN)
        return;
    c->state = RF__GRACEFUL;
    c->recv_paused = false; /* a pause for kTLS must not keep the EOF from being seen */
    if (rf_timer_start(c->loop, timeout_ns, grace_expired, c, &c->grace_timer) != 0) {
        rf_conn_close(c);
        return;
    }
    rf__conn_arm_recv(c); /* EOF must be noticed even if nothing else armed a recv */
    flush_add(c); /* the shutdown happens from the loop once the queue drains */
}

static void process_pending(rf_loop *loop) {
    rf_conn *c;
    while ((c = loop->pending)) {
        loop->pending = c->next_pending;
        c->in_pending = false;
        if (!c->cancel_issued) {
            c->cancel_issued = true;
            if (c->recv_armed)
                rf__cancel_op(loop, RF__UD(c, RF__OP_RECV));
            if (c->send_inflight)
                rf__cancel_op(loop, RF__UD(c, RF__OP_SEND));
            if (c->connect_inflight)
                rf__cancel_op(loop, RF__UD(c, RF__OP_CONNECT));
        }
        if (c->inflight == 0)
            finalize(c); /* may close or send on others: the outer loop rescans */
    }
}

void rf__conn_after_batch(rf_loop *loop) {
    while (loop->pending || loop->flush) {
        rf_conn *c;
        while ((c = loop->flush)) {
            loop->flush = c->next_flush;
            c->in_flush = false;
            flush_one(c);
        }
        process_pending(loop);
    }
}

void rf_conn_set_handlers(rf_conn *c, const rf_conn_handlers *h, void *ctx) {
    if (h) {
        c->h = *h;
        c->has_handlers = true;
    } else {
        memset(&c->h, 0, sizeof c->h);
        c->has_handlers = false;
    }
    c->ctx = ctx;
}

int rf_conn_fd(const rf_conn *c) {
    return c->fd;
}

rf_loop *rf_conn_loop(const rf_conn *c) {
    return c->loop;
}

/* ---- kernel TLS hooks (loop_ktls.h) ---- */

void rf__conn_pause_recv(rf_conn *c, void (*on_paused)(rf_conn *c, void *arg), void *arg) {
    c->recv_paused = true;
    c->on_paused = on_paused;
    c->ktls_arg = arg;
    if (c->recv_armed)
        rf__cancel_op(c->loop, RF__UD(c, RF__OP_RECV));
}

void rf__conn_resume_recv(rf_conn *c) {
    c->recv_paused = false;
    c->on_paused = NULL;
    rf__conn_arm_recv(c);
}

void rf__conn_set_recv_error(rf_conn *c, int (*fn)(rf_conn *c, void *arg, int err), void *arg) {
    c->on_recv_error = fn;
    c->ktls_arg = arg;
}

int rf__conn_send_record(rf_conn *c, uint8_t type, const uint8_t *data, size_t len) {
    if (c->state == RF__CLOSING || c->state == RF__GRACEFUL)
        return RF_ECLOSED;
    if (c->ctl_len > 0 || len == 0 || len > sizeof c->ctl)
        return RF_ESTATE;
    memcpy(c->ctl, data, len);
    c->ctl_len = (uint8_t)len;
    c->ctl_type = type;
    flush_add(c);
    return 0;
}

/* ---- connect ---- */

static int new_socket(int family) {
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* Starts a connect on c->ai_cur or a later address. Returns 0 when an op is
 * in flight, else the negative errno of the last failure. */
static int connect_next(rf_conn *c, int last_err) {
    for (; c->ai_cur; c->ai_cur = c->ai_cur->ai_next) {
        int fd = new_socket(c->ai_cur->ai_family);
        if (fd < 0) {
            last_err = -errno;
            continue;
        }
        struct io_uring_sqe *sqe = rf__get_sqe(c->loop, RF__UD(c, RF__OP_CONNECT));
        if (!sqe) {
            close(fd);
            return -ENOMEM;
        }
        /* The sockaddr lives in ai_head until the conn is connected or freed. */
        io_uring_prep_connect(sqe, fd, c->ai_cur->ai_addr, c->ai_cur->ai_addrlen);
        c->fd = fd;
        c->connect_inflight = true;
        c->inflight++;
        return 0;
    }
    return last_err;
}

void rf__conn_on_connect(rf_conn *c, int res) {
    c->connect_inflight = false;
    if (c->state == RF__CLOSING) {
        conn_put(c);
        return;
    }
    if (res == 0) {
        c->state = RF__OPEN;
        freeaddrinfo(c->ai_head);
        c->ai_head = c->ai_cur = NULL;
        rf__conn_arm_recv(c);
        if (c->acc.len > 0)
            flush_add(c);
        if (c->h.on_connect)
            c->h.on_connect(c, c->ctx);
    } else {
        close(c->fd);
        c->fd = -1;
        c->ai_cur = c->ai_cur->ai_next;
        int r = connect_next(c, res);
        if (r != 0)
            rf__conn_fail(c, map_errno(-r));
    }
    conn_put(c);
}

int rf__resolve(const char *host, uint16_t port, int flags, struct addrinfo **out) {
    char service[8];
    snprintf(service, sizeof service, "%u", (unsigned)port);
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = flags | AI_NUMERICSERV;
    int r = getaddrinfo(host, service, &hints, out);
    if (r == 0)
        return 0;
    if (r == EAI_MEMORY)
        return RF_ENOMEM;
    if (r == EAI_SYSTEM)
        return RF_ESYS;
    return RF_ERESOLVE;
}

int rf_tcp_connect(rf_loop *loop, const char *host, uint16_t port, const rf_conn_handlers *h,
                   void *ctx, rf_conn **out) {
    if (out)
        *out = NULL;
    if (!loop || !host)
        return RF_EINVAL;
    if (loop->destroying)
        return RF_ECLOSED;
    struct addrinfo *ai;
    int r = rf__resolve(host, port, 0, &ai);
    if (r != 0)
        return r;
    rf_conn *c = rf__conn_new(loop, -1, RF__CONNECTING);
    if (!c) {
        freeaddrinfo(ai);
        return RF_ENOMEM;
    }
    c->ai_head = c->ai_cur = ai;
    rf_conn_set_handlers(c, h, ctx);
    r = connect_next(c, -ENOENT);
    if (r != 0) {
        conn_free(c); /* nothing started: no callback, per the contract */
        return r == -ENOMEM ? RF_ENOMEM : RF_ESYS;
    }
    if (out)
        *out = c;
    return 0;
}
