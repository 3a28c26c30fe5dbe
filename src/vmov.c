/*
 * vmov.c - SSE, AVX and MMX data movement with a memory operand: whole
 * vector loads and stores (MOVUPS MOVDQA LDDQU MOVNTDQ ...), scalar and
 * MOVD/MOVQ moves (zero-extending loads, low-part stores), the half moves
 * MOVLPS/MOVHPS/MOVLPD/MOVHPD, and the byte-masked stores MASKMOVDQU and
 * MASKMOVQ. Operands go through op_read_vec/op_write_vec; a VEX register
 * write zeroes the register above its size there, a legacy one does not.
 */
#include <string.h>

#include "emu.h"
#include "mem.h"

/* dst <- src: the source's bytes, zero-extended to the destination's size
 * (MOVD/MOVQ/MOVSS/MOVSD loads), or its low part (stores). */
enum rc vmov_mov(struct emu *e, const struct insn *in)
{
    uint8_t v[EMU_MAX_ACCESS];
    TRY(op_read_vec(e, in, 1, v));
    unsigned ssize = in->op[1].size, dsize = in->op[0].size;
    if (dsize > ssize)
        memset(v + ssize, 0, dsize - ssize);
    return op_write_vec(e, in, 0, v);
}

/* MOVLPS/MOVLPD xmm, m64 (bits 63:0 from memory) and MOVHPS/MOVHPD xmm,
 * m64 (bits 127:64 from memory). The other half is the destination's own
 * (legacy) or the first source's (VEX, three operands). */
static enum rc load_half(struct emu *e, const struct insn *in, unsigned at)
{
    uint8_t keep[EMU_MAX_ACCESS], m[EMU_MAX_ACCESS];
    unsigned ik = in->nops == 3 ? 1 : 0, im = in->nops == 3 ? 2 : 1;
    TRY(op_read_vec(e, in, im, m));
    TRY(op_read_vec(e, in, ik, keep));
    memcpy(keep + at, m, 8);
    return op_write_vec(e, in, 0, keep);
}

enum rc vmov_movlp(struct emu *e, const struct insn *in) { return load_half(e, in, 0); }
enum rc vmov_movhp(struct emu *e, const struct insn *in) { return load_half(e, in, 8); }

/* MOVHPS/MOVHPD m64, xmm: bits 127:64 to memory. */
enum rc vmov_sthp(struct emu *e, const struct insn *in)
{
    uint8_t v[EMU_MAX_ACCESS];
    TRY(op_read_vec(e, in, 1, v));
    return op_write_vec(e, in, 0, v + 8);
}

/* MASKMOVDQU/MASKMOVQ: the bytes of the data register whose mask byte has
 * bit 7 set go to DS:rDI (SDM Vol. 2 MASKMOVDQU). Only those bytes are
 * written, each run of them as one access; every page they touch is
 * validated before the first one is written, and an all-zero mask touches
 * no memory at all. */
enum rc vmov_maskmov(struct emu *e, const struct insn *in)
{
    uint8_t data[EMU_MAX_ACCESS], mask[EMU_MAX_ACCESS], seg;
    uint64_t off;
    unsigned size = in->op[0].size;
    TRY(op_read_vec(e, in, 1, data));
    TRY(op_read_vec(e, in, 2, mask));
    TRY(op_addr(e, in, 0, &seg, &off));
    uint64_t amask = addr_mask(in->addrsize);
    for (int pass = 0; pass < 2; pass++) {
        for (unsigned i = 0; i < size;) {
            if (!(mask[i] & 0x80)) {
                i++;
                continue;
            }
            /* A run also ends where the offset wraps at the address size:
             * each byte's offset is rDI + i in that size (with a 16-bit
             * address, bytes past 0xFFFF go to offset 0 and up, as the
             * host CPU does). */
            unsigned j = i;
            while (j < size && (mask[j] & 0x80) && (j == i || ((off + j) & amask) != 0))
                j++;
            uint64_t a = (off + i) & amask;
            if (pass == 0)
                TRY(mem_check(e, seg, a, j - i, ACC_W));
            else
                TRY(mem_write(e, seg, a, j - i, ACC_W, data + i));
            i = j;
        }
    }
    return RC_OK;
}

/* The element bitmap of a VMASKMOV/VPMASKMOV mask register: the sign bit
 * of each element of `es` bytes. */
static uint64_t sign_bits(const uint8_t *m, unsigned size, unsigned es)
{
    uint64_t on = 0;
    for (unsigned i = 0; i < size / es; i++)
        on |= (uint64_t)(m[i * es + es - 1] >> 7) << i;
    return on;
}

/* VMASKMOVPS/PD, VPMASKMOVD/Q loads (Vx, Hx = mask, Mx): the elements whose
 * mask sign bit is set are read, the others are zero and neither read nor
 * faulted (SDM Vol. 2 VMASKMOV). Element size: dwords without W (and for
 * the PS forms), qwords with it; passed by the handlers. */
static enum rc mask_load(struct emu *e, const struct insn *in, unsigned es)
{
    uint8_t m[EMU_MAX_ACCESS], v[EMU_MAX_ACCESS];
    TRY(op_read_vec(e, in, 1, m));
    TRY(op_masked_access(e, in, 2, v, false, sign_bits(m, in->op[2].size, es), es));
    return op_write_vec(e, in, 0, v);
}

/* The stores (Mx, Hx = mask, Vx): only the selected elements are written. */
static enum rc mask_store(struct emu *e, const struct insn *in, unsigned es)
{
    uint8_t m[EMU_MAX_ACCESS], v[EMU_MAX_ACCESS];
    TRY(op_read_vec(e, in, 1, m));
    TRY(op_read_vec(e, in, 2, v));
    return op_masked_access(e, in, 0, v, true, sign_bits(m, in->op[0].size, es), es);
}

enum rc vmov_maskload_d(struct emu *e, const struct insn *in) { return mask_load(e, in, 4); }
enum rc vmov_maskload_q(struct emu *e, const struct insn *in) { return mask_load(e, in, 8); }
enum rc vmov_maskstore_d(struct emu *e, const struct insn *in) { return mask_store(e, in, 4); }
enum rc vmov_maskstore_q(struct emu *e, const struct insn *in) { return mask_store(e, in, 8); }
