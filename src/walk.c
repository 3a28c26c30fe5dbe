/*
 * walk.c - the guest page walker (walk.h) on the guest-RAM map: 32-bit, PAE,
 * 4-level and 5-level paging as SDM Vol. 3 chapter 4 describes them. Calls
 * no callback and keeps no state: it reads paging-structure entries with
 * atomic loads and sets A/D bits with compare-exchanges on guest RAM.
 *
 * A/D bits on a faulting walk: the SDM sets the Accessed flag of the entries
 * "used as part of linear-address translation" (4.8) and the Dirty flag on a
 * write; a faulting access has no translation. The leaf's A and D bits are
 * never set by a faulting access, and whether the upper levels' A bits are
 * set before the fault is found is implementation-specific (tests that run
 * on hardware accept either). This walker sets nothing on a faulting walk.
 */
#include "walk.h"

#include "emu.h"


#define PTE_P (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_US (1ull << 2)
#define PTE_A (1ull << 5)
#define PTE_D (1ull << 6)
#define PTE_PS (1ull << 7)
#define PTE_XD (1ull << 63)

#define WALK_MAX_LEVELS 5
/* Walks restarted because an entry changed between its read and its A/D
 * update; each restart means another agent changed the tables, so a guest
 * racing the walker on purpose ends in the translate callback, not a hang. */
#define WALK_MAX_RESTARTS 64

/* Bits lo..hi (inclusive) set; empty when lo > hi. */
static uint64_t bits(unsigned hi, unsigned lo)
{
    if (lo > hi)
        return 0;
    uint64_t top = hi >= 63 ? ~0ull : (1ull << (hi + 1)) - 1;
    return top & ~((1ull << lo) - 1);
}

struct entry {
    void *host;                 /* where it lives */
    const struct ram_range *r;  /* in this range */
    uint64_t val;               /* as read */
    uint8_t kind;               /* ENTRY_* */
};
#define ENTRY_WIDE 1u  /* 64-bit entry (all modes but 32-bit paging) */
#define ENTRY_HAS_A 2u /* the CPU keeps an Accessed bit in it (not in PAE PDPTEs) */

struct walk {
    const struct ram_map *m;
    const struct walk_regs *r;
    struct entry e[WALK_MAX_LEVELS];
    unsigned n;
    uint64_t gpa, page_size;
    const struct ram_range *rr; /* the range the last entry was in */
    uint64_t rights;  /* the AND of the levels' entries (R/W, U/S) */
    uint64_t xd;      /* their OR (XD) */
    uint64_t a_and;   /* the AND of the entries that have an Accessed bit */
    bool writable, user, nx;
    uint32_t ec;     /* the access's error-code bits (W, U, I/D) */
    const char *why; /* why the walk is refused */
};

/* Reads the entry at gpa as the next level of the walk; false when the
 * table is not in readable RAM. */
static bool entry_read(struct walk *w, uint64_t gpa, bool wide, bool has_a, uint64_t *val)
{
    /* The tables are commonly in one range: the last one found is tried
     * first. An entry is aligned to its size and ranges are whole pages,
     * so an entry is in one range or in none. */
    const struct ram_range *r = w->rr;
    if (!r || gpa < r->gpa || gpa > r->last) {
        r = ram_range_at(w->m, gpa);
        if (!r || !(r->flags & WHVEMU_RAM_READ)) {
            w->why = "a paging-structure entry lies outside the guest RAM ranges";
            return false;
        }
        w->rr = r;
    }
    void *p = r->host + (gpa - r->gpa);
    struct entry *e = &w->e[w->n++];
    e->host = p;
    e->r = r;
    e->kind = (uint8_t)((wide ? ENTRY_WIDE : 0) | (has_a ? ENTRY_HAS_A : 0));
    e->val = wide ? ram_load64(p) : ram_load32(p);
    if (has_a)
        w->a_and &= e->val;
    *val = e->val;
    return true;
}

