/*
 * alu.c - two-operand arithmetic and logic (ADD OR ADC SBB AND SUB XOR CMP
 * TEST) and the one-operand INC DEC NEG NOT, with exact flags.
 * A read-modify-write destination is read once and written once.
 */
#include "emu.h"

uint64_t alu_compute(enum alu_op op, uint64_t a, uint64_t b, uint64_t c, unsigned size,
                     uint32_t *fl)
{
    uint64_t r;
    switch (op) {
    case ALU_ADD: r = a + b; *fl = flags_add(a, b, 0, r, size); break;
    case ALU_ADC: r = a + b + c; *fl = flags_add(a, b, c, r, size); break;
    case ALU_SUB: case ALU_CMP: r = a - b; *fl = flags_sub(a, b, 0, r, size); break;
    case ALU_SBB: r = a - b - c; *fl = flags_sub(a, b, c, r, size); break;
    case ALU_OR: r = a | b; *fl = flags_logic(r, size); break;
    case ALU_XOR: r = a ^ b; *fl = flags_logic(r, size); break;
    default: r = a & b; *fl = flags_logic(r, size); break;
    }
    return r;
}

static enum rc alu2(struct emu *e, const struct insn *in, enum alu_op op)
{
    uint64_t a, b, c = vcpu_rflags(e) & FL_CF;
    unsigned size = in->op[0].size;
    uint32_t fl;
    TRY(op_read(e, in, 0, &a));
    TRY(op_read(e, in, 1, &b));
    uint64_t r = alu_compute(op, a, b, c, size, &fl);
    if (op != ALU_CMP && op != ALU_TEST)
        TRY(op_write(e, in, 0, r & size_mask(size)));
    flags_set(e, in, fl);
    return RC_OK;
}

enum rc alu_add(struct emu *e, const struct insn *in) { return alu2(e, in, ALU_ADD); }
enum rc alu_or(struct emu *e, const struct insn *in) { return alu2(e, in, ALU_OR); }
enum rc alu_adc(struct emu *e, const struct insn *in) { return alu2(e, in, ALU_ADC); }
enum rc alu_sbb(struct emu *e, const struct insn *in) { return alu2(e, in, ALU_SBB); }
enum rc alu_and(struct emu *e, const struct insn *in) { return alu2(e, in, ALU_AND); }
enum rc alu_sub(struct emu *e, const struct insn *in) { return alu2(e, in, ALU_SUB); }
enum rc alu_xor(struct emu *e, const struct insn *in) { return alu2(e, in, ALU_XOR); }
enum rc alu_cmp(struct emu *e, const struct insn *in) { return alu2(e, in, ALU_CMP); }
enum rc alu_test(struct emu *e, const struct insn *in) { return alu2(e, in, ALU_TEST); }

/* INC/DEC leave CF as it was: the row's mask does not include it. */
enum rc alu_inc(struct emu *e, const struct insn *in)
{
    uint64_t a;
    unsigned size = in->op[0].size;
    TRY(op_read(e, in, 0, &a));
    uint64_t r = (a + 1) & size_mask(size);
    TRY(op_write(e, in, 0, r));
    flags_set(e, in, flags_add(a, 1, 0, r, size));
    return RC_OK;
}

enum rc alu_dec(struct emu *e, const struct insn *in)
{
    uint64_t a;
    unsigned size = in->op[0].size;
    TRY(op_read(e, in, 0, &a));
    uint64_t r = (a - 1) & size_mask(size);
    TRY(op_write(e, in, 0, r));
    flags_set(e, in, flags_sub(a, 1, 0, r, size));
    return RC_OK;
}

/* NEG: CF = (source != 0), the rest as for 0 - source. */
enum rc alu_neg(struct emu *e, const struct insn *in)
{
    uint64_t a;
    unsigned size = in->op[0].size;
    TRY(op_read(e, in, 0, &a));
    uint64_t r = (0 - a) & size_mask(size);
    TRY(op_write(e, in, 0, r));
    flags_set(e, in, flags_sub(0, a, 0, r, size));
    return RC_OK;
}

enum rc alu_not(struct emu *e, const struct insn *in)
{
    uint64_t a;
    TRY(op_read(e, in, 0, &a));
    return op_write(e, in, 0, ~a & size_mask(in->op[0].size));
}

/* ADCX/ADOX: unsigned add with carry in and out through CF (ADCX) or OF
 * (ADOX) alone; every other flag is kept. */
static enum rc add_carry_flag(struct emu *e, const struct insn *in, uint32_t flag)
{
    uint64_t a, b;
    unsigned size = in->op[0].size;
    TRY(op_read(e, in, 0, &a));
    TRY(op_read(e, in, 1, &b));
    uint64_t rf = vcpu_rflags(e), c = (rf & flag) ? 1 : 0, m = size_mask(size);
    a &= m;
    b &= m;
    uint64_t r = (a + b + c) & m;
    bool out = size == 8 ? (r < a || (c && r == a)) : ((a + b + c) >> (8 * size)) != 0;
    TRY(op_write(e, in, 0, r));
    flags_set(e, in, ((uint32_t)rf & ~flag) | (out ? flag : 0));
    return RC_OK;
}

enum rc alu_adcx(struct emu *e, const struct insn *in) { return add_carry_flag(e, in, FL_CF); }
enum rc alu_adox(struct emu *e, const struct insn *in) { return add_carry_flag(e, in, FL_OF); }
