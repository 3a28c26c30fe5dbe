/*
 * names.c - names for the numbers the whvemu tool prints: register names
 * (the WHV_REGISTER_NAME enumerators of WinHvPlatformDefs.h without their
 * WHvX64Register / WHvRegister prefix), translate flags and result codes,
 * emulator status bits and diagnostics reasons.
 */
#include <stdio.h>
#include <string.h>

#include "tool.h"

static const struct {
    WHV_REGISTER_NAME reg;
    const char *name;
} reg_names[] = {
    {WHvX64RegisterRax, "Rax"},
    {WHvX64RegisterRcx, "Rcx"},
    {WHvX64RegisterRdx, "Rdx"},
    {WHvX64RegisterRbx, "Rbx"},
    {WHvX64RegisterRsp, "Rsp"},
    {WHvX64RegisterRbp, "Rbp"},
    {WHvX64RegisterRsi, "Rsi"},
    {WHvX64RegisterRdi, "Rdi"},
    {WHvX64RegisterR8, "R8"},
    {WHvX64RegisterR9, "R9"},
    {WHvX64RegisterR10, "R10"},
    {WHvX64RegisterR11, "R11"},
    {WHvX64RegisterR12, "R12"},
    {WHvX64RegisterR13, "R13"},
    {WHvX64RegisterR14, "R14"},
    {WHvX64RegisterR15, "R15"},
    {WHvX64RegisterRip, "Rip"},
    {WHvX64RegisterRflags, "Rflags"},
    {WHvX64RegisterEs, "Es"},
    {WHvX64RegisterCs, "Cs"},
    {WHvX64RegisterSs, "Ss"},
    {WHvX64RegisterDs, "Ds"},
    {WHvX64RegisterFs, "Fs"},
    {WHvX64RegisterGs, "Gs"},
    {WHvX64RegisterLdtr, "Ldtr"},
    {WHvX64RegisterTr, "Tr"},
    {WHvX64RegisterIdtr, "Idtr"},
    {WHvX64RegisterGdtr, "Gdtr"},
    {WHvX64RegisterCr0, "Cr0"},
    {WHvX64RegisterCr2, "Cr2"},
    {WHvX64RegisterCr3, "Cr3"},
    {WHvX64RegisterCr4, "Cr4"},
    {WHvX64RegisterCr8, "Cr8"},
    {WHvX64RegisterDr0, "Dr0"},
    {WHvX64RegisterDr1, "Dr1"},
    {WHvX64RegisterDr2, "Dr2"},
    {WHvX64RegisterDr3, "Dr3"},
    {WHvX64RegisterDr6, "Dr6"},
    {WHvX64RegisterDr7, "Dr7"},
    {WHvX64RegisterXCr0, "XCr0"},
    {WHvX64RegisterVirtualCr0, "VirtualCr0"},
    {WHvX64RegisterVirtualCr3, "VirtualCr3"},
    {WHvX64RegisterVirtualCr4, "VirtualCr4"},
    {WHvX64RegisterVirtualCr8, "VirtualCr8"},
    {WHvX64RegisterXmm0, "Xmm0"},
    {WHvX64RegisterXmm1, "Xmm1"},
    {WHvX64RegisterXmm2, "Xmm2"},
    {WHvX64RegisterXmm3, "Xmm3"},
    {WHvX64RegisterXmm4, "Xmm4"},
    {WHvX64RegisterXmm5, "Xmm5"},
    {WHvX64RegisterXmm6, "Xmm6"},
    {WHvX64RegisterXmm7, "Xmm7"},
    {WHvX64RegisterXmm8, "Xmm8"},
    {WHvX64RegisterXmm9, "Xmm9"},
    {WHvX64RegisterXmm10, "Xmm10"},
    {WHvX64RegisterXmm11, "Xmm11"},
    {WHvX64RegisterXmm12, "Xmm12"},
    {WHvX64RegisterXmm13, "Xmm13"},
    {WHvX64RegisterXmm14, "Xmm14"},
    {WHvX64RegisterXmm15, "Xmm15"},
    {WHvX64RegisterFpMmx0, "FpMmx0"},
    {WHvX64RegisterFpMmx1, "FpMmx1"},
    {WHvX64RegisterFpMmx2, "FpMmx2"},
    {WHvX64RegisterFpMmx3, "FpMmx3"},
    {WHvX64RegisterFpMmx4, "FpMmx4"},
    {WHvX64RegisterFpMmx5, "FpMmx5"},
    {WHvX64RegisterFpMmx6, "FpMmx6"},
    {WHvX64RegisterFpMmx7, "FpMmx7"},
    {WHvX64RegisterFpControlStatus, "FpControlStatus"},
    {WHvX64RegisterXmmControlStatus, "XmmControlStatus"},
    {WHvX64RegisterTsc, "Tsc"},
    {WHvX64RegisterEfer, "Efer"},
    {WHvX64RegisterKernelGsBase, "KernelGsBase"},
    {WHvX64RegisterApicBase, "ApicBase"},
    {WHvX64RegisterPat, "Pat"},
    {WHvX64RegisterSysenterCs, "SysenterCs"},
    {WHvX64RegisterSysenterEip, "SysenterEip"},
    {WHvX64RegisterSysenterEsp, "SysenterEsp"},
    {WHvX64RegisterStar, "Star"},
    {WHvX64RegisterLstar, "Lstar"},
    {WHvX64RegisterCstar, "Cstar"},
    {WHvX64RegisterSfmask, "Sfmask"},
    {WHvX64RegisterInitialApicId, "InitialApicId"},
    {WHvX64RegisterMsrMtrrCap, "MsrMtrrCap"},
    {WHvX64RegisterMsrMtrrDefType, "MsrMtrrDefType"},
    {WHvX64RegisterMsrMtrrPhysBase0, "MsrMtrrPhysBase0"},
    {WHvX64RegisterMsrMtrrPhysBase1, "MsrMtrrPhysBase1"},
    {WHvX64RegisterMsrMtrrPhysBase2, "MsrMtrrPhysBase2"},
    {WHvX64RegisterMsrMtrrPhysBase3, "MsrMtrrPhysBase3"},
    {WHvX64RegisterMsrMtrrPhysBase4, "MsrMtrrPhysBase4"},
    {WHvX64RegisterMsrMtrrPhysBase5, "MsrMtrrPhysBase5"},
    {WHvX64RegisterMsrMtrrPhysBase6, "MsrMtrrPhysBase6"},
    {WHvX64RegisterMsrMtrrPhysBase7, "MsrMtrrPhysBase7"},
    {WHvX64RegisterMsrMtrrPhysBase8, "MsrMtrrPhysBase8"},
    {WHvX64RegisterMsrMtrrPhysBase9, "MsrMtrrPhysBase9"},
    {WHvX64RegisterMsrMtrrPhysBaseA, "MsrMtrrPhysBaseA"},
    {WHvX64RegisterMsrMtrrPhysBaseB, "MsrMtrrPhysBaseB"},
    {WHvX64RegisterMsrMtrrPhysBaseC, "MsrMtrrPhysBaseC"},
    {WHvX64RegisterMsrMtrrPhysBaseD, "MsrMtrrPhysBaseD"},
    {WHvX64RegisterMsrMtrrPhysBaseE, "MsrMtrrPhysBaseE"},
    {WHvX64RegisterMsrMtrrPhysBaseF, "MsrMtrrPhysBaseF"},
    {WHvX64RegisterMsrMtrrPhysMask0, "MsrMtrrPhysMask0"},
    {WHvX64RegisterMsrMtrrPhysMask1, "MsrMtrrPhysMask1"},
    {WHvX64RegisterMsrMtrrPhysMask2, "MsrMtrrPhysMask2"},
    {WHvX64RegisterMsrMtrrPhysMask3, "MsrMtrrPhysMask3"},
    {WHvX64RegisterMsrMtrrPhysMask4, "MsrMtrrPhysMask4"},
    {WHvX64RegisterMsrMtrrPhysMask5, "MsrMtrrPhysMask5"},
    {WHvX64RegisterMsrMtrrPhysMask6, "MsrMtrrPhysMask6"},
    {WHvX64RegisterMsrMtrrPhysMask7, "MsrMtrrPhysMask7"},
    {WHvX64RegisterMsrMtrrPhysMask8, "MsrMtrrPhysMask8"},
    {WHvX64RegisterMsrMtrrPhysMask9, "MsrMtrrPhysMask9"},
    {WHvX64RegisterMsrMtrrPhysMaskA, "MsrMtrrPhysMaskA"},
    {WHvX64RegisterMsrMtrrPhysMaskB, "MsrMtrrPhysMaskB"},
    {WHvX64RegisterMsrMtrrPhysMaskC, "MsrMtrrPhysMaskC"},
    {WHvX64RegisterMsrMtrrPhysMaskD, "MsrMtrrPhysMaskD"},
    {WHvX64RegisterMsrMtrrPhysMaskE, "MsrMtrrPhysMaskE"},
    {WHvX64RegisterMsrMtrrPhysMaskF, "MsrMtrrPhysMaskF"},
    {WHvX64RegisterMsrMtrrFix64k00000, "MsrMtrrFix64k00000"},
    {WHvX64RegisterMsrMtrrFix16k80000, "MsrMtrrFix16k80000"},
    {WHvX64RegisterMsrMtrrFix16kA0000, "MsrMtrrFix16kA0000"},
    {WHvX64RegisterMsrMtrrFix4kC0000, "MsrMtrrFix4kC0000"},
    {WHvX64RegisterMsrMtrrFix4kC8000, "MsrMtrrFix4kC8000"},
    {WHvX64RegisterMsrMtrrFix4kD0000, "MsrMtrrFix4kD0000"},
    {WHvX64RegisterMsrMtrrFix4kD8000, "MsrMtrrFix4kD8000"},
    {WHvX64RegisterMsrMtrrFix4kE0000, "MsrMtrrFix4kE0000"},
    {WHvX64RegisterMsrMtrrFix4kE8000, "MsrMtrrFix4kE8000"},
    {WHvX64RegisterMsrMtrrFix4kF0000, "MsrMtrrFix4kF0000"},
    {WHvX64RegisterMsrMtrrFix4kF8000, "MsrMtrrFix4kF8000"},
    {WHvX64RegisterTscAux, "TscAux"},
    {WHvX64RegisterBndcfgs, "Bndcfgs"},
    {WHvX64RegisterMCount, "MCount"},
    {WHvX64RegisterACount, "ACount"},
    {WHvX64RegisterSpecCtrl, "SpecCtrl"},
    {WHvX64RegisterPredCmd, "PredCmd"},
    {WHvX64RegisterTscVirtualOffset, "TscVirtualOffset"},
    {WHvX64RegisterTsxCtrl, "TsxCtrl"},
    {WHvX64RegisterXss, "Xss"},
    {WHvX64RegisterUCet, "UCet"},
    {WHvX64RegisterSCet, "SCet"},
    {WHvX64RegisterSsp, "Ssp"},
    {WHvX64RegisterPl0Ssp, "Pl0Ssp"},
    {WHvX64RegisterPl1Ssp, "Pl1Ssp"},
    {WHvX64RegisterPl2Ssp, "Pl2Ssp"},
    {WHvX64RegisterPl3Ssp, "Pl3Ssp"},
    {WHvX64RegisterInterruptSspTableAddr, "InterruptSspTableAddr"},
    {WHvX64RegisterTscDeadline, "TscDeadline"},
    {WHvX64RegisterTscAdjust, "TscAdjust"},
    {WHvX64RegisterUmwaitControl, "UmwaitControl"},
    {WHvX64RegisterXfd, "Xfd"},
    {WHvX64RegisterXfdErr, "XfdErr"},
    {WHvX64RegisterApicId, "ApicId"},
    {WHvX64RegisterApicVersion, "ApicVersion"},
    {WHvX64RegisterApicTpr, "ApicTpr"},
    {WHvX64RegisterApicPpr, "ApicPpr"},
    {WHvX64RegisterApicEoi, "ApicEoi"},
    {WHvX64RegisterApicLdr, "ApicLdr"},
    {WHvX64RegisterApicSpurious, "ApicSpurious"},
    {WHvX64RegisterApicIsr0, "ApicIsr0"},
    {WHvX64RegisterApicIsr1, "ApicIsr1"},
    {WHvX64RegisterApicIsr2, "ApicIsr2"},
    {WHvX64RegisterApicIsr3, "ApicIsr3"},
    {WHvX64RegisterApicIsr4, "ApicIsr4"},
    {WHvX64RegisterApicIsr5, "ApicIsr5"},
    {WHvX64RegisterApicIsr6, "ApicIsr6"},
    {WHvX64RegisterApicIsr7, "ApicIsr7"},
    {WHvX64RegisterApicTmr0, "ApicTmr0"},
    {WHvX64RegisterApicTmr1, "ApicTmr1"},
    {WHvX64RegisterApicTmr2, "ApicTmr2"},
    {WHvX64RegisterApicTmr3, "ApicTmr3"},
    {WHvX64RegisterApicTmr4, "ApicTmr4"},
    {WHvX64RegisterApicTmr5, "ApicTmr5"},
    {WHvX64RegisterApicTmr6, "ApicTmr6"},
    {WHvX64RegisterApicTmr7, "ApicTmr7"},
    {WHvX64RegisterApicIrr0, "ApicIrr0"},
    {WHvX64RegisterApicIrr1, "ApicIrr1"},
    {WHvX64RegisterApicIrr2, "ApicIrr2"},
    {WHvX64RegisterApicIrr3, "ApicIrr3"},
    {WHvX64RegisterApicIrr4, "ApicIrr4"},
    {WHvX64RegisterApicIrr5, "ApicIrr5"},
    {WHvX64RegisterApicIrr6, "ApicIrr6"},
    {WHvX64RegisterApicIrr7, "ApicIrr7"},
    {WHvX64RegisterApicEse, "ApicEse"},
    {WHvX64RegisterApicIcr, "ApicIcr"},
    {WHvX64RegisterApicLvtTimer, "ApicLvtTimer"},
    {WHvX64RegisterApicLvtThermal, "ApicLvtThermal"},
    {WHvX64RegisterApicLvtPerfmon, "ApicLvtPerfmon"},
    {WHvX64RegisterApicLvtLint0, "ApicLvtLint0"},
    {WHvX64RegisterApicLvtLint1, "ApicLvtLint1"},
    {WHvX64RegisterApicLvtError, "ApicLvtError"},
    {WHvX64RegisterApicInitCount, "ApicInitCount"},
    {WHvX64RegisterApicCurrentCount, "ApicCurrentCount"},
    {WHvX64RegisterApicDivide, "ApicDivide"},
    {WHvX64RegisterApicSelfIpi, "ApicSelfIpi"},
    {WHvRegisterSint0, "Sint0"},
    {WHvRegisterSint1, "Sint1"},
    {WHvRegisterSint2, "Sint2"},
    {WHvRegisterSint3, "Sint3"},
    {WHvRegisterSint4, "Sint4"},
    {WHvRegisterSint5, "Sint5"},
    {WHvRegisterSint6, "Sint6"},
    {WHvRegisterSint7, "Sint7"},
    {WHvRegisterSint8, "Sint8"},
    {WHvRegisterSint9, "Sint9"},
    {WHvRegisterSint10, "Sint10"},
    {WHvRegisterSint11, "Sint11"},
    {WHvRegisterSint12, "Sint12"},
    {WHvRegisterSint13, "Sint13"},
    {WHvRegisterSint14, "Sint14"},
    {WHvRegisterSint15, "Sint15"},
    {WHvRegisterScontrol, "Scontrol"},
    {WHvRegisterSversion, "Sversion"},
    {WHvRegisterSiefp, "Siefp"},
    {WHvRegisterSimp, "Simp"},
    {WHvRegisterEom, "Eom"},
    {WHvRegisterVpRuntime, "VpRuntime"},
    {WHvX64RegisterHypercall, "Hypercall"},
    {WHvRegisterGuestOsId, "GuestOsId"},
    {WHvRegisterVpAssistPage, "VpAssistPage"},
    {WHvRegisterReferenceTsc, "ReferenceTsc"},
    {WHvRegisterReferenceTscSequence, "ReferenceTscSequence"},
    {WHvRegisterPendingInterruption, "PendingInterruption"},
    {WHvRegisterInterruptState, "InterruptState"},
    {WHvRegisterPendingEvent, "PendingEvent"},
    {WHvX64RegisterDeliverabilityNotifications, "DeliverabilityNotifications"},
    {WHvRegisterInternalActivityState, "InternalActivityState"},
    {WHvX64RegisterPendingDebugException, "PendingDebugException"},
};

