/* The UTF-8 validator: hand cases with the exact fail-fast position, then
 * Python's decoder as the reference (Tests/c/utf8_reference.py): every 1-,
 * 2- and 3-byte input, every F0..F7 4-byte input with sampled last bytes,
 * sampled 4-byte inputs and random strings. Every SIMD level this CPU has
 * must agree, one-shot and split at every point. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "cpu.h"
#include "ringfeed/error.h"
#include "ringfeed/utf8.h"

static int levels[3], nlevels;

/* The verdict of feeding p in two pieces split at k, at one level. */
static int split_verdict(int level, const uint8_t *p, size_t n, size_t k, int *first_failed)
{
    rf_utf8 v;
    rf_utf8_init(&v);
    int r1 = rf__utf8_feed_with(level, &v, p, k);
    *first_failed = r1 != 0;
    int r2 = rf__utf8_feed_with(level, &v, p + k, n - k);
    if (r1) CHECK_EQ(r2, RF_EUTF8); /* stays failed */
    if (r1 || r2) return RF_EUTF8;
    return rf_utf8_finish(&v);
}

static int one_shot(int level, const uint8_t *p, size_t n)
{
    rf_utf8 v;
    rf_utf8_init(&v);
    if (rf__utf8_feed_with(level, &v, p, n)) return RF_EUTF8;
    return rf_utf8_finish(&v);
}

/* Checks every level, whole and (if splits) split at every point. */
static void check_verdict(const uint8_t *p, size_t n, int valid, int splits)
{
    int want = valid ? 0 : RF_EUTF8;
    CHECK_EQ(rf_utf8_validate(p, n), want);
    for (int l = 0; l < nlevels; l++) {
        CHECK_EQ(one_shot(levels[l], p, n), want);
        for (size_t k = 0; splits && k <= n; k++) {
            int ff;
            CHECK_EQ(split_verdict(levels[l], p, n, k, &ff), want);
        }
    }
}

typedef struct hand {
    const char *bytes;
    int bad_at; /* index of the byte that must fail, -1 if none */
    int truncated;
} hand;

static const hand hands[] = {
    {"", -1, 0},
    {"A", -1, 0},
    {"h\xc3\xa9llo w\xc3\xb6rld \xe2\x82\xac \xf0\x9f\x98\x80", -1, 0},
    {"\xc2\x80", -1, 0},         /* U+0080 */
    {"\xdf\xbf", -1, 0},         /* U+07FF */
    {"\xe0\xa0\x80", -1, 0},     /* U+0800 */
    {"\xed\x9f\xbf", -1, 0},     /* U+D7FF */
    {"\xee\x80\x80", -1, 0},     /* U+E000 */
    {"\xef\xbf\xbf", -1, 0},     /* U+FFFF */
    {"\xf0\x90\x80\x80", -1, 0}, /* U+10000 */
    {"\xf4\x8f\xbf\xbf", -1, 0}, /* U+10FFFF */
    {"\xc0\x80", 0, 0},          /* overlong NUL */
    {"\xc1\xbf", 0, 0},          /* overlong */
    {"\xe0\x80\x80", 1, 0},      /* overlong */
    {"\xe0\x9f\xbf", 1, 0},      /* overlong U+07FF */
    {"\xf0\x80\x80\x80", 1, 0},  /* overlong */
    {"\xf0\x8f\xbf\xbf", 1, 0},  /* overlong U+FFFF */
    {"\xed\xa0\x80", 1, 0},      /* U+D800 */
    {"\xed\xaf\xbf", 1, 0},      /* U+DBFF */
    {"\xed\xb0\x80", 1, 0},      /* U+DC00 */
    {"\xed\xbf\xbf", 1, 0},      /* U+DFFF */
    {"\xf4\x90\x80\x80", 1, 0},  /* U+110000 */
    {"\xf5\x80\x80\x80", 0, 0},
    {"\xf7\xbf\xbf\xbf", 0, 0},
    {"\xf8\x88\x80\x80\x80", 0, 0},
    {"\xfe", 0, 0},
    {"\xff", 0, 0},
    {"\x80", 0, 0},
    {"\xbf", 0, 0},
    {"\xc2\x41", 1, 0},
    {"\xe2\x82\x41", 2, 0},
    {"\xf0\x9f\x98\x41", 3, 0},
    {"\xe2\x82\xac\x80", 3, 0},
    {"\xc2", -1, 1},
    {"\xe2\x82", -1, 1},
    {"\xf0\x9f\x98", -1, 1},
    {"\xf4\x8f\xbf", -1, 1},
    {"abc\xe2\x82", -1, 1},
};

