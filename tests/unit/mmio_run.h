/*
 * mmio_run.h - one memory exit on the fake VMM, checked: the unit tests'
 * fixtures build the exit, this runs it (guest RAM synced when the fake
 * VMM registers it) and checks the HRESULT and the round-trip rules,
 * printing the callbacks when a rule fails.
 */
#ifndef WHVEMU_TESTS_MMIO_RUN_H
#define WHVEMU_TESTS_MMIO_RUN_H

#include <stdio.h>

#include "WinHvEmulation.h"
#include "check.h"
#include "fake_vmm.h"

static inline void mmio_run_checked(fake_vmm *vm, WHV_EMULATOR_HANDLE emu,
                                    const WHV_VP_EXIT_CONTEXT *vp,
                                    const WHV_MEMORY_ACCESS_CONTEXT *mc, WHV_EMULATOR_STATUS *st)
{
    fvmm_reset_log(vm);
    fvmm_sync_guest_ram(vm, emu);
    CHECK_EQ(WHvEmulatorTryMmioEmulation(emu, vm, vp, mc, st), S_OK);
    const char *why = fvmm_check_round_trip(vm, vp, mc, st);
    if (why) {
        printf("  round trip: %s\n", why);
        fvmm_dump_log(vm, stdout);
    }
    CHECK(why == NULL);
}

#endif /* WHVEMU_TESTS_MMIO_RUN_H */
