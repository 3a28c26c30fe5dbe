/*
 * test_diff_host.c - differential test of 64-bit MMIO emulation against the
 * host CPU (x86-64 Linux only).
 *
 * Every case is one instruction with a memory operand, generated from a
 * seeded PRNG (form x operand size x register/flag/memory values x
 * addressing form x prefixes). The instruction runs twice:
 *
 *   native:   copied into an executable page between a stub that loads all
 *             GPRs and RFLAGS from a state block and one that stores them
 *             back; its memory operand lies in an ordinary buffer;
 *   emulated: through WHvEmulatorTryMmioEmulation with the fake VMM, whose
 *             GVA map sends the buffer's pages (same linear addresses) to
 *             guest-physical pages; the page of the first accessed byte is
 *             the exit's GPA (GpaUnmapped = 1, GvaValid = 1 on most cases).
 *
 * Every GPR, RIP, RFLAGS (minus the flags the SDM leaves undefined for the
 * instruction and count, see undefined-flag notes at each generator) and the
 * whole buffer are compared. A native exception (#DE from DIV/IDIV, and the
 * #UD/#GP/#SS the "lock #UD" and "#GP" families aim at) must appear as the
 * same exception injected through PendingInterruption (type 3, vector,
 * error code) with RIP and every register unchanged.
 *
 * A few cases are not compared with the CPU alone: the destination of
 * BSF/BSR with a zero source (undefined in the SDM) must keep its value,
 * as the emulator documents; cache flushes and prefetch hints must make no
 * memory callback for data; families whose instructions the host lacks are
 * skipped, except MOVDIRI (the CPU runs the equivalent MOV) and MOVDIR64B
 * (a model of the 64-byte copy and its #GP). The host's own BSF/BSR
 * behaviour and the MOVDIRI/MOVDIR64B support are printed at the start.
 *
 * Each case also checks the fake VMM's round-trip rules and that no byte of
 * the MMIO page is read twice or written twice. One passed case in eight is
 * rerun with one callback failing (HRESULT, #PF-causing translate result,
 * unaligned GPA) at a call number the clean run reached.
 *
 * The instruction usually sits mid-page, sometimes straddling into a second
 * code page; the exit carries 16 instruction bytes, none (the emulator
 * fetches them), exactly the instruction, or a truncated prefix of it. CPL
 * is 0 or 3. FS/GS overrides use the host's real bases.
 *
 * Environment: WHVEMU_DIFF_SEED=<n> reproduces one run with that seed only;
 * WHVEMU_DIFF_SCALE=<f> scales the per-family case counts (default 1.0);
 * WHVEMU_DIFF_VERBOSE=1 prints every case; WHVEMU_DIFF_MAXPRINT=<n> limits
 * the failures printed in full per family (default 20, 0 = all; every
 * failure is counted in the summary);
 * WHVEMU_DIFF_SELFTEST=1 also checks the generator: each case first runs
 * natively with the data pages inaccessible and must fault at the address
 * given as the exit's GVA.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "WinHvEmulation.h"
#include "fake_vmm.h"
#include "code_emit.h"
#include "native_fault.h"
#include "test_rng.h"
#include "whvemu.h"

#ifndef ARCH_GET_FS
#define ARCH_GET_FS 0x1003
#endif
#ifndef ARCH_GET_GS
#define ARCH_GET_GS 0x1004
#endif

/* RFLAGS bits. */
#define F_CF 0x001u
#define F_PF 0x004u
#define F_AF 0x010u
#define F_ZF 0x040u
#define F_SF 0x080u
#define F_DF 0x400u
#define F_OF 0x800u
#define F_ARITH (F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF)

#define PAGE 4096u


static uint64_t size_mask(int size)
{
    return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

/* An operand value of `size` bytes, biased towards edge cases. */
static uint64_t rnd_val(int size)
{
    uint64_t m = size_mask(size);
    uint64_t sign = 1ull << (8 * size - 1);
    switch (rndn(10)) {
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
    case 6:
        return (sign + rndn(5) - 2) & m;
    default:
        return rnd() & m;
    }
}

/* A full 64-bit register whose low `size` bytes are rnd_val(size). */
static uint64_t rnd_reg(int size)
{
    uint64_t m = size_mask(size);
    uint64_t upper = chance(1, 4) ? 0 : rnd();
    return (upper & ~m) | rnd_val(size);
}

static int rnd_size(unsigned mask) /* mask bits: 1,2,4,8 */
{
    int c[4], n = 0;
    for (int s = 1; s <= 8; s <<= 1)
        if (mask & (unsigned)s)
            c[n++] = s;
    return c[rndn((uint64_t)n)];
}

/* ------------------------------------------------------------------ */
/* Memory layout                                                        */
/* ------------------------------------------------------------------ */

/* One mapping: two code pages, the state page, a spare page, then three
 * pairs of data pages. */
enum { PG_CODE = 0, PG_CODE2 = 1, PG_STATE = 2, PG_D = 4, PG_E = 6, PG_S = 8, PG_COUNT = 10 };
#define DATA_FIRST PG_D
#define DATA_PAGES 6 /* D, E, S pairs */

static uint8_t *g_region;
static uint64_t g_base;
static uint64_t g_fs_base, g_gs_base;
static int g_low_region;   /* region below 2 GiB: [disp32] and 0x67 forms */
static int g_split_lock;   /* host traps split locks: keep locked operands in a line */

/* GPA of each region page in the fake VMM (scrambled, not identity). */
static uint64_t page_gpa(int pg)
{
    static const uint64_t gpas[PG_COUNT] = {
        0x00100000, 0x00777000, 0x00200000, 0x00201000, 0xFEC13000,
        0x0A000000, 0x0B003000, 0x07FFF000, 0x00345000, 0x00346000,
    };
    return gpas[pg];
}

static uint64_t region_addr(int pg, uint64_t off)
{
    return g_base + (uint64_t)pg * PAGE + off;
}

/* ------------------------------------------------------------------ */
/* Native runner                                                        */
/* ------------------------------------------------------------------ */

typedef struct state_block {
    uint64_t in[17];  /* GPRs 0..15, RFLAGS */
    uint64_t out[17];
    uint64_t host_rsp;
} state_block;

#define SB_IN(i) ((int32_t)(offsetof(state_block, in) + 8 * (i)))
#define SB_OUT(i) ((int32_t)(offsetof(state_block, out) + 8 * (i)))
#define SB_HOST ((int32_t)offsetof(state_block, host_rsp))

static state_block *g_sb;
static size_t g_jmp_at;      /* offset of the prologue's jmp rel32 field */
static uint64_t g_insn_addr; /* where the instruction under test goes */

/* Most instructions sit in the middle of the first code page; some end
 * the page so that they straddle into the second one. */
static void pick_insn_addr(int straddle)
{
    g_insn_addr = g_base + (straddle ? PAGE - 1 - (rndn(8)) : 0x800);
}



static void build_prologue(void)
{
    bytebuf b = {g_region, 0};
    static const uint8_t saves[] = {0x53, 0x55, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56, 0x41, 0x57};
    for (size_t i = 0; i < sizeof saves; i++)
        put8(&b, saves[i]);
    put8(&b, 0x48); /* mov rax, imm64 */
    put8(&b, 0xB8);
    put64(&b, (uint64_t)(uintptr_t)g_sb);
    put_rax_rel(&b, 0, 4, SB_HOST); /* mov [rax+host], rsp */
    put8(&b, 0xFF); /* push qword [rax + in[16]] */
    put8(&b, 0xB0);
    put32(&b, (uint32_t)SB_IN(16));
    put8(&b, 0x9D); /* popfq */
    for (int r = 1; r < 16; r++)
        put_rax_rel(&b, 1, r, SB_IN(r));
    put_rax_rel(&b, 1, 0, SB_IN(0));
    put8(&b, 0xE9); /* jmp rel32 to the instruction, patched per case */
    g_jmp_at = b.n;
    put32(&b, 0);
    g_insn_addr = g_base + 0x800;
}

/* Writes the instruction and the epilogue after the prologue. */
static void place_insn(const uint8_t *insn, size_t len)
{
    uint32_t rel = (uint32_t)(g_insn_addr - (g_base + g_jmp_at + 4));
    for (int i = 0; i < 4; i++)
        g_region[g_jmp_at + (size_t)i] = (uint8_t)(rel >> (8 * i));
    bytebuf b = {(uint8_t *)(uintptr_t)g_insn_addr, 0};
    for (size_t i = 0; i < len; i++)
        put8(&b, insn[i]);
    put8(&b, 0x48); /* mov [abs64], rax */
    put8(&b, 0xA3);
    put64(&b, (uint64_t)(uintptr_t)&g_sb->out[0]);
    put8(&b, 0x48); /* mov rax, imm64 */
    put8(&b, 0xB8);
    put64(&b, (uint64_t)(uintptr_t)g_sb);
    for (int r = 1; r < 16; r++)
        put_rax_rel(&b, 0, r, SB_OUT(r));
    put_rax_rel(&b, 1, 4, SB_HOST); /* mov rsp, [rax+host] */
    put8(&b, 0x9C);                 /* pushfq */
    put8(&b, 0x59);                 /* pop rcx */
    put_rax_rel(&b, 0, 1, SB_OUT(16));
    put8(&b, 0xFC); /* cld */
    static const uint8_t restores[] = {0x41, 0x5F, 0x41, 0x5E, 0x41, 0x5D, 0x41, 0x5C, 0x5D, 0x5B, 0xC3};
    for (size_t i = 0; i < sizeof restores; i++)
        put8(&b, restores[i]);
}

/* Runs the placed instruction; returns 0 or the signal number. */
static int native_run(void)
{
    void (*fn)(void);
    void *entry = g_region;
    memcpy(&fn, &entry, sizeof fn);
    g_sig = 0;
    if (sigsetjmp(g_jb, 1) == 0) {
        fn();
        return 0;
    }
    return g_sig;
}

static void setup_native(void)
{
    size_t len = (size_t)PG_COUNT * PAGE;
    void *hint = (void *)(uintptr_t)0x30000000u;
    void *p = mmap(hint, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    g_region = p;
    g_base = (uint64_t)(uintptr_t)p;
    if (mprotect(p, 2 * PAGE, PROT_READ | PROT_WRITE | PROT_EXEC) != 0) {
        perror("mprotect RWX");
        exit(2);
    }
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
    sigaction(SIGFPE, &sa, NULL);
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGILL, &sa, NULL);

    unsigned long v = 0;
    if (syscall(SYS_arch_prctl, ARCH_GET_FS, &v) == 0)
        g_fs_base = v;
    v = 0;
    if (syscall(SYS_arch_prctl, ARCH_GET_GS, &v) == 0)
        g_gs_base = v;

    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[4096];
        while (fgets(line, sizeof line, f))
            if (strncmp(line, "flags", 5) == 0 && strstr(line, " split_lock_detect"))
                g_split_lock = 1;
        fclose(f);
    }
    for (size_t i = (size_t)PG_D * PAGE; i < len; i++)
        g_region[i] = (uint8_t)rnd();
    build_prologue();
}

/* ------------------------------------------------------------------ */
/* Test cases and the encoder                                           */
/* ------------------------------------------------------------------ */

typedef struct tcase {
    uint8_t insn[24]; /* the encoder may exceed the 15-byte limit */
    int len;
    uint64_t gpr[16];
    uint64_t rflags;
    uint64_t exit_gva;            /* first byte of the intercepted access */
    WHV_MEMORY_ACCESS_TYPE access; /* its type */
    uint32_t undef;               /* RFLAGS bits not compared */
    int str_size;                 /* string instructions: element size, */
    int str_a32;                  /* 0x67, */
    int str_rep;                  /* REP prefix */
    int expect_fault;             /* the generator aims at #GP/#UD */
    int keep_reg;                 /* 1 + a GPR the SDM leaves undefined and the
                                     emulator keeps: compared with the input */
    int no_data_access;           /* no memory callback outside the code pages */
    int model;                    /* expected results from a model, not the CPU */
    uint64_t copy_src, copy_dst;  /* MODEL_COPY64: 64 bytes from copy_src to copy_dst */
    uint8_t native[24];           /* when native_len: the bytes the CPU runs instead */
    int native_len;
    char text[160];
} tcase;

/* tcase.model */
#define MODEL_COPY64 1 /* MOVDIR64B on a host without it */

typedef struct memop {
    int base;  /* -1 none, 0..15 */
    int index; /* -1 none, 0..15 (never 4) */
    int scale; /* log2 */
    int32_t disp;
    int dispsz; /* 0, 1, 4 */
    int riprel;
    uint64_t riptarget;
} memop;

/* Prefix and encoding choices for one instruction. */
typedef struct ispec {
    uint8_t legacy[6];
    int nlegacy;
    int size;       /* operand size: 66 for 2, REX.W for 8 (unless nosize) */
    int nosize;     /* operand size fixed by opcode */
    int rexw_force; /* REX.W regardless of size */
    int rex_force;  /* emit a REX even when not needed */
    const uint8_t *opc;
    int nopc;
    int reg; /* ModRM.reg (0..15) */
    memop m;
    int a32; /* 0x67 */
    int nimm;
    uint64_t imm;
    int redundant66; /* emit 0x66 even though REX.W overrides it */
    int vex;         /* a three-byte VEX prefix (C4) instead of REX */
    int vex_map;     /* 1: 0F, 2: 0F 38, 3: 0F 3A */
    int vex_pp;      /* 0: none, 1: 66, 2: F3, 3: F2 */
    int vex_w, vex_l;
    int vex_v;       /* the VEX.vvvv register (stored inverted), 0 when unused */
} ispec;

static int encode(const ispec *s, uint64_t addr, uint8_t *out)
{
    bytebuf b = {out, 0};
    for (int i = 0; i < s->nlegacy; i++)
        put8(&b, s->legacy[i]);
    if (!s->nosize && (s->size == 2 || (s->size == 8 && s->redundant66)))
        put8(&b, 0x66); /* with REX.W, 0x66 is ignored */
    if (s->a32)
        put8(&b, 0x67);
    unsigned rex = 0;
    if ((!s->nosize && s->size == 8) || s->rexw_force)
        rex |= 8;
    if (s->reg >= 8)
        rex |= 4;
    if (s->m.index >= 8)
        rex |= 2;
    if (s->m.base >= 8)
        rex |= 1;
    if (s->vex) {
        /* C4, ~R ~X ~B mmmmm, W ~vvvv L pp (SDM Vol. 2 2.3.5) */
        put8(&b, 0xC4);
        put8(&b, ((~rex & 7u) << 5) | (unsigned)s->vex_map);
        put8(&b, (s->vex_w ? 0x80u : 0u) | ((~(unsigned)s->vex_v & 15u) << 3) |
                     (s->vex_l ? 4u : 0u) | (unsigned)s->vex_pp);
    } else if (rex || s->rex_force) {
        put8(&b, 0x40 | rex);
    }
    for (int i = 0; i < s->nopc; i++)
        put8(&b, s->opc[i]);
    unsigned reg = (unsigned)(s->reg & 7) << 3;
    size_t disp_at = 0;
    if (s->m.riprel) {
        put8(&b, 0x05 | reg);
        disp_at = b.n;
        put32(&b, 0);
    } else if (s->m.base < 0) {
        /* [index*scale + disp32] or [disp32] through a SIB without base. */
        put8(&b, 0x04 | reg);
        unsigned idx = s->m.index < 0 ? 4u : (unsigned)(s->m.index & 7);
        put8(&b, ((unsigned)s->m.scale << 6) | (idx << 3) | 5u);
        put32(&b, (uint32_t)s->m.disp);
    } else {
        int dsz = s->m.dispsz;
        if (dsz == 0 && (s->m.base & 7) == 5)
            dsz = 1; /* RBP/R13 need a displacement */
        unsigned mod = dsz == 0 ? 0u : dsz == 1 ? 1u : 2u;
        if (s->m.index >= 0 || (s->m.base & 7) == 4) {
            unsigned idx = s->m.index < 0 ? 4u : (unsigned)(s->m.index & 7);
            put8(&b, (mod << 6) | reg | 4u);
            put8(&b, ((unsigned)s->m.scale << 6) | (idx << 3) | (unsigned)(s->m.base & 7));
        } else {
            put8(&b, (mod << 6) | reg | (unsigned)(s->m.base & 7));
        }
        if (dsz == 1)
            put8(&b, (unsigned)s->m.disp & 0xFF);
        else if (dsz == 4)
            put32(&b, (uint32_t)s->m.disp);
    }
    for (int i = 0; i < s->nimm; i++)
        put8(&b, (unsigned)(s->imm >> (8 * i)) & 0xFF);
    if (s->m.riprel) {
        uint64_t next = addr + b.n;
        int64_t d = (int64_t)(s->m.riptarget - next);
        if (s->a32)
            d = (int32_t)(uint32_t)(s->m.riptarget - next);
        uint32_t v = (uint32_t)d;
        for (int i = 0; i < 4; i++)
            out[disp_at + (size_t)i] = (uint8_t)(v >> (8 * i));
    }
    return (int)b.n;
}

