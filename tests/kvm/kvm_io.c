/*
 * kvm_io.c - port I/O checked against KVM. Each case is one IN, OUT, INS
 * or OUTS (with or without REP/REPNE, DF 0 or 1, every address size,
 * segment overrides) followed by HLT. The guest runs it in a KVM vCPU whose
 * port reads are answered by the fake VMM's port model; the same starting
 * state then goes through WHvEmulatorTryIoEmulation with the fake VMM,
 * with the exit context the platform would give for the first port access.
 * Final registers, memory and the ordered port log must agree, every call
 * must keep the round-trip rules, and an instruction without a segment
 * override must not ask for registers.
 *
 * Exit code 77 (skipped) when KVM is not usable. $WHVEMU_KVM_SEED replays
 * the random part.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "WinHvEmulation.h"
#include "fake_vmm.h"
#include "kvm_common.h"
#include "kvm_guest.h"
#include "whvemu.h"

#define FIXED_SEED 0x10C0FFEE5EEDull
#define RANDOM_CASES 700
#define MAX_FAIL_REPORTS 25
#define MAX_KVM_REPORTS 6

enum { K_IN, K_OUT, K_INS, K_OUTS };
#define NFORMS 30
#define NIOMODES 4

static const enum kg_mode io_modes[NIOMODES] = {KG_M64, KG_M64U, KG_M32, KG_M16};

struct io_case {
    enum kg_mode mode;
    int kind;
    unsigned size;
    int imm;        /* IN/OUT: the port is an imm8 */
    uint8_t rep;    /* 0, 0xF3 or 0xF2 */
    int a67;        /* address-size override */
    uint8_t segpfx; /* segment override prefix or 0 */
    uint8_t rex;    /* 64-bit mode: a REX prefix or 0 */
    unsigned bytes_mode; /* exit's instruction bytes: 0 exact, 1 sixteen, 2 none */
    uint64_t count;      /* REP iterations */
    int fixed_count;     /* use want_count instead of a random count */
    uint64_t want_count;
    int df;
    uint16_t port;
    uint8_t bytes[16];
    unsigned len;
    struct kvm_regs r;
    struct kvm_sregs s;
};

struct ctx {
    kg g;
    int ok[KG_NMODES];
    fake_vmm *vm[KG_NMODES];
    WHV_EMULATOR_HANDLE emu;
    uint8_t pattern[KG_SPAN];
    uint8_t init[KG_SPAN];
    unsigned passed, failed, reported;
    unsigned form_count[NFORMS][NIOMODES];
    unsigned form_fail[NFORMS];
    unsigned get_calls_with_override[8]; /* by override, max seen */
    unsigned generation_misses;
    int verbose; /* $WHVEMU_KVM_VERBOSE: dump the emulator's calls of a failure */
    unsigned kvm_deviations, kvm_reported, model_disagreements;
    unsigned kvm_dev_form[NFORMS];
};

static int is64(enum kg_mode m)
{
    return m == KG_M64 || m == KG_M64U;
}

static unsigned mode_col(enum kg_mode m)
{
    for (unsigned i = 0; i < NIOMODES; i++)
        if (io_modes[i] == m)
            return i;
    return 0;
}

static unsigned size_idx(unsigned size)
{
    return size == 1 ? 0 : size == 2 ? 1 : 2;
}

static unsigned form_of(const struct io_case *c)
{
    if (c->kind == K_IN || c->kind == K_OUT)
        return (c->kind == K_OUT ? 6u : 0u) + (c->imm ? 3u : 0u) + size_idx(c->size);
    unsigned rep = c->rep == 0xF3 ? 1 : c->rep == 0xF2 ? 2 : 0;
    return 12u + (c->kind == K_OUTS ? 9u : 0u) + rep * 3u + size_idx(c->size);
}

static void form_name(unsigned f, char *buf, size_t n)
{
    static const char *const acc[3] = {"AL", "AX", "EAX"};
    static const char sfx[3] = {'B', 'W', 'D'};
    if (f < 12) {
        int out = f >= 6, imm = (f % 6) >= 3;
        const char *a = acc[f % 3];
        if (out)
            snprintf(buf, n, "OUT %s,%s", imm ? "imm8" : "DX", a);
        else
            snprintf(buf, n, "IN %s,%s", a, imm ? "imm8" : "DX");
        return;
    }
    f -= 12;
    int outs = f >= 9;
    unsigned rep = (f % 9) / 3;
    snprintf(buf, n, "%s%s%c", rep == 1 ? "REP " : rep == 2 ? "REPNE " : "", outs ? "OUTS" : "INS",
             sfx[f % 3]);
}

