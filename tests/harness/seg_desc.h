/*
 * seg_desc.h - segment registers and descriptors for tests that load
 * segments through the fake VMM (test_seg.c, test_far.c).
 */
#ifndef WHVEMU_TESTS_SEG_DESC_H
#define WHVEMU_TESTS_SEG_DESC_H

#include <stdint.h>
#include <string.h>

#include "fake_vmm.h"

/* Segment register s (ES=0 .. GS=5) of the VM. */
static inline void seg_desc_set(fake_vmm *vm, int s, uint16_t sel, uint64_t base, uint32_t limit,
                                uint16_t attr)
{
    WHV_REGISTER_VALUE v;
    memset(&v, 0, sizeof(v));
    v.Segment.Base = base;
    v.Segment.Limit = limit;
    v.Segment.Selector = sel;
    v.Segment.Attributes = attr;
    fvmm_reg_set(vm, (WHV_REGISTER_NAME)(WHvX64RegisterEs + s), &v);
}

static inline WHV_X64_SEGMENT_REGISTER seg_desc_get(fake_vmm *vm, int s)
{
    WHV_REGISTER_VALUE v;
    fvmm_reg_get(vm, (WHV_REGISTER_NAME)(WHvX64RegisterEs + s), &v);
    return v.Segment;
}

/* A descriptor from its parts (SDM Vol. 3 3.4.5): type, S, DPL and P in
 * one byte; G, D/B, L and AVL in `flags`. */
static inline uint64_t seg_desc_make(uint32_t base, uint32_t limit, unsigned type_s_dpl_p,
                                     unsigned flags)
{
    return (uint64_t)(limit & 0xFFFF) | (uint64_t)(base & 0xFFFFFF) << 16 |
           (uint64_t)(type_s_dpl_p & 0xFF) << 40 | (uint64_t)((limit >> 16) & 0xF) << 48 |
           (uint64_t)(flags & 0xF) << 52 | (uint64_t)(base >> 24) << 56;
}

/* The exit context of an instruction at the VM's CS:RIP with these mode
 * bits, RFLAGS from the VM. */
static inline void seg_desc_exit(fake_vmm *vm, WHV_VP_EXIT_CONTEXT *vp, int pe, int cpl, int lma,
                                 int shadow)
{
    WHV_REGISTER_VALUE cs;
    fvmm_reg_get(vm, WHvX64RegisterCs, &cs);
    memset(vp, 0, sizeof(*vp));
    vp->ExecutionState.Cr0Pe = (UINT16)pe;
    vp->ExecutionState.Cpl = (UINT16)cpl;
    vp->ExecutionState.EferLma = (UINT16)lma;
    vp->ExecutionState.InterruptShadow = (UINT16)shadow;
    vp->Cs = cs.Segment;
    vp->Rip = fvmm_reg64(vm, WHvX64RegisterRip);
    vp->Rflags = fvmm_reg64(vm, WHvX64RegisterRflags);
}

#endif /* WHVEMU_TESTS_SEG_DESC_H */
