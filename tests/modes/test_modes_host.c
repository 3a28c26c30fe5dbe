/*
 * test_modes_host.c - the host CPU as the oracle for every mode but 64-bit:
 * 16-bit and 32-bit protected mode, compatibility mode and real-mode address
 * arithmetic (x86-64 Linux only).
 *
 * The family "sse/avx" runs a sample of the SSE and AVX forms with a memory
 * operand (MOVDQU/MOVUPS/MOVDQA loads and stores, MOVD/MOVQ, MOVSS/MOVSD,
 * MOVLPS/MOVHPS, PCMPEQB, PMINUB, POR, PTEST, MASKMOVDQU through DS:eDI/DI
 * with overrides, VMOVDQU ymm, VPCMPEQB ymm, VMOVD, VMOVLPS with vvvv, its
 * bit 3 set one case in eight) under the same operand scenarios, aligned
 * forms half aligned: YMM0-7 are loaded by the 64-bit enter stub and stored
 * by the return stub (the far jumps keep them; after a fault they are the
 * signal frame's), XMM0-7 without AVX; the emulator gets them through
 * WHvX64RegisterXmm* and the extended-state callback (CR4.OSFXSR,
 * OSXMMEXCPT, OSXSAVE, XCR0 = 7); YMM0-15 are compared (8-15 must not
 * change). In real mode a VEX form must raise #UD with nothing changed.
 * Its floating-point forms (ADDPS, MULSD, VADDPD, CVTSI2SD, CVTTSD2SI,
 * COMISD, DPPS, ROUNDSD, VFMADD231PS) run under a random MXCSR (rounding,
 * DAZ, FTZ, flags, sometimes unmasked exceptions: the emulator's documented
 * refusal of an unmasked SIMD exception is accepted, and counted); also
 * PCMPISTRI (ECX, flags), VMASKMOVPS loads and stores (every element
 * selected when the operand gets a fault scenario: whether zero-masked
 * elements fault is the vendor's choice) and VPERMD.
 *
 * x87 and MXCSR state: the 64-bit enter stub loads an FXSAVE image (32-bit
 * layout) with FXRSTOR before the YMM registers, the return stub stores it
 * with FXSAVE (FCS and FDS included) and restores the child's own; the
 * emulator gets FpMmx0-7, FpControlStatus and XmmControlStatus (the host's
 * MXCSR_MASK) with the LDT selectors in FCS/FDS mapped to the emulated
 * mode's. After every case FCW, FSW (C0 C2 C3 masked for the load/store
 * forms), the abridged tag, MXCSR and ST(0)-ST(7) are compared; FOP, FIP,
 * FDP, FCS and FDS when an x87 form completed with FSW.ES set (an AMD
 * processor saves them only then; a zero FCS/FDS, which a kernel FXSAVE64
 * in between leaves, is not compared, in the state nor in a stored image). The family "x87/fxsave" runs FLD/FST/
 * FSTP m32/m64/m80, FILD/FIST/FISTP/FISTTP m16/m32/m64, FBLD/FBSTP,
 * FLDCW/FNSTCW/FNSTSW, FLDENV/FNSTENV and FRSTOR/FNSAVE in the 14/28 and
 * 94/108-byte protected-mode layouts (operand size chosen by 66), FXSAVE/
 * FXRSTOR (half aligned), with edge values and pending exceptions (#MF).
 * Left to the CPU: the pointer fields FNSTENV/FNSAVE/FXSAVE store when the
 * state had no exception pending (this host neither loads nor saves them
 * then); CR2 inside an operand of more than 10 bytes (the host reports
 * its last byte in the page); an operand of 10 or more bytes, or a
 * VMASKMOVPS one, whose 16-bit offset wraps past 0xFFFF (the host moves
 * such operands in pieces, each wrapped or not, as the SDM does not say).
 * Documented refusals (FLD of a denormal with DE unmasked, stores of tiny
 * values with UE unmasked, the environment forms in real mode) are counted.
 * Integer long tail: ADCX/ADOX, CLFLUSH/CLFLUSHOPT (checked as a byte
 * read), BOUND (#BR) and ARPL (#UD in real mode) besides the BMI, CRC32,
 * MOVBE, XLAT, bit count and CMPXCHG8B families.
 *
 * Native side: a forked child installs LDT code and data segments with
 * modify_ldt(2), far-jumps from 64-bit code into a 32-bit (D=1) or 16-bit
 * (D=0) code segment (compatibility mode, which applies legacy
 * segmentation), loads DS/ES/FS/GS/SS with data selectors of the case's
 * base, limit and type, the GPRs and EFLAGS, runs the instruction under test,
 * stores the registers and far-jumps back to 64-bit code. A fault raises a
 * signal; the handler records vector, error code, CR2 and the registers at
 * the fault and resumes the 64-bit return stub. Data lives in a three-page
 * arena at a fixed address below 1 MiB (so that real-mode arithmetic
 * reaches it); arena pages may be PROT_NONE (#PF, P=0) or read-only (#PF,
 * P=1 on a write). The child runs a whole batch; the parent waits with a
 * timeout and restarts after a crash.
 *
 * Emulated side: the same instruction from the same state through
 * WHvEmulatorTryMmioEmulation with the fake VMM: compatibility mode
 * (EferLma=1) and legacy protected mode (EferLma=0) for every 16- and 32-bit
 * case, real mode (Cr0Pe=0, caches base = selector*16, limit 0xFFFF) for the
 * real-mode cases. GPRs, the flags the SDM defines, RIP and memory are
 * compared; a native fault must be injected with the same vector, error
 * code (none in real mode) and CR2, RIP unchanged and no other change than
 * completed string iterations. fvmm_check_round_trip is asserted on every
 * emulation. Two expectations do not come from the CPU: a VEX (BMI) case
 * must raise #UD in real mode with nothing changed (no VEX form exists
 * there; the CPU ran the case in 16-bit protected mode), and the
 * destination of BSF/BSR with a zero source, undefined in the SDM, must
 * keep its value as the emulator documents.
 *
 * Each case puts at most one deliberate problem on one operand: a limit the
 * operand straddles or a REP walk runs into, an expand-down segment (16- or
 * 32-bit upper bound), a read-only data or readable code segment written, a
 * null selector, a linear address wrapping at 4 GiB, an absent or read-only
 * page (also met in the middle of a walk), EFLAGS.AC with a misaligned
 * operand, or an instruction running past the CS limit (fetched by the
 * emulator because the exit carries fewer bytes). The family "ip past
 * 0xffff" places a 16-bit load or store at offset 0xFFFB..0xFFFF (and,
 * with a larger CS limit, 0x10000..0x10003) so that it crosses or ends at
 * offset 0xFFFF, with CS limit 0xFFFF (real mode too), 0xFFFFF or
 * 0xFFFFFFFF: the CPU raises #GP(0) on the fetch past a 0xFFFF limit,
 * fetches at CS.base + 0x10000 with a larger one, and leaves EIP at the
 * end of the instruction unwrapped (0x10000 and up; INT3s at CS:0000 catch
 * a wrap); the emulator must do the same. Things the CPU does not
 * define are kept out: undefined flags are masked, and CMPS never has both
 * operands able to fault, since which one the CPU checks first is not
 * architectural (an AMD host checks ES:rDI first; the emulator DS:rSI).
 * Likewise #AC on a misaligned 16- or 32-byte vector operand (an AMD host
 * raises it, the SDM's exception types 4 do not), and a MASKMOVDQU whose
 * 16-bit DI walk wraps past 0xFFFF (the CPU stores part of the bytes before
 * it faults on the others).
 *
 * Environment: WHVEMU_MODES_SEED=<n> runs only that seed; WHVEMU_MODES_SCALE
 * scales the case counts; WHVEMU_MODES_MAXPRINT=<n> limits the failures
 * printed per mode and family (default 0 = all); WHVEMU_MODES_VERBOSE=1
 * prints every case. Exit status 77 (skip) when the host cannot map the
 * fixed pages or install LDT entries.
 */
#define _GNU_SOURCE
#include <asm/ldt.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "WinHvEmulation.h"
#include "fake_vmm.h"
#include "whvemu.h"
#include "x87_edge.h"

#ifndef ARCH_SET_GS
#define ARCH_SET_GS 0x1001
#endif
#ifndef ARCH_SET_FS
#define ARCH_SET_FS 0x1002
#endif
#ifndef ARCH_GET_FS
#define ARCH_GET_FS 0x1003
#endif
#ifndef ARCH_GET_GS
#define ARCH_GET_GS 0x1004
#endif

/* ------------------------------------------------------------------ */
/* Layout                                                               */
/* ------------------------------------------------------------------ */

#define PG 4096u
#define ARENA 0x00080000u /* three data pages; below 1 MiB for real mode */
#define ARENA_PAGES 3
#define ARENA_SIZE (ARENA_PAGES * PG)
#define HARN 0x40000000u       /* test code page = CS base of every case */
#define STATE_ADDR (HARN + PG) /* state block */
#define HSTACK_TOP (HARN + 3 * PG - 64)
#define STUB_ADDR (HARN + 4 * PG) /* 64-bit enter and return stubs */
#define STUB_RET (STUB_ADDR + 0x100)
#define HARN_LEN (0x11000u) /* up to CS offset 0x10FFF: instructions crossing 0xFFFF */
#define WRAP_ENTRY 0x20u    /* entry offset of a case placed below 0x10000 */
#define USER_CS64 0x33
#define USER_DS64 0x2b

/* Real mode: the emulator sees CS = 0x9000:IP. */
#define REAL_CS_SEL 0x9000u

/* GPA of arena page p in the fake VMM (protected modes; real mode is
 * identity, paging being off). */
static uint64_t arena_gpa(int p, int real)
{
    static const uint64_t g[ARENA_PAGES] = {0xC0013000ull, 0x00345000ull, 0xFEB07000ull};
    return real ? ARENA + (uint64_t)p * PG : g[p];
}
#define CODE_GPA 0x00600000ull

/* LDT slots: 0 flat data, 1 test code, 2 + sreg for ES CS SS DS FS GS. */
#define LDT_FLAT 0
#define LDT_CODE 1
#define LDT_SEG(s) (2 + (s))
#define LDT_SEL(i) ((uint16_t)(((i) << 3) | 7))

enum { S_ES, S_CS, S_SS, S_DS, S_FS, S_GS };
enum { R_AX, R_CX, R_DX, R_BX, R_SP, R_BP, R_SI, R_DI };
static const char *const g_sname[6] = {"es", "cs", "ss", "ds", "fs", "gs"};
static const char *const g_rname[8] = {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"};

/* EFLAGS */
#define F_CF 0x001u
#define F_PF 0x004u
#define F_AF 0x010u
#define F_ZF 0x040u
#define F_SF 0x080u
#define F_TF 0x100u
#define F_IF 0x200u
#define F_DF 0x400u
#define F_OF 0x800u
#define F_RF 0x10000u
#define F_AC 0x40000u
#define F_ARITH (F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF)
#define F_CMP (F_ARITH | F_TF | F_IF | F_DF | F_AC)

/* ------------------------------------------------------------------ */
/* PRNG                                                                 */
/* ------------------------------------------------------------------ */

static uint64_t g_rs[2];

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 33)) * 0xFF51AFD7ED558CCDull;
    z = (z ^ (z >> 33)) * 0xC4CEB9FE1A85EC53ull;
    return z ^ (z >> 33);
}

static void rng_seed(uint64_t s)
{
    g_rs[0] = mix64(s + 0x9E3779B97F4A7C15ull) | 1;
    g_rs[1] = mix64(s ^ 0x6A09E667F3BCC909ull);
}

static uint64_t rnd(void) /* xorshift128+ */
{
    uint64_t a = g_rs[0], b = g_rs[1];
    g_rs[0] = b;
    a ^= a << 23;
    a ^= a >> 17;
    a ^= b ^ (b >> 26);
    g_rs[1] = a;
    return a + b;
}

static uint32_t rndn(uint64_t n)
{
    return n ? (uint32_t)(rnd() % n) : 0;
}

static int chance(unsigned num, unsigned den)
{
    return rndn(den) < num;
}

static uint32_t smask(int size)
{
    return size >= 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1;
}

/* A value of `size` bytes biased to edges. */
static uint32_t rnd_val(int size)
{
    uint32_t m = smask(size), sign = 1u << (8 * size - 1);
    switch (rndn(9)) {
    case 0:
        return 0;
    case 1:
        return 1;
    case 2:
        return m;
    case 3:
        return sign;
    case 4:
        return sign - 1;
    case 5:
        return rndn(256) & m;
    default:
        return (uint32_t)rnd() & m;
    }
}

/* ------------------------------------------------------------------ */
/* Cases                                                                */
/* ------------------------------------------------------------------ */

enum { M16, M32, MREAL };

enum { SK_DESC, SK_NULL };

typedef struct segd {
    uint8_t kind;     /* SK_DESC or SK_NULL */
    uint8_t set;      /* fixed by an operand plan */
    uint8_t g, big, contents, ro, avl;
    uint32_t base, lim_raw;
} segd;

static uint32_t seg_lim(const segd *s)
{
    return s->g ? (s->lim_raw << 12) | 0xFFFu : s->lim_raw;
}

enum { PR_RW, PR_NONE, PR_RO };

#define TEXT_LEN 200

typedef struct mcase {
    uint8_t mode;
    uint8_t fam;
    uint8_t len;
    uint8_t insn[16];
    uint8_t prot[ARENA_PAGES];
    uint8_t has_exit;
    uint8_t exit_write;
    uint8_t exit_rmw;
    uint32_t exit_lin;
    uint32_t cs_lim; /* CS limit, 0 for the default */
    uint32_t ip_at;  /* 16-bit code: the instruction's offset near 0x10000 (0: after setup) */
    uint32_t gpr[8];
    uint32_t efl;
    uint32_t undef;
    uint8_t keep_reg; /* 1 + a GPR the SDM leaves undefined and the emulator keeps */
    uint8_t real_ud;  /* VEX: #UD in real mode (the CPU runs it in 16-bit protected mode) */
    uint8_t simd;     /* compare YMM0-7 (XMM0-7 without AVX) */
    uint8_t fpu;      /* an x87 form: FOP, FIP/FCS, FDP/FDS compared when FSW.ES */
    uint16_t fsw_mask; /* FSW bits compared (C0 C2 C3 are undefined for most x87 forms) */
    const char *refuse_ok; /* documented refusals accepted ('|'-separated substrings) */
    uint32_t cr2_lo, cr2_len; /* a #PF's CR2 may be any byte here in the CPU's page */
    struct {
        uint32_t lin, len;
    } skip[2]; /* stored bytes the CPU leaves implementation-specific */
    uint32_t sel_at[2]; /* a stored FCS and FDS selector (0: none): also right as 0 when
                           the native image holds 0 there (a kernel FXSAVE64 in between) */
    segd seg[6];
    char text[TEXT_LEN];
    uint8_t ymm[8][32];
    _Alignas(16) uint8_t fx[512]; /* x87, MXCSR and XMM state as an FXSAVE (32-bit layout) image */
    uint8_t arena[ARENA_SIZE];
} mcase;

enum { RS_NOTRUN = 0, RS_OK, RS_FAULT, RS_HARNESS, RS_CRASH, RS_SETUP };

typedef struct mresult {
    int status;
    int signo;
    uint32_t trapno, err;
    uint64_t cr2;
    uint32_t fault_eip, fault_cs;
    uint32_t eip;
    uint32_t gpr[8];
    uint32_t efl;
    uint8_t ymm[8][32];
    uint8_t fx[512]; /* FXSAVE (32-bit layout) after the instruction or at its fault */
    uint8_t arena[ARENA_SIZE];
} mresult;

#define BATCH 192

typedef struct batch {
    char setup_msg[160];   /* why the child could not start */
    volatile int progress; /* case being run */
    volatile int done;     /* cases finished */
    int n;
    mcase c[BATCH];
    mresult r[BATCH];
} batch;

/* ------------------------------------------------------------------ */
/* Native runner (child)                                                */
/* ------------------------------------------------------------------ */

typedef struct nstate {
    uint32_t in_gpr[8];
    uint32_t in_efl;
    uint32_t hstack;
    uint16_t sel[6];
    uint16_t flatsel;
    uint16_t pad0;
    uint32_t out_gpr[8];
    uint32_t out_efl;
    uint32_t pad1;
    uint32_t far_enter[2];
    uint32_t far_ret[2];
    uint64_t c_rsp;
    uint64_t saved[6];
    uint64_t fsbase, gsbase;
    _Alignas(32) uint8_t in_ymm[8][32]; /* loaded by the 64-bit enter stub, kept by the far jumps */
    uint8_t out_ymm[8][32];
    _Alignas(16) uint8_t in_fx[512]; /* FXRSTOR by the enter stub (before the YMM loads) */
    _Alignas(16) uint8_t out_fx[512]; /* FXSAVE by the return stub (32-bit layout: FCS, FDS) */
    _Alignas(16) uint8_t host_fx[512]; /* the child's own state, back for its C code */
} nstate;

_Static_assert(sizeof(nstate) <= HSTACK_TOP - 1024 - STATE_ADDR, "the state block meets the stack");
#define ST ((nstate *)(uintptr_t)STATE_ADDR)
#define ST_OFF(f) ((uint32_t)offsetof(nstate, f))

typedef struct abuf {
    uint8_t *p;
    size_t n;
} abuf;

static void e8(abuf *b, unsigned v)
{
    b->p[b->n++] = (uint8_t)v;
}

static void e32(abuf *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        e8(b, (v >> (8 * i)) & 0xFF);
}

/* 64-bit: op [rax + disp32] with REX (w = 0x48 or 0x4C) */
static void rax_rel(abuf *b, unsigned rex, unsigned op, unsigned reg, uint32_t disp)
{
    e8(b, rex);
    e8(b, op);
    e8(b, 0x80 | ((reg & 7) << 3));
    e32(b, disp);
}

static int g_avx, g_avx2, g_sse41, g_sse42, g_fma;
static uint32_t g_mxcsr_mask; /* the host's MXCSR_MASK */

/* 64-bit: vmovdqu ymm<n>, [rax + disp32] (store: op 0x7F), or movdqu xmm<n>
 * without AVX. */
static void vec_rax(abuf *b, unsigned op, unsigned n, uint32_t disp)
{
    if (g_avx) {
        e8(b, 0xC5);
        e8(b, 0xFE); /* R=0, vvvv unused, L=1, F3 */
    } else {
        e8(b, 0xF3);
        e8(b, 0x0F);
    }
    e8(b, op);
    e8(b, 0x80 | (n << 3));
    e32(b, disp);
}

/* 64-bit: fxsave (reg 0) or fxrstor (reg 1) [rax + disp32]; REX.W with
 * w: the 64-bit layout, else the 32-bit one with FCS and FDS. */
static void fx_rax(abuf *b, int w, unsigned reg, uint32_t disp)
{
    if (w)
        e8(b, 0x48);
    e8(b, 0x0F);
    e8(b, 0xAE);
    e8(b, 0x80 | (reg << 3));
    e32(b, disp);
}

static void build_stubs(void)
{
    abuf b = {(uint8_t *)(uintptr_t)STUB_ADDR, 0};
    static const struct {
        unsigned rex, reg;
    } cs[6] = {{0x48, 3}, {0x48, 5}, {0x4C, 4}, {0x4C, 5}, {0x4C, 6}, {0x4C, 7}};
    /* enter: DS = flat data (the case's setup reads the state block
     * through it), save callee-saved registers and RSP, jump far. */
    e8(&b, 0xB8);
    e32(&b, LDT_SEL(LDT_FLAT));
    e8(&b, 0x8E);
    e8(&b, 0xD8); /* mov ds, eax */
    e8(&b, 0xB8);
    e32(&b, STATE_ADDR); /* mov eax, STATE */
    for (int i = 0; i < 6; i++)
        rax_rel(&b, cs[i].rex, 0x89, cs[i].reg, ST_OFF(saved) + 8u * (unsigned)i);
    rax_rel(&b, 0x48, 0x89, 4, ST_OFF(c_rsp)); /* mov [rax+c_rsp], rsp */
    fx_rax(&b, 1, 0, ST_OFF(host_fx));         /* fxsave64 [rax+host_fx] */
    fx_rax(&b, 0, 1, ST_OFF(in_fx));           /* fxrstor [rax+in_fx] */
    for (unsigned n = 0; n < 8; n++)
        vec_rax(&b, 0x6F, n, ST_OFF(in_ymm) + 32 * n);
    e8(&b, 0xFF);                              /* jmp far m16:32 [rax+far_enter] */
    e8(&b, 0xA8);
    e32(&b, ST_OFF(far_enter));

    b.n = STUB_RET - STUB_ADDR;
    e8(&b, 0xB8);
    e32(&b, USER_DS64); /* mov eax, 0x2b; mov ss, eax */
    e8(&b, 0x8E);
    e8(&b, 0xD0);
    e8(&b, 0x31);
    e8(&b, 0xC0); /* xor eax, eax; mov ds, eax; mov es, eax */
    e8(&b, 0x8E);
    e8(&b, 0xD8);
    e8(&b, 0x8E);
    e8(&b, 0xC0);
    e8(&b, 0xB8);
    e32(&b, STATE_ADDR);
    rax_rel(&b, 0x48, 0x8B, 4, ST_OFF(c_rsp)); /* mov rsp, [rax+c_rsp] */
    for (int i = 0; i < 6; i++)
        rax_rel(&b, cs[i].rex, 0x8B, cs[i].reg, ST_OFF(saved) + 8u * (unsigned)i);
    e8(&b, 0x6A);
    e8(&b, 0x02);
    e8(&b, 0x9D); /* push 2; popfq: AC, DF, TF clear for C */
    for (unsigned n = 0; n < 8; n++) /* after a fault: as the signal frame had them */
        vec_rax(&b, 0x7F, n, ST_OFF(out_ymm) + 32 * n);
    fx_rax(&b, 0, 0, ST_OFF(out_fx));  /* fxsave [rax+out_fx] */
    fx_rax(&b, 1, 1, ST_OFF(host_fx)); /* fxrstor64 [rax+host_fx] */
    for (int k = 0; k < 2; k++) {
        /* arch_prctl(ARCH_SET_FS / ARCH_SET_GS, saved base): the LDT
         * selectors left in FS/GS replaced their bases. */
        e8(&b, 0xB8);
        e32(&b, STATE_ADDR);
        rax_rel(&b, 0x48, 0x8B, 6, k == 0 ? ST_OFF(fsbase) : ST_OFF(gsbase)); /* mov rsi */
        e8(&b, 0xBF);
        e32(&b, k == 0 ? ARCH_SET_FS : ARCH_SET_GS); /* mov edi, code */
        e8(&b, 0xB8);
        e32(&b, SYS_arch_prctl);
        e8(&b, 0x0F);
        e8(&b, 0x05); /* syscall */
    }
    e8(&b, 0xC3);
}