/* Picks an addressing form for linear address `ea` and sets the base and
 * index registers in tc. excl: registers (bit mask) not to use. The 0x67
 * and segment choices are made here too (opts). */
#define MO_NO_SEG 1u
#define MO_NO_A32 2u

static void plan_mem(tcase *tc, ispec *s, uint64_t ea, unsigned excl, unsigned opts)
{
    memop *m = &s->m;
    memset(m, 0, sizeof *m);
    m->base = m->index = -1;
    excl |= 1u << 4; /* RSP is the test stack pointer */

    /* Segment override: FS/GS bases are the host's; others are ignored in
     * 64-bit mode (the fake VMM gives them garbage bases on some cases). */
    uint64_t segbase = 0;
    if (!(opts & MO_NO_SEG) && chance(1, 8)) {
        static const uint8_t segs[] = {0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0x64, 0x65};
        uint8_t p = segs[rndn(sizeof segs)];
        s->legacy[s->nlegacy++] = p;
        if (p == 0x64)
            segbase = g_fs_base;
        else if (p == 0x65)
            segbase = g_gs_base;
    }
    s->a32 = 0;
    if (!(opts & MO_NO_A32) && segbase == 0 && g_low_region && chance(1, 10))
        s->a32 = 1;
    uint64_t off = ea - segbase;

    int pick[16], np = 0;
    for (int r = 0; r < 16; r++)
        if (!(excl & (1u << r)))
            pick[np++] = r;

    int form = (int)rndn(10);
    int64_t rip_dist = (int64_t)(ea - g_insn_addr);
    if (form == 8 && segbase == 0 &&
        (s->a32 || (rip_dist > -0x7FFF0000ll && rip_dist < 0x7FFF0000ll))) {
        m->riprel = 1;
        m->riptarget = ea;
        return;
    }
    if (form == 9 && (g_low_region || s->a32) && off < 0x7FFFFFFFull) {
        m->disp = (int32_t)off;
        return; /* [disp32] */
    }
    form %= 8;
    int use_index = form >= 3;
    int no_base = form == 7;
    m->dispsz = form == 1 || form == 4 ? 1 : form == 2 || form == 5 ? 4 : 0;
    if (no_base)
        m->dispsz = 4;
    if (m->dispsz == 1)
        m->disp = (int8_t)rnd();
    else if (m->dispsz == 4)
        m->disp = chance(1, 2) ? (int32_t)rnd() : (int32_t)(int16_t)rnd();
    uint64_t addr_mask = s->a32 ? 0xFFFFFFFFull : ~0ull;

    if (use_index && np >= 2) {
        m->index = pick[rndn((uint64_t)np)];
        m->scale = (int)rndn(4);
        if (no_base) {
            /* index*scale + disp32 = off: adjust disp to make it divisible. */
            uint64_t mul = 1ull << m->scale;
            int64_t d = m->disp;
            if (d > INT32_MAX - 8)
                d -= 8;
            d += (int64_t)((off - (uint64_t)d) & (mul - 1));
            m->disp = (int32_t)d;
            uint64_t iv = (off - (uint64_t)(int64_t)m->disp) >> m->scale;
            if (s->a32) /* only the low 32 bits count; any upper garbage */
                iv = ((off - (uint64_t)(int64_t)m->disp) & 0xFFFFFFFFull) >> m->scale |
                     (rnd() & ~(0xFFFFFFFFull >> m->scale));
            tc->gpr[m->index] = iv;
            /* With a32 the top scale bits of the 32-bit index are lost;
             * recompute exactly what the CPU will use. */
            if (s->a32) {
                uint64_t eff = ((tc->gpr[m->index] << m->scale) + (uint64_t)(int64_t)m->disp) &
                               0xFFFFFFFFull;
                if (eff != (off & 0xFFFFFFFFull)) {
                    tc->gpr[m->index] = (off - (uint64_t)(int64_t)m->disp) >> m->scale;
                }
            }
            return;
        }
        do
            m->base = pick[rndn((uint64_t)np)];
        while (m->base == m->index);
        uint64_t iv = chance(1, 2) ? rnd() : rndn(4096) - 2048;
        tc->gpr[m->index] = iv;
        tc->gpr[m->base] = (off - (iv << m->scale) - (uint64_t)(int64_t)m->disp);
        if (s->a32)
            tc->gpr[m->base] = (tc->gpr[m->base] & addr_mask) | (rnd() << 32);
        return;
    }
    m->base = pick[rndn((uint64_t)np)];
    tc->gpr[m->base] = off - (uint64_t)(int64_t)m->disp;
    if (s->a32)
        tc->gpr[m->base] = (tc->gpr[m->base] & addr_mask) | (rnd() << 32);
}

/* An operand address in the pair of pages starting at page pg, for an
 * access of `span` bytes; often crossing the middle page boundary. When
 * `atomic` and the host traps split locks, the operand stays in one cache
 * line. */
static uint64_t pick_ea(int pg, unsigned span, int atomic, unsigned align)
{
    uint64_t off;
    if (chance(1, 3))
        off = PAGE - span - 1 + rndn(span + 3);
    else
        off = 64 + rndn(2 * PAGE - 128 - span);
    if (align)
        off &= ~(uint64_t)(align - 1);
    if (atomic && g_split_lock && (off & 63) + span > 64)
        off &= ~(uint64_t)(span - 1);
    return region_addr(pg, off);
}

static void fill_random(uint64_t addr, size_t len)
{
    uint8_t *p = (uint8_t *)(uintptr_t)addr;
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)rnd();
}

static void store_val(uint64_t addr, uint64_t v, int size)
{
    memcpy((void *)(uintptr_t)addr, &v, (size_t)size);
}

static uint64_t load_val(uint64_t addr, int size)
{
    uint64_t v = 0;
    memcpy(&v, (const void *)(uintptr_t)addr, (size_t)size);
    return v;
}

static void memval(uint64_t addr, int size)
{
    store_val(addr, rnd_val(size), size);
}

static const char *const g_szname[9] = {"", "b", "w", "", "d", "", "", "", "q"};

/* Common start of a case: random GPRs and flags. */
static void case_init(tcase *tc)
{
    memset(tc, 0, sizeof *tc);
    for (int r = 0; r < 16; r++)
        tc->gpr[r] = rnd_reg(rnd_size(15));
    tc->gpr[4] = region_addr(PG_S, PAGE - 64 + rndn(128)) & ~(chance(3, 4) ? 7ull : 0ull);
    tc->rflags = 0x202 | (rnd() & F_ARITH);
    if (chance(1, 4))
        tc->rflags |= F_DF;
    tc->access = WHvMemoryAccessRead;
}

static void tc_text(tcase *tc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tc->text, sizeof tc->text, fmt, ap);
    va_end(ap);
}

/* Encodes s at the instruction address into tc. */
static void finish(tcase *tc, const ispec *s)
{
    tc->len = encode(s, g_insn_addr, tc->insn);
    /* Instructions are at most 15 bytes (SDM Vol. 2, 2.1); a longer one
     * raises #GP(0), which the emulator must do as well. */
    if (tc->len > 15)
        tc->expect_fault = 1;
}

static void add_lock(ispec *s, int lock)
{
    if (lock)
        s->legacy[s->nlegacy++] = 0xF0;
}

/* The basic ModRM memory form: opcode bytes, reg field, operand size
 * (1 = byte form, the opcode already says so), memory operand at ea. */
static void modrm_insn(tcase *tc, ispec *s, const uint8_t *opc, int nopc, int reg, int size,
                       uint64_t ea, unsigned excl, unsigned opts)
{
    s->opc = opc;
    s->nopc = nopc;
    s->reg = reg;
    s->size = size;
    /* Not for MOVNTI: 66 0F C3 is undefined (#UD). */
    s->redundant66 = size == 8 && chance(1, 12) && !(nopc == 2 && opc[1] == 0xC3);
    if (size == 1) {
        s->nosize = 1;
        s->rex_force = chance(1, 3); /* SPL..DIL instead of AH..BH */
    }
    plan_mem(tc, s, ea, excl, opts);
}

/* ------------------------------------------------------------------ */
/* Families                                                             */
/* ------------------------------------------------------------------ */

/* MOV 88 89 8A 8B C6 C7: no flags affected. */
static void gen_mov(tcase *tc)
{
    static const uint8_t ops[6] = {0x88, 0x89, 0x8A, 0x8B, 0xC6, 0xC7};
    ispec s;
    memset(&s, 0, sizeof s);
    int k = (int)rndn(6);
    int byte = (ops[k] & 1) == 0;
    int size = byte ? 1 : rnd_size(14);
    uint64_t ea = pick_ea(PG_D, (unsigned)size, 0, 0);
    memval(ea, size);
    int reg = k >= 4 ? 0 : (int)rndn(16);
    modrm_insn(tc, &s, &ops[k], 1, reg, size, ea, 0, 0);
    if (k >= 4) {
        s.nimm = size == 1 ? 1 : size == 2 ? 2 : 4;
        s.imm = rnd_val(s.nimm);
    }
    tc->access = (k == 2 || k == 3) ? WHvMemoryAccessRead : WHvMemoryAccessWrite;
    finish(tc, &s);
    tc->exit_gva = ea;
    tc_text(tc, "mov%s op %02x", g_szname[size], ops[k]);
}

/* MOV A0-A3 with a 64-bit (or, with 0x67, 32-bit) moffs. */
static void gen_moffs(tcase *tc)
{
    int k = (int)rndn(4);
    int size = (k & 1) ? rnd_size(14) : 1;
    uint64_t ea = pick_ea(PG_D, (unsigned)size, 0, 0);
    memval(ea, size);
    bytebuf b = {tc->insn, 0};
    int a32 = g_low_region && chance(1, 8);
    int seg = chance(1, 8) ? (chance(1, 2) ? 0x64 : 0x3E) : 0;
    if (a32)
        seg = 0;
    if (seg)
        put8(&b, (unsigned)seg);
    if (size == 2)
        put8(&b, 0x66);
    if (a32)
        put8(&b, 0x67);
    if (size == 8)
        put8(&b, 0x48);
    else if (chance(1, 8))
        put8(&b, 0x40 | (unsigned)rndn(4) << 1); /* REX without W (X/R ignored) */
    put8(&b, 0xA0u + (unsigned)k);
    uint64_t moffs = ea - (seg == 0x64 ? g_fs_base : 0);
    if (a32)
        put32(&b, (uint32_t)moffs);
    else
        put64(&b, moffs);
    tc->len = (int)b.n;
    tc->exit_gva = ea;
    tc->access = k < 2 ? WHvMemoryAccessRead : WHvMemoryAccessWrite;
    tc_text(tc, "mov%s moffs%s op %02x", g_szname[size], a32 ? "32" : "64", 0xA0 + k);
}

/* MOVZX/MOVSX 0F B6 B7 BE BF: no flags. */
static void gen_movx(tcase *tc)
{
    static const uint8_t op2[4] = {0xB6, 0xB7, 0xBE, 0xBF};
    int k = (int)rndn(4);
    uint8_t opc[2] = {0x0F, op2[k]};
    int src = (k & 1) ? 2 : 1;
    int size = rnd_size(14);
    uint64_t ea = pick_ea(PG_D, (unsigned)src, 0, 0);
    memval(ea, src);
    ispec s;
    memset(&s, 0, sizeof s);
    modrm_insn(tc, &s, opc, 2, (int)rndn(16), size, ea, 0, 0);
    finish(tc, &s);
    tc->exit_gva = ea;
    tc_text(tc, "mov%cx%s r%d, m%d", k >= 2 ? 's' : 'z', g_szname[size], size * 8, src * 8);
}

/* MOVSXD REX.W 63 /r: no flags. */
static void gen_movsxd(tcase *tc)
{
    static const uint8_t opc[1] = {0x63};
    uint64_t ea = pick_ea(PG_D, 4, 0, 0);
    memval(ea, 4);
    ispec s;
    memset(&s, 0, sizeof s);
    modrm_insn(tc, &s, opc, 1, (int)rndn(16), 8, ea, 0, 0);
    finish(tc, &s);
    tc->exit_gva = ea;
    tc_text(tc, "movsxd r64, m32");
}

static const char *const g_alu_names[8] = {"add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"};

/* ADD OR ADC SBB AND SUB XOR CMP. Flags: OF SF ZF AF PF CF all defined for
 * ADD/ADC/SUB/SBB/CMP; for AND/OR/XOR the SDM clears OF and CF, sets SF ZF
 * PF by the result and leaves AF undefined. */
static uint32_t alu_undef(int op)
{
    return (op == 1 || op == 4 || op == 6) ? F_AF : 0;
}

/* dir 0: memory destination (op*8 + 0/1), 1: memory source (+2/3). */
/* An RMW instruction's exit: the first access is the read, but a VMM may
 * also see the write reported. */
static WHV_MEMORY_ACCESS_TYPE rmw_access(void)
{
    return chance(1, 5) ? WHvMemoryAccessWrite : WHvMemoryAccessRead;
}

static void gen_alu_dir(tcase *tc, int dir)
{
    int op = (int)rndn(8);
    int size = rnd_size(15);
    int lock = dir == 0 && op != 7 && chance(1, 4);
    uint8_t opc[1] = {(uint8_t)(op * 8 + dir * 2 + (size == 1 ? 0 : 1))};
    uint64_t ea = pick_ea(PG_D, (unsigned)size, lock, 0);
    memval(ea, size);
    ispec s;
    memset(&s, 0, sizeof s);
    add_lock(&s, lock);
    modrm_insn(tc, &s, opc, 1, (int)rndn(16), size, ea, 0, 0);
    finish(tc, &s);
    tc->exit_gva = ea;
    if (dir == 0 && op != 7)
        tc->access = rmw_access();
    tc->undef = alu_undef(op);
    tc_text(tc, "%s%s%s %s", lock ? "lock " : "", g_alu_names[op], g_szname[size],
            dir ? "r, m" : "m, r");
}

static void gen_alu_mdst(tcase *tc)
{
    gen_alu_dir(tc, 0);
}

static void gen_alu_msrc(tcase *tc)
{
    gen_alu_dir(tc, 1);
}

/* 80 /op ib, 81 /op iz, 83 /op ib (sign-extended). */
static void gen_alu_imm(tcase *tc)
{
    int op = (int)rndn(8);
    int k = (int)rndn(3);
    int size = k == 0 ? 1 : rnd_size(14);
    int lock = op != 7 && chance(1, 4);
    static const uint8_t ops[3] = {0x80, 0x81, 0x83};
    uint64_t ea = pick_ea(PG_D, (unsigned)size, lock, 0);
    memval(ea, size);
    ispec s;
    memset(&s, 0, sizeof s);
    add_lock(&s, lock);
    modrm_insn(tc, &s, &ops[k], 1, op, size, ea, 0, 0);
    s.nimm = k == 1 ? (size == 2 ? 2 : 4) : 1;
    s.imm = rnd_val(s.nimm);
    finish(tc, &s);
    tc->exit_gva = ea;
    if (op != 7)
        tc->access = rmw_access();
    tc->undef = alu_undef(op);
    tc_text(tc, "%s%s%s m, imm (op %02x)", lock ? "lock " : "", g_alu_names[op], g_szname[size],
            ops[k]);
}

/* TEST 84 85 F6/0 F7/0: OF CF cleared, SF ZF PF by result, AF undefined. */
static void gen_test(tcase *tc)
{
    int k = (int)rndn(4);
    static const uint8_t ops[4] = {0x84, 0x85, 0xF6, 0xF7};
    int size = (k & 1) ? rnd_size(14) : 1;
    uint64_t ea = pick_ea(PG_D, (unsigned)size, 0, 0);
    memval(ea, size);
    ispec s;
    memset(&s, 0, sizeof s);
    modrm_insn(tc, &s, &ops[k], 1, k < 2 ? (int)rndn(16) : 0, size, ea, 0, 0);
    if (k >= 2) {
        s.nimm = size == 1 ? 1 : size == 2 ? 2 : 4;
        s.imm = rnd_val(s.nimm);
    }
    finish(tc, &s);
    tc->exit_gva = ea;
    tc->undef = F_AF;
    tc_text(tc, "test%s op %02x", g_szname[size], ops[k]);
}

/* INC DEC (FE/FF /0 /1): CF unaffected, the rest defined.
 * NEG (F6/F7 /3): all defined, CF = (src != 0). NOT (/2): no flags. */