/* Address size in bytes. */
static unsigned addr_size(const struct io_case *c)
{
    if (is64(c->mode))
        return c->a67 ? 4 : 8;
    if (c->mode == KG_M16)
        return c->a67 ? 4 : 2;
    return c->a67 ? 2 : 4;
}

static uint64_t amask_of(unsigned asz)
{
    return asz == 8 ? ~0ull : (1ull << (8 * asz)) - 1;
}

static const struct kvm_segment *mem_seg(const struct io_case *c)
{
    if (c->kind == K_INS)
        return &c->s.es;
    switch (c->segpfx) {
    case 0x26:
        return &c->s.es;
    case 0x2E:
        return &c->s.cs;
    case 0x36:
        return &c->s.ss;
    case 0x64:
        return &c->s.fs;
    case 0x65:
        return &c->s.gs;
    default:
        return &c->s.ds;
    }
}

static uint64_t mem_base(const struct io_case *c)
{
    const struct kvm_segment *sg = mem_seg(c);
    if (is64(c->mode))
        return (sg == &c->s.fs || sg == &c->s.gs) ? sg->base : 0;
    return sg->base;
}

/* 64-bit linear range valid for the guest and inside the compared span. */
static int lin64_ok(uint64_t lin, unsigned size, int write)
{
    static const uint64_t win[3] = {KG_W32, KG_H1, KG_H2};
    uint64_t end = write ? KG_DATA_END : KG_SPAN;
    if (lin + size <= end && lin + size > lin)
        return 1;
    for (int i = 0; i < 3; i++)
        if (lin >= win[i] && lin + size <= win[i] + KG_WIN_SIZE && lin + size > lin)
            return 1;
    return 0;
}

/* Every element of the string access is legal and lands where both sides
 * hold the same memory. */
static int placement_ok(const struct io_case *c, uint64_t o0)
{
    unsigned asz = addr_size(c), size = c->size;
    uint64_t amask = amask_of(asz);
    uint64_t base = mem_base(c);
    const struct kvm_segment *sg = mem_seg(c);
    int write = c->kind == K_INS;
    uint64_t n = c->count ? c->count : 1;
    for (uint64_t k = 0; k < n; k++) {
        uint64_t step = k * size;
        uint64_t off = (c->df ? o0 - step : o0 + step) & amask;
        if (off > amask - (size - 1))
            return 0; /* an element would wrap inside the offset space */
        if (is64(c->mode)) {
            if (!lin64_ok(base + off, size, write))
                return 0;
        } else {
            if (off + size - 1 > sg->limit)
                return 0;
            uint64_t lin = base + off;
            if ((lin & 0xFFFFFFFFu) + size - 1 > 0xFFFFFFFFu)
                return 0;
            lin &= 0xFFFFFFFFu;
            if (lin + size > (write ? KG_DATA_END : KG_SPAN))
                return 0;
        }
    }
    return 1;
}

/* Picks the starting offset of the string operand; 0 if nothing fits. */
static int place(kc_rng *rng, const struct io_case *c, int want_wrap, uint64_t *o0)
{
    unsigned asz = addr_size(c), size = c->size;
    uint64_t amask = amask_of(asz);
    uint64_t base = mem_base(c);
    uint64_t n = c->count ? c->count : 1;
    uint64_t len = n * size;
    for (int tries = 0; tries < 600; tries++) {
        uint64_t o;
        if (want_wrap && tries < 300 && n >= 2 && asz < 8) {
            uint64_t j = kc_range(rng, 1, n - 1);
            o = c->df ? (j - 1) * size : (amask + 1) - j * size;
        } else {
            uint64_t lo = 0, hi = c->kind == K_INS ? KG_DATA_END : KG_SPAN;
            if (is64(c->mode)) {
                static const uint64_t win[3] = {KG_W32, KG_H1, KG_H2};
                unsigned w = (unsigned)kc_range(rng, 0, 3);
                if (w < 3) {
                    lo = win[w];
                    hi = win[w] + KG_WIN_SIZE;
                }
            }
            if (len > hi - lo)
                return 0;
            uint64_t s = kc_range(rng, lo, hi - len);
            if (kc_chance(rng, 1, 2))
                s &= ~(uint64_t)(size - 1);
            uint64_t lin0 = c->df ? s + len - size : s;
            o = (lin0 - base) & amask;
        }
        if (placement_ok(c, o)) {
            *o0 = o;
            return 1;
        }
    }
    return 0;
}

/* Random bits above the address size that the instruction must ignore
 * (only where the mode lets the register hold them). */
static uint64_t garbage(kc_rng *rng, const struct io_case *c, unsigned asz)
{
    uint64_t g = kc_next(rng);
    if (!is64(c->mode))
        g &= 0xFFFFFFFFu;
    if (kc_chance(rng, 1, 4))
        g = 0;
    return g & ~amask_of(asz);
}

