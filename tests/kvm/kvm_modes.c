/*
 * kvm_modes.c - MMIO instructions in 32-bit protected mode with paging,
 * 32-bit protected mode without paging and 64-bit mode, checked against
 * KVM (a mode KVM cannot run is reported and left out). The guest's page
 * tables map a supervisor-only page and a user page onto guest-physical
 * addresses that no memory slot backs (KVM exits with KVM_EXIT_MMIO), next
 * to RAM pages; without paging the same physical pages are addressed
 * directly. CPL 0 code runs MOV,
 * ADD, MOVZX, MOV with a SIB operand, REP MOVSB/MOVSD and REP STOSD on them,
 * including accesses split between a RAM page and an MMIO page. The same
 * state then goes through WHvEmulatorTryMmioEmulation with the exit the
 * platform would give for the first MMIO access, and the final registers,
 * RAM and the ordered MMIO accesses must agree. (CPL 3 is not covered.)
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

#define FIXED_SEED 0x3A7E5EEDull
#define CASES_PER_TEMPLATE 40
#define RANDOM_CASES 300
#define MAX_FAIL_REPORTS 20

/* Virtual layout (32-bit paging, 4 KiB pages). */
#define VA_RAM_LOW 0x002FF000u /* supervisor RAM page right below the MMIO page */
#define VA_MMIO 0x00300000u    /* supervisor-only MMIO page */
#define VA_MMIO_U 0x00301000u  /* user MMIO page */
#define VA_RAM 0x00400000u     /* RAM page for string operands */
#define GPA_RAM_LOW 0x22000u
#define GPA_MMIO 0xD0000000u
#define GPA_MMIO_U 0xD0001000u
#define GPA_RAM 0x23000u

enum op {
    OP_LOAD,   /* reads the MMIO operand */
    OP_STORE,  /* writes it */
    OP_RMW,    /* reads, then writes */
    OP_MOVS_TO,   /* REP MOVS from RAM to MMIO */
    OP_MOVS_FROM, /* REP MOVS from MMIO to RAM */
    OP_STOS,      /* REP STOS to MMIO */
};

struct tmpl {
    const char *name;
    uint8_t bytes[12];
    unsigned len;
    enum op op;
    unsigned size; /* operand or element size */
};

static const struct tmpl tmpls[] = {
    {"MOV EAX,[EBX]", {0x8B, 0x03}, 2, OP_LOAD, 4},
    {"MOV AX,[EBX]", {0x66, 0x8B, 0x03}, 3, OP_LOAD, 2},
    {"MOV AL,[EBX]", {0x8A, 0x03}, 2, OP_LOAD, 1},
    {"MOV [EBX],ECX", {0x89, 0x0B}, 2, OP_STORE, 4},
    {"MOV [EBX],CX", {0x66, 0x89, 0x0B}, 3, OP_STORE, 2},
    {"MOV [EBX],CL", {0x88, 0x0B}, 2, OP_STORE, 1},
    {"MOV [EBX],imm32", {0xC7, 0x03, 0x78, 0x56, 0x34, 0x12}, 6, OP_STORE, 4},
    {"ADD [EBX],ECX", {0x01, 0x0B}, 2, OP_RMW, 4},
    {"ADD ECX,[EBX]", {0x03, 0x0B}, 2, OP_LOAD, 4},
    {"ADD byte [EBX],imm8", {0x80, 0x03, 0x9C}, 3, OP_RMW, 1},
    {"MOVZX ECX,byte [EBX]", {0x0F, 0xB6, 0x0B}, 3, OP_LOAD, 1},
    {"MOV EAX,[EBX+ESI*4+disp32]", {0x8B, 0x84, 0xB3, 0, 0, 0, 0}, 7, OP_LOAD, 4},
    {"REP MOVSB RAM->MMIO", {0xF3, 0xA4}, 2, OP_MOVS_TO, 1},
    {"REP MOVSB MMIO->RAM", {0xF3, 0xA4}, 2, OP_MOVS_FROM, 1},
    {"REP MOVSD RAM->MMIO", {0xF3, 0xA5}, 2, OP_MOVS_TO, 4},
    {"REP MOVSD MMIO->RAM", {0xF3, 0xA5}, 2, OP_MOVS_FROM, 4},
    {"REP STOSD MMIO", {0xF3, 0xAB}, 2, OP_STOS, 4},
};
#define NTMPL (sizeof tmpls / sizeof tmpls[0])

