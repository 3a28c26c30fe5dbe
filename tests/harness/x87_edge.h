/*
 * x87_edge.h - edge values of the x87 formats for the host-CPU oracle
 * tests: 80-bit extended values (zeros, denormals, pseudo-denormals,
 * unnormals, infinities, QNaN/SNaN, pseudo-NaNs, values around the integer,
 * float and packed BCD ranges), packed BCD (sometimes with a non-decimal
 * digit) and the memory formats m16/m32/m64 integer and float. Every
 * function takes the caller's random generator, so that each test keeps
 * its own reproducible stream.
 */
#ifndef WHVEMU_TESTS_X87_EDGE_H
#define WHVEMU_TESTS_X87_EDGE_H

#include <stdint.h>
#include <string.h>

typedef uint64_t (*x87_rng)(void);

static inline int x87_chance(x87_rng r, unsigned num, unsigned den)
{
    return r() % den < num;
}

/* An 80-bit value: the grid two times in three (low mantissa bits
 * sometimes flipped), else a random normal around 1. */
static inline void x87_edge80(uint8_t *v, x87_rng r)
{
    static const struct {
        uint64_t m;
        uint16_t se;
    } grid[] = {
        {0, 0},                          /* +0 */
        {0, 0x8000},                     /* -0 */
        {1, 0},                          /* denormal */
        {0x8000000000000001ull, 0},      /* pseudo-denormal */
        {0x4000000000000000ull, 0x3FFF}, /* unnormal */
        {0x8000000000000000ull, 0x3FFF}, /* 1 */
        {0xC000000000000000ull, 0xBFFF}, /* -1.5 */
        {0xAAAAAAAAAAAAAAABull, 0x3FFD}, /* 1/3 */
        {0x8000000000000000ull, 0x7FFF}, /* inf */
        {0x8000000000000000ull, 0xFFFF}, /* -inf */
        {0xC000000000000000ull, 0x7FFF}, /* QNaN */
        {0xA000000000000000ull, 0x7FFF}, /* SNaN */
        {0x4000000000000000ull, 0x7FFF}, /* pseudo-NaN */
        {0x0000000000000000ull, 0x7FFF}, /* pseudo-infinity */
        {0xFFFFFFFFFFFFFFFFull, 0x407E}, /* above FLT_MAX */
        {0xFFFFFF0000000000ull, 0x407E}, /* FLT_MAX */
        {0xFFFFFFFFFFFFFFFFull, 0x43FE}, /* above DBL_MAX */
        {0x8000000000000000ull, 0x3F81}, /* FLT_MIN */
        {0xC000000000000000ull, 0x3F6A}, /* float denormal range */
        {0x8000000000000000ull, 0x3C01}, /* DBL_MIN */
        {0x8000000000000000ull, 0x3BCD}, /* double denormal range */
        {0xFFFF000000000000ull, 0x400D}, /* 32767.5 */
        {0x8001000000000000ull, 0xC00E}, /* -32768.5 */
        {0xFFFFFFFF00000000ull, 0x401D}, /* 2^31 - 0.5 */
        {0x8000000000000000ull, 0x403E}, /* 2^63 */
        {0xFFFFFFFFFFFFFFFFull, 0x403D}, /* 2^63 - 0.5 */
        {0x8000000000000000ull, 0xC03E}, /* -2^63 */
        {0xDE0B6B3A76400000ull, 0x403A}, /* 10^18 (beyond packed BCD) */
        {0xDE0B6B3A763FFFF0ull, 0xC03A}, /* -(10^18 - 1) */
        {0xDE0B6B3A763FFFF8ull, 0x403A}, /* 10^18 - 0.5 */
        {0xDE0B6B3A763FFFE8ull, 0x403A}, /* 10^18 - 1.5 */
    };
    uint64_t m;
    uint16_t se;
    if (x87_chance(r, 2, 3)) {
        unsigned k = (unsigned)(r() % (sizeof(grid) / sizeof(grid[0])));
        m = grid[k].m;
        se = grid[k].se;
        if (x87_chance(r, 1, 4))
            m ^= r() & 0xFF;
    } else {
        m = r() | 0x8000000000000000ull;
        se = (uint16_t)((0x3FFF + (int)(r() % 140) - 70) | (x87_chance(r, 1, 2) ? 0x8000 : 0));
    }
    memcpy(v, &m, 8);
    memcpy(v + 8, &se, 2);
}

