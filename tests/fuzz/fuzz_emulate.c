/*
 * fuzz_emulate.c - hostile input for both Try functions: instruction bytes,
 * modes, segment caches, register values chosen from boundary sets,
 * exit contexts, translation answers (odd result codes, unaligned GPAs) and
 * callback failures at any position. Whatever the input, the call must
 * return S_OK (or E_INVALIDARG for an over-long byte count), report exactly
 * one status bit (the failed callback's when one failed), follow every
 * round-trip rule, do bounded work, and not crash or touch memory out of
 * bounds (built with UBSan, ASan or both; signed overflow aborts).
 *
 * The input layout is in fuzz_input.h, the structure-aware mutations in
 * fuzz_mutate.h. One fake VMM and one emulator handle serve every input
 * (fvmm_reset() between inputs), so an input costs what its emulation
 * costs.
 *
 * Built two ways:
 *  - with -DWHVEMU_LIBFUZZER as a libFuzzer target (LLVMFuzzerTestOneInput;
 *    half the mutations are libFuzzer's, half structured ones);
 *  - by default as a self-driving test: `fuzz_emulate [file-or-dir...]`
 *    replays the given inputs (the seed corpus), then feeds inputs made by
 *    1-4 structured mutations of a seed or of random bytes (fixed seed, then
 *    a printed random seed; WHVEMU_FUZZ_SEED reproduces, WHVEMU_FUZZ_ITERS sets the count per seed; WHVEMU_FUZZ_DUMP
 *    prints the callback log of a failed input).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "WinHvEmulation.h"
#include "fake_vmm.h"
#include "fuzz_input.h"
#include "fuzz_mutate.h"
#include "whvemu.h"

static fake_vmm *vm;
static WHV_EMULATOR_HANDLE emu;

static int failures;
static uint32_t last_status;
static long status_count[11]; /* by status bit; [10]: E_INVALIDARG */

static void fail(const char *what, const uint8_t *data, size_t n)
{
    failures++;
    if (failures > 20)
        return;
    printf("FAIL: %s\n  input:", what);
    for (size_t i = 0; i < n && i < FZ_SIZE; i++)
        printf(" %02x", data[i]);
    printf("\n");
    fflush(stdout);
}

static void setup_once(void)
{
    if (vm)
        return;
    vm = fvmm_create();
    if (WHvEmulatorCreateEmulator(fvmm_callbacks(), &emu) != S_OK ||
        whvemu_set_xstate_callback(emu, fvmm_xstate_callback()) != S_OK) {
        printf("cannot create an emulator\n");
        abort();
    }
}

/* CS attributes of the structured modes (P S DPL type, D, L, G). */
static const uint16_t mode_cs_attr[] = {
    [FZ_MODE_LONG64] = 0x209B, [FZ_MODE_COMPAT32] = 0xC09B, [FZ_MODE_COMPAT16] = 0x009B,
    [FZ_MODE_PROT32] = 0xC09B, [FZ_MODE_PROT16] = 0x009B,   [FZ_MODE_REAL] = 0x009B,
    [FZ_MODE_V86] = 0x00F3,
};

/* WHVEMU_FUZZ_SKIP: a comma-separated list of mnemonics whose inputs are
 * skipped. Valgrind does not execute the x87 BCD instructions, which the
 * library runs on the host for FBLD and FBSTP, so the memcheck run skips
 * those ("fbld,fbstp"). */
static int skipped(const uint8_t *bytes)
{
    const char *list = getenv("WHVEMU_FUZZ_SKIP");
    if (!list || !*list)
        return 0;
    static const struct dec_mode modes[3] = {{true, 4, 8}, {false, 4, 4}, {false, 2, 2}};
    for (unsigned m = 0; m < 3; m++) {
        struct insn in;
        if (dec_decode(&modes[m], bytes, 15, &in) != DEC_OK)
            continue;
        size_t len = strlen(in.row->mnem);
        for (const char *p = list; *p;) {
            const char *end = strchr(p, ',');
            size_t n = end ? (size_t)(end - p) : strlen(p);
            if (n == len && !strncmp(p, in.row->mnem, n))
                return 1;
            p += n + (end ? 1 : 0);
        }
    }
    return 0;
}

