/* virtio_regs.h - a test driver's register accesses to a virtio-mmio
 * transport, shared by the unit tests' fake driver
 * (tests/unit/test_virtqueue.c) and the hostile guest of
 * tests/fuzz/fuzz_virtio.c: 32-bit reads and writes, and the 64-bit
 * feature words through their select registers. */
#ifndef CHARIOT_TESTS_VIRTIO_REGS_H
#define CHARIOT_TESTS_VIRTIO_REGS_H

#include <linux/virtio_mmio.h>
#include <stdint.h>

#include "devices/virtio_mmio.h"

static inline uint32_t mmio_rd(struct virtio_mmio *m, uint64_t off)
{
	uint32_t v = 0;

	virtio_mmio_io(m, off, (uint8_t *)&v, 4, false);
	return v;
}

static inline void mmio_wr(struct virtio_mmio *m, uint64_t off, uint32_t v)
{
	virtio_mmio_io(m, off, (uint8_t *)&v, 4, true);
}

/* The features the device offers, both words. */
static inline uint64_t device_features(struct virtio_mmio *m)
{
	uint64_t f;

	mmio_wr(m, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	f = (uint64_t)mmio_rd(m, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	mmio_wr(m, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	return f | mmio_rd(m, VIRTIO_MMIO_DEVICE_FEATURES);
}

/* The driver takes features f, both words. */
static inline void write_features(struct virtio_mmio *m, uint64_t f)
{
	mmio_wr(m, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	mmio_wr(m, VIRTIO_MMIO_DRIVER_FEATURES, f);
	mmio_wr(m, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	mmio_wr(m, VIRTIO_MMIO_DRIVER_FEATURES, f >> 32);
}

#endif
