/*
 * test_rep_limit.c - whvemu_set_rep_limit: a REP string instruction run in
 * chunks (limits 1, 7 and the default 4096; the guest re-executes it after
 * each call) and run to completion in one call (limit 0, pages translated
 * again as the loop goes on) ends in the same state: registers, memory,
 * port reads and the port write log. Every call follows the round-trip
 * rules. WHVEMU_REP_COUNT sets the element count (default 40000: more pages
 * than one call has slots for).
 */
#include <stdlib.h>
#include <string.h>

#include "WinHvEmulation.h"
#include "check.h"
#include "fake_vmm.h"
#include "whvemu.h"

#define RIP0 0x401000ull
#define SRC 0x10000800ull
#define DST 0x20000000ull
#define PORT 0x3F8
#define PAD 64

static unsigned elem_count = 40000;

struct rep_case {
    const char *name;
    uint8_t bytes[2];
    int port;     /* 0 memory exit, 1 INS, 2 OUTS */
    int df;       /* run backwards */
    int scan;     /* CMPS/SCAS: where the REPE/REPNE stops (index), else -1 */
};

struct state {
    uint64_t rax, rcx, rsi, rdi, rip, rflags;
    uint8_t *src, *dst; /* the two regions after the run */
    size_t region;
    uint32_t port_reads;
    size_t nwrites;
    uint32_t *writes;
    unsigned calls;
};

static void state_free(struct state *s)
{
    free(s->src);
    free(s->dst);
    free(s->writes);
}

/* Fills the regions: a pattern at the source; for CMPS an equal copy at the
 * destination with one difference; for SCAS the byte 0x5A at one index. */
static void fill(fake_vmm *vm, const struct rep_case *c, size_t region, uint64_t src0,
                 uint64_t dst0)
{
    uint8_t *buf = malloc(region);
    if (!buf)
        abort();
    for (size_t i = 0; i < region; i++)
        buf[i] = (uint8_t)(i * 7 + (i >> 8));
    fvmm_gpa_write(vm, src0, buf, region);
    if (c->bytes[1] == 0xA6) { /* CMPSB */
        size_t at = c->df ? region - PAD - 1 - (size_t)c->scan : PAD + (size_t)c->scan;
        buf[at] ^= 0xFF;
        fvmm_gpa_write(vm, dst0, buf, region);
    } else if (c->bytes[1] == 0xAE) { /* SCASB */
        for (size_t i = 0; i < region; i++)
            buf[i] = (uint8_t)(buf[i] == 0x5A ? 0x5B : buf[i]);
        size_t at = c->df ? region - PAD - 1 - (size_t)c->scan : PAD + (size_t)c->scan;
        buf[at] = 0x5A;
        fvmm_gpa_write(vm, dst0, buf, region);
    }
    free(buf);
}

