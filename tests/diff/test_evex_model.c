/*
 * test_evex_model.c - EVEX (AVX-512) forms with a memory operand against a
 * model the host CPU computes without AVX-512: the matching VEX.256 form
 * run natively on each 256-bit half of the operands (or, where no VEX form
 * exists, a few lines of C), then the opmask applied by the rules of SDM
 * Vol. 2 2.7 (merging keeps a disabled element, zeroing clears it, k0 means
 * no mask; a register write clears the bits above the vector length).
 *
 * Every case runs with random register numbers 0-31, random vector
 * lengths, opmasks, {z}, {1toN} broadcasts where the row has them and a
 * disp8 scaled by the memory operand's N; the model is independent of the
 * emulator's element code (it uses the host's instructions). Then the
 * memory-fault rules: a disabled element on an absent page does not fault
 * for a fault-suppressing form, an enabled one does, and a form without
 * fault suppression reads its whole operand.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "WinHvEmulation.h"
#include "emu.h"
#include "fake_vmm.h"
#include "whvemu.h"

#define RIP0 0x401000ull
#define GVA 0x7f0000001000ull
#define GPA 0xfee00000ull
#define MEMOFF 0x200u /* the memory operand's offset in the first page */

static unsigned failures, checks;

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        checks++;                                                                                  \
        if (!(c)) {                                                                                \
            failures++;                                                                            \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #c);                                    \
        }                                                                                          \
    } while (0)

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd64(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}
static unsigned rnd(unsigned n) { return (unsigned)(rnd64() % n); }

/* ---- native VEX.256 forms: ymm0 = a, ymm1 = b, the result in ymm0 ---- */
typedef void (*nat_fn)(const uint8_t *a, const uint8_t *b, uint8_t *r, uint32_t *mx);
#define NAT(id, body)                                                                              \
    static void nat_##id(const uint8_t *a, const uint8_t *b, uint8_t *r, uint32_t *mx)            \
    {                                                                                              \
        uint32_t sv;                                                                               \
        __asm__ volatile("stmxcsr %[sv]\n\t"                                                       \
                         "vmovdqu (%[a]), %%ymm0\n\t"                                              \
                         "vmovdqu (%[b]), %%ymm1\n\t"                                              \
                         "ldmxcsr %[mx]\n\t" body "\n\t"                                           \
                         "stmxcsr %[mx]\n\t"                                                       \
                         "ldmxcsr %[sv]\n\t"                                                       \
                         "vmovdqu %%ymm0, (%[r])\n\t"                                              \
                         "vzeroupper"                                                              \
                         : [mx] "+m"(*mx), [sv] "=m"(sv)                                           \
                         : [a] "r"(a), [b] "r"(b), [r] "r"(r)                                      \
                         : "xmm0", "xmm1", "memory");                                              \
    }
#define NB(m) NAT(m, #m " %%ymm1, %%ymm0, %%ymm0")
#define NU(m) NAT(m, #m " %%ymm1, %%ymm0")

NB(vpaddb) NB(vpaddw) NB(vpaddd) NB(vpaddq) NB(vpsubw) NB(vpsubd) NB(vpsubq)
NB(vpaddsb) NB(vpaddsw) NB(vpaddusb) NB(vpaddusw) NB(vpsubsb) NB(vpsubsw) NB(vpsubusb)
NB(vpsubusw) NB(vpminsb) NB(vpminsw) NB(vpminsd) NB(vpminuw) NB(vpmaxsb) NB(vpmaxsw)
NB(vpmaxsd) NB(vpmaxub) NB(vpmaxuw) NB(vpmaxud) NB(vpavgb) NB(vpavgw) NB(vpmullw) NB(vpmulld)
NB(vpmulhw) NB(vpmulhuw) NB(vpmuludq) NB(vpmaddwd) NB(vpsadbw) NB(vpshufb)
NB(vpunpcklbw) NB(vpunpcklwd) NB(vpunpckldq) NB(vpunpcklqdq) NB(vpunpckhbw) NB(vpunpckhwd)
NB(vpunpckhdq) NB(vpunpckhqdq) NB(vpacksswb) NB(vpackuswb) NB(vpackssdw) NB(vpackusdw)
NB(vpcmpgtb) NB(vpcmpgtw) NB(vpcmpgtd) NB(vpcmpgtq) NB(vpsllvd) NB(vpsllvq) NB(vpsrlvd)
NB(vpsrlvq) NB(vpsravd) NB(vpand) NB(vpandn) NB(vpor) NB(vpxor) NB(vpminub) NB(vpsubb)
NB(vpminud) NB(vpcmpeqb) NB(vpcmpeqw) NB(vpcmpeqd) NB(vpcmpeqq)
NU(vpabsb) NU(vpabsw) NU(vpabsd)
NB(vpmaddubsw) NB(vpmulhrsw) NB(vpmuldq)
NAT(vpalignr, "vpalignr $5, %%ymm1, %%ymm0, %%ymm0")
NAT(vpshufd, "vpshufd $0x1b, %%ymm1, %%ymm0")
NAT(vpshufhw, "vpshufhw $0x4e, %%ymm1, %%ymm0")
NAT(vpshuflw, "vpshuflw $0xb1, %%ymm1, %%ymm0")
NAT(vpermq_i, "vpermq $0x93, %%ymm1, %%ymm0")
NAT(vpermpd_i, "vpermpd $0x4e, %%ymm1, %%ymm0")
NAT(vpsllw_i, "vpsllw $5, %%ymm1, %%ymm0")
NAT(vpsrlw_i, "vpsrlw $9, %%ymm1, %%ymm0")
NAT(vpsraw_i, "vpsraw $17, %%ymm1, %%ymm0")
NAT(vpslld_i, "vpslld $31, %%ymm1, %%ymm0")
NAT(vpsrld_i, "vpsrld $3, %%ymm1, %%ymm0")
NAT(vpsrad_i, "vpsrad $12, %%ymm1, %%ymm0")
NAT(vpsllq_i, "vpsllq $40, %%ymm1, %%ymm0")
NAT(vpsrlq_i, "vpsrlq $64, %%ymm1, %%ymm0")
NAT(vpslldq_i, "vpslldq $3, %%ymm1, %%ymm0")
NAT(vpsrldq_i, "vpsrldq $17, %%ymm1, %%ymm0")
NAT(vpsllw_m, "vpsllw %%xmm1, %%ymm0, %%ymm0")
NAT(vpslld_m, "vpslld %%xmm1, %%ymm0, %%ymm0")
NAT(vpsllq_m, "vpsllq %%xmm1, %%ymm0, %%ymm0")
NAT(vpsrlw_m, "vpsrlw %%xmm1, %%ymm0, %%ymm0")
NAT(vpsrld_m, "vpsrld %%xmm1, %%ymm0, %%ymm0")
NAT(vpsrlq_m, "vpsrlq %%xmm1, %%ymm0, %%ymm0")
NAT(vpsraw_m, "vpsraw %%xmm1, %%ymm0, %%ymm0")
NAT(vpsrad_m, "vpsrad %%xmm1, %%ymm0, %%ymm0")
#define NX(m) NAT(m, #m " %%xmm1, %%ymm0")
NX(vpmovzxbw) NX(vpmovzxbd) NX(vpmovzxbq) NX(vpmovzxwd) NX(vpmovzxwq) NX(vpmovzxdq)
NX(vpmovsxbw) NX(vpmovsxbd) NX(vpmovsxbq) NX(vpmovsxwd) NX(vpmovsxwq) NX(vpmovsxdq)

/* ---- C models of the forms without a VEX counterpart (whole vector) ---- */
typedef void (*model_fn)(const uint8_t *a, const uint8_t *b, uint8_t *r, unsigned vlen);
static int64_t q(const uint8_t *p, unsigned i) { int64_t v; memcpy(&v, p + 8 * i, 8); return v; }
static void putq(uint8_t *p, unsigned i, int64_t v) { memcpy(p + 8 * i, &v, 8); }
static int16_t w16(const uint8_t *p, unsigned i) { int16_t v; memcpy(&v, p + 2 * i, 2); return v; }
static void putw(uint8_t *p, unsigned i, int16_t v) { memcpy(p + 2 * i, &v, 2); }
static void m_pminsq(const uint8_t *a, const uint8_t *b, uint8_t *r, unsigned n)
{ for (unsigned i = 0; i < n / 8; i++) putq(r, i, q(a, i) < q(b, i) ? q(a, i) : q(b, i)); }
static void m_pmaxsq(const uint8_t *a, const uint8_t *b, uint8_t *r, unsigned n)
{ for (unsigned i = 0; i < n / 8; i++) putq(r, i, q(a, i) > q(b, i) ? q(a, i) : q(b, i)); }
static void m_pminuq(const uint8_t *a, const uint8_t *b, uint8_t *r, unsigned n)
{ for (unsigned i = 0; i < n / 8; i++) putq(r, i, (uint64_t)q(a, i) < (uint64_t)q(b, i) ? q(a, i) : q(b, i)); }
static void m_pmaxuq(const uint8_t *a, const uint8_t *b, uint8_t *r, unsigned n)
{ for (unsigned i = 0; i < n / 8; i++) putq(r, i, (uint64_t)q(a, i) > (uint64_t)q(b, i) ? q(a, i) : q(b, i)); }
static void m_pmullq(const uint8_t *a, const uint8_t *b, uint8_t *r, unsigned n)
{ for (unsigned i = 0; i < n / 8; i++) putq(r, i, (int64_t)((uint64_t)q(a, i) * (uint64_t)q(b, i))); }
static void m_pabsq(const uint8_t *a, const uint8_t *b, uint8_t *r, unsigned n)
{ (void)a; for (unsigned i = 0; i < n / 8; i++) putq(r, i, q(b, i) < 0 ? (int64_t)(0 - (uint64_t)q(b, i)) : q(b, i)); }
static int64_t sar64(int64_t v, uint64_t c) { return c > 63 ? (v < 0 ? -1 : 0) : v >> c; }
static void m_psraq_i(const uint8_t *a, const uint8_t *b, uint8_t *r, unsigned n)
{ (void)a; for (unsigned i = 0; i < n / 8; i++) putq(r, i, sar64(q(b, i), 7)); }
static void m_psraq_m(const uint8_t *a, const uint8_t *b, uint8_t *r, unsigned n)
{ for (unsigned i = 0; i < n / 8; i++) putq(r, i, sar64(q(a, i), (uint64_t)q(b, 0))); }
static void m_psravq(const uint8_t *a, const uint8_t *b, uint8_t *r, unsigned n)
{ for (unsigned i = 0; i < n / 8; i++) putq(r, i, sar64(q(a, i), (uint64_t)q(b, i))); }
static void m_psllvw(const uint8_t *a, const uint8_t *b, uint8_t *r, unsigned n)
{ for (unsigned i = 0; i < n / 2; i++) putw(r, i, (uint16_t)w16(b, i) > 15 ? 0 : (int16_t)((uint16_t)w16(a, i) << (uint16_t)w16(b, i))); }
static void m_psrlvw(const uint8_t *a, const uint8_t *b, uint8_t *r, unsigned n)
{ for (unsigned i = 0; i < n / 2; i++) putw(r, i, (uint16_t)w16(b, i) > 15 ? 0 : (int16_t)((uint16_t)w16(a, i) >> (uint16_t)w16(b, i))); }
static void m_psravw(const uint8_t *a, const uint8_t *b, uint8_t *r, unsigned n)
{ for (unsigned i = 0; i < n / 2; i++) { unsigned c = (uint16_t)w16(b, i); putw(r, i, (int16_t)(w16(a, i) >> (c > 15 ? 15 : c))); } }
static void m_permd(const uint8_t *a, const uint8_t *b, uint8_t *r, unsigned n)
{ for (unsigned i = 0; i < n / 4; i++) memcpy(r + 4 * i, b + 4 * (a[4 * i] % (n / 4)), 4); }
static void m_permq(const uint8_t *a, const uint8_t *b, uint8_t *r, unsigned n)
{ for (unsigned i = 0; i < n / 8; i++) memcpy(r + 8 * i, b + 8 * (a[8 * i] % (n / 8)), 8); }

