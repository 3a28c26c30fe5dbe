/*
 * emu.h - the one internal contract of whvemu: bounds, result codes, the
 * per-call state `struct emu` and the handler signature.
 *
 * One emulation lives in a `struct emu` on the Try* function's stack; every
 * internal function takes it first. Nothing here is global or mutable
 * outside that struct; the handle's state is read-only during a call (the
 * registry in handle.c holds the call's claim on it).
 */
#ifndef WHVEMU_EMU_H
#define WHVEMU_EMU_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "WinHvEmulation.h"

/* --- named bounds --- */
#define EMU_MAX_INSN_LEN 15     /* SDM Vol. 2 2.3.11: longer is #GP(0) */
#define EMU_PAGE_SIZE 4096u
#define EMU_PAGE_MASK (~(uint64_t)(EMU_PAGE_SIZE - 1))
#define EMU_MAX_PIECE 8         /* bytes per memory callback */
#define EMU_MAX_ACCESS 64       /* largest single operand (a ZMM register) */
#define EMU_PAGE_SLOTS 16       /* distinct pages one emulation may touch */
#define EMU_REP_BUDGET 4096     /* REP iterations per call before yielding (the
                                   default; whvemu_set_rep_limit changes it) */

/*
 * Result of every internal step. What may have changed when it is returned:
 *  RC_OK               the step completed.
 *  RC_FAULT            an architectural fault is recorded in e->fault; device
 *                      side effects of earlier steps stay, registers are only
 *                      the progress of completed REP iterations.
 *  RC_RETRY            stopped early (REP budget or page slots used up, or one
 *                      iteration done under single-stepping): the completed
 *                      iterations' registers are committed, RIP stays on the
 *                      instruction.
 *  RC_CALLBACK_FAILED  a VMM callback failed; e->status names it; nothing
 *                      more is written, not even registers.
 *  RC_UNSUPPORTED      the instruction (or this form of it) is not emulated;
 *                      nothing was done; e->why says what.
 *  RC_INTERNAL         an inconsistent input (e.g. a context that cannot
 *                      belong to these bytes); nothing was done.
 */
enum rc {
    RC_OK = 0,
    RC_FAULT,
    RC_RETRY,
    RC_CALLBACK_FAILED,
    RC_UNSUPPORTED,
    RC_INTERNAL,
};

/* The only control-flow macro: propagate a non-OK result. */
#define TRY(expr)                                                                                  \
    do {                                                                                           \
        enum rc try_rc_ = (expr);                                                                  \
        if (try_rc_ != RC_OK)                                                                      \
            return try_rc_;                                                                        \
    } while (0)

/* --- CPU modes (SDM Vol. 3 2.2) --- */
enum cpu_mode {
    MODE_REAL,
    MODE_V86,
    MODE_PROT16, /* protected mode, CS.D = 0 */
    MODE_PROT32, /* protected mode, CS.D = 1 */
    MODE_COMPAT16,
    MODE_COMPAT32,
    MODE_LONG64,
};

/* Segment register numbers = the x86 encoding. */
enum { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_NONE = 0xFF };

/* GPR numbers = the x86 encoding. */
enum { GPR_RAX, GPR_RCX, GPR_RDX, GPR_RBX, GPR_RSP, GPR_RBP, GPR_RSI, GPR_RDI };

/* RFLAGS bits. */
#define FL_CF 0x0001u
#define FL_PF 0x0004u
#define FL_AF 0x0010u
#define FL_ZF 0x0040u
#define FL_SF 0x0080u
#define FL_TF 0x0100u
#define FL_IF 0x0200u
#define FL_DF 0x0400u
#define FL_OF 0x0800u
#define FL_RF 0x10000u
#define FL_NT 0x4000u
#define FL_IOPL 0x3000u
#define FL_AC 0x40000u
#define FL_VM 0x20000u
#define FL_VIF 0x80000u
#define FL_VIP 0x100000u
#define FL_ID 0x200000u
#define FL_OSZAPC (FL_OF | FL_SF | FL_ZF | FL_AF | FL_PF | FL_CF)
#define FL_SZAPC (FL_SF | FL_ZF | FL_AF | FL_PF | FL_CF)
#define FL_SZP (FL_SF | FL_ZF | FL_PF)

