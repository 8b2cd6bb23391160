/* Unit tests for the open-page cache: the precision rule, LRU order and
 * eviction, closing on ACT removal, capacity 0. */
#include <stdint.h>

#include "iso/pagecache.h"
#include "test.h"

#define PG(n)	(0x200000ull + (uint64_t)(n) * PC_PAGE_SIZE)

struct fixture {
	struct act act;
	struct pagecache pc;
};

static int setup(struct fixture *fx, uint32_t capacity)
{
	int err = act_init(&fx->act, 64);

	if (err)
		return err;
	/* Pages 0..15 wholly granted, page 16 only half. */
	err = act_insert(&fx->act, PG(0), 16 * PC_PAGE_SIZE,
			 CHARIOT_GRANT_PAGES, 0);
	if (!err)
		err = act_insert(&fx->act, PG(16), PC_PAGE_SIZE / 2,
				 CHARIOT_GRANT_KMALLOC, 0);
	return err ? err : pagecache_init(&fx->pc, capacity);
}

static void teardown(struct fixture *fx)
{
	pagecache_destroy(&fx->pc);
	act_destroy(&fx->act);
}

static int open_page(struct fixture *fx, int n, struct pc_update *up)
{
	return pagecache_open(&fx->pc, &fx->act, PG(n) + 0x18, up);
}

TEST(pagecache_opens_only_whole_granted_pages)
{
	struct fixture fx;
	struct pc_update up;

	CHECK_EQ(setup(&fx, 4), 0);
	CHECK_EQ(open_page(&fx, 16, &up), 0);	/* half granted */
	CHECK(!up.open && !up.close);
	CHECK_EQ(open_page(&fx, 17, &up), 0);	/* not granted */
	CHECK_EQ(open_page(&fx, 3, &up), 1);
	CHECK(up.open && !up.close);
	CHECK_EQ(up.open_page, PG(3));
	CHECK(pagecache_is_open(&fx.pc, PG(3) + 0xfff));
	CHECK(!pagecache_is_open(&fx.pc, PG(4)));
	CHECK_EQ(open_page(&fx, 3, &up), 0);	/* open already */
	CHECK(!up.open);
	CHECK_EQ(pagecache_count(&fx.pc), 1);
	/* A page granted in two entries of different tags is whole too. */
	CHECK_EQ(act_insert(&fx.act, PG(16) + PC_PAGE_SIZE / 2,
			    PC_PAGE_SIZE / 2, CHARIOT_GRANT_STACK, 0), 0);
	CHECK_EQ(open_page(&fx, 16, &up), 1);
	teardown(&fx);
}

TEST(pagecache_evicts_least_recently_used)
{
	struct fixture fx;
	struct pc_update up;
	uint64_t pages[8];

	CHECK_EQ(setup(&fx, 3), 0);
	for (int n = 0; n < 3; n++)
		CHECK_EQ(open_page(&fx, n, &up), 1);
	CHECK_EQ(pagecache_list(&fx.pc, pages, 8), 3);
	CHECK_EQ(pages[0], PG(2));
	CHECK_EQ(pages[2], PG(0));
	pagecache_touch(&fx.pc, PG(0) + 5);	/* 0 is now the newest */
	pagecache_touch(&fx.pc, PG(9));		/* not open: no effect */
	CHECK_EQ(open_page(&fx, 5, &up), 1);
	CHECK(up.open && up.close);
	CHECK_EQ(up.open_page, PG(5));
	CHECK_EQ(up.close_page, PG(1));
	CHECK(!pagecache_is_open(&fx.pc, PG(1)));
	CHECK_EQ(open_page(&fx, 2, &up), 0);	/* reopening refreshes 2 */
	CHECK_EQ(open_page(&fx, 6, &up), 1);
	CHECK_EQ(up.close_page, PG(0));
	CHECK_EQ(pagecache_list(&fx.pc, pages, 2), 2);
	CHECK_EQ(pages[0], PG(6));
	CHECK_EQ(pages[1], PG(2));
	CHECK_EQ(pagecache_count(&fx.pc), 3);
	teardown(&fx);
}

TEST(pagecache_closes_on_act_removal)
{
	struct fixture fx;
	struct pc_update up;
	uint64_t closed[8];

	CHECK_EQ(setup(&fx, 8), 0);
	for (int n = 0; n < 6; n++)
		CHECK_EQ(open_page(&fx, n, &up), 1);
	/* Revoking 8 bytes straddling pages 1 and 2 closes both. */
	CHECK_EQ(act_remove(&fx.act, PG(2) - 4, 8), 0);
	CHECK_EQ(pagecache_close_range(&fx.pc, PG(2) - 4, 8, closed, 8), 2);
	CHECK(!pagecache_is_open(&fx.pc, PG(1)));
	CHECK(!pagecache_is_open(&fx.pc, PG(2)));
	CHECK_EQ(pagecache_close_range(&fx.pc, PG(2) - 4, 8, closed, 8), 0);
	/* They do not reopen: no longer wholly granted. */
	CHECK_EQ(open_page(&fx, 1, &up), 0);
	/* A range far larger than the cache, taken two at a time. */
	CHECK_EQ(pagecache_close_range(&fx.pc, 0, 1ull << 40, closed, 2), 2);
	CHECK_EQ(pagecache_close_range(&fx.pc, 0, 1ull << 40, closed, 2), 2);
	CHECK_EQ(pagecache_close_range(&fx.pc, 0, 1ull << 40, closed, 2), 0);
	CHECK_EQ(pagecache_count(&fx.pc), 0);
	CHECK_EQ(open_page(&fx, 7, &up), 1);
	CHECK_EQ(pagecache_close_range(&fx.pc, 0, 0, closed, 8), 1);	/* all */
	CHECK_EQ(closed[0], PG(7));
	CHECK_EQ(pagecache_close_range(&fx.pc, UINT64_MAX - 2, 100, closed,
				       8), 0);	/* runs past the top */
	teardown(&fx);
}

TEST(pagecache_capacity_zero_disables)
{
	struct fixture fx;
	struct pc_update up;
	uint64_t closed[1];

	CHECK_EQ(setup(&fx, 0), 0);
	CHECK_EQ(open_page(&fx, 0, &up), 0);
	CHECK(!up.open && !up.close);
	CHECK(!pagecache_is_open(&fx.pc, PG(0)));
	pagecache_touch(&fx.pc, PG(0));
	CHECK_EQ(pagecache_close_range(&fx.pc, 0, 0, closed, 1), 0);
	CHECK_EQ(pagecache_list(&fx.pc, closed, 1), 0);
	teardown(&fx);
}
