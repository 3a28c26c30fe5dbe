/*
 * test_simd_host.c - differential test of 64-bit MMIO emulation of SSE, MMX
 * and AVX/AVX2 instructions with a memory operand against the host CPU
 * (x86-64 Linux only).
 *
 * The forms are rows of g_forms[] (see "The form table"). Every case is one
 * instruction of one form, with random register fields (XMM0-15, MM0-7),
 * random YMM/MM/GPR/MXCSR contents biased towards edge patterns (zeros, all
 * ones, 0x80 bytes, NaNs and infinities for the FP moves, saturation and
 * sign edges of bytes, words, dwords and qwords for the integer arithmetic,
 * registers equal or complementary to the memory operand for the compares,
 * the arithmetic and PTEST), a random imm8 for the forms that take one,
 * random memory, and a memory operand placed at a random offset in a pair
 * of pages:
 * aligned, misaligned, or straddling the boundary between the two pages. The
 * instruction runs twice:
 *
 *   native:   hand-emitted machine code in a page that is written while
 *             PROT_READ|PROT_WRITE and then made PROT_READ|PROT_EXEC (never
 *             both). A prologue loads YMM0-15 (XMM0-15 without AVX), MM0-7,
 *             MXCSR, RFLAGS and the GPRs from a state block; an epilogue
 *             stores them back. The operand lies in an ordinary buffer. A
 *             #GP (SIGSEGV, trap 13) from an aligned form is caught.
 *   emulated: through WHvEmulatorTryMmioEmulation with the fake VMM: the same
 *             registers (XMM0-15 as WHvX64RegisterXmm*, bits 255:128 as
 *             extended-state component 2 behind the xstate callback, MM0-7
 *             as the low 64 bits of WHvX64RegisterFpMmx*, MXCSR in
 *             WHvX64RegisterXmmControlStatus), the buffer's pages (same
 *             linear addresses) mapped to two MMIO guest-physical pages, the
 *             exit's Gva/Gpa at the first byte accessed, GvaValid (7 cases
 *             in 8), the instruction bytes in the exit (or, 1 case in 8,
 *             fetched by the emulator).
 *
 * Compared: every YMM register, MM0-7 (and bits 79:64 of each FpMmx
 * register: all ones, as after any MMX instruction), MXCSR, RFLAGS, the
 * GPRs, RIP, the x87 control/status register, the whole pair of pages
 * (bytes around the operand must stay untouched), the other extended-state
 * components (untouched), and a native #GP as #GP(0) injected through
 * WHvRegisterPendingInterruption with nothing changed. Every emulation must
 * pass fvmm_check_round_trip (one get and one set call at most). The memory
 * callbacks must see exactly the operand's bytes, once each, in ascending
 * order, as pieces of at most 8 bytes that never cross a page (the fewest
 * such pieces); a store never reads, a load never writes, a masked store
 * writes only the bytes whose mask byte has bit 7 set; a fault touches no
 * memory. Extended state: never touched by the legacy forms, nor by a VEX
 * form that needs no more than XMM0-15 (a VEX.128 store, VEX.128 VPTEST);
 * only component 2; written only by a form that writes a vector register.
 *
 * Per form, besides the main cases:
 *   - VEX forms run without the xstate callback (one case in 32): a form
 *     that needs bits 255:128 (VEX.256, or VEX.128 writing a register) must
 *     be refused (status 0x2) before any callback but the get-registers
 *     call, with nothing changed; the others must complete as usual.
 *   - the first passing case that reads/writes extended state is rerun with
 *     that read failing (status 0x40, nothing committed) and with that write
 *     failing (status 0x80, component unchanged); one passing case in 16 is
 *     rerun with one memory piece failing (status 0x8, no register change).
 *   - control registers, once per seed, on a case that does not fault:
 *     CR0.TS (#NM), CR0.EM (#UD for legacy forms, no effect on VEX forms),
 *     CR4.OSFXSR clear (#UD for legacy SSE forms, no effect on VEX forms),
 *     CR4.OSXSAVE clear and XCR0 = 3 (#UD for VEX forms, no effect on legacy
 *     forms), CR0.MP clear (no effect), as the SDM's exception classes say.
 * A form the emulator refuses with the callback present (status 0x2) is one
 * failure, reported once with whvemu_last_failure(); its remaining cases are
 * not run. A form whose CPUID feature the host lacks is skipped with a
 * message.
 *
 * The native side is checked too: fixed instructions with results worked
 * out by hand run first; every case's native result is compared with a
 * model of the form (model(), from the SDM), which catches a wrong encoding,
 * register number or stub offset; the first cases of each form run twice
 * and once more with the data pages inaccessible (the fault must be at the
 * exit's GVA). The checks on the emulated side are checked with a reference
 * emulator that follows the contract (ref_try()): it must pass them all, and
 * each deliberately broken variant of it must fail some.
 *
 * Environment: WHVEMU_SIMD_SEED=<n> reproduces one run with that seed only
 * (by default a fixed seed, then a random printed one); WHVEMU_SIMD_SCALE=<f>
 * scales the case counts (default 1.0); WHVEMU_SIMD_FORM=<text> runs only
 * the forms whose name contains text; WHVEMU_SIMD_VERBOSE=1 prints every
 * case; WHVEMU_SIMD_MAXPRINT=<n> limits the failures printed in full per
 * form (default 10, 0 = all); WHVEMU_SIMD_SELFTEST=1 checks the native side
 * on every case instead of the first few of each form: the case runs
 * natively twice with identical results, and with the data pages
 * inaccessible it faults at the address given as the exit's GVA;
 * WHVEMU_SIMD_NATIVE_ONLY=1 runs only the native side (with the self-check);
 * WHVEMU_SIMD_REFERENCE=1 emulates with the reference emulator instead of
 * the library, WHVEMU_SIMD_REFERENCE=<n> (2 and up) with its broken variant
 * n - 1, WHVEMU_SIMD_REFERENCE=mutants runs each broken variant briefly and
 * expects failures from each (the diff_simd_oracle test).
 *
 * Adding a form: one LEG(...) or VEX(...) row in g_forms[] (name, CPUID
 * feature, mandatory prefix, opcode map, opcode, W, L, operation, operand
 * size, required alignment, R_* flags; R_IMM8 appends a random imm8), and
 * its semantics in model() if the operation is new. An integer form with a
 * legacy, a VEX.128 and a VEX.256 encoding is one BIN3/UN3/IMM3 line (three
 * rows), with its operation in g_int_ops[] (int_lane()). The bitwise FP
 * forms, unpacks and shuffles, duplicating moves, PALIGNR and the blends,
 * element inserts (a memory operand of one element) and extracts (a store
 * of one element), zero/sign extensions (a memory operand of part of the
 * register), broadcasts and the 128-bit lane inserts/extracts are
 * SRC3/UNM3 lines or single rows with their operation in g_vec_ops[]
 * (vec_lanes(), vec_store()).
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "WinHvEmulation.h"
#include "fake_vmm.h"
#include "code_emit.h"
#include "native_fault.h"
#include "test_rng.h"
#include "whvemu.h"

#define PAGE 4096u

/* RFLAGS bits. */
#define F_CF 0x001u
#define F_PF 0x004u
#define F_AF 0x010u
#define F_ZF 0x040u
#define F_SF 0x080u
#define F_OF 0x800u
#define F_ARITH (F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF)

/* Control register bits. */
#define CR0_MP 0x2u
#define CR0_EM 0x4u
#define CR0_TS 0x8u
#define CR4_OSFXSR 0x200u
#define CR4_OSXSAVE 0x40000u


/* ------------------------------------------------------------------ */
/* Host features                                                        */
/* ------------------------------------------------------------------ */

enum {
    FT_MMX = 1u << 0,
    FT_SSE = 1u << 1,
    FT_SSE2 = 1u << 2,
    FT_SSE3 = 1u << 3,
    FT_SSSE3 = 1u << 4,
    FT_SSE41 = 1u << 5,
    FT_SSE42 = 1u << 6,
    FT_AVX = 1u << 7,
    FT_AVX2 = 1u << 8,
    FT_FMA = 1u << 9,
    FT_F16C = 1u << 10,
};

static unsigned g_feat;

static const char *feat_name(unsigned ft)
{
    switch (ft) {
    case FT_MMX:
        return "MMX";
    case FT_SSE:
        return "SSE";
    case FT_SSE2:
        return "SSE2";
    case FT_SSE3:
        return "SSE3";
    case FT_SSSE3:
        return "SSSE3";
    case FT_SSE41:
        return "SSE4.1";
    case FT_SSE42:
        return "SSE4.2";
    case FT_AVX:
        return "AVX";
    case FT_AVX2:
        return "AVX2";
    case FT_FMA:
        return "FMA";
    case FT_F16C:
        return "F16C";
    default:
        return "?";
    }
}

/* CPUID features the OS has enabled (AVX and AVX2 only with XCR0 = SSE|AVX
 * state, as the compiler's runtime checks). */
static void detect_features(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("mmx"))
        g_feat |= FT_MMX;
    if (__builtin_cpu_supports("sse"))
        g_feat |= FT_SSE;
    if (__builtin_cpu_supports("sse2"))
        g_feat |= FT_SSE2;
    if (__builtin_cpu_supports("sse3"))
        g_feat |= FT_SSE3;
    if (__builtin_cpu_supports("ssse3"))
        g_feat |= FT_SSSE3;
    if (__builtin_cpu_supports("sse4.1"))
        g_feat |= FT_SSE41;
    if (__builtin_cpu_supports("sse4.2"))
        g_feat |= FT_SSE42;
    if (__builtin_cpu_supports("avx"))
        g_feat |= FT_AVX;
    if (__builtin_cpu_supports("avx2"))
        g_feat |= FT_AVX2;
    unsigned a, b, c, d;
    if ((g_feat & FT_AVX) && __get_cpuid(1, &a, &b, &c, &d)) {
        if (c & (1u << 12))
            g_feat |= FT_FMA;
        if (c & (1u << 29))
            g_feat |= FT_F16C;
    }
}

/* ------------------------------------------------------------------ */
/* The form table                                                       */
/* ------------------------------------------------------------------ */

/* What the instruction does with its operands. */
enum {
    OP_LOAD,    /* memory -> ModRM.reg register (merging or zeroing, as the form says) */
    OP_STORE,   /* ModRM.reg register -> memory */
    OP_SRC,     /* ModRM.reg (VEX: vvvv) op memory -> ModRM.reg */
    OP_UNARY,   /* op(memory) -> ModRM.reg (VEX: no vvvv operand) */
    OP_TEST,    /* ModRM.reg op memory -> RFLAGS only (PTEST) */
    OP_MASKMOV, /* ModRM.reg bytes selected by ModRM.rm -> DS:[RDI]; no memory operand */
    OP_TOGPR,   /* op(memory) -> the general-purpose register ModRM.reg (CVTSS2SI) */
    OP_STRI,    /* ModRM.reg op memory -> ECX and RFLAGS (PCMPxSTRI; lengths in EAX/EDX) */
    OP_STRM,    /* ModRM.reg op memory -> XMM0 and RFLAGS (PCMPxSTRM) */
    OP_MLOAD,   /* memory elements the sign bits of vvvv select -> ModRM.reg (VMASKMOV) */
    OP_MSTORE,  /* ModRM.reg elements the sign bits of vvvv select -> memory */
};

/* Row flags. */
#define R_MMX 0x01u  /* ModRM.reg (and rm of MASKMOVQ) name MM registers */
#define R_VVVV 0x02u /* VEX.vvvv is a source register (else 1111b) */
#define R_FP32 0x04u /* single-precision data: NaN/inf patterns */
#define R_FP64 0x08u /* double-precision data */
#define R_INT 0x10u  /* integer arithmetic: saturation and sign edges in the data */
#define R_IMM8 0x20u /* an imm8 follows the ModRM operand: random per case */
#define R_HFP 0x40u  /* floating point: MXCSR settings and FP edge values in the data; the
                        model only checks that nothing but the destination, MXCSR and
                        RFLAGS changed (the CPU is the reference); a native #XM (an
                        unmasked exception) must be refused with nothing changed */
#define R_UF 0x80u   /* can underflow: refused while MXCSR.UM is clear */
#define R_CPU 0x100u /* no model: the CPU is the reference for the results (the
                        destination, ECX, XMM0, RFLAGS, the memory operand) */
#define R_STR 0x200u /* string data: short alphabets with NULs; EAX/EDX lengths */
#define R_IMMALL 0x400u /* the imm8 runs through all 256 values, case after case */

#define W_IG (-1) /* REX.W / VEX.W ignored: chosen at random */
#define L_IG (-1) /* VEX.L ignored (scalar forms): chosen at random */

typedef struct form {
    const char *name; /* mnemonic and operands */
    unsigned feat;    /* FT_* the host must have */
    int vex;          /* 0: legacy (REX) encoding, 1: VEX */
    int pp;           /* mandatory prefix / VEX.pp: 0, 0x66, 0xF3, 0xF2 */
    int map;          /* 1: 0F, 2: 0F 38, 3: 0F 3A */
    int opc;          /* opcode byte */
    int w;            /* REX.W / VEX.W: 0, 1 or W_IG */
    int l;            /* VEX.L: 0, 1 or L_IG; 0 for legacy forms */
    int op;           /* OP_* */
    int size;         /* bytes of the memory operand */
    int align;        /* alignment the form requires (#GP(0) otherwise), 0: none */
    unsigned flags;   /* R_* */
} form;

/* Legacy SSE/MMX row: prefix, map, opcode, W, operation, size, alignment. */
#define LEG(name, feat, pp, map, opc, w, op, size, align, flags) \
    {name, feat, 0, pp, map, opc, w, 0, op, size, align, flags}
/* VEX row: the same plus VEX.L. */
#define VEX(name, feat, pp, map, opc, w, l, op, size, align, flags) \
    {name, feat, 1, pp, map, opc, w, l, op, size, align, flags}

/* An integer form in its three encodings: legacy (66 or F3/F2, 16-byte
 * aligned m128), VEX.128 (AVX) and VEX.256 (AVX2), neither aligned. BIN3:
 * a binary operation, ModRM.reg (VEX: vvvv) op memory; UN3: a unary one on
 * the memory operand (VEX.vvvv 1111b); IMM3: unary with an imm8. */
#define BIN3(mn, feat, pp, map, opc)                                                       \
    LEG(mn " xmm, m128", feat, pp, map, opc, W_IG, OP_SRC, 16, 16, R_INT),                  \
    VEX("v" mn " xmm, xmm, m128", FT_AVX, pp, map, opc, W_IG, 0, OP_SRC, 16, 0,            \
        R_INT | R_VVVV),                                                                    \
    VEX("v" mn " ymm, ymm, m256", FT_AVX2, pp, map, opc, W_IG, 1, OP_SRC, 32, 0,           \
        R_INT | R_VVVV)
#define UN3(mn, feat, pp, map, opc)                                                        \
    LEG(mn " xmm, m128", feat, pp, map, opc, W_IG, OP_UNARY, 16, 16, R_INT),                \
    VEX("v" mn " xmm, m128", FT_AVX, pp, map, opc, W_IG, 0, OP_UNARY, 16, 0, R_INT),       \
    VEX("v" mn " ymm, m256", FT_AVX2, pp, map, opc, W_IG, 1, OP_UNARY, 32, 0, R_INT)
#define IMM3(mn, feat, pp, map, opc)                                                       \
    LEG(mn " xmm, m128, imm8", feat, pp, map, opc, W_IG, OP_UNARY, 16, 16, R_INT | R_IMM8), \
    VEX("v" mn " xmm, m128, imm8", FT_AVX, pp, map, opc, W_IG, 0, OP_UNARY, 16, 0,         \
        R_INT | R_IMM8),                                                                    \
    VEX("v" mn " ymm, m256, imm8", FT_AVX2, pp, map, opc, W_IG, 1, OP_UNARY, 32, 0,        \
        R_INT | R_IMM8)

/* The same for forms whose VEX.256 encoding needs feat256 (AVX for the FP
 * forms): SRC3, ModRM.reg (VEX: vvvv) op m128/m256, sfx appended to the
 * names (", imm8" with R_IMM8 in fl); UNM3, unary on an n-byte memory
 * operand (m1) in the legacy and VEX.128 forms and a 2n-byte one (m2) in
 * the VEX.256 form, the legacy form aligned when n is 16. */
#define SRC3(mn, sfx, feat, feat256, pp, map, opc, fl)                                      \
    LEG(mn " xmm, m128" sfx, feat, pp, map, opc, W_IG, OP_SRC, 16, 16, fl),                  \
    VEX("v" mn " xmm, xmm, m128" sfx, FT_AVX, pp, map, opc, W_IG, 0, OP_SRC, 16, 0,         \
        (fl) | R_VVVV),                                                                     \
    VEX("v" mn " ymm, ymm, m256" sfx, feat256, pp, map, opc, W_IG, 1, OP_SRC, 32, 0,        \
        (fl) | R_VVVV)
#define UNM3(mn, m1, m2, n, feat, feat256, pp, map, opc, fl)                                 \
    LEG(mn " xmm, " m1, feat, pp, map, opc, W_IG, OP_UNARY, n, (n) == 16 ? 16 : 0, fl),       \
    VEX("v" mn " xmm, " m1, FT_AVX, pp, map, opc, W_IG, 0, OP_UNARY, n, 0, fl),             \
    VEX("v" mn " ymm, " m2, feat256, pp, map, opc, W_IG, 1, OP_UNARY, 2 * (n), 0, fl)

