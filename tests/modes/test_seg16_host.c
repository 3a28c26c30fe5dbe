/*
 * test_seg16_host.c - the host CPU as the oracle for segment register loads
 * and far transfers from 16-bit and 32-bit code (x86-64 Linux only): MOV
 * DS/ES/SS from memory, LDS/LES/LSS with m16:16 and m16:32 far pointers
 * (LDS and LES exist only outside 64-bit mode), with 16- or 32-bit
 * addressing and ES or SS overrides, POP DS/ES/SS, PUSH
 * CS/DS/ES/SS, far JMP and CALL through m16:16 and m16:32, far RET (also
 * with imm16) and IRET, with 16- and 32-bit operand sizes and 16- or
 * 32-bit stacks, all at CPL 3 to CPL 3 (the host has no other level).
 *
 * Native side: an LDT (modify_ldt) holds a 16-bit and a 32-bit code
 * segment, two "home" data segments (32- and 16-bit stack size) over a
 * 64 KiB area at a fixed address, and random descriptors (data expand-up
 * or down, read-only or writable, code readable or not, conforming, present
 * or not, empty entries); the 16-bit stack segment's limit is, for half the
 * seeds, inside the stack page (stack accesses past it: #SS(0)). A 64-bit stub far-jumps into the case's code
 * segment, which loads SS, ESP, DS, ES, EAX and EBX (the operand's offset),
 * runs the instruction, copies SS, DS, ES and ESP into general registers,
 * reloads SS from a CS-relative slot and stores the registers through an SS
 * override, then far-jumps back. A far transfer lands on a pad (one for
 * 16-bit, one for 32-bit code segments) that stores the same registers and
 * CS, its own offset and EFLAGS. Its target is a selector of the home code
 * segments, a null one, a data one, an RPL below CPL (returns), a random
 * descriptor that faults, or a random present code segment whose base and
 * limit reach the pad; an offset past the limit (#GP(0)) one in ten times
 * with a 32-bit operand. The IRET image holds random arithmetic flags, DF,
 * IF and IOPL (the last two kept at CPL 3). A fault raises a signal whose
 * handler records the vector and error code and returns to the test.
 *
 * Emulated side: the same instruction from the same state through
 * WHvEmulatorTryMmioEmulation with the fake VMM, in compatibility mode
 * (EferLma = 1) and in legacy protected mode, CPL 3, with LDTR pointing at
 * a copy of the host's LDT. Compared: the fault (#GP, #NP, #SS) and its
 * selector error code (then nothing may change), else the selectors of
 * CS/SS/DS/ES, RIP, the attributes (LAR), limit (LSL) and base of the
 * segment register loaded (CS for a transfer), EAX, ESP, the stack and
 * operand bytes, and after IRET the flags it loads.
 *
 * Left to the CPU: see gen_case (a 16-bit far pointer wrapping at 0xFFFF)
 * and emulate (which of #GP and #SS a return raises when both are due).
 * Documented refusals accepted and counted: PUSH Sreg with a 32-bit operand
 * size, a far CALL whose new RIP and stack both fault.
 * SDM-undefined: PUSH of a segment register with a 32-bit operand size
 * writes either the zero-extended selector or only its 16 bits (recent
 * processors do the latter). The emulator refuses that form (documented);
 * the refusal is accepted and counted, and were it emulated, the two upper
 * bytes of the slot would not be compared.
 *
 * WHVEMU_SEG16_SEED=<n> runs only that seed. Exit status 77 (skip) when the
 * host cannot map the fixed area or refuses modify_ldt.
 */
#define _GNU_SOURCE
#include <asm/ldt.h>
#include <inttypes.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "WinHvEmulation.h"
#include "whvemu.h"
#include "fake_vmm.h"
#include "native_fault.h"
#include "test_rng.h"

#define AREA 0x30000000u /* base of the code and home data segments */
#define AREA_SIZE 0x10000u
#define OFF_RET64 0x0100u   /* 64-bit return stub */
#define OFF_CODE 0x0200u    /* the case's code */
#define OFF_LAND16 0x0800u  /* landing pads of far transfers: 16-bit code */
#define OFF_LAND32 0x0900u  /* 32-bit code */
#define OFF_FLSTACK 0x1F00u /* where the stores' PUSHFD writes */
#define OFF_STATE 0x1000u   /* state block */
#define OFF_OPND 0x2000u    /* memory operand */
#define OFF_STACK 0x3000u   /* stack page */
#define STACK_BYTES 0x1000u
#define LDT_GVA 0x700000ull /* the LDT copy in the fake VMM */
#define USER_CS64 0x33
#define USER_DS64 0x2b

#define IDX_CODE16 0
#define IDX_CODE32 1
#define IDX_HOME32 2 /* B = 1 */
#define IDX_HOME16 3 /* B = 0 */
#define IDX_RAND 4
#define N_RAND 8
#define SEL(i) ((uint16_t)(((i) << 3) | 7))

typedef struct state {
    uint32_t far_enter[2]; /* offset, selector */
    uint32_t far_ret[2];
    uint64_t c_rsp;
    uint16_t ss_sel, home_sel;
    uint32_t in_esp, in_eax;
    uint32_t out_eax, out_ss, out_ds, out_es, out_esp, out_cs, out_efl, out_eip;
} state;