static void gen_unary(tcase *tc, int incdec)
{
    int size = rnd_size(15);
    int which = (int)rndn(2);
    int reg = incdec ? which : 2 + which;
    static const uint8_t fe[2] = {0xFE, 0xFF}, f6[2] = {0xF6, 0xF7};
    const uint8_t *opc = incdec ? &fe[size == 1 ? 0 : 1] : &f6[size == 1 ? 0 : 1];
    int lock = chance(1, 4);
    uint64_t ea = pick_ea(PG_D, (unsigned)size, lock, 0);
    memval(ea, size);
    ispec s;
    memset(&s, 0, sizeof s);
    add_lock(&s, lock);
    modrm_insn(tc, &s, opc, 1, reg, size, ea, 0, 0);
    finish(tc, &s);
    tc->exit_gva = ea;
    tc->access = rmw_access();
    static const char *const nm[4] = {"inc", "dec", "not", "neg"};
    tc_text(tc, "%s%s%s m", lock ? "lock " : "", nm[reg], g_szname[size]);
}

static void gen_incdec(tcase *tc)
{
    gen_unary(tc, 1);
}

static void gen_negnot(tcase *tc)
{
    gen_unary(tc, 0);
}

/* Shifts and rotates: D0/D1 by 1, D2/D3 by CL, C0/C1 by imm8.
 * SDM (SAL/SAR/SHL/SHR "Flags Affected"): count is masked to 5 bits (6 with
 * REX.W); masked count 0 affects no flags; otherwise AF is undefined, OF is
 * undefined unless the masked count is 1, and CF is undefined for SHL/SHR
 * when the count is >= the operand width.
 * SDM (RCL/RCR/ROL/ROR "Flags Affected"): SF ZF AF PF are never affected; a
 * masked count of 0 affects nothing; OF is undefined unless the masked count
 * is 1; CF is defined (for RCL/RCR a count that is 0 modulo 9/17 leaves CF
 * unchanged, which is still defined). */
static uint32_t shift_undef(int op, unsigned count, int size)
{
    unsigned c = count & (size == 8 ? 0x3Fu : 0x1Fu);
    if (c == 0)
        return 0;
    uint32_t u = 0;
    if (c != 1)
        u |= F_OF;
    if (op >= 4) {
        u |= F_AF;
        if ((op == 4 || op == 5) && c >= (unsigned)size * 8)
            u |= F_CF;
    }
    return u;
}

static void gen_shift(tcase *tc, int rotate)
{
    static const char *const nm[8] = {"rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar"};
    int op = rotate ? (int)rndn(4) : (int[]){4, 5, 7}[rndn(3)];
    int size = rnd_size(15);
    int form = (int)rndn(3); /* 0: by 1, 1: by CL, 2: by imm8 */
    uint8_t opc[1];
    opc[0] = (uint8_t)((form == 0 ? 0xD0 : form == 1 ? 0xD2 : 0xC0) + (size == 1 ? 0 : 1));
    unsigned count = chance(3, 4) ? (unsigned)rndn((uint64_t)size * 8 + 3) : (unsigned)rndn(256);
    uint64_t ea = pick_ea(PG_D, (unsigned)size, 0, 0);
    memval(ea, size);
    ispec s;
    memset(&s, 0, sizeof s);
    modrm_insn(tc, &s, opc, 1, op, size, ea, form == 1 ? 1u << 1 : 0u, 0);
    if (form == 1)
        tc->gpr[1] = (tc->gpr[1] & ~0xFFull) | count;
    if (form == 2) {
        s.nimm = 1;
        s.imm = count;
    }
    if (form == 0)
        count = 1;
    finish(tc, &s);
    tc->exit_gva = ea;
    tc->access = rmw_access();
    tc->undef = shift_undef(op, count, size);
    tc_text(tc, "%s%s m, %s (count %u)", nm[op], g_szname[size],
            form == 0 ? "1" : form == 1 ? "cl" : "imm8", count);
}

static void gen_shifts(tcase *tc)
{
    gen_shift(tc, 0);
}

static void gen_rotates(tcase *tc)
{
    gen_shift(tc, 1);
}

/* SHLD/SHRD 0F A4/AC (imm8), A5/AD (CL). SDM: masked count 0 affects no
 * flags; AF undefined; OF undefined unless the count is 1; a count greater
 * than the operand size (16-bit forms) makes result and flags undefined, so
 * such counts are not generated. */
static void gen_shxd(tcase *tc)
{
    int right = (int)rndn(2);
    int bycl = (int)rndn(2);
    int size = rnd_size(14);
    uint8_t opc[2] = {0x0F, (uint8_t)((right ? 0xAC : 0xA4) + bycl)};
    unsigned mask = size == 8 ? 0x3Fu : 0x1Fu;
    unsigned count;
    do
        count = chance(3, 4) ? (unsigned)rndn((uint64_t)size * 8 + 1) : (unsigned)rndn(256);
    while (size == 2 && (count & mask) > 16);
    uint64_t ea = pick_ea(PG_D, (unsigned)size, 0, 0);
    memval(ea, size);
    ispec s;
    memset(&s, 0, sizeof s);
    int reg = (int)rndn(16);
    modrm_insn(tc, &s, opc, 2, reg, size, ea, bycl ? 1u << 1 : 0u, 0);
    if (bycl) {
        tc->gpr[1] = (tc->gpr[1] & ~0xFFull) | count;
    } else {
        s.nimm = 1;
        s.imm = count;
    }
    finish(tc, &s);
    tc->exit_gva = ea;
    tc->access = rmw_access();
    unsigned c = count & mask;
    tc->undef = c == 0 ? 0 : (F_AF | (c != 1 ? F_OF : 0));
    tc_text(tc, "sh%cd%s m, r, %s (count %u)", right ? 'r' : 'l', g_szname[size],
            bycl ? "cl" : "imm8", count);
}

/* XCHG 86/87 (implicitly locked): no flags. */
static void gen_xchg(tcase *tc)
{
    int size = rnd_size(15);
    uint8_t opc[1] = {(uint8_t)(size == 1 ? 0x86 : 0x87)};
    uint64_t ea = pick_ea(PG_D, (unsigned)size, 1, 0);
    memval(ea, size);
    ispec s;
    memset(&s, 0, sizeof s);
    add_lock(&s, chance(1, 4));
    modrm_insn(tc, &s, opc, 1, (int)rndn(16), size, ea, 0, 0);
    finish(tc, &s);
    tc->exit_gva = ea;
    tc->access = rmw_access();
    tc_text(tc, "xchg%s m, r", g_szname[size]);
}

/* CMPXCHG 0F B0/B1: flags as CMP (all defined). Half of the cases make
 * the accumulator equal the memory operand. */
static void gen_cmpxchg(tcase *tc)
{
    int size = rnd_size(15);
    uint8_t opc[2] = {0x0F, (uint8_t)(size == 1 ? 0xB0 : 0xB1)};
    int lock = chance(1, 3);
    uint64_t ea = pick_ea(PG_D, (unsigned)size, lock, 0);
    memval(ea, size);
    ispec s;
    memset(&s, 0, sizeof s);
    add_lock(&s, lock);
    int eq = chance(1, 2);
    modrm_insn(tc, &s, opc, 2, (int)rndn(16), size, ea, eq ? 1u : 0u, 0);
    if (eq) {
        uint64_t m = size_mask(size);
        tc->gpr[0] = (tc->gpr[0] & ~m) | load_val(ea, size);
    }
    finish(tc, &s);
    tc->exit_gva = ea;
    tc->access = rmw_access();
    tc_text(tc, "%scmpxchg%s m, r (%s)", lock ? "lock " : "", g_szname[size],
            eq ? "equal" : "random");
}

/* CMPXCHG8B / CMPXCHG16B (0F C7 /1): ZF defined; CF PF AF SF OF unaffected.
 * The 16-byte form needs a 16-byte aligned operand. */
static void gen_cmpxchg8b(tcase *tc)
{
    static const uint8_t opc[2] = {0x0F, 0xC7};
    int wide = chance(1, 2);
    int n = wide ? 16 : 8;
    int lock = chance(1, 3);
    uint64_t ea = pick_ea(PG_D, (unsigned)n, lock, wide ? 16 : 0);
    fill_random(ea, (size_t)n);
    ispec s;
    memset(&s, 0, sizeof s);
    add_lock(&s, lock);
    int eq = chance(1, 2);
    modrm_insn(tc, &s, opc, 2, 1, 4, ea, eq ? 0x5u : 0u, 0); /* keep RAX, RDX */
    s.rexw_force = wide;
    s.nosize = 1;
    if (eq) {
        if (wide) {
            tc->gpr[0] = load_val(ea, 8);
            tc->gpr[2] = load_val(ea + 8, 8);
        } else {
            tc->gpr[0] = (tc->gpr[0] & ~0xFFFFFFFFull) | load_val(ea, 4);
            tc->gpr[2] = (tc->gpr[2] & ~0xFFFFFFFFull) | load_val(ea + 4, 4);
        }
    }
    finish(tc, &s);
    tc->exit_gva = ea;
    tc->access = rmw_access();
    tc_text(tc, "%scmpxchg%s m (%s)", lock ? "lock " : "", wide ? "16b" : "8b",
            eq ? "equal" : "random");
}

/* XADD 0F C0/C1: flags as ADD. */
static void gen_xadd(tcase *tc)
{
    int size = rnd_size(15);
    uint8_t opc[2] = {0x0F, (uint8_t)(size == 1 ? 0xC0 : 0xC1)};
    int lock = chance(1, 3);
    uint64_t ea = pick_ea(PG_D, (unsigned)size, lock, 0);
    memval(ea, size);
    ispec s;
    memset(&s, 0, sizeof s);
    add_lock(&s, lock);
    modrm_insn(tc, &s, opc, 2, (int)rndn(16), size, ea, 0, 0);
    finish(tc, &s);
    tc->exit_gva = ea;
    tc->access = rmw_access();
    tc_text(tc, "%sxadd%s m, r", lock ? "lock " : "", g_szname[size]);
}

/* BT BTS BTR BTC. SDM: CF = selected bit; ZF unaffected; OF SF AF PF
 * undefined. The register form's bit offset is a signed operand-size value
 * that may address memory outside the operand (either side). */
static void gen_bt_reg(tcase *tc)
{
    static const char *const nm[4] = {"bt", "bts", "btr", "btc"};
    int k = (int)rndn(4);
    uint8_t opc[2] = {0x0F, (uint8_t)(0xA3 + 8 * k)};
    int size = rnd_size(14);
    int lock = k != 0 && chance(1, 4);
    int bits = size * 8;
    int64_t off = chance(1, 2) ? (int64_t)rndn((uint64_t)bits)
                               : (int64_t)rndn(2 * 1400 * 8) - 1400 * 8;
    uint64_t ea = region_addr(PG_D, 1536 + rndn(2 * PAGE - 3072));
    ea &= ~(uint64_t)(chance(1, 2) ? size - 1 : 0);
    /* The accessed unit: operand-size chunk containing the bit. */
    int64_t unit = off >= 0 ? off / bits : -((-off + bits - 1) / bits);
    uint64_t acc = ea + (uint64_t)(unit * size);
    if (lock && g_split_lock && (acc & 63) + (uint64_t)size > 64) {
        ea &= ~(uint64_t)(size - 1);
        acc = ea + (uint64_t)(unit * size);
    }
    fill_random(acc, (size_t)size);
    ispec s;
    memset(&s, 0, sizeof s);
    add_lock(&s, lock);
    int reg;
    do
        reg = (int)rndn(16);
    while (reg == 4);
    modrm_insn(tc, &s, opc, 2, reg, size, ea, 1u << reg, 0);
    uint64_t m = size_mask(size);
    tc->gpr[reg] = (tc->gpr[reg] & ~m) | ((uint64_t)off & m);
    finish(tc, &s);
    tc->exit_gva = acc;
    if (k != 0)
        tc->access = rmw_access();
    tc->undef = F_OF | F_SF | F_AF | F_PF;
    tc_text(tc, "%s%s%s m, r (offset %" PRId64 ")", lock ? "lock " : "", nm[k], g_szname[size],
            off);
}

/* 0F BA /4-7 ib: the offset is imm8 modulo the operand width. */
static void gen_bt_imm(tcase *tc)
{
    static const char *const nm[4] = {"bt", "bts", "btr", "btc"};
    static const uint8_t opc[2] = {0x0F, 0xBA};
    int k = (int)rndn(4);
    int size = rnd_size(14);
    int lock = k != 0 && chance(1, 4);
    uint64_t ea = pick_ea(PG_D, (unsigned)size, lock, 0);
    memval(ea, size);
    ispec s;
    memset(&s, 0, sizeof s);
    add_lock(&s, lock);
    modrm_insn(tc, &s, opc, 2, 4 + k, size, ea, 0, 0);
    s.nimm = 1;
    s.imm = rndn(256);
    finish(tc, &s);
    tc->exit_gva = ea;
    if (k != 0)
        tc->access = rmw_access();
    tc->undef = F_OF | F_SF | F_AF | F_PF;
    tc_text(tc, "%s%s%s m, %u", lock ? "lock " : "", nm[k], g_szname[size], (unsigned)s.imm);
}

/* SETcc 0F 90-9F: no flags; the ModRM.reg field is ignored. */
static void gen_setcc(tcase *tc)
{
    int cc = (int)rndn(16);
    uint8_t opc[2] = {0x0F, (uint8_t)(0x90 + cc)};
    uint64_t ea = pick_ea(PG_D, 1, 0, 0);
    memval(ea, 1);
    ispec s;
    memset(&s, 0, sizeof s);
    modrm_insn(tc, &s, opc, 2, chance(1, 8) ? (int)rndn(8) : 0, 1, ea, 0, 0);
    finish(tc, &s);
    tc->exit_gva = ea;
    tc->access = WHvMemoryAccessWrite;
    tc_text(tc, "set cc=%x m8", cc);
}

/* CMOVcc 0F 40-4F: no flags; the memory source is read either way. */
static void gen_cmovcc(tcase *tc)
{
    int cc = (int)rndn(16);
    uint8_t opc[2] = {0x0F, (uint8_t)(0x40 + cc)};
    int size = rnd_size(14);
    uint64_t ea = pick_ea(PG_D, (unsigned)size, 0, 0);
    memval(ea, size);
    ispec s;
    memset(&s, 0, sizeof s);
    modrm_insn(tc, &s, opc, 2, (int)rndn(16), size, ea, 0, 0);
    finish(tc, &s);
    tc->exit_gva = ea;
    tc_text(tc, "cmov cc=%x%s r, m", cc, g_szname[size]);
}

/* MOVBE 0F 38 F0 (load) / F1 (store): no flags. */
static void gen_movbe(tcase *tc)
{
    int store = (int)rndn(2);
    uint8_t opc[3] = {0x0F, 0x38, (uint8_t)(0xF0 + store)};
    int size = rnd_size(14);
    uint64_t ea = pick_ea(PG_D, (unsigned)size, 0, 0);
    memval(ea, size);
    ispec s;
    memset(&s, 0, sizeof s);
    modrm_insn(tc, &s, opc, 3, (int)rndn(16), size, ea, 0, 0);
    finish(tc, &s);
    tc->exit_gva = ea;
    tc->access = store ? WHvMemoryAccessWrite : WHvMemoryAccessRead;
    tc_text(tc, "movbe%s %s", g_szname[size], store ? "m, r" : "r, m");
}

/* MOVNTI 0F C3: 32/64-bit store, no flags. */
static void gen_movnti(tcase *tc)
{
    static const uint8_t opc[2] = {0x0F, 0xC3};
    int size = rnd_size(12);
    uint64_t ea = pick_ea(PG_D, (unsigned)size, 0, 0);
    memval(ea, size);
    ispec s;
    memset(&s, 0, sizeof s);
    modrm_insn(tc, &s, opc, 2, (int)rndn(16), size, ea, 0, 0);
    finish(tc, &s);
    tc->exit_gva = ea;
    tc->access = WHvMemoryAccessWrite;
    tc_text(tc, "movnti%s m, r", g_szname[size]);
}

/* PUSH m (FF /6) and POP m (8F /0): 64-bit by default, 16-bit with 66.
 * No flags. RSP is never the base register here (POP computes the address
 * after incrementing RSP, a corner left to unit tests). */
static void gen_pushpop(tcase *tc)
{
    int pop = (int)rndn(2);
    static const uint8_t ff[1] = {0xFF}, f8[1] = {0x8F};
    int size = chance(1, 4) ? 2 : 8;
    uint64_t ea = pick_ea(PG_D, (unsigned)size, 0, 0);
    memval(ea, size);
    ispec s;
    memset(&s, 0, sizeof s);
    modrm_insn(tc, &s, pop ? f8 : ff, 1, pop ? 0 : 6, size, ea, 0, 0);
    if (size == 8) {
        s.nosize = 1; /* default 64-bit; sometimes with a redundant REX.W */
        s.rexw_force = chance(1, 4);
    }
    /* Stack pointer near a page boundary now and then. */
    if (chance(1, 4))
        tc->gpr[4] = region_addr(PG_S, PAGE - 8 + rndn(17));
    int rspbase = chance(1, 5);
    if (rspbase) {
        /* [rsp + disp]: PUSH computes the address before decrementing RSP,
         * POP after incrementing it (SDM POP: "If the destination operand
         * uses the RSP register as a base, the address is computed after
         * the increment"). The operand lies in the stack pages. */
        memset(&s.m, 0, sizeof s.m);
        s.m.base = 4;
        s.m.index = -1;
        s.m.dispsz = chance(1, 2) ? 1 : 4;
        s.m.disp = (int32_t)rndn(125) - 24;
        ea = tc->gpr[4] + (pop ? (uint64_t)size : 0) + (uint64_t)(int64_t)s.m.disp;
        memval(ea, size);
        s.nlegacy = 0;
        s.a32 = 0;
    }
    finish(tc, &s);
    tc->exit_gva = ea;
    tc->access = pop ? WHvMemoryAccessWrite : WHvMemoryAccessRead;
    tc_text(tc, "%s%s %s", pop ? "pop" : "push", size == 2 ? "w" : "q", rspbase ? "[rsp+disp]" : "m");
}

