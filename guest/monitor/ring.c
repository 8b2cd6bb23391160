// SPDX-License-Identifier: GPL-2.0
/*
 * ring.c - the guest's end of the update ring (include/chariot_ring.h):
 * the single producer of struct chariot_ring in the shared area.
 *
 * Every CPU posts, often from kprobe context: producers are serialised by
 * one raw spinlock taken with interrupts off, so a post never sleeps and
 * an interrupt handler that posts cannot deadlock on its own CPU.  A
 * record is written whole, with seq = the free-running index it is posted
 * at, before head is published with release order; tail is read with
 * acquire order before a slot is reused.
 *
 * The doorbell (CHARIOT_CMD_RING) is rung at most once per post (the
 * records of one event: post.c), when one of chariot_ring.h's rules asks
 * for it: the post holds an ENTER or a LEAVE (the VMM switches the vCPU's
 * write protection right then), a REVOKE or a PAGE_FREED (what was open
 * must be closed before the guest goes on), it made the ring non-empty,
 * or it left the ring at the kick level.  A full ring is published, rung
 * and retried: the VMM drains during that exit.
 *
 * tests/unit/test_ring_model.c builds this file for user space and checks
 * it against the VMM's consumer in every schedule of up to 3 VMM actions.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/log2.h>
#include <linux/overflow.h>
#include <linux/seq_file.h>
#include <linux/spinlock.h>

#include "monitor.h"

/* Doorbells rung for one full ring before its records are dropped: the
 * VMM drains during the exit, so one is enough unless it is broken. */
#define FULL_TRIES	16

static DEFINE_RAW_SPINLOCK(lock);
static struct chariot_ring *ring;
static u32 capacity;
static u32 head;		/* our copy: the guest alone writes it */

static const char *const reason_names[CHARIOT_DB_REASONS] = {
	[CHARIOT_DB_ENTER] = "enter",
	[CHARIOT_DB_LEAVE] = "leave",
	[CHARIOT_DB_REVOKE] = "revoke",
	[CHARIOT_DB_EMPTY] = "empty",
	[CHARIOT_DB_KICK] = "kick",
	[CHARIOT_DB_FULL] = "full",
	[CHARIOT_DB_FREED] = "freed",
};

static bool header_ok(const struct chariot_ring *r)
{
	u32 cap = READ_ONCE(r->capacity);

	return READ_ONCE(r->magic) == CHARIOT_RING_MAGIC &&
	       READ_ONCE(r->version) == CHARIOT_RING_VERSION &&
	       READ_ONCE(r->rec_size) == sizeof(struct chariot_ring_rec) &&
	       cap >= 2 && is_power_of_2(cap) &&
	       struct_size(r, rec, cap) <= CHARIOT_SHM_RING_SIZE;
}

/**
 * chariot_ring_open() - find the ring in the shared area and check it
 *
 * The channel must be open.
 *
 * Return: 0; -ENODEV when the area has no room for a ring or no ring is
 * there, -EPROTO when its header is not the one this module speaks.
 */
int chariot_ring_open(void)
{
	struct chariot_ring *r;

	r = chariot_channel_area(CHARIOT_SHM_RING_OFFSET, CHARIOT_SHM_RING_SIZE);
	if (!r) {
		pr_warn("shared area too small for the update ring\n");
		return -ENODEV;
	}
	if (!READ_ONCE(r->magic)) {
		pr_warn("the VMM has set up no update ring\n");
		return -ENODEV;
	}
	if (!header_ok(r)) {
		pr_err("update ring: bad header (magic %#x version %u capacity %u record %u bytes)\n",
		       READ_ONCE(r->magic), READ_ONCE(r->version),
		       READ_ONCE(r->capacity), READ_ONCE(r->rec_size));
		return -EPROTO;
	}
	capacity = READ_ONCE(r->capacity);
	/* A monitor loaded again goes on where the last one stopped. */
	head = READ_ONCE(r->head);
	WRITE_ONCE(ring, r);
	pr_info("update ring: %u records\n", capacity);
	return 0;
}

/**
 * chariot_ring_close() - post nothing more
 *
 * Later posts are dropped silently.
 */
void chariot_ring_close(void)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&lock, flags);
	WRITE_ONCE(ring, NULL);
	raw_spin_unlock_irqrestore(&lock, flags);
}

/**
 * chariot_ring_active() - is there a ring to post to?
 *
 * Return: true between a successful chariot_ring_open() and
 * chariot_ring_close().
 */
bool chariot_ring_active(void)
{
	return READ_ONCE(ring);
}

