/*
 * far.c - far transfers whose pointer or stack is in memory: JMP and CALL
 * through m16:16/m16:32 (FF /5, FF /3), far RET (CB, CA iw) and IRET (CF),
 * in real, virtual-8086, protected, compatibility and 64-bit mode, with
 * the code and stack segment checks and their faults (SDM Vol. 2 CALL,
 * JMP, RET, IRET; Vol. 3 5.8). Descriptors come through seg.c; the frame
 * is read or written before any register changes, and CS, SS, rSP,
 * RFLAGS and the new RIP (e->branch_rip) are written last. What needs a
 * TSS (gates to other privilege levels, task switches) or where
 * processors differ is refused.
 */
#include "emu.h"
#include "mem.h"

#define FAR_L (1ull << 53) /* 64-bit code segment */
#define FAR_D (1ull << 54)

static bool far_lma(const struct emu *e)
{
    return e->mode == MODE_COMPAT16 || e->mode == MODE_COMPAT32 || e->mode == MODE_LONG64;
}

static bool far_real(const struct emu *e)
{
    return e->mode == MODE_REAL || e->mode == MODE_V86;
}

/* CS after a load of sel in real mode (limit and attributes stay) or
 * virtual-8086 mode (a 64 KiB DPL 3 segment). */
static void far_cs_real(struct emu *e, uint16_t sel, WHV_X64_SEGMENT_REGISTER *cs)
{
    *cs = *vcpu_seg(e, SEG_CS);
    if (e->mode == MODE_V86) {
        cs->Limit = 0xFFFF;
        cs->Attributes = 0xF3;
    }
    cs->Selector = sel;
    cs->Base = (uint64_t)sel << 4;
}

/* The offset of a transfer into `cs`: cut to the operand size (and to 32
 * bits outside 64-bit code), then within the limit, or canonical in
 * 64-bit code; else #GP(0). */
static enum rc far_check_rip(struct emu *e, const WHV_X64_SEGMENT_REGISTER *cs, unsigned opsize,
                             uint64_t *rip)
{
    *rip &= size_mask(opsize);
    if (!(far_lma(e) && cs->Long)) {
        *rip &= 0xFFFFFFFFu;
        return *rip > cs->Limit ? fault_gp(e, 0) : RC_OK;
    }
    if (emu_canonical(*rip, 48))
        return RC_OK;
    bool la57;
    TRY(vcpu_la57(e, &la57));
    return la57 && emu_canonical(*rip, 57) ? RC_OK : fault_gp(e, 0);
}

/* Two checks whose faults processors order differently (an AMD processor
 * checks the new RIP before the return's stack segment and before the
 * room for a far CALL's frame; the SDM gives the other order): with both
 * failing the instruction is refused; else the one that fails counts.
 * `first` is the result of the first check, its fault saved in *f. */
static enum rc far_either(struct emu *e, enum rc first, const struct fault *f, enum rc second)
{
    if (first == RC_FAULT && second == RC_FAULT)
        return emu_unsupported(e, "a far transfer whose new RIP and stack both fault (processors "
                                  "differ in which fault they raise)");
    if (first == RC_FAULT) {
        e->fault = *f;
        return RC_FAULT;
    }
    return second;
}

/* Stack slot i (of `size` bytes) above (up) or below rSP, wrapped to the
 * stack's width. */
static uint64_t far_slot(const struct emu *e, uint64_t sp, unsigned size, unsigned i, bool up)
{
    uint64_t m = stack_addr_mask(e);
    return (up ? sp + (uint64_t)i * size : sp - (uint64_t)(i + 1) * size) & m;
}

/* Reads n slots from SS:sp up, each its own access (#SS(0) beyond the
 * limit or non-canonical, #PF). */
static enum rc far_pop(struct emu *e, uint64_t sp, unsigned size, unsigned n, uint64_t *v)
{
    for (unsigned i = 0; i < n; i++)
        TRY(mem_read_val(e, SEG_SS, far_slot(e, sp, size, i, true), size, ACC_R, &v[i]));
    return RC_OK;
}