#define NMMODES 3
static const enum kg_mode mmio_modes[NMMODES] = {KG_M32P, KG_M32, KG_M64};

/* Where the operand pages are in the mode's linear address space. */
struct layout {
    uint64_t ram_low, mmio, mmio_u, ram;
};

static struct layout layout_of(enum kg_mode m)
{
    struct layout l = {VA_RAM_LOW, VA_MMIO, VA_MMIO_U, VA_RAM};
    if (m == KG_M32) {
        /* no paging: linear = physical */
        l.ram_low = GPA_RAM_LOW;
        l.mmio = GPA_MMIO;
        l.mmio_u = GPA_MMIO_U;
        l.ram = GPA_RAM;
    }
    return l;
}

struct mcase {
    enum kg_mode mode;
    const struct tmpl *t;
    uint8_t bytes[16];
    unsigned len;
    unsigned bytes_mode; /* 0 exact, 1 sixteen, 2 none */
    int user_page;       /* the MMIO operand is in the user page */
    int split;           /* the operand starts in the RAM page below */
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
    uint8_t mmio_init[0x2000];
    unsigned passed, failed, reported, kvm_deviations;
    unsigned count[NTMPL][NMMODES], fails[NTMPL];
    int verbose;
};

static void make_case(struct ctx *x, kc_rng *rng, enum kg_mode m, const struct tmpl *t,
                      struct mcase *c)
{
    memset(c, 0, sizeof(*c));
    c->mode = m;
    c->t = t;
    struct layout lay = layout_of(m);
    uint64_t rip;
    kg_mode_state(&x->g, m, &c->s, &rip);
    c->r.rip = rip;
    c->r.rax = kc_next(rng) & 0xFFFFFFFFu;
    c->r.rbx = kc_next(rng) & 0xFFFFFFFFu;
    c->r.rcx = kc_next(rng) & 0xFFFFFFFFu;
    c->r.rdx = kc_next(rng) & 0xFFFFFFFFu;
    c->r.rsi = kc_next(rng) & 0xFFFFFFFFu;
    c->r.rdi = kc_next(rng) & 0xFFFFFFFFu;
    c->r.rbp = kc_next(rng) & 0xFFFFFFFFu;
    c->r.rsp = 0x7F000;
    c->r.rflags = 0x2 | (kc_next(rng) & 0x8D5);
    c->bytes_mode = (unsigned)kc_range(rng, 0, 2);
    c->user_page = kc_chance(rng, 1, 3);
    uint64_t mmio = c->user_page ? lay.mmio_u : lay.mmio;
    memcpy(c->bytes, t->bytes, t->len);
    c->len = t->len;
    unsigned size = t->size;
    switch (t->op) {
    case OP_LOAD:
    case OP_STORE:
    case OP_RMW: {
        uint64_t ea;
        /* a split needs a RAM page right below the MMIO page (paging) */
        c->split = m != KG_M32 && !c->user_page && size > 1 && kc_chance(rng, 1, 4);
        if (c->split)
            ea = lay.mmio - kc_range(rng, 1, size - 1);
        else
            ea = mmio + kc_range(rng, 0, 0x1000 - size);
        if (t->len == 7) { /* [EBX+ESI*4+disp32] */
            uint64_t esi = kc_range(rng, 0, 0x100);
            uint32_t disp = (uint32_t)kc_next(rng);
            c->r.rsi = esi;
            if (m == KG_M64)
                c->r.rbx = ea - esi * 4 - (uint64_t)(int64_t)(int32_t)disp;
            else
                c->r.rbx = (ea - esi * 4 - disp) & 0xFFFFFFFFu;
            memcpy(c->bytes + 3, &disp, 4);
        } else {
            c->r.rbx = ea;
        }
        break;
    }
    default: {
        uint64_t n = kc_range(rng, 1, t->size == 1 ? 40 : 12);
        int df = kc_chance(rng, 1, 3);
        uint64_t len = n * size;
        uint64_t mstart = mmio + kc_range(rng, 0, 0x1000 - len);
        uint64_t rstart = lay.ram + kc_range(rng, 0, 0x1000 - len);
        if (size > 1 && kc_chance(rng, 1, 2)) {
            mstart &= ~(uint64_t)(size - 1);
            rstart &= ~(uint64_t)(size - 1);
        }
        uint64_t mfirst = df ? mstart + len - size : mstart;
        uint64_t rfirst = df ? rstart + len - size : rstart;
        c->r.rcx = n;
        if (df)
            c->r.rflags |= 0x400;
        if (t->op == OP_MOVS_TO) {
            c->r.rsi = rfirst;
            c->r.rdi = mfirst;
        } else if (t->op == OP_MOVS_FROM) {
            c->r.rsi = mfirst;
            c->r.rdi = rfirst;
        } else {
            c->r.rdi = mfirst;
        }
        break;
    }
    }
}

