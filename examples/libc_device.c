/*
 * libc_device.c - sandbox-libc: the C library's string routines and
 * compiled structure copies on emulated device memory.
 *
 * memcpy, memmove, memset, memcmp, strlen, strcpy, strchr and memchr (the
 * implementations the C library's IFUNCs pick, called through pointers
 * from dlsym so that nothing interposes) run once on ordinary memory and
 * once with their operands in the sandbox's device window, where every
 * access faults and whvemu completes it. Results, return values and every
 * byte of both memories (around the destination too) must be identical.
 * Then structure assignments compiled at -O2 and at -O3 -mavx2 copy
 * structures of 1 to 4096 bytes to, from and within the window.
 *
 *   sandbox-libc [--level sse2|avx2|evex] [--sweep quick|default|full]
 *                [--only NAME[,NAME...]] [--max-size N] [--step-refused]
 *                [--no-roundtrip] [--list] [--dispatch]
 *
 *   --level     the C library's dispatch level: the program re-executes
 *               itself with GLIBC_TUNABLES set so that the IFUNCs pick the
 *               SSE2, AVX2 or EVEX implementations, and checks that they
 *               did. Without it, whatever the host and environment give.
 *   --sweep     which (size, alignment) cases; see print_coverage(). Also
 *               WHVEMU_LIBC_SWEEP=quick|default|full.
 *   --step-refused  diagnostic: instructions the emulator refuses run
 *               natively, single-stepped (sandbox_set_step_refused), so
 *               the whole sweep runs and checks the test itself; counted
 *               and reported, never mistaken for emulation.
 *   --no-roundtrip  do not send the vector registers through the
 *               callbacks after every emulation (roundtrip_hook).
 *   --list      print the implementations and exit.
 *   --dispatch  run --list at every level the host offers and check that
 *               each level resolves every function differently.
 *
 * Exit status: 0 all cases passed; 1 a case failed (wrong result, or the
 * emulator refused an instruction: the report names the instruction
 * bytes and whvemu_last_failure); 2 usage or setup error; 77 the level is
 * not available on this host (skipped).
 */
#define _GNU_SOURCE

#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "libc_impl.h"
#include "sandbox.h"
#include "struct_copy.h"
#include "whvemu.h"

/* ---- layout ---------------------------------------------------------------
 * Two regions of 20 KiB in the window (and in the ordinary-memory copies).
 * A buffer starts at region + 4096 + placement + alignment, placement 0
 * (the start of a page) or 4032 (its last 64 bytes, so that even short
 * buffers cross into the next page); 64 guard bytes on either side belong
 * to the case. The destination (or the only buffer) is in region A, the
 * source in region B; overlapping memmove uses region A alone. */
#define WINDOW_SIZE 0xA000u
#define REGION_A 0x0000u
#define REGION_B 0x5000u
#define REGION_SIZE 0x5000u
#define BUF_BASE 0x1000u
#define PAGE_END_PLACE 0xFC0u
#define GUARD 64u
#define MAX_SIZE 4096u

enum fn {
    F_MEMCPY,
    F_MEMMOVE,
    F_MEMSET,
    F_MEMCMP,
    F_STRLEN,
    F_STRCPY,
    F_STRCHR,
    F_MEMCHR,
    F_LIBC_COUNT,
    F_SC_O2 = F_LIBC_COUNT,
    F_SC_O3_AVX2,
    F_COUNT
};

static const char *const fn_name[F_COUNT] = {
    "memcpy", "memmove", "memset", "memcmp", "strlen", "strcpy",
    "strchr", "memchr", "struct-O2", "struct-O3-avx2",
};

/* Two-buffer functions: where the operands live. */
enum dir { DIR_DEV_DEV, DIR_RAM_TO_DEV, DIR_DEV_TO_RAM, DIR_COUNT };
static const char *const dir_name[DIR_COUNT] = {"dev->dev", "ram->dev",
                                                "dev->ram"};

typedef void *(*copy_fn)(void *, const void *, size_t);
typedef void *(*set_fn)(void *, int, size_t);
typedef int (*cmp_fn)(const void *, const void *, size_t);
typedef size_t (*len_fn)(const char *);
typedef char *(*strcpy_fn)(char *, const char *);
typedef char *(*strchr_fn)(const char *, int);
typedef void *(*memchr_fn)(const void *, int, size_t);

static struct {
    copy_fn memcpy_, memmove_;
    set_fn memset_;
    cmp_fn memcmp_;
    len_fn strlen_;
    strcpy_fn strcpy_;
    strchr_fn strchr_;
    memchr_fn memchr_;
    void *addr[F_LIBC_COUNT];
    const char *impl[F_LIBC_COUNT];
    uint64_t offset[F_LIBC_COUNT]; /* in the library */
} libc;

static struct libc_syms syms;

/* ---- dispatch levels ------------------------------------------------------ */

struct level {
    const char *name;
    const char *tunables; /* glibc.cpu.hwcaps value; "" = the default */
    const char *what;
};

/* glibc 2.36 names (sysdeps/x86/cpu-tunables.c). The SSE2 level also
 * turns off SSSE3, or memmove would pick __memmove_ssse3. */
static const struct level levels[] = {
    {"sse2", "-AVX512F,-AVX512VL,-AVX512BW,-AVX2,-AVX,-AVX_Fast_Unaligned_Load,"
             "-SSSE3,-SSE4_1,-SSE4_2",
     "baseline x86-64: the *_sse2 implementations"},
    {"avx2", "-AVX512F,-AVX512VL,-AVX512BW",
     "the *_avx2 / *_avx_* implementations"},
    {"evex", "", "the *_evex / *_avx512_* implementations (AVX-512 hosts)"},
};
#define N_LEVELS (sizeof(levels) / sizeof(levels[0]))

