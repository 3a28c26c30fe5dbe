/*
 * trace.c - exit recording (docs/trace-format.md). With a recorder on the
 * handle, a Try* call records the exit, then runs the ordinary path (api.c)
 * on a copy of the handle state whose callbacks are the forwarders below
 * (struct trace_run),
 * each calls the VMM's real callback with the VMM's Context, records the
 * call and the answer, and hands the answer back unchanged. So mem.c, vcpu.c
 * and io.c stay the only places that decide to call back; this file only
 * forwards. Nothing here runs when recording is off.
 */
#include <stdlib.h>
#include <string.h>

#include "handle.h"
#include "trace.h"
#include "regnames.h"
#include "whvemu.h"

struct trace_state {
    WHVEMU_TRACE_WRITE write;
    void *wctx;
    uint64_t opt_rep;   /* the options last recorded; ~0: none yet */
    int opt_xstate;
    size_t len;
    char buf[TRACE_LINE_MAX];
};


const char *trace_reg_name(WHV_REGISTER_NAME n)
{
    return regname_of(n);
}

int trace_reg_lookup(const char *name, size_t len, WHV_REGISTER_NAME *out)
{
    WHV_REGISTER_NAME num;
    const char *rn;
    for (unsigned i = 0; (rn = regname_at(i, &num)) != NULL; i++)
        if (strlen(rn) == len && !memcmp(rn, name, len)) {
            *out = num;
            return 1;
        }
    return 0;
}

/* --- the line builder --- */

static void flush(struct trace_state *t)
{
    if (t->len)
        t->write(t->wctx, t->buf, (UINT32)t->len);
    t->len = 0;
}

static void put(struct trace_state *t, const char *s, size_t n)
{
    while (n) {
        if (t->len == sizeof(t->buf))
            flush(t);
        size_t k = sizeof(t->buf) - t->len;
        if (k > n)
            k = n;
        memcpy(t->buf + t->len, s, k);
        t->len += k;
        s += k;
        n -= k;
    }
}

static void puts_(struct trace_state *t, const char *s)
{
    put(t, s, strlen(s));
}

static const char hexdig[] = "0123456789abcdef";

