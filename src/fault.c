/*
 * fault.c - architectural faults. A handler or the memory layer records the
 * fault here and returns RC_FAULT; api.c then injects it through the one
 * set-registers call (vcpu_commit) as WHvRegisterPendingInterruption, with
 * CR2 in the same call for #PF, and leaves RIP on the instruction.
 */
#include "emu.h"

enum rc fault_raise(struct emu *e, uint8_t vector, bool has_ec, uint32_t ec)
{
    e->fault.vector = vector;
    e->fault.has_error_code = has_ec;
    e->fault.error_code = has_ec ? ec : 0;
    e->fault.cr2 = 0;
    return RC_FAULT;
}

enum rc fault_gp(struct emu *e, uint32_t ec)
{
    return fault_raise(e, VEC_GP, true, ec);
}

enum rc fault_ss(struct emu *e, uint32_t ec)
{
    return fault_raise(e, VEC_SS, true, ec);
}

enum rc fault_np(struct emu *e, uint32_t ec)
{
    return fault_raise(e, VEC_NP, true, ec);
}

enum rc fault_ud(struct emu *e)
{
    return fault_raise(e, VEC_UD, false, 0);
}

enum rc fault_nm(struct emu *e)
{
    return fault_raise(e, VEC_NM, false, 0);
}

enum rc fault_mf(struct emu *e)
{
    return fault_raise(e, VEC_MF, false, 0);
}

enum rc fault_de(struct emu *e)
{
    return fault_raise(e, VEC_DE, false, 0);
}

enum rc fault_ac(struct emu *e)
{
    return fault_raise(e, VEC_AC, true, 0);
}

enum rc fault_pf(struct emu *e, uint64_t lin, uint32_t ec)
{
    fault_raise(e, VEC_PF, true, ec);
    e->fault.cr2 = lin;
    return RC_FAULT;
}

enum rc emu_unsupported(struct emu *e, const char *why)
{
    e->why = why;
    return RC_UNSUPPORTED;
}

/* The registers that deliver the recorded fault. In real-address mode no
 * exception pushes an error code (SDM Vol. 3 20.1.4). */
void fault_inject(struct emu *e)
{
    WHV_REGISTER_VALUE v;
    bool ec = e->fault.has_error_code && e->mode != MODE_REAL;
    v.Reg128.Low64 = 0;
    v.Reg128.High64 = 0;
    v.PendingInterruption.InterruptionPending = 1;
    v.PendingInterruption.InterruptionType = WHvX64PendingException;
    v.PendingInterruption.DeliverErrorCode = ec;
    v.PendingInterruption.InterruptionVector = e->fault.vector;
    v.PendingInterruption.ErrorCode = ec ? e->fault.error_code : 0;
    vcpu_set(e, VR_PENDING_INT, &v);
    if (e->fault.vector == VEC_PF) {
        v.Reg128.Low64 = e->fault.cr2;
        v.Reg128.High64 = 0;
        vcpu_set(e, VR_CR2, &v);
    }
}
