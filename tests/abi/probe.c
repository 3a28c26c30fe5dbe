/*
 * probe.c - records the binary interface of the WinHvEmulation API as
 * constants in the generated assembly, so that two compilations can be
 * compared without running either of them.
 *
 * compare_probe.sh compiles it three times:
 *   - with WHVABI_SDK_HEADERS defined, by x86_64-w64-mingw32-gcc against
 *     mingw-w64's own <windows.h> and <winhvemulation.h> (the reference);
 *   - without it, against our include/ directory: by the native compiler,
 *     and by the mingw compiler, which exercises the header's _WIN32 branch.
 * Only "-O2 -S" is needed: nothing is linked or run.
 *
 * Every entry is a global constant object named whvabi_<kind>__<Type>[__<Field>]:
 *   size, align   sizeof and _Alignof of a type
 *   signed        1 if the type is a signed integer (or enum) type
 *   off, fsize    offsetof and sizeof of a member (members of anonymous
 *                 structs and unions included)
 *   mask          an object of the type, zero except for one member set to
 *                 all ones; the parser reads its raw bytes
 *   enum, hr      the value of an enumeration constant or HRESULT macro
 *   alias         names that exist in our header but not in mingw-w64 v10
 * asmvalues.c turns the assembly back into "key value" lines. The number of
 * entries is counted with __COUNTER__ and emitted as whvabi_meta__entries, so
 * the parser can prove that it found every one of them.
 */
#ifdef WHVABI_SDK_HEADERS
#include <windows.h>
#include <winhvemulation.h>
#else
#include <WinHvEmulation.h>
#endif

#include <stddef.h>

typedef unsigned long long whvabi_u64;

enum { whvabi_counter_base = __COUNTER__ };
#define WHVABI_COUNT _Static_assert(__COUNTER__ >= 0, "count")

#define VAL(name, expr)                                                    \
    const whvabi_u64 whvabi_##name = (whvabi_u64)(expr);                   \
    WHVABI_COUNT;