/* rSP moved by `delta` within the stack's width. */
static uint64_t far_sp_add(const struct emu *e, uint64_t sp, uint64_t delta)
{
    uint64_t m = stack_addr_mask(e);
    return (sp & ~m) | ((sp + delta) & m);
}

static void far_set_seg(struct emu *e, unsigned sreg, const WHV_X64_SEGMENT_REGISTER *s)
{
    WHV_REGISTER_VALUE v;
    v.Reg128.Low64 = 0;
    v.Reg128.High64 = 0;
    v.Segment = *s;
    vcpu_set(e, VR_SEG0 + sreg, &v);
}

/* The code segment checks of JMP and CALL to sel at the current CPL:
 * #GP(0) for a null selector, #GP(sel) for what is not a suitable code
 * segment, #NP(sel) when it is not present. Gates and TSSs are refused. */
static enum rc far_code_target(struct emu *e, uint16_t sel, uint64_t *d, uint64_t *addr)
{
    uint16_t ec = sel & 0xFFFC;
    unsigned cpl = e->cpl;
    if (ec == 0)
        return fault_gp(e, 0);
    TRY(seg_desc_read(e, sel, d, addr));
    unsigned type = seg_desc_type(*d), dpl = seg_desc_dpl(*d);
    if (!seg_desc_s(*d)) {
        bool gate = far_lma(e) ? type == 0xC
                               : type == 4 || type == 0xC || type == 5 || type == 1 || type == 9;
        if (gate)
            return emu_unsupported(e, "a far JMP or CALL through a call gate, task gate or TSS");
        return fault_gp(e, ec);
    }
    if (!(type & 8) || (far_lma(e) && (*d & FAR_L) && (*d & FAR_D)))
        return fault_gp(e, ec);
    if ((type & 4) ? dpl > cpl : ((sel & 3u) > cpl || dpl != cpl))
        return fault_gp(e, ec);
    if (!seg_desc_p(*d))
        return fault_np(e, ec);
    return RC_OK;
}

/* JMP Mp (FF /5) and CALL Mp (FF /3). With REX.W an AMD processor reads
 * m16:32 where the SDM gives m16:64, so that form is refused. */
static enum rc far_jmp_call(struct emu *e, const struct insn *in, bool call)
{
    unsigned size = in->opsize;
    uint8_t seg, buf[10];
    uint64_t off, d = 0, daddr = 0;
    WHV_X64_SEGMENT_REGISTER cs;
    if (size == 8)
        return emu_unsupported(e, "a far JMP or CALL with REX.W (m16:64 on some processors, "
                                  "m16:32 on others)");
    TRY(op_addr(e, in, 0, &seg, &off));
    TRY(mem_read(e, seg, off, size + 2, ACC_R, buf));
    uint64_t rip = le_load(buf, size);
    uint16_t sel = (uint16_t)le_load(buf + size, 2);
    bool real = far_real(e);
    if (real) {
        /* The SDM checks a 32-bit offset against 64 KiB here, processors
         * against the CS limit: the same unless real mode has a larger one. */
        if (e->mode == MODE_REAL && call && size == 4 && vcpu_seg(e, SEG_CS)->Limit != 0xFFFF)
            return emu_unsupported(e, "a 32-bit far CALL in real mode with a CS limit other "
                                      "than 64 KiB");
        far_cs_real(e, sel, &cs);
    } else {
        TRY(far_code_target(e, sel, &d, &daddr));
        seg_from_desc(d, (uint16_t)((sel & ~3u) | e->cpl), &cs);
    }
    uint64_t sp = vcpu_gpr(e, GPR_RSP);
    /* An AMD processor pushes a CALL's frame into a 64-bit/compatibility
     * mode switch with the new mode's stack width. */
    if (call && far_lma(e) && cs.Long != vcpu_seg(e, SEG_CS)->Long)
        return emu_unsupported(e, "a far CALL between 64-bit and compatibility mode (the stack "
                                  "width of the pushes differs among processors)");
    enum rc stk = RC_OK;
    struct fault f = {0};
    for (unsigned i = 0; call && i < 2 && stk == RC_OK; i++) /* room for the frame */
        stk = mem_check(e, SEG_SS, far_slot(e, sp, size, i, false), size, ACC_W);
    if (stk != RC_OK && stk != RC_FAULT)
        return stk;
    f = e->fault;
    /* Real and virtual-8086 mode check the offset against the CS limit
     * the instruction runs with, which the load does not change. */
    TRY(far_either(e, stk, &f, far_check_rip(e, real ? vcpu_seg(e, SEG_CS) : &cs, size, &rip)));
    if (!real) {
        TRY(seg_desc_touch(e, &d, daddr));
        seg_from_desc(d, cs.Selector, &cs);
    }
    if (call) {
        uint64_t ret = (e->vp->Rip + in->len) & size_mask(size);
        TRY(mem_write_val(e, SEG_SS, far_slot(e, sp, size, 0, false), size, ACC_W,
                          vcpu_seg(e, SEG_CS)->Selector));
        TRY(mem_write_val(e, SEG_SS, far_slot(e, sp, size, 1, false), size, ACC_W, ret));
        vcpu_set_gpr(e, GPR_RSP, far_sp_add(e, sp, (uint64_t)0 - 2 * size));
    }
    far_set_seg(e, SEG_CS, &cs);
    e->branch = true;
    e->branch_rip = rip;
    return RC_OK;
}

