/*
 * vcpu.c - the per-call register cache: the only caller of the get- and
 * set-registers callbacks. Registers the exit context holds are seeded as
 * valid; the rest are fetched in at most one get call; dirty slots are
 * written in exactly one set call.
 */
#include <string.h>

#include "emu.h"

static const WHV_REGISTER_NAME vr_names[VR_COUNT] = {
    WHvX64RegisterRax, WHvX64RegisterRcx, WHvX64RegisterRdx, WHvX64RegisterRbx,
    WHvX64RegisterRsp, WHvX64RegisterRbp, WHvX64RegisterRsi, WHvX64RegisterRdi,
    WHvX64RegisterR8,  WHvX64RegisterR9,  WHvX64RegisterR10, WHvX64RegisterR11,
    WHvX64RegisterR12, WHvX64RegisterR13, WHvX64RegisterR14, WHvX64RegisterR15,
    [VR_RIP] = WHvX64RegisterRip,
    [VR_RFLAGS] = WHvX64RegisterRflags,
    [VR_SEG0 + SEG_ES] = WHvX64RegisterEs,
    [VR_SEG0 + SEG_CS] = WHvX64RegisterCs,
    [VR_SEG0 + SEG_SS] = WHvX64RegisterSs,
    [VR_SEG0 + SEG_DS] = WHvX64RegisterDs,
    [VR_SEG0 + SEG_FS] = WHvX64RegisterFs,
    [VR_SEG0 + SEG_GS] = WHvX64RegisterGs,
    [VR_CR0] = WHvX64RegisterCr0,
    [VR_CR2] = WHvX64RegisterCr2,
    [VR_CR3] = WHvX64RegisterCr3,
    [VR_CR4] = WHvX64RegisterCr4,
    [VR_EFER] = WHvX64RegisterEfer,
    [VR_INT_STATE] = WHvRegisterInterruptState,
    [VR_PENDING_INT] = WHvRegisterPendingInterruption,
    [VR_PENDING_DBG] = WHvX64RegisterPendingDebugException,
};

/* Index of the lowest set bit of a non-zero mask (de Bruijn sequence). */
static unsigned lowest_bit(uint32_t m)
{
    static const uint8_t pos[32] = {0,  1,  28, 2,  29, 14, 24, 3,  30, 22, 20,
                                    15, 25, 17, 4,  8,  31, 27, 13, 23, 21, 19,
                                    16, 7,  26, 12, 18, 6,  11, 5,  10, 9};
    return pos[((m & (0u - m)) * 0x077CB531u) >> 27];
}

enum rc vcpu_fetch(struct emu *e, uint32_t want)
{
    uint32_t missing = want & ~e->regs.valid;
    if (!missing)
        return RC_OK;
    if (e->regs.fetched) {
        e->why = "registers were needed after the one fetch";
        return RC_INTERNAL;
    }
    WHV_REGISTER_NAME names[VR_COUNT];
    WHV_REGISTER_VALUE vals[VR_COUNT];
    uint8_t slot[VR_COUNT];
    unsigned n = 0;
    for (uint32_t m = missing; m; m &= m - 1) {
        unsigned r = lowest_bit(m);
        names[n] = vr_names[r];
        slot[n] = (uint8_t)r;
        n++;
    }
    /* A value the callback leaves unwritten reads as zero: never as host
     * memory (docs/api-notes.md). */
    memset(vals, 0, n * sizeof(vals[0]));
    e->regs.fetched = true;
    HRESULT hr = e->h->cb.WHvEmulatorGetVirtualProcessorRegisters(e->ctx, names, n, vals);
    if (hr != S_OK) {
        e->status = 1u << 6; /* GetVirtualProcessorRegistersCallbackFailed */
        e->why = "the get-registers callback failed";
        return RC_CALLBACK_FAILED;
    }
    for (unsigned i = 0; i < n; i++)
        e->regs.v[slot[i]] = vals[i];
    e->regs.valid |= missing;
    return RC_OK;
}

enum rc vcpu_commit(struct emu *e)
{
    WHV_REGISTER_NAME names[VR_COUNT];
    WHV_REGISTER_VALUE vals[VR_COUNT];
    unsigned n = 0;
    for (uint32_t m = e->regs.dirty; m; m &= m - 1) {
        unsigned r = lowest_bit(m);
        names[n] = vr_names[r];
        vals[n] = e->regs.v[r];
        n++;
    }
    if (n == 0)
        return RC_OK;
    HRESULT hr = e->h->cb.WHvEmulatorSetVirtualProcessorRegisters(e->ctx, names, n, vals);
    if (hr != S_OK) {
        e->status = 1u << 7; /* SetVirtualProcessorRegistersCallbackFailed */
        e->why = "the set-registers callback failed";
        return RC_CALLBACK_FAILED;
    }
    e->regs.dirty = 0;
    return RC_OK;
}

uint64_t vcpu_gpr(const struct emu *e, unsigned n)
{
    return e->regs.v[n & 15].Reg64;
}

void vcpu_set_gpr(struct emu *e, unsigned n, uint64_t v)
{
    n &= 15;
    e->regs.v[n].Reg128.High64 = 0;
    e->regs.v[n].Reg64 = v;
    e->regs.valid |= VR_GPR_BIT(n);
    e->regs.dirty |= VR_GPR_BIT(n);
}

uint64_t vcpu_read_reg(const struct emu *e, unsigned n, unsigned size, bool high8)
{
    uint64_t v = vcpu_gpr(e, n);
    if (high8)
        return (v >> 8) & 0xFF;
    return v & size_mask(size);
}

void vcpu_write_reg(struct emu *e, unsigned n, unsigned size, bool high8, uint64_t v)
{
    uint64_t nv;
    if (size == 4)
        nv = v & 0xFFFFFFFFu;
    else if (size >= 8)
        nv = v;
    else if (high8)
        nv = (vcpu_gpr(e, n) & ~(uint64_t)0xFF00) | ((v & 0xFF) << 8);
    else
        nv = (vcpu_gpr(e, n) & ~size_mask(size)) | (v & size_mask(size));
    vcpu_set_gpr(e, n, nv);
}

uint64_t vcpu_rflags(const struct emu *e)
{
    return e->regs.v[VR_RFLAGS].Reg64;
}

void vcpu_set_rflags(struct emu *e, uint64_t v)
{
    if (v == e->regs.v[VR_RFLAGS].Reg64)
        return;
    e->regs.v[VR_RFLAGS].Reg64 = v;
    e->regs.dirty |= VR_BIT(VR_RFLAGS);
}

const WHV_X64_SEGMENT_REGISTER *vcpu_seg(const struct emu *e, unsigned s)
{
    return &e->regs.v[VR_SEG0 + (s % 6)].Segment;
}

void vcpu_set(struct emu *e, unsigned slot, const WHV_REGISTER_VALUE *v)
{
    e->regs.v[slot] = *v;
    e->regs.valid |= VR_BIT(slot);
    e->regs.dirty |= VR_BIT(slot);
}

void vcpu_seed(struct emu *e, unsigned slot, uint64_t v)
{
    e->regs.v[slot].Reg128.High64 = 0;
    e->regs.v[slot].Reg64 = v;
    e->regs.valid |= VR_BIT(slot);
}
