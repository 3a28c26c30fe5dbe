/*
 * x87.c - x87 loads and stores of memory: FLD/FST/FSTP (m32, m64, m80),
 * FILD/FIST/FISTP/FISTTP, FLDCW/FNSTCW/FNSTSW. The FP registers are the
 * register set's FpMmx0-7, taken as ST(0)-ST(7) (stack-relative, the FXSAVE
 * image's order), FpTag the abridged tag of the physical registers R0-R7
 * (bit set = valid); FIP/FCS/FOP in FpControlStatus, FDP/FDS beside MXCSR.
 * Pure moves are done here in C; conversions that round run on the host FPU
 * (hostx87.h). Memory is accessed before any register is written.
 */
#include <string.h>

#include "emu.h"
#include "hostx87.h"
#include "mem.h"
#include "x87.h"


void x87_get(const struct emu *e, struct x87 *s)
{
    const WHV_X64_FP_CONTROL_STATUS_REGISTER *c = &e->regs.v[VR_FPCS].FpControlStatus;
    s->fcw = c->FpControl;
    s->fsw = c->FpStatus;
    s->ftw = c->FpTag;
    for (unsigned i = 0; i < 8; i++) {
        const WHV_REGISTER_VALUE *r = &e->regs.v[VR_MM0 + i];
        le_store(s->st[i], r->Reg128.Low64, 8);
        le_store(s->st[i] + 8, r->Reg128.High64, 2);
    }
}

/* Writes back the control, status and tag, and the ST registers that
 * changed. */
void x87_put(struct emu *e, const struct x87 *s)
{
    WHV_REGISTER_VALUE v = e->regs.v[VR_FPCS];
    v.FpControlStatus.FpControl = s->fcw;
    v.FpControlStatus.FpStatus = s->fsw;
    v.FpControlStatus.FpTag = s->ftw;
    if (memcmp(&v, &e->regs.v[VR_FPCS], sizeof(v)) != 0)
        vcpu_set(e, VR_FPCS, &v);
    for (unsigned i = 0; i < 8; i++) {
        WHV_REGISTER_VALUE r;
        memset(&r, 0, sizeof(r));
        r.Reg128.Low64 = le_load(s->st[i], 8);
        r.Reg128.High64 = le_load(s->st[i] + 8, 2);
        const WHV_REGISTER_VALUE *old = &e->regs.v[VR_MM0 + i];
        if (old->Reg128.Low64 != r.Reg128.Low64 ||
            (old->Reg128.High64 & 0xFFFF) != r.Reg128.High64)
            vcpu_set(e, VR_MM0 + i, &r);
    }
}

static unsigned x87_top(const struct x87 *s)
{
    return (s->fsw >> 11) & 7;
}

static bool x87_valid(const struct x87 *s, unsigned i)
{
    return (s->ftw >> ((x87_top(s) + i) & 7)) & 1;
}

/* ES (and B, its copy) follow the unmasked exception flags (SDM Vol. 1
 * 8.1.3.1): the host sets them when FLDCW unmasks a pending flag. */
void x87_summary(struct x87 *s)
{
    if (s->fsw & ~s->fcw & X87_EXC)
        s->fsw |= X87_ES | X87_B;
    else
        s->fsw &= (uint16_t) ~(X87_ES | X87_B);
}

/* The checks before an x87 instruction (SDM Vol. 1 8.6, Vol. 3 2.5):
 * CR0.EM or CR0.TS -> #NM; a waiting instruction with an unmasked exception
 * pending -> #MF with CR0.NE, else the external FERR# path, not emulated. */
enum rc x87_enter(struct emu *e, bool waiting)
{
    uint64_t cr0 = e->regs.v[VR_CR0].Reg64;
    if (cr0 & (CR0_EM | CR0_TS))
        return fault_nm(e);
    if (waiting && (e->regs.v[VR_FPCS].FpControlStatus.FpStatus & X87_ES)) {
        if (!(cr0 & CR0_NE))
            return emu_unsupported(e, "pending x87 exception with CR0.NE = 0 (FERR#)");
        return fault_mf(e);
    }
    if (!HOSTX87)
        return emu_unsupported(e, "x87 memory forms need an x86-64 GNU C build");
    return RC_OK;
}