enum rc far_jmp(struct emu *e, const struct insn *in)
{
    return far_jmp_call(e, in, false);
}

enum rc far_call(struct emu *e, const struct insn *in)
{
    return far_jmp_call(e, in, true);
}

/* The checks of a return to code segment sel (RET and IRET): RPL >= CPL,
 * a code segment whose DPL suits the RPL, present. */
static enum rc far_code_return(struct emu *e, uint16_t sel, uint64_t *d, uint64_t *addr)
{
    uint16_t ec = sel & 0xFFFC;
    unsigned rpl = sel & 3u;
    if (ec == 0)
        return fault_gp(e, 0);
    TRY(seg_desc_read(e, sel, d, addr));
    unsigned type = seg_desc_type(*d), dpl = seg_desc_dpl(*d);
    if (!seg_desc_s(*d) || !(type & 8) || rpl < e->cpl)
        return fault_gp(e, ec);
    if ((type & 4) ? dpl > rpl : dpl != rpl)
        return fault_gp(e, ec);
    if (far_lma(e) && (*d & FAR_L) && (*d & FAR_D))
        return fault_gp(e, ec);
    if (!seg_desc_p(*d))
        return fault_np(e, ec);
    return RC_OK;
}

/* The stack segment a return to privilege `rpl` loads, checked: #GP(0)
 * for a null selector, #GP(sel) unless a writable data segment with RPL
 * and DPL = rpl, #SS(sel) when not present. A null SS in 64-bit code is
 * refused (processors differ in what it leaves). */
static enum rc far_stack_return(struct emu *e, uint16_t sel, unsigned rpl, bool to64,
                                uint64_t *desc, uint64_t *addr)
{
    uint16_t ec = sel & 0xFFFC;
    if (ec == 0) {
        if (e->mode == MODE_LONG64 && to64 && rpl != 3)
            return emu_unsupported(e, "a return that loads a null SS in 64-bit mode (the "
                                      "attributes it leaves differ among processors)");
        return fault_gp(e, 0);
    }
    TRY(seg_desc_read(e, sel, desc, addr));
    uint64_t d = *desc;
    unsigned type = seg_desc_type(d);
    if ((sel & 3u) != rpl || !seg_desc_s(d) || (type & 8) || !(type & 2) ||
        seg_desc_dpl(d) != rpl)
        return fault_gp(e, ec);
    if (!seg_desc_p(d))
        return fault_ss(e, ec);
    return RC_OK;
}

/* A return to an outer level makes ES, DS, FS and GS unusable when they
 * hold data or non-conforming code more privileged than the new CPL. */
