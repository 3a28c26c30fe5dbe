/*
 * walk.h - the guest page walker on directly mapped guest RAM (walk.c), for
 * the direct guest RAM extension: linear address -> guest-physical address
 * by the guest's own page tables, with the CPU's permission checks, #PF
 * error code and Accessed/Dirty updates. It is the one place that decides
 * "walk or call translate": WALK_UNWALKABLE sends the caller to the
 * translate callback for that access.
 *
 * Paging off (CR0.PG = 0) is the caller's case: there the GPA is the linear
 * address and no walk is made (walk_translate refuses it).
 */
#ifndef WHVEMU_WALK_H
#define WHVEMU_WALK_H

#include <stdbool.h>
#include <stdint.h>

#include "ram.h"

/* The vCPU state a walk depends on (from the call's one batched get). */
struct walk_regs {
    uint64_t cr0, cr3, cr4, efer;
    uint8_t cpl;
    bool ac;             /* RFLAGS.AC */
    uint8_t maxphyaddr;  /* the guest's MAXPHYADDR (CPUID.80000008H:EAX[7:0]), 32..52:
                            bits at and above it in a table entry are reserved. A
                            VMM that does not know it passes 52: then no address
                            bit is reserved, only the architecturally fixed ones. */
};

enum walk_access {
    WALK_READ,
    WALK_WRITE, /* a read-modify-write is a write */
    WALK_EXEC,  /* an instruction fetch */
};

enum walk_status {
    WALK_OK,         /* translated: out->gpa and the leaf's details */
    WALK_FAULT,      /* #PF: out->error_code; CR2 = the linear address (the caller
                        records it); nothing in guest memory was changed */
    WALK_UNWALKABLE, /* not walked here (out->why): use the translate callback.
                        Guest memory is unchanged unless another walk's A/D
                        update raced it. */
};

struct walk_result {
    uint64_t gpa;        /* WALK_OK: the guest-physical address */
    uint64_t page_size;  /* WALK_OK: 4 KiB, 2 MiB, 4 MiB or 1 GiB */
    bool writable;       /* WALK_OK: R/W = 1 at every level */
    bool user;           /* WALK_OK: U/S = 1 at every level */
    bool nx;             /* WALK_OK: XD = 1 at some level (with EFER.NXE) */
    bool dirty;          /* WALK_OK: the leaf's D bit is set (before or by this walk);
                            a cached translation made without it needs a new walk
                            before a write */
    uint32_t error_code; /* WALK_FAULT: PF_* bits of emu.h (SDM Vol. 3 4.7) */
    const char *why;     /* WALK_UNWALKABLE: a static English sentence */
};

/*
 * Translates linear address `la` for one access by the paging mode that
 * CR0, CR4 and EFER select: 32-bit paging (4 KiB pages; 4 MiB pages with
 * CR4.PSE, PSE-36 address bits up to MAXPHYADDR or 40), PAE paging, 4-level
 * and 5-level paging (CR4.LA57) with 4 KiB, 2 MiB and 1 GiB pages (1 GiB
 * pages are taken as supported, CPUID.80000001H:EDX[26], as on every CPU
 * that a VMM offering 4-level paging runs on today).
 *
 * `implicit` marks an implicit supervisor-mode access (a descriptor-table
 * or TSS access made by the CPU itself): a supervisor access whatever the
 * CPL, for which SMAP ignores RFLAGS.AC. Otherwise the access is a user
 * access exactly when CPL = 3.
 *
 * Checks P, reserved bits (by maxphyaddr, PS where a level has no large
 * page, XD without EFER.NXE), R/W with CR0.WP, U/S, XD, SMEP, SMAP with
 * RFLAGS.AC, as SDM Vol. 3 4.6 says. On success sets the Accessed bit of
 * every entry used and, for a write, the leaf's Dirty bit, each with a host
 * compare-exchange as the CPU's locked update; an entry that changed since
 * it was read restarts the walk. A faulting walk sets no bit (see walk.c).
 *
 * PAE paging: the CPU loads the four PDPTEs into registers when CR3 is
 * loaded and does not reread them; the walker, like hypervisor walkers,
 * reads them from memory at walk time. A guest that rewrites a PDPTE
 * without reloading CR3 sees the new one here; a present PDPTE with
 * reserved bits set (which the CPU would have refused with #GP at the CR3
 * load) gives #PF with RSVD, as a processor that checks PDPTEs during the
 * walk does.
 *
 * WALK_UNWALKABLE: CR0.PG = 0; CR4.PKE or CR4.PKS set (protection keys);
 * a paging-structure entry outside the readable ranges; an A/D bit to set
 * in an entry outside the writable ranges; a linear address that is not
 * canonical (64-bit modes) or above 4 GiB (32-bit modes): the caller
 * checks those first; tables changing faster than the walk can finish.
 */
enum walk_status walk_translate(const struct ram_map *m, const struct walk_regs *regs,
                                uint64_t la, enum walk_access acc, bool implicit,
                                struct walk_result *out);

#endif /* WHVEMU_WALK_H */
