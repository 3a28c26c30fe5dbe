/*
 * test_api.c - the API contract: argument checks, handles, re-entry,
 * statuses, callback failures, fault injection and the round-trip rules,
 * each on a hand-checked case against the fake VMM.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "WinHvEmulation.h"
#include "check.h"
#include "fake_vmm.h"
#include "mmio_run.h"
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
};

static void fx_init(struct fixture *f, unsigned cpl)
{
    memset(f, 0, sizeof(*f));
    f->vm = fvmm_create();
    fvmm_setup_long_mode(f->vm, cpl);
    fvmm_set_reg64(f->vm, WHvX64RegisterRip, RIP0);
    fvmm_map_gva(f->vm, MMIO_GVA, MMIO_GPA);
    fvmm_set_mmio(f->vm, MMIO_GPA, 1);
    if (WHvEmulatorCreateEmulator(fvmm_callbacks(), &f->emu) != S_OK)
        abort();
}

static void fx_fini(struct fixture *f)
{
    WHvEmulatorDestroyEmulator(f->emu);
    fvmm_destroy(f->vm);
}

/* Emulates `bytes` (count n, 0 = fetch from guest memory at RIP) for an
 * exit at gva (GvaValid as given) and checks the round-trip rules. */
static void fx_run(struct fixture *f, const uint8_t *bytes, unsigned n, uint64_t gva, int gva_valid,
                   WHV_MEMORY_ACCESS_TYPE type)
{
    UINT64 gpa = 0;
    fvmm_translate(f->vm, gva, 0, &gpa);
    fvmm_mmio_exit d = {bytes, n, gpa, gva, gva_valid, 1, type};
    fvmm_build_mmio_exit64(f->vm, &f->vp, &f->mc, &d);
    mmio_run_checked(f->vm, f->emu, &f->vp, &f->mc, &f->st); /* S_OK checked */
}

static HRESULT CALLBACK nop_io(VOID *c, WHV_EMULATOR_IO_ACCESS_INFO *a)
{
    (void)c;
    (void)a;
    return S_OK;
}

static void test_create_rejects_bad_arguments(void)
{
    WHV_EMULATOR_CALLBACKS cb = *fvmm_callbacks();
    WHV_EMULATOR_HANDLE h = (WHV_EMULATOR_HANDLE)&cb;
    CHECK_EQ(WHvEmulatorCreateEmulator(&cb, NULL), E_INVALIDARG);
    CHECK_EQ(WHvEmulatorCreateEmulator(NULL, &h), E_INVALIDARG);
    CHECK(h == NULL);
    cb.Size = 47;
    CHECK_EQ(WHvEmulatorCreateEmulator(&cb, &h), E_INVALIDARG);
    cb.Size = 49;
    CHECK_EQ(WHvEmulatorCreateEmulator(&cb, &h), E_INVALIDARG);
    for (int i = 0; i < 5; i++) {
        WHV_EMULATOR_CALLBACKS c2 = *fvmm_callbacks();
        void **slot = (void **)((char *)&c2 + 8 + 8 * i);
        *slot = NULL;
        h = (WHV_EMULATOR_HANDLE)&c2;
        CHECK_EQ(WHvEmulatorCreateEmulator(&c2, &h), E_INVALIDARG);
        CHECK(h == NULL);
    }
}

static void test_create_copies_the_callback_table(void)
{
    WHV_EMULATOR_CALLBACKS *cb = malloc(sizeof(*cb));
    *cb = *fvmm_callbacks();
    cb->WHvEmulatorIoPortCallback = nop_io;
    WHV_EMULATOR_HANDLE h;
    CHECK_EQ(WHvEmulatorCreateEmulator(cb, &h), S_OK);
    memset(cb, 0, sizeof(*cb));
    free(cb);
    /* The handle still works: a MOV load through the copied table. */
    fake_vmm *vm = fvmm_create();
    fvmm_setup_long_mode(vm, 0);
    fvmm_set_reg64(vm, WHvX64RegisterRip, RIP0);
    fvmm_set_reg64(vm, WHvX64RegisterRbx, MMIO_GVA);
    static const uint8_t mov[] = {0x8b, 0x03};
    WHV_VP_EXIT_CONTEXT vp;
    WHV_MEMORY_ACCESS_CONTEXT mc;
    fvmm_mmio_exit d = {mov, 2, MMIO_GVA, MMIO_GVA, 1, 1, WHvMemoryAccessRead};
    fvmm_build_mmio_exit64(vm, &vp, &mc, &d);
    WHV_EMULATOR_STATUS st;
    CHECK_EQ(WHvEmulatorTryMmioEmulation(h, vm, &vp, &mc, &st), S_OK);
    CHECK_EQ(st.AsUINT32, 1);
    CHECK_EQ(WHvEmulatorDestroyEmulator(h), S_OK);
    fvmm_destroy(vm);
}

