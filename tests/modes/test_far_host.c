/*
 * test_far_host.c - the host CPU as the oracle for far transfers (x86-64
 * Linux only): JMP and CALL through m16:32 and m16:16, far RET with 32-,
 * 64- and 16-bit operands and IRETD/IRETQ, run natively in 64-bit mode at
 * CPL 3 into code segments of an LDT of random descriptors installed with
 * modify_ldt(2) (32-bit, 16-bit and 64-bit code, data, present or not,
 * byte or page granular), and emulated from the same state through
 * WHvEmulatorTryMmioEmulation with the fake VMM (LDTR and a GDT with the
 * host's user selectors 0x23, 0x2B, 0x33).
 *
 * Landing: every target offset points into a region filled with HLT
 * (#GP(0) at CPL 3 in any mode), or lies beyond its segment's limit; the
 * signal context of that #GP shows where the CPU went: CS, RIP, RSP and
 * RFLAGS (RF masked: a fault sets it in the saved image). A fault of the
 * transfer itself leaves CS = 0x33 and RIP on the instruction; its vector
 * and error code (#GP(sel), #NP(sel), #GP(0)) are compared. For CALL the
 * pushed frame is compared too. Emulator refusals (returns to a 16-bit
 * stack, CALLs between 64-bit and compatibility mode, faults whose order
 * processors disagree on) are counted.
 *
 * WHVEMU_FAR_SEED=<n> runs only that seed; WHVEMU_FAR_DEBUG=1 prints each case. Exit status 77 (skip) when the
 * host refuses modify_ldt or a 32-bit mapping.
 */
#define _GNU_SOURCE
#include <asm/ldt.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "WinHvEmulation.h"
#include "fake_vmm.h"
#include "test_rng.h"

#define N_ENTRIES 8
#define LDT_GVA 0x700000ull
#define GDT_GVA 0x710000ull
#define PAD_SIZE 0x20000u

enum { OP_JMP32, OP_JMP16, OP_CALL32, OP_CALL16, OP_RETF32, OP_RETF64, OP_RETF16, OP_IRETD,
       OP_IRETQ, OP_COUNT };
static const char *const op_name[OP_COUNT] = {"jmp m16:32", "jmp m16:16", "call m16:32",
                                              "call m16:16", "retf", "retfq", "retfw",
                                              "iretd", "iretq"};
static const struct {
    uint8_t b[3];
    unsigned n, osz, slots;
} op_enc[OP_COUNT] = {
    {{0xff, 0x2b}, 2, 4, 0},       {{0x66, 0xff, 0x2b}, 3, 2, 0}, {{0xff, 0x1b}, 2, 4, 0},
    {{0x66, 0xff, 0x1b}, 3, 2, 0}, {{0xcb}, 1, 4, 2},             {{0x48, 0xcb}, 2, 8, 2},
    {{0x66, 0xcb}, 2, 2, 2},       {{0xcf}, 1, 4, 5},             {{0x48, 0xcf}, 2, 8, 5},
};

static uint8_t *g_pad;              /* PAD_SIZE bytes of HLT below 4 GiB */
static uint8_t g_ptr[16];           /* the far pointer */
static uint8_t g_stack[256] __attribute__((aligned(16)));
static uint8_t g_altstack[65536];
static sigjmp_buf g_jb;
static volatile uint64_t g_addr, g_cs, g_rip, g_rsp, g_efl, g_trap, g_err;

static void on_sig(int sig, siginfo_t *si, void *uc_)
{
    ucontext_t *uc = uc_;
    /* The landed code may have loaded AC and NT: not for the rest of the
     * test (AC would make unaligned accesses fault). */
    __asm__ volatile("pushq $0x202; popfq" ::: "cc", "memory");
    (void)sig;
    g_addr = (uint64_t)(uintptr_t)si->si_addr;
    g_cs = (uint64_t)uc->uc_mcontext.gregs[REG_CSGSFS] & 0xFFFF;
    g_rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
    g_rsp = (uint64_t)uc->uc_mcontext.gregs[REG_RSP];
    g_efl = (uint64_t)uc->uc_mcontext.gregs[REG_EFL];
    g_trap = (uint64_t)uc->uc_mcontext.gregs[REG_TRAPNO];
    g_err = (uint64_t)uc->uc_mcontext.gregs[REG_ERR];
    siglongjmp(g_jb, 1);
}

