/* recovery.h - the VMM's side of recovery from a faulty isolated driver
 * (--recover): the mode, the hang rule, and what the guest monitor
 * reports in the shared area (chariot_abi.h, struct chariot_recovery),
 * validated.
 *
 * The guest monitor unwinds every fault itself (guest/monitor/recover.c):
 * an exception in the driver's code it catches before the oops; a write the
 * VMM denied, or a hang the VMM saw, reaches it because the VMM sends the
 * vCPU to the recovery entry the monitor published, with the domain, the
 * driver's RIP and the reason in rdi, rsi, rdx (and in rcx where to go on
 * when there is nothing to unwind, the four as they were kept on the
 * guest's stack: vcpu.c).  That is the simplest correct split:
 * the VMM only moves RIP, and the unwind (the recovery frame, the return
 * hooks' shadow stack, the per-context nesting, the error value per
 * interface, the teardown) has one home, in the guest, which knows all of
 * it; a VMM restoring the frame itself would bypass the return hooks and
 * leave the monitor's contexts and the kretprobe instances stale. */
#ifndef CHARIOT_RECOVERY_H
#define CHARIOT_RECOVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "chariot_abi.h"

enum recover_mode { RECOVER_OFF, RECOVER_UNLOAD, RECOVER_RELOAD, RECOVER_MODES };

#define RECOVER_DEFAULT_LIMIT	3
#define RECOVER_DEFAULT_WINDOW	60	/* seconds */
#define RECOVER_DEFAULT_HANG_MS	10000	/* below the guest's soft lockup (20 s) */

/* "off", "unload", "reload"; -1 for anything else. */
int recover_mode_parse(const char *s);
const char *recover_mode_name(enum recover_mode m);

/* Has a vCPU that entered a driver at entered_ns (0: it is in none) been in
 * it longer than hang_ms (0: never) at now_ns? */
bool recover_hung(uint64_t entered_ns, uint64_t now_ns, unsigned int hang_ms);

/* One fault the guest reported, validated. */
struct recover_fault {
	unsigned int domain;		/* below the module count */
	int detected_by;		/* enum chariot_fault_source */
	unsigned int flags;		/* CHARIOT_FAULT_* */
	uint32_t recovery_us;
	uint64_t rip;
	char symbol[CHARIOT_FAULT_SYMBOL_LEN];	/* printable ASCII only */
};

/* The recovery entry the guest published in area (len bytes, the shared
 * area from CHARIOT_SHM_RECOVERY_OFFSET), or 0. */
uint64_t recover_entry(const void *area, size_t len);

/* Copy out the guest's fault records (untrusted): at most max; a record
 * naming no module (domain >= nmodules) or no source is skipped and
 * counted in *rejected (may be NULL).  Returns how many were copied. */
unsigned int recover_read(const void *area, size_t len, unsigned int nmodules,
			  struct recover_fault *out, unsigned int max,
			  unsigned int *rejected);

/* "write", "exception", "hang", "operator", "lock"; NULL for another
 * value. */
const char *recover_source_name(int detected_by);

/* The report's "faults" array members, each preceded by ",\n    " but the
 * first ("\n    "); module names by domain id. */
void recover_json(FILE *f, const struct recover_fault *faults, unsigned int n,
		  const char *const *modules);

#endif
