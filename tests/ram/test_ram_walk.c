/*
 * test_ram_walk.c - the page walks of the direct guest RAM extension through
 * the public API: with the guest's tables in registered RAM and the walk's
 * registers in the batch (an exit without a GVA), every translation is the
 * emulator's own walk and the translate callback is never called:
 *  - #PF with the processor's error code and CR2: not present (read, write),
 *    a write to a read-only page (CR0.WP), a user access to a supervisor
 *    page, a reserved bit (PS in a PML4E, XD without EFER.NXE), a fetch from
 *    an XD page and, with CR4.SMEP, from a user page at CPL 0 (I/D);
 *  - SMAP (CR4.SMAP): a supervisor data access to a user page faults unless
 *    RFLAGS.AC is set;
 *  - Accessed bits on every level and the leaf's Dirty bit after a write,
 *    Accessed only after a read;
 *  - a table outside RAM, or one whose Accessed bit must be set in a range
 *    without WHVEMU_RAM_WRITE, sends the access to the translate callback;
 *  - a range without WHVEMU_RAM_WRITE is read directly while writes reach
 *    the memory callback;
 *  - 32-bit paging and PAE paging in protected mode.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "WinHvEmulation.h"
#include "check.h"
#include "fake_vmm.h"
#include "whvemu.h"

#define PG 4096ull
#define NPAGES 32
#define RAM_GPA 0x100000ull
#define RO_GPA 0x900000ull   /* a read-only range of its own */
#define HOLE_GPA 0xA00000ull /* guest memory that is not registered */
#define GVA_CODE 0x40000000ull
#define GVA_DATA 0x40001000ull
#define GVA_FAR 0x40400000ull /* another page table */

#define E_P 0x1ull
#define E_RW 0x2ull
#define E_US 0x4ull
#define E_A 0x20ull
#define E_D 0x40ull
#define E_PS 0x80ull
#define E_XD (1ull << 63)

#define CR4_PAE 0x20ull
#define CR4_SMEP 0x100000ull
#define CR4_SMAP 0x200000ull
#define CR0_WP 0x10000ull

enum pm { PM_LONG, PM_PAE, PM_32 };

struct wfx {
    fake_vmm *vm;
    WHV_EMULATOR_HANDLE emu;
    enum pm pm;
    uint8_t *ram;  /* NPAGES pages at RAM_GPA, read/write */
    uint8_t *ro;   /* one page at RO_GPA, read only */
    unsigned next; /* the next free page of ram */
    uint64_t root; /* CR3 */
    WHV_VP_EXIT_CONTEXT vp;
    WHV_MEMORY_ACCESS_CONTEXT mc;
    WHV_EMULATOR_STATUS st;
};

static uint8_t *host_of(struct wfx *f, uint64_t gpa)
{
    if (gpa >= RAM_GPA && gpa < RAM_GPA + NPAGES * PG)
        return f->ram + (gpa - RAM_GPA);
    if (gpa >= RO_GPA && gpa < RO_GPA + PG)
        return f->ro + (gpa - RO_GPA);
    return fvmm_gpa_page(f->vm, gpa) + (gpa & (PG - 1));
}

static uint64_t new_page(struct wfx *f)
{
    if (f->next >= NPAGES)
        abort();
    return RAM_GPA + PG * f->next++;
}

static uint64_t ent_get(struct wfx *f, uint64_t gpa)
{
    uint64_t v = 0;
    memcpy(&v, host_of(f, gpa), f->pm == PM_32 ? 4 : 8);
    return v;
}

static void ent_set(struct wfx *f, uint64_t gpa, uint64_t v)
{
    memcpy(host_of(f, gpa), &v, f->pm == PM_32 ? 4 : 8);
}

/* The GPA of each entry of the walk of gva (levels from the root), creating
 * missing tables (in ram, or at `table_gpa` for the last table when it is
 * not 0); returns the number of levels. The leaf is not written. */
