/*
 * whvemu - look inside the emulator (docs/man/whvemu.1).
 *
 *   whvemu decode [--mode 64|32|16] HEX...       the matched table row, the
 *                                                handler, the registers needed
 *   whvemu run [--cpl N] HEX [REG=VALUE...] [--mem GVA=HEX]... [--no-bytes]
 *                                                emulate once against an
 *                                                in-memory VM and print every
 *                                                callback and the result
 *   whvemu coverage                              the coverage table (Markdown)
 *
 * HEX is instruction bytes, e.g. "48 8b 03" or 488b03. Subcommands are rows
 * of `commands` below (tool.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu.h"
#include "fake_vmm.h"
#include "replay.h"
#include "tool.h"
#include "whvemu.h"

static const char *const gpr_names[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                          "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
static const char *const seg_names[6] = {"es", "cs", "ss", "ds", "fs", "gs"};

static void print_usage(FILE *out);

static int usage(void)
{
    print_usage(stderr);
    return 2;
}

/* Hex digits (spaces allowed) into bytes; returns the count or -1. */
static int parse_hex(const char *s, uint8_t *out, int max, int have)
{
    int n = have, half = -1;
    for (; *s; s++) {
        if (isspace((unsigned char)*s) || *s == ',')
            continue;
        if (!isxdigit((unsigned char)*s))
            return -1;
        int v = isdigit((unsigned char)*s) ? *s - '0' : (tolower((unsigned char)*s) - 'a' + 10);
        if (half < 0) {
            half = v;
        } else {
            if (n >= max)
                return -1;
            out[n++] = (uint8_t)(half << 4 | v);
            half = -1;
        }
    }
    return half < 0 ? n : -1;
}

static void print_needs(const struct insn *in)
{
    static const struct {
        unsigned slot;
        const char *name;
    } other[] = {
        {VR_CR0, "cr0"}, {VR_CR4, "cr4"}, {VR_XCR0, "xcr0"}, {VR_MXCSR, "mxcsr"},
        {VR_FPCS, "fpcs"},
    };
    uint64_t needs = in->needs;
    const char *sep = "";
    for (unsigned i = 0; i < 16; i++)
        if (needs & VR_GPR_BIT(i)) {
            printf("%s%s", sep, gpr_names[i]);
            sep = " ";
        }
    for (unsigned s = 0; s < 6; s++)
        if (needs & VR_SEG_BIT(s)) {
            printf("%s%s", sep, seg_names[s]);
            sep = " ";
        }
    for (unsigned i = 0; i < 16; i++)
        if (needs & VR_XMM_BIT(i)) {
            printf("%sxmm%u", sep, i);
            sep = " ";
        }
    for (unsigned i = 0; i < 8; i++)
        if (needs & VR_MM_BIT(i)) {
            printf("%smm%u", sep, i);
            sep = " ";
        }
    for (unsigned i = 0; i < sizeof(other) / sizeof(other[0]); i++)
        if (needs & VR_BIT(other[i].slot)) {
            printf("%s%s", sep, other[i].name);
            sep = " ";
        }
    static const struct {
        uint8_t bit;
        const char *name;
    } comps[] = {{XC_YMM_HI, "ymm_hi128"}, {XC_OPMASK, "opmask"}, {XC_ZMM_HI, "zmm_hi256"},
                 {XC_HI16, "hi16_zmm"}};
    for (unsigned i = 0; i < sizeof(comps) / sizeof(comps[0]); i++)
        if (in->xneeds & comps[i].bit) {
            printf("%sxstate:%s", sep, comps[i].name);
            sep = " ";
        }
    if (!*sep)
        printf("(none)");
    printf("\n");
}

