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

#endif /* WHVEMU_RAM_H */
