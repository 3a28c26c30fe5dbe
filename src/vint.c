/*
 * vint.c - SSE and AVX packed-integer instructions with a memory source:
 * compares (PCMPEQx, PCMPGTx), unsigned byte minimum and maximum, logic
 * (PAND PANDN POR PXOR), byte subtraction and PTEST. Legacy forms combine
 * the destination with the source; VEX forms take the first source from
 * vvvv. Elements are little-endian in the operand bytes.
 */
#include <string.h>

#include "emu.h"

enum vint_op { EQ, GT, MINU, MAXU, AND, ANDN, OR, XOR, SUB };

static uint64_t get_el(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void put_el(uint8_t *p, unsigned n, uint64_t v)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* dst = a op b element-wise over the destination's size. */
static enum rc binop(struct emu *e, const struct insn *in, enum vint_op op, unsigned el)
{
    uint8_t a[EMU_MAX_ACCESS], b[EMU_MAX_ACCESS], r[EMU_MAX_ACCESS];
    unsigned ia = in->nops == 3 ? 1 : 0, ib = ia + 1, size = in->op[0].size;
    TRY(op_read_vec(e, in, ib, b));
    TRY(op_read_vec(e, in, ia, a));
    uint64_t m = size_mask(el), sign = (uint64_t)1 << (8 * el - 1);
    for (unsigned i = 0; i < size; i += el) {
        uint64_t x = get_el(a + i, el), y = get_el(b + i, el), z;
        switch (op) {
        case EQ: z = x == y ? m : 0; break;
        case GT: z = (x ^ sign) > (y ^ sign) ? m : 0; break; /* signed compare */
        case MINU: z = x < y ? x : y; break;
        case MAXU: z = x > y ? x : y; break;
        case AND: z = x & y; break;
        case ANDN: z = ~x & y; break;
        case OR: z = x | y; break;
        case XOR: z = x ^ y; break;
        default: z = x - y; break;
        }
        put_el(r + i, el, z & m);
    }
    return op_write_vec(e, in, 0, r);
}

enum rc vint_pcmpeqb(struct emu *e, const struct insn *in) { return binop(e, in, EQ, 1); }
enum rc vint_pcmpeqw(struct emu *e, const struct insn *in) { return binop(e, in, EQ, 2); }
enum rc vint_pcmpeqd(struct emu *e, const struct insn *in) { return binop(e, in, EQ, 4); }
enum rc vint_pcmpeqq(struct emu *e, const struct insn *in) { return binop(e, in, EQ, 8); }
enum rc vint_pcmpgtb(struct emu *e, const struct insn *in) { return binop(e, in, GT, 1); }
enum rc vint_pcmpgtw(struct emu *e, const struct insn *in) { return binop(e, in, GT, 2); }
enum rc vint_pcmpgtd(struct emu *e, const struct insn *in) { return binop(e, in, GT, 4); }
enum rc vint_pminub(struct emu *e, const struct insn *in) { return binop(e, in, MINU, 1); }
enum rc vint_pmaxub(struct emu *e, const struct insn *in) { return binop(e, in, MAXU, 1); }
enum rc vint_pand(struct emu *e, const struct insn *in) { return binop(e, in, AND, 8); }
enum rc vint_pandn(struct emu *e, const struct insn *in) { return binop(e, in, ANDN, 8); }
enum rc vint_por(struct emu *e, const struct insn *in) { return binop(e, in, OR, 8); }
enum rc vint_pxor(struct emu *e, const struct insn *in) { return binop(e, in, XOR, 8); }
enum rc vint_psubb(struct emu *e, const struct insn *in) { return binop(e, in, SUB, 1); }

/* PTEST: ZF when (a AND b) is zero, CF when (NOT a AND b) is zero; OF, SF,
 * AF and PF cleared (SDM Vol. 2 PTEST). */
enum rc vint_ptest(struct emu *e, const struct insn *in)
{
    uint8_t a[EMU_MAX_ACCESS], b[EMU_MAX_ACCESS];
    unsigned size = in->op[0].size;
    TRY(op_read_vec(e, in, 1, b));
    TRY(op_read_vec(e, in, 0, a));
    uint8_t and_ = 0, andn = 0;
    for (unsigned i = 0; i < size; i++) {
        and_ |= a[i] & b[i];
        andn |= (uint8_t)(~a[i] & b[i]);
    }
    flags_set(e, in, (and_ ? 0 : FL_ZF) | (andn ? 0 : FL_CF));
    return RC_OK;
}
