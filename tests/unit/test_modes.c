/*
 * test_modes.c - hand-checked cases for the modes outside 64-bit mode:
 * 16-bit addressing forms and their default segments, segment bases and
 * limits, expand-down segments, rights, null segments, the CS limit on
 * instruction fetch, 16/32-bit RIP wrap and the 4 GiB linear wrap.
 */
#include <stdlib.h>
#include <string.h>

#include "WinHvEmulation.h"
#include "check.h"
#include "fake_vmm.h"
#include "mmio_run.h"

enum { ES, CS, SS, DS, FS, GS };

struct mfx {
    fake_vmm *vm;
    WHV_EMULATOR_HANDLE emu;
    WHV_VP_EXIT_CONTEXT vp;
    WHV_MEMORY_ACCESS_CONTEXT mc;
    WHV_EMULATOR_STATUS st;
};

static void set_seg(struct mfx *f, int s, uint16_t sel, uint64_t base, uint32_t limit,
                    uint16_t attr)
{
    WHV_REGISTER_VALUE v;
    memset(&v, 0, sizeof(v));
    v.Segment.Base = base;
    v.Segment.Limit = limit;
    v.Segment.Selector = sel;
    v.Segment.Attributes = attr;
    fvmm_reg_set(f->vm, (WHV_REGISTER_NAME)(WHvX64RegisterEs + s), &v);
}

/* real: Cr0Pe = 0, every segment base = selector * 16, limit 0xFFFF.
 * prot16/prot32: flat-ish segments with the given D bit. */
static void fx_init(struct mfx *f, int pe, int d)
{
    memset(f, 0, sizeof(*f));
    f->vm = fvmm_create();
    uint16_t code = (uint16_t)(pe ? (0x009B | (d ? 0x4000 : 0)) : 0x009B);
    uint16_t data = (uint16_t)(0x0093 | (d ? 0x4000 : 0));
    set_seg(f, CS, 0x1000, pe ? 0 : 0x10000, pe ? 0xFFFFFFFF : 0xFFFF, code);
    for (int s = 0; s < 6; s++)
        if (s != CS)
            set_seg(f, s, 0x2000, pe ? 0 : 0x20000, pe ? 0xFFFFFFFF : 0xFFFF, data);
    fvmm_set_reg64(f->vm, WHvX64RegisterRflags, 2);
    fvmm_set_reg64(f->vm, WHvX64RegisterRip, 0x100);
    if (WHvEmulatorCreateEmulator(fvmm_callbacks(), &f->emu) != S_OK)
        abort();
}

static void fx_fini(struct mfx *f)
{
    WHvEmulatorDestroyEmulator(f->emu);
    fvmm_destroy(f->vm);
}

static void fx_run(struct mfx *f, const uint8_t *b, unsigned n, int pe, int cpl)
{
    WHV_REGISTER_VALUE cs;
    fvmm_reg_get(f->vm, WHvX64RegisterCs, &cs);
    memset(&f->vp, 0, sizeof(f->vp));
    f->vp.ExecutionState.Cr0Pe = (UINT16)pe;
    f->vp.ExecutionState.Cpl = (UINT16)cpl;
    f->vp.Cs = cs.Segment;
    f->vp.Rip = fvmm_reg64(f->vm, WHvX64RegisterRip);
    f->vp.Rflags = fvmm_reg64(f->vm, WHvX64RegisterRflags);
    memset(&f->mc, 0, sizeof(f->mc));
    f->mc.InstructionByteCount = (UINT8)n;
    if (n)
        memcpy(f->mc.InstructionBytes, b, n);
    mmio_run_checked(f->vm, f->emu, &f->vp, &f->mc, &f->st);
}