/* A type, spelled T, recorded under the key N. */
#define TYPEN(N, T) VAL(size__##N, sizeof(T)) VAL(align__##N, _Alignof(T))
#define TYPE(T) TYPEN(T, T)
#define INTTYPE(T) TYPE(T) VAL(signed__##T, (T)-1 < (T)1)
#define OFF(T, F)                                                          \
    VAL(off__##T##__##F, offsetof(T, F))                                   \
    VAL(fsize__##T##__##F, sizeof(((T *)0)->F))
/* -1 converts to all ones for any unsigned field width. */
#define MASK(T, F)                                                         \
    const T whvabi_mask__##T##__##F = { .F = -1 };                         \
    WHVABI_COUNT;
#define ENUMV(E) VAL(enum__##E, E)
#define HRV(H) VAL(hr__##H, (UINT32)(H)) VAL(hrsize__##H, sizeof(H))

/*
 * Names our headers have and mingw-w64 v10 lacks. Microsoft's SDK headers
 * name the exit context WHV_X64_VP_EXIT_CONTEXT, with WHV_VP_EXIT_CONTEXT as
 * an alias, and newer SDKs spell the deliverability register without "X64".
 * Our header provides both spellings; mingw-w64 v10 has only the older one.
 * On the mingw side the alias key is filled from the name mingw does have,
 * so the comparison checks that our alias means exactly the same thing.
 */
#ifdef WHVABI_SDK_HEADERS
#define WHVABI_X64_VP_EXIT_CONTEXT WHV_VP_EXIT_CONTEXT
#define WHVABI_DELIVERABILITY_ALIAS WHvX64RegisterDeliverabilityNotifications
#else
#define WHVABI_X64_VP_EXIT_CONTEXT WHV_X64_VP_EXIT_CONTEXT
#define WHVABI_DELIVERABILITY_ALIAS WHvRegisterDeliverabilityNotifications
_Static_assert(_Generic((WHV_X64_VP_EXIT_CONTEXT *)0, WHV_VP_EXIT_CONTEXT *: 1, default: 0),
               "WHV_X64_VP_EXIT_CONTEXT must be the same type as WHV_VP_EXIT_CONTEXT");
#endif

/* Deliberately wrong value, used by the test that checks that a difference
 * between the two lists is reported. */
#ifdef WHVABI_SELFTEST_SKEW
#define WHVABI_SKEW 1
#else
#define WHVABI_SKEW 0
#endif

/*
 * Signatures. Each function and callback type is compared with a spelling
 * written out here; a mismatch in either header set fails the compilation.
 */
typedef HRESULT (WINAPI *whvabi_create_fn)(const WHV_EMULATOR_CALLBACKS *, WHV_EMULATOR_HANDLE *);
typedef HRESULT (WINAPI *whvabi_destroy_fn)(WHV_EMULATOR_HANDLE);
typedef HRESULT (WINAPI *whvabi_try_io_fn)(WHV_EMULATOR_HANDLE, VOID *, const WHV_VP_EXIT_CONTEXT *,
                                           const WHV_X64_IO_PORT_ACCESS_CONTEXT *,
                                           WHV_EMULATOR_STATUS *);
typedef HRESULT (WINAPI *whvabi_try_mmio_fn)(WHV_EMULATOR_HANDLE, VOID *, const WHV_VP_EXIT_CONTEXT *,
                                             const WHV_MEMORY_ACCESS_CONTEXT *,
                                             WHV_EMULATOR_STATUS *);
typedef HRESULT (CALLBACK *whvabi_io_cb)(VOID *, WHV_EMULATOR_IO_ACCESS_INFO *);
typedef HRESULT (CALLBACK *whvabi_mem_cb)(VOID *, WHV_EMULATOR_MEMORY_ACCESS_INFO *);
typedef HRESULT (CALLBACK *whvabi_get_cb)(VOID *, const WHV_REGISTER_NAME *, UINT32, WHV_REGISTER_VALUE *);
typedef HRESULT (CALLBACK *whvabi_set_cb)(VOID *, const WHV_REGISTER_NAME *, UINT32,
                                          const WHV_REGISTER_VALUE *);
typedef HRESULT (CALLBACK *whvabi_gva_cb)(VOID *, WHV_GUEST_VIRTUAL_ADDRESS, WHV_TRANSLATE_GVA_FLAGS,
                                          WHV_TRANSLATE_GVA_RESULT_CODE *,
                                          WHV_GUEST_PHYSICAL_ADDRESS *);

#define SAME_TYPE(expr, T) _Generic((expr), T: 1, default: 0)
_Static_assert(SAME_TYPE(&WHvEmulatorCreateEmulator, whvabi_create_fn), "WHvEmulatorCreateEmulator");
_Static_assert(SAME_TYPE(&WHvEmulatorDestroyEmulator, whvabi_destroy_fn), "WHvEmulatorDestroyEmulator");
_Static_assert(SAME_TYPE(&WHvEmulatorTryIoEmulation, whvabi_try_io_fn), "WHvEmulatorTryIoEmulation");
_Static_assert(SAME_TYPE(&WHvEmulatorTryMmioEmulation, whvabi_try_mmio_fn), "WHvEmulatorTryMmioEmulation");
_Static_assert(SAME_TYPE((WHV_EMULATOR_IO_PORT_CALLBACK)0, whvabi_io_cb), "IO_PORT_CALLBACK");
_Static_assert(SAME_TYPE((WHV_EMULATOR_MEMORY_CALLBACK)0, whvabi_mem_cb), "MEMORY_CALLBACK");
_Static_assert(SAME_TYPE((WHV_EMULATOR_GET_VIRTUAL_PROCESSOR_REGISTERS_CALLBACK)0, whvabi_get_cb),
               "GET_VIRTUAL_PROCESSOR_REGISTERS_CALLBACK");
_Static_assert(SAME_TYPE((WHV_EMULATOR_SET_VIRTUAL_PROCESSOR_REGISTERS_CALLBACK)0, whvabi_set_cb),
               "SET_VIRTUAL_PROCESSOR_REGISTERS_CALLBACK");
_Static_assert(SAME_TYPE((WHV_EMULATOR_TRANSLATE_GVA_PAGE_CALLBACK)0, whvabi_gva_cb),
               "TRANSLATE_GVA_PAGE_CALLBACK");

/* ---- base types ---- */
typedef VOID *whvabi_pvoid;
INTTYPE(UINT8) INTTYPE(UINT16) INTTYPE(UINT32) INTTYPE(UINT64)
INTTYPE(INT8) INTTYPE(INT16) INTTYPE(INT32) INTTYPE(INT64)
INTTYPE(BOOLEAN) INTTYPE(BOOL) INTTYPE(HRESULT)
TYPEN(VOID_pointer, whvabi_pvoid)

HRV(S_OK) HRV(S_FALSE) HRV(E_NOTIMPL) HRV(E_POINTER) HRV(E_ABORT) HRV(E_FAIL)
HRV(E_UNEXPECTED) HRV(E_ACCESSDENIED) HRV(E_HANDLE) HRV(E_OUTOFMEMORY) HRV(E_INVALIDARG)
VAL(hr__FAILED_E_FAIL, FAILED(E_FAIL)) VAL(hr__FAILED_S_FALSE, FAILED(S_FALSE))
VAL(hr__SUCCEEDED_S_FALSE, SUCCEEDED(S_FALSE)) VAL(hr__SUCCEEDED_E_INVALIDARG, SUCCEEDED(E_INVALIDARG))

/* ---- addresses, handles, callbacks ---- */
INTTYPE(WHV_GUEST_PHYSICAL_ADDRESS) INTTYPE(WHV_GUEST_VIRTUAL_ADDRESS)
TYPE(WHV_EMULATOR_HANDLE)
TYPE(WHV_EMULATOR_IO_PORT_CALLBACK) TYPE(WHV_EMULATOR_MEMORY_CALLBACK)
TYPE(WHV_EMULATOR_GET_VIRTUAL_PROCESSOR_REGISTERS_CALLBACK)
TYPE(WHV_EMULATOR_SET_VIRTUAL_PROCESSOR_REGISTERS_CALLBACK)
TYPE(WHV_EMULATOR_TRANSLATE_GVA_PAGE_CALLBACK)

/* ---- WHV_REGISTER_NAME ---- */
INTTYPE(WHV_REGISTER_NAME)
ENUMV(WHvX64RegisterRax) ENUMV(WHvX64RegisterRcx) ENUMV(WHvX64RegisterRdx)
ENUMV(WHvX64RegisterRbx) ENUMV(WHvX64RegisterRsp) ENUMV(WHvX64RegisterRbp)
ENUMV(WHvX64RegisterRsi) ENUMV(WHvX64RegisterRdi) ENUMV(WHvX64RegisterR8)
ENUMV(WHvX64RegisterR9) ENUMV(WHvX64RegisterR10) ENUMV(WHvX64RegisterR11)
ENUMV(WHvX64RegisterR12) ENUMV(WHvX64RegisterR13) ENUMV(WHvX64RegisterR14)
ENUMV(WHvX64RegisterR15) ENUMV(WHvX64RegisterRip) ENUMV(WHvX64RegisterRflags)
ENUMV(WHvX64RegisterEs) ENUMV(WHvX64RegisterCs) ENUMV(WHvX64RegisterSs) ENUMV(WHvX64RegisterDs)
ENUMV(WHvX64RegisterFs) ENUMV(WHvX64RegisterGs) ENUMV(WHvX64RegisterLdtr)
ENUMV(WHvX64RegisterTr) ENUMV(WHvX64RegisterIdtr) ENUMV(WHvX64RegisterGdtr)
ENUMV(WHvX64RegisterCr0) ENUMV(WHvX64RegisterCr2) ENUMV(WHvX64RegisterCr3)
ENUMV(WHvX64RegisterCr4) ENUMV(WHvX64RegisterCr8) ENUMV(WHvX64RegisterDr0)
ENUMV(WHvX64RegisterDr1) ENUMV(WHvX64RegisterDr2) ENUMV(WHvX64RegisterDr3)
ENUMV(WHvX64RegisterDr6) ENUMV(WHvX64RegisterDr7) ENUMV(WHvX64RegisterXCr0)
ENUMV(WHvX64RegisterVirtualCr0) ENUMV(WHvX64RegisterVirtualCr3) ENUMV(WHvX64RegisterVirtualCr4)
ENUMV(WHvX64RegisterVirtualCr8) ENUMV(WHvX64RegisterXmm0) ENUMV(WHvX64RegisterXmm1)
ENUMV(WHvX64RegisterXmm2) ENUMV(WHvX64RegisterXmm3) ENUMV(WHvX64RegisterXmm4)
ENUMV(WHvX64RegisterXmm5) ENUMV(WHvX64RegisterXmm6) ENUMV(WHvX64RegisterXmm7)
ENUMV(WHvX64RegisterXmm8) ENUMV(WHvX64RegisterXmm9) ENUMV(WHvX64RegisterXmm10)
ENUMV(WHvX64RegisterXmm11) ENUMV(WHvX64RegisterXmm12) ENUMV(WHvX64RegisterXmm13)
ENUMV(WHvX64RegisterXmm14) ENUMV(WHvX64RegisterXmm15) ENUMV(WHvX64RegisterFpMmx0)
ENUMV(WHvX64RegisterFpMmx1) ENUMV(WHvX64RegisterFpMmx2) ENUMV(WHvX64RegisterFpMmx3)
ENUMV(WHvX64RegisterFpMmx4) ENUMV(WHvX64RegisterFpMmx5) ENUMV(WHvX64RegisterFpMmx6)
ENUMV(WHvX64RegisterFpMmx7) ENUMV(WHvX64RegisterFpControlStatus)
ENUMV(WHvX64RegisterXmmControlStatus) ENUMV(WHvX64RegisterTsc) ENUMV(WHvX64RegisterEfer)
ENUMV(WHvX64RegisterKernelGsBase) ENUMV(WHvX64RegisterApicBase) ENUMV(WHvX64RegisterPat)
ENUMV(WHvX64RegisterSysenterCs) ENUMV(WHvX64RegisterSysenterEip)
ENUMV(WHvX64RegisterSysenterEsp) ENUMV(WHvX64RegisterStar) ENUMV(WHvX64RegisterLstar)
ENUMV(WHvX64RegisterCstar) ENUMV(WHvX64RegisterSfmask) ENUMV(WHvX64RegisterInitialApicId)
ENUMV(WHvX64RegisterMsrMtrrCap) ENUMV(WHvX64RegisterMsrMtrrDefType)
ENUMV(WHvX64RegisterMsrMtrrPhysBase0) ENUMV(WHvX64RegisterMsrMtrrPhysBase1)
ENUMV(WHvX64RegisterMsrMtrrPhysBase2) ENUMV(WHvX64RegisterMsrMtrrPhysBase3)
ENUMV(WHvX64RegisterMsrMtrrPhysBase4) ENUMV(WHvX64RegisterMsrMtrrPhysBase5)
ENUMV(WHvX64RegisterMsrMtrrPhysBase6) ENUMV(WHvX64RegisterMsrMtrrPhysBase7)
ENUMV(WHvX64RegisterMsrMtrrPhysBase8) ENUMV(WHvX64RegisterMsrMtrrPhysBase9)
ENUMV(WHvX64RegisterMsrMtrrPhysBaseA) ENUMV(WHvX64RegisterMsrMtrrPhysBaseB)
ENUMV(WHvX64RegisterMsrMtrrPhysBaseC) ENUMV(WHvX64RegisterMsrMtrrPhysBaseD)
ENUMV(WHvX64RegisterMsrMtrrPhysBaseE) ENUMV(WHvX64RegisterMsrMtrrPhysBaseF)
ENUMV(WHvX64RegisterMsrMtrrPhysMask0) ENUMV(WHvX64RegisterMsrMtrrPhysMask1)
ENUMV(WHvX64RegisterMsrMtrrPhysMask2) ENUMV(WHvX64RegisterMsrMtrrPhysMask3)
ENUMV(WHvX64RegisterMsrMtrrPhysMask4) ENUMV(WHvX64RegisterMsrMtrrPhysMask5)
ENUMV(WHvX64RegisterMsrMtrrPhysMask6) ENUMV(WHvX64RegisterMsrMtrrPhysMask7)
ENUMV(WHvX64RegisterMsrMtrrPhysMask8) ENUMV(WHvX64RegisterMsrMtrrPhysMask9)
ENUMV(WHvX64RegisterMsrMtrrPhysMaskA) ENUMV(WHvX64RegisterMsrMtrrPhysMaskB)
ENUMV(WHvX64RegisterMsrMtrrPhysMaskC) ENUMV(WHvX64RegisterMsrMtrrPhysMaskD)
ENUMV(WHvX64RegisterMsrMtrrPhysMaskE) ENUMV(WHvX64RegisterMsrMtrrPhysMaskF)
ENUMV(WHvX64RegisterMsrMtrrFix64k00000) ENUMV(WHvX64RegisterMsrMtrrFix16k80000)
ENUMV(WHvX64RegisterMsrMtrrFix16kA0000) ENUMV(WHvX64RegisterMsrMtrrFix4kC0000)
ENUMV(WHvX64RegisterMsrMtrrFix4kC8000) ENUMV(WHvX64RegisterMsrMtrrFix4kD0000)
ENUMV(WHvX64RegisterMsrMtrrFix4kD8000) ENUMV(WHvX64RegisterMsrMtrrFix4kE0000)
ENUMV(WHvX64RegisterMsrMtrrFix4kE8000) ENUMV(WHvX64RegisterMsrMtrrFix4kF0000)
ENUMV(WHvX64RegisterMsrMtrrFix4kF8000) ENUMV(WHvX64RegisterTscAux) ENUMV(WHvX64RegisterBndcfgs)
ENUMV(WHvX64RegisterMCount) ENUMV(WHvX64RegisterACount) ENUMV(WHvX64RegisterSpecCtrl)
ENUMV(WHvX64RegisterPredCmd) ENUMV(WHvX64RegisterTscVirtualOffset) ENUMV(WHvX64RegisterTsxCtrl)
ENUMV(WHvX64RegisterXss) ENUMV(WHvX64RegisterUCet) ENUMV(WHvX64RegisterSCet)
ENUMV(WHvX64RegisterSsp) ENUMV(WHvX64RegisterPl0Ssp) ENUMV(WHvX64RegisterPl1Ssp)
ENUMV(WHvX64RegisterPl2Ssp) ENUMV(WHvX64RegisterPl3Ssp)
ENUMV(WHvX64RegisterInterruptSspTableAddr) ENUMV(WHvX64RegisterTscDeadline)
ENUMV(WHvX64RegisterTscAdjust) ENUMV(WHvX64RegisterUmwaitControl) ENUMV(WHvX64RegisterXfd)
ENUMV(WHvX64RegisterXfdErr) ENUMV(WHvX64RegisterApicId) ENUMV(WHvX64RegisterApicVersion)
ENUMV(WHvX64RegisterApicTpr) ENUMV(WHvX64RegisterApicPpr) ENUMV(WHvX64RegisterApicEoi)
ENUMV(WHvX64RegisterApicLdr) ENUMV(WHvX64RegisterApicSpurious) ENUMV(WHvX64RegisterApicIsr0)
ENUMV(WHvX64RegisterApicIsr1) ENUMV(WHvX64RegisterApicIsr2) ENUMV(WHvX64RegisterApicIsr3)
ENUMV(WHvX64RegisterApicIsr4) ENUMV(WHvX64RegisterApicIsr5) ENUMV(WHvX64RegisterApicIsr6)
ENUMV(WHvX64RegisterApicIsr7) ENUMV(WHvX64RegisterApicTmr0) ENUMV(WHvX64RegisterApicTmr1)
ENUMV(WHvX64RegisterApicTmr2) ENUMV(WHvX64RegisterApicTmr3) ENUMV(WHvX64RegisterApicTmr4)
ENUMV(WHvX64RegisterApicTmr5) ENUMV(WHvX64RegisterApicTmr6) ENUMV(WHvX64RegisterApicTmr7)
ENUMV(WHvX64RegisterApicIrr0) ENUMV(WHvX64RegisterApicIrr1) ENUMV(WHvX64RegisterApicIrr2)
ENUMV(WHvX64RegisterApicIrr3) ENUMV(WHvX64RegisterApicIrr4) ENUMV(WHvX64RegisterApicIrr5)
ENUMV(WHvX64RegisterApicIrr6) ENUMV(WHvX64RegisterApicIrr7) ENUMV(WHvX64RegisterApicEse)
ENUMV(WHvX64RegisterApicIcr) ENUMV(WHvX64RegisterApicLvtTimer)
ENUMV(WHvX64RegisterApicLvtThermal) ENUMV(WHvX64RegisterApicLvtPerfmon)
ENUMV(WHvX64RegisterApicLvtLint0) ENUMV(WHvX64RegisterApicLvtLint1)
ENUMV(WHvX64RegisterApicLvtError) ENUMV(WHvX64RegisterApicInitCount)
ENUMV(WHvX64RegisterApicCurrentCount) ENUMV(WHvX64RegisterApicDivide)
ENUMV(WHvX64RegisterApicSelfIpi) ENUMV(WHvRegisterSint0) ENUMV(WHvRegisterSint1)
ENUMV(WHvRegisterSint2) ENUMV(WHvRegisterSint3) ENUMV(WHvRegisterSint4) ENUMV(WHvRegisterSint5)
ENUMV(WHvRegisterSint6) ENUMV(WHvRegisterSint7) ENUMV(WHvRegisterSint8) ENUMV(WHvRegisterSint9)
ENUMV(WHvRegisterSint10) ENUMV(WHvRegisterSint11) ENUMV(WHvRegisterSint12)
ENUMV(WHvRegisterSint13) ENUMV(WHvRegisterSint14) ENUMV(WHvRegisterSint15)
ENUMV(WHvRegisterScontrol) ENUMV(WHvRegisterSversion) ENUMV(WHvRegisterSiefp)
ENUMV(WHvRegisterSimp) ENUMV(WHvRegisterEom) ENUMV(WHvRegisterVpRuntime)
ENUMV(WHvX64RegisterHypercall) ENUMV(WHvRegisterGuestOsId) ENUMV(WHvRegisterVpAssistPage)
ENUMV(WHvRegisterReferenceTsc) ENUMV(WHvRegisterReferenceTscSequence)
ENUMV(WHvRegisterPendingInterruption) ENUMV(WHvRegisterInterruptState)
ENUMV(WHvRegisterPendingEvent) ENUMV(WHvX64RegisterDeliverabilityNotifications)
ENUMV(WHvRegisterInternalActivityState) ENUMV(WHvX64RegisterPendingDebugException)
VAL(alias__WHvRegisterDeliverabilityNotifications, WHVABI_DELIVERABILITY_ALIAS)

/* ---- other enumerations ---- */
INTTYPE(WHV_X64_PENDING_INTERRUPTION_TYPE)
ENUMV(WHvX64PendingInterrupt) ENUMV(WHvX64PendingNmi) ENUMV(WHvX64PendingException)
TYPE(PWHV_X64_PENDING_INTERRUPTION_TYPE)

INTTYPE(WHV_X64_PENDING_EVENT_TYPE)
ENUMV(WHvX64PendingEventException) ENUMV(WHvX64PendingEventExtInt)

INTTYPE(WHV_EXCEPTION_TYPE)
ENUMV(WHvX64ExceptionTypeDivideErrorFault) ENUMV(WHvX64ExceptionTypeDebugTrapOrFault)
ENUMV(WHvX64ExceptionTypeBreakpointTrap) ENUMV(WHvX64ExceptionTypeOverflowTrap)
ENUMV(WHvX64ExceptionTypeBoundRangeFault) ENUMV(WHvX64ExceptionTypeInvalidOpcodeFault)
ENUMV(WHvX64ExceptionTypeDeviceNotAvailableFault) ENUMV(WHvX64ExceptionTypeDoubleFaultAbort)
ENUMV(WHvX64ExceptionTypeInvalidTaskStateSegmentFault)
ENUMV(WHvX64ExceptionTypeSegmentNotPresentFault) ENUMV(WHvX64ExceptionTypeStackFault)
ENUMV(WHvX64ExceptionTypeGeneralProtectionFault) ENUMV(WHvX64ExceptionTypePageFault)
ENUMV(WHvX64ExceptionTypeFloatingPointErrorFault) ENUMV(WHvX64ExceptionTypeAlignmentCheckFault)
ENUMV(WHvX64ExceptionTypeMachineCheckAbort) ENUMV(WHvX64ExceptionTypeSimdFloatingPointFault)

INTTYPE(WHV_MEMORY_ACCESS_TYPE)
ENUMV(WHvMemoryAccessRead) ENUMV(WHvMemoryAccessWrite) ENUMV(WHvMemoryAccessExecute)

INTTYPE(WHV_TRANSLATE_GVA_FLAGS)
ENUMV(WHvTranslateGvaFlagNone) ENUMV(WHvTranslateGvaFlagValidateRead)
ENUMV(WHvTranslateGvaFlagValidateWrite) ENUMV(WHvTranslateGvaFlagValidateExecute)
ENUMV(WHvTranslateGvaFlagPrivilegeExempt) ENUMV(WHvTranslateGvaFlagSetPageTableBits)
ENUMV(WHvTranslateGvaFlagEnforceSmap) ENUMV(WHvTranslateGvaFlagOverrideSmap)

INTTYPE(WHV_TRANSLATE_GVA_RESULT_CODE)
ENUMV(WHvTranslateGvaResultSuccess) ENUMV(WHvTranslateGvaResultPageNotPresent)
ENUMV(WHvTranslateGvaResultPrivilegeViolation) ENUMV(WHvTranslateGvaResultInvalidPageTableFlags)
ENUMV(WHvTranslateGvaResultGpaUnmapped) ENUMV(WHvTranslateGvaResultGpaNoReadAccess)
ENUMV(WHvTranslateGvaResultGpaNoWriteAccess) ENUMV(WHvTranslateGvaResultGpaIllegalOverlayAccess)
ENUMV(WHvTranslateGvaResultIntercept)

/* ---- register value views ---- */
TYPE(WHV_UINT128)
OFF(WHV_UINT128, Low64) OFF(WHV_UINT128, High64) OFF(WHV_UINT128, Dword)

TYPE(WHV_X64_FP_REGISTER)
OFF(WHV_X64_FP_REGISTER, Mantissa) OFF(WHV_X64_FP_REGISTER, AsUINT128)
MASK(WHV_X64_FP_REGISTER, Mantissa) MASK(WHV_X64_FP_REGISTER, BiasedExponent)
MASK(WHV_X64_FP_REGISTER, Sign) MASK(WHV_X64_FP_REGISTER, Reserved)

TYPE(WHV_X64_FP_CONTROL_STATUS_REGISTER)
OFF(WHV_X64_FP_CONTROL_STATUS_REGISTER, FpControl) OFF(WHV_X64_FP_CONTROL_STATUS_REGISTER, FpStatus)
OFF(WHV_X64_FP_CONTROL_STATUS_REGISTER, FpTag) OFF(WHV_X64_FP_CONTROL_STATUS_REGISTER, Reserved)
OFF(WHV_X64_FP_CONTROL_STATUS_REGISTER, LastFpOp) OFF(WHV_X64_FP_CONTROL_STATUS_REGISTER, LastFpRip)
OFF(WHV_X64_FP_CONTROL_STATUS_REGISTER, LastFpEip) OFF(WHV_X64_FP_CONTROL_STATUS_REGISTER, LastFpCs)
OFF(WHV_X64_FP_CONTROL_STATUS_REGISTER, Reserved2) OFF(WHV_X64_FP_CONTROL_STATUS_REGISTER, AsUINT128)

TYPE(WHV_X64_XMM_CONTROL_STATUS_REGISTER)
OFF(WHV_X64_XMM_CONTROL_STATUS_REGISTER, LastFpRdp) OFF(WHV_X64_XMM_CONTROL_STATUS_REGISTER, LastFpDp)
OFF(WHV_X64_XMM_CONTROL_STATUS_REGISTER, LastFpDs) OFF(WHV_X64_XMM_CONTROL_STATUS_REGISTER, Reserved)
OFF(WHV_X64_XMM_CONTROL_STATUS_REGISTER, XmmStatusControl)
OFF(WHV_X64_XMM_CONTROL_STATUS_REGISTER, XmmStatusControlMask)
OFF(WHV_X64_XMM_CONTROL_STATUS_REGISTER, AsUINT128)

TYPE(WHV_X64_SEGMENT_REGISTER)
OFF(WHV_X64_SEGMENT_REGISTER, Base) OFF(WHV_X64_SEGMENT_REGISTER, Limit)
OFF(WHV_X64_SEGMENT_REGISTER, Selector) OFF(WHV_X64_SEGMENT_REGISTER, Attributes)
MASK(WHV_X64_SEGMENT_REGISTER, SegmentType) MASK(WHV_X64_SEGMENT_REGISTER, NonSystemSegment)
MASK(WHV_X64_SEGMENT_REGISTER, DescriptorPrivilegeLevel) MASK(WHV_X64_SEGMENT_REGISTER, Present)
MASK(WHV_X64_SEGMENT_REGISTER, Reserved) MASK(WHV_X64_SEGMENT_REGISTER, Available)
MASK(WHV_X64_SEGMENT_REGISTER, Long) MASK(WHV_X64_SEGMENT_REGISTER, Default)
MASK(WHV_X64_SEGMENT_REGISTER, Granularity)

TYPE(WHV_X64_TABLE_REGISTER)
OFF(WHV_X64_TABLE_REGISTER, Pad) OFF(WHV_X64_TABLE_REGISTER, Limit) OFF(WHV_X64_TABLE_REGISTER, Base)

TYPE(WHV_X64_INTERRUPT_STATE_REGISTER)
OFF(WHV_X64_INTERRUPT_STATE_REGISTER, AsUINT64)
MASK(WHV_X64_INTERRUPT_STATE_REGISTER, InterruptShadow)
MASK(WHV_X64_INTERRUPT_STATE_REGISTER, NmiMasked) MASK(WHV_X64_INTERRUPT_STATE_REGISTER, Reserved)

TYPE(WHV_X64_PENDING_INTERRUPTION_REGISTER)
OFF(WHV_X64_PENDING_INTERRUPTION_REGISTER, ErrorCode)
OFF(WHV_X64_PENDING_INTERRUPTION_REGISTER, AsUINT64)
MASK(WHV_X64_PENDING_INTERRUPTION_REGISTER, InterruptionPending)
MASK(WHV_X64_PENDING_INTERRUPTION_REGISTER, InterruptionType)
MASK(WHV_X64_PENDING_INTERRUPTION_REGISTER, DeliverErrorCode)
MASK(WHV_X64_PENDING_INTERRUPTION_REGISTER, InstructionLength)
MASK(WHV_X64_PENDING_INTERRUPTION_REGISTER, NestedEvent)
MASK(WHV_X64_PENDING_INTERRUPTION_REGISTER, Reserved)
MASK(WHV_X64_PENDING_INTERRUPTION_REGISTER, InterruptionVector)
MASK(WHV_X64_PENDING_INTERRUPTION_REGISTER, ErrorCode)

TYPE(WHV_X64_DELIVERABILITY_NOTIFICATIONS_REGISTER)
OFF(WHV_X64_DELIVERABILITY_NOTIFICATIONS_REGISTER, AsUINT64)
MASK(WHV_X64_DELIVERABILITY_NOTIFICATIONS_REGISTER, NmiNotification)
MASK(WHV_X64_DELIVERABILITY_NOTIFICATIONS_REGISTER, InterruptNotification)
MASK(WHV_X64_DELIVERABILITY_NOTIFICATIONS_REGISTER, InterruptPriority)
MASK(WHV_X64_DELIVERABILITY_NOTIFICATIONS_REGISTER, Reserved)

TYPE(WHV_X64_PENDING_EXCEPTION_EVENT)
OFF(WHV_X64_PENDING_EXCEPTION_EVENT, ErrorCode)
OFF(WHV_X64_PENDING_EXCEPTION_EVENT, ExceptionParameter)
OFF(WHV_X64_PENDING_EXCEPTION_EVENT, AsUINT128)
MASK(WHV_X64_PENDING_EXCEPTION_EVENT, EventPending) MASK(WHV_X64_PENDING_EXCEPTION_EVENT, EventType)
MASK(WHV_X64_PENDING_EXCEPTION_EVENT, Reserved0) MASK(WHV_X64_PENDING_EXCEPTION_EVENT, DeliverErrorCode)
MASK(WHV_X64_PENDING_EXCEPTION_EVENT, Reserved1) MASK(WHV_X64_PENDING_EXCEPTION_EVENT, Vector)
MASK(WHV_X64_PENDING_EXCEPTION_EVENT, ErrorCode)
MASK(WHV_X64_PENDING_EXCEPTION_EVENT, ExceptionParameter)

TYPE(WHV_X64_PENDING_EXT_INT_EVENT)
OFF(WHV_X64_PENDING_EXT_INT_EVENT, Reserved2) OFF(WHV_X64_PENDING_EXT_INT_EVENT, AsUINT128)
MASK(WHV_X64_PENDING_EXT_INT_EVENT, EventPending) MASK(WHV_X64_PENDING_EXT_INT_EVENT, EventType)
MASK(WHV_X64_PENDING_EXT_INT_EVENT, Reserved0) MASK(WHV_X64_PENDING_EXT_INT_EVENT, Vector)
MASK(WHV_X64_PENDING_EXT_INT_EVENT, Reserved1) MASK(WHV_X64_PENDING_EXT_INT_EVENT, Reserved2)

TYPE(WHV_INTERNAL_ACTIVITY_REGISTER)
OFF(WHV_INTERNAL_ACTIVITY_REGISTER, AsUINT64)
MASK(WHV_INTERNAL_ACTIVITY_REGISTER, StartupSuspend) MASK(WHV_INTERNAL_ACTIVITY_REGISTER, HaltSuspend)
MASK(WHV_INTERNAL_ACTIVITY_REGISTER, IdleSuspend) MASK(WHV_INTERNAL_ACTIVITY_REGISTER, Reserved)

TYPE(WHV_X64_PENDING_DEBUG_EXCEPTION)
OFF(WHV_X64_PENDING_DEBUG_EXCEPTION, AsUINT64)
MASK(WHV_X64_PENDING_DEBUG_EXCEPTION, Breakpoint0) MASK(WHV_X64_PENDING_DEBUG_EXCEPTION, Breakpoint1)
MASK(WHV_X64_PENDING_DEBUG_EXCEPTION, Breakpoint2) MASK(WHV_X64_PENDING_DEBUG_EXCEPTION, Breakpoint3)
MASK(WHV_X64_PENDING_DEBUG_EXCEPTION, SingleStep) MASK(WHV_X64_PENDING_DEBUG_EXCEPTION, Reserved0)

TYPE(WHV_REGISTER_VALUE)
OFF(WHV_REGISTER_VALUE, Reg128) OFF(WHV_REGISTER_VALUE, Reg64) OFF(WHV_REGISTER_VALUE, Reg32)
OFF(WHV_REGISTER_VALUE, Reg16) OFF(WHV_REGISTER_VALUE, Reg8) OFF(WHV_REGISTER_VALUE, Fp)
OFF(WHV_REGISTER_VALUE, FpControlStatus) OFF(WHV_REGISTER_VALUE, XmmControlStatus)
OFF(WHV_REGISTER_VALUE, Segment) OFF(WHV_REGISTER_VALUE, Table)
OFF(WHV_REGISTER_VALUE, InterruptState) OFF(WHV_REGISTER_VALUE, PendingInterruption)
OFF(WHV_REGISTER_VALUE, DeliverabilityNotifications) OFF(WHV_REGISTER_VALUE, ExceptionEvent)
OFF(WHV_REGISTER_VALUE, ExtIntEvent) OFF(WHV_REGISTER_VALUE, InternalActivity)
OFF(WHV_REGISTER_VALUE, PendingDebugException)

/* ---- exit contexts ---- */
TYPE(WHV_X64_VP_EXECUTION_STATE)
OFF(WHV_X64_VP_EXECUTION_STATE, AsUINT16)
MASK(WHV_X64_VP_EXECUTION_STATE, Cpl) MASK(WHV_X64_VP_EXECUTION_STATE, Cr0Pe)
MASK(WHV_X64_VP_EXECUTION_STATE, Cr0Am) MASK(WHV_X64_VP_EXECUTION_STATE, EferLma)
MASK(WHV_X64_VP_EXECUTION_STATE, DebugActive) MASK(WHV_X64_VP_EXECUTION_STATE, InterruptionPending)
MASK(WHV_X64_VP_EXECUTION_STATE, Reserved0) MASK(WHV_X64_VP_EXECUTION_STATE, InterruptShadow)
MASK(WHV_X64_VP_EXECUTION_STATE, Reserved1)

TYPE(WHV_VP_EXIT_CONTEXT)
TYPEN(alias_WHV_X64_VP_EXIT_CONTEXT, WHVABI_X64_VP_EXIT_CONTEXT)
OFF(WHV_VP_EXIT_CONTEXT, ExecutionState) OFF(WHV_VP_EXIT_CONTEXT, Reserved)
OFF(WHV_VP_EXIT_CONTEXT, Reserved2) OFF(WHV_VP_EXIT_CONTEXT, Cs) OFF(WHV_VP_EXIT_CONTEXT, Rip)
OFF(WHV_VP_EXIT_CONTEXT, Rflags)
MASK(WHV_VP_EXIT_CONTEXT, InstructionLength) MASK(WHV_VP_EXIT_CONTEXT, Cr8)
MASK(WHV_VP_EXIT_CONTEXT, Reserved)

TYPE(WHV_MEMORY_ACCESS_INFO)
OFF(WHV_MEMORY_ACCESS_INFO, AsUINT32)
MASK(WHV_MEMORY_ACCESS_INFO, AccessType) MASK(WHV_MEMORY_ACCESS_INFO, GpaUnmapped)
MASK(WHV_MEMORY_ACCESS_INFO, GvaValid) MASK(WHV_MEMORY_ACCESS_INFO, Reserved)

TYPE(WHV_MEMORY_ACCESS_CONTEXT)
OFF(WHV_MEMORY_ACCESS_CONTEXT, InstructionByteCount) OFF(WHV_MEMORY_ACCESS_CONTEXT, Reserved)
OFF(WHV_MEMORY_ACCESS_CONTEXT, InstructionBytes) OFF(WHV_MEMORY_ACCESS_CONTEXT, AccessInfo)
OFF(WHV_MEMORY_ACCESS_CONTEXT, Gpa) OFF(WHV_MEMORY_ACCESS_CONTEXT, Gva)

TYPE(WHV_X64_IO_PORT_ACCESS_INFO)
OFF(WHV_X64_IO_PORT_ACCESS_INFO, AsUINT32)
MASK(WHV_X64_IO_PORT_ACCESS_INFO, IsWrite) MASK(WHV_X64_IO_PORT_ACCESS_INFO, AccessSize)
MASK(WHV_X64_IO_PORT_ACCESS_INFO, StringOp) MASK(WHV_X64_IO_PORT_ACCESS_INFO, RepPrefix)
MASK(WHV_X64_IO_PORT_ACCESS_INFO, Reserved)

TYPE(WHV_X64_IO_PORT_ACCESS_CONTEXT)
OFF(WHV_X64_IO_PORT_ACCESS_CONTEXT, InstructionByteCount)
OFF(WHV_X64_IO_PORT_ACCESS_CONTEXT, Reserved)
OFF(WHV_X64_IO_PORT_ACCESS_CONTEXT, InstructionBytes)
OFF(WHV_X64_IO_PORT_ACCESS_CONTEXT, AccessInfo) OFF(WHV_X64_IO_PORT_ACCESS_CONTEXT, PortNumber)
OFF(WHV_X64_IO_PORT_ACCESS_CONTEXT, Reserved2) OFF(WHV_X64_IO_PORT_ACCESS_CONTEXT, Rax)
OFF(WHV_X64_IO_PORT_ACCESS_CONTEXT, Rcx) OFF(WHV_X64_IO_PORT_ACCESS_CONTEXT, Rsi)
OFF(WHV_X64_IO_PORT_ACCESS_CONTEXT, Rdi) OFF(WHV_X64_IO_PORT_ACCESS_CONTEXT, Ds)
OFF(WHV_X64_IO_PORT_ACCESS_CONTEXT, Es)

/* ---- the run loop's exit record ---- */
INTTYPE(WHV_RUN_VP_EXIT_REASON)
ENUMV(WHvRunVpExitReasonNone) ENUMV(WHvRunVpExitReasonMemoryAccess)
ENUMV(WHvRunVpExitReasonX64IoPortAccess) ENUMV(WHvRunVpExitReasonUnrecoverableException)
ENUMV(WHvRunVpExitReasonInvalidVpRegisterValue) ENUMV(WHvRunVpExitReasonUnsupportedFeature)
ENUMV(WHvRunVpExitReasonX64InterruptWindow) ENUMV(WHvRunVpExitReasonX64Halt)
ENUMV(WHvRunVpExitReasonX64ApicEoi) ENUMV(WHvRunVpExitReasonSynicSintDeliverable)
ENUMV(WHvRunVpExitReasonX64MsrAccess) ENUMV(WHvRunVpExitReasonX64Cpuid)
ENUMV(WHvRunVpExitReasonException) ENUMV(WHvRunVpExitReasonX64Rdtsc)
ENUMV(WHvRunVpExitReasonX64ApicSmiTrap) ENUMV(WHvRunVpExitReasonHypercall)
ENUMV(WHvRunVpExitReasonX64ApicInitSipiTrap) ENUMV(WHvRunVpExitReasonX64ApicWriteTrap)
ENUMV(WHvRunVpExitReasonCanceled)

TYPE(WHV_X64_MSR_ACCESS_INFO)
OFF(WHV_X64_MSR_ACCESS_INFO, AsUINT32)
MASK(WHV_X64_MSR_ACCESS_INFO, IsWrite) MASK(WHV_X64_MSR_ACCESS_INFO, Reserved)

TYPE(WHV_X64_MSR_ACCESS_CONTEXT)
OFF(WHV_X64_MSR_ACCESS_CONTEXT, AccessInfo) OFF(WHV_X64_MSR_ACCESS_CONTEXT, MsrNumber)
OFF(WHV_X64_MSR_ACCESS_CONTEXT, Rax) OFF(WHV_X64_MSR_ACCESS_CONTEXT, Rdx)

TYPE(WHV_X64_CPUID_ACCESS_CONTEXT)
OFF(WHV_X64_CPUID_ACCESS_CONTEXT, Rax) OFF(WHV_X64_CPUID_ACCESS_CONTEXT, Rcx)
OFF(WHV_X64_CPUID_ACCESS_CONTEXT, Rdx) OFF(WHV_X64_CPUID_ACCESS_CONTEXT, Rbx)
OFF(WHV_X64_CPUID_ACCESS_CONTEXT, DefaultResultRax)
OFF(WHV_X64_CPUID_ACCESS_CONTEXT, DefaultResultRcx)
OFF(WHV_X64_CPUID_ACCESS_CONTEXT, DefaultResultRdx)
OFF(WHV_X64_CPUID_ACCESS_CONTEXT, DefaultResultRbx)

TYPE(WHV_VP_EXCEPTION_INFO)
OFF(WHV_VP_EXCEPTION_INFO, AsUINT32)
MASK(WHV_VP_EXCEPTION_INFO, ErrorCodeValid) MASK(WHV_VP_EXCEPTION_INFO, SoftwareException)
MASK(WHV_VP_EXCEPTION_INFO, Reserved)

TYPE(WHV_VP_EXCEPTION_CONTEXT)
OFF(WHV_VP_EXCEPTION_CONTEXT, InstructionByteCount) OFF(WHV_VP_EXCEPTION_CONTEXT, Reserved)
OFF(WHV_VP_EXCEPTION_CONTEXT, InstructionBytes) OFF(WHV_VP_EXCEPTION_CONTEXT, ExceptionInfo)
OFF(WHV_VP_EXCEPTION_CONTEXT, ExceptionType) OFF(WHV_VP_EXCEPTION_CONTEXT, Reserved2)
OFF(WHV_VP_EXCEPTION_CONTEXT, ErrorCode) OFF(WHV_VP_EXCEPTION_CONTEXT, ExceptionParameter)

INTTYPE(WHV_X64_UNSUPPORTED_FEATURE_CODE)
ENUMV(WHvUnsupportedFeatureIntercept) ENUMV(WHvUnsupportedFeatureTaskSwitchTss)
TYPE(WHV_X64_UNSUPPORTED_FEATURE_CONTEXT)
OFF(WHV_X64_UNSUPPORTED_FEATURE_CONTEXT, FeatureCode)
OFF(WHV_X64_UNSUPPORTED_FEATURE_CONTEXT, Reserved)
OFF(WHV_X64_UNSUPPORTED_FEATURE_CONTEXT, FeatureParameter)

INTTYPE(WHV_RUN_VP_CANCEL_REASON)
ENUMV(WhvRunVpCancelReasonUser)
TYPE(WHV_RUN_VP_CANCELED_CONTEXT)
OFF(WHV_RUN_VP_CANCELED_CONTEXT, CancelReason)

TYPE(WHV_X64_INTERRUPTION_DELIVERABLE_CONTEXT)
TYPE(PWHV_X64_INTERRUPTION_DELIVERABLE_CONTEXT)
OFF(WHV_X64_INTERRUPTION_DELIVERABLE_CONTEXT, DeliverableType)

TYPE(WHV_X64_APIC_EOI_CONTEXT)
OFF(WHV_X64_APIC_EOI_CONTEXT, InterruptVector)

TYPE(WHV_X64_RDTSC_INFO)
OFF(WHV_X64_RDTSC_INFO, AsUINT64)
MASK(WHV_X64_RDTSC_INFO, IsRdtscp) MASK(WHV_X64_RDTSC_INFO, Reserved)

TYPE(WHV_X64_RDTSC_CONTEXT)
OFF(WHV_X64_RDTSC_CONTEXT, TscAux) OFF(WHV_X64_RDTSC_CONTEXT, VirtualOffset)
OFF(WHV_X64_RDTSC_CONTEXT, Tsc) OFF(WHV_X64_RDTSC_CONTEXT, ReferenceTime)
OFF(WHV_X64_RDTSC_CONTEXT, RdtscInfo)

TYPE(WHV_X64_APIC_SMI_CONTEXT)
OFF(WHV_X64_APIC_SMI_CONTEXT, ApicIcr)

VAL(macro__WHV_HYPERCALL_CONTEXT_MAX_XMM_REGISTERS, WHV_HYPERCALL_CONTEXT_MAX_XMM_REGISTERS)
TYPE(WHV_HYPERCALL_CONTEXT)
TYPE(PWHV_HYPERCALL_CONTEXT)
TYPEN(tag_WHV_HYPERCALL_CONTEXT, struct _WHV_HYPERCALL_CONTEXT)
OFF(WHV_HYPERCALL_CONTEXT, Rax) OFF(WHV_HYPERCALL_CONTEXT, Rbx) OFF(WHV_HYPERCALL_CONTEXT, Rcx)
OFF(WHV_HYPERCALL_CONTEXT, Rdx) OFF(WHV_HYPERCALL_CONTEXT, R8) OFF(WHV_HYPERCALL_CONTEXT, Rsi)
OFF(WHV_HYPERCALL_CONTEXT, Rdi) OFF(WHV_HYPERCALL_CONTEXT, Reserved0)
OFF(WHV_HYPERCALL_CONTEXT, XmmRegisters) OFF(WHV_HYPERCALL_CONTEXT, Reserved1)

TYPE(WHV_X64_APIC_INIT_SIPI_CONTEXT)
OFF(WHV_X64_APIC_INIT_SIPI_CONTEXT, ApicIcr)

INTTYPE(WHV_X64_APIC_WRITE_TYPE)
ENUMV(WHvX64ApicWriteTypeLdr) ENUMV(WHvX64ApicWriteTypeDfr) ENUMV(WHvX64ApicWriteTypeSvr)
ENUMV(WHvX64ApicWriteTypeLint0) ENUMV(WHvX64ApicWriteTypeLint1)
TYPE(WHV_X64_APIC_WRITE_CONTEXT)
OFF(WHV_X64_APIC_WRITE_CONTEXT, Type) OFF(WHV_X64_APIC_WRITE_CONTEXT, Reserved)
OFF(WHV_X64_APIC_WRITE_CONTEXT, WriteValue)

TYPE(WHV_SYNIC_SINT_DELIVERABLE_CONTEXT)
OFF(WHV_SYNIC_SINT_DELIVERABLE_CONTEXT, DeliverableSints)
OFF(WHV_SYNIC_SINT_DELIVERABLE_CONTEXT, Reserved1)
OFF(WHV_SYNIC_SINT_DELIVERABLE_CONTEXT, Reserved2)

TYPE(WHV_RUN_VP_EXIT_CONTEXT)
OFF(WHV_RUN_VP_EXIT_CONTEXT, ExitReason) OFF(WHV_RUN_VP_EXIT_CONTEXT, Reserved)
OFF(WHV_RUN_VP_EXIT_CONTEXT, VpContext) OFF(WHV_RUN_VP_EXIT_CONTEXT, MemoryAccess)
OFF(WHV_RUN_VP_EXIT_CONTEXT, IoPortAccess) OFF(WHV_RUN_VP_EXIT_CONTEXT, MsrAccess)
OFF(WHV_RUN_VP_EXIT_CONTEXT, CpuidAccess) OFF(WHV_RUN_VP_EXIT_CONTEXT, VpException)
OFF(WHV_RUN_VP_EXIT_CONTEXT, InterruptWindow) OFF(WHV_RUN_VP_EXIT_CONTEXT, UnsupportedFeature)
OFF(WHV_RUN_VP_EXIT_CONTEXT, CancelReason) OFF(WHV_RUN_VP_EXIT_CONTEXT, ApicEoi)
OFF(WHV_RUN_VP_EXIT_CONTEXT, ReadTsc) OFF(WHV_RUN_VP_EXIT_CONTEXT, ApicSmi)
OFF(WHV_RUN_VP_EXIT_CONTEXT, Hypercall) OFF(WHV_RUN_VP_EXIT_CONTEXT, ApicInitSipi)
OFF(WHV_RUN_VP_EXIT_CONTEXT, ApicWrite) OFF(WHV_RUN_VP_EXIT_CONTEXT, SynicSintDeliverable)
/* The containers a WHP VMM hands to the emulator: the member types must be
 * exactly the Try* parameter types (checked at compile time below). */
VAL(nested__RunVp_MemoryAccess_Gpa, offsetof(WHV_RUN_VP_EXIT_CONTEXT, MemoryAccess.Gpa))
VAL(nested__RunVp_IoPortAccess_Es, offsetof(WHV_RUN_VP_EXIT_CONTEXT, IoPortAccess.Es))
VAL(nested__RunVp_VpContext_Rflags, offsetof(WHV_RUN_VP_EXIT_CONTEXT, VpContext.Rflags))
_Static_assert(SAME_TYPE(&((WHV_RUN_VP_EXIT_CONTEXT *)0)->VpContext, WHV_VP_EXIT_CONTEXT *),
               "VpContext");
_Static_assert(SAME_TYPE(&((WHV_RUN_VP_EXIT_CONTEXT *)0)->MemoryAccess, WHV_MEMORY_ACCESS_CONTEXT *),
               "MemoryAccess");
_Static_assert(SAME_TYPE(&((WHV_RUN_VP_EXIT_CONTEXT *)0)->IoPortAccess,
                         WHV_X64_IO_PORT_ACCESS_CONTEXT *),
               "IoPortAccess");

/* ---- GVA translation ---- */
TYPE(WHV_TRANSLATE_GVA_RESULT)
OFF(WHV_TRANSLATE_GVA_RESULT, ResultCode) OFF(WHV_TRANSLATE_GVA_RESULT, Reserved)

/* ---- emulator types ---- */
TYPE(WHV_EMULATOR_STATUS)
OFF(WHV_EMULATOR_STATUS, AsUINT32)
MASK(WHV_EMULATOR_STATUS, EmulationSuccessful) MASK(WHV_EMULATOR_STATUS, InternalEmulationFailure)
MASK(WHV_EMULATOR_STATUS, IoPortCallbackFailed) MASK(WHV_EMULATOR_STATUS, MemoryCallbackFailed)
MASK(WHV_EMULATOR_STATUS, TranslateGvaPageCallbackFailed)
MASK(WHV_EMULATOR_STATUS, TranslateGvaPageCallbackGpaIsNotAligned)
MASK(WHV_EMULATOR_STATUS, GetVirtualProcessorRegistersCallbackFailed)
MASK(WHV_EMULATOR_STATUS, SetVirtualProcessorRegistersCallbackFailed)
MASK(WHV_EMULATOR_STATUS, InterruptCausedIntercept) MASK(WHV_EMULATOR_STATUS, GuestCannotBeFaulted)
MASK(WHV_EMULATOR_STATUS, Reserved)

TYPE(WHV_EMULATOR_MEMORY_ACCESS_INFO)
OFF(WHV_EMULATOR_MEMORY_ACCESS_INFO, GpaAddress) OFF(WHV_EMULATOR_MEMORY_ACCESS_INFO, Direction)
OFF(WHV_EMULATOR_MEMORY_ACCESS_INFO, AccessSize) OFF(WHV_EMULATOR_MEMORY_ACCESS_INFO, Data)

TYPE(WHV_EMULATOR_IO_ACCESS_INFO)
OFF(WHV_EMULATOR_IO_ACCESS_INFO, Direction) OFF(WHV_EMULATOR_IO_ACCESS_INFO, Port)
OFF(WHV_EMULATOR_IO_ACCESS_INFO, AccessSize) OFF(WHV_EMULATOR_IO_ACCESS_INFO, Data)

TYPE(WHV_EMULATOR_CALLBACKS)
OFF(WHV_EMULATOR_CALLBACKS, Size) OFF(WHV_EMULATOR_CALLBACKS, Reserved)
OFF(WHV_EMULATOR_CALLBACKS, WHvEmulatorIoPortCallback)
OFF(WHV_EMULATOR_CALLBACKS, WHvEmulatorMemoryCallback)
OFF(WHV_EMULATOR_CALLBACKS, WHvEmulatorGetVirtualProcessorRegisters)
OFF(WHV_EMULATOR_CALLBACKS, WHvEmulatorSetVirtualProcessorRegisters)
OFF(WHV_EMULATOR_CALLBACKS, WHvEmulatorTranslateGvaPage)

VAL(meta__skew, WHVABI_SKEW)

/* Must stay last: the number of entries above. */
const whvabi_u64 whvabi_meta__entries = __COUNTER__ - whvabi_counter_base - 1;
