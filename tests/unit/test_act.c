/* Unit tests for the authorization table: edge cases, then long random
 * sequences checked after every operation against a byte-per-byte model of
 * a small address space (its tag runs must be exactly the table's entries)
 * and against the AVL tree's own invariants. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "iso/act.h"
#include "test.h"

#define SPACE		512		/* bytes the random model covers */
#define NCOOKIES	4		/* cookie index 0 is "no cookie" */
#define NKINDS		3
#define UNGRANTED	(-1)

#define KMALLOC		CHARIOT_GRANT_KMALLOC
#define STACK		CHARIOT_GRANT_STACK
#define VMALLOC		CHARIOT_GRANT_VMALLOC

struct model {
	struct act act;
	uint64_t base;
	int tag[SPACE];			/* kind * NCOOKIES + cookie index */
	uint64_t cookies[NCOOKIES];
	uint64_t rng;
};

static uint64_t rnd(struct model *m)
{
	return test_rnd(&m->rng);
}

static int entry_tag(const struct model *m, const struct act_entry *e)
{
	for (int c = 0; c < NCOOKIES; c++)
		if (m->cookies[c] == e->cookie)
			return e->kind * NCOOKIES + c;
	return -2;
}

/* Height of subtree n after checking order, heights and balance; *in walks
 * the address-order list alongside the in-order walk. */
static int check_tree(const struct act_entry *n, const struct act_entry **in,
		      int *failed)
{
	int l, r;

	if (!n)
		return 0;
	l = check_tree(n->left, in, failed);
	CHECK(*in == n);
	if (*in)
		*in = (*in)->next;
	r = check_tree(n->right, in, failed);
	CHECK_EQ(n->height, 1 + (l > r ? l : r));
	CHECK(l - r <= 1 && r - l <= 1);
	return n->height;
}

/* The table's entries are exactly the model's maximal tag runs. */
static void check_entries(struct model *m, int *failed)
{
	const struct act_entry *e = act_first(&m->act), *in = e;
	unsigned int n = 0;

	for (int i = 0; i < SPACE;) {
		int j = i;

		while (j < SPACE && m->tag[j] == m->tag[i])
			j++;
		if (m->tag[i] != UNGRANTED) {
			CHECK(e != NULL);
			if (!e)
				return;
			CHECK_EQ(e->start, m->base + i);
			CHECK_EQ(e->end, m->base + j);
			CHECK_EQ(entry_tag(m, e), m->tag[i]);
			CHECK(!e->next || e->next->prev == e);
			e = e->next;
			n++;
		}
		i = j;
	}
	CHECK(e == NULL);
	CHECK_EQ(act_count(&m->act), n);
	CHECK(act_count(&m->act) <= m->act.max);
	check_tree(m->act.root, &in, failed);
	CHECK(in == NULL);
}

static enum act_cover model_cover(const struct model *m, int s, int len)
{
	int granted = 0;

	for (int i = s; i < s + len; i++)
		granted += m->tag[i] != UNGRANTED;
	return !granted ? ACT_NONE : granted == len ? ACT_FULL : ACT_PARTIAL;
}

static void check_queries(struct model *m, int *failed)
{
	for (int q = 0; q < 8; q++) {
		int s = (int)(rnd(m) % SPACE);
		int len = 1 + (int)(rnd(m) % (SPACE - s < 16 ? SPACE - s : 16));
		const struct act_entry *e = act_find(&m->act, m->base + s);

		CHECK_EQ(act_coverage(&m->act, m->base + s, len),
			 model_cover(m, s, len));
		CHECK_EQ(e != NULL, m->tag[s] != UNGRANTED);
		if (e)
			CHECK_EQ(entry_tag(m, e), m->tag[s]);
	}
}

static int tag_at(const struct model *m, int i)
{
	return i < 0 || i >= SPACE ? UNGRANTED : m->tag[i];
}

/* New entries an insert needs: its gaps that touch no same-tag run. */
static unsigned int model_needed(const struct model *m, int s, int e, int tag)
{
	unsigned int needed = 0;

	for (int i = s; i < e;) {
		int j = i;

		if (m->tag[i] != UNGRANTED) {
			i++;
			continue;
		}
		while (j < e && m->tag[j] == UNGRANTED)
			j++;
		needed += tag_at(m, i - 1) != tag && tag_at(m, j) != tag;
		i = j;
	}
	return needed;
}