static void one_input(const uint8_t *data, size_t size)
{
    uint8_t r[FZ_SIZE];
    memset(r, 0, sizeof(r));
    memcpy(r, data, size < FZ_SIZE ? size : FZ_SIZE);
    if (skipped(r + FZ_BYTES))
        return;
#define V(slot) fz_value(r + FZ_SLOTS + FZ_SLOT * (slot))

    setup_once();
    fvmm_reset(vm);
    unsigned mode = (r[FZ_CTRL] >> 1) & 7;
    unsigned cpl = (r[FZ_CTRL] >> 4) & 3;
    if (mode == FZ_MODE_REAL)
        cpl = 0;
    if (mode == FZ_MODE_V86)
        cpl = 3;
    fvmm_setup_long_mode(vm, cpl);
    uint64_t cr4 = 0x620;
    if (r[FZ_CTRL] & 0x40)
        cr4 |= 1u << 12; /* LA57 */
    if (r[FZ_CTRL2] & 1)
        cr4 |= 1u << 20; /* SMEP */
    if (r[FZ_CTRL2] & 0x10)
        cr4 &= ~(uint64_t)0x20; /* PAE */
    fvmm_set_reg64(vm, WHvX64RegisterCr4, cr4);
    fvmm_set_reg64(vm, WHvX64RegisterEfer, (r[FZ_CTRL2] & 2) ? 0xD01 : 0x501);

    WHV_VP_EXIT_CONTEXT vp;
    memset(&vp, 0, sizeof(vp));
    uint8_t ex = r[FZ_EXEC];
    vp.ExecutionState.Cpl = cpl;
    vp.ExecutionState.InterruptionPending = ex & 1;
    vp.ExecutionState.InterruptShadow = (ex >> 1) & 1;
    vp.ExecutionState.Cr0Am = (ex >> 2) & 1;
    vp.ExecutionState.DebugActive = (ex >> 3) & 1;
    vp.Rflags = fz_le(r + FZ_RFLAGS, 4) | 2;
    if (mode == FZ_MODE_RAW) {
        vp.ExecutionState.Cr0Pe = (ex >> 4) & 1;
        vp.ExecutionState.EferLma = (ex >> 5) & 1;
        vp.Cs.Attributes = (UINT16)fz_le(r + FZ_SEGATTR + 2, 2);
    } else {
        vp.ExecutionState.Cr0Pe = mode != FZ_MODE_REAL;
        vp.ExecutionState.EferLma = mode <= FZ_MODE_COMPAT16;
        vp.Cs.Attributes = mode_cs_attr[mode];
        if (mode == FZ_MODE_V86)
            vp.Rflags |= 0x20000u;
        else
            vp.Rflags &= ~(UINT64)0x20000u;
    }
    vp.Cs.Base = V(FZ_V_SEG_BASE + 1);
    vp.Cs.Limit = (UINT32)V(FZ_V_SEG_LIMIT + 1);
    vp.Cs.Selector = (UINT16)(vp.Cs.Base >> 4);
    for (int s = 0; s < 6; s++) {
        WHV_REGISTER_VALUE v;
        memset(&v, 0, sizeof(v));
        if (s == 1) {
            v.Segment = vp.Cs;
        } else {
            v.Segment.Base = V(FZ_V_SEG_BASE + s);
            v.Segment.Limit = (UINT32)V(FZ_V_SEG_LIMIT + s);
            v.Segment.Attributes = (UINT16)fz_le(r + FZ_SEGATTR + 2 * s, 2);
            v.Segment.Selector = (UINT16)(v.Segment.Base >> 4);
        }
        fvmm_reg_set(vm, (WHV_REGISTER_NAME)(WHvX64RegisterEs + s), &v);
    }
    vp.Rip = V(FZ_V_RIP);
    vp.InstructionLength = r[FZ_ILEN];
    for (int g = 0; g < 16; g++)
        fvmm_set_reg64(vm, (WHV_REGISTER_NAME)(WHvX64RegisterRax + g), V(FZ_V_GPR + g));
    fvmm_set_reg64(vm, WHvX64RegisterRip, vp.Rip);
    fvmm_set_reg64(vm, WHvX64RegisterRflags, vp.Rflags);

    /* Translation: the default for every page, two pages with their own
     * answer (any result code, any returned GPA, any permissions). */
    if (r[FZ_CTRL] & 0x80)
        fvmm_set_default_translation(vm, FVMM_UNMAPPED_NOT_PRESENT);
    for (int k = 0; k < 2; k++) {
        uint64_t gva = V(FZ_V_ODD_GVA + 2 * k), gpa = V(FZ_V_ODD_GPA + 2 * k);
        uint8_t res = r[FZ_ODD + 2 * k], perms = r[FZ_ODD + 2 * k + 1];
        if (res == 0 && perms == 0)
            continue; /* no odd page */
        fvmm_map_gva_ex(vm, gva, (WHV_TRANSLATE_GVA_RESULT_CODE)fz_results[res % FZ_NRESULTS],
                        gpa, perms);
    }
    uint64_t exit_gva = V(FZ_V_GVA), exit_gpa = V(FZ_V_GPA);
    fvmm_set_mmio(vm, exit_gpa, 1);
    fvmm_set_mmio_translates_unmapped(vm, (r[FZ_CTRL2] >> 2) & 1);

    /* Code at CS:RIP and data at the exit's GPA. */
    uint64_t code_lin = vp.Rip;
    if (mode != FZ_MODE_LONG64) {
        uint64_t ipmask = (vp.Cs.Attributes & 0x4000) ? 0xFFFFFFFFu : 0xFFFFu;
        code_lin = (vp.Cs.Base + (vp.Rip & ipmask)) & 0xFFFFFFFFu;
    }
    fvmm_gva_write(vm, code_lin, r + FZ_CODE, 16);
    if (r[FZ_MEMFILL]) {
        uint8_t fill[16];
        for (unsigned i = 0; i < 16; i++)
            fill[i] = (uint8_t)(r[FZ_MEMFILL] * (i + 1));
        fvmm_gpa_write(vm, exit_gpa, fill, sizeof(fill));
    }

    uint32_t limit = fz_rep_limits[r[FZ_REPLIMIT] % FZ_NREPLIMITS];
    if (limit == 0 && V(FZ_V_GPR + 1) >= FZ_TO_COMPLETION_MAX)
        limit = 4096;
    if (whvemu_set_rep_limit(emu, limit) != S_OK)
        fail("whvemu_set_rep_limit", data, size);
    fvmm_set_rep_to_completion(vm, limit == 0);

    fvmm_reset_log(vm);
    for (int k = 0; k < 2; k++) {
        const uint8_t *j = r + FZ_INJECT + 3 * k;
        unsigned kind = j[0] % 8, nth = 1 + j[1] % 16;
        if (kind < FVMM_CB_KINDS)
            fvmm_fail_nth(vm, (fvmm_cb_kind)kind, nth, (HRESULT)fz_hresults[j[2] % FZ_NHRESULTS]);
        else if (kind == FZ_INJECT_TRANSLATE_ANSWER)
            fvmm_translate_nth(vm, nth,
                               (WHV_TRANSLATE_GVA_RESULT_CODE)fz_results[j[2] % FZ_NRESULTS],
                               fz_gpa_offsets[(j[2] >> 4) & 3]);
    }

    unsigned count = r[FZ_NBYTES] % 18; /* 17 is invalid on purpose */
    WHV_EMULATOR_STATUS st;
    HRESULT hr;
    int io = r[FZ_CTRL] & 1;
    WHV_MEMORY_ACCESS_CONTEXT mc;
    WHV_X64_IO_PORT_ACCESS_CONTEXT ioc;
    if (!io) {
        memset(&mc, 0, sizeof(mc));
        mc.InstructionByteCount = (UINT8)count;
        memcpy(mc.InstructionBytes, r + FZ_BYTES, 16);
        mc.AccessInfo.AsUINT32 = r[FZ_ACCESS];
        mc.Gva = exit_gva;
        mc.Gpa = exit_gpa;
        hr = WHvEmulatorTryMmioEmulation(emu, vm, &vp, &mc, &st);
    } else {
        memset(&ioc, 0, sizeof(ioc));
        ioc.InstructionByteCount = (UINT8)count;
        memcpy(ioc.InstructionBytes, r + FZ_BYTES, 16);
        ioc.AccessInfo.AsUINT32 = r[FZ_ACCESS];
        ioc.PortNumber = (UINT16)fz_le(r + FZ_PORT, 2);
        ioc.Rax = V(FZ_V_GPR + 0);
        ioc.Rcx = V(FZ_V_GPR + 1);
        ioc.Rsi = V(FZ_V_GPR + 6);
        ioc.Rdi = V(FZ_V_GPR + 7);
        WHV_REGISTER_VALUE v;
        fvmm_reg_get(vm, WHvX64RegisterDs, &v);
        ioc.Ds = v.Segment;
        fvmm_reg_get(vm, WHvX64RegisterEs, &v);
        ioc.Es = v.Segment;
        hr = WHvEmulatorTryIoEmulation(emu, vm, &vp, &ioc, &st);
    }
#undef V

    if (hr == E_INVALIDARG)
        status_count[10]++;
    for (unsigned b = 0; hr == S_OK && b < 10; b++)
        if (st.AsUINT32 & (1u << b))
            status_count[b]++;
    if (count > 16) {
        if (hr != E_INVALIDARG)
            fail("byte count 17 accepted", data, size);
        return;
    }
    if (hr != S_OK) {
        fail("HRESULT other than S_OK", data, size);
        return;
    }
    uint32_t s = st.AsUINT32;
    last_status = s;
    if (s == 0 || (s & (s - 1)) || s >= 0x400)
        fail("status is not exactly one defined bit", data, size);
    const char *why = fvmm_check_round_trip(vm, &vp, io ? NULL : &mc, &st);
    if (why) {
        char msg[600];
        snprintf(msg, sizeof(msg), "round trip: %s", why);
        fail(msg, data, size);
        if (getenv("WHVEMU_FUZZ_DUMP"))
            fvmm_dump_log(vm, stdout);
    }
    /* Bounded work: REP yields after its limit (a run to completion has
     * fewer than FZ_TO_COMPLETION_MAX iterations). Three callbacks an
     * iteration at most, and the translations of a fresh set of page slots
     * every few pages. */
    size_t bound = limit ? 3 * (size_t)limit + 64 : 4 * (size_t)FZ_TO_COMPLETION_MAX + 64;
    if (fvmm_call_count(vm) > bound)
        fail("too many callbacks in one call", data, size);
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

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    uint64_t rng = seed;
    if (max_size < FZ_SIZE || (fz_rng(&rng) & 1))
        return LLVMFuzzerMutate(data, size, max_size);
    uint8_t r[FZ_SIZE];
    memset(r, 0, sizeof(r));
    memcpy(r, data, size < FZ_SIZE ? size : FZ_SIZE);
    unsigned n = 1 + (unsigned)(fz_rng(&rng) % 3);
    for (unsigned i = 0; i < n; i++)
        fz_mutate_one(r, &rng);
    memcpy(data, r, FZ_SIZE);
    return FZ_SIZE;
}
#else
static int verbose; /* WHVEMU_FUZZ_VERBOSE=1: the outcome of every replayed input */
static uint64_t rng_state;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Inputs biased towards instructions the emulator knows and towards the
 * structured modes: instruction bytes and code get prefixes and opcodes from
 * a list of real encodings half the time, value slots pick edges half the
 * time. */
