// SPDX-License-Identifier: GPL-2.0
/*
 * iface.c - grant a driver the objects the kernel hands it.
 *
 * The rule: a function's name proposes what it is (its base name, before
 * any ".constprop"-like suffix, ends with one of the names below), and
 * the kernel's own ops table confirms it: the object handed in must lead,
 * through the kernel's structures, to an ops table whose entry is this
 * very function (hctx->queue->mq_ops->queue_rq, bio->bi_bdev->bd_disk->
 * fops->submit_bio, dev->netdev_ops->ndo_start_xmit, napi->poll, the
 * bound virtio/PCI/platform driver's probe or remove...).  Every pointer
 * on the way is read with copy_from_kernel_nofault(), so a wrong guess
 * reads nothing it should not and grants nothing.  When confirmed, the
 * objects are granted (kind IFACE, cookie = the object) for this call and
 * revoked by probes.c when it returns:
 *
 *   *_queue_rq(hctx, bd)       the request and its driver PDU; for a
 *                              read, its data pages (a RAM disk copies
 *                              into them)
 *   *_queue_rqs(rqlist)        the same for every request of the list
 *   *_init_hctx(hctx, data, i), *_exit_hctx(hctx, i)  the hardware
 *                              context (blk-mq allocates it deep under
 *                              the driver's disk creation, too deep to be
 *                              the driver's allocation: alloc.c)
 *   *_request_done(rq), *_complete(_rq)(rq)  (blk-mq ->complete) the
 *                              request and its PDU
 *   *_timeout(_rq)(rq)         (blk-mq ->timeout) the request and its PDU;
 *                              asking more time for the same request
 *                              twice is a hang (chariot_iface_returned());
 *                              with no ->timeout, blk-mq re-arming it
 *                              twice is (rearm_pre())
 *   *_submit_bio(bio)          the bio; for a read, its data pages
 *   *_rw_page(bdev, s, page, op)  for a read, the page (bdev_read_page():
 *                              mpage reads a RAM disk page by page)
 *   *start_xmit(skb, dev)      the sk_buff, its data and shared info, the
 *                              net_device's private area
 *   *poll*(napi, budget)       the napi_struct
 *   *_probe(dev), *_remove(dev) the virtio_device, pci_dev or
 *                              platform_device; a virtio probe unwound
 *                              is undone at the teardown
 *                              (chariot_iface_release())
 *   *_open(bdev, mode)         the gendisk; *_open(ndev): the private area
 *   *_release(disk, mode)      the gendisk
 *   *_getgeo(bdev, geo)        the hd_geometry being filled in
 *   *_ioctl(bdev, ...)         the gendisk
 *   *_stop(ndev), *_close(ndev) the private area
 *   *_get_phys_port_name, *_get_phys_port_id, *_get_port_parent_id
 *                              nothing: named for their error when the
 *                              driver has failed (recover.c)
 *
 * Limits: other buses and ops (char devices, SCSI, USB, ...) grant
 * nothing; a function reached only through an ops table under another
 * name is not recognised; a net_device private area is granted only when
 * the net_device was kmalloc'd (not vmalloc'd).
 */
#include <linux/bio.h>
#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/hdreg.h>
#include <linux/kprobes.h>
#include <linux/netdevice.h>
#include <linux/pci.h>
#include <linux/platform_device.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>
#include <linux/workqueue.h>

#include "monitor.h"

#define RD(val, ptr) \
	(!copy_from_kernel_nofault(&(val), (const void *)(ptr), sizeof(val)))

struct role_name {
	const char *suffix;
	enum chariot_role role;
};

/* Checked in order: the first suffix that fits wins. */
static const struct role_name role_names[] = {
	{ "_get_phys_port_name", CHARIOT_ROLE_QUERY },
	{ "_get_phys_port_id", CHARIOT_ROLE_QUERY },
	{ "_get_port_parent_id", CHARIOT_ROLE_QUERY },
	{ "_queue_rqs", CHARIOT_ROLE_QUEUE_RQS },
	{ "_queue_rq", CHARIOT_ROLE_QUEUE_RQ },
	{ "_init_hctx", CHARIOT_ROLE_INIT_HCTX },
	{ "_exit_hctx", CHARIOT_ROLE_EXIT_HCTX },
	{ "_timeout_rq", CHARIOT_ROLE_TIMEOUT },
	{ "_timeout", CHARIOT_ROLE_TIMEOUT },
	{ "_request_done", CHARIOT_ROLE_COMPLETE },
	{ "_complete_rq", CHARIOT_ROLE_COMPLETE },
	{ "_complete", CHARIOT_ROLE_COMPLETE },
	{ "_submit_bio", CHARIOT_ROLE_SUBMIT_BIO },
	{ "_rw_page", CHARIOT_ROLE_RW_PAGE },
	{ "start_xmit", CHARIOT_ROLE_START_XMIT },
	{ "_stats", CHARIOT_ROLE_GET_STATS },
	{ "_stats64", CHARIOT_ROLE_GET_STATS },
	{ "_poll", CHARIOT_ROLE_POLL },
	{ "_poll_tx", CHARIOT_ROLE_POLL },
	{ "_poll_rx", CHARIOT_ROLE_POLL },
	{ "_probe", CHARIOT_ROLE_PROBE },
	{ "_remove", CHARIOT_ROLE_REMOVE },
	{ "_open", CHARIOT_ROLE_OPEN },
	{ "_release", CHARIOT_ROLE_RELEASE },
	{ "_getgeo", CHARIOT_ROLE_GETGEO },
	{ "_ioctl", CHARIOT_ROLE_IOCTL },
	{ "_stop", CHARIOT_ROLE_STOP },
	{ "_close", CHARIOT_ROLE_STOP },
};