#define ST ((state *)(uintptr_t)(AREA + OFF_STATE))
#define ST_OFF(f) ((uint32_t)(OFF_STATE + offsetof(state, f)))

enum { OP_MOV_DS, OP_MOV_ES, OP_MOV_SS, OP_LDS, OP_LES, OP_LSS, OP_POP_DS, OP_POP_ES,
       OP_POP_SS, OP_PUSH_CS, OP_PUSH_DS, OP_PUSH_ES, OP_PUSH_SS, OP_JMPF, OP_CALLF, OP_RETF,
       OP_RETF_IMM, OP_IRET, OP_COUNT };
static const char *const op_name[OP_COUNT] = {"mov ds", "mov es", "mov ss", "lds", "les", "lss",
                                              "pop ds", "pop es", "pop ss", "push cs",
                                              "push ds", "push es", "push ss", "jmp far",
                                              "call far", "retf", "retf imm", "iret"};
/* The segment register written (WHV order: ES CS SS DS FS GS), -1 for none. */
static const int op_sreg[OP_COUNT] = {3, 0, 2, 3, 0, 2, 3, 0, 2, -1, -1, -1, -1, 1, 1, 1, 1, 1};

static uint8_t *g_area;
static uint8_t g_altstack[65536];

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

static int g_m16;

/* op reg, [seg: abs offset] with the mode's address size */
static void abs_op(abuf *b, int opsz32, unsigned seg_pfx, unsigned opc, unsigned reg, uint32_t off)
{
    if (opsz32 && g_m16)
        e8(b, 0x66);
    if (seg_pfx)
        e8(b, seg_pfx);
    e8(b, opc);
    if (g_m16) {
        e8(b, (reg << 3) | 6);
        e8(b, off & 0xFF);
        e8(b, (off >> 8) & 0xFF);
    } else {
        e8(b, (reg << 3) | 5);
        e32(b, off);
    }
}

static void build_stubs(void)
{
    abuf b = {g_area, 0};
    /* enter: push the callee-saved registers, save RSP, jump far */
    static const uint8_t push[] = {0x53, 0x55, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56, 0x41, 0x57};
    for (size_t i = 0; i < sizeof push; i++)
        e8(&b, push[i]);
    e8(&b, 0xB8);
    e32(&b, AREA + OFF_STATE); /* mov eax, state */
    e8(&b, 0x48);
    e8(&b, 0x89);
    e8(&b, 0x60);
    e8(&b, (uint8_t)offsetof(state, c_rsp)); /* mov [rax+c_rsp], rsp */
    e8(&b, 0xFF);
    e8(&b, 0x68);
    e8(&b, (uint8_t)offsetof(state, far_enter)); /* jmp far m16:32 [rax+far_enter] */

    b.n = OFF_RET64;
    e8(&b, 0xB8);
    e32(&b, USER_DS64);
    e8(&b, 0x8E);
    e8(&b, 0xD0); /* mov ss, eax */
    e8(&b, 0x31);
    e8(&b, 0xC0);
    e8(&b, 0x8E);
    e8(&b, 0xD8);
    e8(&b, 0x8E);
    e8(&b, 0xC0); /* ds = es = 0 */
    e8(&b, 0xFC); /* cld: an IRET may have set DF */
    e8(&b, 0xB8);
    e32(&b, AREA + OFF_STATE);
    e8(&b, 0x48);
    e8(&b, 0x8B);
    e8(&b, 0x60);
    e8(&b, (uint8_t)offsetof(state, c_rsp)); /* mov rsp, [rax+c_rsp] */
    static const uint8_t pop[] = {0x41, 0x5F, 0x41, 0x5E, 0x41, 0x5D, 0x41, 0x5C, 0x5D, 0x5B, 0xC3};
    for (size_t i = 0; i < sizeof pop; i++)
        e8(&b, pop[i]);
}

/* After the instruction (or at a landing pad): SS, DS, ES, CS and ESP into
 * general registers, SS from a CS-relative slot, the stores through SS,
 * EFLAGS through a PUSHFD on a spare stack, the far jump back. */
static void build_post(abuf *b)
{
    uint32_t eip = (uint32_t)(b->p - g_area) + (uint32_t)b->n;
    static const uint8_t cp[] = {0x8C, 0xD1, 0x8C, 0xDA, 0x8C, 0xC6, 0x8C, 0xCD};
    for (size_t i = 0; i < sizeof cp; i++) /* ecx=ss edx=ds esi=es ebp=cs */
        e8(b, cp[i]);
    if (g_m16)
        e8(b, 0x66);
    e8(b, 0x89);
    e8(b, 0xE7);                                   /* mov edi, esp */
    abs_op(b, 0, 0x2E, 0x8E, 2, ST_OFF(home_sel)); /* mov ss, cs:[home_sel] */
    abs_op(b, 1, 0x36, 0x89, 0, ST_OFF(out_eax));
    abs_op(b, 1, 0x36, 0x89, 1, ST_OFF(out_ss));
    abs_op(b, 1, 0x36, 0x89, 2, ST_OFF(out_ds));
    abs_op(b, 1, 0x36, 0x89, 6, ST_OFF(out_es));
    abs_op(b, 1, 0x36, 0x89, 7, ST_OFF(out_esp));
    abs_op(b, 1, 0x36, 0x89, 5, ST_OFF(out_cs));
    abs_op(b, 1, 0x36, 0xC7, 0, ST_OFF(out_eip)); /* mov dword ss:[out_eip], imm32 */
    e32(b, eip);
    if (g_m16)
        e8(b, 0x66);
    e8(b, 0xBC);
    e32(b, OFF_FLSTACK); /* mov esp, spare */
    if (g_m16)
        e8(b, 0x66);
    e8(b, 0x9C);                                   /* pushfd */
    abs_op(b, 1, 0x36, 0x8F, 0, ST_OFF(out_efl));  /* pop dword ss:[out_efl] */
    abs_op(b, 1, 0x36, 0xFF, 5, ST_OFF(far_ret)); /* jmp far m16:32 ss:[far_ret] */
}

