/*
 * handle.c - the registry of live emulator handles: the one piece of
 * process-wide state, so that a handle value that is stale (destroyed),
 * wild or forged is refused without ever being dereferenced.
 *
 * A handle is not a pointer: it encodes a slot number and the slot's
 * generation. A slot's state word holds that generation and whether the slot
 * is free, idle or held by a call; taking and giving back a handle are one
 * compare-exchange each, so a handle is never freed while a call holds it.
 * Slots live in chunks that are allocated on demand and never freed.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "handle.h"

#define SLOT_FREE 0u
#define SLOT_IDLE 1u
#define SLOT_BUSY 2u
#define STATE(gen, st) ((uint64_t)(gen) << 2 | (st))
#define STATE_GEN(s) ((s) >> 2)
#define STATE_ST(s) ((unsigned)((s)&3u))

#define CHUNK_SLOTS 256u
#define CHUNKS 256u /* at most 65,536 live handles */

/* Handle value: tag | generation | slot. The generation is never 0. */
#if UINTPTR_MAX > 0xFFFFFFFFu
#define H_SLOT_BITS 16
#define H_GEN_BITS 32
#define H_TAG ((uintptr_t)0x5748u << 48)
#define H_TAG_MASK ((uintptr_t)0xFFFFu << 48)
#else
#define H_SLOT_BITS 16
#define H_GEN_BITS 15
#define H_TAG ((uintptr_t)1u << 31)
#define H_TAG_MASK ((uintptr_t)1u << 31)
#endif
#define H_GEN_MASK ((((uint64_t)1) << H_GEN_BITS) - 1)

struct slot {
    _Atomic uint64_t state;
    struct emu_handle *_Atomic ptr;
};

static struct slot *_Atomic chunks[CHUNKS];
static atomic_flag alloc_lock = ATOMIC_FLAG_INIT;

static uintptr_t encode(unsigned idx, uint64_t gen)
{
    return H_TAG | (uintptr_t)((gen & H_GEN_MASK) << H_SLOT_BITS) | (uintptr_t)idx;
}

/* The slot a handle names and the generation it carries, or NULL. */
static struct slot *decode(WHV_EMULATOR_HANDLE h, uint64_t *gen)
{
    uintptr_t v = (uintptr_t)h;
    if ((v & H_TAG_MASK) != H_TAG)
        return NULL;
    unsigned idx = (unsigned)(v & ((1u << H_SLOT_BITS) - 1));
    *gen = (uint64_t)(v >> H_SLOT_BITS) & H_GEN_MASK;
    if (*gen == 0 || (v & ~H_TAG_MASK) >> (H_SLOT_BITS + H_GEN_BITS))
        return NULL;
    struct slot *c = atomic_load_explicit(&chunks[idx / CHUNK_SLOTS], memory_order_acquire);
    return c ? &c[idx % CHUNK_SLOTS] : NULL;
}

static bool slot_gen_matches(uint64_t state, uint64_t gen)
{
    return (STATE_GEN(state) & H_GEN_MASK) == gen;
}

/* The next generation after `gen`: within the bits a handle carries, and
 * never 0, so that a slot's state holds exactly the generation its
 * handles encode. */
static uint64_t next_gen(uint64_t gen)
{
    gen = (gen + 1) & H_GEN_MASK;
    return gen ? gen : 1;
}

HRESULT handle_register(struct emu_handle *eh, WHV_EMULATOR_HANDLE *out)
{
    while (atomic_flag_test_and_set_explicit(&alloc_lock, memory_order_acquire))
        ;
    HRESULT hr = E_OUTOFMEMORY;
    for (unsigned c = 0; c < CHUNKS && hr != S_OK; c++) {
        struct slot *chunk = atomic_load_explicit(&chunks[c], memory_order_acquire);
        if (!chunk) {
            chunk = calloc(CHUNK_SLOTS, sizeof(*chunk));
            if (!chunk)
                break;
            for (unsigned i = 0; i < CHUNK_SLOTS; i++)
                atomic_init(&chunk[i].state, STATE(0, SLOT_FREE));
            atomic_store_explicit(&chunks[c], chunk, memory_order_release);
        }
        for (unsigned i = 0; i < CHUNK_SLOTS; i++) {
            struct slot *s = &chunk[i];
            uint64_t st = atomic_load_explicit(&s->state, memory_order_acquire);
            if (STATE_ST(st) != SLOT_FREE)
                continue;
            uint64_t gen = next_gen(STATE_GEN(st));
            eh->slot = s;
            eh->idle = STATE(gen, SLOT_IDLE);
            atomic_store_explicit(&s->ptr, eh, memory_order_relaxed);
            atomic_store_explicit(&s->state, STATE(gen, SLOT_IDLE), memory_order_release);
            *out = (WHV_EMULATOR_HANDLE)encode(c * CHUNK_SLOTS + i, gen);
            hr = S_OK;
            break;
        }
    }
    atomic_flag_clear_explicit(&alloc_lock, memory_order_release);
    return hr;
}

/* One compare-exchange from idle, of the generation the handle carries, to
 * busy: a free, busy or re-used slot does not match. */
struct emu_handle *handle_acquire(WHV_EMULATOR_HANDLE h)
{
    uint64_t gen;
    struct slot *s = decode(h, &gen);
    if (!s)
        return NULL;
    uint64_t st = STATE(gen, SLOT_IDLE);
    if (!atomic_compare_exchange_strong_explicit(&s->state, &st, STATE(gen, SLOT_BUSY),
                                                 memory_order_acquire, memory_order_relaxed))
        return NULL;
    return atomic_load_explicit(&s->ptr, memory_order_relaxed);
}

void handle_release(struct emu_handle *eh)
{
    struct slot *s = eh->slot;
    atomic_store_explicit(&s->state, eh->idle, memory_order_release);
}

struct emu_handle *handle_unregister(WHV_EMULATOR_HANDLE h)
{
    uint64_t gen;
    struct slot *s = decode(h, &gen);
    if (!s)
        return NULL;
    uint64_t st = atomic_load_explicit(&s->state, memory_order_acquire);
    if (STATE_ST(st) != SLOT_IDLE || !slot_gen_matches(st, gen))
        return NULL;
    struct emu_handle *eh = atomic_load_explicit(&s->ptr, memory_order_relaxed);
    if (!atomic_compare_exchange_strong_explicit(&s->state, &st, STATE(STATE_GEN(st), SLOT_FREE),
                                                 memory_order_acq_rel, memory_order_relaxed))
        return NULL;
    return eh;
}

void handle_free(struct emu_handle *eh)
{
    if (!eh)
        return;
    ram_map_free(&eh->ram);
    free(eh);
}

void handle_set_ram(struct emu_handle *eh, const struct ram_map *m)
{
    struct ram_map old = eh->ram;
    eh->ram = *m;
    eh->ram_miss = RAM_MISS_NONE;
    ram_map_free(&old);
}
