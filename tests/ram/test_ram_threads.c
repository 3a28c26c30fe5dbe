/*
 * test_ram_threads.c - LOCKed read-modify-writes on directly mapped guest
 * RAM (whvemu_set_guest_ram) are atomic against other vCPUs and the host.
 *
 * One guest RAM buffer with real 4-level page tables maps a code page and a
 * counter page. EMU_THREADS threads, each a vCPU with its own emulator
 * handle and fake VMM, all registering the same RAM, emulate increments of
 * counters on that page; HOST_THREADS threads increment the same counters
 * natively with locked instructions at the same time. Every increment must
 * count: a read then a write anywhere loses some. The exits alternate
 * between one naming the counter (instruction bytes, GvaValid = 1) and one
 * with neither (the emulator walks the tables for the fetch and the data).
 * Neither the memory nor the translate callback may ever be called.
 *
 *   C32   +0x000  lock xadd [rbx], eax; lock cmpxchg [rbx], ecx (the guest's
 *                 retry loop, ZF checked); lock inc dword [rbx];
 *                 host: __atomic_fetch_add
 *   C64   +0x040  lock add qword [rbx], 1; host: lock addq
 *   LOCK  +0x080  xchg [rbx], eax as a spinlock guarding PROT (+0x0C0),
 *                 which is incremented with a plain add dword [rbx], 1 and
 *                 released with mov [rbx], eax; host: the same protocol
 *   PAIR  +0x100  16 bytes, both halves incremented together with
 *                 lock cmpxchg16b [rsi] in a retry loop; host: the same
 *   SPLIT +0x13E  a dword across a cache line (not a page): lock xadd,
 *                 lock inc; host: lock xaddl
 *   MIS   +0x1C2  a dword misaligned inside an 8-byte word: the same
 *
 * WHVEMU_RAM_ITERS scales the loops (default 20000 per thread and kind).
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "WinHvEmulation.h"
#include "fake_vmm.h"
#include "whvemu.h"

#define EMU_THREADS 4
#define HOST_THREADS 2
#define PG 4096ull
#define NPAGES 8
#define RAM_GPA 0x200000ull
#define GVA_CODE 0x401000ull
#define GVA_CNT 0x402000ull
#define PG_CODE 4
#define PG_CNT 5
#define GPA_OF(page) (RAM_GPA + (page) * PG)

#define OFF_C32 0x000
#define OFF_C64 0x040
#define OFF_LOCK 0x080
#define OFF_PROT 0x0C0
#define OFF_PAIR 0x100
#define OFF_SPLIT 0x13E
#define OFF_MIS 0x1C2

static long iters = 20000;
static uint8_t *ram;
static atomic_int failures;
static atomic_int go;

#define EXPECT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                                 \
            atomic_fetch_add(&failures, 1);                                                        \
        }                                                                                          \
    } while (0)

static uint8_t *cnt(unsigned off)
{
    return ram + PG_CNT * PG + off;
}

/* --- the guest: tables and code --- */

struct insn {
    const uint8_t *b;
    unsigned n;
    unsigned code_off; /* where it sits in the code page */
};

static const uint8_t I_XADD[] = {0xF0, 0x0F, 0xC1, 0x03};          /* lock xadd [rbx], eax */
static const uint8_t I_CMPXCHG[] = {0xF0, 0x0F, 0xB1, 0x0B};       /* lock cmpxchg [rbx], ecx */
static const uint8_t I_INC[] = {0xF0, 0xFF, 0x03};                 /* lock inc dword [rbx] */
static const uint8_t I_XCHG[] = {0x87, 0x03};                      /* xchg [rbx], eax */
static const uint8_t I_ADD[] = {0x83, 0x03, 0x01};                 /* add dword [rbx], 1 */
static const uint8_t I_MOV[] = {0x89, 0x03};                       /* mov [rbx], eax */
static const uint8_t I_ADD64[] = {0xF0, 0x48, 0x83, 0x03, 0x01};   /* lock add qword [rbx], 1 */
static const uint8_t I_CX16[] = {0xF0, 0x48, 0x0F, 0xC7, 0x0E};    /* lock cmpxchg16b [rsi] */

static const struct insn XADD = {I_XADD, sizeof I_XADD, 0x00};
static const struct insn CMPXCHG = {I_CMPXCHG, sizeof I_CMPXCHG, 0x10};
static const struct insn INC = {I_INC, sizeof I_INC, 0x20};
static const struct insn XCHG = {I_XCHG, sizeof I_XCHG, 0x30};
static const struct insn ADD = {I_ADD, sizeof I_ADD, 0x40};
static const struct insn MOV = {I_MOV, sizeof I_MOV, 0x50};
static const struct insn ADD64 = {I_ADD64, sizeof I_ADD64, 0x60};
static const struct insn CX16 = {I_CX16, sizeof I_CX16, 0x70};

