/*
 * vshuf.c - SSE and AVX/AVX2 element rearrangements with a memory operand:
 * unpacks, saturating packs, PSHUFB, PSHUFD/HW/LW, SHUFPS/PD, the DUP
 * moves, PALIGNR, blends, PINSR/PEXTR, PMOVZX/SX, broadcasts and 128-bit
 * inserts/extracts. A 256-bit unpack, pack, shuffle, align or word blend
 * works on each 128-bit lane separately (SDM Vol. 2).
 */
#include <string.h>

#include "emu.h"
#include "mem.h"

static enum rc sources(struct emu *e, const struct insn *in, uint8_t *a, uint8_t *b)
{
    unsigned ia = in->nops == 3 ? 1 : 0;
    TRY(op_read_vec(e, in, ia + 1, b));
    return op_read_vec(e, in, ia, a);
}

/* PUNPCKL / PUNPCKH: the low or high halves of each lane of a and b
 * interleaved, element by element. */
static enum rc unpack(struct emu *e, const struct insn *in, unsigned el, bool high)
{
    uint8_t a[EMU_MAX_ACCESS], b[EMU_MAX_ACCESS], r[EMU_MAX_ACCESS];
    unsigned size = in->op[0].size;
    if (size > EMU_MAX_ACCESS)
        return RC_INTERNAL;
    TRY(sources(e, in, a, b));
    for (unsigned lane = 0; lane < size; lane += 16) {
        unsigned from = lane + (high ? 8 : 0);
        for (unsigned i = 0; i < 8 / el; i++) {
            memcpy(r + lane + 2 * i * el, a + from + i * el, el);
            memcpy(r + lane + (2 * i + 1) * el, b + from + i * el, el);
        }
    }
    return op_write_vec(e, in, 0, r);
}

enum rc vshuf_punpcklbw(struct emu *e, const struct insn *in) { return unpack(e, in, 1, false); }
enum rc vshuf_punpcklwd(struct emu *e, const struct insn *in) { return unpack(e, in, 2, false); }
enum rc vshuf_punpckldq(struct emu *e, const struct insn *in) { return unpack(e, in, 4, false); }
enum rc vshuf_punpcklqdq(struct emu *e, const struct insn *in) { return unpack(e, in, 8, false); }
enum rc vshuf_punpckhbw(struct emu *e, const struct insn *in) { return unpack(e, in, 1, true); }
enum rc vshuf_punpckhwd(struct emu *e, const struct insn *in) { return unpack(e, in, 2, true); }
enum rc vshuf_punpckhdq(struct emu *e, const struct insn *in) { return unpack(e, in, 4, true); }
enum rc vshuf_punpckhqdq(struct emu *e, const struct insn *in) { return unpack(e, in, 8, true); }

/* PACKSSWB/PACKUSWB/PACKSSDW/PACKUSDW: per lane, a's elements then b's,
 * each narrowed to half its size with signed or unsigned saturation of its
 * signed value. */
static enum rc pack(struct emu *e, const struct insn *in, unsigned el, bool sgn)
{
    uint8_t a[EMU_MAX_ACCESS], b[EMU_MAX_ACCESS], r[EMU_MAX_ACCESS];
    unsigned half = el / 2;
    int64_t lo = sgn ? -((int64_t)1 << (8 * half - 1)) : 0;
    int64_t hi = sgn ? ((int64_t)1 << (8 * half - 1)) - 1 : ((int64_t)1 << (8 * half)) - 1;
    TRY(sources(e, in, a, b));
    for (unsigned lane = 0; lane < in->op[0].size; lane += 16) {
        for (unsigned i = 0; i < 16 / el; i++) {
            for (unsigned k = 0; k < 2; k++) {
                const uint8_t *src = k ? b : a;
                int64_t v = (int64_t)sign_extend(le_load(src + lane + i * el, el), el);
                v = v < lo ? lo : v > hi ? hi : v;
                le_store(r + lane + k * 8 + i * half, (uint64_t)v, half);
            }
        }
    }
    return op_write_vec(e, in, 0, r);
}

