/*
 * fast.c - the exit shortcut: the commonest exits done without the
 * general path's layers, into the same semantics.
 *
 * Which exits: a plain IN or OUT; a memory exit whose instruction is a MOV
 * load or store, MOVZX/MOVSX/MOVSXD, or a two-operand ALU instruction
 * (ADD OR ADC SBB AND SUB XOR CMP TEST) with its one memory operand of 1, 2,
 * 4 or 8 bytes on the page the exit names; REP MOVS in 64-bit mode from
 * guest RAM to the exit's device page. No LOCK, no single-stepping, no RF,
 * no interrupt shadow or pending event, no recorder, the exit's page not
 * guest RAM. The decoded form comes from the decode cache, with a plan made
 * once when it entered the cache (fast_plan): its register batch by name,
 * where each operand's register is in it.
 *
 * The semantics are the general path's own: alu_compute, gpr_part and
 * gpr_merge, rflags_merge, emu_next_rip, mem_exit_gpa, mem_seg_ok, mem_walk_page,
 * mem_run_to_device, io_exit_matches; the callbacks go through their
 * owners' one-call primitives. The callbacks are the ones the general path
 * makes for the same exit, in the same order, with the same arguments
 * (tests/unit/test_fast_path.c; the differential suites also run without
 * the shortcut: WHVEMU_NO_FAST_PATH).
 *
 * What the shortcut cannot finish without a decision of the general path
 * (a segment or canonical violation, #AC, an operand off the exit's page, a
 * REP count beyond a page or the REP limit, a walk that faults) it hands
 * over after the register batch, with the registers it fetched: the general
 * path then makes no second get call and raises what is to be raised.
 * Before the batch it makes no callback, so it may simply decline.
 */
#include <string.h>

#include "emu.h"
#include "fast.h"
#include "mem.h"
#include "walk.h"

/* The shortcut is one function per exit kind with the layers' small
 * primitives inlined into it (the library is one translation unit). */
#if defined(__GNUC__)
#define FAST_FLAT __attribute__((flatten))
#else
#define FAST_FLAT
#endif

/* The handlers the shortcut stands in for, and what it does for each. */
static const struct {
    handler_fn fn;
    uint8_t kind, op;
} fast_rows[] = {
    {mov_mov, FAST_STORE, 0}, /* FAST_LOAD when the memory operand is the source */
    {mov_movzx, FAST_LOAD, 0},
    {mov_movsx, FAST_LOAD, 1},
    {alu_add, FAST_ALU, ALU_ADD},
    {alu_or, FAST_ALU, ALU_OR},
    {alu_adc, FAST_ALU, ALU_ADC},
    {alu_sbb, FAST_ALU, ALU_SBB},
    {alu_and, FAST_ALU, ALU_AND},
    {alu_sub, FAST_ALU, ALU_SUB},
    {alu_xor, FAST_ALU, ALU_XOR},
    {alu_cmp, FAST_ALU, ALU_CMP},
    {alu_test, FAST_ALU, ALU_TEST},
    {str_movs, FAST_MOVS, 0},
    {io_in, FAST_IN, 0},
    {io_out, FAST_OUT, 0},
};

/* Slots a memory exit seeds from its context: never in a batch. */
#define FAST_SEEDED (VR_BIT(VR_RIP) | VR_BIT(VR_RFLAGS) | VR_SEG_BIT(SEG_CS))

/* Where slot `slot` is in the plan's batch, or FAST_NOREG. */
static uint8_t plan_index(const struct fast_plan *p, unsigned slot)
{
    for (unsigned i = 0; i < p->nregs; i++)
        if (p->slot[i] == slot)
            return (uint8_t)i;
    return FAST_NOREG;
}

static bool plain_operand(const struct opnd *o)
{
    return o->type == OPND_IMM || (o->type == OPND_REG && o->size <= 8);
}