static unsigned walk_entries(struct wfx *f, uint64_t gva, uint64_t table_gpa, uint64_t *ent)
{
    static const unsigned long_shift[] = {39, 30, 21, 12};
    static const unsigned pae_shift[] = {30, 21, 12};
    static const unsigned p32_shift[] = {22, 12};
    const unsigned *sh = f->pm == PM_LONG ? long_shift : f->pm == PM_PAE ? pae_shift : p32_shift;
    unsigned levels = f->pm == PM_LONG ? 4 : f->pm == PM_PAE ? 3 : 2;
    unsigned esz = f->pm == PM_32 ? 4 : 8;
    uint64_t table = f->root;
    for (unsigned l = 0; l < levels; l++) {
        unsigned bits = (f->pm == PM_PAE && l == 0) ? 2 : f->pm == PM_32 ? 10 : 9;
        ent[l] = table + ((gva >> sh[l]) & ((1u << bits) - 1)) * esz;
        if (l + 1 == levels)
            break;
        uint64_t e = ent_get(f, ent[l]);
        if (!(e & E_P)) {
            uint64_t t = (l + 2 == levels && table_gpa) ? table_gpa : new_page(f);
            /* PAE PDPTEs have no R/W or U/S bits (reserved). */
            e = t | E_P | ((f->pm == PM_PAE && l == 0) ? 0 : E_RW | E_US);
            ent_set(f, ent[l], e);
        }
        table = e & 0x000FFFFFFFFFF000ull;
    }
    return levels;
}

static void map(struct wfx *f, uint64_t gva, uint64_t gpa, uint64_t flags)
{
    uint64_t ent[4];
    unsigned n = walk_entries(f, gva, 0, ent);
    ent_set(f, ent[n - 1], gpa | flags);
}

static void wfx_init(struct wfx *f, enum pm pm, unsigned cpl)
{
    memset(f, 0, sizeof(*f));
    f->pm = pm;
    f->vm = fvmm_create();
    f->ram = aligned_alloc(PG, NPAGES * PG);
    f->ro = aligned_alloc(PG, PG);
    if (!f->ram || !f->ro)
        abort();
    memset(f->ram, 0, NPAGES * PG);
    memset(f->ro, 0, PG);
    fvmm_setup_long_mode(f->vm, cpl);
    /* What reaches the translate callback translates nowhere useful. */
    fvmm_set_default_translation(f->vm, FVMM_UNMAPPED_NOT_PRESENT);
    f->root = new_page(f);
    fvmm_set_reg64(f->vm, WHvX64RegisterCr3, f->root);
    if (pm != PM_LONG) {
        WHV_REGISTER_VALUE cs;
        fvmm_reg_get(f->vm, WHvX64RegisterCs, &cs);
        cs.Segment.Selector = cpl == 3 ? 0x1B : 0x08;
        cs.Segment.Attributes = cpl == 3 ? 0xC0FB : 0xC09B; /* 32-bit code */
        fvmm_reg_set(f->vm, WHvX64RegisterCs, &cs);
        fvmm_set_reg64(f->vm, WHvX64RegisterEfer, 0);
        fvmm_set_reg64(f->vm, WHvX64RegisterCr4, 0x40600 | (pm == PM_PAE ? CR4_PAE : 0));
    }
    if (WHvEmulatorCreateEmulator(fvmm_callbacks(), &f->emu) != S_OK)
        abort();
    WHVEMU_GUEST_RAM_RANGE r[2];
    memset(r, 0, sizeof(r));
    r[0].GuestAddress = RAM_GPA;
    r[0].SizeInBytes = NPAGES * PG;
    r[0].HostAddress = f->ram;
    r[0].Flags = WHVEMU_RAM_READ | WHVEMU_RAM_WRITE;
    r[1].GuestAddress = RO_GPA;
    r[1].SizeInBytes = PG;
    r[1].HostAddress = f->ro;
    r[1].Flags = WHVEMU_RAM_READ;
    CHECK_EQ(whvemu_set_guest_ram(f->emu, r, 2), S_OK);
}

