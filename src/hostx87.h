/*
 * hostx87.h - the x87 conversions that round, run on the host FPU so that
 * every rounding, precision and special-value rule is the processor's own.
 * One asm block per conversion: it saves the host x87 state (FNSAVE, which
 * also empties the stack), loads the given control word, converts between
 * two local buffers, reads the status word, and restores the host state
 * (FNCLEX first, so that nothing is left pending). x86-64 with GNU C inline
 * assembly (GCC, clang) only; elsewhere HOSTX87 is 0 and the callers refuse.
 */
#ifndef WHVEMU_HOSTX87_H
#define WHVEMU_HOSTX87_H

#include <stdint.h>

#if defined(__x86_64__) && defined(__GNUC__)
#define HOSTX87 1
#else
#define HOSTX87 0
#endif

enum hostx87_op {
    HX_LD32,   /* m32fp -> 80-bit (FLD m32, FSTP m80) */
    HX_LD64,   /* m64fp -> 80-bit */
    HX_ST32,   /* 80-bit -> m32fp (FLD m80, FSTP m32) */
    HX_ST64,   /* 80-bit -> m64fp */
    HX_IST16,  /* 80-bit -> m16int by the rounding control (FISTP) */
    HX_IST32,
    HX_IST64,
    HX_ISTT16, /* 80-bit -> m16int truncated (FISTTP, SSE3) */
    HX_ISTT32,
    HX_ISTT64,
    HX_BLD,    /* m80bcd -> 80-bit (FBLD) */
    HX_BST,    /* 80-bit -> m80bcd by the rounding control (FBSTP) */
};

#if HOSTX87
#define HOSTX87_BLOCK(insn)                                                                        \
    __asm__ volatile("fnsave %[sv]\n\t"                                                            \
                     "fldcw %[cw]\n\t" insn "\n\t"                                                 \
                     "fnstsw %[sw]\n\t"                                                            \
                     "fnclex\n\t"                                                                  \
                     "frstor %[sv]"                                                                \
                     : [sv] "+m"(save), [sw] "=m"(sw), [out] "=m"(*(uint8_t(*)[10])out)            \
                     : [cw] "m"(fcw), [in] "m"(*(const uint8_t(*)[10])in))

/* Runs `op` with control word `fcw` from `in` (4, 8 or 10 bytes) into `out`
 * (the destination's size); returns the host status word after the
 * conversion. Whether the store happened shows in TOP: the load pushes, a
 * completed store pops back to TOP 0. */
static inline uint16_t hostx87_run(enum hostx87_op op, uint16_t fcw, const uint8_t *in,
                                   uint8_t *out)
{
    uint8_t save[108];
    uint16_t sw = 0;
    switch (op) {
    case HX_LD32: HOSTX87_BLOCK("flds %[in]\n\tfstpt %[out]"); break;
    case HX_LD64: HOSTX87_BLOCK("fldl %[in]\n\tfstpt %[out]"); break;
    case HX_ST32: HOSTX87_BLOCK("fldt %[in]\n\tfstps %[out]"); break;
    case HX_ST64: HOSTX87_BLOCK("fldt %[in]\n\tfstpl %[out]"); break;
    case HX_IST16: HOSTX87_BLOCK("fldt %[in]\n\tfistps %[out]"); break;
    case HX_IST32: HOSTX87_BLOCK("fldt %[in]\n\tfistpl %[out]"); break;
    case HX_IST64: HOSTX87_BLOCK("fldt %[in]\n\tfistpll %[out]"); break;
    case HX_ISTT16: HOSTX87_BLOCK("fldt %[in]\n\tfisttps %[out]"); break;
    case HX_ISTT32: HOSTX87_BLOCK("fldt %[in]\n\tfisttpl %[out]"); break;
    case HX_ISTT64: HOSTX87_BLOCK("fldt %[in]\n\tfisttpll %[out]"); break;
    case HX_BLD: HOSTX87_BLOCK("fbld %[in]\n\tfstpt %[out]"); break;
    case HX_BST: HOSTX87_BLOCK("fldt %[in]\n\tfbstp %[out]"); break;
    }
    return sw;
}
#undef HOSTX87_BLOCK
#endif

#endif /* WHVEMU_HOSTX87_H */
