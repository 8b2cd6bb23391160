/* Unit tests for the injector (src/inject/inject.c, ksyms.c) without KVM:
 * --inject parsing, kernel symbols from an export table and a System.map,
 * module text read and written page by page through a fake guest (pages
 * out of order in guest RAM), the mutation written with its breakpoint,
 * the breakpoint's exit putting the bytes back, and the report. */
#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "inject/inject.h"
#include "inject/ksyms.h"
#include "test.h"

#define TEXT	0xffffffffc0001000ull
#define RAM	0x10000u

/* A fake guest: TEXT's two pages live at 0x5000 and 0x2000 (backwards). */
struct fake {
	uint8_t ram[RAM];
	struct guest_mem mem;
	struct inject_guest g;
	unsigned int walks;
};

static int fake_walk(void *opaque, uint64_t cr3, uint64_t gva, uint64_t *gpa)
{
	struct fake *f = opaque;
	static const uint64_t page[] = { 0x5000, 0x2000 };
	uint64_t i = (gva - TEXT) >> 12;

	f->walks++;
	if (cr3 != 0x1000 || gva < TEXT || i >= 2)
		return -ENOENT;
	*gpa = page[i] | (gva & 0xfff);
	return 0;
}

static void fake_init(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	guest_mem_wrap(&f->mem, f->ram, RAM);
	f->g = (struct inject_guest){ &f->mem, fake_walk, f, 0x1000 };
}

/* Guest byte at TEXT + off. */
static uint8_t *text_byte(struct fake *f, size_t off)
{
	return f->ram + (off < 4096 ? 0x5000 : 0x2000) + (off & 0xfff);
}

/* int3 padding, a je straddling the two pages at 4095, a ret. */
static void put_code(struct fake *f)
{
	for (size_t i = 0; i < 8192; i++)
		*text_byte(f, i) = i < 4095 ? 0xcc : 0;
	*text_byte(f, 4095) = 0x74;	/* je +5 */
	*text_byte(f, 4096) = 0x05;
	*text_byte(f, 4097) = 0xc3;
}

static struct inject_spec spec(const char *mod, enum fault_type t,
			       uint64_t seed)
{
	struct inject_spec s = { .type = t, .seed = seed };

	snprintf(s.module, sizeof(s.module), "%s", mod);
	return s;
}

TEST(inject_parse)
{
	struct inject_spec s;
	char err[640];

	CHECK_EQ(inject_parse("brd:branch-invert:1", &s, err, sizeof(err)), 0);
	CHECK(!strcmp(s.module, "brd"));
	CHECK_EQ(s.type, FAULT_BRANCH_INVERT);
	CHECK_EQ(s.seed, 1);
	CHECK_EQ(inject_parse("virtio-blk:alloc:0x10", &s, err, sizeof(err)), 0);
	CHECK(!strcmp(s.module, "virtio_blk"));
	CHECK_EQ(s.type, FAULT_ALLOC);
	CHECK_EQ(s.seed, 16);
	CHECK_EQ(inject_parse("brd:text-flip:18446744073709551615", &s, err,
			      sizeof(err)), 0);
	CHECK(s.seed == UINT64_MAX);
	CHECK_EQ(inject_parse("brd:no-such:1", &s, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "unknown fault type 'no-such'") != NULL);
	CHECK(strstr(err, "branch-invert") != NULL);	/* the list */
	CHECK_EQ(inject_parse("brd:branch-invert", &s, err, sizeof(err)), -EINVAL);
	CHECK_EQ(inject_parse("brd:branch-invert:1:2", &s, err, sizeof(err)), -EINVAL);
	CHECK_EQ(inject_parse(":branch-invert:1", &s, err, sizeof(err)), -EINVAL);
	CHECK_EQ(inject_parse("b/d:branch-invert:1", &s, err, sizeof(err)), -EINVAL);
	CHECK_EQ(inject_parse("brd:branch-invert:", &s, err, sizeof(err)), -EINVAL);
	CHECK_EQ(inject_parse("brd:branch-invert:-1", &s, err, sizeof(err)), -EINVAL);
	CHECK_EQ(inject_parse("brd:branch-invert:1x", &s, err, sizeof(err)), -EINVAL);
	CHECK_EQ(inject_parse("brd:branch-invert:99999999999999999999", &s, err,
			      sizeof(err)), -EINVAL);
}

