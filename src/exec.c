/*
 * exec.c - runs one decoded instruction: fetches the registers it needs in
 * one batch, gives handlers their operands (registers through the vcpu
 * cache, memory through mem.c), and applies the row's flag masks.
 * Calls no callback itself.
 */
#include <string.h>

#include "emu.h"
#include "mem.h"

/* Effective address (segment, offset) of memory operand idx. String
 * operands name themselves in op.reg; the others follow in->mem_form. */
enum rc op_addr(struct emu *e, const struct insn *in, unsigned idx, uint8_t *seg, uint64_t *off)
{
    const struct opnd *o = &in->op[idx];
    uint64_t amask = addr_mask(in->addrsize);
    if (o->type != OPND_MEM)
        return RC_INTERNAL;
    uint64_t a;
    switch (o->reg) {
    case MEM_STR_SRC:
        *seg = in->seg;
        *off = vcpu_gpr(e, GPR_RSI) & amask;
        return RC_OK;
    case MEM_STR_DST:
        *seg = SEG_ES;
        *off = vcpu_gpr(e, GPR_RDI) & amask;
        return RC_OK;
    default:
        break;
    }
    switch (in->mem_form) {
    case MEM_MODRM:
        a = in->disp;
        if (in->base != NO_REG)
            a += vcpu_gpr(e, in->base);
        if (in->index != NO_REG)
            a += vcpu_gpr(e, in->index) * in->scale;
        if (in->riprel)
            a += e->vp->Rip + in->len;
        break;
    case MEM_XLAT:
        a = vcpu_gpr(e, GPR_RBX) + (vcpu_gpr(e, GPR_RAX) & 0xFF);
        break;
    case MEM_DSDI:
        a = vcpu_gpr(e, GPR_RDI);
        break;
    default: /* MEM_MOFFS */
        a = in->disp;
        break;
    }
    *seg = in->seg;
    *off = a & amask;
    return RC_OK;
}

uint64_t le_load(const uint8_t *b, unsigned size)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v = 0;
    memcpy(&v, b, size > 8 ? 8 : size);
    return v;
#else
    uint64_t v = 0;
    for (unsigned i = 0; i < size && i < 8; i++)
        v |= (uint64_t)b[i] << (8 * i);
    return v;
#endif
}

void le_store(uint8_t *b, uint64_t v, unsigned size)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(b, &v, size > 8 ? 8 : size);
#else
    for (unsigned i = 0; i < size && i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
#endif
}

/* The intent to validate the memory operand's page with: a read of a
 * read-modify-write destination also validates the write, so the page is
 * translated once. String operands read or write only. */
static uint8_t op_intent(const struct insn *in, unsigned idx, uint8_t acc)
{
    uint8_t k = in->row->k[idx];
    if ((k >= K_Xb && k <= K_Yv) || k == K_Xz || k == K_Yz)
        return acc;
    return in->mem_access ? in->mem_access : acc;
}

enum rc op_read(struct emu *e, const struct insn *in, unsigned idx, uint64_t *val)
{
    const struct opnd *o = &in->op[idx];
    switch (o->type) {
    case OPND_REG:
        *val = vcpu_read_reg(e, o->reg, o->size, o->high8);
        return RC_OK;
    case OPND_IMM:
        *val = o->imm;
        return RC_OK;
    case OPND_SREG:
        *val = vcpu_seg(e, o->reg)->Selector;
        return RC_OK;
    case OPND_MEM: {
        uint8_t seg;
        uint64_t off;
        TRY(op_addr(e, in, idx, &seg, &off));
        return mem_read_val(e, seg, off, o->size, op_intent(in, idx, ACC_R), val);
    }
    default:
        return RC_INTERNAL;
    }
}

enum rc op_write(struct emu *e, const struct insn *in, unsigned idx, uint64_t val)
{
    const struct opnd *o = &in->op[idx];
    switch (o->type) {
    case OPND_REG:
        vcpu_write_reg(e, o->reg, o->size, o->high8, val);
        return RC_OK;
    case OPND_MEM: {
        uint8_t seg;
        uint64_t off;
        TRY(op_addr(e, in, idx, &seg, &off));
        return mem_write_val(e, seg, off, o->size, op_intent(in, idx, ACC_W), val);
    }
    default:
        return RC_INTERNAL;
    }
}