/* Which exits' access types cover `intent` (a write exit's page is
 * writable, so readable too), as bits by WHV_MEMORY_ACCESS_TYPE. */
static uint8_t plan_accept(uint8_t intent)
{
    uint8_t a = 0;
    if (!(intent & ~ACC_R))
        a |= 1u << WHvMemoryAccessRead;
    if (!(intent & ~(ACC_R | ACC_W)))
        a |= 1u << WHvMemoryAccessWrite;
    return a;
}

/* The slots of `want` in slot order, as vcpu_fetch names them. */
static bool plan_batch(struct fast_plan *p, uint64_t want, unsigned max)
{
    unsigned n = 0;
    for (unsigned s = 0; s < VR_COUNT; s++) {
        if (!(want & VR_BIT(s)))
            continue;
        if (n == max)
            return false;
        p->slot[n] = (uint8_t)s;
        p->name[n] = vcpu_name(s);
        n++;
    }
    p->nregs = (uint8_t)n;
    return true;
}

/* REP MOVS in 64-bit mode with 64-bit addresses, from guest RAM to the
 * exit's device page: the batch exec_insn makes with direct guest RAM (the
 * page walk's registers). */
static void plan_movs(const struct insn *in, enum cpu_mode mode, struct fast_plan *p)
{
    if (!in->rep || in->addrsize != 8 || mode != MODE_LONG64)
        return;
    uint64_t want = (in->needs | VR_BIT(VR_CR0) | VR_BIT(VR_CR3) | VR_BIT(VR_CR4) |
                     VR_BIT(VR_EFER)) & ~FAST_SEEDED;
    if (!plan_batch(p, want, FAST_MAX_REGS))
        return;
    p->base = plan_index(p, GPR_RSI);
    p->index = plan_index(p, GPR_RDI);
    p->reg = plan_index(p, GPR_RCX);
    bool seg_needed = in->seg == SEG_FS || in->seg == SEG_GS;
    p->seg = seg_needed ? plan_index(p, VR_SEG0 + in->seg) : FAST_NOREG;
    p->walk[0] = plan_index(p, VR_CR0);
    p->walk[1] = plan_index(p, VR_CR3);
    p->walk[2] = plan_index(p, VR_CR4);
    p->walk[3] = plan_index(p, VR_EFER);
    if (p->base == FAST_NOREG || p->index == FAST_NOREG || p->reg == FAST_NOREG ||
        (seg_needed && p->seg == FAST_NOREG))
        return;
    p->midx = 1;
    p->intent = ACC_W; /* the destination is the exit's page */
    p->accept = plan_accept(p->intent);
    p->kind = FAST_MOVS;
}

