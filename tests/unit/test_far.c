/*
 * test_far.c - far transfers on hand-checked cases, where the host CPU
 * cannot be the oracle (CPL 0, real and virtual-8086 mode, privilege
 * changes, the NMI mask): far JMP/CALL through memory, far RET, IRET,
 * IRETQ, BOUND and ARPL with descriptors in a GDT in guest memory.
 * Checked: CS (selector, base, limit, attributes) and RIP after the
 * transfer, the frame pushed or popped, rSP, RFLAGS, the stack switch and
 * the data segments nulled by a return to an outer level, the faults with
 * their error codes and nothing changed on a fault, and the refusals.
 */
#include <stdlib.h>
#include <string.h>

#include "seg_fixture.h"

enum { ES, CS, SS, DS, FS, GS };

#define GDT SEG_FX_GDT
#define DATA 0x9000u
#define STK 0x8000u

static void set_seg(struct seg_fx *f, int s, uint16_t sel, uint64_t base, uint32_t limit,
                    uint16_t attr)
{
    seg_desc_set(f->vm, s, sel, base, limit, attr);
}

static WHV_X64_SEGMENT_REGISTER seg(struct seg_fx *f, int s)
{
    return seg_desc_get(f->vm, s);
}

#define desc seg_desc_make

static void put_desc(struct seg_fx *f, uint16_t sel, uint64_t d)
{
    fvmm_gpa_write(f->vm, GDT + (sel & 0xFFF8u), &d, 8);
}

static uint64_t get_desc(struct seg_fx *f, uint16_t sel)
{
    uint64_t d = 0;
    fvmm_gpa_read(f->vm, GDT + (sel & 0xFFF8u), &d, 8);
    return d;
}

/* seg_fx_init, and the GDT's 0x08 code DPL 0, 0x10 data DPL 0, 0x18 code
 * DPL 3, 0x20 data DPL 3 (all flat, 32-bit, accessed); rSP and rBX. */
static void fx_init(struct seg_fx *f, int pe)
{
    seg_fx_init(f, pe);
    put_desc(f, 0x08, desc(0, 0xFFFFF, 0x9B, 0xC));
    put_desc(f, 0x10, desc(0, 0xFFFFF, 0x93, 0xC));
    put_desc(f, 0x18, desc(0, 0xFFFFF, 0xFB, 0xC));
    put_desc(f, 0x20, desc(0, 0xFFFFF, 0xF3, 0xC));
    fvmm_set_reg64(f->vm, WHvX64RegisterRsp, STK);
    fvmm_set_reg64(f->vm, WHvX64RegisterRbx, DATA);
}

#define fx_fini seg_fx_fini

static void fx_run(struct seg_fx *f, const uint8_t *b, unsigned n, int pe, int cpl, int lma)
{
    seg_fx_run(f, b, n, pe, cpl, lma, 0);
}

static void put(struct seg_fx *f, uint32_t gpa, uint64_t v, unsigned n)
{
    fvmm_gpa_write(f->vm, gpa, &v, n);
}

static uint64_t get(struct seg_fx *f, uint32_t gpa, unsigned n)
{
    uint64_t v = 0;
    fvmm_gpa_read(f->vm, gpa, &v, n);
    return v;
}

static void check_fault(struct seg_fx *f, unsigned vec, int has_ec, unsigned ec)
{
    WHV_X64_PENDING_INTERRUPTION_REGISTER p = fvmm_injected(f->vm);
    CHECK_EQ(p.InterruptionPending, 1);
    CHECK_EQ(p.InterruptionVector, vec);
    CHECK_EQ(p.DeliverErrorCode, has_ec);
    CHECK_EQ(p.ErrorCode, ec);
    CHECK_EQ(fvmm_reg64(f->vm, WHvX64RegisterRip), 0x100);
    CHECK_EQ(fvmm_reg64(f->vm, WHvX64RegisterRsp), STK);
}

