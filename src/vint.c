/*
 * vint.c - SSE and AVX packed-integer instructions with a memory source:
 * compares (PCMPEQx, PCMPGTx), unsigned byte minimum and maximum, logic
 * (PAND PANDN POR PXOR), byte subtraction and PTEST. Legacy forms combine
 * the destination with the source; VEX forms take the first source from
 * vvvv. Elements are little-endian in the operand bytes.
 */
#include <string.h>

#include "emu.h"

enum vint_op {
    V_EQ, V_GT, V_MINU, V_MAXU, V_AND, V_ANDN, V_OR, V_XOR, V_SUB, V_ADD, V_ADDS, V_ADDUS, V_SUBS, V_SUBUS, V_MINS, V_MAXS, V_AVG,
    V_MULL, V_MULHS, V_MULHU,
};

/* The signed value of an el-byte element. */
static int64_t sx(uint64_t v, unsigned el)
{
    return (int64_t)sign_extend(v, el);
}

/* v clamped to the signed or unsigned range of an el-byte element. */
static uint64_t sat(int64_t v, unsigned el, bool sgn)
{
    int64_t lo = sgn ? -((int64_t)1 << (8 * el - 1)) : 0;
    int64_t hi = sgn ? ((int64_t)1 << (8 * el - 1)) - 1 : ((int64_t)1 << (8 * el)) - 1;
    return (uint64_t)(v < lo ? lo : v > hi ? hi : v);
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
        uint64_t x = le_load(a + i, el), y = le_load(b + i, el), z;
        switch (op) {
        case V_ADD: z = x + y; break;
        case V_ADDS: z = sat(sx(x, el) + sx(y, el), el, true); break;
        case V_ADDUS: z = sat((int64_t)(x + y), el, false); break;
        case V_SUBS: z = sat(sx(x, el) - sx(y, el), el, true); break;
        case V_SUBUS: z = x > y ? x - y : 0; break;
        case V_MINS: z = sx(x, el) < sx(y, el) ? x : y; break;
        case V_MAXS: z = sx(x, el) > sx(y, el) ? x : y; break;
        case V_AVG: z = (x + y + 1) >> 1; break;
        case V_MULL: z = x * y; break;
        case V_MULHS: z = (uint64_t)(sx(x, el) * sx(y, el)) >> (8 * el); break;
        case V_MULHU: z = (x * y) >> (8 * el); break;
        case V_EQ: z = x == y ? m : 0; break;
        case V_GT: z = (x ^ sign) > (y ^ sign) ? m : 0; break; /* signed compare */
        case V_MINU: z = x < y ? x : y; break;
        case V_MAXU: z = x > y ? x : y; break;
        case V_AND: z = x & y; break;
        case V_ANDN: z = ~x & y; break;
        case V_OR: z = x | y; break;
        case V_XOR: z = x ^ y; break;
        default: z = x - y; break;
        }
        le_store(r + i, z & m, el);
    }
    return op_write_vec(e, in, 0, r);
}

enum rc vint_pcmpeqb(struct emu *e, const struct insn *in) { return binop(e, in, V_EQ, 1); }
enum rc vint_pcmpeqw(struct emu *e, const struct insn *in) { return binop(e, in, V_EQ, 2); }
enum rc vint_pcmpeqd(struct emu *e, const struct insn *in) { return binop(e, in, V_EQ, 4); }
enum rc vint_pcmpeqq(struct emu *e, const struct insn *in) { return binop(e, in, V_EQ, 8); }
enum rc vint_pcmpgtb(struct emu *e, const struct insn *in) { return binop(e, in, V_GT, 1); }
enum rc vint_pcmpgtw(struct emu *e, const struct insn *in) { return binop(e, in, V_GT, 2); }
enum rc vint_pcmpgtd(struct emu *e, const struct insn *in) { return binop(e, in, V_GT, 4); }
enum rc vint_pminub(struct emu *e, const struct insn *in) { return binop(e, in, V_MINU, 1); }
enum rc vint_pmaxub(struct emu *e, const struct insn *in) { return binop(e, in, V_MAXU, 1); }
enum rc vint_pand(struct emu *e, const struct insn *in) { return binop(e, in, V_AND, 8); }
enum rc vint_pandn(struct emu *e, const struct insn *in) { return binop(e, in, V_ANDN, 8); }
enum rc vint_por(struct emu *e, const struct insn *in) { return binop(e, in, V_OR, 8); }
enum rc vint_pxor(struct emu *e, const struct insn *in) { return binop(e, in, V_XOR, 8); }
enum rc vint_psubb(struct emu *e, const struct insn *in) { return binop(e, in, V_SUB, 1); }