static const char *const names[CHARIOT_ROLES] = {
	[CHARIOT_ROLE_NONE] = "-",
	[CHARIOT_ROLE_QUEUE_RQ] = "queue_rq",
	[CHARIOT_ROLE_QUEUE_RQS] = "queue_rqs",
	[CHARIOT_ROLE_COMPLETE] = "complete",
	[CHARIOT_ROLE_SUBMIT_BIO] = "submit_bio",
	[CHARIOT_ROLE_RW_PAGE] = "rw_page",
	[CHARIOT_ROLE_START_XMIT] = "start_xmit",
	[CHARIOT_ROLE_GET_STATS] = "get_stats64",
	[CHARIOT_ROLE_POLL] = "poll",
	[CHARIOT_ROLE_PROBE] = "probe",
	[CHARIOT_ROLE_REMOVE] = "remove",
	[CHARIOT_ROLE_OPEN] = "open",
	[CHARIOT_ROLE_RELEASE] = "release",
	[CHARIOT_ROLE_GETGEO] = "getgeo",
	[CHARIOT_ROLE_IOCTL] = "ioctl",
	[CHARIOT_ROLE_STOP] = "stop",
	[CHARIOT_ROLE_INIT_HCTX] = "init_hctx",
	[CHARIOT_ROLE_EXIT_HCTX] = "exit_hctx",
	[CHARIOT_ROLE_QUERY] = "query",
	[CHARIOT_ROLE_TIMEOUT] = "timeout",
};

/**
 * chariot_role_name() - a role's name
 * @role: the role
 *
 * Return: "queue_rq", ...; "?" for an unknown value.
 */
const char *chariot_role_name(enum chariot_role role)
{
	return role < CHARIOT_ROLES ? names[role] : "?";
}

/**
 * chariot_iface_role() - what a function's name says it may be
 * @name: its symbol name
 *
 * Return: the role to confirm at each call, or CHARIOT_ROLE_NONE.
 */
enum chariot_role chariot_iface_role(const char *name)
{
	size_t len = strcspn(name, "."), n;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(role_names); i++) {
		n = strlen(role_names[i].suffix);
		if (len >= n && !strncmp(name + len - n, role_names[i].suffix, n))
			return role_names[i].role;
	}
	return CHARIOT_ROLE_NONE;
}

/* Grant [va, va + len) for this call under cookie. */
static void grant(struct chariot_entry *e, struct chariot_batch *b,
		  unsigned int domain, const void *cookie, const void *va,
		  unsigned long len)
{
	u64 c = (unsigned long)cookie;
	unsigned int i;

	for (i = 0; i < e->ncookies && e->cookies[i] != c; i++)
		;
	if (i == CHARIOT_IFACE_MAX)
		return;
	if (i == e->ncookies) {
		e->cookies[e->ncookies++] = c;
		chariot_count(iface_grants);
	}
	chariot_post_grant(b, domain, CHARIOT_GRANT_IFACE, c, va, len);
}

/*
 * The pages a read fills in, one grant per physically contiguous run: of
 * bio, and with chain of the bios after it (a request's).
 */
static void grant_read_pages(struct chariot_batch *b, unsigned int id,
			     const void *cookie, struct bio *bio, bool chain)
{
	phys_addr_t run = 0, run_end = 0, pa;
	struct bvec_iter iter;
	struct bio_vec bv;

	for (; bio; bio = chain ? bio->bi_next : NULL) {
		if (bio_data_dir(bio) != READ || !bio_has_data(bio))
			continue;
		bio_for_each_segment(bv, bio, iter) {
			pa = page_to_phys(bv.bv_page) + bv.bv_offset;
			if (run_end == pa) {
				run_end += bv.bv_len;
				continue;
			}
			if (run_end)
				chariot_post_grant_phys(b, id, CHARIOT_GRANT_IFACE,
							(unsigned long)cookie,
							run, run_end - run);
			run = pa;
			run_end = pa + bv.bv_len;
		}
	}
	if (run_end)
		chariot_post_grant_phys(b, id, CHARIOT_GRANT_IFACE,
					(unsigned long)cookie, run,
					run_end - run);
}

static bool rq_size(struct request_queue *q, unsigned long *size)
{
	struct blk_mq_tag_set *set;
	unsigned int cmd;

	if (!RD(set, &q->tag_set) || !RD(cmd, &set->cmd_size))
		return false;
	*size = sizeof(struct request) + cmd;
	return true;
}

#define MQ_OP(name)	offsetof(struct blk_mq_ops, name)

/* Is the blk_mq_ops member at offset op of q's ops fn? */
static bool mq_op_is(struct request_queue *q, size_t op, unsigned long fn)
{
	const struct blk_mq_ops *ops;
	unsigned long f;

	return RD(ops, &q->mq_ops) && RD(f, (const char *)ops + op) && f == fn;
}

/* Is rq one whose queue's op is fn?  Its queue in *q. */
static bool rq_op_is(struct request *rq, size_t op, unsigned long fn,
		     struct request_queue **q)
{
	return RD(*q, &rq->q) && mq_op_is(*q, op, fn);
}

static bool on_queue_rq(struct pt_regs *regs, unsigned long fn,
			unsigned int id, struct chariot_entry *e,
			struct chariot_batch *b)
{
	struct blk_mq_hw_ctx *hctx = (void *)regs->di;
	struct blk_mq_queue_data *bd = (void *)regs->si;
	struct request_queue *q;
	struct request *rq;
	unsigned long size;