static enum rc far_null_segs(struct emu *e, unsigned cpl, WHV_X64_SEGMENT_REGISTER *out,
                             bool *clear)
{
    static const uint8_t regs[4] = {SEG_ES, SEG_DS, SEG_FS, SEG_GS};
    for (unsigned i = 0; i < 4; i++) {
        const WHV_X64_SEGMENT_REGISTER *s = vcpu_seg(e, regs[i]);
        unsigned type = s->Attributes & 0xF, dpl = (s->Attributes >> 5) & 3;
        clear[i] = false;
        if ((s->Selector & 0xFFFC) == 0) {
            if (s->Selector != 0)
                return emu_unsupported(e, "a return to an outer level with a null data "
                                          "segment selector whose RPL is not 0");
            continue;
        }
        if (dpl >= cpl || (s->NonSystemSegment && (type & 0xC) == 0xC))
            continue;
        if (far_lma(e) && regs[i] >= SEG_FS)
            return emu_unsupported(e, "a return to an outer level that makes FS or GS unusable "
                                      "in IA-32e mode (whether the base is kept differs among "
                                      "processors)");
        clear[i] = true;
        out[i].Selector = 0;
        out[i].Base = 0;
        out[i].Limit = 0;
        out[i].Attributes = 0;
    }
    return RC_OK;
}

/* The registers a protected-mode return leaves: CS, rSP, and for a
 * stack switch SS and the data segments it nulls. */
struct far_ret {
    WHV_X64_SEGMENT_REGISTER cs, ss, data[4];
    bool load_ss, clear[4];
    uint64_t rip, rsp, ss_desc, ss_addr;
};

static void far_ret_commit(struct emu *e, const struct far_ret *r)
{
    static const uint8_t regs[4] = {SEG_ES, SEG_DS, SEG_FS, SEG_GS};
    for (unsigned i = 0; i < 4; i++)
        if (r->clear[i])
            far_set_seg(e, regs[i], &r->data[i]);
    if (r->load_ss)
        far_set_seg(e, SEG_SS, &r->ss);
    far_set_seg(e, SEG_CS, &r->cs);
    vcpu_set_gpr(e, GPR_RSP, r->rsp);
    e->branch = true;
    e->branch_rip = r->rip;
}

/* The accessed bits of the new CS (and SS), once every check passed. */
static enum rc far_touch(struct emu *e, struct far_ret *r, uint64_t *d, uint64_t daddr,
                         uint16_t sel)
{
    TRY(seg_desc_touch(e, d, daddr));
    seg_from_desc(*d, sel, &r->cs);
    if (r->load_ss) {
        TRY(seg_desc_touch(e, &r->ss_desc, r->ss_addr));
        seg_from_desc(r->ss_desc, r->ss.Selector, &r->ss);
    }
    return RC_OK;
}

/* The new stack of a return that pops SS:rSP from SS:at. */
static enum rc far_new_stack(struct emu *e, struct far_ret *r, uint64_t at, unsigned size,
                             unsigned rpl)
{
    uint64_t v[2];
    bool to64 = far_lma(e) && r->cs.Long;
    TRY(far_pop(e, at, size, 2, v));
    enum rc ss = far_stack_return(e, (uint16_t)v[1], rpl, to64, &r->ss_desc, &r->ss_addr);
    if (ss != RC_OK && ss != RC_FAULT)
        return ss;
    struct fault f = e->fault;
    TRY(far_either(e, ss, &f, far_check_rip(e, &r->cs, size, &r->rip)));
    r->load_ss = true;
    seg_from_desc(r->ss_desc, (uint16_t)v[1], &r->ss);
    if (size == 2 || (!to64 && !r->ss.Default))
        return emu_unsupported(e, "a return to a 16-bit stack, or with a 16-bit operand size, "
                                  "that loads SS:eSP (which bits of ESP it loads differs)");
    r->rsp = v[0];
    if (rpl > e->cpl)
        TRY(far_null_segs(e, rpl, r->data, r->clear));
    return RC_OK;
}

