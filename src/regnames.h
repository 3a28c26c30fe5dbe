/*
 * regnames.h - register names (regnames.c).
 */
#ifndef WHVEMU_REGNAMES_H
#define WHVEMU_REGNAMES_H

#include "WinHvPlatformDefs.h"

/* "Rax" for WHvX64RegisterRax and so on; NULL for a value without a name. */
const char *regname_of(WHV_REGISTER_NAME n);
/* The i-th named register (for lookups by name), or NULL past the end. */
const char *regname_at(unsigned i, WHV_REGISTER_NAME *num);

#endif /* WHVEMU_REGNAMES_H */