	if (!RD(q, &hctx->queue) || !mq_op_is(q, MQ_OP(queue_rq), fn) ||
	    !RD(rq, &bd->rq) || !rq_size(q, &size))
		return false;
	grant(e, b, id, rq, rq, size);
	grant_read_pages(b, id, rq, rq->bio, true);
	return true;
}

static bool on_hctx(struct pt_regs *regs, unsigned long fn,
		    enum chariot_role role, unsigned int id,
		    struct chariot_entry *e, struct chariot_batch *b)
{
	struct blk_mq_hw_ctx *hctx = (void *)regs->di;
	struct request_queue *q;

	if (!RD(q, &hctx->queue) ||
	    !mq_op_is(q, role == CHARIOT_ROLE_INIT_HCTX ? MQ_OP(init_hctx) :
							  MQ_OP(exit_hctx), fn))
		return false;
	grant(e, b, id, hctx, hctx, sizeof(*hctx));
	return true;
}

/* The list is the call's: one cookie (the list head) for all of it. */
static bool on_queue_rqs(struct pt_regs *regs, unsigned long fn,
			 unsigned int id, struct chariot_entry *e,
			 struct chariot_batch *b)
{
	struct request **list = (void *)regs->di;
	struct request_queue *q;
	struct request *rq;
	unsigned long size;

	if (!RD(rq, list) || !rq || !rq_op_is(rq, MQ_OP(queue_rqs), fn, &q) ||
	    !rq_size(q, &size))
		return false;
	for (; rq; rq = rq->rq_next) {
		grant(e, b, id, list, rq, size);
		grant_read_pages(b, id, list, rq->bio, true);
	}
	return true;
}

static bool on_complete(struct pt_regs *regs, unsigned long fn,
			unsigned int id, struct chariot_entry *e,
			struct chariot_batch *b)
{
	struct request *rq = (void *)regs->di;
	struct request_queue *q;
	unsigned long size;

	if (!rq_op_is(rq, MQ_OP(complete), fn, &q) || !rq_size(q, &size))
		return false;
	grant(e, b, id, rq, rq, size);
	return true;
}

static bool on_timeout(struct pt_regs *regs, unsigned long fn,
		       unsigned int id, struct chariot_entry *e,
		       struct chariot_batch *b)
{
	struct request *rq = (void *)regs->di;
	struct request_queue *q;
	unsigned long size;

	if (!rq_op_is(rq, MQ_OP(timeout), fn, &q) || !rq_size(q, &size))
		return false;
	grant(e, b, id, rq, rq, size);
	e->obj = rq;	/* to end if the call is unwound */
	return true;
}

/* Is bio one for fn, its disk's ->submit_bio? */
static bool bio_for(struct bio *bio, unsigned long fn)
{
	const struct block_device_operations *fops;
	struct block_device *bdev;
	struct gendisk *disk;
	unsigned long f;

	return RD(bdev, &bio->bi_bdev) && RD(disk, &bdev->bd_disk) &&
	       RD(fops, &disk->fops) && RD(f, &fops->submit_bio) && f == fn;
}

static bool on_submit_bio(struct pt_regs *regs, unsigned long fn,
			  unsigned int id, struct chariot_entry *e,
			  struct chariot_batch *b)
{
	struct bio *bio = (void *)regs->di;

	if (!bio_for(bio, fn))
		return false;
	grant(e, b, id, bio, bio, sizeof(*bio));
	grant_read_pages(b, id, bio, bio, false);
	e->obj = bio;	/* the driver must end it */
	return true;
}

/* ->rw_page(bdev, sector, page, op): a read fills the one page in. */
static bool on_rw_page(struct pt_regs *regs, unsigned long fn,
		       unsigned int id, struct chariot_entry *e,
		       struct chariot_batch *b)
{
	struct block_device *bdev = (void *)regs->di;
	struct page *page = (void *)regs->dx;
	const struct block_device_operations *fops;
	struct gendisk *disk;
	unsigned long f;

	if (!RD(disk, &bdev->bd_disk) || !RD(fops, &disk->fops) ||
	    !RD(f, &fops->rw_page) || f != fn)
		return false;
	if (!op_is_write((enum req_op)regs->cx))
		grant(e, b, id, page, page_address(page), PAGE_SIZE);
	return true;
}

/* The private area of a kmalloc'd net_device, to the allocation's end. */
static void netdev_priv_grant(struct net_device *dev, unsigned int id,
			      struct chariot_entry *e, struct chariot_batch *b)
{
	unsigned short padded;
	char *p, *priv;
	size_t total;

	if (!RD(padded, &dev->padded))
		return;
	p = (char *)dev - padded;
	priv = netdev_priv(dev);
	if (is_vmalloc_addr(p) || !virt_addr_valid(p))
		return;
	total = ksize(p);
	if (p + total > priv)
		grant(e, b, id, dev, priv, p + total - priv);
}

static bool ndo_is(struct net_device *dev, unsigned long fn,
		   enum chariot_role role)
{
	const struct net_device_ops *ops;
	unsigned long f;

	if (!RD(ops, &dev->netdev_ops))
		return false;
	switch (role) {
	case CHARIOT_ROLE_START_XMIT:
		return RD(f, &ops->ndo_start_xmit) && f == fn;
	case CHARIOT_ROLE_OPEN:
		return RD(f, &ops->ndo_open) && f == fn;
	case CHARIOT_ROLE_STOP:
		return RD(f, &ops->ndo_stop) && f == fn;
	case CHARIOT_ROLE_GET_STATS:
		return RD(f, &ops->ndo_get_stats64) && f == fn;
	default:
		return false;
	}
}

