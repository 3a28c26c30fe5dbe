/*
 * seg.c - segment register loads: the descriptor checks and the load of a
 * data or stack segment (MOV Sreg, POP Sreg, LDS/LES/LFS/LGS/LSS), the
 * stores of a selector (MOV m16,Sreg; PUSH Sreg), and the descriptor-table
 * access shared with the far transfers (far.c). Descriptors are read and
 * their accessed bit set through mem.c as implicit supervisor accesses;
 * the new segment register is written only after the last memory access
 * (SDM Vol. 3 3.4, 5.5-5.8; Vol. 2 MOV, POP, LDS/LES/LFS/LGS/LSS).
 */
#include "emu.h"
#include "mem.h"

#define DESC_A (1ull << 40) /* accessed */
#define DESC_S (1ull << 44) /* code or data, not a system descriptor */
#define DESC_P (1ull << 47)
#define DESC_L (1ull << 53)
#define DESC_G (1ull << 55)

unsigned seg_desc_type(uint64_t d)
{
    return (unsigned)(d >> 40) & 0xF;
}

unsigned seg_desc_dpl(uint64_t d)
{
    return (unsigned)(d >> 45) & 3;
}

bool seg_desc_s(uint64_t d)
{
    return (d & DESC_S) != 0;
}

bool seg_desc_p(uint64_t d)
{
    return (d & DESC_P) != 0;
}

/* The segment register a descriptor gives: base, byte-granular limit and
 * the attribute bits of descriptor bytes 5 and 6 (the layout of
 * WHV_X64_SEGMENT_REGISTER's Attributes). */
void seg_from_desc(uint64_t d, uint16_t sel, WHV_X64_SEGMENT_REGISTER *s)
{
    uint32_t lim = (uint32_t)(d & 0xFFFF) | (uint32_t)((d >> 32) & 0xF0000);
    s->Selector = sel;
    s->Base = ((d >> 16) & 0xFFFFFF) | ((d >> 32) & 0xFF000000u);
    s->Limit = (d & DESC_G) ? (lim << 12) | 0xFFF : lim;
    s->Attributes = (uint16_t)((d >> 40) & 0xF0FF);
}

/* Reads the 8-byte descriptor `sel` names from the GDT or LDT; #GP(sel)
 * when the index is beyond the table's limit or the LDT is unusable. The
 * selector must not be null. */
enum rc seg_desc_read(struct emu *e, uint16_t sel, uint64_t *desc, uint64_t *addr)
{
    uint64_t base;
    uint32_t limit;
    if (sel & 4) {
        const WHV_X64_SEGMENT_REGISTER *ldtr = &e->regs.v[VR_LDTR].Segment;
        if (!ldtr->Present || (ldtr->Selector & 0xFFFC) == 0)
            return fault_gp(e, sel & 0xFFFC);
        base = ldtr->Base;
        limit = ldtr->Limit;
    } else {
        base = e->regs.v[VR_GDTR].Table.Base;
        limit = e->regs.v[VR_GDTR].Table.Limit;
    }
    if ((uint32_t)(sel | 7) > limit)
        return fault_gp(e, sel & 0xFFFC);
    uint8_t buf[8];
    *addr = base + (sel & 0xFFF8u);
    TRY(mem_read_sys(e, *addr, 8, buf));
    *desc = le_load(buf, 8);
    return RC_OK;
}

/* Sets the accessed bit the way the CPU does, by a write of the type byte
 * (nothing is written when it is set already). */
enum rc seg_desc_touch(struct emu *e, uint64_t *desc, uint64_t addr)
{
    if (*desc & DESC_A)
        return RC_OK;
    *desc |= DESC_A;
    uint8_t b = (uint8_t)(*desc >> 40);
    return mem_write_sys(e, addr + 5, 1, &b);
}

/* What a load of `sel` into data or stack segment register `sreg` gives,
 * after every check of the mode (SDM Vol. 2 MOV, "Operation"). */
enum rc seg_load(struct emu *e, unsigned sreg, uint16_t sel, WHV_X64_SEGMENT_REGISTER *out)
{
    if (e->mode == MODE_REAL) {
        /* Limit and attributes stay as they are (SDM Vol. 3 20.1.1). */
        *out = *vcpu_seg(e, sreg);
        out->Selector = sel;
        out->Base = (uint64_t)sel << 4;
        return RC_OK;
    }
    if (e->mode == MODE_V86) {
        out->Selector = sel;
        out->Base = (uint64_t)sel << 4;
        out->Limit = 0xFFFF;
        out->Attributes = 0xF3; /* present, DPL 3, read/write data, accessed */
        return RC_OK;
    }
    unsigned rpl = sel & 3, cpl = e->cpl;
    uint16_t ec = sel & 0xFFFC;
    if (ec == 0) {
        if (sreg == SEG_SS) {
            if (e->mode != MODE_LONG64 || cpl == 3 || rpl != cpl)
                return fault_gp(e, 0);
            return emu_unsupported(e, "a null SS in 64-bit mode at CPL < 3 (the attributes "
                                      "it leaves differ among processors)");
        }
        if (e->mode == MODE_LONG64 && sreg >= SEG_FS)
            return emu_unsupported(e, "a null FS or GS in 64-bit mode (whether the base is "
                                      "kept differs among processors)");
        /* A null selector makes the register unusable; it is not read. */
        out->Selector = sel;
        out->Base = 0;
        out->Limit = 0;
        out->Attributes = 0;
        return RC_OK;
    }
    uint64_t d, addr;
    TRY(seg_desc_read(e, sel, &d, &addr));
    unsigned type = seg_desc_type(d), dpl = seg_desc_dpl(d);
    bool code = type & 8;
    if (sreg == SEG_SS) {
        if (rpl != cpl || !seg_desc_s(d) || code || !(type & 2) || dpl != cpl)
            return fault_gp(e, ec);
        if (!seg_desc_p(d))
            return fault_ss(e, ec);
    } else {
        bool conforming = code && (type & 4);
        if (!seg_desc_s(d) || (code && !(type & 2)))
            return fault_gp(e, ec);
        if (!conforming && (rpl > dpl || cpl > dpl))
            return fault_gp(e, ec);
        if (!seg_desc_p(d))
            return fault_np(e, ec);
    }
    TRY(seg_desc_touch(e, &d, addr));
    seg_from_desc(d, sel, out);
    return RC_OK;
}