static void make_input(uint8_t *buf)
{
    static const uint8_t common[] = {0x66, 0x67, 0xF3, 0xF2, 0xF0, 0x48, 0x41, 0x0F, 0x8B, 0x89,
                                     0x01, 0x81, 0x83, 0xA4, 0xA5, 0xAB, 0x6E, 0x6C, 0xEE, 0xEC,
                                     0xC7, 0xF7, 0xFF, 0xB1, 0xC1, 0xA3, 0x64, 0x26, 0x04, 0x44};
    for (size_t i = 0; i < FZ_SIZE; i++) {
        uint64_t x = rng();
        buf[i] = (uint8_t)x;
        if (i >= FZ_BYTES && i < FZ_CODE + 16 && (x & 0x300))
            buf[i] = common[(x >> 16) % sizeof(common)];
    }
    buf[FZ_EXEC] &= (rng() & 0xF) ? 0xFE : 0xFF; /* mostly no event delivery */
    for (unsigned k = 0; k < 2; k++)
        if (rng() & 1)
            buf[FZ_INJECT + 3 * k] = 7; /* half the inputs without an injection each */
    for (unsigned s = 0; s < FZ_V_COUNT; s++)
        if (rng() & 1)
            buf[FZ_SLOTS + FZ_SLOT * s] &= 0x7F;
}