void fast_plan(const struct insn *in, enum cpu_mode mode, struct fast_plan *p)
{
    const struct op_row *r = in->row;
    memset(p, 0, sizeof(*p));
    p->kind = FAST_NONE;
    unsigned kind = FAST_NONE, op = 0;
    for (unsigned i = 0; i < sizeof(fast_rows) / sizeof(fast_rows[0]); i++) {
        if (fast_rows[i].fn == r->fn) {
            kind = fast_rows[i].kind;
            op = fast_rows[i].op;
            break;
        }
    }
    if (kind == FAST_NONE || in->nops != 2 || in->lock || in->vex)
        return;
    if (kind == FAST_IN || kind == FAST_OUT) {
        /* IN/OUT: the exit holds the port and RAX; nothing is fetched. */
        if (r->traits & T_REP)
            return;
        bool out = kind == FAST_OUT;
        uint8_t kport = out ? r->k[0] : r->k[1];
        p->io_out = out;
        p->io_size = in->op[out ? 1 : 0].size;
        p->io_imm = kport == K_Ibu;
        p->io_port = (uint16_t)in->op[out ? 0 : 1].imm;
        p->kind = (uint8_t)kind;
        return;
    }
    if (kind == FAST_MOVS) {
        plan_movs(in, mode, p);
        return;
    }
    if (!in->one_mem || (r->traits & (T_SSE | T_MMX | T_X87 | T_SEG | T_IO | T_XCHG | T_ALIGNED)))
        return;
    unsigned midx = in->op[0].type == OPND_MEM ? 0 : 1;
    const struct opnd *m = &in->op[midx], *o = &in->op[1 - midx];
    if (m->type != OPND_MEM || !plain_operand(o) || m->reg != 0 ||
        (m->size != 1 && m->size != 2 && m->size != 4 && m->size != 8))
        return;
    if (kind == FAST_STORE && midx == 1)
        kind = FAST_LOAD;
    if (kind == FAST_LOAD && (midx != 1 || o->type != OPND_REG))
        return;
    if (kind == FAST_STORE && midx != 0)
        return;
    /* The batch exec_insn makes on a memory exit with one operand on the
     * exit's page: the instruction's slots not seeded from the context. */
    uint64_t want = in->needs & ~FAST_SEEDED;
    if (!plan_batch(p, want, FAST_MEM_REGS))
        return;
    p->base = in->base == NO_REG ? FAST_NOREG : plan_index(p, in->base & 15);
    p->index = in->index == NO_REG ? FAST_NOREG : plan_index(p, in->index & 15);
    p->reg = o->type == OPND_REG ? plan_index(p, o->reg & 15) : FAST_NOREG;
    p->dst = vcpu_name(in->op[0].reg & 15);
    /* A load of 4 or 8 bytes replaces its register whole: not fetched. */
    bool reg_needed = o->type == OPND_REG && !(kind == FAST_LOAD && o->size >= 4);
    bool seg_needed = mode != MODE_LONG64 || in->seg == SEG_FS || in->seg == SEG_GS;
    p->seg = seg_needed ? plan_index(p, VR_SEG0 + in->seg) : FAST_NOREG;
    if ((in->base != NO_REG && p->base == FAST_NOREG) ||
        (in->index != NO_REG && p->index == FAST_NOREG) ||
        (reg_needed && p->reg == FAST_NOREG) || (seg_needed && p->seg == FAST_NOREG) ||
        in->mem_form != MEM_MODRM || !in->mem_access)
        return;
    /* A base, index or register source the form does not have reads the
     * zero slot. */
    if (p->base == FAST_NOREG)
        p->base = FAST_ZERO;
    if (p->index == FAST_NOREG)
        p->index = FAST_ZERO;
    if (p->reg == FAST_NOREG)
        p->reg = FAST_ZERO;
    p->midx = (uint8_t)midx;
    p->op = (uint8_t)op;
    /* The intent the general path validates the page with (exec.c
     * op_intent, mem.c mem_val). */
    p->intent = (uint8_t)(in->mem_access | (kind == FAST_STORE ? ACC_W : ACC_R));
    p->accept = plan_accept(p->intent);
    p->size = m->size;
    p->len = in->len;
    p->scale = in->scale;
    p->riprel = in->riprel;
    p->disp = in->disp;
    p->amask = addr_mask(in->addrsize);
    p->src_imm = o->type == OPND_IMM;
    p->src = p->src_imm ? o->imm : o->high8 ? 0xFF : size_mask(o->size);
    p->src_shift = o->high8 ? 8 : 0;
    p->alu_write = kind == FAST_ALU && !(r->traits & T_NOWRITE) && op != ALU_CMP && op != ALU_TEST;
    p->kind = (uint8_t)kind;
}

/* A form not in the decode cache: decoded into it, as the general path
 * would (api.c emu_decode), when the exit's bytes hold all of it; NULL
 * otherwise (the general path then decides what the bytes are). */
