/*
 * cpubits.h - architectural bits of the control registers, EFER, XCR0 and
 * the x87 status word that more than one part of the library tests
 * (SDM Vol. 3 2.5, 2.6; Vol. 1 8.1.3).
 */
#ifndef WHVEMU_CPUBITS_H
#define WHVEMU_CPUBITS_H

#define CR0_MP (1ull << 1)
#define CR0_EM (1ull << 2)
#define CR0_TS (1ull << 3)
#define CR0_NE (1ull << 5)
#define CR0_WP (1ull << 16)
#define CR0_PG (1ull << 31)
#define CR4_VME (1ull << 0)
#define CR4_PSE (1ull << 4)
#define CR4_PAE (1ull << 5)
#define CR4_OSFXSR (1ull << 9)
#define CR4_LA57 (1ull << 12)
#define CR4_OSXSAVE (1ull << 18)
#define CR4_SMEP (1ull << 20)
#define CR4_SMAP (1ull << 21)
#define CR4_PKE (1ull << 22)
#define CR4_PKS (1ull << 24)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)
#define EFER_FFXSR (1ull << 14)
#define XCR0_SSE_AVX 0x6ull
#define XCR0_AVX512 0xE0ull
#define FSW_ES 0x80u

#endif /* WHVEMU_CPUBITS_H */
