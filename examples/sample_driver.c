/*
 * sample_driver.c - a plain memory-mapped device driver routine.
 *
 * Nothing in here knows about the emulator: it is the kind of code a real
 * driver contains, and every access to the window simply goes to whatever
 * is mapped there. The demo maps nothing there, so each access faults and
 * is completed by the instruction emulator.
 *
 * Build this file with -mgeneral-regs-only -fno-builtin
 * -fno-tree-loop-distribute-patterns so that the compiler neither uses
 * SSE moves nor turns the copy loops into memcpy/memset calls: the
 * emulator implements the general-purpose instruction set only.
 *
 * A few accesses are written in inline assembly to get instruction forms
 * compilers produce only in some situations (string moves, bit tests and
 * push/pop with a memory operand).
 */
#include "sample_driver.h"

#include <stddef.h>

#include "demo_regs.h"

#define MAX_POLLS 1000u

static inline volatile uint8_t *reg8(volatile uint8_t *io, unsigned off)
{
    return io + off;
}

static inline volatile uint16_t *reg16(volatile uint8_t *io, unsigned off)
{
    return (volatile uint16_t *)(io + off);
}

static inline volatile uint32_t *reg32(volatile uint8_t *io, unsigned off)
{
    return (volatile uint32_t *)(io + off);
}

static inline volatile uint64_t *reg64(volatile uint8_t *io, unsigned off)
{
    return (volatile uint64_t *)(io + off);
}

