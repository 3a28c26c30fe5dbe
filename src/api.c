/*
 * api.c - the four WHvEmulator* entry points: argument checks, the claim on
 * the handle, the path of one emulation (mode, instruction bytes, decode,
 * execute, commit) and the one mapping of internal results to
 * WHV_EMULATOR_STATUS. Calls no callback itself; with a recorder on the
 * handle (trace.c) the same path runs on the recorder's forwarding callbacks.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "emu.h"
#include "fast.h"
#include "handle.h"
#include "mem.h"
#include "trace.h"
#include "whvemu.h"


#define ST_SUCCESS 0x001u
#define ST_INTERNAL 0x002u
#define ST_INTERRUPT 0x100u

#if defined(__GNUC__)
#define API_COLD __attribute__((cold, noinline))
#else
#define API_COLD
#endif

/* Messages diag_record recognises by address. */
static const char why_invalid_encoding[] = "the instruction bytes are not a valid encoding (#UD)";
static const char why_port_on_mmio[] = "a port I/O instruction cannot cause a memory-access exit";
static const char why_not_port_io[] = "the instruction is not a port I/O instruction";
static const char why_port_mismatch[] =
    "the port exit context does not match the instruction bytes";

/* last_failure after a completed emulation; any other value means the
 * handle's diagnostics hold a recorded outcome. */
static const char no_failure[] = "";

WHVEMU_API const char *whvemu_version(void)
{
    return "0.1.0";
}

WHVEMU_API HRESULT WINAPI WHvEmulatorCreateEmulator(const WHV_EMULATOR_CALLBACKS *Callbacks,
                                                       WHV_EMULATOR_HANDLE *Emulator)
{
    if (!Emulator)
        return E_INVALIDARG;
    *Emulator = NULL;
    if (!Callbacks || Callbacks->Size != sizeof(WHV_EMULATOR_CALLBACKS))
        return E_INVALIDARG;
    if (!Callbacks->WHvEmulatorIoPortCallback || !Callbacks->WHvEmulatorMemoryCallback ||
        !Callbacks->WHvEmulatorGetVirtualProcessorRegisters ||
        !Callbacks->WHvEmulatorSetVirtualProcessorRegisters ||
        !Callbacks->WHvEmulatorTranslateGvaPage)
        return E_INVALIDARG;
    struct emu_handle *eh = calloc(1, sizeof(*eh));
    if (!eh)
        return E_OUTOFMEMORY;
    eh->cb = *Callbacks;
    eh->last_failure = no_failure;
    eh->rep_limit = EMU_REP_BUDGET;
    eh->ram_miss = RAM_MISS_NONE;
    dcache_init(&eh->dc);
    /* The exit shortcut (fast.c) can be turned off for a process, so that
     * the test suites check the general path on the same exits. */
    const char *nofast = getenv("WHVEMU_NO_FAST_PATH");
    eh->fast_cfg = !nofast || !*nofast || strcmp(nofast, "0") == 0;
    eh->fast = eh->fast_cfg;
    hostfp_detect(&eh->fp);
    HRESULT hr = handle_register(eh, Emulator);
    if (hr != S_OK) {
        handle_free(eh);
        *Emulator = NULL;
    }
    return hr;
}

/* A handle that is not live, or that a call holds (a callback destroying
 * its own emulator), is refused. */
WHVEMU_API HRESULT WINAPI WHvEmulatorDestroyEmulator(WHV_EMULATOR_HANDLE Emulator)
{
    struct emu_handle *eh = handle_unregister(Emulator);
    if (!eh)
        return E_INVALIDARG;
    trace_free(eh->trace);
    handle_free(eh);
    return S_OK;
}

WHVEMU_API const char *whvemu_last_failure(WHV_EMULATOR_HANDLE Emulator)
{
    struct emu_handle *eh = handle_acquire(Emulator);
    if (!eh)
        return NULL;
    const char *why = eh->last_failure;
    handle_release(eh);
    return why;
}