static const uint8_t jmp_far[] = {0xff, 0x2b};   /* jmp far [ebx] */
static const uint8_t call_far[] = {0xff, 0x1b};  /* call far [ebx] */
static const uint8_t retf[] = {0xcb};
static const uint8_t retf8[] = {0xca, 0x08, 0x00};
static const uint8_t iret[] = {0xcf};

static void test_real_mode_far_jmp_and_call(void)
{
    struct seg_fx f;
    fx_init(&f, 0);
    set_seg(&f, CS, 0x1000, 0x10000, 0xFFFF, 0x009B);
    put(&f, DATA, 0x20001234, 4); /* 2000:1234 */
    static const uint8_t jmp16[] = {0xff, 0x2f}; /* jmp far [bx] */
    fx_run(&f, jmp16, 2, 0, 0, 0);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(seg(&f, CS).Selector, 0x2000);
    CHECK_EQ(seg(&f, CS).Base, 0x20000);
    CHECK_EQ(seg(&f, CS).Limit, 0xFFFF);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), 0x1234);
    /* call far [bx]: CS then IP pushed, 2 bytes each */
    set_seg(&f, CS, 0x1000, 0x10000, 0xFFFF, 0x009B);
    fvmm_set_reg64(f.vm, WHvX64RegisterRip, 0x100);
    static const uint8_t call16[] = {0xff, 0x1f};
    fx_run(&f, call16, 2, 0, 0, 0);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRsp), STK - 4);
    CHECK_EQ(get(&f, STK - 2, 2), 0x1000);
    CHECK_EQ(get(&f, STK - 4, 2), 0x102);
    CHECK_EQ(seg(&f, CS).Base, 0x20000);
    /* a 32-bit offset beyond 64 KiB: #GP(0), nothing pushed or loaded */
    set_seg(&f, CS, 0x1000, 0x10000, 0xFFFF, 0x009B);
    fvmm_set_reg64(f.vm, WHvX64RegisterRip, 0x100);
    fvmm_set_reg64(f.vm, WHvX64RegisterRsp, STK);
    uint8_t p32[6] = {0x00, 0x00, 0x01, 0x00, 0x00, 0x20};
    fvmm_gpa_write(f.vm, DATA, p32, 6);
    static const uint8_t call32[] = {0x66, 0xff, 0x1f};
    put(&f, STK - 8, 0x5555555555555555ull, 8);
    fx_run(&f, call32, 3, 0, 0, 0);
    check_fault(&f, 13, 0, 0); /* real mode: no error code delivered */
    CHECK_EQ(seg(&f, CS).Selector, 0x1000);
    CHECK_EQ(get(&f, STK - 8, 8), 0x5555555555555555ull);
    fx_fini(&f);
}

