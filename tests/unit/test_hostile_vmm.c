/*
 * test_hostile_vmm.c - a VMM whose callbacks misbehave. For every callback
 * kind (port, memory, translate, get and set registers), at every position
 * that kind is called in a set of representative emulations, each of these
 * answers:
 *   - failure HRESULTs (E_FAIL, E_INVALIDARG, 0x80370309) and positive
 *     non-S_OK values (S_FALSE, 2, 0x7FFFFFFF), before and after doing the
 *     work;
 *   - S_OK with the outputs left unwritten or half written;
 *   - translate: only the result code or only the GPA written, unaligned
 *     GPAs, a different GPA each time a page is translated, result codes
 *     out of range (9, 10, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF);
 *   - the callback editing its own argument structs (addresses, sizes,
 *     directions, register names) and the caller's exit contexts;
 *   - re-entrant Try, Destroy and whvemu_set_rep_limit on the same handle
 *     from inside the callback.
 * Every case must end with S_OK and exactly one status bit (the failed
 * callback's bit when a callback failed, and no callback after it), memory
 * accesses only to GPAs the VMM provided, no byte of the library's stack
 * (filled with 0xA5 before each call) in anything handed to the VMM, the
 * same result as an honest VMM gives when the misbehaviour is invisible
 * (edits, re-entry), and no sanitizer report (the suite runs under ASan and
 * UBSan and Valgrind). Prints the number of cases.
 */
#include <stdlib.h>
#include <string.h>

#include "WinHvEmulation.h"
#include "check.h"
#include "fake_vmm.h"
#include "whvemu.h"

#define RIP0 0x401000ull
#define DATA 0x7f0000001000ull /* a page with data */
#define NEXT 0x7f0000002000ull /* the page after it */
#define PORT 0x3F8
#define KINDS FVMM_CB_KINDS
#define MAXLOG 512

enum misbehaviour {
    M_NONE,
    M_FAIL_BEFORE, /* return hr without doing anything */
    M_FAIL_AFTER,  /* do the work, then return hr */
    M_UNWRITTEN,   /* S_OK, outputs not written */
    M_HALF,        /* S_OK, half the outputs written */
    M_EDIT_ARGS,   /* do the work, then scribble over the argument structs */
    M_EDIT_CONTEXTS, /* do the work, then scribble over the caller's contexts */
    M_REENTER,     /* Try, Destroy and whvemu_set_rep_limit on the same handle */
    M_XL_RESULT_ONLY,
    M_XL_GPA_ONLY,
    M_XL_UNALIGNED, /* arg: the offset added */
    M_XL_CHANGING,  /* a different GPA page on every translation */
    M_XL_CODE,      /* arg: the result code */
    M_COUNT
};

static const char *const m_names[M_COUNT] = {
    "none", "fail-before", "fail-after", "unwritten", "half-written", "edit-args",
    "edit-contexts", "re-enter", "result-only", "gpa-only", "unaligned-gpa", "changing-gpa",
    "result-code"};

struct plan {
    int kind;
    unsigned nth;
    enum misbehaviour m;
    HRESULT hr;
    uint64_t arg;
};

struct logent {
    int kind;
    HRESULT hr;
    int write;     /* memory or port write */
    uint64_t gpa;  /* memory access */
    unsigned size;
    uint8_t data[8];
};

/* The state of one run (the test is single-threaded). */
static struct plan plan;
static unsigned seen[KINDS];
static struct logent logv[MAXLOG];
static unsigned nlog;
static uint64_t provided[64]; /* GPA pages the VMM handed out */
static unsigned nprovided;
static unsigned translate_serial;
static int stack_leak;       /* a 0xA5 byte of the stack reached the VMM */
static int inner_not_refused; /* a re-entrant call was not refused */
static WHV_EMULATOR_HANDLE cur_emu;
static WHV_VP_EXIT_CONTEXT *cur_vp;
static WHV_MEMORY_ACCESS_CONTEXT *cur_mc;
static WHV_X64_IO_PORT_ACCESS_CONTEXT *cur_io;

static void provide(uint64_t gpa)
{
    if (nprovided < 64)
        provided[nprovided++] = gpa & ~(uint64_t)0xFFF;
}

static int was_provided(uint64_t gpa)
{
    for (unsigned i = 0; i < nprovided; i++)
        if (provided[i] == (gpa & ~(uint64_t)0xFFF))
            return 1;
    return 0;
}

