/* act.c - the authorization table: an AVL tree keyed by range start finds
 * the entry at or before an address in O(log n); a list in address order
 * beside it gives each entry's neighbours in O(1) for merges and walks; a
 * hash of cookies finds a grant's entries for revocation by allocation.
 *
 * Entries never overlap, so a start is a unique key, and moving an entry's
 * start without passing another entry keeps the tree ordered: trims and
 * merges edit keys in place instead of re-inserting. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "iso/act.h"

#define MERGE_LEFT	1
#define MERGE_RIGHT	2

static int height(const struct act_entry *n)
{
	return n ? n->height : 0;
}

static void update_height(struct act_entry *n)
{
	int l = height(n->left), r = height(n->right);

	n->height = (int8_t)(1 + (l > r ? l : r));
}

static struct act_entry *rotate_right(struct act_entry *n)
{
	struct act_entry *l = n->left;

	n->left = l->right;
	l->right = n;
	update_height(n);
	update_height(l);
	return l;
}

static struct act_entry *rotate_left(struct act_entry *n)
{
	struct act_entry *r = n->right;

	n->right = r->left;
	r->left = n;
	update_height(n);
	update_height(r);
	return r;
}

/* Restore |height(left) - height(right)| <= 1 at n after one insertion or
 * removal below it; returns the subtree's new root. */
static struct act_entry *rebalance(struct act_entry *n)
{
	int bal = height(n->left) - height(n->right);

	if (bal > 1) {
		if (height(n->left->left) < height(n->left->right))
			n->left = rotate_left(n->left);
		return rotate_right(n);
	}
	if (bal < -1) {
		if (height(n->right->right) < height(n->right->left))
			n->right = rotate_right(n->right);
		return rotate_left(n);
	}
	update_height(n);
	return n;
}

static struct act_entry *tree_insert(struct act_entry *n, struct act_entry *e)
{
	if (!n)
		return e;
	if (e->start < n->start)
		n->left = tree_insert(n->left, e);
	else
		n->right = tree_insert(n->right, e);
	return rebalance(n);
}

/* Detach the lowest node of subtree n into *min. */
static struct act_entry *tree_take_min(struct act_entry *n,
				       struct act_entry **min)
{
	if (!n->left) {
		*min = n;
		return n->right;
	}
	n->left = tree_take_min(n->left, min);
	return rebalance(n);
}

static struct act_entry *tree_remove(struct act_entry *n,
				     const struct act_entry *e)
{
	struct act_entry *min, *rest;

	if (n == e) {
		if (!n->right)
			return n->left;
		rest = tree_take_min(n->right, &min);
		min->left = n->left;
		min->right = rest;
		return rebalance(min);
	}
	if (e->start < n->start)
		n->left = tree_remove(n->left, e);
	else
		n->right = tree_remove(n->right, e);
	return rebalance(n);
}

/* The entry with the greatest start <= key. */
static struct act_entry *tree_floor(struct act_entry *n, uint64_t key)
{
	struct act_entry *best = NULL;

	while (n) {
		if (n->start <= key) {
			best = n;
			n = n->right;
		} else {
			n = n->left;
		}
	}
	return best;
}

/* splitmix64's finalizer: cookies are addresses, their low bits alike. */
static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static struct act_entry **bucket(const struct act *act, uint64_t cookie)
{
	return &act->cbucket[mix(cookie) & act->cmask];
}

/* Cookie 0 (none) is not hashed: it would make one long chain. */
static void hash_add(struct act *act, struct act_entry *e)
{
	struct act_entry **b;

	e->cpprev = NULL;
	if (!e->cookie)
		return;
	b = bucket(act, e->cookie);
	e->cnext = *b;
	if (*b)
		(*b)->cpprev = &e->cnext;
	*b = e;
	e->cpprev = b;
}

