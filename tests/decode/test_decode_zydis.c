/*
 * test_decode_zydis.c - differential test of the instruction decoder
 * (src/decode.c) against Zydis 4, in the three decoder modes: 64-bit,
 * 32-bit protected/compatibility and 16-bit.
 *
 * Parts:
 *   1. the opcode table's keys are strictly increasing (binary search and
 *      row selection rely on it);
 *   2. hand-written encodings with their expected outcome, length, memory
 *      access kind and segment, each also checked against Zydis;
 *   3. generated sequences, for every mode, under a fixed seed and under a
 *      per-run seed:
 *        a. from the opcode table: for each row, random legacy prefixes in
 *           random order (repeats included), REX in 64-bit mode (sometimes
 *           in front of a legacy prefix, which cancels it), the map escape,
 *           the opcode, a random ModRM (reg fixed for group rows), then
 *           random SIB/displacement/immediate/trailing bytes;
 *        b. 16 purely random bytes;
 *        c. prefix-stuffed sequences longer than 15 bytes.
 *
 * Rules checked for each sequence, decoded with n = 16 bytes available:
 *   DEC_OK          Zydis decodes it too, with the same length, mnemonic
 *                   (loosely, see mnem_match), operand and address size,
 *                   LOCK/REP, and operands: registers (number, size, AH..BH),
 *                   immediates (masked to our operand size: our imm holds
 *                   the value extended and masked to the operand size) and
 *                   the memory operand (base, index, scale, displacement,
 *                   segment, size, read/write intent against Zydis's operand
 *                   actions). For moffs the offset is compared masked
 *                   to the address size (Zydis sign-extends a 32-bit moffs,
 *                   we zero-extend it; only the low address-size bits form
 *                   the address).
 *                   Sometimes also: the same bytes with n = length decode
 *                   identically, and with fewer bytes give DEC_NEED_MORE
 *                   (and Zydis fails too).
 *   DEC_UD          Zydis rejects it as well (illegal LOCK, invalid opcode,
 *                   bad VEX/EVEX prefix ...). When the same bytes without
 *                   LOCK decode, LOCK is the reason and Zydis must report
 *                   ZYDIS_STATUS_ILLEGAL_LOCK.
 *   DEC_TOO_LONG    Zydis rejects it as well (normally INSTRUCTION_TOO_LONG).
 *   DEC_NEED_MORE   never with 16 bytes: nothing needs more than 15.
 *   DEC_UNSUPPORTED no requirement; a sequence generated from a row that
 *                   Zydis decodes as that row's instruction is counted and
 *                   the first few are printed as notes (coverage, not a
 *                   failure).
 *
 * Segment mapping. Our insn.seg is the effective segment of the ModRM or
 * moffs operand, or of the string source (DS:rSI); the string destination is
 * always ES. Zydis also reports the effective segment: outside 64-bit mode
 * both apply the last segment prefix, else SS for a BP/SP/EBP/ESP-based
 * address and DS otherwise. In 64-bit mode ES/CS/SS/DS overrides are
 * ignored (SDM Vol. 1 3.3.7.1): Zydis then reports the default segment of
 * the address (SS for RSP/RBP-based, DS otherwise, RIP-relative DS), which
 * is what we report, and an FS/GS override wins over any ES/CS/SS/DS prefix
 * wherever it appears. So the segments must be equal in every mode.
 *
 * Where Zydis 4.0 departs from the SDM the test follows the SDM, and counts
 * each tolerated case (printed at the end):
 *   - it decodes MVEX (62 with EVEX P1 bit 2 clear; Knights Corner only):
 *     taken as a rejection, since every other CPU raises #UD;
 *   - with 32-bit addressing in 64-bit mode, SIB base 101 with mod 00 and
 *     REX.B, it reports base r13d and no displacement; the SDM (Vol. 2
 *     table 2-5) says no base and a disp32, REX.B not decoded. Its length
 *     and raw displacement agree with ours;
 *   - MOVSXD with a 16-bit operand size: the SDM has r/m16, Zydis says m32
 *     for the memory form (r16 for the register form).
 *
 * Environment: WHVEMU_DECODE_SEED=<n> makes the per-run seed <n> (the fixed
 * seed pass always runs too); WHVEMU_DECODE_SCALE=<f> scales the number of
 * generated sequences (default 1.0); WHVEMU_DECODE_MAXPRINT=<n> limits the
 * printed mismatches (default 200; all are counted).
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <Zydis/Zydis.h>

#include "emu.h"

_Static_assert(ZYDIS_VERSION_MAJOR(ZYDIS_VERSION) >= 4,
               "this test needs Zydis 4 (ZydisDecoderDecodeFull with operands)");

#define FIXED_SEED 0x77687665u
#define BUF_MAX 40

/* ------------------------------------------------------------------ */
/* modes                                                                */

struct mode_info {
    const char *name;
    struct dec_mode m;
    ZydisMachineMode zm;
    ZydisStackWidth zs;
    ZydisDecoder zd;
    /* statistics */
    unsigned long tried, accepted, compared, ud, too_long, need_more, unsupported;
    unsigned long ud_checked, too_long_checked, trunc_checked, unsupp_valid, lock_ud_checked;
};

static struct mode_info modes[3] = {
    {.name = "64-bit", .m = {true, 4, 8}, .zm = ZYDIS_MACHINE_MODE_LONG_64,
     .zs = ZYDIS_STACK_WIDTH_64},
    {.name = "32-bit", .m = {false, 4, 4}, .zm = ZYDIS_MACHINE_MODE_LEGACY_32,
     .zs = ZYDIS_STACK_WIDTH_32},
    {.name = "16-bit", .m = {false, 2, 2}, .zm = ZYDIS_MACHINE_MODE_LEGACY_16,
     .zs = ZYDIS_STACK_WIDTH_16},
};

/* ------------------------------------------------------------------ */
/* bookkeeping                                                          */

static unsigned long n_pass, n_fail;
static unsigned long n_printed, max_print = 200;
static unsigned long notes_printed;

/* Places where Zydis 4.0 departs from the SDM; tolerated and counted (see
 * the functions using them). */
static unsigned long quirk_sib_r13, quirk_movsxd16, quirk_mvex, quirk_vvvv32;

/* Mismatch text collected for one sequence. */
struct why {
    char text[1024];
    size_t len;
    unsigned count;
};

#if defined(__GNUC__) || defined(__clang__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

static void why_add(struct why *w, const char *fmt, ...) PRINTF_LIKE(2, 3);
static void why_add(struct why *w, const char *fmt, ...)
{
    w->count++;
    if (w->len + 4 >= sizeof(w->text))
        return;
    if (w->len) {
        w->text[w->len++] = ';';
        w->text[w->len++] = ' ';
    }
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(w->text + w->len, sizeof(w->text) - w->len, fmt, ap);
    va_end(ap);
    if (k > 0)
        w->len += (size_t)k;
    if (w->len >= sizeof(w->text))
        w->len = sizeof(w->text) - 1;
}

