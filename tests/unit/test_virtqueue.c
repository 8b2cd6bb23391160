/* Unit tests for the split virtqueue (rings crafted by hand in fake guest
 * RAM) and for the virtio-mmio transport (driven through its registers by
 * a small fake driver, which the device tests use too). */
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <stdlib.h>

#include "devices/virtio_mmio.h"
#include "test.h"
#include "../common/virtio_regs.h"

/* ---- shared test helpers (declared where used) ---- */

static int count_edge(void *opaque, uint32_t gsi, int level)
{
	(void)gsi;
	if (level)
		(*(int *)opaque)++;
	return 0;
}

/* An irq_line that counts asserted edges into *edges. */
struct irq_line test_irq(int *edges)
{
	return (struct irq_line){ .set = count_edge, .opaque = edges };
}

#define FDRV_QSIZE 16

/* A guest driver in miniature: owns [brk, end) of fake RAM. */
struct fdrv {
	struct guest_mem *mem;
	struct virtio_mmio *m;
	uint64_t brk, end;
	struct fdrv_queue {
		uint16_t num, next_desc, avail_idx, used_seen;
		struct vring_desc *desc;
		struct vring_avail *avail;
		struct vring_used *used;
	} q[VIRTIO_MMIO_MAX_QUEUES];
};

/* Allocate len bytes of guest RAM, 16-aligned; returns the GPA. */
uint64_t fdrv_alloc(struct fdrv *d, uint32_t len, void **host)
{
	uint64_t gpa = (d->brk + 15) & ~15ull;

	if (gpa + len > d->end)
		return 0;
	d->brk = gpa + len;
	if (host)
		*host = guest_mem_ptr(d->mem, gpa, len);
	memset(guest_mem_ptr(d->mem, gpa, len), 0, len);
	return gpa;
}

static void fdrv_set_queue(struct fdrv *d, uint32_t i, uint32_t num)
{
	struct fdrv_queue *q = &d->q[i];
	uint64_t desc = fdrv_alloc(d, 16 * num, (void **)&q->desc);
	uint64_t avail = fdrv_alloc(d, 6 + 2 * num, (void **)&q->avail);
	uint64_t used = fdrv_alloc(d, 6 + 8 * num, (void **)&q->used);

	q->num = num;
	mmio_wr(d->m, VIRTIO_MMIO_QUEUE_SEL, i);
	mmio_wr(d->m, VIRTIO_MMIO_QUEUE_NUM, num);
	mmio_wr(d->m, VIRTIO_MMIO_QUEUE_DESC_LOW, desc);
	mmio_wr(d->m, VIRTIO_MMIO_QUEUE_DESC_HIGH, desc >> 32);
	mmio_wr(d->m, VIRTIO_MMIO_QUEUE_AVAIL_LOW, avail);
	mmio_wr(d->m, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, avail >> 32);
	mmio_wr(d->m, VIRTIO_MMIO_QUEUE_USED_LOW, used);
	mmio_wr(d->m, VIRTIO_MMIO_QUEUE_USED_HIGH, used >> 32);
	mmio_wr(d->m, VIRTIO_MMIO_QUEUE_READY, 1);
}

