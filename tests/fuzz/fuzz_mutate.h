/*
 * fuzz_mutate.h - structure-aware mutation of fuzz inputs (layout in
 * fuzz_input.h), shared by the libFuzzer target (LLVMFuzzerCustomMutator),
 * the self-driving test and the seed generator.
 *
 * A mutation changes one field the way a hostile guest or VMM would: a
 * register or address gets an arithmetic edge (INT64_MIN + 0..63, page and
 * canonical edges, ...), the instruction becomes an encoding of a random
 * opcode-table row or gets a prefix, the mode, the injected callback answer,
 * a page's translation or the REP limit changes.
 */
#ifndef WHVEMU_FUZZ_MUTATE_H
#define WHVEMU_FUZZ_MUTATE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "emu.h"
#include "fuzz_input.h"

static inline void fz_dec_mode(unsigned mode, struct dec_mode *dm)
{
    dm->long64 = mode == FZ_MODE_LONG64;
    dm->opsize = (mode == FZ_MODE_LONG64 || mode == FZ_MODE_COMPAT32 || mode == FZ_MODE_PROT32)
                     ? 4
                     : 2;
    dm->addrsize = mode == FZ_MODE_LONG64 ? 8 : dm->opsize;
}

static inline bool fz_mode32(unsigned mode)
{
    return mode == FZ_MODE_COMPAT32 || mode == FZ_MODE_PROT32;
}

/* Builds encoding candidates for a row and keeps the first that decodes to
 * it in `mode`: legacy (plain, REX.W, the other address size, register
 * form), or VEX and EVEX for their maps (W0, W1, register form, VEX.L = 1 or
 * EVEX.512 with the row's W), starting with candidate `first`.
 * Returns the length, 0 when none decodes to the row. */
static inline unsigned fz_encode_row(const struct op_row *row, unsigned mode, unsigned first,
                                     uint8_t *out)
{
    unsigned map = OPC_MAP(row->key), pfx = OPC_PFX(row->key), op = OPC_OP(row->key);
    unsigned reg = OPC_REG(row->key) == REG_ANY ? 0 : OPC_REG(row->key);
    static const uint8_t pfx_byte[] = {0, 0x66, 0xF3, 0xF2};
    struct dec_mode dm;
    fz_dec_mode(mode, &dm);
    unsigned rm = dm.addrsize == 2 ? 7 : 3; /* [bx] or [rbx]/[ebx] */
    for (unsigned vi = 0; vi < 4; vi++) {
        unsigned variant = (first + vi) % 4;
        uint8_t b[16];
        unsigned n = 0;
        memset(b, 0, sizeof(b));
        if (map >= MAP_VEX_0F) {
            unsigned mm = map >= MAP_EVEX_0F ? map - MAP_EVEX_0F + 1 : map - MAP_VEX_0F + 1;
            /* variant 2: the register form (MASKMOVDQU); 3: VEX.L = 1 */
            if (map >= MAP_EVEX_0F) {
                b[n++] = 0x62;
                b[n++] = (uint8_t)(0xF0 | mm);
                bool w1 = variant == 3 ? OPC_W(row->key) == W_1 : variant != 0;
                b[n++] = (uint8_t)((w1 ? 0x80 : 0) | 0x7C | pfx);
                b[n++] = variant == 3 ? 0x48 : 0x08; /* 3: EVEX.512 with the row's W */
            } else {
                b[n++] = 0xC4;
                b[n++] = (uint8_t)(0xE0 | mm);
                /* variant 3 keeps the W a W1-only row needs (VPERMQ) */
                bool w = variant == 1 || (variant == 3 && OPC_W(row->key) == W_1);
                b[n++] = (uint8_t)((w ? 0x80 : 0) | 0x78 | (variant == 3 ? 4 : 0) | pfx);
            }
        } else {
            if (pfx)
                b[n++] = pfx_byte[pfx];
            if (variant == 1) {
                if (!dm.long64)
                    continue;
                b[n++] = 0x48; /* REX.W */
            }
            if (variant == 2)
                b[n++] = 0x67; /* the other address size */
            if (map == MAP_0F)
                b[n++] = 0x0F;
            if (map == MAP_0F38) {
                b[n++] = 0x0F;
                b[n++] = 0x38;
            }
            if (map == MAP_0F3A) {
                b[n++] = 0x0F;
                b[n++] = 0x3A;
            }
        }
        b[n++] = (uint8_t)op;
        unsigned rmv = variant == 2 ? (dm.addrsize == 2 ? 3 : 7) : rm;
        bool regform = map >= MAP_VEX_0F ? variant == 2 : variant == 3;
        b[n++] = (uint8_t)((reg << 3) | (regform ? 0xC0 : 0) | rmv);
        n += 8; /* displacement / immediate bytes: zero */
        if (n > 15)
            n = 15;
        struct insn in;
        if (dec_decode(&dm, b, n, &in) == DEC_OK && in.row == row) {
            memcpy(out, b, in.len);
            return in.len;
        }
    }
    return 0;
}