static void run(const struct rep_case *c, uint32_t limit, struct state *out)
{
    memset(out, 0, sizeof(*out));
    fake_vmm *vm = fvmm_create();
    fvmm_setup_long_mode(vm, 0);
    fvmm_set_rep_to_completion(vm, limit == 0);
    size_t region = elem_count + 2 * PAD;
    /* Forwards the index registers start PAD bytes into the regions,
     * backwards PAD bytes before their end. */
    uint64_t start = c->df ? region - PAD - 1 : PAD;
    fill(vm, c, region, SRC, DST);
    fvmm_set_reg64(vm, WHvX64RegisterRip, RIP0);
    fvmm_set_reg64(vm, WHvX64RegisterRflags, c->df ? 0x402 : 0x2);
    fvmm_set_reg64(vm, WHvX64RegisterRcx, elem_count);
    fvmm_set_reg64(vm, WHvX64RegisterRsi, SRC + start);
    fvmm_set_reg64(vm, WHvX64RegisterRdi, DST + start);
    fvmm_set_reg64(vm, WHvX64RegisterRax, 0x5A);
    WHV_EMULATOR_HANDLE emu;
    CHECK_EQ(WHvEmulatorCreateEmulator(fvmm_callbacks(), &emu), S_OK);
    CHECK_EQ(whvemu_set_rep_limit(emu, limit), S_OK);
    fvmm_reset_log(vm);
    unsigned calls = 0;
    for (;;) {
        WHV_VP_EXIT_CONTEXT vp;
        fvmm_build_exit64(&vp, 0, fvmm_reg64(vm, WHvX64RegisterRip),
                          fvmm_reg64(vm, WHvX64RegisterRflags));
        WHV_EMULATOR_STATUS st;
        HRESULT hr;
        WHV_MEMORY_ACCESS_CONTEXT mc;
        fvmm_reset_calls(vm);
        if (c->port) {
            WHV_X64_IO_PORT_ACCESS_CONTEXT io;
            memset(&io, 0, sizeof(io));
            io.InstructionByteCount = 2;
            memcpy(io.InstructionBytes, c->bytes, 2);
            io.AccessInfo.IsWrite = c->port == 2;
            io.AccessInfo.AccessSize = 1;
            io.AccessInfo.StringOp = 1;
            io.AccessInfo.RepPrefix = 1;
            io.PortNumber = PORT;
            io.Rax = fvmm_reg64(vm, WHvX64RegisterRax);
            io.Rcx = fvmm_reg64(vm, WHvX64RegisterRcx);
            io.Rsi = fvmm_reg64(vm, WHvX64RegisterRsi);
            io.Rdi = fvmm_reg64(vm, WHvX64RegisterRdi);
            WHV_REGISTER_VALUE v;
            fvmm_reg_get(vm, WHvX64RegisterDs, &v);
            io.Ds = v.Segment;
            fvmm_reg_get(vm, WHvX64RegisterEs, &v);
            io.Es = v.Segment;
            hr = WHvEmulatorTryIoEmulation(emu, vm, &vp, &io, &st);
        } else {
            /* GvaValid clear: every page goes through the translate callback. */
            fvmm_mmio_exit d = {c->bytes, 2, 0, 0, 0, 0, WHvMemoryAccessWrite};
            fvmm_build_mmio(&mc, &d);
            hr = WHvEmulatorTryMmioEmulation(emu, vm, &vp, &mc, &st);
        }
        calls++;
        CHECK_EQ(hr, S_OK);
        CHECK_EQ(st.AsUINT32, 1);
        const char *why = fvmm_check_round_trip(vm, &vp, c->port ? NULL : &mc, &st);
        if (why) {
            printf("  %s limit %u call %u: %s\n", c->name, limit, calls, why);
            CHECK(why == NULL);
        }
        if (hr != S_OK || st.AsUINT32 != 1 || why)
            break;
        CHECK_EQ(fvmm_injected(vm).InterruptionPending, 0);
        if (fvmm_reg64(vm, WHvX64RegisterRip) != RIP0)
            break;
        if (calls > elem_count + 16) {
            CHECK(!"the instruction never completed");
            break;
        }
    }
    out->calls = calls;
    out->rax = fvmm_reg64(vm, WHvX64RegisterRax);
    out->rcx = fvmm_reg64(vm, WHvX64RegisterRcx);
    out->rsi = fvmm_reg64(vm, WHvX64RegisterRsi);
    out->rdi = fvmm_reg64(vm, WHvX64RegisterRdi);
    out->rip = fvmm_reg64(vm, WHvX64RegisterRip);
    out->rflags = fvmm_reg64(vm, WHvX64RegisterRflags);
    out->region = region;
    out->src = malloc(region);
    out->dst = malloc(region);
    if (!out->src || !out->dst)
        abort();
    fvmm_gpa_read(vm, SRC, out->src, region);
    fvmm_gpa_read(vm, DST, out->dst, region);
    out->port_reads = fvmm_port_reads(vm, PORT);
    out->nwrites = fvmm_port_write_count(vm);
    out->writes = malloc((out->nwrites + 1) * sizeof(uint32_t));
    if (!out->writes)
        abort();
    for (size_t i = 0; i < out->nwrites; i++) {
        const fvmm_port_write *w = fvmm_port_write_at(vm, i);
        out->writes[i] = (uint32_t)w->port << 16 ^ (uint32_t)w->size << 8 ^ w->data;
    }
    CHECK_EQ(whvemu_set_rep_limit(emu, 5), S_OK);
    WHvEmulatorDestroyEmulator(emu);
    fvmm_destroy(vm);
}

