/* virtio_blk.c - virtio block device. Requests are served in the notify
 * handler with preadv/pwritev straight between the file and guest memory,
 * so the guest's write is on the host file (in its page cache) when the
 * status byte says OK, and a FLUSH is an fdatasync. */
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "devices/virtio_blk.h"

#define SECTOR		512
#define QUEUE_SIZE	128
/* Header and status byte take two of a chain's buffers. */
#define SEG_MAX		(VQ_MAX_CHAIN - 2)

struct virtio_blk {
	struct virtio_mmio mmio;
	struct virtio_blk_config config;
	int fd;
	uint64_t sectors;
	char id[VIRTIO_BLK_ID_BYTES];
};

static int blk_notify(void *dev, uint16_t q);
static void blk_reset(void *dev);

static const struct virtio_dev_ops blk_ops = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.num_queues = 1,
	.queue_max = QUEUE_SIZE,
	.features = 1ull << VIRTIO_BLK_F_SEG_MAX |
		    1ull << VIRTIO_BLK_F_BLK_SIZE |
		    1ull << VIRTIO_BLK_F_FLUSH,
	.config_len = sizeof(struct virtio_blk_config),
	.queue_notify = blk_notify,
	.reset = blk_reset,
};

/* Loop over short transfers (a signal, a very large request). */
static int xfer(int fd, struct iovec *iov, int n, off_t off, bool out)
{
	while (n > 0) {
		ssize_t r = out ? pwritev(fd, iov, n, off) :
				  preadv(fd, iov, n, off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -EIO;
		off += r;
		while (n && (size_t)r >= iov->iov_len) {
			r -= iov->iov_len;
			iov++;
			n--;
		}
		if (n) {
			iov->iov_base = (uint8_t *)iov->iov_base + r;
			iov->iov_len -= r;
		}
	}
	return 0;
}

/* IN reads into the writable bytes before the status byte; OUT writes the
 * readable bytes after the header. */
static uint8_t do_rw(struct virtio_blk *b, const struct vq_chain *c,
		     uint64_t sector, bool out, uint32_t *written)
{
	struct iovec iov[VQ_MAX_CHAIN];
	size_t off = out ? sizeof(struct virtio_blk_outhdr) : 0;
	size_t len = out ? c->rlen - off : c->wlen - 1u;
	int n;

	if (len % SECTOR || sector > b->sectors ||
	    len / SECTOR > b->sectors - sector)
		return VIRTIO_BLK_S_IOERR;
	n = vq_chain_iov(c, !out, off, len, iov, VQ_MAX_CHAIN);
	if (n < 0 || xfer(b->fd, iov, n, sector * SECTOR, out) < 0)
		return VIRTIO_BLK_S_IOERR;
	if (!out)
		*written += len;
	return VIRTIO_BLK_S_OK;
}

static uint8_t get_id(struct virtio_blk *b, const struct vq_chain *c,
		      uint32_t *written)
{
	size_t len = c->wlen - 1u;

	if (len > sizeof(b->id))
		len = sizeof(b->id);
	*written += vq_chain_write(c, 0, b->id, len);
	return VIRTIO_BLK_S_OK;
}

/* Serve one request; returns bytes written into the chain, or -EINVAL
 * when it has no readable header or no writable status byte. */
static int64_t serve(struct virtio_blk *b, const struct vq_chain *c)
{
	struct virtio_blk_outhdr h;
	uint32_t written = 1;
	uint8_t status;

	if (c->rlen < sizeof(h) || c->wlen < 1)
		return -EINVAL;
	vq_chain_read(c, 0, &h, sizeof(h));
	switch (h.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		status = do_rw(b, c, h.sector, h.type == VIRTIO_BLK_T_OUT,
			       &written);
		break;
	case VIRTIO_BLK_T_FLUSH:
		status = fdatasync(b->fd) ? VIRTIO_BLK_S_IOERR :
					    VIRTIO_BLK_S_OK;
		break;
	case VIRTIO_BLK_T_GET_ID:
		status = get_id(b, c, &written);
		break;
	default:
		status = VIRTIO_BLK_S_UNSUPP;
	}
	/* Last, after the data: the driver trusts the data once it sees it. */
	vq_chain_write(c, c->wlen - 1u, &status, 1);
	return written;
}

static int blk_notify(void *dev, uint16_t q)
{
	struct virtio_blk *b = dev;
	struct virtqueue *vq = virtio_mmio_queue(&b->mmio, q);
	struct vq_chain c;
	int64_t written;
	int r;

	while ((r = vq_pop(vq, &c)) > 0) {
		written = serve(b, &c);
		if (written < 0)
			return written;
		vq_push(vq, c.head, written);
		virtio_mmio_used(&b->mmio, q);
	}
	return r;
}

static void blk_reset(void *dev)
{
	(void)dev;	/* no request outlives the notify that carried it */
}

/* Open path read-write into *fd and size it in sectors; *fd stays open
 * (the caller closes it) even when the size is refused. */
static int open_backing(const char *path, int *fd, uint64_t *sectors,
			char *err, size_t errlen)
{
	off_t size;

	*fd = open(path, O_RDWR | O_CLOEXEC);
	if (*fd < 0)
		return virtio_error(err, errlen, -errno, "%s: %s", path,
				    strerror(errno));
	/* lseek, not st_size, so that a host block device works too. */
	size = lseek(*fd, 0, SEEK_END);
	if (size < 0)
		return virtio_error(err, errlen, -errno, "%s: %s", path,
				    strerror(errno));
	if (size % SECTOR)
		return virtio_error(err, errlen, -EINVAL,
				    "%s: size %lld is not a multiple of %d",
				    path, (long long)size, SECTOR);
	*sectors = (uint64_t)size / SECTOR;
	return 0;
}

int virtio_blk_check(const char *path, char *err, size_t errlen)
{
	uint64_t sectors;
	int fd, r = open_backing(path, &fd, &sectors, err, errlen);

	if (fd >= 0)
		close(fd);
	return r;
}

static void set_id(struct virtio_blk *b, const char *path)
{
	const char *base = strrchr(path, '/');
	size_t len;

	base = base ? base + 1 : path;
	len = strlen(base);
	/* Up to 20 bytes, NUL-terminated only when shorter (per the spec);
	 * b->id starts zeroed. */
	memcpy(b->id, base, len < sizeof(b->id) ? len : sizeof(b->id));
}

int virtio_blk_create(struct virtio_blk **out, struct guest_mem *mem,
		      struct irq_line irq, const char *path, char *err,
		      size_t errlen)
{
	struct virtio_blk *b = calloc(1, sizeof(*b));
	int r;

	if (!b)
		return virtio_error(err, errlen, -ENOMEM, "out of memory");
	r = open_backing(path, &b->fd, &b->sectors, err, errlen);
	if (r)
		goto fail;
	set_id(b, path);
	b->config.capacity = b->sectors;
	b->config.seg_max = SEG_MAX;
	b->config.blk_size = SECTOR;
	r = virtio_mmio_init(&b->mmio, &blk_ops, b, &b->config, mem, irq, NULL);
	if (r) {
		virtio_error(err, errlen, r, "virtio-blk: %s", strerror(-r));
		goto fail;
	}
	*out = b;
	return 0;
fail:
	if (b->fd >= 0)
		close(b->fd);
	free(b);
	return r;
}

void virtio_blk_destroy(struct virtio_blk *b)
{
	if (!b)
		return;
	virtio_mmio_destroy(&b->mmio);
	close(b->fd);
	free(b);
}

struct virtio_mmio *virtio_blk_transport(struct virtio_blk *b)
{
	return &b->mmio;
}
