/* fuzz_virtio.c - a hostile guest against the virtio devices (libFuzzer).
 *
 * The guest owns everything a virtio device reads: its registers' values,
 * the rings, the descriptors, the buffers.  This target plays a guest
 * that writes anything there: raw register accesses of every width and
 * offset, raw pokes into RAM, and, so that coverage gets past the probe
 * handshake, a few steps of a real driver (the handshake with a chosen
 * feature set and queue size; a chain of chosen descriptors made
 * available and notified; a block request, a frame sent from one net
 * device to the other, each built from a few bytes).
 * Devices: one virtio-blk on a scratch disk and a virtio-net pair (what
 * one transmits the other receives).
 *
 * Guest RAM is a malloc'd block of FZ_RAM bytes, so a device touching a
 * byte outside it is an AddressSanitizer report.  Besides the sanitizers
 * (and libFuzzer's leak check), after every step:
 *  - a device that counted malformed input in that step has
 *    DEVICE_NEEDS_RESET in its status (the guest is told, the queue is
 *    not used again until reset);
 *  - the blk device wrote its disk only where a request said to, and a
 *    read brought back what is there: the disk is compared with a shadow
 *    kept from the requests this target made (blk_predict, blk_served);
 *  - a frame sent arrives byte for byte (step_net_xfer);
 *  - every used-ring entry a device published names a descriptor head in
 *    range and, for a chain this target made through the chain step, a
 *    length no greater than the chain's device-writable bytes.
 *
 * Input: a sequence of steps, each an opcode byte and its operands; a
 * step cut short by the end of the input is not run. */
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/virtio_blk.h"
#include "devices/virtio_net.h"
#include "fuzz_input.h"
#include "../common/virtio_regs.h"

#define FZ_RAM		0x10000u	/* 64 KiB of guest RAM */
#define FZ_DEVS		3		/* blk, net a, net b */
#define FZ_REGION	0x4000u		/* RAM per device for the driver steps */
#define FZ_QMAX		64		/* largest queue the handshake sets up */
#define FZ_DISK		(64 * 512)	/* scratch disk: 64 sectors */

/* Where the handshake step puts queue q of device d: its descriptor
 * table, avail and used rings, inside the device's region. */
#define Q_DESC(d, q)	((d) * FZ_REGION + (q) * 0x2000u)
#define Q_AVAIL(d, q)	(Q_DESC(d, q) + 0x400u)
#define Q_USED(d, q)	(Q_DESC(d, q) + 0x800u)

struct fz_queue {
	uint16_t num;		/* 0: not set up by the handshake step */
	uint16_t next_desc, avail_idx, used_seen;
	/* Per head: device-writable bytes of the chain made there by the
	 * chain step, or UINT32_MAX when the step did not make it. */
	uint32_t wlen[FZ_QMAX];
};

/* What a blk request (a chain or request step's) must do to the disk,
 * known before the device sees it.  The model covers chains of a 16-byte
 * readable header, data descriptors, and a status descriptor; anything
 * else it cannot vouch for (UNKNOWN), and the disk check stops for the
 * rest of the input. */
struct blk_expect {
	enum { BLK_NONE, BLK_UNKNOWN, BLK_OUT, BLK_IN } kind;
	uint64_t sector;
	uint32_t len;
	uint8_t data[FZ_DISK];		/* OUT: the bytes to land */
	const struct vring_desc *d;	/* IN: where they must arrive */
	int n;
};

struct fz_world {
	struct guest_mem mem;
	uint8_t *ram;
	struct virtio_blk *blk;
	struct virtio_net *net_a, *net_b;
	struct virtio_mmio *m[FZ_DEVS];
	struct fz_queue q[FZ_DEVS][2];
	uint8_t shadow[FZ_DISK];	/* what the disk must hold */
	bool shadow_valid;
	struct blk_expect expect;	/* of the chain being made */
	/* Per device: a chain waiting there may be written, whenever the
	 * device gets to it (a receive buffer: when a frame comes), over a
	 * ring: a buffer over one, or links and tables this target cannot
	 * follow.  Until that device is reset no used ring is checked. */
	bool wild[FZ_DEVS];
};

/* The scratch disk: one memfd, rewritten for every input so that inputs
 * do not see each other's writes (a fuzz target must be deterministic). */