static void encode(struct io_case *c)
{
    unsigned n = 0;
    if (c->segpfx)
        c->bytes[n++] = c->segpfx;
    if (c->a67)
        c->bytes[n++] = 0x67;
    if (c->rep)
        c->bytes[n++] = c->rep;
    if (c->size != 1 && (c->mode == KG_M16 ? c->size == 4 : c->size == 2))
        c->bytes[n++] = 0x66;
    if (c->rex)
        c->bytes[n++] = c->rex;
    uint8_t wide = c->size != 1;
    switch (c->kind) {
    case K_IN:
        c->bytes[n++] = (uint8_t)((c->imm ? 0xE4 : 0xEC) | wide);
        break;
    case K_OUT:
        c->bytes[n++] = (uint8_t)((c->imm ? 0xE6 : 0xEE) | wide);
        break;
    case K_INS:
        c->bytes[n++] = (uint8_t)(0x6C | wide);
        break;
    default:
        c->bytes[n++] = (uint8_t)(0x6E | wide);
        break;
    }
    if (c->imm)
        c->bytes[n++] = (uint8_t)c->port;
    c->len = n;
}

static uint64_t rand_gpr(kc_rng *rng, const struct io_case *c)
{
    uint64_t v = kc_next(rng);
    return is64(c->mode) ? v : v & 0xFFFFFFFFu;
}

/* Fills in the state of a case whose form fields (mode, kind, size, imm,
 * rep, a67, segpfx, rex, df) are set. Returns 0 if no placement fits. */
static int make_case(struct ctx *x, kc_rng *rng, struct io_case *c, int count_zero)
{
    uint64_t rip;
    kg_mode_state(&x->g, c->mode, &c->s, &rip);
    memset(&c->r, 0, sizeof c->r);
    c->r.rax = rand_gpr(rng, c);
    c->r.rbx = rand_gpr(rng, c);
    c->r.rcx = rand_gpr(rng, c);
    c->r.rdx = rand_gpr(rng, c);
    c->r.rsi = rand_gpr(rng, c);
    c->r.rdi = rand_gpr(rng, c);
    c->r.rbp = rand_gpr(rng, c);
    c->r.rsp = rand_gpr(rng, c);
    if (is64(c->mode)) {
        c->r.r8 = kc_next(rng);
        c->r.r9 = kc_next(rng);
        c->r.r10 = kc_next(rng);
        c->r.r11 = kc_next(rng);
        c->r.r12 = kc_next(rng);
        c->r.r13 = kc_next(rng);
        c->r.r14 = kc_next(rng);
        c->r.r15 = kc_next(rng);
    }
    c->r.rip = rip;
    /* arithmetic flags at random; DF as asked; IOPL 3 at CPL 3 */
    c->r.rflags = 0x2 | (kc_next(rng) & 0x8D5) | (c->df ? 0x400u : 0) |
                  (c->mode == KG_M64U ? 0x3000u : 0);

    /* Segments: bases the instruction must use (or, for DS/ES/SS in 64-bit
     * mode, ignore). */
    if (is64(c->mode)) {
        static const uint64_t wins[4] = {0, KG_W32, KG_H1, KG_H2};
        c->s.fs.base = wins[kc_range(rng, 0, 3)] + kc_range(rng, 0, KG_WIN_SIZE - 1);
        c->s.gs.base = wins[kc_range(rng, 0, 3)] + kc_range(rng, 0, KG_WIN_SIZE - 1);
        if (kc_chance(rng, 1, 3)) {
            c->s.ds.base = kc_range(rng, 1, 0xFFFFFFFF);
            c->s.es.base = kc_range(rng, 1, 0xFFFFFFFF);
            c->s.ss.base = kc_range(rng, 1, 0xFFFFFFFF);
        }
    } else if (c->mode == KG_M16) {
        struct kvm_segment *sg[5] = {&c->s.ds, &c->s.es, &c->s.fs, &c->s.gs, &c->s.ss};
        for (int i = 0; i < 5; i++) {
            sg[i]->selector = (uint16_t)kc_range(rng, 0, 0x3000);
            sg[i]->base = (uint64_t)sg[i]->selector << 4;
        }
    } else {
        struct kvm_segment *sg[5] = {&c->s.ds, &c->s.es, &c->s.fs, &c->s.gs, &c->s.ss};
        for (int i = 0; i < 5; i++) {
            sg[i]->base = kc_range(rng, 0, 0x30000);
            if (kc_chance(rng, 1, 4)) {
                sg[i]->g = 0;
                sg[i]->limit = (uint32_t)kc_range(rng, 0x10000, 0xFFFFF);
            }
        }
    }

    if (c->kind == K_IN || c->kind == K_OUT) {
        if (c->imm) {
            c->port = (uint16_t)kc_range(rng, 0, 0xFD);
        } else {
            c->port = (uint16_t)kc_next(rng);
            if (c->port == KG_SENTINEL_PORT)
                c->port++;
            c->r.rdx = (c->r.rdx & ~0xFFFFull) | c->port;
        }
    } else {
        c->port = (uint16_t)kc_next(rng);
        if (c->port == KG_SENTINEL_PORT)
            c->port++;
        c->r.rdx = (c->r.rdx & ~0xFFFFull) | c->port;
        unsigned asz = addr_size(c);
        uint64_t amask = amask_of(asz);
        if (c->rep) {
            unsigned pick = (unsigned)kc_range(rng, 0, 99);
            if (c->fixed_count)
                c->count = c->want_count;
            else if (count_zero || pick < 8)
                c->count = 0;
            else if (pick < 55)
                c->count = kc_range(rng, 1, 8);
            else if (pick < 85)
                c->count = kc_range(rng, 9, 64);
            else
                c->count = kc_range(rng, 65, 700);
            c->r.rcx = garbage(rng, c, asz) | c->count;
        } else {
            c->count = 1;
        }
        uint64_t o0;
        int wrap = asz < 8 && kc_chance(rng, 1, 4);
        if (!place(rng, c, wrap, &o0))
            return 0;
        uint64_t v = garbage(rng, c, asz) | (o0 & amask);
        if (c->kind == K_INS)
            c->r.rdi = v;
        else
            c->r.rsi = v;
    }
    encode(c);
    return 1;
}