/* The case's code; returns the offset of the instruction. */
static uint32_t build_case(int m16, const uint8_t *insn, unsigned len, uint32_t opoff)
{
    abuf b = {g_area + OFF_CODE, 0};
    g_m16 = m16;
    abs_op(&b, 0, 0x2E, 0x8E, 2, ST_OFF(ss_sel));   /* mov ss, cs:[ss_sel] */
    abs_op(&b, 1, 0x2E, 0x8B, 4, ST_OFF(in_esp));   /* mov esp, cs:[in_esp] */
    abs_op(&b, 0, 0x2E, 0x8E, 3, ST_OFF(home_sel)); /* mov ds, cs:[home_sel] */
    abs_op(&b, 0, 0x2E, 0x8E, 0, ST_OFF(home_sel)); /* mov es, cs:[home_sel] */
    abs_op(&b, 1, 0x2E, 0x8B, 0, ST_OFF(in_eax));   /* mov eax, cs:[in_eax] */
    if (m16)
        e8(&b, 0x66);
    e8(&b, 0xBB);
    e32(&b, opoff); /* mov ebx, operand */
    uint32_t at = OFF_CODE + (uint32_t)b.n;
    for (unsigned i = 0; i < len; i++)
        e8(&b, insn[i]);
    build_post(&b);
    return at;
}

static int set_ldt(unsigned idx, uint32_t base, uint32_t lim, int big, unsigned contents, int ro,
                   int g, int np, int avl)
{
    struct user_desc d;
    memset(&d, 0, sizeof d);
    d.entry_number = idx;
    d.base_addr = base;
    d.limit = lim;
    d.seg_32bit = (unsigned)big;
    d.contents = contents;
    d.read_exec_only = (unsigned)ro;
    d.limit_in_pages = (unsigned)g;
    d.seg_not_present = (unsigned)np;
    d.useable = (unsigned)avl;
    return (int)syscall(SYS_modify_ldt, 0x11, &d, sizeof d);
}

static void install_random(unsigned idx)
{
    if (chance(1, 8)) { /* empty */
        set_ldt(idx, 0, 0, 0, 0, 1, 0, 1, 0);
        return;
    }
    /* one draw per statement: the same descriptors whatever the compiler */
    uint32_t base = chance(1, 2) ? AREA : (uint32_t)rnd();
    uint32_t lim = (uint32_t)rndn(0x100000);
    int big = (int)rndn(2);
    unsigned contents = (unsigned)rndn(4);
    int ro = chance(1, 4), g = (int)rndn(2);
    int np = chance(1, 5), avl = (int)rndn(2);
    set_ldt(idx, base, lim, big, contents, ro, g, np, avl);
}

typedef struct ncase {
    int op, m16, o32, ss16, a32;
    uint8_t insn[8];
    unsigned len;
    uint16_t sel;
    uint32_t esp, eax;
    uint32_t at;
    uint32_t toff; /* far transfers: the target offset */
    uint32_t opreg, opoff; /* the 16 operand bytes' offset; the operand's */
    uint8_t opnd[16];
    uint8_t stack[STACK_BYTES];
} ncase;

typedef struct nresult {
    int fault;
    unsigned trapno, err;
    uint32_t eax, ss, ds, es, esp, cs, efl, eip;
    uint8_t opnd[16];
    uint8_t stack[STACK_BYTES];
} nresult;

static void run_native(const ncase *c, nresult *r)
{
    memset(r, 0, sizeof *r);
    state *st = ST;
    st->far_enter[0] = OFF_CODE;
    st->far_enter[1] = SEL(c->m16 ? IDX_CODE16 : IDX_CODE32);
    st->far_ret[0] = AREA + OFF_RET64;
    st->far_ret[1] = USER_CS64;
    st->ss_sel = SEL(c->ss16 ? IDX_HOME16 : IDX_HOME32);
    st->home_sel = SEL(IDX_HOME32);
    st->in_esp = c->esp;
    st->in_eax = c->eax;
    memcpy(g_area + c->opreg, c->opnd, sizeof c->opnd);
    memcpy(g_area + OFF_STACK, c->stack, STACK_BYTES);
    g_sig = 0;
    if (sigsetjmp(g_jb, 1)) {
        __asm__ volatile("mov %0, %%ds; mov %0, %%es" ::"r"(0u));
        r->fault = 1;
        r->trapno = g_sig_trapno;
        r->err = g_sig_err;
    } else {
        void (*enter)(void) = (void (*)(void))(uintptr_t)AREA;
        enter();
        r->eax = st->out_eax;
        r->ss = st->out_ss & 0xFFFF;
        r->ds = st->out_ds & 0xFFFF;
        r->es = st->out_es & 0xFFFF;
        r->esp = st->out_esp;
        r->cs = st->out_cs & 0xFFFF;
        r->efl = st->out_efl;
        r->eip = st->out_eip;
    }
    memcpy(r->opnd, g_area + c->opreg, sizeof r->opnd);
    memcpy(r->stack, g_area + OFF_STACK, STACK_BYTES);
}

