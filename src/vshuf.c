/*
 * vshuf.c - SSE and AVX2 element rearrangements with a memory source:
 * unpacks, saturating packs, PSHUFB and the PSHUFD/PSHUFHW/PSHUFLW
 * shuffles. A 256-bit form works on each 128-bit lane separately (SDM
 * Vol. 2 PUNPCKLBW, PACKSSWB, PSHUFB, PSHUFD).
 */
#include <string.h>

#include "emu.h"

static uint64_t ld(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void st(uint8_t *p, unsigned n, uint64_t v)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

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
    TRY(sources(e, in, a, b));
    for (unsigned lane = 0; lane < in->op[0].size; lane += 16) {
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
                int64_t v = (int64_t)sign_extend(ld(src + lane + i * el, el), el);
                v = v < lo ? lo : v > hi ? hi : v;
                st(r + lane + k * 8 + i * half, half, (uint64_t)v);
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
