/* producer.c - the producer half of the ring model check
 * (tests/unit/test_ring_model.c): the scenarios the guest monitor posts,
 * through its own post.c and ring.c, and what those call in the rest of
 * the monitor (the channel, the counters).  Built over
 * tests/model/shim with the monitor's real monitor.h. */
#include "monitor.h"
#include "model.h"

_Static_assert((int)MODEL_DB_REASONS == (int)CHARIOT_DB_REASONS &&
	       (int)MODEL_DB_KICK == (int)CHARIOT_DB_KICK &&
	       (int)MODEL_DB_FREED == (int)CHARIOT_DB_FREED,
	       "doorbell reasons");

struct chariot_stats chariot_stats;

#define CODE	0xffffffffc0000000ul
#define CODE2	0xffffffffc0010000ul
#define KTEXT	0xffffffff81000000ul
#define THUNK	0xffffffff81e00000ul
#define STACK	0xffffc90000010000ul
#define FRAME	0xffffc90000013f00ul

void *chariot_channel_area(u32 offset, u32 len)
{
	(void)offset;
	(void)len;
	return model_shm();
}

void chariot_channel_doorbell(enum chariot_cmd cmd)
{
	model_doorbell(cmd);
}

int model_producer_start(void)
{
	memset(&chariot_stats, 0, sizeof(chariot_stats));
	chariot_ring_close();
	return chariot_ring_open();
}

void model_producer_stop(void)
{
	chariot_ring_close();
}

void model_producer_counts(struct model_counts *c)
{
	for (int i = 0; i < MODEL_DB_REASONS; i++)
		c->doorbells[i] = atomic64_read(&chariot_stats.doorbells[i]);
	c->full_waits = atomic64_read(&chariot_stats.full_waits);
	c->dropped = atomic64_read(&chariot_stats.dropped);
}

/* One event: its batch flushed, then what its return owes checked. */
static void done(struct chariot_batch *b, unsigned int flags)
{
	chariot_batch_flush(b);
	model_event_done(flags);
}

static void life(void)
{
	struct chariot_batch b;
	unsigned int i;

	/* The module loads: its domain, code, trusted text, return thunk. */
	chariot_batch_init(&b);
	chariot_post_create(&b, 0, CODE, 0x4000, 1);
	chariot_post_code(&b, 0, CODE2, 0x1000);
	chariot_post_trusted(&b, KTEXT, 0x100000);
	chariot_post_thunk(&b, THUNK, 64);
	done(&b, 0);

	/* A task enters it, with its stack. */
	chariot_batch_init(&b);
	chariot_post_enter(&b, 0, 0, (void *)FRAME,
			   CHARIOT_ENTER_STACK(STACK, 0x4000));
	chariot_post_grant_phys(&b, 0, CHARIOT_GRANT_STACK, 0x51, 0x100000,
				0x4000);
	done(&b, MODEL_EV_PROMPT);

	/* It allocates a page (whole: the VMM may open it). */
	chariot_batch_init(&b);
	chariot_post_grant_phys(&b, 0, CHARIOT_GRANT_KMALLOC, 0xa1, 0x200000,
				0x1000);
	done(&b, 0);

	/* The monitor is reloaded: it goes on from the head it finds. */
	chariot_ring_close();
	if (chariot_ring_open())
		model_fail("the monitor could not open the ring again");

	/* An event of more records than a batch holds and the ring too. */
	chariot_batch_init(&b);
	for (i = 0; i < CHARIOT_BATCH + 2; i++)
		chariot_post_grant_phys(&b, 0, CHARIOT_GRANT_KMALLOC, 0xb0 + i,
					0x210000 + i * 0x100, 0x100);
	done(&b, 0);

	/* It frees the first allocation. */
	chariot_batch_init(&b);
	chariot_post_revoke(&b, 0, CHARIOT_GRANT_KMALLOC, 0xa1);
	done(&b, MODEL_EV_PROMPT | MODEL_EV_REVOKE);

	/* The kernel frees pages the VMM keeps apart. */
	chariot_batch_init(&b);
	chariot_post_page_freed(&b, 0x300000, 0x2000);
	done(&b, MODEL_EV_PROMPT);

	/* The task leaves; the module's init code goes; it unloads. */
	chariot_batch_init(&b);
	chariot_post_leave(&b, 0, 0);
	done(&b, MODEL_EV_PROMPT);

	chariot_batch_init(&b);
	chariot_post_uncode(&b, 0, CODE2, 0x1000);
	chariot_post_destroy(&b, 0);
	done(&b, 0);
}

/* CPU 0 posts an event in parts (a batch filled once: the first part goes
 * out without a doorbell, below the kick level of a larger ring); CPU 1's
 * free of the driver's page comes in between, under the ring's lock, as it
 * may. */
