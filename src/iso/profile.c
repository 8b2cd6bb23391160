/* profile.c - counts by guest RIP (profile.h). */
#include "iso/profile.h"

static unsigned int slot_of(uint64_t rip)
{
	/* Fibonacci hashing: RIPs of one function differ in low bits. */
	return (unsigned int)((rip * 0x9e3779b97f4a7c15ull) >> 54) &
	       (PROFILE_SLOTS - 1);
}

void profile_add(struct profile *p, uint64_t rip)
{
	unsigned int i = slot_of(rip);

	if (!rip) {			/* 0 marks a free slot */
		p->missed++;
		return;
	}
	for (unsigned int n = 0; n < PROFILE_SLOTS; n++) {
		struct profile_ent *e = &p->ent[(i + n) & (PROFILE_SLOTS - 1)];

		if (e->rip == rip) {
			e->count++;
			return;
		}
		/* Kept at most 3/4 full, so probes stay short. */
		if (!e->rip) {
			if (p->used >= PROFILE_SLOTS / 4 * 3)
				break;
			e->rip = rip;
			e->count = 1;
			p->used++;
			return;
		}
	}
	p->missed++;
}

static int busier(const struct profile_ent *a, const struct profile_ent *b)
{
	return a->count > b->count ||
	       (a->count == b->count && a->rip < b->rip);
}

size_t profile_top(const struct profile *p, struct profile_ent *out,
		   size_t max)
{
	size_t n = 0;

	/* Insertion into a short sorted array: max is small. */
	for (unsigned int i = 0; i < PROFILE_SLOTS && max; i++) {
		const struct profile_ent *e = &p->ent[i];
		size_t j;

		if (!e->rip || (n == max && !busier(e, &out[n - 1])))
			continue;
		j = n < max ? n++ : max - 1;
		for (; j > 0 && busier(e, &out[j - 1]); j--)
			out[j] = out[j - 1];
		out[j] = *e;
	}
	return n;
}