static void hash_del(struct act_entry *e)
{
	if (!e->cpprev)
		return;
	*e->cpprev = e->cnext;
	if (e->cnext)
		e->cnext->cpprev = e->cpprev;
}

/* A new entry [start, end) with the tag, placed after prev (NULL: first). */
static struct act_entry *new_entry(struct act *act, struct act_entry *prev,
				   uint64_t start, uint64_t end,
				   unsigned int kind, uint64_t cookie)
{
	struct act_entry *e = act->free;

	act->free = e->next;
	act->count++;
	memset(e, 0, sizeof(*e));
	e->start = start;
	e->end = end;
	e->kind = (uint8_t)kind;
	e->cookie = cookie;
	e->height = 1;
	e->prev = prev;
	e->next = prev ? prev->next : act->first;
	if (e->next)
		e->next->prev = e;
	if (prev)
		prev->next = e;
	else
		act->first = e;
	act->root = tree_insert(act->root, e);
	hash_add(act, e);
	return e;
}

static void free_entry(struct act *act, struct act_entry *e)
{
	act->root = tree_remove(act->root, e);
	if (e->prev)
		e->prev->next = e->next;
	else
		act->first = e->next;
	if (e->next)
		e->next->prev = e->prev;
	hash_del(e);
	e->next = act->free;
	act->free = e;
	act->count--;
}

static bool range_ok(uint64_t start, uint64_t len)
{
	return len && len <= UINT64_MAX - start;
}

static bool same_tag(const struct act_entry *e, unsigned int kind,
		     uint64_t cookie)
{
	return e && e->kind == kind && e->cookie == cookie;
}

/* Which neighbours the gap [gs, ge) between prev and next merges with. */
static int gap_merges(const struct act_entry *prev,
		      const struct act_entry *next, uint64_t gs, uint64_t ge,
		      unsigned int kind, uint64_t cookie)
{
	int m = 0;

	if (prev && prev->end == gs && same_tag(prev, kind, cookie))
		m |= MERGE_LEFT;
	if (next && next->start == ge && same_tag(next, kind, cookie))
		m |= MERGE_RIGHT;
	return m;
}

/* Grant the gap [gs, ge) after prev; returns the entry now covering ge - 1.
 * No entry starts inside the gap, so moving next's start to gs keeps the
 * order. */
static struct act_entry *fill_gap(struct act *act, struct act_entry *prev,
				  uint64_t gs, uint64_t ge,
				  unsigned int kind, uint64_t cookie)
{
	struct act_entry *next = prev ? prev->next : act->first;

	switch (gap_merges(prev, next, gs, ge, kind, cookie)) {
	case MERGE_LEFT | MERGE_RIGHT:
		prev->end = next->end;
		free_entry(act, next);
		return prev;
	case MERGE_LEFT:
		prev->end = ge;
		return prev;
	case MERGE_RIGHT:
		next->start = gs;
		return next;
	default:
		return new_entry(act, prev, gs, ge, kind, cookie);
	}
}

/* Walk the ungranted gaps of [start, end): with apply, grant them;
 * without, count the new entries that would take. */
static unsigned int walk_gaps(struct act *act, uint64_t start, uint64_t end,
			      unsigned int kind, uint64_t cookie, bool apply)
{
	struct act_entry *prev = tree_floor(act->root, start), *next;
	uint64_t cur = start, ge;
	unsigned int needed = 0;

	if (prev && prev->end > cur)
		cur = prev->end;
	while (cur < end) {
		next = prev ? prev->next : act->first;
		if (next && next->start == cur) {	/* granted already */
			prev = next;
			cur = next->end;
			continue;
		}
		ge = next && next->start < end ? next->start : end;
		if (apply) {
			prev = fill_gap(act, prev, cur, ge, kind, cookie);
			cur = prev->end;
		} else {
			needed += !gap_merges(prev, next, cur, ge, kind, cookie);
			cur = ge;
		}
	}
	return needed;
}

