/*
 * test_walk.c - the guest page walker against hand-built page tables in a
 * malloc'ed guest RAM, in every paging mode (32-bit with 4 KiB and 4 MiB
 * pages and PSE-36, PAE, 4-level, 5-level with 2 MiB and 1 GiB pages): the
 * translation, every #PF error-code bit (P, W/R, U/S, RSVD at each level
 * including the PAE PDPTE, I/D), the access rights (R/W with CR0.WP, U/S,
 * NX, SMEP, SMAP with RFLAGS.AC and implicit supervisor accesses), the
 * Accessed bit on every level and the Dirty bit on a written leaf (none on a
 * faulting walk), the cases left to the translate callback (tables outside
 * RAM, A/D updates in read-only RAM, protection keys), and many threads
 * walking the same fresh tables losing no A/D update and no concurrent
 * change of an entry. Values are from SDM Vol. 3 chapter 4.
 */
#define _POSIX_C_SOURCE 200809L /* pthread barriers */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "emu.h"
#include "ram.h"
#include "walk.h"

#define PG 4096ull
#define RW_BASE 0x100000ull /* read-write guest RAM */
#define RW_PAGES 512u
#define RO_BASE 0x800000ull /* read-only guest RAM */
#define RO_PAGES 16u
#define OUTSIDE 0x4000000ull /* no RAM here */

#define E_P 0x1ull
#define E_W 0x2ull
#define E_U 0x4ull
#define E_A 0x20ull
#define E_D 0x40ull
#define E_PS 0x80ull
#define E_XD (1ull << 63)
#define DEF (E_P | E_W | E_U)

#define CR0_PE 0x1ull
#define CR0_WP (1ull << 16)
#define CR0_PG (1ull << 31)
#define CR4_PSE (1ull << 4)
#define CR4_PAE (1ull << 5)
#define CR4_LA57 (1ull << 12)
#define CR4_SMEP (1ull << 20)
#define CR4_SMAP (1ull << 21)
#define CR4_PKE (1ull << 22)
#define CR4_PKS (1ull << 24)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

enum mode { M32, MPAE, M4, M5 };
static const char *const mode_name[] = {"32-bit", "PAE", "4-level", "5-level"};
static const unsigned top_level[] = {2, 3, 4, 5};

/* --- the guest --- */
static uint8_t *rw_mem, *ro_mem;
static struct ram_map g_map;
static uint64_t next_rw, next_ro;

static void guest_reset(void)
{
    memset(rw_mem, 0, RW_PAGES * PG);
    memset(ro_mem, 0, RO_PAGES * PG);
    next_rw = RW_BASE;
    next_ro = RO_BASE;
}

static uint64_t alloc_page(void)
{
    uint64_t p = next_rw;
    next_rw += PG;
    if (next_rw > RW_BASE + RW_PAGES * PG)
        abort();
    return p;
}

static uint64_t alloc_ro_page(void)
{
    uint64_t p = next_ro;
    next_ro += PG;
    if (next_ro > RO_BASE + RO_PAGES * PG)
        abort();
    return p;
}

/* Host view of guest RAM, read-only ranges included (the VMM can write them). */
static uint8_t *hp(uint64_t gpa)
{
    if (gpa >= RW_BASE && gpa < RW_BASE + RW_PAGES * PG)
        return rw_mem + (gpa - RW_BASE);
    if (gpa >= RO_BASE && gpa < RO_BASE + RO_PAGES * PG)
        return ro_mem + (gpa - RO_BASE);
    abort();
}

static void put(uint64_t gpa, uint64_t v, bool wide)
{
    if (wide)
        memcpy(hp(gpa), &v, 8);
    else {
        uint32_t x = (uint32_t)v;
        memcpy(hp(gpa), &x, 4);
    }
}

static uint64_t get(uint64_t gpa, bool wide)
{
    uint64_t v = 0;
    memcpy(&v, hp(gpa), wide ? 8 : 4);
    return v;
}

/* --- page-table chains for one linear address --- */
struct chain {
    enum mode mode;
    uint64_t root;     /* CR3 */
    uint64_t ent[6];   /* the GPA of the entry used at each level */
    unsigned leaf;     /* the level that maps the page */
    bool wide;
};

/* Builds the tables for `la` with the page at level `leaf` (1: 4 KiB; 2:
 * 2 MiB or 4 MiB; 3: 1 GiB), entry flags fl[level], mapping `target`.
 * ro_level > 0 puts the table of that level in read-only RAM. */
static struct chain build(enum mode mode, uint64_t la, unsigned leaf, const uint64_t fl[6],
                          uint64_t target, unsigned ro_level)
{
    struct chain c;
    memset(&c, 0, sizeof(c));
    c.mode = mode;
    c.leaf = leaf;
    c.wide = mode != M32;
    unsigned top = top_level[mode];
    uint64_t table = ro_level == top ? alloc_ro_page() : alloc_page();
    if (mode == MPAE)
        table += 0x60; /* a PDPT is 32-byte aligned, anywhere in its page */
    c.root = table;
    for (unsigned l = top; l >= leaf; l--) {
        unsigned shift = mode == M32 ? 12 + 10 * (l - 1) : 12 + 9 * (l - 1);
        uint64_t idx = mode == M32 ? (la >> shift) & 0x3FF : (la >> shift) & 0x1FF;
        if (mode == MPAE && l == 3)
            idx = (la >> 30) & 3;
        c.ent[l] = table + idx * (c.wide ? 8 : 4);
        uint64_t v;
        if (l == leaf) {
            uint64_t size = 1ull << shift;
            v = (target & ~(size - 1)) | fl[l] | (leaf > 1 ? E_PS : 0);
            if (mode == M32 && leaf == 2) /* PSE-36: address bits 39:32 in 20:13 */
                v = (target & 0xFFC00000u) | ((target >> 32) & 0xFF) << 13 | fl[l] | E_PS;
        } else {
            table = ro_level == l - 1 ? alloc_ro_page() : alloc_page();
            v = table | fl[l];
            if (mode == MPAE && l == 3)
                v &= ~(E_W | E_U); /* reserved in a PDPTE */
        }
        put(c.ent[l], v, c.wide);
        if (l == 1)
            break;
    }
    return c;
}

