/*
 * whvemu.h - whvemu's own extensions to the WinHvEmulation API.
 * Everything here is prefixed whvemu_; nothing here is needed to use the
 * standard API.
 */
#ifndef WHVEMU_H
#define WHVEMU_H

#include "WinHvEmulation.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WHVEMU_VERSION_MAJOR 0
#define WHVEMU_VERSION_MINOR 1
#define WHVEMU_VERSION_PATCH 0

/* The library's version as "MAJOR.MINOR.PATCH"; a static string. */
WHVEMU_API const char *whvemu_version(void);

/* Why the most recent Try* call on this handle did not complete the
 * instruction, as a short static English sentence ("" after a success).
 * Returns NULL for a handle that is not live, or while a Try* call on it
 * is running. */
WHVEMU_API const char *whvemu_last_failure(WHV_EMULATOR_HANDLE Emulator);

/*
 * Diagnostics as data: what whvemu_last_failure says, as fields a VMM can
 * log, count or act on.
 */

/* Why the most recent Try* call on a handle did not complete the instruction. */
typedef enum WHVEMU_DIAG_REASON {
    WHVEMU_DIAG_NONE = 0,               /* completed (or a REP chunk done), or no call yet */
    WHVEMU_DIAG_NOT_EMULATED = 1,       /* instruction or form not emulated:
                                           InternalEmulationFailure, nothing changed */
    WHVEMU_DIAG_INVALID_ENCODING = 2,   /* the bytes are no valid instruction: #UD
                                           injected (EmulationSuccessful) */
    WHVEMU_DIAG_CALLBACK_FAILED = 3,    /* Callback failed (CallbackResult); the status
                                           names it */
    WHVEMU_DIAG_INCONSISTENT_EXIT = 4,  /* the exit context does not belong to the
                                           instruction: InternalEmulationFailure */
    WHVEMU_DIAG_INTERRUPTION_PENDING = 5, /* the exit came from event delivery:
                                           InterruptCausedIntercept */
    WHVEMU_DIAG_FAULT_INJECTED = 6,     /* an architectural fault was injected
                                           (EmulationSuccessful): FaultVector... */
    WHVEMU_DIAG_INTERNAL = 7,           /* anything else: InternalEmulationFailure */
} WHVEMU_DIAG_REASON;

/* The callback that failed (WHVEMU_DIAG_CALLBACK_FAILED). */
typedef enum WHVEMU_DIAG_CALLBACK {
    WHVEMU_DIAG_CALLBACK_NONE = 0,
    WHVEMU_DIAG_CALLBACK_IO_PORT = 1,
    WHVEMU_DIAG_CALLBACK_MEMORY = 2,
    WHVEMU_DIAG_CALLBACK_GET_REGISTERS = 3,
    WHVEMU_DIAG_CALLBACK_SET_REGISTERS = 4,
    WHVEMU_DIAG_CALLBACK_TRANSLATE_GVA_PAGE = 5,
    WHVEMU_DIAG_CALLBACK_XSTATE = 6, /* whvemu_set_xstate_callback's callback */
} WHVEMU_DIAG_CALLBACK;

/* The processor mode the exit context gives (CR0.PE, EFER.LMA, CS.L, CS.D,
 * RFLAGS.VM). */
typedef enum WHVEMU_CPU_MODE {
    WHVEMU_CPU_MODE_REAL = 0,
    WHVEMU_CPU_MODE_V86 = 1,
    WHVEMU_CPU_MODE_PROT16 = 2,   /* protected mode, CS.D = 0 */
    WHVEMU_CPU_MODE_PROT32 = 3,   /* protected mode, CS.D = 1 */
    WHVEMU_CPU_MODE_COMPAT16 = 4, /* IA-32e compatibility mode, CS.D = 0 */
    WHVEMU_CPU_MODE_COMPAT32 = 5, /* IA-32e compatibility mode, CS.D = 1 */
    WHVEMU_CPU_MODE_LONG64 = 6,   /* 64-bit mode */
} WHVEMU_CPU_MODE;