static void print_operand(const struct insn *in, unsigned i)
{
    const struct opnd *o = &in->op[i];
    static const char *const hi8[4] = {"ah", "ch", "dh", "bh"};
    switch (o->type) {
    case OPND_REG:
        if (o->high8)
            printf("%s", hi8[o->reg & 3]);
        else
            printf("%s/%u", gpr_names[o->reg], 8 * o->size);
        break;
    case OPND_IMM:
        printf("0x%llx", (unsigned long long)o->imm);
        break;
    case OPND_VREG:
        printf("%smm%u", o->size > 32 ? "z" : o->size > 16 ? "y" : "x", o->reg);
        break;
    case OPND_MMX:
        printf("mm%u", o->reg);
        break;
    case OPND_KREG:
        printf("k%u", o->reg);
        break;
    case OPND_MEM: {
        uint8_t k = in->row->k[i];
        printf("m%u ", 8 * o->size);
        if (k == K_Xb || k == K_Xv)
            printf("%s:[rsi]", seg_names[in->seg % 6]);
        else if (k == K_DSDI || k == K_DSDIq)
            printf("%s:[rdi]", seg_names[in->seg % 6]);
        else if (k == K_Yb || k == K_Yv)
            printf("es:[rdi]");
        else if (in->mem_form == MEM_MOFFS)
            printf("%s:[0x%llx]", seg_names[in->seg % 6], (unsigned long long)in->disp);
        else {
            printf("%s:[", seg_names[in->seg % 6]);
            if (in->riprel)
                printf("rip");
            if (in->base != NO_REG)
                printf("%s", gpr_names[in->base]);
            if (in->index != NO_REG)
                printf("+%s*%u", gpr_names[in->index], in->scale);
            printf("%+lld]", (long long)in->disp);
        }
        break;
    }
    default:
        printf("?");
    }
}

static int parse_mode(const char *s, struct dec_mode *m)
{
    if (!strcmp(s, "64")) {
        *m = (struct dec_mode){true, 4, 8};
    } else if (!strcmp(s, "32")) {
        *m = (struct dec_mode){false, 4, 4};
    } else if (!strcmp(s, "16")) {
        *m = (struct dec_mode){false, 2, 2};
    } else {
        return -1;
    }
    return 0;
}

static int cmd_decode(int argc, char **argv)
{
    struct dec_mode m = {true, 4, 8};
    uint8_t bytes[32];
    int n = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--mode") && i + 1 < argc) {
            if (parse_mode(argv[++i], &m))
                return usage();
        } else if ((n = parse_hex(argv[i], bytes, 16, n)) < 0) {
            return usage();
        }
    }
    if (n == 0)
        return usage();
    struct insn in;
    enum dec_status s = dec_decode(&m, bytes, (unsigned)n, &in);
    if (s != DEC_OK) {
        printf("decode: %s\n", dec_status_text(s));
        return 1;
    }
    const struct op_row *r = in.row;
    printf("mnemonic:   %s\n", r->mnem);
    printf("length:     %u\n", in.len);
    printf("row:        map %u, opcode 0x%02X, prefix %u, reg %s  (%s %s%s%s)\n", OPC_MAP(r->key),
           OPC_OP(r->key), OPC_PFX(r->key), OPC_REG(r->key) == REG_ANY ? "any" : "fixed",
           dec_kind_name(r->k[0]), dec_kind_name(r->k[1]), r->k[2] ? "," : "",
           dec_kind_name(r->k[2]));
    printf("handler:    %s\n", r->fn_name);
    printf("sizes:      operand %u, address %u%s%s\n", 8 * in.opsize, 8 * in.addrsize,
           in.lock ? ", lock" : "", in.rep ? (in.rep == PFX_F3 ? ", rep/repe" : ", repne") : "");
    for (unsigned i = 0; i < in.nops; i++) {
        printf("operand %u:  ", i);
        print_operand(&in, i);
        printf("\n");
    }
    printf("registers:  ");
    print_needs(&in);
    printf("flags:      writes 0x%03X, undefined 0x%03X\n", r->fl_out, r->fl_undef);
    return 0;
}