enum rc vshuf_packsswb(struct emu *e, const struct insn *in) { return pack(e, in, 2, true); }
enum rc vshuf_packuswb(struct emu *e, const struct insn *in) { return pack(e, in, 2, false); }
enum rc vshuf_packssdw(struct emu *e, const struct insn *in) { return pack(e, in, 4, true); }
enum rc vshuf_packusdw(struct emu *e, const struct insn *in) { return pack(e, in, 4, false); }

/* PSHUFB: each byte of a replaced by the byte of its lane that b's byte
 * names (low 4 bits), or zero when that byte has bit 7 set. */
enum rc vshuf_pshufb(struct emu *e, const struct insn *in)
{
    uint8_t a[EMU_MAX_ACCESS], b[EMU_MAX_ACCESS], r[EMU_MAX_ACCESS];
    TRY(sources(e, in, a, b));
    for (unsigned i = 0; i < in->op[0].size; i++)
        r[i] = (b[i] & 0x80) ? 0 : a[(i & ~15u) + (b[i] & 15)];
    return op_write_vec(e, in, 0, r);
}

/* PSHUFD (dwords of each lane), PSHUFHW / PSHUFLW (the high or low four
 * words of each lane, the other qword copied): element i takes the source
 * element imm8[2i+1:2i]. */
static enum rc pshuf(struct emu *e, const struct insn *in, unsigned el, unsigned at)
{
    uint8_t a[EMU_MAX_ACCESS], r[EMU_MAX_ACCESS];
    TRY(op_read_vec(e, in, 1, a));
    memcpy(r, a, in->op[0].size);
    for (unsigned lane = 0; lane < in->op[0].size; lane += 16)
        for (unsigned i = 0; i < 4; i++)
            memcpy(r + lane + at + i * el, a + lane + at + ((in->imm8 >> (2 * i)) & 3) * el, el);
    return op_write_vec(e, in, 0, r);
}

enum rc vshuf_pshufd(struct emu *e, const struct insn *in) { return pshuf(e, in, 4, 0); }
enum rc vshuf_pshufhw(struct emu *e, const struct insn *in) { return pshuf(e, in, 2, 8); }
enum rc vshuf_pshuflw(struct emu *e, const struct insn *in) { return pshuf(e, in, 2, 0); }

/* SHUFPS: per lane, dwords 0-1 from a and 2-3 from b, each picked by two
 * imm8 bits; SHUFPD: per lane, qword 0 from a and 1 from b, by one bit
 * each (the next two bits for the next lane). */
enum rc vshuf_shufps(struct emu *e, const struct insn *in)
{
    uint8_t a[EMU_MAX_ACCESS], b[EMU_MAX_ACCESS], r[EMU_MAX_ACCESS];
    TRY(sources(e, in, a, b));
    for (unsigned lane = 0; lane < in->op[0].size; lane += 16)
        for (unsigned i = 0; i < 4; i++)
            memcpy(r + lane + 4 * i, (i < 2 ? a : b) + lane + 4 * ((in->imm8 >> (2 * i)) & 3), 4);
    return op_write_vec(e, in, 0, r);
}

enum rc vshuf_shufpd(struct emu *e, const struct insn *in)
{
    uint8_t a[EMU_MAX_ACCESS], b[EMU_MAX_ACCESS], r[EMU_MAX_ACCESS];
    TRY(sources(e, in, a, b));
    for (unsigned q = 0; q < in->op[0].size / 8; q++) {
        unsigned lane = (q / 2) * 16;
        memcpy(r + 8 * q, (q & 1 ? b : a) + lane + 8 * ((in->imm8 >> q) & 1), 8);
    }
    return op_write_vec(e, in, 0, r);
}

/* MOVSLDUP / MOVSHDUP: the even / odd dwords duplicated; MOVDDUP: the even
 * qwords duplicated (its 128-bit forms read one qword). */
static enum rc dup(struct emu *e, const struct insn *in, unsigned el, unsigned odd)
{
    uint8_t a[EMU_MAX_ACCESS], r[EMU_MAX_ACCESS];
    TRY(op_read_vec(e, in, 1, a));
    for (unsigned i = 0; i < in->op[0].size; i += 2 * el) {
        memcpy(r + i, a + i + odd * el, el);
        memcpy(r + i + el, a + i + odd * el, el);
    }
    return op_write_vec(e, in, 0, r);
}

