/* results.h - results.jsonl: one JSON object a line, one line a run,
 * written whole with one write() and fsync'ed before the next run is
 * counted, so a kill loses at most the line being written; reading back
 * skips a torn line (and, for --resume, cuts it off so it is run again). */
#ifndef CHARIOT_CAMPAIGN_RESULTS_H
#define CHARIOT_CAMPAIGN_RESULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "campaign/classify.h"

#define RESULTS_FILE	"results.jsonl"

struct run_result {
	char driver[32];
	uint64_t campaign_seed;
	enum run_kind kind;
	unsigned index;		/* fault index, or clean run index */
	int type;		/* enum fault_type; -1 for a clean run */
	uint64_t seed;		/* the injector's seed (0 for a clean run) */
	enum run_class cls;
	bool detected, restored;
	int applied, activated;	/* 1, 0, -1 unknown */
	char end[24];
	int status;		/* -1: none */
	double wall_ms;
	uint64_t t0_ms, t1_ms;	/* start and end, ms since the epoch */
	long site, nsites;
	char reason[CLASSIFY_TEXT];
	char what[CLASSIFY_TEXT];
};

/* What a run showed (its report's evidence and its verdict) into r. */
void results_set_evidence(struct run_result *r, const struct run_evidence *ev,
			  const struct verdict *v);

/* One line (with its '\n') for r. */
void results_format(const struct run_result *r, FILE *f);

/* Append r's line to the open file fd and fsync it. 0 or -errno. */
int results_append(int fd, const struct run_result *r);

/* Parse one line (without its '\n') into r. 0 or -EINVAL. */
int results_parse_line(const char *line, size_t len, struct run_result *r);

/* Read path's runs into a malloc'ed array (*out, *n; appended to what is
 * there already: pass *out NULL and *n 0 to start). Unreadable lines are
 * skipped and counted in *skipped; with repair, an unfinished or unreadable
 * last line is cut off the file. 0, -ENOENT, or -errno. */
int results_load(const char *path, bool repair, struct run_result **out,
		 size_t *n, size_t *skipped);

/* The run of that kind and index in rs, or NULL. */
const struct run_result *results_find(const struct run_result *rs, size_t n,
				      enum run_kind kind, unsigned index);

#endif
