/* sites.h - `chariot campaign --sites covered`: before its faults, one
 * unprotected run of the workload with `chariot run --cover MOD` records
 * which of the driver's instructions run; the faults are then drawn only
 * among those (`chariot run --sites DIR/sites`), so each is one the
 * workload can activate.  Without it most random sites in a driver sit
 * on paths the workload never takes (error handling, other ioctls) and
 * come out `not_activated`.  The list is kept in DIR/sites and reused by
 * --resume; shards of one campaign must share it (copy it into each
 * shard's DIR before it starts) to draw the same faults. */
#ifndef CHARIOT_CAMPAIGN_SITES_H
#define CHARIOT_CAMPAIGN_SITES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "campaign/runner.h"

#define SITES_FILE	"sites"

/* The coverage run's report, in DIR (the runner makes the run: its
 * console and messages beside it, DIR/runs/cover.{out,err}). */
#define SITES_COVER_REPORT	"runs/cover.json"

/* Make DIR/sites from DIR/runs/cover.json.  The number of offsets, or
 * -errno with a message in err (-ENOENT: the workload ran none of
 * driver's code). */
long sites_write(const char *dir, const char *driver, char *err,
		 size_t errlen);

/* Is DIR/sites there already (a --resume reuses it)? */
bool sites_made(const char *dir);

/* The offsets of a coverage report (`chariot run --cover --json`) into
 * out, one per line.  The count, or -errno (-ENOENT: none ran). */
long sites_from_report(const char *json, size_t len, FILE *out);

#endif