static void test_real_mode_bx_si_uses_ds_base_and_wraps_at_64k(void)
{
    struct mfx f;
    fx_init(&f, 0, 0);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, 0xFFF0);
    fvmm_set_reg64(f.vm, WHvX64RegisterRsi, 0x0020); /* bx+si = 0x10010 -> 0x0010 */
    uint16_t v = 0xBEEF;
    fvmm_gpa_write(f.vm, 0x20000 + 0x10, &v, 2);
    static const uint8_t mov[] = {0x8b, 0x00}; /* mov ax, [bx+si] */
    fvmm_set_reg64(f.vm, WHvX64RegisterRax, 0x11112222);
    fx_run(&f, mov, 2, 0, 0);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRax), 0x1111BEEF);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), 0x102);
    fx_fini(&f);
}

static void test_real_mode_bp_defaults_to_ss(void)
{
    struct mfx f;
    fx_init(&f, 0, 0);
    set_seg(&f, SS, 0x3000, 0x30000, 0xFFFF, 0x0093);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbp, 0x100);
    uint8_t b = 0x5A;
    fvmm_gpa_write(f.vm, 0x30000 + 0x102, &b, 1);
    static const uint8_t mov[] = {0x8a, 0x46, 0x02}; /* mov al, [bp+2] */
    fx_run(&f, mov, 3, 0, 0);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRax) & 0xFF, 0x5A);
    fx_fini(&f);
}

static void test_real_mode_word_at_ffff_is_gp(void)
{
    struct mfx f;
    fx_init(&f, 0, 0);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, 0xFFFF);
    static const uint8_t mov[] = {0x8b, 0x07}; /* mov ax, [bx] */
    fx_run(&f, mov, 2, 0, 0);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_injected(f.vm).InterruptionVector, 13);
    CHECK_EQ(fvmm_injected(f.vm).DeliverErrorCode, 0); /* real mode pushes none */
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_MEMORY), 0);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), 0x100);
    /* Neither does the #GP of an over-long instruction. */
    uint8_t longi[16];
    memset(longi, 0x26, 15);
    longi[15] = 0x8b;
    fx_run(&f, longi, 16, 0, 0);
    CHECK_EQ(fvmm_injected(f.vm).InterruptionVector, 13);
    CHECK_EQ(fvmm_injected(f.vm).DeliverErrorCode, 0);
    fx_fini(&f);
}

/* An instruction ending exactly at offset 0xFFFF leaves IP = 0x10000, not 0:
 * EIP is not truncated after sequential execution (the host CPU does the
 * same; its next fetch there raises #GP against the 0xFFFF limit). */
static void test_real_mode_ip_after_ffff_is_10000(void)
{
    struct mfx f;
    fx_init(&f, 0, 0);
    fvmm_set_reg64(f.vm, WHvX64RegisterRip, 0xFFFE);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, 0x10);
    static const uint8_t mov[] = {0x89, 0x07}; /* mov [bx], ax */
    fx_run(&f, mov, 2, 0, 0);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_injected(f.vm).InterruptionPending, 0);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), 0x10000);
    fx_fini(&f);
}

/* An instruction fetched by the emulator that runs past offset 0xFFFF is
 * beyond the real-mode CS limit: #GP(0), delivered without an error code,
 * nothing done. The bytes must not be taken from CS:0000. */
static void test_real_mode_fetch_past_ffff_is_gp(void)
{
    struct mfx f;
    fx_init(&f, 0, 0);
    fvmm_set_reg64(f.vm, WHvX64RegisterRip, 0xFFFE);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, 0x10);
    static const uint8_t head[] = {0x89, 0x47}; /* mov [bx+8], ax: disp8 at IP 0x10000 */
    static const uint8_t tail[] = {0x08, 0x90};
    fvmm_gpa_write(f.vm, 0x10000 + 0xFFFE, head, 2);
    fvmm_gpa_write(f.vm, 0x10000, tail, 2);     /* CS:0000, where a wrap would read */
    fvmm_gpa_write(f.vm, 0x10000 + 0x10000, tail, 2); /* CS.base + 0x10000 */
    fx_run(&f, NULL, 0, 0, 0);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_injected(f.vm).InterruptionPending, 1);
    CHECK_EQ(fvmm_injected(f.vm).InterruptionVector, 13);
    CHECK_EQ(fvmm_injected(f.vm).DeliverErrorCode, 0);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), 0xFFFE);
    /* Only the two bytes inside the limit were read. */
    for (size_t i = 0; i < fvmm_call_count(f.vm); i++) {
        const fvmm_call *c = fvmm_call_at(f.vm, i);
        if (c->kind == FVMM_CB_MEMORY)
            CHECK(c->u.mem.direction == 0 && c->u.mem.gpa == 0x1FFFE && c->u.mem.size == 2);
    }
    fx_fini(&f);
}