/* Writes a loaded segment register; SS through MOV or POP also blocks
 * interrupts and traps for one instruction. */
static void seg_commit(struct emu *e, unsigned sreg, const WHV_X64_SEGMENT_REGISTER *s,
                       bool shadow)
{
    WHV_REGISTER_VALUE v;
    v.Reg128.Low64 = 0;
    v.Reg128.High64 = 0;
    v.Segment = *s;
    vcpu_set(e, VR_SEG0 + sreg, &v);
    if (shadow && sreg == SEG_SS)
        e->shadow = true;
}

/* A load of SS under single-stepping delays the trap by one instruction;
 * that pending trap is not modelled, so the load is refused before it
 * does anything. */
static enum rc ss_tf_check(struct emu *e, unsigned sreg)
{
    if (sreg == SEG_SS && (vcpu_rflags(e) & FL_TF))
        return emu_unsupported(e, "a load of SS with RFLAGS.TF set (the delayed single-step "
                                  "trap is not emulated)");
    return RC_OK;
}

/* MOV Sreg, Ew (8E); MOV CS is #UD in the decoder. */
enum rc seg_mov_to(struct emu *e, const struct insn *in)
{
    unsigned sreg = in->op[0].reg;
    uint64_t sel;
    WHV_X64_SEGMENT_REGISTER s;
    TRY(ss_tf_check(e, sreg));
    TRY(op_read(e, in, 1, &sel));
    TRY(seg_load(e, sreg, (uint16_t)sel, &s));
    seg_commit(e, sreg, &s, true);
    return RC_OK;
}

/* The segment register of LES (C4), LDS (C5), LSS (0F B2), LFS (0F B4),
 * LGS (0F B5). */
static unsigned sreg_of(const struct insn *in)
{
    if (in->map == MAP_1B)
        return in->opcode == 0xC4 ? SEG_ES : SEG_DS;
    return in->opcode == 0xB2 ? SEG_SS : in->opcode == 0xB4 ? SEG_FS : SEG_GS;
}

/* LDS/LES/LFS/LGS/LSS Gv, Mp: offset then selector, read as one access;
 * the segment is loaded and checked before the register is written. With
 * REX.W an AMD processor reads m16:32 where the SDM gives m16:64 (the host
 * oracle shows it), so that form is refused. */
enum rc seg_lxs(struct emu *e, const struct insn *in)
{
    unsigned sreg = sreg_of(in), size = in->opsize;
    uint8_t seg, buf[10];
    uint64_t off;
    WHV_X64_SEGMENT_REGISTER s;
    if (size == 8)
        return emu_unsupported(e, "LSS/LFS/LGS with REX.W (m16:64 on some processors, m16:32 "
                                  "on others)");
    TRY(op_addr(e, in, 1, &seg, &off));
    TRY(mem_read(e, seg, off, size + 2, ACC_R, buf));
    TRY(seg_load(e, sreg, (uint16_t)le_load(buf + size, 2), &s));
    TRY(op_write(e, in, 0, le_load(buf, size)));
    seg_commit(e, sreg, &s, false);
    return RC_OK;
}

/* PUSH Sreg. With a 32- or 64-bit operand size processors differ in what
 * they write (a 16-bit store, or the selector zero-extended: SDM Vol. 2
 * PUSH), so only the 16-bit form is emulated. */
enum rc seg_push(struct emu *e, const struct insn *in)
{
    if (in->opsize != 2)
        return emu_unsupported(e, "PUSH Sreg with a 32- or 64-bit operand size (processors "
                                  "write 2 or all bytes)");
    return stack_push_value(e, vcpu_seg(e, in->op[0].reg)->Selector, 2);
}

/* POP Sreg: the operand size's bytes are read, the low 16 are the
 * selector; rSP moves by the operand size in the old SS's width. */
enum rc seg_pop(struct emu *e, const struct insn *in)
{
    unsigned sreg = in->op[0].reg, size = in->opsize;
    uint8_t buf[8];
    uint64_t m = stack_addr_mask(e), sp = vcpu_gpr(e, GPR_RSP);
    WHV_X64_SEGMENT_REGISTER s;
    TRY(ss_tf_check(e, sreg));
    TRY(mem_read(e, SEG_SS, sp & m, size, ACC_R, buf));
    TRY(seg_load(e, sreg, (uint16_t)le_load(buf, 2), &s));
    vcpu_set_gpr(e, GPR_RSP, (sp & ~m) | ((sp + size) & m));
    seg_commit(e, sreg, &s, true);
    return RC_OK;
}