static const struct level *find_level(const char *name)
{
    for (size_t i = 0; i < N_LEVELS; i++)
        if (strcmp(levels[i].name, name) == 0)
            return &levels[i];
    return NULL;
}

/* Whether the host offers the level: the CPU has the features and the OS
 * enabled their state (the compiler's CPU check looks at XCR0 too). */
static int level_offered(const struct level *l)
{
    if (strcmp(l->name, "sse2") == 0)
        return 1;
    if (strcmp(l->name, "avx2") == 0)
        return __builtin_cpu_supports("avx2");
    return __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512bw");
}

/* Whether an implementation's name belongs to the level. */
static int impl_matches(const struct level *l, const char *impl)
{
    int evex = strstr(impl, "evex") || strstr(impl, "avx512");
    if (strcmp(l->name, "sse2") == 0)
        return strstr(impl, "sse2") != NULL;
    if (strcmp(l->name, "avx2") == 0)
        return strstr(impl, "avx") != NULL && !evex;
    return evex;
}

/* Re-executes the program with the level's tunables unless they are
 * already in force. */
static void enter_level(const struct level *l, char **argv)
{
    const char *done = getenv("WHVEMU_LIBC_LEVEL");
    const char *old = getenv("GLIBC_TUNABLES");
    char buf[1024];

    if (done && strcmp(done, l->name) == 0)
        return;
    if (l->tunables[0]) {
        snprintf(buf, sizeof(buf), "%s%sglibc.cpu.hwcaps=%s", old ? old : "",
                 old && old[0] ? ":" : "", l->tunables);
        setenv("GLIBC_TUNABLES", buf, 1);
    }
    setenv("WHVEMU_LIBC_LEVEL", l->name, 1);
    execv("/proc/self/exe", argv);
    fprintf(stderr, "sandbox-libc: cannot re-execute: %s\n", strerror(errno));
    exit(2);
}

static void *libc_sym(void *h, const char *name)
{
    void *p = dlsym(h, name);
    if (!p) {
        fprintf(stderr, "sandbox-libc: dlsym(%s): %s\n", name, dlerror());
        exit(2);
    }
    return p;
}

static void resolve_libc(void)
{
    static const char *const names[F_LIBC_COUNT] = {
        "memcpy", "memmove", "memset", "memcmp",
        "strlen", "strcpy", "strchr", "memchr",
    };
    void *h = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    if (!h) {
        fprintf(stderr, "sandbox-libc: libc.so.6 is not loaded: %s\n",
                dlerror());
        exit(2);
    }
    for (int f = 0; f < F_LIBC_COUNT; f++)
        libc.addr[f] = libc_sym(h, names[f]);
    /* dlsym gives the IFUNCs' choice; function pointers from void *, as
     * POSIX allows. */
    memcpy(&libc.memcpy_, &libc.addr[F_MEMCPY], sizeof(void *));
    memcpy(&libc.memmove_, &libc.addr[F_MEMMOVE], sizeof(void *));
    memcpy(&libc.memset_, &libc.addr[F_MEMSET], sizeof(void *));
    memcpy(&libc.memcmp_, &libc.addr[F_MEMCMP], sizeof(void *));
    memcpy(&libc.strlen_, &libc.addr[F_STRLEN], sizeof(void *));
    memcpy(&libc.strcpy_, &libc.addr[F_STRCPY], sizeof(void *));
    memcpy(&libc.strchr_, &libc.addr[F_STRCHR], sizeof(void *));
    memcpy(&libc.memchr_, &libc.addr[F_MEMCHR], sizeof(void *));
    libc_syms_open(&syms, libc.addr[F_MEMCPY]);
    for (int f = 0; f < F_LIBC_COUNT; f++) {
        char prefer[16];
        snprintf(prefer, sizeof(prefer), "__%s_", names[f]);
        libc.impl[f] = libc_syms_lookup(&syms, libc.addr[f], prefer, NULL);
        libc.offset[f] = (uint64_t)(uintptr_t)libc.addr[f] - syms.base;
    }
}

static void print_impls(FILE *o)
{
    for (int f = 0; f < F_LIBC_COUNT; f++)
        fprintf(o, "  %-8s %-32s libc+0x%" PRIx64 "\n", fn_name[f],
                libc.impl[f] ? libc.impl[f] : "?", libc.offset[f]);
    if (!syms.syms)
        fprintf(o, "  (no symbol table for %s: names unknown; on Debian the "
                   "libc6-dbg package has them)\n",
                syms.path ? syms.path : "the C library");
}

/* --dispatch: each offered level, listed by a child, must resolve every
 * function to a different address than every other level. */
