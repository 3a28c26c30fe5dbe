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

/* ---- packet RAM test ------------------------------------------------------
 *
 * Each step is one asm statement so that the instruction form is fixed and
 * the flags are read right after it. Only flags the architecture defines
 * for the step are kept; addresses are recorded relative to their buffers,
 * so the native run and the run on the device compare equal.
 */

#define SAVE_FLAGS                                                         \
    "\n\tlea -128(%%rsp), %%rsp\n\tpushfq\n\tpopq %[f]\n\tlea 128(%%rsp), %%rsp"

#define F_ARITH 0x8D5u /* OF SF ZF AF PF CF */
#define F_LOGIC 0x8C5u /* OF SF ZF PF CF */
#define F_SHIFT 0x0C5u /* SF ZF PF CF (count above 1: OF undefined) */
#define F_CF 0x001u
#define F_CFOF 0x801u

static void rec(struct memtest_log *l, const char *what, uint64_t v)
{
    if (l->n < MEMTEST_MAX) {
        l->what[l->n] = what;
        l->value[l->n] = v;
        l->n++;
    }
}

static void memtest_alu(volatile uint8_t *p, struct memtest_log *l)
{
    uint64_t f, a, c;

    __asm__ volatile("addl $0x7fffffff, 0(%[p])" SAVE_FLAGS
                     : [f] "=r"(f) : [p] "r"(p) : "memory", "cc");
    rec(l, "add m32, imm32: flags", f & F_ARITH);
    a = 0x123456789ABCDEF0ull;
    __asm__ volatile("subq %[a], 8(%[p])" SAVE_FLAGS
                     : [f] "=r"(f) : [p] "r"(p), [a] "r"(a) : "memory", "cc");
    rec(l, "sub m64, r64: flags", f & F_ARITH);
    c = 0xF0;
    __asm__ volatile("stc\n\tadcb %b[c], 0x12(%[p])" SAVE_FLAGS
                     : [f] "=r"(f) : [p] "r"(p), [c] "q"(c) : "memory", "cc");
    rec(l, "adc m8, r8: flags", f & F_ARITH);
    __asm__ volatile("stc\n\tsbbw $0x1234, 0x10(%[p])" SAVE_FLAGS
                     : [f] "=r"(f) : [p] "r"(p) : "memory", "cc");
    rec(l, "sbb m16, imm16: flags", f & F_ARITH);

    a = ~0ull;
    __asm__ volatile("orl 0(%[p]), %k[a]" SAVE_FLAGS
                     : [f] "=r"(f), [a] "+r"(a) : [p] "r"(p) : "memory", "cc");
    rec(l, "or r32, m32: value", a);
    rec(l, "or r32, m32: flags", f & F_LOGIC);
    a = 0x00FF00FF00FF00FFull;
    __asm__ volatile("andq 8(%[p]), %[a]" SAVE_FLAGS
                     : [f] "=r"(f), [a] "+r"(a) : [p] "r"(p) : "memory", "cc");
    rec(l, "and r64, m64: value", a);
    rec(l, "and r64, m64: flags", f & F_LOGIC);
    a = 0x1234;
    __asm__ volatile("xorb 0x13(%[p]), %%ah" SAVE_FLAGS
                     : [f] "=r"(f), "+a"(a) : [p] "b"(p) : "memory", "cc");
    rec(l, "xor ah, m8: value", a);
    rec(l, "xor ah, m8: flags", f & F_LOGIC);
    __asm__ volatile("cmpl $0x1000, 0x14(%[p])" SAVE_FLAGS
                     : [f] "=r"(f) : [p] "r"(p) : "memory", "cc");
    rec(l, "cmp m32, imm32: flags", f & F_ARITH);
    a = 0x8000000000000001ull;
    __asm__ volatile("testq %[a], 0x18(%[p])" SAVE_FLAGS
                     : [f] "=r"(f) : [p] "r"(p), [a] "r"(a) : "memory", "cc");
    rec(l, "test m64, r64: flags", f & F_LOGIC);

    __asm__ volatile("stc\n\tincb 0x12(%[p])" SAVE_FLAGS
                     : [f] "=r"(f) : [p] "r"(p) : "memory", "cc");
    rec(l, "inc m8: flags", f & F_ARITH);
    __asm__ volatile("clc\n\tdecw 0x10(%[p])" SAVE_FLAGS
                     : [f] "=r"(f) : [p] "r"(p) : "memory", "cc");
    rec(l, "dec m16: flags", f & F_ARITH);
    __asm__ volatile("negl 4(%[p])" SAVE_FLAGS
                     : [f] "=r"(f) : [p] "r"(p) : "memory", "cc");
    rec(l, "neg m32: flags", f & F_ARITH);
    __asm__ volatile("notq 0x18(%[p])" : : [p] "r"(p) : "memory");

    /* 16-bit immediates and SIB addressing. */
    __asm__ volatile("movw $0xBEEF, 0x10(%[p])\n\taddw $-1, 0x10(%[p])" SAVE_FLAGS
                     : [f] "=r"(f) : [p] "r"(p) : "memory", "cc");
    rec(l, "add m16, imm8: flags", f & F_ARITH);
    a = 0;
    c = 3;
    __asm__ volatile("movl 4(%[p],%[i],4), %k[a]"
                     : [a] "+r"(a) : [p] "r"(p), [i] "r"(c) : "memory");
    rec(l, "mov r32, [base+index*4+disp]", a);
    a = 0x1111;
    c = 2;
    __asm__ volatile("addq %[a], -8(%[p],%[i],8)" SAVE_FLAGS
                     : [f] "=r"(f) : [p] "r"(p), [i] "r"(c), [a] "r"(a)
                     : "memory", "cc");
    rec(l, "add [base+index*8-8], r64: flags", f & F_ARITH);
}