static void test_try_rejects_bad_arguments_and_zeroes_status(void)
{
    struct fixture f;
    fx_init(&f, 0);
    static const uint8_t mov[] = {0x8b, 0x03};
    fvmm_mmio_exit d = {mov, 2, MMIO_GPA, MMIO_GVA, 1, 1, WHvMemoryAccessRead};
    fvmm_build_mmio_exit64(f.vm, &f.vp, &f.mc, &d);
    uint64_t foreign[8] = {0};
    f.st.AsUINT32 = 0xFFFFFFFF;
    CHECK_EQ(WHvEmulatorTryMmioEmulation(NULL, f.vm, &f.vp, &f.mc, &f.st), E_INVALIDARG);
    CHECK_EQ(f.st.AsUINT32, 0);
    CHECK_EQ(WHvEmulatorTryMmioEmulation(foreign, f.vm, &f.vp, &f.mc, &f.st), E_INVALIDARG);
    CHECK_EQ(WHvEmulatorTryMmioEmulation(f.emu, f.vm, NULL, &f.mc, &f.st), E_INVALIDARG);
    CHECK_EQ(WHvEmulatorTryMmioEmulation(f.emu, f.vm, &f.vp, NULL, &f.st), E_INVALIDARG);
    CHECK_EQ(WHvEmulatorTryMmioEmulation(f.emu, f.vm, &f.vp, &f.mc, NULL), E_INVALIDARG);
    f.mc.InstructionByteCount = 17;
    CHECK_EQ(WHvEmulatorTryMmioEmulation(f.emu, f.vm, &f.vp, &f.mc, &f.st), E_INVALIDARG);
    WHV_X64_IO_PORT_ACCESS_CONTEXT io;
    memset(&io, 0, sizeof(io));
    CHECK_EQ(WHvEmulatorTryIoEmulation(NULL, f.vm, &f.vp, &io, &f.st), E_INVALIDARG);
    CHECK_EQ(WHvEmulatorTryIoEmulation(f.emu, f.vm, &f.vp, NULL, &f.st), E_INVALIDARG);
    CHECK_EQ(WHvEmulatorTryIoEmulation(f.emu, f.vm, &f.vp, &io, NULL), E_INVALIDARG);
    CHECK_EQ(fvmm_call_count(f.vm), 0);
    CHECK_EQ(WHvEmulatorDestroyEmulator(NULL), E_INVALIDARG);
    CHECK_EQ(WHvEmulatorDestroyEmulator(foreign), E_INVALIDARG);
    CHECK(whvemu_last_failure(foreign) == NULL);
    fx_fini(&f);
}

/* A callback that re-enters the emulator on the same handle. */
static WHV_EMULATOR_HANDLE reenter_handle;
static HRESULT reenter_try_hr, reenter_destroy_hr;
static WHV_EMULATOR_GET_VIRTUAL_PROCESSOR_REGISTERS_CALLBACK real_get;

static HRESULT CALLBACK reentering_get(VOID *ctx, const WHV_REGISTER_NAME *n, UINT32 c,
                                       WHV_REGISTER_VALUE *v)
{
    WHV_VP_EXIT_CONTEXT vp;
    WHV_MEMORY_ACCESS_CONTEXT mc;
    WHV_EMULATOR_STATUS st;
    memset(&vp, 0, sizeof(vp));
    memset(&mc, 0, sizeof(mc));
    reenter_try_hr = WHvEmulatorTryMmioEmulation(reenter_handle, ctx, &vp, &mc, &st);
    reenter_destroy_hr = WHvEmulatorDestroyEmulator(reenter_handle);
    return real_get(ctx, n, c, v);
}

static void test_reentry_and_destroy_during_a_call_are_refused(void)
{
    WHV_EMULATOR_CALLBACKS cb = *fvmm_callbacks();
    real_get = cb.WHvEmulatorGetVirtualProcessorRegisters;
    cb.WHvEmulatorGetVirtualProcessorRegisters = reentering_get;
    struct fixture f;
    fx_init(&f, 0);
    WHvEmulatorDestroyEmulator(f.emu);
    CHECK_EQ(WHvEmulatorCreateEmulator(&cb, &f.emu), S_OK);
    reenter_handle = f.emu;
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, MMIO_GVA);
    static const uint8_t mov[] = {0x8b, 0x03};
    fx_run(&f, mov, 2, MMIO_GVA, 1, WHvMemoryAccessRead); /* S_OK checked there */
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(reenter_try_hr, E_INVALIDARG);
    CHECK_EQ(reenter_destroy_hr, E_INVALIDARG);
    fx_fini(&f);
}

struct thread_arg {
    int ok;
};

static void *thread_body(void *p)
{
    struct thread_arg *a = p;
    struct fixture f;
    fx_init(&f, 0);
    static const uint8_t add[] = {0x48, 0x01, 0x03}; /* add [rbx], rax */
    uint64_t expect = 0;
    a->ok = 1;
    for (int i = 0; i < 2000; i++) {
        fvmm_set_reg64(f.vm, WHvX64RegisterRbx, MMIO_GVA);
        fvmm_set_reg64(f.vm, WHvX64RegisterRax, (uint64_t)i);
        expect += (uint64_t)i;
        UINT64 gpa;
        fvmm_translate(f.vm, MMIO_GVA, 0, &gpa);
        fvmm_mmio_exit d = {add, 3, gpa, MMIO_GVA, 1, 1, WHvMemoryAccessWrite};
        fvmm_build_mmio_exit64(f.vm, &f.vp, &f.mc, &d);
        fvmm_reset_log(f.vm);
        if (WHvEmulatorTryMmioEmulation(f.emu, f.vm, &f.vp, &f.mc, &f.st) != S_OK ||
            f.st.AsUINT32 != 1)
            a->ok = 0;
        fvmm_set_reg64(f.vm, WHvX64RegisterRip, RIP0);
    }
    uint64_t got = 0;
    fvmm_gpa_read(f.vm, MMIO_GPA, &got, 8);
    if (got != expect)
        a->ok = 0;
    fx_fini(&f);
    return NULL;
}

