/* virtio_net.c - virtio network device, no offloads, no mergeable RX
 * buffers: a received frame goes whole into one RX chain behind the
 * 12-byte virtio 1.x header.
 *
 * Locking: all state of a device is guarded by its transport lock. The
 * two ends of a pair share one lock (struct net_pair), so a transmit on
 * one end can fill the other's RX queue directly with no lock order to
 * get wrong. The tap reader thread takes the lock around each delivery. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "devices/virtio_net.h"

#define QUEUE_SIZE	256
#define RXQ		0
#define TXQ		1
#define HDR_LEN		sizeof(struct virtio_net_hdr_v1)
/* No GSO: a frame is at most an MTU plus link headers, and no tap MTU
 * exceeds 64 KiB. */
#define MAX_FRAME	65536

struct frame {
	size_t len;
	uint8_t data[];
};

/* What the two ends of a pair share. */
struct net_pair {
	pthread_mutex_t lock;
	int refs;
};

struct virtio_net {
	struct virtio_mmio mmio;
	struct virtio_net_config config;
	struct virtio_net_stats stats;
	struct net_pair *pair;		/* pair backend, else NULL */
	struct virtio_net *peer;	/* the other end while it exists */
	int tap_fd;			/* tap backend, else -1 */
	int stop_fd;			/* eventfd that stops the reader */
	pthread_t reader;
	bool reader_running;
	struct frame *pending[VIRTIO_NET_PENDING_MAX];	/* RX backlog */
	unsigned int pend_head, pend_count;
	uint8_t tx_buf[MAX_FRAME];
};

static int net_notify(void *dev, uint16_t q);
static void net_reset(void *dev);

static const struct virtio_dev_ops net_ops = {
	.name = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.num_queues = 2,
	.queue_max = QUEUE_SIZE,
	.features = 1ull << VIRTIO_NET_F_MAC | 1ull << VIRTIO_NET_F_STATUS,
	.config_len = sizeof(struct virtio_net_config),
	.queue_notify = net_notify,
	.reset = net_reset,
};

/* Put one frame into the guest: 1 when the frame was consumed (delivered,
 * or dropped because the driver is not running or the buffer is too
 * small), 0 when no RX buffer is posted, -errno for a malformed chain. */
static int deliver(struct virtio_net *n, const uint8_t *frame, size_t len)
{
	struct virtqueue *vq = virtio_mmio_queue(&n->mmio, RXQ);
	struct virtio_net_hdr_v1 hdr = { .num_buffers = 1 };
	struct vq_chain c;
	uint32_t used = 0;
	int r;

	if (!vq) {
		n->stats.rx_dropped++;
		return 1;
	}
	r = vq_pop(vq, &c);
	if (r <= 0)
		return r;
	if (c.rlen)
		return -EINVAL;	/* RX buffers are device-writable only */
	if (c.wlen < HDR_LEN + len) {
		n->stats.rx_dropped++;
	} else {
		vq_chain_write(&c, 0, &hdr, HDR_LEN);
		vq_chain_write(&c, HDR_LEN, frame, len);
		used = HDR_LEN + len;
		n->stats.rx_frames++;
		n->stats.rx_bytes += len;
	}
	vq_push(vq, c.head, used);
	virtio_mmio_used(&n->mmio, RXQ);
	return 1;
}

static void enqueue(struct virtio_net *n, const uint8_t *frame, size_t len)
{
	struct frame *f;

	if (n->pend_count == VIRTIO_NET_PENDING_MAX)
		goto drop;
	f = malloc(sizeof(*f) + len);
	if (!f)
		goto drop;
	f->len = len;
	memcpy(f->data, frame, len);
	n->pending[(n->pend_head + n->pend_count) % VIRTIO_NET_PENDING_MAX] = f;
	n->pend_count++;
	return;
drop:
	n->stats.rx_dropped++;
}

static void drop_head(struct virtio_net *n)
{
	free(n->pending[n->pend_head]);
	n->pend_head = (n->pend_head + 1) % VIRTIO_NET_PENDING_MAX;
	n->pend_count--;
}

/* Deliver the backlog in order until the guest runs out of buffers. */
static int rx_flush(struct virtio_net *n)
{
	struct frame *f;
	int r;

	while (n->pend_count) {
		f = n->pending[n->pend_head];
		r = deliver(n, f->data, f->len);
		if (r <= 0)
			return r;
		drop_head(n);
	}
	return 0;
}