static void op_insert(struct model *m, int *failed)
{
	int s = (int)(rnd(m) % SPACE);
	int len = 1 + (int)(rnd(m) % (SPACE - s < 48 ? SPACE - s : 48));
	int kind = (int)(rnd(m) % NKINDS), c = (int)(rnd(m) % NCOOKIES);
	int tag = kind * NCOOKIES + c;
	bool full = model_needed(m, s, s + len, tag) >
		    m->act.max - act_count(&m->act);
	int ret = act_insert(&m->act, m->base + s, len, kind, m->cookies[c]);

	CHECK_EQ(ret, full ? -ENOSPC : 0);
	if (ret)
		return;
	for (int i = s; i < s + len; i++)
		if (m->tag[i] == UNGRANTED)
			m->tag[i] = tag;
}

/* Does one run hold both s - 1 and e (the removal punches a hole)? */
static bool model_splits(const struct model *m, int s, int e)
{
	int tag = tag_at(m, s - 1);

	if (tag == UNGRANTED)
		return false;
	for (int i = s; i <= e; i++)
		if (tag_at(m, i) != tag)
			return false;
	return true;
}

static void op_remove(struct model *m, int *failed)
{
	int s = (int)(rnd(m) % SPACE);
	int len = 1 + (int)(rnd(m) % (SPACE - s < 32 ? SPACE - s : 32));
	bool full = model_splits(m, s, s + len) &&
		    act_count(&m->act) == m->act.max;
	int ret = act_remove(&m->act, m->base + s, len);

	CHECK_EQ(ret, full ? -ENOSPC : 0);
	if (ret)
		return;
	for (int i = s; i < s + len; i++)
		m->tag[i] = UNGRANTED;
}

static void op_take_cookie(struct model *m, int *failed)
{
	int kind = (int)(rnd(m) % NKINDS), c = 1 + (int)(rnd(m) % 3);
	int tag = kind * NCOOKIES + c, present = 0;
	uint64_t start, end;
	int ret = act_take_cookie(&m->act, kind, m->cookies[c], &start, &end);

	for (int i = 0; i < SPACE; i++)
		present |= m->tag[i] == tag;
	CHECK_EQ(ret, present);
	if (ret != 1)
		return;
	CHECK(start >= m->base && end <= m->base + SPACE && start < end);
	for (uint64_t a = start; a < end; a++) {
		CHECK_EQ(m->tag[a - m->base], tag);
		m->tag[a - m->base] = UNGRANTED;
	}
	CHECK(tag_at(m, (int)(start - m->base) - 1) != tag);
	CHECK(tag_at(m, (int)(end - m->base)) != tag);
}

static void run_random(uint64_t seed, uint64_t base, unsigned int max,
		       int ops, int *failed)
{
	struct model *m = calloc(1, sizeof(*m));

	CHECK(m != NULL);
	if (!m)
		return;
	CHECK_EQ(act_init(&m->act, max), 0);
	m->base = base;
	m->rng = seed;
	for (int i = 0; i < SPACE; i++)
		m->tag[i] = UNGRANTED;
	for (int c = 1; c < NCOOKIES; c++)
		m->cookies[c] = 0xffff888000000000ull + c * 0x40;
	for (int i = 0; i < ops && !*failed; i++) {
		uint64_t r = rnd(m) % 10;

		if (r < 5)
			op_insert(m, failed);
		else if (r < 8)
			op_remove(m, failed);
		else
			op_take_cookie(m, failed);
		check_entries(m, failed);
		check_queries(m, failed);
		if (*failed)
			fprintf(stderr, "  seed %llu op %d\n",
				(unsigned long long)seed, i);
	}
	act_destroy(&m->act);
	free(m);
}

TEST(act_random_roomy)
{
	for (uint64_t seed = 1; seed <= 4; seed++)
		run_random(seed * 0x9e3779b97f4a7c15ull, 0x100000, 4096, 3000,
			   failed);
}

TEST(act_random_tight_pool)
{
	for (uint64_t seed = 5; seed <= 8; seed++)
		run_random(seed * 0x9e3779b97f4a7c15ull, 0x7fff0000, 24, 3000,
			   failed);
}

TEST(act_random_top_of_space)
{
	run_random(77, UINT64_MAX - SPACE, 64, 3000, failed);
}

