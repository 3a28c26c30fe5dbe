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

static enum rc movs_step(struct emu *e, const struct insn *in, const struct str_state *s);
static enum rc stos_step(struct emu *e, const struct insn *in, const struct str_state *s);

/* Elements of a run from linear `lin` with `step` that stay in its page. */
static uint64_t in_page(uint64_t lin, uint64_t step, unsigned size)
{
    unsigned at = (unsigned)(lin & (EMU_PAGE_SIZE - 1));
    if (at + size > EMU_PAGE_SIZE)
        return 0;
    return (int64_t)step > 0 ? (EMU_PAGE_SIZE - at) / size : at / size + 1;
}

/* MOVS and STOS after an element done the ordinary way: the elements that
 * follow on pages this call has validated already go as a run, the same
 * accesses in the same order, each page's translation and RAM lookup made
 * once. Only in 64-bit mode with 64-bit addressing (no segment limits, no
 * wrap), without single-stepping and without alignment checking; anything
 * else, and every page change, goes element by element. */
static enum rc str_more(struct emu *e, const struct insn *in, const struct str_state *s,
                        bool movs)
{
    uint64_t rf = vcpu_rflags(e);
    if (!s->rep || in->addrsize != 8 || (rf & FL_TF) ||
        (s->size > 1 && e->cpl == 3 && e->vp->ExecutionState.Cr0Am && (rf & FL_AC)))
        return RC_OK;
    uint64_t k = vcpu_gpr(e, GPR_RCX);
    uint32_t limit = e->h->rep_limit;
    if (limit && k > (uint64_t)(limit - e->rep_done))
        k = limit - e->rep_done;
    struct mem_run src, dst;
    if (k == 0 || mem_run_page(e, SEG_ES, vcpu_gpr(e, GPR_RDI), ACC_W, &dst) != RC_OK)
        return RC_OK;
    uint64_t n = in_page(dst.lin, s->step, s->size);
    if (movs) {
        if (mem_run_page(e, in->seg, vcpu_gpr(e, GPR_RSI), ACC_R, &src) != RC_OK)
            return RC_OK;
        uint64_t m = in_page(src.lin, s->step, s->size);
        if (m < n)
            n = m;
    }
    if (n < k)
        k = n;
    TRY(mem_run_copy(e, movs ? &src : NULL, &dst, (int64_t)s->step, s->size, k,
                     vcpu_read_reg(e, GPR_RAX, s->size, false)));
    uint64_t moved = k * s->step;
    if (movs)
        vcpu_set_gpr(e, GPR_RSI, vcpu_gpr(e, GPR_RSI) + moved);
    vcpu_set_gpr(e, GPR_RDI, vcpu_gpr(e, GPR_RDI) + moved);
    vcpu_set_gpr(e, GPR_RCX, vcpu_gpr(e, GPR_RCX) - k);
    e->rep_done += (uint32_t)k;
    return RC_OK;
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
        if (step == movs_step || step == stos_step)
            TRY(str_more(e, in, &s, step == movs_step));
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