struct result {
    uint64_t cs, rip, rsp, efl, trap, err;
    uint8_t stack[sizeof g_stack];
};

/* Runs op with RBX = g_ptr and RSP = the middle of g_stack; the
 * instruction's own address comes back in *at. */
static void run_native(int op, struct result *r, uint64_t *at)
{
    uint64_t sp = (uint64_t)(uintptr_t)(g_stack + 128);
    extern const uint8_t far_insn_jmp32[], far_insn_jmp16[], far_insn_call32[],
        far_insn_call16[], far_insn_retf32[], far_insn_retf64[], far_insn_retf16[],
        far_insn_iretd[], far_insn_iretq[];
    static const uint8_t *const insn[OP_COUNT] = {
        far_insn_jmp32,  far_insn_jmp16,  far_insn_call32, far_insn_call16, far_insn_retf32,
        far_insn_retf64, far_insn_retf16, far_insn_iretd,  far_insn_iretq};
    *at = (uint64_t)(uintptr_t)insn[op];
    if (sigsetjmp(g_jb, 1) == 0) {
        switch (op) {
#define FAR_RUN(label, bytes)                                                                      \
    __asm__ volatile("mov %%rsp, %%r12; pushq $0x202; popfq; mov %1, %%rsp; .globl " label "; "    \
                     label ": " bytes "; mov %%r12, %%rsp"                                         \
                     : : "b"(g_ptr), "r"(sp) : "r12", "cc", "memory")
        case OP_JMP32: FAR_RUN("far_insn_jmp32", ".byte 0xff, 0x2b"); break;
        case OP_JMP16: FAR_RUN("far_insn_jmp16", ".byte 0x66, 0xff, 0x2b"); break;
        case OP_CALL32: FAR_RUN("far_insn_call32", ".byte 0xff, 0x1b"); break;
        case OP_CALL16: FAR_RUN("far_insn_call16", ".byte 0x66, 0xff, 0x1b"); break;
        case OP_RETF32: FAR_RUN("far_insn_retf32", ".byte 0xcb"); break;
        case OP_RETF64: FAR_RUN("far_insn_retf64", ".byte 0x48, 0xcb"); break;
        case OP_RETF16: FAR_RUN("far_insn_retf16", ".byte 0x66, 0xcb"); break;
        case OP_IRETD: FAR_RUN("far_insn_iretd", ".byte 0xcf"); break;
        case OP_IRETQ: FAR_RUN("far_insn_iretq", ".byte 0x48, 0xcf"); break;
#undef FAR_RUN
        }
        /* every case ends in a signal */
        abort();
    }
    r->cs = g_cs;
    r->rip = g_rip;
    r->rsp = g_rsp;
    r->efl = g_efl;
    r->trap = g_trap;
    r->err = g_err;
    memcpy(r->stack, g_stack, sizeof g_stack);
}

static uint64_t gdt_desc(unsigned type_dpl_p, unsigned flags)
{
    return 0xFFFFull | (uint64_t)type_dpl_p << 40 | 0xFull << 48 | (uint64_t)flags << 52;
}

static unsigned g_fail, g_pass, g_refused, g_landed, g_faulted;

static int in_pad(uint64_t lin)
{
    uint64_t p = (uint64_t)(uintptr_t)g_pad;
    return lin >= p && lin < p + PAD_SIZE;
}

static uint64_t ldt_desc(const uint8_t *ldt, unsigned bytes, uint16_t sel)
{
    uint64_t d = 0;
    if ((sel & 0xFFF8u) + 8 <= bytes)
        memcpy(&d, ldt + (sel & 0xFFF8u), 8);
    return d;
}

/* Whether the CPU would go somewhere other than the pad: a present code
 * segment (DPL 3 from modify_ldt, so every privilege check passes) whose
 * limit admits an offset that lands outside it. */
