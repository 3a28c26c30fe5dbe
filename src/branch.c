/*
 * branch.c - near transfers that touch memory: CALL and JMP through a
 * memory (or register) operand, and CALL rel / RET whose stack is in
 * device memory. The target is checked before anything is pushed (64-bit
 * mode: canonical, else #GP(0); elsewhere: within the CS limit, else
 * #GP(0)); the new RIP is handed to the completion through e->branch_rip
 * (SDM Vol. 2 CALL, JMP, RET). In 64-bit mode the operand size is 64; a
 * 66 prefix there means 16 bits on some processors and is ignored on
 * others, so the decoder refuses that form (T_NEAR).
 */
#include "emu.h"
#include "mem.h"

static enum rc check_target(struct emu *e, const struct insn *in, uint64_t *target)
{
    if (e->mode == MODE_LONG64) {
        /* Canonical in 48 bits, or 57 with CR4.LA57. */
        if (emu_canonical(*target, 48))
            return RC_OK;
        bool la57;
        TRY(vcpu_la57(e, &la57));
        return la57 && emu_canonical(*target, 57) ? RC_OK : fault_gp(e, 0);
    }
    *target &= size_mask(in->opsize);
    if (*target > vcpu_seg(e, SEG_CS)->Limit)
        return fault_gp(e, 0);
    return RC_OK;
}

static void branch_to(struct emu *e, uint64_t target)
{
    e->branch = true;
    e->branch_rip = target;
}

/* JMP Ev (FF /4). */
enum rc branch_jmp(struct emu *e, const struct insn *in)
{
    uint64_t t;
    TRY(op_read(e, in, 0, &t));
    TRY(check_target(e, in, &t));
    branch_to(e, t);
    return RC_OK;
}

/* CALL Ev (FF /2) and CALL rel (E8): the target first, then the push. */
enum rc branch_call(struct emu *e, const struct insn *in)
{
    uint64_t t;
    if (in->op[0].type == OPND_IMM)
        t = e->vp->Rip + in->len + in->op[0].imm;
    else
        TRY(op_read(e, in, 0, &t));
    TRY(check_target(e, in, &t));
    TRY(stack_push_value(e, e->vp->Rip + in->len, in->opsize));
    branch_to(e, t);
    return RC_OK;
}

/* RET (C3) and RET imm16 (C2): pop the target, check it, then release
 * imm16 more bytes of stack. */
enum rc branch_ret(struct emu *e, const struct insn *in)
{
    unsigned size = in->opsize;
    uint8_t buf[8];
    uint64_t m = stack_addr_mask(e), sp = vcpu_gpr(e, GPR_RSP);
    TRY(mem_read(e, SEG_SS, sp & m, size, ACC_R, buf));
    uint64_t t = le_load(buf, size);
    TRY(check_target(e, in, &t));
    uint64_t release = size + (in->nops ? in->op[0].imm : 0);
    vcpu_set_gpr(e, GPR_RSP, (sp & ~m) | ((sp + release) & m));
    branch_to(e, t);
    return RC_OK;
}
