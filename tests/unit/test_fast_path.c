/*
 * test_fast_path.c - the exit shortcut (src/fast.c) against the general
 * path: the same random exits given to a handle with the shortcut and to
 * one without it (WHVEMU_NO_FAST_PATH when it was created) must make the
 * same callbacks, in the same order, with the same arguments and results,
 * and end with the same status and diagnostics.
 *
 * The exits are what the shortcut takes and what lies just beside it: MOV,
 * MOVZX/MOVSX/MOVSXD and ALU instructions with random prefixes (LOCK,
 * segment overrides, operand and address size, REX), ModRM, SIB and
 * displacement, in every CPU mode, with random registers (some canonical in
 * 57 bits but not 48, with and without CR4.LA57) and segments; the
 * exit's GVA and GPA are where the operand is (found by a probe run without
 * them) or, now and then, elsewhere or of another access type; TF, RF, AC
 * with CR0.AM at CPL 3, interrupt shadows and a failing callback now and
 * then; IN and OUT exits with matching and mismatching bytes; REP MOVS from
 * guest RAM to a device page with direct guest RAM, every count, direction,
 * element size and REP limit.
 *
 *   test_fast_path [CASES [SEED]]
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness/fake_vmm.h"
#include "../harness/test_rng.h"
#include "whvemu.h"

static unsigned failures;

/* The opcodes the shortcut stands in for, and some it does not. */
static const uint8_t ops1[] = {0x00, 0x01, 0x02, 0x03, 0x08, 0x09, 0x0A, 0x0B, 0x10, 0x11, 0x12,
                               0x13, 0x18, 0x19, 0x1A, 0x1B, 0x20, 0x21, 0x22, 0x23, 0x28, 0x29,
                               0x2A, 0x2B, 0x30, 0x31, 0x32, 0x33, 0x38, 0x39, 0x3A, 0x3B, 0x63,
                               0x80, 0x81, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8B,
                               0x8C, 0xC6, 0xC7, 0xF6, 0xF7, 0xFE, 0xFF};
static const uint8_t ops0f[] = {0xB6, 0xB7, 0xBE, 0xBF, 0xA3, 0xAF, 0xC0, 0xC1};
static const uint8_t pfx[] = {0x66, 0x67, 0xF0, 0xF2, 0xF3, 0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65};

enum { M_REAL, M_PROT16, M_PROT32, M_COMPAT, M_LONG, M_COUNT };

static WHV_X64_SEGMENT_REGISTER seg(uint64_t base, uint32_t limit, uint16_t sel, uint16_t attr)
{
    WHV_X64_SEGMENT_REGISTER s;
    memset(&s, 0, sizeof(s));
    s.Base = base;
    s.Limit = limit;
    s.Selector = sel;
    s.Attributes = attr;
    return s;
}

static uint64_t rnd_reg(void)
{
    switch (rnd() % 6) {
    case 0: return rnd() & 0xFFFF;
    case 1: return rnd() & 0xFFFFFFFFu;
    case 2: return 0x10000 + (rnd() & 0xFFF) - 8; /* near a page end */
    case 3: return rnd() & 0x7FFFFFFFFFFFull;
    case 4: /* canonical in 57 bits, not in 48 (CR4.LA57 decides) */
        return (rnd() % 2 ? 0xFF00000000000000ull : 0) | 0x0000800000000000ull |
               (rnd() & 0x007FFFFFFFFFFFFFull);
    default: return rnd();
    }
}

/* A data segment outside 64-bit mode: mostly flat, sometimes with a base,
 * a small limit, expand-down, read-only, not present or a code segment. */
static WHV_X64_SEGMENT_REGISTER rnd_data_seg(int real)
{
    uint16_t sel = (uint16_t)(rnd() & 0xFFF8);
    if (real)
        return seg((uint64_t)sel << 4, 0xFFFF, sel, 0x93);
    uint64_t base = (rnd() % 3) ? 0 : (rnd() & 0xFFFFF000u);
    uint32_t limit = (rnd() % 4) ? 0xFFFFFFFFu : (uint32_t)(rnd() & 0xFFFFF);
    static const uint16_t attrs[] = {0xC093, 0xC093, 0xC093, 0xC0F3, 0xC091, 0xC097, 0xC09B,
                                     0xC099, 0x4093, 0x0093, 0xC013};
    return seg(base, limit, sel, attrs[rnd() % (sizeof(attrs) / sizeof(attrs[0]))]);
}

