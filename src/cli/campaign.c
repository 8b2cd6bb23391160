/* campaign.c - `chariot campaign` (a fault-injection campaign on one
 * driver) and `chariot report` (summary and report of one or more
 * campaign directories, merged). The work is in src/campaign/; this file
 * parses options, shows progress, and turns signals into a stop. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "campaign/report.h"
#include "campaign/sites.h"
#include "campaign/runner.h"
#include "cli/cli.h"

#define DEFAULT_TIMEOUT	300

static const char campaign_help[] =
"usage: chariot campaign --driver MOD --faults N --seed S --out DIR [OPTIONS]\n"
"\n"
"Inject N faults into guest driver MOD, each chosen from the seed S (the\n"
"same seed gives the same faults), and run MOD's workload twice per fault:\n"
"unprotected (`chariot run --inject MOD:TYPE:SEED`) and isolated (the same\n"
"with --isolate MOD). The unprotected run is classed crash, nonfatal,\n"
"silent or not_activated, the isolated one isolated, captured or missed\n"
"(with service restored or not). A fault whose type has no site in the\n"
"driver stays in the plan as not_activated (it is not replaced by another),\n"
"and its isolated run is skipped. DIR gets results.jsonl (a line per run),\n"
"summary.json, report.md (the paper's Fig. 10 table, per fault type too)\n"
"and report.svg. The table is printed at the end.\n"
"\n"
"options:\n"
"  --driver MOD      the driver (see the workloads below)\n"
"  --faults N        how many faults (N >= 1)\n"
"  --seed S          the campaign's seed (a whole number)\n"
"  --types LIST      fault types to draw from, comma-separated (default all:\n"
"                    %s)\n"
"  --jobs J          runs at a time (default: the number of CPUs)\n"
"  --clean-runs K    also K isolated runs without a fault: any violation or\n"
"                    fault there is a false alarm (default 0)\n"
"  --out DIR         where results and reports go (created)\n"
"  --resume          go on with DIR's campaign after a kill or Ctrl-C: runs\n"
"                    already in results.jsonl are not run again\n"
"  --shard I/N       only faults (and clean runs) i with i %% N == I, to spread\n"
"                    a campaign over machines; merge with `chariot report`\n"
"  --timeout SEC     each run's --timeout (default %d): a guest still running\n"
"                    then is hung (a crash); an unprotected run is hung\n"
"                    sooner, past its workload's own bounds (below)\n"
"  --boot snapshot   the first run of each kind (unprotected, isolated,\n"
"                    clean) saves a snapshot of its guest when init starts\n"
"                    (DIR/snap/), the others of its kind restore it instead\n"
"                    of booting (default)\n"
"  --boot fresh      every run boots its guest\n"
"  --sites all       faults anywhere in the driver's text (default)\n"
"  --sites covered   first one unprotected run of the workload records which\n"
"                    of the driver's instructions run (chariot run --cover,\n"
"                    DIR/sites); faults are drawn only among those, so each\n"
"                    is one the workload can activate. Shards share DIR/sites\n"
"                    (copy it into each shard's DIR) to draw the same faults\n"
"  --chariot PATH    the chariot binary whose `run` makes the runs (default:\n"
"                    this one)\n"
"  -h, --help        this help\n"
"\n"
"workloads (a guest command; exit status 0 means the data came back right;\n"
"retried once after a failure, so a reloaded driver can serve it):\n"
"%s"
"\n"
"exit status: 0 done; 1 a run could not be started or recorded (or\n"
"`chariot run` refused the options: its message is shown); 2 bad\n"
"input; 130 interrupted (SIGINT/SIGTERM: the runs under way are stopped and\n"
"not recorded, results.jsonl stays whole; --resume goes on).\n";

static const char report_help[] =
"usage: chariot report DIR [DIR...] [--out DIR]\n"
"\n"
"Read the results.jsonl of each campaign directory (shards of one campaign,\n"
"or several campaigns; a run found twice counts once), and write\n"
"summary.json, report.md and report.svg into the first DIR (or --out DIR).\n"
"Prints the paper's Fig. 10 table.\n"
"\n"
"exit status: 0 done; 1 a file could not be read or written; 2 bad input.\n";

struct campaign_opts {
	struct campaign_cfg cfg;
	const char *driver, *types;
	unsigned long long faults, seed;
	bool have_seed;
	char exe[PATH_MAX];
};

static void print_help(void)
{
	char types[1024] = "", loads[2048] = "";
	size_t tl = 0, ll = 0;
	const struct workload *w;

	for (int t = 0; t < FAULT_NTYPES; t++)
		tl += (size_t)snprintf(types + tl, sizeof(types) - tl, "%s%s%s",
				       t ? "," : "", t && t % 4 == 0 ? "\n                    " : "",
				       fault_type_name(t));
	for (size_t i = 0; (w = workload_at(i)); i++)
		ll += (size_t)snprintf(loads + ll, sizeof(loads) - ll,
				       "  %-14s %s%s\n"
				       "                 (an unprotected run is hung after %u s)\n",
				       w->driver, w->check,
				       w->disk_mib ? " (--disk)" : w->net_pair ? " (--net pair)" : "",
				       w->native_s);
	printf(campaign_help, types, DEFAULT_TIMEOUT, loads);
}

static int parse_shard(struct campaign_opts *o, const char *v)
{
	unsigned long long i, n;
	char a[32], *slash;

	if (strlen(v) >= sizeof(a))
		return -1;
	strcpy(a, v);
	slash = strchr(a, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	if (cli_parse_u64(slash + 1, 1, 1u << 20, &n) || cli_parse_u64(a, 0, n - 1, &i))
		return -1;
	o->cfg.shard = (unsigned)i;
	o->cfg.nshards = (unsigned)n;
	return 0;
}

enum { O_DRIVER = 256, O_FAULTS, O_SEED, O_TYPES, O_JOBS, O_CLEAN, O_OUT,
       O_RESUME, O_SHARD, O_TIMEOUT, O_CHARIOT, O_BOOT, O_SITES };

static const struct option campaign_opts[] = {
	{ "driver", required_argument, NULL, O_DRIVER },
	{ "faults", required_argument, NULL, O_FAULTS },
	{ "seed", required_argument, NULL, O_SEED },
	{ "types", required_argument, NULL, O_TYPES },
	{ "jobs", required_argument, NULL, O_JOBS },
	{ "clean-runs", required_argument, NULL, O_CLEAN },
	{ "out", required_argument, NULL, O_OUT },
	{ "resume", no_argument, NULL, O_RESUME },
	{ "shard", required_argument, NULL, O_SHARD },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "chariot", required_argument, NULL, O_CHARIOT },
	{ "boot", required_argument, NULL, O_BOOT },
	{ "sites", required_argument, NULL, O_SITES },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int parse_number(int c, const char *v, struct campaign_opts *o)
{
	unsigned long long n;

	switch (c) {
	case O_FAULTS:
		if (cli_parse_u64(v, 1, 1000000, &o->faults))
			return cli_bad("campaign", "bad --faults '%s': 1 to 1000000", v);
		return 0;
	case O_SEED:
		if (cli_parse_u64(v, 0, ~0ull, &o->seed))
			return cli_bad("campaign", "bad --seed '%s': a whole number", v);
		o->have_seed = true;
		return 0;
	case O_JOBS:
		if (cli_parse_u64(v, 1, 256, &n))
			return cli_bad("campaign", "bad --jobs '%s': 1 to 256", v);
		o->cfg.jobs = (unsigned)n;
		return 0;
	case O_CLEAN:
		if (cli_parse_u64(v, 0, 1000000, &n))
			return cli_bad("campaign", "bad --clean-runs '%s': 0 to 1000000", v);
		o->cfg.clean_runs = (unsigned)n;
		return 0;
	case O_TIMEOUT:
		if (cli_parse_u64(v, 1, 1000000, &n))
			return cli_bad("campaign", "bad --timeout '%s': whole seconds, at least 1", v);
		o->cfg.timeout_s = (unsigned)n;
		return 0;
	default:
		return -1;
	}
}

static int parse_opt(int c, const char *v, struct campaign_opts *o)
{
	switch (c) {
	case O_DRIVER: o->driver = v; return 0;
	case O_TYPES: o->types = v; return 0;
	case O_OUT: o->cfg.out = v; return 0;
	case O_RESUME: o->cfg.resume = true; return 0;
	case O_CHARIOT: o->cfg.chariot = v; return 0;
	case O_BOOT:
		if (strcmp(v, "snapshot") && strcmp(v, "fresh"))
			return cli_bad("campaign", "bad --boot '%s': snapshot or fresh", v);
		o->cfg.fresh_boot = !strcmp(v, "fresh");
		return 0;
	case O_SITES:
		if (strcmp(v, "all") && strcmp(v, "covered"))
			return cli_bad("campaign", "bad --sites '%s': all or covered", v);
		o->cfg.covered_sites = !strcmp(v, "covered");
		return 0;
	case O_SHARD:
		if (parse_shard(o, v))
			return cli_bad("campaign", "bad --shard '%s': I/N with 0 <= I < N", v);
		return 0;
	default:
		return parse_number(c, v, o);
	}
}

/* The options' meaning, once all are read. */
static int check_opts(struct campaign_opts *o)
{
	char name[64];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (!o->driver || !o->faults || !o->have_seed || !o->cfg.out)
		return cli_bad("campaign", "%s", "--driver, --faults, --seed and --out are needed");
	o->cfg.w = workload_find(o->driver);
	if (!o->cfg.w)
		return cli_bad("campaign", "no workload for driver '%s' (the drivers are "
			   "virtio_blk, virtio_net, brd, null_blk, chariot_buggy)", o->driver);
	if (plan_parse_types(o->types, &o->cfg.types, name, sizeof(name)))
		return cli_bad("campaign", "bad --types: '%s' is not a fault type, or named twice", name);
	o->cfg.faults = (unsigned)o->faults;
	o->cfg.seed = o->seed;
	if (!o->cfg.jobs)
		o->cfg.jobs = cpus > 0 ? (unsigned)cpus : 1;
	if (!o->cfg.chariot) {
		ssize_t n = readlink("/proc/self/exe", o->exe, sizeof(o->exe) - 1);

		if (n <= 0)
			return cli_bad("campaign", "%s", "cannot find this binary: give --chariot");
		o->exe[n] = '\0';
		o->cfg.chariot = o->exe;
	}
	if (access(o->cfg.chariot, X_OK))
		return cli_bad("campaign", "--chariot '%s' is not an executable file", o->cfg.chariot);
	return 0;
}

