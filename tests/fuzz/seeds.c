/* seeds.c - the fuzz targets' starting inputs, written as files into the
 * directories given: a well-formed session per target, which the fuzzer
 * then mutates (coverage-guided fuzzing gets past a handshake far sooner
 * from one example than from nothing).
 * Usage: seeds VIRTIO_DIR BOOT_DIR RESULTS_DIR MUTATE_DIR RING_DIR KSYMS_DIR
 *              SNAPSHOT_DIR */
#include <elf.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct seed {
	uint8_t b[4096];
	size_t n;
};

static void put(struct seed *s, const void *p, size_t n)
{
	if (s->n + n > sizeof(s->b))
		abort();
	memcpy(s->b + s->n, p, n);
	s->n += n;
}

static void u8(struct seed *s, uint8_t v)
{
	put(s, &v, 1);
}

static void u16(struct seed *s, uint16_t v)
{
	put(s, &v, 2);
}

/* The steps of fuzz_virtio.c (opcodes modulo 9). */
static void handshake(struct seed *s, uint8_t dev, uint8_t logn)
{
	uint64_t want = ~0ull;

	u8(s, 3);
	u8(s, dev);
	put(s, &want, 8);
	u8(s, logn);
	u8(s, 1);
}

static void poke(struct seed *s, uint16_t addr, const void *p, uint8_t n)
{
	u8(s, 2);
	u16(s, addr);
	u8(s, n);
	put(s, p, n);
}

struct desc {
	uint8_t flags;
	uint16_t addr, len;
};

static void chain(struct seed *s, uint8_t dev, uint8_t q, int n,
		  const struct desc *d)
{
	u8(s, 4);
	u8(s, dev);
	u8(s, q);
	u8(s, n - 1);
	for (int i = 0; i < n; i++) {
		u8(s, d[i].flags);
		u16(s, d[i].addr);
		u16(s, d[i].len);
	}
}

static void blk_hdr(struct seed *s, uint16_t addr, uint32_t type,
		    uint64_t sector)
{
	uint8_t h[16] = { 0 };

	memcpy(h, &type, 4);
	memcpy(h + 8, &sector, 8);
	poke(s, addr, h, sizeof(h));
}

static int save(const char *dir, const char *name, const struct seed *s)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(s->b, 1, s->n, f) != s->n || fclose(f)) {
		perror(path);
		return -1;
	}
	return 0;
}

/* blk: a write of two sectors at sector 3, a read of them back, a flush
 * and an id; buffers above the device regions (0xc000). */
static int blk_seed(const char *dir)
{
	struct seed s = { .n = 0 };
	const struct desc wr[] = { { 0, 0xd000, 16 }, { 0, 0xe000, 1024 },
				   { 2, 0xd100, 1 } };
	const struct desc rd[] = { { 0, 0xd010, 16 }, { 2, 0xe800, 512 },
				   { 2, 0xea00, 512 }, { 2, 0xd101, 1 } };
	const struct desc fl[] = { { 0, 0xd020, 16 }, { 2, 0xd102, 1 } };
	const struct desc id[] = { { 0, 0xd030, 16 }, { 2, 0xd200, 20 },
				   { 2, 0xd103, 1 } };

	handshake(&s, 0, 4);
	blk_hdr(&s, 0xd000, 1, 3);
	chain(&s, 0, 0, 3, wr);
	blk_hdr(&s, 0xd010, 0, 3);
	chain(&s, 0, 0, 4, rd);
	blk_hdr(&s, 0xd020, 4, 0);
	chain(&s, 0, 0, 2, fl);
	blk_hdr(&s, 0xd030, 8, 0);
	chain(&s, 0, 0, 3, id);
	/* the request step: a write of 3 sectors at 9, a read of 2 at 10 */
	put(&s, (const uint8_t[]){ 7, 1, 9, 1, 0x5a, 2, 1 }, 7);
	put(&s, (const uint8_t[]){ 7, 0, 10, 0, 0, 2 }, 6);
	return save(dir, "blk", &s);
}

/* net: b posts a receive buffer, a transmits a frame (12-byte header and
 * 60 bytes), then b posts another, which takes nothing. */
