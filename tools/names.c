/*
 * names.c - names for the numbers the whvemu tool prints: register names
 * (the WHV_REGISTER_NAME enumerators of WinHvPlatformDefs.h without their
 * WHvX64Register / WHvRegister prefix), translate flags and result codes,
 * emulator status bits and diagnostics reasons.
 */
#include <stdio.h>
#include <string.h>

#include "regnames.h"
#include "tool.h"


const char *tool_reg_name(UINT32 reg)
{
    return regname_of((WHV_REGISTER_NAME)reg);
}

int tool_reg_lookup(const char *name, WHV_REGISTER_NAME *reg)
{
    WHV_REGISTER_NAME num;
    const char *rn;
    for (unsigned i = 0; (rn = regname_at(i, &num)) != NULL; i++)
        if (tool_strcaseeq(rn, name)) {
            *reg = num;
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
