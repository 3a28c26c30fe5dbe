/*
 * mem.h - every guest memory access: segmentation and canonical checks,
 * alignment check, linear -> guest-physical translation (exit shortcut or
 * the translate callback, once per page and call), and splitting into
 * <= 8-byte pieces that never cross a page.
 */
#ifndef WHVEMU_MEM_H
#define WHVEMU_MEM_H

#include "emu.h"
#include "walk.h"

/* intent: ACC_* used to validate the page (a read-modify-write read passes
 * ACC_R | ACC_W). size: 1..EMU_MAX_ACCESS. */
enum rc mem_read(struct emu *e, uint8_t seg, uint64_t off, unsigned size, uint8_t intent,
                 void *out);
enum rc mem_write(struct emu *e, uint8_t seg, uint64_t off, unsigned size, uint8_t intent,
                  const void *data);
/* The same for 1..8 bytes, the value little-endian in a register. */
enum rc mem_read_val(struct emu *e, uint8_t seg, uint64_t off, unsigned size, uint8_t intent,
                     uint64_t *val);
enum rc mem_write_val(struct emu *e, uint8_t seg, uint64_t off, unsigned size, uint8_t intent,
                      uint64_t val);
/* Every check and translation of an access, without moving a byte (INS
 * validates its destination before it reads the port). */
enum rc mem_check(struct emu *e, uint8_t seg, uint64_t off, unsigned size, uint8_t intent);
/* An operand larger than one access (an x87 environment or save area, an
 * FXSAVE image): its first and last pieces of up to EMU_MAX_ACCESS bytes
 * checked (its limit and both pages it may touch), and the whole of it
 * moved in such pieces in ascending order, each piece's offset wrapping
 * with amask (the address size). */
enum rc mem_check_area(struct emu *e, uint8_t seg, uint64_t off, uint64_t amask, unsigned size,
                       uint8_t intent);
enum rc mem_move_area(struct emu *e, uint8_t seg, uint64_t off, uint64_t amask, uint8_t *buf,
                      unsigned size, bool write);
/* The segmentation (or canonical-form) checks of an access alone, before
 * its alignment and pages. */
enum rc mem_seg_check(struct emu *e, uint8_t seg, uint64_t off, unsigned size, uint8_t intent);
/* The exit shortcut's one access of `size` (1..8) bytes at offset `off`:
 * its guest-physical address when the checks mem_read_val/mem_write_val
 * make pass without a decision and the access is all on the exit's page
 * (exit_gva/exit_gpa, already validated for it; in 64-bit mode exit_gva is
 * canonical in 48 bits, and so then is all of an access on its page; sg:
 * the FS/GS base to add, or NULL), outside 64-bit mode the segment checks of
 * sg with `intent` elsewhere, no #AC (CPL 3, CR0.AM and RFLAGS.AC of the exit
 * context vp). false: the general path decides. */
bool mem_exit_gpa(enum cpu_mode mode, const WHV_X64_SEGMENT_REGISTER *sg, uint64_t off,
                  unsigned size, uint8_t intent, const WHV_VP_EXIT_CONTEXT *vp, uint64_t exit_gva,
                  uint64_t exit_gpa, uint64_t *gpa);
/* The memory callback for one piece of n (1..8) bytes at gpa, the value
 * little-endian in *val (written, or read and masked to n bytes). The
 * callback's HRESULT. */
HRESULT mem_device(const struct emu_handle *eh, void *ctx, uint64_t gpa, unsigned n, bool write,
                   uint64_t *val);
/* Whether an access of `size` bytes at offset `off` with `intent` passes
 * the checks of segment register sg outside 64-bit mode (real: real or
 * virtual-8086 mode, where only the limit counts); the linear address is
 * then (sg->Base + off) mod 4 GiB. */
bool mem_seg_ok(const WHV_X64_SEGMENT_REGISTER *sg, bool real, uint64_t off, unsigned size,
                uint8_t intent);
/* Descriptor-table reads and writes (1..8 bytes) at a linear address, as
 * the implicit supervisor accesses the CPU makes at any CPL. */
enum rc mem_read_sys(struct emu *e, uint64_t lin, unsigned size, void *out);
enum rc mem_write_sys(struct emu *e, uint64_t lin, unsigned size, const void *data);
/* Instruction bytes at CS:RIP + e->nbytes, up to the end of that page and
 * at most EMU_MAX_INSN_LEN in all. */
enum rc mem_fetch_insn(struct emu *e);
/* A string loop's run of elements within one page (64-bit mode): the page
 * of seg:off when this call validated it for `intent` already (so nothing
 * is translated and nothing faults here), and its host mapping when it is
 * guest RAM. RC_UNSUPPORTED where a run cannot be taken (outside 64-bit
 * mode, a non-canonical address, a page not validated yet). */
struct mem_run {
    uint64_t lin;     /* the linear address of seg:off */
    uint64_t lin_page, gpa_page;
    uint8_t *host;
};
enum rc mem_run_page(struct emu *e, uint8_t seg, uint64_t off, uint8_t intent, struct mem_run *r);
/* k elements of `size` bytes from src (or `value` for STOS, src NULL) to
 * dst, `step` apart, in the runs' pages: element by element, each read then
 * its write, as the string loop does them. */
enum rc mem_run_copy(struct emu *e, const struct mem_run *src, const struct mem_run *dst,
                     int64_t step, unsigned size, uint64_t k, uint64_t value);
/* The run of mem_run_copy from guest RAM (host memory at `from`) to a
 * device (guest-physical `to`): k memory callbacks of |step| bytes (1, 2,
 * 4 or 8), `step` apart, in order; the first failing callback's HRESULT
 * ends it. The elements stay within one page on both sides. */
HRESULT mem_run_to_device(const struct emu_handle *eh, void *ctx, const uint8_t *from, uint64_t to,
                          int64_t step, uint64_t k);
/* The page walk on guest RAM for an access with `intent` (ACC_*) to linear
 * page `page`: WALK_OK with its GPA (paging off: the linear address),
 * WALK_FAULT with the #PF error code, WALK_UNWALKABLE when the translate
 * callback is to decide. Sets the Accessed/Dirty bits as the CPU does. */
enum walk_status mem_walk_page(const struct ram_map *ram, uint32_t *hint,
                               const struct walk_regs *wr, enum cpu_mode mode, uint64_t page,
                               uint8_t intent, uint64_t *gpa_page, uint32_t *error_code);
/* Free page slots left for this call (REP loops stop before they run out). */
unsigned mem_free_slots(const struct emu *e);
/* Empties the page slots: later accesses translate their pages again (a REP
 * loop that runs to completion). */
void mem_forget_pages(struct emu *e);

#endif /* WHVEMU_MEM_H */
