/*
 * fast.h - the exit shortcut (fast.c): the commonest exits without the
 * general path's layers, into the same semantics.
 */
#ifndef WHVEMU_FAST_H
#define WHVEMU_FAST_H

#include "emu.h"

enum fast_result {
    FAST_NO,      /* not taken: nothing was done, the general path runs */
    FAST_GENERAL, /* the register batch was made (fast_call's registers): the
                     general path runs on them, without another get call */
    FAST_DONE,    /* completed, registers written */
    FAST_FAILED,  /* a callback failed: fast_call says which and why */
};

/* What a taken shortcut leaves for the caller. */
struct fast_call {
    WHV_VP_EXIT_CONTEXT vp;        /* fast_mmio: the contexts as read */
    WHV_MEMORY_ACCESS_CONTEXT mc;
    const struct dcache_entry *d; /* the form: its insn, its bytes (key), its plan */
    enum cpu_mode mode;
    _Alignas(16) WHV_REGISTER_VALUE vals[FAST_MAX_REGS]; /* FAST_GENERAL: the batch, in
                                                            the plan's slot order */
    uint32_t status;      /* FAST_FAILED: the WHV_EMULATOR_STATUS bit */
    HRESULT cb_hr;
    const char *why;
};

/* The caller's contexts: read before any callback; fast_mmio copies them
 * into fast_call, from which the general path goes on after FAST_GENERAL. */
enum fast_result fast_mmio(struct emu_handle *eh, void *ctx, const WHV_VP_EXIT_CONTEXT *vp,
                           const WHV_MEMORY_ACCESS_CONTEXT *mc, struct fast_call *fc);
enum fast_result fast_io(struct emu_handle *eh, void *ctx, const WHV_VP_EXIT_CONTEXT *vp,
                         const WHV_X64_IO_PORT_ACCESS_CONTEXT *ioc, struct fast_call *fc);

#endif /* WHVEMU_FAST_H */
