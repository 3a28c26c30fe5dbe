/*
 * mem.c - the memory layer: the only caller of the translate and memory
 * callbacks. Order of checks for one access (SDM Vol. 3 ch. 3-5):
 * segmentation or canonical form, alignment check, translation of every page
 * the access touches (all before any byte moves), then the pieces.
 * Invariants: a page is translated once per call, again only to validate a
 * kind of access (read, write, execute) it was not validated for; a piece is
 * 1..8 bytes within one page; pieces go in ascending address order.
 */
#include <string.h>

#include "mem.h"
#include "walk.h"

#define MEM_RESULT_UNWRITTEN 0x7FFFFFFFu
#define MEM_GPA_UNWRITTEN (~(uint64_t)0)

static inline bool canonical(uint64_t a, unsigned bits)
{
    return emu_canonical(a, bits);
}

/* 64-bit mode canonical check of the first and last byte. Addresses
 * canonical in 57 but not 48 bits are legal only with 5-level paging
 * (CR4.LA57), which the exit proves when its own linear address is of that
 * kind; otherwise CR4 decides (vcpu_la57). */
static enum rc check_canonical(struct emu *e, uint8_t seg, uint64_t first, uint64_t last)
{
    if (canonical(first, 48) && canonical(last, 48))
        return RC_OK;
    if (!canonical(first, 57) || !canonical(last, 57))
        return seg == SEG_SS ? fault_ss(e, 0) : fault_gp(e, 0);
    if (!(e->regs.valid & VR_BIT(VR_CR4)) && e->exit_gva_valid && !canonical(e->exit_gva, 48) &&
        canonical(e->exit_gva, 57))
        return RC_OK;
    bool la57;
    TRY(vcpu_la57(e, &la57));
    if (la57)
        return RC_OK;
    return seg == SEG_SS ? fault_ss(e, 0) : fault_gp(e, 0);
}

/* The #GP(0) or #SS(0) a segment violation raises (SDM Vol. 3 6.15). */
static enum rc seg_fault(struct emu *e, uint8_t seg)
{
    return seg == SEG_SS ? fault_ss(e, 0) : fault_gp(e, 0);
}

/* Segmentation outside 64-bit mode (SDM Vol. 3 ch. 3 and 5.3-5.5). The
 * segment caches are taken as the VMM reports them: Limit is byte-granular
 * already; an unusable (null) segment shows Present = 0. */
bool mem_seg_ok(const WHV_X64_SEGMENT_REGISTER *sg, bool real, uint64_t off, unsigned size,
                uint8_t intent)
{
    uint64_t last = off + size - 1;
    if (!real) {
        unsigned type = sg->SegmentType;
        if (!sg->Present || !sg->NonSystemSegment)
            return false; /* null/unusable or a system descriptor */
        bool code = type & 8;
        if ((intent & ACC_W) && (code || !(type & 2)))
            return false; /* code, or read-only data */
        if ((intent & ACC_R) && code && !(type & 2))
            return false; /* execute-only code */
        if (!code && (type & 4)) {
            /* Expand-down: valid offsets are limit+1 .. 0xFFFF or 0xFFFFFFFF. */
            uint64_t upper = sg->Default ? 0xFFFFFFFFu : 0xFFFFu;
            return off > sg->Limit && last <= upper;
        }
    }
    return last <= sg->Limit;
}

static enum rc seg_check(struct emu *e, uint8_t seg, uint64_t off, unsigned size, uint8_t intent,
                         uint64_t *lin)
{
    const WHV_X64_SEGMENT_REGISTER *sg = vcpu_seg(e, seg);
    if (!mem_seg_ok(sg, e->mode == MODE_REAL || e->mode == MODE_V86, off, size, intent))
        return seg_fault(e, seg);
    *lin = (sg->Base + off) & 0xFFFFFFFFu;
    return RC_OK;
}

static inline enum rc mem_linear(struct emu *e, uint8_t seg, uint64_t off, unsigned size,
                                 uint8_t intent, uint64_t *lin)
{
    if (e->mode != MODE_LONG64)
        return seg_check(e, seg, off, size, intent, lin);
    uint64_t la = off;
    if (seg == SEG_FS || seg == SEG_GS)
        la += vcpu_seg(e, seg)->Base;
    uint64_t last = la + size - 1;
    if (!canonical(la, 48) || !canonical(last, 48))
        TRY(check_canonical(e, seg, la, last));
    *lin = la;
    return RC_OK;
}

/* #AC(0): CR0.AM, RFLAGS.AC and CPL 3 with a misaligned data access
 * (SDM Vol. 3 6.15, interrupt 17). */
static inline enum rc check_alignment(struct emu *e, uint64_t lin, unsigned size,
                                      uint8_t intent)
{
    if (!(intent & ACC_ALIGN) && e->cpl != 3)
        return RC_OK;
    /* Aligned vector forms (MOVAPS, MOVDQA, ...) and CMPXCHG16B: #GP(0),
     * checked before #AC (SDM Vol. 2 2.4, exception classes). */
    if ((intent & ACC_ALIGN) && (lin & (size - 1)))
        return fault_gp(e, 0);
    /* #AC applies to 2-, 4- and 8-byte data; wider vector accesses are not
     * checked (SDM Vol. 2 2.5, exception types 4 and 5). */
    if (size > 8 || e->cpl != 3 || !e->vp->ExecutionState.Cr0Am || !(vcpu_rflags(e) & FL_AC))
        return RC_OK;
    if (size > 1 && (lin & (size - 1)))
        return fault_ac(e);
    return RC_OK;
}