static void test_protected_far_jmp_loads_cs_and_checks_the_target(void)
{
    struct seg_fx f;
    fx_init(&f, 1);
    put_desc(&f, 0x28, desc(0x10000, 0xFFFF, 0x9A, 0x0));  /* 16-bit code, not accessed */
    put_desc(&f, 0x30, desc(0, 0xFFFF, 0x9E, 0x0));        /* conforming DPL 0 */
    put_desc(&f, 0x38, desc(0, 0xFFFF, 0x1A, 0x0));        /* not present */
    put_desc(&f, 0x40, desc(0, 0x0FFF, 0x9A, 0x0));        /* limit 0xFFF */
    put_desc(&f, 0x48, (uint64_t)0x0008 << 16 | (uint64_t)0xEC << 40); /* call gate */
    put_desc(&f, 0x50, desc(0, 0xFFFF, 0x89, 0x0));        /* available TSS */
    put_desc(&f, 0x58, desc(0, 0xFFFF, 0x82, 0x0));        /* LDT descriptor */
    put(&f, DATA, 0x0028ABCDull | (uint64_t)0 << 48, 8);
    uint8_t p[6] = {0xCD, 0xAB, 0x00, 0x00, 0x28, 0x00};
    fvmm_gpa_write(f.vm, DATA, p, 6);
    fx_run(&f, jmp_far, 2, 1, 0, 0);
    CHECK_EQ(f.st.AsUINT32, 1);
    WHV_X64_SEGMENT_REGISTER s = seg(&f, CS);
    CHECK_EQ(s.Selector, 0x28);
    CHECK_EQ(s.Base, 0x10000);
    CHECK_EQ(s.Limit, 0xFFFF);
    CHECK_EQ(s.Attributes, 0x009B);
    CHECK_EQ(get_desc(&f, 0x28) >> 40 & 0xFF, 0x9B); /* accessed bit written */
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), 0xABCD);
    struct {
        uint16_t sel;
        uint32_t off;
        int cpl;
        unsigned vec, ec;
    } cases[] = {
        {0x0003, 0, 0, 13, 0},      /* null */
        {0x0010, 0, 0, 13, 0x10},   /* data */
        {0x0018, 0, 0, 13, 0x18},   /* non-conforming, DPL 3 != CPL 0 */
        {0x002B, 0, 0, 13, 0x28},   /* RPL 3 > CPL 0 */
        {0x0028, 0, 3, 13, 0x28},   /* DPL 0 != CPL 3 */
        {0x0030, 0, 3, 13, 13 * 0}, /* conforming DPL 0 <= CPL 3: loads (below) */
        {0x0038, 0, 0, 11, 0x38},   /* not present */
        {0x0040, 0x1000, 0, 13, 0}, /* beyond the limit */
        {0x0058, 0, 0, 13, 0x58},   /* LDT descriptor */
        {0x0080, 0, 0, 13, 0x80},   /* beyond the GDT */
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (cases[i].sel == 0x30)
            continue;
        set_seg(&f, CS, 0x08, 0, 0xFFFFFFFF, 0xC09B);
        fvmm_set_reg64(f.vm, WHvX64RegisterRip, 0x100);
        put(&f, DATA, cases[i].off, 4);
        put(&f, DATA + 4, cases[i].sel, 2);
        fx_run(&f, jmp_far, 2, 1, cases[i].cpl, 0);
        check_fault(&f, cases[i].vec, 1, cases[i].ec);
        CHECK_EQ(seg(&f, CS).Selector, 0x08);
    }
    /* a conforming segment at CPL 3: CS.RPL = CPL */
    set_seg(&f, CS, 0x1B, 0, 0xFFFFFFFF, 0xC0FB);
    fvmm_set_reg64(f.vm, WHvX64RegisterRip, 0x100);
    put(&f, DATA, 0x10, 4);
    put(&f, DATA + 4, 0x30, 2);
    fx_run(&f, jmp_far, 2, 1, 3, 0);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(seg(&f, CS).Selector, 0x33);
    /* gates and TSSs are refused with nothing done */
    for (uint16_t sel = 0x48; sel <= 0x50; sel += 8) {
        set_seg(&f, CS, 0x08, 0, 0xFFFFFFFF, 0xC09B);
        fvmm_set_reg64(f.vm, WHvX64RegisterRip, 0x100);
        put(&f, DATA + 4, sel, 2);
        fx_run(&f, jmp_far, 2, 1, 0, 0);
        CHECK_EQ(f.st.AsUINT32, 2);
        CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), 0x100);
    }
    fx_fini(&f);
}