static uint64_t rotl(uint64_t x, unsigned n, unsigned bits)
{
    uint64_t m = bits == 64 ? ~0ull : (1ull << bits) - 1;
    n %= bits;
    return n ? ((x << n) | (x >> (bits - n))) & m : x;
}
static uint32_t d32(const uint8_t *p, unsigned i) { uint32_t v; memcpy(&v, p + 4 * i, 4); return v; }
static void putd(uint8_t *p, unsigned i, uint32_t v) { memcpy(p + 4 * i, &v, 4); }
static void m_prold_i(const uint8_t *a, const uint8_t *b, uint8_t *r, unsigned n)
{ (void)a; for (unsigned i = 0; i < n / 4; i++) putd(r, i, (uint32_t)rotl(d32(b, i), 37, 32)); }
static void m_prord_i(const uint8_t *a, const uint8_t *b, uint8_t *r, unsigned n)
{ (void)a; for (unsigned i = 0; i < n / 4; i++) putd(r, i, (uint32_t)rotl(d32(b, i), 32 - 5, 32)); }
static void m_prolq_i(const uint8_t *a, const uint8_t *b, uint8_t *r, unsigned n)
{ (void)a; for (unsigned i = 0; i < n / 8; i++) putq(r, i, (int64_t)rotl((uint64_t)q(b, i), 200 % 64, 64)); }
static void m_prorq_i(const uint8_t *a, const uint8_t *b, uint8_t *r, unsigned n)
{ (void)a; for (unsigned i = 0; i < n / 8; i++) putq(r, i, (int64_t)rotl((uint64_t)q(b, i), 64 - 13, 64)); }
static void m_prolvd(const uint8_t *a, const uint8_t *b, uint8_t *r, unsigned n)
{ for (unsigned i = 0; i < n / 4; i++) putd(r, i, (uint32_t)rotl(d32(a, i), d32(b, i) % 32, 32)); }
static void m_prorvd(const uint8_t *a, const uint8_t *b, uint8_t *r, unsigned n)
{ for (unsigned i = 0; i < n / 4; i++) putd(r, i, (uint32_t)rotl(d32(a, i), (32 - d32(b, i) % 32) % 32, 32)); }
static void m_prolvq(const uint8_t *a, const uint8_t *b, uint8_t *r, unsigned n)
{ for (unsigned i = 0; i < n / 8; i++) putq(r, i, (int64_t)rotl((uint64_t)q(a, i), (unsigned)((uint64_t)q(b, i) % 64), 64)); }
static void m_prorvq(const uint8_t *a, const uint8_t *b, uint8_t *r, unsigned n)
{ for (unsigned i = 0; i < n / 8; i++) putq(r, i, (int64_t)rotl((uint64_t)q(a, i), (unsigned)((64 - (uint64_t)q(b, i) % 64) % 64), 64)); }

/* ---- the cases ---- */
enum shape {
    S_BIN,  /* V, H, W: r = f(H, mem) */
    S_KCMP, /* K, H, W: a vector compare, one bit per element */
    S_UN,   /* V, W (imm8): r = f(mem) */
    S_SHI,  /* H (the destination), W, imm8: r = f(mem) */
    S_SHM,  /* V, H, Wdq: r = f(H, the m128 count) */
    S_EXT,  /* V, W of 1/div of the vector: widened */
    S_BC,   /* V, M of memsz bytes repeated */
};
struct ecase {
    const char *name;
    uint8_t mm, pp, op, reg; /* reg: ModRM.reg of a group form, else 0 */
    uint8_t w;               /* EVEX.W */
    uint8_t shape, es;       /* es: the opmask's element size */
    bool bcst, nomask, not128;
    uint8_t div, memsz, imm; /* S_EXT: memory = vector / div; S_BC: memory bytes; imm8 */
    nat_fn nat;
    model_fn model;
};
#define C_(nm, mm, pp, op, w, sh, es, bc, f)                                                       \
    {nm, mm, pp, op, 0, w, sh, es, bc, false, false, 0, 0, 0, f, NULL}
#define B_(nm, op, w, es, bc) C_(#nm, 1, 1, op, w, S_BIN, es, bc, nat_##nm)
#define B38(nm, op, w, es, bc) C_(#nm, 2, 1, op, w, S_BIN, es, bc, nat_##nm)
#define BM(nm, mm, op, w, es, bc, f)                                                               \
    {nm, mm, 1, op, 0, w, S_BIN, es, bc, false, false, 0, 0, 0, NULL, f}
static const struct ecase cases[] = {
    B_(vpaddb, 0xFC, 0, 1, false), B_(vpaddw, 0xFD, 0, 2, false), B_(vpaddd, 0xFE, 0, 4, true),
    B_(vpaddq, 0xD4, 1, 8, true), B_(vpsubw, 0xF9, 0, 2, false), B_(vpsubd, 0xFA, 0, 4, true),
    B_(vpsubq, 0xFB, 1, 8, true), B_(vpaddsb, 0xEC, 0, 1, false), B_(vpaddsw, 0xED, 0, 2, false),
    B_(vpaddusb, 0xDC, 0, 1, false), B_(vpaddusw, 0xDD, 0, 2, false),
    B_(vpsubsb, 0xE8, 0, 1, false), B_(vpsubsw, 0xE9, 0, 2, false),
    B_(vpsubusb, 0xD8, 0, 1, false), B_(vpsubusw, 0xD9, 0, 2, false),
    B_(vpminsw, 0xEA, 0, 2, false), B_(vpmaxsw, 0xEE, 0, 2, false), B_(vpmaxub, 0xDE, 0, 1, false),
    B_(vpavgb, 0xE0, 0, 1, false), B_(vpavgw, 0xE3, 0, 2, false), B_(vpmullw, 0xD5, 0, 2, false),
    B_(vpmulhw, 0xE5, 0, 2, false), B_(vpmulhuw, 0xE4, 0, 2, false),
    B_(vpmuludq, 0xF4, 1, 8, true), B_(vpmaddwd, 0xF5, 0, 4, false),
    B_(vpunpcklbw, 0x60, 0, 1, false), B_(vpunpcklwd, 0x61, 0, 2, false),
    B_(vpunpckldq, 0x62, 0, 4, true), B_(vpunpcklqdq, 0x6C, 1, 8, true),
    B_(vpunpckhbw, 0x68, 0, 1, false), B_(vpunpckhwd, 0x69, 0, 2, false),
    B_(vpunpckhdq, 0x6A, 0, 4, true), B_(vpunpckhqdq, 0x6D, 1, 8, true),
    B_(vpacksswb, 0x63, 0, 1, false), B_(vpackuswb, 0x67, 0, 1, false),
    B_(vpackssdw, 0x6B, 0, 2, true), B38(vpackusdw, 0x2B, 0, 2, true),
    B38(vpshufb, 0x00, 0, 1, false), B38(vpminsb, 0x38, 0, 1, false),
    B38(vpminsd, 0x39, 0, 4, true), B38(vpminuw, 0x3A, 0, 2, false),
    B38(vpmaxsb, 0x3C, 0, 1, false), B38(vpmaxsd, 0x3D, 0, 4, true),
    B38(vpmaxuw, 0x3E, 0, 2, false), B38(vpmaxud, 0x3F, 0, 4, true),
    B38(vpmulld, 0x40, 0, 4, true), B38(vpmaddubsw, 0x04, 0, 2, false),
    B38(vpmulhrsw, 0x0B, 0, 2, false), B38(vpmuldq, 0x28, 1, 8, true),
    BM("vprolvd", 2, 0x15, 0, 4, true, m_prolvd), BM("vprolvq", 2, 0x15, 1, 8, true, m_prolvq),
    BM("vprorvd", 2, 0x14, 0, 4, true, m_prorvd), BM("vprorvq", 2, 0x14, 1, 8, true, m_prorvq),
    {"vprold", 1, 1, 0x72, 1, 0, S_SHI, 4, true, false, false, 0, 0, 37, NULL, m_prold_i},
    {"vprord", 1, 1, 0x72, 0, 0, S_SHI, 4, true, false, false, 0, 0, 5, NULL, m_prord_i},
    {"vprolq", 1, 1, 0x72, 1, 1, S_SHI, 8, true, false, false, 0, 0, 200, NULL, m_prolq_i},
    {"vprorq", 1, 1, 0x72, 0, 1, S_SHI, 8, true, false, false, 0, 0, 13, NULL, m_prorq_i}, B38(vpsllvd, 0x47, 0, 4, true),
    B38(vpsllvq, 0x47, 1, 8, true), B38(vpsrlvd, 0x45, 0, 4, true),
    B38(vpsrlvq, 0x45, 1, 8, true), B38(vpsravd, 0x46, 0, 4, true),
    C_("vpandd", 1, 1, 0xDB, 0, S_BIN, 4, true, nat_vpand),
    C_("vpandq", 1, 1, 0xDB, 1, S_BIN, 8, true, nat_vpand),
    C_("vpandnd", 1, 1, 0xDF, 0, S_BIN, 4, true, nat_vpandn),
    C_("vpandnq", 1, 1, 0xDF, 1, S_BIN, 8, true, nat_vpandn),
    C_("vpord", 1, 1, 0xEB, 0, S_BIN, 4, true, nat_vpor),
    C_("vporq", 1, 1, 0xEB, 1, S_BIN, 8, true, nat_vpor),
    C_("vpxord", 1, 1, 0xEF, 0, S_BIN, 4, true, nat_vpxor),
    C_("vpxorq", 1, 1, 0xEF, 1, S_BIN, 8, true, nat_vpxor),
    B_(vpminub, 0xDA, 0, 1, false), B_(vpsubb, 0xF8, 0, 1, false),
    B38(vpminud, 0x3B, 0, 4, true),
    C_("vpcmpeqb", 1, 1, 0x74, 0, S_KCMP, 1, false, nat_vpcmpeqb),
    C_("vpcmpeqw", 1, 1, 0x75, 0, S_KCMP, 2, false, nat_vpcmpeqw),
    C_("vpcmpeqd", 1, 1, 0x76, 0, S_KCMP, 4, true, nat_vpcmpeqd),
    C_("vpcmpeqq", 2, 1, 0x29, 1, S_KCMP, 8, true, nat_vpcmpeqq),
    BM("vpminsq", 2, 0x39, 1, 8, true, m_pminsq), BM("vpmaxsq", 2, 0x3D, 1, 8, true, m_pmaxsq),
    BM("vpminuq", 2, 0x3B, 1, 8, true, m_pminuq), BM("vpmaxuq", 2, 0x3F, 1, 8, true, m_pmaxuq),
    BM("vpmullq", 2, 0x40, 1, 8, true, m_pmullq), BM("vpsravq", 2, 0x46, 1, 8, true, m_psravq),
    BM("vpsllvw", 2, 0x12, 1, 2, false, m_psllvw), BM("vpsrlvw", 2, 0x10, 1, 2, false, m_psrlvw),
    BM("vpsravw", 2, 0x11, 1, 2, false, m_psravw),
    {"vpermd", 2, 1, 0x36, 0, 0, S_BIN, 4, true, false, true, 0, 0, 0, NULL, m_permd},
    {"vpermps", 2, 1, 0x16, 0, 0, S_BIN, 4, true, false, true, 0, 0, 0, NULL, m_permd},
    {"vpermq", 2, 1, 0x36, 0, 1, S_BIN, 8, true, false, true, 0, 0, 0, NULL, m_permq},
    {"vpermpd", 2, 1, 0x16, 0, 1, S_BIN, 8, true, false, true, 0, 0, 0, NULL, m_permq},
    {"vpsadbw", 1, 1, 0xF6, 0, 0, S_BIN, 1, false, true, false, 0, 0, 0, nat_vpsadbw, NULL},
    {"vpalignr", 3, 1, 0x0F, 0, 0, S_BIN, 1, false, false, false, 0, 0, 5, nat_vpalignr, NULL},
    C_("vpcmpgtb", 1, 1, 0x64, 0, S_KCMP, 1, false, nat_vpcmpgtb),
    C_("vpcmpgtw", 1, 1, 0x65, 0, S_KCMP, 2, false, nat_vpcmpgtw),
    C_("vpcmpgtd", 1, 1, 0x66, 0, S_KCMP, 4, true, nat_vpcmpgtd),
    C_("vpcmpgtq", 2, 1, 0x37, 1, S_KCMP, 8, true, nat_vpcmpgtq),
    C_("vpabsb", 2, 1, 0x1C, 0, S_UN, 1, false, nat_vpabsb),
    C_("vpabsw", 2, 1, 0x1D, 0, S_UN, 2, false, nat_vpabsw),
    C_("vpabsd", 2, 1, 0x1E, 0, S_UN, 4, true, nat_vpabsd),
    {"vpabsq", 2, 1, 0x1F, 0, 1, S_UN, 8, true, false, false, 0, 0, 0, NULL, m_pabsq},
    {"vpshufd", 1, 1, 0x70, 0, 0, S_UN, 4, true, false, false, 0, 0, 0x1b, nat_vpshufd, NULL},
    {"vpshufhw", 1, 2, 0x70, 0, 0, S_UN, 2, false, false, false, 0, 0, 0x4e, nat_vpshufhw, NULL},
    {"vpshuflw", 1, 3, 0x70, 0, 0, S_UN, 2, false, false, false, 0, 0, 0xb1, nat_vpshuflw, NULL},
    {"vpermq imm", 3, 1, 0x00, 0, 1, S_UN, 8, true, false, true, 0, 0, 0x93, nat_vpermq_i, NULL},
    {"vpermpd imm", 3, 1, 0x01, 0, 1, S_UN, 8, true, false, true, 0, 0, 0x4e, nat_vpermpd_i, NULL},
    {"vpsllw imm", 1, 1, 0x71, 6, 0, S_SHI, 2, false, false, false, 0, 0, 5, nat_vpsllw_i, NULL},
    {"vpsrlw imm", 1, 1, 0x71, 2, 0, S_SHI, 2, false, false, false, 0, 0, 9, nat_vpsrlw_i, NULL},
    {"vpsraw imm", 1, 1, 0x71, 4, 0, S_SHI, 2, false, false, false, 0, 0, 17, nat_vpsraw_i, NULL},
    {"vpslld imm", 1, 1, 0x72, 6, 0, S_SHI, 4, true, false, false, 0, 0, 31, nat_vpslld_i, NULL},
    {"vpsrld imm", 1, 1, 0x72, 2, 0, S_SHI, 4, true, false, false, 0, 0, 3, nat_vpsrld_i, NULL},
    {"vpsrad imm", 1, 1, 0x72, 4, 0, S_SHI, 4, true, false, false, 0, 0, 12, nat_vpsrad_i, NULL},
    {"vpsraq imm", 1, 1, 0x72, 4, 1, S_SHI, 8, true, false, false, 0, 0, 7, NULL, m_psraq_i},
    {"vpsllq imm", 1, 1, 0x73, 6, 1, S_SHI, 8, true, false, false, 0, 0, 40, nat_vpsllq_i, NULL},
    {"vpsrlq imm", 1, 1, 0x73, 2, 1, S_SHI, 8, true, false, false, 0, 0, 64, nat_vpsrlq_i, NULL},
    {"vpslldq", 1, 1, 0x73, 7, 0, S_SHI, 1, false, true, false, 0, 0, 3, nat_vpslldq_i, NULL},
    {"vpsrldq", 1, 1, 0x73, 3, 0, S_SHI, 1, false, true, false, 0, 0, 17, nat_vpsrldq_i, NULL},
    C_("vpsllw m128", 1, 1, 0xF1, 0, S_SHM, 2, false, nat_vpsllw_m),
    C_("vpslld m128", 1, 1, 0xF2, 0, S_SHM, 4, false, nat_vpslld_m),
    C_("vpsllq m128", 1, 1, 0xF3, 1, S_SHM, 8, false, nat_vpsllq_m),
    C_("vpsrlw m128", 1, 1, 0xD1, 0, S_SHM, 2, false, nat_vpsrlw_m),
    C_("vpsrld m128", 1, 1, 0xD2, 0, S_SHM, 4, false, nat_vpsrld_m),
    C_("vpsrlq m128", 1, 1, 0xD3, 1, S_SHM, 8, false, nat_vpsrlq_m),
    C_("vpsraw m128", 1, 1, 0xE1, 0, S_SHM, 2, false, nat_vpsraw_m),
    C_("vpsrad m128", 1, 1, 0xE2, 0, S_SHM, 4, false, nat_vpsrad_m),
    {"vpsraq m128", 1, 1, 0xE2, 0, 1, S_SHM, 8, false, false, false, 0, 0, 0, NULL, m_psraq_m},
#define EX(nm, op, w, es, div) {#nm, 2, 1, op, 0, w, S_EXT, es, false, false, false, div, 0, 0, nat_##nm, NULL}
    EX(vpmovzxbw, 0x30, 0, 2, 2), EX(vpmovzxbd, 0x31, 0, 4, 4), EX(vpmovzxbq, 0x32, 0, 8, 8),
    EX(vpmovzxwd, 0x33, 0, 4, 2), EX(vpmovzxwq, 0x34, 0, 8, 4), EX(vpmovzxdq, 0x35, 0, 8, 2),
    EX(vpmovsxbw, 0x20, 0, 2, 2), EX(vpmovsxbd, 0x21, 0, 4, 4), EX(vpmovsxbq, 0x22, 0, 8, 8),
    EX(vpmovsxwd, 0x23, 0, 4, 2), EX(vpmovsxwq, 0x24, 0, 8, 4), EX(vpmovsxdq, 0x25, 0, 8, 2),
#define BC(nm, op, w, es, sz, n128) {nm, 2, 1, op, 0, w, S_BC, es, false, false, n128, 0, sz, 0, NULL, NULL}
    BC("vpbroadcastb", 0x78, 0, 1, 1, false), BC("vpbroadcastw", 0x79, 0, 2, 2, false),
    BC("vpbroadcastd", 0x58, 0, 4, 4, false), BC("vpbroadcastq", 0x59, 1, 8, 8, false),
    BC("vbroadcastss", 0x18, 0, 4, 4, false), BC("vbroadcastsd", 0x19, 1, 8, 8, true),
    BC("vbroadcasti32x4", 0x5A, 0, 4, 16, true), BC("vbroadcastf32x4", 0x1A, 0, 4, 16, true),
    BC("vbroadcasti32x2", 0x59, 0, 4, 8, false), BC("vbroadcastf32x2", 0x19, 0, 4, 8, true),
    BC("vbroadcasti64x2", 0x5A, 1, 8, 16, true), BC("vbroadcastf64x2", 0x1A, 1, 8, 16, true),
    BC("vbroadcasti32x8", 0x5B, 0, 4, 32, true), BC("vbroadcastf32x8", 0x1B, 0, 4, 32, true),
    BC("vbroadcasti64x4", 0x5B, 1, 8, 32, true), BC("vbroadcastf64x4", 0x1B, 1, 8, 32, true),
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))