/* Outside 64-bit mode an aligned form's misalignment (#GP(0)) comes before
 * the segment checks: an SS operand both misaligned and beyond the limit
 * raises #GP(0), not #SS(0), as the host CPU does. */
static enum rc check_align_first(struct emu *e, uint8_t seg, uint64_t off, unsigned size,
                                 uint8_t intent)
{
    if (!(intent & ACC_ALIGN) || e->mode == MODE_LONG64)
        return RC_OK;
    uint64_t lin = (vcpu_seg(e, seg)->Base + off) & 0xFFFFFFFFu;
    return (lin & (size - 1)) ? fault_gp(e, 0) : RC_OK;
}

bool mem_exit_gpa(enum cpu_mode mode, const WHV_X64_SEGMENT_REGISTER *sg, uint64_t off,
                  unsigned size, uint8_t intent, const WHV_VP_EXIT_CONTEXT *vp, uint64_t exit_gva,
                  uint64_t exit_gpa, uint64_t *gpa)
{
    uint64_t lin;
    if (mode == MODE_LONG64) {
        /* The exit's page is canonical in 48 bits: so is all of the
         * access once the page test below finds it there. */
        lin = off + (sg ? sg->Base : 0);
    } else {
        if (!mem_seg_ok(sg, mode == MODE_REAL || mode == MODE_V86, off, size, intent))
            return false;
        lin = (sg->Base + off) & 0xFFFFFFFFu;
    }
    if ((lin & (size - 1)) && vp->ExecutionState.Cpl == 3 && vp->ExecutionState.Cr0Am &&
        (vp->Rflags & FL_AC))
        return false; /* #AC (check_alignment) */
    if (((lin ^ exit_gva) & EMU_PAGE_MASK) || (lin & (EMU_PAGE_SIZE - 1)) + size > EMU_PAGE_SIZE)
        return false; /* not all on the exit's page (mem_page) */
    *gpa = (exit_gpa & EMU_PAGE_MASK) | (lin & (EMU_PAGE_SIZE - 1));
    return true;
}

unsigned mem_free_slots(const struct emu *e)
{
    return EMU_PAGE_SLOTS - e->npages;
}

void mem_forget_pages(struct emu *e)
{
    e->npages = 0;
}

static WHV_TRANSLATE_GVA_FLAGS translate_flags(uint8_t intent)
{
    uint32_t f = WHvTranslateGvaFlagSetPageTableBits;
    if (intent & ACC_R)
        f |= WHvTranslateGvaFlagValidateRead;
    if (intent & ACC_W)
        f |= WHvTranslateGvaFlagValidateWrite;
    if (intent & ACC_X)
        f |= WHvTranslateGvaFlagValidateExecute;
    if (intent & ACC_SYS)
        f |= WHvTranslateGvaFlagPrivilegeExempt;
    return (WHV_TRANSLATE_GVA_FLAGS)f;
}


/* The #PF for an access with `intent` (SDM Vol. 3 4.7). The I/D bit is
 * reported only where the CPU reports it: with CR4.SMEP, or with PAE or
 * 4/5-level paging and EFER.NXE. A fetch fault happens before the
 * instruction's register batch, so CR4 and EFER are fetched for it here
 * (the emulation's one get call). */
static enum rc pf_fault(struct emu *e, uint64_t lin, uint8_t intent, uint32_t bits)
{
    uint32_t ec = bits;
    if (intent & ACC_W)
        ec |= PF_W;
    if (e->cpl == 3 && !(intent & ACC_SYS))
        ec |= PF_U;
    if (intent & ACC_X) {
        TRY(vcpu_fetch(e, VR_BIT(VR_CR4) | VR_BIT(VR_EFER)));
        uint64_t cr4 = e->regs.v[VR_CR4].Reg64, efer = e->regs.v[VR_EFER].Reg64;
        if ((cr4 & CR4_SMEP) || ((cr4 & CR4_PAE) && (efer & EFER_NXE)))
            ec |= PF_I;
    }
    return fault_pf(e, lin, ec);
}

/* The result codes whose GPA the access goes on with. */
static bool result_has_gpa(WHV_TRANSLATE_GVA_RESULT_CODE r)
{
    return r == WHvTranslateGvaResultSuccess || r == WHvTranslateGvaResultGpaUnmapped ||
           r == WHvTranslateGvaResultGpaNoReadAccess || r == WHvTranslateGvaResultGpaNoWriteAccess;
}

/* Intents a validated page already covers: a writable page is readable. */
static uint8_t covered(uint8_t access)
{
    return (access & ACC_W) ? (uint8_t)(access | ACC_R) : access;
}

/* The registers a page walk needs besides RFLAGS and the CPL. */
#define WALK_REGS (VR_BIT(VR_CR0) | VR_BIT(VR_CR3) | VR_BIT(VR_CR4) | VR_BIT(VR_EFER))

/* Below this guest-physical address a translation that is not RAM is taken
 * as device memory; above it the address bits may be reserved ones
 * (MAXPHYADDR is at least 36 on every x86-64 processor), so such a leaf is
 * left to the translate callback, which knows the guest's MAXPHYADDR. */
#define WALK_SURE_GPA (1ull << 36)

