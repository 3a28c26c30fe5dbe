/*
 * test_hardening.c - defects a hostile guest or a buggy VMM could trigger,
 * each pinned down by the case that exposed it: bit-test offsets at the
 * signed extremes, register values a get callback leaves unwritten, stale
 * and wild handles, contexts edited during the call, translate outputs left
 * unwritten, and the #PF I/D bit of a fetch fault.
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
    HRESULT hr;
};

static void fx_init_cb(struct fixture *f, const WHV_EMULATOR_CALLBACKS *cb)
{
    memset(f, 0, sizeof(*f));
    f->vm = fvmm_create();
    fvmm_setup_long_mode(f->vm, 0);
    fvmm_set_reg64(f->vm, WHvX64RegisterRip, RIP0);
    fvmm_map_gva(f->vm, MMIO_GVA, MMIO_GPA);
    fvmm_set_mmio(f->vm, MMIO_GPA, 1);
    if (WHvEmulatorCreateEmulator(cb, &f->emu) != S_OK)
        abort();
}

static void fx_init(struct fixture *f)
{
    fx_init_cb(f, fvmm_callbacks());
}

static void fx_fini(struct fixture *f)
{
    WHvEmulatorDestroyEmulator(f->emu);
    fvmm_destroy(f->vm);
}

/* Builds the exit for `bytes` at gva (GvaValid) and runs it. */
static void fx_run(struct fixture *f, const uint8_t *bytes, unsigned n, uint64_t gva,
                   WHV_MEMORY_ACCESS_TYPE type, int check_round_trip)
{
    UINT64 gpa = 0;
    fvmm_translate(f->vm, gva, 0, &gpa);
    fvmm_mmio_exit d = {bytes, n, gpa, gva, 1, 1, type};
    fvmm_build_mmio_exit64(f->vm, &f->vp, &f->mc, &d);
    fvmm_reset_log(f->vm);
    f->hr = WHvEmulatorTryMmioEmulation(f->emu, f->vm, &f->vp, &f->mc, &f->st);
    if (check_round_trip) {
        const char *why = fvmm_check_round_trip(f->vm, &f->vp, &f->mc, &f->st);
        if (why)
            printf("  round trip: %s\n", why);
        CHECK(why == NULL);
    }
}

/* The GPA of the only memory callback of the last run, or ~0. */
static uint64_t only_access_gpa(const fake_vmm *vm)
{
    uint64_t gpa = ~(uint64_t)0;
    unsigned n = 0;
    for (size_t i = 0; i < fvmm_call_count(vm); i++) {
        const fvmm_call *c = fvmm_call_at(vm, i);
        if (c->kind == FVMM_CB_MEMORY) {
            gpa = c->u.mem.gpa;
            n++;
        }
    }
    return n == 1 ? gpa : ~(uint64_t)0;
}

/* --- 1. bit-test offsets near INT64_MIN --- */

/* bts [rbx], rax: the unit is RAX SAR 6, so the address is RBX + 8 * (RAX SAR
 * 6) with 64-bit wraparound. With RAX = INT64_MIN + 2 that is RBX - 2^60. */
static void test_bts_offset_near_int64_min_is_gp_on_a_non_canonical_address(void)
{
    struct fixture f;
    fx_init(&f);
    static const uint8_t bts[] = {0x48, 0x0f, 0xab, 0x03};
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, 0xF000000000001008ull);
    fvmm_set_reg64(f.vm, WHvX64RegisterRax, 0x8000000000000002ull);
    fx_run(&f, bts, 4, MMIO_GVA, WHvMemoryAccessWrite, 1);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_injected(f.vm).InterruptionVector, 13);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_MEMORY), 0);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), RIP0);
    fx_fini(&f);
}

static void test_bts_offset_near_int64_min_wraps_to_a_canonical_address(void)
{
    struct fixture f;
    fx_init(&f);
    static const uint8_t bts[] = {0x48, 0x0f, 0xab, 0x03};
    fvmm_map_gva(f.vm, 0x1000, 0x5000);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, 0x1000000000001000ull);
    fvmm_set_reg64(f.vm, WHvX64RegisterRax, 0x8000000000000002ull);
    fx_run(&f, bts, 4, MMIO_GVA, WHvMemoryAccessWrite, 1);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_injected(f.vm).InterruptionPending, 0);
    uint64_t v = 0;
    fvmm_gpa_read(f.vm, 0x5000, &v, 8);
    CHECK_EQ(v, 4); /* bit 2 of the qword at linear 0x1000 */
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), RIP0 + 4);
    fx_fini(&f);
}