/* The Linux virtio_mmio probe sequence, minus DRIVER_OK when ok is false. */
static int fdrv_init(struct fdrv *d, uint64_t want, bool ok)
{
	uint32_t st = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	uint32_t max;

	memset(d->q, 0, sizeof(d->q));
	mmio_wr(d->m, VIRTIO_MMIO_STATUS, 0);
	if (mmio_rd(d->m, VIRTIO_MMIO_MAGIC_VALUE) != 0x74726976 ||
	    mmio_rd(d->m, VIRTIO_MMIO_VERSION) != 2)
		return -ENODEV;
	mmio_wr(d->m, VIRTIO_MMIO_STATUS, st);
	write_features(d->m, device_features(d->m) & want);
	st |= VIRTIO_CONFIG_S_FEATURES_OK;
	mmio_wr(d->m, VIRTIO_MMIO_STATUS, st);
	if (!(mmio_rd(d->m, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK))
		return -ENOTSUP;
	for (uint32_t i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++) {
		mmio_wr(d->m, VIRTIO_MMIO_QUEUE_SEL, i);
		max = mmio_rd(d->m, VIRTIO_MMIO_QUEUE_NUM_MAX);

		if (max)
			fdrv_set_queue(d, i,
				       max < FDRV_QSIZE ? max : FDRV_QSIZE);
	}
	if (ok)
		mmio_wr(d->m, VIRTIO_MMIO_STATUS,
			st | VIRTIO_CONFIG_S_DRIVER_OK);
	return 0;
}

/* A driver for device m using RAM [base, base + size), the device's
 * features negotiated as far as want allows (VERSION_1 always).
 * NULL when the device refuses. Release with free(). */
struct fdrv *fdrv_start(struct virtio_mmio *m, struct guest_mem *mem,
			uint64_t base, uint64_t size, uint64_t want)
{
	struct fdrv *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	*d = (struct fdrv){ .mem = mem, .m = m, .brk = base,
			    .end = base + size };
	if (fdrv_init(d, want | 1ull << VIRTIO_F_VERSION_1, true)) {
		free(d);
		return NULL;
	}
	return d;
}

/* Queue a chain of nout device-readable then nin device-writable buffers
 * without notifying; returns its head. */
uint16_t fdrv_add(struct fdrv *d, int qi, int nout, int nin,
		  const uint64_t *gpa, const uint32_t *len)
{
	struct fdrv_queue *q = &d->q[qi];
	uint16_t head = q->next_desc;
	int n = nout + nin;

	for (int i = 0; i < n; i++) {
		struct vring_desc *e = &q->desc[q->next_desc];

		q->next_desc = (q->next_desc + 1) % q->num;
		*e = (struct vring_desc){ .addr = gpa[i], .len = len[i],
			.flags = (i >= nout ? VRING_DESC_F_WRITE : 0) |
				 (i + 1 < n ? VRING_DESC_F_NEXT : 0),
			.next = q->next_desc };
	}
	q->avail->ring[q->avail_idx % q->num] = head;
	__atomic_store_n(&q->avail->idx, ++q->avail_idx, __ATOMIC_RELEASE);
	return head;
}

/* fdrv_add, then notify the device; returns the head. */
uint16_t fdrv_post(struct fdrv *d, int qi, int nout, int nin,
		   const uint64_t *gpa, const uint32_t *len)
{
	uint16_t head = fdrv_add(d, qi, nout, nin, gpa, len);

	mmio_wr(d->m, VIRTIO_MMIO_QUEUE_NOTIFY, qi);
	return head;
}

/* Next chain the device returned on queue qi: its head, *len the bytes
 * written; -1 when none. */
int fdrv_used(struct fdrv *d, int qi, uint32_t *len)
{
	struct fdrv_queue *q = &d->q[qi];
	struct vring_used_elem *e;

	if (__atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE) == q->used_seen)
		return -1;
	e = &q->used->ring[q->used_seen++ % q->num];
	if (len)
		*len = e->len;
	return e->id;
}

/* ---- the virtqueue alone ---- */

#define RAM_SIZE	0x10000
#define DESC_GPA	0x1000
#define AVAIL_GPA	0x2000
#define USED_GPA	0x3000
#define BUF_GPA		0x4000
#define TBL_GPA		0x8000

struct ring {
	uint8_t *ram;
	struct guest_mem mem;
	struct virtqueue vq;
	struct vq_chain c;	/* the last chain popped */
	struct vring_desc *desc, *tbl;
	struct vring_avail *avail;
	struct vring_used *used;
};

