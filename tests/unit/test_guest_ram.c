/*
 * test_guest_ram.c - whvemu_set_guest_ram and the range map behind it: every
 * malformed list is refused with E_INVALIDARG and leaves the previous list
 * in place, Count 0 removes the list, the list is a sorted copy the caller's
 * array no longer affects, dead, forged and busy handles are refused; and
 * ram_host finds a span only inside one range with the permission asked,
 * agreeing with a linear search over many ranges.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "WinHvEmulation.h"
#include "check.h"
#include "fake_vmm.h"
#include "handle.h"
#include "ram.h"
#include "whvemu.h"

#define PG 4096ull
#define RW (WHVEMU_RAM_READ | WHVEMU_RAM_WRITE)
#define RO WHVEMU_RAM_READ

static uint8_t *host_pages(size_t n)
{
    uint8_t *p = aligned_alloc(PG, n * PG);
    if (!p)
        abort();
    memset(p, 0, n * PG);
    return p;
}

static WHVEMU_GUEST_RAM_RANGE range(uint64_t gpa, uint64_t size, void *host, uint32_t flags)
{
    WHVEMU_GUEST_RAM_RANGE r;
    memset(&r, 0, sizeof(r));
    r.GuestAddress = gpa;
    r.SizeInBytes = size;
    r.HostAddress = host;
    r.Flags = flags;
    return r;
}

static WHV_EMULATOR_HANDLE new_emu(void)
{
    WHV_EMULATOR_HANDLE emu = NULL;
    if (WHvEmulatorCreateEmulator(fvmm_callbacks(), &emu) != S_OK)
        abort();
    return emu;
}

/* The handle's current map, copied out under a claim of our own. */
static struct ram_range snap[8];
static uint32_t snap_n;

static void snapshot(WHV_EMULATOR_HANDLE emu)
{
    struct emu_handle *eh = handle_acquire(emu);
    CHECK(eh != NULL);
    if (!eh)
        return;
    snap_n = eh->ram.n;
    if (snap_n <= 8 && snap_n)
        memcpy(snap, eh->ram.r, snap_n * sizeof(snap[0]));
    CHECK(eh->ram.n == 0 ? eh->ram.r == NULL : eh->ram.r != NULL);
    handle_release(eh);
}

static void test_guest_ram_list_is_a_sorted_copy(void)
{
    uint8_t *h = host_pages(8);
    WHV_EMULATOR_HANDLE emu = new_emu();
    WHVEMU_GUEST_RAM_RANGE l[3] = {
        range(0x300000, 2 * PG, h + 4 * PG, RO),
        range(0x100000, 2 * PG, h, RW),
        range(0x102000, 2 * PG, h + 2 * PG, RW), /* adjacent: not an overlap */
    };
    CHECK_EQ(whvemu_set_guest_ram(emu, l, 3), S_OK);
    /* The caller's array changes after the call: no effect. */
    l[0].GuestAddress = 0x900000;
    l[1].Flags = 0x77;
    memset(&l[2], 0xEE, sizeof(l[2]));
    snapshot(emu);
    CHECK_EQ(snap_n, 3);
    CHECK_EQ(snap[0].gpa, 0x100000);
    CHECK_EQ(snap[0].last, 0x101FFF);
    CHECK(snap[0].host == h);
    CHECK_EQ(snap[0].flags, RW);
    CHECK_EQ(snap[1].gpa, 0x102000);
    CHECK(snap[1].host == h + 2 * PG);
    CHECK_EQ(snap[2].gpa, 0x300000);
    CHECK_EQ(snap[2].flags, RO);
    CHECK(snap[2].host == h + 4 * PG);
    CHECK_EQ(WHvEmulatorDestroyEmulator(emu), S_OK); /* frees the list (leak checkers) */
    free(h);
}