/* PTEST: ZF when (a V_AND b) is zero, CF when (NOT a V_AND b) is zero; OF, SF,
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

/* EVEX compares and tests into an opmask: bit i for element i where the
 * predicate holds and the instruction's own opmask enables it; the bits
 * above the element count are zero (SDM Vol. 2 VPCMPB, VPTESTMB). */
enum kpred { K_EQ, K_LT, K_LE, K_FALSE, K_NE, K_NLT, K_NLE, K_TRUE, K_TESTM, K_TESTNM };

static enum rc kcmp(struct emu *e, const struct insn *in, enum kpred pred, unsigned el, bool sgn)
{
    uint8_t a[EMU_MAX_ACCESS], b[EMU_MAX_ACCESS], k[8];
    unsigned size = in->op[1].size;
    TRY(op_read_vec(e, in, 2, b));
    TRY(op_read_vec(e, in, 1, a));
    uint64_t bits = 0, sign = sgn ? (uint64_t)1 << (8 * el - 1) : 0;
    for (unsigned i = 0; i < size / el; i++) {
        uint64_t x = le_load(a + el * i, el) ^ sign, y = le_load(b + el * i, el) ^ sign;
        bool t;
        switch (pred) {
        case K_EQ: t = x == y; break;
        case K_LT: t = x < y; break;
        case K_LE: t = x <= y; break;
        case K_FALSE: t = false; break;
        case K_NE: t = x != y; break;
        case K_NLT: t = x >= y; break;
        case K_NLE: t = x > y; break;
        case K_TRUE: t = true; break;
        case K_TESTM: t = (x & y) != 0; break;
        default: t = (x & y) == 0; break; /* K_TESTNM */
        }
        if (t && op_mask_on(e, in, i))
            bits |= (uint64_t)1 << i;
    }
    le_store(k, bits, 8);
    return op_write_vec(e, in, 0, k);
}

enum rc vint_kpcmpeqb(struct emu *e, const struct insn *in) { return kcmp(e, in, K_EQ, 1, false); }
enum rc vint_kpcmpeqw(struct emu *e, const struct insn *in) { return kcmp(e, in, K_EQ, 2, false); }
enum rc vint_kpcmpeqd(struct emu *e, const struct insn *in) { return kcmp(e, in, K_EQ, 4, false); }
enum rc vint_kpcmpeqq(struct emu *e, const struct insn *in) { return kcmp(e, in, K_EQ, 8, false); }
enum rc vint_kptestmb(struct emu *e, const struct insn *in) { return kcmp(e, in, K_TESTM, 1, false); }
enum rc vint_kptestnmb(struct emu *e, const struct insn *in) { return kcmp(e, in, K_TESTNM, 1, false); }
enum rc vint_kptestmd(struct emu *e, const struct insn *in) { return kcmp(e, in, K_TESTM, 4, false); }
enum rc vint_kptestnmd(struct emu *e, const struct insn *in) { return kcmp(e, in, K_TESTNM, 4, false); }

/* VPCMP[U]B/D/Q with the predicate in imm8[2:0]. */
enum rc vint_kpcmpb(struct emu *e, const struct insn *in) { return kcmp(e, in, (enum kpred)(in->imm8 & 7), 1, true); }
enum rc vint_kpcmpub(struct emu *e, const struct insn *in) { return kcmp(e, in, (enum kpred)(in->imm8 & 7), 1, false); }
enum rc vint_kpcmpd(struct emu *e, const struct insn *in) { return kcmp(e, in, (enum kpred)(in->imm8 & 7), 4, true); }
enum rc vint_kpcmpud(struct emu *e, const struct insn *in) { return kcmp(e, in, (enum kpred)(in->imm8 & 7), 4, false); }
enum rc vint_kpcmpq(struct emu *e, const struct insn *in) { return kcmp(e, in, (enum kpred)(in->imm8 & 7), 8, true); }
enum rc vint_kpcmpuq(struct emu *e, const struct insn *in) { return kcmp(e, in, (enum kpred)(in->imm8 & 7), 8, false); }

