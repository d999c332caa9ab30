/* The io_uring event loop: one ring per loop, one loop per thread.
 *
 * Every function here is called on the loop's own thread, except
 * rf_loop_post() and rf_loop_stop(), which any thread may call. Callbacks run
 * on the loop thread. No hidden threads, no global state.
 *
 * Receiving uses multishot recv into a registered provided-buffer ring when
 * the kernel has it, else single-shot recv (rf_loop_recv_mode() says which).
 * Sending goes through a per-connection buffer; queued bytes are submitted
 * when the current batch of completions has been handled, so many small
 * writes become one send. Short writes are resumed. */
#ifndef RINGFEED_LOOP_H
#define RINGFEED_LOOP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rf_loop rf_loop;
typedef struct rf_conn rf_conn;
typedef struct rf_listener rf_listener;
typedef struct rf_timer rf_timer;

typedef struct rf_loop_config {
    unsigned sq_entries;   /* submission queue size; 0 = 256 */
    unsigned buf_count;    /* provided receive buffers, power of two; 0 = 64 */
    unsigned buf_size;     /* bytes per receive buffer; 0 = 64 KiB */
    int force_single_shot; /* 1 = never use multishot recv (tests, old kernels) */
} rf_loop_config;

/* cfg may be NULL for defaults. Returns 0, RF_ENOMEM, RF_ESYS or RF_EUNSUPPORTED. */
int rf_loop_create(rf_loop **out, const rf_loop_config *cfg);

/* Closes every connection, listener and timer still open (on_close runs for
 * each connection with RF_ECLOSED), unregisters and frees all buffers, closes
 * the ring and the wake fd. */
void rf_loop_destroy(rf_loop *loop);

/* Runs until rf_loop_stop(). Returns 0, or a negative code if the ring failed. */
int rf_loop_run(rf_loop *loop);

/* Handles what is ready, waiting up to timeout_ms (-1 forever, 0 not at all)
 * for the first completion. Returns the number of completions handled or a
 * negative code. */
int rf_loop_run_once(rf_loop *loop, int timeout_ms);

/* Any thread: makes rf_loop_run() return after the current batch. */
void rf_loop_stop(rf_loop *loop);

/* Any thread: runs fn(loop, arg) on the loop thread soon, in posting order,
 * waking the loop if it sleeps. Returns 0 or RF_ENOMEM / RF_ECLOSED. */
int rf_loop_post(rf_loop *loop, void (*fn)(rf_loop *loop, void *arg), void *arg);

/* "multishot" or "single-shot". */
const char *rf_loop_recv_mode(const rf_loop *loop);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t rf_now_ns(void);

/* ---- timers (through the ring: IORING_OP_TIMEOUT) ---- */

/* One-shot timer. cb runs on the loop thread after delay_ns unless cancelled;
 * the timer is freed after cb returns. */
int rf_timer_start(rf_loop *loop, uint64_t delay_ns, void (*cb)(rf_loop *loop, void *arg),
                   void *arg, rf_timer **out);
/* cb will not run after this; the timer is freed. */
void rf_timer_cancel(rf_timer *t);

/* ---- TCP connections ---- */

typedef struct rf_conn_handlers {
    /* A client connection is established (not called for accepted ones). */
    void (*on_connect)(rf_conn *c, void *ctx);
    /* Received bytes. The view is valid until the callback returns and may be
     * modified in place (the WebSocket layer unmasks there). */
    void (*on_data)(rf_conn *c, void *ctx, uint8_t *data, size_t len);
    /* Called exactly once at the end of every connection's life, also when
     * connecting failed: reason 0 for orderly close (peer EOF or our close),
     * else RF_ECONNREFUSED, RF_ECONNRESET, RF_ERESOLVE, RF_ETIMEDOUT,
     * RF_ECLOSED (loop destroyed), RF_ESYS ... The connection is freed after
     * it returns. */
    void (*on_close)(rf_conn *c, void *ctx, int reason);
} rf_conn_handlers;

/* Resolves host (getaddrinfo, on the calling thread), then connects with
 * IORING_OP_CONNECT, trying each address in turn. TCP_NODELAY is set.
 * Returns 0 with *out set (the outcome arrives through on_connect/on_close),
 * or a negative code if nothing could be started (no callback then). */
int rf_tcp_connect(rf_loop *loop, const char *host, uint16_t port, const rf_conn_handlers *h,
                   void *ctx, rf_conn **out);

/* A new accepted connection. Call rf_conn_set_handlers() inside the callback
 * to take it; an untaken connection is closed. TCP_NODELAY is set. */
typedef void (*rf_accept_fn)(rf_listener *l, void *ctx, rf_conn *c);

/* Listens on host:port (port 0 picks a free one; rf_listener_port tells). */
int rf_tcp_listen(rf_loop *loop, const char *host, uint16_t port, int backlog,
                  rf_accept_fn on_accept, void *ctx, rf_listener **out);
uint16_t rf_listener_port(const rf_listener *l);
/* Stops accepting and frees the listener (accepted connections live on). */
void rf_listener_close(rf_listener *l);

void rf_conn_set_handlers(rf_conn *c, const rf_conn_handlers *h, void *ctx);

/* Contiguous space for n bytes at the end of the send queue, or NULL
 * (RF_ENOMEM, or the connection is closing). Valid until the next call on c. */
uint8_t *rf_conn_reserve(rf_conn *c, size_t n);
/* Queues n bytes written at the last reserve. Returns 0 or a negative code. */
int rf_conn_commit(rf_conn *c, size_t n);
/* Copy and queue. */
int rf_conn_send(rf_conn *c, const void *data, size_t len);
/* Bytes queued or in flight, not yet accepted by the kernel. */
size_t rf_conn_pending(const rf_conn *c);

/* Closes now: pending sends are dropped, on_close(0) follows (from the loop,
 * not from inside this call). */
void rf_conn_close(rf_conn *c);
/* Closes politely: sends what is queued, shuts down the write side, discards
 * input until the peer's EOF or timeout_ns, then closes; on_close(0) or
 * on_close(RF_ETIMEDOUT). No on_data after this call. */
void rf_conn_close_graceful(rf_conn *c, uint64_t timeout_ns);

int rf_conn_fd(const rf_conn *c);
rf_loop *rf_conn_loop(const rf_conn *c);

#ifdef __cplusplus
}
#endif
#endif
