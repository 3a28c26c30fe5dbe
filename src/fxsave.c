/*
 * fxsave.c - FXSAVE and FXRSTOR (0F AE /0 /1): the 512-byte image of the
 * x87, MXCSR and XMM state, in the 64-bit layout (REX.W: 64-bit FIP and
 * FDP) or the other one (32-bit offsets with FCS and FDS). XMM8-15 are
 * saved only in 64-bit mode; bytes 464-511 are never written. The whole
 * area is translated before the first byte moves; the pieces go in
 * ascending order. The register set holds FIP/FDP as the 64-bit image
 * does; the 32-bit layout stores their low 32 bits and the selectors
 * above them.
 */
#include <string.h>

#include "emu.h"
#include "mem.h"
#include "x87.h"

#define MXCSR_MASK_DEFAULT 0xFFBFu

/* The common checks: #NM, the features that make the layout implementation
 * dependent, 16-byte alignment (#GP(0); with alignment checking on, some
 * processors raise #AC instead: refused), then every page of the area. */
static enum rc fx_check(struct emu *e, const struct insn *in, uint8_t intent, uint8_t *seg,
                        uint64_t *off, unsigned *nxmm)
{
    TRY(x87_enter(e, false));
    if (!(e->regs.v[VR_CR4].Reg64 & CR4_OSFXSR))
        return emu_unsupported(e, "FXSAVE/FXRSTOR with CR4.OSFXSR = 0 (implementation dependent)");
    if ((e->regs.v[VR_EFER].Reg64 & EFER_FFXSR) && e->mode == MODE_LONG64 && e->cpl == 0)
        return emu_unsupported(e, "FXSAVE/FXRSTOR with EFER.FFXSR (fast form) at CPL 0");
    TRY(op_addr(e, in, 0, seg, off));
    /* The segment check of the first dword (FCW, FSW) comes before the
     * alignment check, that of the rest after it, as the host CPU orders
     * them: a misaligned SS operand below an expand-down limit, or with
     * fewer than 4 bytes below the limit, raises #SS(0); one that runs
     * past the limit 6 or more bytes in raises #GP(0) for the alignment
     * (5 bytes in has not been seen). */
    TRY(mem_seg_check(e, *seg, *off, 4, intent));
    uint64_t base = (e->mode != MODE_LONG64 || *seg == SEG_FS || *seg == SEG_GS)
                        ? vcpu_seg(e, *seg)->Base
                        : 0;
    if ((base + *off) & (X87_FXSAVE_ALIGN - 1)) {
        if (e->cpl == 3 && e->vp->ExecutionState.Cr0Am && (vcpu_rflags(e) & FL_AC))
            return emu_unsupported(e, "misaligned FXSAVE area with alignment checking on");
        return fault_gp(e, 0);
    }
    /* The operand is all 512 bytes: its first and last pieces cover its
     * limit and both pages it may touch. */
    TRY(mem_check_area(e, *seg, *off, addr_mask(in->addrsize), X87_FXSAVE_SIZE, intent));
    *nxmm = e->mode == MODE_LONG64 ? 16 : 8;
    return RC_OK;
}

