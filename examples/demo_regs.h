/*
 * demo_regs.h - register map of the demo's pretend device, shared by the
 * sample driver (which only sees a base pointer) and the device model.
 *
 * The device is a tiny message port, something between a UART and a
 * DMA-less network controller. Its MMIO window is two 4 KiB pages:
 * registers in the first page, a 256-byte packet buffer in the second.
 */
#ifndef WHVEMU_DEMO_REGS_H
#define WHVEMU_DEMO_REGS_H

#define DEMO_WINDOW_SIZE 0x2000u

/* Registers (offset, width in bits, access). */
#define DEMO_REG_ID 0x000u      /* 32 RO: identification */
#define DEMO_REG_STATUS 0x004u  /* 32 RO: DEMO_ST_* bits */
#define DEMO_REG_CONTROL 0x008u /* 32 RW: DEMO_CTL_* bits */
#define DEMO_REG_CMD 0x00Cu     /* 32 WO: opcode | length << 16 */
#define DEMO_REG_TX_LEN 0x010u  /* 16 RW: bytes staged in the TX buffer */
#define DEMO_REG_RX_LEN 0x012u  /* 16 RO: bytes of reply in the RX buffer */
#define DEMO_REG_SCRATCH 0x014u /* 32 RW: free for the driver */
#define DEMO_REG_COUNTER 0x018u /* 64 RO: number of accesses seen so far */
#define DEMO_REG_IRQ_ACK 0x020u /* 8  W1C: clears the matching STATUS bits */
#define DEMO_REG_SEQ 0x024u     /* 32 RW: sequence number */
#define DEMO_REG_SEM 0x028u     /* 32 RW: hardware semaphore, 0 = free */
#define DEMO_REG_STAMP 0x030u   /* 64 RW: time stamp of the last command */

#define DEMO_BUF_TX 0x1000u   /* 128 bytes the driver fills */
#define DEMO_BUF_RX 0x1080u   /* 128 bytes the device answers in */
#define DEMO_BUF_HALF 0x80u

#define DEMO_ID_VALUE 0x57480A01u

#define DEMO_ST_READY 0x1u    /* set once the device finished its self-test */
#define DEMO_ST_RX_AVAIL 0x2u /* a reply is waiting in the RX buffer */
#define DEMO_ST_TX_DONE 0x4u  /* the last command consumed the TX buffer */
#define DEMO_ST_RX_AVAIL_BIT 1

#define DEMO_CTL_ENABLE 0x0001u
#define DEMO_CTL_IRQ_TX 0x0020u   /* interrupt masks, reset to all set */
#define DEMO_CTL_IRQ_RX 0x0010u
#define DEMO_CTL_IRQ_ERR 0x0040u
#define DEMO_CTL_IRQ_LINK 0x0080u
#define DEMO_CTL_PARITY 0x0100u
#define DEMO_CTL_FIFO 0x1000u
#define DEMO_CTL_RESET_VALUE 0x00F0u

#define DEMO_CMD_SEND 0x01u
#define DEMO_CMD_LEN_SHIFT 16

/* The device sets READY on the DEMO_READY_POLLS-th read of STATUS, and
 * RX_AVAIL on the DEMO_RX_POLLS-th read of STATUS after a SEND. */
#define DEMO_READY_POLLS 5u
#define DEMO_RX_POLLS 3u

#define DEMO_MSG_LEN 64u

#endif /* WHVEMU_DEMO_REGS_H */