static void describe(const struct io_case *c)
{
    char f[32];
    form_name(form_of(c), f, sizeof f);
    printf("[%s] %s count=%llu DF=%d asz=%u seg=%02x bytes_mode=%u port=0x%x\n",
           kg_mode_name(c->mode), f, (unsigned long long)c->count, c->df, addr_size(c) * 8,
           c->segpfx, c->bytes_mode, c->port);
    kc_print_hex("  bytes: ", c->bytes, c->len);
    kc_print_regs("  start: ", &c->r);
    printf("  bases: DS=%llx ES=%llx FS=%llx GS=%llx SS=%llx CS=%llx\n",
           (unsigned long long)c->s.ds.base, (unsigned long long)c->s.es.base,
           (unsigned long long)c->s.fs.base, (unsigned long long)c->s.gs.base,
           (unsigned long long)c->s.ss.base, (unsigned long long)c->s.cs.base);
}

/* 64-bit linear -> guest-physical for the ranges lin64_ok accepts. */
static uint64_t gpa64(uint64_t lin)
{
    static const uint64_t win[3] = {KG_W32, KG_H1, KG_H2};
    for (int i = 0; i < 3; i++)
        if (lin >= win[i] && lin - win[i] < KG_WIN_SIZE)
            return lin - win[i];
    return lin;
}

static uint64_t merge_index(uint64_t old, uint64_t v, unsigned asz)
{
    if (asz == 2)
        return (old & ~0xFFFFull) | (v & 0xFFFF);
    if (asz == 4)
        return v & 0xFFFFFFFFu;
    return v;
}

/* The architectural outcome (SDM Vol. 2 IN/OUT/INS/OUTS, Vol. 1 3.3.7):
 * a tie-breaker when KVM and the emulator disagree. */
static void model_run(const struct io_case *c, const uint8_t *init, uint8_t *mem,
                      struct kvm_regs *r, kg_access *log, size_t cap, size_t *nlog)
{
    memcpy(mem, init, KG_SPAN);
    *r = c->r;
    *nlog = 0;
    unsigned size = c->size;
    uint32_t smask = size == 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1;
    if (c->kind == K_IN || c->kind == K_OUT) {
        kg_access a;
        memset(&a, 0, sizeof a);
        a.size = (uint8_t)size;
        a.port = c->port;
        a.write = c->kind == K_OUT;
        if (a.write) {
            a.data = r->rax & smask;
        } else {
            a.data = fvmm_port_value(c->port, 0, (UINT16)size);
            r->rax = size == 4 ? a.data : (r->rax & ~(uint64_t)smask) | a.data;
        }
        log[(*nlog)++] = a;
    } else {
        unsigned asz = addr_size(c);
        uint64_t amask = amask_of(asz);
        uint64_t base = mem_base(c);
        int ins = c->kind == K_INS;
        uint64_t idx0 = (ins ? c->r.rdi : c->r.rsi) & amask;
        uint64_t n = c->rep ? (c->r.rcx & amask) : 1;
        uint64_t k = 0;
        for (; k < n; k++) {
            uint64_t step = k * size;
            uint64_t off = (c->df ? idx0 - step : idx0 + step) & amask;
            uint64_t lin = base + off;
            uint64_t gpa = is64(c->mode) ? gpa64(lin) : (lin & 0xFFFFFFFFu);
            kg_access a;
            memset(&a, 0, sizeof a);
            a.size = (uint8_t)size;
            a.port = c->port;
            a.write = !ins;
            if (ins) {
                uint32_t v = fvmm_port_value(c->port, (uint32_t)k, (UINT16)size);
                if (gpa + size <= KG_SPAN)
                    memcpy(mem + gpa, &v, size);
                a.data = v;
            } else {
                uint32_t v = 0;
                if (gpa + size <= KG_SPAN)
                    memcpy(&v, init + gpa, size);
                a.data = v;
            }
            if (*nlog < cap)
                log[(*nlog)++] = a;
        }
        if (n) {
            uint64_t delta = n * size;
            uint64_t v = (c->df ? idx0 - delta : idx0 + delta) & amask;
            if (ins)
                r->rdi = merge_index(c->r.rdi, v, asz);
            else
                r->rsi = merge_index(c->r.rsi, v, asz);
            if (c->rep)
                r->rcx = merge_index(c->r.rcx, 0, asz);
        }
    }
    uint64_t rip = c->r.rip + c->len;
    if (c->mode == KG_M16)
        rip &= 0xFFFF;
    else if (!is64(c->mode))
        rip &= 0xFFFFFFFFu;
    r->rip = rip;
}

