/*
 * sandbox.h - runs ordinary x86-64 code against an emulated MMIO device.
 *
 * The device window is an address range mapped PROT_NONE. Every access the
 * code makes to it raises SIGSEGV; the handler describes the fault as a
 * WHV memory-access exit and lets WHvEmulatorTryMmioEmulation complete the
 * instruction, with the faulting thread's saved registers (the signal's
 * ucontext) standing in for the virtual processor.
 *
 * Port I/O needs no window: IN, OUT, INS and OUTS raise #GP in a user
 * process (it has no I/O permission). The handler recognises them, fills
 * in a port-access exit the way the hypervisor would, and lets
 * WHvEmulatorTryIoEmulation complete them against the sandbox's port bus.
 *
 * Guest-physical view used by the callbacks: host memory is identity
 * mapped (GPA = GVA), the window appears at SANDBOX_DEVICE_GPA.
 *
 * Vector state: XMM0-15, MXCSR and the x87/MMX registers come from the
 * signal frame's FXSAVE area (uc_mcontext.fpregs), the YMM upper halves and
 * the AVX-512 state from the XSAVE area the kernel appends to it, handed to
 * the emulator through whvemu_set_xstate_callback (see sandbox.c).
 */
#ifndef WHVEMU_DEMO_SANDBOX_H
#define WHVEMU_DEMO_SANDBOX_H

#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "WinHvEmulation.h"
#include "whvemu.h"
#include "device.h"
#include "ports.h"

#define SANDBOX_DEVICE_GPA 0xFED00000ull
#define SANDBOX_MAX_NAMES 48u

/* Whether the exit context carries the instruction bytes. */
enum sandbox_bytes {
    SANDBOX_BYTES_ALTERNATE, /* every other exit */
    SANDBOX_BYTES_NONE,      /* never: the emulator fetches them */
    SANDBOX_BYTES_ALL        /* always (up to 16, within RIP's page) */
};

/* How an emulation touched memory, judged from the callbacks it made. */
enum sandbox_kind {
    SANDBOX_KIND_LOAD,    /* one device read */
    SANDBOX_KIND_STORE,   /* one device write */
    SANDBOX_KIND_RMW,     /* one read and one write of the device */
    SANDBOX_KIND_STACK,   /* one device access plus RAM data (push/pop) */
    SANDBOX_KIND_STRING,  /* more than two device accesses (REP string) */
    SANDBOX_KIND_OTHER,
    SANDBOX_KIND_COUNT
};

/* The port I/O instruction forms, as the handler decodes them. */
enum sandbox_io_form {
    SANDBOX_IO_IN_IMM,   /* IN AL/AX/EAX, imm8 */
    SANDBOX_IO_IN_DX,    /* IN AL/AX/EAX, DX */
    SANDBOX_IO_OUT_IMM,  /* OUT imm8, AL/AX/EAX */
    SANDBOX_IO_OUT_DX,   /* OUT DX, AL/AX/EAX */
    SANDBOX_IO_INS,      /* INS without REP */
    SANDBOX_IO_REP_INS,  /* REP INS */
    SANDBOX_IO_OUTS,     /* OUTS without REP */
    SANDBOX_IO_REP_OUTS, /* REP OUTS */
    SANDBOX_IO_FORM_COUNT
};

struct sandbox_name_count {
    uint32_t name;
    uint32_t count;
};

struct sandbox_stats {
    uint64_t emulations;
    uint64_t read_faults, write_faults;
    uint64_t with_bytes, without_bytes;
    uint64_t kind[SANDBOX_KIND_COUNT];
    uint64_t get_calls, set_calls, translate_calls, io_calls;
    /* Port I/O exits. The counts of emulations, faults, bytes and kinds
     * above are memory exits only; the callback counts cover both. */
    uint64_t io_emulations;
    uint64_t io_form[SANDBOX_IO_FORM_COUNT][3]; /* [form][8/16/32-bit] */
    uint64_t io_with_bytes, io_without_bytes;
    uint64_t io_with_length, io_without_length; /* InstructionLength given */
    uint64_t get_values, set_values;
    /* Extended-state callback: component reads, writes, and writes that
     * found the component's XSTATE_BV bit clear (init state) and set it. */
    uint64_t xstate_reads, xstate_writes, xstate_bits_set;
    /* Refused instructions executed natively (sandbox_set_step_refused). */
    uint64_t stepped;
    uint64_t mem_device, mem_ram_fetch, mem_ram_read, mem_ram_write;
    uint32_t translate_flags; /* OR of every flag word seen */
    unsigned n_got, n_set;
    struct sandbox_name_count got[SANDBOX_MAX_NAMES]; /* registers read */
    struct sandbox_name_count set[SANDBOX_MAX_NAMES]; /* registers written */
};