static void ring_init(struct ring *r, uint16_t num, bool indirect)
{
	r->ram = calloc(1, RAM_SIZE);
	guest_mem_wrap(&r->mem, r->ram, RAM_SIZE);
	r->desc = (void *)(r->ram + DESC_GPA);
	r->tbl = (void *)(r->ram + TBL_GPA);
	r->avail = (void *)(r->ram + AVAIL_GPA);
	r->used = (void *)(r->ram + USED_GPA);
	vq_init(&r->vq, &r->mem, num, DESC_GPA, AVAIL_GPA, USED_GPA, indirect);
}

static void set_desc(struct vring_desc *t, int i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	t[i] = (struct vring_desc){ addr, len, flags, next };
}

static void make_avail(struct ring *r, uint16_t head)
{
	uint16_t idx = r->avail->idx;

	r->avail->ring[idx % r->vq.num] = head;
	r->avail->idx = idx + 1;
}

/* Pop the chain headed by descriptor 0 of a fresh ring; returns vq_pop's
 * result. */
static int pop_head0(struct ring *r)
{
	make_avail(r, 0);
	return vq_pop(&r->vq, &r->c);
}

static int pop(struct ring *r)
{
	return vq_pop(&r->vq, &r->c);
}

TEST(vq_init_validates_rings)
{
	struct ring r;

	ring_init(&r, 8, false);
	CHECK_EQ(vq_init(&r.vq, &r.mem, 8, DESC_GPA, AVAIL_GPA, USED_GPA,
			 false), 0);
	CHECK_EQ(vq_init(&r.vq, &r.mem, 6, DESC_GPA, AVAIL_GPA, USED_GPA,
			 false), -EINVAL);
	CHECK_EQ(vq_init(&r.vq, &r.mem, 0, DESC_GPA, AVAIL_GPA, USED_GPA,
			 false), -EINVAL);
	CHECK_EQ(vq_init(&r.vq, &r.mem, 8, DESC_GPA + 8, AVAIL_GPA, USED_GPA,
			 false), -EINVAL);
	CHECK_EQ(vq_init(&r.vq, &r.mem, 8, RAM_SIZE - 64, AVAIL_GPA, USED_GPA,
			 false), -EFAULT);
	CHECK_EQ(vq_init(&r.vq, &r.mem, 8, DESC_GPA, AVAIL_GPA,
			 GUEST_HIGH_START, false), -EFAULT);
	free(r.ram);
}

TEST(vq_well_formed_chain)
{
	struct ring r;

	ring_init(&r, 8, false);
	set_desc(r.desc, 0, BUF_GPA, 16, VRING_DESC_F_NEXT, 3);
	set_desc(r.desc, 3, BUF_GPA + 16, 100, VRING_DESC_F_NEXT, 5);
	set_desc(r.desc, 5, BUF_GPA + 200, 1, VRING_DESC_F_WRITE, 0);
	CHECK_EQ(pop_head0(&r), 1);
	CHECK_EQ(r.c.head, 0);
	CHECK_EQ(r.c.n, 3);
	CHECK_EQ(r.c.rlen, 116);
	CHECK_EQ(r.c.wlen, 1);
	CHECK(r.c.bufs[1].host == r.ram + BUF_GPA + 16);
	CHECK(!r.c.bufs[1].writable && r.c.bufs[2].writable);
	CHECK_EQ(pop(&r), 0);		/* nothing more */
	vq_push(&r.vq, 0, 1);
	CHECK_EQ(r.used->idx, 1);
	CHECK_EQ(r.used->ring[0].id, 0);
	CHECK_EQ(r.used->ring[0].len, 1);
	CHECK(vq_want_interrupt(&r.vq));
	r.avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	CHECK(!vq_want_interrupt(&r.vq));
	free(r.ram);
}

TEST(vq_buffer_outside_ram)
{
	struct ring r;

	ring_init(&r, 8, false);
	set_desc(r.desc, 0, RAM_SIZE + 0x1000, 16, 0, 0);
	CHECK_EQ(pop_head0(&r), -EFAULT);
	/* Starts inside RAM, runs past its end. */
	set_desc(r.desc, 0, RAM_SIZE - 10, 11, 0, 0);
	CHECK_EQ(pop(&r), -EFAULT);
	set_desc(r.desc, 0, RAM_SIZE - 10, 10, 0, 0);
	CHECK_EQ(pop(&r), 1);
	/* Address plus length wrapping around 2^64. */
	set_desc(r.desc, 0, ~0ull - 4, 16, 0, 0);
	CHECK_EQ(pop_head0(&r), -EFAULT);
	free(r.ram);
}

