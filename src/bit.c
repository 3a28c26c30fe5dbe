/*
 * bit.c - BT BTS BTR BTC. With a register bit offset and a memory operand
 * the offset is signed and selects an operand-sized unit beyond the
 * addressed one (SDM Vol. 2 BT: "bit base / bit offset"); with an immediate
 * the offset is taken modulo the operand size. CF receives the bit; ZF is
 * kept; OF SF AF PF are undefined and kept here. Also the bit scans (BSF
 * BSR), TZCNT, LZCNT and POPCNT.
 */
#include "emu.h"
#include "mem.h"

enum bit_op { BT, BTS, BTR, BTC };

static enum rc bitop(struct emu *e, const struct insn *in, enum bit_op op)
{
    unsigned size = in->op[0].size, bits = 8 * size;
    uint64_t ofs;
    TRY(op_read(e, in, 1, &ofs));
    uint64_t v, bit;
    uint8_t seg = 0;
    uint64_t addr = 0;
    bool beyond = in->op[0].type == OPND_MEM && in->op[1].type == OPND_REG;
    if (beyond) {
        /* The operand-sized unit is offset SAR log2(bits), computed on
         * unsigned values so no offset (INT64_MIN included) overflows; the
         * address wraps at the address size (SDM Vol. 2 BT). */
        unsigned shift = size == 2 ? 4 : size == 4 ? 5 : 6;
        uint64_t u = sign_extend(ofs, size);
        uint64_t unit = u >> shift;
        if (u >> 63)
            unit |= ~(~(uint64_t)0 >> shift);
        TRY(op_addr(e, in, 0, &seg, &addr));
        addr = (addr + unit * size) & addr_mask(in->addrsize);
        bit = u & (bits - 1);
        uint8_t buf[8];
        TRY(mem_read(e, seg, addr, size, op == BT ? ACC_R : ACC_R | ACC_W, buf));
        v = 0;
        for (unsigned i = 0; i < size; i++)
            v |= (uint64_t)buf[i] << (8 * i);
    } else {
        bit = ofs & (bits - 1);
        TRY(op_read(e, in, 0, &v));
    }
    uint64_t mask = (uint64_t)1 << bit;
    uint64_t cf = (v & mask) ? 1 : 0;
    uint64_t r = v;
    if (op == BTS)
        r = v | mask;
    else if (op == BTR)
        r = v & ~mask;
    else if (op == BTC)
        r = v ^ mask;
    if (op != BT) {
        if (beyond) {
            uint8_t buf[8];
            for (unsigned i = 0; i < size; i++)
                buf[i] = (uint8_t)(r >> (8 * i));
            TRY(mem_write(e, seg, addr, size, ACC_R | ACC_W, buf));
        } else {
            TRY(op_write(e, in, 0, r));
        }
    }
    uint32_t keep = (uint32_t)vcpu_rflags(e) & (FL_OF | FL_SF | FL_AF | FL_PF);
    flags_set(e, in, keep | (cf ? FL_CF : 0));
    return RC_OK;
}

enum rc bit_bt(struct emu *e, const struct insn *in) { return bitop(e, in, BT); }
enum rc bit_bts(struct emu *e, const struct insn *in) { return bitop(e, in, BTS); }
enum rc bit_btr(struct emu *e, const struct insn *in) { return bitop(e, in, BTR); }
enum rc bit_btc(struct emu *e, const struct insn *in) { return bitop(e, in, BTC); }

/* BSF/BSR: the index of the lowest/highest set bit; ZF and the destination
 * unchanged for a zero source (the SDM leaves the destination undefined;
 * processors keep it). CF OF SF AF PF are undefined and kept. */
static enum rc scan(struct emu *e, const struct insn *in, bool reverse)
{
    uint64_t v, n = 0;
    unsigned size = in->op[0].size;
    TRY(op_read(e, in, 1, &v));
    v &= size_mask(size);
    uint32_t keep = (uint32_t)vcpu_rflags(e) & (FL_CF | FL_OF | FL_SF | FL_AF | FL_PF);
    if (v == 0) {
        flags_set(e, in, keep | FL_ZF);
        return RC_OK;
    }
    if (reverse)
        for (n = 8 * size - 1; !((v >> n) & 1); n--)
            ;
    else
        for (n = 0; !((v >> n) & 1); n++)
            ;
    TRY(op_write(e, in, 0, n));
    flags_set(e, in, keep);
    return RC_OK;
}

enum rc bit_bsf(struct emu *e, const struct insn *in) { return scan(e, in, false); }
enum rc bit_bsr(struct emu *e, const struct insn *in) { return scan(e, in, true); }

/* TZCNT/LZCNT: trailing/leading zero bits, the operand size for zero; CF
 * when the source is zero, ZF when the count is; OF SF AF PF undefined. */
static enum rc count_zeros(struct emu *e, const struct insn *in, bool leading)
{
    uint64_t v, n = 0;
    unsigned bits = 8 * in->op[0].size;
    TRY(op_read(e, in, 1, &v));
    v &= size_mask(in->op[0].size);
    if (leading)
        while (n < bits && !((v >> (bits - 1 - n)) & 1))
            n++;
    else
        while (n < bits && !((v >> n) & 1))
            n++;
    TRY(op_write(e, in, 0, n));
    uint32_t keep = (uint32_t)vcpu_rflags(e) & (FL_OF | FL_SF | FL_AF | FL_PF);
    flags_set(e, in, keep | (v == 0 ? FL_CF : 0) | (n == 0 ? FL_ZF : 0));
    return RC_OK;
}

enum rc bit_tzcnt(struct emu *e, const struct insn *in) { return count_zeros(e, in, false); }
enum rc bit_lzcnt(struct emu *e, const struct insn *in) { return count_zeros(e, in, true); }

/* POPCNT: the number of set bits; ZF for a zero source, the other
 * arithmetic flags cleared. */
enum rc bit_popcnt(struct emu *e, const struct insn *in)
{
    uint64_t v, n = 0;
    TRY(op_read(e, in, 1, &v));
    v &= size_mask(in->op[0].size);
    for (uint64_t x = v; x; x &= x - 1)
        n++;
    TRY(op_write(e, in, 0, n));
    flags_set(e, in, v == 0 ? FL_ZF : 0);
    return RC_OK;
}