static int has_a5(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] == 0xA5)
            return 1;
    return 0;
}

/* The misbehaviour for this call of `kind`, or M_NONE. */
static enum misbehaviour now(int kind)
{
    seen[kind]++;
    return plan.kind == kind && plan.nth == seen[kind] ? plan.m : M_NONE;
}

static struct logent *log_call(int kind)
{
    static struct logent spare;
    struct logent *l = nlog < MAXLOG ? &logv[nlog++] : &spare;
    memset(l, 0, sizeof(*l));
    l->kind = kind;
    return l;
}

static void misbehave_common(enum misbehaviour m)
{
    if (m == M_EDIT_CONTEXTS) {
        if (cur_vp) {
            cur_vp->Rip ^= 0x2000;
            cur_vp->Rflags ^= 0x400; /* DF */
            cur_vp->ExecutionState.Cr0Pe = 0;
            cur_vp->Cs.Attributes = 0;
        }
        if (cur_mc) {
            cur_mc->Gva ^= 0x1000;
            cur_mc->Gpa ^= 0x3000;
            cur_mc->InstructionByteCount = 16;
            memset(cur_mc->InstructionBytes, 0xCC, 16);
        }
        if (cur_io) {
            cur_io->AccessInfo.AsUINT32 ^= 0x3F;
            cur_io->PortNumber ^= 0xFF;
            cur_io->Rcx = 0;
            cur_io->Rsi ^= 0x1000;
        }
    } else if (m == M_REENTER) {
        WHV_EMULATOR_STATUS st;
        WHV_VP_EXIT_CONTEXT vp;
        fvmm_build_exit64(&vp, 0, RIP0, 2);
        WHV_MEMORY_ACCESS_CONTEXT mc;
        memset(&mc, 0, sizeof(mc));
        WHV_X64_IO_PORT_ACCESS_CONTEXT io;
        memset(&io, 0, sizeof(io));
        if (WHvEmulatorTryMmioEmulation(cur_emu, NULL, &vp, &mc, &st) != E_INVALIDARG ||
            st.AsUINT32 != 0)
            inner_not_refused = 1;
        if (WHvEmulatorTryIoEmulation(cur_emu, NULL, &vp, &io, &st) != E_INVALIDARG)
            inner_not_refused = 1;
        if (WHvEmulatorDestroyEmulator(cur_emu) != E_INVALIDARG)
            inner_not_refused = 1;
        if (whvemu_set_rep_limit(cur_emu, 1) != E_INVALIDARG)
            inner_not_refused = 1;
        if (whvemu_last_failure(cur_emu) != NULL)
            inner_not_refused = 1;
    }
}

/* --- the five callbacks --- */

static HRESULT CALLBACK h_io(VOID *ctx, WHV_EMULATOR_IO_ACCESS_INFO *io)
{
    enum misbehaviour m = now(FVMM_CB_IO);
    struct logent *l = log_call(FVMM_CB_IO);
    l->write = io->Direction == 1;
    l->size = io->AccessSize;
    if (l->write && has_a5(&io->Data, io->AccessSize <= 4 ? io->AccessSize : 4))
        stack_leak = 1;
    HRESULT hr = S_OK;
    if (m == M_FAIL_BEFORE)
        return l->hr = plan.hr;
    if (m != M_UNWRITTEN || l->write) {
        UINT32 before = io->Data;
        hr = fvmm_callbacks()->WHvEmulatorIoPortCallback(ctx, io);
        if (!l->write) {
            /* Port data never holds the stack pattern. */
            for (unsigned b = 0; b < 4; b++)
                if (((io->Data >> (8 * b)) & 0xFF) == 0xA5)
                    io->Data ^= (UINT32)0xFF << (8 * b);
            if (m == M_HALF)
                io->Data = (io->Data & 0xFF) | (before & ~(UINT32)0xFF);
        }
    }
    if (m == M_FAIL_AFTER)
        hr = plan.hr;
    if (m == M_EDIT_ARGS) {
        io->Port ^= 0x55;
        io->AccessSize = 4;
        io->Direction ^= 1;
        if (l->write)
            io->Data = 0xA5A5A5A5u;
    }
    misbehave_common(m);
    return l->hr = hr;
}