enum walk_status mem_walk_page(const struct ram_map *ram, uint32_t *hint,
                               const struct walk_regs *wr, enum cpu_mode mode, uint64_t page,
                               uint8_t intent, uint64_t *gpa_page, uint32_t *error_code)
{
    if (!(wr->cr0 & CR0_PG)) {
        *gpa_page = page & (mode == MODE_LONG64 ? ~(uint64_t)0 : 0xFFFFF000u);
        return WALK_OK;
    }
    enum walk_access acc = (intent & ACC_W) ? WALK_WRITE : (intent & ACC_X) ? WALK_EXEC : WALK_READ;
    struct walk_result res;
    switch (walk_translate(ram, wr, page, acc, (intent & ACC_SYS) != 0, &res)) {
    case WALK_OK:
        if (res.gpa >= WALK_SURE_GPA &&
            !ram_host_hint(ram, hint, res.gpa & EMU_PAGE_MASK, 1, WHVEMU_RAM_READ))
            return WALK_UNWALKABLE;
        *gpa_page = res.gpa & EMU_PAGE_MASK;
        return WALK_OK;
    case WALK_FAULT:
        *error_code = res.error_code;
        return WALK_FAULT;
    default:
        return WALK_UNWALKABLE;
    }
}

/* The page walk of the direct guest RAM extension (walk.c): RC_OK with the
 * GPA of `page`, RC_FAULT for a #PF the walk found, RC_UNSUPPORTED when it
 * cannot be done here (no registers for it, a table outside RAM, ...): then
 * the translate callback decides. An exit without instruction bytes walks
 * its fetch before anything is decoded, so the walk's registers come then,
 * with the general registers, in a get call that does not close the batch. */
static enum rc mem_walk(struct emu *e, uint64_t page, uint64_t lin, uint8_t intent,
                        uint64_t *gpa_page)
{
    if ((e->regs.valid & WALK_REGS) != WALK_REGS) {
        if (!(intent & ACC_X) || e->regs.fetched)
            return RC_UNSUPPORTED;
        TRY(vcpu_prefetch(e, WALK_REGS));
    }
    struct walk_regs wr;
    wr.cr0 = e->regs.v[VR_CR0].Reg64;
    wr.cr3 = e->regs.v[VR_CR3].Reg64;
    wr.cr4 = e->regs.v[VR_CR4].Reg64;
    wr.efer = e->regs.v[VR_EFER].Reg64;
    wr.cpl = e->cpl;
    wr.ac = (vcpu_rflags(e) & FL_AC) != 0;
    wr.maxphyaddr = 52;
    uint32_t ec = 0;
    switch (mem_walk_page(e->ram, &e->ram_hint, &wr, e->mode, page, intent, gpa_page, &ec)) {
    case WALK_OK:
        return RC_OK;
    case WALK_FAULT:
        return fault_pf(e, lin, ec);
    default:
        return RC_UNSUPPORTED;
    }
}

/* GPA of the page holding linear page `page`, validated for `intent`; a
 * fault reports `lin` (the first byte of the access in this page) as CR2.
 * A page is translated again only to add a validation it lacks, which
 * happens when a string move writes a page it first read. */
static enum rc mem_page(struct emu *e, uint64_t page, uint64_t lin, uint8_t intent,
                        uint64_t *gpa_page)
{
    if (e->exit_gva_valid && page == (e->exit_gva & EMU_PAGE_MASK) &&
        (intent & ~e->exit_access) == 0) { /* ACC_SYS is never in exit_access */
        *gpa_page = e->exit_gpa & EMU_PAGE_MASK;
        return RC_OK;
    }
    struct page_slot *slot = NULL;
    for (unsigned i = 0; i < e->npages; i++) {
        /* A page validated as an implicit supervisor access is another
         * slot than the same page validated for the program's own CPL. */
        if (e->pages[i].gva_page == page && ((e->pages[i].access ^ intent) & ACC_SYS) == 0) {
            slot = &e->pages[i];
            if ((intent & ~covered(slot->access)) == 0) {
                *gpa_page = slot->gpa_page;
                return RC_OK;
            }
            intent |= slot->access;
            break;
        }
    }
    if (!slot) {
        if (e->npages >= EMU_PAGE_SLOTS)
            return RC_RETRY;
        slot = &e->pages[e->npages];
    }

    /* With guest RAM registered, the page tables are walked here when the
     * registers of the walk are at hand; what cannot be walked goes to the
     * translate callback. */
    uint64_t walked;
    if (e->ram->n) {
        enum rc rc = mem_walk(e, page, lin, intent, &walked);
        if (rc == RC_OK) {
            if (slot == &e->pages[e->npages])
                e->npages++;
            slot->gva_page = page;
            slot->gpa_page = walked;
            slot->access = intent;
            *gpa_page = walked;
            return RC_OK;
        }
        if (rc != RC_UNSUPPORTED)
            return rc;
    }

    /* Outputs the callback leaves unwritten keep these markers and make the
     * call a failed one. */
    WHV_TRANSLATE_GVA_RESULT_CODE result = (WHV_TRANSLATE_GVA_RESULT_CODE)MEM_RESULT_UNWRITTEN;
    WHV_GUEST_PHYSICAL_ADDRESS gpa = MEM_GPA_UNWRITTEN;
    HRESULT hr = e->h->cb.WHvEmulatorTranslateGvaPage(e->ctx, page, translate_flags(intent),
                                                       &result, &gpa);
    if (hr == S_OK && ((uint32_t)result == MEM_RESULT_UNWRITTEN ||
                       (gpa == MEM_GPA_UNWRITTEN && result_has_gpa(result))))
        hr = E_FAIL;
    if (hr != S_OK) {
        e->cb_hr = hr;
        e->status = 1u << 4; /* TranslateGvaPageCallbackFailed */
        e->why = "the translate callback failed";
        return RC_CALLBACK_FAILED;
    }
    switch ((uint32_t)result) {
    case WHvTranslateGvaResultSuccess:
    case WHvTranslateGvaResultGpaUnmapped:     /* MMIO: the access goes to the callback */
    case WHvTranslateGvaResultGpaNoReadAccess: /* ROM-like pages, likewise */
    case WHvTranslateGvaResultGpaNoWriteAccess:
        break;
    case WHvTranslateGvaResultPageNotPresent:
        return pf_fault(e, lin, intent, 0);
    case WHvTranslateGvaResultPrivilegeViolation:
        return pf_fault(e, lin, intent, PF_P);
    case WHvTranslateGvaResultInvalidPageTableFlags:
        return pf_fault(e, lin, intent, PF_P | PF_RSVD);
    case WHvTranslateGvaResultGpaIllegalOverlayAccess:
        return fault_gp(e, 0);
    case WHvTranslateGvaResultIntercept:
        return emu_unsupported(e, "the translation of an operand page would itself intercept");
    default:
        e->why = "the translate callback returned an unknown result code";
        return RC_INTERNAL;
    }
    if (gpa & (EMU_PAGE_SIZE - 1)) {
        e->status = 1u << 5; /* TranslateGvaPageCallbackGpaIsNotAligned */
        e->why = "the translate callback returned a GPA that is not page aligned";
        return RC_CALLBACK_FAILED;
    }
    if (slot == &e->pages[e->npages])
        e->npages++;
    slot->gva_page = page;
    slot->gpa_page = gpa;
    slot->access = intent;
    *gpa_page = gpa;
    return RC_OK;
}