_Static_assert((int)MODE_REAL == (int)WHVEMU_CPU_MODE_REAL &&
                   (int)MODE_V86 == (int)WHVEMU_CPU_MODE_V86 &&
                   (int)MODE_PROT16 == (int)WHVEMU_CPU_MODE_PROT16 &&
                   (int)MODE_PROT32 == (int)WHVEMU_CPU_MODE_PROT32 &&
                   (int)MODE_COMPAT16 == (int)WHVEMU_CPU_MODE_COMPAT16 &&
                   (int)MODE_COMPAT32 == (int)WHVEMU_CPU_MODE_COMPAT32 &&
                   (int)MODE_LONG64 == (int)WHVEMU_CPU_MODE_LONG64,
               "enum cpu_mode is WHVEMU_CPU_MODE");

WHVEMU_API HRESULT WINAPI whvemu_get_last_diagnostics(WHV_EMULATOR_HANDLE Emulator,
                                                      WHVEMU_DIAGNOSTICS *Diag)
{
    if (!Diag || Diag->Size < sizeof(WHVEMU_DIAGNOSTICS))
        return E_INVALIDARG;
    struct emu_handle *eh = handle_acquire(Emulator);
    if (!eh)
        return E_INVALIDARG;
    const struct emu_diag *d = &eh->diag;
    WHVEMU_DIAGNOSTICS out;
    memset(&out, 0, sizeof(out));
    out.Size = sizeof(out);
    out.Mnemonic = "";
    out.Message = eh->last_failure;
    if (eh->last_failure != no_failure) {
        out.Reason = d->reason;
        out.CpuMode = d->mode;
        out.Callback = d->callback;
        out.CallbackResult = d->cb_hr;
        out.FaultVector = d->vector;
        out.FaultHasErrorCode = d->has_error_code;
        out.FaultErrorCode = d->error_code;
        out.FaultCr2 = d->cr2;
        out.InstructionByteCount = d->nbytes;
        memcpy(out.InstructionBytes, d->bytes, sizeof(out.InstructionBytes));
        out.Mnemonic = d->mnem;
    }
    handle_release(eh);
    memcpy(Diag, &out, sizeof(out));
    return S_OK;
}

WHVEMU_API HRESULT WINAPI whvemu_set_xstate_callback(WHV_EMULATOR_HANDLE Emulator,
                                                     WHVEMU_XSTATE_CALLBACK Callback)
{
    struct emu_handle *eh = handle_acquire(Emulator);
    if (!eh)
        return E_INVALIDARG;
    eh->xstate = Callback;
    handle_release(eh);
    return S_OK;
}

WHVEMU_API HRESULT WINAPI whvemu_set_rep_limit(WHV_EMULATOR_HANDLE Emulator, UINT32 Iterations)
{
    struct emu_handle *eh = handle_acquire(Emulator);
    if (!eh)
        return E_INVALIDARG;
    eh->rep_limit = Iterations;
    handle_release(eh);
    return S_OK;
}

/* The list is validated and copied before the handle's current one is
 * touched, so a bad list or a failed allocation leaves it in place. */
WHVEMU_API HRESULT WINAPI whvemu_set_guest_ram(WHV_EMULATOR_HANDLE Emulator,
                                               const WHVEMU_GUEST_RAM_RANGE *Ranges,
                                               UINT32 Count)
{
    struct emu_handle *eh = handle_acquire(Emulator);
    if (!eh)
        return E_INVALIDARG;
    struct ram_map m;
    HRESULT hr = ram_map_build(Ranges, Count, &m);
    if (hr == S_OK)
        handle_set_ram(eh, &m);
    handle_release(eh);
    return hr;
}

/* Build the per-call state from the exit context: the inputs, then one
 * block zeroed (emu.h); the register values are not cleared, the valid
 * bitmap says which slots hold data. */
static void emu_init(struct emu *e, struct emu_handle *eh, void *ctx,
                     const WHV_VP_EXIT_CONTEXT *vp)
{
    e->h = eh;
    e->ctx = ctx;
    e->dc = &eh->dc;
    e->ram = &eh->ram;
    e->ram_miss = &eh->ram_miss;
    e->fp = &eh->fp;
    e->vpc = *vp;
    e->vp = vp = &e->vpc;
    e->mode = emu_mode_of(vp);
    e->cpl = (uint8_t)vp->ExecutionState.Cpl;
    memset(&e->exit_gva_valid, 0,
           offsetof(struct emu, regs.v) - offsetof(struct emu, exit_gva_valid));
    e->regs.valid = VR_BIT(VR_RIP) | VR_BIT(VR_RFLAGS) | VR_SEG_BIT(SEG_CS);
    e->regs.v[VR_RIP].Reg128.Low64 = vp->Rip;
    e->regs.v[VR_RIP].Reg128.High64 = 0;
    e->regs.v[VR_RFLAGS].Reg128.Low64 = vp->Rflags;
    e->regs.v[VR_RFLAGS].Reg128.High64 = 0;
    e->regs.v[VR_SEG0 + SEG_CS].Segment = vp->Cs;
    if (vp->ExecutionState.InterruptShadow)
        e->want = VR_BIT(VR_INT_STATE);
}

