/*
 * test_trace.c - exit recording (whvemu_set_trace, docs/trace-format.md):
 * the handle rules, one record per exit and per callback with its answer,
 * failures, port I/O and extended state, and that recording changes nothing.
 *
 *   test_trace                 the unit tests
 *   test_trace --sample FILE   writes a small recording of known exits for
 *                              the replay tests (trace_replay.sh)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fake_vmm.h"
#include "whvemu.h"

#define RIP0 0x401000u
#define DATA 0x7000u   /* RAM */
#define MMIO 0xF0000u  /* device page */

/* The recording collected in memory. */
struct text {
    char buf[1 << 16];
    size_t len;
    unsigned writes;
};

static void CALLBACK collect(VOID *ctx, const char *s, UINT32 n)
{
    struct text *t = ctx;
    t->writes++;
    if (n > sizeof(t->buf) - 1 - t->len)
        n = (UINT32)(sizeof(t->buf) - 1 - t->len);
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = 0;
}

/* The line that starts with `prefix` (the nth such, 1-based), or NULL. */
static const char *line_with(const struct text *t, const char *prefix, unsigned nth)
{
    size_t pl = strlen(prefix);
    for (const char *p = t->buf; *p;) {
        if (!strncmp(p, prefix, pl) && --nth == 0)
            return p;
        const char *nl = strchr(p, '\n');
        if (!nl)
            break;
        p = nl + 1;
    }
    return NULL;
}

/* Whether the line at `line` holds `field` (e.g. " hr=0x0"). */
static int line_has(const char *line, const char *field)
{
    if (!line)
        return 0;
    const char *end = strchr(line, '\n');
    size_t n = end ? (size_t)(end - line) : strlen(line);
    size_t fl = strlen(field);
    for (size_t i = 0; i + fl <= n; i++)
        if (!memcmp(line + i, field, fl) && (i + fl == n || line[i + fl] == ' '))
            return 1;
    return 0;
}

static unsigned count_lines(const struct text *t)
{
    unsigned n = 0;
    for (size_t i = 0; i < t->len; i++)
        n += t->buf[i] == '\n';
    return n;
}

struct rig {
    fake_vmm *vm;
    WHV_EMULATOR_HANDLE emu;
};

static void rig_init(struct rig *r)
{
    r->vm = fvmm_create();
    fvmm_setup_long_mode(r->vm, 0);
    fvmm_set_mmio(r->vm, MMIO, 1);
    CHECK_EQ(WHvEmulatorCreateEmulator(fvmm_callbacks(), &r->emu), S_OK);
}

static void rig_fini(struct rig *r)
{
    CHECK_EQ(WHvEmulatorDestroyEmulator(r->emu), S_OK);
    fvmm_destroy(r->vm);
}

/* An MMIO exit at RIP0 for `bytes` (count 0: the emulator fetches them from
 * RIP0, where they are written to guest memory) touching `gva`. */
static WHV_EMULATOR_STATUS mmio(struct rig *r, const uint8_t *bytes, unsigned n, int give,
                                UINT64 gva, WHV_MEMORY_ACCESS_TYPE acc, HRESULT *hrp)
{
    WHV_VP_EXIT_CONTEXT vp;
    WHV_MEMORY_ACCESS_CONTEXT mc;
    fvmm_set_reg64(r->vm, WHvX64RegisterRip, RIP0);
    fvmm_gva_write(r->vm, RIP0, bytes, n);
    fvmm_mmio_exit d = {bytes, give ? n : 0, gva, gva, 1, 1, acc};
    fvmm_build_mmio_exit64(r->vm, &vp, &mc, &d);
    WHV_EMULATOR_STATUS st;
    st.AsUINT32 = 0;
    HRESULT hr = WHvEmulatorTryMmioEmulation(r->emu, r->vm, &vp, &mc, &st);
    if (hrp)
        *hrp = hr;
    else
        CHECK_EQ(hr, S_OK);
    return st;
}

