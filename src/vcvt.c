/*
 * vcvt.c - SSE/AVX/F16C conversions with a memory operand, run on the host
 * CPU through the templates of hostfp.h and vfp_run(): packed integer <->
 * floating point, single <-> double, scalar to and from general-purpose
 * registers, half <-> single precision.
 */
#include <string.h>

#include "emu.h"

#ifdef HOSTFP_HAVE_ASM
#define HF(f) f
#else
#define HF(f) NULL
#endif

#define HANDLER(m, ops)                                                                            \
    enum rc vcvt_##m(struct emu *e, const struct insn *in)                                         \
    {                                                                                              \
        return vfp_run(e, in, &ops);                                                               \
    }
/* Packed: legacy xmm0 = cvt(xmm1); VEX.128 and VEX.256 with the register
 * widths each takes (rx: the VEX.256 source, ry: its destination). */
#define PACKED(m, rx, ry, fl)                                                                      \
    HFP_LEG(l_##m, #m " %%xmm1, %%xmm0")                                                           \
    HFP_VEX(x_##m, "v" #m " %%xmm1, %%xmm0")                                                       \
    HFP_VEX(y_##m, "v" #m " %%" rx "1, %%" ry "0")                                                 \
    static const struct fp_op op_##m = {HF(l_##m), HF(x_##m), HF(y_##m), 0, HFP_AVX, fl};         \
    HANDLER(m, op_##m)
/* Scalar: legacy xmm0 = cvt(xmm1) in the low element; VEX with vvvv. */
#define SCALAR(m, fl)                                                                              \
    HFP_LEG(l_##m, #m " %%xmm1, %%xmm0")                                                           \
    HFP_VEX(x_##m, "v" #m " %%xmm1, %%xmm0, %%xmm0")                                               \
    static const struct fp_op op_##m = {HF(l_##m), HF(x_##m), NULL, 0, HFP_AVX, fl};              \
    HANDLER(m, op_##m)

PACKED(cvtdq2ps, "ymm", "ymm", 0)
PACKED(cvtps2dq, "ymm", "ymm", 0)
PACKED(cvttps2dq, "ymm", "ymm", 0)
PACKED(cvtdq2pd, "xmm", "ymm", 0)
PACKED(cvtps2pd, "xmm", "ymm", 0)
PACKED(cvtpd2ps, "ymm", "xmm", FPO_UF)
PACKED(cvtpd2dq, "ymm", "xmm", 0)
PACKED(cvttpd2dq, "ymm", "xmm", 0)
SCALAR(cvtss2sd, 0)
SCALAR(cvtsd2ss, FPO_UF)

/* CVTSI2SS/SD from a 32- or 64-bit integer (the r/m operand's size). */
#define FROM_GPR(m)                                                                                \
    HFP_LEG(l_##m##l, #m "l %[g], %%xmm0")                                                         \
    HFP_LEG(l_##m##q, #m "q %[g], %%xmm0")                                                         \
    HFP_VEX(x_##m##l, "v" #m "l %[g], %%xmm0, %%xmm0")                                             \
    HFP_VEX(x_##m##q, "v" #m "q %[g], %%xmm0, %%xmm0")                                             \
    static const struct fp_op op_##m##l = {HF(l_##m##l), HF(x_##m##l), NULL, 0, HFP_AVX,           \
                                           FPO_GSRC};                                              \
    static const struct fp_op op_##m##q = {HF(l_##m##q), HF(x_##m##q), NULL, 0, HFP_AVX,           \
                                           FPO_GSRC};                                              \
    enum rc vcvt_##m(struct emu *e, const struct insn *in)                                         \
    {                                                                                              \
        return vfp_run(e, in, in->op[in->nops - 1].size == 8 ? &op_##m##q : &op_##m##l);           \
    }
FROM_GPR(cvtsi2ss)
FROM_GPR(cvtsi2sd)

/* CVT(T)SS2SI / CVT(T)SD2SI to a 32- or 64-bit register (its size). */
#define TO_GPR(m)                                                                                  \
    HFP_LEG(l_##m##l, #m " %%xmm1, %%eax\n\tmovl %%eax, %[g]")                                     \
    HFP_LEG(l_##m##q, #m " %%xmm1, %%rax\n\tmovq %%rax, %[g]")                                     \
    HFP_VEX(x_##m##l, "v" #m " %%xmm1, %%eax\n\tmovl %%eax, %[g]")                                 \
    HFP_VEX(x_##m##q, "v" #m " %%xmm1, %%rax\n\tmovq %%rax, %[g]")                                 \
    static const struct fp_op op_##m##l = {HF(l_##m##l), HF(x_##m##l), NULL, 0, HFP_AVX,           \
                                           FPO_GDST};                                              \
    static const struct fp_op op_##m##q = {HF(l_##m##q), HF(x_##m##q), NULL, 0, HFP_AVX,           \
                                           FPO_GDST};                                              \
    enum rc vcvt_##m(struct emu *e, const struct insn *in)                                         \
    {                                                                                              \
        return vfp_run(e, in, in->op[0].size == 8 ? &op_##m##q : &op_##m##l);                      \
    }
TO_GPR(cvtss2si)
TO_GPR(cvttss2si)
TO_GPR(cvtsd2si)
TO_GPR(cvttsd2si)

/* F16C: VCVTPH2PS (exact), VCVTPS2PH with the rounding of imm8 bits 2:0
 * (bits 7:3 ignored) into memory. */
HFP_VEX(x_vcvtph2ps, "vcvtph2ps %%xmm1, %%xmm0")
HFP_VEX(y_vcvtph2ps, "vcvtph2ps %%xmm1, %%ymm0")
static const struct fp_op op_vcvtph2ps = {NULL, HF(x_vcvtph2ps), HF(y_vcvtph2ps), 0,
                                          HFP_AVX | HFP_F16C, 0};
HANDLER(vcvtph2ps, op_vcvtph2ps)

#define D_PH(m, i)                                                                                 \
    HFP_VEX(x_##m##_##i, #m " $" #i ", %%xmm1, %%xmm0")                                           \
    HFP_VEX(y_##m##_##i, #m " $" #i ", %%ymm1, %%xmm0")
#define E_PH(m, i) {NULL, HF(x_##m##_##i), HF(y_##m##_##i), 0, HFP_AVX | HFP_F16C, FPO_UF},
HFP_R8(D_PH, vcvtps2ph)
static const struct fp_op ops_vcvtps2ph[8] = {HFP_R8(E_PH, vcvtps2ph)};
enum rc vcvt_vcvtps2ph(struct emu *e, const struct insn *in)
{
    return vfp_run(e, in, &ops_vcvtps2ph[in->imm8 & 7]);
}

/* The MMX-register conversions with a memory operand, computed by the
 * packed doubleword templates on the low two elements (the others zero,
 * which convert exactly and raise nothing): CVTPI2PS xmm, m64 (bits
 * 127:64 of the destination kept), CVTPI2PD xmm, m64, and CVT(T)PS2PI /
 * CVT(T)PD2PI mm, m64/m128. */
static enum rc mmx_cvt(struct emu *e, const struct insn *in, hfp_fn fn, unsigned keep)
{
    uint8_t v[EMU_MAX_ACCESS];
    TRY(vfp_check(e, 0));
    struct hfp_io s;
    memset(&s, 0, sizeof s);
    TRY(op_read_vec(e, in, 1, v));
    memcpy(s.b, v, in->op[1].size);
    uint32_t raised = 0;
    TRY(vfp_exec(e, fn, &s, 0, &raised));
    if (keep) {
        TRY(op_read_vec(e, in, 0, v));
        memcpy(s.r + keep, v + keep, 16 - keep);
    }
    TRY(op_write_vec(e, in, 0, s.r));
    vfp_set_flags(e, raised);
    return RC_OK;
}

enum rc vcvt_cvtpi2ps(struct emu *e, const struct insn *in) { return mmx_cvt(e, in, HF(l_cvtdq2ps), 8); }
enum rc vcvt_cvtpi2pd(struct emu *e, const struct insn *in) { return mmx_cvt(e, in, HF(l_cvtdq2pd), 0); }
enum rc vcvt_cvtps2pi(struct emu *e, const struct insn *in) { return mmx_cvt(e, in, HF(l_cvtps2dq), 0); }
enum rc vcvt_cvttps2pi(struct emu *e, const struct insn *in) { return mmx_cvt(e, in, HF(l_cvttps2dq), 0); }
enum rc vcvt_cvtpd2pi(struct emu *e, const struct insn *in) { return mmx_cvt(e, in, HF(l_cvtpd2dq), 0); }
enum rc vcvt_cvttpd2pi(struct emu *e, const struct insn *in) { return mmx_cvt(e, in, HF(l_cvttpd2dq), 0); }

/* EVEX packed conversions: the VEX.256 template on as many elements as fit
 * 32 bytes of its input and of its output, a disabled element's input made
 * 0 (which converts exactly and raises nothing); the opmask then merges or
 * zeroes the result (op_write_vec), whose register has as many elements as
 * the opmask governs. VCVTUDQ2PD is exact in C; VCVTUDQ2PS converts each
 * unsigned dword to double exactly in C and rounds it to single precision
 * with the VCVTPD2PS template under the guest's MXCSR (one rounding). */
static enum rc cvt_evex(struct emu *e, const struct insn *in, const struct fp_op *op,
                        unsigned ies, unsigned oes, bool from_udq)
{
    TRY(vfp_check(e, op->vex_feat));
    uint32_t mx = e->regs.v[VR_MXCSR].XmmControlStatus.XmmStatusControl;
    uint8_t src[EMU_MAX_ACCESS * 2], r[EMU_MAX_ACCESS];
    unsigned n = mask_count(in);
    memset(src, 0, sizeof src);
    TRY(op_read_vec(e, in, 1, src)); /* the memory operand: its faults come first */
    if (from_udq) { /* unsigned dwords as doubles, exactly */
        for (unsigned i = n; i-- > 0;) {
            double d = (double)(uint32_t)le_load(src + 4 * i, 4);
            uint64_t bits;
            memcpy(&bits, &d, 8);
            le_store(src + 8 * i, bits, 8);
        }
        ies = 8;
    }
    if ((op->flags & FPO_UF) && !(mx & MXCSR_UM))
        return emu_unsupported(e, "unmasked SIMD floating-point exception (underflow)");
    for (unsigned i = 0; i < n; i++)
        if (!op_mask_on(e, in, i))
            memset(src + i * ies, 0, ies);
    unsigned per = 32 / (ies > oes ? ies : oes);
    uint32_t raised = 0;
    for (unsigned i = 0; i < n; i += per) {
        struct hfp_io s;
        memset(&s, 0, sizeof s);
        unsigned k = n - i < per ? n - i : per;
        memcpy(s.b, src + i * ies, k * ies);
        s.mx = (mx & ~MXCSR_FLAGS) | MXCSR_MASKS;
        op->v256(&s);
        raised |= s.mx & MXCSR_FLAGS;
        memcpy(r + i * oes, s.r, k * oes);
    }
    if (raised & ~(mx >> 7))
        return emu_unsupported(e, "unmasked SIMD floating-point exception");
    TRY(op_write_vec(e, in, 0, r));
    vfp_set_flags(e, raised);
    return RC_OK;
}

#define EVEX_CVT(m, ies, oes)                                                                      \
    enum rc vcvt_e_##m(struct emu *e, const struct insn *in)                                       \
    {                                                                                              \
        return cvt_evex(e, in, &op_##m, ies, oes, false);                                          \
    }
EVEX_CVT(cvtdq2ps, 4, 4)
EVEX_CVT(cvtps2dq, 4, 4)
EVEX_CVT(cvttps2dq, 4, 4)
EVEX_CVT(cvtdq2pd, 4, 8)
EVEX_CVT(cvtps2pd, 4, 8)
EVEX_CVT(cvtpd2ps, 8, 4)
EVEX_CVT(cvtpd2dq, 8, 4)
EVEX_CVT(cvttpd2dq, 8, 4)
#undef EVEX_CVT

enum rc vcvt_e_cvtudq2ps(struct emu *e, const struct insn *in)
{
    return cvt_evex(e, in, &op_cvtpd2ps, 4, 4, true);
}

enum rc vcvt_e_cvtudq2pd(struct emu *e, const struct insn *in)
{
    uint8_t src[EMU_MAX_ACCESS], r[EMU_MAX_ACCESS];
    unsigned n = mask_count(in);
    TRY(op_read_vec(e, in, 1, src));
    for (unsigned i = 0; i < n; i++) {
        double d = (double)(uint32_t)le_load(src + 4 * i, 4);
        uint64_t bits;
        memcpy(&bits, &d, 8);
        le_store(r + 8 * i, bits, 8);
    }
    return op_write_vec(e, in, 0, r);
}

/* EVEX VCVTSS2SD / VCVTSD2SS: the scalar rules of vfp_evex_scalar (element
 * 0 under opmask bit 0, bits 127:es from vvvv, the rest zeroed) with the
 * VEX templates; the memory element is the source's, not the result's. */
enum rc vcvt_e_cvtss2sd(struct emu *e, const struct insn *in)
{
    return vfp_evex_scalar(e, in, &op_cvtss2sd, false);
}

enum rc vcvt_e_cvtsd2ss(struct emu *e, const struct insn *in)
{
    return vfp_evex_scalar(e, in, &op_cvtsd2ss, false);
}

/* One single or double precision value to an unsigned doubleword, exactly
 * in integer arithmetic (the host's MXCSR plays no part): rounded per rc
 * (0 nearest even, 1 down, 2 up, 3 toward zero). NaN, infinity and any
 * result outside 0 .. 2^32-1 give 0xFFFFFFFF and IE; an exact result
 * raises nothing, a rounded one PE. With daz a denormal input is zero. */
static uint32_t cvt_to_udq(uint64_t bits, bool dbl, unsigned rc, bool daz, uint32_t *raised)
{
    unsigned mbits = dbl ? 52 : 23, ebits = dbl ? 11 : 8;
    int bias = dbl ? 1023 : 127;
    bool neg = (bits >> (mbits + ebits)) & 1;
    unsigned ef = (unsigned)(bits >> mbits) & ((1u << ebits) - 1);
    uint64_t m = bits & ((1ull << mbits) - 1);
    if (ef == (1u << ebits) - 1) { /* infinity or NaN */
        *raised |= MXCSR_IE;
        return 0xFFFFFFFFu;
    }
    int ex;
    if (ef == 0) {
        if (m == 0 || daz)
            return 0;
        ex = 1 - bias - (int)mbits;
    } else {
        m |= 1ull << mbits;
        ex = (int)ef - bias - (int)mbits;
    }
    uint64_t ip, rem = 0, half = 0;
    if (ex >= 0) {
        if (ex >= 32 || (m >> (32 - ex)) != 0 || neg) {
            *raised |= MXCSR_IE;
            return 0xFFFFFFFFu;
        }
        return (uint32_t)(m << ex);
    }
    unsigned sh = (unsigned)-ex;
    if (sh >= 64) {
        ip = 0;
        rem = 1; /* below one half: m < 2^53 */
        half = 2;
    } else {
        ip = m >> sh;
        rem = m & ((1ull << sh) - 1);
        half = 1ull << (sh - 1);
    }
    bool inc = false;
    if (rem) {
        switch (rc) {
        case 0: inc = rem > half || (rem == half && (ip & 1)); break;
        case 1: inc = neg; break;
        case 2: inc = !neg; break;
        default: break;
        }
    }
    uint64_t mag = ip + inc;
    if ((neg && mag != 0) || mag > 0xFFFFFFFFu) {
        *raised |= MXCSR_IE;
        return 0xFFFFFFFFu;
    }
    if (rem)
        *raised |= MXCSR_PE;
    return (uint32_t)mag;
}

/* VCVT(T)PS2UDQ, VCVT(T)PD2UDQ: each enabled element converted in C; a
 * disabled one is neither read (fault suppression) nor converted, and
 * raises nothing. An exception MXCSR leaves unmasked is refused. */
static enum rc cvt_udq(struct emu *e, const struct insn *in, bool dbl, bool trunc)
{
    uint32_t mx = e->regs.v[VR_MXCSR].XmmControlStatus.XmmStatusControl;
    uint8_t src[EMU_MAX_ACCESS * 2], r[EMU_MAX_ACCESS];
    unsigned n = mask_count(in), ies = dbl ? 8 : 4;
    memset(src, 0, sizeof src);
    memset(r, 0, sizeof r);
    TRY(op_read_vec(e, in, 1, src)); /* the memory operand: its faults come first */
    unsigned rc = trunc ? 3u : (mx >> 13) & 3u;
    uint32_t raised = 0;
    for (unsigned i = 0; i < n; i++)
        if (op_mask_on(e, in, i))
            le_store(r + 4 * i,
                     cvt_to_udq(le_load(src + i * ies, ies), dbl, rc, (mx & MXCSR_DAZ) != 0,
                                &raised),
                     4);
    if (raised & ~(mx >> 7))
        return emu_unsupported(e, "unmasked SIMD floating-point exception");
    TRY(op_write_vec(e, in, 0, r));
    vfp_set_flags(e, raised);
    return RC_OK;
}

enum rc vcvt_e_cvtps2udq(struct emu *e, const struct insn *in) { return cvt_udq(e, in, false, false); }
enum rc vcvt_e_cvttps2udq(struct emu *e, const struct insn *in) { return cvt_udq(e, in, false, true); }
enum rc vcvt_e_cvtpd2udq(struct emu *e, const struct insn *in) { return cvt_udq(e, in, true, false); }
enum rc vcvt_e_cvttpd2udq(struct emu *e, const struct insn *in) { return cvt_udq(e, in, true, true); }