static void test_protected_far_call_pushes_cs_zero_extended_and_eip(void)
{
    struct seg_fx f;
    fx_init(&f, 1);
    put(&f, STK - 8, 0xAAAAAAAAAAAAAAAAull, 8);
    put(&f, DATA, 0x12345678, 4);
    put(&f, DATA + 4, 0x08, 2);
    fx_run(&f, call_far, 2, 1, 0, 0);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(get(&f, STK - 4, 4), 0x00000008);
    CHECK_EQ(get(&f, STK - 8, 4), 0x102);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRsp), STK - 8);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), 0x12345678);
    /* no room on the stack: #SS(0) */
    fvmm_set_reg64(f.vm, WHvX64RegisterRip, 0x100);
    fvmm_set_reg64(f.vm, WHvX64RegisterRsp, STK);
    set_seg(&f, CS, 0x08, 0, 0xFFFFFFFF, 0xC09B);
    set_seg(&f, SS, 0x10, 0, STK - 2, 0xC093);
    fx_run(&f, call_far, 2, 1, 0, 0);
    check_fault(&f, 12, 1, 0);
    /* and a target beyond its limit too: processors differ in which fault
     * comes first, refused */
    put_desc(&f, 0x40, desc(0, 0x0FFF, 0x9A, 0x0));
    put(&f, DATA + 4, 0x40, 2);
    fx_run(&f, call_far, 2, 1, 0, 0);
    CHECK_EQ(f.st.AsUINT32, 2);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRsp), STK);
    fx_fini(&f);
}

static void test_far_ret_same_level_and_to_an_outer_level(void)
{
    struct seg_fx f;
    fx_init(&f, 1);
    /* same level: EIP, CS, then imm16 released */
    put(&f, STK, 0x4444, 4);
    put(&f, STK + 4, 0xFFFF0008u, 4); /* the high half of the CS slot is ignored */
    fx_run(&f, retf8, 3, 1, 0, 0);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), 0x4444);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRsp), STK + 16);
    /* to CPL 3: EIP, CS, (imm16), ESP, SS; DS (DPL 0 data) is nulled, ES
     * (DPL 3) stays; imm16 is released on the new stack too */
    fvmm_set_reg64(f.vm, WHvX64RegisterRip, 0x100);
    fvmm_set_reg64(f.vm, WHvX64RegisterRsp, STK);
    set_seg(&f, ES, 0x23, 0, 0xFFFFFFFF, 0xC0F3);
    put(&f, STK, 0x5555, 4);
    put(&f, STK + 4, 0x1B, 4);
    put(&f, STK + 16, 0x7000, 4);
    put(&f, STK + 20, 0x23, 4);
    fx_run(&f, retf8, 3, 1, 0, 0);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(seg(&f, CS).Selector, 0x1B);
    CHECK_EQ(seg(&f, CS).Attributes, 0xC0FB);
    CHECK_EQ(seg(&f, SS).Selector, 0x23);
    CHECK_EQ(seg(&f, SS).Attributes, 0xC0F3);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRsp), 0x7008);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), 0x5555);
    CHECK_EQ(seg(&f, DS).Selector, 0);
    CHECK_EQ(seg(&f, DS).Present, 0);
    CHECK_EQ(seg(&f, FS).Selector, 0);
    CHECK_EQ(seg(&f, ES).Selector, 0x23);
    /* faults: RPL < CPL, a stack with the wrong RPL, a read-only stack,
     * a stack not present (#SS(sel)) */
    put_desc(&f, 0x28, desc(0, 0xFFFFF, 0xF1, 0xC)); /* read-only data DPL 3 */
    put_desc(&f, 0x30, desc(0, 0xFFFFF, 0x73, 0xC)); /* not present DPL 3 */
    struct {
        int cpl;
        uint16_t cs, ss;
        unsigned vec, ec;
    } cases[] = {
        {3, 0x08, 0x23, 13, 0x08}, {0, 0x1B, 0x20, 13, 0x20}, {0, 0x1B, 0x2B, 13, 0x28},
        {0, 0x1B, 0x33, 12, 0x30}, {0, 0x1B, 0x00, 13, 0},    {0, 0x19, 0x23, 13, 0x18},
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        set_seg(&f, CS, cases[i].cpl ? 0x1B : 0x08, 0, 0xFFFFFFFF,
                cases[i].cpl ? 0xC0FB : 0xC09B);
        set_seg(&f, SS, 0x10, 0, 0xFFFFFFFF, 0xC093);
        fvmm_set_reg64(f.vm, WHvX64RegisterRip, 0x100);
        fvmm_set_reg64(f.vm, WHvX64RegisterRsp, STK);
        put(&f, STK + 4, cases[i].cs, 4);
        put(&f, STK + 12, cases[i].ss, 4);
        fx_run(&f, retf, 1, 1, cases[i].cpl, 0);
        check_fault(&f, cases[i].vec, 1, cases[i].ec);
        CHECK_EQ(seg(&f, SS).Selector, 0x10);
    }
    fx_fini(&f);
}