/* MUL IMUL DIV IDIV with a memory operand (F6/F7 /4-/7).
 * SDM: MUL/IMUL set CF and OF by the high half, SF ZF AF PF undefined;
 * DIV/IDIV leave all six arithmetic flags undefined. */
static void gen_muldiv(tcase *tc, int div)
{
    static const char *const nm[4] = {"mul", "imul", "div", "idiv"};
    int k = div ? 2 + (int)rndn(2) : (int)rndn(2);
    int size = rnd_size(15);
    uint8_t opc[1] = {(uint8_t)(size == 1 ? 0xF6 : 0xF7)};
    uint64_t ea = pick_ea(PG_D, (unsigned)size, 0, 0);
    memval(ea, size);
    ispec s;
    memset(&s, 0, sizeof s);
    modrm_insn(tc, &s, opc, 1, 4 + k, size, ea, div ? 0x5u : 0u, 0);
    if (div && chance(3, 4)) {
        /* Mostly keep the quotient in range. */
        uint64_t m = size_mask(size);
        uint64_t d = load_val(ea, size);
        if (d == 0)
            store_val(ea, d = 1 + rndn(m < 1000 ? m : 1000), size);
        uint64_t hi = 0;
        if (k == 2) {
            hi = rndn(d);
        } else {
            /* IDIV: sign-extend a small dividend into the high half. */
            int64_t sd = (int64_t)(d << (64 - 8 * size)) >> (64 - 8 * size);
            uint64_t ad = sd < 0 ? 0 - (uint64_t)sd : (uint64_t)sd;
            uint64_t lo = rndn(ad ? ad : 1) >> 1;
            if (chance(1, 2))
                lo = (uint64_t)-(int64_t)lo;
            if (size == 1) {
                tc->gpr[0] = (tc->gpr[0] & ~0xFFFFull) | (lo & 0xFFFF);
            } else {
                tc->gpr[0] = (tc->gpr[0] & ~m) | (lo & m);
                hi = (int64_t)lo < 0 ? m : 0;
                tc->gpr[2] = (tc->gpr[2] & ~m) | hi;
            }
            goto done;
        }
        if (size == 1)
            tc->gpr[0] = (tc->gpr[0] & ~0xFF00ull) | (hi << 8);
        else
            tc->gpr[2] = (tc->gpr[2] & ~m) | hi;
    }
done:
    finish(tc, &s);
    tc->exit_gva = ea;
    tc->undef = div ? F_ARITH : (F_SF | F_ZF | F_AF | F_PF);
    tc_text(tc, "%s%s m", nm[k], g_szname[size]);
}

static void gen_muldiv_mul(tcase *tc)
{
    gen_muldiv(tc, 0);
}

static void gen_muldiv_div(tcase *tc)
{
    gen_muldiv(tc, 1);
}

/* IMUL r, m (0F AF), IMUL r, m, imm (69 iz / 6B ib). SDM: CF OF set when the
 * result was truncated; SF ZF AF PF undefined. */
static void gen_imul2(tcase *tc)
{
    int k = (int)rndn(3);
    static const uint8_t af[2] = {0x0F, 0xAF}, i69[1] = {0x69}, i6b[1] = {0x6B};
    int size = rnd_size(14);
    uint64_t ea = pick_ea(PG_D, (unsigned)size, 0, 0);
    memval(ea, size);
    ispec s;
    memset(&s, 0, sizeof s);
    modrm_insn(tc, &s, k == 0 ? af : k == 1 ? i69 : i6b, k == 0 ? 2 : 1, (int)rndn(16), size, ea,
               0, 0);
    if (k == 1) {
        s.nimm = size == 2 ? 2 : 4;
        s.imm = rnd_val(s.nimm);
    } else if (k == 2) {
        s.nimm = 1;
        s.imm = rnd_val(1);
    }
    finish(tc, &s);
    tc->exit_gva = ea;
    tc->undef = F_SF | F_ZF | F_AF | F_PF;
    tc_text(tc, "imul%s %s", g_szname[size], k == 0 ? "r, m" : k == 1 ? "r, m, iz" : "r, m, ib");
}

/* String instructions A4-A7, AA-AF with REP/REPE/REPNE, both directions,
 * counts 0..20, 64-bit or (0x67) 32-bit addressing. MOVS STOS LODS: no
 * flags. CMPS SCAS: flags as CMP. */
static void gen_string(tcase *tc, int kind)
{
    /* kind: 0 movs, 1 stos, 2 lods, 3 cmps, 4 scas */
    static const uint8_t base_op[5] = {0xA4, 0xAA, 0xAC, 0xA6, 0xAE};
    static const char *const nm[5] = {"movs", "stos", "lods", "cmps", "scas"};
    int size = rnd_size(15);
    int rep = chance(3, 4);
    /* F2 on MOVS/STOS/LODS acts as a plain REP. */
    int repne = rep && (kind >= 3 ? chance(1, 2) : chance(1, 8));
    int a32 = g_low_region && chance(1, 6);
    uint64_t count = rep ? rndn(21) : 1;
    int df = chance(1, 2);
    int src_pg = chance(1, 2) ? PG_D : PG_E;
    int dst_pg = src_pg == PG_D ? PG_E : PG_D;
    /* MOVS between overlapping ranges (same pages, small distance). */
    int overlap = kind == 0 && chance(1, 6);
    if (overlap)
        dst_pg = src_pg;
    uint64_t span = (count ? count : 1) * (uint64_t)size;
    /* Start so that the walked range stays in the page pair, and often
     * crosses the boundary. */
    uint64_t start_off;
    if (chance(1, 2))
        start_off = PAGE - span / 2 + rndn(span + 1) - (uint64_t)size;
    else
        start_off = 200 + rndn(2 * PAGE - 400 - span);
    if (df && start_off < span + 8)
        start_off = span + 8;
    uint64_t rsi = region_addr(src_pg, start_off);
    uint64_t rdi = region_addr(dst_pg, start_off ^ (rndn(8) * (uint64_t)size));
    if (overlap)
        rdi = rsi + (uint64_t)((int64_t)rndn(33) - 16) * (chance(1, 2) ? 1u : (unsigned)size);
    uint64_t lo_s = df ? rsi - span + (uint64_t)size : rsi;
    uint64_t lo_d = df ? rdi - span + (uint64_t)size : rdi;
    fill_random(lo_s, span);
    if (kind == 3) {
        /* CMPS: destination mostly equal to the source, with a few
         * differences (REPE stops at the first one, REPNE at equality). */
        memcpy((void *)(uintptr_t)lo_d, (void *)(uintptr_t)lo_s, span);
        int nd = (int)rndn(3);
        for (int i = 0; i < nd; i++)
            ((uint8_t *)(uintptr_t)lo_d)[rndn(span)] ^= (uint8_t)(1 + rndn(255));
        if (repne && chance(1, 2))
            fill_random(lo_d, span);
    } else {
        fill_random(lo_d, span);
    }
    case_init(tc);
    if (kind == 4 && chance(1, 2) && count) {
        /* SCAS: put the accumulator's value somewhere in the range. */
        uint64_t v = load_val(lo_d + rndn(count) * (uint64_t)size, size);
        tc->gpr[0] = (tc->gpr[0] & ~size_mask(size)) | v;
    }
    tc->rflags = (tc->rflags & ~(uint64_t)F_DF) | (df ? F_DF : 0);
    uint64_t am = a32 ? 0xFFFFFFFFull : ~0ull;
    tc->gpr[6] = a32 ? (rsi & am) | (rnd() << 32) : rsi;
    tc->gpr[7] = a32 ? (rdi & am) | (rnd() << 32) : rdi;
    if (rep)
        tc->gpr[1] = a32 ? (count | (rnd() << 32)) : count;

    bytebuf b = {tc->insn, 0};
    int seg = 0;
    if ((kind == 0 || kind == 2 || kind == 3) && chance(1, 8)) {
        /* DS/ES are ignored in 64-bit mode; FS/GS add their bases to the
         * source (the destination ES:rDI cannot be overridden). */
        static const uint8_t segs[4] = {0x3E, 0x26, 0x64, 0x65};
        seg = segs[rndn(a32 ? 2 : 4)];
        put8(&b, (unsigned)seg);
        if (seg == 0x64)
            tc->gpr[6] = rsi - g_fs_base;
        else if (seg == 0x65)
            tc->gpr[6] = rsi - g_gs_base;
    }
    if (rep)
        put8(&b, repne ? 0xF2u : 0xF3u);
    if (size == 2)
        put8(&b, 0x66);
    if (a32)
        put8(&b, 0x67);
    if (size == 8)
        put8(&b, 0x48);
    put8(&b, base_op[kind] + (size == 1 ? 0u : 1u));
    tc->len = (int)b.n;
    tc->str_size = size;
    tc->str_a32 = a32;
    tc->str_rep = rep;

    /* The intercepted access: the first element of the MMIO side. */
    int mmio_src;
    if (kind == 1 || kind == 4)
        mmio_src = 0;
    else if (kind == 2)
        mmio_src = 1;
    else
        mmio_src = chance(1, 2);
    if (kind == 4)
        mmio_src = 0; /* SCAS reads ES:rDI */
    tc->exit_gva = mmio_src ? rsi : rdi;
    tc->access = (mmio_src || kind == 3 || kind == 4) ? WHvMemoryAccessRead : WHvMemoryAccessWrite;
    tc_text(tc, "%s%s%s%s (count %" PRIu64 ", DF=%d%s%s)",
            rep ? (repne ? (kind >= 3 ? "repne " : "f2-rep ") : "rep ") : "",
            nm[kind], g_szname[size], a32 ? " a32" : "", count, df,
            seg == 0x64 ? ", fs" : seg == 0x65 ? ", gs" : seg ? ", ds/es" : "",
            overlap ? ", overlapping" : "");
}

static void gen_movs(tcase *tc)
{
    gen_string(tc, 0);
}

static void gen_stos(tcase *tc)
{
    gen_string(tc, 1);
}

static void gen_lods(tcase *tc)
{
    gen_string(tc, 2);
}

static void gen_cmps(tcase *tc)
{
    gen_string(tc, 3);
}

static void gen_scas(tcase *tc)
{
    gen_string(tc, 4);
}

/* LOCK on a form that is not a locked read-modify-write of memory raises
 * #UD (SDM LOCK: "An undefined opcode exception will also be generated if
 * the LOCK prefix is used with any instruction not in the above list or
 * when the destination operand is not a memory operand"). */
static void gen_lock_ud(tcase *tc)
{
    static const struct {
        uint8_t opc[2];
        int nopc, reg, byte, imm;
        const char *name;
    } forms[] = {
        {{0x89}, 1, -1, 0, 0, "mov m, r"},     {{0x8A}, 1, -1, 1, 0, "mov r8, m"},
        {{0x8B}, 1, -1, 0, 0, "mov r, m"},     {{0x39}, 1, -1, 0, 0, "cmp m, r"},
        {{0x3B}, 1, -1, 0, 0, "cmp r, m"},     {{0x03}, 1, -1, 0, 0, "add r, m"},
        {{0x23}, 1, -1, 0, 0, "and r, m"},     {{0x81}, 1, 7, 0, 4, "cmp m, imm"},
        {{0x85}, 1, -1, 0, 0, "test m, r"},    {{0xF7}, 1, 0, 0, 4, "test m, imm"},
        {{0x0F, 0xA3}, 2, -1, 0, 0, "bt m, r"}, {{0x0F, 0xBA}, 2, 4, 0, 1, "bt m, imm"},
        {{0x0F, 0xB6}, 2, -1, 0, 0, "movzx"},  {{0x0F, 0x44}, 2, -1, 0, 0, "cmove"},
        {{0x0F, 0x94}, 2, 0, 1, 0, "sete"},    {{0xFF}, 1, 6, 0, 0, "push m"},
        {{0xF7}, 1, 4, 0, 0, "mul m"},         {{0x0F, 0xAF}, 2, -1, 0, 0, "imul r, m"},
        {{0xD1}, 1, 4, 0, 0, "shl m, 1"},      {{0x0F, 0xA5}, 2, -1, 0, 0, "shld m, r, cl"},
    };
    int k = (int)rndn(sizeof forms / sizeof forms[0]);
    int size = forms[k].byte ? 1 : rnd_size(14);
    uint64_t ea = pick_ea(PG_D, (unsigned)size, 1, 0);
    memval(ea, size);
    ispec s;
    memset(&s, 0, sizeof s);
    add_lock(&s, 1);
    modrm_insn(tc, &s, forms[k].opc, forms[k].nopc, forms[k].reg < 0 ? (int)rndn(16) : forms[k].reg,
               size, ea, 0, 0);
    if (forms[k].imm) {
        s.nimm = forms[k].imm == 4 && size == 2 ? 2 : forms[k].imm;
        s.imm = rnd();
    }
    if (forms[k].opc[0] == 0xFF) {
        s.nosize = size != 2;
        s.size = size == 2 ? 2 : 8;
    }
    finish(tc, &s);
    tc->exit_gva = ea;
    tc->expect_fault = 1;
    tc_text(tc, "lock %s (%d-bit)", forms[k].name, size * 8);
}

/* Faults the emulator must raise itself. SDM: CMPXCHG16B "#GP(0) If the
 * memory operand is not aligned on a 16-byte boundary"; 64-bit mode
 * "#GP(0) If the memory address is in a non-canonical form", which covers
 * every byte of the access. */
static void gen_gp(tcase *tc, int k)
{
    if (k == 0) {
        static const uint8_t opc[2] = {0x0F, 0xC7};
        uint64_t ea = pick_ea(PG_D, 16, 1, 0);
        if ((ea & 15) == 0)
            ea += 1 + rndn(15);
        fill_random(ea, 16);
        ispec s;
        memset(&s, 0, sizeof s);
        add_lock(&s, chance(1, 2));
        modrm_insn(tc, &s, opc, 2, 1, 4, ea, 0, MO_NO_A32);
        s.rexw_force = 1;
        s.nosize = 1;
        finish(tc, &s);
        tc->exit_gva = ea;
        tc->access = WHvMemoryAccessRead;
        tc_text(tc, "cmpxchg16b misaligned (+%u)", (unsigned)(ea & 15));
    } else if (k == 1) {
        /* A load, store or RMW whose first bytes are the last canonical
         * ones of the lower half and whose last bytes are not. */
        static const uint8_t ops[4] = {0x8B, 0x89, 0x01, 0xFF};
        int j = (int)rndn(4);
        int size = rnd_size(14);
        unsigned in = 1 + (unsigned)rndn((uint64_t)size - 1);
        uint64_t ea = 0x0000800000000000ull - in;
        ispec s;
        memset(&s, 0, sizeof s);
        modrm_insn(tc, &s, &ops[j], 1, j == 3 ? 0 : (int)rndn(16), size, ea, 0,
                   MO_NO_A32 | MO_NO_SEG);
        finish(tc, &s);
        tc->exit_gva = ea;
        tc->access = j == 1 ? WHvMemoryAccessWrite : WHvMemoryAccessRead;
        tc_text(tc, "%s %d bytes at 2^47-%u (crosses into non-canonical)",
                j == 0 ? "load" : j == 1 ? "store" : j == 2 ? "add" : "inc", size, in);
    } else {
        /* MOVS from MMIO to a non-canonical destination. */
        int size = rnd_size(15);
        uint64_t rsi = pick_ea(PG_D, (unsigned)size, 0, 0);
        uint64_t rdi = 0x0000800000000000ull + (rnd() & 0x3FFFFFFFFFFFull);
        if (chance(1, 2))
            rdi |= 0xFFFF000000000000ull & ~(1ull << (48 + rndn(16)));
        int rep = chance(1, 2);
        tc->gpr[6] = rsi;
        tc->gpr[7] = rdi;
        if (rep)
            tc->gpr[1] = 1 + rndn(20);
        bytebuf b = {tc->insn, 0};
        if (rep)
            put8(&b, 0xF3);
        if (size == 2)
            put8(&b, 0x66);
        if (size == 8)
            put8(&b, 0x48);
        put8(&b, size == 1 ? 0xA4u : 0xA5u);
        tc->len = (int)b.n;
        tc->exit_gva = rsi;
        tc->access = WHvMemoryAccessRead;
        tc_text(tc, "%smovs%s to non-canonical %" PRIx64, rep ? "rep " : "", g_szname[size], rdi);
    }
    tc->expect_fault = 1;
}

