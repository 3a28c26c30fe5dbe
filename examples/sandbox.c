/*
 * sandbox.c - SIGSEGV to WHV memory-access and port-access exit glue.
 *
 * Everything reachable from the signal handler is async-signal-safe in
 * practice: the emulator does not allocate during a Try call, and the
 * callbacks below only read and write the ucontext, the device structure
 * and counters. Diagnostics on the fatal paths go out with write(2).
 */
#define _GNU_SOURCE

#include "sandbox.h"

#include <asm/prctl.h>
#include <cpuid.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "whvemu.h"

#define PAGE 4096ull
#define PF_VECTOR 14
#define GP_VECTOR 13
#define PF_ERR_WRITE 0x2
#define SAME_RIP_LIMIT 10000u

/* Values for state a user process cannot read. They describe a typical
 * 64-bit Linux process and are only needed if the emulator asks. CR0 is
 * what Linux runs user code with: PE MP ET NE WP AM PG, and TS clear (the
 * kernel never lets user code take #NM). CR4 and XCR0 are read from the
 * host (host_control_registers()). */
#define FAKE_CR0 0x80050033ull /* PE MP ET NE WP AM PG */
#define FAKE_EFER 0xD01ull     /* SCE LME LMA NXE */
#define FAKE_TR_SELECTOR 0x40
#define FAKE_TR_BASE 0xFFFFFE0000003000ull
#define FAKE_GDT_BASE 0xFFFFFE0000001000ull
#define FAKE_IDT_BASE 0xFFFFFE0000000000ull

static _Thread_local struct sandbox *tls_sandbox;
static struct sigaction previous_segv, previous_trap;

/* ---- the host's control registers and XSAVE layout ---------------------- */

#define CR4_PAE (1ull << 5)
#define CR4_PGE (1ull << 7)
#define CR4_OSFXSR (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define CR4_UMIP (1ull << 11)
#define CR4_FSGSBASE (1ull << 16)
#define CR4_OSXSAVE (1ull << 18)
#define CR4_SMEP (1ull << 20)
#define CR4_SMAP (1ull << 21)
#define CR4_PKE (1ull << 22)

/* The XSAVE components the extended-state callback serves. */
#define XCOMP_YMM_HI128 2u
#define XCOMP_OPMASK 5u
#define XCOMP_ZMM_HI256 6u
#define XCOMP_HI16_ZMM 7u
#define XCOMP_MAX 8u

static struct {
    pthread_once_t once;
    uint64_t cr4, xcr0;
    /* Standard-format offset and size of each user component (CPUID
     * leaf 0xD, sub-leaf i: EBX, EAX); 0 where the CPU has none. */
    uint32_t offset[XCOMP_MAX], size[XCOMP_MAX];
} host = {.once = PTHREAD_ONCE_INIT};

static uint64_t read_xcr0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

/* CR4 as far as user space can tell: the bits Linux always sets on x86-64,
 * and those it sets whenever the CPU has the feature, where CPUID (OSXSAVE
 * and OSPKE mirror CR4) or the auxiliary vector (FSGSBASE) says so. */
static void host_control_registers(void)
{
    unsigned a, b, c, d;
    uint64_t cr4 = CR4_PAE | CR4_PGE | CR4_OSFXSR | CR4_OSXMMEXCPT;

    if (__get_cpuid(1, &a, &b, &c, &d) && (c & bit_OSXSAVE)) {
        cr4 |= CR4_OSXSAVE;
        host.xcr0 = read_xcr0();
    }
    if (__get_cpuid_max(0, NULL) >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        if (b & (1u << 7))
            cr4 |= CR4_SMEP;
        if (b & (1u << 20))
            cr4 |= CR4_SMAP;
        if (c & (1u << 2))
            cr4 |= CR4_UMIP;
        if (c & (1u << 4)) /* OSPKE */
            cr4 |= CR4_PKE;
    }
    if (getauxval(AT_HWCAP2) & 2) /* HWCAP2_FSGSBASE */
        cr4 |= CR4_FSGSBASE;
    host.cr4 = cr4;
    if ((cr4 & CR4_OSXSAVE) && __get_cpuid_max(0, NULL) >= 0xD) {
        for (unsigned i = XCOMP_YMM_HI128; i < XCOMP_MAX; i++) {
            if (!(host.xcr0 & (1ull << i)))
                continue;
            __cpuid_count(0xD, i, a, b, c, d);
            host.size[i] = a;
            host.offset[i] = b;
        }
    }
}

static void host_init(void)
{
    pthread_once(&host.once, host_control_registers);
}

uint64_t sandbox_cr0(void)
{
    return FAKE_CR0;
}

uint64_t sandbox_cr4(void)
{
    host_init();
    return host.cr4;
}

uint64_t sandbox_xcr0(void)
{
    host_init();
    return host.xcr0;
}

/* ---- async-signal-safe text output ---------------------------------- */

struct out {
    char buf[2048];
    size_t n;
};

static void out_str(struct out *o, const char *s)
{
    while (s && *s && o->n < sizeof(o->buf))
        o->buf[o->n++] = *s++;
}

static void out_hex(struct out *o, uint64_t v, int digits)
{
    char t[17];
    int n = 0;
    do {
        t[n++] = "0123456789abcdef"[v & 0xF];
        v >>= 4;
    } while ((v || n < digits) && n < 16);
    out_str(o, "0x");
    while (n > 0 && o->n < sizeof(o->buf))
        o->buf[o->n++] = t[--n];
}

