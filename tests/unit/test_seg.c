/*
 * test_seg.c - segment register loads on hand-checked cases, where the
 * host CPU cannot be the oracle (CPL 0, real and virtual-8086 mode, the
 * interrupt shadow): MOV Sreg,m16, LDS/LSS, POP/PUSH Sreg and MOV m16,Sreg
 * with the descriptor in a GDT or LDT in guest memory. Checked: the whole
 * segment register written back (selector, base, byte-granular limit,
 * attributes), the accessed bit written into the table, the faults with
 * their selector error codes (#GP, #NP, #SS), nothing changed on a fault,
 * and the interrupt shadow of a load of SS.
 */
#include <stdlib.h>
#include <string.h>

#include "seg_fixture.h"

enum { ES, CS, SS, DS, FS, GS };

#define GDT SEG_FX_GDT
#define LDT 0x6000u
#define DATA 0x9000u

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

static void put_desc(struct seg_fx *f, uint32_t table, uint16_t sel, uint64_t d)
{
    fvmm_gpa_write(f->vm, table + (sel & 0xFFF8u), &d, 8);
}

static uint64_t get_desc(struct seg_fx *f, uint32_t table, uint16_t sel)
{
    uint64_t d = 0;
    fvmm_gpa_read(f->vm, table + (sel & 0xFFF8u), &d, 8);
    return d;
}

/* pe = 0: real mode; else 32-bit protected mode with a GDT of 16 entries
 * and, with set_ldt, an LDT of 4 entries. */
#define fx_init seg_fx_init
#define fx_fini seg_fx_fini

static void set_ldt(struct seg_fx *f, uint16_t sel, int usable)
{
    WHV_REGISTER_VALUE v;
    memset(&v, 0, sizeof(v));
    v.Segment.Selector = sel;
    v.Segment.Base = LDT;
    v.Segment.Limit = 4 * 8 - 1;
    v.Segment.Attributes = usable ? 0x0082 : 0;
    fvmm_reg_set(f->vm, WHvX64RegisterLdtr, &v);
}

static void fx_run(struct seg_fx *f, const uint8_t *b, unsigned n, int pe, int cpl, int shadow)
{
    seg_fx_run(f, b, n, pe, cpl, 0, shadow);
}

static void put16(struct seg_fx *f, uint32_t gpa, uint16_t v)
{
    fvmm_gpa_write(f->vm, gpa, &v, 2);
}

static void check_fault(struct seg_fx *f, unsigned vec, unsigned ec)
{
    WHV_X64_PENDING_INTERRUPTION_REGISTER p = fvmm_injected(f->vm);
    CHECK_EQ(p.InterruptionPending, 1);
    CHECK_EQ(p.InterruptionVector, vec);
    CHECK_EQ(p.DeliverErrorCode, 1);
    CHECK_EQ(p.ErrorCode, ec);
    CHECK_EQ(fvmm_reg64(f->vm, WHvX64RegisterRip), 0x100);
}

static const uint8_t mov_ds[] = {0x8e, 0x1b};  /* mov ds, [ebx] */
static const uint8_t mov_ss[] = {0x8e, 0x13};  /* mov ss, [ebx] */

static void test_mov_ds_loads_the_descriptor_and_sets_its_accessed_bit(void)
{
    struct seg_fx f;
    fx_init(&f, 1);
    put_desc(&f, GDT, 0x28, desc(0x12345678, 0xABCDE, 0xF2, 0xC)); /* DPL 3 RW data, G, D */
    put16(&f, DATA, 0x2B);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, DATA);
    fx_run(&f, mov_ds, 2, 1, 0, 0);
    CHECK_EQ(f.st.AsUINT32, 1);
    WHV_X64_SEGMENT_REGISTER s = seg(&f, DS);
    CHECK_EQ(s.Selector, 0x2B);
    CHECK_EQ(s.Base, 0x12345678);
    CHECK_EQ(s.Limit, 0xABCDEFFF);
    CHECK_EQ(s.Attributes, 0xC0F3);
    CHECK_EQ(get_desc(&f, GDT, 0x28) >> 40 & 0xFF, 0xF3);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), 0x102);
    fx_fini(&f);
}

