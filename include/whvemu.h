/*
 * whvemu.h - whvemu's own extensions to the WinHvEmulation API.
 * Everything here is prefixed whvemu_; nothing here is needed to use the
 * standard API.
 */
#ifndef WHVEMU_H
#define WHVEMU_H

#include <stdio.h>

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

/*
 * Direct guest RAM.
 *
 * Most VMMs map guest RAM into their own address space. Given that map, the
 * emulator can access RAM itself instead of calling the memory callback for
 * each access, walk the guest's page tables itself instead of calling the
 * translate callback, and make LOCKed read-modify-writes on RAM atomic
 * against the other vCPUs.
 *
 * Each range maps SizeInBytes bytes of guest-physical memory starting at
 * GuestAddress to the VMM's mapping at HostAddress. GuestAddress, SizeInBytes
 * and HostAddress are multiples of 4 KiB, SizeInBytes is not 0, and
 * GuestAddress + SizeInBytes and HostAddress + SizeInBytes do not pass the
 * end of their address spaces. Flags is WHVEMU_RAM_READ, optionally
 * | WHVEMU_RAM_WRITE; Reserved is 0.
 *
 * An access whose guest-physical span lies inside one range with the
 * permission it needs is done directly on host memory; any other access
 * goes to the memory callback as before. A range without WHVEMU_RAM_WRITE
 * (pages the VMM write-protects: dirty tracking, ROM, page-table shadowing)
 * is read directly, and writes to it keep reaching the memory callback.
 * LOCKed and implicitly locked read-modify-writes on a writable range are
 * one host atomic operation. With paging on, the emulator walks the guest's
 * page tables itself when every table of the walk lies in a readable range
 * and CR4.PKE is clear; it sets Accessed and Dirty bits atomically only in
 * writable ranges, and uses the translate callback for any walk it cannot
 * do this way.
 */
#define WHVEMU_RAM_READ 0x1u
#define WHVEMU_RAM_WRITE 0x2u

typedef struct WHVEMU_GUEST_RAM_RANGE {
    UINT64 GuestAddress; /* guest-physical, 4 KiB aligned */
    UINT64 SizeInBytes;  /* a multiple of 4 KiB, non-zero */
    VOID *HostAddress;   /* the VMM's mapping of GuestAddress; 4 KiB aligned */
    UINT32 Flags;        /* WHVEMU_RAM_READ, optionally | WHVEMU_RAM_WRITE */
    UINT32 Reserved;     /* 0 */
} WHVEMU_GUEST_RAM_RANGE;

/* Sets the handle's guest-RAM ranges: Count entries of Ranges, copied (the
 * caller's array may change or go away after the call). Count 0 removes the
 * list (Ranges is then ignored). Returns S_OK; E_INVALIDARG for a handle
 * that is not live or that a call holds, Ranges NULL with Count > 0, a range
 * that breaks the rules above, or two ranges that overlap; E_OUTOFMEMORY
 * when the copy cannot be allocated. On any error the previous list stays in
 * place. The memory the ranges name must stay mapped until the list is
 * replaced or removed, or the handle is destroyed. */
WHVEMU_API HRESULT WINAPI whvemu_set_guest_ram(WHV_EMULATOR_HANDLE Emulator,
                                               const WHVEMU_GUEST_RAM_RANGE *Ranges,
                                               UINT32 Count);

/*
 * Exit recording (docs/trace-format.md).
 *
 * With a trace writer set, every Try* call on the handle is recorded: the
 * exit handed over (which Try* function, the VpContext and the access
 * context in full), every callback the emulator makes with its arguments and
 * the answer it receives, and the call's HRESULT and status. `whvemu replay
 * FILE` runs a recording again and checks that the emulator behaves the same,
 * call for call; a VMM attaches one to a bug report.
 *
 * The recording is text: a header line "whvemu-trace 1" first (written when
 * the writer is set), then one record per line. Write receives it in order,
 * in pieces of one or more whole lines (a line longer than 8 KiB, which the
 * emulator does not produce today, would come in several pieces); the
 * pieces, concatenated, are the file. Text is not NUL-terminated; Length is
 * its size in bytes. Write is called on the thread of the Try* call, during
 * the call (from the handle's setter for the header), and must not call the
 * emulator on the same handle.
 *
 * A recording covers callback traffic: what the emulator asks the VMM and
 * what it is told.
 */
typedef void(CALLBACK *WHVEMU_TRACE_WRITE)(VOID *TraceContext, const char *Text, UINT32 Length);

/* Starts a recording on the handle (writing its header line through Write)
 * or, with Write NULL, stops it. Setting a writer again starts a new
 * recording. TraceContext is passed to Write unchanged.
 * E_INVALIDARG for a handle that is not live or that a call holds;
 * E_OUTOFMEMORY if the recorder's buffer cannot be allocated (the previous
 * setting stays). Thread-safety as for the other setters: not during a Try*
 * call on the same handle. */
WHVEMU_API HRESULT WINAPI whvemu_set_trace(WHV_EMULATOR_HANDLE Emulator, WHVEMU_TRACE_WRITE Write,
                                           VOID *TraceContext);

/* whvemu_set_trace with a writer that appends to File (fwrite, then fflush
 * after each piece, so a recording survives a crash of the VMM); NULL stops
 * the recording. The file stays the caller's: it must stay open while the
 * recording runs and is never closed by the library. On Windows the FILE
 * must belong to the same C runtime as the DLL; otherwise use
 * whvemu_set_trace with a writer of your own. */
WHVEMU_API HRESULT WINAPI whvemu_set_trace_file(WHV_EMULATOR_HANDLE Emulator, FILE *File);

#ifdef __cplusplus
}
#endif

#endif /* WHVEMU_H */