/* The naturally aligned word of 1, 2, 4, 8 or 16 bytes that holds the n
 * bytes at host address p, or 0 when they cross a 16-byte boundary (or need
 * 16 bytes where the host has no 16-byte compare-exchange). */
static unsigned atom_word(const uint8_t *p, unsigned n)
{
    uintptr_t a = (uintptr_t)p;
    for (unsigned w = 1; w <= 16; w *= 2)
        if (w >= n && (a & ~(uintptr_t)(w - 1)) + w >= a + n)
            return (w < 16 || RAM_HAVE_CAS128) ? w : 0;
    return 0;
}

/* The two halves of a locked read-modify-write on guest RAM (struct atom),
 * for the operand's n (1..16) bytes at gpa in `buf`: the read records the
 * aligned word that holds the operand and its value; the write is one
 * compare-exchange of that word from the recorded value (RC_RETRY and
 * ATOM_CONFLICT when another vCPU or thread changed it). *plain is set when
 * the access is not one to do here (not writable RAM, another operand):
 * then it goes the plain way, as it does on device memory. An operand that
 * crosses a 16-byte boundary is one split-lock compare-exchange of itself
 * where the host has one (x86-64), as the processor makes it atomic too
 * (SDM Vol. 3 9.1.2.2); elsewhere it is refused, since a read then a write
 * would not be atomic. */
static enum rc atom_access(struct emu *e, uint64_t gpa, unsigned n, bool write, uint8_t *buf,
                           bool *plain)
{
    struct atom *a = &e->atom;
    uint8_t *host = ram_host_hint(e->ram, &e->ram_hint, gpa, n, WHVEMU_RAM_WRITE);
    uint8_t word[16];
    *plain = false;
    if (!write && a->state == ATOM_ARMED && host) {
        unsigned w = atom_word(host, n);
        a->split = false;
        if (!w && RAM_HAVE_SPLIT_CAS && (n == 2 || n == 4 || n == 8)) {
            /* Across a 16-byte boundary: a split lock of the operand. */
            uint64_t v = 0;
            ram_split_cas(host, n, &v, 0); /* stores 0 only where 0 was: a read */
            a->split = true;
            a->size = a->n = (uint8_t)n;
            a->off = 0;
            a->host = host;
            a->old[0] = v;
            a->old[1] = 0;
            le_store(buf, v, n);
            a->state = ATOM_READ;
            return RC_OK;
        }
        if (!w && n == 16) {
            /* CMPXCHG16B where the host has no 16-byte compare-exchange:
             * the plain way (ram.h, RAM_HAVE_CAS128). */
            a->state = ATOM_OFF;
            *plain = true;
            return RC_OK;
        }
        if (!w) {
            a->state = ATOM_OFF;
            return emu_unsupported(e, "a locked operand in guest RAM that crosses a 16-byte "
                                      "boundary cannot be made atomic on this host");
        }
        a->size = (uint8_t)w;
        a->off = (uint8_t)((uintptr_t)host & (w - 1));
        a->n = (uint8_t)n;
        a->host = host - a->off;
        ram_word_load(a->host, w, a->old);
        le_store(word, a->old[0], 8);
        le_store(word + 8, a->old[1], 8);
        memcpy(buf, word + a->off, n);
        a->state = ATOM_READ;
        return RC_OK;
    }
    if (write && a->state == ATOM_READ && host && host == a->host + a->off && n == a->n) {
        uint64_t desired[2];
        if (a->split) {
            uint64_t exp = a->old[0];
            if (!ram_split_cas(host, n, &exp, le_load(buf, n))) {
                a->state = ATOM_CONFLICT;
                return RC_RETRY;
            }
            a->state = ATOM_DONE;
            return RC_OK;
        }
        le_store(word, a->old[0], 8);
        le_store(word + 8, a->old[1], 8);
        memcpy(word + a->off, buf, n);
        desired[0] = le_load(word, 8);
        desired[1] = le_load(word + 8, 8);
        if (!ram_word_cas(a->host, a->size, a->old, desired)) {
            a->state = ATOM_CONFLICT;
            return RC_RETRY;
        }
        a->state = ATOM_DONE;
        return RC_OK;
    }
    a->state = ATOM_OFF;
    *plain = true;
    return RC_OK;
}