/* Every operand size: the most negative offset selects the unit
 * offset SAR log2(bits), i.e. RBX - 2^(bits-1)/8 bytes. */
static void test_bt_most_negative_offset_for_each_operand_size(void)
{
    static const struct {
        uint8_t bytes[5];
        unsigned n;
        uint64_t rax;
        uint64_t delta; /* subtracted from RBX */
    } cases[] = {
        {{0x66, 0x0f, 0xa3, 0x03}, 4, 0x8000, 0x1000},             /* bt [rbx], ax */
        {{0x0f, 0xa3, 0x03}, 3, 0x80000000u, 0x10000000},          /* bt [rbx], eax */
        {{0x48, 0x0f, 0xa3, 0x03}, 4, 0x8000000000000000ull, 0x1000000000000000ull},
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fixture f;
        fx_init(&f);
        uint64_t rbx = cases[i].delta + 0x2000; /* the sum wraps to 0x2000 */
        uint64_t target = rbx - cases[i].delta;
        fvmm_map_gva(f.vm, target, 0x6000);
        fvmm_set_reg64(f.vm, WHvX64RegisterRbx, rbx);
        fvmm_set_reg64(f.vm, WHvX64RegisterRax, cases[i].rax | 0xFFFFFFFFFFFF0000ull * (i == 0));
        fx_run(&f, cases[i].bytes, cases[i].n, MMIO_GVA, WHvMemoryAccessRead, 1);
        CHECK_EQ(f.st.AsUINT32, 1);
        CHECK_EQ(fvmm_injected(f.vm).InterruptionPending, 0);
        CHECK_EQ(only_access_gpa(f.vm), 0x6000 | (target & 0xFFF));
        fx_fini(&f);
    }
}

/* --- 2. register values the get callback leaves unwritten --- */

static HRESULT CALLBACK lazy_get(VOID *ctx, const WHV_REGISTER_NAME *names, UINT32 count,
                                 WHV_REGISTER_VALUE *values)
{
    /* Writes only RBX; leaves every other value as it found it. */
    for (UINT32 i = 0; i < count; i++)
        if (names[i] == WHvX64RegisterRbx)
            fvmm_reg_get(ctx, names[i], &values[i]);
    return S_OK;
}

/* Leaves a recognisable pattern where the emulator's stack frames go. */
static void dirty_the_stack(void)
{
    volatile uint8_t junk[16384];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = 0xA5;
}

static void test_unwritten_register_values_read_as_zero(void)
{
    WHV_EMULATOR_CALLBACKS cb = *fvmm_callbacks();
    cb.WHvEmulatorGetVirtualProcessorRegisters = lazy_get;
    struct fixture f;
    fx_init_cb(&f, &cb);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, MMIO_GVA);
    fvmm_set_reg64(f.vm, WHvX64RegisterRcx, 0x1111111111111111ull);
    static const uint8_t mov[] = {0x48, 0x89, 0x0b}; /* mov [rbx], rcx */
    UINT64 gpa = 0;
    fvmm_translate(f.vm, MMIO_GVA, 0, &gpa);
    fvmm_mmio_exit d = {mov, 3, gpa, MMIO_GVA, 1, 1, WHvMemoryAccessWrite};
    fvmm_build_mmio_exit64(f.vm, &f.vp, &f.mc, &d);
    fvmm_reset_log(f.vm);
    dirty_the_stack();
    CHECK_EQ(WHvEmulatorTryMmioEmulation(f.emu, f.vm, &f.vp, &f.mc, &f.st), S_OK);
    CHECK_EQ(f.st.AsUINT32, 1);
    uint64_t got = 1;
    fvmm_gpa_read(f.vm, MMIO_GPA, &got, 8);
    CHECK_EQ(got, 0); /* RCX was not provided: zero, never host memory */
    fx_fini(&f);
}

/* --- 3. stale and wild handles --- */