/* Decode, fetching instruction bytes through the memory layer when the exit
 * has too few. */
static enum rc emu_decode(struct emu *e)
{
    struct dec_mode dm;
    emu_dec_mode(e->mode, &dm);
    for (;;) {
        e->in = dcache_find(e->dc, (uint8_t)e->mode, e->bytes, e->nbytes);
        if (e->in)
            return RC_OK;
        struct insn *in = dcache_slot(e->dc);
        enum dec_status s = dec_decode(&dm, e->bytes, e->nbytes, in);
        switch (s) {
        case DEC_OK:
            dcache_keep(e->dc, (uint8_t)e->mode, e->bytes);
            e->in = in;
            return RC_OK;
        case DEC_NEED_MORE:
            if (e->nbytes >= EMU_MAX_INSN_LEN)
                return fault_gp(e, 0);
            TRY(mem_fetch_insn(e));
            break;
        case DEC_TOO_LONG:
            return fault_gp(e, 0);
        case DEC_UD:
            e->why = why_invalid_encoding;
            return fault_ud(e);
        case DEC_UNSUPPORTED:
        default:
            return emu_unsupported(e, "instruction not emulated");
        }
    }
}

/* A single-step trap after the instruction, or after one iteration of a
 * string instruction that is not finished. */
static void queue_single_step(struct emu *e)
{
    WHV_REGISTER_VALUE v;
    v.Reg128.Low64 = 0;
    v.Reg128.High64 = 0;
    v.PendingDebugException.SingleStep = 1;
    vcpu_set(e, VR_PENDING_DBG, &v);
}

/* After the instruction completed: RIP past it, RF cleared, a single-step
 * trap queued, an interrupt shadow ended (SDM Vol. 3 6.8.3, 17.3.1.4). */
static void emu_complete(struct emu *e)
{
    uint64_t rip =
        emu_next_rip(e->mode, e->vp->Rip, e->len_override ? e->len_override : e->in->len);
    if (e->branch)
        rip = e->branch_rip; /* already sized and checked by the branch */
    vcpu_seed(e, VR_RIP, rip);
    e->regs.dirty |= VR_BIT(VR_RIP);
    uint64_t rf = vcpu_rflags(e);
    if ((rf & FL_RF) && !e->rf_loaded)
        vcpu_set_rflags(e, rf & ~(uint64_t)FL_RF);
    /* The trap follows an instruction that began with TF set (IRET may
     * change it). */
    if (e->vp->Rflags & FL_TF)
        queue_single_step(e);
    if (e->shadow) {
        /* A load of SS: interrupts and debug traps wait one instruction
         * (SDM Vol. 3 6.8.3); the row fetched the interrupt state. */
        WHV_REGISTER_VALUE v = e->regs.v[VR_INT_STATE];
        v.InterruptState.InterruptShadow = 1;
        vcpu_set(e, VR_INT_STATE, &v);
    } else if (e->vp->ExecutionState.InterruptShadow && (e->regs.valid & VR_BIT(VR_INT_STATE))) {
        WHV_REGISTER_VALUE v = e->regs.v[VR_INT_STATE];
        v.InterruptState.InterruptShadow = 0;
        vcpu_set(e, VR_INT_STATE, &v);
    }
}

/* A memory exit never comes from a port I/O instruction (those exit as
 * port accesses first). */
static enum rc mmio_check(struct emu *e)
{
    if (e->in->row->traits & T_IO) {
        e->why = why_port_on_mmio;
        return RC_INTERNAL;
    }
    return RC_OK;
}

static enum rc io_check(struct emu *e)
{
    const struct insn *in = e->in;
    if (!(in->row->traits & T_IO)) {
        e->why = why_not_port_io;
        return RC_INTERNAL;
    }
    if (!io_exit_matches(in, e->io_info, e->io_port)) {
        e->why = why_port_mismatch;
        return RC_INTERNAL;
    }
    return RC_OK;
}

