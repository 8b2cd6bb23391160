/* Unit tests for virtio-net: a back-to-back pair, each end driven through
 * its MMIO registers by the fake driver of test_virtqueue.c, both sharing
 * one fake guest RAM as in one VM. */
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_net.h>
#include <stdlib.h>

#include "devices/virtio_net.h"
#include "test.h"

/* From test_virtqueue.c. */
struct fdrv;
struct irq_line test_irq(int *edges);
struct fdrv *fdrv_start(struct virtio_mmio *m, struct guest_mem *mem,
			uint64_t base, uint64_t size, uint64_t want);
uint16_t fdrv_add(struct fdrv *d, int qi, int nout, int nin,
		  const uint64_t *gpa, const uint32_t *len);
uint16_t fdrv_post(struct fdrv *d, int qi, int nout, int nin,
		   const uint64_t *gpa, const uint32_t *len);
int fdrv_used(struct fdrv *d, int qi, uint32_t *len);

#define RAM_SIZE	0x40000
#define RXQ		0
#define TXQ		1
#define HDR		12
#define FRAME		60
#define TX_GPA		0x10000
#define RX_GPA		0x20000		/* RX buffers of RX_BUF bytes */
#define RX_BUF		0x800

struct lan {
	uint8_t *ram;
	struct guest_mem mem;
	struct virtio_net *a, *b;
	struct fdrv *da, *db;
	int ea, eb;		/* interrupt edges of a and b */
};

/* Both ends created; a's driver started, b's too when b_up. A failure
 * fails the test. */
static int lan_up(struct lan *l, bool b_up, int *failed)
{
	char err[128];

	memset(l, 0, sizeof(*l));
	l->ram = calloc(1, RAM_SIZE);
	guest_mem_wrap(&l->mem, l->ram, RAM_SIZE);
	if (virtio_net_pair_create(&l->a, &l->b, &l->mem, test_irq(&l->ea),
				   test_irq(&l->eb), err, sizeof(err))) {
		CHECK(!"virtio_net_pair_create");
		return -1;
	}
	l->da = fdrv_start(virtio_net_transport(l->a), &l->mem, 0x1000,
			   0x4000, 0);
	if (b_up)
		l->db = fdrv_start(virtio_net_transport(l->b), &l->mem,
				   0x5000, 0x4000, 0);
	CHECK(l->da && (l->db || !b_up));
	return l->da && (l->db || !b_up) ? 0 : -1;
}

static void lan_down(struct lan *l)
{
	free(l->da);
	free(l->db);
	virtio_net_destroy(l->a);
	virtio_net_destroy(l->b);
	free(l->ram);
}

/* Transmit a FRAME-byte frame whose bytes are all tag, header and frame
 * in separate buffers. */
static void send(struct lan *l, uint8_t tag)
{
	uint64_t gpa[2] = { TX_GPA, TX_GPA + HDR };
	uint32_t len[2] = { HDR, FRAME };

	memset(l->ram + TX_GPA, 0, HDR);
	memset(l->ram + TX_GPA + HDR, tag, FRAME);
	fdrv_post(l->da, TXQ, 2, 0, gpa, len);
}

/* Post RX buffer number slot (descriptor slot: one per post) to b. */
static void post_rx(struct lan *l, int slot, uint32_t size, bool kick)
{
	uint64_t gpa = RX_GPA + slot * RX_BUF;

	memset(l->ram + gpa, 0xee, size);
	if (kick)
		fdrv_post(l->db, RXQ, 0, 1, &gpa, &size);
	else
		fdrv_add(l->db, RXQ, 0, 1, &gpa, &size);
}

/* The tag of the next frame b received, -1 if none, -2 if mangled. */
static int received(struct lan *l)
{
	struct virtio_net_hdr_v1 *h;
	uint32_t len;
	uint8_t *p;
	int head = fdrv_used(l->db, RXQ, &len);

	if (head < 0)
		return -1;
	p = l->ram + RX_GPA + head % 16 * RX_BUF;
	h = (void *)p;
	if (len != HDR + FRAME || h->num_buffers != 1 || h->flags)
		return -2;
	for (int i = 1; i < FRAME; i++)
		if (p[HDR + i] != p[HDR])
			return -2;
	return p[HDR];
}

static struct virtio_net_stats stats(struct virtio_net *n)
{
	struct virtio_net_stats s;

	virtio_net_get_stats(n, &s);
	return s;
}

TEST(net_config_mac_and_link)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0, 1, 2, 3 };
	uint8_t cfg[8];
	struct lan l;

	if (lan_up(&l, true, failed))
		return;
	for (int i = 0; i < 8; i++)
		virtio_mmio_io(virtio_net_transport(l.a),
			       VIRTIO_MMIO_CONFIG + i, &cfg[i], 1, false);
	CHECK(!memcmp(cfg, "\x02\x43\x48\x52\x00\x01", 6));
	CHECK_EQ(cfg[6] | cfg[7] << 8, VIRTIO_NET_S_LINK_UP);
	virtio_net_set_mac(l.b, mac);
	virtio_mmio_io(virtio_net_transport(l.b), VIRTIO_MMIO_CONFIG, cfg, 4,
		       false);
	virtio_mmio_io(virtio_net_transport(l.b), VIRTIO_MMIO_CONFIG + 4,
		       cfg + 4, 4, false);
	CHECK(!memcmp(cfg, mac, 6));
	lan_down(&l);
}

