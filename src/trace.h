/*
 * trace.h - exit recording (trace.c) and the two emulation paths of api.c
 * it wraps. The recording format is docs/trace-format.md.
 */
#ifndef WHVEMU_TRACE_H
#define WHVEMU_TRACE_H

#include <stddef.h>

#include "emu.h"

#define TRACE_HEADER "whvemu-trace 1" /* the first line; the number is the format version */
#define TRACE_LINE_MAX 8192 /* the recorder's buffer: pieces handed to Write */

/* One emulation on handle state `h` (the live handle's, or the recorder's
 * copy with its forwarding callbacks): the HRESULT of the call, and on S_OK
 * the status in *st and the failure sentence in *why. api.c. */
HRESULT api_try_mmio(const struct emu_handle *h, void *ctx, const WHV_VP_EXIT_CONTEXT *vp,
                     const WHV_MEMORY_ACCESS_CONTEXT *mc, uint32_t *st, const char **why);
HRESULT api_try_io(const struct emu_handle *h, void *ctx, const WHV_VP_EXIT_CONTEXT *vp,
                   const WHV_X64_IO_PORT_ACCESS_CONTEXT *ioc, uint32_t *st, const char **why);

/* The same calls, recorded: eh is the held live handle with a recorder. */
HRESULT trace_try_mmio(struct emu_handle *eh, void *ctx, const WHV_VP_EXIT_CONTEXT *vp,
                       const WHV_MEMORY_ACCESS_CONTEXT *mc, uint32_t *st, const char **why);
HRESULT trace_try_io(struct emu_handle *eh, void *ctx, const WHV_VP_EXIT_CONTEXT *vp,
                     const WHV_X64_IO_PORT_ACCESS_CONTEXT *ioc, uint32_t *st, const char **why);

/* Frees a handle's recorder (NULL is fine). */
void trace_free(struct trace_state *t);

/* The recording's name of a register ("Rax", "Xmm0", "InterruptState": the
 * SDK name without WHvX64Register / WHvRegister), or NULL if unknown. */
const char *trace_reg_name(WHV_REGISTER_NAME n);
/* The register a name of trace_reg_name's spelling (len bytes, case
 * sensitive) stands for; 0 if none, 1 if found. */
int trace_reg_lookup(const char *name, size_t len, WHV_REGISTER_NAME *out);

#endif /* WHVEMU_TRACE_H */
