/* Counts the calling thread's allocations, for the ingest benchmarks that
 * prove the receive path allocates nothing per message. The benchmark is
 * linked with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc (see the
 * Makefile), so every malloc, calloc and realloc in the process comes here
 * first; `allocs` is per thread, so only the thread being measured counts. */
#ifndef RINGFEED_BENCH_ALLOC_COUNT_H
#define RINGFEED_BENCH_ALLOC_COUNT_H

#include <stddef.h>

static _Thread_local long allocs;

void *__real_malloc(size_t n);
void *__real_calloc(size_t a, size_t b);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t a, size_t b);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n) { allocs++; return __real_malloc(n); }
void *__wrap_calloc(size_t a, size_t b) { allocs++; return __real_calloc(a, b); }
void *__wrap_realloc(void *p, size_t n) { allocs++; return __real_realloc(p, n); }

#endif