static int unsafe(uint64_t d, uint16_t sel, uint64_t off, int to_ldt)
{
    if (!to_ldt || (sel & 0xFFFC) == 0)
        return 0;
    unsigned type = (unsigned)(d >> 40) & 0x1F;
    if (!(d >> 47 & 1) || (type & 0x18) != 0x18)
        return 0;
    if (d >> 53 & 1) /* 64-bit code (or L and D: #GP) */
        return (d >> 54 & 1) ? 0 : !in_pad(off);
    uint64_t lim = (d & 0xFFFF) | ((d >> 32) & 0xF0000);
    if (d >> 55 & 1)
        lim = lim << 12 | 0xFFF;
    uint64_t base = ((d >> 16) & 0xFFFFFF) | ((d >> 32) & 0xFF000000u);
    return off <= lim && !in_pad((base + off) & 0xFFFFFFFFu);
}

static void check_case(uint64_t seed, int op, const uint8_t *ldt, unsigned bytes, uint16_t sel)
{
    struct result nat;
    uint64_t at;
    uint8_t stack0[sizeof g_stack];
    memcpy(stack0, g_stack, sizeof g_stack);
    if (getenv("WHVEMU_FAR_DEBUG"))
        fprintf(stderr, "%s sel %04x\n", op_name[op], sel);
    run_native(op, &nat, &at);
    if (getenv("WHVEMU_FAR_DEBUG"))
        fprintf(stderr, "  -> cs %x rip %lx rsp %lx trap %lu err %lx addr %lx (at %lx sp %p)\n",
                (unsigned)nat.cs, (unsigned long)nat.rip, (unsigned long)nat.rsp,
                (unsigned long)nat.trap, (unsigned long)nat.err, (unsigned long)g_addr,
                (unsigned long)at, (void *)(g_stack + 128));

    fake_vmm *vm = fvmm_create();
    fvmm_setup_long_mode(vm, 3);
    WHV_REGISTER_VALUE v;
    memset(&v, 0, sizeof(v));
    v.Segment.Selector = 0x50;
    v.Segment.Base = LDT_GVA;
    v.Segment.Limit = bytes - 1;
    v.Segment.Attributes = 0x0082;
    fvmm_reg_set(vm, WHvX64RegisterLdtr, &v);
    fvmm_gpa_write(vm, LDT_GVA, ldt, bytes);
    uint64_t gdt[8] = {0};
    gdt[4] = gdt_desc(0xFB, 0xC); /* 0x23: 32-bit user code */
    gdt[5] = gdt_desc(0xF3, 0xC); /* 0x2B: user data */
    gdt[6] = gdt_desc(0xFB, 0xA); /* 0x33: 64-bit user code */
    fvmm_gpa_write(vm, GDT_GVA, gdt, sizeof gdt);
    memset(&v, 0, sizeof(v));
    v.Table.Base = GDT_GVA;
    v.Table.Limit = sizeof gdt - 1;
    fvmm_reg_set(vm, WHvX64RegisterGdtr, &v);
    uint64_t ptr = (uint64_t)(uintptr_t)g_ptr, sp = (uint64_t)(uintptr_t)(g_stack + 128);
    fvmm_gpa_write(vm, ptr, g_ptr, sizeof g_ptr);
    fvmm_gpa_write(vm, (uint64_t)(uintptr_t)g_stack, stack0, sizeof stack0);
    fvmm_set_reg64(vm, WHvX64RegisterRbx, ptr);
    fvmm_set_reg64(vm, WHvX64RegisterRsp, sp);
    fvmm_set_reg64(vm, WHvX64RegisterRip, at);
    fvmm_set_reg64(vm, WHvX64RegisterRflags, 0x202);
    WHV_EMULATOR_HANDLE emu;
    if (WHvEmulatorCreateEmulator(fvmm_callbacks(), &emu) != S_OK)
        abort();
    WHV_VP_EXIT_CONTEXT vp;
    WHV_MEMORY_ACCESS_CONTEXT mc;
    WHV_EMULATOR_STATUS st;
    uint64_t mem = op_enc[op].slots ? sp : ptr;
    fvmm_mmio_exit d = {op_enc[op].b, op_enc[op].n, mem, mem, 1, 1, WHvMemoryAccessRead};
    fvmm_build_mmio_exit64(vm, &vp, &mc, &d);
    fvmm_reset_log(vm);
    HRESULT hr = WHvEmulatorTryMmioEmulation(emu, vm, &vp, &mc, &st);
    const char *why = fvmm_check_round_trip(vm, &vp, &mc, &st);
    WHV_X64_PENDING_INTERRUPTION_REGISTER p = fvmm_injected(vm);
    WHV_REGISTER_VALUE cs;
    fvmm_reg_get(vm, WHvX64RegisterCs, &cs);
    uint64_t rip = fvmm_reg64(vm, WHvX64RegisterRip), rsp = fvmm_reg64(vm, WHvX64RegisterRsp);
    uint64_t efl = fvmm_reg64(vm, WHvX64RegisterRflags);
    uint8_t estack[sizeof g_stack];
    fvmm_gpa_read(vm, (uint64_t)(uintptr_t)g_stack, estack, sizeof estack);
    int landed = nat.cs != 0x33;
    char msg[256] = "";
    if (hr != S_OK || why) {
        snprintf(msg, sizeof msg, "hr 0x%x round trip %s", (unsigned)hr, why ? why : "ok");
    } else if (!st.EmulationSuccessful) {
        g_refused++; /* nothing done: never a wrong answer, counted */
    } else if (!landed) {
        g_faulted++;
        if (nat.rip != at)
            snprintf(msg, sizeof msg, "native fault away from the instruction");
        else if (!p.InterruptionPending || p.InterruptionVector != nat.trap ||
                 p.ErrorCode != nat.err)
            snprintf(msg, sizeof msg, "native fault %u(0x%x), emulator %s %u(0x%x)",
                     (unsigned)nat.trap, (unsigned)nat.err, p.InterruptionPending ? "fault" : "none",
                     p.InterruptionVector, p.ErrorCode);
    } else if (p.InterruptionPending) {
        snprintf(msg, sizeof msg, "native went to %04x:%" PRIx64 ", emulator fault %u(0x%x)",
                 (unsigned)nat.cs, nat.rip, p.InterruptionVector, p.ErrorCode);
    } else {
        g_landed++;
        if (cs.Segment.Selector != nat.cs || rip != nat.rip)
            snprintf(msg, sizeof msg, "native %04x:%" PRIx64 ", emulator %04x:%" PRIx64,
                     (unsigned)nat.cs, nat.rip, cs.Segment.Selector, rip);
        else if ((cs.Segment.Long ? rsp : rsp & 0xFFFFFFFFu) != nat.rsp)
            snprintf(msg, sizeof msg, "rsp native 0x%" PRIx64 " emulator 0x%" PRIx64, nat.rsp,
                     rsp);
        else if ((efl & ~0x10000ull) != (nat.efl & ~0x10000ull))
            snprintf(msg, sizeof msg, "rflags native 0x%" PRIx64 " emulator 0x%" PRIx64,
                     nat.efl, efl);
        else if (memcmp(estack, nat.stack, sizeof estack) != 0)
            snprintf(msg, sizeof msg, "pushed frame differs");
    }
    if (msg[0]) {
        g_fail++;
        printf("FAIL seed %" PRIu64 " %s sel 0x%04x desc 0x%016" PRIx64 ": %s\n", seed,
               op_name[op], sel, ldt_desc(ldt, bytes, sel), msg);
    } else {
        g_pass++;
    }
    WHvEmulatorDestroyEmulator(emu);
    fvmm_destroy(vm);
}

