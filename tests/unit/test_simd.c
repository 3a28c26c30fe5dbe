/*
 * test_simd.c - SSE, AVX and MMX moves and packed-integer forms with a
 * memory operand, on hand-checked cases: register results, the 8-byte
 * pieces of a wide access, #GP on a misaligned aligned form, #UD/#NM from
 * CR0/CR4/XCR0, the extended-state callback (read once, written once, only
 * on success; refused without it), byte-masked stores and MMX state.
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

#define CR0_TS 0x8u
#define CR0_EM 0x4u
#define CR4_OSFXSR 0x200u
#define CR4_OSXSAVE 0x40000u

/* The extended state of the test vCPU: components 2, 5, 6 and 7. */
struct xs {
    uint8_t ymm_hi[256], opmask[64], zmm_hi[512], hi16[1024];
    unsigned reads, writes;
    unsigned comp_reads[8], comp_writes[8];
    HRESULT read_hr, write_hr;
};

static struct xs g_xs;

static HRESULT CALLBACK xstate_cb(VOID *ctx, UINT32 comp, BOOL write, VOID *buf, UINT32 size)
{
    (void)ctx;
    uint8_t *p;
    UINT32 want;
    switch (comp) {
    case 2: p = g_xs.ymm_hi; want = 256; break;
    case 5: p = g_xs.opmask; want = 64; break;
    case 6: p = g_xs.zmm_hi; want = 512; break;
    case 7: p = g_xs.hi16; want = 1024; break;
    default: return E_INVALIDARG;
    }
    if (size != want)
        return E_INVALIDARG;
    if (write) {
        g_xs.writes++;
        g_xs.comp_writes[comp]++;
        if (g_xs.write_hr != S_OK)
            return g_xs.write_hr;
        memcpy(p, buf, size);
    } else {
        g_xs.reads++;
        g_xs.comp_reads[comp]++;
        if (g_xs.read_hr != S_OK)
            return g_xs.read_hr;
        memcpy(buf, p, size);
    }
    return S_OK;
}

struct fx {
    fake_vmm *vm;
    WHV_EMULATOR_HANDLE emu;
    WHV_VP_EXIT_CONTEXT vp;
    WHV_MEMORY_ACCESS_CONTEXT mc;
    WHV_EMULATOR_STATUS st;
    unsigned am; /* CR0.AM in the exit */
};

static void fx_init(struct fx *f, int with_xstate)
{
    memset(f, 0, sizeof(*f));
    memset(&g_xs, 0, sizeof(g_xs));
    f->vm = fvmm_create();
    fvmm_setup_long_mode(f->vm, 0);
    fvmm_set_reg64(f->vm, WHvX64RegisterRip, RIP0);
    fvmm_set_reg64(f->vm, WHvX64RegisterCr4, fvmm_reg64(f->vm, WHvX64RegisterCr4) | CR4_OSXSAVE);
    fvmm_set_reg64(f->vm, WHvX64RegisterXCr0, 7);
    fvmm_map_gva(f->vm, GVA, GPA);
    fvmm_map_gva(f->vm, GVA + 0x1000, GPA + 0x1000);
    fvmm_set_mmio(f->vm, GPA, 1);
    fvmm_set_mmio(f->vm, GPA + 0x1000, 1);
    if (WHvEmulatorCreateEmulator(fvmm_callbacks(), &f->emu) != S_OK)
        abort();
    if (with_xstate && whvemu_set_xstate_callback(f->emu, xstate_cb) != S_OK)
        abort();
}

static void fx_fini(struct fx *f)
{
    WHvEmulatorDestroyEmulator(f->emu);
    fvmm_destroy(f->vm);
}

static void set_xmm(struct fx *f, unsigned n, uint64_t lo, uint64_t hi)
{
    WHV_REGISTER_VALUE v;
    v.Reg128.Low64 = lo;
    v.Reg128.High64 = hi;
    fvmm_reg_set(f->vm, (WHV_REGISTER_NAME)(WHvX64RegisterXmm0 + n), &v);
}

static WHV_UINT128 xmm(struct fx *f, unsigned n)
{
    WHV_REGISTER_VALUE v;
    fvmm_reg_get(f->vm, (WHV_REGISTER_NAME)(WHvX64RegisterXmm0 + n), &v);
    return v.Reg128;
}

/* Runs `bytes` for a memory exit at `gva` (RBX = gva unless set before). */
static void run(struct fx *f, const uint8_t *bytes, unsigned n, uint64_t gva,
                WHV_MEMORY_ACCESS_TYPE type)
{
    UINT64 gpa = 0;
    fvmm_translate(f->vm, gva, 0, &gpa);
    fvmm_mmio_exit d = {bytes, n, gpa, gva, 1, 1, type};
    fvmm_build_mmio_exit64(f->vm, &f->vp, &f->mc, &d);
    f->vp.ExecutionState.Cr0Am = f->am & 1;
    mmio_run_checked(f->vm, f->emu, &f->vp, &f->mc, &f->st);
}