static void setup(fake_vmm *vm, int mode, unsigned cpl, const uint64_t gpr[16],
                  const WHV_X64_SEGMENT_REGISTER sregs[6], uint64_t rflags, uint64_t rip,
                  int la57)
{
    fvmm_setup_long_mode(vm, cpl);
    static const WHV_REGISTER_NAME sn[6] = {WHvX64RegisterEs, WHvX64RegisterCs,
                                            WHvX64RegisterSs, WHvX64RegisterDs,
                                            WHvX64RegisterFs, WHvX64RegisterGs};
    WHV_REGISTER_VALUE v;
    for (unsigned i = 0; i < 16; i++)
        fvmm_set_reg64(vm, (WHV_REGISTER_NAME)(WHvX64RegisterRax + i), gpr[i]);
    for (unsigned i = 0; i < 6; i++) {
        memset(&v, 0, sizeof(v));
        v.Segment = sregs[i];
        fvmm_reg_set(vm, sn[i], &v);
    }
    fvmm_set_reg64(vm, WHvX64RegisterRflags, rflags);
    fvmm_set_reg64(vm, WHvX64RegisterRip, rip);
    if (mode != M_LONG && mode != M_COMPAT) {
        fvmm_set_reg64(vm, WHvX64RegisterEfer, 0);
        fvmm_set_reg64(vm, WHvX64RegisterCr4, 0x600);
        fvmm_set_reg64(vm, WHvX64RegisterCr0, mode == M_REAL ? 0x60000010 : 0x40050033);
    }
    if (la57)
        fvmm_set_reg64(vm, WHvX64RegisterCr4, fvmm_reg64(vm, WHvX64RegisterCr4) | (1u << 12));
    fvmm_set_cpl(vm, cpl);
}

/* One machine state and exit, given to the probe, the shortcut and the
 * general path. */
struct exitcase {
    int mode, io;
    unsigned cpl;
    uint64_t gpr[16];
    WHV_X64_SEGMENT_REGISTER sregs[6];
    uint64_t rflags, rip;
    WHV_VP_EXIT_CONTEXT vp;
    WHV_MEMORY_ACCESS_CONTEXT mc;
    WHV_X64_IO_PORT_ACCESS_CONTEXT ioc;
    int fail_kind; /* -1: none */
    int ram;       /* the machine's RAM registered as direct guest RAM */
    int la57;      /* CR4.LA57 (64-bit modes) */
    uint64_t src_page, dst_page; /* REP MOVS: the source (RAM) and device pages */
    uint32_t rep_limit;
};

#define MOVS_SRC 0x200000ull
#define MOVS_DST 0x400000ull
#define MOVS_MMIO 0xFED00000ull