const char *tool_reg_name(UINT32 reg)
{
    for (size_t i = 0; i < sizeof(reg_names) / sizeof(reg_names[0]); i++)
        if ((UINT32)reg_names[i].reg == reg)
            return reg_names[i].name;
    return NULL;
}

int tool_reg_lookup(const char *name, WHV_REGISTER_NAME *reg)
{
    for (size_t i = 0; i < sizeof(reg_names) / sizeof(reg_names[0]); i++)
        if (tool_strcaseeq(reg_names[i].name, name)) {
            *reg = reg_names[i].reg;
            return 0;
        }
    return -1;
}

int tool_strcaseeq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
        char y = *b >= 'A' && *b <= 'Z' ? (char)(*b - 'A' + 'a') : *b;
        if (x != y)
            return 0;
    }
    return *a == *b;
}

void tool_print_reg(FILE *out, UINT32 reg)
{
    const char *n = tool_reg_name(reg);
    if (n)
        fputs(n, out);
    else
        fprintf(out, "0x%x", (unsigned)reg);
}

struct bit_name {
    UINT32 bit;
    const char *name;
};

/* Bits by name, joined with '|'; leftover bits in hex; "0" for none. */
static void print_bits(FILE *out, UINT32 v, const struct bit_name *t, size_t n, const char *none)
{
    const char *sep = "";
    if (v == 0) {
        fputs(none, out);
        return;
    }
    for (size_t i = 0; i < n; i++)
        if (v & t[i].bit) {
            fprintf(out, "%s%s", sep, t[i].name);
            sep = "|";
            v &= ~t[i].bit;
        }
    if (v)
        fprintf(out, "%s0x%x", sep, (unsigned)v);
}