void flags_set(struct emu *e, const struct insn *in, uint32_t fl)
{
    vcpu_set_rflags(e, rflags_merge(vcpu_rflags(e), in->row, fl));
}

/* The element size EVEX masking works on, and whether element i is enabled
 * by the instruction's opmask (all are without one). */
static unsigned mask_esize(const struct insn *in)
{
    return 1u << ((in->row->traits >> T_ESZ_SHIFT) & 3);
}

bool op_mask_on(const struct emu *e, const struct insn *in, unsigned i)
{
    if (!in->mask)
        return true;
    return (vcpu_kreg(e, in->mask) >> i) & 1;
}

/* A masked memory access: only the enabled elements (bit i of `on` for
 * element i of `es` bytes) are read or written, each run of them as one
 * access, so a disabled element neither faults nor reaches the device (SDM
 * Vol. 2 2.7.1; VMASKMOV, VPMASKMOV). Reads leave disabled elements zero;
 * every page a write touches is validated before the first byte. */
enum rc op_masked_access(struct emu *e, const struct insn *in, unsigned idx, uint8_t *buf,
                         bool write, uint64_t on, unsigned es)
{
    const struct opnd *o = &in->op[idx];
    unsigned n = o->size / es;
    uint8_t seg;
    uint64_t off, amask = addr_mask(in->addrsize);
    uint8_t intent = op_intent(in, idx, write ? ACC_W : ACC_R);
    TRY(op_addr(e, in, idx, &seg, &off));
    /* An aligned form checks the whole operand's alignment, mask or not. */
    uint64_t base = (e->mode != MODE_LONG64 || seg == SEG_FS || seg == SEG_GS)
                        ? vcpu_seg(e, seg)->Base
                        : 0;
    if ((in->row->traits & T_ALIGNED) && ((base + off) & (o->size - 1)))
        return fault_gp(e, 0);
    if (!write)
        memset(buf, 0, o->size);
    for (int pass = write ? 0 : 1; pass < 2; pass++) {
        for (unsigned i = 0; i < n;) {
            if (!((on >> i) & 1)) {
                i++;
                continue;
            }
            /* A run also ends where the offset wraps at the address size. */
            unsigned j = i;
            while (j < n && ((on >> j) & 1) && (j == i || ((off + j * es) & amask) != 0))
                j++;
            uint64_t a = (off + i * es) & amask;
            unsigned len = (j - i) * es;
            if (pass == 0)
                TRY(mem_check(e, seg, a, len, intent));
            else if (write)
                TRY(mem_write(e, seg, a, len, intent, buf + i * es));
            else
                TRY(mem_read(e, seg, a, len, intent, buf + i * es));
            i = j;
        }
    }
    return RC_OK;
}

/* The number of elements the opmask governs: those of the destination
 * register, or of the first source of a compare into an opmask. */
unsigned mask_count(const struct insn *in)
{
    unsigned size = in->op[0].type == OPND_KREG ? in->op[1].size : in->op[0].size;
    return size / mask_esize(in);
}

/* Whether memory element k (of m) of operand idx is needed: a memory operand
 * repeated over the destination (T_SUBV) is needed where any of its copies
 * is enabled; otherwise memory element k belongs to destination element k
 * (a widening or narrowing form has smaller or larger memory elements). */
static bool mem_elem_on(const struct emu *e, const struct insn *in, unsigned k, unsigned m)
{
    if (!(in->row->traits & T_SUBV))
        return op_mask_on(e, in, k);
    for (unsigned j = k, n = mask_count(in); j < n; j += m)
        if (op_mask_on(e, in, j))
            return true;
    return false;
}

/* An EVEX masked memory operand: the opmask as a bitmap of its memory
 * elements. */
