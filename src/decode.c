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
    unsigned n;
    unsigned pos;
    const struct dec_mode *m;
    struct insn *in;
    uint8_t pfx_last; /* last of F2/F3, as PFX_F2/PFX_F3, else PFX_NONE */
    bool addr67;
};

static enum dec_status dec_next(struct dec *d, uint8_t *out)
{
    if (d->pos >= EMU_MAX_INSN_LEN)
        return DEC_TOO_LONG;
    if (d->pos >= d->n)
        return DEC_NEED_MORE;
    *out = d->b[d->pos++];
    return DEC_OK;
}

static enum dec_status dec_peek(struct dec *d, uint8_t *out)
{
    if (d->pos >= EMU_MAX_INSN_LEN)
        return DEC_TOO_LONG;
    if (d->pos >= d->n)
        return DEC_NEED_MORE;
    *out = d->b[d->pos];
    return DEC_OK;
}

/* Little-endian immediate of 1, 2, 4 or 8 bytes. */
static enum dec_status dec_le(struct dec *d, unsigned size, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++) {
        uint8_t b;
        enum dec_status s = dec_next(d, &b);
        if (s != DEC_OK)
            return s;
        v |= (uint64_t)b << (8 * i);
    }
    *out = v;
    return DEC_OK;
}

#define DTRY(x)                                                                                    \
    do {                                                                                           \
        enum dec_status dtry_ = (x);                                                               \
        if (dtry_ != DEC_OK)                                                                       \
            return dtry_;                                                                          \
    } while (0)

/* Legacy prefixes (SDM Vol. 2 2.1.1) and REX (2.2.1), in any order and
 * repeated; a REX not directly before the opcode is ignored. */
static enum dec_status dec_prefixes(struct dec *d)
{
    struct insn *in = d->in;
    for (;;) {
        uint8_t b;
        DTRY(dec_peek(d, &b));
        switch (b) {
        case 0xF0:
            in->lock = true;
            break;
        case 0xF2:
            d->pfx_last = PFX_F2;
            break;
        case 0xF3:
            d->pfx_last = PFX_F3;
            break;
        case 0x66:
            in->opsize66 = true;
            break;
        case 0x67:
            d->addr67 = true;
            break;
        case 0x26: case 0x2E: case 0x36: case 0x3E:
            /* 64-bit mode ignores these (SDM Vol. 1 3.3.7.1): they do not
             * replace an earlier FS/GS override either. */
            if (!d->m->long64)
                in->seg_override = (uint8_t)((b >> 3) & 3); /* ES CS SS DS */
            break;
        case 0x64:
            in->seg_override = SEG_FS;
            break;
        case 0x65:
            in->seg_override = SEG_GS;
            break;
        default:
            if (d->m->long64 && (b & 0xF0) == 0x40) {
                in->rex = b;
                d->pos++;
                DTRY(dec_peek(d, &b));
                if ((b & 0xF0) == 0x40)
                    continue; /* another REX replaces it */
                switch (b) {
                case 0xF0: case 0xF2: case 0xF3: case 0x66: case 0x67:
                case 0x26: case 0x2E: case 0x36: case 0x3E: case 0x64: case 0x65:
                    in->rex = 0; /* a legacy prefix after REX cancels it */
                    continue;
                default:
                    return DEC_OK;
                }
            }
            return DEC_OK;
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
    if (d->pos >= d->n)
        return d->pos >= EMU_MAX_INSN_LEN ? DEC_TOO_LONG : DEC_NEED_MORE;
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
        if (mmmmm > 3) /* maps 4-7: APX, AVX512-FP16 and later */
            return DEC_UNSUPPORTED;
        in->map = (uint8_t)(MAP_EVEX_0F + mmmmm - 1);
    }
    if (!d->m->long64) {
        R = X = B = 1;
        vvvv &= 7;
    }
    in->vex = true;
    in->rex = (uint8_t)(0x40 | (W << 3) | ((!R) << 2) | ((!X) << 1) | (!B));
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
    while (r > rows && (r[-1].key >> 6) == (r->key >> 6))
        r--;
    return r;
}

/* Among the rows of one opcode pick the one that matches the mandatory
 * prefix and ModRM.reg. An exact prefix row wins over a prefix-agnostic one. */
static const struct op_row *select_row(const struct op_row *first, uint8_t mand, bool has66,
                                       uint8_t reg)
{
    const struct op_row *best = NULL;
    int best_score = -1;
    const struct op_row *end = rows + NROWS;
    uint32_t op = first->key >> 6;
    for (const struct op_row *r = first; r < end && (r->key >> 6) == op; r++) {
        unsigned rreg = OPC_REG(r->key), rpfx = OPC_PFX(r->key);
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
            if ((r->traits & T_NP) && (has66 || mand))
                continue;
            if ((r->traits & T_NOREP) && mand)
                continue;
            score = 2;
        }
        if (rreg != REG_ANY)
            score++;
        if (score > best_score) {
            best = r;
            best_score = score;
        }
    }
    return best;
}

