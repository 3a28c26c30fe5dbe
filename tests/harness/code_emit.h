/*
 * code_emit.h - emitting x86-64 machine code into a buffer, shared by the
 * host-CPU oracle tests that build their native stubs byte by byte.
 */
#ifndef WHVEMU_TESTS_CODE_EMIT_H
#define WHVEMU_TESTS_CODE_EMIT_H

#include <stddef.h>
#include <stdint.h>

typedef struct bytebuf {
    uint8_t *p;
    size_t n;
} bytebuf;

static inline void put8(bytebuf *b, unsigned v)
{
    b->p[b->n++] = (uint8_t)v;
}

static inline void put32(bytebuf *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        put8(b, (v >> (8 * i)) & 0xFF);
}

static inline void put64(bytebuf *b, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        put8(b, (unsigned)(v >> (8 * i)) & 0xFF);
}

/* mov reg64, [rax + disp32] (load) or mov [rax + disp32], reg64. */
static inline void put_rax_rel(bytebuf *b, int load, int reg, int32_t disp)
{
    put8(b, 0x48 | (reg >= 8 ? 4 : 0));
    put8(b, load ? 0x8B : 0x89);
    put8(b, 0x80 | ((unsigned)(reg & 7) << 3));
    put32(b, (uint32_t)disp);
}

#endif /* WHVEMU_TESTS_CODE_EMIT_H */