static enum rc mem_masked(struct emu *e, const struct insn *in, unsigned idx, uint8_t *buf,
                          bool write)
{
    const struct opnd *o = &in->op[idx];
    unsigned n = (in->row->traits & T_SUBV) ? o->size / mask_esize(in) : mask_count(in);
    unsigned es = n ? o->size / n : 0;
    if (!es || es * n != o->size || n > 64)
        return RC_INTERNAL;
    uint64_t on = 0;
    for (unsigned i = 0; i < n; i++)
        on |= (uint64_t)mem_elem_on(e, in, i, n) << i;
    return op_masked_access(e, in, idx, buf, write, on, es);
}

enum rc op_read_vec(struct emu *e, const struct insn *in, unsigned idx, uint8_t *buf)
{
    const struct opnd *o = &in->op[idx];
    switch (o->type) {
    case OPND_VREG:
        vcpu_vec_read(e, o->reg, o->size, buf);
        return RC_OK;
    case OPND_MMX:
        le_store(buf, e->regs.v[VR_MM0 + (o->reg & 7)].Reg128.Low64, 8);
        return RC_OK;
    case OPND_REG:
        le_store(buf, vcpu_read_reg(e, o->reg, o->size, o->high8), o->size);
        return RC_OK;
    case OPND_MEM: {
        uint8_t seg;
        uint64_t off;
        uint8_t align = (in->row->traits & T_ALIGNED) ? ACC_ALIGN : 0;
        /* A form without memory fault suppression (T_NOFS: its memory
         * elements do not map to destination elements) reads its whole
         * operand whatever the mask; the mask applies to the result. */
        bool nofs = (in->row->traits & T_NOFS) != 0;
        if (in->bcst) {
            /* One element, read when any element is enabled, replicated. */
            unsigned vlen = 16u << in->vl, es = o->size;
            bool any = nofs;
            for (unsigned i = 0, n = mask_count(in); i < n; i++)
                any |= op_mask_on(e, in, i);
            memset(buf, 0, es);
            if (any) {
                TRY(op_addr(e, in, idx, &seg, &off));
                TRY(mem_read(e, seg, off, es, op_intent(in, idx, ACC_R), buf));
            }
            for (unsigned i = es; i < vlen; i += es)
                memcpy(buf + i, buf, es);
            return RC_OK;
        }
        if (in->mask && !nofs)
            return mem_masked(e, in, idx, buf, false);
        TRY(op_addr(e, in, idx, &seg, &off));
        return mem_read(e, seg, off, o->size, op_intent(in, idx, ACC_R) | align, buf);
    }
    default:
        return RC_INTERNAL;
    }
}

enum rc op_write_vec(struct emu *e, const struct insn *in, unsigned idx, const uint8_t *buf)
{
    const struct opnd *o = &in->op[idx];
    switch (o->type) {
    case OPND_VREG:
        if (in->mask) {
            /* Disabled elements keep the destination's value, or are zeroed. */
            uint8_t v[EMU_MAX_ACCESS];
            unsigned es = mask_esize(in);
            vcpu_vec_read(e, o->reg, o->size, v);
            for (unsigned i = 0; i < o->size / es; i++) {
                if (op_mask_on(e, in, i))
                    memcpy(v + i * es, buf + i * es, es);
                else if (in->zeroing)
                    memset(v + i * es, 0, es);
            }
            vcpu_vec_write(e, o->reg, v, o->size, e->vlmax);
            return RC_OK;
        }
        vcpu_vec_write(e, o->reg, buf, o->size, in->vex ? e->vlmax : 16);
        return RC_OK;
    case OPND_KREG:
        vcpu_set_kreg(e, o->reg, le_load(buf, 8));
        return RC_OK;
    case OPND_MMX: {
        /* An MMX write sets the x87 exponent field to all ones (SDM Vol. 1 9.5.1). */
        WHV_REGISTER_VALUE v;
        v.Reg128.Low64 = le_load(buf, 8);
        v.Reg128.High64 = 0xFFFF;
        vcpu_set(e, VR_MM0 + (o->reg & 7), &v);
        return RC_OK;
    }
    case OPND_REG:
        vcpu_write_reg(e, o->reg, o->size, o->high8, le_load(buf, o->size));
        return RC_OK;
    case OPND_MEM: {
        uint8_t seg;
        uint64_t off;
        uint8_t align = (in->row->traits & T_ALIGNED) ? ACC_ALIGN : 0;
        if (in->mask)
            return mem_masked(e, in, idx, (uint8_t *)buf, true);
        TRY(op_addr(e, in, idx, &seg, &off));
        return mem_write(e, seg, off, o->size, op_intent(in, idx, ACC_W) | align, buf);
    }
    default:
        return RC_INTERNAL;
    }
}


