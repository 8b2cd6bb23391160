/* summary.h - a campaign's counts, from its runs (results.jsonl lines of
 * one or more campaigns and shards: the same run met twice counts once),
 * and summary.json. A class's rate is, as in the paper's Fig. 10, the
 * faults of that (unprotected) class whose isolated run was `isolated`,
 * over all faults of that class (so an isolated run that failed, or whose
 * mutation did not activate this time, lowers the rate: it counts in none
 * of isolated, captured, missed). */
#ifndef CHARIOT_CAMPAIGN_SUMMARY_H
#define CHARIOT_CAMPAIGN_SUMMARY_H

#include <stdbool.h>
#include <stdio.h>

#include "campaign/results.h"
#include "inject/mutate.h"

enum { NAT_CRASH, NAT_NONFATAL, NAT_SILENT, NAT_NOT_ACTIVATED, NAT_CLASSES };
enum { ISO_ISOLATED, ISO_CAPTURED, ISO_MISSED, ISO_RESTORED, ISO_COUNTS };
#define FAILURE_CLASSES	3	/* crash, nonfatal, silent: the rated ones */

struct summary_counts {
	unsigned native[NAT_CLASSES];
	unsigned iso[FAILURE_CLASSES][ISO_COUNTS];
};

struct summary {
	char driver[128];	/* the drivers, comma-separated */
	bool seed_known;	/* one campaign seed among the runs */
	uint64_t seed;
	unsigned faults;	/* faults whose unprotected run has a class */
	struct summary_counts all;
	struct summary_counts by_type[FAULT_NTYPES];
	unsigned clean_runs, false_alarms;
	/* clean runs with no alarm whose workload failed all the same:
	 * isolation itself broke the service, so `restored` means little */
	unsigned clean_failed;
	unsigned errors;	/* runs that said nothing (see classify.h) */
	unsigned injections;	/* runs in which a fault was applied */
	double busy_ms;		/* wall time while any run was going */
};

/* Count rs (n runs). 0 or -ENOMEM. */
int summary_build(const struct run_result *rs, size_t n, struct summary *s);

/* rate of failure class c (NAT_CRASH..NAT_SILENT) in counts; false when
 * that class has no fault. */
bool summary_rate(const struct summary_counts *c, int cls, double *rate);

/* Injections per minute of busy wall time (0 without any). */
double summary_ipm(const struct summary *s);

/* summary.json. 0 or -EIO. */
int summary_write_json(const struct summary *s, FILE *f);

const char *summary_native_name(int c);	/* "crash", ... */
const char *summary_iso_name(int k);	/* "isolated", ... */

#endif