static const struct dcache_entry *fast_decode(struct emu_handle *eh, enum cpu_mode mode,
                                              const uint8_t bytes[16], unsigned n)
{
    struct dec_mode dm;
    emu_dec_mode(mode, &dm);
    struct insn *in = dcache_slot(&eh->dc);
    if (dec_decode(&dm, bytes, n > EMU_MAX_INSN_LEN ? EMU_MAX_INSN_LEN : n, in) != DEC_OK)
        return NULL;
    dcache_keep(&eh->dc, (uint8_t)mode, bytes);
    uint64_t b[2];
    memcpy(b, bytes, 16);
    return dcache_search(&eh->dc, (uint8_t)mode, b, n);
}

/* The exit conditions under which the general path would do more than the
 * instruction: an event being delivered, a trap or RF to handle, an
 * interrupt shadow to end. */
static inline bool exit_plain(WHV_X64_VP_EXECUTION_STATE es, uint64_t rflags)
{
    return !es.InterruptionPending && !es.InterruptShadow && !(rflags & (FL_TF | FL_RF));
}

/* The decoded form of an exit the shortcut may take: no event, trap, RF or
 * shadow (exit_plain), 1 to 16 instruction bytes, found in the decode cache
 * or decoded into it; NULL: the general path decides. */
static inline const struct dcache_entry *fast_form(struct emu_handle *eh,
                                                   const WHV_VP_EXIT_CONTEXT *vp, uint64_t rflags,
                                                   const UINT8 bytes[16], unsigned count,
                                                   enum cpu_mode *mode)
{
    if (!exit_plain(vp->ExecutionState, rflags) || count - 1u > 15u)
        return NULL;
    *mode = emu_mode_of(vp);
    const struct dcache_entry *d = dcache_lookup(&eh->dc, (uint8_t)*mode, bytes, count);
    return d ? d : fast_decode(eh, *mode, bytes, count);
}

static enum fast_result failed(struct fast_call *fc, uint32_t status, HRESULT hr, const char *why)
{
    fc->status = status;
    fc->cb_hr = hr;
    fc->why = why;
    return FAST_FAILED;
}

static inline enum fast_result fast_set(const struct emu_handle *eh, void *ctx,
                                        struct fast_call *fc, const WHV_REGISTER_NAME *names,
                                        unsigned n, const WHV_REGISTER_VALUE *vals)
{
    HRESULT hr = vcpu_set_batch(eh, ctx, names, n, vals);
    if (hr != S_OK)
        return failed(fc, 1u << 7, hr, "the set-registers callback failed");
    return FAST_DONE;
}

static inline void put_reg(WHV_REGISTER_NAME *names, WHV_REGISTER_VALUE *vals, unsigned *n,
                           WHV_REGISTER_NAME name, uint64_t v)
{
    names[*n] = name;
    vals[*n].Reg128.Low64 = v;
    vals[*n].Reg128.High64 = 0;
    (*n)++;
}

/* REP MOVS from guest RAM to the exit's device page (string.c str_run with
 * str_more, when every element is in the two pages): the source page's walk
 * (mem_walk_page, as mem.c walks it), the elements as one run
 * (mem_run_to_device, as mem_run_copy makes it), then rCX, rSI, rDI and
 * RIP. Whatever else (a count of 0 or beyond the REP limit or a page, a
 * walk that faults or cannot be made, a source that is not RAM, #AC) the
 * general path does, with the batch. */
