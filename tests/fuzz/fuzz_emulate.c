/*
 * fuzz_emulate.c - hostile input for both Try functions: random instruction
 * bytes, modes, segment caches, registers, exit contexts, translation
 * results and callback failures. Whatever the input, the call must return
 * S_OK (or E_INVALIDARG for an over-long byte count), report exactly one
 * status bit, follow every round-trip rule, and not crash, hang or touch
 * memory out of bounds (the suite also runs under ASan and UBSan).
 *
 * Built two ways: with -DWHVEMU_LIBFUZZER as a libFuzzer target
 * (LLVMFuzzerTestOneInput), and by default as a self-driving test that feeds
 * pseudo-random inputs (fixed seed, then a printed random seed;
 * WHVEMU_FUZZ_SEED reproduces, WHVEMU_FUZZ_ITERS sets the count).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "WinHvEmulation.h"
#include "fake_vmm.h"

/* A cursor over the input; reading past the end yields zeros. */
struct input {
    const uint8_t *p;
    size_t n, pos;
};

static uint64_t take(struct input *in, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++)
        v |= (uint64_t)(in->pos < in->n ? in->p[in->pos++] : 0) << (8 * i);
    return v;
}

/* Values that hit edges more often than uniform ones do. */
static uint64_t interesting(struct input *in)
{
    static const uint64_t edges[] = {
        0, 1, 0xFFF, 0x1000, 0xFFFE, 0xFFFF, 0x10000, 0x7FFFFFFF, 0xFFFFFFFF, 0x100000000ull,
        0x00007FFFFFFFFFFFull, 0x0000800000000000ull, 0xFFFF800000000000ull,
        0x00FFFFFFFFFFFFFFull, 0x8000000000000000ull, ~0ull, 0x7F0000000FF8ull, 0x401000,
    };
    unsigned sel = (unsigned)take(in, 1);
    if (sel < 128)
        return edges[sel % (sizeof(edges) / sizeof(edges[0]))] + (take(in, 1) & 7) - 4;
    return take(in, 8);
}

static int failures;
static long status_count[11]; /* by status bit; [10]: E_INVALIDARG */

static void fail(const char *what, const uint8_t *data, size_t n)
{
    failures++;
    if (failures > 20)
        return;
    printf("FAIL: %s\n  input:", what);
    for (size_t i = 0; i < n && i < 96; i++)
        printf(" %02x", data[i]);
    printf("\n");
}