static void test_guest_ram_bad_lists_keep_the_previous_one(void)
{
    uint8_t *h = host_pages(4);
    WHV_EMULATOR_HANDLE emu = new_emu();
    WHVEMU_GUEST_RAM_RANGE good[2] = {range(0x200000, 2 * PG, h + 2 * PG, RO),
                                      range(0x10000, PG, h, RW)};
    CHECK_EQ(whvemu_set_guest_ram(emu, good, 2), S_OK);
    WHVEMU_GUEST_RAM_RANGE ok = range(0x400000, PG, h, RW);
    struct {
        const char *what;
        WHVEMU_GUEST_RAM_RANGE r;
    } bad[] = {
        {"GuestAddress not 4 KiB aligned", range(0x400800, PG, h, RW)},
        {"SizeInBytes 0", range(0x400000, 0, h, RW)},
        {"SizeInBytes not a 4 KiB multiple", range(0x400000, PG + 512, h, RW)},
        {"HostAddress NULL", range(0x400000, PG, NULL, RW)},
        {"HostAddress not 4 KiB aligned", range(0x400000, PG, h + 8, RW)},
        {"Flags 0", range(0x400000, PG, h, 0)},
        {"Flags WRITE without READ", range(0x400000, PG, h, WHVEMU_RAM_WRITE)},
        {"unknown flag", range(0x400000, PG, h, RW | 4)},
        {"unknown high flag", range(0x400000, PG, h, RO | 0x80000000u)},
        {"GuestAddress + Size past 2^64", range(0xFFFFFFFFFFFFF000ull, 2 * PG, h, RW)},
        {"GuestAddress + Size = 2^64", range(0xFFFFFFFFFFFFF000ull, PG, h, RW)},
        {"huge size", range(0x400000, 0xFFFFFFFFFFFFF000ull, h, RW)},
        {"HostAddress + Size past the host's space",
         range(0x400000, 2 * PG, (void *)(UINTPTR_MAX & ~(uintptr_t)0xFFF), RW)},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        /* Alone, and as the second entry after a good one. */
        HRESULT a = whvemu_set_guest_ram(emu, &bad[i].r, 1);
        WHVEMU_GUEST_RAM_RANGE pair[2] = {ok, bad[i].r};
        HRESULT b = whvemu_set_guest_ram(emu, pair, 2);
        if (a != E_INVALIDARG || b != E_INVALIDARG)
            printf("  case: %s\n", bad[i].what);
        CHECK_EQ(a, E_INVALIDARG);
        CHECK_EQ(b, E_INVALIDARG);
    }
    WHVEMU_GUEST_RAM_RANGE reserved = ok;
    reserved.Reserved = 1;
    CHECK_EQ(whvemu_set_guest_ram(emu, &reserved, 1), E_INVALIDARG);
    CHECK_EQ(whvemu_set_guest_ram(emu, NULL, 1), E_INVALIDARG);
    /* Overlaps, found whatever the input order. */
    WHVEMU_GUEST_RAM_RANGE ov1[2] = {range(0x400000, 2 * PG, h, RW),
                                     range(0x401000, PG, h + PG, RW)};
    CHECK_EQ(whvemu_set_guest_ram(emu, ov1, 2), E_INVALIDARG);
    WHVEMU_GUEST_RAM_RANGE ov2[3] = {range(0x500000, PG, h, RW), range(0x800000, PG, h, RW),
                                     range(0x4FF000, 2 * PG, h, RW)};
    CHECK_EQ(whvemu_set_guest_ram(emu, ov2, 3), E_INVALIDARG);
    WHVEMU_GUEST_RAM_RANGE same[2] = {range(0x600000, PG, h, RW), range(0x600000, PG, h, RO)};
    CHECK_EQ(whvemu_set_guest_ram(emu, same, 2), E_INVALIDARG);
    /* Two GPAs backed by the same host page are no overlap. */
    WHVEMU_GUEST_RAM_RANGE alias[2] = {range(0x600000, PG, h, RW), range(0x700000, PG, h, RO)};
    snapshot(emu);
    CHECK_EQ(snap_n, 2);
    CHECK_EQ(snap[0].gpa, 0x10000);
    CHECK(snap[0].host == h);
    CHECK_EQ(snap[1].gpa, 0x200000);
    CHECK_EQ(snap[1].last, 0x201FFF);
    CHECK_EQ(snap[1].flags, RO);
    CHECK_EQ(whvemu_set_guest_ram(emu, alias, 2), S_OK);
    snapshot(emu);
    CHECK_EQ(snap_n, 2);
    CHECK_EQ(snap[0].gpa, 0x600000);
    /* The last page below 2^64 is a valid range. */
    WHVEMU_GUEST_RAM_RANGE top = range(0xFFFFFFFFFFFFE000ull, PG, h, RO);
    CHECK_EQ(whvemu_set_guest_ram(emu, &top, 1), S_OK);
    CHECK_EQ(WHvEmulatorDestroyEmulator(emu), S_OK);
    free(h);
}