static void test_stale_handles_are_refused(void)
{
    struct fixture f;
    fx_init(&f);
    WHV_EMULATOR_HANDLE old = f.emu;
    CHECK_EQ(WHvEmulatorDestroyEmulator(old), S_OK);
    CHECK_EQ(WHvEmulatorDestroyEmulator(old), E_INVALIDARG); /* double destroy */
    static const uint8_t mov[] = {0x8b, 0x03};
    fvmm_mmio_exit d = {mov, 2, MMIO_GPA, MMIO_GVA, 1, 1, WHvMemoryAccessRead};
    fvmm_build_mmio_exit64(f.vm, &f.vp, &f.mc, &d);
    fvmm_reset_log(f.vm);
    CHECK_EQ(WHvEmulatorTryMmioEmulation(old, f.vm, &f.vp, &f.mc, &f.st), E_INVALIDARG);
    WHV_X64_IO_PORT_ACCESS_CONTEXT io;
    memset(&io, 0, sizeof(io));
    CHECK_EQ(WHvEmulatorTryIoEmulation(old, f.vm, &f.vp, &io, &f.st), E_INVALIDARG);
    CHECK(whvemu_last_failure(old) == NULL);
    /* A new handle may reuse the storage: the old value still is not it. */
    WHV_EMULATOR_HANDLE fresh[8];
    for (int i = 0; i < 8; i++) {
        CHECK_EQ(WHvEmulatorCreateEmulator(fvmm_callbacks(), &fresh[i]), S_OK);
        CHECK(fresh[i] != old);
    }
    CHECK_EQ(WHvEmulatorTryMmioEmulation(old, f.vm, &f.vp, &f.mc, &f.st), E_INVALIDARG);
    CHECK_EQ(WHvEmulatorDestroyEmulator(old), E_INVALIDARG);
    CHECK_EQ(fvmm_call_count(f.vm), 0);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, MMIO_GVA);
    CHECK_EQ(WHvEmulatorTryMmioEmulation(fresh[0], f.vm, &f.vp, &f.mc, &f.st), S_OK);
    CHECK_EQ(f.st.AsUINT32, 1);
    for (int i = 0; i < 8; i++)
        CHECK_EQ(WHvEmulatorDestroyEmulator(fresh[i]), S_OK);
    f.emu = NULL;
    fx_fini(&f);
}

static void test_wild_misaligned_and_interior_handles_are_refused(void)
{
    struct fixture f;
    fx_init(&f);
    static const uint8_t mov[] = {0x8b, 0x03};
    fvmm_mmio_exit d = {mov, 2, MMIO_GPA, MMIO_GVA, 1, 1, WHvMemoryAccessRead};
    fvmm_build_mmio_exit64(f.vm, &f.vp, &f.mc, &d);
    fvmm_reset_log(f.vm);
    uintptr_t live = (uintptr_t)f.emu;
    uint64_t stackword = 0;
    void *heap = malloc(64);
    memset(heap, 0xFF, 64);
    const uintptr_t wild[] = {
        0x1000,         0xdeadbeef,      (uintptr_t)-1,     (uintptr_t)-4096, live + 1,
        live - 1,       live + 8,        live ^ 0x10000,    live ^ ((uintptr_t)1 << 40),
        (uintptr_t)&stackword, (uintptr_t)heap, (uintptr_t)heap + 8, (uintptr_t)&f,
    };
    for (unsigned i = 0; i < sizeof(wild) / sizeof(wild[0]); i++) {
        WHV_EMULATOR_HANDLE h = (WHV_EMULATOR_HANDLE)wild[i];
        CHECK_EQ(WHvEmulatorTryMmioEmulation(h, f.vm, &f.vp, &f.mc, &f.st), E_INVALIDARG);
        CHECK_EQ(WHvEmulatorDestroyEmulator(h), E_INVALIDARG);
        CHECK(whvemu_last_failure(h) == NULL);
    }
    free(heap);
    CHECK_EQ(fvmm_call_count(f.vm), 0);
    /* The live handle is untouched by all of that. */
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, MMIO_GVA);
    CHECK_EQ(WHvEmulatorTryMmioEmulation(f.emu, f.vm, &f.vp, &f.mc, &f.st), S_OK);
    CHECK_EQ(f.st.AsUINT32, 1);
    fx_fini(&f);
}

/* --- 4. contexts edited during the call --- */

static WHV_VP_EXIT_CONTEXT *edit_vp;
static WHV_MEMORY_ACCESS_CONTEXT *edit_mc;
static WHV_X64_IO_PORT_ACCESS_CONTEXT *edit_io;

