/* domain.c - isolation domains, trusted code and per-vCPU entry stacks.
 * Lookups by RIP scan the few ranges there are (at most
 * ISO_MAX_DOMAINS * DOMAIN_MAX_CODE + ISO_MAX_TRUSTED): cheaper than any
 * index at that size, and a trap costs microseconds anyway. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "iso/domain.h"

int domain_module_name(const char *s, size_t len, char out[DOMAIN_NAME_LEN])
{
	if (!len || len >= DOMAIN_NAME_LEN)
		return -ENAMETOOLONG;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];

		if (ch == '-')
			ch = '_';
		else if (ch != '_' && (ch < '0' || ch > '9') &&
			 (ch < 'a' || ch > 'z') && (ch < 'A' || ch > 'Z'))
			return -EINVAL;
		out[i] = ch;
	}
	out[len] = '\0';
	return 0;
}

#define CLOSE_BATCH	32

static bool range_ok(uint64_t start, uint64_t len)
{
	return len && len <= UINT64_MAX - start;
}

static bool in_range(const struct iso_range *r, uint64_t a)
{
	return a >= r->start && a < r->end;
}

static bool overlaps(const struct iso_range *r, uint64_t start, uint64_t end)
{
	return start < r->end && r->start < end;
}

/* Does [start, end) overlap a domain's code, or (with trusted) trusted
 * code? */
static bool code_taken(const struct iso *iso, uint64_t start, uint64_t end,
		       bool trusted)
{
	for (unsigned int i = 0; i < ISO_MAX_DOMAINS; i++) {
		const struct domain *d = &iso->dom[i];

		for (unsigned int c = 0; d->live && c < d->ncode; c++)
			if (overlaps(&d->code[c], start, end))
				return true;
	}
	for (unsigned int t = 0; trusted && t < iso->ntrusted; t++)
		if (overlaps(&iso->trusted[t], start, end))
			return true;
	return false;
}

static void protect(struct iso *iso, const struct domain *d, uint64_t page,
		    bool writable)
{
	if (iso->cfg.protect)
		iso->cfg.protect(iso->cfg.opaque, d->id, page, writable);
}

/* Close d's open pages touching [start, start + len) (len 0: all). */
static void close_pages(struct iso *iso, struct domain *d, uint64_t start,
			uint64_t len)
{
	uint64_t pages[CLOSE_BATCH];
	uint32_t n;

	while ((n = pagecache_close_range(&d->pages, start, len, pages,
					  CLOSE_BATCH)))
		for (uint32_t i = 0; i < n; i++)
			protect(iso, d, pages[i], false);
}

int iso_init(struct iso *iso, const struct iso_config *cfg)
{
	memset(iso, 0, sizeof(*iso));
	if (!cfg->vcpus || cfg->vcpus > ISO_MAX_VCPUS || !cfg->act_entries)
		return -EINVAL;
	iso->cfg = *cfg;
	return 0;
}

void iso_destroy(struct iso *iso)
{
	for (unsigned int i = 0; i < ISO_MAX_DOMAINS; i++)
		iso_domain_destroy(iso, i);
}

struct domain *iso_domain(struct iso *iso, unsigned int id)
{
	return id < ISO_MAX_DOMAINS && iso->dom[id].live ? &iso->dom[id] : NULL;
}

static int set_name(struct domain *d, const char *name)
{
	if (!name) {
		snprintf(d->name, sizeof(d->name), "domain%u", d->id);
		return 0;
	}
	if (!*name || strlen(name) >= sizeof(d->name))
		return -EINVAL;
	strcpy(d->name, name);
	return 0;
}

int iso_domain_create(struct iso *iso, unsigned int id, const char *name,
		      uint64_t name_id, uint64_t code, uint64_t len)
{
	struct domain *d;
	int err;

	if (id >= ISO_MAX_DOMAINS || !range_ok(code, len))
		return -EINVAL;
	d = &iso->dom[id];
	if (d->live)
		return -EEXIST;
	if (code_taken(iso, code, code + len, true))
		return -EBUSY;
	memset(d, 0, sizeof(*d));
	d->id = id;
	err = set_name(d, name);
	if (err)
		return err;
	err = act_init(&d->act, iso->cfg.act_entries);
	if (err)
		return err;
	err = pagecache_init(&d->pages, iso->cfg.open_pages);
	if (err) {
		act_destroy(&d->act);
		return err;
	}
	d->name_id = name_id;
	d->code[0] = (struct iso_range){ code, code + len };
	d->ncode = 1;
	d->live = true;
	iso->code_gen++;
	return 0;
}

