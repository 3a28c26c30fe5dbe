/* minimal.c - the five callbacks wired to a VMM's register file, guest RAM
 * and one device register (identity paging); three exits completed: a store
 * to the device, a load from it (bytes fetched from RAM) and an OUT.
 * See docs/api.md and docs/wiring.md. */
#include <stdio.h>
#include <string.h>
#include <WinHvEmulation.h>
#include <whvemu.h>

#define RAM_SIZE 0x10000u    /* guest RAM at GPA 0 */
#define DEV_GPA 0xFEE00000u  /* one 32-bit device register */

struct vcpu {
    WHV_REGISTER_VALUE reg[WHvX64RegisterCr8 + 1]; /* indexed by name: GPRs .. CR8 */
    UINT8 ram[RAM_SIZE];
    UINT32 dev_reg;
};

static HRESULT CALLBACK get_regs(VOID *ctx, const WHV_REGISTER_NAME *names, UINT32 n,
                                 WHV_REGISTER_VALUE *values)
{
    struct vcpu *vp = ctx;
    for (UINT32 i = 0; i < n; i++) {
        if ((UINT32)names[i] > WHvX64RegisterCr8)
            return E_INVALIDARG; /* a register this VMM does not keep */
        values[i] = vp->reg[names[i]];
    }
    return S_OK;
}

static HRESULT CALLBACK set_regs(VOID *ctx, const WHV_REGISTER_NAME *names, UINT32 n,
                                 const WHV_REGISTER_VALUE *values)
{
    struct vcpu *vp = ctx;
    for (UINT32 i = 0; i < n; i++) {
        if (names[i] == WHvRegisterPendingInterruption) /* a fault to inject */
            printf("inject vector %u\n", values[i].PendingInterruption.InterruptionVector);
        else if ((UINT32)names[i] <= WHvX64RegisterCr8)
            vp->reg[names[i]] = values[i];
        else
            return E_INVALIDARG;
    }
    return S_OK;
}

/* Identity paging: RAM translates with Success, the device page as
 * GpaUnmapped (MMIO: the access goes to the memory callback). */
static HRESULT CALLBACK translate(VOID *ctx, WHV_GUEST_VIRTUAL_ADDRESS gva,
                                  WHV_TRANSLATE_GVA_FLAGS flags,
                                  WHV_TRANSLATE_GVA_RESULT_CODE *result,
                                  WHV_GUEST_PHYSICAL_ADDRESS *gpa)
{
    (void)ctx, (void)flags;
    *gpa = gva & ~0xFFFull;
    if (*gpa < RAM_SIZE)
        *result = WHvTranslateGvaResultSuccess;
    else if (*gpa == DEV_GPA)
        *result = WHvTranslateGvaResultGpaUnmapped;
    else
        *result = WHvTranslateGvaResultPageNotPresent; /* becomes #PF */
    return S_OK;
}

static HRESULT CALLBACK memory(VOID *ctx, WHV_EMULATOR_MEMORY_ACCESS_INFO *a)
{
    struct vcpu *vp = ctx;
    if (a->GpaAddress + a->AccessSize <= RAM_SIZE) {
        if (a->Direction)
            memcpy(vp->ram + a->GpaAddress, a->Data, a->AccessSize);
        else
            memcpy(a->Data, vp->ram + a->GpaAddress, a->AccessSize);
        return S_OK;
    }
    if (a->GpaAddress != DEV_GPA || a->AccessSize != 4)
        return E_FAIL; /* status MemoryCallbackFailed */
    memcpy(a->Direction ? (void *)&vp->dev_reg : a->Data,
           a->Direction ? (void *)a->Data : &vp->dev_reg, 4);
    printf("device %s 0x%08x\n", a->Direction ? "write" : "read", (unsigned)vp->dev_reg);
    return S_OK;
}

static HRESULT CALLBACK io_port(VOID *ctx, WHV_EMULATOR_IO_ACCESS_INFO *a)
{
    (void)ctx;
    if (!a->Direction)
        a->Data = 0xFF; /* nothing attached */
    printf("port 0x%x %s 0x%x\n", a->Port, a->Direction ? "out" : "in", (unsigned)a->Data);
    return S_OK;
}