static int disk_fd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	disk_fd = memfd_create("chariot-fuzz-disk", 0);
	if (disk_fd < 0) {
		perror("memfd_create");
		abort();
	}
	return 0;
}

/* ---- the world ---- */

static bool world_open(struct fz_world *w)
{
	char path[64], err[256];
	struct irq_line irq = { 0 };	/* interrupts: nothing to check */

	memset(w, 0, sizeof(*w));
	w->ram = calloc(1, FZ_RAM);
	if (!w->ram)
		return false;
	guest_mem_wrap(&w->mem, w->ram, FZ_RAM);
	/* Patterns, not zeros, in RAM and on the disk: a write landing at
	 * the wrong place, or a read from it, then shows. */
	for (uint32_t i = 0; i < FZ_RAM; i++)
		w->ram[i] = (uint8_t)(i * 7 + (i >> 8));
	for (uint32_t i = 0; i < FZ_DISK; i++)
		w->shadow[i] = (uint8_t)(i * 13 + (i >> 9) + 1);
	if (ftruncate(disk_fd, 0) ||
	    pwrite(disk_fd, w->shadow, FZ_DISK, 0) != FZ_DISK)
		abort();
	w->shadow_valid = true;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", disk_fd);
	if (virtio_blk_create(&w->blk, &w->mem, irq, path, err, sizeof(err)) ||
	    virtio_net_pair_create(&w->net_a, &w->net_b, &w->mem, irq, irq,
				   err, sizeof(err))) {
		fprintf(stderr, "fuzz_virtio: %s\n", err);
		abort();
	}
	w->m[0] = virtio_blk_transport(w->blk);
	w->m[1] = virtio_net_transport(w->net_a);
	w->m[2] = virtio_net_transport(w->net_b);
	return true;
}

static void world_close(struct fz_world *w)
{
	virtio_blk_destroy(w->blk);
	virtio_net_destroy(w->net_a);
	virtio_net_destroy(w->net_b);
	free(w->ram);
}

/* ---- the steps ---- */

static void forget_chains(struct fz_world *w);
static bool over_ring(uint32_t addr, uint32_t len);

/* The register an access goes to, and its width: with bit 7 of the width
 * byte clear, one of the transport's registers (a 4-byte access, as the
 * spec asks) or a byte of config space; set, any offset up to twice the
 * window (the bus never passes those, but the handler must not trust
 * that) and any width of 1, 2, 4 or 8. */
static bool take_reg(struct fz_in *in, uint8_t *dev, uint64_t *off,
		     uint32_t *width)
{
	static const uint16_t regs[] = {
		VIRTIO_MMIO_MAGIC_VALUE, VIRTIO_MMIO_VERSION,
		VIRTIO_MMIO_DEVICE_ID, VIRTIO_MMIO_VENDOR_ID,
		VIRTIO_MMIO_DEVICE_FEATURES, VIRTIO_MMIO_DEVICE_FEATURES_SEL,
		VIRTIO_MMIO_DRIVER_FEATURES, VIRTIO_MMIO_DRIVER_FEATURES_SEL,
		VIRTIO_MMIO_QUEUE_SEL, VIRTIO_MMIO_QUEUE_NUM_MAX,
		VIRTIO_MMIO_QUEUE_NUM, VIRTIO_MMIO_QUEUE_READY,
		VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_MMIO_INTERRUPT_STATUS,
		VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_STATUS,
		VIRTIO_MMIO_QUEUE_DESC_LOW, VIRTIO_MMIO_QUEUE_DESC_HIGH,
		VIRTIO_MMIO_QUEUE_AVAIL_LOW, VIRTIO_MMIO_QUEUE_AVAIL_HIGH,
		VIRTIO_MMIO_QUEUE_USED_LOW, VIRTIO_MMIO_QUEUE_USED_HIGH,
		VIRTIO_MMIO_CONFIG_GENERATION,
	};
	static const uint32_t widths[4] = { 1, 2, 4, 8 };
	uint8_t w;
	uint16_t o;

	if (!take8(in, dev) || !take16(in, &o) || !take8(in, &w))
		return false;
	*dev %= FZ_DEVS;
	if (w & 0x80) {
		*off = o % (2 * VIRTIO_MMIO_SIZE);
		*width = widths[w % 4];
	} else if (o & 0x8000) {
		*off = VIRTIO_MMIO_CONFIG + o % 64;
		*width = widths[w % 3];
	} else {
		*off = regs[o % (sizeof(regs) / sizeof(regs[0]))];
		*width = 4;
	}
	return true;
}