/* The replayed inputs, the bases of the random ones. */
static uint8_t (*seeds)[FZ_SIZE];
static size_t nseeds, capseeds;

static void keep_seed(const uint8_t *buf, size_t n)
{
    if (nseeds == capseeds) {
        capseeds = capseeds ? 2 * capseeds : 512;
        seeds = realloc(seeds, capseeds * sizeof(*seeds));
        if (!seeds)
            abort();
    }
    memset(seeds[nseeds], 0, FZ_SIZE);
    memcpy(seeds[nseeds++], buf, n < FZ_SIZE ? n : FZ_SIZE);
}

static long replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("cannot open %s\n", path);
        failures++;
        return 0;
    }
    uint8_t buf[4096];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    keep_seed(buf, n);
    int before = failures;
    last_status = 0;
    one_input(buf, n);
    if (failures != before && failures <= 20)
        printf("  (input file %s)\n", path);
    if (verbose) {
        WHV_X64_PENDING_INTERRUPTION_REGISTER pi = fvmm_injected(vm);
        printf("%-40s status 0x%03x %s vector %u, %zu callbacks; %s\n", path, last_status,
               pi.InterruptionPending ? "fault" : "no fault", pi.InterruptionVector,
               fvmm_call_count(vm), whvemu_last_failure(emu));
    }
    return 1;
}