int act_insert(struct act *act, uint64_t start, uint64_t len,
	       enum chariot_grant_kind kind, uint64_t cookie)
{
	uint64_t end = start + len;

	if (!range_ok(start, len) || (unsigned int)kind >= CHARIOT_GRANT_KINDS)
		return -EINVAL;
	if (walk_gaps(act, start, end, kind, cookie, false) >
	    act->max - act->count)
		return -ENOSPC;
	walk_gaps(act, start, end, kind, cookie, true);
	return 0;
}

int act_remove(struct act *act, uint64_t start, uint64_t len)
{
	uint64_t end = start + len;
	struct act_entry *e, *next;

	if (!range_ok(start, len))
		return -EINVAL;
	e = tree_floor(act->root, start);
	if (e && e->start < start && e->end > end) {	/* a hole in e */
		if (!act->free)
			return -ENOSPC;
		new_entry(act, e, end, e->end, e->kind, e->cookie);
		e->end = start;
		return 0;
	}
	if (e && e->start < start) {
		if (e->end > start)
			e->end = start;
		e = e->next;
	} else if (!e) {
		e = act->first;
	}
	for (; e && e->start < end; e = next) {
		next = e->next;
		if (e->end <= end)
			free_entry(act, e);
		else
			e->start = end;
	}
	return 0;
}

int act_take_cookie(struct act *act, enum chariot_grant_kind kind,
		    uint64_t cookie, uint64_t *start, uint64_t *end)
{
	struct act_entry *e;

	if (!cookie || (unsigned int)kind >= CHARIOT_GRANT_KINDS)
		return -EINVAL;
	for (e = *bucket(act, cookie); e; e = e->cnext) {
		if (same_tag(e, kind, cookie)) {
			*start = e->start;
			*end = e->end;
			free_entry(act, e);
			return 1;
		}
	}
	return 0;
}

enum act_cover act_coverage(const struct act *act, uint64_t gpa, uint64_t len)
{
	const struct act_entry *e;
	uint64_t end = gpa + len;

	if (!range_ok(gpa, len))
		return ACT_NONE;
	e = tree_floor(act->root, gpa);
	if (!e || e->end <= gpa) {
		e = e ? e->next : act->first;
		return e && e->start < end ? ACT_PARTIAL : ACT_NONE;
	}
	/* Adjacent entries differ in tag only: follow them. */
	while (e->end < end) {
		if (!e->next || e->next->start != e->end)
			return ACT_PARTIAL;
		e = e->next;
	}
	return ACT_FULL;
}

const struct act_entry *act_find(const struct act *act, uint64_t gpa)
{
	const struct act_entry *e = tree_floor(act->root, gpa);

	return e && gpa < e->end ? e : NULL;
}

void act_clear(struct act *act)
{
	act->root = NULL;
	act->first = NULL;
	act->free = NULL;
	act->count = 0;
	memset(act->cbucket, 0, (act->cmask + 1) * sizeof(*act->cbucket));
	for (unsigned int i = act->max; i-- > 0;) {
		act->pool[i].next = act->free;
		act->free = &act->pool[i];
	}
}

int act_init(struct act *act, unsigned int max_entries)
{
	uint64_t buckets = 16;

	memset(act, 0, sizeof(*act));
	if (!max_entries)
		return -EINVAL;
	while (buckets < max_entries / 2)
		buckets <<= 1;
	act->pool = calloc(max_entries, sizeof(*act->pool));
	act->cbucket = calloc(buckets, sizeof(*act->cbucket));
	if (!act->pool || !act->cbucket) {
		act_destroy(act);
		return -ENOMEM;
	}
	act->cmask = buckets - 1;
	act->max = max_entries;
	act_clear(act);
	return 0;
}

void act_destroy(struct act *act)
{
	free(act->pool);
	free(act->cbucket);
	memset(act, 0, sizeof(*act));
}