static bool on_get_stats(struct pt_regs *regs, unsigned long fn,
			 unsigned int id, struct chariot_entry *e,
			 struct chariot_batch *b)
{
	struct rtnl_link_stats64 *stats = (void *)regs->si;

	if (!ndo_is((void *)regs->di, fn, CHARIOT_ROLE_GET_STATS))
		return false;
	grant(e, b, id, stats, stats, sizeof(*stats));
	return true;
}

static bool on_start_xmit(struct pt_regs *regs, unsigned long fn,
			  unsigned int id, struct chariot_entry *e,
			  struct chariot_batch *b)
{
	struct sk_buff *skb = (void *)regs->di;
	struct net_device *dev = (void *)regs->si;

	if (!ndo_is(dev, fn, CHARIOT_ROLE_START_XMIT))
		return false;
	grant(e, b, id, skb, skb, sizeof(*skb));
	grant(e, b, id, skb, skb->head,
	      skb_end_offset(skb) + sizeof(struct skb_shared_info));
	netdev_priv_grant(dev, id, e, b);
	return true;
}

/* Is napi one whose poll function is fn? */
static bool napi_is(struct napi_struct *napi, unsigned long fn)
{
	unsigned long f;

	return RD(f, &napi->poll) && f == fn;
}

static bool on_napi_poll(struct pt_regs *regs, unsigned long fn,
			 unsigned int id, struct chariot_entry *e,
			 struct chariot_batch *b)
{
	struct napi_struct *napi = (void *)regs->di;

	if (!napi_is(napi, fn))
		return false;
	grant(e, b, id, napi, napi, sizeof(*napi));
	e->obj = napi;	/* to complete if the call is unwound */
	return true;
}

/* Is bus's name "virtio"?  The virtio bus type is not exported. */
static bool virtio_bus(const struct bus_type *bus)
{
	const char *name;
	char s[8];

	return RD(name, &bus->name) && RD(s, name) && !memcmp(s, "virtio", 7);
}

/* The driver callback of the device's bus the role names, or 0. */
static unsigned long bus_callback(struct device *dev, enum chariot_role role,
				  size_t *size)
{
	const struct bus_type *bus;
	struct device_driver *drv;
	unsigned long f = 0;
	bool probe = role == CHARIOT_ROLE_PROBE;

	if (!RD(bus, &dev->bus) || !RD(drv, &dev->driver) || !bus || !drv)
		return 0;
	if (virtio_bus(bus)) {
		struct virtio_driver *v = container_of(drv, struct virtio_driver,
						       driver);

		*size = sizeof(struct virtio_device);
		if (!RD(f, probe ? (void *)&v->probe : (void *)&v->remove))
			return 0;
	} else if (bus == &pci_bus_type) {
		struct pci_driver *p = to_pci_driver(drv);

		*size = sizeof(struct pci_dev);
		if (!RD(f, probe ? (void *)&p->probe : (void *)&p->remove))
			return 0;
	} else if (bus == &platform_bus_type) {
		struct platform_driver *p = to_platform_driver(drv);

		*size = sizeof(struct platform_device);
		if (!RD(f, probe ? (void *)&p->probe : (void *)&p->remove))
			return 0;
	}
	return f;
}

/* The virtio driver callback for the role if obj is a virtio device,
 * or 0. */
static unsigned long virtio_callback(void *obj, enum chariot_role role)
{
	size_t size = 0;
	unsigned long f = bus_callback(obj + offsetof(struct virtio_device, dev),
				       role, &size);

	return size == sizeof(struct virtio_device) ? f : 0;
}

static bool on_probe_remove(struct pt_regs *regs, unsigned long fn,
			    unsigned int id, enum chariot_role role,
			    struct chariot_entry *e, struct chariot_batch *b)
{
	void *obj = (void *)regs->di;
	size_t size = 0;

	/* Each bus type in turn: its device struct holds a struct device. */
	if (virtio_callback(obj, role) == fn) {
		if (role == CHARIOT_ROLE_PROBE)
			e->obj = obj;	/* to put back if it is unwound */
		size = sizeof(struct virtio_device);
		goto found;
	}
	if (bus_callback(obj + offsetof(struct pci_dev, dev), role, &size) == fn &&
	    size == sizeof(struct pci_dev))
		goto found;
	if (bus_callback(obj + offsetof(struct platform_device, dev), role,
			 &size) == fn && size == sizeof(struct platform_device))
		goto found;
	return false;

found:
	grant(e, b, id, obj, obj, size);
	return true;
}

/* The gendisk of bdev (or disk itself) when its fops has fn in the slot. */
static struct gendisk *disk_with(struct block_device *bdev,
				 struct gendisk *disk, unsigned long fn,
				 enum chariot_role role)
{
	const struct block_device_operations *fops;
	unsigned long f;
	bool ok;

	if (bdev && !RD(disk, &bdev->bd_disk))
		return NULL;
	if (!RD(fops, &disk->fops))
		return NULL;
	switch (role) {
	case CHARIOT_ROLE_OPEN:
		ok = RD(f, &fops->open);
		break;
	case CHARIOT_ROLE_RELEASE:
		ok = RD(f, &fops->release);
		break;
	case CHARIOT_ROLE_GETGEO:
		ok = RD(f, &fops->getgeo);
		break;
	case CHARIOT_ROLE_IOCTL:
		ok = RD(f, &fops->ioctl);
		break;
	default:
		ok = false;
	}
	return ok && f == fn ? disk : NULL;
}