/* FOP, FIP/FCS and FDP/FDS of a non-control instruction (SDM Vol. 1 8.1.8,
 * 8.1.9): in 64-bit mode RIP and the operand's offset, else EIP with CS and
 * the offset with its segment's selector. */
static enum rc x87_pointers(struct emu *e, const struct insn *in)
{
    uint8_t seg;
    uint64_t off;
    TRY(op_addr(e, in, 0, &seg, &off));
    WHV_REGISTER_VALUE c = e->regs.v[VR_FPCS], x = e->regs.v[VR_MXCSR];
    c.FpControlStatus.LastFpOp = (UINT16)(((in->opcode & 7u) << 8) | in->modrm);
    if (e->mode == MODE_LONG64) {
        c.FpControlStatus.LastFpRip = e->vp->Rip;
        x.XmmControlStatus.LastFpRdp = off;
    } else {
        c.FpControlStatus.LastFpEip = (UINT32)e->vp->Rip;
        c.FpControlStatus.LastFpCs = e->vp->Cs.Selector;
        c.FpControlStatus.Reserved2 = 0;
        x.XmmControlStatus.LastFpDp = (UINT32)off;
        x.XmmControlStatus.LastFpDs = vcpu_seg(e, seg)->Selector;
        x.XmmControlStatus.Reserved = 0;
    }
    vcpu_set(e, VR_FPCS, &c);
    if (memcmp(&x, &e->regs.v[VR_MXCSR], sizeof(x)) != 0)
        vcpu_set(e, VR_MXCSR, &x);
    return RC_OK;
}

/* Records exception flags; an unmasked one sets ES and B (reported as #MF
 * by the next waiting instruction). */
static void x87_raise(struct x87 *s, uint16_t flags)
{
    s->fsw |= flags;
    x87_summary(s);
}

static void x87_push(struct x87 *s, const uint8_t *v)
{
    unsigned top = (x87_top(s) + 7) & 7;
    memmove(s->st[1], s->st[0], 7 * 10);
    memcpy(s->st[0], v, 10);
    s->fsw = (uint16_t)((s->fsw & ~X87_TOP) | top << 11);
    s->ftw |= (uint8_t)(1u << top);
}

/* The popped register keeps its contents as ST(7), now empty. */
static void x87_pop(struct x87 *s)
{
    unsigned top = x87_top(s);
    uint8_t old[10];
    memcpy(old, s->st[0], 10);
    memmove(s->st[0], s->st[1], 7 * 10);
    memcpy(s->st[7], old, 10);
    s->ftw &= (uint8_t) ~(1u << top);
    s->fsw = (uint16_t)((s->fsw & ~X87_TOP) | ((top + 1) & 7) << 11);
}

static const uint8_t qnan_indefinite[10] = {0, 0, 0, 0, 0, 0, 0, 0xC0, 0xFF, 0xFF};

/* Pushes `v` (80 bits) with the stack-overflow check (SDM Vol. 1 8.5.1.1):
 * ST(7) valid -> #IS with C1 = 1; masked, the QNaN indefinite is pushed. */
static void x87_load(struct x87 *s, const uint8_t *v)
{
    s->fsw &= (uint16_t)~X87_C1;
    if (x87_valid(s, 7)) {
        s->fsw |= X87_C1;
        x87_raise(s, X87_IE | X87_SF);
        if (!(s->fcw & X87_IE))
            return;
        v = qnan_indefinite;
    }
    x87_push(s, v);
}

static unsigned mem_size(const struct insn *in)
{
    return in->op[0].size;
}