static HRESULT CALLBACK h_memory(VOID *ctx, WHV_EMULATOR_MEMORY_ACCESS_INFO *a)
{
    enum misbehaviour m = now(FVMM_CB_MEMORY);
    struct logent *l = log_call(FVMM_CB_MEMORY);
    l->write = a->Direction == 1;
    l->gpa = a->GpaAddress;
    l->size = a->AccessSize;
    unsigned n = a->AccessSize <= 8 ? a->AccessSize : 8;
    memcpy(l->data, a->Data, n);
    if (l->write && has_a5(a->Data, n))
        stack_leak = 1;
    HRESULT hr = S_OK;
    if (m == M_FAIL_BEFORE)
        return l->hr = plan.hr;
    if (m == M_UNWRITTEN && !l->write) {
        /* S_OK, Data left as the emulator passed it. */
    } else if (m == M_HALF && !l->write) {
        uint8_t keep[8];
        memcpy(keep, a->Data, 8);
        hr = fvmm_callbacks()->WHvEmulatorMemoryCallback(ctx, a);
        memcpy(a->Data + n / 2, keep + n / 2, 8 - n / 2);
    } else if (m == M_UNWRITTEN || m == M_HALF) {
        /* A write the device ignores. */
    } else {
        hr = fvmm_callbacks()->WHvEmulatorMemoryCallback(ctx, a);
    }
    if (m == M_FAIL_AFTER)
        hr = plan.hr;
    if (m == M_EDIT_ARGS) {
        a->GpaAddress ^= 0x1000;
        a->AccessSize = 8;
        a->Direction ^= 1;
        if (l->write)
            memset(a->Data, 0xA5, sizeof(a->Data));
    }
    misbehave_common(m);
    return l->hr = hr;
}

static HRESULT CALLBACK h_get(VOID *ctx, const WHV_REGISTER_NAME *names, UINT32 count,
                              WHV_REGISTER_VALUE *values)
{
    enum misbehaviour m = now(FVMM_CB_GET_REGS);
    struct logent *l = log_call(FVMM_CB_GET_REGS);
    HRESULT hr = S_OK;
    if (m == M_FAIL_BEFORE)
        return l->hr = plan.hr;
    if (m == M_UNWRITTEN)
        ;
    else if (m == M_HALF) /* the second half: the data registers come first */
        hr = fvmm_callbacks()->WHvEmulatorGetVirtualProcessorRegisters(
            ctx, names + count / 2, count - count / 2, values + count / 2);
    else
        hr = fvmm_callbacks()->WHvEmulatorGetVirtualProcessorRegisters(ctx, names, count, values);
    if (m == M_FAIL_AFTER)
        hr = plan.hr;
    if (m == M_EDIT_ARGS) /* the names array is the emulator's: rewrite it */
        for (UINT32 i = 0; i < count; i++)
            ((WHV_REGISTER_NAME *)(uintptr_t)names)[i] = (WHV_REGISTER_NAME)0xFFFFu;
    misbehave_common(m);
    return l->hr = hr;
}

static HRESULT CALLBACK h_set(VOID *ctx, const WHV_REGISTER_NAME *names, UINT32 count,
                              const WHV_REGISTER_VALUE *values)
{
    enum misbehaviour m = now(FVMM_CB_SET_REGS);
    struct logent *l = log_call(FVMM_CB_SET_REGS);
    if (has_a5(values, count * sizeof(*values)))
        stack_leak = 1;
    HRESULT hr = S_OK;
    if (m == M_FAIL_BEFORE)
        return l->hr = plan.hr;
    if (m == M_UNWRITTEN)
        ;
    else if (m == M_HALF)
        hr = fvmm_callbacks()->WHvEmulatorSetVirtualProcessorRegisters(ctx, names, count / 2,
                                                                        values);
    else
        hr = fvmm_callbacks()->WHvEmulatorSetVirtualProcessorRegisters(ctx, names, count, values);
    if (m == M_FAIL_AFTER)
        hr = plan.hr;
    if (m == M_EDIT_ARGS)
        for (UINT32 i = 0; i < count; i++) {
            ((WHV_REGISTER_NAME *)(uintptr_t)names)[i] = WHvX64RegisterRax;
            memset((WHV_REGISTER_VALUE *)(uintptr_t)&values[i], 0xA5, sizeof(values[i]));
        }
    misbehave_common(m);
    return l->hr = hr;
}