static bool on_blk_or_net(struct pt_regs *regs, unsigned long fn,
			  unsigned int id, enum chariot_role role,
			  struct chariot_entry *e, struct chariot_batch *b)
{
	void *arg0 = (void *)regs->di;
	struct gendisk *disk;

	if (role == CHARIOT_ROLE_RELEASE)
		disk = disk_with(NULL, arg0, fn, role);
	else if (role != CHARIOT_ROLE_STOP)
		disk = disk_with(arg0, NULL, fn, role);
	else
		disk = NULL;
	if (disk && role == CHARIOT_ROLE_GETGEO) {
		grant(e, b, id, (void *)regs->si, (void *)regs->si,
		      sizeof(struct hd_geometry));
		return true;
	}
	if (disk) {
		grant(e, b, id, disk, disk, sizeof(*disk));
		return true;
	}
	if ((role == CHARIOT_ROLE_OPEN || role == CHARIOT_ROLE_STOP) &&
	    ndo_is(arg0, fn, role)) {
		netdev_priv_grant(arg0, id, e, b);
		return true;
	}
	return false;
}

static void unprobed(struct chariot_domain *d, struct virtio_device *vdev,
		     bool ran);

/**
 * chariot_iface_abandon() - finish what a call that will not finish owed
 * @role: the call's role
 * @fn:   the function called
 * @obj:  the object: its first argument (refused), the entry's (unwound)
 * @ran:  the driver ran (the call was unwound) or never did (refused)
 *
 * A bio handed to ->submit_bio is the driver's to end: unended, its
 * submitter waits forever.  It is ended with an I/O error (the caller
 * retries or fails), also an unwound call's (wrong only if the driver
 * ended it and then faulted: rare, ->submit_bio ends with the end).  A
 * refused ->ndo_start_xmit's skb is freed (NETDEV_TX_OK says the driver
 * took it); an unwound one's is left, as the driver may have queued it.
 * A NAPI poll refused or unwound (it "did no work") is completed, as the
 * driver would have done: left scheduled, napi_disable() in the driver's
 * close, which its teardown runs, waits for it forever (seen: a virtio_net
 * failed in the middle of a TCP transfer never got past its exit).  A
 * timed-out request whose ->timeout was refused or unwound is ended with
 * BLK_STS_TIMEOUT and BLK_EH_DONE returned: left to the driver, blk-mq
 * re-arms its timer and asks again for ever, and the driver's teardown
 * (del_gendisk() freezing the queue) waits for it (seen: null_blk's
 * timeout handler unwound in a campaign; its exit never finished).  A
 * virtio device whose probe was unwound or refused is put back at the
 * teardown (chariot_iface_release()).
 */
void chariot_iface_abandon(struct chariot_domain *d, enum chariot_role role,
			   unsigned long fn, void *obj, bool ran)
{
	struct napi_struct *napi = obj;
	struct sk_buff *skb = obj;
	struct request_queue *q;
	struct net_device *dev;

	switch (role) {
	case CHARIOT_ROLE_SUBMIT_BIO:
		if (!ran && !bio_for(obj, fn))
			return;
		bio_io_error(obj);
		break;
	case CHARIOT_ROLE_START_XMIT:
		if (ran || !RD(dev, &skb->dev) || !ndo_is(dev, fn, role))
			return;
		dev_kfree_skb_any(skb);
		break;
	case CHARIOT_ROLE_POLL:
		if (!napi_is(napi, fn) ||
		    !test_bit(NAPI_STATE_SCHED, &napi->state))
			return;
		napi_complete_done(napi, 0);
		break;
	case CHARIOT_ROLE_TIMEOUT:
		if (!rq_op_is(obj, MQ_OP(timeout), fn, &q))
			return;
		blk_mq_end_request(obj, BLK_STS_TIMEOUT);
		break;
	case CHARIOT_ROLE_PROBE:
		if (virtio_callback(obj, role) == fn)
			unprobed(d, obj, ran);
		return;
	default:
		return;
	}
	chariot_count(abandoned);
}

/* Serialises the domains' waited[], taken[] and unprobed[] lists:
 * blk-mq's timeout work runs per queue, a driver's queues on any CPU. */
static DEFINE_SPINLOCK(waited_lock);
static void taken_check(struct work_struct *work);
static DECLARE_DELAYED_WORK(taken_work, taken_check);
static bool taken_stopped;	/* chariot_iface_stop(): no more checks */

/* What tells this I/O from the next one in the same (reused) request. */
static struct chariot_waited waited_of(struct request *rq, unsigned long fn)
{
	return (struct chariot_waited){ .rq = rq, .start = rq->start_time_ns,
					.pos = blk_rq_pos(rq), .fn = fn };
}

static bool same_io(const struct chariot_waited *a,
		    const struct chariot_waited *b)
{
	return a->rq == b->rq && a->start == b->start && a->pos == b->pos;
}

/*
 * Has d's ->timeout asked more time for rq before?  Remembers it if not
 * (the oldest forgotten).
 */
static bool waited_before(struct chariot_domain *d, struct request *rq,
			  unsigned long fn)
{
	struct chariot_waited now = waited_of(rq, fn);
	unsigned long flags;
	unsigned int i;
	bool seen = false;

	spin_lock_irqsave(&waited_lock, flags);
	for (i = 0; i < min_t(unsigned int, d->nwaited, CHARIOT_WAITED); i++) {
		if (same_io(&d->waited[i], &now)) {
			seen = true;
			d->waited[i].rq = NULL;
			break;
		}
	}
	if (!seen)
		d->waited[d->nwaited++ % CHARIOT_WAITED] = now;
	spin_unlock_irqrestore(&waited_lock, flags);
	return seen;
}