static void test_guest_ram_count_0_removes_the_list(void)
{
    uint8_t *h = host_pages(1);
    WHV_EMULATOR_HANDLE emu = new_emu();
    WHVEMU_GUEST_RAM_RANGE r = range(0x10000, PG, h, RW);
    CHECK_EQ(whvemu_set_guest_ram(emu, &r, 1), S_OK);
    snapshot(emu);
    CHECK_EQ(snap_n, 1);
    CHECK_EQ(whvemu_set_guest_ram(emu, NULL, 0), S_OK);
    snapshot(emu);
    CHECK_EQ(snap_n, 0);
    CHECK_EQ(whvemu_set_guest_ram(emu, &r, 1), S_OK);
    /* Ranges is not looked at with Count 0, even when it is malformed. */
    WHVEMU_GUEST_RAM_RANGE junk;
    memset(&junk, 0xFF, sizeof(junk));
    CHECK_EQ(whvemu_set_guest_ram(emu, &junk, 0), S_OK);
    snapshot(emu);
    CHECK_EQ(snap_n, 0);
    /* Replacing a list many times frees each old one (leak checkers). */
    for (int i = 0; i < 100; i++)
        CHECK_EQ(whvemu_set_guest_ram(emu, &r, 1), S_OK);
    CHECK_EQ(WHvEmulatorDestroyEmulator(emu), S_OK);
    free(h);
}

/* A setter called from a callback of a Try call on the same handle. */
static WHV_EMULATOR_HANDLE inner_handle;
static HRESULT inner_hr;
static const WHVEMU_GUEST_RAM_RANGE *inner_list;

static HRESULT CALLBACK setting_memory(VOID *ctx, WHV_EMULATOR_MEMORY_ACCESS_INFO *a)
{
    inner_hr = whvemu_set_guest_ram(inner_handle, inner_list, 1);
    return fvmm_callbacks()->WHvEmulatorMemoryCallback(ctx, a);
}