/* Architectural exception vectors. */
enum {
    VEC_DE = 0,
    VEC_DB = 1,
    VEC_BR = 5,
    VEC_UD = 6,
    VEC_NM = 7,
    VEC_NP = 11,
    VEC_SS = 12,
    VEC_GP = 13,
    VEC_PF = 14,
    VEC_MF = 16,
    VEC_AC = 17,
};

/* #PF error code bits (SDM Vol. 3 4.7). */
#define PF_P 0x01u
#define PF_W 0x02u
#define PF_U 0x04u
#define PF_RSVD 0x08u
#define PF_I 0x10u

/* Access intents, also the translate-validate bits. */
#define ACC_R 0x1u
#define ACC_W 0x2u
#define ACC_X 0x4u
#define ACC_ALIGN 0x8u /* not a validation: the access must be aligned to its size, #GP(0) */
#define ACC_SYS 0x10u  /* an implicit supervisor access (descriptor tables), at any CPL */

#include "cpubits.h"
#include "vcpu.h"
#include "decode.h"
#include "ram.h"

/* fast.c: the exit shortcut's plan for a decoded form, made once when the
 * form enters the decode cache (fast_plan). kind FAST_NONE: the shortcut
 * does not apply. The registers are those the instruction's batch names
 * on a memory exit, in the batch's order; base, index, reg and seg index
 * them (FAST_NOREG: not used; the memory kinds but FAST_MOVS give a base,
 * index or register source they lack FAST_ZERO, a slot that reads 0). */
#define FAST_MAX_REGS 8
#define FAST_MEM_REGS 4 /* the batch of the memory kinds but FAST_MOVS: at most this */
#define FAST_ZERO FAST_MEM_REGS /* their slot after the batch, zero: an operand not there */
#define FAST_NOREG 0xFF
enum { FAST_NONE, FAST_STORE, FAST_LOAD, FAST_ALU, FAST_MOVS, FAST_IN, FAST_OUT };
struct fast_plan {
    uint8_t kind;
    uint8_t op;    /* FAST_ALU: enum alu_op; FAST_LOAD: sign-extend the value */
    uint8_t midx;  /* the memory operand */
    uint8_t intent; /* ACC_R / ACC_W the exit's access must cover */
    uint8_t accept; /* memory kinds: bit t set when an exit of WHV_MEMORY_ACCESS_TYPE t
                       covers intent */
    uint8_t nregs;
    /* Memory kinds but FAST_MOVS: the decoded form's operands as the
     * shortcut computes with them. */
    uint8_t size;      /* the memory operand: 1, 2, 4 or 8 bytes */
    uint8_t len;       /* the instruction's length */
    uint8_t scale;     /* the index's scale */
    uint8_t src_shift; /* the register source: 8 for AH..BH, else 0 */
    bool src_imm;      /* the source is the immediate src */
    bool riprel;
    bool alu_write;    /* FAST_ALU: the result is written */
    uint64_t disp;     /* the displacement */
    uint64_t amask;    /* the address size's mask */
    uint64_t src;      /* the immediate, or the register source's mask */
    uint8_t base, index, reg, seg; /* FAST_MOVS: rSI, rDI, rCX, the source segment */
    uint8_t walk[4];       /* FAST_MOVS: CR0, CR3, CR4, EFER */
    WHV_REGISTER_NAME dst; /* the register a load or ALU instruction writes */
    bool io_out, io_imm;   /* IN/OUT: direction; the port is an immediate */
    uint8_t io_size;
    uint16_t io_port;      /* the immediate port */
    uint8_t slot[FAST_MAX_REGS];
    WHV_REGISTER_NAME name[FAST_MAX_REGS];
};

/* dcache.c: the handle's last decoded forms (see there). */
#define DCACHE_ENTRIES 4
struct dcache_entry {
    uint64_t key[2], mask[2]; /* the instruction's bytes, and which bytes count */
    uint8_t mode;             /* enum cpu_mode, DCACHE_NO_MODE when not valid */
    struct fast_plan plan;
    struct insn in;
};
struct dcache {
    struct dcache_entry e[DCACHE_ENTRIES];
    uint8_t next; /* the slot the next miss decodes into */
    uint8_t last; /* the slot the last hit found */
};
/* The cached form of these bytes in this mode, or NULL. An entry not
 * valid has mode DCACHE_NO_MODE. */