static void test_handles_are_independent_across_threads(void)
{
    pthread_t t[4];
    struct thread_arg a[4];
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, thread_body, &a[i]) == 0);
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK(a[i].ok);
    }
}

static void test_pending_interruption_reports_interrupt_caused_intercept(void)
{
    struct fixture f;
    fx_init(&f, 0);
    static const uint8_t mov[] = {0x8b, 0x03};
    fvmm_mmio_exit d = {mov, 2, MMIO_GPA, MMIO_GVA, 1, 1, WHvMemoryAccessRead};
    fvmm_build_mmio_exit64(f.vm, &f.vp, &f.mc, &d);
    f.vp.ExecutionState.InterruptionPending = 1;
    fvmm_reset_log(f.vm);
    CHECK_EQ(WHvEmulatorTryMmioEmulation(f.emu, f.vm, &f.vp, &f.mc, &f.st), S_OK);
    CHECK_EQ(f.st.AsUINT32, 0x100);
    CHECK_EQ(fvmm_call_count(f.vm), 0);
    fx_fini(&f);
}

static void test_mov_load_uses_exit_gpa_and_one_get_one_set(void)
{
    struct fixture f;
    fx_init(&f, 0);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, MMIO_GVA + 8);
    fvmm_set_reg64(f.vm, WHvX64RegisterRax, 0xAAAAAAAAAAAAAAAAull);
    uint32_t val = 0x12345678;
    fvmm_gpa_write(f.vm, MMIO_GPA + 8, &val, 4);
    static const uint8_t mov[] = {0x8b, 0x03}; /* mov eax, [rbx] */
    fx_run(&f, mov, 2, MMIO_GVA + 8, 1, WHvMemoryAccessRead);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRax), 0x12345678); /* zero-extended */
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), RIP0 + 2);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_TRANSLATE), 0);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_MEMORY), 1);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_GET_REGS), 1);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_SET_REGS), 1);
    /* Only RBX was asked for: RAX is written in full, RIP/RFLAGS/CS come
     * from the exit, and the exit's page (canonical in 48 bits) settles the
     * operand's canonical width without CR4. */
    const fvmm_call *get = fvmm_call_at(f.vm, 0);
    CHECK_EQ(get->kind, FVMM_CB_GET_REGS);
    CHECK_EQ(get->u.regs.count, 1);
    CHECK_EQ(fvmm_call_reg_names(f.vm, get)[0], WHvX64RegisterRbx);
    fx_fini(&f);
}

static void test_fetches_instruction_bytes_when_the_exit_has_none(void)
{
    struct fixture f;
    fx_init(&f, 0);
    /* mov dword [rbx], 0x11223344 placed across a page boundary. */
    static const uint8_t insn[] = {0xc7, 0x03, 0x44, 0x33, 0x22, 0x11};
    uint64_t rip = 0x402ffd;
    fvmm_set_reg64(f.vm, WHvX64RegisterRip, rip);
    fvmm_gva_write(f.vm, rip, insn, sizeof(insn));
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, MMIO_GVA);
    fx_run(&f, NULL, 0, MMIO_GVA, 1, WHvMemoryAccessWrite);
    CHECK_EQ(f.st.AsUINT32, 1);
    uint32_t got = 0;
    fvmm_gpa_read(f.vm, MMIO_GPA, &got, 4);
    CHECK_EQ(got, 0x11223344);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), rip + 6);
    /* Two pages of code, each translated once for execute. */
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_TRANSLATE), 2);
    for (size_t i = 0; i < fvmm_call_count(f.vm); i++) {
        const fvmm_call *c = fvmm_call_at(f.vm, i);
        if (c->kind == FVMM_CB_TRANSLATE)
            CHECK(c->u.translate.flags & WHvTranslateGvaFlagValidateExecute);
    }
    fx_fini(&f);
}

static void test_callback_failures_set_their_bit_and_write_nothing(void)
{
    static const struct {
        fvmm_cb_kind kind;
        uint32_t bit;
    } cases[] = {
        {FVMM_CB_MEMORY, 0x8},
        {FVMM_CB_GET_REGS, 0x40},
        {FVMM_CB_SET_REGS, 0x80},
        {FVMM_CB_TRANSLATE, 0x10},
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fixture f;
        fx_init(&f, 0);
        fvmm_set_reg64(f.vm, WHvX64RegisterRbx, MMIO_GVA);
        static const uint8_t add[] = {0x01, 0x03}; /* add [rbx], eax */
        UINT64 gpa;
        fvmm_translate(f.vm, MMIO_GVA, 0, &gpa);
        fvmm_mmio_exit d = {add, 2, gpa, MMIO_GVA, 0, 1, WHvMemoryAccessRead};
        fvmm_build_mmio_exit64(f.vm, &f.vp, &f.mc, &d);
        fvmm_reset_log(f.vm);
        fvmm_fail_nth(f.vm, cases[i].kind, 1, E_FAIL);
        CHECK_EQ(WHvEmulatorTryMmioEmulation(f.emu, f.vm, &f.vp, &f.mc, &f.st), S_OK);
        CHECK_EQ(f.st.AsUINT32, cases[i].bit);
        CHECK(fvmm_check_round_trip(f.vm, &f.vp, &f.mc, &f.st) == NULL);
        CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), RIP0);
        CHECK(whvemu_last_failure(f.emu)[0] != 0);
        fx_fini(&f);
    }
}

