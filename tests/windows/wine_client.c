/*
 * wine_client.c - a Windows VMM's view of WinHvEmulation.dll, run under Wine.
 *
 * Built with mingw-w64 against mingw-w64's own <winhvemulation.h> (not
 * whvemu's headers) and never linked against the DLL: like a WHPX VMM it
 * loads "WinHvEmulation.dll" by name at run time and looks up the four entry
 * points with GetProcAddress. It then runs a small 64-bit guest against an
 * in-process fake VM (RAM, one MMIO device page, a port model, a register
 * file) and checks every result: status bits, registers written back (and
 * that no other register changed), device and RAM contents, port traffic.
 * One line per case, then "N passed, M failed"; exit status 0 only when all
 * passed.
 */
#define __USE_MINGW_ANSI_STDIO 1 /* C99 printf: %llu */
#include <windows.h>
#include <winhvemulation.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- the API, loaded at run time ---- */

typedef HRESULT(WINAPI *create_fn)(const WHV_EMULATOR_CALLBACKS *, WHV_EMULATOR_HANDLE *);
typedef HRESULT(WINAPI *destroy_fn)(WHV_EMULATOR_HANDLE);
typedef HRESULT(WINAPI *try_io_fn)(WHV_EMULATOR_HANDLE, VOID *, const WHV_VP_EXIT_CONTEXT *,
                                   const WHV_X64_IO_PORT_ACCESS_CONTEXT *, WHV_EMULATOR_STATUS *);
typedef HRESULT(WINAPI *try_mmio_fn)(WHV_EMULATOR_HANDLE, VOID *, const WHV_VP_EXIT_CONTEXT *,
                                     const WHV_MEMORY_ACCESS_CONTEXT *, WHV_EMULATOR_STATUS *);

/* The pointer types must be those of the SDK declarations (not evaluated:
 * nothing is imported). */
#define SAME_TYPE(expr, T) _Generic((expr), T: 1, default: 0)
_Static_assert(SAME_TYPE(&WHvEmulatorCreateEmulator, create_fn), "create");
_Static_assert(SAME_TYPE(&WHvEmulatorDestroyEmulator, destroy_fn), "destroy");
_Static_assert(SAME_TYPE(&WHvEmulatorTryIoEmulation, try_io_fn), "try io");
_Static_assert(SAME_TYPE(&WHvEmulatorTryMmioEmulation, try_mmio_fn), "try mmio");

struct emu_api {
    create_fn create;
    destroy_fn destroy;
    try_io_fn try_io;
    try_mmio_fn try_mmio;
};

typedef void (*any_fn)(void);

static any_fn lookup(HMODULE m, const char *name)
{
    /* Through void (*)(void), the one function pointer type every other
     * converts to without a cast-function-type warning. */
    return (any_fn)GetProcAddress(m, name);
}

/* The directory part of a path, in place. */
static void strip_file_name(char *path)
{
    char *slash = strrchr(path, '\\');
    if (slash)
        *slash = '\0';
}

static int load_api(struct emu_api *api, HMODULE *out)
{
    HMODULE m = LoadLibraryA("WinHvEmulation.dll");
    if (!m) {
        printf("FAIL load: LoadLibrary(\"WinHvEmulation.dll\") failed, error %lu\n",
               (unsigned long)GetLastError());
        return -1;
    }
    api->create = (create_fn)lookup(m, "WHvEmulatorCreateEmulator");
    api->destroy = (destroy_fn)lookup(m, "WHvEmulatorDestroyEmulator");
    api->try_io = (try_io_fn)lookup(m, "WHvEmulatorTryIoEmulation");
    api->try_mmio = (try_mmio_fn)lookup(m, "WHvEmulatorTryMmioEmulation");
    if (!api->create || !api->destroy || !api->try_io || !api->try_mmio) {
        printf("FAIL load: an entry point is missing (create %d, destroy %d, io %d, mmio %d)\n",
               api->create != NULL, api->destroy != NULL, api->try_io != NULL,
               api->try_mmio != NULL);
        FreeLibrary(m);
        return -1;
    }
    /* The DLL must be the one beside this program, not one from the system. */
    char dll_path[MAX_PATH] = "", exe_dir[MAX_PATH] = "", dll_dir[MAX_PATH];
    GetModuleFileNameA(m, dll_path, MAX_PATH);
    GetModuleFileNameA(NULL, exe_dir, MAX_PATH);
    strip_file_name(exe_dir);
    memcpy(dll_dir, dll_path, sizeof dll_dir);
    strip_file_name(dll_dir);
    const char *(*version)(void) = (const char *(*)(void))lookup(m, "whvemu_version");
    printf("info: loaded %s (whvemu %s)\n", dll_path, version ? version() : "?");
    if (lstrcmpiA(exe_dir, dll_dir) != 0) {
        printf("FAIL load: the DLL came from %s, not from the program's directory %s\n", dll_dir,
               exe_dir);
        FreeLibrary(m);
        return -1;
    }
    *out = m;
    return 0;
}

/* ---- the fake VM ---- */