enum rc vint_pminud(struct emu *e, const struct insn *in) { return binop(e, in, V_MINU, 4); }

/* VPTERNLOGD/Q: each result bit is imm8[dest:src1:src2] of the three
 * operands' bits; the destination is also the first input. */
enum rc vint_pternlog(struct emu *e, const struct insn *in)
{
    uint8_t a[EMU_MAX_ACCESS], b[EMU_MAX_ACCESS], c[EMU_MAX_ACCESS], r[EMU_MAX_ACCESS];
    unsigned size = in->op[0].size;
    TRY(op_read_vec(e, in, 2, c));
    TRY(op_read_vec(e, in, 1, b));
    TRY(op_read_vec(e, in, 0, a));
    for (unsigned i = 0; i < size; i++) {
        uint8_t v = 0;
        for (unsigned bit = 0; bit < 8; bit++) {
            unsigned idx = ((a[i] >> bit) & 1) << 2 | ((b[i] >> bit) & 1) << 1 | ((c[i] >> bit) & 1);
            v |= (uint8_t)(((in->imm8 >> idx) & 1) << bit);
        }
        r[i] = v;
    }
    return op_write_vec(e, in, 0, r);
}

enum rc vint_paddb(struct emu *e, const struct insn *in) { return binop(e, in, V_ADD, 1); }
enum rc vint_paddw(struct emu *e, const struct insn *in) { return binop(e, in, V_ADD, 2); }
enum rc vint_paddd(struct emu *e, const struct insn *in) { return binop(e, in, V_ADD, 4); }
enum rc vint_paddq(struct emu *e, const struct insn *in) { return binop(e, in, V_ADD, 8); }
enum rc vint_psubw(struct emu *e, const struct insn *in) { return binop(e, in, V_SUB, 2); }
enum rc vint_psubd(struct emu *e, const struct insn *in) { return binop(e, in, V_SUB, 4); }
enum rc vint_psubq(struct emu *e, const struct insn *in) { return binop(e, in, V_SUB, 8); }
enum rc vint_paddsb(struct emu *e, const struct insn *in) { return binop(e, in, V_ADDS, 1); }
enum rc vint_paddsw(struct emu *e, const struct insn *in) { return binop(e, in, V_ADDS, 2); }
enum rc vint_paddusb(struct emu *e, const struct insn *in) { return binop(e, in, V_ADDUS, 1); }
enum rc vint_paddusw(struct emu *e, const struct insn *in) { return binop(e, in, V_ADDUS, 2); }
enum rc vint_psubsb(struct emu *e, const struct insn *in) { return binop(e, in, V_SUBS, 1); }
enum rc vint_psubsw(struct emu *e, const struct insn *in) { return binop(e, in, V_SUBS, 2); }
enum rc vint_psubusb(struct emu *e, const struct insn *in) { return binop(e, in, V_SUBUS, 1); }
enum rc vint_psubusw(struct emu *e, const struct insn *in) { return binop(e, in, V_SUBUS, 2); }
enum rc vint_pminsb(struct emu *e, const struct insn *in) { return binop(e, in, V_MINS, 1); }
enum rc vint_pminsw(struct emu *e, const struct insn *in) { return binop(e, in, V_MINS, 2); }
enum rc vint_pminsd(struct emu *e, const struct insn *in) { return binop(e, in, V_MINS, 4); }
enum rc vint_pmaxsb(struct emu *e, const struct insn *in) { return binop(e, in, V_MAXS, 1); }
enum rc vint_pmaxsw(struct emu *e, const struct insn *in) { return binop(e, in, V_MAXS, 2); }
enum rc vint_pmaxsd(struct emu *e, const struct insn *in) { return binop(e, in, V_MAXS, 4); }
enum rc vint_pminuw(struct emu *e, const struct insn *in) { return binop(e, in, V_MINU, 2); }
enum rc vint_pmaxuw(struct emu *e, const struct insn *in) { return binop(e, in, V_MAXU, 2); }
enum rc vint_pmaxud(struct emu *e, const struct insn *in) { return binop(e, in, V_MAXU, 4); }
enum rc vint_pavgb(struct emu *e, const struct insn *in) { return binop(e, in, V_AVG, 1); }
enum rc vint_pavgw(struct emu *e, const struct insn *in) { return binop(e, in, V_AVG, 2); }
enum rc vint_pmullw(struct emu *e, const struct insn *in) { return binop(e, in, V_MULL, 2); }
enum rc vint_pmulld(struct emu *e, const struct insn *in) { return binop(e, in, V_MULL, 4); }
enum rc vint_pmulhw(struct emu *e, const struct insn *in) { return binop(e, in, V_MULHS, 2); }
enum rc vint_pmulhuw(struct emu *e, const struct insn *in) { return binop(e, in, V_MULHU, 2); }
enum rc vint_pcmpgtq(struct emu *e, const struct insn *in) { return binop(e, in, V_GT, 8); }

