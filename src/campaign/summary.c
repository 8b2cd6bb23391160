/* summary.c - counting a campaign's runs and writing summary.json. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "campaign/summary.h"
#include "vmm/json.h"

static const char *const native_names[NAT_CLASSES] = {
	"crash", "nonfatal", "silent", "not_activated",
};
static const char *const iso_names[ISO_COUNTS] = {
	"isolated", "captured", "missed", "restored",
};

const char *summary_native_name(int c)
{
	return c >= 0 && c < NAT_CLASSES ? native_names[c] : "?";
}

const char *summary_iso_name(int k)
{
	return k >= 0 && k < ISO_COUNTS ? iso_names[k] : "?";
}

/* Runs sorted by (driver, campaign seed, kind, index, position read), so
 * a repeated run sorts next to its first reading. */
static int cmp_run(const void *a, const void *b)
{
	const struct run_result *const *x = a, *const *y = b;
	int c = strcmp((*x)->driver, (*y)->driver);

	if (c)
		return c;
	if ((*x)->campaign_seed != (*y)->campaign_seed)
		return (*x)->campaign_seed < (*y)->campaign_seed ? -1 : 1;
	if ((*x)->kind != (*y)->kind)
		return (*x)->kind < (*y)->kind ? -1 : 1;
	if ((*x)->index != (*y)->index)
		return (*x)->index < (*y)->index ? -1 : 1;
	return *x < *y ? -1 : *x > *y;
}

static bool same_run(const struct run_result *a, const struct run_result *b)
{
	return !strcmp(a->driver, b->driver) && a->campaign_seed == b->campaign_seed &&
	       a->kind == b->kind && a->index == b->index;
}

static int native_class(enum run_class c)
{
	switch (c) {
	case CLS_CRASH: return NAT_CRASH;
	case CLS_NONFATAL: return NAT_NONFATAL;
	case CLS_SILENT: return NAT_SILENT;
	case CLS_NOT_ACTIVATED: return NAT_NOT_ACTIVATED;
	default: return -1;
	}
}

static int iso_class(enum run_class c)
{
	switch (c) {
	case CLS_ISOLATED: return ISO_ISOLATED;
	case CLS_CAPTURED: return ISO_CAPTURED;
	case CLS_MISSED: return ISO_MISSED;
	default: return -1;
	}
}

static int cmp_key(const void *a, const void *b)
{
	const struct run_result *x = a, *const *y = b;
	int c = strcmp(x->driver, (*y)->driver);

	if (c)
		return c;
	if (x->campaign_seed != (*y)->campaign_seed)
		return x->campaign_seed < (*y)->campaign_seed ? -1 : 1;
	if (x->kind != (*y)->kind)
		return x->kind < (*y)->kind ? -1 : 1;
	return x->index < (*y)->index ? -1 : x->index > (*y)->index;
}

/* The isolated run of native run nat, in the sorted unique runs u. */
static const struct run_result *isolated_of(const struct run_result **u, size_t n,
					    const struct run_result *nat)
{
	struct run_result key = *nat;
	const struct run_result **hit;

	key.kind = RUN_ISOLATED;
	hit = bsearch(&key, u, n, sizeof(*u), cmp_key);
	return hit ? *hit : NULL;
}

static void count_fault(struct summary *s, const struct run_result **u, size_t n,
			const struct run_result *nat)
{
	int c = native_class(nat->cls), k;
	const struct run_result *iso;
	struct summary_counts *t = nat->type >= 0 && nat->type < FAULT_NTYPES ?
				   &s->by_type[nat->type] : NULL;

	if (c < 0) {
		s->errors++;
		return;
	}
	s->faults++;
	s->all.native[c]++;
	if (t)
		t->native[c]++;
	iso = c < FAILURE_CLASSES ? isolated_of(u, n, nat) : NULL;
	k = iso ? iso_class(iso->cls) : -1;
	if (k < 0)
		return;
	s->all.iso[c][k]++;
	s->all.iso[c][ISO_RESTORED] += iso->restored;
	if (t) {
		t->iso[c][k]++;
		t->iso[c][ISO_RESTORED] += iso->restored;
	}
}

static void count_run(struct summary *s, const struct run_result **u, size_t n,
		      const struct run_result *r)
{
	if (r->kind != RUN_CLEAN && r->applied > 0)
		s->injections++;
	if (r->kind == RUN_NATIVE) {
		count_fault(s, u, n, r);
	} else if (r->kind == RUN_CLEAN) {
		if (r->cls == CLS_ERROR) {
			s->errors++;
			return;
		}
		s->clean_runs++;
		s->false_alarms += r->cls == CLS_FALSE_ALARM;
		s->clean_failed += r->cls == CLS_CLEAN && !r->restored;
	} else if (r->cls == CLS_ERROR) {
		s->errors++;
	}
}

