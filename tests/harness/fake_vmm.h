/*
 * fake_vmm.h - an in-memory virtual machine for testing the emulator.
 *
 * One fake_vmm stands for one virtual processor plus its guest:
 *
 *   - guest-physical memory: sparse 4 KiB pages, allocated zero-filled on
 *     first write (reads of untouched pages return zeros and allocate
 *     nothing);
 *   - a GVA->GPA page map with, per page, the translation result code, the
 *     GPA the translate callback returns (possibly unaligned, on purpose) and
 *     access permissions; unmapped pages either translate to the identical
 *     GPA or report PageNotPresent (configurable);
 *   - a register file holding every WHV_REGISTER_NAME the platform defines;
 *   - a deterministic port model for the I/O callback;
 *   - extended vector state (XSAVE components 2, 5, 6, 7: YMM upper halves,
 *     opmasks, ZMM) served by the whvemu extended-state callback
 *     (fvmm_xstate_callback());
 *   - the five emulator callbacks (fvmm_callbacks()), whose Context argument
 *     must be the fake_vmm itself;
 *   - an ordered log of every callback call with its arguments, counters per
 *     callback kind, and failure injection on the Nth call of a kind;
 *   - fvmm_check_round_trip(), which checks the callback protocol rules
 *     after one emulation call.
 *
 * Typical use:
 *
 *     fake_vmm *vm = fvmm_create();
 *     fvmm_setup_long_mode(vm, 0);
 *     fvmm_map_gva(vm, 0x7000, 0xfee00000);
 *     fvmm_set_reg64(vm, WHvX64RegisterRip, 0x1000);
 *     ... build the exit with fvmm_build_mmio_exit64() ...
 *     fvmm_reset_log(vm);
 *     WHvEmulatorTryMmioEmulation(emu, vm, &vp, &mmio, &status);
 *     const char *why = fvmm_check_round_trip(vm, &vp, &mmio, &status);
 *
 * Nothing here is thread-safe; use one fake_vmm per thread.
 * All functions abort the process on allocation failure.
 */
#ifndef WHVEMU_TESTS_FAKE_VMM_H
#define WHVEMU_TESTS_FAKE_VMM_H

#include <stddef.h>
#include <stdio.h>

#include "WinHvEmulation.h"
#include "whvemu.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef WHV_E_INVALID_VP_REGISTER_NAME
#define WHV_E_INVALID_VP_REGISTER_NAME ((HRESULT)0x80370309L)
#endif

#define FVMM_PAGE_SIZE 4096u
#define FVMM_PAGE_MASK (~(UINT64)(FVMM_PAGE_SIZE - 1))

typedef struct fake_vmm fake_vmm;

/* Creates an empty machine: no memory, no GVA mappings (unmapped pages
 * translate identically with Success), all registers zero. */
fake_vmm *fvmm_create(void);
void fvmm_destroy(fake_vmm *vm);

/* The callback table (Size = sizeof, Reserved = 0). Pass the fake_vmm as
 * the Context argument of the Try* call. The table is static. */
const WHV_EMULATOR_CALLBACKS *fvmm_callbacks(void);

/* ---------------------------------------------------------------------
 * Guest-physical memory
 * ------------------------------------------------------------------- */

/* Copies len bytes into / out of guest-physical memory (any alignment,
 * any length, may cross pages). */
void fvmm_gpa_write(fake_vmm *vm, UINT64 gpa, const void *src, size_t len);
void fvmm_gpa_read(const fake_vmm *vm, UINT64 gpa, void *dst, size_t len);
/* The 4 KiB backing page that holds gpa, allocated if needed. */
UINT8 *fvmm_gpa_page(fake_vmm *vm, UINT64 gpa);
/* Frees every page (memory reads as zero again). */
void fvmm_gpa_clear(fake_vmm *vm);

/* Marks the page holding gpa as MMIO (on = 1) or RAM (on = 0). Only used for
 * the translation result, see fvmm_set_mmio_translates_unmapped(). */
