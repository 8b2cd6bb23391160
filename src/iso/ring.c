/* ring.c - the VMM's end of the update ring.  A record is checked in two
 * steps: its shape (type known, the fields its type uses sane, those it
 * does not use zero, so a later version's record is never misread), then
 * whether it fits the state (domain live or free, vCPU exists); only then
 * is it applied.  A record the state refuses all the same (ACT full, code
 * overlapping) is counted as RING_ERR_STATE. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

#include "iso/ring.h"

#define F_KIND		0x01u
#define F_FLAGS		0x02u
#define F_DOMAIN	0x04u
#define F_VCPU		0x08u
#define F_LEN		0x10u
#define F_ADDR		0x20u
#define F_COOKIE	0x40u
#define F_GPA		0x80u	/* addr/len is guest-physical */
#define RING_PAGE	4096u

_Static_assert(sizeof(struct chariot_ring_rec) == 32, "record is the ABI");
_Static_assert(offsetof(struct chariot_ring, head) == 64, "header is the ABI");
_Static_assert(offsetof(struct chariot_ring, tail) == 128, "header is the ABI");
_Static_assert(offsetof(struct chariot_ring, rec) == 192, "header is the ABI");

static const char *const err_names[RING_ERRS] = {
	[RING_OK] = "ok",
	[RING_ERR_TYPE] = "type",
	[RING_ERR_FIELD] = "field",
	[RING_ERR_LEN] = "len",
	[RING_ERR_GPA] = "gpa",
	[RING_ERR_DOMAIN] = "domain",
	[RING_ERR_VCPU] = "vcpu",
	[RING_ERR_SEQ] = "seq",
	[RING_ERR_HEAD] = "head",
	[RING_ERR_STATE] = "state",
};

const char *ring_err_name(enum ring_err err)
{
	return (unsigned int)err < RING_ERRS ? err_names[err] : "?";
}

int ring_init(struct ring *r, void *mem, size_t size,
	      const struct ring_config *cfg)
{
	size_t hdr = sizeof(struct chariot_ring);
	size_t rec = sizeof(struct chariot_ring_rec);
	uint32_t cap = 2;

	memset(r, 0, sizeof(*r));
	if (!mem || (uintptr_t)mem % 8 || size < hdr + 2 * rec)
		return -EINVAL;
	while (cap < (1u << 31) && hdr + 2 * (size_t)cap * rec <= size)
		cap *= 2;
	memset(mem, 0, hdr + cap * rec);
	r->shared = mem;
	r->shared->magic = CHARIOT_RING_MAGIC;
	r->shared->version = CHARIOT_RING_VERSION;
	r->shared->capacity = cap;
	r->shared->rec_size = (uint32_t)rec;
	r->capacity = cap;
	r->cfg = *cfg;
	if (cfg->history) {
		r->hist = calloc(cfg->history, sizeof(*r->hist));
		if (!r->hist)
			return -ENOMEM;
	}
	return 0;
}

void ring_destroy(struct ring *r)
{
	free(r->hist);
	r->hist = NULL;
}

static bool overlaps(const struct chariot_ring_rec *h, uint64_t gpa,
		     uint64_t len)
{
	return (h->type == CHARIOT_REC_GRANT ||
		(h->type == CHARIOT_REC_REVOKE &&
		 !(h->flags & CHARIOT_REVOKE_BY_COOKIE))) &&
	       h->addr < gpa + len && gpa < h->addr + h->len;
}

void ring_history(const struct ring *r, FILE *f, uint64_t gpa, uint64_t len)
{
	uint64_t first = r->nhist > r->cfg.history ? r->nhist - r->cfg.history
						   : 0;
	uint64_t cookies[64];
	unsigned int nc = 0;

	if (!r->hist)
		return;
	for (uint64_t i = first; i < r->nhist; i++) {
		const struct chariot_ring_rec *h = &r->hist[i % r->cfg.history];

		if (overlaps(h, gpa, len) && h->cookie && nc < 64)
			cookies[nc++] = h->cookie;
	}
	fprintf(f, "history of 0x%" PRIx64 "+0x%" PRIx64 " (of the last %" PRIu64
		" records):\n", gpa, len, r->nhist - first);
	for (uint64_t i = first; i < r->nhist; i++) {
		const struct chariot_ring_rec *h = &r->hist[i % r->cfg.history];
		bool show = overlaps(h, gpa, len);

		for (unsigned int c = 0; !show && c < nc; c++)
			show = h->type == CHARIOT_REC_REVOKE &&
			       h->cookie == cookies[c];
		if (show)
			fprintf(f, "  #%" PRIu64 " type %u kind %u flags %u "
				"domain %u gpa 0x%" PRIx64 " len 0x%x cookie 0x%"
				PRIx64 "\n", i, h->type, h->kind, h->flags,
				h->domain, (uint64_t)h->addr, h->len,
				(uint64_t)h->cookie);
	}
}