static void fill(struct fx *f, uint64_t gpa, unsigned n, uint8_t first)
{
    uint8_t b[64];
    for (unsigned i = 0; i < n; i++)
        b[i] = (uint8_t)(first + i);
    fvmm_gpa_write(f->vm, gpa, b, n);
}

static void test_movdqu_load_reads_two_8_byte_pieces_and_fetches_no_destination(void)
{
    struct fx f;
    fx_init(&f, 0);
    fill(&f, GPA + 0x40, 16, 0x10);
    set_xmm(&f, 1, 0x1111, 0x2222);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, GVA + 0x40);
    static const uint8_t insn[] = {0xf3, 0x0f, 0x6f, 0x0b}; /* movdqu xmm1, [rbx] */
    run(&f, insn, 4, GVA + 0x40, WHvMemoryAccessRead);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(xmm(&f, 1).Low64, 0x1716151413121110ull);
    CHECK_EQ(xmm(&f, 1).High64, 0x1F1E1D1C1B1A1918ull);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), RIP0 + 4);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_MEMORY), 2);
    const fvmm_call *c1 = fvmm_call_at(f.vm, 1), *c2 = fvmm_call_at(f.vm, 2);
    CHECK(c1->kind == FVMM_CB_MEMORY && c1->u.mem.gpa == GPA + 0x40 && c1->u.mem.size == 8);
    CHECK(c2->kind == FVMM_CB_MEMORY && c2->u.mem.gpa == GPA + 0x48 && c2->u.mem.size == 8);
    const fvmm_call *get = fvmm_call_at(f.vm, 0);
    for (unsigned i = 0; i < get->u.regs.count; i++)
        CHECK(fvmm_call_reg_names(f.vm, get)[i] != WHvX64RegisterXmm1);
    fx_fini(&f);
}

static void test_movups_store_across_a_page_splits_at_the_boundary(void)
{
    struct fx f;
    fx_init(&f, 0);
    set_xmm(&f, 2, 0x0706050403020100ull, 0x0F0E0D0C0B0A0908ull);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, GVA + 0xFFC);
    static const uint8_t insn[] = {0x0f, 0x11, 0x13}; /* movups [rbx], xmm2 */
    run(&f, insn, 3, GVA + 0xFFC, WHvMemoryAccessWrite);
    CHECK_EQ(f.st.AsUINT32, 1);
    uint8_t got[16];
    fvmm_gpa_read(f.vm, GPA + 0xFFC, got, 16);
    for (unsigned i = 0; i < 16; i++)
        CHECK_EQ(got[i], i);
    /* Pieces: 4 bytes to the page end, then 8 and 4, ascending. */
    unsigned sizes[3] = {0}, k = 0;
    uint64_t last = 0;
    for (size_t i = 0; i < fvmm_call_count(f.vm); i++) {
        const fvmm_call *c = fvmm_call_at(f.vm, i);
        if (c->kind != FVMM_CB_MEMORY)
            continue;
        CHECK(c->u.mem.gpa > last);
        last = c->u.mem.gpa;
        if (k < 3)
            sizes[k] = c->u.mem.size;
        k++;
    }
    CHECK_EQ(k, 3);
    CHECK(sizes[0] == 4 && sizes[1] == 8 && sizes[2] == 4);
    fx_fini(&f);
}

static void test_misaligned_movaps_is_gp_and_moves_nothing(void)
{
    struct fx f;
    fx_init(&f, 0);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, GVA + 8);
    static const uint8_t insn[] = {0x0f, 0x28, 0x03}; /* movaps xmm0, [rbx] */
    run(&f, insn, 3, GVA + 8, WHvMemoryAccessRead);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_injected(f.vm).InterruptionVector, 13);
    CHECK_EQ(fvmm_injected(f.vm).ErrorCode, 0);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_MEMORY), 0);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), RIP0);
    /* The unaligned form does not care; neither does the VEX unaligned load. */
    static const uint8_t movups[] = {0x0f, 0x10, 0x03};
    run(&f, movups, 3, GVA + 8, WHvMemoryAccessRead);
    CHECK_EQ(fvmm_injected(f.vm).InterruptionPending, 0);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), RIP0 + 3);
    fx_fini(&f);
}