static void test_guest_ram_needs_a_live_idle_handle(void)
{
    uint8_t *h = host_pages(1);
    WHVEMU_GUEST_RAM_RANGE r = range(0x10000, PG, h, RW);
    CHECK_EQ(whvemu_set_guest_ram(NULL, &r, 1), E_INVALIDARG);
    CHECK_EQ(whvemu_set_guest_ram(NULL, NULL, 0), E_INVALIDARG);
    CHECK_EQ(whvemu_set_guest_ram((WHV_EMULATOR_HANDLE)(uintptr_t)0x1234, &r, 1), E_INVALIDARG);

    WHV_EMULATOR_CALLBACKS cb = *fvmm_callbacks();
    cb.WHvEmulatorMemoryCallback = setting_memory;
    WHV_EMULATOR_HANDLE emu;
    CHECK_EQ(WHvEmulatorCreateEmulator(&cb, &emu), S_OK);
    /* Held by another claim (a call in another thread): refused. */
    struct emu_handle *eh = handle_acquire(emu);
    CHECK(eh != NULL);
    CHECK_EQ(whvemu_set_guest_ram(emu, &r, 1), E_INVALIDARG);
    CHECK_EQ(whvemu_set_guest_ram(emu, NULL, 0), E_INVALIDARG);
    if (eh)
        handle_release(eh);
    snapshot(emu);
    CHECK_EQ(snap_n, 0);

    /* Held by a Try call whose callback calls the setter: refused. */
    fake_vmm *vm = fvmm_create();
    fvmm_setup_long_mode(vm, 0);
    fvmm_set_reg64(vm, WHvX64RegisterRax, 0x1122334455667788ull);
    WHV_VP_EXIT_CONTEXT vp;
    fvmm_build_exit64(&vp, 0, 0x401000, 2);
    static const uint8_t mov_store[] = {0x48, 0x89, 0x03}; /* mov [rbx], rax */
    fvmm_set_reg64(vm, WHvX64RegisterRbx, 0x20000000);
    fvmm_mmio_exit d = {mov_store, 3, 0, 0x20000000, 0, 0, WHvMemoryAccessWrite};
    WHV_MEMORY_ACCESS_CONTEXT mc;
    fvmm_build_mmio(&mc, &d);
    inner_handle = emu;
    inner_list = &r;
    inner_hr = S_OK;
    WHV_EMULATOR_STATUS st;
    CHECK_EQ(WHvEmulatorTryMmioEmulation(emu, vm, &vp, &mc, &st), S_OK);
    CHECK_EQ(inner_hr, E_INVALIDARG);
    CHECK_EQ(st.AsUINT32, 1);
    snapshot(emu);
    CHECK_EQ(snap_n, 0);
    fvmm_destroy(vm);

    CHECK_EQ(whvemu_set_guest_ram(emu, &r, 1), S_OK);
    CHECK_EQ(WHvEmulatorDestroyEmulator(emu), S_OK);
    CHECK_EQ(whvemu_set_guest_ram(emu, &r, 1), E_INVALIDARG); /* destroyed */
    CHECK_EQ(whvemu_set_guest_ram(emu, NULL, 0), E_INVALIDARG);
    free(h);
}

static void test_ram_host_needs_one_range_with_the_permission(void)
{
    uint8_t *h = host_pages(8);
    WHVEMU_GUEST_RAM_RANGE l[3] = {
        range(0x100000, 2 * PG, h, RW),
        range(0x102000, PG, h + 4 * PG, RO), /* adjacent, elsewhere on the host */
        range(0xFFFFFFFFFFFFE000ull, PG, h + 6 * PG, RW),
    };
    struct ram_map m;
    CHECK_EQ(ram_map_build(l, 3, &m), S_OK);
    CHECK(ram_host(&m, 0x100000, 1, RO) == h);
    CHECK(ram_host(&m, 0x100000, 1, RW) == h);
    CHECK(ram_host(&m, 0x101FF8, 8, RW) == h + 0x1FF8);
    CHECK(ram_host(&m, 0x101FF9, 8, RO) == NULL); /* runs into the next range */
    CHECK(ram_host(&m, 0x101FFF, 2, RO) == NULL);
    CHECK(ram_host(&m, 0x102000, 8, RO) == h + 4 * PG);
    CHECK(ram_host(&m, 0x102000, 8, RW) == NULL); /* read-only */
    CHECK(ram_host(&m, 0x102000, 8, WHVEMU_RAM_WRITE) == NULL);
    CHECK(ram_host(&m, 0x102FFF, 1, RO) == h + 4 * PG + 0xFFF);
    CHECK(ram_host(&m, 0x103000, 1, RO) == NULL);
    CHECK(ram_host(&m, 0xFFFFF, 1, RO) == NULL);
    CHECK(ram_host(&m, 0xFFFFF, 2, RO) == NULL); /* starts below */
    CHECK(ram_host(&m, 0x100000, 0, RO) == NULL);
    CHECK(ram_host(&m, 0x100000, 2 * PG, RW) == h);
    CHECK(ram_host(&m, 0x100000, 2 * PG + 1, RO) == NULL);
    CHECK(ram_host(&m, 0xFFFFFFFFFFFFEFF8ull, 8, RW) == h + 6 * PG + 0xFF8);
    CHECK(ram_host(&m, 0xFFFFFFFFFFFFEFFFull, 0xFFFFFFFFu, RO) == NULL);
    CHECK(ram_host(&m, 0xFFFFFFFFFFFFFFFFull, 1, RO) == NULL);
    CHECK(ram_host(&m, 0, 0xFFFFFFFFu, RO) == NULL);
    /* The hint: found, moved, and harmless when stale. */
    uint32_t hint = 0;
    CHECK(ram_host_hint(&m, &hint, 0x102010, 4, RO) == h + 4 * PG + 0x10);
    CHECK_EQ(hint, 1);
    CHECK(ram_host_hint(&m, &hint, 0x102010, 4, RW) == NULL);
    CHECK(ram_host_hint(&m, &hint, 0x100010, 4, RW) == h + 0x10);
    CHECK_EQ(hint, 0);
    CHECK(ram_host_hint(&m, &hint, 0x50000, 4, RO) == NULL);
    hint = 77;
    CHECK(ram_host_hint(&m, &hint, 0x100010, 4, RW) == h + 0x10);
    ram_map_free(&m);
    CHECK(m.r == NULL && m.n == 0);
    CHECK(ram_host(&m, 0x100000, 1, RO) == NULL);
    free(h);
}

