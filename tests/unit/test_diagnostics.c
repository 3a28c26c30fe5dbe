/*
 * test_diagnostics.c - whvemu_get_last_diagnostics: its argument and handle
 * rules, and every reason it reports (with the callback and its HRESULT,
 * the fault, the instruction bytes, the mnemonic, the CPU mode and the
 * message), each on a hand-checked case against the fake VMM.
 */
#include <stdlib.h>
#include <string.h>

#include "WinHvEmulation.h"
#include "check.h"
#include "fake_vmm.h"
#include "whvemu.h"

#define RIP0 0x401000ull
#define MMIO_GVA 0x7f0000001000ull
#define MMIO_GPA 0xfee00000ull

struct fixture {
    fake_vmm *vm;
    WHV_EMULATOR_HANDLE emu;
    WHV_VP_EXIT_CONTEXT vp;
    WHV_MEMORY_ACCESS_CONTEXT mc;
    WHV_EMULATOR_STATUS st;
    WHVEMU_DIAGNOSTICS d;
};

static void fx_init(struct fixture *f)
{
    memset(f, 0, sizeof(*f));
    f->vm = fvmm_create();
    fvmm_setup_long_mode(f->vm, 0);
    fvmm_set_reg64(f->vm, WHvX64RegisterRip, RIP0);
    fvmm_map_gva(f->vm, MMIO_GVA, MMIO_GPA);
    fvmm_set_mmio(f->vm, MMIO_GPA, 1);
    fvmm_set_reg64(f->vm, WHvX64RegisterRbx, MMIO_GVA);
    if (WHvEmulatorCreateEmulator(fvmm_callbacks(), &f->emu) != S_OK)
        abort();
}

static void fx_fini(struct fixture *f)
{
    WHvEmulatorDestroyEmulator(f->emu);
    fvmm_destroy(f->vm);
}

/* Builds an MMIO exit for `bytes` at MMIO_GVA (GvaValid off, so operand
 * pages are translated); `edit` may change the context before the call. */
static void fx_build(struct fixture *f, const uint8_t *bytes, unsigned n)
{
    fvmm_mmio_exit x = {bytes, n, MMIO_GPA, MMIO_GVA, 0, 1, WHvMemoryAccessRead};
    fvmm_build_mmio_exit64(f->vm, &f->vp, &f->mc, &x);
    fvmm_reset_log(f->vm);
}

/* Runs the built exit and reads the diagnostics. */
static void fx_try(struct fixture *f)
{
    CHECK_EQ(WHvEmulatorTryMmioEmulation(f->emu, f->vm, &f->vp, &f->mc, &f->st), S_OK);
    memset(&f->d, 0xCC, sizeof(f->d));
    f->d.Size = sizeof(f->d);
    CHECK_EQ(whvemu_get_last_diagnostics(f->emu, &f->d), S_OK);
    CHECK_EQ(f->d.Size, sizeof(f->d));
    CHECK(f->d.Message != NULL && f->d.Mnemonic != NULL);
    if (f->d.Message)
        CHECK(strcmp(f->d.Message, whvemu_last_failure(f->emu)) == 0);
}

static void fx_run(struct fixture *f, const uint8_t *bytes, unsigned n)
{
    fx_build(f, bytes, n);
    fx_try(f);
}

static void check_bytes(const WHVEMU_DIAGNOSTICS *d, const uint8_t *bytes, unsigned n)
{
    CHECK_EQ(d->InstructionByteCount, n);
    CHECK(memcmp(d->InstructionBytes, bytes, n) == 0);
}

static void check_no_fault(const WHVEMU_DIAGNOSTICS *d)
{
    CHECK_EQ(d->FaultVector, 0);
    CHECK_EQ(d->FaultHasErrorCode, 0);
    CHECK_EQ(d->FaultErrorCode, 0);
    CHECK_EQ(d->FaultCr2, 0);
}

static WHV_EMULATOR_HANDLE g_reentry_handle;
static HRESULT g_reentry_hr;
static HRESULT CALLBACK memory_asking_for_diagnostics(VOID *ctx, WHV_EMULATOR_MEMORY_ACCESS_INFO *a)
{
    WHVEMU_DIAGNOSTICS d;
    d.Size = sizeof(d);
    g_reentry_hr = whvemu_get_last_diagnostics(g_reentry_handle, &d);
    return fvmm_callbacks()->WHvEmulatorMemoryCallback(ctx, a);
}