static HRESULT CALLBACK h_translate(VOID *ctx, WHV_GUEST_VIRTUAL_ADDRESS gva,
                                    WHV_TRANSLATE_GVA_FLAGS flags,
                                    WHV_TRANSLATE_GVA_RESULT_CODE *result,
                                    WHV_GUEST_PHYSICAL_ADDRESS *gpa)
{
    enum misbehaviour m = now(FVMM_CB_TRANSLATE);
    struct logent *l = log_call(FVMM_CB_TRANSLATE);
    translate_serial++;
    HRESULT hr = S_OK;
    if (m == M_FAIL_BEFORE)
        return l->hr = plan.hr;
    WHV_TRANSLATE_GVA_RESULT_CODE r;
    WHV_GUEST_PHYSICAL_ADDRESS g;
    hr = fvmm_callbacks()->WHvEmulatorTranslateGvaPage(ctx, gva, flags, &r, &g);
    if (m == M_XL_CHANGING)
        g += 0x100000ull * translate_serial;
    if (m == M_XL_UNALIGNED)
        g += plan.arg;
    if (m == M_XL_CODE)
        r = (WHV_TRANSLATE_GVA_RESULT_CODE)plan.arg;
    if (m != M_UNWRITTEN && m != M_XL_GPA_ONLY)
        *result = r;
    if (m == M_HALF) /* the low half of the GPA only */
        g = (g & 0xFFFFFFFFu) | (*gpa & ~(UINT64)0xFFFFFFFFu);
    if (m != M_UNWRITTEN && m != M_XL_RESULT_ONLY) {
        *gpa = g;
        provide(g);
    }
    if (m == M_FAIL_AFTER)
        hr = plan.hr;
    /* M_EDIT_ARGS: the GVA and flags are values; nothing to edit. */
    misbehave_common(m);
    return l->hr = hr;
}

static const WHV_EMULATOR_CALLBACKS hostile_cb = {
    sizeof(WHV_EMULATOR_CALLBACKS), 0, h_io, h_memory, h_get, h_set, h_translate,
};

/* --- the emulations --- */

struct scenario {
    const char *name;
    uint8_t bytes[8];
    unsigned n;        /* bytes in the exit (0: fetched) */
    int port;          /* 0 memory exit; else the port access info (IsWrite, size, ...) */
    uint32_t port_info;
    uint64_t rbx, rsi, rdi, rcx, rip;
    int gva_valid;     /* the exit names DATA */
    int not_present;   /* DATA does not translate: #PF */
};

static const struct scenario scenarios[] = {
    {"mov load", {0x48, 0x8B, 0x03}, 3, 0, 0, DATA + 8, 0, 0, 0, RIP0, 1, 0},
    {"mov store", {0x48, 0x89, 0x0B}, 3, 0, 0, DATA + 8, 0, 0, 0, RIP0, 1, 0},
    {"add rmw", {0x48, 0x01, 0x0B}, 3, 0, 0, DATA + 8, 0, 0, 0, RIP0, 1, 0},
    {"page-crossing store", {0x48, 0x89, 0x0B}, 3, 0, 0, NEXT - 3, 0, 0, 0, RIP0, 0, 0},
    {"fetch, no bytes in the exit", {0x48, 0x89, 0x0B}, 0, 0, 0, DATA + 8, 0, 0, 0,
     RIP0 + 0xFFE, 1, 0},
    {"rep movsb", {0xF3, 0xA4}, 2, 0, 0, 0, NEXT - 2, DATA + 0x40, 3, RIP0, 0, 0},
    {"rep movsb within a page", {0xF3, 0xA4}, 2, 0, 0, 0, DATA + 0x10, DATA + 0x20, 3, RIP0,
     0, 0},
    {"rep stosb", {0xF3, 0xAA}, 2, 0, 0, 0, 0, NEXT - 2, 3, RIP0, 0, 0},
    /* port info: IsWrite bit 0, AccessSize bits 1-3, StringOp bit 4, Rep bit 5 */
    {"rep outsb", {0xF3, 0x6E}, 2, 1, 0x01 | 2 | 0x10 | 0x20, 0, NEXT - 2, 0, 3, RIP0, 0, 0},
    {"rep insb", {0xF3, 0x6C}, 2, 1, 0x00 | 2 | 0x10 | 0x20, 0, 0, NEXT - 2, 3, RIP0, 0, 0},
    {"in al, dx", {0xEC}, 1, 1, 0x00 | 2, 0, 0, 0, 0, RIP0, 0, 0},
    {"out dx, eax", {0xEF}, 1, 1, 0x01 | 8, 0, 0, 0, 0, RIP0, 0, 0},
    {"faulting load (#PF)", {0x48, 0x8B, 0x03}, 3, 0, 0, DATA + 8, 0, 0, 0, RIP0, 0, 1},
};
#define NSCEN (sizeof(scenarios) / sizeof(scenarios[0]))