static int same_state(const struct state *a, const struct state *b)
{
    return a->rax == b->rax && a->rcx == b->rcx && a->rsi == b->rsi && a->rdi == b->rdi &&
           a->rip == b->rip && a->rflags == b->rflags && a->region == b->region &&
           !memcmp(a->src, b->src, a->region) && !memcmp(a->dst, b->dst, a->region) &&
           a->port_reads == b->port_reads && a->nwrites == b->nwrites &&
           !memcmp(a->writes, b->writes, a->nwrites * sizeof(uint32_t));
}

/* The iterations the instruction runs: the count, or up to the REPE/REPNE
 * stop. */
static unsigned iterations(const struct rep_case *c)
{
    return c->scan >= 0 ? (unsigned)c->scan + 1 : elem_count;
}

static void check_case(const struct rep_case *c)
{
    struct state whole, part;
    run(c, 0, &whole);
    unsigned n = iterations(c);
    CHECK_EQ(whole.calls, 1);
    CHECK_EQ(whole.rip, RIP0 + 2);
    CHECK_EQ(whole.rcx, elem_count - n);
    uint64_t start = c->df ? whole.region - PAD - 1 : PAD;
    uint64_t moved = c->df ? start - n : start + n;
    if (c->bytes[1] != 0xAE && c->bytes[1] != 0xAA && c->bytes[1] != 0x6C)
        CHECK_EQ(whole.rsi, SRC + moved);
    if (c->bytes[1] != 0x6E)
        CHECK_EQ(whole.rdi, DST + moved);
    if (c->port == 1)
        CHECK_EQ(whole.port_reads, n);
    if (c->port == 2)
        CHECK_EQ(whole.nwrites, n);
    if (c->bytes[1] == 0xA4) /* MOVSB copied the source */
        CHECK(!memcmp(whole.src + PAD, whole.dst + PAD, elem_count));
    static const uint32_t limits[] = {1, 7, 4096};
    for (unsigned i = 0; i < 3; i++) {
        run(c, limits[i], &part);
        if (!same_state(&whole, &part))
            printf("  %s: limit %u ends in another state than limit 0\n", c->name, limits[i]);
        CHECK(same_state(&whole, &part));
        CHECK(part.calls >= (n + limits[i] - 1) / limits[i]);
        state_free(&part);
    }
    state_free(&whole);
}

static const struct rep_case cases[] = {
    {"rep movsb", {0xF3, 0xA4}, 0, 0, -1},
    {"std; rep movsb", {0xF3, 0xA4}, 0, 1, -1},
    {"rep stosb", {0xF3, 0xAA}, 0, 0, -1},
    {"std; rep stosb", {0xF3, 0xAA}, 0, 1, -1},
    {"rep insb", {0xF3, 0x6C}, 1, 0, -1},
    {"std; rep insb", {0xF3, 0x6C}, 1, 1, -1},
    {"rep outsb", {0xF3, 0x6E}, 2, 0, -1},
    {"std; rep outsb", {0xF3, 0x6E}, 2, 1, -1},
};

static void test_chunked_and_unchunked_rep_end_in_the_same_state(void)
{
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_case(&cases[i]);
}

