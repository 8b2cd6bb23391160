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

/* How long an unprotected run may take, failing or not, before it counts
 * as hung: past every bound the workload itself has.  A hung unprotected
 * run was half a campaign's time: in the nested test host each earlier
 * null_blk and virtio_blk campaign had one, a request the mutated driver
 * lost (at its load by init, or in the check), idle to the run's 150 s
 * timeout (150 s of 300-570).  The block checks wait at most blk-mq's 30 s
 * request timeout (a driver's ->timeout may end a lost request with an
 * error then: a nonfatal failure) on each of their two attempts, 5 s
 * apart; a healthy unprotected run took at most 28 s there (brd,
 * 2026-12-02).  The network check has nc's 120 s on each attempt. */
#define WORKLOAD_BLOCK_NATIVE_S	120
#define WORKLOAD_NET_NATIVE_S	300

/* Added to the kernel command line of an unprotected run: an oops, a soft
 * lockup, an RCU stall or a task blocked (uninterruptibly) for a minute
 * there is a crash whatever follows, so the guest panics at once and the
 * run ends then, not at its bound.  60 s is twice blk-mq's request
 * timeout; the detector looks every 5 s.  A killable wait (a partition
 * read in add_disk() at the driver's load) is not the detector's to see:
 * the bound ends those.  On the command line, not set by the check, since
 * a driver loaded by init may hang before the check runs.  Not for
 * isolated runs, whose recovery handles an oops raised in the driver and
 * ends lost requests itself. */
#define WORKLOAD_NATIVE_APPEND						\
	"oops=panic softlockup_panic=1 hung_task_panic=1 "		\
	"sysctl.kernel.hung_task_timeout_secs=60 "			\
	"sysctl.kernel.hung_task_check_interval_secs=5 "		\
	"sysctl.kernel.panic_on_rcu_stall=1"

struct workload {
	const char *driver;	/* the module, as the kernel names it */
	const char *check;	/* what "correct" means, for --help and reports */
	const char *body;	/* the check: sh, `exit N` (N != 0) on failure */
	unsigned disk_mib;	/* a fresh sparse --disk of this size, or 0 */
	bool net_pair;		/* --net pair */
	unsigned native_s;	/* an unprotected run still going this long
				 * is hung (WORKLOAD_BLOCK_NATIVE_S) */
};

/* The workload of driver (- taken as _), or NULL. */
const struct workload *workload_find(const char *driver);

/* The table, for --help: the i-th workload or NULL past the end. */
const struct workload *workload_at(size_t i);

/* The whole guest command (sh -c ...) in buf. Returns 0, or -ENOSPC. */
int workload_command(const struct workload *w, char *buf, size_t len);

#endif