static void test_bad_arguments_and_handles_are_refused(void)
{
    struct fixture f;
    fx_init(&f);
    WHVEMU_DIAGNOSTICS d;
    d.Size = sizeof(d);
    CHECK_EQ(whvemu_get_last_diagnostics(f.emu, NULL), E_INVALIDARG);
    CHECK_EQ(whvemu_get_last_diagnostics(NULL, &d), E_INVALIDARG);
    CHECK_EQ(whvemu_get_last_diagnostics((WHV_EMULATOR_HANDLE)&d, &d), E_INVALIDARG);
    d.Size = sizeof(d) - 1;
    CHECK_EQ(whvemu_get_last_diagnostics(f.emu, &d), E_INVALIDARG);
    d.Size = 0;
    CHECK_EQ(whvemu_get_last_diagnostics(f.emu, &d), E_INVALIDARG);
    WHV_EMULATOR_HANDLE dead;
    CHECK_EQ(WHvEmulatorCreateEmulator(fvmm_callbacks(), &dead), S_OK);
    CHECK_EQ(WHvEmulatorDestroyEmulator(dead), S_OK);
    d.Size = sizeof(d);
    CHECK_EQ(whvemu_get_last_diagnostics(dead, &d), E_INVALIDARG);

    /* A callback of a running call cannot read its own handle's record. */
    WHV_EMULATOR_CALLBACKS cb = *fvmm_callbacks();
    cb.WHvEmulatorMemoryCallback = memory_asking_for_diagnostics;
    WHV_EMULATOR_HANDLE h;
    CHECK_EQ(WHvEmulatorCreateEmulator(&cb, &h), S_OK);
    g_reentry_handle = h;
    g_reentry_hr = S_OK;
    static const uint8_t mov[] = {0x8b, 0x03}; /* mov eax, [rbx] */
    fx_build(&f, mov, 2);
    CHECK_EQ(WHvEmulatorTryMmioEmulation(h, f.vm, &f.vp, &f.mc, &f.st), S_OK);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(g_reentry_hr, E_INVALIDARG);
    CHECK_EQ(whvemu_get_last_diagnostics(h, &d), S_OK);
    WHvEmulatorDestroyEmulator(h);
    fx_fini(&f);
}

static void test_a_larger_size_is_accepted_and_the_rest_left_alone(void)
{
    struct fixture f;
    fx_init(&f);
    struct {
        WHVEMU_DIAGNOSTICS d;
        unsigned char tail[32];
    } big;
    memset(&big, 0x5A, sizeof(big));
    big.d.Size = sizeof(big);
    CHECK_EQ(whvemu_get_last_diagnostics(f.emu, &big.d), S_OK);
    CHECK_EQ(big.d.Size, sizeof(WHVEMU_DIAGNOSTICS));
    for (unsigned i = 0; i < sizeof(big.tail); i++)
        CHECK_EQ(big.tail[i], 0x5A);
    fx_fini(&f);
}

static void test_none_before_any_call_and_after_a_success(void)
{
    struct fixture f;
    fx_init(&f);
    WHVEMU_DIAGNOSTICS d;
    d.Size = sizeof(d);
    CHECK_EQ(whvemu_get_last_diagnostics(f.emu, &d), S_OK);
    CHECK_EQ(d.Reason, WHVEMU_DIAG_NONE);
    CHECK(strcmp(d.Message, "") == 0);
    CHECK(strcmp(d.Mnemonic, "") == 0);

    static const uint8_t cpuid[] = {0x0f, 0xa2};
    fx_run(&f, cpuid, 2);
    CHECK_EQ(f.d.Reason, WHVEMU_DIAG_NOT_EMULATED);
    static const uint8_t mov[] = {0x8b, 0x03};
    fx_run(&f, mov, 2);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(f.d.Reason, WHVEMU_DIAG_NONE);
    CHECK_EQ(f.d.CpuMode, 0);
    CHECK_EQ(f.d.Callback, WHVEMU_DIAG_CALLBACK_NONE);
    CHECK_EQ(f.d.CallbackResult, S_OK);
    CHECK_EQ(f.d.InstructionByteCount, 0);
    check_no_fault(&f.d);
    CHECK(strcmp(f.d.Message, "") == 0);
    CHECK(strcmp(f.d.Mnemonic, "") == 0);
    fx_fini(&f);
}