static void step_reg_write(struct fz_world *w, struct fz_in *in)
{
	uint8_t dev;
	uint64_t off, v;
	uint32_t width;

	if (!take_reg(in, &dev, &off, &width) || !take(in, &v, sizeof(v)))
		return;
	virtio_mmio_io(w->m[dev], off, (uint8_t *)&v, width, true);
	/* The queues may now be elsewhere, another size, or reset: the
	 * used-ring checks hold again after the next handshake. */
	w->q[dev][0].num = 0;
	w->q[dev][1].num = 0;
	if (dev == 0)
		w->shadow_valid = false;
}

static void step_reg_read(struct fz_world *w, struct fz_in *in)
{
	uint8_t dev;
	uint64_t off, v = 0;
	uint32_t width;

	if (take_reg(in, &dev, &off, &width))
		virtio_mmio_io(w->m[dev], off, (uint8_t *)&v, width, false);
}

static void step_poke(struct fz_world *w, struct fz_in *in)
{
	uint16_t addr;
	uint8_t len, buf[255];

	if (!take16(in, &addr) || !take8(in, &len) || !take(in, buf, len))
		return;
	if (addr + len > FZ_RAM)
		len = FZ_RAM - addr;
	memcpy(w->ram + addr, buf, len);
	/* Rewriting a ring may rewrite a chain the bookkeeping knows; a
	 * buffer alone changes nothing the checks rely on. */
	if (over_ring(addr, len))
		forget_chains(w);
}

/* The Linux probe sequence with the features the input asks for (what
 * the device offers, masked) and queues of 2^k entries. */
