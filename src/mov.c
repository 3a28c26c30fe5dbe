/*
 * mov.c - data movement without arithmetic: MOV (all forms, moffs,
 * immediates, MOVNTI), MOVZX, MOVSX, MOVSXD, MOVBE, CMOVcc, SETcc.
 * Handlers only use op_read/op_write; no flags change here.
 */
#include "emu.h"
#include "mem.h"

enum rc mov_mov(struct emu *e, const struct insn *in)
{
    uint64_t v;
    TRY(op_read(e, in, 1, &v));
    return op_write(e, in, 0, v);
}

enum rc mov_movzx(struct emu *e, const struct insn *in)
{
    uint64_t v;
    TRY(op_read(e, in, 1, &v));
    return op_write(e, in, 0, v);
}

enum rc mov_movsx(struct emu *e, const struct insn *in)
{
    uint64_t v;
    TRY(op_read(e, in, 1, &v));
    return op_write(e, in, 0, sign_extend(v, in->op[1].size));
}

/* MOVBE: byte-swapped move between a register and memory (SDM Vol. 2). */
enum rc mov_movbe(struct emu *e, const struct insn *in)
{
    uint64_t v, r = 0;
    unsigned n = in->op[0].size;
    TRY(op_read(e, in, 1, &v));
    for (unsigned i = 0; i < n; i++)
        r |= ((v >> (8 * i)) & 0xFF) << (8 * (n - 1 - i));
    return op_write(e, in, 0, r);
}

/* CMOVcc reads its source even when the condition is false; with a false
 * condition a 32-bit destination is still zero-extended in 64-bit mode. */
enum rc mov_cmov(struct emu *e, const struct insn *in)
{
    uint64_t v;
    TRY(op_read(e, in, 1, &v));
    if (!flags_cond((uint32_t)vcpu_rflags(e), in->opcode & 0xF)) {
        if (in->op[0].size != 4)
            return RC_OK;
        TRY(op_read(e, in, 0, &v));
    }
    return op_write(e, in, 0, v);
}

enum rc mov_setcc(struct emu *e, const struct insn *in)
{
    return op_write(e, in, 0, flags_cond((uint32_t)vcpu_rflags(e), in->opcode & 0xF) ? 1 : 0);
}

/* MOVDIR64B: 64 bytes from the ModRM source to ES:[the register's address,
 * by the address size], which must be 64-byte aligned (#GP(0)); the store
 * reaches the device as eight 8-byte pieces (SDM Vol. 2 MOVDIR64B). */
enum rc mov_movdir64b(struct emu *e, const struct insn *in)
{
    uint8_t buf[64], seg;
    uint64_t off;
    uint64_t dst = vcpu_gpr(e, in->reg) & addr_mask(in->addrsize);
    /* The destination is checked (alignment, segment, paging) before the
     * source is read, so a faulting store causes no device reads. */
    TRY(mem_check(e, SEG_ES, dst, 64, ACC_W | ACC_ALIGN));
    TRY(op_addr(e, in, 1, &seg, &off));
    TRY(mem_read(e, seg, off, 64, ACC_R, buf));
    return mem_write(e, SEG_ES, dst, 64, ACC_W | ACC_ALIGN, buf);
}