static enum fast_result fast_movs(struct emu_handle *eh, void *ctx, struct fast_call *fc,
                                  const struct dcache_entry *d, enum cpu_mode mode)
{
    const struct fast_plan *p = &d->plan;
    const struct insn *in = &d->in;
    const WHV_VP_EXIT_CONTEXT *vp = &fc->vp;
    const WHV_REGISTER_VALUE *v = fc->vals;
    uint64_t rflags = vp->Rflags;
    unsigned size = in->op[0].size;
    uint64_t k = v[p->reg].Reg64, rsi = v[p->base].Reg64, rdi = v[p->index].Reg64;
    int64_t step = (rflags & FL_DF) ? -(int64_t)size : (int64_t)size;
    uint32_t limit = eh->rep_limit;
    if (k == 0 || (limit && k > limit) ||
        ((rflags & FL_AC) && size > 1 && vp->ExecutionState.Cpl == 3 && vp->ExecutionState.Cr0Am))
        return FAST_GENERAL;
    /* Both runs within one page: the bytes from the lowest element up, and
     * (k at most a page) no address arithmetic that wraps. */
    uint64_t src = rsi + (p->seg != FAST_NOREG ? v[p->seg].Segment.Base : 0);
    uint64_t bytes = k * size, back = step > 0 ? 0 : bytes - size;
    if (k > EMU_PAGE_SIZE || !emu_canonical(src, 48) || !emu_canonical(rdi, 48) ||
        ((src - back) & (EMU_PAGE_SIZE - 1)) + bytes > EMU_PAGE_SIZE ||
        ((rdi - back) & (EMU_PAGE_SIZE - 1)) + bytes > EMU_PAGE_SIZE ||
        ((rdi ^ fc->mc.Gva) & EMU_PAGE_MASK) || !((src ^ fc->mc.Gva) & EMU_PAGE_MASK))
        return FAST_GENERAL;
    /* The source page's walk, with the batch's registers. */
    struct walk_regs wr;
    wr.cr0 = v[p->walk[0]].Reg64;
    wr.cr3 = v[p->walk[1]].Reg64;
    wr.cr4 = v[p->walk[2]].Reg64;
    wr.efer = v[p->walk[3]].Reg64;
    wr.cpl = (uint8_t)vp->ExecutionState.Cpl;
    wr.ac = (rflags & FL_AC) != 0;
    wr.maxphyaddr = 52;
    uint64_t src_gpa;
    uint32_t ec, hint = 0;
    if (mem_walk_page(&eh->ram, &hint, &wr, mode, src & EMU_PAGE_MASK, ACC_R, &src_gpa, &ec) !=
        WALK_OK)
        return FAST_GENERAL;
    /* The source page in readable RAM (ranges are whole pages). */
    const struct ram_range *rr = ram_range_at(&eh->ram, src_gpa);
    if (!rr || !(rr->flags & WHVEMU_RAM_READ))
        return FAST_GENERAL;
    const uint8_t *host = rr->host + (src_gpa - rr->gpa);
    HRESULT hr = mem_run_to_device(eh, ctx, host + (src & (EMU_PAGE_SIZE - 1)),
                                   (fc->mc.Gpa & EMU_PAGE_MASK) | (rdi & (EMU_PAGE_SIZE - 1)),
                                   step, k);
    if (hr != S_OK)
        return failed(fc, 1u << 3, hr, "the memory callback failed");
    WHV_REGISTER_NAME names[4];
    WHV_REGISTER_VALUE out[4];
    unsigned n = 0;
    put_reg(names, out, &n, WHvX64RegisterRcx, 0);
    put_reg(names, out, &n, WHvX64RegisterRsi, rsi + k * (uint64_t)step);
    put_reg(names, out, &n, WHvX64RegisterRdi, rdi + k * (uint64_t)step);
    put_reg(names, out, &n, WHvX64RegisterRip, emu_next_rip(mode, vp->Rip, in->len));
    return fast_set(eh, ctx, fc, names, n, out);
}

