/*
 * test_seg_host.c - the host CPU as the oracle for segment register loads
 * (x86-64 Linux only): MOV DS/ES/SS/GS from memory, LSS/LGS with m16:16,
 * m16:32 and m16:64 far pointers and POP GS, run natively in 64-bit mode at
 * CPL 3 with selectors into an LDT of random descriptors installed with
 * modify_ldt(2), and emulated from the same state through
 * WHvEmulatorTryMmioEmulation with the fake VMM (64-bit mode, CPL 3, LDTR
 * pointing at a copy of the host's LDT read back with modify_ldt).
 *
 * Selectors: LDT indexes up to two past the table's end, any RPL, null
 * selectors. Descriptors: data (expand-up or down, read-only or writable),
 * code (readable or execute-only, conforming), present or not, byte or page
 * granular, and empty (zero) entries, as far as modify_ldt installs them
 * (it always sets DPL 3 and the accessed bit). Compared: the fault (#GP,
 * #NP, #SS) and its selector error code, or the loaded selector, the
 * attributes (LAR) and the limit (LSL) of the new segment register, its
 * base against the descriptor, and RAX/RSP. A null GS in 64-bit mode is
 * refused by the emulator (processors differ on its base) and counted, and
 * so is LSS with REX.W (an AMD host reads m16:32 there, the SDM m16:64);
 * the native run of that form still shows the AMD behaviour.
 *
 * WHVEMU_SEG_SEED=<n> runs only that seed. Exit status 77 (skip) when the
 * host refuses modify_ldt.
 */
#define _GNU_SOURCE
#include <asm/ldt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "WinHvEmulation.h"
#include "fake_vmm.h"
#include "native_fault.h"
#include "test_rng.h"

#define N_ENTRIES 8
#define LDT_GVA 0x700000ull

enum { OP_MOV_DS, OP_MOV_ES, OP_MOV_SS, OP_MOV_GS, OP_LSS32, OP_LGS32, OP_LSS64, OP_LGS16,
       OP_POP_GS, OP_COUNT };
static const char *const op_name[OP_COUNT] = {"mov ds", "mov es", "mov ss", "mov gs", "lss r32",
                                              "lgs r32", "lss r64", "lgs r16", "pop gs"};
static const struct {
    uint8_t b[4];
    unsigned n;
    int sreg; /* WHV segment register index from Es */
} op_enc[OP_COUNT] = {
    {{0x8e, 0x1b}, 2, 3},             {{0x8e, 0x03}, 2, 0},
    {{0x8e, 0x13}, 2, 2},             {{0x8e, 0x2b}, 2, 5},
    {{0x0f, 0xb2, 0x03}, 3, 2},       {{0x0f, 0xb5, 0x03}, 3, 5},
    {{0x48, 0x0f, 0xb2, 0x03}, 4, 2}, {{0x66, 0x0f, 0xb5, 0x03}, 4, 5},
    {{0x0f, 0xa9}, 2, 5},
};

/* Far pointer or stack slot: offset then selector; 16 bytes. */
static uint8_t g_mem[4096] __attribute__((aligned(4096)));
static uint8_t g_altstack[65536];

struct result {
    int fault;
    unsigned trapno, err;
    uint16_t sel;
    uint64_t rax, rsp_delta;
};

static int install(unsigned idx)
{
    struct user_desc d;
    memset(&d, 0, sizeof d);
    d.entry_number = idx;
    if (chance(1, 8)) { /* an empty entry */
        d.read_exec_only = 1;
        d.seg_not_present = 1;
    } else {
        d.base_addr = (unsigned)rnd();
        d.limit = (unsigned)rndn(0x100000);
        d.seg_32bit = (unsigned)rndn(2);
        d.contents = (unsigned)rndn(4);
        d.read_exec_only = chance(1, 4);
        d.limit_in_pages = (unsigned)rndn(2);
        d.seg_not_present = chance(1, 5);
        d.useable = (unsigned)rndn(2);
    }
    return (int)syscall(SYS_modify_ldt, 0x11, &d, sizeof d);
}