static enum rc mem_callback(struct emu *e, uint64_t gpa, unsigned n, bool write,
                           uint64_t *val);

/* One piece of n (1..8) bytes at gpa: a locked operand's half (struct
 * atom), guest RAM on host memory, or the memory callback; `val` holds the
 * bytes to write (little-endian) or receives the bytes read. */
static enum rc mem_piece_val(struct emu *e, uint64_t gpa, unsigned n, bool write, uint64_t *val)
{
    if (e->ram->n) {
        if (e->atom.state == ATOM_ARMED || e->atom.state == ATOM_READ) {
            uint8_t b[8];
            bool plain;
            le_store(b, *val, n);
            TRY(atom_access(e, gpa, n, write, b, &plain));
            if (!plain) {
                if (!write)
                    *val = le_load(b, n);
                return RC_OK;
            }
        }
        /* A device page is looked up once while the ranges stay the same
         * (a piece never crosses a page; ranges are whole pages). */
        if ((gpa & EMU_PAGE_MASK) != *e->ram_miss) {
            uint8_t *host = ram_host_hint(e->ram, &e->ram_hint, gpa, n,
                                          write ? WHVEMU_RAM_WRITE : WHVEMU_RAM_READ);
            if (host) {
                if (write)
                    ram_store(host, *val, n);
                else
                    *val = ram_load(host, n);
                return RC_OK;
            }
            if (!ram_host_hint(e->ram, &e->ram_hint, gpa & EMU_PAGE_MASK, EMU_PAGE_SIZE,
                               WHVEMU_RAM_READ))
                *e->ram_miss = gpa & EMU_PAGE_MASK;
        }
    }
    return mem_callback(e, gpa, n, write, val);
}

/* A memory callback that did not return S_OK. */
static enum rc mem_callback_failed(struct emu *e, HRESULT hr)
{
    e->cb_hr = hr;
    e->status = 1u << 3; /* MemoryCallbackFailed */
    e->why = "the memory callback failed";
    return RC_CALLBACK_FAILED;
}

HRESULT mem_device(const struct emu_handle *eh, void *ctx, uint64_t gpa, unsigned n, bool write,
                   uint64_t *val)
{
    WHV_EMULATOR_MEMORY_ACCESS_INFO a;
    a.GpaAddress = gpa;
    a.Direction = write ? 1 : 0;
    a.AccessSize = (UINT8)n;
    uint64_t mask = ~(uint64_t)0 >> (64 - 8 * n); /* n is 1..8 */
    uint64_t v = write ? *val & mask : 0;
    memcpy(a.Data, &v, 8);
    HRESULT hr = eh->cb.WHvEmulatorMemoryCallback(ctx, &a);
    if (!write) {
        memcpy(&v, a.Data, 8);
        *val = v & mask;
    }
    return hr;
}

/* The memory callback for one piece of n (1..8) bytes. */
static enum rc mem_callback(struct emu *e, uint64_t gpa, unsigned n, bool write, uint64_t *val)
{
    HRESULT hr = mem_device(e->h, e->ctx, gpa, n, write, val);
    if (hr != S_OK)
        return mem_callback_failed(e, hr);
    return RC_OK;
}

static enum rc mem_piece(struct emu *e, uint64_t gpa, unsigned n, bool write, uint8_t *buf)
{
    uint64_t v = write ? le_load(buf, n) : 0;
    TRY(mem_piece_val(e, gpa, n, write, &v));
    if (!write)
        le_store(buf, v, n);
    return RC_OK;
}

/* A locked operand moved whole (CMPXCHG8B/16B, or one that crosses a
 * page): within one page it is one atomic access (atom_access); across two
 * pages of writable RAM no host compare-exchange covers it and it is
 * refused; with device memory on either side it goes the plain way
 * (*plain set, the atom OFF). */
static enum rc mem_move_atom(struct emu *e, uint64_t lin, unsigned size, bool write, uint8_t *buf,
                             uint64_t gpa0, uint64_t gpa1, bool split, bool *plain)
{
    unsigned off = (unsigned)(lin & (EMU_PAGE_SIZE - 1));
    *plain = true;
    if (size > 16) {
        e->atom.state = ATOM_OFF;
        return RC_OK;
    }
    if (!split)
        return atom_access(e, gpa0 | off, size, write, buf, plain);
    unsigned n0 = EMU_PAGE_SIZE - off;
    if (!write && e->atom.state == ATOM_ARMED &&
        ram_host_hint(e->ram, &e->ram_hint, gpa0 | off, n0, WHVEMU_RAM_WRITE) &&
        ram_host_hint(e->ram, &e->ram_hint, gpa1, size - n0, WHVEMU_RAM_WRITE)) {
        e->atom.state = ATOM_OFF;
        return emu_unsupported(e, "a locked operand in guest RAM that crosses a page "
                                  "boundary cannot be made atomic");
    }
    e->atom.state = ATOM_OFF;
    return RC_OK;
}

/* Move `size` bytes at linear `lin`: translate every page first, then the
 * pieces. Outside 64-bit mode linear addresses wrap at 4 GiB. */