/* The effective rights of one more level. */
static void rights(struct walk *w, uint64_t v)
{
    w->rights &= v;
    w->xd |= v;
}

/* Outcome of reading one present-or-not entry: WALK_OK to go on. */
static enum walk_status check_entry(struct walk *w, uint64_t v, uint64_t rsvd, uint32_t *ec)
{
    if (!(v & PTE_P)) {
        *ec = w->ec;
        return WALK_FAULT;
    }
    if (v & rsvd) {
        *ec = w->ec | PF_P | PF_RSVD;
        return WALK_FAULT;
    }
    return WALK_OK;
}

/* 32-bit paging (SDM 4.3): 4-byte entries, no XD, 4 MiB pages with PSE. */
static enum walk_status walk32(struct walk *w, uint64_t la, uint32_t *ec)
{
    const struct walk_regs *r = w->r;
    uint64_t v;
    enum walk_status s;
    if (!entry_read(w, (r->cr3 & 0xFFFFF000u) + ((la >> 22) & 0x3FF) * 4, false, true, &v))
        return WALK_UNWALKABLE;
    if ((s = check_entry(w, v, 0, ec)) != WALK_OK)
        return s;
    rights(w, v);
    if ((v & PTE_PS) && (r->cr4 & CR4_PSE)) {
        /* PSE-36: bits (M-20):13 hold address bits (M-1):32, M = min(MAXPHYADDR, 40);
         * bits 21:(M-19) are reserved. */
        unsigned m = r->maxphyaddr < 40 ? r->maxphyaddr : 40;
        if ((s = check_entry(w, v, bits(21, m - 19), ec)) != WALK_OK)
            return s;
        uint64_t high = (v >> 13) & ((1ull << (m - 32)) - 1);
        w->gpa = (v & 0xFFC00000u) | high << 32 | (la & 0x3FFFFF);
        w->page_size = 4ull << 20;
        return WALK_OK;
    }
    if (!entry_read(w, (v & 0xFFFFF000u) + ((la >> 12) & 0x3FF) * 4, false, true, &v))
        return WALK_UNWALKABLE;
    if ((s = check_entry(w, v, 0, ec)) != WALK_OK)
        return s;
    rights(w, v);
    w->gpa = (v & 0xFFFFF000u) | (la & 0xFFF);
    w->page_size = 4096;
    return WALK_OK;
}

/* PAE (SDM 4.4), 4-level and 5-level paging (4.5): 8-byte entries, 512 per
 * table. PAE has 62:M reserved (no ignored high bits) and a PDPTE level
 * without rights or A bit; the IA-32e levels keep 62:52 for software. */
static enum walk_status walk64(struct walk *w, uint64_t la, bool pae, unsigned levels, uint32_t *ec)
{
    const struct walk_regs *r = w->r;
    unsigned m = r->maxphyaddr;
    bool nxe = (r->efer & EFER_NXE) != 0;
    uint64_t addr = bits(m - 1, 12);
    uint64_t rsvd = pae ? bits(62, m) : bits(51, m);
    if (!nxe)
        rsvd |= PTE_XD;
    uint64_t v, table;
    enum walk_status s;
    unsigned level = levels;
    if (pae) {
        /* The PDPTE: bits 2:1, 8:5 and 63:M reserved, no R/W, U/S, XD or A. */
        if (!entry_read(w, (r->cr3 & 0xFFFFFFE0u) + ((la >> 30) & 3) * 8, true, false, &v))
            return WALK_UNWALKABLE;
        if ((s = check_entry(w, v, bits(2, 1) | bits(8, 5) | bits(63, m), ec)) != WALK_OK)
            return s;
        table = v & addr;
        level = 2;
    } else {
        table = r->cr3 & addr;
    }
    for (;; level--) {
        unsigned shift = 12 + 9 * (level - 1);
        if (!entry_read(w, table + ((la >> shift) & 0x1FF) * 8, true, true, &v))
            return WALK_UNWALKABLE;
        uint64_t lr = rsvd;
        bool large = level > 1 && (v & PTE_PS) != 0;
        if (large && level > 3)
            lr |= PTE_PS; /* PML5E and PML4E have no page-size bit */
        else if (large)
            lr |= bits(shift - 1, 13); /* the page frame's low bits; 12 is PAT */
        if ((s = check_entry(w, v, lr, ec)) != WALK_OK)
            return s;
        rights(w, v);
        if (level == 1 || large) {
            uint64_t size = 1ull << shift;
            w->gpa = (v & addr & ~(size - 1)) | (la & (size - 1));
            w->page_size = size;
            return WALK_OK;
        }
        table = v & addr;
    }
}