static const form g_forms[] = {
    /* SSE moves */
    LEG("movd xmm, m32", FT_SSE2, 0x66, 1, 0x6E, 0, OP_LOAD, 4, 0, 0),
    LEG("movq xmm, m64 (66 REX.W 0F 6E)", FT_SSE2, 0x66, 1, 0x6E, 1, OP_LOAD, 8, 0, 0),
    LEG("movd m32, xmm", FT_SSE2, 0x66, 1, 0x7E, 0, OP_STORE, 4, 0, 0),
    LEG("movq m64, xmm (66 REX.W 0F 7E)", FT_SSE2, 0x66, 1, 0x7E, 1, OP_STORE, 8, 0, 0),
    LEG("movq xmm, m64 (F3 0F 7E)", FT_SSE2, 0xF3, 1, 0x7E, W_IG, OP_LOAD, 8, 0, 0),
    LEG("movq m64, xmm (66 0F D6)", FT_SSE2, 0x66, 1, 0xD6, W_IG, OP_STORE, 8, 0, 0),
    LEG("movdqa xmm, m128", FT_SSE2, 0x66, 1, 0x6F, W_IG, OP_LOAD, 16, 16, 0),
    LEG("movdqu xmm, m128", FT_SSE2, 0xF3, 1, 0x6F, W_IG, OP_LOAD, 16, 0, 0),
    LEG("movdqa m128, xmm", FT_SSE2, 0x66, 1, 0x7F, W_IG, OP_STORE, 16, 16, 0),
    LEG("movdqu m128, xmm", FT_SSE2, 0xF3, 1, 0x7F, W_IG, OP_STORE, 16, 0, 0),
    LEG("movaps xmm, m128", FT_SSE, 0, 1, 0x28, W_IG, OP_LOAD, 16, 16, R_FP32),
    LEG("movapd xmm, m128", FT_SSE2, 0x66, 1, 0x28, W_IG, OP_LOAD, 16, 16, R_FP64),
    LEG("movaps m128, xmm", FT_SSE, 0, 1, 0x29, W_IG, OP_STORE, 16, 16, R_FP32),
    LEG("movapd m128, xmm", FT_SSE2, 0x66, 1, 0x29, W_IG, OP_STORE, 16, 16, R_FP64),
    LEG("movups xmm, m128", FT_SSE, 0, 1, 0x10, W_IG, OP_LOAD, 16, 0, R_FP32),
    LEG("movupd xmm, m128", FT_SSE2, 0x66, 1, 0x10, W_IG, OP_LOAD, 16, 0, R_FP64),
    LEG("movups m128, xmm", FT_SSE, 0, 1, 0x11, W_IG, OP_STORE, 16, 0, R_FP32),
    LEG("movupd m128, xmm", FT_SSE2, 0x66, 1, 0x11, W_IG, OP_STORE, 16, 0, R_FP64),
    LEG("movss xmm, m32", FT_SSE, 0xF3, 1, 0x10, W_IG, OP_LOAD, 4, 0, R_FP32),
    LEG("movsd xmm, m64", FT_SSE2, 0xF2, 1, 0x10, W_IG, OP_LOAD, 8, 0, R_FP64),
    LEG("movss m32, xmm", FT_SSE, 0xF3, 1, 0x11, W_IG, OP_STORE, 4, 0, R_FP32),
    LEG("movsd m64, xmm", FT_SSE2, 0xF2, 1, 0x11, W_IG, OP_STORE, 8, 0, R_FP64),
    LEG("movlps xmm, m64", FT_SSE, 0, 1, 0x12, W_IG, OP_LOAD, 8, 0, R_FP32),
    LEG("movlps m64, xmm", FT_SSE, 0, 1, 0x13, W_IG, OP_STORE, 8, 0, R_FP32),
    LEG("movhps xmm, m64", FT_SSE, 0, 1, 0x16, W_IG, OP_LOAD, 8, 0, R_FP32),
    LEG("movhps m64, xmm", FT_SSE, 0, 1, 0x17, W_IG, OP_STORE, 8, 0, R_FP32),
    LEG("movlpd xmm, m64", FT_SSE2, 0x66, 1, 0x12, W_IG, OP_LOAD, 8, 0, R_FP64),
    LEG("movlpd m64, xmm", FT_SSE2, 0x66, 1, 0x13, W_IG, OP_STORE, 8, 0, R_FP64),
    LEG("movhpd xmm, m64", FT_SSE2, 0x66, 1, 0x16, W_IG, OP_LOAD, 8, 0, R_FP64),
    LEG("movhpd m64, xmm", FT_SSE2, 0x66, 1, 0x17, W_IG, OP_STORE, 8, 0, R_FP64),
    LEG("movntdq m128, xmm", FT_SSE2, 0x66, 1, 0xE7, W_IG, OP_STORE, 16, 16, 0),
    LEG("movntps m128, xmm", FT_SSE, 0, 1, 0x2B, W_IG, OP_STORE, 16, 16, R_FP32),
    LEG("movntpd m128, xmm", FT_SSE2, 0x66, 1, 0x2B, W_IG, OP_STORE, 16, 16, R_FP64),
    LEG("movntdqa xmm, m128", FT_SSE41, 0x66, 2, 0x2A, W_IG, OP_LOAD, 16, 16, 0),
    LEG("lddqu xmm, m128", FT_SSE3, 0xF2, 1, 0xF0, W_IG, OP_LOAD, 16, 0, 0),
    LEG("maskmovdqu xmm, xmm ([rdi])", FT_SSE2, 0x66, 1, 0xF7, W_IG, OP_MASKMOV, 16, 0, 0),

    /* MMX moves */
    LEG("movd mm, m32", FT_MMX, 0, 1, 0x6E, 0, OP_LOAD, 4, 0, R_MMX),
    LEG("movq mm, m64 (REX.W 0F 6E)", FT_MMX, 0, 1, 0x6E, 1, OP_LOAD, 8, 0, R_MMX),
    LEG("movd m32, mm", FT_MMX, 0, 1, 0x7E, 0, OP_STORE, 4, 0, R_MMX),
    LEG("movq m64, mm (REX.W 0F 7E)", FT_MMX, 0, 1, 0x7E, 1, OP_STORE, 8, 0, R_MMX),
    LEG("movq mm, m64", FT_MMX, 0, 1, 0x6F, W_IG, OP_LOAD, 8, 0, R_MMX),
    LEG("movq m64, mm", FT_MMX, 0, 1, 0x7F, W_IG, OP_STORE, 8, 0, R_MMX),
    LEG("movntq m64, mm", FT_SSE, 0, 1, 0xE7, W_IG, OP_STORE, 8, 0, R_MMX),
    LEG("maskmovq mm, mm ([rdi])", FT_SSE, 0, 1, 0xF7, W_IG, OP_MASKMOV, 8, 0, R_MMX),

    /* SSE integer forms of the string routines (memory source) */
    LEG("pcmpeqb xmm, m128", FT_SSE2, 0x66, 1, 0x74, W_IG, OP_SRC, 16, 16, 0),
    LEG("pcmpeqw xmm, m128", FT_SSE2, 0x66, 1, 0x75, W_IG, OP_SRC, 16, 16, 0),
    LEG("pcmpeqd xmm, m128", FT_SSE2, 0x66, 1, 0x76, W_IG, OP_SRC, 16, 16, 0),
    LEG("pcmpeqq xmm, m128", FT_SSE41, 0x66, 2, 0x29, W_IG, OP_SRC, 16, 16, 0),
    LEG("pcmpgtb xmm, m128", FT_SSE2, 0x66, 1, 0x64, W_IG, OP_SRC, 16, 16, 0),
    LEG("pcmpgtw xmm, m128", FT_SSE2, 0x66, 1, 0x65, W_IG, OP_SRC, 16, 16, 0),
    LEG("pcmpgtd xmm, m128", FT_SSE2, 0x66, 1, 0x66, W_IG, OP_SRC, 16, 16, 0),
    LEG("pminub xmm, m128", FT_SSE2, 0x66, 1, 0xDA, W_IG, OP_SRC, 16, 16, 0),
    LEG("pmaxub xmm, m128", FT_SSE2, 0x66, 1, 0xDE, W_IG, OP_SRC, 16, 16, 0),
    LEG("pand xmm, m128", FT_SSE2, 0x66, 1, 0xDB, W_IG, OP_SRC, 16, 16, 0),
    LEG("pandn xmm, m128", FT_SSE2, 0x66, 1, 0xDF, W_IG, OP_SRC, 16, 16, 0),
    LEG("por xmm, m128", FT_SSE2, 0x66, 1, 0xEB, W_IG, OP_SRC, 16, 16, 0),
    LEG("pxor xmm, m128", FT_SSE2, 0x66, 1, 0xEF, W_IG, OP_SRC, 16, 16, 0),
    LEG("psubb xmm, m128", FT_SSE2, 0x66, 1, 0xF8, W_IG, OP_SRC, 16, 16, 0),
    LEG("ptest xmm, m128", FT_SSE41, 0x66, 2, 0x17, W_IG, OP_TEST, 16, 16, 0),

    /* VEX moves */
    VEX("vmovdqu xmm, m128", FT_AVX, 0xF3, 1, 0x6F, W_IG, 0, OP_LOAD, 16, 0, 0),
    VEX("vmovdqu ymm, m256", FT_AVX, 0xF3, 1, 0x6F, W_IG, 1, OP_LOAD, 32, 0, 0),
    VEX("vmovdqu m128, xmm", FT_AVX, 0xF3, 1, 0x7F, W_IG, 0, OP_STORE, 16, 0, 0),
    VEX("vmovdqu m256, ymm", FT_AVX, 0xF3, 1, 0x7F, W_IG, 1, OP_STORE, 32, 0, 0),
    VEX("vmovdqa xmm, m128", FT_AVX, 0x66, 1, 0x6F, W_IG, 0, OP_LOAD, 16, 16, 0),
    VEX("vmovdqa ymm, m256", FT_AVX, 0x66, 1, 0x6F, W_IG, 1, OP_LOAD, 32, 32, 0),
    VEX("vmovdqa m128, xmm", FT_AVX, 0x66, 1, 0x7F, W_IG, 0, OP_STORE, 16, 16, 0),
    VEX("vmovdqa m256, ymm", FT_AVX, 0x66, 1, 0x7F, W_IG, 1, OP_STORE, 32, 32, 0),
    VEX("vmovups xmm, m128", FT_AVX, 0, 1, 0x10, W_IG, 0, OP_LOAD, 16, 0, R_FP32),
    VEX("vmovups ymm, m256", FT_AVX, 0, 1, 0x10, W_IG, 1, OP_LOAD, 32, 0, R_FP32),
    VEX("vmovups m128, xmm", FT_AVX, 0, 1, 0x11, W_IG, 0, OP_STORE, 16, 0, R_FP32),
    VEX("vmovups m256, ymm", FT_AVX, 0, 1, 0x11, W_IG, 1, OP_STORE, 32, 0, R_FP32),
    VEX("vmovupd xmm, m128", FT_AVX, 0x66, 1, 0x10, W_IG, 0, OP_LOAD, 16, 0, R_FP64),
    VEX("vmovupd ymm, m256", FT_AVX, 0x66, 1, 0x10, W_IG, 1, OP_LOAD, 32, 0, R_FP64),
    VEX("vmovupd m128, xmm", FT_AVX, 0x66, 1, 0x11, W_IG, 0, OP_STORE, 16, 0, R_FP64),
    VEX("vmovupd m256, ymm", FT_AVX, 0x66, 1, 0x11, W_IG, 1, OP_STORE, 32, 0, R_FP64),
    VEX("vmovaps xmm, m128", FT_AVX, 0, 1, 0x28, W_IG, 0, OP_LOAD, 16, 16, R_FP32),
    VEX("vmovaps ymm, m256", FT_AVX, 0, 1, 0x28, W_IG, 1, OP_LOAD, 32, 32, R_FP32),
    VEX("vmovaps m128, xmm", FT_AVX, 0, 1, 0x29, W_IG, 0, OP_STORE, 16, 16, R_FP32),
    VEX("vmovaps m256, ymm", FT_AVX, 0, 1, 0x29, W_IG, 1, OP_STORE, 32, 32, R_FP32),
    VEX("vmovapd xmm, m128", FT_AVX, 0x66, 1, 0x28, W_IG, 0, OP_LOAD, 16, 16, R_FP64),
    VEX("vmovapd ymm, m256", FT_AVX, 0x66, 1, 0x28, W_IG, 1, OP_LOAD, 32, 32, R_FP64),
    VEX("vmovapd m128, xmm", FT_AVX, 0x66, 1, 0x29, W_IG, 0, OP_STORE, 16, 16, R_FP64),
    VEX("vmovapd m256, ymm", FT_AVX, 0x66, 1, 0x29, W_IG, 1, OP_STORE, 32, 32, R_FP64),
    VEX("vmovd xmm, m32", FT_AVX, 0x66, 1, 0x6E, 0, 0, OP_LOAD, 4, 0, 0),
    VEX("vmovq xmm, m64 (VEX.W1 6E)", FT_AVX, 0x66, 1, 0x6E, 1, 0, OP_LOAD, 8, 0, 0),
    VEX("vmovd m32, xmm", FT_AVX, 0x66, 1, 0x7E, 0, 0, OP_STORE, 4, 0, 0),
    VEX("vmovq m64, xmm (VEX.W1 7E)", FT_AVX, 0x66, 1, 0x7E, 1, 0, OP_STORE, 8, 0, 0),
    VEX("vmovq xmm, m64 (VEX.F3 7E)", FT_AVX, 0xF3, 1, 0x7E, W_IG, 0, OP_LOAD, 8, 0, 0),
    VEX("vmovq m64, xmm (VEX.66 D6)", FT_AVX, 0x66, 1, 0xD6, W_IG, 0, OP_STORE, 8, 0, 0),
    VEX("vmovss xmm, m32", FT_AVX, 0xF3, 1, 0x10, W_IG, L_IG, OP_LOAD, 4, 0, R_FP32),
    VEX("vmovsd xmm, m64", FT_AVX, 0xF2, 1, 0x10, W_IG, L_IG, OP_LOAD, 8, 0, R_FP64),
    VEX("vmovss m32, xmm", FT_AVX, 0xF3, 1, 0x11, W_IG, L_IG, OP_STORE, 4, 0, R_FP32),
    VEX("vmovsd m64, xmm", FT_AVX, 0xF2, 1, 0x11, W_IG, L_IG, OP_STORE, 8, 0, R_FP64),
    VEX("vmovlps xmm, xmm, m64", FT_AVX, 0, 1, 0x12, W_IG, 0, OP_LOAD, 8, 0, R_VVVV | R_FP32),
    VEX("vmovlps m64, xmm", FT_AVX, 0, 1, 0x13, W_IG, 0, OP_STORE, 8, 0, R_FP32),
    VEX("vmovhps xmm, xmm, m64", FT_AVX, 0, 1, 0x16, W_IG, 0, OP_LOAD, 8, 0, R_VVVV | R_FP32),
    VEX("vmovhps m64, xmm", FT_AVX, 0, 1, 0x17, W_IG, 0, OP_STORE, 8, 0, R_FP32),
    VEX("vmovlpd xmm, xmm, m64", FT_AVX, 0x66, 1, 0x12, W_IG, 0, OP_LOAD, 8, 0, R_VVVV | R_FP64),
    VEX("vmovlpd m64, xmm", FT_AVX, 0x66, 1, 0x13, W_IG, 0, OP_STORE, 8, 0, R_FP64),
    VEX("vmovhpd xmm, xmm, m64", FT_AVX, 0x66, 1, 0x16, W_IG, 0, OP_LOAD, 8, 0, R_VVVV | R_FP64),
    VEX("vmovhpd m64, xmm", FT_AVX, 0x66, 1, 0x17, W_IG, 0, OP_STORE, 8, 0, R_FP64),
    VEX("vmovntdq m128, xmm", FT_AVX, 0x66, 1, 0xE7, W_IG, 0, OP_STORE, 16, 16, 0),
    VEX("vmovntdq m256, ymm", FT_AVX, 0x66, 1, 0xE7, W_IG, 1, OP_STORE, 32, 32, 0),
    VEX("vmovntps m128, xmm", FT_AVX, 0, 1, 0x2B, W_IG, 0, OP_STORE, 16, 16, R_FP32),
    VEX("vmovntps m256, ymm", FT_AVX, 0, 1, 0x2B, W_IG, 1, OP_STORE, 32, 32, R_FP32),
    VEX("vmovntpd m128, xmm", FT_AVX, 0x66, 1, 0x2B, W_IG, 0, OP_STORE, 16, 16, R_FP64),
    VEX("vmovntpd m256, ymm", FT_AVX, 0x66, 1, 0x2B, W_IG, 1, OP_STORE, 32, 32, R_FP64),
    VEX("vmovntdqa xmm, m128", FT_AVX, 0x66, 2, 0x2A, W_IG, 0, OP_LOAD, 16, 16, 0),
    VEX("vmovntdqa ymm, m256", FT_AVX2, 0x66, 2, 0x2A, W_IG, 1, OP_LOAD, 32, 32, 0),
    VEX("vlddqu xmm, m128", FT_AVX, 0xF2, 1, 0xF0, W_IG, 0, OP_LOAD, 16, 0, 0),
    VEX("vlddqu ymm, m256", FT_AVX, 0xF2, 1, 0xF0, W_IG, 1, OP_LOAD, 32, 0, 0),

    /* VEX integer forms (vvvv is the first source) */
    VEX("vpcmpeqb xmm, xmm, m128", FT_AVX, 0x66, 1, 0x74, W_IG, 0, OP_SRC, 16, 0, R_VVVV),
    VEX("vpcmpeqb ymm, ymm, m256", FT_AVX2, 0x66, 1, 0x74, W_IG, 1, OP_SRC, 32, 0, R_VVVV),
    VEX("vpcmpeqw xmm, xmm, m128", FT_AVX, 0x66, 1, 0x75, W_IG, 0, OP_SRC, 16, 0, R_VVVV),
    VEX("vpcmpeqw ymm, ymm, m256", FT_AVX2, 0x66, 1, 0x75, W_IG, 1, OP_SRC, 32, 0, R_VVVV),
    VEX("vpcmpeqd xmm, xmm, m128", FT_AVX, 0x66, 1, 0x76, W_IG, 0, OP_SRC, 16, 0, R_VVVV),
    VEX("vpcmpeqd ymm, ymm, m256", FT_AVX2, 0x66, 1, 0x76, W_IG, 1, OP_SRC, 32, 0, R_VVVV),
    VEX("vpcmpeqq xmm, xmm, m128", FT_AVX, 0x66, 2, 0x29, W_IG, 0, OP_SRC, 16, 0, R_VVVV),
    VEX("vpcmpeqq ymm, ymm, m256", FT_AVX2, 0x66, 2, 0x29, W_IG, 1, OP_SRC, 32, 0, R_VVVV),
    VEX("vpcmpgtb xmm, xmm, m128", FT_AVX, 0x66, 1, 0x64, W_IG, 0, OP_SRC, 16, 0, R_VVVV),
    VEX("vpcmpgtb ymm, ymm, m256", FT_AVX2, 0x66, 1, 0x64, W_IG, 1, OP_SRC, 32, 0, R_VVVV),
    VEX("vpcmpgtw xmm, xmm, m128", FT_AVX, 0x66, 1, 0x65, W_IG, 0, OP_SRC, 16, 0, R_VVVV),
    VEX("vpcmpgtw ymm, ymm, m256", FT_AVX2, 0x66, 1, 0x65, W_IG, 1, OP_SRC, 32, 0, R_VVVV),
    VEX("vpcmpgtd xmm, xmm, m128", FT_AVX, 0x66, 1, 0x66, W_IG, 0, OP_SRC, 16, 0, R_VVVV),
    VEX("vpcmpgtd ymm, ymm, m256", FT_AVX2, 0x66, 1, 0x66, W_IG, 1, OP_SRC, 32, 0, R_VVVV),
    VEX("vpminub xmm, xmm, m128", FT_AVX, 0x66, 1, 0xDA, W_IG, 0, OP_SRC, 16, 0, R_VVVV),
    VEX("vpminub ymm, ymm, m256", FT_AVX2, 0x66, 1, 0xDA, W_IG, 1, OP_SRC, 32, 0, R_VVVV),
    VEX("vpmaxub xmm, xmm, m128", FT_AVX, 0x66, 1, 0xDE, W_IG, 0, OP_SRC, 16, 0, R_VVVV),
    VEX("vpmaxub ymm, ymm, m256", FT_AVX2, 0x66, 1, 0xDE, W_IG, 1, OP_SRC, 32, 0, R_VVVV),
    VEX("vpand xmm, xmm, m128", FT_AVX, 0x66, 1, 0xDB, W_IG, 0, OP_SRC, 16, 0, R_VVVV),
    VEX("vpand ymm, ymm, m256", FT_AVX2, 0x66, 1, 0xDB, W_IG, 1, OP_SRC, 32, 0, R_VVVV),
    VEX("vpandn xmm, xmm, m128", FT_AVX, 0x66, 1, 0xDF, W_IG, 0, OP_SRC, 16, 0, R_VVVV),
    VEX("vpandn ymm, ymm, m256", FT_AVX2, 0x66, 1, 0xDF, W_IG, 1, OP_SRC, 32, 0, R_VVVV),
    VEX("vpor xmm, xmm, m128", FT_AVX, 0x66, 1, 0xEB, W_IG, 0, OP_SRC, 16, 0, R_VVVV),
    VEX("vpor ymm, ymm, m256", FT_AVX2, 0x66, 1, 0xEB, W_IG, 1, OP_SRC, 32, 0, R_VVVV),
    VEX("vpxor xmm, xmm, m128", FT_AVX, 0x66, 1, 0xEF, W_IG, 0, OP_SRC, 16, 0, R_VVVV),
    VEX("vpxor ymm, ymm, m256", FT_AVX2, 0x66, 1, 0xEF, W_IG, 1, OP_SRC, 32, 0, R_VVVV),
    VEX("vpsubb xmm, xmm, m128", FT_AVX, 0x66, 1, 0xF8, W_IG, 0, OP_SRC, 16, 0, R_VVVV),
    VEX("vpsubb ymm, ymm, m256", FT_AVX2, 0x66, 1, 0xF8, W_IG, 1, OP_SRC, 32, 0, R_VVVV),
    VEX("vptest xmm, m128", FT_AVX, 0x66, 2, 0x17, W_IG, 0, OP_TEST, 16, 0, 0),
    VEX("vptest ymm, m256", FT_AVX, 0x66, 2, 0x17, W_IG, 1, OP_TEST, 32, 0, 0),

    /* Integer arithmetic, legacy, VEX.128 and VEX.256: 0F map */
    BIN3("paddb", FT_SSE2, 0x66, 1, 0xFC),
    BIN3("paddw", FT_SSE2, 0x66, 1, 0xFD),
    BIN3("paddd", FT_SSE2, 0x66, 1, 0xFE),
    BIN3("paddq", FT_SSE2, 0x66, 1, 0xD4),
    BIN3("psubw", FT_SSE2, 0x66, 1, 0xF9),
    BIN3("psubd", FT_SSE2, 0x66, 1, 0xFA),
    BIN3("psubq", FT_SSE2, 0x66, 1, 0xFB),
    BIN3("paddsb", FT_SSE2, 0x66, 1, 0xEC),
    BIN3("paddsw", FT_SSE2, 0x66, 1, 0xED),
    BIN3("paddusb", FT_SSE2, 0x66, 1, 0xDC),
    BIN3("paddusw", FT_SSE2, 0x66, 1, 0xDD),
    BIN3("psubsb", FT_SSE2, 0x66, 1, 0xE8),
    BIN3("psubsw", FT_SSE2, 0x66, 1, 0xE9),
    BIN3("psubusb", FT_SSE2, 0x66, 1, 0xD8),
    BIN3("psubusw", FT_SSE2, 0x66, 1, 0xD9),
    BIN3("pminsw", FT_SSE2, 0x66, 1, 0xEA),
    BIN3("pmaxsw", FT_SSE2, 0x66, 1, 0xEE),
    BIN3("pavgb", FT_SSE2, 0x66, 1, 0xE0),
    BIN3("pavgw", FT_SSE2, 0x66, 1, 0xE3),
    BIN3("pmullw", FT_SSE2, 0x66, 1, 0xD5),
    BIN3("pmulhw", FT_SSE2, 0x66, 1, 0xE5),
    BIN3("pmulhuw", FT_SSE2, 0x66, 1, 0xE4),
    BIN3("pmuludq", FT_SSE2, 0x66, 1, 0xF4),
    BIN3("pmaddwd", FT_SSE2, 0x66, 1, 0xF5),
    BIN3("psadbw", FT_SSE2, 0x66, 1, 0xF6),
    BIN3("punpcklbw", FT_SSE2, 0x66, 1, 0x60),
    BIN3("punpcklwd", FT_SSE2, 0x66, 1, 0x61),
    BIN3("punpckldq", FT_SSE2, 0x66, 1, 0x62),
    BIN3("packsswb", FT_SSE2, 0x66, 1, 0x63),
    BIN3("packuswb", FT_SSE2, 0x66, 1, 0x67),
    BIN3("punpckhbw", FT_SSE2, 0x66, 1, 0x68),
    BIN3("punpckhwd", FT_SSE2, 0x66, 1, 0x69),
    BIN3("punpckhdq", FT_SSE2, 0x66, 1, 0x6A),
    BIN3("packssdw", FT_SSE2, 0x66, 1, 0x6B),
    BIN3("punpcklqdq", FT_SSE2, 0x66, 1, 0x6C),
    BIN3("punpckhqdq", FT_SSE2, 0x66, 1, 0x6D),
    IMM3("pshufd", FT_SSE2, 0x66, 1, 0x70),
    IMM3("pshufhw", FT_SSE2, 0xF3, 1, 0x70),
    IMM3("pshuflw", FT_SSE2, 0xF2, 1, 0x70),

    /* Integer arithmetic: 0F 38 map */
    BIN3("pshufb", FT_SSSE3, 0x66, 2, 0x00),
    UN3("pabsb", FT_SSSE3, 0x66, 2, 0x1C),
    UN3("pabsw", FT_SSSE3, 0x66, 2, 0x1D),
    UN3("pabsd", FT_SSSE3, 0x66, 2, 0x1E),
    BIN3("packusdw", FT_SSE41, 0x66, 2, 0x2B),
    BIN3("pcmpgtq", FT_SSE42, 0x66, 2, 0x37),
    BIN3("pminsb", FT_SSE41, 0x66, 2, 0x38),
    BIN3("pminsd", FT_SSE41, 0x66, 2, 0x39),
    BIN3("pminuw", FT_SSE41, 0x66, 2, 0x3A),
    BIN3("pminud", FT_SSE41, 0x66, 2, 0x3B),
    BIN3("pmaxsb", FT_SSE41, 0x66, 2, 0x3C),
    BIN3("pmaxsd", FT_SSE41, 0x66, 2, 0x3D),
    BIN3("pmaxuw", FT_SSE41, 0x66, 2, 0x3E),
    BIN3("pmaxud", FT_SSE41, 0x66, 2, 0x3F),
    BIN3("pmulld", FT_SSE41, 0x66, 2, 0x40),

    /* Bitwise FP forms */
    SRC3("andps", "", FT_SSE, FT_AVX, 0, 1, 0x54, R_FP32),
    SRC3("andpd", "", FT_SSE2, FT_AVX, 0x66, 1, 0x54, R_FP64),
    SRC3("andnps", "", FT_SSE, FT_AVX, 0, 1, 0x55, R_FP32),
    SRC3("andnpd", "", FT_SSE2, FT_AVX, 0x66, 1, 0x55, R_FP64),
    SRC3("orps", "", FT_SSE, FT_AVX, 0, 1, 0x56, R_FP32),
    SRC3("orpd", "", FT_SSE2, FT_AVX, 0x66, 1, 0x56, R_FP64),
    SRC3("xorps", "", FT_SSE, FT_AVX, 0, 1, 0x57, R_FP32),
    SRC3("xorpd", "", FT_SSE2, FT_AVX, 0x66, 1, 0x57, R_FP64),

    /* FP unpacks and shuffles (VEX.256: per 128-bit lane) */
    SRC3("unpcklps", "", FT_SSE, FT_AVX, 0, 1, 0x14, R_FP32),
    SRC3("unpcklpd", "", FT_SSE2, FT_AVX, 0x66, 1, 0x14, R_FP64),
    SRC3("unpckhps", "", FT_SSE, FT_AVX, 0, 1, 0x15, R_FP32),
    SRC3("unpckhpd", "", FT_SSE2, FT_AVX, 0x66, 1, 0x15, R_FP64),
    SRC3("shufps", ", imm8", FT_SSE, FT_AVX, 0, 1, 0xC6, R_FP32 | R_IMM8),
    SRC3("shufpd", ", imm8", FT_SSE2, FT_AVX, 0x66, 1, 0xC6, R_FP64 | R_IMM8),

    /* Duplicating moves */
    UNM3("movsldup", "m128", "m256", 16, FT_SSE3, FT_AVX, 0xF3, 1, 0x12, R_FP32),
    UNM3("movshdup", "m128", "m256", 16, FT_SSE3, FT_AVX, 0xF3, 1, 0x16, R_FP32),
    LEG("movddup xmm, m64", FT_SSE3, 0xF2, 1, 0x12, W_IG, OP_UNARY, 8, 0, R_FP64),
    VEX("vmovddup xmm, m64", FT_AVX, 0xF2, 1, 0x12, W_IG, 0, OP_UNARY, 8, 0, R_FP64),
    VEX("vmovddup ymm, m256", FT_AVX, 0xF2, 1, 0x12, W_IG, 1, OP_UNARY, 32, 0, R_FP64),

    /* Align and blends with an imm8 (0F 3A map) */
    SRC3("palignr", ", imm8", FT_SSSE3, FT_AVX2, 0x66, 3, 0x0F, R_INT | R_IMM8),
    SRC3("pblendw", ", imm8", FT_SSE41, FT_AVX2, 0x66, 3, 0x0E, R_INT | R_IMM8),
    SRC3("blendps", ", imm8", FT_SSE41, FT_AVX, 0x66, 3, 0x0C, R_FP32 | R_IMM8),
    SRC3("blendpd", ", imm8", FT_SSE41, FT_AVX, 0x66, 3, 0x0D, R_FP64 | R_IMM8),

    /* Element inserts (VEX: vvvv is the first source) */
    LEG("pinsrb xmm, m8, imm8", FT_SSE41, 0x66, 3, 0x20, 0, OP_SRC, 1, 0, R_INT | R_IMM8),
    VEX("vpinsrb xmm, xmm, m8, imm8", FT_AVX, 0x66, 3, 0x20, 0, 0, OP_SRC, 1, 0,
        R_INT | R_IMM8 | R_VVVV),
    LEG("pinsrw xmm, m16, imm8", FT_SSE2, 0x66, 1, 0xC4, 0, OP_SRC, 2, 0, R_INT | R_IMM8),
    VEX("vpinsrw xmm, xmm, m16, imm8", FT_AVX, 0x66, 1, 0xC4, 0, 0, OP_SRC, 2, 0,
        R_INT | R_IMM8 | R_VVVV),
    LEG("pinsrd xmm, m32, imm8", FT_SSE41, 0x66, 3, 0x22, 0, OP_SRC, 4, 0, R_INT | R_IMM8),
    VEX("vpinsrd xmm, xmm, m32, imm8", FT_AVX, 0x66, 3, 0x22, 0, 0, OP_SRC, 4, 0,
        R_INT | R_IMM8 | R_VVVV),
    LEG("pinsrq xmm, m64, imm8", FT_SSE41, 0x66, 3, 0x22, 1, OP_SRC, 8, 0, R_INT | R_IMM8),
    VEX("vpinsrq xmm, xmm, m64, imm8", FT_AVX, 0x66, 3, 0x22, 1, 0, OP_SRC, 8, 0,
        R_INT | R_IMM8 | R_VVVV),

    /* Element extracts: stores of one element */
    LEG("pextrb m8, xmm, imm8", FT_SSE41, 0x66, 3, 0x14, 0, OP_STORE, 1, 0, R_INT | R_IMM8),
    VEX("vpextrb m8, xmm, imm8", FT_AVX, 0x66, 3, 0x14, 0, 0, OP_STORE, 1, 0, R_INT | R_IMM8),
    LEG("pextrw m16, xmm, imm8", FT_SSE41, 0x66, 3, 0x15, 0, OP_STORE, 2, 0, R_INT | R_IMM8),
    VEX("vpextrw m16, xmm, imm8", FT_AVX, 0x66, 3, 0x15, 0, 0, OP_STORE, 2, 0, R_INT | R_IMM8),
    LEG("pextrd m32, xmm, imm8", FT_SSE41, 0x66, 3, 0x16, 0, OP_STORE, 4, 0, R_INT | R_IMM8),
    VEX("vpextrd m32, xmm, imm8", FT_AVX, 0x66, 3, 0x16, 0, 0, OP_STORE, 4, 0, R_INT | R_IMM8),
    LEG("pextrq m64, xmm, imm8", FT_SSE41, 0x66, 3, 0x16, 1, OP_STORE, 8, 0, R_INT | R_IMM8),
    VEX("vpextrq m64, xmm, imm8", FT_AVX, 0x66, 3, 0x16, 1, 0, OP_STORE, 8, 0, R_INT | R_IMM8),

    /* Zero and sign extensions (memory: half, quarter or eighth of the register) */
    UNM3("pmovsxbw", "m64", "m128", 8, FT_SSE41, FT_AVX2, 0x66, 2, 0x20, R_INT),
    UNM3("pmovsxbd", "m32", "m64", 4, FT_SSE41, FT_AVX2, 0x66, 2, 0x21, R_INT),
    UNM3("pmovsxbq", "m16", "m32", 2, FT_SSE41, FT_AVX2, 0x66, 2, 0x22, R_INT),
    UNM3("pmovsxwd", "m64", "m128", 8, FT_SSE41, FT_AVX2, 0x66, 2, 0x23, R_INT),
    UNM3("pmovsxwq", "m32", "m64", 4, FT_SSE41, FT_AVX2, 0x66, 2, 0x24, R_INT),
    UNM3("pmovsxdq", "m64", "m128", 8, FT_SSE41, FT_AVX2, 0x66, 2, 0x25, R_INT),
    UNM3("pmovzxbw", "m64", "m128", 8, FT_SSE41, FT_AVX2, 0x66, 2, 0x30, R_INT),
    UNM3("pmovzxbd", "m32", "m64", 4, FT_SSE41, FT_AVX2, 0x66, 2, 0x31, R_INT),
    UNM3("pmovzxbq", "m16", "m32", 2, FT_SSE41, FT_AVX2, 0x66, 2, 0x32, R_INT),
    UNM3("pmovzxwd", "m64", "m128", 8, FT_SSE41, FT_AVX2, 0x66, 2, 0x33, R_INT),
    UNM3("pmovzxwq", "m32", "m64", 4, FT_SSE41, FT_AVX2, 0x66, 2, 0x34, R_INT),
    UNM3("pmovzxdq", "m64", "m128", 8, FT_SSE41, FT_AVX2, 0x66, 2, 0x35, R_INT),

    /* Broadcasts (VEX only) */
    VEX("vpbroadcastb xmm, m8", FT_AVX2, 0x66, 2, 0x78, 0, 0, OP_UNARY, 1, 0, R_INT),
    VEX("vpbroadcastb ymm, m8", FT_AVX2, 0x66, 2, 0x78, 0, 1, OP_UNARY, 1, 0, R_INT),
    VEX("vpbroadcastw xmm, m16", FT_AVX2, 0x66, 2, 0x79, 0, 0, OP_UNARY, 2, 0, R_INT),
    VEX("vpbroadcastw ymm, m16", FT_AVX2, 0x66, 2, 0x79, 0, 1, OP_UNARY, 2, 0, R_INT),
    VEX("vpbroadcastd xmm, m32", FT_AVX2, 0x66, 2, 0x58, 0, 0, OP_UNARY, 4, 0, R_INT),
    VEX("vpbroadcastd ymm, m32", FT_AVX2, 0x66, 2, 0x58, 0, 1, OP_UNARY, 4, 0, R_INT),
    VEX("vpbroadcastq xmm, m64", FT_AVX2, 0x66, 2, 0x59, 0, 0, OP_UNARY, 8, 0, R_INT),
    VEX("vpbroadcastq ymm, m64", FT_AVX2, 0x66, 2, 0x59, 0, 1, OP_UNARY, 8, 0, R_INT),
    VEX("vbroadcastss xmm, m32", FT_AVX, 0x66, 2, 0x18, 0, 0, OP_UNARY, 4, 0, R_FP32),
    VEX("vbroadcastss ymm, m32", FT_AVX, 0x66, 2, 0x18, 0, 1, OP_UNARY, 4, 0, R_FP32),
    VEX("vbroadcastsd ymm, m64", FT_AVX, 0x66, 2, 0x19, 0, 1, OP_UNARY, 8, 0, R_FP64),
    VEX("vbroadcasti128 ymm, m128", FT_AVX2, 0x66, 2, 0x5A, 0, 1, OP_UNARY, 16, 0, R_INT),

    /* 128-bit lane insert and extract (imm8 bit 0 picks the lane) */
    VEX("vinsertf128 ymm, ymm, m128, imm8", FT_AVX, 0x66, 3, 0x18, 0, 1, OP_SRC, 16, 0,
        R_FP32 | R_IMM8 | R_VVVV),
    VEX("vinserti128 ymm, ymm, m128, imm8", FT_AVX2, 0x66, 3, 0x38, 0, 1, OP_SRC, 16, 0,
        R_INT | R_IMM8 | R_VVVV),
    VEX("vextractf128 m128, ymm, imm8", FT_AVX, 0x66, 3, 0x19, 0, 1, OP_STORE, 16, 0,
        R_FP32 | R_IMM8),
    VEX("vextracti128 m128, ymm, imm8", FT_AVX2, 0x66, 3, 0x39, 0, 1, OP_STORE, 16, 0,
        R_INT | R_IMM8),
    /* Floating point, run by the emulator on the host CPU (R_HFP). */
#define FPS (R_HFP | R_FP32)
#define FPD (R_HFP | R_FP64)
#define FSC(mn, feat, pp, opc, n, fl)                                                               \
    LEG(mn " xmm, m" #n, feat, pp, 1, opc, W_IG, OP_SRC, (n) / 8, 0, fl),                         \
    VEX("v" mn " xmm, xmm, m" #n, FT_AVX, pp, 1, opc, W_IG, L_IG, OP_SRC, (n) / 8, 0, (fl) | R_VVVV)
    SRC3("addps", "", FT_SSE, FT_AVX, 0, 1, 0x58, FPS | R_UF),
    SRC3("addpd", "", FT_SSE2, FT_AVX, 0x66, 1, 0x58, FPD | R_UF),
    SRC3("mulps", "", FT_SSE, FT_AVX, 0, 1, 0x59, FPS | R_UF),
    SRC3("mulpd", "", FT_SSE2, FT_AVX, 0x66, 1, 0x59, FPD | R_UF),
    SRC3("subps", "", FT_SSE, FT_AVX, 0, 1, 0x5C, FPS | R_UF),
    SRC3("subpd", "", FT_SSE2, FT_AVX, 0x66, 1, 0x5C, FPD | R_UF),
    SRC3("minps", "", FT_SSE, FT_AVX, 0, 1, 0x5D, FPS),
    SRC3("minpd", "", FT_SSE2, FT_AVX, 0x66, 1, 0x5D, FPD),
    SRC3("divps", "", FT_SSE, FT_AVX, 0, 1, 0x5E, FPS | R_UF),
    SRC3("divpd", "", FT_SSE2, FT_AVX, 0x66, 1, 0x5E, FPD | R_UF),
    SRC3("maxps", "", FT_SSE, FT_AVX, 0, 1, 0x5F, FPS),
    SRC3("maxpd", "", FT_SSE2, FT_AVX, 0x66, 1, 0x5F, FPD),
    SRC3("haddpd", "", FT_SSE3, FT_AVX, 0x66, 1, 0x7C, FPD | R_UF),
    SRC3("haddps", "", FT_SSE3, FT_AVX, 0xF2, 1, 0x7C, FPS | R_UF),
    SRC3("hsubpd", "", FT_SSE3, FT_AVX, 0x66, 1, 0x7D, FPD | R_UF),
    SRC3("hsubps", "", FT_SSE3, FT_AVX, 0xF2, 1, 0x7D, FPS | R_UF),
    SRC3("addsubpd", "", FT_SSE3, FT_AVX, 0x66, 1, 0xD0, FPD | R_UF),
    SRC3("addsubps", "", FT_SSE3, FT_AVX, 0xF2, 1, 0xD0, FPS | R_UF),
    SRC3("cmpps", ", imm8", FT_SSE, FT_AVX, 0, 1, 0xC2, FPS | R_IMM8),
    SRC3("cmppd", ", imm8", FT_SSE2, FT_AVX, 0x66, 1, 0xC2, FPD | R_IMM8),
    UNM3("sqrtps", "m128", "m256", 16, FT_SSE, FT_AVX, 0, 1, 0x51, FPS),
    UNM3("sqrtpd", "m128", "m256", 16, FT_SSE2, FT_AVX, 0x66, 1, 0x51, FPD),
    UNM3("rsqrtps", "m128", "m256", 16, FT_SSE, FT_AVX, 0, 1, 0x52, FPS),
    UNM3("rcpps", "m128", "m256", 16, FT_SSE, FT_AVX, 0, 1, 0x53, FPS),
    UNM3("roundps", "m128, imm8", "m256, imm8", 16, FT_SSE41, FT_AVX, 0x66, 3, 0x08, FPS | R_IMM8),
    UNM3("roundpd", "m128, imm8", "m256, imm8", 16, FT_SSE41, FT_AVX, 0x66, 3, 0x09, FPD | R_IMM8),
    UNM3("cvtps2pd", "m64", "m128", 8, FT_SSE2, FT_AVX, 0, 1, 0x5A, FPS),
    UNM3("cvtdq2pd", "m64", "m128", 8, FT_SSE2, FT_AVX, 0xF3, 1, 0xE6, R_HFP | R_INT),
    UNM3("cvtdq2ps", "m128", "m256", 16, FT_SSE2, FT_AVX, 0, 1, 0x5B, R_HFP | R_INT),
    UNM3("cvtps2dq", "m128", "m256", 16, FT_SSE2, FT_AVX, 0x66, 1, 0x5B, FPS),
    UNM3("cvttps2dq", "m128", "m256", 16, FT_SSE2, FT_AVX, 0xF3, 1, 0x5B, FPS),
    LEG("cvtpd2ps xmm, m128", FT_SSE2, 0x66, 1, 0x5A, W_IG, OP_UNARY, 16, 16, FPD | R_UF),
    VEX("vcvtpd2ps xmm, m128", FT_AVX, 0x66, 1, 0x5A, W_IG, 0, OP_UNARY, 16, 0, FPD | R_UF),
    VEX("vcvtpd2ps xmm, m256", FT_AVX, 0x66, 1, 0x5A, W_IG, 1, OP_UNARY, 32, 0, FPD | R_UF),
    LEG("cvtpd2dq xmm, m128", FT_SSE2, 0xF2, 1, 0xE6, W_IG, OP_UNARY, 16, 16, FPD),
    VEX("vcvtpd2dq xmm, m128", FT_AVX, 0xF2, 1, 0xE6, W_IG, 0, OP_UNARY, 16, 0, FPD),
    VEX("vcvtpd2dq xmm, m256", FT_AVX, 0xF2, 1, 0xE6, W_IG, 1, OP_UNARY, 32, 0, FPD),
    LEG("cvttpd2dq xmm, m128", FT_SSE2, 0x66, 1, 0xE6, W_IG, OP_UNARY, 16, 16, FPD),
    VEX("vcvttpd2dq xmm, m128", FT_AVX, 0x66, 1, 0xE6, W_IG, 0, OP_UNARY, 16, 0, FPD),
    VEX("vcvttpd2dq xmm, m256", FT_AVX, 0x66, 1, 0xE6, W_IG, 1, OP_UNARY, 32, 0, FPD),
    FSC("addss", FT_SSE, 0xF3, 0x58, 32, FPS | R_UF),
    FSC("addsd", FT_SSE2, 0xF2, 0x58, 64, FPD | R_UF),
    FSC("mulss", FT_SSE, 0xF3, 0x59, 32, FPS | R_UF),
    FSC("mulsd", FT_SSE2, 0xF2, 0x59, 64, FPD | R_UF),
    FSC("subss", FT_SSE, 0xF3, 0x5C, 32, FPS | R_UF),
    FSC("subsd", FT_SSE2, 0xF2, 0x5C, 64, FPD | R_UF),
    FSC("minss", FT_SSE, 0xF3, 0x5D, 32, FPS),
    FSC("minsd", FT_SSE2, 0xF2, 0x5D, 64, FPD),
    FSC("divss", FT_SSE, 0xF3, 0x5E, 32, FPS | R_UF),
    FSC("divsd", FT_SSE2, 0xF2, 0x5E, 64, FPD | R_UF),
    FSC("maxss", FT_SSE, 0xF3, 0x5F, 32, FPS),
    FSC("maxsd", FT_SSE2, 0xF2, 0x5F, 64, FPD),
    FSC("sqrtss", FT_SSE, 0xF3, 0x51, 32, FPS),
    FSC("sqrtsd", FT_SSE2, 0xF2, 0x51, 64, FPD),
    FSC("rsqrtss", FT_SSE, 0xF3, 0x52, 32, FPS),
    FSC("rcpss", FT_SSE, 0xF3, 0x53, 32, FPS),
    FSC("cvtss2sd", FT_SSE2, 0xF3, 0x5A, 32, FPS),
    FSC("cvtsd2ss", FT_SSE2, 0xF2, 0x5A, 64, FPD | R_UF),
    FSC("cmpss", FT_SSE, 0xF3, 0xC2, 32, FPS | R_IMM8),
    FSC("cmpsd", FT_SSE2, 0xF2, 0xC2, 64, FPD | R_IMM8),
    LEG("roundss xmm, m32, imm8", FT_SSE41, 0x66, 3, 0x0A, W_IG, OP_SRC, 4, 0, FPS | R_IMM8),
    VEX("vroundss xmm, xmm, m32, imm8", FT_AVX, 0x66, 3, 0x0A, W_IG, L_IG, OP_SRC, 4, 0,
        FPS | R_IMM8 | R_VVVV),
    LEG("roundsd xmm, m64, imm8", FT_SSE41, 0x66, 3, 0x0B, W_IG, OP_SRC, 8, 0, FPD | R_IMM8),
    VEX("vroundsd xmm, xmm, m64, imm8", FT_AVX, 0x66, 3, 0x0B, W_IG, L_IG, OP_SRC, 8, 0,
        FPD | R_IMM8 | R_VVVV),
    LEG("cvtsi2ss xmm, m32", FT_SSE, 0xF3, 1, 0x2A, 0, OP_SRC, 4, 0, R_HFP | R_INT),
    LEG("cvtsi2ss xmm, m64", FT_SSE, 0xF3, 1, 0x2A, 1, OP_SRC, 8, 0, R_HFP | R_INT),
    LEG("cvtsi2sd xmm, m32", FT_SSE2, 0xF2, 1, 0x2A, 0, OP_SRC, 4, 0, R_HFP | R_INT),
    LEG("cvtsi2sd xmm, m64", FT_SSE2, 0xF2, 1, 0x2A, 1, OP_SRC, 8, 0, R_HFP | R_INT),
    VEX("vcvtsi2ss xmm, xmm, m32", FT_AVX, 0xF3, 1, 0x2A, 0, L_IG, OP_SRC, 4, 0, R_HFP | R_INT | R_VVVV),
    VEX("vcvtsi2ss xmm, xmm, m64", FT_AVX, 0xF3, 1, 0x2A, 1, L_IG, OP_SRC, 8, 0, R_HFP | R_INT | R_VVVV),
    VEX("vcvtsi2sd xmm, xmm, m32", FT_AVX, 0xF2, 1, 0x2A, 0, L_IG, OP_SRC, 4, 0, R_HFP | R_INT | R_VVVV),
    VEX("vcvtsi2sd xmm, xmm, m64", FT_AVX, 0xF2, 1, 0x2A, 1, L_IG, OP_SRC, 8, 0, R_HFP | R_INT | R_VVVV),
#define TOGPR(mn, feat, pp, opc, n, fl)                                                             \
    LEG(mn " r32, m" #n, feat, pp, 1, opc, 0, OP_TOGPR, (n) / 8, 0, fl),                          \
    LEG(mn " r64, m" #n, feat, pp, 1, opc, 1, OP_TOGPR, (n) / 8, 0, fl),                          \
    VEX("v" mn " r32, m" #n, FT_AVX, pp, 1, opc, 0, L_IG, OP_TOGPR, (n) / 8, 0, fl),              \
    VEX("v" mn " r64, m" #n, FT_AVX, pp, 1, opc, 1, L_IG, OP_TOGPR, (n) / 8, 0, fl)
    TOGPR("cvtss2si", FT_SSE, 0xF3, 0x2D, 32, FPS),
    TOGPR("cvttss2si", FT_SSE, 0xF3, 0x2C, 32, FPS),
    TOGPR("cvtsd2si", FT_SSE2, 0xF2, 0x2D, 64, FPD),
    TOGPR("cvttsd2si", FT_SSE2, 0xF2, 0x2C, 64, FPD),
#define COMIS(mn, feat, pp, opc, n, fl)                                                             \
    LEG(mn " xmm, m" #n, feat, pp, 1, opc, W_IG, OP_TEST, (n) / 8, 0, fl),                        \
    VEX("v" mn " xmm, m" #n, FT_AVX, pp, 1, opc, W_IG, L_IG, OP_TEST, (n) / 8, 0, fl)
    COMIS("ucomiss", FT_SSE, 0, 0x2E, 32, FPS),
    COMIS("ucomisd", FT_SSE2, 0x66, 0x2E, 64, FPD),
    COMIS("comiss", FT_SSE, 0, 0x2F, 32, FPS),
    COMIS("comisd", FT_SSE2, 0x66, 0x2F, 64, FPD),
    VEX("vcvtph2ps xmm, m64", FT_F16C, 0x66, 2, 0x13, 0, 0, OP_UNARY, 8, 0, R_HFP | R_INT),
    VEX("vcvtph2ps ymm, m128", FT_F16C, 0x66, 2, 0x13, 0, 1, OP_UNARY, 16, 0, R_HFP | R_INT),
    VEX("vcvtps2ph m64, xmm, imm8", FT_F16C, 0x66, 3, 0x1D, 0, 0, OP_STORE, 8, 0,
        FPS | R_UF | R_IMM8),
    VEX("vcvtps2ph m128, ymm, imm8", FT_F16C, 0x66, 3, 0x1D, 0, 1, OP_STORE, 16, 0,
        FPS | R_UF | R_IMM8),
#define FMA2(mn, opc)                                                                               \
    VEX(mn "ps xmm, xmm, m128", FT_FMA, 0x66, 2, opc, 0, 0, OP_SRC, 16, 0, FPS | R_UF | R_VVVV),  \
    VEX(mn "ps ymm, ymm, m256", FT_FMA, 0x66, 2, opc, 0, 1, OP_SRC, 32, 0, FPS | R_UF | R_VVVV),  \
    VEX(mn "pd xmm, xmm, m128", FT_FMA, 0x66, 2, opc, 1, 0, OP_SRC, 16, 0, FPD | R_UF | R_VVVV),  \
    VEX(mn "pd ymm, ymm, m256", FT_FMA, 0x66, 2, opc, 1, 1, OP_SRC, 32, 0, FPD | R_UF | R_VVVV)
#define FMAS(mn, opc)                                                                               \
    VEX(mn "ss xmm, xmm, m32", FT_FMA, 0x66, 2, opc, 0, L_IG, OP_SRC, 4, 0, FPS | R_UF | R_VVVV), \
    VEX(mn "sd xmm, xmm, m64", FT_FMA, 0x66, 2, opc, 1, L_IG, OP_SRC, 8, 0, FPD | R_UF | R_VVVV)
#define FMA3(o, base) FMA2("vfmaddsub" o, (base) + 6), FMA2("vfmsubadd" o, (base) + 7),           \
    FMA2("vfmadd" o, (base) + 8), FMAS("vfmadd" o, (base) + 9), FMA2("vfmsub" o, (base) + 10),      \
    FMAS("vfmsub" o, (base) + 11), FMA2("vfnmadd" o, (base) + 12), FMAS("vfnmadd" o, (base) + 13),  \
    FMA2("vfnmsub" o, (base) + 14), FMAS("vfnmsub" o, (base) + 15)
    FMA3("132", 0x90),
    FMA3("213", 0xA0),
    FMA3("231", 0xB0),

    /* Dot products: every imm8 value in turn */
    SRC3("dpps", ", imm8", FT_SSE41, FT_AVX, 0x66, 3, 0x40, FPS | R_UF | R_IMM8 | R_IMMALL),
    LEG("dppd xmm, m128, imm8", FT_SSE41, 0x66, 3, 0x41, W_IG, OP_SRC, 16, 16,
        FPD | R_UF | R_IMM8 | R_IMMALL),
    VEX("vdppd xmm, xmm, m128, imm8", FT_AVX, 0x66, 3, 0x41, W_IG, 0, OP_SRC, 16, 0,
        FPD | R_UF | R_IMM8 | R_IMMALL | R_VVVV),

    /* Conversions to and from MMX registers, memory source */
    LEG("cvtpi2ps xmm, m64", FT_SSE, 0, 1, 0x2A, W_IG, OP_SRC, 8, 0, R_HFP | R_INT),
    LEG("cvtpi2pd xmm, m64", FT_SSE2, 0x66, 1, 0x2A, W_IG, OP_UNARY, 8, 0, R_HFP | R_INT),
    LEG("cvtps2pi mm, m64", FT_SSE, 0, 1, 0x2D, W_IG, OP_UNARY, 8, 0, R_MMX | FPS),
    LEG("cvttps2pi mm, m64", FT_SSE, 0, 1, 0x2C, W_IG, OP_UNARY, 8, 0, R_MMX | FPS),
    LEG("cvtpd2pi mm, m128", FT_SSE2, 0x66, 1, 0x2D, W_IG, OP_UNARY, 16, 16, R_MMX | FPD),
    LEG("cvttpd2pi mm, m128", FT_SSE2, 0x66, 1, 0x2C, W_IG, OP_UNARY, 16, 16, R_MMX | FPD),

    /* SSE4.2 string compares (lengths in EAX/EDX, RAX/RDX with W) */
#define PCMPSTR(mn, opc, op, wl)                                                                  \
    LEG(mn " xmm, m128, imm8" wl, FT_SSE42, 0x66, 3, opc, 0, op, 16, 0, R_CPU | R_STR | R_IMM8),  \
    LEG(mn " xmm, m128, imm8 (REX.W)", FT_SSE42, 0x66, 3, opc, 1, op, 16, 0,                       \
        R_CPU | R_STR | R_IMM8),                                                                  \
    VEX("v" mn " xmm, m128, imm8" wl, FT_AVX, 0x66, 3, opc, 0, 0, op, 16, 0,                       \
        R_CPU | R_STR | R_IMM8),                                                                  \
    VEX("v" mn " xmm, m128, imm8 (VEX.W1)", FT_AVX, 0x66, 3, opc, 1, 0, op, 16, 0,                 \
        R_CPU | R_STR | R_IMM8)
    PCMPSTR("pcmpestrm", 0x60, OP_STRM, ""),
    PCMPSTR("pcmpestri", 0x61, OP_STRI, ""),
    PCMPSTR("pcmpistrm", 0x62, OP_STRM, ""),
    PCMPSTR("pcmpistri", 0x63, OP_STRI, ""),

    /* AVX/AVX2 permutes, blends, variable shifts, VTEST */
#define AVX2F(mn, feat, map, opc, w, op, fl)                                                       \
    VEX(mn " xmm, m128", feat, 0x66, map, opc, w, 0, op, 16, 0, R_CPU | (fl)),                    \
    VEX(mn " ymm, m256", feat, 0x66, map, opc, w, 1, op, 32, 0, R_CPU | (fl))
    AVX2F("vpermilps (vector control)", FT_AVX, 2, 0x0C, 0, OP_SRC, R_VVVV | R_INT),
    AVX2F("vpermilpd (vector control)", FT_AVX, 2, 0x0D, 0, OP_SRC, R_VVVV | R_INT),
    AVX2F("vpermilps (imm8)", FT_AVX, 3, 0x04, 0, OP_UNARY, R_IMM8 | R_FP32),
    AVX2F("vpermilpd (imm8)", FT_AVX, 3, 0x05, 0, OP_UNARY, R_IMM8 | R_FP64),
    AVX2F("vpblendd", FT_AVX2, 3, 0x02, 0, OP_SRC, R_VVVV | R_IMM8 | R_INT),
    AVX2F("vpsrlvd", FT_AVX2, 2, 0x45, 0, OP_SRC, R_VVVV | R_INT),
    AVX2F("vpsrlvq", FT_AVX2, 2, 0x45, 1, OP_SRC, R_VVVV | R_INT),
    AVX2F("vpsravd", FT_AVX2, 2, 0x46, 0, OP_SRC, R_VVVV | R_INT),
    AVX2F("vpsllvd", FT_AVX2, 2, 0x47, 0, OP_SRC, R_VVVV | R_INT),
    AVX2F("vpsllvq", FT_AVX2, 2, 0x47, 1, OP_SRC, R_VVVV | R_INT),
    AVX2F("vtestps", FT_AVX, 2, 0x0E, 0, OP_TEST, R_FP32),
    AVX2F("vtestpd", FT_AVX, 2, 0x0F, 0, OP_TEST, R_FP64),
    AVX2F("vmaskmovps (load)", FT_AVX, 2, 0x2C, 0, OP_MLOAD, R_VVVV | R_FP32),
    AVX2F("vmaskmovpd (load)", FT_AVX, 2, 0x2D, 0, OP_MLOAD, R_VVVV | R_FP64),
    AVX2F("vmaskmovps (store)", FT_AVX, 2, 0x2E, 0, OP_MSTORE, R_VVVV | R_FP32),
    AVX2F("vmaskmovpd (store)", FT_AVX, 2, 0x2F, 0, OP_MSTORE, R_VVVV | R_FP64),
    AVX2F("vpmaskmovd (load)", FT_AVX2, 2, 0x8C, 0, OP_MLOAD, R_VVVV | R_INT),
    AVX2F("vpmaskmovq (load)", FT_AVX2, 2, 0x8C, 1, OP_MLOAD, R_VVVV | R_INT),
    AVX2F("vpmaskmovd (store)", FT_AVX2, 2, 0x8E, 0, OP_MSTORE, R_VVVV | R_INT),
    AVX2F("vpmaskmovq (store)", FT_AVX2, 2, 0x8E, 1, OP_MSTORE, R_VVVV | R_INT),
    VEX("vperm2f128 ymm, ymm, m256, imm8", FT_AVX, 0x66, 3, 0x06, 0, 1, OP_SRC, 32, 0,
        R_CPU | R_VVVV | R_IMM8 | R_FP32),
    VEX("vperm2i128 ymm, ymm, m256, imm8", FT_AVX2, 0x66, 3, 0x46, 0, 1, OP_SRC, 32, 0,
        R_CPU | R_VVVV | R_IMM8 | R_INT),
    VEX("vpermd ymm, ymm, m256", FT_AVX2, 0x66, 2, 0x36, 0, 1, OP_SRC, 32, 0,
        R_CPU | R_VVVV | R_INT),
    VEX("vpermps ymm, ymm, m256", FT_AVX2, 0x66, 2, 0x16, 0, 1, OP_SRC, 32, 0,
        R_CPU | R_VVVV | R_FP32),
    VEX("vpermq ymm, m256, imm8", FT_AVX2, 0x66, 3, 0x00, 1, 1, OP_UNARY, 32, 0,
        R_CPU | R_IMM8 | R_INT),
    VEX("vpermpd ymm, m256, imm8", FT_AVX2, 0x66, 3, 0x01, 1, 1, OP_UNARY, 32, 0,
        R_CPU | R_IMM8 | R_FP64),
};
#define NFORMS (sizeof g_forms / sizeof g_forms[0])

/* Whether the form writes a vector (or MMX) register. */
static int writes_vreg(const form *f)
{
    return f->op == OP_LOAD || f->op == OP_SRC || f->op == OP_UNARY || f->op == OP_STRM ||
           f->op == OP_MLOAD;
}

/* The element-masked memory forms: only some bytes are accessed. */
static int masked_mem(const form *f)
{
    return f->op == OP_MASKMOV || f->op == OP_MLOAD || f->op == OP_MSTORE;
}

/* A writing form: the memory operand is written. */
static int mem_written(const form *f)
{
    return f->op == OP_STORE || f->op == OP_MASKMOV || f->op == OP_MSTORE;
}

/* VMASKMOVPS/PD, VPMASKMOVD/Q: the element size. */
static int mask_es(const form *f, int w)
{
    if (f->opc == 0x2C || f->opc == 0x2E)
        return 4;
    if (f->opc == 0x2D || f->opc == 0x2F)
        return 8;
    return w ? 8 : 4;
}

/* Whether the instruction needs bits 255:128 (extended-state component 2):
 * a VEX form that operates on 256 bits, or that writes a register (the
 * write zeroes bits 255:128). A scalar form (L ignored) with L = 1 is not a
 * 256-bit operation. */
static int needs_xstate(const form *f, int l)
{
    if (!f->vex)
        return 0;
    return writes_vreg(f) || (l == 1 && f->l != L_IG);
}

/* ------------------------------------------------------------------ */
/* Memory layout                                                        */
/* ------------------------------------------------------------------ */

/* One mapping: the code page, the state page, a spare page, the pair of
 * data pages the operand lives in, a spare page. */
enum { PG_CODE = 0, PG_STATE = 1, PG_D0 = 3, PG_D1 = 4, PG_COUNT = 6 };

static uint8_t *g_region;
static uint64_t g_base;
static int g_low_region; /* below 2 GiB: [disp32] addressing reaches it */

static uint64_t region_addr(int pg, uint64_t off)
{
    return g_base + (uint64_t)pg * PAGE + off;
}

/* Guest-physical pages of the fake VMM: the data pages are MMIO, neither
 * identity-mapped nor contiguous. */
#define GPA_CODE 0x00100000ull
#define GPA_D0 0xFEB07000ull
#define GPA_D1 0x0C345000ull

/* ------------------------------------------------------------------ */
/* Native runner                                                        */
/* ------------------------------------------------------------------ */

typedef struct vstate {
    uint8_t ymm[16][32];
    uint64_t mm[8];
    uint64_t gpr[16]; /* gpr[4] (RSP) is not loaded: the stub's own stack */
    uint64_t rflags;
    uint32_t mxcsr;
    uint32_t pad;
} vstate;

typedef struct state_block {
    vstate in;
    vstate out;
    uint64_t host_rsp; /* also RSP while the instruction runs */
    uint32_t host_mxcsr;
} state_block;

#define SB_OFF(field) ((int32_t)offsetof(state_block, field))
#define VS_YMM(which, n) (SB_OFF(which) + (int32_t)offsetof(vstate, ymm) + 32 * (n))
#define VS_MM(which, n) (SB_OFF(which) + (int32_t)offsetof(vstate, mm) + 8 * (n))
#define VS_GPR(which, n) (SB_OFF(which) + (int32_t)offsetof(vstate, gpr) + 8 * (n))
#define VS_RFLAGS(which) (SB_OFF(which) + (int32_t)offsetof(vstate, rflags))
#define VS_MXCSR(which) (SB_OFF(which) + (int32_t)offsetof(vstate, mxcsr))

static state_block *g_sb;
static uint64_t g_insn_addr; /* where the instruction under test goes */
static size_t g_insn_off;    /* its offset in the code page */
static size_t g_epi_off;     /* offset of the epilogue */



/* vmovdqu ymmN, [rax + disp32] / vmovdqu [rax + disp32], ymmN (movdqu xmmN
 * without AVX). */
static void vec_rax(bytebuf *b, int load, int n, int32_t disp)
{
    if (g_feat & FT_AVX) {
        put8(b, 0xC5);
        put8(b, n < 8 ? 0xFE : 0x7E); /* R~, vvvv = 1111, L = 1, pp = F3 */
    } else {
        put8(b, 0xF3);
        if (n >= 8)
            put8(b, 0x44);
        put8(b, 0x0F);
    }
    put8(b, load ? 0x6F : 0x7F);
    put8(b, 0x80 | ((unsigned)(n & 7) << 3));
    put32(b, (uint32_t)disp);
}

/* movq mmN, [rax + disp32] / movq [rax + disp32], mmN. */
static void mm_rax(bytebuf *b, int load, int n, int32_t disp)
{
    put8(b, 0x0F);
    put8(b, load ? 0x6F : 0x7F);
    put8(b, 0x80 | ((unsigned)(n & 7) << 3));
    put32(b, (uint32_t)disp);
}

/* ldmxcsr / stmxcsr [rax + disp32]. */
static void mxcsr_rax(bytebuf *b, int load, int32_t disp)
{
    put8(b, 0x0F);
    put8(b, 0xAE);
    put8(b, load ? 0x90 : 0x98); /* /2 ldmxcsr, /3 stmxcsr */
    put32(b, (uint32_t)disp);
}

static void code_writable(int on)
{
    if (mprotect(g_region, PAGE, on ? PROT_READ | PROT_WRITE : PROT_READ | PROT_EXEC) != 0) {
        perror("mprotect code page");
        exit(2);
    }
}

/* The prologue at offset 0, the epilogue at g_epi_off; the instruction goes
 * in between at g_insn_off, followed by a jmp to the epilogue. */
static void build_stub(void)
{
    code_writable(1);
    memset(g_region, 0xCC, PAGE);
    bytebuf b = {g_region, 0};
    static const uint8_t saves[] = {0x53, 0x55, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56, 0x41, 0x57};
    for (size_t i = 0; i < sizeof saves; i++)
        put8(&b, saves[i]);
    put8(&b, 0x48); /* mov rax, imm64 */
    put8(&b, 0xB8);
    put64(&b, (uint64_t)(uintptr_t)g_sb);
    put_rax_rel(&b, 0, 4, SB_OFF(host_rsp));
    mxcsr_rax(&b, 0, SB_OFF(host_mxcsr));
    mxcsr_rax(&b, 1, VS_MXCSR(in));
    for (int n = 0; n < 16; n++)
        vec_rax(&b, 1, n, VS_YMM(in, n));
    for (int n = 0; n < 8; n++)
        mm_rax(&b, 1, n, VS_MM(in, n));
    put8(&b, 0xFF); /* push qword [rax + rflags] */
    put8(&b, 0xB0);
    put32(&b, (uint32_t)VS_RFLAGS(in));
    put8(&b, 0x9D); /* popfq */
    for (int r = 1; r < 16; r++)
        if (r != 4)
            put_rax_rel(&b, 1, r, VS_GPR(in, r));
    put_rax_rel(&b, 1, 0, VS_GPR(in, 0));
    g_insn_off = b.n;
    g_insn_addr = g_base + g_insn_off;

    g_epi_off = (g_insn_off + 32 + 15) & ~(size_t)15;
    b.n = g_epi_off;
    put8(&b, 0x48); /* mov [abs64], rax */
    put8(&b, 0xA3);
    put64(&b, (uint64_t)(uintptr_t)&g_sb->out.gpr[0]);
    put8(&b, 0x48); /* mov rax, imm64 */
    put8(&b, 0xB8);
    put64(&b, (uint64_t)(uintptr_t)g_sb);
    for (int r = 1; r < 16; r++)
        put_rax_rel(&b, 0, r, VS_GPR(out, r));
    put8(&b, 0x9C); /* pushfq */
    put8(&b, 0x59); /* pop rcx */
    put_rax_rel(&b, 0, 1, VS_RFLAGS(out));
    for (int n = 0; n < 16; n++)
        vec_rax(&b, 0, n, VS_YMM(out, n));
    for (int n = 0; n < 8; n++)
        mm_rax(&b, 0, n, VS_MM(out, n));
    put8(&b, 0x0F); /* emms */
    put8(&b, 0x77);
    mxcsr_rax(&b, 0, VS_MXCSR(out));
    mxcsr_rax(&b, 1, SB_OFF(host_mxcsr));
    if (g_feat & FT_AVX) {
        put8(&b, 0xC5); /* vzeroupper */
        put8(&b, 0xF8);
        put8(&b, 0x77);
    }
    put_rax_rel(&b, 1, 4, SB_OFF(host_rsp)); /* mov rsp, [rax + host_rsp] */
    put8(&b, 0xFC);                      /* cld */
    static const uint8_t restores[] = {0x41, 0x5F, 0x41, 0x5E, 0x41, 0x5D,
                                       0x41, 0x5C, 0x5D, 0x5B, 0xC3};
    for (size_t i = 0; i < sizeof restores; i++)
        put8(&b, restores[i]);
    code_writable(0);
}

/* Writes the instruction and the jmp to the epilogue; the 16 bytes from the
 * instruction's address (what an exit carries) go to bytes16. */
static void place_insn(const uint8_t *insn, int len, uint8_t bytes16[16])
{
    code_writable(1);
    bytebuf b = {g_region + g_insn_off, 0};
    for (int i = 0; i < len; i++)
        put8(&b, insn[i]);
    put8(&b, 0xE9);
    put32(&b, (uint32_t)(g_epi_off - (g_insn_off + b.n + 4)));
    code_writable(0);
    memcpy(bytes16, g_region + g_insn_off, 16);
}

/* Runs the placed instruction from g_sb->in; returns 0 or the signal. */
static int native_run(void)
{
    void (*fn)(void);
    void *entry = g_region;
    memcpy(&fn, &entry, sizeof fn);
    g_sig = 0;
    memset(&g_sb->out, 0, sizeof g_sb->out);
    if (sigsetjmp(g_jb, 1) == 0) {
        fn();
        return 0;
    }
    return g_sig;
}

static void setup_native(void)
{
    size_t len = (size_t)PG_COUNT * PAGE;
    void *hint = (void *)(uintptr_t)0x40000000u;
    void *p = mmap(hint, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    g_region = p;
    g_base = (uint64_t)(uintptr_t)p;
    g_low_region = g_base + len < 0x7FFF0000ull;
    g_sb = (state_block *)(void *)(g_region + PG_STATE * PAGE);

    static uint8_t altstack[1 << 16];
    stack_t ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_sp = altstack;
    ss.ss_size = sizeof altstack;
    if (sigaltstack(&ss, NULL) != 0) {
        perror("sigaltstack");
        exit(2);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGILL, &sa, NULL);
    sigaction(SIGFPE, &sa, NULL);
    for (size_t i = (size_t)PG_D0 * PAGE; i < (size_t)(PG_D1 + 1) * PAGE; i++)
        g_region[i] = (uint8_t)rnd();
    build_stub();
}

/* ------------------------------------------------------------------ */
/* Cases                                                                */
/* ------------------------------------------------------------------ */

typedef struct memop {
    int base;  /* -1 none, 0..15 */
    int index; /* -1 none, 0..15 (never 4) */
    int scale; /* log2 */
    int32_t disp;
    int dispsz; /* 0, 1, 4 */
    int riprel;
} memop;

typedef struct scase {
    uint8_t insn[16];
    int len;
    uint8_t bytes16[16]; /* the instruction and what follows it */
    vstate in;
    uint64_t ea;       /* first byte of the operand (RDI for the masked stores) */
    uint64_t exit_gva; /* first byte accessed */
    WHV_MEMORY_ACCESS_TYPE access;
    int w, l;            /* the W and L bits encoded */
    int reg, vvvv, rm;   /* ModRM.reg, VEX.vvvv (-1: unused), ModRM.rm register (-1) */
    int imm;             /* the imm8 (R_IMM8 forms), else -1 */
    uint8_t sel[32];     /* masked stores: byte i is written */
    int nsel;            /* how many */
    int expect_gp;       /* misaligned operand of an aligned form */
    char text[200];
} scase;

static const char *const g_gprname[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp",
                                          "rsi", "rdi", "r8",  "r9",  "r10", "r11",
                                          "r12", "r13", "r14", "r15"};

/* Edge patterns for vector contents. */
static void fill_fp32(uint8_t *p, size_t n)
{
    static const uint32_t sp[] = {0x00000000, 0x80000000, 0x3F800000, 0xBF800000, 0x7FC00000,
                                  0x7F800001, 0xFFC00000, 0x7FFFFFFF, 0x7F800000, 0xFF800000,
                                  0x00000001, 0x807FFFFF, 0x7F7FFFFF, 0xFFFFFFFF,
                                  /* min normal, 1 + ulp, halves, 2^23, 2^31, -2^31, 2^63,
                                   * half-precision max, overflow and denormal min */
                                  0x00800000, 0x3F800001, 0x3F000000, 0x3FC00000, 0x40200000,
                                  0x4B000000, 0x4F000000, 0xCF000000, 0x5F000000, 0x477FE000,
                                  0x47800000, 0x33800000, 0x0DA24260, 0x7F000000};
    for (size_t i = 0; i + 4 <= n; i += 4) {
        uint32_t v = chance(1, 4) ? (uint32_t)rnd() : sp[rndn(sizeof sp / sizeof sp[0])];
        memcpy(p + i, &v, 4);
    }
}

static void fill_fp64(uint8_t *p, size_t n)
{
    static const uint64_t sp[] = {0x0000000000000000ull, 0x8000000000000000ull,
                                  0x3FF0000000000000ull, 0xBFF0000000000000ull,
                                  0x7FF8000000000000ull, 0x7FF0000000000001ull,
                                  0xFFF8000000000000ull, 0x7FFFFFFFFFFFFFFFull,
                                  0x7FF0000000000000ull, 0xFFF0000000000000ull,
                                  0x0000000000000001ull, 0x800FFFFFFFFFFFFFull,
                                  0x7FEFFFFFFFFFFFFFull, 0xFFFFFFFFFFFFFFFFull,
                                  /* min normal, halves, 2^31, -2^31, 2^63, 2^52, single
                                   * min normal and denormal min, single max and above */
                                  0x0010000000000000ull, 0x3FE0000000000000ull,
                                  0x3FF8000000000000ull, 0x4004000000000000ull,
                                  0x41E0000000000000ull, 0xC1E0000000000000ull,
                                  0x43E0000000000000ull, 0x4330000000000000ull,
                                  0x3810000000000000ull, 0x36A0000000000000ull,
                                  0x47EFFFFFE0000000ull, 0x47F0000000000000ull,
                                  0x3FF0000000000001ull, 0x7FE0000000000000ull};
    for (size_t i = 0; i + 8 <= n; i += 8) {
        uint64_t v = chance(1, 4) ? rnd() : sp[rndn(sizeof sp / sizeof sp[0])];
        memcpy(p + i, &v, 8);
    }
}

/* Integer edges for the arithmetic forms: elements of one random size (1,
 * 2, 4 or 8 bytes), each zero, one, all ones, the signed maximum or minimum
 * or their neighbours (0x7F/0x80 bytes, 0x7FFF/0x8000 words, ...), the
 * saturation bounds of a pack to half the width (0x007F, 0x0080, 0xFF80,
 * 0xFF7F, 0x00FF, 0x0100 in a word), a small signed number, or random. */
static void fill_int(uint8_t *p, size_t n)
{
    unsigned es = 1u << rndn(4);
    unsigned bits = 8 * es, h = bits / 2;
    for (size_t i = 0; i + es <= n; i += es) {
        uint64_t v;
        switch (rndn(16)) {
        case 0:
            v = 0;
            break;
        case 1:
            v = 1;
            break;
        case 2:
            v = ~0ull;
            break;
        case 3:
            v = (1ull << (bits - 1)) - 1;
            break;
        case 4:
            v = 1ull << (bits - 1);
            break;
        case 5:
            v = (1ull << (bits - 1)) - 2;
            break;
        case 6:
            v = (1ull << (bits - 1)) + 1;
            break;
        case 7:
            v = (1ull << (h - 1)) - 1;
            break;
        case 8:
            v = 1ull << (h - 1);
            break;
        case 9:
            v = 0 - (1ull << (h - 1));
            break;
        case 10:
            v = 0 - (1ull << (h - 1)) - 1;
            break;
        case 11:
            v = (1ull << h) - 1;
            break;
        case 12:
            v = 1ull << h;
            break;
        case 13:
            v = rndn(17) - 8;
            break;
        default:
            v = rnd();
            break;
        }
        for (unsigned k = 0; k < es; k++)
            p[i + k] = (uint8_t)(v >> (8 * k));
    }
}

static void fill_pattern(uint8_t *p, size_t n, unsigned rflags)
{
    static const uint8_t few[] = {0x00, 0x01, 0x7F, 0x80, 0xFF};
    if ((rflags & R_HFP) && (rflags & (R_FP32 | R_FP64)) && !chance(1, 4)) {
        if (rflags & R_FP32)
            fill_fp32(p, n);
        else
            fill_fp64(p, n);
        return;
    }
    unsigned k = (unsigned)rndn((rflags & (R_FP32 | R_FP64)) ? 11 : (rflags & R_INT) ? 13 : 8);
    if ((rflags & R_INT) && k >= 8) {
        fill_int(p, n);
        return;
    }
    switch (k) {
    case 0:
        memset(p, 0, n);
        break;
    case 1:
        memset(p, 0xFF, n);
        break;
    case 2:
        memset(p, 0x80, n);
        break;
    case 3:
        for (size_t i = 0; i < n; i++)
            p[i] = few[rndn(sizeof few)];
        break;
    case 4: /* a repeated random byte with a few holes */
    {
        uint8_t v = (uint8_t)rnd();
        for (size_t i = 0; i < n; i++)
            p[i] = chance(1, 8) ? (uint8_t)rnd() : v;
        break;
    }
    case 8:
    case 9:
    case 10:
        if (rflags & R_FP32)
            fill_fp32(p, n);
        else
            fill_fp64(p, n);
        break;
    default:
        for (size_t i = 0; i < n; i++)
            p[i] = (uint8_t)rnd();
        break;
    }
}

/* dst := a copy of src with some bytes changed (equal lanes and unequal
 * lanes for the compares), its complement, or a superset of its bits. */
static void relate(uint8_t *dst, const uint8_t *src, size_t n)
{
    switch (rndn(4)) {
    case 0:
        for (size_t i = 0; i < n; i++)
            dst[i] = (uint8_t)~src[i];
        break;
    case 1:
        for (size_t i = 0; i < n; i++)
            dst[i] = src[i] | (uint8_t)(chance(1, 2) ? rnd() : 0);
        break;
    default:
        memcpy(dst, src, n);
        for (int k = (int)rndn(4); k > 0; k--)
            dst[rndn(n)] ^= (uint8_t)(1u << rndn(8));
        break;
    }
}

/* Chooses the operand's offset in the data-page pair. */
static uint64_t pick_ea(const form *f)
{
    unsigned size = (unsigned)f->size;
    unsigned al = f->align ? (unsigned)f->align : size;
    uint64_t off;
    unsigned k = (unsigned)rndn(10);
    if (k < (f->align ? 2u : 3u) && size > 1) /* straddling the page boundary */
        off = PAGE - 1 - rndn(size - 1);
    else if (k < (f->align ? 8u : 6u)) /* aligned */
        off = (64 + rndn(2 * PAGE - 192)) & ~(uint64_t)(al - 1);
    else /* anywhere */
        off = 64 + rndn(2 * PAGE - 128 - size);
    return region_addr(PG_D0, off);
}

/* Picks an addressing form for ea: the base (RBX half the time), an index,
 * a displacement, RIP-relative or [disp32]. Sets the registers in tc. */
static void plan_mem(scase *tc, memop *m, uint64_t ea)
{
    memset(m, 0, sizeof *m);
    m->base = m->index = -1;
    unsigned form_kind = (unsigned)rndn(12);
    if (form_kind == 10) {
        m->riprel = 1; /* the displacement is fixed once the length is known */
        return;
    }
    if (form_kind == 11 && g_low_region) {
        m->disp = (int32_t)ea; /* [disp32], SIB without base or index */
        return;
    }
    do
        m->base = chance(1, 2) ? 3 : (int)rndn(16);
    while (m->base == 4);
    m->dispsz = form_kind < 3 ? 0 : form_kind < 6 ? 1 : 4;
    if ((m->base & 7) == 5 && m->dispsz == 0)
        m->dispsz = 1; /* RBP/R13 need a displacement */
    if (m->dispsz == 1)
        m->disp = (int8_t)rnd();
    else if (m->dispsz == 4)
        m->disp = chance(1, 2) ? (int32_t)(int16_t)rnd() : (int32_t)(rnd() & 0x7FFFFFFF) - 0x40000000;
    if (chance(1, 4)) {
        do
            m->index = (int)rndn(16);
        while (m->index == 4 || m->index == m->base);
        m->scale = (int)rndn(4);
        uint64_t iv = chance(1, 2) ? rnd() : rndn(4096) - 2048;
        tc->in.gpr[m->index] = iv;
        tc->in.gpr[m->base] = ea - (iv << m->scale) - (uint64_t)(int64_t)m->disp;
    } else {
        tc->in.gpr[m->base] = ea - (uint64_t)(int64_t)m->disp;
    }
}

static const int g_pp_code[256] = {[0x66] = 1, [0xF3] = 2, [0xF2] = 3};

/* Encodes the case's instruction at g_insn_addr into tc->insn. */
static void encode(const form *f, scase *tc, const memop *m, int seg, int rex40, int vex3)
{
    bytebuf b = {tc->insn, 0};
    int rm_reg = f->op == OP_MASKMOV ? tc->rm : -1;
    unsigned R = (unsigned)(tc->reg >> 3) & 1;
    unsigned X = m->index >= 8 ? 1u : 0u;
    unsigned B = rm_reg >= 0 ? (unsigned)(rm_reg >> 3) & 1 : m->base >= 8 ? 1u : 0u;
    if (seg)
        put8(&b, (unsigned)seg);
    if (!f->vex) {
        if (f->pp)
            put8(&b, (unsigned)f->pp);
        unsigned rex = ((unsigned)tc->w << 3) | (R << 2) | (X << 1) | B;
        if (rex || rex40)
            put8(&b, 0x40 | rex);
        put8(&b, 0x0F);
        if (f->map == 2)
            put8(&b, 0x38);
        else if (f->map == 3)
            put8(&b, 0x3A);
    } else {
        unsigned vvvv = tc->vvvv < 0 ? 0u : (unsigned)tc->vvvv;
        unsigned pp = (unsigned)g_pp_code[f->pp & 0xFF];
        unsigned tail = ((~vvvv & 15u) << 3) | ((unsigned)tc->l << 2) | pp;
        if (!vex3 && f->map == 1 && tc->w == 0 && !X && !B) {
            put8(&b, 0xC5);
            put8(&b, ((R ^ 1u) << 7) | tail);
        } else {
            put8(&b, 0xC4);
            put8(&b, ((R ^ 1u) << 7) | ((X ^ 1u) << 6) | ((B ^ 1u) << 5) | (unsigned)f->map);
            put8(&b, ((unsigned)tc->w << 7) | tail);
        }
    }
    put8(&b, (unsigned)f->opc);
    unsigned reg = (unsigned)(tc->reg & 7) << 3;
    size_t disp_at = 0;
    if (rm_reg >= 0) {
        put8(&b, 0xC0 | reg | (unsigned)(rm_reg & 7));
    } else if (m->riprel) {
        put8(&b, 0x05 | reg);
        disp_at = b.n;
        put32(&b, 0);
    } else if (m->base < 0) {
        put8(&b, 0x04 | reg);
        put8(&b, 0x25); /* no index, no base: [disp32] */
        put32(&b, (uint32_t)m->disp);
    } else {
        unsigned mod = m->dispsz == 0 ? 0u : m->dispsz == 1 ? 1u : 2u;
        if (m->index >= 0 || (m->base & 7) == 4) {
            unsigned idx = m->index < 0 ? 4u : (unsigned)(m->index & 7);
            put8(&b, (mod << 6) | reg | 4u);
            put8(&b, ((unsigned)m->scale << 6) | (idx << 3) | (unsigned)(m->base & 7));
        } else {
            put8(&b, (mod << 6) | reg | (unsigned)(m->base & 7));
        }
        if (m->dispsz == 1)
            put8(&b, (unsigned)m->disp & 0xFF);
        else if (m->dispsz == 4)
            put32(&b, (uint32_t)m->disp);
    }
    if (tc->imm >= 0)
        put8(&b, (unsigned)tc->imm); /* before the RIP-relative fix-up: RIP is past it */
    if (m->riprel && rm_reg < 0) {
        uint64_t next = g_insn_addr + b.n;
        uint32_t d = (uint32_t)(int32_t)(int64_t)(tc->ea - next);
        for (int i = 0; i < 4; i++)
            tc->insn[disp_at + (size_t)i] = (uint8_t)(d >> (8 * i));
    }
    tc->len = (int)b.n;
}

static const char *vreg_prefix(const form *f, int l)
{
    if (f->flags & R_MMX)
        return "mm";
    return l && f->l != L_IG ? "ymm" : "xmm";
}

static void mem_text(char *out, size_t n, const memop *m)
{
    if (m->riprel) {
        snprintf(out, n, "[rip+disp32]");
        return;
    }
    if (m->base < 0) {
        snprintf(out, n, "[0x%x]", (unsigned)m->disp);
        return;
    }
    char idx[32] = "";
    if (m->index >= 0)
        snprintf(idx, sizeof idx, "+%s*%d", g_gprname[m->index], 1 << m->scale);
    if (m->dispsz)
        snprintf(out, n, "[%s%s%+d]", g_gprname[m->base], idx, m->disp);
    else
        snprintf(out, n, "[%s%s]", g_gprname[m->base], idx);
}

/* One random case of form f. */
static void gen_case(const form *f, scase *tc)
{
    memset(tc, 0, sizeof *tc);
    for (int r = 0; r < 16; r++)
        tc->in.gpr[r] = chance(1, 4) ? rndn(256) : rnd();
    tc->in.rflags = 0x202 | (rnd() & F_ARITH);
    tc->in.mxcsr = chance(1, 2) ? 0x1F80u : (uint32_t)(rnd() & 0xFFFF);
    if (f->flags & R_HFP) {
        /* Each rounding mode, FTZ and DAZ on or off, flags already set or
         * not, all exceptions masked; one case in six with some unmasked. */
        uint32_t m = 0x1F80u | (uint32_t)rndn(4) << 13 | (chance(1, 3) ? 0x8000u : 0) |
                     (chance(1, 3) ? 0x40u : 0) | (chance(1, 2) ? (uint32_t)(rnd() & 0x3F) : 0);
        if (chance(1, 6))
            m &= ~(uint32_t)(rnd() & 0x1F80);
        tc->in.mxcsr = m;
    }
    for (int n = 0; n < 16; n++)
        fill_pattern(tc->in.ymm[n], 32, f->flags);
    for (int n = 0; n < 8; n++)
        fill_pattern((uint8_t *)&tc->in.mm[n], 8, f->flags);

    /* Operands. */
    tc->w = f->w == W_IG ? (f->vex ? (int)rndn(2) : chance(1, 8)) : f->w;
    tc->l = f->l == L_IG ? (int)rndn(2) : f->l;
    if (f->flags & R_MMX)
        tc->reg = (int)rndn(8) | (chance(1, 4) ? 8 : 0); /* REX.R is ignored for MMX */
    else
        tc->reg = (int)rndn(16);
    if (f->op == OP_TOGPR)
        while (tc->reg == 4) /* never RSP */
            tc->reg = (int)rndn(16);
    tc->vvvv = (f->flags & R_VVVV) ? (int)rndn(16) : -1;
    tc->rm = -1;
    tc->imm = (f->flags & R_IMM8) ? (int)(rnd() & 0xFF) : -1;
    if (f->flags & R_IMMALL) {
        static unsigned seq;
        tc->imm = (int)(seq++ & 0xFF);
    }

    if (f->flags & R_STR) {
        /* Explicit lengths: small, negative, beyond the element count, the
         * 32-bit and 64-bit extremes, or random. */
        static const uint64_t lens[] = {0x80000000ull, 0x7FFFFFFFull, 0xFFFFFFFF80000000ull,
                                        0x8000000000000000ull, 0x100000000ull,
                                        0xFFFFFFFF00000005ull, 0x00000001FFFFFFF0ull};
        for (int k = 0; k < 2; k++) {
            uint64_t v;
            unsigned c = (unsigned)rndn(8);
            if (c < 5)
                v = (uint64_t)((int64_t)rndn(41) - 20);
            else if (c < 6)
                v = (uint64_t)(int64_t)(int32_t)((int32_t)rndn(41) - 20);
            else if (c < 7)
                v = lens[rndn(sizeof lens / sizeof lens[0])];
            else
                v = rnd();
            tc->in.gpr[k ? 2 : 0] = v;
        }
    }

    memop m;
    memset(&m, 0, sizeof m);
    m.base = m.index = -1;
    tc->ea = pick_ea(f);
    uint8_t *opnd = (uint8_t *)(uintptr_t)tc->ea;
    if (f->op == OP_MASKMOV) {
        if (f->flags & R_MMX)
            tc->rm = (int)rndn(8) | (chance(1, 4) ? 8 : 0);
        else
            tc->rm = (int)rndn(16);
        tc->in.gpr[7] = tc->ea; /* DS:[RDI] */
        uint8_t *mask = (f->flags & R_MMX) ? (uint8_t *)&tc->in.mm[tc->rm & 7]
                                           : tc->in.ymm[tc->rm];
        unsigned k = (unsigned)rndn(8);
        for (int i = 0; i < f->size; i++) {
            int on = k == 0 ? 1 : k == 1 ? (i & 1) : k == 2 ? (i == (int)rndn((uint64_t)f->size)) : chance(1, 2);
            if (k == 7 && i == 0)
                on = 0;
            mask[i] = (uint8_t)((on ? 0x80 : 0) | (rnd() & 0x7F));
        }
        if (chance(1, 32)) /* nothing selected */
            for (int i = 0; i < f->size; i++)
                mask[i] &= 0x7F;
    } else {
        plan_mem(tc, &m, tc->ea);
    }

    /* Memory operand contents and related register contents. */
    uint8_t tmp[32];
    fill_pattern(tmp, (size_t)f->size, f->flags);
    if (f->flags & R_STR) {
        /* Strings over a small alphabet with NULs (bytes or words), and
         * range bounds; the register is source 1. */
        static const uint8_t alpha[] = {0, 'a', 'b', 'c', 'z', 0x80, 0xFF, 0x7F, 1};
        unsigned na = 2 + (unsigned)rndn(sizeof alpha - 1);
        uint8_t *r1 = tc->in.ymm[tc->reg];
        for (int i = 0; i < 16; i++) {
            tmp[i] = chance(1, 6) ? (uint8_t)rnd() : alpha[rndn(na)];
            r1[i] = chance(1, 6) ? (uint8_t)rnd() : alpha[rndn(na)];
            if ((i & 1) && chance(1, 2)) { /* word strings: the same high byte */
                tmp[i] = 0;
                r1[i] = 0;
            }
        }
        if (chance(1, 3)) /* source 1 a substring of source 2 */
            memcpy(r1, tmp + rndn(8), 8);
    }
    memcpy(opnd, tmp, (size_t)f->size);
    if ((f->op == OP_SRC || f->op == OP_TEST) && !(f->flags & R_STR) && chance(2, 5)) {
        int r = f->op == OP_SRC && f->vex ? tc->vvvv : tc->reg;
        relate(tc->in.ymm[r], tmp, (size_t)f->size);
    }
    if (f->op == OP_LOAD && (f->flags & R_VVVV) && chance(1, 4))
        tc->vvvv = tc->reg; /* source and destination the same register */

    int seg = 0;
    if (chance(1, 10)) {
        static const uint8_t segs[] = {0x26, 0x2E, 0x36, 0x3E};
        seg = segs[rndn(sizeof segs)];
    }
    encode(f, tc, &m, seg, !f->vex && chance(1, 8), f->vex && chance(1, 4));

    /* VMASKMOV: the mask's sign bits (all, none, alternate, random). */
    if (f->op == OP_MLOAD || f->op == OP_MSTORE) {
        int es = mask_es(f, tc->w), k = (int)rndn(6);
        uint8_t *mask = tc->in.ymm[tc->vvvv];
        for (int i = 0; i < f->size / es; i++) {
            int on = k == 0 ? 1 : k == 1 ? 0 : k == 2 ? (i & 1) : chance(1, 2);
            uint8_t *top = mask + i * es + es - 1;
            *top = (uint8_t)((on ? 0x80 : 0) | (*top & 0x7F));
            for (int b = 0; b < es; b++)
                tc->sel[i * es + b] = (uint8_t)on;
            tc->nsel += on * es;
        }
    }

    /* What the CPU accesses. */
    tc->access = mem_written(f) ? WHvMemoryAccessWrite : WHvMemoryAccessRead;
    tc->exit_gva = tc->ea;
    if (f->op == OP_MLOAD || f->op == OP_MSTORE)
        for (int i = 0; i < f->size; i++)
            if (tc->sel[i]) {
                tc->exit_gva = tc->ea + (uint64_t)i;
                break;
            }
    if (f->op == OP_MASKMOV) {
        const uint8_t *mask = (f->flags & R_MMX) ? (const uint8_t *)&tc->in.mm[tc->rm & 7]
                                                 : tc->in.ymm[tc->rm];
        int first = -1;
        for (int i = 0; i < f->size; i++) {
            tc->sel[i] = (mask[i] & 0x80) ? 1 : 0;
            tc->nsel += tc->sel[i];
            if (tc->sel[i] && first < 0)
                first = i;
        }
        /* The exit names RDI (what this AMD host reports when the store
         * faults, whatever the mask) or the first selected byte. */
        if (first > 0 && chance(1, 2))
            tc->exit_gva = tc->ea + (uint64_t)first;
    }
    tc->expect_gp = f->align && (tc->ea & (uint64_t)(f->align - 1)) != 0;

    char mt[64];
    mem_text(mt, sizeof mt, &m);
    const char *vp = vreg_prefix(f, tc->l);
    char vv[32] = "";
    if (tc->vvvv >= 0)
        snprintf(vv, sizeof vv, " vvvv=%s%d", vp, tc->vvvv);
    char rmt[32] = "";
    if (tc->rm >= 0)
        snprintf(rmt, sizeof rmt, " rm=%s%d", vp, (f->flags & R_MMX) ? tc->rm & 7 : tc->rm);
    else if (tc->imm >= 0)
        snprintf(rmt, sizeof rmt, " imm=0x%02x", (unsigned)tc->imm);
    snprintf(tc->text, sizeof tc->text, "%s: reg=%s%d%s%s mem=%s ea=page0+0x%x%s W%d L%d%s",
             f->name, vp, (f->flags & R_MMX) ? tc->reg & 7 : tc->reg, vv, rmt,
             f->op == OP_MASKMOV ? "[rdi]" : mt, (unsigned)(tc->ea - region_addr(PG_D0, 0)),
             (tc->ea & ~(uint64_t)(PAGE - 1)) != ((tc->ea + (uint64_t)f->size - 1) & ~(uint64_t)(PAGE - 1))
                 ? " (straddles)"
                 : "",
             tc->w, tc->l, tc->expect_gp ? " misaligned" : "");
    place_insn(tc->insn, tc->len, tc->bytes16);
}

/* ------------------------------------------------------------------ */
/* Reports                                                              */
/* ------------------------------------------------------------------ */

typedef struct report {
    char buf[8192];
    size_t n;
} report;

static void rp(report *r, const char *fmt, ...)
{
    if (r->n >= sizeof r->buf - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(r->buf + r->n, sizeof r->buf - r->n, fmt, ap);
    va_end(ap);
    if (k > 0)
        r->n += (size_t)k;
    if (r->n > sizeof r->buf - 1)
        r->n = sizeof r->buf - 1;
}

static void rp_hex(report *r, const uint8_t *p, size_t n)
{
    /* Most significant byte first, as registers are written. */
    for (size_t i = n; i-- > 0;) {
        rp(r, "%02x", p[i]);
        if (i && i % 8 == 0)
            rp(r, "_");
    }
}

static void print_case(const form *f, const scase *tc, report *r)
{
    rp(r, "  bytes:");
    for (int i = 0; i < tc->len; i++)
        rp(r, " %02x", tc->insn[i]);
    rp(r, "   (%s)\n", tc->text);
    int regs[3] = {tc->reg, tc->vvvv, tc->rm};
    for (int k = 0; k < 3; k++) {
        if (regs[k] < 0 || (k == 1 && regs[1] == regs[0]))
            continue;
        if (f->flags & R_MMX) {
            rp(r, "  in mm%d = ", regs[k] & 7);
            rp_hex(r, (const uint8_t *)&tc->in.mm[regs[k] & 7], 8);
        } else {
            rp(r, "  in ymm%d = ", regs[k]);
            rp_hex(r, tc->in.ymm[regs[k]], 32);
        }
        rp(r, "\n");
    }
    rp(r, "  in mem = ");
    rp_hex(r, (const uint8_t *)(uintptr_t)tc->ea, (size_t)f->size);
    rp(r, " (before)\n  in rflags=%06" PRIx64 " mxcsr=%04x rip=%" PRIx64 " exit gva=%" PRIx64
          " (%s)\n",
       tc->in.rflags, tc->in.mxcsr, g_insn_addr, tc->exit_gva,
       tc->access == WHvMemoryAccessWrite ? "write" : "read");
}

/* ------------------------------------------------------------------ */
/* The emulated side                                                    */
/* ------------------------------------------------------------------ */

static fake_vmm *g_vm;
static WHV_EMULATOR_HANDLE g_emu;     /* with the xstate callback */
static WHV_EMULATOR_HANDLE g_emu_nox; /* without */
static int g_verbose, g_selftest, g_native_only;
static unsigned g_maxprint = 10;
static unsigned long g_total_pass, g_total_fail;
static uint8_t g_snapshot[2 * PAGE]; /* the data pages before the native run */
static uint8_t g_xs_other[64 + 512 + 1024]; /* components 5, 6, 7 (must stay) */
static unsigned g_case_cpl;
static int g_case_insn_count, g_case_gva_valid;

typedef struct fstats {
    unsigned run, failed, gp, refused, skipped;
    unsigned nox_run, nox_failed, inj_run, inj_failed, ctl_run, ctl_failed;
    unsigned long mem_calls, xs_reads, xs_writes;
    int xs_inject_done;
} fstats;

static fstats g_stats[NFORMS];

/* Control-register variants (see the header comment). */
enum { CTL_NONE, CTL_TS, CTL_EM, CTL_NOFXSR, CTL_NOXSAVE, CTL_XCR0_3, CTL_NOMP, CTL_COUNT };
static const char *const g_ctl_name[CTL_COUNT] = {"",           "CR0.TS",        "CR0.EM",
                                                  "no OSFXSR",  "no OSXSAVE",    "XCR0=3",
                                                  "CR0.MP clear"};

/* The fault a control variant raises for form f (vector), or -1 (none), or
 * -2 (not tested). */
static int ctl_expect(const form *f, int ctl)
{
    int mmx = (f->flags & R_MMX) != 0;
    switch (ctl) {
    case CTL_TS:
        return 7;
    case CTL_EM:
        return f->vex ? -1 : 6;
    case CTL_NOFXSR:
        return mmx ? -2 : f->vex ? -1 : 6;
    case CTL_NOXSAVE:
    case CTL_XCR0_3:
        return f->vex ? 6 : -1;
    case CTL_NOMP:
        return -1;
    default:
        return -1;
    }
}

static uint64_t d_gpa(uint64_t gva)
{
    uint64_t pg = (gva - region_addr(PG_D0, 0)) / PAGE;
    return (pg == 0 ? GPA_D0 : GPA_D1) + (gva & (PAGE - 1));
}

/* The guest-linear address of a data-page GPA, or 0. */
static uint64_t d_gva(uint64_t gpa)
{
    if ((gpa & ~(uint64_t)(PAGE - 1)) == GPA_D0)
        return region_addr(PG_D0, gpa & (PAGE - 1));
    if ((gpa & ~(uint64_t)(PAGE - 1)) == GPA_D1)
        return region_addr(PG_D1, gpa & (PAGE - 1));
    return 0;
}

/* Loads the case's state into the fake VMM and builds the exit. */
static void prepare_vm(const scase *tc, int ctl, WHV_VP_EXIT_CONTEXT *vp,
                       WHV_MEMORY_ACCESS_CONTEXT *mc)
{
    unsigned cpl = chance(1, 2) ? 3 : 0;
    g_case_cpl = cpl;
    fvmm_setup_long_mode(g_vm, cpl);
    for (int r = 0; r < 16; r++)
        fvmm_set_reg64(g_vm, (WHV_REGISTER_NAME)r, r == 4 ? g_sb->host_rsp : tc->in.gpr[r]);
    fvmm_set_reg64(g_vm, WHvX64RegisterRip, g_insn_addr);
    fvmm_set_reg64(g_vm, WHvX64RegisterRflags, tc->in.rflags);
    fvmm_set_reg64(g_vm, WHvRegisterPendingInterruption, 0);
    fvmm_set_reg64(g_vm, WHvRegisterPendingEvent, 0);
    for (unsigned n = 0; n < 16; n++)
        fvmm_set_ymm(g_vm, n, tc->in.ymm[n]);
    WHV_REGISTER_VALUE v;
    for (unsigned n = 0; n < 8; n++) {
        memset(&v, 0, sizeof v);
        v.Reg128.Low64 = tc->in.mm[n];
        v.Reg128.High64 = 0xFFFF; /* bits 79:64 all ones: what an MMX load leaves */
        fvmm_reg_set(g_vm, (WHV_REGISTER_NAME)(WHvX64RegisterFpMmx0 + n), &v);
    }
    memset(&v, 0, sizeof v);
    v.FpControlStatus.FpControl = 0x37F;
    v.FpControlStatus.FpTag = 0xFF; /* all valid, TOS 0: after the prologue's MMX loads */
    fvmm_reg_set(g_vm, WHvX64RegisterFpControlStatus, &v);
    memset(&v, 0, sizeof v);
    v.XmmControlStatus.XmmStatusControl = tc->in.mxcsr;
    v.XmmControlStatus.XmmStatusControlMask = 0xFFFF;
    fvmm_reg_set(g_vm, WHvX64RegisterXmmControlStatus, &v);
    fvmm_xstate_set(g_vm, FVMM_XS_OPMASK, g_xs_other);
    fvmm_xstate_set(g_vm, FVMM_XS_ZMM_HI256, g_xs_other + 64);
    fvmm_xstate_set(g_vm, FVMM_XS_HI16_ZMM, g_xs_other + 64 + 512);

    uint64_t cr0 = fvmm_reg64(g_vm, WHvX64RegisterCr0);
    uint64_t cr4 = fvmm_reg64(g_vm, WHvX64RegisterCr4);
    uint64_t xcr0 = 7;
    switch (ctl) {
    case CTL_TS:
        cr0 |= CR0_TS;
        break;
    case CTL_EM:
        cr0 |= CR0_EM;
        break;
    case CTL_NOFXSR:
        cr4 &= ~(uint64_t)CR4_OSFXSR;
        break;
    case CTL_NOXSAVE:
        cr4 &= ~(uint64_t)CR4_OSXSAVE;
        break;
    case CTL_XCR0_3:
        xcr0 = 3;
        break;
    case CTL_NOMP:
        cr0 &= ~(uint64_t)CR0_MP;
        break;
    default:
        break;
    }
    fvmm_set_reg64(g_vm, WHvX64RegisterCr0, cr0);
    fvmm_set_reg64(g_vm, WHvX64RegisterCr4, cr4);
    fvmm_set_reg64(g_vm, WHvX64RegisterXCr0, xcr0);

    fvmm_gva_write(g_vm, region_addr(PG_D0, 0), g_snapshot, sizeof g_snapshot);
    fvmm_gva_write(g_vm, g_insn_addr, tc->bytes16, 16);
    fvmm_set_mmio_translates_unmapped(g_vm, chance(1, 4));

    fvmm_mmio_exit d;
    memset(&d, 0, sizeof d);
    unsigned k = (unsigned)rndn(8);
    d.insn = tc->bytes16;
    d.insn_count = k == 0 ? 0u : k < 3 ? (unsigned)tc->len : 16u;
    d.gpa = d_gpa(tc->exit_gva);
    d.gva = tc->exit_gva;
    d.gva_valid = !chance(1, 8);
    d.gpa_unmapped = 1;
    d.access = tc->access;
    fvmm_build_mmio_exit64(g_vm, vp, mc, &d);
    g_case_insn_count = (int)d.insn_count;
    g_case_gva_valid = d.gva_valid;
    fvmm_reset_log(g_vm);
}

/* The PRNG state before the clean run's prepare_vm, so that the reruns with
 * failures see the same exit (bytes given, GvaValid, CPL, translation). */
static uint64_t g_prep_rng[4];

static void prepare_vm_replay(const scase *tc, WHV_VP_EXIT_CONTEXT *vp,
                              WHV_MEMORY_ACCESS_CONTEXT *mc)
{
    uint64_t keep[4];
    memcpy(keep, g_rs, sizeof keep);
    memcpy(g_rs, g_prep_rng, sizeof keep);
    prepare_vm(tc, CTL_NONE, vp, mc);
    memcpy(g_rs, keep, sizeof keep);
}

/* The emulated machine state. */
static void vm_state(vstate *s)
{
    memset(s, 0, sizeof *s);
    for (int r = 0; r < 16; r++)
        s->gpr[r] = fvmm_reg64(g_vm, (WHV_REGISTER_NAME)r);
    s->rflags = fvmm_reg64(g_vm, WHvX64RegisterRflags);
    for (unsigned n = 0; n < 16; n++)
        fvmm_get_ymm(g_vm, n, s->ymm[n]);
    for (unsigned n = 0; n < 8; n++)
        s->mm[n] = fvmm_reg64(g_vm, (WHV_REGISTER_NAME)(WHvX64RegisterFpMmx0 + n));
    WHV_REGISTER_VALUE v;
    memset(&v, 0, sizeof v);
    fvmm_reg_get(g_vm, WHvX64RegisterXmmControlStatus, &v);
    s->mxcsr = v.XmmControlStatus.XmmStatusControl;
}

/* Compares the emulated state with exp (registers, RIP, the x87 state, the
 * other extended-state components, the data pages against mem). Returns 1
 * if anything differs. */
static int compare_state(const vstate *exp, uint64_t exp_rip, const uint8_t *mem, report *r)
{
    int bad = 0;
    vstate got;
    vm_state(&got);
    uint64_t rip = fvmm_reg64(g_vm, WHvX64RegisterRip);
    if (rip != exp_rip) {
        rp(r, "  rip: expected %" PRIx64 " got %" PRIx64 "\n", exp_rip, rip);
        bad = 1;
    }
    for (int i = 0; i < 16; i++) {
        uint64_t e = i == 4 ? g_sb->host_rsp : exp->gpr[i];
        if (got.gpr[i] != e) {
            rp(r, "  %s: expected %016" PRIx64 " got %016" PRIx64 "\n", g_gprname[i], e,
               got.gpr[i]);
            bad = 1;
        }
    }
    uint64_t mask = ~0x10000ull; /* RF */
    if ((got.rflags & mask) != (exp->rflags & mask)) {
        rp(r, "  rflags: expected %06" PRIx64 " got %06" PRIx64 "\n", exp->rflags, got.rflags);
        bad = 1;
    }
    if (got.mxcsr != exp->mxcsr) {
        rp(r, "  mxcsr: expected %04x got %04x\n", exp->mxcsr, got.mxcsr);
        bad = 1;
    }
    for (int n = 0; n < 16; n++)
        if (memcmp(got.ymm[n], exp->ymm[n], 32) != 0) {
            rp(r, "  ymm%d: expected ", n);
            rp_hex(r, exp->ymm[n], 32);
            rp(r, "\n         got      ");
            rp_hex(r, got.ymm[n], 32);
            rp(r, "%s\n", memcmp(got.ymm[n], exp->ymm[n], 16) == 0 ? " (bits 255:128 differ)" : "");
            bad = 1;
        }
    for (int n = 0; n < 8; n++) {
        WHV_REGISTER_VALUE v;
        memset(&v, 0, sizeof v);
        fvmm_reg_get(g_vm, (WHV_REGISTER_NAME)(WHvX64RegisterFpMmx0 + n), &v);
        if (got.mm[n] != exp->mm[n] || v.Reg128.High64 != 0xFFFF) {
            rp(r, "  mm%d: expected %016" PRIx64 " (bits 127:64 0xffff) got %016" PRIx64
                  " (bits 127:64 0x%" PRIx64 ")\n",
               n, exp->mm[n], got.mm[n], v.Reg128.High64);
            bad = 1;
        }
    }
    WHV_REGISTER_VALUE fcs;
    memset(&fcs, 0, sizeof fcs);
    fvmm_reg_get(g_vm, WHvX64RegisterFpControlStatus, &fcs);
    if (fcs.FpControlStatus.FpControl != 0x37F || fcs.FpControlStatus.FpStatus != 0 ||
        fcs.FpControlStatus.FpTag != 0xFF) {
        rp(r, "  x87 control/status changed: control %04x status %04x tag %02x\n",
           fcs.FpControlStatus.FpControl, fcs.FpControlStatus.FpStatus,
           fcs.FpControlStatus.FpTag);
        bad = 1;
    }
    uint8_t xs[1024];
    static const UINT32 comps[3] = {FVMM_XS_OPMASK, FVMM_XS_ZMM_HI256, FVMM_XS_HI16_ZMM};
    size_t off = 0;
    for (int k = 0; k < 3; k++) {
        UINT32 sz = fvmm_xstate_size(comps[k]);
        fvmm_xstate_get(g_vm, comps[k], xs);
        if (memcmp(xs, g_xs_other + off, sz) != 0) {
            rp(r, "  extended-state component %u changed\n", comps[k]);
            bad = 1;
        }
        off += sz;
    }
    static uint8_t emu_mem[2 * PAGE];
    fvmm_gva_read(g_vm, region_addr(PG_D0, 0), emu_mem, sizeof emu_mem);
    if (memcmp(emu_mem, mem, sizeof emu_mem) != 0) {
        int shown = 0;
        for (size_t i = 0; i < sizeof emu_mem && shown < 12; i++)
            if (emu_mem[i] != mem[i]) {
                rp(r, "  mem %" PRIx64 " (page0+0x%zx): expected %02x got %02x (before %02x)\n",
                   region_addr(PG_D0, i), i, mem[i], emu_mem[i], g_snapshot[i]);
                shown++;
            }
        bad = 1;
    }
    return bad;
}

/* The memory callbacks of the data pages must be the operand's bytes, once
 * each, ascending, in the fewest pieces of at most 8 bytes that do not cross
 * a page (a masked store: exactly the selected bytes, ascending); reads only
 * for loads, writes only for stores; none at all when faulting. */
static int check_pieces(const form *f, const scase *tc, int fault, report *r)
{
    uint64_t next = tc->ea;
    unsigned npieces = 0;
    int dir_want = mem_written(f) ? 1 : 0;
    int bad = 0;
    for (size_t i = 0; i < fvmm_call_count(g_vm); i++) {
        const fvmm_call *c = fvmm_call_at(g_vm, i);
        if (c->kind != FVMM_CB_MEMORY)
            continue;
        uint64_t gva = d_gva(c->u.mem.gpa);
        if (!gva)
            continue; /* an instruction fetch */
        if (fault) {
            rp(r, "  memory call #%zu (gpa %" PRIx64 ") although the instruction faults\n", i,
               (uint64_t)c->u.mem.gpa);
            return 1;
        }
        if (c->u.mem.direction != dir_want) {
            rp(r, "  memory call #%zu is a %s; the instruction only %s memory\n", i,
               c->u.mem.direction ? "write" : "read", dir_want ? "writes" : "reads");
            return 1;
        }
        if (masked_mem(f)) {
            if (gva < next) {
                rp(r, "  masked store piece #%zu at %" PRIx64 " is not ascending\n", i, gva);
                return 1;
            }
            for (unsigned b = 0; b < c->u.mem.size; b++) {
                uint64_t k = gva + b - tc->ea;
                if (k >= (uint64_t)f->size || !tc->sel[k]) {
                    rp(r, "  masked store writes byte %" PRIx64 " (operand byte %" PRId64
                          "), whose mask bit 7 is clear\n",
                       gva + b, (int64_t)k);
                    return 1;
                }
            }
            next = gva + c->u.mem.size;
            npieces += c->u.mem.size; /* bytes */
            continue;
        }
        if (gva != next) {
            rp(r, "  memory call #%zu at %" PRIx64 ", expected the piece at %" PRIx64 "\n", i,
               gva, next);
            return 1;
        }
        next += c->u.mem.size;
        npieces++;
    }
    if (fault)
        return 0;
    if (masked_mem(f)) {
        if (npieces != (unsigned)tc->nsel) {
            rp(r, "  masked store wrote %u bytes, %d are selected\n", npieces, tc->nsel);
            bad = 1;
        }
        return bad;
    }
    if (next != tc->ea + (uint64_t)f->size) {
        rp(r, "  memory pieces cover %" PRIu64 " of the operand's %d bytes\n", next - tc->ea,
           f->size);
        return 1;
    }
    uint64_t first_len = PAGE - (tc->ea & (PAGE - 1));
    if (first_len > (uint64_t)f->size)
        first_len = (uint64_t)f->size;
    uint64_t second_len = (uint64_t)f->size - first_len;
    unsigned want = (unsigned)((first_len + 7) / 8 + (second_len + 7) / 8);
    if (npieces != want) {
        rp(r, "  %u memory pieces for %d bytes (expected %u: 8-byte pieces split at the page)\n",
           npieces, f->size, want);
        bad = 1;
    }
    return bad;
}

/* Extended-state use: none for the legacy forms and for VEX forms that need
 * no more than XMM0-15; only component 2; no write unless the form writes
 * a vector register; no write when faulting. */
static int check_xstate_use(const form *f, const scase *tc, int fault, report *r)
{
    unsigned n = fvmm_count(g_vm, FVMM_CB_XSTATE);
    if (!n)
        return 0;
    if (!needs_xstate(f, tc->l)) {
        rp(r, "  %u extended-state calls for an instruction that needs none\n", n);
        return 1;
    }
    for (size_t i = 0; i < fvmm_call_count(g_vm); i++) {
        const fvmm_call *c = fvmm_call_at(g_vm, i);
        if (c->kind != FVMM_CB_XSTATE)
            continue;
        if (c->u.xstate.component != FVMM_XS_YMM_HI128) {
            rp(r, "  extended-state call #%zu names component %u (only 2 is used)\n", i,
               c->u.xstate.component);
            return 1;
        }
        if (c->u.xstate.write && (fault || !writes_vreg(f))) {
            rp(r, "  extended-state write (call #%zu) %s\n", i,
               fault ? "although the instruction faults" : "by a form that writes no register");
            return 1;
        }
    }
    return 0;
}

/* The emulation under test: the library, or the reference emulator (see
 * "A reference emulator" below). */
static HRESULT try_mmio(WHV_EMULATOR_HANDLE emu, const WHV_VP_EXIT_CONTEXT *vp,
                        const WHV_MEMORY_ACCESS_CONTEXT *mc, WHV_EMULATOR_STATUS *st);
static const char *last_failure(WHV_EMULATOR_HANDLE emu);
static const form *g_cur_form;
static const scase *g_cur_case;

static int status_is(const WHV_EMULATOR_STATUS *st, UINT32 v)
{
    return st->AsUINT32 == v;
}

static int g_quiet; /* the mutant runs: counts only */

static void print_failure(const form *f, const scase *tc, const char *what, const report *r)
{
    if (g_quiet)
        return;
    report h;
    h.n = 0;
    h.buf[0] = 0;
    print_case(f, tc, &h);
    printf("FAIL [%s]%s%s (insn bytes given: %d, GvaValid %d, CPL %u)\n%s%s", f->name,
           *what ? " " : "", what, g_case_insn_count, g_case_gva_valid, g_case_cpl, h.buf, r->buf);
    printf("  callbacks:\n");
    fvmm_dump_log(g_vm, stdout);
}

static void count(const form *f, fstats *s, int bad, const scase *tc, const char *what,
                  const report *r)
{
    if (bad) {
        s->failed++;
        g_total_fail++;
        if (g_maxprint == 0 || s->failed <= g_maxprint || g_verbose)
            print_failure(f, tc, what, r);
    } else {
        g_total_pass++;
        if (g_verbose) {
            report h;
            h.n = 0;
            h.buf[0] = 0;
            print_case(f, tc, &h);
            printf("ok [%s] %s\n%s", f->name, what, h.buf);
        }
    }
}

/* One emulation of the case (native results in g_sb->out, signal sig),
 * through handle emu, with control variant ctl. Returns 1 if it passed, 0
 * if it failed, -1 if the emulator refused the instruction. */
/* Whether the emulator must refuse the case (vfp_run): the CPU raised #XM,
 * or the form can underflow while the guest unmasks underflow. */
static int fp_refusal(const form *f, const scase *tc, int sig)
{
    if (!(f->flags & R_HFP))
        return 0;
    return sig == SIGFPE || (!sig && (f->flags & R_UF) && !(tc->in.mxcsr & 0x800u));
}

static int emulate_and_compare(const form *f, fstats *s, const scase *tc, int sig,
                               WHV_EMULATOR_HANDLE emu, int ctl, const char *what)
{
    report r;
    r.n = 0;
    r.buf[0] = 0;
    int bad = 0;
    WHV_VP_EXIT_CONTEXT vp;
    WHV_MEMORY_ACCESS_CONTEXT mc;
    if (emu == g_emu && ctl == CTL_NONE)
        memcpy(g_prep_rng, g_rs, sizeof g_prep_rng);
    prepare_vm(tc, ctl, &vp, &mc);
    WHV_EMULATOR_STATUS st;
    st.AsUINT32 = 0;
    HRESULT hr = try_mmio(emu, &vp, &mc, &st);
    if (hr != S_OK) {
        rp(&r, "  TryMmioEmulation returned 0x%08x\n", (unsigned)hr);
        bad = 1;
        goto out;
    }
    const char *why = fvmm_check_round_trip(g_vm, &vp, &mc, &st);
    if (why) {
        rp(&r, "  round trip: %s\n", why);
        bad = 1;
    }
    s->mem_calls += fvmm_count(g_vm, FVMM_CB_MEMORY);
    s->xs_reads += fvmm_xstate_calls(g_vm, FVMM_XS_YMM_HI128, 0);
    s->xs_writes += fvmm_xstate_calls(g_vm, FVMM_XS_YMM_HI128, 1);

    /* Without the callback, a form that needs bits 255:128 is refused
     * before it touches anything but its own instruction bytes (fetched
     * through translate with ValidateExecute and memory reads when the exit
     * carries none). */
    if (emu == g_emu_nox && needs_xstate(f, tc->l)) {
        if (!status_is(&st, 2)) {
            rp(&r, "  status 0x%x without the xstate callback (expected 0x2, refused)\n",
               st.AsUINT32);
            bad = 1;
        }
        unsigned data_calls = 0;
        int fetching = 1;
        for (size_t ci = 0; ci < fvmm_call_count(g_vm); ci++) {
            const fvmm_call *c = fvmm_call_at(g_vm, ci);
            if (c->kind == FVMM_CB_GET_REGS)
                fetching = 0;
            else if (c->kind == FVMM_CB_TRANSLATE &&
                     (c->u.translate.flags & WHvTranslateGvaFlagValidateExecute))
                continue;
            else if (c->kind == FVMM_CB_MEMORY && fetching && !c->u.mem.direction)
                continue;
            else
                data_calls++;
        }
        if (data_calls) {
            rp(&r, "  refused without the xstate callback, but after memory, translate or "
                   "set-registers calls\n");
            bad = 1;
        }
        bad |= compare_state(&tc->in, g_insn_addr, g_snapshot, &r);
        goto out;
    }
    /* An unmasked SIMD floating-point exception (#XM natively), or a form
     * that can underflow while MXCSR.UM is clear: refused, nothing changed. */
    if (fp_refusal(f, tc, sig)) {
        if (!status_is(&st, 2)) {
            rp(&r, "  status 0x%x for an unmasked floating-point exception (expected 0x2, "
                   "refused)\n",
               st.AsUINT32);
            bad = 1;
        }
        bad |= compare_state(&tc->in, g_insn_addr, g_snapshot, &r);
        goto out;
    }
    if (status_is(&st, 2) && emu == g_emu && ctl == CTL_NONE) {
        const char *lf = last_failure(emu);
        if (!g_quiet)
            printf("FAIL [%s] refused: status 0x2 (InternalEmulationFailure): %s\n", f->name,
                   lf ? lf : "?");
        if (g_verbose) {
            report h;
            h.n = 0;
            h.buf[0] = 0;
            print_case(f, tc, &h);
            printf("%s", h.buf);
        }
        s->refused = 1;
        s->failed++;
        g_total_fail++;
        return -1;
    }
    if (!st.EmulationSuccessful) {
        const char *lf = last_failure(emu);
        rp(&r, "  status 0x%x (not EmulationSuccessful): %s\n", st.AsUINT32, lf ? lf : "?");
        bad = 1;
        goto out;
    }

    /* The expected outcome: the native one, or the control variant's
     * fault. */
    int vec = -1;
    unsigned ec = 0;
    int has_ec = 0;
    int cv = ctl_expect(f, ctl);
    if (ctl != CTL_NONE && cv >= 0) {
        vec = cv;
    } else if (sig) {
        vec = 13;
        has_ec = 1;
        ec = 0;
    }
    WHV_REGISTER_VALUE pi;
    int injected = fvmm_set_call_find(g_vm, WHvRegisterPendingInterruption, &pi) &&
                   pi.PendingInterruption.InterruptionPending;
    if (vec >= 0) {
        if (!injected || pi.PendingInterruption.InterruptionType != WHvX64PendingException ||
            pi.PendingInterruption.InterruptionVector != (unsigned)vec ||
            pi.PendingInterruption.DeliverErrorCode != (unsigned)has_ec ||
            (has_ec && pi.PendingInterruption.ErrorCode != ec)) {
            rp(&r, "  expected exception %d%s, emulator %s (pending interruption 0x%016" PRIx64
                   ")\n",
               vec, has_ec ? " with error code 0" : "",
               injected ? "injected something else" : "injected nothing",
               injected ? pi.Reg64 : 0);
            bad = 1;
        }
        bad |= compare_state(&tc->in, g_insn_addr, g_snapshot, &r);
        bad |= check_pieces(f, tc, 1, &r);
    } else {
        if (injected) {
            rp(&r, "  emulator injected vector %u (type %u, error code %u) but the CPU did not "
                   "fault\n",
               pi.PendingInterruption.InterruptionVector, pi.PendingInterruption.InterruptionType,
               pi.PendingInterruption.ErrorCode);
            bad = 1;
        }
        bad |= compare_state(&g_sb->out, g_insn_addr + (uint64_t)tc->len,
                             g_region + PG_D0 * PAGE, &r);
        bad |= check_pieces(f, tc, 0, &r);
    }
    bad |= check_xstate_use(f, tc, vec >= 0, &r);

out:
    count(f, s, bad, tc, what, &r);
    return !bad;
}

/* What the clean run of a case did, for the reruns with failures. */
typedef struct clean_log {
    int read_nth, write_nth; /* extended-state calls: which one (1-based) read, wrote */
    unsigned nmem;           /* memory calls */
} clean_log;

static void log_summary(clean_log *cl)
{
    int k = 0;
    memset(cl, 0, sizeof *cl);
    cl->nmem = fvmm_count(g_vm, FVMM_CB_MEMORY);
    for (size_t i = 0; i < fvmm_call_count(g_vm); i++) {
        const fvmm_call *c = fvmm_call_at(g_vm, i);
        if (c->kind != FVMM_CB_XSTATE)
            continue;
        k++;
        if (!c->u.xstate.write && !cl->read_nth)
            cl->read_nth = k;
        if (c->u.xstate.write && !cl->write_nth)
            cl->write_nth = k;
    }
}

/* Reruns a passed case with the extended-state read, then the write, then
 * the set call failing (the clean run's log says which calls they were). */
static void xstate_inject(const form *f, fstats *s, const scase *tc, const clean_log *cl)
{
    int read_nth = cl->read_nth, write_nth = cl->write_nth;
    static const char *const what[3] = {"(xstate read failing)", "(xstate write failing)",
                                        "(set-registers call failing)"};
    for (int which = 0; which < 3; which++) {
        int nth = which == 0 ? read_nth : write_nth;
        if (!nth)
            continue;
        report r;
        r.n = 0;
        r.buf[0] = 0;
        int bad = 0;
        WHV_VP_EXIT_CONTEXT vp;
        WHV_MEMORY_ACCESS_CONTEXT mc;
        prepare_vm_replay(tc, &vp, &mc);
        if (which == 2)
            fvmm_fail_nth(g_vm, FVMM_CB_SET_REGS, 1, E_FAIL);
        else
            fvmm_fail_nth(g_vm, FVMM_CB_XSTATE, (unsigned)nth, E_FAIL);
        WHV_EMULATOR_STATUS st;
        st.AsUINT32 = 0;
        HRESULT hr = try_mmio(g_emu, &vp, &mc, &st);
        const char *why = hr == S_OK ? fvmm_check_round_trip(g_vm, &vp, &mc, &st) : NULL;
        UINT32 want = which ? 0x80u : 0x40u;
        if (hr != S_OK || st.AsUINT32 != want) {
            rp(&r, "  hr 0x%08x status 0x%x, expected status 0x%x\n", (unsigned)hr, st.AsUINT32,
               want);
            bad = 1;
        }
        if (why) {
            rp(&r, "  round trip: %s\n", why);
            bad = 1;
        }
        int set_before = 0, xwrite_before = 0;
        for (size_t i = 0; i < fvmm_call_count(g_vm); i++) {
            const fvmm_call *c = fvmm_call_at(g_vm, i);
            if (c->kind == FVMM_CB_SET_REGS)
                set_before = 1;
            if (c->kind == FVMM_CB_XSTATE && c->u.xstate.write && c->hr == S_OK)
                xwrite_before = 1;
        }
        if (which == 2) {
            /* The failed set call stored nothing; a component write made
             * before it (allowed) stays. */
            vstate exp = tc->in;
            if (xwrite_before)
                for (int n = 0; n < 16; n++)
                    memcpy(exp.ymm[n] + 16, g_sb->out.ymm[n] + 16, 16);
            bad |= compare_state(&exp, g_insn_addr, g_snapshot, &r);
        } else if (!which || !set_before) {
            /* Nothing committed: registers, extended state, memory. */
            bad |= compare_state(&tc->in, g_insn_addr, g_snapshot, &r);
        } else {
            /* The set call came first (allowed); the component stays. */
            uint8_t ys[256], want_ys[256];
            fvmm_xstate_get(g_vm, FVMM_XS_YMM_HI128, ys);
            for (int n = 0; n < 16; n++)
                memcpy(want_ys + 16 * n, tc->in.ymm[n] + 16, 16);
            if (memcmp(ys, want_ys, sizeof ys) != 0) {
                rp(&r, "  component 2 changed although its write failed\n");
                bad = 1;
            }
        }
        s->inj_run++;
        if (bad)
            s->inj_failed++;
        count(f, s, bad, tc, what[which], &r);
    }
}

/* Reruns a passed case with one memory piece failing. */
static void memory_inject(const form *f, fstats *s, const scase *tc, const clean_log *cl)
{
    unsigned nmem = cl->nmem;
    if (!nmem)
        return;
    unsigned nth = 1 + (unsigned)rndn(nmem);
    report r;
    r.n = 0;
    r.buf[0] = 0;
    int bad = 0;
    WHV_VP_EXIT_CONTEXT vp;
    WHV_MEMORY_ACCESS_CONTEXT mc;
    prepare_vm_replay(tc, &vp, &mc);
    fvmm_fail_nth(g_vm, FVMM_CB_MEMORY, nth, E_FAIL);
    WHV_EMULATOR_STATUS st;
    st.AsUINT32 = 0;
    HRESULT hr = try_mmio(g_emu, &vp, &mc, &st);
    const char *why = hr == S_OK ? fvmm_check_round_trip(g_vm, &vp, &mc, &st) : NULL;
    if (hr != S_OK || st.AsUINT32 != 0x8u) {
        rp(&r, "  memory call #%u failing: hr 0x%08x status 0x%x, expected status 0x8\n", nth,
           (unsigned)hr, st.AsUINT32);
        bad = 1;
    }
    if (why) {
        rp(&r, "  round trip: %s\n", why);
        bad = 1;
    }
    /* Registers and extended state unchanged; pieces written before the
     * failure stay (device side effects), so memory is not compared. */
    vstate got;
    vm_state(&got);
    for (int i = 0; i < 16; i++)
        if (i != 4 && got.gpr[i] != tc->in.gpr[i])
            bad = 1;
    for (int n = 0; n < 16; n++)
        if (memcmp(got.ymm[n], tc->in.ymm[n], 32) != 0)
            bad = 1;
    for (int n = 0; n < 8; n++)
        if (got.mm[n] != tc->in.mm[n])
            bad = 1;
    if (fvmm_reg64(g_vm, WHvX64RegisterRip) != g_insn_addr || got.rflags != tc->in.rflags)
        bad = 1;
    if (bad && !r.n)
        rp(&r, "  registers changed although memory call #%u failed\n", nth);
    s->inj_run++;
    if (bad)
        s->inj_failed++;
    count(f, s, bad, tc, "(memory piece failing)", &r);
}

/* ------------------------------------------------------------------ */
/* Native self-checks                                                   */
/* ------------------------------------------------------------------ */

/* Runs the case natively twice (identical results) and, when it does not
 * fault, once with the data pages inaccessible: the fault must be a page
 * fault at the exit's GVA. Returns 1 if the native side looks wrong. */
static int native_selfcheck(const form *f, const scase *tc, int sig)
{
    static state_block first;
    static uint8_t mem1[2 * PAGE];
    int bad = 0;
    memcpy(&first, g_sb, sizeof first);
    memcpy(mem1, g_region + PG_D0 * PAGE, sizeof mem1);
    /* Again, from the same memory. */
    memcpy(g_region + PG_D0 * PAGE, g_snapshot, sizeof g_snapshot);
    g_sb->in = tc->in;
    int sig2 = native_run();
    first.out.gpr[4] = g_sb->out.gpr[4]; /* RSP: the stub's stack, deeper here */
    if (sig2 != sig || (!sig && (memcmp(&first.out, &g_sb->out, sizeof first.out) != 0 ||
                                 memcmp(mem1, g_region + PG_D0 * PAGE, sizeof mem1) != 0))) {
        printf("SELFTEST [%s] %s: two native runs differ (signals %d, %d)\n", f->name, tc->text,
               sig, sig2);
        bad = 1;
    }
    if (!sig && !(masked_mem(f) && tc->nsel == 0)) {
        memcpy(g_region + PG_D0 * PAGE, g_snapshot, sizeof g_snapshot);
        mprotect(g_region + PG_D0 * PAGE, 2 * PAGE, PROT_NONE);
        g_sb->in = tc->in;
        int s0 = native_run();
        mprotect(g_region + PG_D0 * PAGE, 2 * PAGE, PROT_READ | PROT_WRITE);
        /* A masked store may report RDI or its first selected byte. */
        int addr_ok = g_sig_addr == tc->exit_gva || (f->op == OP_MASKMOV && g_sig_addr == tc->ea);
        if (s0 != SIGSEGV || g_sig_trapno != 14 || !addr_ok) {
            printf("SELFTEST [%s] %s: with the data pages inaccessible: signal %d trap %u addr "
                   "%" PRIx64 ", expected a page fault at %" PRIx64 "\n",
                   f->name, tc->text, s0, (unsigned)g_sig_trapno, (uint64_t)g_sig_addr,
                   tc->exit_gva);
            bad = 1;
        }
    }
    /* Leave the first run's results in place. */
    memcpy(g_sb, &first, sizeof first);
    memcpy(g_region + PG_D0 * PAGE, mem1, sizeof mem1);
    return bad;
}

/* ------------------------------------------------------------------ */
/* A model of every form, checked against the CPU                       */
/* ------------------------------------------------------------------ */

/* Elements of a 128-bit lane, little-endian, es bytes each. */
static uint64_t el_u(const uint8_t *p, int i, int es)
{
    uint64_t v = 0;
    for (int k = es - 1; k >= 0; k--)
        v = (v << 8) | p[i * es + k];
    return v;
}

static int64_t el_s(const uint8_t *p, int i, int es)
{
    uint64_t v = el_u(p, i, es);
    if (es < 8 && (v >> (8 * es - 1)) & 1)
        v |= ~0ull << (8 * es);
    return (int64_t)v;
}

static void el_put(uint8_t *p, int i, int es, uint64_t v)
{
    for (int k = 0; k < es; k++)
        p[i * es + k] = (uint8_t)(v >> (8 * k));
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Integer operations of the arithmetic forms, on one 128-bit lane. */
enum {
    K_ADD, K_SUB, K_ADDS, K_ADDUS, K_SUBS, K_SUBUS, K_MINS, K_MAXS, K_MINU, K_MAXU, K_AVG,
    K_MULLO, K_MULHS, K_MULHU, K_MULUDQ, K_MADDWD, K_SADBW, K_UNPCKL, K_UNPCKH, K_PACKSS,
    K_PACKUS, K_PSHUFB, K_ABS, K_CMPGT, K_PSHUFD, K_PSHUFHW, K_PSHUFLW
};

typedef struct int_op {
    int map, opc, pp; /* pp: the form's prefix, where the opcode has several */
    int kind, es;     /* K_*, element size (of the sources) */
} int_op;

static const int_op g_int_ops[] = {
    {1, 0xFC, 0, K_ADD, 1},      {1, 0xFD, 0, K_ADD, 2},      {1, 0xFE, 0, K_ADD, 4},
    {1, 0xD4, 0, K_ADD, 8},      {1, 0xF9, 0, K_SUB, 2},      {1, 0xFA, 0, K_SUB, 4},
    {1, 0xFB, 0, K_SUB, 8},      {1, 0xEC, 0, K_ADDS, 1},     {1, 0xED, 0, K_ADDS, 2},
    {1, 0xDC, 0, K_ADDUS, 1},    {1, 0xDD, 0, K_ADDUS, 2},    {1, 0xE8, 0, K_SUBS, 1},
    {1, 0xE9, 0, K_SUBS, 2},     {1, 0xD8, 0, K_SUBUS, 1},    {1, 0xD9, 0, K_SUBUS, 2},
    {1, 0xEA, 0, K_MINS, 2},     {1, 0xEE, 0, K_MAXS, 2},     {1, 0xE0, 0, K_AVG, 1},
    {1, 0xE3, 0, K_AVG, 2},      {1, 0xD5, 0, K_MULLO, 2},    {1, 0xE5, 0, K_MULHS, 2},
    {1, 0xE4, 0, K_MULHU, 2},    {1, 0xF4, 0, K_MULUDQ, 8},   {1, 0xF5, 0, K_MADDWD, 2},
    {1, 0xF6, 0, K_SADBW, 1},    {1, 0x60, 0, K_UNPCKL, 1},   {1, 0x61, 0, K_UNPCKL, 2},
    {1, 0x62, 0, K_UNPCKL, 4},   {1, 0x6C, 0, K_UNPCKL, 8},   {1, 0x68, 0, K_UNPCKH, 1},
    {1, 0x69, 0, K_UNPCKH, 2},   {1, 0x6A, 0, K_UNPCKH, 4},   {1, 0x6D, 0, K_UNPCKH, 8},
    {1, 0x63, 0, K_PACKSS, 2},   {1, 0x6B, 0, K_PACKSS, 4},   {1, 0x67, 0, K_PACKUS, 2},
    {2, 0x2B, 0, K_PACKUS, 4},   {1, 0x70, 0x66, K_PSHUFD, 4}, {1, 0x70, 0xF3, K_PSHUFHW, 2},
    {1, 0x70, 0xF2, K_PSHUFLW, 2}, {2, 0x00, 0, K_PSHUFB, 1}, {2, 0x1C, 0, K_ABS, 1},
    {2, 0x1D, 0, K_ABS, 2},      {2, 0x1E, 0, K_ABS, 4},      {2, 0x37, 0, K_CMPGT, 8},
    {2, 0x38, 0, K_MINS, 1},     {2, 0x39, 0, K_MINS, 4},     {2, 0x3A, 0, K_MINU, 2},
    {2, 0x3B, 0, K_MINU, 4},     {2, 0x3C, 0, K_MAXS, 1},     {2, 0x3D, 0, K_MAXS, 4},
    {2, 0x3E, 0, K_MAXU, 2},     {2, 0x3F, 0, K_MAXU, 4},     {2, 0x40, 0, K_MULLO, 4},
};

static const int_op *find_int_op(const form *f)
{
    for (size_t i = 0; i < sizeof g_int_ops / sizeof g_int_ops[0]; i++) {
        const int_op *o = &g_int_ops[i];
        if (o->map == f->map && o->opc == f->opc && (!o->pp || o->pp == f->pp))
            return o;
    }
    return NULL;
}

/* One 128-bit lane of an integer form: r := a op b (a: the first source,
 * b: the memory operand; a unary form uses b only). The 256-bit forms do
 * this per lane, the unpacks, packs, shuffles, PSADBW and PMADDWD too. */
static void int_lane(const int_op *o, const uint8_t *a, const uint8_t *b, int imm, uint8_t *r)
{
    int es = o->es, n = 16 / es, bits = 8 * es;
    int64_t smax = bits < 64 ? (int64_t)((1ull << (bits - 1)) - 1) : INT64_MAX;
    int64_t smin = -smax - 1;
    int64_t umax = bits < 64 ? (int64_t)((1ull << bits) - 1) : -1;
    uint8_t t[16];
    for (int i = 0; i < n; i++) {
        uint64_t ua = el_u(a, i, es), ub = el_u(b, i, es);
        int64_t sa = el_s(a, i, es), sb = el_s(b, i, es);
        uint64_t v = 0;
        switch (o->kind) {
        case K_ADD:
            v = ua + ub;
            break;
        case K_SUB:
            v = ua - ub;
            break;
        case K_ADDS:
            v = (uint64_t)clamp64(sa + sb, smin, smax);
            break;
        case K_SUBS:
            v = (uint64_t)clamp64(sa - sb, smin, smax);
            break;
        case K_ADDUS:
            v = (uint64_t)clamp64((int64_t)(ua + ub), 0, umax);
            break;
        case K_SUBUS:
            v = (uint64_t)clamp64((int64_t)ua - (int64_t)ub, 0, umax);
            break;
        case K_MINS:
            v = (uint64_t)(sa < sb ? sa : sb);
            break;
        case K_MAXS:
            v = (uint64_t)(sa > sb ? sa : sb);
            break;
        case K_MINU:
            v = ua < ub ? ua : ub;
            break;
        case K_MAXU:
            v = ua > ub ? ua : ub;
            break;
        case K_AVG:
            v = (ua + ub + 1) >> 1;
            break;
        case K_MULLO:
            v = (uint64_t)(sa * sb);
            break;
        case K_MULHS:
            v = (uint64_t)(sa * sb) >> 16; /* bits 31:16 of the signed product */
            break;
        case K_MULHU:
            v = (ua * ub) >> 16;
            break;
        case K_MULUDQ:
            v = (ua & 0xFFFFFFFFu) * (ub & 0xFFFFFFFFu);
            break;
        case K_CMPGT:
            v = sa > sb ? ~0ull : 0;
            break;
        case K_ABS:
            v = (uint64_t)(sb < 0 ? -sb : sb);
            break;
        default:
            continue;
        }
        el_put(r, i, es, v);
    }
    switch (o->kind) {
    case K_MADDWD:
        for (int i = 0; i < 4; i++)
            el_put(r, i, 4,
                   (uint64_t)(el_s(a, 2 * i, 2) * el_s(b, 2 * i, 2) +
                              el_s(a, 2 * i + 1, 2) * el_s(b, 2 * i + 1, 2)));
        break;
    case K_SADBW:
        for (int q = 0; q < 2; q++) {
            uint64_t sum = 0;
            for (int i = 8 * q; i < 8 * q + 8; i++)
                sum += (uint64_t)(a[i] > b[i] ? a[i] - b[i] : b[i] - a[i]);
            el_put(r, q, 8, sum);
        }
        break;
    case K_UNPCKL:
    case K_UNPCKH: {
        int base = o->kind == K_UNPCKH ? n / 2 : 0;
        for (int i = 0; i < n / 2; i++) {
            el_put(t, 2 * i, es, el_u(a, base + i, es));
            el_put(t, 2 * i + 1, es, el_u(b, base + i, es));
        }
        memcpy(r, t, 16);
        break;
    }
    case K_PACKSS:
    case K_PACKUS: {
        int h = es / 2;
        int64_t lo = o->kind == K_PACKSS ? -(1ll << (8 * h - 1)) : 0;
        int64_t hi = o->kind == K_PACKSS ? (1ll << (8 * h - 1)) - 1 : (1ll << (8 * h)) - 1;
        for (int i = 0; i < n; i++) {
            el_put(t, i, h, (uint64_t)clamp64(el_s(a, i, es), lo, hi));
            el_put(t, n + i, h, (uint64_t)clamp64(el_s(b, i, es), lo, hi));
        }
        memcpy(r, t, 16);
        break;
    }
    case K_PSHUFB:
        for (int i = 0; i < 16; i++)
            t[i] = (b[i] & 0x80) ? 0 : a[b[i] & 15];
        memcpy(r, t, 16);
        break;
    case K_PSHUFD:
        for (int i = 0; i < 4; i++)
            el_put(r, i, 4, el_u(b, (imm >> (2 * i)) & 3, 4));
        break;
    case K_PSHUFHW:
    case K_PSHUFLW: {
        int sh = o->kind == K_PSHUFHW ? 4 : 0; /* the shuffled quadword's first word */
        memcpy(r, b, 16);
        for (int i = 0; i < 4; i++)
            el_put(r, sh + i, 2, el_u(b, sh + ((imm >> (2 * i)) & 3), 2));
        break;
    }
    default:
        break;
    }
}

/* Shuffle, blend, insert/extract, extend and broadcast forms, on the whole
 * register (per 128-bit lane where the SDM says so). */
enum {
    V_AND, V_ANDN, V_OR, V_XOR, V_UNPCKL, V_UNPCKH, V_SHUFPS, V_SHUFPD, V_LDUP, V_HDUP,
    V_DDUP, V_ALIGNR, V_BLEND, V_INSERT, V_EXTRACT, V_ZX, V_SX, V_BCAST, V_INS128, V_EXT128
};

typedef struct vec_op {
    int map, opc, pp; /* the form's mandatory prefix, exactly */
    int kind, es;     /* V_*, element size (0: 8 with W, else 4) */
    int es2;          /* V_ZX/V_SX: the destination element size */
} vec_op;

static const vec_op g_vec_ops[] = {
    {1, 0x54, 0, V_AND, 1, 0},    {1, 0x54, 0x66, V_AND, 1, 0},  {1, 0x55, 0, V_ANDN, 1, 0},
    {1, 0x55, 0x66, V_ANDN, 1, 0}, {1, 0x56, 0, V_OR, 1, 0},     {1, 0x56, 0x66, V_OR, 1, 0},
    {1, 0x57, 0, V_XOR, 1, 0},    {1, 0x57, 0x66, V_XOR, 1, 0},  {1, 0x14, 0, V_UNPCKL, 4, 0},
    {1, 0x14, 0x66, V_UNPCKL, 8, 0}, {1, 0x15, 0, V_UNPCKH, 4, 0}, {1, 0x15, 0x66, V_UNPCKH, 8, 0},
    {1, 0xC6, 0, V_SHUFPS, 4, 0}, {1, 0xC6, 0x66, V_SHUFPD, 8, 0}, {1, 0x12, 0xF3, V_LDUP, 4, 0},
    {1, 0x16, 0xF3, V_HDUP, 4, 0}, {1, 0x12, 0xF2, V_DDUP, 8, 0}, {3, 0x0F, 0x66, V_ALIGNR, 1, 0},
    {3, 0x0E, 0x66, V_BLEND, 2, 0}, {3, 0x0C, 0x66, V_BLEND, 4, 0}, {3, 0x0D, 0x66, V_BLEND, 8, 0},
    {3, 0x20, 0x66, V_INSERT, 1, 0}, {1, 0xC4, 0x66, V_INSERT, 2, 0}, {3, 0x22, 0x66, V_INSERT, 0, 0},
    {3, 0x14, 0x66, V_EXTRACT, 1, 0}, {3, 0x15, 0x66, V_EXTRACT, 2, 0},
    {3, 0x16, 0x66, V_EXTRACT, 0, 0}, {2, 0x20, 0x66, V_SX, 1, 2}, {2, 0x21, 0x66, V_SX, 1, 4},
    {2, 0x22, 0x66, V_SX, 1, 8},  {2, 0x23, 0x66, V_SX, 2, 4},   {2, 0x24, 0x66, V_SX, 2, 8},
    {2, 0x25, 0x66, V_SX, 4, 8},  {2, 0x30, 0x66, V_ZX, 1, 2},   {2, 0x31, 0x66, V_ZX, 1, 4},
    {2, 0x32, 0x66, V_ZX, 1, 8},  {2, 0x33, 0x66, V_ZX, 2, 4},   {2, 0x34, 0x66, V_ZX, 2, 8},
    {2, 0x35, 0x66, V_ZX, 4, 8},  {2, 0x78, 0x66, V_BCAST, 1, 0}, {2, 0x79, 0x66, V_BCAST, 2, 0},
    {2, 0x58, 0x66, V_BCAST, 4, 0}, {2, 0x59, 0x66, V_BCAST, 8, 0}, {2, 0x18, 0x66, V_BCAST, 4, 0},
    {2, 0x19, 0x66, V_BCAST, 8, 0}, {2, 0x5A, 0x66, V_BCAST, 16, 0},
    {3, 0x18, 0x66, V_INS128, 16, 0}, {3, 0x38, 0x66, V_INS128, 16, 0},
    {3, 0x19, 0x66, V_EXT128, 16, 0}, {3, 0x39, 0x66, V_EXT128, 16, 0},
};

static const vec_op *find_vec_op(const form *f)
{
    for (size_t i = 0; i < sizeof g_vec_ops / sizeof g_vec_ops[0]; i++) {
        const vec_op *o = &g_vec_ops[i];
        if (o->map == f->map && o->opc == f->opc && o->pp == f->pp)
            return o;
    }
    return NULL;
}

/* A vec_op form writing a register: v (holding the destination's input)
 * := the result over vlen bytes; a: the first source (the destination for
 * legacy forms, vvvv for VEX), b: the memory operand (its size bytes). */
static void vec_lanes(const vec_op *o, const scase *tc, const uint8_t *a, const uint8_t *b,
                      int vlen, uint8_t *v)
{
    int imm = tc->imm, es = o->es ? o->es : (tc->w ? 8 : 4);
    int n = vlen / es;
    uint8_t t[32];
    switch (o->kind) {
    case V_AND:
    case V_ANDN:
    case V_OR:
    case V_XOR:
        for (int i = 0; i < vlen; i++)
            v[i] = o->kind == V_AND    ? a[i] & b[i]
                   : o->kind == V_ANDN ? (uint8_t)(~a[i] & b[i])
                   : o->kind == V_OR   ? a[i] | b[i]
                                       : a[i] ^ b[i];
        return;
    case V_LDUP:
    case V_HDUP:
        for (int i = 0; i < n; i++)
            el_put(v, i, 4, el_u(b, (i & ~1) + (o->kind == V_HDUP), 4));
        return;
    case V_DDUP:
        for (int i = 0; i < n; i++)
            el_put(v, i, 8, el_u(b, i & ~1, 8));
        return;
    case V_BLEND:
        for (int i = 0; i < n; i++)
            el_put(v, i, es, el_u((imm >> (i % 8)) & 1 ? b : a, i, es));
        return;
    case V_INSERT:
        memcpy(v, a, 16);
        el_put(v, imm & (16 / es - 1), es, el_u(b, 0, es));
        return;
    case V_ZX:
    case V_SX:
        for (int i = 0; i < vlen / o->es2; i++)
            el_put(v, i, o->es2, o->kind == V_SX ? (uint64_t)el_s(b, i, es) : el_u(b, i, es));
        return;
    case V_BCAST:
        for (int i = 0; i < n; i++)
            memcpy(v + i * es, b, (size_t)es);
        return;
    case V_INS128:
        memcpy(v, a, 32);
        memcpy(v + 16 * (imm & 1), b, 16);
        return;
    default:
        break;
    }
    for (int lane = 0; lane < vlen / 16; lane++) { /* per 128-bit lane */
        const uint8_t *la = a + 16 * lane, *lb = b + 16 * lane;
        uint8_t *r = v + 16 * lane;
        switch (o->kind) {
        case V_UNPCKL:
        case V_UNPCKH: {
            int base = o->kind == V_UNPCKH ? 8 / es : 0;
            for (int i = 0; i < 8 / es; i++) {
                el_put(t, 2 * i, es, el_u(la, base + i, es));
                el_put(t, 2 * i + 1, es, el_u(lb, base + i, es));
            }
            break;
        }
        case V_SHUFPS:
            for (int i = 0; i < 4; i++)
                el_put(t, i, 4, el_u(i < 2 ? la : lb, (imm >> (2 * i)) & 3, 4));
            break;
        case V_SHUFPD:
            el_put(t, 0, 8, el_u(la, (imm >> (2 * lane)) & 1, 8));
            el_put(t, 1, 8, el_u(lb, (imm >> (2 * lane + 1)) & 1, 8));
            break;
        case V_ALIGNR:
            for (int i = 0; i < 16; i++) {
                int k = i + imm;
                t[i] = k < 16 ? lb[k] : k < 32 ? la[k - 16] : 0;
            }
            break;
        default:
            memcpy(t, r, 16);
            break;
        }
        memcpy(r, t, 16);
    }
}

/* A vec_op store: the element (or lane) of src the imm8 picks. */
static void vec_store(const vec_op *o, const scase *tc, const uint8_t *src, uint8_t *opnd)
{
    int es = o->es ? o->es : (tc->w ? 8 : 4);
    memcpy(opnd, src + es * (tc->imm & (o->kind == V_EXT128 ? 1 : 16 / es - 1)), (size_t)es);
}

/* What the SDM says the form does, computed from the input state and the
 * memory before: the expected registers (exp) and data pages (mem). Used
 * only to check the native side (stub, encoder, register numbering) on
 * every case; the emulator is judged against the CPU. */
static void model(const form *f, const scase *tc, vstate *exp, uint8_t *mem)
{
    *exp = tc->in;
    exp->gpr[4] = 0;
    if (f->flags & (R_HFP | R_CPU))
        return; /* model_check takes the result from the CPU */
    uint8_t *opnd = mem + (tc->ea - region_addr(PG_D0, 0));
    int mmx = (f->flags & R_MMX) != 0;
    uint8_t *dst = mmx ? (uint8_t *)&exp->mm[tc->reg & 7] : exp->ymm[tc->reg & 15];
    const uint8_t *src = mmx ? (const uint8_t *)&tc->in.mm[tc->reg & 7] : tc->in.ymm[tc->reg & 15];
    int wide = f->vex && tc->l && f->l != L_IG; /* a 256-bit operation */
    int vlen = wide ? 32 : mmx ? 8 : 16;
    int scalar = f->pp == 0xF3 || f->pp == 0xF2;
    uint8_t v[32];

    const vec_op *vo = find_vec_op(f);
    switch (f->op) {
    case OP_STORE:
        if (vo) {
            vec_store(vo, tc, src, opnd);
            return;
        }
        memcpy(opnd, src + ((f->opc == 0x17) ? 8 : 0), (size_t)f->size);
        return;
    case OP_MASKMOV: {
        const uint8_t *mask = mmx ? (const uint8_t *)&tc->in.mm[tc->rm & 7] : tc->in.ymm[tc->rm];
        for (int i = 0; i < f->size; i++)
            if (mask[i] & 0x80)
                opnd[i] = src[i];
        return;
    }
    case OP_LOAD:
        if (mmx) {
            memset(dst, 0, 8);
            memcpy(dst, opnd, (size_t)f->size);
            return;
        }
        memcpy(v, src, 32);
        if (f->opc == 0x12 || f->opc == 0x16) { /* low / high quadword */
            if (f->vex)
                memcpy(v, tc->in.ymm[tc->vvvv], 16);
            memcpy(v + (f->opc == 0x16 ? 8 : 0), opnd, 8);
        } else if (f->opc == 0x6E || f->opc == 0x7E || (f->opc == 0x10 && scalar)) {
            memset(v, 0, 16); /* MOVD/MOVQ/MOVSS/MOVSD zero the rest of 127:0 */
            memcpy(v, opnd, (size_t)f->size);
        } else {
            memcpy(v, opnd, (size_t)f->size);
        }
        if (f->vex && !wide)
            memset(v + 16, 0, 16);
        memcpy(dst, v, 32);
        return;
    case OP_UNARY:
    case OP_SRC: {
        const uint8_t *a = f->vex && tc->vvvv >= 0 ? tc->in.ymm[tc->vvvv] : src;
        const uint8_t *b = opnd;
        memcpy(v, src, 32);
        if (vo) {
            vec_lanes(vo, tc, a, b, vlen, v);
            if (f->vex && !wide)
                memset(v + 16, 0, 16);
            memcpy(dst, v, 32);
            return;
        }
        const int_op *io = find_int_op(f);
        if (io) {
            for (int lane = 0; lane < vlen / 16; lane++)
                int_lane(io, a + 16 * lane, b + 16 * lane, tc->imm, v + 16 * lane);
            if (f->vex && !wide)
                memset(v + 16, 0, 16);
            memcpy(dst, v, 32);
            return;
        }
        int el = 1;
        for (int i = 0; i < vlen; i++) {
            switch (f->map == 2 ? 0x100 | f->opc : f->opc) {
            case 0xDA:
                v[i] = a[i] < b[i] ? a[i] : b[i];
                break;
            case 0xDE:
                v[i] = a[i] > b[i] ? a[i] : b[i];
                break;
            case 0xDB:
                v[i] = a[i] & b[i];
                break;
            case 0xDF:
                v[i] = (uint8_t)(~a[i] & b[i]);
                break;
            case 0xEB:
                v[i] = a[i] | b[i];
                break;
            case 0xEF:
                v[i] = a[i] ^ b[i];
                break;
            case 0xF8:
                v[i] = (uint8_t)(a[i] - b[i]);
                break;
            default:
                break;
            }
        }
        int cmp = f->map == 2 ? (f->opc == 0x29 ? 8 : 0)
                  : (f->opc >= 0x74 && f->opc <= 0x76) ? 1 << (f->opc - 0x74)
                  : (f->opc >= 0x64 && f->opc <= 0x66) ? 1 << (f->opc - 0x64)
                                                       : 0;
        if (cmp) {
            el = cmp;
            int gt = f->map == 1 && f->opc < 0x70;
            for (int i = 0; i < vlen; i += el) {
                int res;
                if (gt) { /* signed: compare from the top byte down */
                    res = 0;
                    for (int k = el - 1; k >= 0; k--) {
                        int x = k == el - 1 ? (int8_t)a[i + k] : a[i + k];
                        int y = k == el - 1 ? (int8_t)b[i + k] : b[i + k];
                        if (x != y) {
                            res = x > y;
                            break;
                        }
                    }
                } else {
                    res = memcmp(a + i, b + i, (size_t)el) == 0;
                }
                memset(v + i, res ? 0xFF : 0x00, (size_t)el);
            }
        }
        if (f->vex && !wide)
            memset(v + 16, 0, 16);
        memcpy(dst, v, 32);
        return;
    }
    case OP_TEST: {
        int zf = 1, cf = 1;
        for (int i = 0; i < vlen; i++) {
            if (src[i] & opnd[i])
                zf = 0;
            if (~src[i] & opnd[i])
                cf = 0;
        }
        exp->rflags = (tc->in.rflags & ~(uint64_t)F_ARITH) | (zf ? F_ZF : 0) | (cf ? F_CF : 0);
        return;
    }
    default:
        return;
    }
}

/* Compares the native run with the model. Returns 1 if they differ. */
static int model_check(const form *f, const scase *tc)
{
    static uint8_t mem[2 * PAGE];
    vstate exp, got = g_sb->out;
    memcpy(mem, g_snapshot, sizeof mem);
    model(f, tc, &exp, mem);
    if (f->flags & (R_HFP | R_CPU)) {
        /* The CPU computes the result; everything else must stay. */
        if (f->flags & R_HFP)
            exp.mxcsr = got.mxcsr;
        exp.rflags = got.rflags;
        if (f->op == OP_TOGPR)
            exp.gpr[tc->reg] = got.gpr[tc->reg];
        else if (f->op == OP_STRI)
            exp.gpr[1] = got.gpr[1];
        else if (f->op == OP_STRM)
            memcpy(exp.ymm[0], got.ymm[0], 32);
        else if (f->op == OP_STORE || f->op == OP_MSTORE) {
            size_t o = (size_t)(tc->ea - region_addr(PG_D0, 0));
            memcpy(mem + o, g_region + PG_D0 * PAGE + o, (size_t)f->size);
        } else if (writes_vreg(f) && (f->flags & R_MMX))
            exp.mm[tc->reg & 7] = got.mm[tc->reg & 7];
        else if (writes_vreg(f))
            memcpy(exp.ymm[tc->reg], got.ymm[tc->reg], 32);
    }
    got.gpr[4] = 0;
    const char *what = NULL;
    if (memcmp(exp.ymm, got.ymm, sizeof exp.ymm) != 0)
        what = "vector registers";
    else if (memcmp(exp.mm, got.mm, sizeof exp.mm) != 0)
        what = "MMX registers";
    else if (memcmp(exp.gpr, got.gpr, sizeof exp.gpr) != 0)
        what = "GPRs";
    else if ((exp.rflags & 0xFFF) != (got.rflags & 0xFFF))
        what = "RFLAGS";
    else if (exp.mxcsr != got.mxcsr)
        what = "MXCSR";
    else if (memcmp(mem, g_region + PG_D0 * PAGE, sizeof mem) != 0)
        what = "memory";
    if (!what)
        return 0;
    printf("MODEL [%s] %s: the CPU and the model differ in the %s\n", f->name, tc->text, what);
    for (int n = 0; n < 16; n++)
        if (memcmp(exp.ymm[n], got.ymm[n], 32) != 0) {
            report r;
            r.n = 0;
            r.buf[0] = 0;
            rp(&r, "  ymm%d model ", n);
            rp_hex(&r, exp.ymm[n], 32);
            rp(&r, "\n        cpu   ");
            rp_hex(&r, got.ymm[n], 32);
            printf("%s\n", r.buf);
        }
    return 1;
}

/* ------------------------------------------------------------------ */
/* A reference emulator, to check the checks                            */
/* ------------------------------------------------------------------ */

/* With WHVEMU_SIMD_REFERENCE=1 the cases are emulated not by the library
 * but by this stand-in, which follows the contract through the same fake
 * VMM callbacks (one get call, the xstate callback, pieces, translation,
 * faults, one set call) and computes results with the model. It knows the
 * case instead of decoding it. A correct emulator must pass every check; a
 * run with WHVEMU_SIMD_REFERENCE=mutants runs each deliberately broken
 * variant (g_mutant > 0) on a few forms and expects failures from each, so
 * that the checks are known to catch them. */
static int g_reference, g_mutant;

enum {
    MUT_NONE,
    MUT_NO_PAGE_SPLIT,  /* a page-crossing piece */
    MUT_KEEP_UPPER,     /* a VEX.128 load keeps bits 255:128 */
    MUT_IGNORE_TS,      /* CR0.TS ignored */
    MUT_EARLY_XWRITE,   /* the xstate write before the memory access */
    MUT_MASK_ALL,       /* a masked store writes every byte */
    MUT_NO_ALIGN,       /* no #GP for a misaligned aligned form */
    MUT_XREAD_LEGACY,   /* reads component 2 for a legacy form */
    MUT_WRITE_AFTER_FAIL, /* writes the component although the set call failed */
    MUT_NOX_ACCEPT,     /* completes a 256-bit form without the callback, upper half zero */
    MUT_COUNT
};
static const char *const g_mutant_name[MUT_COUNT] = {
    "none", "page-crossing piece", "VEX.128 load keeps 255:128", "CR0.TS ignored",
    "xstate write before the memory access", "masked store writes every byte",
    "no #GP when misaligned", "xstate read by a legacy form",
    "xstate write after a failed set call", "256-bit form done without the callback"};

static HRESULT ref_translate(uint64_t gva, int write, const WHV_MEMORY_ACCESS_CONTEXT *mc,
                             uint64_t *gpa_page)
{
    uint64_t page = gva & ~(uint64_t)(PAGE - 1);
    int covered = mc->AccessInfo.GvaValid && page == (mc->Gva & ~(uint64_t)(PAGE - 1)) &&
                  (mc->AccessInfo.AccessType == WHvMemoryAccessWrite ||
                   (mc->AccessInfo.AccessType == WHvMemoryAccessRead && !write));
    if (covered) {
        *gpa_page = mc->Gpa & ~(uint64_t)(PAGE - 1);
        return S_OK;
    }
    WHV_TRANSLATE_GVA_RESULT_CODE res = WHvTranslateGvaResultSuccess;
    WHV_GUEST_PHYSICAL_ADDRESS gpa = 0;
    HRESULT hr = fvmm_callbacks()->WHvEmulatorTranslateGvaPage(
        g_vm, page,
        (write ? WHvTranslateGvaFlagValidateWrite : WHvTranslateGvaFlagValidateRead) |
            WHvTranslateGvaFlagSetPageTableBits,
        &res, &gpa);
    if (hr != S_OK)
        return hr;
    if (res != WHvTranslateGvaResultSuccess && res != WHvTranslateGvaResultGpaUnmapped)
        return E_FAIL; /* not expected in this test */
    *gpa_page = gpa;
    return S_OK;
}

/* Memory pieces over [gva, gva + n): at most 8 bytes, split at the page. */
static HRESULT ref_access(uint64_t gva, uint8_t *buf, size_t n, int write,
                          const uint64_t gpa_pages[2], uint64_t first_page)
{
    while (n) {
        size_t room = PAGE - (size_t)(gva & (PAGE - 1));
        size_t k = n < 8 ? n : 8;
        if (k > room && g_mutant != MUT_NO_PAGE_SPLIT)
            k = room;
        WHV_EMULATOR_MEMORY_ACCESS_INFO m;
        memset(&m, 0, sizeof m);
        int pg = (gva & ~(uint64_t)(PAGE - 1)) != first_page;
        m.GpaAddress = gpa_pages[pg] | (gva & (PAGE - 1));
        m.Direction = (UINT8)write;
        m.AccessSize = (UINT8)k;
        if (write)
            memcpy(m.Data, buf, k);
        HRESULT hr = fvmm_callbacks()->WHvEmulatorMemoryCallback(g_vm, &m);
        if (hr != S_OK)
            return hr;
        if (!write)
            memcpy(buf, m.Data, k);
        gva += k;
        buf += k;
        n -= k;
    }
    return S_OK;
}

static void ref_inject(WHV_EMULATOR_STATUS *st, int vec, int has_ec)
{
    WHV_REGISTER_NAME n = WHvRegisterPendingInterruption;
    WHV_REGISTER_VALUE v;
    memset(&v, 0, sizeof v);
    v.PendingInterruption.InterruptionPending = 1;
    v.PendingInterruption.InterruptionType = WHvX64PendingException;
    v.PendingInterruption.InterruptionVector = (UINT32)vec;
    v.PendingInterruption.DeliverErrorCode = (UINT32)has_ec;
    if (fvmm_callbacks()->WHvEmulatorSetVirtualProcessorRegisters(g_vm, &n, 1, &v) != S_OK)
        st->SetVirtualProcessorRegistersCallbackFailed = 1;
    else
        st->EmulationSuccessful = 1;
}

static void ref_try(int has_x, const WHV_VP_EXIT_CONTEXT *vp, const WHV_MEMORY_ACCESS_CONTEXT *mc,
                    WHV_EMULATOR_STATUS *st)
{
    const form *f = g_cur_form;
    const scase *tc = g_cur_case;
    const WHV_EMULATOR_CALLBACKS *cb = fvmm_callbacks();
    WHVEMU_XSTATE_CALLBACK xcb = fvmm_xstate_callback();
    int needs = needs_xstate(f, tc->l);
    st->AsUINT32 = 0;
    if (needs && !has_x && g_mutant != MUT_NOX_ACCEPT) {
        st->InternalEmulationFailure = 1;
        return;
    }

    /* Instruction bytes the exit does not carry are fetched (and must be
     * the case's). */
    if (mc->InstructionByteCount < tc->len) {
        WHV_TRANSLATE_GVA_RESULT_CODE res = WHvTranslateGvaResultSuccess;
        WHV_GUEST_PHYSICAL_ADDRESS gpa = 0;
        if (cb->WHvEmulatorTranslateGvaPage(g_vm, vp->Rip & ~(uint64_t)(PAGE - 1),
                                            WHvTranslateGvaFlagValidateExecute, &res,
                                            &gpa) != S_OK) {
            st->TranslateGvaPageCallbackFailed = 1;
            return;
        }
        uint8_t bytes[16];
        for (int i = 0; i < tc->len; i += 8) {
            WHV_EMULATOR_MEMORY_ACCESS_INFO m;
            memset(&m, 0, sizeof m);
            m.GpaAddress = gpa + ((vp->Rip + (uint64_t)i) & (PAGE - 1));
            m.AccessSize = (UINT8)(tc->len - i < 8 ? tc->len - i : 8);
            if (cb->WHvEmulatorMemoryCallback(g_vm, &m) != S_OK) {
                st->MemoryCallbackFailed = 1;
                return;
            }
            memcpy(bytes + i, m.Data, m.AccessSize);
        }
        if (memcmp(bytes, tc->insn, (size_t)tc->len) != 0) {
            st->InternalEmulationFailure = 1;
            return;
        }
    }

    /* The one get call. */
    WHV_REGISTER_NAME names[48];
    WHV_REGISTER_VALUE vals[48];
    UINT32 nn = 0;
    for (UINT32 r = 0; r < 16; r++)
        names[nn++] = (WHV_REGISTER_NAME)r;
    names[nn++] = WHvX64RegisterRflags;
    names[nn++] = WHvX64RegisterCr0;
    names[nn++] = WHvX64RegisterCr4;
    names[nn++] = WHvX64RegisterXCr0;
    names[nn++] = WHvX64RegisterXmmControlStatus;
    for (UINT32 n = 0; n < 16; n++)
        names[nn++] = (WHV_REGISTER_NAME)(WHvX64RegisterXmm0 + n);
    for (UINT32 n = 0; n < 8; n++)
        names[nn++] = (WHV_REGISTER_NAME)(WHvX64RegisterFpMmx0 + n);
    memset(vals, 0, sizeof vals);
    if (cb->WHvEmulatorGetVirtualProcessorRegisters(g_vm, names, nn, vals) != S_OK) {
        st->GetVirtualProcessorRegistersCallbackFailed = 1;
        return;
    }
    scase c = *tc;
    for (int r = 0; r < 16; r++)
        c.in.gpr[r] = vals[r].Reg64;
    c.in.rflags = vals[16].Reg64;
    uint64_t cr0 = vals[17].Reg64, cr4 = vals[18].Reg64, xcr0 = vals[19].Reg64;
    c.in.mxcsr = vals[20].XmmControlStatus.XmmStatusControl;
    memset(c.in.ymm, 0, sizeof c.in.ymm);
    for (int n = 0; n < 16; n++)
        memcpy(c.in.ymm[n], &vals[21 + n].Reg128, 16);
    for (int n = 0; n < 8; n++)
        c.in.mm[n] = vals[37 + n].Reg128.Low64;

    /* #UD and #NM from the control registers. */
    int mmx = (f->flags & R_MMX) != 0;
    int vec = -1;
    if (f->vex) {
        if (!(cr4 & CR4_OSXSAVE) || (xcr0 & 6) != 6)
            vec = 6;
    } else if ((cr0 & CR0_EM) || (!mmx && !(cr4 & CR4_OSFXSR))) {
        vec = 6;
    }
    if (vec < 0 && (cr0 & CR0_TS) && g_mutant != MUT_IGNORE_TS)
        vec = 7;
    if (vec >= 0) {
        ref_inject(st, vec, 0);
        return;
    }
    if (g_mutant == MUT_XREAD_LEGACY && !f->vex && has_x) {
        uint8_t tmp[256];
        xcb(g_vm, FVMM_XS_YMM_HI128, 0, tmp, 256);
    }
    if (f->align && (tc->ea & (uint64_t)(f->align - 1)) && g_mutant != MUT_NO_ALIGN) {
        ref_inject(st, 13, 1);
        return;
    }
    if (needs && has_x) {
        uint8_t ys[256];
        if (xcb(g_vm, FVMM_XS_YMM_HI128, 0, ys, 256) != S_OK) {
            st->GetVirtualProcessorRegistersCallbackFailed = 1;
            return;
        }
        for (int n = 0; n < 16; n++)
            memcpy(c.in.ymm[n] + 16, ys + 16 * n, 16);
    }

    /* Translation of every page first, then the accesses. */
    int write = f->op == OP_STORE || f->op == OP_MASKMOV;
    uint64_t lo = tc->ea, hi = tc->ea + (uint64_t)f->size; /* [lo, hi) */
    if (f->op == OP_MASKMOV) {
        int a = -1, b = -1;
        for (int i = 0; i < f->size; i++)
            if (tc->sel[i] || g_mutant == MUT_MASK_ALL) {
                if (a < 0)
                    a = i;
                b = i;
            }
        if (a < 0)
            lo = hi = tc->ea;
        else {
            lo = tc->ea + (uint64_t)a;
            hi = tc->ea + (uint64_t)b + 1;
        }
    }
    uint64_t first_page = lo & ~(uint64_t)(PAGE - 1);
    uint64_t gpa_pages[2] = {0, 0};
    if (hi > lo) {
        int npg = ((hi - 1) & ~(uint64_t)(PAGE - 1)) != first_page ? 2 : 1;
        for (int k = 0; k < npg; k++)
            if (ref_translate(first_page + (uint64_t)k * PAGE, write, mc, &gpa_pages[k]) != S_OK) {
                st->TranslateGvaPageCallbackFailed = 1;
                return;
            }
    }
    static uint8_t mem[2 * PAGE];
    memcpy(mem, g_snapshot, sizeof mem);
    uint8_t *opnd = mem + (tc->ea - region_addr(PG_D0, 0));
    if (g_mutant == MUT_EARLY_XWRITE && needs && has_x && writes_vreg(f)) {
        uint8_t ys[256];
        fvmm_xstate_get(g_vm, FVMM_XS_YMM_HI128, ys);
        xcb(g_vm, FVMM_XS_YMM_HI128, 1, ys, 256);
    }
    if (!write && ref_access(lo, opnd, (size_t)(hi - lo), 0, gpa_pages, first_page) != S_OK) {
        st->MemoryCallbackFailed = 1;
        return;
    }
    vstate exp;
    model(f, &c, &exp, mem);
    if (g_mutant == MUT_KEEP_UPPER && f->vex && !tc->l && f->op == OP_LOAD)
        for (int n = 0; n < 16; n++)
            memcpy(exp.ymm[n] + 16, c.in.ymm[n] + 16, 16);
    if (g_mutant == MUT_NOX_ACCEPT && !has_x)
        for (int n = 0; n < 16; n++)
            memset(exp.ymm[n] + 16, 0, 16);
    if (write) {
        if (f->op == OP_MASKMOV && g_mutant != MUT_MASK_ALL) {
            for (int i = 0; i < f->size;) { /* runs of selected bytes */
                if (!tc->sel[i]) {
                    i++;
                    continue;
                }
                int j = i;
                while (j < f->size && tc->sel[j])
                    j++;
                if (ref_access(tc->ea + (uint64_t)i, opnd + i, (size_t)(j - i), 1, gpa_pages,
                               first_page) != S_OK) {
                    st->MemoryCallbackFailed = 1;
                    return;
                }
                i = j;
            }
        } else if (hi > lo) {
            if (g_mutant == MUT_MASK_ALL && f->op == OP_MASKMOV) {
                const uint8_t *data = mmx ? (const uint8_t *)&c.in.mm[tc->reg & 7] : c.in.ymm[tc->reg];
                memcpy(opnd, data, (size_t)f->size);
            }
            if (ref_access(lo, mem + (lo - region_addr(PG_D0, 0)), (size_t)(hi - lo), 1,
                           gpa_pages, first_page) != S_OK) {
                st->MemoryCallbackFailed = 1;
                return;
            }
        }
    }

    /* Commit: one set call, and the component (before or after it). */
    nn = 0;
    names[nn] = WHvX64RegisterRip;
    memset(&vals[nn], 0, sizeof vals[nn]);
    vals[nn++].Reg64 = vp->Rip + (uint64_t)tc->len;
    if (f->op == OP_TEST) {
        names[nn] = WHvX64RegisterRflags;
        memset(&vals[nn], 0, sizeof vals[nn]);
        vals[nn++].Reg64 = exp.rflags;
    }
    if (writes_vreg(f)) {
        memset(&vals[nn], 0, sizeof vals[nn]);
        if (mmx) {
            names[nn] = (WHV_REGISTER_NAME)(WHvX64RegisterFpMmx0 + (tc->reg & 7));
            vals[nn].Reg128.Low64 = exp.mm[tc->reg & 7];
            vals[nn++].Reg128.High64 = 0xFFFF;
        } else {
            names[nn] = (WHV_REGISTER_NAME)(WHvX64RegisterXmm0 + tc->reg);
            memcpy(&vals[nn++].Reg128, exp.ymm[tc->reg], 16);
        }
    }
    int xwrite = needs && writes_vreg(f) && (has_x || g_mutant == MUT_NOX_ACCEPT) &&
                 g_mutant != MUT_KEEP_UPPER;
    uint8_t ys[256];
    for (int n = 0; n < 16; n++)
        memcpy(ys + 16 * n, exp.ymm[n] + 16, 16);
    static unsigned alt;
    int xfirst = (alt++ & 1) != 0; /* both orders are allowed */
    if (xwrite && has_x && xfirst && xcb(g_vm, FVMM_XS_YMM_HI128, 1, ys, 256) != S_OK) {
        st->SetVirtualProcessorRegistersCallbackFailed = 1;
        return;
    }
    if (cb->WHvEmulatorSetVirtualProcessorRegisters(g_vm, names, nn, vals) != S_OK) {
        st->SetVirtualProcessorRegistersCallbackFailed = 1;
        if (g_mutant == MUT_WRITE_AFTER_FAIL && xwrite && !xfirst)
            xcb(g_vm, FVMM_XS_YMM_HI128, 1, ys, 256);
        return;
    }
    if (xwrite && has_x && !xfirst && xcb(g_vm, FVMM_XS_YMM_HI128, 1, ys, 256) != S_OK) {
        st->SetVirtualProcessorRegistersCallbackFailed = 1;
        return;
    }
    if (xwrite && !has_x) /* the mutant without the callback: straight into the state */
        fvmm_xstate_set(g_vm, FVMM_XS_YMM_HI128, ys);
    st->EmulationSuccessful = 1;
}

static HRESULT try_mmio(WHV_EMULATOR_HANDLE emu, const WHV_VP_EXIT_CONTEXT *vp,
                        const WHV_MEMORY_ACCESS_CONTEXT *mc, WHV_EMULATOR_STATUS *st)
{
    if (!g_reference) {
        fvmm_sync_guest_ram(g_vm, emu);
        return WHvEmulatorTryMmioEmulation(emu, g_vm, vp, mc, st);
    }
    ref_try(emu == g_emu, vp, mc, st);
    return S_OK;
}

static const char *last_failure(WHV_EMULATOR_HANDLE emu)
{
    return g_reference ? "refused by the reference emulator" : whvemu_last_failure(emu);
}

/* ------------------------------------------------------------------ */
/* Running a form                                                       */
/* ------------------------------------------------------------------ */

static unsigned long g_selftest_fail, g_native_bugs, g_model_fail;

/* Generates and runs one case natively. Returns the signal (0, or SIGSEGV
 * for the expected #GP), or -1 on a test bug (reported). */
static int native_case(const form *f, scase *tc, int selfcheck)
{
    gen_case(f, tc);
    memcpy(g_snapshot, g_region + PG_D0 * PAGE, sizeof g_snapshot);
    g_sb->in = tc->in;
    int sig = native_run();
    int gp = sig == SIGSEGV && g_sig_trapno == 13 && g_sig_rip == g_insn_addr;
    int xm = sig == SIGFPE && g_sig_trapno == 19 && g_sig_rip == g_insn_addr &&
             (f->flags & R_HFP) && !tc->expect_gp;
    if ((sig && !(gp && tc->expect_gp) && !xm) || (!sig && tc->expect_gp)) {
        printf("TEST BUG [%s] %s: native run raised signal %d (trap %u, rip %" PRIx64
               ", addr %" PRIx64 ")%s\n",
               f->name, tc->text, sig, (unsigned)g_sig_trapno, (uint64_t)g_sig_rip,
               (uint64_t)g_sig_addr, tc->expect_gp ? ", #GP expected" : "");
        g_native_bugs++;
        g_total_fail++;
        memcpy(g_region + PG_D0 * PAGE, g_snapshot, sizeof g_snapshot);
        return -1;
    }
    if (!sig && model_check(f, tc)) {
        g_model_fail++;
        g_total_fail++;
    }
    if (selfcheck && native_selfcheck(f, tc, sig)) {
        g_selftest_fail++;
        g_total_fail++;
    }
    return sig;
}

static void run_form(size_t fi, uint64_t seed, double scale)
{
    const form *f = &g_forms[fi];
    fstats *s = &g_stats[fi];
    unsigned run0 = s->run, fail0 = s->failed;
    if (g_reference && (f->flags & (R_HFP | R_CPU)))
        return; /* the reference emulator has no model of these */
    if ((g_feat & f->feat) != f->feat) {
        if (!s->skipped)
            printf("%-34s skipped: the host lacks %s\n", f->name, feat_name(f->feat));
        s->skipped = 1;
        return;
    }
    if (s->refused) {
        printf("%-34s not run: refused (see above)\n", f->name);
        return;
    }
    rng_seed(seed ^ (0x100000001B3ull * (fi + 1)));
    unsigned n = (unsigned)(600.0 * scale);
    if (n < 1)
        n = 1;
    int ctl_done = 0;
    for (unsigned k = 0; k < n; k++) {
        scase tc;
        int sig = native_case(f, &tc, g_selftest || k < 8);
        if (sig < 0)
            continue;
        if (g_native_only) {
            s->run++;
            g_total_pass++;
            continue;
        }
        s->run++;
        if (sig)
            s->gp++;
        g_cur_form = f;
        g_cur_case = &tc;
        int ok = emulate_and_compare(f, s, &tc, sig, g_emu, CTL_NONE, "");
        if (ok < 0)
            break; /* refused */
        clean_log cl;
        log_summary(&cl);
        if (f->vex && k % 32 == 0) {
            s->nox_run++;
            if (emulate_and_compare(f, s, &tc, sig, g_emu_nox, CTL_NONE,
                                    "(without the xstate callback)") != 1)
                s->nox_failed++;
        }
        if (ok && !sig && !fp_refusal(f, &tc, sig)) {
            if ((cl.read_nth || cl.write_nth) && !s->xs_inject_done) {
                s->xs_inject_done = 1;
                xstate_inject(f, s, &tc, &cl);
            } else if (chance(1, 16)) {
                memory_inject(f, s, &tc, &cl);
            }
            if (!ctl_done) {
                ctl_done = 1;
                for (int c = CTL_TS; c < CTL_COUNT; c++) {
                    if (ctl_expect(f, c) == -2)
                        continue;
                    char what[48];
                    snprintf(what, sizeof what, "(%s)", g_ctl_name[c]);
                    s->ctl_run++;
                    if (emulate_and_compare(f, s, &tc, sig, g_emu, c, what) != 1)
                        s->ctl_failed++;
                }
            }
        }
    }
    if (g_quiet)
        return;
    printf("%-34s %5u cases, %u failed", f->name, s->run - run0, s->failed - fail0);
    if (s->refused)
        printf(" (refused)");
    printf("\n");
    if (g_maxprint && s->failed > g_maxprint && !s->refused)
        printf("  (%u failures of this form not printed in full; WHVEMU_SIMD_MAXPRINT=0 prints "
               "all)\n",
               s->failed - g_maxprint);
    fflush(stdout);
}

static const char *g_form_filter;

static void run_seed(uint64_t seed, double scale)
{
    if (!g_quiet)
        printf("== seed %" PRIu64 " ==\n", seed);
    for (size_t i = 0; i < NFORMS; i++) {
        if (g_form_filter && !strstr(g_forms[i].name, g_form_filter))
            continue;
        run_form(i, seed, scale);
    }
}

/* ------------------------------------------------------------------ */
/* Hand-checked native results                                          */
/* ------------------------------------------------------------------ */

static unsigned g_hand_fail;

#define HCHECK(cond, what)                                                     \
    do {                                                                       \
        if (!(cond)) {                                                         \
            printf("NATIVE CHECK FAILED: %s (%s)\n", what, #cond);             \
            g_hand_fail++;                                                     \
        }                                                                      \
    } while (0)

/* Runs fixed bytes with rbx/rdi = addr; returns the signal. */
static int hand_run(const uint8_t *insn, int len, uint64_t addr, const vstate *in)
{
    uint8_t b16[16];
    place_insn(insn, len, b16);
    g_sb->in = *in;
    g_sb->in.gpr[3] = addr;
    g_sb->in.gpr[7] = addr;
    return native_run();
}

/* Values worked out by hand from the SDM, so that the stub (register
 * order, offsets, MXCSR and flag plumbing) is right before it judges the
 * emulator. */
/* Which conversions with a memory operand are MMX instructions on this
 * host (the x87 TOP set to 0, every tag valid): the emulator's table makes
 * CVTPS2PI, CVTTPS2PI, CVTPD2PI and CVTTPD2PI so (an MMX destination; also
 * the #MF check) and CVTPI2PS/CVTPI2PD xmm, m64 pure SSE. Natively: one
 * value pushed (TOP 7, one tag valid), the conversion, then FNSTENV. */
#define X87_PROBE(insn, out)                                                                      \
    do {                                                                                          \
        uint16_t env_[14];                                                                        \
        __asm__ volatile("fninit\n\tfld1\n\t" insn "\n\tfnstenv %0\n\tfninit\n\temms"          \
                         : "=m"(env_)                                                             \
                         : "m"(probe)                                                             \
                         : "xmm0", "st", "memory");                                               \
        out = ((env_[2] >> 11) & 7) == 0 && env_[4] != 0xFFFF && (env_[4] & 0xC000) != 0xC000;   \
    } while (0)

static void mmx_transition_checks(void)
{
    static _Alignas(16) uint8_t probe[16];
    int t[6];
    X87_PROBE("cvtpi2ps %1, %%xmm0", t[0]);
    X87_PROBE("cvtpi2pd %1, %%xmm0", t[1]);
    X87_PROBE("cvtps2pi %1, %%mm0", t[2]);
    X87_PROBE("cvttps2pi %1, %%mm0", t[3]);
    X87_PROBE("cvtpd2pi %1, %%mm0", t[4]);
    X87_PROBE("cvttpd2pi %1, %%mm0", t[5]);
    static const char *const names[6] = {"cvtpi2ps xmm, m64", "cvtpi2pd xmm, m64",
                                         "cvtps2pi mm, m64",  "cvttps2pi mm, m64",
                                         "cvtpd2pi mm, m128", "cvttpd2pi mm, m128"};
    for (int i = 0; i < 6; i++) {
        int want = i >= 2;
        if (t[i] != want) {
            printf("FAIL [%s] on this host the x87-to-MMX transition %s, the emulator's "
                   "table says it %s\n",
                   names[i], t[i] ? "happens" : "does not happen", want ? "does" : "does not");
            g_total_fail++;
        }
    }
}
#undef X87_PROBE

static void hand_checks(void)
{
    vstate in;
    memset(&in, 0, sizeof in);
    for (int n = 0; n < 16; n++)
        for (int i = 0; i < 32; i++)
            in.ymm[n][i] = (uint8_t)(n * 16 + i);
    for (int n = 0; n < 8; n++)
        in.mm[n] = 0x1111111111111111ull * (uint64_t)(n + 1);
    for (int r = 0; r < 16; r++)
        in.gpr[r] = 0x0101010101010101ull * (uint64_t)r;
    in.rflags = 0x202;
    in.mxcsr = 0x1F80;
    uint64_t a = region_addr(PG_D0, 0x100);
    uint8_t *m = (uint8_t *)(uintptr_t)a;
    for (int i = 0; i < 32; i++)
        m[i] = (uint8_t)(0xA0 + i);

    /* movdqu xmm5, [rbx]: low half loaded, bits 255:128 kept. */
    static const uint8_t movdqu[] = {0xF3, 0x0F, 0x6F, 0x2B};
    HCHECK(hand_run(movdqu, 4, a, &in) == 0, "movdqu xmm5,[rbx] runs");
    HCHECK(memcmp(g_sb->out.ymm[5], m, 16) == 0, "movdqu loads xmm5");
    HCHECK(memcmp(g_sb->out.ymm[5] + 16, in.ymm[5] + 16, 16) == 0, "legacy SSE keeps 255:128");
    HCHECK(memcmp(g_sb->out.ymm[4], in.ymm[4], 32) == 0 && memcmp(g_sb->out.ymm[15], in.ymm[15], 32) == 0,
           "other registers pass through");
    int gpr_ok = 1;
    for (int r = 0; r < 16; r++)
        if (r != 4 && g_sb->out.gpr[r] != (r == 3 || r == 7 ? a : in.gpr[r]))
            gpr_ok = 0;
    HCHECK(gpr_ok, "GPRs pass through");
    HCHECK(g_sb->out.gpr[4] == g_sb->host_rsp, "RSP is the stub's stack");
    HCHECK((g_sb->out.rflags & 0xFFF) == 0x202, "RFLAGS pass through");
    HCHECK(g_sb->out.mxcsr == 0x1F80, "MXCSR passes through");
    for (int n = 0; n < 8; n++)
        HCHECK(g_sb->out.mm[n] == in.mm[n], "MM registers pass through");

    if (g_feat & FT_AVX) {
        /* vmovdqu ymm9, [rbx] = C5 7E 6F 0B */
        static const uint8_t v256[] = {0xC5, 0x7E, 0x6F, 0x0B};
        HCHECK(hand_run(v256, 4, a, &in) == 0, "vmovdqu ymm9,[rbx] runs");
        HCHECK(memcmp(g_sb->out.ymm[9], m, 32) == 0, "vmovdqu loads all of ymm9");
        /* vmovdqu xmm9, [rbx] = C5 7A 6F 0B: bits 255:128 zeroed */
        static const uint8_t v128[] = {0xC5, 0x7A, 0x6F, 0x0B};
        static const uint8_t zero16[16];
        HCHECK(hand_run(v128, 4, a, &in) == 0, "vmovdqu xmm9,[rbx] runs");
        HCHECK(memcmp(g_sb->out.ymm[9], m, 16) == 0 && memcmp(g_sb->out.ymm[9] + 16, zero16, 16) == 0,
               "VEX.128 load zeroes bits 255:128");
    }

    /* pcmpeqb xmm1, [rbx] (66 0F 74 0B): equal bytes -> FF. */
    vstate in2 = in;
    for (int i = 0; i < 16; i++)
        in2.ymm[1][i] = (i & 1) ? (uint8_t)(0xA0 + i) : 0;
    HCHECK(hand_run((const uint8_t[]){0x66, 0x0F, 0x74, 0x0B}, 4, a, &in2) == 0, "pcmpeqb runs");
    int eq_ok = 1;
    for (int i = 0; i < 16; i++)
        if (g_sb->out.ymm[1][i] != ((i & 1) ? 0xFF : 0x00))
            eq_ok = 0;
    HCHECK(eq_ok, "pcmpeqb byte mask");

    if (g_feat & FT_SSE41) {
        /* ptest xmm2, [rbx] (66 0F 38 17 13). */
        memset(in2.ymm[2], 0xFF, 16);
        memset(m, 0, 16);
        in2.rflags = 0x202 | F_ARITH;
        HCHECK(hand_run((const uint8_t[]){0x66, 0x0F, 0x38, 0x17, 0x13}, 5, a, &in2) == 0,
               "ptest runs");
        HCHECK((g_sb->out.rflags & F_ARITH) == (F_ZF | F_CF), "ptest ones/zero: ZF CF, others clear");
        memset(in2.ymm[2], 0, 16);
        memset(m, 0xFF, 16);
        HCHECK(hand_run((const uint8_t[]){0x66, 0x0F, 0x38, 0x17, 0x13}, 5, a, &in2) == 0,
               "ptest runs");
        HCHECK((g_sb->out.rflags & F_ARITH) == F_ZF, "ptest zero/ones: ZF only");
        for (int i = 0; i < 32; i++)
            m[i] = (uint8_t)(0xA0 + i);
    }

    /* movaps xmm0, [rbx+1] (0F 28 43 01): #GP. */
    int sig = hand_run((const uint8_t[]){0x0F, 0x28, 0x43, 0x01}, 4, a, &in);
    HCHECK(sig == SIGSEGV && g_sig_trapno == 13 && g_sig_rip == g_insn_addr,
           "movaps on a misaligned operand raises #GP");

    /* maskmovdqu xmm0, xmm1 (66 0F F7 C1): bytes with bit 7 of xmm1 set. */
    vstate in3 = in;
    memset(in3.ymm[0], 0x5A, 16);
    for (int i = 0; i < 16; i++)
        in3.ymm[1][i] = (i % 3 == 0) ? 0x80 : 0x7F;
    HCHECK(hand_run((const uint8_t[]){0x66, 0x0F, 0xF7, 0xC1}, 4, a, &in3) == 0, "maskmovdqu runs");
    int mm_ok = 1;
    for (int i = 0; i < 16; i++)
        if (m[i] != ((i % 3 == 0) ? 0x5A : (uint8_t)(0xA0 + i)))
            mm_ok = 0;
    HCHECK(mm_ok, "maskmovdqu writes the selected bytes only");
    for (int i = 0; i < 32; i++)
        m[i] = (uint8_t)(0xA0 + i);

    /* movq mm3, [rbx] (0F 6F 1B); movd [rbx], xmm4 (66 0F 7E 23). */
    HCHECK(hand_run((const uint8_t[]){0x0F, 0x6F, 0x1B}, 3, a, &in) == 0, "movq mm3 runs");
    HCHECK(memcmp(&g_sb->out.mm[3], m, 8) == 0, "movq mm3 loads");
    HCHECK(hand_run((const uint8_t[]){0x66, 0x0F, 0x7E, 0x23}, 4, a, &in) == 0, "movd [rbx] runs");
    HCHECK(memcmp(m, in.ymm[4], 4) == 0 && m[4] == 0xA4, "movd stores 4 bytes");
    for (int i = 0; i < 32; i++)
        m[i] = (uint8_t)(0xA0 + i);

    /* paddsw xmm2, [rbx] (66 0F ED 13): 0x7FFF + 1 and 0x8000 + 0xFFFF
     * saturate, 0x1234 + 0x0001 does not. */
    vstate in4 = in;
    for (int i = 0; i < 8; i++) {
        uint16_t x = i < 3 ? 0x7FFF : i < 6 ? 0x8000 : 0x1234;
        uint16_t y = i < 3 ? 0x0001 : i < 6 ? 0xFFFF : 0x0001;
        memcpy(in4.ymm[2] + 2 * i, &x, 2);
        memcpy(m + 2 * i, &y, 2);
    }
    HCHECK(hand_run((const uint8_t[]){0x66, 0x0F, 0xED, 0x13}, 4, a, &in4) == 0, "paddsw runs");
    int sat_ok = 1;
    for (int i = 0; i < 8; i++) {
        uint16_t got;
        memcpy(&got, g_sb->out.ymm[2] + 2 * i, 2);
        if (got != (i < 3 ? 0x7FFF : i < 6 ? 0x8000 : 0x1235))
            sat_ok = 0;
    }
    HCHECK(sat_ok, "paddsw saturates");
    for (int i = 0; i < 32; i++)
        m[i] = (uint8_t)(0xA0 + i);

    /* pshufd xmm1, [rbx], 0x1B (66 0F 70 0B 1B): the dwords reversed; the
     * imm8 after the ModRM byte. */
    HCHECK(hand_run((const uint8_t[]){0x66, 0x0F, 0x70, 0x0B, 0x1B}, 5, a, &in) == 0,
           "pshufd runs");
    int shuf_ok = 1;
    for (int i = 0; i < 4; i++)
        if (memcmp(g_sb->out.ymm[1] + 4 * i, m + 4 * (3 - i), 4) != 0)
            shuf_ok = 0;
    HCHECK(shuf_ok && memcmp(g_sb->out.ymm[1] + 16, in.ymm[1] + 16, 16) == 0,
           "pshufd 0x1b reverses the dwords");

    /* palignr xmm1, [rbx], 4 (66 0F 3A 0F 0B 04): bytes 4-15 of the memory
     * operand, then bytes 0-3 of xmm1 (0x10-0x13). */
    if (g_feat & FT_SSSE3) {
        HCHECK(hand_run((const uint8_t[]){0x66, 0x0F, 0x3A, 0x0F, 0x0B, 0x04}, 6, a, &in) == 0,
               "palignr runs");
        static const uint8_t al[16] = {0xA4, 0xA5, 0xA6, 0xA7, 0xA8, 0xA9, 0xAA, 0xAB,
                                       0xAC, 0xAD, 0xAE, 0xAF, 0x10, 0x11, 0x12, 0x13};
        HCHECK(memcmp(g_sb->out.ymm[1], al, 16) == 0 &&
                   memcmp(g_sb->out.ymm[1] + 16, in.ymm[1] + 16, 16) == 0,
               "palignr 4 shifts the pair right by 4 bytes");
    }
    if (g_feat & FT_SSE41) {
        /* pmovsxbw xmm2, [rbx] (66 0F 38 20 13): 0xA0.. sign-extend to
         * 0xFFA0..; pextrw [rbx+2], xmm4, 5 (66 0F 3A 15 63 02 05) stores
         * word 5 of xmm4 (bytes 0x4A 0x4B) and nothing else. */
        HCHECK(hand_run((const uint8_t[]){0x66, 0x0F, 0x38, 0x20, 0x13}, 5, a, &in) == 0,
               "pmovsxbw runs");
        int sx_ok = 1;
        for (int i = 0; i < 8; i++)
            if (g_sb->out.ymm[2][2 * i] != 0xA0 + i || g_sb->out.ymm[2][2 * i + 1] != 0xFF)
                sx_ok = 0;
        HCHECK(sx_ok, "pmovsxbw sign-extends the 8 bytes");
        HCHECK(hand_run((const uint8_t[]){0x66, 0x0F, 0x3A, 0x15, 0x63, 0x02, 0x05}, 7, a, &in) == 0,
               "pextrw runs");
        HCHECK(m[1] == 0xA1 && m[2] == 0x4A && m[3] == 0x4B && m[4] == 0xA4,
               "pextrw stores word 5 only");
        for (int i = 0; i < 32; i++)
            m[i] = (uint8_t)(0xA0 + i);
    }
    if (g_feat & FT_AVX) {
        /* vbroadcastss ymm3, [rbx] (C4 E2 7D 18 1B): eight copies of the
         * dword A3A2A1A0; vextractf128 [rbx], ymm5, 1 (C4 E3 7D 19 2B 01)
         * stores bytes 16-31 of ymm5 (0x60-0x6F). */
        HCHECK(hand_run((const uint8_t[]){0xC4, 0xE2, 0x7D, 0x18, 0x1B}, 5, a, &in) == 0,
               "vbroadcastss runs");
        int bc_ok = 1;
        for (int i = 0; i < 32; i++)
            if (g_sb->out.ymm[3][i] != 0xA0 + i % 4)
                bc_ok = 0;
        HCHECK(bc_ok, "vbroadcastss fills ymm3");
        HCHECK(hand_run((const uint8_t[]){0xC4, 0xE3, 0x7D, 0x19, 0x2B, 0x01}, 6, a, &in) == 0,
               "vextractf128 runs");
        int ex_ok = m[16] == 0xB0;
        for (int i = 0; i < 16; i++)
            if (m[i] != 0x50 + 16 + i)
                ex_ok = 0;
        HCHECK(ex_ok, "vextractf128 stores the upper lane");
        for (int i = 0; i < 32; i++)
            m[i] = (uint8_t)(0xA0 + i);
    }

    /* MXCSR with flags and another rounding mode passes through. */
    in.mxcsr = 0x7FBF;
    HCHECK(hand_run(movdqu, 4, a, &in) == 0 && g_sb->out.mxcsr == 0x7FBF, "MXCSR 0x7fbf kept");
    printf("native hand checks: %s\n", g_hand_fail ? "FAILED" : "ok");
}

/* ------------------------------------------------------------------ */
/* Main                                                                 */
/* ------------------------------------------------------------------ */

/* Each broken variant of the reference emulator must fail some cases. */
static int run_mutants(void)
{
    int undetected = 0;
    g_quiet = 1;
    for (int m = 0; m < MUT_COUNT; m++) {
        g_mutant = m;
        memset(g_stats, 0, sizeof g_stats);
        g_total_pass = g_total_fail = 0;
        run_seed(1, 0.1);
        int ok = m == MUT_NONE ? g_total_fail == 0 : g_total_fail != 0;
        printf("reference emulator, %-40s %6lu passed, %6lu failed: %s\n", g_mutant_name[m],
               g_total_pass, g_total_fail,
               ok ? (m ? "caught" : "clean") : (m ? "NOT CAUGHT" : "FAILED"));
        if (!ok)
            undetected++;
    }
    printf("%d passed, %d failed\n", MUT_COUNT - undetected, undetected);
    return undetected ? 1 : 0;
}

static void setup_vm(void)
{
    g_vm = fvmm_create();
    fvmm_setup_long_mode(g_vm, 0);
    fvmm_set_default_translation(g_vm, FVMM_UNMAPPED_NOT_PRESENT);
    fvmm_map_gva(g_vm, region_addr(PG_CODE, 0), GPA_CODE);
    fvmm_map_gva(g_vm, region_addr(PG_D0, 0), GPA_D0);
    fvmm_map_gva(g_vm, region_addr(PG_D1, 0), GPA_D1);
    fvmm_set_mmio(g_vm, GPA_D0, 1);
    fvmm_set_mmio(g_vm, GPA_D1, 1);
    for (size_t i = 0; i < sizeof g_xs_other; i++)
        g_xs_other[i] = (uint8_t)rnd();
    if (WHvEmulatorCreateEmulator(fvmm_callbacks(), &g_emu) != S_OK ||
        WHvEmulatorCreateEmulator(fvmm_callbacks(), &g_emu_nox) != S_OK) {
        fprintf(stderr, "WHvEmulatorCreateEmulator failed\n");
        exit(2);
    }
    if (whvemu_set_xstate_callback(g_emu, fvmm_xstate_callback()) != S_OK) {
        fprintf(stderr, "whvemu_set_xstate_callback failed\n");
        exit(2);
    }
}

int main(void)
{
    const char *e;
    double scale = 1.0;
    if ((e = getenv("WHVEMU_SIMD_SCALE")) && *e)
        scale = atof(e);
    if (scale <= 0)
        scale = 1.0;
    if ((e = getenv("WHVEMU_SIMD_VERBOSE")) && *e == '1')
        g_verbose = 1;
    if ((e = getenv("WHVEMU_SIMD_SELFTEST")) && *e == '1')
        g_selftest = 1;
    if ((e = getenv("WHVEMU_SIMD_NATIVE_ONLY")) && *e == '1')
        g_native_only = g_selftest = 1;
    if ((e = getenv("WHVEMU_SIMD_MAXPRINT")) && *e)
        g_maxprint = (unsigned)strtoul(e, NULL, 0);
    if ((e = getenv("WHVEMU_SIMD_FORM")) && *e)
        g_form_filter = e;
    int mutants = 0;
    if ((e = getenv("WHVEMU_SIMD_REFERENCE")) && *e) {
        g_reference = 1;
        mutants = strcmp(e, "mutants") == 0;
        if (!mutants && atoi(e) > 1 && atoi(e) <= MUT_COUNT)
            g_mutant = atoi(e) - 1; /* one broken variant, reported in full */
    }
    setvbuf(stdout, NULL, _IOLBF, 0);

    detect_features();
    rng_seed(0x51D);
    setup_native();
    setup_vm();
    printf("region at %" PRIx64 " (low: %d), instruction at %" PRIx64 ", host features:",
           g_base, g_low_region, g_insn_addr);
    for (unsigned ft = 1; ft <= FT_AVX2; ft <<= 1)
        if (g_feat & ft)
            printf(" %s", feat_name(ft));
    printf("\n");
    hand_checks();
    mmx_transition_checks();
    g_total_fail += g_hand_fail;
    if (mutants)
        return run_mutants();
    if (g_reference)
        printf("emulating with the reference emulator (%s), not the library\n",
               g_mutant_name[g_mutant]);

    if ((e = getenv("WHVEMU_SIMD_SEED")) && *e) {
        run_seed(strtoull(e, NULL, 0), scale);
    } else {
        run_seed(1, scale);
        uint64_t t = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
        uint64_t seed = splitmix(&t) & 0xFFFFFFFFull;
        printf("random seed %" PRIu64 " (reproduce with WHVEMU_SIMD_SEED=%" PRIu64 ")\n", seed,
               seed);
        run_seed(seed, scale);
    }

    printf("\nper form (all seeds): cases, failed, #GP cases; without the xstate callback; "
           "injections; control registers; mean memory calls, xstate reads, writes\n");
    unsigned refused = 0, skipped = 0;
    for (size_t i = 0; i < NFORMS; i++) {
        const fstats *s = &g_stats[i];
        if (g_form_filter && !strstr(g_forms[i].name, g_form_filter))
            continue;
        if (s->skipped) {
            skipped++;
            continue;
        }
        refused += s->refused;
        double n = s->run ? (double)s->run : 1.0;
        printf("  %-34s %6u run %5u failed %5u #GP%s  nox %u/%u  inj %u/%u  ctl %u/%u  mem %.2f "
               "xs %.2f/%.2f\n",
               g_forms[i].name, s->run, s->failed, s->gp, s->refused ? " REFUSED" : "",
               s->nox_run - s->nox_failed, s->nox_run, s->inj_run - s->inj_failed, s->inj_run,
               s->ctl_run - s->ctl_failed, s->ctl_run, (double)s->mem_calls / n,
               (double)s->xs_reads / n, (double)s->xs_writes / n);
    }
    printf("forms refused by the emulator: %u; skipped (host lacks the feature): %u; native "
           "self-check failures: %lu; CPU/model differences: %lu; test bugs: %lu\n",
           refused, skipped, g_selftest_fail, g_model_fail, g_native_bugs);
    WHvEmulatorDestroyEmulator(g_emu);
    WHvEmulatorDestroyEmulator(g_emu_nox);
    fvmm_destroy(g_vm);
    printf("%lu passed, %lu failed\n", g_total_pass, g_total_fail);
    return g_total_fail ? 1 : 0;
}
