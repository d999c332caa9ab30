/* Incremental UTF-8 validation: a shift-based DFA for anything non-ASCII and
 * a SIMD scan that skips ASCII runs whenever the DFA is at a character
 * boundary (the only place where a run of ASCII is known to be valid).
 *
 * The DFA has one row per input byte; a row packs the next state for every
 * current state, six bits each, and a state is the bit offset of its field.
 * So a step is a load and a shift, and it rejects at the first byte that no
 * well-formed sequence (RFC 3629 / Unicode Table 3-7) could contain: E0 80,
 * ED A0 and F4 90 fail on their second byte. Rejection is sticky. */
#include "ringfeed/utf8.h"

#include <stdatomic.h>
#include <string.h>

#include "cpu.h"
#include "ringfeed/error.h"

#if RF__X86
#include <immintrin.h>
#endif

/* State offsets; generated with the state order ACC REJ C1 C2 C3 E0 ED F0 F4
 * (Cn = n continuation bytes still due; E0/ED/F0/F4 = a lead whose second
 * byte has a narrowed range). */
enum { ST_ACCEPT = 0, ST_REJECT = 6 };

static const uint64_t dfa[256] = {
    0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull,
    0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull,
    0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull,
    0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull,
    0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull,
    0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull,
    0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull,
    0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull,
    0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull,
    0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull,
    0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull,
    0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull,
    0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull,
    0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull,
    0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull,
    0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull,
    0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull,
    0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull,
    0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull,
    0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull,
    0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull,
    0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull,
    0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull,
    0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull,
    0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull,
    0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull,
    0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull,
    0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull,
    0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull,
    0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull,
    0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull,
    0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull, 0x0006186186186180ull,
    0x001218c192300186ull, 0x001218c192300186ull, 0x001218c192300186ull, 0x001218c192300186ull,
    0x001218c192300186ull, 0x001218c192300186ull, 0x001218c192300186ull, 0x001218c192300186ull,
    0x001218c192300186ull, 0x001218c192300186ull, 0x001218c192300186ull, 0x001218c192300186ull,
    0x001218c192300186ull, 0x001218c192300186ull, 0x001218c192300186ull, 0x001218c192300186ull,
    0x000648c192300186ull, 0x000648c192300186ull, 0x000648c192300186ull, 0x000648c192300186ull,
    0x000648c192300186ull, 0x000648c192300186ull, 0x000648c192300186ull, 0x000648c192300186ull,
    0x000648c192300186ull, 0x000648c192300186ull, 0x000648c192300186ull, 0x000648c192300186ull,
    0x000648c192300186ull, 0x000648c192300186ull, 0x000648c192300186ull, 0x000648c192300186ull,
    0x0006486312300186ull, 0x0006486312300186ull, 0x0006486312300186ull, 0x0006486312300186ull,
    0x0006486312300186ull, 0x0006486312300186ull, 0x0006486312300186ull, 0x0006486312300186ull,
    0x0006486312300186ull, 0x0006486312300186ull, 0x0006486312300186ull, 0x0006486312300186ull,
    0x0006486312300186ull, 0x0006486312300186ull, 0x0006486312300186ull, 0x0006486312300186ull,
    0x0006486312300186ull, 0x0006486312300186ull, 0x0006486312300186ull, 0x0006486312300186ull,
    0x0006486312300186ull, 0x0006486312300186ull, 0x0006486312300186ull, 0x0006486312300186ull,
    0x0006486312300186ull, 0x0006486312300186ull, 0x0006486312300186ull, 0x0006486312300186ull,
    0x0006486312300186ull, 0x0006486312300186ull, 0x0006486312300186ull, 0x0006486312300186ull,
    0x0006186186186186ull, 0x0006186186186186ull, 0x000618618618618cull, 0x000618618618618cull,
    0x000618618618618cull, 0x000618618618618cull, 0x000618618618618cull, 0x000618618618618cull,
    0x000618618618618cull, 0x000618618618618cull, 0x000618618618618cull, 0x000618618618618cull,
    0x000618618618618cull, 0x000618618618618cull, 0x000618618618618cull, 0x000618618618618cull,
    0x000618618618618cull, 0x000618618618618cull, 0x000618618618618cull, 0x000618618618618cull,
    0x000618618618618cull, 0x000618618618618cull, 0x000618618618618cull, 0x000618618618618cull,
    0x000618618618618cull, 0x000618618618618cull, 0x000618618618618cull, 0x000618618618618cull,
    0x000618618618618cull, 0x000618618618618cull, 0x000618618618618cull, 0x000618618618618cull,
    0x000618618618619eull, 0x0006186186186192ull, 0x0006186186186192ull, 0x0006186186186192ull,
    0x0006186186186192ull, 0x0006186186186192ull, 0x0006186186186192ull, 0x0006186186186192ull,
    0x0006186186186192ull, 0x0006186186186192ull, 0x0006186186186192ull, 0x0006186186186192ull,
    0x0006186186186192ull, 0x00061861861861a4ull, 0x0006186186186192ull, 0x0006186186186192ull,
    0x00061861861861aaull, 0x0006186186186198ull, 0x0006186186186198ull, 0x0006186186186198ull,
    0x00061861861861b0ull, 0x0006186186186186ull, 0x0006186186186186ull, 0x0006186186186186ull,
    0x0006186186186186ull, 0x0006186186186186ull, 0x0006186186186186ull, 0x0006186186186186ull,
    0x0006186186186186ull, 0x0006186186186186ull, 0x0006186186186186ull, 0x0006186186186186ull,
};

static inline uint32_t dfa_step(uint32_t state, uint8_t b)
{
    return (uint32_t)(dfa[b] >> state) & 63;
}

