/* runner.c - a campaign's child processes, J at a time. Each run's files
 * are DIR/runs/<name>.{json,out,err} (the report, the guest console, the
 * VMM's messages): the evidence behind each results.jsonl line. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "campaign/report.h"
#include "campaign/runner.h"
#include "campaign/sites.h"
#include "campaign/workload.h"
#include "vmm/boot.h"

#define MAX_JOBS	256
#define GUARD_S		120	/* grace past a run's own --timeout */
#define KILL_GRACE_MS	5000
#define READ_MAX	(64u << 20)	/* console and report read back */
#define CMD_MAX		8192

struct job {
	enum run_kind kind;
	struct plan_fault f;	/* f.index numbers clean runs too */
	pid_t pid;
	uint64_t t0_ms;
	double start;		/* monotonic ms */
	bool killed;		/* outlived its guard */
	bool cover;		/* the coverage run (--sites covered): an
				 * unprotected run with --cover, not
				 * recorded */
	long nat_site, nat_nsites;	/* isolated: its unprotected twin's
					 * mutation (0, 0: none) */
};

/* The runs still to make: isolated runs first (their fault's unprotected
 * run is done), then the rest in plan order. */
struct queue {
	struct job *todo;
	size_t n, head;
	struct job *prio;
	size_t np, phead;
};

struct runner {
	const struct campaign_cfg *cfg;
	int fd;			/* results.jsonl, O_APPEND */
	char cmd[CMD_MAX];	/* the workload's guest command */
	struct queue q;
	struct job active[MAX_JOBS];
	unsigned nactive;
	struct campaign_progress prog;
	double t_start;
	char *err;
	size_t errlen;
};

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static uint64_t epoch_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int fail(struct runner *r, int e, const char *what, const char *arg)
{
	snprintf(r->err, r->errlen, "%s %s: %s", what, arg, strerror(e));
	return -e;
}

