/* runner.h - a campaign's runs: every fault of the plan (or of one shard of
 * it) run unprotected and then isolated, then the clean runs, each one a
 * `chariot run` child process (J at a time), its class appended to
 * DIR/results.jsonl as soon as it is known. A run already in results.jsonl
 * (--resume) is not run again. */
#ifndef CHARIOT_CAMPAIGN_RUNNER_H
#define CHARIOT_CAMPAIGN_RUNNER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "campaign/plan.h"
#include "campaign/results.h"
#include "campaign/summary.h"
#include "campaign/workload.h"

#define CAMPAIGN_ERR	256

struct campaign_progress {
	unsigned done, total;	/* runs of this shard; done counts resumed ones */
	unsigned resumed;	/* done before this invocation */
	double elapsed_ms;	/* since this invocation started */
	const struct run_result *last;	/* the run just finished */
};

struct campaign_cfg {
	const struct workload *w;
	unsigned faults;
	uint64_t seed;
	struct plan_types types;
	unsigned jobs;
	unsigned clean_runs;
	const char *out;
	bool resume;
	unsigned shard, nshards;	/* nshards 1: the whole plan */
	unsigned timeout_s;		/* each run's --timeout */
	const char *chariot;		/* the binary whose `run` is used */
	bool fresh_boot;		/* --boot fresh: no --snapshot */
	bool covered_sites;		/* --sites covered (sites.h) */
	void (*progress)(void *ctx, const struct campaign_progress *p);
	void *ctx;
	volatile sig_atomic_t *stop;	/* set (by a signal): kill, stop */
};

/* Up to 64 MiB of the file at path, NUL-terminated (free()); empty when
 * it is missing, NULL when out of memory.  The runs' reports and
 * consoles are read back with it. */
char *campaign_read_file(const char *path, size_t *len);

/* A run of kind k's --timeout: an unprotected one's is its workload's
 * bound when that is shorter (a hang there costs no more than the
 * workload's own timeouts allow). */
unsigned campaign_run_timeout(const struct campaign_cfg *cfg, enum run_kind k);

/* A run of kind k's kernel command line, or NULL for the default: an
 * unprotected one's adds WORKLOAD_NATIVE_APPEND. */
const char *campaign_run_append(enum run_kind k);

/* Run the campaign. 0 when every run is recorded, -EINTR when *stop ended
 * it (the runs under way are killed and not recorded), else -errno with a
 * message in err. */
int campaign_run(const struct campaign_cfg *cfg, char *err, size_t errlen);

/* Read results.jsonl of each of dirs, count them, and write summary.json,
 * report.md and report.svg into out. 0 or -errno with a message in err. */
int campaign_report(const char *const *dirs, int ndirs, const char *out,
		    struct summary *s, char *err, size_t errlen);

#endif
