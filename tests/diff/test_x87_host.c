/*
 * test_x87_host.c - differential test of the x87 memory forms (FLD, FST,
 * FSTP, FILD, FIST, FISTP, FISTTP, FBLD, FBSTP, FLDCW, FNSTCW, FNSTSW,
 * FLDENV, FNSTENV, FRSTOR, FNSAVE in both operand sizes), FXSAVE/FXRSTOR,
 * and MMX memory forms under any TOP, against the host CPU (x86-64 Linux
 * only).
 *
 * Each case builds an FXSAVE image: random control word (every rounding and
 * precision control, exception masks mostly set), TOP, C1, tags, exception
 * flags (sometimes pending and unmasked, so that a waiting form raises
 * #MF), ST(0)-ST(7) from a grid of edge values (zeros, denormals,
 * pseudo-denormals, unnormals, infinities, QNaN/SNaN, pseudo-NaNs, values
 * around the integer and float ranges) and random XMM/MXCSR. The memory
 * operand holds edge values of its format (packed BCD with non-decimal
 * digits sometimes; for FXRSTOR, FLDENV and FRSTOR, an image with reserved
 * control-word bits, any status and tag words and random pointers).
 *
 *   native:   machine code in a page made PROT_READ|PROT_EXEC:
 *             FXRSTOR64 [rdi]; the instruction on [rsi]; FXSAVE64 [rdx];
 *             FXRSTOR64 [rcx] (the host's own state back). A SIGFPE (#MF)
 *             or SIGSEGV (#GP) is caught.
 *   emulated: WHvEmulatorTryMmioEmulation with the fake VMM holding the
 *             same state: FpMmx0-7 = ST(0)-ST(7) of the image,
 *             FpControlStatus = image bytes 0-15, XmmControlStatus = bytes
 *             16-31, XMM0-15; RIP and RSI as natively, so that FIP and FDP
 *             agree.
 *
 * Compared: the FXSAVE-visible state (FCW; FSW but for C0, C2, C3, which
 * these forms leave undefined; the abridged tag; ST(0)-ST(7); MXCSR; XMM)
 * and the memory around the operand; a native fault as the same injected
 * exception with nothing changed. FOP, FIP and FDP are compared when FSW.ES
 * is set afterwards: this host family (AMD) saves them only then, and
 * Intel processors may update FOP and FDP only on unmasked exceptions; the
 * emulator updates them as every x87 non-control instruction did
 * originally (docs/api-notes.md). FNSTENV/FNSAVE's stored pointers are
 * compared when the image set ES (only then does this host's FXRSTOR load
 * them). Cases the emulator refuses are counted by
 * reason (only the documented refusals are accepted).
 *
 * Environment: WHVEMU_X87_SEED=<n> reproduces one run; WHVEMU_X87_CASES=<n>
 * cases per form (default 3000).
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "WinHvEmulation.h"
#include "fake_vmm.h"
#include "native_fault.h"
#include "test_rng.h"
#include "x87_edge.h"
#include "whvemu.h"

#define PAGE 4096u

struct form {
    const char *name;
    uint8_t op, reg, rexw;
    unsigned size; /* memory operand bytes */
    char kind;     /* 'f' float, 'i' integer, 'w' control word, 's' fxsave, 'r' fxrstor,
                      'l' FLDENV/FRSTOR image, 'S' FNSTENV/FNSAVE, 'b' packed BCD,
                      'm' MMX load, 'M' MMX store (0F op) */
    int fsw_defined; /* C0-C3 are defined (FXRSTOR) */
};

