/*
 * flags.c - RFLAGS arithmetic in portable C (SDM Vol. 1 3.4.3 and
 * appendix A). Each helper returns the OF SF ZF AF PF CF bits it defines;
 * flags_set() in exec.c merges them under the row's masks.
 */
#include "emu.h"

static uint32_t parity_even(uint64_t r)
{
    unsigned v = (unsigned)(r & 0xFF);
    v ^= v >> 4;
    v &= 0xF;
    return ((0x6996u >> v) & 1) ? 0 : FL_PF;
}

uint32_t flags_szp(uint64_t r, unsigned size)
{
    uint64_t m = size_mask(size);
    uint32_t f = parity_even(r);
    r &= m;
    if (r == 0)
        f |= FL_ZF;
    if ((r >> (8 * size - 1)) & 1)
        f |= FL_SF;
    return f;
}

/* SF ZF PF of the result, AF of the operands, and OF from `ovf` (the bit
 * pattern whose top bit is set on a signed overflow). */
static uint32_t arith(uint64_t a, uint64_t b, uint64_t r, uint64_t ovf, bool cf, unsigned size)
{
    uint32_t f = flags_szp(r, size);
    if (cf)
        f |= FL_CF;
    if ((ovf >> (8 * size - 1)) & 1)
        f |= FL_OF;
    if ((a ^ b ^ r) & 0x10)
        f |= FL_AF;
    return f;
}

uint32_t flags_add(uint64_t a, uint64_t b, uint64_t carry, uint64_t r, unsigned size)
{
    uint64_t m = size_mask(size);
    a &= m;
    b &= m;
    r &= m;
    return arith(a, b, r, (a ^ r) & (b ^ r), r < a || (carry && r == a), size);
}

uint32_t flags_sub(uint64_t a, uint64_t b, uint64_t borrow, uint64_t r, unsigned size)
{
    uint64_t m = size_mask(size);
    a &= m;
    b &= m;
    r &= m;
    return arith(a, b, r, (a ^ b) & (a ^ r), a < b || (borrow && a == b), size);
}

uint32_t flags_logic(uint64_t r, unsigned size)
{
    return flags_szp(r, size); /* OF = CF = 0; AF undefined, left 0 */
}

/* Condition codes of Jcc/SETcc/CMOVcc (SDM Vol. 1 appendix B). */
bool flags_cond(uint32_t f, unsigned cc)
{
    bool cf = f & FL_CF, zf = f & FL_ZF, sf = f & FL_SF, of = f & FL_OF, pf = f & FL_PF;
    bool r;
    switch ((cc >> 1) & 7) {
    case 0: r = of; break;
    case 1: r = cf; break;
    case 2: r = zf; break;
    case 3: r = cf || zf; break;
    case 4: r = sf; break;
    case 5: r = pf; break;
    case 6: r = sf != of; break;
    default: r = zf || (sf != of); break;
    }
    return (cc & 1) ? !r : r;
}
