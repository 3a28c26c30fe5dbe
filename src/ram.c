/*
 * ram.c - the guest-RAM map (ram.h): validating and copying the VMM's range
 * list, and looking up the host address of a guest-physical span. Calls no
 * callback. A built map is never modified, only freed by its owner (the
 * handle) between calls.
 */
#include <stdlib.h>

#include "emu.h"
#include "ram.h"

#define RAM_FLAGS_KNOWN (WHVEMU_RAM_READ | WHVEMU_RAM_WRITE)
#define RAM_ALIGN_MASK ((uint64_t)EMU_PAGE_SIZE - 1)

static bool range_valid(const WHVEMU_GUEST_RAM_RANGE *r)
{
    uint64_t size = r->SizeInBytes;
    uintptr_t host = (uintptr_t)r->HostAddress;
    if (size == 0 || (size & RAM_ALIGN_MASK) || (r->GuestAddress & RAM_ALIGN_MASK))
        return false;
    if (!r->HostAddress || (host & (uintptr_t)RAM_ALIGN_MASK))
        return false;
    if (!(r->Flags & WHVEMU_RAM_READ) || (r->Flags & ~RAM_FLAGS_KNOWN) || r->Reserved != 0)
        return false;
    /* GuestAddress + SizeInBytes and HostAddress + SizeInBytes must both
     * be representable: the span ends at or below the top of its space. */
    if (size > UINT64_MAX - r->GuestAddress)
        return false;
    if (size > (uint64_t)(UINTPTR_MAX - host))
        return false;
    return true;
}

static int range_cmp(const void *a, const void *b)
{
    uint64_t x = ((const struct ram_range *)a)->gpa, y = ((const struct ram_range *)b)->gpa;
    return x < y ? -1 : x > y;
}

HRESULT ram_map_build(const WHVEMU_GUEST_RAM_RANGE *ranges, uint32_t count, struct ram_map *out)
{
    if (count == 0) {
        out->r = NULL;
        out->n = 0;
        return S_OK;
    }
    if (!ranges)
        return E_INVALIDARG;
    for (uint32_t i = 0; i < count; i++)
        if (!range_valid(&ranges[i]))
            return E_INVALIDARG;
    size_t bytes = (size_t)count * sizeof(struct ram_range);
    if (bytes / sizeof(struct ram_range) != count) /* a 32-bit host */
        return E_OUTOFMEMORY;
    struct ram_range *r = malloc(bytes);
    if (!r)
        return E_OUTOFMEMORY;
    for (uint32_t i = 0; i < count; i++) {
        r[i].gpa = ranges[i].GuestAddress;
        r[i].last = ranges[i].GuestAddress + (ranges[i].SizeInBytes - 1);
        r[i].host = (uint8_t *)ranges[i].HostAddress;
        r[i].flags = ranges[i].Flags;
    }
    qsort(r, count, sizeof(*r), range_cmp);
    for (uint32_t i = 1; i < count; i++) {
        if (r[i].gpa <= r[i - 1].last) {
            free(r);
            return E_INVALIDARG;
        }
    }
    out->r = r;
    out->n = count;
    return S_OK;
}

void ram_map_free(struct ram_map *m)
{
    free((void *)m->r);
    m->r = NULL;
    m->n = 0;
}

/* [gpa, gpa + len) inside range r with the permissions: its host address. */
static void *range_host(const struct ram_range *r, uint64_t gpa, uint32_t len, unsigned need)
{
    if (gpa < r->gpa || gpa > r->last || (uint64_t)len - 1 > r->last - gpa)
        return NULL;
    if ((r->flags & need) != need)
        return NULL;
    return r->host + (gpa - r->gpa);
}

/* The index of the range that could hold gpa (the last one starting at or
 * below it), or n when none does. */
static uint32_t range_find(const struct ram_map *m, uint64_t gpa)
{
    uint32_t lo = 0, hi = m->n; /* candidates: [lo, hi) */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (m->r[mid].gpa <= gpa)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == 0 ? m->n : lo - 1;
}

const struct ram_range *ram_range_at(const struct ram_map *m, uint64_t gpa)
{
    if (m->n == 0)
        return NULL;
    uint32_t i = m->n == 1 ? 0 : range_find(m, gpa);
    if (i >= m->n || gpa < m->r[i].gpa || gpa > m->r[i].last)
        return NULL;
    return &m->r[i];
}

void *ram_host(const struct ram_map *m, uint64_t gpa, uint32_t len, unsigned need)
{
    if (len == 0 || m->n == 0)
        return NULL;
    if (m->n == 1)
        return range_host(&m->r[0], gpa, len, need);
    uint32_t i = range_find(m, gpa);
    return i < m->n ? range_host(&m->r[i], gpa, len, need) : NULL;
}

void *ram_host_hint(const struct ram_map *m, uint32_t *hint, uint64_t gpa, uint32_t len,
                    unsigned need)
{
    if (len == 0 || m->n == 0)
        return NULL;
    uint32_t i = *hint;
    if (i < m->n && gpa >= m->r[i].gpa && gpa <= m->r[i].last)
        return range_host(&m->r[i], gpa, len, need);
    i = range_find(m, gpa);
    if (i >= m->n)
        return NULL;
    *hint = i;
    return range_host(&m->r[i], gpa, len, need);
}
