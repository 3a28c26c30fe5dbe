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
 * Must not be called while a Try* call on the same handle is running.
 * Returns NULL for a NULL or foreign handle. */
WHVEMU_API const char *whvemu_last_failure(WHV_EMULATOR_HANDLE Emulator);

#ifdef __cplusplus
}
#endif

#endif /* WHVEMU_H */