/* d's ->timeout took rq over and left it in flight: look again one
 * timeout period later (the oldest forgotten). */
static void taken_over(struct chariot_domain *d, struct request *rq,
		       unsigned long fn)
{
	struct chariot_waited now = waited_of(rq, fn);
	unsigned long flags;
	unsigned int period;

	if (!RD(period, &rq->timeout) || !period)
		period = 30 * HZ;
	now.due = jiffies + period;
	now.mod = READ_ONCE(d->mod);
	spin_lock_irqsave(&waited_lock, flags);
	d->taken[d->ntaken++ % CHARIOT_WAITED] = now;
	/* Not mod_: a pending look for an earlier request is not put off
	 * (requests timing out one after another would put it off for
	 * ever); taken_check() comes again for the later ones. */
	if (!taken_stopped)
		queue_delayed_work(system_wq, &taken_work, period);
	spin_unlock_irqrestore(&waited_lock, flags);
}

/* Is the request w took over still in flight, the same I/O?  Read with
 * care: the driver may have ended it, and the queue may be gone. */
static bool still_in_flight(const struct chariot_waited *w)
{
	struct request *rq = w->rq;
	enum mq_rq_state state;
	u64 start;
	sector_t pos;

	return RD(state, &rq->state) && state == MQ_RQ_IN_FLIGHT &&
	       RD(start, &rq->start_time_ns) && start == w->start &&
	       RD(pos, &rq->__sector) && pos == w->pos;
}

/* Take the entries of d's taken[] that are due; the next due time left
 * goes to *next.  Return: how many were put in out. */
static unsigned int taken_due(struct chariot_domain *d,
			      struct chariot_waited *out, unsigned long *next,
			      bool *more)
{
	unsigned int i, n = 0;

	for (i = 0; i < min_t(unsigned int, d->ntaken, CHARIOT_WAITED); i++) {
		struct chariot_waited *w = &d->taken[i];

		if (!w->rq)
			continue;
		if (time_before(jiffies, w->due)) {
			if (!*more || time_before(w->due, *next))
				*next = w->due;
			*more = true;
			continue;
		}
		out[n++] = *w;
		w->rq = NULL;
	}
	return n;
}

/*
 * Requests a ->timeout took over (BLK_EH_DONE) and left in flight, one
 * timeout period on: blk-mq will not ask about them again, so one still
 * in flight, the same I/O, is lost for good (null_blk's ->timeout takes
 * every request over; one whose completion a flipped compare dropped hung
 * the guest's writer and the disk's teardown with no vCPU inside the
 * driver).  A lost request is ended with BLK_STS_TIMEOUT and a live
 * driver recovered (chariot_recover_lost()): the driver's instance and
 * queue are alive while the request is in flight (the teardown's queue
 * freeze waits for it), and one that ended in the meantime is not
 * touched (ended: not in flight; reused: another I/O).
 */
static void taken_check(struct work_struct *work)
{
	struct chariot_waited due[CHARIOT_WAITED];
	struct chariot_domain *d;
	unsigned long flags, next = 0;
	unsigned int id, i, n;
	bool more = false;

	for (id = 0; (d = chariot_domain_get(id)); id++) {
		spin_lock_irqsave(&waited_lock, flags);
		n = taken_due(d, due, &next, &more);
		spin_unlock_irqrestore(&waited_lock, flags);
		for (i = 0; i < n; i++) {
			if (READ_ONCE(d->mod) != due[i].mod ||
			    !still_in_flight(&due[i]))
				continue;
			/* A failed driver's lost requests are ended as well:
			 * its teardown's queue freeze waits for them. */
			if (!READ_ONCE(d->failed) &&
			    !chariot_recover_lost(id, due[i].fn))
				continue;	/* recovery is off */
			blk_mq_end_request(due[i].rq, BLK_STS_TIMEOUT);
			chariot_count(lost_requests);
		}
	}
	spin_lock_irqsave(&waited_lock, flags);
	if (more && !taken_stopped)
		mod_delayed_work(system_wq, &taken_work,
				 time_after(next, jiffies) ? next - jiffies : 0);
	spin_unlock_irqrestore(&waited_lock, flags);
}

/**
 * chariot_iface_returned() - an interface call returned to the kernel
 * @role:   the call's role
 * @fn:     the function called
 * @obj:    the entry's object (the request for ->timeout)
 * @domain: its domain
 * @regs:   the return's registers
 *
 * A ->timeout that asks for more time (BLK_EH_RESET_TIMER) for a request
 * it asked more time for already has lost it: blk-mq asks again each
 * timeout period for ever, the submitter waits, and so does the disk's
 * teardown.  The second time, the driver is taken as hung (recover.c):
 * the request is ended with BLK_STS_TIMEOUT and BLK_EH_DONE returned, as
 * for a refused ->timeout.  One that takes the request over (BLK_EH_DONE)
 * and leaves it in flight is looked at again one period later
 * (taken_check()).  One timeout period is the driver's to use (a slow
 * device).
 */
void chariot_iface_returned(enum chariot_role role, unsigned long fn,
			    void *obj, unsigned int domain,
			    struct pt_regs *regs)
{
	struct chariot_domain *d = chariot_domain_get(domain);
	struct request_queue *q;

