/*
 * vcpu.c - the per-call register cache: the only caller of the get- and
 * set-registers callbacks and of the xstate extension's callback. Registers
 * the exit context holds are seeded as valid; the rest are fetched in at
 * most one get call; dirty slots are written in exactly one set call. An
 * extended-state component is read at most once per call and written once,
 * just before the set call, only when the instruction completed.
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
    [VR_XMM0] = WHvX64RegisterXmm0,
    [VR_XMM0 + 1] = WHvX64RegisterXmm1,
    [VR_XMM0 + 2] = WHvX64RegisterXmm2,
    [VR_XMM0 + 3] = WHvX64RegisterXmm3,
    [VR_XMM0 + 4] = WHvX64RegisterXmm4,
    [VR_XMM0 + 5] = WHvX64RegisterXmm5,
    [VR_XMM0 + 6] = WHvX64RegisterXmm6,
    [VR_XMM0 + 7] = WHvX64RegisterXmm7,
    [VR_XMM0 + 8] = WHvX64RegisterXmm8,
    [VR_XMM0 + 9] = WHvX64RegisterXmm9,
    [VR_XMM0 + 10] = WHvX64RegisterXmm10,
    [VR_XMM0 + 11] = WHvX64RegisterXmm11,
    [VR_XMM0 + 12] = WHvX64RegisterXmm12,
    [VR_XMM0 + 13] = WHvX64RegisterXmm13,
    [VR_XMM0 + 14] = WHvX64RegisterXmm14,
    [VR_XMM0 + 15] = WHvX64RegisterXmm15,
    [VR_MXCSR] = WHvX64RegisterXmmControlStatus,
    [VR_XCR0] = WHvX64RegisterXCr0,
    [VR_MM0] = WHvX64RegisterFpMmx0,
    [VR_MM0 + 1] = WHvX64RegisterFpMmx1,
    [VR_MM0 + 2] = WHvX64RegisterFpMmx2,
    [VR_MM0 + 3] = WHvX64RegisterFpMmx3,
    [VR_MM0 + 4] = WHvX64RegisterFpMmx4,
    [VR_MM0 + 5] = WHvX64RegisterFpMmx5,
    [VR_MM0 + 6] = WHvX64RegisterFpMmx6,
    [VR_MM0 + 7] = WHvX64RegisterFpMmx7,
    [VR_FPCS] = WHvX64RegisterFpControlStatus,
    [VR_GDTR] = WHvX64RegisterGdtr,
    [VR_LDTR] = WHvX64RegisterLdtr,
};

/* Index of the lowest set bit of a non-zero mask. */
static inline unsigned lowest_bit(uint64_t m)
{
#if defined(__GNUC__)
    return (unsigned)__builtin_ctzll(m);
#else
    /* de Bruijn sequence */
    static const uint8_t pos[64] = {
        0,  1,  2,  53, 3,  7,  54, 27, 4,  38, 41, 8,  34, 55, 48, 28, 62, 5,  39, 46, 44, 42,
        22, 9,  24, 35, 59, 56, 49, 18, 29, 11, 63, 52, 6,  26, 37, 40, 33, 47, 61, 45, 43, 21,
        23, 58, 17, 10, 51, 25, 36, 32, 60, 20, 57, 16, 50, 31, 19, 15, 30, 14, 13, 12};
    return pos[((m & (0 - m)) * 0x022FDD63CC95386Dull) >> 58];
#endif
}

static enum rc fetch(struct emu *e, uint64_t missing);

HRESULT vcpu_get_batch(const struct emu_handle *eh, void *ctx, const WHV_REGISTER_NAME *names,
                       unsigned n, WHV_REGISTER_VALUE *vals)
{
    return eh->cb.WHvEmulatorGetVirtualProcessorRegisters(ctx, names, n, vals);
}

HRESULT vcpu_set_batch(const struct emu_handle *eh, void *ctx, const WHV_REGISTER_NAME *names,
                       unsigned n, const WHV_REGISTER_VALUE *vals)
{
    return eh->cb.WHvEmulatorSetVirtualProcessorRegisters(ctx, names, n, vals);
}