static void test_prot32_limit_and_base(void)
{
    struct mfx f;
    fx_init(&f, 1, 1);
    set_seg(&f, DS, 0x10, 0x400000, 0xFFF, 0x4093);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, 0xFFC);
    uint32_t v = 0xA5A5A5A5;
    fvmm_gpa_write(f.vm, 0x400FFC, &v, 4);
    static const uint8_t mov[] = {0x8b, 0x03}; /* mov eax, [ebx] */
    fx_run(&f, mov, 2, 1, 0);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRax), 0xA5A5A5A5);
    /* one byte further straddles the limit */
    fvmm_set_reg64(f.vm, WHvX64RegisterRip, 0x100);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, 0xFFD);
    fx_run(&f, mov, 2, 1, 0);
    CHECK_EQ(fvmm_injected(f.vm).InterruptionVector, 13);
    CHECK_EQ(fvmm_injected(f.vm).ErrorCode, 0);
    fx_fini(&f);
}

static void test_prot32_ss_violation_is_ss_fault(void)
{
    struct mfx f;
    fx_init(&f, 1, 1);
    set_seg(&f, SS, 0x18, 0, 0xFFFF, 0x4093);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbp, 0x10000);
    static const uint8_t mov[] = {0x8b, 0x45, 0x00}; /* mov eax, [ebp] */
    fx_run(&f, mov, 3, 1, 0);
    CHECK_EQ(fvmm_injected(f.vm).InterruptionVector, 12);
    fx_fini(&f);
}

static void test_expand_down_segment_valid_range(void)
{
    struct mfx f;
    fx_init(&f, 1, 1);
    /* expand-down, B=0: valid offsets 0x1000..0xFFFF */
    set_seg(&f, DS, 0x20, 0x100000, 0x0FFF, 0x0097);
    static const uint8_t mov[] = {0x8b, 0x03};
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, 0x1000);
    fx_run(&f, mov, 2, 1, 0);
    CHECK_EQ(fvmm_injected(f.vm).InterruptionPending, 0);
    CHECK_EQ(f.st.AsUINT32, 1);
    fvmm_set_reg64(f.vm, WHvX64RegisterRip, 0x100);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, 0xFFF);
    fx_run(&f, mov, 2, 1, 0);
    CHECK_EQ(fvmm_injected(f.vm).InterruptionVector, 13);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, 0xFFFE); /* 4 bytes past 0xFFFF */
    fx_run(&f, mov, 2, 1, 0);
    CHECK_EQ(fvmm_injected(f.vm).InterruptionVector, 13);
    fx_fini(&f);
}

static void test_write_to_read_only_or_code_segment_is_gp(void)
{
    struct mfx f;
    fx_init(&f, 1, 1);
    static const uint8_t store[] = {0x89, 0x03}; /* mov [ebx], eax */
    set_seg(&f, DS, 0x28, 0, 0xFFFFFFFF, 0x4091); /* read-only data */
    fx_run(&f, store, 2, 1, 0);
    CHECK_EQ(fvmm_injected(f.vm).InterruptionVector, 13);
    set_seg(&f, DS, 0x30, 0, 0xFFFFFFFF, 0x409B); /* readable code */
    fx_run(&f, store, 2, 1, 0);
    CHECK_EQ(fvmm_injected(f.vm).InterruptionVector, 13);
    static const uint8_t load[] = {0x8b, 0x03};
    fx_run(&f, load, 2, 1, 0); /* reading readable code is fine */
    CHECK_EQ(fvmm_injected(f.vm).InterruptionPending, 0);
    CHECK_EQ(f.st.AsUINT32, 1);
    fvmm_set_reg64(f.vm, WHvX64RegisterRip, 0x100);
    set_seg(&f, DS, 0x38, 0, 0xFFFFFFFF, 0x4099); /* execute-only code */
    fx_run(&f, load, 2, 1, 0);
    CHECK_EQ(fvmm_injected(f.vm).InterruptionVector, 13);
    fx_fini(&f);
}