#define DCACHE_NO_MODE 0xFF
void dcache_init(struct dcache *dc); /* every entry not valid */
const struct dcache_entry *dcache_search(struct dcache *dc, uint8_t mode, const uint64_t b[2],
                                         unsigned nbytes);
static inline bool dcache_holds(const struct dcache_entry *d, uint8_t mode, const uint64_t b[2],
                                unsigned nbytes)
{
    return d->mode == mode && nbytes >= d->in.len && (b[0] & d->mask[0]) == d->key[0] &&
           (b[1] & d->mask[1]) == d->key[1];
}
static inline const struct dcache_entry *dcache_lookup(struct dcache *dc, uint8_t mode,
                                                       const uint8_t bytes[16], unsigned nbytes)
{
    uint64_t b[2];
    memcpy(b, bytes, 16);
    const struct dcache_entry *d = &dc->e[dc->last]; /* exits repeat */
    if (dcache_holds(d, mode, b, nbytes))
        return d;
    return dcache_search(dc, mode, b, nbytes);
}
/* The decoded form of these bytes in this mode, or NULL. */
const struct insn *dcache_find(struct dcache *dc, uint8_t mode, const uint8_t bytes[16],
                               unsigned nbytes);
/* The slot a miss decodes into (not valid until kept). */
struct insn *dcache_slot(struct dcache *dc);
/* Keep the slot's successful decode of `bytes` (its first in.len count). */
void dcache_keep(struct dcache *dc, uint8_t mode, const uint8_t bytes[16]);
void fast_plan(const struct insn *in, enum cpu_mode mode, struct fast_plan *p);
#include "hostfp.h"

/* The facts behind whvemu_get_last_diagnostics, written only on the
 * failure path; valid while last_failure is not api.c's no_failure. */
struct emu_diag {
    uint8_t reason;   /* WHVEMU_DIAG_REASON */
    uint8_t mode;     /* enum cpu_mode = WHVEMU_CPU_MODE */
    uint8_t callback; /* WHVEMU_DIAG_CALLBACK */
    uint8_t vector;
    bool has_error_code;
    uint8_t nbytes;
    uint32_t error_code;
    HRESULT cb_hr;
    uint64_t cr2;
    const char *mnem;
    uint8_t bytes[16];
};

#define RAM_MISS_NONE 1u /* not a page address */

/* What a handle holds between calls. Changed only by the thread that holds
 * the handle (handle.c). */
struct emu_handle {
    WHV_EMULATOR_CALLBACKS cb;
    void *slot;       /* its registry slot (handle.c) */
    uint64_t idle;    /* the slot's state while no call holds it (handle.c) */
    const char *last_failure;
    struct emu_diag diag;
    /* extensions (whvemu.h) */
    HRESULT(CALLBACK *xstate)(VOID *ctx, UINT32 component, BOOL write, VOID *buf, UINT32 size);
    uint32_t rep_limit; /* REP iterations per call; 0: run to completion */
    bool fast_cfg;      /* the exit shortcut (fast.c) is allowed (WHVEMU_NO_FAST_PATH) */
    bool fast;          /* it is on: allowed and no recorder (trace.c) */
    struct dcache dc;
    uint64_t ram_miss;  /* a guest-physical page in no RAM range (the last device
                           page seen), RAM_MISS_NONE; reset with the ranges */
    struct ram_map ram; /* guest RAM (whvemu_set_guest_ram); owned, replaced only
                           under the handle's claim, so a call sees one list */
    struct hostfp_caps fp; /* the host CPU, read at creation (hostfp.c) */
    struct trace_state *trace; /* the recorder (trace.c), NULL when off */
};

/* A LOCKed (or implicitly locked) read-modify-write whose operand is in
 * writable guest RAM runs as a host compare-exchange: the operand's read
 * records the naturally aligned word (1..16 bytes) that holds it, with its
 * value (or the operand itself where no such word does); the write is a
 * compare-exchange of that word, and a word changed
 * meanwhile runs the instruction again (exec.c, mem.c). */
enum { ATOM_OFF, ATOM_ARMED, ATOM_READ, ATOM_DONE, ATOM_CONFLICT };
struct atom {
    uint8_t state;
    uint8_t size; /* the word's bytes: 1, 2, 4, 8 or 16 */
    uint8_t off;  /* the operand's first byte in the word */
    uint8_t n;    /* the operand's bytes */
    bool split;   /* no aligned word holds it: a split-lock compare-exchange of the
                     operand itself (ram_split_cas) */
    uint8_t *host; /* the word */
    uint64_t old[2]; /* the word as read, low quadword first */
};

