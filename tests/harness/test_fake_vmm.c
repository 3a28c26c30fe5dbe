/*
 * test_fake_vmm.c - checks the fake VMM itself (memory, translation,
 * registers, extended state, ports, log, injection, round-trip rules), calling its
 * callbacks directly the way the emulator would.
 */
#include <stdio.h>
#include <string.h>

#include "fake_vmm.h"

static int g_failed, g_passed;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (cond) {                                                                  \
            g_passed++;                                                              \
        } else {                                                                     \
            g_failed++;                                                              \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                   \
        }                                                                            \
    } while (0)

static void test_memory(void)
{
    fake_vmm *vm = fvmm_create();
    UINT8 buf[8192], out[8192];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (UINT8)(i * 7 + 3);
    memset(out, 0xAA, sizeof out);
    fvmm_gpa_read(vm, 0x123456, out, 16);
    CHECK(out[0] == 0 && out[15] == 0);
    fvmm_gpa_write(vm, 0x10FF0, buf, sizeof buf); /* crosses three pages */
    fvmm_gpa_read(vm, 0x10FF0, out, sizeof out);
    CHECK(memcmp(buf, out, sizeof buf) == 0);
    CHECK(fvmm_gpa_page(vm, 0x11000)[0] == buf[0x10]);
    fvmm_gpa_clear(vm);
    fvmm_gpa_read(vm, 0x10FF0, out, 4);
    CHECK(out[0] == 0 && out[3] == 0);
    fvmm_destroy(vm);
}

static void test_translation(void)
{
    fake_vmm *vm = fvmm_create();
    UINT64 gpa = 0;
    CHECK(fvmm_translate(vm, 0x5123, WHvTranslateGvaFlagValidateRead, &gpa) ==
          WHvTranslateGvaResultSuccess);
    CHECK(gpa == 0x5123);
    fvmm_set_default_translation(vm, FVMM_UNMAPPED_NOT_PRESENT);
    CHECK(fvmm_translate(vm, 0x5123, 0, &gpa) == WHvTranslateGvaResultPageNotPresent);

    fvmm_map_gva(vm, 0x7000, 0xFEE00000);
    CHECK(fvmm_translate(vm, 0x7ABC, WHvTranslateGvaFlagValidateWrite, &gpa) ==
          WHvTranslateGvaResultSuccess);
    CHECK(gpa == 0xFEE00ABC);

    /* Read-only supervisor page. */
    fvmm_map_gva_ex(vm, 0x9000, WHvTranslateGvaResultSuccess, 0x3000, FVMM_PERM_R);
    CHECK(fvmm_translate(vm, 0x9000, WHvTranslateGvaFlagValidateRead, &gpa) ==
          WHvTranslateGvaResultSuccess);
    CHECK(fvmm_translate(vm, 0x9000, WHvTranslateGvaFlagValidateWrite, &gpa) ==
          WHvTranslateGvaResultPrivilegeViolation);
    fvmm_set_cpl(vm, 3);
    CHECK(fvmm_translate(vm, 0x9000, WHvTranslateGvaFlagValidateRead, &gpa) ==
          WHvTranslateGvaResultPrivilegeViolation);
    CHECK(fvmm_translate(vm, 0x9000,
                         WHvTranslateGvaFlagValidateRead | WHvTranslateGvaFlagPrivilegeExempt,
                         &gpa) == WHvTranslateGvaResultSuccess);
    fvmm_set_cpl(vm, 0);

    /* MMIO pages report GpaUnmapped when asked to. */
    fvmm_set_mmio(vm, 0xFEE00000, 1);
    CHECK(fvmm_translate(vm, 0x7000, WHvTranslateGvaFlagValidateRead, &gpa) ==
          WHvTranslateGvaResultSuccess);
    fvmm_set_mmio_translates_unmapped(vm, 1);
    CHECK(fvmm_translate(vm, 0x7000, WHvTranslateGvaFlagValidateRead, &gpa) ==
          WHvTranslateGvaResultGpaUnmapped);
    CHECK(gpa == 0xFEE00000);

    /* GVA copies go through the map. */
    UINT8 v[6] = {1, 2, 3, 4, 5, 6}, w[6];
    fvmm_map_gva(vm, 0x8000, 0x20000);
    CHECK(fvmm_gva_write(vm, 0x7FFD, v, 6) == 0);
    fvmm_gpa_read(vm, 0xFEE00FFD, w, 3);
    CHECK(w[0] == 1 && w[2] == 3);
    fvmm_gpa_read(vm, 0x20000, w, 3);
    CHECK(w[0] == 4 && w[2] == 6);
    CHECK(fvmm_gva_read(vm, 0x7FFD, w, 6) == 0 && memcmp(v, w, 6) == 0);
    CHECK(fvmm_gva_write(vm, 0x1FFFF, v, 2) == -1); /* 0x1F000 not mapped */

    /* Unmapping and remapping many pages keeps the map consistent. */
    for (UINT64 p = 0; p < 500; p++)
        fvmm_map_gva(vm, 0x100000 + p * 4096, 0x800000 + p * 4096);
    for (UINT64 p = 0; p < 500; p += 2)
        fvmm_unmap_gva(vm, 0x100000 + p * 4096);
    int ok = 1;
    for (UINT64 p = 0; p < 500; p++) {
        WHV_TRANSLATE_GVA_RESULT_CODE r = fvmm_translate(vm, 0x100000 + p * 4096, 0, &gpa);
        if (p % 2 == 0)
            ok &= r == WHvTranslateGvaResultPageNotPresent;
        else
            ok &= r == WHvTranslateGvaResultSuccess && gpa == 0x800000 + p * 4096;
    }
    CHECK(ok);
    fvmm_destroy(vm);
}

