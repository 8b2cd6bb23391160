/* memory.c - guest RAM backed by one memfd (so later code can map a second,
 * differently protected view of the same pages), split around the hole. */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/memory.h"

int guest_mem_init(struct guest_mem *m, uint64_t size)
{
	int fd = memfd_create("chariot-ram", MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0)
		goto fail;
	m->host = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m->host == MAP_FAILED)
		goto fail;
	/* Guest RAM is touched sparsely; let THP back it where possible. */
	madvise(m->host, size, MADV_HUGEPAGE);
	m->fd = fd;
	m->size = size;
	m->low_size = size < GUEST_MMIO_HOLE_START ? size : GUEST_MMIO_HOLE_START;
	m->high_size = size - m->low_size;
	return 0;
fail:
	{
		int err = -errno;

		close(fd);
		return err;
	}
}

void guest_mem_free(struct guest_mem *m)
{
	if (m->fd >= 0 && m->host && m->host != MAP_FAILED) {
		munmap(m->host, m->size);
		close(m->fd);
	}
	m->host = NULL;
	m->fd = -1;
}

void guest_mem_wrap(struct guest_mem *m, void *buf, uint64_t size)
{
	m->fd = -1;
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
