/* x86.h - the machine tables a direct 64-bit boot needs, written into guest
 * memory with no BIOS: identity page tables, a GDT, an e820 map, and an
 * Intel MultiProcessor table (how Linux finds the other CPUs and the I/O
 * APIC when there is no ACPI). Pure functions over struct guest_mem. */
#ifndef CHARIOT_X86_H
#define CHARIOT_X86_H

#include <stdint.h>

#include "vmm/memory.h"

/* Fixed low-memory layout of the boot structures. */
#define BOOT_GDT_ADDR		0x500ull
#define BOOT_PARAMS_ADDR	0x7000ull
#define BOOT_PML4_ADDR		0x9000ull	/* then PDPT, then 4 PDs */
#define BOOT_PT_END		0xf000ull
#define BOOT_CMDLINE_ADDR	0x20000ull
#define BOOT_CMDLINE_MAX	0x10000u
#define BOOT_EBDA_START		0x9fc00ull	/* base memory ends here */
#define BOOT_MPTABLE_ADDR	0xf0000ull	/* in the BIOS area Linux scans */
#define BOOT_HIGH_START		0x100000ull

/* Linux's boot-protocol segment selectors: CS = 0x10, DS = 0x18. */
#define BOOT_CS			0x10
#define BOOT_DS			0x18

#define IOAPIC_ADDR		0xfec00000u
#define LAPIC_ADDR		0xfee00000u

/* Identity-map the first 4 GiB with 2 MiB pages. Returns 0 or -EFAULT. */
int x86_build_page_tables(struct guest_mem *m);

/* The 64-bit flat GDT at BOOT_GDT_ADDR: null, null, code (0x10), data (0x18). */
int x86_build_gdt(struct guest_mem *m);
uint64_t x86_gdt_entry(uint16_t flags, uint32_t base, uint32_t limit);

#define E820_TYPE_RAM		1
#define E820_TYPE_RESERVED	2
#define E820_MAX		32

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

struct e820_map {
	struct e820_entry e[E820_MAX];
	int n;
};

/* RAM below the EBDA, the BIOS area reserved, RAM from 1 MiB to the end
 * of low RAM minus reserve_top bytes (reserved: the guest-VMM shared
 * area), then high RAM. */
int x86_build_e820(const struct guest_mem *m, uint64_t reserve_top,
		   struct e820_map *map);

/* MP floating pointer + configuration table for ncpus CPUs, one ISA bus,
 * the I/O APIC and ISA IRQs 0-15 identity-wired to its pins. */
int x86_build_mptable(struct guest_mem *m, int ncpus);

/* Byte sum, for MP checksums (valid when the sum of a table is 0). */
uint8_t x86_checksum(const void *p, uint64_t len);

#endif