static void test_registers_and_callbacks(void)
{
    fake_vmm *vm = fvmm_create();
    const WHV_EMULATOR_CALLBACKS *cb = fvmm_callbacks();
    CHECK(cb->Size == sizeof(WHV_EMULATOR_CALLBACKS));
    fvmm_setup_long_mode(vm, 3);
    WHV_REGISTER_VALUE v;
    CHECK(fvmm_reg_get(vm, WHvX64RegisterCs, &v) == S_OK);
    CHECK(v.Segment.Attributes == 0x20FB && v.Segment.Long == 1);
    CHECK((fvmm_reg64(vm, WHvX64RegisterEfer) & 0x500) == 0x500);

    fvmm_set_reg64(vm, WHvX64RegisterRax, 0x1122334455667788ull);
    WHV_REGISTER_NAME names[3] = {WHvX64RegisterRax, WHvX64RegisterXmm15,
                                  WHvRegisterPendingInterruption};
    WHV_REGISTER_VALUE vals[3];
    memset(vals, 0, sizeof vals);
    CHECK(cb->WHvEmulatorGetVirtualProcessorRegisters(vm, names, 3, vals) == S_OK);
    CHECK(vals[0].Reg64 == 0x1122334455667788ull);

    WHV_REGISTER_NAME bad[2] = {WHvX64RegisterRax, (WHV_REGISTER_NAME)0x4242};
    CHECK(cb->WHvEmulatorGetVirtualProcessorRegisters(vm, bad, 2, vals) ==
          WHV_E_INVALID_VP_REGISTER_NAME);
    fvmm_reg_disable(vm, WHvX64RegisterXCr0, 1);
    WHV_REGISTER_NAME xcr0 = WHvX64RegisterXCr0;
    CHECK(cb->WHvEmulatorGetVirtualProcessorRegisters(vm, &xcr0, 1, vals) ==
          WHV_E_INVALID_VP_REGISTER_NAME);

    /* Set applies in order: the last value for a name wins; a bad name
     * stores nothing. */
    WHV_REGISTER_NAME sn[2] = {WHvX64RegisterRbx, WHvX64RegisterRbx};
    WHV_REGISTER_VALUE sv[2];
    memset(sv, 0, sizeof sv);
    sv[0].Reg64 = 1;
    sv[1].Reg64 = 2;
    CHECK(cb->WHvEmulatorSetVirtualProcessorRegisters(vm, sn, 2, sv) == S_OK);
    CHECK(fvmm_reg64(vm, WHvX64RegisterRbx) == 2);
    sn[1] = (WHV_REGISTER_NAME)0x4242;
    sv[0].Reg64 = 7;
    CHECK(cb->WHvEmulatorSetVirtualProcessorRegisters(vm, sn, 2, sv) ==
          WHV_E_INVALID_VP_REGISTER_NAME);
    CHECK(fvmm_reg64(vm, WHvX64RegisterRbx) == 2);

    /* Log contents. */
    CHECK(fvmm_count(vm, FVMM_CB_GET_REGS) == 3);
    CHECK(fvmm_count(vm, FVMM_CB_SET_REGS) == 2);
    const fvmm_call *c0 = fvmm_call_at(vm, 0);
    CHECK(c0->kind == FVMM_CB_GET_REGS && c0->u.regs.count == 3);
    CHECK(fvmm_call_reg_names(vm, c0)[1] == WHvX64RegisterXmm15);
    CHECK(fvmm_call_reg_values(vm, c0)[0].Reg64 == 0x1122334455667788ull);
    CHECK(fvmm_set_call_find(vm, WHvX64RegisterRbx, &v) && v.Reg64 == 7);

    /* Memory and translate callbacks, with injection. */
    fvmm_reset_log(vm);
    CHECK(fvmm_call_count(vm) == 0);
    fvmm_map_gva(vm, 0x4000, 0x9000);
    fvmm_fail_nth(vm, FVMM_CB_MEMORY, 2, E_FAIL);
    fvmm_translate_nth(vm, 2, WHvTranslateGvaResultSuccess, 0x10);
    WHV_EMULATOR_MEMORY_ACCESS_INFO m;
    memset(&m, 0, sizeof m);
    m.GpaAddress = 0x9008;
    m.Direction = 1;
    m.AccessSize = 4;
    memcpy(m.Data, "\x01\x02\x03\x04", 4);
    CHECK(cb->WHvEmulatorMemoryCallback(vm, &m) == S_OK);
    CHECK(cb->WHvEmulatorMemoryCallback(vm, &m) == E_FAIL);
    CHECK(fvmm_call_at(vm, 1)->injected);
    m.Direction = 0;
    memset(m.Data, 0, 8);
    CHECK(cb->WHvEmulatorMemoryCallback(vm, &m) == S_OK);
    CHECK(m.Data[0] == 1 && m.Data[3] == 4);

    WHV_TRANSLATE_GVA_RESULT_CODE r;
    WHV_GUEST_PHYSICAL_ADDRESS gpa;
    CHECK(cb->WHvEmulatorTranslateGvaPage(vm, 0x4000, WHvTranslateGvaFlagValidateRead, &r, &gpa) ==
          S_OK);
    CHECK(r == WHvTranslateGvaResultSuccess && gpa == 0x9000);
    CHECK(cb->WHvEmulatorTranslateGvaPage(vm, 0x4000, WHvTranslateGvaFlagValidateRead, &r, &gpa) ==
          S_OK);
    CHECK(gpa == 0x9010);

    /* Ports. */
    WHV_EMULATOR_IO_ACCESS_INFO io;
    memset(&io, 0, sizeof io);
    io.Port = 0x3F8;
    io.AccessSize = 1;
    CHECK(cb->WHvEmulatorIoPortCallback(vm, &io) == S_OK);
    CHECK(io.Data == fvmm_port_value(0x3F8, 0, 1) && io.Data <= 0xFF);
    CHECK(cb->WHvEmulatorIoPortCallback(vm, &io) == S_OK);
    CHECK(io.Data == fvmm_port_value(0x3F8, 1, 1));
    CHECK(fvmm_port_reads(vm, 0x3F8) == 2);
    io.Direction = 1;
    io.AccessSize = 2;
    io.Data = 0xBEEF;
    CHECK(cb->WHvEmulatorIoPortCallback(vm, &io) == S_OK);
    CHECK(fvmm_port_write_count(vm) == 1 && fvmm_port_write_at(vm, 0)->data == 0xBEEF);
    fvmm_destroy(vm);
}

