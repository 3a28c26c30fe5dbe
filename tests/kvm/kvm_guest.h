/*
 * kvm_guest.h - a minimal KVM machine for the oracle tests: one VM with
 * 1 MiB of RAM at guest-physical 0 and one vCPU per processor mode, guest
 * code placed by the test, and a run loop that answers every port and MMIO
 * access deterministically and records it.
 *
 * Guest-physical layout (identical for every mode):
 *   0x00000-0x4FFFF  data the tests compare (KG_SPAN); code at KG_CODE
 *   0x60000          the timing loop of the native-execution probe
 *   0x80000-...      64-bit and 32-bit page tables
 * 64-bit mode maps (4 KiB pages, P|RW|U): virtual 0..0x7FFFF identically,
 * and the windows KG_W32, KG_H1 and KG_H2 (0x40000 bytes each) onto
 * guest-physical 0..0x3FFFF.
 */
#ifndef WHVEMU_TESTS_KVM_GUEST_H
#define WHVEMU_TESTS_KVM_GUEST_H

#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

#define KG_RAM_SIZE 0x100000u
#define KG_CODE 0x40000u
#define KG_SPAN 0x50000u
#define KG_DATA_END 0x40000u
#define KG_LOOP 0x60000u
#define KG_PT 0x80000u
#define KG_W32 0xFFFC0000ull
#define KG_H1 0x00007FFC00000000ull
#define KG_H2 0xFFFF800000000000ull
#define KG_WIN_SIZE 0x40000u
/* CPL 3 guests cannot HLT: they end with OUT KG_SENTINEL_PORT, AL. */
#define KG_SENTINEL_PORT 0xFE

enum kg_mode {
    KG_M64,  /* 64-bit, CPL 0 */
    KG_M64U, /* 64-bit, CPL 3, IOPL 3 */
    KG_M32,  /* 32-bit protected mode, no paging */
    KG_M16,  /* real mode */
    KG_M32P, /* 32-bit protected mode with paging (kvm_modes) */
    KG_NMODES
};

const char *kg_mode_name(enum kg_mode m);

/* One port or MMIO access of the guest, in order. */
typedef struct kg_access {
    uint8_t mmio;  /* 0 port, 1 MMIO */
    uint8_t write; /* OUT or MMIO write */
    uint8_t size;
    uint16_t port;
    uint64_t gpa;
    uint64_t data;
} kg_access;

typedef struct kg {
    int kvm, vm;
    int vcpu[KG_NMODES];
    struct kvm_run *run[KG_NMODES];
    size_t run_size;
    uint8_t *ram;
    uint64_t pt_next;    /* next free page-table page */
    uint32_t pd32;       /* the 32-bit page directory (KG_M32P) */
    kg_access *log;
    size_t nlog, cap;
    struct {
        uint16_t port;
        uint32_t reads;
    } reads[64];
    unsigned nreads;
    unsigned exits; /* KVM_RUN calls of the last kg_run */
} kg;

/* Opens /dev/kvm and builds the machine. Returns 0, or -1 with a reason in
 * why (the caller then skips). */
int kg_open(kg *g, char *why, size_t whylen);
void kg_close(kg *g);

/* The architectural starting state of a mode: control registers, EFER,
 * flat-ish segments (64-bit: base 0; 32-bit: CS base 0x30000 so that
 * CS:0x10000 is KG_CODE; real mode: CS 0x3F00). *rip is the offset in CS of
 * KG_CODE. */
void kg_mode_state(const kg *g, enum kg_mode m, struct kvm_sregs *s, uint64_t *rip);

/* Maps one 4 KiB page in the 64-bit tables with the given PTE flags (the
 * upper levels allow everything). */
void kg_map64(kg *g, uint64_t va, uint64_t gpa, uint32_t flags);
/* Maps one 4 KiB page in the 32-bit tables with the given PTE flags. */
void kg_map32(kg *g, uint32_t va, uint32_t gpa, uint32_t flags);

/* The value a port read returns: the same function as the fake VMM's port
 * model (per-port read index since the start of the run). */
typedef uint32_t (*kg_port_value_fn)(uint16_t port, uint32_t index, uint16_t size);
/* MMIO reads return, byte by byte, a fixed function of the address (a
 * device that reads like constant memory, so that any split of an access
 * reads the same bytes); writes are only logged. */
uint8_t kg_mmio_byte(uint64_t gpa);

/* Runs the mode's vCPU from the given state until it halts (or, at CPL 3,
 * writes KG_SENTINEL_PORT), answering reads and logging every access. On
 * return the state is the final one, with RIP pointing at the HLT or the
 * sentinel OUT. Returns 0, or -1 with a reason in why. */
int kg_run(kg *g, enum kg_mode m, struct kvm_regs *r, struct kvm_sregs *s,
           kg_port_value_fn port_value, char *why, size_t whylen);

/* Nanoseconds per iteration of a two-instruction loop in mode m (difference
 * of two run lengths, so entry and exit costs cancel); negative if the
 * guest could not run (the reason is in why). */
double kg_loop_ns(kg *g, enum kg_mode m, char *why, size_t whylen);

#endif /* WHVEMU_TESTS_KVM_GUEST_H */
