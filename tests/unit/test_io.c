/*
 * test_io.c - port I/O through WHvEmulatorTryIoEmulation: the exact
 * sequence of port and memory callbacks, the register effects, the round
 * trips (no get-registers call when the exit context holds everything),
 * and the cross-check of the context against the instruction bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "WinHvEmulation.h"
#include "check.h"
#include "fake_vmm.h"
#include "whvemu.h"

#define RIP0 0x401000ull
#define BUF 0x600000ull

struct io_fx {
    fake_vmm *vm;
    WHV_EMULATOR_HANDLE emu;
    WHV_VP_EXIT_CONTEXT vp;
    WHV_X64_IO_PORT_ACCESS_CONTEXT io;
    WHV_EMULATOR_STATUS st;
};

static void fx_init(struct io_fx *f)
{
    memset(f, 0, sizeof(*f));
    f->vm = fvmm_create();
    fvmm_setup_long_mode(f->vm, 0);
    fvmm_set_reg64(f->vm, WHvX64RegisterRip, RIP0);
    if (WHvEmulatorCreateEmulator(fvmm_callbacks(), &f->emu) != S_OK)
        abort();
}

static void fx_fini(struct io_fx *f)
{
    WHvEmulatorDestroyEmulator(f->emu);
    fvmm_destroy(f->vm);
}

/* Builds the port exit from the fake VMM's registers and runs it. */
static void fx_run(struct io_fx *f, const uint8_t *bytes, unsigned n, uint16_t port, unsigned size,
                   int write, int string, int rep, unsigned insn_len)
{
    fvmm_build_exit64(&f->vp, 0, fvmm_reg64(f->vm, WHvX64RegisterRip),
                      fvmm_reg64(f->vm, WHvX64RegisterRflags));
    f->vp.InstructionLength = insn_len & 15;
    memset(&f->io, 0, sizeof(f->io));
    f->io.InstructionByteCount = (UINT8)n;
    if (n)
        memcpy(f->io.InstructionBytes, bytes, n);
    f->io.AccessInfo.IsWrite = (UINT32)write;
    f->io.AccessInfo.AccessSize = size;
    f->io.AccessInfo.StringOp = (UINT32)string;
    f->io.AccessInfo.RepPrefix = (UINT32)rep;
    f->io.PortNumber = port;
    f->io.Rax = fvmm_reg64(f->vm, WHvX64RegisterRax);
    f->io.Rcx = fvmm_reg64(f->vm, WHvX64RegisterRcx);
    f->io.Rsi = fvmm_reg64(f->vm, WHvX64RegisterRsi);
    f->io.Rdi = fvmm_reg64(f->vm, WHvX64RegisterRdi);
    WHV_REGISTER_VALUE v;
    fvmm_reg_get(f->vm, WHvX64RegisterDs, &v);
    f->io.Ds = v.Segment;
    fvmm_reg_get(f->vm, WHvX64RegisterEs, &v);
    f->io.Es = v.Segment;
    fvmm_reset_log(f->vm);
    CHECK_EQ(WHvEmulatorTryIoEmulation(f->emu, f->vm, &f->vp, &f->io, &f->st), S_OK);
    const char *why = fvmm_check_round_trip(f->vm, &f->vp, NULL, &f->st);
    if (why) {
        printf("  round trip: %s\n", why);
        fvmm_dump_log(f->vm, stdout);
    }
    CHECK(why == NULL);
}

static void test_out_dx_al_writes_the_port_and_only_rip(void)
{
    struct io_fx f;
    fx_init(&f);
    fvmm_set_reg64(f.vm, WHvX64RegisterRax, 0x1122334455667788ull);
    static const uint8_t out[] = {0xee};
    fx_run(&f, out, 1, 0x3f8, 1, 1, 0, 0, 1);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_call_count(f.vm), 2);
    const fvmm_call *c = fvmm_call_at(f.vm, 0);
    CHECK_EQ(c->kind, FVMM_CB_IO);
    CHECK_EQ(c->u.io.port, 0x3f8);
    CHECK_EQ(c->u.io.size, 1);
    CHECK_EQ(c->u.io.direction, 1);
    CHECK_EQ(c->u.io.data, 0x88);
    c = fvmm_call_at(f.vm, 1);
    CHECK_EQ(c->kind, FVMM_CB_SET_REGS);
    CHECK_EQ(c->u.regs.count, 1);
    CHECK_EQ(fvmm_call_reg_names(f.vm, c)[0], WHvX64RegisterRip);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), RIP0 + 1);
    fx_fini(&f);
}