static void make_case(struct exitcase *c)
{
    memset(c, 0, sizeof(*c));
    c->mode = (int)(rnd() % M_COUNT);
    c->io = rnd() % 4 == 0;
    c->la57 = (c->mode == M_LONG || c->mode == M_COMPAT) && rnd() % 4 == 0;
    c->cpl = c->mode == M_REAL ? 0 : (rnd() % 3 == 0 ? 3 : 0);
    for (unsigned i = 0; i < 16; i++)
        c->gpr[i] = rnd_reg();
    int real = c->mode == M_REAL;
    for (unsigned i = 0; i < 6; i++)
        c->sregs[i] = rnd_data_seg(real);
    if (c->mode == M_LONG || c->mode == M_COMPAT) {
        for (unsigned i = 0; i < 6; i++)
            if (i != 4 && i != 5 && rnd() % 2)
                c->sregs[i].Base = 0;
    }
    uint16_t csattr = c->mode == M_LONG     ? 0x209B
                      : c->mode == M_PROT16 ? 0x009B
                      : c->mode == M_REAL   ? 0x0093
                                            : 0xC09B;
    if (c->cpl == 3)
        csattr |= 0x60;
    c->sregs[1] = seg(real ? 0x10000 : 0, real ? 0xFFFF : 0xFFFFFFFFu, real ? 0x1000 : 0x10,
                      csattr);
    c->rflags = 0x2 | (rnd() & (0x8D5 | 0x40000)); /* arithmetic flags, DF, AC */
    if (rnd() % 16 == 0)
        c->rflags |= 0x100; /* TF */
    if (rnd() % 16 == 0)
        c->rflags |= 0x10000; /* RF */
    c->rip = real ? (rnd() & 0xFFF0) : 0x1000 + (rnd() & 0xFFF0);
    WHV_VP_EXIT_CONTEXT *vp = &c->vp;
    vp->ExecutionState.Cpl = c->cpl;
    vp->ExecutionState.Cr0Pe = !real;
    vp->ExecutionState.Cr0Am = 1;
    vp->ExecutionState.EferLma = c->mode == M_LONG || c->mode == M_COMPAT;
    vp->ExecutionState.InterruptShadow = rnd() % 16 == 0;
    vp->ExecutionState.InterruptionPending = rnd() % 64 == 0;
    vp->Cs = c->sregs[1];
    vp->Rip = c->rip;
    vp->Rflags = c->rflags;
    c->fail_kind = -1;
    if (rnd() % 8 == 0) {
        static const int kinds[] = {FVMM_CB_GET_REGS, FVMM_CB_SET_REGS, FVMM_CB_MEMORY,
                                    FVMM_CB_IO};
        c->fail_kind = kinds[rnd() % 4];
    }

    uint8_t b[16];
    for (unsigned i = 0; i < 16; i++)
        b[i] = (uint8_t)rnd();
    unsigned n = 0;
    if (c->io) {
        static const uint8_t io_ops[] = {0xE4, 0xE5, 0xE6, 0xE7, 0xEC, 0xED, 0xEE, 0xEF, 0x89};
        if (rnd() % 3 == 0)
            b[n++] = 0x66;
        uint8_t op = io_ops[rnd() % sizeof(io_ops)];
        b[n++] = op;
        WHV_X64_IO_PORT_ACCESS_CONTEXT *ioc = &c->ioc;
        ioc->InstructionByteCount = (UINT8)(rnd() % 8 == 0 ? 0 : n + 1 + rnd() % (16 - n));
        memcpy(ioc->InstructionBytes, b, 16);
        ioc->AccessInfo.IsWrite = (op & 2) ? 1 : 0;
        if (rnd() % 8 == 0)
            ioc->AccessInfo.IsWrite ^= 1;
        /* Mostly the size the bytes give. */
        static const UINT8 sizes[] = {1, 2, 4};
        int wide16 = (n == 2) == (c->mode == M_REAL || c->mode == M_PROT16);
        ioc->AccessInfo.AccessSize = !(op & 1) ? 1 : wide16 ? 4 : 2;
        if (rnd() % 8 == 0)
            ioc->AccessInfo.AccessSize = sizes[rnd() % 3];
        ioc->AccessInfo.StringOp = rnd() % 16 == 0;
        ioc->PortNumber = (rnd() % 4) ? b[n] : (UINT16)rnd();
        ioc->Rax = rnd();
        ioc->Ds = c->sregs[3];
        ioc->Es = c->sregs[0];
        vp->InstructionLength = (UINT8)(1 + rnd() % 3);
        return;
    }
    unsigned np = rnd() % 4;
    for (unsigned i = 0; i < np; i++)
        b[n++] = pfx[rnd() % sizeof(pfx)];
    if (c->mode == M_LONG && rnd() % 2)
        b[n++] = (uint8_t)(0x40 | (rnd() & 15));
    if (rnd() % 5 == 0) {
        b[n++] = 0x0F;
        b[n++] = ops0f[rnd() % sizeof(ops0f)];
    } else {
        b[n++] = ops1[rnd() % sizeof(ops1)];
    }
    if ((b[n] >> 6) == 3) /* a memory form, mostly */
        b[n] = (uint8_t)(b[n] & (rnd() % 8 ? 0xBF : 0xFF));
    c->mc.InstructionByteCount = 16;
    memcpy(c->mc.InstructionBytes, b, 16);
}

