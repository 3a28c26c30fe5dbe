/*
 * decode.h - the decoder's output (`struct insn`), the opcode-table row
 * format, and the decoder entry point. The decoder knows every mode; it
 * reads only the bytes it is given and calls no callback.
 */
#ifndef WHVEMU_DECODE_H
#define WHVEMU_DECODE_H

#include <stdbool.h>
#include <stdint.h>

struct emu;
struct insn;

/* Opcode maps. VEX/EVEX maps are separate keys. */
enum {
    MAP_1B = 0,
    MAP_0F = 1,
    MAP_0F38 = 2,
    MAP_0F3A = 3,
    MAP_VEX_0F = 5,
    MAP_VEX_0F38 = 6,
    MAP_VEX_0F3A = 7,
    MAP_EVEX_0F = 9,
    MAP_EVEX_0F38 = 10,
    MAP_EVEX_0F3A = 11,
};

/* Mandatory-prefix column of a key. */
enum { PFX_NONE = 0, PFX_66 = 1, PFX_F3 = 2, PFX_F2 = 3 };
#define REG_ANY 8

/* A row's key: map, opcode, mandatory prefix, ModRM.reg (or REG_ANY) and
 * the VEX/EVEX.W the row needs (W_ANY, W_0, W_1). Rows are sorted by key, so
 * all rows of one opcode (key >> 8) are adjacent. */
enum { W_ANY = 0, W_0 = 1, W_1 = 2 };
#define OPCW(map, pfx, op, reg, w)                                                                 \
    ((uint32_t)(map) << 16 | (uint32_t)(op) << 8 | (uint32_t)(pfx) << 6 | (uint32_t)(reg) << 2 |  \
     (uint32_t)(w))
#define OPC(map, pfx, op, reg) OPCW(map, pfx, op, reg, W_ANY)
#define OPC_MAP(k) ((k) >> 16)
#define OPC_OP(k) (((k) >> 8) & 0xFF)
#define OPC_PFX(k) (((k) >> 6) & 3)
#define OPC_REG(k) (((k) >> 2) & 0xF)
#define OPC_W(k) ((k)&3)
#define OPC_GROUP(k) ((k) >> 8) /* map and opcode */

/* Operand kinds, SDM Vol. 2 appendix A letters plus a size. */
enum opk {
    K_NONE = 0,
    K_Eb, K_Ew, K_Ev, K_Ez,       /* ModRM r/m; z: word, else dword */
    K_Mv, K_My, K_Mcx,            /* ModRM memory only; Mcx is m64 or m128 (REX.W) */
    K_Gb, K_Gv, K_Gy,             /* ModRM reg */
    K_Ib,                         /* imm8 of a byte operation */
    K_Ibs,                        /* imm8 sign-extended to the operand size */
    K_Ibu,                        /* imm8 taken as it is (counts, bit offsets) */
    K_Iz,                         /* imm16/imm32, sign-extended to the operand size */
    K_AL, K_rAX, K_CL, K_ONE,     /* fixed operands */
    K_Ob, K_Ov,                   /* moffs: address-size offset in the instruction */
    K_Xb, K_Xv,                   /* DS:rSI (segment overridable) */
    K_Yb, K_Yv,                   /* ES:rDI */
    K_eAX,                        /* AX or EAX (port I/O data) */
    K_DX,                         /* the port in DX */
    K_Xz, K_Yz,                   /* string I/O elements: word or dword */
    K_Ey,                         /* ModRM r/m: dword, qword with REX.W (64-bit mode) */
    /* Vector operands. V: ModRM.reg, W: ModRM r/m register or memory,
     * U: ModRM r/m register only, H: VEX.vvvv, M: memory only; P/Q/N the
     * same for MMX registers. x: 16 or 32 bytes by VEX.L; dq 16, q 8, d 4. */
    K_Vx, K_Vdq, K_Vq, K_Vd,
    K_Wx, K_Wdq, K_Wq, K_Wd,
    K_Ux, K_Udq, K_Hx, K_Hdq,
    K_Mx, K_Mdq, K_Mq, K_Md,
    K_Pq, K_Qq, K_Nq,
    K_DSDI, K_DSDIq,              /* DS:rDI (segment overridable), 16 / 8 bytes: MASKMOVDQU, MASKMOVQ */
    K_By,                         /* VEX.vvvv as a general-purpose register, dword or qword */
    K_XLAT,                       /* DS:[rBX + AL] (segment overridable), a byte: XLAT */
    K_M64B,                       /* ModRM memory only, 64 bytes (MOVDIR64B) */
    K_Ga,                         /* ModRM reg of the address size (MOVDIR64B's destination) */
    K_KR,                         /* ModRM reg as an opmask register k0-k7 (EVEX compares) */
    K_Iw,                         /* imm16 (RET imm16) */
    /* Vector r/m operands of other sizes: b, w, y (dword, qword with W),
     * h/qt/e (half, quarter, eighth of the vector length: PMOVZX/SX), dup
     * (MOVDDUP: a qword, or 32 bytes with VEX.L). */
    K_Wb, K_Ww, K_Wy, K_Wh, K_Wqt, K_We, K_Wdup,
    K_Sw,                         /* ModRM.reg as a segment register (ES..GS; 6, 7: #UD) */
    K_So,                         /* the segment register the opcode names (PUSH/POP Sreg) */
    K_Mp,                         /* ModRM memory only: a far pointer, offset of the operand
                                     size then a 16-bit selector (m16:16, m16:32, m16:64) */
    /* x87 memory operands: m16 (control/status words, word integers), m80
     * (double extended real, packed BCD), the 512-byte FXSAVE area (its
     * size does not fit opnd.size, which holds 0; X87_FXSAVE_SIZE), the
     * x87 environment (14 or 28 bytes by operand size) and the FNSAVE area
     * (94 or 108): opnd.size 0, the handler sizes them. */
    K_Mw, K_Mt, K_Mfx, K_Menv, K_Msav,
    K_Gw,                         /* ModRM reg, always a word (ARPL) */
    K_Ma,                         /* ModRM memory only: two operand-size bounds (BOUND) */
    /* EVEX: the ModRM reg register of half the vector length (VCVTPD2PS
     * ymm, zmm/m512); a 32-byte r/m operand, of 512-bit forms only
     * (VINSERTI32X8, VBROADCASTI64X4: with memory, EVEX.L'L != 2 is #UD); a
     * vector-length r/m operand whose disp8 is scaled by the element, of
     * which only the elements the opmask packs are accessed (VPCOMPRESSD,
     * VPEXPANDD). */
    K_Vh, K_Wqq, K_Wxe,
    K_COUNT
};