#define RAM_BASE 0x10000ull /* RAM: GPA 0x10000..0x1FFFF, identity-mapped */
#define RAM_SIZE 0x10000u
#define DEV_BASE 0xD0000000ull /* one MMIO device page, identity-mapped */
#define DEV_SIZE 0x1000u
#define CODE 0x11000ull       /* where the guest's instructions sit */
#define HOLE 0x7000000ull     /* a GVA page that is not present */
#define MAX_REGS 96
#define MAX_LOG 256

struct dev_access {
    UINT64 gpa;
    UINT8 write;
    UINT8 size;
};

struct port_access {
    UINT16 port;
    UINT8 write;
    UINT8 size;
    UINT32 data;
};

struct vm {
    UINT8 ram[RAM_SIZE];
    UINT8 dev[DEV_SIZE];
    WHV_REGISTER_NAME names[MAX_REGS];
    WHV_REGISTER_VALUE values[MAX_REGS];
    unsigned nregs;
    struct dev_access dev_log[MAX_LOG];
    unsigned ndev;
    struct port_access port_log[MAX_LOG];
    unsigned nport;
    UINT32 port_reads;
    unsigned get_calls, set_calls, translate_calls;
    int translate_fails; /* the translate callback returns E_FAIL */
    char error[160];     /* first protocol error a callback saw */
};

static void vm_error(struct vm *vm, const char *what)
{
    if (!vm->error[0])
        snprintf(vm->error, sizeof vm->error, "%s", what);
}

static WHV_REGISTER_VALUE *reg_slot(struct vm *vm, WHV_REGISTER_NAME name)
{
    for (unsigned i = 0; i < vm->nregs; i++)
        if (vm->names[i] == name)
            return &vm->values[i];
    if (vm->nregs == MAX_REGS)
        return NULL;
    vm->names[vm->nregs] = name;
    memset(&vm->values[vm->nregs], 0, sizeof vm->values[0]);
    return &vm->values[vm->nregs++];
}

static UINT64 reg(struct vm *vm, WHV_REGISTER_NAME name)
{
    WHV_REGISTER_VALUE *v = reg_slot(vm, name);
    return v ? v->Reg64 : 0;
}

static void set_reg(struct vm *vm, WHV_REGISTER_NAME name, UINT64 value)
{
    WHV_REGISTER_VALUE *v = reg_slot(vm, name);
    if (v) {
        memset(v, 0, sizeof *v);
        v->Reg64 = value;
    }
}

static void set_seg(struct vm *vm, WHV_REGISTER_NAME name, UINT16 sel, UINT16 attr)
{
    WHV_REGISTER_VALUE *v = reg_slot(vm, name);
    if (v) {
        memset(v, 0, sizeof *v);
        v->Segment.Base = 0;
        v->Segment.Limit = 0xFFFFFFFF;
        v->Segment.Selector = sel;
        v->Segment.Attributes = attr;
    }
}

/* A flat 64-bit supervisor machine with paging on. */
static void vm_reset(struct vm *vm)
{
    memset(vm, 0, sizeof *vm);
    for (UINT32 i = 0; i < 16; i++)
        set_reg(vm, (WHV_REGISTER_NAME)(WHvX64RegisterRax + i), 0x1111111111111111ull * (i % 15 + 1));
    set_reg(vm, WHvX64RegisterRip, CODE);
    set_reg(vm, WHvX64RegisterRflags, 0x2);
    set_reg(vm, WHvX64RegisterCr0, 0x80050033);
    set_reg(vm, WHvX64RegisterCr3, 0x1000);
    set_reg(vm, WHvX64RegisterCr4, 0x6A0);
    set_reg(vm, WHvX64RegisterEfer, 0xD01);
    set_seg(vm, WHvX64RegisterCs, 0x10, 0x209B);
    set_seg(vm, WHvX64RegisterSs, 0x18, 0xC093);
    set_seg(vm, WHvX64RegisterDs, 0x18, 0xC093);
    set_seg(vm, WHvX64RegisterEs, 0x18, 0xC093);
    set_seg(vm, WHvX64RegisterFs, 0x18, 0xC093);
    set_seg(vm, WHvX64RegisterGs, 0x18, 0xC093);
    set_reg(vm, WHvRegisterPendingInterruption, 0);
    set_reg(vm, WHvX64RegisterCr2, 0);
}

static UINT8 *guest_bytes(struct vm *vm, UINT64 gpa, unsigned len, int *is_dev)
{
    if (gpa >= RAM_BASE && gpa + len <= RAM_BASE + RAM_SIZE) {
        *is_dev = 0;
        return &vm->ram[gpa - RAM_BASE];
    }
    if (gpa >= DEV_BASE && gpa + len <= DEV_BASE + DEV_SIZE) {
        *is_dev = 1;
        return &vm->dev[gpa - DEV_BASE];
    }
    return NULL;
}

static HRESULT CALLBACK cb_io(VOID *ctx, WHV_EMULATOR_IO_ACCESS_INFO *io)
{
    struct vm *vm = ctx;
    if (io->AccessSize != 1 && io->AccessSize != 2 && io->AccessSize != 4) {
        vm_error(vm, "port access of a bad size");
        return E_INVALIDARG;
    }
    if (io->Direction == 0) {
        /* Port model: 0xA0 + the number of reads so far, in every byte. */
        UINT32 v = (0xA0u + vm->port_reads++) * 0x01010101u;
        io->Data = io->AccessSize == 4 ? v : v & ((1u << (8 * io->AccessSize)) - 1);
    }
    if (vm->nport < MAX_LOG)
        vm->port_log[vm->nport++] =
            (struct port_access){io->Port, io->Direction, (UINT8)io->AccessSize, io->Data};
    return S_OK;
}