typedef struct WHVEMU_DIAGNOSTICS {
    UINT32 Size;            /* in: sizeof(WHVEMU_DIAGNOSTICS); later versions only append */
    UINT32 Reason;          /* WHVEMU_DIAG_REASON */
    UINT32 CpuMode;         /* WHVEMU_CPU_MODE of the exit */
    UINT32 Callback;        /* WHVEMU_DIAG_CALLBACK; NONE unless Reason is CALLBACK_FAILED */
    HRESULT CallbackResult; /* what the failed callback returned (S_FALSE too); for a
                               translate callback that returned S_OK without writing
                               its result, E_FAIL; with a GPA not page aligned, S_OK */
    UINT32 FaultErrorCode;  /* FAULT_INJECTED / INVALID_ENCODING: the error code
                               delivered, 0 if none */
    UINT64 FaultCr2;        /* for #PF: the CR2 written, else 0 */
    UINT8 FaultVector;      /* the vector injected (6 = #UD, 13 = #GP, 14 = #PF, ...) */
    UINT8 FaultHasErrorCode;
    UINT8 InstructionByteCount; /* 0..15: the instruction's bytes (all of it once decoded) */
    UINT8 Reserved;
    UINT8 InstructionBytes[16];
    const char *Mnemonic;   /* lower case, static; "" if the bytes were not decoded */
    const char *Message;    /* what whvemu_last_failure returns; static */
} WHVEMU_DIAGNOSTICS;

/*
 * Fills *Diag with why the most recent Try* call on this handle did not
 * complete the instruction. Set Diag->Size to sizeof(WHVEMU_DIAGNOSTICS)
 * first; the function fills that many bytes (this version's size) and no
 * more. After a completed emulation (or before any call) Reason is
 * WHVEMU_DIAG_NONE, Message and Mnemonic are "" and every other field is 0:
 * the details are recorded only when an emulation fails or injects a fault,
 * so the successful path stays as fast as without them. Instruction bytes
 * are those the emulator had (from the exit context or fetched).
 * Returns S_OK, or E_INVALIDARG for a NULL Diag, a Size smaller than this
 * version's struct, a handle that is not live, or one a Try* call holds
 * (the same rules as whvemu_last_failure).
 */
WHVEMU_API HRESULT WINAPI whvemu_get_last_diagnostics(WHV_EMULATOR_HANDLE Emulator,
                                                      WHVEMU_DIAGNOSTICS *Diag);

/*
 * Extended vector state (YMM upper halves, opmasks, ZMM).
 *
 * The standard register set has XMM0-15 and MXCSR but nothing above 128
 * bits, no XMM16-31 and no opmask registers. A VMM that wants VEX and EVEX
 * forms emulated hands its extended state over through this callback
 * (WHP: WHvGetVirtualProcessorXsaveState; KVM: KVM_GET_XSAVE2).
 *
 * Component is the XSAVE state-component number: 2 = YMM_Hi128 (256 bytes),
 * 5 = opmask k0-k7 (64 bytes), 6 = ZMM_Hi256 (512 bytes), 7 = Hi16_ZMM
 * (1024 bytes). Write FALSE: fill Buffer from the vCPU; TRUE: store Buffer
 * into it. Buffer holds the component exactly as the XSAVE standard format
 * lays it out; Size is the component's size as above.
 *
 * Per emulation the callback reads at most once per component, only the
 * components the instruction needs, and writes each modified component once,
 * after the instruction is known to succeed, together with the standard set
 * call. A failing read reports GetVirtualProcessorRegistersCallbackFailed,
 * a failing write SetVirtualProcessorRegistersCallbackFailed. Without the
 * callback an instruction that needs more than XMM0-15 is refused with
 * InternalEmulationFailure and nothing is changed (a VEX.128 form that
 * writes a register zeroes bits 255:128, so it needs the callback too; a
 * VEX.128 store to memory does not).
 */
typedef HRESULT(CALLBACK *WHVEMU_XSTATE_CALLBACK)(VOID *Context, UINT32 Component, BOOL Write,
                                                   VOID *Buffer, UINT32 Size);

/* Sets (or, with NULL, removes) the handle's extended-state callback.
 * E_INVALIDARG for a handle that is not live or that a call holds. */
WHVEMU_API HRESULT WINAPI whvemu_set_xstate_callback(WHV_EMULATOR_HANDLE Emulator,
                                                     WHVEMU_XSTATE_CALLBACK Callback);

/*
 * REP string instructions (MOVS STOS LODS CMPS SCAS INS OUTS) run at most
 * Iterations iterations per Try* call; then the call succeeds with the
 * progress in rCX/rSI/rDI and RIP still on the instruction, so the guest
 * executes it again and exits again. The default is 4096. 0 runs the
 * instruction to completion in one call, however large rCX is (a guest can
 * make that call long: up to 2^64 - 1 iterations in 64-bit mode); when the
 * call's page slots run low the loop starts a fresh set and translates the
 * pages it goes on with again. A single-stepping guest (RFLAGS.TF) still
 * gets one iteration per call.
 * E_INVALIDARG for a handle that is not live or that a call holds.
 */
WHVEMU_API HRESULT WINAPI whvemu_set_rep_limit(WHV_EMULATOR_HANDLE Emulator, UINT32 Iterations);

#ifdef __cplusplus
}
#endif

#endif /* WHVEMU_H */