static int run_dispatch(void)
{
    char self[512];
    uint64_t off[N_LEVELS][F_LIBC_COUNT];
    int offered[N_LEVELS];
    int bad = 0;
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

    if (n <= 0)
        return 2;
    self[n] = 0;
    printf("dispatch levels of this host's C library:\n");
    for (size_t l = 0; l < N_LEVELS; l++) {
        char cmd[700], line[256];
        FILE *p;
        int f = 0, skipped = 0;
        offered[l] = 0;
        snprintf(cmd, sizeof(cmd), "'%s' --level %s --list --quiet", self,
                 levels[l].name);
        p = popen(cmd, "r");
        if (!p)
            return 2;
        printf("level %s:\n", levels[l].name);
        while (fgets(line, sizeof(line), p)) {
            char name[32], impl[128];
            uint64_t o;
            if (strncmp(line, "skipped", 7) == 0) {
                printf("  %s", line);
                skipped = 1;
                continue;
            }
            if (sscanf(line, " %31s %127s libc+0x%" SCNx64, name, impl, &o) ==
                    3 &&
                f < F_LIBC_COUNT) {
                off[l][f++] = o;
                offered[l] = 1;
            }
            printf("%s", line);
        }
        if ((pclose(p) != 0 && offered[l]) || (!offered[l] && !skipped)) {
            printf("  the child failed\n");
            bad = 1;
        }
        if (offered[l] && f != F_LIBC_COUNT) {
            printf("  incomplete list\n");
            bad = 1;
        }
    }
    for (size_t a = 0; a < N_LEVELS; a++)
        for (size_t b = a + 1; b < N_LEVELS; b++) {
            if (!offered[a] || !offered[b])
                continue;
            for (int f = 0; f < F_LIBC_COUNT; f++)
                if (off[a][f] == off[b][f]) {
                    printf("FAIL: %s resolves to the same code at levels %s "
                           "and %s\n",
                           fn_name[f], levels[a].name, levels[b].name);
                    bad = 1;
                }
        }
    printf("%s\n", bad ? "FAILED" : "passed: every offered level resolves "
                                   "every function to its own implementation");
    return bad;
}

/* ---- the two worlds --------------------------------------------------------
 * World D is the device run: its device operands are in the window (their
 * bytes in the sandbox's backing store), the others in ramD. World N is
 * the native run, same offsets, in mirror and ramN. Between cases all four
 * are kept identical. */
static struct sandbox sb;
static uint8_t *mirror, *ramD, *ramN;

struct opnd {
    int dev;
    size_t off;
};

static uint8_t *ptr_d(struct opnd o) /* what the code under test gets */
{
    return (o.dev ? sb.window : ramD) + o.off;
}

static uint8_t *ptr_n(struct opnd o)
{
    return (o.dev ? mirror : ramN) + o.off;
}

static uint8_t *store_d(struct opnd o) /* where D's bytes really are */
{
    return (o.dev ? sb.ram : ramD) + o.off;
}

/* A returned pointer as (area, offset), comparable across worlds. */
static uint64_t encode_ptr(const void *p, int world_d)
{
    const uint8_t *q = p;
    const uint8_t *dev = world_d ? sb.window : mirror;
    const uint8_t *ram = world_d ? ramD : ramN;
    if (!q)
        return UINT64_MAX;
    if (q >= dev && q < dev + WINDOW_SIZE)
        return (uint64_t)(q - dev);
    if (q >= ram && q < ram + WINDOW_SIZE)
        return (1ull << 32) | (uint64_t)(q - ram);
    return UINT64_MAX - 1; /* outside both: always a mismatch */
}

/* ---- cases ----------------------------------------------------------------- */

struct ccase {
    enum fn f;
    size_t n;
    unsigned a_dst, a_src; /* alignments mod 64 */
    unsigned place;        /* 0: page start, 1: page end */
    enum dir dir;
    unsigned variant;
    uint64_t seed;
    struct opnd dst, src;
    int c;      /* memset/strchr/memchr byte */
    size_t pos; /* memcmp/strchr/memchr position */
    const char *what;
};

static uint64_t rng;

static uint64_t next64(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xFF51AFD7ED558CCDull;
    x ^= x >> 33;
    x *= 0xC4CEB9FE1A85EC53ull;
    x ^= x >> 33;
    return x;
}

/* Writes the same byte to both worlds. */
static void put(struct opnd o, size_t i, uint8_t b)
{
    struct opnd q = {o.dev, o.off + i};
    *store_d(q) = b;
    *ptr_n(q) = b;
}

/* Random bytes (none equal to `avoid` when avoid >= 0, none zero when
 * nonzero) over [o - GUARD, o + len + GUARD). */
static void fill(struct opnd o, size_t len, int avoid, int nonzero)
{
    size_t lo = o.off >= GUARD ? o.off - GUARD : 0;
    size_t region = o.off < REGION_B ? REGION_A : REGION_B;
    size_t hi = o.off + len + GUARD;
    if (lo < region)
        lo = region;
    if (hi > region + REGION_SIZE)
        hi = region + REGION_SIZE;
    for (size_t i = lo; i < hi; i++) {
        uint8_t b;
        do {
            b = (uint8_t)next64();
        } while ((avoid >= 0 && b == avoid) || (nonzero && b == 0));
        put((struct opnd){o.dev, 0}, i, b);
    }
}

static size_t buf_off(unsigned region, unsigned place, unsigned align)
{
    return region + BUF_BASE + (place ? PAGE_END_PLACE : 0) + align;
}

