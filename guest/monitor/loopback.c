// SPDX-License-Identifier: GPL-2.0
/*
 * loopback.c - a stand-in for the VMM's end of the update ring, for
 * testing the monitor under a VMM that has no ring yet (module parameter
 * loopback=1).  It lays the ring out as the VMM would and, at each
 * doorbell, consumes what was posted with the VMM's own checks
 * (src/iso/ring.c): seq, type, the fields each type uses and leaves zero,
 * lengths, domains live or free, vCPUs, and each vCPU's stack of entered
 * domains (a LEAVE must leave the innermost one).  It applies nothing: it
 * counts.  Called under ring.c's lock, interrupts off.
 */
#include <linux/kernel.h>
#include <linux/log2.h>
#include <linux/mmzone.h>
#include <linux/pfn.h>
#include <linux/seq_file.h>
#include <linux/string.h>

#include "monitor.h"

#define MAX_VCPUS	64
#define MAX_NEST	16	/* the VMM's ISO_MAX_NEST */

enum lb_err {
	LB_OK, LB_TYPE, LB_FIELD, LB_LEN, LB_GPA, LB_DOMAIN, LB_VCPU, LB_SEQ,
	LB_NEST, LB_ERRS
};

static const char *const err_names[LB_ERRS] = {
	"ok", "type", "field", "len", "gpa", "domain", "vcpu", "seq", "nest",
};

#define F_KIND		0x01u
#define F_FLAGS		0x02u
#define F_DOMAIN	0x04u
#define F_VCPU		0x08u
#define F_LEN		0x10u
#define F_ADDR		0x20u
#define F_COOKIE	0x40u
#define F_GPA		0x80u	/* addr/len is guest-physical */

static struct {
	u32 capacity;
	u32 tail;
	bool live[CHARIOT_RING_MAX_DOMAINS];
	u8 stack[MAX_VCPUS][MAX_NEST];
	unsigned int depth[MAX_VCPUS];
	unsigned int max_depth;
	u64 applied[CHARIOT_REC_TYPES];
	u64 rejected[LB_ERRS];
	struct chariot_ring_rec first_bad;
	enum lb_err first_err;
} lb;

/**
 * chariot_loopback_init() - lay a ring out as the VMM would
 * @r:    where, in the shared area
 * @size: bytes there
 */
void chariot_loopback_init(struct chariot_ring *r, u32 size)
{
	u32 cap = rounddown_pow_of_two((size - sizeof(*r)) / sizeof(r->rec[0]));

	memset(&lb, 0, sizeof(lb));
	memset(r, 0, sizeof(*r) + cap * sizeof(r->rec[0]));
	r->version = CHARIOT_RING_VERSION;
	r->capacity = cap;
	r->rec_size = sizeof(r->rec[0]);
	lb.capacity = cap;
	smp_store_release(&r->magic, CHARIOT_RING_MAGIC);
}

static unsigned int fields_of(const struct chariot_ring_rec *rec)
{
	switch (rec->type) {
	case CHARIOT_REC_DOMAIN_CREATE:
		return F_DOMAIN | F_LEN | F_ADDR | F_COOKIE;
	case CHARIOT_REC_DOMAIN_CODE:
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
	case CHARIOT_REC_THUNK:
		return F_LEN | F_ADDR;
	}
	return 0;
}

static bool unused_zero(const struct chariot_ring_rec *rec, unsigned int f)
{
	return ((f & F_KIND) || !rec->kind) && ((f & F_FLAGS) || !rec->flags) &&
	       ((f & F_DOMAIN) || !rec->domain) &&
	       ((f & F_VCPU) || !rec->vcpu) && ((f & F_LEN) || !rec->len) &&
	       ((f & F_ADDR) || !rec->addr) &&
	       ((f & F_COOKIE) || !rec->cookie);
}

static enum lb_err shape(const struct chariot_ring_rec *rec, u32 seq)
{
	unsigned int f = fields_of(rec);

