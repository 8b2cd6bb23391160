/* ring_world.h - what the ring's fuzz tests share (tests/unit/
 * test_ring_fuzz.c, random; tests/fuzz/fuzz_ring.c, coverage-guided):
 * the guest they pretend to be (its RAM with a hole, where its driver
 * code lies, the ring's size), the records a drain refused, and the
 * structural invariants of the isolation state: every live domain's ACT
 * is sorted, without empty or overlapping entries, counted right and
 * inside guest RAM; no vCPU nests deeper than ISO_MAX_NEST. */
#ifndef CHARIOT_TESTS_RING_WORLD_H
#define CHARIOT_TESTS_RING_WORLD_H

#include <stdbool.h>
#include <stdint.h>

#include "iso/act.h"
#include "iso/domain.h"
#include "iso/ring.h"

#define FZ_BYTES	2048		/* 32 records: wraps often */
#define FZ_RAM		0x10000000ull	/* 256 MiB... */
#define FZ_HOLE		0x08000000ull	/* ...without RAM in [128, 160) MiB */
#define FZ_DRV		0xffffffffc0000000ull	/* domain code from here */

static inline bool fz_gpa_ok(void *opaque, uint64_t gpa, uint64_t len)
{
	(void)opaque;
	if (gpa >= FZ_RAM || len > FZ_RAM - gpa)
		return false;
	return gpa + len <= FZ_HOLE || gpa >= FZ_HOLE + 0x2000000ull;
}

/* Records the ring refused so far, for every reason. */
static inline uint64_t ring_rejected(const struct ring *r)
{
	uint64_t n = 0;

	for (int e = 0; e < RING_ERRS; e++)
		n += r->stats.rejected[e];
	return n;
}

/* NULL when all hold, else which one does not. */
static inline const char *
iso_invariant_broken(struct iso *iso,
		     bool (*gpa_ok)(void *opaque, uint64_t gpa, uint64_t len))
{
	for (unsigned int i = 0; i < ISO_MAX_DOMAINS; i++) {
		const struct domain *d = iso_domain(iso, i);
		const struct act_entry *e, *prev = NULL;
		unsigned int n = 0;

		if (!d)
			continue;
		for (e = act_first(&d->act); e; prev = e, e = e->next, n++) {
			if (e->start >= e->end)
				return "an empty ACT entry";
			if (prev && prev->end > e->start)
				return "ACT entries overlap or out of order";
			if (!gpa_ok(NULL, e->start, e->end - e->start))
				return "an ACT entry outside guest RAM";
		}
		if (n != act_count(&d->act))
			return "ACT count differs from its entries";
	}
	for (unsigned int v = 0; v < iso->cfg.vcpus; v++)
		if (iso->vcpu[v].depth > ISO_MAX_NEST)
			return "nesting beyond ISO_MAX_NEST";
	return NULL;
}

#endif