/* Operands of a two-source form: the legacy destination or VEX vvvv, and
 * the memory source. */
static enum rc two_sources(struct emu *e, const struct insn *in, uint8_t *a, uint8_t *b)
{
    unsigned ia = in->nops == 3 ? 1 : 0;
    TRY(op_read_vec(e, in, ia + 1, b));
    return op_read_vec(e, in, ia, a);
}

/* PMULUDQ: the even dwords multiplied unsigned into qwords. */
enum rc vint_pmuludq(struct emu *e, const struct insn *in)
{
    uint8_t a[EMU_MAX_ACCESS], b[EMU_MAX_ACCESS], r[EMU_MAX_ACCESS];
    TRY(two_sources(e, in, a, b));
    for (unsigned i = 0; i < in->op[0].size; i += 8)
        le_store(r + i, le_load(a + i, 4) * le_load(b + i, 4), 8);
    return op_write_vec(e, in, 0, r);
}

/* PMADDWD: signed word products, adjacent pairs summed into dwords. */
enum rc vint_pmaddwd(struct emu *e, const struct insn *in)
{
    uint8_t a[EMU_MAX_ACCESS], b[EMU_MAX_ACCESS], r[EMU_MAX_ACCESS];
    TRY(two_sources(e, in, a, b));
    for (unsigned i = 0; i < in->op[0].size; i += 4) {
        int64_t s = sx(le_load(a + i, 2), 2) * sx(le_load(b + i, 2), 2) +
                    sx(le_load(a + i + 2, 2), 2) * sx(le_load(b + i + 2, 2), 2);
        le_store(r + i, (uint64_t)s, 4);
    }
    return op_write_vec(e, in, 0, r);
}

/* PSADBW: per qword, the sum of the absolute byte differences in its low
 * word, the rest zero. */
enum rc vint_psadbw(struct emu *e, const struct insn *in)
{
    uint8_t a[EMU_MAX_ACCESS], b[EMU_MAX_ACCESS], r[EMU_MAX_ACCESS];
    TRY(two_sources(e, in, a, b));
    for (unsigned i = 0; i < in->op[0].size; i += 8) {
        uint64_t sum = 0;
        for (unsigned j = 0; j < 8; j++)
            sum += a[i + j] > b[i + j] ? a[i + j] - b[i + j] : b[i + j] - a[i + j];
        le_store(r + i, sum, 8);
    }
    return op_write_vec(e, in, 0, r);
}

/* PABSB/W/D: the absolute value of each element of the source (the most
 * negative value stays as it is). */
static enum rc pabs(struct emu *e, const struct insn *in, unsigned el)
{
    uint8_t a[EMU_MAX_ACCESS], r[EMU_MAX_ACCESS];
    TRY(op_read_vec(e, in, 1, a));
    for (unsigned i = 0; i < in->op[0].size; i += el) {
        int64_t v = sx(le_load(a + i, el), el);
        le_store(r + i, (uint64_t)(v < 0 ? -v : v), el);
    }
    return op_write_vec(e, in, 0, r);
}

enum rc vint_pabsb(struct emu *e, const struct insn *in) { return pabs(e, in, 1); }
enum rc vint_pabsw(struct emu *e, const struct insn *in) { return pabs(e, in, 2); }
enum rc vint_pabsd(struct emu *e, const struct insn *in) { return pabs(e, in, 4); }

/* VPSLLVD/Q, VPSRLVD/Q, VPSRAVD (Vx, Hx, Wx): each element of H shifted by
 * the count in the same element of W, taken whole as unsigned; a count of
 * the element width or more gives zero (logical) or the sign (arithmetic). */
enum vshift { VS_LL, VS_RL, VS_RA };