static void test_cr0_and_cr4_give_ud_and_nm(void)
{
    static const struct {
        uint64_t cr0_or, cr4_and;
        uint8_t vector;
    } cases[] = {
        {CR0_TS, ~(uint64_t)0, 7},     /* #NM */
        {CR0_EM, ~(uint64_t)0, 6},     /* #UD */
        {0, ~(uint64_t)CR4_OSFXSR, 6}, /* #UD */
        {CR0_EM | CR0_TS, ~(uint64_t)0, 6}, /* #UD before #NM */
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fx f;
        fx_init(&f, 0);
        fvmm_set_reg64(f.vm, WHvX64RegisterCr0, fvmm_reg64(f.vm, WHvX64RegisterCr0) | cases[i].cr0_or);
        fvmm_set_reg64(f.vm, WHvX64RegisterCr4, fvmm_reg64(f.vm, WHvX64RegisterCr4) & cases[i].cr4_and);
        fvmm_set_reg64(f.vm, WHvX64RegisterRbx, GVA);
        static const uint8_t insn[] = {0x66, 0x0f, 0x6f, 0x03}; /* movdqa xmm0, [rbx] */
        run(&f, insn, 4, GVA, WHvMemoryAccessRead);
        CHECK_EQ(f.st.AsUINT32, 1);
        CHECK_EQ(fvmm_injected(f.vm).InterruptionVector, cases[i].vector);
        CHECK_EQ(fvmm_injected(f.vm).DeliverErrorCode, 0);
        CHECK_EQ(fvmm_count(f.vm, FVMM_CB_MEMORY), 0);
        fx_fini(&f);
    }
    /* VEX: CR4.OSXSAVE clear, or XCR0 without AVX, is #UD. */
    for (int k = 0; k < 2; k++) {
        struct fx f;
        fx_init(&f, 1);
        if (k == 0)
            fvmm_set_reg64(f.vm, WHvX64RegisterCr4,
                           fvmm_reg64(f.vm, WHvX64RegisterCr4) & ~(uint64_t)CR4_OSXSAVE);
        else
            fvmm_set_reg64(f.vm, WHvX64RegisterXCr0, 3);
        fvmm_set_reg64(f.vm, WHvX64RegisterRbx, GVA);
        static const uint8_t insn[] = {0xc5, 0xfe, 0x6f, 0x03}; /* vmovdqu ymm0, [rbx] */
        run(&f, insn, 4, GVA, WHvMemoryAccessRead);
        CHECK_EQ(fvmm_injected(f.vm).InterruptionVector, 6);
        CHECK_EQ(g_xs.reads + g_xs.writes, 0);
        fx_fini(&f);
    }
}

static void test_scalar_loads_zero_extend_and_half_loads_merge(void)
{
    struct fx f;
    fx_init(&f, 0);
    fill(&f, GPA, 16, 0xA0);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, GVA);
    set_xmm(&f, 0, ~0ull, ~0ull);
    static const uint8_t movss[] = {0xf3, 0x0f, 0x10, 0x03}; /* movss xmm0, [rbx] */
    run(&f, movss, 4, GVA, WHvMemoryAccessRead);
    CHECK_EQ(xmm(&f, 0).Low64, 0xA3A2A1A0ull);
    CHECK_EQ(xmm(&f, 0).High64, 0);
    set_xmm(&f, 0, ~0ull, ~0ull);
    static const uint8_t movq[] = {0xf3, 0x0f, 0x7e, 0x03}; /* movq xmm0, [rbx] */
    run(&f, movq, 4, GVA, WHvMemoryAccessRead);
    CHECK_EQ(xmm(&f, 0).Low64, 0xA7A6A5A4A3A2A1A0ull);
    CHECK_EQ(xmm(&f, 0).High64, 0);
    set_xmm(&f, 0, 0x1111, 0x2222);
    static const uint8_t movlps[] = {0x0f, 0x12, 0x03}; /* movlps xmm0, [rbx] */
    run(&f, movlps, 3, GVA, WHvMemoryAccessRead);
    CHECK_EQ(xmm(&f, 0).Low64, 0xA7A6A5A4A3A2A1A0ull);
    CHECK_EQ(xmm(&f, 0).High64, 0x2222);
    static const uint8_t movhpd[] = {0x66, 0x0f, 0x16, 0x03}; /* movhpd xmm0, [rbx] */
    run(&f, movhpd, 4, GVA, WHvMemoryAccessRead);
    CHECK_EQ(xmm(&f, 0).Low64, 0xA7A6A5A4A3A2A1A0ull);
    CHECK_EQ(xmm(&f, 0).High64, 0xA7A6A5A4A3A2A1A0ull);
    /* movhps [rbx], xmm1 stores bits 127:64; movd [rbx], xmm1 the low dword. */
    set_xmm(&f, 1, 0x0123456789ABCDEFull, 0xFEDCBA9876543210ull);
    static const uint8_t movhps_st[] = {0x0f, 0x17, 0x0b};
    run(&f, movhps_st, 3, GVA, WHvMemoryAccessWrite);
    uint64_t q = 0;
    fvmm_gpa_read(f.vm, GPA, &q, 8);
    CHECK_EQ(q, 0xFEDCBA9876543210ull);
    static const uint8_t movd_st[] = {0x66, 0x0f, 0x7e, 0x0b};
    run(&f, movd_st, 4, GVA, WHvMemoryAccessWrite);
    fvmm_gpa_read(f.vm, GPA, &q, 8);
    CHECK_EQ(q, 0xFEDCBA9889ABCDEFull);
    fx_fini(&f);
}