enum rc vshuf_movsldup(struct emu *e, const struct insn *in) { return dup(e, in, 4, 0); }
enum rc vshuf_movshdup(struct emu *e, const struct insn *in) { return dup(e, in, 4, 1); }
enum rc vshuf_movddup(struct emu *e, const struct insn *in) { return dup(e, in, 8, 0); }

/* PALIGNR: per lane, the 32-byte a:b shifted right by imm8 bytes, low 16
 * bytes kept (zeros shifted in). */
enum rc vshuf_palignr(struct emu *e, const struct insn *in)
{
    uint8_t a[EMU_MAX_ACCESS], b[EMU_MAX_ACCESS], r[EMU_MAX_ACCESS];
    TRY(sources(e, in, a, b));
    for (unsigned lane = 0; lane < in->op[0].size; lane += 16)
        for (unsigned i = 0; i < 16; i++) {
            unsigned k = i + in->imm8;
            r[lane + i] = k < 16 ? b[lane + k] : k < 32 ? a[lane + k - 16] : 0;
        }
    return op_write_vec(e, in, 0, r);
}

/* PBLENDW (imm8 per lane, words), BLENDPS (dwords), BLENDPD (qwords):
 * element i from b where imm8 bit i is set. */
static enum rc blend(struct emu *e, const struct insn *in, unsigned el, unsigned per)
{
    uint8_t a[EMU_MAX_ACCESS], b[EMU_MAX_ACCESS];
    TRY(sources(e, in, a, b));
    for (unsigned i = 0; i < in->op[0].size / el; i++)
        if ((in->imm8 >> (i % per)) & 1)
            memcpy(a + i * el, b + i * el, el);
    return op_write_vec(e, in, 0, a);
}

enum rc vshuf_pblendw(struct emu *e, const struct insn *in) { return blend(e, in, 2, 8); }
enum rc vshuf_blendps(struct emu *e, const struct insn *in) { return blend(e, in, 4, 8); }
enum rc vshuf_blendpd(struct emu *e, const struct insn *in) { return blend(e, in, 8, 8); }

/* PINSRB/W/D/Q: a with the element imm8 selects (modulo the count)
 * replaced by the memory operand. */
enum rc vshuf_pinsr(struct emu *e, const struct insn *in)
{
    uint8_t a[EMU_MAX_ACCESS], m[EMU_MAX_ACCESS];
    unsigned im = in->nops - 1, ia = in->nops == 3 ? 1 : 0, el = in->op[im].size;
    TRY(op_read_vec(e, in, im, m));
    TRY(op_read_vec(e, in, ia, a));
    memcpy(a + el * (in->imm8 & (16 / el - 1)), m, el);
    return op_write_vec(e, in, 0, a);
}

/* PEXTRB/W/D/Q to memory: the element imm8 selects. */
enum rc vshuf_pextr(struct emu *e, const struct insn *in)
{
    uint8_t a[EMU_MAX_ACCESS];
    unsigned el = in->op[0].size;
    TRY(op_read_vec(e, in, 1, a));
    return op_write_vec(e, in, 0, a + el * (in->imm8 & (16 / el - 1)));
}

/* PMOVZX/PMOVSX: source elements of `se` bytes widened to `de` bytes. */
static enum rc extend(struct emu *e, const struct insn *in, unsigned se, unsigned de, bool sgn)
{
    uint8_t a[EMU_MAX_ACCESS], r[EMU_MAX_ACCESS];
    TRY(op_read_vec(e, in, 1, a));
    for (unsigned i = 0; i < in->op[0].size / de; i++) {
        uint64_t v = le_load(a + i * se, se);
        le_store(r + i * de, sgn ? sign_extend(v, se) : v, de);
    }
    return op_write_vec(e, in, 0, r);
}