/* Run one emulation and map its result to a status. The failure paths
 * leave what diag_record needs: e->diag for a refusal, e->in NULL when
 * the bytes were not decoded. */
static uint32_t emu_run(struct emu *e)
{
    enum rc rc;
    if (e->vp->ExecutionState.InterruptionPending) {
        e->why = "the exit happened while an event was being delivered";
        e->in = NULL;
        return ST_INTERRUPT;
    }
    rc = emu_decode(e);
    if (rc == RC_OK)
        rc = e->io ? io_check(e) : mmio_check(e);
    if (rc == RC_OK)
        rc = exec_insn(e);

    switch (rc) {
    case RC_OK:
        emu_complete(e);
        break;
    case RC_RETRY:
        /* Progress of completed iterations; RIP is written unchanged so the
         * VMM sees the instruction is to be re-executed. */
        e->regs.dirty |= VR_BIT(VR_RIP);
        if (vcpu_rflags(e) & FL_TF)
            queue_single_step(e);
        break;
    case RC_FAULT:
        e->regs.dirty &= e->keep_on_fault;
        e->regs.xdirty = 0;
        fault_inject(e);
        if (!e->why)
            e->why = "an architectural fault was injected";
        break;
    case RC_CALLBACK_FAILED:
        return e->status;
    case RC_UNSUPPORTED:
        e->diag = WHVEMU_DIAG_NOT_EMULATED;
        if (!e->why)
            e->why = "internal emulation failure";
        return ST_INTERNAL;
    case RC_INTERNAL:
    default:
        e->diag = WHVEMU_DIAG_INTERNAL;
        if (!e->why)
            e->why = "internal emulation failure";
        return ST_INTERNAL;
    }
    rc = vcpu_commit(e);
    if (rc != RC_OK)
        return e->status;
    return ST_SUCCESS;
}

/* The callback a failure status names; the xstate callback reports through
 * the get/set bits, and its failure sites say so in e->why. */
static uint8_t diag_callback(const struct emu *e)
{
    bool xstate = e->why && strncmp(e->why, "the xstate callback", 19) == 0;
    switch (e->status) {
    case 1u << 5: /* GpaIsNotAligned: the callback said S_OK */
        return WHVEMU_DIAG_CALLBACK_TRANSLATE_GVA_PAGE;
    case 1u << 2:
        return WHVEMU_DIAG_CALLBACK_IO_PORT;
    case 1u << 3:
        return WHVEMU_DIAG_CALLBACK_MEMORY;
    case 1u << 4:
        return WHVEMU_DIAG_CALLBACK_TRANSLATE_GVA_PAGE;
    case 1u << 6:
        return xstate ? WHVEMU_DIAG_CALLBACK_XSTATE : WHVEMU_DIAG_CALLBACK_GET_REGISTERS;
    case 1u << 7:
        return xstate ? WHVEMU_DIAG_CALLBACK_XSTATE : WHVEMU_DIAG_CALLBACK_SET_REGISTERS;
    default:
        return WHVEMU_DIAG_CALLBACK_NONE;
    }
}

/* The outcome of a call that did not simply complete. A successful status
 * means a fault was injected (fault_inject is the only writer of the
 * pending-interruption slot) or nothing to record. */
static uint8_t diag_reason(const struct emu *e, uint32_t st)
{
    if (st == ST_SUCCESS) {
        if (!(e->regs.valid & VR_BIT(VR_PENDING_INT)))
            return WHVEMU_DIAG_NONE;
        return e->why == why_invalid_encoding ? WHVEMU_DIAG_INVALID_ENCODING
                                              : WHVEMU_DIAG_FAULT_INJECTED;
    }
    if (st == ST_INTERRUPT)
        return WHVEMU_DIAG_INTERRUPTION_PENDING;
    if (st != ST_INTERNAL)
        return WHVEMU_DIAG_CALLBACK_FAILED;
    if (e->why == why_port_on_mmio || e->why == why_not_port_io || e->why == why_port_mismatch)
        return WHVEMU_DIAG_INCONSISTENT_EXIT;
    return e->diag;
}

/* The failure path: record what whvemu_get_last_diagnostics reports. Kept
 * out of line so that the successful path's code stays as it was. */