static enum rc mem_move(struct emu *e, uint64_t lin, unsigned size, uint8_t intent, bool write,
                        uint8_t *buf)
{
    uint64_t lmask = e->mode == MODE_LONG64 ? ~(uint64_t)0 : 0xFFFFFFFFu;
    uint64_t first = lin & EMU_PAGE_MASK;
    uint64_t last = ((lin + size - 1) & lmask) & EMU_PAGE_MASK;
    uint64_t gpa0, gpa1 = 0;
    TRY(mem_page(e, first, lin, intent, &gpa0));
    if (last != first)
        TRY(mem_page(e, last, last, intent, &gpa1));
    if (e->atom.state == ATOM_ARMED || e->atom.state == ATOM_READ) {
        bool plain = true;
        TRY(mem_move_atom(e, lin, size, write, buf, gpa0, gpa1, first != last, &plain));
        if (!plain)
            return RC_OK;
    }
    unsigned done = 0;
    while (done < size) {
        uint64_t a = (lin + done) & lmask;
        unsigned in_page = EMU_PAGE_SIZE - (unsigned)(a & (EMU_PAGE_SIZE - 1));
        unsigned n = size - done;
        if (n > in_page)
            n = in_page;
        if (n > EMU_MAX_PIECE)
            n = EMU_MAX_PIECE;
        uint64_t gpa = ((a & EMU_PAGE_MASK) == first ? gpa0 : gpa1) | (a & (EMU_PAGE_SIZE - 1));
        TRY(mem_piece(e, gpa, n, write, buf + done));
        done += n;
    }
    return RC_OK;
}

enum rc mem_read(struct emu *e, uint8_t seg, uint64_t off, unsigned size, uint8_t intent,
                 void *out)
{
    uint64_t lin = 0;
    if (size == 0 || size > EMU_MAX_ACCESS)
        return RC_INTERNAL;
    TRY(check_align_first(e, seg, off, size, intent));
    TRY(mem_linear(e, seg, off, size, intent, &lin));
    TRY(check_alignment(e, lin, size, intent));
    intent &= ACC_R | ACC_W | ACC_X;
    return mem_move(e, lin, size, intent | ACC_R, false, out);
}

enum rc mem_write(struct emu *e, uint8_t seg, uint64_t off, unsigned size, uint8_t intent,
                  const void *data)
{
    uint64_t lin = 0;
    uint8_t buf[EMU_MAX_ACCESS];
    if (size == 0 || size > EMU_MAX_ACCESS)
        return RC_INTERNAL;
    TRY(check_align_first(e, seg, off, size, intent));
    TRY(mem_linear(e, seg, off, size, intent, &lin));
    TRY(check_alignment(e, lin, size, intent));
    intent &= ACC_R | ACC_W | ACC_X;
    memcpy(buf, data, size);
    return mem_move(e, lin, size, intent | ACC_W, true, buf);
}

/* The checks every data access makes before its pages: an aligned form's
 * misalignment outside 64-bit mode, segmentation or canonical form, #AC. */
static inline enum rc mem_checks(struct emu *e, uint8_t seg, uint64_t off, unsigned size,
                                 uint8_t intent, uint64_t *lin)
{
    TRY(check_align_first(e, seg, off, size, intent));
    TRY(mem_linear(e, seg, off, size, intent, lin));
    return check_alignment(e, *lin, size, intent);
}

/* An access of 1..8 bytes with its value in a register: one piece when it
 * stays in one page, else the general move. */
static enum rc mem_val(struct emu *e, uint8_t seg, uint64_t off, unsigned size, uint8_t intent,
                       bool write, uint64_t *val)
{
    uint64_t lin = 0, gpa;
    if (size == 0 || size > 8)
        return RC_INTERNAL;
    TRY(mem_checks(e, seg, off, size, intent, &lin));
    intent = (uint8_t)((intent & (ACC_R | ACC_W | ACC_X)) | (write ? ACC_W : ACC_R));
    if ((lin & (EMU_PAGE_SIZE - 1)) + size > EMU_PAGE_SIZE) {
        uint8_t buf[8];
        le_store(buf, *val, 8);
        TRY(mem_move(e, lin, size, intent, write, buf));
        if (!write)
            *val = le_load(buf, size);
        return RC_OK;
    }
    TRY(mem_page(e, lin & EMU_PAGE_MASK, lin, intent, &gpa));
    return mem_piece_val(e, gpa | (lin & (EMU_PAGE_SIZE - 1)), size, write, val);
}

enum rc mem_read_val(struct emu *e, uint8_t seg, uint64_t off, unsigned size, uint8_t intent,
                     uint64_t *val)
{
    *val = 0;
    return mem_val(e, seg, off, size, intent, false, val);
}

enum rc mem_write_val(struct emu *e, uint8_t seg, uint64_t off, unsigned size, uint8_t intent,
                      uint64_t val)
{
    return mem_val(e, seg, off, size, intent, true, &val);
}

enum rc mem_check(struct emu *e, uint8_t seg, uint64_t off, unsigned size, uint8_t intent)
{
    uint64_t lin = 0, gpa;
    if (size == 0 || size > EMU_MAX_ACCESS)
        return RC_INTERNAL;
    TRY(check_align_first(e, seg, off, size, intent));
    TRY(mem_linear(e, seg, off, size, intent, &lin));
    TRY(check_alignment(e, lin, size, intent));
    intent &= ACC_R | ACC_W | ACC_X;
    uint64_t lmask = e->mode == MODE_LONG64 ? ~(uint64_t)0 : 0xFFFFFFFFu;
    uint64_t first = lin & EMU_PAGE_MASK, last = ((lin + size - 1) & lmask) & EMU_PAGE_MASK;
    TRY(mem_page(e, first, lin, intent, &gpa));
    if (last != first)
        TRY(mem_page(e, last, last, intent, &gpa));
    return RC_OK;
}