/* The fields a record of its type and flags uses. */
static unsigned int fields_of(const struct chariot_ring_rec *rec)
{
	switch (rec->type) {
	case CHARIOT_REC_DOMAIN_CREATE:
		return F_DOMAIN | F_LEN | F_ADDR | F_COOKIE;
	case CHARIOT_REC_DOMAIN_CODE:
	case CHARIOT_REC_DOMAIN_UNCODE:
		return F_DOMAIN | F_LEN | F_ADDR;
	case CHARIOT_REC_DOMAIN_DESTROY:
		return F_DOMAIN;
	case CHARIOT_REC_GRANT:
		return F_DOMAIN | F_KIND | F_LEN | F_ADDR | F_GPA | F_COOKIE;
	case CHARIOT_REC_REVOKE:
		if (rec->flags & CHARIOT_REVOKE_BY_COOKIE)
			return F_DOMAIN | F_KIND | F_FLAGS | F_COOKIE;
		return F_DOMAIN | F_LEN | F_ADDR | F_GPA;
	case CHARIOT_REC_ENTER:
		return F_DOMAIN | F_VCPU | F_ADDR | F_COOKIE;
	case CHARIOT_REC_LEAVE:
		return F_DOMAIN | F_VCPU;
	case CHARIOT_REC_TRUSTED_RANGE:
	case CHARIOT_REC_TRUSTED_GONE:
	case CHARIOT_REC_THUNK:
		return F_LEN | F_ADDR;
	case CHARIOT_REC_PAGE_FREED:
		return F_LEN | F_ADDR | F_GPA;
	}
	return 0;
}

static bool unused_are_zero(const struct chariot_ring_rec *rec,
			    unsigned int used)
{
	return ((used & F_KIND) || !rec->kind) &&
	       ((used & F_FLAGS) || !rec->flags) &&
	       ((used & F_DOMAIN) || !rec->domain) &&
	       ((used & F_VCPU) || !rec->vcpu) &&
	       ((used & F_LEN) || !rec->len) &&
	       ((used & F_ADDR) || !rec->addr) &&
	       ((used & F_COOKIE) || !rec->cookie);
}

static bool gpa_ok(const struct ring *r, uint64_t gpa, uint64_t len)
{
	if (r->cfg.gpa_ok)
		return r->cfg.gpa_ok(r->cfg.opaque, gpa, len);
	return gpa < r->cfg.ram_end && len <= r->cfg.ram_end - gpa;
}

/* The record on its own, before any state is consulted. */
static enum ring_err check_shape(const struct ring *r,
				 const struct chariot_ring_rec *rec,
				 unsigned int used)
{
	if (!used)
		return RING_ERR_TYPE;
	if (!unused_are_zero(rec, used) ||
	    (rec->flags & ~CHARIOT_REVOKE_BY_COOKIE) ||
	    ((used & F_KIND) && rec->kind >= CHARIOT_GRANT_KINDS) ||
	    ((used & F_FLAGS) && !rec->cookie))
		return RING_ERR_FIELD;
	if ((used & F_LEN) && (!rec->len || rec->len > UINT64_MAX - rec->addr))
		return RING_ERR_LEN;
	if (rec->type == CHARIOT_REC_PAGE_FREED &&
	    ((rec->addr | rec->len) & (RING_PAGE - 1)))
		return RING_ERR_LEN;
	if (rec->type == CHARIOT_REC_THUNK &&
	    rec->len > CHARIOT_THUNK_MAX_LEN)
		return RING_ERR_LEN;
	/* ENTER's stack: none, or some pages that do not wrap. */
	if (rec->type == CHARIOT_REC_ENTER && rec->cookie &&
	    (!CHARIOT_ENTER_STACK_BYTES(rec->cookie) ||
	     CHARIOT_ENTER_STACK_BYTES(rec->cookie) - 1 >
	     UINT64_MAX - CHARIOT_ENTER_STACK_BASE(rec->cookie)))
		return RING_ERR_LEN;
	if ((used & F_GPA) && !gpa_ok(r, rec->addr, rec->len))
		return RING_ERR_GPA;
	return RING_OK;
}