static int push(struct job **a, size_t *n, const struct job *j)
{
	struct job *na = realloc(*a, (*n + 1) * sizeof(*na));

	if (!na)
		return -ENOMEM;
	na[*n] = *j;
	*a = na;
	(*n)++;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Spawning one run                                                    */

/* DIR/runs/<run>.<ext>: the run's report, console, stderr or disk. */
static void path_of(const struct runner *r, const struct job *j, const char *ext,
		    char *buf, size_t len)
{
	if (j->cover)
		snprintf(buf, len, "%s/runs/cover.%s", r->cfg->out, ext);
	else if (j->kind == RUN_CLEAN)
		snprintf(buf, len, "%s/runs/clean%05u.%s", r->cfg->out, j->f.index, ext);
	else
		snprintf(buf, len, "%s/runs/fault%05u-%s.%s", r->cfg->out,
			 j->f.index, run_kind_name(j->kind), ext);
}

unsigned campaign_run_timeout(const struct campaign_cfg *cfg, enum run_kind k)
{
	unsigned bound = cfg->w ? cfg->w->native_s : 0;

	return k == RUN_NATIVE && bound && bound < cfg->timeout_s ? bound
								  : cfg->timeout_s;
}

const char *campaign_run_append(enum run_kind k)
{
	return k == RUN_NATIVE ? BOOT_DEFAULT_APPEND " " WORKLOAD_NATIVE_APPEND
			       : NULL;
}

/* argv for `chariot run`; strings live in the caller's store. */
struct argv_buf {
	char *v[24];
	int n;
	char json[PATH_MAX + 8], disk[PATH_MAX + 8], inject[160], timeout[16];
	char snap[PATH_MAX + 8], sites[PATH_MAX + 8];
};

static void add(struct argv_buf *a, char *s)
{
	a->v[a->n++] = s;
}

static void build_argv(const struct runner *r, const struct job *j,
		       struct argv_buf *a)
{
	const struct campaign_cfg *c = r->cfg;

	a->n = 0;
	add(a, (char *)c->chariot);
	add(a, "run");
	path_of(r, j, "json", a->json, sizeof(a->json));
	add(a, "--json");
	add(a, a->json);
	snprintf(a->timeout, sizeof(a->timeout), "%u",
		 j->cover ? c->timeout_s : campaign_run_timeout(c, j->kind));
	add(a, "--timeout");
	add(a, a->timeout);
	if (c->w->disk_mib) {
		path_of(r, j, "img", a->disk, sizeof(a->disk));
		add(a, "--disk");
		add(a, a->disk);
	}
	if (c->w->net_pair) {
		add(a, "--net");
		add(a, "pair");
	}
	/* Runs up to init are the same for every fault: one snapshot for
	 * each kind of run (the same kernel command line and workload: a
	 * clean run's names no module to watch, an isolated one's does).
	 * The coverage run boots: it comes before the snapshots are made. */
	if (j->cover) {
		add(a, "--cover");
		add(a, (char *)c->w->driver);
	} else if (!c->fresh_boot) {
		snprintf(a->snap, sizeof(a->snap), "%s/snap/%s.snap", c->out,
			 run_kind_name(j->kind));
		add(a, "--snapshot");
		add(a, a->snap);
	}
	if (j->kind != RUN_NATIVE && !j->cover) {
		add(a, "--isolate");
		add(a, (char *)c->w->driver);
	}
	if (!j->cover && campaign_run_append(j->kind)) {
		add(a, "--append");
		add(a, (char *)campaign_run_append(j->kind));
	}
	if (j->kind != RUN_CLEAN && !j->cover) {
		snprintf(a->inject, sizeof(a->inject), "%s:%s:%llu", c->w->driver,
			 fault_type_name(j->f.type), (unsigned long long)j->f.seed);
		add(a, "--inject");
		add(a, a->inject);
		if (c->covered_sites) {
			snprintf(a->sites, sizeof(a->sites), "%s/%s", c->out,
				 SITES_FILE);
			add(a, "--sites");
			add(a, a->sites);
		}
	}
	add(a, "--");
	add(a, "sh");
	add(a, "-c");
	add(a, (char *)r->cmd);
	a->v[a->n] = NULL;
}

/* A fresh sparse disk image for the run, and no stale report. */
static int prepare(const struct runner *r, const struct job *j)
{
	char p[PATH_MAX + 8];
	int fd, e = 0;

	path_of(r, j, "json", p, sizeof(p));
	unlink(p);
	if (!r->cfg->w->disk_mib)
		return 0;
	path_of(r, j, "img", p, sizeof(p));
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)r->cfg->w->disk_mib << 20))
		e = -errno;
	close(fd);
	return e;
}

/* In the child: own process group (a terminal's Ctrl-C reaches the
 * campaign, which then stops the runs itself), files for the output. */
static void exec_child(const struct runner *r, const struct job *j,
		       struct argv_buf *a)
{
	char p[PATH_MAX + 8];
	int fd;

	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);	/* the CLI blocks some */
	setpgid(0, 0);
	fd = open("/dev/null", O_RDONLY);
	if (fd >= 0)
		dup2(fd, STDIN_FILENO);
	path_of(r, j, "out", p, sizeof(p));
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0)
		dup2(fd, STDOUT_FILENO);
	path_of(r, j, "err", p, sizeof(p));
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0)
		dup2(fd, STDERR_FILENO);
	execv(a->v[0], a->v);
	/* only async-signal-safe calls here: the parent may have threads */
	if (write(STDERR_FILENO, "chariot campaign: cannot exec chariot\n", 38) < 0)
		_exit(126);
	_exit(127);
}

static int spawn(struct runner *r, struct job *j)
{
	struct argv_buf a;
	int e;

	e = prepare(r, j);
	if (e)
		return fail(r, -e, "cannot create a disk image in", r->cfg->out);
	build_argv(r, j, &a);
	j->t0_ms = epoch_ms();
	j->start = mono_ms();
	j->killed = false;
	j->pid = fork();
	if (j->pid < 0)
		return fail(r, errno, "cannot fork in", r->cfg->out);
	if (!j->pid)
		exec_child(r, j, &a);
	setpgid(j->pid, j->pid);	/* as the child does: no race */
	return 0;
}

/* ------------------------------------------------------------------ */
/* Recording one run                                                   */