static const uint64_t all_def[6] = {DEF, DEF, DEF, DEF, DEF, DEF};

static struct walk_regs regs_for(const struct chain *c)
{
    struct walk_regs r;
    memset(&r, 0, sizeof(r));
    r.cr0 = CR0_PG | CR0_PE | CR0_WP;
    r.cr3 = c->root;
    r.maxphyaddr = 46;
    switch (c->mode) {
    case M32:
        r.cr4 = CR4_PSE;
        break;
    case MPAE:
        r.cr4 = CR4_PAE;
        r.efer = EFER_NXE;
        break;
    case M4:
        r.cr4 = CR4_PAE;
        r.efer = EFER_LME | EFER_LMA | EFER_NXE;
        break;
    case M5:
        r.cr4 = CR4_PAE | CR4_LA57;
        r.efer = EFER_LME | EFER_LMA | EFER_NXE;
        break;
    }
    return r;
}

/* A linear address per mode using every index bit. */
static uint64_t la_for(enum mode m)
{
    switch (m) {
    case M32:
    case MPAE:
        return 0xB6D5A7C4ull;
    case M4:
        return 0x00007ED5B6D5A7C4ull;
    case M5:
    default:
        return 0x00BA7ED5B6D5A7C4ull;
    }
}

static uint64_t snap[6];

static void take_snap(const struct chain *c)
{
    for (unsigned l = c->leaf; l <= top_level[c->mode]; l++)
        snap[l] = get(c->ent[l], c->wide);
}

static bool unchanged(const struct chain *c)
{
    for (unsigned l = c->leaf; l <= top_level[c->mode]; l++)
        if (get(c->ent[l], c->wide) != snap[l])
            return false;
    return true;
}

struct acc {
    enum walk_access kind;
    uint8_t cpl;
    bool implicit;
};

#define RD0 ((struct acc){WALK_READ, 0, false})
#define WR0 ((struct acc){WALK_WRITE, 0, false})
#define EX0 ((struct acc){WALK_EXEC, 0, false})
#define RD3 ((struct acc){WALK_READ, 3, false})
#define WR3 ((struct acc){WALK_WRITE, 3, false})
#define EX3 ((struct acc){WALK_EXEC, 3, false})

static enum walk_status do_walk(struct walk_regs r, uint64_t la, struct acc a,
                                struct walk_result *o)
{
    r.cpl = a.cpl;
    memset(o, 0xA5, sizeof(*o));
    return walk_translate(&g_map, &r, la, a.kind, a.implicit, o);
}

/* The walk must fault with `ec` and change no entry. */
static void expect_fault_at(unsigned line, const struct chain *c, struct walk_regs r, uint64_t la,
                            struct acc a, uint32_t ec)
{
    struct walk_result o;
    take_snap(c);
    enum walk_status s = do_walk(r, la, a, &o);
    bool ok = s == WALK_FAULT && o.error_code == ec && unchanged(c);
    if (!ok)
        printf("  line %u (%s): status %d ec 0x%x, want fault ec 0x%x%s\n", line,
               mode_name[c->mode], (int)s, s == WALK_FAULT ? o.error_code : 0, ec,
               unchanged(c) ? "" : "; entries changed");
    CHECK(ok);
}
#define expect_fault(c, r, la, a, ec) expect_fault_at(__LINE__, c, r, la, a, ec)

/* The walk must translate to gpa; returns the result. */
static struct walk_result expect_ok_at(unsigned line, const struct chain *c, struct walk_regs r,
                                       uint64_t la, struct acc a, uint64_t gpa)
{
    struct walk_result o;
    enum walk_status s = do_walk(r, la, a, &o);
    bool ok = s == WALK_OK && o.gpa == gpa;
    if (!ok)
        printf("  line %u (%s): status %d gpa 0x%llx ec 0x%x why %s, want gpa 0x%llx\n", line,
               mode_name[c->mode], (int)s, (unsigned long long)(s == WALK_OK ? o.gpa : 0),
               s == WALK_FAULT ? o.error_code : 0, s == WALK_UNWALKABLE ? o.why : "-",
               (unsigned long long)gpa);
    CHECK(ok);
    return o;
}
#define expect_ok(c, r, la, a, gpa) expect_ok_at(__LINE__, c, r, la, a, gpa)

static void expect_unwalkable_at(unsigned line, const struct chain *c, struct walk_regs r,
                                 uint64_t la, struct acc a)
{
    struct walk_result o;
    if (c)
        take_snap(c);
    enum walk_status s = do_walk(r, la, a, &o);
    bool ok = s == WALK_UNWALKABLE && o.why && o.why[0] && (!c || unchanged(c));
    if (!ok)
        printf("  line %u: status %d, want unwalkable%s\n", line, (int)s,
               c && !unchanged(c) ? "; entries changed" : "");
    CHECK(ok);
}
#define expect_unwalkable(c, r, la, a) expect_unwalkable_at(__LINE__, c, r, la, a)

/* The A bit is set on every level the CPU keeps one in (not the PAE
 * PDPTE), D exactly on a written leaf. */
