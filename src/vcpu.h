/*
 * vcpu.h - the per-call register cache (valid/dirty bitmaps), including the
 * vector registers and the extended-state components, and the mode.
 */
#ifndef WHVEMU_VCPU_H
#define WHVEMU_VCPU_H

#include <stdbool.h>
#include <stdint.h>

#include "WinHvPlatformDefs.h"

/* Cache slots. GPRs use their x86 number; segments 18 + sreg number. */
enum vreg {
    VR_GPR0 = 0, /* 0..15 */
    VR_RIP = 16,
    VR_RFLAGS = 17,
    VR_SEG0 = 18, /* ES CS SS DS FS GS: 18..23 */
    VR_CR0 = 24,
    VR_CR2,
    VR_CR3,
    VR_CR4,
    VR_EFER,
    VR_INT_STATE,
    VR_PENDING_INT,
    VR_PENDING_DBG,
    VR_XMM0 = 32,   /* XMM0..15 (low 128 bits): 32..47 */
    VR_MXCSR = 48,  /* WHvX64RegisterXmmControlStatus */
    VR_XCR0 = 49,
    VR_MM0 = 50,    /* MM0..7 (WHvX64RegisterFpMmx0..7): 50..57 */
    VR_FPCS = 58,   /* WHvX64RegisterFpControlStatus */
    VR_GDTR = 59,   /* descriptor tables, for segment loads */
    VR_LDTR = 60,
    VR_COUNT
};

#define VR_BIT(r) ((uint64_t)1 << (r))
#define VR_GPR_BIT(n) ((uint64_t)1 << (n))
#define VR_SEG_BIT(s) ((uint64_t)1 << (VR_SEG0 + (s)))
#define VR_XMM_BIT(n) ((uint64_t)1 << (VR_XMM0 + (n)))
#define VR_MM_BIT(n) ((uint64_t)1 << (VR_MM0 + (n)))

/* XSAVE state components the xstate extension moves (whvemu.h), as bits
 * of `struct vcpu`.xvalid / xdirty and `struct insn`.xneeds. */
#define XC_YMM_HI 0x04u  /* component 2: YMM0-15 bits 255:128, 256 bytes */
#define XC_OPMASK 0x20u  /* component 5: k0-k7, 64 bytes */
#define XC_ZMM_HI 0x40u  /* component 6: ZMM0-15 bits 511:256, 512 bytes */
#define XC_HI16 0x80u    /* component 7: ZMM16-31, 1024 bytes */

struct vcpu {
    uint64_t valid; /* slot holds the VP's value (or our newer one) */
    uint64_t dirty; /* slot must be written back */
    bool fetched;   /* the one get-registers call has been made */
    uint8_t xvalid; /* XC_* components read this call */
    uint8_t xdirty; /* XC_* components to write back */
    WHV_REGISTER_VALUE v[VR_COUNT];
    uint8_t ymm_hi[256];
    uint8_t opmask[64];
    uint8_t zmm_hi[512];
    uint8_t hi16[1024];
};

struct emu;

/* Fetch, in one get-registers call, every slot of `want` not yet valid. */
enum rc vcpu_fetch(struct emu *e, uint64_t want);
/* Before decoding (an exit without instruction bytes walking its fetch with
 * direct guest RAM): `want` and every general register in one get call,
 * which leaves the instruction's own batch open for what is still missing. */
enum rc vcpu_prefetch(struct emu *e, uint64_t want);
/* CR4.LA57, for an address canonical in 57 bits but not in 48. CR4 rides
 * along with the batch in 64-bit mode unless the exit's own linear address
 * settles canonicality (exec.c): branches and far transfers in 64-bit mode
 * have it with their batch (outside 64-bit mode their targets have at most
 * 32 bits), and an instruction fetched from such an address brings it with
 * the prefetch (mem.c mem_fetch_insn). When an instruction reaches one anyway (an exit
 * whose bytes or registers are not the ones that made it), CR4 comes in a
 * get call of its own; made before the instruction's batch, that batch
 * still follows. */
enum rc vcpu_la57(struct emu *e, bool *la57);
/* Read the XC_* components of `want` not yet valid through the xstate
 * callback, one call per component (RC_UNSUPPORTED without a callback). */
enum rc vcpu_xfetch(struct emu *e, uint8_t want);
/* Write the dirty components (one call each), then the dirty slots in one
 * set-registers call. */
enum rc vcpu_commit(struct emu *e);

/* Vector register n (0..31), `bytes` (16, 32 or 64) from the low end; the
 * parts above 128 bits come from the components, which must be valid. */
void vcpu_vec_read(const struct emu *e, unsigned n, unsigned bytes, uint8_t *out);
/* Store `bytes` bytes into vector register n and zero bytes [bytes, upto);
 * bytes at and above `upto` are kept (upto >= bytes; 16 keeps YMM/ZMM, the
 * maximum vector length zeroes them as a VEX or EVEX write does). */
void vcpu_vec_write(struct emu *e, unsigned n, const uint8_t *val, unsigned bytes, unsigned upto);
/* Opmask register n (0..7); component 5 must be valid. */
uint64_t vcpu_kreg(const struct emu *e, unsigned n);
void vcpu_set_kreg(struct emu *e, unsigned n, uint64_t v);

/* The get- and set-registers callbacks themselves, for the general cache
 * and the exit shortcut (fast.c): one call, the callback's HRESULT. */
struct emu_handle;
HRESULT vcpu_get_batch(const struct emu_handle *eh, void *ctx, const WHV_REGISTER_NAME *names,
                       unsigned n, WHV_REGISTER_VALUE *vals);
HRESULT vcpu_set_batch(const struct emu_handle *eh, void *ctx, const WHV_REGISTER_NAME *names,
                       unsigned n, const WHV_REGISTER_VALUE *vals);
/* The register name of a cache slot. */
WHV_REGISTER_NAME vcpu_name(unsigned slot);
uint64_t vcpu_gpr(const struct emu *e, unsigned n);
void vcpu_set_gpr(struct emu *e, unsigned n, uint64_t v);
/* Read/write a GPR operand of `size` bytes; high8 selects AH..BH. Writes of
 * 4 bytes zero-extend to 64 bits, 1 and 2 bytes merge (SDM Vol. 1 3.4.1.1). */
uint64_t vcpu_read_reg(const struct emu *e, unsigned n, unsigned size, bool high8);
void vcpu_write_reg(struct emu *e, unsigned n, unsigned size, bool high8, uint64_t v);
uint64_t vcpu_rflags(const struct emu *e);
void vcpu_set_rflags(struct emu *e, uint64_t v);
const WHV_X64_SEGMENT_REGISTER *vcpu_seg(const struct emu *e, unsigned s);
/* Store a whole slot as valid and dirty (fault injection, interrupt state). */
void vcpu_set(struct emu *e, unsigned slot, const WHV_REGISTER_VALUE *v);
/* Mark a slot valid with a value from the exit context (not dirty). */
void vcpu_seed(struct emu *e, unsigned slot, uint64_t v);

#endif /* WHVEMU_VCPU_H */
