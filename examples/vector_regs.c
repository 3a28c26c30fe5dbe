/*
 * vector_regs.c - sandbox-vector-regs: checks that the sandbox's register
 * callbacks read and write the vector state of the thread a device access
 * interrupted.
 *
 * Each check runs a function that holds known values in vector (or x87)
 * registers across one integer store to the device window. The emulator
 * completes the store (a plain MOV, which it emulates), and an exit hook
 * then goes through the sandbox's own callbacks - get/set registers for
 * XMM0-15, MXCSR, FpMmx0-7, CR0/CR4/XCR0, and the extended-state callback
 * for YMM bits 255:128 - with the Context the emulator was given:
 *
 *   intact   the hook finds the 256-bit values in YMM registers (low half
 *            through Xmm<n>, high half through component 2) and writes all
 *            sixteen back as read; the function sees its values unchanged.
 *   rewrite  the hook replaces every value it finds, both halves; the
 *            function must see exactly the new values in those registers
 *            and the old ones elsewhere.
 *   mxcsr    the hook checks MXCSR against what the thread read and sets
 *            the rounding control to toward-zero; the thread must see it.
 *   x87      long doubles on the x87 stack: the hook finds them through
 *            FpMmx0-7 (physical registers, tags consistent with TOP) and
 *            replaces one; the thread must see it.
 *   control  CR0 (TS clear), CR4.OSXSAVE and XCR0 as the host has them.
 *
 * Which registers the compiler chose does not matter: the hook searches
 * all sixteen. The values are loaded through a may-alias type, so the
 * compiler must keep them in registers across the store (it has no reason
 * to spill twelve values into sixteen registers). No inline assembly: the
 * code is plain intrinsics, built with -mavx2.
 *
 * Exit status 0 when every check passed, 1 otherwise, 77 (skipped) when
 * the CPU or the OS lacks AVX2.
 */
#define _GNU_SOURCE

#include <immintrin.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "sandbox.h"
#include "whvemu.h"

#define NVAL 12
#define NLD 3

enum mode { M_NONE, M_INTACT, M_REWRITE, M_MXCSR, M_X87, M_CONTROL };

struct hook_state {
    enum mode mode;
    unsigned calls;
    /* ymm */
    uint64_t val[NVAL][4], repl[NVAL][4];
    unsigned found, rewritten; /* bit i: value i */
    int reg_of[NVAL];
    unsigned half_matches; /* low half found with a wrong high half */
    unsigned readback_bad;
    /* mxcsr */
    uint32_t mxcsr_expected, mxcsr_seen, mxcsr_written;
    /* x87 */
    uint8_t ld[NLD][10], ld_new[10];
    int ld_phys[NLD];
    unsigned ld_found, ld_tags_bad, ld_top;
    int ld_replaced; /* index of the value replaced, -1 none */
    /* control registers */
    uint64_t cr0, cr4, xcr0;
    /* callback results */
    HRESULT hr_first_bad;
    unsigned bad_calls;
};

static struct hook_state hs;

static void note_hr(HRESULT hr)
{
    if (hr != S_OK) {
        if (hs.bad_calls++ == 0)
            hs.hr_first_bad = hr;
    }
}

static void get_regs(void *ctx, const WHV_REGISTER_NAME *names, unsigned n,
                     WHV_REGISTER_VALUE *v)
{
    note_hr(sandbox_callbacks()->WHvEmulatorGetVirtualProcessorRegisters(
        ctx, names, n, v));
}

static void set_regs(void *ctx, const WHV_REGISTER_NAME *names, unsigned n,
                     const WHV_REGISTER_VALUE *v)
{
    note_hr(sandbox_callbacks()->WHvEmulatorSetVirtualProcessorRegisters(
        ctx, names, n, v));
}

static void xstate(void *ctx, int write, uint8_t *buf)
{
    note_hr(sandbox_xstate_callback()(ctx, 2, write ? 1 : 0, buf, 256));
}