static void test_s_false_from_a_callback_counts_as_failure(void)
{
    struct fixture f;
    fx_init(&f, 0);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, MMIO_GVA);
    static const uint8_t mov[] = {0x8b, 0x03};
    fvmm_mmio_exit d = {mov, 2, MMIO_GPA, MMIO_GVA, 1, 1, WHvMemoryAccessRead};
    fvmm_build_mmio_exit64(f.vm, &f.vp, &f.mc, &d);
    fvmm_reset_log(f.vm);
    fvmm_fail_nth(f.vm, FVMM_CB_MEMORY, 1, S_FALSE);
    CHECK_EQ(WHvEmulatorTryMmioEmulation(f.emu, f.vm, &f.vp, &f.mc, &f.st), S_OK);
    CHECK_EQ(f.st.AsUINT32, 0x8);
    fx_fini(&f);
}

static void test_unaligned_gpa_from_translate_is_reported(void)
{
    struct fixture f;
    fx_init(&f, 0);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, MMIO_GVA);
    static const uint8_t mov[] = {0x8b, 0x03};
    fx_run(&f, NULL, 0, 0, 0, WHvMemoryAccessRead); /* warm-up: RIP page is empty */
    fvmm_set_reg64(f.vm, WHvX64RegisterRip, RIP0);
    UINT64 gpa;
    fvmm_translate(f.vm, MMIO_GVA, 0, &gpa);
    fvmm_mmio_exit d = {mov, 2, gpa, MMIO_GVA, 0, 1, WHvMemoryAccessRead};
    fvmm_build_mmio_exit64(f.vm, &f.vp, &f.mc, &d);
    fvmm_reset_log(f.vm);
    fvmm_translate_nth(f.vm, 1, WHvTranslateGvaResultSuccess, 0x10);
    CHECK_EQ(WHvEmulatorTryMmioEmulation(f.emu, f.vm, &f.vp, &f.mc, &f.st), S_OK);
    CHECK_EQ(f.st.AsUINT32, 0x20);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_MEMORY), 0);
    fx_fini(&f);
}

static void test_translate_results_map_to_faults_or_access(void)
{
    static const struct {
        WHV_TRANSLATE_GVA_RESULT_CODE result;
        int vector; /* -1: the access goes to the memory callback */
        uint32_t ec;
    } cases[] = {
        {WHvTranslateGvaResultGpaUnmapped, -1, 0},
        {WHvTranslateGvaResultGpaNoReadAccess, -1, 0},
        {WHvTranslateGvaResultGpaNoWriteAccess, -1, 0},
        {WHvTranslateGvaResultPageNotPresent, 14, 0x2},           /* W */
        {WHvTranslateGvaResultPrivilegeViolation, 14, 0x3},       /* P|W */
        {WHvTranslateGvaResultInvalidPageTableFlags, 14, 0xB},    /* P|W|RSVD */
        {WHvTranslateGvaResultGpaIllegalOverlayAccess, 13, 0},
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fixture f;
        fx_init(&f, 0);
        fvmm_set_reg64(f.vm, WHvX64RegisterRbx, MMIO_GVA + 0x10);
        fvmm_set_reg64(f.vm, WHvX64RegisterRax, 0x55);
        static const uint8_t mov[] = {0x89, 0x03}; /* mov [rbx], eax */
        fvmm_mmio_exit d = {mov, 2, MMIO_GPA + 0x10, MMIO_GVA + 0x10, 0, 1, WHvMemoryAccessWrite};
        fvmm_build_mmio_exit64(f.vm, &f.vp, &f.mc, &d);
        fvmm_reset_log(f.vm);
        fvmm_translate_nth(f.vm, 1, cases[i].result, 0);
        CHECK_EQ(WHvEmulatorTryMmioEmulation(f.emu, f.vm, &f.vp, &f.mc, &f.st), S_OK);
        CHECK_EQ(f.st.AsUINT32, 1);
        CHECK(fvmm_check_round_trip(f.vm, &f.vp, &f.mc, &f.st) == NULL);
        WHV_X64_PENDING_INTERRUPTION_REGISTER pi = fvmm_injected(f.vm);
        if (cases[i].vector < 0) {
            CHECK_EQ(pi.InterruptionPending, 0);
            CHECK_EQ(fvmm_count(f.vm, FVMM_CB_MEMORY), 1);
            CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), RIP0 + 2);
        } else {
            CHECK_EQ(pi.InterruptionPending, 1);
            CHECK_EQ(pi.InterruptionType, WHvX64PendingException);
            CHECK_EQ(pi.InterruptionVector, cases[i].vector);
            CHECK_EQ(pi.DeliverErrorCode, 1);
            CHECK_EQ(pi.ErrorCode, cases[i].ec);
            CHECK_EQ(fvmm_count(f.vm, FVMM_CB_MEMORY), 0);
            CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), RIP0);
            if (cases[i].vector == 14)
                CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterCr2), MMIO_GVA + 0x10);
        }
        fx_fini(&f);
    }
}

static void test_translate_intercept_is_refused(void)
{
    struct fixture f;
    fx_init(&f, 0);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, MMIO_GVA);
    static const uint8_t mov[] = {0x8b, 0x03};
    fvmm_mmio_exit d = {mov, 2, MMIO_GPA, MMIO_GVA, 0, 1, WHvMemoryAccessRead};
    fvmm_build_mmio_exit64(f.vm, &f.vp, &f.mc, &d);
    fvmm_reset_log(f.vm);
    fvmm_translate_nth(f.vm, 1, WHvTranslateGvaResultIntercept, 0);
    CHECK_EQ(WHvEmulatorTryMmioEmulation(f.emu, f.vm, &f.vp, &f.mc, &f.st), S_OK);
    CHECK_EQ(f.st.AsUINT32, 2);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_SET_REGS), 0);
    fx_fini(&f);
}

