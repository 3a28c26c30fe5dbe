/*
 * vfp.c - SSE/AVX floating-point arithmetic and compares with a memory
 * source (ADD SUB MUL DIV MIN MAX SQRT RCP RSQRT, HADD HSUB ADDSUB, CMP,
 * COMIS/UCOMIS, ROUND, FMA3), run on the host CPU through the templates of
 * hostfp.h, and vfp_run(), the driver every floating-point row goes
 * through: memory operand first, then the template under the guest's MXCSR
 * with every exception masked; an exception the guest leaves unmasked is
 * refused with nothing changed; registers and the MXCSR flags last.
 */
#include <string.h>

#include "emu.h"
#include "mem.h"

#ifdef HOSTFP_HAVE_ASM
#define HF(f) f
#else
#define HF(f) NULL
#endif

enum rc vfp_check(struct emu *e, uint32_t need)
{
    need |= HFP_ASM;
    if ((e->fp->feat & need) != need)
        return emu_unsupported(e, "the host CPU cannot run this floating-point operation");
    uint32_t mx = e->regs.v[VR_MXCSR].XmmControlStatus.XmmStatusControl;
    if (mx & ~e->fp->mxcsr_mask)
        return emu_unsupported(e, "MXCSR bits the host does not accept");
    return RC_OK;
}

enum rc vfp_exec(struct emu *e, hfp_fn fn, struct hfp_io *s, uint8_t flags, uint32_t *raised)
{
    uint32_t mx = e->regs.v[VR_MXCSR].XmmControlStatus.XmmStatusControl;
    /* After the operand read, whose faults come first. Unmasked, underflow
     * is signalled for a tiny result even when it is exact, which a masked
     * run does not flag (SDM Vol. 1 11.5.2.4). */
    if ((flags & FPO_UF) && !(mx & MXCSR_UM))
        return emu_unsupported(e, "unmasked SIMD floating-point exception (underflow)");
    s->mx = (mx & ~MXCSR_FLAGS) | MXCSR_MASKS;
    fn(s);
    *raised |= s->mx & MXCSR_FLAGS;
    if (*raised & ~(mx >> 7))
        return emu_unsupported(e, "unmasked SIMD floating-point exception");
    return RC_OK;
}

void vfp_set_flags(struct emu *e, uint32_t raised)
{
    uint32_t mx = e->regs.v[VR_MXCSR].XmmControlStatus.XmmStatusControl;
    if ((mx | raised) != mx) {
        WHV_REGISTER_VALUE v = e->regs.v[VR_MXCSR];
        v.XmmControlStatus.XmmStatusControl = mx | raised;
        vcpu_set(e, VR_MXCSR, &v);
    }
}

enum rc vfp_run(struct emu *e, const struct insn *in, const struct fp_op *op)
{
    hfp_fn fn = !in->vex ? op->leg : (in->vl && op->v256) ? op->v256 : op->v128;
    if (!fn)
        return emu_unsupported(e, "the host CPU cannot run this floating-point operation");
    TRY(vfp_check(e, in->vex ? op->vex_feat : op->leg_feat));
    struct hfp_io s;
    memset(&s, 0, sizeof s);
    unsigned last = in->nops - 1u;
    uint8_t buf[EMU_MAX_ACCESS];
    TRY(op_read_vec(e, in, last, buf)); /* the memory operand: its faults come first */
    if (op->flags & FPO_FMA) {
        memcpy(s.c, buf, 32);
        TRY(op_read_vec(e, in, 1, buf));
        memcpy(s.b, buf, 32);
        TRY(op_read_vec(e, in, 0, buf));
        memcpy(s.a, buf, 32);
    } else {
        if (op->flags & FPO_GSRC)
            s.g = le_load(buf, in->op[last].size);
        memcpy(s.b, buf, 32);
        unsigned ia = in->nops == 3 ? 1u : 0u;
        if (in->nops == 3 ||
            (in->op[0].type == OPND_VREG && !(in->row->traits & T_MOV))) {
            TRY(op_read_vec(e, in, ia, buf));
            memcpy(s.a, buf, 32);
        }
    }
    uint32_t raised = 0;
    TRY(vfp_exec(e, fn, &s, op->flags, &raised));
    if (op->flags & FPO_FLAGS)
        flags_set(e, in, (s.zf ? FL_ZF : 0u) | (s.pf ? FL_PF : 0u) | (s.cf ? FL_CF : 0u));
    else if (op->flags & FPO_GDST)
        TRY(op_write(e, in, 0, s.g));
    else
        TRY(op_write_vec(e, in, 0, s.r));
    vfp_set_flags(e, raised);
    return RC_OK;
}

