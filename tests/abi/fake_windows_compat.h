/*
 * fake_windows_compat.h - stands in for the Windows compatibility header a
 * VMM ported to Linux tends to carry (or for Wine's headers). It defines the
 * same base names as our WinHvPlatformDefs.h, with the usual guards:
 * _BASETSD_H_ for the sized integers and _HRESULT_DEFINED for HRESULT, as
 * mingw-w64 and Wine do.
 *
 * FAKE_COMPAT_LLP64_INT64 selects Windows' own spelling of the 64-bit types
 * (long long), which differs from uint64_t (unsigned long) on LP64 Linux.
 * A header with that spelling can only come first: our header then skips its
 * own typedefs. Wine's headers use long on LP64 (like uint64_t), so the
 * default spelling models a compat header that may also come after ours.
 * The macros are guarded so that either inclusion order is well defined.
 */
#ifndef FAKE_WINDOWS_COMPAT_H
#define FAKE_WINDOWS_COMPAT_H

#ifndef _BASETSD_H_
#define _BASETSD_H_
typedef unsigned char UINT8;
typedef unsigned short UINT16;
typedef unsigned int UINT32;
typedef signed char INT8;
typedef short INT16;
typedef int INT32;
#ifdef FAKE_COMPAT_LLP64_INT64
typedef unsigned long long UINT64;
typedef long long INT64;
#else
#include <stdint.h>
typedef uint64_t UINT64;
typedef int64_t INT64;
#endif
#endif

#ifndef _HRESULT_DEFINED
#define _HRESULT_DEFINED
typedef int HRESULT;
#endif

/* Spelled differently from our header on purpose: if either side defined
 * these without a guard, the compiler would report the redefinition. */
#ifndef S_OK
#define S_OK ((HRESULT)0)
#endif
#ifndef E_INVALIDARG
#define E_INVALIDARG ((HRESULT)0x80070057)
#endif
#ifndef WINAPI
#define WINAPI
#endif
#ifndef CALLBACK
#define CALLBACK
#endif

#endif /* FAKE_WINDOWS_COMPAT_H */
