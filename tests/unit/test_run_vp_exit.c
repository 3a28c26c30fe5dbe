/*
 * test_run_vp_exit.c - the run loop's exit record as a VMM keeps it: a
 * WHV_RUN_VP_EXIT_CONTEXT is filled the way WHvRunVirtualProcessor fills it
 * (here by hand, standing for another hypervisor's exit), the loop
 * dispatches on ExitReason, and the emulator is given &exit.VpContext with
 * &exit.MemoryAccess or &exit.IoPortAccess, exactly as a WHP VMM does.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "WinHvEmulation.h"
#include "check.h"
#include "fake_vmm.h"

#define RIP0 0x401000ull
#define MMIO_GVA 0x7f0000002000ull
#define MMIO_GPA 0xfed00000ull

/* One step of a VMM's run loop: hands the exits the emulator serves to it,
 * returns S_FALSE for the ones it does not (the loop handles those itself). */
static HRESULT dispatch_exit(WHV_EMULATOR_HANDLE emu, fake_vmm *vm,
                             const WHV_RUN_VP_EXIT_CONTEXT *exit, WHV_EMULATOR_STATUS *st)
{
    switch (exit->ExitReason) {
    case WHvRunVpExitReasonMemoryAccess:
        return WHvEmulatorTryMmioEmulation(emu, vm, &exit->VpContext, &exit->MemoryAccess, st);
    case WHvRunVpExitReasonX64IoPortAccess:
        return WHvEmulatorTryIoEmulation(emu, vm, &exit->VpContext, &exit->IoPortAccess, st);
    default:
        return S_FALSE;
    }
}

static void test_exit_record_layout_puts_the_contexts_where_the_sdk_does(void)
{
    CHECK_EQ(sizeof(WHV_RUN_VP_EXIT_CONTEXT), 224);
    CHECK_EQ(_Alignof(WHV_RUN_VP_EXIT_CONTEXT), 16);
    CHECK_EQ(offsetof(WHV_RUN_VP_EXIT_CONTEXT, VpContext), 8);
    CHECK_EQ(offsetof(WHV_RUN_VP_EXIT_CONTEXT, MemoryAccess), 48);
    CHECK_EQ(offsetof(WHV_RUN_VP_EXIT_CONTEXT, IoPortAccess), 48);
    CHECK_EQ(offsetof(WHV_RUN_VP_EXIT_CONTEXT, Hypercall), 48);
    CHECK_EQ(offsetof(WHV_RUN_VP_EXIT_CONTEXT, MemoryAccess.Gpa), 72);
}

static void test_mmio_exit_record_is_emulated_through_its_members(void)
{
    fake_vmm *vm = fvmm_create();
    WHV_EMULATOR_HANDLE emu;
    if (WHvEmulatorCreateEmulator(fvmm_callbacks(), &emu) != S_OK)
        abort();
    fvmm_setup_long_mode(vm, 0);
    fvmm_set_reg64(vm, WHvX64RegisterRip, RIP0);
    fvmm_set_reg64(vm, WHvX64RegisterRdi, MMIO_GVA + 0x10);
    fvmm_set_reg64(vm, WHvX64RegisterRax, 0xFFFFFFFF00000000ull);
    fvmm_map_gva(vm, MMIO_GVA, MMIO_GPA);
    fvmm_set_mmio(vm, MMIO_GPA, 1);
    UINT32 dev = 0xCAFEF00D;
    fvmm_gpa_write(vm, MMIO_GPA + 0x10, &dev, 4);

    /* The exit as the hypervisor reports it: mov eax, [rdi]. */
    WHV_RUN_VP_EXIT_CONTEXT exit;
    memset(&exit, 0, sizeof(exit));
    exit.ExitReason = WHvRunVpExitReasonMemoryAccess;
    fvmm_build_exit64(&exit.VpContext, 0, RIP0, 0x2);
    exit.MemoryAccess.InstructionByteCount = 2;
    exit.MemoryAccess.InstructionBytes[0] = 0x8b;
    exit.MemoryAccess.InstructionBytes[1] = 0x07;
    exit.MemoryAccess.AccessInfo.AccessType = WHvMemoryAccessRead;
    exit.MemoryAccess.AccessInfo.GpaUnmapped = 1;
    exit.MemoryAccess.AccessInfo.GvaValid = 1;
    exit.MemoryAccess.Gpa = MMIO_GPA + 0x10;
    exit.MemoryAccess.Gva = MMIO_GVA + 0x10;

    WHV_EMULATOR_STATUS st;
    fvmm_reset_log(vm);
    CHECK_EQ(dispatch_exit(emu, vm, &exit, &st), S_OK);
    CHECK_EQ(st.AsUINT32, 1);
    CHECK(fvmm_check_round_trip(vm, &exit.VpContext, &exit.MemoryAccess, &st) == NULL);
    CHECK_EQ(fvmm_reg64(vm, WHvX64RegisterRax), 0xCAFEF00D); /* 32-bit load zero-extends */
    CHECK_EQ(fvmm_reg64(vm, WHvX64RegisterRip), RIP0 + 2);
    CHECK_EQ(fvmm_count(vm, FVMM_CB_TRANSLATE), 0); /* the exit's Gpa was used */

    /* A reason the emulator does not serve stays with the loop. */
    exit.ExitReason = WHvRunVpExitReasonX64Halt;
    CHECK_EQ(dispatch_exit(emu, vm, &exit, &st), S_FALSE);
    WHvEmulatorDestroyEmulator(emu);
    fvmm_destroy(vm);
}

