/* Unit tests for the kernel pages run in the protected view (leaf.h):
 * promotion by calls, the cap, demotion by the rate and by bursts of
 * writes, bans, and the watch list giving cold pages' slots to new ones. */
#include <stdint.h>
#include <string.h>

#include "iso/leaf.h"
#include "test.h"

#define K	0xffffffff81000000ull

static void call_n(struct leaf_set *l, uint64_t va, unsigned int n,
		   uint64_t entries, unsigned int *promoted)
{
	for (unsigned int i = 0; i < n; i++)
		*promoted += leaf_called(l, va, entries);
}

TEST(leaf_promotes_after_enough_calls)
{
	static struct leaf_set l;
	unsigned int up = 0;

	leaf_init(&l, false);
	call_n(&l, K + 0x1010, LEAF_PROMOTE - 1, 5, &up);
	CHECK_EQ(up, 0);
	CHECK(!leaf_runs(&l, K + 0x1000));
	/* Another address in the same page counts for it. */
	call_n(&l, K + 0x1ff0, 1, 6, &up);
	CHECK_EQ(up, 1);
	CHECK(leaf_runs(&l, K + 0x1000) && leaf_runs(&l, K + 0x1fff));
	CHECK(!leaf_runs(&l, K + 0x2000) && !leaf_runs(&l, K + 0x0fff));
	/* Promoted once only. */
	call_n(&l, K + 0x1010, 10, 7, &up);
	CHECK_EQ(up, 1);
	CHECK_EQ(l.running, 1);
	CHECK_EQ(l.promotions, 1);
}

/* Calls spread thinner than LEAF_PROMOTE in LEAF_WINDOW entries never
 * promote; the same number close together does. */
TEST(leaf_promotes_only_dense_calls)
{
	static struct leaf_set l;
	unsigned int up = 0;
	uint64_t e = 0;

	leaf_init(&l, false);
	for (unsigned int i = 0; i < 10 * LEAF_PROMOTE; i++, e += 3)
		up += leaf_called(&l, K, e);
	CHECK_EQ(up, 0);
	for (unsigned int i = 0; i < LEAF_PROMOTE; i++)
		up += leaf_called(&l, K, e);
	CHECK_EQ(up, 1);
	CHECK(leaf_runs(&l, K));
}

TEST(leaf_off_never_promotes)
{
	static struct leaf_set l;
	unsigned int up = 0;

	leaf_init(&l, true);
	call_n(&l, K, 10 * LEAF_PROMOTE, 1, &up);
	CHECK_EQ(up, 0);
	CHECK(!leaf_runs(&l, K));
	CHECK_EQ(leaf_digest(&l, 7), 7);
}

TEST(leaf_runs_at_most_the_cap)
{
	static struct leaf_set l;
	unsigned int up = 0;

	leaf_init(&l, false);
	for (unsigned int p = 0; p < LEAF_RUN_MAX + 2; p++)
		call_n(&l, K + p * 0x1000, LEAF_PROMOTE, 1, &up);
	CHECK_EQ(up, LEAF_RUN_MAX);
	CHECK_EQ(l.running, LEAF_RUN_MAX);
	CHECK(leaf_runs(&l, K + (LEAF_RUN_MAX - 1) * 0x1000ull));
	CHECK(!leaf_runs(&l, K + LEAF_RUN_MAX * 0x1000ull));
	/* One demoted: the next call of a waiting page takes its place. */
	for (unsigned int w = 0; w < 1000 && l.running == LEAF_RUN_MAX; w++)
		leaf_wrote(&l, 0, K + 0x10, 1);
	CHECK_EQ(l.running, LEAF_RUN_MAX - 1);
	call_n(&l, K + LEAF_RUN_MAX * 0x1000ull, 1, 1, &up);
	CHECK_EQ(up, LEAF_RUN_MAX + 1);
	CHECK(leaf_runs(&l, K + LEAF_RUN_MAX * 0x1000ull));
}

/* Calls per entry before, writes per entry after: demoted only when the
 * writes come to more than LEAF_RATE times the calls. */
