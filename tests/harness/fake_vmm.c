/*
 * fake_vmm.c - the in-memory VMM behind every emulator test; see
 * fake_vmm.h for the model and the rules it checks.
 */
#include "fake_vmm.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define FVMM_MAX_INJECT 8

/* ------------------------------------------------------------------ */
/* Small helpers                                                        */
/* ------------------------------------------------------------------ */

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "fake_vmm: out of memory\n");
        abort();
    }
    return q;
}

static void *xcalloc(size_t n, size_t sz)
{
    void *q = calloc(n ? n : 1, sz ? sz : 1);
    if (!q) {
        fprintf(stderr, "fake_vmm: out of memory\n");
        abort();
    }
    return q;
}

/* Open-addressing map from a page number to a slot value. Key ~0 marks an
 * empty bucket (page number ~0 cannot occur: it would be GVA 2^64-4096 >> 12
 * = 0xFFFFFFFFFFFFF, never all ones). */
#define MAP_EMPTY (~(UINT64)0)

typedef struct page_map {
    UINT64 *keys;
    size_t *vals;
    size_t cap; /* power of two or 0 */
    size_t used;
} page_map;

static size_t map_hash(UINT64 k, size_t cap)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return (size_t)k & (cap - 1);
}

static size_t *map_find(const page_map *m, UINT64 key)
{
    if (!m->cap)
        return NULL;
    size_t i = map_hash(key, m->cap);
    for (;;) {
        if (m->keys[i] == key)
            return &m->vals[i];
        if (m->keys[i] == MAP_EMPTY)
            return NULL;
        i = (i + 1) & (m->cap - 1);
    }
}

static void map_put(page_map *m, UINT64 key, size_t val);

static void map_grow(page_map *m)
{
    page_map n;
    n.cap = m->cap ? m->cap * 2 : 64;
    n.used = 0;
    n.keys = xrealloc(NULL, n.cap * sizeof *n.keys);
    n.vals = xrealloc(NULL, n.cap * sizeof *n.vals);
    for (size_t i = 0; i < n.cap; i++)
        n.keys[i] = MAP_EMPTY;
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i] != MAP_EMPTY)
            map_put(&n, m->keys[i], m->vals[i]);
    free(m->keys);
    free(m->vals);
    *m = n;
}

static void map_put(page_map *m, UINT64 key, size_t val)
{
    if ((m->used + 1) * 2 > m->cap)
        map_grow(m);
    size_t i = map_hash(key, m->cap);
    while (m->keys[i] != MAP_EMPTY && m->keys[i] != key)
        i = (i + 1) & (m->cap - 1);
    if (m->keys[i] == MAP_EMPTY)
        m->used++;
    m->keys[i] = key;
    m->vals[i] = val;
}

/* Deletion with backward-shift, keeping probe chains intact. */
static void map_del(page_map *m, UINT64 key)
{
    if (!m->cap)
        return;
    size_t mask = m->cap - 1;
    size_t i = map_hash(key, m->cap);
    while (m->keys[i] != key) {
        if (m->keys[i] == MAP_EMPTY)
            return;
        i = (i + 1) & mask;
    }
    m->keys[i] = MAP_EMPTY;
    m->used--;
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (m->keys[j] == MAP_EMPTY)
            break;
        size_t h = map_hash(m->keys[j], m->cap);
        /* Move j back to i if its home h is not cyclically in (i, j]. */
        int in_range = (i <= j) ? (h > i && h <= j) : (h > i || h <= j);
        if (!in_range) {
            m->keys[i] = m->keys[j];
            m->vals[i] = m->vals[j];
            m->keys[j] = MAP_EMPTY;
            i = j;
        }
    }
}

/* Empties the map and keeps its buckets. */
static void map_clear(page_map *m)
{
    for (size_t i = 0; i < m->cap; i++)
        m->keys[i] = MAP_EMPTY;
    m->used = 0;
}

