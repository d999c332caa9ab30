/* Private to the event loop (loop.c, loop_conn.c, loop_listen.c, loop_timer.c). */
#ifndef RINGFEED_LOOP_INTERNAL_H
#define RINGFEED_LOOP_INTERNAL_H

#include <liburing.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "ringfeed/error.h"
#include "ringfeed/loop.h"

/* user_data = object pointer | tag. Every object comes from malloc, so the
 * low three bits are free and a completion dispatches without a lookup. */
enum {
    RF__OP_IGNORE = 0, /* cancels and timeout removals: nothing to do */
    RF__OP_RECV = 1,
    RF__OP_SEND = 2,
    RF__OP_CONNECT = 3,
    RF__OP_ACCEPT = 4,
    RF__OP_TIMER = 5,
    RF__OP_WAKE = 6,
    RF__OP_TAG_MASK = 7,
};

#define RF__UD(ptr, tag) ((uint64_t)(uintptr_t)(ptr) | (uint64_t)(tag))

enum rf__conn_state {
    RF__CONNECTING,
    RF__OPEN,
    RF__GRACEFUL, /* flushing, then discarding input until EOF */
    RF__CLOSING,  /* waiting for in-flight ops, then on_close and free */
};

/* A send buffer: bytes [off, len) are still to go. */
typedef struct rf__sbuf {
    uint8_t *p;
    size_t cap, len, off;
} rf__sbuf;

typedef struct rf__post {
    struct rf__post *next;
    void (*fn)(rf_loop *loop, void *arg);
    void *arg;
} rf__post;

struct rf_conn {
    rf_loop *loop;
    int fd;
    int state;
    int reason;
    unsigned inflight; /* ops whose user_data points here; freed only at 0 */
    bool recv_armed, recv_multishot, send_inflight, connect_inflight;
    bool cancel_issued, in_pending, in_flush, has_handlers, shut_wr, peer_eof;
    rf_conn_handlers h;
    void *ctx;
    /* Two buffers so the one the kernel reads from never moves: reserve and
     * commit append to acc; fly is in flight. They swap when fly is done. */
    rf__sbuf acc, fly;
    size_t reserved;
    uint8_t *rbuf; /* single-shot recv without a buffer ring */
    struct addrinfo *ai_head, *ai_cur;
    rf_timer *grace_timer;
    rf_conn *prev, *next;  /* loop->conns */
    rf_conn *next_pending; /* loop->pending */
    rf_conn *next_flush;   /* loop->flush */
    /* Kernel TLS hooks (loop_ktls.h): a paused receive, a receive error
     * handler, and one control record (an alert) to send after the queue. */
    bool recv_paused, ctl_inflight;
    uint8_t ctl_type, ctl_len, ctl[8];
    void (*on_paused)(rf_conn *c, void *arg);
    int (*on_recv_error)(rf_conn *c, void *arg, int err);
    void *ktls_arg;
    struct msghdr ctl_msg; /* read by the kernel while the sendmsg is in flight */
    struct iovec ctl_iov;
    uint8_t ctl_cbuf[24]; /* RF__KTLS_CMSG_SPACE */
};

struct rf_listener {
    rf_loop *loop;
    int fd;
    uint16_t port;
    bool closing, accept_armed, multishot;
    unsigned inflight;
    rf_accept_fn on_accept;
    void *ctx;
    rf_timer *retry_timer;
    rf_listener *prev, *next;
};

enum rf__timer_state { RF__TIMER_ARMED, RF__TIMER_CANCELLED, RF__TIMER_FIRING };

struct rf_timer {
    rf_loop *loop;
    int state;
    /* Read by the kernel when the SQE is submitted, which may be after
     * rf_timer_start returns, so it lives with the timer. */
    struct __kernel_timespec ts;
    void (*cb)(rf_loop *loop, void *arg);
    void *arg;
    rf_timer *prev, *next;
};

struct rf_loop {
    struct io_uring ring;
    unsigned ops; /* SQEs whose final CQE has not been seen yet */
    unsigned buf_count, buf_size;
    struct io_uring_buf_ring *br; /* NULL: no provided-buffer ring */
    size_t br_bytes;
    uint8_t *bufs;
    bool multishot;
    bool destroying;

    int wake_fd;
    uint64_t wake_val;
    bool wake_armed;
    pthread_mutex_t mu; /* guards posts_head/tail, closed */
    rf__post *posts_head, *posts_tail;
    bool closed;
    atomic_int stop;

    rf_conn *conns;
    rf_conn *pending;
    rf_conn *flush;
    rf_listener *listeners;
    rf_timer *timers;
    rf_timer *dead_timers; /* completed during rf_loop_destroy */
};

#define RF__BGID 0

/* loop.c */
struct io_uring_sqe *rf__get_sqe(rf_loop *loop, uint64_t user_data);
void rf__cancel_op(rf_loop *loop, uint64_t target);
void rf__buf_return(rf_loop *loop, unsigned bid);

/* loop_conn.c */
rf_conn *rf__conn_new(rf_loop *loop, int fd, int state);
void rf__conn_arm_recv(rf_conn *c);
/* getaddrinfo for SOCK_STREAM, AF_UNSPEC; 0, RF_ERESOLVE, RF_ENOMEM or RF_ESYS. */
int rf__resolve(const char *host, uint16_t port, int flags, struct addrinfo **out);
void rf__conn_on_recv(rf_conn *c, int res, unsigned flags);
void rf__conn_on_send(rf_conn *c, int res);
void rf__conn_on_connect(rf_conn *c, int res);
void rf__conn_fail(rf_conn *c, int reason);
/* Runs pending closes and queued sends until neither has work. */
void rf__conn_after_batch(rf_loop *loop);

/* loop_listen.c */
void rf__listener_on_accept(rf_listener *l, int res, unsigned flags);

/* loop_timer.c */
void rf__timer_on_complete(rf_timer *t, int res);

#endif