enum rc x87_fld(struct emu *e, const struct insn *in)
{
    struct x87 s;
    uint8_t seg, m[10] = {0}, v[10] = {0};
    uint64_t off;
    unsigned n = mem_size(in);
    TRY(x87_enter(e, true));
    TRY(op_addr(e, in, 0, &seg, &off));
    TRY(mem_read(e, seg, off, n, ACC_R, m));
    x87_get(e, &s);
    if (n == 10) {
        memcpy(v, m, 10); /* no conversion, no exception (SDM Vol. 2 FLD) */
    } else if (!x87_valid(&s, 7)) {
        uint16_t sw = hostx87_run(n == 4 ? HX_LD32 : HX_LD64, s.fcw | X87_EXC, m, v);
        uint16_t raised = sw & (X87_IE | X87_DE);
        uint16_t unmasked = raised & ~s.fcw;
        if (unmasked & X87_DE)
            return emu_unsupported(e, "FLD of a denormal with the denormal exception unmasked "
                                      "(whether the value is loaded differs by processor)");
        if (unmasked) { /* #IA of an SNaN: nothing is loaded */
            s.fsw &= (uint16_t)~X87_C1;
            x87_raise(&s, raised);
            TRY(x87_pointers(e, in));
            x87_put(e, &s);
            return RC_OK;
        }
        s.fsw |= raised;
    }
    x87_load(&s, v);
    TRY(x87_pointers(e, in));
    x87_put(e, &s);
    return RC_OK;
}

/* FBLD (DF /4): 18 packed BCD digits and a sign, converted exactly by the
 * host FPU (a non-decimal digit's result is the processor's own). */
enum rc x87_fbld(struct emu *e, const struct insn *in)
{
    struct x87 s;
    uint8_t seg, m[10], v[10] = {0};
    uint64_t off;
    TRY(x87_enter(e, true));
    TRY(op_addr(e, in, 0, &seg, &off));
    TRY(mem_read(e, seg, off, 10, ACC_R, m));
    x87_get(e, &s);
    if (!x87_valid(&s, 7)) {
        uint16_t raised = hostx87_run(HX_BLD, s.fcw | X87_EXC, m, v) & X87_EXC;
        if (raised & ~s.fcw)
            return emu_unsupported(e, "FBLD raised an unmasked exception");
        s.fsw |= raised;
    }
    x87_load(&s, v);
    TRY(x87_pointers(e, in));
    x87_put(e, &s);
    return RC_OK;
}

enum rc x87_fild(struct emu *e, const struct insn *in)
{
    struct x87 s;
    uint8_t seg, m[8] = {0}, v[10] = {0};
    uint64_t off;
    unsigned n = mem_size(in);
    TRY(x87_enter(e, true));
    TRY(op_addr(e, in, 0, &seg, &off));
    TRY(mem_read(e, seg, off, n, ACC_R, m));
    x87_get(e, &s);
    /* Every integer of 64 bits or fewer is exact in 80 bits. */
    int64_t i = (int64_t)sign_extend(le_load(m, n), n);
    if (i != 0) {
        uint64_t mag = i < 0 ? (uint64_t)0 - (uint64_t)i : (uint64_t)i;
        unsigned sh = 0;
        while (!(mag >> 63)) {
            mag <<= 1;
            sh++;
        }
        le_store(v, mag, 8);
        le_store(v + 8, (uint64_t)(16383 + 63 - sh) | (i < 0 ? 0x8000u : 0), 2);
    }
    x87_load(&s, v);
    TRY(x87_pointers(e, in));
    x87_put(e, &s);
    return RC_OK;
}

static const uint8_t bcd_indefinite[10] = {0, 0, 0, 0, 0, 0, 0, 0xC0, 0xFF, 0xFF};

/* The masked response to an empty ST(0) for a store of `n` bytes: the QNaN
 * indefinite, or the integer indefinite (SDM Vol. 1 8.2.3, 4.8.3.7). */
static void store_indefinite(uint8_t *out, unsigned n, bool integer)
{
    memset(out, 0, 10);
    if (integer && n == 10) {
        memcpy(out, bcd_indefinite, 10);
    } else if (integer) {
        out[n - 1] = 0x80;
    } else if (n == 4) {
        le_store(out, 0xFFC00000u, 4);
    } else if (n == 8) {
        le_store(out, 0xFFF8000000000000u, 8);
    } else {
        memcpy(out, qnan_indefinite, 10);
    }
}

/* FST/FSTP (D9 /2 /3, DD /2 /3, DB /7), FIST/FISTP/FISTTP (DF, DB, DD
 * /1 /2 /3, DF /7) and FBSTP (DF /6: rounded by RC to 18 BCD digits; out
 * of range is #IA, whose masked response stores the BCD indefinite). */
