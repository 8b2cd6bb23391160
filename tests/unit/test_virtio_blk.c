/* Unit tests for virtio-blk over a real temporary file, driven through
 * the MMIO registers by the fake driver of test_virtqueue.c. */
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <stdlib.h>
#include <unistd.h>

#include "devices/virtio_blk.h"
#include "test.h"

/* From test_virtqueue.c. */
struct fdrv;
struct irq_line test_irq(int *edges);
struct fdrv *fdrv_start(struct virtio_mmio *m, struct guest_mem *mem,
			uint64_t base, uint64_t size, uint64_t want);
uint64_t fdrv_alloc(struct fdrv *d, uint32_t len, void **host);
uint16_t fdrv_post(struct fdrv *d, int qi, int nout, int nin,
		   const uint64_t *gpa, const uint32_t *len);
int fdrv_used(struct fdrv *d, int qi, uint32_t *len);

#define RAM_SIZE	0x20000
#define DISK_SIZE	0x10000		/* 128 sectors */

struct disk {
	char path[32];
	uint8_t *ram;
	struct guest_mem mem;
	struct virtio_blk *blk;
	struct virtio_mmio *m;
	struct fdrv *d;
	int edges;
	uint64_t hdr_gpa, st_gpa, data_gpa;
	struct virtio_blk_outhdr *hdr;
	uint8_t *st, *data;
};

