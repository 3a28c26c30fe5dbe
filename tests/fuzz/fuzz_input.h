/*
 * fuzz_input.h - the layout of one fuzz input, shared by the harness
 * (fuzz_emulate.c) and the seed-corpus generator (make_corpus.c).
 *
 * An input is a fixed-layout record: every field has its own offset, so a
 * mutation of one byte changes one field, and input bytes past the end read
 * as zero. 64-bit values (registers, addresses, segment bases and limits)
 * are value slots of FZ_SLOT bytes: a selector byte and 8 raw bytes.
 *
 *   selector bit 7 set    the raw 8 bytes, little-endian
 *   selector bit 7 clear  fz_edges[selector & 63 % count] plus the raw
 *                         byte 0 as a signed delta (-128..127), negated
 *                         when bit 6 is set
 *
 * so the arithmetic edges (0, 1, -1, INT64_MIN, INT64_MIN+1..+63,
 * INT64_MAX, page edges, 2^31, 2^32, the 48- and 57-bit canonical edges)
 * are one byte away from any seed.
 */
#ifndef WHVEMU_FUZZ_INPUT_H
#define WHVEMU_FUZZ_INPUT_H

#include <stdint.h>
#include <string.h>

/* --- fixed fields --- */
enum {
    FZ_CTRL = 0,   /* bit 0 port exit; bits 1-3 mode (FZ_MODE_*); bits 4-5 CPL;
                      bit 6 CR4.LA57; bit 7 unmapped pages are not present */
    FZ_CTRL2 = 1,  /* bit 0 CR4.SMEP; bit 1 EFER.NXE; bit 2 MMIO pages translate
                      GpaUnmapped; bit 3 the exit's GvaValid; bit 4 CR4.PAE off */
    FZ_EXEC = 2,   /* ExecutionState: bit 0 InterruptionPending, bit 1
                      InterruptShadow, bit 2 Cr0Am, bit 3 DebugActive; with
                      FZ_MODE_RAW also bit 4 Cr0Pe, bit 5 EferLma */
    FZ_RFLAGS = 3, /* 4 bytes */
    FZ_ILEN = 7,   /* the exit's InstructionLength */
    FZ_NBYTES = 8, /* instruction bytes in the exit: value % 18 (17: invalid) */
    FZ_BYTES = 9,  /* 16 bytes: the exit's instruction bytes */
    FZ_CODE = 25,  /* 16 bytes: guest memory at RIP */
    FZ_ACCESS = 41, /* the exit's access info (low byte) */
    FZ_PORT = 42,   /* 2 bytes: the port exit's port */
    FZ_INJECT = 44, /* 2 injections of 3 bytes: kind, nth, answer (fz_inject) */
    FZ_ODD = 50,    /* 2 odd pages of 2 bytes: translate result, permissions */
    FZ_SEGATTR = 54, /* 6 x 2 bytes: ES CS SS DS FS GS attributes (CS only
                        with FZ_MODE_RAW) */
    FZ_REPLIMIT = 66, /* REP iterations per call (fz_rep_limit) */
    FZ_MEMFILL = 67,  /* byte pattern of the data pages the seeds read */
    FZ_SLOTS = 68,    /* value slots, FZ_SLOT bytes each (enum fz_slot) */
};

#define FZ_SLOT 9

enum fz_slot {
    FZ_V_GPR = 0, /* 16: RAX..R15 */
    FZ_V_RIP = 16,
    FZ_V_GVA,     /* the memory exit's Gva */
    FZ_V_GPA,     /* the memory exit's Gpa */
    FZ_V_ODD_GVA, /* 2 pages x (gva, gpa returned) */
    FZ_V_ODD_GPA,
    FZ_V_ODD2_GVA,
    FZ_V_ODD2_GPA,
    FZ_V_SEG_BASE,  /* 6: ES..GS */
    FZ_V_SEG_LIMIT = FZ_V_SEG_BASE + 6, /* 6: ES..GS */
    FZ_V_COUNT = FZ_V_SEG_LIMIT + 6,
};

#define FZ_SIZE (FZ_SLOTS + FZ_SLOT * FZ_V_COUNT)

enum fz_mode {
    FZ_MODE_LONG64,
    FZ_MODE_COMPAT32,
    FZ_MODE_COMPAT16,
    FZ_MODE_PROT32,
    FZ_MODE_PROT16,
    FZ_MODE_REAL,
    FZ_MODE_V86,
    FZ_MODE_RAW, /* CS attributes and mode bits straight from the input */
};