void tool_print_translate_flags(FILE *out, UINT32 flags)
{
    static const struct bit_name t[] = {
        {WHvTranslateGvaFlagValidateRead, "WHvTranslateGvaFlagValidateRead"},
        {WHvTranslateGvaFlagValidateWrite, "WHvTranslateGvaFlagValidateWrite"},
        {WHvTranslateGvaFlagValidateExecute, "WHvTranslateGvaFlagValidateExecute"},
        {WHvTranslateGvaFlagPrivilegeExempt, "WHvTranslateGvaFlagPrivilegeExempt"},
        {WHvTranslateGvaFlagSetPageTableBits, "WHvTranslateGvaFlagSetPageTableBits"},
        {WHvTranslateGvaFlagEnforceSmap, "WHvTranslateGvaFlagEnforceSmap"},
        {WHvTranslateGvaFlagOverrideSmap, "WHvTranslateGvaFlagOverrideSmap"},
    };
    print_bits(out, flags, t, sizeof(t) / sizeof(t[0]), "WHvTranslateGvaFlagNone");
}

const char *tool_translate_result_name(UINT32 result)
{
    static const char *const names[] = {
        "WHvTranslateGvaResultSuccess",
        "WHvTranslateGvaResultPageNotPresent",
        "WHvTranslateGvaResultPrivilegeViolation",
        "WHvTranslateGvaResultInvalidPageTableFlags",
        "WHvTranslateGvaResultGpaUnmapped",
        "WHvTranslateGvaResultGpaNoReadAccess",
        "WHvTranslateGvaResultGpaNoWriteAccess",
        "WHvTranslateGvaResultGpaIllegalOverlayAccess",
        "WHvTranslateGvaResultIntercept",
    };
    return result < sizeof(names) / sizeof(names[0]) ? names[result] : NULL;
}

