/*
 * coexist_body.h - the part common to the coexistence tests: uses the base
 * names from both headers together and checks their values. Included once,
 * after the two headers, by each coexist_*.c / *.cpp file.
 */
#include <stdio.h>
#include <string.h>

static HRESULT CALLBACK io_cb(VOID *ctx, WHV_EMULATOR_IO_ACCESS_INFO *io)
{
    (void)ctx;
    io->Data = 0;
    return S_OK;
}

static HRESULT CALLBACK mem_cb(VOID *ctx, WHV_EMULATOR_MEMORY_ACCESS_INFO *mem)
{
    (void)ctx;
    (void)mem;
    return E_INVALIDARG;
}

int main(void)
{
    int bad = 0;
    WHV_EMULATOR_CALLBACKS cbs;
    WHV_EMULATOR_IO_ACCESS_INFO io;
    WHV_EMULATOR_MEMORY_ACCESS_INFO mem;
    UINT8 u8 = 0xFF;
    UINT16 u16 = 0xFFFF;
    UINT32 u32 = 0xFFFFFFFFu;
    UINT64 u64 = 0;
    HRESULT hr;
    WHV_RUN_VP_EXIT_CONTEXT exit_ctx;
    const WHV_VP_EXIT_CONTEXT *vp;
    const WHV_MEMORY_ACCESS_CONTEXT *mmio;

    cbs.Size = sizeof(WHV_EMULATOR_CALLBACKS);
    cbs.Reserved = 0;
    cbs.WHvEmulatorIoPortCallback = io_cb;
    cbs.WHvEmulatorMemoryCallback = mem_cb;
    io.Data = 1;
    mem.AccessSize = 1;

    if (sizeof(HRESULT) != 4 || (HRESULT)-1 >= 0)
        bad |= 1;
    if (S_OK != 0 || (UINT32)E_INVALIDARG != 0x80070057u || !FAILED(E_INVALIDARG))
        bad |= 2;
    if (sizeof(UINT8) != 1 || sizeof(UINT16) != 2 || sizeof(UINT32) != 4 || sizeof(UINT64) != 8)
        bad |= 4;
    if (u8 + 1 != 0x100 || u16 + 1 != 0x10000 || u32 + 1 != 0 || (UINT64)(u64 - 1) + 1 != 0)
        bad |= 8;
    if (cbs.WHvEmulatorIoPortCallback(NULL, &io) != S_OK || io.Data != 0)
        bad |= 16;
    hr = cbs.WHvEmulatorMemoryCallback(NULL, &mem);
    if (SUCCEEDED(hr) || hr != E_INVALIDARG)
        bad |= 32;
    if (cbs.Size != 48)
        bad |= 64;
    /* The run loop's exit record, as a VMM hands its parts to the emulator. */
    memset(&exit_ctx, 0, sizeof exit_ctx);
    exit_ctx.ExitReason = WHvRunVpExitReasonMemoryAccess;
    exit_ctx.MemoryAccess.Gpa = 0xfee00000u;
    exit_ctx.VpContext.Rip = 0x1000;
    vp = &exit_ctx.VpContext;
    mmio = &exit_ctx.MemoryAccess;
    if (sizeof exit_ctx != 224 || (const char *)mmio - (const char *)&exit_ctx != 48 ||
        (const char *)vp - (const char *)&exit_ctx != 8 || mmio->Gpa != 0xfee00000u ||
        vp->Rip != 0x1000 || exit_ctx.IoPortAccess.PortNumber != 0)
        bad |= 128;
    if (bad) {
        printf("FAIL: coexistence checks failed (0x%x)\n", (unsigned)bad);
        return 1;
    }
    printf("ok\n");
    return 0;
}
