/* plan.h - the fault plan of a campaign: fault i of campaign seed S gets a
 * fault type from the campaign's list and a seed for the injector, both
 * derived from (S, i) alone, so any fault can be computed without the
 * others (shards, resume) and the same seed always gives the same faults. */
#ifndef CHARIOT_CAMPAIGN_PLAN_H
#define CHARIOT_CAMPAIGN_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "inject/mutate.h"

struct plan_types {
	enum fault_type t[FAULT_NTYPES];
	unsigned n;
};

struct plan_fault {
	unsigned index;
	enum fault_type type;
	uint64_t seed;		/* for `--inject MOD:TYPE:SEED` */
};

/* splitmix64's output function (Steele et al., OOPSLA 2014). */
uint64_t plan_mix(uint64_t x);

/* Parse "all" or a comma list of fault type names (no repeats) into ts.
 * Returns 0, or -EINVAL with the offending name copied into bad. */
int plan_parse_types(const char *list, struct plan_types *ts, char *bad,
		     size_t badlen);

/* Fault i of the campaign with seed s over types ts (ts->n >= 1). */
void plan_fault(uint64_t s, const struct plan_types *ts, unsigned i,
		struct plan_fault *out);

/* Is fault (or clean run) i in shard k of n? */
static inline int plan_in_shard(unsigned i, unsigned k, unsigned n)
{
	return n <= 1 || i % n == k;
}

#endif