static const struct form g_forms[] = {
    {"fld m32", 0xD9, 0, 0, 4, 'f', 0},     {"fst m32", 0xD9, 2, 0, 4, 'f', 0},
    {"fstp m32", 0xD9, 3, 0, 4, 'f', 0},    {"fldcw", 0xD9, 5, 0, 2, 'w', 0},
    {"fnstcw", 0xD9, 7, 0, 2, 'w', 0},      {"fild m32", 0xDB, 0, 0, 4, 'i', 0},
    {"fisttp m32", 0xDB, 1, 0, 4, 'f', 0},  {"fist m32", 0xDB, 2, 0, 4, 'f', 0},
    {"fistp m32", 0xDB, 3, 0, 4, 'f', 0},   {"fld m80", 0xDB, 5, 0, 10, 'f', 0},
    {"fstp m80", 0xDB, 7, 0, 10, 'f', 0},   {"fld m64", 0xDD, 0, 0, 8, 'f', 0},
    {"fisttp m64", 0xDD, 1, 0, 8, 'f', 0},  {"fst m64", 0xDD, 2, 0, 8, 'f', 0},
    {"fstp m64", 0xDD, 3, 0, 8, 'f', 0},    {"fnstsw", 0xDD, 7, 0, 2, 'w', 0},
    {"fild m16", 0xDF, 0, 0, 2, 'i', 0},    {"fisttp m16", 0xDF, 1, 0, 2, 'f', 0},
    {"fist m16", 0xDF, 2, 0, 2, 'f', 0},    {"fistp m16", 0xDF, 3, 0, 2, 'f', 0},
    {"fild m64", 0xDF, 5, 0, 8, 'i', 0},    {"fistp m64", 0xDF, 7, 0, 8, 'f', 0},
    {"fxsave64", 0xAE, 0, 1, 512, 's', 1},  {"fxsave", 0xAE, 0, 0, 512, 's', 1},
    {"fxrstor64", 0xAE, 1, 1, 512, 'r', 1}, {"fxrstor", 0xAE, 1, 0, 512, 'r', 1},
    {"fbld", 0xDF, 4, 0, 10, 'b', 0},       {"fbstp", 0xDF, 6, 0, 10, 'f', 0},
    /* rexw 2: a 66 prefix (the 16-bit layouts); 1: REX.W, which they ignore */
    {"fldenv", 0xD9, 4, 0, 28, 'l', 1},     {"fldenv o16", 0xD9, 4, 2, 14, 'l', 1},
    {"fnstenv", 0xD9, 6, 0, 28, 'S', 1},    {"fnstenv o16", 0xD9, 6, 2, 14, 'S', 1},
    {"fnstenv rex.w", 0xD9, 6, 1, 28, 'S', 1},
    {"frstor", 0xDD, 4, 0, 108, 'l', 1},    {"frstor o16", 0xDD, 4, 2, 94, 'l', 1},
    {"fnsave", 0xDD, 6, 0, 108, 'S', 1},    {"fnsave o16", 0xDD, 6, 2, 94, 'S', 1},
    {"frstor rex.w", 0xDD, 4, 1, 108, 'l', 1},
    /* MMX with any TOP: MMn is the physical register Rn, and TOP becomes 0 */
    {"movq mm3, m64", 0x6F, 3, 0, 8, 'm', 1}, {"movq m64, mm6", 0x7F, 6, 0, 8, 'M', 1},
    {"movd mm0, m32", 0x6E, 0, 0, 4, 'm', 1}, {"movd m32, mm7", 0x7E, 7, 0, 4, 'M', 1},
    {"movq mm5, m64 (REX.W 0F 6E)", 0x6E, 5, 1, 8, 'm', 1},
    {"movntq m64, mm2", 0xE7, 2, 0, 8, 'M', 1},
};

static fake_vmm *g_vm;
static WHV_EMULATOR_HANDLE g_emu;
static uint8_t *g_code, *g_data; /* code page; two data pages */
static uint8_t g_host[512] __attribute__((aligned(16)));
static unsigned g_fail, g_cases, g_refused, g_faults;

static void edge80(uint8_t *v)
{
    x87_edge80(v, rnd);
}

static void edge_mem(uint8_t *m, unsigned size, char kind)
{
    x87_edge_mem(m, size, kind, rnd);
}