static void test_not_emulated_gives_the_bytes_and_no_mnemonic(void)
{
    struct fixture f;
    fx_init(&f);
    static const uint8_t cpuid[] = {0x0f, 0xa2};
    fx_run(&f, cpuid, 2);
    CHECK_EQ(f.st.AsUINT32, 2); /* InternalEmulationFailure */
    CHECK_EQ(f.d.Reason, WHVEMU_DIAG_NOT_EMULATED);
    check_bytes(&f.d, cpuid, 2);
    CHECK(strcmp(f.d.Mnemonic, "") == 0);
    CHECK(strlen(f.d.Message) > 0);
    CHECK_EQ(f.d.Callback, WHVEMU_DIAG_CALLBACK_NONE);
    check_no_fault(&f.d);
    fx_fini(&f);
}

static void test_a_decoded_form_refused_names_its_mnemonic(void)
{
    struct fixture f;
    fx_init(&f);
    /* vmovdqu ymm0, [rbx] without the xstate callback: decoded, refused. */
    static const uint8_t insn[] = {0xc5, 0xfe, 0x6f, 0x03, 0x90, 0x90};
    fx_run(&f, insn, sizeof(insn));
    CHECK_EQ(f.st.AsUINT32, 2);
    CHECK_EQ(f.d.Reason, WHVEMU_DIAG_NOT_EMULATED);
    CHECK(strcmp(f.d.Mnemonic, "vmovdqu") == 0);
    check_bytes(&f.d, insn, 4); /* the instruction's own bytes only */
    fx_fini(&f);
}

static void test_invalid_encoding_reports_the_injected_ud(void)
{
    struct fixture f;
    fx_init(&f);
    static const uint8_t insn[] = {0x66, 0xc5, 0xfe, 0x6f, 0x03}; /* 66 before VEX */
    fx_run(&f, insn, 5);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_injected(f.vm).InterruptionVector, 6);
    CHECK_EQ(f.d.Reason, WHVEMU_DIAG_INVALID_ENCODING);
    CHECK_EQ(f.d.FaultVector, 6);
    CHECK_EQ(f.d.FaultHasErrorCode, 0);
    check_bytes(&f.d, insn, 5);
    CHECK(strcmp(f.d.Mnemonic, "") == 0);
    CHECK(strcmp(f.d.Message, "") == 0); /* the status is EmulationSuccessful */
    fx_fini(&f);
}

static void test_injected_faults_give_vector_error_code_and_cr2(void)
{
    struct fixture f;
    fx_init(&f);
    /* #GP(0): a non-canonical address. */
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, 0x8000000000000000ull);
    static const uint8_t mov[] = {0x8b, 0x03};
    fx_run(&f, mov, 2);
    CHECK_EQ(f.d.Reason, WHVEMU_DIAG_FAULT_INJECTED);
    CHECK_EQ(f.d.FaultVector, 13);
    CHECK_EQ(f.d.FaultHasErrorCode, 1);
    CHECK_EQ(f.d.FaultErrorCode, 0);
    CHECK_EQ(f.d.FaultCr2, 0);
    CHECK(strcmp(f.d.Mnemonic, "mov") == 0);
    check_bytes(&f.d, mov, 2);

    /* #PF: a write to a page the translation says is not present. */
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, MMIO_GVA + 0x10);
    fvmm_map_gva_ex(f.vm, MMIO_GVA, WHvTranslateGvaResultPageNotPresent, 0, 0);
    static const uint8_t store[] = {0x89, 0x03}; /* mov [rbx], eax */
    fx_run(&f, store, 2);
    CHECK_EQ(f.d.Reason, WHVEMU_DIAG_FAULT_INJECTED);
    CHECK_EQ(f.d.FaultVector, 14);
    CHECK_EQ(f.d.FaultHasErrorCode, 1);
    CHECK_EQ(f.d.FaultErrorCode, 0x2); /* W, not present */
    CHECK_EQ(f.d.FaultCr2, MMIO_GVA + 0x10);

    /* #DE: no error code. */
    fvmm_map_gva(f.vm, MMIO_GVA, MMIO_GPA);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, MMIO_GVA);
    static const uint8_t div[] = {0xf7, 0x33}; /* div dword [rbx], memory holds 0 */
    fx_run(&f, div, 2);
    CHECK_EQ(f.d.Reason, WHVEMU_DIAG_FAULT_INJECTED);
    CHECK_EQ(f.d.FaultVector, 0);
    CHECK_EQ(f.d.FaultHasErrorCode, 0);
    CHECK(strcmp(f.d.Mnemonic, "div") == 0);
    fx_fini(&f);
}