/* --sites files: sorted, duplicates dropped, comments and blank lines
 * skipped; a bad line, an empty file and a missing one refused. */
TEST(inject_read_sites)
{
	char path[] = "/tmp/chariot-sites-test.XXXXXX", err[256];
	int fd = mkstemp(path);
	uint32_t *v = NULL;
	FILE *f;

	if (fd < 0 || !(f = fdopen(fd, "w")))
		return;
	fputs("# ran\n20\n0x10\n\n  5 \n20\n", f);
	fclose(f);
	CHECK_EQ(inject_read_sites(path, &v, err, sizeof(err)), 3);
	CHECK(v && v[0] == 5 && v[1] == 16 && v[2] == 20);
	free(v);
	f = fopen(path, "w");
	fputs("7\nseven\n", f);
	fclose(f);
	CHECK_EQ(inject_read_sites(path, &v, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, ":2:") != NULL);
	f = fopen(path, "w");
	fputs("-1\n", f);
	fclose(f);
	CHECK_EQ(inject_read_sites(path, &v, err, sizeof(err)), -EINVAL);
	f = fopen(path, "w");
	fputs("# nothing ran\n", f);
	fclose(f);
	CHECK_EQ(inject_read_sites(path, &v, err, sizeof(err)), -ENOENT);
	unlink(path);
	CHECK_EQ(inject_read_sites(path, &v, err, sizeof(err)), -ENOENT);
	CHECK(v == NULL);
}

TEST(ksyms_system_map)
{
	static const char map[] =
		"ffffffffffffffff B The real System.map is in the linux-image-<version>-dbg package\n"
		"ffffffff81200100 T kfree\n"
		"ffffffff81200000 T __kmalloc\n"
		"ffffffff82000000 D some_data\n"
		"ffffffff81200200 t local_fn\n"
		"ffffffff81200000 W __kmalloc\n"
		"garbage\n"
		"ffffffff81200300 W weak_fn";
	struct ksyms k = { 0 };

	CHECK_EQ(ksyms_parse_system_map(&k, map, strlen(map)), 5);
	ksyms_finish(&k);
	CHECK_EQ(k.n, 4);	/* the duplicate __kmalloc dropped */
	for (size_t i = 1; i < k.n; i++)
		CHECK(k.sym[i - 1].addr <= k.sym[i].addr);
	CHECK(!strcmp(ksyms_name(&k, 0xffffffff81200000ull), "__kmalloc"));
	CHECK(!strcmp(ksyms_name(&k, 0xffffffff81200100ull), "kfree"));
	CHECK(!strcmp(ksyms_name(&k, 0xffffffff81200300ull), "weak_fn"));
	CHECK(ksyms_name(&k, 0xffffffff82000000ull) == NULL);
	CHECK(ksyms_name(&k, 0xffffffff81200101ull) == NULL);
	ksyms_free(&k);
}

/* A little ELF64 with __ksymtab (two entries) and __ksymtab_strings. */
#define TAB_VA	0xffffffff82462390ull
#define STR_VA	0xffffffff8248b400ull

struct mini_elf {
	Elf64_Ehdr h;
	uint8_t shstr[64];
	int32_t tab[6];
	char str[32];
	Elf64_Shdr sh[4];
};

static void put_entry(struct mini_elf *e, int i, uint64_t value, uint64_t name)
{
	uint64_t va = TAB_VA + 12u * (unsigned int)i;

	e->tab[3 * i] = (int32_t)(value - va);
	e->tab[3 * i + 1] = (int32_t)(name - (va + 4));
	e->tab[3 * i + 2] = 0;
}

