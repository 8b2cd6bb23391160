/* test_snapshot.c - the snapshot file without KVM: RAM and state come back
 * exactly, zero chunks are not stored, the key decides MATCH or STALE, a
 * foreign file is refused, a damaged one is caught. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "vmm/snapshot.h"

#define MEM (8u << 20)

static void fill(struct snapshot *s, uint8_t *ram)
{
	memset(ram, 0, MEM);
	memcpy(ram + 4096, "kernel", 6);		/* chunk 0 */
	ram[MEM - 1] = 0x5a;				/* the last chunk */
	memset(ram + (3u << 20), 0xc3, 200000);		/* several chunks */
	snprintf(s->key, sizeof(s->key), "key-a");
	s->cpu[0].regs.rip = 0xffffffff81000000ull;
	s->cpu[1].msrs[0].index = 0x10;
	s->cpu[1].nmsrs = 1;
	s->vm.clock.clock = 123456789;
	s->dev_len = 3;
	memcpy(s->dev, "dev", 3);
}

static void tmp_path(char *buf, size_t len, const char *name)
{
	const char *d = getenv("TMPDIR");

	snprintf(buf, len, "%s/chariot-snap-%d-%s", d ? d : "/tmp", (int)getpid(),
		 name);
}

TEST(snapshot_round_trip_and_keys)
{
	struct snapshot a, b;
	struct guest_mem ma, mb;
	uint8_t *ra = malloc(MEM), *rb = calloc(1, MEM);
	char path[256], err[256];
	struct stat st;

	tmp_path(path, sizeof(path), "rt");
	CHECK(ra && rb);
	if (!ra || !rb)
		return;
	CHECK_EQ(snap_alloc(&a, 2), 0);
	CHECK_EQ(snap_alloc(&b, 2), 0);
	guest_mem_wrap(&ma, ra, MEM);
	guest_mem_wrap(&mb, rb, MEM);
	fill(&a, ra);
	CHECK_EQ(snap_probe(path, "key-a", 2, MEM, err, sizeof(err)), SNAP_ABSENT);
	CHECK_EQ(snap_write(path, &a, &ma, err, sizeof(err)), 0);
	/* 3 chunks of 64 KiB around 3 MiB, the first and the last */
	CHECK_EQ(a.ram_bytes, 6 * 65536);
	CHECK_EQ(stat(path, &st), 0);
	CHECK((uint64_t)st.st_blocks * 512 < 2 * MEM / 4);	/* sparse */
	CHECK_EQ(snap_probe(path, "key-a", 2, MEM, err, sizeof(err)), SNAP_MATCH);
	CHECK_EQ(snap_probe(path, "key-b", 2, MEM, err, sizeof(err)), SNAP_STALE);
	CHECK_EQ(snap_probe(path, "key-a", 1, MEM, err, sizeof(err)), SNAP_STALE);
	CHECK_EQ(snap_probe(path, "key-a", 2, MEM * 2, err, sizeof(err)), SNAP_STALE);
	CHECK_EQ(snap_read(path, &b, &mb, false, err, sizeof(err)), 0);
	CHECK(!memcmp(ra, rb, MEM));
	CHECK(!strcmp(b.key, "key-a"));
	CHECK_EQ(b.cpu[0].regs.rip, 0xffffffff81000000ull);
	CHECK_EQ(b.cpu[1].nmsrs, 1);
	CHECK_EQ(b.vm.clock.clock, 123456789);
	CHECK_EQ(b.dev_len, 3);
	CHECK(!memcmp(b.dev, "dev", 3));
	CHECK_EQ(b.ram_bytes, a.ram_bytes);
	snap_free(&a);
	snap_free(&b);
	unlink(path);
	free(ra);
	free(rb);
}

TEST(snapshot_refuses_foreign_and_damaged_files)
{
	struct snapshot a;
	struct guest_mem m;
	uint8_t *ram = malloc(MEM);
	char path[256], err[256] = "";
	int fd;

	tmp_path(path, sizeof(path), "bad");
	CHECK(ram != NULL);
	if (!ram)
		return;
	/* Not a snapshot: refused (-EINVAL), and said so. */
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "hello, world\n", 13), 13);
	close(fd);
	CHECK_EQ(snap_probe(path, "k", 1, MEM, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "not a Chariot snapshot") != NULL);

	/* A real one with a flipped state byte: caught by the checksum. */
	CHECK_EQ(snap_alloc(&a, 2), 0);
	guest_mem_wrap(&m, ram, MEM);
	fill(&a, ram);
	CHECK_EQ(snap_write(path, &a, &m, err, sizeof(err)), 0);
	fd = open(path, O_RDWR);
	CHECK(fd >= 0);
	CHECK_EQ(pwrite(fd, "\xff", 1, 8192 + 17), 1);
	close(fd);
	CHECK_EQ(snap_probe(path, "key-a", 2, MEM, err, sizeof(err)), SNAP_MATCH);
	CHECK_EQ(snap_read(path, &a, &m, false, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "corrupt") != NULL);

	/* Cut short: caught by its length. */
	fill(&a, ram);
	CHECK_EQ(snap_write(path, &a, &m, err, sizeof(err)), 0);
	CHECK_EQ(truncate(path, MEM / 2), 0);
	CHECK_EQ(snap_read(path, &a, &m, false, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "truncated") != NULL);
	snap_free(&a);
	unlink(path);
	free(ram);
}