enum rc vshuf_pmovzxbw(struct emu *e, const struct insn *in) { return extend(e, in, 1, 2, false); }
enum rc vshuf_pmovzxbd(struct emu *e, const struct insn *in) { return extend(e, in, 1, 4, false); }
enum rc vshuf_pmovzxbq(struct emu *e, const struct insn *in) { return extend(e, in, 1, 8, false); }
enum rc vshuf_pmovzxwd(struct emu *e, const struct insn *in) { return extend(e, in, 2, 4, false); }
enum rc vshuf_pmovzxwq(struct emu *e, const struct insn *in) { return extend(e, in, 2, 8, false); }
enum rc vshuf_pmovzxdq(struct emu *e, const struct insn *in) { return extend(e, in, 4, 8, false); }
enum rc vshuf_pmovsxbw(struct emu *e, const struct insn *in) { return extend(e, in, 1, 2, true); }
enum rc vshuf_pmovsxbd(struct emu *e, const struct insn *in) { return extend(e, in, 1, 4, true); }
enum rc vshuf_pmovsxbq(struct emu *e, const struct insn *in) { return extend(e, in, 1, 8, true); }
enum rc vshuf_pmovsxwd(struct emu *e, const struct insn *in) { return extend(e, in, 2, 4, true); }
enum rc vshuf_pmovsxwq(struct emu *e, const struct insn *in) { return extend(e, in, 2, 8, true); }
enum rc vshuf_pmovsxdq(struct emu *e, const struct insn *in) { return extend(e, in, 4, 8, true); }

/* VPBROADCASTB/W/D/Q, VBROADCASTSS/SD/I128: the memory operand repeated
 * over the destination. */
enum rc vshuf_broadcast(struct emu *e, const struct insn *in)
{
    uint8_t a[EMU_MAX_ACCESS], r[EMU_MAX_ACCESS];
    unsigned el = in->op[1].size;
    TRY(op_read_vec(e, in, 1, a));
    for (unsigned i = 0; i < in->op[0].size; i += el)
        memcpy(r + i, a, el);
    return op_write_vec(e, in, 0, r);
}

/* VINSERTF128/I128: H with the 128-bit lane imm8[0] replaced by memory;
 * VEXTRACTF128/I128: that lane of the register to memory. */
enum rc vshuf_insert128(struct emu *e, const struct insn *in)
{
    uint8_t a[EMU_MAX_ACCESS], m[EMU_MAX_ACCESS];
    TRY(op_read_vec(e, in, 2, m));
    TRY(op_read_vec(e, in, 1, a));
    memcpy(a + 16 * (in->imm8 & 1), m, 16);
    return op_write_vec(e, in, 0, a);
}

enum rc vshuf_extract128(struct emu *e, const struct insn *in)
{
    uint8_t a[EMU_MAX_ACCESS];
    TRY(op_read_vec(e, in, 1, a));
    return op_write_vec(e, in, 0, a + 16 * (in->imm8 & 1));
}

/* VPERMILPS/PD with an imm8 (Vx, Wx): per 128-bit lane, element i of the
 * result is the lane's element imm8 names (two bits per dword element,
 * repeating every four; one bit per qword element, the next two bits for
 * the next lane). */
enum rc vshuf_vpermilps_i(struct emu *e, const struct insn *in)
{
    uint8_t a[EMU_MAX_ACCESS], r[EMU_MAX_ACCESS];
    TRY(op_read_vec(e, in, 1, a));
    for (unsigned i = 0; i < in->op[0].size / 4u; i++)
        memcpy(r + 4 * i, a + (i & ~3u) * 4 + 4 * ((in->imm8 >> (2 * (i & 3))) & 3), 4);
    return op_write_vec(e, in, 0, r);
}

enum rc vshuf_vpermilpd_i(struct emu *e, const struct insn *in)
{
    uint8_t a[EMU_MAX_ACCESS], r[EMU_MAX_ACCESS];
    TRY(op_read_vec(e, in, 1, a));
    for (unsigned i = 0; i < in->op[0].size / 8u; i++)
        memcpy(r + 8 * i, a + (i & ~1u) * 8 + 8 * ((in->imm8 >> i) & 1), 8);
    return op_write_vec(e, in, 0, r);
}

/* VPERMILPS/PD with a vector control (Vx, Hx = data, Wx = control): the
 * same per lane, selected by control bits 1:0 of each dword (PS) or bit 1
 * of each qword (PD). */