static void test_each_failed_callback_is_named_with_its_hresult(void)
{
    static const struct {
        fvmm_cb_kind kind;
        uint32_t status;
        UINT32 callback;
        HRESULT hr;
    } cases[] = {
        {FVMM_CB_MEMORY, 0x8, WHVEMU_DIAG_CALLBACK_MEMORY, (HRESULT)0x80070005L},
        {FVMM_CB_GET_REGS, 0x40, WHVEMU_DIAG_CALLBACK_GET_REGISTERS, (HRESULT)0x80370309L},
        {FVMM_CB_SET_REGS, 0x80, WHVEMU_DIAG_CALLBACK_SET_REGISTERS, E_OUTOFMEMORY},
        {FVMM_CB_TRANSLATE, 0x10, WHVEMU_DIAG_CALLBACK_TRANSLATE_GVA_PAGE, E_FAIL},
        {FVMM_CB_MEMORY, 0x8, WHVEMU_DIAG_CALLBACK_MEMORY, S_FALSE},
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fixture f;
        fx_init(&f);
        static const uint8_t add[] = {0x01, 0x03}; /* add [rbx], eax */
        fx_build(&f, add, 2);
        fvmm_fail_nth(f.vm, cases[i].kind, 1, cases[i].hr);
        fx_try(&f);
        CHECK_EQ(f.st.AsUINT32, cases[i].status);
        CHECK_EQ(f.d.Reason, WHVEMU_DIAG_CALLBACK_FAILED);
        CHECK_EQ(f.d.Callback, cases[i].callback);
        CHECK_EQ(f.d.CallbackResult, cases[i].hr);
        CHECK(strcmp(f.d.Mnemonic, "add") == 0);
        check_bytes(&f.d, add, 2);
        check_no_fault(&f.d);
        CHECK(strlen(f.d.Message) > 0);
        fx_fini(&f);
    }
}

static void test_an_unaligned_gpa_names_translate_with_s_ok(void)
{
    struct fixture f;
    fx_init(&f);
    static const uint8_t mov[] = {0x8b, 0x03};
    fx_build(&f, mov, 2);
    fvmm_translate_nth(f.vm, 1, WHvTranslateGvaResultSuccess, 0x10);
    fx_try(&f);
    CHECK_EQ(f.st.AsUINT32, 0x20); /* TranslateGvaPageCallbackGpaIsNotAligned */
    CHECK_EQ(f.d.Reason, WHVEMU_DIAG_CALLBACK_FAILED);
    CHECK_EQ(f.d.Callback, WHVEMU_DIAG_CALLBACK_TRANSLATE_GVA_PAGE);
    CHECK_EQ(f.d.CallbackResult, S_OK);
    fx_fini(&f);
}

static void test_a_failed_xstate_read_names_the_xstate_callback(void)
{
    struct fixture f;
    fx_init(&f);
    CHECK_EQ(whvemu_set_xstate_callback(f.emu, fvmm_xstate_callback()), S_OK);
    static const uint8_t insn[] = {0xc5, 0xfe, 0x6f, 0x03}; /* vmovdqu ymm0, [rbx] */
    fx_build(&f, insn, 4);
    fvmm_fail_nth(f.vm, FVMM_CB_XSTATE, 1, E_ACCESSDENIED);
    fx_try(&f);
    CHECK_EQ(f.st.AsUINT32, 0x40); /* GetVirtualProcessorRegistersCallbackFailed */
    CHECK_EQ(f.d.Reason, WHVEMU_DIAG_CALLBACK_FAILED);
    CHECK_EQ(f.d.Callback, WHVEMU_DIAG_CALLBACK_XSTATE);
    CHECK_EQ(f.d.CallbackResult, E_ACCESSDENIED);
    CHECK(strcmp(f.d.Mnemonic, "vmovdqu") == 0);
    fx_fini(&f);
}