/* Builds case (f, n, a) and fills its memory in both worlds. */
static void make_case(struct ccase *c, enum fn f, size_t n, unsigned a)
{
    memset(c, 0, sizeof(*c));
    c->f = f;
    c->n = n;
    c->seed = mix(((uint64_t)f << 48) ^ ((uint64_t)n << 16) ^ a ^ 0x5EED);
    rng = c->seed | 1;
    c->a_dst = a;
    /* Every source alignment once per size, the relative misalignment
     * moving with the size: over any 64 consecutive sizes, all 64. */
    c->a_src = (a + (unsigned)(n * 29u + 7u)) & 63u;
    c->place = (unsigned)(n + a) & 1u;
    c->dir = (enum dir)((a + n) % DIR_COUNT);
    c->variant = (unsigned)(c->seed >> 8) & 3u;
    c->dst = (struct opnd){c->dir != DIR_DEV_TO_RAM,
                           buf_off(REGION_A, c->place, c->a_dst)};
    c->src = (struct opnd){c->dir != DIR_RAM_TO_DEV,
                           buf_off(REGION_B, c->place ^ 1u, c->a_src)};

    switch (f) {
    case F_MEMMOVE:
        if (n > 1 && c->variant >= 2) {
            /* Overlapping, within the device: variant 2 moves up (dst >
             * src), variant 3 down. */
            size_t delta = 1 + (size_t)(next64() % (n - 1));
            c->dir = DIR_DEV_DEV;
            c->src = (struct opnd){1, buf_off(REGION_A, c->place, c->a_src)};
            c->dst = c->src;
            if (c->variant == 2)
                c->dst.off += delta;
            else
                c->dst.off -= delta;
            c->a_dst = (unsigned)(c->dst.off & 63u);
            fill(c->variant == 2 ? c->src : c->dst, n + delta, -1, 0);
            c->what = c->variant == 2 ? "overlap, moving up"
                                      : "overlap, moving down";
            return;
        }
        __attribute__((fallthrough)); /* disjoint */
    case F_MEMCPY:
    case F_SC_O2:
    case F_SC_O3_AVX2:
        fill(c->src, n, -1, 0);
        fill(c->dst, n, -1, 0);
        c->what = dir_name[c->dir];
        return;
    case F_MEMSET:
        c->dir = DIR_DEV_DEV;
        c->dst.dev = 1;
        c->c = c->variant == 0 ? 0 : (int)(next64() & 0xFF);
        fill(c->dst, n, -1, 0);
        c->what = "dev";
        return;
    case F_MEMCMP: {
        /* dst is the first operand, src the second. Variant 0 equal, 1
         * differ at a random byte, 2 at the last, 3 just past the end
         * (equal within n). */
        uint8_t d = (uint8_t)(1 + next64() % 255);
        fill(c->dst, n, -1, 0);
        fill(c->src, n, -1, 0);
        for (size_t i = 0; i < n; i++)
            put(c->src, i, *ptr_n((struct opnd){c->dst.dev, c->dst.off + i}));
        c->pos = c->variant == 1 ? (size_t)(next64() % n)
                 : c->variant == 2 ? n - 1
                 : n;
        if (c->variant != 0) {
            uint8_t b = *ptr_n((struct opnd){c->dst.dev, c->dst.off + c->pos});
            put(c->src, c->pos, (uint8_t)(b ^ d));
        }
        c->what = dir_name[c->dir];
        return;
    }
    case F_STRLEN:
    case F_STRCHR:
        c->dir = DIR_DEV_DEV;
        c->dst.dev = 1;
        c->src = c->dst;
        c->c = (int)(1 + next64() % 255);
        if (f == F_STRCHR && c->variant == 3)
            c->c = 0;
        /* A string of n nonzero bytes; for strchr none equal to c before
         * pos (variant 0 random, 1 the last byte, 2 absent but right after
         * the terminator, 3 c is the terminator). */
        fill(c->dst, n + 1, f == F_STRCHR ? c->c : -1, 1);
        put(c->dst, n, 0);
        if (f == F_STRCHR) {
            c->pos = c->variant == 0 ? (size_t)(next64() % n)
                     : c->variant == 1 ? n - 1
                     : n;
            if (c->variant <= 1)
                put(c->dst, c->pos, (uint8_t)c->c);
            else if (c->variant == 2)
                put(c->dst, n + 1, (uint8_t)c->c);
        }
        c->what = "dev";
        return;
    case F_STRCPY:
        fill(c->src, n + 1, -1, 1);
        put(c->src, n, 0);
        fill(c->dst, n + 1, -1, 0);
        c->what = dir_name[c->dir];
        return;
    case F_MEMCHR:
        c->dir = DIR_DEV_DEV;
        c->dst.dev = 1;
        c->src = c->dst;
        c->c = (int)(next64() & 0xFF);
        /* Variant 0 found at random, 1 at the last byte, 2 absent but
         * right after the end, 3 absent. */
        fill(c->dst, n, c->c, 0);
        c->pos = c->variant == 0 ? (size_t)(next64() % n)
                 : c->variant == 1 ? n - 1
                 : n;
        if (c->variant <= 2)
            put(c->dst, c->pos, (uint8_t)c->c);
        c->what = "dev";
        return;
    default:
        return;
    }
}

/* Runs the case in one world; returns its result. */
static uint64_t run_case(const struct ccase *c, int world_d)
{
    uint8_t *(*P)(struct opnd) = world_d ? ptr_d : ptr_n;
    void *d = P(c->dst), *s = P(c->src);
    switch (c->f) {
    case F_MEMCPY:
        return encode_ptr(libc.memcpy_(d, s, c->n), world_d);
    case F_MEMMOVE:
        return encode_ptr(libc.memmove_(d, s, c->n), world_d);
    case F_MEMSET:
        return encode_ptr(libc.memset_(d, c->c, c->n), world_d);
    case F_MEMCMP:
        return (uint64_t)(int64_t)libc.memcmp_(d, s, c->n);
    case F_STRLEN:
        return libc.strlen_(d);
    case F_STRCPY:
        return encode_ptr(libc.strcpy_(d, s), world_d);
    case F_STRCHR:
        return encode_ptr(libc.strchr_(d, c->c), world_d);
    case F_MEMCHR:
        return encode_ptr(libc.memchr_(d, c->c, c->n), world_d);
    case F_SC_O2:
    case F_SC_O3_AVX2: {
        const struct struct_copy *t =
            c->f == F_SC_O2 ? struct_copy_o2 : struct_copy_o3_avx2;
        for (size_t i = 0; i < struct_copy_count; i++)
            if (t[i].size == c->n)
                t[i].copy(d, s);
        return 0;
    }
    default:
        return 0;
    }
}