TEST(vq_loops_and_overlong_chains)
{
	struct ring r;

	ring_init(&r, 4, false);
	set_desc(r.desc, 0, BUF_GPA, 8, VRING_DESC_F_NEXT, 0);	/* self */
	CHECK_EQ(pop_head0(&r), -ELOOP);
	set_desc(r.desc, 0, BUF_GPA, 8, VRING_DESC_F_NEXT, 1);
	set_desc(r.desc, 1, BUF_GPA, 8, VRING_DESC_F_NEXT, 0);	/* back */
	CHECK_EQ(pop(&r), -ELOOP);
	/* Every entry once, then on: longer than the queue size. */
	for (int i = 0; i < 4; i++)
		set_desc(r.desc, i, BUF_GPA, 8, VRING_DESC_F_NEXT, (i + 1) % 4);
	CHECK_EQ(pop(&r), -ELOOP);
	set_desc(r.desc, 3, BUF_GPA, 8, VRING_DESC_F_NEXT, 4);	/* past end */
	CHECK_EQ(pop(&r), -EINVAL);
	set_desc(r.desc, 3, BUF_GPA, 8, 0, 0);
	CHECK_EQ(pop(&r), 1);
	CHECK_EQ(r.c.n, 4);
	free(r.ram);
}

TEST(vq_head_and_avail_idx_checked)
{
	struct ring r;

	ring_init(&r, 4, false);
	make_avail(&r, 7);		/* head beyond the table */
	CHECK_EQ(pop(&r), -EINVAL);
	free(r.ram);
	ring_init(&r, 4, false);
	r.avail->idx = 5;		/* more outstanding than slots */
	CHECK_EQ(pop(&r), -EINVAL);
	free(r.ram);
}

TEST(vq_readable_after_writable_rejected)
{
	struct ring r;

	ring_init(&r, 8, false);
	set_desc(r.desc, 0, BUF_GPA, 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT,
		 1);
	set_desc(r.desc, 1, BUF_GPA + 8, 8, 0, 0);
	CHECK_EQ(pop_head0(&r), -EINVAL);
	free(r.ram);
}