static void mini_elf(struct mini_elf *e)
{
	static const char names[] = "\0.shstrtab\0__ksymtab\0__ksymtab_strings";

	memset(e, 0, sizeof(*e));
	memcpy(e->h.e_ident, ELFMAG, SELFMAG);
	e->h.e_ident[EI_CLASS] = ELFCLASS64;
	e->h.e_shoff = offsetof(struct mini_elf, sh);
	e->h.e_shentsize = sizeof(Elf64_Shdr);
	e->h.e_shnum = 4;
	e->h.e_shstrndx = 1;
	memcpy(e->shstr, names, sizeof(names));
	memcpy(e->str, "mutex_lock\0kfree", 17);
	put_entry(e, 0, 0xffffffff81a55130ull, STR_VA);
	put_entry(e, 1, 0xffffffff812b8f60ull, STR_VA + 11);
	e->sh[1] = (Elf64_Shdr){ .sh_name = 1, .sh_type = SHT_STRTAB,
		.sh_offset = offsetof(struct mini_elf, shstr),
		.sh_size = sizeof(names) };
	e->sh[2] = (Elf64_Shdr){ .sh_name = 11, .sh_type = SHT_PROGBITS,
		.sh_flags = SHF_ALLOC, .sh_addr = TAB_VA,
		.sh_offset = offsetof(struct mini_elf, tab),
		.sh_size = sizeof(e->tab) };
	e->sh[3] = (Elf64_Shdr){ .sh_name = 21, .sh_type = SHT_PROGBITS,
		.sh_flags = SHF_ALLOC, .sh_addr = STR_VA,
		.sh_offset = offsetof(struct mini_elf, str),
		.sh_size = sizeof(e->str) };
}

TEST(ksyms_export_table)
{
	struct mini_elf e;
	struct ksyms k = { 0 };
	uint8_t junk[64] = { 0x1f, 0x8b };

	mini_elf(&e);
	CHECK_EQ(ksyms_parse_vmlinux(&k, (const uint8_t *)&e, sizeof(e)), 2);
	ksyms_finish(&k);
	CHECK_EQ(k.n, 2);
	CHECK(!strcmp(ksyms_name(&k, 0xffffffff81a55130ull), "mutex_lock"));
	CHECK(!strcmp(ksyms_name(&k, 0xffffffff812b8f60ull), "kfree"));
	ksyms_free(&k);

	CHECK_EQ(ksyms_parse_vmlinux(&k, junk, sizeof(junk)), -ENOEXEC);
	e.sh[2].sh_name = 1;	/* no __ksymtab any more */
	CHECK_EQ(ksyms_parse_vmlinux(&k, (const uint8_t *)&e, sizeof(e)), -ENOENT);
	e.sh[2].sh_name = 11;
	e.sh[2].sh_size = 1u << 30;	/* past the file */
	CHECK_EQ(ksyms_parse_vmlinux(&k, (const uint8_t *)&e, sizeof(e)), -ENOEXEC);
	ksyms_free(&k);
	CHECK_EQ(ksyms_load_vmlinux(&k, "/nonexistent/vmlinux"), -ENOENT);
}

/* Found by tests/fuzz/fuzz_ksyms.c: the section headers were read in
 * place, a misaligned load when the image (or its e_shoff) is not 8-byte
 * aligned; the UBSan run of the unit tests said so.  Now copied out. */
TEST(ksyms_export_table_anywhere)
{
	static uint8_t buf[sizeof(struct mini_elf) + 1];
	struct mini_elf e;
	struct ksyms k = { 0 };

	mini_elf(&e);
	memcpy(buf + 1, &e, sizeof(e));
	CHECK_EQ(ksyms_parse_vmlinux(&k, buf + 1, sizeof(e)), 2);
	ksyms_finish(&k);
	CHECK(!strcmp(ksyms_name(&k, 0xffffffff812b8f60ull), "kfree"));
	ksyms_free(&k);
}