/* The fake VMM's call log with registers, flags and result codes by name. */
static void dump_log(const fake_vmm *vm, FILE *out)
{
    for (size_t i = 0; i < fvmm_call_count(vm); i++) {
        const fvmm_call *c = fvmm_call_at(vm, i);
        fprintf(out, "  #%zu %-9s hr=0x%08x%s", i, fvmm_cb_kind_name(c->kind), (unsigned)c->hr,
                c->injected ? " (injected)" : "");
        switch (c->kind) {
        case FVMM_CB_MEMORY:
            fprintf(out, " gpa=0x%llx %s size=%u data=", (unsigned long long)c->u.mem.gpa,
                    c->u.mem.direction ? "write" : "read", c->u.mem.size);
            for (unsigned k = 0; k < c->u.mem.size && k < 8; k++)
                fprintf(out, "%02x", c->u.mem.data[k]);
            break;
        case FVMM_CB_TRANSLATE: {
            const char *res = tool_translate_result_name((UINT32)c->u.translate.result);
            fprintf(out, " gva=0x%llx flags=", (unsigned long long)c->u.translate.gva);
            tool_print_translate_flags(out, c->u.translate.flags);
            if (res)
                fprintf(out, " result=%s", res);
            else
                fprintf(out, " result=%u", (unsigned)c->u.translate.result);
            fprintf(out, " gpa=0x%llx", (unsigned long long)c->u.translate.gpa);
            break;
        }
        case FVMM_CB_IO:
            fprintf(out, " port=0x%x size=%u %s data=0x%x", c->u.io.port, c->u.io.size,
                    c->u.io.direction ? "out" : "in", c->u.io.data);
            break;
        case FVMM_CB_GET_REGS:
        case FVMM_CB_SET_REGS: {
            const WHV_REGISTER_NAME *names = fvmm_call_reg_names(vm, c);
            const WHV_REGISTER_VALUE *vals = fvmm_call_reg_values(vm, c);
            fprintf(out, " n=%u:", c->u.regs.count);
            for (UINT32 k = 0; k < c->u.regs.count; k++) {
                UINT32 nm = (UINT32)names[k];
                fputc(' ', out);
                tool_print_reg(out, nm);
                if (c->kind != FVMM_CB_SET_REGS)
                    continue;
                if (nm >= WHvX64RegisterXmm0 && nm <= WHvX64RegisterXmmControlStatus)
                    fprintf(out, "=%llx:%016llx", /* 128-bit: high:low */
                            (unsigned long long)vals[k].Reg128.High64,
                            (unsigned long long)vals[k].Reg128.Low64);
                else
                    fprintf(out, "=%llx", (unsigned long long)vals[k].Reg64);
            }
            break;
        }
        case FVMM_CB_XSTATE:
            fprintf(out, " component=%u %s size=%u", c->u.xstate.component,
                    c->u.xstate.write ? "write" : "read", c->u.xstate.size);
            break;
        default:
            break;
        }
        fputc('\n', out);
    }
}

static void print_diagnostics(WHV_EMULATOR_HANDLE emu)
{
    WHVEMU_DIAGNOSTICS d;
    d.Size = sizeof(d);
    if (whvemu_get_last_diagnostics(emu, &d) != S_OK || d.Reason == WHVEMU_DIAG_NONE)
        return;
    printf("diagnostics: %s, mode %s", tool_diag_reason_name(d.Reason),
           tool_cpu_mode_name(d.CpuMode));
    if (d.Mnemonic[0])
        printf(", %s", d.Mnemonic);
    printf(", bytes");
    for (unsigned i = 0; i < d.InstructionByteCount; i++)
        printf(" %02x", d.InstructionBytes[i]);
    if (d.Reason == WHVEMU_DIAG_CALLBACK_FAILED)
        printf(", %s returned 0x%08x", tool_diag_callback_name(d.Callback),
               (unsigned)d.CallbackResult);
    if (d.Reason == WHVEMU_DIAG_FAULT_INJECTED || d.Reason == WHVEMU_DIAG_INVALID_ENCODING) {
        printf(", vector %u", d.FaultVector);
        if (d.FaultHasErrorCode)
            printf(" error code 0x%x", (unsigned)d.FaultErrorCode);
        if (d.FaultVector == 14)
            printf(" cr2 0x%llx", (unsigned long long)d.FaultCr2);
    }
    if (d.Message[0])
        printf(": %s", d.Message);
    printf("\n");
}

/* A usage error in `run`: the VM is freed first. */
static int run_usage(fake_vmm *vm)
{
    fvmm_destroy(vm);
    return usage();
}