static void run_native(int op, struct result *r)
{
    uint16_t sel = 0, ds0, es0, ss0, gs0;
    uint64_t rax = 0x1111222233334444ull, rsp_after = 0;
    __asm__ volatile("mov %%ds, %0; mov %%es, %1; mov %%ss, %2; mov %%gs, %3"
                     : "=r"(ds0), "=r"(es0), "=r"(ss0), "=r"(gs0));
    memset(r, 0, sizeof(*r));
    g_sig = 0;
    if (sigsetjmp(g_jb, 1)) {
        __asm__ volatile("mov %0, %%ds; mov %1, %%es; mov %2, %%gs" ::"r"(ds0), "r"(es0),
                         "r"(gs0));
        r->fault = 1;
        r->trapno = g_sig_trapno;
        r->err = g_sig_err;
        return;
    }
    void *m = g_mem;
    switch (op) {
    case OP_MOV_DS:
        __asm__ volatile("mov (%1), %%ds; mov %%ds, %0; mov %2, %%ds"
                         : "=&r"(sel) : "r"(m), "r"(ds0) : "memory");
        break;
    case OP_MOV_ES:
        __asm__ volatile("mov (%1), %%es; mov %%es, %0; mov %2, %%es"
                         : "=&r"(sel) : "r"(m), "r"(es0) : "memory");
        break;
    case OP_MOV_SS:
        __asm__ volatile("mov (%1), %%ss; mov %%ss, %0; mov %2, %%ss"
                         : "=&r"(sel) : "r"(m), "r"(ss0) : "memory");
        break;
    case OP_MOV_GS:
        __asm__ volatile("mov (%1), %%gs; mov %%gs, %0; mov %2, %%gs"
                         : "=&r"(sel) : "r"(m), "r"(gs0) : "memory");
        break;
    case OP_LSS32:
        __asm__ volatile("lss (%2), %%eax; mov %%ss, %0; mov %3, %%ss"
                         : "=&r"(sel), "+a"(rax) : "r"(m), "r"(ss0) : "memory");
        break;
    case OP_LGS32:
        __asm__ volatile("lgs (%2), %%eax; mov %%gs, %0; mov %3, %%gs"
                         : "=&r"(sel), "+a"(rax) : "r"(m), "r"(gs0) : "memory");
        break;
    case OP_LSS64:
        /* lss rax, [rbx] (REX.W: m16:64), which assemblers refuse */
        __asm__ volatile(".byte 0x48, 0x0f, 0xb2, 0x03; mov %%ss, %0; mov %3, %%ss"
                         : "=&r"(sel), "+a"(rax) : "b"(m), "r"(ss0) : "memory");
        break;
    case OP_LGS16:
        __asm__ volatile("lgs (%2), %%ax; mov %%gs, %0; mov %3, %%gs"
                         : "=&r"(sel), "+a"(rax) : "r"(m), "r"(gs0) : "memory");
        break;
    case OP_POP_GS:
        /* The stack is g_mem for the one instruction (signals use the
         * alternate stack). */
        __asm__ volatile("mov %%rsp, %%r11; mov %2, %%rsp; pop %%gs; mov %%rsp, %1;"
                         "mov %%r11, %%rsp; mov %%gs, %0; mov %3, %%gs"
                         : "=&r"(sel), "=&r"(rsp_after) : "r"(m), "r"(gs0) : "r11", "memory");
        r->rsp_delta = rsp_after - (uint64_t)(uintptr_t)m;
        break;
    }
    r->sel = sel;
    r->rax = rax;
}

static uint64_t ldt_desc(const uint8_t *ldt, unsigned bytes, uint16_t sel)
{
    uint64_t d = 0;
    if ((sel & 0xFFF8u) + 8 <= bytes)
        memcpy(&d, ldt + (sel & 0xFFF8u), 8);
    return d;
}

static unsigned g_fail, g_pass, g_refused;