TEST(leaf_demotes_by_rate)
{
	static struct leaf_set l;
	unsigned int up = 0, down = 0, i;

	leaf_init(&l, false);
	/* 32 calls over entries 100 -> 115. */
	for (i = 0; i < LEAF_PROMOTE; i++)
		up += leaf_called(&l, K + 0x3000, 100 + i / 2);
	CHECK_EQ(up, 1);
	CHECK(leaf_runs(&l, K + 0x3000));
	/* By entry 125, 10 entries on: up to LEAF_RATE * 32 * 10 / 15. */
	for (i = 0; i < LEAF_RATE * LEAF_PROMOTE * 10 / 15; i++) {
		leaf_switched(&l, 0);
		down += leaf_wrote(&l, 0, K + 0x3008, 125);
	}
	CHECK_EQ(down, 0);
	CHECK(leaf_runs(&l, K + 0x3000));
	/* Writes from elsewhere do not count for it. */
	for (i = 0; i < 1000; i++) {
		leaf_switched(&l, 0);
		down += leaf_wrote(&l, 0, K + 0x4008, 125);
	}
	CHECK_EQ(down, 0);
	leaf_switched(&l, 0);
	CHECK(leaf_wrote(&l, 0, K + 0x3ff0, 125));
	CHECK(!leaf_runs(&l, K + 0x3000));
	CHECK_EQ(l.running, 0);
	CHECK_EQ(l.demotions, 1);
	/* Banned: never promoted again. */
	call_n(&l, K + 0x3000, 10 * LEAF_PROMOTE, 200, &up);
	CHECK_EQ(up, 1);
	CHECK(!leaf_runs(&l, K + 0x3000));
}

/* LEAF_BURST writes in a row on one vCPU: out at once, whatever the rate;
 * a view switch, a write from another page or another vCPU breaks a row. */
TEST(leaf_demotes_a_burst)
{
	static struct leaf_set l;
	unsigned int up = 0, down = 0, i;

	leaf_init(&l, false);
	call_n(&l, K, LEAF_PROMOTE, 0, &up);
	CHECK_EQ(up, 1);
	for (i = 0; i < LEAF_BURST - 1; i++)
		down += leaf_wrote(&l, 0, K + 8, 1000);
	leaf_switched(&l, 0);
	for (i = 0; i < LEAF_BURST - 1; i++)
		down += leaf_wrote(&l, 0, K + 8, 1000);
	down += leaf_wrote(&l, 0, K + 0x5000, 1000);
	for (i = 0; i < LEAF_BURST - 1; i++) {
		down += leaf_wrote(&l, 0, K + 8, 1000);
		down += leaf_wrote(&l, 1, K + 8, 1000);
	}
	CHECK_EQ(down, 0);
	CHECK(leaf_runs(&l, K));
	CHECK(leaf_wrote(&l, 0, K + 16, 1000));
	CHECK(!leaf_runs(&l, K));
}

/* A page that writes less than it was called stays, however long. */
TEST(leaf_cheap_writer_stays)
{
	static struct leaf_set l;
	unsigned int up = 0, down = 0;

	leaf_init(&l, false);
	call_n(&l, K, LEAF_PROMOTE, 0, &up);	/* all in one entry */
	CHECK_EQ(up, 1);
	for (uint64_t e = 1; e < 1000; e++)
		for (unsigned int w = 0; w < LEAF_PROMOTE; w++) {
			leaf_switched(&l, 0);
			down += leaf_wrote(&l, 0, K + 8, e);
		}
	CHECK_EQ(down, 0);
	CHECK(leaf_runs(&l, K));
}

/* A full watch list gives the coldest watched page's slot to a new one;
 * pages run protected or banned keep theirs. */
TEST(leaf_watch_list_recycles_cold_pages)
{
	static struct leaf_set l;
	unsigned int up = 0;

	leaf_init(&l, false);
	call_n(&l, K, LEAF_PROMOTE, 0, &up);		/* runs */
	for (unsigned int p = 1; p < LEAF_SLOTS; p++)	/* fill the rest */
		call_n(&l, K + p * 0x1000ull, p == 1 ? 1 : 2, 0, &up);
	CHECK_EQ(up, 1);
	/* A new page takes page 1's slot (1 call); page 2 keeps its 2. */
	call_n(&l, K + 0x100000, LEAF_PROMOTE, 0, &up);
	CHECK_EQ(up, 2);
	call_n(&l, K + 0x2000, LEAF_PROMOTE - 2, 0, &up);
	CHECK_EQ(up, 3);
	CHECK(leaf_runs(&l, K) && leaf_runs(&l, K + 0x100000) &&
	      leaf_runs(&l, K + 0x2000));
}

TEST(leaf_digest_follows_the_running_set)
{
	static struct leaf_set l;
	unsigned int up = 0;
	uint64_t d0, d1;

	leaf_init(&l, false);
	d0 = leaf_digest(&l, 1);
	call_n(&l, K, LEAF_PROMOTE - 1, 0, &up);
	CHECK_EQ(leaf_digest(&l, 1), d0);	/* watching changes no hole */
	call_n(&l, K, 1, 0, &up);
	d1 = leaf_digest(&l, 1);
	CHECK(d1 != d0);
	for (unsigned int i = 0; i < 1000 && l.running; i++)
		leaf_wrote(&l, 0, K, 0);
	CHECK_EQ(leaf_digest(&l, 1), d0);
}
