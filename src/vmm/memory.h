/* memory.h - guest RAM: one anonymous mapping, split around the 32-bit
 * MMIO hole. Every guest-physical access made by the VMM goes through
 * guest_mem_ptr(), which bounds-checks it. */
#ifndef CHARIOT_MEMORY_H
#define CHARIOT_MEMORY_H

#include <stddef.h>
#include <stdint.h>

#define GUEST_MMIO_HOLE_START	0xc0000000ull	/* 3 GiB: RAM below, MMIO above */
#define GUEST_HIGH_START	0x100000000ull	/* 4 GiB: RAM beyond the hole */

struct guest_mem {
	int fd;			/* -1: anonymous memory */
	int owned;		/* host mapping allocated here */
	uint8_t *host;		/* its mapping in the VMM */
	uint64_t size;		/* total RAM bytes */
	uint64_t low_size;	/* bytes mapped at GPA 0 */
	uint64_t high_size;	/* bytes mapped at GUEST_HIGH_START */
};

/* Allocate RAM of size bytes. Returns 0 or -errno. */
int guest_mem_init(struct guest_mem *m, uint64_t size);
void guest_mem_free(struct guest_mem *m);

/* Host pointer for [gpa, gpa+len), or NULL when any byte of it lies outside
 * guest RAM (or the range wraps or straddles the hole). */
void *guest_mem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len);

/* A guest_mem over caller-provided memory, for unit tests of devices. */
void guest_mem_wrap(struct guest_mem *m, void *buf, uint64_t size);

#endif