#define LOG_CAP 2048

/* Runs one case on KVM, through the emulator and in the model, and
 * compares. Returns 1 (pass), 0 (emulator failure) or 2 (KVM disagrees
 * with both the emulator and the architectural model). */
static int run_case(struct ctx *x, struct io_case *c, unsigned cb_counts[FVMM_CB_KINDS])
{
    static uint8_t emu_mem[KG_SPAN], model_mem[KG_SPAN];
    static kg_access emu_log[LOG_CAP], model_log[LOG_CAP];
    kg *g = &x->g;
    char why[256];
    int show = x->reported < MAX_FAIL_REPORTS;

    /* memory: the pattern, the instruction, then HLT (or the CPL 3 end) */
    memcpy(g->ram, x->pattern, KG_SPAN);
    uint8_t *code = g->ram + KG_CODE;
    memcpy(code, c->bytes, c->len);
    if (c->mode == KG_M64U) {
        code[c->len] = 0xE6;
        code[c->len + 1] = KG_SENTINEL_PORT;
    } else {
        code[c->len] = 0xF4;
    }
    memcpy(x->init, g->ram, KG_SPAN);

    /* the guest */
    struct kvm_regs kr = c->r;
    struct kvm_sregs ks = c->s;
    int kvm_ok = kg_run(g, c->mode, &kr, &ks, fvmm_port_value, why, sizeof why) == 0;

    /* the emulator */
    fake_vmm *vm = x->vm[c->mode];
    kc_load_fvmm(vm, &c->r, &c->s, x->init);
    WHV_VP_EXIT_CONTEXT vp;
    kc_build_vp(&vp, &c->r, &c->s, c->len);
    WHV_X64_IO_PORT_ACCESS_CONTEXT io;
    memset(&io, 0, sizeof io);
    if (c->bytes_mode == 0) {
        io.InstructionByteCount = (UINT8)c->len;
        memcpy(io.InstructionBytes, c->bytes, c->len);
    } else if (c->bytes_mode == 1) {
        io.InstructionByteCount = 16;
        memcpy(io.InstructionBytes, code, 16);
    }
    int string = c->kind == K_INS || c->kind == K_OUTS;
    io.AccessInfo.IsWrite = c->kind == K_OUT || c->kind == K_OUTS;
    io.AccessInfo.AccessSize = c->size;
    io.AccessInfo.StringOp = (UINT32)string;
    io.AccessInfo.RepPrefix = string && c->rep;
    io.PortNumber = c->port;
    io.Rax = c->r.rax;
    io.Rcx = c->r.rcx;
    io.Rsi = c->r.rsi;
    io.Rdi = c->r.rdi;
    io.Ds = kc_whv_seg(&c->s.ds);
    io.Es = kc_whv_seg(&c->s.es);
    fvmm_reset_log(vm);
    WHV_EMULATOR_STATUS st;
    HRESULT hr = WHvEmulatorTryIoEmulation(x->emu, vm, &vp, &io, &st);
    int emu_bad = 0;
    char emu_why[512] = "";
    size_t ew = 0;
#define EMU_PROBLEM(...)                                                                           \
    do {                                                                                           \
        emu_bad++;                                                                                 \
        if (ew < sizeof emu_why)                                                                   \
            ew += (size_t)snprintf(emu_why + ew, sizeof emu_why - ew, __VA_ARGS__);               \
    } while (0)
    if (hr != S_OK || st.AsUINT32 != 1)
        EMU_PROBLEM("  emulator: hr 0x%x status 0x%x (%s)\n", (unsigned)hr, st.AsUINT32,
                    whvemu_last_failure(x->emu));
    const char *rt = fvmm_check_round_trip(vm, &vp, NULL, &st);
    if (rt)
        EMU_PROBLEM("  round trip: %s\n", rt);
    unsigned gets = fvmm_count(vm, FVMM_CB_GET_REGS);
    if (c->segpfx == 0 && gets != 0)
        EMU_PROBLEM("  %u get-registers call(s) without a segment override\n", gets);
#undef EMU_PROBLEM
    if (c->segpfx) {
        unsigned i = (unsigned)((c->segpfx >> 3) & 7); /* 26 2E 36 3E -> 4..7 */
        if (c->segpfx == 0x64)
            i = 0;
        else if (c->segpfx == 0x65)
            i = 1;
        if (gets > x->get_calls_with_override[i])
            x->get_calls_with_override[i] = gets;
    }
    if (cb_counts)
        for (int k = 0; k < FVMM_CB_KINDS; k++)
            cb_counts[k] = fvmm_count(vm, (fvmm_cb_kind)k);
    struct kvm_regs er;
    kc_regs_from_fvmm(vm, &er);
    fvmm_gpa_read(vm, 0, emu_mem, KG_SPAN);
    size_t en = kc_log_from_fvmm(vm, emu_log, LOG_CAP, 1, 0);

    /* the model */
    struct kvm_regs mr;
    size_t mn;
    model_run(c, x->init, model_mem, &mr, model_log, LOG_CAP, &mn);

    unsigned emu_vs_model = kc_diff_regs(&er, &mr, "emulator", "model", NULL) +
                            kc_diff_mem(emu_mem, model_mem, KG_SPAN, "", "", NULL) +
                            kc_diff_log(emu_log, en, model_log, mn, "", "", NULL);
    unsigned emu_vs_kvm = 1;
    if (kvm_ok)
        emu_vs_kvm = kc_diff_regs(&er, &kr, "", "", NULL) +
                     kc_diff_mem(emu_mem, g->ram, KG_SPAN, "", "", NULL) +
                     kc_diff_log(emu_log, en, g->log, g->nlog, "", "", NULL);
    int verdict;
    if (emu_bad || (emu_vs_kvm && emu_vs_model))
        verdict = 0;
    else if (emu_vs_kvm)
        verdict = 2;
    else
        verdict = 1;
    if (verdict == 1 && emu_vs_model)
        x->model_disagreements++; /* KVM and the emulator agree; the model is off */
    if (verdict == 1)
        return 1;

    if (verdict == 2) {
        x->kvm_deviations++;
        if (x->kvm_reported++ < MAX_KVM_REPORTS) {
            printf("KVM-DEVIATION ");
            describe(c);
            if (!kvm_ok)
                printf("  the KVM guest did not complete: %s\n", why);
            else {
                kc_diff_regs(&kr, &er, "kvm", "emulator+model", "  ");
                kc_diff_mem(g->ram, emu_mem, KG_SPAN, "kvm", "emulator+model", "  ");
                kc_diff_log(g->log, g->nlog, emu_log, en, "kvm", "emulator+model", "  ");
            }
        }
        return 2;
    }
    x->reported++;
    if (!show)
        return 0;
    printf("FAIL ");
    describe(c);
    printf("%s", emu_why);
    if (!kvm_ok)
        printf("  the KVM guest did not complete: %s\n", why);
    else if (emu_vs_kvm) {
        kc_diff_regs(&kr, &er, "kvm", "emulator", "  ");
        kc_diff_mem(g->ram, emu_mem, KG_SPAN, "kvm", "emulator", "  ");
        kc_diff_log(g->log, g->nlog, emu_log, en, "kvm", "emulator", "  ");
    }
    if (emu_vs_model) {
        kc_diff_regs(&mr, &er, "model", "emulator", "  ");
        kc_diff_mem(model_mem, emu_mem, KG_SPAN, "model", "emulator", "  ");
        kc_diff_log(model_log, mn, emu_log, en, "model", "emulator", "  ");
    }
    if (kvm_ok)
        kc_print_regs("  kvm end: ", &kr);
    if (x->verbose)
        fvmm_dump_log(vm, stdout);
    return 0;
}

