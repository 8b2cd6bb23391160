/* virtio_mmio.c - virtio-mmio v2 transport. Every register access runs
 * under the device lock, and so does the queue processing it triggers:
 * vCPUs may poke the same device concurrently. The interrupt is an edge,
 * pulsed when InterruptStatus gains a bit; Linux's handler reads the
 * status, acks it, then scans the used rings, so a completion landing
 * while a bit is still set is not lost. */
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "devices/virtio_mmio.h"

#define MMIO_MAGIC	0x74726976	/* "virt" */
#define MMIO_VERSION	2
#define MMIO_VENDOR	0x54524843	/* "CHRT" */

#define TRANSPORT_FEATURES \
	(1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_RING_F_INDIRECT_DESC)

int virtio_mmio_init(struct virtio_mmio *m, const struct virtio_dev_ops *ops,
		     void *dev, const void *config, const struct guest_mem *mem,
		     struct irq_line irq, pthread_mutex_t *shared_lock)
{
	int r;

	if (ops->num_queues > VIRTIO_MMIO_MAX_QUEUES ||
	    ops->queue_max > VQ_MAX_SIZE)
		return -EINVAL;
	memset(m, 0, sizeof(*m));
	r = pthread_mutex_init(&m->own_lock, NULL);
	if (r)
		return -r;
	m->ops = ops;
	m->dev = dev;
	m->config = config;
	m->mem = mem;
	m->irq = irq;
	m->lock = shared_lock ? shared_lock : &m->own_lock;
	return 0;
}

void virtio_mmio_destroy(struct virtio_mmio *m)
{
	pthread_mutex_destroy(&m->own_lock);
}

void virtio_mmio_lock(struct virtio_mmio *m)
{
	pthread_mutex_lock(m->lock);
}

void virtio_mmio_unlock(struct virtio_mmio *m)
{
	pthread_mutex_unlock(m->lock);
}

void virtio_mmio_log(const struct virtio_mmio *m, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "chariot: %s: %s\n", m->ops->name, msg);
}

int virtio_error(char *err, size_t errlen, int r, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return r;
}

uint64_t virtio_mmio_errors(struct virtio_mmio *m)
{
	return __atomic_load_n(&m->errors, __ATOMIC_RELAXED);
}

bool virtio_mmio_untouched(struct virtio_mmio *m)
{
	bool r;

	pthread_mutex_lock(m->lock);
	r = !m->status && !m->drv_features && !m->isr;
	for (unsigned int q = 0; r && q < VIRTIO_MMIO_MAX_QUEUES; q++)
		r = !m->q[q].ready && !m->q[q].desc;
	pthread_mutex_unlock(m->lock);
	return r;
}

static void raise_isr(struct virtio_mmio *m, uint32_t bits)
{
	uint32_t old = m->isr;

	m->isr |= bits;
	if (m->isr != old)
		irq_line_pulse(&m->irq);
}

struct virtqueue *virtio_mmio_queue(struct virtio_mmio *m, uint16_t q)
{
	if (q >= m->ops->num_queues || !(m->status & VIRTIO_CONFIG_S_DRIVER_OK))
		return NULL;
	if (!m->q[q].ready || m->q[q].failed)
		return NULL;
	return &m->q[q].vq;
}

void virtio_mmio_used(struct virtio_mmio *m, uint16_t q)
{
	struct virtqueue *vq = virtio_mmio_queue(m, q);

	if (vq && vq_want_interrupt(vq))
		raise_isr(m, VIRTIO_MMIO_INT_VRING);
}

void virtio_mmio_queue_error(struct virtio_mmio *m, uint16_t q, int err)
{
	__atomic_add_fetch(&m->errors, 1, __ATOMIC_RELAXED);
	if (q < VIRTIO_MMIO_MAX_QUEUES)
		m->q[q].failed = true;
	/* One line per reset cycle: a hostile guest must not flood stderr. */
	if (m->status & VIRTIO_CONFIG_S_NEEDS_RESET)
		return;
	virtio_mmio_log(m, "queue %u: %s; device needs reset", q,
			vq_strerror(err));
	m->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	/* The spec asks for a config-change notification with NEEDS_RESET. */
	raise_isr(m, VIRTIO_MMIO_INT_CONFIG);
}

static void notify(struct virtio_mmio *m, uint32_t q)
{
	int r;

	if (q > UINT16_MAX || !virtio_mmio_queue(m, q))
		return;
	r = m->ops->queue_notify(m->dev, q);
	if (r < 0)
		virtio_mmio_queue_error(m, q, r);
}

static void reset(struct virtio_mmio *m)
{
	m->dev_features_sel = m->drv_features_sel = m->queue_sel = 0;
	m->drv_features = 0;
	m->status = 0;
	m->isr = 0;
	memset(m->q, 0, sizeof(m->q));
	m->ops->reset(m->dev);
}

static uint64_t offered(const struct virtio_mmio *m)
{
	return m->ops->features | TRANSPORT_FEATURES;
}

/* A modern-only device: the driver must take VERSION_1 and nothing that
 * was not offered. */
static bool features_ok(const struct virtio_mmio *m)
{
	if (m->drv_features & ~offered(m))
		return false;
	return m->drv_features & (1ull << VIRTIO_F_VERSION_1);
}

