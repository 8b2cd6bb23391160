/* pagecache.h - the open-page cache of one domain: 4 KiB guest-physical
 * pages left writable while the domain runs, so that later writes to them
 * are not trapped.  It only decides; the caller applies each open and close
 * it is told about to the memory protection.
 *
 * Precision rule (nothing is lost): a page is opened only when every byte
 * of it is in the domain's ACT, and every ACT removal that touches an open
 * page must close it (pagecache_close_range) before the domain can write
 * there again.  Growing the ACT never requires a close.  So any write the
 * domain makes to an open page lands on bytes it may write.  Pages shared
 * with non-granted bytes (a small kmalloc object beside others) are never
 * opened and stay trapped write by write.
 *
 * At most capacity pages are open; opening one more closes the least
 * recently used (recency is the last open or pagecache_touch, since writes
 * to an open page are not seen).  Capacity 0 disables the cache. */
#ifndef CHARIOT_PAGECACHE_H
#define CHARIOT_PAGECACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "iso/act.h"

#define PC_PAGE_SIZE	4096ull
#define PC_PAGE_MASK	(~(PC_PAGE_SIZE - 1))

struct pc_slot {
	uint64_t page;			/* guest-physical, page-aligned */
	int32_t newer, older;		/* LRU list, -1 ends it */
	int32_t hnext;			/* hash chain, -1 ends it */
};

struct pagecache {
	struct pc_slot *slot;
	int32_t *bucket;		/* first slot of each chain, or -1 */
	uint32_t bmask;			/* buckets - 1 */
	uint32_t capacity, count;
	int32_t mru, lru;		/* ends of the LRU list, or -1 */
	int32_t free;			/* unused slots chained through hnext */
};

/* What pagecache_open() did: open this page, after closing that one. */
struct pc_update {
	bool open;
	uint64_t open_page;
	bool close;
	uint64_t close_page;
};

/* An empty cache of capacity pages (0: disabled, at most 2^24).  Returns
 * 0, -EINVAL or -ENOMEM. */
int pagecache_init(struct pagecache *pc, uint32_t capacity);
void pagecache_destroy(struct pagecache *pc);

/* After an allowed write at gpa by the domain owning act: open gpa's page
 * if the precision rule allows, evicting the least recently used page when
 * full.  An already open page becomes the most recent.  *up says what to
 * apply.  Returns 1 when a page was opened, else 0. */
int pagecache_open(struct pagecache *pc, const struct act *act, uint64_t gpa,
		   struct pc_update *up);

/* Make gpa's page, if open, the most recently used. */
void pagecache_touch(struct pagecache *pc, uint64_t gpa);

bool pagecache_is_open(const struct pagecache *pc, uint64_t gpa);

/* Close up to max open pages touching [start, start + len) (len 0: every
 * page), writing them to closed[].  Returns how many; call again until it
 * returns 0. */
uint32_t pagecache_close_range(struct pagecache *pc, uint64_t start,
			       uint64_t len, uint64_t *closed, uint32_t max);

/* Up to max open pages, most recently used first.  Returns how many. */
uint32_t pagecache_list(const struct pagecache *pc, uint64_t *pages,
			uint32_t max);

static inline uint32_t pagecache_count(const struct pagecache *pc)
{
	return pc->count;
}

#endif