static void test_page_crossing_store_translates_both_pages_before_writing(void)
{
    struct fixture f;
    fx_init(&f, 3);
    uint64_t gva = MMIO_GVA + 0xFFE;
    fvmm_map_gva(f.vm, MMIO_GVA + 0x1000, MMIO_GPA + 0x5000);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, gva);
    fvmm_set_reg64(f.vm, WHvX64RegisterRax, 0x0807060504030201ull);
    static const uint8_t mov[] = {0x48, 0x89, 0x03}; /* mov [rbx], rax */
    fx_run(&f, mov, 3, gva, 1, WHvMemoryAccessWrite);
    CHECK_EQ(f.st.AsUINT32, 1);
    /* Pieces of 2 and 6 bytes, in ascending order, on the two GPA pages. */
    unsigned mem = 0;
    for (size_t i = 0; i < fvmm_call_count(f.vm); i++) {
        const fvmm_call *c = fvmm_call_at(f.vm, i);
        if (c->kind != FVMM_CB_MEMORY)
            continue;
        if (mem == 0) {
            CHECK_EQ(c->u.mem.gpa, MMIO_GPA + 0xFFE);
            CHECK_EQ(c->u.mem.size, 2);
        } else {
            CHECK_EQ(c->u.mem.gpa, MMIO_GPA + 0x5000);
            CHECK_EQ(c->u.mem.size, 6);
        }
        mem++;
    }
    CHECK_EQ(mem, 2);

    /* Second page not present: #PF with CR2 at the page boundary, nothing
     * written. */
    fvmm_set_reg64(f.vm, WHvX64RegisterRip, RIP0);
    fvmm_map_gva_ex(f.vm, MMIO_GVA + 0x1000, WHvTranslateGvaResultPageNotPresent, 0, 0);
    fx_run(&f, mov, 3, gva, 1, WHvMemoryAccessWrite);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_MEMORY), 0);
    WHV_X64_PENDING_INTERRUPTION_REGISTER pi = fvmm_injected(f.vm);
    CHECK_EQ(pi.InterruptionVector, 14);
    CHECK_EQ(pi.ErrorCode, 0x6); /* W|U */
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterCr2), MMIO_GVA + 0x1000);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), RIP0);
    fx_fini(&f);
}

static void test_overlong_instruction_injects_gp(void)
{
    struct fixture f;
    fx_init(&f, 0);
    uint8_t bytes[16];
    memset(bytes, 0x66, 14);
    bytes[14] = 0x8b;
    bytes[15] = 0x03;
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, MMIO_GVA);
    fx_run(&f, bytes, 16, MMIO_GVA, 1, WHvMemoryAccessRead);
    CHECK_EQ(f.st.AsUINT32, 1);
    WHV_X64_PENDING_INTERRUPTION_REGISTER pi = fvmm_injected(f.vm);
    CHECK_EQ(pi.InterruptionPending, 1);
    CHECK_EQ(pi.InterruptionVector, 13);
    CHECK_EQ(pi.ErrorCode, 0);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), RIP0);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_MEMORY), 0);
    fx_fini(&f);
}

static void test_lock_on_mov_injects_ud(void)
{
    struct fixture f;
    fx_init(&f, 0);
    static const uint8_t lockmov[] = {0xf0, 0x89, 0x03};
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, MMIO_GVA);
    fx_run(&f, lockmov, 3, MMIO_GVA, 1, WHvMemoryAccessWrite);
    CHECK_EQ(f.st.AsUINT32, 1);
    WHV_X64_PENDING_INTERRUPTION_REGISTER pi = fvmm_injected(f.vm);
    CHECK_EQ(pi.InterruptionVector, 6);
    CHECK_EQ(pi.DeliverErrorCode, 0);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_MEMORY), 0);
    fx_fini(&f);
}

static void test_unknown_instruction_is_refused_with_a_reason(void)
{
    struct fixture f;
    fx_init(&f, 0);
    static const uint8_t cpuid[] = {0x0f, 0xa2};
    fx_run(&f, cpuid, 2, MMIO_GVA, 1, WHvMemoryAccessRead);
    CHECK_EQ(f.st.AsUINT32, 2);
    CHECK_EQ(fvmm_call_count(f.vm), 0);
    CHECK(strlen(whvemu_last_failure(f.emu)) > 0);
    fx_fini(&f);
}

static void test_div_by_zero_injects_de_and_changes_no_register(void)
{
    struct fixture f;
    fx_init(&f, 0);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, MMIO_GVA);
    fvmm_set_reg64(f.vm, WHvX64RegisterRax, 1234);
    static const uint8_t div[] = {0xf7, 0x33}; /* div dword [rbx] */
    fx_run(&f, div, 2, MMIO_GVA, 1, WHvMemoryAccessRead);
    CHECK_EQ(f.st.AsUINT32, 1);
    WHV_X64_PENDING_INTERRUPTION_REGISTER pi = fvmm_injected(f.vm);
    CHECK_EQ(pi.InterruptionVector, 0);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRax), 1234);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), RIP0);
    WHV_REGISTER_VALUE v;
    CHECK(!fvmm_set_call_find(f.vm, WHvX64RegisterRax, &v));
    fx_fini(&f);
}