/* A frame arriving from the backend, lock held. Behind a backlog it
 * waits its turn; buffers posted since the last kick are used at once. */
static void receive(struct virtio_net *n, const uint8_t *frame, size_t len)
{
	int r;

	if (n->pend_count) {
		enqueue(n, frame, len);
		r = rx_flush(n);
	} else {
		r = deliver(n, frame, len);
		if (r == 0)
			enqueue(n, frame, len);
		else if (r < 0)
			n->stats.rx_dropped++;
	}
	if (r < 0)
		virtio_mmio_queue_error(&n->mmio, RXQ, r);
}

static void transmit(struct virtio_net *n, const uint8_t *frame, size_t len)
{
	if (n->tap_fd >= 0) {
		/* Non-blocking: a full tap queue drops, as a wire would. */
		if (write(n->tap_fd, frame, len) != (ssize_t)len)
			goto drop;
	} else if (n->peer) {
		receive(n->peer, frame, len);
	} else {
		goto drop;
	}
	n->stats.tx_frames++;
	n->stats.tx_bytes += len;
	return;
drop:
	n->stats.tx_dropped++;
}

static int tx_process(struct virtio_net *n)
{
	struct virtqueue *vq = virtio_mmio_queue(&n->mmio, TXQ);
	struct vq_chain c;
	size_t len;
	int r;

	while ((r = vq_pop(vq, &c)) > 0) {
		/* TX buffers are device-readable only, header first. */
		if (c.wlen || c.rlen < HDR_LEN)
			return -EINVAL;
		len = c.rlen - HDR_LEN;
		if (len > MAX_FRAME) {
			n->stats.tx_dropped++;
		} else {
			vq_chain_read(&c, HDR_LEN, n->tx_buf, len);
			transmit(n, n->tx_buf, len);
		}
		vq_push(vq, c.head, 0);
		virtio_mmio_used(&n->mmio, TXQ);
	}
	return r;
}

static int net_notify(void *dev, uint16_t q)
{
	struct virtio_net *n = dev;

	return q == TXQ ? tx_process(n) : rx_flush(n);
}

static void net_reset(void *dev)
{
	struct virtio_net *n = dev;

	n->stats.rx_dropped += n->pend_count;
	while (n->pend_count)
		drop_head(n);
}

static struct virtio_net *net_alloc(struct guest_mem *mem,
				    struct irq_line irq, pthread_mutex_t *lock,
				    uint8_t mac_last)
{
	static const uint8_t mac[6] = { 0x02, 0x43, 0x48, 0x52, 0x00, 0x00 };
	struct virtio_net *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->tap_fd = n->stop_fd = -1;
	memcpy(n->config.mac, mac, sizeof(mac));
	n->config.mac[5] = mac_last;
	n->config.status = VIRTIO_NET_S_LINK_UP;
	if (virtio_mmio_init(&n->mmio, &net_ops, n, &n->config, mem, irq,
			     lock)) {
		free(n);
		return NULL;
	}
	return n;
}

static void net_free(struct virtio_net *n)
{
	net_reset(n);
	virtio_mmio_destroy(&n->mmio);
	if (n->tap_fd >= 0)
		close(n->tap_fd);
	if (n->stop_fd >= 0)
		close(n->stop_fd);
	free(n);
}

int virtio_net_pair_create(struct virtio_net **a, struct virtio_net **b,
			   struct guest_mem *mem, struct irq_line irq_a,
			   struct irq_line irq_b, char *err, size_t errlen)
{
	struct net_pair *p = calloc(1, sizeof(*p));
	struct virtio_net *na = NULL, *nb = NULL;

	if (!p || pthread_mutex_init(&p->lock, NULL)) {
		free(p);
		return virtio_error(err, errlen, -ENOMEM, "out of memory");
	}
	na = net_alloc(mem, irq_a, &p->lock, 1);
	nb = net_alloc(mem, irq_b, &p->lock, 2);
	if (!na || !nb)
		goto fail;
	na->pair = nb->pair = p;
	na->peer = nb;
	nb->peer = na;
	p->refs = 2;
	*a = na;
	*b = nb;
	return 0;
fail:
	if (na)
		net_free(na);
	if (nb)
		net_free(nb);
	pthread_mutex_destroy(&p->lock);
	free(p);
	return virtio_error(err, errlen, -ENOMEM, "out of memory");
}

