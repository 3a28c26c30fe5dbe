/*
 * dcache.c - the handle's cache of decoded instructions.
 *
 * Decoding is a pure function of the bytes it reads and of the CPU mode.
 * A VMM's exits come from few instruction sites (a driver's device-register
 * accesses), so each handle keeps its last few decoded forms and reuses one
 * when the same bytes arrive again in the same mode: the key is the mode and
 * exactly the `len` bytes the decoder read, and an exit must hold at least
 * those bytes. Only successful decodes are kept.
 */
#include <string.h>

#include "emu.h"

static uint64_t low_bytes_mask(unsigned n)
{
    return n >= 8 ? ~(uint64_t)0 : (((uint64_t)1 << (8 * n)) - 1);
}

void dcache_init(struct dcache *dc)
{
    for (unsigned i = 0; i < DCACHE_ENTRIES; i++)
        dc->e[i].mode = DCACHE_NO_MODE;
    dc->next = 0;
    dc->last = 0;
}

const struct dcache_entry *dcache_search(struct dcache *dc, uint8_t mode, const uint64_t b[2],
                                         unsigned nbytes)
{
    for (unsigned i = 0; i < DCACHE_ENTRIES; i++) {
        if (dcache_holds(&dc->e[i], mode, b, nbytes)) {
            dc->last = (uint8_t)i;
            return &dc->e[i];
        }
    }
    return NULL;
}

const struct insn *dcache_find(struct dcache *dc, uint8_t mode, const uint8_t bytes[16],
                               unsigned nbytes)
{
    const struct dcache_entry *d = dcache_lookup(dc, mode, bytes, nbytes);
    return d ? &d->in : NULL;
}

struct insn *dcache_slot(struct dcache *dc)
{
    struct dcache_entry *d = &dc->e[dc->next];
    d->mode = DCACHE_NO_MODE;
    return &d->in;
}

void dcache_keep(struct dcache *dc, uint8_t mode, const uint8_t bytes[16])
{
    struct dcache_entry *d = &dc->e[dc->next];
    uint64_t b[2];
    memcpy(b, bytes, 16);
    unsigned len = d->in.len;
    d->mask[0] = low_bytes_mask(len);
    d->mask[1] = len > 8 ? low_bytes_mask(len - 8) : 0;
    d->key[0] = b[0] & d->mask[0];
    d->key[1] = b[1] & d->mask[1];
    fast_plan(&d->in, (enum cpu_mode)mode, &d->plan);
    d->mode = mode;
    dc->next = (uint8_t)((dc->next + 1) % DCACHE_ENTRIES);
}
