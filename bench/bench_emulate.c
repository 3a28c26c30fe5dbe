/*
 * bench_emulate - drives the Try* functions in a loop with the cheapest
 * possible callbacks, so that an instruction counter (callgrind, see
 * bench/callgrind.sh) or a clock measures the emulator itself.
 *
 *   bench_emulate [--ram] [--harness] SCENARIO [ITERATIONS]
 *   bench_emulate --list
 *   SCENARIO: one of --list, or all
 *   --ram: register the guest's RAM with whvemu_set_guest_ram
 *   --harness: the loop and the callbacks alone: one emulation's callbacks
 *              are recorded, then every iteration makes the same calls with
 *              the same arguments without the library (what an emulation's
 *              instruction count owes to the bench itself)
 *
 * The guest is a small 64-bit (or 32-bit protected) machine with real
 * 4-level page tables in its RAM, one device page (MMIO) and one RAM page
 * for string sources. Prints nanoseconds per emulation and the callbacks
 * each emulation made, by kind. Figures, not pass/fail.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "whvemu.h"

/* Guest-physical layout: RAM at 0 .. RAM_SIZE, the device page far above. */
#define RAM_SIZE (64u * 4096u)
#define PML4_GPA 0x1000ull
#define PDPT_GPA 0x2000ull
#define PD_GPA 0x3000ull
#define PT_GPA 0x4000ull
#define CODE_GPA 0x10000ull
#define SRC_GPA 0x11000ull
#define MMIO_GPA 0xFEE00000ull

/* Guest-virtual: everything in the first 2 MiB, one page table. */
#define CODE_GVA 0x10000ull
#define SRC_GVA 0x11000ull
#define MMIO_GVA 0x1F0000ull

/* One callback as the library made it (--harness). */
#define REC_MAX 512
#define REC_REGS 32
enum rec_kind { R_GET, R_SET, R_MEM, R_TRANSLATE, R_IO };
struct rec {
    enum rec_kind kind;
    UINT32 n;
    WHV_REGISTER_NAME names[REC_REGS];
    WHV_REGISTER_VALUE vals[REC_REGS];
    WHV_EMULATOR_MEMORY_ACCESS_INFO mem;
    WHV_EMULATOR_IO_ACCESS_INFO io;
    WHV_GUEST_VIRTUAL_ADDRESS gva;
    WHV_TRANSLATE_GVA_FLAGS flags;
};

struct vm {
    uint64_t gpr[16];
    uint64_t rip, rflags;
    uint8_t *ram;     /* RAM_SIZE bytes, 4 KiB aligned */
    uint8_t mmio[4096];
    unsigned get, set, mem, translate, io, regs;
    struct rec *log; /* recording (--harness): REC_MAX entries, or NULL */
    unsigned nlog;
};

static struct rec *record(struct vm *vm, enum rec_kind k)
{
    if (!vm->log || vm->nlog == REC_MAX)
        return NULL;
    struct rec *r = &vm->log[vm->nlog++];
    r->kind = k;
    return r;
}

static HRESULT CALLBACK cb_io(VOID *c, WHV_EMULATOR_IO_ACCESS_INFO *a)
{
    struct vm *vm = c;
    vm->io++;
    if (!a->Direction)
        a->Data = 0x12345678;
    return S_OK;
}

static HRESULT CALLBACK cb_mem(VOID *c, WHV_EMULATOR_MEMORY_ACCESS_INFO *a)
{
    struct vm *vm = c;
    vm->mem++;
    uint8_t *p = a->GpaAddress >= MMIO_GPA ? vm->mmio + (a->GpaAddress & 4095)
                                           : vm->ram + (a->GpaAddress % RAM_SIZE);
    switch (a->AccessSize) { /* fixed-size copies, as a VMM's device model does */
    case 1:
        if (a->Direction)
            *p = a->Data[0];
        else
            a->Data[0] = *p;
        break;
    case 2:
        if (a->Direction)
            memcpy(p, a->Data, 2);
        else
            memcpy(a->Data, p, 2);
        break;
    case 4:
        if (a->Direction)
            memcpy(p, a->Data, 4);
        else
            memcpy(a->Data, p, 4);
        break;
    default:
        if (a->Direction)
            memcpy(p, a->Data, a->AccessSize);
        else
            memcpy(a->Data, p, a->AccessSize);
        break;
    }
    return S_OK;
}

