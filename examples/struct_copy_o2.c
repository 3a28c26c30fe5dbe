/* struct_copy_o2.c - structure copies built at -O2 for baseline x86-64. */
#define STRUCT_COPY_TABLE struct_copy_o2
#include "struct_copy.inc"

const size_t struct_copy_count =
    sizeof(struct_copy_o2) / sizeof(struct_copy_o2[0]) - 1;