static void *tap_reader(void *arg)
{
	struct virtio_net *n = arg;
	struct pollfd pfd[2] = {
		{ .fd = n->tap_fd, .events = POLLIN },
		{ .fd = n->stop_fd, .events = POLLIN },
	};
	uint8_t *buf = malloc(MAX_FRAME);
	ssize_t len;

	while (buf) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents)
			break;
		if (pfd[0].revents & (POLLERR | POLLNVAL)) {
			virtio_mmio_log(&n->mmio, "tap: poll error; "
					"receive stopped");
			break;
		}
		if (!(pfd[0].revents & POLLIN))
			continue;
		len = read(n->tap_fd, buf, MAX_FRAME);
		if (len < 0 && errno != EAGAIN && errno != EINTR) {
			virtio_mmio_log(&n->mmio, "tap read: %s; "
					"receive stopped", strerror(errno));
			break;
		}
		if (len <= 0)
			continue;
		virtio_mmio_lock(&n->mmio);
		receive(n, buf, len);
		virtio_mmio_unlock(&n->mmio);
	}
	free(buf);
	return NULL;
}

static int open_tap(struct virtio_net *n, const char *ifname, char *err,
		    size_t errlen)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };

	if (strlen(ifname) >= IFNAMSIZ)
		return virtio_error(err, errlen, -EINVAL,
				    "tap:%s: interface name too long", ifname);
	memcpy(ifr.ifr_name, ifname, strlen(ifname));
	n->tap_fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (n->tap_fd < 0)
		return virtio_error(err, errlen, -errno, "/dev/net/tun: %s",
				    strerror(errno));
	if (ioctl(n->tap_fd, TUNSETIFF, &ifr) < 0)
		return virtio_error(err, errlen, -errno, "tap:%s: %s", ifname,
				    strerror(errno));
	n->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (n->stop_fd < 0)
		return virtio_error(err, errlen, -errno, "eventfd: %s",
				    strerror(errno));
	return 0;
}

int virtio_net_tap_create(struct virtio_net **out, struct guest_mem *mem,
			  struct irq_line irq, const char *ifname, char *err,
			  size_t errlen)
{
	struct virtio_net *n = net_alloc(mem, irq, NULL, 3);
	int r;

	if (!n)
		return virtio_error(err, errlen, -ENOMEM, "out of memory");
	r = open_tap(n, ifname, err, errlen);
	if (r)
		goto fail;
	r = -pthread_create(&n->reader, NULL, tap_reader, n);
	if (r) {
		virtio_error(err, errlen, r, "tap:%s: reader thread: %s",
			     ifname, strerror(-r));
		goto fail;
	}
	n->reader_running = true;
	*out = n;
	return 0;
fail:
	net_free(n);
	return r;
}

static void stop_reader(struct virtio_net *n)
{
	uint64_t one = 1;

	if (!n->reader_running)
		return;
	if (write(n->stop_fd, &one, sizeof(one)) == sizeof(one))
		pthread_join(n->reader, NULL);
	else
		pthread_detach(n->reader);
	n->reader_running = false;
}

/* The shared lock goes with the last end of a pair. */
static void leave_pair(struct virtio_net *n)
{
	struct net_pair *p = n->pair;
	bool last;

	pthread_mutex_lock(&p->lock);
	if (n->peer)
		n->peer->peer = NULL;
	last = --p->refs == 0;
	pthread_mutex_unlock(&p->lock);
	if (last) {
		pthread_mutex_destroy(&p->lock);
		free(p);
	}
}

void virtio_net_destroy(struct virtio_net *n)
{
	if (!n)
		return;
	stop_reader(n);
	if (n->pair)
		leave_pair(n);
	net_free(n);
}

void virtio_net_set_mac(struct virtio_net *n, const uint8_t mac[6])
{
	virtio_mmio_lock(&n->mmio);
	memcpy(n->config.mac, mac, sizeof(n->config.mac));
	virtio_mmio_unlock(&n->mmio);
}

void virtio_net_get_stats(struct virtio_net *n, struct virtio_net_stats *out)
{
	virtio_mmio_lock(&n->mmio);
	*out = n->stats;
	virtio_mmio_unlock(&n->mmio);
}

struct virtio_mmio *virtio_net_transport(struct virtio_net *n)
{
	return &n->mmio;
}
