/* report.c - report.md and report.svg from a summary. */
#include <errno.h>
#include <inttypes.h>

#include "campaign/report.h"

const double report_paper_rate[FAILURE_CLASSES] = { 83.64, 75.54, 77.43 };

static void pct(FILE *f, unsigned num, unsigned den)
{
	if (den)
		fprintf(f, "%.2f%%", 100.0 * num / den);
	else
		fputs("-", f);
}

static void fig10_row(const struct summary_counts *c, int cls, FILE *f)
{
	const unsigned *iso = c->iso[cls];

	fprintf(f, "| %s | %u | %u | %u | %u | %u | ", summary_native_name(cls),
		c->native[cls], iso[ISO_ISOLATED], iso[ISO_CAPTURED],
		iso[ISO_MISSED], iso[ISO_RESTORED]);
	pct(f, iso[ISO_ISOLATED], c->native[cls]);
	fprintf(f, " | %.2f%% |\n", report_paper_rate[cls]);
}

void report_write_table(const struct summary *s, FILE *f)
{
	for (int c = 0; c < FAILURE_CLASSES; c++)
		fig10_row(&s->all, c, f);
}

static void fig10(const struct summary *s, FILE *f)
{
	fputs("## Isolation by failure class (the paper's Fig. 10)\n\n"
	      "Each fault ran twice: unprotected (its class below) and isolated. "
	      "The rate is the share of the class's faults whose isolated run was "
	      "*isolated* (detected, driver removed, guest went on).\n\n"
	      REPORT_TABLE_HEAD, f);
	report_write_table(s, f);
	fprintf(f, "\nNot activated (mutation not applied, or its code never "
		"ran; not counted above): %u of %u faults.\n\n",
		s->all.native[NAT_NOT_ACTIVATED], s->faults);
}

static void by_type(const struct summary *s, FILE *f)
{
	fputs("## By fault type\n\n"
	      "| type | faults | crash | nonfatal | silent | not activated "
	      "| isolated | captured | missed | rate |\n"
	      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n", f);
	for (int t = 0; t < FAULT_NTYPES; t++) {
		const struct summary_counts *c = &s->by_type[t];
		unsigned n = 0, failed = 0, k[ISO_COUNTS] = { 0 };

		for (int i = 0; i < NAT_CLASSES; i++)
			n += c->native[i];
		if (!n)
			continue;
		for (int i = 0; i < FAILURE_CLASSES; i++) {
			failed += c->native[i];
			for (int j = 0; j < ISO_COUNTS; j++)
				k[j] += c->iso[i][j];
		}
		fprintf(f, "| %s | %u | %u | %u | %u | %u | %u | %u | %u | ",
			fault_type_name(t), n, c->native[NAT_CRASH],
			c->native[NAT_NONFATAL], c->native[NAT_SILENT],
			c->native[NAT_NOT_ACTIVATED], k[ISO_ISOLATED],
			k[ISO_CAPTURED], k[ISO_MISSED]);
		pct(f, k[ISO_ISOLATED], failed);
		fputs(" |\n", f);
	}
}

void report_write_counts(const struct summary *s, FILE *f)
{
	fprintf(f, "%u fault%s, %u clean run%s, %u false alarm%s",
		s->faults, s->faults == 1 ? "" : "s",
		s->clean_runs, s->clean_runs == 1 ? "" : "s",
		s->false_alarms, s->false_alarms == 1 ? "" : "s");
}

int report_write_md(const struct summary *s, FILE *f)
{
	fprintf(f, "# Fault-injection campaign: %s\n\n", s->driver[0] ? s->driver : "-");
	if (s->seed_known)
		fprintf(f, "Seed %" PRIu64 ", ", s->seed);
	report_write_counts(s, f);
	fprintf(f, ", %.2f injections per minute", summary_ipm(s));
	if (s->errors)
		fprintf(f, ", %u runs that said nothing (errors, see results.jsonl)",
			s->errors);
	if (s->clean_failed)
		fprintf(f, "; in %u clean run(s) the workload failed with no "
			"alarm (isolation alone broke it: see those runs' reason)",
			s->clean_failed);
	fputs(".\n\n", f);
	fig10(s, f);
	fprintf(f, "![isolation by class](%s)\n\n", REPORT_SVG);
	by_type(s, f);
	fputs("\nPaper: Zheng et al., \"Improving the Reliability of the Operating "
	      "System Inside a VM\", Computer Journal 59(5), 2016.\n", f);
	return ferror(f) ? -EIO : 0;
}

#define BAR_W	80
#define BAR_H	240
#define TOP	40
#define LEFT	60

static void svg_bar(const struct summary_counts *c, int cls, FILE *f)
{
	static const char *const colour[3] = { "#2e7d32", "#f9a825", "#c62828" };
	double y = TOP + BAR_H, x = LEFT + 30 + cls * (BAR_W + 50);
	unsigned n = c->native[cls];

	for (int k = ISO_ISOLATED; k <= ISO_MISSED && n; k++) {
		double h = BAR_H * (double)c->iso[cls][k] / n;

		y -= h;
		fprintf(f, "<rect x=\"%.0f\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" "
			"fill=\"%s\"/>\n", x, y, BAR_W, h, colour[k]);
	}
	/* the paper's rate, as a line across the bar */
	y = TOP + BAR_H * (1 - report_paper_rate[cls] / 100);
	fprintf(f, "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" "
		"stroke=\"black\" stroke-dasharray=\"4 3\"/>\n",
		x - 6, x + BAR_W + 6, y, y);
	fprintf(f, "<text x=\"%.0f\" y=\"%d\" text-anchor=\"middle\">%s (%u)</text>\n",
		x + BAR_W / 2, TOP + BAR_H + 20, summary_native_name(cls), n);
}

int report_write_svg(const struct summary *s, FILE *f)
{
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"560\" "
		"height=\"%d\" font-family=\"sans-serif\" font-size=\"13\">\n"
		"<text x=\"%d\" y=\"22\" font-size=\"15\">Isolation by failure "
		"class: %s</text>\n", TOP + BAR_H + 40, LEFT, s->driver);
	for (int p = 0; p <= 100; p += 25)
		fprintf(f, "<text x=\"%d\" y=\"%.0f\" text-anchor=\"end\">%d%%</text>\n",
			LEFT + 20, TOP + BAR_H * (1 - p / 100.0) + 4, p);
	for (int c = 0; c < FAILURE_CLASSES; c++)
		svg_bar(&s->all, c, f);
	fprintf(f, "<g transform=\"translate(%d,%d)\">\n"
		"<rect width=\"12\" height=\"12\" fill=\"#2e7d32\"/><text x=\"16\" y=\"11\">isolated</text>\n"
		"<rect y=\"18\" width=\"12\" height=\"12\" fill=\"#f9a825\"/><text x=\"16\" y=\"29\">captured</text>\n"
		"<rect y=\"36\" width=\"12\" height=\"12\" fill=\"#c62828\"/><text x=\"16\" y=\"47\">missed</text>\n"
		"<line y1=\"60\" y2=\"60\" x2=\"12\" stroke=\"black\" stroke-dasharray=\"4 3\"/><text x=\"16\" y=\"64\">paper</text>\n"
		"</g>\n</svg>\n", LEFT + 30 + 3 * (BAR_W + 50) - 10, TOP);
	return ferror(f) ? -EIO : 0;
}