	if (role != CHARIOT_ROLE_TIMEOUT || !d ||
	    !rq_op_is(obj, MQ_OP(timeout), fn, &q))
		return;
	if (regs->ax == BLK_EH_DONE) {
		if (blk_mq_rq_state(obj) == MQ_RQ_IN_FLIGHT)
			taken_over(d, obj, fn);
		return;
	}
	if (regs->ax != BLK_EH_RESET_TIMER || !waited_before(d, obj, fn) ||
	    !chariot_recover_lost(domain, fn))
		return;
	blk_mq_end_request(obj, BLK_STS_TIMEOUT);
	regs->ax = BLK_EH_DONE;
	chariot_count(lost_requests);
}

/* d's driver never finished probing vdev (unwound, or refused: then it
 * made nothing to remove): held until the domain goes
 * (chariot_iface_forget()). */
static void unprobed(struct chariot_domain *d, struct virtio_device *vdev,
		     bool ran)
{
	unsigned long flags;
	unsigned long remove = ran ? virtio_callback(vdev, CHARIOT_ROLE_REMOVE)
				   : 0;

	spin_lock_irqsave(&waited_lock, flags);
	if (d->nunprobed < CHARIOT_UNPROBED_MAX) {
		get_device(&vdev->dev);
		d->unprobed[d->nunprobed++] = (struct chariot_unprobed){
			vdev, remove };
	}
	spin_unlock_irqrestore(&waited_lock, flags);
}

/* d's unprobed[] copied into u (room for CHARIOT_UNPROBED_MAX); take: the
 * list emptied as well, its holds on the devices passed to the caller. */
static unsigned int unprobed_copy(struct chariot_domain *d,
				  struct chariot_unprobed *u, bool take)
{
	unsigned long flags;
	unsigned int n;

	spin_lock_irqsave(&waited_lock, flags);
	n = d->nunprobed;
	memcpy(u, d->unprobed, n * sizeof(*u));
	if (take)
		d->nunprobed = 0;
	spin_unlock_irqrestore(&waited_lock, flags);
	return n;
}

/**
 * chariot_iface_release() - undo what the driver's unfinished probes did
 * @d: the failed domain, being torn down by this task (let into it)
 *
 * A probe cut short leaves what it made before the fault: virtio_blk's
 * unwound at its end left its disk registered, the reloaded driver's
 * probe could not add its own (a duplicate vda in sysfs) and the stale
 * one's I/O went to queues that were no more.  The driver's own remove
 * undoes a probe, so it runs for each such device still unbound; it may
 * meet what the probe never made (a disk not added yet): a fault there is
 * unwound as any in the failed domain, and chariot_iface_forget() puts
 * back the queues and the device after it in any case.  May sleep.
 */
void chariot_iface_release(struct chariot_domain *d)
{
	struct chariot_unprobed u[CHARIOT_UNPROBED_MAX];
	unsigned int i, n = unprobed_copy(d, u, false);

	for (i = 0; i < n; i++) {
		void (*remove)(struct virtio_device *) = (void *)u[i].remove;

		device_lock(&u[i].vdev->dev);
		if (!u[i].vdev->dev.driver && remove &&
		    chariot_domain_of_code(u[i].remove) == (int)d->id)
			remove(u[i].vdev);
		device_unlock(&u[i].vdev->dev);
	}
}

/**
 * chariot_iface_unprobed() - the devices d's driver never finished probing
 * @d:    the domain
 * @devs: filled in, each held (put_device() when done)
 * @max:  room in @devs
 *
 * Return: how many.
 */
unsigned int chariot_iface_unprobed(struct chariot_domain *d,
				    struct device **devs, unsigned int max)
{
	unsigned long flags;
	unsigned int i, n;

	spin_lock_irqsave(&waited_lock, flags);
	n = min(d->nunprobed, max);
	for (i = 0; i < n; i++)
		devs[i] = get_device(&d->unprobed[i].vdev->dev);
	spin_unlock_irqrestore(&waited_lock, flags);
	return n;
}

/*
 * A virtio device whose probe was cut short is left as the probe left it:
 * its virtqueues set up (the transport's interrupt requested, their
 * callbacks in the driver) and its status FAILED, as the probe's own
 * error path never ran.  The next probe, the reloaded driver's, then
 * fails (virtio_mmio: queue 0 is live, -ENOENT): the disk never came back
 * (virtio_blk's campaign, a fault in init_vq).  So its queues go and the
 * device is reset, as the probe's error path and virtio's remove do (the
 * driver's remove, if it ran to its end, did already); not if a driver
 * is bound to it again.
 */
static void put_back(struct virtio_device *vdev)
{
	device_lock(&vdev->dev);
	if (!vdev->dev.driver) {
		if (!list_empty(&vdev->vqs))
			vdev->config->del_vqs(vdev);
		vdev->config->reset(vdev);	/* virtio_reset_device(): in
						 * virtio.ko, not a dependency */
		chariot_count(devices_reset);
	}
	device_unlock(&vdev->dev);
	put_device(&vdev->dev);
}

/**
 * chariot_iface_forget() - forget a domain's timed-out requests, and put
 * back the devices it never finished probing
 * @d: the domain, its module going (its requests with it; its exit, if
 *     any, has run: none of its devices is bound)
 *
 * May sleep.
 */
void chariot_iface_forget(struct chariot_domain *d)
{
	struct chariot_unprobed u[CHARIOT_UNPROBED_MAX];
	unsigned long flags;
	unsigned int i, n;

	spin_lock_irqsave(&waited_lock, flags);
	memset(d->waited, 0, sizeof(d->waited));
	memset(d->taken, 0, sizeof(d->taken));
	d->nwaited = 0;
	d->ntaken = 0;
	spin_unlock_irqrestore(&waited_lock, flags);
	n = unprobed_copy(d, u, true);
	for (i = 0; i < n; i++)
		put_back(u[i].vdev);
}