static void test_chunked_and_unchunked_repe_cmpsb_and_repne_scasb_stop_alike(void)
{
    /* REPE CMPSB stops at the difference, REPNE SCASB at the byte it finds;
     * both close to the end of the count so most iterations run. */
    int at = (int)elem_count - (int)elem_count / 7;
    struct rep_case c[] = {
        {"repe cmpsb", {0xF3, 0xA6}, 0, 0, at},
        {"std; repe cmpsb", {0xF3, 0xA6}, 0, 1, at},
        {"repne scasb", {0xF2, 0xAE}, 0, 0, at},
        {"std; repne scasb", {0xF2, 0xAE}, 0, 1, at},
        {"repe cmpsb, no difference", {0xF3, 0xA6}, 0, 0, -1}, /* runs the whole count */
    };
    for (unsigned i = 0; i < sizeof(c) / sizeof(c[0]); i++)
        check_case(&c[i]);
}

/* The limit belongs to the handle, and only a live handle no call holds
 * can change it. */
static WHV_EMULATOR_HANDLE inner_handle;
static HRESULT inner_hr;

static HRESULT CALLBACK setting_memory(VOID *ctx, WHV_EMULATOR_MEMORY_ACCESS_INFO *a)
{
    inner_hr = whvemu_set_rep_limit(inner_handle, 1);
    return fvmm_callbacks()->WHvEmulatorMemoryCallback(ctx, a);
}

static void test_rep_limit_needs_a_live_idle_handle(void)
{
    WHV_EMULATOR_HANDLE emu;
    CHECK_EQ(whvemu_set_rep_limit(NULL, 1), E_INVALIDARG);
    CHECK_EQ(whvemu_set_rep_limit((WHV_EMULATOR_HANDLE)(uintptr_t)0x1234, 1), E_INVALIDARG);
    WHV_EMULATOR_CALLBACKS cb = *fvmm_callbacks();
    cb.WHvEmulatorMemoryCallback = setting_memory;
    CHECK_EQ(WHvEmulatorCreateEmulator(&cb, &emu), S_OK);
    fake_vmm *vm = fvmm_create();
    fvmm_setup_long_mode(vm, 0);
    fvmm_set_reg64(vm, WHvX64RegisterRcx, 100);
    fvmm_set_reg64(vm, WHvX64RegisterRsi, SRC);
    fvmm_set_reg64(vm, WHvX64RegisterRdi, DST);
    WHV_VP_EXIT_CONTEXT vp;
    fvmm_build_exit64(&vp, 0, RIP0, 2);
    static const uint8_t movsb[] = {0xF3, 0xA4};
    fvmm_mmio_exit d = {movsb, 2, 0, 0, 0, 0, WHvMemoryAccessWrite};
    WHV_MEMORY_ACCESS_CONTEXT mc;
    fvmm_build_mmio(&mc, &d);
    inner_handle = emu;
    inner_hr = S_OK;
    WHV_EMULATOR_STATUS st;
    CHECK_EQ(WHvEmulatorTryMmioEmulation(emu, vm, &vp, &mc, &st), S_OK);
    CHECK_EQ(inner_hr, E_INVALIDARG); /* held by the call */
    CHECK_EQ(st.AsUINT32, 1);
    CHECK_EQ(fvmm_reg64(vm, WHvX64RegisterRcx), 0); /* the default limit still applied */
    CHECK_EQ(fvmm_reg64(vm, WHvX64RegisterRip), RIP0 + 2);
    CHECK_EQ(whvemu_set_rep_limit(emu, 1), S_OK);
    CHECK_EQ(WHvEmulatorDestroyEmulator(emu), S_OK);
    CHECK_EQ(whvemu_set_rep_limit(emu, 1), E_INVALIDARG); /* destroyed */
    fvmm_destroy(vm);
}

int main(void)
{
    const char *e = getenv("WHVEMU_REP_COUNT");
    if (e && atoi(e) > 0)
        elem_count = (unsigned)atoi(e);
    RUN(test_rep_limit_needs_a_live_idle_handle);
    RUN(test_chunked_and_unchunked_rep_end_in_the_same_state);
    RUN(test_chunked_and_unchunked_repe_cmpsb_and_repne_scasb_stop_alike);
    return CHECK_SUMMARY();
}