/* Replays call sequences through the callbacks and checks the verdicts. */
static void test_round_trip_rules(void)
{
    fake_vmm *vm = fvmm_create();
    const WHV_EMULATOR_CALLBACKS *cb = fvmm_callbacks();
    fvmm_setup_long_mode(vm, 0);
    fvmm_map_gva(vm, 0x7000, 0xFEE00000);
    fvmm_map_gva(vm, 0x8000, 0x20000);
    WHV_VP_EXIT_CONTEXT vp;
    WHV_MEMORY_ACCESS_CONTEXT mc;
    static const UINT8 insn[3] = {0x8B, 0x03, 0x90};
    fvmm_mmio_exit d = {insn, 2, 0xFEE00010, 0x7010, 1, 1, WHvMemoryAccessRead};
    fvmm_set_reg64(vm, WHvX64RegisterRip, 0x1000);
    fvmm_build_mmio_exit64(vm, &vp, &mc, &d);
    CHECK(vp.Rip == 0x1000 && vp.ExecutionState.EferLma && vp.Cs.Attributes == 0x209B);
    CHECK(mc.InstructionByteCount == 2 && mc.AccessInfo.GvaValid && mc.Gva == 0x7010);

    WHV_REGISTER_NAME rip = WHvX64RegisterRip, rbx = WHvX64RegisterRbx;
    WHV_REGISTER_VALUE val;
    WHV_EMULATOR_STATUS ok, memfail;
    ok.AsUINT32 = 1;
    memfail.AsUINT32 = 1u << 3;
    WHV_EMULATOR_MEMORY_ACCESS_INFO m;
    WHV_TRANSLATE_GVA_RESULT_CODE r;
    WHV_GUEST_PHYSICAL_ADDRESS gpa;

    /* A clean load. */
    fvmm_reset_log(vm);
    cb->WHvEmulatorGetVirtualProcessorRegisters(vm, &rbx, 1, &val);
    memset(&m, 0, sizeof m);
    m.GpaAddress = 0xFEE00010;
    m.AccessSize = 4;
    cb->WHvEmulatorMemoryCallback(vm, &m);
    val.Reg64 = 0x1002;
    cb->WHvEmulatorSetVirtualProcessorRegisters(vm, &rip, 1, &val);
    CHECK(fvmm_check_round_trip(vm, &vp, &mc, &ok) == NULL);

    /* Success without RIP. */
    fvmm_reset_log(vm);
    val.Reg64 = 5;
    cb->WHvEmulatorSetVirtualProcessorRegisters(vm, &rbx, 1, &val);
    CHECK(fvmm_check_round_trip(vm, &vp, &mc, &ok) != NULL);

    /* Two gets. */
    fvmm_reset_log(vm);
    cb->WHvEmulatorGetVirtualProcessorRegisters(vm, &rbx, 1, &val);
    cb->WHvEmulatorGetVirtualProcessorRegisters(vm, &rbx, 1, &val);
    cb->WHvEmulatorSetVirtualProcessorRegisters(vm, &rip, 1, &val);
    CHECK(fvmm_check_round_trip(vm, &vp, &mc, &ok) != NULL);

    /* A page-crossing access, and a 9-byte one. */
    fvmm_reset_log(vm);
    m.GpaAddress = 0xFEE00FFE;
    cb->WHvEmulatorMemoryCallback(vm, &m);
    cb->WHvEmulatorSetVirtualProcessorRegisters(vm, &rip, 1, &val);
    CHECK(fvmm_check_round_trip(vm, &vp, &mc, &ok) != NULL);
    fvmm_reset_log(vm);
    m.GpaAddress = 0xFEE00000;
    m.AccessSize = 9;
    cb->WHvEmulatorMemoryCallback(vm, &m);
    cb->WHvEmulatorSetVirtualProcessorRegisters(vm, &rip, 1, &val);
    CHECK(fvmm_check_round_trip(vm, &vp, &mc, &ok) != NULL);
    m.AccessSize = 4;

    /* Translating the exit's page for a read although GvaValid; a write
     * translation of it is allowed (the read exit does not prove W). */
    fvmm_reset_log(vm);
    cb->WHvEmulatorTranslateGvaPage(vm, 0x7000, WHvTranslateGvaFlagValidateRead, &r, &gpa);
    cb->WHvEmulatorSetVirtualProcessorRegisters(vm, &rip, 1, &val);
    CHECK(fvmm_check_round_trip(vm, &vp, &mc, &ok) != NULL);
    fvmm_reset_log(vm);
    cb->WHvEmulatorTranslateGvaPage(
        vm, 0x7000, WHvTranslateGvaFlagValidateRead | WHvTranslateGvaFlagValidateWrite, &r, &gpa);
    cb->WHvEmulatorSetVirtualProcessorRegisters(vm, &rip, 1, &val);
    CHECK(fvmm_check_round_trip(vm, &vp, &mc, &ok) == NULL);

    /* The same page twice: only a translation that adds a kind of access
     * (here write to a page validated for reading) is allowed. An
     * unaligned GVA. */
    fvmm_reset_log(vm);
    cb->WHvEmulatorTranslateGvaPage(vm, 0x8000, WHvTranslateGvaFlagValidateRead, &r, &gpa);
    cb->WHvEmulatorTranslateGvaPage(vm, 0x8000, WHvTranslateGvaFlagValidateRead, &r, &gpa);
    cb->WHvEmulatorSetVirtualProcessorRegisters(vm, &rip, 1, &val);
    CHECK(fvmm_check_round_trip(vm, &vp, &mc, &ok) != NULL);
    fvmm_reset_log(vm);
    cb->WHvEmulatorTranslateGvaPage(vm, 0x8000, WHvTranslateGvaFlagValidateRead, &r, &gpa);
    cb->WHvEmulatorTranslateGvaPage(
        vm, 0x8000, WHvTranslateGvaFlagValidateRead | WHvTranslateGvaFlagValidateWrite, &r, &gpa);
    cb->WHvEmulatorSetVirtualProcessorRegisters(vm, &rip, 1, &val);
    CHECK(fvmm_check_round_trip(vm, &vp, &mc, &ok) == NULL);
    cb->WHvEmulatorTranslateGvaPage(vm, 0x8000, WHvTranslateGvaFlagValidateWrite, &r, &gpa);
    CHECK(fvmm_check_round_trip(vm, &vp, &mc, &ok) != NULL);
    fvmm_reset_log(vm);
    cb->WHvEmulatorTranslateGvaPage(vm, 0x8010, WHvTranslateGvaFlagValidateRead, &r, &gpa);
    cb->WHvEmulatorSetVirtualProcessorRegisters(vm, &rip, 1, &val);
    CHECK(fvmm_check_round_trip(vm, &vp, &mc, &ok) != NULL);

    /* A failed memory callback: fine when it ends the emulation with the
     * right status; not fine when followed by a set. */
    fvmm_reset_log(vm);
    fvmm_fail_nth(vm, FVMM_CB_MEMORY, 1, E_FAIL);
    cb->WHvEmulatorMemoryCallback(vm, &m);
    CHECK(fvmm_check_round_trip(vm, &vp, &mc, &memfail) == NULL);
    CHECK(fvmm_check_round_trip(vm, &vp, &mc, &ok) != NULL);
    fvmm_reset_log(vm);
    fvmm_fail_nth(vm, FVMM_CB_MEMORY, 1, E_FAIL);
    cb->WHvEmulatorMemoryCallback(vm, &m);
    cb->WHvEmulatorSetVirtualProcessorRegisters(vm, &rip, 1, &val);
    CHECK(fvmm_check_round_trip(vm, &vp, &mc, &memfail) != NULL);

    /* An injected exception with RIP unchanged is a completed call. */
    fvmm_reset_log(vm);
    WHV_REGISTER_NAME fn[2] = {WHvRegisterPendingInterruption, WHvX64RegisterRip};
    WHV_REGISTER_VALUE fv[2];
    memset(fv, 0, sizeof fv);
    fv[0].PendingInterruption.InterruptionPending = 1;
    fv[0].PendingInterruption.InterruptionType = WHvX64PendingException;
    fv[0].PendingInterruption.InterruptionVector = 13;
    fv[1].Reg64 = 0x1000;
    cb->WHvEmulatorSetVirtualProcessorRegisters(vm, fn, 2, fv);
    CHECK(fvmm_check_round_trip(vm, &vp, &mc, &ok) == NULL);
    fvmm_reset_log(vm);
    fv[1].Reg64 = 0x1002;
    cb->WHvEmulatorSetVirtualProcessorRegisters(vm, fn, 2, fv);
    CHECK(fvmm_check_round_trip(vm, &vp, &mc, &ok) != NULL);

    /* REP run to completion: a page may be translated again once the
     * translations since the fresh set of page slots began fill 13 slots,
     * never before; and never without the mode. */
    val.Reg64 = 0x1002;
    for (int mode = 0; mode < 2; mode++) {
        fvmm_set_rep_to_completion(vm, mode);
        for (unsigned before = 5; before <= 13; before += 8) {
            fvmm_reset_log(vm);
            for (unsigned p = 0; p < before; p++)
                cb->WHvEmulatorTranslateGvaPage(vm, 0x100000 + 0x1000 * p,
                                                WHvTranslateGvaFlagValidateRead, &r, &gpa);
            /* The new set: a page of the old one, one more, and the first
             * again; the first set ends anywhere after its 13th page. */
            cb->WHvEmulatorTranslateGvaPage(vm, 0x200000, WHvTranslateGvaFlagValidateRead, &r,
                                            &gpa);
            cb->WHvEmulatorTranslateGvaPage(vm, 0x100000, WHvTranslateGvaFlagValidateRead, &r,
                                            &gpa);
            cb->WHvEmulatorSetVirtualProcessorRegisters(vm, &rip, 1, &val);
            const char *why = fvmm_check_round_trip(vm, &vp, &mc, &ok);
            CHECK((why == NULL) == (mode == 1 && before == 13));
            /* The same page twice within the new set. */
            cb->WHvEmulatorTranslateGvaPage(vm, 0x100000, WHvTranslateGvaFlagValidateRead, &r,
                                            &gpa);
            CHECK(fvmm_check_round_trip(vm, &vp, &mc, &ok) != NULL);
        }
    }
    fvmm_set_rep_to_completion(vm, 0);
    fvmm_destroy(vm);
}