static void test_in_merges_al_ax_and_zero_extends_eax(void)
{
    static const struct {
        uint8_t bytes[3];
        unsigned n, size;
        uint64_t keep_mask;
    } cases[] = {
        {{0xec}, 1, 1, ~0xFFull},
        {{0x66, 0xed}, 2, 2, ~0xFFFFull},
        {{0xed}, 1, 4, 0},
    };
    for (unsigned i = 0; i < 3; i++) {
        struct io_fx f;
        fx_init(&f);
        uint64_t rax = 0xA1A2A3A4A5A6A7A8ull;
        fvmm_set_reg64(f.vm, WHvX64RegisterRax, rax);
        fx_run(&f, cases[i].bytes, cases[i].n, 0x60, cases[i].size, 0, 0, 0, cases[i].n);
        CHECK_EQ(f.st.AsUINT32, 1);
        uint64_t v = fvmm_port_value(0x60, 0, (UINT16)cases[i].size);
        CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRax), (rax & cases[i].keep_mask) | v);
        CHECK_EQ(fvmm_count(f.vm, FVMM_CB_GET_REGS), 0);
        CHECK_EQ(fvmm_count(f.vm, FVMM_CB_IO), 1);
        CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), RIP0 + cases[i].n);
        fx_fini(&f);
    }
}

static void test_in_imm8_checks_the_port_against_the_context(void)
{
    struct io_fx f;
    fx_init(&f);
    static const uint8_t in[] = {0xe4, 0x71}; /* in al, 0x71 */
    fx_run(&f, in, 2, 0x71, 1, 0, 0, 0, 2);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_IO), 1);
    fvmm_set_reg64(f.vm, WHvX64RegisterRip, RIP0);
    fx_run(&f, in, 2, 0x70, 1, 0, 0, 0, 2);
    CHECK_EQ(f.st.AsUINT32, 2);
    CHECK_EQ(fvmm_call_count(f.vm), 0);
    CHECK(strlen(whvemu_last_failure(f.emu)) > 0);
    fx_fini(&f);
}

static void test_context_that_does_not_match_the_bytes_is_refused(void)
{
    struct io_fx f;
    fx_init(&f);
    static const uint8_t out[] = {0xee};
    fx_run(&f, out, 1, 0x3f8, 1, 0, 0, 0, 1); /* says IN */
    CHECK_EQ(f.st.AsUINT32, 2);
    fx_run(&f, out, 1, 0x3f8, 2, 1, 0, 0, 1); /* says 2 bytes */
    CHECK_EQ(f.st.AsUINT32, 2);
    fx_run(&f, out, 1, 0x3f8, 1, 1, 1, 0, 1); /* says string */
    CHECK_EQ(f.st.AsUINT32, 2);
    static const uint8_t mov[] = {0x8b, 0x03};
    fx_run(&f, mov, 2, 0x3f8, 4, 0, 0, 0, 2); /* not I/O at all */
    CHECK_EQ(f.st.AsUINT32, 2);
    CHECK_EQ(fvmm_call_count(f.vm), 0);
    fx_fini(&f);
}

static void test_plain_io_without_bytes_uses_the_exit_length(void)
{
    struct io_fx f;
    fx_init(&f);
    fvmm_set_reg64(f.vm, WHvX64RegisterRax, 0xFFFFFFFF12345678ull);
    fx_run(&f, NULL, 0, 0xcf8, 4, 1, 0, 0, 1);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_TRANSLATE), 0);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_MEMORY), 0);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_GET_REGS), 0);
    CHECK_EQ(fvmm_port_write_count(f.vm), 1);
    CHECK_EQ(fvmm_port_write_at(f.vm, 0)->data, 0x12345678);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), RIP0 + 1);
    /* With neither bytes nor a length the bytes are fetched. */
    static const uint8_t in16[] = {0x66, 0xe5, 0x10};
    fvmm_gva_write(f.vm, RIP0 + 1, in16, 3);
    fx_run(&f, NULL, 0, 0x10, 2, 0, 0, 0, 0);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_TRANSLATE), 1);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), RIP0 + 4);
    fx_fini(&f);
}