static sigjmp_buf recover;

/* After every successful emulation (exit hook, in the signal handler):
 * XMM0-15 and MXCSR read through the get-registers callback and written
 * back through the set one, YMM bits 255:128 read and written back through
 * the extended-state callback - the round trip an emulated SIMD instruction
 * makes. The code under test keeps vector values live across emulated
 * integer and REP MOVSB/STOSB accesses, so a round trip that changed
 * anything shows up as a wrong result. */
static uint64_t roundtrips;

static void roundtrip_hook(struct sandbox *s, void *ctx, void *arg)
{
    WHV_REGISTER_NAME names[17];
    WHV_REGISTER_VALUE v[17];
    const WHV_EMULATOR_CALLBACKS *cb = sandbox_callbacks();
    uint8_t hi[256];

    (void)s;
    (void)arg;
    for (unsigned r = 0; r < 16; r++)
        names[r] = (WHV_REGISTER_NAME)(WHvX64RegisterXmm0 + r);
    names[16] = WHvX64RegisterXmmControlStatus;
    if (cb->WHvEmulatorGetVirtualProcessorRegisters(ctx, names, 17, v) != S_OK ||
        cb->WHvEmulatorSetVirtualProcessorRegisters(ctx, names, 17, v) != S_OK)
        return; /* the callback noted the problem: the case fails */
    if (sandbox_xcr0() & 4u) {
        if (sandbox_xstate_callback()(ctx, 2, 0, hi, sizeof(hi)) != S_OK)
            return;
        sandbox_xstate_callback()(ctx, 2, 1, hi, sizeof(hi));
    }
    roundtrips++;
}

/* The device run: 0, or -1 when an emulation failed (sb.failure). */
static int run_device(const struct ccase *c, uint64_t *result)
{
    if (sigsetjmp(recover, 0))
        return -1;
    *result = run_case(c, 1);
    return 0;
}

/* ---- bookkeeping ------------------------------------------------------------ */

#define MAX_SITES 24
#define MAX_WRONG_REPORTS 6

struct site {
    uint64_t rip;
    uint64_t count;
    struct sandbox_failure fail;
    struct ccase first;
};

struct fstats {
    uint64_t cases, passed, wrong, refused, failed_other;
    uint64_t emulations, stepped;
    double seconds;
    unsigned n_sites;
    struct site sites[MAX_SITES];
    unsigned wrong_reports;
};

static struct fstats fst[F_COUNT];

static void describe_case(FILE *o, const struct ccase *c)
{
    fprintf(o, "n=%zu dst+%zu(align %u) ", c->n, c->dst.off, c->a_dst);
    if (c->f != F_MEMSET && c->f != F_STRLEN && c->f != F_STRCHR &&
        c->f != F_MEMCHR)
        fprintf(o, "src+%zu(align %u) ", c->src.off, c->a_src);
    fprintf(o, "%s, page %s", c->what ? c->what : "",
            c->place ? "end" : "start");
    if (c->f == F_MEMSET || c->f == F_STRCHR || c->f == F_MEMCHR)
        fprintf(o, ", c=0x%02x", c->c);
    if (c->f == F_MEMCMP || c->f == F_STRCHR || c->f == F_MEMCHR)
        fprintf(o, ", variant %u pos %zu", c->variant, c->pos);
}

static void print_where(FILE *o, uint64_t rip)
{
    uint64_t off = 0;
    const char *name = libc_syms_lookup(&syms, (const void *)(uintptr_t)rip,
                                        NULL, &off);
    Dl_info di;
    if (name) {
        fprintf(o, "%s+0x%" PRIx64, name, off);
    } else if (dladdr((const void *)(uintptr_t)rip, &di) && di.dli_sname) {
        fprintf(o, "%s+0x%" PRIx64, di.dli_sname,
                rip - (uint64_t)(uintptr_t)di.dli_saddr);
    } else if (dladdr((const void *)(uintptr_t)rip, &di) && di.dli_fname) {
        const char *b = strrchr(di.dli_fname, '/');
        fprintf(o, "%s+0x%" PRIx64, b ? b + 1 : di.dli_fname,
                rip - (uint64_t)(uintptr_t)di.dli_fbase);
    } else {
        fprintf(o, "0x%" PRIx64, rip);
    }
}

static void note_failure(struct fstats *s, const struct ccase *c)
{
    unsigned i;
    if (sb.failure.refused)
        s->refused++;
    else
        s->failed_other++;
    for (i = 0; i < s->n_sites; i++)
        if (s->sites[i].rip == sb.failure.rip &&
            s->sites[i].fail.refused == sb.failure.refused)
            break;
    if (i == s->n_sites) {
        if (s->n_sites == MAX_SITES)
            return;
        s->n_sites++;
        s->sites[i].rip = sb.failure.rip;
        s->sites[i].fail = sb.failure;
        s->sites[i].first = *c;
    }
    s->sites[i].count++;
}

