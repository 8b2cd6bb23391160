/* virtio_blk.h - a virtio block device backed by a host file (or block
 * device), requests served synchronously in the vCPU that notifies. */
#ifndef CHARIOT_VIRTIO_BLK_H
#define CHARIOT_VIRTIO_BLK_H

#include <stddef.h>

#include "devices/irq.h"
#include "devices/virtio_mmio.h"
#include "vmm/memory.h"

struct virtio_blk;

/* Open path read-write (it must exist; its size must be a multiple of 512
 * bytes) and create the device. Returns 0, or -errno with a message for
 * the user in err[errlen]. */
int virtio_blk_create(struct virtio_blk **out, struct guest_mem *mem,
		      struct irq_line irq, const char *path, char *err,
		      size_t errlen);
void virtio_blk_destroy(struct virtio_blk *b);

/* What virtio_blk_create would say of path, without a device: so that a
 * bad --disk is reported before anything else is set up. */
int virtio_blk_check(const char *path, char *err, size_t errlen);

/* The transport to register on the bus: VIRTIO_MMIO_SIZE bytes,
 * virtio_mmio_io() as handler, this pointer as opaque. */
struct virtio_mmio *virtio_blk_transport(struct virtio_blk *b);

#endif