/*
 * A driver with no ->timeout (virtio_blk) is never asked about a request
 * that times out: blk-mq re-arms its timer itself (blk_add_timer() from
 * blk_mq_rq_timed_out(), the request marked RQF_TIMED_OUT), each period
 * for ever, and its submitter and the disk's teardown wait.  The rule of
 * a ->timeout that asks for more time holds here too: the second re-arm
 * of the same I/O is a lost request, ended with BLK_STS_TIMEOUT instead
 * (blk_add_timer() skipped), and the driver recovered.  One timeout
 * period is the driver's to use.  The probe sees every request's start as
 * well: those (RQF_TIMED_OUT clear) it leaves at once.
 */
static int rearm_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct request *rq = (void *)regs->di;
	const struct blk_mq_ops *ops;
	struct request_queue *q;
	unsigned long timeout, queue_rq;
	req_flags_t flags;
	int id;

	if (!RD(flags, &rq->rq_flags) || !(flags & RQF_TIMED_OUT) ||
	    !RD(q, &rq->q) || !RD(ops, &q->mq_ops) ||
	    !RD(timeout, (const char *)ops + MQ_OP(timeout)) || timeout ||
	    !RD(queue_rq, (const char *)ops + MQ_OP(queue_rq)))
		return 0;
	id = chariot_domain_of_code(queue_rq);
	if (id < 0 || !waited_before(chariot_domain_get(id), rq, queue_rq) ||
	    !chariot_recover_lost(id, queue_rq))
		return 0;
	blk_mq_end_request(rq, BLK_STS_TIMEOUT);
	chariot_count(lost_requests);
	instruction_pointer_set(regs, (unsigned long)chariot_skip_ret);
	return 1;
}

static struct kprobe rearm = {
	.symbol_name = "blk_add_timer",
	.pre_handler = rearm_pre,
};
static bool rearm_on;

/**
 * chariot_iface_start() - watch the timed-out requests of drivers with no
 * ->timeout
 *
 * May sleep.  Without the probe (a kernel that inlines blk_add_timer())
 * their lost requests go unseen: said, not an error.
 */
void chariot_iface_start(void)
{
	int err = register_kprobe(&rearm);

	rearm_on = !err;
	if (err)
		pr_warn("blk_add_timer not probed (%d): lost requests of drivers with no ->timeout go unseen\n",
			err);
}

/**
 * chariot_iface_stop() - no more looks at timed-out requests
 *
 * May sleep.
 */
void chariot_iface_stop(void)
{
	unsigned long flags;

	if (rearm_on)
		unregister_kprobe(&rearm);
	rearm_on = false;
	spin_lock_irqsave(&waited_lock, flags);
	taken_stopped = true;
	spin_unlock_irqrestore(&waited_lock, flags);
	cancel_delayed_work_sync(&taken_work);
}

/**
 * chariot_iface_grant() - grant what a call of an interface function gets
 * @role:   what its name says it is
 * @fn:     the function
 * @regs:   the registers at its entry (its arguments)
 * @domain: its domain
 * @e:      the entry's data: the cookies granted are added there
 * @b:      the batch to add the grants to
 *
 * Runs in the entry kprobe handler; reads nothing it cannot fault on.
 */
void chariot_iface_grant(enum chariot_role role, unsigned long fn,
			 struct pt_regs *regs, unsigned int domain,
			 struct chariot_entry *e, struct chariot_batch *b)
{
	bool ok;

	switch (role) {
	case CHARIOT_ROLE_QUERY:
		return;		/* handed nothing: named only for its error */
	case CHARIOT_ROLE_QUEUE_RQ:
		ok = on_queue_rq(regs, fn, domain, e, b);
		break;
	case CHARIOT_ROLE_QUEUE_RQS:
		ok = on_queue_rqs(regs, fn, domain, e, b);
		break;
	case CHARIOT_ROLE_INIT_HCTX:
	case CHARIOT_ROLE_EXIT_HCTX:
		ok = on_hctx(regs, fn, role, domain, e, b);
		break;
	case CHARIOT_ROLE_COMPLETE:
		ok = on_complete(regs, fn, domain, e, b);
		break;
	case CHARIOT_ROLE_TIMEOUT:
		ok = on_timeout(regs, fn, domain, e, b);
		break;
	case CHARIOT_ROLE_SUBMIT_BIO:
		ok = on_submit_bio(regs, fn, domain, e, b);
		break;
	case CHARIOT_ROLE_RW_PAGE:
		ok = on_rw_page(regs, fn, domain, e, b);
		break;
	case CHARIOT_ROLE_GET_STATS:
		ok = on_get_stats(regs, fn, domain, e, b);
		break;
	case CHARIOT_ROLE_START_XMIT:
		ok = on_start_xmit(regs, fn, domain, e, b);
		break;
	case CHARIOT_ROLE_POLL:
		ok = on_napi_poll(regs, fn, domain, e, b);
		break;
	case CHARIOT_ROLE_PROBE:
	case CHARIOT_ROLE_REMOVE:
		ok = on_probe_remove(regs, fn, domain, role, e, b);
		break;
	default:
		ok = on_blk_or_net(regs, fn, domain, role, e, b);
	}
	if (ok) {
		struct chariot_domain *d = chariot_domain_get(domain);

		if (d)
			atomic64_inc(&d->ifaces);
	} else {
		chariot_count(iface_rejected);
	}
}
