/*
 * kvm_common.h - what the KVM oracle tests share: the random source, the
 * report of what KVM runs natively, and moving one starting state into the
 * fake VMM and the exit context the way the platform would show it.
 */
#ifndef WHVEMU_TESTS_KVM_COMMON_H
#define WHVEMU_TESTS_KVM_COMMON_H

#include <stdint.h>
#include <stdio.h>

#include "WinHvEmulation.h"
#include "fake_vmm.h"
#include "kvm_guest.h"

/* xorshift64* */
typedef struct kc_rng {
    uint64_t s;
} kc_rng;

void kc_seed(kc_rng *r, uint64_t seed);
uint64_t kc_next(kc_rng *r);
/* Uniform in [lo, hi]. */
uint64_t kc_range(kc_rng *r, uint64_t lo, uint64_t hi);
/* 1 with probability num/den. */
int kc_chance(kc_rng *r, unsigned num, unsigned den);

/* The random seed of this run: $WHVEMU_KVM_SEED if set, else time and pid. */
uint64_t kc_random_seed(void);

/* Opens KVM (exits 77 with the reason if it is unusable), probes each mode
 * in `modes` (count n) and prints which run natively. ok[m] is set for the
 * modes whose guest ran at all. Returns 1 if every probed mode is native. */
int kc_open_and_probe(kg *g, const enum kg_mode *modes, unsigned n, int ok[KG_NMODES]);

WHV_X64_SEGMENT_REGISTER kc_whv_seg(const struct kvm_segment *s);
/* The CPL the state shows (CS.DPL; 0 in real mode). */
unsigned kc_cpl(const struct kvm_sregs *s);

/* Makes the fake VMM hold the vCPU state: GPRs, RIP, RFLAGS, segments,
 * CR0/CR3/CR4, EFER, CPL; and guest memory 0..KG_SPAN from `mem`. */
void kc_load_fvmm(fake_vmm *vm, const struct kvm_regs *r, const struct kvm_sregs *s,
                  const uint8_t *mem);
/* The exit context for an instruction of `len` bytes at the state's RIP. */
void kc_build_vp(WHV_VP_EXIT_CONTEXT *vp, const struct kvm_regs *r, const struct kvm_sregs *s,
                 unsigned len);

/* The fake VMM's GPRs, RIP and RFLAGS in KVM's layout. */
void kc_regs_from_fvmm(const fake_vmm *vm, struct kvm_regs *r);
/* The fake VMM's port and memory-callback accesses, in order, as a log
 * (memory callbacks only when mmio_gpa_lo <= GPA < mmio_gpa_hi). Returns
 * the number of entries (up to cap are stored). */
size_t kc_log_from_fvmm(const fake_vmm *vm, kg_access *log, size_t cap, uint64_t mmio_gpa_lo,
                        uint64_t mmio_gpa_hi);

/* Differences between two outcomes, named an and bn. Each prints its
 * differences after `prefix` unless prefix is NULL, and returns how many
 * it found. */
unsigned kc_diff_regs(const struct kvm_regs *a, const struct kvm_regs *b, const char *an,
                      const char *bn, const char *prefix);
unsigned kc_diff_mem(const uint8_t *a, const uint8_t *b, size_t len, const char *an,
                     const char *bn, const char *prefix);
unsigned kc_diff_log(const kg_access *a, size_t na, const kg_access *b, size_t nb,
                     const char *an, const char *bn, const char *prefix);

void kc_print_regs(const char *label, const struct kvm_regs *r);
void kc_print_hex(const char *label, const uint8_t *b, unsigned n);

#endif /* WHVEMU_TESTS_KVM_COMMON_H */