static void one_input(const uint8_t *data, size_t size)
{
    struct input in = {data, size, 0};
    fake_vmm *vm = fvmm_create();
    unsigned cpl = (unsigned)take(&in, 1) & 3;
    fvmm_setup_long_mode(vm, cpl);
    unsigned mode = (unsigned)take(&in, 1) % 6;

    WHV_VP_EXIT_CONTEXT vp;
    memset(&vp, 0, sizeof(vp));
    vp.ExecutionState.AsUINT16 = (UINT16)take(&in, 2);
    vp.ExecutionState.Cpl = cpl;
    if (take(&in, 1) & 0xF) /* mostly not an event-delivery exit */
        vp.ExecutionState.InterruptionPending = 0;
    WHV_REGISTER_VALUE cs;
    fvmm_reg_get(vm, WHvX64RegisterCs, &cs);
    vp.Cs = cs.Segment;
    switch (mode) {
    case 0: /* 64-bit */
        vp.ExecutionState.Cr0Pe = 1;
        vp.ExecutionState.EferLma = 1;
        break;
    case 1: /* real */
        vp.ExecutionState.Cr0Pe = 0;
        vp.Cs.Attributes = 0x93;
        break;
    default: /* any segment caches, any mode bits */
        vp.Cs.Attributes = (UINT16)take(&in, 2);
        break;
    }
    if (mode >= 1) {
        vp.Cs.Base = interesting(&in);
        vp.Cs.Limit = (UINT32)interesting(&in);
        for (int s = 0; s < 6; s++) {
            WHV_REGISTER_VALUE v;
            memset(&v, 0, sizeof(v));
            v.Segment.Base = interesting(&in);
            v.Segment.Limit = (UINT32)interesting(&in);
            v.Segment.Attributes = (UINT16)take(&in, 2);
            fvmm_reg_set(vm, (WHV_REGISTER_NAME)(WHvX64RegisterEs + s), &v);
        }
    }
    vp.Rip = interesting(&in);
    vp.Rflags = take(&in, 4) | 2;
    vp.InstructionLength = (UINT8)take(&in, 1);
    for (int r = 0; r < 16; r++)
        fvmm_set_reg64(vm, (WHV_REGISTER_NAME)(WHvX64RegisterRax + r), interesting(&in));
    fvmm_set_reg64(vm, WHvX64RegisterCr4, take(&in, 1) & 1 ? (1u << 12) : 0);

    /* Translation: the default, plus one page with an odd answer. */
    fvmm_set_default_translation(vm, take(&in, 1) & 1 ? FVMM_UNMAPPED_NOT_PRESENT
                                                      : FVMM_UNMAPPED_IDENTITY);
    uint64_t odd = interesting(&in);
    fvmm_map_gva_ex(vm, odd, (WHV_TRANSLATE_GVA_RESULT_CODE)(take(&in, 1) % 10),
                    take(&in, 1) & 1 ? (odd & ~0xFFFull) : take(&in, 8), (unsigned)take(&in, 1));
    /* Some code to fetch at RIP. */
    uint8_t code[32];
    for (int i = 0; i < 32; i++)
        code[i] = (uint8_t)take(&in, 1);
    fvmm_gva_write(vm, vp.Rip, code, sizeof(code));

    unsigned count = (unsigned)take(&in, 1) % 18; /* 17 is invalid on purpose */
    uint8_t bytes[16];
    for (int i = 0; i < 16; i++)
        bytes[i] = (uint8_t)take(&in, 1);

    unsigned inject = (unsigned)take(&in, 1);
    WHV_EMULATOR_HANDLE emu;
    if (WHvEmulatorCreateEmulator(fvmm_callbacks(), &emu) != S_OK) {
        fail("create", data, size);
        fvmm_destroy(vm);
        return;
    }
    fvmm_reset_log(vm);
    if (inject & 1)
        fvmm_fail_nth(vm, (fvmm_cb_kind)((inject >> 1) % FVMM_CB_KINDS), 1 + ((inject >> 4) & 7),
                      (inject & 0x80) ? S_FALSE : E_FAIL);
    else if (inject & 2)
        fvmm_translate_nth(vm, 1 + ((inject >> 2) & 3), (WHV_TRANSLATE_GVA_RESULT_CODE)(inject >> 4),
                           inject & 0x80 ? 0x10 : 0);

    WHV_EMULATOR_STATUS st;
    HRESULT hr;
    int io = take(&in, 1) & 1;
    WHV_MEMORY_ACCESS_CONTEXT mc;
    WHV_X64_IO_PORT_ACCESS_CONTEXT ioc;
    if (!io) {
        memset(&mc, 0, sizeof(mc));
        mc.InstructionByteCount = (UINT8)count;
        memcpy(mc.InstructionBytes, bytes, 16);
        mc.AccessInfo.AsUINT32 = (UINT32)take(&in, 1);
        mc.Gva = interesting(&in);
        mc.Gpa = interesting(&in);
        hr = WHvEmulatorTryMmioEmulation(emu, vm, &vp, &mc, &st);
    } else {
        memset(&ioc, 0, sizeof(ioc));
        ioc.InstructionByteCount = (UINT8)count;
        memcpy(ioc.InstructionBytes, bytes, 16);
        ioc.AccessInfo.AsUINT32 = (UINT32)take(&in, 1);
        ioc.PortNumber = (UINT16)take(&in, 2);
        ioc.Rax = interesting(&in);
        ioc.Rcx = interesting(&in) & 0x3FF;
        ioc.Rsi = interesting(&in);
        ioc.Rdi = interesting(&in);
        WHV_REGISTER_VALUE v;
        fvmm_reg_get(vm, WHvX64RegisterDs, &v);
        ioc.Ds = v.Segment;
        fvmm_reg_get(vm, WHvX64RegisterEs, &v);
        ioc.Es = v.Segment;
        hr = WHvEmulatorTryIoEmulation(emu, vm, &vp, &ioc, &st);
    }

    if (hr == E_INVALIDARG)
        status_count[10]++;
    for (unsigned b = 0; hr == S_OK && b < 10; b++)
        if (st.AsUINT32 & (1u << b))
            status_count[b]++;
    if (count > 16) {
        if (hr != E_INVALIDARG)
            fail("byte count 17 accepted", data, size);
    } else if (hr != S_OK) {
        fail("HRESULT other than S_OK", data, size);
    } else {
        uint32_t s = st.AsUINT32;
        if (s == 0 || (s & (s - 1)) || s >= 0x400)
            fail("status is not exactly one defined bit", data, size);
        const char *why = fvmm_check_round_trip(vm, &vp, io ? NULL : &mc, &st);
        if (why) {
            char msg[256];
            snprintf(msg, sizeof(msg), "round trip: %s", why);
            fail(msg, data, size);
        }
        /* Bounded work: REP yields after its budget. */
        if (fvmm_call_count(vm) > 3 * 4096 + 64)
            fail("too many callbacks in one call", data, size);
    }
    WHvEmulatorDestroyEmulator(emu);
    fvmm_destroy(vm);
}