static void hook_ymm(void *ctx)
{
    WHV_REGISTER_NAME names[16];
    WHV_REGISTER_VALUE v[16];
    uint8_t hi[256], back[256];
    unsigned n_set = 0;
    WHV_REGISTER_NAME set_names[16];
    WHV_REGISTER_VALUE set_v[16];

    for (unsigned r = 0; r < 16; r++)
        names[r] = (WHV_REGISTER_NAME)(WHvX64RegisterXmm0 + r);
    get_regs(ctx, names, 16, v);
    xstate(ctx, 0, hi);
    for (unsigned i = 0; i < NVAL; i++) {
        for (unsigned r = 0; r < 16; r++) {
            uint64_t h[2];
            memcpy(h, hi + 16 * r, 16);
            if (v[r].Reg128.Low64 != hs.val[i][0] ||
                v[r].Reg128.High64 != hs.val[i][1])
                continue;
            if (h[0] != hs.val[i][2] || h[1] != hs.val[i][3]) {
                hs.half_matches++;
                continue;
            }
            hs.found |= 1u << i;
            hs.reg_of[i] = (int)r;
            if (hs.mode == M_REWRITE) {
                set_names[n_set] = names[r];
                memset(&set_v[n_set], 0, sizeof(set_v[n_set]));
                set_v[n_set].Reg128.Low64 = hs.repl[i][0];
                set_v[n_set].Reg128.High64 = hs.repl[i][1];
                n_set++;
                memcpy(hi + 16 * r, &hs.repl[i][2], 16);
                hs.rewritten |= 1u << i;
            }
            break;
        }
    }
    if (hs.mode == M_INTACT) {
        /* A round trip: everything written back as read. */
        set_regs(ctx, names, 16, v);
        xstate(ctx, 1, hi);
    }
    if (hs.mode == M_REWRITE && n_set) {
        set_regs(ctx, set_names, n_set, set_v);
        xstate(ctx, 1, hi);
        xstate(ctx, 0, back);
        if (memcmp(hi, back, sizeof(hi)) != 0)
            hs.readback_bad++;
    }
}

static void hook_mxcsr(void *ctx)
{
    WHV_REGISTER_NAME n = WHvX64RegisterXmmControlStatus;
    WHV_REGISTER_VALUE v;
    get_regs(ctx, &n, 1, &v);
    hs.mxcsr_seen = v.XmmControlStatus.XmmStatusControl;
    v.XmmControlStatus.XmmStatusControl = hs.mxcsr_written;
    set_regs(ctx, &n, 1, &v);
}

static void hook_x87(void *ctx)
{
    WHV_REGISTER_NAME names[9];
    WHV_REGISTER_VALUE v[9];

    for (unsigned r = 0; r < 8; r++)
        names[r] = (WHV_REGISTER_NAME)(WHvX64RegisterFpMmx0 + r);
    names[8] = WHvX64RegisterFpControlStatus;
    get_regs(ctx, names, 9, v);
    hs.ld_top = (v[8].FpControlStatus.FpStatus >> 11) & 7u;
    for (unsigned i = 0; i < NLD; i++) {
        for (unsigned r = 0; r < 8; r++) {
            uint8_t b[10];
            uint16_t e = (uint16_t)(v[r].Fp.BiasedExponent |
                                    (v[r].Fp.Sign << 15));
            uint64_t m = v[r].Fp.Mantissa;
            memcpy(b, &m, 8);
            memcpy(b + 8, &e, 2);
            if (memcmp(b, hs.ld[i], 10) != 0)
                continue;
            hs.ld_found |= 1u << i;
            hs.ld_phys[i] = (int)r;
            /* The abridged tag word is indexed by physical register. */
            if (!(v[8].FpControlStatus.FpTag & (1u << r)))
                hs.ld_tags_bad++;
            break;
        }
    }
    /* Replace the middle value. */
    if (hs.ld_found & 2u) {
        WHV_REGISTER_VALUE nv;
        uint64_t m;
        uint16_t e;
        memset(&nv, 0, sizeof(nv));
        memcpy(&m, hs.ld_new, 8);
        memcpy(&e, hs.ld_new + 8, 2);
        nv.Fp.Mantissa = m;
        nv.Fp.BiasedExponent = e & 0x7FFFu;
        nv.Fp.Sign = e >> 15;
        set_regs(ctx, &names[hs.ld_phys[1]], 1, &nv);
        hs.ld_replaced = 1;
    }
}

static void hook_control(void *ctx)
{
    WHV_REGISTER_NAME names[3] = {WHvX64RegisterCr0, WHvX64RegisterCr4,
                                  WHvX64RegisterXCr0};
    WHV_REGISTER_VALUE v[3];
    get_regs(ctx, names, 3, v);
    hs.cr0 = v[0].Reg64;
    hs.cr4 = v[1].Reg64;
    hs.xcr0 = v[2].Reg64;
}