static uint64_t gva_of_gpa(enum kg_mode m, uint64_t gpa)
{
    struct layout lay = layout_of(m);
    if ((gpa & ~0xFFFull) == GPA_MMIO_U)
        return lay.mmio_u + (gpa & 0xFFF);
    return lay.mmio + (gpa & 0xFFF);
}

static void describe(const struct mcase *c)
{
    printf("[%s] %s bytes_mode=%u user_page=%d split=%d\n", kg_mode_name(c->mode),
           c->t->name, c->bytes_mode,
           c->user_page, c->split);
    kc_print_hex("  bytes: ", c->bytes, c->len);
    kc_print_regs("  start: ", &c->r);
}

#define LOG_CAP 512

/* 1 pass, 0 fail, 2 KVM did not complete (not counted against the
 * emulator; reported). */
static int run_case(struct ctx *x, struct mcase *c)
{
    static uint8_t emu_mem[KG_SPAN];
    static kg_access emu_log[LOG_CAP];
    kg *g = &x->g;
    char why[256];

    memcpy(g->ram, x->pattern, KG_SPAN);
    memcpy(g->ram + KG_CODE, c->bytes, c->len);
    g->ram[KG_CODE + c->len] = 0xF4;
    memcpy(x->init, g->ram, KG_SPAN);

    struct kvm_regs kr = c->r;
    struct kvm_sregs ks = c->s;
    if (kg_run(g, c->mode, &kr, &ks, fvmm_port_value, why, sizeof why) < 0) {
        x->kvm_deviations++;
        printf("KVM-INCOMPLETE ");
        describe(c);
        printf("  the KVM guest did not complete: %s\n", why);
        return 2;
    }
    const kg_access *first = NULL;
    for (size_t i = 0; i < g->nlog; i++)
        if (g->log[i].mmio) {
            first = &g->log[i];
            break;
        }
    if (!first) {
        x->kvm_deviations++;
        printf("KVM-NO-MMIO ");
        describe(c);
        return 2;
    }

    fake_vmm *vm = x->vm[c->mode];
    kc_load_fvmm(vm, &c->r, &c->s, x->init);
    fvmm_gpa_write(vm, GPA_MMIO, x->mmio_init, sizeof x->mmio_init);
    WHV_VP_EXIT_CONTEXT vp;
    kc_build_vp(&vp, &c->r, &c->s, 0); /* memory exits carry no length */
    WHV_MEMORY_ACCESS_CONTEXT mc;
    memset(&mc, 0, sizeof mc);
    if (c->bytes_mode == 0) {
        mc.InstructionByteCount = (UINT8)c->len;
        memcpy(mc.InstructionBytes, c->bytes, c->len);
    } else if (c->bytes_mode == 1) {
        mc.InstructionByteCount = 16;
        memcpy(mc.InstructionBytes, g->ram + KG_CODE, 16);
    }
    mc.AccessInfo.AccessType = first->write ? WHvMemoryAccessWrite : WHvMemoryAccessRead;
    mc.AccessInfo.GpaUnmapped = 1;
    mc.AccessInfo.GvaValid = 1;
    mc.Gpa = first->gpa;
    mc.Gva = gva_of_gpa(c->mode, first->gpa);
    fvmm_reset_log(vm);
    WHV_EMULATOR_STATUS st;
    HRESULT hr = WHvEmulatorTryMmioEmulation(x->emu, vm, &vp, &mc, &st);
    const char *rt = fvmm_check_round_trip(vm, &vp, &mc, &st);

    struct kvm_regs er;
    kc_regs_from_fvmm(vm, &er);
    fvmm_gpa_read(vm, 0, emu_mem, KG_SPAN);
    size_t en = kc_log_from_fvmm(vm, emu_log, LOG_CAP, GPA_MMIO, GPA_MMIO + 0x2000);
    /* The KVM log holds MMIO accesses only here (no port I/O). */
    unsigned d = 0;
    int bad = hr != S_OK || st.AsUINT32 != 1 || rt != NULL;
    d += kc_diff_regs(&kr, &er, "kvm", "emulator", NULL);
    d += kc_diff_mem(g->ram, emu_mem, KG_SPAN, "kvm", "emulator", NULL);
    d += kc_diff_log(g->log, g->nlog, emu_log, en, "kvm", "emulator", NULL);
    if (!bad && !d)
        return 1;
    if (x->reported++ < MAX_FAIL_REPORTS) {
        printf("FAIL ");
        describe(c);
        if (hr != S_OK || st.AsUINT32 != 1)
            printf("  emulator: hr 0x%x status 0x%x (%s)\n", (unsigned)hr, st.AsUINT32,
                   whvemu_last_failure(x->emu));
        if (rt)
            printf("  round trip: %s\n", rt);
        kc_diff_regs(&kr, &er, "kvm", "emulator", "  ");
        kc_diff_mem(g->ram, emu_mem, KG_SPAN, "kvm", "emulator", "  ");
        kc_diff_log(g->log, g->nlog, emu_log, en, "kvm", "emulator", "  ");
        if (x->verbose)
            fvmm_dump_log(vm, stdout);
    }
    return 0;
}