static void test_null_segment_access_is_gp(void)
{
    struct mfx f;
    fx_init(&f, 1, 1);
    set_seg(&f, ES, 0, 0, 0, 0); /* unusable */
    static const uint8_t stosb[] = {0xaa};
    fx_run(&f, stosb, 1, 1, 0);
    CHECK_EQ(fvmm_injected(f.vm).InterruptionVector, 13);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_MEMORY), 0);
    fx_fini(&f);
}

static void test_fetch_stops_at_the_cs_limit(void)
{
    struct mfx f;
    fx_init(&f, 1, 1);
    set_seg(&f, CS, 0x08, 0x10000, 0x101, 0x409B);
    /* mov eax, [ebx] is 2 bytes at 0x100..0x101: fits. */
    static const uint8_t mov[] = {0x8b, 0x03};
    fvmm_gva_write(f.vm, 0x10100, mov, 2);
    fx_run(&f, NULL, 0, 1, 0);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_injected(f.vm).InterruptionPending, 0);
    /* mov eax, [ebx+disp8] is 3 bytes: runs past the limit. */
    static const uint8_t mov3[] = {0x8b, 0x43, 0x04};
    fvmm_gva_write(f.vm, 0x10100, mov3, 3);
    fvmm_set_reg64(f.vm, WHvX64RegisterRip, 0x100);
    fx_run(&f, NULL, 0, 1, 0);
    CHECK_EQ(fvmm_injected(f.vm).InterruptionVector, 13);
    fx_fini(&f);
}

static void set_xmm(struct mfx *f, unsigned n, uint64_t lo, uint64_t hi)
{
    WHV_REGISTER_VALUE v;
    memset(&v, 0, sizeof(v));
    v.Reg128.Low64 = lo;
    v.Reg128.High64 = hi;
    fvmm_reg_set(f->vm, (WHV_REGISTER_NAME)(WHvX64RegisterXmm0 + n), &v);
}

/* MASKMOVDQU with a 16-bit address: each byte's offset is DI + i in 16
 * bits, so the bytes past 0xFFFF go to DS:0000 and up (the host CPU's
 * stores go there too), not to DS.base + 0x10000. */
static void test_real_mode_maskmovdqu_di_wraps_at_64k(void)
{
    struct mfx f;
    fx_init(&f, 0, 0);
    fvmm_set_reg64(f.vm, WHvX64RegisterCr4, 0x600); /* OSFXSR OSXMMEXCPT */
    fvmm_set_reg64(f.vm, WHvX64RegisterRdi, 0xFFFC);
    set_xmm(&f, 1, 0x0706050403020100ull, 0x0F0E0D0C0B0A0908ull); /* data */
    set_xmm(&f, 2, ~0ull, ~0ull);                                 /* mask: every byte */
    uint8_t z[32];
    memset(z, 0x55, sizeof z);
    fvmm_gpa_write(f.vm, 0x20000, z, 16);
    fvmm_gpa_write(f.vm, 0x2FFF0, z, 16);
    fvmm_gpa_write(f.vm, 0x30000, z, 16);
    static const uint8_t insn[] = {0x66, 0x0f, 0xf7, 0xca}; /* maskmovdqu xmm1, xmm2 */
    fx_run(&f, insn, 4, 0, 0);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_injected(f.vm).InterruptionPending, 0);
    uint8_t lo[16], hi[16], past[16];
    fvmm_gpa_read(f.vm, 0x20000, lo, 16);
    fvmm_gpa_read(f.vm, 0x2FFF0, hi, 16);
    fvmm_gpa_read(f.vm, 0x30000, past, 16);
    for (int i = 0; i < 4; i++)
        CHECK_EQ(hi[12 + i], i);
    for (int i = 0; i < 12; i++)
        CHECK_EQ(lo[i], 4 + i);
    CHECK_EQ(lo[12], 0x55);
    CHECK_EQ(past[0], 0x55); /* nothing at DS.base + 0x10000 */
    fx_fini(&f);
}

