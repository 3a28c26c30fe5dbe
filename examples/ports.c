/*
 * ports.c - the port-I/O devices: a 16550-style UART and a board
 * controller. Everything here runs inside the SIGSEGV handler, so it is
 * plain structure updates plus write(2) for the console.
 *
 * The UART's transmitter is infinitely fast: THRE and TEMT are always set
 * and a byte written to THR is on the line at once. Loopback mode (MCR
 * bit 4) sends THR bytes to the receive FIFO and mirrors MCR in MSR.
 */
#define _GNU_SOURCE

#include "ports.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

static const char board_name[] = DEMO_BOARD_NAME;

/* ---- console ---------------------------------------------------------------- */

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static void console_emit(struct uart16550 *u)
{
    char out[PORTS_LINE_CAP + 48];
    size_t n = 0;
    const char *p = u->echo_prefix ? u->echo_prefix : "";

    while (*p && n < 40)
        out[n++] = *p++;
    memcpy(out + n, u->line, u->line_len);
    n += u->line_len;
    out[n++] = '\n';
    u->line_len = 0;
    if (u->echo_fd >= 0) {
        int saved = errno;
        write_all(u->echo_fd, out, n);
        errno = saved;
    }
}

static void console_put(struct uart16550 *u, uint8_t c)
{
    if (u->echo_fd < 0)
        return;
    if (c == '\n') {
        console_emit(u);
        return;
    }
    if (c == '\r')
        return; /* the terminal's newline does both */
    u->line[u->line_len++] = (c >= 0x20 && c < 0x7F) ? (char)c : '.';
    if (u->line_len == PORTS_LINE_CAP)
        console_emit(u);
}

void ports_console_flush(struct port_bus *b)
{
    if (b->com1.line_len)
        console_emit(&b->com1);
}

/* ---- UART ------------------------------------------------------------------- */

static void uart_power_on(struct uart16550 *u)
{
    static const char rx_text[] = DEMO_UART_RX_TEXT;
    int fd = u->echo_fd;
    const char *prefix = u->echo_prefix;

    memset(u, 0, sizeof(*u));
    u->echo_fd = fd;
    u->echo_prefix = prefix;
    /* The line is idle, THR empty; the far end has typed rx_text. */
    for (unsigned i = 0; i + 1 < sizeof(rx_text) && i < UART_RX_FIFO; i++)
        u->rx[u->rx_count++] = (uint8_t)rx_text[i];
}

static void uart_rx_push(struct uart16550 *u, uint8_t c)
{
    if (u->rx_count == UART_RX_FIFO) {
        u->lsr_oe = 1;
        return;
    }
    u->rx[(u->rx_head + u->rx_count) % UART_RX_FIFO] = c;
    u->rx_count++;
}

static void uart_transmit(struct uart16550 *u, uint8_t c)
{
    if (u->mcr & UART_MCR_LOOP) {
        uart_rx_push(u, c);
    } else {
        if (u->tx_len < PORTS_TX_CAP)
            u->tx[u->tx_len++] = c;
        u->tx_count++;
        console_put(u, c);
    }
    /* THR is empty again at once. */
    if (u->ier & 0x02)
        u->thre_irq = 1;
}

static uint8_t uart_read(struct uart16550 *u, unsigned reg)
{
    uint8_t v = 0;

    switch (reg) {
    case UART_RBR: /* also DLL */
        if (u->lcr & UART_LCR_DLAB)
            return u->dll;
        if (u->rx_count) {
            v = u->rx[u->rx_head];
            u->rx_head = (u->rx_head + 1) % UART_RX_FIFO;
            u->rx_count--;
            u->rx_taken++;
        }
        return v;
    case UART_IER: /* also DLM */
        return (u->lcr & UART_LCR_DLAB) ? u->dlm : u->ier;
    case UART_IIR:
        if ((u->ier & 0x01) && u->rx_count) {
            v = UART_IIR_RX;
        } else if ((u->ier & 0x02) && u->thre_irq) {
            v = UART_IIR_THRE;
            u->thre_irq = 0; /* reading IIR acknowledges it */
        } else {
            v = UART_IIR_NONE;
        }
        if (u->fcr & UART_FCR_ENABLE)
            v |= UART_IIR_FIFO_ON;
        return v;
    case UART_LCR:
        return u->lcr;
    case UART_MCR:
        return u->mcr;
    case UART_LSR:
        u->lsr_reads++;
        v = UART_LSR_THRE | UART_LSR_TEMT;
        if (u->rx_count)
            v |= UART_LSR_DR;
        if (u->lsr_oe)
            v |= UART_LSR_OE;
        u->lsr_oe = 0;
        return v;
    case UART_MSR:
        if (u->mcr & UART_MCR_LOOP)
            return (uint8_t)(((u->mcr & UART_MCR_RTS) ? UART_MSR_CTS : 0) |
                             ((u->mcr & UART_MCR_DTR) ? UART_MSR_DSR : 0) |
                             ((u->mcr & 0x04) ? 0x40 : 0) |
                             ((u->mcr & UART_MCR_OUT2) ? UART_MSR_DCD : 0));
        return UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
    case UART_SCR:
        return u->scr;
    default:
        return 0xFF;
    }
}