static void add_driver(struct summary *s, const char *d)
{
	size_t dl = strlen(d), l = strlen(s->driver);

	for (const char *p = s->driver; (p = strstr(p, d)); p += dl)
		if ((p == s->driver || p[-1] == ',') && (p[dl] == ',' || !p[dl]))
			return;
	if (l + dl + 2 < sizeof(s->driver))
		snprintf(s->driver + l, sizeof(s->driver) - l, "%s%s", l ? "," : "", d);
}

static int cmp_start(const void *a, const void *b)
{
	const struct run_result *const *x = a, *const *y = b;

	return (*x)->t0_ms < (*y)->t0_ms ? -1 : (*x)->t0_ms > (*y)->t0_ms;
}

/* The union of the runs' [t0, t1] intervals: the campaign's wall time
 * without the pauses between a kill and its --resume, and the same for
 * shards run one after another or side by side. */
static double busy_time(const struct run_result **u, size_t n)
{
	uint64_t total = 0, start = 0, end = 0;
	bool open = false;

	qsort(u, n, sizeof(*u), cmp_start);
	for (size_t i = 0; i < n; i++) {
		if (u[i]->t1_ms <= u[i]->t0_ms)
			continue;
		if (open && u[i]->t0_ms <= end) {
			if (u[i]->t1_ms > end)
				end = u[i]->t1_ms;
			continue;
		}
		if (open)
			total += end - start;
		start = u[i]->t0_ms;
		end = u[i]->t1_ms;
		open = true;
	}
	if (open)
		total += end - start;
	return (double)total;
}

int summary_build(const struct run_result *rs, size_t n, struct summary *s)
{
	const struct run_result **u = malloc((n ? n : 1) * sizeof(*u));
	size_t nu = 0;

	memset(s, 0, sizeof(*s));
	if (!u)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		u[i] = &rs[i];
	qsort(u, n, sizeof(*u), cmp_run);
	for (size_t i = 0; i < n; i++)	/* first reading of each run wins */
		if (!nu || !same_run(u[nu - 1], u[i]))
			u[nu++] = u[i];
	s->seed_known = nu > 0;
	for (size_t i = 0; i < nu; i++) {
		add_driver(s, u[i]->driver);
		if (u[i]->campaign_seed != u[0]->campaign_seed)
			s->seed_known = false;
		count_run(s, u, nu, u[i]);
	}
	s->seed = nu ? u[0]->campaign_seed : 0;
	s->busy_ms = busy_time(u, nu);
	free(u);
	return 0;
}

bool summary_rate(const struct summary_counts *c, int cls, double *rate)
{
	if (cls < 0 || cls >= FAILURE_CLASSES || !c->native[cls])
		return false;
	*rate = (double)c->iso[cls][ISO_ISOLATED] / c->native[cls];
	return true;
}

double summary_ipm(const struct summary *s)
{
	return s->busy_ms > 0 ? s->injections * 60000.0 / s->busy_ms : 0;
}

static void write_counts(const struct summary *s, FILE *f)
{
	fputs(",\n  \"native\": {", f);
	for (int c = 0; c < NAT_CLASSES; c++)
		fprintf(f, "%s\"%s\": %u", c ? ", " : "", native_names[c],
			s->all.native[c]);
	fputs("},\n  \"isolated\": {", f);
	for (int c = 0; c < FAILURE_CLASSES; c++) {
		fprintf(f, "%s\n    \"%s\": {", c ? "," : "", native_names[c]);
		for (int k = 0; k < ISO_COUNTS; k++)
			fprintf(f, "%s\"%s\": %u", k ? ", " : "", iso_names[k],
				s->all.iso[c][k]);
		fputc('}', f);
	}
	fputs("\n  },\n  \"rates\": {", f);
	for (int c = 0; c < FAILURE_CLASSES; c++) {
		double r;

		fprintf(f, "%s\"%s\": ", c ? ", " : "", native_names[c]);
		if (summary_rate(&s->all, c, &r))
			fprintf(f, "%.4f", r);
		else
			fputs("null", f);
	}
	fputc('}', f);
}

int summary_write_json(const struct summary *s, FILE *f)
{
	fputs("{\n  \"driver\": ", f);
	json_string(f, s->driver);
	fprintf(f, ",\n  \"faults\": %u,\n  \"seed\": ", s->faults);
	if (s->seed_known)
		fprintf(f, "%" PRIu64, s->seed);
	else
		fputs("null", f);
	write_counts(s, f);
	fprintf(f, ",\n  \"clean_runs\": %u,\n  \"false_alarms\": %u"
		",\n  \"clean_failed\": %u"
		",\n  \"injections_per_minute\": %.2f\n}\n",
		s->clean_runs, s->false_alarms, s->clean_failed,
		summary_ipm(s));
	return ferror(f) ? -EIO : 0;
}
