/* The loop itself: ring setup, provided-buffer ring, completion dispatch,
 * cross-thread posting and teardown. Connections live in loop_conn.c,
 * timers in loop_timer.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "loop_internal.h"

uint64_t rf_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Every SQE taken here yields exactly one final CQE (one without F_MORE), so
 * loop->ops counts what teardown still has to wait for. */
struct io_uring_sqe *rf__get_sqe(rf_loop *loop, uint64_t user_data) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&loop->ring);
    if (!sqe) {
        io_uring_submit(&loop->ring);
        sqe = io_uring_get_sqe(&loop->ring);
        if (!sqe)
            return NULL;
    }
    io_uring_sqe_set_data64(sqe, user_data);
    loop->ops++;
    return sqe;
}

void rf__cancel_op(rf_loop *loop, uint64_t target) {
    struct io_uring_sqe *sqe = rf__get_sqe(loop, RF__UD(NULL, RF__OP_IGNORE));
    if (sqe)
        io_uring_prep_cancel64(sqe, target, 0);
}

void rf__buf_return(rf_loop *loop, unsigned bid) {
    io_uring_buf_ring_add(loop->br, loop->bufs + (size_t)bid * loop->buf_size, loop->buf_size,
                          (unsigned short)bid, io_uring_buf_ring_mask(loop->buf_count), 0);
    io_uring_buf_ring_advance(loop->br, 1);
}

static int setup_buf_ring(rf_loop *loop) {
    size_t bytes = (size_t)loop->buf_count * sizeof(struct io_uring_buf);
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0)
        page = 4096;
    bytes = (bytes + (size_t)page - 1) & ~((size_t)page - 1);
    /* The kernel wants the ring page-aligned; mmap gives that for free. */
    void *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return RF_ENOMEM;
    loop->bufs = malloc((size_t)loop->buf_count * loop->buf_size);
    if (!loop->bufs) {
        munmap(mem, bytes);
        return RF_ENOMEM;
    }
    struct io_uring_buf_reg reg;
    memset(&reg, 0, sizeof reg);
    reg.ring_addr = (uint64_t)(uintptr_t)mem;
    reg.ring_entries = loop->buf_count;
    reg.bgid = RF__BGID;
    if (io_uring_register_buf_ring(&loop->ring, &reg, 0) != 0) {
        /* Older kernel: single-shot recv into per-connection buffers. */
        munmap(mem, bytes);
        free(loop->bufs);
        loop->bufs = NULL;
        return 0;
    }
    loop->br = mem;
    loop->br_bytes = bytes;
    io_uring_buf_ring_init(loop->br);
    for (unsigned i = 0; i < loop->buf_count; i++)
        io_uring_buf_ring_add(loop->br, loop->bufs + (size_t)i * loop->buf_size, loop->buf_size,
                              (unsigned short)i, io_uring_buf_ring_mask(loop->buf_count), (int)i);
    io_uring_buf_ring_advance(loop->br, (int)loop->buf_count);
    return 0;
}

/* Multishot recv cannot be probed by opcode (the flag is new, the opcode is
 * not), so try it once on a socketpair: a kernel without it fails the SQE
 * with -EINVAL. */
static bool probe_multishot(rf_loop *loop) {
    int sp[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp) != 0)
        return false;
    const uint64_t probe_ud = 1;
    struct io_uring_sqe *sqe = io_uring_get_sqe(&loop->ring);
    bool ok = false;
    if (sqe) {
        io_uring_prep_recv_multishot(sqe, sp[0], NULL, 0, 0);
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = RF__BGID;
        io_uring_sqe_set_data64(sqe, probe_ud);
        io_uring_submit(&loop->ring);
        if (write(sp[1], "x", 1) != 1) {
            /* fall through: closing the peer below still ends the op */
        }
        bool done = false;
        uint64_t deadline = rf_now_ns() + 2000000000u;
        while (!done && rf_now_ns() < deadline) {
            struct io_uring_cqe *cqe;
            struct __kernel_timespec ts = {.tv_sec = 0, .tv_nsec = 100000000};
            if (io_uring_wait_cqe_timeout(&loop->ring, &cqe, &ts) != 0)
                continue;
            int res = cqe->res;
            unsigned flags = cqe->flags;
            io_uring_cqe_seen(&loop->ring, cqe);
            if (flags & IORING_CQE_F_BUFFER)
                rf__buf_return(loop, flags >> IORING_CQE_BUFFER_SHIFT);
            if (res == 1 && (flags & IORING_CQE_F_MORE)) {
                ok = true;
                /* EOF ends the multishot op with a final CQE. */
                shutdown(sp[1], SHUT_WR);
            }
            if (!(flags & IORING_CQE_F_MORE))
                done = true;
        }
        if (!done)
            ok = false; /* cannot happen on a sane kernel; leaves the op to queue_exit */
    }
    close(sp[0]);
    close(sp[1]);
    return ok;
}

