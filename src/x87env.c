/*
 * x87env.c - the x87 environment and state images: FLDENV/FNSTENV (D9 /4
 * /6: 14 bytes with a 16-bit operand size, else 28) and FRSTOR/FNSAVE
 * (DD /4 /6: the environment, then ST(0)-ST(7), 94 or 108 bytes), in the
 * protected-mode layouts (SDM Vol. 1 8.1.10, Figures 8-9 and 8-10; the
 * real and virtual-8086 layouts store linear pointers the register set
 * cannot give back, and are refused). The whole area is checked before the
 * first byte moves; registers are written after the last memory access.
 */
#include <string.h>

#include "emu.h"
#include "mem.h"
#include "x87.h"

/* The largest area: FNSAVE's 108 bytes. */
#define X87ENV_MAX 108u
#define X87ENV_REGS 80u

struct x87env {
    uint16_t fcw, fsw, ftw; /* ftw: the full tag word, 2 bits per physical register */
    uint16_t fcs, fds, fop;
    uint32_t fip, fdp;
};

/* The 2-bit tag of a valid register from its contents (SDM Vol. 1 8.1.7):
 * 00 valid, 01 zero, 10 special (NaN, infinity, denormal, unsupported). */
static unsigned env_tag_of(const uint8_t *v)
{
    unsigned exp = (unsigned)le_load(v + 8, 2) & 0x7FFF;
    uint64_t mant = le_load(v, 8);
    if (exp == 0)
        return mant == 0 ? 1 : 2;
    if (exp == 0x7FFF || !(mant >> 63))
        return 2;
    return 0;
}

/* The checks before any byte moves: #NM/#MF, the refused modes and
 * alignment checking, then the first and last pieces of the area (its
 * limit and both pages it may touch). */
static enum rc env_check(struct emu *e, const struct insn *in, bool waiting, unsigned size,
                         uint8_t intent, uint8_t *seg, uint64_t *off)
{
    TRY(x87_enter(e, waiting));
    if (e->mode == MODE_REAL || e->mode == MODE_V86)
        return emu_unsupported(e, "x87 environment in real or virtual-8086 mode (its layout "
                                  "holds linear pointers the register set does not)");
    if (e->cpl == 3 && e->vp->ExecutionState.Cr0Am && (vcpu_rflags(e) & FL_AC))
        return emu_unsupported(e, "x87 environment with alignment checking on");
    TRY(op_addr(e, in, 0, seg, off));
    return mem_check_area(e, *seg, *off, addr_mask(in->addrsize), size, intent);
}

/* The environment from the register set. In 64-bit mode it holds 64-bit
 * FIP/FDP as the FXSAVE64 image does, with no selectors: FCS and FDS are 0,
 * as after the processor's own FXRSTOR64/XRSTOR64. */
static void env_get(const struct emu *e, const struct x87 *s, struct x87env *v)
{
    const WHV_REGISTER_VALUE *c = &e->regs.v[VR_FPCS], *x = &e->regs.v[VR_MXCSR];
    unsigned top = (s->fsw >> 11) & 7;
    v->fcw = s->fcw;
    v->fsw = s->fsw;
    v->ftw = 0;
    for (unsigned r = 0; r < 8; r++) {
        unsigned t = (s->ftw >> r) & 1 ? env_tag_of(s->st[(r - top) & 7]) : 3;
        v->ftw |= (uint16_t)(t << (2 * r));
    }
    v->fop = c->FpControlStatus.LastFpOp & 0x7FF;
    if (e->mode == MODE_LONG64) {
        v->fip = (uint32_t)c->FpControlStatus.LastFpRip;
        v->fdp = (uint32_t)x->XmmControlStatus.LastFpRdp;
        v->fcs = v->fds = 0;
    } else {
        v->fip = c->FpControlStatus.LastFpEip;
        v->fcs = c->FpControlStatus.LastFpCs;
        v->fdp = x->XmmControlStatus.LastFpDp;
        v->fds = x->XmmControlStatus.LastFpDs;
    }
}

/* Writes FOP, FIP/FCS and FDP/FDS (the control, status and tag go with
 * x87_put). */
static void env_put_pointers(struct emu *e, const struct x87env *v)
{
    WHV_REGISTER_VALUE c = e->regs.v[VR_FPCS], x = e->regs.v[VR_MXCSR];
    c.FpControlStatus.LastFpOp = v->fop;
    if (e->mode == MODE_LONG64) {
        c.FpControlStatus.LastFpRip = v->fip;
        x.XmmControlStatus.LastFpRdp = v->fdp;
    } else {
        c.FpControlStatus.LastFpEip = v->fip;
        c.FpControlStatus.LastFpCs = v->fcs;
        c.FpControlStatus.Reserved2 = 0;
        x.XmmControlStatus.LastFpDp = v->fdp;
        x.XmmControlStatus.LastFpDs = v->fds;
        x.XmmControlStatus.Reserved = 0;
    }
    if (memcmp(&c, &e->regs.v[VR_FPCS], sizeof(c)) != 0)
        vcpu_set(e, VR_FPCS, &c);
    if (memcmp(&x, &e->regs.v[VR_MXCSR], sizeof(x)) != 0)
        vcpu_set(e, VR_MXCSR, &x);
}

static unsigned env_size(const struct insn *in)
{
    return in->opsize == 2 ? 14 : 28;
}

/* The protected-mode layouts: 16-bit words, or 32-bit fields whose
 * unused upper halves the processor stores as ones; FOP only in the
 * 32-bit one. */