static void check_ad(const struct chain *c, bool dirty_leaf)
{
    for (unsigned l = c->leaf; l <= top_level[c->mode]; l++) {
        uint64_t v = get(c->ent[l], c->wide);
        bool has_a = !(c->mode == MPAE && l == 3);
        if (has_a)
            CHECK(v & E_A);
        else
            CHECK_EQ(v & (E_A | E_D), 0);
        if (l == c->leaf)
            CHECK_EQ((v & E_D) != 0, dirty_leaf);
        else
            CHECK_EQ(v & E_D, 0);
    }
}

static void test_walk_4k_page_translates_and_sets_accessed_then_dirty(void)
{
    for (enum mode m = M32; m <= M5; m++) {
        guest_reset();
        uint64_t la = la_for(m);
        struct chain c = build(m, la, 1, all_def, 0x12345000, 0);
        struct walk_regs r = regs_for(&c);
        struct walk_result o = expect_ok(&c, r, la, RD3, 0x12345000 | (la & 0xFFF));
        CHECK_EQ(o.page_size, 4096);
        CHECK(o.writable && o.user && !o.nx && !o.dirty);
        check_ad(&c, false);
        o = expect_ok(&c, r, la, EX3, 0x12345000 | (la & 0xFFF));
        check_ad(&c, false);
        o = expect_ok(&c, r, la, WR3, 0x12345000 | (la & 0xFFF));
        CHECK(o.dirty);
        check_ad(&c, true);
        /* Set bits stay set; a second write changes nothing. */
        take_snap(&c);
        expect_ok(&c, r, la, WR0, 0x12345000 | (la & 0xFFF));
        CHECK(unchanged(&c));
        /* The PAE PDPT is 32-byte aligned, not page aligned. */
        if (m == MPAE)
            CHECK_EQ(c.root & 0xFFF, 0x60);
    }
}

static void test_walk_large_pages_at_each_level(void)
{
    struct {
        enum mode m;
        unsigned leaf;
        uint64_t target, size;
    } cases[] = {
        {M32, 2, 0x12C00000, 4ull << 20},  {MPAE, 2, 0x12E00000, 2ull << 20},
        {M4, 2, 0x12E00000, 2ull << 20},   {M4, 3, 0x1C0000000ull, 1ull << 30},
        {M5, 2, 0x3FFE00000ull, 2ull << 20}, {M5, 3, 0x7FC0000000ull, 1ull << 30},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        guest_reset();
        uint64_t la = la_for(cases[i].m);
        struct chain c = build(cases[i].m, la, cases[i].leaf, all_def, cases[i].target, 0);
        struct walk_regs r = regs_for(&c);
        uint64_t gpa = cases[i].target | (la & (cases[i].size - 1));
        struct walk_result o = expect_ok(&c, r, la, RD0, gpa);
        CHECK_EQ(o.page_size, cases[i].size);
        check_ad(&c, false);
        expect_ok(&c, r, la, WR3, gpa);
        check_ad(&c, true);
        /* Bit 12 of a large-page entry is PAT, not an address bit. */
        guest_reset();
        uint64_t fl[6] = {DEF, DEF, DEF, DEF, DEF, DEF};
        fl[cases[i].leaf] |= 1u << 12;
        c = build(cases[i].m, la, cases[i].leaf, fl, cases[i].target, 0);
        expect_ok(&c, r = regs_for(&c), la, RD0, gpa);
    }
}

static void test_walk_32bit_ps_needs_cr4_pse_and_pse36_bits(void)
{
    guest_reset();
    uint64_t la = la_for(M32);
    /* Without CR4.PSE the PS bit is ignored: the PDE points to a page table. */
    struct chain c = build(M32, la, 1, all_def, 0x12345000, 0);
    put(c.ent[2], get(c.ent[2], false) | E_PS, false);
    struct walk_regs r = regs_for(&c);
    r.cr4 = 0;
    expect_ok(&c, r, la, RD0, 0x12345000 | (la & 0xFFF));
    /* PSE-36: address bits (M-1):32 from PDE bits (M-20):13, M = min(MAXPHYADDR, 40). */
    guest_reset();
    c = build(M32, la, 2, all_def, 0xAB12C00000ull, 0);
    r = regs_for(&c);
    r.maxphyaddr = 40;
    expect_ok(&c, r, la, RD0, 0xAB12C00000ull | (la & 0x3FFFFF));
    r.maxphyaddr = 52; /* still 40 bits under 32-bit paging */
    expect_ok(&c, r, la, RD0, 0xAB12C00000ull | (la & 0x3FFFFF));
    /* Bit 21 is reserved. */
    put(c.ent[2], get(c.ent[2], false) | (1u << 21), false);
    expect_fault(&c, r, la, RD0, PF_P | PF_RSVD);
    /* MAXPHYADDR 36: bits 16:13 are the address, 21:17 reserved. */
    guest_reset();
    c = build(M32, la, 2, all_def, 0xB12C00000ull, 0);
    r = regs_for(&c);
    r.maxphyaddr = 36;
    expect_ok(&c, r, la, WR0, 0xB12C00000ull | (la & 0x3FFFFF));
    check_ad(&c, true);
    put(c.ent[2], get(c.ent[2], false) | (1u << 17), false);
    expect_fault(&c, r, la, RD3, PF_P | PF_RSVD | PF_U);
    /* MAXPHYADDR 32: bits 21:13 all reserved. */
    guest_reset();
    c = build(M32, la, 2, all_def, 0x12C00000ull, 0);
    r = regs_for(&c);
    r.maxphyaddr = 32;
    expect_ok(&c, r, la, RD0, 0x12C00000ull | (la & 0x3FFFFF));
    put(c.ent[2], get(c.ent[2], false) | (1u << 13), false);
    expect_fault(&c, r, la, WR0, PF_P | PF_RSVD | PF_W);
}