/* Compares the worlds after a case; 0 when identical. */
static int compare(struct fstats *s, const struct ccase *c, uint64_t rd,
                   uint64_t rn)
{
    int diff_dev = memcmp(sb.ram, mirror, WINDOW_SIZE) != 0;
    int diff_ram = memcmp(ramD, ramN, WINDOW_SIZE) != 0;
    if (rd == rn && !diff_dev && !diff_ram)
        return 0;
    if (s->wrong_reports++ < MAX_WRONG_REPORTS) {
        printf("  WRONG %s: ", fn_name[c->f]);
        describe_case(stdout, c);
        printf("\n    result on the device 0x%" PRIx64 ", natively 0x%" PRIx64
               "\n",
               rd, rn);
        for (int k = 0; k < 2; k++) {
            const uint8_t *x = k ? ramD : sb.ram, *y = k ? ramN : mirror;
            if (!(k ? diff_ram : diff_dev))
                continue;
            for (size_t i = 0; i < WINDOW_SIZE; i++)
                if (x[i] != y[i]) {
                    printf("    %s memory differs first at +%zu (%+lld from "
                           "dst): 0x%02x, natively 0x%02x\n",
                           k ? "ordinary" : "device", i,
                           (long long)i - (long long)c->dst.off, x[i], y[i]);
                    break;
                }
        }
    }
    return 1;
}

static void resync(void)
{
    memcpy(sb.ram, mirror, WINDOW_SIZE);
    memcpy(ramD, ramN, WINDOW_SIZE);
}

static void one_case(struct fstats *s, enum fn f, size_t n, unsigned a)
{
    struct ccase c;
    uint64_t rd = 0, rn;

    make_case(&c, f, n, a);
    s->cases++;
    rn = run_case(&c, 0);
    if (run_device(&c, &rd) != 0) {
        note_failure(s, &c);
        resync();
        return;
    }
    if (compare(s, &c, rd, rn)) {
        s->wrong++;
        resync();
        return;
    }
    s->passed++;
}

/* ---- the sweep ---------------------------------------------------------------- */

enum sweep { SWEEP_QUICK, SWEEP_DEFAULT, SWEEP_FULL };

/* Sizes that get every alignment in the default sweep: the small-size
 * branches of every implementation (up to 8 vectors of 32 bytes), and both
 * sides of the C library's thresholds (REP MOVSB/STOSB at 2048-2112) and
 * of powers of two. */
static int dense_size(size_t n)
{
    static const size_t edges[] = {512, 1024, 2048, 2112, 4096};
    if (n <= 256)
        return 1;
    for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
        if (n + 1 >= edges[i] && n <= edges[i] + 1)
            return 1;
    return 0;
}

/* The alignments of size n (written to a[], returns how many). */
static unsigned alignments(enum sweep sw, enum fn f, size_t n, unsigned *a)
{
    unsigned s = (unsigned)(n * 37u + 11u * (unsigned)f) & 63u;
    unsigned k = 0;
    if (sw == SWEEP_FULL || (sw == SWEEP_DEFAULT && dense_size(n)) ||
        (sw == SWEEP_QUICK && n <= 32)) {
        for (unsigned i = 0; i < 64; i++)
            a[k++] = i;
        return k;
    }
    a[k++] = s;
    if (sw == SWEEP_DEFAULT)
        a[k++] = (s + 33u) & 63u;
    return k;
}

