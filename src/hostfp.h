/*
 * hostfp.h - SSE/AVX floating-point operations run on the host CPU: the
 * host's capabilities (read once per handle), the operand block a template
 * works on, and the asm templates themselves.
 *
 * A template is one compiled-in asm block for one fixed instruction (an
 * allow-list by construction: no code is generated at run time and guest
 * bytes are never executed). It saves the host MXCSR, loads the operands
 * and the guest MXCSR (all exceptions masked, flags clear), runs the
 * instruction, stores the result and the MXCSR it produced and restores the
 * host MXCSR, all inside the block, so no compiler-generated code runs under
 * the guest's MXCSR. Only vfp.c and vcvt.c instantiate templates.
 */
#ifndef WHVEMU_HOSTFP_H
#define WHVEMU_HOSTFP_H

#include <stdbool.h>
#include <stdint.h>

/* Host capability bits (struct hostfp_caps.feat). */
#define HFP_ASM 0x01u   /* the templates are compiled in (x86-64, GCC or clang) */
#define HFP_SSE3 0x02u
#define HFP_SSE41 0x04u
#define HFP_AVX 0x08u   /* AVX, and the OS saves YMM state (XCR0 bits 1 and 2) */
#define HFP_FMA 0x10u   /* FMA3 (with AVX) */
#define HFP_F16C 0x20u  /* F16C (with AVX) */

struct hostfp_caps {
    uint32_t feat;
    uint32_t mxcsr_mask; /* MXCSR bits the host accepts (FXSAVE's MXCSR_MASK) */
};

/* Fills c from CPUID, XGETBV and FXSAVE (all zero where no templates exist). */
void hostfp_detect(struct hostfp_caps *c);

#if defined(__x86_64__) && defined(__GNUC__)
#define HOSTFP_HAVE_ASM 1
#endif

/* A template's operands: a (the destination or first source), b (the second
 * source: the memory operand), c (FMA's third source), g (a general-purpose
 * source or destination), mx (in: the MXCSR to run under; out: the MXCSR
 * after); the result r; ZF/PF/CF of a compare into EFLAGS. */
struct hfp_io {
    uint8_t a[32], b[32], c[32], r[32];
    uint64_t g;
    uint32_t mx;
    uint8_t zf, pf, cf;
};

typedef void (*hfp_fn)(struct hfp_io *s);

#define MXCSR_FLAGS 0x3Fu
#define MXCSR_MASKS 0x1F80u
#define MXCSR_UM 0x0800u
#define MXCSR_IE 0x0001u  /* invalid operation flag */
#define MXCSR_PE 0x0020u  /* precision flag */
#define MXCSR_DAZ 0x0040u /* denormals are zeros */

/* One operation: its templates for the legacy encoding, VEX.128 and
 * VEX.256 (NULL where the encoding does not exist; a scalar VEX form uses
 * the 128-bit template whatever VEX.L), the host features each needs, and
 * how its operands are laid out. */
#define FPO_FMA 0x01u   /* a = destination, b = vvvv, c = r/m */
#define FPO_UF 0x02u    /* can underflow: refused while the guest unmasks underflow */
#define FPO_GSRC 0x04u  /* the r/m operand is a general-purpose source (in g) */
#define FPO_GDST 0x08u  /* the destination is a general-purpose register (from g) */
#define FPO_FLAGS 0x10u /* the result is ZF/PF/CF (COMIS, UCOMIS) */
struct fp_op {
    hfp_fn leg, v128, v256;
    uint32_t leg_feat; /* HFP_* the legacy template needs */
    uint32_t vex_feat; /* HFP_* the VEX templates need */
    uint8_t flags;     /* FPO_* */
};

struct emu;
struct insn;
/* Runs op for this instruction (vfp.c): reads the operands, runs the
 * template, refuses an unmasked exception, writes the result and the MXCSR
 * flags. `imm` selects templates[imm] for the imm8 forms (ops points to an
 * array), else 0. */
enum rc vfp_run(struct emu *e, const struct insn *in, const struct fp_op *op);
/* The pieces of vfp_run for handlers that compose templates (DPPS, the MMX
 * conversions): vfp_check refuses before any access when the host lacks
 * `need` (HFP_*) or the guest MXCSR has bits the host rejects; vfp_exec
 * runs one template under the guest MXCSR (s->mx is set), ORs the flags it
 * raised into *raised and refuses an unmasked one (and, for FPO_UF in
 * flags, any run while underflow is unmasked); vfp_set_flags ORs the
 * raised flags into the guest MXCSR. */