static void gen_gp_align(tcase *tc)
{
    gen_gp(tc, 0);
}

static void gen_gp_canonical(tcase *tc)
{
    gen_gp(tc, 1 + (int)rndn(2));
}

/* ------------------------------------------------------------------ */
/* The integer long tail: bit scans and counts, ADX, CRC32, BMI1/BMI2,  */
/* XLAT, MOVDIRI/MOVDIR64B, cache control and prefetch hints            */
/* ------------------------------------------------------------------ */

/* Host features (CPUID), read once. */
static int g_has_bmi1, g_has_bmi2, g_has_adx, g_has_lzcnt, g_has_popcnt, g_has_sse42;
static int g_has_clflushopt, g_has_clwb, g_has_movdiri, g_has_movdir64b, g_has_prefetchw;

static void read_cpuid(void)
{
    unsigned a, b, c, d;
    __cpuid(1, a, b, c, d);
    g_has_popcnt = (c >> 23) & 1;
    g_has_sse42 = (c >> 20) & 1;
    unsigned max = 0;
    __cpuid(0, max, b, c, d);
    if (max >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        g_has_bmi1 = (b >> 3) & 1;
        g_has_bmi2 = (b >> 8) & 1;
        g_has_adx = (b >> 19) & 1;
        g_has_clflushopt = (b >> 23) & 1;
        g_has_clwb = (b >> 24) & 1;
        g_has_movdiri = (c >> 27) & 1;
        g_has_movdir64b = (c >> 28) & 1;
    }
    __cpuid(0x80000000u, max, b, c, d);
    if (max >= 0x80000001u) {
        __cpuid(0x80000001u, a, b, c, d);
        g_has_lzcnt = (c >> 5) & 1;
        g_has_prefetchw = (c >> 8) & 1;
    }
}

/* Bit patterns for the scans and counts: zero, one bit, a run of ones from
 * either end, all ones, the sign bit, random. */
static uint64_t grid_bits(int size)
{
    unsigned bits = 8u * (unsigned)size, k = (unsigned)rndn(bits);
    uint64_t m = size_mask(size);
    switch (rndn(10)) {
    case 0:
    case 1:
        return 0;
    case 2:
        return (1ull << k) & m;
    case 3:
        return ((1ull << k) - 1) & m;
    case 4:
        return (m << k) & m;
    case 5:
        return m;
    case 6:
        return 1ull << (bits - 1);
    case 7:
        return (rnd() & m & ~((1ull << k) - 1)) | ((1ull << k) & m);
    default:
        return rnd_val(size);
    }
}

/* A shift count or bit index in the low byte: the edges of 32- and 64-bit
 * operands, with random bits above the byte (ignored) half of the time. */
static uint64_t grid_count(void)
{
    static const uint8_t edges[] = {0, 1, 2, 7, 8, 15, 16, 31, 32, 33, 63, 64, 65, 127, 128, 255};
    uint64_t v = chance(3, 4) ? edges[rndn(sizeof edges)] : rndn(256);
    if (chance(1, 2))
        v |= rnd() & ~0xFFull;
    return v;
}

/* Puts v in the low `size` bytes of register r (the rest stays random). */
static void set_low(tcase *tc, int r, uint64_t v, int size)
{
    uint64_t m = size_mask(size);
    tc->gpr[r] = (tc->gpr[r] & ~m) | (v & m);
}

/* A register other than RSP and the ones in excl. */
static int pick_reg(unsigned excl)
{
    int r;
    do
        r = (int)rndn(16);
    while (r == 4 || ((excl >> r) & 1));
    return r;
}

/* BSF BSR TZCNT LZCNT POPCNT r, m (16/32/64-bit). SDM: BSF/BSR define ZF
 * only (CF OF SF AF PF undefined) and leave the destination undefined for
 * a zero source, which the emulator keeps, so that register is compared
 * with its input rather than with the CPU's value; TZCNT/LZCNT define CF
 * and ZF (OF SF AF PF undefined); POPCNT defines all six (ZF by the
 * source, the others cleared). */
static const struct bitcount_form {
    const char *name;
    uint8_t pfx; /* F3 or none */
    uint8_t opc;
    uint32_t undef;
} g_bitcount[] = {
    {"bsf", 0, 0xBC, F_CF | F_OF | F_SF | F_AF | F_PF},
    {"bsr", 0, 0xBD, F_CF | F_OF | F_SF | F_AF | F_PF},
    {"tzcnt", 0xF3, 0xBC, F_OF | F_SF | F_AF | F_PF},
    {"lzcnt", 0xF3, 0xBD, F_OF | F_SF | F_AF | F_PF},
    {"popcnt", 0xF3, 0xB8, 0},
};

static void gen_bitcount_form(tcase *tc, const struct bitcount_form *bf)
{
    uint8_t opc[2] = {0x0F, bf->opc};
    int size = rnd_size(14);
    uint64_t ea = pick_ea(PG_D, (unsigned)size, 0, 0);
    uint64_t v = grid_bits(size);
    store_val(ea, v, size);
    ispec s;
    memset(&s, 0, sizeof s);
    if (bf->pfx)
        s.legacy[s.nlegacy++] = bf->pfx;
    int reg = (int)rndn(16);
    modrm_insn(tc, &s, opc, 2, reg, size, ea, 0, 0);
    finish(tc, &s);
    tc->exit_gva = ea;
    tc->undef = bf->undef;
    if (!bf->pfx && v == 0)
        tc->keep_reg = reg + 1;
    tc_text(tc, "%s%s r%d, m (source %" PRIx64 ")", bf->name, g_szname[size], reg, v);
}

static void gen_bsf_bsr(tcase *tc)
{
    gen_bitcount_form(tc, &g_bitcount[rndn(2)]);
}

static void gen_counts(tcase *tc)
{
    gen_bitcount_form(tc, &g_bitcount[2 + rndn(3)]);
}

/* ADCX (66) / ADOX (F3) 0F 38 F6 r, m (32/64-bit): CF or OF is the carry in
 * and out, every other flag is kept (all compared). Half of the cases put
 * the sum at the carry boundary. */
static void gen_adx(tcase *tc)
{
    static const uint8_t opc[3] = {0x0F, 0x38, 0xF6};
    int ox = (int)rndn(2);
    int size = rnd_size(12);
    uint64_t ea = pick_ea(PG_D, (unsigned)size, 0, 0);
    ispec s;
    memset(&s, 0, sizeof s);
    s.legacy[s.nlegacy++] = ox ? 0xF3 : 0x66;
    int reg = (int)rndn(16);
    modrm_insn(tc, &s, opc, 3, reg, size, ea, 0, 0);
    uint64_t m = size_mask(size), a = tc->gpr[reg] & m, b;
    switch (rndn(4)) {
    case 0:
        b = (0 - a) & m; /* a + b = 2^n: carry out with or without carry in */
        break;
    case 1:
        b = (m - a) & m; /* a + b = 2^n - 1: carry out only with carry in */
        break;
    default:
        b = rnd_val(size);
        break;
    }
    store_val(ea, b, size);
    finish(tc, &s);
    tc->exit_gva = ea;
    tc_text(tc, "%s%s r, m (%s in %d)", ox ? "adox" : "adcx", g_szname[size], ox ? "OF" : "CF",
            (tc->rflags & (ox ? F_OF : F_CF)) ? 1 : 0);
}

/* CRC32 F2 0F 38 F0 (8-bit source) / F1 (16, 32, 64-bit source), 32- or
 * 64-bit destination (REX.W): no flags. */
static void gen_crc32(tcase *tc)
{
    int byte = chance(1, 3);
    int size = byte ? 1 : rnd_size(14);
    uint8_t opc[3] = {0x0F, 0x38, (uint8_t)(byte ? 0xF0 : 0xF1)};
    uint64_t ea = pick_ea(PG_D, (unsigned)size, 0, 0);
    memval(ea, size);
    ispec s;
    memset(&s, 0, sizeof s);
    s.legacy[s.nlegacy++] = 0xF2;
    modrm_insn(tc, &s, opc, 3, (int)rndn(16), size, ea, 0, 0);
    int wide = size == 8 || (byte && chance(1, 2));
    if (byte)
        s.rexw_force = wide;
    finish(tc, &s);
    tc->exit_gva = ea;
    tc_text(tc, "crc32 r%d, m%d", wide ? 64 : 32, size * 8);
}

/* The BMI1/BMI2 forms, VEX-encoded with a memory operand. Operands: G is
 * ModRM.reg, V is VEX.vvvv, the memory operand is E; `vrole` says what
 * VEX.vvvv holds. */
enum { VR_SRC, VR_DST, VR_COUNT, VR_CTL, VR_NONE };
struct bmi_form {
    const char *name;
    uint8_t map, pp, opc;
    int reg;      /* fixed ModRM.reg (BLSR/BLSMSK/BLSI), else -1 */
    int vrole;
    int imm;      /* an imm8 follows (RORX) */
    int mulx;     /* RDX is the other source */
    uint32_t undef;
    int (*avail)(void);
};

static int have_bmi1(void)
{
    return g_has_bmi1;
}

static int have_bmi2(void)
{
    return g_has_bmi2;
}

/* SDM Vol. 2, "Flags Affected" of each: ANDN, BLS*, BZHI define SF ZF (and
 * CF, OF cleared or set) and leave AF PF undefined; BEXTR defines ZF (CF OF
 * cleared) and leaves AF SF PF undefined; the BMI2 shifts, RORX, PDEP,
 * PEXT and MULX affect no flag. */
static const struct bmi_form g_bmi[] = {
    {"andn", 2, 0, 0xF2, -1, VR_SRC, 0, 0, F_AF | F_PF, have_bmi1},
    {"blsr", 2, 0, 0xF3, 1, VR_DST, 0, 0, F_AF | F_PF, have_bmi1},
    {"blsmsk", 2, 0, 0xF3, 2, VR_DST, 0, 0, F_AF | F_PF, have_bmi1},
    {"blsi", 2, 0, 0xF3, 3, VR_DST, 0, 0, F_AF | F_PF, have_bmi1},
    {"bextr", 2, 0, 0xF7, -1, VR_CTL, 0, 0, F_AF | F_SF | F_PF, have_bmi1},
    {"bzhi", 2, 0, 0xF5, -1, VR_COUNT, 0, 0, F_AF | F_PF, have_bmi2},
    {"pext", 2, 2, 0xF5, -1, VR_SRC, 0, 0, 0, have_bmi2},
    {"pdep", 2, 3, 0xF5, -1, VR_SRC, 0, 0, 0, have_bmi2},
    {"mulx", 2, 3, 0xF6, -1, VR_DST, 0, 1, 0, have_bmi2},
    {"shlx", 2, 1, 0xF7, -1, VR_COUNT, 0, 0, 0, have_bmi2},
    {"sarx", 2, 2, 0xF7, -1, VR_COUNT, 0, 0, 0, have_bmi2},
    {"shrx", 2, 3, 0xF7, -1, VR_COUNT, 0, 0, 0, have_bmi2},
    {"rorx", 3, 3, 0xF0, -1, VR_NONE, 1, 0, 0, have_bmi2},
};
#define NBMI (sizeof g_bmi / sizeof g_bmi[0])

/* One BMI form, 32-bit (VEX.W0) or 64-bit (W1). The register sources come
 * from edge grids (counts 0/31/32/63/64/255 with junk above the low byte,
 * BEXTR start x length edges); MULX writes the same register for both
 * halves now and then. One case in 24 is an encoding the CPU rejects with
 * #UD: VEX.L = 1, RORX with VEX.vvvv != 1111b, or a 66/F2/F3/F0 prefix
 * before VEX. */
static void gen_bmi(tcase *tc)
{
    const struct bmi_form *bf;
    do
        bf = &g_bmi[rndn(NBMI)];
    while (!bf->avail());
    int size = chance(1, 2) ? 8 : 4;
    uint64_t ea = pick_ea(PG_D, (unsigned)size, 0, 0);
    store_val(ea, chance(1, 2) ? grid_bits(size) : rnd_val(size), size);
    ispec s;
    memset(&s, 0, sizeof s);
    s.vex = 1;
    s.vex_map = bf->map;
    s.vex_pp = bf->pp;
    s.vex_w = size == 8;
    unsigned excl = bf->mulx ? 1u << 2 : 0u; /* keep RDX's grid value */
    int g = bf->reg >= 0 ? bf->reg : (int)rndn(16);
    int v = 0;
    uint64_t vval = 0;
    if (bf->vrole == VR_DST) {
        v = (int)rndn(16);
        if (bf->mulx && chance(1, 6))
            v = g; /* both halves to one register: it gets the high half */
    } else if (bf->vrole != VR_NONE) {
        v = pick_reg(excl);
        excl |= 1u << v;
        if (bf->vrole == VR_COUNT) {
            vval = grid_count();
        } else if (bf->vrole == VR_CTL) {
            static const uint8_t e[] = {0, 1, 7, 8, 31, 32, 33, 63, 64, 65, 127, 255};
            uint64_t start = chance(3, 4) ? e[rndn(sizeof e)] : rndn(256);
            uint64_t len = chance(3, 4) ? e[rndn(sizeof e)] : rndn(256);
            vval = start | len << 8;
            if (chance(1, 2))
                vval |= rnd() & ~0xFFFFull;
        } else {
            vval = chance(1, 2) ? grid_bits(size) : rnd_val(size);
        }
    }
    s.vex_v = v;
    const uint8_t opc[1] = {bf->opc};
    modrm_insn(tc, &s, opc, 1, g, 4, ea, excl, 0);
    s.nosize = 1;
    s.redundant66 = 0;
    if (bf->vrole != VR_NONE && bf->vrole != VR_DST)
        set_low(tc, v, vval, size);
    if (bf->mulx)
        set_low(tc, 2, chance(1, 2) ? grid_bits(size) : rnd_val(size), size);
    if (bf->imm) {
        s.nimm = 1;
        s.imm = chance(1, 2) ? grid_count() & 0xFF : rndn(256);
    }
    const char *bad = "";
    if (chance(1, 24)) {
        switch (rndn(bf->imm ? 3 : 2)) {
        case 0:
            s.vex_l = 1;
            bad = " (VEX.L=1: #UD)";
            break;
        case 1: {
            static const uint8_t p[4] = {0x66, 0xF2, 0xF3, 0xF0};
            /* after any segment override plan_mem chose */
            s.legacy[s.nlegacy++] = p[rndn(4)];
            bad = " (legacy prefix before VEX: #UD)";
            break;
        }
        default:
            s.vex_v = 1 + (int)rndn(15);
            bad = " (RORX with VEX.vvvv in use: #UD)";
            break;
        }
        tc->expect_fault = 1;
    }
    finish(tc, &s);
    tc->exit_gva = ea;
    tc->undef = bf->undef;
    char vtxt[40] = "";
    if (bf->vrole != VR_NONE && bf->vrole != VR_DST)
        snprintf(vtxt, sizeof vtxt, ", vvvv r%d=%" PRIx64, v, tc->gpr[v]);
    tc_text(tc, "%s r%d, m%d%s%s%s", bf->name, size * 8, size * 8, vtxt,
            bf->imm ? ", imm8" : "", bad);
}

/* XLAT (D7): AL = [seg: rBX + AL] with AL unsigned, 64- or (0x67) 32-bit
 * addressing (the upper half of RBX ignored), segment overrides (FS/GS add
 * their bases, the others are ignored in 64-bit mode), with or without a
 * REX prefix (REX.W changes nothing). No flags. */
static void gen_xlat(tcase *tc)
{
    uint64_t ea = pick_ea(PG_D, 1, 0, 0);
    memval(ea, 1);
    static const uint8_t segs[] = {0, 0, 0, 0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65};
    uint8_t seg = segs[rndn(sizeof segs)];
    uint64_t segbase = seg == 0x64 ? g_fs_base : seg == 0x65 ? g_gs_base : 0;
    int a32 = segbase == 0 && g_low_region && chance(1, 3);
    uint64_t al = chance(1, 4) ? (chance(1, 2) ? 0 : 0xFF) : rndn(256);
    uint64_t bx = ea - segbase - al;
    if (a32)
        bx = (bx & 0xFFFFFFFFull) | (rnd() << 32);
    tc->gpr[0] = (tc->gpr[0] & ~0xFFull) | al;
    tc->gpr[3] = bx;
    bytebuf b = {tc->insn, 0};
    if (seg)
        put8(&b, seg);
    if (a32)
        put8(&b, 0x67);
    unsigned rex = chance(1, 4) ? 0x40u | (unsigned)rndn(16) : 0;
    if (rex)
        put8(&b, rex);
    put8(&b, 0xD7);
    tc->len = (int)b.n;
    tc->exit_gva = ea;
    tc_text(tc, "xlat%s%s (al %02x%s%s)", a32 ? " a32" : "", rex ? " rex" : "", (unsigned)al,
            seg ? ", seg " : "", seg == 0x64 ? "fs" : seg == 0x65 ? "gs" : seg ? "ignored" : "");
}

