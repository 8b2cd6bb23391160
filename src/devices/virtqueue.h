/* virtqueue.h - the device side of a virtio 1.x split virtqueue. Every
 * descriptor the guest hands over is validated before a device sees it:
 * rings and buffers inside guest RAM, no loops, no chain longer than the
 * queue (or its indirect table), no device-readable buffer after a
 * device-writable one. A device gets a chain as a list of host pointers. */
#ifndef CHARIOT_VIRTQUEUE_H
#define CHARIOT_VIRTQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vmm/memory.h"

/* Longest chain a device accepts; virtio-blk's seg_max is derived from it. */
#define VQ_MAX_CHAIN	128
/* Largest queue any device offers (QueueNumMax). */
#define VQ_MAX_SIZE	256

struct vring_desc;
struct vring_avail;
struct vring_used;

struct virtqueue {
	const struct guest_mem *mem;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t num;		/* queue size, a power of two */
	uint16_t last_avail;	/* next avail ring slot the device reads */
	uint16_t used_idx;	/* the device's copy of used->idx */
	bool indirect;		/* VIRTIO_F_INDIRECT_DESC negotiated */
};

struct vq_chain {
	uint16_t head;
	struct vq_buf {
		void *host;	/* host view of the guest buffer */
		uint32_t len;
		bool writable;	/* device-writable (VIRTQ_DESC_F_WRITE) */
	} bufs[VQ_MAX_CHAIN];
	int n;
	uint32_t rlen;		/* total device-readable bytes (first) */
	uint32_t wlen;		/* total device-writable bytes (after them) */
};

/* Bind a queue of num entries whose rings are at the given guest-physical
 * addresses. Returns 0, or -EINVAL (num not a power of two in
 * 1..VQ_MAX_SIZE, a misaligned ring) or -EFAULT (a ring outside RAM). */
int vq_init(struct virtqueue *vq, const struct guest_mem *mem, uint16_t num,
	    uint64_t desc, uint64_t avail, uint64_t used, bool indirect);

/* Take the next available chain. Returns 1 with *c filled, 0 when the
 * driver has made nothing available, or -errno when the guest's ring or
 * chain is malformed (the queue must then not be used until reset):
 * -EFAULT a descriptor, table or buffer outside RAM; -ELOOP a loop or a
 * chain longer than its table; -E2BIG more than VQ_MAX_CHAIN buffers;
 * -EINVAL anything else against the spec. */
int vq_pop(struct virtqueue *vq, struct vq_chain *c);

/* What a vq_pop() error means, for a report. */
const char *vq_strerror(int err);

/* Return a chain to the driver, len bytes written into it. */
void vq_push(struct virtqueue *vq, uint16_t head, uint32_t len);

/* Whether the driver wants an interrupt for what was pushed (it may have
 * set VIRTQ_AVAIL_F_NO_INTERRUPT while it polls). */
bool vq_want_interrupt(struct virtqueue *vq);

/* Copy out of the chain's readable bytes from offset off; returns bytes
 * copied (short at the end of the readable part). */
size_t vq_chain_read(const struct vq_chain *c, size_t off, void *dst,
		     size_t len);

/* Copy into the chain's writable bytes from offset off (counted from the
 * first writable byte); returns bytes copied. */
size_t vq_chain_write(const struct vq_chain *c, size_t off, const void *src,
		      size_t len);

/* Describe len bytes of the readable (writable = false) or writable part,
 * starting off bytes into it, as at most max iovecs. Returns the count, or
 * -ERANGE when the part is shorter than off + len or needs more iovecs. */
int vq_chain_iov(const struct vq_chain *c, bool writable, size_t off,
		 size_t len, struct iovec *iov, int max);

#endif