/* ---- floating point: VEX.256 forms under a given MXCSR; FMA: ymm0 = dest,
 * ymm1 = vvvv, ymm2 = r/m ---- */
typedef void (*nat3_fn)(const uint8_t *a, const uint8_t *b, const uint8_t *c, uint8_t *r,
                        uint32_t *mx);
#define NAT3(id, body)                                                                             \
    static void nat3_##id(const uint8_t *a, const uint8_t *b, const uint8_t *c, uint8_t *r,       \
                          uint32_t *mx)                                                            \
    {                                                                                              \
        uint32_t sv;                                                                               \
        __asm__ volatile("stmxcsr %[sv]\n\t"                                                       \
                         "vmovdqu (%[a]), %%ymm0\n\t"                                              \
                         "vmovdqu (%[b]), %%ymm1\n\t"                                              \
                         "vmovdqu (%[c]), %%ymm2\n\t"                                              \
                         "ldmxcsr %[mx]\n\t" body "\n\t"                                           \
                         "stmxcsr %[mx]\n\t"                                                       \
                         "ldmxcsr %[sv]\n\t"                                                       \
                         "vmovdqu %%ymm0, (%[r])\n\t"                                              \
                         "vzeroupper"                                                              \
                         : [mx] "+m"(*mx), [sv] "=m"(sv)                                           \
                         : [a] "r"(a), [b] "r"(b), [c] "r"(c), [r] "r"(r)                          \
                         : "xmm0", "xmm1", "xmm2", "memory");                                      \
    }
#define F3B(m) NAT3(m, #m " %%ymm2, %%ymm0, %%ymm0")  /* a op c */
#define F3U(m) NAT3(m, #m " %%ymm2, %%ymm0")          /* op c */
#define F3F(m) NAT3(m, #m " %%ymm2, %%ymm1, %%ymm0")  /* FMA */
F3B(vaddps) F3B(vaddpd) F3B(vsubps) F3B(vsubpd) F3B(vmulps) F3B(vmulpd) F3B(vdivps) F3B(vdivpd)
F3B(vminps) F3B(vminpd) F3B(vmaxps) F3B(vmaxpd) F3U(vsqrtps) F3U(vsqrtpd)
#define F3FF(o) F3F(o##ps) F3F(o##pd)
F3FF(vfmaddsub132) F3FF(vfmsubadd132) F3FF(vfmadd132) F3FF(vfmsub132) F3FF(vfnmadd132) F3FF(vfnmsub132) F3FF(vfmaddsub213) F3FF(vfmsubadd213) F3FF(vfmadd213) F3FF(vfmsub213) F3FF(vfnmadd213) F3FF(vfnmsub213) F3FF(vfmaddsub231) F3FF(vfmsubadd231) F3FF(vfmadd231) F3FF(vfmsub231) F3FF(vfnmadd231) F3FF(vfnmsub231)
NAT3(vcmpps1, "vcmpps $1, %%ymm2, %%ymm0, %%ymm0")
NAT3(vcmppd11, "vcmppd $0x11, %%ymm2, %%ymm0, %%ymm0")
NAT3(vcmpps3, "vcmpps $3, %%ymm2, %%ymm0, %%ymm0")

/* Scalar forms: the 128-bit VEX form, xmm0 = the first source (the
 * destination for FMA), xmm1 = vvvv (FMA), xmm2 = the memory element. */
#define F3S(m) NAT3(m, #m " %%xmm2, %%xmm0, %%xmm0")
#define F3SF(m) NAT3(m, #m " %%xmm2, %%xmm1, %%xmm0")
F3S(vaddss) F3S(vaddsd) F3S(vsubss) F3S(vsubsd) F3S(vmulss) F3S(vmulsd) F3S(vdivss) F3S(vdivsd)
F3S(vminss) F3S(vminsd) F3S(vmaxss) F3S(vmaxsd) F3S(vsqrtss) F3S(vsqrtsd)
#define F3SFF(o) F3SF(o##ss) F3SF(o##sd)
F3SFF(vfmadd132) F3SFF(vfmsub132) F3SFF(vfnmadd132) F3SFF(vfnmsub132)
F3SFF(vfmadd213) F3SFF(vfmsub213) F3SFF(vfnmadd213) F3SFF(vfnmsub213)
F3SFF(vfmadd231) F3SFF(vfmsub231) F3SFF(vfnmadd231) F3SFF(vfnmsub231)

/* Conversions: one element at a time through the 128-bit VEX form (xmm2
 * the input, the result in xmm0). */
#define F3C(id, m) NAT3(id, #m " %%xmm2, %%xmm0")
F3C(cdq2ps, vcvtdq2ps) F3C(cps2dq, vcvtps2dq) F3C(ctps2dq, vcvttps2dq) F3C(cdq2pd, vcvtdq2pd)
F3C(cps2pd, vcvtps2pd) F3C(cpd2ps, vcvtpd2ps) F3C(cpd2dq, vcvtpd2dq) F3C(ctpd2dq, vcvttpd2dq)
NAT3(csd2ss, "vcvtsd2ss %%xmm2, %%xmm0, %%xmm0")
NAT3(css2sd, "vcvtss2sd %%xmm2, %%xmm0, %%xmm0")