/* SDM Vol. 3 4.6: may this access use the translation? */
static bool allowed(const struct walk *w, enum walk_access acc, bool user_acc, bool implicit)
{
    const struct walk_regs *r = w->r;
    if (acc == WALK_EXEC) {
        if (w->nx)
            return false;
        if (user_acc)
            return w->user;
        return !(w->user && (r->cr4 & CR4_SMEP));
    }
    if (user_acc)
        return w->user && (acc != WALK_WRITE || w->writable);
    if (w->user && (r->cr4 & CR4_SMAP) && (implicit || !r->ac))
        return false;
    return acc != WALK_WRITE || w->writable || !(r->cr0 & CR0_WP);
}

enum ad_result {
    AD_DONE,
    AD_NOT_WRITABLE, /* an entry to change is not in writable RAM: nothing changed */
    AD_CHANGED,      /* an entry changed since the walk read it: walk again */
};

/* Sets the A bits of the walk's entries and the leaf's D bit for a write,
 * top down, each with one compare-exchange (the CPU's locked update). */
static enum ad_result set_ad(struct walk *w, bool write)
{
    uint64_t want[WALK_MAX_LEVELS];
    void *host[WALK_MAX_LEVELS];
    /* Commonly every bit is set already (the leaf is the last entry). */
    if ((w->a_and & PTE_A) && (!write || (w->e[w->n - 1].val & PTE_D)))
        return AD_DONE;
    for (unsigned i = 0; i < w->n; i++) {
        struct entry *e = &w->e[i];
        want[i] = (e->kind & ENTRY_HAS_A) ? PTE_A : 0;
        if (write && i == w->n - 1)
            want[i] |= PTE_D;
        want[i] &= ~e->val;
        host[i] = NULL;
        if (want[i]) {
            host[i] = (e->r->flags & WHVEMU_RAM_WRITE) ? e->host : NULL;
            if (!host[i]) {
                w->why = "an Accessed or Dirty bit to set lies outside the writable guest RAM";
                return AD_NOT_WRITABLE;
            }
        }
    }
    for (unsigned i = 0; i < w->n; i++) {
        if (!want[i])
            continue;
        struct entry *e = &w->e[i];
        bool done;
        if (e->kind & ENTRY_WIDE) {
            uint64_t old = e->val;
            done = ram_cas64(host[i], &old, old | want[i]);
        } else {
            uint32_t old = (uint32_t)e->val;
            done = ram_cas32(host[i], &old, old | (uint32_t)want[i]);
        }
        if (!done)
            return AD_CHANGED;
        e->val |= want[i];
    }
    return AD_DONE;
}

/* One walk from CR3: the translation, a fault, a refusal, or a restart
 * (*restart set). */