enum rc vshuf_vpermilps_v(struct emu *e, const struct insn *in)
{
    uint8_t a[EMU_MAX_ACCESS], c[EMU_MAX_ACCESS], r[EMU_MAX_ACCESS];
    TRY(sources(e, in, a, c));
    for (unsigned i = 0; i < in->op[0].size / 4u; i++)
        memcpy(r + 4 * i, a + (i & ~3u) * 4 + 4 * (c[4 * i] & 3), 4);
    return op_write_vec(e, in, 0, r);
}

enum rc vshuf_vpermilpd_v(struct emu *e, const struct insn *in)
{
    uint8_t a[EMU_MAX_ACCESS], c[EMU_MAX_ACCESS], r[EMU_MAX_ACCESS];
    TRY(sources(e, in, a, c));
    for (unsigned i = 0; i < in->op[0].size / 8u; i++)
        memcpy(r + 8 * i, a + (i & ~1u) * 8 + 8 * ((c[8 * i] >> 1) & 1), 8);
    return op_write_vec(e, in, 0, r);
}

/* VPERM2F128/VPERM2I128 (Vqq, Hqq, Wqq): each result lane is one of the
 * four source lanes (imm8 bits 1:0 and 5:4; 0-1 from H, 2-3 from W) or
 * zero (bits 3 and 7). */
enum rc vshuf_vperm2x128(struct emu *e, const struct insn *in)
{
    uint8_t a[EMU_MAX_ACCESS], b[EMU_MAX_ACCESS], r[EMU_MAX_ACCESS];
    TRY(sources(e, in, a, b));
    for (unsigned k = 0; k < 2; k++) {
        unsigned sel = (in->imm8 >> (4 * k)) & 15;
        if (sel & 8)
            memset(r + 16 * k, 0, 16);
        else
            memcpy(r + 16 * k, ((sel & 2) ? b : a) + 16 * (sel & 1), 16);
    }
    return op_write_vec(e, in, 0, r);
}

/* VPERMD/VPERMPS (Vqq, Hqq = indices, Wqq = data): dword i of the result
 * is the data dword index dword i names (bits 2:0), across lanes. */
enum rc vshuf_vpermd(struct emu *e, const struct insn *in)
{
    uint8_t idx[EMU_MAX_ACCESS], d[EMU_MAX_ACCESS], r[EMU_MAX_ACCESS];
    TRY(sources(e, in, idx, d));
    for (unsigned i = 0; i < 8; i++)
        memcpy(r + 4 * i, d + 4 * (idx[4 * i] & 7), 4);
    return op_write_vec(e, in, 0, r);
}

/* VPERMQ/VPERMPD (Vqq, Wqq, imm8): qword i is source qword imm8[2i+1:2i]. */
enum rc vshuf_vpermq(struct emu *e, const struct insn *in)
{
    uint8_t a[EMU_MAX_ACCESS], r[EMU_MAX_ACCESS];
    TRY(op_read_vec(e, in, 1, a));
    for (unsigned i = 0; i < 4; i++)
        memcpy(r + 8 * i, a + 8 * ((in->imm8 >> (2 * i)) & 3), 8);
    return op_write_vec(e, in, 0, r);
}


/* VPSLLDQ / VPSRLDQ: each 128-bit lane shifted by imm8 bytes (16 or more:
 * zero), zeros shifted in. */
static enum rc byte_shift(struct emu *e, const struct insn *in, bool left)
{
    uint8_t a[EMU_MAX_ACCESS], r[EMU_MAX_ACCESS];
    TRY(op_read_vec(e, in, 1, a));
    unsigned n = in->imm8;
    for (unsigned lane = 0; lane < in->op[0].size; lane += 16)
        for (unsigned i = 0; i < 16; i++) {
            unsigned from = left ? i - n : i + n; /* wraps when out of the lane */
            r[lane + i] = from < 16 ? a[lane + from] : 0;
        }
    return op_write_vec(e, in, 0, r);
}

enum rc vshuf_pslldq(struct emu *e, const struct insn *in) { return byte_shift(e, in, true); }
enum rc vshuf_psrldq(struct emu *e, const struct insn *in) { return byte_shift(e, in, false); }