/* 0 parsed, 1 --help shown, -1 bad input. */
static int parse_campaign(struct campaign_opts *o, int argc, char **argv)
{
	int c;

	o->types = "all";
	o->cfg.nshards = 1;
	o->cfg.timeout_s = DEFAULT_TIMEOUT;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", campaign_opts, NULL)) != -1) {
		if (c == 'h') {
			print_help();
			return 1;
		}
		if (c == '?')
			return cli_bad("campaign", "unknown or incomplete option '%s'",
				   argv[optind - 1]);
		if (parse_opt(c, optarg, o))
			return -1;
	}
	if (optind < argc)
		return cli_bad("campaign", "unexpected argument '%s'", argv[optind]);
	return check_opts(o);
}

/* ------------------------------------------------------------------ */
/* Progress and signals                                                */

struct progress {
	bool tty;
};

static void show_progress(void *ctx, const struct campaign_progress *p)
{
	const struct progress *pr = ctx;
	unsigned fresh = p->done - p->resumed;
	double per_min = p->elapsed_ms > 0 ? fresh * 60000.0 / p->elapsed_ms : 0;
	double eta_s = per_min > 0 ? (p->total - p->done) * 60.0 / per_min : 0;
	const struct run_result *r = p->last;
	char bar[31];
	unsigned fill = p->total ? p->done * 30 / p->total : 30;

	if (!pr->tty) {
		fprintf(stderr, "chariot campaign: %u/%u %s %u %s: %s (%s)\n", p->done,
			p->total, run_kind_name(r->kind), r->index,
			r->type >= 0 ? fault_type_name(r->type) : "no fault",
			run_class_name(r->cls), r->reason);
		return;
	}
	memset(bar, '#', fill);
	memset(bar + fill, '.', 30 - fill);
	bar[30] = '\0';
	fprintf(stderr, "\r\033[K[%s] %u/%u runs  %.1f/min  ETA %um%02us  %s %u: %s",
		bar, p->done, p->total, per_min, (unsigned)eta_s / 60,
		(unsigned)eta_s % 60, run_kind_name(r->kind), r->index,
		run_class_name(r->cls));
	if (p->done == p->total)
		fputc('\n', stderr);
}