/* What the hypervisor's exit gives: the VP context, 64-bit mode. */
static void exit_context(const struct vcpu *vp, WHV_VP_EXIT_CONTEXT *x, UINT8 len)
{
    memset(x, 0, sizeof(*x));
    x->ExecutionState.Cr0Pe = x->ExecutionState.EferLma = 1;
    x->Cs.Long = x->Cs.Present = 1;
    x->Rip = vp->reg[WHvX64RegisterRip].Reg64;
    x->Rflags = vp->reg[WHvX64RegisterRflags].Reg64;
    x->InstructionLength = len;
}

static int mmio_exit(WHV_EMULATOR_HANDLE emu, struct vcpu *vp, WHV_MEMORY_ACCESS_TYPE type)
{
    WHV_VP_EXIT_CONTEXT x;
    WHV_MEMORY_ACCESS_CONTEXT m = {0}; /* no instruction bytes: the emulator fetches them */
    WHV_EMULATOR_STATUS st;
    exit_context(vp, &x, 0);
    m.AccessInfo.AccessType = type;
    m.AccessInfo.GvaValid = 1;
    m.Gpa = m.Gva = DEV_GPA;
    if (WHvEmulatorTryMmioEmulation(emu, vp, &x, &m, &st) != S_OK || !st.EmulationSuccessful) {
        printf("failed: status 0x%x: %s\n", st.AsUINT32, whvemu_last_failure(emu));
        return 1;
    }
    return 0;
}

int main(void)
{
    static struct vcpu vp; /* zeroed */
    /* mov [rbx], eax; mov ecx, [rbx]; out dx, al */
    static const UINT8 code[] = {0x89, 0x03, 0x8b, 0x0b, 0xee};
    memcpy(vp.ram + 0x1000, code, sizeof(code)); /* guest code at RIP */
    vp.reg[WHvX64RegisterRip].Reg64 = 0x1000, vp.reg[WHvX64RegisterRflags].Reg64 = 0x2;
    vp.reg[WHvX64RegisterRax].Reg64 = 0x12345678, vp.reg[WHvX64RegisterRbx].Reg64 = DEV_GPA;
    vp.reg[WHvX64RegisterRdx].Reg64 = 0x3F8;

    WHV_EMULATOR_CALLBACKS cb = {.Size = sizeof(cb), .WHvEmulatorIoPortCallback = io_port,
        .WHvEmulatorMemoryCallback = memory, .WHvEmulatorGetVirtualProcessorRegisters = get_regs,
        .WHvEmulatorSetVirtualProcessorRegisters = set_regs,
        .WHvEmulatorTranslateGvaPage = translate};
    WHV_EMULATOR_HANDLE emu;
    if (WHvEmulatorCreateEmulator(&cb, &emu) != S_OK) /* one handle per vCPU */
        return 1;
    int bad = mmio_exit(emu, &vp, WHvMemoryAccessWrite) || mmio_exit(emu, &vp, WHvMemoryAccessRead);
    printf("ecx = 0x%llx\n", (unsigned long long)vp.reg[WHvX64RegisterRcx].Reg64);
    WHV_VP_EXIT_CONTEXT x;
    WHV_X64_IO_PORT_ACCESS_CONTEXT io = {0}; /* OUT DX, AL: the port exit */
    WHV_EMULATOR_STATUS st;
    exit_context(&vp, &x, 1);
    io.InstructionByteCount = io.AccessInfo.IsWrite = io.AccessInfo.AccessSize = 1;
    io.InstructionBytes[0] = vp.ram[vp.reg[WHvX64RegisterRip].Reg64];
    io.PortNumber = 0x3F8, io.Rax = vp.reg[WHvX64RegisterRax].Reg64; /* DX, AL */
    bad |= WHvEmulatorTryIoEmulation(emu, &vp, &x, &io, &st) != S_OK || !st.EmulationSuccessful;
    printf("rip = 0x%llx\n", (unsigned long long)vp.reg[WHvX64RegisterRip].Reg64);
    WHvEmulatorDestroyEmulator(emu);
    printf("%s\n", bad ? "minimal: FAILED" : "minimal: ok");
    return bad;
}
