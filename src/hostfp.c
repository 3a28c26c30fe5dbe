/*
 * hostfp.c - what the host CPU can run of the floating-point templates
 * (hostfp.h): CPUID feature bits, XGETBV for the OS's YMM support, FXSAVE
 * for the MXCSR bits the host accepts. Read once when a handle is created.
 */
#include <string.h>

#include "hostfp.h"

#ifdef HOSTFP_HAVE_ASM
static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

void hostfp_detect(struct hostfp_caps *c)
{
    uint32_t r[4];
    memset(c, 0, sizeof *c);
    c->feat = HFP_ASM;
    cpuid(0, 0, r);
    if (r[0] < 1)
        return;
    cpuid(1, 0, r);
    uint32_t ecx = r[2];
    if (ecx & (1u << 0))
        c->feat |= HFP_SSE3;
    if (ecx & (1u << 19))
        c->feat |= HFP_SSE41;
    /* AVX needs OSXSAVE and XCR0 with SSE and AVX state enabled. */
    if ((ecx & (1u << 27)) && (ecx & (1u << 28))) {
        uint32_t lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        if ((lo & 6u) == 6u) {
            c->feat |= HFP_AVX;
            if (ecx & (1u << 12))
                c->feat |= HFP_FMA;
            if (ecx & (1u << 29))
                c->feat |= HFP_F16C;
        }
    }
    /* MXCSR_MASK at byte 28 of the FXSAVE image; 0 means 0xFFBF (SDM Vol. 1
     * 11.6.6). */
    struct {
        _Alignas(16) uint8_t b[512];
    } fx;
    memset(&fx, 0, sizeof fx);
    __asm__ volatile("fxsave %0" : "=m"(fx));
    uint32_t mask;
    memcpy(&mask, fx.b + 28, 4);
    c->mxcsr_mask = mask ? mask : 0xFFBFu;
}
#else
void hostfp_detect(struct hostfp_caps *c)
{
    memset(c, 0, sizeof *c);
}
#endif