/* Runs `mov eax, [rbx]` on a misaligned address with the exit's CR0.AM and
 * CPL as given and RFLAGS.AC set; returns the injected vector or -1. */
static int misaligned_load(unsigned cpl, unsigned am)
{
    struct fixture f;
    fx_init(&f, cpl);
    fvmm_set_reg64(f.vm, WHvX64RegisterRflags, 0x40002);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, MMIO_GVA + 2);
    static const uint8_t mov[] = {0x8b, 0x03};
    UINT64 gpa;
    fvmm_translate(f.vm, MMIO_GVA + 2, 0, &gpa);
    fvmm_mmio_exit d = {mov, 2, gpa, MMIO_GVA + 2, 1, 1, WHvMemoryAccessRead};
    fvmm_build_mmio_exit64(f.vm, &f.vp, &f.mc, &d);
    f.vp.ExecutionState.Cr0Am = am & 1;
    fvmm_reset_log(f.vm);
    CHECK_EQ(WHvEmulatorTryMmioEmulation(f.emu, f.vm, &f.vp, &f.mc, &f.st), S_OK);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK(fvmm_check_round_trip(f.vm, &f.vp, &f.mc, &f.st) == NULL);
    WHV_X64_PENDING_INTERRUPTION_REGISTER pi = fvmm_injected(f.vm);
    int vec = pi.InterruptionPending ? (int)pi.InterruptionVector : -1;
    if (vec >= 0) {
        CHECK_EQ(fvmm_count(f.vm, FVMM_CB_MEMORY), 0);
        CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), RIP0);
    } else {
        CHECK_EQ(fvmm_count(f.vm, FVMM_CB_MEMORY), 1);
    }
    fx_fini(&f);
    return vec;
}

static void test_alignment_check_injects_ac_at_cpl3(void)
{
    CHECK_EQ(misaligned_load(3, 1), 17); /* CPL 3, CR0.AM, RFLAGS.AC: #AC(0) */
    CHECK_EQ(misaligned_load(3, 0), -1); /* CR0.AM clear */
    CHECK_EQ(misaligned_load(0, 1), -1); /* CPL 0 */
}

static void test_non_canonical_address_injects_gp_or_ss(void)
{
    struct fixture f;
    fx_init(&f, 0);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, 0x8000000000000000ull);
    static const uint8_t mov[] = {0x8b, 0x03};       /* [rbx]: #GP(0) */
    static const uint8_t movbp[] = {0x8b, 0x45, 0x00}; /* [rbp]: #SS(0) */
    fx_run(&f, mov, 2, MMIO_GVA, 1, WHvMemoryAccessRead);
    CHECK_EQ(fvmm_injected(f.vm).InterruptionVector, 13);
    CHECK_EQ(fvmm_injected(f.vm).ErrorCode, 0);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbp, 0x8000000000000000ull);
    fx_run(&f, movbp, 3, MMIO_GVA, 1, WHvMemoryAccessRead);
    CHECK_EQ(fvmm_injected(f.vm).InterruptionVector, 12);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_MEMORY), 0);
    /* A 4-byte access whose last byte leaves the canonical range. */
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, 0x00FFFFFFFFFFFFFEull);
    fx_run(&f, mov, 2, MMIO_GVA, 1, WHvMemoryAccessRead);
    CHECK_EQ(fvmm_injected(f.vm).InterruptionVector, 13);
    /* Canonical only with 5-level paging: CR4.LA57 decides. */
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, 0x0000800000000000ull);
    fvmm_map_gva(f.vm, 0x0000800000000000ull, MMIO_GPA);
    fx_run(&f, mov, 2, MMIO_GVA, 1, WHvMemoryAccessRead);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_injected(f.vm).InterruptionVector, 13);
    fvmm_set_reg64(f.vm, WHvX64RegisterCr4, fvmm_reg64(f.vm, WHvX64RegisterCr4) | (1u << 12));
    fx_run(&f, mov, 2, 0x0000800000000000ull, 1, WHvMemoryAccessRead);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_injected(f.vm).InterruptionPending, 0);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), RIP0 + 2);
    fx_fini(&f);
}

/* The k-th (from 0) get-registers call of the last emulation, or NULL. */
static const fvmm_call *get_call(const fake_vmm *vm, unsigned k)
{
    for (size_t i = 0; i < fvmm_call_count(vm); i++) {
        const fvmm_call *c = fvmm_call_at(vm, i);
        if (c->kind == FVMM_CB_GET_REGS && k-- == 0)
            return c;
    }
    return NULL;
}

/* CR4 (for CR4.LA57) joins the 64-bit batch only when the exit's page does
 * not settle the operand's canonical width; an operand that is elsewhere
 * anyway gets CR4 in a get call of its own. */