static HRESULT CALLBACK cb_mem(VOID *ctx, WHV_EMULATOR_MEMORY_ACCESS_INFO *m)
{
    struct vm *vm = ctx;
    int is_dev;
    if (m->AccessSize < 1 || m->AccessSize > 8) {
        vm_error(vm, "memory access of a bad size");
        return E_INVALIDARG;
    }
    UINT8 *p = guest_bytes(vm, m->GpaAddress, m->AccessSize, &is_dev);
    if (!p) {
        vm_error(vm, "memory access outside RAM and the device");
        return E_FAIL;
    }
    if (m->Direction)
        memcpy(p, m->Data, m->AccessSize);
    else
        memcpy(m->Data, p, m->AccessSize);
    if (is_dev && vm->ndev < MAX_LOG)
        vm->dev_log[vm->ndev++] = (struct dev_access){m->GpaAddress, m->Direction, m->AccessSize};
    return S_OK;
}

static HRESULT CALLBACK cb_get(VOID *ctx, const WHV_REGISTER_NAME *names, UINT32 count,
                               WHV_REGISTER_VALUE *values)
{
    struct vm *vm = ctx;
    vm->get_calls++;
    for (UINT32 i = 0; i < count; i++) {
        WHV_REGISTER_VALUE *v = reg_slot(vm, names[i]);
        if (!v)
            return E_INVALIDARG;
        values[i] = *v;
    }
    return S_OK;
}

static HRESULT CALLBACK cb_set(VOID *ctx, const WHV_REGISTER_NAME *names, UINT32 count,
                               const WHV_REGISTER_VALUE *values)
{
    struct vm *vm = ctx;
    vm->set_calls++;
    for (UINT32 i = 0; i < count; i++) {
        WHV_REGISTER_VALUE *v = reg_slot(vm, names[i]);
        if (!v)
            return E_INVALIDARG;
        *v = values[i];
    }
    return S_OK;
}

static HRESULT CALLBACK cb_translate(VOID *ctx, WHV_GUEST_VIRTUAL_ADDRESS gva,
                                     WHV_TRANSLATE_GVA_FLAGS flags,
                                     WHV_TRANSLATE_GVA_RESULT_CODE *result,
                                     WHV_GUEST_PHYSICAL_ADDRESS *gpa)
{
    struct vm *vm = ctx;
    (void)flags;
    vm->translate_calls++;
    if (vm->translate_fails)
        return E_FAIL;
    if ((gva & ~0xFFFull) == HOLE) {
        *result = WHvTranslateGvaResultPageNotPresent;
        return S_OK;
    }
    *result = WHvTranslateGvaResultSuccess;
    *gpa = gva & ~0xFFFull;
    return S_OK;
}

/* ---- exits ---- */

static void build_vp(struct vm *vm, WHV_VP_EXIT_CONTEXT *vp, unsigned insn_len)
{
    memset(vp, 0, sizeof *vp);
    vp->ExecutionState.Cr0Pe = 1;
    vp->ExecutionState.EferLma = 1;
    vp->InstructionLength = insn_len & 15;
    vp->Cs = reg_slot(vm, WHvX64RegisterCs)->Segment;
    vp->Rip = reg(vm, WHvX64RegisterRip);
    vp->Rflags = reg(vm, WHvX64RegisterRflags);
}

/* A memory-access exit at gva (identity-mapped, so Gpa = Gva), with the
 * instruction bytes in the context (n = 0: none, the emulator fetches them
 * from guest memory at RIP, where the caller has put them). */
static void build_mmio(WHV_MEMORY_ACCESS_CONTEXT *mc, const UINT8 *bytes, unsigned n, UINT64 gva,
                       WHV_MEMORY_ACCESS_TYPE type, int gva_valid)
{
    memset(mc, 0, sizeof *mc);
    mc->InstructionByteCount = (UINT8)n;
    memcpy(mc->InstructionBytes, bytes, n);
    mc->AccessInfo.AccessType = type;
    mc->AccessInfo.GpaUnmapped = gva >= DEV_BASE;
    mc->AccessInfo.GvaValid = gva_valid;
    mc->Gpa = gva;
    mc->Gva = gva;
}

static void build_io(struct vm *vm, WHV_X64_IO_PORT_ACCESS_CONTEXT *io, const UINT8 *bytes,
                     unsigned n, UINT16 port, unsigned size, int write, int string, int rep)
{
    memset(io, 0, sizeof *io);
    io->InstructionByteCount = (UINT8)n;
    memcpy(io->InstructionBytes, bytes, n);
    io->AccessInfo.IsWrite = (UINT32)write;
    io->AccessInfo.AccessSize = size;
    io->AccessInfo.StringOp = (UINT32)string;
    io->AccessInfo.RepPrefix = (UINT32)rep;
    io->PortNumber = port;
    io->Rax = reg(vm, WHvX64RegisterRax);
    io->Rcx = reg(vm, WHvX64RegisterRcx);
    io->Rsi = reg(vm, WHvX64RegisterRsi);
    io->Rdi = reg(vm, WHvX64RegisterRdi);
    io->Ds = reg_slot(vm, WHvX64RegisterDs)->Segment;
    io->Es = reg_slot(vm, WHvX64RegisterEs)->Segment;
}