/* Called with the lock held. */
static void doorbell(enum chariot_doorbell_reason why)
{
	chariot_count(doorbells[why]);
	chariot_channel_doorbell(CHARIOT_CMD_RING);
}

/* Records not yet consumed, clamped: the VMM writes tail. */
static u32 used(void)
{
	u32 n = head - smp_load_acquire(&ring->tail);

	return min(n, capacity);
}

/* Wait for a free slot, ringing while the ring is full. */
static bool room(void)
{
	int tries;

	for (tries = 0; used() == capacity; tries++) {
		if (tries == FULL_TRIES)
			return false;
		smp_store_release(&ring->head, head);
		chariot_count(full_waits);
		doorbell(CHARIOT_DB_FULL);
	}
	return true;
}

static int kick_reason(unsigned int why, bool was_empty)
{
	if (why & CHARIOT_WHY_MORE)
		goto level;
	if (why & CHARIOT_WHY_ENTER)
		return CHARIOT_DB_ENTER;
	if (why & CHARIOT_WHY_LEAVE)
		return CHARIOT_DB_LEAVE;
	if (why & CHARIOT_WHY_FREED)
		return CHARIOT_DB_FREED;
	if (why & CHARIOT_WHY_REVOKE)
		return CHARIOT_DB_REVOKE;
	if (was_empty || (why & CHARIOT_WHY_OPENED))
		return CHARIOT_DB_EMPTY;
level:
	if (used() >= CHARIOT_RING_KICK_LEVEL(capacity))
		return CHARIOT_DB_KICK;
	return -1;
}

/**
 * chariot_ring_post() - post records and ring the doorbell if due
 * @recs: the records, every field but seq filled in (unused ones zero)
 * @n:    how many
 * @why:  CHARIOT_WHY_* of what they hold; with CHARIOT_WHY_MORE they are
 *        a part of an event whose last part follows and rings for it all
 *        (this one rings only at the kick level); CHARIOT_WHY_OPENED on
 *        that last part says an earlier part made the ring non-empty
 *
 * Safe in any context but NMI: it takes a raw spinlock with interrupts
 * off and never sleeps.  The records go out in order, contiguous in the
 * ring; a record the VMM never makes room for is counted as dropped.
 *
 * Return: true when the ring was empty before this post.
 */
bool chariot_ring_post(struct chariot_ring_rec *recs, unsigned int n,
		       unsigned int why)
{
	struct chariot_ring_rec *slot;
	bool was_empty = false;
	unsigned long flags;
	unsigned int i;
	int reason;

	if (!n || !READ_ONCE(ring))
		return false;
	raw_spin_lock_irqsave(&lock, flags);
	if (!ring)
		goto out;
	was_empty = used() == 0;
	for (i = 0; i < n; i++) {
		if (!room()) {
			chariot_count_n(dropped, n - i);
			break;
		}
		recs[i].seq = head;
		slot = &ring->rec[head & (capacity - 1)];
		memcpy(slot, &recs[i], sizeof(*slot));
		head++;
		if (recs[i].type < CHARIOT_REC_TYPES)
			chariot_count(records[recs[i].type]);
	}
	smp_store_release(&ring->head, head);
	reason = kick_reason(why, was_empty);
	if (reason >= 0)
		doorbell(reason);
out:
	raw_spin_unlock_irqrestore(&lock, flags);
	return was_empty;
}

/**
 * chariot_ring_show() - print the ring's state and doorbell counts
 * @m: the seq_file
 */
void chariot_ring_show(struct seq_file *m)
{
	struct chariot_ring *r = READ_ONCE(ring);
	u64 total = 0;
	int i;

	if (!r) {
		seq_puts(m, "ring: none (isolation disabled)\n");
		return;
	}
	seq_printf(m, "ring: capacity %u, head %u, tail %u\n",
		   capacity, READ_ONCE(r->head), READ_ONCE(r->tail));
	for (i = 0; i < CHARIOT_DB_REASONS; i++)
		total += atomic64_read(&chariot_stats.doorbells[i]);
	seq_printf(m, "doorbells: %llu (", total);
	for (i = 0; i < CHARIOT_DB_REASONS; i++)
		seq_printf(m, "%s%s %lld", i ? ", " : "", reason_names[i],
			   atomic64_read(&chariot_stats.doorbells[i]));
	seq_printf(m, ")\nring-full waits: %lld, records dropped: %lld\n",
		   atomic64_read(&chariot_stats.full_waits),
		   atomic64_read(&chariot_stats.dropped));
}