static uint64_t ldt_desc(const uint8_t *ldt, unsigned bytes, uint16_t sel)
{
    uint64_t d = 0;
    if ((sel & 0xFFF8u) + 8 <= bytes)
        memcpy(&d, ldt + (sel & 0xFFF8u), 8);
    return d;
}

static unsigned g_fail, g_pass, g_faults, g_refused, g_prio;
static unsigned g_ran[OP_COUNT][2];
static unsigned g_vec[3]; /* native #NP, #SS, #GP */ /* native runs per form: completed, faulted */

static uint32_t g_home16_lim; /* this seed's limit of the 16-bit stack segment */

static WHV_X64_SEGMENT_REGISTER seg(uint16_t sel, int big, int code)
{
    WHV_X64_SEGMENT_REGISTER s;
    memset(&s, 0, sizeof s);
    s.Selector = sel;
    s.Base = AREA;
    s.Limit = sel == SEL(IDX_HOME16) ? g_home16_lim : 0xFFFF;
    s.Attributes = (uint16_t)((code ? 0xFB : 0xF3) | (big ? 0x4000 : 0));
    return s;
}

static uint16_t sreg_sel(fake_vmm *vm, int s)
{
    WHV_REGISTER_VALUE v;
    fvmm_reg_get(vm, (WHV_REGISTER_NAME)(WHvX64RegisterEs + s), &v);
    return v.Segment.Selector;
}

