/*
 * uart_driver.c - a polled serial console driver, the kind firmware and
 * early kernel code carry, for a 16550 UART at COM1.
 *
 * Like sample_driver.c it knows nothing about the emulator. It simply
 * executes IN, OUT, INS and OUTS; in a user process those raise #GP, and
 * the demo's handler completes each one with WHvEmulatorTryIoEmulation.
 * It is built with the same flags as sample_driver.c (general-purpose
 * registers only, no builtins).
 *
 * Each port instruction is one asm statement so that its form is fixed:
 * the DX forms take the port in DX whatever its value, and the POST port
 * uses the imm8 forms.
 */
#include "uart_driver.h"

#include <stddef.h>

#include "demo_ports.h"

#define MAX_POLLS 1000u

/* ---- port access primitives ----------------------------------------------- */

static inline uint8_t inb(struct uart_driver_result *r, uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %w1, %b0" : "=a"(v) : "d"(port));
    r->io_insns++;
    r->io_accesses++;
    return v;
}

static inline uint16_t inw(struct uart_driver_result *r, uint16_t port)
{
    uint16_t v;
    __asm__ volatile("inw %w1, %w0" : "=a"(v) : "d"(port));
    r->io_insns++;
    r->io_accesses++;
    return v;
}

static inline uint32_t inl(struct uart_driver_result *r, uint16_t port)
{
    uint32_t v;
    __asm__ volatile("inl %w1, %k0" : "=a"(v) : "d"(port));
    r->io_insns++;
    r->io_accesses++;
    return v;
}

static inline void outb(struct uart_driver_result *r, uint16_t port,
                        uint8_t v)
{
    __asm__ volatile("outb %b0, %w1" : : "a"(v), "d"(port));
    r->io_insns++;
    r->io_accesses++;
}

static inline void outw(struct uart_driver_result *r, uint16_t port,
                        uint16_t v)
{
    __asm__ volatile("outw %w0, %w1" : : "a"(v), "d"(port));
    r->io_insns++;
    r->io_accesses++;
}

/* POST codes: the port fits in the instruction (OUT imm8, AL). */
#define STR2(x) #x
#define STR(x) STR2(x)

static inline void post_code(struct uart_driver_result *r, unsigned i,
                             uint8_t code)
{
    __asm__ volatile("outb %b0, $" STR(DEMO_PORT_POST_IMM) : : "a"(code));
    if (i < UART_DRIVER_POSTS)
        r->post[i] = code;
    r->io_insns++;
    r->io_accesses++;
}

static inline uint8_t post_read(struct uart_driver_result *r)
{
    uint8_t v;
    __asm__ volatile("inb $" STR(DEMO_PORT_POST_IMM) ", %b0" : "=a"(v));
    r->io_insns++;
    r->io_accesses++;
    return v;
}

/* REP OUTSB: n bytes from RAM at p to one port. */
static inline void outsb_rep(struct uart_driver_result *r, uint16_t port,
                             const unsigned char *p, size_t n)
{
    size_t count = n;
    __asm__ volatile("rep outsb"
                     : "+S"(p), "+c"(count)
                     : "d"(port)
                     : "memory");
    r->io_insns++;
    r->io_accesses += (uint32_t)n;
}

/* REP INSB: n bytes from one port to RAM at p. */
static inline void insb_rep(struct uart_driver_result *r, uint16_t port,
                            unsigned char *p, size_t n)
{
    size_t count = n;
    __asm__ volatile("rep insb"
                     : "+D"(p), "+c"(count)
                     : "d"(port)
                     : "memory");
    r->io_insns++;
    r->io_accesses += (uint32_t)n;
}

/* ---- text helpers (no libc here) ------------------------------------------ */

struct text {
    unsigned char buf[160];
    unsigned n;
};

static void put_str(struct text *t, const char *s)
{
    while (*s && t->n < sizeof(t->buf))
        t->buf[t->n++] = (unsigned char)*s++;
}

static void put_bytes(struct text *t, const unsigned char *p, unsigned n)
{
    for (unsigned i = 0; i < n && t->n < sizeof(t->buf); i++)
        t->buf[t->n++] = p[i];
}