static void print_coverage(enum sweep sw, size_t max_n)
{
    printf("coverage (%s sweep):\n",
           sw == SWEEP_FULL ? "full" : sw == SWEEP_DEFAULT ? "default" : "quick");
    printf("  C library functions: every size 1..%zu; ", max_n);
    if (sw == SWEEP_FULL)
        printf("every alignment 0..63 at every size\n");
    else if (sw == SWEEP_DEFAULT)
        printf("every alignment 0..63 at sizes 1..256, 511-513, 1023-1025, "
               "2047-2049,\n    2111-2113 and 4095-4096; 2 alignments at "
               "every other size, a = (37n + 11f) mod 64\n    and a + 33 "
               "(f = the function's index), so every alignment recurs about "
               "every 64 sizes\n");
    else
        printf("every alignment 0..63 at sizes 1..32, one alignment "
               "(37n + 11f) mod 64 at every other size\n");
    printf("  the alignment is the destination's (or the only buffer's); a "
           "source sits at\n    alignment + (29n + 7) mod 64: every source "
           "alignment once per size, every\n    relative misalignment over "
           "any 64 consecutive sizes\n");
    printf("  buffers start at a page start or in its last 64 bytes "
           "(alternating with n + a);\n    64 guard bytes on both sides, "
           "and every byte of both memories, must match\n");
    printf("  two-buffer cases cycle through dev->dev, ram->dev and dev->ram "
           "with n + a;\n    memmove: half of the cases overlap within the "
           "device, moving up or down by\n    a random distance; memcmp: "
           "equal, differing at a random byte, at the last,\n    or just "
           "past the end; strchr/memchr: found at random, at the last byte, "
           "absent\n    (with the byte right after the end), c = 0\n");
    printf("  structure copies (-O2 and -O3 -mavx2): %zu sizes from 1 to 4096, "
           "every alignment,\n    the three directions\n",
           struct_copy_count);
    printf("  WHVEMU_LIBC_SWEEP=full (or --sweep full) runs every size with "
           "every alignment\n");
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sweep_fn(enum fn f, enum sweep sw, size_t max_n)
{
    struct fstats *s = &fst[f];
    uint64_t e0 = sb.st.emulations, st0 = sb.st.stepped;
    double t0 = now();
    unsigned a[64];

    if (f == F_SC_O2 || f == F_SC_O3_AVX2) {
        for (size_t i = 0; i < struct_copy_count; i++) {
            size_t n = struct_copy_o2[i].size;
            if (n > max_n)
                continue;
            for (unsigned al = 0; al < 64; al++)
                one_case(s, f, n, al);
        }
    } else {
        for (size_t n = 1; n <= max_n; n++) {
            unsigned k = alignments(sw, f, n, a);
            for (unsigned i = 0; i < k; i++)
                one_case(s, f, n, a[i]);
        }
    }
    s->seconds = now() - t0;
    s->emulations = sb.st.emulations - e0;
    s->stepped = sb.st.stepped - st0;
}

static void print_bytes(const uint8_t *b, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        printf(" %02x", b[i]);
}

static void report_fn(enum fn f)
{
    struct fstats *s = &fst[f];
    const char *impl = f < F_LIBC_COUNT ? libc.impl[f] : NULL;
    /* Every emulation, failed or not, is one fault of the window. */
    uint64_t faults = s->emulations + s->stepped + s->refused + s->failed_other;

    printf("%-15s %-30s %7" PRIu64 " cases: %7" PRIu64 " passed, %" PRIu64
           " wrong, %" PRIu64 " refused",
           fn_name[f],
           impl ? impl
           : f == F_SC_O2 ? "(compiled -O2)"
           : f == F_SC_O3_AVX2 ? "(compiled -O3 -mavx2)"
                              : "?",
           s->cases, s->passed, s->wrong, s->refused);
    if (s->failed_other)
        printf(", %" PRIu64 " failed otherwise", s->failed_other);
    printf("\n    %" PRIu64 " device accesses: %" PRIu64 " emulated",
           faults, s->emulations);
    if (s->stepped)
        printf(", %" PRIu64 " refused and stepped natively", s->stepped);
    printf(", %.2f s", s->seconds);
    if (faults)
        printf(" (%.2f us per device access, native runs and checks "
               "included)",
               s->seconds * 1e6 / (double)faults);
    printf("\n");
    for (unsigned i = 0; i < s->n_sites; i++) {
        const struct site *t = &s->sites[i];
        unsigned show = t->fail.n_bytes < 15 ? t->fail.n_bytes : 15;
        printf("    %s at ", t->fail.refused ? "REFUSED" : "FAILED");
        print_where(stdout, t->rip);
        printf(" (%" PRIu64 " case%s), a %s of the device\n", t->count,
               t->count == 1 ? "" : "s", t->fail.write ? "write" : "read");
        printf("      instruction bytes:");
        print_bytes(t->fail.bytes, show);
        printf("\n      whvemu_last_failure: \"%s\"", t->fail.why);
        if (!t->fail.refused) {
            printf("; HRESULT 0x%08x, status 0x%x", (unsigned)t->fail.hr,
                   t->fail.status);
            if (t->fail.injected)
                printf(", exception injected (0x%" PRIx64 ")",
                       t->fail.injected_event);
            if (t->fail.problem)
                printf(", callback: %s 0x%" PRIx64, t->fail.problem,
                       t->fail.problem_value);
        }
        printf("\n      first case: ");
        describe_case(stdout, &t->first);
        printf("\n");
    }
    if (s->n_sites == MAX_SITES)
        printf("    (further failing instructions not listed)\n");
}

/* ---- main ---------------------------------------------------------------------- */

static void usage(FILE *o)
{
    fprintf(o, "usage: sandbox-libc [--level sse2|avx2|evex] "
               "[--sweep quick|default|full] [--only NAME,...]\n"
               "                    [--max-size N] [--step-refused] "
               "[--no-roundtrip] [--list] [--dispatch] [--quiet]\n");
}

static int parse_sweep(const char *v, enum sweep *sw)
{
    if (strcmp(v, "quick") == 0)
        *sw = SWEEP_QUICK;
    else if (strcmp(v, "default") == 0)
        *sw = SWEEP_DEFAULT;
    else if (strcmp(v, "full") == 0)
        *sw = SWEEP_FULL;
    else
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    const struct level *lv = NULL;
    enum sweep sw = SWEEP_DEFAULT;
    const char *only = NULL, *env;
    size_t max_n = MAX_SIZE;
    int step = 0, list = 0, dispatch = 0, quiet = 0, roundtrip = 1;
    int selected[F_COUNT];
    uint64_t total_wrong = 0, total_refused = 0, total_other = 0;
    uint64_t total_stepped = 0, total_cases = 0;
    char err[128] = "";
    double t0;

    setvbuf(stdout, NULL, _IOLBF, 0);
    env = getenv("WHVEMU_LIBC_SWEEP");
    if (env && env[0] && parse_sweep(env, &sw) != 0) {
        fprintf(stderr, "sandbox-libc: WHVEMU_LIBC_SWEEP=%s: quick, default "
                        "or full\n",
                env);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--level") == 0 && v) {
            lv = find_level(v);
            if (!lv) {
                usage(stderr);
                return 2;
            }
            i++;
        } else if (strcmp(a, "--sweep") == 0 && v) {
            if (parse_sweep(v, &sw) != 0) {
                usage(stderr);
                return 2;
            }
            i++;
        } else if (strcmp(a, "--only") == 0 && v) {
            only = v;
            i++;
        } else if (strcmp(a, "--max-size") == 0 && v) {
            max_n = strtoul(v, NULL, 10);
            if (max_n < 1 || max_n > MAX_SIZE) {
                usage(stderr);
                return 2;
            }
            i++;
        } else if (strcmp(a, "--step-refused") == 0) {
            step = 1;
        } else if (strcmp(a, "--list") == 0) {
            list = 1;
        } else if (strcmp(a, "--dispatch") == 0) {
            dispatch = 1;
        } else if (strcmp(a, "--no-roundtrip") == 0) {
            roundtrip = 0;
        } else if (strcmp(a, "--quiet") == 0) {
            quiet = 1;
        } else {
            usage(strcmp(a, "--help") == 0 ? stdout : stderr);
            return strcmp(a, "--help") == 0 ? 0 : 2;
        }
    }
    if (dispatch)
        return run_dispatch();
    if (lv)
        enter_level(lv, argv);

    resolve_libc();
    if (lv && !level_offered(lv)) {
        printf("skipped: level %s (%s) is not available on this host\n",
               lv->name, lv->what);
        return 77;
    }
    if (!quiet || !list) {
        printf("sandbox-libc: level %s%s%s\n", lv ? lv->name : "as found",
               getenv("GLIBC_TUNABLES") ? ", GLIBC_TUNABLES=" : "",
               getenv("GLIBC_TUNABLES") ? getenv("GLIBC_TUNABLES") : "");
        printf("implementations%s%s%s:\n", syms.debug_file[0] ? " (symbols from " : "",
               syms.debug_file, syms.debug_file[0] ? ")" : "");
    }
    print_impls(stdout);
    if (lv && syms.syms) {
        int bad = 0;
        for (int f = 0; f < F_LIBC_COUNT; f++)
            if (!libc.impl[f] || !impl_matches(lv, libc.impl[f])) {
                printf("FAIL: %s resolved to %s, not an implementation of "
                       "level %s\n",
                       fn_name[f], libc.impl[f] ? libc.impl[f] : "?", lv->name);
                bad = 1;
            }
        if (bad)
            return 1;
    }
    if (list)
        return 0;

    for (int f = 0; f < F_COUNT; f++) {
        selected[f] = !only;
        if (only) {
            const char *p = only;
            size_t len = strlen(fn_name[f]);
            while ((p = strstr(p, fn_name[f])) != NULL) {
                if ((p == only || p[-1] == ',') &&
                    (p[len] == 0 || p[len] == ','))
                    selected[f] = 1;
                p += len;
            }
        }
    }

    if (sandbox_install_handler() != 0 ||
        sandbox_init_memory(&sb, WINDOW_SIZE, SANDBOX_BYTES_ALTERNATE, err,
                            sizeof(err)) != 0) {
        fprintf(stderr, "sandbox-libc: setup failed: %s\n", err);
        return 2;
    }
    mirror = aligned_alloc(4096, WINDOW_SIZE);
    ramD = aligned_alloc(4096, WINDOW_SIZE);
    ramN = aligned_alloc(4096, WINDOW_SIZE);
    if (!mirror || !ramD || !ramN) {
        fprintf(stderr, "sandbox-libc: out of memory\n");
        return 2;
    }
    memset(mirror, 0xA5, WINDOW_SIZE);
    memset(ramN, 0x5A, WINDOW_SIZE);
    resync();
    sandbox_set_recovery(&sb, &recover);
    if (step)
        sandbox_set_step_refused(&sb, 1);
    if (roundtrip)
        sb.exit_hook = roundtrip_hook;

    print_coverage(sw, max_n);
    if (step)
        printf("--step-refused: instructions the emulator refuses run "
               "natively (this checks the test, not the emulator)\n");
    if (roundtrip)
        printf("after every emulation XMM0-15, MXCSR and YMM 255:128 make "
               "a round trip through\n  the callbacks (--no-roundtrip: "
               "not)\n");
    printf("CR0 %#llx CR4 %#llx XCR0 %#llx as the callbacks report them\n",
           (unsigned long long)sandbox_cr0(), (unsigned long long)sandbox_cr4(),
           (unsigned long long)sandbox_xcr0());

    t0 = now();
    sandbox_enter(&sb);
    for (int f = 0; f < F_COUNT; f++) {
        if (!selected[f])
            continue;
        sweep_fn((enum fn)f, sw, max_n);
        report_fn((enum fn)f);
        total_cases += fst[f].cases;
        total_wrong += fst[f].wrong;
        total_refused += fst[f].refused;
        total_other += fst[f].failed_other;
        total_stepped += fst[f].stepped;
    }
    sandbox_leave();

    printf("total: %" PRIu64 " cases, %" PRIu64 " wrong, %" PRIu64
           " refused by the emulator, %" PRIu64 " failed otherwise; %" PRIu64
           " emulations",
           total_cases, total_wrong, total_refused, total_other,
           sb.st.emulations);
    if (total_stepped)
        printf(", %" PRIu64 " refused instructions stepped natively",
               total_stepped);
    printf("; %" PRIu64 " vector register round trips; %.1f s\n", roundtrips,
           now() - t0);
    if (total_refused)
        printf("The emulator refused instructions the C library or the "
               "compiler uses on device\nmemory (above: where, their bytes, "
               "and whvemu_last_failure). Decode them with\n`whvemu decode "
               "<bytes>`.\n");
    sandbox_destroy(&sb);
    libc_syms_close(&syms);
    free(mirror);
    free(ramD);
    free(ramN);
    if (total_wrong || total_refused || total_other) {
        printf("FAILED\n");
        return 1;
    }
    printf("passed\n");
    return 0;
}