static void uart_write(struct uart16550 *u, unsigned reg, uint8_t v)
{
    switch (reg) {
    case UART_THR: /* also DLL */
        if (u->lcr & UART_LCR_DLAB) {
            u->dll = v;
            u->divisor_writes++;
        } else {
            u->thre_irq = 0;
            uart_transmit(u, v);
        }
        break;
    case UART_IER: /* also DLM */
        if (u->lcr & UART_LCR_DLAB) {
            u->dlm = v;
            u->divisor_writes++;
        } else {
            /* Enabling the THRE interrupt with THR empty raises it. */
            if ((v & 0x02) && !(u->ier & 0x02))
                u->thre_irq = 1;
            u->ier = v & 0x0F;
        }
        break;
    case UART_FCR:
        u->fcr = v & (UART_FCR_ENABLE | UART_FCR_TRIGGER_14);
        if (v & UART_FCR_CLEAR_RX) {
            u->rx_head = 0;
            u->rx_count = 0;
        }
        break;
    case UART_LCR:
        u->lcr = v;
        break;
    case UART_MCR:
        u->mcr = v & 0x1F;
        break;
    case UART_LSR:
    case UART_MSR:
        break; /* read-only (factory test writes ignored) */
    case UART_SCR:
        u->scr = v;
        break;
    default:
        break;
    }
}

unsigned ports_uart_divisor(const struct port_bus *b)
{
    return (unsigned)b->com1.dll | ((unsigned)b->com1.dlm << 8);
}

/* ---- board controller and the bus ----------------------------------------- */

void ports_power_on(struct port_bus *b)
{
    uart_power_on(&b->com1);
    b->post = 0;
    b->n_post = 0;
    memset(b->post_log, 0, sizeof(b->post_log));
    b->cfg = 0;
    b->name_pos = 0;
    b->unknown_round = 0;
}

void ports_reset(struct port_bus *b)
{
    memset(b, 0, sizeof(*b));
    b->com1.echo_fd = -1;
    ports_power_on(b);
}

/* One byte lane. Returns 0, or -1 when no device claims the port. */
static int port_byte(struct port_bus *b, uint16_t port, int write,
                     uint8_t *v)
{
    if (port >= DEMO_COM1 && port < DEMO_COM1 + UART_PORTS) {
        if (write)
            uart_write(&b->com1, port - DEMO_COM1, *v);
        else
            *v = uart_read(&b->com1, port - DEMO_COM1);
        return 0;
    }
    if (port == DEMO_PORT_POST) {
        if (write) {
            b->post = *v;
            if (b->n_post < PORTS_POST_CAP)
                b->post_log[b->n_post++] = *v;
        } else {
            *v = b->post;
        }
        return 0;
    }
    if (port >= DEMO_PORT_BOARD_ID && port < DEMO_PORT_BOARD_ID + 4) {
        if (!write)
            *v = (uint8_t)(DEMO_BOARD_ID_VALUE >>
                           (8 * (port - DEMO_PORT_BOARD_ID)));
        return 0;
    }
    if (port >= DEMO_PORT_BOARD_CFG && port < DEMO_PORT_BOARD_CFG + 2) {
        unsigned shift = 8 * (port - DEMO_PORT_BOARD_CFG);
        if (write)
            b->cfg = (uint16_t)((b->cfg & ~(0xFFu << shift)) |
                                ((unsigned)*v << shift));
        else
            *v = (uint8_t)((b->cfg | DEMO_BOARD_CFG_LATCHED) >> shift);
        return 0;
    }
    if (port == DEMO_PORT_BOARD_NAME) {
        if (write) {
            b->name_pos = 0;
        } else {
            *v = b->name_pos + 1 < sizeof(board_name)
                     ? (uint8_t)board_name[b->name_pos++]
                     : 0;
        }
        return 0;
    }
    if (!write)
        *v = 0xFF; /* nobody drives the bus */
    return -1;
}

int ports_access(struct port_bus *b, uint16_t port, unsigned size, int write,
                 uint32_t *data)
{
    unsigned lg = size == 4 ? 2 : size == 2 ? 1 : 0;
    uint32_t in = 0;
    int unclaimed = 0;

    if (size != 1 && size != 2 && size != 4)
        size = 1u << lg;
    b->accesses++;
    b->by_size[lg][write ? 1 : 0]++;
    for (unsigned i = 0; i < size; i++) {
        uint8_t v = write ? (uint8_t)(*data >> (8 * i)) : 0;
        if (port_byte(b, (uint16_t)(port + i), write, &v) < 0)
            unclaimed = 1;
        in |= (uint32_t)v << (8 * i);
    }
    if (!write)
        *data = in;
    if (unclaimed) {
        if (b->unknown++ == 0) {
            b->first_unknown_port = port;
            b->first_unknown_size = (uint8_t)size;
            b->first_unknown_write = (uint8_t)(write != 0);
        }
        b->unknown_round++;
    }
    return 0;
}