/* A vector register written whole, whatever the opmask (a handler that
 * merged the disabled elements itself). */
void op_write_vec_whole(struct emu *e, const struct insn *in, unsigned idx, const uint8_t *buf)
{
    const struct opnd *o = &in->op[idx];
    vcpu_vec_write(e, o->reg, buf, o->size, in->vex ? e->vlmax : 16);
}

/* The register-state checks of SSE, AVX and MMX instructions, in the
 * processor's order: #UD before #NM before any memory fault (SDM Vol. 2
 * 2.5 exception classes, Vol. 3 2.5 and 13.1). That the processor accepted
 * the instruction at all (CPUID) is shown by the exit it caused. Then the
 * extended-state components the instruction touches are read. */
static enum rc exec_simd_state(struct emu *e, const struct insn *in)
{
    uint64_t cr0 = e->regs.v[VR_CR0].Reg64, cr4 = e->regs.v[VR_CR4].Reg64;
    uint64_t xcr0 = in->vex ? e->regs.v[VR_XCR0].Reg64 : 0;
    if (in->row->traits & T_MMX) {
        /* An SSE instruction with an MMX register operand (CVTPS2PI and
         * kin) also needs CR4.OSFXSR (SDM Vol. 2 23.4, the legacy SIMD/MMX
         * exception classes). */
        if ((cr0 & CR0_EM) || ((in->row->traits & T_SSE) && !(cr4 & CR4_OSFXSR)))
            return fault_ud(e);
        if (cr0 & CR0_TS)
            return fault_nm(e);
        if (e->regs.v[VR_FPCS].FpControlStatus.FpStatus & FSW_ES)
            return fault_mf(e);
        return RC_OK;
    }
    if (in->vex) {
        uint64_t need = in->evex ? XCR0_SSE_AVX | XCR0_AVX512 : XCR0_SSE_AVX;
        if (e->mode == MODE_REAL || e->mode == MODE_V86 || !(cr4 & CR4_OSXSAVE) ||
            (xcr0 & need) != need)
            return fault_ud(e);
    } else if ((cr0 & CR0_EM) || !(cr4 & CR4_OSFXSR)) {
        return fault_ud(e);
    }
    if (cr0 & CR0_TS)
        return fault_nm(e);
    uint8_t xneeds = in->xneeds;
    e->vlmax = (xcr0 & XCR0_AVX512) == XCR0_AVX512 ? 64 : 32;
    if (in->vex && !in->evex && e->vlmax == 64 && (xneeds & XC_YMM_HI) &&
        in->op[0].type == OPND_VREG &&
        !(in->row->traits & T_NOWRITE))
        xneeds |= XC_ZMM_HI; /* the write zeroes bits 511:256 too */
    return vcpu_xfetch(e, xneeds);
}

/* MMn is the physical x87 register Rn, while FpMmx0-7 hold ST(0)-ST(7),
 * ST(i) being R((TOP + i) mod 8). An MMX instruction sets TOP to 0, after
 * which ST(i) is R(i): so with TOP != 0 the register set is renamed first
 * (every FpMmx slot, all fetched for MMX rows), and the handler then reads
 * and writes MMn as FpMmxN. A fault discards the renaming with the other
 * results. */
static void exec_mmx_rename(struct emu *e)
{
    unsigned top = (e->regs.v[VR_FPCS].FpControlStatus.FpStatus >> 11) & 7;
    if (top == 0)
        return;
    WHV_REGISTER_VALUE st[8];
    for (unsigned i = 0; i < 8; i++)
        st[i] = e->regs.v[VR_MM0 + i];
    for (unsigned n = 0; n < 8; n++)
        vcpu_set(e, VR_MM0 + n, &st[(n - top) & 7]);
}

