/*
 * muldiv.c - MUL, IMUL (one, two and three operands), DIV, IDIV with
 * 128-bit products and dividends in portable C. DIV/IDIV raise #DE for a
 * zero divisor or a quotient that does not fit, before any register changes.
 * Flags the SDM leaves undefined are kept as they were.
 */
#include "emu.h"

static void mul_u64(uint64_t a, uint64_t b, uint64_t *hi, uint64_t *lo)
{
    uint64_t al = a & 0xFFFFFFFFu, ah = a >> 32, bl = b & 0xFFFFFFFFu, bh = b >> 32;
    uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
    uint64_t mid = (ll >> 32) + (lh & 0xFFFFFFFFu) + (hl & 0xFFFFFFFFu);
    *lo = (mid << 32) | (ll & 0xFFFFFFFFu);
    *hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
}

/* Signed 64x64 -> 128 from the unsigned product. */
static void mul_s64(int64_t a, int64_t b, uint64_t *hi, uint64_t *lo)
{
    mul_u64((uint64_t)a, (uint64_t)b, hi, lo);
    if (a < 0)
        *hi -= (uint64_t)b;
    if (b < 0)
        *hi -= (uint64_t)a;
}

/* Full product of two `size`-byte values as (hi, lo) halves of 2*size. */
static void product(uint64_t a, uint64_t b, unsigned size, bool sgn, uint64_t *hi, uint64_t *lo)
{
    if (size == 8) {
        if (sgn)
            mul_s64((int64_t)a, (int64_t)b, hi, lo);
        else
            mul_u64(a, b, hi, lo);
        return;
    }
    unsigned bits = 8 * size;
    uint64_t p = sgn ? (uint64_t)((int64_t)sign_extend(a, size) * (int64_t)sign_extend(b, size))
                     : (a & size_mask(size)) * (b & size_mask(size));
    *lo = p & size_mask(size);
    *hi = (p >> bits) & size_mask(size);
}

static uint32_t keep_flags(struct emu *e, uint32_t undefined)
{
    return (uint32_t)vcpu_rflags(e) & undefined;
}

/* MUL / one-operand IMUL: rDX:rAX (AX for bytes) = rAX * source. */
static enum rc mul1(struct emu *e, const struct insn *in, bool sgn)
{
    uint64_t src, hi, lo;
    unsigned size = in->op[0].size;
    TRY(op_read(e, in, 0, &src));
    uint64_t a = vcpu_read_reg(e, GPR_RAX, size, false);
    product(a, src, size, sgn, &hi, &lo);
    bool ovf = sgn ? hi != (sign_extend(lo, size) >> 63 ? size_mask(size) : 0) : hi != 0;
    if (size == 1) {
        vcpu_write_reg(e, GPR_RAX, 2, false, (hi << 8) | lo);
    } else {
        vcpu_write_reg(e, GPR_RAX, size, false, lo);
        vcpu_write_reg(e, GPR_RDX, size, false, hi);
    }
    uint32_t fl = keep_flags(e, FL_SF | FL_ZF | FL_AF | FL_PF) | (ovf ? FL_OF | FL_CF : 0);
    flags_set(e, in, fl);
    return RC_OK;
}

enum rc muldiv_mul(struct emu *e, const struct insn *in) { return mul1(e, in, false); }
enum rc muldiv_imul1(struct emu *e, const struct insn *in) { return mul1(e, in, true); }

/* IMUL Gv,Ev and Gv,Ev,imm: truncated signed product. */
enum rc muldiv_imul(struct emu *e, const struct insn *in)
{
    uint64_t a, b, hi, lo;
    unsigned size = in->op[0].size;
    if (in->nops == 3) {
        TRY(op_read(e, in, 1, &a));
        TRY(op_read(e, in, 2, &b));
    } else {
        TRY(op_read(e, in, 0, &a));
        TRY(op_read(e, in, 1, &b));
    }
    product(a, b, size, true, &hi, &lo);
    bool ovf = hi != (sign_extend(lo, size) >> 63 ? size_mask(size) : 0);
    TRY(op_write(e, in, 0, lo));
    flags_set(e, in, keep_flags(e, FL_SF | FL_ZF | FL_AF | FL_PF) | (ovf ? FL_OF | FL_CF : 0));
    return RC_OK;
}