static void test_rep_outsb_16_bytes_reads_memory_and_writes_the_port_in_order(void)
{
    struct io_fx f;
    fx_init(&f);
    uint8_t msg[16];
    for (unsigned i = 0; i < 16; i++)
        msg[i] = (uint8_t)('a' + i);
    fvmm_gva_write(f.vm, BUF, msg, 16);
    fvmm_set_reg64(f.vm, WHvX64RegisterRcx, 16);
    fvmm_set_reg64(f.vm, WHvX64RegisterRsi, BUF);
    static const uint8_t outsb[] = {0xf3, 0x6e};
    fx_run(&f, outsb, 2, 0x3f8, 1, 1, 1, 1, 2);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_GET_REGS), 0);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_IO), 16);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_MEMORY), 16);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_TRANSLATE), 1);
    CHECK_EQ(fvmm_port_write_count(f.vm), 16);
    for (unsigned i = 0; i < 16 && i < fvmm_port_write_count(f.vm); i++)
        CHECK_EQ(fvmm_port_write_at(f.vm, i)->data, msg[i]);
    /* memory read, then port write, per element */
    size_t k = 0;
    for (size_t i = 0; i < fvmm_call_count(f.vm); i++) {
        const fvmm_call *c = fvmm_call_at(f.vm, i);
        if (c->kind == FVMM_CB_MEMORY)
            CHECK_EQ(fvmm_call_at(f.vm, i + 1)->kind, FVMM_CB_IO);
        if (c->kind == FVMM_CB_IO)
            k++;
    }
    CHECK_EQ(k, 16);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRcx), 0);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRsi), BUF + 16);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), RIP0 + 2);
    fx_fini(&f);
}

static void test_rep_insw_backwards_stores_each_port_value(void)
{
    struct io_fx f;
    fx_init(&f);
    fvmm_set_reg64(f.vm, WHvX64RegisterRflags, 0x402); /* DF */
    fvmm_set_reg64(f.vm, WHvX64RegisterRcx, 5);
    fvmm_set_reg64(f.vm, WHvX64RegisterRdi, BUF + 0x100);
    static const uint8_t insw[] = {0xf3, 0x66, 0x6d};
    fx_run(&f, insw, 3, 0x1f0, 2, 0, 1, 1, 3);
    CHECK_EQ(f.st.AsUINT32, 1);
    for (unsigned i = 0; i < 5; i++) {
        uint16_t got = 0;
        fvmm_gva_read(f.vm, BUF + 0x100 - 2 * i, &got, 2);
        CHECK_EQ(got, fvmm_port_value(0x1f0, i, 2));
    }
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRdi), BUF + 0x100 - 10);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRcx), 0);
    fx_fini(&f);
}

static void test_address_size_override_counts_ecx_and_wraps_edi(void)
{
    struct io_fx f;
    fx_init(&f);
    fvmm_set_reg64(f.vm, WHvX64RegisterRcx, 0xABCD000000000002ull);
    fvmm_set_reg64(f.vm, WHvX64RegisterRdi, 0x12345678FFFFFFFFull);
    fvmm_map_gva(f.vm, 0xFFFFFFFF, 0x9000);
    fvmm_map_gva(f.vm, 0, 0xA000);
    static const uint8_t insb[] = {0x67, 0xf3, 0x6c};
    fx_run(&f, insb, 3, 0x80, 1, 0, 1, 1, 3);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRcx), 0); /* ECX written: upper zeroed */
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRdi), 1); /* EDI wrapped */
    uint8_t a = 0, b = 0;
    fvmm_gpa_read(f.vm, 0x9FFF, &a, 1);
    fvmm_gpa_read(f.vm, 0xA000, &b, 1);
    CHECK_EQ(a, fvmm_port_value(0x80, 0, 1));
    CHECK_EQ(b, fvmm_port_value(0x80, 1, 1));
    fx_fini(&f);
}

