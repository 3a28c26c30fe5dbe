/*
 * libc_impl.h - names of the C library's internal functions, for telling
 * which implementation an IFUNC resolved to and where an instruction is.
 *
 * The C library exports memcpy & co. as IFUNCs; the implementation each
 * resolves to (__memmove_avx_unaligned_erms, __strlen_sse2, ...) is a local
 * symbol, found only in the full symbol table: the library's own if it has
 * one, or its separate debug file under /usr/lib/debug/.build-id (Debian:
 * libc6-dbg). Without either, names are NULL and addresses are printed as
 * offsets in the library.
 */
#ifndef WHVEMU_DEMO_LIBC_IMPL_H
#define WHVEMU_DEMO_LIBC_IMPL_H

#include <stddef.h>
#include <stdint.h>

struct libc_syms {
    const char *path;    /* the library's file, as loaded */
    uintptr_t base;      /* its load address */
    char debug_file[512]; /* where the symbols came from ("" = none) */
    void *map;
    size_t map_len;
    const void *syms;    /* Elf64_Sym[] */
    size_t n_syms;
    const char *strtab;
    size_t strtab_len;
};

/* Opens the symbols of the object that contains `addr`. Returns 0 when a
 * symbol table was found, -1 otherwise (the structure is still usable:
 * lookups return NULL). */
int libc_syms_open(struct libc_syms *ls, const void *addr);
void libc_syms_close(struct libc_syms *ls);

/* The function symbol containing `addr`, and the offset into it. Among
 * aliases the one whose name contains `prefer` wins (may be NULL). NULL if
 * unknown. */
const char *libc_syms_lookup(const struct libc_syms *ls, const void *addr,
                             const char *prefer, uint64_t *offset);

#endif /* WHVEMU_DEMO_LIBC_IMPL_H */