TEST(inject_read_write_pages)
{
	struct fake *f = calloc(1, sizeof(*f));
	uint8_t buf[300], back[300];

	fake_init(f);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)i;
	/* Across the boundary: the tail of page 0 and the head of page 1. */
	CHECK_EQ(inject_write(&f->g, TEXT + 4096 - 100, buf, sizeof(buf)), 0);
	CHECK_EQ(*text_byte(f, 4095), 99);
	CHECK_EQ(f->ram[0x5000 + 4095], 99);
	CHECK_EQ(f->ram[0x2000], 100);
	CHECK_EQ(inject_read(&f->g, TEXT + 4096 - 100, back, sizeof(back)), 0);
	CHECK(!memcmp(buf, back, sizeof(buf)));
	CHECK_EQ(f->walks, 4);	/* one walk per page, each way */
	CHECK_EQ(inject_read(&f->g, TEXT + 8192 - 10, back, 20), -ENOENT);
	f->g.cr3 = 0x2000;	/* another address space: nothing mapped */
	CHECK_EQ(inject_read(&f->g, TEXT, back, 1), -ENOENT);
	free(f);
}

static void load(struct injector *inj, struct fake *f, enum inject_break brk,
		 enum fault_type t, int *failed)
{
	struct inject_spec s = spec("brd", t, 0);

	CHECK_EQ(inject_init(inj, &s, brk, "/nonexistent/vmlinux", NULL), 0);
	CHECK(inj->nsyms_vmlinux < 0);
	inject_module_loaded(inj, &f->g, TEXT, 8192);
}

TEST(inject_applies_with_port_breakpoint)
{
	struct fake *f = calloc(1, sizeof(*f));
	struct injector inj;
	struct kvm_run run;

	fake_init(f);
	put_code(f);
	load(&inj, f, INJECT_BREAK_PORT, FAULT_BRANCH_INVERT, failed);
	CHECK(inj.applied);
	CHECK_EQ(inj.m.addr, TEXT + 4095);
	CHECK_EQ(inj.m.nsites, 1);
	CHECK_EQ(inj.nbp, 1);
	CHECK_EQ(inj.bp[0], TEXT + 4095);
	/* out %al, $0xe4 over je's two bytes, across the page boundary. */
	CHECK_EQ(*text_byte(f, 4095), 0xe6);
	CHECK_EQ(*text_byte(f, 4096), INJECT_PORT);
	CHECK_EQ(*text_byte(f, 4097), 0xc3);
	CHECK(inject_port(&inj, INJECT_PORT));
	CHECK(!inject_port(&inj, INJECT_PORT + INJECT_MAX_BPS));
	CHECK(!inject_port(NULL, INJECT_PORT));

	/* The exit: activated, the mutated bytes back (no vCPU to rerun). */
	memset(&run, 0, sizeof(run));
	run.io.port = INJECT_PORT;
	CHECK(inject_port_exit(&inj, 1, -1, &run) < 0);
	CHECK(inj.activated);
	CHECK_EQ(inj.activated_vcpu, 1);
	CHECK_EQ(inj.activated_rip, TEXT + 4095);
	CHECK_EQ(*text_byte(f, 4095), 0x75);	/* jne */
	CHECK_EQ(*text_byte(f, 4096), 0x05);
	/* Another vCPU arriving late finds the bytes back already. */
	CHECK(inject_port_exit(&inj, 0, -1, &run) < 0);
	CHECK_EQ(inj.activated_vcpu, 1);
	CHECK_EQ(*text_byte(f, 4095), 0x75);
	/* A second load of the module is left alone. */
	put_code(f);
	inject_module_loaded(&inj, &f->g, TEXT, 8192);
	CHECK_EQ(*text_byte(f, 4095), 0x74);
	inject_destroy(&inj);
	free(f);
}