/* A random x87/SSE state in an FXSAVE64 image. */
static void make_image(uint8_t *img, int pending_ok)
{
    memset(img, 0, 512);
    for (unsigned i = 0; i < 512; i += 8) {
        uint64_t r = rnd();
        memcpy(img + i, &r, 8);
    }
    uint16_t fcw = (uint16_t)(0x40 | (rnd() & 0xF00) | (chance(3, 4) ? 0x3F : (rnd() & 0x3F)));
    if (!pending_ok && chance(1, 4)) /* FXRSTOR's memory: reserved FCW bits too */
        fcw = (uint16_t)(fcw | (rnd() & 0xF080));
    uint16_t flags = chance(4, 5) ? 0 : (uint16_t)(rnd() & 0x3F);
    uint16_t fsw = (uint16_t)((rnd() & 0x4700) | (rnd() & 0x3800) | flags);
    if (flags & ~fcw & 0x3F) {
        if (!pending_ok)
            fsw &= (uint16_t)~0x3F;
        else
            fsw |= 0x8080;
    }
    memcpy(img, &fcw, 2);
    memcpy(img + 2, &fsw, 2);
    img[4] = chance(1, 8) ? 0xFF : chance(1, 8) ? 0 : (uint8_t)rnd();
    img[5] = 0;
    uint16_t fop = (uint16_t)(rnd() & 0x7FF);
    memcpy(img + 6, &fop, 2);
    /* FIP and FDP as canonical addresses (FXRSTOR64 makes them so) */
    for (unsigned o = 8; o <= 16; o += 8) {
        uint64_t p;
        memcpy(&p, img + o, 8);
        p = (uint64_t)((int64_t)(p << 16) >> 16);
        memcpy(img + o, &p, 8);
    }
    uint32_t mxcsr = 0x1F80 | (uint32_t)(rnd() & 0x7F3F), mask = 0xFFFF;
    if ((mxcsr & 0xFFFF) != mxcsr)
        mxcsr &= 0xFFFF;
    memcpy(img + 24, &mxcsr, 4);
    memcpy(img + 28, &mask, 4);
    for (unsigned i = 0; i < 8; i++) {
        edge80(img + 32 + 16 * i);
        memset(img + 42 + 16 * i, 0, 6);
    }
}

/* An FLDENV/FRSTOR image: random words (control words with reserved bits
 * sometimes set, any status and tag word, pointers, opcode, the reserved
 * upper halves), then ST(0)-ST(7) from the edge grid. */
static void make_env(uint8_t *m, const struct form *f)
{
    unsigned w = f->rexw == 2 ? 2 : 4, env = f->rexw == 2 ? 14 : 28;
    for (unsigned i = 0; i < f->size; i++)
        m[i] = (uint8_t)rnd();
    uint16_t fcw = chance(1, 4) ? (uint16_t)rnd()
                                : (uint16_t)(0x40 | (rnd() & 0xF00) | (chance(3, 4) ? 0x3F : (rnd() & 0x3F)));
    uint16_t ftw = chance(1, 8) ? 0xFFFF : chance(1, 8) ? 0 : (uint16_t)rnd();
    memcpy(m, &fcw, 2);
    memcpy(m + 2 * w, &ftw, 2);
    if (chance(1, 2)) { /* mostly no flags set */
        uint16_t fsw;
        memcpy(&fsw, m + w, 2);
        fsw &= (uint16_t)~0x3F;
        memcpy(m + w, &fsw, 2);
    }
    for (unsigned i = 0; env + 10 * i < f->size; i++)
        edge80(m + env + 10 * i);
}

static void emit(uint8_t *p, const uint8_t *b, unsigned n, unsigned *at)
{
    memcpy(p + *at, b, n);
    *at += n;
}

/* The instruction's bytes with [rsi] as operand; its length. */
static unsigned insn_bytes(const struct form *f, uint8_t *b)
{
    unsigned n = 0;
    if (f->rexw == 2)
        b[n++] = 0x66;
    else if (f->rexw)
        b[n++] = 0x48;
    if (f->op == 0xAE || f->kind == 'm' || f->kind == 'M')
        b[n++] = 0x0F;
    b[n++] = f->op;
    b[n++] = (uint8_t)(f->reg << 3 | 6);
    return n;
}

typedef void (*native_fn)(void *in, void *mem, void *out, void *host);