/* ---- checking ---- */

struct run {
    struct emu_api *api;
    WHV_EMULATOR_HANDLE emu;
    struct vm vm;
    WHV_REGISTER_NAME before_names[MAX_REGS];
    WHV_REGISTER_VALUE before[MAX_REGS];
    unsigned nbefore;
    WHV_EMULATOR_STATUS st;
    HRESULT hr;
    char why[256];
    int passed, failed;
};

/* Records the first failure of a case. */
static void fail(struct run *r, const char *fmt, ...) __attribute__((format(gnu_printf, 2, 3)));
static void fail(struct run *r, const char *fmt, ...)
{
    va_list ap;
    if (r->why[0])
        return;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof r->why, fmt, ap);
    va_end(ap);
}

typedef unsigned long long ull;

/* Records the register file before an emulation. */
static void snapshot(struct run *r)
{
    r->nbefore = r->vm.nregs;
    memcpy(r->before_names, r->vm.names, sizeof r->before_names);
    memcpy(r->before, r->vm.values, sizeof r->before);
    r->vm.ndev = r->vm.nport = 0;
    r->vm.get_calls = r->vm.set_calls = r->vm.translate_calls = 0;
    r->vm.error[0] = '\0';
    r->why[0] = '\0';
}

static void run_mmio(struct run *r, const WHV_MEMORY_ACCESS_CONTEXT *mc, unsigned insn_len)
{
    WHV_VP_EXIT_CONTEXT vp;
    build_vp(&r->vm, &vp, insn_len);
    snapshot(r);
    r->hr = r->api->try_mmio(r->emu, &r->vm, &vp, mc, &r->st);
}

static void run_io(struct run *r, const WHV_X64_IO_PORT_ACCESS_CONTEXT *io, unsigned insn_len)
{
    WHV_VP_EXIT_CONTEXT vp;
    build_vp(&r->vm, &vp, insn_len);
    snapshot(r);
    r->hr = r->api->try_io(r->emu, &r->vm, &vp, io, &r->st);
}

struct want {
    WHV_REGISTER_NAME name;
    UINT64 value;
};

/* Status and HRESULT as given; the registers in `want` hold their values and
 * every other register is as before the call. */
static void expect_regs(struct run *r, UINT32 status, const struct want *want, unsigned n)
{
    if (r->hr != S_OK)
        fail(r, "HRESULT 0x%lx, expected S_OK", (unsigned long)r->hr);
    if (r->st.AsUINT32 != status)
        fail(r, "status 0x%x, expected 0x%x", (unsigned)r->st.AsUINT32, (unsigned)status);
    if (r->vm.error[0] && !r->why[0])
        snprintf(r->why, sizeof r->why, "callback: %s", r->vm.error);
    for (unsigned i = 0; i < n; i++) {
        UINT64 got = reg(&r->vm, want[i].name);
        if (got != want[i].value) {
            fail(r, "register 0x%x is 0x%llx, expected 0x%llx", (unsigned)want[i].name, (ull)got,
                 (ull)want[i].value);
        }
    }
    for (unsigned i = 0; i < r->vm.nregs; i++) {
        int listed = 0;
        for (unsigned j = 0; j < n; j++)
            listed |= want[j].name == r->vm.names[i];
        if (listed)
            continue;
        int found = 0;
        for (unsigned j = 0; j < r->nbefore; j++) {
            if (r->before_names[j] != r->vm.names[i])
                continue;
            found = 1;
            if (memcmp(&r->before[j], &r->vm.values[i], sizeof r->before[j]) != 0)
                fail(r, "register 0x%x changed (low 64 bits now 0x%llx)", (unsigned)r->vm.names[i],
                     (ull)r->vm.values[i].Reg64);
        }
        if (!found && r->vm.values[i].Reg64 != 0)
            fail(r, "register 0x%x appeared with value 0x%llx", (unsigned)r->vm.names[i],
                 (ull)r->vm.values[i].Reg64);
    }
}

static void expect_bytes(struct run *r, const UINT8 *got, const UINT8 *want, unsigned n,
                         const char *what)
{
    for (unsigned i = 0; i < n; i++) {
        if (got[i] != want[i]) {
            fail(r, "%s byte %u is 0x%02x, expected 0x%02x", what, i, got[i], want[i]);
            return;
        }
    }
}

static void report(struct run *r, const char *name)
{
    if (r->why[0]) {
        printf("FAIL %-40s %s\n", name, r->why);
        r->failed++;
    } else {
        printf("ok   %s\n", name);
        r->passed++;
    }
}

/* ---- the cases ---- */