/* An aligned form's misalignment comes before the SS limit check: #GP(0),
 * not #SS(0), as the host CPU raises. */
static void test_prot32_misaligned_movdqa_beyond_ss_limit_is_gp(void)
{
    struct mfx f;
    fx_init(&f, 1, 1);
    fvmm_set_reg64(f.vm, WHvX64RegisterCr4, 0x600);
    set_seg(&f, SS, 0x18, 0x400000, 0xFFF, 0x4093);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbp, 0xFF8);
    static const uint8_t insn[] = {0x66, 0x0f, 0x6f, 0x45, 0x00}; /* movdqa xmm0, [ebp] */
    fx_run(&f, insn, 5, 1, 3);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_injected(f.vm).InterruptionVector, 13);
    CHECK_EQ(fvmm_injected(f.vm).ErrorCode, 0);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_MEMORY), 0);
    /* Aligned, the same operand beyond the limit is #SS(0). */
    fvmm_set_reg64(f.vm, WHvX64RegisterRbp, 0xFF0 + 0x10);
    fx_run(&f, insn, 5, 1, 3);
    CHECK_EQ(fvmm_injected(f.vm).InterruptionVector, 12);
    fx_fini(&f);
}

static void test_prot16_rep_movsw_with_32bit_addresses(void)
{
    struct mfx f;
    fx_init(&f, 1, 0);
    /* ESI beyond 16 bits: the a32 form uses all of ESI, EDI and ECX. */
    fvmm_set_reg64(f.vm, WHvX64RegisterRcx, 3);
    fvmm_set_reg64(f.vm, WHvX64RegisterRsi, 0x11000);
    fvmm_set_reg64(f.vm, WHvX64RegisterRdi, 0x2000);
    uint16_t src[3] = {1, 2, 3};
    fvmm_gpa_write(f.vm, 0x11000, src, 6);
    static const uint8_t movs[] = {0x67, 0xf3, 0xa5}; /* a32 rep movsw */
    fx_run(&f, movs, 3, 1, 0);
    CHECK_EQ(f.st.AsUINT32, 1);
    uint16_t dst[3] = {0};
    fvmm_gpa_read(f.vm, 0x2000, dst, 6);
    CHECK(memcmp(src, dst, 6) == 0);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRcx), 0);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRsi), 0x11006);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRdi), 0x2006);
    /* Without 0x67 only SI/DI/CX count, and SI wraps at 64 KiB keeping the
     * upper half. */
    fvmm_set_reg64(f.vm, WHvX64RegisterRip, 0x100);
    fvmm_set_reg64(f.vm, WHvX64RegisterRcx, 0xABCD0001);
    fvmm_set_reg64(f.vm, WHvX64RegisterRsi, 0x5FFFE);
    static const uint8_t movs16[] = {0xf3, 0xa5};
    fx_run(&f, movs16, 2, 1, 0);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRcx), 0xABCD0000);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRsi), 0x50000);
    fx_fini(&f);
}

static void test_prot32_linear_address_wraps_at_4g(void)
{
    struct mfx f;
    fx_init(&f, 1, 1);
    set_seg(&f, DS, 0x10, 0xFFFFF000, 0xFFFFFFFF, 0xC093);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, 0x1FFE); /* linear 0x100000FFE -> 0xFFE */
    uint32_t v = 0x01020304;
    fvmm_gpa_write(f.vm, 0xFFE, &v, 4);
    static const uint8_t mov[] = {0x8b, 0x03};
    fx_run(&f, mov, 2, 1, 0);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRax), 0x01020304);
    fx_fini(&f);
}