static enum walk_status walk_once(struct walk *w, uint64_t la, enum walk_access acc,
                                  bool implicit, uint32_t *ec, bool *restart)
{
    const struct walk_regs *r = w->r;
    bool user_acc = r->cpl == 3 && !implicit;
    bool pae = (r->cr4 & CR4_PAE) != 0;
    w->n = 0;
    w->rights = ~0ull;
    w->xd = 0;
    w->a_and = ~0ull;
    w->ec = (acc == WALK_WRITE ? PF_W : 0) | (user_acc ? PF_U : 0);
    if (acc == WALK_EXEC && ((r->cr4 & CR4_SMEP) || (pae && (r->efer & EFER_NXE))))
        w->ec |= PF_I;
    enum walk_status s;
    if (!pae)
        s = walk32(w, la, ec);
    else if (!(r->efer & EFER_LMA))
        s = walk64(w, la, true, 3, ec);
    else
        s = walk64(w, la, false, (r->cr4 & CR4_LA57) ? 5 : 4, ec);
    if (s != WALK_OK)
        return s;
    w->writable = (w->rights & PTE_RW) != 0;
    w->user = (w->rights & PTE_US) != 0;
    /* XD counts with EFER.NXE (without it the bit is reserved: a fault). */
    w->nx = (r->efer & EFER_NXE) && (w->xd & PTE_XD);
    if (!allowed(w, acc, user_acc, implicit)) {
        *ec = w->ec | PF_P;
        return WALK_FAULT;
    }
    switch (set_ad(w, acc == WALK_WRITE)) {
    case AD_DONE:
        return WALK_OK;
    case AD_CHANGED:
        *restart = true;
        return WALK_UNWALKABLE;
    case AD_NOT_WRITABLE:
    default:
        return WALK_UNWALKABLE;
    }
}

/* One function with its steps inlined: it runs for every page an
 * emulation touches in guest RAM. */
#if defined(__GNUC__)
__attribute__((flatten))
#endif
enum walk_status walk_translate(const struct ram_map *m, const struct walk_regs *regs,
                                uint64_t la, enum walk_access acc, bool implicit,
                                struct walk_result *out)
{
    struct walk w;
    w.m = m;
    w.r = regs;
    w.rr = NULL;
    w.why = NULL;
    out->why = NULL;
    out->error_code = 0;
    if (!(regs->cr0 & CR0_PG)) {
        out->why = "paging is off: the guest-physical address is the linear address";
        return WALK_UNWALKABLE;
    }
    if (regs->cr4 & (CR4_PKE | CR4_PKS)) {
        out->why = "protection keys (CR4.PKE or CR4.PKS) are not walked";
        return WALK_UNWALKABLE;
    }
    if (regs->maxphyaddr < 32 || regs->maxphyaddr > 52) {
        out->why = "MAXPHYADDR outside 32..52";
        return WALK_UNWALKABLE;
    }
    if (!(regs->efer & EFER_LMA)) {
        if (la >> 32) {
            out->why = "a linear address above 4 GiB outside IA-32e mode";
            return WALK_UNWALKABLE;
        }
    } else {
        unsigned vbits = (regs->cr4 & CR4_LA57) ? 57 : 48;
        uint64_t high = la >> (vbits - 1);
        if (high != 0 && high != (~0ull >> (vbits - 1))) {
            out->why = "a non-canonical linear address";
            return WALK_UNWALKABLE;
        }
    }
    for (unsigned tries = 0; tries <= WALK_MAX_RESTARTS; tries++) {
        uint32_t ec = 0;
        bool restart = false;
        enum walk_status s = walk_once(&w, la, acc, implicit, &ec, &restart);
        if (restart)
            continue;
        switch (s) {
        case WALK_OK:
            out->gpa = w.gpa;
            out->page_size = w.page_size;
            out->writable = w.writable;
            out->user = w.user;
            out->nx = w.nx;
            out->dirty = (w.e[w.n - 1].val & PTE_D) != 0;
            return WALK_OK;
        case WALK_FAULT:
            out->error_code = ec;
            return WALK_FAULT;
        case WALK_UNWALKABLE:
        default:
            out->why = w.why;
            return WALK_UNWALKABLE;
        }
    }
    out->why = "the paging structures kept changing during the walk";
    return WALK_UNWALKABLE;
}