void fvmm_set_mmio(fake_vmm *vm, UINT64 gpa, int on);
/* When on, translating a GVA whose page maps to an MMIO GPA page with a
 * Validate* flag returns WHvTranslateGvaResultGpaUnmapped plus the GPA, as
 * WHvTranslateGva does on the real platform. Default off (Success). */
void fvmm_set_mmio_translates_unmapped(fake_vmm *vm, int on);

/* ---------------------------------------------------------------------
 * Address translation (GVA pages)
 * ------------------------------------------------------------------- */

/* Permission bits of a GVA page. A translation asking for an access the page
 * does not allow returns WHvTranslateGvaResultPrivilegeViolation. The U bit
 * is checked only when the exit's CPL (fvmm_set_cpl) is 3 and the flags do
 * not contain PrivilegeExempt. */
#define FVMM_PERM_R 0x1u
#define FVMM_PERM_W 0x2u
#define FVMM_PERM_X 0x4u
#define FVMM_PERM_U 0x8u
#define FVMM_PERM_ALL 0xFu

typedef enum fvmm_default_translation {
    FVMM_UNMAPPED_IDENTITY = 0,    /* Success, GPA = GVA page */
    FVMM_UNMAPPED_NOT_PRESENT = 1  /* PageNotPresent, GPA 0 */
} fvmm_default_translation;

void fvmm_set_default_translation(fake_vmm *vm, fvmm_default_translation d);

/* Maps the page holding gva to the page holding gpa, Success, all
 * permissions. Replaces an earlier mapping of that page. */
void fvmm_map_gva(fake_vmm *vm, UINT64 gva, UINT64 gpa);
/* Full control: the translate callback for this page returns exactly
 * `result` and `gpa_returned` (not masked: an unaligned value is passed on,
 * to test TranslateGvaPageCallbackGpaIsNotAligned), and checks `perms`
 * (FVMM_PERM_*) when result is Success. */
void fvmm_map_gva_ex(fake_vmm *vm, UINT64 gva, WHV_TRANSLATE_GVA_RESULT_CODE result,
                     UINT64 gpa_returned, unsigned perms);
void fvmm_unmap_gva(fake_vmm *vm, UINT64 gva);
/* The CPL used for the U permission check (default 0). */
void fvmm_set_cpl(fake_vmm *vm, unsigned cpl);

/* Translates gva (with its page offset) the way the translate callback would
 * with `flags`; returns the result code and stores the GPA (returned page
 * plus offset). Not logged, no injection. */
WHV_TRANSLATE_GVA_RESULT_CODE fvmm_translate(const fake_vmm *vm, UINT64 gva, UINT32 flags,
                                             UINT64 *gpa);
/* Copies through the GVA map (page by page, flags None); returns 0, or -1 if
 * a page does not translate with Success (nothing is copied then). */
int fvmm_gva_write(fake_vmm *vm, UINT64 gva, const void *src, size_t len);
int fvmm_gva_read(const fake_vmm *vm, UINT64 gva, void *dst, size_t len);

/* ---------------------------------------------------------------------
 * Registers
 * ------------------------------------------------------------------- */

/* The register file holds every name of WHV_REGISTER_NAME. Unknown names (or
 * names made unavailable with fvmm_reg_disable) make the whole get or set
 * callback call fail with WHV_E_INVALID_VP_REGISTER_NAME, and nothing is
 * stored. A set call applies its values in order. */
HRESULT fvmm_reg_get(const fake_vmm *vm, WHV_REGISTER_NAME name, WHV_REGISTER_VALUE *value);
HRESULT fvmm_reg_set(fake_vmm *vm, WHV_REGISTER_NAME name, const WHV_REGISTER_VALUE *value);
/* The low 64 bits of a register (0 for unknown names) / sets the whole value
 * to v (upper 64 bits zero). */
