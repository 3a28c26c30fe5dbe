/*
 * bench_emulate - drives WHvEmulatorTryMmioEmulation in a loop with the
 * cheapest possible callbacks, so that an instruction counter (callgrind,
 * see bench/callgrind.sh) or a clock measures the emulator itself.
 *
 *   bench_emulate SCENARIO [ITERATIONS]
 *   SCENARIO: mov_load | mov_store | alu_rmw | rep_movsb64 | all
 *
 * Prints nanoseconds per emulation and the callbacks each emulation made.
 * Figures, not pass/fail.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "WinHvEmulation.h"

struct vm {
    uint64_t gpr[16];
    uint64_t rip, rflags;
    uint8_t ram[2][4096]; /* [0]: the MMIO page, [1]: a RAM page */
    unsigned get, set, mem, translate, io;
};

#define MMIO_GVA 0x7f0000001000ull
#define RAM_GVA 0x500000ull

static HRESULT CALLBACK cb_io(VOID *c, WHV_EMULATOR_IO_ACCESS_INFO *a)
{
    ((struct vm *)c)->io++;
    a->Data = 0;
    return S_OK;
}

static HRESULT CALLBACK cb_mem(VOID *c, WHV_EMULATOR_MEMORY_ACCESS_INFO *a)
{
    struct vm *vm = c;
    vm->mem++;
    uint8_t *p = vm->ram[a->GpaAddress >= 0x100000000ull ? 0 : 1] + (a->GpaAddress & 4095);
    if (a->Direction)
        memcpy(p, a->Data, a->AccessSize);
    else
        memcpy(a->Data, p, a->AccessSize);
    return S_OK;
}

static HRESULT CALLBACK cb_get(VOID *c, const WHV_REGISTER_NAME *n, UINT32 cnt,
                               WHV_REGISTER_VALUE *v)
{
    struct vm *vm = c;
    vm->get++;
    for (UINT32 i = 0; i < cnt; i++) {
        v[i].Reg128.High64 = 0;
        v[i].Reg64 = n[i] < 16 ? vm->gpr[n[i]] : 0;
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

static HRESULT CALLBACK cb_translate(VOID *c, WHV_GUEST_VIRTUAL_ADDRESS gva,
                                     WHV_TRANSLATE_GVA_FLAGS f, WHV_TRANSLATE_GVA_RESULT_CODE *r,
                                     WHV_GUEST_PHYSICAL_ADDRESS *gpa)
{
    (void)f;
    ((struct vm *)c)->translate++;
    *r = WHvTranslateGvaResultSuccess;
    *gpa = gva == (MMIO_GVA & ~4095ull) ? 0xFEE00000ull << 4 : gva;
    return S_OK;
}

struct scenario {
    const char *name;
    uint8_t bytes[8];
    unsigned len;
    WHV_MEMORY_ACCESS_TYPE access;
};

static const struct scenario scenarios[] = {
    {"mov_load", {0x8b, 0x03}, 2, WHvMemoryAccessRead},        /* mov eax, [rbx] */
    {"mov_store", {0x89, 0x03}, 2, WHvMemoryAccessWrite},      /* mov [rbx], eax */
    {"alu_rmw", {0x01, 0x03}, 2, WHvMemoryAccessWrite},        /* add [rbx], eax */
    {"rep_movsb64", {0xf3, 0xa4}, 2, WHvMemoryAccessWrite},    /* rep movsb: RAM -> MMIO */
};

static void run(const struct scenario *s, long iters)
{
    static const WHV_EMULATOR_CALLBACKS cb = {sizeof(cb), 0, cb_io, cb_mem, cb_get, cb_set,
                                              cb_translate};
    WHV_EMULATOR_HANDLE h;
    if (WHvEmulatorCreateEmulator(&cb, &h) != S_OK)
        exit(1);
    struct vm *vm = calloc(1, sizeof(*vm));
    WHV_VP_EXIT_CONTEXT vp;
    WHV_MEMORY_ACCESS_CONTEXT mc;
    memset(&vp, 0, sizeof(vp));
    memset(&mc, 0, sizeof(mc));
    vp.ExecutionState.Cr0Pe = 1;
    vp.ExecutionState.EferLma = 1;
    vp.Cs.Attributes = 0x209B;
    vp.Cs.Limit = 0xFFFFFFFF;
    vp.Rip = 0x401000;
    vp.Rflags = 2;
    mc.InstructionByteCount = (UINT8)s->len;
    memcpy(mc.InstructionBytes, s->bytes, s->len);
    mc.AccessInfo.AccessType = s->access;
    mc.AccessInfo.GvaValid = 1;
    mc.AccessInfo.GpaUnmapped = 1;
    mc.Gva = MMIO_GVA;
    mc.Gpa = 0xFEE00000ull << 4;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    unsigned ok = 0;
    for (long i = 0; i < iters; i++) {
        vm->gpr[3] = MMIO_GVA;
        vm->gpr[1] = 64;
        vm->gpr[6] = RAM_GVA;
        vm->gpr[7] = MMIO_GVA;
        WHV_EMULATOR_STATUS st;
        WHvEmulatorTryMmioEmulation(h, vm, &vp, &mc, &st);
        ok += st.EmulationSuccessful;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) /
                (double)iters;
    printf("%-12s %8.1f ns/emulation  per emulation: get %.0f set %.0f translate %.0f memory %.0f"
           "  (%u/%ld succeeded)\n",
           s->name, ns, (double)vm->get / (double)iters, (double)vm->set / (double)iters,
           (double)vm->translate / (double)iters, (double)vm->mem / (double)iters, ok, iters);
    free(vm);
    WHvEmulatorDestroyEmulator(h);
}

int main(int argc, char **argv)
{
    const char *which = argc > 1 ? argv[1] : "all";
    long iters = argc > 2 ? atol(argv[2]) : 1000000;
    if (iters <= 0)
        iters = 1;
    int found = 0;
    for (unsigned i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
        if (strcmp(which, "all") && strcmp(which, scenarios[i].name))
            continue;
        run(&scenarios[i], iters);
        found = 1;
    }
    return found ? 0 : 2;
}