static void wfx_fini(struct wfx *f)
{
    WHvEmulatorDestroyEmulator(f->emu);
    fvmm_destroy(f->vm);
    free(f->ram);
    free(f->ro);
}

static void set_cr(struct wfx *f, WHV_REGISTER_NAME r, uint64_t set, uint64_t clear)
{
    fvmm_set_reg64(f->vm, r, (fvmm_reg64(f->vm, r) & ~clear) | set);
}

/* Emulates `b` (n bytes; 0: fetched from RIP) at RIP = GVA_CODE with RBX =
 * rbx, from an exit without a GVA: every translation is a walk. */
static void run(struct wfx *f, const uint8_t *b, unsigned n, uint64_t rbx)
{
    fvmm_set_reg64(f->vm, WHvX64RegisterRip, GVA_CODE);
    fvmm_set_reg64(f->vm, WHvX64RegisterRbx, rbx);
    fvmm_mmio_exit d = {b, n, 0xFEE00000ull, 0, 0, 0, WHvMemoryAccessRead};
    fvmm_build_mmio_exit64(f->vm, &f->vp, &f->mc, &d);
    if (f->pm != PM_LONG)
        f->vp.ExecutionState.EferLma = 0;
    fvmm_reset_log(f->vm);
    f->st.AsUINT32 = 0;
    CHECK_EQ(WHvEmulatorTryMmioEmulation(f->emu, f->vm, &f->vp, &f->mc, &f->st), S_OK);
    const char *why = fvmm_check_round_trip(f->vm, &f->vp, &f->mc, &f->st);
    if (why)
        printf("  round trip: %s\n", why);
    CHECK(why == NULL);
}

static const uint8_t LOAD[] = {0x8B, 0x03};  /* mov eax, [rbx] */
static const uint8_t STORE[] = {0x89, 0x03}; /* mov [rbx], eax */

/* The emulation succeeded without any callback for memory or translation. */
static void expect_done(struct wfx *f)
{
    CHECK(f->st.EmulationSuccessful);
    CHECK_EQ(fvmm_injected(f->vm).InterruptionPending, 0);
    CHECK_EQ(fvmm_count(f->vm, FVMM_CB_TRANSLATE), 0);
    CHECK_EQ(fvmm_count(f->vm, FVMM_CB_MEMORY), 0);
}

static void expect_pf(struct wfx *f, uint32_t ec, uint64_t cr2)
{
    WHV_X64_PENDING_INTERRUPTION_REGISTER p = fvmm_injected(f->vm);
    WHV_REGISTER_VALUE v;
    memset(&v, 0, sizeof(v));
    CHECK(f->st.EmulationSuccessful);
    CHECK_EQ(p.InterruptionPending, 1);
    CHECK_EQ(p.InterruptionVector, 14);
    CHECK_EQ(p.DeliverErrorCode, 1);
    CHECK_EQ(p.ErrorCode, ec);
    CHECK(fvmm_set_call_find(f->vm, WHvX64RegisterCr2, &v));
    CHECK_EQ(v.Reg64, cr2);
    CHECK_EQ(fvmm_count(f->vm, FVMM_CB_TRANSLATE), 0);
    CHECK_EQ(fvmm_count(f->vm, FVMM_CB_MEMORY), 0);
    CHECK_EQ(fvmm_reg64(f->vm, WHvX64RegisterRip), GVA_CODE);
}

static uint64_t data_page(struct wfx *f, uint64_t gva, uint64_t flags)
{
    uint64_t gpa = new_page(f);
    map(f, gva, gpa, flags);
    return gpa;
}

