/*
 * string.c - MOVS STOS LODS CMPS SCAS with REP/REPE/REPNE in both
 * directions. rSI/rDI/rCX are sized by the address size. Each iteration does
 * its memory accesses first and then updates the registers, so a fault
 * leaves exactly the completed iterations. The loop yields (RC_RETRY, RIP on
 * the instruction) after the handle's REP limit (EMU_REP_BUDGET unless
 * whvemu_set_rep_limit changed it) or when the call's page slots run low;
 * the guest then re-executes and exits again. With limit 0 (run to
 * completion) it does not yield: it starts a fresh set of page slots
 * instead, so the pages it goes on with are translated again.
 */
#include "emu.h"
#include "mem.h"

/* Pages one iteration may need at the most: two operands, each crossing. */
#define STR_SLOTS_PER_ITER 4

static void str_begin(struct emu *e, const struct insn *in, struct str_state *s)
{
    /* The element size is the memory operand's (OUTS names DX first). */
    s->size = in->op[0].type == OPND_MEM ? in->op[0].size : in->op[1].size;
    s->amask = addr_mask(in->addrsize);
    s->step = (vcpu_rflags(e) & FL_DF) ? 0 - (uint64_t)s->size : s->size;
    s->rep = in->rep != 0;
    e->keep_on_fault |= VR_GPR_BIT(GPR_RSI) | VR_GPR_BIT(GPR_RDI) | VR_GPR_BIT(GPR_RCX);
}

/* Before an iteration: false when the count is exhausted; RC_RETRY when the
 * call's budget is spent or single-stepping must trap. */
static enum rc str_may_iterate(struct emu *e, const struct str_state *s, bool *go)
{
    *go = true;
    if (!s->rep)
        return RC_OK;
    if ((vcpu_gpr(e, GPR_RCX) & s->amask) == 0) {
        *go = false;
        return RC_OK;
    }
    uint32_t limit = e->h->rep_limit;
    if (limit && e->rep_done >= limit)
        return RC_RETRY;
    if (mem_free_slots(e) < STR_SLOTS_PER_ITER) {
        if (limit)
            return RC_RETRY;
        mem_forget_pages(e);
    }
    /* Single-stepping traps after every iteration (SDM Vol. 3 17.3.1.4). */
    if (e->rep_done && (vcpu_rflags(e) & FL_TF))
        return RC_RETRY;
    return RC_OK;
}

/* Add to an address-sized register: 32-bit results zero-extend, 16-bit
 * results keep the upper bits. */
static void add_sized(struct emu *e, unsigned reg, uint64_t delta, uint64_t amask)
{
    uint64_t v = vcpu_gpr(e, reg);
    uint64_t nv = (v + delta) & amask;
    if (amask == 0xFFFF)
        nv |= v & ~(uint64_t)0xFFFF;
    vcpu_set_gpr(e, reg, nv);
}

void str_bump(struct emu *e, unsigned reg, const struct str_state *s)
{
    add_sized(e, reg, s->step, s->amask);
}

enum rc str_run(struct emu *e, const struct insn *in, str_step_fn step)
{
    struct str_state s;
    str_begin(e, in, &s);
    for (;;) {
        bool go;
        TRY(str_may_iterate(e, &s, &go));
        if (!go)
            return RC_OK;
        TRY(step(e, in, &s));
        if (s.rep)
            add_sized(e, GPR_RCX, (uint64_t)-1, s.amask);
        e->rep_done++;
        if (!s.rep)
            return RC_OK;
        /* REPE stops on ZF = 0 and REPNE on ZF = 1 (CMPS, SCAS). */
        if (in->row->traits & T_REPCC) {
            bool zf = vcpu_rflags(e) & FL_ZF;
            if ((in->rep == PFX_F3 && !zf) || (in->rep == PFX_F2 && zf))
                return RC_OK;
        }
    }
}

static enum rc movs_step(struct emu *e, const struct insn *in, const struct str_state *s)
{
    uint64_t v;
    TRY(op_read(e, in, 1, &v));
    TRY(op_write(e, in, 0, v));
    str_bump(e, GPR_RSI, s);
    str_bump(e, GPR_RDI, s);
    return RC_OK;
}

static enum rc stos_step(struct emu *e, const struct insn *in, const struct str_state *s)
{
    TRY(op_write(e, in, 0, vcpu_read_reg(e, GPR_RAX, s->size, false)));
    str_bump(e, GPR_RDI, s);
    return RC_OK;
}

static enum rc lods_step(struct emu *e, const struct insn *in, const struct str_state *s)
{
    uint64_t v;
    TRY(op_read(e, in, 1, &v));
    vcpu_write_reg(e, GPR_RAX, s->size, false, v);
    str_bump(e, GPR_RSI, s);
    return RC_OK;
}

/* CMPS compares [rSI] with [rDI], SCAS AL/rAX with [rDI]. */
static enum rc compare_step(struct emu *e, const struct insn *in, const struct str_state *s)
{
    uint64_t a, b;
    TRY(op_read(e, in, 0, &a));
    TRY(op_read(e, in, 1, &b));
    flags_set(e, in, flags_sub(a, b, 0, a - b, s->size));
    if (in->op[0].type == OPND_MEM)
        str_bump(e, GPR_RSI, s);
    str_bump(e, GPR_RDI, s);
    return RC_OK;
}

enum rc str_movs(struct emu *e, const struct insn *in) { return str_run(e, in, movs_step); }
enum rc str_stos(struct emu *e, const struct insn *in) { return str_run(e, in, stos_step); }

enum rc str_lods(struct emu *e, const struct insn *in)
{
    e->keep_on_fault |= VR_GPR_BIT(GPR_RAX);
    return str_run(e, in, lods_step);
}

enum rc str_cmps(struct emu *e, const struct insn *in)
{
    e->keep_on_fault |= VR_BIT(VR_RFLAGS);
    return str_run(e, in, compare_step);
}

enum rc str_scas(struct emu *e, const struct insn *in)
{
    e->keep_on_fault |= VR_BIT(VR_RFLAGS);
    return str_run(e, in, compare_step);
}
