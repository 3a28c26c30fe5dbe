/*
 * stack.c - PUSH and POP with a memory operand (FF /6, 8F /0). The stack
 * access goes through the memory layer like any other (SS, #SS on a
 * non-canonical address). POP computes an RSP-based destination address
 * after incrementing RSP (SDM Vol. 2 POP).
 */
#include "emu.h"
#include "mem.h"

uint64_t stack_addr_mask(const struct emu *e)
{
    if (e->mode == MODE_LONG64)
        return ~(uint64_t)0;
    return vcpu_seg(e, SEG_SS)->Default ? 0xFFFFFFFFu : 0xFFFFu;
}

enum rc stack_push_value(struct emu *e, uint64_t v, unsigned size)
{
    uint8_t buf[8];
    uint64_t m = stack_addr_mask(e);
    uint64_t sp = vcpu_gpr(e, GPR_RSP);
    uint64_t nsp = (sp & ~m) | ((sp - size) & m);
    le_store(buf, v, size);
    TRY(mem_write(e, SEG_SS, nsp & m, size, ACC_W, buf));
    vcpu_set_gpr(e, GPR_RSP, nsp);
    return RC_OK;
}

enum rc stack_push(struct emu *e, const struct insn *in)
{
    uint64_t v;
    TRY(op_read(e, in, 0, &v));
    return stack_push_value(e, v, in->op[0].size);
}

enum rc stack_pop(struct emu *e, const struct insn *in)
{
    unsigned size = in->op[0].size;
    uint8_t buf[8];
    uint64_t m = stack_addr_mask(e);
    uint64_t sp = vcpu_gpr(e, GPR_RSP);
    TRY(mem_read(e, SEG_SS, sp & m, size, ACC_R, buf));
    uint64_t v = le_load(buf, size);
    /* RSP is updated first so that [RSP+...] uses the new value; a fault in
     * the write drops it again (it is not REP progress). */
    vcpu_set_gpr(e, GPR_RSP, (sp & ~m) | ((sp + size) & m));
    return op_write(e, in, 0, v);
}
