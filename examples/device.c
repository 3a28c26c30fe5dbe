/*
 * device.c - the message-port device model.
 *
 * Registers accept any access that stays inside one register (a byte read
 * of a 32-bit register returns that byte lane, a narrow write merges into
 * the register), the buffers accept any size. Everything else counts as a
 * decoding error, which the demo's self-check reports.
 */
#include "device.h"

#include <string.h>

enum reg_id {
    R_ID,
    R_STATUS,
    R_CONTROL,
    R_CMD,
    R_TX_LEN,
    R_RX_LEN,
    R_SCRATCH,
    R_COUNTER,
    R_IRQ_ACK,
    R_SEQ,
    R_SEM,
    R_STAMP,
    R_COUNT
};

static const struct {
    uint32_t offset;
    uint8_t width; /* bytes */
    const char *name;
} regs[R_COUNT] = {
    [R_ID] = {DEMO_REG_ID, 4, "ID"},
    [R_STATUS] = {DEMO_REG_STATUS, 4, "STATUS"},
    [R_CONTROL] = {DEMO_REG_CONTROL, 4, "CONTROL"},
    [R_CMD] = {DEMO_REG_CMD, 4, "CMD"},
    [R_TX_LEN] = {DEMO_REG_TX_LEN, 2, "TX_LEN"},
    [R_RX_LEN] = {DEMO_REG_RX_LEN, 2, "RX_LEN"},
    [R_SCRATCH] = {DEMO_REG_SCRATCH, 4, "SCRATCH"},
    [R_COUNTER] = {DEMO_REG_COUNTER, 8, "COUNTER"},
    [R_IRQ_ACK] = {DEMO_REG_IRQ_ACK, 1, "IRQ_ACK"},
    [R_SEQ] = {DEMO_REG_SEQ, 4, "SEQ"},
    [R_SEM] = {DEMO_REG_SEM, 4, "SEM"},
    [R_STAMP] = {DEMO_REG_STAMP, 8, "STAMP"},
};

void device_power_on(struct device *d)
{
    d->status = 0;
    d->control = DEMO_CTL_RESET_VALUE;
    d->scratch = 0;
    d->seq = 0x100;
    d->sem = 0;
    d->tx_len = 0;
    d->rx_len = 0;
    d->counter = 0;
    d->stamp = 0;
    memset(d->buf, 0, sizeof(d->buf));
    d->ready_reads = 0;
    d->rx_wait = 0;
    d->send_pending = 0;
    memset(d->received, 0, sizeof(d->received));
    d->received_len = 0;
    d->sends = 0;
    d->status_polls = 0;
}

void device_reset(struct device *d)
{
    memset(d, 0, sizeof(*d));
    device_power_on(d);
}