/* SIGINT and SIGTERM are blocked and waited for by a thread that asks the
 * runner to stop (no global flag, no work in a signal handler). */
struct sigwaiter {
	sigset_t set;
	pthread_t thread;
	volatile sig_atomic_t stop;
};

static void *sig_thread(void *arg)
{
	struct sigwaiter *w = arg;
	int sig;

	if (!sigwait(&w->set, &sig) && sig != SIGUSR2)
		w->stop = 1;
	return NULL;
}

static int sigwaiter_start(struct sigwaiter *w)
{
	w->stop = 0;
	sigemptyset(&w->set);
	sigaddset(&w->set, SIGINT);
	sigaddset(&w->set, SIGTERM);
	sigaddset(&w->set, SIGUSR2);	/* wakes the thread at the end */
	pthread_sigmask(SIG_BLOCK, &w->set, NULL);
	return pthread_create(&w->thread, NULL, sig_thread, w);
}

static void sigwaiter_stop(struct sigwaiter *w)
{
	pthread_kill(w->thread, SIGUSR2);
	pthread_join(w->thread, NULL);
	pthread_sigmask(SIG_UNBLOCK, &w->set, NULL);
}

static void print_table(const struct summary *s)
{
	double ipm = summary_ipm(s);

	printf("%s: ", s->driver);
	report_write_counts(s, stdout);
	printf(", %.2f injections/min\n\n" REPORT_TABLE_HEAD, ipm);
	report_write_table(s, stdout);
	if (s->clean_failed)
		printf("\n%u clean run(s) failed their workload with no alarm: "
		       "isolation alone broke the service there (results.jsonl "
		       "says how)\n", s->clean_failed);
}