/* Why an emulation failed, as the handler saw it (sandbox_set_recovery). */
struct sandbox_failure {
    uint64_t rip;          /* the instruction */
    uint8_t bytes[16];     /* its bytes at RIP (up to the end of the page) */
    unsigned n_bytes;
    uint64_t gva;          /* the faulting address in the window */
    int write;             /* page-fault error code W bit */
    HRESULT hr;            /* what WHvEmulatorTryMmioEmulation returned */
    uint32_t status;       /* WHV_EMULATOR_STATUS */
    const char *why;       /* whvemu_last_failure, a static string */
    /* The emulator only refused the instruction (InternalEmulationFailure,
     * no callback failed or complained, nothing injected). */
    int refused;
    int injected;          /* the emulator injected an exception */
    uint64_t injected_event;
    const char *problem;   /* the first problem a callback saw, or NULL */
    uint64_t problem_value;
};

/* Called after each successful memory emulation, from the signal handler,
 * with the Context the callbacks got: a hook may call the callbacks of
 * sandbox_callbacks() / sandbox_xstate_callback() with it to read or change
 * the interrupted thread's registers. */
struct sandbox;
typedef void (*sandbox_exit_hook)(struct sandbox *sb, void *context, void *arg);

struct sandbox {
    uint8_t *window;
    size_t window_size;
    uint64_t device_gpa;
    struct device *dev; /* NULL: the window is plain memory, `ram` */
    uint8_t *ram;       /* backing store of a memory window */
    struct port_bus *ports; /* NULL: port I/O is not emulated */
    WHV_EMULATOR_HANDLE emu;
    enum sandbox_bytes bytes_mode;

    /* What user space can know of the thread's segments. */
    uint64_t fs_base, gs_base;
    uint16_t ds_sel, es_sel, fs_sel, gs_sel, ss_sel;

    volatile sig_atomic_t in_emulation;
    unsigned same_rip; /* successive emulations that left RIP in place */
    struct sandbox_stats st;

    /* Failure handling (memory exits): NULL = report and abort. */
    sigjmp_buf *recover;
    struct sandbox_failure failure;
    int step_refused;                /* memory windows only */
    volatile sig_atomic_t stepping;  /* a refused instruction is stepping */
    size_t step_off, step_len;       /* the window pages made accessible */

    sandbox_exit_hook exit_hook;
    void *exit_hook_arg;
};

/* Installs the process-wide SIGSEGV handler. Returns 0 or -1 (errno). */
int sandbox_install_handler(void);

/* Maps the window and creates the emulator for one sandbox. Returns 0, or
 * -1 with a message in `err`. */
int sandbox_init(struct sandbox *sb, struct device *dev,
                 enum sandbox_bytes mode, char *err, size_t errlen);

/* The same for a window of `size` bytes (a multiple of 4096) of plain
 * memory: device reads and writes go to `sb->ram`, which the caller may
 * also read and write directly (no fault) to set up and check contents. */
int sandbox_init_memory(struct sandbox *sb, size_t size,
                        enum sandbox_bytes mode, char *err, size_t errlen);

/* After this, a failed memory emulation fills `sb->failure` and
 * siglongjmp()s to `env` (NULL restores report-and-abort). The thread must
 * not hold locks the jump would skip: device accesses come from plain
 * loads and stores and library string routines, which hold none. */
void sandbox_set_recovery(struct sandbox *sb, sigjmp_buf *env);

/* Diagnostic for memory windows: an instruction the emulator refuses is
 * executed natively instead, single-stepped on the window made accessible
 * with the backing store's contents, and counted in st.stepped. It tells
 * a test's own checks apart from the emulator's gaps; it tests nothing of
 * the emulator for those instructions. */
void sandbox_set_step_refused(struct sandbox *sb, int on);

/* The callbacks the sandbox gives its emulators (their Context is the one
 * an exit hook receives). */
const WHV_EMULATOR_CALLBACKS *sandbox_callbacks(void);
WHVEMU_XSTATE_CALLBACK sandbox_xstate_callback(void);

/* The control-register values the callbacks report, derived from the host
 * (CPUID, XGETBV): CR0, CR4, XCR0. */
uint64_t sandbox_cr0(void);
uint64_t sandbox_cr4(void);
uint64_t sandbox_xcr0(void);

/* Binds the sandbox to the calling thread (its window faults are then
 * emulated) or unbinds it. */
void sandbox_enter(struct sandbox *sb);
void sandbox_leave(void);

void sandbox_destroy(struct sandbox *sb);

/* Printable register name ("Rax", "Cr0", ...), or NULL if not known. */
const char *sandbox_register_name(uint32_t name);

const char *sandbox_kind_name(enum sandbox_kind k);

/* "IN eAX, imm8", ... */
const char *sandbox_io_form_name(enum sandbox_io_form f);

#endif /* WHVEMU_DEMO_SANDBOX_H */