/* OUT DX, AL through the port exit; returns the status. */
static uint32_t run_out(struct fixture *f, const uint8_t *bytes, unsigned n, unsigned size)
{
    WHV_X64_IO_PORT_ACCESS_CONTEXT io;
    fvmm_build_exit64(&f->vp, 0, RIP0, 2);
    f->vp.InstructionLength = 1;
    memset(&io, 0, sizeof(io));
    io.InstructionByteCount = (UINT8)n;
    memcpy(io.InstructionBytes, bytes, n);
    io.AccessInfo.IsWrite = 1;
    io.AccessInfo.AccessSize = size;
    io.PortNumber = 0x3f8;
    fvmm_reset_log(f->vm);
    CHECK_EQ(WHvEmulatorTryIoEmulation(f->emu, f->vm, &f->vp, &io, &f->st), S_OK);
    f->d.Size = sizeof(f->d);
    CHECK_EQ(whvemu_get_last_diagnostics(f->emu, &f->d), S_OK);
    return f->st.AsUINT32;
}

static void test_a_failed_port_callback_is_named_with_its_hresult(void)
{
    struct fixture f;
    fx_init(&f);
    static const uint8_t out[] = {0xee}; /* out dx, al */
    fvmm_reset_log(f.vm);
    WHV_X64_IO_PORT_ACCESS_CONTEXT io;
    fvmm_build_exit64(&f.vp, 0, RIP0, 2);
    f.vp.InstructionLength = 1;
    memset(&io, 0, sizeof(io));
    io.InstructionByteCount = 1;
    io.InstructionBytes[0] = out[0];
    io.AccessInfo.IsWrite = 1;
    io.AccessInfo.AccessSize = 1;
    io.PortNumber = 0x3f8;
    fvmm_fail_nth(f.vm, FVMM_CB_IO, 1, E_NOTIMPL);
    CHECK_EQ(WHvEmulatorTryIoEmulation(f.emu, f.vm, &f.vp, &io, &f.st), S_OK);
    CHECK_EQ(f.st.AsUINT32, 0x4); /* IoPortCallbackFailed */
    f.d.Size = sizeof(f.d);
    CHECK_EQ(whvemu_get_last_diagnostics(f.emu, &f.d), S_OK);
    CHECK_EQ(f.d.Reason, WHVEMU_DIAG_CALLBACK_FAILED);
    CHECK_EQ(f.d.Callback, WHVEMU_DIAG_CALLBACK_IO_PORT);
    CHECK_EQ(f.d.CallbackResult, E_NOTIMPL);
    CHECK(strcmp(f.d.Mnemonic, "out") == 0);
    check_bytes(&f.d, out, 1);
    fx_fini(&f);
}

static void test_an_exit_that_does_not_fit_the_bytes_is_inconsistent(void)
{
    struct fixture f;
    fx_init(&f);
    /* A port exit of 2 bytes for OUT DX, AL. */
    static const uint8_t out[] = {0xee};
    CHECK_EQ(run_out(&f, out, 1, 2), 2);
    CHECK_EQ(f.d.Reason, WHVEMU_DIAG_INCONSISTENT_EXIT);
    CHECK(strcmp(f.d.Mnemonic, "out") == 0);
    CHECK(strlen(f.d.Message) > 0);
    /* A port exit for a MOV. */
    static const uint8_t mov[] = {0x8b, 0x03};
    CHECK_EQ(run_out(&f, mov, 2, 1), 2);
    CHECK_EQ(f.d.Reason, WHVEMU_DIAG_INCONSISTENT_EXIT);
    /* A memory exit for OUT DX, AL. */
    fx_run(&f, out, 1);
    CHECK_EQ(f.st.AsUINT32, 2);
    CHECK_EQ(f.d.Reason, WHVEMU_DIAG_INCONSISTENT_EXIT);
    check_bytes(&f.d, out, 1);
    fx_fini(&f);
}

