/*
 * kvm_common.c - see kvm_common.h.
 */
#define _GNU_SOURCE
#include "kvm_common.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A loop iteration (two instructions) slower than this is not native. */
#define KC_NATIVE_NS_PER_ITER 25.0

void kc_seed(kc_rng *r, uint64_t seed)
{
    r->s = seed ? seed : 0x9E3779B97F4A7C15ull;
}

uint64_t kc_next(kc_rng *r)
{
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

uint64_t kc_range(kc_rng *r, uint64_t lo, uint64_t hi)
{
    uint64_t span = hi - lo + 1;
    return span == 0 ? kc_next(r) : lo + kc_next(r) % span;
}

int kc_chance(kc_rng *r, unsigned num, unsigned den)
{
    return kc_next(r) % den < num;
}

uint64_t kc_random_seed(void)
{
    const char *e = getenv("WHVEMU_KVM_SEED");
    if (e && *e)
        return strtoull(e, NULL, 0);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t s = (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec ^
                 ((uint64_t)getpid() << 32);
    return s ? s : 1;
}

static const char *kvm_flavour(void)
{
    if (access("/sys/module/kvm_pvm", F_OK) == 0)
        return "kvm_pvm (page-table based KVM without hardware virtualization)";
    if (access("/sys/module/kvm_intel", F_OK) == 0)
        return "kvm_intel (VMX)";
    if (access("/sys/module/kvm_amd", F_OK) == 0)
        return "kvm_amd (SVM)";
    return "unknown";
}

int kc_open_and_probe(kg *g, const enum kg_mode *modes, unsigned n, int ok[KG_NMODES])
{
    char why[256];
    if (kg_open(g, why, sizeof why) < 0) {
        printf("SKIP: KVM unusable: %s\n", why);
        fflush(stdout);
        exit(77);
    }
    printf("KVM: API %d, backend %s\n", KVM_API_VERSION, kvm_flavour());
    FILE *ug = fopen("/sys/module/kvm_intel/parameters/unrestricted_guest", "r");
    if (ug) {
        int ch = fgetc(ug);
        printf("KVM: VMX unrestricted guest %s\n", ch == 'Y' || ch == '1' ? "on" : "off");
        fclose(ug);
    }
    char native[256] = "", soft[512] = "";
    int all_native = 1, any = 0;
    for (unsigned i = 0; i < KG_NMODES; i++)
        ok[i] = 0;
    for (unsigned i = 0; i < n; i++) {
        enum kg_mode m = modes[i];
        double ns = kg_loop_ns(g, m, why, sizeof why);
        char item[96];
        if (ns < 0) {
            printf("KVM: a %s guest does not run (%s); its cases are skipped\n",
                   kg_mode_name(m), why);
            all_native = 0;
            continue;
        }
        ok[m] = 1;
        any = 1;
        if (ns < 1.0)
            snprintf(item, sizeof item, "%s (under 1 ns/iteration)", kg_mode_name(m));
        else
            snprintf(item, sizeof item, "%s (%.1f ns/iteration)", kg_mode_name(m), ns);
        char *dst = ns < KC_NATIVE_NS_PER_ITER ? native : soft;
        size_t cap = ns < KC_NATIVE_NS_PER_ITER ? sizeof native : sizeof soft;
        if (*dst)
            strncat(dst, ", ", cap - strlen(dst) - 1);
        strncat(dst, item, cap - strlen(dst) - 1);
        if (ns >= KC_NATIVE_NS_PER_ITER)
            all_native = 0;
    }
    if (!any) {
        printf("SKIP: KVM unusable: no guest mode runs\n");
        fflush(stdout);
        exit(77);
    }
    printf("KVM native modes (a dec/jnz loop under %.0f ns/iteration): %s\n",
           KC_NATIVE_NS_PER_ITER, *native ? native : "none");
    printf("KVM software-executed modes: %s\n", *soft ? soft : "none");
    if (all_native)
        printf("KVM runs every tested mode natively; port I/O and MMIO accesses are still "
               "completed by KVM's software (string I/O by its instruction emulator)\n");
    else
        printf("NOTE: KVM is a second opinion here, not hardware truth: the modes above that "
               "are not native are executed by KVM's software emulator, and port I/O and MMIO "
               "accesses are completed by KVM's software in every mode\n");
    return all_native;
}

WHV_X64_SEGMENT_REGISTER kc_whv_seg(const struct kvm_segment *s)
{
    WHV_X64_SEGMENT_REGISTER w;
    memset(&w, 0, sizeof w);
    w.Base = s->base;
    w.Limit = s->limit;
    w.Selector = s->selector;
    w.Attributes = (UINT16)((s->type & 15) | (s->s & 1) << 4 | (s->dpl & 3) << 5 |
                            (s->present & 1) << 7 | (s->avl & 1) << 12 | (s->l & 1) << 13 |
                            (s->db & 1) << 14 | (s->g & 1) << 15);
    return w;
}

unsigned kc_cpl(const struct kvm_sregs *s)
{
    return (s->cr0 & 1) ? s->cs.dpl & 3 : 0;
}

static const WHV_REGISTER_NAME gpr_names[16] = {
    WHvX64RegisterRax, WHvX64RegisterRcx, WHvX64RegisterRdx, WHvX64RegisterRbx,
    WHvX64RegisterRsp, WHvX64RegisterRbp, WHvX64RegisterRsi, WHvX64RegisterRdi,
    WHvX64RegisterR8,  WHvX64RegisterR9,  WHvX64RegisterR10, WHvX64RegisterR11,
    WHvX64RegisterR12, WHvX64RegisterR13, WHvX64RegisterR14, WHvX64RegisterR15};

static void kvm_gprs(const struct kvm_regs *r, uint64_t v[16])
{
    v[0] = r->rax;
    v[1] = r->rcx;
    v[2] = r->rdx;
    v[3] = r->rbx;
    v[4] = r->rsp;
    v[5] = r->rbp;
    v[6] = r->rsi;
    v[7] = r->rdi;
    v[8] = r->r8;
    v[9] = r->r9;
    v[10] = r->r10;
    v[11] = r->r11;
    v[12] = r->r12;
    v[13] = r->r13;
    v[14] = r->r14;
    v[15] = r->r15;
}

void kc_load_fvmm(fake_vmm *vm, const struct kvm_regs *r, const struct kvm_sregs *s,
                  const uint8_t *mem)
{
    uint64_t v[16];
    kvm_gprs(r, v);
    for (int i = 0; i < 16; i++)
        fvmm_set_reg64(vm, gpr_names[i], v[i]);
    fvmm_set_reg64(vm, WHvX64RegisterRip, r->rip);
    fvmm_set_reg64(vm, WHvX64RegisterRflags, r->rflags);
    fvmm_set_reg64(vm, WHvX64RegisterCr0, s->cr0);
    fvmm_set_reg64(vm, WHvX64RegisterCr2, s->cr2);
    fvmm_set_reg64(vm, WHvX64RegisterCr3, s->cr3);
    fvmm_set_reg64(vm, WHvX64RegisterCr4, s->cr4);
    fvmm_set_reg64(vm, WHvX64RegisterEfer, s->efer);
    const struct {
        WHV_REGISTER_NAME n;
        const struct kvm_segment *k;
    } segs[6] = {{WHvX64RegisterEs, &s->es}, {WHvX64RegisterCs, &s->cs},
                 {WHvX64RegisterSs, &s->ss}, {WHvX64RegisterDs, &s->ds},
                 {WHvX64RegisterFs, &s->fs}, {WHvX64RegisterGs, &s->gs}};
    for (int i = 0; i < 6; i++) {
        WHV_REGISTER_VALUE val;
        memset(&val, 0, sizeof val);
        val.Segment = kc_whv_seg(segs[i].k);
        fvmm_reg_set(vm, segs[i].n, &val);
    }
    fvmm_set_cpl(vm, kc_cpl(s));
    fvmm_set_reg64(vm, WHvRegisterPendingInterruption, 0);
    fvmm_set_reg64(vm, WHvRegisterInterruptState, 0);
    fvmm_gpa_write(vm, 0, mem, KG_SPAN);
}

void kc_build_vp(WHV_VP_EXIT_CONTEXT *vp, const struct kvm_regs *r, const struct kvm_sregs *s,
                 unsigned len)
{
    memset(vp, 0, sizeof(*vp));
    vp->ExecutionState.Cpl = kc_cpl(s) & 3;
    vp->ExecutionState.Cr0Pe = s->cr0 & 1;
    vp->ExecutionState.Cr0Am = (s->cr0 >> 18) & 1;
    vp->ExecutionState.EferLma = (s->efer >> 10) & 1;
    vp->InstructionLength = len & 15;
    vp->Cs = kc_whv_seg(&s->cs);
    vp->Rip = r->rip;
    vp->Rflags = r->rflags;
}

void kc_regs_from_fvmm(const fake_vmm *vm, struct kvm_regs *r)
{
    memset(r, 0, sizeof(*r));
    r->rax = fvmm_reg64(vm, WHvX64RegisterRax);
    r->rcx = fvmm_reg64(vm, WHvX64RegisterRcx);
    r->rdx = fvmm_reg64(vm, WHvX64RegisterRdx);
    r->rbx = fvmm_reg64(vm, WHvX64RegisterRbx);
    r->rsp = fvmm_reg64(vm, WHvX64RegisterRsp);
    r->rbp = fvmm_reg64(vm, WHvX64RegisterRbp);
    r->rsi = fvmm_reg64(vm, WHvX64RegisterRsi);
    r->rdi = fvmm_reg64(vm, WHvX64RegisterRdi);
    r->r8 = fvmm_reg64(vm, WHvX64RegisterR8);
    r->r9 = fvmm_reg64(vm, WHvX64RegisterR9);
    r->r10 = fvmm_reg64(vm, WHvX64RegisterR10);
    r->r11 = fvmm_reg64(vm, WHvX64RegisterR11);
    r->r12 = fvmm_reg64(vm, WHvX64RegisterR12);
    r->r13 = fvmm_reg64(vm, WHvX64RegisterR13);
    r->r14 = fvmm_reg64(vm, WHvX64RegisterR14);
    r->r15 = fvmm_reg64(vm, WHvX64RegisterR15);
    r->rip = fvmm_reg64(vm, WHvX64RegisterRip);
    r->rflags = fvmm_reg64(vm, WHvX64RegisterRflags);
}

size_t kc_log_from_fvmm(const fake_vmm *vm, kg_access *log, size_t cap, uint64_t mmio_gpa_lo,
                        uint64_t mmio_gpa_hi)
{
    size_t n = 0;
    for (size_t i = 0; i < fvmm_call_count(vm); i++) {
        const fvmm_call *c = fvmm_call_at(vm, i);
        kg_access a;
        memset(&a, 0, sizeof a);
        if (c->kind == FVMM_CB_IO) {
            a.write = c->u.io.direction;
            a.size = (uint8_t)c->u.io.size;
            a.port = c->u.io.port;
            a.data = c->u.io.data;
        } else if (c->kind == FVMM_CB_MEMORY && c->u.mem.gpa >= mmio_gpa_lo &&
                   c->u.mem.gpa < mmio_gpa_hi) {
            a.mmio = 1;
            a.write = c->u.mem.direction;
            a.size = c->u.mem.size;
            a.gpa = c->u.mem.gpa;
            memcpy(&a.data, c->u.mem.data, a.size <= 8 ? a.size : 8);
        } else {
            continue;
        }
        if (n < cap)
            log[n] = a;
        n++;
    }
    return n;
}

unsigned kc_diff_regs(const struct kvm_regs *a, const struct kvm_regs *b, const char *an,
                      const char *bn, const char *prefix)
{
    const uint64_t va[18] = {a->rax, a->rcx, a->rdx, a->rbx, a->rsp, a->rbp,
                             a->rsi, a->rdi, a->r8,  a->r9,  a->r10, a->r11,
                             a->r12, a->r13, a->r14, a->r15, a->rip, a->rflags};
    const uint64_t vb[18] = {b->rax, b->rcx, b->rdx, b->rbx, b->rsp, b->rbp,
                             b->rsi, b->rdi, b->r8,  b->r9,  b->r10, b->r11,
                             b->r12, b->r13, b->r14, b->r15, b->rip, b->rflags};
    static const char *const names[18] = {"RAX", "RCX", "RDX", "RBX", "RSP", "RBP",
                                          "RSI", "RDI", "R8",  "R9",  "R10", "R11",
                                          "R12", "R13", "R14", "R15", "RIP", "RFLAGS"};
    unsigned bad = 0;
    for (int i = 0; i < 18; i++) {
        if (va[i] == vb[i])
            continue;
        bad++;
        if (prefix)
            printf("%s%s: %s 0x%llx, %s 0x%llx\n", prefix, names[i], an,
                   (unsigned long long)va[i], bn, (unsigned long long)vb[i]);
    }
    return bad;
}

unsigned kc_diff_mem(const uint8_t *a, const uint8_t *b, size_t len, const char *an,
                     const char *bn, const char *prefix)
{
    if (memcmp(a, b, len) == 0)
        return 0;
    unsigned bad = 0;
    for (size_t i = 0; i < len; i++) {
        if (a[i] == b[i])
            continue;
        if (++bad <= 8 && prefix)
            printf("%smemory 0x%05zx: %s 0x%02x, %s 0x%02x\n", prefix, i, an, a[i], bn, b[i]);
    }
    if (bad > 8 && prefix)
        printf("%s... %u bytes differ\n", prefix, bad);
    return bad;
}

static void print_access(const char *who, const kg_access *x)
{
    if (x->mmio)
        printf("%s MMIO %s 0x%llx/%u data 0x%llx", who, x->write ? "write" : "read",
               (unsigned long long)x->gpa, x->size, (unsigned long long)x->data);
    else
        printf("%s %s 0x%x/%u data 0x%llx", who, x->write ? "OUT" : "IN", x->port, x->size,
               (unsigned long long)x->data);
}

unsigned kc_diff_log(const kg_access *a, size_t na, const kg_access *b, size_t nb,
                     const char *an, const char *bn, const char *prefix)
{
    size_t n = na < nb ? na : nb;
    for (size_t i = 0; i < n; i++) {
        const kg_access *x = &a[i], *y = &b[i];
        if (x->mmio == y->mmio && x->write == y->write && x->size == y->size &&
            x->port == y->port && x->gpa == y->gpa && x->data == y->data)
            continue;
        if (prefix) {
            printf("%saccess log: %zu vs %zu accesses; first difference at #%zu: ", prefix, na,
                   nb, i);
            print_access(an, x);
            printf(", ");
            print_access(bn, y);
            printf("\n");
        }
        return 1;
    }
    if (na != nb) {
        if (prefix)
            printf("%saccess log: %s made %zu accesses, %s %zu (the first %zu agree)\n", prefix,
                   an, na, bn, nb, n);
        return 1;
    }
    return 0;
}

void kc_print_regs(const char *label, const struct kvm_regs *r)
{
    printf("%sRAX=%llx RCX=%llx RDX=%llx RSI=%llx RDI=%llx RIP=%llx RFLAGS=%llx\n", label,
           (unsigned long long)r->rax, (unsigned long long)r->rcx, (unsigned long long)r->rdx,
           (unsigned long long)r->rsi, (unsigned long long)r->rdi, (unsigned long long)r->rip,
           (unsigned long long)r->rflags);
}

void kc_print_hex(const char *label, const uint8_t *b, unsigned n)
{
    printf("%s", label);
    for (unsigned i = 0; i < n; i++)
        printf("%s%02x", i ? " " : "", b[i]);
    printf("\n");
}
