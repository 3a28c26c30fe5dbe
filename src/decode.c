/*
 * decode.c - the x86 decoder: bytes -> struct insn, in any CPU mode.
 *
 * Stages follow the encoding grammar (SDM Vol. 2 ch. 2): legacy prefixes,
 * REX, VEX/EVEX, opcode, ModRM, SIB, displacement, immediate. Every byte is
 * read through dec_next(), which enforces the bytes available and the
 * 15-byte limit. Calls no callback and touches no guest state.
 */
#include <string.h>

#include "emu.h"


static const struct op_row rows[] = {
#define ROW(key, mnem, k0, k1, k2, tr, out, undef, needs, fn)                                      \
    {key, mnem, {k0, k1, k2}, tr, out, undef, needs, fn, #fn},
#include "opcodes.def"
#undef ROW
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

const struct op_row *dec_rows(unsigned *count)
{
    *count = (unsigned)NROWS;
    return rows;
}

struct dec {
    const uint8_t *b;
    unsigned lim;     /* bytes that may be read: min(n, EMU_MAX_INSN_LEN) */
    unsigned pos;
    const struct dec_mode *m;
    struct insn *in;
    uint8_t pfx_last; /* last of F2/F3, as PFX_F2/PFX_F3, else PFX_NONE */
    bool addr67;
};

/* Why a read at d->pos cannot be done: the 15-byte limit, or the end of the
 * bytes given. */
static enum dec_status dec_end(const struct dec *d)
{
    return d->pos >= EMU_MAX_INSN_LEN ? DEC_TOO_LONG : DEC_NEED_MORE;
}

/* The one guarded byte reader: every byte goes through it or dec_le. */
static inline enum dec_status dec_next(struct dec *d, uint8_t *out)
{
    if (d->pos >= d->lim)
        return dec_end(d);
    *out = d->b[d->pos++];
    return DEC_OK;
}

static inline enum dec_status dec_peek(struct dec *d, uint8_t *out)
{
    if (d->pos >= d->lim)
        return dec_end(d);
    *out = d->b[d->pos];
    return DEC_OK;
}

/* Little-endian immediate or displacement of 1, 2, 4 or 8 bytes. */
static inline enum dec_status dec_le(struct dec *d, unsigned size, uint64_t *out)
{
    if (d->pos + size > d->lim) /* the first byte missing is at d->lim */
        return d->lim >= EMU_MAX_INSN_LEN ? DEC_TOO_LONG : DEC_NEED_MORE;
    const uint8_t *p = d->b + d->pos;
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint64_t)p[i] << (8 * i);
    d->pos += size;
    *out = v;
    return DEC_OK;
}

/* A displacement or immediate of 1, 2 or 4 bytes, sign-extended. */
static inline uint64_t dec_sx(uint64_t v, unsigned size)
{
    return size == 1 ? (uint64_t)(int64_t)(int8_t)v
           : size == 2 ? (uint64_t)(int64_t)(int16_t)v
           : size == 4 ? (uint64_t)(int64_t)(int32_t)v : v;
}

#define DTRY(x)                                                                                    \
    do {                                                                                           \
        enum dec_status dtry_ = (x);                                                               \
        if (dtry_ != DEC_OK)                                                                       \
            return dtry_;                                                                          \
    } while (0)

/* What a byte is before the opcode (SDM Vol. 2 2.1.1, 2.2.1). */
enum { PB_NONE, PB_LOCK, PB_F2, PB_F3, PB_66, PB_67, PB_SEG, PB_FS, PB_GS, PB_REX };
static const uint8_t prefix_byte[256] = {
    [0xF0] = PB_LOCK, [0xF2] = PB_F2, [0xF3] = PB_F3, [0x66] = PB_66, [0x67] = PB_67,
    [0x26] = PB_SEG,  [0x2E] = PB_SEG, [0x36] = PB_SEG, [0x3E] = PB_SEG,
    [0x64] = PB_FS,   [0x65] = PB_GS,
    [0x40] = PB_REX, [0x41] = PB_REX, [0x42] = PB_REX, [0x43] = PB_REX, [0x44] = PB_REX,
    [0x45] = PB_REX, [0x46] = PB_REX, [0x47] = PB_REX, [0x48] = PB_REX, [0x49] = PB_REX,
    [0x4A] = PB_REX, [0x4B] = PB_REX, [0x4C] = PB_REX, [0x4D] = PB_REX, [0x4E] = PB_REX,
    [0x4F] = PB_REX,
};

/* Legacy prefixes and REX, in any order and repeated; a REX counts only
 * directly before the opcode (a legacy prefix after it cancels it), and
 * 40-4F are REX only in 64-bit mode. */
static enum dec_status dec_prefixes(struct dec *d)
{
    struct insn *in = d->in;
    for (;;) {
        uint8_t b;
        DTRY(dec_peek(d, &b));
        unsigned k = prefix_byte[b];
        switch (k) {
        case PB_NONE:
            return DEC_OK;
        case PB_LOCK:
            in->lock = true;
            break;
        case PB_F2:
            d->pfx_last = PFX_F2;
            break;
        case PB_F3:
            d->pfx_last = PFX_F3;
            break;
        case PB_66:
            in->opsize66 = true;
            break;
        case PB_67:
            d->addr67 = true;
            break;
        case PB_SEG:
            /* 64-bit mode ignores these (SDM Vol. 1 3.3.7.1): they do not
             * replace an earlier FS/GS override either. */
            if (!d->m->long64)
                in->seg_override = (uint8_t)((b >> 3) & 3); /* ES CS SS DS */
            break;
        case PB_FS:
            in->seg_override = SEG_FS;
            break;
        case PB_GS:
            in->seg_override = SEG_GS;
            break;
        default: /* PB_REX */
            if (!d->m->long64)
                return DEC_OK; /* INC/DEC */
            d->pos++;
            in->rex = b;
            continue;
        }
        in->rex = 0;
        d->pos++;
    }
}

/* VEX (C4/C5) and EVEX (62) prefixes (SDM Vol. 2 2.3, 2.7). Outside 64-bit
 * mode the bytes are LES/LDS/BOUND unless the next byte has mod == 11. */
static enum dec_status dec_vex(struct dec *d, uint8_t first, bool *is_vex)
{
    struct insn *in = d->in;
    uint8_t b1, b2, b3;
    *is_vex = false;
    if (d->pos >= d->lim)
        return dec_end(d);
    if (!d->m->long64 && (d->b[d->pos] & 0xC0) != 0xC0)
        return DEC_OK;
    *is_vex = true;
    if (in->rex || in->opsize66 || d->pfx_last || in->lock)
        return DEC_UD; /* SDM Vol. 2 2.3.2: VEX after 66/F2/F3/F0/REX is #UD */
    uint8_t R, X = 1, B = 1, mmmmm, W = 0, L, pp, vvvv;
    if (first == 0xC5) {
        DTRY(dec_next(d, &b1));
        R = b1 >> 7;
        vvvv = (~b1 >> 3) & 0xF;
        L = (b1 >> 2) & 1;
        pp = b1 & 3;
        mmmmm = 1;
        in->map = MAP_VEX_0F;
    } else if (first == 0xC4) {
        DTRY(dec_next(d, &b1));
        DTRY(dec_next(d, &b2));
        R = b1 >> 7;
        X = (b1 >> 6) & 1;
        B = (b1 >> 5) & 1;
        mmmmm = b1 & 0x1F;
        W = b2 >> 7;
        vvvv = (~b2 >> 3) & 0xF;
        L = (b2 >> 2) & 1;
        pp = b2 & 3;
        if (mmmmm == 0)
            return DEC_UD;
        if (mmmmm > 3) /* maps newer CPUs define: not ours to judge */
            return DEC_UNSUPPORTED;
        in->map = (uint8_t)(MAP_VEX_0F + mmmmm - 1);
    } else {
        DTRY(dec_next(d, &b1));
        DTRY(dec_next(d, &b2));
        DTRY(dec_next(d, &b3));
        R = b1 >> 7;
        X = (b1 >> 6) & 1;
        B = (b1 >> 5) & 1;
        mmmmm = b1 & 7;
        W = b2 >> 7;
        vvvv = (~b2 >> 3) & 0xF;
        if (!(b2 & 4))
            return DEC_UD; /* EVEX.P[10] must be 1 */
        pp = b2 & 3;
        L = (b3 >> 5) & 3;
        if (mmmmm == 0)
            return DEC_UD;
        if (b1 & 0x08)
            return DEC_UD; /* EVEX.P0[3] is reserved as 0 */
        in->evex = true;
        in->zeroing = b3 >> 7;
        in->bcst = (b3 >> 4) & 1;
        in->mask = b3 & 7;
        if (d->m->long64) {
            in->reg_hi = (b1 & 0x10) ? 0 : 16;   /* R' is stored inverted */
            vvvv |= (b3 & 0x08) ? 0 : 16;        /* so is V' */
        } else if (!(b3 & 0x08)) {
            return DEC_UD; /* EVEX.V' must be 1 outside 64-bit mode; R' is ignored */
        }
        if (mmmmm > 3) /* maps 4-7: APX, AVX512-FP16 and later */
            return DEC_UNSUPPORTED;
        in->map = (uint8_t)(MAP_EVEX_0F + mmmmm - 1);
    }
    if (!d->m->long64) {
        R = X = B = 1;
        vvvv &= 7;
    }
    in->vex = true;
    /* VEX.W widens general-purpose operands only in 64-bit mode. */
    in->rex = (uint8_t)(0x40 | ((d->m->long64 ? W : 0) << 3) | ((!R) << 2) | ((!X) << 1) | (!B));
    in->vw = W;
    in->vl = L;
    in->vvvv = vvvv;
    d->pfx_last = pp == 1 ? PFX_NONE : pp == 2 ? PFX_F3 : pp == 3 ? PFX_F2 : PFX_NONE;
    in->opsize66 = pp == 1;
    return DEC_OK;
}

/* Direct index: for each (map, opcode) the position + 1 of its last row.
 * Row positions come from an enumeration in table order (one row per line
 * of opcodes.def); a later designated initializer for the same opcode
 * replaces an earlier one, which is what makes it "last". */
#define ROW_ID(line) ROW_ID_(line)
#define ROW_ID_(line) row_at_line_##line
enum row_position {
#define ROW(key, mnem, k0, k1, k2, tr, out, undef, needs, fn) ROW_ID(__LINE__),
#include "opcodes.def"
#undef ROW
};

#define INDEX_MAPS 12
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
#endif
#if defined(__clang__)
#pragma clang diagnostic ignored "-Winitializer-overrides"
#endif
static const uint16_t last_row_of[INDEX_MAPS * 256] = {
#define ROW(key, mnem, k0, k1, k2, tr, out, undef, needs, fn)                                      \
    [OPC_MAP(key) * 256 + OPC_OP(key)] = ROW_ID(__LINE__) + 1,
#include "opcodes.def"
#undef ROW
};
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

/* First row of opcode (map, op), or NULL. */
static const struct op_row *find_opcode(uint8_t map, uint8_t op)
{
    if (map >= INDEX_MAPS)
        return NULL;
    unsigned last = last_row_of[map * 256u + op];
    if (!last)
        return NULL;
    const struct op_row *r = &rows[last - 1];
    while (r > rows && OPC_GROUP(r[-1].key) == OPC_GROUP(r->key))
        r--;
    return r;
}

/* Among the rows of one opcode pick the one that matches the mandatory
 * prefix and ModRM.reg. An exact prefix row wins over a prefix-agnostic one;
 * of two rows with one key, the one for the other mode (T_NO64 in 64-bit
 * mode, T_ONLY64 outside it) loses. */
static const struct op_row *select_row(const struct op_row *first, uint8_t mand, bool has66,
                                       uint8_t reg, bool vw, bool long64)
{
    const struct op_row *best = NULL;
    int best_score = -1;
    const struct op_row *end = rows + NROWS;
    uint32_t op = OPC_GROUP(first->key);
    for (const struct op_row *r = first; r < end && OPC_GROUP(r->key) == op; r++) {
        unsigned rreg = OPC_REG(r->key), rpfx = OPC_PFX(r->key), rw = OPC_W(r->key);
        if (rw != W_ANY && rw != (vw ? W_1 : W_0))
            continue;
        if (rreg != REG_ANY && rreg != reg)
            continue;
        int score;
        if (rpfx != PFX_NONE) {
            if (rpfx == mand)
                score = 4;
            else if (rpfx == PFX_66 && has66 && mand != PFX_F2 && mand != PFX_F3)
                score = 4;
            else
                continue;
        } else {
            /* VEX/EVEX.pp is always a mandatory prefix: no fallback row. */
            if ((r->traits & T_NP || OPC_MAP(r->key) >= MAP_VEX_0F) && (has66 || mand))
                continue;
            if ((r->traits & T_NOREP) && mand)
                continue;
            score = 2;
        }
        if (rreg != REG_ANY)
            score++;
        score = 2 * score - ((r->traits & (long64 ? T_NO64 : T_ONLY64)) != 0);
        if (score > best_score) {
            best = r;
            best_score = score;
        }
    }
    return best;
}

static inline bool kind_uses_modrm(uint8_t k);

/* 16-bit ModRM forms (SDM Vol. 2 table 2-1). */
static const uint8_t rm16_base[8] = {GPR_RBX, GPR_RBX, GPR_RBP, GPR_RBP,
                                     GPR_RSI, GPR_RDI, GPR_RBP, GPR_RBX};
static const uint8_t rm16_index[8] = {GPR_RSI, GPR_RDI, GPR_RSI, GPR_RDI,
                                      NO_REG,  NO_REG,  NO_REG,  NO_REG};

static enum dec_status dec_modrm(struct dec *d)
{
    struct insn *in = d->in;
    uint8_t m;
    DTRY(dec_next(d, &m));
    in->has_modrm = true;
    in->modrm = m;
    in->mod = m >> 6;
    in->reg = (uint8_t)(((m >> 3) & 7) | ((in->rex & 4) << 1) | in->reg_hi);
    in->rm = (uint8_t)((m & 7) | ((in->rex & 1) << 3));
    if (in->mod == 3)
        return DEC_OK;

    in->mem_form = MEM_MODRM;
    in->base = NO_REG;
    in->index = NO_REG;
    in->scale = 1;
    uint64_t disp = 0;
    uint8_t def_seg = SEG_DS;
    unsigned rm = m & 7;

    if (in->addrsize == 2) {
        if (in->mod == 0 && rm == 6) {
            DTRY(dec_le(d, 2, &disp));
            in->disp = dec_sx(disp, 2);
        } else {
            in->base = rm16_base[rm];
            in->index = rm16_index[rm];
            if (rm == 2 || rm == 3 || rm == 6)
                def_seg = SEG_SS;
        }
        if (in->mod == 1) {
            DTRY(dec_le(d, 1, &disp));
            in->disp = dec_sx(disp, 1);
        } else if (in->mod == 2) {
            DTRY(dec_le(d, 2, &disp));
            in->disp = dec_sx(disp, 2);
        }
        in->seg = def_seg;
        return DEC_OK;
    }

    unsigned base_enc = rm;
    if (rm == 4) { /* SIB */
        uint8_t sib;
        DTRY(dec_next(d, &sib));
        unsigned idx = ((sib >> 3) & 7) | ((in->rex & 2) << 2);
        in->scale = (uint8_t)(1u << (sib >> 6));
        if (idx != 4)
            in->index = (uint8_t)idx;
        base_enc = sib & 7;
        if (base_enc == 5 && in->mod == 0) {
            DTRY(dec_le(d, 4, &disp));
            in->disp = dec_sx(disp, 4);
        } else {
            in->base = (uint8_t)(base_enc | ((in->rex & 1) << 3));
        }
    } else if (rm == 5 && in->mod == 0) {
        DTRY(dec_le(d, 4, &disp));
        in->disp = dec_sx(disp, 4);
        in->riprel = d->m->long64;
    } else {
        in->base = in->rm;
    }
    if (in->mod == 1) {
        DTRY(dec_le(d, 1, &disp));
        in->disp = dec_sx(disp, 1);
    } else if (in->mod == 2) {
        DTRY(dec_le(d, 4, &disp));
        in->disp = dec_sx(disp, 4);
    }
    if (in->base == GPR_RSP || in->base == GPR_RBP)
        def_seg = SEG_SS;
    in->seg = def_seg;
    return DEC_OK;
}

/* What each operand kind is: its class (where the operand comes from), its
 * size class, and the immediate bytes it takes from the instruction. */
enum {
    KC_NONE, KC_E, KC_M, KC_G, KC_IMM, KC_RAX, KC_RCX, KC_ONE, KC_MOFFS, KC_X, KC_Y, KC_DX,
    KC_V, KC_W, KC_U, KC_H, KC_P, KC_Q, KC_N, KC_DI, KC_B, KC_XLAT, KC_K, KC_S, KC_SO,
};
enum { SZ_0, SZ_1, SZ_2, SZ_V, SZ_Z, SZ_Y, SZ_CX, SZ_4, SZ_8, SZ_16, SZ_X, SZ_64, SZ_A,
       SZ_XH, SZ_XQ, SZ_XE, SZ_DUP, SZ_P, SZ_10, SZ_2V, SZ_32, SZ_COUNT };
enum { IMM_NONE, IMM_B, IMM_BS, IMM_Z, IMM_W };

static const struct kind_info {
    uint8_t cls, sz, imm;
} kinds[K_COUNT] = {
    [K_Eb] = {KC_E, SZ_1, 0},        [K_Ew] = {KC_E, SZ_2, 0},       [K_Ev] = {KC_E, SZ_V, 0},
    [K_Ez] = {KC_E, SZ_Z, 0},        [K_Mv] = {KC_M, SZ_V, 0},       [K_My] = {KC_M, SZ_Y, 0},
    [K_Mcx] = {KC_M, SZ_CX, 0},      [K_Gb] = {KC_G, SZ_1, 0},       [K_Gv] = {KC_G, SZ_V, 0},
    [K_Gy] = {KC_G, SZ_Y, 0},        [K_Ib] = {KC_IMM, SZ_1, IMM_B}, [K_Ibs] = {KC_IMM, SZ_V, IMM_BS},
    [K_Ibu] = {KC_IMM, SZ_1, IMM_B}, [K_Iz] = {KC_IMM, SZ_V, IMM_Z}, [K_AL] = {KC_RAX, SZ_1, 0},
    [K_rAX] = {KC_RAX, SZ_V, 0},     [K_CL] = {KC_RCX, SZ_1, 0},     [K_ONE] = {KC_ONE, SZ_1, 0},
    [K_Ob] = {KC_MOFFS, SZ_1, 0},    [K_Ov] = {KC_MOFFS, SZ_V, 0},   [K_Xb] = {KC_X, SZ_1, 0},
    [K_Xv] = {KC_X, SZ_V, 0},        [K_Yb] = {KC_Y, SZ_1, 0},       [K_Yv] = {KC_Y, SZ_V, 0},
    [K_eAX] = {KC_RAX, SZ_Z, 0},     [K_DX] = {KC_DX, SZ_2, 0},      [K_Xz] = {KC_X, SZ_Z, 0},
    [K_Yz] = {KC_Y, SZ_Z, 0},        [K_Ey] = {KC_E, SZ_Y, 0},
    [K_Vx] = {KC_V, SZ_X, 0},        [K_Vdq] = {KC_V, SZ_16, 0},     [K_Vq] = {KC_V, SZ_8, 0},
    [K_Vd] = {KC_V, SZ_4, 0},        [K_Wx] = {KC_W, SZ_X, 0},       [K_Wdq] = {KC_W, SZ_16, 0},
    [K_Wq] = {KC_W, SZ_8, 0},        [K_Wd] = {KC_W, SZ_4, 0},       [K_Ux] = {KC_U, SZ_X, 0},
    [K_Udq] = {KC_U, SZ_16, 0},      [K_Hx] = {KC_H, SZ_X, 0},       [K_Hdq] = {KC_H, SZ_16, 0},
    [K_Mx] = {KC_M, SZ_X, 0},        [K_Mdq] = {KC_M, SZ_16, 0},     [K_Mq] = {KC_M, SZ_8, 0},
    [K_Md] = {KC_M, SZ_4, 0},        [K_Pq] = {KC_P, SZ_8, 0},       [K_Qq] = {KC_Q, SZ_8, 0},
    [K_Nq] = {KC_N, SZ_8, 0},        [K_DSDI] = {KC_DI, SZ_X, 0},
    [K_DSDIq] = {KC_DI, SZ_8, 0},     [K_By] = {KC_B, SZ_Y, 0},       [K_XLAT] = {KC_XLAT, SZ_1, 0},
    [K_M64B] = {KC_M, SZ_64, 0},     [K_Ga] = {KC_G, SZ_A, 0},       [K_KR] = {KC_K, SZ_8, 0},
    [K_Iw] = {KC_IMM, SZ_2, IMM_W},
    [K_Wb] = {KC_W, SZ_1, 0},        [K_Ww] = {KC_W, SZ_2, 0},       [K_Wy] = {KC_W, SZ_Y, 0},
    [K_Wh] = {KC_W, SZ_XH, 0},       [K_Wqt] = {KC_W, SZ_XQ, 0},     [K_We] = {KC_W, SZ_XE, 0},
    [K_Wdup] = {KC_W, SZ_DUP, 0},
    [K_Sw] = {KC_S, SZ_2, 0},        [K_Mp] = {KC_M, SZ_P, 0},       [K_So] = {KC_SO, SZ_2, 0},
    [K_Mw] = {KC_M, SZ_2, 0},        [K_Mt] = {KC_M, SZ_10, 0},      [K_Mfx] = {KC_M, SZ_0, 0},
    [K_Gw] = {KC_G, SZ_2, 0},        [K_Ma] = {KC_M, SZ_2V, 0},
    [K_Menv] = {KC_M, SZ_0, 0},      [K_Msav] = {KC_M, SZ_0, 0},
    [K_Vh] = {KC_V, SZ_XH, 0},       [K_Wqq] = {KC_W, SZ_32, 0},     [K_Wxe] = {KC_W, SZ_X, 0},
};

/* A byte register operand: AH..BH without any REX, else the low byte. */
static void set_reg(struct opnd *o, unsigned reg, bool anyrex)
{
    o->type = OPND_REG;
    o->high8 = o->size == 1 && !anyrex && reg >= 4 && reg < 8;
    o->reg = (uint8_t)(o->high8 ? reg - 4 : reg);
}

/* What a vector or MMX register operand needs: its value unless it is a
 * destination written in full, the YMM upper halves when it is 32 bytes
 * wide or a VEX destination (whose write zeroes them), the x87 state for
 * MMX (an MMX instruction makes every x87 tag valid). */
static void need_vec(struct insn *in, const struct opnd *o, bool is_dst, const struct op_row *r,
                     bool dst_written, uint64_t *need)
{
    bool full_write = is_dst && (r->traits & T_MOV);
    if (in->evex) {
        /* A merge-masked destination keeps its disabled elements; an EVEX
         * write zeroes the register up to bit 511. Registers 16-31 live
         * whole in component 7. */
        bool read = !full_write || (is_dst && in->mask && !in->zeroing);
        bool write = is_dst && dst_written;
        if (o->reg >= 16) {
            if (read || write)
                in->xneeds |= XC_HI16;
            return;
        }
        if (read)
            *need |= VR_XMM_BIT(o->reg);
        if ((read && o->size > 16) || write)
            in->xneeds |= XC_YMM_HI;
        if ((read && o->size > 32) || write)
            in->xneeds |= XC_ZMM_HI;
        return;
    }
    if (o->type == OPND_MMX) {
        if (!full_write)
            *need |= VR_MM_BIT(o->reg);
        return;
    }
    if (!full_write)
        *need |= VR_XMM_BIT(o->reg & 15);
    if (o->size > 16 || (in->vex && is_dst && dst_written))
        in->xneeds |= XC_YMM_HI;
}

/* The size in bytes of a size class for this instruction. */
static uint8_t kind_size(const struct insn *in, uint8_t sz)
{
    switch (sz) {
    case SZ_1: return 1;
    case SZ_2: return 2;
    case SZ_V: return in->opsize;
    case SZ_Z: return in->opsize == 2 ? 2 : 4;
    case SZ_Y: return (in->rex & 8) ? 8 : 4;
    case SZ_CX: return (in->rex & 8) ? 16 : 8;
    case SZ_4: return 4;
    case SZ_8: return 8;
    case SZ_16: return 16;
    case SZ_X: return (uint8_t)(16u << in->vl);
    case SZ_64: return 64;
    case SZ_A: return in->addrsize;
    case SZ_XH: return (uint8_t)(8u << in->vl);
    case SZ_XQ: return (uint8_t)(4u << in->vl);
    case SZ_XE: return (uint8_t)(2u << in->vl);
    case SZ_DUP: return in->vl ? 32 : 8;
    case SZ_P: return (uint8_t)(in->opsize + 2);
    case SZ_10: return 10;
    case SZ_2V: return (uint8_t)(2 * in->opsize);
    case SZ_32: return 32;
    default: return 0;
    }
}

/* Operands from kinds, immediates read in operand order (they follow
 * ModRM/SIB/displacement), and the vcpu slots the instruction needs. */
static enum dec_status dec_operands(struct dec *d)
{
    struct insn *in = d->in;
    const struct op_row *r = in->row;
    const bool long64 = d->m->long64, anyrex = in->rex != 0;
    uint64_t need = r->needs;
    bool modrm_mem = false, str_src = false, mem_only_reg = false;
    /* The destination (operand 0) is written unless the row says it is
     * only read; a VEX write zeroes the register above its size. */
    const bool dst_written = !(r->traits & T_NOWRITE);
    for (unsigned i = 0; i < 3 && r->k[i] != K_NONE; i++) {
        const struct kind_info *ki = &kinds[r->k[i]];
        struct opnd *o = &in->op[i];
        uint64_t v;
        in->nops = (uint8_t)(i + 1);
        o->size = kind_size(in, ki->sz);
        switch (ki->cls) {
        case KC_E:
            if (in->mod == 3) {
                set_reg(o, in->rm, anyrex);
                break;
            }
            /* fall through */
        case KC_M:
            mem_only_reg |= in->mod == 3; /* #UD, once the operands are read */
            o->type = OPND_MEM;
            modrm_mem = true;
            continue;
        case KC_G:
            /* EVEX.R' with a general-purpose register (VCVTSS2SI and kin):
             * what the processor does with it is not certain, so refused. */
            if (in->reg > 15)
                return DEC_UNSUPPORTED;
            set_reg(o, in->reg, anyrex);
            break;
        case KC_RAX:
            o->type = OPND_REG;
            o->reg = GPR_RAX;
            break;
        case KC_RCX:
            o->type = OPND_REG;
            o->reg = GPR_RCX;
            break;
        case KC_DX: /* the port comes from the exit context, not DX */
            continue;
        case KC_ONE:
            o->type = OPND_IMM;
            o->imm = 1;
            continue;
        case KC_IMM: {
            unsigned n = ki->imm == IMM_Z ? (in->opsize == 2 ? 2u : 4u) : ki->imm == IMM_W ? 2u : 1u;
            DTRY(dec_le(d, n, &v));
            o->type = OPND_IMM;
            o->imm = (ki->imm == IMM_B || ki->imm == IMM_W) ? v : dec_sx(v, n) & size_mask(o->size);
            continue;
        }
        case KC_MOFFS:
            DTRY(dec_le(d, in->addrsize, &v));
            o->type = OPND_MEM;
            in->mem_form = MEM_MOFFS;
            in->disp = v;
            in->seg = SEG_DS;
            modrm_mem = true;
            continue;
        case KC_X:
            o->type = OPND_MEM;
            o->reg = MEM_STR_SRC;
            in->seg = SEG_DS;
            str_src = true;
            need |= VR_GPR_BIT(GPR_RSI);
            continue;
        case KC_Y:
            o->type = OPND_MEM;
            o->reg = MEM_STR_DST;
            need |= VR_GPR_BIT(GPR_RDI);
            if (!long64)
                need |= VR_SEG_BIT(SEG_ES);
            continue;
        case KC_K:
            if (in->reg > 7)
                return DEC_UD; /* EVEX.R and R' cannot name k8-k31 */
            o->type = OPND_KREG;
            o->reg = in->reg;
            in->xneeds |= XC_OPMASK;
            continue;
        case KC_S: /* REX.R does not extend a segment register number */
            o->type = OPND_SREG;
            o->reg = (in->modrm >> 3) & 7;
            if (o->reg > SEG_GS || (i == 0 && o->reg == SEG_CS))
                return DEC_UD; /* no such register; MOV to CS */
            need |= VR_SEG_BIT(o->reg);
            continue;
        case KC_SO: /* 06 0E 16 1E (ES CS SS DS), 0F A0 (FS), 0F A8 (GS) */
            o->type = OPND_SREG;
            o->reg = (uint8_t)(in->map == MAP_1B ? (in->opcode >> 3) & 3
                                                 : in->opcode < 0xA8 ? SEG_FS : SEG_GS);
            need |= VR_SEG_BIT(o->reg);
            continue;
        case KC_B:
            o->type = OPND_REG;
            o->reg = in->vvvv & 15;
            in->uses_vvvv = true;
            break;
        case KC_XLAT:
            o->type = OPND_MEM;
            in->mem_form = MEM_XLAT;
            in->seg = SEG_DS;
            need |= VR_GPR_BIT(GPR_RBX) | VR_GPR_BIT(GPR_RAX);
            modrm_mem = true;
            continue;
        case KC_DI:
            o->type = OPND_MEM;
            in->mem_form = MEM_DSDI;
            in->seg = SEG_DS;
            need |= VR_GPR_BIT(GPR_RDI);
            modrm_mem = true;
            continue;
        case KC_W:
        case KC_Q:
            if (in->mod != 3) {
                o->type = OPND_MEM;
                modrm_mem = true;
                continue;
            }
            /* fall through */
        case KC_U:
        case KC_N:
            if (in->mod != 3)
                return DEC_UD; /* a register-only form with a memory operand */
            if (ki->cls == KC_Q || ki->cls == KC_N) {
                o->type = OPND_MMX;
                o->reg = in->modrm & 7;
            } else {
                o->type = OPND_VREG;
                o->reg = in->rm;
            }
            need_vec(in, o, i == 0, r, dst_written, &need);
            continue;
        case KC_V:
            o->type = OPND_VREG;
            o->reg = in->reg;
            need_vec(in, o, i == 0, r, dst_written, &need);
            continue;
        case KC_H:
            o->type = OPND_VREG;
            o->reg = in->vvvv;
            in->uses_vvvv = true;
            need_vec(in, o, i == 0, r, dst_written, &need);
            continue;
        case KC_P:
            o->type = OPND_MMX;
            o->reg = (in->modrm >> 3) & 7; /* REX.R does not apply to MMX */
            need_vec(in, o, i == 0, r, dst_written, &need);
            continue;
        default:
            return DEC_UNSUPPORTED;
        }
        /* A register operand; a destination written in full (32-bit writes
         * zero-extend) need not be fetched. */
        if (!(i == 0 && (r->traits & T_MOV) && o->size >= 4))
            need |= VR_GPR_BIT(o->reg);
    }
    if (r->traits & T_IMM8) {
        uint64_t v;
        DTRY(dec_le(d, 1, &v));
        in->imm8 = (uint8_t)v;
    }
    if (in->evex && in->mask)
        in->xneeds |= XC_OPMASK;
    if (r->traits & (T_SSE | T_MMX)) {
        need |= VR_BIT(VR_CR0) | VR_BIT(VR_CR4);
        if (in->vex)
            need |= VR_BIT(VR_XCR0);
        if (r->traits & T_MMX) /* TOP != 0 renames all eight (exec.c) */
            need |= VR_BIT(VR_FPCS) | ((uint64_t)0xFF << VR_MM0);
        if (r->traits & T_MXCSR)
            need |= VR_BIT(VR_MXCSR);
    }
    if (r->traits & T_X87) {
        /* The stack is seen through ST(0)-ST(7), so a push or pop moves
         * every register; FDP lives beside MXCSR. FXSAVE/FXRSTOR move the
         * XMM registers too (XMM8-15 only in 64-bit mode) and check CR4
         * (OSFXSR) and EFER (FFXSR). */
        need |= VR_BIT(VR_CR0) | VR_BIT(VR_FPCS) | VR_BIT(VR_MXCSR);
        for (unsigned i = 0; i < 8; i++)
            need |= VR_MM_BIT(i);
        if (r->k[0] == K_Mfx) {
            need |= VR_BIT(VR_CR4) | VR_BIT(VR_EFER);
            for (unsigned i = 0; i < (long64 ? 16u : 8u); i++)
                need |= VR_XMM_BIT(i);
        }
    }
    if (modrm_mem) {
        if (in->base != NO_REG)
            need |= VR_GPR_BIT(in->base);
        if (in->index != NO_REG)
            need |= VR_GPR_BIT(in->index);
        /* The destination is operand 0; a memory source is only read. */
        if (in->op[0].type != OPND_MEM || (r->traits & T_NOWRITE))
            in->mem_access = ACC_R;
        else
            in->mem_access = (r->traits & T_MOV) ? ACC_W : ACC_R | ACC_W;
    }
    if (in->rep && (r->traits & (T_REP | T_REPCC)))
        need |= VR_GPR_BIT(GPR_RCX);
    if (r->traits & T_SEG)
        need |= VR_BIT(VR_GDTR) | VR_BIT(VR_LDTR) | VR_BIT(VR_INT_STATE) |
                ((uint64_t)0x3F << VR_SEG0);
    if (r->traits & T_DEF64) { /* PUSH/POP: the stack */
        need |= VR_GPR_BIT(GPR_RSP);
        if (!long64)
            need |= VR_SEG_BIT(SEG_SS);
    }
    in->needs = need;
    in->seg_used = modrm_mem || str_src;
    /* A memory-only operand in a register form: #UD, but an x87 row's
     * register forms are other instructions, not emulated. */
    if (mem_only_reg)
        return (r->traits & T_X87) ? DEC_UNSUPPORTED : DEC_UD;
    return DEC_OK;
}

static inline bool kind_uses_modrm(uint8_t k)
{
    /* Operand classes that come from the ModRM byte. */
    static const uint32_t modrm_classes = 1u << KC_E | 1u << KC_M | 1u << KC_G | 1u << KC_V |
                                          1u << KC_W | 1u << KC_U | 1u << KC_P | 1u << KC_Q |
                                          1u << KC_N | 1u << KC_K | 1u << KC_S;
    return (modrm_classes >> kinds[k].cls) & 1;
}

/* The segment register the memory operand uses is needed outside 64-bit
 * mode, and for FS/GS bases in it; decided once overrides are applied. */
static inline void dec_segment_needs(const struct dec_mode *m, struct insn *in)
{
    if (in->seg_used && (!m->long64 || in->seg >= SEG_FS))
        in->needs |= VR_SEG_BIT(in->seg);
}

/* What an EVEX memory form allows (SDM Vol. 2 2.7): L'L = 11b (and 00b on
 * T_NOT128 rows), broadcast on rows without it and zeroing into memory are
 * #UD, as are opmask and zeroing on rows without masking. A disp8 is scaled
 * by N (2.7.5), which for every tuple type of the rows is the size of the
 * memory operand as read: the vector (Full Mem; Full without broadcast),
 * one element with broadcast (Full, Half), half, a quarter or an eighth of
 * the vector (Half/Quarter/Eighth Mem), the element (Tuple1 Scalar), the
 * subvector (Tuple4) and 16 bytes (Mem128): the operand kind gives it. */
static enum dec_status dec_evex_checks(struct insn *in)
{
    const struct op_row *r = in->row;
    if (in->mod == 3)
        return DEC_UNSUPPORTED;
    if (in->vl == 3 || (in->vl == 0 && (r->traits & T_NOT128)) ||
        (in->bcst && !(r->traits & T_BCST)) ||
        (in->zeroing && (in->op[0].type == OPND_MEM || in->op[0].type == OPND_KREG)))
        return DEC_UD;
    if ((r->traits & T_NOMASK) && (in->mask || in->zeroing))
        return DEC_UD;
    if (in->zeroing && !in->mask)
        return DEC_UD;
    for (unsigned i = 0; i < in->nops; i++) {
        struct opnd *o = &in->op[i];
        if (o->type != OPND_MEM)
            continue;
        if (r->k[i] == K_Wqq && in->vl != 2)
            return DEC_UD; /* a 256-bit part of a 512-bit vector */
        if (in->bcst) /* one element (a dword, or a qword with W1), replicated */
            o->size = in->vw ? 8 : 4;
        /* Compress and expand: disp8 * N is the element (Tuple1 Scalar). */
        unsigned n = r->k[i] == K_Wxe ? 1u << ((r->traits >> T_ESZ_SHIFT) & 3) : o->size;
        if (in->mod == 1 && in->mem_form == MEM_MODRM)
            in->disp *= n;
    }
    return DEC_OK;
}

enum dec_status dec_decode(const struct dec_mode *m, const uint8_t *bytes, unsigned n,
                           struct insn *in)
{
    struct dec d = {.b = bytes, .lim = n < EMU_MAX_INSN_LEN ? n : EMU_MAX_INSN_LEN, .pos = 0,
                    .m = m, .in = in, .pfx_last = PFX_NONE};
    memset(in, 0, sizeof(*in));
    in->seg_override = SEG_NONE;
    in->base = in->index = NO_REG;

    DTRY(dec_prefixes(&d));

    uint8_t b;
    DTRY(dec_next(&d, &b));
    in->map = MAP_1B;
    if (b == 0x0F) {
        DTRY(dec_next(&d, &b));
        if (b == 0x38 || b == 0x3A) {
            in->map = b == 0x38 ? MAP_0F38 : MAP_0F3A;
            DTRY(dec_next(&d, &b));
        } else {
            in->map = MAP_0F;
        }
    } else if (b == 0xC4 || b == 0xC5 || b == 0x62) {
        bool is_vex;
        DTRY(dec_vex(&d, b, &is_vex));
        if (is_vex)
            DTRY(dec_next(&d, &b));
    }
    in->opcode = b;
    in->rep = d.pfx_last;

    /* Sizes (SDM Vol. 1 3.6, Vol. 2 2.2.1.2). */
    if (m->long64) {
        in->addrsize = d.addr67 ? 4 : 8;
    } else {
        in->addrsize = d.addr67 ? (uint8_t)(6 - m->addrsize) : m->addrsize;
    }

    const struct op_row *first = find_opcode(in->map, b);
    if (!first)
        return DEC_UNSUPPORTED;
    bool modrm = kind_uses_modrm(first->k[0]) || kind_uses_modrm(first->k[1]) ||
                 kind_uses_modrm(first->k[2]);

    if (in->rex & 8) {
        in->opsize = 8;
    } else {
        in->opsize = in->opsize66 ? (uint8_t)(6 - m->opsize) : m->opsize;
    }
    if (modrm)
        DTRY(dec_modrm(&d));

    uint8_t mand = d.pfx_last;
    const struct op_row *r = select_row(first, mand, in->opsize66,
                                        in->has_modrm ? (in->modrm >> 3) & 7 : 0, in->vw,
                                        m->long64);
    if (!r)
        return DEC_UNSUPPORTED;
    in->row = r;
    /* PUSH/POP in 64-bit mode: 64-bit, or 16-bit with 66 unless REX.W.
     * Decided on the selected row: FF /6 shares its opcode with INC/DEC. */
    if (m->long64 && (r->traits & T_DEF64))
        in->opsize = in->opsize66 && !(in->rex & 8) ? 2 : 8;
    if (m->long64 && (r->traits & T_NEAR) && in->opsize == 2)
        return DEC_UNSUPPORTED;
    if (r->traits & T_NO64 && m->long64)
        return DEC_UD;
    if (r->traits & T_ONLY64 && !m->long64)
        return DEC_UNSUPPORTED;
    if (!(r->traits & (T_REP | T_REPCC)))
        in->rep = 0;
    DTRY(dec_operands(&d));
    /* VEX: an unused vvvv must be 1111b, and VEX.L = 1 is #UD where only
     * 128-bit forms exist (SDM Vol. 2 2.3.6, 2.3.12). */
    if ((r->traits & T_MEMFORM) && in->mod == 3)
        return DEC_UNSUPPORTED;
    if (in->vex && ((!in->uses_vvvv && in->vvvv) || ((r->traits & T_L0) && in->vl) ||
                    ((r->traits & T_L1) && in->vl != 1)))
        return DEC_UD;
    if (in->evex)
        DTRY(dec_evex_checks(in));
    /* LOCK only on lockable rows with a memory destination (SDM Vol. 2
     * LOCK: otherwise #UD). */
    if (in->lock && (!(r->traits & (T_LOCK | T_XCHG)) || in->op[0].type != OPND_MEM))
        return DEC_UD;
    /* Segment overrides; 64-bit mode ignores CS/DS/ES/SS overrides (SDM
     * Vol. 1 3.3.7.1), so the default segment still names the fault. */
    uint8_t ovr = in->seg_override;
    if (m->long64 && ovr != SEG_FS && ovr != SEG_GS)
        ovr = SEG_NONE;
    /* 3E before an indirect near CALL/JMP is also the NOTRACK prefix: with
     * an SS-based operand outside 64-bit mode which meaning the processor
     * gives it is not certain, so that form is refused. */
    if ((r->traits & T_NEAR) && ovr == SEG_DS && in->seg == SEG_SS && in->mem_access)
        return DEC_UNSUPPORTED;
    if (ovr != SEG_NONE)
        in->seg = ovr;
    in->len = (uint8_t)d.pos;
    /* What memory it touches, for the caller's page-walk decision. */
    bool big = false;
    in->any_mem = (r->traits & (T_DEF64 | T_SEG)) != 0;
    for (unsigned i = 0; i < in->nops; i++) {
        if (in->op[i].type != OPND_MEM)
            continue;
        in->any_mem = true;
        big |= in->op[i].size > 8 || in->op[i].size == 0 || in->op[i].reg != 0;
    }
    in->one_mem = in->any_mem && !big && in->mem_access && in->mem_form == MEM_MODRM &&
                  !(r->traits & (T_DEF64 | T_SEG | T_X87 | T_REP | T_REPCC));
    dec_segment_needs(m, in);
    return DEC_OK;
}

const char *dec_status_text(enum dec_status s)
{
    switch (s) {
    case DEC_OK:
        return "ok";
    case DEC_NEED_MORE:
        return "instruction bytes end early";
    case DEC_TOO_LONG:
        return "instruction longer than 15 bytes";
    case DEC_UD:
        return "invalid encoding";
    case DEC_UNSUPPORTED:
        return "instruction not emulated";
    }
    return "?";
}

/* Whether an EVEX row is checked against the model of the host's VEX forms
 * (tests/diff/test_evex_model.c, which fails for a row without a case);
 * the others (moves, VPTERNLOG, VPTESTM, the imm8 integer compares) are
 * checked on hand-computed values. */
bool dec_evex_model_checked(const struct op_row *r)
{
    static const char *const by_hand[] = {
        "vmov_mov",    "vint_pternlog", "vint_kptestmb", "vint_kptestnmb", "vint_kptestmd",
        "vint_kptestnmd", "vint_kpcmpb", "vint_kpcmpub", "vint_kpcmpd",    "vint_kpcmpud",
        "vint_kpcmpq", "vint_kpcmpuq",
    };
    for (unsigned i = 0; i < sizeof(by_hand) / sizeof(by_hand[0]); i++)
        if (strcmp(r->fn_name, by_hand[i]) == 0)
            return false;
    return true;
}

const char *dec_kind_name(uint8_t k)
{
    static const char *const names[K_COUNT] = {
        [K_NONE] = "",  [K_Eb] = "Eb",   [K_Ew] = "Ew",   [K_Ev] = "Ev",   [K_Ez] = "Ez",
        [K_Mv] = "Mv",   [K_My] = "My",   [K_Mcx] = "Mq/Mdq",
        [K_Gb] = "Gb",  [K_Gv] = "Gv",   [K_Gy] = "Gy",   [K_Ib] = "Ib",   [K_Ibs] = "Ib",
        [K_Ibu] = "Ib", [K_Iz] = "Iz",   [K_AL] = "AL",   [K_rAX] = "rAX", [K_CL] = "CL",
        [K_ONE] = "1",  [K_Ob] = "Ob",   [K_Ov] = "Ov",   [K_Xb] = "Xb",   [K_Xv] = "Xv",
        [K_Yb] = "Yb",  [K_Yv] = "Yv",   [K_eAX] = "eAX", [K_DX] = "DX",  [K_Xz] = "Xz",
        [K_Yz] = "Yz",  [K_Ey] = "Ey",   [K_Vx] = "Vx",   [K_Vdq] = "Vdq", [K_Vq] = "Vq",
        [K_Vd] = "Vd",  [K_Wx] = "Wx",   [K_Wdq] = "Wdq", [K_Wq] = "Wq",   [K_Wd] = "Wd",
        [K_Ux] = "Ux",  [K_Udq] = "Udq", [K_Hx] = "Hx",   [K_Hdq] = "Hdq", [K_Mx] = "Mx",
        [K_Mdq] = "Mdq", [K_Mq] = "Mq",  [K_Md] = "Md",   [K_Pq] = "Pq",   [K_Qq] = "Qq",
        [K_Nq] = "Nq",  [K_DSDI] = "ds:[rdi]", [K_DSDIq] = "ds:[rdi]",
        [K_By] = "By", [K_XLAT] = "ds:[rbx+al]", [K_M64B] = "M64", [K_Ga] = "Ga", [K_KR] = "KR", [K_Iw] = "Iw",
        [K_Wb] = "Wb", [K_Ww] = "Ww", [K_Wy] = "Wy", [K_Wh] = "Wh", [K_Wqt] = "Wqt", [K_We] = "We",
        [K_Wdup] = "Wdup", [K_Sw] = "Sw", [K_Mp] = "Mp", [K_So] = "Sreg",
        [K_Mw] = "Mw", [K_Mt] = "Mt", [K_Mfx] = "M512", [K_Gw] = "Gw", [K_Ma] = "Ma", [K_Menv] = "M14/28", [K_Msav] = "M94/108",
        [K_Vh] = "Vh", [K_Wqq] = "Wqq", [K_Wxe] = "Wx",
    };
    return k < K_COUNT && names[k] ? names[k] : "?";
}
