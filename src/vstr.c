/*
 * vstr.c - the SSE4.2 string compares PCMPESTRI, PCMPESTRM, PCMPISTRI and
 * PCMPISTRM (legacy and VEX.128) with a memory operand, in portable C
 * (SDM Vol. 2 4.1 "Imm8 control byte operation for PCMPESTRI/PCMPESTRM/
 * PCMPISTRI/PCMPISTRM"). Source 1 is the register (ModRM.reg), source 2
 * the memory operand. Results: the index in ECX or the mask in XMM0, and
 * CF ZF SF OF (AF and PF cleared).
 */
#include <string.h>

#include "emu.h"

/* Element e of a string of 16 bytes or 8 words, signed or unsigned. */
static int32_t str_el(const uint8_t *s, unsigned i, bool words, bool sgn)
{
    if (words) {
        uint16_t w = (uint16_t)(s[2 * i] | s[2 * i + 1] << 8);
        return sgn ? (int32_t)(int16_t)w : (int32_t)w;
    }
    return sgn ? (int32_t)(int8_t)s[i] : (int32_t)s[i];
}

/* An explicit length: the absolute value of EAX/EDX (RAX/RDX with REX.W or
 * VEX.W in 64-bit mode), saturated to the element count. */
static unsigned str_explicit_len(uint64_t v, bool wide, unsigned n)
{
    uint64_t m;
    if (wide)
        m = (v >> 63) ? 0 - v : v; /* the most negative value stays huge */
    else {
        uint32_t x = (uint32_t)v;
        m = (x >> 31) ? (uint64_t)(0u - x) : x;
        if (x == 0x80000000u)
            m = 0x80000000u;
    }
    return m > n ? n : (unsigned)m;
}

/* An implicit length: the index of the first zero element, else n. */
static unsigned str_implicit_len(const uint8_t *s, bool words, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (str_el(s, i, words, false) == 0)
            return i;
    return n;
}

/* IntRes2 of the comparison the imm8 describes (one bit per element of
 * source 2, or per position for the ordered compare). */
static unsigned str_compare(const uint8_t *a, unsigned la, const uint8_t *b, unsigned lb,
                            uint8_t imm)
{
    bool words = imm & 1, sgn = (imm >> 1) & 1;
    unsigned n = words ? 8 : 16, res = 0;
    for (unsigned j = 0; j < n; j++) {
        bool bit = false;
        switch ((imm >> 2) & 3) {
        case 0: /* equal any: b[j] is one of a's valid elements */
            for (unsigned i = 0; i < la && j < lb && !bit; i++)
                bit = str_el(a, i, words, sgn) == str_el(b, j, words, sgn);
            break;
        case 1: /* ranges: a[i] <= b[j] <= a[i+1] for an even i, both valid */
            for (unsigned i = 0; i + 1 < la && j < lb && !bit; i += 2) {
                int32_t v = str_el(b, j, words, sgn);
                bit = str_el(a, i, words, sgn) <= v && v <= str_el(a, i + 1, words, sgn);
            }
            break;
        case 2: /* equal each: both valid and equal, or both invalid */
            bit = (j < la && j < lb) ? str_el(a, j, words, sgn) == str_el(b, j, words, sgn)
                                     : (j >= la && j >= lb);
            break;
        default: /* equal ordered: a matches b from position j on (an
                    invalid a element matches, an invalid b one does not) */
            bit = true;
            for (unsigned k = 0; k + j < n && k < la && bit; k++)
                bit = j + k < lb && str_el(a, k, words, sgn) == str_el(b, j + k, words, sgn);
            break;
        }
        res |= (unsigned)bit << j;
    }
    unsigned all = (1u << n) - 1;
    switch ((imm >> 4) & 3) {
    case 1: /* negative polarity */
        res = ~res & all;
        break;
    case 3: /* masked negative: only the valid elements of b are inverted */
        res ^= (1u << lb) - 1;
        break;
    default:
        break;
    }
    return res;
}

/* explicit: lengths from rAX/rDX (PCMPESTRx); mask: result in XMM0. */
static enum rc str_run_cmp(struct emu *e, const struct insn *in, bool explicit_len, bool mask)
{
    uint8_t a[EMU_MAX_ACCESS], b[EMU_MAX_ACCESS];
    /* The VEX mask forms zero XMM0 above bit 127: that state is read first,
     * so that without it the instruction is refused before any access. */
    if (mask && in->vex)
        TRY(vcpu_xfetch(e, e->vlmax == 64 ? XC_YMM_HI | XC_ZMM_HI : XC_YMM_HI));
    TRY(op_read_vec(e, in, 1, b)); /* the memory operand: its faults first */
    TRY(op_read_vec(e, in, 0, a));
    uint8_t imm = in->imm8;
    bool words = imm & 1;
    unsigned n = words ? 8 : 16, la, lb;
    if (explicit_len) {
        bool wide = e->mode == MODE_LONG64 && (in->vex ? in->vw : (in->rex & 8) != 0);
        la = str_explicit_len(vcpu_gpr(e, GPR_RAX), wide, n);
        lb = str_explicit_len(vcpu_gpr(e, GPR_RDX), wide, n);
    } else {
        la = str_implicit_len(a, words, n);
        lb = str_implicit_len(b, words, n);
    }
    unsigned res = str_compare(a, la, b, lb, imm);
    if (mask) {
        uint8_t m[16];
        memset(m, 0, sizeof m);
        if (imm & 0x40) {
            unsigned el = words ? 2 : 1;
            for (unsigned i = 0; i < n; i++)
                memset(m + el * i, (res >> i) & 1 ? 0xFF : 0, el);
        } else {
            m[0] = (uint8_t)res;
            m[1] = (uint8_t)(res >> 8);
        }
        vcpu_vec_write(e, 0, m, 16, in->vex ? e->vlmax : 16);
    } else {
        unsigned idx = n;
        if (res)
            for (unsigned i = 0; i < n; i++)
                if ((res >> i) & 1) {
                    idx = i;
                    if (!(imm & 0x40))
                        break;
                }
        vcpu_write_reg(e, GPR_RCX, 4, false, idx);
    }
    flags_set(e, in, (res ? FL_CF : 0u) | (lb < n ? FL_ZF : 0u) | (la < n ? FL_SF : 0u) |
                         ((res & 1) ? FL_OF : 0u));
    return RC_OK;
}

enum rc vstr_pcmpestrm(struct emu *e, const struct insn *in) { return str_run_cmp(e, in, true, true); }
enum rc vstr_pcmpestri(struct emu *e, const struct insn *in) { return str_run_cmp(e, in, true, false); }
enum rc vstr_pcmpistrm(struct emu *e, const struct insn *in) { return str_run_cmp(e, in, false, true); }
enum rc vstr_pcmpistri(struct emu *e, const struct insn *in) { return str_run_cmp(e, in, false, false); }