static int net_seed(const char *dir)
{
	struct seed s = { .n = 0 };
	const struct desc rx[] = { { 2, 0xd000, 1526 } };
	const struct desc rx2[] = { { 2, 0xd800, 1526 } };
	const struct desc tx[] = { { 0, 0xe000, 12 }, { 0, 0xe100, 60 } };

	handshake(&s, 1, 4);
	handshake(&s, 2, 4);
	chain(&s, 2, 0, 1, rx);
	chain(&s, 1, 1, 2, tx);
	chain(&s, 2, 0, 1, rx2);
	chain(&s, 1, 1, 2, tx);
	/* the transfer step: 60 bytes a -> b into a buffer just big enough,
	 * 200 bytes b -> a into one with 2 to spare, 100 bytes a -> b into
	 * one a byte short */
	put(&s, (const uint8_t[]){ 8, 0, 60, 0, 0x11, 0 }, 6);
	put(&s, (const uint8_t[]){ 8, 1, 200, 0, 0x22, 4 }, 6);
	put(&s, (const uint8_t[]){ 8, 0, 100, 0, 0x33, 3 }, 6);
	return save(dir, "net", &s);
}

/* boot: a bzImage of 1 setup sector and 1 KiB of payload (boot protocol
 * 2.15, 64-bit entry, init_size 64 KiB), and an ELF vmlinux of one
 * segment at 1 MiB. */
static int boot_seeds(const char *dir)
{
	struct seed bz = { .n = 2048 }, elf = { .n = 0 };
	Elf64_Ehdr eh = { .e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3,
				       ELFCLASS64, ELFDATA2LSB, EV_CURRENT },
			  .e_type = ET_EXEC, .e_machine = EM_X86_64,
			  .e_version = EV_CURRENT, .e_entry = 0x100000,
			  .e_phoff = sizeof(Elf64_Ehdr),
			  .e_ehsize = sizeof(Elf64_Ehdr),
			  .e_phentsize = sizeof(Elf64_Phdr), .e_phnum = 1 };
	Elf64_Phdr ph = { .p_type = PT_LOAD,
			  .p_offset = sizeof(eh) + sizeof(ph),
			  .p_paddr = 0x100000, .p_filesz = 64,
			  .p_memsz = 4096 };
	uint8_t body[64];
	uint32_t hdrs = 0x53726448, init = 0x10000;
	uint16_t ver = 0x20f, xlf = 1;

	memset(bz.b, 0x90, bz.n);
	bz.b[0x1f1] = 1;			/* setup_sects */
	bz.b[0x1fe] = 0x55;
	bz.b[0x1ff] = 0xaa;
	bz.b[0x201] = 0x6a;			/* jump: header to 0x26c */
	memcpy(bz.b + 0x202, &hdrs, 4);
	memcpy(bz.b + 0x206, &ver, 2);
	memcpy(bz.b + 0x236, &xlf, 2);
	memcpy(bz.b + 0x260, &init, 4);
	memset(body, 0xcc, sizeof(body));
	put(&elf, &eh, sizeof(eh));
	put(&elf, &ph, sizeof(ph));
	put(&elf, body, sizeof(body));
	return save(dir, "bzimage", &bz) || save(dir, "elf", &elf);
}

/* results: a fault's unprotected and isolated runs and a clean run, as
 * results.jsonl holds them. */