TEST(act_rejects_bad_ranges)
{
	struct act act;
	uint64_t s, e;

	CHECK_EQ(act_init(&act, 0), -EINVAL);
	CHECK_EQ(act_init(&act, 8), 0);
	CHECK_EQ(act_insert(&act, 0x1000, 0, KMALLOC, 0), -EINVAL);
	CHECK_EQ(act_insert(&act, UINT64_MAX - 1, 2, KMALLOC, 0), -EINVAL);
	CHECK_EQ(act_insert(&act, 0x1000, UINT64_MAX, KMALLOC, 0), -EINVAL);
	CHECK_EQ(act_insert(&act, 0x1000, 8, CHARIOT_GRANT_KINDS, 0), -EINVAL);
	CHECK_EQ(act_remove(&act, 0x1000, 0), -EINVAL);
	CHECK_EQ(act_remove(&act, UINT64_MAX, 1), -EINVAL);
	CHECK_EQ(act_take_cookie(&act, KMALLOC, 0, &s, &e), -EINVAL);
	CHECK_EQ(act_count(&act), 0);
	/* The last grantable byte is UINT64_MAX - 1: end must fit. */
	CHECK_EQ(act_insert(&act, UINT64_MAX - 16, 16, KMALLOC, 0), 0);
	CHECK_EQ(act_coverage(&act, UINT64_MAX - 16, 16), ACT_FULL);
	CHECK_EQ(act_coverage(&act, UINT64_MAX - 16, 0), ACT_NONE);
	CHECK_EQ(act_coverage(&act, UINT64_MAX - 1, 2), ACT_NONE);
	act_destroy(&act);
}

TEST(act_touching_ranges)
{
	struct act act;

	CHECK_EQ(act_init(&act, 8), 0);
	CHECK_EQ(act_insert(&act, 0x1000, 0x100, KMALLOC, 7), 0);
	CHECK_EQ(act_insert(&act, 0x1100, 0x100, KMALLOC, 7), 0);
	CHECK_EQ(act_count(&act), 1);		/* same tag: one entry */
	CHECK_EQ(act_first(&act)->end, 0x1200);
	CHECK_EQ(act_insert(&act, 0x1200, 0x100, STACK, 7), 0);
	CHECK_EQ(act_count(&act), 2);		/* other kind: its own */
	CHECK_EQ(act_insert(&act, 0xf00, 0x100, KMALLOC, 8), 0);
	CHECK_EQ(act_count(&act), 3);		/* other cookie: its own */
	CHECK_EQ(act_coverage(&act, 0xf00, 0x400), ACT_FULL);
	CHECK_EQ(act_coverage(&act, 0xeff, 2), ACT_PARTIAL);
	CHECK_EQ(act_coverage(&act, 0x12ff, 2), ACT_PARTIAL);
	CHECK_EQ(act_coverage(&act, 0x1300, 1), ACT_NONE);
	CHECK_EQ(act_find(&act, 0x11ff)->kind, KMALLOC);
	CHECK_EQ(act_find(&act, 0x1200)->kind, STACK);
	CHECK(act_find(&act, 0x1300) == NULL);
	/* A gap filled with the tag of both sides joins them. */
	CHECK_EQ(act_insert(&act, 0x2000, 0x100, VMALLOC, 0), 0);
	CHECK_EQ(act_insert(&act, 0x2200, 0x100, VMALLOC, 0), 0);
	CHECK_EQ(act_count(&act), 5);
	CHECK_EQ(act_insert(&act, 0x2100, 0x100, VMALLOC, 0), 0);
	CHECK_EQ(act_count(&act), 4);
	CHECK_EQ(act_find(&act, 0x2000)->end, 0x2300);
	act_destroy(&act);
}

TEST(act_first_grant_keeps_its_tag)
{
	struct act act;
	uint64_t s, e;

	CHECK_EQ(act_init(&act, 8), 0);
	CHECK_EQ(act_insert(&act, 0x1000, 0x1000, KMALLOC, 0xa), 0);
	CHECK_EQ(act_insert(&act, 0x800, 0x2000, CHARIOT_GRANT_IFACE, 0xb), 0);
	CHECK_EQ(act_count(&act), 3);
	CHECK_EQ(act_find(&act, 0x1800)->cookie, 0xa);
	CHECK_EQ(act_find(&act, 0x900)->cookie, 0xb);
	CHECK_EQ(act_find(&act, 0x2100)->cookie, 0xb);
	/* Revoking the interface grant leaves the kmalloc bytes. */
	while (act_take_cookie(&act, CHARIOT_GRANT_IFACE, 0xb, &s, &e) == 1)
		;
	CHECK_EQ(act_count(&act), 1);
	CHECK_EQ(act_coverage(&act, 0x1000, 0x1000), ACT_FULL);
	CHECK_EQ(act_coverage(&act, 0x800, 0x800), ACT_NONE);
	act_destroy(&act);
}