char *campaign_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	struct stat st;
	size_t cap = 0;
	char *buf;

	*len = 0;
	if (f && !fstat(fileno(f), &st))
		cap = (size_t)st.st_size < READ_MAX ? (size_t)st.st_size : READ_MAX;
	buf = malloc(cap + 1);
	if (buf && f)
		*len = fread(buf, 1, cap, f);
	if (f)
		fclose(f);
	if (buf)
		buf[*len] = '\0';
	return buf;
}

static void base_result(const struct runner *r, const struct job *j,
			struct run_result *res)
{
	memset(res, 0, sizeof(*res));
	snprintf(res->driver, sizeof(res->driver), "%s", r->cfg->w->driver);
	res->campaign_seed = r->cfg->seed;
	res->kind = j->kind;
	res->index = j->f.index;
	res->type = j->kind == RUN_CLEAN ? -1 : (int)j->f.type;
	res->seed = j->kind == RUN_CLEAN ? 0 : j->f.seed;
	res->status = -1;
	res->applied = res->activated = -1;
	res->site = res->nsites = -1;
}

/* Classify a finished run from its files. */
static void judge(const struct runner *r, const struct job *j,
		  struct run_result *res)
{
	char p[PATH_MAX + 8];
	struct run_evidence ev;
	struct verdict v;
	size_t rlen = 0, clen = 0;
	char *report, *console;

	path_of(r, j, "json", p, sizeof(p));
	report = campaign_read_file(p, &rlen);
	path_of(r, j, "out", p, sizeof(p));
	console = campaign_read_file(p, &clen);
	classify_run(j->kind, report, rlen, console, clen, &ev, &v);
	free(report);
	free(console);
	results_set_evidence(res, &ev, &v);
}

static int record(struct runner *r, const struct run_result *res)
{
	int e = results_append(r->fd, res);

	if (e)
		return fail(r, -e, "cannot write", RESULTS_FILE);
	r->prog.done++;
	r->prog.last = res;
	r->prog.elapsed_ms = mono_ms() - r->t_start;
	if (r->cfg->progress)
		r->cfg->progress(r->cfg->ctx, &r->prog);
	return 0;
}

static bool wants_isolated(enum run_class native)
{
	return native == CLS_CRASH || native == CLS_NONFATAL || native == CLS_SILENT;
}

/* After an unprotected run: its isolated twin is queued first, or, for a
 * fault that never activated (or a run that failed), recorded as skipped:
 * no class of the paper counts it. */
static int follow_up(struct runner *r, const struct job *j,
		     const struct run_result *nat)
{
	struct job iso = *j;
	struct run_result skip;

	iso.kind = RUN_ISOLATED;
	iso.nat_site = nat->site;
	iso.nat_nsites = nat->nsites;
	if (wants_isolated(nat->cls))
		return push(&r->q.prio, &r->q.np, &iso);
	base_result(r, &iso, &skip);
	skip.cls = CLS_SKIPPED;
	snprintf(skip.reason, sizeof(skip.reason), "unprotected run was %s",
		 run_class_name(nat->cls));
	skip.t0_ms = skip.t1_ms = epoch_ms();
	return record(r, &skip);
}

/* `chariot run` that exits 2 (bad input) or 127 (not started) without a
 * report ran nothing, and the next runs would not either: the campaign
 * stops with its first line of stderr rather than record a column of
 * errors. True when it did. */
static bool refused(struct runner *r, const struct job *j, int status,
		    const struct run_result *res)
{
	char p[PATH_MAX + 8], line[160] = "";
	FILE *f;

	if (j->killed || !WIFEXITED(status) || res->end[0] ||
	    (WEXITSTATUS(status) != 2 && WEXITSTATUS(status) != 127))
		return false;
	path_of(r, j, "err", p, sizeof(p));
	f = fopen(p, "r");
	if (f) {
		if (fgets(line, sizeof(line), f))
			line[strcspn(line, "\n")] = '\0';
		fclose(f);
	}
	snprintf(r->err, r->errlen, "chariot run refused to run (exit %d): %s "
		 "(in %s)", WEXITSTATUS(status), line, p);
	return true;
}