/* Code of one case in its code segment (16- or 32-bit default). */
static int g_m16;

static void pfx_opa(abuf *b) /* 32-bit operand and address size */
{
    if (g_m16) {
        e8(b, 0x66);
        e8(b, 0x67);
    }
}

static void pfx_a(abuf *b)
{
    if (g_m16)
        e8(b, 0x67);
}

/* mov sreg, cs:[state field] */
static void ld_sreg_cs(abuf *b, unsigned sreg, uint32_t field)
{
    e8(b, 0x2E);
    pfx_a(b);
    e8(b, 0x8E);
    e8(b, (sreg << 3) | 5);
    e32(b, STATE_ADDR - HARN + field);
}

/* mov sreg, [abs] / mov reg, [abs] through the flat DS */
static void ld_sreg_abs(abuf *b, unsigned sreg, uint32_t field)
{
    pfx_a(b);
    e8(b, 0x8E);
    e8(b, (sreg << 3) | 5);
    e32(b, STATE_ADDR + field);
}

static void ld_gpr_abs(abuf *b, unsigned reg, uint32_t field)
{
    pfx_opa(b);
    e8(b, 0x8B);
    e8(b, (reg << 3) | 5);
    e32(b, STATE_ADDR + field);
}

/* The case's code: setup through the flat DS (the case's DS is loaded
 * last), the instruction, then the stores (through CS to get a flat DS
 * back; CS has a small limit only when the instruction is meant to fault
 * on its fetch or end at the limit). */
static uint32_t build_case_code(const mcase *c, uint8_t *dst)
{
    abuf b = {dst, 0};
    g_m16 = c->mode != M32;
    if (c->ip_at) {
        /* Layout for an instruction near offset 0x10000: INT3s at CS:0000
         * (where a 16-bit IP would wrap to: the CPU does not), setup at
         * WRAP_ENTRY, a jump to the instruction, which a JMP rel16 to the
         * stores follows (reached at EIP = ip_at + length, beyond 0xFFFF). */
        while (b.n < WRAP_ENTRY)
            e8(&b, 0xCC);
    }
    ld_sreg_abs(&b, S_SS, ST_OFF(flatsel));
    ld_gpr_abs(&b, R_SP, ST_OFF(hstack));
    pfx_opa(&b); /* push dword [in_efl]; popfd */
    e8(&b, 0xFF);
    e8(&b, 0x35);
    e32(&b, STATE_ADDR + ST_OFF(in_efl));
    if (g_m16)
        e8(&b, 0x66);
    e8(&b, 0x9D);
    static const unsigned order[5] = {S_ES, S_FS, S_GS, S_SS};
    for (int i = 0; i < 4; i++)
        ld_sreg_abs(&b, order[i], ST_OFF(sel) + 2u * order[i]);
    for (unsigned r = 0; r < 8; r++)
        ld_gpr_abs(&b, r, ST_OFF(in_gpr) + 4 * r);
    ld_sreg_abs(&b, S_DS, ST_OFF(sel) + 2u * S_DS);
    uint32_t eip = (uint32_t)b.n;
    if (c->ip_at) {
        if (c->ip_at <= 0xFFFF) { /* jmp rel16 */
            uint32_t rel = c->ip_at - (uint32_t)(b.n + 3);
            e8(&b, 0xE9);
            e8(&b, rel & 0xFF);
            e8(&b, (rel >> 8) & 0xFF);
        } else { /* jmp rel32 with a 32-bit operand size: EIP past 0xFFFF */
            e8(&b, 0x66);
            e8(&b, 0xE9);
            e32(&b, c->ip_at - (uint32_t)(b.n + 4));
        }
        uint32_t stores = (uint32_t)b.n;
        abuf ins = {dst, c->ip_at};
        for (int i = 0; i < c->len; i++)
            e8(&ins, c->insn[i]);
        uint32_t rel = stores - (uint32_t)(ins.n + 3);
        e8(&ins, 0xE9); /* jmp rel16 (IP wraps on a branch) to the stores */
        e8(&ins, rel & 0xFF);
        e8(&ins, (rel >> 8) & 0xFF);
        eip = c->ip_at;
    } else {
        for (int i = 0; i < c->len; i++)
            e8(&b, c->insn[i]);
    }
    ld_sreg_cs(&b, S_DS, ST_OFF(flatsel));
    for (unsigned r = 0; r < 8; r++) { /* mov [abs], reg */
        pfx_opa(&b);
        e8(&b, 0x89);
        e8(&b, (r << 3) | 5);
        e32(&b, STATE_ADDR + ST_OFF(out_gpr) + 4 * r);
    }
    pfx_a(&b); /* mov ss, [flatsel]; mov esp, [hstack] */
    e8(&b, 0x8E);
    e8(&b, 0x15);
    e32(&b, STATE_ADDR + ST_OFF(flatsel));
    pfx_opa(&b);
    e8(&b, 0x8B);
    e8(&b, 0x25);
    e32(&b, STATE_ADDR + ST_OFF(hstack));
    if (g_m16)
        e8(&b, 0x66);
    e8(&b, 0x9C); /* pushfd; pop dword [out_efl] */
    pfx_opa(&b);
    e8(&b, 0x8F);
    e8(&b, 0x05);
    e32(&b, STATE_ADDR + ST_OFF(out_efl));
    pfx_opa(&b); /* jmp far m16:32 [far_ret] */
    e8(&b, 0xFF);
    e8(&b, 0x2D);
    e32(&b, STATE_ADDR + ST_OFF(far_ret));
    return eip;
}

static mresult *volatile g_cur;
static volatile uint32_t g_cur_eip;

static void on_fault(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    greg_t *g = uc->uc_mcontext.gregs;
    unsigned cs = (unsigned)(g[REG_CSGSFS] & 0xFFFF);
    mresult *r = g_cur;
    (void)si;
    /* Signal delivery keeps EFLAGS.AC: clear it before anything else. */
    __asm__ volatile("pushfq\n\tandq $~0x40000, (%%rsp)\n\tpopfq" ::: "memory", "cc");
    if (cs == USER_CS64 || !r) {
        /* A crash in 64-bit code: die of it (the parent reports it). */
        signal(sig, SIG_DFL);
        return;
    }
    static const int map[8] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI};
    r->signo = sig;
    r->trapno = (uint32_t)g[REG_TRAPNO];
    r->err = (uint32_t)g[REG_ERR];
    r->cr2 = (uint64_t)g[REG_CR2];
    r->fault_eip = (uint32_t)g[REG_RIP];
    r->fault_cs = cs;
    for (int i = 0; i < 8; i++)
        r->gpr[i] = (uint32_t)g[map[i]];
    r->efl = (uint32_t)g[REG_EFL];
    r->status = (r->fault_eip == g_cur_eip && cs == LDT_SEL(LDT_CODE)) ? RS_FAULT : RS_HARNESS;
    g[REG_RIP] = (greg_t)STUB_RET;
    g[REG_RSP] = (greg_t)ST->c_rsp;
    g[REG_EFL] &= ~(greg_t)(F_AC | F_DF | F_TF | F_RF);
    g[REG_CSGSFS] = (greg_t)(((uint64_t)g[REG_CSGSFS] & 0x0000FFFFFFFF0000ull) | USER_CS64 |
                             ((uint64_t)USER_DS64 << 48));
}

static int set_ldt(int idx, const segd *s, int code16, uint32_t code_lim, int code)
{
    struct user_desc d;
    memset(&d, 0, sizeof d);
    d.entry_number = (unsigned)idx;
    if (code) {
        d.base_addr = HARN;
        d.limit = code_lim ? code_lim : code16 ? 0xFFFF : 0xFFFFF;
        if (code_lim > 0xFFFFF) {
            d.limit = code_lim >> 12;
            d.limit_in_pages = 1;
        }
        d.seg_32bit = !code16;
        d.contents = 2;
    } else {
        d.base_addr = s->base;
        d.limit = s->lim_raw;
        d.seg_32bit = s->big;
        d.contents = s->contents;
        d.read_exec_only = s->ro;
        d.limit_in_pages = s->g;
        d.useable = s->avl;
    }
    return (int)syscall(SYS_modify_ldt, 0x11, &d, sizeof d);
}

static void apply_prot(const mcase *c, int restore)
{
    for (int p = 0; p < ARENA_PAGES; p++) {
        if (c->prot[p] == PR_RW)
            continue;
        int pr = restore ? PROT_READ | PROT_WRITE : c->prot[p] == PR_NONE ? PROT_NONE : PROT_READ;
        mprotect((void *)(uintptr_t)(ARENA + (uint32_t)p * PG), PG, pr);
    }
}