/* A port exit for OUT DX, AL (write) or IN AL, DX with the bytes given. */
static WHV_EMULATOR_STATUS port(struct rig *r, int write, UINT16 portnum)
{
    WHV_VP_EXIT_CONTEXT vp;
    WHV_X64_IO_PORT_ACCESS_CONTEXT io;
    WHV_REGISTER_VALUE v;
    fvmm_set_reg64(r->vm, WHvX64RegisterRip, RIP0);
    fvmm_build_exit64(&vp, 0, RIP0, fvmm_reg64(r->vm, WHvX64RegisterRflags));
    vp.InstructionLength = 1;
    memset(&io, 0, sizeof(io));
    io.InstructionByteCount = 1;
    io.InstructionBytes[0] = write ? 0xEE : 0xEC;
    io.AccessInfo.IsWrite = (UINT32)write;
    io.AccessInfo.AccessSize = 1;
    io.PortNumber = portnum;
    io.Rax = fvmm_reg64(r->vm, WHvX64RegisterRax);
    io.Rcx = fvmm_reg64(r->vm, WHvX64RegisterRcx);
    io.Rsi = fvmm_reg64(r->vm, WHvX64RegisterRsi);
    io.Rdi = fvmm_reg64(r->vm, WHvX64RegisterRdi);
    fvmm_reg_get(r->vm, WHvX64RegisterDs, &v);
    io.Ds = v.Segment;
    fvmm_reg_get(r->vm, WHvX64RegisterEs, &v);
    io.Es = v.Segment;
    WHV_EMULATOR_STATUS st;
    CHECK_EQ(WHvEmulatorTryIoEmulation(r->emu, r->vm, &vp, &io, &st), S_OK);
    return st;
}

static const uint8_t mov_eax_mrbx[] = {0x8B, 0x03};     /* mov eax, [rbx] */
static const uint8_t mov_mrbx_ecx[] = {0x89, 0x0B};     /* mov [rbx], ecx */
static const uint8_t movups_xmm1_mrbx[] = {0x0F, 0x10, 0x0B}; /* movups xmm1, [rbx] */
static const uint8_t vmovdqu_ymm2_mrbx[] = {0xC5, 0xFE, 0x6F, 0x13}; /* vmovdqu ymm2, [rbx] */

/* A callback that tries the setters on its own, busy, handle. */
static WHV_EMULATOR_HANDLE inner_handle;
static HRESULT inner_hr[2];

static HRESULT CALLBACK setting_memory(VOID *ctx, WHV_EMULATOR_MEMORY_ACCESS_INFO *a)
{
    inner_hr[0] = whvemu_set_trace(inner_handle, collect, NULL);
    inner_hr[1] = whvemu_set_trace_file(inner_handle, stderr);
    return fvmm_callbacks()->WHvEmulatorMemoryCallback(ctx, a);
}

static void test_trace_setters_need_a_live_idle_handle(void)
{
    struct text t;
    t.len = 0;
    CHECK_EQ(whvemu_set_trace(NULL, collect, &t), E_INVALIDARG);
    CHECK_EQ(whvemu_set_trace_file(NULL, stderr), E_INVALIDARG);
    CHECK_EQ(whvemu_set_trace((WHV_EMULATOR_HANDLE)(uintptr_t)0x1234, collect, &t), E_INVALIDARG);
    CHECK_EQ(t.len, 0);

    WHV_EMULATOR_CALLBACKS cb = *fvmm_callbacks();
    cb.WHvEmulatorMemoryCallback = setting_memory;
    struct rig r;
    r.vm = fvmm_create();
    fvmm_setup_long_mode(r.vm, 0);
    fvmm_set_mmio(r.vm, MMIO, 1);
    CHECK_EQ(WHvEmulatorCreateEmulator(&cb, &r.emu), S_OK);
    inner_handle = r.emu;
    inner_hr[0] = inner_hr[1] = S_OK;
    fvmm_set_reg64(r.vm, WHvX64RegisterRbx, MMIO);
    CHECK_EQ(mmio(&r, mov_eax_mrbx, 2, 1, MMIO, WHvMemoryAccessRead, NULL).AsUINT32, 1);
    CHECK_EQ(inner_hr[0], E_INVALIDARG); /* held by the call */
    CHECK_EQ(inner_hr[1], E_INVALIDARG);
    CHECK_EQ(whvemu_set_trace(r.emu, collect, &t), S_OK);
    CHECK_EQ(whvemu_set_trace(r.emu, NULL, NULL), S_OK);
    CHECK_EQ(whvemu_set_trace_file(r.emu, NULL), S_OK);
    CHECK_EQ(WHvEmulatorDestroyEmulator(r.emu), S_OK);
    CHECK_EQ(whvemu_set_trace(r.emu, collect, &t), E_INVALIDARG); /* destroyed */
    CHECK_EQ(whvemu_set_trace_file(r.emu, stderr), E_INVALIDARG);
    fvmm_destroy(r.vm);
}