API_COLD static void diag_record(struct emu_handle *eh, const struct emu *e, uint32_t st)
{
    uint8_t reason = diag_reason(e, st);
    if (reason == WHVEMU_DIAG_NONE) {
        eh->last_failure = no_failure;
        return;
    }
    /* A fault injected is a success: whvemu_last_failure says "". */
    static const char no_message[] = "";
    eh->last_failure = (st == ST_SUCCESS || !e->why) ? no_message : e->why;
    struct emu_diag *d = &eh->diag;
    bool decoded = e->in != NULL;
    d->reason = reason;
    d->mode = (uint8_t)e->mode;
    d->callback = WHVEMU_DIAG_CALLBACK_NONE;
    d->cb_hr = S_OK;
    if (reason == WHVEMU_DIAG_CALLBACK_FAILED) {
        d->callback = diag_callback(e);
        d->cb_hr = e->status == 1u << 5 ? S_OK : e->cb_hr;
    }
    d->vector = 0;
    d->has_error_code = false;
    d->error_code = 0;
    d->cr2 = 0;
    if (reason == WHVEMU_DIAG_FAULT_INJECTED || reason == WHVEMU_DIAG_INVALID_ENCODING) {
        d->vector = e->fault.vector;
        d->has_error_code = e->fault.has_error_code && e->mode != MODE_REAL; /* as delivered */
        d->error_code = d->has_error_code ? e->fault.error_code : 0;
        d->cr2 = e->fault.vector == VEC_PF ? e->fault.cr2 : 0;
    }
    unsigned n = decoded && e->in->len <= e->nbytes ? e->in->len : e->nbytes;
    if (n > sizeof(d->bytes))
        n = sizeof(d->bytes);
    d->nbytes = (uint8_t)n;
    memset(d->bytes, 0, sizeof(d->bytes));
    memcpy(d->bytes, e->bytes, n);
    d->mnem = decoded ? e->in->row->mnem : "";
}

/* A plain IN or OUT exit without instruction bytes is complete in its
 * context: stand in the equivalent DX form and take the exit's length, so
 * nothing is fetched. */
static void io_synthesize(struct emu *e)
{
    const WHV_X64_IO_PORT_ACCESS_INFO ai = e->io_info;
    struct dec_mode dm;
    emu_dec_mode(e->mode, &dm);
    unsigned n = 0;
    if (ai.AccessSize != 1 && (ai.AccessSize == 2) != (dm.opsize == 2))
        e->bytes[n++] = 0x66;
    e->bytes[n++] = (uint8_t)((ai.IsWrite ? 0xEE : 0xEC) | (ai.AccessSize != 1));
    e->nbytes = (uint8_t)n;
    e->len_override = (uint8_t)e->vp->InstructionLength;
}

/* The checks both Try functions share; on S_OK the handle is held. */
static HRESULT try_enter(WHV_EMULATOR_HANDLE handle, const void *vp, const void *access,
                         WHV_EMULATOR_STATUS *status, struct emu_handle **eh)
{
    if (status)
        status->AsUINT32 = 0;
    if (!vp || !access || !status)
        return E_INVALIDARG;
    *eh = handle_acquire(handle);
    if (!*eh)
        return E_INVALIDARG; /* not a live handle, re-entered, or another thread is in it */
    return S_OK;
}

/* With a recorder on the handle (tr not NULL), the exit has been recorded
 * and e runs on the recorder's copy of the handle state; the result is
 * recorded here. */
static HRESULT try_finish(struct emu_handle *eh, struct emu *e, struct trace_run *tr,
                          WHV_EMULATOR_STATUS *status)
{
    uint32_t st = emu_run(e);
    if (tr)
        trace_end(tr, S_OK, st);
    if (st == ST_SUCCESS && !e->why)
        eh->last_failure = no_failure;
    else
        diag_record(eh, e, st);
    handle_release(eh);
    status->AsUINT32 = st;
    return S_OK;
}

/* A call refused after the handle was taken. */
static HRESULT try_refuse(struct emu_handle *eh, struct trace_run *tr)
{
    if (tr)
        trace_end(tr, E_INVALIDARG, 0);
    handle_release(eh);
    return E_INVALIDARG;
}

