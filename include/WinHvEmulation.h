/*
 * WinHvEmulation.h - the Windows Hypervisor Platform instruction emulator API,
 * with the SDK's names and binary layout, as implemented by whvemu.
 *
 * A handle (one per virtual processor) is created with a table of five
 * callbacks. Each Try* call completes one intercepted instruction: it decodes
 * the instruction, performs its memory and port accesses through the
 * callbacks, and writes the resulting registers back in a single
 * SetVirtualProcessorRegisters call.
 *
 * Threading: a handle may be used from any thread, but not from two threads
 * at once; a second concurrent or re-entrant call on the same handle is
 * refused with E_INVALIDARG. Different handles are fully independent.
 */
#ifndef WHVEMU_WINHVEMULATION_H
#define WHVEMU_WINHVEMULATION_H

#include "WinHvPlatformDefs.h"

/* WHVEMU_API marks the exported functions: imported from the DLL on
 * Windows (define WHVEMU_STATIC to link the static library instead). */
#ifndef WHVEMU_API
#if defined(_WIN32) && !defined(WHVEMU_STATIC)
#ifdef WHVEMU_BUILDING
#define WHVEMU_API __declspec(dllexport)
#else
#define WHVEMU_API __declspec(dllimport)
#endif
#elif defined(WHVEMU_BUILDING) && defined(__GNUC__)
#define WHVEMU_API __attribute__((visibility("default")))
#else
#define WHVEMU_API
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Extended status of one emulation call; valid only when the call returned
 * S_OK. Exactly one bit is set. */
typedef union WHV_EMULATOR_STATUS {
    struct {
        UINT32 EmulationSuccessful : 1;
        UINT32 InternalEmulationFailure : 1;
        UINT32 IoPortCallbackFailed : 1;
        UINT32 MemoryCallbackFailed : 1;
        UINT32 TranslateGvaPageCallbackFailed : 1;
        UINT32 TranslateGvaPageCallbackGpaIsNotAligned : 1;
        UINT32 GetVirtualProcessorRegistersCallbackFailed : 1;
        UINT32 SetVirtualProcessorRegistersCallbackFailed : 1;
        UINT32 InterruptCausedIntercept : 1;
        UINT32 GuestCannotBeFaulted : 1;
        UINT32 Reserved : 22;
    };
    UINT32 AsUINT32;
} WHV_EMULATOR_STATUS;

/* One guest-physical access of 1..8 bytes that never crosses a 4 KiB page.
 * Direction 0 reads guest memory into Data, 1 writes Data to guest memory.
 * Data holds the bytes in memory order. */
typedef struct WHV_EMULATOR_MEMORY_ACCESS_INFO {
    WHV_GUEST_PHYSICAL_ADDRESS GpaAddress;
    UINT8 Direction;
    UINT8 AccessSize;
    UINT8 Data[8];
} WHV_EMULATOR_MEMORY_ACCESS_INFO;

/* One port access. Direction 0 is IN (the callback fills Data), 1 is OUT.
 * AccessSize is 1, 2 or 4 bytes; the value is in the low bytes of Data. */
typedef struct WHV_EMULATOR_IO_ACCESS_INFO {
    UINT8 Direction;
    UINT16 Port;
    UINT16 AccessSize;
    UINT32 Data;
} WHV_EMULATOR_IO_ACCESS_INFO;

typedef HRESULT(CALLBACK *WHV_EMULATOR_IO_PORT_CALLBACK)(
    _In_ VOID *Context,
    _Inout_ WHV_EMULATOR_IO_ACCESS_INFO *IoAccess);

typedef HRESULT(CALLBACK *WHV_EMULATOR_MEMORY_CALLBACK)(
    _In_ VOID *Context,
    _Inout_ WHV_EMULATOR_MEMORY_ACCESS_INFO *MemoryAccess);

typedef HRESULT(CALLBACK *WHV_EMULATOR_GET_VIRTUAL_PROCESSOR_REGISTERS_CALLBACK)(
    _In_ VOID *Context,
    _In_reads_(RegisterCount) const WHV_REGISTER_NAME *RegisterNames,
    _In_ UINT32 RegisterCount,
    _Out_writes_(RegisterCount) WHV_REGISTER_VALUE *RegisterValues);