UINT64 fvmm_reg64(const fake_vmm *vm, WHV_REGISTER_NAME name);
void fvmm_set_reg64(fake_vmm *vm, WHV_REGISTER_NAME name, UINT64 v);
/* Makes a known name behave as unknown (disabled = 1) or restores it. */
void fvmm_reg_disable(fake_vmm *vm, WHV_REGISTER_NAME name, int disabled);
/* 1 if the name is part of the register file and enabled. */
int fvmm_reg_known(const fake_vmm *vm, WHV_REGISTER_NAME name);
/* Writes a 64-bit mode state: CR0 = PE|MP|ET|NE|WP|AM|PG, CR4 = PAE|OSFXSR|
 * OSXMMEXCPT|OSXSAVE, EFER = SCE|LME|LMA|NXE, XCR0 = x87|SSE|AVX (7), CS =
 * 64-bit code (selector 0x10 or 0x33 for CPL 3, attributes 0x209B or
 * 0x20FB), SS/DS/ES/FS/GS flat data (base 0, limit 0xFFFFFFFF, attributes
 * 0xC093/0xC0F3), RFLAGS = 0x2, MXCSR = 0x1F80 (XmmControlStatus, mask
 * 0xFFFF), the x87 state FNINIT leaves (FpControlStatus: control 0x37F,
 * status 0, abridged tag 0), and fvmm_set_cpl(vm, cpl). Other registers
 * (GPRs, XMM0-15, FpMmx0-7) and the extended state keep their values. */
void fvmm_setup_long_mode(fake_vmm *vm, unsigned cpl);

/* ---------------------------------------------------------------------
 * Extended vector state (whvemu.h: WHVEMU_XSTATE_CALLBACK)
 * ------------------------------------------------------------------- */

/* XSAVE state components the fake VMM holds, in the XSAVE standard layout
 * (register 0 first). XMM0-15 themselves are registers (WHvX64RegisterXmm*),
 * not extended state. All start zeroed. */
#define FVMM_XS_YMM_HI128 2u  /* bits 255:128 of YMM0-15, 16 bytes each, 256 bytes */
#define FVMM_XS_OPMASK 5u     /* k0-k7, 8 bytes each, 64 bytes */
#define FVMM_XS_ZMM_HI256 6u  /* bits 511:256 of ZMM0-15, 32 bytes each, 512 bytes */
#define FVMM_XS_HI16_ZMM 7u   /* ZMM16-31, 64 bytes each, 1024 bytes */

/* The size of a component above, 0 for any other number. */
UINT32 fvmm_xstate_size(UINT32 component);
/* The component's storage (fvmm_xstate_size bytes), NULL for any other
 * number. Writing through it changes the vCPU state directly (not logged). */
UINT8 *fvmm_xstate(fake_vmm *vm, UINT32 component);
/* Copies a whole component in / out; -1 (nothing copied) for an unknown
 * component, else 0. */
int fvmm_xstate_set(fake_vmm *vm, UINT32 component, const void *src);
int fvmm_xstate_get(const fake_vmm *vm, UINT32 component, void *dst);
/* YMMn (n = 0..15) as 32 bytes: bits 127:0 are WHvX64RegisterXmm<n>, bits
 * 255:128 the component 2 slot of register n. */
void fvmm_set_ymm(fake_vmm *vm, unsigned n, const void *src32);
void fvmm_get_ymm(const fake_vmm *vm, unsigned n, void *dst32);

/* The extended-state callback for whvemu_set_xstate_callback(); its Context
 * is the fake_vmm (the Context of the Try* call). It copies the component
 * from (Write FALSE) or into (Write TRUE) the fake VMM. Every call is logged
 * as kind FVMM_CB_XSTATE, and may be made to fail with fvmm_fail_nth (an
 * injected failure touches neither the buffer nor the state). An unknown
 * component, a Size that is not the component's size, or a NULL Buffer
 * returns E_INVALIDARG and changes nothing. */
WHVEMU_XSTATE_CALLBACK fvmm_xstate_callback(void);

/* ---------------------------------------------------------------------
 * Port model (I/O callback)
 * ------------------------------------------------------------------- */