/* The vector registers, the x87/SSE control registers and XCR0 are in the
 * register file; fvmm_setup_long_mode gives them sane values. */
static void test_vector_registers(void)
{
    fake_vmm *vm = fvmm_create();
    for (UINT32 n = WHvX64RegisterXmm0; n <= WHvX64RegisterXmmControlStatus; n++)
        CHECK(fvmm_reg_known(vm, (WHV_REGISTER_NAME)n));
    CHECK(fvmm_reg_known(vm, WHvX64RegisterXCr0));
    WHV_REGISTER_VALUE v, w;
    memset(&v, 0, sizeof v);
    v.Reg128.Low64 = 0x0123456789ABCDEFull;
    v.Reg128.High64 = 0xFEDCBA9876543210ull;
    CHECK(fvmm_reg_set(vm, WHvX64RegisterXmm15, &v) == S_OK);
    CHECK(fvmm_reg_get(vm, WHvX64RegisterXmm15, &w) == S_OK);
    CHECK(w.Reg128.Low64 == v.Reg128.Low64 && w.Reg128.High64 == v.Reg128.High64);
    CHECK(fvmm_reg_set(vm, WHvX64RegisterFpMmx7, &v) == S_OK);
    CHECK(fvmm_reg64(vm, WHvX64RegisterFpMmx7) == 0x0123456789ABCDEFull);

    fvmm_setup_long_mode(vm, 0);
    CHECK(fvmm_reg64(vm, WHvX64RegisterCr4) == 0x40620);
    CHECK(fvmm_reg64(vm, WHvX64RegisterXCr0) == 7);
    CHECK(fvmm_reg_get(vm, WHvX64RegisterXmmControlStatus, &w) == S_OK);
    CHECK(w.XmmControlStatus.XmmStatusControl == 0x1F80);
    CHECK(fvmm_reg_get(vm, WHvX64RegisterFpControlStatus, &w) == S_OK);
    CHECK(w.FpControlStatus.FpControl == 0x37F && w.FpControlStatus.FpStatus == 0);
    /* Vector registers keep their values. */
    CHECK(fvmm_reg_get(vm, WHvX64RegisterXmm15, &w) == S_OK && w.Reg128.High64 == v.Reg128.High64);
    fvmm_destroy(vm);
}