void device_make_reply(const uint8_t *in, unsigned n, uint8_t *out)
{
    for (unsigned i = 0; i < n; i++) {
        uint8_t c = in[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
            c ^= 0x20;
        out[i] = c;
    }
}

const char *device_region_name(uint32_t off, uint32_t *base)
{
    if (off >= DEMO_BUF_TX && off < DEMO_BUF_RX) {
        *base = DEMO_BUF_TX;
        return "TX";
    }
    if (off >= DEMO_BUF_RX && off < DEMO_BUF_RX + DEMO_BUF_HALF) {
        *base = DEMO_BUF_RX;
        return "RX";
    }
    for (int r = 0; r < R_COUNT; r++) {
        if (off >= regs[r].offset && off < regs[r].offset + regs[r].width) {
            *base = regs[r].offset;
            return regs[r].name;
        }
    }
    *base = off;
    return "(unmapped)";
}

static uint64_t get_le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void put_le(uint8_t *p, unsigned n, uint64_t v)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void log_access(struct device *d, uint32_t off, unsigned size,
                       int write, uint64_t value)
{
    struct device_log_entry *e = &d->log[d->log_count % DEVICE_LOG_CAP];
    e->emulation = d->emulation;
    e->offset = (uint16_t)off;
    e->size = (uint8_t)size;
    e->write = (uint8_t)write;
    e->value = value;
    d->log_count++;
}

static void note_error(struct device *d, uint32_t off, unsigned size,
                       int write)
{
    if (d->errors++ == 0) {
        d->first_error_offset = off;
        d->first_error_size = (uint8_t)size;
        d->first_error_write = (uint8_t)write;
    }
}

/* Reads a whole register; with `effects`, as the bus does (a STATUS read
 * advances the device), without, as the write-merge path needs. */
static uint64_t reg_read(struct device *d, enum reg_id r, int effects)
{
    switch (r) {
    case R_ID:
        return DEMO_ID_VALUE;
    case R_STATUS:
        if (!effects)
            return d->status;
        if (!(d->status & DEMO_ST_READY)) {
            d->status_polls++;
            if (++d->ready_reads >= DEMO_READY_POLLS)
                d->status |= DEMO_ST_READY;
        }
        if (d->send_pending && ++d->rx_wait >= DEMO_RX_POLLS) {
            d->status |= DEMO_ST_RX_AVAIL;
            d->send_pending = 0;
        }
        return d->status;
    case R_CONTROL:
        return d->control;
    case R_TX_LEN:
        return d->tx_len;
    case R_RX_LEN:
        return d->rx_len;
    case R_SCRATCH:
        return d->scratch;
    case R_COUNTER:
        return d->counter;
    case R_SEQ:
        return d->seq;
    case R_SEM:
        return d->sem;
    case R_STAMP:
        return d->stamp;
    case R_CMD:
    case R_IRQ_ACK:
    case R_COUNT:
        break;
    }
    return 0; /* write-only registers read as zero */
}

static void do_send(struct device *d, unsigned len)
{
    if (!(d->control & DEMO_CTL_ENABLE) || len > DEMO_BUF_HALF) {
        note_error(d, DEMO_REG_CMD, 4, 1);
        return;
    }
    memcpy(d->received, d->buf, len);
    d->received_len = len;
    device_make_reply(d->buf, len, d->buf + DEMO_BUF_HALF);
    d->rx_len = (uint16_t)len;
    d->status |= DEMO_ST_TX_DONE;
    d->status &= ~(uint32_t)DEMO_ST_RX_AVAIL;
    d->send_pending = 1;
    d->rx_wait = 0;
    d->sends++;
}

/* Writes a whole register; returns -1 for a read-only one. */
static int reg_write(struct device *d, enum reg_id r, uint64_t v)
{
    switch (r) {
    case R_CONTROL:
        d->control = (uint32_t)v;
        return 0;
    case R_CMD:
        if ((v & 0xFF) == DEMO_CMD_SEND)
            do_send(d, (unsigned)(v >> DEMO_CMD_LEN_SHIFT) & 0xFFFF);
        else
            note_error(d, DEMO_REG_CMD, 4, 1);
        return 0;
    case R_TX_LEN:
        d->tx_len = (uint16_t)v;
        return 0;
    case R_SCRATCH:
        d->scratch = (uint32_t)v;
        return 0;
    case R_IRQ_ACK:
        d->status &= ~((uint32_t)v & (DEMO_ST_RX_AVAIL | DEMO_ST_TX_DONE));
        return 0;
    case R_SEQ:
        d->seq = (uint32_t)v;
        return 0;
    case R_SEM:
        d->sem = (uint32_t)v;
        return 0;
    case R_STAMP:
        d->stamp = v;
        return 0;
    case R_ID:
    case R_STATUS:
    case R_RX_LEN:
    case R_COUNTER:
    case R_COUNT:
        break;
    }
    return -1;
}

static int find_reg(uint32_t off, unsigned size)
{
    for (int r = 0; r < R_COUNT; r++) {
        uint32_t lo = regs[r].offset, hi = lo + regs[r].width;
        if (off >= lo && off < hi)
            return off + size <= hi ? r : -1;
    }
    return -1;
}

int device_access(struct device *d, uint32_t off, unsigned size, int write,
                  uint8_t *data)
{
    int rc = 0;

    if (size < 1 || size > 8 || off >= DEMO_WINDOW_SIZE ||
        off + size > DEMO_WINDOW_SIZE) {
        note_error(d, off, size, write);
        if (!write)
            memset(data, 0xFF, size <= 8 ? size : 8);
        return -1;
    }
    d->counter++;
    if (write)
        d->writes++;
    else
        d->reads++;
    d->by_size[size][write ? 1 : 0]++;

    if (off >= DEMO_BUF_TX && off + size <= DEMO_BUF_TX + 2 * DEMO_BUF_HALF) {
        uint8_t *p = d->buf + (off - DEMO_BUF_TX);
        if (write)
            memcpy(p, data, size);
        else
            memcpy(data, p, size);
    } else {
        int r = find_reg(off, size);
        if (r < 0) {
            rc = -1;
        } else {
            unsigned shift = 8 * (off - regs[r].offset);
            uint64_t mask = size == 8 ? ~0ull : ((1ull << (8 * size)) - 1);
            if (write) {
                uint64_t v = get_le(data, size);
                uint64_t old =
                    regs[r].width == size ? 0 : reg_read(d, (enum reg_id)r, 0);
                uint64_t merged = (old & ~(mask << shift)) | (v << shift);
                rc = reg_write(d, (enum reg_id)r, merged);
            } else {
                put_le(data, size, reg_read(d, (enum reg_id)r, 1) >> shift);
            }
        }
        if (rc < 0) {
            note_error(d, off, size, write);
            if (!write)
                memset(data, 0xFF, size);
        }
    }
    log_access(d, off, size, write, get_le(data, size));
    return rc;
}