void tool_print_status(FILE *out, UINT32 status)
{
    static const struct bit_name t[] = {
        {1u << 0, "EmulationSuccessful"},
        {1u << 1, "InternalEmulationFailure"},
        {1u << 2, "IoPortCallbackFailed"},
        {1u << 3, "MemoryCallbackFailed"},
        {1u << 4, "TranslateGvaPageCallbackFailed"},
        {1u << 5, "TranslateGvaPageCallbackGpaIsNotAligned"},
        {1u << 6, "GetVirtualProcessorRegistersCallbackFailed"},
        {1u << 7, "SetVirtualProcessorRegistersCallbackFailed"},
        {1u << 8, "InterruptCausedIntercept"},
        {1u << 9, "GuestCannotBeFaulted"},
    };
    print_bits(out, status, t, sizeof(t) / sizeof(t[0]), "0");
}

const char *tool_diag_reason_name(UINT32 reason)
{
    static const char *const names[] = {
        "WHVEMU_DIAG_NONE",           "WHVEMU_DIAG_NOT_EMULATED",
        "WHVEMU_DIAG_INVALID_ENCODING", "WHVEMU_DIAG_CALLBACK_FAILED",
        "WHVEMU_DIAG_INCONSISTENT_EXIT", "WHVEMU_DIAG_INTERRUPTION_PENDING",
        "WHVEMU_DIAG_FAULT_INJECTED", "WHVEMU_DIAG_INTERNAL",
    };
    return reason < sizeof(names) / sizeof(names[0]) ? names[reason] : "?";
}

const char *tool_diag_callback_name(UINT32 cb)
{
    static const char *const names[] = {
        "none", "WHvEmulatorIoPortCallback", "WHvEmulatorMemoryCallback",
        "WHvEmulatorGetVirtualProcessorRegisters", "WHvEmulatorSetVirtualProcessorRegisters",
        "WHvEmulatorTranslateGvaPage", "xstate callback",
    };
    return cb < sizeof(names) / sizeof(names[0]) ? names[cb] : "?";
}

const char *tool_cpu_mode_name(UINT32 mode)
{
    static const char *const names[] = {"real", "v86", "prot16", "prot32",
                                        "compat16", "compat32", "long64"};
    return mode < sizeof(names) / sizeof(names[0]) ? names[mode] : "?";
}
