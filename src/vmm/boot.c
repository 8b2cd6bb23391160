/* boot.c - kernel, initramfs and zero page for the Linux 64-bit boot
 * protocol (Documentation/x86/boot.rst): enter long mode at the kernel's
 * 64-bit entry with RSI pointing at struct boot_params. */
#include <asm/bootparam.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/boot.h"
#include "vmm/errmsg.h"

#define HDRS_MAGIC	0x53726448u	/* "HdrS" */
#define BZ_LOAD_ADDR	0x100000ull

static int read_file(const char *path, uint8_t **buf, size_t *len,
		     char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	ssize_t got = 0;

	if (fd < 0)
		return errmsg(err, errlen, -errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return errmsg(err, errlen, -EINVAL, "%s: not a regular file", path);
	}
	*buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!*buf) {
		close(fd);
		return errmsg(err, errlen, -ENOMEM, "%s: out of memory", path);
	}
	while ((off_t)got < st.st_size) {
		ssize_t r = read(fd, *buf + got, (size_t)(st.st_size - got));

		if (r <= 0) {
			int e = r < 0 ? errno : EIO;

			close(fd);
			free(*buf);
			return errmsg(err, errlen, -e, "%s: read: %s", path, strerror(e));
		}
		got += r;
	}
	close(fd);
	*len = (size_t)got;
	return 0;
}

static int load_elf(struct guest_mem *m, const uint8_t *buf, size_t len,
		    struct boot_image *img, char *err, size_t errlen)
{
	Elf64_Ehdr eh;
	int loaded = 0;