/* Runs natively: returns 0, or the signal. */
static int run_native(const struct form *f, const uint8_t *img_in, uint8_t *mem, uint8_t *img_out,
                      uint64_t *insn_rip)
{
    static const uint8_t pre[] = {0x48, 0x0F, 0xAE, 0x0F};                  /* fxrstor64 [rdi] */
    static const uint8_t post[] = {0x48, 0x0F, 0xAE, 0x02, 0x48, 0x0F, 0xAE, 0x09, 0xC3};
    uint8_t ib[5];
    unsigned n = insn_bytes(f, ib), at = 0;
    mprotect(g_code, PAGE, PROT_READ | PROT_WRITE);
    emit(g_code, pre, sizeof(pre), &at);
    *insn_rip = (uint64_t)(uintptr_t)(g_code + at);
    emit(g_code, ib, n, &at);
    emit(g_code, post, sizeof(post), &at);
    mprotect(g_code, PAGE, PROT_READ | PROT_EXEC);
    static uint8_t in_a[512] __attribute__((aligned(16)));
    memcpy(in_a, img_in, 512);
    g_sig = 0;
    if (sigsetjmp(g_jb, 1) == 0) {
        ((native_fn)(uintptr_t)g_code)(in_a, mem, img_out, g_host);
        return 0;
    }
    __asm__ volatile("fxrstor64 %0" ::"m"(g_host));
    return g_sig;
}

static void set_state(const uint8_t *img, uint64_t rip, uint64_t rsi)
{
    fvmm_reset(g_vm);
    fvmm_setup_long_mode(g_vm, 3);
    WHV_REGISTER_VALUE v;
    for (unsigned i = 0; i < 8; i++) {
        memset(&v, 0, sizeof(v));
        memcpy(&v.Reg128.Low64, img + 32 + 16 * i, 8);
        memcpy(&v.Reg128.High64, img + 40 + 16 * i, 2);
        fvmm_reg_set(g_vm, (WHV_REGISTER_NAME)(WHvX64RegisterFpMmx0 + i), &v);
    }
    for (unsigned i = 0; i < 16; i++) {
        memcpy(&v, img + 160 + 16 * i, 16);
        fvmm_reg_set(g_vm, (WHV_REGISTER_NAME)(WHvX64RegisterXmm0 + i), &v);
    }
    memcpy(&v, img, 16);
    fvmm_reg_set(g_vm, WHvX64RegisterFpControlStatus, &v);
    memcpy(&v, img + 16, 16);
    memcpy((uint8_t *)&v + 12, g_host + 28, 4); /* the processor's MXCSR_MASK */
    fvmm_reg_set(g_vm, WHvX64RegisterXmmControlStatus, &v);
    fvmm_set_reg64(g_vm, WHvX64RegisterRip, rip);
    fvmm_set_reg64(g_vm, WHvX64RegisterRsi, rsi);
}

static void get_state(uint8_t *img)
{
    WHV_REGISTER_VALUE v;
    memset(img, 0, 512);
    for (unsigned i = 0; i < 8; i++) {
        fvmm_reg_get(g_vm, (WHV_REGISTER_NAME)(WHvX64RegisterFpMmx0 + i), &v);
        memcpy(img + 32 + 16 * i, &v.Reg128.Low64, 8);
        memcpy(img + 40 + 16 * i, &v.Reg128.High64, 2);
    }
    for (unsigned i = 0; i < 16; i++) {
        fvmm_reg_get(g_vm, (WHV_REGISTER_NAME)(WHvX64RegisterXmm0 + i), &v);
        memcpy(img + 160 + 16 * i, &v, 16);
    }
    fvmm_reg_get(g_vm, WHvX64RegisterFpControlStatus, &v);
    memcpy(img, &v, 16);
    fvmm_reg_get(g_vm, WHvX64RegisterXmmControlStatus, &v);
    memcpy(img + 16, &v, 16);
}

static void hex(const char *t, const uint8_t *p, unsigned n)
{
    printf("    %s:", t);
    for (unsigned i = 0; i < n; i++)
        printf("%s%02x", i % 16 == 0 && i ? "\n      " : " ", p[i]);
    printf("\n");
}

/* The state compare: what FXSAVE64 shows. */
static int cmp_state(const struct form *f, const uint8_t *a, const uint8_t *b, char *why)
{
    uint16_t fa, fb, mask = f->fsw_defined ? 0xFFFF : (uint16_t)~0x4500;
    memcpy(&fa, a + 2, 2);
    memcpy(&fb, b + 2, 2);
    if (memcmp(a, b, 2)) return sprintf(why, "FCW"), 1;
    if ((fa ^ fb) & mask) return sprintf(why, "FSW %04x vs %04x", fa, fb), 1;
    if (a[4] != b[4]) return sprintf(why, "FTW"), 1;
    if ((fa & 0x80) && memcmp(a + 6, b + 6, 18)) return sprintf(why, "FOP/FIP/FDP"), 1;
    if (memcmp(a + 24, b + 24, 4)) return sprintf(why, "MXCSR"), 1;
    for (unsigned i = 0; i < 8; i++)
        if (memcmp(a + 32 + 16 * i, b + 32 + 16 * i, 10)) return sprintf(why, "ST(%u)", i), 1;
    if (memcmp(a + 160, b + 160, 256)) return sprintf(why, "XMM"), 1;
    return 0;
}