static int results_seed(const char *dir)
{
	static const char text[] =
		"{\"driver\":\"chariot_buggy\",\"campaign_seed\":1,"
		"\"run\":\"native\",\"index\":3,\"type\":\"dst-operand\","
		"\"seed\":77,\"class\":\"crash\",\"detected\":false,"
		"\"restored\":false,\"applied\":true,\"activated\":true,"
		"\"end\":\"panic\",\"wall_ms\":1234.5,"
		"\"t0_ms\":1700000000000,\"t1_ms\":1700000001234,"
		"\"site\":5,\"nsites\":40,\"reason\":\"Oops in \\\"x\\\"\","
		"\"what\":\"flip bit 3 at +0x1c\"}\n"
		"{\"driver\":\"chariot_buggy\",\"campaign_seed\":1,"
		"\"run\":\"isolated\",\"index\":3,\"type\":\"dst-operand\","
		"\"seed\":77,\"class\":\"isolated\",\"detected\":true,"
		"\"restored\":true,\"applied\":true,\"activated\":true,"
		"\"end\":\"exit\",\"status\":0,\"wall_ms\":2000.0,"
		"\"t0_ms\":1700000001300,\"t1_ms\":1700000003300,"
		"\"site\":5,\"nsites\":40,\"reason\":\"denied write\","
		"\"what\":\"flip bit 3 at +0x1c\"}\n"
		"{\"driver\":\"chariot_buggy\",\"campaign_seed\":1,"
		"\"run\":\"clean\",\"index\":0,\"type\":null,\"seed\":0,"
		"\"class\":\"clean\",\"detected\":false,\"restored\":true,"
		"\"applied\":false,\"activated\":false,\"end\":\"exit\","
		"\"status\":0,\"wall_ms\":900.0,\"t0_ms\":1700000004000,"
		"\"t1_ms\":1700000004900,\"site\":-1,\"nsites\":0,"
		"\"reason\":\"\",\"what\":\"\"}\n";
	/* numbers at the edges: no double (1e999, found in CI), beyond 2^64,
	 * negative where a count belongs */
	static const char edges[] =
		"{\"driver\":\"d\",\"run\":\"native\",\"index\":-1,"
		"\"class\":\"silent\",\"wall_ms\":1e999,\"status\":-0.0,"
		"\"t0_ms\":18446744073709551616,\"t1_ms\":1e-999,"
		"\"site\":-9223372036854775809,\"nsites\":1e308}\n";
	struct seed s = { .n = 0 }, e = { .n = 0 };

	put(&s, text, sizeof(text) - 1);
	put(&e, edges, sizeof(edges) - 1);
	return save(dir, "results", &s) || save(dir, "edges", &e);
}

/* A branch 400 bytes into the code: describing its inversion once made
 * a pointer past a 288-byte buffer (undefined; clang's UBSan sees it,
 * gcc's did not), so every fuzz run replays it. */
static int mutate_far_seed(const char *dir)
{
	struct seed s = { .n = 0 };
	uint64_t seed = 0;
	uint8_t code[402];

	memset(code, 0x90, 400);
	code[400] = 0x74;	/* je +5 */
	code[401] = 0x05;
	u8(&s, 6);		/* FAULT_BRANCH_INVERT */
	put(&s, &seed, 8);
	u8(&s, 0);
	put(&s, code, sizeof(code));
	return save(dir, "far", &s);
}

/* mutate: a small driver function (prologue, a kmalloc call, a test and
 * branch, a loop, rep stosq, stores, memcpy and lock calls, a kfree call,
 * the epilogue; calls to fuzz_mutate.c's symbols from its base), once per
 * fault type. */
static int mutate_seeds(const char *dir)
{
	static const uint8_t code[] = {
		0x55, 0x48, 0x89, 0xe5, 0x53, 0x48, 0x83, 0xec, 0x20, 0x48,
		0x89, 0xfb, 0xbf, 0x40, 0x00, 0x00, 0x00, 0xe8, 0xea, 0xef,
		0x1f, 0xc1, 0x48, 0x85, 0xc0, 0x74, 0x10, 0x48, 0x89, 0x45,
		0xf0, 0x48, 0x83, 0xc3, 0x01, 0x48, 0x83, 0xfb, 0x10, 0x7c,
		0xf6, 0xb9, 0x08, 0x00, 0x00, 0x00, 0xf3, 0x48, 0xab, 0xc7,
		0x43, 0x08, 0x01, 0x00, 0x00, 0x00, 0xba, 0x40, 0x00, 0x00,
		0x00, 0x48, 0x89, 0xde, 0xe8, 0xbb, 0xf1, 0x1f, 0xc1, 0xe8,
		0xb6, 0xf2, 0x1f, 0xc1, 0x48, 0xc7, 0x43, 0x08, 0x00, 0x00,
		0x00, 0x00, 0x48, 0x89, 0xdf, 0xe8, 0xa6, 0xf0, 0x1f, 0xc1,
		0x48, 0x83, 0xc4, 0x20, 0x5b, 0x5d, 0xc3, 0xcc, 0xcc,
	};
	char name[16];

	for (uint8_t t = 0; t < 17; t++) {
		struct seed s = { .n = 0 };
		uint64_t seed = t * 7919u;

		u8(&s, t);
		put(&s, &seed, 8);
		u8(&s, 0);
		put(&s, code, sizeof(code));
		snprintf(name, sizeof(name), "type%u", t);
		if (save(dir, name, &s))
			return -1;
	}
	return mutate_far_seed(dir);
}