struct page_slot {
    uint64_t gva_page;
    uint64_t gpa_page;
    uint8_t access; /* intents validated for this page */
};

struct fault {
    uint8_t vector;
    bool has_error_code;
    uint32_t error_code;
    uint64_t cr2;
};

struct emu {
    /* input, fixed for the call (emu_init) */
    const struct emu_handle *h;
    void *ctx;
    const WHV_VP_EXIT_CONTEXT *vp; /* = &vpc: the caller's context is read once */
    struct dcache *dc; /* the handle's decode cache */
    const struct ram_map *ram; /* the handle's guest RAM (whvemu_set_guest_ram) */
    uint64_t *ram_miss; /* the handle's last page outside RAM */
    const struct hostfp_caps *fp; /* the handle's host capabilities */
    enum cpu_mode mode;
    uint8_t cpl;
    WHV_VP_EXIT_CONTEXT vpc;

    /* working state that need not start zero */
    uint8_t bytes[16];
    WHV_X64_IO_PORT_ACCESS_INFO io_info; /* the port exit's access, copied at entry */
    uint8_t vlmax;     /* bytes a VEX/EVEX register write defines (16, 32 or 64, by XCR0) */
    uint64_t branch_rip;
    struct page_slot pages[EMU_PAGE_SLOTS];
    /* output */
    struct fault fault;
    HRESULT cb_hr;   /* what a failed callback returned (set where status is set) */
    uint8_t diag;    /* WHVEMU_DIAG_REASON of a refusal (api.c) */

    /* From here to regs.v: zeroed at the start of every call (emu_init),
     * one block, so a field added here starts as 0 / false / NULL. */
    bool exit_gva_valid;
    uint8_t exit_access; /* ACC_* the exit's access type covers */
    uint8_t nbytes;
    uint8_t npages;
    bool io;           /* a port I/O exit */
    bool shadow;       /* the instruction blocks interrupts after it (MOV SS, POP SS) */
    bool branch;       /* the instruction transfers control to branch_rip */
    bool rf_loaded;    /* the instruction loaded RFLAGS.RF (IRET): it is not cleared */
    uint8_t len_override; /* instruction length from the exit (synthesized IN/OUT) */
    uint16_t io_port;  /* its port */
    uint32_t ram_hint; /* the range the last RAM lookup found */
    uint32_t rep_done; /* REP iterations completed in this call */
    uint32_t status;   /* WHV_EMULATOR_STATUS bits for a failed callback */
    uint64_t exit_gva;
    uint64_t exit_gpa;
    uint64_t want;     /* vcpu slots needed besides the instruction's */
    uint64_t keep_on_fault; /* dirty slots that stay on a fault (REP progress) */
    const char *why;   /* reason for RC_UNSUPPORTED / RC_INTERNAL */
    const struct insn *in; /* the decoded instruction */
    struct atom atom;  /* a locked read-modify-write on guest RAM (exec_atomic) */
    struct vcpu regs;  /* its bitmaps are in the zeroed block, its values not */
};

typedef enum rc (*handler_fn)(struct emu *e, const struct insn *in);

/* exec.c: operand access for handlers and the instruction driver. */
enum rc exec_insn(struct emu *e);
enum rc op_read(struct emu *e, const struct insn *in, unsigned idx, uint64_t *val);
enum rc op_write(struct emu *e, const struct insn *in, unsigned idx, uint64_t val);
enum rc op_addr(struct emu *e, const struct insn *in, unsigned idx, uint8_t *seg, uint64_t *off);
/* Vector-sized operand access: `buf` holds EMU_MAX_ACCESS bytes, of which
 * the operand's size is used. A vector register destination is written with
 * the VEX/EVEX zeroing above its size; a legacy SSE write keeps bits above
 * 127. An aligned row's memory operand must be aligned to its size. */
enum rc op_read_vec(struct emu *e, const struct insn *in, unsigned idx, uint8_t *buf);
enum rc op_write_vec(struct emu *e, const struct insn *in, unsigned idx, const uint8_t *buf);
/* Whether EVEX opmask element i is enabled (always, without an opmask). */
bool op_mask_on(const struct emu *e, const struct insn *in, unsigned i);
/* Memory operand idx read or written element by element: only the elements
 * of `es` bytes whose bit is set in `on` are accessed (reads give zeros for
 * the others). */
