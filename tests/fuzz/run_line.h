/* run_line.h - a run's results.jsonl line, as the fuzz targets of the
 * campaign's files check it: written (results_format), it must parse back
 * to a run that is written the same, byte for byte (what --resume keeps
 * is what it read). */
#ifndef CHARIOT_FUZZ_RUN_LINE_H
#define CHARIOT_FUZZ_RUN_LINE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign/results.h"

/* Everything emit wrote for arg, as a malloc'ed string; *len its length. */
static inline char *fz_written(void (*emit)(const void *, FILE *),
			       const void *arg, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		abort();
	emit(arg, f);
	if (fclose(f))
		abort();
	return buf;
}

static inline void fz_emit_run(const void *r, FILE *f)
{
	results_format(r, f);
}

/* r written, parsed into *again, written again: the two writes agree. */
static inline void fz_round_trip(const struct run_result *r,
				 struct run_result *again)
{
	size_t l1, l2;
	char *one = fz_written(fz_emit_run, r, &l1), *two;

	if (!l1 || one[l1 - 1] != '\n' ||
	    results_parse_line(one, l1 - 1, again)) {
		fprintf(stderr, "a run, written, does not parse: %s\n", one);
		abort();
	}
	two = fz_written(fz_emit_run, again, &l2);
	if (l1 != l2 || memcmp(one, two, l1)) {
		fprintf(stderr, "written back twice, the lines differ:\n%s%s",
			one, two);
		abort();
	}
	free(one);
	free(two);
}

#endif