/* REP MOVS in 64-bit mode from guest RAM to a device page, with direct
 * guest RAM: counts within one page and beyond, both directions, every
 * element size, segment overrides, 32-bit addressing now and then. */
static void make_movs_case(struct exitcase *c)
{
    make_case(c);
    c->io = 0;
    c->mode = M_LONG;
    c->ram = 1;
    c->vp.ExecutionState.Cr0Pe = 1;
    c->vp.ExecutionState.EferLma = 1;
    c->sregs[1] = seg(0, 0xFFFFFFFFu, c->cpl == 3 ? 0x33 : 0x10, c->cpl == 3 ? 0x20FB : 0x209B);
    c->vp.Cs = c->sregs[1];
    c->src_page = MOVS_SRC + ((rnd() & 7) << 12);
    c->dst_page = MOVS_DST + ((rnd() & 7) << 12);
    c->gpr[6] = c->src_page + (rnd() & 0xFFF);
    c->gpr[7] = c->dst_page + (rnd() & 0xFFF);
    c->gpr[1] = rnd() % 4 ? rnd() % 64 : rnd() % 5000;
    uint8_t b[16];
    for (unsigned i = 0; i < 16; i++)
        b[i] = (uint8_t)rnd();
    unsigned n = 0;
    if (rnd() % 4 == 0)
        b[n++] = 0x66;
    if (rnd() % 16 == 0)
        b[n++] = 0x67;
    if (rnd() % 8 == 0)
        b[n++] = rnd() % 2 ? 0x64 : 0x65;
    b[n++] = rnd() % 8 ? 0xF3 : 0xF2;
    if (rnd() % 4 == 0)
        b[n++] = 0x48;
    b[n++] = rnd() % 2 ? 0xA4 : 0xA5;
    c->mc.InstructionByteCount = 16;
    memcpy(c->mc.InstructionBytes, b, 16);
    c->mc.AccessInfo.AccessType = WHvMemoryAccessWrite;
    c->mc.AccessInfo.GvaValid = 1;
    c->mc.AccessInfo.GpaUnmapped = 1;
    c->mc.Gva = c->gpr[7];
    c->mc.Gpa = MOVS_MMIO | (c->gpr[7] & 0xFFF);
    static const uint32_t limits[] = {0, 4096, 16, 1};
    c->rep_limit = limits[rnd() % 4];
}

static fake_vmm *machine(const struct exitcase *c)
{
    fake_vmm *vm = fvmm_create();
    setup(vm, c->mode, c->cpl, c->gpr, c->sregs, c->rflags, c->rip, c->la57);
    if (c->ram) {
        fvmm_set_guest_ram_mode(vm, 1);
        for (unsigned i = 0; i < 8; i++) {
            uint8_t data[FVMM_PAGE_SIZE];
            for (unsigned k = 0; k < sizeof(data); k++)
                data[k] = (uint8_t)(k * 7 + i);
            fvmm_gpa_write(vm, MOVS_SRC + i * FVMM_PAGE_SIZE, data, sizeof(data));
            fvmm_map_gva(vm, MOVS_SRC + i * FVMM_PAGE_SIZE, MOVS_SRC + i * FVMM_PAGE_SIZE);
            fvmm_map_gva(vm, MOVS_DST + i * FVMM_PAGE_SIZE, MOVS_MMIO + i * FVMM_PAGE_SIZE);
            fvmm_set_mmio(vm, MOVS_MMIO + i * FVMM_PAGE_SIZE, 1);
        }
    }
    if (c->fail_kind >= 0)
        fvmm_fail_nth(vm, (fvmm_cb_kind)c->fail_kind, 1, E_FAIL);
    return vm;
}

/* The operand's page and GPA, from a run without the exit's GVA: the
 * translate call the general path makes names the linear page, the first
 * memory callback its offset. */