static int make_file(char *path, off_t size)
{
	int fd;

	strcpy(path, "/tmp/chariot-blk-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	if (ftruncate(fd, size) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A failure fails the test. */
static int disk_open(struct disk *k, int *failed)
{
	char err[128];
	int fd;

	memset(k, 0, sizeof(*k));
	fd = make_file(k->path, DISK_SIZE);
	CHECK(fd >= 0);
	if (fd < 0)
		return -1;
	close(fd);
	k->ram = calloc(1, RAM_SIZE);
	guest_mem_wrap(&k->mem, k->ram, RAM_SIZE);
	CHECK_EQ(virtio_blk_create(&k->blk, &k->mem, test_irq(&k->edges),
				   k->path, err, sizeof(err)), 0);
	if (!k->blk)
		return -1;
	k->m = virtio_blk_transport(k->blk);
	k->d = fdrv_start(k->m, &k->mem, 0x1000, 0x2000, ~0ull);
	CHECK(k->d != NULL);
	if (!k->d)
		return -1;
	k->hdr_gpa = fdrv_alloc(k->d, sizeof(*k->hdr), (void **)&k->hdr);
	k->st_gpa = fdrv_alloc(k->d, 1, (void **)&k->st);
	k->data_gpa = 0x8000;
	k->data = k->ram + k->data_gpa;
	return 0;
}

static void disk_close(struct disk *k)
{
	free(k->d);
	virtio_blk_destroy(k->blk);
	free(k->ram);
	unlink(k->path);
}

/* One request with its data split over two buffers; returns the status
 * byte, or -1 when the device returned nothing. */
static int request(struct disk *k, uint32_t type, uint64_t sector,
		   uint32_t len, uint32_t *used)
{
	uint64_t gpa[4] = { k->hdr_gpa, k->data_gpa, k->data_gpa + len / 2,
			    k->st_gpa };
	uint32_t l[4] = { sizeof(*k->hdr), len / 2, len - len / 2, 1 };
	bool out = type == VIRTIO_BLK_T_OUT;

	*k->hdr = (struct virtio_blk_outhdr){ .type = type, .sector = sector };
	*k->st = 0xee;
	fdrv_post(k->d, 0, out ? 3 : 1, out ? 1 : 3, gpa, l);
	if (fdrv_used(k->d, 0, used) < 0)
		return -1;
	return *k->st;
}

static uint32_t reg32(struct virtio_mmio *m, uint32_t off, uint32_t wr)
{
	uint32_t v = wr;

	virtio_mmio_io(m, off, (uint8_t *)&v, 4, wr != ~0u);
	return v;
}

static uint32_t cfg32(struct virtio_mmio *m, uint32_t off)
{
	return reg32(m, VIRTIO_MMIO_CONFIG + off, ~0u);
}

TEST(blk_create_errors)
{
	struct guest_mem mem;
	struct virtio_blk *b;
	char path[32], err[128] = "";
	uint8_t ram[64];
	int fd;

	guest_mem_wrap(&mem, ram, sizeof(ram));
	CHECK_EQ(virtio_blk_create(&b, &mem, test_irq(NULL),
				   "/nonexistent/disk.img", err, sizeof(err)),
		 -ENOENT);
	CHECK(strstr(err, "/nonexistent/disk.img") != NULL);
	fd = make_file(path, 1000);
	CHECK(fd >= 0);
	CHECK_EQ(virtio_blk_create(&b, &mem, test_irq(NULL), path, err,
				   sizeof(err)), -EINVAL);
	CHECK(strstr(err, "multiple of 512") != NULL);
	/* The check before a VM exists says the same, and takes a good one. */
	err[0] = '\0';
	CHECK_EQ(virtio_blk_check(path, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "multiple of 512") != NULL);
	CHECK_EQ(virtio_blk_check("/nonexistent/disk.img", err, sizeof(err)),
		 -ENOENT);
	CHECK_EQ(ftruncate(fd, 1024), 0);
	CHECK_EQ(virtio_blk_check(path, err, sizeof(err)), 0);
	close(fd);
	unlink(path);
}

TEST(blk_config_and_features)
{
	struct disk k;

	if (disk_open(&k, failed))
		return;
	CHECK_EQ(cfg32(k.m, 0), DISK_SIZE / 512);	/* capacity */
	CHECK_EQ(cfg32(k.m, 4), 0);
	CHECK_EQ(cfg32(k.m, 12), VQ_MAX_CHAIN - 2);	/* seg_max */
	CHECK_EQ(cfg32(k.m, 20), 512);			/* blk_size */
	CHECK_EQ(reg32(k.m, VIRTIO_MMIO_DEVICE_ID, ~0u), 2);
	reg32(k.m, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	CHECK_EQ(reg32(k.m, VIRTIO_MMIO_DEVICE_FEATURES, ~0u) & 0xffff,
		 1 << VIRTIO_BLK_F_SEG_MAX | 1 << VIRTIO_BLK_F_BLK_SIZE |
		 1 << VIRTIO_BLK_F_FLUSH);
	reg32(k.m, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	CHECK_EQ(reg32(k.m, VIRTIO_MMIO_DEVICE_FEATURES, ~0u),
		 1 << (VIRTIO_F_VERSION_1 - 32));
	disk_close(&k);
}

TEST(blk_write_then_read_back)
{
	uint8_t pattern[1024], file[1024];
	uint32_t used = 0;
	struct disk k;
	int fd;

	if (disk_open(&k, failed))
		return;
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = i * 7 + 1;
	memcpy(k.data, pattern, sizeof(pattern));
	CHECK_EQ(request(&k, VIRTIO_BLK_T_OUT, 3, 1024, &used),
		 VIRTIO_BLK_S_OK);
	CHECK_EQ(used, 1);
	fd = open(k.path, O_RDONLY);
	CHECK_EQ(pread(fd, file, sizeof(file), 3 * 512), sizeof(file));
	CHECK(!memcmp(file, pattern, sizeof(file)));
	close(fd);
	memset(k.data, 0, sizeof(pattern));
	CHECK_EQ(request(&k, VIRTIO_BLK_T_IN, 3, 1024, &used),
		 VIRTIO_BLK_S_OK);
	CHECK_EQ(used, 1025);
	CHECK(!memcmp(k.data, pattern, sizeof(pattern)));
	CHECK_EQ(k.edges, 1);	/* one completion, one edge (never acked) */
	CHECK_EQ(virtio_mmio_errors(k.m), 0);
	disk_close(&k);
}

TEST(blk_out_of_range_is_ioerr)
{
	uint32_t used;
	struct disk k;

	if (disk_open(&k, failed))
		return;
	memset(k.data, 0xaa, 1024);
	CHECK_EQ(request(&k, VIRTIO_BLK_T_IN, 127, 1024, &used),
		 VIRTIO_BLK_S_IOERR);
	CHECK_EQ(request(&k, VIRTIO_BLK_T_OUT, 128, 512, &used),
		 VIRTIO_BLK_S_IOERR);
	CHECK_EQ(request(&k, VIRTIO_BLK_T_OUT, ~0ull, 512, &used),
		 VIRTIO_BLK_S_IOERR);
	CHECK_EQ(request(&k, VIRTIO_BLK_T_OUT, 1ull << 55, 1024, &used),
		 VIRTIO_BLK_S_IOERR);
	CHECK_EQ(request(&k, VIRTIO_BLK_T_IN, 0, 100, &used),
		 VIRTIO_BLK_S_IOERR);	/* not whole sectors */
	CHECK_EQ(request(&k, VIRTIO_BLK_T_OUT, 127, 512, &used),
		 VIRTIO_BLK_S_OK);	/* the last sector is fine */
	CHECK_EQ(request(&k, VIRTIO_BLK_T_IN, 127, 512, &used),
		 VIRTIO_BLK_S_OK);
	CHECK_EQ(k.data[0], 0xaa);
	disk_close(&k);
}

TEST(blk_flush_get_id_unsupported)
{
	uint32_t used;
	struct disk k;

	if (disk_open(&k, failed))
		return;
	CHECK_EQ(request(&k, VIRTIO_BLK_T_FLUSH, 0, 0, &used), VIRTIO_BLK_S_OK);
	CHECK_EQ(used, 1);
	CHECK_EQ(request(&k, VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES,
			 &used), VIRTIO_BLK_S_OK);
	CHECK_EQ(used, VIRTIO_BLK_ID_BYTES + 1);
	/* The file's name: "chariot-blk-XXXXXX", 18 bytes, NUL-padded. */
	CHECK(!memcmp(k.data, strrchr(k.path, '/') + 1, 19));
	CHECK_EQ(request(&k, 99, 0, 0, &used), VIRTIO_BLK_S_UNSUPP);
	disk_close(&k);
}

TEST(blk_writable_header_needs_reset)
{
	uint32_t l[2] = { 16, 1 };
	uint64_t gpa[2];
	struct disk k;

	if (disk_open(&k, failed))
		return;
	gpa[0] = k.hdr_gpa;
	gpa[1] = k.st_gpa;
	fdrv_post(k.d, 0, 0, 2, gpa, l);	/* header device-writable */
	CHECK_EQ(virtio_mmio_errors(k.m), 1);
	CHECK_EQ(fdrv_used(k.d, 0, NULL), -1);
	free(k.d);
	k.d = fdrv_start(k.m, &k.mem, 0x4000, 0x2000, ~0ull);
	CHECK(k.d != NULL);
	if (k.d)
		CHECK_EQ(request(&k, VIRTIO_BLK_T_FLUSH, 0, 0, NULL),
			 VIRTIO_BLK_S_OK);
	disk_close(&k);
}