TEST(inject_applies_with_hw_breakpoint)
{
	struct fake *f = calloc(1, sizeof(*f));
	struct injector inj;
	struct kvm_run run;

	fake_init(f);
	put_code(f);
	load(&inj, f, INJECT_BREAK_HW, FAULT_BRANCH_INVERT, failed);
	CHECK(inj.applied);
	CHECK_EQ(*text_byte(f, 4095), 0x75);	/* only the mutation */
	CHECK_EQ(*text_byte(f, 4096), 0x05);
	CHECK(!inject_port(&inj, INJECT_PORT));
	CHECK(inj.gen > 0);	/* the vCPUs load the breakpoint */
	memset(&run, 0, sizeof(run));
	run.debug.arch.exception = 1;
	run.debug.arch.pc = TEXT + 4095;
	CHECK_EQ(inject_debug_exit(&inj, 0, -1, &run), 0);
	CHECK(inj.activated);
	inject_destroy(&inj);
	free(f);
}

/* A patch inside an instruction (je rel32 -> jne: its second opcode
 * byte): the breakpoint is at the instruction's start, never inside. */
TEST(inject_breakpoint_at_instruction_start)
{
	struct fake *f = calloc(1, sizeof(*f));
	static const uint8_t code[] = {
		0xcc, 0xcc,
		0x0f, 0x84, 0x10, 0x00, 0x00, 0x00,	/* je rel32 */
		0xc3,
	};
	struct injector inj;
	struct kvm_run run;
	struct inject_spec s = spec("brd", FAULT_BRANCH_INVERT, 0);

	fake_init(f);
	memcpy(text_byte(f, 0), code, sizeof(code));
	CHECK_EQ(inject_init(&inj, &s, INJECT_BREAK_PORT, "/nonexistent", NULL), 0);
	inject_module_loaded(&inj, &f->g, TEXT, 4096);
	CHECK(inj.applied);
	CHECK_EQ(inj.m.patch[0].off, 3);
	CHECK_EQ(inj.nbp, 1);
	CHECK_EQ(inj.bp[0], TEXT + 2);
	CHECK_EQ(*text_byte(f, 2), 0xe6);
	CHECK_EQ(*text_byte(f, 3), INJECT_PORT);
	CHECK_EQ(*text_byte(f, 4), 0x10);
	memset(&run, 0, sizeof(run));
	run.io.port = INJECT_PORT;
	inject_port_exit(&inj, 0, -1, &run);
	CHECK(inj.activated);
	CHECK_EQ(*text_byte(f, 2), 0x0f);
	CHECK_EQ(*text_byte(f, 3), 0x85);	/* jne rel32 */
	inject_destroy(&inj);
	free(f);
}

/* Load code into f's module text with the instruction at site (of the
 * insn-delete sites) deleted, breakpoints through the port.  false when
 * the injector could not be made (nothing to destroy). */
static bool delete_site(struct fake *f, struct injector *inj,
			const uint8_t *code, size_t len, unsigned int site)
{
	struct mutate_input in = { .code = code, .len = len, .base = TEXT };
	struct inject_spec s = spec("brd", FAULT_INSN_DELETE, 0);
	struct mutation m;

	while (!mutate_pick(&in, FAULT_INSN_DELETE, s.seed, &m) &&
	       m.site != site)
		s.seed++;
	fake_init(f);
	memcpy(text_byte(f, 0), code, len);
	if (inject_init(inj, &s, INJECT_BREAK_PORT, "/nonexistent", NULL))
		return false;
	inject_module_loaded(inj, &f->g, TEXT, 4096);
	return true;
}

/* A one-byte instruction whose next byte a branch targets takes no OUT:
 * the mutation is made, its activation cannot be told. */
