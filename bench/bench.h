/* Small helpers shared by the microbenchmarks: a monotonic clock, a
 * median-of-runs timer, aligned output rows and an optimisation barrier. */
#ifndef RINGFEED_BENCH_H
#define RINGFEED_BENCH_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline uint64_t rf_bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Makes the compiler assume p's memory is read and written here, so work
 * whose result is otherwise unused is not optimised away. */
static inline void rf_bench_clobber(const void *p)
{
    __asm__ volatile("" : : "r"(p) : "memory");
}

static int rf_bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#define RF_BENCH_MAX_RUNS 64

/* Runs fn(ctx) once to warm up, then `runs` times, and returns the median
 * wall time of one run in ns. The median, not the mean: the machines these
 * run on are shared and a preempted run is an outlier, not a signal. */
static inline double rf_bench_median_ns(int runs, void (*fn)(void *ctx), void *ctx)
{
    double t[RF_BENCH_MAX_RUNS];
    if (runs > RF_BENCH_MAX_RUNS) runs = RF_BENCH_MAX_RUNS;
    fn(ctx);
    for (int i = 0; i < runs; i++) {
        uint64_t t0 = rf_bench_now_ns();
        fn(ctx);
        t[i] = (double)(rf_bench_now_ns() - t0);
    }
    qsort(t, (size_t)runs, sizeof t[0], rf_bench_cmp_double);
    return runs % 2 ? t[runs / 2] : (t[runs / 2 - 1] + t[runs / 2]) / 2;
}

static inline void *rf_bench_alloc(size_t n)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, n ? n : 1)) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

static inline void rf_bench_header(const char *title, const char *cpu_note)
{
    printf("\n== %s (%s)\n", title, cpu_note);
}

#endif