/* Packed BCD: 18 digits (sometimes a non-decimal one) and a sign byte. */
static inline void x87_edge_bcd(uint8_t *m, x87_rng r)
{
    static const uint8_t indef[10] = {0, 0, 0, 0, 0, 0, 0, 0xC0, 0xFF, 0xFF};
    unsigned k = (unsigned)(r() % 8);
    for (unsigned i = 0; i < 9; i++) {
        unsigned lo = (unsigned)(r() % 10), hi = (unsigned)(r() % 10);
        if (k == 1)
            lo = hi = 9;
        else if (k == 2)
            lo = hi = 0;
        else if (k == 3 && x87_chance(r, 1, 4))
            lo = 10 + (unsigned)(r() % 6);
        else if (k == 4 && i > 2)
            lo = hi = 0;
        m[i] = (uint8_t)(hi << 4 | lo);
    }
    m[9] = x87_chance(r, 1, 2) ? 0x80 : 0;
    if (x87_chance(r, 1, 8))
        m[9] = (uint8_t)r();
    if (k == 5)
        memcpy(m, indef, 10);
}

/* A memory operand of `size` bytes: kind 'b' packed BCD, 'i' an integer
 * (m16/m32/m64), anything else a float of the size (m32/m64/m80). */
static inline void x87_edge_mem(uint8_t *m, unsigned size, char kind, x87_rng r)
{
    if (kind == 'b') {
        x87_edge_bcd(m, r);
        return;
    }
    if (size == 10) {
        x87_edge80(m, r);
        return;
    }
    uint64_t v = r();
    if (kind == 'i') {
        static const uint64_t iv[] = {0, 1, ~0ull, 0x8000, 0x7FFF, 0x80000000, 0x7FFFFFFF,
                                      0x8000000000000000ull, 0x7FFFFFFFFFFFFFFFull};
        if (x87_chance(r, 1, 2))
            v = iv[r() % 9];
    } else if (size == 4 && x87_chance(r, 2, 3)) {
        static const uint32_t fv[] = {0, 0x80000000, 1, 0x807FFFFF, 0x7F800000, 0xFF800000,
                                      0x7FC00000, 0x7FA00000, 0xFF800001, 0x3FC00000, 0x7F7FFFFF};
        v = fv[r() % 11];
    } else if (size == 8 && x87_chance(r, 2, 3)) {
        static const uint64_t dv[] = {0, 0x8000000000000000ull, 1, 0x000FFFFFFFFFFFFFull,
                                      0x7FF0000000000000ull, 0xFFF0000000000000ull,
                                      0x7FF8000000000000ull, 0x7FF4000000000000ull,
                                      0x3FF8000000000000ull, 0x7FEFFFFFFFFFFFFFull};
        v = dv[r() % 10];
    }
    memcpy(m, &v, size < 8 ? size : 8);
}

/* A random control word: every rounding and precision control, the
 * exception masks all set three times in four; `reserved` also sets the
 * reserved bits (7, 13-15) sometimes, as FLDCW/FXRSTOR images may. */
static inline uint16_t x87_edge_fcw(x87_rng r, int reserved)
{
    uint16_t fcw = (uint16_t)(0x40 | (r() & 0xF00) | (x87_chance(r, 3, 4) ? 0x3F : (r() & 0x3F)));
    if (reserved && x87_chance(r, 1, 4))
        fcw = (uint16_t)(fcw | (r() & 0xF080));
    return fcw;
}

#endif /* WHVEMU_TESTS_X87_EDGE_H */