static void run_case(const struct form *f)
{
    uint8_t img[512] __attribute__((aligned(16))), nat_out[512] __attribute__((aligned(16)));
    uint8_t emu_out[512], before[2 * PAGE], nat_mem[2 * PAGE], ib[5];
    make_image(img, 1);
    /* the operand: aligned mostly, sometimes crossing into the second page */
    unsigned off = f->size == 512 ? (chance(1, 10) ? (unsigned)rndn(PAGE - 512) : 16 * (unsigned)rndn((2 * PAGE - 512) / 16))
                                  : (chance(1, 8) ? PAGE - (unsigned)rndn(f->size) - 1 : (unsigned)rndn(PAGE));
    for (unsigned i = 0; i < 2 * PAGE; i += 8) {
        uint64_t r = rnd();
        memcpy(before + i, &r, 8);
    }
    if (f->kind == 'r') {
        make_image(before + off, 0);
        if (chance(1, 16)) /* a reserved MXCSR bit: #GP(0) */
            before[off + 26] |= 1;
    } else if (f->kind == 'w' && f->reg == 5) {
        uint16_t cw = chance(1, 4) ? (uint16_t)rnd() : (uint16_t)(0x40 | (rnd() & 0xF3F));
        memcpy(before + off, &cw, 2);
    } else if (f->kind == 'l') {
        make_env(before + off, f);
    } else if (f->kind != 's' && f->kind != 'S') {
        edge_mem(before + off, f->size, f->kind);
    }
    memcpy(g_data, before, 2 * PAGE);
    uint64_t rip;
    int sig = run_native(f, img, g_data + off, nat_out, &rip);
    memcpy(nat_mem, g_data, 2 * PAGE);

    uint64_t gva = (uint64_t)(uintptr_t)(g_data + off);
    set_state(img, rip, gva);
    fvmm_gpa_write(g_vm, (uint64_t)(uintptr_t)g_data, before, 2 * PAGE);
    unsigned n = insn_bytes(f, ib);
    WHV_VP_EXIT_CONTEXT vp;
    WHV_MEMORY_ACCESS_CONTEXT mc;
    fvmm_mmio_exit d;
    memset(&d, 0, sizeof d);
    d.insn = ib;
    d.insn_count = n;
    d.gpa = gva;
    d.gva = gva;
    d.gva_valid = 1;
    d.gpa_unmapped = 1;
    d.access = (f->kind == 's' || f->kind == 'S' || f->kind == 'M' || (f->kind == 'f' && f->reg != 0 && !(f->op == 0xDB && f->reg == 5)) ||
                (f->kind == 'w' && f->reg != 5))
                   ? WHvMemoryAccessWrite
                   : WHvMemoryAccessRead;
    fvmm_build_mmio_exit64(g_vm, &vp, &mc, &d);
    fvmm_reset_log(g_vm);
    WHV_EMULATOR_STATUS st;
    st.AsUINT32 = 0;
    fvmm_sync_guest_ram(g_vm, g_emu);
    HRESULT hr = WHvEmulatorTryMmioEmulation(g_emu, g_vm, &vp, &mc, &st);
    g_cases++;
    char why[160] = "";
    const char *rt = fvmm_check_round_trip(g_vm, &vp, &mc, &st);
    uint8_t emu_mem[2 * PAGE];
    fvmm_gpa_read(g_vm, (uint64_t)(uintptr_t)g_data, emu_mem, 2 * PAGE);
    get_state(emu_out);
    WHV_X64_PENDING_INTERRUPTION_REGISTER pi = fvmm_injected(g_vm);
    if (hr != S_OK) {
        sprintf(why, "hr 0x%08x", (unsigned)hr);
    } else if (!st.EmulationSuccessful) {
        g_refused++;
        const char *w = whvemu_last_failure(g_emu);
        if (!w || (!strstr(w, "denormal") && !strstr(w, "tiny")))
            sprintf(why, "refused: %s", w ? w : "?");
    } else if (rt) {
        sprintf(why, "round trip: %s", rt);
    } else if (sig) {
        g_faults++;
        unsigned want = sig == SIGFPE ? 16 : 13;
        if (!pi.InterruptionPending || pi.InterruptionVector != want)
            sprintf(why, "native signal %d, emulated vector %u pending %u", sig,
                    pi.InterruptionVector, pi.InterruptionPending);
        else if (memcmp(emu_mem, before, 2 * PAGE))
            sprintf(why, "memory changed on a fault");
    } else if (pi.InterruptionPending) {
        sprintf(why, "emulated fault %u, native none", pi.InterruptionVector);
    } else if (cmp_state(f, emu_out, nat_out, why)) {
        /* why set */
    } else {
        /* FXSAVE: pointers only when ES (see the header); else everything. */
        if (f->kind == 's' && !(nat_out[2] & 0x80)) {
            memcpy(emu_mem + off + 6, nat_mem + off + 6, f->rexw ? 18 : 18);
        }
        /* FNSTENV/FNSAVE: FIP, FCS, FOP, FDP and FDS are the image's only
         * when FXRSTOR loaded them (on this host family, with ES set). */
        if (f->kind == 'S' && !(img[2] & 0x80)) {
            if (f->rexw == 2)
                memcpy(emu_mem + off + 6, nat_mem + off + 6, 8);
            else
                memcpy(emu_mem + off + 12, nat_mem + off + 12, 14);
        }
        for (unsigned i = 0; i < 2 * PAGE; i++)
            if (emu_mem[i] != nat_mem[i]) {
                sprintf(why, "memory differs at operand byte %d: %02x, native %02x",
                        (int)i - (int)off, emu_mem[i], nat_mem[i]);
                break;
            }
    }
    if (why[0]) {
        if (++g_fail <= 20) {
            printf("FAIL %s: %s (off %u, native sig %d)\n", f->name, why, off, sig);
            hex("image in", img, 160);
            hex("native", nat_out, 160);
            hex("emulated", emu_out, 160);
            unsigned lo = off > 16 ? off - 16 : 0, len = f->size + 32;
            if (lo + len > 2 * PAGE)
                len = 2 * PAGE - lo;
            hex("mem before", before + lo, len);
            hex("mem native", nat_mem + lo, len);
            hex("mem emulated", emu_mem + lo, len);
        }
    }
}

