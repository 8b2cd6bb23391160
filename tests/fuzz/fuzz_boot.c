/* fuzz_boot.c - corrupt kernel images against the boot loader
 * (libFuzzer).  `chariot run --kernel FILE` reads whatever FILE holds:
 * an ELF vmlinux, a bzImage, or neither.  Whatever the bytes, loading
 * must end in a clean refusal or in a kernel placed inside guest RAM with
 * its entry point there too, and the zero page written from it (the
 * bzImage's own header copied in) must stay inside the image's bytes (the
 * sanitizers check each access; the checks below the placement). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/boot.h"

#define FZ_RAM	(2u << 20)	/* 2 MiB: a bzImage loads at 1 MiB */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_mem m;
	struct boot_image img = { 0 };
	struct e820_map map;
	char err[256];
	uint8_t *ram = malloc(FZ_RAM);
	uint8_t *copy = malloc(size ? size : 1);
	int r;

	if (!ram || !copy)
		abort();
	/* A copy of exactly size bytes: a read past the image is a heap
	 * overflow, which the sanitizer reports. */
	memcpy(copy, data, size);
	guest_mem_wrap(&m, ram, FZ_RAM);
	r = boot_load_kernel(&m, copy, size, &img, err, sizeof(err));
	if (r == 0) {
		if (!guest_mem_ptr(&m, img.entry, 1) || img.kernel_end > FZ_RAM) {
			fprintf(stderr, "kernel placed outside RAM: entry "
				"0x%llx end 0x%llx\n",
				(unsigned long long)img.entry,
				(unsigned long long)img.kernel_end);
			abort();
		}
		/* (x86_build_e820 wants 17 MiB or more: a map by hand) */
		map.n = 1;
		map.e[0] = (struct e820_entry){ .addr = 0, .size = FZ_RAM,
						.type = E820_TYPE_RAM };
		(void)boot_write_params(&m, copy, size, &img,
					BOOT_DEFAULT_APPEND, &map);
	} else if (!err[0]) {
		fprintf(stderr, "refused (%d) without a reason\n", r);
		abort();
	}
	free(copy);
	free(ram);
	return 0;
}