/* P = 0 at any level: P clear in the error code, W/R and U/S as the
 * access, no bit set anywhere. */
static void test_walk_not_present_at_each_level(void)
{
    for (enum mode m = M32; m <= M5; m++) {
        for (unsigned leaf = 1; leaf <= (m >= M4 ? 3u : m == M32 ? 2u : 2u); leaf++) {
            for (unsigned l = leaf; l <= top_level[m]; l++) {
                guest_reset();
                uint64_t la = la_for(m);
                struct chain c = build(m, la, leaf, all_def, 0x40000000, 0);
                uint64_t v = get(c.ent[l], c.wide);
                /* Reserved bits are not checked in a not-present entry. */
                put(c.ent[l], (v & ~E_P) | (c.wide ? 1ull << 50 : 0), c.wide);
                struct walk_regs r = regs_for(&c);
                expect_fault(&c, r, la, RD0, 0);
                expect_fault(&c, r, la, WR3, PF_W | PF_U);
                expect_fault(&c, r, la, WR0, PF_W);
                expect_fault(&c, r, la, RD3, PF_U);
            }
        }
    }
}

/* A reserved bit in a present entry: P | RSVD, the walk stops there. */
static void test_walk_reserved_bits_at_each_level(void)
{
    for (enum mode m = MPAE; m <= M5; m++) {
        for (unsigned l = 1; l <= top_level[m]; l++) {
            uint64_t bitsets[] = {1ull << 46, 1ull << 51};
            for (size_t b = 0; b < 2; b++) {
                guest_reset();
                uint64_t la = la_for(m);
                struct chain c = build(m, la, 1, all_def, 0x40000000, 0);
                put(c.ent[l], get(c.ent[l], true) | bitsets[b], true);
                struct walk_regs r = regs_for(&c); /* MAXPHYADDR 46 */
                expect_fault(&c, r, la, RD0, PF_P | PF_RSVD);
                expect_fault(&c, r, la, WR3, PF_P | PF_RSVD | PF_W | PF_U);
                expect_fault(&c, r, la, EX0, PF_P | PF_RSVD | PF_I);
                /* MAXPHYADDR 52: an address bit (the page moves; a table
                 * moves out of RAM). */
                r.maxphyaddr = 52;
                if (l == 1)
                    expect_ok(&c, r, la, RD0, (0x40000000 | bitsets[b]) | (la & 0xFFF));
                else
                    expect_unwalkable(&c, r, la, RD0);
            }
            /* XD without EFER.NXE is reserved (the PAE PDPTE has no XD: always). */
            guest_reset();
            uint64_t la = la_for(m);
            struct chain c = build(m, la, 1, all_def, 0x40000000, 0);
            put(c.ent[l], get(c.ent[l], true) | E_XD, true);
            struct walk_regs r = regs_for(&c);
            r.efer &= ~EFER_NXE;
            expect_fault(&c, r, la, RD0, PF_P | PF_RSVD);
            expect_fault(&c, r, la, EX3, PF_P | PF_RSVD | PF_U); /* no I/D without NXE */
            r.efer |= EFER_NXE;
            if (m == MPAE && l == 3)
                expect_fault(&c, r, la, RD0, PF_P | PF_RSVD);
            else
                expect_ok(&c, r, la, RD0, 0x40000000 | (la & 0xFFF));
        }
    }
    /* 62:52 are reserved under PAE, ignored under 4- and 5-level paging. */
    for (enum mode m = MPAE; m <= M5; m++) {
        for (unsigned l = 1; l <= 2; l++) {
            guest_reset();
            uint64_t la = la_for(m);
            struct chain c = build(m, la, 1, all_def, 0x40000000, 0);
            put(c.ent[l], get(c.ent[l], true) | 1ull << 62 | 1ull << 52, true);
            struct walk_regs r = regs_for(&c);
            r.maxphyaddr = 52;
            if (m == MPAE)
                expect_fault(&c, r, la, RD0, PF_P | PF_RSVD);
            else
                expect_ok(&c, r, la, RD0, 0x40000000 | (la & 0xFFF));
        }
    }
    /* PAE PDPTE: bits 2:1 and 8:5 reserved, 11:9 ignored. */
    unsigned pdpte_bits[] = {1, 2, 5, 6, 7, 8};
    for (size_t i = 0; i < sizeof(pdpte_bits) / sizeof(pdpte_bits[0]); i++) {
        guest_reset();
        uint64_t la = la_for(MPAE);
        uint64_t fl[6] = {DEF, DEF, DEF, E_P, DEF, DEF};
        struct chain c = build(MPAE, la, 1, fl, 0x40000000, 0);
        struct walk_regs r = regs_for(&c);
        expect_ok(&c, r, la, RD3, 0x40000000 | (la & 0xFFF));
        put(c.ent[3], get(c.ent[3], true) | 1ull << pdpte_bits[i], true);
        expect_fault(&c, r, la, RD3, PF_P | PF_RSVD | PF_U);
    }
    {
        guest_reset();
        uint64_t la = la_for(MPAE);
        uint64_t fl[6] = {DEF, DEF, DEF, E_P | 0xE00, DEF, DEF};
        struct chain c = build(MPAE, la, 1, fl, 0x40000000, 0);
        expect_ok(&c, regs_for(&c), la, WR3, 0x40000000 | (la & 0xFFF));
        check_ad(&c, true);
    }
    /* PS where no page can be: PML5E and PML4E. */
    for (enum mode m = M4; m <= M5; m++) {
        for (unsigned l = 4; l <= top_level[m]; l++) {
            guest_reset();
            uint64_t la = la_for(m);
            struct chain c = build(m, la, 1, all_def, 0x40000000, 0);
            put(c.ent[l], get(c.ent[l], true) | E_PS, true);
            expect_fault(&c, regs_for(&c), la, WR0, PF_P | PF_RSVD | PF_W);
        }
    }
    /* The low frame bits of a large page: 29:13 for 1 GiB, 20:13 for 2 MiB. */
    struct {
        enum mode m;
        unsigned leaf, bit;
        bool rsvd;
    } lp[] = {
        {M4, 3, 13, true},  {M4, 3, 29, true},  {M4, 3, 30, false}, {M5, 3, 20, true},
        {M4, 2, 13, true},  {M4, 2, 20, true},  {M4, 2, 21, false}, {MPAE, 2, 16, true},
        {M5, 2, 12, false},
    };
    for (size_t i = 0; i < sizeof(lp) / sizeof(lp[0]); i++) {
        guest_reset();
        uint64_t la = la_for(lp[i].m);
        struct chain c = build(lp[i].m, la, lp[i].leaf, all_def, 0x80000000, 0);
        put(c.ent[lp[i].leaf], get(c.ent[lp[i].leaf], true) | 1ull << lp[i].bit, true);
        struct walk_regs r = regs_for(&c);
        if (lp[i].rsvd) {
            expect_fault(&c, r, la, RD0, PF_P | PF_RSVD);
        } else {
            struct walk_result o;
            CHECK_EQ(do_walk(r, la, RD0, &o), WALK_OK);
        }
    }
    /* A reserved bit above a not-present entry wins; below a U/S violation too. */
    for (enum mode m = MPAE; m <= M5; m++) {
        guest_reset();
        uint64_t la = la_for(m);
        struct chain c = build(m, la, 1, all_def, 0x40000000, 0);
        put(c.ent[2], get(c.ent[2], true) | 1ull << 47, true);
        put(c.ent[1], get(c.ent[1], true) & ~E_P, true);
        expect_fault(&c, regs_for(&c), la, RD0, PF_P | PF_RSVD);
        guest_reset();
        uint64_t fl[6] = {DEF, DEF, DEF, DEF, DEF, DEF};
        fl[2] = E_P | E_W; /* supervisor */
        c = build(m, la, 1, fl, 0x40000000, 0);
        put(c.ent[1], get(c.ent[1], true) | 1ull << 47, true);
        expect_fault(&c, regs_for(&c), la, RD3, PF_P | PF_RSVD | PF_U);
    }
}