static const uint64_t fz_edges[] = {
    0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0xFFF, 0x1000, 0x7FFF, 0x8000, 0xFFFF, 0x10000,
    0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x100000000ull,
    0x00007FFFFFFFFFFFull, 0x0000800000000000ull, /* 48-bit canonical edges */
    0xFFFF7FFFFFFFFFFFull, 0xFFFF800000000000ull,
    0x00FFFFFFFFFFFFFFull, 0x0100000000000000ull, /* 57-bit canonical edges */
    0xFEFFFFFFFFFFFFFFull, 0xFF00000000000000ull,
    0x7FFFFFFFFFFFFFFFull, 0x8000000000000000ull, 0xFFFFFFFFFFFFFFFFull,
    0x401000,           /* FZ_RIP0: where the seeds' code is */
    0x7F0000001000ull,  /* FZ_DATA0: the seeds' data page */
    0xFEE00000,         /* FZ_MMIO_GPA: the seeds' MMIO page */
    0x7F0000000FFCull,  /* a 4-byte step before a page boundary */
    0xB8000, 0x1F000, 0xFFFFF000ull, 0xFFFFFFFFFFFFF000ull,
};
#define FZ_NEDGES (sizeof(fz_edges) / sizeof(fz_edges[0]))

/* Selectors of some edges, for the generator. */
enum {
    FZ_E_ZERO = 0,
    FZ_E_ONE = 1,
    FZ_E_FFF = 7,
    FZ_E_PAGE = 8,
    FZ_E_FFFF = 11,
    FZ_E_U32MAX = 15,
    FZ_E_INT64_MIN = 26,
    FZ_E_RIP0 = 28,
    FZ_E_DATA0 = 29,
    FZ_E_MMIO_GPA = 30,
    FZ_E_CROSS = 31,
    FZ_E_B8000 = 32,
    FZ_E_1F000 = 33,
};

static inline uint64_t fz_le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static inline uint64_t fz_value(const uint8_t *slot)
{
    uint8_t sel = slot[0];
    if (sel & 0x80)
        return fz_le(slot + 1, 8);
    uint64_t v = fz_edges[(sel & 63u) % FZ_NEDGES] + (uint64_t)(int64_t)(int8_t)slot[1];
    return (sel & 0x40) ? 0 - v : v;
}

/* Generator side: an edge plus a delta, or a raw value. */
static inline void fz_put_edge(uint8_t *rec, unsigned slot, unsigned edge, int delta)
{
    uint8_t *p = rec + FZ_SLOTS + FZ_SLOT * slot;
    memset(p, 0, FZ_SLOT);
    p[0] = (uint8_t)edge;
    p[1] = (uint8_t)(int8_t)delta;
}

static inline void fz_put_raw(uint8_t *rec, unsigned slot, uint64_t v)
{
    uint8_t *p = rec + FZ_SLOTS + FZ_SLOT * slot;
    p[0] = 0x80;
    for (unsigned i = 0; i < 8; i++)
        p[1 + i] = (uint8_t)(v >> (8 * i));
}

/* --- answers a callback may be made to give (FZ_INJECT) --- */

/* kind byte % 8: 0..5 a callback (fvmm_cb_kind, 5 the xstate extension)
 * fails; 6 a translate call answers S_OK with an odd result code or GPA;
 * 7 nothing. */
#define FZ_INJECT_TRANSLATE_ANSWER 6
static const int32_t fz_hresults[] = {
    (int32_t)0x80004005, /* E_FAIL */
    1,                   /* S_FALSE */
    (int32_t)0x80070057, /* E_INVALIDARG */
    (int32_t)0x80370309, /* WHV_E_INVALID_VP_REGISTER_NAME */
    2,
    0x7FFFFFFF,
    (int32_t)0x8007000E, /* E_OUTOFMEMORY */
    (int32_t)0x80000000,
};
#define FZ_NHRESULTS (sizeof(fz_hresults) / sizeof(fz_hresults[0]))

/* Translate result codes: the nine defined ones, and some that are not. */
static const uint32_t fz_results[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0x7FFFFFFF, 0xFFFFFFFF,
                                      0x80000000};
#define FZ_NRESULTS (sizeof(fz_results) / sizeof(fz_results[0]))
static const uint64_t fz_gpa_offsets[] = {0, 0x10, 0x800, 0xFFF};

/* REP iterations per call: small chunks (fast inputs), the default 4096,
 * or run to completion (taken only when rCX is below FZ_TO_COMPLETION_MAX,
 * else 4096). */
static const uint32_t fz_rep_limits[] = {64, 1, 2, 7, 4096, 0};
#define FZ_TO_COMPLETION_MAX 20000
#define FZ_NREPLIMITS (sizeof(fz_rep_limits) / sizeof(fz_rep_limits[0]))

#endif /* WHVEMU_FUZZ_INPUT_H */