static void test_vex256_load_uses_the_xstate_callback_once_each_way(void)
{
    struct fx f;
    fx_init(&f, 1);
    fill(&f, GPA, 32, 0x40);
    memset(g_xs.ymm_hi, 0xEE, sizeof(g_xs.ymm_hi));
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, GVA);
    static const uint8_t insn[] = {0xc5, 0xfe, 0x6f, 0x1b}; /* vmovdqu ymm3, [rbx] */
    run(&f, insn, 4, GVA, WHvMemoryAccessRead);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(g_xs.reads, 1);
    CHECK_EQ(g_xs.writes, 1);
    CHECK_EQ(xmm(&f, 3).Low64, 0x4746454443424140ull);
    CHECK_EQ(g_xs.ymm_hi[3 * 16], 0x50);
    CHECK_EQ(g_xs.ymm_hi[3 * 16 + 15], 0x5F);
    CHECK_EQ(g_xs.ymm_hi[2 * 16], 0xEE); /* the other registers kept */
    CHECK_EQ(g_xs.ymm_hi[4 * 16], 0xEE);
    /* A VEX.128 load zeroes bits 255:128 of its destination. */
    static const uint8_t v128[] = {0xc5, 0xfa, 0x6f, 0x1b}; /* vmovdqu xmm3, [rbx] */
    run(&f, v128, 4, GVA, WHvMemoryAccessRead);
    CHECK_EQ(f.st.AsUINT32, 1);
    for (unsigned i = 0; i < 16; i++)
        CHECK_EQ(g_xs.ymm_hi[3 * 16 + i], 0);
    /* A VEX.256 store reads the upper halves, writes none. */
    g_xs.reads = g_xs.writes = 0;
    static const uint8_t st[] = {0xc5, 0xfe, 0x7f, 0x23}; /* vmovdqu [rbx], ymm4 */
    run(&f, st, 4, GVA, WHvMemoryAccessWrite);
    CHECK_EQ(g_xs.reads, 1);
    CHECK_EQ(g_xs.writes, 0);
    uint8_t got[32];
    fvmm_gpa_read(f.vm, GPA, got, 32);
    CHECK_EQ(got[16], 0xEE);
    fx_fini(&f);
}

static void test_vex_forms_without_the_callback(void)
{
    struct fx f;
    fx_init(&f, 0);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, GVA);
    static const uint8_t ld[] = {0xc5, 0xfe, 0x6f, 0x1b}; /* vmovdqu ymm3, [rbx] */
    run(&f, ld, 4, GVA, WHvMemoryAccessRead);
    CHECK_EQ(f.st.AsUINT32, 2); /* InternalEmulationFailure */
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_MEMORY), 0);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_SET_REGS), 0);
    CHECK(strstr(whvemu_last_failure(f.emu), "xstate") != NULL);
    static const uint8_t ld128[] = {0xc5, 0xfa, 0x6f, 0x1b}; /* vmovdqu xmm3, [rbx] */
    run(&f, ld128, 4, GVA, WHvMemoryAccessRead);
    CHECK_EQ(f.st.AsUINT32, 2); /* the write zeroes bits 255:128 */
    /* A VEX.128 store needs nothing beyond XMM0-15. */
    set_xmm(&f, 3, 0x1122334455667788ull, 0x99AABBCCDDEEFF00ull);
    static const uint8_t st128[] = {0xc5, 0xfa, 0x7f, 0x1b}; /* vmovdqu [rbx], xmm3 */
    run(&f, st128, 4, GVA, WHvMemoryAccessWrite);
    CHECK_EQ(f.st.AsUINT32, 1);
    uint64_t q = 0;
    fvmm_gpa_read(f.vm, GPA + 8, &q, 8);
    CHECK_EQ(q, 0x99AABBCCDDEEFF00ull);
    fx_fini(&f);
}

static void test_xstate_failures_report_their_callback_and_write_nothing(void)
{
    for (int k = 0; k < 2; k++) {
        struct fx f;
        fx_init(&f, 1);
        if (k == 0)
            g_xs.read_hr = E_FAIL;
        else
            g_xs.write_hr = E_FAIL;
        fvmm_set_reg64(f.vm, WHvX64RegisterRbx, GVA);
        static const uint8_t insn[] = {0xc5, 0xfe, 0x6f, 0x1b}; /* vmovdqu ymm3, [rbx] */
        run(&f, insn, 4, GVA, WHvMemoryAccessRead);
        CHECK_EQ(f.st.AsUINT32, k == 0 ? 0x40 : 0x80);
        CHECK_EQ(fvmm_count(f.vm, FVMM_CB_SET_REGS), 0);
        CHECK_EQ(fvmm_count(f.vm, FVMM_CB_MEMORY), k == 0 ? 0 : 4);
        CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), RIP0);
        fx_fini(&f);
    }
}