static void test_push_on_a_16bit_stack_wraps_sp(void)
{
    struct mfx f;
    fx_init(&f, 1, 0);
    set_seg(&f, SS, 0x18, 0x50000, 0xFFFF, 0x0093); /* B = 0 */
    fvmm_set_reg64(f.vm, WHvX64RegisterRsp, 0x12340000);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, 0x40);
    uint16_t v = 0x7777;
    fvmm_gpa_write(f.vm, 0x40, &v, 2);
    static const uint8_t push[] = {0xff, 0x37}; /* push word [bx] */
    fx_run(&f, push, 2, 1, 0);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRsp), 0x1234FFFE);
    uint16_t got = 0;
    fvmm_gpa_read(f.vm, 0x50000 + 0xFFFE, &got, 2);
    CHECK_EQ(got, 0x7777);
    fx_fini(&f);
}

static void test_v86_mode_addresses_like_real_mode_with_cpl3_checks(void)
{
    struct mfx f;
    fx_init(&f, 0, 0); /* real-mode style caches: base = selector * 16 */
    fvmm_set_reg64(f.vm, WHvX64RegisterRflags, 0x20002 | 0x40000); /* VM, AC */
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, 0x11);
    uint16_t v = 0x4242;
    fvmm_gpa_write(f.vm, 0x20011, &v, 2);
    static const uint8_t mov[] = {0x8b, 0x07}; /* mov ax, [bx] */
    fx_run(&f, mov, 2, 1, 3);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRax) & 0xFFFF, 0x4242);
    /* With CR0.AM the misaligned word raises #AC(0), with its error code:
     * virtual-8086 mode is protected mode. */
    fvmm_set_reg64(f.vm, WHvX64RegisterRip, 0x100);
    WHV_REGISTER_VALUE cs;
    fvmm_reg_get(f.vm, WHvX64RegisterCs, &cs);
    memset(&f.vp, 0, sizeof(f.vp));
    f.vp.ExecutionState.Cr0Pe = 1;
    f.vp.ExecutionState.Cr0Am = 1;
    f.vp.ExecutionState.Cpl = 3;
    f.vp.Cs = cs.Segment;
    f.vp.Rip = 0x100;
    f.vp.Rflags = 0x60002;
    memset(&f.mc, 0, sizeof(f.mc));
    f.mc.InstructionByteCount = 2;
    memcpy(f.mc.InstructionBytes, mov, 2);
    fvmm_reset_log(f.vm);
    fvmm_sync_guest_ram(f.vm, f.emu);
    CHECK_EQ(WHvEmulatorTryMmioEmulation(f.emu, f.vm, &f.vp, &f.mc, &f.st), S_OK);
    CHECK_EQ(fvmm_injected(f.vm).InterruptionVector, 17);
    CHECK_EQ(fvmm_injected(f.vm).DeliverErrorCode, 1);
    fx_fini(&f);
}

int main(void)
{
    RUN(test_real_mode_bx_si_uses_ds_base_and_wraps_at_64k);
    RUN(test_real_mode_bp_defaults_to_ss);
    RUN(test_real_mode_word_at_ffff_is_gp);
    RUN(test_real_mode_ip_after_ffff_is_10000);
    RUN(test_real_mode_fetch_past_ffff_is_gp);
    RUN(test_prot32_limit_and_base);
    RUN(test_prot32_ss_violation_is_ss_fault);
    RUN(test_expand_down_segment_valid_range);
    RUN(test_write_to_read_only_or_code_segment_is_gp);
    RUN(test_null_segment_access_is_gp);
    RUN(test_fetch_stops_at_the_cs_limit);
    RUN(test_real_mode_maskmovdqu_di_wraps_at_64k);
    RUN(test_prot32_misaligned_movdqa_beyond_ss_limit_is_gp);
    RUN(test_prot16_rep_movsw_with_32bit_addresses);
    RUN(test_prot32_linear_address_wraps_at_4g);
    RUN(test_push_on_a_16bit_stack_wraps_sp);
    RUN(test_v86_mode_addresses_like_real_mode_with_cpl3_checks);
    return CHECK_SUMMARY();
}