/* I/D: set for fetches when SMEP is on, or PAE/4-level/5-level with NXE. */
static void test_walk_id_bit_needs_nx_or_smep(void)
{
    for (enum mode m = M32; m <= M5; m++) {
        for (int nxe = 0; nxe < 2; nxe++) {
            for (int smep = 0; smep < 2; smep++) {
                guest_reset();
                uint64_t la = la_for(m);
                struct chain c = build(m, la, 1, all_def, 0x40000000, 0);
                put(c.ent[1], get(c.ent[1], c.wide) & ~E_P, c.wide);
                struct walk_regs r = regs_for(&c);
                r.efer = nxe ? r.efer | EFER_NXE : r.efer & ~EFER_NXE;
                r.cr4 = smep ? r.cr4 | CR4_SMEP : r.cr4;
                uint32_t id = (smep || (m != M32 && nxe)) ? PF_I : 0;
                expect_fault(&c, r, la, EX0, id);
                expect_fault(&c, r, la, EX3, id | PF_U);
                expect_fault(&c, r, la, RD0, 0);
                expect_fault(&c, r, la, WR3, PF_W | PF_U);
            }
        }
    }
}

/* U/S and R/W at each level; CR0.WP for supervisor writes. */
static void test_walk_user_and_write_rights_at_each_level(void)
{
    for (enum mode m = M32; m <= M5; m++) {
        for (unsigned l = 1; l <= top_level[m]; l++) {
            if (m == MPAE && l == 3)
                continue; /* the PDPTE has no rights */
            uint64_t la = la_for(m), gpa = 0x40000000 | (la & 0xFFF);
            /* A supervisor page. */
            guest_reset();
            uint64_t fl[6] = {DEF, DEF, DEF, DEF, DEF, DEF};
            fl[l] &= ~E_U;
            struct chain c = build(m, la, 1, fl, 0x40000000, 0);
            struct walk_regs r = regs_for(&c);
            expect_fault(&c, r, la, RD3, PF_P | PF_U);
            expect_fault(&c, r, la, WR3, PF_P | PF_W | PF_U);
            expect_fault(&c, r, la, EX3, PF_P | PF_U | (m == M32 ? 0 : PF_I));
            struct walk_result o = expect_ok(&c, r, la, RD0, gpa);
            CHECK(!o.user && o.writable);
            expect_ok(&c, r, la, WR0, gpa);
            expect_ok(&c, r, la, EX0, gpa);
            /* A read-only user page. */
            guest_reset();
            memcpy(fl, all_def, sizeof(fl));
            fl[l] &= ~E_W;
            c = build(m, la, 1, fl, 0x40000000, 0);
            r = regs_for(&c);
            o = expect_ok(&c, r, la, RD3, gpa);
            CHECK(o.user && !o.writable);
            expect_fault(&c, r, la, WR3, PF_P | PF_W | PF_U);
            r.cr4 = (r.cr4 & ~CR4_SMAP);
            expect_fault(&c, r, la, WR0, PF_P | PF_W); /* CR0.WP = 1 */
            r.cr0 &= ~CR0_WP;
            expect_fault(&c, r, la, WR3, PF_P | PF_W | PF_U); /* WP is for supervisor writes */
            expect_ok(&c, r, la, WR0, gpa);
            check_ad(&c, true);
        }
    }
}

