/* fuzz_snapshot.c - the snapshot reader against damaged files
 * (libFuzzer).  A campaign restores guests from a snapshot file it wrote
 * before; a disk error, a copy cut short or an edit may have damaged it.
 * LLVMFuzzerInitialize writes a real snapshot (1 vCPU, a device blob,
 * 256 KiB of RAM in which three chunks are not zero); each input damages
 * its first 64 KiB (header, state, chunk map) with patches, may cut the
 * file short, and reads it back, copied and mapped.  Besides the
 * sanitizers:
 *  - probing gives MATCH, STALE, or an error with a reason;
 *  - reading gives 0 or an error with a reason, never another result;
 *  - what a read that succeeded brought back is what was written: RAM,
 *    the vCPU, the VM state and the device blob (all under the file's
 *    checksum), byte for byte.
 * Input: the length to cut the file to (4 bytes; 0 or more than its
 * length: not cut), then patches: offset (2 bytes), length (1), bytes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_input.h"
#include "vmm/snapshot.h"

#define FZ_MEM		(256u << 10)
#define FZ_HEAD		(64u << 10)	/* what the patches may touch */
#define FZ_KEY		"fuzz-key"

/* The snapshot as written: its file's bytes (the head and the RAM part;
 * the rest is holes), and the state and RAM it holds. */
struct fz_orig {
	uint8_t *file;
	size_t len;
	struct snapshot snap;
	uint8_t *ram;
	int fd;			/* the damaged copy, a memfd */
	char path[64];
	size_t block[64];	/* 4 KiB blocks past the head not all zero */
	size_t nblock;
};

static struct fz_orig orig;

#define FAIL(...)	do { fprintf(stderr, __VA_ARGS__); abort(); } while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char dir[] = "/tmp/chariot-fuzz-snap.XXXXXX", path[128], err[256];
	struct guest_mem mem;
	FILE *f;

	(void)argc;
	(void)argv;
	orig.ram = calloc(1, FZ_MEM);
	if (!orig.ram || snap_alloc(&orig.snap, 1) || !mkdtemp(dir))
		abort();
	memcpy(orig.ram + 4096, "kernel", 6);
	memset(orig.ram + (100u << 10), 0xc3, 70000);
	orig.ram[FZ_MEM - 1] = 0x5a;
	snprintf(orig.snap.key, sizeof(orig.snap.key), FZ_KEY);
	orig.snap.cpu[0].regs.rip = 0xffffffff81000000ull;
	orig.snap.cpu[0].nmsrs = 1;
	orig.snap.cpu[0].msrs[0].index = 0x10;
	orig.snap.vm.clock.clock = 123456789;
	orig.snap.dev_len = 3;
	memcpy(orig.snap.dev, "dev", 3);
	guest_mem_wrap(&mem, orig.ram, FZ_MEM);
	snprintf(path, sizeof(path), "%s/snap", dir);
	if (snap_write(path, &orig.snap, &mem, err, sizeof(err))) {
		fprintf(stderr, "fuzz_snapshot: %s\n", err);
		abort();
	}
	f = fopen(path, "rb");
	if (!f || fseek(f, 0, SEEK_END))
		abort();
	orig.len = (size_t)ftell(f);
	orig.file = malloc(orig.len);
	rewind(f);
	if (!orig.file || fread(orig.file, 1, orig.len, f) != orig.len)
		abort();
	fclose(f);
	for (size_t off = FZ_HEAD; off < orig.len; off += 4096) {
		size_t n = orig.len - off < 4096 ? orig.len - off : 4096;

		for (size_t i = 0; i < n; i++)
			if (orig.file[off + i]) {
				if (orig.nblock == 64)
					abort();
				orig.block[orig.nblock++] = off;
				break;
			}
	}
	unlink(path);
	rmdir(dir);
	orig.fd = memfd_create("chariot-fuzz-snap", 0);
	if (orig.fd < 0)
		abort();
	snprintf(orig.path, sizeof(orig.path), "/proc/self/fd/%d", orig.fd);
	return 0;
}

/* The damaged file: the head patched, the RAM part as it was, cut to
 * len.  Only the bytes that are not zero are written (the file is mostly
 * holes). */
static void write_damaged(const uint8_t *head, size_t len)
{
	if (ftruncate(orig.fd, 0) || ftruncate(orig.fd, (off_t)len))
		abort();
	if (pwrite(orig.fd, head, len < FZ_HEAD ? len : FZ_HEAD, 0) < 0)
		abort();
	for (size_t i = 0; i < orig.nblock && orig.block[i] < len; i++) {
		size_t off = orig.block[i];
		size_t n = len - off < 4096 ? len - off : 4096;

		if (pwrite(orig.fd, orig.file + off, n, (off_t)off) < 0)
			abort();
	}
}

static void read_back(bool map)
{
	struct snapshot s;
	struct guest_mem mem;
	char err[256] = "";
	uint8_t *ram;
	int r;

	/* Anonymous, page-aligned RAM: the mapped read maps over it. */
	ram = mmap(NULL, FZ_MEM, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ram == MAP_FAILED || snap_alloc(&s, 1))
		abort();
	guest_mem_wrap(&mem, ram, FZ_MEM);
	r = snap_read(orig.path, &s, &mem, map, err, sizeof(err));
	if (r > 0 || (r < 0 && !err[0]))
		FAIL("snap_read: %d without a reason\n", r);
	if (r == 0 && (memcmp(ram, orig.ram, FZ_MEM) ||
		       memcmp(s.cpu, orig.snap.cpu, sizeof(*s.cpu)) ||
		       memcmp(&s.vm, &orig.snap.vm, sizeof(s.vm)) ||
		       s.dev_len != orig.snap.dev_len ||
		       memcmp(s.dev, orig.snap.dev, s.dev_len)))
		FAIL("a damaged snapshot read back different (map %d)\n", map);
	snap_free(&s);
	munmap(ram, FZ_MEM);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	static uint8_t head[FZ_HEAD];
	uint32_t cut;
	uint16_t off;
	uint8_t n, bytes[255];
	size_t len = orig.len;
	char err[256] = "";
	int r;

	memcpy(head, orig.file, FZ_HEAD);
	if (take(&in, &cut, 4) && cut && cut < orig.len)
		len = cut;
	while (take16(&in, &off) && take8(&in, &n) && take(&in, bytes, n)) {
		size_t k = off + n > FZ_HEAD ? FZ_HEAD - off : n;

		memcpy(head + off, bytes, k);
	}
	write_damaged(head, len);
	r = snap_probe(orig.path, FZ_KEY, 1, FZ_MEM, err, sizeof(err));
	if (r != SNAP_MATCH && r != SNAP_STALE && (r >= 0 || !err[0]))
		FAIL("snap_probe: %d (%s)\n", r, err);
	if (r == SNAP_MATCH) {
		read_back(false);
		read_back(true);
	}
	return 0;
}