enum fshape { F_BIN, F_UN, F_FMA, F_KCMP };
struct fcase {
    const char *name;
    uint8_t mm, pp, op, w, shape, imm;
    nat3_fn nat;
};
#define FB(m, op) {#m "ps", 1, 0, op, 0, F_BIN, 0, nat3_v##m##ps}, {#m "pd", 1, 1, op, 1, F_BIN, 0, nat3_v##m##pd}
static const struct fcase fcases[] = {
    FB(add, 0x58), FB(sub, 0x5C), FB(mul, 0x59), FB(div, 0x5E), FB(min, 0x5D), FB(max, 0x5F),
    {"sqrtps", 1, 0, 0x51, 0, F_UN, 0, nat3_vsqrtps}, {"sqrtpd", 1, 1, 0x51, 1, F_UN, 0, nat3_vsqrtpd},
    {"vfmaddsub132ps", 2, 1, 0x96, 0, F_FMA, 0, nat3_vfmaddsub132ps},
    {"vfmaddsub132pd", 2, 1, 0x96, 1, F_FMA, 0, nat3_vfmaddsub132pd},
    {"vfmsubadd132ps", 2, 1, 0x97, 0, F_FMA, 0, nat3_vfmsubadd132ps},
    {"vfmsubadd132pd", 2, 1, 0x97, 1, F_FMA, 0, nat3_vfmsubadd132pd},
    {"vfmadd132ps", 2, 1, 0x98, 0, F_FMA, 0, nat3_vfmadd132ps},
    {"vfmadd132pd", 2, 1, 0x98, 1, F_FMA, 0, nat3_vfmadd132pd},
    {"vfmsub132ps", 2, 1, 0x9A, 0, F_FMA, 0, nat3_vfmsub132ps},
    {"vfmsub132pd", 2, 1, 0x9A, 1, F_FMA, 0, nat3_vfmsub132pd},
    {"vfnmadd132ps", 2, 1, 0x9C, 0, F_FMA, 0, nat3_vfnmadd132ps},
    {"vfnmadd132pd", 2, 1, 0x9C, 1, F_FMA, 0, nat3_vfnmadd132pd},
    {"vfnmsub132ps", 2, 1, 0x9E, 0, F_FMA, 0, nat3_vfnmsub132ps},
    {"vfnmsub132pd", 2, 1, 0x9E, 1, F_FMA, 0, nat3_vfnmsub132pd},
    {"vfmaddsub213ps", 2, 1, 0xA6, 0, F_FMA, 0, nat3_vfmaddsub213ps},
    {"vfmaddsub213pd", 2, 1, 0xA6, 1, F_FMA, 0, nat3_vfmaddsub213pd},
    {"vfmsubadd213ps", 2, 1, 0xA7, 0, F_FMA, 0, nat3_vfmsubadd213ps},
    {"vfmsubadd213pd", 2, 1, 0xA7, 1, F_FMA, 0, nat3_vfmsubadd213pd},
    {"vfmadd213ps", 2, 1, 0xA8, 0, F_FMA, 0, nat3_vfmadd213ps},
    {"vfmadd213pd", 2, 1, 0xA8, 1, F_FMA, 0, nat3_vfmadd213pd},
    {"vfmsub213ps", 2, 1, 0xAA, 0, F_FMA, 0, nat3_vfmsub213ps},
    {"vfmsub213pd", 2, 1, 0xAA, 1, F_FMA, 0, nat3_vfmsub213pd},
    {"vfnmadd213ps", 2, 1, 0xAC, 0, F_FMA, 0, nat3_vfnmadd213ps},
    {"vfnmadd213pd", 2, 1, 0xAC, 1, F_FMA, 0, nat3_vfnmadd213pd},
    {"vfnmsub213ps", 2, 1, 0xAE, 0, F_FMA, 0, nat3_vfnmsub213ps},
    {"vfnmsub213pd", 2, 1, 0xAE, 1, F_FMA, 0, nat3_vfnmsub213pd},
    {"vfmaddsub231ps", 2, 1, 0xB6, 0, F_FMA, 0, nat3_vfmaddsub231ps},
    {"vfmaddsub231pd", 2, 1, 0xB6, 1, F_FMA, 0, nat3_vfmaddsub231pd},
    {"vfmsubadd231ps", 2, 1, 0xB7, 0, F_FMA, 0, nat3_vfmsubadd231ps},
    {"vfmsubadd231pd", 2, 1, 0xB7, 1, F_FMA, 0, nat3_vfmsubadd231pd},
    {"vfmadd231ps", 2, 1, 0xB8, 0, F_FMA, 0, nat3_vfmadd231ps},
    {"vfmadd231pd", 2, 1, 0xB8, 1, F_FMA, 0, nat3_vfmadd231pd},
    {"vfmsub231ps", 2, 1, 0xBA, 0, F_FMA, 0, nat3_vfmsub231ps},
    {"vfmsub231pd", 2, 1, 0xBA, 1, F_FMA, 0, nat3_vfmsub231pd},
    {"vfnmadd231ps", 2, 1, 0xBC, 0, F_FMA, 0, nat3_vfnmadd231ps},
    {"vfnmadd231pd", 2, 1, 0xBC, 1, F_FMA, 0, nat3_vfnmadd231pd},
    {"vfnmsub231ps", 2, 1, 0xBE, 0, F_FMA, 0, nat3_vfnmsub231ps},
    {"vfnmsub231pd", 2, 1, 0xBE, 1, F_FMA, 0, nat3_vfnmsub231pd},
    {"vcmpps lt_os", 1, 0, 0xC2, 0, F_KCMP, 1, nat3_vcmpps1},
    {"vcmppd lt_oq", 1, 1, 0xC2, 1, F_KCMP, 0x11, nat3_vcmppd11},
    {"vcmpps unord", 1, 0, 0xC2, 0, F_KCMP, 3, nat3_vcmpps3},
};
#define NFCASES (sizeof(fcases) / sizeof(fcases[0]))

/* Scalar cases: name, map, pp, opcode, W (the memory element: 4 or 8
 * bytes), FMA, the destination's element if not the memory's. */
struct scase {
    const char *name;
    uint8_t mm, pp, op, w;
    bool fma;
    nat3_fn nat;
    uint8_t des;
};
#define SS(m, op) {"v" #m "ss", 1, 2, op, 0, false, nat3_v##m##ss, 0}, {"v" #m "sd", 1, 3, op, 1, false, nat3_v##m##sd, 0}
#define SF(m, op) {#m "ss", 2, 1, op, 0, true, nat3_##m##ss, 0}, {#m "sd", 2, 1, op, 1, true, nat3_##m##sd, 0}
static const struct scase scases[] = {
    SS(add, 0x58), SS(sub, 0x5C), SS(mul, 0x59), SS(div, 0x5E), SS(min, 0x5D), SS(max, 0x5F),
    SS(sqrt, 0x51),
    SF(vfmadd132, 0x99), SF(vfmsub132, 0x9B), SF(vfnmadd132, 0x9D), SF(vfnmsub132, 0x9F),
    SF(vfmadd213, 0xA9), SF(vfmsub213, 0xAB), SF(vfnmadd213, 0xAD), SF(vfnmsub213, 0xAF),
    SF(vfmadd231, 0xB9), SF(vfmsub231, 0xBB), SF(vfnmadd231, 0xBD), SF(vfnmsub231, 0xBF),
    {"vcvtss2sd", 1, 2, 0x5A, 0, false, nat3_css2sd, 8},
    {"vcvtsd2ss", 1, 3, 0x5A, 1, false, nat3_csd2ss, 4},
};
#define NSCASES (sizeof(scases) / sizeof(scases[0]))

/* A value of es bytes: ordinary, zero, infinity, NaN (quiet, signalling),
 * denormal, huge or tiny. */
static void fp_value(uint8_t *p, unsigned es)
{
    unsigned k = rnd(10);
    if (es == 4) {
        static const uint32_t sp[] = {0, 0x80000000u, 0x7F800000u, 0xFF800000u, 0x7FC00001u,
                                      0x7F800001u, 0x00000123u, 0x7F000000u, 0x00800000u};
        uint32_t v = k < 9 ? sp[k] : (uint32_t)(0x3C000000u + rnd(0x08000000u)) | (rnd(2) << 31);
        if (rnd(2) && k < 9)
            v = (uint32_t)(0x3C000000u + rnd(0x08000000u));
        memcpy(p, &v, 4);
    } else {
        static const uint64_t dp[] = {0, 0x8000000000000000ull, 0x7FF0000000000000ull,
                                      0xFFF0000000000000ull, 0x7FF8000000000001ull,
                                      0x7FF0000000000001ull, 0x0000000000000123ull,
                                      0x7FE0000000000000ull, 0x0010000000000000ull};
        uint64_t v = k < 9 ? dp[k] : (0x3F000000000000ull + (rnd64() & 0x00FFFFFFFFFFFFull)) |
                                         0x3F00000000000000ull | ((uint64_t)rnd(2) << 63);
        if (rnd(2) && k < 9)
            v = 0x3FE0000000000000ull + (rnd64() & 0x003FFFFFFFFFFFFFull);
        memcpy(p, &v, 8);
    }
}

/* ---- the emulator side ---- */
struct fx {
    fake_vmm *vm;
    WHV_EMULATOR_HANDLE emu;
    WHV_VP_EXIT_CONTEXT vp;
    WHV_MEMORY_ACCESS_CONTEXT mc;
    WHV_EMULATOR_STATUS st;
};

static void fx_init(struct fx *f)
{
    memset(f, 0, sizeof(*f));
    f->vm = fvmm_create();
    fvmm_setup_long_mode(f->vm, 0);
    fvmm_set_reg64(f->vm, WHvX64RegisterRip, RIP0);
    fvmm_set_reg64(f->vm, WHvX64RegisterCr4, fvmm_reg64(f->vm, WHvX64RegisterCr4) | 0x40000u);
    fvmm_set_reg64(f->vm, WHvX64RegisterXCr0, 0xE7);
    fvmm_map_gva(f->vm, GVA, GPA);
    fvmm_map_gva(f->vm, GVA + 0x1000, GPA + 0x1000);
    fvmm_set_mmio(f->vm, GPA, 1);
    fvmm_set_mmio(f->vm, GPA + 0x1000, 1);
    if (WHvEmulatorCreateEmulator(fvmm_callbacks(), &f->emu) != S_OK ||
        whvemu_set_xstate_callback(f->emu, fvmm_xstate_callback()) != S_OK)
        abort();
}

static void fx_fini(struct fx *f)
{
    WHvEmulatorDestroyEmulator(f->emu);
    fvmm_destroy(f->vm);
}

static void set_zmm(struct fx *f, unsigned n, const uint8_t *v)
{
    if (n >= 16) {
        memcpy(fvmm_xstate(f->vm, FVMM_XS_HI16_ZMM) + 64 * (n - 16), v, 64);
        return;
    }
    fvmm_set_ymm(f->vm, n, v);
    memcpy(fvmm_xstate(f->vm, FVMM_XS_ZMM_HI256) + 32 * n, v + 32, 32);
}

static void get_zmm(struct fx *f, unsigned n, uint8_t *v)
{
    if (n >= 16) {
        memcpy(v, fvmm_xstate(f->vm, FVMM_XS_HI16_ZMM) + 64 * (n - 16), 64);
        return;
    }
    fvmm_get_ymm(f->vm, n, v);
    memcpy(v + 32, fvmm_xstate(f->vm, FVMM_XS_ZMM_HI256) + 32 * n, 32);
}

static void set_k(struct fx *f, unsigned k, uint64_t v)
{
    memcpy(fvmm_xstate(f->vm, FVMM_XS_OPMASK) + 8 * k, &v, 8);
}

static uint64_t get_k(struct fx *f, unsigned k)
{
    uint64_t v;
    memcpy(&v, fvmm_xstate(f->vm, FVMM_XS_OPMASK) + 8 * k, 8);
    return v;
}

/* Runs `b` for a memory exit at gva; returns false if the round trip broke. */
static void run(struct fx *f, const uint8_t *b, unsigned n, uint64_t gva)
{
    UINT64 gpa = 0;
    fvmm_translate(f->vm, gva, 0, &gpa);
    fvmm_mmio_exit d = {b, n, gpa, gva, 1, 1, WHvMemoryAccessRead};
    fvmm_build_mmio_exit64(f->vm, &f->vp, &f->mc, &d);
    fvmm_reset_log(f->vm);
    fvmm_sync_guest_ram(f->vm, f->emu);
    CHECK(WHvEmulatorTryMmioEmulation(f->emu, f->vm, &f->vp, &f->mc, &f->st) == S_OK);
    const char *why = fvmm_check_round_trip(f->vm, &f->vp, &f->mc, &f->st);
    if (why)
        printf("  round trip: %s\n", why);
    CHECK(why == NULL);
}

/* An EVEX encoding: reg (ModRM.reg, 0-31), vvvv (0-31), [rbx + disp8]. */
static unsigned encode(const struct ecase *c, unsigned reg, unsigned vvvv, unsigned ll,
                       unsigned aaa, bool z, bool b, int disp8, uint8_t *out)
{
    unsigned n = 0;
    out[n++] = 0x62;
    out[n++] = (uint8_t)(((~reg >> 3) & 1) << 7 | 1 << 6 | 1 << 5 | ((~reg >> 4) & 1) << 4 | c->mm);
    out[n++] = (uint8_t)(c->w << 7 | ((~vvvv) & 15) << 3 | 4 | c->pp);
    out[n++] = (uint8_t)((z ? 0x80 : 0) | ll << 5 | (b ? 0x10 : 0) | ((~vvvv >> 4) & 1) << 3 | aaa);
    out[n++] = c->op;
    out[n++] = (uint8_t)(0x40 | (reg & 7) << 3 | 3);
    out[n++] = (uint8_t)(int8_t)disp8;
    if (c->shape == S_SHI || c->imm)
        out[n++] = c->imm;
    return n;
}

/* f on each 256-bit half (the native VEX form), or the C model. */
static void compute(const struct ecase *c, const uint8_t *a, const uint8_t *b, unsigned vlen,
                    uint8_t *r)
{
    memset(r, 0, 64);
    if (c->model) {
        c->model(a, b, r, vlen);
        return;
    }
    for (unsigned h = 0; h < vlen; h += 32) {
        uint8_t ah[32] = {0}, bh[32] = {0}, rh[32];
        uint32_t mx = 0x1F80;
        unsigned part = vlen - h < 32 ? vlen - h : 32;
        memcpy(ah, a + h, part);
        if (c->shape == S_SHM)
            memcpy(bh, b, 16);
        else if (c->shape == S_EXT)
            memcpy(bh, b + h / c->div, 16);
        else
            memcpy(bh, b + h, part);
        c->nat(ah, bh, rh, &mx);
        memcpy(r + h, rh, part);
    }
}

/* The rows a model case decodes to are marked; every EVEX row must be
 * marked but the moves, VPTERNLOG, VPTESTM and the imm8 integer compares,
 * which tests/unit/test_simd.c checks by hand (whvemu coverage says which:
 * dec_evex_model_checked()). */
static bool row_seen[2048];

static void mark_row(const uint8_t *ins, unsigned len)
{
    struct dec_mode m = {true, 4, 8};
    struct insn in;
    unsigned count;
    const struct op_row *rows = dec_rows(&count);
    if (dec_decode(&m, ins, len, &in) == DEC_OK && (unsigned)(in.row - rows) < 2048)
        row_seen[in.row - rows] = true;
}

static unsigned case_failures;

