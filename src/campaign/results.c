/* results.c - results.jsonl lines, written crash-safely and read back. */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "campaign/jsonr.h"
#include "campaign/results.h"
#include "inject/mutate.h"
#include "vmm/json.h"

static void put_tri(FILE *f, const char *key, int v)
{
	fprintf(f, ",\"%s\":%s", key, v < 0 ? "null" : v ? "true" : "false");
}

void results_format(const struct run_result *r, FILE *f)
{
	fputs("{\"driver\":", f);
	json_string(f, r->driver);
	fprintf(f, ",\"campaign_seed\":%" PRIu64 ",\"run\":\"%s\",\"index\":%u",
		r->campaign_seed, run_kind_name(r->kind), r->index);
	fputs(",\"type\":", f);
	json_string(f, r->type >= 0 ? fault_type_name(r->type) : NULL);
	fprintf(f, ",\"seed\":%" PRIu64 ",\"class\":\"%s\"", r->seed,
		run_class_name(r->cls));
	fprintf(f, ",\"detected\":%s,\"restored\":%s",
		r->detected ? "true" : "false", r->restored ? "true" : "false");
	put_tri(f, "applied", r->applied);
	put_tri(f, "activated", r->activated);
	fputs(",\"end\":", f);
	json_string(f, r->end);
	if (r->status >= 0)
		fprintf(f, ",\"status\":%d", r->status);
	else
		fputs(",\"status\":null", f);
	fprintf(f, ",\"wall_ms\":%.1f,\"t0_ms\":%" PRIu64 ",\"t1_ms\":%" PRIu64
		",\"site\":%ld,\"nsites\":%ld", r->wall_ms, r->t0_ms, r->t1_ms,
		r->site, r->nsites);
	fputs(",\"reason\":", f);
	json_string(f, r->reason);
	fputs(",\"what\":", f);
	json_string(f, r->what);
	fputs("}\n", f);
}

int results_append(int fd, const struct run_result *r)
{
	char *buf = NULL;
	size_t len = 0, off = 0;
	FILE *f = open_memstream(&buf, &len);
	int err = 0;

	if (!f)
		return -errno;
	results_format(r, f);
	if (fclose(f))
		return -ENOMEM;
	/* One write: a line is either whole or torn at the end of the file. */
	while (off < len && !err) {
		ssize_t w = write(fd, buf + off, len - off);

		if (w < 0 && errno != EINTR)
			err = -errno;
		else if (w > 0)
			off += (size_t)w;
	}
	free(buf);
	if (!err && fsync(fd))
		err = -errno;
	return err;
}

static void copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

static int parse_fields(const struct jdoc *d, const struct jnode *o,
			struct run_result *r)
{
	const char *type = jsonr_str(jsonr_get(d, o, "type"), NULL);
	int kind = run_kind_parse(jsonr_str(jsonr_get(d, o, "run"), NULL));
	int cls = run_class_parse(jsonr_str(jsonr_get(d, o, "class"), NULL));

	if (kind < 0 || cls < 0 || !jsonr_str(jsonr_get(d, o, "driver"), NULL))
		return -EINVAL;
	r->kind = kind;
	r->cls = cls;
	r->type = type ? fault_type_parse(type) : -1;
	if (type && r->type < 0)
		return -EINVAL;
	copy(r->driver, sizeof(r->driver), jsonr_str(jsonr_get(d, o, "driver"), ""));
	r->campaign_seed = jsonr_u64(jsonr_get(d, o, "campaign_seed"), 0);
	r->index = (unsigned)jsonr_u64(jsonr_get(d, o, "index"), 0);
	r->seed = jsonr_u64(jsonr_get(d, o, "seed"), 0);
	r->detected = jsonr_bool(jsonr_get(d, o, "detected"), 0) > 0;
	r->restored = jsonr_bool(jsonr_get(d, o, "restored"), 0) > 0;
	r->applied = jsonr_bool(jsonr_get(d, o, "applied"), -1);
	r->activated = jsonr_bool(jsonr_get(d, o, "activated"), -1);
	copy(r->end, sizeof(r->end), jsonr_str(jsonr_get(d, o, "end"), ""));
	r->status = jsonr_int(jsonr_get(d, o, "status"), INT_MIN, INT_MAX, -1);
	r->wall_ms = jsonr_num(jsonr_get(d, o, "wall_ms"), 0);
	r->t0_ms = jsonr_u64(jsonr_get(d, o, "t0_ms"), 0);
	r->t1_ms = jsonr_u64(jsonr_get(d, o, "t1_ms"), 0);
	r->site = jsonr_int(jsonr_get(d, o, "site"), LONG_MIN, LONG_MAX, -1);
	r->nsites = jsonr_int(jsonr_get(d, o, "nsites"), LONG_MIN, LONG_MAX, -1);
	copy(r->reason, sizeof(r->reason), jsonr_str(jsonr_get(d, o, "reason"), ""));
	copy(r->what, sizeof(r->what), jsonr_str(jsonr_get(d, o, "what"), ""));
	return 0;
}

