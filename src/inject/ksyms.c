/* ksyms.c - kernel function addresses from the image's export tables or a
 * System.map (ksyms.h). */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inject/ksyms.h"

#define KSYM_ENTRY	12	/* value, name, namespace offsets */
#define KSYM_NAME_MAX	128

static int add(struct ksyms *k, uint64_t addr, const char *name, size_t len)
{
	if (k->n == k->cap) {
		size_t cap = k->cap ? 2 * k->cap : 1024;
		struct mutate_symbol *s = realloc(k->sym, cap * sizeof(*s));

		if (!s)
			return -ENOMEM;
		k->sym = s;
		k->cap = cap;
	}
	if (k->names_len + len + 1 > k->names_cap) {
		size_t cap = k->names_cap ? 2 * k->names_cap : 65536;
		char *p;

		while (cap < k->names_len + len + 1)
			cap *= 2;
		p = realloc(k->names, cap);
		if (!p)
			return -ENOMEM;
		k->names = p;
		k->names_cap = cap;
	}
	memcpy(k->names + k->names_len, name, len);
	k->names[k->names_len + len] = '\0';
	/* Names are offsets into the arena until ksyms_finish(): it moves. */
	k->sym[k->n].addr = addr;
	k->sym[k->n].name = (const char *)(uintptr_t)k->names_len;
	k->names_len += len + 1;
	k->n++;
	return 0;
}

/* ---- the image's export tables ---- */

struct elf_img {
	const uint8_t *p;
	size_t len;
	const Elf64_Shdr *sh;	/* a copy: the file may misalign them */
	unsigned int nsh;
	unsigned int shstrndx;
};

/* The bytes at virtual address va (n of them) in an allocated section. */
static const uint8_t *at_va(const struct elf_img *e, uint64_t va, size_t n)
{
	for (unsigned int i = 0; i < e->nsh; i++) {
		const Elf64_Shdr *s = &e->sh[i];

		if (s->sh_type == SHT_NOBITS || !(s->sh_flags & SHF_ALLOC) ||
		    va < s->sh_addr || va - s->sh_addr >= s->sh_size ||
		    s->sh_offset > e->len || s->sh_size > e->len - s->sh_offset)
			continue;
		if (n > s->sh_size - (va - s->sh_addr))
			n = s->sh_size - (va - s->sh_addr);
		return n ? e->p + s->sh_offset + (va - s->sh_addr) : NULL;
	}
	return NULL;
}

static const Elf64_Shdr *section(const struct elf_img *e, const char *name)
{
	const Elf64_Shdr *str;

	if (e->shstrndx >= e->nsh)
		return NULL;
	str = &e->sh[e->shstrndx];
	if (str->sh_offset > e->len || str->sh_size > e->len - str->sh_offset)
		return NULL;
	for (unsigned int i = 0; i < e->nsh; i++) {
		uint32_t o = e->sh[i].sh_name;
		size_t n = strlen(name);

		if (o < str->sh_size && str->sh_size - o > n &&
		    !memcmp(e->p + str->sh_offset + o, name, n + 1))
			return &e->sh[i];
	}
	return NULL;
}

static int32_t rd32(const uint8_t *p)
{
	int32_t v;

	memcpy(&v, p, 4);
	return v;
}

static long add_table(struct ksyms *k, const struct elf_img *e,
		      const Elf64_Shdr *s)
{
	long added = 0;

	if (s->sh_offset > e->len || s->sh_size > e->len - s->sh_offset)
		return -ENOEXEC;
	for (uint64_t off = 0; off + KSYM_ENTRY <= s->sh_size; off += KSYM_ENTRY) {
		const uint8_t *ent = e->p + s->sh_offset + off;
		uint64_t va = s->sh_addr + off;
		uint64_t value = va + (uint64_t)(int64_t)rd32(ent);
		uint64_t name = va + 4 + (uint64_t)(int64_t)rd32(ent + 4);
		const uint8_t *str = at_va(e, name, KSYM_NAME_MAX);
		const uint8_t *end;
		int err;

		if (!str)
			continue;
		end = memchr(str, '\0', (size_t)(e->p + e->len - str) <
				  KSYM_NAME_MAX ? (size_t)(e->p + e->len - str)
						: KSYM_NAME_MAX);
		if (!end || end == str)
			continue;
		err = add(k, value, (const char *)str, (size_t)(end - str));
		if (err)
			return err;
		added++;
	}
	return added;
}