static void run_case(struct fx *f, const struct ecase *c)
{
    unsigned ll = c->memsz == 32 ? 2 : c->not128 ? 1 + rnd(2) : rnd(3), vlen = 16u << ll;
    unsigned dst = rnd(32), src1 = rnd(32), kdst = 1 + rnd(7);
    unsigned aaa = c->nomask || rnd(4) == 0 ? 0 : 1 + rnd(7);
    if (c->shape == S_KCMP && aaa == kdst)
        aaa = 0;
    bool z = aaa && c->shape != S_KCMP && rnd(2);
    bool b = c->bcst && rnd(3) == 0;
    unsigned bsz = c->w ? 8 : 4;
    unsigned memsz = b ? bsz : c->shape == S_SHM ? 16 : c->shape == S_EXT ? vlen / c->div
                   : c->shape == S_BC ? c->memsz : vlen;
    int disp8 = (int)rnd(5) - 2;
    uint8_t a[64], old[64], mem[64], bsrc[64], ins[16];
    for (unsigned i = 0; i < 64; i++) {
        a[i] = (uint8_t)rnd64();
        old[i] = (uint8_t)rnd64();
        mem[i] = (uint8_t)rnd64();
    }
    if (rnd(2)) /* small shift counts, in range more often */
        for (unsigned i = 0; i < 64; i++)
            mem[i] &= 0x0F;
    if (c->shape == S_SHM && rnd(2))
        memset(mem + 1, 0, 15);
    uint64_t kval = rnd64();
    if (rnd(4) == 0)
        kval = 0;
    set_k(f, aaa, kval);
    uint64_t kold = rnd64();
    /* Operand registers: the destination (ModRM.reg, or vvvv for S_SHI), the
     * first source (vvvv). */
    unsigned reg = c->shape == S_SHI ? c->reg : c->shape == S_KCMP ? kdst : dst;
    unsigned vvvv = c->shape == S_SHI ? dst : (c->shape == S_BIN || c->shape == S_KCMP ||
                                               c->shape == S_SHM) ? src1 : 0;
    if (c->shape == S_SHI || c->shape == S_UN || c->shape == S_EXT || c->shape == S_BC)
        src1 = 99; /* none */
    set_zmm(f, dst, old);
    if (src1 < 32)
        set_zmm(f, src1, a);
    if (src1 == dst)
        memcpy(old, a, 64);
    if (c->shape == S_KCMP)
        set_k(f, kdst, kold);
    unsigned n_scale = memsz;
    uint64_t addr = GVA + MEMOFF;
    fvmm_gpa_write(f->vm, GPA + MEMOFF, mem, 64);
    fvmm_set_reg64(f->vm, WHvX64RegisterRbx, addr - (uint64_t)(int64_t)(disp8 * (int)n_scale));
    unsigned len = encode(c, reg, vvvv, ll, aaa, z, b, disp8, ins);
    mark_row(ins, len);
    run(f, ins, len, addr);

    /* The model. */
    for (unsigned i = 0; i < 64; i++)
        bsrc[i] = b ? mem[i % bsz] : mem[i];
    uint8_t r[64], want[64], got[64];
    if (c->shape == S_BC) {
        for (unsigned i = 0; i < vlen; i++)
            r[i] = mem[i % c->memsz];
    } else {
        compute(c, src1 < 32 ? a : bsrc, bsrc, vlen, r);
    }
    bool ok = f->st.EmulationSuccessful && !fvmm_injected(f->vm).InterruptionPending;
    if (c->shape == S_KCMP) {
        uint64_t bits = 0;
        for (unsigned i = 0; i < vlen / c->es; i++) {
            bool t = false;
            for (unsigned j = 0; j < c->es; j++)
                t |= r[i * c->es + j] != 0;
            if (t && (!aaa || ((kval >> i) & 1)))
                bits |= 1ull << i;
        }
        ok = ok && get_k(f, kdst) == bits;
    } else {
        memset(want, 0, 64);
        for (unsigned i = 0; i < vlen / c->es; i++) {
            bool on = !aaa || ((kval >> i) & 1);
            memcpy(want + i * c->es, on ? r + i * c->es : old + i * c->es, c->es);
            if (!on && z)
                memset(want + i * c->es, 0, c->es);
        }
        get_zmm(f, dst, got);
        ok = ok && memcmp(got, want, 64) == 0;
    }
    CHECK(ok);
    if (!ok && case_failures++ < 20) {
        printf("  %s: vl %u dst %u src1 %u k%u=%016llx z %d b %d disp8 %d status %u:", c->name,
               vlen * 8, dst, src1, aaa, (unsigned long long)kval, z, b, disp8,
               f->st.AsUINT32);
        for (unsigned i = 0; i < len; i++)
            printf(" %02X", ins[i]);
        printf("\n");
    }
}

/* A floating-point case: the inputs of disabled elements made 1.0 (no flag
 * from them), the VEX form on each half under the guest's MXCSR, then the
 * opmask; MXCSR gets the flags the enabled elements raised. */
static void run_fp_case(struct fx *f, const struct fcase *c)
{
    unsigned ll = rnd(3), vlen = 16u << ll, es = c->w ? 8 : 4;
    unsigned dst = rnd(32), src1 = rnd(32), kdst = 1 + rnd(7);
    unsigned aaa = rnd(4) == 0 ? 0 : 1 + rnd(7);
    if (c->shape == F_KCMP && aaa == kdst)
        aaa = 0;
    bool z = aaa && c->shape != F_KCMP && rnd(2), b = rnd(3) == 0;
    int disp8 = (int)rnd(5) - 2;
    uint8_t a[64], old[64], mem[64], m[64], ins[16];
    for (unsigned i = 0; i < 64; i += es) {
        fp_value(a + i, es);
        fp_value(old + i, es);
        fp_value(mem + i, es);
    }
    if (c->shape == F_UN)
        src1 = 99;
    set_zmm(f, dst, old);
    if (src1 < 32)
        set_zmm(f, src1, a);
    if (src1 == dst)
        memcpy(old, a, 64);
    uint64_t kval = rnd(4) == 0 ? 0 : rnd64();
    if (c->shape == F_KCMP)
        set_k(f, kdst, rnd64());
    set_k(f, aaa, kval);
    /* DAZ, FTZ and the rounding mode at random, every exception masked. */
    uint32_t mx = 0x1F80u | (rnd(4) << 13) | (rnd(2) ? 0x8000u : 0) | (rnd(2) ? 0x40u : 0);
    WHV_REGISTER_VALUE v;
    memset(&v, 0, sizeof v);
    v.XmmControlStatus.XmmStatusControl = mx;
    v.XmmControlStatus.XmmStatusControlMask = 0xFFFF;
    fvmm_reg_set(f->vm, WHvX64RegisterXmmControlStatus, &v);
    uint64_t addr = GVA + MEMOFF;
    unsigned n_scale = b ? es : vlen;
    fvmm_gpa_write(f->vm, GPA + MEMOFF, mem, 64);
    fvmm_set_reg64(f->vm, WHvX64RegisterRbx, addr - (uint64_t)(int64_t)(disp8 * (int)n_scale));
    struct ecase e = {c->name, c->mm, c->pp, c->op, 0, c->w, S_BIN, (uint8_t)es, true, false,
                      false, 0, 0, c->imm, NULL, NULL};
    unsigned reg = c->shape == F_KCMP ? kdst : dst;
    unsigned len = encode(&e, reg, src1 < 32 ? src1 : 0, ll, aaa, z, b, disp8, ins);
    mark_row(ins, len);
    run(f, ins, len, addr);

    for (unsigned i = 0; i < 64; i++)
        m[i] = b ? mem[i % es] : mem[i];
    uint8_t ia[64], ib[64], ic[64], r[64], want[64], got[64];
    memcpy(ia, c->shape == F_FMA ? old : a, 64);
    memcpy(ib, a, 64);
    memcpy(ic, m, 64);
    for (unsigned i = 0; i < vlen / es; i++) {
        if (!aaa || ((kval >> i) & 1))
            continue;
        uint64_t one = es == 4 ? 0x3F800000u : 0x3FF0000000000000ull;
        memcpy(ia + i * es, &one, es);
        memcpy(ib + i * es, &one, es);
        memcpy(ic + i * es, &one, es);
    }
    uint32_t raised = 0;
    for (unsigned h = 0; h < vlen; h += 32) {
        uint8_t ha[32] = {0}, hb[32] = {0}, hc[32] = {0}, hr[32];
        unsigned part = vlen - h < 32 ? vlen - h : 32;
        memcpy(ha, ia + h, part);
        memcpy(hb, ib + h, part);
        memcpy(hc, ic + h, part);
        if (part == 16) { /* a 128-bit form: the upper inputs raise nothing */
            for (unsigned i = 16; i < 32; i += es) {
                uint64_t one = es == 4 ? 0x3F800000u : 0x3FF0000000000000ull;
                memcpy(ha + i, &one, es);
                memcpy(hb + i, &one, es);
                memcpy(hc + i, &one, es);
            }
        }
        uint32_t hmx = mx;
        c->nat(ha, hb, hc, hr, &hmx);
        raised |= hmx & 0x3F;
        memcpy(r + h, hr, part);
    }
    bool ok = f->st.EmulationSuccessful && !fvmm_injected(f->vm).InterruptionPending;
    if (c->shape == F_KCMP) {
        uint64_t bits = 0;
        for (unsigned i = 0; i < vlen / es; i++)
            if (r[i * es] && (!aaa || ((kval >> i) & 1)))
                bits |= 1ull << i;
        ok = ok && get_k(f, kdst) == bits;
    } else {
        memset(want, 0, 64);
        for (unsigned i = 0; i < vlen / es; i++) {
            bool on = !aaa || ((kval >> i) & 1);
            memcpy(want + i * es, on ? r + i * es : old + i * es, es);
            if (!on && z)
                memset(want + i * es, 0, es);
        }
        get_zmm(f, dst, got);
        ok = ok && memcmp(got, want, 64) == 0;
    }
    fvmm_reg_get(f->vm, WHvX64RegisterXmmControlStatus, &v);
    uint32_t gmx = v.XmmControlStatus.XmmStatusControl;
    ok = ok && gmx == (mx | raised);
    CHECK(ok);
    if (!ok && case_failures++ < 20) {
        printf("  %s: vl %u dst %u src1 %u k%u=%016llx z %d b %d mxcsr %x -> %x (want %x):",
               c->name, vlen * 8, dst, src1, aaa, (unsigned long long)kval, z, b, mx,
               gmx, mx | raised);
        for (unsigned i = 0; i < len; i++)
            printf(" %02X", ins[i]);
        printf("\n");
    }
}

/* A scalar case: element 0 by the 128-bit VEX form when opmask bit 0
 * enables it (only then is memory read and can a flag be raised), else the
 * destination's element 0 or zero; bits 127:es from the first source (the
 * destination for FMA), the rest of the register zeroed. Any vector length
 * (EVEX.L'L is ignored). */
static void run_scalar_case(struct fx *f, const struct scase *c)
{
    unsigned ll = rnd(3), es = c->w ? 8 : 4, des = c->des ? c->des : es;
    unsigned dst = rnd(32), src1 = rnd(32);
    unsigned aaa = rnd(3) == 0 ? 0 : 1 + rnd(7);
    bool z = aaa && rnd(2);
    int disp8 = (int)rnd(5) - 2;
    uint8_t a[64], old[64], mem[64], ins[16];
    for (unsigned i = 0; i < 64; i += es) {
        fp_value(a + i, es);
        fp_value(old + i, es);
        fp_value(mem + i, es);
    }
    set_zmm(f, dst, old);
    set_zmm(f, src1, a);
    if (src1 == dst)
        memcpy(old, a, 64);
    uint64_t kval = rnd64();
    set_k(f, aaa, kval);
    bool on = !aaa || (kval & 1);
    uint32_t mx = 0x1F80u | (rnd(4) << 13) | (rnd(2) ? 0x8000u : 0) | (rnd(2) ? 0x40u : 0);
    WHV_REGISTER_VALUE v;
    memset(&v, 0, sizeof v);
    v.XmmControlStatus.XmmStatusControl = mx;
    v.XmmControlStatus.XmmStatusControlMask = 0xFFFF;
    fvmm_reg_set(f->vm, WHvX64RegisterXmmControlStatus, &v);
    uint64_t addr = GVA + MEMOFF;
    fvmm_gpa_write(f->vm, GPA + MEMOFF, mem, 64);
    fvmm_set_reg64(f->vm, WHvX64RegisterRbx, addr - (uint64_t)(int64_t)(disp8 * (int)es));
    struct ecase e = {c->name, c->mm, c->pp, c->op, 0, c->w, S_BIN, (uint8_t)des, false, false,
                      false, 0, 0, 0, NULL, NULL};
    unsigned len = encode(&e, dst, src1, ll, aaa, z, false, disp8, ins);
    mark_row(ins, len);
    run(f, ins, len, addr);

    uint8_t want[64], got[64];
    uint32_t raised = 0;
    memset(want, 0, 64);
    if (on) {
        uint8_t ha[32] = {0}, hb[32] = {0}, hc[32] = {0}, hr[32];
        memcpy(ha, c->fma ? old : a, 16);
        memcpy(hb, a, 16);
        memcpy(hc, mem, es);
        uint32_t hmx = mx;
        c->nat(ha, hb, hc, hr, &hmx);
        raised = hmx & 0x3F;
        memcpy(want, hr, 16);
    } else {
        memcpy(want, c->fma ? old : a, 16);
        if (z)
            memset(want, 0, des);
        else
            memcpy(want, old, des);
    }
    get_zmm(f, dst, got);
    bool ok = f->st.EmulationSuccessful && !fvmm_injected(f->vm).InterruptionPending &&
              memcmp(got, want, 64) == 0;
    fvmm_reg_get(f->vm, WHvX64RegisterXmmControlStatus, &v);
    uint32_t gmx = v.XmmControlStatus.XmmStatusControl;
    ok = ok && gmx == (mx | raised);
    CHECK(ok);
    if (!ok && case_failures++ < 20) {
        printf("  %s: dst %u src1 %u k%u=%016llx z %d mxcsr %x -> %x (want %x):", c->name, dst,
               src1, aaa, (unsigned long long)kval, z, mx, gmx, mx | raised);
        for (unsigned i = 0; i < len; i++)
            printf(" %02X", ins[i]);
        printf("\n");
    }
}