enum ring_err ring_check(const struct ring *r, const struct iso *iso,
			 const struct chariot_ring_rec *rec, uint32_t seq)
{
	unsigned int used = fields_of(rec);
	enum ring_err err;
	bool live;

	if (rec->seq != seq)
		return RING_ERR_SEQ;
	err = check_shape(r, rec, used);
	if (err)
		return err;
	if (used & F_DOMAIN) {
		if (rec->domain >= ISO_MAX_DOMAINS)
			return RING_ERR_DOMAIN;
		live = iso->dom[rec->domain].live;
		if (live != (rec->type != CHARIOT_REC_DOMAIN_CREATE))
			return RING_ERR_DOMAIN;
	}
	if ((used & F_VCPU) && rec->vcpu >= iso->cfg.vcpus)
		return RING_ERR_VCPU;
	return RING_OK;
}

static int apply(const struct ring *r, struct iso *iso,
		 const struct chariot_ring_rec *rec)
{
	int ret;

	switch (rec->type) {
	case CHARIOT_REC_DOMAIN_CREATE:
		return iso_domain_create(iso, rec->domain, NULL, rec->cookie,
					 rec->addr, rec->len);
	case CHARIOT_REC_DOMAIN_CODE:
		return iso_domain_add_code(iso, rec->domain, rec->addr,
					   rec->len);
	case CHARIOT_REC_DOMAIN_UNCODE:
		return iso_domain_drop_code(iso, rec->domain, rec->addr,
					    rec->len);
	case CHARIOT_REC_DOMAIN_DESTROY:
		return iso_domain_destroy(iso, rec->domain);
	case CHARIOT_REC_GRANT:
		return iso_grant(iso, rec->domain, rec->addr, rec->len,
				 rec->kind, rec->cookie);
	case CHARIOT_REC_REVOKE:
		if (!(rec->flags & CHARIOT_REVOKE_BY_COOKIE))
			return iso_revoke(iso, rec->domain, rec->addr,
					  rec->len);
		ret = iso_revoke_cookie(iso, rec->domain, rec->kind,
					rec->cookie);
		return ret < 0 ? ret : 0;
	case CHARIOT_REC_ENTER:
		return iso_enter(iso, rec->vcpu, rec->domain, rec->addr,
				 rec->cookie);
	case CHARIOT_REC_LEAVE:
		return iso_leave(iso, rec->vcpu, rec->domain);
	case CHARIOT_REC_TRUSTED_RANGE:
		return iso_add_trusted(iso, rec->addr, rec->len);
	case CHARIOT_REC_TRUSTED_GONE:
		return iso_drop_trusted(iso, rec->addr, rec->len);
	case CHARIOT_REC_THUNK:
		return iso_add_thunk(iso, rec->addr, rec->len);
	case CHARIOT_REC_PAGE_FREED:
		if (r->cfg.page_freed)
			r->cfg.page_freed(r->cfg.opaque, rec->addr, rec->len);
		return 0;
	}
	return -EINVAL;
}

static void consume(struct ring *r, struct iso *iso, uint32_t seq)
{
	struct chariot_ring_rec rec;
	enum ring_err err;

	/* One copy: the guest may rewrite the slot while we look. */
	memcpy(&rec, &r->shared->rec[seq & (r->capacity - 1)], sizeof(rec));
	err = ring_check(r, iso, &rec, seq);
	if (!err && apply(r, iso, &rec))
		err = RING_ERR_STATE;
	if (!err && r->hist)
		r->hist[r->nhist++ % r->cfg.history] = rec;
	if (err)
		r->stats.rejected[err]++;
	else
		r->stats.applied++;
}

uint32_t ring_drain(struct ring *r, struct iso *iso)
{
	uint32_t head = __atomic_load_n(&r->shared->head, __ATOMIC_ACQUIRE);
	uint32_t avail = head - r->tail;

	r->stats.drains++;
	if (avail > r->capacity) {
		r->stats.rejected[RING_ERR_HEAD]++;
		avail = r->capacity;
	}
	for (uint32_t i = 0; i < avail; i++)
		consume(r, iso, r->tail++);
	__atomic_store_n(&r->shared->tail, r->tail, __ATOMIC_RELEASE);
	return avail;
}