/* XD at each level with EFER.NXE: fetches fault, data accesses do not. */
static void test_walk_nx_at_each_level(void)
{
    for (enum mode m = MPAE; m <= M5; m++) {
        for (unsigned l = 1; l <= top_level[m]; l++) {
            if (m == MPAE && l == 3)
                continue;
            guest_reset();
            uint64_t la = la_for(m), gpa = 0x40000000 | (la & 0xFFF);
            uint64_t fl[6] = {DEF, DEF, DEF, DEF, DEF, DEF};
            fl[l] |= E_XD;
            struct chain c = build(m, la, 1, fl, 0x40000000, 0);
            struct walk_regs r = regs_for(&c);
            expect_fault(&c, r, la, EX0, PF_P | PF_I);
            expect_fault(&c, r, la, EX3, PF_P | PF_I | PF_U);
            struct walk_result o = expect_ok(&c, r, la, RD3, gpa);
            CHECK(o.nx);
            expect_ok(&c, r, la, WR0, gpa);
        }
    }
}

/* SMEP: no supervisor fetch from a user page. */
static void test_walk_smep(void)
{
    for (enum mode m = M32; m <= M5; m++) {
        guest_reset();
        uint64_t la = la_for(m), gpa = 0x40000000 | (la & 0xFFF);
        struct chain c = build(m, la, 1, all_def, 0x40000000, 0);
        struct walk_regs r = regs_for(&c);
        expect_ok(&c, r, la, EX0, gpa);
        r.cr4 |= CR4_SMEP;
        expect_fault(&c, r, la, EX0, PF_P | PF_I);
        expect_ok(&c, r, la, EX3, gpa);
        expect_ok(&c, r, la, RD0, gpa); /* SMEP is about fetches only */
        /* An implicit supervisor access at CPL 3 is a supervisor access. */
        struct acc ex_imp = {WALK_EXEC, 3, true};
        expect_fault(&c, r, la, ex_imp, PF_P | PF_I);
        /* A supervisor page (U/S = 0 at one level) is not a user page. */
        guest_reset();
        uint64_t fl[6] = {DEF, DEF, DEF, DEF, DEF, DEF};
        fl[top_level[m] == 3 ? 2 : top_level[m]] &= ~E_U;
        c = build(m, la, 1, fl, 0x40000000, 0);
        r = regs_for(&c);
        r.cr4 |= CR4_SMEP;
        expect_ok(&c, r, la, EX0, gpa);
    }
}

/* SMAP: supervisor data accesses to user pages need RFLAGS.AC and an
 * explicit access; implicit ones never pass. */
static void test_walk_smap_ac_and_implicit_accesses(void)
{
    for (enum mode m = M32; m <= M5; m++) {
        guest_reset();
        uint64_t la = la_for(m), gpa = 0x40000000 | (la & 0xFFF);
        struct chain c = build(m, la, 1, all_def, 0x40000000, 0);
        struct walk_regs r = regs_for(&c);
        struct acc rd_imp0 = {WALK_READ, 0, true}, rd_imp3 = {WALK_READ, 3, true};
        struct acc wr_imp3 = {WALK_WRITE, 3, true};
        expect_ok(&c, r, la, RD0, gpa);
        expect_ok(&c, r, la, rd_imp3, gpa);
        r.cr4 |= CR4_SMAP;
        expect_fault(&c, r, la, RD0, PF_P);
        expect_fault(&c, r, la, WR0, PF_P | PF_W);
        expect_fault(&c, r, la, rd_imp0, PF_P);
        expect_fault(&c, r, la, rd_imp3, PF_P);          /* implicit: no U/S bit */
        expect_fault(&c, r, la, wr_imp3, PF_P | PF_W);
        expect_ok(&c, r, la, RD3, gpa);                  /* user accesses are not checked */
        expect_ok(&c, r, la, EX0, gpa);                  /* nor fetches */
        r.ac = true;
        expect_ok(&c, r, la, RD0, gpa);
        expect_ok(&c, r, la, WR0, gpa);
        expect_fault(&c, r, la, rd_imp0, PF_P);          /* AC does not help implicit ones */
        expect_fault(&c, r, la, rd_imp3, PF_P);
        /* With AC, a read-only user page still obeys CR0.WP. */
        guest_reset();
        uint64_t fl[6] = {DEF, DEF, DEF, DEF, DEF, DEF};
        fl[1] &= ~E_W;
        c = build(m, la, 1, fl, 0x40000000, 0);
        r = regs_for(&c);
        r.cr4 |= CR4_SMAP;
        r.ac = true;
        expect_fault(&c, r, la, WR0, PF_P | PF_W);
        r.cr0 &= ~CR0_WP;
        expect_ok(&c, r, la, WR0, gpa);
        r.ac = false;
        expect_fault(&c, r, la, WR0, PF_P | PF_W);
        /* Supervisor pages are not affected, implicit or not, at any CPL. */
        guest_reset();
        memcpy(fl, all_def, sizeof(fl));
        fl[1] &= ~E_U;
        c = build(m, la, 1, fl, 0x40000000, 0);
        r = regs_for(&c);
        r.cr4 |= CR4_SMAP;
        expect_ok(&c, r, la, RD0, gpa);
        expect_ok(&c, r, la, rd_imp3, gpa);
        expect_ok(&c, r, la, wr_imp3, gpa);
        expect_fault(&c, r, la, RD3, PF_P | PF_U);
    }
}

