/* The client's Windows compatibility header comes first, with Windows' own
 * 64-bit spelling; our header must reuse its definitions silently. */
#define FAKE_COMPAT_LLP64_INT64 1
#include "fake_windows_compat.h"
#include <WinHvEmulation.h>

/* The compat header's types are the ones in use. */
#ifdef __cplusplus
template <typename A, typename B> struct same_type { enum { value = 0 }; };
template <typename A> struct same_type<A, A> { enum { value = 1 }; };
static_assert(same_type<UINT64, unsigned long long>::value, "UINT64 from the compat header");
#else
_Static_assert(_Generic((UINT64)0, unsigned long long: 1, default: 0), "UINT64 from the compat header");
#endif

#include "coexist_body.h"