/* Whether a page walk on guest RAM may be needed: not for the commonest
 * exit, one ModRM operand of up to 8 bytes on the page the exit names
 * (were it elsewhere, the translate callback serves it). */
static bool may_walk(const struct emu *e, const struct insn *in)
{
    return e->ram->n && in->any_mem && !(e->exit_gva_valid && in->one_mem);
}

/* Compare-exchange rounds before a contended locked instruction gives up
 * for this call: RIP stays, nothing was written, the guest runs it again. */
#define ATOM_ROUNDS 10000

/* A LOCKed or implicitly locked read-modify-write (struct atom): the handler
 * runs as it always does, its operand read and write become a host
 * compare-exchange on writable guest RAM, and when another vCPU changed the
 * operand in between the registers are put back and the handler runs again
 * on the new value. On device memory, or where the operand cannot be done
 * atomically, the arming falls off and the handler runs once, the plain way. */
static enum rc exec_atomic(struct emu *e, const struct insn *in)
{
    WHV_REGISTER_VALUE saved[VR_RFLAGS + 1];
    uint64_t valid = e->regs.valid, dirty = e->regs.dirty;
    memcpy(saved, e->regs.v, sizeof(saved));
    for (unsigned round = 0; round < ATOM_ROUNDS; round++) {
        e->atom.state = ATOM_ARMED;
        enum rc rc = in->row->fn(e, in);
        if (e->atom.state != ATOM_CONFLICT) {
            e->atom.state = ATOM_OFF;
            return rc;
        }
        memcpy(e->regs.v, saved, sizeof(saved));
        e->regs.valid = valid;
        e->regs.dirty = dirty;
    }
    e->atom.state = ATOM_OFF;
    return RC_RETRY;
}

enum rc exec_insn(struct emu *e)
{
    const struct insn *in = e->in;
    uint64_t want = in->needs | e->want;
    if (may_walk(e, in))
        want |= VR_BIT(VR_CR0) | VR_BIT(VR_CR3) | VR_BIT(VR_CR4) | VR_BIT(VR_EFER);
    /* Whether 48-bit or 57-bit addresses are canonical depends on CR4.LA57;
     * when a get call is made anyway, CR4 rides along, except for one
     * operand on the page the exit names when that page is canonical in 48
     * bits: so is the operand then (mem.c check_canonical; should the
     * instruction reach elsewhere, vcpu_la57 fetches CR4 then). */
    if (e->mode == MODE_LONG64 && (want & ~e->regs.valid) &&
        !(in->one_mem && e->exit_gva_valid && emu_canonical(e->exit_gva, 48)))
        want |= VR_BIT(VR_CR4);
    TRY(vcpu_fetch(e, want));
    if (in->vex && (e->mode == MODE_REAL || e->mode == MODE_V86))
        return fault_ud(e); /* no VEX or EVEX form exists there (SDM Vol. 2 2.3.1) */
    if (in->row->traits & (T_SSE | T_MMX))
        TRY(exec_simd_state(e, in));
    if (in->row->traits & T_MMX)
        exec_mmx_rename(e);
    if (e->ram->n && (in->lock || (in->row->traits & T_XCHG)) &&
        (in->op[0].type == OPND_MEM || in->op[1].type == OPND_MEM))
        TRY(exec_atomic(e, in));
    else
        TRY(in->row->fn(e, in));
    if (in->row->traits & T_MMX) {
        /* Every MMX instruction but EMMS sets the x87 TOP to 0 and makes
         * all tags valid (SDM Vol. 1 9.5.1); the abridged tag byte has a
         * 1 for a valid register. */
        WHV_REGISTER_VALUE v = e->regs.v[VR_FPCS];
        v.FpControlStatus.FpStatus &= (UINT16)~0x3800u;
        v.FpControlStatus.FpTag = 0xFF;
        vcpu_set(e, VR_FPCS, &v);
    }
    return RC_OK;
}
