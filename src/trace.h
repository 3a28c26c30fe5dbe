/*
 * trace.h - exit recording (trace.c), used by the Try functions (api.c).
 * The recording format is docs/trace-format.md.
 */
#ifndef WHVEMU_TRACE_H
#define WHVEMU_TRACE_H

#include <stddef.h>

#include "emu.h"

#define TRACE_HEADER "whvemu-trace 1" /* the first line; the number is the format version */
#define TRACE_LINE_MAX 8192 /* the recorder's buffer: pieces handed to Write */

/* The Context the forwarders get: the live handle (the VMM's callbacks and
 * the recorder) and the VMM's own Context. */
struct trace_call {
    const struct emu_handle *eh;
    void *ctx;
};

/* One recorded Try call: the handle state the emulation runs on (a copy of
 * the live handle's with the forwarders as callbacks) and their Context. */
struct trace_run {
    struct emu_handle h;
    struct trace_call call;
};

/* Record the exit (eh: the held live handle with a recorder) and set up
 * *run; returns run. */
struct trace_run *trace_mmio_begin(struct trace_run *run, const struct emu_handle *eh, void *ctx,
                                   const WHV_VP_EXIT_CONTEXT *vp,
                                   const WHV_MEMORY_ACCESS_CONTEXT *mc);
struct trace_run *trace_io_begin(struct trace_run *run, const struct emu_handle *eh, void *ctx,
                                 const WHV_VP_EXIT_CONTEXT *vp,
                                 const WHV_X64_IO_PORT_ACCESS_CONTEXT *ioc);
/* Record the call's result (status 0 unless hr is S_OK). */
void trace_end(const struct trace_run *run, HRESULT hr, uint32_t st);

/* Frees a handle's recorder (NULL is fine). */
void trace_free(struct trace_state *t);

/* The recording's name of a register ("Rax", "Xmm0", "InterruptState": the
 * SDK name without WHvX64Register / WHvRegister), or NULL if unknown. */
const char *trace_reg_name(WHV_REGISTER_NAME n);
/* The register a name of trace_reg_name's spelling (len bytes, case
 * sensitive) stands for; 0 if none, 1 if found. */
int trace_reg_lookup(const char *name, size_t len, WHV_REGISTER_NAME *out);

#endif /* WHVEMU_TRACE_H */
