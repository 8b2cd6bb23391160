/* Unit tests for guest-memory bounds and bus dispatch. */
#include <errno.h>
#include <stdlib.h>

#include "test.h"
#include "vmm/bus.h"
#include "vmm/memory.h"

TEST(guest_mem_bounds)
{
	static uint8_t buf[4096];
	struct guest_mem m;

	guest_mem_wrap(&m, buf, sizeof(buf));
	CHECK(guest_mem_ptr(&m, 0, 4096) == buf);
	CHECK(guest_mem_ptr(&m, 4095, 1) == buf + 4095);
	CHECK(guest_mem_ptr(&m, 4095, 2) == NULL);
	CHECK(guest_mem_ptr(&m, 4096, 0) == buf + 4096);
	CHECK(guest_mem_ptr(&m, ~0ull, 2) == NULL);
	CHECK(guest_mem_ptr(&m, GUEST_HIGH_START, 1) == NULL);
}

static void rec(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		bool is_write)
{
	uint64_t *last = opaque;

	(void)data;
	*last = off << 8 | len << 1 | is_write;
}

TEST(bus_register_and_dispatch)
{
	struct bus bus = { .n = 0 };
	uint64_t last = 0;
	uint8_t d[4] = { 0 };

	CHECK_EQ(bus_register(&bus, 0x100, 0x10, rec, &last), 0);
	CHECK_EQ(bus_register(&bus, 0x108, 0x10, rec, &last), -EBUSY);
	CHECK_EQ(bus_register(&bus, 0x200, 0, rec, &last), -EINVAL);
	CHECK_EQ(bus_dispatch(&bus, 0x104, d, 4, true), 0);
	CHECK_EQ(last, 4 << 8 | 4 << 1 | 1);
	/* An access running past the device's end is not the device's. */
	CHECK_EQ(bus_dispatch(&bus, 0x10e, d, 4, false), -ENOENT);
	CHECK_EQ(d[0], 0xff);
}
