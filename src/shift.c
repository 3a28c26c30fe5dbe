/*
 * shift.c - SHL/SAL SHR SAR ROL ROR RCL RCR (by 1, CL, imm8) and SHLD SHRD,
 * following the SDM Vol. 2 pseudocode: the count is masked to 5 bits (6 with
 * a 64-bit operand); a masked count of 0 changes neither the operand nor the
 * flags. OF is defined only for a count of 1 (the row marks it undefined).
 */
#include "emu.h"

static unsigned masked_count(const struct insn *in, uint64_t c)
{
    return (unsigned)(c & (in->op[0].size == 8 ? 0x3F : 0x1F));
}

static uint64_t msb(uint64_t v, unsigned bits)
{
    return (v >> (bits - 1)) & 1;
}

/* Shared tail: write the result and merge the flags. */
static enum rc finish(struct emu *e, const struct insn *in, uint64_t r, uint32_t fl)
{
    TRY(op_write(e, in, 0, r & size_mask(in->op[0].size)));
    flags_set(e, in, fl);
    return RC_OK;
}

static enum rc shift(struct emu *e, const struct insn *in, unsigned kind)
{
    uint64_t a, c;
    unsigned size = in->op[0].size, bits = 8 * size;
    uint64_t m = size_mask(size);
    TRY(op_read(e, in, 0, &a));
    TRY(op_read(e, in, 1, &c));
    unsigned n = masked_count(in, c);
    if (n == 0)
        return RC_OK;
    uint64_t r, cf;
    uint32_t fl;
    if (kind == 0) { /* SHL */
        r = n >= bits ? 0 : (a << n) & m;
        cf = n > bits ? 0 : (a >> (bits - n)) & 1;
        fl = flags_szp(r, size) | (cf ? FL_CF : 0) | ((msb(r, bits) ^ cf) ? FL_OF : 0);
    } else if (kind == 1) { /* SHR */
        r = n >= bits ? 0 : a >> n;
        cf = n > bits ? 0 : (a >> (n - 1)) & 1;
        fl = flags_szp(r, size) | (cf ? FL_CF : 0) | (msb(a, bits) ? FL_OF : 0);
    } else { /* SAR */
        uint64_t s = sign_extend(a, size);
        unsigned k = n >= bits ? bits - 1 : n;
        r = (uint64_t)((int64_t)s >> k) & m;
        cf = (uint64_t)((int64_t)s >> (n > bits ? bits - 1 : n - 1)) & 1;
        fl = flags_szp(r, size) | (cf ? FL_CF : 0);
    }
    return finish(e, in, r, fl);
}

enum rc shift_shl(struct emu *e, const struct insn *in) { return shift(e, in, 0); }
enum rc shift_shr(struct emu *e, const struct insn *in) { return shift(e, in, 1); }
enum rc shift_sar(struct emu *e, const struct insn *in) { return shift(e, in, 2); }

static uint64_t rotl(uint64_t a, unsigned n, unsigned bits, uint64_t m)
{
    n %= bits;
    return n ? ((a << n) | (a >> (bits - n))) & m : a;
}

static enum rc rotate(struct emu *e, const struct insn *in, bool left)
{
    uint64_t a, c;
    unsigned size = in->op[0].size, bits = 8 * size;
    TRY(op_read(e, in, 0, &a));
    TRY(op_read(e, in, 1, &c));
    unsigned n = masked_count(in, c);
    if (n == 0)
        return RC_OK;
    uint64_t r = rotl(a, left ? n : bits - n % bits, bits, size_mask(size));
    /* ROL: CF = bit 0, OF = MSB ^ CF. ROR: CF = MSB, OF = MSB ^ MSB-1. */
    uint64_t cf = left ? r & 1 : msb(r, bits);
    uint64_t of = msb(r, bits) ^ (left ? cf : msb(r, bits - 1));
    return finish(e, in, r, (cf ? FL_CF : 0) | (of ? FL_OF : 0));
}

enum rc shift_rol(struct emu *e, const struct insn *in) { return rotate(e, in, true); }
enum rc shift_ror(struct emu *e, const struct insn *in) { return rotate(e, in, false); }

/* RCL/RCR rotate the bits+1-bit value CF:operand; the count is taken modulo
 * 9 or 17 for byte and word operands. */
static enum rc rotate_carry(struct emu *e, const struct insn *in, bool left)
{
    uint64_t a, c;
    unsigned size = in->op[0].size, bits = 8 * size;
    uint64_t m = size_mask(size);
    TRY(op_read(e, in, 0, &a));
    TRY(op_read(e, in, 1, &c));
    unsigned masked = masked_count(in, c);
    unsigned n = size <= 2 ? masked % (bits + 1) : masked;
    if (n == 0)
        return RC_OK;
    uint64_t cf = vcpu_rflags(e) & FL_CF ? 1 : 0;
    uint64_t of_before = msb(a, bits) ^ cf;
    uint64_t r = a;
    for (unsigned i = 0; i < n; i++) {
        uint64_t out;
        if (left) {
            out = msb(r, bits);
            r = ((r << 1) | cf) & m;
        } else {
            out = r & 1;
            r = (r >> 1) | (cf << (bits - 1));
        }
        cf = out;
    }
    uint64_t of = left ? (msb(r, bits) ^ cf) : of_before;
    return finish(e, in, r, (cf ? FL_CF : 0) | (of ? FL_OF : 0));
}

enum rc shift_rcl(struct emu *e, const struct insn *in) { return rotate_carry(e, in, true); }
enum rc shift_rcr(struct emu *e, const struct insn *in) { return rotate_carry(e, in, false); }

/* SHLD/SHRD: the count (masked) shifts bits of the source into the
 * destination. A count larger than a word operand gives undefined results;
 * here the 16-bit case shifts through source:destination:source. */
static enum rc double_shift(struct emu *e, const struct insn *in, bool left)
{
    uint64_t d, s, c;
    unsigned size = in->op[0].size, bits = 8 * size;
    uint64_t m = size_mask(size);
    TRY(op_read(e, in, 0, &d));
    TRY(op_read(e, in, 1, &s));
    TRY(op_read(e, in, 2, &c));
    unsigned n = masked_count(in, c);
    if (n == 0)
        return RC_OK;
    uint64_t r, cf;
    if (n < bits) {
        if (left) {
            r = ((d << n) | (s >> (bits - n))) & m;
            cf = (d >> (bits - n)) & 1;
        } else {
            r = ((d >> n) | (s << (bits - n))) & m;
            cf = (d >> (n - 1)) & 1;
        }
    } else { /* 16-bit operand, count 16..31 */
        unsigned k = n - bits;
        if (left) {
            r = k ? ((s << k) | (d >> (bits - k))) & m : s;
            cf = k ? (s >> (bits - k)) & 1 : d & 1;
        } else {
            r = k ? ((s >> k) | (d << (bits - k))) & m : s;
            cf = k ? (s >> (k - 1)) & 1 : msb(d, bits);
        }
    }
    uint32_t fl = flags_szp(r, size) | (cf ? FL_CF : 0) | ((msb(r, bits) ^ msb(d, bits)) ? FL_OF : 0);
    return finish(e, in, r, fl);
}

enum rc shift_shld(struct emu *e, const struct insn *in) { return double_shift(e, in, true); }
enum rc shift_shrd(struct emu *e, const struct insn *in) { return double_shift(e, in, false); }