static void locate(WHV_EMULATOR_HANDLE slow, struct exitcase *c)
{
    fake_vmm *vm = fvmm_create();
    setup(vm, c->mode, c->cpl, c->gpr, c->sregs, c->rflags, c->rip, c->la57);
    WHV_EMULATOR_STATUS st;
    WHvEmulatorTryMmioEmulation(slow, vm, &c->vp, &c->mc, &st);
    uint64_t page = 0, off = 0;
    int have_page = 0, have_off = 0;
    for (size_t i = 0; i < fvmm_call_count(vm); i++) {
        const fvmm_call *k = fvmm_call_at(vm, i);
        if (k->kind == FVMM_CB_TRANSLATE && !have_page) {
            page = k->u.translate.gva & FVMM_PAGE_MASK;
            have_page = 1;
        } else if (k->kind == FVMM_CB_MEMORY && !have_off) {
            off = k->u.mem.gpa & (FVMM_PAGE_SIZE - 1);
            have_off = 1;
        }
    }
    fvmm_destroy(vm);
    WHV_MEMORY_ACCESS_CONTEXT *mc = &c->mc;
    mc->AccessInfo.AccessType = rnd() % 2 ? WHvMemoryAccessWrite : WHvMemoryAccessRead;
    if (rnd() % 16 == 0)
        mc->AccessInfo.AccessType = WHvMemoryAccessExecute;
    mc->AccessInfo.GvaValid = have_page && rnd() % 16 != 0;
    mc->AccessInfo.GpaUnmapped = 1;
    mc->Gva = page | off;
    if (rnd() % 16 == 0)
        mc->Gva ^= (rnd() % 2) ? FVMM_PAGE_SIZE : (rnd() & 0xFFF);
    mc->Gpa = 0xFEE00000ull + ((rnd() & 7) << 12) + (mc->Gva & 0xFFF);
}

static int same_calls(const fake_vmm *a, const fake_vmm *b, const char **what)
{
    if (fvmm_call_count(a) != fvmm_call_count(b)) {
        *what = "number of callbacks";
        return 0;
    }
    for (size_t i = 0; i < fvmm_call_count(a); i++) {
        const fvmm_call *x = fvmm_call_at(a, i), *y = fvmm_call_at(b, i);
        if (x->kind != y->kind || x->hr != y->hr) {
            *what = "callback kind or result";
            return 0;
        }
        int same = 1;
        const char *w = NULL;
        switch (x->kind) {
        case FVMM_CB_GET_REGS:
        case FVMM_CB_SET_REGS:
            w = "register names or values";
            same = x->u.regs.count == y->u.regs.count &&
                   !memcmp(fvmm_call_reg_names(a, x), fvmm_call_reg_names(b, y),
                           x->u.regs.count * sizeof(WHV_REGISTER_NAME)) &&
                   !memcmp(fvmm_call_reg_values(a, x), fvmm_call_reg_values(b, y),
                           x->u.regs.count * sizeof(WHV_REGISTER_VALUE));
            break;
        case FVMM_CB_MEMORY:
            w = "memory access";
            same = !memcmp(&x->u.mem, &y->u.mem, sizeof(x->u.mem));
            break;
        case FVMM_CB_TRANSLATE:
            w = "translation";
            same = !memcmp(&x->u.translate, &y->u.translate, sizeof(x->u.translate));
            break;
        case FVMM_CB_IO:
            w = "port access";
            same = !memcmp(&x->u.io, &y->u.io, sizeof(x->u.io));
            break;
        default:
            break;
        }
        if (!same) {
            *what = w;
            return 0;
        }
    }
    return 1;
}

static int same_diag(WHV_EMULATOR_HANDLE a, WHV_EMULATOR_HANDLE b)
{
    WHVEMU_DIAGNOSTICS x, y;
    memset(&x, 0, sizeof(x));
    memset(&y, 0, sizeof(y));
    x.Size = y.Size = sizeof(x);
    if (whvemu_get_last_diagnostics(a, &x) != S_OK || whvemu_get_last_diagnostics(b, &y) != S_OK)
        return 0;
    return x.Reason == y.Reason && x.CpuMode == y.CpuMode && x.Callback == y.Callback &&
           x.CallbackResult == y.CallbackResult && x.FaultVector == y.FaultVector &&
           x.FaultErrorCode == y.FaultErrorCode && x.FaultCr2 == y.FaultCr2 &&
           x.InstructionByteCount == y.InstructionByteCount &&
           !memcmp(x.InstructionBytes, y.InstructionBytes, sizeof(x.InstructionBytes)) &&
           !strcmp(x.Mnemonic, y.Mnemonic) && !strcmp(x.Message, y.Message);
}