static void put_dec(struct text *t, unsigned v)
{
    char d[12];
    unsigned k = 0;
    do {
        d[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (k && t->n < sizeof(t->buf))
        t->buf[t->n++] = (unsigned char)d[--k];
}

static void put_hex(struct text *t, uint32_t v, unsigned digits)
{
    put_str(t, "0x");
    while (digits-- && t->n < sizeof(t->buf))
        t->buf[t->n++] = (unsigned char)"0123456789abcdef"[(v >> (4 * digits)) & 0xF];
}

/* ---- the UART ----------------------------------------------------------------- */

static void note_sent(struct uart_driver_result *r, const unsigned char *p,
                      unsigned n)
{
    for (unsigned i = 0; i < n && r->sent_len < UART_DRIVER_TEXT_CAP; i++)
        r->sent[r->sent_len++] = p[i];
}

/* Waits until LSR has all of `bits`. Returns 0, or -1 after MAX_POLLS. */
static int wait_lsr(struct uart_driver_result *r, uint8_t bits)
{
    for (unsigned i = 0; i < MAX_POLLS; i++) {
        r->lsr_polls++;
        if ((inb(r, DEMO_COM1 + UART_LSR) & bits) == bits)
            return 0;
    }
    return -1;
}

/* The classic console putc: wait for THRE, write THR. */
static int uart_putc(struct uart_driver_result *r, unsigned char c)
{
    if (wait_lsr(r, UART_LSR_THRE) < 0)
        return -1;
    outb(r, DEMO_COM1 + UART_THR, c);
    note_sent(r, &c, 1);
    return 0;
}

static int uart_write_polled(struct uart_driver_result *r,
                             const struct text *t)
{
    for (unsigned i = 0; i < t->n; i++)
        if (uart_putc(r, t->buf[i]) < 0)
            return -1;
    return 0;
}

static void uart_init(struct uart_driver_result *r, unsigned baud)
{
    const uint16_t base = DEMO_COM1;
    unsigned div = UART_CLOCK_HZ / 16u / (baud ? baud : 1u);

    r->divisor = (uint16_t)(div ? div : 1u);
    outb(r, base + UART_IER, 0);                 /* no interrupts: polled */
    outb(r, base + UART_LCR, UART_LCR_DLAB);     /* divisor latch access */
    outb(r, base + UART_DLL, (uint8_t)r->divisor);
    outb(r, base + UART_DLM, (uint8_t)(r->divisor >> 8));
    r->divisor_read = (uint16_t)(inb(r, base + UART_DLL) |
                                 (inb(r, base + UART_DLM) << 8));
    outb(r, base + UART_LCR, UART_LCR_8N1);      /* DLAB off, 8N1 */
    r->lcr = inb(r, base + UART_LCR);
    /* FIFOs on, transmit FIFO reset. The receive FIFO is left alone: what
     * the other end typed before the driver started is still wanted. */
    outb(r, base + UART_FCR,
         UART_FCR_ENABLE | UART_FCR_CLEAR_TX | UART_FCR_TRIGGER_14);
    r->iir = inb(r, base + UART_IIR);            /* 0xC1: a 16550A */
    outb(r, base + UART_MCR, UART_MCR_DTR | UART_MCR_RTS | UART_MCR_OUT2);
    r->msr = inb(r, base + UART_MSR);
    outb(r, base + UART_SCR, 0xA5);
    r->scr = inb(r, base + UART_SCR);
}

int uart_driver_run(unsigned thread, unsigned round, unsigned baud,
                    struct uart_driver_result *r)
{
    struct text t;

    post_code(r, 0, 0x10);

    /* Board bring-up: identify it (32-bit), configure it (16-bit), and
     * see whether a second UART is fitted (nothing answers at COM2). */
    r->board_id = inl(r, DEMO_PORT_BOARD_ID);
    if (r->board_id != DEMO_BOARD_ID_VALUE)
        return -1;
    r->cfg_written = (uint16_t)(0x0C00u | (round & 0xFFu));
    outw(r, DEMO_PORT_BOARD_CFG, r->cfg_written);
    r->cfg_read = inw(r, DEMO_PORT_BOARD_CFG);
    outb(r, DEMO_COM2 + UART_SCR, 0x5A);
    r->com2_scratch = inb(r, DEMO_COM2 + UART_SCR);
    r->com2_wide = inl(r, DEMO_COM2);

    /* The board's name streams out of one byte port: rewind, then take it
     * with a single REP INSB. */
    outb(r, DEMO_PORT_BOARD_NAME, 0);
    insb_rep(r, DEMO_PORT_BOARD_NAME, r->name, UART_DRIVER_NAME_CAP);
    r->name_len = 0;
    while (r->name_len < UART_DRIVER_NAME_CAP && r->name[r->name_len])
        r->name_len++;

    post_code(r, 1, 0x20);
    uart_init(r, baud);
    if (r->lcr != UART_LCR_8N1)
        return -1;

    /* Greet, one polled byte at a time. */
    t.n = 0;
    put_str(&t, "Hello from the UART! (thread ");
    put_dec(&t, thread);
    put_str(&t, ", round ");
    put_dec(&t, round);
    put_str(&t, ", ");
    put_dec(&t, baud);
    put_str(&t, " baud 8N1, divisor ");
    put_dec(&t, r->divisor);
    put_str(&t, ")\r\n");
    if (uart_write_polled(r, &t) < 0)
        return -1;
    t.n = 0;
    put_str(&t, "board \"");
    put_bytes(&t, r->name, r->name_len);
    put_str(&t, "\", id ");
    put_hex(&t, r->board_id, 8);
    put_str(&t, ", cfg ");
    put_hex(&t, r->cfg_read, 4);
    put_str(&t, r->com2_scratch == 0xFF ? ", no UART at COM2\r\n"
                                        : ", a UART at COM2\r\n");
    if (uart_write_polled(r, &t) < 0)
        return -1;

    /* Drain what the other end typed. */
    post_code(r, 2, 0x30);
    r->rx_len = 0;
    while (r->rx_len < UART_DRIVER_RX_CAP) {
        r->lsr_polls++;
        if (!(inb(r, DEMO_COM1 + UART_LSR) & UART_LSR_DR))
            break;
        r->rx[r->rx_len++] = inb(r, DEMO_COM1 + UART_RBR);
    }

    /* Echo it in one burst: the FIFO takes it all at once. */
    t.n = 0;
    put_str(&t, "the host typed \"");
    put_bytes(&t, r->rx, r->rx_len);
    put_str(&t, "\" (");
    put_dec(&t, r->rx_len);
    put_str(&t, " bytes); this line went out as one REP OUTSB\r\n");
    if (wait_lsr(r, UART_LSR_THRE) < 0)
        return -1;
    outsb_rep(r, DEMO_COM1 + UART_THR, t.buf, t.n);
    note_sent(r, t.buf, t.n);
    r->burst_len = t.n;

    /* Wait until the transmitter is idle, then report done. */
    if (wait_lsr(r, UART_LSR_THRE | UART_LSR_TEMT) < 0)
        return -1;
    r->lsr_polls++;
    r->lsr_end = inb(r, DEMO_COM1 + UART_LSR);
    post_code(r, 3, 0x7F);
    r->post_read = post_read(r);
    return 0;
}