static void memtest_shift_bit(volatile uint8_t *p, struct memtest_log *l)
{
    uint64_t f, c;

    __asm__ volatile("shll $3, 0(%[p])" SAVE_FLAGS
                     : [f] "=r"(f) : [p] "r"(p) : "memory", "cc");
    rec(l, "shl m32, 3: flags", f & F_SHIFT);
    __asm__ volatile("shrq $1, 8(%[p])" SAVE_FLAGS
                     : [f] "=r"(f) : [p] "r"(p) : "memory", "cc");
    rec(l, "shr m64, 1: flags", f & F_LOGIC);
    c = 5;
    __asm__ volatile("sarw %%cl, 0x10(%[p])" SAVE_FLAGS
                     : [f] "=r"(f) : [p] "r"(p), "c"(c) : "memory", "cc");
    rec(l, "sar m16, cl: flags", f & F_SHIFT);
    __asm__ volatile("rolb $4, 0x13(%[p])" SAVE_FLAGS
                     : [f] "=r"(f) : [p] "r"(p) : "memory", "cc");
    rec(l, "rol m8, 4: flags", f & F_CF);
    __asm__ volatile("stc\n\trclq $1, 0x18(%[p])" SAVE_FLAGS
                     : [f] "=r"(f) : [p] "r"(p) : "memory", "cc");
    rec(l, "rcl m64, 1: flags", f & F_CFOF);
    __asm__ volatile("clc\n\trcrl $7, 0x14(%[p])" SAVE_FLAGS
                     : [f] "=r"(f) : [p] "r"(p) : "memory", "cc");
    rec(l, "rcr m32, 7: flags", f & F_CF);

    __asm__ volatile("btl $5, 0(%[p])" SAVE_FLAGS
                     : [f] "=r"(f) : [p] "r"(p) : "memory", "cc");
    rec(l, "bt m32, 5: CF", f & F_CF);
    __asm__ volatile("btsq $40, 8(%[p])" SAVE_FLAGS
                     : [f] "=r"(f) : [p] "r"(p) : "memory", "cc");
    rec(l, "bts m64, 40: CF", f & F_CF);
    __asm__ volatile("btrw $3, 0x10(%[p])" SAVE_FLAGS
                     : [f] "=r"(f) : [p] "r"(p) : "memory", "cc");
    rec(l, "btr m16, 3: CF", f & F_CF);
    /* With a register bit offset the operand is only the start of a bit
     * string: bit 100 is in the dword at +12, bit -8 in the qword at -8. */
    c = 100;
    __asm__ volatile("btcl %k[c], 0(%[p])" SAVE_FLAGS
                     : [f] "=r"(f) : [p] "r"(p), [c] "r"(c) : "memory", "cc");
    rec(l, "btc m32, r32=100: CF", f & F_CF);
    c = (uint64_t)-8;
    __asm__ volatile("btq %[c], 0(%[p])" SAVE_FLAGS
                     : [f] "=r"(f) : [p] "r"(p), [c] "r"(c) : "memory", "cc");
    rec(l, "bt m64, r64=-8: CF", f & F_CF);
    c = (uint64_t)-1;
    __asm__ volatile("btsw %w[c], 0(%[p])" SAVE_FLAGS
                     : [f] "=r"(f) : [p] "r"(p), [c] "r"(c) : "memory", "cc");
    rec(l, "bts m16, r16=-1: CF", f & F_CF);
}