static void put64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

static void build_guest(void)
{
    ram = aligned_alloc(PG, NPAGES * PG);
    if (!ram)
        abort();
    memset(ram, 0, NPAGES * PG);
    /* PML4 (page 0) -> PDPT (1) -> PD (2) -> PT (3); P | R/W. */
    put64(ram + 0 * PG + 0 * 8, GPA_OF(1) | 3);
    put64(ram + 1 * PG + 0 * 8, GPA_OF(2) | 3);
    put64(ram + 2 * PG + ((GVA_CODE >> 21) & 511) * 8, GPA_OF(3) | 3);
    put64(ram + 3 * PG + ((GVA_CODE >> 12) & 511) * 8, GPA_OF(PG_CODE) | 3);
    put64(ram + 3 * PG + ((GVA_CNT >> 12) & 511) * 8, GPA_OF(PG_CNT) | 3);
    const struct insn *all[] = {&XADD, &CMPXCHG, &INC, &XCHG, &ADD, &MOV, &ADD64, &CX16};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        memcpy(ram + PG_CODE * PG + all[i]->code_off, all[i]->b, all[i]->n);
}

/* --- one vCPU --- */

struct vcpu {
    fake_vmm *vm;
    WHV_EMULATOR_HANDLE emu;
    unsigned n; /* exits so far: the odd ones come without bytes and GVA */
};

static void vcpu_init(struct vcpu *c)
{
    c->vm = fvmm_create();
    fvmm_setup_long_mode(c->vm, 0);
    fvmm_set_reg64(c->vm, WHvX64RegisterCr3, RAM_GPA);
    /* Anything the emulator translated by callback would land elsewhere. */
    fvmm_set_default_translation(c->vm, FVMM_UNMAPPED_NOT_PRESENT);
    if (WHvEmulatorCreateEmulator(fvmm_callbacks(), &c->emu) != S_OK)
        abort();
    WHVEMU_GUEST_RAM_RANGE r;
    memset(&r, 0, sizeof r);
    r.GuestAddress = RAM_GPA;
    r.SizeInBytes = NPAGES * PG;
    r.HostAddress = ram;
    r.Flags = WHVEMU_RAM_READ | WHVEMU_RAM_WRITE;
    if (whvemu_set_guest_ram(c->emu, &r, 1) != S_OK)
        abort();
    c->n = 0;
}

static void vcpu_fini(struct vcpu *c)
{
    WHvEmulatorDestroyEmulator(c->emu);
    fvmm_destroy(c->vm);
}

static uint64_t reg(struct vcpu *c, WHV_REGISTER_NAME r)
{
    return fvmm_reg64(c->vm, r);
}

/* Emulates `i` with its memory operand at counter-page offset `off`;
 * returns RFLAGS after it. */
static uint64_t emulate(struct vcpu *c, const struct insn *i, unsigned off)
{
    WHV_VP_EXIT_CONTEXT vp;
    WHV_MEMORY_ACCESS_CONTEXT mc;
    WHV_EMULATOR_STATUS st;
    int bare = c->n++ & 1;
    fvmm_set_reg64(c->vm, WHvX64RegisterRip, GVA_CODE + i->code_off);
    fvmm_mmio_exit d = {i->b, bare ? 0 : i->n, GPA_OF(PG_CNT) + off, GVA_CNT + off, !bare, 0,
                        WHvMemoryAccessWrite};
    fvmm_build_mmio_exit64(c->vm, &vp, &mc, &d);
    fvmm_reset_log(c->vm);
    st.AsUINT32 = 0;
    HRESULT hr = WHvEmulatorTryMmioEmulation(c->emu, c->vm, &vp, &mc, &st);
    EXPECT(hr == S_OK);
    EXPECT(st.EmulationSuccessful);
    EXPECT(fvmm_count(c->vm, FVMM_CB_MEMORY) == 0);
    EXPECT(fvmm_count(c->vm, FVMM_CB_TRANSLATE) == 0);
    EXPECT(reg(c, WHvX64RegisterRip) == GVA_CODE + i->code_off + i->n);
    return reg(c, WHvX64RegisterRflags);
}

static void set_rbx(struct vcpu *c, unsigned off)
{
    fvmm_set_reg64(c->vm, WHvX64RegisterRbx, GVA_CNT + off);
}