static void case_mmio_loads(struct run *r)
{
    static const struct {
        const char *name;
        UINT8 bytes[4];
        unsigned n;
        UINT64 rax;
    } loads[] = {
        /* RAX starts as 0x1111111111111111; the device holds 88 77 66 ... 11. */
        {"mmio load 8-bit (mov al,[rbx])", {0x8a, 0x03}, 2, 0x1111111111111188ull},
        {"mmio load 16-bit (mov ax,[rbx])", {0x66, 0x8b, 0x03}, 3, 0x1111111111117788ull},
        {"mmio load 32-bit (mov eax,[rbx])", {0x8b, 0x03}, 2, 0x0000000055667788ull},
        {"mmio load 64-bit (mov rax,[rbx])", {0x48, 0x8b, 0x03}, 3, 0x1122334455667788ull},
    };
    for (unsigned i = 0; i < sizeof loads / sizeof loads[0]; i++) {
        vm_reset(&r->vm);
        static const UINT8 dev[8] = {0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11};
        memcpy(&r->vm.dev[0x40], dev, 8);
        set_reg(&r->vm, WHvX64RegisterRbx, DEV_BASE + 0x40);
        WHV_MEMORY_ACCESS_CONTEXT mc;
        build_mmio(&mc, loads[i].bytes, loads[i].n, DEV_BASE + 0x40, WHvMemoryAccessRead, 1);
        run_mmio(r, &mc, 0);
        struct want w[] = {{WHvX64RegisterRax, loads[i].rax},
                           {WHvX64RegisterRip, CODE + loads[i].n}};
        expect_regs(r, 1, w, 2);
        unsigned size = i == 0 ? 1 : i == 1 ? 2 : i == 2 ? 4 : 8;
        if (r->vm.ndev != 1 || r->vm.dev_log[0].write || r->vm.dev_log[0].size != size)
            fail(r, "device saw %u accesses (first of size %u), expected one read", r->vm.ndev,
                 r->vm.ndev ? r->vm.dev_log[0].size : 0u);
        if (r->vm.translate_calls)
            fail(r, "%u translate calls, expected none (the exit gives the GPA)",
                 r->vm.translate_calls);
        report(r, loads[i].name);
    }
}

static void case_mmio_stores(struct run *r)
{
    static const struct {
        const char *name;
        UINT8 bytes[8];
        unsigned n, size;
        UINT8 want[8];
    } stores[] = {
        /* RCX = 0x0807060504030201 */
        {"mmio store 8-bit (mov [rbx],cl)", {0x88, 0x0b}, 2, 1, {1}},
        {"mmio store 16-bit (mov [rbx],cx)", {0x66, 0x89, 0x0b}, 3, 2, {1, 2}},
        {"mmio store 32-bit (mov [rbx],ecx)", {0x89, 0x0b}, 2, 4, {1, 2, 3, 4}},
        {"mmio store 64-bit (mov [rbx],rcx)", {0x48, 0x89, 0x0b}, 3, 8, {1, 2, 3, 4, 5, 6, 7, 8}},
        {"mmio store imm32 (mov dword [rbx],imm)", {0xc7, 0x03, 0xef, 0xbe, 0xad, 0xde}, 6, 4,
         {0xef, 0xbe, 0xad, 0xde}},
    };
    for (unsigned i = 0; i < sizeof stores / sizeof stores[0]; i++) {
        vm_reset(&r->vm);
        memset(r->vm.dev, 0xEE, sizeof r->vm.dev);
        set_reg(&r->vm, WHvX64RegisterRbx, DEV_BASE + 0x80);
        set_reg(&r->vm, WHvX64RegisterRcx, 0x0807060504030201ull);
        WHV_MEMORY_ACCESS_CONTEXT mc;
        build_mmio(&mc, stores[i].bytes, stores[i].n, DEV_BASE + 0x80, WHvMemoryAccessWrite, 1);
        run_mmio(r, &mc, 0);
        struct want w[] = {{WHvX64RegisterRip, CODE + stores[i].n}};
        expect_regs(r, 1, w, 1);
        expect_bytes(r, &r->vm.dev[0x80], stores[i].want, stores[i].size, "device");
        if (r->vm.dev[0x80 + stores[i].size] != 0xEE || r->vm.dev[0x7F] != 0xEE)
            fail(r, "the store spilled past its %u bytes", stores[i].size);
        if (r->vm.ndev != 1 || !r->vm.dev_log[0].write || r->vm.dev_log[0].size != stores[i].size)
            fail(r, "device saw %u accesses (first of size %u), expected one write",
                 r->vm.ndev, r->vm.ndev ? r->vm.dev_log[0].size : 0u);
        report(r, stores[i].name);
    }
}