enum rc fx_save(struct emu *e, const struct insn *in)
{
    uint8_t seg, img[464];
    uint64_t off;
    unsigned nxmm;
    TRY(fx_check(e, in, ACC_W, &seg, &off, &nxmm));
    memset(img, 0, sizeof(img));
    const WHV_REGISTER_VALUE *c = &e->regs.v[VR_FPCS], *x = &e->regs.v[VR_MXCSR];
    le_store(img, c->Reg128.Low64, 8);
    le_store(img + 8, c->Reg128.High64, 8);
    le_store(img + 16, x->Reg128.Low64, 8);
    le_store(img + 24, x->Reg128.High64, 8);
    img[5] = 0;
    if (!(in->rex & 8)) {
        /* The 32-bit layout: offsets and selectors. In 64-bit mode the
         * register set holds 64-bit pointers and no selectors; FCS and FDS
         * are stored as 0, as processors that deprecate them do (and AMD's). */
        memset(img + 14, 0, 2);
        memset(img + 22, 0, 2);
        if (e->mode == MODE_LONG64) {
            memset(img + 12, 0, 2);
            memset(img + 20, 0, 2);
        }
    }
    if ((uint32_t)(x->Reg128.High64 >> 32) == 0)
        le_store(img + 28, MXCSR_MASK_DEFAULT, 4);
    for (unsigned i = 0; i < 8; i++) {
        le_store(img + 32 + 16 * i, e->regs.v[VR_MM0 + i].Reg128.Low64, 8);
        le_store(img + 40 + 16 * i, e->regs.v[VR_MM0 + i].Reg128.High64 & 0xFFFF, 2);
    }
    for (unsigned i = 0; i < nxmm; i++) {
        le_store(img + 160 + 16 * i, e->regs.v[VR_XMM0 + i].Reg128.Low64, 8);
        le_store(img + 168 + 16 * i, e->regs.v[VR_XMM0 + i].Reg128.High64, 8);
    }
    /* Outside 64-bit mode XMM8-15 do not exist: bytes 288-415 are not
     * written, like bytes 416-463. */
    return mem_move_area(e, seg, off, addr_mask(in->addrsize), img, nxmm == 16 ? 416 : 288, true);
}

enum rc fx_rstor(struct emu *e, const struct insn *in)
{
    uint8_t seg, img[416];
    uint64_t off;
    unsigned nxmm;
    TRY(fx_check(e, in, ACC_R, &seg, &off, &nxmm));
    TRY(mem_move_area(e, seg, off, addr_mask(in->addrsize), img, nxmm == 16 ? 416 : 288,
                      false));
    WHV_REGISTER_VALUE c = e->regs.v[VR_FPCS], x = e->regs.v[VR_MXCSR];
    uint32_t mask = (uint32_t)(x.Reg128.High64 >> 32);
    uint32_t mxcsr = (uint32_t)le_load(img + 24, 4);
    if (mxcsr & ~(mask ? mask : MXCSR_MASK_DEFAULT))
        return fault_gp(e, 0);
    c.Reg128.Low64 = le_load(img, 8);
    c.FpControlStatus.FpControl =
        (UINT16)((c.FpControlStatus.FpControl & X87_FCW_BITS) | X87_FCW_ONES);
    c.FpControlStatus.Reserved = 0;
    c.FpControlStatus.LastFpOp &= 0x7FF;
    if (in->rex & 8) {
        c.Reg128.High64 = le_load(img + 8, 8);
        x.XmmControlStatus.LastFpRdp = le_load(img + 16, 8);
    } else {
        c.Reg128.High64 = le_load(img + 8, 6);
        x.XmmControlStatus.LastFpDp = (UINT32)le_load(img + 16, 4);
        x.XmmControlStatus.LastFpDs = (UINT16)le_load(img + 20, 2);
        x.XmmControlStatus.Reserved = 0;
    }
    x.XmmControlStatus.XmmStatusControl = mxcsr;
    vcpu_set(e, VR_FPCS, &c);
    vcpu_set(e, VR_MXCSR, &x);
    for (unsigned i = 0; i < 8; i++) {
        WHV_REGISTER_VALUE r;
        memset(&r, 0, sizeof(r));
        r.Reg128.Low64 = le_load(img + 32 + 16 * i, 8);
        r.Reg128.High64 = le_load(img + 40 + 16 * i, 2);
        vcpu_set(e, VR_MM0 + i, &r);
    }
    for (unsigned i = 0; i < nxmm; i++) {
        WHV_REGISTER_VALUE r;
        r.Reg128.Low64 = le_load(img + 160 + 16 * i, 8);
        r.Reg128.High64 = le_load(img + 168 + 16 * i, 8);
        vcpu_set(e, VR_XMM0 + i, &r);
    }
    return RC_OK;
}