/* Append code [start, start + len) to ranges, which holds *n of max; a
 * domain's code may overlap no other code, trusted code no domain's. */
static int add_code(struct iso *iso, struct iso_range *ranges,
		    unsigned int *n, unsigned int max, uint64_t start,
		    uint64_t len, bool domain_code)
{
	if (*n == max)
		return -ENOSPC;
	if (code_taken(iso, start, start + len, domain_code))
		return -EBUSY;
	ranges[(*n)++] = (struct iso_range){ start, start + len };
	return 0;
}

/* Remove exactly [start, start + len) from ranges[from..*n), keeping the
 * others in order.  Returns 0 or -EINVAL (no such range). */
static int drop_code(struct iso_range *ranges, unsigned int *n,
		     unsigned int from, uint64_t start, uint64_t len)
{
	for (unsigned int i = from; i < *n; i++) {
		if (ranges[i].start != start || ranges[i].end - start != len)
			continue;
		memmove(&ranges[i], &ranges[i + 1],
			(*n - i - 1) * sizeof(ranges[0]));
		(*n)--;
		return 0;
	}
	return -EINVAL;
}

int iso_domain_add_code(struct iso *iso, unsigned int id, uint64_t code,
			uint64_t len)
{
	struct domain *d = iso_domain(iso, id);

	if (!range_ok(code, len))
		return -EINVAL;
	if (!d)
		return -ENOENT;
	return add_code(iso, d->code, &d->ncode, DOMAIN_MAX_CODE, code, len,
			true);
}

int iso_domain_drop_code(struct iso *iso, unsigned int id, uint64_t code,
			 uint64_t len)
{
	struct domain *d = iso_domain(iso, id);

	if (!d)
		return -ENOENT;
	/* not the first: the core text lives as long as the domain */
	return drop_code(d->code, &d->ncode, 1, code, len);
}

/* Remove id's entries from v's stack, keeping the others in order. */
static void drop_frames(struct iso_vcpu *v, unsigned int id)
{
	unsigned int kept = 0;

	for (unsigned int i = 0; i < v->depth; i++)
		if (v->stack[i].domain != id)
			v->stack[kept++] = v->stack[i];
	v->depth = kept;
}

int iso_domain_destroy(struct iso *iso, unsigned int id)
{
	struct domain *d = iso_domain(iso, id);

	if (!d)
		return -ENOENT;
	close_pages(iso, d, 0, 0);
	for (unsigned int v = 0; v < iso->cfg.vcpus; v++)
		drop_frames(&iso->vcpu[v], id);
	pagecache_destroy(&d->pages);
	act_destroy(&d->act);
	memset(d, 0, sizeof(*d));
	iso->code_gen++;
	return 0;
}

int iso_add_trusted(struct iso *iso, uint64_t start, uint64_t len)
{
	if (!range_ok(start, len))
		return -EINVAL;
	return add_code(iso, iso->trusted, &iso->ntrusted, ISO_MAX_TRUSTED,
			start, len, false);
}

int iso_drop_trusted(struct iso *iso, uint64_t start, uint64_t len)
{
	int err = drop_code(iso->trusted, &iso->ntrusted, 0, start, len);

	if (!err)
		iso->code_gen++;
	return err;
}

int iso_add_thunk(struct iso *iso, uint64_t start, uint64_t len)
{
	if (!range_ok(start, len))
		return -EINVAL;
	for (unsigned int i = 0; i < iso->nthunk; i++)
		if (iso->thunk[i].start == start &&
		    iso->thunk[i].end == start + len)
			return 0;
	if (iso->nthunk == ISO_MAX_THUNKS)
		return -ENOSPC;
	iso->thunk[iso->nthunk++] = (struct iso_range){ start, start + len };
	return 0;
}

struct domain *iso_domain_of_rip(struct iso *iso, uint64_t rip)
{
	for (unsigned int i = 0; i < ISO_MAX_DOMAINS; i++) {
		struct domain *d = &iso->dom[i];

		for (unsigned int c = 0; d->live && c < d->ncode; c++)
			if (in_range(&d->code[c], rip))
				return d;
	}
	return NULL;
}

bool iso_rip_trusted(const struct iso *iso, uint64_t rip)
{
	for (unsigned int t = 0; t < iso->ntrusted; t++)
		if (in_range(&iso->trusted[t], rip))
			return true;
	return false;
}

