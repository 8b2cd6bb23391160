/* iso_invariants.h - the structural invariants of the isolation state,
 * shared by the ring's fuzz tests (tests/unit/test_ring_fuzz.c, random;
 * tests/fuzz/fuzz_ring.c, coverage-guided): every live domain's ACT is
 * sorted, without empty or overlapping entries, counted right and inside
 * guest RAM (as gpa_ok says); no vCPU nests deeper than ISO_MAX_NEST. */
#ifndef CHARIOT_TESTS_ISO_INVARIANTS_H
#define CHARIOT_TESTS_ISO_INVARIANTS_H

#include <stdbool.h>
#include <stdint.h>

#include "iso/act.h"
#include "iso/domain.h"

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
