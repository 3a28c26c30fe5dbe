/*
 * bmi.c - the BMI1 and BMI2 general-purpose instructions (VEX-encoded):
 * ANDN BEXTR BLSI BLSMSK BLSR BZHI MULX PDEP PEXT RORX SARX SHLX SHRX.
 * Operands are dwords, or qwords with VEX.W in 64-bit mode; the flags each
 * defines follow SDM Vol. 2, the ones it leaves undefined are kept.
 */
#include "emu.h"

static uint64_t opsize_bits(const struct insn *in)
{
    return 8u * in->op[0].size;
}

/* ANDN Gy, By, Ey: ~By & Ey; SF ZF by the result, OF CF cleared. */
enum rc bmi_andn(struct emu *e, const struct insn *in)
{
    uint64_t a, b;
    unsigned size = in->op[0].size;
    TRY(op_read(e, in, 2, &b));
    TRY(op_read(e, in, 1, &a));
    uint64_t r = ~a & b & size_mask(size);
    TRY(op_write(e, in, 0, r));
    flags_set(e, in, (flags_szp(r, size) & (FL_SF | FL_ZF)) |
                         ((uint32_t)vcpu_rflags(e) & (FL_AF | FL_PF)));
    return RC_OK;
}

/* BEXTR Gy, Ey, By: By[15:8] bits of Ey from bit By[7:0]; ZF by the result,
 * CF OF cleared. */
enum rc bmi_bextr(struct emu *e, const struct insn *in)
{
    uint64_t src, ctl, bits = opsize_bits(in);
    TRY(op_read(e, in, 1, &src));
    TRY(op_read(e, in, 2, &ctl));
    unsigned start = ctl & 0xFF, len = (ctl >> 8) & 0xFF;
    uint64_t r = start < bits ? (src & size_mask(in->op[0].size)) >> start : 0;
    if (len < 64)
        r &= ((uint64_t)1 << len) - 1;
    TRY(op_write(e, in, 0, r));
    flags_set(e, in, (r ? 0 : FL_ZF) | ((uint32_t)vcpu_rflags(e) & (FL_AF | FL_SF | FL_PF)));
    return RC_OK;
}

/* BZHI Gy, Ey, By: Ey with the bits from index By[7:0] up cleared; CF when
 * the index is beyond the operand; SF ZF by the result, OF cleared. */
enum rc bmi_bzhi(struct emu *e, const struct insn *in)
{
    uint64_t src, idx, bits = opsize_bits(in);
    unsigned size = in->op[0].size;
    TRY(op_read(e, in, 1, &src));
    TRY(op_read(e, in, 2, &idx));
    unsigned n = idx & 0xFF;
    uint64_t r = src & size_mask(size);
    if (n < bits)
        r &= ((uint64_t)1 << n) - 1;
    TRY(op_write(e, in, 0, r));
    flags_set(e, in, (flags_szp(r, size) & (FL_SF | FL_ZF)) | (n > bits - 1 ? FL_CF : 0) |
                         ((uint32_t)vcpu_rflags(e) & (FL_AF | FL_PF)));
    return RC_OK;
}

enum bls_op { BLSI, BLSMSK, BLSR };

/* BLSI/BLSMSK/BLSR By, Ey: lowest set bit isolated, mask up to it, or
 * reset; CF from the source (set when non-zero for BLSI, zero for the
 * others), SF ZF by the result, OF cleared. */
static enum rc bls(struct emu *e, const struct insn *in, enum bls_op op)
{
    uint64_t s;
    unsigned size = in->op[0].size;
    TRY(op_read(e, in, 1, &s));
    s &= size_mask(size);
    uint64_t r = op == BLSI ? (0 - s) & s : op == BLSMSK ? (s - 1) ^ s : (s - 1) & s;
    r &= size_mask(size);
    bool cf = op == BLSI ? s != 0 : s == 0;
    TRY(op_write(e, in, 0, r));
    uint32_t fl = flags_szp(r, size) & (FL_SF | FL_ZF);
    flags_set(e, in, fl | (cf ? FL_CF : 0) | ((uint32_t)vcpu_rflags(e) & (FL_AF | FL_PF)));
    return RC_OK;
}