/* Registers other than the GPRs: the control registers of the page
 * tables, flat data segments with a non-zero base (the 32-bit scenarios). */
static void other_reg(WHV_REGISTER_NAME n, WHV_REGISTER_VALUE *v)
{
    switch (n) {
    case WHvX64RegisterCr0:
        v->Reg64 = 0x80000011;
        break;
    case WHvX64RegisterCr3:
        v->Reg64 = PML4_GPA;
        break;
    case WHvX64RegisterCr4:
        v->Reg64 = 0x20; /* PAE */
        break;
    case WHvX64RegisterEfer:
        v->Reg64 = 0x500; /* LME LMA */
        break;
    case WHvX64RegisterEs: case WHvX64RegisterSs: case WHvX64RegisterDs:
    case WHvX64RegisterFs: case WHvX64RegisterGs:
        v->Segment.Base = 0x100;
        v->Segment.Limit = 0xFFFFFFFF;
        v->Segment.Selector = 0x10;
        v->Segment.Attributes = 0xC093;
        break;
    default:
        break;
    }
}

static HRESULT CALLBACK cb_get(VOID *c, const WHV_REGISTER_NAME *n, UINT32 cnt,
                               WHV_REGISTER_VALUE *v)
{
    struct vm *vm = c;
    vm->get++;
    vm->regs += cnt;
    for (UINT32 i = 0; i < cnt; i++) {
        if (n[i] < 16) {
            v[i].Reg128.Low64 = vm->gpr[n[i]];
            v[i].Reg128.High64 = 0;
        } else {
            v[i].Reg128.Low64 = 0;
            v[i].Reg128.High64 = 0;
            other_reg(n[i], &v[i]);
        }
    }
    return S_OK;
}

static HRESULT CALLBACK cb_set(VOID *c, const WHV_REGISTER_NAME *n, UINT32 cnt,
                               const WHV_REGISTER_VALUE *v)
{
    struct vm *vm = c;
    vm->set++;
    for (UINT32 i = 0; i < cnt; i++) {
        if (n[i] < 16)
            vm->gpr[n[i]] = v[i].Reg64;
        else if (n[i] == WHvX64RegisterRip)
            vm->rip = v[i].Reg64;
    }
    return S_OK;
}

/* The same mapping as the page tables, without walking them. */
static HRESULT CALLBACK cb_translate(VOID *c, WHV_GUEST_VIRTUAL_ADDRESS gva,
                                     WHV_TRANSLATE_GVA_FLAGS f, WHV_TRANSLATE_GVA_RESULT_CODE *r,
                                     WHV_GUEST_PHYSICAL_ADDRESS *gpa)
{
    (void)f;
    ((struct vm *)c)->translate++;
    gva &= 0xFFFFFFFFull; /* the 32-bit scenarios' segment base moves nothing across pages */
    *r = WHvTranslateGvaResultSuccess;
    if (gva == MMIO_GVA) {
        *gpa = MMIO_GPA;
        *r = WHvTranslateGvaResultGpaUnmapped;
    } else if (gva < RAM_SIZE) {
        *gpa = gva;
    } else {
        *r = WHvTranslateGvaResultPageNotPresent;
        *gpa = 0;
    }
    return S_OK;
}

/* --harness: the callbacks of a second handle, which record each call and
 * then make it (the measured callbacks above carry no recording). */
static HRESULT CALLBACK rec_io(VOID *c, WHV_EMULATOR_IO_ACCESS_INFO *a)
{
    struct rec *r = record(c, R_IO);
    if (r)
        r->io = *a;
    return cb_io(c, a);
}

static HRESULT CALLBACK rec_mem(VOID *c, WHV_EMULATOR_MEMORY_ACCESS_INFO *a)
{
    struct rec *r = record(c, R_MEM);
    if (r)
        r->mem = *a;
    return cb_mem(c, a);
}

static HRESULT CALLBACK rec_get(VOID *c, const WHV_REGISTER_NAME *n, UINT32 cnt,
                                WHV_REGISTER_VALUE *v)
{
    struct rec *r = record(c, R_GET);
    if (r) {
        r->n = cnt < REC_REGS ? cnt : REC_REGS;
        memcpy(r->names, n, r->n * sizeof(*n));
    }
    return cb_get(c, n, cnt, v);
}