enum rc op_masked_access(struct emu *e, const struct insn *in, unsigned idx, uint8_t *buf,
                         bool write, uint64_t on, unsigned es);
unsigned mask_count(const struct insn *in);
void op_write_vec_whole(struct emu *e, const struct insn *in, unsigned idx, const uint8_t *buf);
void flags_set(struct emu *e, const struct insn *in, uint32_t fl);
static inline uint64_t size_mask(unsigned size)
{
    return size >= 8 ? ~(uint64_t)0 : (((uint64_t)1 << (8 * size)) - 1);
}

static inline uint64_t sign_extend(uint64_t v, unsigned size)
{
    if (size >= 8)
        return v;
    uint64_t sign = (uint64_t)1 << (8 * size - 1);
    v &= size_mask(size);
    return (v ^ sign) - sign;
}

static inline uint64_t addr_mask(unsigned addrsize)
{
    return size_mask(addrsize);
}

/* The value of a general register as an operand of `size` bytes (high8:
 * AH..BH), and the register after such an operand is written: 4 bytes
 * zero-extend to 64 bits, 1 and 2 bytes merge (SDM Vol. 1 3.4.1.1). */
static inline uint64_t gpr_part(uint64_t reg, unsigned size, bool high8)
{
    return high8 ? (reg >> 8) & 0xFF : reg & size_mask(size);
}

static inline uint64_t gpr_merge(uint64_t reg, unsigned size, bool high8, uint64_t v)
{
    if (size == 4)
        return v & 0xFFFFFFFFu;
    if (size >= 8)
        return v;
    if (high8)
        return (reg & ~(uint64_t)0xFF00) | ((v & 0xFF) << 8);
    return (reg & ~size_mask(size)) | (v & size_mask(size));
}

/* Whether a linear address is canonical for `bits` (48 or 57) bits. */
static inline bool emu_canonical(uint64_t a, unsigned bits)
{
    uint64_t top = (uint64_t)((int64_t)(a << (64 - bits)) >> (64 - bits));
    return top == a;
}

/* The CPU mode an exit context describes (SDM Vol. 3 2.2). */
static inline enum cpu_mode emu_mode_of(const WHV_VP_EXIT_CONTEXT *vp)
{
    if (!vp->ExecutionState.Cr0Pe)
        return MODE_REAL;
    if (vp->ExecutionState.EferLma) /* IA-32e mode ignores RFLAGS.VM */
        return vp->Cs.Long ? MODE_LONG64 : vp->Cs.Default ? MODE_COMPAT32 : MODE_COMPAT16;
    if (vp->Rflags & 0x20000u) /* RFLAGS.VM */
        return MODE_V86;
    return vp->Cs.Default ? MODE_PROT32 : MODE_PROT16;
}

/* The decoder's defaults in a CPU mode. */
static inline void emu_dec_mode(enum cpu_mode mode, struct dec_mode *dm)
{
    dm->long64 = mode == MODE_LONG64;
    dm->opsize = (mode == MODE_LONG64 || mode == MODE_PROT32 || mode == MODE_COMPAT32) ? 4 : 2;
    dm->addrsize = mode == MODE_LONG64 ? 8 : dm->opsize;
}

/* RIP after an instruction of `len` bytes that does not branch. Outside
 * 64-bit mode EIP is 32 bits wide, in 16-bit code too: an instruction
 * ending at or past offset 0xFFFF leaves EIP = 0x10000 and up, not wrapped
 * (only branches truncate to the operand size), and the CPU's next fetch
 * there is checked against the CS limit. */
static inline uint64_t emu_next_rip(enum cpu_mode mode, uint64_t rip, unsigned len)
{
    rip += len;
    return mode == MODE_LONG64 ? rip : rip & 0xFFFFFFFFu;
}

/* RFLAGS after an instruction of row r produced the arithmetic flags fl:
 * the row's defined and undefined bits replaced, the others kept. */
static inline uint64_t rflags_merge(uint64_t rf, const struct op_row *r, uint32_t fl)
{
    uint32_t mask = (uint32_t)r->fl_out | r->fl_undef;
    return (rf & ~(uint64_t)mask) | (fl & mask);
}