/* The value an IN of `size` bytes (1, 2, 4) from `port` returns when it is
 * the index-th (0-based) read of that port since the last fvmm_reset_log();
 * a pure function, so tests can compute the expected data. */
UINT32 fvmm_port_value(UINT16 port, UINT32 index, UINT16 size);
/* How many INs `port` has served since the last fvmm_reset_log(). */
UINT32 fvmm_port_reads(const fake_vmm *vm, UINT16 port);

typedef struct fvmm_port_write {
    UINT16 port;
    UINT16 size;
    UINT32 data;
} fvmm_port_write;

size_t fvmm_port_write_count(const fake_vmm *vm);
const fvmm_port_write *fvmm_port_write_at(const fake_vmm *vm, size_t i);

/* ---------------------------------------------------------------------
 * Call log, counters, failure injection
 * ------------------------------------------------------------------- */

typedef enum fvmm_cb_kind {
    FVMM_CB_IO = 0,
    FVMM_CB_MEMORY,
    FVMM_CB_GET_REGS,
    FVMM_CB_SET_REGS,
    FVMM_CB_TRANSLATE,
    FVMM_CB_XSTATE, /* the whvemu extended-state callback */
    FVMM_CB_KINDS
} fvmm_cb_kind;

/* One callback call. For register calls, the names and values are read with
 * fvmm_call_reg_names()/fvmm_call_reg_values() (values after the call: what
 * get returned, what set was given). Memory data is after the call too. For
 * an extended-state call, fvmm_call_xstate_data() gives the buffer after the
 * call (what a read returned, what a write was given), u.xstate.size bytes,
 * or NULL when the buffer was NULL. */
typedef struct fvmm_call {
    fvmm_cb_kind kind;
    HRESULT hr;        /* what the callback returned */
    int injected;      /* 1 if a failure injection decided the outcome */
    union {
        struct {
            UINT32 first; /* index into the register log */
            UINT32 count;
        } regs;
        struct {
            UINT64 gpa;
            UINT8 direction;
            UINT8 size;
            UINT8 data[8];
        } mem;
        struct {
            UINT64 gva;
            UINT32 flags;
            WHV_TRANSLATE_GVA_RESULT_CODE result;
            UINT64 gpa;
        } translate;
        struct {
            UINT16 port;
            UINT16 size;
            UINT8 direction;
            UINT32 data;
        } io;
        struct {
            UINT32 component;
            UINT32 size;
            UINT32 write; /* the Write argument as given */
            UINT32 first; /* index into the extended-state data log */
            int has_data; /* the buffer was not NULL */
        } xstate;
    } u;
} fvmm_call;

/* Returns the machine to the state fvmm_create() gives (no memory, no
 * mappings, all registers zero, empty log) while keeping its allocations,
 * so that one machine can serve millions of short runs. */
void fvmm_reset(fake_vmm *vm);

/* Clears the log, the counters, the pending injections, the port read
 * counts and the port write log. Memory, mappings and registers stay. */
void fvmm_reset_log(fake_vmm *vm);
/* Clears the log, the counters and the pending injections but keeps the
 * port read counts and the port write log (an instruction emulated over
 * several calls). */
void fvmm_reset_calls(fake_vmm *vm);
size_t fvmm_call_count(const fake_vmm *vm);
const fvmm_call *fvmm_call_at(const fake_vmm *vm, size_t i);
unsigned fvmm_count(const fake_vmm *vm, fvmm_cb_kind kind);
const WHV_REGISTER_NAME *fvmm_call_reg_names(const fake_vmm *vm, const fvmm_call *c);
const WHV_REGISTER_VALUE *fvmm_call_reg_values(const fake_vmm *vm, const fvmm_call *c);
const UINT8 *fvmm_call_xstate_data(const fake_vmm *vm, const fvmm_call *c);
/* Extended-state calls of the log: reads (write = 0) or writes (write = 1)
 * of `component`. */
