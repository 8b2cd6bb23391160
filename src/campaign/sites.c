/* sites.c - the coverage run of a campaign (sites.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "campaign/jsonr.h"
#include "campaign/sites.h"

long sites_from_report(const char *json, size_t len, FILE *out)
{
	const struct jnode *cover, *n;
	struct jdoc d;
	long count = 0;

	if (jsonr_parse(json, len, &d))
		return -EINVAL;
	cover = jsonr_get(&d, jsonr_get(&d, jsonr_root(&d), "inject"), "cover");
	n = cover ? jsonr_get(&d, cover, "sites") : NULL;
	if (!n || n->type != J_ARR) {
		jsonr_free(&d);
		return -EINVAL;
	}
	for (n = jsonr_first(&d, n); n; n = jsonr_next(&d, n)) {
		if (n->type != J_NUM || n->num < 0) {
			jsonr_free(&d);
			return -EINVAL;
		}
		fprintf(out, "%llu\n", (unsigned long long)n->num);
		count++;
	}
	jsonr_free(&d);
	return count ? count : -ENOENT;
}

/* `chariot run --cover DRIVER` with the workload, to its end. */
static int run_cover(const struct campaign_cfg *c, const char *cmd,
		     const char *json, char *err, size_t errlen)
{
	char out[PATH_MAX + 16], disk[PATH_MAX + 16], timeout[16];
	char *v[20];
	int n = 0, st = 0;
	pid_t pid;

	snprintf(timeout, sizeof(timeout), "%u", c->timeout_s);
	snprintf(disk, sizeof(disk), "%s/runs/cover.img", c->out);
	v[n++] = (char *)c->chariot;
	v[n++] = "run";
	v[n++] = "--json";
	v[n++] = (char *)json;
	v[n++] = "--timeout";
	v[n++] = timeout;
	if (c->w->disk_mib) {
		int fd = open(disk, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (fd < 0 || ftruncate(fd, (off_t)c->w->disk_mib << 20)) {
			snprintf(err, errlen, "cannot make %s: %s", disk,
				 strerror(errno));
			if (fd >= 0)
				close(fd);
			return -EIO;
		}
		close(fd);
		v[n++] = "--disk";
		v[n++] = disk;
	}
	if (c->w->net_pair) {
		v[n++] = "--net";
		v[n++] = "pair";
	}
	v[n++] = "--cover";
	v[n++] = (char *)c->w->driver;
	v[n++] = "--";
	v[n++] = "sh";
	v[n++] = "-c";
	v[n++] = (char *)cmd;
	v[n] = NULL;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		sigset_t none;
		int fd;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setpgid(0, 0);
		snprintf(out, sizeof(out), "%s/runs/cover.out", c->out);
		fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0)
			dup2(fd, 1);
		snprintf(out, sizeof(out), "%s/runs/cover.err", c->out);
		fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0)
			dup2(fd, 2);
		execv(c->chariot, v);
		_exit(127);
	}
	/* Polled: the campaign's signals are blocked here (its waiter
	 * thread sets *stop), and the run has its own process group. */
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return -errno;
		if (c->stop && *c->stop) {
			kill(-pid, SIGTERM);
			waitpid(pid, &st, 0);
			unlink(disk);
			return -EINTR;
		}
		usleep(100 * 1000);
	}
	unlink(disk);
	if (c->stop && *c->stop)
		return -EINTR;
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		snprintf(err, errlen, "the coverage run of %s failed (exit %d; "
			 "its console: %s/runs/cover.out)", c->w->driver,
			 WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st),
			 c->out);
		return -EIO;
	}
	return 0;
}

bool sites_made(const char *dir)
{
	char path[PATH_MAX + 16];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%s", dir, SITES_FILE);
	return !stat(path, &sb);
}

long sites_prepare(const struct campaign_cfg *cfg, const char *cmd,
		   char *err, size_t errlen)
{
	char path[PATH_MAX + 16], tmp[PATH_MAX + 24], json[PATH_MAX + 24];
	size_t len = 0;
	char *text;
	long n;
	FILE *f;
	int e;

	if (sites_made(cfg->out))
		return 1;	/* made before (--resume): as it is */
	snprintf(path, sizeof(path), "%s/%s", cfg->out, SITES_FILE);
	snprintf(json, sizeof(json), "%s/runs/cover.json", cfg->out);
	e = run_cover(cfg, cmd, json, err, errlen);
	if (e)
		return e;
	text = campaign_read_file(json, &len);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = text ? fopen(tmp, "w") : NULL;
	if (!f) {
		snprintf(err, errlen, "cannot read %s or write %s", json, tmp);
		free(text);
		return -EIO;
	}
	n = sites_from_report(text, len, f);
	free(text);
	if (fclose(f) && n >= 0)
		n = -EIO;
	if (n >= 0 && rename(tmp, path))
		n = -errno;
	if (n < 0) {
		unlink(tmp);
		if (n == -ENOENT)
			snprintf(err, errlen, "the coverage run ran none of "
				 "%s's code (%s)", cfg->w->driver, json);
		else
			snprintf(err, errlen, "no coverage in the report of "
				 "the coverage run (%s)", json);
	}
	return n;
}
