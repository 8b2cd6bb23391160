/* report.h - report.md (the paper's Fig. 10 table beside ours, and the
 * same per fault type) and its chart, an SVG of stacked bars per class:
 * the isolated / captured / missed shares of each class's faults. */
#ifndef CHARIOT_CAMPAIGN_REPORT_H
#define CHARIOT_CAMPAIGN_REPORT_H

#include <stdio.h>

#include "campaign/summary.h"

#define REPORT_MD	"report.md"
#define REPORT_SVG	"report.svg"

/* The published isolation rates (Computer Journal 59(5), Fig. 10), in %. */
extern const double report_paper_rate[FAILURE_CLASSES];

#define REPORT_TABLE_HEAD						\
	"| class | faults | isolated | captured | missed | service restored "	\
	"| rate (Chariot) | rate (paper) |\n"					\
	"|---|---:|---:|---:|---:|---:|---:|---:|\n"

/* The Fig. 10 table's rows (crash, nonfatal, silent), in markdown. */
void report_write_table(const struct summary *s, FILE *f);

/* "N faults, N clean runs, N false alarms" (singular for one). */
void report_write_counts(const struct summary *s, FILE *f);

/* 0 or -EIO. */
int report_write_md(const struct summary *s, FILE *f);
int report_write_svg(const struct summary *s, FILE *f);

#endif