static void test_data_segment_checks_raise_selector_faults(void)
{
    struct seg_fx f;
    fx_init(&f, 1);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, DATA);
    put_desc(&f, GDT, 0x20, desc(0, 0xFFFF, 0x92, 0));  /* DPL 0 data */
    put_desc(&f, GDT, 0x30, desc(0, 0xFFFF, 0x72, 0));  /* DPL 3 data, not present */
    put_desc(&f, GDT, 0x38, desc(0, 0xFFFF, 0x98, 0));  /* execute-only code */
    put_desc(&f, GDT, 0x40, desc(0, 0xFFFF, 0x9E, 0));  /* conforming readable code, DPL 0 */
    put_desc(&f, GDT, 0x48, desc(0, 0xFFFF, 0x82, 0));  /* LDT: a system descriptor */
    struct {
        uint16_t sel;
        int cpl;
        unsigned vec, ec;
    } cases[] = {
        {0x23, 3, 13, 0x20},   /* DPL 0 < CPL 3 */
        {0x23, 0, 13, 0x20},   /* DPL 0 < RPL 3 */
        {0x33, 3, 11, 0x30},   /* not present: #NP */
        {0x38, 0, 13, 0x38},   /* execute-only code */
        {0x48, 0, 13, 0x48},   /* system descriptor */
        {0x80, 0, 13, 0x80},   /* index beyond the GDT limit */
        {0x0C, 0, 13, 0x0C},   /* LDT selector with no usable LDT */
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        put16(&f, DATA, cases[i].sel);
        fx_run(&f, mov_ds, 2, 1, cases[i].cpl, 0);
        check_fault(&f, cases[i].vec, cases[i].ec);
        CHECK_EQ(seg(&f, DS).Selector, 0x10);
    }
    /* A conforming readable code segment loads at any CPL, and a null
     * selector makes DS unusable without reading a table. */
    put16(&f, DATA, 0x43);
    fx_run(&f, mov_ds, 2, 1, 3, 0);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(seg(&f, DS).Attributes, 0x009F);
    fvmm_set_reg64(f.vm, WHvX64RegisterRip, 0x100);
    put16(&f, DATA, 0x0003);
    fx_run(&f, mov_ds, 2, 1, 3, 0);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(seg(&f, DS).Selector, 3);
    CHECK_EQ(seg(&f, DS).Present, 0);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_MEMORY), 1); /* the selector only */
    fx_fini(&f);
}

static void test_ldt_selector_reads_the_ldt(void)
{
    struct seg_fx f;
    fx_init(&f, 1);
    set_ldt(&f, 0x50, 1);
    put_desc(&f, LDT, 0x08, desc(0x1000, 0xFF, 0x93, 0)); /* accessed already */
    put16(&f, DATA, 0x0C);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, DATA);
    fx_run(&f, mov_ds, 2, 1, 0, 0);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(seg(&f, DS).Base, 0x1000);
    CHECK_EQ(seg(&f, DS).Limit, 0xFF);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_MEMORY), 2); /* selector, descriptor: no write */
    fvmm_set_reg64(f.vm, WHvX64RegisterRip, 0x100);
    set_seg(&f, DS, 0x10, 0, 0xFFFFFFFF, 0xC093);
    put16(&f, DATA, 0x24); /* index 4 > LDT limit */
    fx_run(&f, mov_ds, 2, 1, 0, 0);
    check_fault(&f, 13, 0x24);
    fx_fini(&f);
}