/* VPERMD/VPERMPS (dwords) and VPERMQ/VPERMPD (qwords) with the indices in
 * vvvv: element i is the table's (the r/m operand's) element that index i
 * names, modulo the element count, across the whole vector. */
static enum rc perm(struct emu *e, const struct insn *in, unsigned el)
{
    uint8_t idx[EMU_MAX_ACCESS], t[EMU_MAX_ACCESS], r[EMU_MAX_ACCESS];
    unsigned size = in->op[0].size, n = size / el;
    if (size > EMU_MAX_ACCESS)
        return RC_INTERNAL;
    TRY(op_read_vec(e, in, 2, t));
    TRY(op_read_vec(e, in, 1, idx));
    for (unsigned i = 0; i < n; i++)
        memcpy(r + i * el, t + (le_load(idx + i * el, el) & (n - 1)) * el, el);
    return op_write_vec(e, in, 0, r);
}

enum rc vshuf_permd(struct emu *e, const struct insn *in) { return perm(e, in, 4); }
enum rc vshuf_permq(struct emu *e, const struct insn *in) { return perm(e, in, 8); }

/* VPERMQ/VPERMPD with imm8: in each 256-bit half, qword i is the half's
 * qword imm8[2i+1:2i]. */
enum rc vshuf_permqi(struct emu *e, const struct insn *in)
{
    uint8_t a[EMU_MAX_ACCESS], r[EMU_MAX_ACCESS];
    TRY(op_read_vec(e, in, 1, a));
    for (unsigned half = 0; half < in->op[0].size; half += 32)
        for (unsigned i = 0; i < 4; i++)
            memcpy(r + half + 8 * i, a + half + 8 * ((in->imm8 >> (2 * i)) & 3), 8);
    return op_write_vec(e, in, 0, r);
}

/* VPERMI2B/W/D/Q/PS/PD (the destination holds the indices, vvvv the first
 * table, r/m the second) and VPERMT2* (the destination is the first table,
 * vvvv the indices): element i is element (index mod n) of the table that
 * index bit log2(n) picks, n the elements of the vector. */
static enum rc perm2(struct emu *e, const struct insn *in, unsigned el, bool t2)
{
    uint8_t d[EMU_MAX_ACCESS], h[EMU_MAX_ACCESS], m[EMU_MAX_ACCESS], r[EMU_MAX_ACCESS];
    unsigned size = in->op[0].size, n = size / el;
    TRY(op_read_vec(e, in, 2, m));
    TRY(op_read_vec(e, in, 1, h));
    TRY(op_read_vec(e, in, 0, d));
    const uint8_t *idx = t2 ? h : d, *t1 = t2 ? d : h;
    for (unsigned i = 0; i < n; i++) {
        uint64_t x = le_load(idx + i * el, el);
        memcpy(r + i * el, ((x & n) ? m : t1) + (x & (n - 1)) * el, el);
    }
    return op_write_vec(e, in, 0, r);
}

enum rc vshuf_permi2b(struct emu *e, const struct insn *in) { return perm2(e, in, 1, false); }
enum rc vshuf_permi2w(struct emu *e, const struct insn *in) { return perm2(e, in, 2, false); }
enum rc vshuf_permi2d(struct emu *e, const struct insn *in) { return perm2(e, in, 4, false); }
enum rc vshuf_permi2q(struct emu *e, const struct insn *in) { return perm2(e, in, 8, false); }
enum rc vshuf_permt2b(struct emu *e, const struct insn *in) { return perm2(e, in, 1, true); }
enum rc vshuf_permt2w(struct emu *e, const struct insn *in) { return perm2(e, in, 2, true); }
enum rc vshuf_permt2d(struct emu *e, const struct insn *in) { return perm2(e, in, 4, true); }
enum rc vshuf_permt2q(struct emu *e, const struct insn *in) { return perm2(e, in, 8, true); }

/* VINSERTI32X4/64X2/32X8/64X4 and the F forms: vvvv with the 128- or
 * 256-bit part imm8 selects (modulo the parts of the vector) replaced by
 * memory, read whole (no fault suppression); the opmask works on the
 * result. */
