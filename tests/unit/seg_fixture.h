/*
 * seg_fixture.h - the fixture of the segment and far-transfer unit tests
 * (test_seg.c, test_far.c): a fake VMM with a GDT at SEG_FX_GDT, every
 * segment register loaded, a handle, and one memory exit run with the
 * callback protocol checked.
 */
#ifndef WHVEMU_TESTS_SEG_FIXTURE_H
#define WHVEMU_TESTS_SEG_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "WinHvEmulation.h"
#include "check.h"
#include "fake_vmm.h"
#include "mmio_run.h"
#include "seg_desc.h"

#define SEG_FX_GDT 0x5000u

struct seg_fx {
    fake_vmm *vm;
    WHV_EMULATOR_HANDLE emu;
    WHV_VP_EXIT_CONTEXT vp;
    WHV_MEMORY_ACCESS_CONTEXT mc;
    WHV_EMULATOR_STATUS st;
};

/* pe = 0: real mode; else 32-bit protected mode with a GDT of 16 entries
 * (none filled in here): CS 0x08 code, the others 0x10 data, all flat and
 * accessed; RFLAGS 2, RIP 0x100. */
static inline void seg_fx_init(struct seg_fx *f, int pe)
{
    memset(f, 0, sizeof(*f));
    f->vm = fvmm_create();
    seg_desc_set(f->vm, 1, 0x08, 0, pe ? 0xFFFFFFFF : 0xFFFF, pe ? 0xC09B : 0x009B);
    for (int s = 0; s < 6; s++)
        if (s != 1)
            seg_desc_set(f->vm, s, 0x10, 0, pe ? 0xFFFFFFFF : 0xFFFF, pe ? 0xC093 : 0x0093);
    WHV_REGISTER_VALUE v;
    memset(&v, 0, sizeof(v));
    v.Table.Base = SEG_FX_GDT;
    v.Table.Limit = 16 * 8 - 1;
    fvmm_reg_set(f->vm, WHvX64RegisterGdtr, &v);
    fvmm_set_reg64(f->vm, WHvX64RegisterRflags, 2);
    fvmm_set_reg64(f->vm, WHvX64RegisterRip, 0x100);
    if (WHvEmulatorCreateEmulator(fvmm_callbacks(), &f->emu) != S_OK)
        abort();
}

static inline void seg_fx_fini(struct seg_fx *f)
{
    WHvEmulatorDestroyEmulator(f->emu);
    fvmm_destroy(f->vm);
}

/* One memory exit for the bytes b[0..n) (seg_desc_exit: pe, cpl, lma,
 * interrupt shadow), S_OK and the callback protocol checked. */
static inline void seg_fx_run(struct seg_fx *f, const uint8_t *b, unsigned n, int pe, int cpl,
                              int lma, int shadow)
{
    seg_desc_exit(f->vm, &f->vp, pe, cpl, lma, shadow);
    memset(&f->mc, 0, sizeof(f->mc));
    f->mc.InstructionByteCount = (UINT8)n;
    memcpy(f->mc.InstructionBytes, b, n);
    mmio_run_checked(f->vm, f->emu, &f->vp, &f->mc, &f->st);
}

#endif /* WHVEMU_TESTS_SEG_FIXTURE_H */