static void test_ss_checks_and_the_interrupt_shadow(void)
{
    struct seg_fx f;
    fx_init(&f, 1);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, DATA);
    put_desc(&f, GDT, 0x18, desc(0, 0xFFFFF, 0x92, 0xC));  /* DPL 0 stack */
    put_desc(&f, GDT, 0x20, desc(0, 0xFFFFF, 0x90, 0xC));  /* read-only */
    put_desc(&f, GDT, 0x28, desc(0, 0xFFFFF, 0x12, 0xC));  /* not present */
    put16(&f, DATA, 0x0000);
    fx_run(&f, mov_ss, 2, 1, 0, 0);
    check_fault(&f, 13, 0); /* null SS */
    put16(&f, DATA, 0x1B);
    fx_run(&f, mov_ss, 2, 1, 0, 0);
    check_fault(&f, 13, 0x18); /* RPL 3 != CPL 0 */
    put16(&f, DATA, 0x20);
    fx_run(&f, mov_ss, 2, 1, 0, 0);
    check_fault(&f, 13, 0x20);
    put16(&f, DATA, 0x28);
    fx_run(&f, mov_ss, 2, 1, 0, 0);
    check_fault(&f, 12, 0x28); /* #SS(sel) */
    put16(&f, DATA, 0x18);
    fx_run(&f, mov_ss, 2, 1, 0, 0);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(seg(&f, SS).Selector, 0x18);
    CHECK_EQ(seg(&f, SS).Attributes, 0xC093);
    CHECK_EQ(fvmm_reg64(f.vm, WHvRegisterInterruptState) & 1, 1);
    /* Under single-stepping the delayed trap is not modelled: refused. */
    fvmm_set_reg64(f.vm, WHvX64RegisterRip, 0x100);
    fvmm_set_reg64(f.vm, WHvX64RegisterRflags, 0x102);
    fx_run(&f, mov_ss, 2, 1, 0, 0);
    CHECK_EQ(f.st.AsUINT32, 2);
    fx_fini(&f);
}

static void test_lss_loads_ss_and_esp_without_a_shadow(void)
{
    struct seg_fx f;
    fx_init(&f, 1);
    put_desc(&f, GDT, 0x18, desc(0x40000, 0xFFFF, 0x92, 0x4));
    uint8_t fp[6] = {0x78, 0x56, 0x34, 0x12, 0x18, 0x00};
    fvmm_gpa_write(f.vm, DATA, fp, 6);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, DATA);
    fvmm_set_reg64(f.vm, WHvX64RegisterRsp, 0xFFFFFFFF00000000ull);
    static const uint8_t lss[] = {0x0f, 0xb2, 0x23}; /* lss esp, [ebx] */
    fx_run(&f, lss, 3, 1, 0, 1);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRsp), 0x12345678);
    CHECK_EQ(seg(&f, SS).Base, 0x40000);
    CHECK_EQ(fvmm_reg64(f.vm, WHvRegisterInterruptState) & 1, 0);
    /* A faulting load leaves ESP alone. */
    fvmm_set_reg64(f.vm, WHvX64RegisterRip, 0x100);
    fp[4] = 0x1B;
    fvmm_gpa_write(f.vm, DATA, fp, 6);
    fx_run(&f, lss, 3, 1, 0, 0);
    check_fault(&f, 13, 0x18);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRsp), 0x12345678);
    fx_fini(&f);
}

static void test_real_mode_lds_keeps_the_limit_and_sets_the_base(void)
{
    struct seg_fx f;
    fx_init(&f, 0);
    set_seg(&f, DS, 0, 0, 0xFFFFFFFF, 0x8093); /* "unreal" DS: the limit stays */
    uint8_t fp[4] = {0x34, 0x12, 0x00, 0x20};
    fvmm_gpa_write(f.vm, 0x500, fp, 4);
    static const uint8_t lds[] = {0xc5, 0x36, 0x00, 0x05}; /* lds si, [0x500] */
    fx_run(&f, lds, 4, 0, 0, 0);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRsi) & 0xFFFF, 0x1234);
    WHV_X64_SEGMENT_REGISTER s = seg(&f, DS);
    CHECK_EQ(s.Selector, 0x2000);
    CHECK_EQ(s.Base, 0x20000);
    CHECK_EQ(s.Limit, 0xFFFFFFFF);
    CHECK_EQ(s.Attributes, 0x8093);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_MEMORY), 1); /* no table in real mode */
    fx_fini(&f);
}

