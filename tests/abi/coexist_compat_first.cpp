/* The same test compiled as C++. */
#include "coexist_compat_first.c"