TEST(inject_port_breakpoint_left_out)
{
	struct fake *f = calloc(1, sizeof(*f));
	static const uint8_t code[] = {
		0x74, 0x01,	/* je +1: to the ret after the push */
		0x53,		/* push rbx: deleted (one byte) */
		0xc3,
	};
	struct injector inj;

	if (!delete_site(f, &inj, code, sizeof(code), 1)) {	/* je, push, ret */
		CHECK(false);
		free(f);
		return;
	}
	CHECK(inj.applied);
	CHECK_EQ(inj.m.addr, TEXT + 2);
	CHECK_EQ(*text_byte(f, 2), 0x90);	/* nop, no OUT */
	CHECK_EQ(*text_byte(f, 3), 0xc3);
	CHECK(inj.bp_host[0][0] == NULL);
	inject_destroy(&inj);
	free(f);
}

/* Nor one before a call out of the module: the OUT's second byte would be
 * the call's first, and the kernel checks a static call's bytes when the
 * module comes in. */
TEST(inject_port_breakpoint_not_over_a_call_out)
{
	struct fake *f = calloc(1, sizeof(*f));
	static const uint8_t code[] = {
		0x53,				/* push rbx: deleted */
		0xe8, 0x00, 0x00, 0x00, 0x01,	/* call out (a static call?) */
		0xc3,
	};
	struct injector inj;

	if (!delete_site(f, &inj, code, sizeof(code), 0)) {
		CHECK(false);
		free(f);
		return;
	}
	CHECK(inj.applied);
	CHECK_EQ(inj.m.addr, TEXT);
	CHECK_EQ(*text_byte(f, 0), 0x90);
	CHECK_EQ(*text_byte(f, 1), 0xe8);
	CHECK(inj.bp_host[0][0] == NULL);
	inject_destroy(&inj);
	free(f);
}

static void report(struct injector *inj, char *buf, size_t len)
{
	FILE *fp = fmemopen(buf, len, "w");

	inject_report_json(inj, fp);
	fclose(fp);
}

/* --cover: an OUT at every instruction that can take one, none that
 * another's OUT overlaps, none on padding, direct jmps (jump labels) or
 * calls out of the module with no kernel symbols to tell a static call
 * from another; nothing mutated, the report lists none run yet. */
TEST(inject_cover_arms_what_it_may)
{
	struct fake *f = calloc(1, sizeof(*f));
	static const uint8_t code[] = {
		0x55,				/* 0: push rbp: armed */
		0x53,				/* 1: push rbx: under it */
		0x48, 0x89, 0xe5,		/* 2: mov rbp, rsp: armed */
		0xe8, 0xf8, 0xff, 0xff, 0xff,	/* 5: call 2 (in it): armed */
		0xe8, 0x00, 0x00, 0x10, 0x00,	/* 10: call out: left */
		0xeb, 0x00,			/* 15: jmp +0: left */
		0x0f, 0x1f, 0x44, 0x00, 0x00,	/* 17: nop5: left */
		0xc3,				/* 22: ret: armed */
		0xcc,				/* 23: int3: padding */
		0x5d,				/* 24: pop rbp: not armed, */
		0x0f, 0x1f, 0x44, 0x00, 0x00,	/* 25: the nop5 under it */
		0x53,				/* 30: push rbx: not armed, */
		0xe8, 0x00, 0x00, 0x00, 0x01,	/* 31: the call out under it */
		0xe8, 0x05, 0x00, 0x00, 0x00,	/* 36: call 46: left, */
		0xe8, 0x08, 0x00, 0x00, 0x00,	/* 41: call 54: armed */
		/* 46: the module's own static call trampoline: jmp, then
		 * the signature (ud1 %esp,%ecx) */
		0xe9, 0x00, 0x00, 0x00, 0x01, 0x0f, 0xb9, 0xcc,
		0xc3,				/* 54: ret: armed */
		0xcc,				/* 55: int3: padding */
	};
	struct injector inj;
	struct inject_spec s;
	static char buf[4096];
	char why[64];

	fake_init(f);
	memcpy(text_byte(f, 0), code, sizeof(code));
	CHECK_EQ(inject_parse_cover("brd", &s, why, sizeof(why)), 0);
	CHECK(s.cover);
	CHECK_EQ(inject_init(&inj, &s, INJECT_BREAK_HW, "/nonexistent", NULL), 0);
	CHECK_EQ(inj.brk, INJECT_BREAK_PORT);
	inject_module_loaded(&inj, &f->g, TEXT, 4096);
	CHECK(!inj.applied);
	CHECK_EQ(inj.ncov, 6);
	for (int o = 0; o < (int)sizeof(code); o++) {
		bool out = o == 0 || o == 2 || o == 5 || o == 22 || o == 41 ||
			   o == 54;
		bool port = o == 1 || o == 3 || o == 6 || o == 23 || o == 42 ||
			    o == 55;

		CHECK_EQ(*text_byte(f, o), out ? 0xe6 : port ? INJECT_PORT
							     : code[o]);
	}
	report(&inj, buf, sizeof(buf));
	CHECK(strstr(buf, "\"error\": null") != NULL);
	CHECK(strstr(buf, "\"cover\": {\"armed\": 6, \"ran\": 0, "
			  "\"sites\": []}") != NULL);
	inject_destroy(&inj);
	free(f);
}