/* RET far (CB) and RET far imm16 (CA). */
enum rc far_ret(struct emu *e, const struct insn *in)
{
    unsigned size = in->opsize;
    uint64_t imm = in->nops ? in->op[0].imm : 0, sp = vcpu_gpr(e, GPR_RSP), v[2];
    struct far_ret r = {0};
    TRY(far_pop(e, sp, size, 2, v));
    uint16_t sel = (uint16_t)v[1];
    r.rip = v[0];
    if (far_real(e)) {
        TRY(far_check_rip(e, vcpu_seg(e, SEG_CS), size, &r.rip));
        far_cs_real(e, sel, &r.cs);
        r.rsp = far_sp_add(e, sp, 2 * size + imm);
        far_ret_commit(e, &r);
        return RC_OK;
    }
    uint64_t d, daddr;
    unsigned rpl = sel & 3u;
    TRY(far_code_return(e, sel, &d, &daddr));
    seg_from_desc(d, sel, &r.cs);
    if (rpl > e->cpl)
        TRY(far_new_stack(e, &r, far_sp_add(e, sp, 2 * size + imm), size, rpl));
    TRY(far_check_rip(e, &r.cs, size, &r.rip));
    TRY(far_touch(e, &r, &d, daddr, sel));
    if (r.load_ss) {
        /* The imm16 releases parameters on the new stack too. */
        uint64_t m = (far_lma(e) && r.cs.Long) ? ~(uint64_t)0 : 0xFFFFFFFFu;
        r.rsp = (r.rsp + imm) & m;
        e->cpl = (uint8_t)rpl;
    } else {
        r.rsp = far_sp_add(e, sp, 2 * size + imm);
    }
    far_ret_commit(e, &r);
    return RC_OK;
}

/* Which RFLAGS bits a protected-mode IRET loads at CPL `cpl`. */
static uint64_t iret_mask(const struct emu *e, unsigned size)
{
    uint64_t old = vcpu_rflags(e), m = FL_OSZAPC | FL_TF | FL_DF | FL_NT;
    unsigned iopl = (unsigned)(old >> 12) & 3;
    if (size >= 4)
        m |= FL_RF | FL_AC | FL_ID;
    if (e->cpl <= iopl)
        m |= FL_IF;
    if (e->cpl == 0) {
        m |= FL_IOPL;
        if (size >= 4)
            m |= FL_VIF | FL_VIP;
    }
    return m;
}

/* IRET unblocks NMIs: the VP's NMI mask is cleared when it is set. */
static void iret_done(struct emu *e, uint64_t rflags, unsigned size)
{
    vcpu_set_rflags(e, rflags);
    e->rf_loaded = size >= 4;
    WHV_REGISTER_VALUE v = e->regs.v[VR_INT_STATE];
    if (v.InterruptState.NmiMasked) {
        v.InterruptState.NmiMasked = 0;
        vcpu_set(e, VR_INT_STATE, &v);
    }
}

/* IRET in real mode and virtual-8086 mode (IOPL 3; below it #GP(0), or
 * the CR4.VME rules, refused). */
static enum rc iret_real(struct emu *e, unsigned size)
{
    uint64_t old = vcpu_rflags(e), sp = vcpu_gpr(e, GPR_RSP), v[3], fl;
    bool v86 = e->mode == MODE_V86;
    if (v86 && ((old >> 12) & 3) != 3) {
        if (e->regs.v[VR_CR4].Reg64 & CR4_VME)
            return emu_unsupported(e, "IRET in virtual-8086 mode with IOPL < 3 and CR4.VME");
        return fault_gp(e, 0);
    }
    struct far_ret r = {0};
    TRY(far_pop(e, sp, size, 3, v));
    r.rip = v[0];
    TRY(far_check_rip(e, vcpu_seg(e, SEG_CS), size, &r.rip));
    far_cs_real(e, (uint16_t)v[1], &r.cs);
    /* VM, VIF and VIP stay; virtual-8086 mode keeps IOPL too. */
    uint64_t keep = size == 4 ? FL_VM | FL_VIF | FL_VIP : ~(uint64_t)0xFFFF;
    if (v86)
        keep |= FL_IOPL;
    uint64_t load = size == 4 ? 0x257FD5u : 0x7FD5u;
    fl = (old & keep) | (v[2] & load & ~keep) | 2;
    r.rsp = far_sp_add(e, sp, 3 * size);
    far_ret_commit(e, &r);
    iret_done(e, fl, size);
    return RC_OK;
}

