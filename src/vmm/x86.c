/* x86.c - page tables, GDT, e820 and MP table for a BIOS-less boot. */
#include <errno.h>
#include <string.h>

#include "vmm/x86.h"

#define PTE_P	0x1ull
#define PTE_RW	0x2ull
#define PTE_PS	0x80ull

int x86_build_page_tables(struct guest_mem *m)
{
	uint64_t *pml4 = guest_mem_ptr(m, BOOT_PML4_ADDR, 0x1000);
	uint64_t *pdpt = guest_mem_ptr(m, BOOT_PML4_ADDR + 0x1000, 0x1000);
	uint64_t *pd = guest_mem_ptr(m, BOOT_PML4_ADDR + 0x2000, 0x4000);

	if (!pml4 || !pdpt || !pd)
		return -EFAULT;
	memset(pml4, 0, 0x6000);
	pml4[0] = (BOOT_PML4_ADDR + 0x1000) | PTE_P | PTE_RW;
	for (int i = 0; i < 4; i++)
		pdpt[i] = (BOOT_PML4_ADDR + 0x2000 + i * 0x1000ull) | PTE_P | PTE_RW;
	/* 2048 entries of 2 MiB each cover 4 GiB, the hole included, so the
	 * kernel can reach MMIO before it builds its own tables. */
	for (uint64_t i = 0; i < 2048; i++)
		pd[i] = (i << 21) | PTE_P | PTE_RW | PTE_PS;
	return 0;
}

uint64_t x86_gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000u) << 32) |
	       ((uint64_t)(flags & 0xf0ffu) << 40) |
	       ((uint64_t)(limit & 0x000f0000u) << 32) |
	       ((uint64_t)(base & 0x00ffffffu) << 16) |
	       (uint64_t)(limit & 0x0000ffffu);
}

int x86_build_gdt(struct guest_mem *m)
{
	uint64_t *gdt = guest_mem_ptr(m, BOOT_GDT_ADDR, 4 * sizeof(uint64_t));

	if (!gdt)
		return -EFAULT;
	gdt[0] = 0;
	gdt[1] = 0;
	gdt[2] = x86_gdt_entry(0xa09b, 0, 0xfffff);	/* 64-bit code */
	gdt[3] = x86_gdt_entry(0xc093, 0, 0xfffff);	/* data */
	return 0;
}

static int e820_add(struct e820_map *map, uint64_t addr, uint64_t size,
		    uint32_t type)
{
	if (!size)
		return 0;
	if (map->n == E820_MAX)
		return -ENOSPC;
	map->e[map->n++] = (struct e820_entry){ addr, size, type };
	return 0;
}

int x86_build_e820(const struct guest_mem *m, uint64_t reserve_top,
		   struct e820_map *map)
{
	int r = 0;

	map->n = 0;
	if (m->low_size < BOOT_HIGH_START + reserve_top + (16ull << 20))
		return -EINVAL;
	r |= e820_add(map, 0, BOOT_EBDA_START, E820_TYPE_RAM);
	r |= e820_add(map, BOOT_EBDA_START, BOOT_HIGH_START - BOOT_EBDA_START,
		      E820_TYPE_RESERVED);
	r |= e820_add(map, BOOT_HIGH_START,
		      m->low_size - reserve_top - BOOT_HIGH_START, E820_TYPE_RAM);
	r |= e820_add(map, m->low_size - reserve_top, reserve_top,
		      E820_TYPE_RESERVED);
	r |= e820_add(map, GUEST_HIGH_START, m->high_size, E820_TYPE_RAM);
	return r ? -ENOSPC : 0;
}

uint8_t x86_checksum(const void *p, uint64_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return sum;
}

/* MP specification 1.4 structures. */
struct mpf {
	char sig[4];
	uint32_t physptr;
	uint8_t length;
	uint8_t spec_rev;
	uint8_t checksum;
	uint8_t feature[5];
} __attribute__((packed));

struct mpc_header {
	char sig[4];
	uint16_t length;
	uint8_t spec_rev;
	uint8_t checksum;
	char oem[8];
	char product[12];
	uint32_t oem_ptr;
	uint16_t oem_size;
	uint16_t count;
	uint32_t lapic;
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
} __attribute__((packed));

struct mpc_cpu {
	uint8_t type, apic_id, apic_ver, flags;
	uint32_t signature, features;
	uint32_t reserved[2];
} __attribute__((packed));