static HRESULT CALLBACK rec_set(VOID *c, const WHV_REGISTER_NAME *n, UINT32 cnt,
                                const WHV_REGISTER_VALUE *v)
{
    struct rec *r = record(c, R_SET);
    if (r) {
        r->n = cnt < REC_REGS ? cnt : REC_REGS;
        memcpy(r->names, n, r->n * sizeof(*n));
        memcpy(r->vals, v, r->n * sizeof(*v));
    }
    return cb_set(c, n, cnt, v);
}

static HRESULT CALLBACK rec_translate(VOID *c, WHV_GUEST_VIRTUAL_ADDRESS gva,
                                      WHV_TRANSLATE_GVA_FLAGS f, WHV_TRANSLATE_GVA_RESULT_CODE *rc,
                                      WHV_GUEST_PHYSICAL_ADDRESS *gpa)
{
    struct rec *r = record(c, R_TRANSLATE);
    if (r) {
        r->gva = gva;
        r->flags = f;
    }
    return cb_translate(c, gva, f, rc, gpa);
}

/* 4-level tables mapping the first 2 MiB 1:1 except the device page. */
static void build_tables(struct vm *vm)
{
    uint64_t *pml4 = (uint64_t *)(vm->ram + PML4_GPA), *pdpt = (uint64_t *)(vm->ram + PDPT_GPA);
    uint64_t *pd = (uint64_t *)(vm->ram + PD_GPA), *pt = (uint64_t *)(vm->ram + PT_GPA);
    pml4[0] = PDPT_GPA | 0x67;
    pdpt[0] = PD_GPA | 0x67;
    pd[0] = PT_GPA | 0x67;
    for (uint64_t i = 0; i < RAM_SIZE / 4096; i++)
        pt[i] = (i * 4096) | 0x67; /* present, writable, user, accessed, dirty */
    pt[MMIO_GVA / 4096] = MMIO_GPA | 0x67;
}

enum exit_kind { X_MMIO_R, X_MMIO_W, X_IO };

struct scenario {
    const char *name;
    const char *what;
    uint8_t bytes[8];
    unsigned len;
    enum exit_kind kind;
    unsigned mode32;   /* 32-bit protected mode, segment bases 0x100 */
    unsigned no_bytes; /* the exit carries no instruction bytes: fetched from RAM */
    uint64_t gva;      /* the exit's GVA */
};

static const struct scenario scenarios[] = {
    {"mov_store", "mov [rbx+8], eax", {0x89, 0x43, 0x08}, 3, X_MMIO_W, 0, 0, MMIO_GVA + 8},
    {"movzx_load", "movzx eax, byte [rdi]", {0x0f, 0xb6, 0x07}, 3, X_MMIO_R, 0, 0, MMIO_GVA},
    {"or_rmw", "or dword [rax], 0x10", {0x83, 0x08, 0x10}, 3, X_MMIO_W, 0, 0, MMIO_GVA},
    {"mov_store16", "mov [rdx], cx", {0x66, 0x89, 0x0a}, 3, X_MMIO_W, 0, 0, MMIO_GVA},
    {"mov_store_prot32", "mov [ebx+8], eax (32-bit, DS.base 0x100)", {0x89, 0x43, 0x08}, 3,
     X_MMIO_W, 1, 0, MMIO_GVA + 8 + 0x100},
    {"out_dx_al", "out dx, al", {0xee}, 1, X_IO, 0, 0, 0},
    {"in_eax_dx", "in eax, dx", {0xed}, 1, X_IO, 0, 0, 0},
    {"rep_movsb64", "rep movsb, 64 bytes RAM to device", {0xf3, 0xa4}, 2, X_MMIO_W, 0, 0,
     MMIO_GVA},
    {"mov_store_fetch", "mov [rbx+8], eax, exit without instruction bytes", {0x89, 0x43, 0x08},
     3, X_MMIO_W, 0, 1, MMIO_GVA + 8},
};
#define NSCEN (sizeof(scenarios) / sizeof(scenarios[0]))

static void reset_regs(struct vm *vm, const struct scenario *s)
{
    (void)s;
    vm->gpr[0] = MMIO_GVA;  /* rax: or [rax] */
    vm->gpr[1] = 64;        /* rcx: rep count; cx: the value stored */
    vm->gpr[2] = MMIO_GVA;  /* rdx: mov [rdx], cx; out/in: the port */
    vm->gpr[3] = MMIO_GVA;  /* rbx: mov [rbx+8] */
    vm->gpr[6] = SRC_GVA;   /* rsi */
    vm->gpr[7] = MMIO_GVA;  /* rdi */
}