static void tally(struct ctx *x, const struct io_case *c, int verdict)
{
    unsigned f = form_of(c);
    x->form_count[f][mode_col(c->mode)]++;
    if (verdict == 0) {
        x->failed++;
        x->form_fail[f]++;
    } else {
        x->passed++;
        if (verdict == 2)
            x->kvm_dev_form[f]++;
    }
}

static void do_case(struct ctx *x, kc_rng *rng, const struct io_case *proto, int count_zero,
                    unsigned cb_counts[FVMM_CB_KINDS])
{
    struct io_case c;
    for (int attempt = 0; attempt < 20; attempt++) {
        c = *proto;
        if (make_case(x, rng, &c, count_zero)) {
            tally(x, &c, run_case(x, &c, cb_counts));
            return;
        }
    }
    x->generation_misses++;
}

static const uint8_t seg_prefixes[6] = {0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65};

static void fixed_cases(struct ctx *x, kc_rng *rng)
{
    static const unsigned sizes[3] = {1, 2, 4};
    static const uint8_t reps[3] = {0, 0xF3, 0xF2};
    unsigned idx = 0;
    for (unsigned mi = 0; mi < NIOMODES; mi++) {
        enum kg_mode m = io_modes[mi];
        if (!x->ok[m])
            continue;
        for (int kind = K_IN; kind <= K_OUT; kind++)
            for (int imm = 0; imm < 2; imm++)
                for (unsigned si = 0; si < 3; si++)
                    for (int again = 0; again < 2; again++) {
                        struct io_case p;
                        memset(&p, 0, sizeof p);
                        p.mode = m;
                        p.kind = kind;
                        p.imm = imm;
                        p.size = sizes[si];
                        p.bytes_mode = idx++ % 3;
                        do_case(x, rng, &p, 0, NULL);
                    }
        for (int kind = K_INS; kind <= K_OUTS; kind++)
            for (unsigned si = 0; si < 3; si++)
                for (unsigned ri = 0; ri < 3; ri++)
                    for (int df = 0; df < 2; df++)
                        for (int a67 = 0; a67 < 2; a67++)
                            for (unsigned sp = 0; sp < 7; sp++) {
                                if (kind == K_INS && sp > 1)
                                    break;
                                struct io_case p;
                                memset(&p, 0, sizeof p);
                                p.mode = m;
                                p.kind = kind;
                                p.size = sizes[si];
                                p.rep = reps[ri];
                                p.df = df;
                                p.a67 = a67;
                                if (sp)
                                    p.segpfx = kind == K_INS
                                                   ? seg_prefixes[kc_range(rng, 0, 5)]
                                                   : seg_prefixes[sp - 1];
                                p.bytes_mode = idx++ % 3;
                                do_case(x, rng, &p, 0, NULL);
                                if (p.rep && sp == 0)
                                    do_case(x, rng, &p, 1, NULL); /* RCX = 0 */
                            }
    }
}

