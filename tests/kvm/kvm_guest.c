/*
 * kvm_guest.c - the minimal KVM machine of kvm_guest.h.
 */
#define _GNU_SOURCE
#include "kvm_guest.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define KG_RUN_TIMEOUT_S 2
#define KG_MAX_EXITS 200000u

static volatile sig_atomic_t kg_alarm_fired;

static void kg_on_alarm(int sig)
{
    (void)sig;
    kg_alarm_fired = 1;
}

static void say(char *why, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, n, fmt, ap);
    va_end(ap);
}

const char *kg_mode_name(enum kg_mode m)
{
    static const char *const names[KG_NMODES] = {"64-bit CPL0", "64-bit CPL3", "32-bit",
                                                 "16-bit real", "32-bit paged"};
    return (unsigned)m < KG_NMODES ? names[m] : "?";
}

static int xioctl(int fd, unsigned long req, void *arg)
{
    int rc;
    do
        rc = ioctl(fd, req, arg);
    while (rc < 0 && errno == EINTR && !kg_alarm_fired);
    return rc;
}

static uint64_t alloc_table(kg *g)
{
    if (g->pt_next + 0x1000 > KG_RAM_SIZE) {
        fprintf(stderr, "kvm_guest: out of page-table pages\n");
        abort();
    }
    uint64_t p = g->pt_next;
    g->pt_next += 0x1000;
    memset(g->ram + p, 0, 0x1000);
    return p;
}

void kg_map64(kg *g, uint64_t va, uint64_t gpa, uint32_t flags)
{
    uint64_t table = KG_PT;
    for (int level = 3; level > 0; level--) {
        uint64_t *e = (uint64_t *)(void *)(g->ram + table) + ((va >> (12 + 9 * level)) & 511);
        if (!(*e & 1))
            *e = alloc_table(g) | 7;
        table = *e & 0xFFFFF000ull;
    }
    uint64_t *pte = (uint64_t *)(void *)(g->ram + table) + ((va >> 12) & 511);
    *pte = (gpa & ~0xFFFull) | flags;
}

void kg_map32(kg *g, uint32_t va, uint32_t gpa, uint32_t flags)
{
    uint32_t *pde = (uint32_t *)(void *)(g->ram + g->pd32) + (va >> 22);
    if (!(*pde & 1))
        *pde = (uint32_t)alloc_table(g) | 7;
    uint32_t *pte = (uint32_t *)(void *)(g->ram + (*pde & 0xFFFFF000u)) + ((va >> 12) & 1023);
    *pte = (gpa & 0xFFFFF000u) | flags;
}

static void set_cpuid(kg *g, int vcpu)
{
    unsigned n = 256;
    struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(struct kvm_cpuid_entry2));
    if (!c)
        abort();
    c->nent = n;
    if (xioctl(g->kvm, KVM_GET_SUPPORTED_CPUID, c) == 0)
        (void)xioctl(vcpu, KVM_SET_CPUID2, c);
    free(c);
}