static void case_alu_rmw(struct run *r)
{
    /* add dword [rbx], ecx: 0xFFFFFFFF + 1 = 0 with CF ZF PF AF set. */
    vm_reset(&r->vm);
    static const UINT8 dev[4] = {0xff, 0xff, 0xff, 0xff};
    memcpy(&r->vm.dev[0x10], dev, 4);
    set_reg(&r->vm, WHvX64RegisterRbx, DEV_BASE + 0x10);
    set_reg(&r->vm, WHvX64RegisterRcx, 0xAAAAAAAA00000001ull);
    static const UINT8 add[] = {0x01, 0x0b};
    WHV_MEMORY_ACCESS_CONTEXT mc;
    build_mmio(&mc, add, 2, DEV_BASE + 0x10, WHvMemoryAccessWrite, 1);
    run_mmio(r, &mc, 0);
    struct want w[] = {{WHvX64RegisterRip, CODE + 2}, {WHvX64RegisterRflags, 0x2 | 0x1 | 0x4 | 0x10 | 0x40}};
    expect_regs(r, 1, w, 2);
    static const UINT8 zero[4] = {0};
    expect_bytes(r, &r->vm.dev[0x10], zero, 4, "device");
    if (r->vm.ndev != 2 || r->vm.dev_log[0].write || !r->vm.dev_log[1].write ||
        r->vm.dev_log[0].size != 4 || r->vm.dev_log[1].size != 4)
        fail(r, "device saw %u accesses, expected a 4-byte read then a 4-byte write",
             r->vm.ndev);
    report(r, "alu read-modify-write (add [rbx],ecx) and flags");
}

static void case_rep_movsb_to_device(struct run *r)
{
    vm_reset(&r->vm);
    UINT8 src[64];
    for (unsigned i = 0; i < sizeof src; i++)
        src[i] = (UINT8)(0x30 + i * 7);
    memcpy(&r->vm.ram[0x2000], src, sizeof src);
    set_reg(&r->vm, WHvX64RegisterRsi, RAM_BASE + 0x2000);
    set_reg(&r->vm, WHvX64RegisterRdi, DEV_BASE + 0x100);
    set_reg(&r->vm, WHvX64RegisterRcx, sizeof src);
    static const UINT8 rep_movsb[] = {0xf3, 0xa4};
    WHV_MEMORY_ACCESS_CONTEXT mc;
    build_mmio(&mc, rep_movsb, 2, DEV_BASE + 0x100, WHvMemoryAccessWrite, 1);
    run_mmio(r, &mc, 0);
    struct want w[] = {{WHvX64RegisterRip, CODE + 2},
                       {WHvX64RegisterRcx, 0},
                       {WHvX64RegisterRsi, RAM_BASE + 0x2000 + sizeof src},
                       {WHvX64RegisterRdi, DEV_BASE + 0x100 + sizeof src}};
    expect_regs(r, 1, w, 4);
    expect_bytes(r, &r->vm.dev[0x100], src, sizeof src, "device");
    if (r->vm.ndev != sizeof src)
        fail(r, "device saw %u accesses, expected %u byte writes", r->vm.ndev, (unsigned)sizeof src);
    report(r, "rep movsb RAM -> device (64 bytes)");
}

static void case_rep_movsb_from_device(struct run *r)
{
    vm_reset(&r->vm);
    for (unsigned i = 0; i < 48; i++)
        r->vm.dev[0x300 + i] = (UINT8)(0xC0 ^ i);
    set_reg(&r->vm, WHvX64RegisterRsi, DEV_BASE + 0x300);
    set_reg(&r->vm, WHvX64RegisterRdi, RAM_BASE + 0x3000);
    set_reg(&r->vm, WHvX64RegisterRcx, 48);
    static const UINT8 rep_movsb[] = {0xf3, 0xa4};
    WHV_MEMORY_ACCESS_CONTEXT mc;
    build_mmio(&mc, rep_movsb, 2, DEV_BASE + 0x300, WHvMemoryAccessRead, 1);
    run_mmio(r, &mc, 0);
    struct want w[] = {{WHvX64RegisterRip, CODE + 2},
                       {WHvX64RegisterRcx, 0},
                       {WHvX64RegisterRsi, DEV_BASE + 0x300 + 48},
                       {WHvX64RegisterRdi, RAM_BASE + 0x3000 + 48}};
    expect_regs(r, 1, w, 4);
    expect_bytes(r, &r->vm.ram[0x3000], &r->vm.dev[0x300], 48, "RAM");
    report(r, "rep movsb device -> RAM (48 bytes)");
}

static void case_rep_stosb(struct run *r)
{
    vm_reset(&r->vm);
    set_reg(&r->vm, WHvX64RegisterRax, 0x123456789ABCDE5Aull);
    set_reg(&r->vm, WHvX64RegisterRdi, DEV_BASE + 0x200);
    set_reg(&r->vm, WHvX64RegisterRcx, 32);
    static const UINT8 rep_stosb[] = {0xf3, 0xaa};
    WHV_MEMORY_ACCESS_CONTEXT mc;
    build_mmio(&mc, rep_stosb, 2, DEV_BASE + 0x200, WHvMemoryAccessWrite, 1);
    run_mmio(r, &mc, 0);
    struct want w[] = {{WHvX64RegisterRip, CODE + 2},
                       {WHvX64RegisterRcx, 0},
                       {WHvX64RegisterRdi, DEV_BASE + 0x200 + 32}};
    expect_regs(r, 1, w, 3);
    UINT8 want[33];
    memset(want, 0x5A, 32);
    want[32] = 0;
    expect_bytes(r, &r->vm.dev[0x200], want, 33, "device");
    report(r, "rep stosb -> device (32 bytes)");
}