static void test_maskmovdqu_writes_only_selected_bytes(void)
{
    struct fx f;
    fx_init(&f, 0);
    uint8_t before[16];
    memset(before, 0x55, 16);
    fvmm_gpa_write(f.vm, GPA + 0x100, before, 16);
    fvmm_set_reg64(f.vm, WHvX64RegisterRdi, GVA + 0x100);
    set_xmm(&f, 1, 0x0706050403020100ull, 0x0F0E0D0C0B0A0908ull); /* data */
    set_xmm(&f, 2, 0x000000FF80800080ull, 0x8000000000000000ull); /* mask */
    static const uint8_t insn[] = {0x66, 0x0f, 0xf7, 0xca}; /* maskmovdqu xmm1, xmm2 */
    run(&f, insn, 4, GVA + 0x100, WHvMemoryAccessWrite);
    CHECK_EQ(f.st.AsUINT32, 1);
    uint8_t got[16];
    fvmm_gpa_read(f.vm, GPA + 0x100, got, 16);
    /* mask bytes 0, 2, 3, 4 and 15 have bit 7 set */
    static const uint8_t want[16] = {0x00, 0x55, 0x02, 0x03, 0x04, 0x55, 0x55, 0x55,
                                     0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x0F};
    CHECK(memcmp(got, want, 16) == 0);
    /* Three runs of selected bytes: three writes, nothing else touched. */
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_MEMORY), 3);
    fx_fini(&f);
}

static void test_pcmpeqb_and_ptest(void)
{
    struct fx f;
    fx_init(&f, 0);
    fill(&f, GPA, 16, 0);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, GVA);
    set_xmm(&f, 0, 0x0700050003000100ull, 0x0F000D000B000900ull);
    static const uint8_t eq[] = {0x66, 0x0f, 0x74, 0x03}; /* pcmpeqb xmm0, [rbx] */
    run(&f, eq, 4, GVA, WHvMemoryAccessRead);
    /* equal at bytes 0, 1, 3, 5, 7, 9, 11, 13, 15 */
    CHECK_EQ(xmm(&f, 0).Low64, 0xFF00FF00FF00FFFFull);
    CHECK_EQ(xmm(&f, 0).High64, 0xFF00FF00FF00FF00ull);
    /* ptest xmm1, [rbx]: memory 00 01 .. 0F; xmm1 = ~0 gives ZF = 0, CF = 1. */
    set_xmm(&f, 1, ~0ull, ~0ull);
    fvmm_set_reg64(f.vm, WHvX64RegisterRflags, 0x2 | 0x8D5);
    static const uint8_t pt[] = {0x66, 0x0f, 0x38, 0x17, 0x0b};
    run(&f, pt, 5, GVA, WHvMemoryAccessRead);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRflags) & 0x8D5, 0x001);
    set_xmm(&f, 1, 0, 0);
    run(&f, pt, 5, GVA, WHvMemoryAccessRead);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRflags) & 0x8D5, 0x040);
    fx_fini(&f);
}

static void test_mmx_load_sets_tags_and_exponent(void)
{
    struct fx f;
    fx_init(&f, 0);
    fill(&f, GPA, 8, 0x30);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, GVA);
    WHV_REGISTER_VALUE fpcs;
    memset(&fpcs, 0, sizeof(fpcs));
    fpcs.FpControlStatus.FpStatus = 0x3800; /* TOP = 7 */
    fpcs.FpControlStatus.FpTag = 0x01;
    fvmm_reg_set(f.vm, WHvX64RegisterFpControlStatus, &fpcs);
    static const uint8_t insn[] = {0x0f, 0x6f, 0x13}; /* movq mm2, [rbx] */
    run(&f, insn, 3, GVA, WHvMemoryAccessRead);
    CHECK_EQ(f.st.AsUINT32, 1);
    WHV_REGISTER_VALUE mm;
    fvmm_reg_get(f.vm, WHvX64RegisterFpMmx2, &mm);
    CHECK_EQ(mm.Reg128.Low64, 0x3736353433323130ull);
    CHECK_EQ(mm.Reg128.High64 & 0xFFFF, 0xFFFF);
    fvmm_reg_get(f.vm, WHvX64RegisterFpControlStatus, &fpcs);
    CHECK_EQ(fpcs.FpControlStatus.FpStatus & 0x3800, 0);
    CHECK_EQ(fpcs.FpControlStatus.FpTag, 0xFF);
    /* A pending x87 exception (FSW.ES) makes it #MF instead. */
    fpcs.FpControlStatus.FpStatus = 0x80;
    fvmm_reg_set(f.vm, WHvX64RegisterFpControlStatus, &fpcs);
    run(&f, insn, 3, GVA, WHvMemoryAccessRead);
    CHECK_EQ(fvmm_injected(f.vm).InterruptionVector, 16);
    fx_fini(&f);
}