enum rc vcpu_prefetch(struct emu *e, uint64_t want)
{
    /* Every general register (and the data segments outside 64-bit mode)
     * rides along: the instruction is not decoded yet, and what it needs
     * is then most likely here already. */
    want |= 0xFFFF;
    if (e->mode != MODE_LONG64)
        want |= VR_SEG_BIT(SEG_ES) | VR_SEG_BIT(SEG_SS) | VR_SEG_BIT(SEG_DS) |
                VR_SEG_BIT(SEG_FS) | VR_SEG_BIT(SEG_GS);
    else /* FS/GS bases, and ES for the stores that name it (MOVDIR64B) */
        want |= VR_SEG_BIT(SEG_ES) | VR_SEG_BIT(SEG_FS) | VR_SEG_BIT(SEG_GS);
    uint64_t missing = want & ~e->regs.valid;
    if (!missing)
        return RC_OK;
    TRY(fetch(e, missing));
    e->regs.fetched = false; /* the instruction's own batch may follow */
    return RC_OK;
}

enum rc vcpu_fetch(struct emu *e, uint64_t want)
{
    uint64_t missing = want & ~e->regs.valid;
    if (!missing)
        return RC_OK;
    if (e->regs.fetched) {
        e->why = "registers were needed after the one fetch";
        return RC_INTERNAL;
    }
    return fetch(e, missing);
}

enum rc vcpu_la57(struct emu *e, bool *la57)
{
    if (!(e->regs.valid & VR_BIT(VR_CR4))) {
        bool batch_made = e->regs.fetched; /* before it (an instruction fetch), it may follow */
        TRY(fetch(e, VR_BIT(VR_CR4)));
        e->regs.fetched = batch_made;
    }
    *la57 = (e->regs.v[VR_CR4].Reg64 & CR4_LA57) != 0;
    return RC_OK;
}

static enum rc fetch(struct emu *e, uint64_t missing)
{
    WHV_REGISTER_NAME names[VR_COUNT];
    WHV_REGISTER_VALUE vals[VR_COUNT];
    uint8_t slot[VR_COUNT];
    unsigned n = 0;
    /* A value the callback leaves unwritten reads as zero: never as host
     * memory (docs/api-notes.md). */
    uint64_t m = missing; /* not 0 */
    do {
        unsigned r = lowest_bit(m);
        names[n] = vr_names[r];
        slot[n] = (uint8_t)r;
        n++;
        m &= m - 1;
    } while (m);
    memset(vals, 0, n * sizeof(vals[0]));
    e->regs.fetched = true;
    HRESULT hr = vcpu_get_batch(e->h, e->ctx, names, n, vals);
    if (hr != S_OK) {
        e->cb_hr = hr;
        e->status = 1u << 6; /* GetVirtualProcessorRegistersCallbackFailed */
        e->why = "the get-registers callback failed";
        return RC_CALLBACK_FAILED;
    }
    for (unsigned i = 0; i < n; i++)
        e->regs.v[slot[i]] = vals[i];
    e->regs.valid |= missing;
    return RC_OK;
}

/* The buffer and size of one XC_* component. */
static uint8_t *xcomp(struct emu *e, uint8_t bit, UINT32 *num, UINT32 *size)
{
    switch (bit) {
    case XC_YMM_HI:
        *num = 2;
        *size = sizeof(e->regs.ymm_hi);
        return e->regs.ymm_hi;
    case XC_OPMASK:
        *num = 5;
        *size = sizeof(e->regs.opmask);
        return e->regs.opmask;
    case XC_ZMM_HI:
        *num = 6;
        *size = sizeof(e->regs.zmm_hi);
        return e->regs.zmm_hi;
    default:
        *num = 7;
        *size = sizeof(e->regs.hi16);
        return e->regs.hi16;
    }
}

enum rc vcpu_xfetch(struct emu *e, uint8_t want)
{
    uint8_t missing = (uint8_t)(want & ~e->regs.xvalid);
    if (!missing)
        return RC_OK;
    if (!e->h->xstate)
        return emu_unsupported(e, "the instruction needs vector state beyond XMM0-15 and no "
                                  "xstate callback is set (whvemu_set_xstate_callback)");
    for (unsigned b = 0; b < 8; b++) {
        uint8_t bit = (uint8_t)(1u << b);
        if (!(missing & bit))
            continue;
        UINT32 num, size;
        uint8_t *buf = xcomp(e, bit, &num, &size);
        memset(buf, 0, size); /* what the callback leaves unwritten reads as zero */
        HRESULT hr = e->h->xstate(e->ctx, num, 0, buf, size);
        if (hr != S_OK) {
            e->cb_hr = hr;
            e->status = 1u << 6; /* GetVirtualProcessorRegistersCallbackFailed */
            e->why = "the xstate callback failed to read a component";
            return RC_CALLBACK_FAILED;
        }
        e->regs.xvalid |= bit;
    }
    return RC_OK;
}