/* ring: fuzz_ring.c's typed record (opcode 0) and trapped write (4). */
static void ring_rec(struct seed *s, uint8_t type, uint8_t kind,
		     uint16_t flags, uint8_t dom, uint8_t sel, uint32_t off,
		     uint32_t len, uint8_t cookie)
{
	u8(s, 0);
	u8(s, type);
	u8(s, kind);
	u16(s, flags);
	u8(s, dom);
	u8(s, 0);		/* vcpu */
	put(s, &len, 4);
	u8(s, sel);
	put(s, &off, 4);
	u8(s, cookie);
}

static void ring_write(struct seed *s, uint32_t rip_off, uint32_t gpa_off,
		       uint16_t len)
{
	u8(s, 4);
	u8(s, 0);		/* vcpu */
	u8(s, 4);		/* rip: the domain code's base... */
	put(s, &rip_off, 4);
	u8(s, 0);		/* gpa: RAM, in 64-byte steps */
	put(s, &gpa_off, 4);
	u16(s, len);
}

/* A driver's life: created, a kmalloc grant of two pages, entered, a
 * write there (allowed, its page opened), the grant revoked by range
 * (half of it) or by its cookie (the kfree path): the page closed; the
 * write again (denied), left, destroyed. */
static int ring_seed(const char *dir, const char *name, bool by_cookie)
{
	struct seed s = { .n = 0 };

	ring_rec(&s, 1, 0, 0, 0, 4, 0, 0x10000, 1);	/* DOMAIN_CREATE */
	ring_rec(&s, 4, 1, 0, 0, 0, 64, 0x2000, 2);	/* GRANT kmalloc */
	ring_rec(&s, 6, 0, 0, 0, 5, 0, 0, 0);		/* ENTER */
	ring_write(&s, 0x100, 64, 8);
	if (by_cookie)					/* REVOKE */
		ring_rec(&s, 5, 1, 1, 0, 0, 0, 0, 2);
	else
		ring_rec(&s, 5, 0, 0, 0, 0, 64, 0x1000, 0);
	ring_write(&s, 0x100, 64, 8);
	ring_rec(&s, 7, 0, 0, 0, 0, 0, 0, 0);		/* LEAVE */
	ring_rec(&s, 3, 0, 0, 0, 0, 0, 0, 0);		/* DOMAIN_DESTROY */
	return save(dir, name, &s);
}

/* ksyms: a vmlinux of three sections (.shstrtab, __ksymtab with two
 * entries, .rodata with their names), and a System.map. */
static int ksyms_seeds(const char *dir)
{
	static const char shstr[] = "\0.shstrtab\0__ksymtab\0.rodata";
	static const char names[] = "kfree\0mutex_lock";
	static const char map[] =
		"ffffffff81200000 T __kmalloc\n"
		"ffffffff81200100 t kfree\n"
		"ffffffff81300000 D some_data\n"
		"ffffffffffffffff B The real System.map is in the "
		"linux-image-6.1.0-dbg package\n";
	const uint64_t tab = 0xffffffff82000000ull, str = 0xffffffff82100000ull;
	const uint64_t fn[2] = { 0xffffffff81200100ull, 0xffffffff81200400ull };
	struct seed img = { .n = 0x300 }, sm = { .n = 0 };
	Elf64_Ehdr eh = { .e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3,
				       ELFCLASS64, ELFDATA2LSB, EV_CURRENT },
			  .e_type = ET_EXEC, .e_machine = EM_X86_64,
			  .e_version = EV_CURRENT, .e_shoff = 0x200,
			  .e_ehsize = sizeof(Elf64_Ehdr),
			  .e_shentsize = sizeof(Elf64_Shdr), .e_shnum = 4,
			  .e_shstrndx = 1 };
	Elf64_Shdr sh[4] = {
		{ 0 },
		{ .sh_name = 1, .sh_type = SHT_STRTAB, .sh_offset = 0x100,
		  .sh_size = sizeof(shstr) },
		{ .sh_name = 11, .sh_type = SHT_PROGBITS, .sh_flags = SHF_ALLOC,
		  .sh_addr = tab, .sh_offset = 0x180, .sh_size = 24 },
		{ .sh_name = 21, .sh_type = SHT_PROGBITS, .sh_flags = SHF_ALLOC,
		  .sh_addr = str, .sh_offset = 0x1c0, .sh_size = sizeof(names) },
	};

	memset(img.b, 0, img.n);
	memcpy(img.b, &eh, sizeof(eh));
	memcpy(img.b + 0x100, shstr, sizeof(shstr));
	for (int i = 0; i < 2; i++) {
		/* value, name, namespace: each relative to its own field */
		uint64_t va = tab + 12 * i;
		int32_t rel[3] = { (int32_t)(fn[i] - va),
				   (int32_t)(str + (i ? 6 : 0) - (va + 4)), 0 };

		memcpy(img.b + 0x180 + 12 * i, rel, sizeof(rel));
	}
	memcpy(img.b + 0x1c0, names, sizeof(names));
	memcpy(img.b + 0x200, sh, sizeof(sh));
	/* the parser choice: even the image, odd the map */
	memmove(img.b + 1, img.b, img.n);
	img.b[0] = 0;
	img.n++;
	u8(&sm, 1);
	put(&sm, map, sizeof(map) - 1);
	return save(dir, "vmlinux", &img) || save(dir, "system.map", &sm);
}