static const fvmm_call *last_mem_call(struct wfx *f)
{
    const fvmm_call *c = NULL;
    for (size_t i = 0; i < fvmm_call_count(f->vm); i++)
        if (fvmm_call_at(f->vm, i)->kind == FVMM_CB_MEMORY)
            c = fvmm_call_at(f->vm, i);
    return c;
}

/* --- the tests --- */

static void pf_not_present(enum pm pm)
{
    struct wfx f;
    wfx_init(&f, pm, 0);
    data_page(&f, GVA_DATA, E_P | E_RW); /* the table exists, the next page does not */
    run(&f, LOAD, 2, GVA_DATA + PG + 0x10);
    expect_pf(&f, 0, GVA_DATA + PG + 0x10);
    run(&f, STORE, 2, GVA_DATA + PG + 0x20);
    expect_pf(&f, 0x2, GVA_DATA + PG + 0x20);
    /* A missing table level. */
    run(&f, STORE, 2, GVA_FAR + 0x8);
    expect_pf(&f, 0x2, GVA_FAR + 0x8);
    wfx_fini(&f);
}

static void test_walk_pf_not_present_has_p_clear(void)
{
    pf_not_present(PM_LONG);
}

static void test_walk_pf_write_to_read_only_page_with_wp(void)
{
    struct wfx f;
    wfx_init(&f, PM_LONG, 0);
    uint64_t gpa = data_page(&f, GVA_DATA, E_P);
    run(&f, STORE, 2, GVA_DATA + 0x40);
    expect_pf(&f, 0x3, GVA_DATA + 0x40);
    run(&f, LOAD, 2, GVA_DATA + 0x40);
    expect_done(&f);
    /* CR0.WP = 0: a supervisor write to a read-only page is allowed. */
    set_cr(&f, WHvX64RegisterCr0, 0, CR0_WP);
    fvmm_set_reg64(f.vm, WHvX64RegisterRax, 0x1234);
    run(&f, STORE, 2, GVA_DATA + 0x40);
    expect_done(&f);
    CHECK_EQ(*(uint32_t *)host_of(&f, gpa + 0x40), 0x1234);
    wfx_fini(&f);
}

static void test_walk_pf_user_access_to_supervisor_page(void)
{
    struct wfx f;
    wfx_init(&f, PM_LONG, 3);
    data_page(&f, GVA_DATA, E_P | E_RW);
    data_page(&f, GVA_DATA + PG, E_P | E_US); /* user, read only */
    run(&f, LOAD, 2, GVA_DATA + 0x8);
    expect_pf(&f, 0x5, GVA_DATA + 0x8);
    run(&f, STORE, 2, GVA_DATA + 0x8);
    expect_pf(&f, 0x7, GVA_DATA + 0x8);
    run(&f, STORE, 2, GVA_DATA + PG + 0x8);
    expect_pf(&f, 0x7, GVA_DATA + PG + 0x8);
    run(&f, LOAD, 2, GVA_DATA + PG + 0x8);
    expect_done(&f);
    wfx_fini(&f);
}

static void test_walk_pf_reserved_bits(void)
{
    struct wfx f;
    uint64_t ent[4];
    wfx_init(&f, PM_LONG, 0);
    data_page(&f, GVA_DATA, E_P | E_RW);
    walk_entries(&f, GVA_DATA, 0, ent);
    /* PS in a PML4E is reserved. */
    ent_set(&f, ent[0], ent_get(&f, ent[0]) | E_PS);
    run(&f, LOAD, 2, GVA_DATA + 0x10);
    expect_pf(&f, 0x9, GVA_DATA + 0x10);
    run(&f, STORE, 2, GVA_DATA + 0x10);
    expect_pf(&f, 0xB, GVA_DATA + 0x10);
    ent_set(&f, ent[0], ent_get(&f, ent[0]) & ~E_PS);
    /* XD with EFER.NXE = 0 is reserved. */
    ent_set(&f, ent[3], ent_get(&f, ent[3]) | E_XD);
    set_cr(&f, WHvX64RegisterEfer, 0, 0x800);
    run(&f, LOAD, 2, GVA_DATA + 0x18);
    expect_pf(&f, 0x9, GVA_DATA + 0x18);
    set_cr(&f, WHvX64RegisterEfer, 0x800, 0);
    run(&f, LOAD, 2, GVA_DATA + 0x18);
    expect_done(&f);
    wfx_fini(&f);
}

