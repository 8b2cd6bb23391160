/* Unit tests for boot-parameter, e820, page-table and MP-table building. */
#include <asm/bootparam.h>
#include <elf.h>
#include <errno.h>
#include <stdlib.h>

#include "test.h"
#include "vmm/boot.h"
#include "vmm/x86.h"

#define RAM (64ull << 20)

static struct guest_mem *ram(void)
{
	static struct guest_mem m;
	static uint8_t *buf;

	if (!buf)
		buf = malloc(RAM);
	memset(buf, 0, RAM);
	guest_mem_wrap(&m, buf, RAM);
	return &m;
}

TEST(e820_layout)
{
	struct guest_mem *m = ram();
	struct e820_map map;

	CHECK_EQ(x86_build_e820(m, 0x10000, &map), 0);
	CHECK_EQ(map.n, 4);	/* no high RAM */
	CHECK_EQ(map.e[0].addr, 0);
	CHECK_EQ(map.e[0].type, E820_TYPE_RAM);
	CHECK_EQ(map.e[1].type, E820_TYPE_RESERVED);
	CHECK_EQ(map.e[2].addr, 0x100000);
	CHECK_EQ(map.e[2].addr + map.e[2].size, RAM - 0x10000);
	CHECK_EQ(map.e[3].type, E820_TYPE_RESERVED);
	CHECK_EQ(map.e[3].addr + map.e[3].size, RAM);
	/* Entries are sorted and do not overlap. */
	for (int i = 1; i < map.n; i++)
		CHECK(map.e[i].addr >= map.e[i - 1].addr + map.e[i - 1].size);
}

TEST(e820_high_ram_beyond_hole)
{
	struct guest_mem m;

	/* Only the sizes matter here, no memory is touched. */
	m.host = NULL;
	m.size = 4ull << 30;
	m.low_size = GUEST_MMIO_HOLE_START;
	m.high_size = m.size - m.low_size;
	struct e820_map map;

	CHECK_EQ(x86_build_e820(&m, 0x10000, &map), 0);
	CHECK_EQ(map.e[map.n - 1].addr, GUEST_HIGH_START);
	CHECK_EQ(map.e[map.n - 1].size, 1ull << 30);
	CHECK_EQ(x86_build_e820(&(struct guest_mem){ .low_size = 1 << 20 }, 0, &map),
		 -EINVAL);
}

TEST(page_tables_identity_map_4g)
{
	struct guest_mem *m = ram();
	uint64_t *pml4, *pdpt, *pd;

	CHECK_EQ(x86_build_page_tables(m), 0);
	pml4 = guest_mem_ptr(m, BOOT_PML4_ADDR, 8);
	pdpt = guest_mem_ptr(m, pml4[0] & ~0xfffull, 32);
	CHECK(pdpt != NULL);
	for (int g = 0; g < 4; g++) {
		pd = guest_mem_ptr(m, pdpt[g] & ~0xfffull, 4096);
		CHECK(pd != NULL);
		CHECK_EQ(pdpt[g] & 3, 3);
		/* Every 2 MiB page maps to itself: check a few. */
		for (int i = 0; i < 512; i += 170)
			CHECK_EQ(pd[i], ((uint64_t)g << 30 | (uint64_t)i << 21) | 0x83);
	}
	CHECK(BOOT_PML4_ADDR + 0x6000 <= BOOT_PT_END);
}

TEST(gdt_code_is_long_mode)
{
	struct guest_mem *m = ram();
	uint64_t *gdt;

	CHECK_EQ(x86_build_gdt(m), 0);
	gdt = guest_mem_ptr(m, BOOT_GDT_ADDR, 32);
	CHECK_EQ(gdt[BOOT_CS / 8], 0x00af9b000000ffffull);
	CHECK_EQ(gdt[BOOT_DS / 8], 0x00cf93000000ffffull);
}

TEST(mptable_checksums_and_cpus)
{
	struct guest_mem *m = ram();
	uint8_t *mpf;
	uint8_t *hdr;
	int cpus = 0;

	CHECK_EQ(x86_build_mptable(m, 2), 0);
	mpf = guest_mem_ptr(m, BOOT_MPTABLE_ADDR, 16);
	CHECK(!memcmp(mpf, "_MP_", 4));
	CHECK_EQ(x86_checksum(mpf, 16), 0);
	hdr = guest_mem_ptr(m, *(uint32_t *)(mpf + 4), 44);
	CHECK(!memcmp(hdr, "PCMP", 4));
	CHECK_EQ(x86_checksum(hdr, *(uint16_t *)(hdr + 4)), 0);
	for (uint8_t *e = hdr + 44; e < hdr + *(uint16_t *)(hdr + 4);
	     e += *e == 0 ? 20 : 8)
		cpus += *e == 0;
	CHECK_EQ(cpus, 2);
	CHECK_EQ(x86_build_mptable(m, 0), -EINVAL);
}

/* A minimal ELF "vmlinux": one PT_LOAD at 16 MiB. */
static size_t fake_elf(uint8_t *buf, uint64_t paddr, uint64_t filesz)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
	Elf64_Phdr *ph = (Elf64_Phdr *)(buf + sizeof(*eh));

	memset(buf, 0, 4096);
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_machine = EM_X86_64;
	eh->e_entry = paddr;
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 1;
	ph->p_type = PT_LOAD;
	ph->p_offset = 512;
	ph->p_paddr = paddr;
	ph->p_filesz = filesz;
	ph->p_memsz = filesz + 4096;
	memset(buf + 512, 0xcc, filesz);
	return 512 + filesz;
}