/* The context's 16-byte array is copied whole; only `count` bytes count. */
static void take_bytes(struct emu *e, const UINT8 bytes[16], UINT8 count)
{
    e->nbytes = count > EMU_MAX_INSN_LEN ? EMU_MAX_INSN_LEN : count;
    memcpy(e->bytes, bytes, 16);
}

/* A callback the shortcut made failed: recorded as the general path
 * records it. The instruction's bytes are the decode cache's key (the
 * caller's context is not read again after a callback). */
API_COLD static void fast_failed(struct emu_handle *eh, void *ctx, const struct fast_call *fc)
{
    struct emu e;
    WHV_VP_EXIT_CONTEXT none;
    memset(&none, 0, sizeof(none));
    emu_init(&e, eh, ctx, &none);
    e.mode = fc->mode;
    take_bytes(&e, (const uint8_t *)fc->d->key, fc->d->in.len);
    e.in = &fc->d->in;
    e.status = fc->status;
    e.cb_hr = fc->cb_hr;
    e.why = fc->why;
    diag_record(eh, &e, fc->status);
}

/* The end of a call the shortcut took (FAST_DONE or FAST_FAILED). */
static HRESULT fast_finish(struct emu_handle *eh, void *ctx, const struct fast_call *fc,
                           enum fast_result fr, WHV_EMULATOR_STATUS *status)
{
    if (fr == FAST_DONE) {
        eh->last_failure = no_failure;
        handle_release(eh);
        status->AsUINT32 = ST_SUCCESS;
        return S_OK;
    }
    fast_failed(eh, ctx, fc);
    handle_release(eh);
    status->AsUINT32 = fc->status;
    return S_OK;
}

/* After FAST_GENERAL: the shortcut's batch, as if vcpu_fetch had made it. */
static void fast_seed(struct emu *e, const struct fast_call *fc)
{
    const struct fast_plan *p = &fc->d->plan;
    if (!p->nregs)
        return; /* no get call was made */
    for (unsigned i = 0; i < p->nregs; i++) {
        e->regs.v[p->slot[i]] = fc->vals[i];
        e->regs.valid |= VR_BIT(p->slot[i]);
    }
    e->regs.fetched = true;
}

#if defined(__GNUC__)
#define API_NOINLINE __attribute__((noinline))
#define API_FLAT __attribute__((flatten))
#else
#define API_NOINLINE
#define API_FLAT
#endif

/* The general path of a memory exit; fc holds the shortcut's register
 * batch and its copies of the contexts when fr is FAST_GENERAL. */
API_NOINLINE static HRESULT mmio_general(struct emu_handle *eh, void *ctx,
                                         const WHV_VP_EXIT_CONTEXT *vp,
                                         const WHV_MEMORY_ACCESS_CONTEXT *mcp,
                                         const struct fast_call *fc, enum fast_result fr,
                                         WHV_EMULATOR_STATUS *status)
{
    /* The contexts are read once, here (or by the shortcut, which then made
     * the register batch): callbacks may change them. */
    const WHV_MEMORY_ACCESS_CONTEXT mc = fr == FAST_GENERAL ? fc->mc : *mcp;
    const WHV_VP_EXIT_CONTEXT vpc = fr == FAST_GENERAL ? fc->vp : *vp;
    /* Recording costs this one test when off. */
    struct trace_run tr_run;
    struct trace_run *tr = NULL;
    if (eh->trace)
        tr = trace_mmio_begin(&tr_run, eh, ctx, &vpc, &mc);
    if (mc.InstructionByteCount > 16)
        return try_refuse(eh, tr);
    struct emu e;
    emu_init(&e, tr ? &tr->h : eh, tr ? (void *)&tr->call : ctx, &vpc);
    if (fr == FAST_GENERAL)
        fast_seed(&e, fc);
    take_bytes(&e, mc.InstructionBytes, mc.InstructionByteCount);
    if (mc.AccessInfo.GvaValid) {
        e.exit_gva_valid = true;
        e.exit_gva = mc.Gva;
        e.exit_gpa = mc.Gpa;
        switch (mc.AccessInfo.AccessType) {
        case WHvMemoryAccessRead:
            e.exit_access = ACC_R;
            break;
        case WHvMemoryAccessWrite: /* a writable page is readable too */
            e.exit_access = ACC_R | ACC_W;
            break;
        case WHvMemoryAccessExecute:
            e.exit_access = ACC_X;
            break;
        default:
            e.exit_gva_valid = false;
            break;
        }
    }
    return try_finish(eh, &e, tr, status);
}

