/*
 * handle.h - live emulator handles (handle.c). A handle value is never
 * dereferenced: it names a registry slot, and a stale, wild or forged value
 * is refused.
 */
#ifndef WHVEMU_HANDLE_H
#define WHVEMU_HANDLE_H

#include "emu.h"

/* Registers eh and returns its handle value; E_OUTOFMEMORY when full. */
HRESULT handle_register(struct emu_handle *eh, WHV_EMULATOR_HANDLE *out);
/* Takes a live, idle handle for one call: its state, or NULL when the value
 * is not a live handle or a call already holds it. */
struct emu_handle *handle_acquire(WHV_EMULATOR_HANDLE h);
/* Gives back a handle taken with handle_acquire. */
void handle_release(struct emu_handle *eh);
/* Ends a live, idle handle: its state (for the caller to free), or NULL. */
struct emu_handle *handle_unregister(WHV_EMULATOR_HANDLE h);
/* Frees a handle's state and everything it owns (the guest-RAM list). */
void handle_free(struct emu_handle *eh);
/* Replaces the guest-RAM list of a handle the caller holds (handle_acquire)
 * with *m, which it takes over, and frees the old list. The claim makes the
 * swap exclusive with every Try* call on the handle; the claim's release
 * publishes it to the next one. */
void handle_set_ram(struct emu_handle *eh, const struct ram_map *m);

#endif /* WHVEMU_HANDLE_H */
