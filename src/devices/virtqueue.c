/* virtqueue.c - split virtqueue, device side. The guest writes the rings
 * from other vCPUs while we read them: idx fields are loaded with acquire
 * and stored with release, and each descriptor is read once into a local
 * copy so that what was checked is what gets used. Nothing here trusts a
 * value from the guest: errors come back to the caller, never abort. */
#include <errno.h>
#include <linux/virtio_ring.h>
#include <string.h>

#include "devices/virtqueue.h"

/* Sizes per the virtio 1.x spec, including the event-idx words that Linux
 * allocates whether or not the feature is negotiated. */
#define DESC_BYTES(num)		(16ull * (num))
#define AVAIL_BYTES(num)	(6ull + 2ull * (num))
#define USED_BYTES(num)		(6ull + 8ull * (num))

#define STR(x)			#x
#define XSTR(x)			STR(x)
#define VQ_MAX_CHAIN_STR	XSTR(VQ_MAX_CHAIN)

/* Where descriptors are being read from: the queue's table, or an
 * indirect table (which may not nest). */
struct desc_table {
	const struct vring_desc *d;
	uint32_t size;
	bool indirect;
};

int vq_init(struct virtqueue *vq, const struct guest_mem *mem, uint16_t num,
	    uint64_t desc, uint64_t avail, uint64_t used, bool indirect)
{
	void *d, *a, *u;

	if (!num || num > VQ_MAX_SIZE || (num & (num - 1)))
		return -EINVAL;
	if (desc % VRING_DESC_ALIGN_SIZE || avail % VRING_AVAIL_ALIGN_SIZE ||
	    used % VRING_USED_ALIGN_SIZE)
		return -EINVAL;
	d = guest_mem_ptr(mem, desc, DESC_BYTES(num));
	a = guest_mem_ptr(mem, avail, AVAIL_BYTES(num));
	u = guest_mem_ptr(mem, used, USED_BYTES(num));
	if (!d || !a || !u)
		return -EFAULT;
	*vq = (struct virtqueue){
		.mem = mem, .desc = d, .avail = a, .used = u,
		.num = num, .indirect = indirect,
	};
	return 0;
}

static struct vring_desc read_desc(const struct vring_desc *src)
{
	return *(const volatile struct vring_desc *)src;
}

static int add_buf(struct virtqueue *vq, struct vq_chain *c,
		   const struct vring_desc *d)
{
	bool w = d->flags & VRING_DESC_F_WRITE;
	void *host;

	/* The spec puts all device-readable buffers before writable ones;
	 * devices rely on it to find headers and status bytes. */
	if (!w && c->n && c->bufs[c->n - 1].writable)
		return -EINVAL;
	if (c->n == VQ_MAX_CHAIN)
		return -E2BIG;
	if (d->len > UINT32_MAX - c->rlen - c->wlen)
		return -EINVAL;
	host = guest_mem_ptr(vq->mem, d->addr, d->len);
	if (!host)
		return -EFAULT;
	c->bufs[c->n++] = (struct vq_buf){ host, d->len, w };
	if (w)
		c->wlen += d->len;
	else
		c->rlen += d->len;
	return 0;
}

static int enter_indirect(struct virtqueue *vq, struct desc_table *t,
			  const struct vring_desc *d)
{
	const struct vring_desc *tbl;

	if (!vq->indirect || t->indirect || (d->flags & VRING_DESC_F_NEXT))
		return -EINVAL;
	if (!d->len || d->len % sizeof(*tbl))
		return -EINVAL;
	tbl = guest_mem_ptr(vq->mem, d->addr, d->len);
	if (!tbl)
		return -EFAULT;
	*t = (struct desc_table){ tbl, d->len / sizeof(*tbl), true };
	return 0;
}

/* Follow next links from head. A table of size n holds at most n
 * descriptors of one chain, so visiting more means a loop. */
