/*
 * ports.h - the demo's port-I/O bus: a 16550-style UART at COM1 and a small
 * board controller (see demo_ports.h). Unclaimed ports read as all ones and
 * ignore writes, as on a PC bus; they are counted.
 *
 * ports_access() is called from the SIGSEGV handler, through the
 * emulator's I/O port callback, so it only touches the bus structure and,
 * for the console echo, write(2): no allocation, no locks, no stdio.
 */
#ifndef WHVEMU_DEMO_PORTS_MODEL_H
#define WHVEMU_DEMO_PORTS_MODEL_H

#include <stdint.h>

#include "demo_ports.h"

#define PORTS_TX_CAP 512u
#define PORTS_LINE_CAP 120u
#define PORTS_POST_CAP 16u

struct uart16550 {
    /* Registers. */
    uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
    uint8_t lsr_oe;   /* overrun seen, cleared by reading LSR */
    uint8_t thre_irq; /* THRE interrupt pending */
    uint8_t rx[UART_RX_FIFO];
    unsigned rx_head, rx_count;

    /* What went out on the line since power-on. */
    uint8_t tx[PORTS_TX_CAP];
    uint32_t tx_len;     /* bytes kept in tx (at most PORTS_TX_CAP) */
    uint32_t tx_count;   /* bytes transmitted */
    uint32_t rx_taken;   /* bytes the driver read from RBR */
    uint32_t lsr_reads;
    uint32_t divisor_writes;

    /* Console: complete lines go to echo_fd with write(2); -1 = silent. */
    int echo_fd;
    const char *echo_prefix;
    char line[PORTS_LINE_CAP];
    unsigned line_len;
};

struct port_bus {
    struct uart16550 com1;

    /* Board controller. */
    uint8_t post;
    uint8_t post_log[PORTS_POST_CAP];
    unsigned n_post;
    uint16_t cfg;
    unsigned name_pos;

    /* Statistics: accesses by [log2 size][write], kept across power-ons. */
    uint64_t by_size[3][2];
    uint64_t accesses;
    uint64_t unknown;       /* accesses to unclaimed ports, in total */
    uint32_t unknown_round; /* ... since the last power-on */
    uint16_t first_unknown_port;
    uint8_t first_unknown_size, first_unknown_write;
};

/* Clears everything, then powers on. The console echo is off. */
void ports_reset(struct port_bus *b);

/* Power-on state of the devices (the UART's receive FIFO holds
 * DEMO_UART_RX_TEXT); statistics and the echo setting are kept. */
void ports_power_on(struct port_bus *b);

/* One port access of `size` (1, 2 or 4) bytes; `*data` holds the value in
 * its low bytes (filled on a read). A wide access to byte-wide registers
 * reaches port, port+1, ... in turn, lowest byte first. Returns 0. */
int ports_access(struct port_bus *b, uint16_t port, unsigned size, int write,
                 uint32_t *data);

/* Writes out a partial console line, if any. */
void ports_console_flush(struct port_bus *b);

/* The divisor latch as a 16-bit value. */
unsigned ports_uart_divisor(const struct port_bus *b);

#endif /* WHVEMU_DEMO_PORTS_MODEL_H */