	if (rec->seq != seq)
		return LB_SEQ;
	if (!f)
		return LB_TYPE;
	if (!unused_zero(rec, f) || (rec->flags & ~CHARIOT_REVOKE_BY_COOKIE) ||
	    ((f & F_KIND) && rec->kind >= CHARIOT_GRANT_KINDS) ||
	    ((f & F_FLAGS) && !rec->cookie))
		return LB_FIELD;
	if ((f & F_LEN) && (!rec->len || rec->len > U64_MAX - rec->addr))
		return LB_LEN;
	if ((f & F_GPA) && (!pfn_valid(PHYS_PFN(rec->addr)) ||
			    !pfn_valid(PHYS_PFN(rec->addr + rec->len - 1))))
		return LB_GPA;
	if ((f & F_DOMAIN) && (rec->domain >= CHARIOT_RING_MAX_DOMAINS ||
			       lb.live[rec->domain] !=
			       (rec->type != CHARIOT_REC_DOMAIN_CREATE)))
		return LB_DOMAIN;
	if ((f & F_VCPU) && rec->vcpu >= min_t(unsigned int, nr_cpu_ids,
					       MAX_VCPUS))
		return LB_VCPU;
	return LB_OK;
}

static void drop_domain(unsigned int id)
{
	unsigned int v, i, kept;

	for (v = 0; v < MAX_VCPUS; v++) {
		for (i = 0, kept = 0; i < lb.depth[v]; i++)
			if (lb.stack[v][i] != id)
				lb.stack[v][kept++] = lb.stack[v][i];
		lb.depth[v] = kept;
	}
}

static enum lb_err apply(const struct chariot_ring_rec *rec)
{
	unsigned int *depth = &lb.depth[rec->vcpu];

	switch (rec->type) {
	case CHARIOT_REC_DOMAIN_CREATE:
		lb.live[rec->domain] = true;
		break;
	case CHARIOT_REC_DOMAIN_DESTROY:
		lb.live[rec->domain] = false;
		drop_domain(rec->domain);
		break;
	case CHARIOT_REC_ENTER:
		if (*depth == MAX_NEST)
			return LB_NEST;
		lb.stack[rec->vcpu][(*depth)++] = rec->domain;
		lb.max_depth = max(lb.max_depth, *depth);
		break;
	case CHARIOT_REC_LEAVE:
		if (!*depth || lb.stack[rec->vcpu][*depth - 1] != rec->domain)
			return LB_NEST;
		(*depth)--;
		break;
	}
	return LB_OK;
}

/**
 * chariot_loopback_drain() - consume every record posted, as the VMM would
 * @r: the ring
 */
void chariot_loopback_drain(struct chariot_ring *r)
{
	u32 head = smp_load_acquire(&r->head);
	struct chariot_ring_rec rec;
	enum lb_err err;

	if (head - lb.tail > lb.capacity)
		head = lb.tail + lb.capacity;
	for (; lb.tail != head; lb.tail++) {
		memcpy(&rec, &r->rec[lb.tail & (lb.capacity - 1)], sizeof(rec));
		err = shape(&rec, lb.tail);
		if (!err)
			err = apply(&rec);
		if (!err) {
			lb.applied[rec.type]++;
			continue;
		}
		if (!lb.first_err) {
			lb.first_err = err;
			lb.first_bad = rec;
		}
		lb.rejected[err]++;
	}
	smp_store_release(&r->tail, lb.tail);
}

/**
 * chariot_loopback_show() - print what the local consumer saw
 * @m: the seq_file
 */
void chariot_loopback_show(struct seq_file *m)
{
	const struct chariot_ring_rec *b = &lb.first_bad;
	unsigned int v, depth = 0;
	int i;

	if (!chariot_ring_is_loopback())
		return;
	seq_puts(m, "loopback applied:");
	for (i = 1; i < CHARIOT_REC_TYPES; i++)
		seq_printf(m, " %llu", lb.applied[i]);
	seq_puts(m, " (create code destroy grant revoke enter leave trusted)\nloopback rejected:");
	for (i = 1; i < LB_ERRS; i++)
		seq_printf(m, " %s %llu", err_names[i], lb.rejected[i]);
	for (v = 0; v < MAX_VCPUS; v++)
		depth += lb.depth[v];
	seq_printf(m, "\nloopback vCPU entries now: %u, deepest: %u\n", depth,
		   lb.max_depth);
	if (lb.first_err)
		seq_printf(m, "loopback first rejected (%s): type %u kind %u flags %#x domain %u vcpu %u seq %u len %u addr %#llx cookie %#llx\n",
			   err_names[lb.first_err], b->type, b->kind, b->flags,
			   b->domain, b->vcpu, b->seq, b->len, b->addr,
			   b->cookie);
}