struct outcome {
    HRESULT hr;
    uint32_t status;
    uint64_t regs[8];
    uint8_t mem[3 * 4096];
    size_t nwrites;
    uint32_t writes[16];
    uint32_t port_reads;
};

static void dirty_the_stack(void)
{
    volatile uint8_t junk[16384];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = 0xA5;
}

static void run(const struct scenario *s, struct outcome *o)
{
    memset(o, 0, sizeof(*o));
    fake_vmm *vm = fvmm_create();
    fvmm_setup_long_mode(vm, 0);
    uint8_t fill[3 * 4096];
    for (size_t i = 0; i < sizeof(fill); i++)
        fill[i] = (uint8_t)(0x11 + i % 0x80);
    fvmm_gpa_write(vm, DATA - 0x1000, fill, sizeof(fill));
    fvmm_gva_write(vm, s->rip, s->bytes, 8);
    if (s->not_present)
        fvmm_map_gva_ex(vm, DATA, WHvTranslateGvaResultPageNotPresent, 0, 0);
    fvmm_set_reg64(vm, WHvX64RegisterRip, s->rip);
    fvmm_set_reg64(vm, WHvX64RegisterRax, 0x0102030405060708ull);
    fvmm_set_reg64(vm, WHvX64RegisterRbx, s->rbx);
    fvmm_set_reg64(vm, WHvX64RegisterRcx, s->rcx ? s->rcx : 0x1122334455667788ull);
    fvmm_set_reg64(vm, WHvX64RegisterRdx, PORT);
    fvmm_set_reg64(vm, WHvX64RegisterRsi, s->rsi);
    fvmm_set_reg64(vm, WHvX64RegisterRdi, s->rdi);
    WHV_EMULATOR_HANDLE emu;
    if (WHvEmulatorCreateEmulator(&hostile_cb, &emu) != S_OK)
        abort();
    WHV_VP_EXIT_CONTEXT vp;
    fvmm_build_exit64(&vp, 0, s->rip, 2);
    WHV_MEMORY_ACCESS_CONTEXT mc;
    WHV_X64_IO_PORT_ACCESS_CONTEXT io;
    memset(&seen, 0, sizeof(seen));
    nlog = 0;
    nprovided = 0;
    translate_serial = 0;
    stack_leak = 0;
    inner_not_refused = 0;
    cur_emu = emu;
    cur_vp = &vp;
    cur_mc = NULL;
    cur_io = NULL;
    fvmm_reset_log(vm);
    WHV_EMULATOR_STATUS st;
    if (s->port) {
        memset(&io, 0, sizeof(io));
        io.InstructionByteCount = (UINT8)s->n;
        memcpy(io.InstructionBytes, s->bytes, s->n);
        io.AccessInfo.AsUINT32 = s->port_info;
        io.PortNumber = PORT;
        io.Rax = fvmm_reg64(vm, WHvX64RegisterRax);
        io.Rcx = fvmm_reg64(vm, WHvX64RegisterRcx);
        io.Rsi = s->rsi;
        io.Rdi = s->rdi;
        WHV_REGISTER_VALUE v;
        fvmm_reg_get(vm, WHvX64RegisterDs, &v);
        io.Ds = v.Segment;
        fvmm_reg_get(vm, WHvX64RegisterEs, &v);
        io.Es = v.Segment;
        cur_io = &io;
        dirty_the_stack();
        o->hr = WHvEmulatorTryIoEmulation(emu, vm, &vp, &io, &st);
    } else {
        uint64_t gpa = 0;
        fvmm_translate(vm, DATA + 8, 0, &gpa);
        fvmm_mmio_exit d = {s->bytes, s->n, gpa, DATA + 8, s->gva_valid, 1,
                            WHvMemoryAccessWrite};
        fvmm_build_mmio(&mc, &d);
        if (s->gva_valid)
            provide(gpa);
        cur_mc = &mc;
        dirty_the_stack();
        o->hr = WHvEmulatorTryMmioEmulation(emu, vm, &vp, &mc, &st);
    }
    cur_vp = NULL;
    cur_mc = NULL;
    cur_io = NULL;
    o->status = st.AsUINT32;
    static const WHV_REGISTER_NAME names[8] = {
        WHvX64RegisterRax, WHvX64RegisterRcx, WHvX64RegisterRsi, WHvX64RegisterRdi,
        WHvX64RegisterRip, WHvX64RegisterRflags, WHvX64RegisterCr2,
        WHvRegisterPendingInterruption};
    for (int i = 0; i < 8; i++)
        o->regs[i] = fvmm_reg64(vm, names[i]);
    fvmm_gpa_read(vm, DATA - 0x1000, o->mem, sizeof(o->mem));
    o->nwrites = fvmm_port_write_count(vm);
    for (size_t i = 0; i < o->nwrites && i < 16; i++) {
        const fvmm_port_write *w = fvmm_port_write_at(vm, i);
        o->writes[i] = (uint32_t)w->port << 16 ^ (uint32_t)w->size << 8 ^ w->data;
    }
    o->port_reads = fvmm_port_reads(vm, PORT);
    if (WHvEmulatorDestroyEmulator(emu) != S_OK)
        abort();
    fvmm_destroy(vm);
}