static bool kind_uses_modrm(uint8_t k)
{
    return (k >= K_Eb && k <= K_Gy);
}

static bool kind_is_mem_only(uint8_t k)
{
    return k == K_Mv || k == K_My || k == K_Mcx;
}

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
    in->reg = (uint8_t)(((m >> 3) & 7) | ((in->rex & 4) << 1));
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
            in->disp = sign_extend(disp, 2);
        } else {
            in->base = rm16_base[rm];
            in->index = rm16_index[rm];
            if (rm == 2 || rm == 3 || rm == 6)
                def_seg = SEG_SS;
        }
        if (in->mod == 1) {
            DTRY(dec_le(d, 1, &disp));
            in->disp = sign_extend(disp, 1);
        } else if (in->mod == 2) {
            DTRY(dec_le(d, 2, &disp));
            in->disp = sign_extend(disp, 2);
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
            in->disp = sign_extend(disp, 4);
        } else {
            in->base = (uint8_t)(base_enc | ((in->rex & 1) << 3));
        }
    } else if (rm == 5 && in->mod == 0) {
        DTRY(dec_le(d, 4, &disp));
        in->disp = sign_extend(disp, 4);
        in->riprel = d->m->long64;
    } else {
        in->base = in->rm;
    }
    if (in->mod == 1) {
        DTRY(dec_le(d, 1, &disp));
        in->disp = sign_extend(disp, 1);
    } else if (in->mod == 2) {
        DTRY(dec_le(d, 4, &disp));
        in->disp = sign_extend(disp, 4);
    }
    if (in->base == GPR_RSP || in->base == GPR_RBP)
        def_seg = SEG_SS;
    in->seg = def_seg;
    return DEC_OK;
}

static unsigned kind_size(const struct insn *in, uint8_t k)
{
    switch (k) {
    case K_Eb: case K_Gb: case K_Ib: case K_AL: case K_Ob: case K_Xb: case K_Yb:
        return 1;
    case K_Ew:
        return 2;
    case K_Ez: case K_eAX: case K_Xz: case K_Yz:
        return in->opsize == 2 ? 2 : 4;
    case K_DX:
        return 2;
    case K_My: case K_Gy:
        return (in->rex & 8) ? 8 : 4;
    case K_Mcx:
        return (in->rex & 8) ? 16 : 8;
    case K_Ibu: case K_CL: case K_ONE:
        return 1;
    default:
        return in->opsize;
    }
}

/* Operands from kinds; immediates are read here, in operand order (they
 * always follow ModRM/SIB/displacement). */