static void memtest_misc(volatile uint8_t *p, uint64_t fs_base,
                         int have_movbe, struct memtest_log *l)
{
    uint64_t f, a, c, d;

    a = ~0ull;
    __asm__ volatile("movzbl 0x12(%[p]), %k[a]" : [a] "+r"(a) : [p] "r"(p) : "memory");
    rec(l, "movzx r32, m8", a);
    __asm__ volatile("movswq 0x10(%[p]), %[a]" : [a] "+r"(a) : [p] "r"(p) : "memory");
    rec(l, "movsx r64, m16", a);
    __asm__ volatile("movslq 4(%[p]), %[a]" : [a] "+r"(a) : [p] "r"(p) : "memory");
    rec(l, "movsxd r64, m32", a);
    a = ~0ull;
    __asm__ volatile("movsbl 0x13(%[p]), %k[a]" : [a] "+r"(a) : [p] "r"(p) : "memory");
    rec(l, "movsx r32, m8", a);

    __asm__ volatile("testl $0, 0(%[p])\n\tsete 0x20(%[p])\n\tsetne 0x21(%[p])"
                     : : [p] "r"(p) : "memory", "cc");
    /* A 32-bit CMOV writes its register (clearing bits 63:32) even when
     * the condition is false; the memory operand is read either way. */
    a = ~0ull;
    __asm__ volatile("cmpl %k[a], %k[a]\n\tcmovnel 0x14(%[p]), %k[a]"
                     : [a] "+r"(a) : [p] "r"(p) : "memory", "cc");
    rec(l, "cmovne r32, m32 (not taken)", a);
    a = ~0ull;
    c = 0;
    __asm__ volatile("cmpl $1, %k[c]\n\tcmovnel 0x14(%[p]), %k[a]"
                     : [a] "+r"(a) : [p] "r"(p), [c] "r"(c) : "memory", "cc");
    rec(l, "cmovne r32, m32 (taken)", a);
    a = ~0ull;
    __asm__ volatile("testq %[a], %[a]\n\tcmovsq 8(%[p]), %[a]"
                     : [a] "+r"(a) : [p] "r"(p) : "memory", "cc");
    rec(l, "cmovs r64, m64 (taken)", a);

    a = 0x9ABCDEF0;
    d = ~0ull;
    __asm__ volatile("mull 0(%[p])" SAVE_FLAGS
                     : [f] "=r"(f), "+a"(a), "+d"(d) : [p] "r"(p) : "memory", "cc");
    rec(l, "mul m32: edx:eax", (d << 32) | (a & 0xFFFFFFFFu));
    rec(l, "mul m32: flags", f & F_CFOF);
    a = 0x1234567;
    __asm__ volatile("imulq 8(%[p]), %[a]" SAVE_FLAGS
                     : [f] "=r"(f), [a] "+r"(a) : [p] "r"(p) : "memory", "cc");
    rec(l, "imul r64, m64: value", a);
    rec(l, "imul r64, m64: flags", f & F_CFOF);
    a = 0x5555555555555555ull;
    __asm__ volatile("imulw $-3, 0x10(%[p]), %w[a]" SAVE_FLAGS
                     : [f] "=r"(f), [a] "+r"(a) : [p] "r"(p) : "memory", "cc");
    rec(l, "imul r16, m16, imm8: value", a);
    rec(l, "imul r16, m16, imm8: flags", f & F_CFOF);
    a = 0x9ABCDEF0;
    d = 0x12345;
    __asm__ volatile("movl $0x1234567, 0x14(%[p])\n\tdivl 0x14(%[p])"
                     : "+a"(a), "+d"(d) : [p] "r"(p) : "memory", "cc");
    rec(l, "div m32: quotient", a);
    rec(l, "div m32: remainder", d);
    a = (uint64_t)-123456789012345ll;
    __asm__ volatile("movq $-7777777, 0x18(%[p])\n\tcqo\n\tidivq 0x18(%[p])"
                     : "+a"(a), "=d"(d) : [p] "r"(p) : "memory", "cc");
    rec(l, "idiv m64: quotient", a);
    rec(l, "idiv m64: remainder", d);

    c = 0x7F;
    __asm__ volatile("xaddb %b[c], 0x12(%[p])" SAVE_FLAGS
                     : [f] "=r"(f), [c] "+q"(c) : [p] "r"(p) : "memory", "cc");
    rec(l, "xadd m8, r8: register", c);
    rec(l, "xadd m8, r8: flags", f & F_ARITH);
    c = 0x100000001ull;
    __asm__ volatile("lock xaddq %[c], 0x18(%[p])" SAVE_FLAGS
                     : [f] "=r"(f), [c] "+r"(c) : [p] "r"(p) : "memory", "cc");
    rec(l, "lock xadd m64, r64: register", c);
    rec(l, "lock xadd m64, r64: flags", f & F_ARITH);
    a = 0xDEAD;
    c = 0xBEEF;
    __asm__ volatile("cmpxchgw %w[c], 0x10(%[p])" SAVE_FLAGS
                     : [f] "=r"(f), "+a"(a) : [p] "r"(p), [c] "r"(c) : "memory", "cc");
    rec(l, "cmpxchg m16, r16 (fails): ax", a);
    rec(l, "cmpxchg m16, r16 (fails): flags", f & F_ARITH);
    __asm__ volatile("lock cmpxchgw %w[c], 0x10(%[p])" SAVE_FLAGS
                     : [f] "=r"(f), "+a"(a) : [p] "r"(p), [c] "r"(c) : "memory", "cc");
    rec(l, "lock cmpxchg m16, r16 (succeeds): ax", a);
    rec(l, "lock cmpxchg m16, r16 (succeeds): flags", f & F_ARITH);
    c = 0x5A;
    __asm__ volatile("xchgb %b[c], 0x13(%[p])" : [c] "+q"(c) : [p] "r"(p) : "memory");
    rec(l, "xchg m8, r8: register", c);

    if (have_movbe) {
        a = ~0ull;
        __asm__ volatile("movbel 0(%[p]), %k[a]" : [a] "+r"(a) : [p] "r"(p) : "memory");
        rec(l, "movbe r32, m32", a);
        a = 0x0102030405060708ull;
        __asm__ volatile("movbeq %[a], 8(%[p])" : : [a] "r"(a), [p] "r"(p) : "memory");
    }
    if (fs_base) {
        a = (uint64_t)(uintptr_t)p + 0x14 - fs_base;
        __asm__ volatile("movl %%fs:(%[a]), %k[a]" : [a] "+r"(a) : : "memory");
        rec(l, "mov r32, fs:[reg]", a);
    }
}