TEST(inject_report)
{
	struct fake *f = calloc(1, sizeof(*f));
	struct injector inj;
	struct inject_spec s = spec("brd", FAULT_ALLOC, 3);
	static char buf[4096];

	report(NULL, buf, sizeof(buf));
	CHECK(strstr(buf, "\"inject\": null") != NULL);

	CHECK_EQ(inject_init(&inj, &s, INJECT_BREAK_PORT, "/nonexistent", NULL), 0);
	report(&inj, buf, sizeof(buf));
	CHECK(strstr(buf, "\"applied\": false, \"error\": \"module never loaded\"") != NULL);
	CHECK(strstr(buf, "\"type\": \"alloc\", \"seed\": 3") != NULL);
	CHECK(strstr(buf, "\"activated\": false") != NULL);

	fake_init(f);
	put_code(f);	/* no call: no allocation to fail */
	inject_module_loaded(&inj, &f->g, TEXT, 8192);
	report(&inj, buf, sizeof(buf));
	CHECK(strstr(buf, "\"error\": \"no site for this type\"") != NULL);
	CHECK(strstr(buf, "\"text\": \"0xffffffffc0001000\"") != NULL);
	CHECK_EQ(*text_byte(f, 4095), 0x74);	/* untouched */
	inject_destroy(&inj);

	s = spec("brd", FAULT_BRANCH_INVERT, 0);
	CHECK_EQ(inject_init(&inj, &s, INJECT_BREAK_PORT, "/nonexistent", NULL), 0);
	inject_module_loaded(&inj, &f->g, TEXT, 8192);
	report(&inj, buf, sizeof(buf));
	CHECK(strstr(buf, "\"applied\": true, \"error\": null") != NULL);
	CHECK(strstr(buf, "\"addr\": \"0xffffffffc0001fff\"") != NULL);
	CHECK(strstr(buf, "\"site\": 0, \"nsites\": 1") != NULL);
	CHECK(strstr(buf, "\"before\": \"je ") != NULL);
	CHECK(strstr(buf, "\"after\": \"jne ") != NULL);
	CHECK(strstr(buf, "\"break\": \"port\"") != NULL);
	inject_destroy(&inj);

	/* Text that cannot be read: said so. */
	f->g.cr3 = 0x2000;
	CHECK_EQ(inject_init(&inj, &s, INJECT_BREAK_PORT, "/nonexistent", NULL), 0);
	inject_module_loaded(&inj, &f->g, TEXT, 8192);
	report(&inj, buf, sizeof(buf));
	CHECK(strstr(buf, "\"error\": \"reading the module's text: No such file or directory\"") != NULL);
	inject_destroy(&inj);
	free(f);
}