static void random_cases(struct ctx *x, kc_rng *rng, unsigned n)
{
    enum kg_mode usable[NIOMODES];
    unsigned nu = 0;
    for (unsigned i = 0; i < NIOMODES; i++)
        if (x->ok[io_modes[i]])
            usable[nu++] = io_modes[i];
    static const unsigned sizes[3] = {1, 2, 4};
    static const uint8_t reps[3] = {0, 0xF3, 0xF2};
    for (unsigned i = 0; i < n; i++) {
        struct io_case p;
        memset(&p, 0, sizeof p);
        p.mode = usable[kc_range(rng, 0, nu - 1)];
        p.kind = (int)kc_range(rng, K_IN, K_OUTS);
        p.size = sizes[kc_range(rng, 0, 2)];
        p.bytes_mode = (unsigned)kc_range(rng, 0, 2);
        if (p.kind == K_IN || p.kind == K_OUT) {
            p.imm = kc_chance(rng, 1, 2);
        } else {
            p.rep = reps[kc_range(rng, 0, 2)];
            p.df = kc_chance(rng, 1, 2);
            p.a67 = kc_chance(rng, 1, 3);
            if (kc_chance(rng, 1, 3))
                p.segpfx = seg_prefixes[kc_range(rng, 0, 5)];
        }
        if (is64(p.mode) && kc_chance(rng, 1, 6)) {
            p.rex = (uint8_t)(0x40 | kc_range(rng, 0, 15));
            if (p.size == 2)
                p.rex &= (uint8_t)~8u; /* REX.W would override the 0x66 */
        }
        do_case(x, rng, &p, 0, NULL);
    }
}

static void print_cb(const char *what, const unsigned n[FVMM_CB_KINDS])
{
    printf("callbacks for %s: io %u, memory %u, translate %u, get-registers %u, "
           "set-registers %u\n",
           what, n[FVMM_CB_IO], n[FVMM_CB_MEMORY], n[FVMM_CB_TRANSLATE], n[FVMM_CB_GET_REGS],
           n[FVMM_CB_SET_REGS]);
}