static void env_store(const struct insn *in, const struct x87env *v, uint8_t *m)
{
    if (in->opsize == 2) {
        const uint16_t w[7] = {v->fcw, v->fsw, v->ftw, (uint16_t)v->fip, v->fcs,
                               (uint16_t)v->fdp, v->fds};
        for (unsigned i = 0; i < 7; i++)
            le_store(m + 2 * i, w[i], 2);
        return;
    }
    le_store(m, 0xFFFF0000u | v->fcw, 4);
    le_store(m + 4, 0xFFFF0000u | v->fsw, 4);
    le_store(m + 8, 0xFFFF0000u | v->ftw, 4);
    le_store(m + 12, v->fip, 4);
    le_store(m + 16, (uint32_t)v->fop << 16 | v->fcs, 4);
    le_store(m + 20, v->fdp, 4);
    le_store(m + 24, 0xFFFF0000u | v->fds, 4);
}

static void env_load(const struct insn *in, const uint8_t *m, struct x87env *v)
{
    v->fcw = (uint16_t)le_load(m, 2);
    if (in->opsize == 2) {
        v->fsw = (uint16_t)le_load(m + 2, 2);
        v->ftw = (uint16_t)le_load(m + 4, 2);
        v->fip = (uint32_t)le_load(m + 6, 2);
        v->fcs = (uint16_t)le_load(m + 8, 2);
        v->fdp = (uint32_t)le_load(m + 10, 2);
        v->fds = (uint16_t)le_load(m + 12, 2);
        v->fop = 0;
        return;
    }
    v->fsw = (uint16_t)le_load(m + 4, 2);
    v->ftw = (uint16_t)le_load(m + 8, 2);
    v->fip = (uint32_t)le_load(m + 12, 4);
    v->fcs = (uint16_t)le_load(m + 16, 2);
    v->fop = (uint16_t)(le_load(m + 18, 2) & 0x7FF);
    v->fdp = (uint32_t)le_load(m + 20, 4);
    v->fds = (uint16_t)le_load(m + 24, 2);
}

/* The loaded environment: a tag of 11 is empty, any other valid; ES and B
 * follow the loaded flags and masks. */
static void env_apply(struct emu *e, struct x87 *s, const struct x87env *v)
{
    env_put_pointers(e, v);
    /* A new TOP renames the registers: ST(i) is R((TOP + i) mod 8). */
    unsigned rot = ((unsigned)(v->fsw >> 11) - (unsigned)(s->fsw >> 11)) & 7;
    uint8_t old[8][10];
    memcpy(old, s->st, sizeof(old));
    for (unsigned i = 0; i < 8; i++)
        memcpy(s->st[i], old[(i + rot) & 7], 10);
    s->fcw = (uint16_t)((v->fcw & X87_FCW_BITS) | X87_FCW_ONES);
    s->fsw = v->fsw;
    s->ftw = 0;
    for (unsigned r = 0; r < 8; r++)
        if (((v->ftw >> (2 * r)) & 3) != 3)
            s->ftw |= (uint8_t)(1u << r);
    x87_summary(s);
    x87_put(e, s);
}

/* FLDENV and FRSTOR wait: a pending unmasked exception is #MF before
 * anything is read. */
static enum rc env_restore(struct emu *e, const struct insn *in, bool regs)
{
    struct x87 s;
    struct x87env v;
    uint8_t seg, m[X87ENV_MAX];
    uint64_t off;
    unsigned n = env_size(in), size = n + (regs ? X87ENV_REGS : 0);
    TRY(env_check(e, in, true, size, ACC_R, &seg, &off));
    TRY(mem_move_area(e, seg, off, addr_mask(in->addrsize), m, size, false));
    x87_get(e, &s);
    env_load(in, m, &v);
    env_apply(e, &s, &v);
    if (regs) {
        for (unsigned i = 0; i < 8; i++)
            memcpy(s.st[i], m + n + 10 * i, 10);
        x87_put(e, &s);
    }
    return RC_OK;
}

/* FNSTENV and FNSAVE do not wait. Afterwards FNSTENV masks every
 * exception (ES and B clear with them); FNSAVE initializes the FPU as
 * FNINIT does: FCW 037FH, FSW 0, every register empty, pointers and
 * opcode 0, register contents kept. */
static enum rc env_save(struct emu *e, const struct insn *in, bool regs)
{
    struct x87 s;
    struct x87env v;
    uint8_t seg, m[X87ENV_MAX];
    uint64_t off;
    unsigned n = env_size(in), size = n + (regs ? X87ENV_REGS : 0);
    TRY(env_check(e, in, false, size, ACC_W, &seg, &off));
    x87_get(e, &s);
    env_get(e, &s, &v);
    env_store(in, &v, m);
    if (regs)
        for (unsigned i = 0; i < 8; i++)
            memcpy(m + n + 10 * i, s.st[i], 10);
    TRY(mem_move_area(e, seg, off, addr_mask(in->addrsize), m, size, true));
    if (regs) {
        memset(&v, 0, sizeof(v));
        v.fcw = 0x037F;
        v.ftw = 0xFFFF;
        env_apply(e, &s, &v);
    } else {
        s.fcw |= X87_EXC;
        x87_summary(&s);
        x87_put(e, &s);
    }
    return RC_OK;
}

enum rc x87_fldenv(struct emu *e, const struct insn *in)
{
    return env_restore(e, in, false);
}

enum rc x87_frstor(struct emu *e, const struct insn *in)
{
    return env_restore(e, in, true);
}

enum rc x87_fnstenv(struct emu *e, const struct insn *in)
{
    return env_save(e, in, false);
}

enum rc x87_fnsave(struct emu *e, const struct insn *in)
{
    return env_save(e, in, true);
}
