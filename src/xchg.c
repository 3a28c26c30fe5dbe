/*
 * xchg.c - the exchanging instructions: XCHG, CMPXCHG, CMPXCHG8B/16B, XADD.
 * On MMIO a locked operation is one read then one write through the
 * callbacks. CMPXCHG writes the destination whatever the comparison gives,
 * as the processor does (SDM Vol. 2 CMPXCHG); registers change only after
 * the memory write succeeded.
 */
#include "emu.h"
#include "mem.h"

enum rc xchg_xchg(struct emu *e, const struct insn *in)
{
    uint64_t a, b;
    TRY(op_read(e, in, 0, &a));
    TRY(op_read(e, in, 1, &b));
    TRY(op_write(e, in, 0, b));
    return op_write(e, in, 1, a);
}

enum rc xchg_cmpxchg(struct emu *e, const struct insn *in)
{
    uint64_t d, s;
    unsigned size = in->op[0].size;
    TRY(op_read(e, in, 0, &d));
    TRY(op_read(e, in, 1, &s));
    uint64_t acc = vcpu_read_reg(e, GPR_RAX, size, false);
    uint64_t r = acc - d;
    bool eq = (r & size_mask(size)) == 0;
    TRY(op_write(e, in, 0, eq ? s : d));
    if (!eq)
        vcpu_write_reg(e, GPR_RAX, size, false, d);
    flags_set(e, in, flags_sub(acc, d, 0, r, size));
    return RC_OK;
}

static uint64_t le64(const uint8_t *b)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 8; i++)
        v |= (uint64_t)b[i] << (8 * i);
    return v;
}

static void put_le64(uint8_t *b, uint64_t v)
{
    for (unsigned i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

/* CMPXCHG8B m64 (EDX:EAX vs m64, ECX:EBX stored) and, with REX.W,
 * CMPXCHG16B m128, whose operand must be 16-byte aligned (#GP(0)). */
enum rc xchg_cmpxchgnb(struct emu *e, const struct insn *in)
{
    unsigned size = in->op[0].size, half = size / 2;
    uint8_t seg, buf[16];
    uint64_t off;
    uint8_t align = size == 16 ? ACC_ALIGN : 0;
    TRY(op_addr(e, in, 0, &seg, &off));
    TRY(mem_read(e, seg, off, size, ACC_R | ACC_W | align, buf));
    uint64_t lo, hi;
    if (half == 8) {
        lo = le64(buf);
        hi = le64(buf + 8);
    } else {
        uint64_t v = le64(buf);
        lo = v & 0xFFFFFFFFu;
        hi = v >> 32;
    }
    uint64_t ax = vcpu_read_reg(e, GPR_RAX, half, false);
    uint64_t dx = vcpu_read_reg(e, GPR_RDX, half, false);
    bool eq = lo == ax && hi == dx;
    if (eq) {
        uint64_t bx = vcpu_read_reg(e, GPR_RBX, half, false);
        uint64_t cx = vcpu_read_reg(e, GPR_RCX, half, false);
        if (half == 8) {
            put_le64(buf, bx);
            put_le64(buf + 8, cx);
        } else {
            put_le64(buf, (cx << 32) | bx);
        }
    }
    TRY(mem_write(e, seg, off, size, ACC_R | ACC_W | align, buf));
    if (!eq) {
        vcpu_write_reg(e, GPR_RAX, half, false, lo);
        vcpu_write_reg(e, GPR_RDX, half, false, hi);
    }
    uint32_t fl = (uint32_t)vcpu_rflags(e) & ~FL_ZF;
    flags_set(e, in, fl | (eq ? FL_ZF : 0));
    return RC_OK;
}

enum rc xchg_xadd(struct emu *e, const struct insn *in)
{
    uint64_t d, s;
    unsigned size = in->op[0].size;
    TRY(op_read(e, in, 0, &d));
    TRY(op_read(e, in, 1, &s));
    uint64_t r = (d + s) & size_mask(size);
    TRY(op_write(e, in, 0, r));
    TRY(op_write(e, in, 1, d));
    flags_set(e, in, flags_add(d, s, 0, r, size));
    return RC_OK;
}