/* ---- forms whose result is not f(vvvv, memory): two-table permutes (the
 * destination is an input), opmask blends (a disabled element comes from
 * vvvv), inserts and extracts of 128/256-bit parts, compress and expand (only
 * the packed elements are accessed) ---- */
enum xshape { X_PERMI2, X_PERMT2, X_BLENDM, X_INS, X_EXT, X_EXP, X_COMP };
struct xcase {
    const char *name;
    uint8_t op, w, shape, es, part; /* map 0F38 (0F3A for X_INS/X_EXT), pp 66; part: bytes */
    bool bcst;
};
static const struct xcase xcases[] = {
    {"vpermi2b", 0x75, 0, X_PERMI2, 1, 0, false}, {"vpermi2w", 0x75, 1, X_PERMI2, 2, 0, false},
    {"vpermi2d", 0x76, 0, X_PERMI2, 4, 0, true},  {"vpermi2q", 0x76, 1, X_PERMI2, 8, 0, true},
    {"vpermi2ps", 0x77, 0, X_PERMI2, 4, 0, true}, {"vpermi2pd", 0x77, 1, X_PERMI2, 8, 0, true},
    {"vpermt2b", 0x7D, 0, X_PERMT2, 1, 0, false}, {"vpermt2w", 0x7D, 1, X_PERMT2, 2, 0, false},
    {"vpermt2d", 0x7E, 0, X_PERMT2, 4, 0, true},  {"vpermt2q", 0x7E, 1, X_PERMT2, 8, 0, true},
    {"vpermt2ps", 0x7F, 0, X_PERMT2, 4, 0, true}, {"vpermt2pd", 0x7F, 1, X_PERMT2, 8, 0, true},
    {"vpblendmb", 0x66, 0, X_BLENDM, 1, 0, false}, {"vpblendmw", 0x66, 1, X_BLENDM, 2, 0, false},
    {"vpblendmd", 0x64, 0, X_BLENDM, 4, 0, true},  {"vpblendmq", 0x64, 1, X_BLENDM, 8, 0, true},
    {"vblendmps", 0x65, 0, X_BLENDM, 4, 0, true},  {"vblendmpd", 0x65, 1, X_BLENDM, 8, 0, true},
    {"vinsertf32x4", 0x18, 0, X_INS, 4, 16, false}, {"vinsertf64x2", 0x18, 1, X_INS, 8, 16, false},
    {"vinserti32x4", 0x38, 0, X_INS, 4, 16, false}, {"vinserti64x2", 0x38, 1, X_INS, 8, 16, false},
    {"vinsertf32x8", 0x1A, 0, X_INS, 4, 32, false}, {"vinsertf64x4", 0x1A, 1, X_INS, 8, 32, false},
    {"vinserti32x8", 0x3A, 0, X_INS, 4, 32, false}, {"vinserti64x4", 0x3A, 1, X_INS, 8, 32, false},
    {"vextractf32x4", 0x19, 0, X_EXT, 4, 16, false}, {"vextractf64x2", 0x19, 1, X_EXT, 8, 16, false},
    {"vextracti32x4", 0x39, 0, X_EXT, 4, 16, false}, {"vextracti64x2", 0x39, 1, X_EXT, 8, 16, false},
    {"vextractf32x8", 0x1B, 0, X_EXT, 4, 32, false}, {"vextractf64x4", 0x1B, 1, X_EXT, 8, 32, false},
    {"vextracti32x8", 0x3B, 0, X_EXT, 4, 32, false}, {"vextracti64x4", 0x3B, 1, X_EXT, 8, 32, false},
    {"vpexpandd", 0x89, 0, X_EXP, 4, 0, false},    {"vpexpandq", 0x89, 1, X_EXP, 8, 0, false},
    {"vpcompressd", 0x8B, 0, X_COMP, 4, 0, false}, {"vpcompressq", 0x8B, 1, X_COMP, 8, 0, false},
};
#define NXCASES (sizeof(xcases) / sizeof(xcases[0]))

static void run_xcase(struct fx *f, const struct xcase *c)
{
    bool ie = c->shape == X_INS || c->shape == X_EXT, memdst = c->shape == X_EXT || c->shape == X_COMP;
    unsigned ll = c->part == 32 ? 2 : ie ? 1 + rnd(2) : rnd(3), vlen = 16u << ll, es = c->es;
    unsigned n = vlen / es, dst = rnd(32), src1 = rnd(32);
    unsigned aaa = rnd(4) == 0 ? 0 : 1 + rnd(7);
    bool z = aaa && !memdst && rnd(2), b = c->bcst && rnd(3) == 0;
    uint8_t imm = (uint8_t)rnd(256);
    unsigned memsz = b ? es : ie ? c->part : vlen;
    unsigned nscale = c->shape == X_EXP || c->shape == X_COMP ? es : memsz;
    int disp8 = (int)rnd(5) - 2;
    uint8_t a[64], old[64], mem[64], m[64], ins[16];
    for (unsigned i = 0; i < 64; i++) {
        a[i] = (uint8_t)rnd64();
        old[i] = (uint8_t)rnd64();
        mem[i] = (uint8_t)rnd64();
    }
    uint64_t kval = rnd(4) == 0 ? 0 : rnd64();
    set_k(f, aaa, kval);
    set_zmm(f, dst, old);
    bool has_h = !memdst && c->shape != X_EXP;
    if (has_h) {
        set_zmm(f, src1, a);
        if (src1 == dst)
            memcpy(old, a, 64);
    }
    uint64_t addr = GVA + MEMOFF;
    fvmm_gpa_write(f->vm, GPA + MEMOFF, mem, 64);
    fvmm_set_reg64(f->vm, WHvX64RegisterRbx, addr - (uint64_t)(int64_t)(disp8 * (int)nscale));
    struct ecase e = {c->name, (uint8_t)(ie ? 3 : 2), 1, c->op, 0, c->w, S_BIN, (uint8_t)es,
                      c->bcst, false, false, 0, 0, 0, NULL, NULL};
    unsigned len = encode(&e, dst, has_h ? src1 : 0, ll, aaa, z, b, disp8, ins);
    if (ie)
        ins[len++] = imm;
    mark_row(ins, len);
    run(f, ins, len, addr);

    for (unsigned i = 0; i < 64; i++)
        m[i] = b ? mem[i % es] : mem[i];
    uint8_t r[64], want[64], got[64], wmem[64], gmem[64];
    memset(r, 0, 64);
    memcpy(wmem, mem, 64);
    bool whole = false;
    switch (c->shape) {
    case X_PERMI2:
    case X_PERMT2: {
        const uint8_t *idx = c->shape == X_PERMI2 ? old : a, *t1 = c->shape == X_PERMI2 ? a : old;
        for (unsigned i = 0; i < n; i++) {
            uint64_t x = 0;
            memcpy(&x, idx + i * es, es);
            memcpy(r + i * es, ((x & n) ? m : t1) + (x % n) * es, es);
        }
        break;
    }
    case X_BLENDM:
        whole = true;
        for (unsigned i = 0; i < n; i++) {
            bool on = !aaa || ((kval >> i) & 1);
            memcpy(r + i * es, on ? m + i * es : a + i * es, es);
            if (!on && z)
                memset(r + i * es, 0, es);
        }
        break;
    case X_INS:
        memcpy(r, a, vlen);
        memcpy(r + c->part * (imm % (vlen / c->part)), m, c->part);
        break;
    case X_EXT:
        for (unsigned i = 0; i < c->part / es; i++)
            if (!aaa || ((kval >> i) & 1))
                memcpy(wmem + i * es, old + c->part * (imm % (vlen / c->part)) + i * es, es);
        break;
    case X_EXP:
        for (unsigned i = 0, k = 0; i < n; i++)
            if (!aaa || ((kval >> i) & 1))
                memcpy(r + i * es, m + es * k++, es);
        break;
    default: /* X_COMP */
        for (unsigned i = 0, k = 0; i < n; i++)
            if (!aaa || ((kval >> i) & 1))
                memcpy(wmem + es * k++, old + i * es, es);
        break;
    }
    memset(want, 0, 64);
    if (memdst) {
        memcpy(want, old, 64);
    } else if (whole) {
        memcpy(want, r, vlen);
    } else {
        for (unsigned i = 0; i < n; i++) {
            bool on = !aaa || ((kval >> i) & 1);
            memcpy(want + i * es, on ? r + i * es : old + i * es, es);
            if (!on && z)
                memset(want + i * es, 0, es);
        }
    }
    get_zmm(f, dst, got);
    fvmm_gpa_read(f->vm, GPA + MEMOFF, gmem, 64);
    bool ok = f->st.EmulationSuccessful && !fvmm_injected(f->vm).InterruptionPending &&
              memcmp(got, want, 64) == 0 && memcmp(gmem, wmem, 64) == 0;
    CHECK(ok);
    if (!ok && case_failures++ < 20) {
        printf("  %s: vl %u dst %u src1 %u k%u=%016llx z %d b %d imm %u disp8 %d:", c->name,
               vlen * 8, dst, src1, aaa, (unsigned long long)kval, z, b, imm, disp8);
        for (unsigned i = 0; i < len; i++)
            printf(" %02X", ins[i]);
        printf("\n");
    }
}

/* Conversions with a general-purpose register side, by the 128-bit VEX
 * forms: xmm0 = a, m the memory operand, r = xmm0 after, g the GPR. */
typedef void (*nati_fn)(const uint8_t *a, const uint8_t *m, uint8_t *r, uint64_t *g,
                        uint32_t *mx);
#define NATI(id, body)                                                                             \
    static void nati_##id(const uint8_t *a, const uint8_t *m, uint8_t *r, uint64_t *g,             \
                          uint32_t *mx)                                                            \
    {                                                                                              \
        uint32_t sv;                                                                               \
        uint64_t gv = 0x5555555555555555ull;                                                       \
        __asm__ volatile("stmxcsr %[sv]\n\t"                                                       \
                         "vmovdqu (%[a]), %%xmm0\n\t"                                              \
                         "ldmxcsr %[mx]\n\t" body "\n\t"                                           \
                         "stmxcsr %[mx]\n\t"                                                       \
                         "ldmxcsr %[sv]\n\t"                                                       \
                         "vmovdqu %%xmm0, (%[r])"                                                  \
                         : [mx] "+m"(*mx), [sv] "=m"(sv), [gv] "+r"(gv)                            \
                         : [a] "r"(a), [m] "r"(m), [r] "r"(r)                                      \
                         : "xmm0", "memory");                                                      \
        *g = gv;                                                                                   \
    }
NATI(si2ssl, "vcvtsi2ssl (%[m]), %%xmm0, %%xmm0")
NATI(si2ssq, "vcvtsi2ssq (%[m]), %%xmm0, %%xmm0")
NATI(si2sdl, "vcvtsi2sdl (%[m]), %%xmm0, %%xmm0")
NATI(si2sdq, "vcvtsi2sdq (%[m]), %%xmm0, %%xmm0")
NATI(ss2sil, "vcvtss2si (%[m]), %k[gv]")
NATI(ss2siq, "vcvtss2si (%[m]), %q[gv]")
NATI(tss2sil, "vcvttss2si (%[m]), %k[gv]")
NATI(tss2siq, "vcvttss2si (%[m]), %q[gv]")
NATI(sd2sil, "vcvtsd2si (%[m]), %k[gv]")
NATI(sd2siq, "vcvtsd2si (%[m]), %q[gv]")
NATI(tsd2sil, "vcvttsd2si (%[m]), %k[gv]")
NATI(tsd2siq, "vcvttsd2si (%[m]), %q[gv]")

/* ---- packed conversions: name, pp, opcode, W, input and output element,
 * unsigned dwords in (converted to double exactly first, then the scalar
 * VCVTSD2SS; or exactly to double) ---- */