/* lock xadd [off], eax with eax = 1: eax receives the old value. */
static void emu_xadd(struct vcpu *c, unsigned off)
{
    set_rbx(c, off);
    fvmm_set_reg64(c->vm, WHvX64RegisterRax, 1);
    emulate(c, &XADD, off);
}

static void emu_inc(struct vcpu *c, unsigned off)
{
    set_rbx(c, off);
    emulate(c, &INC, off);
}

/* The guest's loop: mov eax, [rbx] (done here), then lock cmpxchg until ZF. */
static void emu_cmpxchg_loop(struct vcpu *c, unsigned off)
{
    uint32_t seen = __atomic_load_n((uint32_t *)cnt(off), __ATOMIC_RELAXED);
    set_rbx(c, off);
    fvmm_set_reg64(c->vm, WHvX64RegisterRax, seen);
    for (;;) {
        uint32_t eax = (uint32_t)reg(c, WHvX64RegisterRax);
        fvmm_set_reg64(c->vm, WHvX64RegisterRcx, (uint32_t)(eax + 1));
        uint64_t fl = emulate(c, &CMPXCHG, off);
        if (fl & 0x40) /* ZF */
            return;
        /* ZF = 0: EAX holds the value found, which differs from the one expected. */
        EXPECT((uint32_t)reg(c, WHvX64RegisterRax) != eax);
    }
}

static void emu_locked_section(struct vcpu *c)
{
    for (;;) {
        set_rbx(c, OFF_LOCK);
        fvmm_set_reg64(c->vm, WHvX64RegisterRax, 1);
        emulate(c, &XCHG, OFF_LOCK);
        if (reg(c, WHvX64RegisterRax) == 0)
            break;
        EXPECT(reg(c, WHvX64RegisterRax) == 1);
        sched_yield();
    }
    set_rbx(c, OFF_PROT);
    emulate(c, &ADD, OFF_PROT);
    set_rbx(c, OFF_LOCK);
    fvmm_set_reg64(c->vm, WHvX64RegisterRax, 0);
    emulate(c, &MOV, OFF_LOCK);
}

static void emu_add64(struct vcpu *c)
{
    set_rbx(c, OFF_C64);
    emulate(c, &ADD64, OFF_C64);
}

/* cmpxchg16b loop: both halves + 1, together. */
static void emu_pair(struct vcpu *c)
{
    uint64_t lo = __atomic_load_n((uint64_t *)cnt(OFF_PAIR), __ATOMIC_RELAXED);
    uint64_t hi = __atomic_load_n((uint64_t *)cnt(OFF_PAIR + 8), __ATOMIC_RELAXED);
    fvmm_set_reg64(c->vm, WHvX64RegisterRsi, GVA_CNT + OFF_PAIR);
    fvmm_set_reg64(c->vm, WHvX64RegisterRax, lo);
    fvmm_set_reg64(c->vm, WHvX64RegisterRdx, hi);
    for (;;) {
        lo = reg(c, WHvX64RegisterRax);
        hi = reg(c, WHvX64RegisterRdx);
        fvmm_set_reg64(c->vm, WHvX64RegisterRbx, lo + 1);
        fvmm_set_reg64(c->vm, WHvX64RegisterRcx, hi + 1);
        uint64_t fl = emulate(c, &CX16, OFF_PAIR);
        if (fl & 0x40)
            return;
        /* A pair read whole has equal halves. */
        EXPECT(reg(c, WHvX64RegisterRax) == reg(c, WHvX64RegisterRdx));
    }
}

static void *emu_thread(void *arg)
{
    (void)arg;
    struct vcpu c;
    vcpu_init(&c);
    while (!atomic_load(&go))
        sched_yield();
    for (long i = 0; i < iters && atomic_load(&failures) < 10; i++) {
        emu_xadd(&c, OFF_C32);
        emu_cmpxchg_loop(&c, OFF_C32);
        emu_inc(&c, OFF_C32);
        emu_add64(&c);
        emu_locked_section(&c);
        emu_pair(&c);
        emu_xadd(&c, OFF_SPLIT);
        emu_inc(&c, OFF_SPLIT);
        emu_xadd(&c, OFF_MIS);
        emu_inc(&c, OFF_MIS);
    }
    vcpu_fini(&c);
    return NULL;
}

/* --- the host side --- */

static void host_xadd32(void *p)
{
    uint32_t one = 1;
    __asm__ __volatile__("lock xaddl %0, %1" : "+r"(one), "+m"(*(volatile uint32_t *)p) : : "memory");
}

static void host_add64(void *p)
{
    __asm__ __volatile__("lock addq $1, %0" : "+m"(*(volatile uint64_t *)p) : : "memory");
}