enum rc vshuf_insert_e(struct emu *e, const struct insn *in)
{
    uint8_t a[EMU_MAX_ACCESS], m[EMU_MAX_ACCESS];
    unsigned part = in->op[2].size, parts = in->op[0].size / part;
    TRY(op_read_vec(e, in, 2, m));
    TRY(op_read_vec(e, in, 1, a));
    memcpy(a + part * (in->imm8 & (parts - 1)), m, part);
    return op_write_vec(e, in, 0, a);
}

/* VEXTRACTI32X4/64X2/32X8/64X4 and the F forms to memory: the part imm8
 * selects; every byte of the destination is checked (no fault suppression),
 * then only the enabled elements are written. */
enum rc vshuf_extract_e(struct emu *e, const struct insn *in)
{
    uint8_t a[EMU_MAX_ACCESS];
    unsigned part = in->op[0].size, parts = in->op[1].size / part;
    TRY(op_read_vec(e, in, 1, a));
    if (in->mask) {
        uint8_t seg;
        uint64_t off;
        TRY(op_addr(e, in, 0, &seg, &off));
        TRY(mem_check(e, seg, off, part, in->mem_access));
    }
    return op_write_vec(e, in, 0, a + part * (in->imm8 & (parts - 1)));
}

/* VPBLENDMB/W/D/Q, VBLENDMPS/PD: an enabled element (every one without an
 * opmask) from r/m, a disabled one from vvvv, or zero with {z}. */
enum rc vshuf_blendm(struct emu *e, const struct insn *in)
{
    uint8_t a[EMU_MAX_ACCESS], b[EMU_MAX_ACCESS];
    unsigned size = in->op[0].size, el = size / mask_count(in);
    TRY(op_read_vec(e, in, 2, b));
    TRY(op_read_vec(e, in, 1, a));
    for (unsigned i = 0; i < size / el; i++) {
        if (op_mask_on(e, in, i))
            memcpy(a + i * el, b + i * el, el);
        else if (in->zeroing)
            memset(a + i * el, 0, el);
    }
    op_write_vec_whole(e, in, 0, a);
    return RC_OK;
}

/* The number of elements the opmask enables (all without one). */
static unsigned packed_count(const struct emu *e, const struct insn *in, unsigned n)
{
    unsigned c = 0;
    for (unsigned i = 0; i < n; i++)
        c += op_mask_on(e, in, i);
    return c;
}

/* VPEXPANDD/Q from memory: the enabled elements take consecutive memory
 * elements, and only those are read (faults only there). */
enum rc vshuf_expand(struct emu *e, const struct insn *in)
{
    uint8_t m[EMU_MAX_ACCESS], r[EMU_MAX_ACCESS];
    unsigned n = mask_count(in), el = in->op[0].size / n, c = packed_count(e, in, n);
    memset(r, 0, sizeof r);
    if (c) {
        uint8_t seg;
        uint64_t off;
        TRY(op_addr(e, in, 1, &seg, &off));
        TRY(mem_read(e, seg, off, c * el, in->mem_access, m));
    }
    for (unsigned i = 0, k = 0; i < n; i++)
        if (op_mask_on(e, in, i))
            memcpy(r + i * el, m + el * k++, el);
    return op_write_vec(e, in, 0, r);
}

/* VPCOMPRESSD/Q to memory: the enabled elements packed, and only their
 * bytes written. */
enum rc vshuf_compress(struct emu *e, const struct insn *in)
{
    uint8_t a[EMU_MAX_ACCESS], r[EMU_MAX_ACCESS];
    unsigned n = mask_count(in), el = in->op[1].size / n, c = 0;
    TRY(op_read_vec(e, in, 1, a));
    for (unsigned i = 0; i < n; i++)
        if (op_mask_on(e, in, i))
            memcpy(r + el * c++, a + i * el, el);
    if (!c)
        return RC_OK;
    uint8_t seg;
    uint64_t off;
    TRY(op_addr(e, in, 0, &seg, &off));
    return mem_write(e, seg, off, c * el, in->mem_access, r);
}
