/* plan.c - deterministic fault plan (splitmix64 over the campaign seed). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "campaign/plan.h"

#define GOLDEN	0x9e3779b97f4a7c15ull

uint64_t plan_mix(uint64_t x)
{
	x += GOLDEN;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static int add_type(struct plan_types *ts, const char *name, size_t len,
		    char *bad, size_t badlen)
{
	char buf[64];
	int t;

	snprintf(bad, badlen, "%.*s", (int)len, name);
	if (len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, name, len);
	buf[len] = '\0';
	t = fault_type_parse(buf);
	if (t < 0)
		return -EINVAL;
	for (unsigned i = 0; i < ts->n; i++)
		if (ts->t[i] == (enum fault_type)t)
			return -EINVAL;
	ts->t[ts->n++] = t;
	return 0;
}

int plan_parse_types(const char *list, struct plan_types *ts, char *bad,
		     size_t badlen)
{
	const char *start = list;

	ts->n = 0;
	if (!strcmp(list, "all")) {
		for (int t = 0; t < FAULT_NTYPES; t++)
			ts->t[ts->n++] = t;
		return 0;
	}
	for (const char *p = list;; p++) {
		if (*p && *p != ',')
			continue;
		if (add_type(ts, start, (size_t)(p - start), bad, badlen))
			return -EINVAL;
		if (!*p)
			return 0;
		start = p + 1;
	}
}

void plan_fault(uint64_t s, const struct plan_types *ts, unsigned i,
		struct plan_fault *out)
{
	/* Two independent draws per fault: one picks the type, one (kept to
	 * 32 bits so a JSON number holds it exactly) the injector's seed. */
	uint64_t a = plan_mix(s ^ plan_mix(i));
	uint64_t b = plan_mix(a);

	out->index = i;
	out->type = ts->t[a % ts->n];
	out->seed = b >> 32;
}