enum rc mem_check_area(struct emu *e, uint8_t seg, uint64_t off, uint64_t amask, unsigned size,
                       uint8_t intent)
{
    unsigned n = size < EMU_MAX_ACCESS ? size : EMU_MAX_ACCESS;
    TRY(mem_check(e, seg, off, n, intent));
    return mem_check(e, seg, (off + size - n) & amask, n, intent);
}

enum rc mem_move_area(struct emu *e, uint8_t seg, uint64_t off, uint64_t amask, uint8_t *buf,
                      unsigned size, bool write)
{
    for (unsigned i = 0; i < size; i += EMU_MAX_ACCESS) {
        unsigned n = size - i < EMU_MAX_ACCESS ? size - i : EMU_MAX_ACCESS;
        uint64_t a = (off + i) & amask;
        if (write)
            TRY(mem_write(e, seg, a, n, ACC_W, buf + i));
        else
            TRY(mem_read(e, seg, a, n, ACC_R, buf + i));
    }
    return RC_OK;
}

enum rc mem_seg_check(struct emu *e, uint8_t seg, uint64_t off, unsigned size, uint8_t intent)
{
    uint64_t lin = 0;
    return mem_linear(e, seg, off, size, intent, &lin);
}

/* Implicit supervisor accesses at a linear address: no segmentation, no
 * alignment check; at CPL 3 translated with the privilege check exempt and
 * a #PF without the U bit (SDM Vol. 3 4.6.1). */
static enum rc mem_sys(struct emu *e, uint64_t lin, unsigned size, bool write, uint8_t *buf)
{
    uint8_t intent = (uint8_t)((write ? ACC_W : ACC_R) | (e->cpl == 3 ? ACC_SYS : 0));
    if (size == 0 || size > EMU_MAX_PIECE)
        return RC_INTERNAL;
    if (e->mode == MODE_LONG64) {
        if (!canonical(lin, 48) || !canonical(lin + size - 1, 48))
            return emu_unsupported(e, "a descriptor-table address that is not canonical");
    } else {
        lin &= 0xFFFFFFFFu;
    }
    return mem_move(e, lin, size, intent, write, buf);
}

enum rc mem_read_sys(struct emu *e, uint64_t lin, unsigned size, void *out)
{
    return mem_sys(e, lin, size, false, out);
}

enum rc mem_write_sys(struct emu *e, uint64_t lin, unsigned size, const void *data)
{
    uint8_t buf[EMU_MAX_PIECE];
    if (size == 0 || size > EMU_MAX_PIECE)
        return RC_INTERNAL;
    memcpy(buf, data, size);
    return mem_sys(e, lin, size, true, buf);
}

enum rc mem_fetch_insn(struct emu *e)
{
    if (e->nbytes >= EMU_MAX_INSN_LEN)
        return RC_INTERNAL;
    uint64_t lin;
    unsigned avail = EMU_MAX_INSN_LEN - e->nbytes;
    if (e->mode == MODE_LONG64) {
        lin = e->vp->Rip + e->nbytes;
        if (!canonical(lin, 48)) { /* CR4.LA57 decides, as for data */
            /* Before decoding: CR4 comes with the general registers (with
             * guest RAM the walk's registers, else EFER, which a fetch #PF
             * needs with CR4: pf_fault), as an exit without instruction
             * bytes brings them (vcpu_prefetch); the instruction's own
             * batch then asks only for what is missing. */
            if (!e->regs.fetched && !(e->regs.valid & VR_BIT(VR_CR4)))
                TRY(vcpu_prefetch(e, e->ram->n ? WALK_REGS
                                               : VR_BIT(VR_CR4) | VR_BIT(VR_EFER)));
            TRY(check_canonical(e, SEG_CS, lin, lin));
        }
    } else {
        /* CS limit check on the bytes still to fetch (SDM Vol. 3 5.3). */
        const WHV_X64_SEGMENT_REGISTER *cs = &e->vp->Cs;
        /* The offset of the next byte is not wrapped: an instruction that
         * runs past 0xFFFF with a CS limit of 0xFFFF (real mode too) raises
         * #GP(0), and past 0xFFFFFFFF is beyond any limit (SDM Vol. 3
         * 20.1.1). EIP is taken whole in 16-bit code as well: with a larger
         * CS limit the CPU fetches at CS.base + 0x10000 and up, and an
         * instruction may start there (the host CPU does both). */
        uint64_t ip = (e->vp->Rip & 0xFFFFFFFFu) + e->nbytes;
        if (ip > cs->Limit)
            return seg_fault(e, SEG_CS);
        if (cs->Limit - ip + 1 < avail)
            avail = (unsigned)(cs->Limit - ip + 1);
        lin = (cs->Base + ip) & 0xFFFFFFFFu;
    }
    unsigned in_page = EMU_PAGE_SIZE - (unsigned)(lin & (EMU_PAGE_SIZE - 1));
    unsigned n = avail < in_page ? avail : in_page;
    TRY(mem_move(e, lin, n, ACC_X, false, e->bytes + e->nbytes));
    e->nbytes = (uint8_t)(e->nbytes + n);
    return RC_OK;
}