/* Both export tables of e, whose section headers are in hand. */
static long add_tables(struct ksyms *k, const struct elf_img *e)
{
	static const char *const tables[] = { "__ksymtab", "__ksymtab_gpl" };
	long total = 0;
	bool found = false;

	for (size_t t = 0; t < 2; t++) {
		const Elf64_Shdr *s = section(e, tables[t]);
		long r;

		if (!s)
			continue;
		found = true;
		r = add_table(k, e, s);
		if (r < 0)
			return r;
		total += r;
	}
	return found ? total : -ENOENT;
}

long ksyms_parse_vmlinux(struct ksyms *k, const uint8_t *img, size_t len)
{
	struct elf_img e = { img, len, NULL, 0, 0 };
	Elf64_Shdr *sh;
	Elf64_Ehdr h;
	long r;

	/* Headers copied out: the file may place them at any offset. */
	if (len < sizeof(h))
		return -ENOEXEC;
	memcpy(&h, img, sizeof(h));
	if (memcmp(h.e_ident, ELFMAG, SELFMAG) ||
	    h.e_ident[EI_CLASS] != ELFCLASS64 ||
	    h.e_shentsize != sizeof(Elf64_Shdr) || h.e_shoff > len ||
	    (uint64_t)h.e_shnum * sizeof(Elf64_Shdr) > len - h.e_shoff)
		return -ENOEXEC;
	sh = malloc(h.e_shnum ? h.e_shnum * sizeof(*sh) : 1);
	if (!sh)
		return -ENOMEM;
	memcpy(sh, img + h.e_shoff, h.e_shnum * sizeof(*sh));
	e.sh = sh;
	e.nsh = h.e_shnum;
	e.shstrndx = h.e_shstrndx;
	r = add_tables(k, &e);
	free(sh);
	return r;
}

long ksyms_load_vmlinux(struct ksyms *k, const char *path)
{
	struct stat st;
	void *p;
	long r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || st.st_size <= 0) {
		r = fstat(fd, &st) ? -errno : -ENOEXEC;
		close(fd);
		return r;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -errno;
	r = ksyms_parse_vmlinux(k, p, (size_t)st.st_size);
	munmap(p, (size_t)st.st_size);
	return r;
}

/* ---- System.map ---- */

static bool is_text(char type)
{
	return type == 't' || type == 'T' || type == 'w' || type == 'W';
}

/* One "ADDR TYPE NAME" line; 1 when it was a text symbol added. */
static int map_line(struct ksyms *k, const char *s, size_t len)
{
	char buf[KSYM_NAME_MAX + 40], type, name[KSYM_NAME_MAX];
	unsigned long long addr;

	if (len >= sizeof(buf))
		return 0;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (sscanf(buf, "%llx %c %127s", &addr, &type, name) != 3 ||
	    !is_text(type) || addr == ~0ull)
		return 0;
	return add(k, addr, name, strlen(name)) ? -ENOMEM : 1;
}

long ksyms_parse_system_map(struct ksyms *k, const char *text, size_t len)
{
	long added = 0;

	for (size_t off = 0; off < len;) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (text + off)) : len - off;
		int r = map_line(k, text + off, n);

		if (r < 0)
			return r;
		added += r;
		off += n + 1;
	}
	return added;
}

long ksyms_load_system_map(struct ksyms *k, const char *path)
{
	struct stat st;
	char *buf;
	long r;
	ssize_t got;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		r = -errno;
		close(fd);
		return r;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	got = read(fd, buf, (size_t)st.st_size);
	r = got < 0 ? -errno : ksyms_parse_system_map(k, buf, (size_t)got);
	free(buf);
	close(fd);
	return r;
}

/* ---- lookup ---- */

static int cmp_sym(const void *a, const void *b)
{
	const struct mutate_symbol *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return strcmp(x->name, y->name);
}

void ksyms_finish(struct ksyms *k)
{
	size_t m = 0;

	for (size_t i = 0; i < k->n; i++)
		k->sym[i].name = k->names + (uintptr_t)k->sym[i].name;
	if (k->n)
		qsort(k->sym, k->n, sizeof(*k->sym), cmp_sym);
	for (size_t i = 0; i < k->n; i++)
		if (!m || cmp_sym(&k->sym[i], &k->sym[m - 1]))
			k->sym[m++] = k->sym[i];
	k->n = m;
	/* Finished: the arena is fixed (no more loads). */
	k->names_cap = k->names_len;
}

const char *ksyms_name(const struct ksyms *k, uint64_t addr)
{
	size_t lo = 0, hi = k->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (k->sym[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < k->n && k->sym[lo].addr == addr ? k->sym[lo].name : NULL;
}

void ksyms_free(struct ksyms *k)
{
	free(k->sym);
	free(k->names);
	memset(k, 0, sizeof(*k));
}
