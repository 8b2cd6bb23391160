/* bus.c - range registration and dispatch for port I/O and MMIO. */
#include <errno.h>
#include <string.h>

#include "vmm/bus.h"

static bool overlaps(const struct bus_range *r, uint64_t base, uint64_t len)
{
	return base < r->base + r->len && r->base < base + len;
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len,
		 bus_handler_fn fn, void *opaque)
{
	if (!len || !fn || base + len < base)
		return -EINVAL;
	for (int i = 0; i < bus->n; i++)
		if (overlaps(&bus->ranges[i], base, len))
			return -EBUSY;
	if (bus->n == BUS_MAX_RANGES)
		return -ENOSPC;
	bus->ranges[bus->n++] = (struct bus_range){ base, len, fn, opaque };
	return 0;
}

int bus_dispatch(struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len,
		 bool is_write)
{
	for (int i = 0; i < bus->n; i++) {
		struct bus_range *r = &bus->ranges[i];

		/* The whole access must fall in one device's range. */
		if (addr >= r->base && addr - r->base + len <= r->len) {
			r->fn(r->opaque, addr - r->base, data, len, is_write);
			return 0;
		}
	}
	if (!is_write)
		memset(data, 0xff, len);
	return -ENOENT;
}