static void test_walk_pf_fetch_reports_id(void)
{
    struct wfx f;
    wfx_init(&f, PM_LONG, 0);
    uint64_t code = data_page(&f, GVA_CODE, E_P | E_XD);
    memcpy(host_of(&f, code), LOAD, sizeof(LOAD));
    data_page(&f, GVA_DATA, E_P | E_RW);
    run(&f, NULL, 0, GVA_DATA);
    expect_pf(&f, 0x11, GVA_CODE);
    /* Executable, supervisor: the fetch and the load are walked. */
    map(&f, GVA_CODE, code, E_P);
    run(&f, NULL, 0, GVA_DATA);
    expect_done(&f);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), GVA_CODE + 2);
    /* A user page fetched at CPL 0 with CR4.SMEP. */
    map(&f, GVA_CODE, code, E_P | E_US);
    set_cr(&f, WHvX64RegisterCr4, CR4_SMEP, 0);
    run(&f, NULL, 0, GVA_DATA);
    expect_pf(&f, 0x11, GVA_CODE);
    set_cr(&f, WHvX64RegisterCr4, 0, CR4_SMEP);
    run(&f, NULL, 0, GVA_DATA);
    expect_done(&f);
    /* Not present: I/D with P clear. */
    map(&f, GVA_CODE, code, 0);
    run(&f, NULL, 0, GVA_DATA);
    expect_pf(&f, 0x10, GVA_CODE);
    wfx_fini(&f);
}

static void test_walk_smap_needs_rflags_ac(void)
{
    struct wfx f;
    wfx_init(&f, PM_LONG, 0);
    data_page(&f, GVA_DATA, E_P | E_RW | E_US);
    set_cr(&f, WHvX64RegisterCr4, CR4_SMAP, 0);
    run(&f, LOAD, 2, GVA_DATA + 0x30);
    expect_pf(&f, 0x1, GVA_DATA + 0x30);
    run(&f, STORE, 2, GVA_DATA + 0x30);
    expect_pf(&f, 0x3, GVA_DATA + 0x30);
    fvmm_set_reg64(f.vm, WHvX64RegisterRflags, 0x2 | 0x40000); /* AC */
    run(&f, LOAD, 2, GVA_DATA + 0x30);
    expect_done(&f);
    run(&f, STORE, 2, GVA_DATA + 0x30);
    expect_done(&f);
    wfx_fini(&f);
}

static void accessed_dirty(enum pm pm)
{
    struct wfx f;
    uint64_t ent[4];
    wfx_init(&f, pm, 0);
    uint64_t gpa = data_page(&f, GVA_DATA, E_P | E_RW);
    data_page(&f, GVA_DATA + PG, E_P | E_RW);
    unsigned n = walk_entries(&f, GVA_DATA, 0, ent);
    *(uint32_t *)host_of(&f, gpa + 0x100) = 0xCAFEF00D;
    run(&f, LOAD, 2, GVA_DATA + 0x100);
    expect_done(&f);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRax), 0xCAFEF00D);
    for (unsigned l = 0; l < n; l++) {
        uint64_t e = ent_get(&f, ent[l]);
        /* PAE PDPTEs have no Accessed bit the walk sets. */
        if (!(pm == PM_PAE && l == 0))
            CHECK_EQ(e & E_A, E_A);
        if (l + 1 == n)
            CHECK_EQ(e & E_D, 0);
    }
    fvmm_set_reg64(f.vm, WHvX64RegisterRax, 0x5A5A5A5A);
    run(&f, STORE, 2, GVA_DATA + 0x104);
    expect_done(&f);
    CHECK_EQ(*(uint32_t *)host_of(&f, gpa + 0x104), 0x5A5A5A5A);
    CHECK_EQ(ent_get(&f, ent[n - 1]) & (E_A | E_D), E_A | E_D);
    /* The next page: not yet touched, A and D come with the first write. */
    walk_entries(&f, GVA_DATA + PG, 0, ent);
    CHECK_EQ(ent_get(&f, ent[n - 1]) & (E_A | E_D), 0);
    run(&f, STORE, 2, GVA_DATA + PG);
    expect_done(&f);
    CHECK_EQ(ent_get(&f, ent[n - 1]) & (E_A | E_D), E_A | E_D);
    wfx_fini(&f);
}

