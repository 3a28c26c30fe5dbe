/*
 * io.c - port I/O: IN, OUT, INS, OUTS with REP. The only caller of the I/O
 * port callback. The port is the exit's PortNumber (DX is not fetched);
 * IN merges into AL/AX or zero-extends EAX into RAX; OUT changes no
 * register. INS validates its destination before reading the port, so a
 * fault loses no device data.
 */
#include "emu.h"
#include "mem.h"

bool io_exit_matches(const struct insn *in, WHV_X64_IO_PORT_ACCESS_INFO ai, uint16_t port)
{
    const struct op_row *r = in->row;
    bool out = r->k[0] == K_DX || r->k[0] == K_Ibu;
    unsigned size = out ? in->op[1].size : in->op[0].size;
    bool string = (r->traits & T_REP) != 0;
    uint8_t kport = out ? r->k[0] : r->k[1];
    return ai.IsWrite == out && ai.AccessSize == size && ai.StringOp == string &&
           (!string || ai.RepPrefix == (in->rep != 0)) &&
           (kport != K_Ibu || in->op[out ? 0 : 1].imm == port);
}

HRESULT io_port_call(const struct emu_handle *eh, void *ctx, uint16_t port, unsigned size,
                     bool out, uint32_t *data)
{
    WHV_EMULATOR_IO_ACCESS_INFO a;
    a.Direction = out ? 1 : 0;
    a.Port = port;
    a.AccessSize = (UINT16)size;
    a.Data = out ? (uint32_t)(*data & size_mask(size)) : 0;
    HRESULT hr = eh->cb.WHvEmulatorIoPortCallback(ctx, &a);
    if (!out)
        *data = (uint32_t)(a.Data & size_mask(size));
    return hr;
}

static enum rc io_port(struct emu *e, unsigned size, bool out, uint32_t *data)
{
    HRESULT hr = io_port_call(e->h, e->ctx, e->io_port, size, out, data);
    if (hr != S_OK) {
        e->cb_hr = hr;
        e->status = 1u << 2; /* IoPortCallbackFailed */
        e->why = "the I/O port callback failed";
        return RC_CALLBACK_FAILED;
    }
    return RC_OK;
}

enum rc io_in(struct emu *e, const struct insn *in)
{
    uint32_t v = 0;
    unsigned size = in->op[0].size;
    TRY(io_port(e, size, false, &v));
    vcpu_write_reg(e, GPR_RAX, size, false, v);
    return RC_OK;
}

enum rc io_out(struct emu *e, const struct insn *in)
{
    uint32_t v = (uint32_t)vcpu_read_reg(e, GPR_RAX, in->op[1].size, false);
    return io_port(e, in->op[1].size, true, &v);
}

static enum rc ins_step(struct emu *e, const struct insn *in, const struct str_state *s)
{
    uint32_t v = 0;
    uint8_t seg;
    uint64_t off;
    TRY(op_addr(e, in, 0, &seg, &off));
    TRY(mem_check(e, seg, off, s->size, ACC_W));
    TRY(io_port(e, s->size, false, &v));
    TRY(op_write(e, in, 0, v));
    str_bump(e, GPR_RDI, s);
    return RC_OK;
}

static enum rc outs_step(struct emu *e, const struct insn *in, const struct str_state *s)
{
    uint64_t v;
    TRY(op_read(e, in, 1, &v));
    uint32_t d = (uint32_t)v;
    TRY(io_port(e, s->size, true, &d));
    str_bump(e, GPR_RSI, s);
    return RC_OK;
}

enum rc io_ins(struct emu *e, const struct insn *in) { return str_run(e, in, ins_step); }
enum rc io_outs(struct emu *e, const struct insn *in) { return str_run(e, in, outs_step); }