static void arm_wake(rf_loop *loop) {
    struct io_uring_sqe *sqe = rf__get_sqe(loop, RF__UD(loop, RF__OP_WAKE));
    if (!sqe)
        return;
    io_uring_prep_read(sqe, loop->wake_fd, &loop->wake_val, sizeof loop->wake_val, 0);
    loop->wake_armed = true;
}

int rf_loop_create(rf_loop **out, const rf_loop_config *cfg) {
    rf_loop_config c = {0};
    if (cfg)
        c = *cfg;
    if (!out)
        return RF_EINVAL;
    *out = NULL;
    unsigned sq = c.sq_entries ? c.sq_entries : 256;
    unsigned count = c.buf_count ? c.buf_count : 64;
    if (count > 32768)
        count = 32768;
    /* The buffer ring indexes by mask, so round up to a power of two. */
    unsigned pow2 = 1;
    while (pow2 < count)
        pow2 <<= 1;
    unsigned size = c.buf_size ? c.buf_size : 65536;

    rf_loop *loop = calloc(1, sizeof *loop);
    if (!loop)
        return RF_ENOMEM;
    loop->buf_count = pow2;
    loop->buf_size = size;
    loop->wake_fd = -1;
    atomic_init(&loop->stop, 0);

    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    p.flags = IORING_SETUP_CLAMP;
    int r = io_uring_queue_init_params(sq, &loop->ring, &p);
    if (r < 0) {
        free(loop);
        return r == -ENOMEM ? RF_ENOMEM : (r == -ENOSYS || r == -EPERM) ? RF_EUNSUPPORTED : RF_ESYS;
    }
    if (pthread_mutex_init(&loop->mu, NULL) != 0) {
        io_uring_queue_exit(&loop->ring);
        free(loop);
        return RF_ESYS;
    }
    r = setup_buf_ring(loop);
    if (r == 0) {
        loop->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (loop->wake_fd < 0)
            r = RF_ESYS;
    }
    if (r != 0) {
        if (loop->br) {
            io_uring_unregister_buf_ring(&loop->ring, RF__BGID);
            munmap(loop->br, loop->br_bytes);
        }
        free(loop->bufs);
        pthread_mutex_destroy(&loop->mu);
        io_uring_queue_exit(&loop->ring);
        free(loop);
        return r;
    }
    loop->multishot = loop->br && !c.force_single_shot && probe_multishot(loop);
    arm_wake(loop);
    io_uring_submit(&loop->ring);
    *out = loop;
    return 0;
}

const char *rf_loop_recv_mode(const rf_loop *loop) {
    return loop->multishot ? "multishot" : "single-shot";
}

void rf_loop_stop(rf_loop *loop) {
    atomic_store(&loop->stop, 1);
    uint64_t one = 1;
    ssize_t w = write(loop->wake_fd, &one, sizeof one);
    (void)w; /* EAGAIN means the counter is already non-zero: awake anyway */
}

int rf_loop_post(rf_loop *loop, void (*fn)(rf_loop *loop, void *arg), void *arg) {
    if (!loop || !fn)
        return RF_EINVAL;
    rf__post *p = malloc(sizeof *p);
    if (!p)
        return RF_ENOMEM;
    p->next = NULL;
    p->fn = fn;
    p->arg = arg;
    pthread_mutex_lock(&loop->mu);
    if (loop->closed) {
        pthread_mutex_unlock(&loop->mu);
        free(p);
        return RF_ECLOSED;
    }
    if (loop->posts_tail)
        loop->posts_tail->next = p;
    else
        loop->posts_head = p;
    loop->posts_tail = p;
    /* Written under the lock so rf_loop_destroy, which takes it, cannot close
     * the fd between the check above and this write. */
    uint64_t one = 1;
    ssize_t w = write(loop->wake_fd, &one, sizeof one);
    (void)w;
    pthread_mutex_unlock(&loop->mu);
    return 0;
}

static void run_posts(rf_loop *loop) {
    pthread_mutex_lock(&loop->mu);
    rf__post *p = loop->posts_head;
    loop->posts_head = loop->posts_tail = NULL;
    pthread_mutex_unlock(&loop->mu);
    while (p) {
        rf__post *next = p->next;
        p->fn(loop, p->arg);
        free(p);
        p = next;
    }
}

static void on_wake(rf_loop *loop, int res) {
    loop->wake_armed = false;
    (void)res; /* -EAGAIN or a count: either way, look at the queue */
    if (!loop->destroying)
        arm_wake(loop);
    run_posts(loop);
}