static void hex(char *out, size_t cap, const uint8_t *b, unsigned n)
{
    size_t o = 0;
    out[0] = 0;
    for (unsigned i = 0; i < n && o + 4 < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%s%02X", i ? " " : "", b[i]);
}

static const char *seg_name(unsigned s)
{
    static const char *const names[] = {"es", "cs", "ss", "ds", "fs", "gs"};
    return s < 6 ? names[s] : "none";
}

static const char *status_name(enum dec_status s)
{
    switch (s) {
    case DEC_OK: return "DEC_OK";
    case DEC_NEED_MORE: return "DEC_NEED_MORE";
    case DEC_TOO_LONG: return "DEC_TOO_LONG";
    case DEC_UD: return "DEC_UD";
    case DEC_UNSUPPORTED: return "DEC_UNSUPPORTED";
    }
    return "?";
}

static const char *zstatus_name(ZyanStatus s)
{
    if (ZYAN_SUCCESS(s)) return "ok";
    if (s == ZYDIS_STATUS_NO_MORE_DATA) return "NO_MORE_DATA";
    if (s == ZYDIS_STATUS_DECODING_ERROR) return "DECODING_ERROR";
    if (s == ZYDIS_STATUS_INSTRUCTION_TOO_LONG) return "INSTRUCTION_TOO_LONG";
    if (s == ZYDIS_STATUS_BAD_REGISTER) return "BAD_REGISTER";
    if (s == ZYDIS_STATUS_ILLEGAL_LOCK) return "ILLEGAL_LOCK";
    if (s == ZYDIS_STATUS_ILLEGAL_LEGACY_PFX) return "ILLEGAL_LEGACY_PFX";
    if (s == ZYDIS_STATUS_ILLEGAL_REX) return "ILLEGAL_REX";
    if (s == ZYDIS_STATUS_INVALID_MAP) return "INVALID_MAP";
    if (s == ZYDIS_STATUS_MALFORMED_EVEX) return "MALFORMED_EVEX";
    if (s == ZYDIS_STATUS_MALFORMED_MVEX) return "MALFORMED_MVEX";
    if (s == ZYDIS_STATUS_INVALID_MASK) return "INVALID_MASK";
    if (s == ZYAN_MAKE_STATUS(1u, 0x7Fu, 0x7Fu)) return "MVEX (Knights Corner only)";
    return "error";
}

static bool is_str_src(uint8_t k)
{
    return k == K_Xb || k == K_Xv || k == K_Xz;
}

static bool is_str_dst(uint8_t k)
{
    return k == K_Yb || k == K_Yv || k == K_Yz;
}

static bool is_prefix_byte(const struct mode_info *mi, uint8_t b)
{
    switch (b) {
    case 0x66: case 0x67: case 0xF2: case 0xF3: case 0xF0:
    case 0x26: case 0x2E: case 0x36: case 0x3E: case 0x64: case 0x65:
        return true;
    default:
        return mi->m.long64 && (b & 0xF0) == 0x40;
    }
}

static uint64_t mask_of(unsigned size)
{
    return size >= 8 ? ~(uint64_t)0 : (((uint64_t)1 << (8 * size)) - 1);
}

/* ------------------------------------------------------------------ */
/* describing both decodings                                            */

static void fmt_ours(char *out, size_t cap, enum dec_status st, const struct insn *in)
{
    if (st != DEC_OK) {
        snprintf(out, cap, "%s", status_name(st));
        return;
    }
    size_t o = (size_t)snprintf(out, cap, "%s len=%u os=%u as=%u%s%s%s", in->row->mnem, in->len,
                                in->opsize * 8u, in->addrsize * 8u, in->lock ? " lock" : "",
                                in->rep == PFX_F3 ? " rep(f3)" : in->rep == PFX_F2 ? " rep(f2)" : "",
                                in->rex ? " rex" : "");
    for (unsigned i = 0; i < in->nops && o < cap; i++) {
        const struct opnd *p = &in->op[i];
        switch (p->type) {
        case OPND_REG:
            o += (size_t)snprintf(out + o, cap - o, " | reg %u%s/%u", p->reg, p->high8 ? "h" : "",
                                  p->size * 8u);
            break;
        case OPND_IMM:
            o += (size_t)snprintf(out + o, cap - o, " | imm 0x%" PRIx64 "/%u", p->imm,
                                  p->size * 8u);
            break;
        case OPND_MEM:
            if (is_str_src(in->row->k[i]))
                o += (size_t)snprintf(out + o, cap - o, " | %s:[si]/%u", seg_name(in->seg),
                                      p->size * 8u);
            else if (is_str_dst(in->row->k[i]))
                o += (size_t)snprintf(out + o, cap - o, " | es:[di]/%u", p->size * 8u);
            else
                o += (size_t)snprintf(out + o, cap - o,
                                      " | %s:[%s%d + %d*%u + 0x%" PRIx64 "]%s/%u",
                                      seg_name(in->seg), in->riprel ? "rip " : "",
                                      in->base == NO_REG ? -1 : in->base,
                                      in->index == NO_REG ? -1 : in->index, in->scale, in->disp,
                                      in->mem_form == MEM_MOFFS ? " moffs" : "", p->size * 8u);
            break;
        case OPND_NONE:
            o += (size_t)snprintf(out + o, cap - o, " | (%s)", dec_kind_name(in->row->k[i]));
            break;
        default:
            o += (size_t)snprintf(out + o, cap - o, " | ?");
        }
    }
}

static void fmt_zydis(char *out, size_t cap, ZyanStatus zs, const ZydisDecodedInstruction *zi,
                      const ZydisDecodedOperand *zo)
{
    if (!ZYAN_SUCCESS(zs)) {
        snprintf(out, cap, "fails: %s", zstatus_name(zs));
        return;
    }
    size_t o = (size_t)snprintf(out, cap, "%s len=%u os=%u as=%u",
                                ZydisMnemonicGetString(zi->mnemonic), zi->length,
                                zi->operand_width, zi->address_width);
    for (unsigned i = 0; i < zi->operand_count && o < cap; i++) {
        const ZydisDecodedOperand *p = &zo[i];
        const char *vis = p->visibility == ZYDIS_OPERAND_VISIBILITY_HIDDEN ? "(h)" : "";
        switch (p->type) {
        case ZYDIS_OPERAND_TYPE_REGISTER:
            o += (size_t)snprintf(out + o, cap - o, " | %s%s", vis,
                                  ZydisRegisterGetString(p->reg.value));
            break;
        case ZYDIS_OPERAND_TYPE_IMMEDIATE:
            o += (size_t)snprintf(out + o, cap - o, " | %simm 0x%" PRIx64 "/%u", vis,
                                  (uint64_t)p->imm.value.u, p->size);
            break;
        case ZYDIS_OPERAND_TYPE_MEMORY: {
            const char *sg = ZydisRegisterGetString(p->mem.segment);
            const char *bs = ZydisRegisterGetString(p->mem.base);
            const char *ix = ZydisRegisterGetString(p->mem.index);
            o += (size_t)snprintf(out + o, cap - o, " | %s%s:[%s + %s*%u + 0x%" PRIx64 "]/%u", vis,
                                  sg ? sg : "-", bs ? bs : "-", ix ? ix : "-", p->mem.scale,
                                  (uint64_t)p->mem.disp.value, p->size);
            break;
        }
        default:
            o += (size_t)snprintf(out + o, cap - o, " | %s?", vis);
        }
    }
}

static void print_mismatch(const struct mode_info *mi, const char *origin, const uint8_t *b,
                           unsigned n, enum dec_status st, const struct insn *in, ZyanStatus zs,
                           const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo,
                           const struct why *w)
{
    n_fail++;
    if (n_printed++ >= max_print) {
        if (n_printed == max_print + 1)
            printf("(further mismatches are counted, not printed; WHVEMU_DECODE_MAXPRINT)\n");
        return;
    }
    char hb[3 * BUF_MAX + 1], a[768], z[768];
    hex(hb, sizeof(hb), b, n);
    fmt_ours(a, sizeof(a), st, in);
    fmt_zydis(z, sizeof(z), zs, zi, zo);
    printf("MISMATCH %s [%s] n=%u bytes: %s\n  problem: %s\n  ours:  %s\n  zydis: %s\n",
           mi->name, origin, n, hb, w->text, a, z);
}

/* ------------------------------------------------------------------ */
/* mapping our registers to Zydis's                                    */

static ZydisRegister zreg_gpr(unsigned num, unsigned size, bool high8)
{
    switch (size) {
    case 1:
        if (high8)
            return (ZydisRegister)(ZYDIS_REGISTER_AH + num);
        if (num < 4)
            return (ZydisRegister)(ZYDIS_REGISTER_AL + num);
        if (num < 8)
            return (ZydisRegister)(ZYDIS_REGISTER_SPL + (num - 4));
        return (ZydisRegister)(ZYDIS_REGISTER_R8B + (num - 8));
    case 2:
        return (ZydisRegister)(ZYDIS_REGISTER_AX + num);
    case 4:
        return (ZydisRegister)(ZYDIS_REGISTER_EAX + num);
    case 8:
        return (ZydisRegister)(ZYDIS_REGISTER_RAX + num);
    }
    return ZYDIS_REGISTER_NONE;
}

static ZydisRegister zreg_seg(unsigned s)
{
    static const ZydisRegister m[6] = {ZYDIS_REGISTER_ES, ZYDIS_REGISTER_CS, ZYDIS_REGISTER_SS,
                                       ZYDIS_REGISTER_DS, ZYDIS_REGISTER_FS, ZYDIS_REGISTER_GS};
    return s < 6 ? m[s] : ZYDIS_REGISTER_NONE;
}

static const char *zname(ZydisRegister r)
{
    const char *s = ZydisRegisterGetString(r);
    return s ? s : "none";
}

/* ------------------------------------------------------------------ */
/* mnemonics                                                            */

/* Our condition names vs Zydis's (which uses the "n" forms). */
static const char *const cc_alias[][2] = {
    {"ae", "nb"}, {"e", "z"}, {"ne", "nz"}, {"a", "nbe"}, {"ge", "nl"}, {"g", "nle"},
};

static bool mnem_match(const struct insn *in, const char *zm_raw)
{
    char zm[32];
    size_t i;
    for (i = 0; zm_raw[i] && i + 1 < sizeof(zm); i++)
        zm[i] = (char)tolower((unsigned char)zm_raw[i]);
    zm[i] = 0;
    const char *ours = in->row->mnem;
    if (strcmp(ours, zm) == 0)
        return true;
    /* Far RET is Zydis's RET with the far attribute; IRET is named by size. */
    if (strcmp(ours, "retf") == 0)
        return strcmp(zm, "ret") == 0;
    if (strcmp(ours, "iret") == 0)
        return strcmp(zm, in->opsize == 2 ? "iret" : in->opsize == 4 ? "iretd" : "iretq") == 0;
    /* string instructions: "movs" + w/d/q by the element size */
    size_t ol = strlen(ours);
    if (strncmp(zm, ours, ol) == 0 && zm[ol] && zm[ol + 1] == 0) {
        unsigned el = 0;
        for (unsigned j = 0; j < in->nops; j++)
            if (is_str_src(in->row->k[j]) || is_str_dst(in->row->k[j]))
                el = in->op[j].size;
        if (el == 0)
            return false;
        char want = el == 1 ? 'b' : el == 2 ? 'w' : el == 4 ? 'd' : 'q';
        return zm[ol] == want;
    }
    /* The dword forms whose REX.W / VEX.W (64-bit mode) makes them qword. */
    static const char *const dq[] = {"movd", "vmovd", "pextrd", "vpextrd", "pinsrd", "vpinsrd"};
    for (unsigned k = 0; k < sizeof(dq) / sizeof(dq[0]); k++)
        if (strcmp(ours, dq[k]) == 0 && (in->rex & 8)) {
            char want[16];
            snprintf(want, sizeof(want), "%.*sq", (int)strlen(ours) - 1, ours);
            return strcmp(zm, want) == 0;
        }
    /* FXSAVE/FXRSTOR with REX.W (the 64-bit layout): Zydis says fxsave64. */
    if ((strcmp(ours, "fxsave") == 0 || strcmp(ours, "fxrstor") == 0) && (in->rex & 8)) {
        char want[16];
        snprintf(want, sizeof(want), "%s64", ours);
        return strcmp(zm, want) == 0;
    }
    if (strcmp(ours, "cmpxchg8b") == 0)
        return strcmp(zm, (in->rex & 8) ? "cmpxchg16b" : "cmpxchg8b") == 0;
    for (unsigned k = 0; k < sizeof(cc_alias) / sizeof(cc_alias[0]); k++) {
        const char *pre[2] = {"cmov", "set"};
        for (unsigned p = 0; p < 2; p++) {
            size_t pl = strlen(pre[p]);
            if (strncmp(ours, pre[p], pl) == 0 && strncmp(zm, pre[p], pl) == 0 &&
                strcmp(ours + pl, cc_alias[k][0]) == 0 && strcmp(zm + pl, cc_alias[k][1]) == 0)
                return true;
        }
    }
    return false;
}

static bool kind_is_v(uint8_t k)
{
    switch (k) {
    case K_Ev: case K_Ez: case K_Mv: case K_Gv: case K_Ibs: case K_Iz: case K_rAX: case K_Ov:
    case K_Xv: case K_Yv:
        return true;
    default:
        return false;
    }
}

static bool kind_uses_modrm(uint8_t k)
{
    return (k >= K_Eb && k <= K_Gy) || (k >= K_Ey && k <= K_Nq && k != K_Hx && k != K_Hdq) ||
           k == K_M64B || k == K_Ga || k == K_Vh || k == K_Wqq || k == K_Wxe;
}

static bool kind_is_mem_only_t(uint8_t k)
{
    return k == K_Mv || k == K_My || k == K_Mcx || k == K_Mx || k == K_Mdq || k == K_Mq ||
           k == K_Md || k == K_M64B;
}

static bool row_is_vex(const struct op_row *r)
{
    unsigned m = OPC_MAP(r->key);
    return m >= MAP_VEX_0F && m <= MAP_VEX_0F3A;
}

static bool row_is_evex(const struct op_row *r)
{
    unsigned m = OPC_MAP(r->key);
    return m >= MAP_EVEX_0F && m <= MAP_EVEX_0F3A;
}

static bool row_has_h(const struct op_row *r)
{
    for (unsigned i = 0; i < 3; i++)
        if (r->k[i] == K_Hx || r->k[i] == K_Hdq)
            return true;
    return false;
}

static bool row_uses_modrm(const struct op_row *r)
{
    return kind_uses_modrm(r->k[0]) || kind_uses_modrm(r->k[1]) || kind_uses_modrm(r->k[2]);
}

/* ------------------------------------------------------------------ */
/* comparing one accepted decoding with Zydis's                         */

static void compare_mem(const struct mode_info *mi, const struct insn *in, unsigned i,
                        const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *z,
                        struct why *w)
{
    const struct opnd *p = &in->op[i];
    uint8_t k = in->row->k[i];
    if (z->type != ZYDIS_OPERAND_TYPE_MEMORY) {
        why_add(w, "op%u: ours memory, zydis type %d", i, (int)z->type);
        return;
    }
    unsigned zsize = z->size;
    /* MOVSXD with a 16-bit operand size: the SDM gives "MOVSXD r16, r/m16";
     * Zydis says m32 for the memory form (and r16 for the register form). */
    if (strcmp(in->row->mnem, "movsxd") == 0 && in->opsize == 2 && i == 1 && zsize == 32) {
        zsize = 16;
        quirk_movsxd16++;
    }
    /* Cache-line instructions: Zydis gives the line, we check one byte as
     * the processor does for faults. */
    bool line = in->row->fn == cache_flush || in->row->fn == cache_hint;
    unsigned osize = p->size * 8u;
    if (in->row->k[i] == K_Mfx)
        osize = 512 * 8u; /* the FXSAVE area does not fit opnd.size */
    else if (in->row->k[i] == K_Menv) /* the x87 environment and FNSAVE area, sized */
        osize = (in->opsize == 2 ? 14u : 28u) * 8u; /* by their handlers */
    else if (in->row->k[i] == K_Msav)
        osize = (in->opsize == 2 ? 94u : 108u) * 8u;
    if (zsize != osize && !line)
        why_add(w, "op%u: memory size ours %u zydis %u", i, p->size * 8u, z->size);
    if (is_str_src(k) || is_str_dst(k)) {
        bool src = is_str_src(k);
        ZydisRegister want_base = zreg_gpr(src ? GPR_RSI : GPR_RDI, in->addrsize, false);
        if (z->mem.base != want_base)
            why_add(w, "op%u: string base ours %s zydis %s", i, zname(want_base),
                    zname(z->mem.base));
        ZydisRegister want_seg = src ? zreg_seg(in->seg) : ZYDIS_REGISTER_ES;
        if (z->mem.segment != want_seg)
            why_add(w, "op%u: string segment ours %s zydis %s", i, zname(want_seg),
                    zname(z->mem.segment));
        return;
    }
    if (in->mem_form == MEM_XLAT) {
        /* Zydis names rBX as the base (AL is the implicit index). */
        if (z->mem.base != zreg_gpr(GPR_RBX, in->addrsize, false))
            why_add(w, "op%u: xlat base zydis %s", i, zname(z->mem.base));
        if (z->mem.segment != zreg_seg(in->seg))
            why_add(w, "op%u: segment ours %s zydis %s", i, seg_name(in->seg),
                    zname(z->mem.segment));
        return;
    }
    if (in->mem_form == MEM_MOFFS) {
        if (z->mem.base != ZYDIS_REGISTER_NONE || z->mem.index != ZYDIS_REGISTER_NONE)
            why_add(w, "op%u: moffs but zydis has base %s index %s", i, zname(z->mem.base),
                    zname(z->mem.index));
        uint64_t am = mask_of(in->addrsize);
        if ((in->disp & am) != ((uint64_t)z->mem.disp.value & am) || (in->disp & ~am))
            why_add(w, "op%u: moffs ours 0x%" PRIx64 " zydis 0x%" PRIx64, i, in->disp,
                    (uint64_t)z->mem.disp.value);
    } else {
        ZydisRegister zbase = z->mem.base;
        uint64_t zdisp = (uint64_t)z->mem.disp.value;
        /* SIB base 101 with mod 00 means "no base, disp32" whatever REX.B
         * says (SDM Vol. 2 table 2-5). With 32-bit addressing in 64-bit mode
         * Zydis 4.0 reports base r13d and no displacement instead; its length
         * and raw displacement are right. */
        if (mi->m.long64 && in->addrsize == 4 && in->mod == 0 && (in->modrm & 7) == 4 &&
            in->base == NO_REG && zbase == ZYDIS_REGISTER_R13D && !z->mem.disp.has_displacement &&
            zi->raw.disp.size == 32) {
            zbase = ZYDIS_REGISTER_NONE;
            zdisp = (uint64_t)zi->raw.disp.value;
            quirk_sib_r13++;
        }
        ZydisRegister want_base;
        if (in->riprel)
            want_base = in->addrsize == 8 ? ZYDIS_REGISTER_RIP : ZYDIS_REGISTER_EIP;
        else if (in->base == NO_REG)
            want_base = ZYDIS_REGISTER_NONE;
        else
            want_base = zreg_gpr(in->base, in->addrsize, false);
        if (zbase != want_base)
            why_add(w, "op%u: base ours %s zydis %s", i, zname(want_base), zname(zbase));
        ZydisRegister want_index =
            in->index == NO_REG ? ZYDIS_REGISTER_NONE : zreg_gpr(in->index, in->addrsize, false);
        if (z->mem.index != want_index)
            why_add(w, "op%u: index ours %s zydis %s", i, zname(want_index),
                    zname(z->mem.index));
        else if (in->index != NO_REG && z->mem.scale != in->scale)
            why_add(w, "op%u: scale ours %u zydis %u", i, in->scale, z->mem.scale);
        if (in->disp != zdisp)
            why_add(w, "op%u: displacement ours 0x%" PRIx64 " zydis 0x%" PRIx64, i, in->disp,
                    zdisp);
        if (in->riprel != (zbase == ZYDIS_REGISTER_RIP || zbase == ZYDIS_REGISTER_EIP))
            why_add(w, "op%u: rip-relative ours %d", i, in->riprel);
    }
    if (z->mem.segment != zreg_seg(in->seg))
        why_add(w, "op%u: segment ours %s zydis %s", i, seg_name(in->seg), zname(z->mem.segment));
    /* read/write intent of the ModRM/moffs operand (conditional reads or
     * writes count: CMPXCHG's write, CMOV's read happen on hardware too) */
    unsigned zacc = ((z->actions & ZYDIS_OPERAND_ACTION_MASK_READ) ? ACC_R : 0) |
                    ((z->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) ? ACC_W : 0);
    if (zacc != in->mem_access)
        why_add(w, "op%u: memory access ours %s%s zydis %s%s", i,
                (in->mem_access & ACC_R) ? "r" : "", (in->mem_access & ACC_W) ? "w" : "",
                (zacc & ACC_R) ? "r" : "", (zacc & ACC_W) ? "w" : "");
}

static void compare_ok(const struct mode_info *mi, const struct insn *in,
                       const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo,
                       struct why *w)
{
    const struct op_row *r = in->row;
    if (zi->length != in->len)
        why_add(w, "length ours %u zydis %u", in->len, zi->length);
    if (!mnem_match(in, ZydisMnemonicGetString(zi->mnemonic)))
        why_add(w, "mnemonic ours %s zydis %s", r->mnem, ZydisMnemonicGetString(zi->mnemonic));
    if (zi->address_width != in->addrsize * 8u)
        why_add(w, "address size ours %u zydis %u", in->addrsize * 8u, zi->address_width);
    bool has_v = false;
    for (unsigned i = 0; i < 3; i++)
        has_v |= kind_is_v(r->k[i]);
    if (has_v && zi->operand_width != in->opsize * 8u)
        why_add(w, "operand size ours %u zydis %u", in->opsize * 8u, zi->operand_width);
    bool zlock = (zi->attributes & ZYDIS_ATTRIB_HAS_LOCK) != 0;
    if (zlock != in->lock)
        why_add(w, "lock ours %d zydis %d", in->lock, zlock);
    if (r->traits & (T_REP | T_REPCC)) {
        bool zrep = (zi->attributes & ZYDIS_ATTRIB_HAS_REP) != 0;
        bool zrepe = (zi->attributes & ZYDIS_ATTRIB_HAS_REPE) != 0;
        bool zrepne = (zi->attributes & ZYDIS_ATTRIB_HAS_REPNE) != 0;
        bool ok;
        if (in->rep == 0)
            ok = !zrep && !zrepe && !zrepne;
        else if (r->traits & T_REPCC)
            ok = in->rep == PFX_F3 ? zrepe : zrepne;
        else
            ok = zrep || zrepe || zrepne;
        if (!ok)
            why_add(w, "rep ours %u zydis rep=%d repe=%d repne=%d", in->rep, zrep, zrepe, zrepne);
    }

    /* Zydis's counterpart of our operand list: the visible operands, or for
     * string instructions (all operands hidden) the leading ones. */
    const ZydisDecodedOperand *zl[ZYDIS_MAX_OPERAND_COUNT];
    unsigned nz = 0;
    if (in->evex) {
        /* The opmask is an operand to Zydis, a prefix field to us. */
        ZydisRegister zk = ZYDIS_REGISTER_NONE;
        for (unsigned i = 0; i < zi->operand_count; i++)
            if (zo[i].encoding == ZYDIS_OPERAND_ENCODING_MASK)
                zk = zo[i].reg.value;
        ZydisRegister want = in->mask ? (ZydisRegister)(ZYDIS_REGISTER_K0 + in->mask)
                                      : ZYDIS_REGISTER_NONE;
        if (zk == ZYDIS_REGISTER_K0)
            zk = ZYDIS_REGISTER_NONE;
        if (zk != want)
            why_add(w, "opmask ours k%u zydis %s", in->mask, zname(zk));
        /* An opmask blend (VPBLENDMD) is a control mask to Zydis. */
        bool zz = zi->avx.mask.mode == ZYDIS_MASK_MODE_ZEROING ||
                  zi->avx.mask.mode == ZYDIS_MASK_MODE_CONTROL_ZEROING;
        /* A compare into an opmask is zeroing-masking by nature. */
        if (in->mask && zz != in->zeroing && in->op[0].type != OPND_KREG)
            why_add(w, "zeroing ours %d zydis %d", in->zeroing, zz);
    }
    if (zi->operand_count_visible > 0) {
        for (unsigned i = 0; i < zi->operand_count; i++)
            if (zo[i].visibility != ZYDIS_OPERAND_VISIBILITY_HIDDEN &&
                zo[i].encoding != ZYDIS_OPERAND_ENCODING_MASK)
                zl[nz++] = &zo[i];
    } else {
        for (unsigned i = 0; i < zi->operand_count && i < in->nops; i++)
            zl[nz++] = &zo[i];
    }
    /* MASKMOVDQU/MASKMOVQ: Zydis lists the DS:rDI destination as a hidden
     * operand after the two registers; ours is operand 0. */
    unsigned first = 0;
    if (r->k[0] == K_DSDI || r->k[0] == K_DSDIq) {
        first = 1;
        const ZydisDecodedOperand *zm = NULL;
        for (unsigned i = 0; i < zi->operand_count; i++)
            if (zo[i].type == ZYDIS_OPERAND_TYPE_MEMORY)
                zm = &zo[i];
        if (!zm)
            why_add(w, "no DS:rDI memory operand in zydis");
        else {
            if (zm->mem.base != zreg_gpr(GPR_RDI, in->addrsize, false))
                why_add(w, "DS:rDI base zydis %s", zname(zm->mem.base));
            if (zm->mem.segment != zreg_seg(in->seg))
                why_add(w, "DS:rDI segment ours %s zydis %s", seg_name(in->seg),
                        zname(zm->mem.segment));
            if (zm->size != in->op[0].size * 8u)
                why_add(w, "DS:rDI size ours %u zydis %u", in->op[0].size * 8u, zm->size);
        }
    }
    /* A trailing imm8 (VPCMPB, VPTERNLOGD) is an operand to Zydis. */
    if ((r->traits & T_IMM8) && nz == in->nops - first + 1) {
        const ZydisDecodedOperand *zi8 = zl[--nz];
        if (zi8->type != ZYDIS_OPERAND_TYPE_IMMEDIATE || (uint8_t)zi8->imm.value.u != in->imm8)
            why_add(w, "imm8 ours 0x%x zydis type %d 0x%" PRIx64, in->imm8, (int)zi8->type,
                    (uint64_t)zi8->imm.value.u);
    }
    /* XLAT: Zydis lists its hidden operands memory first. */
    if (strcmp(r->mnem, "xlat") == 0 && nz == 2) {
        const ZydisDecodedOperand *t = zl[0];
        zl[0] = zl[1];
        zl[1] = t;
    }
    if (nz != in->nops - first) {
        why_add(w, "operand count ours %u zydis %u", in->nops - first, nz);
        return;
    }
    for (unsigned i = first; i < in->nops; i++) {
        const struct opnd *p = &in->op[i];
        const ZydisDecodedOperand *z = zl[i - first];
        switch (p->type) {
        case OPND_VREG:
        case OPND_KREG:
        case OPND_MMX: {
            ZydisRegister want =
                p->type == OPND_KREG ? (ZydisRegister)(ZYDIS_REGISTER_K0 + p->reg)
                : p->type == OPND_MMX ? (ZydisRegister)(ZYDIS_REGISTER_MM0 + p->reg)
                : p->size > 32      ? (ZydisRegister)(ZYDIS_REGISTER_ZMM0 + p->reg)
                : p->size > 16      ? (ZydisRegister)(ZYDIS_REGISTER_YMM0 + p->reg)
                                    : (ZydisRegister)(ZYDIS_REGISTER_XMM0 + p->reg);
            if (z->type != ZYDIS_OPERAND_TYPE_REGISTER)
                why_add(w, "op%u: ours register %s, zydis type %d", i, zname(want), (int)z->type);
            else if (z->reg.value != want)
                why_add(w, "op%u: register ours %s zydis %s", i, zname(want), zname(z->reg.value));
            break;
        }
        case OPND_REG: {
            ZydisRegister want = zreg_gpr(p->reg, p->size, p->high8);
            if (z->type != ZYDIS_OPERAND_TYPE_REGISTER)
                why_add(w, "op%u: ours register %s, zydis type %d", i, zname(want), (int)z->type);
            else if (z->reg.value != want)
                why_add(w, "op%u: register ours %s zydis %s", i, zname(want), zname(z->reg.value));
            if (p->high8 && (in->rex || p->size != 1 || p->reg > 3))
                why_add(w, "op%u: high-byte register with REX or bad number", i);
            break;
        }
        case OPND_IMM: {
            uint64_t m = mask_of(p->size);
            if (z->type != ZYDIS_OPERAND_TYPE_IMMEDIATE)
                why_add(w, "op%u: ours immediate, zydis type %d", i, (int)z->type);
            else if (p->imm != ((uint64_t)z->imm.value.u & m))
                why_add(w, "op%u: immediate ours 0x%" PRIx64 " zydis 0x%" PRIx64 " (/%u)", i,
                        p->imm, (uint64_t)z->imm.value.u, p->size * 8u);
            if (p->imm & ~m)
                why_add(w, "op%u: immediate 0x%" PRIx64 " not masked to %u bytes", i, p->imm,
                        p->size);
            break;
        }
        case OPND_SREG: {
            ZydisRegister want = (ZydisRegister)(ZYDIS_REGISTER_ES + p->reg);
            if (z->type != ZYDIS_OPERAND_TYPE_REGISTER || z->reg.value != want)
                why_add(w, "op%u: segment register ours %s zydis type %d", i, zname(want),
                        (int)z->type);
            break;
        }
        case OPND_MEM:
            compare_mem(mi, in, i, zi, z, w);
            break;
        case OPND_NONE: /* the DX port operand: no register is read */
            if (r->k[i] != K_DX)
                why_add(w, "op%u: no operand for kind %s", i, dec_kind_name(r->k[i]));
            else if (z->type != ZYDIS_OPERAND_TYPE_REGISTER || z->reg.value != ZYDIS_REGISTER_DX)
                why_add(w, "op%u: ours the DX port, zydis type %d %s", i, (int)z->type,
                        z->type == ZYDIS_OPERAND_TYPE_REGISTER ? zname(z->reg.value) : "");
            break;
        default:
            why_add(w, "op%u: bad operand type %u", i, p->type);
        }
    }
}

/* Two decodings of the same instruction must agree (n = 16 vs n = len). */
static bool same_decoding(const struct insn *a, const struct insn *b)
{
    if (a->row != b->row || a->len != b->len || a->opsize != b->opsize ||
        a->addrsize != b->addrsize || a->seg != b->seg || a->base != b->base ||
        a->index != b->index || a->scale != b->scale || a->disp != b->disp ||
        a->riprel != b->riprel || a->nops != b->nops || a->lock != b->lock || a->rep != b->rep ||
        a->mem_access != b->mem_access || a->needs != b->needs)
        return false;
    for (unsigned i = 0; i < a->nops; i++)
        if (a->op[i].type != b->op[i].type || a->op[i].size != b->op[i].size ||
            a->op[i].reg != b->op[i].reg || a->op[i].high8 != b->op[i].high8 ||
            a->op[i].imm != b->op[i].imm)
            return false;
    return true;
}

/* ------------------------------------------------------------------ */
/* random numbers (splitmix64)                                           */

static uint64_t rng_state;

static uint64_t rnd64(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static unsigned rnd(unsigned n)
{
    return (unsigned)(rnd64() % n);
}

/* A random byte, sometimes one of the edge values of displacements and
 * immediates. */
static uint8_t rnd_byte(void)
{
    static const uint8_t edge[] = {0x00, 0xFF, 0x80, 0x7F, 0x01};
    if (rnd(4) == 0)
        return edge[rnd(sizeof(edge))];
    return (uint8_t)rnd64();
}

/* ------------------------------------------------------------------ */
/* checking one sequence                                                */

#define ZYDIS_STATUS_MVEX_ONLY ZYAN_MAKE_STATUS(1u, 0x7Fu, 0x7Fu)

/* Zydis decodes MVEX (62 with P1 bit 2 clear), which only Knights Corner
 * had; every other CPU raises #UD (in 32-bit mode with mod != 11 it is
 * BOUND). Such a decoding counts as a rejection. */
/* Whether the VEX prefix after the legacy prefixes has vvvv[3] = 0 (an
 * encoded 0 names registers 8-15: the field is stored inverted). */
static bool vex_vvvv_high_clear(const struct mode_info *mi, const uint8_t *b, unsigned n)
{
    unsigned i = 0;
    while (i < n && is_prefix_byte(mi, b[i]))
        i++;
    if (i + 2 >= n)
        return false;
    uint8_t v = b[i] == 0xC5 ? b[i + 1] : (b[i] == 0xC4 || b[i] == 0x62) ? b[i + 2] : 0xFF;
    return !(v & 0x40);
}

static ZyanStatus zydis_decode(const struct mode_info *mi, const uint8_t *b, unsigned n,
                               ZydisDecodedInstruction *zi, ZydisDecodedOperand *zo)
{
    ZyanStatus zs = ZydisDecoderDecodeFull(&mi->zd, b, n, zi, zo);
    if (ZYAN_SUCCESS(zs) && zi->encoding == ZYDIS_INSTRUCTION_ENCODING_MVEX) {
        quirk_mvex++;
        return ZYDIS_STATUS_MVEX_ONLY;
    }
    return zs;
}

/* Decodes b[0..n) both ways and applies the rules in the header comment.
 * row_hint: the row the sequence was generated from, or NULL. */
static void check_seq(struct mode_info *mi, const char *origin, const uint8_t *b, unsigned n,
                      const struct op_row *row_hint)
{
    struct insn in;
    struct why w = {.len = 0, .count = 0};
    ZydisDecodedInstruction zi;
    ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
    memset(&zi, 0, sizeof(zi));
    memset(zo, 0, sizeof(zo));

    mi->tried++;
    enum dec_status st = dec_decode(&mi->m, b, n, &in);
    ZyanStatus zs = zydis_decode(mi, b, n, &zi, zo);
    bool zok = ZYAN_SUCCESS(zs);

    switch (st) {
    case DEC_OK:
        mi->accepted++;
        if (!zok && (zs == ZYDIS_STATUS_BAD_REGISTER || zs == ZYDIS_STATUS_MALFORMED_EVEX) &&
            in.vex && !mi->m.long64 &&
            vex_vvvv_high_clear(mi, b, n)) {
            /* Outside 64-bit mode VEX.vvvv[3] is ignored (AMD APM Vol. 3
             * 1.8, and the processor cannot name XMM8-15 there); so is
             * EVEX.vvvv[3]. Zydis rejects the encoding instead. */
            quirk_vvvv32++;
            n_pass++;
            return;
        }
        if (!zok) {
            why_add(&w, "we accept, zydis rejects (%s)", zstatus_name(zs));
            break;
        }
        mi->compared++;
        compare_ok(mi, &in, &zi, zo, &w);
        if (w.count == 0 && rnd(4) == 0 && in.len <= n) {
            /* exactly the instruction's bytes, then one byte short or less */
            struct insn in2;
            enum dec_status st2 = dec_decode(&mi->m, b, in.len, &in2);
            if (st2 != DEC_OK || !same_decoding(&in, &in2))
                why_add(&w, "with n=%u (its length) %s or a different decoding", in.len,
                        status_name(st2));
            unsigned k = rnd(in.len);
            st2 = dec_decode(&mi->m, b, k, &in2);
            ZydisDecodedInstruction zi2;
            ZydisDecodedOperand zo2[ZYDIS_MAX_OPERAND_COUNT];
            ZyanStatus zs2 = zydis_decode(mi, b, k, &zi2, zo2);
            mi->trunc_checked++;
            if (st2 != DEC_NEED_MORE)
                why_add(&w, "truncated to n=%u: ours %s, want DEC_NEED_MORE", k, status_name(st2));
            if (ZYAN_SUCCESS(zs2))
                why_add(&w, "truncated to n=%u: zydis still decodes (len %u)", k, zi2.length);
        }
        break;
    case DEC_UD:
        mi->ud++;
        mi->ud_checked++;
        if (zok && (zi.mnemonic == ZYDIS_MNEMONIC_JKZD || zi.mnemonic == ZYDIS_MNEMONIC_JKNZD)) {
            /* Zydis decodes VEX map 0 opcodes 74/75 as the Knights Corner
             * mask branches even outside its KNC mode; on every other CPU
             * VEX.mmmmm = 0 is reserved and #UD (SDM Vol. 2 2.3.6.1). */
        } else if (zok) {
            why_add(&w, "we say #UD%s, zydis decodes it", in.lock ? " (LOCK)" : "");
        } else if (in.lock && !in.vex && n <= BUF_MAX) {
            /* Is LOCK the reason? Then Zydis must say so too. Replace each
             * F0 prefix byte with 26 (ES: no effect in 64-bit mode; in other
             * modes it only changes the segment) and decode again. */
            uint8_t nb[BUF_MAX];
            struct insn in2;
            memcpy(nb, b, n);
            for (unsigned i = 0; i < n && i < 15; i++) {
                if (nb[i] == 0xF0)
                    nb[i] = 0x26;
                else if (!is_prefix_byte(mi, nb[i]))
                    break;
            }
            if (dec_decode(&mi->m, nb, n, &in2) == DEC_OK) {
                mi->lock_ud_checked++;
                if (zs != ZYDIS_STATUS_ILLEGAL_LOCK)
                    why_add(&w, "#UD for LOCK; zydis fails with %s, not ILLEGAL_LOCK",
                            zstatus_name(zs));
            }
        }
        break;
    case DEC_TOO_LONG:
        mi->too_long++;
        mi->too_long_checked++;
        if (zok)
            why_add(&w, "we say too long, zydis decodes it");
        break;
    case DEC_NEED_MORE:
        mi->need_more++;
        if (n >= 16)
            why_add(&w, "DEC_NEED_MORE with %u bytes available", n);
        else if (zok)
            why_add(&w, "DEC_NEED_MORE with %u bytes, zydis decodes it (len %u)", n, zi.length);
        break;
    case DEC_UNSUPPORTED:
        mi->unsupported++;
        if (row_hint && zok && ZydisMnemonicGetString(zi.mnemonic)) {
            /* a valid encoding of the row we generated from? (coverage note) */
            struct insn fake;
            memset(&fake, 0, sizeof(fake));
            fake.row = row_hint;
            fake.opsize = (uint8_t)(zi.operand_width / 8);
            fake.rex = (zi.attributes & ZYDIS_ATTRIB_HAS_REX) ? zi.raw.rex.W << 3 : 0;
            if (mnem_match(&fake, ZydisMnemonicGetString(zi.mnemonic))) {
                mi->unsupp_valid++;
                if (notes_printed < 8) {
                    char hb[3 * BUF_MAX + 1];
                    hex(hb, sizeof(hb), b, zi.length);
                    printf("note: %s: %s is %s to zydis; we say DEC_UNSUPPORTED\n", mi->name, hb,
                           ZydisMnemonicGetString(zi.mnemonic));
                    notes_printed++;
                }
            }
        }
        return; /* no requirement: not counted as a check */
    }
    if (w.count)
        print_mismatch(mi, origin, b, n, st, &in, zs, &zi, zo, &w);
    else
        n_pass++;
}

/* ------------------------------------------------------------------ */
/* generators                                                           */

static const uint8_t legacy_pfx[] = {0x66, 0x67, 0xF2, 0xF3, 0xF0, 0x26,
                                     0x2E, 0x36, 0x3E, 0x64, 0x65};

static unsigned pick_prefix_count(void)
{
    unsigned r = rnd(16);
    if (r < 5) return 0;
    if (r < 10) return 1;
    if (r < 13) return 2;
    if (r < 14) return 3;
    if (r < 15) return 4;
    return 5 + rnd(6);
}

/* Builds an encoding of `row` with `npfx` legacy prefixes into buf (BUF_MAX
 * bytes, the tail random). */
static void gen_row(const struct mode_info *mi, const struct op_row *row, unsigned npfx,
                    uint8_t *buf)
{
    unsigned len = 0;
    unsigned pfx = OPC_PFX(row->key);
    unsigned mand_at = pfx != PFX_NONE && !row_is_vex(row) && !row_is_evex(row) ? rnd(npfx + 1)
                                                                                 : ~0u;
    for (unsigned i = 0; i <= npfx && len < BUF_MAX - 8; i++) {
        if (i == mand_at)
            buf[len++] = pfx == PFX_66 ? 0x66 : pfx == PFX_F3 ? 0xF3 : 0xF2;
        if (i == npfx)
            break;
        if (mi->m.long64 && rnd(8) == 0)
            buf[len++] = (uint8_t)(0x40 | rnd(16)); /* cancelled by the next prefix */
        buf[len++] = legacy_pfx[rnd(sizeof(legacy_pfx))];
    }
    if ((row_is_vex(row) || row_is_evex(row)) && rnd(8) != 0) {
        /* Before VEX only segment and address-size prefixes are allowed
         * (66, F2, F3, F0 and REX make it #UD): keep those mostly. */
        for (unsigned i = 0; i < len; i++)
            if (buf[i] == 0x66 || buf[i] == 0xF2 || buf[i] == 0xF3 || buf[i] == 0xF0 ||
                (mi->m.long64 && (buf[i] & 0xF0) == 0x40))
                buf[i] = 0x2E;
    } else if (mi->m.long64 && rnd(2) == 0 && !row_is_vex(row) && !row_is_evex(row)) {
        if (rnd(8) == 0)
            buf[len++] = (uint8_t)(0x40 | rnd(16)); /* replaced by the next REX */
        buf[len++] = (uint8_t)(0x40 | rnd(16));
    }
    if (row_is_evex(row)) {
        /* An EVEX prefix: mostly what the row allows (its W, vvvv and V'
         * unused, broadcast where the row has it, L'L < 3), sometimes
         * anything. */
        unsigned mm = OPC_MAP(row->key) - MAP_EVEX_0F + 1, pp = OPC_PFX(row->key);
        unsigned pp_enc = pp == PFX_66 ? 1 : pp == PFX_F3 ? 2 : pp == PFX_F2 ? 3 : 0;
        bool wild = rnd(8) == 0;
        unsigned R = mi->m.long64 || wild ? rnd(2) : 1, X = mi->m.long64 || wild ? rnd(2) : 1;
        unsigned B = rnd(2), R2 = mi->m.long64 || wild ? rnd(2) : 1;
        unsigned W = OPC_W(row->key) == W_ANY || wild ? rnd(2) : OPC_W(row->key) == W_1;
        unsigned vvvv = row_has_h(row) || wild ? rnd(16) : 15;
        unsigned V2 = row_has_h(row) || wild ? rnd(2) : 1;
        unsigned LL = wild ? rnd(4) : rnd(3);
        unsigned b = wild || (row->traits & T_BCST) ? rnd(2) : 0;
        unsigned aaa = rnd(8), z = rnd(4) == 0;
        buf[len++] = 0x62;
        buf[len++] = (uint8_t)(R << 7 | X << 6 | B << 5 | R2 << 4 | mm);
        buf[len++] = (uint8_t)(W << 7 | vvvv << 3 | 4 | pp_enc);
        buf[len++] = (uint8_t)(z << 7 | LL << 5 | b << 4 | V2 << 3 | aaa);
    } else if (row_is_vex(row)) {
        /* A VEX prefix: mostly well-formed (vvvv 1111b unless the row has
         * a vvvv operand, R/X set outside 64-bit mode so it is not LES/LDS),
         * sometimes not, to check #UD and the LES/LDS reading. */
        unsigned mm = OPC_MAP(row->key) - MAP_VEX_0F + 1, pp = OPC_PFX(row->key);
        unsigned pp_enc = pp == PFX_66 ? 1 : pp == PFX_F3 ? 2 : pp == PFX_F2 ? 3 : 0;
        bool wild = rnd(8) == 0;
        unsigned R = mi->m.long64 || wild ? rnd(2) : 1, X = mi->m.long64 || wild ? rnd(2) : 1;
        unsigned B = rnd(2), W = rnd(2), L = rnd(4) == 0 ? 1 : rnd(2);
        unsigned vvvv = row_has_h(row) || wild ? rnd(16) : 15;
        if (!mi->m.long64 && !wild)
            vvvv |= 8;
        if (mm == 1 && rnd(2)) {
            buf[len++] = 0xC5;
            buf[len++] = (uint8_t)(R << 7 | vvvv << 3 | L << 2 | pp_enc);
        } else {
            buf[len++] = 0xC4;
            buf[len++] = (uint8_t)(R << 7 | X << 6 | B << 5 | mm);
            buf[len++] = (uint8_t)(W << 7 | vvvv << 3 | L << 2 | pp_enc);
        }
    } else switch (OPC_MAP(row->key)) {
    case MAP_0F:
        buf[len++] = 0x0F;
        break;
    case MAP_0F38:
        buf[len++] = 0x0F;
        buf[len++] = 0x38;
        break;
    case MAP_0F3A:
        buf[len++] = 0x0F;
        buf[len++] = 0x3A;
        break;
    default:
        break;
    }
    buf[len++] = (uint8_t)OPC_OP(row->key);
    if (row_uses_modrm(row)) {
        uint8_t m = (uint8_t)rnd64();
        bool mem_only = (row->traits & T_MEMFORM) != 0;
        for (unsigned i = 0; i < 3; i++)
            mem_only |= kind_is_mem_only_t(row->k[i]);
        if (mem_only && (m >> 6) == 3 && rnd(8) != 0)
            m = (uint8_t)(m & 0x3F);
        if (OPC_REG(row->key) != REG_ANY)
            m = (uint8_t)((m & 0xC7) | (OPC_REG(row->key) << 3));
        buf[len++] = m;
    }
    while (len < BUF_MAX)
        buf[len++] = rnd_byte();
}

static double scale = 1.0;

static unsigned long scaled(unsigned long base)
{
    double v = (double)base * scale;
    return v < 1.0 ? 1ul : (unsigned long)v;
}

static void run_generated(uint64_t seed)
{
    unsigned nrows;
    const struct op_row *rows = dec_rows(&nrows);
    uint8_t buf[BUF_MAX];
    for (unsigned mi_i = 0; mi_i < 3; mi_i++) {
        struct mode_info *mi = &modes[mi_i];
        rng_state = seed ^ (0x1000193ull * (mi_i + 1));
        /* a: from the opcode table */
        unsigned long per_row = scaled(4000);
        for (unsigned r = 0; r < nrows; r++) {
            for (unsigned long it = 0; it < per_row; it++) {
                gen_row(mi, &rows[r], pick_prefix_count(), buf);
                check_seq(mi, "table", buf, 16, &rows[r]);
            }
        }
        /* b: random bytes */
        unsigned long nrand = scaled(400000);
        for (unsigned long it = 0; it < nrand; it++) {
            for (unsigned i = 0; i < 16; i++)
                buf[i] = (uint8_t)rnd64();
            check_seq(mi, "random", buf, 16, NULL);
        }
        /* c: prefix stuffing beyond 15 bytes */
        unsigned long nlong = scaled(50000);
        for (unsigned long it = 0; it < nlong; it++) {
            const struct op_row *row = &rows[rnd(nrows)];
            gen_row(mi, row, 11 + rnd(8), buf);
            check_seq(mi, "overlong", buf, 16, row);
        }
    }
}

/* ------------------------------------------------------------------ */
/* table order                                                          */

static void test_table_sorted(void)
{
    unsigned nrows;
    const struct op_row *rows = dec_rows(&nrows);
    unsigned bad = 0;
    for (unsigned i = 1; i < nrows; i++) {
        /* One key may hold a row for outside 64-bit mode and one for it. */
        bool mode_pair = rows[i - 1].key == rows[i].key &&
                         (rows[i - 1].traits & (T_NO64 | T_ONLY64)) == T_NO64 &&
                         (rows[i].traits & (T_NO64 | T_ONLY64)) == T_ONLY64 &&
                         (i < 2 || rows[i - 2].key != rows[i].key);
        if (rows[i - 1].key >= rows[i].key && !mode_pair) {
            printf("MISMATCH table: row %u (%s key 0x%05x) not before row %u (%s key 0x%05x)\n",
                   i - 1, rows[i - 1].mnem, rows[i - 1].key, i, rows[i].mnem, rows[i].key);
            bad++;
        }
    }
    for (unsigned i = 0; i < nrows; i++) {
        if (OPC_REG(rows[i].key) > REG_ANY || !rows[i].mnem || !rows[i].fn) {
            printf("MISMATCH table: row %u (key 0x%05x) malformed\n", i, rows[i].key);
            bad++;
        }
    }
    printf("table: %u rows, keys %s\n", nrows, bad ? "NOT strictly sorted" : "strictly sorted");
    if (bad)
        n_fail++;
    else
        n_pass++;
}

/* ------------------------------------------------------------------ */
/* hand-written cases                                                   */

enum { M64, M32, M16 };
#define S(x) (1u << (x))
#define ACC_NONE 0
#define ACC_RW (ACC_R | ACC_W)
#define ANYSEG 0xFE
#define ZY_ANY (-1)

struct hcase {
    uint8_t mode;
    const char *hex;     /* the bytes; n = their count */
    unsigned status;     /* set of acceptable dec_status values */
    uint8_t len;         /* for DEC_OK (and Zydis's length when zy == 1) */
    uint8_t acc;         /* insn.mem_access for DEC_OK */
    uint8_t seg;         /* insn.seg for DEC_OK, or ANYSEG */
    int zy;              /* 1: Zydis decodes it with length len; 0: Zydis rejects; -1 either */
    const char *what;
};

#define P14 "2E 2E 2E 2E 2E 2E 2E 2E 2E 2E 2E 2E 2E 2E "

static const struct hcase hcases[] = {
    /* basic ModRM/SIB forms */
    {M64, "8B 04 24", S(DEC_OK), 3, ACC_R, SEG_SS, 1, "mov eax,[rsp]"},
    {M64, "89 04 24", S(DEC_OK), 3, ACC_W, SEG_SS, 1, "mov [rsp],eax"},
    {M64, "01 03", S(DEC_OK), 2, ACC_RW, SEG_DS, 1, "add [rbx],eax"},
    {M64, "8B 44 24 08", S(DEC_OK), 4, ACC_R, SEG_SS, 1, "mov eax,[rsp+8]"},
    {M64, "8B 45 00", S(DEC_OK), 3, ACC_R, SEG_SS, 1, "mov eax,[rbp+0]"},
    {M64, "41 8B 04 24", S(DEC_OK), 4, ACC_R, SEG_DS, 1, "mov eax,[r12]: DS, not SS"},
    {M64, "41 8B 45 00", S(DEC_OK), 4, ACC_R, SEG_DS, 1, "mov eax,[r13+0]: DS"},
    {M64, "8B 04 25 78 56 34 12", S(DEC_OK), 7, ACC_R, SEG_DS, 1, "SIB without base"},
    {M64, "42 8B 04 A0", S(DEC_OK), 4, ACC_R, SEG_DS, 1, "index r12*4"},
    {M64, "8B 04 60", S(DEC_OK), 3, ACC_R, SEG_DS, 1, "SIB index 100 = none"},
    {M64, "67 8B 00", S(DEC_OK), 3, ACC_R, SEG_DS, 1, "32-bit addressing in 64-bit mode"},
    {M64, "8B 05 78 56 34 12", S(DEC_OK), 6, ACC_R, SEG_DS, 1, "RIP-relative"},
    {M64, "67 8B 05 78 56 34 12", S(DEC_OK), 7, ACC_R, SEG_DS, 1, "EIP-relative"},
    {M32, "8B 05 78 56 34 12", S(DEC_OK), 6, ACC_R, SEG_DS, 1, "absolute disp32 in 32-bit"},
    {M32, "67 8B 46 02", S(DEC_OK), 4, ACC_R, SEG_SS, 1, "16-bit addressing in 32-bit"},
    {M16, "8B 46 02", S(DEC_OK), 3, ACC_R, SEG_SS, 1, "mov ax,[bp+2]: SS"},
    {M16, "8B 06 34 12", S(DEC_OK), 4, ACC_R, SEG_DS, 1, "mov ax,[1234h]"},
    {M16, "8B 40 80", S(DEC_OK), 3, ACC_R, SEG_DS, 1, "mov ax,[bx+si-80h]"},
    {M16, "67 8B 44 24 02", S(DEC_OK), 5, ACC_R, SEG_SS, 1, "32-bit addressing in 16-bit"},
    {M16, "66 8B 03", S(DEC_OK), 3, ACC_R, SEG_SS, 1, "mov eax,[bp+di] 16-bit"},
    /* moffs */
    {M64, "A1 11 22 33 44 55 66 77 88", S(DEC_OK), 9, ACC_R, SEG_DS, 1, "moffs64"},
    {M64, "67 A1 11 22 33 44", S(DEC_OK), 6, ACC_R, SEG_DS, 1, "moffs32 in 64-bit"},
    {M64, "48 A3 11 22 33 44 55 66 77 88", S(DEC_OK), 10, ACC_W, SEG_DS, 1, "mov moffs,rax"},
    {M32, "A1 11 22 33 44", S(DEC_OK), 5, ACC_R, SEG_DS, 1, "moffs32"},
    {M32, "A1 00 00 00 80", S(DEC_OK), 5, ACC_R, SEG_DS, 1, "moffs32, top bit set"},
    {M16, "A1 11 22", S(DEC_OK), 3, ACC_R, SEG_DS, 1, "moffs16"},
    {M32, "64 A0 11 22 33 44", S(DEC_OK), 6, ACC_R, SEG_FS, 1, "mov al,fs:moffs"},
    /* segments */
    {M64, "64 8B 03", S(DEC_OK), 3, ACC_R, SEG_FS, 1, "FS override"},
    {M64, "36 8B 03", S(DEC_OK), 3, ACC_R, SEG_DS, 1, "SS override ignored in 64-bit"},
    {M64, "64 2E 8B 03", S(DEC_OK), 4, ACC_R, SEG_FS, 1, "CS after FS ignored in 64-bit"},
    {M64, "2E 65 8B 03", S(DEC_OK), 4, ACC_R, SEG_GS, 1, "GS after CS"},
    {M32, "64 2E 8B 03", S(DEC_OK), 4, ACC_R, SEG_CS, 1, "last segment prefix wins"},
    {M32, "26 8B 45 00", S(DEC_OK), 4, ACC_R, SEG_ES, 1, "ES override of [ebp]"},
    /* group 9, LOCK */
    {M64, "48 0F C7 0E", S(DEC_OK), 4, ACC_RW, SEG_DS, 1, "cmpxchg16b [rsi]"},
    {M32, "0F C7 0E", S(DEC_OK), 3, ACC_RW, SEG_DS, 1, "cmpxchg8b [esi]"},
    {M64, "F0 0F C7 0E", S(DEC_OK), 4, ACC_RW, SEG_DS, 1, "lock cmpxchg8b"},
    {M64, "0F C7 CE", S(DEC_UD), 0, 0, 0, 0, "cmpxchg8b with a register"},
    {M64, "F0 01 03", S(DEC_OK), 3, ACC_RW, SEG_DS, 1, "lock add [rbx],eax"},
    {M64, "F0 F0 F0 01 03", S(DEC_OK), 5, ACC_RW, SEG_DS, 1, "repeated lock"},
    {M64, "F0 8B 03", S(DEC_UD), 0, 0, 0, 0, "lock mov"},
    {M64, "F0 01 C3", S(DEC_UD), 0, 0, 0, 0, "lock add with a register destination"},
    {M64, "F0 87 03", S(DEC_OK), 3, ACC_RW, SEG_DS, 1, "lock xchg"},
    {M64, "F0 0F BA 20 05", S(DEC_UD), 0, 0, 0, 0, "lock bt"},
    {M64, "F0 0F BA 28 05", S(DEC_OK), 5, ACC_RW, SEG_DS, 1, "lock bts [rax],5"},
    {M16, "F0 FE 07", S(DEC_OK), 3, ACC_RW, SEG_DS, 1, "lock inc byte [bx]"},
    /* 0F 38 */
    {M64, "0F 38 F0 03", S(DEC_OK), 4, ACC_R, SEG_DS, 1, "movbe eax,[rbx]"},
    {M64, "0F 38 F1 03", S(DEC_OK), 4, ACC_W, SEG_DS, 1, "movbe [rbx],eax"},
    {M64, "66 0F 38 F1 03", S(DEC_OK), 5, ACC_W, SEG_DS, 1, "movbe [rbx],ax"},
    {M64, "0F 38 F0 C3", S(DEC_UD), 0, 0, 0, 0, "movbe with a register"},
    {M64, "F2 0F 38 F0 03", S(DEC_OK), 5, ACC_R, SEG_DS, 1, "crc32 eax, byte [rbx]"},
    {M64, "0F 0B", S(DEC_UNSUPPORTED), 2, 0, 0, 1, "ud2: not in our table"},
    /* MOVNTI */
    {M64, "0F C3 03", S(DEC_OK), 3, ACC_W, SEG_DS, 1, "movnti [rbx],eax"},
    {M64, "48 0F C3 03", S(DEC_OK), 4, ACC_W, SEG_DS, 1, "movnti [rbx],rax"},
    {M64, "66 0F C3 03", S(DEC_UD) | S(DEC_UNSUPPORTED), 0, 0, 0, 0, "movnti with 66"},
    {M64, "0F C3 C3", S(DEC_UD), 0, 0, 0, 0, "movnti with a register"},
    /* length limit */
    {M64, P14 "2E 8B", S(DEC_TOO_LONG), 0, 0, 0, 0, "15 prefixes + opcode"},
    {M64, P14 "8B 03", S(DEC_TOO_LONG), 0, 0, 0, 0, "14 prefixes + opcode + ModRM"},
    {M64, "2E 2E 2E 2E 2E 2E 2E 2E 2E 2E 2E 2E 2E 8B 03", S(DEC_OK), 15, ACC_R, SEG_DS, 1,
     "exactly 15 bytes"},
    {M32, "66 66 66 66 66 66 66 66 66 66 66 81 00 11 22", S(DEC_OK), 15, ACC_RW, SEG_DS, 1,
     "15 bytes with a 16-bit immediate"},
    {M32, "66 66 66 66 66 66 66 66 66 66 66 81 00 11 22 33", S(DEC_OK), 15, ACC_RW, SEG_DS, 1,
     "16 bytes given, 15 used"},
    {M64, "8B 04", S(DEC_NEED_MORE), 0, 0, 0, 0, "SIB missing"},
    {M64, "", S(DEC_NEED_MORE), 0, 0, 0, 0, "no bytes"},
    /* mode-dependent meanings */
    {M64, "82 C0 01", S(DEC_UD), 0, 0, 0, 0, "82 is #UD in 64-bit mode"},
    {M32, "82 00 01", S(DEC_OK), 3, ACC_RW, SEG_DS, 1, "82 /0 in 32-bit mode"},
    {M32, "63 C0", S(DEC_OK), 2, 0, 0, 1, "arpl ax,ax (one key with MOVSXD)"},
    {M32, "63 03", S(DEC_OK), 2, ACC_RW, SEG_DS, 1, "arpl [ebx],ax"},
    {M16, "63 07", S(DEC_OK), 2, ACC_RW, SEG_DS, 1, "arpl [bx],ax"},
    {M64, "63 03", S(DEC_OK), 2, ACC_R, SEG_DS, 1, "movsxd eax,[rbx] (the other row of key 63)"},
    {M32, "62 03", S(DEC_OK), 2, ACC_R, SEG_DS, 1, "bound eax,[ebx]"},
    {M16, "62 07", S(DEC_OK), 2, ACC_R, SEG_DS, 1, "bound ax,[bx]"},
    {M32, "FF 1B", S(DEC_OK), 2, ACC_R, SEG_DS, 1, "call far [ebx]"},
    {M64, "FF 2B", S(DEC_OK), 2, ACC_R, SEG_DS, 1, "jmp far [rbx]"},
    {M32, "FF D8", S(DEC_UD), 0, 0, 0, 0, "call far with a register operand"},
    {M64, "48 CF", S(DEC_OK), 2, 0, 0, 1, "iretq"},
    {M32, "CA 08 00", S(DEC_OK), 3, 0, 0, 1, "retf 8"},
    {M64, "48 63 03", S(DEC_OK), 3, ACC_R, SEG_DS, 1, "movsxd rax,[rbx]"},
    {M32, "C5 00", S(DEC_OK), 2, ACC_R, SEG_DS, 1, "lds eax,[eax]"},
    {M16, "C4 1E 34 12", S(DEC_OK), 4, ACC_R, SEG_DS, 1, "les bx,[0x1234]"},
    {M32, "0F B2 22", S(DEC_OK), 3, ACC_R, SEG_DS, 1, "lss esp,[edx]"},
    {M64, "48 0F B4 03", S(DEC_OK), 4, ACC_R, SEG_DS, 1, "lfs rax,[rbx] (m16:64)"},
    {M32, "8E 1B", S(DEC_OK), 2, ACC_R, SEG_DS, 1, "mov ds,[ebx]"},
    {M32, "8E 33", S(DEC_UD), 0, 0, 0, 0, "mov to segment register 6"},
    {M32, "8C 0B", S(DEC_OK), 2, ACC_W, SEG_DS, 1, "mov [ebx],cs"},
    {M64, "1F", S(DEC_UD), 0, 0, 0, 0, "pop ds is #UD in 64-bit mode"},
    {M64, "0F A9", S(DEC_OK), 2, ACC_NONE, ANYSEG, 1, "pop gs"},
    {M64, "66 C5 F8 77", S(DEC_UD), 0, 0, 0, 0, "VEX after 66"},
    {M64, "48 C5 F8 77", S(DEC_UD), 0, 0, 0, 0, "VEX after REX"},
    /* operand sizes, REX placement */
    {M64, "66 8B 03", S(DEC_OK), 3, ACC_R, SEG_DS, 1, "mov ax,[rbx]"},
    {M64, "48 66 8B 03", S(DEC_OK), 4, ACC_R, SEG_DS, 1, "REX before 66 is ignored"},
    {M64, "66 48 8B 03", S(DEC_OK), 4, ACC_R, SEG_DS, 1, "REX.W beats 66"},
    {M64, "40 8A 20", S(DEC_OK), 3, ACC_R, SEG_DS, 1, "mov spl,[rax]"},
    {M64, "8A 20", S(DEC_OK), 2, ACC_R, SEG_DS, 1, "mov ah,[rax]"},
    {M64, "F6 C4 05", S(DEC_OK), 3, ACC_NONE, ANYSEG, 1, "test ah,5"},
    {M64, "69 03 78 56 34 12", S(DEC_OK), 6, ACC_R, SEG_DS, 1, "imul eax,[rbx],imm32"},
    {M64, "66 69 03 34 12", S(DEC_OK), 5, ACC_R, SEG_DS, 1, "imul ax,[rbx],imm16"},
    {M64, "48 C7 05 00 00 00 00 FF FF FF FF", S(DEC_OK), 11, ACC_W, SEG_DS, 1,
     "mov qword [rip],-1"},
    {M64, "66 FF 30", S(DEC_OK), 3, ACC_R, SEG_DS, 1, "push word [rax]"},
    {M64, "66 48 FF 30", S(DEC_OK), 4, ACC_R, SEG_DS, 1, "push qword [rax]: REX.W beats 66"},
    {M64, "8F 00", S(DEC_OK), 2, ACC_W, SEG_DS, 1, "pop qword [rax]"},
    {M64, "FF 30", S(DEC_OK), 2, ACC_R, SEG_DS, 1, "push qword [rax] (FF /6 after INC/DEC)"},
    {M64, "41 FF F1", S(DEC_OK), 3, ACC_NONE, ANYSEG, 1, "push r9"},
    {M32, "FF 74 24 04", S(DEC_OK), 4, ACC_R, SEG_SS, 1, "push dword [esp+4]"},
    {M16, "FF 36 34 12", S(DEC_OK), 4, ACC_R, SEG_DS, 1, "push word [1234h]"},
    {M64, "67 41 8B 04 25 78 56 34 12", S(DEC_OK), 9, ACC_R, SEG_DS, 1,
     "SIB base 101, mod 00: no base even with REX.B"},
    {M64, "62 41 81 0F EF C0", S(DEC_UD), 0, 0, 0, 0, "EVEX with P1 bit 2 clear"},
    {M64, "62 E6 45 2C A6 36", S(DEC_UNSUPPORTED), 6, 0, 0, 1, "EVEX map 6 (AVX512-FP16)"},
    {M64, "62 E1 7C 08 58 C0", S(DEC_UNSUPPORTED), 6, 0, 0, 1, "EVEX map 1 (vaddps)"},
    {M64, "F3 0F C7 0E", S(DEC_OK) | S(DEC_UNSUPPORTED), 4, ACC_RW, SEG_DS, 1,
     "cmpxchg8b with an ignored F3"},
    {M32, "8F 00", S(DEC_OK), 2, ACC_W, SEG_DS, 1, "pop dword [eax]"},
    {M64, "0F BA 20 05", S(DEC_OK), 4, ACC_R, SEG_DS, 1, "bt dword [rax],5"},
    {M64, "0F A3 03", S(DEC_OK), 3, ACC_R, SEG_DS, 1, "bt [rbx],eax"},
    {M64, "D3 20", S(DEC_OK), 2, ACC_RW, SEG_DS, 1, "shl dword [rax],cl"},
    {M64, "0F B6 03", S(DEC_OK), 3, ACC_R, SEG_DS, 1, "movzx eax,byte [rbx]"},
    {M64, "0F 44 03", S(DEC_OK), 3, ACC_R, SEG_DS, 1, "cmove eax,[rbx]"},
    {M64, "0F 94 03", S(DEC_OK), 3, ACC_W, SEG_DS, 1, "sete [rbx]"},
    /* strings */
    {M64, "A4", S(DEC_OK), 1, ACC_NONE, SEG_DS, 1, "movsb"},
    {M64, "64 A4", S(DEC_OK), 2, ACC_NONE, SEG_FS, 1, "movsb from fs:[rsi]"},
    {M64, "F3 48 AB", S(DEC_OK), 3, ACC_NONE, ANYSEG, 1, "rep stosq"},
    {M32, "F2 A6", S(DEC_OK), 2, ACC_NONE, SEG_DS, 1, "repne cmpsb"},
    {M16, "26 AC", S(DEC_OK), 2, ACC_NONE, SEG_ES, 1, "lodsb from es:[si]"},
    /* port I/O */
    {M64, "E4 60", S(DEC_OK), 2, ACC_NONE, ANYSEG, 1, "in al,60h"},
    {M32, "66 ED", S(DEC_OK), 2, ACC_NONE, ANYSEG, 1, "in ax,dx"},
    {M64, "48 E7 80", S(DEC_OK), 3, ACC_NONE, ANYSEG, 1, "out 80h,eax (REX.W ignored)"},
    {M16, "F3 6C", S(DEC_OK), 2, ACC_NONE, ANYSEG, 1, "rep insb"},
    {M32, "2E 6F", S(DEC_OK), 2, ACC_NONE, SEG_CS, 1, "outsd from cs:[esi]"},
};

static unsigned parse_hex(const char *s, uint8_t *out, unsigned cap)
{
    unsigned n = 0;
    while (*s && n < cap) {
        if (isspace((unsigned char)*s)) {
            s++;
            continue;
        }
        unsigned v = 0;
        for (int d = 0; d < 2; d++, s++) {
            char c = (char)tolower((unsigned char)*s);
            v = v * 16 + (unsigned)(c >= 'a' ? c - 'a' + 10 : c - '0');
        }
        out[n++] = (uint8_t)v;
    }
    return n;
}

static void test_hand_cases(void)
{
    unsigned pass0 = (unsigned)n_pass, fail0 = (unsigned)n_fail;
    for (size_t i = 0; i < sizeof(hcases) / sizeof(hcases[0]); i++) {
        const struct hcase *c = &hcases[i];
        struct mode_info *mi = &modes[c->mode];
        uint8_t b[BUF_MAX];
        unsigned n = parse_hex(c->hex, b, sizeof(b));
        struct insn in;
        struct why w = {.len = 0, .count = 0};
        ZydisDecodedInstruction zi;
        ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
        memset(&zi, 0, sizeof(zi));
        memset(zo, 0, sizeof(zo));
        enum dec_status st = dec_decode(&mi->m, b, n, &in);
        ZyanStatus zs = zydis_decode(mi, b, n, &zi, zo);
        if (!(c->status & S(st)))
            why_add(&w, "status %s unexpected", status_name(st));
        if (st == DEC_OK && (c->status & S(DEC_OK))) {
            if (in.len != c->len)
                why_add(&w, "length %u, want %u", in.len, c->len);
            if (in.mem_access != c->acc)
                why_add(&w, "memory access %u, want %u", in.mem_access, c->acc);
            if (c->seg != ANYSEG && in.seg != c->seg)
                why_add(&w, "segment %s, want %s", seg_name(in.seg), seg_name(c->seg));
            if (ZYAN_SUCCESS(zs))
                compare_ok(mi, &in, &zi, zo, &w);
        }
        if (c->zy == 1 && !ZYAN_SUCCESS(zs))
            why_add(&w, "zydis rejects it (%s)", zstatus_name(zs));
        else if (c->zy == 1 && zi.length != c->len)
            why_add(&w, "zydis length %u, want %u", zi.length, c->len);
        else if (c->zy == 0 && ZYAN_SUCCESS(zs))
            why_add(&w, "zydis accepts it");
        char origin[96];
        snprintf(origin, sizeof(origin), "case %zu: %s", i, c->what);
        if (w.count)
            print_mismatch(mi, origin, b, n, st, &in, zs, &zi, zo, &w);
        else
            n_pass++;
    }
    printf("hand-written cases: %zu, %u passed, %u failed\n", sizeof(hcases) / sizeof(hcases[0]),
           (unsigned)n_pass - pass0, (unsigned)n_fail - fail0);
}

/* ------------------------------------------------------------------ */

static uint64_t run_seed(void)
{
    const char *s = getenv("WHVEMU_DECODE_SEED");
    if (s && *s)
        return strtoull(s, NULL, 0);
    uint64_t v = (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ull;
    v ^= (uint64_t)clock() << 20;
    v ^= (uint64_t)(uintptr_t)&v;
    return v & 0xFFFFFFFFFFFFull;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *sc = getenv("WHVEMU_DECODE_SCALE");
    if (sc && *sc) {
        scale = strtod(sc, NULL);
        if (!(scale > 0.0))
            scale = 1.0;
    }
    const char *mp = getenv("WHVEMU_DECODE_MAXPRINT");
    if (mp && *mp)
        max_print = strtoul(mp, NULL, 0);
    for (unsigned i = 0; i < 3; i++) {
        if (!ZYAN_SUCCESS(ZydisDecoderInit(&modes[i].zd, modes[i].zm, modes[i].zs))) {
            printf("ZydisDecoderInit failed for %s\n", modes[i].name);
            return 2;
        }
    }
    uint64_t seed = run_seed();
    printf("seeds: fixed 0x%x, this run 0x%" PRIx64 " (WHVEMU_DECODE_SEED=0x%" PRIx64
           " reproduces it); scale %g\n",
           FIXED_SEED, seed, seed, scale);

    test_table_sorted();
    test_hand_cases();
    run_generated(FIXED_SEED);
    run_generated(seed);

    for (unsigned i = 0; i < 3; i++) {
        const struct mode_info *mi = &modes[i];
        printf("%s: %lu tried, %lu accepted by our decoder, %lu compared with zydis; "
               "%lu #UD, %lu too long, %lu unsupported (%lu of them valid %s rows to zydis), "
               "%lu need-more; %lu truncations checked; %lu #UD for LOCK checked as ILLEGAL_LOCK\n",
               mi->name, mi->tried, mi->accepted, mi->compared, mi->ud, mi->too_long,
               mi->unsupported, mi->unsupp_valid, "table", mi->need_more, mi->trunc_checked,
               mi->lock_ud_checked);
    }
    printf("zydis departures tolerated: %lu MVEX decodings, %lu SIB no-base as r13d, "
           "%lu 16-bit MOVSXD m32, %lu VEX/EVEX.vvvv[3] = 0 outside 64-bit mode\n",
           quirk_mvex, quirk_sib_r13, quirk_movsxd16, quirk_vvvv32);
    printf("%lu passed, %lu failed\n", n_pass, n_fail);
    return n_fail ? 1 : 0;
}