static void measured_cases(struct ctx *x, kc_rng *rng)
{
    enum kg_mode m = x->ok[KG_M64] ? KG_M64 : x->ok[KG_M64U] ? KG_M64U
                   : x->ok[KG_M32] ? KG_M32 : KG_M16;
    struct io_case p;
    unsigned n[FVMM_CB_KINDS];
    memset(&p, 0, sizeof p);
    p.mode = m;
    p.kind = K_OUT;
    p.size = 1;
    memset(n, 0, sizeof n);
    do_case(x, rng, &p, 0, n);
    print_cb("OUT DX,AL", n);
    p.kind = K_IN;
    p.size = 4;
    memset(n, 0, sizeof n);
    do_case(x, rng, &p, 0, n);
    print_cb("IN EAX,DX", n);
    p.kind = K_OUTS;
    p.size = 1;
    p.rep = 0xF3;
    p.fixed_count = 1;
    p.want_count = 16;
    memset(n, 0, sizeof n);
    do_case(x, rng, &p, 0, n);
    print_cb("REP OUTSB (16 bytes)", n);
}

static void print_table(const struct ctx *x)
{
    printf("%-16s", "form");
    for (unsigned i = 0; i < NIOMODES; i++)
        printf(" %12s", kg_mode_name(io_modes[i]));
    printf(" %7s %7s %7s\n", "total", "failed", "kvm-dev");
    for (unsigned f = 0; f < NFORMS; f++) {
        char name[32];
        unsigned total = 0;
        form_name(f, name, sizeof name);
        printf("%-16s", name);
        for (unsigned i = 0; i < NIOMODES; i++) {
            printf(" %12u", x->form_count[f][i]);
            total += x->form_count[f][i];
        }
        printf(" %7u %7u %7u\n", total, x->form_fail[f], x->kvm_dev_form[f]);
    }
}

int main(void)
{
    static struct ctx x;
    setvbuf(stdout, NULL, _IOLBF, 0);
    x.verbose = getenv("WHVEMU_KVM_VERBOSE") != NULL;
    int all_native = kc_open_and_probe(&x.g, io_modes, NIOMODES, x.ok);
    (void)all_native;
    for (unsigned i = 0; i < NIOMODES; i++) {
        enum kg_mode m = io_modes[i];
        fake_vmm *vm = fvmm_create();
        if (is64(m))
            for (uint64_t a = 0; a < KG_WIN_SIZE; a += 0x1000) {
                fvmm_map_gva(vm, KG_W32 + a, a);
                fvmm_map_gva(vm, KG_H1 + a, a);
                fvmm_map_gva(vm, KG_H2 + a, a);
            }
        x.vm[m] = vm;
    }
    if (WHvEmulatorCreateEmulator(fvmm_callbacks(), &x.emu) != S_OK) {
        printf("cannot create the emulator\n");
        return 1;
    }
    kc_rng rng;
    kc_seed(&rng, FIXED_SEED);
    for (size_t i = 0; i < KG_SPAN; i += 8) {
        uint64_t v = kc_next(&rng);
        memcpy(x.pattern + i, &v, 8);
    }
    printf("fixed seed 0x%llx\n", (unsigned long long)FIXED_SEED);
    fixed_cases(&x, &rng);
    measured_cases(&x, &rng);
    uint64_t seed = kc_random_seed();
    printf("random seed 0x%llx (replay with WHVEMU_KVM_SEED=0x%llx)\n", (unsigned long long)seed,
           (unsigned long long)seed);
    kc_seed(&rng, seed);
    random_cases(&x, &rng, RANDOM_CASES);

    print_table(&x);
    printf("get-registers calls with an override (most seen): FS %u, GS %u, ES %u, CS %u, "
           "SS %u, DS %u\n",
           x.get_calls_with_override[0], x.get_calls_with_override[1],
           x.get_calls_with_override[4], x.get_calls_with_override[5],
           x.get_calls_with_override[6], x.get_calls_with_override[7]);
    printf("KVM deviations (KVM disagreed, the emulator matched the architectural model; "
           "counted as passed): %u\n",
           x.kvm_deviations);
    if (x.model_disagreements)
        printf("cases where KVM and the emulator agreed but the test's model did not: %u\n",
               x.model_disagreements);
    if (x.generation_misses)
        printf("cases that found no placement (not run): %u\n", x.generation_misses);
    if (x.reported > MAX_FAIL_REPORTS)
        printf("(%u failures not shown)\n", x.reported - MAX_FAIL_REPORTS);

    WHvEmulatorDestroyEmulator(x.emu);
    for (unsigned i = 0; i < NIOMODES; i++)
        fvmm_destroy(x.vm[io_modes[i]]);
    kg_close(&x.g);
    printf("%u passed, %u failed\n", x.passed, x.failed);
    return x.failed ? 1 : 0;
}
