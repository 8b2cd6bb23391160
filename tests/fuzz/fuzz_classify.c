/* fuzz_classify.c - a campaign's judge of one run against damaged or
 * hostile files (libFuzzer).  The runner classifies each run from the
 * files `chariot run` left (its --json report and its console) and
 * appends the result to results.jsonl; a report cut short by a kill or
 * a console full of a broken guest's bytes must still give a class and a
 * line that reads back.  The input's first byte picks the run's kind
 * (modulo 3), the report runs to the first NUL after it, the console is
 * the rest.  Besides the sanitizers:
 *  - the class is one that kind of run can have, with a reason;
 *  - only an isolated run is detected or restored by an alarm, restored
 *    only when detected; isolated means detected and the driver removed;
 *    a clean run is a false alarm exactly when its report has an alarm;
 *  - the run's line (results_set_evidence, results_format) parses back
 *    and writes the same bytes again. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign/classify.h"
#include "campaign/results.h"
#include "run_line.h"

#define FAIL(...)	do { fprintf(stderr, __VA_ARGS__); abort(); } while (0)

static bool allowed(enum run_kind k, enum run_class c)
{
	if (c == CLS_ERROR)
		return true;
	switch (k) {
	case RUN_NATIVE:
		return c == CLS_CRASH || c == CLS_NONFATAL ||
		       c == CLS_SILENT || c == CLS_NOT_ACTIVATED;
	case RUN_ISOLATED:
		return c == CLS_ISOLATED || c == CLS_CAPTURED ||
		       c == CLS_MISSED || c == CLS_NOT_ACTIVATED;
	default:
		return c == CLS_CLEAN || c == CLS_FALSE_ALARM;
	}
}

static void check_verdict(enum run_kind k, const struct run_evidence *ev,
			  const struct verdict *v)
{
	bool alarm = ev->faults || ev->violations || ev->denied;

	if (!allowed(k, v->cls))
		FAIL("a %s run classed %s\n", run_kind_name(k),
		     run_class_name(v->cls));
	if (!memchr(v->reason, '\0', sizeof(v->reason)) || !v->reason[0])
		FAIL("class %s without a reason\n", run_class_name(v->cls));
	if (v->restored && k != RUN_CLEAN && !v->detected)
		FAIL("restored, not detected\n");
	if (k == RUN_NATIVE && v->detected)
		FAIL("an unprotected run detected\n");
	if (v->cls == CLS_ISOLATED && !(v->detected && ev->removed))
		FAIL("isolated without detection and removal\n");
	if (k == RUN_ISOLATED && v->cls == CLS_MISSED && v->detected)
		FAIL("missed, yet detected\n");
	if (k == RUN_CLEAN && v->cls != CLS_ERROR &&
	    (v->cls == CLS_FALSE_ALARM) != alarm)
		FAIL("clean run: class %s, %d faults %d violations %d denied\n",
		     run_class_name(v->cls), ev->faults, ev->violations,
		     ev->denied);
}

static void check_line(enum run_kind k, const struct run_evidence *ev,
		       const struct verdict *v)
{
	struct run_result r = { .driver = "d", .kind = k, .type = -1 }, again;

	results_set_evidence(&r, ev, v);
	fz_round_trip(&r, &again);
	if (again.cls != v->cls || again.detected != v->detected ||
	    again.restored != v->restored)
		FAIL("the line read back lost the verdict (%s)\n",
		     run_class_name(v->cls));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run_evidence ev, ev2;
	struct verdict v, v2;
	enum run_kind k;
	const char *text, *nul;
	size_t rlen, clen;
	char *report, *console;

	if (size < 1)
		return 0;
	k = (enum run_kind)(data[0] % RUN_KINDS);
	text = (const char *)data + 1;
	nul = memchr(text, '\0', size - 1);
	rlen = nul ? (size_t)(nul - text) : size - 1;
	clen = nul ? size - 1 - rlen - 1 : 0;
	/* Copies of exactly the texts: a read past either is a heap
	 * overflow (the runner's are NUL-terminated; nothing may rely on
	 * it). */
	report = malloc(rlen ? rlen : 1);
	console = malloc(clen ? clen : 1);
	if (!report || !console)
		abort();
	memcpy(report, text, rlen);
	if (clen)
		memcpy(console, nul + 1, clen);
	classify_run(k, report, rlen, console, clen, &ev, &v);
	check_verdict(k, &ev, &v);
	classify_run(k, report, rlen, console, clen, &ev2, &v2);
	if (v2.cls != v.cls || strcmp(v2.reason, v.reason))
		FAIL("judged twice, two verdicts\n");
	check_line(k, &ev, &v);
	free(report);
	free(console);
	return 0;
}