static void hook(struct sandbox *sb, void *ctx, void *arg)
{
    (void)sb;
    (void)arg;
    hs.calls++;
    switch (hs.mode) {
    case M_INTACT:
    case M_REWRITE:
        hook_ymm(ctx);
        break;
    case M_MXCSR:
        hook_mxcsr(ctx);
        break;
    case M_X87:
        hook_x87(ctx);
        break;
    case M_CONTROL:
        hook_control(ctx);
        break;
    case M_NONE:
        break;
    }
}

/* ---- the interrupted functions ------------------------------------------ */

__attribute__((noinline)) static void hold_ymm(volatile uint32_t *dev,
                                               const void *in, void *out)
{
    const __m256i *s = in;
    __m256i *d = out;
    __m256i v0 = _mm256_loadu_si256(s + 0), v1 = _mm256_loadu_si256(s + 1);
    __m256i v2 = _mm256_loadu_si256(s + 2), v3 = _mm256_loadu_si256(s + 3);
    __m256i v4 = _mm256_loadu_si256(s + 4), v5 = _mm256_loadu_si256(s + 5);
    __m256i v6 = _mm256_loadu_si256(s + 6), v7 = _mm256_loadu_si256(s + 7);
    __m256i v8 = _mm256_loadu_si256(s + 8), v9 = _mm256_loadu_si256(s + 9);
    __m256i v10 = _mm256_loadu_si256(s + 10);
    __m256i v11 = _mm256_loadu_si256(s + 11);

    *dev = 0x600DF00Du; /* emulated: the hook runs here */
    atomic_signal_fence(memory_order_seq_cst);

    _mm256_storeu_si256(d + 0, v0);
    _mm256_storeu_si256(d + 1, v1);
    _mm256_storeu_si256(d + 2, v2);
    _mm256_storeu_si256(d + 3, v3);
    _mm256_storeu_si256(d + 4, v4);
    _mm256_storeu_si256(d + 5, v5);
    _mm256_storeu_si256(d + 6, v6);
    _mm256_storeu_si256(d + 7, v7);
    _mm256_storeu_si256(d + 8, v8);
    _mm256_storeu_si256(d + 9, v9);
    _mm256_storeu_si256(d + 10, v10);
    _mm256_storeu_si256(d + 11, v11);
}

__attribute__((noinline)) static unsigned hold_mxcsr(volatile uint32_t *dev,
                                                     unsigned *before)
{
    unsigned after;
    *before = _mm_getcsr();
    hs.mxcsr_expected = *before;
    atomic_signal_fence(memory_order_seq_cst);
    *dev = 0x5u;
    atomic_signal_fence(memory_order_seq_cst);
    after = _mm_getcsr();
    _mm_setcsr(*before);
    return after;
}

__attribute__((noinline)) static void hold_x87(volatile uint32_t *dev,
                                               const volatile long double *in,
                                               long double *out)
{
    long double a = in[0], b = in[1], c = in[2];
    *dev = 0x87u;
    atomic_signal_fence(memory_order_seq_cst);
    out[0] = a;
    out[1] = b;
    out[2] = c;
}

/* ---- checks ---------------------------------------------------------------- */

static int failures;

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (!(cond)) {                                                     \
            printf("  FAIL: ");                                            \
            printf(__VA_ARGS__);                                           \
            printf("\n");                                                  \
            failures++;                                                    \
        }                                                                  \
    } while (0)

static void reset_hook(enum mode m)
{
    memset(&hs, 0, sizeof(hs));
    hs.mode = m;
    for (unsigned i = 0; i < NVAL; i++) {
        hs.reg_of[i] = -1;
        for (unsigned k = 0; k < 4; k++) {
            hs.val[i][k] = 0x5EED000000000000ull ^ ((uint64_t)i << 40) ^
                           ((uint64_t)k << 32) ^ (0x9E3779B97F4A7C15ull * (4 * i + k + 1) >> 16);
            hs.repl[i][k] = ~hs.val[i][k] ^ 0x00FF00FF00FF00FFull;
        }
    }
    hs.ld_replaced = -1;
    for (unsigned i = 0; i < NLD; i++)
        hs.ld_phys[i] = -1;
}

