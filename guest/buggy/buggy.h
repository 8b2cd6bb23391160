/* SPDX-License-Identifier: GPL-2.0 */
/*
 * buggy.h - what the parts of chariot_buggy share.
 *
 * main.c loads the module and owns the debugfs trigger file; blk.c is the
 * RAM-backed block device /dev/chariot_buggy0; scenarios.c holds the
 * deliberate bugs, each run from this module's own code.
 */
#ifndef CHARIOT_BUGGY_H
#define CHARIOT_BUGGY_H

int buggy_blk_init(void);
void buggy_blk_exit(void);
int buggy_blk_warn_next(void);
int buggy_blk_nested_warn(void);
/* How a request buggy_blk_lose_next() loses is timed out. */
enum buggy_lost {
	BUGGY_LOST_NONE,
	BUGGY_LOST_FAULT,	/* ->timeout() dereferences NULL */
	BUGGY_LOST_WAIT,	/* ->timeout() asks more time, for ever */
	BUGGY_LOST_DROP,	/* ->timeout() takes it over, never ends it */
};

int buggy_blk_lose_next(enum buggy_lost how);

int buggy_scenario_run(const char *name);

#endif /* CHARIOT_BUGGY_H */
