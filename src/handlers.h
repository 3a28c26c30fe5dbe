/*
 * handlers.h - prototypes of every handler the opcode table names.
 * A handler's prefix names its file: alu_add is in alu.c.
 */
#ifndef WHVEMU_HANDLERS_H
#define WHVEMU_HANDLERS_H

#define ROW(key, mnem, k0, k1, k2, tr, out, undef, needs, fn)                                      \
    enum rc fn(struct emu *e, const struct insn *in);
#include "opcodes.def"
#undef ROW

#endif /* WHVEMU_HANDLERS_H */