TEST(load_elf_kernel)
{
	struct guest_mem *m = ram();
	static uint8_t k[8192];
	struct boot_image img;
	char err[128];
	size_t len = fake_elf(k, 16 << 20, 1024);
	uint8_t *p;

	CHECK_EQ(boot_load_kernel(m, k, len, &img, err, sizeof(err)), 0);
	CHECK_EQ(img.kind, KERNEL_ELF);
	CHECK_EQ(img.entry, 16 << 20);
	CHECK_EQ(img.kernel_end, (16 << 20) + 1024 + 4096);
	p = guest_mem_ptr(m, 16 << 20, 1025);
	CHECK_EQ(p[0], 0xcc);
	CHECK_EQ(p[1024], 0);	/* bss zeroed */
}

TEST(reject_corrupt_kernels)
{
	struct guest_mem *m = ram();
	static uint8_t k[8192];
	struct boot_image img;
	char err[128];
	size_t len = fake_elf(k, 16 << 20, 1024);

	/* Truncated: the segment runs past the end of the file. */
	CHECK(boot_load_kernel(m, k, len - 100, &img, err, sizeof(err)) < 0);
	CHECK(strstr(err, "corrupt") != NULL);
	/* Segment outside guest RAM. */
	fake_elf(k, RAM, 1024);
	CHECK(boot_load_kernel(m, k, len, &img, err, sizeof(err)) < 0);
	/* Not a kernel at all. */
	memset(k, 0x41, sizeof(k));
	CHECK(boot_load_kernel(m, k, sizeof(k), &img, err, sizeof(err)) < 0);
	CHECK(strstr(err, "not a Linux kernel") != NULL);
	CHECK(boot_load_kernel(m, k, 3, &img, err, sizeof(err)) < 0);
}

/* Found by tests/fuzz/fuzz_boot.c: program headers at an odd offset
 * were read in place (a misaligned load; UBSan in the unit run says so),
 * and an empty segment anywhere moved the kernel's end with it (at 4 GiB
 * it passed the RAM check, being empty, and kernel_end became 4 GiB). */
TEST(elf_headers_anywhere_empty_segments_ignored)
{
	struct guest_mem *m = ram();
	static uint8_t k[8192];
	struct boot_image img;
	char err[128];
	size_t len = fake_elf(k, 16 << 20, 1024);
	Elf64_Ehdr eh;
	Elf64_Phdr ph[2];

	memcpy(&eh, k, sizeof(eh));
	memcpy(&ph[0], k + eh.e_phoff, sizeof(ph[0]));
	ph[1] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_paddr = 0x100000000ull };
	eh.e_phoff = 0x101;	/* odd: not aligned for a program header */
	eh.e_phnum = 2;
	memcpy(k, &eh, sizeof(eh));
	memcpy(k + 0x101, ph, sizeof(ph));
	CHECK_EQ(boot_load_kernel(m, k, len, &img, err, sizeof(err)), 0);
	CHECK_EQ(img.kernel_end, (16 << 20) + 1024 + 4096);
	CHECK_EQ(*(uint8_t *)guest_mem_ptr(m, 16 << 20, 1), 0xcc);
}

/* A bzImage: boot sector and setup header, then the protected-mode part. */
TEST(load_bzimage_and_params)
{
	struct guest_mem *m = ram();
	static uint8_t k[16384];
	struct boot_image img;
	struct setup_header *h = (struct setup_header *)(k + 0x1f1);
	struct e820_map map;
	struct boot_params *bp;
	char err[128];

	memset(k, 0, sizeof(k));
	h->setup_sects = 3;
	h->boot_flag = 0xaa55;
	h->header = 0x53726448;
	h->version = 0x20f;
	h->xloadflags = XLF_KERNEL_64;
	h->init_size = 1 << 20;
	k[0x201] = 0x6a;	/* header length */
	k[4 * 512] = 0x90;
	CHECK_EQ(boot_load_kernel(m, k, sizeof(k), &img, err, sizeof(err)), 0);
	CHECK_EQ(img.kind, KERNEL_BZIMAGE);
	CHECK_EQ(img.entry, 0x100200);
	CHECK_EQ(*(uint8_t *)guest_mem_ptr(m, 0x100000, 1), 0x90);
	img.initrd_addr = 0x3000000;
	img.initrd_size = 12345;
	x86_build_e820(m, 0x10000, &map);
	CHECK_EQ(boot_write_params(m, k, sizeof(k), &img, "console=ttyS0", &map), 0);
	bp = guest_mem_ptr(m, BOOT_PARAMS_ADDR, sizeof(*bp));
	CHECK_EQ(bp->hdr.version, 0x20f);
	CHECK_EQ(bp->hdr.type_of_loader, 0xff);
	CHECK_EQ(bp->hdr.ramdisk_image, 0x3000000);
	CHECK_EQ(bp->hdr.ramdisk_size, 12345);
	CHECK_EQ(bp->e820_entries, map.n);
	CHECK(!strcmp(guest_mem_ptr(m, bp->hdr.cmd_line_ptr, 14), "console=ttyS0"));
	/* No 64-bit entry: refused. */
	h->xloadflags = 0;
	CHECK(boot_load_kernel(m, k, sizeof(k), &img, err, sizeof(err)) < 0);
}