struct ccase {
    const char *name;
    uint8_t pp, op, w, ies, oes, udq;
    nat3_fn nat;
    nati_fn gnat; /* udq 3: to unsigned dwords, by the host's signed 64-bit conversion */
};
static const struct ccase ccases[] = {
    {"vcvtdq2ps", 0, 0x5B, 0, 4, 4, 0, nat3_cdq2ps, NULL}, {"vcvtps2dq", 1, 0x5B, 0, 4, 4, 0, nat3_cps2dq, NULL},
    {"vcvttps2dq", 2, 0x5B, 0, 4, 4, 0, nat3_ctps2dq, NULL}, {"vcvtdq2pd", 2, 0xE6, 0, 4, 8, 0, nat3_cdq2pd, NULL},
    {"vcvtps2pd", 0, 0x5A, 0, 4, 8, 0, nat3_cps2pd, NULL}, {"vcvtpd2ps", 1, 0x5A, 1, 8, 4, 0, nat3_cpd2ps, NULL},
    {"vcvtpd2dq", 3, 0xE6, 1, 8, 4, 0, nat3_cpd2dq, NULL}, {"vcvttpd2dq", 1, 0xE6, 1, 8, 4, 0, nat3_ctpd2dq, NULL},
    {"vcvtudq2ps", 3, 0x7A, 0, 4, 4, 1, nat3_csd2ss, NULL}, {"vcvtudq2pd", 2, 0x7A, 0, 4, 8, 2, NULL, NULL},
    {"vcvtps2udq", 0, 0x79, 0, 4, 4, 3, NULL, nati_ss2siq},
    {"vcvttps2udq", 0, 0x78, 0, 4, 4, 3, NULL, nati_tss2siq},
    {"vcvtpd2udq", 0, 0x79, 1, 8, 4, 3, NULL, nati_sd2siq},
    {"vcvttpd2udq", 0, 0x78, 1, 8, 4, 3, NULL, nati_tsd2siq},
};
#define NCCASES (sizeof(ccases) / sizeof(ccases[0]))

static void run_ccase(struct fx *f, const struct ccase *c)
{
    unsigned ll = rnd(3), vlen = 16u << ll, ies = c->ies, oes = c->oes;
    unsigned n = vlen / (ies > oes ? ies : oes), dlen = n * oes, dst = rnd(32);
    unsigned aaa = rnd(4) == 0 ? 0 : 1 + rnd(7);
    bool z = aaa && rnd(2), b = rnd(3) == 0;
    int disp8 = (int)rnd(5) - 2;
    uint8_t old[64], mem[64], m[64], ins[16];
    for (unsigned i = 0; i < 64; i++)
        old[i] = (uint8_t)rnd64();
    for (unsigned i = 0; i < 64; i += ies) {
        if ((c->udq && c->udq != 3) || (c->op == 0xE6 && c->pp == 2) ||
            (c->op == 0x5B && c->pp == 0)) {
            for (unsigned j = 0; j < ies; j++)
                mem[i + j] = (uint8_t)rnd64();
        } else if (c->udq == 3 && rnd(3) == 0) {
            /* about 2^32 or 2^31, or -1 .. 1, in halves and quarters */
            double d = (double)(rnd64() >> (31 + rnd(3))) * (rnd(4) ? 1.0 : 0.0) +
                       0.25 * ((double)rnd(9) - 4.0);
            float x = (float)d;
            if (ies == 8)
                memcpy(mem + i, &d, 8);
            else
                memcpy(mem + i, &x, 4);
        } else
            fp_value(mem + i, ies);
    }
    set_zmm(f, dst, old);
    uint64_t kval = rnd(4) == 0 ? 0 : rnd64();
    set_k(f, aaa, kval);
    uint32_t mx = 0x1F80u | (rnd(4) << 13) | (rnd(2) ? 0x8000u : 0) | (rnd(2) ? 0x40u : 0);
    WHV_REGISTER_VALUE v;
    memset(&v, 0, sizeof v);
    v.XmmControlStatus.XmmStatusControl = mx;
    v.XmmControlStatus.XmmStatusControlMask = 0xFFFF;
    fvmm_reg_set(f->vm, WHvX64RegisterXmmControlStatus, &v);
    unsigned memsz = b ? ies : n * ies;
    uint64_t addr = GVA + MEMOFF;
    fvmm_gpa_write(f->vm, GPA + MEMOFF, mem, 64);
    fvmm_set_reg64(f->vm, WHvX64RegisterRbx, addr - (uint64_t)(int64_t)(disp8 * (int)memsz));
    struct ecase e = {c->name, 1, c->pp, c->op, 0, c->w, S_BIN, (uint8_t)oes, true, false,
                      false, 0, 0, 0, NULL, NULL};
    unsigned len = encode(&e, dst, 0, ll, aaa, z, b, disp8, ins);
    mark_row(ins, len);
    run(f, ins, len, addr);

    for (unsigned i = 0; i < 64; i++)
        m[i] = b ? mem[i % ies] : mem[i];
    uint8_t want[64], got[64];
    uint32_t raised = 0;
    memset(want, 0, 64);
    for (unsigned i = 0; i < n; i++) {
        bool on = !aaa || ((kval >> i) & 1);
        if (!on) {
            if (!z)
                memcpy(want + i * oes, old + i * oes, oes);
            continue;
        }
        uint8_t ha[32] = {0}, hb[32] = {0}, hc[32] = {0}, hr[32];
        uint32_t hmx = mx;
        if (c->udq == 3) {
            /* Out of the 64-bit range (or NaN), or out of 0 .. 2^32-1: the
             * unsigned integer indefinite and IE alone; else its PE. */
            uint64_t g;
            c->gnat(ha, m + i * ies, hr, &g, &hmx);
            uint32_t res = (uint32_t)g, fl = hmx & 0x20;
            if ((hmx & 1) || g > 0xFFFFFFFFull) {
                res = 0xFFFFFFFFu;
                fl = 1;
            }
            raised |= fl;
            memcpy(want + i * 4, &res, 4);
            continue;
        }
        if (c->udq) {
            uint32_t u;
            memcpy(&u, m + 4 * i, 4);
            double d = (double)u;
            memcpy(hc, &d, 8);
            if (c->udq == 2) {
                memcpy(want + i * 8, &d, 8);
                continue;
            }
        } else {
            memcpy(hc, m + i * ies, ies);
        }
        c->nat(ha, hb, hc, hr, &hmx);
        raised |= hmx & 0x3F;
        memcpy(want + i * oes, hr, oes);
    }
    (void)dlen;
    get_zmm(f, dst, got);
    fvmm_reg_get(f->vm, WHvX64RegisterXmmControlStatus, &v);
    uint32_t gmx = v.XmmControlStatus.XmmStatusControl;
    bool ok = f->st.EmulationSuccessful && !fvmm_injected(f->vm).InterruptionPending &&
              memcmp(got, want, 64) == 0 && gmx == (mx | raised);
    CHECK(ok);
    if (!ok && case_failures++ < 20) {
        printf("  %s: vl %u dst %u k%u=%016llx z %d b %d mxcsr %x -> %x (want %x):", c->name,
               vlen * 8, dst, aaa, (unsigned long long)kval, z, b, mx, gmx, mx | raised);
        for (unsigned i = 0; i < len; i++)
            printf(" %02X", ins[i]);
        printf("\n");
    }
}

/* ---- scalar conversions with a general-purpose side, no masking: VCVTSI2SS/SD
 * xmm, xmm(vvvv), m32/m64 (bits 127:es from vvvv, above 127 zeroed) and
 * VCVT(T)SS2SI / VCVT(T)SD2SI r32/r64, m32/m64; EVEX.W selects the integer
 * size. The model: the 128-bit VEX form, xmm0 = the vvvv register ---- */

struct icase {
    const char *name;
    uint8_t pp, op, w, fes; /* fes: the floating-point element (4 or 8 bytes) */
    bool to_gpr;
    nati_fn nat;
};
static const struct icase icases[] = {
    {"vcvtsi2ss r32", 2, 0x2A, 0, 4, false, nati_si2ssl},
    {"vcvtsi2ss r64", 2, 0x2A, 1, 4, false, nati_si2ssq},
    {"vcvtsi2sd r32", 3, 0x2A, 0, 8, false, nati_si2sdl},
    {"vcvtsi2sd r64", 3, 0x2A, 1, 8, false, nati_si2sdq},
    {"vcvtss2si r32", 2, 0x2D, 0, 4, true, nati_ss2sil},
    {"vcvtss2si r64", 2, 0x2D, 1, 4, true, nati_ss2siq},
    {"vcvttss2si r32", 2, 0x2C, 0, 4, true, nati_tss2sil},
    {"vcvttss2si r64", 2, 0x2C, 1, 4, true, nati_tss2siq},
    {"vcvtsd2si r32", 3, 0x2D, 0, 8, true, nati_sd2sil},
    {"vcvtsd2si r64", 3, 0x2D, 1, 8, true, nati_sd2siq},
    {"vcvttsd2si r32", 3, 0x2C, 0, 8, true, nati_tsd2sil},
    {"vcvttsd2si r64", 3, 0x2C, 1, 8, true, nati_tsd2siq},
};
#define NICASES (sizeof(icases) / sizeof(icases[0]))

static void run_icase(struct fx *f, const struct icase *c)
{
    /* Any EVEX.L'L but 11b (ignored); the GPR destination avoids RSP and RBX (the base). */
    static const unsigned gprs[] = {0, 1, 2, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    unsigned ll = rnd(3), ms = c->to_gpr ? c->fes : (c->w ? 8u : 4u);
    unsigned dst = c->to_gpr ? gprs[rnd(14)] : rnd(32), src1 = c->to_gpr ? 0 : rnd(32);
    int disp8 = (int)rnd(5) - 2;
    uint8_t a[64], old[64], mem[64], ins[16];
    for (unsigned i = 0; i < 64; i++) {
        a[i] = (uint8_t)rnd64();
        old[i] = (uint8_t)rnd64();
        mem[i] = (uint8_t)rnd64();
    }
    if (c->to_gpr) {
        fp_value(mem, ms);
        if (rnd(3) == 0) { /* near the integer range's ends, or a small value */
            double d = (double)((int64_t)rnd64() >> rnd(64)) + (rnd(2) ? 0.5 : 0.0);
            if (ms == 8) {
                memcpy(mem, &d, 8);
            } else {
                float x = (float)d;
                memcpy(mem, &x, 4);
            }
        }
    } else if (rnd(2)) { /* a small integer, exact */
        int64_t v = (int64_t)rnd(2000) - 1000;
        memcpy(mem, &v, 8);
    }
    uint64_t oldg = rnd64();
    if (c->to_gpr)
        fvmm_set_reg64(f->vm, (WHV_REGISTER_NAME)(WHvX64RegisterRax + dst), oldg);
    else
        set_zmm(f, dst, old);
    set_zmm(f, src1, a);
    uint32_t mx = 0x1F80u | (rnd(4) << 13) | (rnd(2) ? 0x8000u : 0) | (rnd(2) ? 0x40u : 0);
    WHV_REGISTER_VALUE v;
    memset(&v, 0, sizeof v);
    v.XmmControlStatus.XmmStatusControl = mx;
    v.XmmControlStatus.XmmStatusControlMask = 0xFFFF;
    fvmm_reg_set(f->vm, WHvX64RegisterXmmControlStatus, &v);
    uint64_t addr = GVA + MEMOFF;
    fvmm_gpa_write(f->vm, GPA + MEMOFF, mem, 64);
    fvmm_set_reg64(f->vm, WHvX64RegisterRbx, addr - (uint64_t)(int64_t)(disp8 * (int)ms));
    struct ecase e = {c->name, 1, c->pp, c->op, 0, c->w, S_BIN, c->fes, false, true,
                      false, 0, 0, 0, NULL, NULL};
    unsigned len = encode(&e, dst, src1, ll, 0, false, false, disp8, ins);
    mark_row(ins, len);
    run(f, ins, len, addr);

    uint8_t want[64], got[64], hr[16];
    uint64_t wg = 0;
    uint32_t hmx = mx;
    memset(want, 0, 64);
    c->nat(a, mem, hr, &wg, &hmx);
    memcpy(want, hr, 16);
    bool ok = f->st.EmulationSuccessful && !fvmm_injected(f->vm).InterruptionPending;
    uint64_t gg = 0;
    if (c->to_gpr) {
        gg = fvmm_reg64(f->vm, (WHV_REGISTER_NAME)(WHvX64RegisterRax + dst));
        ok = ok && gg == wg;
    } else {
        get_zmm(f, dst, got);
        ok = ok && memcmp(got, want, 64) == 0;
    }
    fvmm_reg_get(f->vm, WHvX64RegisterXmmControlStatus, &v);
    uint32_t gmx = v.XmmControlStatus.XmmStatusControl;
    ok = ok && gmx == (mx | (hmx & 0x3F));
    CHECK(ok);
    if (!ok && case_failures++ < 20) {
        printf("  %s: dst %u src1 %u mxcsr %x -> %x (want %x) gpr %llx (want %llx):", c->name,
               dst, src1, mx, gmx, mx | (hmx & 0x3F), (unsigned long long)gg,
               (unsigned long long)wg);
        for (unsigned i = 0; i < len; i++)
            printf(" %02X", ins[i]);
        printf("\n");
    }
}

/* VCVTPS2UDQ with an exception MXCSR leaves unmasked: refused, nothing
 * written; the same element disabled by the opmask raises nothing. */
static void test_udq_unmasked_exceptions(void)
{
    static const struct {
        uint8_t p2;    /* EVEX P2: {k1} or not */
        uint64_t k1;
        uint32_t mem0; /* the first element */
        uint32_t mx;
        bool done;
    } t[] = {
        {0x48, 0, 0x3F000000u, 0x1F80u & ~0x1000u, false}, /* 0.5 with PE unmasked */
        {0x48, 0, 0xBF800000u, 0x1F80u & ~0x0080u, false}, /* -1.0 with IE unmasked */
        {0x48, 0, 0x7FC00000u, 0x1F80u & ~0x0080u, false}, /* NaN with IE unmasked */
        {0x49, 0xFFFE, 0x3F000000u, 0x1F80u & ~0x1000u, true}, /* element 0 disabled */
        {0x48, 0, 0x3F800000u, 0x1F80u & ~0x1080u, true},  /* 1.0: exact */
    };
    for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct fx f;
        fx_init(&f);
        uint8_t ins[6] = {0x62, 0xf1, 0x7c, t[i].p2, 0x79, 0x0b}, mem[64], old[64], got[64];
        for (unsigned j = 0; j < 64; j += 4) {
            uint32_t one = 0x3F800000u, old1 = 0x12345678u;
            memcpy(mem + j, j ? &one : &t[i].mem0, 4);
            memcpy(old + j, &old1, 4);
        }
        set_zmm(&f, 1, old);
        set_k(&f, 1, t[i].k1);
        WHV_REGISTER_VALUE v;
        memset(&v, 0, sizeof v);
        v.XmmControlStatus.XmmStatusControl = t[i].mx;
        v.XmmControlStatus.XmmStatusControlMask = 0xFFFF;
        fvmm_reg_set(f.vm, WHvX64RegisterXmmControlStatus, &v);
        fvmm_gpa_write(f.vm, GPA + MEMOFF, mem, 64);
        fvmm_set_reg64(f.vm, WHvX64RegisterRbx, GVA + MEMOFF);
        run(&f, ins, 6, GVA + MEMOFF);
        get_zmm(&f, 1, got);
        fvmm_reg_get(f.vm, WHvX64RegisterXmmControlStatus, &v);
        CHECK(!!f.st.EmulationSuccessful == t[i].done);
        CHECK(fvmm_injected(f.vm).InterruptionPending == 0);
        CHECK(v.XmmControlStatus.XmmStatusControl == t[i].mx);
        if (t[i].done) {
            uint32_t e0, e1;
            memcpy(&e0, got, 4);
            memcpy(&e1, got + 4, 4);
            CHECK(e0 == (t[i].k1 ? 0x12345678u : 1u) && e1 == 1u);
        } else {
            CHECK(memcmp(got, old, 64) == 0);
        }
        fx_fini(&f);
    }
}

