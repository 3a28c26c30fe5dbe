/*
 * device.h - model of the demo's message-port device (see demo_regs.h).
 *
 * device_access() is called from the SIGSEGV handler, through the
 * emulator's memory callback, so it only touches the device structure:
 * no allocation, no locks, no stdio.
 */
#ifndef WHVEMU_DEMO_DEVICE_H
#define WHVEMU_DEMO_DEVICE_H

#include <stdint.h>

#include "demo_regs.h"

#define DEVICE_LOG_CAP 1024u

struct device_log_entry {
    uint32_t emulation; /* index of the emulation that made the access */
    uint16_t offset;    /* offset in the window */
    uint8_t size;       /* 1..8 bytes */
    uint8_t write;      /* 1 = write */
    uint64_t value;     /* little-endian value of the bytes */
};

struct device {
    /* Register file. */
    uint32_t status;
    uint32_t control;
    uint32_t scratch;
    uint32_t seq;
    uint32_t sem;
    uint16_t tx_len;
    uint16_t rx_len;
    uint64_t counter;
    uint64_t stamp;
    uint8_t buf[2 * DEMO_BUF_HALF]; /* TX half, then RX half */

    /* Internal state. */
    uint32_t ready_reads; /* STATUS reads so far while not READY */
    uint32_t rx_wait;     /* STATUS reads since the last SEND */
    int send_pending;

    /* What the device received with the last SEND. */
    uint8_t received[DEMO_BUF_HALF];
    uint32_t received_len;
    uint32_t sends;

    /* Statistics. */
    uint64_t reads, writes;
    uint64_t by_size[9][2]; /* [size][write] */
    uint32_t status_polls;  /* STATUS reads until READY (this power-on) */
    uint32_t errors;        /* accesses the device could not decode */
    uint32_t first_error_offset;
    uint8_t first_error_size, first_error_write;

    /* Access log: a ring of the last DEVICE_LOG_CAP accesses. */
    uint32_t emulation; /* set by the sandbox before each emulation */
    uint64_t log_count;
    struct device_log_entry log[DEVICE_LOG_CAP];
};

/* Puts the device in its power-on state and clears the statistics. */
void device_reset(struct device *d);

/* Power-on state of the registers and buffers; statistics and the log
 * are kept. */
void device_power_on(struct device *d);

/* One access of `size` (1..8) bytes at window offset `off`; `data` holds
 * the bytes in memory order (filled on a read). Returns 0, or -1 when the
 * access does not decode (it is then logged as an error; a read returns
 * all ones). */
int device_access(struct device *d, uint32_t off, unsigned size, int write,
                  uint8_t *data);

/* The reply the device computes for a message: ASCII letters change case,
 * everything else is echoed. */
void device_make_reply(const uint8_t *in, unsigned n, uint8_t *out);

/* Name of the register or buffer at `off` ("STATUS", "TX", ...). */
const char *device_region_name(uint32_t off, uint32_t *base);

#endif /* WHVEMU_DEMO_DEVICE_H */