enum rc vfp_check(struct emu *e, uint32_t need);
enum rc vfp_exec(struct emu *e, hfp_fn fn, struct hfp_io *s, uint8_t flags, uint32_t *raised);
void vfp_set_flags(struct emu *e, uint32_t raised);
/* An EVEX scalar form (vfp.c) on op's 128-bit template: element 0 under
 * opmask bit 0, the memory element read only then; fma: the destination is
 * the template's first input and vvvv its second. */
enum rc vfp_evex_scalar(struct emu *e, const struct insn *in, const struct fp_op *op, bool fma);

#ifdef HOSTFP_HAVE_ASM
#define HFP_OUTS_                                                                                  \
    [r] "=m"(s->r), [mx] "+m"(s->mx), [sv] "=m"(sv), [g] "+m"(s->g), [zf] "=m"(s->zf),             \
        [pf] "=m"(s->pf), [cf] "=m"(s->cf)
#define HFP_INS_ [a] "m"(s->a), [b] "m"(s->b), [c] "m"(s->c)

/* A legacy SSE template: xmm0 = a, xmm1 = b, xmm2 = c; the result in xmm0. */
#define HFP_LEG(name, body)                                                                        \
    static void name(struct hfp_io *s)                                                             \
    {                                                                                              \
        uint32_t sv;                                                                               \
        __asm__ volatile("stmxcsr %[sv]\n\t"                                                       \
                         "movdqu %[a], %%xmm0\n\t"                                                 \
                         "movdqu %[b], %%xmm1\n\t"                                                 \
                         "movdqu %[c], %%xmm2\n\t"                                                 \
                         "ldmxcsr %[mx]\n\t" body "\n\t"                                           \
                         "stmxcsr %[mx]\n\t"                                                       \
                         "ldmxcsr %[sv]\n\t"                                                       \
                         "movdqu %%xmm0, %[r]"                                                     \
                         : HFP_OUTS_                                                               \
                         : HFP_INS_                                                                \
                         : "xmm0", "xmm1", "xmm2", "rax", "cc");                                   \
    }

/* A VEX template (the host has AVX): ymm0 = a, ymm1 = b, ymm2 = c; the
 * result in ymm0; VZEROUPPER leaves the upper halves clean for the host's
 * own SSE code (hence every vector register is clobbered). */
#define HFP_VEX(name, body)                                                                        \
    static void name(struct hfp_io *s)                                                             \
    {                                                                                              \
        uint32_t sv;                                                                               \
        __asm__ volatile("stmxcsr %[sv]\n\t"                                                       \
                         "vmovdqu %[a], %%ymm0\n\t"                                                \
                         "vmovdqu %[b], %%ymm1\n\t"                                                \
                         "vmovdqu %[c], %%ymm2\n\t"                                                \
                         "ldmxcsr %[mx]\n\t" body "\n\t"                                           \
                         "stmxcsr %[mx]\n\t"                                                       \
                         "ldmxcsr %[sv]\n\t"                                                       \
                         "vmovdqu %%ymm0, %[r]\n\t"                                                \
                         "vzeroupper"                                                              \
                         : HFP_OUTS_                                                               \
                         : HFP_INS_                                                                \
                         : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", \
                           "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "rax",    \
                           "cc");                                                                  \
    }
#else
/* No templates on this host: every row that needs one is refused. */
#define HFP_LEG(name, body)
#define HFP_VEX(name, body)
#endif

/* Repetition helpers for the imm8 forms: M(m, i) for each imm8 value i. */
#define HFP_R8(M, m) M(m, 0) M(m, 1) M(m, 2) M(m, 3) M(m, 4) M(m, 5) M(m, 6) M(m, 7)
#define HFP_R16(M, m)                                                                              \
    HFP_R8(M, m) M(m, 8) M(m, 9) M(m, 10) M(m, 11) M(m, 12) M(m, 13) M(m, 14) M(m, 15)
#define HFP_R32(M, m)                                                                              \
    HFP_R16(M, m) M(m, 16) M(m, 17) M(m, 18) M(m, 19) M(m, 20) M(m, 21) M(m, 22) M(m, 23)         \
        M(m, 24) M(m, 25) M(m, 26) M(m, 27) M(m, 28) M(m, 29) M(m, 30) M(m, 31)

#endif /* WHVEMU_HOSTFP_H */