/* An isolated run whose mutation is not its unprotected twin's (another
 * site, or as many sites counted differently: the text it was chosen from
 * differed) compares two faults: an error, not a class.  A probed text
 * once made it so for 4 of 9 of virtio_blk's faults. */
static bool other_fault(const struct job *j, struct run_result *res)
{
	if (j->kind != RUN_ISOLATED || res->applied <= 0 || j->nat_nsites <= 0 ||
	    (res->site == j->nat_site && res->nsites == j->nat_nsites))
		return false;
	res->cls = CLS_ERROR;
	snprintf(res->reason, sizeof(res->reason),
		 "another fault than the unprotected run's (site %ld of %ld, "
		 "not %ld of %ld): not compared", res->site, res->nsites,
		 j->nat_site, j->nat_nsites);
	return true;
}

static int finish(struct runner *r, struct job *j, int status)
{
	struct run_result res;
	char p[PATH_MAX + 8];

	base_result(r, j, &res);
	judge(r, j, &res);
	if (refused(r, j, status, &res))
		return -1;
	res.t0_ms = j->t0_ms;
	res.t1_ms = epoch_ms();
	other_fault(j, &res);
	if (j->killed) {
		res.cls = CLS_ERROR;
		snprintf(res.reason, sizeof(res.reason),
			 "chariot run outlived its --timeout by %d s: killed", GUARD_S);
	}
	path_of(r, j, "img", p, sizeof(p));
	unlink(p);
	if (record(r, &res))
		return -1;
	return j->kind == RUN_NATIVE ? follow_up(r, j, &res) : 0;
}

/* ------------------------------------------------------------------ */
/* The loop                                                            */

static struct job *next_job(struct queue *q)
{
	if (q->phead < q->np)
		return &q->prio[q->phead++];
	if (q->head < q->n)
		return &q->todo[q->head++];
	return NULL;
}

/* A run still going past its own --timeout and the grace is killed. */
static void guard(const struct runner *r, struct job *j)
{
	if (!j->killed && mono_ms() - j->start >
	    (r->cfg->timeout_s + GUARD_S) * 1e3) {
		kill(-j->pid, SIGKILL);
		j->killed = true;
	}
}

static int reap(struct runner *r)
{
	for (unsigned i = 0; i < r->nactive;) {
		struct job *j = &r->active[i];
		int st;
		pid_t p = waitpid(j->pid, &st, WNOHANG);

		if (p == 0) {
			guard(r, j);
			i++;
			continue;
		}
		if (p < 0 && errno == EINTR)
			continue;
		struct job done = *j;

		r->active[i] = r->active[--r->nactive];
		if (finish(r, &done, p < 0 ? 0 : st))
			return -1;
	}
	return 0;
}

/* Ctrl-C or SIGTERM: the runs under way are killed and not recorded. */
static void stop_all(struct runner *r)
{
	double t = mono_ms();
	char p[PATH_MAX + 8];

	for (unsigned i = 0; i < r->nactive; i++)
		kill(-r->active[i].pid, SIGTERM);
	while (r->nactive) {
		struct job *j = &r->active[r->nactive - 1];

		if (mono_ms() - t > KILL_GRACE_MS)
			kill(-j->pid, SIGKILL);
		if (waitpid(j->pid, NULL, WNOHANG) == 0) {
			usleep(20000);
			continue;
		}
		path_of(r, j, "img", p, sizeof(p));
		unlink(p);
		r->nactive--;
	}
}

static int loop(struct runner *r)
{
	unsigned jobs = r->cfg->jobs < MAX_JOBS ? r->cfg->jobs : MAX_JOBS;

	for (;;) {
		struct job *j;

		if (r->cfg->stop && *r->cfg->stop) {
			stop_all(r);
			return -EINTR;
		}
		while (r->nactive < jobs && (j = next_job(&r->q))) {
			r->active[r->nactive] = *j;
			if (spawn(r, &r->active[r->nactive])) {
				stop_all(r);
				return -EIO;
			}
			r->nactive++;
		}
		if (!r->nactive)
			return 0;
		if (reap(r)) {
			stop_all(r);
			return -EIO;
		}
		usleep(50000);
	}
}