/* The recorded callbacks, made again with the same arguments, through the
 * callback table as the library makes them. */
static void replay(const WHV_EMULATOR_CALLBACKS *volatile cbp, struct vm *vm,
                   const struct rec *log, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        const struct rec *r = &log[i];
        switch (r->kind) {
        case R_GET: {
            WHV_REGISTER_VALUE v[REC_REGS];
            cbp->WHvEmulatorGetVirtualProcessorRegisters(vm, r->names, r->n, v);
            break;
        }
        case R_SET:
            cbp->WHvEmulatorSetVirtualProcessorRegisters(vm, r->names, r->n, r->vals);
            break;
        case R_MEM: {
            WHV_EMULATOR_MEMORY_ACCESS_INFO a = r->mem;
            cbp->WHvEmulatorMemoryCallback(vm, &a);
            break;
        }
        case R_IO: {
            WHV_EMULATOR_IO_ACCESS_INFO a = r->io;
            cbp->WHvEmulatorIoPortCallback(vm, &a);
            break;
        }
        default: {
            WHV_TRANSLATE_GVA_RESULT_CODE rc;
            WHV_GUEST_PHYSICAL_ADDRESS gpa;
            cbp->WHvEmulatorTranslateGvaPage(vm, r->gva, r->flags, &rc, &gpa);
            break;
        }
        }
    }
}

#if defined(__GNUC__)
#define BENCH_NOINLINE __attribute__((noinline))
#else
#define BENCH_NOINLINE
#endif

/* The measured loop, a function of its own so that what the compiler does
 * with the rest of run() does not move its instruction count. */
static BENCH_NOINLINE long emulate_loop(WHV_EMULATOR_HANDLE h, struct vm *vm,
                                        const struct scenario *s, const WHV_VP_EXIT_CONTEXT *vp,
                                        const WHV_MEMORY_ACCESS_CONTEXT *mc,
                                        const WHV_X64_IO_PORT_ACCESS_CONTEXT *ioc, long iters)
{
    long ok = 0;
    for (long i = 0; i < iters; i++) {
        reset_regs(vm, s);
        WHV_EMULATOR_STATUS st;
        if (s->kind == X_IO)
            WHvEmulatorTryIoEmulation(h, vm, vp, ioc, &st);
        else
            WHvEmulatorTryMmioEmulation(h, vm, vp, mc, &st);
        ok += st.EmulationSuccessful;
    }
    return ok;
}