static void child_main(batch *bt, int from)
{
    void *a = mmap((void *)(uintptr_t)ARENA, ARENA_SIZE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    void *h = mmap((void *)(uintptr_t)HARN, HARN_LEN, PROT_READ | PROT_WRITE | PROT_EXEC,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (a != (void *)(uintptr_t)ARENA || h != (void *)(uintptr_t)HARN) {
        snprintf(bt->setup_msg, sizeof bt->setup_msg,
                 "cannot map the fixed pages at %#x and %#x (%s)", ARENA, HARN, strerror(errno));
        bt->r[from].status = RS_SETUP;
        _exit(3);
    }
    static uint8_t altstack[1 << 18];
    stack_t ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_sp = altstack;
    ss.ss_size = sizeof altstack;
    sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGFPE, &sa, NULL);
    sigaction(SIGILL, &sa, NULL);
    sigaction(SIGTRAP, &sa, NULL);

    build_stubs();
    nstate *st = ST;
    unsigned long v = 0;
    syscall(SYS_arch_prctl, ARCH_GET_FS, &v);
    st->fsbase = v;
    v = 0;
    syscall(SYS_arch_prctl, ARCH_GET_GS, &v);
    st->gsbase = v;
    segd flat;
    memset(&flat, 0, sizeof flat);
    flat.lim_raw = 0xFFFFF;
    flat.g = 1;
    flat.big = 1;
    if (set_ldt(LDT_FLAT, &flat, 0, 0, 0) != 0) {
        snprintf(bt->setup_msg, sizeof bt->setup_msg, "modify_ldt failed (%s)", strerror(errno));
        bt->r[from].status = RS_SETUP;
        _exit(3);
    }
    st->flatsel = LDT_SEL(LDT_FLAT);
    st->hstack = HSTACK_TOP;
    st->far_ret[0] = STUB_RET;
    st->far_ret[1] = USER_CS64;
    segd last[6];
    int have_last = 0, last_code16 = -1;
    uint32_t last_cs_lim = 0;
    void (*enter)(void);
    void *ep = (void *)(uintptr_t)STUB_ADDR;
    memcpy(&enter, &ep, sizeof enter);

    for (int i = from; i < bt->n; i++) {
        bt->progress = i;
        const mcase *c = &bt->c[i];
        mresult *r = &bt->r[i];
        int code16 = c->mode != M32;
        if ((code16 != last_code16 || c->cs_lim != last_cs_lim) &&
            set_ldt(LDT_CODE, NULL, code16, c->cs_lim, 1) != 0) {
            r->status = RS_SETUP;
            bt->done = i + 1;
            continue;
        }
        last_code16 = code16;
        last_cs_lim = c->cs_lim;
        int bad = 0;
        for (int s = 0; s < 6; s++) {
            if (s == S_CS)
                continue;
            if (c->seg[s].kind == SK_NULL) {
                st->sel[s] = 0;
                continue;
            }
            st->sel[s] = LDT_SEL(LDT_SEG(s));
            if (have_last && memcmp(&last[s], &c->seg[s], sizeof last[s]) == 0)
                continue;
            if (set_ldt(LDT_SEG(s), &c->seg[s], 0, 0, 0) != 0)
                bad = 1;
        }
        memcpy(last, c->seg, sizeof last);
        have_last = !bad;
        if (bad) {
            r->status = RS_SETUP;
            bt->done = i + 1;
            continue;
        }
        memcpy((void *)(uintptr_t)ARENA, c->arena, ARENA_SIZE);
        uint32_t eip = build_case_code(c, (uint8_t *)(uintptr_t)HARN);
        r->eip = eip;
        memcpy(st->in_gpr, c->gpr, sizeof st->in_gpr);
        memcpy(st->in_ymm, c->ymm, sizeof st->in_ymm);
        memcpy(st->in_fx, c->fx, sizeof st->in_fx);
        st->in_efl = c->efl;
        st->far_enter[0] = c->ip_at ? WRAP_ENTRY : 0;
        st->far_enter[1] = LDT_SEL(LDT_CODE);
        r->status = RS_OK;
        g_cur_eip = eip;
        apply_prot(c, 0);
        g_cur = r;
        enter();
        g_cur = NULL;
        apply_prot(c, 1);
        if (r->status == RS_HARNESS && (c->cs_lim || c->ip_at) && r->fault_eip == eip + c->len &&
            r->trapno == 13) {
            /* The instruction ended at the CS limit: it completed and the
             * next fetch faulted; the registers at that fault are its
             * results. */
            r->status = RS_OK;
            r->efl &= ~F_RF;
        } else if (r->status == RS_OK) {
            memcpy(r->gpr, st->out_gpr, sizeof r->gpr);
            r->efl = st->out_efl;
        }
        memcpy(r->arena, (void *)(uintptr_t)ARENA, ARENA_SIZE);
        memcpy(r->ymm, st->out_ymm, sizeof r->ymm);
        memcpy(r->fx, st->out_fx, sizeof r->fx);
        bt->done = i + 1;
    }
    _exit(0);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static unsigned g_crashes;

/* Runs the batch natively, one child per batch, restarting after a crash
 * or a timeout with the case after the one that broke it. */
static void run_native(batch *bt)
{
    int next = 0;
    for (int i = 0; i < bt->n; i++)
        bt->r[i].status = RS_NOTRUN;
    while (next < bt->n) {
        bt->progress = next;
        bt->done = next;
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            exit(2);
        }
        if (pid == 0)
            child_main(bt, next);
        double t0 = now_s();
        int wst = 0, timed_out = 0;
        for (;;) {
            pid_t w = waitpid(pid, &wst, WNOHANG);
            if (w == pid)
                break;
            if (w < 0 && errno != EINTR) {
                perror("waitpid");
                exit(2);
            }
            if (now_s() - t0 > 60.0) {
                kill(pid, SIGKILL);
                waitpid(pid, &wst, 0);
                timed_out = 1;
                break;
            }
            struct timespec ts = {0, 200000};
            nanosleep(&ts, NULL);
        }
        if (!timed_out && WIFEXITED(wst) && WEXITSTATUS(wst) == 0 && bt->done >= bt->n)
            break;
        int p = bt->progress;
        if (p < next)
            p = next;
        if (bt->r[p].status == RS_SETUP && WIFEXITED(wst) && WEXITSTATUS(wst) == 3) {
            /* No LDT or no fixed low mappings on this host: nothing to
             * compare against. */
            printf("SKIP: %s\n", bt->setup_msg);
            exit(77);
        }
        bt->r[p].status = RS_CRASH;
        bt->r[p].signo = timed_out ? -1 : WIFSIGNALED(wst) ? WTERMSIG(wst) : 0;
        g_crashes++;
        next = p + 1;
    }
}

/* ------------------------------------------------------------------ */
/* Generator                                                            */
/* ------------------------------------------------------------------ */

static mcase *g_c;
static int g_dsize;       /* default operand/address size of the code segment */
static int g_fault_left;  /* fault scenarios still allowed in this case */
static char g_scen[96];   /* scenario text */
static int g_gen_retry;   /* the case cannot keep its accesses in the arena */

static void scen(const char *fmt, ...)
{
    size_t n = strlen(g_scen);
    if (n && n + 2 < sizeof g_scen) {
        g_scen[n++] = ';';
        g_scen[n++] = ' ';
        g_scen[n] = 0;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_scen + n, sizeof g_scen - n, fmt, ap);
    va_end(ap);
}

static void note_access(uint32_t lin, int write, int rmw)
{
    if (g_c->has_exit)
        return;
    g_c->has_exit = 1;
    g_c->exit_lin = lin;
    g_c->exit_write = (uint8_t)write;
    g_c->exit_rmw = (uint8_t)rmw;
}

/* A normal read-write data segment with a random base and a roomy limit. */
static void seg_default(segd *s, int real)
{
    memset(s, 0, sizeof *s);
    if (real) {
        s->base = (uint32_t)rndn(0x10000) << 4;
        s->lim_raw = 0xFFFF;
        return;
    }
    s->base = (uint32_t)rnd();
    s->big = (uint8_t)rndn(2);
    s->avl = (uint8_t)rndn(2);
    if (chance(1, 2)) {
        s->g = 1;
        s->lim_raw = 0xFFFFF - rndn(16);
    } else {
        s->lim_raw = 0xFFFF + rndn(0xF0000);
    }
}

/* Linear address of an access of `span` bytes in the arena, often
 * crossing a page boundary. */
static uint32_t g_align; /* an aligned form's alignment: half the addresses get it */

static uint32_t pick_lin(uint32_t span)
{
    if (span > ARENA_SIZE - 64)
        span = ARENA_SIZE - 64;
    if (g_align && chance(1, 2))
        return (ARENA + 16 + rndn(ARENA_SIZE - 32 - span)) & ~(g_align - 1);
    if (chance(1, 2)) {
        uint32_t b = ARENA + PG * (1 + rndn(2));
        uint32_t l = b - span + rndn(2 * span + 1);
        if (l < ARENA + 16)
            l = ARENA + 16;
        if (l + span > ARENA + ARENA_SIZE - 16)
            l = ARENA + ARENA_SIZE - 16 - span;
        return l;
    }
    return ARENA + 16 + rndn(ARENA_SIZE - 32 - span);
}

/* An offset for an access of n bytes within [0, maxoff]. */
static uint32_t rnd_off(uint32_t maxoff, uint32_t n)
{
    uint32_t top = maxoff - (n - 1);
    switch (rndn(4)) {
    case 0:
        return rndn(256);
    case 1:
        return top - rndn(64);
    case 2:
        return rndn(0x10000) & top;
    default:
        return (uint32_t)rnd() % ((uint64_t)top + 1);
    }
}

/* A limit of at least `need`. */
static void limit_atleast(segd *s, uint64_t need)
{
    uint64_t lim;
    switch (rndn(4)) {
    case 0:
        lim = need;
        break;
    case 1:
        lim = need + rndn(64);
        break;
    case 2:
        lim = need + rndn(0x10000);
        break;
    default:
        lim = need + rnd() % (0x100000000ull - need);
        break;
    }
    if (lim > 0xFFFFFFFFull)
        lim = 0xFFFFFFFFull;
    if (lim <= 0xFFFFF && chance(3, 4)) {
        s->g = 0;
        s->lim_raw = (uint32_t)lim;
    } else {
        s->g = 1;
        s->lim_raw = (uint32_t)(lim >> 12);
        if (((uint64_t)s->lim_raw << 12 | 0xFFF) < need)
            s->lim_raw++;
    }
}

/* A random limit (any granularity). */
static void limit_random(segd *s, uint32_t maxlim)
{
    if (maxlim > 0xFFFFF && chance(1, 2)) {
        s->g = 1;
        s->lim_raw = rndn(((uint64_t)maxlim >> 12) + 1);
    } else {
        s->g = 0;
        uint32_t m = maxlim > 0xFFFFF ? 0xFFFFF : maxlim;
        s->lim_raw = chance(1, 2) ? rndn((uint64_t)m + 1) : rndn(0x200) + (m > 0x10000 ? rndn(0x10000) : 0);
        if (s->lim_raw > m)
            s->lim_raw = m;
    }
}

/* An offset (asz mask maxoff) whose walk of `span` bytes (elements of n
 * bytes, going down when df) lies in the arena from segment base `base`;
 * 0 if there is none. */
static int reach_arena(uint32_t base, uint32_t maxoff, uint32_t span, uint32_t n, int df,
                       uint32_t *off)
{
    /* lowest byte of the walk: lin_lo; first element at lin_lo (up) or
     * lin_lo + span - n (down); offsets must not wrap. */
    uint64_t lo = ARENA + 16, hi = ARENA + ARENA_SIZE - 16 - span;
    uint64_t b = base;
    if (b > lo)
        lo = b;
    if (b + maxoff + 1 - span < hi)
        hi = b + maxoff + 1 - span;
    if (lo > hi)
        return 0;
    uint64_t lin_lo = lo + rnd() % (hi - lo + 1);
    if (chance(1, 3)) {
        uint64_t pb = ARENA + PG * (1 + rndn(2));
        if (pb - span / 2 >= lo && pb - span / 2 <= hi)
            lin_lo = pb - span / 2;
    }
    *off = (uint32_t)(lin_lo - b + (df ? span - n : 0));
    return 1;
}

enum { SC_NORMAL, SC_LIMIT, SC_EXPDOWN, SC_RIGHTS, SC_NULL, SC_PAGE, SC_AC, SC_WRAP };

/* Chooses segment s (unless an earlier operand fixed it) and the offset of
 * an access of n bytes (rw: 1 read, 2 write, 3 both) with address size asz.
 * Returns the offset; the linear address is the segment base plus it. */
static uint32_t plan_seg(int s, uint32_t n, int rw, int asz, int allow_fault)
{
    mcase *c = g_c;
    segd *sd = &c->seg[s];
    int real = c->mode == MREAL;
    uint32_t maxoff = asz == 2 ? 0xFFFF : 0xFFFFFFFFu;
    if (sd->set) {
        /* Another operand fixed this segment: aim into the arena. */
        if (sd->kind == SK_NULL)
            return rnd_off(maxoff, n);
        uint32_t off;
        if (reach_arena(sd->base, maxoff, n, n, 0, &off))
            return off;
        g_gen_retry = 1; /* out of reach: the access would stray */
        return 0;
    }
    sd->set = 1;
    int sc = SC_NORMAL;
    if (allow_fault && g_fault_left > 0) {
        unsigned r = rndn(100);
        if (r < 45)
            sc = SC_NORMAL;
        else if (r < 62)
            sc = SC_LIMIT;
        else if (r < 74)
            sc = SC_EXPDOWN;
        else if (r < 79)
            sc = SC_RIGHTS;
        else if (r < 83)
            sc = SC_NULL;
        else if (r < 91)
            sc = SC_PAGE;
        else if (r < 97)
            sc = SC_AC;
        else
            sc = SC_WRAP;
        if (real && sc != SC_LIMIT)
            sc = SC_NORMAL;
        if (s == S_SS && (sc == SC_RIGHTS || sc == SC_NULL))
            sc = SC_LIMIT;
        if (s == S_CS)
            sc = SC_RIGHTS;
        if (sc == SC_WRAP && asz == 2)
            sc = SC_NORMAL;
        if (sc == SC_AC && (n < 2 || n > 8))
            sc = SC_NORMAL; /* #AC for 16/32-byte vector operands is the vendor's choice */
        if (sc != SC_NORMAL)
            g_fault_left--;
    } else if (s == S_CS) {
        sc = SC_RIGHTS;
    }
    uint32_t lin = pick_lin(n);
    uint32_t off = 0;
    uint8_t keep_big = sd->big;
    memset(sd, 0, sizeof *sd);
    sd->set = 1;
    sd->avl = (uint8_t)rndn(2);
    sd->big = s == S_SS ? keep_big : (uint8_t)rndn(2);
    if (real) {
        sd->avl = 0;
        sd->big = 0;
        sd->lim_raw = 0xFFFF;
        if (sc == SC_LIMIT) {
            if (asz == 4 && chance(1, 2))
                off = 0x10000 + rndn(0x10000) * (chance(1, 2) ? 1u : 0x1000u);
            else
                off = 0xFFFF - (n - 1) + 1 + rndn(n);
            if (off > 0xFFFF && asz == 2)
                off = 0xFFFF;
            /* base: keep lin of the in-range bytes in the arena */
            uint32_t bs = ((lin - (off & 0xFFFF)) >> 4) & 0xFFFF;
            sd->base = bs << 4;
            scen("%s real-mode limit, offset %x", g_sname[s], off);
            return off;
        }
        /* offset congruent to lin modulo 16 */
        do {
            off = (rnd_off(0xFFFF, n) & ~15u) | (lin & 15u);
        } while (off + n - 1 > 0xFFFF || off > lin);
        sd->base = lin - off;
        return off;
    }
    switch (sc) {
    case SC_NORMAL:
    default:
        off = rnd_off(maxoff, n);
        limit_atleast(sd, (uint64_t)off + n - 1);
        if (s != S_SS && s != S_CS && !(rw & 2)) {
            unsigned k = rndn(8);
            if (k == 0)
                sd->ro = 1; /* read-only data */
            else if (k == 1)
                sd->contents = 2; /* readable code */
        }
        break;
    case SC_LIMIT: {
        uint32_t k = rndn(n + 1); /* k == n fits exactly */
        uint32_t lim;
        if (asz == 2 || chance(1, 2)) {
            lim = rndn(asz == 2 ? 0xFFFF : 0xFFFFF);
            if (chance(1, 2))
                lim = 0xFFFF - rndn(4);
            if (lim > 0xFFFE && asz == 2)
                lim = 0xFFFE;
            sd->g = 0;
            sd->lim_raw = lim;
        } else {
            sd->g = 1;
            sd->lim_raw = rndn(0xFFFFF);
            lim = seg_lim(sd);
        }
        off = lim + 1 - k;
        if (k == 0 && chance(1, 4) && asz == 4)
            off = lim + 1 + rndn(0x1000);
        scen("%s limit %x, offset %x, %u of %u bytes in", g_sname[s], lim, off,
             k > n ? n : k, n);
        break;
    }
    case SC_EXPDOWN: {
        sd->contents = 1;
        if (s != S_SS)
            sd->big = (uint8_t)rndn(2);
        uint32_t upper = sd->big ? 0xFFFFFFFFu : 0xFFFF;
        if (asz == 2 || !sd->big || chance(1, 2)) {
            sd->g = 0;
            sd->lim_raw = rndn(0xFFF0);
        } else {
            limit_random(sd, 0xFFFFFFFEu);
        }
        uint32_t lim = seg_lim(sd);
        uint32_t hi = upper < maxoff ? upper : maxoff;
        unsigned kind = rndn(4);
        if (kind <= 1 && (uint64_t)lim + n <= hi) {
            off = lim + 1 + (uint32_t)(rnd() % ((uint64_t)hi - lim - n + 1 + 1));
            if (chance(1, 3))
                off = lim + 1;
            else if (chance(1, 3))
                off = hi - (n - 1);
            scen("%s expand-down%s limit %x, offset %x (inside)", g_sname[s], sd->big ? " B" : "",
                 lim, off);
        } else if (kind == 2 || n == 1) {
            uint32_t k = 1 + rndn(n);
            off = lim + 1 - k;
            scen("%s expand-down%s limit %x, offset %x (below)", g_sname[s], sd->big ? " B" : "",
                 lim, off);
        } else {
            uint32_t k = 1 + rndn(n - 1);
            off = upper - (n - 1) + k;
            if (upper == 0xFFFF && asz == 4 && chance(1, 3))
                off = 0x10000 + rndn(0x100);
            off &= maxoff;
            scen("%s expand-down%s limit %x, offset %x (above the upper bound)", g_sname[s],
                 sd->big ? " B" : "", lim, off);
        }
        if (s != S_SS && chance(1, 6) && !(rw & 2)) {
            sd->ro = 1;
        }
        break;
    }
    case SC_RIGHTS:
        off = rnd_off(maxoff, n);
        if (s == S_CS) {
            scen("cs override, write to the code segment");
            return off; /* CS is the test code segment */
        }
        limit_atleast(sd, (uint64_t)off + n - 1);
        /* Only readable code segments can be loaded into DS/ES/FS/GS, so
         * the rights that can fault are the missing write rights. */
        if (chance(1, 2)) {
            sd->ro = 1;
            scen("%s read-only data%s", g_sname[s], (rw & 2) ? " written" : "");
        } else {
            sd->contents = 2;
            scen("%s readable code segment%s", g_sname[s], (rw & 2) ? " written" : "");
        }
        break;
    case SC_NULL:
        sd->kind = SK_NULL;
        off = rnd_off(maxoff, n);
        scen("%s null selector", g_sname[s]);
        return off;
    case SC_PAGE: {
        uint32_t b = ARENA + PG * (1 + rndn(2)); /* P0|P1 or P1|P2 boundary */
        if (n > 1 && chance(2, 3)) {
            lin = b - 1 - rndn(n - 1);
        } else {
            lin = ARENA + PG + rndn(PG - n);
        }
        c->prot[1] = (rw & 2) && chance(1, 2) ? PR_RO : PR_NONE;
        off = rnd_off(maxoff, n);
        limit_atleast(sd, (uint64_t)off + n - 1);
        scen("page %x %s", ARENA + PG, c->prot[1] == PR_RO ? "read-only" : "not present");
        break;
    }
    case SC_AC:
        off = rnd_off(maxoff, n);
        limit_atleast(sd, (uint64_t)off + n - 1);
        lin = (lin & ~7u) + (chance(3, 4) ? 1 + rndn(7) : 0);
        c->efl |= F_AC;
        scen("EFLAGS.AC, linear %x", lin);
        break;
    case SC_WRAP:
        sd->g = 1;
        sd->lim_raw = 0xFFFFF;
        sd->base = 0x80000000u + (uint32_t)rndn(0x7FFF0000u);
        off = lin - sd->base;
        scen("%s base %x + offset %x wraps at 4 GiB", g_sname[s], sd->base, off);
        return off;
    }
    sd->base = lin - off;
    return off;
}

/* ------------------------------------------------------------------ */
/* Instruction encoding                                                 */
/* ------------------------------------------------------------------ */

typedef struct mform {
    int asz;
    int seg;
    uint8_t ovr; /* segment override prefix byte, 0 none */
    uint8_t mod, rm, has_sib, sib;
    int dispsz;
    uint32_t disp;
    uint32_t off;
} mform;

static const uint8_t g_ovr_byte[6] = {0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65};

static void set_reg16(int r, uint32_t v)
{
    g_c->gpr[r] = (g_c->gpr[r] & 0xFFFF0000u) | (v & 0xFFFF);
}

/* Picks the ModRM memory form, the segment and the offset for an operand
 * of n bytes, and sets the address registers. excl: GPRs the instruction
 * sets itself. */
static void plan_modrm(mform *f, uint32_t n, int rw, unsigned excl, int allow_fault)
{
    memset(f, 0, sizeof *f);
    f->asz = chance(1, 4) ? 6 - g_dsize : g_dsize;
    if (g_c->mode == MREAL && f->asz == 4 && chance(1, 2))
        f->asz = 2;
    int defseg = S_DS;
    static const int b16[8] = {R_BX, R_BX, R_BP, R_BP, R_SI, R_DI, R_BP, R_BX};
    static const int i16[8] = {R_SI, R_DI, R_SI, R_DI, -1, -1, -1, -1};
    int base = -1, index = -1, scale = 0;
    if (f->asz == 2) {
        for (;;) {
            f->rm = (uint8_t)rndn(8);
            f->mod = (uint8_t)rndn(3);
            if (f->mod == 0 && f->rm == 6)
                break; /* [disp16] */
            base = b16[f->rm];
            index = i16[f->rm];
            if ((excl >> base) & 1)
                continue;
            if (index >= 0 && ((excl >> index) & 1))
                continue;
            break;
        }
        if (f->mod == 0 && f->rm == 6) {
            base = -1;
            f->dispsz = 2;
        } else {
            f->dispsz = f->mod == 1 ? 1 : f->mod == 2 ? 2 : 0;
            if (f->rm == 2 || f->rm == 3 || f->rm == 6)
                defseg = S_SS;
        }
    } else {
        int form = (int)rndn(10);
        if (form == 9) {
            f->mod = 0;
            f->rm = 5;
            f->dispsz = 4; /* [disp32] */
        } else {
            do
                base = (int)rndn(8);
            while ((excl >> base) & 1);
            if (form >= 5) {
                int tries = 0;
                do
                    index = (int)rndn(8);
                while ((index == 4 || index == base || ((excl >> index) & 1)) && ++tries < 50);
                if (tries >= 50)
                    index = -1;
                scale = (int)rndn(4);
            }
            if (form == 8 && index >= 0)
                base = -1; /* [index*s + disp32] */
            f->dispsz = form % 3 == 0 ? 0 : form % 3 == 1 ? 1 : 4;
            if (base == 5 && f->dispsz == 0)
                f->dispsz = 1;
            if (base < 0)
                f->dispsz = 4;
            f->mod = base < 0 ? 0 : f->dispsz == 0 ? 0 : f->dispsz == 1 ? 1 : 2;
            if (index >= 0 || base == 4 || base < 0) {
                f->rm = 4;
                f->has_sib = 1;
                f->sib = (uint8_t)((scale << 6) | ((index < 0 ? 4 : index) << 3) |
                                   (base < 0 ? 5 : base));
            } else {
                f->rm = (uint8_t)base;
            }
            if (base == 4 || base == 5)
                defseg = S_SS;
        }
    }
    f->seg = defseg;
    if (chance(1, 3)) {
        int s = (int)rndn(6);
        if (s == S_CS && !((rw & 2) && allow_fault && g_fault_left > 0 && g_c->mode != MREAL))
            s = S_DS;
        if (s != defseg || chance(1, 4))
            f->ovr = g_ovr_byte[s];
        f->seg = s;
    }
    f->off = plan_seg(f->seg, n, rw, f->asz, allow_fault);
    /* Registers and displacement producing f->off. */
    uint32_t disp = 0;
    if (f->dispsz == 1)
        disp = (uint32_t)(int32_t)(int8_t)rnd();
    else if (f->dispsz == 2)
        disp = (uint32_t)(int32_t)(int16_t)rnd();
    else if (f->dispsz == 4)
        disp = chance(1, 2) ? (uint32_t)rnd() : (uint32_t)(int32_t)(int16_t)rnd();
    if (f->asz == 2) {
        if (base < 0) {
            disp = f->off;
        } else if (index < 0) {
            set_reg16(base, f->off - disp);
        } else {
            uint32_t iv = (uint32_t)rnd();
            set_reg16(index, iv);
            set_reg16(base, f->off - disp - iv);
        }
        f->disp = disp & 0xFFFF;
    } else {
        if (base < 0 && index < 0) {
            disp = f->off;
        } else if (base < 0) {
            /* index*scale + disp32 */
            uint32_t iv = (uint32_t)rnd();
            g_c->gpr[index] = iv;
            disp = f->off - (iv << scale);
        } else if (index < 0) {
            g_c->gpr[base] = f->off - disp;
        } else {
            uint32_t iv = chance(1, 2) ? (uint32_t)rnd() : rndn(4096) - 2048;
            g_c->gpr[index] = iv;
            g_c->gpr[base] = f->off - (iv << scale) - disp;
        }
        f->disp = disp;
    }
    const segd *sd = &g_c->seg[f->seg];
    if (f->seg != S_CS)
        note_access(sd->base + f->off, (rw & 2) && !(rw & 1), rw == 3);
}

typedef struct ienc {
    uint8_t *b;
    int n;
} ienc;

static void ie8(ienc *e, unsigned v)
{
    if (e->n < 16)
        e->b[e->n] = (uint8_t)v;
    e->n++;
}

static void ie_n(ienc *e, uint32_t v, int n)
{
    for (int i = 0; i < n; i++)
        ie8(e, (v >> (8 * i)) & 0xFF);
}

/* Prefixes: lock, rep (0, 0xF2, 0xF3), the form's override, 66 for a
 * non-default operand size (opsz 1 means a byte form), 67. */
static void ie_prefixes(ienc *e, int lock, int rep, const mform *f, int opsz, int asz)
{
    if (lock)
        ie8(e, 0xF0);
    if (rep)
        ie8(e, (unsigned)rep);
    if (f && f->ovr)
        ie8(e, f->ovr);
    if (opsz != 1 && opsz != g_dsize)
        ie8(e, 0x66);
    if (asz != g_dsize)
        ie8(e, 0x67);
}

static void ie_modrm(ienc *e, unsigned reg, const mform *f)
{
    ie8(e, ((unsigned)f->mod << 6) | ((reg & 7) << 3) | f->rm);
    if (f->has_sib)
        ie8(e, f->sib);
    ie_n(e, f->disp, f->dispsz);
}

/* One memory-operand instruction: prefixes, opcode bytes, ModRM. */
static void ie_mem_insn(ienc *e, int lock, const mform *f, int opsz, const uint8_t *opc, int nopc,
                        unsigned reg)
{
    ie_prefixes(e, lock, 0, f, opsz, f->asz);
    for (int i = 0; i < nopc; i++)
        ie8(e, opc[i]);
    ie_modrm(e, reg, f);
}

static void put_mem(uint32_t lin, uint32_t v, int size)
{
    for (int i = 0; i < size; i++) {
        uint32_t a = lin + (uint32_t)i;
        if (a >= ARENA && a < ARENA + ARENA_SIZE)
            g_c->arena[a - ARENA] = (uint8_t)(v >> (8 * i));
    }
}

static uint32_t get_mem(uint32_t lin, int size)
{
    uint32_t v = 0;
    for (int i = 0; i < size; i++) {
        uint32_t a = lin + (uint32_t)i;
        if (a >= ARENA && a < ARENA + ARENA_SIZE)
            v |= (uint32_t)g_c->arena[a - ARENA] << (8 * i);
    }
    return v;
}

static uint32_t form_lin(const mform *f)
{
    return g_c->seg[f->seg].base + f->off;
}

static int rnd_opsz(void)
{
    return chance(1, 2) ? 2 : 4;
}

static const char *const g_szn[5] = {"", "b", "w", "", "d"};

static void text(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_c->text, TEXT_LEN, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------ */
/* Families                                                             */
/* ------------------------------------------------------------------ */

static void gen_mov(ienc *e)
{
    static const uint8_t ops[6] = {0x88, 0x89, 0x8A, 0x8B, 0xC6, 0xC7};
    int k = (int)rndn(6);
    int size = (ops[k] & 1) ? rnd_opsz() : 1;
    int load = k == 2 || k == 3;
    mform f;
    plan_modrm(&f, (uint32_t)size, load ? 1 : 2, 0, 1);
    put_mem(form_lin(&f), rnd_val(size), size);
    ie_mem_insn(e, 0, &f, size, &ops[k], 1, k >= 4 ? 0 : rndn(8));
    if (k >= 4)
        ie_n(e, rnd_val(size), size);
    text("mov%s op %02x", g_szn[size], ops[k]);
}

static void gen_moffs(ienc *e)
{
    int k = (int)rndn(4);
    int size = (k & 1) ? rnd_opsz() : 1;
    mform f;
    memset(&f, 0, sizeof f);
    f.asz = chance(1, 4) ? 6 - g_dsize : g_dsize;
    f.seg = S_DS;
    if (chance(1, 3)) {
        f.seg = (int)rndn(6);
        if (f.seg == S_CS && (k < 2 || g_c->mode == MREAL))
            f.seg = S_ES;
        f.ovr = g_ovr_byte[f.seg];
    }
    f.off = plan_seg(f.seg, (uint32_t)size, k < 2 ? 1 : 2, f.asz, 1);
    if (f.seg != S_CS)
        note_access(form_lin(&f), k >= 2, 0);
    put_mem(form_lin(&f), rnd_val(size), size);
    ie_prefixes(e, 0, 0, &f, size, f.asz);
    ie8(e, 0xA0u + (unsigned)k);
    ie_n(e, f.off, f.asz);
    text("mov%s moffs%d op %02x", g_szn[size], f.asz * 8, 0xA0 + k);
}

static void gen_movx(ienc *e)
{
    static const uint8_t op2[4] = {0xB6, 0xB7, 0xBE, 0xBF};
    int k = (int)rndn(4);
    uint8_t opc[2] = {0x0F, op2[k]};
    int src = (k & 1) ? 2 : 1;
    int size = rnd_opsz();
    mform f;
    plan_modrm(&f, (uint32_t)src, 1, 0, 1);
    put_mem(form_lin(&f), rnd_val(src), src);
    ie_mem_insn(e, 0, &f, size, opc, 2, rndn(8));
    text("mov%cx r%d, m%d", k >= 2 ? 's' : 'z', size * 8, src * 8);
}

static const char *const g_alu[8] = {"add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"};

static uint32_t alu_undef(int op)
{
    return (op == 1 || op == 4 || op == 6) ? F_AF : 0;
}

static void gen_alu(ienc *e)
{
    int op = (int)rndn(8);
    int form = (int)rndn(3); /* 0: m,r  1: r,m  2: m,imm */
    int size = chance(1, 3) ? 1 : rnd_opsz();
    int dst = form != 1;
    int lock = dst && op != 7 && chance(1, 5);
    int rw = !dst ? 1 : op == 7 ? 1 : 3;
    mform f;
    plan_modrm(&f, (uint32_t)size, rw, 0, 1);
    put_mem(form_lin(&f), rnd_val(size), size);
    if (form < 2) {
        uint8_t opc = (uint8_t)(op * 8 + form * 2 + (size == 1 ? 0 : 1));
        ie_mem_insn(e, lock, &f, size, &opc, 1, rndn(8));
        text("%s%s%s %s", lock ? "lock " : "", g_alu[op], g_szn[size], form ? "r, m" : "m, r");
    } else {
        int k = size == 1 ? 0 : chance(1, 2) ? 1 : 2;
        static const uint8_t ops[3] = {0x80, 0x81, 0x83};
        ie_mem_insn(e, lock, &f, size, &ops[k], 1, (unsigned)op);
        int ni = k == 1 ? size : 1;
        ie_n(e, rnd_val(ni), ni);
        text("%s%s%s m, imm (op %02x)", lock ? "lock " : "", g_alu[op], g_szn[size], ops[k]);
    }
    g_c->undef = alu_undef(op);
}

static void gen_test(ienc *e)
{
    int k = (int)rndn(4);
    static const uint8_t ops[4] = {0x84, 0x85, 0xF6, 0xF7};
    int size = (k & 1) ? rnd_opsz() : 1;
    mform f;
    plan_modrm(&f, (uint32_t)size, 1, 0, 1);
    put_mem(form_lin(&f), rnd_val(size), size);
    ie_mem_insn(e, 0, &f, size, &ops[k], 1, k < 2 ? rndn(8) : 0);
    if (k >= 2)
        ie_n(e, rnd_val(size), size);
    g_c->undef = F_AF;
    text("test%s op %02x", g_szn[size], ops[k]);
}

static void gen_unary(ienc *e)
{
    static const char *const nm[4] = {"inc", "dec", "not", "neg"};
    int which = (int)rndn(4);
    int size = chance(1, 3) ? 1 : rnd_opsz();
    uint8_t opc = which < 2 ? (size == 1 ? 0xFE : 0xFF) : (size == 1 ? 0xF6 : 0xF7);
    unsigned reg = which < 2 ? (unsigned)which : (unsigned)which;
    int lock = chance(1, 5);
    mform f;
    plan_modrm(&f, (uint32_t)size, 3, 0, 1);
    put_mem(form_lin(&f), rnd_val(size), size);
    ie_mem_insn(e, lock, &f, size, &opc, 1, reg);
    text("%s%s%s m", lock ? "lock " : "", nm[which], g_szn[size]);
}

/* Shifts and rotates; undefined flags as in the SDM (count masked to 5
 * bits; masked 0 changes nothing; OF undefined unless 1; AF undefined for
 * shifts; CF undefined for SHL/SHR when the count reaches the width). */
static uint32_t shift_undef(int op, unsigned count, int size)
{
    unsigned c = count & 0x1F;
    if (c == 0)
        return 0;
    uint32_t u = 0;
    if (c != 1)
        u |= F_OF;
    if (op >= 4) {
        u |= F_AF;
        if ((op == 4 || op == 5 || op == 6) && c >= (unsigned)size * 8)
            u |= F_CF;
    }
    return u;
}

static void gen_shift(ienc *e)
{
    static const char *const nm[8] = {"rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar"};
    int op = (int)rndn(8);
    if (op == 6)
        op = 4;
    int size = chance(1, 3) ? 1 : rnd_opsz();
    int form = (int)rndn(3);
    uint8_t opc = (uint8_t)((form == 0 ? 0xD0 : form == 1 ? 0xD2 : 0xC0) + (size == 1 ? 0 : 1));
    unsigned count = chance(3, 4) ? rndn((uint64_t)size * 8 + 3) : rndn(256);
    mform f;
    plan_modrm(&f, (uint32_t)size, 3, form == 1 ? 1u << R_CX : 0u, 1);
    put_mem(form_lin(&f), rnd_val(size), size);
    if (form == 1)
        g_c->gpr[R_CX] = (g_c->gpr[R_CX] & ~0xFFu) | count;
    ie_mem_insn(e, 0, &f, size, &opc, 1, (unsigned)op);
    if (form == 2)
        ie8(e, count);
    if (form == 0)
        count = 1;
    g_c->undef = shift_undef(op, count, size);
    text("%s%s m, %s (count %u)", nm[op], g_szn[size], form == 0 ? "1" : form == 1 ? "cl" : "imm8",
         count);
}

static void gen_xchg(ienc *e)
{
    int size = chance(1, 3) ? 1 : rnd_opsz();
    uint8_t opc = size == 1 ? 0x86 : 0x87;
    mform f;
    plan_modrm(&f, (uint32_t)size, 3, 0, 1);
    put_mem(form_lin(&f), rnd_val(size), size);
    ie_mem_insn(e, chance(1, 5), &f, size, &opc, 1, rndn(8));
    text("xchg%s m, r", g_szn[size]);
}

static void gen_cmpxchg(ienc *e)
{
    int size = chance(1, 3) ? 1 : rnd_opsz();
    uint8_t opc[2] = {0x0F, (uint8_t)(size == 1 ? 0xB0 : 0xB1)};
    int lock = chance(1, 4);
    int eq = chance(1, 2);
    mform f;
    plan_modrm(&f, (uint32_t)size, 3, 1u << R_AX, 1);
    uint32_t v = rnd_val(size);
    put_mem(form_lin(&f), v, size);
    if (eq)
        g_c->gpr[R_AX] = (g_c->gpr[R_AX] & ~smask(size)) | v;
    ie_mem_insn(e, lock, &f, size, opc, 2, rndn(8));
    text("%scmpxchg%s m, r (%s)", lock ? "lock " : "", g_szn[size], eq ? "equal" : "random");
}

static void gen_xadd(ienc *e)
{
    int size = chance(1, 3) ? 1 : rnd_opsz();
    uint8_t opc[2] = {0x0F, (uint8_t)(size == 1 ? 0xC0 : 0xC1)};
    int lock = chance(1, 4);
    mform f;
    plan_modrm(&f, (uint32_t)size, 3, 0, 1);
    put_mem(form_lin(&f), rnd_val(size), size);
    ie_mem_insn(e, lock, &f, size, opc, 2, rndn(8));
    text("%sxadd%s m, r", lock ? "lock " : "", g_szn[size]);
}

/* BT BTS BTR BTC with an immediate (offset mod width) or a register (a
 * signed offset that may leave the operand; the accessed unit is what the
 * segment checks see). SDM: CF = the bit; OF SF AF PF undefined. */
static void gen_bt(ienc *e)
{
    static const char *const nm[4] = {"bt", "bts", "btr", "btc"};
    int k = (int)rndn(4);
    int size = rnd_opsz();
    int lock = k != 0 && chance(1, 5);
    int byreg = chance(1, 2);
    int rw = k == 0 ? 1 : 3;
    int bits = size * 8;
    int32_t boff = 0;
    int reg = (int)rndn(8);
    mform f;
    if (byreg) {
        boff = chance(1, 2) ? (int32_t)rndn((uint64_t)bits) : (int32_t)rndn(2 * 96 * 8) - 96 * 8;
        int32_t unit = boff >= 0 ? boff / bits : -((-boff + bits - 1) / bits);
        /* Plan the accessed unit, then move the operand base back. */
        plan_modrm(&f, (uint32_t)size, rw, 1u << reg, 1);
        uint32_t ua = form_lin(&f);
        int32_t delta = unit * size;
        uint32_t am = f.asz == 2 ? 0xFFFF : 0xFFFFFFFFu;
        uint32_t noff = (f.off - (uint32_t)delta) & am;
        if (((noff + (uint32_t)delta) & 0xFFFFFFFFu) != f.off && f.asz == 2) {
            /* 16-bit offset wrap would move the unit: keep the bit inside. */
            boff = (int32_t)rndn((uint64_t)bits);
            delta = 0;
            noff = f.off;
        }
        /* Re-solve the address registers for noff (same form). */
        uint32_t diff = noff - f.off;
        if (f.asz == 2) {
            if (f.mod == 0 && f.rm == 6) {
                f.disp = (f.disp + diff) & 0xFFFF;
            } else {
                static const int b16[8] = {R_BX, R_BX, R_BP, R_BP, R_SI, R_DI, R_BP, R_BX};
                set_reg16(b16[f.rm], g_c->gpr[b16[f.rm]] + diff);
            }
        } else {
            f.disp += diff; /* the displacement absorbs it (mod 2^32) */
            if (f.dispsz == 1 || (f.dispsz == 0 && (f.has_sib || f.rm != 5))) {
                /* Too small a displacement: adjust the base register. */
                f.disp -= diff;
                int base = f.has_sib ? (f.sib & 7) : f.rm;
                g_c->gpr[base] += diff;
            }
        }
        f.off = noff;
        g_c->gpr[reg] = (g_c->gpr[reg] & ~smask(size)) | ((uint32_t)boff & smask(size));
        put_mem(ua, (uint32_t)rnd(), size);
    } else {
        plan_modrm(&f, (uint32_t)size, rw, 0, 1);
        put_mem(form_lin(&f), (uint32_t)rnd(), size);
    }
    if (byreg) {
        uint8_t opc[2] = {0x0F, (uint8_t)(0xA3 + 8 * k)};
        ie_mem_insn(e, lock, &f, size, opc, 2, (unsigned)reg);
    } else {
        static const uint8_t opc[2] = {0x0F, 0xBA};
        ie_mem_insn(e, lock, &f, size, opc, 2, 4u + (unsigned)k);
        boff = (int32_t)rndn(256);
        ie8(e, (unsigned)boff);
    }
    g_c->undef = F_OF | F_SF | F_AF | F_PF;
    text("%s%s%s m, %s (offset %d)", lock ? "lock " : "", nm[k], g_szn[size], byreg ? "r" : "imm8",
         boff);
}

static void gen_setcc(ienc *e)
{
    int cc = (int)rndn(16);
    uint8_t opc[2] = {0x0F, (uint8_t)(0x90 + cc)};
    mform f;
    plan_modrm(&f, 1, 2, 0, 1);
    put_mem(form_lin(&f), rnd_val(1), 1);
    ie_mem_insn(e, 0, &f, 1, opc, 2, chance(1, 8) ? rndn(8) : 0);
    text("set cc=%x m8", cc);
}

static void gen_cmovcc(ienc *e)
{
    int cc = (int)rndn(16);
    uint8_t opc[2] = {0x0F, (uint8_t)(0x40 + cc)};
    int size = rnd_opsz();
    mform f;
    plan_modrm(&f, (uint32_t)size, 1, 0, 1);
    put_mem(form_lin(&f), rnd_val(size), size);
    ie_mem_insn(e, 0, &f, size, opc, 2, rndn(8));
    text("cmov cc=%x%s r, m", cc, g_szn[size]);
}

/* MUL IMUL DIV IDIV m (F6/F7 /4-7). SDM: MUL/IMUL define CF OF only; DIV
 * and IDIV leave all six undefined. */
static void gen_muldiv(ienc *e)
{
    static const char *const nm[4] = {"mul", "imul", "div", "idiv"};
    int k = (int)rndn(4);
    int div = k >= 2;
    int size = chance(1, 3) ? 1 : rnd_opsz();
    uint8_t opc = size == 1 ? 0xF6 : 0xF7;
    mform f;
    plan_modrm(&f, (uint32_t)size, 1, div ? (1u << R_AX) | (1u << R_DX) : 0u, 1);
    uint32_t d = rnd_val(size);
    uint32_t m = smask(size);
    if (div && chance(3, 4)) {
        if (d == 0)
            d = 1 + rndn(m < 1000 ? m : 1000);
        if (k == 2) {
            uint32_t hi = rndn(d);
            if (size == 1)
                g_c->gpr[R_AX] = (g_c->gpr[R_AX] & ~0xFF00u) | (hi << 8);
            else
                g_c->gpr[R_DX] = (g_c->gpr[R_DX] & ~m) | hi;
        } else {
            int32_t sd = (int32_t)(d << (32 - 8 * size)) >> (32 - 8 * size);
            uint32_t ad = sd < 0 ? 0u - (uint32_t)sd : (uint32_t)sd;
            uint32_t lo = rndn(ad ? ad : 1) >> 1;
            if (chance(1, 2))
                lo = 0u - lo;
            if (size == 1) {
                g_c->gpr[R_AX] = (g_c->gpr[R_AX] & ~0xFFFFu) | (lo & 0xFFFF);
            } else {
                g_c->gpr[R_AX] = (g_c->gpr[R_AX] & ~m) | (lo & m);
                g_c->gpr[R_DX] = (g_c->gpr[R_DX] & ~m) | ((int32_t)lo < 0 ? m : 0);
            }
        }
    }
    put_mem(form_lin(&f), d, size);
    ie_mem_insn(e, 0, &f, size, &opc, 1, 4u + (unsigned)k);
    g_c->undef = div ? F_ARITH : (F_SF | F_ZF | F_AF | F_PF);
    text("%s%s m", nm[k], g_szn[size]);
}

/* PUSH m (FF /6) and POP m (8F /0) with a 16- or 32-bit stack (SS.B).
 * ESP is never an address register of the ModRM operand here. */
static void gen_pushpop(ienc *e)
{
    int pop = (int)rndn(2);
    int size = rnd_opsz();
    mcase *c = g_c;
    c->seg[S_SS].big = c->mode == MREAL ? 0 : (uint8_t)rndn(2);
    int sasz = c->seg[S_SS].big ? 4 : 2;
    int stack_first = chance(1, 2); /* which access gets the fault scenario */
    mform f;
    uint32_t soff;
    uint32_t sp;
    if (stack_first) {
        soff = plan_seg(S_SS, (uint32_t)size, pop ? 1 : 2, sasz, 1);
    }
    plan_modrm(&f, (uint32_t)size, pop ? 2 : 1, (1u << R_SP), 1);
    if (!stack_first)
        soff = plan_seg(S_SS, (uint32_t)size, pop ? 1 : 2, sasz, 0);
    /* SP: push writes at SP - size, pop reads at SP. Sometimes SP = 0 for
     * a push (wraps to the top of a 16-bit stack). */
    if (pop) {
        sp = soff;
    } else {
        sp = soff + (uint32_t)size;
        if (sasz == 2 && soff == 0x10000u - (uint32_t)size)
            sp = 0;
    }
    if (sasz == 2)
        c->gpr[R_SP] = (c->gpr[R_SP] & 0xFFFF0000u) | (sp & 0xFFFF);
    else
        c->gpr[R_SP] = sp;
    uint32_t slin = c->seg[S_SS].base + soff;
    put_mem(slin, rnd_val(size), size);
    put_mem(form_lin(&f), rnd_val(size), size);
    /* The first access: PUSH reads the operand, POP reads the stack. */
    if (pop) {
        c->has_exit = 1;
        c->exit_lin = slin;
        c->exit_write = 0;
        c->exit_rmw = 0;
    }
    static const uint8_t ff = 0xFF, f8 = 0x8F;
    if (c->mode != MREAL && chance(1, 4)) {
        /* [esp + disp8]: PUSH computes the address before decrementing
         * ESP, POP after incrementing it (SDM Vol. 2 POP); with a 16-bit
         * stack only SP moves. ESP's upper half is kept small so that the
         * 32-bit address stays near the stack slot. */
        int32_t disp = (int32_t)rndn(17) - 8;
        if (sasz == 2)
            c->gpr[R_SP] &= 0xFFFF;
        uint32_t sp2 = c->gpr[R_SP];
        if (pop)
            sp2 = sasz == 2 ? (sp2 & 0xFFFF0000u) | ((sp2 + (uint32_t)size) & 0xFFFF)
                            : sp2 + (uint32_t)size;
        put_mem(c->seg[S_SS].base + sp2 + (uint32_t)disp, rnd_val(size), size);
        if (!pop) {
            c->has_exit = 1;
            c->exit_lin = c->seg[S_SS].base + sp2 + (uint32_t)disp;
            c->exit_write = 0;
            c->exit_rmw = 0;
        }
        if (size != g_dsize)
            ie8(e, 0x66);
        if (g_dsize == 2)
            ie8(e, 0x67);
        ie8(e, pop ? f8 : ff);
        ie8(e, pop ? 0x44 : 0x74); /* mod 01, reg 0 or 6, rm SIB */
        ie8(e, 0x24);              /* base ESP, no index */
        ie8(e, (unsigned)disp & 0xFF);
        text("%s%s [esp%+d] (%d-bit stack)", pop ? "pop" : "push", g_szn[size], disp, sasz * 8);
        return;
    }
    ie_mem_insn(e, 0, &f, size, pop ? &f8 : &ff, 1, pop ? 0 : 6);
    text("%s%s m (%d-bit stack)", pop ? "pop" : "push", g_szn[size], sasz * 8);
}

/* String instructions: MOVS STOS LODS CMPS SCAS with REP, both directions,
 * 16- or 32-bit addressing; the walk may run into a segment limit, an
 * expand-down lower bound, a 16-bit offset wrap or an absent page. */
static void gen_string(ienc *e, int kind)
{
    static const uint8_t base_op[5] = {0xA4, 0xAA, 0xAC, 0xA6, 0xAE};
    static const char *const nm[5] = {"movs", "stos", "lods", "cmps", "scas"};
    mcase *c = g_c;
    int size = chance(1, 3) ? 1 : rnd_opsz();
    int rep = chance(3, 4);
    int repne = rep && (kind >= 3 ? chance(1, 2) : chance(1, 8));
    int asz = chance(1, 3) ? 6 - g_dsize : g_dsize;
    if (c->mode == MREAL && asz == 4 && chance(1, 2))
        asz = 2;
    uint32_t am = asz == 2 ? 0xFFFF : 0xFFFFFFFFu;
    uint32_t count = rep ? rndn(25) : 1;
    int df = chance(1, 2);
    if (df)
        c->efl |= F_DF;
    else
        c->efl &= ~F_DF;
    int has_src = kind == 0 || kind == 2 || kind == 3;
    int has_dst = kind != 2;
    int src_seg = S_DS;
    uint8_t ovr = 0;
    if (has_src && chance(1, 4)) {
        src_seg = (int)rndn(6);
        if (src_seg == S_CS)
            src_seg = S_ES;
        /* Which of its two operands CMPS checks and reads first is not
         * architectural (this host's CPU takes ES:rDI first), so CMPS keeps
         * them in different segments: only one of them can fault. */
        if (kind == 3 && src_seg == S_ES)
            src_seg = S_FS;
        ovr = g_ovr_byte[src_seg];
    }
    uint32_t n = (uint32_t)size;
    uint32_t walk = (count ? count : 1) * n;
    /* Which operand runs into trouble, and at which element. */
    int victim = has_src && has_dst ? (int)rndn(2) : has_src ? 0 : 1; /* 0 src, 1 dst */
    uint32_t kstop = count ? rndn(count) : 0;
    unsigned sc = rndn(100);
    uint32_t offs[2] = {0, 0};
    for (int side = 0; side < 2; side++) {
        if ((side == 0 && !has_src) || (side == 1 && !has_dst))
            continue;
        int s = side == 0 ? src_seg : S_ES;
        int rw = side == 1 && kind <= 1 ? 2 : 1;
        segd *sd = &c->seg[s];
        uint32_t lin_first;
        /* the walk's lowest linear address lies in the arena */
        uint32_t lo = pick_lin(walk);
        if (side != victim) /* away from the page a fault scenario may take */
            lo = chance(1, 2) ? ARENA + 16 + rndn(PG - 32 - walk)
                              : ARENA + 2 * PG + 16 + rndn(PG - 32 - walk);
        lin_first = df ? lo + walk - n : lo;
        if (sd->set) {
            /* Same segment as the other operand. The order in which CMPS
             * reads its two operands is not architectural (this matters
             * when both fault), so keep this walk off the page a fault
             * scenario may take. */
            int found = 0;
            for (int t = 0; t < 30 && !found; t++) {
                if (!reach_arena(sd->base, am, walk, n, df, &offs[side]))
                    break;
                uint32_t l0 = sd->base + (df ? offs[side] - (walk - n) : offs[side]);
                found = l0 + walk <= ARENA + PG || l0 >= ARENA + 2 * PG;
            }
            if (!found)
                offs[side] = offs[0];
            continue;
        }
        if (side == victim && sc < 55 && count && c->mode != MREAL) {
            /* plan_seg with a fault scenario for the first element, then
             * move the limit or the page to element kstop. */
            unsigned kind2 = rndn(5);
            if (kind2 == 0 && !df) {
                /* expand-up limit cut at element kstop */
                memset(sd, 0, sizeof *sd);
                sd->set = 1;
                sd->big = s == S_SS ? sd->big : (uint8_t)rndn(2);
                uint32_t off0 = rndn(asz == 2 ? 0x8000 : 0x80000);
                uint32_t j = rndn(n);
                uint32_t lim = off0 + kstop * n + j - 1 + (j == 0 && kstop == 0 ? 1 : 0);
                if (lim < off0)
                    lim = off0;
                sd->lim_raw = lim;
                sd->base = lin_first - off0;
                offs[side] = off0;
                scen("%s limit %x cuts the walk at element %u", g_sname[s], lim, kstop);
            } else if (kind2 == 0 || kind2 == 1) {
                /* expand-down: walking down into the limit (or up for
                 * DF=0 past a 16-bit upper bound) */
                memset(sd, 0, sizeof *sd);
                sd->set = 1;
                sd->contents = 1;
                sd->big = (uint8_t)(asz == 2 ? rndn(2) : 1);
                uint32_t off0;
                if (df) {
                    off0 = 0x1000 + rndn(asz == 2 ? 0xE000 : 0xFE000);
                    uint32_t offk = off0 - kstop * n;
                    uint32_t lim = offk + rndn(n);
                    sd->lim_raw = lim;
                    scen("%s expand-down limit %x stops the walk down at element %u", g_sname[s],
                         lim, kstop);
                } else {
                    sd->big = 0;
                    off0 = 0x10000 - (kstop * n) - rndn(n) - n + 1;
                    if (asz == 2)
                        off0 &= 0xFFFF;
                    sd->lim_raw = rndn(off0 > 0x100 ? off0 - 0x100 : 1);
                    scen("%s 16-bit expand-down upper bound 0xffff reached at element %u",
                         g_sname[s], kstop);
                }
                sd->base = lin_first - off0;
                offs[side] = off0;
            } else if (kind2 == 2 && asz == 2) {
                /* 16-bit offset wraps (0xffff -> 0 up, 0 -> 0xffff down) */
                memset(sd, 0, sizeof *sd);
                sd->set = 1;
                sd->lim_raw = chance(1, 2) ? 0xFFFF : 0xFFFFF;
                sd->g = (uint8_t)(sd->lim_raw == 0xFFFFF);
                uint32_t off0 = df ? kstop * n + rndn(n) : (0x10000 - kstop * n - rndn(n)) & 0xFFFF;
                sd->base = lin_first - off0;
                offs[side] = off0 & 0xFFFF;
                scen("%s 16-bit offset wraps near element %u", g_sname[s], kstop);
            } else {
                /* absent or read-only page met at element kstop */
                memset(sd, 0, sizeof *sd);
                sd->set = 1;
                sd->g = 1;
                sd->lim_raw = 0xFFFFF;
                sd->big = 1;
                uint32_t b = ARENA + (df ? 2 * PG : PG);
                /* element kstop straddles or touches the boundary */
                uint32_t lk = df ? b - 1 - rndn(n) : b - (n - 1) + rndn(n);
                if (df)
                    lk = b - n + rndn(n); /* element covers b-1.. (in P1) */
                uint32_t l0 = df ? lk + kstop * n : lk - kstop * n;
                c->prot[1] = (rw & 2) && chance(1, 2) ? PR_RO : PR_NONE;
                uint32_t off0 = rndn(asz == 2 ? 0xF000 : 0x10000000);
                sd->base = l0 - off0;
                offs[side] = off0;
                scen("page %x %s met at element %u", ARENA + PG,
                     c->prot[1] == PR_RO ? "read-only" : "not present", kstop);
            }
            continue;
        }
        if (side == victim && sc < 75 && count && c->mode != MREAL) {
            /* A first-element fault: rights, null, #AC. */
            offs[side] = plan_seg(s, n, rw, asz, 1);
            uint32_t o = offs[side];
            sd = &c->seg[s];
            uint32_t lin = sd->base + o;
            /* keep the whole walk in the arena when plan_seg aimed inside */
            if (lin >= ARENA && lin < ARENA + ARENA_SIZE) {
                int32_t shift = 0;
                uint32_t lo2 = df ? lin - (walk - n) : lin;
                if (lo2 < ARENA + 8)
                    shift = (int32_t)(ARENA + 8 - lo2);
                else if (lo2 + walk > ARENA + ARENA_SIZE - 8)
                    shift = -(int32_t)(lo2 + walk - (ARENA + ARENA_SIZE - 8));
                sd->base += (uint32_t)shift;
            }
            continue;
        }
        /* Normal segment holding the whole walk. */
        memset(sd, 0, sizeof *sd);
        sd->set = 1;
        if (c->mode == MREAL) {
            sd->lim_raw = 0xFFFF;
            uint32_t off0;
            do {
                off0 = (rnd_off(0xFFFF, 1) & ~15u) | (lin_first & 15u);
            } while (off0 > lin_first || (df ? off0 < walk : off0 + walk > 0x10000));
            sd->base = lin_first - off0;
            offs[side] = off0;
            if (side == victim && sc >= 75 && sc < 90 && count && !df && (n > 1 || asz == 4)) {
                /* real mode: the walk going up reaches offset 0xffff */
                uint32_t o = 0x10000 - kstop * n - (n > 1 ? 1 + rndn(n - 1) : 0);
                sd->base = (lin_first - o) & ~15u;
                offs[side] = o;
                scen("%s real-mode walk reaches 0xffff at element %u", g_sname[s], kstop);
            }
        } else {
            sd->big = (uint8_t)rndn(2);
            uint32_t off0 = df ? walk + rnd_off(asz == 2 ? 0xFFFF - walk : 0x7FFFFFFF, 1)
                               : rnd_off(asz == 2 ? 0xFFFF - walk : 0x7FFFFFFF, 1);
            if (asz == 2 && off0 > 0xFFFF)
                off0 = df ? 0xFFFF - rndn(0x100) : rndn(0x100);
            limit_atleast(sd, df ? off0 + n - 1 : off0 + walk - 1);
            sd->base = lin_first - off0;
            offs[side] = off0;
        }
    }
    uint32_t si_lin = c->seg[src_seg].base + offs[0];
    uint32_t di_lin = c->seg[S_ES].base + offs[1];
    if (has_src)
        c->gpr[R_SI] = asz == 2 ? (c->gpr[R_SI] & 0xFFFF0000u) | (offs[0] & 0xFFFF) : offs[0];
    if (has_dst)
        c->gpr[R_DI] = asz == 2 ? (c->gpr[R_DI] & 0xFFFF0000u) | (offs[1] & 0xFFFF) : offs[1];
    if (rep)
        c->gpr[R_CX] = asz == 2 ? (c->gpr[R_CX] & 0xFFFF0000u) | count : count;
    /* Memory: CMPS mostly equal runs; SCAS finds the accumulator. */
    if (kind == 3) {
        /* CMPS: the destination walk mostly equals the source walk. */
        uint32_t slo = df ? offs[0] - walk + n : offs[0];
        uint32_t dlo = df ? offs[1] - walk + n : offs[1];
        for (uint32_t i = 0; i < walk; i++)
            put_mem(c->seg[S_ES].base + ((dlo + i) & am),
                    get_mem(c->seg[src_seg].base + ((slo + i) & am), 1), 1);
        int nd = (int)rndn(3);
        for (int i = 0; i < nd; i++)
            put_mem(c->seg[S_ES].base + ((dlo + rndn(walk)) & am), (uint32_t)rnd(), 1);
    } else if (kind == 4 && count && chance(1, 2)) {
        uint32_t x = rndn(count);
        uint32_t da = c->seg[S_ES].base + ((offs[1] + (df ? 0u - x * n : x * n)) & am);
        c->gpr[R_AX] = (c->gpr[R_AX] & ~smask(size)) | get_mem(da, size);
    }
    if (count) {
        if (has_src)
            note_access(si_lin, 0, 0);
        else
            note_access(di_lin, kind == 1, 0);
    }
    if (rep)
        ie8(e, repne ? 0xF2u : 0xF3u);
    if (ovr)
        ie8(e, ovr);
    if (size != 1 && size != g_dsize)
        ie8(e, 0x66);
    if (asz != g_dsize)
        ie8(e, 0x67);
    ie8(e, base_op[kind] + (size == 1 ? 0u : 1u));
    text("%s%s%s a%d (count %u, DF=%d%s%s)", rep ? (repne ? (kind >= 3 ? "repne " : "f2-rep ") : "rep ") : "",
         nm[kind], g_szn[size], asz * 8, count, df, ovr ? ", src " : "", ovr ? g_sname[src_seg] : "");
}

static void gen_movs(ienc *e)
{
    gen_string(e, 0);
}
static void gen_stos(ienc *e)
{
    gen_string(e, 1);
}
static void gen_lods(ienc *e)
{
    gen_string(e, 2);
}
static void gen_cmps(ienc *e)
{
    gen_string(e, 3);
}
static void gen_scas(ienc *e)
{
    gen_string(e, 4);
}

/* SHLD/SHRD 0F A4/A5/AC/AD. SDM: masked count 0 changes nothing; AF
 * undefined; OF undefined unless the count is 1; a 16-bit count above 16
 * leaves result and flags undefined, so none is generated. */
static void gen_shxd(ienc *e)
{
    int right = (int)rndn(2), bycl = (int)rndn(2);
    int size = rnd_opsz();
    uint8_t opc[2] = {0x0F, (uint8_t)((right ? 0xAC : 0xA4) + bycl)};
    unsigned count;
    do
        count = chance(3, 4) ? rndn((uint64_t)size * 8 + 1) : rndn(256);
    while (size == 2 && (count & 0x1F) > 16);
    mform f;
    plan_modrm(&f, (uint32_t)size, 3, bycl ? 1u << R_CX : 0u, 1);
    put_mem(form_lin(&f), rnd_val(size), size);
    if (bycl)
        g_c->gpr[R_CX] = (g_c->gpr[R_CX] & ~0xFFu) | count;
    ie_mem_insn(e, 0, &f, size, opc, 2, rndn(8));
    if (!bycl)
        ie8(e, count);
    unsigned c = count & 0x1F;
    g_c->undef = c == 0 ? 0 : (F_AF | (c != 1 ? F_OF : 0));
    text("sh%cd%s m, r, %s (count %u)", right ? 'r' : 'l', g_szn[size], bycl ? "cl" : "imm8", count);
}

/* IMUL r, m (0F AF), r, m, iz (69), r, m, ib (6B): CF OF defined only. */
static void gen_imul2(ienc *e)
{
    int k = (int)rndn(3);
    static const uint8_t af[2] = {0x0F, 0xAF}, i69 = 0x69, i6b = 0x6B;
    int size = rnd_opsz();
    mform f;
    plan_modrm(&f, (uint32_t)size, 1, 0, 1);
    put_mem(form_lin(&f), rnd_val(size), size);
    ie_mem_insn(e, 0, &f, size, k == 0 ? af : k == 1 ? &i69 : &i6b, k == 0 ? 2 : 1, rndn(8));
    if (k == 1)
        ie_n(e, rnd_val(size), size);
    else if (k == 2)
        ie8(e, rnd_val(1));
    g_c->undef = F_SF | F_ZF | F_AF | F_PF;
    text("imul%s %s", g_szn[size], k == 0 ? "r, m" : k == 1 ? "r, m, iz" : "r, m, ib");
}

/* CMPXCHG8B (0F C7 /1): ZF defined, the other flags unaffected. */
static void gen_cmpxchg8b(ienc *e)
{
    static const uint8_t opc[2] = {0x0F, 0xC7};
    int lock = chance(1, 4), eq = chance(1, 2);
    mform f;
    plan_modrm(&f, 8, 3, (1u << R_AX) | (1u << R_DX), 1);
    uint32_t lo = (uint32_t)rnd(), hi = (uint32_t)rnd();
    put_mem(form_lin(&f), lo, 4);
    put_mem(form_lin(&f) + 4, hi, 4);
    if (eq) {
        g_c->gpr[R_AX] = lo;
        g_c->gpr[R_DX] = hi;
    }
    ie_mem_insn(e, lock, &f, 4, opc, 2, 1);
    text("%scmpxchg8b m (%s)", lock ? "lock " : "", eq ? "equal" : "random");
}

/* MOVBE 0F 38 F0/F1: no flags. */
static void gen_movbe(ienc *e)
{
    int store = (int)rndn(2);
    uint8_t opc[3] = {0x0F, 0x38, (uint8_t)(0xF0 + store)};
    int size = rnd_opsz();
    mform f;
    plan_modrm(&f, (uint32_t)size, store ? 2 : 1, 0, 1);
    put_mem(form_lin(&f), rnd_val(size), size);
    ie_mem_insn(e, 0, &f, size, opc, 3, rndn(8));
    text("movbe%s %s", g_szn[size], store ? "m, r" : "r, m");
}

/* BSF BSR TZCNT LZCNT POPCNT r, m (16/32-bit). SDM: BSF/BSR define ZF only
 * and leave the destination undefined for a zero source (the emulator keeps
 * it: compared with the input); TZCNT/LZCNT define CF ZF; POPCNT all six. */
static void gen_bitcount(ienc *e)
{
    static const struct {
        const char *name;
        uint8_t pfx, opc;
        uint32_t undef;
    } forms[] = {
        {"bsf", 0, 0xBC, F_CF | F_OF | F_SF | F_AF | F_PF},
        {"bsr", 0, 0xBD, F_CF | F_OF | F_SF | F_AF | F_PF},
        {"tzcnt", 0xF3, 0xBC, F_OF | F_SF | F_AF | F_PF},
        {"lzcnt", 0xF3, 0xBD, F_OF | F_SF | F_AF | F_PF},
        {"popcnt", 0xF3, 0xB8, 0},
    };
    int k = (int)rndn(5);
    int size = rnd_opsz();
    unsigned bits = 8u * (unsigned)size, j = rndn(bits);
    uint32_t m = smask(size), v;
    switch (rndn(6)) {
    case 0:
        v = 0;
        break;
    case 1:
        v = (1u << j) & m;
        break;
    case 2:
        v = (uint32_t)(((1ull << j) - 1) & m);
        break;
    case 3:
        v = (m << j) & m;
        break;
    default:
        v = rnd_val(size);
        break;
    }
    mform f;
    plan_modrm(&f, (uint32_t)size, 1, 0, 1);
    put_mem(form_lin(&f), v, size);
    unsigned reg = rndn(8);
    uint8_t opc[2] = {0x0F, forms[k].opc};
    ie_prefixes(e, 0, forms[k].pfx, &f, size, f.asz);
    ie8(e, opc[0]);
    ie8(e, opc[1]);
    ie_modrm(e, reg, &f);
    g_c->undef = forms[k].undef;
    if (!forms[k].pfx && v == 0)
        g_c->keep_reg = (uint8_t)(reg + 1);
    text("%s%s %s, m (source %x)", forms[k].name, g_szn[size], g_rname[reg], v);
}

/* CRC32 F2 0F 38 F0 / F1 r32, m8/m16/m32: no flags. */
static void gen_crc32(ienc *e)
{
    int size = chance(1, 3) ? 1 : rnd_opsz();
    uint8_t opc[3] = {0x0F, 0x38, (uint8_t)(size == 1 ? 0xF0 : 0xF1)};
    mform f;
    plan_modrm(&f, (uint32_t)size, 1, 0, 1);
    put_mem(form_lin(&f), rnd_val(size), size);
    ie_prefixes(e, 0, 0xF2, &f, size, f.asz);
    for (int i = 0; i < 3; i++)
        ie8(e, opc[i]);
    ie_modrm(e, rndn(8), &f);
    text("crc32 r32, m%d", size * 8);
}

/* The BMI1/BMI2 forms (VEX, 32-bit operands whatever VEX.W says outside
 * 64-bit mode). VEX does not exist in real mode: there the emulator must
 * raise #UD (the CPU runs the case in 16-bit protected mode). vvvv names
 * one of eight registers; its bit 3 is ignored outside 64-bit mode (SDM
 * Vol. 2 2.3.6), tried one case in ten. */
static void gen_bmi(ienc *e)
{
    enum { V_SRC, V_DST, V_COUNT, V_CTL, V_NONE };
    static const struct {
        const char *name;
        uint8_t map, pp, opc;
        int reg, vrole, imm, mulx;
        uint32_t undef;
    } forms[] = {
        {"andn", 2, 0, 0xF2, -1, V_SRC, 0, 0, F_AF | F_PF},
        {"blsr", 2, 0, 0xF3, 1, V_DST, 0, 0, F_AF | F_PF},
        {"blsmsk", 2, 0, 0xF3, 2, V_DST, 0, 0, F_AF | F_PF},
        {"blsi", 2, 0, 0xF3, 3, V_DST, 0, 0, F_AF | F_PF},
        {"bextr", 2, 0, 0xF7, -1, V_CTL, 0, 0, F_AF | F_SF | F_PF},
        {"bzhi", 2, 0, 0xF5, -1, V_COUNT, 0, 0, F_AF | F_PF},
        {"pext", 2, 2, 0xF5, -1, V_SRC, 0, 0, 0},
        {"pdep", 2, 3, 0xF5, -1, V_SRC, 0, 0, 0},
        {"mulx", 2, 3, 0xF6, -1, V_DST, 0, 1, 0},
        {"shlx", 2, 1, 0xF7, -1, V_COUNT, 0, 0, 0},
        {"sarx", 2, 2, 0xF7, -1, V_COUNT, 0, 0, 0},
        {"shrx", 2, 3, 0xF7, -1, V_COUNT, 0, 0, 0},
        {"rorx", 3, 3, 0xF0, -1, V_NONE, 1, 0, 0},
    };
    static const uint8_t counts[] = {0, 1, 7, 8, 16, 31, 32, 33, 63, 64, 127, 255};
    int k = (int)rndn(sizeof forms / sizeof forms[0]);
    unsigned excl = forms[k].mulx ? 1u << R_DX : 0u;
    int g = forms[k].reg >= 0 ? forms[k].reg : (int)rndn(8);
    int v = 0;
    if (forms[k].vrole == V_DST) {
        v = (int)rndn(8);
    } else if (forms[k].vrole != V_NONE) {
        do
            v = (int)rndn(8);
        while (v == R_SP || ((excl >> v) & 1));
        excl |= 1u << v;
    }
    mform f;
    plan_modrm(&f, 4, 1, excl, 1);
    put_mem(form_lin(&f), rnd_val(4), 4);
    uint32_t vval = 0;
    if (forms[k].vrole == V_COUNT)
        vval = (chance(3, 4) ? counts[rndn(sizeof counts)] : rndn(256)) |
               (chance(1, 2) ? (uint32_t)rnd() & ~0xFFu : 0);
    else if (forms[k].vrole == V_CTL)
        vval = counts[rndn(sizeof counts)] | (uint32_t)counts[rndn(sizeof counts)] << 8 |
               (chance(1, 2) ? (uint32_t)rnd() & ~0xFFFFu : 0);
    else if (forms[k].vrole == V_SRC)
        vval = rnd_val(4);
    if (forms[k].vrole != V_NONE && forms[k].vrole != V_DST)
        g_c->gpr[v] = vval;
    if (forms[k].mulx)
        g_c->gpr[R_DX] = rnd_val(4);
    int hi8 = forms[k].vrole != V_NONE && chance(1, 10); /* vvvv bit 3, ignored */
    int w = (int)rndn(2);
    /* VEX sets the operand size; a 66 before it is #UD (one case in 16). */
    int p66 = chance(1, 16);
    if (p66)
        ie8(e, 0x66);
    ie_prefixes(e, 0, 0, &f, g_dsize, f.asz);
    ie8(e, 0xC4);
    ie8(e, 0xE0u | forms[k].map);
    ie8(e, ((unsigned)w << 7) | ((~(unsigned)(v | (hi8 ? 8 : 0)) & 15u) << 3) | forms[k].pp);
    ie8(e, forms[k].opc);
    ie_modrm(e, (unsigned)g, &f);
    unsigned imm = 0;
    if (forms[k].imm) {
        imm = chance(1, 2) ? counts[rndn(sizeof counts)] : rndn(256);
        ie8(e, imm);
    }
    g_c->undef = forms[k].undef;
    g_c->real_ud = 1;
    text("%s (W%d) %s, m32%s%s%s%s", forms[k].name, w, g_rname[g],
         forms[k].vrole == V_NONE ? "" : ", vvvv ", forms[k].vrole == V_NONE ? "" : g_rname[v],
         hi8 ? " (vvvv bit 3 clear)" : "", p66 ? " (66 before VEX: #UD)" : "");
    (void)imm;
}

/* XLAT (D7): AL = seg:[rBX + AL], the sum wrapping at the address size
 * (16-bit: BX + AL past 0xFFFF wraps to the bottom of the segment). */
static void gen_xlat(ienc *e)
{
    static const int segs[] = {S_DS, S_DS, S_DS, S_ES, S_SS, S_FS, S_GS};
    mform f;
    memset(&f, 0, sizeof f);
    f.asz = chance(1, 3) ? 6 - g_dsize : g_dsize;
    if (g_c->mode == MREAL && f.asz == 4 && chance(1, 2))
        f.asz = 2;
    f.seg = chance(1, 2) ? S_DS : segs[rndn(sizeof segs / sizeof segs[0])];
    if (f.seg != S_DS || chance(1, 4))
        f.ovr = g_ovr_byte[f.seg];
    f.off = plan_seg(f.seg, 1, 1, f.asz, 1);
    note_access(form_lin(&f), 0, 0);
    put_mem(form_lin(&f), rnd_val(1), 1);
    uint32_t al = chance(1, 4) ? (chance(1, 2) ? 0 : 0xFF) : rndn(256);
    uint32_t bx = f.off - al;
    g_c->gpr[R_AX] = (g_c->gpr[R_AX] & ~0xFFu) | al;
    if (f.asz == 2)
        set_reg16(R_BX, bx);
    else
        g_c->gpr[R_BX] = bx;
    ie_prefixes(e, 0, 0, &f, 1, f.asz);
    ie8(e, 0xD7);
    text("xlat a%d%s%s (al %02x, offset %x%s)", f.asz * 8, f.ovr ? " " : "",
         f.ovr ? g_sname[f.seg] : "", al, f.off, f.off < al ? ", wraps" : "");
}

/* ADCX (66 0F 38 F6) and ADOX (F3 0F 38 F6) r32, m32: CF or OF only,
 * the other flags unaffected; 32-bit outside 64-bit mode whatever the code
 * segment (the 66 is the mandatory prefix). */
static void gen_adx(ienc *e)
{
    int ox = (int)rndn(2);
    mform f;
    plan_modrm(&f, 4, 1, 0, 1);
    put_mem(form_lin(&f), rnd_val(4), 4);
    unsigned reg = rndn(8);
    g_c->efl |= (uint32_t)rnd() & (F_CF | F_OF);
    ie_prefixes(e, 0, 0, &f, g_dsize, f.asz);
    ie8(e, ox ? 0xF3 : 0x66);
    ie8(e, 0x0F);
    ie8(e, 0x38);
    ie8(e, 0xF6);
    ie_modrm(e, reg, &f);
    text("%s %s, m32", ox ? "adox" : "adcx", g_rname[reg]);
}

/* CLFLUSH (0F AE /7) and CLFLUSHOPT (66 0F AE /7): no data moves, but the
 * byte is checked as a read: segment limit, null selector, expand-down,
 * absent page (SDM Vol. 2 CLFLUSH); read-only pages and segments pass. */
static void gen_clflush(ienc *e)
{
    int opt = (int)rndn(2);
    mform f;
    plan_modrm(&f, 1, 1, 0, 1);
    ie_prefixes(e, 0, 0, &f, g_dsize, f.asz);
    if (opt)
        ie8(e, 0x66);
    ie8(e, 0x0F);
    ie8(e, 0xAE);
    ie_modrm(e, 7, &f);
    text("%s a%d %s:%x", opt ? "clflushopt" : "clflush", f.asz * 8, g_sname[f.seg], f.off);
}

/* BOUND r16/r32, m16&16/m32&32 (62 /r): #BR (vector 5) when the signed
 * index is below the lower or above the upper bound; no flags. */
static void gen_bound(ienc *e)
{
    int size = rnd_opsz();
    mform f;
    plan_modrm(&f, (uint32_t)(2 * size), 1, 0, 1);
    uint32_t lo = rnd_val(size), hi = rnd_val(size), m = smask(size);
    if (chance(1, 2)) { /* mostly a sensible range */
        int32_t a = (int32_t)(lo << (32 - 8 * size)) >> (32 - 8 * size);
        int32_t b = (int32_t)(hi << (32 - 8 * size)) >> (32 - 8 * size);
        if (a > b) {
            uint32_t t = lo;
            lo = hi;
            hi = t;
        }
    }
    put_mem(form_lin(&f), lo, size);
    put_mem(form_lin(&f) + (uint32_t)size, hi, size);
    unsigned reg = rndn(8);
    uint32_t v;
    switch (rndn(5)) {
    case 0:
        v = lo;
        break;
    case 1:
        v = hi;
        break;
    case 2:
        v = (lo - 1) & m;
        break;
    case 3:
        v = (hi + 1) & m;
        break;
    default:
        v = rnd_val(size);
        break;
    }
    /* the index register may also address the operand: only when free */
    uint32_t old = g_c->gpr[reg];
    uint32_t nv = (old & ~m) | v;
    int addr_reg = 0;
    if (f.asz == 2) {
        static const int b16[8] = {R_BX, R_BX, R_BP, R_BP, R_SI, R_DI, R_BP, R_BX};
        static const int i16[8] = {R_SI, R_DI, R_SI, R_DI, -1, -1, -1, -1};
        if (!(f.mod == 0 && f.rm == 6))
            addr_reg = (int)reg == b16[f.rm] || (int)reg == i16[f.rm];
    } else if (!(f.mod == 0 && f.rm == 5)) {
        if (f.has_sib)
            addr_reg = (f.sib & 7) == reg || ((f.sib >> 3) & 7) == reg;
        else
            addr_reg = f.rm == reg;
    }
    if (!addr_reg)
        g_c->gpr[reg] = nv;
    ie_mem_insn(e, 0, &f, size, (const uint8_t[]){0x62}, 1, reg);
    text("bound%s %s, m%d&%d (bounds %x..%x)", g_szn[size], g_rname[reg], size * 8, size * 8, lo,
         hi);
}

/* ARPL m16, r16 (63 /r; 16- and 32-bit protected mode only, #UD in real
 * mode): raises the destination's RPL to the source's, ZF = whether it
 * did. */
static void gen_arpl(ienc *e)
{
    mform f;
    plan_modrm(&f, 2, 3, 0, 1);
    if (f.seg == S_CS)
        g_gen_retry = 1; /* ARPL reads first: it would read the harness's code */
    uint32_t d = rnd_val(2);
    put_mem(form_lin(&f), d, 2);
    unsigned reg = rndn(8);
    set_reg16((int)reg, (g_c->gpr[reg] & ~3u) | rndn(4));
    ie_mem_insn(e, 0, &f, 2, (const uint8_t[]){0x63}, 1, reg);
    g_c->real_ud = 1;
    text("arpl m16, %s (dest rpl %u, src rpl %u)", g_rname[reg], d & 3, g_c->gpr[reg] & 3);
}

static uint32_t case_eip(const mcase *c);

/* A load or store whose bytes run past the CS limit: #GP(0) on the fetch
 * (SDM Vol. 3 5.3), or, when it ends exactly at the limit, completion. The
 * exit carries fewer bytes than fit, so the emulator fetches the rest. */
static void gen_cslimit(ienc *e)
{
    static const uint8_t ops[4] = {0x89, 0x8B, 0xC7, 0x81};
    int k = (int)rndn(4);
    int size = rnd_opsz();
    mform f;
    plan_modrm(&f, (uint32_t)size, k == 1 ? 1 : k == 3 ? 3 : 2, 0, 0);
    put_mem(form_lin(&f), rnd_val(size), size);
    ie_mem_insn(e, 0, &f, size, &ops[k], 1, k >= 2 ? 0 : rndn(8));
    if (k == 2)
        ie_n(e, rnd_val(size), size);
    else if (k == 3)
        ie_n(e, rnd_val(size), size);
    g_c->len = (uint8_t)e->n;
    uint32_t eip = case_eip(g_c);
    uint32_t cut = chance(1, 4) ? 0 : 1 + rndn((uint64_t)e->n - 1);
    g_c->cs_lim = eip + (uint32_t)e->n - 1 - cut;
    text("mov/add op %02x%s, CS limit %x (%u bytes past it)", ops[k], g_szn[size], g_c->cs_lim,
         cut);
}

/* 16-bit code: a load or store starting at 0xFFFB..0xFFFF that runs past
 * offset 0xFFFF (or ends exactly at it), with CS limit 0xFFFF (also in
 * real mode), 0xFFFFF (byte granular) or 0xFFFFFFFF (page granular); with
 * the larger limits also one starting at 0x10000..0x10003, reached by a
 * jump with a 32-bit operand size. The exit carries mostly at most the
 * bytes below 0x10000, so the emulator fetches the rest. */
static void gen_ipwrap(ienc *e)
{
    static const uint8_t ops[4] = {0x89, 0x8B, 0xC7, 0x81};
    static const uint32_t lims[3] = {0xFFFF, 0xFFFFF, 0xFFFFFFFFu};
    int k = (int)rndn(4);
    int size = rnd_opsz();
    mform f;
    plan_modrm(&f, (uint32_t)size, k == 1 ? 1 : k == 3 ? 3 : 2, 0, 0);
    put_mem(form_lin(&f), rnd_val(size), size);
    ie_mem_insn(e, 0, &f, size, &ops[k], 1, k >= 2 ? 0 : rndn(8));
    if (k >= 2)
        ie_n(e, rnd_val(size), size);
    g_c->cs_lim = g_c->mode == MREAL ? 0 : lims[rndn(3)];
    unsigned back = 1 + rndn(5);
    if (back > (unsigned)e->n || chance(1, 8))
        back = (unsigned)(e->n < 5 ? e->n : 5);
    g_c->ip_at = 0x10000u - back;
    if (g_c->cs_lim > 0xFFFF && chance(1, 5))
        g_c->ip_at = 0x10000u + rndn(4);
    text("mov/add op %02x%s at ip %x, %d bytes, CS limit %x (ends at %x)", ops[k], g_szn[size],
         g_c->ip_at, e->n, g_c->cs_lim ? g_c->cs_lim : 0xFFFF, g_c->ip_at + (uint32_t)e->n - 1);
}

/* MXCSR: flags, rounding, DAZ and FTZ at random, every exception masked
 * three times in four. */
static uint32_t mxcsr_random(void)
{
    uint32_t mx = (uint32_t)rnd() & 0xFFFF & g_mxcsr_mask;
    if (chance(3, 4))
        mx |= 0x1F80;
    return mx;
}

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* SSE and AVX forms with a memory operand (a sample of those the 64-bit
 * SIMD test covers): XMM/YMM0-7 (the only ones outside 64-bit mode) and
 * memory. The operand gets the usual scenarios (limits straddled by the
 * 16/32 bytes, expand-down, rights, null selectors, a page fault in the
 * middle of the access, EFLAGS.AC); aligned forms get aligned and
 * misaligned addresses. VEX does not exist in real mode: #UD there. */
enum {
    SX_LOAD = 1,
    SX_STORE = 2,
    SX_ALIGN = 4,
    SX_VVVV = 8,
    SX_MASKMOV = 16,
    SX_CMP = 32,
    SX_IMM = 64,    /* an imm8 follows */
    SX_FP = 128,    /* floating point under a random MXCSR */
    SX_VMASK = 256, /* VMASKMOVPS: the dword sign bits of vvvv select the elements */
};
enum { CPU_SSE2, CPU_SSE41, CPU_SSE42, CPU_AVX, CPU_AVX2, CPU_FMA };
static const struct sform {
    const char *name;
    uint8_t vex, pp, l, size, cpu;
    uint16_t op; /* 0F xx, or 0F 38 xx / 0F 3A xx as 0x38xx / 0x3Axx */
    unsigned fl;
} g_sforms[] = {
    {"movdqu xmm, m128", 0, 2, 0, 16, CPU_SSE2, 0x6F, SX_LOAD},
    {"movdqu m128, xmm", 0, 2, 0, 16, CPU_SSE2, 0x7F, SX_STORE},
    {"movups xmm, m128", 0, 0, 0, 16, CPU_SSE2, 0x10, SX_LOAD},
    {"movups m128, xmm", 0, 0, 0, 16, CPU_SSE2, 0x11, SX_STORE},
    {"movdqa xmm, m128", 0, 1, 0, 16, CPU_SSE2, 0x6F, SX_LOAD | SX_ALIGN},
    {"movdqa m128, xmm", 0, 1, 0, 16, CPU_SSE2, 0x7F, SX_STORE | SX_ALIGN},
    {"movd xmm, m32", 0, 1, 0, 4, CPU_SSE2, 0x6E, SX_LOAD},
    {"movd m32, xmm", 0, 1, 0, 4, CPU_SSE2, 0x7E, SX_STORE},
    {"movq xmm, m64", 0, 2, 0, 8, CPU_SSE2, 0x7E, SX_LOAD},
    {"movq m64, xmm", 0, 1, 0, 8, CPU_SSE2, 0xD6, SX_STORE},
    {"movss xmm, m32", 0, 2, 0, 4, CPU_SSE2, 0x10, SX_LOAD},
    {"movss m32, xmm", 0, 2, 0, 4, CPU_SSE2, 0x11, SX_STORE},
    {"movsd xmm, m64", 0, 3, 0, 8, CPU_SSE2, 0x10, SX_LOAD},
    {"movsd m64, xmm", 0, 3, 0, 8, CPU_SSE2, 0x11, SX_STORE},
    {"movlps xmm, m64", 0, 0, 0, 8, CPU_SSE2, 0x12, SX_LOAD},
    {"movlps m64, xmm", 0, 0, 0, 8, CPU_SSE2, 0x13, SX_STORE},
    {"movhps xmm, m64", 0, 0, 0, 8, CPU_SSE2, 0x16, SX_LOAD},
    {"movhps m64, xmm", 0, 0, 0, 8, CPU_SSE2, 0x17, SX_STORE},
    {"pcmpeqb xmm, m128", 0, 1, 0, 16, CPU_SSE2, 0x74, SX_LOAD | SX_ALIGN | SX_CMP},
    {"pminub xmm, m128", 0, 1, 0, 16, CPU_SSE2, 0xDA, SX_LOAD | SX_ALIGN | SX_CMP},
    {"por xmm, m128", 0, 1, 0, 16, CPU_SSE2, 0xEB, SX_LOAD | SX_ALIGN | SX_CMP},
    {"ptest xmm, m128", 0, 1, 0, 16, CPU_SSE41, 0x3817, SX_LOAD | SX_ALIGN | SX_CMP},
    {"maskmovdqu xmm, xmm", 0, 1, 0, 16, CPU_SSE2, 0xF7, SX_STORE | SX_MASKMOV},
    {"vmovdqu ymm, m256", 1, 2, 1, 32, CPU_AVX, 0x6F, SX_LOAD},
    {"vmovdqu m256, ymm", 1, 2, 1, 32, CPU_AVX, 0x7F, SX_STORE},
    {"vpcmpeqb ymm, ymm, m256", 1, 1, 1, 32, CPU_AVX2, 0x74, SX_LOAD | SX_VVVV | SX_CMP},
    {"vmovd xmm, m32", 1, 1, 0, 4, CPU_AVX, 0x6E, SX_LOAD},
    {"vmovd m32, xmm", 1, 1, 0, 4, CPU_AVX, 0x7E, SX_STORE},
    {"vmovlps xmm, xmm, m64", 1, 0, 0, 8, CPU_AVX, 0x12, SX_LOAD | SX_VVVV},
    {"vmovlps m64, xmm", 1, 0, 0, 8, CPU_AVX, 0x13, SX_STORE},
    /* floating point, run on the host CPU (MXCSR 0x1F80 on both sides) */
    {"addps xmm, m128", 0, 0, 0, 16, CPU_SSE2, 0x58, SX_LOAD | SX_ALIGN | SX_CMP | SX_FP},
    {"mulsd xmm, m64", 0, 3, 0, 8, CPU_SSE2, 0x59, SX_LOAD | SX_CMP | SX_FP},
    {"vaddpd ymm, ymm, m256", 1, 1, 1, 32, CPU_AVX, 0x58, SX_LOAD | SX_VVVV | SX_CMP | SX_FP},
    {"cvtsi2sd xmm, m32", 0, 3, 0, 4, CPU_SSE2, 0x2A, SX_LOAD | SX_FP},
    {"cvttsd2si r32, m64", 0, 3, 0, 8, CPU_SSE2, 0x2C, SX_LOAD | SX_FP},
    {"comisd xmm, m64", 0, 1, 0, 8, CPU_SSE2, 0x2F, SX_LOAD | SX_CMP | SX_FP},
    {"dpps xmm, m128, imm8", 0, 1, 0, 16, CPU_SSE41, 0x3A40, SX_LOAD | SX_ALIGN | SX_CMP | SX_IMM | SX_FP},
    {"roundsd xmm, m64, imm8", 0, 1, 0, 8, CPU_SSE41, 0x3A0B, SX_LOAD | SX_IMM | SX_FP},
    {"pcmpistri xmm, m128, imm8", 0, 1, 0, 16, CPU_SSE42, 0x3A63, SX_LOAD | SX_CMP | SX_IMM},
    {"vfmadd231ps ymm, ymm, m256", 1, 1, 1, 32, CPU_FMA, 0x38B8, SX_LOAD | SX_VVVV | SX_CMP | SX_FP},
    {"vfmadd231ps xmm, xmm, m128", 1, 1, 0, 16, CPU_FMA, 0x38B8, SX_LOAD | SX_VVVV | SX_CMP | SX_FP},
    {"vmaskmovps xmm, xmm, m128", 1, 1, 0, 16, CPU_AVX, 0x382C, SX_LOAD | SX_VVVV | SX_VMASK},
    {"vmaskmovps ymm, ymm, m256", 1, 1, 1, 32, CPU_AVX, 0x382C, SX_LOAD | SX_VVVV | SX_VMASK},
    {"vmaskmovps m128, xmm, xmm", 1, 1, 0, 16, CPU_AVX, 0x382E, SX_STORE | SX_VVVV | SX_VMASK},
    {"vmaskmovps m256, ymm, ymm", 1, 1, 1, 32, CPU_AVX, 0x382E, SX_STORE | SX_VVVV | SX_VMASK},
    {"vpermd ymm, ymm, m256", 1, 1, 1, 32, CPU_AVX2, 0x3836, SX_LOAD | SX_VVVV | SX_CMP},
};
#define NSFORMS ((int)(sizeof g_sforms / sizeof g_sforms[0]))

static int sform_ok(const struct sform *sf)
{
    switch (sf->cpu) {
    case CPU_SSE41:
        return g_sse41;
    case CPU_SSE42:
        return g_sse42;
    case CPU_FMA:
        return g_fma && g_avx;
    case CPU_AVX:
        return g_avx;
    case CPU_AVX2:
        return g_avx2;
    default:
        return 1;
    }
}

/* A register value: random, edge patterns, or (for compares) the memory
 * operand itself, 8 bytes at a time. */
static void simd_reg(uint8_t *y, uint32_t lin, unsigned size, int cmp)
{
    for (unsigned q = 0; q < 4; q++) {
        uint64_t v;
        switch (rndn(cmp ? 6 : 4)) {
        case 0:
            v = 0;
            break;
        case 1:
            v = ~0ull;
            break;
        case 2:
            v = 0x8080808080808080ull ^ (rnd() & 0x0101010101010101ull);
            break;
        case 4:
        case 5:
            v = (uint64_t)get_mem(lin + 8 * q % size, 4) |
                (uint64_t)get_mem(lin + (8 * q + 4) % size, 4) << 32;
            if (chance(1, 3))
                v ^= 1ull << rndn(64);
            break;
        default:
            v = rnd();
            break;
        }
        memcpy(y + 8 * q, &v, 8);
    }
}

static void gen_simd(ienc *e)
{
    const struct sform *sf;
    do
        sf = &g_sforms[rndn(NSFORMS)];
    while (!sform_ok(sf));
    g_c->simd = 1;
    for (unsigned n = 0; n < 8; n++)
        for (unsigned i = 0; i < 32; i += 8) {
            uint64_t v = chance(1, 8) ? 0 : rnd();
            memcpy(&g_c->ymm[n][i], &v, 8);
        }
    unsigned reg = rndn(8), rm = rndn(8), vvvv = rndn(8);
    int rw = (sf->fl & SX_LOAD) ? 1 : 2;
    mform f;
    uint32_t lin;
    char where[48];
    g_align = (sf->fl & SX_ALIGN) ? sf->size : 0;
    if (sf->fl & SX_MASKMOV) {
        /* DS:[eDI] (DI with a 16-bit address size), segment override
         * allowed. A zero mask, or a fault with a partial mask, is left
         * out: whether the CPU checks the unselected bytes is not
         * architectural. */
        memset(&f, 0, sizeof f);
        f.asz = chance(1, 3) ? 6 - g_dsize : g_dsize;
        if (g_c->mode == MREAL && f.asz == 4 && chance(1, 2))
            f.asz = 2;
        static const int segs[] = {S_DS, S_DS, S_DS, S_ES, S_SS, S_FS, S_GS};
        f.seg = chance(1, 2) ? S_DS : segs[rndn(sizeof segs / sizeof segs[0])];
        if (f.seg != S_DS || chance(1, 4))
            f.ovr = g_ovr_byte[f.seg];
        int before = g_fault_left;
        f.off = plan_seg(f.seg, 16, 2, f.asz, 1);
        /* With a 16-bit address the bytes past offset 0xFFFF go to offset
         * 0 and up (outside the arena); the CPU stores the bytes below
         * 0x10000 before it faults there, a partial completion the SDM
         * does not define. Left out. */
        if (f.asz == 2 && (f.off & 0xFFFFu) + 15 > 0xFFFF)
            g_gen_retry = 1;
        if (f.asz == 2)
            set_reg16(R_DI, f.off);
        else
            g_c->gpr[R_DI] = f.off;
        if (rm == reg)
            rm = (reg + 1 + rndn(7)) & 7;
        uint8_t *mask = g_c->ymm[rm];
        if (g_fault_left != before || chance(1, 4)) {
            for (int i = 0; i < 16; i++)
                mask[i] |= 0x80;
        } else {
            for (int i = 0; i < 16; i++)
                mask[i] = (uint8_t)((mask[i] & 0x7F) | (chance(1, 2) ? 0x80 : 0));
            mask[rndn(16)] |= 0x80;
        }
        unsigned first = 0;
        while (!(mask[first] & 0x80))
            first++;
        lin = form_lin(&f);
        note_access(lin + first, 1, 0);
        snprintf(where, sizeof where, "%s:[%s]", g_sname[f.seg], f.asz == 2 ? "di" : "edi");
    } else {
        plan_modrm(&f, sf->size, rw, 0, 1);
        lin = form_lin(&f);
        /* A VMASKMOVPS operand whose 16-bit offset wraps past 0xFFFF: this
         * host loads it as one access (bytes at offset 0x10000 and up,
         * in a big segment) but stores element by element with the
         * offsets wrapped (the elements past 0xFFFF at offset 0 and up);
         * the SDM gives neither. The emulator wraps both. Left out. */
        if ((sf->fl & SX_VMASK) && f.asz == 2 && (f.off & 0xFFFFu) + sf->size - 1 > 0xFFFF)
            g_gen_retry = 1;
        snprintf(where, sizeof where, "a%d %s:%x", f.asz * 8, g_sname[f.seg], f.off);
    }
    g_align = 0;
    int fault_planned = g_fault_left == 0;
    for (unsigned n = 0; n < 8; n++)
        if ((chance(1, 2) || n == reg) && !((sf->fl & SX_MASKMOV) && n == rm))
            simd_reg(g_c->ymm[n], lin, sf->size, (sf->fl & SX_CMP) != 0);
    if (sf->fl & SX_VMASK) {
        /* The mask in vvvv: every element with a fault scenario (which
         * zero-masked elements may fault is the vendor's choice: AMD APM
         * VMASKMOVPS), else at random, sometimes none; the first access is
         * the first selected element's. */
        uint8_t *mask = g_c->ymm[vvvv];
        unsigned first = 99, nel = sf->size / 4;
        for (unsigned i = 0; i < nel; i++) {
            if (fault_planned || chance(1, 2))
                mask[4 * i + 3] |= 0x80;
            else
                mask[4 * i + 3] &= 0x7F;
            if ((mask[4 * i + 3] & 0x80) && first == 99)
                first = i;
        }
        if (first == 99)
            g_c->has_exit = 0;
        else
            g_c->exit_lin = lin + 4 * first;
    }
    if (sf->fl & SX_FP) {
        uint32_t mx = mxcsr_random();
        memcpy(g_c->fx + 24, &mx, 4);
        g_c->refuse_ok = "unmasked SIMD floating-point exception";
    }
    ie_prefixes(e, 0, 0, &f, g_dsize, f.asz);
    int hi8 = 0;
    if (sf->vex) {
        unsigned v = (sf->fl & SX_VVVV) ? vvvv : 0; /* unused: encoded 1111 */
        hi8 = (sf->fl & SX_VVVV) && chance(1, 8); /* vvvv bit 3, ignored */
        if (hi8 || chance(1, 3) || sf->op > 0xFF) {
            ie8(e, 0xC4);
            ie8(e, 0xE0u | (sf->op >> 8 == 0x3A ? 3u : sf->op > 0xFF ? 2u : 1u));
            ie8(e, ((~(v | (hi8 ? 8u : 0u)) & 15u) << 3) | ((unsigned)sf->l << 2) | sf->pp);
        } else {
            ie8(e, 0xC5);
            ie8(e, 0x80u | ((~v & 15u) << 3) | ((unsigned)sf->l << 2) | sf->pp);
        }
    } else {
        static const uint8_t pfx[4] = {0, 0x66, 0xF3, 0xF2};
        if (sf->pp)
            ie8(e, pfx[sf->pp]);
        ie8(e, 0x0F);
        if (sf->op > 0xFF)
            ie8(e, sf->op >> 8);
    }
    ie8(e, sf->op & 0xFF);
    if (sf->fl & SX_MASKMOV)
        ie8(e, 0xC0 | (reg << 3) | rm);
    else
        ie_modrm(e, reg, &f);
    unsigned imm = 0;
    if (sf->fl & SX_IMM) {
        imm = rndn(256);
        ie8(e, imm);
    }
    g_c->real_ud = sf->vex;
    if (sf->fl & SX_MASKMOV)
        text("%s (xmm%u, mask xmm%u), %s", sf->name, reg, rm, where);
    else if (sf->fl & SX_VVVV)
        text("%s (reg %u, vvvv %u%s), %s, mxcsr %04x", sf->name, reg, vvvv,
             hi8 ? " with bit 3 set" : "", where, le16(g_c->fx + 24));
    else
        text("%s (reg %u), %s, imm %02x, mxcsr %04x", sf->name, reg, where, imm, le16(g_c->fx + 24));
}

/* ------------------------------------------------------------------ */
/* x87 and FXSAVE/FXRSTOR                                               */
/* ------------------------------------------------------------------ */

/* A random x87 and MXCSR state (FXSAVE image, 32-bit layout): control
 * word with every rounding and precision control, TOP, C0-C3, the abridged
 * tag, edge values in ST(0)-ST(7), sometimes exception flags left pending
 * (unmasked: ES and B set, so that a waiting form raises #MF); FIP with
 * the code segment's selector, FDP with a data segment's, or others. */
static void fx_random(mcase *c)
{
    uint8_t *fx = c->fx;
    uint16_t fcw = x87_edge_fcw(rnd, 0);
    uint16_t flags = chance(4, 5) ? 0 : (uint16_t)(rnd() & 0x3F);
    uint16_t fsw = (uint16_t)((rnd() & 0x4700) | (rnd() & 0x3800) | flags);
    if (flags & ~fcw & 0x3F)
        fsw |= 0x8080;
    fx[0] = (uint8_t)fcw;
    fx[1] = (uint8_t)(fcw >> 8);
    fx[2] = (uint8_t)fsw;
    fx[3] = (uint8_t)(fsw >> 8);
    fx[4] = chance(1, 8) ? 0xFF : chance(1, 8) ? 0 : (uint8_t)rnd();
    uint32_t fop = (uint32_t)rnd() & 0x7FF, fip = (uint32_t)rnd(), fdp = (uint32_t)rnd();
    uint16_t fcs = chance(3, 4) ? LDT_SEL(LDT_CODE) : (uint16_t)(rnd() & ~4u);
    uint16_t fds = chance(3, 4) ? LDT_SEL(LDT_SEG(S_DS + (int)rndn(3))) : (uint16_t)(rnd() & ~4u);
    if (fds == LDT_SEL(LDT_SEG(S_CS)))
        fds = LDT_SEL(LDT_SEG(S_DS));
    memcpy(fx + 6, &fop, 2);
    memcpy(fx + 8, &fip, 4);
    memcpy(fx + 12, &fcs, 2);
    memcpy(fx + 16, &fdp, 4);
    memcpy(fx + 20, &fds, 2);
    for (unsigned i = 0; i < 8; i++)
        x87_edge80(fx + 32 + 16 * i, rnd);
}

static void put_bytes(uint32_t lin, const uint8_t *p, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        put_mem(lin + i, p[i], 1);
}

/* An FXRSTOR image: a valid state (reserved FCW bits sometimes, no
 * pending exception), selectors outside the LDT, random XMM0-7 and the
 * bytes past them; one case in sixteen a reserved MXCSR bit (#GP(0)). */
static void fxrstor_image(uint8_t *m)
{
    for (unsigned i = 0; i < 512; i++)
        m[i] = (uint8_t)rnd();
    uint16_t fcw = x87_edge_fcw(rnd, 1);
    uint16_t flags = chance(4, 5) ? 0 : (uint16_t)(rnd() & 0x3F);
    uint16_t fsw = (uint16_t)((rnd() & 0x4700) | (rnd() & 0x3800) | (flags & fcw & 0x3F));
    memcpy(m, &fcw, 2);
    memcpy(m + 2, &fsw, 2);
    m[4] = chance(1, 8) ? 0xFF : chance(1, 8) ? 0 : (uint8_t)rnd();
    m[5] = 0;
    m[7] &= 7;
    m[12] &= (uint8_t)~4u; /* FCS and FDS: GDT selectors, never the case's LDT ones */
    m[20] &= (uint8_t)~4u;
    uint32_t mx = mxcsr_random();
    if (chance(1, 16))
        mx |= ~g_mxcsr_mask & (chance(1, 2) ? 0x10000u : ~0xFFFFu);
    memcpy(m + 24, &mx, 4);
    for (unsigned i = 0; i < 8; i++) {
        x87_edge80(m + 32 + 16 * i, rnd);
        memset(m + 42 + 16 * i, 0, 6);
    }
}

/* An FLDENV/FRSTOR image of `size` bytes (14/28 environment, 94/108 with
 * the registers): any control word (reserved bits too), status and tag
 * words, pointers with selectors outside the LDT, edge values. */
static void env_image(uint8_t *m, unsigned size)
{
    unsigned w = (size == 14 || size == 94) ? 2 : 4, env = 7 * w;
    for (unsigned i = 0; i < size; i++)
        m[i] = (uint8_t)rnd();
    uint16_t fcw = chance(1, 4) ? (uint16_t)rnd() : x87_edge_fcw(rnd, 0);
    uint16_t ftw = chance(1, 8) ? 0xFFFF : chance(1, 8) ? 0 : (uint16_t)rnd();
    memcpy(m, &fcw, 2);
    memcpy(m + 2 * w, &ftw, 2);
    if (chance(1, 2))
        m[w] &= (uint8_t)~0x3Fu; /* mostly no flags set */
    m[w == 2 ? 8 : 16] &= (uint8_t)~4u;  /* FCS */
    m[w == 2 ? 12 : 24] &= (uint8_t)~4u; /* FDS */
    for (unsigned i = 0; env + 10 * i < size; i++)
        x87_edge80(m + env + 10 * i, rnd);
}

enum { XK_LD, XK_ST, XK_LDCW, XK_STW, XK_LDENV, XK_STENV, XK_FXSAVE, XK_FXRSTOR };

/* The x87 memory forms (a sample of every kind the 64-bit test runs) and
 * FXSAVE/FXRSTOR in 16- and 32-bit code: FLD/FST/FSTP m32/m64/m80,
 * FILD/FIST/FISTP/FISTTP m16/m32/m64, FBLD/FBSTP, FLDCW/FNSTCW/FNSTSW,
 * FLDENV/FNSTENV and FRSTOR/FNSAVE in the protected-mode layouts of both
 * operand sizes (14/28 and 94/108 bytes, FCS and FDS selectors), FXSAVE
 * and FXRSTOR (32-bit layout, XMM0-7). Real mode: the environment forms
 * are refused (their real-mode layouts hold linear pointers). */
static void gen_x87(ienc *e)
{
    static const struct {
        const char *name;
        uint8_t op, reg, kind;
        char mk; /* memory kind for x87_edge_mem */
        uint16_t size;
    } forms[] = {
        {"fld m32", 0xD9, 0, XK_LD, 'f', 4},      {"fst m32", 0xD9, 2, XK_ST, 'f', 4},
        {"fstp m32", 0xD9, 3, XK_ST, 'f', 4},     {"fld m64", 0xDD, 0, XK_LD, 'f', 8},
        {"fst m64", 0xDD, 2, XK_ST, 'f', 8},      {"fstp m64", 0xDD, 3, XK_ST, 'f', 8},
        {"fld m80", 0xDB, 5, XK_LD, 'f', 10},     {"fstp m80", 0xDB, 7, XK_ST, 'f', 10},
        {"fild m16", 0xDF, 0, XK_LD, 'i', 2},     {"fild m32", 0xDB, 0, XK_LD, 'i', 4},
        {"fild m64", 0xDF, 5, XK_LD, 'i', 8},     {"fist m16", 0xDF, 2, XK_ST, 'f', 2},
        {"fistp m16", 0xDF, 3, XK_ST, 'f', 2},    {"fist m32", 0xDB, 2, XK_ST, 'f', 4},
        {"fistp m32", 0xDB, 3, XK_ST, 'f', 4},    {"fistp m64", 0xDF, 7, XK_ST, 'f', 8},
        {"fisttp m16", 0xDF, 1, XK_ST, 'f', 2},   {"fisttp m32", 0xDB, 1, XK_ST, 'f', 4},
        {"fisttp m64", 0xDD, 1, XK_ST, 'f', 8},   {"fbld", 0xDF, 4, XK_LD, 'b', 10},
        {"fbstp", 0xDF, 6, XK_ST, 'f', 10},       {"fldcw", 0xD9, 5, XK_LDCW, 'w', 2},
        {"fnstcw", 0xD9, 7, XK_STW, 'w', 2},      {"fnstsw", 0xDD, 7, XK_STW, 'w', 2},
        {"fldenv", 0xD9, 4, XK_LDENV, 0, 28},     {"fnstenv", 0xD9, 6, XK_STENV, 0, 28},
        {"frstor", 0xDD, 4, XK_LDENV, 0, 108},    {"fnsave", 0xDD, 6, XK_STENV, 0, 108},
        {"fxsave", 0xAE, 0, XK_FXSAVE, 0, 512},   {"fxrstor", 0xAE, 1, XK_FXRSTOR, 0, 512},
    };
    mcase *c = g_c;
    int k = (int)rndn(sizeof forms / sizeof forms[0]);
    int kind = forms[k].kind;
    unsigned size = forms[k].size;
    int opsz = g_dsize;
    if (kind == XK_LDENV || kind == XK_STENV) {
        opsz = rnd_opsz();
        if (opsz == 2)
            size -= 14;
    }
    int store = kind == XK_ST || kind == XK_STW || kind == XK_STENV || kind == XK_FXSAVE;
    fx_random(c);
    uint32_t mx = mxcsr_random();
    memcpy(c->fx + 24, &mx, 4);
    c->fpu = 1;
    c->fsw_mask = kind <= XK_STW ? (uint16_t)~0x4500 : 0xFFFF;
    c->refuse_ok = "denormal exception unmasked|tiny value with underflow unmasked|"
                   "FBLD raised an unmasked exception";
    if (kind == XK_LDENV || kind == XK_STENV)
        c->refuse_ok = "x87 environment in real or virtual-8086 mode";
    g_align = kind >= XK_FXSAVE ? 16 : 0;
    mform f;
    plan_modrm(&f, size, store ? 2 : 1, 0, 1);
    g_align = 0;
    /* A 16-bit offset wrapping inside an operand the CPU moves in pieces
     * of its own (m80, packed BCD, environment, FXSAVE image): this host
     * checks and moves each piece at its offset wrapped past 0xFFFF (with
     * a limit of 0xFFFF: no #GP, the bytes at offset 0 and up), in pieces
     * and an order the SDM does not give. Left out. */
    if (f.asz == 2 && size >= 10 && (f.off & 0xFFFFu) + size - 1 > 0xFFFF)
        g_gen_retry = 1; /* (an offset below an expand-down bound may be kept as -n) */
    /* Which byte of such an area the CPU touches first in a page it
     * cannot access is its own (this host reports the last one): CR2 may
     * be any byte of the operand in the faulting page. */
    if (size > 10) {
        c->cr2_lo = form_lin(&f);
        c->cr2_len = size;
    }
    uint32_t lin = form_lin(&f);
    uint8_t m[512];
    if (kind == XK_LD)
        x87_edge_mem(m, size, forms[k].mk, rnd);
    else if (kind == XK_LDCW) {
        uint16_t cw = chance(1, 4) ? (uint16_t)rnd() : (uint16_t)(0x40 | (rnd() & 0xF3F));
        memcpy(m, &cw, 2);
    } else if (kind == XK_LDENV)
        env_image(m, size);
    else if (kind == XK_FXRSTOR)
        fxrstor_image(m);
    else
        for (unsigned i = 0; i < size; i++)
            m[i] = (uint8_t)rnd();
    put_bytes(lin, m, size);
    /* What the CPU stores in the pointer fields is its own when the state
     * it was given had no exception pending (an AMD processor neither
     * loads nor saves them then); real mode: the selectors differ. */
    int es = (c->fx[2] & 0x80) != 0;
    /* A control form keeps the pointers FXRSTOR gave, which this host
     * loads only with ES set. */
    if (kind == XK_LDCW || kind == XK_STW || kind == XK_FXSAVE)
        c->fpu = (uint8_t)es;
    if (kind == XK_FXSAVE && (!es || c->mode == MREAL)) {
        c->skip[0].lin = lin + 6;
        c->skip[0].len = 18;
    } else if (kind == XK_STENV && !es) {
        c->skip[0].lin = lin + (opsz == 2 ? 6 : 12);
        c->skip[0].len = opsz == 2 ? 8 : 14;
    } else if (kind == XK_FXSAVE) {
        c->sel_at[0] = lin + 12;
        c->sel_at[1] = lin + 20;
    } else if (kind == XK_STENV && c->mode != MREAL) {
        c->sel_at[0] = lin + (opsz == 2 ? 8 : 16);
        c->sel_at[1] = lin + (opsz == 2 ? 12 : 24);
    }
    if (kind >= XK_FXSAVE)
        ie_prefixes(e, 0, 0, &f, g_dsize, f.asz);
    else
        ie_prefixes(e, 0, 0, &f, opsz, f.asz);
    if (kind >= XK_FXSAVE)
        ie8(e, 0x0F);
    ie8(e, forms[k].op);
    ie_modrm(e, forms[k].reg, &f);
    text("%s%s a%d %s:%x (fcw %04x fsw %04x top %u, mxcsr %04x)", forms[k].name,
         (kind == XK_LDENV || kind == XK_STENV) ? (opsz == 2 ? " o16" : " o32") : "", f.asz * 8,
         g_sname[f.seg], f.off, le16(c->fx), le16(c->fx + 2), (le16(c->fx + 2) >> 11) & 7, mx);
}

#ifndef X87_WEIGHT
#define X87_WEIGHT 6
#endif

typedef struct family {
    const char *name;
    void (*gen)(ienc *e);
    unsigned weight;
} family;

static const family g_fam[] = {
    {"mov", gen_mov, 4},          {"mov moffs", gen_moffs, 2}, {"movzx/movsx", gen_movx, 2},
    {"alu", gen_alu, 6},          {"test", gen_test, 1},       {"inc/dec/not/neg", gen_unary, 2},
    {"shift/rotate", gen_shift, 3}, {"xchg", gen_xchg, 1},     {"cmpxchg", gen_cmpxchg, 2},
    {"xadd", gen_xadd, 1},        {"bt*", gen_bt, 2},          {"setcc", gen_setcc, 1},
    {"cmovcc", gen_cmovcc, 1},    {"push/pop m", gen_pushpop, 3}, {"mul/div", gen_muldiv, 2},
    {"movs", gen_movs, 3},        {"stos", gen_stos, 2},       {"lods", gen_lods, 2},
    {"cmps", gen_cmps, 2},        {"scas", gen_scas, 2},       {"shld/shrd", gen_shxd, 2},
    {"imul r,m", gen_imul2, 1},   {"cmpxchg8b", gen_cmpxchg8b, 1}, {"movbe", gen_movbe, 1},
    {"fetch past CS limit", gen_cslimit, 1},
    {"bsf/bsr/*cnt", gen_bitcount, 2}, {"crc32", gen_crc32, 1}, {"bmi1/bmi2", gen_bmi, 2},
    {"xlat", gen_xlat, 1},        {"ip past 0xffff", gen_ipwrap, 1},
    {"sse/avx", gen_simd, 6},     {"x87/fxsave", gen_x87, X87_WEIGHT},
    {"adcx/adox", gen_adx, 1},    {"clflush", gen_clflush, 1}, {"bound", gen_bound, 1},
    {"arpl", gen_arpl, 1},
};

static uint32_t case_eip(const mcase *c)
{
    static uint8_t scratch[PG];
    if (c->ip_at)
        return c->ip_at;
    return build_case_code(c, scratch);
}
#define NFAM ((int)(sizeof g_fam / sizeof g_fam[0]))

/* The x87 and MXCSR state of a case that does not choose one: FNINIT's
 * (FCW 037FH, all empty) and MXCSR 1F80H. */
static void fx_default(mcase *c)
{
    memset(c->fx, 0, sizeof c->fx);
    c->fx[0] = 0x7F;
    c->fx[1] = 0x03;
    c->fx[25] = 0x1F;
    c->fx[24] = 0x80;
    c->fsw_mask = 0xFFFF;
}

/* Builds case c of family fam in mode. */
static void gen_case_once(mcase *c, int mode, int fam)
{
    memset(c, 0, offsetof(mcase, arena));
    g_c = c;
    c->mode = (uint8_t)mode;
    c->fam = (uint8_t)fam;
    g_dsize = mode == M32 ? 4 : 2;
    g_fault_left = 1;
    g_scen[0] = 0;
    for (unsigned i = 0; i < ARENA_SIZE; i += 8) {
        uint64_t v = rnd();
        memcpy(c->arena + i, &v, 8);
    }
    for (int r = 0; r < 8; r++)
        c->gpr[r] = chance(1, 4) ? rnd_val(4) : (uint32_t)rnd();
    c->efl = 0x202 | ((uint32_t)rnd() & F_ARITH);
    for (int s = 0; s < 6; s++)
        if (s != S_CS)
            seg_default(&c->seg[s], mode == MREAL);
    fx_default(c);
    ienc e = {c->insn, 0};
    g_fam[fam].gen(&e);
    c->len = (uint8_t)(e.n > 15 ? 15 : e.n);
    if (mode == MREAL)
        c->efl &= ~F_AC; /* CPL 0 in real mode: no #AC */
    for (int s = 0; s < 6; s++) {
        c->seg[s].set = 0;
        if (c->seg[s].lim_raw > 0xFFFFF) {
            fprintf(stderr, "generator bug: %s limit %x in %s\n", g_sname[s], c->seg[s].lim_raw,
                    c->text);
            c->seg[s].lim_raw &= 0xFFFFF;
        }
    }
    if (g_scen[0]) {
        size_t n = strlen(c->text);
        snprintf(c->text + n, TEXT_LEN - n, " [%s]", g_scen);
    }
}

/* Builds case c of family fam in mode, again when an access would stray
 * outside the arena. */
static void gen_case(mcase *c, int mode, int fam)
{
    do {
        g_gen_retry = 0;
        gen_case_once(c, mode, fam);
    } while (g_gen_retry);
}

/* ------------------------------------------------------------------ */
/* Emulation and comparison                                             */
/* ------------------------------------------------------------------ */

enum { V_COMPAT16, V_PROT16, V_COMPAT32, V_PROT32, V_REAL, NVAR };
static const char *const g_vname[NVAR] = {"compat16", "prot16", "compat32", "prot32", "real"};

typedef struct stat {
    unsigned run, failed, faults;
} stat;

static unsigned g_vec[NVAR][32]; /* native fault vectors per mode */

static stat g_stat[NVAR][NFAM];
static fake_vmm *g_vm;
static uint64_t g_code_pages[2];
static WHV_EMULATOR_HANDLE g_emu;
static unsigned g_maxprint = 0; /* 0: all */
static int g_verbose;
static unsigned long g_pass, g_fail;

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

static WHV_X64_SEGMENT_REGISTER seg_reg(const mcase *c, int s)
{
    WHV_X64_SEGMENT_REGISTER r;
    memset(&r, 0, sizeof r);
    int real = c->mode == MREAL;
    if (s == S_CS) {
        if (real) {
            r.Base = (uint64_t)REAL_CS_SEL << 4;
            r.Selector = REAL_CS_SEL;
            r.Limit = 0xFFFF;
            r.Attributes = 0x009B;
            return r;
        }
        r.Base = HARN;
        r.Selector = LDT_SEL(LDT_CODE);
        r.Limit = c->cs_lim ? c->cs_lim : c->mode == M32 ? 0xFFFFF : 0xFFFF;
        r.Granularity = r.Limit > 0xFFFFF;
        r.SegmentType = 0xB;
        r.NonSystemSegment = 1;
        r.DescriptorPrivilegeLevel = 3;
        r.Present = 1;
        r.Default = c->mode == M32;
        return r;
    }
    const segd *d = &c->seg[s];
    if (real) {
        r.Base = d->base;
        r.Selector = (uint16_t)(d->base >> 4);
        r.Limit = 0xFFFF;
        r.Attributes = 0x0093;
        return r;
    }
    if (d->kind == SK_NULL)
        return r; /* unusable: Present = 0 */
    r.Base = d->base;
    r.Limit = seg_lim(d);
    r.Selector = LDT_SEL(LDT_SEG(s));
    r.SegmentType = (uint16_t)((d->contents << 2) | ((d->ro ? 0u : 1u) << 1) | 1u);
    r.NonSystemSegment = 1;
    r.DescriptorPrivilegeLevel = 3;
    r.Present = 1;
    r.Available = d->avl;
    r.Default = d->big;
    r.Granularity = d->g;
    return r;
}

static void print_case(report *r, const mcase *c, const mresult *nr, int var)
{
    rp(r, "  mode %s, bytes", g_vname[var]);
    for (int i = 0; i < c->len; i++)
        rp(r, " %02x", c->insn[i]);
    rp(r, ", ip %x\n", nr->eip);
    for (int s = 0; s < 6; s++) {
        WHV_X64_SEGMENT_REGISTER g = seg_reg(c, s);
        if (s != S_CS && c->mode != MREAL && c->seg[s].kind == SK_NULL)
            rp(r, "  %s null\n", g_sname[s]);
        else
            rp(r, "  %s sel %04x base %08" PRIx64 " limit %08x attr %04x (type %x D %u G %u)\n",
               g_sname[s], g.Selector, g.Base, g.Limit, g.Attributes, g.SegmentType, g.Default,
               g.Granularity);
    }
    rp(r, "  in :");
    for (int i = 0; i < 8; i++)
        rp(r, " %s=%08x", g_rname[i], c->gpr[i]);
    rp(r, " efl=%08x\n", c->efl);
    rp(r, "  arena %x-%x, page %x %s; first access at %x%s\n", ARENA, ARENA + ARENA_SIZE - 1,
       ARENA + PG, c->prot[1] == PR_NONE ? "not present" : c->prot[1] == PR_RO ? "read-only" : "rw",
       c->exit_lin, c->has_exit ? "" : " (none)");
    if (nr->status == RS_FAULT)
        rp(r, "  native: signal %d vector %u error %x cr2 %" PRIx64 "\n", nr->signo, nr->trapno,
           nr->err, nr->cr2);
    else
        rp(r, "  native: completed\n");
    rp(r, "  out:");
    for (int i = 0; i < 8; i++)
        rp(r, " %s=%08x", g_rname[i], nr->gpr[i]);
    rp(r, " efl=%08x\n", nr->efl);
}

static int vec_has_ec(unsigned v)
{
    return v == 8 || (v >= 10 && v <= 14) || v == 17;
}

static unsigned g_refused[NVAR][64]; /* documented refusals accepted, per mode and family */

/* Whether reason `why` is one of the '|'-separated substrings of `ok`. */
static int refusal_ok(const char *ok, const char *why)
{
    while (ok && *ok) {
        const char *end = strchr(ok, '|');
        size_t n = end ? (size_t)(end - ok) : strlen(ok);
        for (const char *p = why; *p; p++)
            if (strncmp(p, ok, n) == 0)
                return 1;
        ok = end ? end + 1 : NULL;
    }
    return 0;
}

static int skipped(const mcase *c, uint32_t lin)
{
    for (int i = 0; i < 2; i++)
        if (lin - c->skip[i].lin < c->skip[i].len)
            return 1;
    return 0;
}

/* A byte of a stored FCS or FDS selector where the native image holds a
 * zero selector: a kernel FXSAVE64 between the enter stub's FXRSTOR and the
 * instruction (a preemption) leaves the CPU's selectors 0, as cmp_fx allows
 * for the state. */
static int zeroed_sel(const mcase *c, const uint8_t *native, uint32_t lin)
{
    for (int i = 0; i < 2; i++) {
        uint32_t at = c->sel_at[i];
        if (at && lin - at < 2 && at >= ARENA && at + 2 <= ARENA + ARENA_SIZE &&
            native[at - ARENA] == 0 && native[at + 1 - ARENA] == 0)
            return 1;
    }
    return 0;
}

/* The emulator's selector for one the native run used: the LDT selector
 * of the code segment or of a data segment register becomes what the
 * emulated mode holds (real mode: the paragraph); others stay. */
static uint16_t map_sel(const mcase *c, uint16_t sel)
{
    if (sel == LDT_SEL(LDT_CODE))
        return seg_reg(c, S_CS).Selector;
    for (int s = 0; s < 6; s++)
        if (s != S_CS && sel == LDT_SEL(LDT_SEG(s)))
            return seg_reg(c, s).Selector;
    return sel;
}



/* The x87 and MXCSR state of an FXSAVE image (32-bit layout) into the
 * register set: FpMmxN = ST(N), FpControlStatus = bytes 0-15 and
 * XmmControlStatus = bytes 16-31 (MXCSR_MASK the host's), selectors
 * mapped. XMM0-7 come with the YMM registers. */
static void fx_to_regs(fake_vmm *vm, const mcase *c, const uint8_t *fx)
{
    WHV_REGISTER_VALUE v;
    for (unsigned i = 0; i < 8; i++) {
        memset(&v, 0, sizeof v);
        memcpy(&v, fx + 32 + 16 * i, 10);
        fvmm_reg_set(vm, (WHV_REGISTER_NAME)(WHvX64RegisterFpMmx0 + i), &v);
    }
    memcpy(&v, fx, 16);
    v.FpControlStatus.LastFpCs = map_sel(c, le16(fx + 12));
    fvmm_reg_set(vm, WHvX64RegisterFpControlStatus, &v);
    memcpy(&v, fx + 16, 16);
    v.XmmControlStatus.LastFpDs = map_sel(c, le16(fx + 20));
    v.XmmControlStatus.XmmStatusControlMask = g_mxcsr_mask;
    fvmm_reg_set(vm, WHvX64RegisterXmmControlStatus, &v);
}

static void fx_from_regs(fake_vmm *vm, uint8_t *fx)
{
    WHV_REGISTER_VALUE v;
    memset(fx, 0, 160);
    for (unsigned i = 0; i < 8; i++) {
        fvmm_reg_get(vm, (WHV_REGISTER_NAME)(WHvX64RegisterFpMmx0 + i), &v);
        memcpy(fx + 32 + 16 * i, &v, 10);
    }
    fvmm_reg_get(vm, WHvX64RegisterFpControlStatus, &v);
    memcpy(fx, &v, 16);
    fvmm_reg_get(vm, WHvX64RegisterXmmControlStatus, &v);
    memcpy(fx + 16, &v, 16);
}

/* The x87 and MXCSR state after the emulation against the native FXSAVE:
 * FCW, FSW (c->fsw_mask), the abridged tag, MXCSR, ST(0)-ST(7); for an x87
 * form that completed with FSW.ES set afterwards also FOP, FIP and FDP (an
 * AMD processor saves them only then, and Intel ones may update FOP and
 * FDP only on unmasked exceptions), and FCS and FDS unless the CPU shows 0
 * (an FXSAVE64 of the kernel between the instruction and the return stub,
 * or an Intel processor that deprecates them). */
static int cmp_fx(const mcase *c, const mresult *nr, report *r)
{
    uint8_t fx[160];
    const uint8_t *want = nr->fx;
    fx_from_regs(g_vm, fx);
    int bad = 0;
    uint16_t fw = le16(want + 2), fg = le16(fx + 2);
    if (le16(fx) != le16(want)) {
        rp(r, "  fcw: expected %04x got %04x\n", le16(want), le16(fx));
        bad = 1;
    }
    if ((fw ^ fg) & c->fsw_mask) {
        rp(r, "  fsw: expected %04x got %04x (compared %04x)\n", fw, fg, c->fsw_mask);
        bad = 1;
    }
    if (fx[4] != want[4]) {
        rp(r, "  ftw (abridged): expected %02x got %02x\n", want[4], fx[4]);
        bad = 1;
    }
    if (memcmp(fx + 24, want + 24, 4)) {
        rp(r, "  mxcsr: expected %08x got %08x\n", le16(want + 24) | (unsigned)le16(want + 26) << 16,
           le16(fx + 24) | (unsigned)le16(fx + 26) << 16);
        bad = 1;
    }
    for (unsigned i = 0; i < 8; i++)
        if (memcmp(fx + 32 + 16 * i, want + 32 + 16 * i, 10)) {
            rp(r, "  st(%u): expected %04x:%016" PRIx64 " got %04x:%016" PRIx64 "\n", i,
               le16(want + 40 + 16 * i), le64(want + 32 + 16 * i), le16(fx + 40 + 16 * i),
               le64(fx + 32 + 16 * i));
            bad = 1;
        }
    if (c->fpu && nr->status == RS_OK && (fw & 0x80)) {
        uint16_t cs = le16(want + 12), ds = le16(want + 20);
        if ((le16(fx + 6) & 0x7FF) != (le16(want + 6) & 0x7FF) || memcmp(fx + 8, want + 8, 4) ||
            memcmp(fx + 16, want + 16, 4) || (cs && le16(fx + 12) != map_sel(c, cs)) ||
            (ds && le16(fx + 20) != map_sel(c, ds))) {
            rp(r, "  fop/fcs:fip/fds:fdp: expected %03x %04x:%08x %04x:%08x got %03x %04x:%08x %04x:%08x\n",
               le16(want + 6), cs ? map_sel(c, cs) : 0, le16(want + 8) | (unsigned)le16(want + 10) << 16,
               ds ? map_sel(c, ds) : 0, le16(want + 16) | (unsigned)le16(want + 18) << 16, le16(fx + 6),
               le16(fx + 12), le16(fx + 8) | (unsigned)le16(fx + 10) << 16, le16(fx + 20),
               le16(fx + 16) | (unsigned)le16(fx + 18) << 16);
            bad = 1;
        }
    }
    return bad;
}

/* One emulation of case c in variant var; returns 1 if it matched. */
/* A stored byte the emulator got otherwise than the native run, beyond
 * what the CPU may store its own way. */
static int byte_differs(const mcase *c, const mresult *nr, uint32_t lin, uint8_t got,
                        uint8_t want)
{
    return got != want &&
           !(nr->status == RS_OK && (skipped(c, lin) || zeroed_sel(c, nr->arena, lin)));
}

static int emulate(const mcase *c, const mresult *nr, int var, report *r)
{
    int real = var == V_REAL;
    int lma = var == V_COMPAT16 || var == V_COMPAT32;
    fake_vmm *vm = g_vm;
    int bad = 0;

    fvmm_gpa_clear(vm);
    for (int p = 0; p < ARENA_PAGES; p++) {
        uint64_t gva = ARENA + (uint64_t)p * PG, gpa = arena_gpa(p, real);
        if (c->prot[p] == PR_NONE)
            fvmm_map_gva_ex(vm, gva, WHvTranslateGvaResultPageNotPresent, 0, 0);
        else if (c->prot[p] == PR_RO)
            fvmm_map_gva_ex(vm, gva, WHvTranslateGvaResultSuccess, gpa,
                            FVMM_PERM_R | FVMM_PERM_X | FVMM_PERM_U);
        else
            fvmm_map_gva_ex(vm, gva, WHvTranslateGvaResultSuccess, gpa, FVMM_PERM_ALL);
        fvmm_gpa_write(vm, gpa, c->arena + p * PG, PG);
    }
    WHV_X64_SEGMENT_REGISTER cs = seg_reg(c, S_CS);
    uint64_t code_lin = (cs.Base + nr->eip) & 0xFFFFFFFFu;
    for (uint64_t pg = code_lin & ~(uint64_t)(PG - 1); pg <= ((code_lin + 15) & ~(uint64_t)(PG - 1));
         pg += PG)
        fvmm_map_gva(vm, pg, CODE_GPA + (pg - (code_lin & ~(uint64_t)(PG - 1))));
    fvmm_gva_write(vm, code_lin, c->insn, c->len);
    g_code_pages[0] = code_lin & ~(uint64_t)(PG - 1);
    g_code_pages[1] = (code_lin + 15) & ~(uint64_t)(PG - 1);

    for (int i = 0; i < 8; i++)
        fvmm_set_reg64(vm, (WHV_REGISTER_NAME)i, c->gpr[i]);
    fvmm_set_reg64(vm, WHvX64RegisterRip, nr->eip);
    fvmm_set_reg64(vm, WHvX64RegisterRflags, c->efl);
    for (int s = 0; s < 6; s++) {
        WHV_REGISTER_VALUE v;
        memset(&v, 0, sizeof v);
        v.Segment = seg_reg(c, s);
        fvmm_reg_set(vm, (WHV_REGISTER_NAME)(WHvX64RegisterEs + s), &v);
    }
    fvmm_set_reg64(vm, WHvX64RegisterCr0, real ? 0x30 : 0x80050033); /* NE: #MF, as natively */
    /* CR4.OSFXSR, OSXMMEXCPT and OSXSAVE with XCR0 = 7 (fvmm_setup_long_mode) */
    fvmm_set_reg64(vm, WHvX64RegisterCr4, (lma ? 0x20 : 0) | 0x40600);
    for (unsigned n = 0; n < 16; n++) {
        uint8_t y[32];
        if (n < 8)
            memcpy(y, c->ymm[n], 32);
        else
            memset(y, (int)(0x11 * n), 32);
        fvmm_set_ymm(vm, n, y);
    }
    fx_to_regs(vm, c, c->fx);
    fvmm_set_reg64(vm, WHvX64RegisterEfer, lma ? 0xD01 : 0);
    fvmm_set_reg64(vm, WHvX64RegisterCr2, 0);
    fvmm_set_cpl(vm, real ? 0 : 3);

    WHV_VP_EXIT_CONTEXT vp;
    memset(&vp, 0, sizeof vp);
    vp.ExecutionState.Cpl = real ? 0 : 3;
    vp.ExecutionState.Cr0Pe = !real;
    vp.ExecutionState.Cr0Am = !real;
    vp.ExecutionState.EferLma = lma;
    vp.InstructionLength = c->len;
    vp.Cs = cs;
    vp.Rip = nr->eip;
    vp.Rflags = c->efl;

    /* The exit: the first access, when it is one the CPU could have made. */
    uint64_t gpa = 0;
    int gva_valid = c->has_exit && chance(4, 5);
    if (gva_valid) {
        uint32_t page = c->exit_lin & ~(PG - 1);
        if (page < ARENA || page >= ARENA + ARENA_SIZE || c->prot[(page - ARENA) / PG] != PR_RW)
            gva_valid = 0;
        if (nr->status == RS_FAULT && !(nr->trapno == 14 && (nr->cr2 & ~(uint64_t)(PG - 1)) != page))
            gva_valid = 0;
        if (gva_valid && fvmm_translate(vm, c->exit_lin, 0, &gpa) != WHvTranslateGvaResultSuccess)
            gva_valid = 0;
    }
    fvmm_mmio_exit d;
    memset(&d, 0, sizeof d);
    d.insn = c->insn;
    d.insn_count = chance(1, 10) ? rndn(c->len) : c->len;
    if (c->ip_at) { /* mostly at most the bytes below 0x10000: the rest is fetched */
        uint32_t below = c->ip_at <= 0xFFFF ? 0x10000 - c->ip_at : c->len;
        if (below > c->len || (c->cs_lim > 0xFFFF && chance(1, 4)))
            below = c->len;
        d.insn_count = rndn(below + 1u);
    }
    else if (c->cs_lim) /* fewer bytes than fit below the limit: the rest is fetched */
        d.insn_count = rndn(c->cs_lim - nr->eip + 1 < c->len ? c->cs_lim - nr->eip + 1 : c->len);
    d.gpa = gpa;
    d.gva = gva_valid ? c->exit_lin : 0;
    d.gva_valid = gva_valid;
    d.gpa_unmapped = 1;
    d.access = c->exit_write || (c->exit_rmw && chance(1, 5)) ? WHvMemoryAccessWrite
                                                               : WHvMemoryAccessRead;
    WHV_MEMORY_ACCESS_CONTEXT mc;
    fvmm_build_mmio(&mc, &d);

    fvmm_reset_log(vm);
    WHV_EMULATOR_STATUS st;
    st.AsUINT32 = 0;
    HRESULT hr = WHvEmulatorTryMmioEmulation(g_emu, vm, &vp, &mc, &st);
    if (hr != S_OK) {
        rp(r, "  TryMmioEmulation returned 0x%08x\n", (unsigned)hr);
        return 0;
    }
    const char *why = fvmm_check_round_trip(vm, &vp, &mc, &st);
    if (why) {
        rp(r, "  round trip: %s\n", why);
        bad = 1;
    }
    if (!st.EmulationSuccessful) {
        const char *lf = whvemu_last_failure(g_emu);
        /* A documented refusal, where the CPU completed or raised the
         * floating-point exception the emulator does not deliver (or in
         * real mode, which the CPU did not run). */
        if (!bad && lf && refusal_ok(c->refuse_ok, lf) &&
            (nr->status == RS_OK || nr->trapno == 16 || nr->trapno == 19 || real)) {
            g_refused[var][c->fam]++;
            return 1;
        }
        rp(r, "  status 0x%x: %s\n", st.AsUINT32, lf ? lf : "?");
        return 0;
    }
    WHV_REGISTER_VALUE pi;
    int injected = fvmm_set_call_find(vm, WHvRegisterPendingInterruption, &pi) &&
                   pi.PendingInterruption.InterruptionPending;
    /* EIP is not truncated to 16 bits after an instruction that ends at
     * or past offset 0xFFFF: the next fetch is at 0x10000 and up, as the
     * CPU's runs of the ip_at cases show. */
    uint64_t exp_rip = (uint32_t)(nr->eip + c->len);
    if (nr->status == RS_FAULT) {
        unsigned vec = nr->trapno;
        int has_ec = vec_has_ec(vec) && !real;
        uint32_t ec = has_ec ? nr->err : 0;
        if (!injected || pi.PendingInterruption.InterruptionType != WHvX64PendingException ||
            pi.PendingInterruption.InterruptionVector != vec ||
            pi.PendingInterruption.DeliverErrorCode != (unsigned)has_ec ||
            pi.PendingInterruption.ErrorCode != ec) {
            if (injected)
                rp(r, "  expected vector %u%s error %x; emulator injected vector %u type %u%s error %x\n",
                   vec, has_ec ? " with" : " without", ec, pi.PendingInterruption.InterruptionVector,
                   pi.PendingInterruption.InterruptionType,
                   pi.PendingInterruption.DeliverErrorCode ? " with" : " without",
                   pi.PendingInterruption.ErrorCode);
            else
                rp(r, "  expected vector %u error %x; emulator injected nothing\n", vec, ec);
            bad = 1;
        }
        if (vec == 14 && injected) {
            WHV_REGISTER_VALUE cr2;
            int cr2_ok = fvmm_set_call_find(vm, WHvX64RegisterCr2, &cr2) &&
                         (cr2.Reg64 == nr->cr2 ||
                          (c->cr2_len && cr2.Reg64 - c->cr2_lo < c->cr2_len &&
                           (cr2.Reg64 ^ nr->cr2) < PG && ((cr2.Reg64 ^ nr->cr2) & ~(uint64_t)(PG - 1)) == 0));
            if (!cr2_ok) {
                rp(r, "  cr2: expected %" PRIx64 " got %" PRIx64 "\n", nr->cr2,
                   fvmm_reg64(vm, WHvX64RegisterCr2));
                bad = 1;
            }
        }
        exp_rip = nr->eip;
    } else if (injected) {
        rp(r, "  emulator injected vector %u error %x, the CPU completed\n",
           pi.PendingInterruption.InterruptionVector, pi.PendingInterruption.ErrorCode);
        bad = 1;
    }
    uint64_t rip = fvmm_reg64(vm, WHvX64RegisterRip);
    if (rip != exp_rip) {
        rp(r, "  rip: expected %" PRIx64 " got %" PRIx64 "\n", exp_rip, rip);
        bad = 1;
    }
    for (int i = 0; i < 8; i++) {
        uint64_t got = fvmm_reg64(vm, (WHV_REGISTER_NAME)i);
        uint32_t want = nr->gpr[i];
        if (c->keep_reg == i + 1 && nr->status == RS_OK)
            want = c->gpr[i]; /* undefined in the SDM; the emulator keeps it */
        if ((uint32_t)got != want) {
            rp(r, "  %s: expected %08x got %08" PRIx64 "%s\n", g_rname[i], want, got,
               want != nr->gpr[i] ? " (undefined: the emulator keeps it)" : "");
            bad = 1;
        }
    }
    uint32_t mask = F_CMP & ~c->undef;
    uint32_t fl = (uint32_t)fvmm_reg64(vm, WHvX64RegisterRflags);
    if ((fl ^ nr->efl) & mask) {
        rp(r, "  eflags: expected %08x got %08x (differ %x, undefined %x)\n", nr->efl, fl,
           (fl ^ nr->efl) & mask, c->undef);
        bad = 1;
    }
    int shown = 0;
    for (int p = 0; p < ARENA_PAGES; p++) {
        uint8_t pgbuf[PG];
        fvmm_gpa_read(vm, arena_gpa(p, real), pgbuf, PG);
        const uint8_t *want = nr->arena + p * PG;
        if (memcmp(pgbuf, want, PG) == 0)
            continue;
        for (unsigned i = 0; i < PG; i++)
            if (byte_differs(c, nr, ARENA + (uint32_t)p * PG + i, pgbuf[i], want[i]))
                bad = 1;
        for (unsigned i = 0; i < PG && shown < 12; i++)
            if (byte_differs(c, nr, ARENA + (uint32_t)p * PG + i, pgbuf[i], want[i])) {
                rp(r, "  mem %x: expected %02x got %02x (was %02x)\n", ARENA + (unsigned)p * PG + i,
                   want[i], pgbuf[i], c->arena[p * PG + i]);
                shown++;
            }
    }
    for (unsigned n = 0; n < 16; n++) {
        uint8_t y[32], want[32];
        fvmm_get_ymm(vm, n, y);
        if (n < 8)
            memcpy(want, nr->ymm[n], 32);
        else
            memset(want, (int)(0x11 * n), 32);
        unsigned w = n < 8 && !g_avx ? 16 : 32; /* no upper halves natively without AVX */
        if (memcmp(y, want, w) != 0) {
            rp(r, "  ymm%u: expected", n);
            for (int i = 31; i >= 0; i--)
                rp(r, "%s%02x", i % 8 == 7 ? " " : "", want[i]);
            rp(r, "\n         got     ");
            for (int i = 31; i >= 0; i--)
                rp(r, "%s%02x", i % 8 == 7 ? " " : "", y[i]);
            rp(r, "\n");
            bad = 1;
        }
    }
    if (cmp_fx(c, nr, r))
        bad = 1;
    if (bad) {
        rp(r, "  exit: %u instruction bytes given, gva %s %x, %s\n", d.insn_count,
           gva_valid ? "valid" : "not valid", c->exit_lin,
           d.access == WHvMemoryAccessWrite ? "write" : "read");
    }
    return !bad;
}

static void check_case(const mcase *c, const mresult *nr)
{

    int vars[2], nv = 0;
    if (c->mode == M16) {
        vars[nv++] = V_COMPAT16;
        vars[nv++] = V_PROT16;
    } else if (c->mode == M32) {
        vars[nv++] = V_COMPAT32;
        vars[nv++] = V_PROT32;
    } else {
        vars[nv++] = V_REAL;
    }
    for (int k = 0; k < nv; k++) {
        int var = vars[k];
        stat *s = &g_stat[var][c->fam];
        static report r;
        r.n = 0;
        r.buf[0] = 0;
        int ok;
        if (var == V_REAL && c->real_ud && (nr->status == RS_OK || nr->status == RS_FAULT)) {
            /* No VEX form exists in real mode (SDM Vol. 2 2.3): #UD
             * with nothing changed, whatever the protected-mode run
             * did. */
            static mresult ud;
            ud = *nr;
            ud.status = RS_FAULT;
            ud.trapno = 6;
            ud.err = 0;
            ud.cr2 = 0;
            memcpy(ud.gpr, c->gpr, sizeof ud.gpr);
            ud.efl = c->efl;
            memcpy(ud.arena, c->arena, sizeof ud.arena);
            memcpy(ud.ymm, c->ymm, sizeof ud.ymm);
            memcpy(ud.fx, c->fx, sizeof ud.fx);
            nr = &ud;
        }
        s->run++;
        if (nr->status == RS_FAULT) {
            s->faults++;
            g_vec[var][nr->trapno & 31]++;
        }
        if (nr->status == RS_FAULT && nr->trapno == 14 &&
            ((nr->cr2 >= HARN && nr->cr2 < HARN + HARN_LEN) ||
             (nr->cr2 >= 0x7FFF8000u && nr->cr2 < 0x90000000u) || nr->cr2 > 0xFFFFFFFFu)) {
            /* the generator never aims at the harness or sanitizer pages */
            rp(&r, "  TEST BUG: page fault at %" PRIx64 "\n", nr->cr2);
            ok = 0;
        } else if (nr->status == RS_CRASH) {
            if (nr->signo < 0)
                rp(&r, "  TEST BUG: the native child timed out on this case\n");
            else
                rp(&r, "  TEST BUG: the native child died (signal %d) on this case\n", nr->signo);
            ok = 0;
        } else if (nr->status != RS_OK && nr->status != RS_FAULT) {
            rp(&r, "  TEST BUG: native run status %d (signal %d, vector %u at ip %x cs %x)\n",
               nr->status, nr->signo, nr->trapno, nr->fault_eip, nr->fault_cs);
            ok = 0;
        } else {
            ok = emulate(c, nr, var, &r);
            fvmm_unmap_gva(g_vm, g_code_pages[0]);
            fvmm_unmap_gva(g_vm, g_code_pages[1]);
        }
        if (ok) {
            g_pass++;
            if (g_verbose) {
                report h;
                h.n = 0;
                h.buf[0] = 0;
                print_case(&h, c, nr, var);
                printf("ok [%s/%s] %s\n%s", g_vname[var], g_fam[c->fam].name, c->text, h.buf);
            }
        } else {
            g_fail++;
            s->failed++;
            if (g_maxprint == 0 || s->failed <= g_maxprint || g_verbose) {
                static report h;
                h.n = 0;
                h.buf[0] = 0;
                print_case(&h, c, nr, var);
                printf("FAIL [%s/%s] %s\n%s%s", g_vname[var], g_fam[c->fam].name, c->text, h.buf,
                       r.buf);
                if (g_verbose)
                    fvmm_dump_log(g_vm, stdout);
            }
        }
    }
}

/* ------------------------------------------------------------------ */
/* Driver                                                               */
/* ------------------------------------------------------------------ */

static batch *g_bt;

static void run_seed(uint64_t seed, double scale)
{
    printf("== seed %" PRIu64 " ==\n", seed);
    fflush(stdout);
    rng_seed(seed);
    unsigned wsum = 0;
    for (int f = 0; f < NFAM; f++)
        wsum += g_fam[f].weight;
    unsigned total = (unsigned)(400.0 * wsum * scale); /* 400 cases per unit of weight */
    if (total < 60)
        total = 60;
    /* A deterministic list of (mode, family) in a shuffled order. */
    unsigned done = 0;
    while (done < total) {
        batch *bt = g_bt;
        bt->n = 0;
        while (bt->n < BATCH && done < total) {
            unsigned pick = rndn(wsum);
            int fam = 0;
            while (pick >= g_fam[fam].weight) {
                pick -= g_fam[fam].weight;
                fam++;
            }
            unsigned mr = rndn(10);
            int mode = mr < 4 ? M16 : mr < 8 ? M32 : MREAL;
            if (mode == MREAL && g_fam[fam].gen == gen_cslimit)
                mode = (int)rndn(2); /* the real-mode CS limit is fixed */
            if (mode == M32 && g_fam[fam].gen == gen_ipwrap)
                mode = chance(1, 2) ? M16 : MREAL; /* a 16-bit IP */
            gen_case(&bt->c[bt->n], mode, fam);
            bt->n++;
            done++;
        }
        run_native(bt);
        for (int i = 0; i < bt->n; i++)
            check_case(&bt->c[i], &bt->r[i]);
        fflush(stdout);
    }
}

int main(void)
{
    const char *e;
    double scale = 1.0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if ((e = getenv("WHVEMU_MODES_SCALE")) && *e)
        scale = atof(e);
    if (scale <= 0)
        scale = 1.0;
    if ((e = getenv("WHVEMU_MODES_MAXPRINT")) && *e)
        g_maxprint = (unsigned)strtoul(e, NULL, 0);
    if ((e = getenv("WHVEMU_MODES_VERBOSE")) && *e == '1')
        g_verbose = 1;

    g_bt = mmap(NULL, sizeof(batch), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (g_bt == MAP_FAILED) {
        perror("mmap");
        return 2;
    }
    __builtin_cpu_init();
    g_avx = __builtin_cpu_supports("avx");
    g_avx2 = __builtin_cpu_supports("avx2");
    g_sse41 = __builtin_cpu_supports("sse4.1");
    g_fma = __builtin_cpu_supports("fma");
    g_sse42 = __builtin_cpu_supports("sse4.2");
    {
        static uint8_t fx[512] __attribute__((aligned(16)));
        __asm__ volatile("fxsave64 %0" : "=m"(fx));
        memcpy(&g_mxcsr_mask, fx + 28, 4);
        if (!g_mxcsr_mask)
            g_mxcsr_mask = 0xFFBF;
    }
    g_vm = fvmm_create();
    fvmm_setup_long_mode(g_vm, 3);
    fvmm_set_default_translation(g_vm, FVMM_UNMAPPED_NOT_PRESENT);
    if (WHvEmulatorCreateEmulator(fvmm_callbacks(), &g_emu) != S_OK ||
        whvemu_set_xstate_callback(g_emu, fvmm_xstate_callback()) != S_OK) {
        fprintf(stderr, "WHvEmulatorCreateEmulator or whvemu_set_xstate_callback failed\n");
        return 2;
    }
    double t0 = now_s();
    if ((e = getenv("WHVEMU_MODES_SEED")) && *e) {
        run_seed(strtoull(e, NULL, 0), scale);
    } else {
        run_seed(1, scale);
        uint64_t seed = mix64((uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32)) & 0xFFFFFFFFu;
        printf("random seed %" PRIu64 " (reproduce with WHVEMU_MODES_SEED=%" PRIu64 ")\n", seed,
               seed);
        run_seed(seed, scale);
    }
    printf("\nper mode and family (cases emulated, failed, cases where the CPU faulted):\n");
    for (int v = 0; v < NVAR; v++) {
        unsigned tr = 0, tf = 0;
        for (int f = 0; f < NFAM; f++) {
            const stat *s = &g_stat[v][f];
            if (!s->run)
                continue;
            printf("  %-9s %-20s %6u cases %5u failed %5u faults", g_vname[v], g_fam[f].name,
                   s->run, s->failed, s->faults);
            if (g_refused[v][f])
                printf(" %5u refused as documented", g_refused[v][f]);
            printf("\n");
            tr += s->run;
            tf += s->failed;
        }
        printf("  %-9s %-20s %6u cases %5u failed; CPU faults:", g_vname[v], "(all)", tr, tf);
        static const char *const vn[32] = {[0] = "#DE", [6] = "#UD", [12] = "#SS", [13] = "#GP",
                                           [14] = "#PF", [17] = "#AC"};
        for (int k = 0; k < 32; k++)
            if (g_vec[v][k])
                printf(" %s %u", vn[k] ? vn[k] : "?", g_vec[v][k]);
        printf("\n");
    }
    if (g_crashes)
        printf("native child crashes or timeouts: %u\n", g_crashes);
    printf("time %.1f s\n", now_s() - t0);
    WHvEmulatorDestroyEmulator(g_emu);
    fvmm_destroy(g_vm);
    munmap(g_bt, sizeof(batch));
    printf("%lu passed, %lu failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
