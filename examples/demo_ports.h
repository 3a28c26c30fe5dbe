/*
 * demo_ports.h - port map of the demo's port-I/O devices, shared by the
 * UART driver (uart_driver.c) and the device models (ports.c).
 *
 * COM1 is a 16550-style UART at the PC's usual 0x3F8; a small "board
 * controller" answers at 0x80 (POST codes) and 0x510..0x518. Every other
 * port is unclaimed: reads return all ones, writes are dropped.
 */
#ifndef WHVEMU_DEMO_PORTS_H
#define WHVEMU_DEMO_PORTS_H

/* ---- 16550 UART ---------------------------------------------------------- */

#define DEMO_COM1 0x3F8u
#define DEMO_COM2 0x2F8u /* nothing there: the driver probes it */

/* Register offsets from the UART's base port. */
#define UART_RBR 0u /* read, DLAB=0: receive buffer */
#define UART_THR 0u /* write, DLAB=0: transmit holding register */
#define UART_DLL 0u /* DLAB=1: divisor latch, low byte */
#define UART_IER 1u /* DLAB=0: interrupt enable */
#define UART_DLM 1u /* DLAB=1: divisor latch, high byte */
#define UART_IIR 2u /* read: interrupt identification */
#define UART_FCR 2u /* write: FIFO control */
#define UART_LCR 3u /* line control */
#define UART_MCR 4u /* modem control */
#define UART_LSR 5u /* line status */
#define UART_MSR 6u /* modem status */
#define UART_SCR 7u /* scratch */
#define UART_PORTS 8u

#define UART_LCR_DLAB 0x80u
#define UART_LCR_8N1 0x03u /* 8 data bits, no parity, 1 stop bit */

#define UART_FCR_ENABLE 0x01u
#define UART_FCR_CLEAR_RX 0x02u
#define UART_FCR_CLEAR_TX 0x04u
#define UART_FCR_TRIGGER_14 0xC0u

#define UART_MCR_DTR 0x01u
#define UART_MCR_RTS 0x02u
#define UART_MCR_OUT2 0x08u
#define UART_MCR_LOOP 0x10u

#define UART_LSR_DR 0x01u   /* data ready */
#define UART_LSR_OE 0x02u   /* overrun error */
#define UART_LSR_THRE 0x20u /* transmit holding register empty */
#define UART_LSR_TEMT 0x40u /* transmitter empty */

#define UART_IIR_NONE 0x01u      /* no interrupt pending */
#define UART_IIR_THRE 0x02u      /* transmitter empty */
#define UART_IIR_RX 0x04u        /* received data available */
#define UART_IIR_FIFO_ON 0xC0u   /* FIFOs enabled (16550A) */

#define UART_MSR_CTS 0x10u
#define UART_MSR_DSR 0x20u
#define UART_MSR_DCD 0x80u

#define UART_CLOCK_HZ 1843200u /* divisor = clock / (16 * baud) */
#define UART_RX_FIFO 16u

/* What the far end of the line has already typed when the driver starts:
 * the UART's receive FIFO holds it at power-on. */
#define DEMO_UART_RX_TEXT "host says hi"

/* ---- board controller ---------------------------------------------------- */

#define DEMO_PORT_POST 0x80u      /* 8 RW: POST code (last one written) */
#define DEMO_PORT_POST_IMM 0x80   /* the same, spelled for an asm immediate */
#define DEMO_PORT_BOARD_ID 0x510u /* 32 RO: identification */
#define DEMO_PORT_BOARD_CFG 0x514u /* 16 RW: configuration, reads back | LATCHED */
#define DEMO_PORT_BOARD_NAME 0x518u /* 8 RO stream: the board's name, then
                                       zeros; a write rewinds it */

#define DEMO_BOARD_ID_VALUE 0x57480510u
#define DEMO_BOARD_CFG_LATCHED 0x8000u
#define DEMO_BOARD_NAME "whvemu sandbox board rev 2"

#endif /* WHVEMU_DEMO_PORTS_H */