enum rc vcpu_commit(struct emu *e)
{
    for (unsigned b = 0; e->regs.xdirty && b < 8; b++) {
        uint8_t bit = (uint8_t)(1u << b);
        if (!(e->regs.xdirty & bit))
            continue;
        UINT32 num, size;
        uint8_t *buf = xcomp(e, bit, &num, &size);
        HRESULT hr = e->h->xstate ? e->h->xstate(e->ctx, num, 1, buf, size) : E_FAIL;
        if (hr != S_OK) {
            e->cb_hr = hr;
            e->status = 1u << 7; /* SetVirtualProcessorRegistersCallbackFailed */
            e->why = "the xstate callback failed to write a component";
            return RC_CALLBACK_FAILED;
        }
        e->regs.xdirty &= (uint8_t)~bit;
    }
    WHV_REGISTER_NAME names[VR_COUNT];
    WHV_REGISTER_VALUE vals[VR_COUNT];
    unsigned n = 0;
    for (uint64_t m = e->regs.dirty; m; m &= m - 1) {
        unsigned r = lowest_bit(m);
        names[n] = vr_names[r];
        vals[n] = e->regs.v[r];
        n++;
    }
    if (n == 0)
        return RC_OK;
    HRESULT hr = vcpu_set_batch(e->h, e->ctx, names, n, vals);
    if (hr != S_OK) {
        e->cb_hr = hr;
        e->status = 1u << 7; /* SetVirtualProcessorRegistersCallbackFailed */
        e->why = "the set-registers callback failed";
        return RC_CALLBACK_FAILED;
    }
    e->regs.dirty = 0;
    return RC_OK;
}

void vcpu_vec_read(const struct emu *e, unsigned n, unsigned bytes, uint8_t *out)
{
    n &= 31;
    if (n >= 16) {
        memcpy(out, e->regs.hi16 + 64 * (n - 16), bytes > 64 ? 64 : bytes);
        return;
    }
    memcpy(out, &e->regs.v[VR_XMM0 + n].Reg128, 16);
    if (bytes > 16)
        memcpy(out + 16, e->regs.ymm_hi + 16 * n, 16);
    if (bytes > 32)
        memcpy(out + 32, e->regs.zmm_hi + 32 * n, 32);
}

void vcpu_vec_write(struct emu *e, unsigned n, const uint8_t *val, unsigned bytes, unsigned upto)
{
    uint8_t full[64];
    n &= 31;
    if (upto < 16)
        upto = 16; /* a write always defines the whole XMM part */
    if (upto > 64)
        upto = 64;
    if (bytes > upto)
        bytes = upto;
    memcpy(full, val, bytes);
    memset(full + bytes, 0, upto - bytes);
    /* upto is 16, 32 or 64 in practice: the parts below it are replaced, the
     * parts above it are not touched. */
    if (n >= 16) {
        memcpy(e->regs.hi16 + 64 * (n - 16), full, upto);
        e->regs.xdirty |= XC_HI16;
        return;
    }
    memcpy(&e->regs.v[VR_XMM0 + n].Reg128, full, 16);
    e->regs.valid |= VR_XMM_BIT(n);
    e->regs.dirty |= VR_XMM_BIT(n);
    if (upto > 16) {
        memcpy(e->regs.ymm_hi + 16 * n, full + 16, 16);
        e->regs.xdirty |= XC_YMM_HI;
    }
    if (upto > 32) {
        memcpy(e->regs.zmm_hi + 32 * n, full + 32, upto - 32);
        e->regs.xdirty |= XC_ZMM_HI;
    }
}

WHV_REGISTER_NAME vcpu_name(unsigned slot)
{
    return vr_names[slot % VR_COUNT];
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
    return gpr_part(vcpu_gpr(e, n), size, high8);
}

void vcpu_write_reg(struct emu *e, unsigned n, unsigned size, bool high8, uint64_t v)
{
    vcpu_set_gpr(e, n, gpr_merge(vcpu_gpr(e, n), size, high8, v));
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

uint64_t vcpu_kreg(const struct emu *e, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 8; i++)
        v |= (uint64_t)e->regs.opmask[8 * (n & 7) + i] << (8 * i);
    return v;
}

void vcpu_set_kreg(struct emu *e, unsigned n, uint64_t v)
{
    for (unsigned i = 0; i < 8; i++)
        e->regs.opmask[8 * (n & 7) + i] = (uint8_t)(v >> (8 * i));
    e->regs.xdirty |= XC_OPMASK;
}