/* Little-endian assembly of RAM bytes, without type punning. */
static inline uint64_t load_le(const unsigned char *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Fills the TX buffer: the first quarter with byte stores, then 16-, 32-
 * and 64-bit stores, the way a driver copies with the widest access the
 * alignment allows. `len` is a multiple of 8 here. */
static void write_tx(volatile uint8_t *io, const unsigned char *msg,
                     unsigned len)
{
    unsigned q = len / 4;
    unsigned i = 0;

    for (; i < q; i++)
        *reg8(io, DEMO_BUF_TX + i) = msg[i];
    for (; i < 2 * q; i += 2)
        *reg16(io, DEMO_BUF_TX + i) = (uint16_t)load_le(msg + i, 2);
    for (; i < 3 * q; i += 4)
        *reg32(io, DEMO_BUF_TX + i) = (uint32_t)load_le(msg + i, 4);
    for (; i + 8 <= len; i += 8)
        *reg64(io, DEMO_BUF_TX + i) = load_le(msg + i, 8);
    for (; i < len; i++)
        *reg8(io, DEMO_BUF_TX + i) = msg[i];
}

/* Reads the TX buffer back with 32-bit loads and counts differing bytes. */
static uint32_t verify_tx(volatile uint8_t *io, const unsigned char *msg,
                          unsigned len)
{
    uint32_t bad = 0;

    for (unsigned i = 0; i + 4 <= len; i += 4) {
        uint32_t v = *reg32(io, DEMO_BUF_TX + i);
        for (unsigned b = 0; b < 4; b++)
            if ((unsigned char)(v >> (8 * b)) != msg[i + b])
                bad++;
    }
    return bad;
}

/* Zeroes `qwords` 8-byte units of device memory with REP STOSQ. */
static void clear_qwords(volatile uint8_t *dst, size_t qwords)
{
    __asm__ volatile("rep stosq"
                     : "+D"(dst), "+c"(qwords)
                     : "a"((uint64_t)0)
                     : "memory");
}

/* Copies `n` bytes with REP MOVSB (here: device memory to RAM). */
static void copy_bytes(unsigned char *dst, const volatile uint8_t *src,
                       size_t n)
{
    __asm__ volatile("rep movsb"
                     : "+D"(dst), "+S"(src), "+c"(n)
                     :
                     : "memory");
}

/* BT with a memory operand, as the kernel's test_bit() does. */
static inline int test_bit32(volatile uint32_t *reg, unsigned bit)
{
    unsigned char c;
    __asm__ volatile("btl %2, %1\n\tsetc %0"
                     : "=q"(c)
                     : "m"(*reg), "Ir"(bit)
                     : "cc");
    return c;
}

/* TEST with a memory operand. */
static inline int test_mask32(volatile uint32_t *reg, uint32_t mask)
{
    unsigned char nz;
    __asm__ volatile("testl %2, %1\n\tsetnz %0"
                     : "=q"(nz)
                     : "m"(*reg), "ri"(mask)
                     : "cc");
    return nz;
}

/* PUSH from device memory, POP into a register. The stack pointer is moved
 * past the red zone first, since this may run in a leaf function. */
static inline uint64_t push_read64(volatile uint64_t *reg)
{
    uint64_t v;
    __asm__ volatile("lea -128(%%rsp), %%rsp\n\t"
                     "pushq %1\n\t"
                     "popq %0\n\t"
                     "lea 128(%%rsp), %%rsp"
                     : "=r"(v)
                     : "m"(*reg)
                     : "memory");
    return v;
}

/* PUSH a register, POP into device memory. */
static inline void pop_write64(volatile uint64_t *reg, uint64_t v)
{
    __asm__ volatile("lea -128(%%rsp), %%rsp\n\t"
                     "pushq %1\n\t"
                     "popq %0\n\t"
                     "lea 128(%%rsp), %%rsp"
                     : "=m"(*reg)
                     : "r"(v)
                     : "memory");
}

int sample_driver_run(void *mmio, const unsigned char *msg, unsigned len,
                      unsigned char *reply, unsigned cap, uint64_t stamp,
                      struct driver_result *res)
{
    volatile uint8_t *io = mmio;
    volatile uint32_t *status = reg32(io, DEMO_REG_STATUS);
    volatile uint32_t *control = reg32(io, DEMO_REG_CONTROL);
    uint32_t polls = 0;

    res->id = *reg32(io, DEMO_REG_ID);
    if (res->id != DEMO_ID_VALUE)
        return -1;

    /* Wait for the self-test: a plain load and a compiler-chosen test. */
    do {
        polls++;
    } while (!(*status & DEMO_ST_READY) && polls < MAX_POLLS);
    res->ready_polls = polls;
    if (polls >= MAX_POLLS)
        return -1;

    /* Configure: enable, unmask RX interrupts, flip the parity, and set
     * the FIFO bit with a locked RMW (another agent could be touching the
     * register). */
    *control |= DEMO_CTL_ENABLE;
    *control &= ~DEMO_CTL_IRQ_RX;
    *control ^= DEMO_CTL_PARITY;
    __atomic_fetch_or(control, DEMO_CTL_FIFO, __ATOMIC_SEQ_CST);

    /* Claim the hardware semaphore (LOCK CMPXCHG), leave a marker in the
     * scratch register (XCHG) and take a sequence number (LOCK XADD). */
    {
        uint32_t expected = 0;
        res->sem_taken = __atomic_compare_exchange_n(
            reg32(io, DEMO_REG_SEM), &expected, 0xD00Du, 0,
            __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
    }
    res->scratch_old =
        __atomic_exchange_n(reg32(io, DEMO_REG_SCRATCH), 0xA5A5A5A5u,
                            __ATOMIC_SEQ_CST);
    res->seq = __atomic_fetch_add(reg32(io, DEMO_REG_SEQ), 1u,
                                  __ATOMIC_SEQ_CST);

    /* Stage the message. */
    if (len > DEMO_BUF_HALF)
        len = DEMO_BUF_HALF;
    clear_qwords(io + DEMO_BUF_TX, DEMO_BUF_HALF / 8);
    write_tx(io, msg, len);
    *reg16(io, DEMO_REG_TX_LEN) = (uint16_t)len;
    res->tx_mismatch = verify_tx(io, msg, len);
    pop_write64(reg64(io, DEMO_REG_STAMP), stamp);

    /* Send, then wait for the reply with BT on the status register. */
    *reg32(io, DEMO_REG_CMD) = DEMO_CMD_SEND | (len << DEMO_CMD_LEN_SHIFT);
    polls = 0;
    do {
        polls++;
    } while (!test_bit32(status, DEMO_ST_RX_AVAIL_BIT) && polls < MAX_POLLS);
    res->rx_polls = polls;

    /* Fetch the reply with one string move, then acknowledge it. */
    res->rx_len = *reg16(io, DEMO_REG_RX_LEN);
    {
        unsigned n = res->rx_len < cap ? res->rx_len : cap;
        copy_bytes(reply, io + DEMO_BUF_RX, n);
        *reg8(io, DEMO_REG_IRQ_ACK) = DEMO_ST_RX_AVAIL | DEMO_ST_TX_DONE;
        res->rx_left = test_mask32(status, DEMO_ST_RX_AVAIL);

        /* Release the semaphore, read the bookkeeping registers. */
        if (res->sem_taken)
            __atomic_store_n(reg32(io, DEMO_REG_SEM), 0u, __ATOMIC_RELEASE);
        res->stamp = *reg64(io, DEMO_REG_STAMP);
        res->counter = push_read64(reg64(io, DEMO_REG_COUNTER));
        res->control = *control;
        return (int)n;
    }
}