static void test_walk_sets_accessed_and_dirty_bits(void)
{
    accessed_dirty(PM_LONG);
}

static void test_walk_table_outside_ram_uses_translate(void)
{
    struct wfx f;
    uint64_t ent[4];
    wfx_init(&f, PM_LONG, 0);
    /* The page table of GVA_FAR lies in guest memory that is not registered. */
    uint64_t gpa = new_page(&f);
    unsigned n = walk_entries(&f, GVA_FAR, HOLE_GPA, ent);
    ent_set(&f, ent[n - 1], gpa | E_P | E_RW);
    *(uint32_t *)host_of(&f, gpa + 0x20) = 0x600DF00D;
    fvmm_map_gva(f.vm, GVA_FAR, gpa);
    run(&f, LOAD, 2, GVA_FAR + 0x20);
    CHECK(f.st.EmulationSuccessful);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_TRANSLATE), 1);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_MEMORY), 0); /* the data itself is RAM */
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRax), 0x600DF00D);
    /* A table in a read-only range whose Accessed bit is clear: the walk
     * cannot set it, the translate callback decides. */
    walk_entries(&f, GVA_DATA, 0, ent);
    uint64_t pdpt = ent_get(&f, ent[0]) & 0x000FFFFFFFFFF000ull;
    memcpy(f.ro, host_of(&f, pdpt), PG);
    ent_set(&f, ent[0], RO_GPA | E_P | E_RW | E_US);
    uint64_t d = data_page(&f, GVA_DATA, E_P | E_RW);
    *(uint32_t *)host_of(&f, d) = 0x11112222;
    fvmm_map_gva(f.vm, GVA_DATA, d);
    walk_entries(&f, GVA_DATA, 0, ent);
    CHECK_EQ(ent[1] & ~(PG - 1), RO_GPA);
    CHECK_EQ(ent_get(&f, ent[1]) & E_A, 0);
    run(&f, LOAD, 2, GVA_DATA);
    CHECK(f.st.EmulationSuccessful);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_TRANSLATE), 1);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRax), 0x11112222);
    CHECK_EQ(ent_get(&f, ent[1]) & E_A, 0);
    /* With the Accessed bit already set there is nothing to write: walked. */
    ent_set(&f, ent[1], ent_get(&f, ent[1]) | E_A);
    run(&f, LOAD, 2, GVA_DATA);
    expect_done(&f);
    wfx_fini(&f);
}

