// SPDX-License-Identifier: GPL-2.0
/*
 * blk.c - /dev/chariot_buggy0, a 1 MiB RAM-backed blk-mq block device with
 * no bugs of its own: it shows an isolated chariot_buggy still serves I/O
 * after its scenarios ran.  Requests are served synchronously in
 * ->queue_rq(), one hardware queue; no partitions, no write cache, no
 * discard.  The copies (memcpy_{from,to}_bvec()) are inlined by GCC
 * (rep movsq): as in brd, the stores are this module's own, into its
 * vmalloc'd store and into the request's pages, so an isolated
 * chariot_buggy needs both granted to serve I/O.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/module.h>
#include <linux/sizes.h>
#include <linux/vmalloc.h>

#include "buggy.h"

#define BUGGY_BYTES	SZ_1M
#define BUGGY_DEPTH	16

static struct blk_mq_tag_set buggy_set;
static struct gendisk *buggy_disk;
static u8 *buggy_data;
static int buggy_warn_next;	/* the "warn_io" scenario: armed */
static int buggy_lose_next;	/* the next request is lost: how (armed) */
static int buggy_lost_how;	/* the lost request's (enum buggy_lost) */
static struct request *buggy_lost;	/* the request lost */

static const char *const buggy_lost_names[] = {
	[BUGGY_LOST_FAULT] = "timeout_fault",
	[BUGGY_LOST_WAIT] = "lost_request",
	[BUGGY_LOST_DROP] = "dropped_request",
};

/* Copy one segment between the request's pages and buggy_data at pos. */
static blk_status_t buggy_copy(struct request *rq, struct bio_vec *bv,
			       loff_t pos)
{
	if (pos + bv->bv_len > BUGGY_BYTES)
		return BLK_STS_IOERR;
	if (rq_data_dir(rq) == WRITE)
		memcpy_from_bvec(buggy_data + pos, bv);
	else
		memcpy_to_bvec(bv, buggy_data + pos);
	return BLK_STS_OK;
}

static blk_status_t buggy_queue_rq(struct blk_mq_hw_ctx *hctx,
				   const struct blk_mq_queue_data *qd)
{
	struct request *rq = qd->rq;
	loff_t pos = (loff_t)blk_rq_pos(rq) << SECTOR_SHIFT;
	blk_status_t status = BLK_STS_OK;
	struct req_iterator iter;
	struct bio_vec bv;
	int how;

	blk_mq_start_request(rq);
	/* In ->queue_rq() itself, the function the kernel calls: an unwind
	 * returns from this very frame to blk-mq. */
	if (WARN_ON(READ_ONCE(buggy_warn_next))) {
		WRITE_ONCE(buggy_warn_next, false);
		status = BLK_STS_IOERR;
		goto end;
	}
	/* Lost: never ended here, blk-mq times it out (->timeout). */
	how = xchg(&buggy_lose_next, BUGGY_LOST_NONE);
	if (how != BUGGY_LOST_NONE) {
		WRITE_ONCE(buggy_lost_how, how);
		WRITE_ONCE(buggy_lost, rq);
		pr_info("%s: request %px lost\n", buggy_lost_names[how], rq);
		return BLK_STS_OK;
	}
	if (req_op(rq) != REQ_OP_READ && req_op(rq) != REQ_OP_WRITE) {
		status = BLK_STS_NOTSUPP;
		goto end;
	}
	rq_for_each_segment(bv, rq, iter) {
		status = buggy_copy(rq, &bv, pos);
		if (status != BLK_STS_OK)
			break;
		pos += bv.bv_len;
	}
end:
	blk_mq_end_request(rq, status);
	return BLK_STS_OK;
}

/*
 * A request not ended in time: ended here with a timeout error.  Armed by
 * "timeout_fault", the handler has a bug: it dereferences the NULL it
 * looks its lost request's state up as (an exception in a timeout handler,
 * which blk-mq calls from its timeout work).  Armed by "lost_request", it
 * believes the request it lost is still coming: more time, for ever (a
 * driver that dropped a completion).  Armed by "dropped_request", it
 * takes the request over (BLK_EH_DONE: "the driver ends it") and never
 * does.
 */
static enum blk_eh_timer_return buggy_timeout_rq(struct request *rq)
{
	int *state = NULL;

	switch (rq == READ_ONCE(buggy_lost) ? READ_ONCE(buggy_lost_how) :
		BUGGY_LOST_NONE) {
	case BUGGY_LOST_WAIT:
		pr_info("lost_request: request %px timed out: waiting on\n", rq);
		return BLK_EH_RESET_TIMER;
	case BUGGY_LOST_DROP:
		pr_info("dropped_request: request %px timed out: taken over\n",
			rq);
		return BLK_EH_DONE;
	case BUGGY_LOST_FAULT:
		WRITE_ONCE(buggy_lost, NULL);
		OPTIMIZER_HIDE_VAR(state);
		pr_info("timeout_fault: request %px timed out\n", rq);
		*state = 1;
		break;
	}
	blk_mq_end_request(rq, BLK_STS_TIMEOUT);
	return BLK_EH_DONE;
}