static void test_v86_pop_es_and_16_bit_push(void)
{
    struct seg_fx f;
    fx_init(&f, 0);
    set_seg(&f, CS, 0x1000, 0x10000, 0xFFFF, 0x00F3);
    set_seg(&f, SS, 0x0300, 0x3000, 0xFFFF, 0x00F3);
    fvmm_set_reg64(f.vm, WHvX64RegisterRsp, 0xFFFE);
    fvmm_set_reg64(f.vm, WHvX64RegisterRflags, 0x20002);
    put16(&f, 0x3000 + 0xFFFE, 0xB800);
    static const uint8_t pop_es[] = {0x07};
    fx_run(&f, pop_es, 1, 1, 3, 0);
    CHECK_EQ(f.st.AsUINT32, 1);
    WHV_X64_SEGMENT_REGISTER s = seg(&f, ES);
    CHECK_EQ(s.Selector, 0xB800);
    CHECK_EQ(s.Base, 0xB8000);
    CHECK_EQ(s.Limit, 0xFFFF);
    CHECK_EQ(s.Attributes, 0x00F3);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRsp), 0); /* SP wraps in 16 bits */
    static const uint8_t push_es[] = {0x06};
    fvmm_set_reg64(f.vm, WHvX64RegisterRip, 0x100);
    fx_run(&f, push_es, 1, 1, 3, 0);
    CHECK_EQ(f.st.AsUINT32, 1);
    uint16_t v = 0;
    fvmm_gpa_read(f.vm, 0x3000 + 0xFFFE, &v, 2);
    CHECK_EQ(v, 0xB800);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRsp), 0xFFFE);
    /* With a 32-bit operand size processors store 2 or 4 bytes: refused. */
    static const uint8_t push32[] = {0x66, 0x06};
    fvmm_set_reg64(f.vm, WHvX64RegisterRip, 0x100);
    fx_run(&f, push32, 2, 1, 3, 0);
    CHECK_EQ(f.st.AsUINT32, 2);
    fx_fini(&f);
}

static void test_mov_to_memory_stores_the_16_bit_selector(void)
{
    struct seg_fx f;
    fx_init(&f, 1);
    uint32_t fill = 0xAAAAAAAA;
    fvmm_gpa_write(f.vm, DATA, &fill, 4);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, DATA);
    static const uint8_t mov[] = {0x8c, 0x0b}; /* mov [ebx], cs */
    fx_run(&f, mov, 2, 1, 0, 0);
    CHECK_EQ(f.st.AsUINT32, 1);
    fvmm_gpa_read(f.vm, DATA, &fill, 4);
    CHECK_EQ(fill, 0xAAAA0008);
    fx_fini(&f);
}

static void test_descriptor_page_fault_is_a_supervisor_access(void)
{
    struct seg_fx f;
    fx_init(&f, 1);
    fvmm_set_reg64(f.vm, WHvX64RegisterRbx, DATA);
    put16(&f, DATA, 0x2B);
    fvmm_set_cpl(f.vm, 3);
    /* A supervisor-only table page is read at CPL 3 and its accessed bit
     * written (the translation is exempt from the U check). */
    put_desc(&f, GDT, 0x28, desc(0, 0xFFFFF, 0xF2, 0xC));
    fvmm_map_gva_ex(f.vm, GDT, WHvTranslateGvaResultSuccess, GDT,
                    FVMM_PERM_R | FVMM_PERM_W | FVMM_PERM_X);
    fx_run(&f, mov_ds, 2, 1, 3, 0);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(get_desc(&f, GDT, 0x28) >> 40 & 0xFF, 0xF3);
    /* A table page that is not present: #PF with U = 0, CR2 the descriptor. */
    fvmm_set_reg64(f.vm, WHvX64RegisterRip, 0x100);
    fvmm_map_gva_ex(f.vm, GDT, WHvTranslateGvaResultPageNotPresent, 0, 0);
    fx_run(&f, mov_ds, 2, 1, 3, 0);
    check_fault(&f, 14, 0);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterCr2), GDT + 0x28);
    fx_fini(&f);
}

int main(void)
{
    RUN(test_mov_ds_loads_the_descriptor_and_sets_its_accessed_bit);
    RUN(test_data_segment_checks_raise_selector_faults);
    RUN(test_ldt_selector_reads_the_ldt);
    RUN(test_ss_checks_and_the_interrupt_shadow);
    RUN(test_lss_loads_ss_and_esp_without_a_shadow);
    RUN(test_real_mode_lds_keeps_the_limit_and_sets_the_base);
    RUN(test_v86_pop_es_and_16_bit_push);
    RUN(test_mov_to_memory_stores_the_16_bit_selector);
    RUN(test_descriptor_page_fault_is_a_supervisor_access);
    return CHECK_SUMMARY();
}