static int cmd_run(int argc, char **argv)
{
    fake_vmm *vm = fvmm_create();
    fvmm_setup_long_mode(vm, 0);
    fvmm_set_reg64(vm, WHvX64RegisterRip, 0x401000);
    uint8_t bytes[16];
    int n = 0, cpl = 0, give_bytes = 1;
    for (int i = 0; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!strcmp(argv[i], "--cpl") && i + 1 < argc) {
            cpl = atoi(argv[++i]) & 3;
            fvmm_setup_long_mode(vm, (unsigned)cpl);
        } else if (!strcmp(argv[i], "--no-bytes")) {
            give_bytes = 0;
        } else if (!strcmp(argv[i], "--mem") && i + 1 < argc && strchr(argv[i + 1], '=')) {
            char *spec = argv[++i];
            char *e2 = strchr(spec, '=');
            uint8_t data[256];
            *e2 = 0;
            uint64_t gva = strtoull(spec, NULL, 0);
            int len = parse_hex(e2 + 1, data, (int)sizeof(data), 0);
            if (len < 0)
                return run_usage(vm);
            fvmm_gva_write(vm, gva, data, (size_t)len);
        } else if (eq) {
            *eq = 0;
            WHV_REGISTER_NAME reg;
            if (tool_reg_lookup(argv[i], &reg)) {
                fprintf(stderr, "whvemu: unknown register %s\n", argv[i]);
                return run_usage(vm);
            }
            fvmm_set_reg64(vm, reg, strtoull(eq + 1, NULL, 0));
        } else if ((n = parse_hex(argv[i], bytes, 16, n)) < 0) {
            return run_usage(vm);
        }
    }
    if (n == 0)
        return run_usage(vm);
    uint64_t rip = fvmm_reg64(vm, WHvX64RegisterRip);
    fvmm_gva_write(vm, rip, bytes, (size_t)n);

    /* The exit: the address of the first memory operand, as an MMIO exit. */
    struct dec_mode m = {true, 4, 8};
    struct insn in;
    uint64_t gva = 0;
    if (dec_decode(&m, bytes, (unsigned)n, &in) == DEC_OK && in.mem_form == MEM_MODRM &&
        in.has_modrm && in.mod != 3) {
        gva = in.disp;
        if (in.base != NO_REG)
            gva += fvmm_reg64(vm, (WHV_REGISTER_NAME)in.base);
        if (in.index != NO_REG)
            gva += fvmm_reg64(vm, (WHV_REGISTER_NAME)in.index) * in.scale;
        if (in.riprel)
            gva += rip + in.len;
    }
    UINT64 gpa = 0;
    fvmm_translate(vm, gva, 0, &gpa);
    WHV_VP_EXIT_CONTEXT vp;
    WHV_MEMORY_ACCESS_CONTEXT mc;
    fvmm_mmio_exit d = {bytes, give_bytes ? (unsigned)n : 0, gpa, gva, gva != 0, 1,
                        WHvMemoryAccessWrite};
    fvmm_build_mmio_exit64(vm, &vp, &mc, &d);

    WHV_EMULATOR_HANDLE emu;
    if (WHvEmulatorCreateEmulator(fvmm_callbacks(), &emu) != S_OK)
        return 1;
    fvmm_reset_log(vm);
    WHV_EMULATOR_STATUS st;
    HRESULT hr = WHvEmulatorTryMmioEmulation(emu, vm, &vp, &mc, &st);
    printf("callbacks:\n");
    dump_log(vm, stdout);
    printf("result: hr=0x%08x status=0x%03x ", (unsigned)hr, st.AsUINT32);
    tool_print_status(stdout, st.AsUINT32);
    printf("\n");
    print_diagnostics(emu);
    const char *why = fvmm_check_round_trip(vm, &vp, &mc, &st);
    printf("round trip: %s\n", why ? why : "ok");
    WHvEmulatorDestroyEmulator(emu);
    fvmm_destroy(vm);
    return st.EmulationSuccessful ? 0 : 1;
}

static const char *flag_list(unsigned f)
{
    static char buf[32];
    static const struct {
        unsigned bit;
        char c;
    } fl[] = {{FL_OF, 'O'}, {FL_SF, 'S'}, {FL_ZF, 'Z'}, {FL_AF, 'A'}, {FL_PF, 'P'}, {FL_CF, 'C'}};
    int n = 0;
    for (unsigned i = 0; i < 6; i++)
        if (f & fl[i].bit)
            buf[n++] = fl[i].c;
    buf[n] = 0;
    return n ? buf : "-";
}