/* Many ranges with holes: the binary search agrees with a linear scan. */
static void test_ram_host_agrees_with_a_linear_scan(void)
{
    enum { N = 1000 };
    uint8_t *h = host_pages(1);
    WHVEMU_GUEST_RAM_RANGE *l = calloc(N, sizeof(*l));
    uint64_t gpa = 0x1000;
    uint32_t seed = 12345;
    for (unsigned i = 0; i < N; i++) {
        seed = seed * 1103515245u + 12345u;
        uint64_t pages = 1 + (seed >> 16) % 3;
        gpa += ((seed >> 8) & 1) * PG; /* a hole or none */
        l[i] = range(gpa, pages * PG, h, (seed >> 20) & 1 ? RW : RO);
        gpa += pages * PG;
    }
    /* Shuffled input. */
    for (unsigned i = N - 1; i > 0; i--) {
        seed = seed * 1103515245u + 12345u;
        unsigned j = (seed >> 8) % (i + 1);
        WHVEMU_GUEST_RAM_RANGE t = l[i];
        l[i] = l[j];
        l[j] = t;
    }
    struct ram_map m;
    CHECK_EQ(ram_map_build(l, N, &m), S_OK);
    unsigned mismatches = 0, hits = 0;
    uint32_t hint = 0;
    for (uint64_t a = 0; a < gpa + 2 * PG; a += 0x3F8) {
        for (unsigned need = RO; need <= RW; need++) {
            uint32_t len = 1 + (uint32_t)(a % 16);
            void *want = NULL;
            for (unsigned i = 0; i < N; i++) {
                if (a >= l[i].GuestAddress && a + len <= l[i].GuestAddress + l[i].SizeInBytes &&
                    (l[i].Flags & need) == need)
                    want = h + (a - l[i].GuestAddress);
            }
            hits += want != NULL;
            mismatches += ram_host(&m, a, len, need) != want;
            mismatches += ram_host_hint(&m, &hint, a, len, need) != want;
        }
    }
    CHECK_EQ(mismatches, 0);
    CHECK(hits > 1000);
    ram_map_free(&m);
    free(l);
    free(h);
}

int main(void)
{
    RUN(test_guest_ram_list_is_a_sorted_copy);
    RUN(test_guest_ram_bad_lists_keep_the_previous_one);
    RUN(test_guest_ram_count_0_removes_the_list);
    RUN(test_guest_ram_needs_a_live_idle_handle);
    RUN(test_ram_host_needs_one_range_with_the_permission);
    RUN(test_ram_host_agrees_with_a_linear_scan);
    return CHECK_SUMMARY();
}
