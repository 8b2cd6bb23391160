/* pagecache.c - the open-page cache: slots in one array, linked twice by
 * index, into a most- to least-recently-used list and into hash chains by
 * page, so open, lookup and eviction are O(1) and nothing is allocated
 * after init. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "iso/pagecache.h"

#define NIL	(-1)

static uint32_t hash_page(const struct pagecache *pc, uint64_t page)
{
	return (uint32_t)(((page >> 12) * 0x9e3779b97f4a7c15ull) >> 32) &
	       pc->bmask;
}

static int32_t find(const struct pagecache *pc, uint64_t page)
{
	int32_t i;

	if (!pc->capacity)
		return NIL;
	for (i = pc->bucket[hash_page(pc, page)]; i != NIL;
	     i = pc->slot[i].hnext)
		if (pc->slot[i].page == page)
			return i;
	return NIL;
}

static void lru_unlink(struct pagecache *pc, int32_t i)
{
	struct pc_slot *s = &pc->slot[i];

	if (s->newer != NIL)
		pc->slot[s->newer].older = s->older;
	else
		pc->mru = s->older;
	if (s->older != NIL)
		pc->slot[s->older].newer = s->newer;
	else
		pc->lru = s->newer;
}

static void lru_push(struct pagecache *pc, int32_t i)
{
	struct pc_slot *s = &pc->slot[i];

	s->newer = NIL;
	s->older = pc->mru;
	if (pc->mru != NIL)
		pc->slot[pc->mru].newer = i;
	else
		pc->lru = i;
	pc->mru = i;
}

static void hash_unlink(struct pagecache *pc, int32_t i)
{
	int32_t *link = &pc->bucket[hash_page(pc, pc->slot[i].page)];

	while (*link != i)
		link = &pc->slot[*link].hnext;
	*link = pc->slot[i].hnext;
}

static void close_slot(struct pagecache *pc, int32_t i)
{
	lru_unlink(pc, i);
	hash_unlink(pc, i);
	pc->slot[i].hnext = pc->free;
	pc->free = i;
	pc->count--;
}

static void open_slot(struct pagecache *pc, uint64_t page)
{
	int32_t i = pc->free;
	int32_t *head = &pc->bucket[hash_page(pc, page)];

	pc->free = pc->slot[i].hnext;
	pc->slot[i].page = page;
	pc->slot[i].hnext = *head;
	*head = i;
	lru_push(pc, i);
	pc->count++;
}

int pagecache_open(struct pagecache *pc, const struct act *act, uint64_t gpa,
		   struct pc_update *up)
{
	uint64_t page = gpa & PC_PAGE_MASK;
	int32_t i;

	memset(up, 0, sizeof(*up));
	if (!pc->capacity ||
	    act_coverage(act, page, PC_PAGE_SIZE) != ACT_FULL)
		return 0;
	i = find(pc, page);
	if (i != NIL) {
		lru_unlink(pc, i);
		lru_push(pc, i);
		return 0;
	}
	if (pc->count == pc->capacity) {
		up->close = true;
		up->close_page = pc->slot[pc->lru].page;
		close_slot(pc, pc->lru);
	}
	open_slot(pc, page);
	up->open = true;
	up->open_page = page;
	return 1;
}

void pagecache_touch(struct pagecache *pc, uint64_t gpa)
{
	int32_t i = find(pc, gpa & PC_PAGE_MASK);

	if (i == NIL)
		return;
	lru_unlink(pc, i);
	lru_push(pc, i);
}

bool pagecache_is_open(const struct pagecache *pc, uint64_t gpa)
{
	return find(pc, gpa & PC_PAGE_MASK) != NIL;
}

/* Close open pages in [first, last] by scanning the open ones: cheaper
 * than probing each page of a range larger than the cache. */
static uint32_t close_scan(struct pagecache *pc, uint64_t first,
			   uint64_t last, uint64_t *closed, uint32_t max)
{
	uint32_t n = 0;
	int32_t i, next;

	for (i = pc->lru; i != NIL && n < max; i = next) {
		next = pc->slot[i].newer;
		if (pc->slot[i].page < first || pc->slot[i].page > last)
			continue;
		closed[n++] = pc->slot[i].page;
		close_slot(pc, i);
	}
	return n;
}

static uint32_t close_probe(struct pagecache *pc, uint64_t first,
			    uint64_t last, uint64_t *closed, uint32_t max)
{
	uint32_t n = 0;
	uint64_t page = first;
	int32_t i;

	for (;;) {
		if (n == max)
			break;
		i = find(pc, page);
		if (i != NIL) {
			closed[n++] = page;
			close_slot(pc, i);
		}
		if (page == last)
			break;
		page += PC_PAGE_SIZE;
	}
	return n;
}

uint32_t pagecache_close_range(struct pagecache *pc, uint64_t start,
			       uint64_t len, uint64_t *closed, uint32_t max)
{
	uint64_t first = start & PC_PAGE_MASK, last = UINT64_MAX;

	if (!pc->count)
		return 0;
	if (!len)
		first = 0;
	else if (len - 1 <= UINT64_MAX - start)
		last = start + (len - 1);
	last &= PC_PAGE_MASK;
	if ((last - first) / PC_PAGE_SIZE >= pc->count)
		return close_scan(pc, first, last, closed, max);
	return close_probe(pc, first, last, closed, max);
}

uint32_t pagecache_list(const struct pagecache *pc, uint64_t *pages,
			uint32_t max)
{
	uint32_t n = 0;

	for (int32_t i = pc->mru; i != NIL && n < max; i = pc->slot[i].older)
		pages[n++] = pc->slot[i].page;
	return n;
}

int pagecache_init(struct pagecache *pc, uint32_t capacity)
{
	uint32_t buckets = 16;

	memset(pc, 0, sizeof(*pc));
	pc->mru = pc->lru = pc->free = NIL;
	if (!capacity)
		return 0;
	if (capacity > (1u << 24))
		return -EINVAL;
	while (buckets < 2 * capacity)
		buckets <<= 1;
	pc->slot = calloc(capacity, sizeof(*pc->slot));
	pc->bucket = malloc(buckets * sizeof(*pc->bucket));
	if (!pc->slot || !pc->bucket) {
		pagecache_destroy(pc);
		return -ENOMEM;
	}
	memset(pc->bucket, 0xff, buckets * sizeof(*pc->bucket));	/* NIL */
	for (uint32_t i = 0; i < capacity; i++)
		pc->slot[i].hnext = i + 1 < capacity ? (int32_t)i + 1 : NIL;
	pc->free = 0;
	pc->bmask = buckets - 1;
	pc->capacity = capacity;
	return 0;
}

void pagecache_destroy(struct pagecache *pc)
{
	free(pc->slot);
	free(pc->bucket);
	memset(pc, 0, sizeof(*pc));
	pc->mru = pc->lru = pc->free = NIL;
}