TEST(act_remove_middle_splits)
{
	struct act act;
	const struct act_entry *e;

	CHECK_EQ(act_init(&act, 2), 0);
	CHECK_EQ(act_insert(&act, 0x10000, 0x3000, CHARIOT_GRANT_PAGES, 5), 0);
	CHECK_EQ(act_remove(&act, 0x11000, 0x1000), 0);
	CHECK_EQ(act_count(&act), 2);
	e = act_first(&act);
	CHECK_EQ(e->start, 0x10000);
	CHECK_EQ(e->end, 0x11000);
	CHECK_EQ(e->next->start, 0x12000);
	CHECK_EQ(e->next->end, 0x13000);
	CHECK_EQ(e->next->kind, CHARIOT_GRANT_PAGES);
	CHECK_EQ(e->next->cookie, 5);
	/* Pool full: another hole cannot be punched, and nothing changes. */
	CHECK_EQ(act_remove(&act, 0x10400, 0x100), -ENOSPC);
	CHECK_EQ(act_coverage(&act, 0x10000, 0x1000), ACT_FULL);
	/* Trims and whole removals need no entry. */
	CHECK_EQ(act_remove(&act, 0x10000, 0x100), 0);
	CHECK_EQ(act_remove(&act, 0x10f00, 0x1200), 0);
	CHECK_EQ(act_first(&act)->start, 0x10100);
	CHECK_EQ(act_first(&act)->end, 0x10f00);
	CHECK_EQ(act_first(&act)->next->start, 0x12100);
	CHECK_EQ(act_remove(&act, 0, 0x20000), 0);
	CHECK_EQ(act_count(&act), 0);
	CHECK_EQ(act_remove(&act, 0, 0x20000), 0);	/* nothing there */
	act_destroy(&act);
}

TEST(act_insert_enospc_changes_nothing)
{
	struct act act;

	CHECK_EQ(act_init(&act, 3), 0);
	CHECK_EQ(act_insert(&act, 0x1000, 0x10, KMALLOC, 1), 0);
	CHECK_EQ(act_insert(&act, 0x2000, 0x10, KMALLOC, 2), 0);
	/* Two gaps of tag 3 touch nothing of tag 3: two entries, one free. */
	CHECK_EQ(act_insert(&act, 0x800, 0x1000, KMALLOC, 3), -ENOSPC);
	CHECK_EQ(act_count(&act), 2);
	CHECK_EQ(act_coverage(&act, 0x800, 1), ACT_NONE);
	/* Growing an entry needs none even with the pool full. */
	CHECK_EQ(act_insert(&act, 0x3000, 0x10, KMALLOC, 3), 0);
	CHECK_EQ(act_insert(&act, 0x2f00, 0x200, KMALLOC, 3), 0);
	CHECK_EQ(act_count(&act), 3);
	CHECK_EQ(act_find(&act, 0x2f00)->end, 0x3100);
	act_clear(&act);
	CHECK_EQ(act_count(&act), 0);
	CHECK(act_first(&act) == NULL);
	CHECK_EQ(act_insert(&act, 0x800, 0x1000, KMALLOC, 3), 0);
	act_destroy(&act);
}

TEST(act_take_cookie_of_scattered_pages)
{
	struct act act;
	uint64_t s, e, bytes = 0;
	int n = 0;

	CHECK_EQ(act_init(&act, 64), 0);
	for (int i = 0; i < 16; i++)	/* a vmalloc area, every other page */
		CHECK_EQ(act_insert(&act, 0x100000 + i * 0x2000, 0x1000,
				    VMALLOC, 0xffffc90000001000ull), 0);
	CHECK_EQ(act_insert(&act, 0x101000, 0x1000, VMALLOC, 0x99), 0);
	CHECK_EQ(act_take_cookie(&act, KMALLOC, 0xffffc90000001000ull,
				 &s, &e), 0);
	while (act_take_cookie(&act, VMALLOC, 0xffffc90000001000ull,
			       &s, &e) == 1) {
		bytes += e - s;
		n++;
	}
	CHECK_EQ(n, 16);
	CHECK_EQ(bytes, 16 * 0x1000);
	CHECK_EQ(act_count(&act), 1);
	CHECK_EQ(act_find(&act, 0x101000)->cookie, 0x99);
	act_destroy(&act);
}

TEST(act_height_stays_logarithmic)
{
	struct act act;

	CHECK_EQ(act_init(&act, 4096), 0);
	for (uint64_t i = 0; i < 4096; i++)	/* ascending: worst for a BST */
		CHECK_EQ(act_insert(&act, i * 0x20, 0x10, KMALLOC, 0), 0);
	CHECK_EQ(act_count(&act), 4096);
	CHECK(act_height(&act) <= 17);	/* 1.44 log2(4097) */
	CHECK_EQ(act_insert(&act, 0x20 * 4096, 0x10, KMALLOC, 0), -ENOSPC);
	for (uint64_t i = 0; i < 4096; i += 2)
		CHECK_EQ(act_remove(&act, i * 0x20, 0x10), 0);
	CHECK_EQ(act_count(&act), 2048);
	CHECK(act_height(&act) <= 16);
	act_destroy(&act);
}