static void dispatch(rf_loop *loop, uint64_t ud, int res, unsigned flags) {
    void *obj = (void *)(uintptr_t)(ud & ~(uint64_t)RF__OP_TAG_MASK);
    if (!obj && ud != RF__UD(NULL, RF__OP_IGNORE)) {
        /* Only a probe that timed out at creation (never counted in ops). */
        if (flags & IORING_CQE_F_BUFFER)
            rf__buf_return(loop, flags >> IORING_CQE_BUFFER_SHIFT);
        return;
    }
    if (!(flags & IORING_CQE_F_MORE))
        loop->ops--;
    switch ((int)(ud & RF__OP_TAG_MASK)) {
    case RF__OP_RECV:
        rf__conn_on_recv(obj, res, flags);
        break;
    case RF__OP_SEND:
        rf__conn_on_send(obj, res);
        break;
    case RF__OP_CONNECT:
        rf__conn_on_connect(obj, res);
        break;
    case RF__OP_ACCEPT:
        rf__listener_on_accept(obj, res, flags);
        break;
    case RF__OP_TIMER:
        rf__timer_on_complete(obj, res);
        break;
    case RF__OP_WAKE:
        on_wake(obj, res);
        break;
    default:
        break;
    }
}

/* Handles at most one CQ's worth, so a flood of multishot completions
 * cannot starve the queued sends and closes that follow each batch. */
static int handle_batch(rf_loop *loop) {
    unsigned max = loop->ring.cq.ring_entries;
    int n = 0;
    struct io_uring_cqe *cqe;
    while ((unsigned)n < max && io_uring_peek_cqe(&loop->ring, &cqe) == 0) {
        uint64_t ud = cqe->user_data;
        int res = cqe->res;
        unsigned flags = cqe->flags;
        /* Seen before dispatch: handlers may submit and wait. */
        io_uring_cqe_seen(&loop->ring, cqe);
        dispatch(loop, ud, res, flags);
        n++;
    }
    rf__conn_after_batch(loop);
    return n;
}

int rf_loop_run_once(rf_loop *loop, int timeout_ms) {
    /* Work queued by API calls made outside callbacks goes out first. */
    rf__conn_after_batch(loop);
    int r;
    if (timeout_ms == 0) {
        r = io_uring_submit(&loop->ring);
    } else if (timeout_ms < 0) {
        r = io_uring_submit_and_wait(&loop->ring, 1);
    } else {
        struct io_uring_cqe *cqe = NULL;
        struct __kernel_timespec ts = {.tv_sec = timeout_ms / 1000,
                                       .tv_nsec = (long long)(timeout_ms % 1000) * 1000000};
        r = io_uring_submit_and_wait_timeout(&loop->ring, &cqe, 1, &ts, NULL);
    }
    if (r < 0 && r != -ETIME && r != -EINTR && r != -EAGAIN && r != -EBUSY)
        return RF_ESYS;
    int n = handle_batch(loop);
    io_uring_submit(&loop->ring);
    return n;
}

int rf_loop_run(rf_loop *loop) {
    int r = 0;
    while (!atomic_load(&loop->stop)) {
        r = rf_loop_run_once(loop, -1);
        if (r < 0)
            break;
        r = 0;
    }
    atomic_store(&loop->stop, 0);
    return r;
}

void rf_loop_destroy(rf_loop *loop) {
    if (!loop)
        return;
    /* Posted commands still queued run now, so their args are not leaked;
     * later posts are refused. */
    pthread_mutex_lock(&loop->mu);
    loop->closed = true;
    pthread_mutex_unlock(&loop->mu);
    run_posts(loop);
    loop->destroying = true;

    if (loop->wake_armed)
        rf__cancel_op(loop, RF__UD(loop, RF__OP_WAKE));
    while (loop->listeners) {
        rf_listener *l = loop->listeners;
        rf_listener_close(l);
        if (loop->listeners == l)
            break; /* cannot happen: close unlinks */
    }
    for (rf_conn *c = loop->conns; c; c = c->next)
        rf__conn_fail(c, RF_ECLOSED);
    /* After the conns: cancelling runs no callback, and the memory of every
     * timer stays valid until the end (see rf__timer_on_complete). */
    for (rf_timer *t = loop->timers; t; t = t->next)
        rf_timer_cancel(t);

    /* Nothing may be freed while the kernel can still write into it (receive
     * buffers, wake_val), so wait for every op's final completion. */
    uint64_t deadline = rf_now_ns() + 10000000000ull;
    for (;;) {
        rf__conn_after_batch(loop);
        if (loop->ops == 0 && !loop->conns && !loop->timers && !loop->listeners)
            break;
        if (rf_now_ns() > deadline)
            break;
        struct io_uring_cqe *cqe = NULL;
        struct __kernel_timespec ts = {.tv_sec = 0, .tv_nsec = 100000000};
        io_uring_submit_and_wait_timeout(&loop->ring, &cqe, 1, &ts, NULL);
        handle_batch(loop);
    }
    bool drained = loop->ops == 0;
    if (loop->br) {
        io_uring_unregister_buf_ring(&loop->ring, RF__BGID);
        if (drained)
            munmap(loop->br, loop->br_bytes);
    }
    io_uring_queue_exit(&loop->ring);
    if (!drained)
        return; /* an op never completed: leak rather than risk a stray write */
    while (loop->dead_timers) {
        rf_timer *t = loop->dead_timers;
        loop->dead_timers = t->next;
        free(t);
    }
    free(loop->bufs);
    close(loop->wake_fd);
    pthread_mutex_destroy(&loop->mu);
    free(loop);
}