static void test_every_model_row_is_covered(void)
{
    unsigned count, missing = 0;
    const struct op_row *rows = dec_rows(&count);
    for (unsigned i = 0; i < count; i++) {
        if (OPC_MAP(rows[i].key) < MAP_EVEX_0F || !dec_evex_model_checked(&rows[i]))
            continue;
        if (i >= 2048 || !row_seen[i]) {
            printf("  row %u (%s) has no model case\n", i, rows[i].mnem);
            missing++;
        }
    }
    CHECK(missing == 0);
}

/* Fault suppression: the operand's upper half on an absent page. */
static void test_masked_faults(void)
{
    static const struct {
        const char *name;
        uint8_t ins[8];
        unsigned len, memsz, split; /* split: bytes on the present page */
        uint64_t k_lo, k_hi;        /* a mask enabling only elements there / one beyond */
        bool nofs;
    } t[] = {
        /* vpaddd zmm1{k1}, zmm2, [rbx] */
        {"vpaddd", {0x62, 0xf1, 0x6d, 0x49, 0xfe, 0x0b}, 6, 64, 32, 0x00FF, 0x0100, false},
        /* vpmovzxbd zmm1{k1}, [rbx]: 16 bytes, one per dword */
        {"vpmovzxbd", {0x62, 0xf2, 0x7d, 0x49, 0x31, 0x0b}, 6, 16, 8, 0x00FF, 0x0100, false},
        /* vpmovzxdq zmm1{k1}, [rbx]: 32 bytes, a dword per qword */
        {"vpmovzxdq", {0x62, 0xf2, 0x7d, 0x49, 0x35, 0x0b}, 6, 32, 16, 0x0F, 0x10, false},
        /* vbroadcasti32x4 zmm1{k1}, [rbx]: dword 2 is needed by elements 2, 6, 10, 14 */
        {"vbroadcasti32x4", {0x62, 0xf2, 0x7d, 0x49, 0x5a, 0x0b}, 6, 16, 8, 0x3333, 0x0400, false},
        /* vaddss xmm1{k1}, xmm2, [rbx]: the one element, read only under k1[0] */
        {"vaddss", {0x62, 0xf1, 0x6e, 0x09, 0x58, 0x0b}, 6, 4, 2, 0x0, 0x1, false},
        /* vcvtss2sd xmm1{k1}, xmm2, [rbx]: the single read only under k1[0] */
        {"vcvtss2sd", {0x62, 0xf1, 0x6e, 0x09, 0x5a, 0x0b}, 6, 4, 2, 0x0, 0x1, false},
        /* vcvtsd2ss xmm1{k1}, xmm2, [rbx] */
        {"vcvtsd2ss", {0x62, 0xf1, 0xef, 0x09, 0x5a, 0x0b}, 6, 8, 4, 0xFE, 0x1, false},
        /* vfmadd231sd xmm1{k1}, xmm2, [rbx] */
        {"vfmadd231sd", {0x62, 0xf2, 0xed, 0x09, 0xb9, 0x0b}, 6, 8, 4, 0xFE, 0x1, false},
        /* vpexpandd zmm1{k1}, [rbx]: as many dwords read as k1 has bits set */
        {"vpexpandd", {0x62, 0xf2, 0x7d, 0x49, 0x89, 0x0b}, 6, 64, 8, 0x8001, 0x0007, false},
        /* vpcompressd [rbx]{k1}, zmm1: as many dwords written */
        {"vpcompressd", {0x62, 0xf2, 0x7d, 0x49, 0x8b, 0x0b}, 6, 64, 8, 0x8100, 0x0103, false},
        /* vinserti32x4 zmm1{k1}, zmm2, [rbx], 1: no fault suppression */
        {"vinserti32x4", {0x62, 0xf3, 0x6d, 0x49, 0x38, 0x0b, 1}, 7, 16, 8, 0x0001, 0x0001, true},
        /* vextracti32x4 [rbx]{k1}, zmm1, 0: no fault suppression */
        {"vextracti32x4", {0x62, 0xf3, 0x7d, 0x49, 0x39, 0x0b, 0}, 7, 16, 8, 0x0001, 0x0001, true},
        /* vpunpckldq zmm1{k1}, zmm2, [rbx]: no fault suppression */
        {"vpunpckldq", {0x62, 0xf1, 0x6d, 0x49, 0x62, 0x0b}, 6, 64, 32, 0x0001, 0x0001, true},
    };
    for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct fx f;
        fx_init(&f);
        fvmm_map_gva_ex(f.vm, GVA + 0x1000, WHvTranslateGvaResultPageNotPresent, 0, 0);
        uint64_t addr = GVA + 0x1000 - t[i].split;
        fvmm_set_reg64(f.vm, WHvX64RegisterRbx, addr);
        set_k(&f, 1, t[i].k_lo);
        run(&f, t[i].ins, t[i].len, addr);
        bool faulted = fvmm_injected(f.vm).InterruptionPending &&
                       fvmm_injected(f.vm).InterruptionVector == 14;
        if (faulted != t[i].nofs)
            printf("  %s: enabled elements on the present page: fault %d\n", t[i].name, faulted);
        CHECK(faulted == t[i].nofs);
        fx_fini(&f);
        fx_init(&f);
        fvmm_map_gva_ex(f.vm, GVA + 0x1000, WHvTranslateGvaResultPageNotPresent, 0, 0);
        fvmm_set_reg64(f.vm, WHvX64RegisterRbx, addr);
        set_k(&f, 1, t[i].k_hi);
        run(&f, t[i].ins, t[i].len, addr);
        faulted = fvmm_injected(f.vm).InterruptionPending &&
                  fvmm_injected(f.vm).InterruptionVector == 14;
        if (!faulted)
            printf("  %s: an enabled element on the absent page: no fault\n", t[i].name);
        CHECK(faulted);
        fx_fini(&f);
    }
}

/* #UD: L'L = 0 where only 256/512 bits exist, masking where none is allowed,
 * broadcast where the row has none. */
static void test_invalid_fields(void)
{
    static const uint8_t bad[][7] = {
        {0x62, 0xf2, 0x7d, 0x08, 0x36, 0x0b, 0}, /* vpermd xmm: L'L = 0 */
        {0x62, 0xf1, 0x75, 0x49, 0xf6, 0x0b, 0}, /* vpsadbw with {k1} */
        {0x62, 0xf1, 0x75, 0x58, 0xfc, 0x0b, 0}, /* vpaddb with {1toN} */
        {0x62, 0xf1, 0x7d, 0x49, 0x73, 0x3b, 3}, /* vpslldq with {k1} */
        {0x62, 0xf1, 0x76, 0x09, 0x2a, 0x0b, 0}, /* vcvtsi2ss with {k1} */
        {0x62, 0xf1, 0x7e, 0x09, 0x2d, 0x0b, 0}, /* vcvtss2si with {k1} */
        {0x62, 0xf1, 0x76, 0x08, 0x2d, 0x0b, 0}, /* vcvtss2si with vvvv != 1111b */
        {0x62, 0xf1, 0x7e, 0x18, 0x2c, 0x0b, 0}, /* vcvttss2si m32 with EVEX.b */
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct fx f;
        fx_init(&f);
        fvmm_set_reg64(f.vm, WHvX64RegisterRbx, GVA);
        unsigned len = bad[i][4] == 0x73 ? 7 : 6;
        run(&f, bad[i], len, GVA);
        CHECK(fvmm_injected(f.vm).InterruptionVector == 6);
        CHECK(fvmm_count(f.vm, FVMM_CB_MEMORY) == 0);
        fx_fini(&f);
    }
}

int main(void)
{
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2")) {
        printf("FAIL: the model needs a host with AVX2\n");
        return 1;
    }
    struct fx f;
    fx_init(&f);
    for (unsigned i = 0; i < NCASES; i++) {
        unsigned before = failures;
        for (unsigned n = 0; n < 300; n++)
            run_case(&f, &cases[i]);
        if (failures != before)
            printf("%s: %u failures\n", cases[i].name, failures - before);
    }
    for (unsigned i = 0; i < NFCASES; i++) {
        unsigned before = failures;
        for (unsigned n = 0; n < 500; n++)
            run_fp_case(&f, &fcases[i]);
        if (failures != before)
            printf("%s: %u failures\n", fcases[i].name, failures - before);
    }
    for (unsigned i = 0; i < NSCASES; i++) {
        unsigned before = failures;
        for (unsigned n = 0; n < 400; n++)
            run_scalar_case(&f, &scases[i]);
        if (failures != before)
            printf("%s: %u failures\n", scases[i].name, failures - before);
    }
    for (unsigned i = 0; i < NXCASES; i++) {
        unsigned before = failures;
        for (unsigned n = 0; n < 300; n++)
            run_xcase(&f, &xcases[i]);
        if (failures != before)
            printf("%s: %u failures\n", xcases[i].name, failures - before);
    }
    for (unsigned i = 0; i < NCCASES; i++) {
        unsigned before = failures;
        for (unsigned n = 0; n < 400; n++)
            run_ccase(&f, &ccases[i]);
        if (failures != before)
            printf("%s: %u failures\n", ccases[i].name, failures - before);
    }
    for (unsigned i = 0; i < NICASES; i++) {
        unsigned before = failures;
        for (unsigned n = 0; n < 400; n++)
            run_icase(&f, &icases[i]);
        if (failures != before)
            printf("%s: %u failures\n", icases[i].name, failures - before);
    }
    fx_fini(&f);
    test_every_model_row_is_covered();
    test_masked_faults();
    test_invalid_fields();
    test_udq_unmasked_exceptions();
    printf("%zu forms, %u checks, %u failed\n", NCASES + NFCASES + NSCASES + NXCASES + NCCASES + NICASES, checks, failures);
    return failures ? 1 : 0;
}