/* The error must come from the call that feeds the bad byte, wherever the
 * input is split and whatever ASCII run (SIMD path) precedes it. */
static void test_hand(void)
{
    uint8_t buf[512];
    for (size_t h = 0; h < sizeof hands / sizeof hands[0]; h++) {
        size_t blen = strlen(hands[h].bytes);
        for (size_t pre = 0; pre <= 200; pre += (pre < 70 ? 1 : 13)) {
            memset(buf, 'x', pre);
            memcpy(buf + pre, hands[h].bytes, blen);
            size_t n = pre + blen;
            int valid = hands[h].bad_at < 0 && !hands[h].truncated;
            check_verdict(buf, n, valid, 1);
            for (int l = 0; l < nlevels; l++) {
                for (size_t k = 0; k <= n; k++) {
                    int ff;
                    split_verdict(levels[l], buf, n, k, &ff);
                    int want_ff = hands[h].bad_at >= 0 && k > pre + (size_t)hands[h].bad_at;
                    CHECK_EQ(ff, want_ff);
                }
            }
            /* also followed by ASCII, so the SIMD scan sees the bytes after it */
            memset(buf + n, 'y', 100);
            check_verdict(buf, n + 100, valid, 0);
            if (rf_test_failures > 50) return;
        }
    }
}

/* ---- Python reference ------------------------------------------------- */

typedef struct reader {
    const uint8_t *p, *end;
} reader;

static uint32_t get_u32(reader *r)
{
    if (r->end - r->p < 4) return 0;
    uint32_t v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 |
                 (uint32_t)r->p[3] << 24;
    r->p += 4;
    return v;
}

static const uint8_t *get_bytes(reader *r, size_t n)
{
    if ((size_t)(r->end - r->p) < n) return NULL;
    const uint8_t *b = r->p;
    r->p += n;
    return b;
}

static uint8_t *load_reference(size_t *len)
{
    char path[] = "/tmp/rf_utf8_ref.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return NULL;
    close(fd);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "python3 Tests/c/utf8_reference.py %s", path);
    FILE *pp = popen(cmd, "r");
    int rc = pp ? pclose(pp) : -1;
    uint8_t *data = NULL;
    FILE *f = rc == 0 ? fopen(path, "rb") : NULL;
    if (f) {
        fseek(f, 0, SEEK_END);
        long sz = ftell(f);
        fseek(f, 0, SEEK_SET);
        data = malloc((size_t)sz);
        if (data && fread(data, 1, (size_t)sz, f) == (size_t)sz) *len = (size_t)sz;
        else free(data), data = NULL;
        fclose(f);
    }
    unlink(path);
    return data;
}

/* Did the validator, fed byte by byte, fail by the end of p[0..n)? */
static int prefix_fails(const uint8_t *p, size_t n)
{
    rf_utf8 v;
    rf_utf8_init(&v);
    return rf_utf8_feed(&v, p, n) != 0;
}

