/*
 * vcpu.h - the per-call register cache (valid/dirty bitmaps) and the mode.
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
    VR_COUNT
};

#define VR_BIT(r) (1u << (r))
#define VR_GPR_BIT(n) (1u << (n))
#define VR_SEG_BIT(s) (1u << (VR_SEG0 + (s)))

struct vcpu {
    uint32_t valid; /* slot holds the VP's value (or our newer one) */
    uint32_t dirty; /* slot must be written back */
    bool fetched;   /* the one get-registers call has been made */
    WHV_REGISTER_VALUE v[VR_COUNT];
};

struct emu;

/* Fetch, in one get-registers call, every slot of `want` not yet valid. */
enum rc vcpu_fetch(struct emu *e, uint32_t want);
/* Write the dirty slots in one set-registers call. */
enum rc vcpu_commit(struct emu *e);

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