/* Runs the DFA until it is back at a boundary in front of an ASCII byte, so
 * the caller can return to the fast scan, or until it fails. */
static inline size_t dfa_run(uint32_t *state, const uint8_t *p, size_t n)
{
    uint32_t s = *state;
    size_t i = 0;
    while (i < n) {
        if (s == ST_ACCEPT && p[i] < 0x80) break;
        s = dfa_step(s, p[i++]);
        if (s == ST_REJECT) break;
    }
    *state = s;
    return i;
}

/* Length of the ASCII prefix of p[0..n). */
static inline size_t ascii_scalar(const uint8_t *p, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        if (w & 0x8080808080808080ull) break;
    }
    while (i < n && p[i] < 0x80) i++;
    return i;
}

#if RF__X86
__attribute__((target("sse2"))) static inline size_t ascii_sse2(const uint8_t *p, size_t n)
{
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m128i a = _mm_loadu_si128((const __m128i *)(p + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(p + i + 16));
        __m128i c = _mm_loadu_si128((const __m128i *)(p + i + 32));
        __m128i d = _mm_loadu_si128((const __m128i *)(p + i + 48));
        if (_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, d)))) break;
    }
    for (; i + 16 <= n; i += 16) {
        int m = _mm_movemask_epi8(_mm_loadu_si128((const __m128i *)(p + i)));
        if (m) return i + (size_t)__builtin_ctz((unsigned)m);
    }
    return i + ascii_scalar(p + i, n - i);
}

__attribute__((target("avx2"))) static inline size_t ascii_avx2(const uint8_t *p, size_t n)
{
    size_t i = 0;
    for (; i + 128 <= n; i += 128) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(p + i));
        __m256i b = _mm256_loadu_si256((const __m256i *)(p + i + 32));
        __m256i c = _mm256_loadu_si256((const __m256i *)(p + i + 64));
        __m256i d = _mm256_loadu_si256((const __m256i *)(p + i + 96));
        __m256i o = _mm256_or_si256(_mm256_or_si256(a, b), _mm256_or_si256(c, d));
        if (_mm256_movemask_epi8(o)) break;
    }
    for (; i + 32 <= n; i += 32) {
        int m = _mm256_movemask_epi8(_mm256_loadu_si256((const __m256i *)(p + i)));
        if (m) return i + (size_t)__builtin_ctz((unsigned)m);
    }
    return i + ascii_sse2(p + i, n - i);
}
#endif

/* The whole loop is instantiated per level (always_inline into a targeted
 * wrapper) so the scan is a direct, inlinable call, not one indirect call
 * per ASCII run. */
typedef size_t (*ascii_fn)(const uint8_t *p, size_t n);

static inline __attribute__((always_inline)) uint32_t feed_loop(uint32_t s, const uint8_t *p,
                                                                size_t n, ascii_fn scan)
{
    size_t i = 0;
    while (i < n && s != ST_REJECT) {
        if (s == ST_ACCEPT) i += scan(p + i, n - i);
        i += dfa_run(&s, p + i, n - i);
    }
    return s;
}

typedef uint32_t (*feed_fn)(uint32_t s, const uint8_t *p, size_t n);

static uint32_t feed_scalar(uint32_t s, const uint8_t *p, size_t n)
{
    return feed_loop(s, p, n, ascii_scalar);
}

#if RF__X86
__attribute__((target("sse2"))) static uint32_t feed_sse2(uint32_t s, const uint8_t *p, size_t n)
{
    return feed_loop(s, p, n, ascii_sse2);
}

__attribute__((target("avx2"))) static uint32_t feed_avx2(uint32_t s, const uint8_t *p, size_t n)
{
    return feed_loop(s, p, n, ascii_avx2);
}
#endif

static feed_fn feed_for(int level)
{
#if RF__X86
    if (level >= RF__SIMD_AVX2) return feed_avx2; /* no AVX-512 kernel: AVX2 already beats the target */
    if (level == RF__SIMD_SSE2) return feed_sse2;
#endif
    (void)level;
    return feed_scalar;
}

static uint32_t feed_resolve(uint32_t s, const uint8_t *p, size_t n);

/* The one-time choice; racing resolvers store the same pointer. */
static _Atomic(feed_fn) feed_impl = feed_resolve;

static uint32_t feed_resolve(uint32_t s, const uint8_t *p, size_t n)
{
    feed_fn f = feed_for(rf__cpu_simd_level());
    atomic_store_explicit(&feed_impl, f, memory_order_relaxed);
    return f(s, p, n);
}

int rf_utf8_feed(rf_utf8 *v, const uint8_t *p, size_t n)
{
    feed_fn f = atomic_load_explicit(&feed_impl, memory_order_relaxed);
    v->state = f(v->state, p, n);
    return v->state == ST_REJECT ? RF_EUTF8 : 0;
}

int rf__utf8_feed_with(int level, struct rf_utf8 *v, const uint8_t *p, size_t n)
{
    if (!rf__cpu_simd_available(level)) level = RF__SIMD_SCALAR;
    v->state = feed_for(level)(v->state, p, n);
    return v->state == ST_REJECT ? RF_EUTF8 : 0;
}

int rf_utf8_finish(const rf_utf8 *v)
{
    return v->state == ST_ACCEPT ? 0 : RF_EUTF8;
}

int rf_utf8_validate(const uint8_t *p, size_t n)
{
    rf_utf8 v;
    rf_utf8_init(&v);
    if (rf_utf8_feed(&v, p, n)) return RF_EUTF8;
    return rf_utf8_finish(&v);
}

const char *rf_utf8_impl(void)
{
    static const char *const names[] = {"scalar", "sse2", "avx2", "avx2"};
    return names[rf__cpu_simd_level()];
}
