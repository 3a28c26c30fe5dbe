#include <WinHvEmulation.h>
/*
 * install_client.c - a VMM-style client built against an installed copy of
 * whvemu, using only the flags pkg-config gives. The include above must stay
 * the first line: it proves the installed header is self-contained.
 *
 * usage: install_client EXPECTED_VERSION
 */
#include <whvemu.h>

#include <stdio.h>
#include <string.h>

static HRESULT CALLBACK io_port(VOID *context, WHV_EMULATOR_IO_ACCESS_INFO *access)
{
    (void)context;
    (void)access;
    return E_NOTIMPL;
}

static HRESULT CALLBACK memory(VOID *context, WHV_EMULATOR_MEMORY_ACCESS_INFO *access)
{
    (void)context;
    (void)access;
    return E_NOTIMPL;
}

static HRESULT CALLBACK get_registers(VOID *context, const WHV_REGISTER_NAME *names, UINT32 count,
                                      WHV_REGISTER_VALUE *values)
{
    (void)context;
    (void)names;
    (void)count;
    (void)values;
    return E_NOTIMPL;
}

static HRESULT CALLBACK set_registers(VOID *context, const WHV_REGISTER_NAME *names, UINT32 count,
                                      const WHV_REGISTER_VALUE *values)
{
    (void)context;
    (void)names;
    (void)count;
    (void)values;
    return E_NOTIMPL;
}

static HRESULT CALLBACK translate(VOID *context, WHV_GUEST_VIRTUAL_ADDRESS gva,
                                  WHV_TRANSLATE_GVA_FLAGS flags,
                                  WHV_TRANSLATE_GVA_RESULT_CODE *result,
                                  WHV_GUEST_PHYSICAL_ADDRESS *gpa)
{
    (void)context;
    (void)gva;
    (void)flags;
    (void)result;
    (void)gpa;
    return E_NOTIMPL;
}

int main(int argc, char **argv)
{
    WHV_EMULATOR_CALLBACKS callbacks;
    WHV_EMULATOR_HANDLE emulator = NULL;
    HRESULT hr;
    const char *version = whvemu_version();

    if (argc != 2) {
        fprintf(stderr, "usage: %s EXPECTED_VERSION\n", argv[0]);
        return 2;
    }
    if (version == NULL || strcmp(version, argv[1]) != 0) {
        printf("FAIL: whvemu_version() is \"%s\", pkg-config says \"%s\"\n",
               version ? version : "(null)", argv[1]);
        return 1;
    }

    memset(&callbacks, 0, sizeof callbacks);
    callbacks.Size = sizeof(WHV_EMULATOR_CALLBACKS);
    callbacks.WHvEmulatorIoPortCallback = io_port;
    callbacks.WHvEmulatorMemoryCallback = memory;
    callbacks.WHvEmulatorGetVirtualProcessorRegisters = get_registers;
    callbacks.WHvEmulatorSetVirtualProcessorRegisters = set_registers;
    callbacks.WHvEmulatorTranslateGvaPage = translate;

    hr = WHvEmulatorCreateEmulator(&callbacks, &emulator);
    if (hr != S_OK || emulator == NULL) {
        printf("FAIL: WHvEmulatorCreateEmulator returned 0x%08x\n", (unsigned)hr);
        return 1;
    }
    hr = WHvEmulatorDestroyEmulator(emulator);
    if (hr != S_OK) {
        printf("FAIL: WHvEmulatorDestroyEmulator returned 0x%08x\n", (unsigned)hr);
        return 1;
    }
    printf("ok: whvemu %s, emulator created and destroyed\n", version);
    return 0;
}