/* Emulates the case; returns 0 and a message in msg on a mismatch. */
static int emulate(const ncase *c, const nresult *nat, int lma, const uint8_t *ldt,
                   unsigned bytes, char *msg, size_t msz)
{
    fake_vmm *vm = fvmm_create();
    fvmm_setup_long_mode(vm, 3);
    WHV_REGISTER_VALUE v;
    memset(&v, 0, sizeof v);
    v.Segment.Selector = 0x50;
    v.Segment.Base = LDT_GVA;
    v.Segment.Limit = bytes - 1;
    v.Segment.Attributes = 0x0082;
    fvmm_reg_set(vm, WHvX64RegisterLdtr, &v);
    fvmm_gpa_write(vm, LDT_GVA, ldt, bytes);
    fvmm_gpa_write(vm, AREA + c->opreg, c->opnd, sizeof c->opnd);
    fvmm_gpa_write(vm, AREA + OFF_STACK, c->stack, STACK_BYTES);
    fvmm_gpa_write(vm, AREA + c->at, c->insn, c->len);
    fvmm_set_reg64(vm, WHvX64RegisterRax, c->eax);
    fvmm_set_reg64(vm, WHvX64RegisterRbx, c->opoff);
    fvmm_set_reg64(vm, WHvX64RegisterRsp, c->esp);
    fvmm_set_reg64(vm, WHvX64RegisterRip, c->at);
    fvmm_set_reg64(vm, WHvX64RegisterRflags, 0x202);
    WHV_X64_SEGMENT_REGISTER cs = seg(SEL(c->m16 ? IDX_CODE16 : IDX_CODE32), !c->m16, 1);
    memset(&v, 0, sizeof v);
    v.Segment = cs;
    fvmm_reg_set(vm, WHvX64RegisterCs, &v);
    v.Segment = seg(SEL(c->ss16 ? IDX_HOME16 : IDX_HOME32), !c->ss16, 0);
    fvmm_reg_set(vm, WHvX64RegisterSs, &v);
    v.Segment = seg(SEL(IDX_HOME32), 1, 0);
    fvmm_reg_set(vm, WHvX64RegisterDs, &v);
    fvmm_reg_set(vm, WHvX64RegisterEs, &v);
    if (!lma) {
        fvmm_set_reg64(vm, WHvX64RegisterEfer, 0);
        fvmm_set_reg64(vm, WHvX64RegisterCr4, fvmm_reg64(vm, WHvX64RegisterCr4) & ~0x20ull);
    }
    WHV_VP_EXIT_CONTEXT vp;
    memset(&vp, 0, sizeof vp);
    vp.ExecutionState.Cpl = 3;
    vp.ExecutionState.Cr0Pe = 1;
    vp.ExecutionState.Cr0Am = 1;
    vp.ExecutionState.EferLma = (UINT16)lma;
    vp.InstructionLength = (UINT8)c->len;
    vp.Cs = cs;
    vp.Rip = c->at;
    vp.Rflags = 0x202;
    int op = c->op, push = op >= OP_PUSH_CS && op <= OP_CALLF && op != OP_JMPF,
        pop = (op >= OP_POP_DS && op <= OP_POP_SS) || op >= OP_RETF;
    unsigned osz = c->o32 ? 4 : 2;
    uint32_t spmask = c->ss16 ? 0xFFFFu : 0xFFFFFFFFu;
    int wr = push && op != OP_CALLF; /* CALL reads its pointer first */
    uint64_t gva = AREA + (wr ? ((c->esp - osz) & spmask) : pop ? c->esp & spmask : c->opoff);
    /* One exit in eight carries fewer bytes: the rest is fetched. */
    unsigned count = chance(1, 8) ? (unsigned)rndn(c->len) : c->len;
    fvmm_mmio_exit d = {c->insn, count, gva, gva, 1, 1,
                        wr ? WHvMemoryAccessWrite : WHvMemoryAccessRead};
    WHV_MEMORY_ACCESS_CONTEXT mc;
    fvmm_build_mmio(&mc, &d);
    WHV_EMULATOR_HANDLE emu;
    if (WHvEmulatorCreateEmulator(fvmm_callbacks(), &emu) != S_OK)
        abort();
    fvmm_reset_log(vm);
    WHV_EMULATOR_STATUS st;
    st.AsUINT32 = 0;
    HRESULT hr = WHvEmulatorTryMmioEmulation(emu, vm, &vp, &mc, &st);
    const char *why = fvmm_check_round_trip(vm, &vp, &mc, &st);
    WHV_X64_PENDING_INTERRUPTION_REGISTER p = fvmm_injected(vm);
    uint64_t rsp = fvmm_reg64(vm, WHvX64RegisterRsp), rip = fvmm_reg64(vm, WHvX64RegisterRip);
    uint64_t rax = fvmm_reg64(vm, WHvX64RegisterRax);
    uint8_t opnd[16], stack[STACK_BYTES];
    fvmm_gpa_read(vm, AREA + c->opreg, opnd, sizeof opnd);
    fvmm_gpa_read(vm, AREA + OFF_STACK, stack, STACK_BYTES);
    msg[0] = 0;
    if (hr != S_OK || why) {
        snprintf(msg, msz, "hr 0x%x round trip %s", (unsigned)hr, why ? why : "ok");
    } else if (!st.EmulationSuccessful) {
        const char *lf = whvemu_last_failure(emu);
        if ((push && op != OP_CALLF && osz == 4 && strstr(lf, "PUSH Sreg")) ||
            (op == OP_CALLF && nat->fault && strstr(lf, "new RIP and stack both fault"))) {
            g_refused++; /* documented: the processors differ */
            WHvEmulatorDestroyEmulator(emu);
            fvmm_destroy(vm);
            return 1;
        }
        snprintf(msg, msz, "refused (status 0x%x): %s", st.AsUINT32, whvemu_last_failure(emu));
    } else if (nat->fault && op >= OP_RETF && (c->sel & 3) != 3 && nat->trapno == 12 &&
               nat->err == 0 && p.InterruptionPending && p.InterruptionVector == 13 &&
               p.ErrorCode == (c->sel & 0xFFFCu)) {
        /* Left to the CPU: a return to a selector whose RPL is below CPL
         * (or null) with the slots of an outer return's SS:ESP past the
         * stack limit. The SDM checks the RPL (#GP) first; the AMD host
         * reads those slots first (#SS(0)). */
        g_prio++;
    } else if (nat->fault) {
        if (!p.InterruptionPending || p.InterruptionVector != nat->trapno ||
            p.ErrorCode != nat->err)
            snprintf(msg, msz, "native fault %u(0x%x), emulator %s %u(0x%x)", nat->trapno,
                     nat->err, p.InterruptionPending ? "fault" : "none", p.InterruptionVector,
                     p.ErrorCode);
        else if (rip != c->at || rsp != c->esp || rax != c->eax ||
                 sreg_sel(vm, 2) != SEL(c->ss16 ? IDX_HOME16 : IDX_HOME32) ||
                 sreg_sel(vm, 3) != SEL(IDX_HOME32) || sreg_sel(vm, 0) != SEL(IDX_HOME32) ||
                 memcmp(stack, c->stack, STACK_BYTES) != 0)
            snprintf(msg, msz, "state changed on the fault");
    } else if (p.InterruptionPending) {
        snprintf(msg, msz, "native ok, emulator fault %u(0x%x)", p.InterruptionVector,
                 p.ErrorCode);
    } else {
        uint16_t ss = sreg_sel(vm, 2), ds = sreg_sel(vm, 3), es = sreg_sel(vm, 0);
        uint8_t nstack[STACK_BYTES];
        memcpy(nstack, nat->stack, STACK_BYTES);
        if (push && op != OP_CALLF && osz == 4) { /* the upper half of the slot is undefined */
            uint32_t at = ((c->esp - 4) & spmask) - OFF_STACK;
            if (at + 4 <= STACK_BYTES) {
                nstack[at + 2] = stack[at + 2];
                nstack[at + 3] = stack[at + 3];
            }
        }
        if (ss != nat->ss || ds != nat->ds || es != nat->es)
            snprintf(msg, msz, "selectors ss/ds/es native %04x %04x %04x, emulator %04x %04x %04x",
                     nat->ss, nat->ds, nat->es, ss, ds, es);
        else if (sreg_sel(vm, 1) != nat->cs || rip != nat->eip)
            snprintf(msg, msz, "cs:eip native %04x:%x, emulator %04x:%" PRIx64, nat->cs,
                     nat->eip, sreg_sel(vm, 1), rip);
        else if (op == OP_IRET &&
                 ((fvmm_reg64(vm, WHvX64RegisterRflags) ^ nat->efl) & 0x3FD5u) != 0)
            snprintf(msg, msz, "eflags native 0x%x, emulator 0x%" PRIx64, nat->efl,
                     fvmm_reg64(vm, WHvX64RegisterRflags));
        else if ((uint32_t)rax != nat->eax || (uint32_t)rsp != nat->esp)
            snprintf(msg, msz, "eax/esp native 0x%x 0x%x, emulator 0x%" PRIx64 " 0x%" PRIx64,
                     nat->eax, nat->esp, rax, rsp);
        else if (memcmp(opnd, nat->opnd, sizeof opnd) != 0 ||
                 memcmp(stack, nstack, STACK_BYTES) != 0)
            snprintf(msg, msz, "memory differs");
        else if (op_sreg[op] >= 0 && (c->sel & 0xFFFC) != 0) {
            WHV_REGISTER_VALUE sv;
            fvmm_reg_get(vm, (WHV_REGISTER_NAME)(WHvX64RegisterEs + op_sreg[op]), &sv);
            uint32_t lar = 0, lsl = 0, sel = op_sreg[op] == 1 ? nat->cs : c->sel;
            __asm__ volatile("lar %2, %0; lsl %2, %1" : "=&r"(lar), "=&r"(lsl) : "r"(sel) : "cc");
            uint16_t attr = (uint16_t)(((lar >> 8) & 0xFF) | ((lar >> 8) & 0xF000));
            uint64_t dsc = ldt_desc(ldt, bytes, c->sel);
            uint64_t base = ((dsc >> 16) & 0xFFFFFF) | ((dsc >> 32) & 0xFF000000u);
            if (sv.Segment.Attributes != attr || sv.Segment.Limit != lsl ||
                sv.Segment.Base != base)
                snprintf(msg, msz,
                         "segment native attr 0x%x limit 0x%x base 0x%" PRIx64
                         ", emulator 0x%x 0x%x 0x%" PRIx64,
                         attr, lsl, base, sv.Segment.Attributes, sv.Segment.Limit,
                         sv.Segment.Base);
        }
    }
    WHvEmulatorDestroyEmulator(emu);
    fvmm_destroy(vm);
    return msg[0] == 0;
}

