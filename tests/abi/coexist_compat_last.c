/* Our header comes first and the client's Windows compatibility header
 * after it; the compat header's guards must find everything already
 * defined, or its definitions must agree with ours. */
#include <WinHvEmulation.h>
#include "fake_windows_compat.h"

#include "coexist_body.h"