static unsigned mcol(enum kg_mode m)
{
    for (unsigned i = 0; i < NMMODES; i++)
        if (mmio_modes[i] == m)
            return i;
    return 0;
}

static void one(struct ctx *x, kc_rng *rng, enum kg_mode m, unsigned ti)
{
    struct mcase c;
    make_case(x, rng, m, &tmpls[ti], &c);
    int v = run_case(x, &c);
    x->count[ti][mcol(m)]++;
    if (v == 0) {
        x->failed++;
        x->fails[ti]++;
    } else {
        x->passed++;
    }
}

static fake_vmm *make_vm(enum kg_mode m)
{
    fake_vmm *vm = fvmm_create();
    if (m != KG_M32) {
        fvmm_map_gva_ex(vm, VA_RAM_LOW, WHvTranslateGvaResultSuccess, GPA_RAM_LOW,
                        FVMM_PERM_R | FVMM_PERM_W | FVMM_PERM_X);
        fvmm_map_gva_ex(vm, VA_MMIO, WHvTranslateGvaResultSuccess, GPA_MMIO,
                        FVMM_PERM_R | FVMM_PERM_W | FVMM_PERM_X);
        fvmm_map_gva(vm, VA_MMIO_U, GPA_MMIO_U);
        fvmm_map_gva(vm, VA_RAM, GPA_RAM);
    }
    fvmm_set_mmio(vm, GPA_MMIO, 1);
    fvmm_set_mmio(vm, GPA_MMIO_U, 1);
    fvmm_set_mmio_translates_unmapped(vm, 1);
    return vm;
}