unsigned fvmm_xstate_calls(const fake_vmm *vm, UINT32 component, int write);
/* Looks `name` up in the last set-registers call; 1 and *value if present. */
int fvmm_set_call_find(const fake_vmm *vm, WHV_REGISTER_NAME name, WHV_REGISTER_VALUE *value);
/* The WHvRegisterPendingInterruption value of the last set-registers call:
 * the fault the emulator injected (all zero when it injected none). */
WHV_X64_PENDING_INTERRUPTION_REGISTER fvmm_injected(const fake_vmm *vm);
/* Prints the log, one call per line. */
void fvmm_dump_log(const fake_vmm *vm, FILE *out);
const char *fvmm_cb_kind_name(fvmm_cb_kind kind);

/* The nth (1-based, counted since fvmm_reset_log) call of `kind` returns hr
 * without doing anything (for a get call the values are left zero; for an
 * extended-state call the buffer and the state are left alone). Up to 8
 * injections may be pending; each fires once. */
void fvmm_fail_nth(fake_vmm *vm, fvmm_cb_kind kind, unsigned nth, HRESULT hr);
/* The nth translate call returns S_OK with result code `result` and the
 * page's normal GPA plus gpa_offset (nonzero -> an unaligned GPA). */
void fvmm_translate_nth(fake_vmm *vm, unsigned nth, WHV_TRANSLATE_GVA_RESULT_CODE result,
                        UINT64 gpa_offset);

/* ---------------------------------------------------------------------
 * Exit contexts
 * ------------------------------------------------------------------- */

/* A 64-bit mode VP context: ExecutionState Cpl = cpl, Cr0Pe = 1,
 * EferLma = 1; Cs = 64-bit code segment (attributes 0x209B, or 0x20FB for
 * CPL 3); Rip, Rflags as given; InstructionLength 0. */
void fvmm_build_exit64(WHV_VP_EXIT_CONTEXT *vp, unsigned cpl, UINT64 rip, UINT64 rflags);

typedef struct fvmm_mmio_exit {
    const UINT8 *insn;   /* instruction bytes (may be NULL when count 0) */
    unsigned insn_count; /* 0..16; 0 makes the emulator fetch them */
    UINT64 gpa;          /* faulting GPA */
    UINT64 gva;          /* faulting linear address */
    int gva_valid;
    int gpa_unmapped;
    WHV_MEMORY_ACCESS_TYPE access;
} fvmm_mmio_exit;

void fvmm_build_mmio(WHV_MEMORY_ACCESS_CONTEXT *mc, const fvmm_mmio_exit *d);
/* Both at once, taking Rip, Rflags and CPL from the fake VMM's registers. */
void fvmm_build_mmio_exit64(const fake_vmm *vm, WHV_VP_EXIT_CONTEXT *vp,
                            WHV_MEMORY_ACCESS_CONTEXT *mc, const fvmm_mmio_exit *d);

/* ---------------------------------------------------------------------
 * Guest RAM mode (the direct guest RAM extension, whvemu_set_guest_ram)
 * ------------------------------------------------------------------- */

/* Guest-physical pages the RAM mode keeps for itself: its page tables
 * (FVMM_RAM_TABLES and up) and a page that is never registered, which
 * entries point to where the translate callback must decide (the hole). */
#define FVMM_RAM_TABLES 0xFF0000000ull
#define FVMM_RAM_HOLE 0xFEFFFF000ull

/* Off by default; on from creation when the environment has
 * WHVEMU_TEST_GUEST_RAM=1, so whole test programs re-run with RAM on. */
