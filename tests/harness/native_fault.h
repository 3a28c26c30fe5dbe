/*
 * native_fault.h - catching the fault of an instruction the host CPU runs
 * for an oracle test: the signal handler records the signal, RIP, the
 * faulting address, the trap number and error code, then jumps back to the
 * sigsetjmp in the test's runner. Needs _GNU_SOURCE (REG_RIP) before any
 * system header; x86-64 Linux.
 */
#ifndef WHVEMU_TESTS_NATIVE_FAULT_H
#define WHVEMU_TESTS_NATIVE_FAULT_H

#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <ucontext.h>

static sigjmp_buf g_jb;
static volatile sig_atomic_t g_sig;
static volatile uint64_t g_sig_rip;
static volatile uint64_t g_sig_addr;
static volatile unsigned g_sig_trapno, g_sig_err;

static inline void on_signal(int sig, siginfo_t *si, void *uc_)
{
    ucontext_t *uc = uc_;
    g_sig = sig;
    g_sig_rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
    g_sig_addr = (uint64_t)(uintptr_t)si->si_addr;
    g_sig_trapno = (unsigned)uc->uc_mcontext.gregs[REG_TRAPNO];
    g_sig_err = (unsigned)uc->uc_mcontext.gregs[REG_ERR];
    siglongjmp(g_jb, 1);
}

#endif /* WHVEMU_TESTS_NATIVE_FAULT_H */