/* Lower-case hex digits of v, without leading zeros ("0" for zero). */
static size_t hex64(char *out, uint64_t v, int pad16)
{
    char tmp[16];
    size_t n = 0;
    do {
        tmp[n++] = hexdig[v & 15];
        v >>= 4;
    } while (v || (pad16 && n < 16));
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

/* " name=0xVALUE" */
static void field(struct trace_state *t, const char *name, uint64_t v)
{
    char b[24];
    put(t, " ", 1);
    puts_(t, name);
    put(t, "=0x", 3);
    put(t, b, hex64(b, v, 0));
}

/* " name=0xHIGHLOW": a 128-bit value as one number. */
static void field128(struct trace_state *t, const char *name, const WHV_UINT128 *v)
{
    char b[40];
    size_t n = 0;
    if (v->High64) {
        n = hex64(b, v->High64, 0);
        n += hex64(b + n, v->Low64, 1);
    } else {
        n = hex64(b, v->Low64, 0);
    }
    put(t, " ", 1);
    puts_(t, name);
    put(t, "=0x", 3);
    put(t, b, n);
}

/* " name=BYTES": bytes in memory order, two digits each. */
static void field_bytes(struct trace_state *t, const char *name, const void *p, size_t n)
{
    const uint8_t *b = p;
    put(t, " ", 1);
    puts_(t, name);
    put(t, "=", 1);
    for (size_t i = 0; i < n; i++) {
        char d[2] = {hexdig[b[i] >> 4], hexdig[b[i] & 15]};
        put(t, d, 2);
    }
}

static void end_line(struct trace_state *t)
{
    put(t, "\n", 1);
    flush(t);
}

static void field_seg(struct trace_state *t, const char *prefix, const WHV_X64_SEGMENT_REGISTER *s)
{
    char name[16];
    static const char *const part[4] = {"base", "limit", "sel", "attr"};
    const uint64_t v[4] = {s->Base, s->Limit, s->Selector, s->Attributes};
    for (int i = 0; i < 4; i++) {
        size_t n = strlen(prefix);
        memcpy(name, prefix, n);
        name[n] = '.';
        strcpy(name + n + 1, part[i]);
        field(t, name, v[i]);
    }
}

static void reg_field(struct trace_state *t, WHV_REGISTER_NAME n, const WHV_REGISTER_VALUE *v)
{
    const char *name = trace_reg_name(n);
    char num[24];
    if (!name) {
        num[0] = '0';
        num[1] = 'x';
        num[2 + hex64(num + 2, (uint32_t)n, 0)] = 0;
        name = num;
    }
    field128(t, name, &v->Reg128);
}

/* --- the forwarders --- */

static HRESULT CALLBACK fwd_io(VOID *c, WHV_EMULATOR_IO_ACCESS_INFO *a)
{
    const struct trace_call *tc = c;
    HRESULT hr = tc->eh->cb.WHvEmulatorIoPortCallback(tc->ctx, a);
    struct trace_state *t = tc->eh->trace;
    puts_(t, "io");
    field(t, "port", a->Port);
    field(t, "size", a->AccessSize);
    field(t, "dir", a->Direction);
    field(t, "data", a->Data);
    field(t, "hr", (uint32_t)hr);
    end_line(t);
    return hr;
}

static HRESULT CALLBACK fwd_memory(VOID *c, WHV_EMULATOR_MEMORY_ACCESS_INFO *a)
{
    const struct trace_call *tc = c;
    HRESULT hr = tc->eh->cb.WHvEmulatorMemoryCallback(tc->ctx, a);
    struct trace_state *t = tc->eh->trace;
    puts_(t, "memory");
    field(t, "gpa", a->GpaAddress);
    field(t, "dir", a->Direction);
    field(t, "size", a->AccessSize);
    field_bytes(t, "data", a->Data, a->AccessSize > 8 ? 8 : a->AccessSize);
    field(t, "hr", (uint32_t)hr);
    end_line(t);
    return hr;
}

static HRESULT CALLBACK fwd_get(VOID *c, const WHV_REGISTER_NAME *names, UINT32 n,
                                WHV_REGISTER_VALUE *vals)
{
    const struct trace_call *tc = c;
    HRESULT hr = tc->eh->cb.WHvEmulatorGetVirtualProcessorRegisters(tc->ctx, names, n, vals);
    struct trace_state *t = tc->eh->trace;
    puts_(t, "get");
    field(t, "hr", (uint32_t)hr);
    for (UINT32 i = 0; i < n; i++)
        reg_field(t, names[i], &vals[i]);
    end_line(t);
    return hr;
}

static HRESULT CALLBACK fwd_set(VOID *c, const WHV_REGISTER_NAME *names, UINT32 n,
                                const WHV_REGISTER_VALUE *vals)
{
    const struct trace_call *tc = c;
    HRESULT hr = tc->eh->cb.WHvEmulatorSetVirtualProcessorRegisters(tc->ctx, names, n, vals);
    struct trace_state *t = tc->eh->trace;
    puts_(t, "set");
    field(t, "hr", (uint32_t)hr);
    for (UINT32 i = 0; i < n; i++)
        reg_field(t, names[i], &vals[i]);
    end_line(t);
    return hr;
}

static HRESULT CALLBACK fwd_translate(VOID *c, WHV_GUEST_VIRTUAL_ADDRESS gva,
                                      WHV_TRANSLATE_GVA_FLAGS flags,
                                      WHV_TRANSLATE_GVA_RESULT_CODE *result,
                                      WHV_GUEST_PHYSICAL_ADDRESS *gpa)
{
    const struct trace_call *tc = c;
    HRESULT hr = tc->eh->cb.WHvEmulatorTranslateGvaPage(tc->ctx, gva, flags, result, gpa);
    struct trace_state *t = tc->eh->trace;
    puts_(t, "translate");
    field(t, "gva", gva);
    field(t, "flags", (uint32_t)flags);
    field(t, "hr", (uint32_t)hr);
    field(t, "result", (uint32_t)*result);
    field(t, "gpa", *gpa);
    end_line(t);
    return hr;
}

static HRESULT CALLBACK fwd_xstate(VOID *c, UINT32 component, BOOL write, VOID *buf, UINT32 size)
{
    const struct trace_call *tc = c;
    HRESULT hr = tc->eh->xstate(tc->ctx, component, write, buf, size);
    struct trace_state *t = tc->eh->trace;
    puts_(t, "xstate");
    field(t, "component", component);
    field(t, "write", (uint32_t)write);
    field(t, "size", size);
    field(t, "hr", (uint32_t)hr);
    field_bytes(t, "data", buf, size);
    end_line(t);
    return hr;
}

/* --- the recorded Try calls --- */

/* The options record, when they differ from the last one recorded. */
static void record_options(struct trace_state *t, const struct emu_handle *eh)
{
    int xs = eh->xstate != NULL;
    if (t->opt_rep == eh->rep_limit && t->opt_xstate == xs)
        return;
    t->opt_rep = eh->rep_limit;
    t->opt_xstate = xs;
    puts_(t, "options");
    field(t, "rep_limit", eh->rep_limit);
    field(t, "xstate", (uint64_t)xs);
    end_line(t);
}

static void record_vp(struct trace_state *t, const WHV_VP_EXIT_CONTEXT *vp)
{
    field(t, "exec", vp->ExecutionState.AsUINT16);
    field(t, "ilen", vp->InstructionLength);
    field(t, "cr8", vp->Cr8);
    field(t, "vp.rsvd", vp->Reserved);
    field(t, "vp.rsvd2", vp->Reserved2);
    field_seg(t, "cs", &vp->Cs);
    field(t, "rip", vp->Rip);
    field(t, "rflags", vp->Rflags);
}

/* The handle state the emulation runs on: the live one's, with forwarders. */
static void shadow(struct emu_handle *sh, const struct emu_handle *eh)
{
    *sh = *eh;
    sh->cb.WHvEmulatorIoPortCallback = fwd_io;
    sh->cb.WHvEmulatorMemoryCallback = fwd_memory;
    sh->cb.WHvEmulatorGetVirtualProcessorRegisters = fwd_get;
    sh->cb.WHvEmulatorSetVirtualProcessorRegisters = fwd_set;
    sh->cb.WHvEmulatorTranslateGvaPage = fwd_translate;
    sh->xstate = eh->xstate ? fwd_xstate : NULL;
    /* While recording, guest RAM is not touched directly (whvemu_set_guest_ram):
     * every access and translation goes through a callback, so the
     * recording holds everything a replay needs. */
    sh->ram.r = NULL;
    sh->ram.n = 0;
}

struct trace_run *trace_mmio_begin(struct trace_run *run, const struct emu_handle *eh, void *ctx,
                                   const WHV_VP_EXIT_CONTEXT *vpp,
                                   const WHV_MEMORY_ACCESS_CONTEXT *mcp)
{
    struct trace_state *t = eh->trace;
    const WHV_VP_EXIT_CONTEXT vp = *vpp;
    const WHV_MEMORY_ACCESS_CONTEXT mc = *mcp;
    record_options(t, eh);
    puts_(t, "mmio-exit");
    record_vp(t, &vp);
    field(t, "count", mc.InstructionByteCount);
    field_bytes(t, "rsvd", mc.Reserved, sizeof(mc.Reserved));
    field_bytes(t, "bytes", mc.InstructionBytes, sizeof(mc.InstructionBytes));
    field(t, "access", mc.AccessInfo.AsUINT32);
    field(t, "gpa", mc.Gpa);
    field(t, "gva", mc.Gva);
    end_line(t);
    shadow(&run->h, eh);
    run->call.eh = eh;
    run->call.ctx = ctx;
    return run;
}

struct trace_run *trace_io_begin(struct trace_run *run, const struct emu_handle *eh, void *ctx,
                                 const WHV_VP_EXIT_CONTEXT *vpp,
                                 const WHV_X64_IO_PORT_ACCESS_CONTEXT *iocp)
{
    struct trace_state *t = eh->trace;
    const WHV_VP_EXIT_CONTEXT vp = *vpp;
    const WHV_X64_IO_PORT_ACCESS_CONTEXT ioc = *iocp;
    record_options(t, eh);
    puts_(t, "io-exit");
    record_vp(t, &vp);
    field(t, "count", ioc.InstructionByteCount);
    field_bytes(t, "rsvd", ioc.Reserved, sizeof(ioc.Reserved));
    field_bytes(t, "bytes", ioc.InstructionBytes, sizeof(ioc.InstructionBytes));
    field(t, "access", ioc.AccessInfo.AsUINT32);
    field(t, "port", ioc.PortNumber);
    field_bytes(t, "rsvd2", ioc.Reserved2, sizeof(ioc.Reserved2));
    field(t, "rax", ioc.Rax);
    field(t, "rcx", ioc.Rcx);
    field(t, "rsi", ioc.Rsi);
    field(t, "rdi", ioc.Rdi);
    field_seg(t, "ds", &ioc.Ds);
    field_seg(t, "es", &ioc.Es);
    end_line(t);
    shadow(&run->h, eh);
    run->call.eh = eh;
    run->call.ctx = ctx;
    return run;
}

void trace_end(const struct trace_run *run, HRESULT hr, uint32_t st)
{
    struct trace_state *t = run->call.eh->trace;
    puts_(t, "result");
    field(t, "hr", (uint32_t)hr);
    field(t, "status", hr == S_OK ? st : 0);
    end_line(t);
}

/* --- the setters --- */

void trace_free(struct trace_state *t)
{
    free(t);
}

WHVEMU_API HRESULT WINAPI whvemu_set_trace(WHV_EMULATOR_HANDLE Emulator, WHVEMU_TRACE_WRITE Write,
                                           VOID *TraceContext)
{
    struct emu_handle *eh = handle_acquire(Emulator);
    if (!eh)
        return E_INVALIDARG;
    struct trace_state *t = NULL;
    if (Write) {
        t = malloc(sizeof(*t));
        if (!t) {
            handle_release(eh);
            return E_OUTOFMEMORY;
        }
        t->write = Write;
        t->wctx = TraceContext;
        t->opt_rep = ~(uint64_t)0;
        t->opt_xstate = -1;
        t->len = 0;
    }
    trace_free(eh->trace);
    eh->trace = t;
    eh->fast = eh->fast_cfg && !t; /* a recording takes the general path */
    if (t) {
        puts_(t, TRACE_HEADER);
        end_line(t);
    }
    handle_release(eh);
    return S_OK;
}

static void CALLBACK file_write(VOID *f, const char *text, UINT32 len)
{
    fwrite(text, 1, len, (FILE *)f);
    fflush((FILE *)f);
}

WHVEMU_API HRESULT WINAPI whvemu_set_trace_file(WHV_EMULATOR_HANDLE Emulator, FILE *File)
{
    return whvemu_set_trace(Emulator, File ? file_write : NULL, File);
}