static int cmd_coverage(int argc, char **argv)
{
    (void)argv;
    if (argc != 0)
        return usage();
    static const char *const maps[] = {"", "0F ", "0F 38 ", "0F 3A "};
    static const char *const pfx[] = {"", "66 ", "F3 ", "F2 "};
    unsigned count;
    const struct op_row *rows = dec_rows(&count);
    printf("# Instruction coverage\n\n"
           "Generated by `whvemu coverage` from `src/opcodes.def`; a test keeps this file equal\n"
           "to the table. Every row is emulated in every mode with every operand size the form\n"
           "allows, LOCK where the row says so, and REP/REPE/REPNE for string rows. Faults\n"
           "(#GP #SS #PF #AC #DE #UD #NM #MF) are injected as the CPU raises them.\n\n"
           "Vector rows (operands V W U H M with sizes x dq q d; P Q N for MMX) use XMM0-15,\n"
           "MXCSR and MM0-7 from the standard register callbacks and the upper YMM halves\n"
           "through the xstate extension (`whvemu_set_xstate_callback`). `memory-form`: only\n"
           "the form with a memory operand is emulated (a register-only form causes no\n"
           "memory exit and is refused); `aligned`: a memory operand not aligned to its size\n"
           "raises #GP(0). VEX rows take 128 or 256 bits by VEX.L (`VEX.128`: only L = 0).\n"
           "EVEX rows take 128, 256 or 512 bits by EVEX.L'L, registers 0-31, an opmask with\n"
           "merging or zeroing on the element size shown (`{k}{z}/32`): disabled elements are\n"
           "neither read nor written in memory and cannot fault; `{1toN}`: the memory operand\n"
           "may be one element (a dword, or a qword with W1) broadcast; a disp8 is scaled by\n"
           "the size of the memory\n"
           "operand as read (which is N for every tuple type of these rows). An opmask\n"
           "destination (KR) gets one bit per element. `no-fault-suppression`: the whole\n"
           "memory operand is read whatever the mask (its elements are not the\n"
           "destination's); `EVEX.256/512`: no 128-bit form. EVEX floating point runs on the\n"
           "host's VEX forms per 256-bit half, disabled elements given 1.0 so they raise no\n"
           "flag. Legacy SSE and\n"
           "VEX rows are checked against the host CPU in 64-bit mode, a sample of them\n"
           "also in 16/32-bit protected, compatibility and real mode. EVEX rows, which\n"
           "this project's test machines cannot run, are checked (`model`) against the\n"
           "host's VEX form on each 256-bit half (or a C model) with an opmask model\n"
           "(`tests/diff/test_evex_model.c`), or (`by-hand`) against hand-checked values\n"
           "(`tests/unit/test_simd.c`); all of them have their decoding checked against Zydis.\n"
           "General-purpose rows are checked against the host CPU in 64-bit mode, most of\n"
           "them also in 16/32-bit protected, compatibility and real mode; MOVDIRI and\n"
           "MOVDIR64B, where the host lacks them, against MOV and a model of the 64-byte copy.\n\n"
           "| Encoding | Mnemonic | Operands | Traits | Flags written | Undefined | Handler |\n"
           "|---|---|---|---|---|---|---|\n");
    for (unsigned i = 0; i < count; i++) {
        const struct op_row *r = &rows[i];
        unsigned map = OPC_MAP(r->key);
        char enc[48];
        if (map >= MAP_VEX_0F && map <= MAP_EVEX_0F3A) {
            static const char *const vpfx[] = {"", "66.", "F3.", "F2."};
            static const char *const vmap[] = {"0F", "0F38", "0F3A"};
            static const char *const wname[] = {"", ".W0", ".W1"};
            bool evex = map >= MAP_EVEX_0F;
            snprintf(enc, sizeof(enc), "%s%s.%s%s%s %02X", evex ? "EVEX" : "VEX",
                     (r->traits & T_L0) ? ".128" : "", vpfx[OPC_PFX(r->key)],
                     vmap[map - (evex ? MAP_EVEX_0F : MAP_VEX_0F)], wname[OPC_W(r->key)],
                     OPC_OP(r->key));
        } else if (OPC_REG(r->key) == REG_ANY)
            snprintf(enc, sizeof(enc), "%s%s%02X", pfx[OPC_PFX(r->key)], map < 4 ? maps[map] : "",
                     OPC_OP(r->key));
        else
            snprintf(enc, sizeof(enc), "%s%s%02X /%u", pfx[OPC_PFX(r->key)],
                     map < 4 ? maps[map] : "", OPC_OP(r->key), OPC_REG(r->key));
        char ops[48] = "";
        for (unsigned k = 0; k < 3 && r->k[k]; k++) {
            if (k)
                strcat(ops, ", ");
            strcat(ops, dec_kind_name(r->k[k]));
        }
        char tr[160] = "";
        if (r->traits & (T_LOCK | T_XCHG))
            strcat(tr, r->traits & T_XCHG ? "locked " : "LOCK ");
        if (r->traits & T_REP)
            strcat(tr, "REP ");
        if (r->traits & T_REPCC)
            strcat(tr, "REPE/REPNE ");
        if (r->traits & T_NO64)
            strcat(tr, "not-64 ");
        if (r->traits & T_ONLY64)
            strcat(tr, "64-only ");
        if (r->traits & T_BITOFS)
            strcat(tr, "bit-offset ");
        if (r->traits & T_MMX)
            strcat(tr, "MMX ");
        if (r->traits & T_MEMFORM)
            strcat(tr, "memory-form ");
        if (r->traits & T_ALIGNED)
            strcat(tr, "aligned ");
        if (r->traits & T_BCST)
            strcat(tr, "{1toN} ");
        if (map >= MAP_EVEX_0F && !(r->traits & T_NOMASK)) {
            static const char *const es[] = {"{k}{z}/8 ", "{k}{z}/16 ", "{k}{z}/32 ",
                                             "{k}{z}/64 "};
            strcat(tr, es[(r->traits >> T_ESZ_SHIFT) & 3]);
        }
        if (r->traits & T_NOFS)
            strcat(tr, "no-fault-suppression ");
        if (r->traits & T_NOT128)
            strcat(tr, "EVEX.256/512 ");
        if (map >= MAP_EVEX_0F)
            strcat(tr, dec_evex_model_checked(r) ? "model " : "by-hand ");
        size_t tl = strlen(tr);
        if (tl)
            tr[tl - 1] = 0;
        char out[32];
        snprintf(out, sizeof(out), "%s", flag_list(r->fl_out));
        printf("| `%s` | %s | %s | %s | %s | %s | `%s` |\n", enc, r->mnem, ops[0] ? ops : "-",
               tr[0] ? tr : "-", out, flag_list(r->fl_undef), r->fn_name);
    }
    printf("\nModes: real, virtual-8086, 16- and 32-bit protected, compatibility and 64-bit\n"
           "mode, with segmentation (base, limit, expand-down, rights, null segments) outside\n"
           "64-bit mode and canonical checks in it. Port I/O rows (`in`, `out`, `ins`,\n"
           "`outs`) run only through `WHvEmulatorTryIoEmulation`.\n\n"
           "Not emulated (refused with `InternalEmulationFailure`, nothing changed): every\n"
           "encoding without a row above, among them the SSE and AVX arithmetic, shuffle\n"
           "and conversion forms, the EVEX (AVX-512) forms without a row above, x87,\n"
           "segment-register moves and far transfers.\n");
    return 0;
}