static void memtest_string(volatile uint8_t *p, const unsigned char *ram,
                           struct memtest_log *l)
{
    uintptr_t base = (uintptr_t)p, rbase = (uintptr_t)ram;
    uint64_t f, a, c;
    const volatile void *s;
    volatile void *d;

    /* RAM to device, forward. */
    d = p + 0x20;
    s = ram;
    c = 16;
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(c) : : "memory");
    rec(l, "rep movsb ram->dev: rdi", (uintptr_t)d - base);
    rec(l, "rep movsb ram->dev: rsi", (uintptr_t)s - rbase);
    rec(l, "rep movsb ram->dev: rcx", c);
    /* Device to device, backward (DF=1). */
    d = p + 0x3C;
    s = p + 0x2C;
    c = 4;
    __asm__ volatile("std\n\trep movsl\n\tcld" : "+D"(d), "+S"(s), "+c"(c) : : "memory", "cc");
    rec(l, "std; rep movsd dev->dev: rdi", (uintptr_t)d - base);
    rec(l, "std; rep movsd dev->dev: rsi", (uintptr_t)s - base);
    /* LODS and REP STOS. */
    s = p + 0x22;
    a = ~0ull;
    __asm__ volatile("lodsw" : "+S"(s), "+a"(a) : : "memory");
    rec(l, "lodsw: ax", a);
    rec(l, "lodsw: rsi", (uintptr_t)s - base);
    d = p + 0x24;
    c = 3;
    a = 0xA55A;
    __asm__ volatile("rep stosw" : "+D"(d), "+c"(c) : "a"(a) : "memory");
    rec(l, "rep stosw: rdi", (uintptr_t)d - base);
    /* REPE CMPS between the device and RAM (stops at the first difference),
     * REPNE SCAS in the device. */
    s = p + 0x20;
    d = (void *)(uintptr_t)ram;
    c = 16;
    __asm__ volatile("repe cmpsb" SAVE_FLAGS
                     : [f] "=r"(f), "+D"(d), "+S"(s), "+c"(c) : : "memory", "cc");
    rec(l, "repe cmpsb dev,ram: rcx", c);
    rec(l, "repe cmpsb dev,ram: rsi", (uintptr_t)s - base);
    rec(l, "repe cmpsb dev,ram: flags", f & F_ARITH);
    d = p + 0x30;
    c = 16;
    a = ram[9];
    __asm__ volatile("repne scasb" SAVE_FLAGS
                     : [f] "=r"(f), "+D"(d), "+c"(c) : "a"(a) : "memory", "cc");
    rec(l, "repne scasb dev: rcx", c);
    rec(l, "repne scasb dev: rdi", (uintptr_t)d - base);
    rec(l, "repne scasb dev: flags", f & F_ARITH);
}

void sample_driver_memtest(void *area, const unsigned char *ram16,
                           uint64_t fs_base, int have_movbe,
                           struct memtest_log *log)
{
    static const char *const final_names[] = {
        "final [-8]",   "final [+0]",   "final [+8]",   "final [+0x10]",
        "final [+0x18]", "final [+0x20]", "final [+0x28]", "final [+0x30]",
        "final [+0x38]",
    };
    volatile uint8_t *p = area;

    log->n = 0;
    for (int i = -1; i < 8; i++)
        *(volatile uint64_t *)(p + 8 * i) =
            (0x0123456789ABCDEFull * (uint64_t)(i + 3)) ^ 0x5A5A5A5A5A5A5A5Aull;
    memtest_alu(p, log);
    memtest_shift_bit(p, log);
    memtest_misc(p, fs_base, have_movbe, log);
    memtest_string(p, ram16, log);
    for (int i = -1; i < 8; i++)
        rec(log, final_names[i + 1], *(volatile uint64_t *)(p + 8 * i));
}