/* The coverage run, to its end (the faults are drawn from what it finds):
 * polled, so a Ctrl-C (*cfg->stop) stops it as it stops the runs. */
static int run_cover(struct runner *r)
{
	struct job *j = &r->active[0];
	char p[PATH_MAX + 8];
	int st = 0;

	*j = (struct job){ .kind = RUN_NATIVE, .cover = true };
	if (spawn(r, j))
		return -EIO;
	r->nactive = 1;
	for (;;) {
		pid_t w = waitpid(j->pid, &st, WNOHANG);

		if (w == j->pid)
			break;
		if (w < 0 && errno != EINTR) {
			int e = errno;

			stop_all(r);
			return fail(r, e, "cannot wait for the coverage run in",
				    r->cfg->out);
		}
		if (r->cfg->stop && *r->cfg->stop) {
			stop_all(r);
			return -EINTR;
		}
		guard(r, j);
		usleep(100 * 1000);
	}
	r->nactive = 0;
	path_of(r, j, "img", p, sizeof(p));
	unlink(p);
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		snprintf(r->err, r->errlen, "the coverage run of %s failed "
			 "(exit %d; its console: %s/runs/cover.out)",
			 r->cfg->w->driver, WIFEXITED(st) ? WEXITSTATUS(st) :
			 128 + WTERMSIG(st), r->cfg->out);
		return -EIO;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Set-up: the plan, minus what results.jsonl already holds            */

static int check_resumed(struct runner *r, const struct run_result *res)
{
	const struct campaign_cfg *c = r->cfg;
	struct plan_fault f;

	if (strcmp(res->driver, c->w->driver) || res->campaign_seed != c->seed)
		goto other;
	if (res->kind == RUN_CLEAN)
		return 0;
	plan_fault(c->seed, &c->types, res->index, &f);
	if (res->type == (int)f.type && res->seed == f.seed)
		return 0;
other:
	snprintf(r->err, r->errlen, "%s/%s holds another campaign (%s seed %llu, "
		 "run %s %u): not this one's to resume", c->out, RESULTS_FILE,
		 res->driver, (unsigned long long)res->campaign_seed,
		 run_kind_name(res->kind), res->index);
	return -EINVAL;
}

static int plan_faults(struct runner *r, const struct run_result *done, size_t nd)
{
	const struct campaign_cfg *c = r->cfg;
	int e = 0;

	for (unsigned i = 0; i < c->faults && !e; i++) {
		struct job j = { .kind = RUN_NATIVE };
		const struct run_result *nat;

		if (!plan_in_shard(i, c->shard, c->nshards))
			continue;
		r->prog.total += 2;
		plan_fault(c->seed, &c->types, i, &j.f);
		nat = results_find(done, nd, RUN_NATIVE, i);
		if (!nat) {
			e = push(&r->q.todo, &r->q.n, &j);
			continue;
		}
		r->prog.done++;
		if (results_find(done, nd, RUN_ISOLATED, i))
			r->prog.done++;
		else
			e = follow_up(r, &j, nat);
	}
	return e;
}

static int plan_cleans(struct runner *r, const struct run_result *done, size_t nd)
{
	const struct campaign_cfg *c = r->cfg;
	int e = 0;

	for (unsigned k = 0; k < c->clean_runs && !e; k++) {
		struct job j = { .kind = RUN_CLEAN, .f.index = k };

		if (!plan_in_shard(k, c->shard, c->nshards))
			continue;
		r->prog.total++;
		if (results_find(done, nd, RUN_CLEAN, k))
			r->prog.done++;
		else
			e = push(&r->q.todo, &r->q.n, &j);
	}
	return e;
}

static int load_done(struct runner *r, const char *path, struct run_result **done,
		     size_t *nd)
{
	size_t torn;
	int e = results_load(path, true, done, nd, &torn);

	if (e == -ENOENT)
		return 0;
	if (e)
		return fail(r, -e, "cannot read", path);
	if (*nd && !r->cfg->resume) {
		snprintf(r->err, r->errlen, "%s already holds a campaign's results: "
			 "--resume to go on with it, or another --out", path);
		return -EEXIST;
	}
	for (size_t i = 0; i < *nd; i++)
		if ((e = check_resumed(r, &(*done)[i])))
			return e;
	return 0;
}

static int open_out(struct runner *r, char *path, size_t len)
{
	char runs[PATH_MAX];

	if (mkdir(r->cfg->out, 0755) && errno != EEXIST)
		return fail(r, errno, "cannot create", r->cfg->out);
	snprintf(runs, sizeof(runs), "%s/runs", r->cfg->out);
	if (mkdir(runs, 0755) && errno != EEXIST)
		return fail(r, errno, "cannot create", runs);
	snprintf(runs, sizeof(runs), "%s/snap", r->cfg->out);
	if (!r->cfg->fresh_boot && mkdir(runs, 0755) && errno != EEXIST)
		return fail(r, errno, "cannot create", runs);
	snprintf(path, len, "%s/%s", r->cfg->out, RESULTS_FILE);
	return 0;
}

static int setup(struct runner *r)
{
	char path[PATH_MAX];
	struct run_result *done = NULL;
	size_t nd = 0;
	int e;

	if (workload_command(r->cfg->w, r->cmd, sizeof(r->cmd)))
		return -ENOSPC;
	if ((e = open_out(r, path, sizeof(path))) ||
	    (e = load_done(r, path, &done, &nd)))
		goto out;
	/* Made before (a --resume): as it is. */
	if (r->cfg->covered_sites && !sites_made(r->cfg->out)) {
		long n;

		e = run_cover(r);
		if (e)
			goto out;
		n = sites_write(r->cfg->out, r->cfg->w->driver, r->err,
				r->errlen);
		if (n < 0) {
			e = (int)n;
			goto out;
		}
	}
	r->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (r->fd < 0) {
		e = fail(r, errno, "cannot open", path);
		goto out;
	}
	r->t_start = mono_ms();
	e = plan_faults(r, done, nd);
	if (!e)
		e = plan_cleans(r, done, nd);
	r->prog.resumed = nd ? r->prog.done : 0;
out:
	free(done);
	return e;
}

int campaign_run(const struct campaign_cfg *cfg, char *err, size_t errlen)
{
	struct runner *r = calloc(1, sizeof(*r));
	int e;

	if (!r)
		return -ENOMEM;
	r->cfg = cfg;
	r->err = err;
	r->errlen = errlen;
	r->fd = -1;
	err[0] = '\0';
	e = setup(r);
	if (!e)
		e = loop(r);
	if (r->fd >= 0)
		close(r->fd);
	free(r->q.todo);
	free(r->q.prio);
	free(r);
	return e;
}

/* ------------------------------------------------------------------ */
/* Reports                                                             */

static int write_file(const char *dir, const char *name, const struct summary *s,
		      int (*fn)(const struct summary *, FILE *), char *err,
		      size_t errlen)
{
	char path[PATH_MAX];
	FILE *f;
	int e;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f) {
		e = -errno;
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(-e));
		return e;
	}
	e = fn(s, f);
	if (fclose(f) && !e)
		e = -EIO;
	if (e)
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(-e));
	return e;
}

int campaign_report(const char *const *dirs, int ndirs, const char *out,
		    struct summary *s, char *err, size_t errlen)
{
	struct run_result *rs = NULL;
	size_t n = 0, torn;
	char path[PATH_MAX];
	int e = 0;

	for (int i = 0; i < ndirs && !e; i++) {
		snprintf(path, sizeof(path), "%s/%s", dirs[i], RESULTS_FILE);
		e = results_load(path, false, &rs, &n, &torn);
		if (e)
			snprintf(err, errlen, "cannot read %s: %s", path, strerror(-e));
	}
	if (!e)
		e = summary_build(rs, n, s);
	free(rs);
	if (!e && mkdir(out, 0755) && errno != EEXIST) {
		e = -errno;
		snprintf(err, errlen, "cannot create %s: %s", out, strerror(-e));
	}
	if (!e)
		e = write_file(out, "summary.json", s, summary_write_json, err, errlen);
	if (!e)
		e = write_file(out, REPORT_MD, s, report_write_md, err, errlen);
	if (!e)
		e = write_file(out, REPORT_SVG, s, report_write_svg, err, errlen);
	return e;
}