/* Extended state: storage, YMM view, the callback, its log and injection. */
static void test_xstate(void)
{
    fake_vmm *vm = fvmm_create();
    CHECK(fvmm_xstate_size(FVMM_XS_YMM_HI128) == 256);
    CHECK(fvmm_xstate_size(FVMM_XS_OPMASK) == 64);
    CHECK(fvmm_xstate_size(FVMM_XS_ZMM_HI256) == 512);
    CHECK(fvmm_xstate_size(FVMM_XS_HI16_ZMM) == 1024);
    CHECK(fvmm_xstate_size(3) == 0 && fvmm_xstate_size(1) == 0 && fvmm_xstate(vm, 4) == NULL);

    UINT8 buf[1024], out[1024];
    for (unsigned i = 0; i < sizeof buf; i++)
        buf[i] = (UINT8)(i * 7 + 1);
    CHECK(fvmm_xstate(vm, FVMM_XS_HI16_ZMM)[1023] == 0); /* starts zeroed */
    CHECK(fvmm_xstate_set(vm, FVMM_XS_HI16_ZMM, buf) == 0);
    CHECK(fvmm_xstate_set(vm, FVMM_XS_OPMASK, buf + 8) == 0);
    CHECK(fvmm_xstate_set(vm, 9, buf) == -1);
    CHECK(fvmm_xstate_get(vm, FVMM_XS_HI16_ZMM, out) == 0 && memcmp(out, buf, 1024) == 0);
    CHECK(fvmm_xstate_get(vm, FVMM_XS_OPMASK, out) == 0 && memcmp(out, buf + 8, 64) == 0);
    CHECK(fvmm_xstate(vm, FVMM_XS_ZMM_HI256)[0] == 0); /* components do not overlap */

    /* YMM view: low half in the XMM register, high half in component 2. */
    UINT8 y[32], y2[32];
    for (unsigned i = 0; i < 32; i++)
        y[i] = (UINT8)(0xA0 + i);
    fvmm_set_ymm(vm, 5, y);
    WHV_REGISTER_VALUE v;
    CHECK(fvmm_reg_get(vm, WHvX64RegisterXmm5, &v) == S_OK);
    CHECK(memcmp(&v.Reg128, y, 16) == 0);
    CHECK(memcmp(fvmm_xstate(vm, FVMM_XS_YMM_HI128) + 5 * 16, y + 16, 16) == 0);
    fvmm_get_ymm(vm, 5, y2);
    CHECK(memcmp(y, y2, 32) == 0);

    /* The callback. */
    WHVEMU_XSTATE_CALLBACK xcb = fvmm_xstate_callback();
    CHECK(xcb != NULL);
    fvmm_reset_log(vm);
    memset(out, 0, sizeof out);
    CHECK(xcb(vm, FVMM_XS_YMM_HI128, 0, out, 256) == S_OK);
    CHECK(memcmp(out + 5 * 16, y + 16, 16) == 0);
    out[0] = 0x5A;
    CHECK(xcb(vm, FVMM_XS_YMM_HI128, 1, out, 256) == S_OK);
    CHECK(fvmm_xstate(vm, FVMM_XS_YMM_HI128)[0] == 0x5A);
    CHECK(xcb(vm, FVMM_XS_YMM_HI128, 0, out, 128) == E_INVALIDARG); /* wrong size */
    CHECK(xcb(vm, 3, 0, out, 256) == E_INVALIDARG);                /* unknown */
    CHECK(xcb(vm, FVMM_XS_OPMASK, 0, NULL, 64) == E_INVALIDARG);
    CHECK(fvmm_count(vm, FVMM_CB_XSTATE) == 5);
    CHECK(fvmm_xstate_calls(vm, FVMM_XS_YMM_HI128, 0) == 2);
    CHECK(fvmm_xstate_calls(vm, FVMM_XS_YMM_HI128, 1) == 1);
    const fvmm_call *c1 = fvmm_call_at(vm, 1);
    CHECK(c1->kind == FVMM_CB_XSTATE && c1->u.xstate.component == 2 && c1->u.xstate.write == 1 &&
          c1->u.xstate.size == 256 && c1->hr == S_OK);
    CHECK(fvmm_call_xstate_data(vm, c1) && fvmm_call_xstate_data(vm, c1)[0] == 0x5A);
    CHECK(memcmp(fvmm_call_xstate_data(vm, fvmm_call_at(vm, 0)) + 80, y + 16, 16) == 0);
    CHECK(fvmm_call_xstate_data(vm, fvmm_call_at(vm, 4)) == NULL);
    CHECK(strcmp(fvmm_cb_kind_name(FVMM_CB_XSTATE), "xstate") == 0);
    FILE *devnull = fopen("/dev/null", "w");
    if (devnull) {
        fvmm_dump_log(vm, devnull);
        fclose(devnull);
    }

    /* Injection: the state and the buffer stay as they were. */
    fvmm_reset_log(vm);
    fvmm_fail_nth(vm, FVMM_CB_XSTATE, 2, E_FAIL);
    fvmm_fail_nth(vm, FVMM_CB_XSTATE, 3, E_ACCESSDENIED);
    memset(out, 0x11, 256);
    CHECK(xcb(vm, FVMM_XS_YMM_HI128, 0, out, 256) == S_OK);
    memset(out, 0x22, 256);
    CHECK(xcb(vm, FVMM_XS_YMM_HI128, 0, out, 256) == E_FAIL);
    CHECK(out[0] == 0x22 && out[255] == 0x22);
    CHECK(xcb(vm, FVMM_XS_YMM_HI128, 1, out, 256) == E_ACCESSDENIED);
    CHECK(fvmm_xstate(vm, FVMM_XS_YMM_HI128)[0] == 0x5A);
    CHECK(fvmm_call_at(vm, 1)->injected && fvmm_call_at(vm, 2)->injected &&
          !fvmm_call_at(vm, 0)->injected);
    fvmm_destroy(vm);
}