static void check_ymm(struct sandbox *sb, enum mode m)
{
    uint64_t in[NVAL][4], out[NVAL][4];
    volatile uint32_t *dev = (volatile uint32_t *)(void *)sb->window;
    unsigned n_found = 0;

    reset_hook(m);
    memcpy(in, hs.val, sizeof(in));
    memset(out, 0, sizeof(out));
    hold_ymm(dev + 4 * (unsigned)m, in, out);
    atomic_signal_fence(memory_order_seq_cst);
    for (unsigned i = 0; i < NVAL; i++)
        n_found += (hs.found >> i) & 1u;
    printf("%s: hook ran %u time(s); %u of %d values found in YMM registers",
           m == M_INTACT ? "intact " : "rewrite", hs.calls, n_found, NVAL);
    for (unsigned i = 0; i < NVAL; i++)
        if (hs.reg_of[i] >= 0)
            printf(" %u:ymm%d", i, hs.reg_of[i]);
    printf("\n");
    CHECK(hs.calls == 1, "exit hook ran %u times, expected once", hs.calls);
    CHECK(hs.bad_calls == 0, "%u callback calls failed (first 0x%08x)",
          hs.bad_calls, (unsigned)hs.hr_first_bad);
    CHECK(n_found >= 8, "only %u values found in registers (the low half "
                        "comes from Xmm<n>, the high half from component 2)",
          n_found);
    CHECK(hs.half_matches == 0, "%u registers had the right low half and "
                                "a wrong high half (YMM_Hi128 read)",
          hs.half_matches);
    CHECK(hs.readback_bad == 0, "YMM_Hi128 read back differs from what was "
                                "written");
    CHECK(*(volatile uint32_t *)(void *)(sb->ram + 16 * (unsigned)m) ==
              0x600DF00Du,
          "the device did not receive the store");
    for (unsigned i = 0; i < NVAL; i++) {
        const uint64_t *want =
            (hs.rewritten >> i) & 1u ? hs.repl[i] : hs.val[i];
        CHECK(memcmp(out[i], want, 32) == 0,
              "value %u after the store: %016llx %016llx %016llx %016llx, "
              "expected %016llx %016llx %016llx %016llx (%s)",
              i, (unsigned long long)out[i][3], (unsigned long long)out[i][2],
              (unsigned long long)out[i][1], (unsigned long long)out[i][0],
              (unsigned long long)want[3], (unsigned long long)want[2],
              (unsigned long long)want[1], (unsigned long long)want[0],
              (hs.rewritten >> i) & 1u ? "rewritten by the hook"
                                       : "left alone");
    }
    if (m == M_REWRITE)
        CHECK(hs.rewritten == hs.found, "not every value found was rewritten");
}

static void check_mxcsr(struct sandbox *sb)
{
    volatile uint32_t *dev = (volatile uint32_t *)(void *)sb->window;
    unsigned before = 0, after;

    reset_hook(M_MXCSR);
    /* Round toward zero, everything else kept. */
    hs.mxcsr_written = (_mm_getcsr() & ~0x6000u) | 0x6000u;
    after = hold_mxcsr(dev + 32, &before);
    atomic_signal_fence(memory_order_seq_cst);
    printf("mxcsr  : thread had %#x, hook saw %#x and wrote %#x, thread "
           "then had %#x\n",
           before, hs.mxcsr_seen, hs.mxcsr_written, after);
    CHECK(hs.calls == 1, "exit hook ran %u times, expected once", hs.calls);
    CHECK(hs.bad_calls == 0, "callback calls failed");
    CHECK(hs.mxcsr_seen == hs.mxcsr_expected,
          "XmmControlStatus.XmmStatusControl %#x, thread's MXCSR %#x",
          hs.mxcsr_seen, hs.mxcsr_expected);
    CHECK(after == hs.mxcsr_written, "thread's MXCSR after the store %#x, "
                                     "expected %#x",
          after, hs.mxcsr_written);
}