static void out_dec(struct out *o, uint64_t v)
{
    char t[21];
    int n = 0;
    do {
        t[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n > 0 && o->n < sizeof(o->buf))
        o->buf[o->n++] = t[--n];
}

static void out_flush(struct out *o)
{
    size_t off = 0;
    while (off < o->n) {
        ssize_t w = write(STDERR_FILENO, o->buf + off, o->n - off);
        if (w <= 0) {
            if (w < 0 && errno == EINTR)
                continue;
            break;
        }
        off += (size_t)w;
    }
    o->n = 0;
}

/* ---- register names ----------------------------------------------------- */

const char *sandbox_register_name(uint32_t name)
{
    static const char *const low[] = {
        "Rax", "Rcx", "Rdx", "Rbx", "Rsp", "Rbp", "Rsi", "Rdi", "R8", "R9",
        "R10", "R11", "R12", "R13", "R14", "R15", "Rip", "Rflags", "Es", "Cs",
        "Ss", "Ds", "Fs", "Gs", "Ldtr", "Tr", "Idtr", "Gdtr", "Cr0", "Cr2",
        "Cr3", "Cr4", "Cr8", "Dr0", "Dr1", "Dr2", "Dr3", "Dr6", "Dr7", "XCr0",
    };
    static const char *const vec[] = {
        "Xmm0", "Xmm1", "Xmm2", "Xmm3", "Xmm4", "Xmm5", "Xmm6", "Xmm7",
        "Xmm8", "Xmm9", "Xmm10", "Xmm11", "Xmm12", "Xmm13", "Xmm14", "Xmm15",
        "FpMmx0", "FpMmx1", "FpMmx2", "FpMmx3", "FpMmx4", "FpMmx5", "FpMmx6",
        "FpMmx7", "FpControlStatus", "XmmControlStatus",
    };
    if (name < sizeof(low) / sizeof(low[0]))
        return low[name];
    if (name >= WHvX64RegisterXmm0 &&
        name - WHvX64RegisterXmm0 < sizeof(vec) / sizeof(vec[0]))
        return vec[name - WHvX64RegisterXmm0];
    switch (name) {
    case WHvX64RegisterEfer:
        return "Efer";
    case WHvX64RegisterTsc:
        return "Tsc";
    case WHvX64RegisterApicBase:
        return "ApicBase";
    case WHvX64RegisterKernelGsBase:
        return "KernelGsBase";
    case WHvRegisterPendingInterruption:
        return "PendingInterruption";
    case WHvRegisterInterruptState:
        return "InterruptState";
    case WHvRegisterPendingEvent:
        return "PendingEvent";
    case WHvX64RegisterDeliverabilityNotifications:
        return "DeliverabilityNotifications";
    case WHvRegisterInternalActivityState:
        return "InternalActivityState";
    case WHvX64RegisterPendingDebugException:
        return "PendingDebugException";
    default:
        return NULL;
    }
}

const char *sandbox_io_form_name(enum sandbox_io_form f)
{
    switch (f) {
    case SANDBOX_IO_IN_IMM:
        return "IN eAX, imm8";
    case SANDBOX_IO_IN_DX:
        return "IN eAX, DX";
    case SANDBOX_IO_OUT_IMM:
        return "OUT imm8, eAX";
    case SANDBOX_IO_OUT_DX:
        return "OUT DX, eAX";
    case SANDBOX_IO_INS:
        return "INS";
    case SANDBOX_IO_REP_INS:
        return "REP INS";
    case SANDBOX_IO_OUTS:
        return "OUTS";
    case SANDBOX_IO_REP_OUTS:
        return "REP OUTS";
    case SANDBOX_IO_FORM_COUNT:
        break;
    }
    return "?";
}

const char *sandbox_kind_name(enum sandbox_kind k)
{
    switch (k) {
    case SANDBOX_KIND_LOAD:
        return "load from the device";
    case SANDBOX_KIND_STORE:
        return "store to the device";
    case SANDBOX_KIND_RMW:
        return "read-modify-write of the device";
    case SANDBOX_KIND_STACK:
        return "device <-> stack (push/pop)";
    case SANDBOX_KIND_STRING:
        return "string instruction (REP)";
    case SANDBOX_KIND_OTHER:
    case SANDBOX_KIND_COUNT:
        break;
    }
    return "other";
}

static void out_regname(struct out *o, uint32_t name)
{
    const char *s = sandbox_register_name(name);
    if (s)
        out_str(o, s);
    else
        out_hex(o, name, 1);
}

static void count_name(struct sandbox_name_count *tab, unsigned *n,
                       uint32_t name)
{
    for (unsigned i = 0; i < *n; i++) {
        if (tab[i].name == name) {
            tab[i].count++;
            return;
        }
    }
    if (*n < SANDBOX_MAX_NAMES) {
        tab[*n].name = name;
        tab[*n].count = 1;
        (*n)++;
    }
}

/* ---- the per-exit state handed to the callbacks as Context -------------- */

#define MAX_BAD 4

struct exit_call {
    struct sandbox *sb;
    ucontext_t *uc;
    uint64_t fault_addr;
    uint64_t rip;
    uint64_t cr2;

    unsigned dev_reads, dev_writes, ram_data, ram_fetch;

    /* Port exits: what the exit described, and the callbacks seen. */
    int io_exit;
    uint16_t io_port;
    int io_write;
    unsigned io_accesses;

    /* Problems, reported after the Try call. */
    int injected;
    uint32_t inj_name;
    uint64_t inj_low, inj_high;
    unsigned n_bad;
    struct {
        const char *what;
        uint64_t value;
        int is_register; /* value is a WHV_REGISTER_NAME */
    } bad[MAX_BAD];
};

static void note_problem(struct exit_call *c, const char *what,
                         uint64_t value, int is_register)
{
    if (c->n_bad < MAX_BAD) {
        c->bad[c->n_bad].what = what;
        c->bad[c->n_bad].value = value;
        c->bad[c->n_bad].is_register = is_register;
    }
    c->n_bad++;
}

static void note_bad(struct exit_call *c, const char *what, uint64_t value)
{
    note_problem(c, what, value, 0);
}

static void note_bad_register(struct exit_call *c, const char *what,
                              uint32_t name)
{
    note_problem(c, what, name, 1);
}

static const int gpr_slot[16] = {
    REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
    REG_R8,  REG_R9,  REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15,
};

static WHV_X64_SEGMENT_REGISTER flat_segment(uint16_t selector, int code,
                                             uint64_t base)
{
    WHV_X64_SEGMENT_REGISTER s;
    memset(&s, 0, sizeof(s));
    s.Base = base;
    s.Limit = 0xFFFFFFFFu;
    s.Selector = selector;
    s.SegmentType = code ? 0xB : 0x3; /* execute/read or read/write, accessed */
    s.NonSystemSegment = 1;
    s.DescriptorPrivilegeLevel = 3;
    s.Present = 1;
    s.Long = code ? 1 : 0;
    s.Default = code ? 0 : 1;
    s.Granularity = 1;
    return s;
}

static uint16_t saved_cs(const ucontext_t *uc)
{
    return (uint16_t)(uc->uc_mcontext.gregs[REG_CSGSFS] & 0xFFFF);
}

/* The value of a segment register as this process sees it; returns 0 or
 * -1 for a name that is not a segment register. */
static int segment_value(const struct exit_call *c, uint32_t name,
                         WHV_X64_SEGMENT_REGISTER *s)
{
    const struct sandbox *sb = c->sb;
    switch (name) {
    case WHvX64RegisterCs:
        *s = flat_segment(saved_cs(c->uc), 1, 0);
        return 0;
    case WHvX64RegisterSs:
        *s = flat_segment(sb->ss_sel, 0, 0);
        return 0;
    case WHvX64RegisterDs:
        *s = flat_segment(sb->ds_sel, 0, 0);
        return 0;
    case WHvX64RegisterEs:
        *s = flat_segment(sb->es_sel, 0, 0);
        return 0;
    case WHvX64RegisterFs:
        *s = flat_segment(sb->fs_sel, 0, sb->fs_base);
        return 0;
    case WHvX64RegisterGs:
        *s = flat_segment(sb->gs_sel, 0, sb->gs_base);
        return 0;
    case WHvX64RegisterLdtr:
        memset(s, 0, sizeof(*s));
        s->SegmentType = 2; /* LDT, not present: this process has none */
        return 0;
    case WHvX64RegisterTr:
        memset(s, 0, sizeof(*s));
        s->Base = FAKE_TR_BASE;
        s->Limit = 0x4087;
        s->Selector = FAKE_TR_SELECTOR;
        s->SegmentType = 0xB; /* busy 64-bit TSS */
        s->Present = 1;
        return 0;
    default:
        return -1;
    }
}

/* ---- vector state in the signal frame ------------------------------------ *
 *
 * uc_mcontext.fpregs points at the frame's FXSAVE image (struct
 * _libc_fpstate: x87 control/status, ST0-7, MXCSR, XMM0-15). When the
 * kernel saved more with XSAVE, bytes 464-511 of that image (software
 * reserved) hold its description: FP_XSTATE_MAGIC1, the features saved and
 * the size of the XSAVE area, which ends with FP_XSTATE_MAGIC2. The XSAVE
 * header follows the FXSAVE image at offset 512, and each component sits
 * at its standard-format offset (CPUID leaf 0xD). A component whose
 * XSTATE_BV bit is clear is in its init state (all zeros for the vector
 * components) whatever its bytes say, and XRSTOR on sigreturn would put it
 * back to init: writing a component sets its bit. The same holds for the
 * legacy components: x87 (bit 0, ST/MM registers) and SSE (bit 1, XMM).
 */
#define FPX_SW_OFFSET 464u
#ifndef FP_XSTATE_MAGIC1 /* <signal.h> has them with glibc */
#define FP_XSTATE_MAGIC1 0x46505853u
#define FP_XSTATE_MAGIC2 0x46505845u
#endif
#define XSAVE_HEADER_OFFSET 512u
#define XCOMP_X87 0u
#define XCOMP_SSE 1u
#define MXCSR_DEFAULT_MASK 0xFFBFu

struct xframe {
    uint8_t *fx;        /* the FXSAVE image, NULL if none */
    int xsave;          /* an XSAVE area follows */
    uint64_t xfeatures; /* components the kernel saved */
    uint32_t xstate_size;
};

static void xframe_of(const ucontext_t *uc, struct xframe *x)
{
    uint32_t magic1, magic2, size;
    uint64_t features;

    memset(x, 0, sizeof(*x));
    x->fx = (uint8_t *)uc->uc_mcontext.fpregs;
    if (!x->fx)
        return;
    memcpy(&magic1, x->fx + FPX_SW_OFFSET, 4);
    memcpy(&features, x->fx + FPX_SW_OFFSET + 8, 8);
    memcpy(&size, x->fx + FPX_SW_OFFSET + 16, 4);
    if (magic1 != FP_XSTATE_MAGIC1 || size < XSAVE_HEADER_OFFSET + 64)
        return;
    memcpy(&magic2, x->fx + size, 4);
    if (magic2 != FP_XSTATE_MAGIC2)
        return;
    x->xsave = 1;
    x->xfeatures = features;
    x->xstate_size = size;
}

static uint64_t xstate_bv(const struct xframe *x)
{
    uint64_t bv;
    memcpy(&bv, x->fx + XSAVE_HEADER_OFFSET, 8);
    return bv;
}

/* Marks component `i` as holding what its area says; returns whether the
 * bit was clear. */
static int xstate_mark(const struct xframe *x, unsigned i)
{
    uint64_t bv;
    if (!x->xsave)
        return 0;
    bv = xstate_bv(x);
    if (bv & (1ull << i))
        return 0;
    bv |= 1ull << i;
    memcpy(x->fx + XSAVE_HEADER_OFFSET, &bv, 8);
    return 1;
}

/* x87 physical register i (MMi) is ST((i - TOP) mod 8), and FXSAVE keeps
 * the registers in ST order. */
static unsigned mmx_slot(const struct _libc_fpstate *fp, unsigned i)
{
    unsigned top = (fp->swd >> 11) & 7u;
    return (i - top) & 7u;
}

static uint32_t mxcsr_mask(const struct _libc_fpstate *fp)
{
    return fp->mxcr_mask ? fp->mxcr_mask : MXCSR_DEFAULT_MASK;
}

static int is_vector_register(uint32_t name)
{
    return name >= WHvX64RegisterXmm0 &&
           name <= WHvX64RegisterXmmControlStatus;
}

/* Reads one of Xmm0-15, FpMmx0-7, FpControlStatus, XmmControlStatus.
 * Returns 0, or -1 when the frame has no FXSAVE image. */
static int vector_get(const ucontext_t *uc, uint32_t name,
                      WHV_REGISTER_VALUE *v)
{
    const struct _libc_fpstate *fp = uc->uc_mcontext.fpregs;
    if (!fp)
        return -1;
    if (name <= WHvX64RegisterXmm15) {
        memcpy(&v->Reg128, &fp->_xmm[name - WHvX64RegisterXmm0], 16);
    } else if (name <= WHvX64RegisterFpMmx7) {
        const struct _libc_fpxreg *r =
            &fp->_st[mmx_slot(fp, name - WHvX64RegisterFpMmx0)];
        uint64_t mant;
        memcpy(&mant, r->significand, 8);
        v->Fp.Mantissa = mant;
        v->Fp.BiasedExponent = r->exponent & 0x7FFFu;
        v->Fp.Sign = (r->exponent >> 15) & 1u;
    } else if (name == WHvX64RegisterFpControlStatus) {
        v->FpControlStatus.FpControl = fp->cwd;
        v->FpControlStatus.FpStatus = fp->swd;
        v->FpControlStatus.FpTag = (UINT8)fp->ftw; /* abridged, physical */
        v->FpControlStatus.LastFpOp = fp->fop;
        v->FpControlStatus.LastFpRip = fp->rip;
    } else {
        v->XmmControlStatus.LastFpRdp = fp->rdp;
        v->XmmControlStatus.XmmStatusControl = fp->mxcsr;
        v->XmmControlStatus.XmmStatusControlMask = mxcsr_mask(fp);
    }
    return 0;
}

/* Checks a write before anything is changed: the frame must exist, and
 * MXCSR must not get bits the CPU does not have (sigreturn would refuse
 * the frame). Returns 0 or -1. */
static int vector_check(const ucontext_t *uc, uint32_t name,
                        const WHV_REGISTER_VALUE *v)
{
    const struct _libc_fpstate *fp = uc->uc_mcontext.fpregs;
    if (!fp)
        return -1;
    if (name == WHvX64RegisterXmmControlStatus &&
        (v->XmmControlStatus.XmmStatusControl & ~mxcsr_mask(fp)))
        return -1;
    return 0;
}

static void vector_set(struct sandbox *sb, ucontext_t *uc, uint32_t name,
                       const WHV_REGISTER_VALUE *v)
{
    struct _libc_fpstate *fp = uc->uc_mcontext.fpregs;
    struct xframe x;
    unsigned comp = XCOMP_SSE;

    xframe_of(uc, &x);
    if (name <= WHvX64RegisterXmm15) {
        memcpy(&fp->_xmm[name - WHvX64RegisterXmm0], &v->Reg128, 16);
    } else if (name <= WHvX64RegisterFpMmx7) {
        struct _libc_fpxreg *r =
            &fp->_st[mmx_slot(fp, name - WHvX64RegisterFpMmx0)];
        uint64_t mant = v->Fp.Mantissa;
        memcpy(r->significand, &mant, 8);
        r->exponent = (unsigned short)(v->Fp.BiasedExponent |
                                       ((unsigned)v->Fp.Sign << 15));
        comp = XCOMP_X87;
    } else if (name == WHvX64RegisterFpControlStatus) {
        fp->cwd = v->FpControlStatus.FpControl;
        fp->swd = v->FpControlStatus.FpStatus;
        fp->ftw = v->FpControlStatus.FpTag;
        fp->fop = v->FpControlStatus.LastFpOp;
        fp->rip = v->FpControlStatus.LastFpRip;
        comp = XCOMP_X87;
    } else {
        fp->rdp = v->XmmControlStatus.LastFpRdp;
        fp->mxcsr = v->XmmControlStatus.XmmStatusControl;
    }
    if (xstate_mark(&x, comp))
        sb->st.xstate_bits_set++;
}

/* ---- callbacks ------------------------------------------------------------ */

static HRESULT CALLBACK cb_io_port(VOID *context,
                                   WHV_EMULATOR_IO_ACCESS_INFO *io)
{
    struct exit_call *c = context;
    struct sandbox *sb = c->sb;
    int write = io->Direction != 0;
    uint32_t v;

    sb->st.io_calls++;
    if (!c->io_exit || !sb->ports) {
        note_bad(c, "I/O port callback called on a memory exit, for port",
                 io->Port);
        return E_FAIL;
    }
    if (io->AccessSize != 1 && io->AccessSize != 2 && io->AccessSize != 4) {
        note_bad(c, "I/O port callback with a bad AccessSize:", io->AccessSize);
        return E_INVALIDARG;
    }
    if (io->Port != c->io_port || write != c->io_write) {
        note_bad(c, "I/O port callback for another port or direction than "
                    "the exit named:", io->Port);
        return E_FAIL;
    }
    c->io_accesses++;
    v = write ? io->Data : 0;
    ports_access(sb->ports, io->Port, io->AccessSize, write, &v);
    if (!write)
        io->Data = v;
    return S_OK;
}

static int in_window(const struct sandbox *sb, uint64_t a)
{
    return a >= (uint64_t)(uintptr_t)sb->window &&
           a - (uint64_t)(uintptr_t)sb->window < sb->window_size;
}

static int in_device_gpa(const struct sandbox *sb, uint64_t a)
{
    return a >= sb->device_gpa && a - sb->device_gpa < sb->window_size;
}

static HRESULT CALLBACK cb_memory(VOID *context,
                                  WHV_EMULATOR_MEMORY_ACCESS_INFO *m)
{
    struct exit_call *c = context;
    struct sandbox *sb = c->sb;
    uint64_t gpa = m->GpaAddress;
    unsigned n = m->AccessSize;
    int write = m->Direction != 0;

    if (n < 1 || n > 8 || (gpa & (PAGE - 1)) + n > PAGE) {
        note_bad(c, "memory access of bad size or crossing a page at GPA",
                 gpa);
        return E_INVALIDARG;
    }
    if (in_device_gpa(sb, gpa)) {
        sb->st.mem_device++;
        if (write)
            c->dev_writes++;
        else
            c->dev_reads++;
        if (sb->dev) {
            device_access(sb->dev, (uint32_t)(gpa - sb->device_gpa), n, write,
                          m->Data);
        } else {
            uint8_t *p = sb->ram + (gpa - sb->device_gpa);
            if (gpa - sb->device_gpa + n > sb->window_size) {
                note_bad(c, "memory access runs past the window at GPA", gpa);
                return E_INVALIDARG;
            }
            if (write)
                memcpy(p, m->Data, n);
            else
                memcpy(m->Data, p, n);
        }
        return S_OK;
    }
    /* Host memory, identity mapped. The window's own host addresses and
     * the first page are not RAM in this guest-physical view. */
    if (in_window(sb, gpa) || gpa < PAGE || gpa >= (1ull << 47)) {
        note_bad(c, "memory callback for a GPA that is no RAM:", gpa);
        return E_FAIL;
    }
    if (write) {
        sb->st.mem_ram_write++;
        c->ram_data++;
        memcpy((void *)(uintptr_t)gpa, m->Data, n);
    } else {
        if (gpa >= c->rip && gpa + n <= c->rip + 16) {
            sb->st.mem_ram_fetch++;
            c->ram_fetch++;
        } else {
            sb->st.mem_ram_read++;
            c->ram_data++;
        }
        memcpy(m->Data, (const void *)(uintptr_t)gpa, n);
    }
    return S_OK;
}

static HRESULT CALLBACK cb_get_registers(VOID *context,
                                         const WHV_REGISTER_NAME *names,
                                         UINT32 count,
                                         WHV_REGISTER_VALUE *values)
{
    struct exit_call *c = context;
    struct sandbox *sb = c->sb;
    const greg_t *g = c->uc->uc_mcontext.gregs;
    HRESULT hr = S_OK;

    sb->st.get_calls++;
    sb->st.get_values += count;
    for (UINT32 i = 0; i < count; i++) {
        uint32_t name = (uint32_t)names[i];
        WHV_REGISTER_VALUE *v = &values[i];

        count_name(sb->st.got, &sb->st.n_got, name);
        memset(v, 0, sizeof(*v));
        if (name <= WHvX64RegisterR15) {
            v->Reg64 = (uint64_t)g[gpr_slot[name]];
            continue;
        }
        if (segment_value(c, name, &v->Segment) == 0)
            continue;
        if (is_vector_register(name)) {
            if (vector_get(c->uc, name, v) != 0) {
                note_bad_register(c, "get-registers: the signal frame has no "
                                     "FXSAVE image for", name);
                hr = E_FAIL;
            }
            continue;
        }
        switch (names[i]) {
        case WHvX64RegisterRip:
            v->Reg64 = (uint64_t)g[REG_RIP];
            break;
        case WHvX64RegisterRflags:
            v->Reg64 = (uint64_t)g[REG_EFL];
            break;
        case WHvX64RegisterGdtr:
            v->Table.Base = FAKE_GDT_BASE;
            v->Table.Limit = 0x7F;
            break;
        case WHvX64RegisterIdtr:
            v->Table.Base = FAKE_IDT_BASE;
            v->Table.Limit = 0xFFF;
            break;
        case WHvX64RegisterCr0:
            v->Reg64 = FAKE_CR0;
            break;
        case WHvX64RegisterCr2:
            v->Reg64 = c->cr2;
            break;
        case WHvX64RegisterCr3:
        case WHvX64RegisterCr8:
        case WHvX64RegisterDr0:
        case WHvX64RegisterDr1:
        case WHvX64RegisterDr2:
        case WHvX64RegisterDr3:
        case WHvX64RegisterKernelGsBase:
            v->Reg64 = 0;
            break;
        case WHvX64RegisterCr4:
            v->Reg64 = sandbox_cr4();
            break;
        case WHvX64RegisterDr6:
            v->Reg64 = 0xFFFF0FF0ull;
            break;
        case WHvX64RegisterDr7:
            v->Reg64 = 0x400;
            break;
        case WHvX64RegisterXCr0:
            v->Reg64 = sandbox_xcr0();
            break;
        case WHvX64RegisterEfer:
            v->Reg64 = FAKE_EFER;
            break;
        case WHvX64RegisterApicBase:
            v->Reg64 = 0xFEE00900ull;
            break;
        case WHvRegisterPendingInterruption:
        case WHvRegisterInterruptState:
        case WHvRegisterPendingEvent:
        case WHvX64RegisterDeliverabilityNotifications:
        case WHvRegisterInternalActivityState:
        case WHvX64RegisterPendingDebugException:
            break; /* nothing pending, no shadow: all zero */
        default:
            note_bad_register(c, "get-registers asked for an unsupported register",
                     name);
            hr = E_FAIL;
            break;
        }
    }
    return hr;
}

static int same_segment(const WHV_X64_SEGMENT_REGISTER *a,
                        const WHV_X64_SEGMENT_REGISTER *b)
{
    return a->Base == b->Base && a->Selector == b->Selector;
}

static HRESULT CALLBACK cb_set_registers(VOID *context,
                                         const WHV_REGISTER_NAME *names,
                                         UINT32 count,
                                         const WHV_REGISTER_VALUE *values)
{
    struct exit_call *c = context;
    struct sandbox *sb = c->sb;
    greg_t *g = c->uc->uc_mcontext.gregs;
    WHV_X64_SEGMENT_REGISTER seg;

    sb->st.set_calls++;
    sb->st.set_values += count;

    /* Check everything first so that a refused batch changes nothing. */
    for (UINT32 i = 0; i < count; i++) {
        uint32_t name = (uint32_t)names[i];
        count_name(sb->st.set, &sb->st.n_set, name);
        if (name <= WHvX64RegisterRflags)
            continue;
        if (segment_value(c, name, &seg) == 0) {
            if (!same_segment(&seg, &values[i].Segment)) {
                note_bad_register(c, "set-registers changes a segment register", name);
                return E_FAIL;
            }
            continue;
        }
        if (is_vector_register(name)) {
            if (vector_check(c->uc, name, &values[i]) != 0) {
                note_bad_register(c, "set-registers: no FXSAVE image, or "
                                     "MXCSR bits the CPU lacks, for", name);
                return E_FAIL;
            }
            continue;
        }
        switch (names[i]) {
        case WHvX64RegisterCr2:
        case WHvRegisterPendingInterruption:
        case WHvRegisterPendingEvent:
        case WHvRegisterInterruptState:
            break;
        default:
            note_bad_register(c, "set-registers writes an unsupported register", name);
            return E_FAIL;
        }
    }

    for (UINT32 i = 0; i < count; i++) {
        uint32_t name = (uint32_t)names[i];
        const WHV_REGISTER_VALUE *v = &values[i];
        if (name <= WHvX64RegisterR15) {
            g[gpr_slot[name]] = (greg_t)v->Reg64;
            continue;
        }
        if (is_vector_register(name)) {
            vector_set(sb, c->uc, name, v);
            continue;
        }
        switch (names[i]) {
        case WHvX64RegisterRip:
            g[REG_RIP] = (greg_t)v->Reg64;
            break;
        case WHvX64RegisterRflags:
            g[REG_EFL] = (greg_t)v->Reg64;
            break;
        case WHvX64RegisterCr2:
            c->cr2 = v->Reg64;
            break;
        case WHvRegisterPendingInterruption:
            if (v->PendingInterruption.InterruptionPending) {
                c->injected = 1;
                c->inj_name = name;
                c->inj_low = v->Reg64;
                c->inj_high = 0;
            }
            break;
        case WHvRegisterPendingEvent:
            if (v->Reg128.Low64 & 1) {
                c->injected = 1;
                c->inj_name = name;
                c->inj_low = v->Reg128.Low64;
                c->inj_high = v->Reg128.High64;
            }
            break;
        default:
            break; /* unchanged segments, interrupt state */
        }
    }
    return S_OK;
}

static HRESULT CALLBACK cb_translate(VOID *context,
                                     WHV_GUEST_VIRTUAL_ADDRESS gva,
                                     WHV_TRANSLATE_GVA_FLAGS flags,
                                     WHV_TRANSLATE_GVA_RESULT_CODE *result,
                                     WHV_GUEST_PHYSICAL_ADDRESS *gpa)
{
    struct exit_call *c = context;
    struct sandbox *sb = c->sb;
    uint64_t page = gva & ~(PAGE - 1);

    sb->st.translate_calls++;
    sb->st.translate_flags |= (uint32_t)flags;
    if (gva & (PAGE - 1))
        note_bad(c, "translate callback got an unaligned GVA", gva);

    if (in_window(sb, page)) {
        /* What the platform reports for an MMIO page: the walk succeeded,
         * but no memory backs the GPA. */
        *gpa = sb->device_gpa + (page - (uint64_t)(uintptr_t)sb->window);
        *result = WHvTranslateGvaResultGpaUnmapped;
    } else if (page == 0 || page >= (1ull << 47)) {
        /* Nothing user-accessible is mapped there. */
        *gpa = 0;
        *result = page >= (1ull << 47) ? WHvTranslateGvaResultPrivilegeViolation
                                       : WHvTranslateGvaResultPageNotPresent;
    } else if (in_device_gpa(sb, page)) {
        note_bad(c, "host page collides with the device GPA range", page);
        return E_FAIL;
    } else {
        *gpa = page;
        *result = WHvTranslateGvaResultSuccess;
    }
    return S_OK;
}

/* The extended-state callback (whvemu.h): YMM_Hi128, and the AVX-512
 * components where the CPU and the kernel have them, straight from the
 * XSAVE area of the signal frame. */
static HRESULT CALLBACK cb_xstate(VOID *context, UINT32 component, BOOL write,
                                  VOID *buffer, UINT32 size)
{
    struct exit_call *c = context;
    struct sandbox *sb = c->sb;
    struct xframe x;
    uint64_t bit = 1ull << (component & 63u);

    if (write)
        sb->st.xstate_writes++;
    else
        sb->st.xstate_reads++;
    host_init();
    if (component != XCOMP_YMM_HI128 && component != XCOMP_OPMASK &&
        component != XCOMP_ZMM_HI256 && component != XCOMP_HI16_ZMM) {
        note_bad(c, "xstate callback for a component it does not serve:",
                 component);
        return E_INVALIDARG;
    }
    if (!buffer || host.size[component] == 0 ||
        size != host.size[component]) {
        note_bad(c, "xstate callback with a size the CPU does not give "
                    "the component; size", size);
        return E_INVALIDARG;
    }
    xframe_of(c->uc, &x);
    if (!x.xsave || !(x.xfeatures & bit) ||
        host.offset[component] + size > x.xstate_size) {
        note_bad(c, "xstate callback: the signal frame does not hold "
                    "component", component);
        return E_FAIL;
    }
    if (write) {
        memcpy(x.fx + host.offset[component], buffer, size);
        if (xstate_mark(&x, component))
            sb->st.xstate_bits_set++;
    } else if (xstate_bv(&x) & bit) {
        memcpy(buffer, x.fx + host.offset[component], size);
    } else {
        memset(buffer, 0, size); /* init state */
    }
    return S_OK;
}

static const WHV_EMULATOR_CALLBACKS sandbox_cb = {
    .Size = sizeof(WHV_EMULATOR_CALLBACKS),
    .Reserved = 0,
    .WHvEmulatorIoPortCallback = cb_io_port,
    .WHvEmulatorMemoryCallback = cb_memory,
    .WHvEmulatorGetVirtualProcessorRegisters = cb_get_registers,
    .WHvEmulatorSetVirtualProcessorRegisters = cb_set_registers,
    .WHvEmulatorTranslateGvaPage = cb_translate,
};

const WHV_EMULATOR_CALLBACKS *sandbox_callbacks(void)
{
    return &sandbox_cb;
}

WHVEMU_XSTATE_CALLBACK sandbox_xstate_callback(void)
{
    return cb_xstate;
}

/* ---- the signal handler ----------------------------------------------- */

static void out_status(struct out *o, WHV_EMULATOR_STATUS st)
{
    static const char *const bits[] = {
        "EmulationSuccessful",
        "InternalEmulationFailure",
        "IoPortCallbackFailed",
        "MemoryCallbackFailed",
        "TranslateGvaPageCallbackFailed",
        "TranslateGvaPageCallbackGpaIsNotAligned",
        "GetVirtualProcessorRegistersCallbackFailed",
        "SetVirtualProcessorRegistersCallbackFailed",
        "InterruptCausedIntercept",
        "GuestCannotBeFaulted",
    };
    out_hex(o, st.AsUINT32, 1);
    out_str(o, " (");
    int first = 1;
    for (unsigned b = 0; b < 32; b++) {
        if (!(st.AsUINT32 & (1u << b)))
            continue;
        if (!first)
            out_str(o, " | ");
        first = 0;
        if (b < sizeof(bits) / sizeof(bits[0]))
            out_str(o, bits[b]);
        else
            out_str(o, "reserved bit");
    }
    out_str(o, ")");
}

/* Copies up to 16 instruction bytes at `rip`, not crossing into the next
 * page (which might not be mapped). Returns the count. */
static unsigned copy_insn_bytes(uint64_t rip, uint8_t *dst)
{
    uint64_t room = PAGE - (rip & (PAGE - 1));
    unsigned n = room < 16 ? (unsigned)room : 16;
    const uint8_t *src = (const uint8_t *)(uintptr_t)rip;
    for (unsigned i = 0; i < n; i++)
        dst[i] = src[i];
    return n;
}

static void out_machine_state(struct out *o, const ucontext_t *uc)
{
    static const char *const names[16] = {
        "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
        "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15",
    };
    const greg_t *g = uc->uc_mcontext.gregs;
    uint8_t bytes[16];
    unsigned n = copy_insn_bytes((uint64_t)g[REG_RIP], bytes);

    out_str(o, "  rip ");
    out_hex(o, (uint64_t)g[REG_RIP], 16);
    out_str(o, "  bytes");
    for (unsigned i = 0; i < n; i++) {
        static const char hexd[] = "0123456789abcdef";
        char t[4] = {' ', hexd[bytes[i] >> 4], hexd[bytes[i] & 15], 0};
        out_str(o, t);
    }
    out_str(o, "\n  rflags ");
    out_hex(o, (uint64_t)g[REG_EFL], 8);
    for (int i = 0; i < 16; i++) {
        out_str(o, (i % 4) ? "  " : "\n  ");
        out_str(o, names[i]);
        out_str(o, i < 8 ? "  " : (i < 10 ? "   " : "  "));
        out_hex(o, (uint64_t)g[gpr_slot[i]], 16);
    }
    out_str(o, "\n");
}

/* What the exit described: exactly one of `mc` and `ioc` is set. */
static void fatal_report(struct sandbox *sb, const struct exit_call *c,
                         const WHV_VP_EXIT_CONTEXT *vp,
                         const WHV_MEMORY_ACCESS_CONTEXT *mc,
                         const WHV_X64_IO_PORT_ACCESS_CONTEXT *ioc,
                         HRESULT hr, WHV_EMULATOR_STATUS st)
{
    struct out o = {.n = 0};
    const char *why = whvemu_last_failure(sb->emu);

    out_str(&o, mc ? "\nwhvemu-demo: emulation #"
                   : "\nwhvemu-demo: port I/O emulation #");
    out_dec(&o, mc ? sb->st.emulations : sb->st.io_emulations);
    out_str(&o, " failed: ");
    if (hr != S_OK) {
        out_str(&o, mc ? "WHvEmulatorTryMmioEmulation returned "
                       : "WHvEmulatorTryIoEmulation returned ");
        out_hex(&o, (uint32_t)hr, 8);
    } else if (!st.EmulationSuccessful) {
        out_str(&o, "status ");
        out_status(&o, st);
    } else if (c->injected) {
        /* Both layouts keep the vector in bits 31:16 and the error code in
         * bits 63:32; the flag saying it is valid differs. */
        int has_code = c->inj_name == WHvRegisterPendingEvent
                           ? (int)((c->inj_low >> 8) & 1)
                           : (int)((c->inj_low >> 4) & 1);
        out_str(&o, "the emulator injected exception vector ");
        out_dec(&o, (c->inj_low >> 16) & 0xFFFF);
        if (has_code) {
            out_str(&o, " with error code ");
            out_hex(&o, c->inj_low >> 32, 1);
        }
        out_str(&o, " (");
        out_regname(&o, c->inj_name);
        out_str(&o, " = ");
        if (c->inj_name == WHvRegisterPendingEvent) {
            out_hex(&o, c->inj_high, 16);
            out_str(&o, ":");
        }
        out_hex(&o, c->inj_low, 16);
        out_str(&o, ")");
    } else {
        out_str(&o, "a callback saw a problem");
    }
    out_str(&o, "\n  whvemu_last_failure: \"");
    out_str(&o, why ? why : "(null)");
    out_str(&o, "\"\n  access: ");
    if (mc) {
        out_str(&o, mc->AccessInfo.AccessType == WHvMemoryAccessWrite
                        ? "write"
                        : "read");
        out_str(&o, " gva ");
        out_hex(&o, mc->Gva, 1);
        out_str(&o, " gpa ");
        out_hex(&o, mc->Gpa, 1);
        out_str(&o, ", instruction bytes supplied: ");
        out_dec(&o, mc->InstructionByteCount);
    } else {
        out_str(&o, ioc->AccessInfo.IsWrite ? "port write " : "port read ");
        out_hex(&o, ioc->PortNumber, 4);
        out_str(&o, ", ");
        out_dec(&o, ioc->AccessInfo.AccessSize);
        out_str(&o, " byte(s)");
        if (ioc->AccessInfo.StringOp)
            out_str(&o, ioc->AccessInfo.RepPrefix ? ", REP string"
                                                  : ", string");
        out_str(&o, ", rax ");
        out_hex(&o, ioc->Rax, 1);
        out_str(&o, " rcx ");
        out_hex(&o, ioc->Rcx, 1);
        out_str(&o, " rsi ");
        out_hex(&o, ioc->Rsi, 1);
        out_str(&o, " rdi ");
        out_hex(&o, ioc->Rdi, 1);
        out_str(&o, "\n  instruction bytes supplied: ");
        out_dec(&o, ioc->InstructionByteCount);
        out_str(&o, ", InstructionLength ");
        out_dec(&o, vp->InstructionLength);
        out_str(&o, ", port callbacks made: ");
        out_dec(&o, c->io_accesses);
    }
    out_str(&o, "\n");
    for (unsigned i = 0; i < c->n_bad && i < MAX_BAD; i++) {
        out_str(&o, "  callback: ");
        out_str(&o, c->bad[i].what);
        out_str(&o, " ");
        if (c->bad[i].is_register) {
            out_regname(&o, (uint32_t)c->bad[i].value);
            out_str(&o, " (");
            out_hex(&o, c->bad[i].value, 1);
            out_str(&o, ")");
        } else {
            out_hex(&o, c->bad[i].value, 1);
        }
        out_str(&o, "\n");
    }
    out_str(&o, "  device accesses in this emulation: ");
    out_dec(&o, c->dev_reads);
    out_str(&o, " reads, ");
    out_dec(&o, c->dev_writes);
    out_str(&o, " writes\n  register state at the fault (after a failed "
                "call it is unchanged):\n");
    out_machine_state(&o, c->uc);
    out_flush(&o);
}

/* A fault that is not ours, or one inside the emulation: put the previous
 * disposition back and return, so the instruction faults again and the
 * process dies the ordinary way (or the sanitizer reports it). */
static void foreign_fault(struct sandbox *sb, const siginfo_t *si,
                          const ucontext_t *uc)
{
    if (sb && sb->in_emulation) {
        struct out o = {.n = 0};
        out_str(&o, "\nwhvemu-demo: fault at ");
        out_hex(&o, (uint64_t)(uintptr_t)si->si_addr, 1);
        out_str(&o, " during emulation #");
        out_dec(&o, sb->st.emulations);
        out_str(&o, " (a callback touched memory it should not have)\n");
        out_machine_state(&o, uc);
        out_flush(&o);
    } else if (sb && sb->stepping) {
        struct out o = {.n = 0};
        out_str(&o, "\nwhvemu-demo: fault at ");
        out_hex(&o, (uint64_t)(uintptr_t)si->si_addr, 1);
        out_str(&o, " while a refused instruction ran natively (it touched "
                    "a third window page)\n");
        out_machine_state(&o, uc);
        out_flush(&o);
    }
    sigaction(SIGSEGV, &previous_segv, NULL);
}

/* The exit context common to both kinds of exit: 64-bit user mode. */
static void fill_vp_context(WHV_VP_EXIT_CONTEXT *vp, const ucontext_t *uc)
{
    const greg_t *g = uc->uc_mcontext.gregs;

    memset(vp, 0, sizeof(*vp));
    vp->ExecutionState.Cpl = 3;
    vp->ExecutionState.Cr0Pe = 1;
    vp->ExecutionState.Cr0Am = 1; /* Linux sets CR0.AM; RFLAGS.AC decides */
    vp->ExecutionState.EferLma = 1;
    vp->InstructionLength = 0;
    vp->Cs = flat_segment(saved_cs(uc), 1, 0);
    vp->Rip = (uint64_t)g[REG_RIP];
    vp->Rflags = (uint64_t)g[REG_EFL];
}

/* Whether the `n`-th exit of its kind carries the instruction bytes. */
static int exit_has_bytes(const struct sandbox *sb, uint64_t n)
{
    switch (sb->bytes_mode) {
    case SANDBOX_BYTES_NONE:
        return 0;
    case SANDBOX_BYTES_ALL:
        return 1;
    case SANDBOX_BYTES_ALTERNATE:
    default:
        return (n & 1) == 0;
    }
}

/* A successful call may leave RIP in place (a long REP instruction
 * continued by the next fault), but not forever. */
static void check_progress(struct sandbox *sb, struct exit_call *c,
                           const greg_t *g)
{
    if ((uint64_t)g[REG_RIP] == c->rip) {
        if (++sb->same_rip > SAME_RIP_LIMIT)
            note_bad(c, "no progress: RIP unchanged after this many calls:",
                     sb->same_rip);
    } else {
        sb->same_rip = 0;
    }
}

/* ---- port I/O exits ------------------------------------------------------ */

/* A port I/O instruction as the processor reports it in a port-access
 * exit. */
struct io_insn {
    unsigned len;  /* instruction length */
    unsigned size; /* 1, 2 or 4 bytes per access */
    int write, string, rep, imm;
    uint8_t imm_port;
    enum sandbox_io_form form;
};

/* Decodes the instruction at `rip` if it is IN, OUT, INS or OUTS. This is
 * the part the hardware plays: it only reads bytes the processor fetched
 * to raise the #GP (the prefixes, the opcode and an imm8 port), so it
 * cannot fault. Returns 0, or -1 for any other instruction. */
static int decode_io(uint64_t rip, struct io_insn *d)
{
    const uint8_t *p = (const uint8_t *)(uintptr_t)rip;
    int opsize16 = 0, rex_w = 0, rep = 0;
    unsigned i;
    uint8_t op;

    memset(d, 0, sizeof(*d));
    for (i = 0;; i++) {
        uint8_t b;
        if (i >= 15)
            return -1;
        b = p[i];
        if (b == 0x66) {
            opsize16 = 1;
        } else if (b == 0xF2 || b == 0xF3) {
            rep = 1;
        } else if (b == 0x67 || b == 0x26 || b == 0x2E || b == 0x36 ||
                   b == 0x3E || b == 0x64 || b == 0x65) {
            /* address size, segment overrides: the emulator reads them
             * from the instruction bytes */
        } else if ((b & 0xF0) == 0x40) {
            rex_w = (b >> 3) & 1; /* REX: only W matters here */
            continue;
        } else {
            break; /* the opcode (LOCK included: not an I/O form) */
        }
        rex_w = 0; /* a REX followed by a legacy prefix is ignored */
    }
    op = p[i];
    d->len = i + 1;
    /* The wide forms are 16-bit with 66 and 32-bit otherwise; REX.W
     * cannot make them 64-bit, it only cancels 66. */
    d->size = (op & 1) ? ((opsize16 && !rex_w) ? 2 : 4) : 1;
    switch (op & 0xFE) {
    case 0xE4: /* IN eAX, imm8 */
    case 0xE6: /* OUT imm8, eAX */
        d->write = op >= 0xE6;
        d->imm = 1;
        d->imm_port = p[i + 1];
        d->len++;
        d->form = d->write ? SANDBOX_IO_OUT_IMM : SANDBOX_IO_IN_IMM;
        break;
    case 0xEC: /* IN eAX, DX */
    case 0xEE: /* OUT DX, eAX */
        d->write = op >= 0xEE;
        d->form = d->write ? SANDBOX_IO_OUT_DX : SANDBOX_IO_IN_DX;
        break;
    case 0x6C: /* INS */
    case 0x6E: /* OUTS */
        d->write = op >= 0x6E;
        d->string = 1;
        d->rep = rep;
        if (d->write)
            d->form = rep ? SANDBOX_IO_REP_OUTS : SANDBOX_IO_OUTS;
        else
            d->form = rep ? SANDBOX_IO_REP_INS : SANDBOX_IO_INS;
        break;
    default:
        return -1;
    }
    return d->len <= 15 ? 0 : -1;
}

/* Completes one port I/O instruction that raised #GP. */
static void io_exit(struct sandbox *sb, ucontext_t *uc,
                    const struct io_insn *d)
{
    greg_t *g = uc->uc_mcontext.gregs;
    uint64_t n = sb->st.io_emulations;
    int with_bytes = exit_has_bytes(sb, n);
    int with_length = (n & 2) == 0;
    WHV_VP_EXIT_CONTEXT vp;
    WHV_X64_IO_PORT_ACCESS_CONTEXT ioc;
    WHV_EMULATOR_STATUS st;
    struct exit_call call;
    HRESULT hr;

    fill_vp_context(&vp, uc);
    /* The processor knows the length of an intercepted I/O instruction;
     * give it on half of the exits to exercise both paths. */
    vp.InstructionLength = with_length ? (UINT8)d->len : 0;

    memset(&ioc, 0, sizeof(ioc));
    if (with_bytes)
        ioc.InstructionByteCount =
            (UINT8)copy_insn_bytes(vp.Rip, ioc.InstructionBytes);
    ioc.AccessInfo.IsWrite = (UINT32)d->write;
    ioc.AccessInfo.AccessSize = d->size;
    ioc.AccessInfo.StringOp = (UINT32)d->string;
    ioc.AccessInfo.RepPrefix = (UINT32)(d->string && d->rep);
    ioc.PortNumber = d->imm ? d->imm_port : (UINT16)g[REG_RDX];
    ioc.Rax = (uint64_t)g[REG_RAX];
    ioc.Rcx = (uint64_t)g[REG_RCX];
    ioc.Rsi = (uint64_t)g[REG_RSI];
    ioc.Rdi = (uint64_t)g[REG_RDI];
    ioc.Ds = flat_segment(sb->ds_sel, 0, 0);
    ioc.Es = flat_segment(sb->es_sel, 0, 0);

    memset(&call, 0, sizeof(call));
    call.sb = sb;
    call.uc = uc;
    call.rip = vp.Rip;
    call.io_exit = 1;
    call.io_port = ioc.PortNumber;
    call.io_write = d->write;

    st.AsUINT32 = 0;
    sb->in_emulation = 1;
    hr = WHvEmulatorTryIoEmulation(sb->emu, &call, &vp, &ioc, &st);
    sb->in_emulation = 0;

    check_progress(sb, &call, g);
    if ((uint64_t)g[REG_RIP] != vp.Rip &&
        (uint64_t)g[REG_RIP] != vp.Rip + d->len)
        note_bad(&call, "RIP did not move past the instruction; it is now",
                 (uint64_t)g[REG_RIP]);
    if (!d->string && hr == S_OK && st.EmulationSuccessful &&
        call.io_accesses != 1)
        note_bad(&call, "plain IN/OUT made this many port accesses:",
                 call.io_accesses);
    if (hr != S_OK || !st.EmulationSuccessful || call.injected ||
        call.n_bad) {
        fatal_report(sb, &call, &vp, NULL, &ioc, hr, st);
        abort();
    }

    sb->st.io_emulations++;
    sb->st.io_form[d->form][d->size == 4 ? 2 : d->size == 2 ? 1 : 0]++;
    if (with_bytes)
        sb->st.io_with_bytes++;
    else
        sb->st.io_without_bytes++;
    if (with_length)
        sb->st.io_with_length++;
    else
        sb->st.io_without_length++;
}

/* ---- failures a test recovers from -------------------------------------- */

static void record_failure(struct sandbox *sb, const struct exit_call *c,
                           const WHV_MEMORY_ACCESS_CONTEXT *mc, HRESULT hr,
                           WHV_EMULATOR_STATUS st)
{
    struct sandbox_failure *f = &sb->failure;
    const char *why = whvemu_last_failure(sb->emu);

    memset(f, 0, sizeof(*f));
    f->rip = c->rip;
    f->n_bytes = copy_insn_bytes(c->rip, f->bytes);
    f->gva = mc->Gva;
    f->write = mc->AccessInfo.AccessType == WHvMemoryAccessWrite;
    f->hr = hr;
    f->status = st.AsUINT32;
    f->why = why ? why : "";
    f->injected = c->injected;
    f->injected_event = c->inj_low;
    if (c->n_bad) {
        f->problem = c->bad[0].what;
        f->problem_value = c->bad[0].value;
    }
    f->refused = hr == S_OK && st.InternalEmulationFailure &&
                 (st.AsUINT32 & ~2u) == 0 && !c->injected && !c->n_bad;
}

static void die(const char *msg)
{
    struct out o = {.n = 0};
    out_str(&o, "\nwhvemu-demo: ");
    out_str(&o, msg);
    out_str(&o, "\n");
    out_flush(&o);
    abort();
}

/* Lets the refused instruction run natively: the faulting page and the
 * next (an access may cross into it) take the backing store's contents and
 * become accessible, and the trap flag stops the thread right after the
 * instruction (on_trap). One memory operand fits in those two pages; if
 * the instruction touched another window page it would fault again and be
 * reported as a fault during stepping. */
static void step_natively(struct sandbox *sb, ucontext_t *uc, uint64_t addr)
{
    size_t off = (size_t)((addr - (uint64_t)(uintptr_t)sb->window) & ~(PAGE - 1));
    size_t len = off + 2 * PAGE <= sb->window_size ? 2 * PAGE : PAGE;

    if (mprotect(sb->window + off, len, PROT_READ | PROT_WRITE) != 0)
        die("mprotect of the window failed while stepping an instruction");
    memcpy(sb->window + off, sb->ram + off, len);
    sb->step_off = off;
    sb->step_len = len;
    sb->stepping = 1;
    uc->uc_mcontext.gregs[REG_EFL] |= 0x100; /* TF */
}

static void on_trap(int sig, siginfo_t *si, void *ucv)
{
    int saved_errno = errno;
    ucontext_t *uc = ucv;
    struct sandbox *sb = tls_sandbox;

    (void)si;
    if (!sb || !sb->stepping) {
        /* Not ours: the previous disposition decides. */
        sigaction(SIGTRAP, &previous_trap, NULL);
        raise(sig);
        errno = saved_errno;
        return;
    }
    memcpy(sb->ram + sb->step_off, sb->window + sb->step_off, sb->step_len);
    if (mprotect(sb->window + sb->step_off, sb->step_len, PROT_NONE) != 0)
        die("mprotect of the window failed after stepping an instruction");
    uc->uc_mcontext.gregs[REG_EFL] &= ~(greg_t)0x100;
    sb->stepping = 0;
    sb->st.stepped++;
    errno = saved_errno;
}

/* ---- the handler ------------------------------------------------------- */

static void on_segv(int sig, siginfo_t *si, void *ucv)
{
    int saved_errno = errno;
    ucontext_t *uc = ucv;
    struct sandbox *sb = tls_sandbox;
    uint64_t addr = (uint64_t)(uintptr_t)si->si_addr;
    greg_t *g = uc->uc_mcontext.gregs;
    WHV_VP_EXIT_CONTEXT vp;
    WHV_MEMORY_ACCESS_CONTEXT mc;
    WHV_EMULATOR_STATUS st;
    struct exit_call call;
    HRESULT hr;
    int with_bytes;
    struct io_insn io;

    (void)sig;
    /* IN/OUT/INS/OUTS without I/O permission: #GP(0), reported as
     * SIGSEGV from the kernel with no address. */
    if (sb && !sb->in_emulation && sb->ports && g[REG_TRAPNO] == GP_VECTOR &&
        si->si_code == SI_KERNEL && addr == 0 &&
        decode_io((uint64_t)g[REG_RIP], &io) == 0) {
        io_exit(sb, uc, &io);
        errno = saved_errno;
        return;
    }
    if (!sb || sb->in_emulation || sb->stepping ||
        g[REG_TRAPNO] != PF_VECTOR || !in_window(sb, addr)) {
        foreign_fault(sb, si, uc);
        errno = saved_errno;
        return;
    }

    fill_vp_context(&vp, uc); /* InstructionLength 0: not known for
                                 memory-access exits */

    memset(&mc, 0, sizeof(mc));
    with_bytes = exit_has_bytes(sb, sb->st.emulations);
    if (with_bytes)
        mc.InstructionByteCount =
            (UINT8)copy_insn_bytes(vp.Rip, mc.InstructionBytes);
    mc.AccessInfo.AccessType = (g[REG_ERR] & PF_ERR_WRITE)
                                   ? WHvMemoryAccessWrite
                                   : WHvMemoryAccessRead;
    mc.AccessInfo.GpaUnmapped = 1;
    mc.AccessInfo.GvaValid = 1;
    mc.Gva = addr;
    mc.Gpa = sb->device_gpa + (addr - (uint64_t)(uintptr_t)sb->window);

    memset(&call, 0, sizeof(call));
    call.sb = sb;
    call.uc = uc;
    call.fault_addr = addr;
    call.rip = vp.Rip;
    call.cr2 = addr;

    if (sb->dev)
        sb->dev->emulation = (uint32_t)sb->st.emulations;
    st.AsUINT32 = 0;
    sb->in_emulation = 1;
    hr = WHvEmulatorTryMmioEmulation(sb->emu, &call, &vp, &mc, &st);
    if (hr == S_OK && st.EmulationSuccessful && !call.injected &&
        !call.n_bad && sb->exit_hook)
        sb->exit_hook(sb, &call, sb->exit_hook_arg);
    sb->in_emulation = 0;

    check_progress(sb, &call, g);
    if (hr != S_OK || !st.EmulationSuccessful || call.injected ||
        call.n_bad) {
        if (sb->recover) {
            record_failure(sb, &call, &mc, hr, st);
            sb->same_rip = 0;
            if (sb->step_refused && sb->failure.refused && !sb->dev) {
                step_natively(sb, uc, addr);
                errno = saved_errno;
                return;
            }
            errno = saved_errno;
            siglongjmp(*sb->recover, 1);
        }
        fatal_report(sb, &call, &vp, &mc, NULL, hr, st);
        abort();
    }

    sb->st.emulations++;
    if (mc.AccessInfo.AccessType == WHvMemoryAccessWrite)
        sb->st.write_faults++;
    else
        sb->st.read_faults++;
    if (with_bytes)
        sb->st.with_bytes++;
    else
        sb->st.without_bytes++;

    {
        unsigned dev = call.dev_reads + call.dev_writes;
        enum sandbox_kind k = SANDBOX_KIND_OTHER;
        if (dev > 2)
            k = SANDBOX_KIND_STRING;
        else if (dev == 1 && call.ram_data > 0)
            k = SANDBOX_KIND_STACK;
        else if (call.ram_data == 0 && call.dev_reads == 1 &&
                 call.dev_writes == 0)
            k = SANDBOX_KIND_LOAD;
        else if (call.ram_data == 0 && call.dev_reads == 0 &&
                 call.dev_writes == 1)
            k = SANDBOX_KIND_STORE;
        else if (call.ram_data == 0 && call.dev_reads == 1 &&
                 call.dev_writes == 1)
            k = SANDBOX_KIND_RMW;
        sb->st.kind[k]++;
    }
    errno = saved_errno;
}

/* ---- setup ------------------------------------------------------------ */

static void install_trap_handler(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_trap;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTRAP, &sa, &previous_trap);
}