/* 128/64 unsigned division; false when the quotient does not fit. */
static bool div_u128(uint64_t hi, uint64_t lo, uint64_t d, uint64_t *q, uint64_t *r)
{
    if (hi >= d)
        return false;
    uint64_t rem = hi, quo = 0;
    for (int i = 63; i >= 0; i--) {
        uint64_t top = rem >> 63;
        rem = (rem << 1) | ((lo >> i) & 1);
        quo <<= 1;
        if (top || rem >= d) {
            rem -= d;
            quo |= 1;
        }
    }
    *q = quo;
    *r = rem;
    return true;
}

static enum rc div1(struct emu *e, const struct insn *in, bool sgn)
{
    uint64_t d;
    unsigned size = in->op[0].size, bits = 8 * size;
    TRY(op_read(e, in, 0, &d));
    d &= size_mask(size);
    if (d == 0)
        return fault_de(e);
    uint64_t hi, lo;
    if (size == 1) {
        uint64_t ax = vcpu_read_reg(e, GPR_RAX, 2, false);
        hi = ax >> 8;
        lo = ax & 0xFF;
    } else {
        hi = vcpu_read_reg(e, GPR_RDX, size, false);
        lo = vcpu_read_reg(e, GPR_RAX, size, false);
    }
    uint64_t q, r;
    if (!sgn) {
        if (size == 8) {
            if (!div_u128(hi, lo, d, &q, &r))
                return fault_de(e);
        } else {
            uint64_t n = (hi << bits) | lo;
            q = n / d;
            r = n % d;
            if (q > size_mask(size))
                return fault_de(e);
        }
    } else if (size < 8) {
        /* The dividend has 2 * size <= 8 bytes: plain signed arithmetic,
         * with the one case C cannot divide (INT64_MIN / -1) caught first. */
        int64_t sn = (int64_t)sign_extend((hi << bits) | lo, 2 * size);
        int64_t sd = (int64_t)sign_extend(d, size);
        int64_t lim = (int64_t)1 << (bits - 1);
        if (sd == -1 && sn == INT64_MIN)
            return fault_de(e);
        int64_t sq = sn / sd, sr = sn % sd;
        if (sq < -lim || sq >= lim)
            return fault_de(e);
        q = (uint64_t)sq;
        r = (uint64_t)sr;
    } else {
        /* 128-bit dividend: divide magnitudes, then restore the signs. */
        bool nneg = hi >> 63, dneg = d >> 63;
        uint64_t nhi = hi, nlo = lo, dm = dneg ? 0 - d : d, qm, rm;
        if (nneg) {
            nlo = 0 - lo;
            nhi = ~hi + (lo == 0);
        }
        if (!div_u128(nhi, nlo, dm, &qm, &rm))
            return fault_de(e);
        bool qneg = nneg != dneg;
        uint64_t limit = (uint64_t)1 << 63;
        if (qm > limit || (qm == limit && !qneg))
            return fault_de(e);
        q = qneg ? 0 - qm : qm;
        r = nneg ? 0 - rm : rm;
    }
    if (size == 1) {
        vcpu_write_reg(e, GPR_RAX, 2, false, ((r & 0xFF) << 8) | (q & 0xFF));
    } else {
        vcpu_write_reg(e, GPR_RAX, size, false, q);
        vcpu_write_reg(e, GPR_RDX, size, false, r);
    }
    flags_set(e, in, keep_flags(e, FL_OSZAPC));
    return RC_OK;
}

enum rc muldiv_div(struct emu *e, const struct insn *in) { return div1(e, in, false); }
enum rc muldiv_idiv(struct emu *e, const struct insn *in) { return div1(e, in, true); }