static void test_walk_refuses_what_it_cannot_walk(void)
{
    for (enum mode m = M32; m <= M5; m++) {
        uint64_t la = la_for(m);
        /* CR3 outside RAM. */
        guest_reset();
        struct chain c = build(m, la, 1, all_def, 0x40000000, 0);
        struct walk_regs r = regs_for(&c);
        r.cr3 = OUTSIDE;
        expect_unwalkable(&c, r, la, RD0);
        /* A table pointer to outside RAM, at each level. */
        for (unsigned l = 2; l <= top_level[m]; l++) {
            guest_reset();
            c = build(m, la, 1, all_def, 0x40000000, 0);
            uint64_t v = get(c.ent[l], c.wide);
            put(c.ent[l], (v & 0xFFF) | OUTSIDE, c.wide);
            expect_unwalkable(&c, regs_for(&c), la, RD0);
        }
        /* The page itself may be anywhere (device memory). */
        guest_reset();
        c = build(m, la, 1, all_def, OUTSIDE, 0);
        expect_ok(&c, regs_for(&c), la, WR0, OUTSIDE | (la & 0xFFF));
        /* Protection keys, paging off, a bad MAXPHYADDR. */
        r = regs_for(&c);
        r.cr4 |= CR4_PKE;
        expect_unwalkable(&c, r, la, RD0);
        r = regs_for(&c);
        r.cr4 |= CR4_PKS;
        expect_unwalkable(&c, r, la, RD0);
        r = regs_for(&c);
        r.cr0 &= ~CR0_PG;
        expect_unwalkable(&c, r, la, RD0);
        r = regs_for(&c);
        r.maxphyaddr = 53;
        expect_unwalkable(&c, r, la, RD0);
    }
    /* Addresses the caller must have checked. */
    guest_reset();
    struct chain c = build(M4, la_for(M4), 1, all_def, 0x40000000, 0);
    expect_unwalkable(&c, regs_for(&c), 0x0000800000000000ull, RD0);
    expect_unwalkable(&c, regs_for(&c), 0xFFFF7FFFFFFFFFFFull, RD0);
    CHECK_EQ(do_walk(regs_for(&c), 0xFFFF800000000000ull, RD0, &(struct walk_result){0}),
             WALK_FAULT); /* canonical: an empty PML4E */
    c = build(M5, la_for(M5), 1, all_def, 0x40000000, 0);
    expect_unwalkable(&c, regs_for(&c), 0x0100000000000000ull, RD0);
    CHECK_EQ(do_walk(regs_for(&c), 0xFF00000000000000ull, RD0, &(struct walk_result){0}),
             WALK_FAULT);
    c = build(M32, la_for(M32), 1, all_def, 0x40000000, 0);
    expect_unwalkable(&c, regs_for(&c), 0x100000000ull, RD0);
}

/* A/D bits to set in read-only RAM: the translate callback's job. Nothing
 * is changed, not even the A bits the writable levels would take. */
static void test_walk_ad_update_in_read_only_ram_is_refused(void)
{
    for (enum mode m = M32; m <= M5; m++) {
        for (unsigned ro = 1; ro <= top_level[m]; ro++) {
            guest_reset();
            uint64_t la = la_for(m), gpa = 0x40000000 | (la & 0xFFF);
            struct chain c = build(m, la, 1, all_def, 0x40000000, ro);
            struct walk_regs r = regs_for(&c);
            bool pdpte = m == MPAE && ro == 3; /* no A bit to set there */
            if (pdpte) {
                expect_ok(&c, r, la, WR3, gpa);
                check_ad(&c, true);
                continue;
            }
            expect_unwalkable(&c, r, la, RD0);
            expect_unwalkable(&c, r, la, WR0);
            /* With the bits already set, the walk needs no write there. */
            put(c.ent[ro], get(c.ent[ro], c.wide) | E_A, c.wide);
            expect_ok(&c, r, la, RD3, gpa);
            check_ad(&c, false);
            if (ro == 1) {
                expect_unwalkable(&c, r, la, WR3); /* D to set */
                put(c.ent[1], get(c.ent[1], c.wide) | E_D, c.wide);
            }
            expect_ok(&c, r, la, WR3, gpa);
            check_ad(&c, true);
            /* A fault is still a fault. */
            put(c.ent[ro], get(c.ent[ro], c.wide) & ~E_U, c.wide);
            expect_fault(&c, r, la, RD3, PF_P | PF_U);
        }
    }
}

/* --- many threads on the same fresh tables --- */
#define T_THREADS 6
#define T_PAGES 64

struct shared {
    struct chain c[T_PAGES];
    struct walk_regs r;
    uint64_t la0;
    pthread_barrier_t start, done;
    unsigned rounds;
    unsigned errors;
    pthread_mutex_t lock;
};

static void *walker(void *arg)
{
    struct shared *s = arg;
    for (unsigned round = 0; round < s->rounds; round++) {
        pthread_barrier_wait(&s->start);
        unsigned bad = 0;
        for (unsigned k = 0; k < T_PAGES; k++) {
            unsigned p = (k * 7 + round) % T_PAGES;
            struct walk_result o;
            enum walk_access a = (p % 3 == 0) ? WALK_WRITE : WALK_READ;
            enum walk_status st = walk_translate(&g_map, &s->r, s->la0 + p * PG, a, false, &o);
            if (st != WALK_OK || o.gpa != 0x40000000 + p * PG)
                bad++;
        }
        if (bad) {
            pthread_mutex_lock(&s->lock);
            s->errors += bad;
            pthread_mutex_unlock(&s->lock);
        }
        pthread_barrier_wait(&s->done);
    }
    return NULL;
}