static enum rc var_shift(struct emu *e, const struct insn *in, enum vshift k, unsigned el)
{
    uint8_t a[EMU_MAX_ACCESS], c[EMU_MAX_ACCESS], r[EMU_MAX_ACCESS];
    TRY(op_read_vec(e, in, 2, c));
    TRY(op_read_vec(e, in, 1, a));
    unsigned bits = 8 * el;
    for (unsigned i = 0; i < in->op[0].size; i += el) {
        uint64_t x = le_load(a + i, el), n = le_load(c + i, el), z;
        if (k == VS_RA)
            z = (uint64_t)(sx(x, el) >> (n < bits ? n : bits - 1));
        else if (n >= bits)
            z = 0;
        else
            z = k == VS_LL ? x << n : x >> n;
        le_store(r + i, z, el);
    }
    return op_write_vec(e, in, 0, r);
}

enum rc vint_vpsllvd(struct emu *e, const struct insn *in) { return var_shift(e, in, VS_LL, 4); }
enum rc vint_vpsllvq(struct emu *e, const struct insn *in) { return var_shift(e, in, VS_LL, 8); }
enum rc vint_vpsrlvd(struct emu *e, const struct insn *in) { return var_shift(e, in, VS_RL, 4); }
enum rc vint_vpsrlvq(struct emu *e, const struct insn *in) { return var_shift(e, in, VS_RL, 8); }
enum rc vint_vpsravd(struct emu *e, const struct insn *in) { return var_shift(e, in, VS_RA, 4); }

/* VTESTPS/VTESTPD: PTEST on the sign bits of the elements only: ZF when no
 * element has both sign bits set, CF when no element has W's sign bit set
 * and V's clear; OF, SF, AF, PF cleared (SDM Vol. 2 VTESTPD/VTESTPS). */
static enum rc vtest(struct emu *e, const struct insn *in, unsigned el)
{
    uint8_t a[EMU_MAX_ACCESS], b[EMU_MAX_ACCESS];
    TRY(op_read_vec(e, in, 1, b));
    TRY(op_read_vec(e, in, 0, a));
    uint8_t and_ = 0, andn = 0;
    for (unsigned i = el - 1; i < in->op[0].size; i += el) {
        and_ |= a[i] & b[i] & 0x80;
        andn |= (uint8_t)(~a[i] & b[i] & 0x80);
    }
    flags_set(e, in, (and_ ? 0 : FL_ZF) | (andn ? 0 : FL_CF));
    return RC_OK;
}

enum rc vint_vtestps(struct emu *e, const struct insn *in) { return vtest(e, in, 4); }
enum rc vint_vtestpd(struct emu *e, const struct insn *in) { return vtest(e, in, 8); }


/* EVEX-only element sizes: qword minimum, maximum, product, absolute value. */
enum rc vint_pminsq(struct emu *e, const struct insn *in) { return binop(e, in, V_MINS, 8); }
enum rc vint_pmaxsq(struct emu *e, const struct insn *in) { return binop(e, in, V_MAXS, 8); }
enum rc vint_pminuq(struct emu *e, const struct insn *in) { return binop(e, in, V_MINU, 8); }
enum rc vint_pmaxuq(struct emu *e, const struct insn *in) { return binop(e, in, V_MAXU, 8); }
enum rc vint_pmullq(struct emu *e, const struct insn *in) { return binop(e, in, V_MULL, 8); }
enum rc vint_pabsq(struct emu *e, const struct insn *in) { return pabs(e, in, 8); }

/* EVEX VPCMPGTB/W/D/Q into an opmask: signed greater than. */
enum rc vint_kpcmpgtb(struct emu *e, const struct insn *in) { return kcmp(e, in, K_NLE, 1, true); }
enum rc vint_kpcmpgtw(struct emu *e, const struct insn *in) { return kcmp(e, in, K_NLE, 2, true); }
enum rc vint_kpcmpgtd(struct emu *e, const struct insn *in) { return kcmp(e, in, K_NLE, 4, true); }
enum rc vint_kpcmpgtq(struct emu *e, const struct insn *in) { return kcmp(e, in, K_NLE, 8, true); }

/* Shifts of each element: left, right logical or right arithmetic. A count
 * of the element width or more gives zero, or the sign in every bit. */
enum shift_kind { SH_LEFT, SH_RIGHT, SH_ARITH };
enum shift_count { CNT_IMM, CNT_XMM, CNT_VAR };