static HRESULT CALLBACK editing_memory(VOID *ctx, WHV_EMULATOR_MEMORY_ACCESS_INFO *a)
{
    HRESULT hr = fvmm_callbacks()->WHvEmulatorMemoryCallback(ctx, a);
    if (edit_vp) {
        edit_vp->Rip += 0x100;
        edit_vp->Rflags ^= 0x100;
        edit_vp->ExecutionState.Cr0Pe = 0;
    }
    if (edit_mc) {
        edit_mc->Gva ^= 0x1000;
        edit_mc->Gpa ^= 0x1000;
        memset(edit_mc->InstructionBytes, 0xCC, sizeof(edit_mc->InstructionBytes));
    }
    if (edit_io) {
        edit_io->AccessInfo.IsWrite ^= 1;
        edit_io->AccessInfo.AccessSize = 4;
        edit_io->PortNumber ^= 0xFF;
    }
    return hr;
}

static void test_vp_and_memory_contexts_are_read_once(void)
{
    WHV_EMULATOR_CALLBACKS cb = *fvmm_callbacks();
    cb.WHvEmulatorMemoryCallback = editing_memory;
    struct fixture f;
    fx_init_cb(&f, &cb);
    /* An instruction across a page boundary: two fetches, then the store. */
    static const uint8_t insn[] = {0xc7, 0x03, 0x44, 0x33, 0x22, 0x11}; /* mov dword [rbx], imm */
    uint64_t rip = 0x402ffd;
    fvmm_set_reg64(f.vm, WHvX64RegisterRip, rip);
    fvmm_gva_write(f.vm, rip, insn, sizeof(insn));
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, MMIO_GVA);
    UINT64 gpa = 0;
    fvmm_translate(f.vm, MMIO_GVA, 0, &gpa);
    fvmm_mmio_exit d = {NULL, 0, gpa, MMIO_GVA, 1, 1, WHvMemoryAccessWrite};
    fvmm_build_mmio_exit64(f.vm, &f.vp, &f.mc, &d);
    fvmm_reset_log(f.vm);
    edit_vp = &f.vp;
    edit_mc = &f.mc;
    CHECK_EQ(WHvEmulatorTryMmioEmulation(f.emu, f.vm, &f.vp, &f.mc, &f.st), S_OK);
    edit_vp = NULL;
    edit_mc = NULL;
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), rip + 6);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRflags) & 0x100, 0);
    uint32_t got = 0;
    fvmm_gpa_read(f.vm, MMIO_GPA, &got, 4);
    CHECK_EQ(got, 0x11223344);
    fx_fini(&f);
}

static void test_io_context_is_read_once(void)
{
    WHV_EMULATOR_CALLBACKS cb = *fvmm_callbacks();
    cb.WHvEmulatorMemoryCallback = editing_memory;
    struct fixture f;
    fx_init_cb(&f, &cb);
    /* OUT DX, AL fetched from guest memory: the memory callback runs before
     * the context is checked against the bytes. */
    static const uint8_t out[] = {0xee};
    fvmm_gva_write(f.vm, RIP0, out, 1);
    WHV_X64_IO_PORT_ACCESS_CONTEXT io;
    memset(&io, 0, sizeof(io));
    fvmm_build_exit64(&f.vp, 0, RIP0, 2);
    io.PortNumber = 0x3F8;
    io.AccessInfo.IsWrite = 1;
    io.AccessInfo.AccessSize = 1;
    io.Rax = 0x41;
    fvmm_reset_log(f.vm);
    edit_io = &io;
    CHECK_EQ(WHvEmulatorTryIoEmulation(f.emu, f.vm, &f.vp, &io, &f.st), S_OK);
    edit_io = NULL;
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_port_write_count(f.vm), 1);
    if (fvmm_port_write_count(f.vm) == 1) {
        CHECK_EQ(fvmm_port_write_at(f.vm, 0)->port, 0x3F8);
        CHECK_EQ(fvmm_port_write_at(f.vm, 0)->size, 1);
        CHECK_EQ(fvmm_port_write_at(f.vm, 0)->data, 0x41);
    }
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), RIP0 + 1);
    fx_fini(&f);
}

/* --- 6. translate outputs left unwritten --- */

static int translate_mode; /* 0: write nothing, 1: only the result, 2: only the GPA */