TEST(vq_indirect_table)
{
	struct ring r;

	ring_init(&r, 4, true);
	set_desc(r.desc, 0, TBL_GPA, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	set_desc(r.tbl, 0, BUF_GPA, 16, VRING_DESC_F_NEXT, 2);
	set_desc(r.tbl, 2, BUF_GPA + 16, 32, VRING_DESC_F_NEXT, 1);
	set_desc(r.tbl, 1, BUF_GPA + 64, 1, VRING_DESC_F_WRITE, 0);
	CHECK_EQ(pop_head0(&r), 1);
	CHECK_EQ(r.c.n, 3);
	CHECK_EQ(r.c.rlen, 48);
	CHECK_EQ(r.c.wlen, 1);
	CHECK(r.c.bufs[2].host == r.ram + BUF_GPA + 64);
	free(r.ram);
}

/* Each malformed variant of a good indirect chain, on a fresh ring. */
static int pop_indirect(bool negotiated, uint64_t addr, uint32_t len,
			uint16_t flags, uint16_t tbl1_flags)
{
	struct ring r;
	int ret;

	ring_init(&r, 4, negotiated);
	set_desc(r.desc, 0, addr, len, VRING_DESC_F_INDIRECT | flags, 1);
	set_desc(r.desc, 1, BUF_GPA, 8, 0, 0);
	set_desc(r.tbl, 0, BUF_GPA, 16, VRING_DESC_F_NEXT, 1);
	set_desc(r.tbl, 1, TBL_GPA, 32, tbl1_flags, 0);
	ret = pop_head0(&r);
	free(r.ram);
	return ret;
}

TEST(vq_bad_indirect_tables)
{
	CHECK_EQ(pop_indirect(true, TBL_GPA, 32, 0, 0), 1);	/* control */
	CHECK_EQ(pop_indirect(false, TBL_GPA, 32, 0, 0), -EINVAL);
	CHECK_EQ(pop_indirect(true, TBL_GPA, 24, 0, 0), -EINVAL);
	CHECK_EQ(pop_indirect(true, TBL_GPA, 0, 0, 0), -EINVAL);
	CHECK_EQ(pop_indirect(true, RAM_SIZE - 16, 32, 0, 0), -EFAULT);
	CHECK_EQ(pop_indirect(true, TBL_GPA, 32, VRING_DESC_F_NEXT, 0),
		 -EINVAL);
	CHECK_EQ(pop_indirect(true, TBL_GPA, 32, 0, VRING_DESC_F_INDIRECT),
		 -EINVAL);	/* nested */
	CHECK_EQ(pop_indirect(true, TBL_GPA, 32, 0, VRING_DESC_F_NEXT),
		 -ELOOP);	/* entry 1 links back to 0 */
	/* A one-entry table whose entry links past it. */
	CHECK_EQ(pop_indirect(true, TBL_GPA, 16, 0, 0), -EINVAL);
}

TEST(vq_indirect_longer_than_chain_limit)
{
	struct ring r;

	ring_init(&r, 4, true);
	set_desc(r.desc, 0, TBL_GPA, (VQ_MAX_CHAIN + 1) * 16,
		 VRING_DESC_F_INDIRECT, 0);
	for (int i = 0; i <= VQ_MAX_CHAIN; i++)
		set_desc(r.tbl, i, BUF_GPA, 4,
			 i < VQ_MAX_CHAIN ? VRING_DESC_F_NEXT : 0, i + 1);
	CHECK_EQ(pop_head0(&r), -E2BIG);
	free(r.ram);
}

TEST(vq_idx_wraparound)
{
	struct ring r;

	ring_init(&r, 4, false);
	for (int i = 0; i < 4; i++)
		set_desc(r.desc, i, BUF_GPA + 16 * i, 16, 0, 0);
	/* Both sides have been running a while: indices near 2^16. */
	r.avail->idx = 65534;
	r.vq.last_avail = 65534;
	r.used->idx = 65534;
	r.vq.used_idx = 65534;
	for (uint16_t i = 0; i < 3; i++)
		make_avail(&r, i);
	CHECK_EQ(r.avail->idx, 1);
	for (uint16_t i = 0; i < 3; i++) {
		CHECK_EQ(pop(&r), 1);
		CHECK_EQ(r.c.head, i);
		vq_push(&r.vq, r.c.head, i);
	}
	CHECK_EQ(pop(&r), 0);
	CHECK_EQ(r.used->idx, 1);
	CHECK_EQ(r.used->ring[65535 % 4].id, 1);
	CHECK_EQ(r.used->ring[0].id, 2);
	free(r.ram);
}

TEST(vq_chain_copy_helpers)
{
	struct iovec iov[4];
	struct ring r;
	uint8_t out[8];

	ring_init(&r, 4, false);
	memcpy(r.ram + BUF_GPA, "abc", 3);
	memcpy(r.ram + BUF_GPA + 100, "defgh", 5);
	set_desc(r.desc, 0, BUF_GPA, 3, VRING_DESC_F_NEXT, 1);
	set_desc(r.desc, 1, BUF_GPA + 100, 5, VRING_DESC_F_NEXT, 2);
	set_desc(r.desc, 2, BUF_GPA + 200, 2, VRING_DESC_F_WRITE |
		 VRING_DESC_F_NEXT, 3);
	set_desc(r.desc, 3, BUF_GPA + 300, 4, VRING_DESC_F_WRITE, 0);
	CHECK_EQ(pop_head0(&r), 1);
	CHECK_EQ(vq_chain_read(&r.c, 1, out, 8), 7);	/* clamped */
	CHECK(!memcmp(out, "bcdefgh", 7));
	CHECK_EQ(vq_chain_write(&r.c, 1, "WXYZ", 4), 4);
	CHECK_EQ(r.ram[BUF_GPA + 201], 'W');
	CHECK(!memcmp(r.ram + BUF_GPA + 300, "XYZ", 3));
	CHECK_EQ(vq_chain_iov(&r.c, false, 2, 3, iov, 4), 2);
	CHECK_EQ(iov[0].iov_len, 1);
	CHECK_EQ(iov[1].iov_len, 2);
	CHECK_EQ(vq_chain_iov(&r.c, true, 0, 7, iov, 4), -ERANGE);
	CHECK_EQ(vq_chain_iov(&r.c, false, 0, 8, iov, 1), -ERANGE);
	free(r.ram);
}

/* ---- the transport, with a dummy device ---- */

struct dummy {
	struct virtio_mmio mmio;
	uint8_t config[8];
	int chains, resets;
};

static int dummy_notify(void *dev, uint16_t q)
{
	struct dummy *d = dev;
	struct virtqueue *vq = virtio_mmio_queue(&d->mmio, q);
	struct vq_chain c;
	int r;

	while ((r = vq_pop(vq, &c)) > 0) {
		d->chains++;
		vq_push(vq, c.head, c.wlen);
		virtio_mmio_used(&d->mmio, q);
	}
	return r;
}

static void dummy_reset(void *dev)
{
	((struct dummy *)dev)->resets++;
}

static const struct virtio_dev_ops dummy_ops = {
	.name = "dummy",
	.device_id = 42,
	.num_queues = 2,
	.queue_max = 64,
	.features = 1ull << 3,
	.config_len = 6,
	.queue_notify = dummy_notify,
	.reset = dummy_reset,
};

struct bench {
	uint8_t *ram;
	struct guest_mem mem;
	struct dummy dev;
	int edges;
};

static void bench_init(struct bench *b)
{
	memset(b, 0, sizeof(*b));
	b->ram = calloc(1, RAM_SIZE);
	guest_mem_wrap(&b->mem, b->ram, RAM_SIZE);
	memcpy(b->dev.config, "CHARIOT!", 8);
	virtio_mmio_init(&b->dev.mmio, &dummy_ops, &b->dev, b->dev.config,
			 &b->mem, test_irq(&b->edges), NULL);
}

/* bench_init, then a driver started on it; a failure fails the test. */
static struct fdrv *bench_start(struct bench *b, int *failed)
{
	struct fdrv *d;

	bench_init(b);
	d = fdrv_start(&b->dev.mmio, &b->mem, 0x1000, 0x4000, 0);
	CHECK(d != NULL);
	return d;
}

static void bench_fini(struct bench *b)
{
	virtio_mmio_destroy(&b->dev.mmio);
	free(b->ram);
}

TEST(mmio_identity_and_config)
{
	struct virtio_mmio *m;
	struct bench b;
	uint16_t w = 0;
	uint8_t byte = 0;

	bench_init(&b);
	m = &b.dev.mmio;
	CHECK_EQ(mmio_rd(m, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	CHECK_EQ(mmio_rd(m, VIRTIO_MMIO_VERSION), 2);
	CHECK_EQ(mmio_rd(m, VIRTIO_MMIO_DEVICE_ID), 42);
	CHECK_EQ(mmio_rd(m, VIRTIO_MMIO_CONFIG), 0x52414843);	/* "CHAR" */
	virtio_mmio_io(m, VIRTIO_MMIO_CONFIG + 4, (uint8_t *)&w, 2, false);
	CHECK_EQ(w, 0x4f49);					/* "IO" */
	CHECK_EQ(mmio_rd(m, VIRTIO_MMIO_CONFIG + 4), 0x4f49);	/* clipped */
	virtio_mmio_io(m, VIRTIO_MMIO_CONFIG + 2, &byte, 1, false);
	CHECK_EQ(byte, 'A');
	mmio_wr(m, VIRTIO_MMIO_QUEUE_SEL, 1);
	CHECK_EQ(mmio_rd(m, VIRTIO_MMIO_QUEUE_NUM_MAX), 64);
	mmio_wr(m, VIRTIO_MMIO_QUEUE_SEL, 2);
	CHECK_EQ(mmio_rd(m, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	bench_fini(&b);
}

TEST(mmio_feature_negotiation)
{
	uint32_t st = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		      VIRTIO_CONFIG_S_FEATURES_OK;
	uint64_t v1 = 1ull << VIRTIO_F_VERSION_1;
	struct virtio_mmio *m;
	struct bench b;

	bench_init(&b);
	m = &b.dev.mmio;
	CHECK_EQ(device_features(m), v1 | 1ull << VIRTIO_RING_F_INDIRECT_DESC |
		 1ull << 3);
	/* Legacy driver (no VERSION_1): refused. */
	write_features(m, 1ull << 3);
	mmio_wr(m, VIRTIO_MMIO_STATUS, st);
	CHECK(!(mmio_rd(m, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK));
	/* A bit never offered: refused. */
	write_features(m, v1 | 1ull << 5);
	mmio_wr(m, VIRTIO_MMIO_STATUS, st);
	CHECK(!(mmio_rd(m, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK));
	write_features(m, v1 | 1ull << 3);
	mmio_wr(m, VIRTIO_MMIO_STATUS, st);
	CHECK_EQ(mmio_rd(m, VIRTIO_MMIO_STATUS), st);
	/* Frozen once accepted. */
	write_features(m, 0);
	CHECK_EQ(b.dev.mmio.drv_features, v1 | 1ull << 3);
	bench_fini(&b);
}

TEST(mmio_queue_setup_and_notify)
{
	uint64_t gpa[2] = { 0x9000, 0x9100 };
	uint32_t len[2] = { 16, 32 }, got = 0;
	struct virtio_mmio *m;
	struct bench b;
	struct fdrv *d;

	d = bench_start(&b, failed);
	m = &b.dev.mmio;
	if (!d)
		goto out;
	mmio_wr(m, VIRTIO_MMIO_QUEUE_SEL, 1);
	CHECK_EQ(mmio_rd(m, VIRTIO_MMIO_QUEUE_READY), 1);
	fdrv_post(d, 1, 1, 1, gpa, len);
	CHECK_EQ(b.dev.chains, 1);
	CHECK_EQ(fdrv_used(d, 1, &got), 0);
	CHECK_EQ(got, 32);
	CHECK_EQ(mmio_rd(m, VIRTIO_MMIO_INTERRUPT_STATUS),
		 VIRTIO_MMIO_INT_VRING);
	CHECK_EQ(b.edges, 1);
	mmio_wr(m, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	CHECK_EQ(mmio_rd(m, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	/* Suppressed by the driver: used, but no interrupt. */
	d->q[1].avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	fdrv_post(d, 1, 1, 0, gpa, len);
	CHECK_EQ(fdrv_used(d, 1, &got), 2);	/* after the first's 2 descs */
	CHECK_EQ(b.edges, 1);
	free(d);
out:
	bench_fini(&b);
}

TEST(mmio_kick_before_driver_ok_deferred)
{
	uint64_t gpa = 0x9000;
	uint32_t len = 8;
	struct bench b;
	struct fdrv d = { .mem = &b.mem, .brk = 0x1000, .end = 0x5000 };

	bench_init(&b);
	d.m = &b.dev.mmio;
	CHECK_EQ(fdrv_init(&d, ~0ull, false), 0);
	fdrv_post(&d, 0, 1, 0, &gpa, &len);
	CHECK_EQ(b.dev.chains, 0);
	mmio_wr(d.m, VIRTIO_MMIO_STATUS, mmio_rd(d.m, VIRTIO_MMIO_STATUS) |
		VIRTIO_CONFIG_S_DRIVER_OK);
	CHECK_EQ(b.dev.chains, 1);
	bench_fini(&b);
}

TEST(mmio_reset)
{
	struct virtio_mmio *m;
	struct bench b;
	struct fdrv *d;

	d = bench_start(&b, failed);
	m = &b.dev.mmio;
	b.dev.resets = 0;
	mmio_wr(m, VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ(b.dev.resets, 1);
	CHECK_EQ(mmio_rd(m, VIRTIO_MMIO_STATUS), 0);
	mmio_wr(m, VIRTIO_MMIO_QUEUE_SEL, 0);
	CHECK_EQ(mmio_rd(m, VIRTIO_MMIO_QUEUE_READY), 0);
	CHECK_EQ(b.dev.mmio.drv_features, 0);
	CHECK(virtio_mmio_queue(m, 0) == NULL);
	free(d);
	bench_fini(&b);
}

TEST(mmio_malformed_chain_needs_reset)
{
	uint64_t gpa = 0x9000;
	uint32_t len = 8;
	struct virtio_mmio *m;
	struct bench b;
	struct fdrv *d;
	uint16_t head;

	d = bench_start(&b, failed);
	m = &b.dev.mmio;
	if (!d)
		goto out;
	head = fdrv_add(d, 0, 1, 0, &gpa, &len);
	d->q[0].desc[head].flags = VRING_DESC_F_NEXT;	/* loop onto itself */
	d->q[0].desc[head].next = head;
	mmio_wr(m, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK(mmio_rd(m, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	CHECK_EQ(virtio_mmio_errors(m), 1);
	CHECK(mmio_rd(m, VIRTIO_MMIO_INTERRUPT_STATUS) &
	      VIRTIO_MMIO_INT_CONFIG);
	/* The queue is dead until reset: a good chain is not taken. */
	fdrv_post(d, 0, 1, 0, &gpa, &len);
	CHECK_EQ(b.dev.chains, 0);
	CHECK_EQ(virtio_mmio_errors(m), 1);
	free(d);
	/* After a reset the driver starts over and all is well. */
	d = fdrv_start(m, &b.mem, 0x5000, 0x4000, 0);
	CHECK(d != NULL);
	if (!d)
		goto out;
	CHECK(!(mmio_rd(m, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET));
	fdrv_post(d, 0, 1, 0, &gpa, &len);
	CHECK_EQ(b.dev.chains, 1);
	CHECK_EQ(fdrv_used(d, 0, NULL), 0);
	free(d);
out:
	bench_fini(&b);
}

TEST(mmio_bad_ring_address_refused)
{
	struct virtio_mmio *m;
	struct bench b;

	bench_init(&b);
	m = &b.dev.mmio;
	mmio_wr(m, VIRTIO_MMIO_QUEUE_SEL, 0);
	mmio_wr(m, VIRTIO_MMIO_QUEUE_NUM, 16);
	mmio_wr(m, VIRTIO_MMIO_QUEUE_DESC_LOW, RAM_SIZE - 16);
	mmio_wr(m, VIRTIO_MMIO_QUEUE_AVAIL_LOW, 0x2000);
	mmio_wr(m, VIRTIO_MMIO_QUEUE_USED_LOW, 0x3000);
	mmio_wr(m, VIRTIO_MMIO_QUEUE_READY, 1);
	CHECK_EQ(mmio_rd(m, VIRTIO_MMIO_QUEUE_READY), 0);
	CHECK(mmio_rd(m, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	/* Too large for QueueNumMax: refused too. */
	mmio_wr(m, VIRTIO_MMIO_QUEUE_NUM, 128);
	mmio_wr(m, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1000);
	mmio_wr(m, VIRTIO_MMIO_QUEUE_READY, 1);
	CHECK_EQ(mmio_rd(m, VIRTIO_MMIO_QUEUE_READY), 0);
	CHECK_EQ(virtio_mmio_errors(m), 2);
	bench_fini(&b);
}