FAST_FLAT enum fast_result fast_mmio(struct emu_handle *eh, void *ctx, const WHV_VP_EXIT_CONTEXT *vpctx,
                           const WHV_MEMORY_ACCESS_CONTEXT *mcctx, struct fast_call *fc)
{
    /* The contexts are read once: from here on only the copies. */
    fc->vp = *vpctx;
    fc->mc = *mcctx;
    const WHV_VP_EXIT_CONTEXT *vp = &fc->vp;
    const WHV_MEMORY_ACCESS_CONTEXT *mc = &fc->mc;
    uint64_t rflags = vp->Rflags;
    enum cpu_mode mode;
    const struct dcache_entry *d;
    if (!mc->AccessInfo.GvaValid ||
        !(d = fast_form(eh, vp, rflags, mc->InstructionBytes, mc->InstructionByteCount, &mode)))
        return FAST_NO;
    /* A memory kind whose intent the exit's access covers. */
    const struct fast_plan *p = &d->plan;
    if (!((p->accept >> mc->AccessInfo.AccessType) & 1))
        return FAST_NO;
    /* The exit's page must be a device's: in no guest RAM range (what mem.c
     * found last is kept in ram_miss). REP MOVS only from guest RAM, in
     * 64-bit mode. */
    if (eh->ram.n && (mc->Gpa & EMU_PAGE_MASK) != eh->ram_miss) {
        uint32_t hint = 0;
        if (ram_host_hint(&eh->ram, &hint, mc->Gpa & EMU_PAGE_MASK, EMU_PAGE_SIZE, 0))
            return FAST_NO;
        eh->ram_miss = mc->Gpa & EMU_PAGE_MASK;
    }
    /* An exit's page beyond 48-bit addresses: CR4 joins the general path's
     * batch (exec.c), not the plan's. Within 48 bits, so is every address
     * on the page (mem_exit_gpa). */
    if (mode == MODE_LONG64 && !emu_canonical(mc->Gva, 48))
        return FAST_NO;
    const struct insn *in = &d->in;
    fc->d = d;
    fc->mode = mode;

    /* The batch. What the callback leaves unwritten reads as zero. */
    WHV_REGISTER_VALUE *v = fc->vals;
    HRESULT hr;
    if (p->kind == FAST_MOVS) {
        if (!eh->ram.n)
            return FAST_NO;
        for (unsigned i = 0; i < FAST_MAX_REGS; i++) { /* a fixed count: straight stores */
            v[i].Reg128.Low64 = 0;
            v[i].Reg128.High64 = 0;
        }
        hr = vcpu_get_batch(eh, ctx, p->name, p->nregs, v);
        if (hr != S_OK)
            return failed(fc, 1u << 6, hr, "the get-registers callback failed");
        return fast_movs(eh, ctx, fc, d, mode);
    }
    for (unsigned i = 0; i <= FAST_ZERO; i++) {
        v[i].Reg128.Low64 = 0;
        v[i].Reg128.High64 = 0;
    }
    if (p->nregs) {
        hr = vcpu_get_batch(eh, ctx, p->name, p->nregs, v);
        if (hr != S_OK)
            return failed(fc, 1u << 6, hr, "the get-registers callback failed");
    }

    /* The operand's address (exec.c op_addr) and its linear address. */
    unsigned size = p->size;
    uint64_t off = p->disp + v[p->base].Reg64 + v[p->index].Reg64 * p->scale;
    if (p->riprel)
        off += vp->Rip + p->len;
    off &= p->amask;
    /* The memory layer's checks and the exit's page (mem.c). */
    const WHV_X64_SEGMENT_REGISTER *sg = p->seg != FAST_NOREG ? &v[p->seg].Segment : NULL;
    uint64_t gpa;
    if (!mem_exit_gpa(mode, sg, off, size, in->mem_access, vp, mc->Gva, mc->Gpa, &gpa))
        return FAST_GENERAL;

    /* The instruction; then its registers in one set call, in the order
     * of the general commit (slot order: the register, RIP, RFLAGS). The
     * other operand: an immediate, or a register the batch holds (a
     * load's destination of 4 or 8 bytes is not fetched). */
    uint64_t src = p->src_imm ? p->src : (v[p->reg].Reg64 >> p->src_shift) & p->src;
    WHV_REGISTER_NAME names[3];
    WHV_REGISTER_VALUE out[3];
    unsigned n = 0;
    uint64_t val = 0, rip = emu_next_rip(mode, vp->Rip, p->len);
    const struct opnd *dst = &in->op[0];
    if (p->kind == FAST_STORE) {
        hr = mem_device(eh, ctx, gpa, size, true, &src);
        if (hr != S_OK)
            return failed(fc, 1u << 3, hr, "the memory callback failed");
        put_reg(names, out, &n, WHvX64RegisterRip, rip);
    } else if (p->kind == FAST_LOAD) {
        hr = mem_device(eh, ctx, gpa, size, false, &val);
        if (hr != S_OK)
            return failed(fc, 1u << 3, hr, "the memory callback failed");
        if (p->op)
            val = sign_extend(val, size);
        put_reg(names, out, &n, p->dst, gpr_merge(v[p->reg].Reg64, dst->size, dst->high8, val));
        put_reg(names, out, &n, WHvX64RegisterRip, rip);
    } else { /* FAST_ALU */
        uint64_t a, b;
        hr = mem_device(eh, ctx, gpa, size, false, &val);
        if (hr != S_OK)
            return failed(fc, 1u << 3, hr, "the memory callback failed");
        if (p->midx == 0) {
            a = val;
            b = src;
        } else {
            a = src;
            b = val;
        }
        uint32_t fl;
        uint64_t r = alu_compute((enum alu_op)p->op, a, b, rflags & FL_CF, dst->size, &fl) &
                     size_mask(dst->size);
        if (p->alu_write && p->midx == 0) {
            hr = mem_device(eh, ctx, gpa, size, true, &r);
            if (hr != S_OK)
                return failed(fc, 1u << 3, hr, "the memory callback failed");
        } else if (p->alu_write) {
            put_reg(names, out, &n, p->dst, gpr_merge(v[p->reg].Reg64, dst->size, dst->high8, r));
        }
        put_reg(names, out, &n, WHvX64RegisterRip, rip);
        uint64_t rf = rflags_merge(rflags, in->row, fl);
        if (rf != rflags)
            put_reg(names, out, &n, WHvX64RegisterRflags, rf);
    }
    return fast_set(eh, ctx, fc, names, n, out);
}