static void test_reference(void)
{
    size_t len = 0;
    uint8_t *data = load_reference(&len);
    CHECK(data != NULL);
    if (!data) {
        fprintf(stderr, "could not run Tests/c/utf8_reference.py (run from the repo root)\n");
        return;
    }
    reader r = {data, data + len};
    const uint8_t *magic = get_bytes(&r, 8);
    CHECK(magic && memcmp(magic, "RFU8REF1", 8) == 0);

    CHECK_EQ(get_u32(&r), 256);
    const uint8_t *v1 = get_bytes(&r, 256);
    CHECK_EQ(get_u32(&r), 1u << 16);
    const uint8_t *v2 = get_bytes(&r, 1u << 16);
    CHECK_EQ(get_u32(&r), 1u << 24);
    const uint8_t *v3 = get_bytes(&r, 1u << 24);
    const uint8_t *kp = get_bytes(&r, 1);
    size_t k = kp ? *kp : 0;
    const uint8_t *tails = get_bytes(&r, k);
    uint32_t n4 = get_u32(&r);
    CHECK_EQ(n4, 8u * 65536u * k);
    const uint8_t *v4 = get_bytes(&r, n4);
    CHECK(v1 && v2 && v3 && tails && v4);
    if (!(v1 && v2 && v3 && tails && v4)) goto out;

    /* exhaustive 1-, 2-, 3-byte; every split of the short ones */
    for (unsigned i = 0; i < 256; i++) {
        uint8_t b[1] = {(uint8_t)i};
        check_verdict(b, 1, v1[i], 1);
    }
    for (unsigned i = 0; i < 1u << 16; i++) {
        uint8_t b[2] = {(uint8_t)(i >> 8), (uint8_t)i};
        check_verdict(b, 2, v2[i], 1);
        if (rf_test_failures > 50) goto out;
    }
    for (uint32_t i = 0; i < 1u << 24; i++) {
        uint8_t b[3] = {(uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
        check_verdict(b, 3, v3[i], (i & 0xff) == 0x80);
        if (rf_test_failures > 50) goto out;
    }
    static uint8_t ext4[1u << 16]; /* some valid completion of F0+a, b */
    static uint8_t ext4_1[8];
    for (uint32_t i = 0; i < n4; i++) {
        uint32_t t = i % k, b2 = (i / k) & 0xff, b1 = (i / k / 256) & 0xff, b0 = 0xF0 + i / k / 65536;
        uint8_t b[4] = {(uint8_t)b0, (uint8_t)b1, (uint8_t)b2, tails[t]};
        check_verdict(b, 4, v4[i], (i & 0x3ff) == 0);
        if (v4[i]) ext4[(b0 - 0xF0) << 13 | b1 << 5 | b2 >> 3] |= (uint8_t)(1u << (b2 & 7)),
                    ext4_1[b0 - 0xF0] = 1;
        if (rf_test_failures > 50) goto out;
    }

    /* Fail-fast, exhaustively for inputs that begin with a lead byte: a
     * prefix must fail exactly when no valid input extends it. Every
     * completion of a lead byte's character lies in the tables (the sampled
     * last bytes include 0x80, which completes any valid 4-byte prefix). */
    for (unsigned b0 = 0; b0 < 256; b0++) {
        int ext = v1[b0];
        for (unsigned x = 0; x < 256 && !ext; x++) ext = v2[b0 << 8 | x];
        for (unsigned x = 0; x < 65536 && !ext; x++) ext = v3[b0 << 16 | x];
        if (b0 >= 0xF0 && b0 < 0xF8) ext |= ext4_1[b0 - 0xF0];
        uint8_t b[1] = {(uint8_t)b0};
        CHECK_EQ(prefix_fails(b, 1), !ext);
    }
    for (unsigned b0 = 0xC0; b0 < 256; b0++) {
        for (unsigned b1 = 0; b1 < 256; b1++) {
            int ext = v2[b0 << 8 | b1];
            for (unsigned x = 0; x < 256 && !ext; x++) ext = v3[b0 << 16 | b1 << 8 | x];
            if (b0 >= 0xF0 && b0 < 0xF8)
                for (unsigned x = 0; x < 32 && !ext; x++) ext = ext4[(b0 - 0xF0) << 13 | b1 << 5 | x] != 0;
            uint8_t b[2] = {(uint8_t)b0, (uint8_t)b1};
            CHECK_EQ(prefix_fails(b, 2), !ext);
            for (unsigned b2 = 0; b2 < 256 && b0 >= 0xE0; b2++) {
                int ext3 = v3[b0 << 16 | b1 << 8 | b2];
                if (b0 >= 0xF0 && b0 < 0xF8)
                    ext3 |= (ext4[(b0 - 0xF0) << 13 | b1 << 5 | b2 >> 3] >> (b2 & 7)) & 1;
                uint8_t c[3] = {(uint8_t)b0, (uint8_t)b1, (uint8_t)b2};
                CHECK_EQ(prefix_fails(c, 3), !ext3);
            }
            if (rf_test_failures > 50) goto out;
        }
    }

    /* sampled 4-byte inputs and random strings, split at every point */
    uint32_t nrec = get_u32(&r);
    CHECK(nrec > 0);
    for (uint32_t i = 0; i < nrec; i++) {
        const uint8_t *h = get_bytes(&r, 3);
        if (!h) break;
        size_t n = (size_t)h[0] | (size_t)h[1] << 8;
        const uint8_t *b = get_bytes(&r, n);
        CHECK(b != NULL);
        if (!b) break;
        check_verdict(b, n, h[2], 1);
        if (rf_test_failures > 50) goto out;
    }
    CHECK(r.p == r.end);
out:
    free(data);
}

int main(void)
{
    for (int l = RF__SIMD_SCALAR; l <= RF__SIMD_AVX2; l++)
        if (rf__cpu_simd_available(l)) levels[nlevels++] = l;
    const char *impl = rf_utf8_impl();
    CHECK(!strcmp(impl, "avx2") || !strcmp(impl, "sse2") || !strcmp(impl, "scalar"));
    printf("  utf8 levels tested: %d, dispatched: %s\n", nlevels, impl);
    test_hand();
    test_reference();
    TEST_DONE("utf8");
}