static void test_trace_writes_the_header_and_null_stops_it(void)
{
    struct rig r;
    struct text t;
    t.len = 0;
    t.writes = 0;
    rig_init(&r);
    CHECK_EQ(whvemu_set_trace(r.emu, collect, &t), S_OK);
    CHECK(!strcmp(t.buf, "whvemu-trace 1\n"));
    fvmm_set_reg64(r.vm, WHvX64RegisterRbx, MMIO);
    CHECK_EQ(mmio(&r, mov_eax_mrbx, 2, 1, MMIO, WHvMemoryAccessRead, NULL).AsUINT32, 1);
    size_t len = t.len;
    CHECK(len > 15);
    CHECK_EQ(count_lines(&t), 7); /* header, options, exit, get, memory, set, result */
    CHECK_EQ(whvemu_set_trace(r.emu, NULL, NULL), S_OK);
    CHECK_EQ(mmio(&r, mov_eax_mrbx, 2, 1, MMIO, WHvMemoryAccessRead, NULL).AsUINT32, 1);
    CHECK_EQ(t.len, len);
    /* Starting again starts a new recording: a header, then the options. */
    CHECK_EQ(whvemu_set_trace(r.emu, collect, &t), S_OK);
    CHECK(!strcmp(t.buf + len, "whvemu-trace 1\n"));
    CHECK_EQ(mmio(&r, mov_eax_mrbx, 2, 1, MMIO, WHvMemoryAccessRead, NULL).AsUINT32, 1);
    CHECK(line_with(&t, "options ", 2) != NULL);
    rig_fini(&r);
}

static void test_trace_records_an_mmio_read_exit_and_each_callback(void)
{
    struct rig r;
    struct text t;
    t.len = 0;
    rig_init(&r);
    fvmm_set_reg64(r.vm, WHvX64RegisterRbx, MMIO + 0x10);
    fvmm_set_reg64(r.vm, WHvX64RegisterRax, 0xFFFFFFFFFFFFFFFFull);
    UINT32 dev = 0x11223344u;
    fvmm_gpa_write(r.vm, MMIO + 0x10, &dev, 4);
    CHECK_EQ(whvemu_set_trace(r.emu, collect, &t), S_OK);
    CHECK_EQ(mmio(&r, mov_eax_mrbx, 2, 1, MMIO + 0x10, WHvMemoryAccessRead, NULL).AsUINT32, 1);
    const char *o = line_with(&t, "options ", 1);
    CHECK(line_has(o, "rep_limit=0x1000") && line_has(o, "xstate=0x0"));
    const char *x = line_with(&t, "mmio-exit ", 1);
    CHECK(line_has(x, "exec=0x14") && line_has(x, "ilen=0x0") && line_has(x, "cr8=0x0"));
    CHECK(line_has(x, "cs.sel=0x10") && line_has(x, "cs.attr=0x209b"));
    CHECK(line_has(x, "cs.limit=0xffffffff") && line_has(x, "cs.base=0x0"));
    CHECK(line_has(x, "rip=0x401000") && line_has(x, "rflags=0x2"));
    CHECK(line_has(x, "count=0x2") && line_has(x, "rsvd=000000"));
    CHECK(line_has(x, "bytes=8b030000000000000000000000000000"));
    CHECK(line_has(x, "access=0xc") && line_has(x, "gpa=0xf0010") && line_has(x, "gva=0xf0010"));
    const char *g = line_with(&t, "get ", 1);
    CHECK(line_has(g, "hr=0x0") && line_has(g, "Rbx=0xf0010"));
    const char *m = line_with(&t, "memory ", 1);
    CHECK(line_has(m, "gpa=0xf0010") && line_has(m, "dir=0x0") && line_has(m, "size=0x4"));
    CHECK(line_has(m, "data=44332211") && line_has(m, "hr=0x0"));
    const char *s = line_with(&t, "set ", 1);
    CHECK(line_has(s, "hr=0x0") && line_has(s, "Rax=0x11223344") && line_has(s, "Rip=0x401002"));
    CHECK(line_has(line_with(&t, "result ", 1), "hr=0x0"));
    CHECK(line_has(line_with(&t, "result ", 1), "status=0x1"));
    /* In order: exit, get, memory, set, result. */
    CHECK(o < x && x < g && g < m && m < s && s < line_with(&t, "result ", 1));
    CHECK_EQ(count_lines(&t), 7);
    rig_fini(&r);
}