static void test_alignment_check_only_for_scalar_sizes(void)
{
    struct fx f;
    fx_init(&f, 0);
    fvmm_setup_long_mode(f.vm, 3);
    f.am = 1;
    fvmm_set_reg64(f.vm, WHvX64RegisterRflags, 0x40002); /* AC */
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, GVA + 2);
    static const uint8_t movss[] = {0xf3, 0x0f, 0x10, 0x03}; /* movss xmm0, [rbx] */
    run(&f, movss, 4, GVA + 2, WHvMemoryAccessRead);
    CHECK_EQ(fvmm_injected(f.vm).InterruptionVector, 17);
    static const uint8_t movdqu[] = {0xf3, 0x0f, 0x6f, 0x03}; /* movdqu xmm0, [rbx] */
    run(&f, movdqu, 4, GVA + 2, WHvMemoryAccessRead);
    CHECK_EQ(fvmm_injected(f.vm).InterruptionPending, 0);
    CHECK_EQ(f.st.AsUINT32, 1);
    fx_fini(&f);
}

static void set_k(unsigned k, uint64_t v)
{
    memcpy(g_xs.opmask + 8 * k, &v, 8);
}

/* EVEX state: XCR0 with the AVX-512 components. */
static void fx_init_evex(struct fx *f)
{
    fx_init(f, 1);
    fvmm_set_reg64(f->vm, WHvX64RegisterXCr0, 0xE7);
}

static void test_evex_masked_load_merges_and_skips_disabled_elements(void)
{
    struct fx f;
    fx_init_evex(&f);
    fill(&f, GPA, 64, 0x80);
    set_xmm(&f, 1, 0x1111111111111111ull, 0x2222222222222222ull);
    memset(g_xs.ymm_hi + 16, 0x33, 16);
    memset(g_xs.zmm_hi + 32, 0x44, 32);
    set_k(2, 0x5); /* dwords 0 and 2 */
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, GVA);
    /* vmovdqu32 ymm1{k2}, [rbx] */
    static const uint8_t insn[] = {0x62, 0xf1, 0x7e, 0x2a, 0x6f, 0x0b};
    run(&f, insn, 6, GVA, WHvMemoryAccessRead);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(xmm(&f, 1).Low64, 0x1111111183828180ull);
    CHECK_EQ(xmm(&f, 1).High64, 0x222222228B8A8988ull);
    for (unsigned i = 0; i < 16; i++)
        CHECK_EQ(g_xs.ymm_hi[16 + i], 0x33); /* dwords 4..7 disabled: kept */
    for (unsigned i = 0; i < 32; i++)
        CHECK_EQ(g_xs.zmm_hi[32 + i], 0); /* bits 511:256 zeroed */
    /* Two runs of enabled dwords: two 4-byte reads, nothing else. */
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_MEMORY), 2);
    CHECK_EQ(g_xs.comp_reads[5], 1);
    CHECK_EQ(g_xs.comp_writes[5], 0);
    CHECK_EQ(g_xs.comp_writes[2], 1);
    CHECK_EQ(g_xs.comp_writes[6], 1);
    fx_fini(&f);
}

static void test_evex_zeroing_and_high_registers(void)
{
    struct fx f;
    fx_init_evex(&f);
    fill(&f, GPA, 64, 0x00);
    set_k(1, 0xF0); /* bytes 4..7 */
    memset(g_xs.hi16 + 64 * (17 - 16), 0x77, 64);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, GVA);
    /* vmovdqu8 xmm17{k1}{z}, [rbx] */
    static const uint8_t insn[] = {0x62, 0xe1, 0x7f, 0x89, 0x6f, 0x0b};
    run(&f, insn, 6, GVA, WHvMemoryAccessRead);
    CHECK_EQ(f.st.AsUINT32, 1);
    const uint8_t *z17 = g_xs.hi16 + 64;
    static const uint8_t want[8] = {0, 0, 0, 0, 4, 5, 6, 7};
    CHECK(memcmp(z17, want, 8) == 0);
    for (unsigned i = 8; i < 64; i++)
        CHECK_EQ(z17[i], 0);
    CHECK_EQ(g_xs.comp_writes[7], 1);
    CHECK_EQ(g_xs.comp_writes[2] + g_xs.comp_writes[6], 0);
    fx_fini(&f);
}

