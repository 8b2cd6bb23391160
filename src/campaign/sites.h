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

/* Make DIR/sites unless it is there: run the coverage (cmd: the
 * workload's unprotected guest command), its report and console in
 * DIR/runs/cover.*.  The number of offsets, or -errno with a message in
 * err (-ENOENT: the workload ran none of the driver's code; -EINTR:
 * *cfg->stop was set). */
long sites_prepare(const struct campaign_cfg *cfg, const char *cmd,
		   char *err, size_t errlen);

/* Is DIR/sites there already (a --resume reuses it)? */
bool sites_made(const char *dir);

/* The offsets of a coverage report (`chariot run --cover --json`) into
 * out, one per line.  The count, or -errno (-ENOENT: none ran). */
long sites_from_report(const char *json, size_t len, FILE *out);

#endif