static void test_iret_flags_by_cpl_and_iopl_and_the_nmi_mask(void)
{
    struct seg_fx f;
    fx_init(&f, 1);
    /* CPL 0 same level: IF, IOPL, AC, RF, VIF load; VM does not */
    WHV_REGISTER_VALUE is;
    memset(&is, 0, sizeof(is));
    is.InterruptState.NmiMasked = 1;
    fvmm_reg_set(f.vm, WHvRegisterInterruptState, &is);
    put(&f, STK, 0x1000, 4);
    put(&f, STK + 4, 0x08, 4);
    put(&f, STK + 8, 0x00093AD5u, 4);
    fx_run(&f, iret, 1, 1, 0, 0);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRflags), 0x00093AD7u);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRsp), STK + 12);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), 0x1000);
    fvmm_reg_get(f.vm, WHvRegisterInterruptState, &is);
    CHECK_EQ(is.InterruptState.NmiMasked, 0);
    /* VM in the image at CPL 0: a return to virtual-8086 mode, refused */
    fvmm_set_reg64(f.vm, WHvX64RegisterRip, 0x100);
    fvmm_set_reg64(f.vm, WHvX64RegisterRsp, STK);
    fvmm_set_reg64(f.vm, WHvX64RegisterRflags, 0x2);
    put(&f, STK + 8, 0x00020002u, 4);
    fx_run(&f, iret, 1, 1, 0, 0);
    CHECK_EQ(f.st.AsUINT32, 2);
    /* CPL 3, IOPL 0 -> CPL 3: IF and IOPL keep their values */
    set_seg(&f, CS, 0x1B, 0, 0xFFFFFFFF, 0xC0FB);
    set_seg(&f, SS, 0x23, 0, 0xFFFFFFFF, 0xC0F3);
    fvmm_set_reg64(f.vm, WHvX64RegisterRflags, 0x2);
    fvmm_set_reg64(f.vm, WHvX64RegisterRip, 0x100);
    fvmm_set_reg64(f.vm, WHvX64RegisterRsp, STK);
    put(&f, STK + 4, 0x1B, 4);
    put(&f, STK + 8, 0x3201, 4);
    fx_run(&f, iret, 1, 1, 3, 0);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRflags), 0x3);
    /* NT set: a task return, refused (legacy protected mode) */
    fvmm_set_reg64(f.vm, WHvX64RegisterRflags, 0x4002);
    fvmm_set_reg64(f.vm, WHvX64RegisterRip, 0x100);
    fx_run(&f, iret, 1, 1, 3, 0);
    CHECK_EQ(f.st.AsUINT32, 2);
    fx_fini(&f);
}

static void test_iret_to_an_outer_level_switches_the_stack(void)
{
    struct seg_fx f;
    fx_init(&f, 1);
    fvmm_set_reg64(f.vm, WHvX64RegisterRflags, 0x202);
    put(&f, STK, 0x2222, 4);
    put(&f, STK + 4, 0x1B, 4);
    put(&f, STK + 8, 0x10046, 4); /* RF ZF PF */
    put(&f, STK + 12, 0x6000, 4);
    put(&f, STK + 16, 0x23, 4);
    fx_run(&f, iret, 1, 1, 0, 0);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(seg(&f, CS).Selector, 0x1B);
    CHECK_EQ(seg(&f, SS).Selector, 0x23);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRsp), 0x6000);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRflags), 0x10046); /* IF cleared at CPL 0; RF stays */
    CHECK_EQ(seg(&f, DS).Selector, 0);
    fx_fini(&f);
}

