/* memory.c - guest RAM: anonymous memory, 2 MiB aligned, backed by
 * transparent huge pages where the host allows them. Measured in the test
 * host: a memfd (shmem, 4 KiB pages) made the guest boot to init ~1.5x
 * slower than QEMU's anonymous THP-backed RAM; nested paging walks are
 * what huge pages save. */
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/memory.h"

#define HUGE_2M (2ull << 20)

int guest_mem_init(struct guest_mem *m, uint64_t size)
{
	uint64_t span = size + HUGE_2M;
	uint8_t *raw = mmap(NULL, span, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uint8_t *host;

	if (raw == MAP_FAILED)
		return -errno;
	/* Align guest-physical 2 MiB frames to host 2 MiB pages so KVM can
	 * map them with huge entries; give back the slack. */
	host = (uint8_t *)(((uintptr_t)raw + HUGE_2M - 1) & ~(uintptr_t)(HUGE_2M - 1));
	if (host > raw)
		munmap(raw, (size_t)(host - raw));
	if (host + size < raw + span)
		munmap(host + size, (size_t)(raw + span - (host + size)));
	madvise(host, size, MADV_HUGEPAGE);
	m->fd = -1;
	m->host = host;
	m->size = size;
	m->low_size = size < GUEST_MMIO_HOLE_START ? size : GUEST_MMIO_HOLE_START;
	m->high_size = size - m->low_size;
	m->owned = 1;
	return 0;
}

void guest_mem_free(struct guest_mem *m)
{
	if (m->owned && m->host)
		munmap(m->host, m->size);
	m->host = NULL;
	m->owned = 0;
	m->fd = -1;
}

void guest_mem_wrap(struct guest_mem *m, void *buf, uint64_t size)
{
	m->fd = -1;
	m->owned = 0;
	m->host = buf;
	m->size = size;
	m->low_size = size < GUEST_MMIO_HOLE_START ? size : GUEST_MMIO_HOLE_START;
	m->high_size = size - m->low_size;
}

void *guest_mem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	uint64_t end = gpa + len;

	if (end < gpa)
		return NULL;
	if (end <= m->low_size)
		return m->host + gpa;
	if (gpa >= GUEST_HIGH_START && end - GUEST_HIGH_START <= m->high_size)
		return m->host + m->low_size + (gpa - GUEST_HIGH_START);
	return NULL;
}