static void test_evex_masked_store_touches_only_enabled_elements(void)
{
    struct fx f;
    fx_init_evex(&f);
    uint8_t before[64];
    memset(before, 0xAB, 64);
    fvmm_gpa_write(f.vm, GPA + 0xFC0, before, 64);
    /* The page after it is not present: the disabled upper half lies there. */
    fvmm_map_gva_ex(f.vm, GVA + 0x1000, WHvTranslateGvaResultPageNotPresent, 0, 0);
    set_xmm(&f, 5, 0x0706050403020100ull, 0x0F0E0D0C0B0A0908ull);
    set_k(3, 0x3); /* qwords 0 and 1 of a 64-byte store starting at 0xFE0 */
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, GVA + 0xFE0);
    memset(g_xs.ymm_hi + 5 * 16, 0x55, 16);
    memset(g_xs.zmm_hi + 5 * 32, 0x66, 32);
    /* vmovdqu64 [rbx]{k3}, zmm5 */
    static const uint8_t insn[] = {0x62, 0xf1, 0xfe, 0x4b, 0x7f, 0x2b};
    run(&f, insn, 6, GVA + 0xFE0, WHvMemoryAccessWrite);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_injected(f.vm).InterruptionPending, 0);
    uint8_t got[64];
    fvmm_gpa_read(f.vm, GPA + 0xFC0, got, 64);
    for (unsigned i = 0; i < 32; i++)
        CHECK_EQ(got[i], 0xAB);
    for (unsigned i = 0; i < 16; i++)
        CHECK_EQ(got[32 + i], i);
    for (unsigned i = 48; i < 64; i++)
        CHECK_EQ(got[i], 0xAB);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_MEMORY), 2); /* one 16-byte run: two pieces */
    /* With a disabled-element mask covering the absent page nothing faults;
     * enabling an element there does. */
    set_k(3, 0x10);
    run(&f, insn, 6, GVA + 0xFE0, WHvMemoryAccessWrite);
    CHECK_EQ(fvmm_injected(f.vm).InterruptionVector, 14);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterCr2), GVA + 0x1000);
    fx_fini(&f);
}

static void test_evex_needs_avx512_state_and_rejects_bad_fields(void)
{
    struct fx f;
    fx_init(&f, 1); /* XCR0 = 7: no AVX-512 state */
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, GVA);
    static const uint8_t insn[] = {0x62, 0xf1, 0xfe, 0x48, 0x6f, 0x0b}; /* vmovdqu64 zmm1, [rbx] */
    run(&f, insn, 6, GVA, WHvMemoryAccessRead);
    CHECK_EQ(fvmm_injected(f.vm).InterruptionVector, 6);
    CHECK_EQ(g_xs.reads, 0);
    fx_fini(&f);
    fx_init_evex(&f);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, GVA);
    static const uint8_t bad[][6] = {
        {0x62, 0xf1, 0xfe, 0x68, 0x6f, 0x0b}, /* L'L = 11b */
        {0x62, 0xf1, 0xfe, 0x58, 0x6f, 0x0b}, /* broadcast on a move */
        {0x62, 0xf1, 0xfe, 0xc8, 0x6f, 0x0b}, /* {z} without a mask */
        {0x62, 0xf1, 0xfe, 0xc9, 0x7f, 0x0b}, /* {z} on a store */
        {0x62, 0xf1, 0x7d, 0x09, 0x7e, 0x0b}, /* vmovd with a mask */
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        run(&f, bad[i], 6, GVA, WHvMemoryAccessRead);
        CHECK_EQ(fvmm_injected(f.vm).InterruptionVector, 6);
        CHECK_EQ(fvmm_count(f.vm, FVMM_CB_MEMORY), 0);
    }
    fx_fini(&f);
}

static void test_evex_full_load_of_zmm_and_disp8_scaling(void)
{
    struct fx f;
    fx_init_evex(&f);
    fill(&f, GPA + 0x80, 64, 0x20);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, GVA);
    /* vmovups zmm2, [rbx + 2*64] (disp8 = 2, scaled by 64) */
    static const uint8_t insn[] = {0x62, 0xf1, 0x7c, 0x48, 0x10, 0x53, 0x02};
    run(&f, insn, 7, GVA + 0x80, WHvMemoryAccessRead);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(xmm(&f, 2).Low64, 0x2726252423222120ull);
    CHECK_EQ(g_xs.ymm_hi[2 * 16], 0x30);
    CHECK_EQ(g_xs.zmm_hi[2 * 32], 0x40);
    CHECK_EQ(g_xs.zmm_hi[2 * 32 + 31], 0x5F);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_MEMORY), 8);
    fx_fini(&f);
}

static uint64_t get_k(unsigned k)
{
    uint64_t v;
    memcpy(&v, g_xs.opmask + 8 * k, 8);
    return v;
}