static void interleaved(void)
{
	struct chariot_batch a, b;
	unsigned int i;

	chariot_batch_init(&b);
	chariot_post_create(&b, 0, CODE, 0x4000, 1);
	chariot_post_grant_phys(&b, 0, CHARIOT_GRANT_KMALLOC, 0xa1, 0x200000,
				0x1000);
	done(&b, 0);

	chariot_batch_init(&a);
	for (i = 0; i < CHARIOT_BATCH + 1; i++)	/* the 9th posts a part */
		chariot_post_grant_phys(&a, 0, CHARIOT_GRANT_KMALLOC, 0xb0 + i,
					0x210000 + i * 0x100, 0x100);

	chariot_batch_init(&b);
	chariot_post_revoke(&b, 0, CHARIOT_GRANT_KMALLOC, 0xa1);
	done(&b, MODEL_EV_PROMPT | MODEL_EV_REVOKE);

	done(&a, 0);		/* CPU 0's last part: the 9th record */

	chariot_batch_init(&b);
	chariot_post_destroy(&b, 0);
	done(&b, 0);
}

/* ---- MODEL_RANDOM: events drawn at random, memory never granted twice */

#define MAX_LIVE	16

struct drawn {
	u64 live[MAX_LIVE];	/* cookies granted, not freed */
	unsigned int nlive, depth;
	u64 next_cookie, next_pa;
};

/* k grants of new memory; the driver's page (the VMM opens it) first. */
static void add_grants(struct drawn *d, struct chariot_batch *b,
		       unsigned int k)
{
	while (k--) {
		u64 pa = d->next_pa, len = 0x100;

		if (d->next_cookie == 0xa1) {
			pa = 0x200000;
			len = 0x1000;
		} else {
			d->next_pa += 0x100;
		}
		chariot_post_grant_phys(b, 0, CHARIOT_GRANT_KMALLOC,
					d->next_cookie, pa, len);
		if (d->nlive < MAX_LIVE)
			d->live[d->nlive++] = d->next_cookie;
		d->next_cookie++;
	}
}

/* A free of a live allocation, if there is one; false if not. */
static bool add_free(struct drawn *d, struct chariot_batch *b)
{
	unsigned int i;

	if (!d->nlive)
		return false;
	i = model_random(d->nlive);
	chariot_post_revoke(b, 0, CHARIOT_GRANT_KMALLOC, d->live[i]);
	d->live[i] = d->live[--d->nlive];
	return true;
}

static void drawn_event(struct drawn *d)
{
	struct chariot_batch a, b;
	unsigned int k;

	chariot_batch_init(&b);
	switch (model_random(6)) {
	case 0:		/* allocations, maybe more than a batch */
		add_grants(d, &b, 1 + model_random(2 * CHARIOT_BATCH + 4));
		done(&b, 0);
		break;
	case 1:
		done(&b, add_free(d, &b) ? MODEL_EV_PROMPT | MODEL_EV_REVOKE
					 : 0);
		break;
	case 2:
		if (d->depth == 2)
			break;
		chariot_post_enter(&b, 0, d->depth, (void *)FRAME,
				   CHARIOT_ENTER_STACK(STACK, 0x4000));
		d->depth++;
		done(&b, MODEL_EV_PROMPT);
		break;
	case 3:
		if (!d->depth)
			break;
		chariot_post_leave(&b, 0, --d->depth);
		done(&b, MODEL_EV_PROMPT);
		break;
	case 4:
		chariot_post_page_freed(&b, 0x300000, 0x1000);
		done(&b, MODEL_EV_PROMPT);
		break;
	case 5:		/* another CPU's free between this event's parts */
		k = CHARIOT_BATCH + 1 + model_random(CHARIOT_BATCH);
		chariot_batch_init(&a);
		add_grants(d, &a, k);	/* its first part is out */
		model_event_done(0);	/* (the part's doorbells counted) */
		done(&b, add_free(d, &b) ? MODEL_EV_PROMPT | MODEL_EV_REVOKE
					 : 0);
		done(&a, 0);
		break;
	}
}

static void drawn(void)
{
	struct drawn d = { .next_cookie = 0xa0, .next_pa = 0x400000 };
	struct chariot_batch b;
	unsigned int i;

	chariot_batch_init(&b);
	chariot_post_create(&b, 0, CODE, 0x4000, 1);
	done(&b, 0);
	for (i = 0; i < 8; i++)
		drawn_event(&d);
	chariot_batch_init(&b);
	while (d.depth)
		chariot_post_leave(&b, 0, --d.depth);
	chariot_post_destroy(&b, 0);
	done(&b, MODEL_EV_PROMPT);
}

void model_producer_scenario(enum model_scenario which)
{
	switch (which) {
	case MODEL_LIFE:
		life();
		break;
	case MODEL_INTERLEAVED:
		interleaved();
		break;
	default:
		drawn();
	}
}