static void install(unsigned idx)
{
    struct user_desc d;
    memset(&d, 0, sizeof d);
    d.entry_number = idx;
    uint32_t pad = (uint32_t)(uintptr_t)g_pad;
    d.base_addr = chance(3, 4) ? pad - (uint32_t)rndn(0x8000) : (uint32_t)rnd();
    d.limit = chance(1, 2) ? (unsigned)rndn(0x100000) : (unsigned)rndn(0x10000);
    d.seg_32bit = (unsigned)rndn(2);
    d.contents = chance(3, 4) ? 2 : (unsigned)rndn(4);
    d.read_exec_only = chance(1, 4);
    d.limit_in_pages = chance(1, 4);
    d.seg_not_present = chance(1, 6) || d.contents == 3;
    d.useable = (unsigned)rndn(2);
    d.lm = chance(1, 5) && !d.seg_32bit;
    syscall(SYS_modify_ldt, 0x11, &d, sizeof d);
}

static void run_seed(uint64_t seed)
{
    rng_seed(seed);
    for (unsigned i = 0; i < N_ENTRIES; i++)
        install(i);
    uint8_t ldt[N_ENTRIES * 8 + 64];
    memset(ldt, 0, sizeof ldt);
    long bytes = syscall(SYS_modify_ldt, 0, ldt, sizeof ldt);
    if (bytes < 8)
        return;
    for (int k = 0, tries = 0; k < 24 && tries < 200; tries++) {
        int op = (int)rndn(OP_COUNT);
        unsigned osz = op_enc[op].osz;
        int to_ldt = chance(15, 16);
        uint16_t sel = to_ldt ? (uint16_t)((rndn(N_ENTRIES + 1) << 3) | 4 |
                                           (chance(3, 4) ? 3 : rndn(4)))
                              : (uint16_t)(chance(1, 2) ? 0x23 : rndn(4));
        uint64_t dsc = ldt_desc(ldt, (unsigned)bytes, sel);
        uint64_t base = ((dsc >> 16) & 0xFFFFFF) | ((dsc >> 32) & 0xFF000000u);
        uint64_t k_off = rndn(PAD_SIZE);
        uint64_t pad = (uint64_t)(uintptr_t)g_pad;
        uint64_t off = (dsc >> 53 & 1) ? pad + k_off : (pad + k_off - base) & 0xFFFFFFFFu;
        if (chance(1, 8))
            off = rnd() & 0xFFFFFFFFu;
        if (osz == 2)
            off &= 0xFFFF;
        if (!to_ldt && (sel & 0xFFFC)) /* 0x23: flat 32-bit code */
            off = pad + k_off;
        if (unsafe(dsc, sel, off, to_ldt) || (!to_ldt && (sel & 0xFFFC) && !in_pad(off)))
            continue;
        memset(g_ptr, 0, sizeof g_ptr);
        memset(g_stack, 0xA5, sizeof g_stack);
        if (!op_enc[op].slots) {
            memcpy(g_ptr, &off, osz);
            memcpy(g_ptr + osz, &sel, 2);
        } else {
            uint8_t *f = g_stack + 128;
            uint64_t fl = 0x202 | (rnd() & 0x3F7ED5ull & ~0x100ull);
            uint64_t nsp = rnd() & 0xFFFFFFF0u;
            uint16_t ss = chance(3, 4) ? 0x2B : (uint16_t)((rndn(N_ENTRIES) << 3) | 7);
            uint64_t slot[5] = {off, sel | (rnd() & 0xFFFF0000ull), fl, nsp, ss};
            for (unsigned i = 0; i < op_enc[op].slots; i++)
                memcpy(f + i * osz, &slot[i], osz);
        }
        k++;
        check_case(seed, op, ldt, (unsigned)bytes, sel);
    }
}