/* Row traits: independent bits. */
#define T_LOCK 0x0001u     /* LOCK allowed when the destination is memory */
#define T_REP 0x0002u      /* F3 means REP (MOVS STOS LODS INS OUTS) */
#define T_REPCC 0x0004u    /* F3/F2 mean REPE/REPNE (CMPS SCAS) */
#define T_NO64 0x0008u     /* #UD in 64-bit mode */
#define T_ONLY64 0x0010u   /* this meaning exists only in 64-bit mode; a T_NO64 row and a
                              T_ONLY64 row may share a key (63: ARPL, MOVSXD), the mode picks */
#define T_DEF64 0x0020u    /* operand size defaults to 64 in 64-bit mode */
#define T_NOWRITE 0x0040u  /* destination is read, never written (CMP TEST BT) */
#define T_MOV 0x0080u      /* destination is written, never read */
#define T_NOREP 0x0100u    /* F2/F3 make the encoding another instruction */
#define T_ALIGNED 0x0200u  /* memory operand must be aligned to its size (#GP(0)) */
#define T_XCHG 0x0400u     /* implicitly locked */
#define T_BITOFS 0x0800u   /* register bit offset addresses beyond the operand */
#define T_NP 0x1000u       /* no 66/F2/F3 allowed (they select another instruction) */
#define T_IO 0x2000u       /* port I/O: only through WHvEmulatorTryIoEmulation */
#define T_SSE 0x4000u      /* SSE/AVX register state: #UD/#NM from CR0, CR4, XCR0 */
#define T_MMX 0x8000u      /* MMX register state: #UD/#NM/#MF, x87 tags made valid */
#define T_MEMFORM 0x10000u /* only the memory form is emulated (register forms cause no exit) */
#define T_L0 0x20000u      /* VEX.L / EVEX.L'L must be 0 (#UD) */
#define T_ESZ_SHIFT 18     /* log2 of the element size EVEX masking works on */
#define T_E16 (1u << T_ESZ_SHIFT)
#define T_E32 (2u << T_ESZ_SHIFT)
#define T_E64 (3u << T_ESZ_SHIFT)
#define T_NOMASK 0x100000u /* EVEX: no opmask or zeroing (aaa = 0, z = 0), else #UD */
#define T_BCST 0x200000u   /* EVEX.b with memory: one element broadcast (its size: T_E*) */
#define T_IMM8 0x400000u   /* an imm8 follows the operands (in->imm8) */
#define T_L1 0x1000000u   /* VEX.L must be 1 (256-bit only) */
#define T_SEG 0x2000000u   /* loads a segment register: the descriptor tables, every segment
                              register and the interrupt state are fetched */
#define T_X87 0x4000000u   /* x87 state: #NM from CR0.EM/TS; the FP registers are needed */
#define T_MXCSR 0x8000000u /* reads and updates MXCSR (SIMD floating point) */
#define T_NOFS 0x10000000u /* EVEX: no memory fault suppression (memory elements are not the
                              destination's): the whole memory operand is read, then masked */
#define T_SUBV 0x20000000u /* EVEX: the memory operand is repeated over the destination
                              (broadcasts); a memory element is read if any copy is enabled */
#define T_NOT128 0x40000000u /* EVEX.L'L = 0 is #UD (256- and 512-bit forms only) */
#define T_NEAR 0x800000u   /* near branch: in 64-bit mode a 66 prefix (16 bits on AMD, ignored
                              on Intel, which changes the length of E8) is refused */