static int host_cas128(void *p, uint64_t *lo, uint64_t *hi, uint64_t nlo, uint64_t nhi)
{
    unsigned char ok;
    __asm__ __volatile__("lock cmpxchg16b %1\n\tsete %0"
                         : "=q"(ok), "+m"(*(volatile uint64_t(*)[2])p), "+a"(*lo), "+d"(*hi)
                         : "b"(nlo), "c"(nhi)
                         : "memory", "cc");
    return ok;
}

static void *host_thread(void *arg)
{
    (void)arg;
    while (!atomic_load(&go))
        sched_yield();
    for (long i = 0; i < iters && atomic_load(&failures) < 10; i++) {
        __atomic_fetch_add((uint32_t *)cnt(OFF_C32), 1, __ATOMIC_SEQ_CST);
        host_add64(cnt(OFF_C64));
        while (__atomic_exchange_n((uint32_t *)cnt(OFF_LOCK), 1, __ATOMIC_ACQUIRE) != 0)
            sched_yield();
        uint32_t v = __atomic_load_n((uint32_t *)cnt(OFF_PROT), __ATOMIC_RELAXED);
        __atomic_store_n((uint32_t *)cnt(OFF_PROT), v + 1, __ATOMIC_RELAXED);
        __atomic_store_n((uint32_t *)cnt(OFF_LOCK), 0, __ATOMIC_RELEASE);
        uint64_t lo = 0, hi = 0;
        while (!host_cas128(cnt(OFF_PAIR), &lo, &hi, lo + 1, hi + 1))
            EXPECT(lo == hi);
        host_xadd32(cnt(OFF_SPLIT));
        host_xadd32(cnt(OFF_MIS));
    }
    return NULL;
}

static uint64_t rd(unsigned off, unsigned n)
{
    uint64_t v = 0;
    memcpy(&v, cnt(off), n);
    return v;
}

int main(void)
{
    const char *s = getenv("WHVEMU_RAM_ITERS");
    if (s && atol(s) > 0)
        iters = atol(s);
    build_guest();
    pthread_t t[EMU_THREADS + HOST_THREADS];
    for (int i = 0; i < EMU_THREADS; i++)
        if (pthread_create(&t[i], NULL, emu_thread, NULL))
            abort();
    for (int i = 0; i < HOST_THREADS; i++)
        if (pthread_create(&t[EMU_THREADS + i], NULL, host_thread, NULL))
            abort();
    atomic_store(&go, 1);
    for (int i = 0; i < EMU_THREADS + HOST_THREADS; i++)
        pthread_join(t[i], NULL);

    uint64_t e = (uint64_t)EMU_THREADS * (uint64_t)iters;
    uint64_t h = (uint64_t)HOST_THREADS * (uint64_t)iters;
    struct {
        const char *name;
        unsigned off, size;
        uint64_t want;
    } c[] = {
        {"C32 (xadd, cmpxchg, inc)", OFF_C32, 4, (3 * e + h) & 0xFFFFFFFFu},
        {"C64 (lock add qword)", OFF_C64, 8, e + h},
        {"PROT (xchg spinlock)", OFF_PROT, 4, e + h},
        {"LOCK (released)", OFF_LOCK, 4, 0},
        {"PAIR low (cmpxchg16b)", OFF_PAIR, 8, e + h},
        {"PAIR high (cmpxchg16b)", OFF_PAIR + 8, 8, e + h},
        {"SPLIT (across a cache line)", OFF_SPLIT, 4, (2 * e + h) & 0xFFFFFFFFu},
        {"MIS (inside an 8-byte word)", OFF_MIS, 4, (2 * e + h) & 0xFFFFFFFFu},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        uint64_t got = rd(c[i].off, c[i].size);
        printf("%-30s %llu of %llu\n", c[i].name, (unsigned long long)got,
               (unsigned long long)c[i].want);
        EXPECT(got == c[i].want);
    }
    /* The walks set the Accessed bits of the tables, the Dirty bit of the
     * counter page's entry; the code page was only read. */
    uint64_t pte_cnt, pte_code;
    memcpy(&pte_cnt, ram + 3 * PG + ((GVA_CNT >> 12) & 511) * 8, 8);
    memcpy(&pte_code, ram + 3 * PG + ((GVA_CODE >> 12) & 511) * 8, 8);
    EXPECT((pte_cnt & 0x60) == 0x60);
    EXPECT((pte_code & 0x60) == 0x20);
    free(ram);
    if (atomic_load(&failures)) {
        printf("%d failures\n", atomic_load(&failures));
        return 1;
    }
    printf("ok\n");
    return 0;
}