static void test_iretq_in_64_bit_mode_pops_ss_and_can_enter_compatibility_mode(void)
{
    struct seg_fx f;
    fx_init(&f, 1);
    set_seg(&f, CS, 0x38, 0, 0xFFFFFFFF, 0xA09B); /* 64-bit code */
    put_desc(&f, 0x38, desc(0, 0xFFFFF, 0x9B, 0xA));
    put_desc(&f, 0x40, desc(0, 0xFFFFF, 0xFB, 0xC)); /* 32-bit code DPL 3 */
    put_desc(&f, 0x48, desc(0, 0xFFFFF, 0xFB, 0xA)); /* 64-bit code DPL 3 */
    fvmm_set_reg64(f.vm, WHvX64RegisterEfer, 0x500);
    fvmm_set_reg64(f.vm, WHvX64RegisterRsp, STK);
    static const uint8_t iretq[] = {0x48, 0xcf};
    put(&f, STK, 0x1234, 8);
    put(&f, STK + 8, 0x38, 8);
    put(&f, STK + 16, 0x2, 8);
    put(&f, STK + 24, 0x7770, 8);
    put(&f, STK + 32, 0x10, 8);
    fx_run(&f, iretq, 2, 1, 0, 1);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRsp), 0x7770); /* same level: SS:RSP popped too */
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), 0x1234);
    /* to CPL 3 compatibility mode (a null FS and GS: nulling them is refused
     * in IA-32e mode) */
    set_seg(&f, FS, 0, 0, 0, 0);
    set_seg(&f, GS, 0, 0, 0, 0);
    set_seg(&f, CS, 0x38, 0, 0xFFFFFFFF, 0xA09B);
    fvmm_set_reg64(f.vm, WHvX64RegisterRsp, STK);
    fvmm_set_reg64(f.vm, WHvX64RegisterRip, 0x100);
    put(&f, STK + 8, 0x43, 8);
    put(&f, STK + 32, 0x23, 8);
    fx_run(&f, iretq, 2, 1, 0, 1);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(seg(&f, CS).Selector, 0x43);
    CHECK_EQ(seg(&f, CS).Long, 0);
    CHECK_EQ(seg(&f, SS).Selector, 0x23);
    CHECK_EQ(seg(&f, DS).Selector, 0);
    /* a non-canonical RIP into 64-bit code: #GP(0) */
    set_seg(&f, CS, 0x38, 0, 0xFFFFFFFF, 0xA09B);
    set_seg(&f, SS, 0x10, 0, 0xFFFFFFFF, 0xC093);
    fvmm_set_reg64(f.vm, WHvX64RegisterRsp, STK);
    fvmm_set_reg64(f.vm, WHvX64RegisterRip, 0x100);
    put(&f, STK, 0x0000800000000000ull, 8);
    put(&f, STK + 8, 0x4B, 8);
    fx_run(&f, iretq, 2, 1, 0, 1);
    check_fault(&f, 13, 1, 0);
    /* a null SS into 64-bit code at CPL 0: refused */
    put(&f, STK, 0x1234, 8);
    put(&f, STK + 8, 0x38, 8);
    put(&f, STK + 32, 0, 8);
    fx_run(&f, iretq, 2, 1, 0, 1);
    CHECK_EQ(f.st.AsUINT32, 2);
    /* NT set in IA-32e mode: #GP(0) */
    fvmm_set_reg64(f.vm, WHvX64RegisterRflags, 0x4002);
    fx_run(&f, iretq, 2, 1, 0, 1);
    check_fault(&f, 13, 1, 0);
    fx_fini(&f);
}

