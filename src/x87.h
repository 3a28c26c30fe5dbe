/*
 * x87.h - the x87 register view shared by x87.c and fxsave.c.
 */
#ifndef WHVEMU_X87_H
#define WHVEMU_X87_H

#include "emu.h"

/* FSW/FCW bits (SDM Vol. 1 8.1.3, 8.1.5). */
#define X87_IE 0x0001u
#define X87_DE 0x0002u
#define X87_ZE 0x0004u
#define X87_OE 0x0008u
#define X87_UE 0x0010u
#define X87_PE 0x0020u
#define X87_EXC 0x003Fu
#define X87_SF 0x0040u
#define X87_ES 0x0080u
#define X87_C1 0x0200u
#define X87_TOP 0x3800u
#define X87_B 0x8000u
/* FCW as loaded: reserved bits 7 and 13-15 read 0, bit 6 reads 1. */
#define X87_FCW_BITS 0x1F3Fu
#define X87_FCW_ONES 0x0040u

/* The FXSAVE area: its size and alignment. */
#define X87_FXSAVE_SIZE 512u
#define X87_FXSAVE_ALIGN 16u

struct x87 {
    uint16_t fcw, fsw;
    uint8_t ftw;       /* abridged: bit n = physical register Rn valid */
    uint8_t st[8][10]; /* ST(0)-ST(7), 80 bits each, little-endian */
};

void x87_get(const struct emu *e, struct x87 *s);
void x87_put(struct emu *e, const struct x87 *s);
enum rc x87_enter(struct emu *e, bool waiting);
void x87_summary(struct x87 *s);
bool x87_tiny(const uint8_t *v, unsigned n);

#endif /* WHVEMU_X87_H */