/* Whether linear page `page` is validated for `intent` in this call. */
static bool page_known(const struct emu *e, uint64_t page, uint8_t intent)
{
    if (e->exit_gva_valid && page == (e->exit_gva & EMU_PAGE_MASK) &&
        (intent & ~e->exit_access) == 0)
        return true;
    for (unsigned i = 0; i < e->npages; i++)
        if (e->pages[i].gva_page == page && !(e->pages[i].access & ACC_SYS) &&
            (intent & ~covered(e->pages[i].access)) == 0)
            return true;
    return false;
}

enum rc mem_run_page(struct emu *e, uint8_t seg, uint64_t off, uint8_t intent, struct mem_run *r)
{
    if (e->mode != MODE_LONG64)
        return RC_UNSUPPORTED;
    uint64_t lin = off;
    if (seg == SEG_FS || seg == SEG_GS)
        lin += vcpu_seg(e, seg)->Base;
    if (!canonical(lin, 48) || !page_known(e, lin & EMU_PAGE_MASK, intent))
        return RC_UNSUPPORTED;
    r->lin = lin;
    uint64_t gpa;
    TRY(mem_page(e, lin & EMU_PAGE_MASK, lin, intent, &gpa));
    r->lin_page = lin & EMU_PAGE_MASK;
    r->gpa_page = gpa;
    r->host = NULL;
    if (e->ram->n && e->atom.state == ATOM_OFF)
        r->host = ram_host_hint(e->ram, &e->ram_hint, gpa, EMU_PAGE_SIZE,
                                (intent & ACC_W) ? WHVEMU_RAM_WRITE : WHVEMU_RAM_READ);
    return RC_OK;
}

/* Its own function: the loop keeps its few values in registers. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
HRESULT mem_run_to_device(const struct emu_handle *eh, void *ctx, const uint8_t *from, uint64_t to,
                          int64_t step, uint64_t k)
{
    HRESULT(CALLBACK *cb)(VOID *, WHV_EMULATOR_MEMORY_ACCESS_INFO *) =
        eh->cb.WHvEmulatorMemoryCallback;
    WHV_EMULATOR_MEMORY_ACCESS_INFO wr;
    unsigned size = (unsigned)(step < 0 ? -step : step);
    const uint8_t *sp = from;
    uint64_t gpa = to;
    /* The callback can change no more than the structure it is given,
     * whose every field is set again for every call. Bytes, the commonest
     * run, have their own loop. */
    if (size == 1 && step == 1) {
        /* One pointer moves; the GPA is its distance from the first byte. */
        const uint8_t *end = sp + k;
        uint64_t base = gpa - (uintptr_t)sp;
        for (; sp != end; sp++) {
            uint64_t v = __atomic_load_n(sp, __ATOMIC_RELAXED);
            wr.GpaAddress = base + (uintptr_t)sp;
            wr.Direction = 1;
            wr.AccessSize = 1;
            memcpy(wr.Data, &v, 8);
            HRESULT hr = cb(ctx, &wr);
            if (hr != S_OK)
                return hr;
        }
        return S_OK;
    }
    for (; k; k--) {
        uint64_t v = ram_load(sp, size);
        wr.GpaAddress = gpa;
        wr.Direction = 1;
        wr.AccessSize = (UINT8)size;
        memcpy(wr.Data, &v, 8);
        HRESULT hr = cb(ctx, &wr);
        if (hr != S_OK)
            return hr;
        sp += step;
        gpa += (uint64_t)step;
    }
    return S_OK;
}

enum rc mem_run_copy(struct emu *e, const struct mem_run *src, const struct mem_run *dst,
                     int64_t step, unsigned size, uint64_t k, uint64_t value)
{
    WHV_EMULATOR_MEMORY_ACCESS_INFO rd, wr;
    unsigned s_at = src ? (unsigned)(src->lin - src->lin_page) : 0;
    unsigned d_at = (unsigned)(dst->lin - dst->lin_page);
    uint64_t mask = size_mask(size);
    /* The commonest run, guest RAM to a device. */
    if (src && src->host && !dst->host) {
        HRESULT hr = mem_run_to_device(e->h, e->ctx, src->host + s_at, dst->gpa_page | d_at,
                                       step, k);
        return hr == S_OK ? RC_OK : mem_callback_failed(e, hr);
    }
    for (uint64_t i = 0; i < k; i++) {
        uint64_t v = value;
        if (src) {
            if (src->host) {
                v = ram_load(src->host + s_at, size);
            } else {
                rd.GpaAddress = src->gpa_page | s_at;
                rd.Direction = 0;
                rd.AccessSize = (UINT8)size;
                memset(rd.Data, 0, sizeof(rd.Data));
                HRESULT hr = e->h->cb.WHvEmulatorMemoryCallback(e->ctx, &rd);
                if (hr != S_OK)
                    return mem_callback_failed(e, hr);
                memcpy(&v, rd.Data, 8);
                v &= mask;
            }
            s_at += (unsigned)step;
        }
        if (dst->host) {
            ram_store(dst->host + d_at, v, size);
        } else {
            wr.GpaAddress = dst->gpa_page | d_at;
            wr.Direction = 1;
            wr.AccessSize = (UINT8)size;
            memcpy(wr.Data, &v, 8);
            HRESULT hr = e->h->cb.WHvEmulatorMemoryCallback(e->ctx, &wr);
            if (hr != S_OK)
                return mem_callback_failed(e, hr);
        }
        d_at += (unsigned)step;
    }
    return RC_OK;
}