static void test_trace_records_translate_and_fetch_and_128_bit_values(void)
{
    struct rig r;
    struct text t;
    t.len = 0;
    rig_init(&r);
    fvmm_set_reg64(r.vm, WHvX64RegisterRbx, DATA);
    uint8_t v[16];
    for (int i = 0; i < 16; i++)
        v[i] = (uint8_t)(0xA0 + i);
    fvmm_gva_write(r.vm, DATA, v, 16);
    CHECK_EQ(whvemu_set_trace(r.emu, collect, &t), S_OK);
    /* No bytes in the exit: fetched through translate + memory. */
    CHECK_EQ(mmio(&r, movups_xmm1_mrbx, 3, 0, DATA, WHvMemoryAccessRead, NULL).AsUINT32, 1);
    const char *tr = line_with(&t, "translate ", 1);
    CHECK(line_has(tr, "gva=0x401000") && line_has(tr, "hr=0x0") && line_has(tr, "result=0x0"));
    CHECK(line_has(tr, "gpa=0x401000"));
    const char *f = line_with(&t, "memory ", 1);
    CHECK(line_has(f, "gpa=0x401000") && line_has(f, "dir=0x0"));
    /* The register write in full width: bytes A0..AF, the low byte first. */
    CHECK(line_has(line_with(&t, "set ", 1), "Xmm1=0xafaeadacabaaa9a8a7a6a5a4a3a2a1a0"));
    rig_fini(&r);
}

static void test_trace_records_failed_callbacks_and_their_status(void)
{
    struct rig r;
    struct text t;
    t.len = 0;
    rig_init(&r);
    fvmm_set_reg64(r.vm, WHvX64RegisterRbx, MMIO);
    CHECK_EQ(whvemu_set_trace(r.emu, collect, &t), S_OK);
    fvmm_reset_log(r.vm);
    fvmm_fail_nth(r.vm, FVMM_CB_MEMORY, 1, E_FAIL);
    CHECK_EQ(mmio(&r, mov_eax_mrbx, 2, 1, MMIO, WHvMemoryAccessRead, NULL).AsUINT32, 1u << 3);
    CHECK(line_has(line_with(&t, "memory ", 1), "hr=0x80004005"));
    CHECK(line_has(line_with(&t, "result ", 1), "status=0x8"));
    CHECK(line_with(&t, "set ", 1) == NULL);

    fvmm_reset_log(r.vm);
    fvmm_fail_nth(r.vm, FVMM_CB_GET_REGS, 1, E_FAIL);
    CHECK_EQ(mmio(&r, mov_eax_mrbx, 2, 1, MMIO, WHvMemoryAccessRead, NULL).AsUINT32, 1u << 6);
    CHECK(line_has(line_with(&t, "get ", 2), "hr=0x80004005"));
    CHECK(line_has(line_with(&t, "get ", 2), "Rbx=0x0")); /* what the failed call left */
    CHECK(line_has(line_with(&t, "result ", 2), "status=0x40"));

    fvmm_reset_log(r.vm);
    fvmm_fail_nth(r.vm, FVMM_CB_SET_REGS, 1, E_FAIL);
    CHECK_EQ(mmio(&r, mov_eax_mrbx, 2, 1, MMIO, WHvMemoryAccessRead, NULL).AsUINT32, 1u << 7);
    CHECK(line_has(line_with(&t, "set ", 1), "hr=0x80004005"));

    fvmm_reset_log(r.vm);
    fvmm_fail_nth(r.vm, FVMM_CB_TRANSLATE, 1, E_FAIL);
    CHECK_EQ(mmio(&r, mov_eax_mrbx, 2, 0, MMIO, WHvMemoryAccessRead, NULL).AsUINT32, 1u << 4);
    const char *tr = line_with(&t, "translate ", 1);
    CHECK(line_has(tr, "hr=0x80004005"));
    /* The outputs as the failed call left them: the emulator's markers. */
    CHECK(line_has(tr, "gva=0x401000") && line_has(tr, "flags=0x14"));

    /* A bad exit is recorded too, with the call's HRESULT. */
    WHV_VP_EXIT_CONTEXT vp;
    WHV_MEMORY_ACCESS_CONTEXT mc;
    fvmm_mmio_exit d = {mov_eax_mrbx, 2, MMIO, MMIO, 1, 1, WHvMemoryAccessRead};
    fvmm_build_mmio_exit64(r.vm, &vp, &mc, &d);
    mc.InstructionByteCount = 17;
    WHV_EMULATOR_STATUS st;
    CHECK_EQ(WHvEmulatorTryMmioEmulation(r.emu, r.vm, &vp, &mc, &st), E_INVALIDARG);
    CHECK(line_has(line_with(&t, "mmio-exit ", 5), "count=0x11"));
    CHECK(line_has(line_with(&t, "result ", 5), "hr=0x80070057"));
    CHECK(line_has(line_with(&t, "result ", 5), "status=0x0"));
    rig_fini(&r);
}