static int same(const struct outcome *a, const struct outcome *b)
{
    return a->hr == b->hr && a->status == b->status && !memcmp(a->regs, b->regs, sizeof(a->regs)) &&
           !memcmp(a->mem, b->mem, sizeof(a->mem)) && a->nwrites == b->nwrites &&
           !memcmp(a->writes, b->writes, sizeof(a->writes)) && a->port_reads == b->port_reads;
}

static uint32_t bit_of(int kind)
{
    static const uint32_t bits[KINDS] = {1u << 2, 1u << 3, 1u << 6, 1u << 7, 1u << 4};
    return bits[kind];
}

static unsigned cases, failed_cases;

/* Checks one misbehaving run against the rules; `ref` is the honest run. */
static void check_case(const struct scenario *s, const struct outcome *ref, const struct outcome *o)
{
    int bad = 0;
    const char *why = "";
#define RULE(cond, text)                                                                           \
    do {                                                                                           \
        if (!bad && !(cond)) {                                                                     \
            bad = 1;                                                                               \
            why = text;                                                                            \
        }                                                                                          \
    } while (0)
    uint32_t st = o->status;
    RULE(o->hr == S_OK, "HRESULT is not S_OK");
    RULE(st != 0 && !(st & (st - 1)) && st < 0x400, "not exactly one status bit");
    /* The first failed callback ends the emulation with its bit. */
    for (unsigned i = 0; i < nlog; i++)
        if (logv[i].hr != S_OK) {
            RULE(i + 1 == nlog, "a callback was called after one failed");
            RULE(st == bit_of(logv[i].kind), "the status is not the failed callback's bit");
            break;
        }
    for (unsigned i = 0; i < nlog; i++) {
        if (logv[i].kind == FVMM_CB_MEMORY)
            RULE(was_provided(logv[i].gpa), "a memory access to a GPA the VMM did not provide");
        if (logv[i].kind == FVMM_CB_SET_REGS)
            RULE(st == 1 || (st == bit_of(FVMM_CB_SET_REGS) && i + 1 == nlog),
                 "registers set on a failed emulation");
    }
    RULE(!stack_leak, "stack bytes reached the VMM");
    RULE(!inner_not_refused, "a re-entrant call on the held handle was not refused");
    switch (plan.m) {
    case M_FAIL_BEFORE:
    case M_FAIL_AFTER:
        RULE(st == bit_of(plan.kind), "the failed callback's bit is not the status");
        break;
    case M_XL_RESULT_ONLY: /* fine only for a result that needs no GPA (#PF) */
        if (!s->not_present)
            RULE(st == bit_of(FVMM_CB_TRANSLATE), "a translation without its GPA did not fail");
        break;
    case M_XL_GPA_ONLY:
        RULE(st == bit_of(FVMM_CB_TRANSLATE), "a translation without its result did not fail");
        break;
    case M_XL_UNALIGNED:
        RULE(st == 1u << 5, "an unaligned GPA was not TranslateGvaPageCallbackGpaIsNotAligned");
        break;
    case M_XL_CODE:
        /* 0x7FFFFFFF is the library's marker for a result left unwritten. */
        if (plan.arg == 0x7FFFFFFF)
            RULE(st == bit_of(FVMM_CB_TRANSLATE), "result 0x7FFFFFFF did not read as unwritten");
        else
            RULE(st == 1u << 1, "an unknown result code was not InternalEmulationFailure");
        break;
    case M_EDIT_ARGS:
    case M_EDIT_CONTEXTS:
    case M_REENTER:
        /* Invisible to the emulation: the honest result. (A get callback
         * rewriting its names array, or a set callback its values, is
         * allowed to change nothing either.) */
        RULE(same(o, ref), "the result differs from the honest VMM's");
        break;
    default:
        break;
    }
    cases++;
    if (bad) {
        failed_cases++;
        if (failed_cases <= 30)
            printf("  FAIL %s, %s callback #%u, %s (hr 0x%x, arg 0x%llx): %s (status 0x%x)\n",
                   s->name, fvmm_cb_kind_name((fvmm_cb_kind)plan.kind), plan.nth,
                   m_names[plan.m], (unsigned)plan.hr, (unsigned long long)plan.arg, why, st);
    }
#undef RULE
}