	/* Headers are copied out: a file may place them at any offset, and
	 * the buffer need not be aligned for them. */
	if (len < sizeof(eh))
		return errmsg(err, errlen, -ENOEXEC, "not a 64-bit x86 ELF kernel");
	memcpy(&eh, buf, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_machine != EM_X86_64 || eh.e_phentsize != sizeof(Elf64_Phdr) ||
	    eh.e_phoff > len ||
	    (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > len - eh.e_phoff)
		return errmsg(err, errlen, -ENOEXEC, "not a 64-bit x86 ELF kernel");
	img->kernel_end = 0;
	for (int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		uint8_t *dst;

		memcpy(&ph, buf + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		/* An empty segment occupies nothing: it neither needs RAM
		 * nor moves the kernel's end. */
		if (ph.p_type != PT_LOAD || !ph.p_memsz)
			continue;
		if (ph.p_filesz > ph.p_memsz || ph.p_offset > len ||
		    ph.p_filesz > len - ph.p_offset)
			return errmsg(err, errlen, -ENOEXEC,
				    "corrupt ELF kernel: segment %d runs past the file", i);
		dst = guest_mem_ptr(m, ph.p_paddr, ph.p_memsz);
		if (!dst)
			return errmsg(err, errlen, -E2BIG,
				    "ELF kernel segment at 0x%llx does not fit in guest RAM",
				    (unsigned long long)ph.p_paddr);
		memcpy(dst, buf + ph.p_offset, ph.p_filesz);
		memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
		if (ph.p_paddr + ph.p_memsz > img->kernel_end)
			img->kernel_end = ph.p_paddr + ph.p_memsz;
		loaded++;
	}
	if (!loaded)
		return errmsg(err, errlen, -ENOEXEC, "ELF kernel has no loadable segment");
	/* vmlinux's e_entry is phys_startup_64, the 64-bit entry. */
	img->kind = KERNEL_ELF;
	img->entry = eh.e_entry;
	if (!guest_mem_ptr(m, img->entry, 1))
		return errmsg(err, errlen, -ENOEXEC, "ELF kernel entry outside RAM");
	return 0;
}

static int load_bzimage(struct guest_mem *m, const uint8_t *buf, size_t len,
			struct boot_image *img, char *err, size_t errlen)
{
	const struct setup_header *h = (const void *)(buf + 0x1f1);
	size_t setup = ((size_t)(h->setup_sects ? h->setup_sects : 4) + 1) * 512;
	uint64_t need;
	uint8_t *dst;

	if (h->version < 0x20c || !(h->xloadflags & XLF_KERNEL_64))
		return errmsg(err, errlen, -ENOEXEC,
			    "bzImage has no 64-bit entry (boot protocol %x)", h->version);
	if (setup >= len)
		return errmsg(err, errlen, -ENOEXEC, "corrupt bzImage: setup runs past the file");
	need = len - setup;
	if (h->init_size > need)
		need = h->init_size;
	dst = guest_mem_ptr(m, BZ_LOAD_ADDR, need);
	if (!dst)
		return errmsg(err, errlen, -E2BIG, "bzImage needs %llu MiB: not enough guest RAM",
			    (unsigned long long)(need >> 20));
	memcpy(dst, buf + setup, len - setup);
	img->kind = KERNEL_BZIMAGE;
	img->entry = BZ_LOAD_ADDR + 0x200;	/* startup_64 */
	img->kernel_end = BZ_LOAD_ADDR + need;
	return 0;
}

int boot_load_kernel(struct guest_mem *m, const uint8_t *buf, size_t len,
		     struct boot_image *img, char *err, size_t errlen)
{
	uint32_t hdrs = 0;

	if (len >= 4 && !memcmp(buf, ELFMAG, SELFMAG))
		return load_elf(m, buf, len, img, err, errlen);
	if (len >= 0x260)
		memcpy(&hdrs, buf + 0x202, sizeof(hdrs));	/* unaligned */
	if (len >= 0x260 && hdrs == HDRS_MAGIC &&
	    buf[0x1fe] == 0x55 && buf[0x1ff] == 0xaa)
		return load_bzimage(m, buf, len, img, err, errlen);
	return errmsg(err, errlen, -ENOEXEC,
		    "not a Linux kernel (neither an ELF vmlinux nor a bzImage)");
}

int boot_write_params(struct guest_mem *m, const uint8_t *kernel,
		      size_t kernel_len, const struct boot_image *img,
		      const char *cmdline, const struct e820_map *map)
{
	struct boot_params *bp = guest_mem_ptr(m, BOOT_PARAMS_ADDR, sizeof(*bp));
	size_t cl = strlen(cmdline) + 1;
	char *cmd = guest_mem_ptr(m, BOOT_CMDLINE_ADDR, cl);

	if (!bp || !cmd || cl > BOOT_CMDLINE_MAX || map->n > E820_MAX_ENTRIES_ZEROPAGE)
		return -EINVAL;
	memset(bp, 0, sizeof(*bp));
	/* A bzImage's own header carries fields the kernel reads back. */
	if (img->kind == KERNEL_BZIMAGE) {
		size_t hl = 0x202 + kernel[0x201] - 0x1f1;

		if (0x1f1 + hl > kernel_len || hl > sizeof(bp->hdr))
			return -EINVAL;
		memcpy(&bp->hdr, kernel + 0x1f1, hl);
	} else {
		bp->hdr.boot_flag = 0xaa55;
		bp->hdr.header = HDRS_MAGIC;
		bp->hdr.version = 0x20f;
		bp->hdr.kernel_alignment = 0x1000000;
	}
	memcpy(cmd, cmdline, cl);
	bp->hdr.type_of_loader = 0xff;
	bp->hdr.loadflags |= LOADED_HIGH | CAN_USE_HEAP;
	bp->hdr.heap_end_ptr = 0xfe00;
	bp->hdr.cmd_line_ptr = (uint32_t)BOOT_CMDLINE_ADDR;
	bp->hdr.cmdline_size = (uint32_t)cl;
	bp->hdr.ramdisk_image = (uint32_t)img->initrd_addr;
	bp->hdr.ramdisk_size = (uint32_t)img->initrd_size;
	bp->ext_ramdisk_image = (uint32_t)(img->initrd_addr >> 32);
	bp->ext_ramdisk_size = (uint32_t)(img->initrd_size >> 32);
	for (int i = 0; i < map->n; i++) {
		bp->e820_table[i].addr = map->e[i].addr;
		bp->e820_table[i].size = map->e[i].size;
		bp->e820_table[i].type = map->e[i].type;
	}
	bp->e820_entries = (uint8_t)map->n;
	return 0;
}

/* The initramfs goes as high in low RAM as the kernel allows, clear of
 * the reserved top, page-aligned; the appended archive follows it on a
 * 4-byte boundary (Linux unpacks concatenated archives). */
static int load_initrd(struct guest_mem *m, const struct boot_config *cfg,
		       struct boot_image *img, char *err, size_t errlen)
{
	uint8_t *buf = NULL;
	size_t len = 0, total;
	uint64_t top = m->low_size - cfg->reserve_top, addr;
	uint8_t *dst;
	int r;

	if (cfg->initrd) {
		r = read_file(cfg->initrd, &buf, &len, err, errlen);
		if (r)
			return r;
	}
	total = ((len + 3) & ~(size_t)3) + cfg->extra_len;
	if (!total) {
		img->initrd_addr = img->initrd_size = 0;
		return 0;
	}
	addr = (top - total) & ~0xfffull;
	dst = total < top ? guest_mem_ptr(m, addr, total) : NULL;
	if (!dst || addr < img->kernel_end) {
		free(buf);
		return errmsg(err, errlen, -E2BIG,
			    "initramfs (%zu KiB) does not fit in guest RAM beside the kernel",
			    total >> 10);
	}
	memset(dst, 0, total);
	if (len)
		memcpy(dst, buf, len);
	if (cfg->extra_len)
		memcpy(dst + ((len + 3) & ~(size_t)3), cfg->extra, cfg->extra_len);
	free(buf);
	img->initrd_addr = addr;
	img->initrd_size = total;
	return 0;
}

int boot_load(struct guest_mem *m, const struct boot_config *cfg,
	      struct boot_image *img, char *err, size_t errlen)
{
	uint8_t *kernel;
	size_t klen;
	struct e820_map map;
	int r;

	r = read_file(cfg->kernel, &kernel, &klen, err, errlen);
	if (r)
		return r;
	r = boot_load_kernel(m, kernel, klen, img, err, errlen);
	if (!r)
		r = load_initrd(m, cfg, img, err, errlen);
	if (!r && x86_build_e820(m, cfg->reserve_top, &map))
		r = errmsg(err, errlen, -EINVAL, "guest RAM too small for the memory map");
	if (!r && boot_write_params(m, kernel, klen, img, cfg->cmdline, &map))
		r = errmsg(err, errlen, -EINVAL, "kernel command line too long");
	if (!r && (x86_build_page_tables(m) || x86_build_gdt(m)))
		r = errmsg(err, errlen, -EFAULT, "guest RAM too small for boot tables");
	free(kernel);
	return r;
}