static void test_trace_records_port_exits(void)
{
    struct rig r;
    struct text t;
    t.len = 0;
    rig_init(&r);
    CHECK_EQ(whvemu_set_trace(r.emu, collect, &t), S_OK);
    fvmm_set_reg64(r.vm, WHvX64RegisterRax, 0x5A);
    CHECK_EQ(port(&r, 1, 0x3F8).AsUINT32, 1);
    const char *x = line_with(&t, "io-exit ", 1);
    CHECK(line_has(x, "ilen=0x1") && line_has(x, "port=0x3f8") && line_has(x, "access=0x3"));
    CHECK(line_has(x, "rax=0x5a") && line_has(x, "count=0x1") && line_has(x, "rsvd2=000000000000"));
    CHECK(line_has(x, "ds.sel=0x18") && line_has(x, "es.attr=0xc093"));
    const char *io = line_with(&t, "io ", 1);
    CHECK(line_has(io, "port=0x3f8") && line_has(io, "size=0x1") && line_has(io, "dir=0x1"));
    CHECK(line_has(io, "data=0x5a") && line_has(io, "hr=0x0"));

    fvmm_reset_log(r.vm);
    fvmm_fail_nth(r.vm, FVMM_CB_IO, 1, E_FAIL);
    CHECK_EQ(port(&r, 0, 0x60).AsUINT32, 1u << 2);
    io = line_with(&t, "io ", 2);
    CHECK(line_has(io, "port=0x60") && line_has(io, "dir=0x0") && line_has(io, "hr=0x80004005"));
    CHECK(line_has(line_with(&t, "result ", 2), "status=0x4"));
    rig_fini(&r);
}

static void test_trace_records_the_xstate_callback(void)
{
    struct rig r;
    struct text t;
    t.len = 0;
    rig_init(&r);
    CHECK_EQ(whvemu_set_xstate_callback(r.emu, fvmm_xstate_callback()), S_OK);
    WHV_REGISTER_VALUE v;
    memset(&v, 0, sizeof(v));
    v.Reg64 = 0x7; /* XCR0: x87, SSE, AVX */
    fvmm_reg_set(r.vm, WHvX64RegisterXCr0, &v);
    fvmm_set_reg64(r.vm, WHvX64RegisterCr4, fvmm_reg64(r.vm, WHvX64RegisterCr4) | (1u << 18));
    fvmm_set_reg64(r.vm, WHvX64RegisterRbx, DATA);
    uint8_t d[32];
    for (int i = 0; i < 32; i++)
        d[i] = (uint8_t)i;
    fvmm_gva_write(r.vm, DATA, d, 32);
    CHECK_EQ(whvemu_set_trace(r.emu, collect, &t), S_OK);
    CHECK_EQ(mmio(&r, vmovdqu_ymm2_mrbx, 4, 1, DATA, WHvMemoryAccessRead, NULL).AsUINT32, 1);
    CHECK(line_has(line_with(&t, "options ", 1), "xstate=0x1"));
    const char *xs = line_with(&t, "xstate ", 1);
    CHECK(line_has(xs, "component=0x2") && line_has(xs, "write=0x0") && line_has(xs, "size=0x100"));
    CHECK(line_has(xs, "hr=0x0"));
    const char *xw = line_with(&t, "xstate ", 2);
    CHECK(line_has(xw, "write=0x1") && line_has(xw, "hr=0x0"));
    /* YMM2's upper half is bytes 32..47 of the component: 10 11 .. 1f. */
    CHECK(xw && strstr(xw, "data=" "0000000000000000000000000000000000000000000000000000000000000000"
                           "101112131415161718191a1b1c1d1e1f") != NULL);
    rig_fini(&r);
}