/* Another agent (the guest kernel on another vCPU) sets software bits
 * (9-11 and 52-58, ignored by 4-level paging) one at a time in every entry
 * with locked ORs while the walks run: neither its bits nor the walkers'
 * A/D bits may be lost. */
#define SOFT_BITS 10u
#define SOFT_MASK (0x7ull << 9 | 0x7Full << 52)

static uint64_t soft_bit(unsigned b)
{
    return b < 3 ? 1ull << (9 + b) : 1ull << (52 + b - 3);
}

static void *scribbler(void *arg)
{
    struct shared *s = arg;
    for (unsigned round = 0; round < s->rounds; round++) {
        pthread_barrier_wait(&s->start);
        for (unsigned b = 0; b < SOFT_BITS; b++)
            for (unsigned p = 0; p < T_PAGES; p++)
                for (unsigned l = 1; l <= 4; l++)
                    __atomic_fetch_or((uint64_t *)hp(s->c[p].ent[l]), soft_bit(b),
                                      __ATOMIC_SEQ_CST);
        pthread_barrier_wait(&s->done);
    }
    return NULL;
}

static void test_walk_concurrent_walks_lose_no_accessed_or_dirty_update(void)
{
    static struct shared s;
    unsigned rounds = 300;
    const char *env = getenv("WHVEMU_WALK_ROUNDS");
    if (env && atoi(env) > 0)
        rounds = (unsigned)atoi(env);
    guest_reset();
    /* 64 pages under one PML4E, PDPTE and PDE, 64 PTEs in one table. */
    s.la0 = 0x00007F0000200000ull;
    s.c[0] = build(M4, s.la0, 1, all_def, 0x40000000, 0);
    for (unsigned p = 1; p < T_PAGES; p++) {
        s.c[p] = s.c[0];
        s.c[p].ent[1] = s.c[0].ent[1] + p * 8;
        put(s.c[p].ent[1], (0x40000000 + p * PG) | DEF, true);
    }
    s.r = regs_for(&s.c[0]);
    s.rounds = rounds;
    s.errors = 0;
    pthread_mutex_init(&s.lock, NULL);
    pthread_barrier_init(&s.start, NULL, T_THREADS + 2);
    pthread_barrier_init(&s.done, NULL, T_THREADS + 2);
    pthread_t t[T_THREADS + 1];
    for (unsigned i = 0; i < T_THREADS; i++)
        pthread_create(&t[i], NULL, walker, &s);
    pthread_create(&t[T_THREADS], NULL, scribbler, &s);
    unsigned lost = 0;
    for (unsigned round = 0; round < rounds; round++) {
        /* Fresh tables: A, D and the software bit clear. */
        for (unsigned p = 0; p < T_PAGES; p++)
            for (unsigned l = 1; l <= 4; l++)
                put(s.c[p].ent[l], get(s.c[p].ent[l], true) & ~(E_A | E_D | SOFT_MASK), true);
        pthread_barrier_wait(&s.start);
        pthread_barrier_wait(&s.done);
        for (unsigned p = 0; p < T_PAGES; p++) {
            for (unsigned l = 1; l <= 4; l++) {
                uint64_t v = get(s.c[p].ent[l], true);
                bool want_d = l == 1 && p % 3 == 0;
                if (!(v & E_A) || (v & SOFT_MASK) != SOFT_MASK || ((v & E_D) != 0) != want_d)
                    lost++;
            }
        }
    }
    for (unsigned i = 0; i <= T_THREADS; i++)
        pthread_join(t[i], NULL);
    CHECK_EQ(lost, 0);
    CHECK_EQ(s.errors, 0);
    pthread_barrier_destroy(&s.start);
    pthread_barrier_destroy(&s.done);
    pthread_mutex_destroy(&s.lock);
}

int main(void)
{
    rw_mem = aligned_alloc(PG, RW_PAGES * PG);
    ro_mem = aligned_alloc(PG, RO_PAGES * PG);
    if (!rw_mem || !ro_mem)
        return 1;
    WHVEMU_GUEST_RAM_RANGE l[2] = {
        {RO_BASE, RO_PAGES * PG, ro_mem, WHVEMU_RAM_READ, 0},
        {RW_BASE, RW_PAGES * PG, rw_mem, WHVEMU_RAM_READ | WHVEMU_RAM_WRITE, 0},
    };
    if (ram_map_build(l, 2, &g_map) != S_OK)
        return 1;
    RUN(test_walk_4k_page_translates_and_sets_accessed_then_dirty);
    RUN(test_walk_large_pages_at_each_level);
    RUN(test_walk_32bit_ps_needs_cr4_pse_and_pse36_bits);
    RUN(test_walk_not_present_at_each_level);
    RUN(test_walk_reserved_bits_at_each_level);
    RUN(test_walk_id_bit_needs_nx_or_smep);
    RUN(test_walk_user_and_write_rights_at_each_level);
    RUN(test_walk_nx_at_each_level);
    RUN(test_walk_smep);
    RUN(test_walk_smap_ac_and_implicit_accesses);
    RUN(test_walk_refuses_what_it_cannot_walk);
    RUN(test_walk_ad_update_in_read_only_ram_is_refused);
    RUN(test_walk_concurrent_walks_lose_no_accessed_or_dirty_update);
    ram_map_free(&g_map);
    free(rw_mem);
    free(ro_mem);
    return CHECK_SUMMARY();
}