/* MOVDIRI m, r (NP 0F 38 F9, 32/64-bit): a plain store, no flags. On a
 * host without it the CPU runs MOV m, r (89 /r) with the same operands
 * instead: the same architectural effect. */
static void gen_movdiri(tcase *tc)
{
    static const uint8_t opc[3] = {0x0F, 0x38, 0xF9}, mov[1] = {0x89};
    int size = rnd_size(12);
    uint64_t ea = pick_ea(PG_D, (unsigned)size, 0, 0);
    memval(ea, size);
    ispec s;
    memset(&s, 0, sizeof s);
    modrm_insn(tc, &s, opc, 3, (int)rndn(16), size, ea, 0, 0);
    s.redundant66 = 0; /* 66 0F 38 F9 is not MOVDIRI */
    finish(tc, &s);
    if (!g_has_movdiri) {
        ispec n = s;
        n.opc = mov;
        n.nopc = 1;
        tc->native_len = encode(&n, g_insn_addr, tc->native);
    }
    tc->exit_gva = ea;
    tc->access = WHvMemoryAccessWrite;
    tc_text(tc, "movdiri%s m, r%s", g_szname[size], g_has_movdiri ? "" : " (CPU runs mov)");
}

/* MOVDIR64B r, m (66 0F 38 F8): 64 bytes from the memory operand (any
 * alignment, segment overrides allowed) to ES:[r] (address-size register,
 * no override; ES is ignored in 64-bit mode), which must be 64-byte
 * aligned: #GP(0) otherwise. No flags. Without host support the expected
 * result is the model: the copy, or #GP(0) with nothing changed. */
static void gen_movdir64b(tcase *tc)
{
    static const uint8_t opc[3] = {0x0F, 0x38, 0xF8};
    int src_pg = chance(1, 2) ? PG_D : PG_E;
    uint64_t src = pick_ea(src_pg, 64, 0, 0);
    uint64_t dst = pick_ea(src_pg == PG_D ? PG_E : PG_D, 64, 0, 64);
    int misaligned = chance(1, 8);
    if (misaligned)
        dst += 1 + rndn(63);
    fill_random(src, 64);
    fill_random(dst, 64);
    ispec s;
    memset(&s, 0, sizeof s);
    s.legacy[s.nlegacy++] = 0x66;
    int r = pick_reg(0);
    modrm_insn(tc, &s, opc, 3, r, 4, src, 1u << r, 0);
    s.nosize = 1;
    s.redundant66 = 0;
    tc->gpr[r] = s.a32 ? (dst & 0xFFFFFFFFull) | (rnd() << 32) : dst;
    finish(tc, &s);
    if (misaligned)
        tc->expect_fault = 1;
    int at_dst = !misaligned && chance(1, 2);
    tc->exit_gva = at_dst ? dst : src;
    tc->access = at_dst ? WHvMemoryAccessWrite : WHvMemoryAccessRead;
    if (!g_has_movdir64b) {
        tc->model = MODEL_COPY64;
        tc->copy_src = src;
        tc->copy_dst = dst;
    }
    tc_text(tc, "movdir64b r%d%s, m (dst +%u in its line%s)%s", r, s.a32 ? " a32" : "",
            (unsigned)(dst & 63), misaligned ? ": #GP" : "", g_has_movdir64b ? "" : " [model]");
}

/* CLFLUSH (NP 0F AE /7), CLFLUSHOPT (66 /7), CLWB (66 /6): no data access,
 * but the address is checked like a one-byte read, so a non-canonical one
 * is #GP(0) (#SS(0) when RSP or RBP is the base). PREFETCHNTA/T0/T1/T2
 * (0F 18 /0-3), PREFETCH/PREFETCHW (0F 0D /0, /1): no access, never a
 * fault. The emulator must complete them (RIP past the instruction,
 * nothing else changed) without a memory callback. */
static void gen_cache(tcase *tc)
{
    static const struct {
        const char *name;
        uint8_t pfx, op2, reg;
        int flush;
        int *have;
    } forms[] = {
        {"clflush", 0, 0xAE, 7, 1, NULL},           {"clflushopt", 0x66, 0xAE, 7, 1, &g_has_clflushopt},
        {"clwb", 0x66, 0xAE, 6, 1, &g_has_clwb},    {"prefetchnta", 0, 0x18, 0, 0, NULL},
        {"prefetcht0", 0, 0x18, 1, 0, NULL},        {"prefetcht1", 0, 0x18, 2, 0, NULL},
        {"prefetcht2", 0, 0x18, 3, 0, NULL},        {"prefetch", 0, 0x0D, 0, 0, &g_has_prefetchw},
        {"prefetchw", 0, 0x0D, 1, 0, &g_has_prefetchw},
    };
    int k;
    do
        k = (int)rndn(sizeof forms / sizeof forms[0]);
    while (forms[k].have && !*forms[k].have);
    uint8_t opc[2] = {0x0F, forms[k].op2};
    int noncanon = chance(1, 5);
    uint64_t ea;
    if (noncanon) {
        ea = 0x0000800000000000ull + (rnd() & 0x7FFFFFFFFFFFull);
        if (chance(1, 2))
            ea |= 0xFFFF000000000000ull & ~(1ull << (48 + rndn(16)));
    } else {
        ea = pick_ea(PG_D, 1, 0, 0);
        memval(ea, 1);
    }
    ispec s;
    memset(&s, 0, sizeof s);
    if (forms[k].pfx)
        s.legacy[s.nlegacy++] = forms[k].pfx;
    modrm_insn(tc, &s, opc, 2, forms[k].reg, 1, ea, 0, noncanon ? MO_NO_A32 | MO_NO_SEG : 0);
    s.rexw_force = chance(1, 8);
    finish(tc, &s);
    tc->exit_gva = ea;
    tc->no_data_access = 1;
    if (noncanon && forms[k].flush)
        tc->expect_fault = 1;
    tc_text(tc, "%s m8 at %016" PRIx64 "%s", forms[k].name, ea,
            noncanon ? (forms[k].flush ? " (non-canonical: #GP)" : " (non-canonical)") : "");
}

typedef struct family {
    const char *name;
    void (*gen)(tcase *tc);
    int string; /* gen calls case_init itself */
    unsigned weight; /* relative case count */
    unsigned run, failed;
    unsigned long calls[FVMM_CB_KINDS]; /* callback totals over all cases */
    unsigned long fetch_translates;     /* translate calls with ValidateExecute */
    unsigned de;                        /* cases where the CPU raised #DE/#UD/#GP */
    unsigned protocol_only;             /* failed only a round-trip rule */
    int (*avail)(void);                 /* NULL, or whether the host can run it */
} family;

static int have_bitcounts(void)
{
    return g_has_lzcnt && g_has_popcnt && g_has_bmi1; /* TZCNT is BMI1 */
}

static int have_adx(void)
{
    return g_has_adx;
}

static int have_crc32(void)
{
    return g_has_sse42;
}

static int have_any_bmi(void)
{
    return g_has_bmi1 || g_has_bmi2;
}

static family g_fam[] = {
    {"mov", gen_mov, 0, 3, 0, 0, {0}, 0, 0, 0, NULL},
    {"mov moffs", gen_moffs, 0, 1, 0, 0, {0}, 0, 0, 0, NULL},
    {"movzx/movsx", gen_movx, 0, 1, 0, 0, {0}, 0, 0, 0, NULL},
    {"movsxd", gen_movsxd, 0, 1, 0, 0, {0}, 0, 0, 0, NULL},
    {"alu m,r", gen_alu_mdst, 0, 3, 0, 0, {0}, 0, 0, 0, NULL},
    {"alu r,m", gen_alu_msrc, 0, 3, 0, 0, {0}, 0, 0, 0, NULL},
    {"alu m,imm", gen_alu_imm, 0, 3, 0, 0, {0}, 0, 0, 0, NULL},
    {"test", gen_test, 0, 1, 0, 0, {0}, 0, 0, 0, NULL},
    {"inc/dec", gen_incdec, 0, 1, 0, 0, {0}, 0, 0, 0, NULL},
    {"neg/not", gen_negnot, 0, 1, 0, 0, {0}, 0, 0, 0, NULL},
    {"shl/shr/sar", gen_shifts, 0, 3, 0, 0, {0}, 0, 0, 0, NULL},
    {"rol/ror/rcl/rcr", gen_rotates, 0, 3, 0, 0, {0}, 0, 0, 0, NULL},
    {"shld/shrd", gen_shxd, 0, 2, 0, 0, {0}, 0, 0, 0, NULL},
    {"xchg", gen_xchg, 0, 1, 0, 0, {0}, 0, 0, 0, NULL},
    {"cmpxchg", gen_cmpxchg, 0, 2, 0, 0, {0}, 0, 0, 0, NULL},
    {"cmpxchg8b/16b", gen_cmpxchg8b, 0, 1, 0, 0, {0}, 0, 0, 0, NULL},
    {"xadd", gen_xadd, 0, 1, 0, 0, {0}, 0, 0, 0, NULL},
    {"bt* r", gen_bt_reg, 0, 2, 0, 0, {0}, 0, 0, 0, NULL},
    {"bt* imm", gen_bt_imm, 0, 1, 0, 0, {0}, 0, 0, 0, NULL},
    {"setcc", gen_setcc, 0, 1, 0, 0, {0}, 0, 0, 0, NULL},
    {"cmovcc", gen_cmovcc, 0, 1, 0, 0, {0}, 0, 0, 0, NULL},
    {"movbe", gen_movbe, 0, 1, 0, 0, {0}, 0, 0, 0, NULL},
    {"movnti", gen_movnti, 0, 1, 0, 0, {0}, 0, 0, 0, NULL},
    {"push/pop m", gen_pushpop, 0, 1, 0, 0, {0}, 0, 0, 0, NULL},
    {"mul/imul m", gen_muldiv_mul, 0, 1, 0, 0, {0}, 0, 0, 0, NULL},
    {"div/idiv m", gen_muldiv_div, 0, 2, 0, 0, {0}, 0, 0, 0, NULL},
    {"imul r,m[,imm]", gen_imul2, 0, 1, 0, 0, {0}, 0, 0, 0, NULL},
    {"movs", gen_movs, 1, 2, 0, 0, {0}, 0, 0, 0, NULL},
    {"stos", gen_stos, 1, 1, 0, 0, {0}, 0, 0, 0, NULL},
    {"lods", gen_lods, 1, 1, 0, 0, {0}, 0, 0, 0, NULL},
    {"cmps", gen_cmps, 1, 2, 0, 0, {0}, 0, 0, 0, NULL},
    {"lock #UD", gen_lock_ud, 0, 1, 0, 0, {0}, 0, 0, 0, NULL},
    {"#GP cmpxchg16b", gen_gp_align, 0, 1, 0, 0, {0}, 0, 0, 0, NULL},
    {"#GP non-canonical", gen_gp_canonical, 0, 1, 0, 0, {0}, 0, 0, 0, NULL},
    {"scas", gen_scas, 1, 1, 0, 0, {0}, 0, 0, 0, NULL},
    {"bsf/bsr", gen_bsf_bsr, 0, 1, 0, 0, {0}, 0, 0, 0, NULL},
    {"tzcnt/lzcnt/popcnt", gen_counts, 0, 1, 0, 0, {0}, 0, 0, 0, have_bitcounts},
    {"adcx/adox", gen_adx, 0, 1, 0, 0, {0}, 0, 0, 0, have_adx},
    {"crc32", gen_crc32, 0, 1, 0, 0, {0}, 0, 0, 0, have_crc32},
    {"bmi1/bmi2", gen_bmi, 0, 3, 0, 0, {0}, 0, 0, 0, have_any_bmi},
    {"xlat", gen_xlat, 0, 1, 0, 0, {0}, 0, 0, 0, NULL},
    {"movdiri", gen_movdiri, 0, 1, 0, 0, {0}, 0, 0, 0, NULL},
    {"movdir64b", gen_movdir64b, 0, 1, 0, 0, {0}, 0, 0, 0, NULL},
    {"clflush*/prefetch*", gen_cache, 0, 1, 0, 0, {0}, 0, 0, 0, NULL},
};
#define NFAM (sizeof g_fam / sizeof g_fam[0])

/* ------------------------------------------------------------------ */
/* Running and comparing                                                */
/* ------------------------------------------------------------------ */

static fake_vmm *g_vm;
static WHV_EMULATOR_HANDLE g_emu;
static int g_verbose;
static int g_selftest;
static unsigned g_maxprint = 20;
static unsigned long g_total_pass, g_total_fail;
static uint8_t g_snapshot[DATA_PAGES * PAGE];
static unsigned g_case_cpl;

static const char *const g_regname[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp",
                                          "rsi", "rdi", "r8",  "r9",  "r10", "r11",
                                          "r12", "r13", "r14", "r15"};