static void test_v86_iret_needs_iopl_3_and_keeps_iopl(void)
{
    struct seg_fx f;
    fx_init(&f, 0);
    set_seg(&f, CS, 0x1000, 0x10000, 0xFFFF, 0x00F3);
    set_seg(&f, SS, 0x0000, 0, 0xFFFF, 0x00F3);
    fvmm_set_reg64(f.vm, WHvX64RegisterRflags, 0x20002); /* VM, IOPL 0 */
    fx_run(&f, iret, 1, 1, 3, 0);
    check_fault(&f, 13, 1, 0);
    fvmm_set_reg64(f.vm, WHvX64RegisterRflags, 0x23002); /* IOPL 3 */
    put(&f, STK, 0x0010, 2);
    put(&f, STK + 2, 0x2000, 2);
    put(&f, STK + 4, 0x0CD5, 2); /* IOPL 0 in the image: kept at 3 */
    fx_run(&f, iret, 1, 1, 3, 0);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRflags), 0x23CD7);
    CHECK_EQ(seg(&f, CS).Base, 0x20000);
    CHECK_EQ(seg(&f, CS).Attributes, 0x00F3);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), 0x10);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRsp), STK + 6);
    fx_fini(&f);
}

static void test_bound_raises_br_and_arpl_adjusts_the_rpl(void)
{
    struct seg_fx f;
    fx_init(&f, 1);
    static const uint8_t bound[] = {0x62, 0x03}; /* bound eax, [ebx] */
    put(&f, DATA, (uint64_t)(uint32_t)-5 | (uint64_t)10 << 32, 8);
    fvmm_set_reg64(f.vm, WHvX64RegisterRax, (uint32_t)-5);
    fx_run(&f, bound, 2, 1, 0, 0);
    CHECK_EQ(f.st.AsUINT32, 1);
    fvmm_set_reg64(f.vm, WHvX64RegisterRip, 0x100);
    fvmm_set_reg64(f.vm, WHvX64RegisterRax, 11);
    fx_run(&f, bound, 2, 1, 0, 0);
    check_fault(&f, 5, 0, 0);
    static const uint8_t arpl[] = {0x63, 0x0b}; /* arpl [ebx], cx */
    put(&f, DATA, 0x5550, 4);
    fvmm_set_reg64(f.vm, WHvX64RegisterRcx, 2);
    fx_run(&f, arpl, 2, 1, 0, 0);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(get(&f, DATA, 4), 0x5552);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRflags) & 0x40, 0x40);
    fvmm_set_reg64(f.vm, WHvX64RegisterRip, 0x100);
    fvmm_set_reg64(f.vm, WHvX64RegisterRcx, 1);
    fx_run(&f, arpl, 2, 1, 0, 0);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(get(&f, DATA, 4), 0x5552);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRflags) & 0x40, 0);
    fx_fini(&f);
    /* ARPL in real mode: #UD */
    fx_init(&f, 0);
    static const uint8_t arpl16[] = {0x63, 0x0f}; /* arpl [bx], cx */
    fx_run(&f, arpl16, 2, 0, 0, 0);
    WHV_X64_PENDING_INTERRUPTION_REGISTER p = fvmm_injected(f.vm);
    CHECK_EQ(p.InterruptionVector, 6);
    fx_fini(&f);
}

int main(void)
{
    RUN(test_real_mode_far_jmp_and_call);
    RUN(test_protected_far_jmp_loads_cs_and_checks_the_target);
    RUN(test_protected_far_call_pushes_cs_zero_extended_and_eip);
    RUN(test_far_ret_same_level_and_to_an_outer_level);
    RUN(test_iret_flags_by_cpl_and_iopl_and_the_nmi_mask);
    RUN(test_iret_to_an_outer_level_switches_the_stack);
    RUN(test_iretq_in_64_bit_mode_pops_ss_and_can_enter_compatibility_mode);
    RUN(test_v86_iret_needs_iopl_3_and_keeps_iopl);
    RUN(test_bound_raises_br_and_arpl_adjusts_the_rpl);
    return CHECK_SUMMARY();
}