int main(void)
{
    static struct ctx x;
    setvbuf(stdout, NULL, _IOLBF, 0);
    x.verbose = getenv("WHVEMU_KVM_VERBOSE") != NULL;
    kg *g = &x.g;
    (void)kc_open_and_probe(g, mmio_modes, NMMODES, x.ok);
    kg_map32(g, VA_RAM_LOW, GPA_RAM_LOW, 3);
    kg_map32(g, VA_MMIO, GPA_MMIO, 3); /* supervisor only */
    kg_map32(g, VA_MMIO_U, GPA_MMIO_U, 7);
    kg_map32(g, VA_RAM, GPA_RAM, 7);
    kg_map64(g, VA_RAM_LOW, GPA_RAM_LOW, 3);
    kg_map64(g, VA_MMIO, GPA_MMIO, 3);
    kg_map64(g, VA_MMIO_U, GPA_MMIO_U, 7);
    kg_map64(g, VA_RAM, GPA_RAM, 7);
    for (unsigned i = 0; i < NMMODES; i++)
        x.vm[mmio_modes[i]] = make_vm(mmio_modes[i]);
    for (unsigned i = 0; i < sizeof x.mmio_init; i++)
        x.mmio_init[i] = kg_mmio_byte(GPA_MMIO + i);
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
    enum kg_mode usable[NMMODES];
    unsigned nu = 0;
    for (unsigned i = 0; i < NMMODES; i++)
        if (x.ok[mmio_modes[i]])
            usable[nu++] = mmio_modes[i];
    for (unsigned i = 0; i < nu; i++)
        for (unsigned ti = 0; ti < NTMPL; ti++)
            for (unsigned k = 0; k < CASES_PER_TEMPLATE; k++)
                one(&x, &rng, usable[i], ti);
    uint64_t seed = kc_random_seed();
    printf("random seed 0x%llx (replay with WHVEMU_KVM_SEED=0x%llx)\n", (unsigned long long)seed,
           (unsigned long long)seed);
    kc_seed(&rng, seed);
    for (unsigned k = 0; k < RANDOM_CASES; k++)
        one(&x, &rng, usable[kc_range(&rng, 0, nu - 1)], (unsigned)kc_range(&rng, 0, NTMPL - 1));

    printf("%-28s", "instruction");
    for (unsigned i = 0; i < NMMODES; i++)
        printf(" %12s", kg_mode_name(mmio_modes[i]));
    printf(" %7s\n", "failed");
    for (unsigned ti = 0; ti < NTMPL; ti++) {
        printf("%-28s", tmpls[ti].name);
        for (unsigned i = 0; i < NMMODES; i++)
            printf(" %12u", x.count[ti][i]);
        printf(" %7u\n", x.fails[ti]);
    }
    if (x.kvm_deviations)
        printf("cases KVM did not complete (not counted): %u\n", x.kvm_deviations);
    if (x.reported > MAX_FAIL_REPORTS)
        printf("(%u failures not shown)\n", x.reported - MAX_FAIL_REPORTS);
    WHvEmulatorDestroyEmulator(x.emu);
    for (unsigned i = 0; i < NMMODES; i++)
        fvmm_destroy(x.vm[mmio_modes[i]]);
    kg_close(g);
    printf("%u passed, %u failed\n", x.passed, x.failed);
    return x.failed ? 1 : 0;
}
