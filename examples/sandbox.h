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
 */
#ifndef WHVEMU_DEMO_SANDBOX_H
#define WHVEMU_DEMO_SANDBOX_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "WinHvEmulation.h"
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
    uint64_t mem_device, mem_ram_fetch, mem_ram_read, mem_ram_write;
    uint32_t translate_flags; /* OR of every flag word seen */
    unsigned n_got, n_set;
    struct sandbox_name_count got[SANDBOX_MAX_NAMES]; /* registers read */
    struct sandbox_name_count set[SANDBOX_MAX_NAMES]; /* registers written */
};

struct sandbox {
    uint8_t *window;
    size_t window_size;
    uint64_t device_gpa;
    struct device *dev;
    struct port_bus *ports; /* NULL: port I/O is not emulated */
    WHV_EMULATOR_HANDLE emu;
    enum sandbox_bytes bytes_mode;

    /* What user space can know of the thread's segments. */
    uint64_t fs_base, gs_base;
    uint16_t ds_sel, es_sel, fs_sel, gs_sel, ss_sel;

    volatile sig_atomic_t in_emulation;
    unsigned same_rip; /* successive emulations that left RIP in place */
    struct sandbox_stats st;
};

/* Installs the process-wide SIGSEGV handler. Returns 0 or -1 (errno). */
int sandbox_install_handler(void);

/* Maps the window and creates the emulator for one sandbox. Returns 0, or
 * -1 with a message in `err`. */
int sandbox_init(struct sandbox *sb, struct device *dev,
                 enum sandbox_bytes mode, char *err, size_t errlen);

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