/* The extended-state round-trip rules. */
static void test_xstate_round_trip_rules(void)
{
    fake_vmm *vm = fvmm_create();
    const WHV_EMULATOR_CALLBACKS *cb = fvmm_callbacks();
    WHVEMU_XSTATE_CALLBACK xcb = fvmm_xstate_callback();
    fvmm_setup_long_mode(vm, 0);
    fvmm_map_gva(vm, 0x7000, 0xFEE00000);
    WHV_VP_EXIT_CONTEXT vp;
    WHV_MEMORY_ACCESS_CONTEXT mc;
    static const UINT8 insn[4] = {0xC5, 0xFE, 0x6F, 0x03}; /* vmovdqu ymm0, [rbx] */
    fvmm_mmio_exit d = {insn, 4, 0xFEE00010, 0x7010, 1, 1, WHvMemoryAccessRead};
    fvmm_set_reg64(vm, WHvX64RegisterRip, 0x1000);
    fvmm_build_mmio_exit64(vm, &vp, &mc, &d);

    WHV_REGISTER_NAME rip = WHvX64RegisterRip, rbx = WHvX64RegisterRbx;
    WHV_REGISTER_VALUE val;
    WHV_EMULATOR_STATUS ok, refused, getfail, setfail;
    ok.AsUINT32 = 1;
    refused.AsUINT32 = 1u << 1;
    getfail.AsUINT32 = 1u << 6;
    setfail.AsUINT32 = 1u << 7;
    WHV_EMULATOR_MEMORY_ACCESS_INFO m;
    memset(&m, 0, sizeof m);
    m.GpaAddress = 0xFEE00010;
    m.AccessSize = 8;
    UINT8 ys[256], ks[64];
    memset(ys, 0, sizeof ys);
    memset(ks, 0, sizeof ks);

    /* A clean load: get, read, memory, set, write. The write may also come
     * before the set call. */
    fvmm_reset_log(vm);
    cb->WHvEmulatorGetVirtualProcessorRegisters(vm, &rbx, 1, &val);
    xcb(vm, 2, 0, ys, 256);
    cb->WHvEmulatorMemoryCallback(vm, &m);
    val.Reg64 = 0x1004;
    cb->WHvEmulatorSetVirtualProcessorRegisters(vm, &rip, 1, &val);
    xcb(vm, 2, 1, ys, 256);
    CHECK(fvmm_check_round_trip(vm, &vp, &mc, &ok) == NULL);
    /* ... not with a refusal. */
    CHECK(fvmm_check_round_trip(vm, &vp, &mc, &refused) != NULL);
    fvmm_reset_log(vm);
    xcb(vm, 2, 0, ys, 256);
    xcb(vm, 5, 0, ks, 64); /* other components are counted apart */
    cb->WHvEmulatorMemoryCallback(vm, &m);
    xcb(vm, 2, 1, ys, 256);
    cb->WHvEmulatorSetVirtualProcessorRegisters(vm, &rip, 1, &val);
    CHECK(fvmm_check_round_trip(vm, &vp, &mc, &ok) == NULL);

    /* Two reads, two writes of one component. */
    fvmm_reset_log(vm);
    xcb(vm, 2, 0, ys, 256);
    xcb(vm, 2, 0, ys, 256);
    cb->WHvEmulatorSetVirtualProcessorRegisters(vm, &rip, 1, &val);
    CHECK(fvmm_check_round_trip(vm, &vp, &mc, &ok) != NULL);
    fvmm_reset_log(vm);
    xcb(vm, 2, 0, ys, 256);
    cb->WHvEmulatorSetVirtualProcessorRegisters(vm, &rip, 1, &val);
    xcb(vm, 2, 1, ys, 256);
    xcb(vm, 2, 1, ys, 256);
    CHECK(fvmm_check_round_trip(vm, &vp, &mc, &ok) != NULL);

    /* A write in an emulation that did not commit. */
    fvmm_reset_log(vm);
    xcb(vm, 2, 0, ys, 256);
    xcb(vm, 2, 1, ys, 256);
    CHECK(fvmm_check_round_trip(vm, &vp, &mc, &refused) != NULL);

    /* A write before the memory access, a read after the set call. */
    fvmm_reset_log(vm);
    xcb(vm, 2, 0, ys, 256);
    xcb(vm, 2, 1, ys, 256);
    cb->WHvEmulatorMemoryCallback(vm, &m);
    cb->WHvEmulatorSetVirtualProcessorRegisters(vm, &rip, 1, &val);
    CHECK(fvmm_check_round_trip(vm, &vp, &mc, &ok) != NULL);
    fvmm_reset_log(vm);
    cb->WHvEmulatorSetVirtualProcessorRegisters(vm, &rip, 1, &val);
    xcb(vm, 2, 0, ys, 256);
    CHECK(fvmm_check_round_trip(vm, &vp, &mc, &ok) != NULL);

    /* Malformed calls: wrong size, unknown component, Write not 0/1. */
    fvmm_reset_log(vm);
    xcb(vm, 2, 0, ys, 128);
    CHECK(fvmm_check_round_trip(vm, &vp, &mc, &getfail) != NULL);
    fvmm_reset_log(vm);
    xcb(vm, 2, 2, ys, 256);
    cb->WHvEmulatorSetVirtualProcessorRegisters(vm, &rip, 1, &val);
    CHECK(fvmm_check_round_trip(vm, &vp, &mc, &ok) != NULL);

    /* A failed read: status Get...Failed and nothing after it. */
    fvmm_reset_log(vm);
    fvmm_fail_nth(vm, FVMM_CB_XSTATE, 1, E_FAIL);
    cb->WHvEmulatorGetVirtualProcessorRegisters(vm, &rbx, 1, &val);
    xcb(vm, 2, 0, ys, 256);
    CHECK(fvmm_check_round_trip(vm, &vp, &mc, &getfail) == NULL);
    CHECK(fvmm_check_round_trip(vm, &vp, &mc, &setfail) != NULL);
    cb->WHvEmulatorMemoryCallback(vm, &m);
    CHECK(fvmm_check_round_trip(vm, &vp, &mc, &getfail) != NULL);

    /* A failed write before the set call: Set...Failed, no set call. */
    fvmm_reset_log(vm);
    fvmm_fail_nth(vm, FVMM_CB_XSTATE, 2, E_FAIL);
    xcb(vm, 2, 0, ys, 256);
    xcb(vm, 2, 1, ys, 256);
    CHECK(fvmm_check_round_trip(vm, &vp, &mc, &setfail) == NULL);
    CHECK(fvmm_check_round_trip(vm, &vp, &mc, &ok) != NULL);
    CHECK(fvmm_check_round_trip(vm, &vp, &mc, &getfail) != NULL);
    cb->WHvEmulatorSetVirtualProcessorRegisters(vm, &rip, 1, &val);
    CHECK(fvmm_check_round_trip(vm, &vp, &mc, &setfail) != NULL);

    /* A failed write after the set call. */
    fvmm_reset_log(vm);
    fvmm_fail_nth(vm, FVMM_CB_XSTATE, 2, E_FAIL);
    xcb(vm, 2, 0, ys, 256);
    cb->WHvEmulatorSetVirtualProcessorRegisters(vm, &rip, 1, &val);
    xcb(vm, 2, 1, ys, 256);
    CHECK(fvmm_check_round_trip(vm, &vp, &mc, &setfail) == NULL);
    CHECK(fvmm_check_round_trip(vm, &vp, &mc, &ok) != NULL);

    /* A failed set call after a write. */
    fvmm_reset_log(vm);
    fvmm_fail_nth(vm, FVMM_CB_SET_REGS, 1, E_FAIL);
    xcb(vm, 2, 0, ys, 256);
    xcb(vm, 2, 1, ys, 256);
    cb->WHvEmulatorSetVirtualProcessorRegisters(vm, &rip, 1, &val);
    CHECK(fvmm_check_round_trip(vm, &vp, &mc, &setfail) == NULL);
    fvmm_destroy(vm);
}

int main(void)
{
    test_memory();
    test_translation();
    test_registers_and_callbacks();
    test_round_trip_rules();
    test_vector_registers();
    test_xstate();
    test_xstate_round_trip_rules();
    printf("%d passed, %d failed\n", g_passed, g_failed);
    return g_failed ? 1 : 0;
}