static const struct blk_mq_ops buggy_mq_ops = {
	.queue_rq = buggy_queue_rq,
	.timeout = buggy_timeout_rq,
};

/* timeout_op=0: no ->timeout, as virtio_blk: blk-mq re-arms a timed-out
 * request's timer itself, and a lost request is never asked about. */
static const struct blk_mq_ops buggy_mq_ops_untimed = {
	.queue_rq = buggy_queue_rq,
};

static bool timeout_op = true;
module_param(timeout_op, bool, 0444);
MODULE_PARM_DESC(timeout_op, "N: the disk has no ->timeout (default Y)");

static const struct block_device_operations buggy_fops = {
	.owner = THIS_MODULE,
};

/* The disk takes its device number from the extended dev_t space
 * (major 259): no register_blkdev(). */
static int buggy_disk_add(void)
{
	int err;

	buggy_disk = blk_mq_alloc_disk(&buggy_set, NULL);
	if (IS_ERR(buggy_disk))
		return PTR_ERR(buggy_disk);
	buggy_disk->fops = &buggy_fops;
	buggy_disk->flags |= GENHD_FL_NO_PART;
	strscpy(buggy_disk->disk_name, KBUILD_MODNAME "0",
		sizeof(buggy_disk->disk_name));
	set_capacity(buggy_disk, BUGGY_BYTES >> SECTOR_SHIFT);
	err = add_disk(buggy_disk);
	if (err)
		put_disk(buggy_disk);
	return err;
}

/* Arm a scenario of the disk's.  Return: 0, -ENODEV without it (disk=0). */
static int buggy_blk_arm(int *armed, int value)
{
	if (!buggy_disk)
		return -ENODEV;
	WRITE_ONCE(*armed, value);
	return 0;
}

/**
 * buggy_blk_warn_next() - the next request WARNs in ->queue_rq()
 *
 * Return: 0, or -ENODEV without the disk (disk=0).
 */
int buggy_blk_warn_next(void)
{
	return buggy_blk_arm(&buggy_warn_next, true);
}

/**
 * buggy_blk_nested_warn() - read the disk's first page from this module's
 * own code, the read's ->queue_rq() WARNing
 *
 * With no I/O scheduler (the test sets "none"), blk-mq issues the request
 * in the submitting task: queue_rq is called by the kernel inside this
 * module's own call (driver -> kernel -> driver), as a driver's init
 * reading its disk's partition table does.
 *
 * Return: the read's result (-EIO when the request failed), -ENODEV
 * without the disk, -ENOMEM.
 */
int buggy_blk_nested_warn(void)
{
	struct page *page;
	struct bio *bio;
	int err;

	if (!buggy_disk)
		return -ENODEV;
	page = alloc_page(GFP_KERNEL);
	if (!page)
		return -ENOMEM;
	bio = bio_alloc(buggy_disk->part0, 1, REQ_OP_READ, GFP_KERNEL);
	bio_add_page(bio, page, PAGE_SIZE, 0);
	WRITE_ONCE(buggy_warn_next, true);
	err = submit_bio_wait(bio);
	bio_put(bio);
	__free_page(page);
	return err;
}

/**
 * buggy_blk_lose_next() - the next request is lost, its ->timeout() then
 * faulting (timeout_fault), asking more time for ever (lost_request) or
 * taking it over and never ending it (dropped_request)
 * @how: which
 *
 * Return: 0, or -ENODEV without the disk (disk=0).
 */
int buggy_blk_lose_next(enum buggy_lost how)
{
	return buggy_blk_arm(&buggy_lose_next, how);
}

/**
 * buggy_blk_init() - allocate the backing store, register the disk
 *
 * Return: 0 or -errno (nothing left registered).
 */
int buggy_blk_init(void)
{
	int err;

	buggy_data = vzalloc(BUGGY_BYTES);
	if (!buggy_data)
		return -ENOMEM;
	buggy_set.ops = timeout_op ? &buggy_mq_ops : &buggy_mq_ops_untimed;
	buggy_set.nr_hw_queues = 1;
	buggy_set.queue_depth = BUGGY_DEPTH;
	buggy_set.numa_node = NUMA_NO_NODE;
	buggy_set.flags = BLK_MQ_F_SHOULD_MERGE;
	err = blk_mq_alloc_tag_set(&buggy_set);
	if (err)
		goto free_data;
	err = buggy_disk_add();
	if (err)
		goto free_set;
	return 0;

free_set:
	blk_mq_free_tag_set(&buggy_set);
free_data:
	vfree(buggy_data);
	return err;
}

/**
 * buggy_blk_exit() - unregister the disk and free what it used
 */
void buggy_blk_exit(void)
{
	del_gendisk(buggy_disk);
	put_disk(buggy_disk);
	blk_mq_free_tag_set(&buggy_set);
	vfree(buggy_data);
}
