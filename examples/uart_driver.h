/*
 * uart_driver.h - the demo's second piece of "guest" code: a polled serial
 * console driver for the 16550 UART at COM1, plus a little board bring-up
 * over port I/O (see demo_ports.h).
 */
#ifndef WHVEMU_UART_DRIVER_H
#define WHVEMU_UART_DRIVER_H

#include <stdint.h>

#define UART_DRIVER_TEXT_CAP 320u
#define UART_DRIVER_RX_CAP 32u
#define UART_DRIVER_NAME_CAP 32u
#define UART_DRIVER_POSTS 4u

/* What the driver did and observed, for the demo's self-check. */
struct uart_driver_result {
    uint32_t board_id;     /* IN EAX, DX from the board's ID port */
    uint16_t cfg_written;  /* OUT DX, AX to the board's CFG port ... */
    uint16_t cfg_read;     /* ... and IN AX, DX back */
    uint8_t post[UART_DRIVER_POSTS]; /* POST codes sent with OUT imm8, AL */
    uint8_t post_read;     /* the last one, read back with IN AL, imm8 */
    uint8_t com2_scratch;  /* COM2's scratch register after writing 0x5A */
    uint32_t com2_wide;    /* a 32-bit read at COM2's base port */
    uint16_t divisor;      /* divisor latch value programmed */
    uint16_t divisor_read; /* read back with DLAB set */
    uint8_t lcr;           /* LCR read back after selecting 8N1 */
    uint8_t iir;           /* IIR after enabling the FIFOs */
    uint8_t scr;           /* scratch register after writing 0xA5 */
    uint8_t msr;           /* modem status after raising DTR/RTS */
    uint8_t lsr_end;       /* LSR once everything is sent */
    uint32_t lsr_polls;    /* LSR reads in total */
    unsigned rx_len;       /* bytes read from RBR while LSR.DR was set */
    unsigned char rx[UART_DRIVER_RX_CAP];
    unsigned name_len;     /* board name read with one REP INSB */
    unsigned char name[UART_DRIVER_NAME_CAP];
    unsigned sent_len;     /* every byte written to THR, in order */
    unsigned char sent[UART_DRIVER_TEXT_CAP];
    unsigned burst_len;    /* of those, sent by the one REP OUTSB */
    uint32_t io_insns;     /* port I/O instructions executed */
    uint32_t io_accesses;  /* port accesses they made (REP: one each) */
};

/* Brings the board and COM1 up at `baud` (8N1), greets on the console,
 * reads what the other end typed and echoes it in one burst. `thread` and
 * `round` only go into the greeting. Returns 0, or -1 when the board did
 * not identify itself or the UART never became ready. */
int uart_driver_run(unsigned thread, unsigned round, unsigned baud,
                    struct uart_driver_result *r);

#endif /* WHVEMU_UART_DRIVER_H */