static int run(const struct scenario *s, long iters, int ram, int harness)
{
    static const WHV_EMULATOR_CALLBACKS cb = {sizeof(cb), 0, cb_io, cb_mem, cb_get, cb_set,
                                              cb_translate};
    WHV_EMULATOR_HANDLE h;
    if (WHvEmulatorCreateEmulator(&cb, &h) != S_OK)
        return 1;
    struct vm *vm = calloc(1, sizeof(*vm));
    vm->ram = aligned_alloc(4096, RAM_SIZE);
    memset(vm->ram, 0, RAM_SIZE);
    build_tables(vm);
    memcpy(vm->ram + CODE_GPA, s->bytes, s->len);
    if (ram) {
#ifdef WHVEMU_RAM_READ
        WHVEMU_GUEST_RAM_RANGE r = {0, RAM_SIZE, vm->ram, WHVEMU_RAM_READ | WHVEMU_RAM_WRITE, 0};
        if (whvemu_set_guest_ram(h, &r, 1) != S_OK)
            return 1;
#else
        return 1;
#endif
    }

    WHV_VP_EXIT_CONTEXT vp;
    WHV_MEMORY_ACCESS_CONTEXT mc;
    WHV_X64_IO_PORT_ACCESS_CONTEXT ioc;
    memset(&vp, 0, sizeof(vp));
    memset(&mc, 0, sizeof(mc));
    memset(&ioc, 0, sizeof(ioc));
    vp.ExecutionState.Cr0Pe = 1;
    vp.ExecutionState.EferLma = !s->mode32;
    vp.Cs.Attributes = s->mode32 ? 0xC09B : 0x209B;
    vp.Cs.Limit = 0xFFFFFFFF;
    vp.Rip = CODE_GVA;
    vp.Rflags = 2;
    vp.InstructionLength = (UINT8)s->len;
    if (!s->no_bytes) {
        mc.InstructionByteCount = (UINT8)s->len;
        memcpy(mc.InstructionBytes, s->bytes, s->len);
        ioc.InstructionByteCount = (UINT8)s->len;
        memcpy(ioc.InstructionBytes, s->bytes, s->len);
    }
    mc.AccessInfo.AccessType = s->kind == X_MMIO_R ? WHvMemoryAccessRead : WHvMemoryAccessWrite;
    mc.AccessInfo.GvaValid = 1;
    mc.AccessInfo.GpaUnmapped = 1;
    mc.Gva = s->gva;
    mc.Gpa = MMIO_GPA + (s->gva & 4095);
    ioc.AccessInfo.IsWrite = s->bytes[0] == 0xee;
    ioc.AccessInfo.AccessSize = s->bytes[0] == 0xee ? 1 : 4;
    ioc.PortNumber = 0x3f8;
    ioc.Rax = 0x41;
    ioc.Ds.Attributes = 0x93;
    ioc.Es.Attributes = 0x93;

    struct rec *log = NULL;
    unsigned nlog = 0;
    if (harness) { /* one emulation's callbacks, after one that fills the caches */
        static const WHV_EMULATOR_CALLBACKS rcb = {sizeof(rcb), 0, rec_io, rec_mem, rec_get,
                                                   rec_set, rec_translate};
        WHV_EMULATOR_HANDLE rh;
        if (WHvEmulatorCreateEmulator(&rcb, &rh) != S_OK)
            return 1;
#ifdef WHVEMU_RAM_READ
        WHVEMU_GUEST_RAM_RANGE r = {0, RAM_SIZE, vm->ram, WHVEMU_RAM_READ | WHVEMU_RAM_WRITE, 0};
        if (ram && whvemu_set_guest_ram(rh, &r, 1) != S_OK)
            return 1;
#endif
        log = calloc(REC_MAX, sizeof(*log));
        for (int k = 0; k < 2; k++) {
            reset_regs(vm, s);
            vm->log = k ? log : NULL;
            WHV_EMULATOR_STATUS st;
            if (s->kind == X_IO)
                WHvEmulatorTryIoEmulation(rh, vm, &vp, &ioc, &st);
            else
                WHvEmulatorTryMmioEmulation(rh, vm, &vp, &mc, &st);
        }
        WHvEmulatorDestroyEmulator(rh);
        nlog = vm->nlog;
        vm->log = NULL;
        vm->get = vm->set = vm->mem = vm->translate = vm->io = vm->regs = 0;
    }

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long ok = 0;
    if (harness) {
        for (long i = 0; i < iters; i++) {
            reset_regs(vm, s);
            replay(&cb, vm, log, nlog);
            ok++;
        }
    } else {
        ok = emulate_loop(h, vm, s, &vp, &mc, &ioc, iters);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) /
                (double)iters;
    double n = (double)iters;
    printf("%-18s %-4s%s %8.1f ns  get %.2f set %.2f translate %.2f memory %.2f io %.2f "
           "registers %.2f  (%ld/%ld succeeded)\n",
           s->name, ram ? "ram" : "-", harness ? " harness" : "", ns, vm->get / n, vm->set / n, vm->translate / n,
           vm->mem / n, vm->io / n, vm->regs / n, ok, iters);
    int bad = ok != iters;
    free(log);
    free(vm->ram);
    free(vm);
    WHvEmulatorDestroyEmulator(h);
    return bad;
}

int main(int argc, char **argv)
{
    int ram = 0, a = 1;
    if (a < argc && !strcmp(argv[a], "--list")) {
        for (unsigned i = 0; i < NSCEN; i++)
            printf("%s\t%s\n", scenarios[i].name, scenarios[i].what);
        return 0;
    }
    int harness = 0;
    if (a < argc && !strcmp(argv[a], "--ram")) {
        ram = 1;
        a++;
    }
    if (a < argc && !strcmp(argv[a], "--harness")) {
        harness = 1;
        a++;
    }
    const char *which = a < argc ? argv[a] : "all";
    long iters = a + 1 < argc ? atol(argv[a + 1]) : 1000000;
    if (iters <= 0)
        iters = 1;
    int found = 0, bad = 0;
    for (unsigned i = 0; i < NSCEN; i++) {
        if (strcmp(which, "all") && strcmp(which, scenarios[i].name))
            continue;
        bad |= run(&scenarios[i], iters, ram, harness);
        found = 1;
    }
    if (!found) {
        fprintf(stderr, "unknown scenario %s (see --list)\n", which);
        return 2;
    }
    return bad;
}