static void write_status(struct virtio_mmio *m, uint32_t val)
{
	uint32_t old = m->status;

	if (!val) {
		reset(m);
		return;
	}
	/* Refusing FEATURES_OK is how a device declines a feature set: the
	 * driver reads the status back. */
	if ((val & ~old & VIRTIO_CONFIG_S_FEATURES_OK) && !features_ok(m))
		val &= ~VIRTIO_CONFIG_S_FEATURES_OK;
	m->status = val | (old & VIRTIO_CONFIG_S_NEEDS_RESET);
	/* Kicks that came before DRIVER_OK were ignored: catch up now. */
	if (val & ~old & VIRTIO_CONFIG_S_DRIVER_OK) {
		for (uint16_t q = 0; q < m->ops->num_queues; q++)
			notify(m, q);
	}
}

static struct virtio_mmio_queue *selected(struct virtio_mmio *m)
{
	if (m->queue_sel >= m->ops->num_queues)
		return NULL;
	return &m->q[m->queue_sel];
}

static void set_ready(struct virtio_mmio *m, struct virtio_mmio_queue *q,
		      uint32_t val)
{
	bool indirect = m->drv_features & (1ull << VIRTIO_RING_F_INDIRECT_DESC);
	int r;

	if (!val || q->ready) {
		q->ready = val;
		return;
	}
	if (q->num > m->ops->queue_max)
		r = -EINVAL;
	else
		r = vq_init(&q->vq, m->mem, q->num, q->desc, q->driver,
			    q->device, indirect);
	if (r) {
		virtio_mmio_queue_error(m, m->queue_sel, r);
		return;
	}
	q->ready = true;
}

static void set_half(uint64_t *reg, bool high, uint32_t val)
{
	if (high)
		*reg = (*reg & 0xffffffffull) | (uint64_t)val << 32;
	else
		*reg = (*reg & ~0xffffffffull) | val;
}

/* Queue registers take effect when QueueReady goes to 1; while the queue
 * is ready they are frozen, as the spec requires of the driver. */
static void write_queue_reg(struct virtio_mmio *m, uint64_t off, uint32_t val)
{
	struct virtio_mmio_queue *q = selected(m);

	if (!q)
		return;
	if (off == VIRTIO_MMIO_QUEUE_READY) {
		set_ready(m, q, val);
		return;
	}
	if (q->ready)
		return;
	switch (off) {
	case VIRTIO_MMIO_QUEUE_NUM:
		q->num = val;
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		set_half(&q->desc, off == VIRTIO_MMIO_QUEUE_DESC_HIGH, val);
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		set_half(&q->driver, off == VIRTIO_MMIO_QUEUE_AVAIL_HIGH, val);
		break;
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		set_half(&q->device, off == VIRTIO_MMIO_QUEUE_USED_HIGH, val);
		break;
	}
}

static void write_driver_features(struct virtio_mmio *m, uint32_t val)
{
	/* Frozen once FEATURES_OK is accepted. */
	if (m->status & VIRTIO_CONFIG_S_FEATURES_OK || m->drv_features_sel > 1)
		return;
	set_half(&m->drv_features, m->drv_features_sel == 1, val);
}

static void reg_write(struct virtio_mmio *m, uint64_t off, uint32_t val)
{
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		m->dev_features_sel = val;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		write_driver_features(m, val);
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		m->drv_features_sel = val;
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		m->queue_sel = val;
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		notify(m, val);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		m->isr &= ~val;
		break;
	case VIRTIO_MMIO_STATUS:
		write_status(m, val);
		break;
	default:
		write_queue_reg(m, off, val);
	}
}

static uint32_t device_features(const struct virtio_mmio *m)
{
	if (m->dev_features_sel > 1)
		return 0;
	return offered(m) >> (32 * m->dev_features_sel);
}

static uint32_t reg_read(struct virtio_mmio *m, uint64_t off)
{
	struct virtio_mmio_queue *q = selected(m);

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return MMIO_VERSION;
	case VIRTIO_MMIO_DEVICE_ID:
		return m->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return device_features(m);
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return q ? m->ops->queue_max : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return q ? q->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return m->isr;
	case VIRTIO_MMIO_STATUS:
		return m->status;
	default:
		return 0;	/* ConfigGeneration too: config never changes */
	}
}

/* Config space: any width, bytes past the device's config read as 0 and
 * writes are ignored (no device here has writable config). */
static void config_read(struct virtio_mmio *m, uint64_t off, uint8_t *data,
			uint32_t len)
{
	memset(data, 0, len);
	if (off >= m->ops->config_len)
		return;
	if (len > m->ops->config_len - off)
		len = m->ops->config_len - off;
	memcpy(data, (const uint8_t *)m->config + off, len);
}

static void reg_access(struct virtio_mmio *m, uint64_t off, uint8_t *data,
		       uint32_t len, bool is_write)
{
	uint32_t v = 0;

	/* Registers are 32-bit; other widths are ignored (reads give 0). */
	if (len != 4 || off % 4) {
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	if (is_write) {
		memcpy(&v, data, 4);
		reg_write(m, off, v);
		return;
	}
	v = reg_read(m, off);
	memcpy(data, &v, 4);
}

void virtio_mmio_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		   bool is_write)
{
	struct virtio_mmio *m = opaque;

	pthread_mutex_lock(m->lock);
	if (off < VIRTIO_MMIO_CONFIG)
		reg_access(m, off, data, len, is_write);
	else if (!is_write)
		config_read(m, off - VIRTIO_MMIO_CONFIG, data, len);
	pthread_mutex_unlock(m->lock);
}