TEST(net_pair_frame_delivered)
{
	struct virtio_net_stats sa, sb;
	uint32_t len = 1;
	struct lan l;

	if (lan_up(&l, true, failed))
		return;
	post_rx(&l, 0, RX_BUF, true);
	send(&l, 0x5a);
	CHECK_EQ(received(&l), 0x5a);
	CHECK_EQ(fdrv_used(l.da, TXQ, &len), 0);
	CHECK_EQ(len, 0);
	CHECK_EQ(l.ea, 1);	/* TX completion */
	CHECK_EQ(l.eb, 1);	/* RX */
	sa = stats(l.a);
	sb = stats(l.b);
	CHECK_EQ(sa.tx_frames, 1);
	CHECK_EQ(sa.tx_bytes, FRAME);
	CHECK_EQ(sb.rx_frames, 1);
	CHECK_EQ(sb.rx_bytes, FRAME);
	CHECK_EQ(sa.rx_frames + sb.tx_frames + sb.rx_dropped, 0);
	lan_down(&l);
}

TEST(net_pair_queued_until_buffers)
{
	struct lan l;

	if (lan_up(&l, true, failed))
		return;
	for (int i = 1; i <= 3; i++)
		send(&l, i);
	CHECK_EQ(received(&l), -1);
	CHECK_EQ(stats(l.b).rx_frames, 0);
	post_rx(&l, 0, RX_BUF, true);
	post_rx(&l, 1, RX_BUF, true);
	CHECK_EQ(received(&l), 1);
	CHECK_EQ(received(&l), 2);
	CHECK_EQ(received(&l), -1);
	/* A buffer the driver has made available but not yet kicked about:
	 * the next frame finds it, and must let frame 3 go first. */
	post_rx(&l, 2, RX_BUF, false);
	send(&l, 4);
	CHECK_EQ(received(&l), 3);
	CHECK_EQ(received(&l), -1);
	post_rx(&l, 3, RX_BUF, true);
	CHECK_EQ(received(&l), 4);
	CHECK_EQ(stats(l.b).rx_frames, 4);
	CHECK_EQ(stats(l.b).rx_dropped, 0);
	lan_down(&l);
}

TEST(net_pair_backlog_bounded)
{
	struct lan l;

	if (lan_up(&l, true, failed))
		return;
	for (int i = 0; i < VIRTIO_NET_PENDING_MAX + 44; i++)
		send(&l, i);
	CHECK_EQ(stats(l.a).tx_frames, VIRTIO_NET_PENDING_MAX + 44);
	CHECK_EQ(stats(l.b).rx_dropped, 44);
	post_rx(&l, 0, RX_BUF, true);
	CHECK_EQ(received(&l), 0);	/* oldest first */
	lan_down(&l);
}

TEST(net_rx_buffer_too_small_dropped)
{
	uint32_t len = 1;
	struct lan l;

	if (lan_up(&l, true, failed))
		return;
	post_rx(&l, 0, HDR + FRAME - 1, true);
	send(&l, 7);
	CHECK_EQ(fdrv_used(l.db, RXQ, &len), 0);	/* returned empty */
	CHECK_EQ(len, 0);
	CHECK_EQ(stats(l.b).rx_dropped, 1);
	CHECK_EQ(virtio_mmio_errors(virtio_net_transport(l.b)), 0);
	lan_down(&l);
}

TEST(net_tx_writable_buffer_rejected)
{
	uint64_t gpa[2] = { TX_GPA, TX_GPA + HDR };
	uint32_t len[2] = { HDR, FRAME }, st = 0;
	struct virtio_mmio *ma;
	struct lan l;

	if (lan_up(&l, true, failed))
		return;
	ma = virtio_net_transport(l.a);
	post_rx(&l, 0, RX_BUF, true);
	fdrv_post(l.da, TXQ, 1, 1, gpa, len);	/* frame device-writable */
	CHECK_EQ(virtio_mmio_errors(ma), 1);
	virtio_mmio_io(ma, VIRTIO_MMIO_STATUS, (uint8_t *)&st, 4, false);
	CHECK(st & VIRTIO_CONFIG_S_NEEDS_RESET);
	CHECK_EQ(received(&l), -1);
	CHECK_EQ(stats(l.a).tx_frames, 0);
	/* The other end is unaffected. */
	CHECK_EQ(virtio_mmio_errors(virtio_net_transport(l.b)), 0);
	lan_down(&l);
}

TEST(net_peer_not_running_drops)
{
	struct lan l;

	if (lan_up(&l, false, failed))
		return;
	send(&l, 1);
	CHECK_EQ(stats(l.a).tx_frames, 1);
	CHECK_EQ(stats(l.b).rx_dropped, 1);
	lan_down(&l);
}

TEST(net_pair_destroy_either_order)
{
	struct lan l;

	if (lan_up(&l, true, failed))
		return;
	virtio_net_destroy(l.b);
	l.b = NULL;
	send(&l, 1);		/* into the void, without a crash */
	CHECK_EQ(stats(l.a).tx_dropped, 1);
	lan_down(&l);
}

TEST(net_tap_name_too_long)
{
	struct virtio_net *n = NULL;
	struct guest_mem mem;
	uint8_t ram[64];
	char err[128] = "";

	guest_mem_wrap(&mem, ram, sizeof(ram));
	CHECK_EQ(virtio_net_tap_create(&n, &mem, test_irq(NULL),
				       "a-name-longer-than-ifnamsiz", err,
				       sizeof(err)), -EINVAL);
	CHECK(n == NULL);
	CHECK(strstr(err, "too long") != NULL);
}