static void check_x87(struct sandbox *sb)
{
    volatile uint32_t *dev = (volatile uint32_t *)(void *)sb->window;
    static const long double base[NLD] = {2.5L, -1048575.0L, 0.1875L};
    volatile long double in[NLD];
    long double out[NLD], want[NLD], repl = -12345.6875L;
    unsigned n_found = 0;

    reset_hook(M_X87);
    for (unsigned i = 0; i < NLD; i++) {
        in[i] = base[i];
        want[i] = base[i];
        memcpy(hs.ld[i], &want[i], 10);
    }
    memcpy(hs.ld_new, &repl, 10);
    memset(out, 0, sizeof(out));
    hold_x87(dev + 48, in, out);
    atomic_signal_fence(memory_order_seq_cst);
    for (unsigned i = 0; i < NLD; i++)
        n_found += (hs.ld_found >> i) & 1u;
    printf("x87    : TOP %u; %u of %d values found:", hs.ld_top, n_found, NLD);
    for (unsigned i = 0; i < NLD; i++)
        if (hs.ld_phys[i] >= 0)
            printf(" %u:R%d(ST%u)", i, hs.ld_phys[i],
                   ((unsigned)hs.ld_phys[i] - hs.ld_top) & 7u);
    printf("; value 1 %s\n", hs.ld_replaced == 1 ? "replaced" : "not replaced");
    CHECK(hs.calls == 1, "exit hook ran %u times, expected once", hs.calls);
    CHECK(hs.bad_calls == 0, "callback calls failed");
    CHECK(n_found == NLD, "only %u long doubles found in FpMmx0-7", n_found);
    CHECK(hs.ld_tags_bad == 0, "%u registers holding values are tagged "
                               "empty: physical and stack order mixed up",
          hs.ld_tags_bad);
    for (unsigned i = 0; i < NLD; i++) {
        long double w = (int)i == hs.ld_replaced ? repl : want[i];
        CHECK(memcmp(&out[i], &w, 10) == 0, "long double %u after the store: "
                                            "%Lg, expected %Lg",
              i, out[i], w);
    }
}

static void check_control(struct sandbox *sb)
{
    volatile uint32_t *dev = (volatile uint32_t *)(void *)sb->window;
    uint64_t xcr0 = _xgetbv(0);

    reset_hook(M_CONTROL);
    dev[64] = 1;
    atomic_signal_fence(memory_order_seq_cst);
    printf("control: CR0 %#llx CR4 %#llx XCR0 %#llx (host XCR0 %#llx)\n",
           (unsigned long long)hs.cr0, (unsigned long long)hs.cr4,
           (unsigned long long)hs.xcr0, (unsigned long long)xcr0);
    CHECK(hs.calls == 1 && hs.bad_calls == 0, "exit hook or callbacks failed");
    CHECK((hs.cr0 & 0x80010033ull) == 0x80010033ull,
          "CR0 lacks one of PE MP ET NE WP PG");
    CHECK(!(hs.cr0 & 0xCull), "CR0.TS or CR0.EM set");
    CHECK((hs.cr4 & 0x40620ull) == 0x40620ull,
          "CR4 lacks one of PAE OSFXSR OSXMMEXCPT OSXSAVE");
    CHECK(hs.xcr0 == xcr0, "XCR0 differs from the host's");
}

int main(void)
{
    struct sandbox sb;
    char err[128] = "";

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!__builtin_cpu_supports("avx2")) {
        printf("skipped: the CPU has no AVX2\n");
        return 77;
    }
    if (sandbox_install_handler() != 0 ||
        sandbox_init_memory(&sb, 4096, SANDBOX_BYTES_ALTERNATE, err,
                            sizeof(err)) != 0) {
        printf("setup failed: %s\n", err);
        return 2;
    }
    if ((sandbox_xcr0() & 6u) != 6u) {
        printf("skipped: the OS does not enable AVX state (XCR0 %#llx)\n",
               (unsigned long long)sandbox_xcr0());
        return 77;
    }
    sb.exit_hook = hook;
    sandbox_enter(&sb);
    check_control(&sb);
    check_ymm(&sb, M_INTACT);
    check_ymm(&sb, M_REWRITE);
    check_mxcsr(&sb);
    check_x87(&sb);
    sandbox_leave();
    printf("emulations %llu, xstate reads %llu writes %llu (init bits set "
           "%llu)\n",
           (unsigned long long)sb.st.emulations,
           (unsigned long long)sb.st.xstate_reads,
           (unsigned long long)sb.st.xstate_writes,
           (unsigned long long)sb.st.xstate_bits_set);
    sandbox_destroy(&sb);
    printf("%s (%d failure%s)\n", failures ? "FAILED" : "passed", failures,
           failures == 1 ? "" : "s");
    return failures ? 1 : 0;
}