static uint32_t desc_limit(uint64_t d)
{
    uint32_t lim = (uint32_t)(d & 0xFFFF) | (uint32_t)((d >> 32) & 0xF0000);
    return (d >> 55) & 1 ? (lim << 12) | 0xFFF : lim;
}

/* A far transfer's target selector and offset: the landing pad of the
 * target's default size when the transfer can succeed; a present code
 * segment that would land anywhere else is not used. */
static void pick_target(ncase *c, const uint8_t *ldt, unsigned bytes)
{
    unsigned r = (unsigned)rndn(10);
    int rpl_any = c->op >= OP_RETF;
    if (r == 0)
        c->sel = (uint16_t)rndn(4);
    else if (r == 1)
        c->sel = SEL(IDX_HOME32);
    else if (r <= 5)
        c->sel = SEL(rndn(2) ? IDX_CODE16 : IDX_CODE32);
    else {
        c->sel = (uint16_t)(((IDX_RAND + rndn(N_RAND + 2)) << 3) | 7);
        uint64_t d = ldt_desc(ldt, bytes, c->sel);
        int code = ((d >> 43) & 3) == 3 && ((d >> 47) & 1); /* S, code, present */
        uint32_t base = (uint32_t)(((d >> 16) & 0xFFFFFF) | ((d >> 32) & 0xFF000000u));
        if (code && (base != AREA || !((d >> 41) & 1) || desc_limit(d) < OFF_LAND32 + 0xFF))
            c->sel = SEL(rndn(2) ? IDX_CODE16 : IDX_CODE32);
    }
    if (r && rpl_any && chance(1, 4))
        c->sel = (uint16_t)((c->sel & ~3u) | rndn(3)); /* RPL below CPL */
    uint64_t d = ldt_desc(ldt, bytes, c->sel);
    c->toff = (d >> 54) & 1 ? OFF_LAND32 : OFF_LAND16;
    if (c->o32 && chance(1, 10) && ((c->sel >> 3) == IDX_CODE16 || (c->sel >> 3) == IDX_CODE32))
        c->toff = 0x10000u | (uint32_t)rndn(0x10000); /* past the limit: #GP(0) */
}

/* Bytes of the memory operand, those past the 16 bytes (past the limit)
 * dropped. */
static void put_opnd(ncase *c, unsigned at, const void *src, unsigned n)
{
    for (unsigned i = 0; i < n && at + i < sizeof c->opnd; i++)
        c->opnd[at + i] = ((const uint8_t *)src)[i];
}

