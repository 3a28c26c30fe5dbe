/*
 * struct_copy.h - structure assignments as the compiler emits them, built
 * twice from struct_copy.inc: at -O2 for baseline x86-64 (SSE2 moves,
 * REP MOVSQ or memcpy calls for large ones) and at -O3 -mavx2 (YMM moves).
 */
#ifndef WHVEMU_DEMO_STRUCT_COPY_H
#define WHVEMU_DEMO_STRUCT_COPY_H

#include <stddef.h>

struct struct_copy {
    size_t size;
    /* *(struct of `size` bytes *)dst = *(const struct ... *)src */
    void (*copy)(void *dst, const void *src);
};

extern const struct struct_copy struct_copy_o2[];
extern const struct struct_copy struct_copy_o3_avx2[];
extern const size_t struct_copy_count;

#endif /* WHVEMU_DEMO_STRUCT_COPY_H */
