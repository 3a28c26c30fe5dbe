/* A Windows client written against mingw-w64's own SDK headers, linked
 * against whvemu's import library: proves the DLL is a drop-in at the
 * source and link level. */
#include <windows.h>
#include <winhvemulation.h>

static HRESULT CALLBACK io(VOID *c, WHV_EMULATOR_IO_ACCESS_INFO *a)
{
    (void)c;
    (void)a;
    return S_OK;
}
static HRESULT CALLBACK mem(VOID *c, WHV_EMULATOR_MEMORY_ACCESS_INFO *a)
{
    (void)c;
    (void)a;
    return S_OK;
}
static HRESULT CALLBACK get(VOID *c, const WHV_REGISTER_NAME *n, UINT32 k, WHV_REGISTER_VALUE *v)
{
    (void)c;
    (void)n;
    (void)k;
    (void)v;
    return S_OK;
}
static HRESULT CALLBACK set(VOID *c, const WHV_REGISTER_NAME *n, UINT32 k,
                            const WHV_REGISTER_VALUE *v)
{
    (void)c;
    (void)n;
    (void)k;
    (void)v;
    return S_OK;
}
static HRESULT CALLBACK tr(VOID *c, WHV_GUEST_VIRTUAL_ADDRESS g, WHV_TRANSLATE_GVA_FLAGS f,
                           WHV_TRANSLATE_GVA_RESULT_CODE *r, WHV_GUEST_PHYSICAL_ADDRESS *p)
{
    (void)c;
    (void)f;
    *r = WHvTranslateGvaResultSuccess;
    *p = g;
    return S_OK;
}

int main(void)
{
    WHV_EMULATOR_CALLBACKS cb = {sizeof(cb), 0, io, mem, get, set, tr};
    WHV_EMULATOR_HANDLE h;
    if (WHvEmulatorCreateEmulator(&cb, &h) != S_OK)
        return 1;
    WHV_VP_EXIT_CONTEXT vp = {0};
    WHV_X64_IO_PORT_ACCESS_CONTEXT ioc = {0};
    WHV_MEMORY_ACCESS_CONTEXT mc = {0};
    WHV_EMULATOR_STATUS st;
    WHvEmulatorTryIoEmulation(h, NULL, &vp, &ioc, &st);
    WHvEmulatorTryMmioEmulation(h, NULL, &vp, &mc, &st);
    return WHvEmulatorDestroyEmulator(h) == S_OK ? 0 : 1;
}