static void test_an_exit_during_event_delivery_is_reported(void)
{
    struct fixture f;
    fx_init(&f);
    static const uint8_t mov[] = {0x8b, 0x03};
    fx_build(&f, mov, 2);
    f.vp.ExecutionState.InterruptionPending = 1;
    fx_try(&f);
    CHECK_EQ(f.st.AsUINT32, 0x100); /* InterruptCausedIntercept */
    CHECK_EQ(f.d.Reason, WHVEMU_DIAG_INTERRUPTION_PENDING);
    check_bytes(&f.d, mov, 2);
    CHECK(strcmp(f.d.Mnemonic, "") == 0);
    fx_fini(&f);
}

static void test_an_unknown_translate_result_is_internal(void)
{
    struct fixture f;
    fx_init(&f);
    static const uint8_t mov[] = {0x8b, 0x03};
    fx_build(&f, mov, 2);
    fvmm_translate_nth(f.vm, 1, (WHV_TRANSLATE_GVA_RESULT_CODE)42, 0);
    fx_try(&f);
    CHECK_EQ(f.st.AsUINT32, 2);
    CHECK_EQ(f.d.Reason, WHVEMU_DIAG_INTERNAL);
    CHECK_EQ(f.d.Callback, WHVEMU_DIAG_CALLBACK_NONE);
    CHECK(strlen(f.d.Message) > 0);
    fx_fini(&f);
}

static void test_the_cpu_mode_of_each_exit_is_reported(void)
{
    static const struct {
        int pe, lma, l, d, vm;
        UINT32 mode;
    } cases[] = {
        {0, 0, 0, 0, 0, WHVEMU_CPU_MODE_REAL},     {1, 0, 0, 0, 1, WHVEMU_CPU_MODE_V86},
        {1, 0, 0, 0, 0, WHVEMU_CPU_MODE_PROT16},   {1, 0, 0, 1, 0, WHVEMU_CPU_MODE_PROT32},
        {1, 1, 0, 0, 0, WHVEMU_CPU_MODE_COMPAT16}, {1, 1, 0, 1, 0, WHVEMU_CPU_MODE_COMPAT32},
        {1, 1, 1, 0, 0, WHVEMU_CPU_MODE_LONG64},
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fixture f;
        fx_init(&f);
        static const uint8_t cpuid[] = {0x0f, 0xa2};
        fx_build(&f, cpuid, 2);
        f.vp.ExecutionState.Cr0Pe = (UINT16)cases[i].pe;
        f.vp.ExecutionState.EferLma = (UINT16)cases[i].lma;
        f.vp.Cs.Long = (UINT16)cases[i].l;
        f.vp.Cs.Default = (UINT16)cases[i].d;
        f.vp.Rflags = cases[i].vm ? 0x20002u : 2u;
        fx_try(&f);
        CHECK_EQ(f.d.Reason, WHVEMU_DIAG_NOT_EMULATED);
        CHECK_EQ(f.d.CpuMode, cases[i].mode);
        fx_fini(&f);
    }
}

int main(void)
{
    RUN(test_bad_arguments_and_handles_are_refused);
    RUN(test_a_larger_size_is_accepted_and_the_rest_left_alone);
    RUN(test_none_before_any_call_and_after_a_success);
    RUN(test_not_emulated_gives_the_bytes_and_no_mnemonic);
    RUN(test_a_decoded_form_refused_names_its_mnemonic);
    RUN(test_invalid_encoding_reports_the_injected_ud);
    RUN(test_injected_faults_give_vector_error_code_and_cr2);
    RUN(test_each_failed_callback_is_named_with_its_hresult);
    RUN(test_an_unaligned_gpa_names_translate_with_s_ok);
    RUN(test_a_failed_xstate_read_names_the_xstate_callback);
    RUN(test_a_failed_port_callback_is_named_with_its_hresult);
    RUN(test_an_exit_that_does_not_fit_the_bytes_is_inconsistent);
    RUN(test_an_exit_during_event_delivery_is_reported);
    RUN(test_an_unknown_translate_result_is_internal);
    RUN(test_the_cpu_mode_of_each_exit_is_reported);
    return CHECK_SUMMARY();
}