static void case_fetch_from_guest(struct run *r)
{
    /* The exit carries no instruction bytes: they are read at CS:RIP. */
    vm_reset(&r->vm);
    static const UINT8 code[] = {0x48, 0x8b, 0x53, 0x08}; /* mov rdx, [rbx+8] */
    memcpy(&r->vm.ram[CODE - RAM_BASE], code, sizeof code);
    static const UINT8 dev[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    memcpy(&r->vm.dev[0x48], dev, 8);
    set_reg(&r->vm, WHvX64RegisterRbx, DEV_BASE + 0x40);
    WHV_MEMORY_ACCESS_CONTEXT mc;
    build_mmio(&mc, NULL, 0, DEV_BASE + 0x48, WHvMemoryAccessRead, 1);
    run_mmio(r, &mc, 0);
    struct want w[] = {{WHvX64RegisterRip, CODE + 4}, {WHvX64RegisterRdx, 0x0807060504030201ull}};
    expect_regs(r, 1, w, 2);
    if (r->vm.translate_calls == 0)
        fail(r, "the code page was not translated");
    report(r, "mmio load, instruction fetched from guest RAM");
}

static void case_port_in_out(struct run *r)
{
    /* out dx, al */
    vm_reset(&r->vm);
    set_reg(&r->vm, WHvX64RegisterRax, 0xFFFFFFFFFFFFFF41ull);
    set_reg(&r->vm, WHvX64RegisterRdx, 0x3F8);
    static const UINT8 out_dx_al[] = {0xee};
    WHV_X64_IO_PORT_ACCESS_CONTEXT io;
    build_io(&r->vm, &io, out_dx_al, 1, 0x3F8, 1, 1, 0, 0);
    run_io(r, &io, 1);
    struct want w_out[] = {{WHvX64RegisterRip, CODE + 1}};
    expect_regs(r, 1, w_out, 1);
    if (r->vm.nport != 1 || r->vm.port_log[0].port != 0x3F8 || !r->vm.port_log[0].write ||
        r->vm.port_log[0].size != 1 || r->vm.port_log[0].data != 0x41)
        fail(r, "port saw %u accesses (first data 0x%x), expected one write of 0x41",
             r->vm.nport, r->vm.nport ? (unsigned)r->vm.port_log[0].data : 0u);
    report(r, "port out dx,al");

    /* in eax, dx: zero-extends into RAX */
    vm_reset(&r->vm);
    set_reg(&r->vm, WHvX64RegisterRdx, 0x60);
    static const UINT8 in_eax_dx[] = {0xed};
    build_io(&r->vm, &io, in_eax_dx, 1, 0x60, 4, 0, 0, 0);
    run_io(r, &io, 1);
    struct want w_in[] = {{WHvX64RegisterRip, CODE + 1}, {WHvX64RegisterRax, 0xA0A0A0A0ull}};
    expect_regs(r, 1, w_in, 2);
    report(r, "port in eax,dx");

    /* in ax, 0x71: merges into RAX */
    vm_reset(&r->vm);
    static const UINT8 in_ax_imm[] = {0x66, 0xe5, 0x71};
    build_io(&r->vm, &io, in_ax_imm, 3, 0x71, 2, 0, 0, 0);
    run_io(r, &io, 3);
    struct want w_in16[] = {{WHvX64RegisterRip, CODE + 3},
                            {WHvX64RegisterRax, 0x111111111111A0A0ull}};
    expect_regs(r, 1, w_in16, 2);
    report(r, "port in ax,imm8");
}

static void case_port_strings(struct run *r)
{
    /* rep outsb: 10 bytes from RAM to port 0xE9, in order */
    vm_reset(&r->vm);
    static const char msg[] = "hello wine";
    memcpy(&r->vm.ram[0x4000], msg, 10);
    set_reg(&r->vm, WHvX64RegisterRsi, RAM_BASE + 0x4000);
    set_reg(&r->vm, WHvX64RegisterRcx, 10);
    set_reg(&r->vm, WHvX64RegisterRdx, 0xE9);
    static const UINT8 rep_outsb[] = {0xf3, 0x6e};
    WHV_X64_IO_PORT_ACCESS_CONTEXT io;
    build_io(&r->vm, &io, rep_outsb, 2, 0xE9, 1, 1, 1, 1);
    run_io(r, &io, 2);
    struct want w_outs[] = {{WHvX64RegisterRip, CODE + 2},
                            {WHvX64RegisterRcx, 0},
                            {WHvX64RegisterRsi, RAM_BASE + 0x4000 + 10}};
    expect_regs(r, 1, w_outs, 3);
    if (r->vm.nport != 10)
        fail(r, "port saw %u accesses, expected 10", r->vm.nport);
    for (unsigned i = 0; i < r->vm.nport && i < 10; i++)
        if (r->vm.port_log[i].port != 0xE9 || !r->vm.port_log[i].write ||
            r->vm.port_log[i].size != 1 || r->vm.port_log[i].data != (UINT8)msg[i])
            fail(r, "port write %u carried 0x%x", i, (unsigned)r->vm.port_log[i].data);
    report(r, "rep outsb (10 bytes to port 0xe9)");

    /* rep insw: 4 words from port 0x1F0 into RAM */
    vm_reset(&r->vm);
    memset(&r->vm.ram[0x5000], 0xEE, 16);
    set_reg(&r->vm, WHvX64RegisterRdi, RAM_BASE + 0x5000);
    set_reg(&r->vm, WHvX64RegisterRcx, 4);
    set_reg(&r->vm, WHvX64RegisterRdx, 0x1F0);
    static const UINT8 rep_insw[] = {0xf3, 0x66, 0x6d};
    build_io(&r->vm, &io, rep_insw, 3, 0x1F0, 2, 0, 1, 1);
    run_io(r, &io, 3);
    struct want w_ins[] = {{WHvX64RegisterRip, CODE + 3},
                           {WHvX64RegisterRcx, 0},
                           {WHvX64RegisterRdi, RAM_BASE + 0x5000 + 8}};
    expect_regs(r, 1, w_ins, 3);
    static const UINT8 want[10] = {0xA0, 0xA0, 0xA1, 0xA1, 0xA2, 0xA2, 0xA3, 0xA3, 0xEE, 0xEE};
    expect_bytes(r, &r->vm.ram[0x5000], want, 10, "RAM");
    report(r, "rep insw (4 words from port 0x1f0)");
}

static void case_translate_faults(struct run *r)
{
    /* mov eax, [rbx] on a page that is not present: #PF is injected, RIP and
     * RAX stay, CR2 holds the address, the call reports success. */
    vm_reset(&r->vm);
    set_reg(&r->vm, WHvX64RegisterRbx, HOLE + 0x24);
    static const UINT8 mov[] = {0x8b, 0x03};
    WHV_MEMORY_ACCESS_CONTEXT mc;
    build_mmio(&mc, mov, 2, DEV_BASE, WHvMemoryAccessRead, 0);
    run_mmio(r, &mc, 0);
    WHV_X64_PENDING_INTERRUPTION_REGISTER pf = {0};
    pf.InterruptionPending = 1;
    pf.InterruptionType = WHvX64PendingException;
    pf.DeliverErrorCode = 1;
    pf.InterruptionVector = 14;
    pf.ErrorCode = 0; /* not present, read, supervisor */
    struct want w[] = {{WHvRegisterPendingInterruption, pf.AsUINT64},
                       {WHvX64RegisterCr2, HOLE + 0x24}};
    expect_regs(r, 1, w, 2);
    if (r->vm.ndev)
        fail(r, "the device saw %u accesses", r->vm.ndev);
    report(r, "translate: page not present injects #PF");

    /* The translate callback itself fails: status bit, nothing written. */
    vm_reset(&r->vm);
    r->vm.translate_fails = 1;
    set_reg(&r->vm, WHvX64RegisterRbx, RAM_BASE + 0x6000);
    run_mmio(r, &mc, 0);
    WHV_EMULATOR_STATUS want_st = {0};
    want_st.TranslateGvaPageCallbackFailed = 1;
    expect_regs(r, want_st.AsUINT32, NULL, 0);
    if (r->vm.set_calls)
        fail(r, "%u set-registers calls, expected none", r->vm.set_calls);
    report(r, "translate: callback failure sets its status bit");

    /* An exit raised by event delivery is not an instruction's. */
    vm_reset(&r->vm);
    set_reg(&r->vm, WHvX64RegisterRbx, DEV_BASE);
    WHV_VP_EXIT_CONTEXT vp;
    build_vp(&r->vm, &vp, 0);
    vp.ExecutionState.InterruptionPending = 1;
    build_mmio(&mc, mov, 2, DEV_BASE, WHvMemoryAccessRead, 1);
    snapshot(r);
    r->hr = r->api->try_mmio(r->emu, &r->vm, &vp, &mc, &r->st);
    want_st.AsUINT32 = 0;
    want_st.InterruptCausedIntercept = 1;
    expect_regs(r, want_st.AsUINT32, NULL, 0);
    report(r, "status: InterruptCausedIntercept");
}

int main(void)
{
    static struct run r; /* large: keep it off the stack */
    struct emu_api api;
    HMODULE dll;
    setvbuf(stdout, NULL, _IONBF, 0);
    if (load_api(&api, &dll) != 0) {
        printf("0 passed, 1 failed\n");
        return 1;
    }
    static const WHV_EMULATOR_CALLBACKS cbs = {
        sizeof(WHV_EMULATOR_CALLBACKS), 0, cb_io, cb_mem, cb_get, cb_set, cb_translate};
    r.api = &api;
    if (api.create(&cbs, &r.emu) != S_OK) {
        printf("FAIL create: WHvEmulatorCreateEmulator did not return S_OK\n0 passed, 1 failed\n");
        return 1;
    }
    case_mmio_loads(&r);
    case_mmio_stores(&r);
    case_alu_rmw(&r);
    case_rep_movsb_to_device(&r);
    case_rep_movsb_from_device(&r);
    case_rep_stosb(&r);
    case_fetch_from_guest(&r);
    case_port_in_out(&r);
    case_port_strings(&r);
    case_translate_faults(&r);
    if (api.destroy(r.emu) != S_OK) {
        printf("FAIL destroy: WHvEmulatorDestroyEmulator did not return S_OK\n");
        r.failed++;
    }
    FreeLibrary(dll);
    printf("%d passed, %d failed\n", r.passed, r.failed);
    return r.failed ? 1 : 0;
}