static void gen_case(ncase *c, const uint8_t *ldt, unsigned bytes)
{
    memset(c, 0, sizeof *c);
    c->op = (int)rndn(OP_COUNT);
    c->m16 = (int)rndn(2);
    c->o32 = (int)rndn(2);
    c->ss16 = (int)rndn(2);
    if (c->o32 == c->m16)
        c->insn[c->len++] = 0x66;
    /* Memory operands: the other address size one time in four (67), an ES
     * or SS override one time in three each (SS: #SS(0) past its limit). */
    int mem = c->op <= OP_LSS || c->op == OP_JMPF || c->op == OP_CALLF;
    c->a32 = !c->m16;
    if (mem && chance(1, 4)) {
        c->a32 = !c->a32;
        c->insn[c->len++] = 0x67;
    }
    if (mem && chance(2, 3))
        c->insn[c->len++] = chance(1, 2) ? 0x26 : 0x36;
    unsigned rm = c->a32 ? 3 : 7; /* [ebx] / [bx] */
    static const uint8_t sreg_enc[3] = {3, 0, 2};
    static const uint8_t popc[3] = {0x1F, 0x07, 0x17};
    static const uint8_t pushc[4] = {0x0E, 0x1E, 0x06, 0x16};
    switch (c->op) {
    case OP_MOV_DS: case OP_MOV_ES: case OP_MOV_SS:
        c->insn[c->len++] = 0x8E;
        c->insn[c->len++] = (uint8_t)((sreg_enc[c->op - OP_MOV_DS] << 3) | rm);
        break;
    case OP_LDS: case OP_LES:
        c->insn[c->len++] = c->op == OP_LDS ? 0xC5 : 0xC4;
        c->insn[c->len++] = (uint8_t)rm;
        break;
    case OP_LSS:
        c->insn[c->len++] = 0x0F;
        c->insn[c->len++] = 0xB2;
        c->insn[c->len++] = (uint8_t)rm;
        break;
    case OP_POP_DS: case OP_POP_ES: case OP_POP_SS:
        c->insn[c->len++] = popc[c->op - OP_POP_DS];
        break;
    case OP_PUSH_CS: case OP_PUSH_DS: case OP_PUSH_ES: case OP_PUSH_SS:
        c->insn[c->len++] = pushc[c->op - OP_PUSH_CS];
        break;
    case OP_JMPF: case OP_CALLF:
        c->insn[c->len++] = 0xFF;
        c->insn[c->len++] = (uint8_t)(((c->op == OP_JMPF ? 5u : 3u) << 3) | rm);
        break;
    case OP_RETF:
        c->insn[c->len++] = 0xCB;
        break;
    case OP_RETF_IMM:
        c->insn[c->len++] = 0xCA;
        c->insn[c->len++] = (uint8_t)(2 * rndn(0x20));
        c->insn[c->len++] = 0;
        break;
    default:
        c->insn[c->len++] = 0xCF;
        break;
    }
    unsigned r = (unsigned)rndn(10);
    if (r == 0)
        c->sel = (uint16_t)rndn(4); /* null */
    else if (r <= 3)
        c->sel = SEL(rndn(2) ? IDX_HOME16 : IDX_HOME32);
    else
        c->sel = (uint16_t)(((IDX_RAND + rndn(N_RAND + 2)) << 3) | 4);
    if (r)
        c->sel |= (uint16_t)(chance(3, 4) ? 3 : rndn(4));
    c->eax = (uint32_t)rnd();
    c->esp = 0x3400 + 2 * (uint32_t)rndn(0x400);
    if (c->ss16) /* a 16-bit stack uses SP and keeps the upper half of ESP */
        c->esp |= (uint32_t)rnd() & 0xFFFF0000u;
    for (unsigned i = 0; i < STACK_BYTES; i += 8) {
        uint64_t x = rnd();
        memcpy(c->stack + i, &x, 8);
    }
    for (unsigned i = 0; i < 16; i += 8) {
        uint64_t x = rnd();
        memcpy(c->opnd + i, &x, 8);
    }
    /* One memory operand in six ends at or crosses DS's limit (0xFFFF). */
    c->opreg = c->opoff = OFF_OPND;
    if (chance(1, 6)) {
        c->opreg = 0xFFF0;
        c->opoff = 0xFFF8 + (uint32_t)rndn(8);
    }
    unsigned osz = c->o32 ? 4 : 2;
    int farptr = c->op == OP_LDS || c->op == OP_LES || c->op == OP_LSS || c->op == OP_JMPF ||
                 c->op == OP_CALLF;
    /* Left to the CPU: a far pointer whose selector starts at offset 0x10000
     * with a 16-bit address size. The SDM does not say whether the pointer
     * is one access (#GP(0) past the limit) or two, each at a 16-bit
     * offset: the AMD host reads the selector at offset 0 then. */
    if (!c->a32 && farptr && c->opoff + osz == 0x10000)
        c->opoff--;
    unsigned at = c->opoff - c->opreg;
    if (c->op >= OP_POP_DS && c->op <= OP_POP_SS)
        memcpy(c->stack + ((c->esp & 0xFFFF) - OFF_STACK), &c->sel, 2);
    else if (c->op <= OP_MOV_SS)
        put_opnd(c, at, &c->sel, 2);
    else if (c->op <= OP_LSS)
        put_opnd(c, at + osz, &c->sel, 2);
    if (c->op < OP_JMPF)
        return;
    pick_target(c, ldt, bytes);
    if (c->op <= OP_CALLF) {
        put_opnd(c, at, &c->toff, osz);
        put_opnd(c, at + osz, &c->sel, 2);
        return;
    }
    uint8_t *fr = c->stack + ((c->esp & 0xFFFF) - OFF_STACK);
    memcpy(fr, &c->toff, osz);
    memcpy(fr + osz, &c->sel, 2);
    if (c->op == OP_IRET) { /* arithmetic flags and DF; IF and IOPL (kept at CPL 3) */
        uint32_t fl = ((uint32_t)rnd() & 0x3ED5u) | 2u;
        memcpy(fr + 2 * osz, &fl, osz);
    }
}