static int cmd_help(int argc, char **argv);
static int cmd_version(int argc, char **argv);

/* whvemu replay: tools/replay.c parses its arguments from argv[1] on. */
static int cmd_replay(int argc, char **argv)
{
    return replay_main(argc + 1, argv - 1);
}

/* The subcommands: one row each. */
static const struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *args;
    const char *help;
} commands[] = {
    {"decode", cmd_decode, "[--mode 64|32|16] HEX...",
     "decode instruction bytes: the table row, handler, operands and registers needed"},
    {"run", cmd_run, "[--cpl N] HEX [REG=VALUE...] [--mem GVA=HEX]... [--no-bytes]",
     "emulate once against an in-memory 64-bit VM; print every callback and the result"},
    {"coverage", cmd_coverage, "", "print the coverage table (Markdown)"},
    {"replay", cmd_replay, "[-q] FILE",
     "run a recording (whvemu_set_trace) again and check that the emulator does the same"},
    {"--help", cmd_help, "", "print this help"},
    {"--version", cmd_version, "", "print the library version"},
};

static void print_usage(FILE *out)
{
    fprintf(out, "usage:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  whvemu %s%s%s\n      %s\n", commands[i].name, commands[i].args[0] ? " " : "",
                commands[i].args, commands[i].help);
    fprintf(out, "HEX is instruction bytes, e.g. \"48 8b 03\" or 488b03. REG is a register\n"
                 "name as in WHV_REGISTER_NAME without its prefix (Rax, Rbx, Rflags, Cr4, ...).\n"
                 "See whvemu(1).\n");
}

static int cmd_help(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    print_usage(stdout);
    return 0;
}

static int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("whvemu %s\n", whvemu_version());
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "help"))
        return cmd_help(0, NULL);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 2, argv + 2);
    fprintf(stderr, "whvemu: unknown command %s\n", argv[1]);
    return usage();
}