static HRESULT CALLBACK lazy_translate(VOID *ctx, WHV_GUEST_VIRTUAL_ADDRESS gva,
                                       WHV_TRANSLATE_GVA_FLAGS flags,
                                       WHV_TRANSLATE_GVA_RESULT_CODE *result,
                                       WHV_GUEST_PHYSICAL_ADDRESS *gpa)
{
    (void)ctx;
    (void)flags;
    if (translate_mode == 1)
        *result = WHvTranslateGvaResultSuccess;
    if (translate_mode == 2)
        *gpa = gva & ~(UINT64)0xFFF;
    return S_OK;
}

static void test_translate_outputs_left_unwritten_are_a_callback_failure(void)
{
    WHV_EMULATOR_CALLBACKS cb = *fvmm_callbacks();
    cb.WHvEmulatorTranslateGvaPage = lazy_translate;
    for (translate_mode = 0; translate_mode < 3; translate_mode++) {
        struct fixture f;
        fx_init_cb(&f, &cb);
        fvmm_set_reg64(f.vm, WHvX64RegisterRbx, MMIO_GVA);
        static const uint8_t mov[] = {0x8b, 0x03};
        UINT64 gpa = 0;
        fvmm_translate(f.vm, MMIO_GVA, 0, &gpa);
        fvmm_mmio_exit d = {mov, 2, gpa, MMIO_GVA, 0, 1, WHvMemoryAccessRead}; /* GvaValid 0 */
        fvmm_build_mmio_exit64(f.vm, &f.vp, &f.mc, &d);
        fvmm_reset_log(f.vm);
        CHECK_EQ(WHvEmulatorTryMmioEmulation(f.emu, f.vm, &f.vp, &f.mc, &f.st), S_OK);
        CHECK_EQ(f.st.AsUINT32, 0x10); /* TranslateGvaPageCallbackFailed */
        CHECK_EQ(fvmm_count(f.vm, FVMM_CB_MEMORY), 0);
        CHECK_EQ(fvmm_count(f.vm, FVMM_CB_SET_REGS), 0);
        fx_fini(&f);
    }
}

/* --- 7. the #PF I/D bit of a fetch fault --- */

static void run_fetch_fault(uint64_t cr4, uint64_t efer, uint32_t want_ec)
{
    struct fixture f;
    fx_init(&f);
    fvmm_set_reg64(f.vm, WHvX64RegisterCr4, cr4);
    fvmm_set_reg64(f.vm, WHvX64RegisterEfer, efer);
    fvmm_map_gva_ex(f.vm, RIP0, WHvTranslateGvaResultPageNotPresent, 0, 0);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, MMIO_GVA);
    fx_run(&f, NULL, 0, MMIO_GVA, WHvMemoryAccessRead, 1);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_injected(f.vm).InterruptionVector, 14);
    CHECK_EQ(fvmm_injected(f.vm).ErrorCode, want_ec);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterCr2), RIP0);
    CHECK(fvmm_count(f.vm, FVMM_CB_GET_REGS) <= 1);
    fx_fini(&f);
}

static void test_fetch_fault_sets_the_i_bit_only_with_nx_or_smep(void)
{
    const uint64_t PAE = 1u << 5, SMEP = 1u << 20, NXE = 1u << 11, LME_LMA = 0x500;
    run_fetch_fault(PAE, LME_LMA | NXE, 0x10);       /* 4-level paging, NXE */
    run_fetch_fault(PAE, LME_LMA, 0x00);             /* 4-level paging, no NXE */
    run_fetch_fault(PAE | SMEP, LME_LMA, 0x10);      /* SMEP alone */
    run_fetch_fault(0, NXE, 0x00);                   /* 32-bit paging ignores NXE */
    run_fetch_fault(SMEP, 0, 0x10);                  /* 32-bit paging with SMEP */
}

int main(void)
{
    RUN(test_bts_offset_near_int64_min_is_gp_on_a_non_canonical_address);
    RUN(test_bts_offset_near_int64_min_wraps_to_a_canonical_address);
    RUN(test_bt_most_negative_offset_for_each_operand_size);
    RUN(test_unwritten_register_values_read_as_zero);
    RUN(test_stale_handles_are_refused);
    RUN(test_wild_misaligned_and_interior_handles_are_refused);
    RUN(test_vp_and_memory_contexts_are_read_once);
    RUN(test_io_context_is_read_once);
    RUN(test_translate_outputs_left_unwritten_are_a_callback_failure);
    RUN(test_fetch_fault_sets_the_i_bit_only_with_nx_or_smep);
    return CHECK_SUMMARY();
}