/* alu.c: the two-operand arithmetic and logic, as a pure function of the
 * operands and the carry in: the result (not masked) and its flags. */
enum alu_op { ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP, ALU_TEST };
uint64_t alu_compute(enum alu_op op, uint64_t a, uint64_t b, uint64_t carry, unsigned size,
                     uint32_t *fl);
/* Little-endian values of 1..8 bytes in guest byte order. */
uint64_t le_load(const uint8_t *b, unsigned size);
void le_store(uint8_t *b, uint64_t v, unsigned size);

/* stack.c: the stack pointer's width (SS.B outside 64-bit mode), and a
 * push of `size` bytes through SS that moves rSP only once it is done. */
uint64_t stack_addr_mask(const struct emu *e);
enum rc stack_push_value(struct emu *e, uint64_t v, unsigned size);

/* seg.c: descriptors (raw 8-byte values) and segment register loads. */
unsigned seg_desc_type(uint64_t d);
unsigned seg_desc_dpl(uint64_t d);
bool seg_desc_s(uint64_t d);
bool seg_desc_p(uint64_t d);
void seg_from_desc(uint64_t d, uint16_t sel, WHV_X64_SEGMENT_REGISTER *s);
/* The descriptor a non-null selector names (#GP(sel) beyond the table). */
enum rc seg_desc_read(struct emu *e, uint16_t sel, uint64_t *desc, uint64_t *addr);
/* Sets the accessed bit in *desc and in the table at addr. */
enum rc seg_desc_touch(struct emu *e, uint64_t *desc, uint64_t addr);
/* The value a load of sel into data/stack register sreg gives, checked. */
enum rc seg_load(struct emu *e, unsigned sreg, uint16_t sel, WHV_X64_SEGMENT_REGISTER *out);

/* string.c: the REP loop shared by the string and string I/O instructions.
 * str_run() checks the count and the call's budget before each iteration,
 * runs `step` for one element (memory and port accesses first, then the
 * index registers through str_bump), counts rCX down and ends REPE/REPNE. */
struct str_state {
    unsigned size;  /* element size */
    uint64_t amask; /* address-size mask of rSI/rDI/rCX */
    uint64_t step;  /* +size or -size (DF) */
    bool rep;
};
typedef enum rc (*str_step_fn)(struct emu *e, const struct insn *in, const struct str_state *s);
enum rc str_run(struct emu *e, const struct insn *in, str_step_fn step);
void str_bump(struct emu *e, unsigned reg, const struct str_state *s);

/* io.c: whether the port exit's access (direction, size, string and REP,
 * the port of an immediate form) is the one port I/O instruction `in`
 * makes. */
bool io_exit_matches(const struct insn *in, WHV_X64_IO_PORT_ACCESS_INFO ai, uint16_t port);
/* The I/O port callback for one access of `size` bytes: *data is written,
 * or read (masked to size). The callback's HRESULT. */
HRESULT io_port_call(const struct emu_handle *eh, void *ctx, uint16_t port, unsigned size,
                     bool out, uint32_t *data);

/* flags.c: arithmetic flags in portable C. */
uint32_t flags_szp(uint64_t r, unsigned size);
uint32_t flags_add(uint64_t a, uint64_t b, uint64_t carry, uint64_t r, unsigned size);
uint32_t flags_sub(uint64_t a, uint64_t b, uint64_t borrow, uint64_t r, unsigned size);
uint32_t flags_logic(uint64_t r, unsigned size);
bool flags_cond(uint32_t rflags, unsigned cc);

/* fault.c: record an architectural fault; each returns RC_FAULT. */
enum rc fault_raise(struct emu *e, uint8_t vector, bool has_ec, uint32_t ec);
enum rc fault_gp(struct emu *e, uint32_t ec);
enum rc fault_ss(struct emu *e, uint32_t ec);
enum rc fault_np(struct emu *e, uint32_t ec);
enum rc fault_ud(struct emu *e);
enum rc fault_nm(struct emu *e);
enum rc fault_mf(struct emu *e);
enum rc fault_de(struct emu *e);
enum rc fault_ac(struct emu *e);
enum rc fault_pf(struct emu *e, uint64_t lin, uint32_t ec);
enum rc emu_unsupported(struct emu *e, const char *why);
void fault_inject(struct emu *e);

#include "handlers.h"

#endif /* WHVEMU_EMU_H */