static int write_reports(const char *dir)
{
	struct summary s;
	char err[CAMPAIGN_ERR];

	if (campaign_report(&dir, 1, dir, &s, err, sizeof(err))) {
		fprintf(stderr, "chariot campaign: %s\n", err);
		return 1;
	}
	print_table(&s);
	return 0;
}

int cmd_campaign(int argc, char **argv)
{
	struct campaign_opts o = { 0 };
	struct progress pr = { .tty = isatty(STDERR_FILENO) };
	struct sigwaiter sw;
	char err[CAMPAIGN_ERR];
	int r = parse_campaign(&o, argc, argv);

	if (r)
		return r > 0 ? 0 : EXIT_BAD_INPUT;
	if (sigwaiter_start(&sw)) {
		fputs("chariot campaign: cannot start the signal thread\n", stderr);
		return 1;
	}
	o.cfg.progress = show_progress;
	o.cfg.ctx = &pr;
	o.cfg.stop = &sw.stop;
	if (o.cfg.covered_sites && !sites_made(o.cfg.out))
		fprintf(stderr, "chariot campaign: first a coverage run of %s's "
			"workload (--sites covered; DIR/runs/cover.out)\n",
			o.cfg.w->driver);
	r = campaign_run(&o.cfg, err, sizeof(err));
	sigwaiter_stop(&sw);
	if (r == -EEXIST || r == -EINVAL) {
		fprintf(stderr, "chariot campaign: %s\n", err);
		return EXIT_BAD_INPUT;
	}
	if (r && r != -EINTR) {
		fprintf(stderr, "chariot campaign: %s\n", err[0] ? err : strerror(-r));
		return 1;
	}
	if (r == -EINTR)
		fprintf(stderr, "%schariot campaign: interrupted; `--resume` goes on\n",
			pr.tty ? "\n" : "");
	if (write_reports(o.cfg.out))
		return 1;
	return r == -EINTR ? EXIT_INTERRUPTED : 0;
}

int cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL, *dirs[256];
	int c, n = 0;
	struct summary s;
	char err[CAMPAIGN_ERR];

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(report_help, stdout);
			return 0;
		}
		if (c == '?') {
			cli_bad("report", "unknown or incomplete option '%s'", argv[optind - 1]);
			return EXIT_BAD_INPUT;
		}
		out = optarg;
	}
	for (; optind < argc && n < 256; optind++)
		dirs[n++] = argv[optind];
	if (!n || optind < argc) {
		cli_bad("report", "%s", "one to 256 campaign directories");
		return EXIT_BAD_INPUT;
	}
	c = campaign_report(dirs, n, out ? out : dirs[0], &s, err, sizeof(err));
	if (c) {
		fprintf(stderr, "chariot report: %s\n", err);
		return c == -ENOENT ? EXIT_BAD_INPUT : 1;
	}
	print_table(&s);
	return 0;
}
