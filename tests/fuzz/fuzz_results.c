/* fuzz_results.c - what a campaign reads back, against damaged files
 * (libFuzzer).  `chariot campaign --resume` and `chariot report DIR...`
 * read results.jsonl files a kill may have torn, a disk may have
 * damaged, or a user may have edited.  The input is such a file; every
 * line is parsed as a run.  Besides the sanitizers:
 *  - a line that parses is written back (results_format) the way the
 *    campaign writes it, and that line parses to a run written back the
 *    same way, byte for byte (what --resume keeps is what it read);
 *  - the runs that parsed are counted (summary_build), and summary.json
 *    written from them is one JSON value that the campaign's own reader
 *    takes (a driver name of quotes and control bytes stays escaped);
 *  - report.md, the SVG chart and the table are written from them too.
 * The whole input is also handed to the JSON reader as one document. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign/jsonr.h"
#include "campaign/report.h"
#include "campaign/results.h"
#include "campaign/summary.h"
#include "run_line.h"

#define FZ_MAX_RUNS	64

static void emit_summary(const void *s, FILE *f)
{
	if (summary_write_json(s, f))
		abort();
}

static void check_reports(const struct run_result *rs, size_t n)
{
	struct summary s;
	struct jdoc doc;
	size_t len;
	char *json;
	FILE *null = fopen("/dev/null", "w");

	if (!null || summary_build(rs, n, &s))
		abort();
	json = fz_written(emit_summary, &s, &len);
	if (jsonr_parse(json, len, &doc)) {
		fprintf(stderr, "summary.json is not JSON:\n%s\n", json);
		abort();
	}
	jsonr_free(&doc);
	free(json);
	if (report_write_md(&s, null) || report_write_svg(&s, null))
		abort();
	report_write_table(&s, null);
	report_write_counts(&s, null);
	fclose(null);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data, *end = text + size;
	struct run_result *rs = calloc(FZ_MAX_RUNS, sizeof(*rs));
	struct jdoc doc;
	size_t n = 0;

	if (!rs)
		abort();
	if (jsonr_parse(text, size, &doc) == 0)
		jsonr_free(&doc);
	while (text < end && n < FZ_MAX_RUNS) {
		const char *nl = memchr(text, '\n', end - text);
		size_t len = (nl ? nl : end) - text;

		if (results_parse_line(text, len, &rs[n]) == 0) {
			struct run_result again;

			fz_round_trip(&rs[n++], &again);
		}
		text += len + 1;
	}
	check_reports(rs, n);
	free(rs);
	return 0;
}
