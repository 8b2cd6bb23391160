/* boot.h - loading a Linux kernel and initramfs by the 64-bit boot protocol:
 * an uncompressed ELF vmlinux or a bzImage, a zero page with the command
 * line and e820 map, the initramfs (plus an optional appended archive). */
#ifndef CHARIOT_BOOT_H
#define CHARIOT_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/memory.h"
#include "vmm/x86.h"

/* The guest kernel's command line when none is given (chariot run --append
 * replaces it; a campaign's unprotected runs add to it). */
#define BOOT_DEFAULT_APPEND \
	"console=ttyS0 nokaslr panic=-1 reboot=k quiet loglevel=3 acpi=off pci=off " \
	"8250.nr_uarts=1 i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd"

enum kernel_kind { KERNEL_ELF, KERNEL_BZIMAGE };

struct boot_image {
	enum kernel_kind kind;
	uint64_t entry;		/* guest-physical 64-bit entry point */
	uint64_t kernel_end;	/* first byte above the loaded kernel */
	uint64_t initrd_addr;
	uint64_t initrd_size;
};

struct boot_config {
	const char *kernel;	/* path */
	const char *initrd;	/* path, or NULL */
	const uint8_t *extra;	/* appended after the initrd (cmd archive) */
	size_t extra_len;
	const char *cmdline;
	uint64_t reserve_top;	/* bytes at the top of low RAM kept from Linux */
};

/* Load everything into m and write the boot tables. On failure returns
 * -errno and a one-line reason in err. */
int boot_load(struct guest_mem *m, const struct boot_config *cfg,
	      struct boot_image *img, char *err, size_t errlen);

/* Load only the kernel image held in buf (exposed for unit tests). */
int boot_load_kernel(struct guest_mem *m, const uint8_t *buf, size_t len,
		     struct boot_image *img, char *err, size_t errlen);

/* Fill the zero page at BOOT_PARAMS_ADDR (exposed for unit tests). */
int boot_write_params(struct guest_mem *m, const uint8_t *kernel,
		      size_t kernel_len, const struct boot_image *img,
		      const char *cmdline, const struct e820_map *map);

#endif
