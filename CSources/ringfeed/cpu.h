/* Private: which SIMD level this CPU can run, for runtime dispatch.
 *
 * The levels share their numbering with enum rf_ws_mask_variant so a variant
 * number means the same thing everywhere. Everything here is static inline so
 * no file needs a cpu.c just to ask. */
#ifndef RINGFEED_CPU_H
#define RINGFEED_CPU_H

#include <stddef.h>
#include <stdint.h>

enum { RF__SIMD_SCALAR = 0, RF__SIMD_SSE2 = 1, RF__SIMD_AVX2 = 2, RF__SIMD_AVX512 = 3 };

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define RF__X86 1
#else
#define RF__X86 0
#endif

/* Highest level the CPU (and the OS, which must save YMM/ZMM state: libgcc
 * and compiler-rt both check XCR0 before reporting avx2 / avx512f) supports.
 * Users of a level above what they implement clamp it down. */
static inline int rf__cpu_simd_level(void)
{
#if RF__X86
    /* Needed when we are called from another constructor, before the
     * runtime's own initialiser ran; it is idempotent. */
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return RF__SIMD_AVX512;
    if (__builtin_cpu_supports("avx2")) return RF__SIMD_AVX2;
    return RF__SIMD_SSE2; /* part of the x86-64 baseline */
#else
    return RF__SIMD_SCALAR;
#endif
}

static inline int rf__cpu_simd_available(int level)
{
    return level >= RF__SIMD_SCALAR && level <= rf__cpu_simd_level();
}

/* Per-level entry points of utf8.c, so tests and benchmarks can exercise
 * every variant the CPU has, not only the dispatched one. The level must be
 * available (rf__cpu_simd_available). */
struct rf_utf8;
int rf__utf8_feed_with(int level, struct rf_utf8 *v, const uint8_t *p, size_t n);

#endif