static void run_seed(uint64_t seed)
{
    rng_seed(seed);
    /* Half the seeds: a 16-bit stack segment whose limit the stack
     * accesses may cross (#SS(0)). */
    g_home16_lim = chance(1, 2) ? 0xFFFF : 0x3400 + (uint32_t)rndn(0x800);
    if (set_ldt(IDX_HOME16, AREA, g_home16_lim, 0, 0, 0, 0, 0, 0) != 0)
        abort();
    for (unsigned i = 0; i < N_RAND; i++)
        install_random(IDX_RAND + i);
    uint8_t ldt[(IDX_RAND + N_RAND) * 8 + 64];
    memset(ldt, 0, sizeof ldt);
    long bytes = syscall(SYS_modify_ldt, 0, ldt, sizeof ldt);
    if (bytes < 8)
        return;
    for (int k = 0; k < 24; k++) {
        ncase c;
        nresult nat;
        gen_case(&c, ldt, (unsigned)bytes);
        c.at = build_case(c.m16, c.insn, c.len, c.opoff);
        run_native(&c, &nat);
        g_faults += (unsigned)nat.fault;
        g_ran[c.op][nat.fault]++;
        if (nat.fault && nat.trapno >= 11 && nat.trapno <= 13)
            g_vec[nat.trapno - 11]++;
        for (int lma = 0; lma < 2; lma++) {
            char msg[256];
            if (emulate(&c, &nat, lma, ldt, (unsigned)bytes, msg, sizeof msg)) {
                g_pass++;
                continue;
            }
            g_fail++;
            printf("FAIL seed %" PRIu64 " %s %s%s o%d ss%s sel 0x%04x desc 0x%016" PRIx64
                   " esp 0x%x ss16 limit 0x%x insn %02x %02x %02x %02x: %s\n",
                   seed, c.m16 ? "code16" : "code32", lma ? "compat " : "prot ", op_name[c.op],
                   c.o32 ? 32 : 16, c.ss16 ? "16" : "32", c.sel,
                   ldt_desc(ldt, (unsigned)bytes, c.sel), c.esp, g_home16_lim, c.insn[0],
                   c.insn[1], c.insn[2], c.insn[3], msg);
        }
    }
}

int main(void)
{
    struct sigaction sa;
    stack_t ss = {.ss_sp = g_altstack, .ss_size = sizeof g_altstack, .ss_flags = 0};
    if (sigaltstack(&ss, NULL) != 0)
        return 77;
    g_area = mmap((void *)(uintptr_t)AREA, AREA_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (g_area != (uint8_t *)(uintptr_t)AREA) {
        printf("SKIP: cannot map the area\n");
        return 77;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    if (set_ldt(IDX_CODE16, AREA, 0xFFFF, 0, 2, 0, 0, 0, 0) != 0 ||
        set_ldt(IDX_CODE32, AREA, 0xFFFF, 1, 2, 0, 0, 0, 0) != 0 ||
        set_ldt(IDX_HOME32, AREA, 0xFFFF, 1, 0, 0, 0, 0, 0) != 0 ||
        set_ldt(IDX_HOME16, AREA, 0xFFFF, 0, 0, 0, 0, 0, 0) != 0) {
        printf("SKIP: modify_ldt refused\n");
        return 77;
    }
    build_stubs();
    abuf pad = {g_area + OFF_LAND16, 0};
    g_m16 = 1;
    build_post(&pad);
    pad = (abuf){g_area + OFF_LAND32, 0};
    g_m16 = 0;
    build_post(&pad);
    const char *s = getenv("WHVEMU_SEG16_SEED");
    if (s) {
        run_seed(strtoull(s, NULL, 0));
    } else {
        for (uint64_t seed = 1; seed <= 300; seed++)
            run_seed(seed);
    }
    printf("16/32-bit segment loads against the host CPU: %u passed (%u native faults), %u failed,"
           " %u refused (PUSH Sreg with a 32-bit operand size, CALL whose RIP and stack both"
           " fault), %u returns with #GP and #SS both due (vendor order)\n",
           g_pass - g_refused, g_faults, g_fail, g_refused, g_prio);
    printf("native faults: #NP %u, #SS %u, #GP %u\n", g_vec[0], g_vec[1], g_vec[2]);
    for (int op = 0; op < OP_COUNT; op++)
        printf("  %-9s %4u completed, %4u faulted natively\n", op_name[op], g_ran[op][0],
               g_ran[op][1]);
    return g_fail ? 1 : 0;
}