int sandbox_install_handler(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_segv;
    /* SA_NODEFER: a fault inside the emulation (a wrong address reaching
     * a callback) re-enters the handler, which reports it instead of the
     * kernel killing the process silently. */
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    return sigaction(SIGSEGV, &sa, &previous_segv);
}

static void set_err(char *err, size_t errlen, const char *msg)
{
    if (err && errlen) {
        strncpy(err, msg, errlen - 1);
        err[errlen - 1] = 0;
    }
}

static int sandbox_setup(struct sandbox *sb, struct device *dev,
                         size_t size, enum sandbox_bytes mode, char *err,
                         size_t errlen)
{
    HRESULT hr;
    void *w;

    host_init();
    memset(sb, 0, sizeof(*sb));
    sb->dev = dev;
    sb->bytes_mode = mode;
    sb->device_gpa = SANDBOX_DEVICE_GPA;
    sb->window_size = size;

    w = mmap(NULL, sb->window_size, PROT_NONE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (w == MAP_FAILED) {
        set_err(err, errlen, "mmap of the device window failed");
        return -1;
    }
    sb->window = w;

    hr = WHvEmulatorCreateEmulator(&sandbox_cb, &sb->emu);
    if (hr != S_OK) {
        set_err(err, errlen, "WHvEmulatorCreateEmulator failed");
        munmap(w, sb->window_size);
        sb->window = NULL;
        return -1;
    }
    /* YMM upper halves and AVX-512 state come from the signal frame. */
    hr = whvemu_set_xstate_callback(sb->emu, cb_xstate);
    if (hr != S_OK) {
        set_err(err, errlen, "whvemu_set_xstate_callback failed");
        WHvEmulatorDestroyEmulator(sb->emu);
        sb->emu = NULL;
        munmap(w, sb->window_size);
        sb->window = NULL;
        return -1;
    }
    return 0;
}

int sandbox_init(struct sandbox *sb, struct device *dev,
                 enum sandbox_bytes mode, char *err, size_t errlen)
{
    return sandbox_setup(sb, dev, DEMO_WINDOW_SIZE, mode, err, errlen);
}

int sandbox_init_memory(struct sandbox *sb, size_t size,
                        enum sandbox_bytes mode, char *err, size_t errlen)
{
    void *ram;

    if (size == 0 || size % PAGE || size > 0x100000u) {
        set_err(err, errlen, "memory window size must be a multiple of "
                             "4096, at most 1 MiB");
        return -1;
    }
    ram = mmap(NULL, size, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (ram == MAP_FAILED) {
        set_err(err, errlen, "mmap of the window's backing store failed");
        return -1;
    }
    if (sandbox_setup(sb, NULL, size, mode, err, errlen) != 0) {
        munmap(ram, size);
        return -1;
    }
    sb->ram = ram;
    return 0;
}

void sandbox_set_recovery(struct sandbox *sb, sigjmp_buf *env)
{
    sb->recover = env;
}

void sandbox_set_step_refused(struct sandbox *sb, int on)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    sb->step_refused = on && !sb->dev;
    if (sb->step_refused)
        pthread_once(&once, install_trap_handler);
}

static uint16_t read_selector(int which)
{
    uint16_t s = 0;
    switch (which) {
    case 0:
        __asm__ volatile("movw %%ds, %0" : "=r"(s));
        break;
    case 1:
        __asm__ volatile("movw %%es, %0" : "=r"(s));
        break;
    case 2:
        __asm__ volatile("movw %%fs, %0" : "=r"(s));
        break;
    case 3:
        __asm__ volatile("movw %%gs, %0" : "=r"(s));
        break;
    default:
        __asm__ volatile("movw %%ss, %0" : "=r"(s));
        break;
    }
    return s;
}

void sandbox_enter(struct sandbox *sb)
{
    unsigned long base = 0;

    sb->ds_sel = read_selector(0);
    sb->es_sel = read_selector(1);
    sb->fs_sel = read_selector(2);
    sb->gs_sel = read_selector(3);
    sb->ss_sel = read_selector(4);
    if (syscall(SYS_arch_prctl, ARCH_GET_FS, &base) == 0)
        sb->fs_base = base;
    base = 0;
    if (syscall(SYS_arch_prctl, ARCH_GET_GS, &base) == 0)
        sb->gs_base = base;
    tls_sandbox = sb;
}

void sandbox_leave(void)
{
    tls_sandbox = NULL;
}

void sandbox_destroy(struct sandbox *sb)
{
    if (sb->emu)
        WHvEmulatorDestroyEmulator(sb->emu);
    if (sb->window)
        munmap(sb->window, sb->window_size);
    if (sb->ram)
        munmap(sb->ram, sb->window_size);
    sb->emu = NULL;
    sb->window = NULL;
    sb->ram = NULL;
}
