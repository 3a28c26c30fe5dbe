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

#endif /* WHVEMU_SAMPLE_DRIVER_H */
