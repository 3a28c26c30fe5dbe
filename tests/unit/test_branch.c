/*
 * test_branch.c - near CALL/JMP through memory and CALL/RET with the stack
 * in device memory, on hand-checked cases: the new RIP, the pushed or
 * popped return address, RSP, and #GP for a target that is not canonical
 * or beyond the CS limit, checked before anything is pushed.
 */
#include <stdlib.h>
#include <string.h>

#include "WinHvEmulation.h"
#include "check.h"
#include "fake_vmm.h"
#include "mmio_run.h"
#include "whvemu.h"

#define RIP0 0x401000ull
#define GVA 0x7f0000001000ull
#define GPA 0xfee00000ull

struct fx {
    fake_vmm *vm;
    WHV_EMULATOR_HANDLE emu;
    WHV_VP_EXIT_CONTEXT vp;
    WHV_MEMORY_ACCESS_CONTEXT mc;
    WHV_EMULATOR_STATUS st;
};

static void fx_init(struct fx *f)
{
    memset(f, 0, sizeof(*f));
    f->vm = fvmm_create();
    fvmm_setup_long_mode(f->vm, 0);
    fvmm_set_reg64(f->vm, WHvX64RegisterRip, RIP0);
    fvmm_map_gva(f->vm, GVA, GPA);
    fvmm_set_mmio(f->vm, GPA, 1);
    if (WHvEmulatorCreateEmulator(fvmm_callbacks(), &f->emu) != S_OK)
        abort();
}

static void fx_fini(struct fx *f)
{
    WHvEmulatorDestroyEmulator(f->emu);
    fvmm_destroy(f->vm);
}

static void run(struct fx *f, const uint8_t *b, unsigned n, uint64_t gva, WHV_MEMORY_ACCESS_TYPE t)
{
    UINT64 gpa = 0;
    fvmm_translate(f->vm, gva, 0, &gpa);
    fvmm_mmio_exit d = {b, n, gpa, gva, 1, 1, t};
    fvmm_build_mmio_exit64(f->vm, &f->vp, &f->mc, &d);
    mmio_run_checked(f->vm, f->emu, &f->vp, &f->mc, &f->st);
}

static uint64_t q(struct fx *f, uint64_t gpa)
{
    uint64_t v = 0;
    fvmm_gpa_read(f->vm, gpa, &v, 8);
    return v;
}

static void test_call_through_device_memory_pushes_and_branches(void)
{
    struct fx f;
    fx_init(&f);
    uint64_t target = 0x402345;
    fvmm_gpa_write(f.vm, GPA + 0x10, &target, 8);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, GVA + 0x10);
    fvmm_set_reg64(f.vm, WHvX64RegisterRsp, 0x8000);
    static const uint8_t call[] = {0xff, 0x13}; /* call qword [rbx] */
    run(&f, call, 2, GVA + 0x10, WHvMemoryAccessRead);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), target);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRsp), 0x7FF8);
    CHECK_EQ(q(&f, 0x7FF8), RIP0 + 2);
    fx_fini(&f);
}

static void test_non_canonical_target_is_gp_before_the_push(void)
{
    struct fx f;
    fx_init(&f);
    uint64_t target = 0x0000800000000000ull;
    fvmm_gpa_write(f.vm, GPA, &target, 8);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, GVA);
    fvmm_set_reg64(f.vm, WHvX64RegisterRsp, 0x8000);
    static const uint8_t call[] = {0xff, 0x13};
    run(&f, call, 2, GVA, WHvMemoryAccessRead);
    CHECK_EQ(fvmm_injected(f.vm).InterruptionVector, 13);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRsp), 0x8000);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), RIP0);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_MEMORY), 1); /* the target read, no push */
    static const uint8_t jmp[] = {0xff, 0x23};      /* jmp qword [rbx] */
    run(&f, jmp, 2, GVA, WHvMemoryAccessRead);
    CHECK_EQ(fvmm_injected(f.vm).InterruptionVector, 13);
    target = 0xFFFF800000001000ull;
    fvmm_gpa_write(f.vm, GPA, &target, 8);
    run(&f, jmp, 2, GVA, WHvMemoryAccessRead);
    CHECK_EQ(fvmm_injected(f.vm).InterruptionPending, 0);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), target);
    fx_fini(&f);
}

static void test_ret_and_call_with_the_stack_in_device_memory(void)
{
    struct fx f;
    fx_init(&f);
    uint64_t ret = 0x404000;
    fvmm_gpa_write(f.vm, GPA + 0x100, &ret, 8);
    fvmm_set_reg64(f.vm, WHvX64RegisterRsp, GVA + 0x100);
    static const uint8_t r16[] = {0xc2, 0x10, 0x00}; /* ret 0x10 */
    run(&f, r16, 3, GVA + 0x100, WHvMemoryAccessRead);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), ret);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRsp), GVA + 0x118);
    fvmm_set_reg64(f.vm, WHvX64RegisterRip, RIP0);
    fvmm_set_reg64(f.vm, WHvX64RegisterRsp, GVA + 0x200);
    static const uint8_t call[] = {0xe8, 0x00, 0x01, 0x00, 0x00}; /* call $+5+0x100 */
    run(&f, call, 5, GVA + 0x1F8, WHvMemoryAccessWrite);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), RIP0 + 5 + 0x100);
    CHECK_EQ(q(&f, GPA + 0x1F8), RIP0 + 5);
    fx_fini(&f);
}

static void test_16_bit_near_branch_in_64_bit_mode_is_refused(void)
{
    struct fx f;
    fx_init(&f);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, GVA);
    static const uint8_t call[] = {0x66, 0xff, 0x13};
    run(&f, call, 3, GVA, WHvMemoryAccessRead);
    CHECK_EQ(f.st.AsUINT32, 2);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_SET_REGS), 0);
    fx_fini(&f);
}

int main(void)
{
    RUN(test_call_through_device_memory_pushes_and_branches);
    RUN(test_non_canonical_target_is_gp_before_the_push);
    RUN(test_ret_and_call_with_the_stack_in_device_memory);
    RUN(test_16_bit_near_branch_in_64_bit_mode_is_refused);
    return CHECK_SUMMARY();
}