static int walk_chain(struct virtqueue *vq, uint16_t head, struct vq_chain *c)
{
	struct desc_table t = { vq->desc, vq->num, false };
	uint32_t i = head, seen = 0;
	struct vring_desc d;
	int r;

	c->head = head;
	c->n = 0;
	c->rlen = c->wlen = 0;
	for (;;) {
		if (i >= t.size)
			return -EINVAL;
		if (++seen > t.size)
			return -ELOOP;
		d = read_desc(&t.d[i]);
		if (d.flags & VRING_DESC_F_INDIRECT) {
			r = enter_indirect(vq, &t, &d);
			if (r)
				return r;
			i = 0;
			seen = 0;
			continue;
		}
		r = add_buf(vq, c, &d);
		if (r || !(d.flags & VRING_DESC_F_NEXT))
			return r;
		i = d.next;
	}
}

int vq_pop(struct virtqueue *vq, struct vq_chain *c)
{
	uint16_t avail = __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE);
	uint16_t pending = avail - vq->last_avail;
	uint16_t head;
	int r;

	if (!pending)
		return 0;
	/* idx is free-running modulo 2^16; more than num outstanding is a
	 * driver writing nonsense. */
	if (pending > vq->num)
		return -EINVAL;
	head = *(volatile uint16_t *)&vq->avail->ring[vq->last_avail % vq->num];
	r = walk_chain(vq, head, c);
	if (r)
		return r;
	vq->last_avail++;
	return 1;
}

const char *vq_strerror(int err)
{
	switch (err) {
	case -EFAULT:
		return "ring, table or buffer outside guest RAM";
	case -ELOOP:
		return "descriptor loop or chain longer than its table";
	case -E2BIG:
		return "chain of more than " VQ_MAX_CHAIN_STR " buffers";
	default:
		return "malformed descriptor chain or ring";
	}
}

void vq_push(struct virtqueue *vq, uint16_t head, uint32_t len)
{
	struct vring_used_elem *e = &vq->used->ring[vq->used_idx % vq->num];

	e->id = head;
	e->len = len;
	vq->used_idx++;
	/* Release: the element is visible before the index that exposes it. */
	__atomic_store_n(&vq->used->idx, vq->used_idx, __ATOMIC_RELEASE);
}

bool vq_want_interrupt(struct virtqueue *vq)
{
	/* Full fence: the used->idx store must be visible before we read the
	 * driver's flag, or a driver re-enabling interrupts after checking
	 * the used ring could miss this completion. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return !(__atomic_load_n(&vq->avail->flags, __ATOMIC_RELAXED) &
		 VRING_AVAIL_F_NO_INTERRUPT);
}

int vq_chain_iov(const struct vq_chain *c, bool writable, size_t off,
		 size_t len, struct iovec *iov, int max)
{
	int k = 0;

	for (int i = 0; i < c->n && len; i++) {
		const struct vq_buf *b = &c->bufs[i];
		size_t n;

		if (b->writable != writable)
			continue;
		if (off >= b->len) {
			off -= b->len;
			continue;
		}
		if (k == max)
			return -ERANGE;
		n = b->len - off < len ? b->len - off : len;
		iov[k].iov_base = (uint8_t *)b->host + off;
		iov[k++].iov_len = n;
		len -= n;
		off = 0;
	}
	return len ? -ERANGE : k;
}

/* Copy between p and [off, off + len) of one direction of the chain,
 * clamped to that direction's length. */
static size_t chain_copy(const struct vq_chain *c, bool writable, size_t off,
			 uint8_t *p, size_t len)
{
	struct iovec iov[VQ_MAX_CHAIN];
	size_t part = writable ? c->wlen : c->rlen;
	int n;

	if (off >= part)
		return 0;
	if (len > part - off)
		len = part - off;
	n = vq_chain_iov(c, writable, off, len, iov, VQ_MAX_CHAIN);
	for (int i = 0; i < n; i++) {
		if (writable)
			memcpy(iov[i].iov_base, p, iov[i].iov_len);
		else
			memcpy(p, iov[i].iov_base, iov[i].iov_len);
		p += iov[i].iov_len;
	}
	return n < 0 ? 0 : len;
}

size_t vq_chain_read(const struct vq_chain *c, size_t off, void *dst,
		     size_t len)
{
	return chain_copy(c, false, off, dst, len);
}

size_t vq_chain_write(const struct vq_chain *c, size_t off, const void *src,
		      size_t len)
{
	return chain_copy(c, true, off, (uint8_t *)src, len);
}