static uint64_t shift_elem(uint64_t x, uint64_t c, unsigned el, enum shift_kind k)
{
    if (c >= 8u * el)
        return k == SH_ARITH && sx(x, el) < 0 ? size_mask(el) : 0;
    if (k == SH_LEFT)
        return (x << c) & size_mask(el);
    if (k == SH_RIGHT)
        return x >> c;
    return (uint64_t)(sx(x, el) >> c) & size_mask(el);
}

/* The count comes from imm8 (the data is the r/m operand, the destination
 * vvvv), from the low qword of an XMM or m128 operand (one count for every
 * element), or from the matching element of the r/m operand (VPSxxV). */
static enum rc vshift(struct emu *e, const struct insn *in, unsigned el, enum shift_kind k,
                      enum shift_count cnt)
{
    uint8_t a[EMU_MAX_ACCESS], c[EMU_MAX_ACCESS], r[EMU_MAX_ACCESS];
    unsigned size = in->op[0].size;
    if (cnt == CNT_IMM) {
        TRY(op_read_vec(e, in, 1, a));
        memset(c, 0, sizeof c);
        c[0] = in->imm8;
    } else {
        TRY(op_read_vec(e, in, 2, c));
        TRY(op_read_vec(e, in, 1, a));
    }
    uint64_t one = le_load(c, 8);
    for (unsigned i = 0; i < size; i += el) {
        uint64_t n = cnt == CNT_VAR ? le_load(c + i, el) : one;
        le_store(r + i, shift_elem(le_load(a + i, el), n, el, k), el);
    }
    return op_write_vec(e, in, 0, r);
}

#define VINT_SHIFTS(sfx, cnt)                                                                      \
    enum rc vint_psllw##sfx(struct emu *e, const struct insn *in) { return vshift(e, in, 2, SH_LEFT, cnt); } \
    enum rc vint_pslld##sfx(struct emu *e, const struct insn *in) { return vshift(e, in, 4, SH_LEFT, cnt); } \
    enum rc vint_psllq##sfx(struct emu *e, const struct insn *in) { return vshift(e, in, 8, SH_LEFT, cnt); } \
    enum rc vint_psrlw##sfx(struct emu *e, const struct insn *in) { return vshift(e, in, 2, SH_RIGHT, cnt); } \
    enum rc vint_psrld##sfx(struct emu *e, const struct insn *in) { return vshift(e, in, 4, SH_RIGHT, cnt); } \
    enum rc vint_psrlq##sfx(struct emu *e, const struct insn *in) { return vshift(e, in, 8, SH_RIGHT, cnt); } \
    enum rc vint_psraw##sfx(struct emu *e, const struct insn *in) { return vshift(e, in, 2, SH_ARITH, cnt); } \
    enum rc vint_psrad##sfx(struct emu *e, const struct insn *in) { return vshift(e, in, 4, SH_ARITH, cnt); } \
    enum rc vint_psraq##sfx(struct emu *e, const struct insn *in) { return vshift(e, in, 8, SH_ARITH, cnt); }
VINT_SHIFTS(_i, CNT_IMM)
VINT_SHIFTS(_m, CNT_XMM)
#undef VINT_SHIFTS
enum rc vint_psllvw(struct emu *e, const struct insn *in) { return vshift(e, in, 2, SH_LEFT, CNT_VAR); }
enum rc vint_psllvd(struct emu *e, const struct insn *in) { return vshift(e, in, 4, SH_LEFT, CNT_VAR); }
enum rc vint_psllvq(struct emu *e, const struct insn *in) { return vshift(e, in, 8, SH_LEFT, CNT_VAR); }
enum rc vint_psrlvw(struct emu *e, const struct insn *in) { return vshift(e, in, 2, SH_RIGHT, CNT_VAR); }
enum rc vint_psrlvd(struct emu *e, const struct insn *in) { return vshift(e, in, 4, SH_RIGHT, CNT_VAR); }
enum rc vint_psrlvq(struct emu *e, const struct insn *in) { return vshift(e, in, 8, SH_RIGHT, CNT_VAR); }
enum rc vint_psravw(struct emu *e, const struct insn *in) { return vshift(e, in, 2, SH_ARITH, CNT_VAR); }
enum rc vint_psravd(struct emu *e, const struct insn *in) { return vshift(e, in, 4, SH_ARITH, CNT_VAR); }
enum rc vint_psravq(struct emu *e, const struct insn *in) { return vshift(e, in, 8, SH_ARITH, CNT_VAR); }