/* Replays a file, or every regular file in a directory. */
static long replay(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        DIR *d = opendir(path);
        long n = 0;
        struct dirent *de;
        while (d && (de = readdir(d))) {
            if (de->d_name[0] == '.')
                continue;
            char p[4096];
            snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
            n += replay_file(p);
        }
        if (d)
            closedir(d);
        return n;
    }
    return replay_file(path);
}

int main(int argc, char **argv)
{
    long total = 0;
    verbose = getenv("WHVEMU_FUZZ_VERBOSE") && *getenv("WHVEMU_FUZZ_VERBOSE") == '1';
    for (int i = 1; i < argc; i++)
        total += replay(argv[i]);
    if (argc > 1)
        printf("%ld inputs replayed, %d failed\n", total, failures);

    long iters = getenv("WHVEMU_FUZZ_ITERS") ? atol(getenv("WHVEMU_FUZZ_ITERS")) : 100000;
    uint64_t rseeds[2] = {0x5EED5EED12345678ull, 0};
    const char *env = getenv("WHVEMU_FUZZ_SEED");
    rseeds[1] = env ? strtoull(env, NULL, 0) : ((uint64_t)time(NULL) * 2654435761u) | 1;
    for (int s = 0; s < 2 && iters > 0; s++) {
        rng_state = rseeds[s] ? rseeds[s] : 1;
        printf("seed 0x%llx (reproduce with WHVEMU_FUZZ_SEED=0x%llx)\n",
               (unsigned long long)rseeds[s], (unsigned long long)rseeds[s]);
        for (long i = 0; i < iters; i++) {
            uint8_t buf[FZ_SIZE];
            uint64_t pick = rng();
            if (nseeds && (pick & 3))
                memcpy(buf, seeds[(pick >> 2) % nseeds], FZ_SIZE);
            else
                make_input(buf);
            unsigned nmut = 1 + (unsigned)((pick >> 40) % 4);
            for (unsigned m = 0; m < nmut; m++)
                fz_mutate_one(buf, &rng_state);
            int before = failures;
            one_input(buf, sizeof(buf));
            if (failures != before && failures <= 20)
                printf("  (seed 0x%llx, iteration %ld)\n", (unsigned long long)rseeds[s], i);
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
    WHvEmulatorDestroyEmulator(emu);
    fvmm_destroy(vm);
    free(seeds);
    return failures ? 1 : 0;
}
#endif