static void test_cr4_is_fetched_only_when_the_exit_page_leaves_la57_open(void)
{
    struct fixture f;
    fx_init(&f, 0);
    static const uint8_t mov[] = {0x8b, 0x03}; /* mov eax, [rbx] */
    const uint64_t high = 0x0000800000000000ull; /* canonical in 57 bits, not 48 */
    fvmm_set_reg64(f.vm, WHvX64RegisterCr4, fvmm_reg64(f.vm, WHvX64RegisterCr4) | (1u << 12));
    fvmm_map_gva(f.vm, high, MMIO_GPA);
    /* The exit's page is beyond 48 bits: CR4 rides along in the one call. */
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, high);
    fx_run(&f, mov, 2, high, 1, WHvMemoryAccessRead);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_GET_REGS), 1);
    const fvmm_call *get = fvmm_call_at(f.vm, 0);
    CHECK_EQ(get->u.regs.count, 2);
    CHECK_EQ(fvmm_call_reg_names(f.vm, get)[1], WHvX64RegisterCr4);
    /* The exit names another page, canonical in 48 bits: the operand's
     * address needs CR4.LA57, fetched alone after the batch. */
    fvmm_set_reg64(f.vm, WHvX64RegisterRip, RIP0);
    fx_run(&f, mov, 2, MMIO_GVA, 1, WHvMemoryAccessRead);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_injected(f.vm).InterruptionPending, 0);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), RIP0 + 2);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_GET_REGS), 2);
    const fvmm_call *second = get_call(f.vm, 1);
    CHECK(second != NULL);
    if (second) {
        CHECK_EQ(second->u.regs.count, 1);
        CHECK_EQ(fvmm_call_reg_names(f.vm, second)[0], WHvX64RegisterCr4);
    }
    fx_fini(&f);
}

/* Whether the get call c names register n. */
static int get_names(const fake_vmm *vm, const fvmm_call *c, WHV_REGISTER_NAME n)
{
    for (UINT32 k = 0; c && k < c->u.regs.count; k++)
        if (fvmm_call_reg_names(vm, c)[k] == n)
            return 1;
    return 0;
}

/* An exit without instruction bytes whose code is at an address canonical
 * in 57 bits but not 48: CR4 comes before the fetch with the general
 * registers (the prefetch of an exit without bytes), in the one get call. */
static void test_fetch_from_a_57_bit_address_brings_cr4_with_the_prefetch(void)
{
    struct fixture f;
    fx_init(&f, 0);
    static const uint8_t insn[] = {0xc7, 0x03, 0x44, 0x33, 0x22, 0x11}; /* mov dword [rbx], imm */
    const uint64_t rip = 0x0000800000401000ull;
    fvmm_set_reg64(f.vm, WHvX64RegisterCr4, fvmm_reg64(f.vm, WHvX64RegisterCr4) | (1u << 12));
    fvmm_map_gva(f.vm, rip, 0x300000);
    fvmm_gva_write(f.vm, rip, insn, sizeof(insn));
    fvmm_set_reg64(f.vm, WHvX64RegisterRip, rip);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, MMIO_GVA);
    fx_run(&f, NULL, 0, MMIO_GVA, 1, WHvMemoryAccessWrite);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), rip + 6);
    uint32_t got = 0;
    fvmm_gpa_read(f.vm, MMIO_GPA, &got, 4);
    CHECK_EQ(got, 0x11223344);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_GET_REGS), 1);
    CHECK(get_names(f.vm, get_call(f.vm, 0), WHvX64RegisterCr4));
    CHECK(get_names(f.vm, get_call(f.vm, 0), WHvX64RegisterRbx));
    /* Without 5-level paging the same fetch is #GP(0), RIP unchanged. */
    fvmm_set_reg64(f.vm, WHvX64RegisterCr4, fvmm_reg64(f.vm, WHvX64RegisterCr4) & ~(1ull << 12));
    fvmm_set_reg64(f.vm, WHvX64RegisterRip, rip);
    fx_run(&f, NULL, 0, MMIO_GVA, 1, WHvMemoryAccessWrite);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_injected(f.vm).InterruptionVector, 13);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), rip);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_GET_REGS), 1);
    fx_fini(&f);
}

static void test_rep_movsb_yields_after_the_budget_with_progress(void)
{
    struct fixture f;
    fx_init(&f, 0);
    uint64_t n = 5000;
    fvmm_set_reg64(f.vm, WHvX64RegisterRcx, n);
    fvmm_set_reg64(f.vm, WHvX64RegisterRsi, 0x100000);
    fvmm_set_reg64(f.vm, WHvX64RegisterRdi, MMIO_GVA);
    static const uint8_t rep[] = {0xf3, 0xa4};
    fx_run(&f, rep, 2, MMIO_GVA, 1, WHvMemoryAccessWrite);
    CHECK_EQ(f.st.AsUINT32, 1);
    uint64_t left = fvmm_reg64(f.vm, WHvX64RegisterRcx);
    CHECK(left > 0 && left < n);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), RIP0);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRsi), 0x100000 + (n - left));
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRdi), MMIO_GVA + (n - left));
    /* Re-executing finishes it. */
    int rounds = 0;
    while (fvmm_reg64(f.vm, WHvX64RegisterRip) == RIP0 && rounds++ < 10)
        fx_run(&f, rep, 2, fvmm_reg64(f.vm, WHvX64RegisterRdi), 0, WHvMemoryAccessWrite);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRcx), 0);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), RIP0 + 2);
    fx_fini(&f);
}

static void test_rep_with_zero_count_only_advances_rip(void)
{
    struct fixture f;
    fx_init(&f, 0);
    fvmm_set_reg64(f.vm, WHvX64RegisterRcx, 0);
    fvmm_set_reg64(f.vm, WHvX64RegisterRdi, MMIO_GVA);
    static const uint8_t rep[] = {0xf3, 0x48, 0xab}; /* rep stosq */
    fx_run(&f, rep, 3, MMIO_GVA, 1, WHvMemoryAccessWrite);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_MEMORY), 0);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), RIP0 + 3);
    fx_fini(&f);
}