/* VPROLD/Q, VPRORD/Q (imm8: the data is the r/m operand, the destination
 * vvvv) and VPROLVD/Q, VPRORVD/Q (per element counts from r/m): rotates by
 * the count modulo the element width. */
static uint64_t rot_elem(uint64_t x, uint64_t c, unsigned el, bool left)
{
    unsigned bits = 8 * el, n = (unsigned)(c % bits);
    if (!n)
        return x;
    if (!left)
        n = bits - n;
    return ((x << n) | (x >> (bits - n))) & size_mask(el);
}

static enum rc vrot(struct emu *e, const struct insn *in, unsigned el, bool left, bool imm)
{
    uint8_t a[EMU_MAX_ACCESS], c[EMU_MAX_ACCESS], r[EMU_MAX_ACCESS];
    if (imm) {
        TRY(op_read_vec(e, in, 1, a));
    } else {
        TRY(op_read_vec(e, in, 2, c));
        TRY(op_read_vec(e, in, 1, a));
    }
    for (unsigned i = 0; i < in->op[0].size; i += el) {
        uint64_t n = imm ? in->imm8 : le_load(c + i, el);
        le_store(r + i, rot_elem(le_load(a + i, el), n, el, left), el);
    }
    return op_write_vec(e, in, 0, r);
}

enum rc vint_prold_i(struct emu *e, const struct insn *in) { return vrot(e, in, 4, true, true); }
enum rc vint_prolq_i(struct emu *e, const struct insn *in) { return vrot(e, in, 8, true, true); }
enum rc vint_prord_i(struct emu *e, const struct insn *in) { return vrot(e, in, 4, false, true); }
enum rc vint_prorq_i(struct emu *e, const struct insn *in) { return vrot(e, in, 8, false, true); }
enum rc vint_prolvd(struct emu *e, const struct insn *in) { return vrot(e, in, 4, true, false); }
enum rc vint_prolvq(struct emu *e, const struct insn *in) { return vrot(e, in, 8, true, false); }
enum rc vint_prorvd(struct emu *e, const struct insn *in) { return vrot(e, in, 4, false, false); }
enum rc vint_prorvq(struct emu *e, const struct insn *in) { return vrot(e, in, 8, false, false); }

/* VPMADDUBSW: unsigned bytes of vvvv times signed bytes of r/m, adjacent
 * products summed into words with signed saturation. VPMULHRSW: signed
 * word products, (p >> 14) + 1, bits 16:1. VPMULDQ: the even dwords
 * multiplied signed into qwords. */
enum rc vint_pmaddubsw(struct emu *e, const struct insn *in)
{
    uint8_t a[EMU_MAX_ACCESS], b[EMU_MAX_ACCESS], r[EMU_MAX_ACCESS];
    TRY(two_sources(e, in, a, b));
    for (unsigned i = 0; i < in->op[0].size; i += 2) {
        int64_t s = (int64_t)a[i] * (int8_t)b[i] + (int64_t)a[i + 1] * (int8_t)b[i + 1];
        le_store(r + i, sat(s, 2, true), 2);
    }
    return op_write_vec(e, in, 0, r);
}

enum rc vint_pmulhrsw(struct emu *e, const struct insn *in)
{
    uint8_t a[EMU_MAX_ACCESS], b[EMU_MAX_ACCESS], r[EMU_MAX_ACCESS];
    TRY(two_sources(e, in, a, b));
    for (unsigned i = 0; i < in->op[0].size; i += 2) {
        int64_t p = sx(le_load(a + i, 2), 2) * sx(le_load(b + i, 2), 2);
        le_store(r + i, (uint64_t)(((p >> 14) + 1) >> 1), 2);
    }
    return op_write_vec(e, in, 0, r);
}

enum rc vint_pmuldq(struct emu *e, const struct insn *in)
{
    uint8_t a[EMU_MAX_ACCESS], b[EMU_MAX_ACCESS], r[EMU_MAX_ACCESS];
    TRY(two_sources(e, in, a, b));
    for (unsigned i = 0; i < in->op[0].size; i += 8)
        le_store(r + i, (uint64_t)(sx(le_load(a + i, 4), 4) * sx(le_load(b + i, 4), 4)), 8);
    return op_write_vec(e, in, 0, r);
}