/* IRET, IRETD, IRETQ (CF). */
enum rc far_iret(struct emu *e, const struct insn *in)
{
    unsigned size = in->opsize;
    if (far_real(e))
        return iret_real(e, size);
    uint64_t old = vcpu_rflags(e), sp = vcpu_gpr(e, GPR_RSP), v[3];
    if (old & FL_NT) {
        if (far_lma(e))
            return fault_gp(e, 0);
        return emu_unsupported(e, "IRET with RFLAGS.NT set (a task return)");
    }
    struct far_ret r = {0};
    TRY(far_pop(e, sp, size, 3, v));
    if (!far_lma(e) && size == 4 && (v[2] & FL_VM) && e->cpl == 0)
        return emu_unsupported(e, "IRET to virtual-8086 mode");
    uint16_t sel = (uint16_t)v[1];
    unsigned rpl = sel & 3u;
    uint64_t d, daddr;
    r.rip = v[0];
    TRY(far_code_return(e, sel, &d, &daddr));
    seg_from_desc(d, sel, &r.cs);
    if (e->mode == MODE_LONG64 || rpl > e->cpl)
        TRY(far_new_stack(e, &r, far_sp_add(e, sp, 3 * size), size, rpl));
    TRY(far_check_rip(e, &r.cs, size, &r.rip));
    TRY(far_touch(e, &r, &d, daddr, sel));
    uint64_t m = iret_mask(e, size);
    uint64_t fl = (old & ~m) | (v[2] & m) | 2;
    if (!r.load_ss)
        r.rsp = far_sp_add(e, sp, 3 * size);
    e->cpl = (uint8_t)rpl;
    far_ret_commit(e, &r);
    iret_done(e, fl, size);
    return RC_OK;
}

/* BOUND Gv, Ma (62, outside 64-bit mode): #BR when the signed index is
 * below the lower or above the upper bound. The bounds are two reads of
 * the operand size, as the host CPU makes them: each aligned on its own
 * for #AC, the upper one's offset wrapped at the address size. */
enum rc far_bound(struct emu *e, const struct insn *in)
{
    unsigned size = in->opsize;
    uint8_t seg;
    uint64_t off, idx, lo_v, hi_v;
    TRY(op_read(e, in, 0, &idx));
    TRY(op_addr(e, in, 1, &seg, &off));
    TRY(mem_read_val(e, seg, off, size, ACC_R, &lo_v));
    TRY(mem_read_val(e, seg, (off + size) & addr_mask(in->addrsize), size, ACC_R, &hi_v));
    int64_t i = (int64_t)sign_extend(idx, size);
    int64_t lo = (int64_t)sign_extend(lo_v, size);
    int64_t hi = (int64_t)sign_extend(hi_v, size);
    if (i < lo || i > hi)
        return fault_raise(e, VEC_BR, false, 0);
    return RC_OK;
}

/* ARPL Ew, Gw (63, outside 64-bit mode; #UD in real and virtual-8086
 * mode): raises the destination's RPL to the source's, ZF says whether
 * it did. A memory destination is read as a read (a read-only segment or
 * page faults only when the RPL changes, as the host CPU shows) and
 * written only when it changes. */
enum rc far_arpl(struct emu *e, const struct insn *in)
{
    uint64_t dst, src;
    uint8_t seg = 0;
    uint64_t off = 0;
    bool mem = in->op[0].type == OPND_MEM;
    if (far_real(e))
        return fault_ud(e);
    if (mem) {
        TRY(op_addr(e, in, 0, &seg, &off));
        TRY(mem_read_val(e, seg, off, 2, ACC_R, &dst));
    } else {
        TRY(op_read(e, in, 0, &dst));
    }
    TRY(op_read(e, in, 1, &src));
    bool adjust = (dst & 3) < (src & 3);
    uint64_t nv = (dst & ~3ull) | (src & 3);
    if (adjust && mem)
        TRY(mem_write_val(e, seg, off, 2, ACC_W, nv));
    else if (adjust)
        TRY(op_write(e, in, 0, nv));
    flags_set(e, in, adjust ? FL_ZF : 0);
    return RC_OK;
}