FAST_FLAT enum fast_result fast_io(struct emu_handle *eh, void *ctx, const WHV_VP_EXIT_CONTEXT *vp,
                         const WHV_X64_IO_PORT_ACCESS_CONTEXT *ioc, struct fast_call *fc)
{
    /* The contexts are read once: everything used after the port callback
     * is read into locals before it. */
    WHV_X64_IO_PORT_ACCESS_INFO ai = ioc->AccessInfo;
    uint64_t rip = vp->Rip, rax = ioc->Rax;
    uint16_t port = ioc->PortNumber;
    enum cpu_mode mode;
    const struct dcache_entry *d;
    if (ai.StringOp || !(d = fast_form(eh, vp, vp->Rflags, ioc->InstructionBytes,
                                       ioc->InstructionByteCount, &mode)))
        return FAST_NO;
    /* The exit must be the one this instruction makes (io_exit_matches). */
    const struct fast_plan *p = &d->plan;
    unsigned size = p->io_size;
    if ((p->kind != FAST_IN && p->kind != FAST_OUT) || ai.IsWrite != p->io_out ||
        ai.AccessSize != size || (p->io_imm && port != p->io_port))
        return FAST_NO;
    fc->d = d;
    fc->mode = mode;
    rip = emu_next_rip(mode, rip, d->in.len);
    uint32_t data = (uint32_t)rax;
    HRESULT hr = io_port_call(eh, ctx, port, size, p->io_out, &data);
    if (hr != S_OK)
        return failed(fc, 1u << 2, hr, "the I/O port callback failed");
    WHV_REGISTER_NAME names[2];
    WHV_REGISTER_VALUE out[2];
    unsigned n = 0;
    if (!p->io_out)
        put_reg(names, out, &n, WHvX64RegisterRax,
                gpr_merge(rax, size, false, data));
    put_reg(names, out, &n, WHvX64RegisterRip, rip);
    return fast_set(eh, ctx, fc, names, n, out);
}