int iso_grant(struct iso *iso, unsigned int id, uint64_t gpa, uint64_t len,
	      enum chariot_grant_kind kind, uint64_t cookie)
{
	struct domain *d = iso_domain(iso, id);

	return d ? act_insert(&d->act, gpa, len, kind, cookie) : -ENOENT;
}

int iso_revoke(struct iso *iso, unsigned int id, uint64_t gpa, uint64_t len)
{
	struct domain *d = iso_domain(iso, id);
	int err;

	if (!d)
		return -ENOENT;
	err = act_remove(&d->act, gpa, len);
	if (!err)
		close_pages(iso, d, gpa, len);
	return err;
}

int iso_revoke_cookie(struct iso *iso, unsigned int id,
		      enum chariot_grant_kind kind, uint64_t cookie)
{
	struct domain *d = iso_domain(iso, id);
	uint64_t start, end;
	int n = 0, ret;

	if (!d)
		return -ENOENT;
	while ((ret = act_take_cookie(&d->act, kind, cookie, &start,
				      &end)) == 1) {
		close_pages(iso, d, start, end - start);
		n++;
	}
	return ret < 0 ? ret : n;
}

int iso_enter(struct iso *iso, unsigned int vcpu, unsigned int id,
	      uint64_t frame, uint64_t stack)
{
	struct domain *d = iso_domain(iso, id);
	struct iso_vcpu *v;

	if (vcpu >= iso->cfg.vcpus)
		return -EINVAL;
	if (!d)
		return -ENOENT;
	v = &iso->vcpu[vcpu];
	if (v->depth == ISO_MAX_NEST)
		return -EOVERFLOW;
	v->stack[v->depth++] = (struct iso_frame){ id, frame, stack };
	d->stats.entries++;
	return 0;
}

int iso_leave(struct iso *iso, unsigned int vcpu, unsigned int id)
{
	struct iso_vcpu *v;

	if (vcpu >= iso->cfg.vcpus)
		return -EINVAL;
	if (!iso_domain(iso, id))
		return -ENOENT;
	v = &iso->vcpu[vcpu];
	if (!v->depth || v->stack[v->depth - 1].domain != id)
		return -EPROTO;
	v->depth--;
	return 0;
}

struct domain *iso_active(struct iso *iso, unsigned int vcpu)
{
	const struct iso_vcpu *v;

	if (vcpu >= iso->cfg.vcpus)
		return NULL;
	v = &iso->vcpu[vcpu];
	return v->depth ? iso_domain(iso, v->stack[v->depth - 1].domain) : NULL;
}

/* Is rsp on stack s (an ENTER's packed base and size; 0: unknown)? */
static bool on_stack(uint64_t s, uint64_t rsp)
{
	uint64_t base = CHARIOT_ENTER_STACK_BASE(s);

	/* The ring checked that base + bytes does not wrap. */
	return s && rsp >= base && rsp - base < CHARIOT_ENTER_STACK_BYTES(s);
}

bool iso_off_entry_stack(const struct iso *iso, unsigned int vcpu,
			 uint64_t rsp)
{
	uint64_t s;

	if (vcpu >= iso->cfg.vcpus || !iso->vcpu[vcpu].depth)
		return false;
	s = iso->vcpu[vcpu].stack[iso->vcpu[vcpu].depth - 1].stack;
	return s && !on_stack(s, rsp);
}

bool iso_on_frame_stack(const struct iso_frame *f, uint64_t rsp)
{
	return f && on_stack(f->stack, rsp);
}

const struct iso_frame *iso_outermost(const struct iso *iso, unsigned int vcpu,
				      unsigned int id)
{
	const struct iso_vcpu *v;

	if (vcpu >= iso->cfg.vcpus)
		return NULL;
	v = &iso->vcpu[vcpu];
	for (unsigned int i = 0; i < v->depth; i++)
		if (v->stack[i].domain == id)
			return &v->stack[i];
	return NULL;
}

int iso_open_page(struct iso *iso, struct domain *d, uint64_t gpa)
{
	struct pc_update up;

	if (!pagecache_open(&d->pages, &d->act, gpa, &up))
		return 0;
	if (up.close)
		protect(iso, d, up.close_page, false);
	protect(iso, d, up.open_page, true);
	d->stats.pages_opened++;
	return 1;
}

void domain_stats(const struct domain *d, struct domain_stats *out)
{
	*out = d->stats;
	out->act_entries = act_count(&d->act);
}