static void map_free(page_map *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

/* ------------------------------------------------------------------ */
/* Register name table                                                  */
/* ------------------------------------------------------------------ */

/* Dense slot numbers for the sparse WHV_REGISTER_NAME space. */
#define SLOT_BASE0 0                 /* 0x00..0x2B */
#define SLOT_BASE1 (SLOT_BASE0 + 0x2C) /* 0x1000..0x1019 */
#define SLOT_BASE2 (SLOT_BASE1 + 0x1A) /* 0x2000..0x200C */
#define SLOT_TSCAUX (SLOT_BASE2 + 0x0D)
#define SLOT_BASE3 (SLOT_TSCAUX + 1) /* 0x80000000..0x80000006 except 3 */
#define SLOT_COUNT (SLOT_BASE3 + 7)

static int reg_slot(UINT32 n)
{
    if (n <= 0x2B)
        return (int)(SLOT_BASE0 + n);
    if (n >= 0x1000 && n <= 0x1019)
        return (int)(SLOT_BASE1 + (n - 0x1000));
    if (n >= 0x2000 && n <= 0x200C)
        return (int)(SLOT_BASE2 + (n - 0x2000));
    if (n == 0x207B)
        return SLOT_TSCAUX;
    if (n >= 0x80000000u && n <= 0x80000006u && n != 0x80000003u)
        return (int)(SLOT_BASE3 + (n - 0x80000000u));
    return -1;
}

/* ------------------------------------------------------------------ */
/* Extended-state layout                                                */
/* ------------------------------------------------------------------ */

#define XS_TOTAL (256u + 64u + 512u + 1024u)

/* Offset of a component in fake_vmm.xstate and its size; -1 if unknown. */
static int xs_locate(UINT32 component, UINT32 *size)
{
    switch (component) {
    case FVMM_XS_YMM_HI128:
        *size = 256;
        return 0;
    case FVMM_XS_OPMASK:
        *size = 64;
        return 256;
    case FVMM_XS_ZMM_HI256:
        *size = 512;
        return 256 + 64;
    case FVMM_XS_HI16_ZMM:
        *size = 1024;
        return 256 + 64 + 512;
    default:
        *size = 0;
        return -1;
    }
}

/* ------------------------------------------------------------------ */
/* The machine                                                          */
/* ------------------------------------------------------------------ */

typedef struct gva_entry {
    WHV_TRANSLATE_GVA_RESULT_CODE result;
    UINT64 gpa;
    unsigned perms;
} gva_entry;

typedef struct injection {
    fvmm_cb_kind kind;
    unsigned nth;
    HRESULT hr;
    int is_translate_result;
    WHV_TRANSLATE_GVA_RESULT_CODE result;
    UINT64 gpa_offset;
} injection;

typedef struct port_count {
    UINT16 port;
    UINT32 reads;
} port_count;

struct fake_vmm {
    /* memory */
    page_map gpa_pages;       /* GPA page number -> index in pages[] */
    UINT8 **pages;
    size_t npages, cap_pages;
    UINT8 **spare;            /* zeroed pages kept by fvmm_reset() for reuse */
    size_t nspare;
    page_map mmio_pages;      /* GPA page number -> 1 */
    int mmio_translates_unmapped;

    /* translation */
    page_map gva_map;         /* GVA page number -> index in gva[] */
    gva_entry *gva;
    size_t ngva, cap_gva;
    fvmm_default_translation default_translation;
    unsigned cpl;

    /* registers */
    WHV_REGISTER_VALUE regs[SLOT_COUNT];
    UINT8 reg_disabled[SLOT_COUNT];

    /* extended state: components 2, 5, 6, 7 back to back */
    UINT8 xstate[XS_TOTAL];

    /* log */
    fvmm_call *calls;
    size_t ncalls, cap_calls;
    WHV_REGISTER_NAME *reglog_names; /* names and values of register calls */
    WHV_REGISTER_VALUE *reglog_values;
    size_t nreglog, cap_reglog;
    UINT8 *xslog; /* buffers of extended-state calls */
    size_t nxslog, cap_xslog;
    unsigned counts[FVMM_CB_KINDS];
    injection inject[FVMM_MAX_INJECT];
    unsigned ninject;

    /* ports */
    port_count *port_counts;
    size_t nport_counts, cap_port_counts;
    fvmm_port_write *port_writes;
    size_t nport_writes, cap_port_writes;

    int rep_to_completion; /* fvmm_set_rep_to_completion() */

    /* guest RAM mode (fvmm_set_guest_ram_mode) */
    int ram_mode;
    page_map ram_walkable; /* GVA page number -> 1: walked whole in RAM by the last sync */
    WHVEMU_GUEST_RAM_RANGE *ram_ranges;
    size_t cap_ram_ranges;
    size_t ram_ntables; /* table pages built at FVMM_RAM_TABLES by the last sync */

    char msg[512];
};

fake_vmm *fvmm_create(void)
{
    fake_vmm *vm = xcalloc(1, sizeof *vm);
    const char *env = getenv("WHVEMU_TEST_GUEST_RAM");
    vm->ram_mode = env && env[0] == '1';
    return vm;
}

void fvmm_destroy(fake_vmm *vm)
{
    if (!vm)
        return;
    for (size_t i = 0; i < vm->npages; i++)
        free(vm->pages[i]);
    for (size_t i = 0; i < vm->nspare; i++)
        free(vm->spare[i]);
    free(vm->pages);
    free(vm->spare);
    map_free(&vm->gpa_pages);
    map_free(&vm->mmio_pages);
    map_free(&vm->gva_map);
    map_free(&vm->ram_walkable);
    free(vm->ram_ranges);
    free(vm->gva);
    free(vm->calls);
    free(vm->reglog_names);
    free(vm->reglog_values);
    free(vm->xslog);
    free(vm->port_counts);
    free(vm->port_writes);
    free(vm);
}

/* ------------------------------------------------------------------ */
/* Memory                                                               */
/* ------------------------------------------------------------------ */

/* A zeroed page, 4 KiB aligned (guest RAM mode registers it as it is). */
static UINT8 *page_alloc(void)
{
    UINT8 *p = aligned_alloc(FVMM_PAGE_SIZE, FVMM_PAGE_SIZE);
    if (!p) {
        fprintf(stderr, "fake_vmm: out of memory\n");
        abort();
    }
    memset(p, 0, FVMM_PAGE_SIZE);
    return p;
}

static const UINT8 *page_lookup(const fake_vmm *vm, UINT64 gpa)
{
    const size_t *v = map_find(&vm->gpa_pages, gpa >> 12);
    return v ? vm->pages[*v] : NULL;
}

UINT8 *fvmm_gpa_page(fake_vmm *vm, UINT64 gpa)
{
    size_t *v = map_find(&vm->gpa_pages, gpa >> 12);
    if (v)
        return vm->pages[*v];
    if (vm->npages == vm->cap_pages) {
        vm->cap_pages = vm->cap_pages ? vm->cap_pages * 2 : 16;
        vm->pages = xrealloc(vm->pages, vm->cap_pages * sizeof *vm->pages);
    }
    UINT8 *p = vm->nspare ? vm->spare[--vm->nspare] : page_alloc();
    vm->pages[vm->npages] = p;
    map_put(&vm->gpa_pages, gpa >> 12, vm->npages);
    vm->npages++;
    return p;
}

void fvmm_gpa_write(fake_vmm *vm, UINT64 gpa, const void *src, size_t len)
{
    const UINT8 *s = src;
    while (len) {
        size_t off = (size_t)(gpa & (FVMM_PAGE_SIZE - 1));
        size_t n = FVMM_PAGE_SIZE - off;
        if (n > len)
            n = len;
        memcpy(fvmm_gpa_page(vm, gpa) + off, s, n);
        s += n;
        len -= n;
        gpa += n;
    }
}

void fvmm_gpa_read(const fake_vmm *vm, UINT64 gpa, void *dst, size_t len)
{
    UINT8 *d = dst;
    while (len) {
        size_t off = (size_t)(gpa & (FVMM_PAGE_SIZE - 1));
        size_t n = FVMM_PAGE_SIZE - off;
        if (n > len)
            n = len;
        const UINT8 *p = page_lookup(vm, gpa);
        if (p)
            memcpy(d, p + off, n);
        else
            memset(d, 0, n);
        d += n;
        len -= n;
        gpa += n;
    }
}

void fvmm_gpa_clear(fake_vmm *vm)
{
    for (size_t i = 0; i < vm->npages; i++)
        free(vm->pages[i]);
    vm->npages = 0;
    map_free(&vm->gpa_pages);
}

void fvmm_set_mmio(fake_vmm *vm, UINT64 gpa, int on)
{
    if (on)
        map_put(&vm->mmio_pages, gpa >> 12, 1);
    else
        map_del(&vm->mmio_pages, gpa >> 12);
}

void fvmm_set_mmio_translates_unmapped(fake_vmm *vm, int on)
{
    vm->mmio_translates_unmapped = on;
}

/* ------------------------------------------------------------------ */
/* Translation                                                          */
/* ------------------------------------------------------------------ */

void fvmm_set_default_translation(fake_vmm *vm, fvmm_default_translation d)
{
    vm->default_translation = d;
}

void fvmm_map_gva_ex(fake_vmm *vm, UINT64 gva, WHV_TRANSLATE_GVA_RESULT_CODE result,
                     UINT64 gpa_returned, unsigned perms)
{
    size_t *v = map_find(&vm->gva_map, gva >> 12);
    gva_entry e = {result, gpa_returned, perms};
    if (v) {
        vm->gva[*v] = e;
        return;
    }
    if (vm->ngva == vm->cap_gva) {
        vm->cap_gva = vm->cap_gva ? vm->cap_gva * 2 : 16;
        vm->gva = xrealloc(vm->gva, vm->cap_gva * sizeof *vm->gva);
    }
    vm->gva[vm->ngva] = e;
    map_put(&vm->gva_map, gva >> 12, vm->ngva);
    vm->ngva++;
}

void fvmm_map_gva(fake_vmm *vm, UINT64 gva, UINT64 gpa)
{
    fvmm_map_gva_ex(vm, gva, WHvTranslateGvaResultSuccess, gpa & FVMM_PAGE_MASK, FVMM_PERM_ALL);
}

void fvmm_unmap_gva(fake_vmm *vm, UINT64 gva)
{
    /* The entry stays in gva[] (unreferenced); simpler than compaction. */
    map_del(&vm->gva_map, gva >> 12);
}

void fvmm_set_cpl(fake_vmm *vm, unsigned cpl)
{
    vm->cpl = cpl & 3;
}

/* The translation of one page: result code and returned GPA (page value as
 * configured, not offset). */
static WHV_TRANSLATE_GVA_RESULT_CODE translate_page(const fake_vmm *vm, UINT64 gva, UINT32 flags,
                                                    UINT64 *gpa_page)
{
    const size_t *v = map_find(&vm->gva_map, gva >> 12);
    gva_entry e;
    if (v) {
        e = vm->gva[*v];
    } else if (vm->default_translation == FVMM_UNMAPPED_IDENTITY) {
        e.result = WHvTranslateGvaResultSuccess;
        e.gpa = gva & FVMM_PAGE_MASK;
        e.perms = FVMM_PERM_ALL;
    } else {
        *gpa_page = 0;
        return WHvTranslateGvaResultPageNotPresent;
    }
    *gpa_page = e.gpa;
    if (e.result != WHvTranslateGvaResultSuccess)
        return e.result;
    if (((flags & WHvTranslateGvaFlagValidateRead) && !(e.perms & FVMM_PERM_R)) ||
        ((flags & WHvTranslateGvaFlagValidateWrite) && !(e.perms & FVMM_PERM_W)) ||
        ((flags & WHvTranslateGvaFlagValidateExecute) && !(e.perms & FVMM_PERM_X)) ||
        (vm->cpl == 3 && !(flags & WHvTranslateGvaFlagPrivilegeExempt) &&
         (flags & 7u) && !(e.perms & FVMM_PERM_U)))
        return WHvTranslateGvaResultPrivilegeViolation;
    if (vm->mmio_translates_unmapped && (flags & 7u) &&
        map_find(&vm->mmio_pages, e.gpa >> 12))
        return WHvTranslateGvaResultGpaUnmapped;
    return WHvTranslateGvaResultSuccess;
}

WHV_TRANSLATE_GVA_RESULT_CODE fvmm_translate(const fake_vmm *vm, UINT64 gva, UINT32 flags,
                                             UINT64 *gpa)
{
    UINT64 page;
    WHV_TRANSLATE_GVA_RESULT_CODE r = translate_page(vm, gva, flags, &page);
    *gpa = page + (gva & (FVMM_PAGE_SIZE - 1));
    return r;
}

static int gva_copy(const fake_vmm *vm, UINT64 gva, size_t len, UINT64 *gpas)
{
    size_t i = 0;
    UINT64 a = gva;
    size_t left = len;
    while (left) {
        UINT64 page;
        if (translate_page(vm, a, 0, &page) != WHvTranslateGvaResultSuccess)
            return -1;
        gpas[i++] = (page & FVMM_PAGE_MASK) | (a & (FVMM_PAGE_SIZE - 1));
        size_t n = FVMM_PAGE_SIZE - (size_t)(a & (FVMM_PAGE_SIZE - 1));
        if (n > left)
            n = left;
        left -= n;
        a += n;
    }
    return 0;
}

int fvmm_gva_write(fake_vmm *vm, UINT64 gva, const void *src, size_t len)
{
    const UINT8 *s = src;
    UINT64 a = gva;
    /* Check every page first so that a failure copies nothing. */
    for (size_t done = 0; done < len;) {
        UINT64 g;
        if (gva_copy(vm, a, 1, &g))
            return -1;
        size_t n = FVMM_PAGE_SIZE - (size_t)(a & (FVMM_PAGE_SIZE - 1));
        done += n;
        a += n;
    }
    a = gva;
    while (len) {
        UINT64 g;
        gva_copy(vm, a, 1, &g);
        size_t n = FVMM_PAGE_SIZE - (size_t)(a & (FVMM_PAGE_SIZE - 1));
        if (n > len)
            n = len;
        fvmm_gpa_write(vm, g, s, n);
        s += n;
        len -= n;
        a += n;
    }
    return 0;
}

int fvmm_gva_read(const fake_vmm *vm, UINT64 gva, void *dst, size_t len)
{
    UINT8 *d = dst;
    UINT64 a = gva;
    for (size_t done = 0; done < len;) {
        UINT64 g;
        if (gva_copy(vm, a, 1, &g))
            return -1;
        size_t n = FVMM_PAGE_SIZE - (size_t)(a & (FVMM_PAGE_SIZE - 1));
        done += n;
        a += n;
    }
    a = gva;
    while (len) {
        UINT64 g;
        gva_copy(vm, a, 1, &g);
        size_t n = FVMM_PAGE_SIZE - (size_t)(a & (FVMM_PAGE_SIZE - 1));
        if (n > len)
            n = len;
        fvmm_gpa_read(vm, g, d, n);
        d += n;
        len -= n;
        a += n;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Registers                                                            */
/* ------------------------------------------------------------------ */

int fvmm_reg_known(const fake_vmm *vm, WHV_REGISTER_NAME name)
{
    int s = reg_slot((UINT32)name);
    return s >= 0 && !vm->reg_disabled[s];
}

HRESULT fvmm_reg_get(const fake_vmm *vm, WHV_REGISTER_NAME name, WHV_REGISTER_VALUE *value)
{
    int s = reg_slot((UINT32)name);
    if (s < 0 || vm->reg_disabled[s])
        return WHV_E_INVALID_VP_REGISTER_NAME;
    *value = vm->regs[s];
    return S_OK;
}

HRESULT fvmm_reg_set(fake_vmm *vm, WHV_REGISTER_NAME name, const WHV_REGISTER_VALUE *value)
{
    int s = reg_slot((UINT32)name);
    if (s < 0 || vm->reg_disabled[s])
        return WHV_E_INVALID_VP_REGISTER_NAME;
    vm->regs[s] = *value;
    return S_OK;
}

UINT64 fvmm_reg64(const fake_vmm *vm, WHV_REGISTER_NAME name)
{
    int s = reg_slot((UINT32)name);
    return s < 0 ? 0 : vm->regs[s].Reg64;
}

void fvmm_set_reg64(fake_vmm *vm, WHV_REGISTER_NAME name, UINT64 v)
{
    int s = reg_slot((UINT32)name);
    if (s < 0)
        return;
    memset(&vm->regs[s], 0, sizeof vm->regs[s]);
    vm->regs[s].Reg64 = v;
}

void fvmm_reg_disable(fake_vmm *vm, WHV_REGISTER_NAME name, int disabled)
{
    int s = reg_slot((UINT32)name);
    if (s >= 0)
        vm->reg_disabled[s] = disabled ? 1 : 0;
}

static WHV_X64_SEGMENT_REGISTER make_seg(UINT16 sel, UINT16 attr)
{
    WHV_X64_SEGMENT_REGISTER s;
    memset(&s, 0, sizeof s);
    s.Base = 0;
    s.Limit = 0xFFFFFFFFu;
    s.Selector = sel;
    s.Attributes = attr;
    return s;
}

void fvmm_setup_long_mode(fake_vmm *vm, unsigned cpl)
{
    WHV_REGISTER_VALUE v;
    cpl &= 3;
    fvmm_set_reg64(vm, WHvX64RegisterCr0, 0x80050033ull | 0x40000ull); /* PG WP AM NE ET MP PE */
    fvmm_set_reg64(vm, WHvX64RegisterCr4, 0x40620); /* OSXSAVE OSXMMEXCPT OSFXSR PAE */
    fvmm_set_reg64(vm, WHvX64RegisterEfer, 0xD01);  /* NXE LMA LME SCE */
    fvmm_set_reg64(vm, WHvX64RegisterXCr0, 0x7);    /* x87 SSE AVX */
    fvmm_set_reg64(vm, WHvX64RegisterRflags, 0x2);
    memset(&v, 0, sizeof v);
    v.XmmControlStatus.XmmStatusControl = 0x1F80;
    v.XmmControlStatus.XmmStatusControlMask = 0xFFFF;
    fvmm_reg_set(vm, WHvX64RegisterXmmControlStatus, &v);
    memset(&v, 0, sizeof v);
    v.FpControlStatus.FpControl = 0x37F;
    fvmm_reg_set(vm, WHvX64RegisterFpControlStatus, &v);
    memset(&v, 0, sizeof v);
    v.Segment = make_seg(cpl == 3 ? 0x33 : 0x10, cpl == 3 ? 0x20FB : 0x209B);
    fvmm_reg_set(vm, WHvX64RegisterCs, &v);
    UINT16 dsel = cpl == 3 ? 0x2B : 0x18;
    UINT16 dattr = cpl == 3 ? 0xC0F3 : 0xC093;
    static const WHV_REGISTER_NAME data[] = {WHvX64RegisterSs, WHvX64RegisterDs,
                                             WHvX64RegisterEs, WHvX64RegisterFs,
                                             WHvX64RegisterGs};
    for (size_t i = 0; i < sizeof data / sizeof data[0]; i++) {
        memset(&v, 0, sizeof v);
        v.Segment = make_seg(dsel, dattr);
        fvmm_reg_set(vm, data[i], &v);
    }
    fvmm_set_cpl(vm, cpl);
}

/* ------------------------------------------------------------------ */
/* Extended state                                                       */
/* ------------------------------------------------------------------ */

UINT32 fvmm_xstate_size(UINT32 component)
{
    UINT32 size;
    xs_locate(component, &size);
    return size;
}

UINT8 *fvmm_xstate(fake_vmm *vm, UINT32 component)
{
    UINT32 size;
    int off = xs_locate(component, &size);
    return off < 0 ? NULL : vm->xstate + off;
}

int fvmm_xstate_set(fake_vmm *vm, UINT32 component, const void *src)
{
    UINT32 size;
    int off = xs_locate(component, &size);
    if (off < 0)
        return -1;
    memcpy(vm->xstate + off, src, size);
    return 0;
}

int fvmm_xstate_get(const fake_vmm *vm, UINT32 component, void *dst)
{
    UINT32 size;
    int off = xs_locate(component, &size);
    if (off < 0)
        return -1;
    memcpy(dst, vm->xstate + off, size);
    return 0;
}

void fvmm_set_ymm(fake_vmm *vm, unsigned n, const void *src32)
{
    WHV_REGISTER_VALUE v;
    n &= 15;
    memset(&v, 0, sizeof v);
    memcpy(&v.Reg128, src32, 16);
    fvmm_reg_set(vm, (WHV_REGISTER_NAME)(WHvX64RegisterXmm0 + n), &v);
    memcpy(vm->xstate + 16 * n, (const UINT8 *)src32 + 16, 16);
}

void fvmm_get_ymm(const fake_vmm *vm, unsigned n, void *dst32)
{
    WHV_REGISTER_VALUE v;
    n &= 15;
    memset(&v, 0, sizeof v);
    fvmm_reg_get(vm, (WHV_REGISTER_NAME)(WHvX64RegisterXmm0 + n), &v);
    memcpy(dst32, &v.Reg128, 16);
    memcpy((UINT8 *)dst32 + 16, vm->xstate + 16 * n, 16);
}

/* ------------------------------------------------------------------ */
/* Ports                                                                */
/* ------------------------------------------------------------------ */

UINT32 fvmm_port_value(UINT16 port, UINT32 index, UINT16 size)
{
    UINT64 x = ((UINT64)port << 32) ^ (UINT64)index * 0x9E3779B97F4A7C15ull ^ 0x5bd1e995ull;
    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 32;
    UINT32 v = (UINT32)x;
    if (size == 1)
        v &= 0xFF;
    else if (size == 2)
        v &= 0xFFFF;
    return v;
}

static port_count *port_entry(fake_vmm *vm, UINT16 port, int create)
{
    for (size_t i = 0; i < vm->nport_counts; i++)
        if (vm->port_counts[i].port == port)
            return &vm->port_counts[i];
    if (!create)
        return NULL;
    if (vm->nport_counts == vm->cap_port_counts) {
        vm->cap_port_counts = vm->cap_port_counts ? vm->cap_port_counts * 2 : 8;
        vm->port_counts = xrealloc(vm->port_counts, vm->cap_port_counts * sizeof *vm->port_counts);
    }
    port_count *p = &vm->port_counts[vm->nport_counts++];
    p->port = port;
    p->reads = 0;
    return p;
}

UINT32 fvmm_port_reads(const fake_vmm *vm, UINT16 port)
{
    for (size_t i = 0; i < vm->nport_counts; i++)
        if (vm->port_counts[i].port == port)
            return vm->port_counts[i].reads;
    return 0;
}

size_t fvmm_port_write_count(const fake_vmm *vm)
{
    return vm->nport_writes;
}

const fvmm_port_write *fvmm_port_write_at(const fake_vmm *vm, size_t i)
{
    return i < vm->nport_writes ? &vm->port_writes[i] : NULL;
}

/* ------------------------------------------------------------------ */
/* Log and injection                                                    */
/* ------------------------------------------------------------------ */

void fvmm_reset(fake_vmm *vm)
{
    if (vm->npages) {
        vm->spare = xrealloc(vm->spare, (vm->nspare + vm->npages) * sizeof *vm->spare);
        for (size_t i = 0; i < vm->npages; i++) {
            memset(vm->pages[i], 0, FVMM_PAGE_SIZE);
            vm->spare[vm->nspare++] = vm->pages[i];
        }
        vm->npages = 0;
    }
    map_clear(&vm->gpa_pages);
    map_clear(&vm->mmio_pages);
    vm->mmio_translates_unmapped = 0;
    map_clear(&vm->gva_map);
    vm->ngva = 0;
    vm->default_translation = FVMM_UNMAPPED_IDENTITY;
    vm->cpl = 0;
    vm->rep_to_completion = 0;
    vm->ram_ntables = 0;
    memset(vm->regs, 0, sizeof vm->regs);
    memset(vm->reg_disabled, 0, sizeof vm->reg_disabled);
    fvmm_reset_log(vm);
}

void fvmm_reset_calls(fake_vmm *vm)
{
    vm->ncalls = 0;
    vm->nreglog = 0;
    memset(vm->counts, 0, sizeof vm->counts);
    vm->ninject = 0;
}

void fvmm_reset_log(fake_vmm *vm)
{
    vm->ncalls = 0;
    vm->nreglog = 0;
    vm->nxslog = 0;
    memset(vm->counts, 0, sizeof vm->counts);
    vm->ninject = 0;
    vm->nport_counts = 0;
    vm->nport_writes = 0;
}

size_t fvmm_call_count(const fake_vmm *vm)
{
    return vm->ncalls;
}

const fvmm_call *fvmm_call_at(const fake_vmm *vm, size_t i)
{
    return i < vm->ncalls ? &vm->calls[i] : NULL;
}

unsigned fvmm_count(const fake_vmm *vm, fvmm_cb_kind kind)
{
    return kind < FVMM_CB_KINDS ? vm->counts[kind] : 0;
}

const char *fvmm_cb_kind_name(fvmm_cb_kind kind)
{
    static const char *const names[] = {"io",       "memory",    "get_regs",
                                        "set_regs", "translate", "xstate"};
    return kind < FVMM_CB_KINDS ? names[kind] : "?";
}

void fvmm_fail_nth(fake_vmm *vm, fvmm_cb_kind kind, unsigned nth, HRESULT hr)
{
    if (vm->ninject >= FVMM_MAX_INJECT)
        return;
    injection *j = &vm->inject[vm->ninject++];
    memset(j, 0, sizeof *j);
    j->kind = kind;
    j->nth = nth;
    j->hr = hr;
}

void fvmm_translate_nth(fake_vmm *vm, unsigned nth, WHV_TRANSLATE_GVA_RESULT_CODE result,
                        UINT64 gpa_offset)
{
    if (vm->ninject >= FVMM_MAX_INJECT)
        return;
    injection *j = &vm->inject[vm->ninject++];
    memset(j, 0, sizeof *j);
    j->kind = FVMM_CB_TRANSLATE;
    j->nth = nth;
    j->hr = S_OK;
    j->is_translate_result = 1;
    j->result = result;
    j->gpa_offset = gpa_offset;
}

/* Returns the injection for the call about to be made (counts already
 * incremented), or NULL. */
static const injection *find_injection(fake_vmm *vm, fvmm_cb_kind kind)
{
    for (unsigned i = 0; i < vm->ninject; i++)
        if (vm->inject[i].kind == kind && vm->inject[i].nth == vm->counts[kind])
            return &vm->inject[i];
    return NULL;
}

static fvmm_call *new_call(fake_vmm *vm, fvmm_cb_kind kind)
{
    if (vm->ncalls == vm->cap_calls) {
        vm->cap_calls = vm->cap_calls ? vm->cap_calls * 2 : 64;
        vm->calls = xrealloc(vm->calls, vm->cap_calls * sizeof *vm->calls);
    }
    fvmm_call *c = &vm->calls[vm->ncalls++];
    memset(c, 0, sizeof *c);
    c->kind = kind;
    vm->counts[kind]++;
    return c;
}

static UINT32 log_regs(fake_vmm *vm, const WHV_REGISTER_NAME *names,
                       const WHV_REGISTER_VALUE *values, UINT32 count)
{
    if (vm->nreglog + count > vm->cap_reglog) {
        while (vm->nreglog + count > vm->cap_reglog)
            vm->cap_reglog = vm->cap_reglog ? vm->cap_reglog * 2 : 64;
        vm->reglog_names = xrealloc(vm->reglog_names, vm->cap_reglog * sizeof *vm->reglog_names);
        /* malloc alignment (16 on x86-64 glibc) suits WHV_REGISTER_VALUE. */
        vm->reglog_values =
            xrealloc(vm->reglog_values, vm->cap_reglog * sizeof *vm->reglog_values);
    }
    UINT32 first = (UINT32)vm->nreglog;
    for (UINT32 i = 0; i < count; i++) {
        vm->reglog_names[first + i] = names[i];
        if (values)
            vm->reglog_values[first + i] = values[i];
        else
            memset(&vm->reglog_values[first + i], 0, sizeof(WHV_REGISTER_VALUE));
    }
    vm->nreglog += count;
    return first;
}

const WHV_REGISTER_NAME *fvmm_call_reg_names(const fake_vmm *vm, const fvmm_call *c)
{
    return &vm->reglog_names[c->u.regs.first];
}

const WHV_REGISTER_VALUE *fvmm_call_reg_values(const fake_vmm *vm, const fvmm_call *c)
{
    return &vm->reglog_values[c->u.regs.first];
}

const UINT8 *fvmm_call_xstate_data(const fake_vmm *vm, const fvmm_call *c)
{
    if (c->kind != FVMM_CB_XSTATE || !c->u.xstate.has_data)
        return NULL;
    return vm->xslog + c->u.xstate.first;
}

unsigned fvmm_xstate_calls(const fake_vmm *vm, UINT32 component, int write)
{
    unsigned n = 0;
    for (size_t i = 0; i < vm->ncalls; i++) {
        const fvmm_call *c = &vm->calls[i];
        if (c->kind == FVMM_CB_XSTATE && c->u.xstate.component == component &&
            (c->u.xstate.write != 0) == (write != 0))
            n++;
    }
    return n;
}

int fvmm_set_call_find(const fake_vmm *vm, WHV_REGISTER_NAME name, WHV_REGISTER_VALUE *value)
{
    for (size_t i = vm->ncalls; i-- > 0;) {
        const fvmm_call *c = &vm->calls[i];
        if (c->kind != FVMM_CB_SET_REGS)
            continue;
        int found = 0;
        for (UINT32 k = 0; k < c->u.regs.count; k++)
            if ((UINT32)vm->reglog_names[c->u.regs.first + k] == (UINT32)name) {
                if (value)
                    *value = vm->reglog_values[c->u.regs.first + k];
                found = 1; /* keep scanning: the last one wins */
            }
        return found;
    }
    return 0;
}

void fvmm_dump_log(const fake_vmm *vm, FILE *out)
{
    for (size_t i = 0; i < vm->ncalls; i++) {
        const fvmm_call *c = &vm->calls[i];
        fprintf(out, "  #%zu %-9s hr=0x%08x%s", i, fvmm_cb_kind_name(c->kind), (unsigned)c->hr,
                c->injected ? " (injected)" : "");
        switch (c->kind) {
        case FVMM_CB_MEMORY:
            fprintf(out, " gpa=0x%llx %s size=%u data=", (unsigned long long)c->u.mem.gpa,
                    c->u.mem.direction ? "write" : "read", c->u.mem.size);
            for (unsigned k = 0; k < c->u.mem.size && k < 8; k++)
                fprintf(out, "%02x", c->u.mem.data[k]);
            break;
        case FVMM_CB_TRANSLATE:
            fprintf(out, " gva=0x%llx flags=0x%x result=%u gpa=0x%llx",
                    (unsigned long long)c->u.translate.gva, c->u.translate.flags,
                    (unsigned)c->u.translate.result, (unsigned long long)c->u.translate.gpa);
            break;
        case FVMM_CB_IO:
            fprintf(out, " port=0x%x size=%u %s data=0x%x", c->u.io.port, c->u.io.size,
                    c->u.io.direction ? "out" : "in", c->u.io.data);
            break;
        case FVMM_CB_GET_REGS:
        case FVMM_CB_SET_REGS:
            fprintf(out, " n=%u:", c->u.regs.count);
            for (UINT32 k = 0; k < c->u.regs.count; k++) {
                size_t r = c->u.regs.first + k;
                fprintf(out, " %x", (unsigned)vm->reglog_names[r]);
                if (c->kind != FVMM_CB_SET_REGS)
                    continue;
                UINT32 nm = (UINT32)vm->reglog_names[r];
                if (nm >= WHvX64RegisterXmm0 && nm <= WHvX64RegisterXmmControlStatus)
                    fprintf(out, "=%llx:%016llx", /* 128-bit: high:low */
                            (unsigned long long)vm->reglog_values[r].Reg128.High64,
                            (unsigned long long)vm->reglog_values[r].Reg128.Low64);
                else
                    fprintf(out, "=%llx", (unsigned long long)vm->reglog_values[r].Reg64);
            }
            break;
        case FVMM_CB_XSTATE: {
            fprintf(out, " component=%u %s size=%u", c->u.xstate.component,
                    c->u.xstate.write == 0 ? "read" : c->u.xstate.write == 1 ? "write" : "write?",
                    c->u.xstate.size);
            if (c->u.xstate.write > 1)
                fprintf(out, " (Write=%u)", c->u.xstate.write);
            const UINT8 *d = fvmm_call_xstate_data(vm, c);
            if (d) {
                fprintf(out, " data=");
                for (UINT32 k = 0; k < c->u.xstate.size && k < 32; k++)
                    fprintf(out, "%02x", d[k]);
                if (c->u.xstate.size > 32)
                    fprintf(out, "...");
            }
            break;
        }
        default:
            break;
        }
        fputc('\n', out);
    }
}

/* ------------------------------------------------------------------ */
/* The callbacks                                                        */
/* ------------------------------------------------------------------ */

static HRESULT CALLBACK cb_io(VOID *ctx, WHV_EMULATOR_IO_ACCESS_INFO *io)
{
    fake_vmm *vm = ctx;
    fvmm_call *c = new_call(vm, FVMM_CB_IO);
    const injection *j = find_injection(vm, FVMM_CB_IO);
    c->u.io.port = io->Port;
    c->u.io.size = io->AccessSize;
    c->u.io.direction = io->Direction;
    if (j) {
        c->injected = 1;
        c->hr = j->hr;
        c->u.io.data = io->Data;
        return j->hr;
    }
    if (io->Direction == 0) {
        port_count *p = port_entry(vm, io->Port, 1);
        io->Data = fvmm_port_value(io->Port, p->reads++, io->AccessSize);
    } else {
        if (vm->nport_writes == vm->cap_port_writes) {
            vm->cap_port_writes = vm->cap_port_writes ? vm->cap_port_writes * 2 : 16;
            vm->port_writes =
                xrealloc(vm->port_writes, vm->cap_port_writes * sizeof *vm->port_writes);
        }
        fvmm_port_write *w = &vm->port_writes[vm->nport_writes++];
        w->port = io->Port;
        w->size = io->AccessSize;
        w->data = io->Data;
    }
    c->u.io.data = io->Data;
    c->hr = S_OK;
    return S_OK;
}

static HRESULT CALLBACK cb_memory(VOID *ctx, WHV_EMULATOR_MEMORY_ACCESS_INFO *m)
{
    fake_vmm *vm = ctx;
    fvmm_call *c = new_call(vm, FVMM_CB_MEMORY);
    const injection *j = find_injection(vm, FVMM_CB_MEMORY);
    c->u.mem.gpa = m->GpaAddress;
    c->u.mem.direction = m->Direction;
    c->u.mem.size = m->AccessSize;
    if (j) {
        c->injected = 1;
        c->hr = j->hr;
        return j->hr;
    }
    size_t n = m->AccessSize <= 8 ? m->AccessSize : 8;
    if (m->Direction == 0)
        fvmm_gpa_read(vm, m->GpaAddress, m->Data, n);
    else
        fvmm_gpa_write(vm, m->GpaAddress, m->Data, n);
    memcpy(c->u.mem.data, m->Data, n);
    c->hr = S_OK;
    return S_OK;
}

static HRESULT CALLBACK cb_get_regs(VOID *ctx, const WHV_REGISTER_NAME *names, UINT32 count,
                                    WHV_REGISTER_VALUE *values)
{
    fake_vmm *vm = ctx;
    fvmm_call *c = new_call(vm, FVMM_CB_GET_REGS);
    const injection *j = find_injection(vm, FVMM_CB_GET_REGS);
    HRESULT hr = S_OK;
    if (j) {
        c->injected = 1;
        hr = j->hr;
    } else {
        for (UINT32 i = 0; i < count; i++)
            if (!fvmm_reg_known(vm, names[i]))
                hr = WHV_E_INVALID_VP_REGISTER_NAME;
    }
    if (hr == S_OK)
        for (UINT32 i = 0; i < count; i++)
            fvmm_reg_get(vm, names[i], &values[i]);
    c->u.regs.count = count;
    c->u.regs.first = log_regs(vm, names, hr == S_OK ? values : NULL, count);
    c->hr = hr;
    return hr;
}

static HRESULT CALLBACK cb_set_regs(VOID *ctx, const WHV_REGISTER_NAME *names, UINT32 count,
                                    const WHV_REGISTER_VALUE *values)
{
    fake_vmm *vm = ctx;
    fvmm_call *c = new_call(vm, FVMM_CB_SET_REGS);
    const injection *j = find_injection(vm, FVMM_CB_SET_REGS);
    HRESULT hr = S_OK;
    if (j) {
        c->injected = 1;
        hr = j->hr;
    } else {
        for (UINT32 i = 0; i < count; i++)
            if (!fvmm_reg_known(vm, names[i]))
                hr = WHV_E_INVALID_VP_REGISTER_NAME;
    }
    if (hr == S_OK)
        for (UINT32 i = 0; i < count; i++)
            fvmm_reg_set(vm, names[i], &values[i]);
    c->u.regs.count = count;
    c->u.regs.first = log_regs(vm, names, values, count);
    c->hr = hr;
    return hr;
}

static HRESULT CALLBACK cb_translate(VOID *ctx, WHV_GUEST_VIRTUAL_ADDRESS gva,
                                     WHV_TRANSLATE_GVA_FLAGS flags,
                                     WHV_TRANSLATE_GVA_RESULT_CODE *result,
                                     WHV_GUEST_PHYSICAL_ADDRESS *gpa)
{
    fake_vmm *vm = ctx;
    fvmm_call *c = new_call(vm, FVMM_CB_TRANSLATE);
    const injection *j = find_injection(vm, FVMM_CB_TRANSLATE);
    c->u.translate.gva = gva;
    c->u.translate.flags = (UINT32)flags;
    if (j && !j->is_translate_result) {
        c->injected = 1;
        c->hr = j->hr;
        return j->hr;
    }
    UINT64 page;
    WHV_TRANSLATE_GVA_RESULT_CODE r = translate_page(vm, gva, (UINT32)flags, &page);
    if (j) {
        c->injected = 1;
        r = j->result;
        page += j->gpa_offset;
    }
    *result = r;
    *gpa = page;
    c->u.translate.result = r;
    c->u.translate.gpa = page;
    c->hr = S_OK;
    return S_OK;
}

static HRESULT CALLBACK cb_xstate(VOID *ctx, UINT32 component, BOOL write, VOID *buffer,
                                  UINT32 size)
{
    fake_vmm *vm = ctx;
    fvmm_call *c = new_call(vm, FVMM_CB_XSTATE);
    const injection *j = find_injection(vm, FVMM_CB_XSTATE);
    c->u.xstate.component = component;
    c->u.xstate.size = size;
    c->u.xstate.write = (UINT32)write;
    UINT32 want;
    int off = xs_locate(component, &want);
    HRESULT hr = S_OK;
    if (j) {
        c->injected = 1;
        hr = j->hr;
    } else if (off < 0 || size != want || !buffer) {
        hr = E_INVALIDARG;
    } else if (write) {
        memcpy(vm->xstate + off, buffer, size);
    } else {
        memcpy(buffer, vm->xstate + off, size);
    }
    if (buffer && size <= XS_TOTAL) {
        if (vm->nxslog + size > vm->cap_xslog) {
            while (vm->nxslog + size > vm->cap_xslog)
                vm->cap_xslog = vm->cap_xslog ? vm->cap_xslog * 2 : 4096;
            vm->xslog = xrealloc(vm->xslog, vm->cap_xslog);
        }
        memcpy(vm->xslog + vm->nxslog, buffer, size);
        c->u.xstate.first = (UINT32)vm->nxslog;
        c->u.xstate.has_data = 1;
        vm->nxslog += size;
    }
    c->hr = hr;
    return hr;
}

WHVEMU_XSTATE_CALLBACK fvmm_xstate_callback(void)
{
    return cb_xstate;
}

static const WHV_EMULATOR_CALLBACKS g_callbacks = {
    sizeof(WHV_EMULATOR_CALLBACKS), 0, cb_io, cb_memory, cb_get_regs, cb_set_regs, cb_translate,
};

const WHV_EMULATOR_CALLBACKS *fvmm_callbacks(void)
{
    return &g_callbacks;
}

/* ------------------------------------------------------------------ */
/* Exit contexts                                                        */
/* ------------------------------------------------------------------ */

void fvmm_build_exit64(WHV_VP_EXIT_CONTEXT *vp, unsigned cpl, UINT64 rip, UINT64 rflags)
{
    memset(vp, 0, sizeof *vp);
    vp->ExecutionState.Cpl = cpl & 3;
    vp->ExecutionState.Cr0Pe = 1;
    vp->ExecutionState.EferLma = 1;
    vp->Cs = make_seg((cpl & 3) == 3 ? 0x33 : 0x10, (cpl & 3) == 3 ? 0x20FB : 0x209B);
    vp->Rip = rip;
    vp->Rflags = rflags;
}

void fvmm_build_mmio(WHV_MEMORY_ACCESS_CONTEXT *mc, const fvmm_mmio_exit *d)
{
    memset(mc, 0, sizeof *mc);
    unsigned n = d->insn_count > 16 ? 16 : d->insn_count;
    mc->InstructionByteCount = (UINT8)n;
    if (n && d->insn)
        memcpy(mc->InstructionBytes, d->insn, n);
    mc->AccessInfo.AccessType = (UINT32)d->access & 3u;
    mc->AccessInfo.GpaUnmapped = d->gpa_unmapped ? 1 : 0;
    mc->AccessInfo.GvaValid = d->gva_valid ? 1 : 0;
    mc->Gpa = d->gpa;
    mc->Gva = d->gva;
}

void fvmm_build_mmio_exit64(const fake_vmm *vm, WHV_VP_EXIT_CONTEXT *vp,
                            WHV_MEMORY_ACCESS_CONTEXT *mc, const fvmm_mmio_exit *d)
{
    fvmm_build_exit64(vp, vm->cpl, fvmm_reg64(vm, WHvX64RegisterRip),
                      fvmm_reg64(vm, WHvX64RegisterRflags));
    WHV_REGISTER_VALUE cs;
    if (fvmm_reg_get(vm, WHvX64RegisterCs, &cs) == S_OK && cs.Segment.Attributes)
        vp->Cs = cs.Segment;
    fvmm_build_mmio(mc, d);
}

/* ------------------------------------------------------------------ */
/* Guest RAM mode                                                       */
/* ------------------------------------------------------------------ */

#define RAM_P 0x1ull
#define RAM_RW 0x2ull
#define RAM_US 0x4ull
#define RAM_XD (1ull << 63)
#define RAM_ADDR 0x000FFFFFFFFFF000ull
#define RAM_SURE_GPA (1ull << 36) /* the emulator walks to leaves above it only in RAM */

void fvmm_set_guest_ram_mode(fake_vmm *vm, int on)
{
    vm->ram_mode = on != 0;
}

int fvmm_guest_ram_mode(const fake_vmm *vm)
{
    return vm->ram_mode;
}

static int ram_canonical48(UINT64 a)
{
    return (UINT64)((INT64)(a << 16) >> 16) == a;
}

/* Whether the translate callback's answer for this entry is what a page
 * table leaf gives: Success, an aligned GPA, readable, and executable
 * unless EFER.NXE lets XD say otherwise. */
static int ram_leaf_ok(const fake_vmm *vm, UINT64 gva, const gva_entry *e, int nxe)
{
    (void)vm;
    return e->result == WHvTranslateGvaResultSuccess && !(e->gpa & (FVMM_PAGE_SIZE - 1)) &&
           e->gpa <= RAM_ADDR && e->gpa < FVMM_RAM_TABLES && (e->perms & FVMM_PERM_R) &&
           ((e->perms & FVMM_PERM_X) || nxe) && ram_canonical48(gva);
}

static UINT64 ram_leaf(const gva_entry *e)
{
    return e->gpa | RAM_P | ((e->perms & FVMM_PERM_W) ? RAM_RW : 0) |
           ((e->perms & FVMM_PERM_U) ? RAM_US : 0) | ((e->perms & FVMM_PERM_X) ? 0 : RAM_XD);
}

static UINT64 ram_new_table(fake_vmm *vm)
{
    UINT64 gpa = FVMM_RAM_TABLES + vm->ram_ntables++ * FVMM_PAGE_SIZE;
    memset(fvmm_gpa_page(vm, gpa), 0, FVMM_PAGE_SIZE);
    return gpa;
}

static UINT64 *ram_entry(fake_vmm *vm, UINT64 table, unsigned idx)
{
    return (UINT64 *)(void *)(fvmm_gpa_page(vm, table) + idx * 8u);
}

/* The table at `level` (3: PDPT, 2: PD, 1: PT) on the way to gva, created
 * (entries P | R/W | U/S: the leaf decides) when missing; 0 when the way
 * passes an entry that is not a table (the hole). */
static UINT64 ram_table_for(fake_vmm *vm, UINT64 root, UINT64 gva, unsigned level)
{
    UINT64 t = root;
    for (unsigned l = 4; l > level; l--) {
        UINT64 *e = ram_entry(vm, t, (unsigned)(gva >> (12 + 9 * (l - 1))) & 511);
        if (!*e)
            *e = ram_new_table(vm) | RAM_P | RAM_RW | RAM_US;
        else if ((*e & RAM_ADDR) == FVMM_RAM_HOLE)
            return 0;
        t = *e & RAM_ADDR;
    }
    return t;
}

static int ram_range_cmp(const void *a, const void *b)
{
    UINT64 x = ((const WHVEMU_GUEST_RAM_RANGE *)a)->GuestAddress;
    UINT64 y = ((const WHVEMU_GUEST_RAM_RANGE *)b)->GuestAddress;
    return x < y ? -1 : x > y;
}

static void ram_fill_identity(fake_vmm *vm, UINT64 table, unsigned level, UINT64 base);

/* Builds the 4-level tables of the GVA map (long mode). */
static void ram_build_tables(fake_vmm *vm)
{
    int nxe = (fvmm_reg64(vm, WHvX64RegisterEfer) & 0x800) != 0;
    int identity = vm->default_translation == FVMM_UNMAPPED_IDENTITY;
    page_map bad; /* 2 MiB regions (gva >> 21) whose pages a leaf cannot express */
    memset(&bad, 0, sizeof bad);
    for (size_t i = 0; i < vm->gva_map.cap; i++) {
        UINT64 k = vm->gva_map.keys[i];
        if (k == MAP_EMPTY)
            continue;
        const gva_entry *e = &vm->gva[vm->gva_map.vals[i]];
        /* With identity translation every page of a region with a page
         * table is a leaf: its GPA must be an ordinary one. */
        if (!ram_leaf_ok(vm, k << 12, e, nxe) || (identity && (k << 12) >= FVMM_RAM_TABLES))
            map_put(&bad, k >> 9, 1);
    }
    UINT64 root = ram_new_table(vm);
    fvmm_set_reg64(vm, WHvX64RegisterCr3, root);
    for (size_t i = 0; i < vm->gva_map.cap; i++) {
        UINT64 k = vm->gva_map.keys[i];
        if (k == MAP_EMPTY || !ram_canonical48(k << 12))
            continue;
        UINT64 gva = k << 12;
        if (map_find(&bad, k >> 9)) {
            UINT64 pd = ram_table_for(vm, root, gva, 2);
            if (pd)
                *ram_entry(vm, pd, (unsigned)(gva >> 21) & 511) = FVMM_RAM_HOLE | RAM_P | RAM_RW | RAM_US;
            continue;
        }
        const gva_entry *e = &vm->gva[vm->gva_map.vals[i]];
        UINT64 pt = ram_table_for(vm, root, gva, 1);
        if (!pt)
            continue;
        *ram_entry(vm, pt, (unsigned)k & 511) = ram_leaf(e);
        if (!map_find(&vm->mmio_pages, e->gpa >> 12))
            fvmm_gpa_page(vm, e->gpa); /* RAM from the start */
    }
    map_free(&bad);
    if (identity)
        ram_fill_identity(vm, root, 4, 0);
}

/* Where the page tables leave a page unmapped while unmapped pages
 * translate to themselves: identity leaves in the page tables built, the
 * hole (an unregistered table: the translate callback) at the levels
 * above. */
static void ram_fill_identity(fake_vmm *vm, UINT64 table, unsigned level, UINT64 base)
{
    for (unsigned i = 0; i < 512; i++) {
        UINT64 gva = base | ((UINT64)i << (12 + 9 * (level - 1)));
        if (level == 4 && i >= 256)
            gva |= 0xFFFF000000000000ull;
        UINT64 *e = ram_entry(vm, table, i);
        if (level == 1) {
            if (!*e)
                *e = gva | RAM_P | RAM_RW | RAM_US;
            continue;
        }
        if (!*e)
            *e = FVMM_RAM_HOLE | RAM_P | RAM_RW | RAM_US;
        else if ((*e & RAM_ADDR) != FVMM_RAM_HOLE)
            ram_fill_identity(vm, *e & RAM_ADDR, level - 1, gva);
    }
}

void fvmm_sync_guest_ram(fake_vmm *vm, WHV_EMULATOR_HANDLE emu)
{
    if (!vm->ram_mode)
        return;
    for (size_t t = 0; t < vm->ram_ntables; t++)
        memset(fvmm_gpa_page(vm, FVMM_RAM_TABLES + t * FVMM_PAGE_SIZE), 0, FVMM_PAGE_SIZE);
    vm->ram_ntables = 0;
    UINT64 cr0 = fvmm_reg64(vm, WHvX64RegisterCr0);
    UINT64 efer = fvmm_reg64(vm, WHvX64RegisterEfer);
    if ((cr0 & 0x80000001ull) == 0x80000001ull && (efer & 0x400))
        ram_build_tables(vm);
    else if (cr0 & 0x80000000ull)
        fvmm_set_reg64(vm, WHvX64RegisterCr3, FVMM_RAM_HOLE); /* walks: the callback */
    if (vm->cap_ram_ranges < vm->npages) {
        vm->cap_ram_ranges = vm->npages;
        vm->ram_ranges = xrealloc(vm->ram_ranges, vm->cap_ram_ranges * sizeof *vm->ram_ranges);
    }
    UINT32 n = 0;
    for (size_t i = 0; i < vm->gpa_pages.cap; i++) {
        UINT64 k = vm->gpa_pages.keys[i];
        if (k == MAP_EMPTY || map_find(&vm->mmio_pages, k) || k == FVMM_RAM_HOLE >> 12)
            continue;
        WHVEMU_GUEST_RAM_RANGE *r = &vm->ram_ranges[n++];
        memset(r, 0, sizeof *r);
        r->GuestAddress = k << 12;
        r->SizeInBytes = FVMM_PAGE_SIZE;
        r->HostAddress = vm->pages[vm->gpa_pages.vals[i]];
        r->Flags = WHVEMU_RAM_READ | WHVEMU_RAM_WRITE;
    }
    if (n > 1)
        qsort(vm->ram_ranges, n, sizeof *vm->ram_ranges, ram_range_cmp);
    HRESULT hr = whvemu_set_guest_ram(emu, vm->ram_ranges, n);
    if (hr != S_OK) {
        fprintf(stderr, "fake_vmm: whvemu_set_guest_ram failed with 0x%08x\n", (unsigned)hr);
        abort();
    }
}

/* Whether the emulator's walk of gva stays in registered RAM (so it never
 * needs the translate callback): the tables the last sync built, from CR3. */
static int ram_walk_in_ram(const fake_vmm *vm, UINT64 gva)
{
    if (!vm->ram_ntables)
        return 0;
    UINT64 t = fvmm_reg64(vm, WHvX64RegisterCr3) & RAM_ADDR;
    for (unsigned l = 4; l >= 1; l--) {
        const UINT8 *p = page_lookup(vm, t);
        UINT64 e = 0;
        if (p)
            memcpy(&e, p + ((gva >> (12 + 9 * (l - 1))) & 511) * 8, 8);
        if (!(e & RAM_P))
            return 1; /* a #PF found in RAM */
        if (l > 1 && (e & RAM_ADDR) == FVMM_RAM_HOLE)
            return 0;
        t = e & RAM_ADDR;
    }
    return t < RAM_SURE_GPA || (page_lookup(vm, t) && !map_find(&vm->mmio_pages, t >> 12));
}

/* ------------------------------------------------------------------ */
/* Round-trip rules                                                     */
/* ------------------------------------------------------------------ */

static const char *fail(fake_vmm *vm, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(vm->msg, sizeof vm->msg, fmt, ap);
    va_end(ap);
    return vm->msg;
}

void fvmm_set_rep_to_completion(fake_vmm *vm, int on)
{
    vm->rep_to_completion = on;
}

#define VALIDATE_MASK                                                                              \
    (WHvTranslateGvaFlagValidateRead | WHvTranslateGvaFlagValidateWrite |                          \
     WHvTranslateGvaFlagValidateExecute)

/* A REP loop run to completion: the translate calls must split into
 * consecutive sets of page slots, each translating a page again only to add
 * a validation, and each but the last holding at least FVMM_REP_SLOTS_USED
 * distinct pages (the emulator starts a fresh set only then). Where a set
 * ends is not visible, so every possible split is tried: can[s] says a set
 * may begin at translate call s. Returns the index of a call no split
 * explains, or -1. */
static long check_slot_sets(const fake_vmm *vm)
{
    size_t n = 0;
    for (size_t i = 0; i < vm->ncalls; i++)
        n += vm->calls[i].kind == FVMM_CB_TRANSLATE;
    if (n == 0)
        return -1;
    UINT64 *page = xcalloc(n, sizeof *page);
    UINT32 *flags = xcalloc(n, sizeof *flags);
    size_t *at = xcalloc(n, sizeof *at);
    unsigned char *can = xcalloc(n + 1, 1);
    UINT64 *wpage = xcalloc(n, sizeof *wpage); /* the pages of one set, and */
    UINT32 *wflags = xcalloc(n, sizeof *wflags); /* what each was validated for */
    for (size_t i = 0, k = 0; i < vm->ncalls; i++)
        if (vm->calls[i].kind == FVMM_CB_TRANSLATE) {
            page[k] = vm->calls[i].u.translate.gva & FVMM_PAGE_MASK;
            flags[k] = vm->calls[i].u.translate.flags & VALIDATE_MASK;
            at[k++] = i;
        }
    long bad = -1;
    size_t furthest = 0;
    can[0] = 1;
    int ok = 0;
    for (size_t s = 0; s < n && !ok; s++) {
        if (!can[s])
            continue;
        size_t d = 0, e = s;
        for (; e < n; e++) {
            size_t w = 0;
            while (w < d && wpage[w] != page[e])
                w++;
            if (w < d) {
                if (!(flags[e] & ~wflags[w]))
                    break; /* translated again with nothing new: not in this set */
                wflags[w] |= flags[e];
            } else {
                wpage[d] = page[e];
                wflags[d++] = flags[e];
            }
            if (d >= FVMM_REP_SLOTS_USED)
                can[e + 1] = 1;
        }
        if (e == n)
            ok = 1;
        else if (e > furthest)
            furthest = e;
    }
    if (!ok)
        bad = (long)at[furthest];
    free(page);
    free(flags);
    free(at);
    free(can);
    free(wpage);
    free(wflags);
    return bad;
}

static UINT32 status_bit_for(const fvmm_call *c)
{
    switch (c->kind) {
    case FVMM_CB_IO:
        return 1u << 2;
    case FVMM_CB_MEMORY:
        return 1u << 3;
    case FVMM_CB_TRANSLATE:
        return 1u << 4;
    case FVMM_CB_GET_REGS:
        return 1u << 6;
    case FVMM_CB_SET_REGS:
        return 1u << 7;
    case FVMM_CB_XSTATE: /* a read is a get, a write a set */
        return c->u.xstate.write ? 1u << 7 : 1u << 6;
    default:
        return 0;
    }
}

/* The extended-state rules (see fake_vmm.h). */
static const char *check_xstate(fake_vmm *vm, UINT32 st)
{
    int ok = (st & 1u) != 0;
    size_t commit_from = vm->ncalls; /* first set call or extended-state write */
    UINT32 reads = 0, writes = 0;    /* bit per component */
    for (size_t i = 0; i < vm->ncalls; i++) {
        const fvmm_call *c = &vm->calls[i];
        if (c->kind == FVMM_CB_SET_REGS && commit_from == vm->ncalls)
            commit_from = i;
        if (c->kind != FVMM_CB_XSTATE)
            continue;
        UINT32 comp = c->u.xstate.component;
        UINT32 want = fvmm_xstate_size(comp);
        if (!want)
            return fail(vm, "xstate call #%zu names component %u (not 2, 5, 6 or 7)", i, comp);
        if (c->u.xstate.size != want)
            return fail(vm, "xstate call #%zu: component %u with size %u (expected %u)", i, comp,
                        c->u.xstate.size, want);
        if (c->u.xstate.write > 1)
            return fail(vm, "xstate call #%zu: Write is %u (not FALSE or TRUE)", i,
                        c->u.xstate.write);
        if (!c->u.xstate.has_data)
            return fail(vm, "xstate call #%zu has a NULL buffer", i);
        UINT32 bit = 1u << comp;
        if (c->u.xstate.write) {
            if (writes & bit)
                return fail(vm, "component %u written twice (call #%zu)", comp, i);
            writes |= bit;
            if (commit_from == vm->ncalls)
                commit_from = i;
        } else {
            if (reads & bit)
                return fail(vm, "component %u read twice (call #%zu)", comp, i);
            reads |= bit;
        }
    }
    /* The writes and the set call end the log. */
    for (size_t i = commit_from; i < vm->ncalls; i++) {
        const fvmm_call *c = &vm->calls[i];
        if (c->kind == FVMM_CB_SET_REGS || (c->kind == FVMM_CB_XSTATE && c->u.xstate.write))
            continue;
        return fail(vm, "%s call #%zu after the commit began (call #%zu)",
                    fvmm_cb_kind_name(c->kind), i, commit_from);
    }
    /* Writes only in an emulation that commits. */
    if (writes && !ok) {
        const fvmm_call *last = vm->ncalls ? &vm->calls[vm->ncalls - 1] : NULL;
        int commit_failed = st == (1u << 7) && last && last->hr != S_OK &&
                            (last->kind == FVMM_CB_SET_REGS ||
                             (last->kind == FVMM_CB_XSTATE && last->u.xstate.write));
        if (!commit_failed)
            return fail(vm, "extended state written in an emulation with status 0x%x", st);
    }
    return NULL;
}

/* An exit without all its instruction bytes may need registers before its
 * instruction is decoded: in guest RAM mode for the fetch's walk, and CR4
 * when it fetches from an address canonical in 57 bits but not 48. They
 * come in a first get call with the general registers, and what the
 * instruction needs beyond those in a second one: two get calls, the first
 * with CR3 (guest RAM mode) or CR4, neither naming a register the other
 * does. */
static int prefetch_ok(const fake_vmm *vm, unsigned gets, const WHV_MEMORY_ACCESS_CONTEXT *mmio)
{
    const fvmm_call *g[2];
    unsigned n = 0;
    if (gets != 2 || !mmio || mmio->InstructionByteCount >= 15)
        return 0;
    for (size_t i = 0; i < vm->ncalls && n < 2; i++)
        if (vm->calls[i].kind == FVMM_CB_GET_REGS)
            g[n++] = &vm->calls[i];
    const WHV_REGISTER_NAME *a = fvmm_call_reg_names(vm, g[0]);
    const WHV_REGISTER_NAME *b = fvmm_call_reg_names(vm, g[1]);
    int cr3 = 0, cr4 = 0;
    for (UINT32 i = 0; i < g[0]->u.regs.count; i++) {
        cr3 |= a[i] == WHvX64RegisterCr3;
        cr4 |= a[i] == WHvX64RegisterCr4;
        for (UINT32 k = 0; k < g[1]->u.regs.count; k++)
            if (a[i] == b[k])
                return 0;
    }
    return (vm->ram_mode && cr3) || cr4;
}

/* In 64-bit mode CR4 (for CR4.LA57) stays out of the batch of an
 * instruction whose one operand is on the exit's page when that page is
 * canonical in 48 bits. An exit whose instruction (or its fetch) reaches an
 * address canonical in 57 bits but not 48 anyway gets CR4 in a get call
 * naming it alone: one such call, and no other get call names CR4. */
static int la57_late_ok(const fake_vmm *vm)
{
    unsigned alone = 0, with = 0;
    for (size_t i = 0; i < vm->ncalls; i++) {
        const fvmm_call *c = &vm->calls[i];
        if (c->kind != FVMM_CB_GET_REGS)
            continue;
        const WHV_REGISTER_NAME *names = fvmm_call_reg_names(vm, c);
        for (UINT32 k = 0; k < c->u.regs.count; k++)
            if (names[k] == WHvX64RegisterCr4) {
                if (c->u.regs.count == 1)
                    alone++;
                else
                    with++;
            }
    }
    return alone == 1 && with == 0;
}

const char *fvmm_check_round_trip(fake_vmm *vm, const WHV_VP_EXIT_CONTEXT *vp,
                                  const WHV_MEMORY_ACCESS_CONTEXT *mmio,
                                  const WHV_EMULATOR_STATUS *status)
{
    UINT32 st = status->AsUINT32;
    int ok = (st & 1u) != 0;

    if (st == 0 || (st & (st - 1)) != 0)
        return fail(vm, "status 0x%x does not have exactly one bit set", st);
    unsigned gets = vm->counts[FVMM_CB_GET_REGS];
    if (gets > 1 && la57_late_ok(vm))
        gets--;
    if (gets > 1 && !prefetch_ok(vm, gets, mmio))
        return fail(vm, "%u get-registers calls (at most 1 allowed)", vm->counts[FVMM_CB_GET_REGS]);
    if (ok && vm->counts[FVMM_CB_SET_REGS] != 1)
        return fail(vm, "EmulationSuccessful with %u set-registers calls (exactly 1 expected)",
                    vm->counts[FVMM_CB_SET_REGS]);
    if (!ok && vm->counts[FVMM_CB_SET_REGS] != 0 && !(st & (1u << 7)))
        return fail(vm, "status 0x%x (not successful) but %u set-registers calls", st,
                    vm->counts[FVMM_CB_SET_REGS]);

    /* A failed callback ends the emulation. */
    for (size_t i = 0; i < vm->ncalls; i++) {
        const fvmm_call *c = &vm->calls[i];
        if (c->hr == S_OK)
            continue;
        if (i + 1 != vm->ncalls)
            return fail(vm, "call #%zu (%s) failed with 0x%08x but %zu more callbacks followed", i,
                        fvmm_cb_kind_name(c->kind), (unsigned)c->hr, vm->ncalls - i - 1);
        if (st != status_bit_for(c))
            return fail(vm, "%s callback failed with 0x%08x but status is 0x%x (expected 0x%x)",
                        fvmm_cb_kind_name(c->kind), (unsigned)c->hr, st, status_bit_for(c));
    }
    if (!ok && vm->counts[FVMM_CB_SET_REGS] != 0) {
        /* Only allowed when the set call itself failed (checked above), or
         * an extended-state write after it. */
        const fvmm_call *last = vm->ncalls ? &vm->calls[vm->ncalls - 1] : NULL;
        int set_failed = last && last->kind == FVMM_CB_SET_REGS && last->hr != S_OK;
        int xwrite_failed = last && last->kind == FVMM_CB_XSTATE && last->u.xstate.write &&
                            last->hr != S_OK;
        if (!(set_failed || xwrite_failed) || vm->counts[FVMM_CB_SET_REGS] != 1)
            return fail(vm, "set-registers called on a failed emulation (status 0x%x)", st);
    }
    const char *xs = check_xstate(vm, st);
    if (xs)
        return xs;

    /* Guest RAM mode: a page whose walk stays in RAM is never translated
     * by callback once the walk's registers are at hand. */
    if (vm->ram_mode) {
        static const WHV_REGISTER_NAME walk_regs[4] = {WHvX64RegisterCr0, WHvX64RegisterCr3,
                                                       WHvX64RegisterCr4, WHvX64RegisterEfer};
        unsigned have = 0;
        for (size_t i = 0; i < vm->ncalls; i++) {
            const fvmm_call *c = &vm->calls[i];
            if (c->kind == FVMM_CB_GET_REGS) {
                const WHV_REGISTER_NAME *names = fvmm_call_reg_names(vm, c);
                for (UINT32 k = 0; k < c->u.regs.count; k++)
                    for (unsigned w = 0; w < 4; w++)
                        if (names[k] == walk_regs[w])
                            have |= 1u << w;
            }
            if (c->kind == FVMM_CB_TRANSLATE && have == 0xF &&
                ram_walk_in_ram(vm, c->u.translate.gva))
                return fail(vm, "translate call #%zu for gva 0x%llx, whose page tables are all "
                                "in guest RAM", i, (unsigned long long)c->u.translate.gva);
        }
    }

    /* The set call: RIP when completed; RIP unchanged when faulting. */
    if (ok) {
        WHV_REGISTER_VALUE v;
        int fault = 0;
        if (fvmm_set_call_find(vm, WHvRegisterPendingInterruption, &v) &&
            v.PendingInterruption.InterruptionPending)
            fault = 1;
        if (fvmm_set_call_find(vm, WHvRegisterPendingEvent, &v) && v.ExceptionEvent.EventPending)
            fault = 1;
        int has_rip = fvmm_set_call_find(vm, WHvX64RegisterRip, &v);
        if (!fault && !has_rip)
            return fail(vm, "completed instruction but the set-registers call has no RIP");
        if (fault && has_rip && v.Reg64 != vp->Rip)
            return fail(vm, "exception injected but RIP moved from 0x%llx to 0x%llx",
                        (unsigned long long)vp->Rip, (unsigned long long)v.Reg64);
    }

    /* Memory accesses and translations. */
    if (vm->rep_to_completion) {
        long bad = check_slot_sets(vm);
        if (bad >= 0)
            return fail(vm, "translate #%ld: gva page 0x%llx translated again before %d "
                            "distinct pages filled the page slots",
                        bad, (unsigned long long)vm->calls[bad].u.translate.gva,
                        FVMM_REP_SLOTS_USED);
    }
    for (size_t i = 0; i < vm->ncalls; i++) {
        const fvmm_call *c = &vm->calls[i];
        if (c->kind == FVMM_CB_MEMORY) {
            if (c->u.mem.size < 1 || c->u.mem.size > 8)
                return fail(vm, "memory access #%zu has size %u", i, c->u.mem.size);
            if (c->u.mem.direction > 1)
                return fail(vm, "memory access #%zu has direction %u", i, c->u.mem.direction);
            if ((c->u.mem.gpa & (FVMM_PAGE_SIZE - 1)) + c->u.mem.size > FVMM_PAGE_SIZE)
                return fail(vm, "memory access #%zu at gpa 0x%llx size %u crosses a page", i,
                            (unsigned long long)c->u.mem.gpa, c->u.mem.size);
        } else if (c->kind == FVMM_CB_TRANSLATE) {
            UINT64 gva = c->u.translate.gva;
            if (gva & (FVMM_PAGE_SIZE - 1))
                return fail(vm, "translate #%zu of unaligned gva 0x%llx", i,
                            (unsigned long long)gva);
            /* A page is translated once per kind of access: a later
             * translation of the same page must validate an access (read,
             * write or execute) that no earlier one did, as when an
             * instruction reads a page and then writes it (POP to the stack
             * page, an overlapping MOVS) or reads data from its own code
             * page. */
            UINT32 vmask = WHvTranslateGvaFlagValidateRead | WHvTranslateGvaFlagValidateWrite |
                           WHvTranslateGvaFlagValidateExecute;
            UINT32 before = 0;
            size_t prev = 0;
            int seen = 0;
            for (size_t k = 0; k < i && !vm->rep_to_completion; k++) {
                const fvmm_call *p = &vm->calls[k];
                if (p->kind == FVMM_CB_TRANSLATE &&
                    (p->u.translate.gva & FVMM_PAGE_MASK) == (gva & FVMM_PAGE_MASK)) {
                    before |= p->u.translate.flags & vmask;
                    prev = k;
                    seen = 1;
                }
            }
            if (seen && !(c->u.translate.flags & vmask & ~before))
                return fail(vm, "gva page 0x%llx translated twice (calls #%zu and #%zu)",
                            (unsigned long long)gva, prev, i);
            if (mmio && mmio->AccessInfo.GvaValid &&
                (gva & FVMM_PAGE_MASK) == (mmio->Gva & FVMM_PAGE_MASK)) {
                /* The exit proves the guest mapping allows its own access
                 * type: a write exit covers reads and writes (writable
                 * implies readable), a read exit covers reads only, an
                 * execute exit covers fetches only. */
                UINT32 fl = c->u.translate.flags;
                int fetch = (fl & WHvTranslateGvaFlagValidateExecute) != 0;
                int write = (fl & WHvTranslateGvaFlagValidateWrite) != 0;
                int covered;
                switch (mmio->AccessInfo.AccessType) {
                case WHvMemoryAccessExecute:
                    covered = fetch && !write;
                    break;
                case WHvMemoryAccessWrite:
                    covered = !fetch;
                    break;
                case WHvMemoryAccessRead:
                    covered = !fetch && !write;
                    break;
                default: /* an undefined access type proves nothing */
                    covered = 0;
                    break;
                }
                if (covered)
                    return fail(vm,
                                "translate #%zu (flags 0x%x) of the exit's gva page 0x%llx "
                                "although GvaValid was set",
                                i, c->u.translate.flags, (unsigned long long)gva);
            }
        }
    }
    return NULL;
}

WHV_X64_PENDING_INTERRUPTION_REGISTER fvmm_injected(const fake_vmm *vm)
{
    WHV_REGISTER_VALUE v;
    memset(&v, 0, sizeof(v));
    fvmm_set_call_find(vm, WHvRegisterPendingInterruption, &v);
    return v.PendingInterruption;
}