static enum dec_status dec_operands(struct dec *d)
{
    struct insn *in = d->in;
    const struct op_row *r = in->row;
    bool anyrex = in->rex != 0;
    for (unsigned i = 0; i < 3; i++) {
        uint8_t k = r->k[i];
        struct opnd *o = &in->op[i];
        if (k == K_NONE)
            break;
        in->nops = (uint8_t)(i + 1);
        o->size = (uint8_t)kind_size(in, k);
        switch (k) {
        case K_Eb: case K_Ew: case K_Ev: case K_Ez:
            if (in->mod == 3) {
                o->type = OPND_REG;
                o->reg = in->rm;
                o->high8 = o->size == 1 && !anyrex && in->rm >= 4 && in->rm < 8;
                if (o->high8)
                    o->reg = (uint8_t)(in->rm - 4);
            } else {
                o->type = OPND_MEM;
            }
            break;
        case K_Mv: case K_My: case K_Mcx:
            o->type = OPND_MEM;
            break;
        case K_Gb: case K_Gv: case K_Gy:
            o->type = OPND_REG;
            o->reg = in->reg;
            o->high8 = o->size == 1 && !anyrex && in->reg >= 4 && in->reg < 8;
            if (o->high8)
                o->reg = (uint8_t)(in->reg - 4);
            break;
        case K_AL: case K_rAX: case K_eAX:
            o->type = OPND_REG;
            o->reg = GPR_RAX;
            break;
        case K_DX: /* the port comes from the exit context, not DX */
            o->type = OPND_NONE;
            break;
        case K_CL:
            o->type = OPND_REG;
            o->reg = GPR_RCX;
            break;
        case K_ONE:
            o->type = OPND_IMM;
            o->imm = 1;
            break;
        case K_Ib: case K_Ibu: {
            uint64_t v;
            DTRY(dec_le(d, 1, &v));
            o->type = OPND_IMM;
            o->imm = v;
            break;
        }
        case K_Ibs: {
            uint64_t v;
            DTRY(dec_le(d, 1, &v));
            o->type = OPND_IMM;
            o->imm = sign_extend(v, 1) & size_mask(o->size);
            break;
        }
        case K_Iz: {
            uint64_t v;
            unsigned n = in->opsize == 2 ? 2 : 4;
            DTRY(dec_le(d, n, &v));
            o->type = OPND_IMM;
            o->imm = sign_extend(v, n) & size_mask(o->size);
            break;
        }
        case K_Ob: case K_Ov: {
            uint64_t v;
            DTRY(dec_le(d, in->addrsize, &v));
            o->type = OPND_MEM;
            in->mem_form = MEM_MOFFS;
            in->disp = v;
            in->base = in->index = NO_REG;
            in->seg = SEG_DS;
            break;
        }
        case K_Xb: case K_Xv: case K_Xz:
            o->type = OPND_MEM;
            o->reg = MEM_STR_SRC;
            in->seg = SEG_DS;
            break;
        case K_Yb: case K_Yv: case K_Yz:
            o->type = OPND_MEM;
            o->reg = MEM_STR_DST;
            break;
        default:
            return DEC_UNSUPPORTED;
        }
    }
    return DEC_OK;
}

/* The vcpu slots the instruction needs, and its memory-operand intent. */
static void dec_needs(const struct dec_mode *m, struct insn *in)
{
    const struct op_row *r = in->row;
    uint32_t need = r->needs;
    bool has_mem = false;
    for (unsigned i = 0; i < in->nops; i++) {
        const struct opnd *o = &in->op[i];
        /* A destination register that is only written in full (32-bit
         * writes zero-extend) need not be fetched. */
        bool write_only = i == 0 && (r->traits & T_MOV) && o->size >= 4 && !o->high8;
        if (o->type == OPND_REG && !write_only)
            need |= VR_GPR_BIT(o->reg);
        if (o->type != OPND_MEM)
            continue;
        if (r->k[i] == K_Xb || r->k[i] == K_Xv || r->k[i] == K_Xz) {
            need |= VR_GPR_BIT(GPR_RSI);
            if (!m->long64 || in->seg >= SEG_FS)
                need |= VR_SEG_BIT(in->seg);
        } else if (r->k[i] == K_Yb || r->k[i] == K_Yv || r->k[i] == K_Yz) {
            need |= VR_GPR_BIT(GPR_RDI);
            if (!m->long64)
                need |= VR_SEG_BIT(SEG_ES);
        } else {
            has_mem = true;
        }
    }
    if (has_mem) {
        if (in->base != NO_REG)
            need |= VR_GPR_BIT(in->base);
        if (in->index != NO_REG)
            need |= VR_GPR_BIT(in->index);
        if (!m->long64 || in->seg >= SEG_FS)
            need |= VR_SEG_BIT(in->seg);
        uint8_t acc;
        if (r->traits & T_NOWRITE)
            acc = ACC_R;
        else if (r->traits & T_MOV)
            acc = ACC_W;
        else
            acc = ACC_R | ACC_W;
        /* The destination is operand 0; a memory source is read only. */
        if (in->op[0].type != OPND_MEM)
            acc = ACC_R;
        in->mem_access = acc;
    }
    if (in->rep && (r->traits & (T_REP | T_REPCC)))
        need |= VR_GPR_BIT(GPR_RCX);
    if (r->traits & T_DEF64) { /* PUSH/POP: the stack segment */
        need |= VR_GPR_BIT(GPR_RSP);
        if (!m->long64)
            need |= VR_SEG_BIT(SEG_SS);
    }
    in->needs = need;
}