typedef struct report {
    char buf[4096];
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

static void prepare_vm(const tcase *tc, WHV_VP_EXIT_CONTEXT *vp, WHV_MEMORY_ACCESS_CONTEXT *mc,
                       unsigned *insn_count, int *gva_valid)
{
    static uint64_t last_mmio = ~0ull;
    /* Guest memory = the native buffer before the run. */
    fvmm_gva_write(g_vm, region_addr(DATA_FIRST, 0), g_snapshot, sizeof g_snapshot);
    fvmm_gva_write(g_vm, g_insn_addr, (const void *)(uintptr_t)g_insn_addr, 32);
    unsigned cpl = chance(1, 2) ? 3 : 0;
    g_case_cpl = cpl;
    fvmm_setup_long_mode(g_vm, cpl);
    WHV_REGISTER_VALUE v;
    fvmm_reg_get(g_vm, WHvX64RegisterFs, &v);
    v.Segment.Base = g_fs_base;
    fvmm_reg_set(g_vm, WHvX64RegisterFs, &v);
    fvmm_reg_get(g_vm, WHvX64RegisterGs, &v);
    v.Segment.Base = g_gs_base;
    fvmm_reg_set(g_vm, WHvX64RegisterGs, &v);
    for (int r = 0; r < 16; r++)
        fvmm_set_reg64(g_vm, (WHV_REGISTER_NAME)r, tc->gpr[r]);
    fvmm_set_reg64(g_vm, WHvX64RegisterRip, g_insn_addr);
    fvmm_set_reg64(g_vm, WHvX64RegisterRflags, tc->rflags);
    fvmm_set_reg64(g_vm, WHvRegisterPendingInterruption, 0);
    fvmm_set_reg64(g_vm, WHvRegisterPendingEvent, 0);
    fvmm_set_reg64(g_vm, WHvX64RegisterCr2, 0);

    /* Ignored segment bases: usually 0, sometimes garbage. */
    static const WHV_REGISTER_NAME ign[3] = {WHvX64RegisterDs, WHvX64RegisterEs,
                                             WHvX64RegisterSs};
    int garbage = chance(1, 16);
    for (int i = 0; i < 3; i++) {
        fvmm_reg_get(g_vm, ign[i], &v);
        v.Segment.Base = garbage ? (rnd() & 0xFFFFF000ull) : 0;
        fvmm_reg_set(g_vm, ign[i], &v);
    }

    uint64_t gpa;
    fvmm_translate(g_vm, tc->exit_gva, 0, &gpa);
    if (last_mmio != ~0ull)
        fvmm_set_mmio(g_vm, last_mmio, 0);
    fvmm_set_mmio(g_vm, gpa, 1);
    last_mmio = gpa;
    fvmm_set_mmio_translates_unmapped(g_vm, chance(1, 4));

    fvmm_mmio_exit d;
    memset(&d, 0, sizeof d);
    d.insn = tc->insn;
    unsigned k = (unsigned)rndn(20);
    uint8_t bytes[16];
    memcpy(bytes, (const void *)(uintptr_t)g_insn_addr, 16); /* instruction + stub */
    d.insn = bytes;
    /* Usually 16 bytes; sometimes none (the emulator fetches them), exactly
     * the instruction, or a truncated prefix of it. */
    d.insn_count = k < 2 ? 0 : k < 4 ? (unsigned)tc->len : k == 4 ? 1 + (unsigned)rndn((uint64_t)tc->len) : 16;
    d.gpa = gpa;
    d.gva = tc->exit_gva;
    d.gva_valid = chance(7, 8);
    d.gpa_unmapped = 1;
    d.access = tc->access;
    fvmm_build_mmio_exit64(g_vm, vp, mc, &d);
    *insn_count = d.insn_count;
    *gva_valid = d.gva_valid;
}

static void print_case(const tcase *tc, report *r)
{
    rp(r, "  bytes:");
    for (int i = 0; i < tc->len; i++)
        rp(r, " %02x", tc->insn[i]);
    rp(r, "   (%s)\n  in :", tc->text);
    for (int i = 0; i < 16; i++)
        rp(r, "%s %s=%016" PRIx64, i % 4 == 0 ? "\n      " : "", g_regname[i], tc->gpr[i]);
    rp(r, "\n      rflags=%06" PRIx64 " rip=%" PRIx64 " exit gva=%" PRIx64 " (%s)\n", tc->rflags,
       g_insn_addr, tc->exit_gva, tc->access == WHvMemoryAccessWrite ? "write" : "read");
}

static unsigned g_inj_run, g_inj_fail;

/* Reruns a passed case with one callback failing (an HRESULT, a translate
 * result code, or an unaligned GPA) at a call number the clean run reached,
 * and checks the outcome: the matching status bit and no register write
 * after a failed callback; a #PF (vector 14, error code from the access,
 * CR2 in the page) for PageNotPresent/PrivilegeViolation; the
 * GpaIsNotAligned status for an unaligned GPA. The guest registers must be
 * unchanged in every variant. rng_saved replays prepare_vm's choices. */
static void inject_case(family *f, const tcase *tc, const uint64_t rng_saved[4])
{
    unsigned counts[FVMM_CB_KINDS];
    for (int k = 0; k < FVMM_CB_KINDS; k++)
        counts[k] = fvmm_count(g_vm, (fvmm_cb_kind)k);
    fvmm_cb_kind kinds[FVMM_CB_KINDS];
    int nk = 0;
    for (int k = 0; k < FVMM_CB_KINDS; k++)
        if (counts[k])
            kinds[nk++] = (fvmm_cb_kind)k;
    if (!nk)
        return;
    fvmm_cb_kind kind = kinds[rndn((uint64_t)nk)];
    unsigned nth = 1 + (unsigned)rndn(counts[kind]);
    int variant = kind == FVMM_CB_TRANSLATE ? (int)rndn(3) : 0; /* 0 hr, 1 #PF, 2 unaligned */
    WHV_TRANSLATE_GVA_RESULT_CODE code =
        chance(1, 2) ? WHvTranslateGvaResultPageNotPresent : WHvTranslateGvaResultPrivilegeViolation;
    HRESULT fail_hr = chance(1, 4) ? S_FALSE : E_FAIL;

    uint64_t cur[4];
    memcpy(cur, g_rs, sizeof cur);
    memcpy(g_rs, rng_saved, sizeof cur);
    WHV_VP_EXIT_CONTEXT vp;
    WHV_MEMORY_ACCESS_CONTEXT mc;
    unsigned insn_count;
    int gva_valid;
    prepare_vm(tc, &vp, &mc, &insn_count, &gva_valid);
    memcpy(g_rs, cur, sizeof cur);
    fvmm_reset_log(g_vm);
    if (variant == 0)
        fvmm_fail_nth(g_vm, kind, nth, fail_hr);
    else
        fvmm_translate_nth(g_vm, nth, variant == 1 ? code : WHvTranslateGvaResultSuccess,
                           variant == 1 ? 0 : 0x10 << rndn(8));
    WHV_EMULATOR_STATUS st;
    st.AsUINT32 = 0;
    fvmm_sync_guest_ram(g_vm, g_emu);
    HRESULT hr = WHvEmulatorTryMmioEmulation(g_emu, g_vm, &vp, &mc, &st);

    report r;
    r.n = 0;
    r.buf[0] = 0;
    int bad = 0;
    const char *why = fvmm_check_round_trip(g_vm, &vp, &mc, &st);
    if (hr != S_OK) {
        rp(&r, "  TryMmioEmulation returned 0x%08x\n", (unsigned)hr);
        bad = 1;
    }
    if (why) {
        rp(&r, "  round trip: %s\n", why);
        bad = 1;
    }
    /* The injected call itself. */
    const fvmm_call *inj = NULL;
    for (size_t i = 0; i < fvmm_call_count(g_vm); i++)
        if (fvmm_call_at(g_vm, i)->injected)
            inj = fvmm_call_at(g_vm, i);
    if (!inj) {
        rp(&r, "  the %s call #%u of the clean run was not made again\n", fvmm_cb_kind_name(kind),
           nth);
        bad = 1;
    } else if (variant == 0) {
        static const UINT32 bit[FVMM_CB_KINDS] = {1u << 2, 1u << 3, 1u << 6, 1u << 7, 1u << 4};
        if (st.AsUINT32 != bit[kind]) {
            rp(&r, "  %s callback failed (0x%08x): status 0x%x, expected 0x%x\n",
               fvmm_cb_kind_name(kind), (unsigned)fail_hr, st.AsUINT32, bit[kind]);
            bad = 1;
        }
    } else if (variant == 2) {
        if (st.AsUINT32 != (1u << 5)) {
            rp(&r, "  translate returned unaligned gpa 0x%llx: status 0x%x, expected 0x20\n",
               (unsigned long long)inj->u.translate.gpa, st.AsUINT32);
            bad = 1;
        }
    } else {
        WHV_REGISTER_VALUE pi, cr2;
        int has_pi = fvmm_set_call_find(g_vm, WHvRegisterPendingInterruption, &pi) &&
                     pi.PendingInterruption.InterruptionPending;
        int has_cr2 = fvmm_set_call_find(g_vm, WHvX64RegisterCr2, &cr2);
        UINT32 fl = inj->u.translate.flags;
        UINT32 ec = (code == WHvTranslateGvaResultPrivilegeViolation ? 1u : 0u) |
                    ((fl & WHvTranslateGvaFlagValidateWrite) ? 2u : 0u) |
                    (g_case_cpl == 3 ? 4u : 0u) |
                    ((fl & WHvTranslateGvaFlagValidateExecute) ? 0x10u : 0u);
        uint64_t page = inj->u.translate.gva;
        if (!st.EmulationSuccessful || !has_pi || pi.PendingInterruption.InterruptionType != 3 ||
            pi.PendingInterruption.InterruptionVector != 14 ||
            !pi.PendingInterruption.DeliverErrorCode || pi.PendingInterruption.ErrorCode != ec) {
            rp(&r,
               "  translate of %llx (flags 0x%x) gave result %u: expected #PF error code 0x%x; "
               "status 0x%x, pending interruption %s0x%016llx\n",
               (unsigned long long)page, fl, (unsigned)code, ec, st.AsUINT32,
               has_pi ? "" : "(none) ", has_pi ? (unsigned long long)pi.Reg64 : 0ull);
            bad = 1;
        }
        if (!has_cr2 || cr2.Reg64 < page || cr2.Reg64 >= page + PAGE) {
            rp(&r, "  CR2 %s0x%llx not in the faulting page 0x%llx\n", has_cr2 ? "" : "(not set) ",
               has_cr2 ? (unsigned long long)cr2.Reg64 : 0ull, (unsigned long long)page);
            bad = 1;
        }
    }
    /* Guest registers unchanged in every variant, except that a REP string
     * instruction faulting in iteration j has completed iterations 0..j-1
     * (SDM "REP/REPE/REPZ/REPNE/REPNZ": the registers reflect the
     * completed iterations when an exception is delivered). Then RCX went
     * down by j and RSI/RDI moved by j elements; RAX and RFLAGS may hold
     * the results of the completed iterations (LODS, CMPS, SCAS). */
    int partial = variant == 1 && f->string && tc->str_rep;
    if (partial) {
        uint64_t am = tc->str_a32 ? 0xFFFFFFFFull : ~0ull;
        uint64_t j = (tc->gpr[1] - fvmm_reg64(g_vm, WHvX64RegisterRcx)) & am;
        uint64_t step = (uint64_t)tc->str_size * j;
        int64_t dir = (tc->rflags & F_DF) ? -1 : 1;
        int ok = j <= (tc->gpr[1] & am);
        for (int i = 6; i <= 7; i++) {
            uint64_t before = tc->gpr[i];
            uint64_t after = fvmm_reg64(g_vm, (WHV_REGISTER_NAME)i);
            uint64_t moved = (after - before) & am;
            uint64_t want = (uint64_t)((int64_t)step * dir) & am;
            /* An index register the instruction does not use stays put. */
            if (moved != want && moved != 0)
                ok = 0;
            if (tc->str_a32 && (after >> 32) != 0 && after != before)
                ok = 0; /* 32-bit index writes zero-extend */
        }
        if (!ok) {
            rp(&r, "  partial REP progress inconsistent: rcx %" PRIx64 " -> %" PRIx64
                   ", rsi %" PRIx64 " -> %" PRIx64 ", rdi %" PRIx64 " -> %" PRIx64 "\n",
               tc->gpr[1], fvmm_reg64(g_vm, WHvX64RegisterRcx), tc->gpr[6],
               fvmm_reg64(g_vm, WHvX64RegisterRsi), tc->gpr[7], fvmm_reg64(g_vm, WHvX64RegisterRdi));
            bad = 1;
        }
    }
    for (int i = 0; i < 16; i++)
        if (partial && (i == 0 || i == 1 || i == 6 || i == 7))
            continue;
        else if (fvmm_reg64(g_vm, (WHV_REGISTER_NAME)i) != tc->gpr[i]) {
            rp(&r, "  %s changed: %016" PRIx64 " -> %016" PRIx64 "\n", g_regname[i], tc->gpr[i],
               fvmm_reg64(g_vm, (WHV_REGISTER_NAME)i));
            bad = 1;
        }
    if (fvmm_reg64(g_vm, WHvX64RegisterRip) != g_insn_addr ||
        (!partial && fvmm_reg64(g_vm, WHvX64RegisterRflags) != tc->rflags)) {
        rp(&r, "  rip/rflags changed: %" PRIx64 "/%" PRIx64 "\n",
           fvmm_reg64(g_vm, WHvX64RegisterRip), fvmm_reg64(g_vm, WHvX64RegisterRflags));
        bad = 1;
    }
    g_inj_run++;
    if (bad) {
        g_inj_fail++;
        g_total_fail++;
        if (g_maxprint == 0 || g_inj_fail <= g_maxprint || g_verbose) {
            report h;
            h.n = 0;
            print_case(tc, &h);
            printf("FAIL [fault injection, %s] %s with %s call #%u %s (insn bytes given: %u, "
                   "GvaValid %d, CPL %u)\n%s%s",
                   f->name, tc->text, fvmm_cb_kind_name(kind), nth,
                   variant == 0 ? "failing" : variant == 1 ? "faulting" : "unaligned", insn_count,
                   gva_valid, g_case_cpl, h.buf, r.buf);
            printf("  callbacks:\n");
            fvmm_dump_log(g_vm, stdout);
        }
    } else {
        g_total_pass++;
    }
}

/* A device sees each access once: no byte of the exit's (MMIO) GPA page
 * may be read twice or written twice by one instruction. Returns a
 * description of the first violation or NULL. */
static const char *mmio_access_shape(uint64_t mmio_gpa)
{
    static uint8_t reads[PAGE], writes[PAGE];
    static char msg[160];
    memset(reads, 0, sizeof reads);
    memset(writes, 0, sizeof writes);
    for (size_t i = 0; i < fvmm_call_count(g_vm); i++) {
        const fvmm_call *c = fvmm_call_at(g_vm, i);
        if (c->kind != FVMM_CB_MEMORY || c->hr != S_OK ||
            (c->u.mem.gpa & ~(uint64_t)(PAGE - 1)) != (mmio_gpa & ~(uint64_t)(PAGE - 1)))
            continue;
        for (unsigned b = 0; b < c->u.mem.size; b++) {
            size_t off = (size_t)((c->u.mem.gpa + b) & (PAGE - 1));
            uint8_t *cnt = c->u.mem.direction ? writes : reads;
            if (++cnt[off] > 1) {
                snprintf(msg, sizeof msg, "MMIO byte at gpa 0x%" PRIx64 " %s twice (call #%zu)",
                         (mmio_gpa & ~(uint64_t)(PAGE - 1)) + off,
                         c->u.mem.direction ? "written" : "read", i);
                return msg;
            }
        }
    }
    return NULL;
}

/* Runs one case; returns 1 if it passed. */
static int run_case(family *f, tcase *tc)
{
    report r;
    r.n = 0;
    r.buf[0] = 0;
    int bad = 0;
    int protocol = 0; /* a round-trip rule failed */

    place_insn(tc->insn, (size_t)tc->len);
    if (g_selftest && !tc->expect_fault && !tc->model && !strstr(tc->text, "prefetch")) {
        if (tc->native_len)
            place_insn(tc->native, (size_t)tc->native_len);
        /* Generator check: with the data pages inaccessible, the first
         * fault must be at the exit's GVA. */
        memcpy(g_sb->in, tc->gpr, sizeof tc->gpr);
        g_sb->in[16] = tc->rflags;
        uint8_t *pair = g_region + ((tc->exit_gva - g_base) / PAGE & ~1ull) * PAGE; /* D E S are even */
        mprotect(pair, 2 * PAGE, PROT_NONE);
        int s0 = native_run();
        mprotect(pair, 2 * PAGE, PROT_READ | PROT_WRITE);
        if ((s0 != SIGSEGV || g_sig_addr != tc->exit_gva) && !strstr(tc->text, "count 0") &&
            !strstr(tc->text, "pop") && !strstr(tc->text, "overlapping"))
            printf("SELFTEST [%s] %s: signal %d addr %" PRIx64 " expected %" PRIx64 "\n",
                   f->name, tc->text, s0, (uint64_t)g_sig_addr, tc->exit_gva);
        if (tc->native_len)
            place_insn(tc->insn, (size_t)tc->len);
    }
    memcpy(g_snapshot, g_region + DATA_FIRST * PAGE, sizeof g_snapshot);
    memcpy(g_sb->in, tc->gpr, sizeof tc->gpr);
    g_sb->in[16] = tc->rflags;
    int sig = 0;
    if (tc->model == MODEL_COPY64) {
        /* The model: 64 bytes copied, or #GP(0) for a misaligned
         * destination with nothing changed; registers and flags kept. */
        memcpy(g_sb->out, tc->gpr, sizeof tc->gpr);
        g_sb->out[16] = tc->rflags;
        if (tc->copy_dst & 63) {
            sig = SIGSEGV;
            g_sig_trapno = 13;
            g_sig_err = 0;
            g_sig_rip = g_insn_addr;
        } else {
            memmove((void *)(uintptr_t)tc->copy_dst, (const void *)(uintptr_t)tc->copy_src, 64);
        }
    } else if (tc->native_len) {
        /* The CPU runs an equivalent instruction; the emulator sees the
         * real one. */
        place_insn(tc->native, (size_t)tc->native_len);
        sig = native_run();
        place_insn(tc->insn, (size_t)tc->len);
    } else {
        sig = native_run();
    }

    WHV_VP_EXIT_CONTEXT vp;
    WHV_MEMORY_ACCESS_CONTEXT mc;
    unsigned insn_count;
    int gva_valid;
    uint64_t rng_saved[4];
    memcpy(rng_saved, g_rs, sizeof g_rs);
    prepare_vm(tc, &vp, &mc, &insn_count, &gva_valid);
    fvmm_reset_log(g_vm);
    WHV_EMULATOR_STATUS st;
    st.AsUINT32 = 0;
    fvmm_sync_guest_ram(g_vm, g_emu);
    HRESULT hr = WHvEmulatorTryMmioEmulation(g_emu, g_vm, &vp, &mc, &st);

    /* The CPU's exception, as the vector and error code to inject: #DE
     * (SIGFPE) from any DIV/IDIV; #UD (SIGILL), #GP (SIGSEGV, trap 13) and
     * #SS (SIGBUS, trap 12) only where the generator aims at them. */
    int vec = -1;
    unsigned ec = 0;
    if (sig == SIGFPE)
        vec = 0;
    else if (sig == SIGILL && tc->expect_fault)
        vec = 6;
    else if ((sig == SIGSEGV || sig == SIGBUS) && tc->expect_fault &&
             (g_sig_trapno == 13 || g_sig_trapno == 12)) {
        /* #GP, or #SS for a stack-segment (RSP/RBP based) reference. */
        vec = (int)g_sig_trapno;
        ec = g_sig_err;
    }
    if (sig && (vec < 0 || g_sig_rip != g_insn_addr)) {
        rp(&r, "  TEST BUG: native run raised signal %d (trap %u) at rip %" PRIx64 "\n", (int)sig,
           (unsigned)g_sig_trapno, (uint64_t)g_sig_rip);
        bad = 1;
        goto out;
    }
    if (hr != S_OK) {
        rp(&r, "  TryMmioEmulation returned 0x%08x\n", (unsigned)hr);
        bad = 1;
        goto out;
    }
    const char *why = fvmm_check_round_trip(g_vm, &vp, &mc, &st);
    if (why) {
        rp(&r, "  round trip: %s\n", why);
        protocol = 1;
    }
    if ((why = mmio_access_shape(mc.Gpa)) != NULL) {
        rp(&r, "  access shape: %s\n", why);
        protocol = 1;
    }
    if (!st.EmulationSuccessful) {
        const char *lf = whvemu_last_failure(g_emu);
        rp(&r, "  status 0x%x (not EmulationSuccessful): %s\n", st.AsUINT32, lf ? lf : "?");
        bad = 1;
        goto out;
    }

    WHV_REGISTER_VALUE pi;
    int injected = fvmm_set_call_find(g_vm, WHvRegisterPendingInterruption, &pi) &&
                   pi.PendingInterruption.InterruptionPending;
    uint64_t exp_rip = g_insn_addr + (uint64_t)tc->len;
    const uint64_t *exp = g_sb->out;
    uint64_t exp_fl = g_sb->out[16];
    if (vec >= 0) {
        f->de++;
        int has_ec = vec == 12 || vec == 13;
        if (!injected || pi.PendingInterruption.InterruptionType != 3 ||
            pi.PendingInterruption.InterruptionVector != (unsigned)vec ||
            pi.PendingInterruption.DeliverErrorCode != (unsigned)has_ec ||
            (has_ec && pi.PendingInterruption.ErrorCode != ec)) {
            rp(&r,
               "  native exception %d (error code %u), but emulator %s (pending interruption "
               "0x%016" PRIx64 ")\n",
               vec, ec, injected ? "injected something else" : "injected nothing",
               injected ? pi.Reg64 : 0);
            bad = 1;
        }
        exp_rip = g_insn_addr;
        exp = tc->gpr;
        exp_fl = tc->rflags;
    } else if (injected) {
        rp(&r, "  emulator injected vector %u (type %u, error code %u) but the CPU did not fault\n",
           pi.PendingInterruption.InterruptionVector, pi.PendingInterruption.InterruptionType,
           pi.PendingInterruption.ErrorCode);
        bad = 1;
    }

    uint64_t rip = fvmm_reg64(g_vm, WHvX64RegisterRip);
    if (rip != exp_rip) {
        rp(&r, "  rip: expected %" PRIx64 " got %" PRIx64 "\n", exp_rip, rip);
        bad = 1;
    }
    for (int i = 0; i < 16; i++) {
        uint64_t got = fvmm_reg64(g_vm, (WHV_REGISTER_NAME)i);
        uint64_t want = exp[i];
        if (tc->keep_reg == i + 1 && vec < 0) {
            /* Undefined in the SDM; the emulator keeps the register. */
            want = tc->gpr[i];
            if (got != want) {
                rp(&r, "  %s: expected %016" PRIx64 " (kept; the CPU gave %016" PRIx64
                       ") got %016" PRIx64 "\n", g_regname[i], want, exp[i], got);
                bad = 1;
            }
            continue;
        }
        if (got != want) {
            rp(&r, "  %s: expected %016" PRIx64 " got %016" PRIx64 "\n", g_regname[i], want, got);
            bad = 1;
        }
    }
    if (tc->no_data_access) {
        /* Cache control and hints: no data access reaches the VMM. */
        for (size_t i = 0; i < fvmm_call_count(g_vm); i++) {
            const fvmm_call *c = fvmm_call_at(g_vm, i);
            uint64_t pg = c->u.mem.gpa & ~(uint64_t)(PAGE - 1);
            if (c->kind == FVMM_CB_MEMORY && pg != page_gpa(PG_CODE) && pg != page_gpa(PG_CODE2)) {
                rp(&r, "  memory callback (call #%zu, gpa %" PRIx64 ") for an instruction that "
                       "accesses no data\n", i, c->u.mem.gpa);
                bad = 1;
                break;
            }
        }
    }
    uint64_t fl = fvmm_reg64(g_vm, WHvX64RegisterRflags);
    uint64_t cmpmask = ~(uint64_t)tc->undef & ~0x10000ull; /* ignore RF */
    if ((fl & cmpmask) != (exp_fl & cmpmask)) {
        rp(&r, "  rflags: expected %06" PRIx64 " got %06" PRIx64 " (diff %03" PRIx64
               ", undefined %03x)\n",
           exp_fl, fl, (fl ^ exp_fl) & cmpmask, tc->undef);
        bad = 1;
    }
    static uint8_t emu_mem[DATA_PAGES * PAGE];
    fvmm_gva_read(g_vm, region_addr(DATA_FIRST, 0), emu_mem, sizeof emu_mem);
    const uint8_t *nat = g_region + DATA_FIRST * PAGE;
    if (memcmp(emu_mem, nat, sizeof emu_mem) != 0) {
        int shown = 0;
        for (size_t i = 0; i < sizeof emu_mem && shown < 12; i++)
            if (emu_mem[i] != nat[i]) {
                rp(&r, "  mem %" PRIx64 ": expected %02x got %02x (before %02x)\n",
                   region_addr(DATA_FIRST, i), nat[i], emu_mem[i], g_snapshot[i]);
                shown++;
            }
        bad = 1;
    }

out:
    if (protocol && !bad)
        f->protocol_only++;
    bad |= protocol;
    for (int k = 0; k < FVMM_CB_KINDS; k++)
        f->calls[k] += fvmm_count(g_vm, (fvmm_cb_kind)k);
    for (size_t i = 0; i < fvmm_call_count(g_vm); i++) {
        const fvmm_call *c = fvmm_call_at(g_vm, i);
        if (c->kind == FVMM_CB_TRANSLATE && (c->u.translate.flags & WHvTranslateGvaFlagValidateExecute))
            f->fetch_translates++;
    }
    f->run++;
    if (bad) {
        f->failed++;
        g_total_fail++;
        if (g_maxprint == 0 || f->failed <= g_maxprint || g_verbose) {
            report h;
            h.n = 0;
            print_case(tc, &h);
            printf("FAIL [%s] %s (insn bytes given: %u, GvaValid %d, CPL %u)\n%s%s", f->name,
                   tc->text, insn_count, gva_valid, g_case_cpl, h.buf, r.buf);
            printf("  callbacks:\n");
            fvmm_dump_log(g_vm, stdout);
        }
        /* Resynchronise the native buffer is not needed: the next case
         * starts from the native memory, whatever the emulator did. */
    } else {
        g_total_pass++;
        if (chance(1, 8))
            inject_case(f, tc, rng_saved);
        if (g_verbose) {
            report h;
            h.n = 0;
            print_case(tc, &h);
            printf("ok [%s] %s\n%s", f->name, tc->text, h.buf);
        }
    }
    return !bad;
}

static void setup_vm(void)
{
    g_vm = fvmm_create();
    fvmm_setup_long_mode(g_vm, 0);
    fvmm_set_default_translation(g_vm, FVMM_UNMAPPED_NOT_PRESENT);
    for (int pg = 0; pg < PG_COUNT; pg++)
        fvmm_map_gva(g_vm, region_addr(pg, 0), page_gpa(pg));
    /* The last canonical page of the lower half, for the #GP family. */
    fvmm_map_gva(g_vm, 0x00007FFFFFFFF000ull, 0xFED00000ull);
    WHV_REGISTER_VALUE v;
    fvmm_reg_get(g_vm, WHvX64RegisterFs, &v);
    v.Segment.Base = g_fs_base;
    fvmm_reg_set(g_vm, WHvX64RegisterFs, &v);
    fvmm_reg_get(g_vm, WHvX64RegisterGs, &v);
    v.Segment.Base = g_gs_base;
    fvmm_reg_set(g_vm, WHvX64RegisterGs, &v);
    if (WHvEmulatorCreateEmulator(fvmm_callbacks(), &g_emu) != S_OK) {
        fprintf(stderr, "WHvEmulatorCreateEmulator failed\n");
        exit(2);
    }
}

static void run_seed(uint64_t seed, double scale)
{
    printf("== seed %" PRIu64 " ==\n", seed);
    for (size_t i = 0; i < NFAM; i++) {
        family *f = &g_fam[i];
        unsigned run0 = f->run, fail0 = f->failed, proto0 = f->protocol_only;
        if (f->avail && !f->avail()) {
            printf("%-18s skipped: the host CPU lacks the instructions\n", f->name);
            continue;
        }
        rng_seed(seed ^ (0x1000193ull * (i + 1)));
        unsigned n = (unsigned)(2500.0 * f->weight * scale);
        if (n < 1)
            n = 1;
        for (unsigned k = 0; k < n; k++) {
            tcase tc;
            pick_insn_addr(chance(1, 8));
            if (!f->string)
                case_init(&tc);
            f->gen(&tc);
            run_case(f, &tc);
        }
        printf("%-18s %6u cases, %u failed (%u only a round-trip rule)\n", f->name, f->run - run0,
               f->failed - fail0, f->protocol_only - proto0);
        if (g_maxprint && f->failed > g_maxprint)
            printf("  (%u failures of this family not printed in full; WHVEMU_DIFF_MAXPRINT=0 "
                   "prints all)\n",
                   f->failed - g_maxprint);
        fflush(stdout);
    }
}

/* Callback counts of a few reference instructions (informational). */
static void measure(const char *what, const uint8_t *insn, int len, uint64_t ea,
                    WHV_MEMORY_ACCESS_TYPE acc, uint64_t rcx, uint64_t rsi, uint64_t rdi)
{
    tcase tc;
    memset(&tc, 0, sizeof tc);
    memcpy(tc.insn, insn, (size_t)len);
    tc.len = len;
    tc.gpr[4] = region_addr(PG_S, PAGE);
    tc.gpr[3] = ea; /* rbx = address */
    tc.gpr[1] = rcx;
    tc.gpr[6] = rsi;
    tc.gpr[7] = rdi;
    tc.rflags = 0x202;
    tc.exit_gva = ea;
    tc.access = acc;
    g_insn_addr = g_base + 0x800;
    place_insn(tc.insn, (size_t)len);
    memcpy(g_snapshot, g_region + DATA_FIRST * PAGE, sizeof g_snapshot);
    WHV_VP_EXIT_CONTEXT vp;
    WHV_MEMORY_ACCESS_CONTEXT mc;
    fvmm_gva_write(g_vm, region_addr(DATA_FIRST, 0), g_snapshot, sizeof g_snapshot);
    fvmm_gva_write(g_vm, g_insn_addr, (const void *)(uintptr_t)g_insn_addr, 32);
    for (int r = 0; r < 16; r++)
        fvmm_set_reg64(g_vm, (WHV_REGISTER_NAME)r, tc.gpr[r]);
    fvmm_set_reg64(g_vm, WHvX64RegisterRip, g_insn_addr);
    fvmm_set_reg64(g_vm, WHvX64RegisterRflags, tc.rflags);
    uint64_t gpa;
    fvmm_translate(g_vm, ea, 0, &gpa);
    fvmm_mmio_exit d;
    memset(&d, 0, sizeof d);
    d.insn = tc.insn;
    d.insn_count = (unsigned)len;
    d.gpa = gpa;
    d.gva = ea;
    d.gva_valid = 1;
    d.gpa_unmapped = 1;
    d.access = acc;
    fvmm_set_mmio_translates_unmapped(g_vm, 0);
    fvmm_build_mmio_exit64(g_vm, &vp, &mc, &d);
    fvmm_reset_log(g_vm);
    WHV_EMULATOR_STATUS st;
    st.AsUINT32 = 0;
    fvmm_sync_guest_ram(g_vm, g_emu);
    HRESULT hr = WHvEmulatorTryMmioEmulation(g_emu, g_vm, &vp, &mc, &st);
    printf("callbacks for %-22s hr=0x%08x status=0x%x: get %u, set %u, translate %u, memory %u\n",
           what, (unsigned)hr, st.AsUINT32, fvmm_count(g_vm, FVMM_CB_GET_REGS),
           fvmm_count(g_vm, FVMM_CB_SET_REGS), fvmm_count(g_vm, FVMM_CB_TRANSLATE),
           fvmm_count(g_vm, FVMM_CB_MEMORY));
    if (g_verbose)
        fvmm_dump_log(g_vm, stdout);
}

static void measure_all(void)
{
    static const uint8_t load[] = {0x48, 0x8B, 0x03};  /* mov rax, [rbx] */
    static const uint8_t store[] = {0x48, 0x89, 0x03}; /* mov [rbx], rax */
    static const uint8_t rmw[] = {0x48, 0x01, 0x03};   /* add [rbx], rax */
    static const uint8_t movsb[] = {0xF3, 0xA4};       /* rep movsb */
    uint64_t a = region_addr(PG_D, 0x100);
    measure("mov rax,[rbx]", load, 3, a, WHvMemoryAccessRead, 0, 0, 0);
    measure("mov [rbx],rax", store, 3, a, WHvMemoryAccessWrite, 0, 0, 0);
    measure("add [rbx],rax", rmw, 3, a, WHvMemoryAccessRead, 0, 0, 0);
    measure("rep movsb (64, D->E)", movsb, 2, a, WHvMemoryAccessRead, 64, a,
            region_addr(PG_E, 0x100));
}

/* What this CPU does with BSF/BSR of a zero source, where the SDM leaves
 * the destination undefined (printed, not asserted: the differential test
 * compares the emulator's choice, keeping the register, with its input). */
static void probe_bsf_zero(void)
{
    const uint64_t before = 0x8877665544332211ull;
    uint64_t r[6], fl[6], zero = 0;
#define PROBE(i, insn)                                                                            \
    r[i] = before;                                                                                \
    __asm__ volatile("pushq $0x8d5\n\tpopfq\n\t" insn "\n\tpushfq\n\tpopq %1"                   \
                     : "+r"(r[i]), "=r"(fl[i])                                                    \
                     : "r"(zero)                                                                  \
                     : "cc")
    PROBE(0, "bsfw %w2, %w0");
    PROBE(1, "bsfl %k2, %k0");
    PROBE(2, "bsfq %2, %0");
    PROBE(3, "bsrw %w2, %w0");
    PROBE(4, "bsrl %k2, %k0");
    PROBE(5, "bsrq %2, %0");
#undef PROBE
    static const char *const nm[6] = {"bsf r16", "bsf r32", "bsf r64", "bsr r16", "bsr r32", "bsr r64"};
    printf("host CPU, zero source (destination %016" PRIx64 ", flags in 8d5):", before);
    for (int i = 0; i < 6; i++)
        printf(" %s -> %s%016" PRIx64 " flags %03" PRIx64, nm[i], r[i] == before ? "kept " : "",
               r[i], fl[i] & 0x8d5);
    printf("\n");
    printf("host CPU: movdiri %s, movdir64b %s (without: movdiri checked against mov, movdir64b "
           "against a model)\n",
           g_has_movdiri ? "present" : "absent", g_has_movdir64b ? "present" : "absent");
}

int main(void)
{
    const char *e;
    double scale = 1.0;
    if ((e = getenv("WHVEMU_DIFF_SCALE")) && *e)
        scale = atof(e);
    if (scale <= 0)
        scale = 1.0;
    if ((e = getenv("WHVEMU_DIFF_VERBOSE")) && *e == '1')
        g_verbose = 1;
    if ((e = getenv("WHVEMU_DIFF_SELFTEST")) && *e == '1')
        g_selftest = 1;
    if ((e = getenv("WHVEMU_DIFF_MAXPRINT")) && *e)
        g_maxprint = (unsigned)strtoul(e, NULL, 0);
    setvbuf(stdout, NULL, _IOLBF, 0);

    rng_seed(0x5eed);
    read_cpuid();
    setup_native();
    setup_vm();
    probe_bsf_zero();
    printf("region at %" PRIx64 " (low: %d), fs base %" PRIx64 ", gs base %" PRIx64
           ", split-lock detection: %d\n",
           g_base, g_low_region, g_fs_base, g_gs_base, g_split_lock);
    measure_all();

    if ((e = getenv("WHVEMU_DIFF_SEED")) && *e) {
        uint64_t seed = strtoull(e, NULL, 0);
        run_seed(seed, scale);
    } else {
        run_seed(1, scale);
        uint64_t t = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
        uint64_t seed = splitmix(&t) & 0xFFFFFFFFull;
        printf("random seed %" PRIu64 " (reproduce with WHVEMU_DIFF_SEED=%" PRIu64 ")\n", seed,
               seed);
        run_seed(seed, scale);
    }
    printf("fault injection (reruns of passed cases): %u cases, %u failed\n", g_inj_run,
           g_inj_fail);
    printf("\nper family (all seeds), with mean callbacks per case:\n");
    for (size_t i = 0; i < NFAM; i++) {
        const family *f = &g_fam[i];
        double n = f->run ? (double)f->run : 1.0;
        printf("  %-18s %7u run, %5u failed (%u protocol only), %4u exc   get %.2f set %.2f translate %.2f (fetch %.2f) "
               "memory %.2f\n",
               f->name, f->run, f->failed, f->protocol_only, f->de, (double)f->calls[FVMM_CB_GET_REGS] / n,
               (double)f->calls[FVMM_CB_SET_REGS] / n, (double)f->calls[FVMM_CB_TRANSLATE] / n,
               (double)f->fetch_translates / n, (double)f->calls[FVMM_CB_MEMORY] / n);
    }
    WHvEmulatorDestroyEmulator(g_emu);
    fvmm_destroy(g_vm);
    printf("%lu passed, %lu failed\n", g_total_pass, g_total_fail);
    return g_total_fail ? 1 : 0;
}