static void test_walk_read_only_range_writes_reach_the_callback(void)
{
    struct wfx f;
    wfx_init(&f, PM_LONG, 0);
    map(&f, GVA_DATA, RO_GPA, E_P | E_RW | E_A | E_D);
    *(uint32_t *)(f.ro + 0x80) = 0x0BADCAFE;
    run(&f, LOAD, 2, GVA_DATA + 0x80);
    expect_done(&f);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRax), 0x0BADCAFE);
    fvmm_set_reg64(f.vm, WHvX64RegisterRax, 0x12345678);
    run(&f, STORE, 2, GVA_DATA + 0x80);
    CHECK(f.st.EmulationSuccessful);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_TRANSLATE), 0);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_MEMORY), 1);
    const fvmm_call *c = last_mem_call(&f);
    CHECK(c != NULL);
    if (c) {
        CHECK_EQ(c->u.mem.gpa, RO_GPA + 0x80);
        CHECK_EQ(c->u.mem.direction, 1);
        CHECK_EQ(c->u.mem.size, 4);
        uint32_t v;
        memcpy(&v, c->u.mem.data, 4);
        CHECK_EQ(v, 0x12345678);
    }
    CHECK_EQ(*(uint32_t *)(f.ro + 0x80), 0x0BADCAFE);
    /* A locked read-modify-write there is not done on host memory either. */
    static const uint8_t lock_inc[] = {0xF0, 0xFF, 0x03};
    run(&f, lock_inc, 3, GVA_DATA + 0x80);
    CHECK(f.st.EmulationSuccessful);
    CHECK_EQ(*(uint32_t *)(f.ro + 0x80), 0x0BADCAFE);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_MEMORY), 1);
    wfx_fini(&f);
}

static void test_walk_32bit_paging(void)
{
    pf_not_present(PM_32);
    accessed_dirty(PM_32);
    /* Without SMEP a not-present fetch has no I/D bit under 32-bit paging. */
    struct wfx f;
    wfx_init(&f, PM_32, 0);
    data_page(&f, GVA_DATA, E_P | E_RW);
    run(&f, NULL, 0, GVA_DATA);
    expect_pf(&f, 0x0, GVA_CODE);
    /* A 4 MiB page (CR4.PSE). */
    uint64_t big = 0x400000ull; /* GPA 4 MiB .. 8 MiB: not RAM, the callback serves it */
    uint64_t ent[2];
    walk_entries(&f, GVA_DATA, 0, ent);
    ent_set(&f, ent[0], big | E_P | E_RW | E_PS);
    set_cr(&f, WHvX64RegisterCr4, 0x10, 0); /* PSE */
    run(&f, LOAD, 2, GVA_DATA + 0x44);
    CHECK(f.st.EmulationSuccessful);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_TRANSLATE), 0);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_MEMORY), 1);
    const fvmm_call *c = last_mem_call(&f);
    CHECK(c && c->u.mem.gpa == big + (GVA_DATA & 0x3FFFFF) + 0x44);
    wfx_fini(&f);
}

static void test_walk_pae_paging(void)
{
    pf_not_present(PM_PAE);
    accessed_dirty(PM_PAE);
    /* XD with EFER.NXE: a fetch fault reports I/D. */
    struct wfx f;
    wfx_init(&f, PM_PAE, 0);
    set_cr(&f, WHvX64RegisterEfer, 0x800, 0);
    uint64_t code = data_page(&f, GVA_CODE, E_P | E_XD);
    memcpy(host_of(&f, code), LOAD, sizeof(LOAD));
    data_page(&f, GVA_DATA, E_P | E_RW);
    run(&f, NULL, 0, GVA_DATA);
    expect_pf(&f, 0x11, GVA_CODE);
    map(&f, GVA_CODE, code, E_P);
    run(&f, NULL, 0, GVA_DATA);
    expect_done(&f);
    wfx_fini(&f);
}

int main(void)
{
    RUN(test_walk_pf_not_present_has_p_clear);
    RUN(test_walk_pf_write_to_read_only_page_with_wp);
    RUN(test_walk_pf_user_access_to_supervisor_page);
    RUN(test_walk_pf_reserved_bits);
    RUN(test_walk_pf_fetch_reports_id);
    RUN(test_walk_smap_needs_rflags_ac);
    RUN(test_walk_sets_accessed_and_dirty_bits);
    RUN(test_walk_table_outside_ram_uses_translate);
    RUN(test_walk_read_only_range_writes_reach_the_callback);
    RUN(test_walk_32bit_paging);
    RUN(test_walk_pae_paging);
    return CHECK_SUMMARY();
}
