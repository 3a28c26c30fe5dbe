/* struct_copy_avx2.c - the same structure copies built at -O3 -mavx2. */
#define STRUCT_COPY_TABLE struct_copy_o3_avx2
#include "struct_copy.inc"