/* snapshot: the file intact, cut in the middle of its RAM, and with its
 * state damaged (fuzz_snapshot.c's patches start at offset 0). */
static int snapshot_seeds(const char *dir)
{
	struct seed intact = { .n = 0 }, cut = { .n = 0 }, flip = { .n = 0 };
	uint32_t none = 0, half = (2u << 20) + (100u << 10);

	put(&intact, &none, 4);
	put(&cut, &half, 4);
	put(&flip, &none, 4);
	u16(&flip, 4096);
	u8(&flip, 1);
	u8(&flip, 0xff);
	return save(dir, "intact", &intact) || save(dir, "cut", &cut) ||
	       save(dir, "flip", &flip);
}

/* classify: a run's kind byte, its report, a NUL, its console. */
static int classify_seed(const char *dir, const char *name, uint8_t kind,
			 const char *report, const char *console)
{
	struct seed s = { .n = 0 };

	u8(&s, kind);
	put(&s, report, strlen(report) + 1);
	put(&s, console, strlen(console));
	return save(dir, name, &s);
}

#define SEED_INJECT	"\"inject\": {\"module\": \"brd\", \"type\": " \
	"\"branch-invert\", \"seed\": 5, \"applied\": true, \"error\": " \
	"null, \"addr\": \"0xffffffffc0001000\", \"site\": 2, \"nsites\": " \
	"9, \"what\": \"je -> jne\", \"activated\": true}"

static int classify_seeds(const char *dir)
{
	return classify_seed(dir, "native", 0, "{\"end\": \"panic\", "
			     "\"guest_status\": null, \"wall_ms\": 5321.5, "
			     SEED_INJECT "}", "BUG: kernel NULL pointer "
			     "dereference\nOops: 0000 [#1] SMP\nKernel panic"
			     " - not syncing\n") ||
	       classify_seed(dir, "isolated", 1, "{\"end\": \"poweroff\", "
			     "\"guest_status\": 0, " SEED_INJECT ", "
			     "\"domains\": [{\"module\": \"brd\", "
			     "\"denied\": 1}], \"violations\": [{\"module\":"
			     " \"brd\", \"verdict\": \"denied\"}], "
			     "\"faults\": [{\"module\": \"brd\", "
			     "\"detected_by\": \"write\", \"unloaded\": "
			     "true, \"reloaded\": true}]}",
			     "chariot-campaign: attempt 1 failed (status 12)\n"
			     "WARNING: CPU: 0 PID: 1\n") ||
	       classify_seed(dir, "clean", 2, "{\"end\": \"poweroff\", "
			     "\"guest_status\": 0, \"violations\": [], "
			     "\"wall_ms\": 1e999}", "fs-intact\nchariot-campaign: workload status=0\n");
}

int main(int argc, char **argv)
{
	if (argc != 9) {
		fprintf(stderr, "usage: %s VIRTIO_DIR BOOT_DIR RESULTS_DIR "
			"MUTATE_DIR RING_DIR KSYMS_DIR SNAPSHOT_DIR "
			"CLASSIFY_DIR\n", argv[0]);
		return 2;
	}
	return blk_seed(argv[1]) || net_seed(argv[1]) ||
	       boot_seeds(argv[2]) || results_seed(argv[3]) ||
	       mutate_seeds(argv[4]) || ring_seed(argv[5], "range", false) ||
	       ring_seed(argv[5], "cookie", true) ||
	       ksyms_seeds(argv[6]) || snapshot_seeds(argv[7]) ||
	       classify_seeds(argv[8]) ? 1 : 0;
}