/* Implicit registers a row needs (GPR bit numbers). */
#define N_AX (1u << 0)
#define N_CX (1u << 1)
#define N_DX (1u << 2)
#define N_BX (1u << 3)
#define N_SP (1u << 4)
#define N_SI (1u << 6)
#define N_DI (1u << 7)
#define N_ES (1u << (18 + 0)) /* VR_SEG_BIT(SEG_ES) */

struct op_row {
    uint32_t key;
    const char *mnem;
    uint8_t k[3];      /* operand kinds: destination, source, second source */
    uint32_t traits;
    uint16_t fl_out;   /* RFLAGS bits the instruction defines */
    uint16_t fl_undef; /* RFLAGS bits the SDM leaves undefined */
    uint32_t needs;    /* implicit registers (N_* bits, vcpu slots) */
    enum rc (*fn)(struct emu *e, const struct insn *in);
    const char *fn_name;
};

/* Operand after decoding. */
enum { OPND_NONE, OPND_REG, OPND_MEM, OPND_IMM, OPND_VREG, OPND_MMX, OPND_KREG, OPND_SREG };

struct opnd {
    uint8_t type;
    uint8_t size;  /* bytes */
    uint8_t reg;   /* GPR, vector or MMX register number */
    bool high8;    /* AH CH DH BH */
    uint64_t imm;  /* OPND_IMM value, already extended */
};

/* Memory operand address parts. */
#define NO_REG 0xFF
enum { MEM_MODRM, MEM_MOFFS, MEM_STR_SRC, MEM_STR_DST, MEM_DSDI, MEM_XLAT };

struct insn {
    const struct op_row *row;
    uint8_t len;
    uint8_t opsize;   /* effective operand size in bytes: 2, 4, 8 (byte operands carry
                         their own size in op[i].size) */
    uint8_t addrsize; /* 2, 4, 8 */
    uint8_t seg;      /* segment of the ModRM/moffs/string-source operand */
    uint8_t seg_override; /* SEG_NONE when absent */
    uint8_t rep;      /* 0, PFX_F3 or PFX_F2 (last one wins) */
    bool lock;
    bool opsize66;
    uint8_t rex;      /* the REX byte, 0 if none */
    bool vex;         /* VEX or EVEX encoded */
    bool evex;        /* EVEX encoded */
    uint8_t vvvv, vl, vw; /* vvvv: 0..15, 0..31 with EVEX.V'; vl: 0, 1, 2 = 128, 256, 512 */
    uint8_t mask;     /* EVEX.aaa: opmask register, 0 = none */
    bool zeroing;     /* EVEX.z */
    bool bcst;        /* EVEX.b */
    uint8_t reg_hi;   /* EVEX.R' as 16 (added to ModRM.reg), else 0 */
    uint8_t imm8;     /* the trailing imm8 of a T_IMM8 row */
    bool has_modrm;
    uint8_t modrm, mod, reg, rm; /* reg and rm include REX.R / REX.B */
    uint8_t map;
    uint8_t opcode;
    /* memory operand: seg:[base + index*scale + disp] or moffs */
    uint8_t mem_form;
    uint8_t base, index, scale;
    bool riprel;
    uint64_t disp;    /* sign-extended displacement, or the moffs value */
    uint8_t nops;
    struct opnd op[3];
    uint64_t needs;   /* vcpu slots the instruction needs (VR_* bits) */
    uint8_t xneeds;   /* extended-state components it reads (XC_* bits) */
    uint8_t mem_access; /* ACC_* for the ModRM/moffs memory operand */
    bool seg_used;    /* a memory operand uses in->seg */
    bool uses_vvvv;   /* an operand is VEX.vvvv (else it must be 1111b) */
    bool any_mem;     /* it accesses memory (an operand, the stack, descriptor tables) */
    bool one_mem;     /* its only memory access is one ModRM operand of up to 8 bytes */
};

/* Decoder outcomes. */
enum dec_status {
    DEC_OK,
    DEC_NEED_MORE,   /* the bytes end before the instruction: fetch more */
    DEC_TOO_LONG,    /* longer than 15 bytes: #GP(0) */
    DEC_UD,          /* invalid encoding: #UD */
    DEC_UNSUPPORTED, /* valid, perhaps, but not in our table */
};

struct dec_mode {
    bool long64;      /* 64-bit mode */
    uint8_t opsize;   /* default operand size: 2 or 4 */
    uint8_t addrsize; /* default address size: 2, 4 or 8 */
};

enum dec_status dec_decode(const struct dec_mode *m, const uint8_t *bytes, unsigned n,
                           struct insn *in);
const char *dec_status_text(enum dec_status s);

/* The opcode table, sorted by key (for tests and tools). */
const struct op_row *dec_rows(unsigned *count);
const char *dec_kind_name(uint8_t k);
bool dec_evex_model_checked(const struct op_row *r);

#endif /* WHVEMU_DECODE_H */
