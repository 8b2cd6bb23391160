/* bus.h - one dispatch for port I/O and MMIO: a device registers a range,
 * a handler and an opaque pointer; the vCPU loop dispatches exits to it. */
#ifndef CHARIOT_BUS_H
#define CHARIOT_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* offset is relative to the registered base. For reads the handler fills
 * data[0..len); unclaimed bytes read as 0xff. */
typedef void (*bus_handler_fn)(void *opaque, uint64_t offset, uint8_t *data,
			       uint32_t len, bool is_write);

struct bus_range {
	uint64_t base;
	uint64_t len;
	bus_handler_fn fn;
	void *opaque;
};

#define BUS_MAX_RANGES 32

struct bus {
	struct bus_range ranges[BUS_MAX_RANGES];
	int n;
};

/* Returns 0, -EBUSY when the range overlaps another, -ENOSPC when full,
 * -EINVAL for an empty range or a NULL handler. Register before vCPUs run. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len,
		 bus_handler_fn fn, void *opaque);

/* Returns 0 when a device claimed the access, -ENOENT otherwise (reads
 * then return all ones). */
int bus_dispatch(struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len,
		 bool is_write);

#endif