int main(int argc, char **argv)
{
    unsigned cases = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 0) : 200000;
    uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 0) : 0x5EED0FA57ull;
    printf("test_fast_path: %u cases, seed %#" PRIx64 "\n", cases, seed);
    rng_seed(seed);
    WHV_EMULATOR_HANDLE fast, slow;
    unsetenv("WHVEMU_NO_FAST_PATH");
    if (WHvEmulatorCreateEmulator(fvmm_callbacks(), &fast) != S_OK)
        return 1;
    setenv("WHVEMU_NO_FAST_PATH", "1", 1);
    if (WHvEmulatorCreateEmulator(fvmm_callbacks(), &slow) != S_OK)
        return 1;
    unsigned done = 0, with_exit = 0;
    for (unsigned i = 0; i < cases; i++) {
        struct exitcase c;
        if (i % 8 == 7) {
            make_movs_case(&c);
        } else {
            make_case(&c);
            c.rep_limit = 4096;
            if (!c.io)
                locate(slow, &c);
        }
        fake_vmm *a = machine(&c), *b = machine(&c);
        whvemu_set_rep_limit(fast, c.rep_limit);
        whvemu_set_rep_limit(slow, c.rep_limit);
        /* Direct guest RAM for both when the case has it. */
        if (c.ram) {
            fvmm_sync_guest_ram(a, fast);
            fvmm_sync_guest_ram(b, slow);
        }
        WHV_EMULATOR_STATUS sa, sb;
        HRESULT ha, hb;
        if (c.io) {
            ha = WHvEmulatorTryIoEmulation(fast, a, &c.vp, &c.ioc, &sa);
            hb = WHvEmulatorTryIoEmulation(slow, b, &c.vp, &c.ioc, &sb);
        } else {
            ha = WHvEmulatorTryMmioEmulation(fast, a, &c.vp, &c.mc, &sa);
            hb = WHvEmulatorTryMmioEmulation(slow, b, &c.vp, &c.mc, &sb);
        }
        const char *what = NULL;
        if (ha != hb || sa.AsUINT32 != sb.AsUINT32)
            what = "status";
        else if (!same_calls(a, b, &what))
            ;
        else if (!same_diag(fast, slow))
            what = "diagnostics";
        if (what) {
            failures++;
            if (failures <= 10) {
                printf("FAIL case %u (%s exit, mode %d%s): %s differs; bytes", i,
                       c.io ? "port" : "memory", c.mode, c.ram ? ", guest RAM" : "", what);
                const UINT8 *by = c.io ? c.ioc.InstructionBytes : c.mc.InstructionBytes;
                for (unsigned k = 0; k < 16; k++)
                    printf(" %02x", by[k]);
                printf("\n  status %#x / %#x; shortcut log:\n", sa.AsUINT32, sb.AsUINT32);
                fvmm_dump_log(a, stdout);
                printf("  general log:\n");
                fvmm_dump_log(b, stdout);
            }
        }
        done += sa.EmulationSuccessful;
        with_exit += !c.io && c.mc.AccessInfo.GvaValid;
        /* No handle keeps a map of a machine that is gone (the next case's
         * probe runs on the general handle). */
        whvemu_set_guest_ram(fast, NULL, 0);
        whvemu_set_guest_ram(slow, NULL, 0);
        fvmm_destroy(a);
        fvmm_destroy(b);
    }
    WHvEmulatorDestroyEmulator(fast);
    WHvEmulatorDestroyEmulator(slow);
    printf("%u cases (%u memory exits with a GVA, %u successful), %u differ\n", cases, with_exit,
           done, failures);
    return failures ? 1 : 0;
}