int kg_open(kg *g, char *why, size_t whylen)
{
    memset(g, 0, sizeof(*g));
    g->kvm = g->vm = -1;
    for (int i = 0; i < KG_NMODES; i++)
        g->vcpu[i] = -1;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = kg_on_alarm;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL); /* no SA_RESTART: KVM_RUN returns EINTR */

    g->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (g->kvm < 0) {
        say(why, whylen, "cannot open /dev/kvm: %s", strerror(errno));
        return -1;
    }
    int api = ioctl(g->kvm, KVM_GET_API_VERSION, 0);
    if (api != KVM_API_VERSION) {
        say(why, whylen, "KVM_GET_API_VERSION answered %d, not %d", api, KVM_API_VERSION);
        return -1;
    }
    g->vm = xioctl(g->kvm, KVM_CREATE_VM, 0);
    if (g->vm < 0) {
        say(why, whylen, "KVM_CREATE_VM failed: %s", strerror(errno));
        return -1;
    }
    g->ram = mmap(NULL, KG_RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g->ram == MAP_FAILED) {
        g->ram = NULL;
        say(why, whylen, "cannot allocate guest memory: %s", strerror(errno));
        return -1;
    }
    struct kvm_userspace_memory_region region = {
        .slot = 0,
        .guest_phys_addr = 0,
        .memory_size = KG_RAM_SIZE,
        .userspace_addr = (uint64_t)(uintptr_t)g->ram,
    };
    if (xioctl(g->vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
        say(why, whylen, "KVM_SET_USER_MEMORY_REGION failed: %s", strerror(errno));
        return -1;
    }
    if (ioctl(g->kvm, KVM_CHECK_EXTENSION, KVM_CAP_SET_TSS_ADDR) > 0)
        (void)ioctl(g->vm, KVM_SET_TSS_ADDR, 0xFFFBD000ul); /* only VMX needs it */
    int sz = ioctl(g->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (sz <= 0) {
        say(why, whylen, "KVM_GET_VCPU_MMAP_SIZE failed: %s", strerror(errno));
        return -1;
    }
    g->run_size = (size_t)sz;
    for (int i = 0; i < KG_NMODES; i++) {
        g->vcpu[i] = xioctl(g->vm, KVM_CREATE_VCPU, (void *)(uintptr_t)i);
        if (g->vcpu[i] < 0) {
            say(why, whylen, "KVM_CREATE_VCPU failed: %s", strerror(errno));
            return -1;
        }
        void *r = mmap(NULL, g->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, g->vcpu[i], 0);
        if (r == MAP_FAILED) {
            say(why, whylen, "cannot map the vCPU run area: %s", strerror(errno));
            return -1;
        }
        g->run[i] = r;
        set_cpuid(g, g->vcpu[i]);
    }

    /* 64-bit tables: identity 0..0x7FFFF, and the three windows. */
    g->pt_next = KG_PT;
    (void)alloc_table(g); /* the PML4 */
    for (uint64_t a = 0; a < 0x80000; a += 0x1000)
        kg_map64(g, a, a, 7);
    for (uint64_t a = 0; a < KG_WIN_SIZE; a += 0x1000) {
        kg_map64(g, KG_W32 + a, a, 7);
        kg_map64(g, KG_H1 + a, a, 7);
        kg_map64(g, KG_H2 + a, a, 7);
    }
    /* 32-bit tables: identity 0..0x7FFFF; kvm_modes remaps pages. */
    g->pd32 = (uint32_t)alloc_table(g);
    for (uint32_t a = 0; a < 0x80000; a += 0x1000)
        kg_map32(g, a, a, 7);

    g->cap = 1024;
    g->log = calloc(g->cap, sizeof(*g->log));
    if (!g->log)
        abort();
    return 0;
}

void kg_close(kg *g)
{
    for (int i = 0; i < KG_NMODES; i++) {
        if (g->run[i])
            munmap(g->run[i], g->run_size);
        if (g->vcpu[i] >= 0)
            close(g->vcpu[i]);
    }
    if (g->ram)
        munmap(g->ram, KG_RAM_SIZE);
    if (g->vm >= 0)
        close(g->vm);
    if (g->kvm >= 0)
        close(g->kvm);
    free(g->log);
    memset(g, 0, sizeof(*g));
}

static void seg(struct kvm_segment *s, uint16_t sel, uint64_t base, uint32_t limit, uint8_t type,
                uint8_t dpl, uint8_t db, uint8_t l, uint8_t gran)
{
    memset(s, 0, sizeof(*s));
    s->selector = sel;
    s->base = base;
    s->limit = limit;
    s->type = type;
    s->present = 1;
    s->s = 1;
    s->dpl = dpl;
    s->db = db;
    s->l = l;
    s->g = gran;
}

void kg_mode_state(const kg *g, enum kg_mode m, struct kvm_sregs *s, uint64_t *rip)
{
    memset(s, 0, sizeof(*s));
    (void)xioctl(g->vcpu[m], KVM_GET_SREGS, s); /* TR, LDT, GDT, IDT as reset left them */
    memset(s->interrupt_bitmap, 0, sizeof(s->interrupt_bitmap));
    s->cr2 = 0;
    s->cr8 = 0;
    struct kvm_segment data;
    switch (m) {
    case KG_M64:
    case KG_M64U: {
        uint8_t dpl = m == KG_M64U ? 3 : 0;
        s->cr0 = 0x80010033; /* PG WP NE ET MP PE */
        s->cr3 = KG_PT;
        s->cr4 = 0x20; /* PAE */
        s->efer = 0x500; /* LMA LME */
        seg(&s->cs, dpl ? 0x33 : 0x08, 0, 0xFFFFFFFF, 0xB, dpl, 0, 1, 1);
        seg(&data, dpl ? 0x2B : 0x10, 0, 0xFFFFFFFF, 0x3, dpl, 1, 0, 1);
        *rip = KG_CODE;
        break;
    }
    case KG_M32:
        s->cr0 = 0x33; /* NE ET MP PE */
        s->cr3 = 0;
        s->cr4 = 0;
        s->efer = 0;
        seg(&s->cs, 0x08, 0x30000, 0xFFFFFFFF, 0xB, 0, 1, 0, 1);
        seg(&data, 0x10, 0, 0xFFFFFFFF, 0x3, 0, 1, 0, 1);
        *rip = KG_CODE - 0x30000;
        break;
    case KG_M32P:
        s->cr0 = 0x80010033; /* PG WP NE ET MP PE */
        s->cr3 = g->pd32;
        s->cr4 = 0;
        s->efer = 0;
        seg(&s->cs, 0x08, 0, 0xFFFFFFFF, 0xB, 0, 1, 0, 1);
        seg(&data, 0x10, 0, 0xFFFFFFFF, 0x3, 0, 1, 0, 1);
        *rip = KG_CODE;
        break;
    case KG_M16:
    default:
        s->cr0 = 0x30; /* NE ET */
        s->cr3 = 0;
        s->cr4 = 0;
        s->efer = 0;
        seg(&s->cs, 0x3F00, 0x3F000, 0xFFFF, 0xB, 0, 0, 0, 0);
        seg(&data, 0, 0, 0xFFFF, 0x3, 0, 0, 0, 0);
        *rip = KG_CODE - 0x3F000;
        break;
    }
    s->ds = s->es = s->fs = s->gs = s->ss = data;
}

uint8_t kg_mmio_byte(uint64_t gpa)
{
    uint64_t x = gpa * 0xD6E8FEB86659FD93ull ^ 0x243F6A8885A308D3ull;
    x ^= x >> 31;
    x *= 0x94D049BB133111EBull;
    x ^= x >> 29;
    return (uint8_t)x;
}

static void log_access(kg *g, const kg_access *a)
{
    if (g->nlog == g->cap) {
        g->cap *= 2;
        g->log = realloc(g->log, g->cap * sizeof(*g->log));
        if (!g->log)
            abort();
    }
    g->log[g->nlog++] = *a;
}

static uint32_t next_read(kg *g, uint16_t port)
{
    for (unsigned i = 0; i < g->nreads; i++)
        if (g->reads[i].port == port)
            return g->reads[i].reads++;
    if (g->nreads == sizeof(g->reads) / sizeof(g->reads[0]))
        abort();
    g->reads[g->nreads].port = port;
    g->reads[g->nreads].reads = 1;
    g->nreads++;
    return 0;
}

static const char *exit_name(uint32_t r)
{
    switch (r) {
    case KVM_EXIT_SHUTDOWN:
        return "SHUTDOWN (triple fault)";
    case KVM_EXIT_INTERNAL_ERROR:
        return "INTERNAL_ERROR";
    case KVM_EXIT_FAIL_ENTRY:
        return "FAIL_ENTRY";
    case KVM_EXIT_EXCEPTION:
        return "EXCEPTION";
    case KVM_EXIT_DEBUG:
        return "DEBUG";
    default:
        return "unexpected";
    }
}

int kg_run(kg *g, enum kg_mode m, struct kvm_regs *r, struct kvm_sregs *s,
           kg_port_value_fn port_value, char *why, size_t whylen)
{
    int fd = g->vcpu[m];
    struct kvm_run *run = g->run[m];
    g->nlog = 0;
    g->nreads = 0;
    g->exits = 0;
    if (xioctl(fd, KVM_SET_SREGS, s) < 0) {
        say(why, whylen, "KVM_SET_SREGS failed: %s", strerror(errno));
        return -1;
    }
    if (xioctl(fd, KVM_SET_REGS, r) < 0) {
        say(why, whylen, "KVM_SET_REGS failed: %s", strerror(errno));
        return -1;
    }
    struct itimerval t;
    memset(&t, 0, sizeof t);
    t.it_value.tv_sec = KG_RUN_TIMEOUT_S;
    kg_alarm_fired = 0;
    setitimer(ITIMER_REAL, &t, NULL);
    int rc = -1;
    unsigned back = 0; /* bytes to step RIP back to the final instruction */
    for (;;) {
        if (++g->exits > KG_MAX_EXITS) {
            say(why, whylen, "more than %u exits", KG_MAX_EXITS);
            goto out;
        }
        if (ioctl(fd, KVM_RUN, 0) < 0) {
            if (errno == EINTR && !kg_alarm_fired)
                continue;
            if (kg_alarm_fired)
                say(why, whylen, "the guest ran for more than %d s", KG_RUN_TIMEOUT_S);
            else
                say(why, whylen, "KVM_RUN failed: %s", strerror(errno));
            goto out;
        }
        if (run->exit_reason == KVM_EXIT_HLT) {
            back = 1;
            break;
        }
        if (run->exit_reason == KVM_EXIT_IO) {
            uint8_t *d = (uint8_t *)run + run->io.data_offset;
            int out = run->io.direction == KVM_EXIT_IO_OUT;
            if (out && m == KG_M64U && run->io.port == KG_SENTINEL_PORT && run->io.size == 1) {
                back = 2;
                break;
            }
            for (uint32_t i = 0; i < run->io.count; i++, d += run->io.size) {
                kg_access a;
                memset(&a, 0, sizeof a);
                a.write = (uint8_t)out;
                a.size = run->io.size;
                a.port = run->io.port;
                if (out) {
                    uint32_t v = 0;
                    memcpy(&v, d, a.size);
                    a.data = v;
                } else {
                    uint32_t v = port_value(a.port, next_read(g, a.port), a.size);
                    memcpy(d, &v, a.size);
                    a.data = v;
                }
                log_access(g, &a);
            }
            continue;
        }
        if (run->exit_reason == KVM_EXIT_MMIO) {
            kg_access a;
            memset(&a, 0, sizeof a);
            a.mmio = 1;
            a.write = run->mmio.is_write;
            a.size = (uint8_t)run->mmio.len;
            a.gpa = run->mmio.phys_addr;
            if (a.write) {
                memcpy(&a.data, run->mmio.data, a.size);
            } else {
                for (unsigned i = 0; i < a.size && i < 8; i++)
                    a.data |= (uint64_t)kg_mmio_byte(a.gpa + i) << (8 * i);
                memcpy(run->mmio.data, &a.data, a.size);
            }
            log_access(g, &a);
            continue;
        }
        if (run->exit_reason == KVM_EXIT_INTR)
            continue;
        if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR)
            say(why, whylen, "exit %s, suberror %u", exit_name(run->exit_reason),
                run->internal.suberror);
        else if (run->exit_reason == KVM_EXIT_FAIL_ENTRY)
            say(why, whylen, "exit %s, reason 0x%llx", exit_name(run->exit_reason),
                (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
        else
            say(why, whylen, "exit %s (%u)", exit_name(run->exit_reason), run->exit_reason);
        goto out;
    }
    if (xioctl(fd, KVM_GET_REGS, r) < 0 || xioctl(fd, KVM_GET_SREGS, s) < 0) {
        say(why, whylen, "KVM_GET_REGS/SREGS failed: %s", strerror(errno));
        goto out;
    }
    r->rip -= back;
    rc = 0;
out:
    memset(&t, 0, sizeof t);
    setitimer(ITIMER_REAL, &t, NULL);
    return rc;
}

static uint32_t zero_port(uint16_t port, uint32_t index, uint16_t size)
{
    (void)port;
    (void)index;
    (void)size;
    return 0;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

double kg_loop_ns(kg *g, enum kg_mode m, char *why, size_t whylen)
{
    /* mov ecx, n; L: dec ecx; jnz L; then HLT or OUT 0xFE, AL */
    uint8_t *c = g->ram + KG_LOOP;
    unsigned k = 0;
    int sixteen = m == KG_M16;
    if (sixteen)
        c[k++] = 0x66;
    c[k++] = 0xB9;
    unsigned imm = k;
    k += 4;
    if (sixteen)
        c[k++] = 0x66;
    c[k++] = 0xFF;
    c[k++] = 0xC9;
    c[k++] = 0x75;
    c[k++] = (uint8_t)(sixteen ? 0xFB : 0xFC);
    if (m == KG_M64U) {
        c[k++] = 0xE6;
        c[k++] = KG_SENTINEL_PORT;
    } else {
        c[k++] = 0xF4;
    }
    static const uint32_t iters[2] = {2000, 102000};
    double ns[2];
    for (int i = 0; i < 2; i++) {
        memcpy(c + imm, &iters[i], 4);
        struct kvm_sregs s;
        struct kvm_regs r;
        uint64_t rip;
        kg_mode_state(g, m, &s, &rip);
        memset(&r, 0, sizeof r);
        r.rflags = m == KG_M64U ? 0x3002 : 0x2;
        if (m == KG_M16) {
            s.cs.selector = KG_LOOP >> 4;
            s.cs.base = KG_LOOP;
            r.rip = 0;
        } else {
            s.cs.base = 0;
            r.rip = KG_LOOP;
        }
        double t0 = now_ns();
        if (kg_run(g, m, &r, &s, zero_port, why, whylen) < 0)
            return -1;
        ns[i] = now_ns() - t0;
    }
    double d = (ns[1] - ns[0]) / (double)(iters[1] - iters[0]);
    return d > 0 ? d : 0.01;
}