struct mpc_bus {
	uint8_t type, bus_id;
	char bus_type[6];
} __attribute__((packed));

struct mpc_ioapic {
	uint8_t type, id, ver, flags;
	uint32_t addr;
} __attribute__((packed));

struct mpc_int {
	uint8_t type, irq_type;
	uint16_t flags;
	uint8_t src_bus, src_irq, dst_apic, dst_pin;
} __attribute__((packed));

enum { MP_CPU, MP_BUS, MP_IOAPIC, MP_INTSRC, MP_LINTSRC };
enum { MP_INT, MP_NMI, MP_SMI, MP_EXTINT };

static void *mp_put(uint8_t **cur, const void *e, size_t len)
{
	void *at = *cur;

	memcpy(*cur, e, len);
	*cur += len;
	return at;
}

int x86_build_mptable(struct guest_mem *m, int ncpus)
{
	const uint64_t span = 0x10000;	/* up to 0x100000 */
	uint8_t *base = guest_mem_ptr(m, BOOT_MPTABLE_ADDR, span);
	struct mpf *mpf = (struct mpf *)base;
	struct mpc_header *hdr = (struct mpc_header *)(base + sizeof(*mpf));
	uint8_t *cur = (uint8_t *)(hdr + 1);
	uint8_t ioapic_id = (uint8_t)ncpus;	/* after the LAPIC ids */
	uint16_t count = 0;

	if (!base)
		return -EFAULT;
	if (ncpus < 1 || ncpus > 254)
		return -EINVAL;
	memset(base, 0, 0x1000);
	for (int i = 0; i < ncpus; i++) {
		struct mpc_cpu c = {
			.type = MP_CPU, .apic_id = (uint8_t)i, .apic_ver = 0x14,
			.flags = 1 | (i == 0 ? 2 : 0),	/* enabled, BSP */
			.signature = 0x600, .features = 0x201,	/* FPU, APIC */
		};
		mp_put(&cur, &c, sizeof(c));
		count++;
	}
	struct mpc_bus bus = { .type = MP_BUS, .bus_id = 0 };
	memcpy(bus.bus_type, "ISA   ", 6);
	mp_put(&cur, &bus, sizeof(bus));
	struct mpc_ioapic io = {
		.type = MP_IOAPIC, .id = ioapic_id, .ver = 0x11, .flags = 1,
		.addr = IOAPIC_ADDR,
	};
	mp_put(&cur, &io, sizeof(io));
	count += 2;
	/* KVM's default GSI routing sends ISA IRQ n to I/O APIC pin n. */
	for (uint8_t irq = 0; irq < 16; irq++) {
		struct mpc_int in = {
			.type = MP_INTSRC, .irq_type = MP_INT, .src_bus = 0,
			.src_irq = irq, .dst_apic = ioapic_id, .dst_pin = irq,
		};
		if (irq == 2)	/* the PIC cascade */
			continue;
		mp_put(&cur, &in, sizeof(in));
		count++;
	}
	struct mpc_int lint0 = {
		.type = MP_LINTSRC, .irq_type = MP_EXTINT, .dst_apic = 0xff,
		.dst_pin = 0,
	};
	struct mpc_int lint1 = {
		.type = MP_LINTSRC, .irq_type = MP_NMI, .dst_apic = 0xff,
		.dst_pin = 1,
	};
	mp_put(&cur, &lint0, sizeof(lint0));
	mp_put(&cur, &lint1, sizeof(lint1));
	count += 2;

	memcpy(hdr->sig, "PCMP", 4);
	hdr->length = (uint16_t)(cur - (uint8_t *)hdr);
	hdr->spec_rev = 4;
	memcpy(hdr->oem, "CHARIOT ", 8);
	memcpy(hdr->product, "CHARIOT VMM ", 12);
	hdr->count = count;
	hdr->lapic = LAPIC_ADDR;
	hdr->checksum = (uint8_t)-x86_checksum(hdr, hdr->length);

	memcpy(mpf->sig, "_MP_", 4);
	mpf->physptr = (uint32_t)(BOOT_MPTABLE_ADDR + sizeof(*mpf));
	mpf->length = 1;
	mpf->spec_rev = 4;
	mpf->checksum = (uint8_t)-x86_checksum(mpf, sizeof(*mpf));
	return 0;
}
