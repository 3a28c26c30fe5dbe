/*
 * cache.c - cache-control instructions with a memory operand. CLFLUSH,
 * CLFLUSHOPT and CLWB move no data but are checked like a one-byte read:
 * segmentation, canonical form and paging faults as the CPU raises them
 * (SDM Vol. 2 CLFLUSH). The prefetch hints never fault and do nothing.
 */
#include "emu.h"
#include "mem.h"

enum rc cache_flush(struct emu *e, const struct insn *in)
{
    uint8_t seg;
    uint64_t off;
    TRY(op_addr(e, in, 0, &seg, &off));
    return mem_check(e, seg, off, 1, ACC_R);
}

enum rc cache_hint(struct emu *e, const struct insn *in)
{
    (void)e;
    (void)in;
    return RC_OK;
}