static void step_handshake(struct fz_world *w, struct fz_in *in)
{
	uint8_t dev, logn, ok;
	uint64_t want;
	struct virtio_mmio *m;
	uint32_t st = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	if (!take8(in, &dev) || !take(in, &want, sizeof(want)) ||
	    !take8(in, &logn) || !take8(in, &ok))
		return;
	dev %= FZ_DEVS;
	m = w->m[dev];
	mmio_wr(m, VIRTIO_MMIO_STATUS, 0);	/* drops every chain waiting */
	/* What a wild chain wrote may be in any ring: each device's used
	 * ring is checked again after its next handshake. */
	if (w->wild[dev])
		forget_chains(w);
	w->wild[dev] = false;
	memset(w->q[dev], 0, sizeof(w->q[dev]));
	mmio_wr(m, VIRTIO_MMIO_STATUS, st);
	write_features(m, device_features(m) & want);
	st |= VIRTIO_CONFIG_S_FEATURES_OK;
	mmio_wr(m, VIRTIO_MMIO_STATUS, st);
	for (uint32_t i = 0; i < 2; i++) {
		uint32_t max, num = 1u << (logn % 7);

		mmio_wr(m, VIRTIO_MMIO_QUEUE_SEL, i);
		max = mmio_rd(m, VIRTIO_MMIO_QUEUE_NUM_MAX);
		if (!max)
			continue;
		if (num > max)
			num = max;
		memset(w->ram + Q_DESC(dev, i), 0, 0xc00);
		mmio_wr(m, VIRTIO_MMIO_QUEUE_NUM, num);
		mmio_wr(m, VIRTIO_MMIO_QUEUE_DESC_LOW, Q_DESC(dev, i));
		mmio_wr(m, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
		mmio_wr(m, VIRTIO_MMIO_QUEUE_AVAIL_LOW, Q_AVAIL(dev, i));
		mmio_wr(m, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
		mmio_wr(m, VIRTIO_MMIO_QUEUE_USED_LOW, Q_USED(dev, i));
		mmio_wr(m, VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
		mmio_wr(m, VIRTIO_MMIO_QUEUE_READY, 1);
		w->q[dev][i].num = num;
		for (uint32_t h = 0; h < FZ_QMAX; h++)
			w->q[dev][i].wlen[h] = UINT32_MAX;
	}
	if (ok & 1)
		mmio_wr(m, VIRTIO_MMIO_STATUS, st | VIRTIO_CONFIG_S_DRIVER_OK);
}

/* Does [addr, addr + len) overlap a ring the handshake step placed? */
static bool over_ring(uint32_t addr, uint32_t len)
{
	for (uint32_t k = 0; k < FZ_DEVS * 2; k++)
		if (addr < k * 0x2000u + 0xc00u && addr + len > k * 0x2000u)
			return true;
	return false;
}

static void blk_predict(struct fz_world *w, const struct vring_desc *d,
			int n, struct blk_expect *x)
{
	struct virtio_blk_outhdr h;
	bool out;

	x->kind = BLK_UNKNOWN;
	if (n < 3 || d[0].len != sizeof(h) || (d[0].flags & VRING_DESC_F_WRITE))
		return;
	memcpy(&h, w->ram + d[0].addr, sizeof(h));
	if (h.type != VIRTIO_BLK_T_OUT && h.type != VIRTIO_BLK_T_IN) {
		x->kind = BLK_NONE;	/* flushes, ids, unknown types */
		return;
	}
	out = h.type == VIRTIO_BLK_T_OUT;
	if (!(d[n - 1].flags & VRING_DESC_F_WRITE) || d[n - 1].len != 1)
		return;
	x->len = 0;
	for (int i = 1; i < n - 1; i++) {
		if (!(d[i].flags & VRING_DESC_F_WRITE) != out ||
		    x->len + d[i].len > sizeof(x->data))
			return;
		/* An IN's buffers must not overlap: else which byte lands
		 * last is the device's business. */
		for (int j = 1; !out && j < n; j++)
			if (j != i && d[j].addr < d[i].addr + d[i].len &&
			    d[i].addr < d[j].addr + d[j].len)
				return;
		if (out)
			memcpy(x->data + x->len, w->ram + d[i].addr, d[i].len);
		x->len += d[i].len;
	}
	if (x->len % 512 || h.sector > FZ_DISK / 512 ||
	    x->len / 512 > FZ_DISK / 512 - h.sector) {
		x->kind = BLK_NONE;	/* refused with IOERR */
		return;
	}
	x->kind = out ? BLK_OUT : BLK_IN;
	x->sector = h.sector;
	x->d = d;
	x->n = n;
}

/* The request was served: an OUT's bytes are now the disk's; an IN must
 * have brought the disk's bytes. */
static void blk_served(struct fz_world *w, const struct blk_expect *x)
{
	uint32_t off = 0;

	if (x->kind == BLK_OUT) {
		memcpy(w->shadow + x->sector * 512, x->data, x->len);
		return;
	}
	if (x->kind != BLK_IN)
		return;
	for (int i = 1; i < x->n - 1; i++) {
		if (memcmp(w->ram + x->d[i].addr,
			   w->shadow + x->sector * 512 + off, x->d[i].len)) {
			fprintf(stderr, "blk: a read did not bring the disk's "
				"bytes (sector %llu)\n",
				(unsigned long long)x->sector);
			abort();
		}
		off += x->d[i].len;
	}
}

/* Make the chain d[0..n) available on queue qi of dev and notify, with
 * the bookkeeping the checks need.  Descriptor i is linked to the next
 * unless bit i of raw is set: then its flags and next are as given.  A
 * raw_head >= 0 goes into the avail ring instead of the chain's head. */
static void make_chain(struct fz_world *w, int dev, int qi,
		       const struct vring_desc *d, int n, unsigned int raw,
		       int raw_head)
{
	struct fz_queue *q = &w->q[dev][qi];
	struct blk_expect *x = &w->expect;
	struct vring_avail *avail;
	const struct vring_used *u;
	uint32_t wlen = 0;
	bool sane = true, over = false;
	uint16_t head;

	if (!q->num)
		return;
	if (raw || raw_head >= 0) {
		sane = false;	/* not the chain the bookkeeping knows */
		w->wild[dev] = true;
	}
	for (int i = 0; i < n; i++) {
		/* An indirect table is whatever the pokes put there. */
		if (d[i].flags & VRING_DESC_F_INDIRECT) {
			sane = false;
			w->wild[dev] = true;
		}
		if (over_ring(d[i].addr, d[i].len)) {
			over = true;
			if (d[i].flags & VRING_DESC_F_WRITE)
				w->wild[dev] = true;
		}
		if (d[i].addr + d[i].len > FZ_RAM || over)
			sane = false;
		if (d[i].flags & VRING_DESC_F_WRITE)
			wlen += d[i].len;
	}
	/* Chains still waiting may have their descriptors overwritten by
	 * this one, and a chain longer than the queue its own head. */
	if (q->avail_idx != q->used_seen || n > q->num) {
		for (uint32_t h = 0; h < FZ_QMAX; h++)
			q->wlen[h] = UINT32_MAX;
		w->shadow_valid = false;
		sane = false;
	}
	x->kind = BLK_UNKNOWN;
	if (dev == 0 && qi == 0 && sane)
		blk_predict(w, d, n, x);
	head = q->next_desc;
	for (int i = 0; i < n; i++) {
		struct vring_desc *e = (struct vring_desc *)
			(w->ram + Q_DESC(dev, qi)) + q->next_desc;

		q->next_desc = (q->next_desc + 1) % q->num;
		*e = d[i];
		if (i + 1 < n && !(raw & 1u << i)) {
			e->flags |= VRING_DESC_F_NEXT;
			e->next = q->next_desc;
		}
	}
	q->wlen[head] = sane ? wlen : UINT32_MAX;
	avail = (struct vring_avail *)(w->ram + Q_AVAIL(dev, qi));
	avail->ring[q->avail_idx % q->num] = raw_head >= 0 ? raw_head : head;
	avail->idx = ++q->avail_idx;
	mmio_wr(w->m[dev], VIRTIO_MMIO_QUEUE_NOTIFY, qi);
	/* A device writing into a buffer over a ring writes the ring. */
	if (over) {
		forget_chains(w);
		return;
	}
	if (dev != 0 || qi != 0)
		return;
	/* Served now (exactly this chain), or the disk is unknown. */
	u = (const struct vring_used *)(w->ram + Q_USED(dev, qi));
	if (x->kind == BLK_UNKNOWN || u->idx != (uint16_t)(q->used_seen + 1) ||
	    u->ring[q->used_seen % q->num].id != head)
		w->shadow_valid = false;
	else if (w->shadow_valid)
		blk_served(w, x);
}

/* A chain of up to 8 descriptors, each as the input describes it: any
 * address and length, device-writable or not, indirect or not; with bit
 * 0x80 of its flags, its own NEXT flag and next index (a link out of the
 * table, a loop); with bit 0x80 of the count, the avail ring gets a head
 * index of the input's choosing. */
static void step_chain(struct fz_world *w, struct fz_in *in)
{
	uint8_t dev, qi, n, flags;
	uint16_t addr, len, next, head;
	struct vring_desc d[8];
	unsigned int raw = 0;
	int raw_head = -1;

	if (!take8(in, &dev) || !take8(in, &qi) || !take8(in, &n))
		return;
	if (n & 0x80) {
		if (!take16(in, &head))
			return;
		raw_head = head;
	}
	n = n % 8 + 1;
	for (int i = 0; i < n; i++) {
		if (!take8(in, &flags) || !take16(in, &addr) ||
		    !take16(in, &len))
			return;
		d[i] = (struct vring_desc){ .addr = addr, .len = len,
			.flags = flags & (VRING_DESC_F_WRITE |
					  VRING_DESC_F_INDIRECT) };
		if (flags & 0x80) {
			if (!take16(in, &next))
				return;
			d[i].flags |= flags & VRING_DESC_F_NEXT;
			d[i].next = next;
			raw |= 1u << i;
		}
	}
	make_chain(w, dev % FZ_DEVS, qi % 2, d, n, raw, raw_head);
}

/* A block request as a driver makes it, from a few bytes: type, sector
 * (a little past the disk's end too), up to 4 data buffers of 0-2
 * sectors, and for a write the byte its data pattern starts from.  The
 * header, data and status go in RAM above the device regions. */
#define REQ_HDR		0xc000u
#define REQ_STATUS	0xc010u
#define REQ_DATA	0xd000u
static void step_blk_req(struct fz_world *w, struct fz_in *in)
{
	uint8_t type, sector, nseg, fill, segs[4];
	struct virtio_blk_outhdr h = { 0 };
	struct vring_desc d[6];
	uint32_t at = REQ_DATA;
	int n = 0;

	if (!take8(in, &type) || !take8(in, &sector) || !take8(in, &nseg) ||
	    !take8(in, &fill))
		return;
	nseg = nseg % 4 + 1;
	if (!take(in, segs, nseg))
		return;
	static const uint32_t types[4] = { VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT,
		VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_GET_ID };
	h.type = types[type % 4];
	h.sector = sector % (FZ_DISK / 512 + 8);
	memcpy(w->ram + REQ_HDR, &h, sizeof(h));
	d[n++] = (struct vring_desc){ .addr = REQ_HDR, .len = sizeof(h) };
	for (int i = 0; i < nseg; i++) {
		uint32_t len = segs[i] % 3 * 512;

		for (uint32_t j = 0; h.type == VIRTIO_BLK_T_OUT && j < len; j++)
			w->ram[at + j] = (uint8_t)(fill + (at + j) * 31);
		d[n++] = (struct vring_desc){ .addr = at, .len = len,
			.flags = h.type == VIRTIO_BLK_T_OUT ? 0 :
				 VRING_DESC_F_WRITE };
		at += len;
	}
	d[n++] = (struct vring_desc){ .addr = REQ_STATUS, .len = 1,
				      .flags = VRING_DESC_F_WRITE };
	make_chain(w, 0, 0, d, n, 0, -1);
}

static void step_notify(struct fz_world *w, struct fz_in *in)
{
	uint8_t dev;
	uint16_t q;

	if (!take8(in, &dev) || !take16(in, &q))
		return;
	mmio_wr(w->m[dev % FZ_DEVS], VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

/* A raw poke over a ring may have rewritten a chain the bookkeeping
 * knows, or the used ring itself: the used-ring and disk checks hold
 * again after the next handshake. */
static void forget_chains(struct fz_world *w)
{
	for (int d = 0; d < FZ_DEVS; d++)
		for (int i = 0; i < 2; i++)
			w->q[d][i].num = 0;
	w->shadow_valid = false;
}

/* ---- the checks ---- */

static void check_used(struct fz_world *w, int dev, int qi)
{
	struct fz_queue *q = &w->q[dev][qi];
	const struct vring_used *u;

	if (!q->num)
		return;
	u = (const struct vring_used *)(w->ram + Q_USED(dev, qi));
	while (q->used_seen != u->idx) {
		const struct vring_used_elem *e = &u->ring[q->used_seen % q->num];

		if (e->id >= q->num) {
			fprintf(stderr, "dev %d q %d: used id %u >= %u\n",
				dev, qi, e->id, q->num);
			abort();
		}
		if (q->wlen[e->id] != UINT32_MAX && e->len > q->wlen[e->id]) {
			fprintf(stderr, "dev %d q %d: used len %u > %u "
				"writable\n", dev, qi, e->len, q->wlen[e->id]);
			abort();
		}
		q->used_seen++;
	}
}

static bool any_wild(const struct fz_world *w)
{
	for (int d = 0; d < FZ_DEVS; d++)
		if (w->wild[d])
			return true;
	return false;
}

static void check(struct fz_world *w, const uint64_t before[FZ_DEVS])
{
	uint8_t disk[FZ_DISK];
	bool wild = any_wild(w);	/* a ring may hold anything */

	for (int d = 0; d < FZ_DEVS; d++) {
		if (virtio_mmio_errors(w->m[d]) != before[d] &&
		    !(mmio_rd(w->m[d], VIRTIO_MMIO_STATUS) &
		      VIRTIO_CONFIG_S_NEEDS_RESET)) {
			fprintf(stderr, "dev %d: malformed input counted, "
				"NEEDS_RESET not set\n", d);
			abort();
		}
	}
	for (int d = 0; d < FZ_DEVS && !wild; d++) {
		check_used(w, d, 0);
		check_used(w, d, 1);
	}
	if (!w->shadow_valid)
		return;
	if (pread(disk_fd, disk, sizeof(disk), 0) != sizeof(disk))
		abort();
	if (memcmp(disk, w->shadow, sizeof(disk))) {
		fprintf(stderr, "blk: the disk differs from what was written\n");
		abort();
	}
}

/* A frame sent from one net device to the other as drivers do it: the
 * receiver posts a buffer (too small, or room to spare), the sender a
 * 12-byte header and the frame (a pattern from a byte).  When the
 * receiver had no other buffer waiting and this one was not taken by an
 * earlier frame, and the used ring returns it after the send: a buffer
 * with room holds the header and exactly the frame, with the length
 * said; one too small comes back empty. */
#define NET_HDR		12u
#define NET_RX		0xc400u		/* receive buffer, up to 2 KiB */
#define NET_TXH		0xc300u
#define NET_TX		0xe800u		/* the frame, up to 1514 bytes */
static void step_net_xfer(struct fz_world *w, struct fz_in *in)
{
	uint8_t dir, fill, room;
	uint16_t flen;
	int rx = 1, tx = 2;
	struct fz_queue *q;
	const struct vring_used *u;
	struct vring_desc rd, td[2];
	uint16_t head, before;
	uint32_t rlen, want;
	bool alone;

	if (!take8(in, &dir) || !take16(in, &flen) || !take8(in, &fill) ||
	    !take8(in, &room))
		return;
	if (dir & 1) {
		rx = 2;
		tx = 1;
	}
	flen %= 1515;
	want = NET_HDR + flen;
	rlen = room & 1 ? want - (room >> 1) % (want + 1) :
			  want + (room >> 1);
	q = &w->q[rx][0];
	/* the sender's chain is two descriptors: in a queue of one it
	 * would overwrite its own head */
	if (!q->num || w->q[tx][1].num < 2)
		return;
	/* Another buffer waiting would take the frame first. */
	alone = q->avail_idx == q->used_seen;

	u = (const struct vring_used *)(w->ram + Q_USED(rx, 0));
	head = q->next_desc;
	rd = (struct vring_desc){ .addr = NET_RX, .len = rlen,
				  .flags = VRING_DESC_F_WRITE };
	memset(w->ram + NET_RX, 0xee, rlen);
	make_chain(w, rx, 0, &rd, 1, 0, -1);
	before = u->idx;	/* a backlogged frame may have taken it */
	memset(w->ram + NET_TXH, 0, NET_HDR);
	for (uint32_t i = 0; i < flen; i++)
		w->ram[NET_TX + i] = (uint8_t)(fill + i * 29);
	td[0] = (struct vring_desc){ .addr = NET_TXH, .len = NET_HDR };
	td[1] = (struct vring_desc){ .addr = NET_TX, .len = flen };
	make_chain(w, tx, 1, td, 2, 0, -1);
	if (!alone || !q->num || before != q->used_seen ||
	    u->idx != (uint16_t)(q->used_seen + 1) ||
	    u->ring[q->used_seen % q->num].id != head)
		return;
	if (rlen < want ? u->ring[q->used_seen % q->num].len != 0 :
	    u->ring[q->used_seen % q->num].len != want ||
	    memcmp(w->ram + NET_RX + NET_HDR, w->ram + NET_TX, flen)) {
		fprintf(stderr, "net: a %u-byte frame arrived wrong in a "
			"%u-byte buffer (used len %u)\n", flen, rlen,
			u->ring[q->used_seen % q->num].len);
		abort();
	}
}

/* The steps by opcode (modulo their count); the chain step twice, it
 * being where most device code is reached. */
static void (*const steps[])(struct fz_world *, struct fz_in *) = {
	step_reg_write, step_reg_read, step_poke, step_handshake,
	step_chain, step_chain, step_notify, step_blk_req, step_net_xfer,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	struct fz_world w;
	uint64_t before[FZ_DEVS];
	uint8_t op;

	if (!world_open(&w))
		return 0;
	while (take8(&in, &op)) {
		for (int d = 0; d < FZ_DEVS; d++)
			before[d] = virtio_mmio_errors(w.m[d]);
		steps[op % (sizeof(steps) / sizeof(steps[0]))](&w, &in);
		check(&w, before);
	}
	world_close(&w);
	return 0;
}
