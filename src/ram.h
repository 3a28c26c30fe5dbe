/*
 * ram.h - the guest-RAM map of the direct guest RAM extension (ram.c): which
 * guest-physical ranges the VMM has mapped into this process, where, and
 * with which permissions; plus the host atomics used on that memory.
 *
 * A struct ram_map is immutable once built: a sorted array of disjoint
 * ranges and its count. The handle owns one (whvemu_set_guest_ram replaces
 * it between calls); a call only reads it. A last-hit hint for the lookup
 * lives in the per-call state, never in the map.
 */
#ifndef WHVEMU_RAM_H
#define WHVEMU_RAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "whvemu.h"

struct ram_range {
    uint64_t gpa;   /* first byte, 4 KiB aligned */
    uint64_t last;  /* last byte: gpa + size - 1 */
    uint8_t *host;  /* the VMM's mapping of gpa */
    uint32_t flags; /* WHVEMU_RAM_READ, optionally | WHVEMU_RAM_WRITE */
};

struct ram_map {
    const struct ram_range *r; /* sorted by gpa, disjoint; NULL when n == 0 */
    uint32_t n;
};

/* Validates and copies a range list into *out (sorted, malloc'ed); *out is
 * written only on S_OK. E_INVALIDARG for: Ranges NULL with Count > 0; a
 * GuestAddress, SizeInBytes or HostAddress not 4 KiB aligned; a size of 0;
 * a NULL HostAddress; Flags without WHVEMU_RAM_READ or with unknown bits;
 * Reserved != 0; GuestAddress + SizeInBytes or HostAddress + SizeInBytes
 * not representable (past 2^64 - 1, or past the host's address space); two ranges that overlap.
 * E_OUTOFMEMORY when the copy cannot be allocated. Count 0 gives the empty
 * map. */
HRESULT ram_map_build(const WHVEMU_GUEST_RAM_RANGE *ranges, uint32_t count, struct ram_map *out);
/* Frees a map from ram_map_build and leaves it empty. */
void ram_map_free(struct ram_map *m);

/* The host address of guest-physical [gpa, gpa + len) when the whole span
 * lies inside ONE range whose flags include all of `need` (WHVEMU_RAM_READ
 * and/or WHVEMU_RAM_WRITE), else NULL. len 0 gives NULL. O(log n). */
void *ram_host(const struct ram_map *m, uint64_t gpa, uint32_t len, unsigned need);
/* The range that holds guest-physical gpa, or NULL. */
const struct ram_range *ram_range_at(const struct ram_map *m, uint64_t gpa);
/* The same, trying range *hint first and leaving there the index of the
 * range that matched: a per-call last-hit cache (*hint starts at 0). */
void *ram_host_hint(const struct ram_map *m, uint32_t *hint, uint64_t gpa, uint32_t len,
                    unsigned need);

/*
 * Atomic accesses to guest RAM. Guest memory is ordinary memory the VMM and
 * other vCPUs share, not C11 _Atomic objects, so these use the compiler's
 * __atomic builtins, which are defined on plain objects (gcc and clang, the
 * supported compilers, mingw-w64 included). p must be naturally aligned.
 * A failed compare-exchange stores the current value in *expected.
 */
static inline uint32_t ram_load32(const void *p)
{
    return __atomic_load_n((const uint32_t *)p, __ATOMIC_ACQUIRE);
}

static inline uint64_t ram_load64(const void *p)
{
    return __atomic_load_n((const uint64_t *)p, __ATOMIC_ACQUIRE);
}

static inline bool ram_cas32(void *p, uint32_t *expected, uint32_t desired)
{
    return __atomic_compare_exchange_n((uint32_t *)p, expected, desired, false, __ATOMIC_SEQ_CST,
                                       __ATOMIC_ACQUIRE);
}

static inline bool ram_cas64(void *p, uint64_t *expected, uint64_t desired)
{
    return __atomic_compare_exchange_n((uint64_t *)p, expected, desired, false, __ATOMIC_SEQ_CST,
                                       __ATOMIC_ACQUIRE);
}

/* A plain data access of n (1..8) bytes to guest RAM: naturally aligned
 * accesses are single host accesses, as they are single accesses on the
 * processor (SDM Vol. 3 9.1.1) for the other vCPUs; others go byte-wise in
 * a host copy. Values are little-endian (x86 hosts). */
static inline uint64_t ram_load(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    if (((uintptr_t)p & (n - 1)) == 0) {
        switch (n) {
        case 1: return __atomic_load_n(p, __ATOMIC_RELAXED);
        case 2: return __atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED);
        case 4: return __atomic_load_n((const uint32_t *)p, __ATOMIC_RELAXED);
        case 8: return __atomic_load_n((const uint64_t *)p, __ATOMIC_RELAXED);
        default: break;
        }
    }
    memcpy(&v, p, n);
    return v;
}

static inline void ram_store(uint8_t *p, uint64_t v, unsigned n)
{
    if (((uintptr_t)p & (n - 1)) == 0) {
        switch (n) {
        case 1: __atomic_store_n(p, (uint8_t)v, __ATOMIC_RELAXED); return;
        case 2: __atomic_store_n((uint16_t *)p, (uint16_t)v, __ATOMIC_RELAXED); return;
        case 4: __atomic_store_n((uint32_t *)p, (uint32_t)v, __ATOMIC_RELAXED); return;
        case 8: __atomic_store_n((uint64_t *)p, v, __ATOMIC_RELAXED); return;
        default: break;
        }
    }
    memcpy(p, &v, n);
}