static void check_case(uint64_t seed, int op, uint16_t sel, const uint8_t *ldt, unsigned bytes)
{
    struct result nat;
    run_native(op, &nat);

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
    uint64_t mem = (uint64_t)(uintptr_t)g_mem;
    fvmm_gpa_write(vm, mem, g_mem, 16);
    fvmm_set_reg64(vm, WHvX64RegisterRbx, mem);
    fvmm_set_reg64(vm, WHvX64RegisterRax, 0x1111222233334444ull);
    fvmm_set_reg64(vm, WHvX64RegisterRsp, op == OP_POP_GS ? mem : 0x8000);
    fvmm_set_reg64(vm, WHvX64RegisterRip, 0x401000);
    WHV_EMULATOR_HANDLE emu;
    if (WHvEmulatorCreateEmulator(fvmm_callbacks(), &emu) != S_OK)
        abort();
    WHV_VP_EXIT_CONTEXT vp;
    WHV_MEMORY_ACCESS_CONTEXT mc;
    WHV_EMULATOR_STATUS st;
    fvmm_mmio_exit d = {op_enc[op].b, op_enc[op].n, mem, mem, 1, 1, WHvMemoryAccessRead};
    fvmm_build_mmio_exit64(vm, &vp, &mc, &d);
    fvmm_reset_log(vm);
    HRESULT hr = WHvEmulatorTryMmioEmulation(emu, vm, &vp, &mc, &st);
    const char *why = fvmm_check_round_trip(vm, &vp, &mc, &st);
    char msg[256] = "";
    WHV_X64_PENDING_INTERRUPTION_REGISTER p = fvmm_injected(vm);
    WHV_REGISTER_VALUE sv;
    fvmm_reg_get(vm, (WHV_REGISTER_NAME)(WHvX64RegisterEs + op_enc[op].sreg), &sv);
    uint64_t dsc = ldt_desc(ldt, bytes, sel);
    if (hr != S_OK || why) {
        snprintf(msg, sizeof msg, "hr 0x%x round trip %s", (unsigned)hr, why ? why : "ok");
    } else if (st.EmulationSuccessful == 0) {
        if (!((sel & 0xFFFC) == 0 && op_enc[op].sreg == 5 && !nat.fault) && op != OP_LSS64)
            snprintf(msg, sizeof msg, "refused (status 0x%x)", st.AsUINT32);
        else
            g_refused++;
    } else if (op == OP_LSS64) {
        snprintf(msg, sizeof msg, "REX.W LSS not refused");
    } else if (nat.fault) {
        if (!p.InterruptionPending || p.InterruptionVector != nat.trapno ||
            p.ErrorCode != nat.err)
            snprintf(msg, sizeof msg, "native fault %u(0x%x), emulator %s %u(0x%x)", nat.trapno,
                     nat.err, p.InterruptionPending ? "fault" : "none",
                     p.InterruptionVector, p.ErrorCode);
    } else if (p.InterruptionPending) {
        snprintf(msg, sizeof msg, "native ok, emulator fault %u(0x%x)", p.InterruptionVector,
                 p.ErrorCode);
    } else {
        uint32_t lar = 0, lsl = 0;
        int null = (sel & 0xFFFC) == 0;
        if (!null)
            __asm__ volatile("lar %2, %0; lsl %2, %1" : "=&r"(lar), "=&r"(lsl) : "r"((uint32_t)sel) : "cc");
        uint16_t attr = (uint16_t)(((lar >> 8) & 0xFF) | ((lar >> 8) & 0xF000));
        uint64_t base = ((dsc >> 16) & 0xFFFFFF) | ((dsc >> 32) & 0xFF000000u);
        uint64_t rax = fvmm_reg64(vm, WHvX64RegisterRax);
        uint64_t rsp = fvmm_reg64(vm, WHvX64RegisterRsp);
        if (sv.Segment.Selector != nat.sel)
            snprintf(msg, sizeof msg, "selector native 0x%x emulator 0x%x", nat.sel,
                     sv.Segment.Selector);
        else if (!null && (sv.Segment.Attributes != attr || sv.Segment.Limit != lsl ||
                           sv.Segment.Base != base))
            snprintf(msg, sizeof msg,
                     "segment native attr 0x%x limit 0x%x base 0x%" PRIx64
                     ", emulator 0x%x 0x%x 0x%" PRIx64,
                     attr, lsl, base, sv.Segment.Attributes, sv.Segment.Limit, sv.Segment.Base);
        else if (rax != nat.rax)
            snprintf(msg, sizeof msg, "rax native 0x%" PRIx64 " emulator 0x%" PRIx64, nat.rax,
                     rax);
        else if (op == OP_POP_GS && rsp - mem != nat.rsp_delta)
            snprintf(msg, sizeof msg, "rsp delta native %" PRIu64 " emulator %" PRIu64,
                     nat.rsp_delta, rsp - mem);
    }
    if (msg[0]) {
        g_fail++;
        printf("FAIL seed %" PRIu64 " %s sel 0x%04x desc 0x%016" PRIx64 ": %s\n", seed,
               op_name[op], sel, dsc, msg);
    } else {
        g_pass++;
    }
    WHvEmulatorDestroyEmulator(emu);
    fvmm_destroy(vm);
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
    for (int k = 0; k < 24; k++) {
        int op = (int)rndn(OP_COUNT);
        uint16_t sel;
        if (chance(1, 10))
            sel = (uint16_t)rndn(4); /* null */
        else
            sel = (uint16_t)((rndn(N_ENTRIES + 2) << 3) | 4 |
                             (chance(3, 4) ? 3 : rndn(4)));
        uint64_t off = rnd();
        memset(g_mem, 0, 16);
        if (op == OP_POP_GS) {
            memcpy(g_mem, &sel, 2);
            memcpy(g_mem + 2, &off, 6); /* upper bytes of the popped qword */
        } else if (op <= OP_MOV_GS) {
            memcpy(g_mem, &sel, 2);
        } else {
            unsigned osz = op == OP_LSS64 ? 8 : op == OP_LGS16 ? 2 : 4;
            memcpy(g_mem, &off, osz);
            memcpy(g_mem + osz, &sel, 2);
        }
        check_case(seed, op, sel, ldt, (unsigned)bytes);
    }
}

int main(void)
{
    struct sigaction sa;
    stack_t ss = {.ss_sp = g_altstack, .ss_size = sizeof g_altstack, .ss_flags = 0};
    if (sigaltstack(&ss, NULL) != 0)
        return 77;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    struct user_desc probe;
    memset(&probe, 0, sizeof probe);
    probe.entry_number = 0;
    probe.limit = 0xFFFF;
    if (syscall(SYS_modify_ldt, 0x11, &probe, sizeof probe) != 0) {
        printf("SKIP: modify_ldt refused\n");
        return 77;
    }
    const char *s = getenv("WHVEMU_SEG_SEED");
    if (s) {
        run_seed(strtoull(s, NULL, 0));
    } else {
        for (uint64_t seed = 1; seed <= 400; seed++)
            run_seed(seed);
    }
    printf("segment loads against the host CPU: %u passed, %u failed, %u refused (null GS, REX.W LSS)\n",
           g_pass - g_refused, g_fail, g_refused);
    return g_fail ? 1 : 0;
}