static enum rc x87_store(struct emu *e, const struct insn *in, bool integer, bool trunc, bool pop)
{
    struct x87 s;
    uint8_t seg, out[10] = {0};
    uint64_t off;
    unsigned n = mem_size(in);
    bool store = true;
    TRY(x87_enter(e, true));
    /* The destination is checked even when an unmasked exception then
     * suppresses the store: its faults come first. */
    TRY(op_addr(e, in, 0, &seg, &off));
    TRY(mem_check(e, seg, off, n, ACC_W));
    x87_get(e, &s);
    s.fsw &= (uint16_t)~X87_C1;
    if (!x87_valid(&s, 0)) {
        x87_raise(&s, X87_IE | X87_SF); /* underflow: C1 = 0 */
        store = (s.fcw & X87_IE) != 0;
        pop = pop && store;
        store_indefinite(out, n, integer);
    } else if (!integer && n == 10) {
        memcpy(out, s.st[0], 10);
    } else {
        enum hostx87_op op;
        if (integer && n == 10)
            op = HX_BST;
        else if (integer)
            op = (enum hostx87_op)((trunc ? HX_ISTT16 : HX_IST16) + (n == 2 ? 0 : n == 4 ? 1 : 2));
        else
            op = n == 4 ? HX_ST32 : HX_ST64;
        uint16_t sw = hostx87_run(op, s.fcw | X87_EXC, s.st[0], out);
        uint16_t raised = sw & X87_EXC, unmasked = raised & ~s.fcw;
        if (!(s.fcw & X87_UE) && !integer && x87_tiny(s.st[0], n))
            return emu_unsupported(e, "x87 store of a tiny value with underflow unmasked "
                                      "(tininess detection is not emulated)");
        if (unmasked & (X87_IE | X87_OE)) {
            /* #IA or #O to memory: nothing stored, nothing popped, and
             * overflow reports no inexact result (SDM Vol. 1 8.5.4). */
            x87_raise(&s, unmasked & X87_IE ? X87_IE : X87_OE);
            store = pop = false;
        } else {
            s.fsw |= sw & X87_C1; /* the round-up indicator */
            x87_raise(&s, raised);
        }
    }
    if (store)
        TRY(mem_write(e, seg, off, n, ACC_W, out));
    if (pop)
        x87_pop(&s);
    TRY(x87_pointers(e, in));
    x87_put(e, &s);
    return RC_OK;
}

enum rc x87_fst(struct emu *e, const struct insn *in)
{
    return x87_store(e, in, false, false, in->opcode == 0xDB || (in->reg & 7) == 3);
}

enum rc x87_fist(struct emu *e, const struct insn *in)
{
    unsigned r = in->reg & 7;
    return x87_store(e, in, true, r == 1, r != 2);
}

enum rc x87_fldcw(struct emu *e, const struct insn *in)
{
    struct x87 s;
    uint64_t v;
    TRY(x87_enter(e, true));
    TRY(op_read(e, in, 0, &v));
    x87_get(e, &s);
    s.fcw = (uint16_t)((v & X87_FCW_BITS) | X87_FCW_ONES);
    x87_summary(&s);
    x87_put(e, &s);
    return RC_OK;
}

enum rc x87_fnstcw(struct emu *e, const struct insn *in)
{
    TRY(x87_enter(e, false));
    return op_write(e, in, 0, e->regs.v[VR_FPCS].FpControlStatus.FpControl);
}

enum rc x87_fnstsw(struct emu *e, const struct insn *in)
{
    TRY(x87_enter(e, false));
    return op_write(e, in, 0, e->regs.v[VR_FPCS].FpControlStatus.FpStatus);
}

/* Whether a finite non-zero 80-bit value is below the smallest normal of
 * an n-byte format, before rounding (conservatively: one binade more). */
bool x87_tiny(const uint8_t *v, unsigned n)
{
    unsigned exp = (unsigned)le_load(v + 8, 2) & 0x7FFF;
    uint64_t mant = le_load(v, 8);
    if (exp == 0x7FFF || mant == 0)
        return false;
    int e2 = (int)exp - 16383;
    return e2 < (n == 4 ? -125 : -1021);
}