/* One compare-exchange of n (1, 2, 4 or 8) naturally aligned bytes: true
 * when *p held `old` and now holds `desired`. */
static inline bool ram_cas(uint8_t *p, unsigned n, uint64_t old, uint64_t desired)
{
    switch (n) {
    case 1: {
        uint8_t o = (uint8_t)old;
        return __atomic_compare_exchange_n(p, &o, (uint8_t)desired, false, __ATOMIC_SEQ_CST,
                                           __ATOMIC_SEQ_CST);
    }
    case 2: {
        uint16_t o = (uint16_t)old;
        return __atomic_compare_exchange_n((uint16_t *)p, &o, (uint16_t)desired, false,
                                           __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    }
    case 4: {
        uint32_t o = (uint32_t)old;
        return __atomic_compare_exchange_n((uint32_t *)p, &o, (uint32_t)desired, false,
                                           __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    }
    default: {
        uint64_t o = old;
        return __atomic_compare_exchange_n((uint64_t *)p, &o, desired, false, __ATOMIC_SEQ_CST,
                                           __ATOMIC_SEQ_CST);
    }
    }
}

/*
 * 16-byte compare-exchange (CMPXCHG16B on guest RAM): one host LOCK
 * CMPXCHG16B on x86-64 with gcc or clang (RAM_HAVE_CAS128 1). p must be
 * 16-byte aligned. A failed compare-exchange stores the current value in
 * exp[0..1] (low quadword first). On other hosts RAM_HAVE_CAS128 is 0, and
 * locked operands that need it go the plain way (a read then a write, as on
 * device memory).
 */
#if defined(__x86_64__) && defined(__GNUC__)
#define RAM_HAVE_CAS128 1
struct ram_u128 {
    uint64_t q[2];
};
static inline bool ram_cas128(void *p, uint64_t exp[2], uint64_t lo, uint64_t hi)
{
    bool ok;
    __asm__ __volatile__("lock cmpxchg16b %1\n\tsete %0"
                         : "=q"(ok), "+m"(*(volatile struct ram_u128 *)p), "+a"(exp[0]),
                           "+d"(exp[1])
                         : "b"(lo), "c"(hi)
                         : "memory", "cc");
    return ok;
}
/* A compare-exchange of n (2, 4 or 8) bytes at any address: the processor
 * makes a LOCKed access atomic even when it crosses a cache line (SDM Vol. 3
 * 9.1.2.2, a split lock); for a locked guest operand that no aligned word
 * holds. *exp receives the current value when it fails. */
#define RAM_HAVE_SPLIT_CAS 1
static inline bool ram_split_cas(void *p, unsigned n, uint64_t *exp, uint64_t desired)
{
    bool ok;
    switch (n) {
    case 2: {
        uint16_t x = (uint16_t)*exp;
        __asm__ __volatile__("lock cmpxchgw %3, %1\n\tsete %0"
                             : "=q"(ok), "+m"(*(volatile uint16_t *)p), "+a"(x)
                             : "r"((uint16_t)desired)
                             : "memory", "cc");
        *exp = x;
        return ok;
    }
    case 4: {
        uint32_t x = (uint32_t)*exp;
        __asm__ __volatile__("lock cmpxchgl %3, %1\n\tsete %0"
                             : "=q"(ok), "+m"(*(volatile uint32_t *)p), "+a"(x)
                             : "r"((uint32_t)desired)
                             : "memory", "cc");
        *exp = x;
        return ok;
    }
    default: {
        uint64_t x = *exp;
        __asm__ __volatile__("lock cmpxchgq %3, %1\n\tsete %0"
                             : "=q"(ok), "+m"(*(volatile uint64_t *)p), "+a"(x)
                             : "r"(desired)
                             : "memory", "cc");
        *exp = x;
        return ok;
    }
    }
}
#else
#define RAM_HAVE_CAS128 0
#define RAM_HAVE_SPLIT_CAS 0
static inline bool ram_split_cas(void *p, unsigned n, uint64_t *exp, uint64_t desired)
{
    (void)p, (void)n, (void)exp, (void)desired;
    return false;
}
static inline bool ram_cas128(void *p, uint64_t exp[2], uint64_t lo, uint64_t hi)
{
    (void)p, (void)exp, (void)lo, (void)hi;
    return false;
}
#endif

/* The naturally aligned word of w (1, 2, 4, 8 or 16; 16 needs
 * RAM_HAVE_CAS128) bytes at p, as v[0] (low quadword) and v[1]: one atomic
 * read (bytes beyond w read as zero), and one compare-exchange from old to
 * desired. A 16-byte read is a compare-exchange that stores what it finds
 * (the word is in writable RAM). */
static inline void ram_word_load(uint8_t *p, unsigned w, uint64_t v[2])
{
    v[0] = v[1] = 0;
    if (w == 16)
        ram_cas128(p, v, 0, 0);
    else
        v[0] = ram_load(p, w);
}

static inline bool ram_word_cas(uint8_t *p, unsigned w, const uint64_t old[2],
                                const uint64_t desired[2])
{
    if (w == 16) {
        uint64_t exp[2] = {old[0], old[1]};
        return ram_cas128(p, exp, desired[0], desired[1]);
    }
    return ram_cas(p, w, old[0], desired[0]);
}

#endif /* WHVEMU_RAM_H */
