/* virtio_mmio.h - the virtio-mmio transport, version 2 ("modern") register
 * layout. A device model plugs in with a const ops table and keeps its own
 * state; the transport owns the registers, feature negotiation, the queues
 * and the interrupt. The guest finds a device from the kernel command line:
 * virtio_mmio.device=512@0xBASE:IRQ (VIRTIO_MMIO_SIZE bytes at BASE). */
#ifndef CHARIOT_VIRTIO_MMIO_H
#define CHARIOT_VIRTIO_MMIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/irq.h"
#include "devices/virtqueue.h"
#include "vmm/memory.h"

#define VIRTIO_MMIO_SIZE	0x200
#define VIRTIO_MMIO_MAX_QUEUES	4

/* What a device model provides. Every callback runs with the device lock
 * held (see virtio_mmio_lock()). */
struct virtio_dev_ops {
	const char *name;	/* in error reports, e.g. "virtio-blk" */
	uint32_t device_id;	/* VIRTIO_ID_* */
	uint16_t num_queues;	/* at most VIRTIO_MMIO_MAX_QUEUES */
	uint16_t queue_max;	/* QueueNumMax, a power of two <= VQ_MAX_SIZE */
	uint64_t features;	/* device-specific bits; the transport adds
				 * VIRTIO_F_VERSION_1 and INDIRECT_DESC */
	uint32_t config_len;	/* bytes of (read-only) config space */
	/* The driver notified queue q, or set DRIVER_OK with q ready. Only
	 * called while q is usable. Returns 0, or -errno when the guest
	 * handed over a malformed chain: the transport then reports it,
	 * stops the queue and sets DEVICE_NEEDS_RESET. */
	int (*queue_notify)(void *dev, uint16_t q);
	/* The driver wrote Status = 0: forget all guest-provided state. */
	void (*reset)(void *dev);
};

/* Private to virtio_mmio.c; here so devices can embed the transport. */
struct virtio_mmio_queue {
	uint32_t num;
	uint64_t desc, driver, device;
	bool ready;
	bool failed;		/* malformed input seen: ignored until reset */
	struct virtqueue vq;
};

struct virtio_mmio {
	const struct virtio_dev_ops *ops;
	void *dev;
	const void *config;
	const struct guest_mem *mem;
	struct irq_line irq;
	pthread_mutex_t *lock;
	pthread_mutex_t own_lock;
	uint32_t dev_features_sel, drv_features_sel, queue_sel;
	uint64_t drv_features;
	uint32_t status;
	uint32_t isr;		/* InterruptStatus */
	uint64_t errors;	/* malformed chains or rings, ever */
	struct virtio_mmio_queue q[VIRTIO_MMIO_MAX_QUEUES];
};

/* Set up the transport for device dev. config points at config_len bytes
 * the device owns. shared_lock, when not NULL, is used as the device lock
 * instead of a lock of its own (devices that call into each other share
 * one, so there is no lock order to get wrong). Returns 0 or -errno. */
int virtio_mmio_init(struct virtio_mmio *m, const struct virtio_dev_ops *ops,
		     void *dev, const void *config, const struct guest_mem *mem,
		     struct irq_line irq, pthread_mutex_t *shared_lock);
void virtio_mmio_destroy(struct virtio_mmio *m);

/* Bus handler for the device's VIRTIO_MMIO_SIZE bytes; opaque is the
 * struct virtio_mmio. Takes the device lock. */
void virtio_mmio_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		   bool is_write);

/* The device lock, for device work started outside the MMIO handler (a
 * backend thread delivering input). */
void virtio_mmio_lock(struct virtio_mmio *m);
void virtio_mmio_unlock(struct virtio_mmio *m);

/* With the lock held: queue q if the driver has set it up and DRIVER_OK
 * and it has not failed, else NULL. */
struct virtqueue *virtio_mmio_queue(struct virtio_mmio *m, uint16_t q);

/* With the lock held: buffers were pushed to queue q's used ring; raise
 * the interrupt unless the driver suppressed it. */
void virtio_mmio_used(struct virtio_mmio *m, uint16_t q);

/* With the lock held: queue q held malformed input (err is the -errno of
 * vq_pop). Counts it, reports one line, stops the queue, sets
 * DEVICE_NEEDS_RESET and signals a configuration change. */
void virtio_mmio_queue_error(struct virtio_mmio *m, uint16_t q, int err);

/* Malformed chains or rings seen since creation. Any thread. */
uint64_t virtio_mmio_errors(struct virtio_mmio *m);

/* Has no driver touched the device since it was created (status 0,
 * nothing negotiated, no queue set up)?  Then it holds no guest state and
 * a snapshot need not keep any.  Any thread. */
bool virtio_mmio_untouched(struct virtio_mmio *m);

/* A one-line report to stderr, prefixed with the device's name. */
void virtio_mmio_log(const struct virtio_mmio *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* For device constructors: format a message into err[errlen] (which may be
 * NULL) and return r, so that "return virtio_error(...)" reads naturally. */
int virtio_error(char *err, size_t errlen, int r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
