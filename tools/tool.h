/*
 * tool.h - what the whvemu tool's source files share.
 *
 * A subcommand is `int cmd_NAME(int argc, char **argv)` (argv[0] is the
 * subcommand's first argument, not its name) returning the exit status, plus
 * one row in the `commands` table of whvemu.c; it may live in its own file.
 */
#ifndef WHVEMU_TOOL_H
#define WHVEMU_TOOL_H

#include <stdio.h>

#include "WinHvEmulation.h"
#include "whvemu.h"

/* names.c */
const char *tool_reg_name(UINT32 reg); /* "Rax", "Cr4", "PendingInterruption"; NULL if unknown */
int tool_reg_lookup(const char *name, WHV_REGISTER_NAME *reg); /* case-insensitive; 0 if found */
int tool_strcaseeq(const char *a, const char *b);
void tool_print_reg(FILE *out, UINT32 reg);                 /* the name, or 0x... */
void tool_print_translate_flags(FILE *out, UINT32 flags);   /* WHvTranslateGvaFlag...|... */
const char *tool_translate_result_name(UINT32 result);      /* NULL if not documented */
void tool_print_status(FILE *out, UINT32 status);           /* EmulationSuccessful|... */
const char *tool_diag_reason_name(UINT32 reason);
const char *tool_diag_callback_name(UINT32 callback);
const char *tool_cpu_mode_name(UINT32 mode);

#endif /* WHVEMU_TOOL_H */
