/*
 * crc.c - CRC32 (SSE4.2): the CRC-32C (Castagnoli) of the source bytes
 * accumulated onto the destination's low 32 bits, bit-reflected with the
 * polynomial 0x11EDC6F41 (SDM Vol. 2 CRC32). The result is 32 bits,
 * zero-extended; no flags change.
 */
#include "emu.h"

enum rc crc_crc32(struct emu *e, const struct insn *in)
{
    uint64_t acc, src;
    TRY(op_read(e, in, 1, &src));
    TRY(op_read(e, in, 0, &acc));
    uint32_t crc = (uint32_t)acc;
    for (unsigned i = 0; i < in->op[1].size; i++) {
        crc ^= (uint8_t)(src >> (8 * i));
        for (unsigned b = 0; b < 8; b++)
            crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1)));
    }
    return op_write(e, in, 0, crc);
}
