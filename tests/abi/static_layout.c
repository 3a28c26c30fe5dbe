/*
 * static_layout.c - pins the binary layout of the WinHvEmulation types with
 * numbers written out by hand, so the layout is checked on any compiler,
 * also where mingw-w64 (and thus compare_probe.sh) is unavailable.
 *
 * Sizes, alignments, offsets and enumeration values are compile-time
 * assertions. Bitfield masks are checked at run time: each field is set to
 * all ones in an otherwise zero object and the raw bytes are compared.
 *
 * The run loop's exit record (WHV_RUN_VP_EXIT_CONTEXT and the contexts it
 * unions) is pinned too: a VMM passes its VpContext and MemoryAccess or
 * IoPortAccess members to the emulator.
 */
#include <WinHvEmulation.h>
#include <whvemu.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the mask checks below assume a little-endian target"
#endif

#define LAYOUT(T, size, align)                                                   \
    _Static_assert(sizeof(T) == (size), "sizeof(" #T ") != " #size);             \
    _Static_assert(_Alignof(T) == (align), "_Alignof(" #T ") != " #align)
#define AT(T, F, off) _Static_assert(offsetof(T, F) == (off), "offsetof(" #T ", " #F ") != " #off)
#define VALUE(E, v) _Static_assert((uint64_t)(E) == (uint64_t)(v), #E " != " #v)

/* ---- sizes and alignments ---- */
LAYOUT(WHV_EMULATOR_STATUS, 4, 4);
LAYOUT(WHV_EMULATOR_MEMORY_ACCESS_INFO, 24, 8);
LAYOUT(WHV_EMULATOR_IO_ACCESS_INFO, 12, 4);
LAYOUT(WHV_EMULATOR_CALLBACKS, 48, 8);
LAYOUT(WHV_EMULATOR_HANDLE, 8, 8);
LAYOUT(WHV_REGISTER_NAME, 4, 4);
LAYOUT(WHV_TRANSLATE_GVA_FLAGS, 4, 4);
LAYOUT(WHV_TRANSLATE_GVA_RESULT_CODE, 4, 4);
LAYOUT(WHV_TRANSLATE_GVA_RESULT, 8, 4);
LAYOUT(WHV_MEMORY_ACCESS_TYPE, 4, 4);
LAYOUT(WHV_UINT128, 16, 16);
LAYOUT(WHV_REGISTER_VALUE, 16, 16);
LAYOUT(WHV_X64_FP_REGISTER, 16, 16);
LAYOUT(WHV_X64_FP_CONTROL_STATUS_REGISTER, 16, 16);
LAYOUT(WHV_X64_XMM_CONTROL_STATUS_REGISTER, 16, 16);
LAYOUT(WHV_X64_SEGMENT_REGISTER, 16, 8);
LAYOUT(WHV_X64_TABLE_REGISTER, 16, 8);
LAYOUT(WHV_X64_INTERRUPT_STATE_REGISTER, 8, 8);
LAYOUT(WHV_X64_PENDING_INTERRUPTION_REGISTER, 8, 8);
LAYOUT(WHV_X64_DELIVERABILITY_NOTIFICATIONS_REGISTER, 8, 8);
LAYOUT(WHV_X64_PENDING_EXCEPTION_EVENT, 16, 16);
LAYOUT(WHV_X64_PENDING_EXT_INT_EVENT, 16, 16);
LAYOUT(WHV_INTERNAL_ACTIVITY_REGISTER, 8, 8);
LAYOUT(WHV_X64_PENDING_DEBUG_EXCEPTION, 8, 8);
LAYOUT(WHV_X64_VP_EXECUTION_STATE, 2, 2);
LAYOUT(WHV_VP_EXIT_CONTEXT, 40, 8);
LAYOUT(WHV_X64_VP_EXIT_CONTEXT, 40, 8);
LAYOUT(WHV_MEMORY_ACCESS_INFO, 4, 4);
LAYOUT(WHV_MEMORY_ACCESS_CONTEXT, 40, 8);
LAYOUT(WHV_X64_IO_PORT_ACCESS_INFO, 4, 4);
LAYOUT(WHV_X64_IO_PORT_ACCESS_CONTEXT, 96, 8);
LAYOUT(WHV_RUN_VP_EXIT_REASON, 4, 4);
LAYOUT(WHV_X64_MSR_ACCESS_INFO, 4, 4);
LAYOUT(WHV_X64_MSR_ACCESS_CONTEXT, 24, 8);
LAYOUT(WHV_X64_CPUID_ACCESS_CONTEXT, 64, 8);
LAYOUT(WHV_VP_EXCEPTION_INFO, 4, 4);
LAYOUT(WHV_VP_EXCEPTION_CONTEXT, 40, 8);
LAYOUT(WHV_X64_UNSUPPORTED_FEATURE_CONTEXT, 16, 8);
LAYOUT(WHV_RUN_VP_CANCELED_CONTEXT, 4, 4);
LAYOUT(WHV_X64_INTERRUPTION_DELIVERABLE_CONTEXT, 4, 4);
LAYOUT(WHV_X64_APIC_EOI_CONTEXT, 4, 4);
LAYOUT(WHV_X64_RDTSC_INFO, 8, 8);
LAYOUT(WHV_X64_RDTSC_CONTEXT, 40, 8);
LAYOUT(WHV_X64_APIC_SMI_CONTEXT, 8, 8);
LAYOUT(WHV_HYPERCALL_CONTEXT, 176, 16);
LAYOUT(WHV_X64_APIC_INIT_SIPI_CONTEXT, 8, 8);
LAYOUT(WHV_X64_APIC_WRITE_CONTEXT, 16, 8);
LAYOUT(WHV_SYNIC_SINT_DELIVERABLE_CONTEXT, 8, 4);
LAYOUT(WHV_RUN_VP_EXIT_CONTEXT, 224, 16);
LAYOUT(HRESULT, 4, 4);
LAYOUT(WHV_EMULATOR_IO_PORT_CALLBACK, 8, 8);
LAYOUT(WHV_EMULATOR_MEMORY_CALLBACK, 8, 8);
LAYOUT(WHV_EMULATOR_GET_VIRTUAL_PROCESSOR_REGISTERS_CALLBACK, 8, 8);
LAYOUT(WHV_EMULATOR_SET_VIRTUAL_PROCESSOR_REGISTERS_CALLBACK, 8, 8);
LAYOUT(WHV_EMULATOR_TRANSLATE_GVA_PAGE_CALLBACK, 8, 8);
LAYOUT(WHV_GUEST_PHYSICAL_ADDRESS, 8, 8);
LAYOUT(WHV_GUEST_VIRTUAL_ADDRESS, 8, 8);
LAYOUT(UINT8, 1, 1);
LAYOUT(UINT16, 2, 2);
LAYOUT(UINT32, 4, 4);
LAYOUT(UINT64, 8, 8);
_Static_assert((HRESULT)-1 < 0, "HRESULT must be signed");

/* The direct guest RAM extension (whvemu.h), on 64-bit hosts. */
#if UINTPTR_MAX > 0xFFFFFFFFu
LAYOUT(WHVEMU_GUEST_RAM_RANGE, 32, 8);
AT(WHVEMU_GUEST_RAM_RANGE, GuestAddress, 0);
AT(WHVEMU_GUEST_RAM_RANGE, SizeInBytes, 8);
AT(WHVEMU_GUEST_RAM_RANGE, HostAddress, 16);
AT(WHVEMU_GUEST_RAM_RANGE, Flags, 24);
AT(WHVEMU_GUEST_RAM_RANGE, Reserved, 28);
#endif
VALUE(WHVEMU_RAM_READ, 1);
VALUE(WHVEMU_RAM_WRITE, 2);

/* ---- offsets ---- */
AT(WHV_EMULATOR_MEMORY_ACCESS_INFO, GpaAddress, 0);
AT(WHV_EMULATOR_MEMORY_ACCESS_INFO, Direction, 8);
AT(WHV_EMULATOR_MEMORY_ACCESS_INFO, AccessSize, 9);
AT(WHV_EMULATOR_MEMORY_ACCESS_INFO, Data, 10);
_Static_assert(sizeof(((WHV_EMULATOR_MEMORY_ACCESS_INFO *)0)->Data) == 8, "Data[8]");

AT(WHV_EMULATOR_IO_ACCESS_INFO, Direction, 0);
AT(WHV_EMULATOR_IO_ACCESS_INFO, Port, 2);
AT(WHV_EMULATOR_IO_ACCESS_INFO, AccessSize, 4);
AT(WHV_EMULATOR_IO_ACCESS_INFO, Data, 8);
_Static_assert(sizeof(((WHV_EMULATOR_IO_ACCESS_INFO *)0)->Data) == 4, "a single UINT32 Data");

AT(WHV_EMULATOR_CALLBACKS, Size, 0);
AT(WHV_EMULATOR_CALLBACKS, Reserved, 4);
AT(WHV_EMULATOR_CALLBACKS, WHvEmulatorIoPortCallback, 8);
AT(WHV_EMULATOR_CALLBACKS, WHvEmulatorMemoryCallback, 16);
AT(WHV_EMULATOR_CALLBACKS, WHvEmulatorGetVirtualProcessorRegisters, 24);
AT(WHV_EMULATOR_CALLBACKS, WHvEmulatorSetVirtualProcessorRegisters, 32);
AT(WHV_EMULATOR_CALLBACKS, WHvEmulatorTranslateGvaPage, 40);

AT(WHV_VP_EXIT_CONTEXT, ExecutionState, 0);
AT(WHV_VP_EXIT_CONTEXT, Reserved, 3);
AT(WHV_VP_EXIT_CONTEXT, Reserved2, 4);
AT(WHV_VP_EXIT_CONTEXT, Cs, 8);
AT(WHV_VP_EXIT_CONTEXT, Rip, 24);
AT(WHV_VP_EXIT_CONTEXT, Rflags, 32);

AT(WHV_MEMORY_ACCESS_CONTEXT, InstructionByteCount, 0);
AT(WHV_MEMORY_ACCESS_CONTEXT, Reserved, 1);
AT(WHV_MEMORY_ACCESS_CONTEXT, InstructionBytes, 4);
AT(WHV_MEMORY_ACCESS_CONTEXT, AccessInfo, 20);
AT(WHV_MEMORY_ACCESS_CONTEXT, Gpa, 24);
AT(WHV_MEMORY_ACCESS_CONTEXT, Gva, 32);

AT(WHV_X64_IO_PORT_ACCESS_CONTEXT, InstructionByteCount, 0);
AT(WHV_X64_IO_PORT_ACCESS_CONTEXT, Reserved, 1);
AT(WHV_X64_IO_PORT_ACCESS_CONTEXT, InstructionBytes, 4);
AT(WHV_X64_IO_PORT_ACCESS_CONTEXT, AccessInfo, 20);
AT(WHV_X64_IO_PORT_ACCESS_CONTEXT, PortNumber, 24);
AT(WHV_X64_IO_PORT_ACCESS_CONTEXT, Reserved2, 26);
AT(WHV_X64_IO_PORT_ACCESS_CONTEXT, Rax, 32);
AT(WHV_X64_IO_PORT_ACCESS_CONTEXT, Rcx, 40);
AT(WHV_X64_IO_PORT_ACCESS_CONTEXT, Rsi, 48);
AT(WHV_X64_IO_PORT_ACCESS_CONTEXT, Rdi, 56);
AT(WHV_X64_IO_PORT_ACCESS_CONTEXT, Ds, 64);
AT(WHV_X64_IO_PORT_ACCESS_CONTEXT, Es, 80);

AT(WHV_RUN_VP_EXIT_CONTEXT, ExitReason, 0);
AT(WHV_RUN_VP_EXIT_CONTEXT, Reserved, 4);
AT(WHV_RUN_VP_EXIT_CONTEXT, VpContext, 8);
AT(WHV_RUN_VP_EXIT_CONTEXT, MemoryAccess, 48);
AT(WHV_RUN_VP_EXIT_CONTEXT, IoPortAccess, 48);
AT(WHV_RUN_VP_EXIT_CONTEXT, MsrAccess, 48);
AT(WHV_RUN_VP_EXIT_CONTEXT, CpuidAccess, 48);
AT(WHV_RUN_VP_EXIT_CONTEXT, VpException, 48);
AT(WHV_RUN_VP_EXIT_CONTEXT, InterruptWindow, 48);
AT(WHV_RUN_VP_EXIT_CONTEXT, UnsupportedFeature, 48);
AT(WHV_RUN_VP_EXIT_CONTEXT, CancelReason, 48);
AT(WHV_RUN_VP_EXIT_CONTEXT, ApicEoi, 48);
AT(WHV_RUN_VP_EXIT_CONTEXT, ReadTsc, 48);
AT(WHV_RUN_VP_EXIT_CONTEXT, ApicSmi, 48);
AT(WHV_RUN_VP_EXIT_CONTEXT, Hypercall, 48);
AT(WHV_RUN_VP_EXIT_CONTEXT, ApicInitSipi, 48);
AT(WHV_RUN_VP_EXIT_CONTEXT, ApicWrite, 48);
AT(WHV_RUN_VP_EXIT_CONTEXT, SynicSintDeliverable, 48);

AT(WHV_X64_MSR_ACCESS_CONTEXT, AccessInfo, 0);
AT(WHV_X64_MSR_ACCESS_CONTEXT, MsrNumber, 4);
AT(WHV_X64_MSR_ACCESS_CONTEXT, Rax, 8);
AT(WHV_X64_MSR_ACCESS_CONTEXT, Rdx, 16);

AT(WHV_X64_CPUID_ACCESS_CONTEXT, Rax, 0);
AT(WHV_X64_CPUID_ACCESS_CONTEXT, Rcx, 8);
AT(WHV_X64_CPUID_ACCESS_CONTEXT, Rdx, 16);
AT(WHV_X64_CPUID_ACCESS_CONTEXT, Rbx, 24);
AT(WHV_X64_CPUID_ACCESS_CONTEXT, DefaultResultRax, 32);
AT(WHV_X64_CPUID_ACCESS_CONTEXT, DefaultResultRcx, 40);
AT(WHV_X64_CPUID_ACCESS_CONTEXT, DefaultResultRdx, 48);
AT(WHV_X64_CPUID_ACCESS_CONTEXT, DefaultResultRbx, 56);

AT(WHV_VP_EXCEPTION_CONTEXT, InstructionByteCount, 0);
AT(WHV_VP_EXCEPTION_CONTEXT, Reserved, 1);
AT(WHV_VP_EXCEPTION_CONTEXT, InstructionBytes, 4);
AT(WHV_VP_EXCEPTION_CONTEXT, ExceptionInfo, 20);
AT(WHV_VP_EXCEPTION_CONTEXT, ExceptionType, 24);
AT(WHV_VP_EXCEPTION_CONTEXT, Reserved2, 25);
AT(WHV_VP_EXCEPTION_CONTEXT, ErrorCode, 28);
AT(WHV_VP_EXCEPTION_CONTEXT, ExceptionParameter, 32);

AT(WHV_X64_UNSUPPORTED_FEATURE_CONTEXT, FeatureCode, 0);
AT(WHV_X64_UNSUPPORTED_FEATURE_CONTEXT, Reserved, 4);
AT(WHV_X64_UNSUPPORTED_FEATURE_CONTEXT, FeatureParameter, 8);

AT(WHV_X64_RDTSC_CONTEXT, TscAux, 0);
AT(WHV_X64_RDTSC_CONTEXT, VirtualOffset, 8);
AT(WHV_X64_RDTSC_CONTEXT, Tsc, 16);
AT(WHV_X64_RDTSC_CONTEXT, ReferenceTime, 24);
AT(WHV_X64_RDTSC_CONTEXT, RdtscInfo, 32);

AT(WHV_HYPERCALL_CONTEXT, Rax, 0);
AT(WHV_HYPERCALL_CONTEXT, Rbx, 8);
AT(WHV_HYPERCALL_CONTEXT, Rcx, 16);
AT(WHV_HYPERCALL_CONTEXT, Rdx, 24);
AT(WHV_HYPERCALL_CONTEXT, R8, 32);
AT(WHV_HYPERCALL_CONTEXT, Rsi, 40);
AT(WHV_HYPERCALL_CONTEXT, Rdi, 48);
AT(WHV_HYPERCALL_CONTEXT, Reserved0, 56);
AT(WHV_HYPERCALL_CONTEXT, XmmRegisters, 64);
AT(WHV_HYPERCALL_CONTEXT, Reserved1, 160);

AT(WHV_X64_APIC_WRITE_CONTEXT, Type, 0);
AT(WHV_X64_APIC_WRITE_CONTEXT, Reserved, 4);
AT(WHV_X64_APIC_WRITE_CONTEXT, WriteValue, 8);

AT(WHV_SYNIC_SINT_DELIVERABLE_CONTEXT, DeliverableSints, 0);
AT(WHV_SYNIC_SINT_DELIVERABLE_CONTEXT, Reserved1, 2);
AT(WHV_SYNIC_SINT_DELIVERABLE_CONTEXT, Reserved2, 4);

AT(WHV_X64_SEGMENT_REGISTER, Base, 0);
AT(WHV_X64_SEGMENT_REGISTER, Limit, 8);
AT(WHV_X64_SEGMENT_REGISTER, Selector, 12);
AT(WHV_X64_SEGMENT_REGISTER, Attributes, 14);

AT(WHV_X64_TABLE_REGISTER, Pad, 0);
AT(WHV_X64_TABLE_REGISTER, Limit, 6);
AT(WHV_X64_TABLE_REGISTER, Base, 8);

AT(WHV_X64_FP_CONTROL_STATUS_REGISTER, FpControl, 0);
AT(WHV_X64_FP_CONTROL_STATUS_REGISTER, FpStatus, 2);
AT(WHV_X64_FP_CONTROL_STATUS_REGISTER, FpTag, 4);
AT(WHV_X64_FP_CONTROL_STATUS_REGISTER, Reserved, 5);
AT(WHV_X64_FP_CONTROL_STATUS_REGISTER, LastFpOp, 6);
AT(WHV_X64_FP_CONTROL_STATUS_REGISTER, LastFpRip, 8);
AT(WHV_X64_FP_CONTROL_STATUS_REGISTER, LastFpEip, 8);
AT(WHV_X64_FP_CONTROL_STATUS_REGISTER, LastFpCs, 12);
AT(WHV_X64_FP_CONTROL_STATUS_REGISTER, Reserved2, 14);

AT(WHV_X64_XMM_CONTROL_STATUS_REGISTER, LastFpRdp, 0);
AT(WHV_X64_XMM_CONTROL_STATUS_REGISTER, LastFpDp, 0);
AT(WHV_X64_XMM_CONTROL_STATUS_REGISTER, LastFpDs, 4);
AT(WHV_X64_XMM_CONTROL_STATUS_REGISTER, Reserved, 6);
AT(WHV_X64_XMM_CONTROL_STATUS_REGISTER, XmmStatusControl, 8);
AT(WHV_X64_XMM_CONTROL_STATUS_REGISTER, XmmStatusControlMask, 12);

AT(WHV_UINT128, Low64, 0);
AT(WHV_UINT128, High64, 8);
AT(WHV_UINT128, Dword, 0);
AT(WHV_X64_FP_REGISTER, Mantissa, 0);
AT(WHV_X64_PENDING_INTERRUPTION_REGISTER, ErrorCode, 4);
AT(WHV_X64_PENDING_EXCEPTION_EVENT, ErrorCode, 4);
AT(WHV_X64_PENDING_EXCEPTION_EVENT, ExceptionParameter, 8);
AT(WHV_X64_PENDING_EXT_INT_EVENT, Reserved2, 8);
AT(WHV_TRANSLATE_GVA_RESULT, ResultCode, 0);
AT(WHV_TRANSLATE_GVA_RESULT, Reserved, 4);

/* ---- enumeration values the emulator depends on ---- */
VALUE(WHvX64RegisterRax, 0x00);
VALUE(WHvX64RegisterRsp, 0x04);
VALUE(WHvX64RegisterR15, 0x0F);
VALUE(WHvX64RegisterRip, 0x10);
VALUE(WHvX64RegisterRflags, 0x11);
VALUE(WHvX64RegisterEs, 0x12);
VALUE(WHvX64RegisterGs, 0x17);
VALUE(WHvX64RegisterGdtr, 0x1B);
VALUE(WHvX64RegisterCr0, 0x1C);
VALUE(WHvX64RegisterCr8, 0x20);
VALUE(WHvX64RegisterXCr0, 0x27);
VALUE(WHvX64RegisterXmm0, 0x1000);
VALUE(WHvX64RegisterXmm15, 0x100F);
VALUE(WHvX64RegisterFpMmx0, 0x1010);
VALUE(WHvX64RegisterFpControlStatus, 0x1018);
VALUE(WHvX64RegisterXmmControlStatus, 0x1019);
VALUE(WHvX64RegisterTsc, 0x2000);
VALUE(WHvX64RegisterEfer, 0x2001);
VALUE(WHvX64RegisterSfmask, 0x200B);
VALUE(WHvX64RegisterTscAux, 0x207B);
VALUE(WHvRegisterPendingInterruption, 0x80000000u);
VALUE(WHvRegisterInterruptState, 0x80000001u);
VALUE(WHvRegisterPendingEvent, 0x80000002u);
VALUE(WHvX64RegisterDeliverabilityNotifications, 0x80000004u);
VALUE(WHvRegisterDeliverabilityNotifications, 0x80000004u);
VALUE(WHvRegisterInternalActivityState, 0x80000005u);
VALUE(WHvX64RegisterPendingDebugException, 0x80000006u);

VALUE(WHvRunVpExitReasonNone, 0x0);
VALUE(WHvRunVpExitReasonMemoryAccess, 0x1);
VALUE(WHvRunVpExitReasonX64IoPortAccess, 0x2);
VALUE(WHvRunVpExitReasonUnrecoverableException, 0x4);
VALUE(WHvRunVpExitReasonInvalidVpRegisterValue, 0x5);
VALUE(WHvRunVpExitReasonUnsupportedFeature, 0x6);
VALUE(WHvRunVpExitReasonX64InterruptWindow, 0x7);
VALUE(WHvRunVpExitReasonX64Halt, 0x8);
VALUE(WHvRunVpExitReasonX64ApicEoi, 0x9);
VALUE(WHvRunVpExitReasonSynicSintDeliverable, 0xA);
VALUE(WHvRunVpExitReasonX64MsrAccess, 0x1000);
VALUE(WHvRunVpExitReasonX64Cpuid, 0x1001);
VALUE(WHvRunVpExitReasonException, 0x1002);
VALUE(WHvRunVpExitReasonX64Rdtsc, 0x1003);
VALUE(WHvRunVpExitReasonX64ApicSmiTrap, 0x1004);
VALUE(WHvRunVpExitReasonHypercall, 0x1005);
VALUE(WHvRunVpExitReasonX64ApicInitSipiTrap, 0x1006);
VALUE(WHvRunVpExitReasonX64ApicWriteTrap, 0x1007);
VALUE(WHvRunVpExitReasonCanceled, 0x2001);
VALUE(WHvUnsupportedFeatureIntercept, 1);
VALUE(WHvUnsupportedFeatureTaskSwitchTss, 2);
VALUE(WhvRunVpCancelReasonUser, 0);
VALUE(WHvX64ApicWriteTypeLdr, 0xD0);
VALUE(WHvX64ApicWriteTypeDfr, 0xE0);
VALUE(WHvX64ApicWriteTypeSvr, 0xF0);
VALUE(WHvX64ApicWriteTypeLint0, 0x350);
VALUE(WHvX64ApicWriteTypeLint1, 0x360);
VALUE(WHV_HYPERCALL_CONTEXT_MAX_XMM_REGISTERS, 6);

VALUE(WHvMemoryAccessRead, 0);
VALUE(WHvMemoryAccessWrite, 1);
VALUE(WHvMemoryAccessExecute, 2);

VALUE(WHvTranslateGvaFlagNone, 0x000);
VALUE(WHvTranslateGvaFlagValidateRead, 0x001);
VALUE(WHvTranslateGvaFlagValidateWrite, 0x002);
VALUE(WHvTranslateGvaFlagValidateExecute, 0x004);
VALUE(WHvTranslateGvaFlagPrivilegeExempt, 0x008);
VALUE(WHvTranslateGvaFlagSetPageTableBits, 0x010);
VALUE(WHvTranslateGvaFlagEnforceSmap, 0x100);
VALUE(WHvTranslateGvaFlagOverrideSmap, 0x200);

VALUE(WHvTranslateGvaResultSuccess, 0);
VALUE(WHvTranslateGvaResultPageNotPresent, 1);
VALUE(WHvTranslateGvaResultPrivilegeViolation, 2);
VALUE(WHvTranslateGvaResultInvalidPageTableFlags, 3);
VALUE(WHvTranslateGvaResultGpaUnmapped, 4);
VALUE(WHvTranslateGvaResultGpaNoReadAccess, 5);
VALUE(WHvTranslateGvaResultGpaNoWriteAccess, 6);
VALUE(WHvTranslateGvaResultGpaIllegalOverlayAccess, 7);
VALUE(WHvTranslateGvaResultIntercept, 8);

VALUE(WHvX64PendingInterrupt, 0);
VALUE(WHvX64PendingNmi, 2);
VALUE(WHvX64PendingException, 3);
VALUE(WHvX64PendingEventException, 0);
VALUE(WHvX64PendingEventExtInt, 5);
VALUE(WHvX64ExceptionTypeGeneralProtectionFault, 0x0D);
VALUE(WHvX64ExceptionTypePageFault, 0x0E);

VALUE((UINT32)S_OK, 0x00000000u);
VALUE((UINT32)E_FAIL, 0x80004005u);
VALUE((UINT32)E_INVALIDARG, 0x80070057u);
VALUE((UINT32)E_OUTOFMEMORY, 0x8007000Eu);

/* ---- bitfield masks (run time) ---- */
static int failures;
static int checks;

/* The object's bytes must be zero except for the little-endian value `want`
 * occupying `width` bytes at offset `off`. */
static void check_mask(const char *name, const void *obj, size_t size, size_t off, size_t width,
                       uint64_t want)
{
    const unsigned char *p = obj;
    int ok = off + width <= size;
    for (size_t i = 0; ok && i < size; i++) {
        unsigned char expect = 0;
        if (i >= off && i < off + width)
            expect = (unsigned char)(want >> (8 * (i - off)));
        if (p[i] != expect)
            ok = 0;
    }
    checks++;
    if (!ok) {
        failures++;
        printf("FAIL %s: expected 0x%llx in bytes %zu..%zu, got", name, (unsigned long long)want,
               off, off + width - 1);
        for (size_t i = 0; i < size; i++)
            printf(" %02x", p[i]);
        printf("\n");
    }
}

/* Set field F of a zero T to all ones and compare the raw bytes. */
#define MASK(T, F, off, width, want)                                             \
    do {                                                                         \
        T v_;                                                                    \
        memset(&v_, 0, sizeof v_);                                               \
        v_.F = ~v_.F;                                                            \
        check_mask(#T "." #F, &v_, sizeof v_, (off), (width), (want));          \
    } while (0)

static void check_masks(void)
{
    MASK(WHV_EMULATOR_STATUS, EmulationSuccessful, 0, 4, 0x001);
    MASK(WHV_EMULATOR_STATUS, InternalEmulationFailure, 0, 4, 0x002);
    MASK(WHV_EMULATOR_STATUS, IoPortCallbackFailed, 0, 4, 0x004);
    MASK(WHV_EMULATOR_STATUS, MemoryCallbackFailed, 0, 4, 0x008);
    MASK(WHV_EMULATOR_STATUS, TranslateGvaPageCallbackFailed, 0, 4, 0x010);
    MASK(WHV_EMULATOR_STATUS, TranslateGvaPageCallbackGpaIsNotAligned, 0, 4, 0x020);
    MASK(WHV_EMULATOR_STATUS, GetVirtualProcessorRegistersCallbackFailed, 0, 4, 0x040);
    MASK(WHV_EMULATOR_STATUS, SetVirtualProcessorRegistersCallbackFailed, 0, 4, 0x080);
    MASK(WHV_EMULATOR_STATUS, InterruptCausedIntercept, 0, 4, 0x100);
    MASK(WHV_EMULATOR_STATUS, GuestCannotBeFaulted, 0, 4, 0x200);
    MASK(WHV_EMULATOR_STATUS, Reserved, 0, 4, 0xFFFFFC00u);
    MASK(WHV_EMULATOR_STATUS, AsUINT32, 0, 4, 0xFFFFFFFFu);

    MASK(WHV_X64_VP_EXECUTION_STATE, Cpl, 0, 2, 0x0003);
    MASK(WHV_X64_VP_EXECUTION_STATE, Cr0Pe, 0, 2, 0x0004);
    MASK(WHV_X64_VP_EXECUTION_STATE, Cr0Am, 0, 2, 0x0008);
    MASK(WHV_X64_VP_EXECUTION_STATE, EferLma, 0, 2, 0x0010);
    MASK(WHV_X64_VP_EXECUTION_STATE, DebugActive, 0, 2, 0x0020);
    MASK(WHV_X64_VP_EXECUTION_STATE, InterruptionPending, 0, 2, 0x0040);
    MASK(WHV_X64_VP_EXECUTION_STATE, Reserved0, 0, 2, 0x0F80);
    MASK(WHV_X64_VP_EXECUTION_STATE, InterruptShadow, 0, 2, 0x1000);
    MASK(WHV_X64_VP_EXECUTION_STATE, Reserved1, 0, 2, 0xE000);

    MASK(WHV_VP_EXIT_CONTEXT, InstructionLength, 2, 1, 0x0F);
    MASK(WHV_VP_EXIT_CONTEXT, Cr8, 2, 1, 0xF0);

    MASK(WHV_MEMORY_ACCESS_INFO, AccessType, 0, 4, 0x3);
    MASK(WHV_MEMORY_ACCESS_INFO, GpaUnmapped, 0, 4, 0x4);
    MASK(WHV_MEMORY_ACCESS_INFO, GvaValid, 0, 4, 0x8);
    MASK(WHV_MEMORY_ACCESS_INFO, Reserved, 0, 4, 0xFFFFFFF0u);

    MASK(WHV_X64_IO_PORT_ACCESS_INFO, IsWrite, 0, 4, 0x01);
    MASK(WHV_X64_IO_PORT_ACCESS_INFO, AccessSize, 0, 4, 0x0E);
    MASK(WHV_X64_IO_PORT_ACCESS_INFO, StringOp, 0, 4, 0x10);
    MASK(WHV_X64_IO_PORT_ACCESS_INFO, RepPrefix, 0, 4, 0x20);
    MASK(WHV_X64_IO_PORT_ACCESS_INFO, Reserved, 0, 4, 0xFFFFFFC0u);

    MASK(WHV_X64_SEGMENT_REGISTER, SegmentType, 14, 2, 0x000F);
    MASK(WHV_X64_SEGMENT_REGISTER, NonSystemSegment, 14, 2, 0x0010);
    MASK(WHV_X64_SEGMENT_REGISTER, DescriptorPrivilegeLevel, 14, 2, 0x0060);
    MASK(WHV_X64_SEGMENT_REGISTER, Present, 14, 2, 0x0080);
    MASK(WHV_X64_SEGMENT_REGISTER, Reserved, 14, 2, 0x0F00);
    MASK(WHV_X64_SEGMENT_REGISTER, Available, 14, 2, 0x1000);
    MASK(WHV_X64_SEGMENT_REGISTER, Long, 14, 2, 0x2000);
    MASK(WHV_X64_SEGMENT_REGISTER, Default, 14, 2, 0x4000);
    MASK(WHV_X64_SEGMENT_REGISTER, Granularity, 14, 2, 0x8000);

    MASK(WHV_X64_PENDING_INTERRUPTION_REGISTER, InterruptionPending, 0, 8, 0x1);
    MASK(WHV_X64_PENDING_INTERRUPTION_REGISTER, InterruptionType, 0, 8, 0xE);
    MASK(WHV_X64_PENDING_INTERRUPTION_REGISTER, DeliverErrorCode, 0, 8, 0x10);
    MASK(WHV_X64_PENDING_INTERRUPTION_REGISTER, InstructionLength, 0, 8, 0x1E0);
    MASK(WHV_X64_PENDING_INTERRUPTION_REGISTER, NestedEvent, 0, 8, 0x200);
    MASK(WHV_X64_PENDING_INTERRUPTION_REGISTER, Reserved, 0, 8, 0xFC00);
    MASK(WHV_X64_PENDING_INTERRUPTION_REGISTER, InterruptionVector, 0, 8, 0xFFFF0000u);
    MASK(WHV_X64_PENDING_INTERRUPTION_REGISTER, ErrorCode, 0, 8, 0xFFFFFFFF00000000u);

    MASK(WHV_X64_PENDING_EXCEPTION_EVENT, EventPending, 0, 8, 0x1);
    MASK(WHV_X64_PENDING_EXCEPTION_EVENT, EventType, 0, 8, 0xE);
    MASK(WHV_X64_PENDING_EXCEPTION_EVENT, Reserved0, 0, 8, 0xF0);
    MASK(WHV_X64_PENDING_EXCEPTION_EVENT, DeliverErrorCode, 0, 8, 0x100);
    MASK(WHV_X64_PENDING_EXCEPTION_EVENT, Reserved1, 0, 8, 0xFE00);
    MASK(WHV_X64_PENDING_EXCEPTION_EVENT, Vector, 0, 8, 0xFFFF0000u);
    MASK(WHV_X64_PENDING_EXCEPTION_EVENT, ErrorCode, 0, 8, 0xFFFFFFFF00000000u);
    MASK(WHV_X64_PENDING_EXCEPTION_EVENT, ExceptionParameter, 8, 8, UINT64_MAX);

    MASK(WHV_X64_PENDING_EXT_INT_EVENT, EventPending, 0, 8, 0x1);
    MASK(WHV_X64_PENDING_EXT_INT_EVENT, EventType, 0, 8, 0xE);
    MASK(WHV_X64_PENDING_EXT_INT_EVENT, Reserved0, 0, 8, 0xF0);
    MASK(WHV_X64_PENDING_EXT_INT_EVENT, Vector, 0, 8, 0xFF00);
    MASK(WHV_X64_PENDING_EXT_INT_EVENT, Reserved1, 0, 8, 0xFFFFFFFFFFFF0000u);
    MASK(WHV_X64_PENDING_EXT_INT_EVENT, Reserved2, 8, 8, UINT64_MAX);

    MASK(WHV_X64_FP_REGISTER, Mantissa, 0, 8, UINT64_MAX);
    MASK(WHV_X64_FP_REGISTER, BiasedExponent, 8, 8, 0x7FFF);
    MASK(WHV_X64_FP_REGISTER, Sign, 8, 8, 0x8000);
    MASK(WHV_X64_FP_REGISTER, Reserved, 8, 8, 0xFFFFFFFFFFFF0000u);

    MASK(WHV_X64_INTERRUPT_STATE_REGISTER, InterruptShadow, 0, 8, 0x1);
    MASK(WHV_X64_INTERRUPT_STATE_REGISTER, NmiMasked, 0, 8, 0x2);
    MASK(WHV_X64_INTERRUPT_STATE_REGISTER, Reserved, 0, 8, 0xFFFFFFFFFFFFFFFCu);

    MASK(WHV_X64_DELIVERABILITY_NOTIFICATIONS_REGISTER, NmiNotification, 0, 8, 0x1);
    MASK(WHV_X64_DELIVERABILITY_NOTIFICATIONS_REGISTER, InterruptNotification, 0, 8, 0x2);
    MASK(WHV_X64_DELIVERABILITY_NOTIFICATIONS_REGISTER, InterruptPriority, 0, 8, 0x3C);

    MASK(WHV_INTERNAL_ACTIVITY_REGISTER, StartupSuspend, 0, 8, 0x1);
    MASK(WHV_INTERNAL_ACTIVITY_REGISTER, HaltSuspend, 0, 8, 0x2);
    MASK(WHV_INTERNAL_ACTIVITY_REGISTER, IdleSuspend, 0, 8, 0x4);

    MASK(WHV_X64_PENDING_DEBUG_EXCEPTION, Breakpoint0, 0, 8, 0x01);
    MASK(WHV_X64_PENDING_DEBUG_EXCEPTION, Breakpoint1, 0, 8, 0x02);
    MASK(WHV_X64_PENDING_DEBUG_EXCEPTION, Breakpoint2, 0, 8, 0x04);
    MASK(WHV_X64_PENDING_DEBUG_EXCEPTION, Breakpoint3, 0, 8, 0x08);
    MASK(WHV_X64_PENDING_DEBUG_EXCEPTION, SingleStep, 0, 8, 0x10);

    MASK(WHV_X64_MSR_ACCESS_INFO, IsWrite, 0, 4, 0x1);
    MASK(WHV_X64_MSR_ACCESS_INFO, Reserved, 0, 4, 0xFFFFFFFEu);
    MASK(WHV_VP_EXCEPTION_INFO, ErrorCodeValid, 0, 4, 0x1);
    MASK(WHV_VP_EXCEPTION_INFO, SoftwareException, 0, 4, 0x2);
    MASK(WHV_VP_EXCEPTION_INFO, Reserved, 0, 4, 0xFFFFFFFCu);
    MASK(WHV_X64_RDTSC_INFO, IsRdtscp, 0, 8, 0x1);
    MASK(WHV_X64_RDTSC_INFO, Reserved, 0, 8, 0xFFFFFFFFFFFFFFFEu);
}

int main(void)
{
    check_masks();
    if (failures) {
        printf("%d of %d mask checks failed\n", failures, checks);
        return 1;
    }
    printf("ok: layout pinned at compile time, %d bitfield masks checked\n", checks);
    return 0;
}