#ifdef WHVEMU_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    one_input(data, size);
    if (failures)
        abort();
    return 0;
}
#else
static uint64_t rng_state;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Inputs biased towards instructions the emulator knows: half the byte
 * positions that land in the instruction bytes and the code at RIP get
 * prefixes and opcodes from a list of real encodings. */
static void make_input(uint8_t *buf, size_t n)
{
    static const uint8_t common[] = {0x66, 0x67, 0xF3, 0xF2, 0xF0, 0x48, 0x41, 0x0F, 0x8B, 0x89,
                                     0x01, 0x81, 0x83, 0xA4, 0xA5, 0xAB, 0x6E, 0x6C, 0xEE, 0xEC,
                                     0xC7, 0xF7, 0xFF, 0xB1, 0xC1, 0xA3, 0x64, 0x26, 0x04, 0x44};
    for (size_t i = 0; i < n; i++) {
        uint64_t r = rng();
        buf[i] = (r & 0x300) ? (uint8_t)r : common[(r >> 16) % sizeof(common)];
    }
}

int main(void)
{
    long iters = getenv("WHVEMU_FUZZ_ITERS") ? atol(getenv("WHVEMU_FUZZ_ITERS")) : 100000;
    uint64_t seeds[2] = {0x5EED5EED12345678ull, 0};
    const char *env = getenv("WHVEMU_FUZZ_SEED");
    seeds[1] = env ? strtoull(env, NULL, 0) : ((uint64_t)time(NULL) * 2654435761u) | 1;
    long total = 0;
    for (int s = 0; s < 2; s++) {
        rng_state = seeds[s] ? seeds[s] : 1;
        printf("seed 0x%llx (reproduce with WHVEMU_FUZZ_SEED=0x%llx)\n",
               (unsigned long long)seeds[s], (unsigned long long)seeds[s]);
        for (long i = 0; i < iters; i++) {
            uint8_t buf[320];
            make_input(buf, sizeof(buf));
            int before = failures;
            one_input(buf, sizeof(buf));
            if (failures != before && failures <= 20)
                printf("  (seed 0x%llx, iteration %ld)\n", (unsigned long long)seeds[s], i);
            total++;
        }
    }
    static const char *const names[11] = {
        "EmulationSuccessful", "InternalEmulationFailure", "IoPortCallbackFailed",
        "MemoryCallbackFailed", "TranslateGvaPageCallbackFailed", "GpaIsNotAligned",
        "GetRegistersFailed", "SetRegistersFailed", "InterruptCausedIntercept",
        "GuestCannotBeFaulted", "E_INVALIDARG"};
    for (int b = 0; b < 11; b++)
        if (status_count[b])
            printf("  %-32s %ld\n", names[b], status_count[b]);
    printf("%ld inputs\n%ld passed, %d failed\n", total, total - failures, failures);
    return failures ? 1 : 0;
}
#endif