static void test_outs_with_fs_override_fetches_only_fs_and_cr4(void)
{
    struct io_fx f;
    fx_init(&f);
    WHV_REGISTER_VALUE fs;
    fvmm_reg_get(f.vm, WHvX64RegisterFs, &fs);
    fs.Segment.Base = 0x100000;
    fvmm_reg_set(f.vm, WHvX64RegisterFs, &fs);
    uint32_t word = 0xCAFEBABE;
    fvmm_gva_write(f.vm, 0x100000 + 0x40, &word, 4);
    fvmm_set_reg64(f.vm, WHvX64RegisterRsi, 0x40);
    static const uint8_t outsd[] = {0x64, 0x6f};
    fx_run(&f, outsd, 2, 0x500, 4, 1, 1, 0, 2);
    CHECK_EQ(f.st.AsUINT32, 1);
    const fvmm_call *c = fvmm_call_at(f.vm, 0);
    CHECK_EQ(c->kind, FVMM_CB_GET_REGS);
    CHECK_EQ(c->u.regs.count, 2);
    CHECK_EQ(fvmm_call_reg_names(f.vm, c)[0], WHvX64RegisterFs);
    CHECK_EQ(fvmm_call_reg_names(f.vm, c)[1], WHvX64RegisterCr4);
    CHECK_EQ(fvmm_port_write_at(f.vm, 0)->data, 0xCAFEBABE);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRsi), 0x44);
    fx_fini(&f);
}

static void test_rep_with_zero_count_touches_nothing(void)
{
    struct io_fx f;
    fx_init(&f);
    fvmm_set_reg64(f.vm, WHvX64RegisterRcx, 0);
    static const uint8_t outsb[] = {0xf3, 0x6e};
    fx_run(&f, outsb, 2, 0x3f8, 1, 1, 1, 1, 2);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_IO), 0);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_MEMORY), 0);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), RIP0 + 2);
    fx_fini(&f);
}

static void test_ins_to_a_missing_page_faults_before_reading_the_port(void)
{
    struct io_fx f;
    fx_init(&f);
    fvmm_map_gva_ex(f.vm, BUF, WHvTranslateGvaResultPageNotPresent, 0, 0);
    fvmm_set_reg64(f.vm, WHvX64RegisterRdi, BUF + 8);
    fvmm_set_reg64(f.vm, WHvX64RegisterRcx, 3);
    static const uint8_t insb[] = {0xf3, 0x6c};
    fx_run(&f, insb, 2, 0x80, 1, 0, 1, 1, 2);
    CHECK_EQ(f.st.AsUINT32, 1);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_IO), 0);
    CHECK_EQ(fvmm_injected(f.vm).InterruptionPending, 1);
    CHECK_EQ(fvmm_injected(f.vm).InterruptionVector, 14);
    CHECK_EQ(fvmm_injected(f.vm).ErrorCode, 2);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterCr2), BUF + 8);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRip), RIP0);
    CHECK_EQ(fvmm_reg64(f.vm, WHvX64RegisterRcx), 3);
    fx_fini(&f);
}

static void test_port_callback_failure_is_reported_and_nothing_written(void)
{
    struct io_fx f;
    fx_init(&f);
    static const uint8_t in[] = {0xec};
    fvmm_build_exit64(&f.vp, 0, RIP0, 2);
    memset(&f.io, 0, sizeof(f.io));
    f.io.InstructionByteCount = 1;
    f.io.InstructionBytes[0] = in[0];
    f.io.AccessInfo.AccessSize = 1;
    f.io.PortNumber = 0x60;
    fvmm_reset_log(f.vm);
    fvmm_fail_nth(f.vm, FVMM_CB_IO, 1, E_FAIL);
    CHECK_EQ(WHvEmulatorTryIoEmulation(f.emu, f.vm, &f.vp, &f.io, &f.st), S_OK);
    CHECK_EQ(f.st.AsUINT32, 4);
    CHECK_EQ(fvmm_count(f.vm, FVMM_CB_SET_REGS), 0);
    fx_fini(&f);
}

int main(void)
{
    RUN(test_out_dx_al_writes_the_port_and_only_rip);
    RUN(test_in_merges_al_ax_and_zero_extends_eax);
    RUN(test_in_imm8_checks_the_port_against_the_context);
    RUN(test_context_that_does_not_match_the_bytes_is_refused);
    RUN(test_plain_io_without_bytes_uses_the_exit_length);
    RUN(test_rep_outsb_16_bytes_reads_memory_and_writes_the_port_in_order);
    RUN(test_rep_insw_backwards_stores_each_port_value);
    RUN(test_address_size_override_counts_ecx_and_wraps_edi);
    RUN(test_outs_with_fs_override_fetches_only_fs_and_cr4);
    RUN(test_rep_with_zero_count_touches_nothing);
    RUN(test_ins_to_a_missing_page_faults_before_reading_the_port);
    RUN(test_port_callback_failure_is_reported_and_nothing_written);
    return CHECK_SUMMARY();
}