enum dec_status dec_decode(const struct dec_mode *m, const uint8_t *bytes, unsigned n,
                           struct insn *in)
{
    struct dec d = {.b = bytes, .n = n, .pos = 0, .m = m, .in = in, .pfx_last = PFX_NONE};
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
    bool modrm = kind_uses_modrm(first->k[0]) || kind_uses_modrm(first->k[1]);

    if (in->rex & 8) {
        in->opsize = 8;
    } else {
        in->opsize = in->opsize66 ? (uint8_t)(6 - m->opsize) : m->opsize;
    }
    if (modrm)
        DTRY(dec_modrm(&d));

    uint8_t mand = d.pfx_last;
    const struct op_row *r = select_row(first, mand, in->opsize66, in->has_modrm ? (in->modrm >> 3) & 7 : 0);
    if (!r)
        return DEC_UNSUPPORTED;
    in->row = r;
    /* PUSH/POP in 64-bit mode: 64-bit, or 16-bit with 66 unless REX.W.
     * Decided on the selected row: FF /6 shares its opcode with INC/DEC. */
    if (m->long64 && (r->traits & T_DEF64))
        in->opsize = in->opsize66 && !(in->rex & 8) ? 2 : 8;
    if (r->traits & T_NO64 && m->long64)
        return DEC_UD;
    if (r->traits & T_ONLY64 && !m->long64)
        return DEC_UNSUPPORTED;
    if (!(r->traits & (T_REP | T_REPCC)))
        in->rep = 0;
    DTRY(dec_operands(&d));
    for (unsigned i = 0; i < in->nops; i++) {
        if (kind_is_mem_only(r->k[i]) && in->mod == 3)
            return DEC_UD;
    }
    /* LOCK only on lockable rows with a memory destination (SDM Vol. 2
     * LOCK: otherwise #UD). */
    if (in->lock && (!(r->traits & (T_LOCK | T_XCHG)) || in->op[0].type != OPND_MEM))
        return DEC_UD;
    /* Segment overrides; 64-bit mode ignores CS/DS/ES/SS overrides (SDM
     * Vol. 1 3.3.7.1), so the default segment still names the fault. */
    uint8_t ovr = in->seg_override;
    if (m->long64 && ovr != SEG_FS && ovr != SEG_GS)
        ovr = SEG_NONE;
    if (ovr != SEG_NONE)
        in->seg = ovr;
    in->len = (uint8_t)d.pos;
    dec_needs(m, in);
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

const char *dec_kind_name(uint8_t k)
{
    static const char *const names[K_COUNT] = {
        [K_NONE] = "",  [K_Eb] = "Eb",   [K_Ew] = "Ew",   [K_Ev] = "Ev",   [K_Ez] = "Ez",
        [K_Mv] = "Mv",   [K_My] = "My",   [K_Mcx] = "Mq/Mdq",
        [K_Gb] = "Gb",  [K_Gv] = "Gv",   [K_Gy] = "Gy",   [K_Ib] = "Ib",   [K_Ibs] = "Ib",
        [K_Ibu] = "Ib", [K_Iz] = "Iz",   [K_AL] = "AL",   [K_rAX] = "rAX", [K_CL] = "CL",
        [K_ONE] = "1",  [K_Ob] = "Ob",   [K_Ov] = "Ov",   [K_Xb] = "Xb",   [K_Xv] = "Xv",
        [K_Yb] = "Yb",  [K_Yv] = "Yv",   [K_eAX] = "eAX", [K_DX] = "DX",  [K_Xz] = "Xz",
        [K_Yz] = "Yz",
    };
    return k < K_COUNT && names[k] ? names[k] : "?";
}
