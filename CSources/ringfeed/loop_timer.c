/* One-shot timers as IORING_OP_TIMEOUT. A timer's memory belongs to its
 * timeout op: it is freed when that op's completion arrives, whether the
 * timer fired or was removed, so a late completion never touches freed
 * memory. Cancelling only flips the state (and asks the kernel to remove the
 * op early); the callback checks the state, never the kernel's verdict. */
#include <errno.h>
#include <stdlib.h>

#include "loop_internal.h"

int rf_timer_start(rf_loop *loop, uint64_t delay_ns, void (*cb)(rf_loop *loop, void *arg),
                   void *arg, rf_timer **out) {
    if (out)
        *out = NULL;
    if (!loop || !cb)
        return RF_EINVAL;
    if (loop->destroying)
        return RF_ECLOSED;
    rf_timer *t = calloc(1, sizeof *t);
    if (!t)
        return RF_ENOMEM;
    struct io_uring_sqe *sqe = rf__get_sqe(loop, RF__UD(t, RF__OP_TIMER));
    if (!sqe) {
        free(t);
        return RF_ESYS;
    }
    t->loop = loop;
    t->state = RF__TIMER_ARMED;
    t->ts.tv_sec = (long long)(delay_ns / 1000000000u);
    t->ts.tv_nsec = (long long)(delay_ns % 1000000000u);
    t->cb = cb;
    t->arg = arg;
    io_uring_prep_timeout(sqe, &t->ts, 0, 0);
    t->next = loop->timers;
    if (loop->timers)
        loop->timers->prev = t;
    loop->timers = t;
    if (out)
        *out = t;
    return 0;
}

void rf_timer_cancel(rf_timer *t) {
    if (!t || t->state != RF__TIMER_ARMED)
        return; /* already cancelled, or cancelling itself from its callback */
    t->state = RF__TIMER_CANCELLED;
    struct io_uring_sqe *sqe = rf__get_sqe(t->loop, RF__UD(NULL, RF__OP_IGNORE));
    if (sqe)
        io_uring_prep_timeout_remove(sqe, RF__UD(t, RF__OP_TIMER), 0);
    /* Without an SQE the timer simply runs out; the state keeps cb quiet. */
}

void rf__timer_on_complete(rf_timer *t, int res) {
    rf_loop *loop = t->loop;
    (void)res; /* -ETIME fired, -ECANCELED removed: the state decides */
    if (t->prev)
        t->prev->next = t->next;
    else
        loop->timers = t->next;
    if (t->next)
        t->next->prev = t->prev;
    if (t->state == RF__TIMER_ARMED) {
        t->state = RF__TIMER_FIRING;
        t->cb(loop, t->arg);
    }
    if (loop->destroying) {
        /* Teardown cancels every timer up front, but on_close callbacks that
         * run later may still cancel theirs (a per-connection ping timer):
         * keep the memory until the loop itself goes. */
        t->state = RF__TIMER_CANCELLED;
        t->next = loop->dead_timers;
        loop->dead_timers = t;
        return;
    }
    free(t);
}