enum rc bmi_blsi(struct emu *e, const struct insn *in) { return bls(e, in, BLSI); }
enum rc bmi_blsmsk(struct emu *e, const struct insn *in) { return bls(e, in, BLSMSK); }
enum rc bmi_blsr(struct emu *e, const struct insn *in) { return bls(e, in, BLSR); }

/* MULX Gy, By, Ey: rDX * Ey unsigned, the high half to Gy, the low half to
 * By (when both name one register, it gets the high half); no flags. */
enum rc bmi_mulx(struct emu *e, const struct insn *in)
{
    uint64_t b;
    unsigned size = in->op[0].size;
    TRY(op_read(e, in, 2, &b));
    uint64_t a = vcpu_read_reg(e, GPR_RDX, size, false), hi, lo;
    if (size == 8) {
        uint64_t al = a & 0xFFFFFFFFu, ah = a >> 32, bl = b & 0xFFFFFFFFu, bh = b >> 32;
        uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
        uint64_t mid = (ll >> 32) + (lh & 0xFFFFFFFFu) + (hl & 0xFFFFFFFFu);
        lo = (ll & 0xFFFFFFFFu) | (mid << 32);
        hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
    } else {
        uint64_t p = (a & 0xFFFFFFFFu) * (b & 0xFFFFFFFFu);
        lo = p & 0xFFFFFFFFu;
        hi = p >> 32;
    }
    TRY(op_write(e, in, 1, lo));
    return op_write(e, in, 0, hi);
}

/* PDEP Gy, By, Ey: By's low bits deposited at the set bits of mask Ey;
 * PEXT: the bits of By at the set bits of Ey gathered low. No flags. */
static enum rc deposit(struct emu *e, const struct insn *in, bool extract)
{
    uint64_t src, mask, r = 0;
    unsigned size = in->op[0].size;
    TRY(op_read(e, in, 2, &mask));
    TRY(op_read(e, in, 1, &src));
    mask &= size_mask(size);
    unsigned k = 0;
    for (unsigned i = 0; i < 8 * size; i++) {
        if (!((mask >> i) & 1))
            continue;
        if (extract)
            r |= ((src >> i) & 1) << k;
        else
            r |= ((src >> k) & 1) << i;
        k++;
    }
    return op_write(e, in, 0, r);
}

enum rc bmi_pdep(struct emu *e, const struct insn *in) { return deposit(e, in, false); }
enum rc bmi_pext(struct emu *e, const struct insn *in) { return deposit(e, in, true); }

enum shx_op { SARX, SHLX, SHRX, RORX };

/* SARX/SHLX/SHRX Gy, Ey, By and RORX Gy, Ey, Ib: the count masked to the
 * operand size; no flags. */
static enum rc shx(struct emu *e, const struct insn *in, enum shx_op op)
{
    uint64_t v, c;
    unsigned size = in->op[0].size, bits = 8 * size;
    TRY(op_read(e, in, 1, &v));
    TRY(op_read(e, in, 2, &c));
    c &= bits - 1;
    v &= size_mask(size);
    uint64_t r;
    switch (op) {
    case SARX: r = c ? (sign_extend(v, size) >> c) | (((v >> (bits - 1)) & 1) ? ~(~(uint64_t)0 >> c) : 0) : v; break;
    case SHLX: r = v << c; break;
    case SHRX: r = v >> c; break;
    default: r = c ? (v >> c) | (v << (bits - c)) : v; break;
    }
    return op_write(e, in, 0, r & size_mask(size));
}

enum rc bmi_sarx(struct emu *e, const struct insn *in) { return shx(e, in, SARX); }
enum rc bmi_shlx(struct emu *e, const struct insn *in) { return shx(e, in, SHLX); }
enum rc bmi_shrx(struct emu *e, const struct insn *in) { return shx(e, in, SHRX); }
enum rc bmi_rorx(struct emu *e, const struct insn *in) { return shx(e, in, RORX); }
