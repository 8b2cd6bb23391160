/* classify.h - what one run of a campaign showed, and its class.
 *
 * An unprotected run (the fault injected, no isolation) is
 *   crash          the guest panicked, reset, hung (run timeout: the
 *                  workload's bound), or the console shows an oops, BUG,
 *                  general protection fault, soft lockup, hung task or RCU
 *                  stall (the run's guest panics on an oops, a lockup, a
 *                  blocked task or a stall: WORKLOAD_NATIVE_APPEND);
 *   nonfatal       the guest went on but the workload failed (a nonzero
 *                  status, a first attempt that failed, no status at all)
 *                  or the kernel logged a WARNING (from the monitor's
 *                  load on: the boot's own are no fault's);
 *   silent         no visible failure;
 *   not_activated  the mutation was not applied (the driver has no site
 *                  for the fault type: the reason says so; the fault is
 *                  kept in the plan, not replaced, so fault i stays the
 *                  same fault whatever the driver) or the report says the
 *                  mutated code never ran. Not counted as silent.
 * An isolated run of the same fault is
 *   isolated  detected (a fault in the report's "faults", or a denied
 *             write of the module), the driver unloaded or reloaded, and
 *             the guest went on (powered off, no oops on the console);
 *   captured  detected, but the driver was not removed or the guest did
 *             not survive it;
 *   missed    not detected (the reason says when the guest died too);
 * and service_restored when detected and the workload's check passed
 * (on its retry if need be).
 * A clean run (isolated, no fault) is a false alarm when the report has any
 * violation, denied write or fault. A run whose report is missing, or
 * that ended in a VMM error, is an error, counted apart from every class. */
#ifndef CHARIOT_CAMPAIGN_CLASSIFY_H
#define CHARIOT_CAMPAIGN_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>

enum run_kind { RUN_NATIVE, RUN_ISOLATED, RUN_CLEAN, RUN_KINDS };

enum run_class {
	CLS_CRASH, CLS_NONFATAL, CLS_SILENT, CLS_NOT_ACTIVATED,
	CLS_ISOLATED, CLS_CAPTURED, CLS_MISSED,
	CLS_CLEAN, CLS_FALSE_ALARM,
	CLS_SKIPPED,	/* isolated run not made: the fault never activated */
	CLS_ERROR,
	CLS_COUNT
};

const char *run_kind_name(enum run_kind k);
int run_kind_parse(const char *s);		/* enum run_kind or -1 */
const char *run_class_name(enum run_class c);
int run_class_parse(const char *s);		/* enum run_class or -1 */

/* Console findings (bits). */
enum {
	CON_OOPS = 1 << 0,	/* Oops, BUG, GP fault, kernel BUG, panic */
	CON_HANG = 1 << 1,	/* soft lockup, hung task, RCU stall */
	CON_WARN = 1 << 2,	/* WARNING: */
	CON_RETRIED = 1 << 3,	/* the workload's first attempt failed */
	CON_DONE = 1 << 4,	/* the workload printed its final status */
};

#define CLASSIFY_TEXT	160

/* What the run report (`chariot run --json`) says. */
struct run_evidence {
	bool have_report;
	char end[24];
	int status;		/* guest_status, -1 for null */
	double wall_ms;
	bool have_inject;
	int applied, activated;	/* 1, 0, or -1 unknown */
	char inject_error[CLASSIFY_TEXT];
	char what[CLASSIFY_TEXT];
	char addr[24];
	long site, nsites;
	int violations;		/* entries of "violations" (any module) */
	int denied;		/* writes denied, summed over "domains" */
	int faults;		/* entries of "faults" */
	bool removed;		/* a fault says unloaded or reloaded */
	char detected_by[16];	/* of the first fault */
};

struct verdict {
	enum run_class cls;
	bool detected;
	bool restored;
	char reason[CLASSIFY_TEXT];
};

/* Fill ev from a run report's text. Returns 0, or -EINVAL when it is not
 * a JSON object (ev then says have_report false). */
int classify_parse_report(const char *json, size_t len, struct run_evidence *ev);

/* CON_* bits found in the console text. */
unsigned classify_scan_console(const char *text, size_t len);

/* A run of kind k from its report and console text: ev from the report
 * (have_report false when it is empty or no JSON object), v its class. */
void classify_run(enum run_kind k, const char *report, size_t rlen,
		  const char *console, size_t clen, struct run_evidence *ev,
		  struct verdict *v);

void classify_native(const struct run_evidence *ev, unsigned con, struct verdict *v);
void classify_isolated(const struct run_evidence *ev, unsigned con, struct verdict *v);
void classify_clean(const struct run_evidence *ev, unsigned con, struct verdict *v);

#endif