int main(void)
{
    struct sigaction sa;
    stack_t ss = {.ss_sp = g_altstack, .ss_size = sizeof g_altstack, .ss_flags = 0};
    if (sigaltstack(&ss, NULL) != 0)
        return 77;
    g_pad = mmap(NULL, PAD_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    if (g_pad == MAP_FAILED) {
        printf("SKIP: no 32-bit mapping\n");
        return 77;
    }
    memset(g_pad, 0xF4, PAD_SIZE);
    mprotect(g_pad, PAD_SIZE, PROT_READ | PROT_EXEC);
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sig;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGILL, &sa, NULL);
    sigaction(SIGTRAP, &sa, NULL);
    struct user_desc probe;
    memset(&probe, 0, sizeof probe);
    probe.limit = 0xFFFF;
    if (syscall(SYS_modify_ldt, 0x11, &probe, sizeof probe) != 0) {
        printf("SKIP: modify_ldt refused\n");
        return 77;
    }
    const char *s = getenv("WHVEMU_FAR_SEED");
    if (s) {
        run_seed(strtoull(s, NULL, 0));
    } else {
        for (uint64_t seed = 1; seed <= 300; seed++)
            run_seed(seed);
    }
    printf("far transfers against the host CPU: %u passed (%u landed, %u faulted), %u failed, "
           "%u refused\n",
           g_pass, g_landed, g_faulted, g_fail, g_refused);
    return g_fail || g_landed == 0 || g_faulted == 0 ? 1 : 0;
}