static void test_evex_compares_write_an_opmask(void)
{
    struct fx f;
    fx_init_evex(&f);
    uint8_t m[32];
    for (unsigned i = 0; i < 32; i++)
        m[i] = (uint8_t)(i < 16 ? i : 0x80 + i);
    fvmm_gpa_write(f.vm, GPA, m, 32);
    /* ymm1 = 00 01 .. 0F then 16 bytes of 0x90 */
    set_xmm(&f, 1, 0x0706050403020100ull, 0x0F0E0D0C0B0A0908ull);
    memset(g_xs.ymm_hi + 16, 0x90, 16);
    set_k(3, ~0ull);
    set_k(2, 0x00FF00FFull);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, GVA);
    /* vpcmpeqb k3{k2}, ymm1, [rbx]: equal in bytes 0..15 and byte 0x10 (0x90) */
    static const uint8_t eq[] = {0x62, 0xf1, 0x75, 0x2a, 0x74, 0x1b};
    run(&f, eq, 6, GVA, WHvMemoryAccessRead);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(get_k(3), 0x000100FFull & 0x00FF00FFull);
    CHECK_EQ(g_xs.comp_writes[5], 1);
    /* vpcmpub k4, ymm1, [rbx], 1 (unsigned less than) */
    static const uint8_t lt[] = {0x62, 0xf3, 0x75, 0x28, 0x3e, 0x23, 0x01};
    run(&f, lt, 7, GVA, WHvMemoryAccessRead);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(get_k(4), 0xFFFE0000ull); /* 0x90 < 0x91..0x9F */
    /* vptestnmb k5, ymm1, [rbx]: ymm1 AND memory is zero in byte 0 only */
    static const uint8_t tnm[] = {0x62, 0xf2, 0x76, 0x28, 0x26, 0x2b};
    run(&f, tnm, 6, GVA, WHvMemoryAccessRead);
    CHECK_EQ(get_k(5), 0x00000001ull);
    fx_fini(&f);
}

static void test_evex_ternlog_with_broadcast_and_masked_min(void)
{
    struct fx f;
    fx_init_evex(&f);
    uint32_t d = 0x0F0F00FFu;
    fvmm_gpa_write(f.vm, GPA, &d, 4);
    set_xmm(&f, 1, 0x1111111111111111ull, 0x1111111111111111ull); /* destination */
    set_xmm(&f, 2, 0x2222222222222222ull, 0x2222222222222222ull);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, GVA);
    /* vpternlogd xmm1, xmm2, dword [rbx]{1to4}, 0x96 (three-way xor) */
    static const uint8_t tl[] = {0x62, 0xf3, 0x6d, 0x18, 0x25, 0x0b, 0x96};
    run(&f, tl, 7, GVA, WHvMemoryAccessRead);
    CHECK_EQ(f.st.AsUINT32, 1);
    uint64_t x = 0x33333333u ^ 0x0F0F00FFu;
    CHECK_EQ(xmm(&f, 1).Low64, x | x << 32);
    CHECK_EQ(xmm(&f, 1).High64, x | x << 32);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_MEMORY), 1); /* one 4-byte element read */
    /* vpminub xmm3{k1}{z}, xmm2, [rbx]: bytes 0-3 enabled */
    set_k(1, 0xF);
    static const uint8_t mn[] = {0x62, 0xf1, 0x6d, 0x89, 0xda, 0x1b};
    run(&f, mn, 6, GVA, WHvMemoryAccessRead);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(xmm(&f, 3).Low64, 0x0F0F0022ull);
    CHECK_EQ(xmm(&f, 3).High64, 0);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_MEMORY), 1); /* only the enabled run is read */
    fx_fini(&f);
}

int main(void)
{
    RUN(test_movdqu_load_reads_two_8_byte_pieces_and_fetches_no_destination);
    RUN(test_movups_store_across_a_page_splits_at_the_boundary);
    RUN(test_misaligned_movaps_is_gp_and_moves_nothing);
    RUN(test_cr0_and_cr4_give_ud_and_nm);
    RUN(test_scalar_loads_zero_extend_and_half_loads_merge);
    RUN(test_vex256_load_uses_the_xstate_callback_once_each_way);
    RUN(test_vex_forms_without_the_callback);
    RUN(test_xstate_failures_report_their_callback_and_write_nothing);
    RUN(test_maskmovdqu_writes_only_selected_bytes);
    RUN(test_pcmpeqb_and_ptest);
    RUN(test_mmx_load_sets_tags_and_exponent);
    RUN(test_alignment_check_only_for_scalar_sizes);
    RUN(test_evex_masked_load_merges_and_skips_disabled_elements);
    RUN(test_evex_zeroing_and_high_registers);
    RUN(test_evex_masked_store_touches_only_enabled_elements);
    RUN(test_evex_needs_avx512_state_and_rejects_bad_fields);
    RUN(test_evex_full_load_of_zmm_and_disp8_scaling);
    RUN(test_evex_compares_write_an_opmask);
    RUN(test_evex_ternlog_with_broadcast_and_masked_min);
    return CHECK_SUMMARY();
}