static void run_case(const struct scenario *s, const struct outcome *ref, int kind, unsigned nth,
                     enum misbehaviour m, HRESULT hr, uint64_t arg)
{
    struct outcome *o = malloc(sizeof(*o));
    if (!o)
        abort();
    plan.kind = kind;
    plan.nth = nth;
    plan.m = m;
    plan.hr = hr;
    plan.arg = arg;
    run(s, o);
    check_case(s, ref, o);
    free(o);
}

static void test_every_callback_misbehaving_at_every_position(void)
{
    static const HRESULT hrs[] = {(HRESULT)0x80004005L, (HRESULT)0x80070057L,
                                  (HRESULT)0x80370309L, 1, 2, 0x7FFFFFFF};
    static const uint64_t offsets[] = {0x10, 0x800, 0xFFF};
    static const uint32_t codes[] = {9, 10, 0x7FFFFFFF, 0x80000000u, 0xFFFFFFFFu};
    for (unsigned si = 0; si < NSCEN; si++) {
        const struct scenario *s = &scenarios[si];
        struct outcome *ref = malloc(sizeof(*ref));
        if (!ref)
            abort();
        plan.m = M_NONE;
        plan.kind = -1;
        run(s, ref);
        unsigned counts[KINDS];
        memcpy(counts, seen, sizeof(counts));
        /* The honest run itself obeys the rules. */
        check_case(s, ref, ref);
        CHECK_EQ(ref->status, 1);
        for (int kind = 0; kind < KINDS; kind++) {
            for (unsigned nth = 1; nth <= counts[kind]; nth++) {
                for (unsigned h = 0; h < sizeof(hrs) / sizeof(hrs[0]); h++) {
                    run_case(s, ref, kind, nth, M_FAIL_BEFORE, hrs[h], 0);
                    run_case(s, ref, kind, nth, M_FAIL_AFTER, hrs[h], 0);
                }
                for (enum misbehaviour m = M_UNWRITTEN; m <= M_REENTER; m++)
                    run_case(s, ref, kind, nth, m, S_OK, 0);
                if (kind != FVMM_CB_TRANSLATE)
                    continue;
                run_case(s, ref, kind, nth, M_XL_RESULT_ONLY, S_OK, 0);
                run_case(s, ref, kind, nth, M_XL_GPA_ONLY, S_OK, 0);
                run_case(s, ref, kind, nth, M_XL_CHANGING, S_OK, 0);
                if (!s->not_present)
                    for (unsigned k = 0; k < sizeof(offsets) / sizeof(offsets[0]); k++)
                        run_case(s, ref, kind, nth, M_XL_UNALIGNED, S_OK, offsets[k]);
                for (unsigned k = 0; k < sizeof(codes) / sizeof(codes[0]); k++)
                    run_case(s, ref, kind, nth, M_XL_CODE, S_OK, codes[k]);
            }
        }
        free(ref);
    }
    printf("  %u hostile-VMM cases over %u emulations, %u failed\n", cases, (unsigned)NSCEN,
           failed_cases);
    CHECK_EQ(failed_cases, 0);
    CHECK(cases > 1000);
}

int main(void)
{
    RUN(test_every_callback_misbehaving_at_every_position);
    return CHECK_SUMMARY();
}