/* Recording changes nothing the VMM sees. */
static void test_trace_changes_no_callback_or_result(void)
{
    struct rig a, b;
    struct text t;
    t.len = 0;
    rig_init(&a);
    rig_init(&b);
    CHECK_EQ(whvemu_set_trace(b.emu, collect, &t), S_OK);
    struct rig *rs[2] = {&a, &b};
    uint32_t st[2];
    size_t calls[2];
    for (int i = 0; i < 2; i++) {
        fvmm_set_reg64(rs[i]->vm, WHvX64RegisterRbx, MMIO + 8);
        fvmm_set_reg64(rs[i]->vm, WHvX64RegisterRcx, 0xCAFEF00D);
        fvmm_reset_log(rs[i]->vm);
        st[i] = mmio(rs[i], mov_mrbx_ecx, 2, 0, MMIO + 8, WHvMemoryAccessWrite, NULL).AsUINT32;
        calls[i] = fvmm_call_count(rs[i]->vm);
    }
    CHECK_EQ(st[0], st[1]);
    CHECK_EQ(calls[0], calls[1]);
    for (size_t i = 0; i < calls[0] && i < calls[1]; i++)
        CHECK(!memcmp(fvmm_call_at(a.vm, i), fvmm_call_at(b.vm, i), sizeof(fvmm_call)));
    CHECK_EQ(fvmm_reg64(a.vm, WHvX64RegisterRip), fvmm_reg64(b.vm, WHvX64RegisterRip));
    CHECK(line_has(line_with(&t, "memory ", 3), "data=0df0feca"));
    rig_fini(&a);
    rig_fini(&b);
}

/* A recording of known exits for trace_replay.sh: a register read from
 * MMIO (exit bytes given), a register write to MMIO (bytes fetched), a
 * 128-bit load from RAM, and port output and input. */
static int write_sample(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return 2;
    struct rig r;
    rig_init(&r);
    CHECK_EQ(whvemu_set_trace_file(r.emu, f), S_OK);
    UINT32 dev = 0x11223344u;
    fvmm_gpa_write(r.vm, MMIO + 0x10, &dev, 4);
    fvmm_set_reg64(r.vm, WHvX64RegisterRbx, MMIO + 0x10);
    mmio(&r, mov_eax_mrbx, 2, 1, MMIO + 0x10, WHvMemoryAccessRead, NULL);
    fvmm_set_reg64(r.vm, WHvX64RegisterRcx, 0xCAFEF00D);
    mmio(&r, mov_mrbx_ecx, 2, 0, MMIO + 0x10, WHvMemoryAccessWrite, NULL);
    fvmm_set_reg64(r.vm, WHvX64RegisterRbx, DATA);
    uint8_t v[16];
    for (int i = 0; i < 16; i++)
        v[i] = (uint8_t)(0xA0 + i);
    fvmm_gva_write(r.vm, DATA, v, 16);
    mmio(&r, movups_xmm1_mrbx, 3, 1, DATA, WHvMemoryAccessRead, NULL);
    port(&r, 1, 0x3F8);
    port(&r, 0, 0x60);
    CHECK_EQ(whvemu_set_trace_file(r.emu, NULL), S_OK);
    rig_fini(&r);
    return fclose(f) != 0 || check_failures_in_test ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--sample"))
        return write_sample(argv[2]);
    RUN(test_trace_setters_need_a_live_idle_handle);
    RUN(test_trace_writes_the_header_and_null_stops_it);
    RUN(test_trace_records_an_mmio_read_exit_and_each_callback);
    RUN(test_trace_records_translate_and_fetch_and_128_bit_values);
    RUN(test_trace_records_failed_callbacks_and_their_status);
    RUN(test_trace_records_port_exits);
    RUN(test_trace_records_the_xstate_callback);
    RUN(test_trace_changes_no_callback_or_result);
    return CHECK_SUMMARY();
}
