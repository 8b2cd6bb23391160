/* classify.c - a run's class from its report and console (rules in
 * classify.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "campaign/classify.h"
#include "campaign/jsonr.h"
#include "campaign/workload.h"

static const char *const kind_names[RUN_KINDS] = {
	[RUN_NATIVE] = "native", [RUN_ISOLATED] = "isolated", [RUN_CLEAN] = "clean",
};

static const char *const class_names[CLS_COUNT] = {
	[CLS_CRASH] = "crash", [CLS_NONFATAL] = "nonfatal", [CLS_SILENT] = "silent",
	[CLS_NOT_ACTIVATED] = "not_activated", [CLS_ISOLATED] = "isolated",
	[CLS_CAPTURED] = "captured", [CLS_MISSED] = "missed",
	[CLS_CLEAN] = "clean", [CLS_FALSE_ALARM] = "false_alarm",
	[CLS_SKIPPED] = "skipped", [CLS_ERROR] = "error",
};

const char *run_kind_name(enum run_kind k)
{
	return k < RUN_KINDS ? kind_names[k] : "?";
}

/* The index of s in names[0..n), or -1. */
static int name_index(const char *const *names, int n, const char *s)
{
	for (int i = 0; s && i < n; i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}

int run_kind_parse(const char *s)
{
	return name_index(kind_names, RUN_KINDS, s);
}

const char *run_class_name(enum run_class c)
{
	return c < CLS_COUNT ? class_names[c] : "?";
}

int run_class_parse(const char *s)
{
	return name_index(class_names, CLS_COUNT, s);
}

/* The console's words for each finding. The monitor's and the workload's
 * own lines never contain these. */
static const struct {
	const char *pat;
	unsigned bit;
} console_pats[] = {
	{ "Oops: ", CON_OOPS }, { "BUG: ", CON_OOPS },
	{ "general protection fault", CON_OOPS }, { "kernel BUG at", CON_OOPS },
	{ "invalid opcode: ", CON_OOPS }, { "Kernel panic", CON_OOPS },
	{ "soft lockup", CON_HANG }, { "blocked for more than", CON_HANG },
	{ "self-detected stall", CON_HANG }, { "detected stalls", CON_HANG },
	{ "WARNING:", CON_WARN },
	{ WORKLOAD_RETRY_MARK, CON_RETRIED }, { WORKLOAD_DONE_MARK, CON_DONE },
};

unsigned classify_scan_console(const char *text, size_t len)
{
	unsigned bits = 0;

	for (size_t i = 0; i < sizeof(console_pats) / sizeof(console_pats[0]); i++)
		if (memmem(text, len, console_pats[i].pat, strlen(console_pats[i].pat)))
			bits |= console_pats[i].bit;
	return bits;
}

static void copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

static void parse_inject(const struct jdoc *d, const struct jnode *inj,
			 struct run_evidence *ev)
{
	ev->have_inject = inj && inj->type == J_OBJ;
	if (!ev->have_inject)
		return;
	ev->applied = jsonr_bool(jsonr_get(d, inj, "applied"), -1);
	ev->activated = jsonr_bool(jsonr_get(d, inj, "activated"), -1);
	copy(ev->inject_error, sizeof(ev->inject_error),
	     jsonr_str(jsonr_get(d, inj, "error"), NULL));
	copy(ev->what, sizeof(ev->what), jsonr_str(jsonr_get(d, inj, "what"), NULL));
	copy(ev->addr, sizeof(ev->addr), jsonr_str(jsonr_get(d, inj, "addr"), NULL));
	ev->site = jsonr_int(jsonr_get(d, inj, "site"), LONG_MIN, LONG_MAX, -1);
	ev->nsites = jsonr_int(jsonr_get(d, inj, "nsites"), LONG_MIN, LONG_MAX,
			       -1);
}

static void parse_isolation(const struct jdoc *d, const struct jnode *root,
			    struct run_evidence *ev)
{
	const struct jnode *n;

	n = jsonr_first(d, jsonr_get(d, root, "violations"));
	for (; n; n = jsonr_next(d, n))
		ev->violations++;
	n = jsonr_first(d, jsonr_get(d, root, "domains"));
	for (; n; n = jsonr_next(d, n)) {
		int v = jsonr_int(jsonr_get(d, n, "denied"), 0, INT_MAX, 0);

		/* saturating: a damaged report must not overflow the sum */
		ev->denied = v > INT_MAX - ev->denied ? INT_MAX : ev->denied + v;
	}
	n = jsonr_first(d, jsonr_get(d, root, "faults"));
	for (; n; n = jsonr_next(d, n)) {
		if (!ev->faults++)
			copy(ev->detected_by, sizeof(ev->detected_by),
			     jsonr_str(jsonr_get(d, n, "detected_by"), NULL));
		if (jsonr_bool(jsonr_get(d, n, "unloaded"), 0) > 0 ||
		    jsonr_bool(jsonr_get(d, n, "reloaded"), 0) > 0)
			ev->removed = true;
	}
}

int classify_parse_report(const char *json, size_t len, struct run_evidence *ev)
{
	struct jdoc d;
	const struct jnode *root;

	memset(ev, 0, sizeof(*ev));
	ev->status = -1;
	ev->applied = ev->activated = -1;
	ev->site = ev->nsites = -1;
	if (jsonr_parse(json, len, &d))
		return -EINVAL;
	root = jsonr_root(&d);
	if (root->type != J_OBJ) {
		jsonr_free(&d);
		return -EINVAL;
	}
	ev->have_report = true;
	copy(ev->end, sizeof(ev->end), jsonr_str(jsonr_get(&d, root, "end"), "?"));
	ev->status = jsonr_int(jsonr_get(&d, root, "guest_status"), INT_MIN,
			       INT_MAX, -1);
	ev->wall_ms = jsonr_num(jsonr_get(&d, root, "wall_ms"), 0);
	parse_inject(&d, jsonr_get(&d, root, "inject"), ev);
	parse_isolation(&d, root, ev);
	jsonr_free(&d);
	return 0;
}

static void set(struct verdict *v, enum run_class c, const char *why)
{
	v->cls = c;
	copy(v->reason, sizeof(v->reason), why);
}

/* A run that says nothing about the driver: no report, or the VMM (not
 * the guest) ended it. True when v was set. */
static bool run_error(const struct run_evidence *ev, struct verdict *v)
{
	static const char *const guest_ends[] = {
		"poweroff", "panic", "reset", "timeout",
	};

	if (!ev->have_report) {
		set(v, CLS_ERROR, "no run report (chariot run failed: see its .err)");
		return true;
	}
	for (size_t i = 0; i < sizeof(guest_ends) / sizeof(guest_ends[0]); i++)
		if (!strcmp(ev->end, guest_ends[i]))
			return false;
	snprintf(v->reason, sizeof(v->reason), "run ended by the VMM: %s", ev->end);
	v->cls = CLS_ERROR;
	return true;
}

/* The injection did not take: true when v was set. */
static bool not_injected(const struct run_evidence *ev, struct verdict *v)
{
	if (!ev->have_inject) {
		set(v, CLS_ERROR, "report has no \"inject\" (chariot run without --inject?)");
		return true;
	}
	if (ev->applied <= 0) {
		snprintf(v->reason, sizeof(v->reason), "not applied: %.140s",
			 ev->inject_error[0] ? ev->inject_error : "no reason given");
		v->cls = CLS_NOT_ACTIVATED;
		return true;
	}
	if (!ev->activated) {
		set(v, CLS_NOT_ACTIVATED, "the mutated code never ran");
		return true;
	}
	return false;
}

/* A crash: true when v was set. */
static bool crashed(const struct run_evidence *ev, unsigned con, struct verdict *v)
{
	if (!strcmp(ev->end, "panic") && (con & CON_HANG))
		/* the lockup or hung-task detector's panic: a hang ended
		 * early (WORKLOAD_NATIVE_APPEND), not a run timeout */
		set(v, CLS_CRASH, "guest hung (lockup or blocked task, panicked)");
	else if (!strcmp(ev->end, "panic"))
		set(v, CLS_CRASH, "guest kernel panic");
	else if (!strcmp(ev->end, "reset"))
		set(v, CLS_CRASH, "guest reset (triple fault)");
	else if (!strcmp(ev->end, "timeout"))
		set(v, CLS_CRASH, "guest hung (run timeout)");
	else if (con & CON_OOPS)
		set(v, CLS_CRASH, "oops on the console");
	else if (con & CON_HANG)
		set(v, CLS_CRASH, "lockup or stall on the console");
	else
		return false;
	return true;
}

static bool workload_passed(const struct run_evidence *ev)
{
	return !strcmp(ev->end, "poweroff") && ev->status == 0;
}

void classify_native(const struct run_evidence *ev, unsigned con, struct verdict *v)
{
	memset(v, 0, sizeof(*v));
	if (run_error(ev, v) || not_injected(ev, v) || crashed(ev, con, v))
		return;
	if (ev->status != 0) {
		snprintf(v->reason, sizeof(v->reason), "workload failed (status %d)",
			 ev->status);
		v->cls = CLS_NONFATAL;
	} else if (con & CON_RETRIED) {
		set(v, CLS_NONFATAL, "workload failed once, passed on its retry");
	} else if (con & CON_WARN) {
		set(v, CLS_NONFATAL, "kernel WARNING");
	} else {
		set(v, CLS_SILENT, "no visible failure");
	}
}

void classify_isolated(const struct run_evidence *ev, unsigned con, struct verdict *v)
{
	bool survived;

	memset(v, 0, sizeof(*v));
	if (run_error(ev, v) || not_injected(ev, v))
		return;
	v->detected = ev->faults > 0 || ev->violations > 0 || ev->denied > 0;
	survived = !strcmp(ev->end, "poweroff") && !(con & (CON_OOPS | CON_HANG));
	v->restored = v->detected && workload_passed(ev);
	if (!v->detected && !survived)
		snprintf(v->reason, sizeof(v->reason), "not detected, and the "
			 "guest did not survive (end %s%s)", ev->end,
			 con & CON_OOPS ? ", oops" : con & CON_HANG ? ", lockup" : "");
	else if (!v->detected)
		set(v, CLS_MISSED, "not detected");
	if (!v->detected)
		v->cls = CLS_MISSED;
	else if (ev->removed && survived)
		set(v, CLS_ISOLATED, "detected, driver removed, guest went on");
	else if (!survived)
		set(v, CLS_CAPTURED, "detected, but the guest did not survive");
	else
		set(v, CLS_CAPTURED, "detected, driver not removed");
}

/* A clean run whose console already shows a WARNING or an oops: the
 * unprotected runs' classes are then suspect, so the reason says it. */
void classify_clean(const struct run_evidence *ev, unsigned con, struct verdict *v)
{
	memset(v, 0, sizeof(*v));
	if (run_error(ev, v))
		return;
	v->restored = workload_passed(ev);
	if (ev->faults || ev->violations || ev->denied) {
		snprintf(v->reason, sizeof(v->reason),
			 "%d violations, %d denied, %d faults without a fault injected",
			 ev->violations, ev->denied, ev->faults);
		v->cls = CLS_FALSE_ALARM;
	} else if (!v->restored) {
		snprintf(v->reason, sizeof(v->reason),
			 "no alarm, but the workload failed (end %s, status %d)",
			 ev->end, ev->status);
		v->cls = CLS_CLEAN;
	} else if (con & (CON_OOPS | CON_HANG | CON_WARN)) {
		set(v, CLS_CLEAN, "no alarm, but the console shows a kernel "
		    "oops, lockup or WARNING without a fault");
	} else {
		set(v, CLS_CLEAN, "no alarm");
	}
}

void classify_run(enum run_kind k, const char *report, size_t rlen,
		  const char *console, size_t clen, struct run_evidence *ev,
		  struct verdict *v)
{
	unsigned con = console ? classify_scan_console(console, clen) : 0;

	if (!report || !rlen || classify_parse_report(report, rlen, ev))
		classify_parse_report("", 0, ev);	/* have_report false */
	if (k == RUN_NATIVE)
		classify_native(ev, con, v);
	else if (k == RUN_ISOLATED)
		classify_isolated(ev, con, v);
	else
		classify_clean(ev, con, v);
}
