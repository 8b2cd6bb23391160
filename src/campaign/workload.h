/* workload.h - one workload per driver of the campaign: a guest shell
 * command that exercises the driver and checks its result (exit status 0
 * means the data came back right), and the `chariot run` options it needs.
 * The command runs the check twice at most: a first failure is said on the
 * console (so an unprotected run still counts it as a failure) and the
 * check is retried once, so that a driver reloaded by recovery can serve
 * it and the run shows whether service came back. */
#ifndef CHARIOT_CAMPAIGN_WORKLOAD_H
#define CHARIOT_CAMPAIGN_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>

/* Console lines the command prints (classify.c reads them back). */
#define WORKLOAD_RETRY_MARK	"chariot-campaign: attempt 1 failed"
#define WORKLOAD_DONE_MARK	"chariot-campaign: workload status="
#define WORKLOAD_DMESG_MARK	"chariot-campaign dmesg: "

/* Put before the command of an unprotected run: an oops or a soft lockup
 * there is a crash whatever follows, so the guest panics at once (and the
 * run ends) instead of limping on to the run's timeout. Not for isolated
 * runs, whose recovery handles an oops raised in the driver. */
#define WORKLOAD_NATIVE_PREFIX						\
	"echo 1 >/proc/sys/kernel/panic_on_oops 2>/dev/null\n"		\
	"echo 1 >/proc/sys/kernel/softlockup_panic 2>/dev/null\n"

struct workload {
	const char *driver;	/* the module, as the kernel names it */
	const char *check;	/* what "correct" means, for --help and reports */
	const char *body;	/* the check: sh, `exit N` (N != 0) on failure */
	unsigned disk_mib;	/* a fresh sparse --disk of this size, or 0 */
	bool net_pair;		/* --net pair */
};

/* The workload of driver (- taken as _), or NULL. */
const struct workload *workload_find(const char *driver);

/* The table, for --help: the i-th workload or NULL past the end. */
const struct workload *workload_at(size_t i);

/* The whole guest command (sh -c ...) in buf. Returns 0, or -ENOSPC. */
int workload_command(const struct workload *w, char *buf, size_t len);

#endif