static void test_trap_flag_queues_single_step_and_rf_is_cleared(void)
{
    struct fixture f;
    fx_init(&f, 0);
    fvmm_set_reg64(f.vm, WHvX64RegisterRflags, 0x10102); /* RF | TF */
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, MMIO_GVA);
    static const uint8_t mov[] = {0x8b, 0x03};
    fx_run(&f, mov, 2, MMIO_GVA, 1, WHvMemoryAccessRead);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRflags), 0x102);
    WHV_REGISTER_VALUE v;
    CHECK(fvmm_set_call_find(f.vm, WHvX64RegisterPendingDebugException, &v));
    CHECK_EQ(v.PendingDebugException.SingleStep, 1);
    fx_fini(&f);
}

static void test_single_step_traps_after_each_rep_iteration(void)
{
    struct fixture f;
    fx_init(&f, 0);
    fvmm_set_reg64(f.vm, WHvX64RegisterRflags, 0x102); /* TF */
    fvmm_set_reg64(f.vm, WHvX64RegisterRcx, 3);
    fvmm_set_reg64(f.vm, WHvX64RegisterRdi, MMIO_GVA);
    static const uint8_t rep[] = {0xf3, 0xaa}; /* rep stosb */
    for (int i = 0; i < 3; i++) {
        fx_run(&f, rep, 2, fvmm_reg64(f.vm, WHvX64RegisterRdi), 1, WHvMemoryAccessWrite);
        CHECK_EQ(f.st.AsUINT32, 1);
        CHECK_EQ(fvmm_count(f.vm, FVMM_CB_MEMORY), 1);
        CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRcx), 2 - i);
        CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), i < 2 ? RIP0 : RIP0 + 2);
        WHV_REGISTER_VALUE v;
        CHECK(fvmm_set_call_find(f.vm, WHvX64RegisterPendingDebugException, &v));
        CHECK_EQ(v.PendingDebugException.SingleStep, 1);
    }
    fx_fini(&f);
}

static void test_interrupt_shadow_is_ended_by_the_instruction(void)
{
    struct fixture f;
    fx_init(&f, 0);
    WHV_REGISTER_VALUE is;
    memset(&is, 0, sizeof(is));
    is.InterruptState.InterruptShadow = 1;
    is.InterruptState.NmiMasked = 1;
    fvmm_reg_set(f.vm, WHvRegisterInterruptState, &is);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, MMIO_GVA);
    static const uint8_t mov[] = {0x8b, 0x03};
    UINT64 gpa;
    fvmm_translate(f.vm, MMIO_GVA, 0, &gpa);
    fvmm_mmio_exit d = {mov, 2, gpa, MMIO_GVA, 1, 1, WHvMemoryAccessRead};
    fvmm_build_mmio_exit64(f.vm, &f.vp, &f.mc, &d);
    f.vp.ExecutionState.InterruptShadow = 1;
    fvmm_reset_log(f.vm);
    CHECK_EQ(WHvEmulatorTryMmioEmulation(f.emu, f.vm, &f.vp, &f.mc, &f.st), S_OK);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK(fvmm_check_round_trip(f.vm, &f.vp, &f.mc, &f.st) == NULL);
    WHV_REGISTER_VALUE v;
    fvmm_reg_get(f.vm, WHvRegisterInterruptState, &v);
    CHECK_EQ(v.InterruptState.InterruptShadow, 0);
    CHECK_EQ(v.InterruptState.NmiMasked, 1);
    fx_fini(&f);
}

int main(void)
{
    RUN(test_create_rejects_bad_arguments);
    RUN(test_create_copies_the_callback_table);
    RUN(test_try_rejects_bad_arguments_and_zeroes_status);
    RUN(test_reentry_and_destroy_during_a_call_are_refused);
    RUN(test_handles_are_independent_across_threads);
    RUN(test_pending_interruption_reports_interrupt_caused_intercept);
    RUN(test_mov_load_uses_exit_gpa_and_one_get_one_set);
    RUN(test_fetches_instruction_bytes_when_the_exit_has_none);
    RUN(test_callback_failures_set_their_bit_and_write_nothing);
    RUN(test_s_false_from_a_callback_counts_as_failure);
    RUN(test_unaligned_gpa_from_translate_is_reported);
    RUN(test_translate_results_map_to_faults_or_access);
    RUN(test_translate_intercept_is_refused);
    RUN(test_page_crossing_store_translates_both_pages_before_writing);
    RUN(test_overlong_instruction_injects_gp);
    RUN(test_lock_on_mov_injects_ud);
    RUN(test_unknown_instruction_is_refused_with_a_reason);
    RUN(test_div_by_zero_injects_de_and_changes_no_register);
    RUN(test_alignment_check_injects_ac_at_cpl3);
    RUN(test_non_canonical_address_injects_gp_or_ss);
    RUN(test_cr4_is_fetched_only_when_the_exit_page_leaves_la57_open);
    RUN(test_fetch_from_a_57_bit_address_brings_cr4_with_the_prefetch);
    RUN(test_rep_movsb_yields_after_the_budget_with_progress);
    RUN(test_rep_with_zero_count_only_advances_rip);
    RUN(test_trap_flag_queues_single_step_and_rf_is_cleared);
    RUN(test_single_step_traps_after_each_rep_iteration);
    RUN(test_interrupt_shadow_is_ended_by_the_instruction);
    return CHECK_SUMMARY();
}
