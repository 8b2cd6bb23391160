/* profile.h - where isolation's cost goes, by guest instruction: how
 * often each RIP had a write trapped, or was where a vCPU left a driver's
 * code for (the kernel function a driver called, the caller it returned
 * to, an interrupt's entry).  The report names the busiest, so a slow
 * isolated workload says which instructions to look at.
 *
 * A fixed open-addressed table: RIPs past its capacity are counted in
 * `missed`, not kept.  Not thread-safe (the engine's lock). */
#ifndef CHARIOT_ISO_PROFILE_H
#define CHARIOT_ISO_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#define PROFILE_SLOTS	1024		/* a power of two */
#define PROFILE_TOP	8		/* reported */

struct profile_ent {
	uint64_t rip;			/* 0: a free slot */
	uint64_t count;
};

struct profile {
	struct profile_ent ent[PROFILE_SLOTS];
	unsigned int used;
	uint64_t missed;		/* counts of RIPs not kept */
};

void profile_add(struct profile *p, uint64_t rip);

/* The up to max busiest RIPs, most counted first (ties: lower RIP
 * first), into out.  Returns how many. */
size_t profile_top(const struct profile *p, struct profile_ent *out,
		   size_t max);

#endif