int results_parse_line(const char *line, size_t len, struct run_result *r)
{
	struct jdoc d;
	int err;

	memset(r, 0, sizeof(*r));
	if (jsonr_parse(line, len, &d))
		return -EINVAL;
	err = jsonr_root(&d)->type == J_OBJ ? parse_fields(&d, jsonr_root(&d), r)
					    : -EINVAL;
	jsonr_free(&d);
	return err;
}

static int read_all(const char *path, char **buf, size_t *len)
{
	FILE *f = fopen(path, "r");
	char chunk[65536];
	FILE *m;
	size_t got;

	if (!f)
		return -errno;
	m = open_memstream(buf, len);
	if (!m) {
		fclose(f);
		return -ENOMEM;
	}
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, got, m);
	got = ferror(f);
	fclose(f);
	if (fclose(m) || got) {
		free(*buf);
		return -EIO;
	}
	return 0;
}

static int push(struct run_result **out, size_t *n, const struct run_result *r)
{
	struct run_result *nr = realloc(*out, (*n + 1) * sizeof(*nr));

	if (!nr)
		return -ENOMEM;
	nr[*n] = *r;
	*out = nr;
	(*n)++;
	return 0;
}

int results_load(const char *path, bool repair, struct run_result **out,
		 size_t *n, size_t *skipped)
{
	char *buf;
	size_t len, off = 0, good_end = 0;
	int err = read_all(path, &buf, &len);

	*skipped = 0;
	if (err)
		return err;
	while (off < len && !err) {
		char *nl = memchr(buf + off, '\n', len - off);
		size_t ll = nl ? (size_t)(nl - (buf + off)) : len - off;
		struct run_result r;

		if (nl && !results_parse_line(buf + off, ll, &r)) {
			err = push(out, n, &r);
			good_end = off + ll + 1;
		} else if (ll) {
			(*skipped)++;	/* torn (killed mid-write) or garbled */
		}
		off += ll + (nl ? 1 : 0);
	}
	free(buf);
	if (!err && repair && good_end < len && truncate(path, (off_t)good_end))
		err = -errno;
	return err;
}

const struct run_result *results_find(const struct run_result *rs, size_t n,
				      enum run_kind kind, unsigned index)
{
	for (size_t i = n; i-- > 0;)
		if (rs[i].kind == kind && rs[i].index == index)
			return &rs[i];
	return NULL;
}

void results_set_evidence(struct run_result *res, const struct run_evidence *ev,
			  const struct verdict *v)
{
	res->cls = v->cls;
	res->detected = v->detected;
	res->restored = v->restored;
	snprintf(res->reason, sizeof(res->reason), "%s", v->reason);
	snprintf(res->end, sizeof(res->end), "%s", ev->end);
	res->status = ev->status;
	res->wall_ms = ev->wall_ms;
	res->applied = ev->applied;
	res->activated = ev->activated;
	res->site = ev->site;
	res->nsites = ev->nsites;
	snprintf(res->what, sizeof(res->what), "%s", ev->what);
}
