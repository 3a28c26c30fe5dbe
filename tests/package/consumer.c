#include <WinHvEmulation.h>
/*
 * consumer.c - a program built against an installed whvemu through
 * find_package(whvemu). The include above must stay first: the installed
 * header is self-contained. It emulates one OUT DX, AL from its exit context
 * alone and checks the port write and the new RIP.
 *
 * usage: consumer EXPECTED_VERSION
 */
#include <whvemu.h>

#include <stdio.h>
#include <string.h>

struct vm {
    UINT16 port;
    UINT32 data;
    UINT64 rip;
    int sets;
};

static HRESULT CALLBACK io_port(VOID *ctx, WHV_EMULATOR_IO_ACCESS_INFO *a)
{
    struct vm *vm = ctx;
    vm->port = a->Port;
    vm->data = a->Data;
    return S_OK;
}

static HRESULT CALLBACK memory(VOID *ctx, WHV_EMULATOR_MEMORY_ACCESS_INFO *a)
{
    (void)ctx;
    (void)a;
    return E_NOTIMPL;
}

static HRESULT CALLBACK get_regs(VOID *ctx, const WHV_REGISTER_NAME *n, UINT32 count,
                                 WHV_REGISTER_VALUE *v)
{
    (void)ctx;
    (void)n;
    (void)count;
    (void)v;
    return E_NOTIMPL;
}

static HRESULT CALLBACK set_regs(VOID *ctx, const WHV_REGISTER_NAME *n, UINT32 count,
                                 const WHV_REGISTER_VALUE *v)
{
    struct vm *vm = ctx;
    vm->sets++;
    for (UINT32 i = 0; i < count; i++)
        if (n[i] == WHvX64RegisterRip)
            vm->rip = v[i].Reg64;
    return S_OK;
}

static HRESULT CALLBACK translate(VOID *ctx, WHV_GUEST_VIRTUAL_ADDRESS gva,
                                  WHV_TRANSLATE_GVA_FLAGS flags,
                                  WHV_TRANSLATE_GVA_RESULT_CODE *result,
                                  WHV_GUEST_PHYSICAL_ADDRESS *gpa)
{
    (void)ctx;
    (void)gva;
    (void)flags;
    (void)result;
    (void)gpa;
    return E_NOTIMPL;
}

int main(int argc, char **argv)
{
    if (argc != 2 || strcmp(whvemu_version(), argv[1]) != 0) {
        printf("FAIL: whvemu_version() is \"%s\"\n", whvemu_version());
        return 1;
    }
    WHV_EMULATOR_CALLBACKS cb = {0};
    cb.Size = sizeof(cb);
    cb.WHvEmulatorIoPortCallback = io_port;
    cb.WHvEmulatorMemoryCallback = memory;
    cb.WHvEmulatorGetVirtualProcessorRegisters = get_regs;
    cb.WHvEmulatorSetVirtualProcessorRegisters = set_regs;
    cb.WHvEmulatorTranslateGvaPage = translate;
    WHV_EMULATOR_HANDLE emu;
    if (WHvEmulatorCreateEmulator(&cb, &emu) != S_OK) {
        printf("FAIL: WHvEmulatorCreateEmulator\n");
        return 1;
    }

    /* OUT DX, AL in 64-bit mode at RIP 0x1000, AL = 0x5A, port 0x3F8. */
    WHV_VP_EXIT_CONTEXT vp;
    memset(&vp, 0, sizeof(vp));
    vp.ExecutionState.Cr0Pe = 1;
    vp.ExecutionState.EferLma = 1;
    vp.Cs.Long = 1;
    vp.Cs.Present = 1;
    vp.InstructionLength = 1;
    vp.Rip = 0x1000;
    vp.Rflags = 2;
    WHV_X64_IO_PORT_ACCESS_CONTEXT io;
    memset(&io, 0, sizeof(io));
    io.AccessInfo.IsWrite = 1;
    io.AccessInfo.AccessSize = 1;
    io.PortNumber = 0x3F8;
    io.Rax = 0x5A;
    struct vm vm = {0, 0, 0, 0};
    WHV_EMULATOR_STATUS st;
    HRESULT hr = WHvEmulatorTryIoEmulation(emu, &vm, &vp, &io, &st);
    WHvEmulatorDestroyEmulator(emu);
    if (hr != S_OK || !st.EmulationSuccessful || vm.port != 0x3F8 || vm.data != 0x5A ||
        vm.rip != 0x1001 || vm.sets != 1) {
        printf("FAIL: hr 0x%08x status 0x%x port 0x%x data 0x%x rip 0x%llx sets %d\n",
               (unsigned)hr, (unsigned)st.AsUINT32, vm.port, (unsigned)vm.data,
               (unsigned long long)vm.rip, vm.sets);
        return 1;
    }
    printf("ok: %s library %s emulated OUT DX, AL\n", CONSUMER_KIND, whvemu_version());
    return 0;
}
