/*
 * libc_impl.c - the symbol table of a loaded library (see libc_impl.h).
 */
#define _GNU_SOURCE

#include "libc_impl.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct find_obj {
    uintptr_t base;
    uint8_t id[64];
    size_t id_len;
};

/* The GNU build ID of the loaded object at `base`, from its PT_NOTE
 * segments. */
static int find_build_id(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct find_obj *f = arg;
    (void)size;
    if (info->dlpi_addr != f->base)
        return 0;
    for (unsigned i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        const uint8_t *p, *end;
        if (ph->p_type != PT_NOTE)
            continue;
        p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
        end = p + ph->p_memsz;
        while (p + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)(const void *)p;
            const uint8_t *name = p + sizeof(*nh);
            const uint8_t *desc = name + ((nh->n_namesz + 3u) & ~3u);
            const uint8_t *next = desc + ((nh->n_descsz + 3u) & ~3u);
            if (next > end)
                break;
            if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
                memcmp(name, "GNU", 4) == 0 && nh->n_descsz <= sizeof(f->id)) {
                memcpy(f->id, desc, nh->n_descsz);
                f->id_len = nh->n_descsz;
                return 1;
            }
            p = next;
        }
    }
    return 1;
}

/* Maps `file` and finds its SHT_SYMTAB. Returns 0 or -1. */
static int load_symtab(struct libc_syms *ls, const char *file)
{
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    struct stat st;
    const uint8_t *m;
    const Elf64_Ehdr *eh;
    const Elf64_Shdr *sh;

    if (fd < 0)
        return -1;
    if (fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof(Elf64_Ehdr)) {
        close(fd);
        return -1;
    }
    m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        return -1;
    eh = (const Elf64_Ehdr *)(const void *)m;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
        eh->e_ident[EI_CLASS] != ELFCLASS64 ||
        eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shoff == 0 ||
        eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) >
            (uint64_t)st.st_size)
        goto fail;
    sh = (const Elf64_Shdr *)(const void *)(m + eh->e_shoff);
    for (unsigned i = 0; i < eh->e_shnum; i++) {
        const Elf64_Shdr *str;
        if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum ||
            sh[i].sh_entsize != sizeof(Elf64_Sym))
            continue;
        str = &sh[sh[i].sh_link];
        if (sh[i].sh_offset + sh[i].sh_size > (uint64_t)st.st_size ||
            str->sh_offset + str->sh_size > (uint64_t)st.st_size ||
            str->sh_size == 0)
            continue;
        ls->map = (void *)(uintptr_t)m;
        ls->map_len = (size_t)st.st_size;
        ls->syms = m + sh[i].sh_offset;
        ls->n_syms = sh[i].sh_size / sizeof(Elf64_Sym);
        ls->strtab = (const char *)(m + str->sh_offset);
        ls->strtab_len = str->sh_size;
        snprintf(ls->debug_file, sizeof(ls->debug_file), "%s", file);
        return 0;
    }
fail:
    munmap((void *)(uintptr_t)m, (size_t)st.st_size);
    return -1;
}

int libc_syms_open(struct libc_syms *ls, const void *addr)
{
    Dl_info di;
    struct find_obj f;
    char file[512];
    int n;

    memset(ls, 0, sizeof(*ls));
    if (!dladdr(addr, &di) || !di.dli_fname)
        return -1;
    ls->path = di.dli_fname;
    ls->base = (uintptr_t)di.dli_fbase;

    memset(&f, 0, sizeof(f));
    f.base = ls->base;
    dl_iterate_phdr(find_build_id, &f);
    if (f.id_len >= 2) {
        n = snprintf(file, sizeof(file), "/usr/lib/debug/.build-id/%02x/",
                     f.id[0]);
        for (size_t i = 1; i < f.id_len && n > 0 && (size_t)n + 3 < sizeof(file);
             i++)
            n += snprintf(file + n, sizeof(file) - (size_t)n, "%02x", f.id[i]);
        if (n > 0 && (size_t)n + 7 < sizeof(file)) {
            memcpy(file + n, ".debug", 7);
            if (load_symtab(ls, file) == 0)
                return 0;
        }
    }
    /* An unstripped library carries its own. */
    return load_symtab(ls, ls->path);
}

void libc_syms_close(struct libc_syms *ls)
{
    if (ls->map)
        munmap(ls->map, ls->map_len);
    ls->map = NULL;
    ls->syms = NULL;
    ls->n_syms = 0;
}

const char *libc_syms_lookup(const struct libc_syms *ls, const void *addr,
                             const char *prefer, uint64_t *offset)
{
    const Elf64_Sym *syms = ls->syms;
    uint64_t a = (uint64_t)(uintptr_t)addr - ls->base;
    const char *best = NULL;
    uint64_t best_off = 0;
    int best_pref = 0;

    if (!syms)
        return NULL;
    for (size_t i = 0; i < ls->n_syms; i++) {
        const Elf64_Sym *s = &syms[i];
        const char *name;
        uint64_t off;
        int pref;
        if (ELF64_ST_TYPE(s->st_info) != STT_FUNC || s->st_shndx == SHN_UNDEF ||
            s->st_name >= ls->strtab_len)
            continue;
        if (a < s->st_value || a - s->st_value >= (s->st_size ? s->st_size : 1))
            continue;
        name = ls->strtab + s->st_name;
        off = a - s->st_value;
        pref = prefer && strstr(name, prefer) != NULL;
        /* Closest start first, then the preferred alias, then the first. */
        if (!best || off < best_off || (off == best_off && pref && !best_pref)) {
            best = name;
            best_off = off;
            best_pref = pref;
        }
    }
    if (best && offset)
        *offset = best_off;
    return best;
}