/* The port exit that matches a decoded port I/O instruction. */
static inline void fz_io_exit(uint8_t *r, const struct insn *in)
{
    const struct op_row *row = in->row;
    bool out = row->k[0] == K_DX || row->k[0] == K_Ibu;
    unsigned size = out ? in->op[1].size : in->op[0].size;
    bool string = (row->traits & T_REP) != 0;
    uint8_t kport = out ? row->k[0] : row->k[1];
    unsigned port = kport == K_Ibu ? (unsigned)in->op[out ? 0 : 1].imm : 0x3F8;
    r[FZ_CTRL] |= 1;
    r[FZ_ACCESS] = (uint8_t)((out ? 1 : 0) | (size << 1) | (string ? 0x10 : 0) |
                             (string && in->rep ? 0x20 : 0));
    r[FZ_PORT] = (uint8_t)port;
    r[FZ_PORT + 1] = (uint8_t)(port >> 8);
}

static inline uint64_t fz_rng(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* The decoder's view of a record's mode. */
static inline unsigned fz_record_mode(const uint8_t *r)
{
    unsigned mode = (r[FZ_CTRL] >> 1) & 7;
    if (mode == FZ_MODE_RAW)
        mode = (r[FZ_EXEC] & 0x10) && (r[FZ_SEGATTR + 3] & 0x40) ? FZ_MODE_PROT32
                                                                 : FZ_MODE_PROT16;
    return mode;
}

/* Puts instruction bytes in the exit and at RIP; count 0 (the bytes are
 * fetched) one time in eight. */
static inline void fz_set_insn(uint8_t *r, const uint8_t *b, unsigned n, uint64_t *rng)
{
    memset(r + FZ_BYTES, 0, 16);
    memset(r + FZ_CODE, 0, 16);
    memcpy(r + FZ_BYTES, b, n);
    memcpy(r + FZ_CODE, b, n);
    r[FZ_NBYTES] = (fz_rng(rng) & 7) ? (uint8_t)n : 0;
}

/* A general-purpose register the record's instruction reads or addresses
 * with (operands, base, index, implicit registers); -1 when it does not
 * decode. */
static inline int fz_used_gpr(const uint8_t *r, uint64_t pick)
{
    struct dec_mode dm;
    fz_dec_mode(fz_record_mode(r), &dm);
    unsigned n = r[FZ_NBYTES] % 18;
    const uint8_t *b = n ? r + FZ_BYTES : r + FZ_CODE;
    struct insn in;
    if (dec_decode(&dm, b, n && n < 15 ? n : 15, &in) != DEC_OK)
        return -1;
    uint32_t used = in.row->needs;
    for (unsigned i = 0; i < in.nops && i < 3; i++)
        if (in.op[i].type == OPND_REG)
            used |= 1u << (in.op[i].reg & 15);
    if (in.has_modrm && in.base != NO_REG)
        used |= 1u << (in.base & 15);
    if (in.has_modrm && in.index != NO_REG)
        used |= 1u << (in.index & 15);
    unsigned count = 0;
    for (uint32_t m = used & 0xFFFF; m; m &= m - 1)
        count++;
    if (!count)
        return -1;
    unsigned k = (unsigned)(pick % count);
    for (unsigned g = 0; g < 16; g++)
        if ((used >> g & 1) && k-- == 0)
            return (int)g;
    return -1;
}

/* One structured mutation of the record r (FZ_SIZE bytes). */
static inline void fz_mutate_one(uint8_t *r, uint64_t *rng)
{
    uint64_t x = fz_rng(rng);
    unsigned op = (unsigned)(x % 12);
    x >>= 8;
    switch (op) {
    case 0: case 1: case 2: case 3: {
        /* An edge into a register the instruction uses (half the time), any
         * register, or any slot. */
        int used = (x & 3) < 2 ? fz_used_gpr(r, x >> 2) : -1;
        unsigned slot = used >= 0 ? (unsigned)used
                        : (x & 3) == 2 ? (unsigned)((x >> 2) % 16)
                                       : (unsigned)((x >> 2) % FZ_V_COUNT);
        x >>= 16;
        static const int deltas[] = {0, 0, 1, -1, 63, -64};
        int delta = (x & 1) ? deltas[(x >> 1) % 6] : (int)((x >> 4) % 128) - 64;
        x >>= 12;
        fz_put_edge(r, slot, (unsigned)(x % FZ_NEDGES) | ((x >> 8) % 4 == 0 ? 0x40 : 0), delta);
        break;
    }
    case 4: { /* a raw value: random, or a single bit */
        unsigned slot = (unsigned)(x % FZ_V_COUNT);
        uint64_t v = (x >> 8) & 1 ? (uint64_t)1 << (fz_rng(rng) % 64) : fz_rng(rng);
        fz_put_raw(r, slot, v);
        break;
    }
    case 5: { /* a prefix in front of the instruction */
        static const uint8_t pfx[] = {0x66, 0x67, 0xF0, 0xF2, 0xF3, 0x26, 0x2E, 0x36, 0x3E,
                                      0x64, 0x65, 0x40, 0x41, 0x42, 0x44, 0x48, 0x49, 0x4C, 0x4F};
        uint8_t p = pfx[x % sizeof(pfx)];
        for (unsigned w = 0; w < 2; w++) {
            uint8_t *b = r + (w ? FZ_CODE : FZ_BYTES);
            memmove(b + 1, b, 15);
            b[0] = p;
        }
        unsigned n = r[FZ_NBYTES] % 18;
        if (n && n < 16)
            r[FZ_NBYTES] = (uint8_t)(n + 1);
        break;
    }
    case 6: case 7: { /* an encoding of a random table row */
        unsigned nrows;
        const struct op_row *rows = dec_rows(&nrows);
        const struct op_row *row = &rows[x % nrows];
        uint8_t b[16];
        unsigned n = fz_encode_row(row, fz_record_mode(r), (unsigned)(x >> 16) % 4, b);
        if (!n)
            break;
        fz_set_insn(r, b, n, rng);
        if (row->traits & T_IO) {
            struct insn in;
            struct dec_mode dm;
            fz_dec_mode(fz_record_mode(r), &dm);
            if (dec_decode(&dm, b, n, &in) == DEC_OK)
                fz_io_exit(r, &in);
        } else {
            r[FZ_CTRL] &= (uint8_t)~1u;
        }
        break;
    }
    case 8: /* mode, CPL, control bits */
        if (x & 1)
            r[FZ_CTRL] = (uint8_t)((r[FZ_CTRL] & 0xF1) | (((x >> 1) % 8) << 1));
        else
            r[FZ_CTRL + (x >> 1) % 3] ^= (uint8_t)(1u << ((x >> 3) % 8));
        break;
    case 9: { /* a callback answer: a failure, an odd translation, or none */
        uint8_t *j = r + FZ_INJECT + 3 * (x & 1);
        j[0] = (uint8_t)((x >> 1) % 8);
        j[1] = (uint8_t)((x >> 4) % 8);
        j[2] = (uint8_t)(x >> 8);
        break;
    }
    case 10: /* the data page (or the code page) translates oddly */
        memcpy(r + FZ_SLOTS + FZ_SLOT * FZ_V_ODD_GVA,
               r + FZ_SLOTS + FZ_SLOT * ((x & 1) ? FZ_V_GVA : FZ_V_RIP), FZ_SLOT);
        fz_put_edge(r, FZ_V_ODD_GPA, FZ_E_MMIO_GPA, (x >> 1) & 1 ? 0x10 : 0);
        r[FZ_ODD] = (uint8_t)(x >> 2);
        r[FZ_ODD + 1] = (uint8_t)(x >> 10);
        break;
    default: /* REP limit and a count around it */
        r[FZ_REPLIMIT] = (uint8_t)(x % FZ_NREPLIMITS);
        fz_put_edge(r, FZ_V_GPR + 1, (unsigned)((x >> 8) % 13), (int)((x >> 16) % 16) - 8);
        break;
    }
}

#endif /* WHVEMU_FUZZ_MUTATE_H */