/* Template shapes. Legacy: xmm0 op= xmm1. VEX: binary ymm0 = ymm0 op ymm1
 * (ymm0 holds vvvv), unary ymm0 = op ymm1, FMA ymm0 = f(ymm0, ymm1, ymm2). */
#define LB(m) HFP_LEG(l_##m, #m " %%xmm1, %%xmm0")
#define XB(m) HFP_VEX(x_##m, "v" #m " %%xmm1, %%xmm0, %%xmm0")
#define YB(m) HFP_VEX(y_##m, "v" #m " %%ymm1, %%ymm0, %%ymm0")
#define XU(m) HFP_VEX(x_##m, "v" #m " %%xmm1, %%xmm0")
#define YU(m) HFP_VEX(y_##m, "v" #m " %%ymm1, %%ymm0")
#define HANDLER(m, ops)                                                                            \
    enum rc vfp_##m(struct emu *e, const struct insn *in)                                          \
    {                                                                                              \
        return vfp_run(e, in, &ops);                                                               \
    }
/* Packed binary, packed unary, scalar (legacy two operands, VEX three). */
#define PACKED(m, feat, fl)                                                                        \
    LB(m) XB(m) YB(m)                                                                              \
    static const struct fp_op op_##m = {HF(l_##m), HF(x_##m), HF(y_##m), feat, HFP_AVX, fl};      \
    HANDLER(m, op_##m)
#define UNARY(m, feat, fl)                                                                         \
    LB(m) XU(m) YU(m)                                                                              \
    static const struct fp_op op_##m = {HF(l_##m), HF(x_##m), HF(y_##m), feat, HFP_AVX, fl};      \
    HANDLER(m, op_##m)
#define SCALAR(m, feat, fl)                                                                        \
    LB(m) XB(m)                                                                                    \
    static const struct fp_op op_##m = {HF(l_##m), HF(x_##m), NULL, feat, HFP_AVX, fl};           \
    HANDLER(m, op_##m)

PACKED(addps, 0, FPO_UF)
PACKED(addpd, 0, FPO_UF)
PACKED(subps, 0, FPO_UF)
PACKED(subpd, 0, FPO_UF)
PACKED(mulps, 0, FPO_UF)
PACKED(mulpd, 0, FPO_UF)
PACKED(divps, 0, FPO_UF)
PACKED(divpd, 0, FPO_UF)
PACKED(minps, 0, 0)
PACKED(minpd, 0, 0)
PACKED(maxps, 0, 0)
PACKED(maxpd, 0, 0)
PACKED(haddps, HFP_SSE3, FPO_UF)
PACKED(haddpd, HFP_SSE3, FPO_UF)
PACKED(hsubps, HFP_SSE3, FPO_UF)
PACKED(hsubpd, HFP_SSE3, FPO_UF)
PACKED(addsubps, HFP_SSE3, FPO_UF)
PACKED(addsubpd, HFP_SSE3, FPO_UF)
UNARY(sqrtps, 0, 0)
UNARY(sqrtpd, 0, 0)
UNARY(rcpps, 0, 0)
UNARY(rsqrtps, 0, 0)
SCALAR(addss, 0, FPO_UF)
SCALAR(addsd, 0, FPO_UF)
SCALAR(subss, 0, FPO_UF)
SCALAR(subsd, 0, FPO_UF)
SCALAR(mulss, 0, FPO_UF)
SCALAR(mulsd, 0, FPO_UF)
SCALAR(divss, 0, FPO_UF)
SCALAR(divsd, 0, FPO_UF)
SCALAR(minss, 0, 0)
SCALAR(minsd, 0, 0)
SCALAR(maxss, 0, 0)
SCALAR(maxsd, 0, 0)
SCALAR(sqrtss, 0, 0)
SCALAR(sqrtsd, 0, 0)
SCALAR(rcpss, 0, 0)
SCALAR(rsqrtss, 0, 0)

/* COMISS/COMISD/UCOMISS/UCOMISD: ZF, PF, CF from the host's EFLAGS; OF, SF
 * and AF cleared (the row's flag mask). */
#define CMPFL(m)                                                                                   \
    HFP_LEG(l_##m, #m " %%xmm1, %%xmm0\n\tsetz %[zf]\n\tsetp %[pf]\n\tsetc %[cf]")                 \
    HFP_VEX(x_##m, "v" #m " %%xmm1, %%xmm0\n\tsetz %[zf]\n\tsetp %[pf]\n\tsetc %[cf]")             \
    static const struct fp_op op_##m = {HF(l_##m), HF(x_##m), NULL, 0, HFP_AVX, FPO_FLAGS};        \
    HANDLER(m, op_##m)
CMPFL(comiss)
CMPFL(comisd)
CMPFL(ucomiss)
CMPFL(ucomisd)

/* FMA3: ymm0 = f(ymm0, ymm1, ymm2) in the 132/213/231 operand orders. */
#define FMAP(m)                                                                                    \
    HFP_VEX(x_##m, #m " %%xmm2, %%xmm1, %%xmm0")                                                   \
    HFP_VEX(y_##m, #m " %%ymm2, %%ymm1, %%ymm0")                                                   \
    static const struct fp_op op_##m = {NULL, HF(x_##m), HF(y_##m), 0, HFP_AVX | HFP_FMA,          \
                                        FPO_FMA | FPO_UF};                                         \
    HANDLER(m, op_##m)
#define FMAS(m)                                                                                    \
    HFP_VEX(x_##m, #m " %%xmm2, %%xmm1, %%xmm0")                                                   \
    static const struct fp_op op_##m = {NULL, HF(x_##m), NULL, 0, HFP_AVX | HFP_FMA,               \
                                        FPO_FMA | FPO_UF};                                         \
    HANDLER(m, op_##m)
#define FMA3(o) FMAP(o##ps) FMAP(o##pd)
#define FMA4(o) FMAP(o##ps) FMAP(o##pd) FMAS(o##ss) FMAS(o##sd)
FMA3(vfmaddsub132)
FMA3(vfmaddsub213)
FMA3(vfmaddsub231)
FMA3(vfmsubadd132)
FMA3(vfmsubadd213)
FMA3(vfmsubadd231)
FMA4(vfmadd132)
FMA4(vfmadd213)
FMA4(vfmadd231)
FMA4(vfmsub132)
FMA4(vfmsub213)
FMA4(vfmsub231)
FMA4(vfnmadd132)
FMA4(vfnmadd213)
FMA4(vfnmadd231)
FMA4(vfnmsub132)
FMA4(vfnmsub213)
FMA4(vfnmsub231)

/* imm8 forms: one template per value the instruction distinguishes. CMPPS
 * and its kin: predicates 0-7 (legacy, imm8 bits 7:3 ignored), 0-31 (VEX,
 * bits 7:5 ignored). ROUND: imm8 bits 3:0 (bits 7:4 ignored). */
#define D_LI(m, i) HFP_LEG(l_##m##_##i, #m " $" #i ", %%xmm1, %%xmm0")
#define D_XB(m, i) HFP_VEX(x_##m##_##i, "v" #m " $" #i ", %%xmm1, %%xmm0, %%xmm0")
#define D_YB(m, i) HFP_VEX(y_##m##_##i, "v" #m " $" #i ", %%ymm1, %%ymm0, %%ymm0")
#define D_XU(m, i) HFP_VEX(x_##m##_##i, "v" #m " $" #i ", %%xmm1, %%xmm0")
#define D_YU(m, i) HFP_VEX(y_##m##_##i, "v" #m " $" #i ", %%ymm1, %%ymm0")
#define E_L(m, i) {HF(l_##m##_##i), NULL, NULL, 0, 0, 0},
#define E_L41(m, i) {HF(l_##m##_##i), NULL, NULL, HFP_SSE41, 0, 0},
#define E_X(m, i) {NULL, HF(x_##m##_##i), NULL, 0, HFP_AVX, 0},
#define E_XY(m, i) {NULL, HF(x_##m##_##i), HF(y_##m##_##i), 0, HFP_AVX, 0},

#define IMM_HANDLER(m, lmask, vmask)                                                               \
    enum rc vfp_##m(struct emu *e, const struct insn *in)                                          \
    {                                                                                              \
        return vfp_run(e, in, in->vex ? &vex_##m[in->imm8 & (vmask)] : &leg_##m[in->imm8 & (lmask)]); \
    }
#define CMPP(m)                                                                                    \
    HFP_R8(D_LI, m) HFP_R32(D_XB, m) HFP_R32(D_YB, m)                                              \
    static const struct fp_op leg_##m[8] = {HFP_R8(E_L, m)};                                       \
    static const struct fp_op vex_##m[32] = {HFP_R32(E_XY, m)};                                    \
    IMM_HANDLER(m, 7, 31)
#define CMPS(m)                                                                                    \
    HFP_R8(D_LI, m) HFP_R32(D_XB, m)                                                               \
    static const struct fp_op leg_##m[8] = {HFP_R8(E_L, m)};                                       \
    static const struct fp_op vex_##m[32] = {HFP_R32(E_X, m)};                                     \
    IMM_HANDLER(m, 7, 31)
#define ROUNDP(m)                                                                                  \
    HFP_R16(D_LI, m) HFP_R16(D_XU, m) HFP_R16(D_YU, m)                                             \
    static const struct fp_op leg_##m[16] = {HFP_R16(E_L41, m)};                                   \
    static const struct fp_op vex_##m[16] = {HFP_R16(E_XY, m)};                                    \
    IMM_HANDLER(m, 15, 15)
#define ROUNDS(m)                                                                                  \
    HFP_R16(D_LI, m) HFP_R16(D_XB, m)                                                              \
    static const struct fp_op leg_##m[16] = {HFP_R16(E_L41, m)};                                   \
    static const struct fp_op vex_##m[16] = {HFP_R16(E_X, m)};                                     \
    IMM_HANDLER(m, 15, 15)
CMPP(cmpps)
CMPP(cmppd)
CMPS(cmpss)
CMPS(cmpsd)
ROUNDP(roundps)
ROUNDP(roundpd)
ROUNDS(roundss)
ROUNDS(roundsd)

/* DPPS/DPPD: per 128-bit lane, the products of the elements imm8 bits 7:4
 * (DPPD: 5:4) select, each rounded, then summed in the SDM's fixed order
 * (DP_primitive: (p0 + p1) + (p2 + p3)), each sum rounded, and the sum
 * written to the elements imm8 bits 3:0 (1:0) select, +0.0 to the others.
 * Composed of the MULPS/MULPD and ADDSS/ADDSD templates: the elements not
 * selected enter the multiplication as +0.0, so they raise no flag (as the
 * CPU does), and the flags of every step are ORed. */
static enum rc dp_lane(struct emu *e, const uint8_t *a, const uint8_t *b, uint8_t imm, bool pd,
                       uint8_t *r, uint32_t *raised)
{
    unsigned el = pd ? 8 : 4, n = 16 / el;
    struct hfp_io s;
    memset(&s, 0, sizeof s);
    for (unsigned i = 0; i < n; i++)
        if ((imm >> (4 + i)) & 1) {
            memcpy(s.a + el * i, a + el * i, el);
            memcpy(s.b + el * i, b + el * i, el);
        }
    TRY(vfp_exec(e, pd ? HF(l_mulpd) : HF(l_mulps), &s, FPO_UF, raised));
    uint8_t p[16];
    memcpy(p, s.r, 16);
    hfp_fn add = pd ? HF(l_addsd) : HF(l_addss);
    uint8_t t[2][16];
    for (unsigned k = 0; k < n / 2; k++) {
        memset(&s, 0, sizeof s);
        memcpy(s.a, p + 2 * k * el, el);
        memcpy(s.b, p + (2 * k + 1) * el, el);
        TRY(vfp_exec(e, add, &s, FPO_UF, raised));
        memcpy(t[k], s.r, el);
    }
    if (!pd) {
        memset(&s, 0, sizeof s);
        memcpy(s.a, t[0], el);
        memcpy(s.b, t[1], el);
        TRY(vfp_exec(e, add, &s, FPO_UF, raised));
        memcpy(t[0], s.r, el);
    }
    memset(r, 0, 16);
    for (unsigned i = 0; i < n; i++)
        if ((imm >> i) & 1)
            memcpy(r + el * i, t[0], el);
    return RC_OK;
}

static enum rc dp(struct emu *e, const struct insn *in, bool pd)
{
    uint8_t a[EMU_MAX_ACCESS], b[EMU_MAX_ACCESS], r[EMU_MAX_ACCESS];
    TRY(vfp_check(e, in->vex ? HFP_AVX : HFP_SSE41));
    unsigned ia = in->nops == 3 ? 1u : 0u;
    TRY(op_read_vec(e, in, ia + 1, b)); /* the memory operand: its faults come first */
    TRY(op_read_vec(e, in, ia, a));
    uint32_t raised = 0;
    for (unsigned lane = 0; lane < in->op[0].size; lane += 16)
        TRY(dp_lane(e, a + lane, b + lane, in->imm8, pd, r + lane, &raised));
    TRY(op_write_vec(e, in, 0, r));
    vfp_set_flags(e, raised);
    return RC_OK;
}

enum rc vfp_dpps(struct emu *e, const struct insn *in) { return dp(e, in, false); }
enum rc vfp_dppd(struct emu *e, const struct insn *in) { return dp(e, in, true); }


/* EVEX packed forms (AVX-512F): the 512-bit operation runs as two 256-bit
 * halves (a 128/256-bit one as one template) of the VEX form, which computes
 * each element the same way. A disabled element's inputs are 1.0 in every
 * source, which raises no flag, so only enabled elements can raise
 * exceptions (SDM Vol. 2 2.7.1); the opmask then merges or zeroes the
 * result (op_write_vec). A compare into an opmask keeps one bit per enabled
 * element. The memory operand is read first, masked or broadcast. */
enum evex_shape { EV_BIN, EV_UNARY, EV_FMA, EV_KCMP };

static enum rc vfp_evex(struct emu *e, const struct insn *in, const struct fp_op *op,
                        unsigned es, enum evex_shape shape)
{
    uint32_t need = HFP_ASM | op->vex_feat;
    if (!op->v128 || !op->v256 || (e->fp->feat & need) != need)
        return emu_unsupported(e, "the host CPU cannot run this floating-point operation");
    uint32_t mx = e->regs.v[VR_MXCSR].XmmControlStatus.XmmStatusControl;
    if (mx & ~e->fp->mxcsr_mask)
        return emu_unsupported(e, "MXCSR bits the host does not accept");
    uint8_t a[EMU_MAX_ACCESS], b[EMU_MAX_ACCESS], c[EMU_MAX_ACCESS], r[EMU_MAX_ACCESS];
    unsigned last = in->nops - 1u, vlen = 16u << in->vl;
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    TRY(op_read_vec(e, in, last, c)); /* the memory operand: its faults come first */
    if (shape == EV_FMA) {
        TRY(op_read_vec(e, in, 1, b));
        TRY(op_read_vec(e, in, 0, a));
    } else if (shape == EV_BIN || shape == EV_KCMP) {
        TRY(op_read_vec(e, in, 1, a));
    }
    if ((op->flags & FPO_UF) && !(mx & MXCSR_UM))
        return emu_unsupported(e, "unmasked SIMD floating-point exception (underflow)");
    uint64_t one = es == 4 ? 0x3F800000u : 0x3FF0000000000000ull;
    for (unsigned i = 0; i < vlen / es; i++) {
        if (op_mask_on(e, in, i))
            continue;
        le_store(a + i * es, one, es);
        le_store(b + i * es, one, es);
        le_store(c + i * es, one, es);
    }
    /* The templates' operands: a (destination or first source), b (vvvv or
     * the second source), c (FMA's r/m); a binary or unary form's r/m is b. */
    uint32_t raised = 0;
    for (unsigned h = 0; h < vlen; h += 32) {
        struct hfp_io s;
        memset(&s, 0, sizeof s);
        unsigned part = vlen - h < 32 ? vlen - h : 32;
        memcpy(s.a, a + h, part);
        if (shape == EV_FMA) {
            memcpy(s.b, b + h, part);
            memcpy(s.c, c + h, part);
        } else {
            memcpy(s.b, c + h, part);
        }
        s.mx = (mx & ~MXCSR_FLAGS) | MXCSR_MASKS;
        (part == 16 ? op->v128 : op->v256)(&s);
        raised |= s.mx & MXCSR_FLAGS;
        memcpy(r + h, s.r, part);
    }
    if (raised & ~(mx >> 7))
        return emu_unsupported(e, "unmasked SIMD floating-point exception");
    if (shape == EV_KCMP) {
        uint64_t bits = 0;
        for (unsigned i = 0; i < vlen / es; i++)
            if (le_load(r + i * es, es) && op_mask_on(e, in, i))
                bits |= (uint64_t)1 << i;
        le_store(r, bits, 8);
    }
    TRY(op_write_vec(e, in, 0, r));
    if ((mx | raised) != mx) {
        WHV_REGISTER_VALUE v = e->regs.v[VR_MXCSR];
        v.XmmControlStatus.XmmStatusControl = mx | raised;
        vcpu_set(e, VR_MXCSR, &v);
    }
    return RC_OK;
}

#define EVEX_HANDLER(m, es, shape)                                                                 \
    enum rc vfp_e_##m(struct emu *e, const struct insn *in)                                        \
    {                                                                                              \
        return vfp_evex(e, in, &op_##m, es, shape);                                                \
    }
EVEX_HANDLER(addps, 4, EV_BIN)
EVEX_HANDLER(addpd, 8, EV_BIN)
EVEX_HANDLER(subps, 4, EV_BIN)
EVEX_HANDLER(subpd, 8, EV_BIN)
EVEX_HANDLER(mulps, 4, EV_BIN)
EVEX_HANDLER(mulpd, 8, EV_BIN)
EVEX_HANDLER(divps, 4, EV_BIN)
EVEX_HANDLER(divpd, 8, EV_BIN)
EVEX_HANDLER(minps, 4, EV_BIN)
EVEX_HANDLER(minpd, 8, EV_BIN)
EVEX_HANDLER(maxps, 4, EV_BIN)
EVEX_HANDLER(maxpd, 8, EV_BIN)
EVEX_HANDLER(sqrtps, 4, EV_UNARY)
EVEX_HANDLER(sqrtpd, 8, EV_UNARY)
#define EVEX_FMA(o)                                                                                \
    EVEX_HANDLER(o##ps, 4, EV_FMA)                                                                 \
    EVEX_HANDLER(o##pd, 8, EV_FMA)
EVEX_FMA(vfmaddsub132)
EVEX_FMA(vfmaddsub213)
EVEX_FMA(vfmaddsub231)
EVEX_FMA(vfmsubadd132)
EVEX_FMA(vfmsubadd213)
EVEX_FMA(vfmsubadd231)
EVEX_FMA(vfmadd132)
EVEX_FMA(vfmadd213)
EVEX_FMA(vfmadd231)
EVEX_FMA(vfmsub132)
EVEX_FMA(vfmsub213)
EVEX_FMA(vfmsub231)
EVEX_FMA(vfnmadd132)
EVEX_FMA(vfnmadd213)
EVEX_FMA(vfnmadd231)
EVEX_FMA(vfnmsub132)
EVEX_FMA(vfnmsub213)
EVEX_FMA(vfnmsub231)

/* VCMPPS/VCMPPD into an opmask: predicate imm8[4:0]. */
enum rc vfp_e_cmpps(struct emu *e, const struct insn *in)
{
    return vfp_evex(e, in, &vex_cmpps[in->imm8 & 31], 4, EV_KCMP);
}

enum rc vfp_e_cmppd(struct emu *e, const struct insn *in)
{
    return vfp_evex(e, in, &vex_cmppd[in->imm8 & 31], 8, EV_KCMP);
}

/* EVEX scalar forms (VADDSS ... VSQRTSD, the scalar FMA3 forms): element 0
 * is computed by the VEX template when opmask bit 0 enables it, and only
 * then is the memory element read (a disabled one neither faults nor raises
 * a flag); otherwise element 0 keeps the destination's value or is zeroed.
 * Bits 127:es come from the first source (the destination for FMA, as the
 * template has it), bits above 127 are zeroed. es is the destination's
 * element (the row's), which a conversion's memory element may not be. */
enum rc vfp_evex_scalar(struct emu *e, const struct insn *in, const struct fp_op *op, bool fma)
{
    TRY(vfp_check(e, op->vex_feat));
    unsigned ms = in->op[2].size, es = 1u << ((in->row->traits >> T_ESZ_SHIFT) & 3);
    bool on = op_mask_on(e, in, 0);
    struct hfp_io s;
    memset(&s, 0, sizeof s);
    uint8_t dst[16], src1[16];
    if (on) {
        uint8_t seg;
        uint64_t off;
        TRY(op_addr(e, in, 2, &seg, &off));
        TRY(mem_read(e, seg, off, ms, in->mem_access, fma ? s.c : s.b));
    }
    vcpu_vec_read(e, in->op[1].reg, 16, src1);
    vcpu_vec_read(e, in->op[0].reg, 16, dst);
    uint8_t r[16];
    memcpy(r, fma ? dst : src1, 16);
    if (on) {
        memcpy(s.a, fma ? dst : src1, 16);
        if (fma)
            memcpy(s.b, src1, 16);
        uint32_t raised = 0;
        TRY(vfp_exec(e, op->v128, &s, op->flags, &raised));
        memcpy(r, s.r, 16);
        op_write_vec_whole(e, in, 0, r);
        vfp_set_flags(e, raised);
        return RC_OK;
    }
    if (in->zeroing)
        memset(r, 0, es);
    else
        memcpy(r, dst, es);
    op_write_vec_whole(e, in, 0, r);
    return RC_OK;
}

#define EVEX_SCALAR(m, fma)                                                                        \
    enum rc vfp_e_##m(struct emu *e, const struct insn *in)                                        \
    {                                                                                              \
        return vfp_evex_scalar(e, in, &op_##m, fma);                                               \
    }
#define EVEX_SCALAR2(m) EVEX_SCALAR(m##ss, false) EVEX_SCALAR(m##sd, false)
EVEX_SCALAR2(add)
EVEX_SCALAR2(sub)
EVEX_SCALAR2(mul)
EVEX_SCALAR2(div)
EVEX_SCALAR2(min)
EVEX_SCALAR2(max)
EVEX_SCALAR2(sqrt)
#define EVEX_FMAS(o) EVEX_SCALAR(o##ss, true) EVEX_SCALAR(o##sd, true)
EVEX_FMAS(vfmadd132)
EVEX_FMAS(vfmadd213)
EVEX_FMAS(vfmadd231)
EVEX_FMAS(vfmsub132)
EVEX_FMAS(vfmsub213)
EVEX_FMAS(vfmsub231)
EVEX_FMAS(vfnmadd132)
EVEX_FMAS(vfnmadd213)
EVEX_FMAS(vfnmadd231)
EVEX_FMAS(vfnmsub132)
EVEX_FMAS(vfnmsub213)
EVEX_FMAS(vfnmsub231)
#undef EVEX_SCALAR
#undef EVEX_SCALAR2
#undef EVEX_FMAS