void fvmm_set_guest_ram_mode(fake_vmm *vm, int on);
int fvmm_guest_ram_mode(const fake_vmm *vm);
/* Call before each emulation call. With RAM mode off it does nothing. On:
 * in long mode (CR0.PE, CR0.PG, EFER.LMA) it builds real 4-level page
 * tables at FVMM_RAM_TABLES matching the GVA map and points CR3 at them:
 * a mapped page whose translation a leaf expresses (Success, an aligned
 * GPA, readable; not executable only with EFER.NXE) is a leaf with R/W,
 * U/S and XD from its permissions; a 2 MiB region holding a page a leaf
 * cannot express points to the hole; unmapped pages are identity leaves
 * (or the hole above the tables) with FVMM_UNMAPPED_IDENTITY, absent
 * entries with FVMM_UNMAPPED_NOT_PRESENT. Mapped non-MMIO GPA pages are
 * allocated. With paging on outside long mode, CR3 points to the hole.
 * Then every allocated page that is not MMIO is registered with `emu`
 * (one read/write range per page); a refused list aborts the process.
 * fvmm_check_round_trip() then also checks that no translate call was
 * made for a page whose walk stays in registered RAM, once the walk's
 * registers (CR0, CR3, CR4, EFER) were fetched. */
void fvmm_sync_guest_ram(fake_vmm *vm, WHV_EMULATOR_HANDLE emu);

/* ---------------------------------------------------------------------
 * Protocol checks
 * ------------------------------------------------------------------- */

/* REP loops run to completion (whvemu_set_rep_limit(emu, 0)): the
 * emulator then empties its page slots when FVMM_REP_SLOTS_USED of its 16
 * are in use (16 minus the 4 one iteration may need, plus one) and
 * translates pages again. With this on, fvmm_check_round_trip() accepts a
 * page translated again without a new validation, but only where the
 * translations split into sets of page slots that each translate a page
 * once per kind of access and, but for the last, hold at least that many
 * distinct pages. Off by default and after fvmm_reset(). */
#define FVMM_REP_SLOTS_USED 13
void fvmm_set_rep_to_completion(fake_vmm *vm, int on);

/* Checks the callback log of one emulation call against the round-trip
 * rules, and returns a description of the first violation, or NULL:
 *   - at most one get-registers call;
 *   - exactly one set-registers call if status says EmulationSuccessful,
 *     none otherwise (unless that set call is the one that failed, or an
 *     extended-state write after it failed); no callback at all after a
 *     failed one, and the status bit matches the failed callback's kind;
 *   - a successful call whose set does not inject an exception
 *     (PendingInterruption or PendingEvent pending) includes RIP; when it
 *     injects one, RIP is absent or unchanged;
 *   - memory accesses are 1..8 bytes, direction 0 or 1, within one page;
 *   - translate GVAs are page aligned and each GVA page is translated once
 *     per kind of access: a later translation of a page must validate a
 *     read, write or execute access that no earlier one did (see
 *     fvmm_set_rep_to_completion() for the one exception);
 *   - extended-state calls (FVMM_CB_XSTATE) name component 2, 5, 6 or 7
 *     with its exact size and Write 0 or 1; at most one read and one write
 *     per component; writes only in an emulation that commits: its status
 *     is EmulationSuccessful, or SetVirtualProcessorRegistersCallbackFailed
 *     from the set call or an extended-state write; the writes and the set
 *     call end the log (no other call after the first of them); a failed
 *     read reports GetVirtualProcessorRegistersCallbackFailed, a failed write
 *     SetVirtualProcessorRegistersCallbackFailed;
 *   - if mmio is given and GvaValid was set: no translation of the exit's
 *     Gva page that the exit already covers: a data read or write when
 *     AccessType is Write, a data read (flags without ValidateWrite) when it
 *     is Read, an instruction fetch when it is Execute. (A write to the page
 *     of a read exit may be translated: the exit does not prove the guest
 *     mapping is writable.)
 * mmio may be NULL (port I/O). The string lives in the fake_vmm until the
 * next call. */
const char *fvmm_check_round_trip(fake_vmm *vm, const WHV_VP_EXIT_CONTEXT *vp,
                                  const WHV_MEMORY_ACCESS_CONTEXT *mmio,
                                  const WHV_EMULATOR_STATUS *status);

#ifdef __cplusplus
}
#endif

#endif /* WHVEMU_TESTS_FAKE_VMM_H */
