/*
 * test_rng.h - the pseudo-random generator the oracle tests share
 * (xoshiro256**, seeded with splitmix64): one stream per test program,
 * reproducible from the seed the test prints.
 */
#ifndef WHVEMU_TESTS_TEST_RNG_H
#define WHVEMU_TESTS_TEST_RNG_H

#include <stdint.h>

static uint64_t g_rs[4];

static inline uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline void rng_seed(uint64_t s)
{
    for (int i = 0; i < 4; i++)
        g_rs[i] = splitmix(&s);
}

static inline uint64_t rotl64(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t rnd(void)
{
    uint64_t r = rotl64(g_rs[1] * 5, 7) * 9;
    uint64_t t = g_rs[1] << 17;
    g_rs[2] ^= g_rs[0];
    g_rs[3] ^= g_rs[1];
    g_rs[1] ^= g_rs[2];
    g_rs[0] ^= g_rs[3];
    g_rs[2] ^= t;
    g_rs[3] = rotl64(g_rs[3], 45);
    return r;
}

/* Uniform in [0, n). */
static inline uint64_t rndn(uint64_t n)
{
    return n ? rnd() % n : 0;
}

/* 1 with probability num/den. */
static inline int chance(unsigned num, unsigned den)
{
    return rndn(den) < num;
}

#endif /* WHVEMU_TESTS_TEST_RNG_H */