int main(void)
{
    uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    const char *s = getenv("WHVEMU_X87_SEED");
    if (s)
        seed = strtoull(s, NULL, 0);
    unsigned ncases = 3000;
    if (getenv("WHVEMU_X87_CASES"))
        ncases = (unsigned)strtoul(getenv("WHVEMU_X87_CASES"), NULL, 0);
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("sse3")) {
        printf("host lacks SSE3 (FISTTP): the test needs it\n");
        return 1;
    }
    printf("seed 0x%" PRIx64 " (WHVEMU_X87_SEED reproduces it)\n", seed);
    rng_seed(seed);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGFPE, &sa, NULL);
    sigaction(SIGSEGV, &sa, NULL);
    __asm__ volatile("fxsave64 %0" : "=m"(g_host));
    g_code = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    g_data = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g_code == MAP_FAILED || g_data == MAP_FAILED)
        return 1;
    g_vm = fvmm_create();
    if (WHvEmulatorCreateEmulator(fvmm_callbacks(), &g_emu) != S_OK)
        return 1;
    for (unsigned i = 0; i < sizeof(g_forms) / sizeof(g_forms[0]); i++) {
        unsigned f0 = g_fail, r0 = g_refused, x0 = g_faults;
        for (unsigned c = 0; c < ncases; c++)
            run_case(&g_forms[i]);
        printf("%-12s %u cases, %u failed, %u refused, %u faults\n", g_forms[i].name, ncases,
               g_fail - f0, g_refused - r0, g_faults - x0);
    }
    WHvEmulatorDestroyEmulator(g_emu);
    fvmm_destroy(g_vm);
    printf("%u cases, %u failed\n", g_cases, g_fail);
    return g_fail ? 1 : 0;
}
