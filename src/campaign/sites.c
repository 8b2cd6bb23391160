/* sites.c - the sites a coverage run found (sites.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

bool sites_made(const char *dir)
{
	char path[PATH_MAX + 16];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%s", dir, SITES_FILE);
	return !stat(path, &sb);
}

long sites_write(const char *dir, const char *driver, char *err,
		 size_t errlen)
{
	char path[PATH_MAX + 16], tmp[PATH_MAX + 24], json[PATH_MAX + 24];
	size_t len = 0;
	char *text;
	long n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, SITES_FILE);
	snprintf(json, sizeof(json), "%s/%s", dir, SITES_COVER_REPORT);
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
				 "%s's code (%s)", driver, json);
		else
			snprintf(err, errlen, "no coverage in the report of "
				 "the coverage run (%s)", json);
	}
	return n;
}