static void test_port_exit_record_is_emulated_through_its_members(void)
{
    fake_vmm *vm = fvmm_create();
    WHV_EMULATOR_HANDLE emu;
    if (WHvEmulatorCreateEmulator(fvmm_callbacks(), &emu) != S_OK)
        abort();
    fvmm_setup_long_mode(vm, 0);
    fvmm_set_reg64(vm, WHvX64RegisterRip, RIP0);
    fvmm_set_reg64(vm, WHvX64RegisterRax, 0x1122334455667788ull);

    /* out dx, al with DX = 0x3f8 */
    WHV_RUN_VP_EXIT_CONTEXT exit;
    memset(&exit, 0, sizeof(exit));
    exit.ExitReason = WHvRunVpExitReasonX64IoPortAccess;
    fvmm_build_exit64(&exit.VpContext, 0, RIP0, 0x2);
    exit.VpContext.InstructionLength = 1;
    exit.IoPortAccess.InstructionByteCount = 1;
    exit.IoPortAccess.InstructionBytes[0] = 0xee;
    exit.IoPortAccess.AccessInfo.IsWrite = 1;
    exit.IoPortAccess.AccessInfo.AccessSize = 1;
    exit.IoPortAccess.PortNumber = 0x3f8;
    exit.IoPortAccess.Rax = 0x1122334455667788ull;

    WHV_EMULATOR_STATUS st;
    fvmm_reset_log(vm);
    CHECK_EQ(dispatch_exit(emu, vm, &exit, &st), S_OK);
    CHECK_EQ(st.AsUINT32, 1);
    CHECK(fvmm_check_round_trip(vm, &exit.VpContext, NULL, &st) == NULL);
    CHECK_EQ(fvmm_port_write_count(vm), 1);
    if (fvmm_port_write_count(vm) == 1) {
        CHECK_EQ(fvmm_port_write_at(vm, 0)->port, 0x3f8);
        CHECK_EQ(fvmm_port_write_at(vm, 0)->size, 1);
        CHECK_EQ(fvmm_port_write_at(vm, 0)->data, 0x88);
    }
    CHECK_EQ(fvmm_reg64(vm, WHvX64RegisterRip), RIP0 + 1);
    CHECK_EQ(fvmm_reg64(vm, WHvX64RegisterRax), 0x1122334455667788ull);
    WHvEmulatorDestroyEmulator(emu);
    fvmm_destroy(vm);
}

int main(void)
{
    RUN(test_exit_record_layout_puts_the_contexts_where_the_sdk_does);
    RUN(test_mmio_exit_record_is_emulated_through_its_members);
    RUN(test_port_exit_record_is_emulated_through_its_members);
    return CHECK_SUMMARY();
}