typedef HRESULT(CALLBACK *WHV_EMULATOR_SET_VIRTUAL_PROCESSOR_REGISTERS_CALLBACK)(
    _In_ VOID *Context,
    _In_reads_(RegisterCount) const WHV_REGISTER_NAME *RegisterNames,
    _In_ UINT32 RegisterCount,
    _In_reads_(RegisterCount) const WHV_REGISTER_VALUE *RegisterValues);

/* Gva is the start of a 4 KiB page; the callback must return the GPA of the
 * page (4 KiB aligned) and the result code of the platform's translation. */
typedef HRESULT(CALLBACK *WHV_EMULATOR_TRANSLATE_GVA_PAGE_CALLBACK)(
    _In_ VOID *Context,
    _In_ WHV_GUEST_VIRTUAL_ADDRESS Gva,
    _In_ WHV_TRANSLATE_GVA_FLAGS TranslateFlags,
    _Out_ WHV_TRANSLATE_GVA_RESULT_CODE *TranslationResult,
    _Out_ WHV_GUEST_PHYSICAL_ADDRESS *Gpa);

/* Size must be sizeof(WHV_EMULATOR_CALLBACKS) (48); Reserved is ignored.
 * The table is copied by WHvEmulatorCreateEmulator. */
typedef struct WHV_EMULATOR_CALLBACKS {
    UINT32 Size;
    UINT32 Reserved;
    WHV_EMULATOR_IO_PORT_CALLBACK WHvEmulatorIoPortCallback;
    WHV_EMULATOR_MEMORY_CALLBACK WHvEmulatorMemoryCallback;
    WHV_EMULATOR_GET_VIRTUAL_PROCESSOR_REGISTERS_CALLBACK WHvEmulatorGetVirtualProcessorRegisters;
    WHV_EMULATOR_SET_VIRTUAL_PROCESSOR_REGISTERS_CALLBACK WHvEmulatorSetVirtualProcessorRegisters;
    WHV_EMULATOR_TRANSLATE_GVA_PAGE_CALLBACK WHvEmulatorTranslateGvaPage;
} WHV_EMULATOR_CALLBACKS;

typedef VOID *WHV_EMULATOR_HANDLE;

/* Creates an emulator instance.
 * Returns S_OK, E_INVALIDARG (NULL pointer, Size != 48, a NULL callback) or
 * E_OUTOFMEMORY. */
WHVEMU_API HRESULT WINAPI WHvEmulatorCreateEmulator(
    _In_ const WHV_EMULATOR_CALLBACKS *Callbacks,
    _Out_ WHV_EMULATOR_HANDLE *Emulator);

/* Destroys an instance. Returns S_OK, or E_INVALIDARG for a NULL or foreign
 * handle, or one that is in use. */
WHVEMU_API HRESULT WINAPI WHvEmulatorDestroyEmulator(
    _In_ WHV_EMULATOR_HANDLE Emulator);

/* Completes a port I/O exit. Context is passed unchanged to every callback.
 * Returns S_OK with the outcome in *EmulatorReturnStatus, or E_INVALIDARG
 * for bad arguments or concurrent use of the handle. */
WHVEMU_API HRESULT WINAPI WHvEmulatorTryIoEmulation(
    _In_ WHV_EMULATOR_HANDLE Emulator,
    _In_ VOID *Context,
    _In_ const WHV_VP_EXIT_CONTEXT *VpContext,
    _In_ const WHV_X64_IO_PORT_ACCESS_CONTEXT *IoInstructionContext,
    _Out_ WHV_EMULATOR_STATUS *EmulatorReturnStatus);

/* Completes a memory-access (MMIO) exit; see WHvEmulatorTryIoEmulation. */
WHVEMU_API HRESULT WINAPI WHvEmulatorTryMmioEmulation(
    _In_ WHV_EMULATOR_HANDLE Emulator,
    _In_ VOID *Context,
    _In_ const WHV_VP_EXIT_CONTEXT *VpContext,
    _In_ const WHV_MEMORY_ACCESS_CONTEXT *MmioInstructionContext,
    _Out_ WHV_EMULATOR_STATUS *EmulatorReturnStatus);

#ifdef __cplusplus
}
#endif

#endif /* WHVEMU_WINHVEMULATION_H */