WHVEMU_API API_FLAT HRESULT WINAPI WHvEmulatorTryMmioEmulation(
    WHV_EMULATOR_HANDLE Emulator, VOID *Context, const WHV_VP_EXIT_CONTEXT *VpContext,
    const WHV_MEMORY_ACCESS_CONTEXT *MmioInstructionContext,
    WHV_EMULATOR_STATUS *EmulatorReturnStatus)
{
    struct emu_handle *eh;
    HRESULT hr = try_enter(Emulator, VpContext, MmioInstructionContext, EmulatorReturnStatus, &eh);
    if (hr != S_OK)
        return hr;
    struct fast_call fc;
    enum fast_result fr = FAST_NO;
    if (eh->fast) {
        fr = fast_mmio(eh, Context, VpContext, MmioInstructionContext, &fc);
        if (fr == FAST_DONE || fr == FAST_FAILED)
            return fast_finish(eh, Context, &fc, fr, EmulatorReturnStatus);
    }
    return mmio_general(eh, Context, VpContext, MmioInstructionContext, &fc, fr,
                        EmulatorReturnStatus);
}

/* The general path of a port exit. */
API_NOINLINE static HRESULT io_general(struct emu_handle *eh, void *ctx,
                                       const WHV_VP_EXIT_CONTEXT *vp,
                                       const WHV_X64_IO_PORT_ACCESS_CONTEXT *iocp,
                                       WHV_EMULATOR_STATUS *status)
{
    /* The contexts are read once, here: callbacks may change them. */
    const WHV_X64_IO_PORT_ACCESS_CONTEXT ioc = *iocp;
    const WHV_VP_EXIT_CONTEXT vpc = *vp;
    /* Recording costs this one test when off. */
    struct trace_run tr_run;
    struct trace_run *tr = NULL;
    if (eh->trace)
        tr = trace_io_begin(&tr_run, eh, ctx, &vpc, &ioc);
    if (ioc.InstructionByteCount > 16)
        return try_refuse(eh, tr);
    struct emu e;
    emu_init(&e, tr ? &tr->h : eh, tr ? (void *)&tr->call : ctx, &vpc);
    e.io = true;
    e.io_info = ioc.AccessInfo;
    e.io_port = ioc.PortNumber;
    take_bytes(&e, ioc.InstructionBytes, ioc.InstructionByteCount);
    /* The exit context carries these: never fetched. */
    vcpu_seed(&e, GPR_RAX, ioc.Rax);
    vcpu_seed(&e, GPR_RCX, ioc.Rcx);
    vcpu_seed(&e, GPR_RSI, ioc.Rsi);
    vcpu_seed(&e, GPR_RDI, ioc.Rdi);
    e.regs.v[VR_SEG0 + SEG_DS].Segment = ioc.Ds;
    e.regs.v[VR_SEG0 + SEG_ES].Segment = ioc.Es;
    e.regs.valid |= VR_SEG_BIT(SEG_DS) | VR_SEG_BIT(SEG_ES);
    if (e.nbytes == 0 && !ioc.AccessInfo.StringOp && e.vp->InstructionLength)
        io_synthesize(&e);
    return try_finish(eh, &e, tr, status);
}

WHVEMU_API API_FLAT HRESULT WINAPI WHvEmulatorTryIoEmulation(
    WHV_EMULATOR_HANDLE Emulator, VOID *Context, const WHV_VP_EXIT_CONTEXT *VpContext,
    const WHV_X64_IO_PORT_ACCESS_CONTEXT *IoInstructionContext,
    WHV_EMULATOR_STATUS *EmulatorReturnStatus)
{
    struct emu_handle *eh;
    HRESULT hr = try_enter(Emulator, VpContext, IoInstructionContext, EmulatorReturnStatus, &eh);
    if (hr != S_OK)
        return hr;
    if (eh->fast) {
        struct fast_call fc;
        enum fast_result fr = fast_io(eh, Context, VpContext, IoInstructionContext, &fc);
        if (fr != FAST_NO) /* it fetches nothing: done or failed */
            return fast_finish(eh, Context, &fc, fr, EmulatorReturnStatus);
    }
    return io_general(eh, Context, VpContext, IoInstructionContext, EmulatorReturnStatus);
}
