/* The kernel's integer types over the UAPI ones (tests/model). */
#ifndef MODEL_LINUX_TYPES_H
#define MODEL_LINUX_TYPES_H
#include_next <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s64 s64;
typedef u64 phys_addr_t;
#endif
