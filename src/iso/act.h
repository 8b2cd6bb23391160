/* act.h - the authorization table (ACT) of one isolation domain: the
 * guest-physical ranges [start, end) its driver may write, each tagged with
 * who granted it (kind) and an optional cookie (e.g. the allocation's
 * guest-virtual address; 0 = none).
 *
 * The tag rule, which keeps every operation O(log n) and revocation exact:
 *  - a byte keeps the tag of the first grant that covered it: inserting over
 *    bytes already granted adds only the uncovered gaps;
 *  - a gap merges with the entry just before or after it when that entry
 *    has the same kind and cookie, so entries are exactly the maximal runs
 *    of bytes with one tag and two adjacent entries always differ in tag;
 *  - removing a range removes every byte in it whatever its tag (trimming
 *    or splitting entries); removing by (kind, cookie) removes only bytes
 *    carrying that tag.
 *
 * Entries come from a pool of max_entries allocated once.  An insert needs
 * one free entry per gap that merges with neither neighbour, a removal in
 * the middle of an entry needs one; without it they fail with -ENOSPC and
 * change nothing.  Not thread-safe: the caller serializes. */
#ifndef CHARIOT_ACT_H
#define CHARIOT_ACT_H

#include <stdbool.h>
#include <stdint.h>

#include "chariot_ring.h"

/* One entry.  Callers read start, end, kind, cookie and next (address
 * order); the rest belongs to act.c.  What a search reads comes first, in
 * one cache line. */
struct act_entry {
	uint64_t start, end;		/* [start, end), start < end */
	struct act_entry *left, *right;	/* AVL tree keyed by start */
	uint64_t cookie;
	struct act_entry *prev, *next;	/* all entries in address order */
	struct act_entry *cnext, **cpprev;	/* cookie hash chain */
	int8_t height;			/* of the subtree, a leaf is 1 */
	uint8_t kind;			/* enum chariot_grant_kind */
};

struct act {
	struct act_entry *root;
	struct act_entry *first;	/* lowest address */
	struct act_entry *pool;
	struct act_entry *free;		/* chained through next */
	struct act_entry **cbucket;	/* entries with a cookie, by cookie */
	uint64_t cmask;			/* buckets - 1 */
	unsigned int count, max;
};

enum act_cover {
	ACT_NONE,	/* no byte of the range is granted */
	ACT_PARTIAL,	/* some are, some are not */
	ACT_FULL,	/* every byte is */
};

/* An empty table for at most max_entries entries (> 0).  Returns 0,
 * -EINVAL or -ENOMEM. */
int act_init(struct act *act, unsigned int max_entries);
void act_destroy(struct act *act);
/* Remove every entry. */
void act_clear(struct act *act);

/* Grant [start, start + len) under the tag rule above.  Returns 0, -EINVAL
 * (len 0, the range wraps, kind unknown) or -ENOSPC. */
int act_insert(struct act *act, uint64_t start, uint64_t len,
	       enum chariot_grant_kind kind, uint64_t cookie);

/* Revoke [start, start + len), whatever it was granted as; nothing granted
 * there is not an error.  Returns 0, -EINVAL or -ENOSPC (a split needed an
 * entry and the pool is empty: nothing was removed). */
int act_remove(struct act *act, uint64_t start, uint64_t len);

/* Remove one entry tagged (kind, cookie) and give its range in *start,
 * *end.  Call until it returns 0 to revoke the whole grant.  Returns 1, 0
 * (none left) or -EINVAL (cookie 0, kind unknown). */
int act_take_cookie(struct act *act, enum chariot_grant_kind kind,
		    uint64_t cookie, uint64_t *start, uint64_t *end);

/* How much of [gpa, gpa + len) is granted (ACT_NONE for len 0 or a range
 * that wraps). */
enum act_cover act_coverage(const struct act *act, uint64_t gpa, uint64_t len);

/* The entry holding gpa, or NULL. */
const struct act_entry *act_find(const struct act *act, uint64_t gpa);

static inline const struct act_entry *act_first(const struct act *act)
{
	return act->first;
}

static inline unsigned int act_count(const struct act *act)
{
	return act->count;
}

static inline int act_height(const struct act *act)
{
	return act->root ? act->root->height : 0;
}

#endif
