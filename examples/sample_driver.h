/*
 * sample_driver.h - the demo's "guest" code: an ordinary driver routine for
 * the message-port device described in demo_regs.h.
 */
#ifndef WHVEMU_SAMPLE_DRIVER_H
#define WHVEMU_SAMPLE_DRIVER_H

#include <stdint.h>

/* What the driver observed, for the demo's self-check. */
struct driver_result {
    uint32_t id;          /* ID register */
    uint32_t ready_polls; /* STATUS reads until READY */
    uint32_t rx_polls;    /* bit tests of STATUS until RX_AVAIL */
    uint32_t control;     /* CONTROL read back at the end */
    uint32_t sem_taken;   /* 1 if the lock cmpxchg claimed the semaphore */
    uint32_t scratch_old; /* value the xchg took out of SCRATCH */
    uint32_t seq;         /* value the lock xadd returned */
    uint32_t tx_mismatch; /* TX buffer bytes that did not read back */
    uint32_t rx_left;     /* STATUS.RX_AVAIL after the acknowledge (0) */
    uint16_t rx_len;      /* RX_LEN register */
    uint64_t counter;     /* COUNTER, read with a push from MMIO */
    uint64_t stamp;       /* STAMP read back after a pop into MMIO */
};

/* Runs one transaction: waits for the device, configures it, sends `len`
 * bytes of `msg` and copies the reply (at most `cap` bytes) to `reply`.
 * `mmio` is the device's register window. `stamp` is written to the STAMP
 * register. Returns the number of reply bytes copied, or -1 when the
 * device did not identify itself or never became ready. */
int sample_driver_run(void *mmio, const unsigned char *msg, unsigned len,
                      unsigned char *reply, unsigned cap, uint64_t stamp,
                      struct driver_result *res);

/* Results of the packet-RAM test, in the order they were taken. */
#define MEMTEST_MAX 128

struct memtest_log {
    unsigned n;
    const char *what[MEMTEST_MAX];
    uint64_t value[MEMTEST_MAX];
};

/* The driver's probe-time test of the device's packet RAM: many instruction
 * forms on the 64 bytes at `area` (the 8 bytes before it are used too),
 * every result (register values, defined flags, final memory) recorded in
 * `log`. Run once on ordinary memory and once on the device, the two logs
 * must be identical. `ram16` is 16 bytes of ordinary memory for the string
 * instructions; `fs_base` (0 to skip) is the thread's FS base, for an
 * FS-relative access; `have_movbe` says the CPU implements MOVBE. */
void sample_driver_memtest(void *area, const unsigned char *ram16,
                           uint64_t fs_base, int have_movbe,
                           struct memtest_log *log);

#endif /* WHVEMU_SAMPLE_DRIVER_H */
