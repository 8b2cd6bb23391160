/* engine.c - the isolation engine: one lock around the isolation state,
 * the ring, the protected view and the counters; the vCPU threads call in
 * at their exits (engine.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chariot_abi.h"
#include "inject/inject.h"
#include "iso/engine.h"
#include "vmm/json.h"

#define CLOSE_BATCH	32
#define PAUSE_RETRY_NS	2000000	/* re-kick a vCPU that did not leave */
#define RECOVER_KICK_NS	100000000 /* re-kick a hung vCPU not yet taken */

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void set_error(struct engine *e, int err, const char *what)
{
	if (e->err)
		return;
	e->err = err;
	snprintf(e->errmsg, sizeof(e->errmsg), "isolation: %s: %s", what,
		 strerror(-err));
}

const char *engine_error(struct engine *e)
{
	const char *msg;

	pthread_mutex_lock(&e->lock);
	msg = e->err ? e->errmsg : NULL;
	pthread_mutex_unlock(&e->lock);
	return msg;
}

static bool smm_view(const struct engine *e)
{
	return e->cfg.mech == PROTECT_SMM_VIEW;
}

static struct engine_module *module_of(struct engine *e, const struct domain *d)
{
	return d && d->name_id < e->cfg.nmodules ? &e->mod[d->name_id] : NULL;
}

/* Is d a watched module's (engine.h)? */
static bool watched(const struct engine *e, const struct domain *d)
{
	return d && d->name_id < e->cfg.nmodules && e->cfg.watch[d->name_id];
}

static void kick(struct engine *e, unsigned int vcpu)
{
	if (!e->cfg.kick ||
	    !__atomic_load_n(&e->vcpu[vcpu].started, __ATOMIC_ACQUIRE))
		return;
	e->cfg.kick(e->cfg.opaque, vcpu);
	e->stats.kicks++;
}

/* ---- open pages ---- */

/* iso's report of a page of domain opened or closed. */
static void on_page(void *opaque, unsigned int domain, uint64_t page,
		    bool writable)
{
	struct engine *e = opaque;
	struct engine_module *m;

	if (!writable) {
		protect_close(&e->prot, page);
		return;
	}
	/* Refused only beyond every cache's capacity: it stays trapped. */
	if (protect_open(&e->prot, page))
		return;
	m = module_of(e, iso_domain(&e->iso, domain));
	if (m)
		m->stats.pages_opened++;
}

/* Hand the view's open pages to domain id: close the others'. */
static void make_owner(struct engine *e, unsigned int id)
{
	uint64_t pages[CLOSE_BATCH];
	uint32_t n;

	if (e->owner == (int)id)
		return;
	for (unsigned int i = 0; i < ISO_MAX_DOMAINS; i++) {
		struct domain *d = iso_domain(&e->iso, i);

		if (!d || i == id)
			continue;
		while ((n = pagecache_close_range(&d->pages, 0, 0, pages,
						  CLOSE_BATCH)))
			for (uint32_t k = 0; k < n; k++)
				protect_close(&e->prot, pages[k]);
	}
	e->owner = (int)id;
	e->stats.owner_switches++;
}

/* The system-page map's bit for page (chariot_abi.h). */
static void sysmap_set(struct engine *e, uint64_t page, bool on)
{
	uint64_t bit = (page / PC_PAGE_SIZE) % CHARIOT_SYSMAP_BITS;
	uint8_t *byte = e->sysmap + bit / 8, mask = (uint8_t)(1u << (bit % 8));

	if (on)
		__atomic_fetch_or(byte, mask, __ATOMIC_RELEASE);
	else
		__atomic_fetch_and(byte, (uint8_t)~mask, __ATOMIC_RELEASE);
}

/* page left the FIFO: its bit stays for the other pages that share it. */
static void sysmap_clear(struct engine *e, uint64_t page)
{
	uint64_t bit = (page / PC_PAGE_SIZE) % CHARIOT_SYSMAP_BITS;

	for (unsigned int i = 0; i < e->nsys_pages; i++)
		if (e->sys_page[i] != ~0ull &&
		    (e->sys_page[i] / PC_PAGE_SIZE) % CHARIOT_SYSMAP_BITS == bit)
			return;
	sysmap_set(e, page, false);
}

/* A page the CPU writes itself: writable in the view from now on, until
 * ENGINE_SYS_PAGES newer ones push it out or the guest frees it. */
static unsigned int add_sys_page(struct engine *e, uint64_t page)
{
	uint64_t old;
	bool opened;

	for (unsigned int i = 0; i < e->nsys_pages; i++)
		if (e->sys_page[i] == page)
			return 0;
	old = e->nsys_pages == ENGINE_SYS_PAGES ? e->sys_page[e->sys_next]
						: ~0ull;
	if (e->nsys_pages < ENGINE_SYS_PAGES)
		e->nsys_pages++;
	/* Refused only beyond protect's capacity, which counts these; then
	 * remember nothing a later close could take from a domain. */
	opened = !protect_open(&e->prot, page);
	e->sys_page[e->sys_next] = opened ? page : ~0ull;
	e->sys_next = (e->sys_next + 1) % ENGINE_SYS_PAGES;
	if (old != ~0ull) {
		protect_close(&e->prot, old);
		sysmap_clear(e, old);
	}
	if (!opened)
		return 0;
	sysmap_set(e, page, true);
	e->stats.sys_pages++;
	return 1;
}

/* PAGE_FREED (from a drain, the lock held): a system page the guest freed
 * is closed before it comes back as anything else. */
static void page_freed(void *opaque, uint64_t gpa, uint64_t len)
{
	struct engine *e = opaque;

	e->stats.sys_freed_posts++;
	for (uint64_t p = gpa; p - gpa < len; p += PC_PAGE_SIZE) {
		/* A root freed may come back as another process's: walk
		 * that one when a vCPU switches to it. */
		for (unsigned int v = 0; v < e->cfg.vcpus; v++)
			if (e->vcpu[v].cr3 == p)
				e->vcpu[v].cr3 = 0;
		for (unsigned int i = 0; i < e->nsys_pages; i++)
			if (e->sys_page[i] == p) {
				e->sys_page[i] = ~0ull;
				protect_close(&e->prot, p);
				sysmap_clear(e, p);
				e->stats.sys_freed++;
			}
	}
}

/* The stacks vcpu's CPU pushes frames to.  On vcpu's thread. */
static void add_stacks(struct engine *e, unsigned int vcpu)
{
	uint64_t pages[16];
	int n = 0;

	if (e->cfg.stack_pages)
		n = e->cfg.stack_pages(e->cfg.opaque, vcpu, pages, 16);
	for (int i = 0; i < n; i++)
		add_sys_page(e, pages[i]);
}

/* vcpu's page tables of the kernel half and its root, unless walked for
 * this CR3 already (force: walk anyway).  On vcpu's thread.  Returns how
 * many were opened. */
static int add_tables(struct engine *e, unsigned int vcpu, bool force)
{
	int n, added = 0;

	if (!e->cfg.table_pages)
		return 0;
	if (force)
		e->vcpu[vcpu].cr3 = 0;
	n = e->cfg.table_pages(e->cfg.opaque, vcpu, &e->vcpu[vcpu].cr3, false,
			       e->walk, ENGINE_SYS_PAGES);
	if (n <= 0)
		return n;
	e->stats.table_walks++;
	for (int i = 0; i < n; i++)
		added += (int)add_sys_page(e, e->walk[i]);
	return added;
}

/* The user half of vcpu's tables: only for a stall nothing else explains
 * (a driver's own code seldom touches user memory, and a user table left
 * open is one its writes are not judged on).  Returns how many opened. */
static int add_user_tables(struct engine *e, unsigned int vcpu)
{
	uint64_t cr3 = 0;
	int n, added = 0;

	if (!e->cfg.table_pages)
		return 0;
	n = e->cfg.table_pages(e->cfg.opaque, vcpu, &cr3, true, e->walk,
			       ENGINE_SYS_PAGES);
	for (int i = 1; i < n; i++)	/* walk[0]: the root, open already */
		added += (int)add_sys_page(e, e->walk[i]);
	return added;
}

/* ---- after a drain ---- */

/* Name new loads after their module and carry the counters the ring
 * changes (entries, ACT size) into the module's totals.  A slot that is
 * live with another name id or code, or fewer entries, is a new load,
 * told to cfg.module_loaded. */
static void track_domains(struct engine *e, unsigned int self)
{
	for (unsigned int i = 0; i < ISO_MAX_DOMAINS; i++) {
		struct domain *d = &e->iso.dom[i];
		struct engine_track *t = &e->track[i];
		struct engine_module *m = d->live ? module_of(e, d) : NULL;
		bool same = t->live && d->live && d->name_id == t->name_id &&
			    d->code[0].start == t->code &&
			    d->stats.entries >= t->entries;

		if (d->live && !same) {
			*t = (struct engine_track){ .name_id = d->name_id,
						    .code = d->code[0].start };
			if (m) {
				m->loaded = true;
				snprintf(d->name, sizeof(d->name), "%s",
					 m->name);
				if (e->cfg.module_loaded)
					e->cfg.module_loaded(e->cfg.opaque, self,
						(unsigned int)(m - e->mod),
						d->code[0].start,
						d->code[0].end - d->code[0].start);
			}
		}
		if (d->live && m) {
			m->stats.entries += d->stats.entries - t->entries;
			m->stats.act_entries = act_count(&d->act);
		}
		t->live = d->live;
		if (d->live)
			t->entries = d->stats.entries;
	}
}

/* Which vCPUs are inside a domain now.  In the SMM view only a vCPU's own
 * thread may switch it: another one is kicked to switch at its next
 * engine_run_begin(). */
static void track_vcpus(struct engine *e, unsigned int self)
{
	for (unsigned int v = 0; v < e->cfg.vcpus; v++) {
		struct engine_vcpu *ev = &e->vcpu[v];
		struct domain *d = iso_active(&e->iso, v);
		int top = d ? (int)d->id : -1;
		int err;

		if (top == ev->top)
			continue;
		if ((top >= 0) != (ev->top >= 0))
			ev->entered_ns = top >= 0 ? now_ns() : 0;
		ev->top = top;
		if (top >= 0)
			make_owner(e, (unsigned int)top);
		if (e->fetch)	/* fetches switch it, not ENTER/LEAVE */
			continue;
		if (v != self)
			e->stats.vcpu_mismatch++;
		__atomic_store_n(&ev->want, top >= 0, __ATOMIC_RELEASE);
		if (!smm_view(e)) {
			err = protect_vcpu(&e->prot, self, v, top >= 0);
			if (err)
				set_error(e, err, "protecting a vCPU");
		} else if (v != self && top >= 0) {
			kick(e, v);
		}
	}
}

/* ---- holes (fetch switching) ---- */

static uint64_t mix(uint64_t h, uint64_t v)
{
	for (int i = 0; i < 8; i++, v >>= 8)
		h = (h ^ (v & 0xff)) * 0x100000001b3ull;	/* FNV-1a */
	return h;
}

/* A digest of what the holes are made from: the live domains' code (and
 * how often domains came and went) and kernel text. */
static uint64_t hole_sources(struct engine *e)
{
	uint64_t h = mix(0xcbf29ce484222325ull, e->kernel_text);

	h = mix(h, e->kernel_etext);
	/* Not only the addresses: a driver reloaded at the same ones, its
	 * destruction and creation drained together, has new pages. */
	h = mix(h, e->iso.code_gen);
	for (unsigned int t = 0; t < e->iso.ntrusted; t++)
		h = mix(mix(h, e->iso.trusted[t].start), e->iso.trusted[t].end);
	for (unsigned int t = 0; t < e->iso.nthunk; t++)
		h = mix(mix(h, e->iso.thunk[t].start), e->iso.thunk[t].end);
	h = leaf_digest(&e->leaf, h);
	for (unsigned int i = 0; i < ISO_MAX_DOMAINS; i++) {
		const struct domain *d = iso_domain(&e->iso, i);

		for (unsigned int c = 0; d && c < d->ncode; c++)
			h = mix(mix(mix(h, i), d->code[c].start),
				d->code[c].end);
	}
	return h;
}

struct hole_set {
	struct pt_range *r;
	unsigned int n, max;
	bool full;
	unsigned int misses;
};

/* Add page, merged with the last range when it follows it (kernel text
 * is physically contiguous: one range). */
static void hole_add(struct hole_set *s, uint64_t page)
{
	if (s->n && s->r[s->n - 1].end == page) {
		s->r[s->n - 1].end += PC_PAGE_SIZE;
		return;
	}
	if (s->n == s->max) {
		s->full = true;
		return;
	}
	s->r[s->n++] = (struct pt_range){ page, page + PC_PAGE_SIZE };
}

/* Is the page at va one of a return thunk's (ring.h, THUNK)? */
static bool thunk_page(const struct engine *e, uint64_t va)
{
	for (unsigned int t = 0; t < e->iso.nthunk; t++) {
		const struct iso_range *r = &e->iso.thunk[t];

		if (va + PC_PAGE_SIZE > r->start && va < r->end)
			return true;
	}
	return false;
}

/* The pages of code [start, end), translated through cr3; without the
 * pages that run protected (return thunks, hot kernel pages: leaf.h) if
 * skip_thunks. */
static void hole_add_code(struct engine *e, struct hole_set *s, uint64_t cr3,
			  uint64_t start, uint64_t end, bool skip_thunks)
{
	for (uint64_t va = start & PC_PAGE_MASK; va < end && va >= start -
	     (start & ~PC_PAGE_MASK); va += PC_PAGE_SIZE) {
		uint64_t gpa = 0;

		if (skip_thunks &&
		    (thunk_page(e, va) || leaf_runs(&e->leaf, va)))
			continue;
		if (e->cfg.walk(e->cfg.opaque, cr3, va, &gpa) ||
		    !guest_mem_ptr(e->cfg.mem, gpa & PC_PAGE_MASK,
				   PC_PAGE_SIZE)) {
			s->misses++;
			continue;
		}
		hole_add(s, gpa & PC_PAGE_MASK);
	}
}

static int cmp_range(const void *a, const void *b)
{
	const struct pt_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Sort s's ranges and merge those that touch; how many remain. */
static unsigned int hole_finish(struct hole_set *s)
{
	unsigned int m = 0;

	qsort(s->r, s->n, sizeof(*s->r), cmp_range);
	for (unsigned int i = 0; i < s->n; i++) {
		if (m && s->r[i].start <= s->r[m - 1].end) {
			if (s->r[i].end > s->r[m - 1].end)
				s->r[m - 1].end = s->r[i].end;
		} else {
			s->r[m++] = s->r[i];
		}
	}
	return s->n = m;
}

/* One view's holes: the domains' code (normal view), or kernel text and
 * then the other trusted code, the modules the driver calls into
 * (virtio_ring under virtio_net): run in the protected view, their every
 * write would be trapped, and their locked read-modify-writes emulated
 * non-atomically against the other vCPUs.  The protected view keeps what
 * fits: trusted code beyond that only runs slower.  The pages of the
 * return thunks are left out: they write only the stack, and a driver
 * returning to itself through one would otherwise switch views twice. */
static unsigned int hole_view(struct engine *e, bool protected, uint64_t cr3)
{
	struct hole_set s = { e->hole_scratch, 0, ENGINE_MAX_HOLES, false, 0 };
	int err;

	if (protected && e->kernel_etext > e->kernel_text)
		hole_add_code(e, &s, cr3, e->kernel_text, e->kernel_etext,
			      true);
	for (unsigned int t = 0; protected && t < e->iso.ntrusted; t++)
		hole_add_code(e, &s, cr3, e->iso.trusted[t].start,
			      e->iso.trusted[t].end, true);
	if (protected)
		s.full = false;
	for (unsigned int i = 0; !protected && i < ISO_MAX_DOMAINS; i++) {
		const struct domain *d = iso_domain(&e->iso, i);

		if (watched(e, d))
			continue;
		for (unsigned int c = 0; d && c < d->ncode; c++)
			hole_add_code(e, &s, cr3, d->code[c].start,
				      d->code[c].end, false);
	}
	if (s.full) {
		/* The driver's code would run unprotected. */
		set_error(e, -ENOSPC, "more code ranges than holes");
		return s.misses;
	}
	err = protect_set_holes(&e->prot, protected, s.r, hole_finish(&s));
	if (err)
		set_error(e, err, "setting the holes");
	return s.misses;
}

/* Bring the holes in line with the code ranges, through self's page
 * tables.  A page not translated (self in user mode under page-table
 * isolation, say) is retried at a later settle with another CR3. */
static void update_holes(struct engine *e, unsigned int self)
{
	uint64_t sig = hole_sources(e), cr3 = 0;
	unsigned int misses;

	if (sig == e->hole_sig || self >= e->cfg.vcpus ||
	    e->cfg.kernel_cr3(e->cfg.opaque, self, &cr3) ||
	    (sig == e->hole_tried_sig && cr3 == e->hole_tried_cr3))
		return;
	misses = hole_view(e, false, cr3) + hole_view(e, true, cr3);
	e->stats.hole_updates++;
	__atomic_add_fetch(&e->hole_gen, 1, __ATOMIC_RELEASE);
	if (misses) {
		e->stats.hole_misses += misses;
		e->hole_tried_sig = sig;
		e->hole_tried_cr3 = cr3;
		return;
	}
	e->hole_sig = sig;
}

/* Is a page of the instruction at a fault in a hole of its view? */
static bool fetch_hit(struct engine *e, bool on, const uint64_t gpa[2])
{
	for (int i = 0; i < 2; i++)
		if (gpa[i] != ~0ull && protect_in_hole(&e->prot, on, gpa[i]))
			return true;
	return false;
}

_Static_assert(LEAF_VCPUS >= ISO_MAX_VCPUS, "leaf.h tracks every vCPU");

/* Driver entries so far, all domains: the clock of leaf.h's rates. */
static uint64_t entries_now(struct engine *e)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < ISO_MAX_DOMAINS; i++) {
		const struct domain *d = iso_domain(&e->iso, i);

		if (d)
			n += d->stats.entries;
	}
	return n;
}

/* len bytes of guest memory at va, through vcpu's kernel page tables. */
static int read_gva(struct engine *e, unsigned int vcpu, uint64_t va,
		    void *buf, uint32_t len)
{
	struct inject_guest g = { e->cfg.mem, e->cfg.walk, e->cfg.opaque, 0 };

	if (e->cfg.kernel_cr3(e->cfg.opaque, vcpu, &g.cr3))
		return -EFAULT;
	return inject_read(&g, va, buf, len);
}

/* Did vcpu, leaving the view for trusted code at rip, get there by a
 * direct call from driver code: the return address on its stack is in a
 * domain's code, right after a call rel32 whose target is rip?  (An
 * interrupt, a jump or a return gets there otherwise.) */
static bool driver_called(struct engine *e, unsigned int vcpu, uint64_t rip,
			  uint64_t rsp)
{
	uint64_t ret;
	uint8_t call[5];
	int32_t rel;

	if ((!(rip >= e->kernel_text && rip < e->kernel_etext) &&
	     !iso_rip_trusted(&e->iso, rip)) ||
	    read_gva(e, vcpu, rsp, &ret, sizeof(ret)) ||
	    !iso_domain_of_rip(&e->iso, ret) ||
	    read_gva(e, vcpu, ret - 5, call, sizeof(call)))
		return false;
	memcpy(&rel, call + 1, sizeof(rel));
	return call[0] == 0xe8 && ret + (uint64_t)(int64_t)rel == rip;
}

/* Switch vcpu into the view (driver code at rip) or out of it at the
 * next settle. */
static void fetch_switch(struct engine *e, unsigned int vcpu, uint64_t rip,
			 bool on)
{
	struct domain *d = on ? iso_domain_of_rip(&e->iso, rip) : NULL;

	__atomic_store_n(&e->vcpu[vcpu].want, on, __ATOMIC_RELEASE);
	if (d)
		make_owner(e, d->id);
	if (on) {
		e->stats.fetch_enters++;
	} else {
		e->stats.fetch_leaves++;
		profile_add(&e->prof_leaves, rip);
	}
}

/* Is self switching into the view (its page tables must be writable
 * there first)?  Under read-only-all, every run in the view is. */
static bool entering_view(struct engine *e, unsigned int self)
{
	if (self >= e->cfg.vcpus)
		return false;
	if (smm_view(e))
		return e->vcpu[self].want && !protect_is_on(&e->prot, self);
	return e->prot.non > 0;
}

/* Apply what changed, in one view edit: self's page tables and stacks if
 * it enters the view, the carve-outs; then self's switch, then the flag
 * that asks the guest to ring after a revocation. */
static int settle(struct engine *e, unsigned int self)
{
	int err = e->err;

	if (!err && e->fetch)
		update_holes(e, self);
	if (!err && entering_view(e, self)) {
		add_tables(e, self, false);
		add_stacks(e, self);
	}
	if (!err) {
		err = protect_commit(&e->prot, self);
		if (err)
			set_error(e, err, "changing the protected view");
	}
	if (!err && smm_view(e) && self < e->cfg.vcpus) {
		err = protect_vcpu(&e->prot, self, self, e->vcpu[self].want);
		if (err)
			set_error(e, err, "switching a vCPU's view");
	}
	__atomic_store_n(&e->view_on, e->prot.non > 0, __ATOMIC_RELAXED);
	return err;
}

static void drain(struct engine *e, unsigned int self)
{
	ring_drain(&e->ring, &e->iso);
	track_domains(e, self);
	track_vcpus(e, self);
}

/* ---- the hooks ---- */

int engine_port_write(struct engine *e, unsigned int vcpu, uint64_t port,
		      const uint8_t *data, uint32_t len)
{
	uint32_t cmd;
	int err;

	/* As channel.c takes the doorbell: 8 or 32 bits, little-endian. */
	if (port != CHARIOT_PORT_BASE + CHARIOT_REG_DOORBELL ||
	    (len != 1 && len != 4))
		return 0;
	cmd = data[0];
	if (len == 4)
		cmd |= (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
		       (uint32_t)data[3] << 24;
	if (cmd != CHARIOT_CMD_RING)
		return 0;
	pthread_mutex_lock(&e->lock);
	e->stats.doorbells++;
	drain(e, vcpu);
	err = settle(e, vcpu);
	pthread_mutex_unlock(&e->lock);
	return err ? err : 1;
}

/* Aligned stores of 2, 4 and 8 bytes are single-copy atomic, as the
 * guest's own would have been. */
static void store(uint8_t *p, const uint8_t *data, uint32_t len)
{
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;

	if (len == 2 && !((uintptr_t)p & 1)) {
		memcpy(&v16, data, 2);
		__atomic_store_n((uint16_t *)p, v16, __ATOMIC_RELAXED);
	} else if (len == 4 && !((uintptr_t)p & 3)) {
		memcpy(&v32, data, 4);
		__atomic_store_n((uint32_t *)p, v32, __ATOMIC_RELAXED);
	} else if (len == 8 && !((uintptr_t)p & 7)) {
		memcpy(&v64, data, 8);
		__atomic_store_n((uint64_t *)p, v64, __ATOMIC_RELAXED);
	} else {
		memcpy(p, data, len);
	}
}

/* Perform an allowed write of len bytes at gpa: a locked read-modify-
 * write (t->rmw) atomically against the other vCPUs (see atomic.h), any
 * other as a plain store. */
static void perform(struct engine *e, const struct engine_trap *t,
		    uint64_t gpa, const uint8_t *data, uint32_t len)
{
	uint8_t *p = guest_mem_ptr(e->cfg.mem, gpa, len);
	uint64_t v = 0;
	int r;

	if (!p || len > 8) {
		e->stats.write_errors++;
		return;
	}
	if (t && t->rmw) {
		memcpy(&v, data, len);
		r = rmw_perform(t->rmw, p, v, t->regs);
		if (r >= 0) {
			e->stats.atomic_writes++;
			if (r > 0) {
				e->stats.atomic_raced++;
				*t->fixed = true;
			}
			return;
		}
		e->stats.atomic_unhandled++;
	}
	store(p, data, len);
}

/* "MODULE+0xOFF" in a domain's code (its first range; "MODULE.N+0xOFF"
 * in range N), "kernel+0xOFF" in kernel text, else "". */
static void symbolize(struct engine *e, uint64_t rip, char *buf, size_t len)
{
	struct domain *d = iso_domain_of_rip(&e->iso, rip);

	buf[0] = '\0';
	for (unsigned int c = 0; d && c < d->ncode; c++) {
		const struct iso_range *r = &d->code[c];

		if (rip < r->start || rip >= r->end)
			continue;
		if (c)
			snprintf(buf, len, "%s.%u+0x%llx", d->name, c,
				 (unsigned long long)(rip - r->start));
		else
			snprintf(buf, len, "%s+0x%llx", d->name,
				 (unsigned long long)(rip - r->start));
		return;
	}
	if (!d && rip >= e->kernel_text && rip < e->kernel_etext)
		snprintf(buf, len, "kernel+0x%llx",
			 (unsigned long long)(rip - e->kernel_text));
}

static void account(struct engine *e, const struct verdict *v, uint64_t rip,
		    unsigned int logged)
{
	struct domain *d = v->domain >= 0 ? iso_domain(&e->iso, v->domain)
					  : NULL;
	struct engine_module *m = module_of(e, d);

	if (m) {
		m->stats.trapped_writes++;
		if (v->allow)
			m->stats.allowed++;
		else
			m->stats.denied++;
		if (v->learned)
			m->stats.learned++;
	}
	if (e->iso.log.n == logged)
		return;
	snprintf(e->vmod[logged], sizeof(e->vmod[logged]), "%s",
		 d ? d->name : "");
	symbolize(e, rip, e->vsym[logged], sizeof(e->vsym[logged]));
}

/* Would d's open-page cache take gpa's page (wholly in d's ACT)?  Asked
 * before handing the view to d, so a write that opens nothing does not
 * close another domain's pages. */
static bool pagecache_open_allowed(const struct domain *d, uint64_t gpa)
{
	return d && d->pages.capacity &&
	       act_coverage(&d->act, gpa & PC_PAGE_MASK, PC_PAGE_SIZE) ==
	       ACT_FULL;
}

/* Trusted code (or no driver's) writing on the stack it runs on: the CPU
 * may push a frame there any time; keep those pages writable. */
static void open_stack(struct engine *e, const struct engine_trap *t,
		       const struct verdict *v, uint64_t gpa)
{
	uint64_t page = gpa & PC_PAGE_MASK;

	if (!v->allow || v->learned ||
	    (v->reason != VERDICT_ALLOW_TRUSTED_CODE &&
	     v->reason != VERDICT_ALLOW_NO_DOMAIN))
		return;
	if (!page || (page != t->stack[0] && page != t->stack[1]))
		return;
	for (int i = 0; i < 2; i++)
		if (t->stack[i])
			add_sys_page(e, t->stack[i]);
}

/* A write into a hole of the normal view: the driver's code cannot run
 * there, so it is trusted code's (text_poke arming a probe, the module
 * loader): performed.  A hole whose code was freed goes at its first
 * touch (the drain brings the DOMAIN_UNCODE or DOMAIN_DESTROY). */
static int hole_write(struct engine *e, const struct engine_trap *t,
		      uint64_t gpa, const uint8_t *data, uint32_t len,
		      struct verdict *out)
{
	perform(e, t, gpa, data, len);
	e->stats.hole_writes++;
	drain(e, t->vcpu);
	if (out)
		*out = (struct verdict){ .allow = true, .domain = -1,
					 .reason = VERDICT_ALLOW_TRUSTED_CODE };
	return settle(e, t->vcpu);
}

/* Driver code running outside any entry the monitor saw: a function its
 * probes do not cover, called through a pointer (switching on ENTER runs
 * it unprotected; fetch switching runs it in the view), or an interrupt
 * that came while the task was inside the domain and in a kprobe handler,
 * when kprobes skip every probe on that CPU (it runs on the IRQ stack, not
 * the entry's; so does the code of no module there, such as the ftrace
 * trampolines of the probes skipped, which the verdict would otherwise
 * charge to the entry's domain).  Nothing was granted for that call: its
 * writes are let through (counted).  Writes under an entry are judged. */
static bool unentered(struct engine *e, const struct engine_trap *t)
{
	if (!iso_active(&e->iso, t->vcpu))
		return e->fetch && iso_domain_of_rip(&e->iso, t->rip);
	return iso_off_entry_stack(&e->iso, t->vcpu, t->rsp) &&
	       !iso_rip_trusted(&e->iso, t->rip);
}

/* ---- recovery ---- */

/* Send vcpu to the guest's recovery entry at its next exit: a write of
 * domain's denied, or a hang in it; only under an entry (there is a frame
 * to unwind to). */
static void want_recovery(struct engine *e, unsigned int vcpu,
			  unsigned int domain, int why, uint64_t rip)
{
	struct engine_vcpu *ev = &e->vcpu[vcpu];

	if (e->cfg.recover == RECOVER_OFF || e->cfg.learn ||
	    vcpu >= e->cfg.vcpus || !iso_outermost(&e->iso, vcpu, domain))
		return;
	/* A write denied while a hang waits is what it is: a write. */
	if (__atomic_load_n(&ev->rec_pending, __ATOMIC_ACQUIRE) &&
	    (why == CHARIOT_FAULT_HANG || ev->rec_why != CHARIOT_FAULT_HANG))
		return;
	ev->rec_why = why;
	ev->rec_domain = domain;
	ev->rec_rip = rip;
	ev->rec_since = now_ns();
	__atomic_store_n(&ev->rec_pending, true, __ATOMIC_RELEASE);
}

bool engine_recover_pending(struct engine *e, unsigned int vcpu)
{
	return vcpu < e->cfg.vcpus &&
	       __atomic_load_n(&e->vcpu[vcpu].rec_pending, __ATOMIC_ACQUIRE);
}

/* A hang pending on vcpu, found at rip and rsp: take it now (1), later
 * (0), or drop it (-1: the hung call has ended).  Called locked. */
static int hang_now(struct engine *e, unsigned int vcpu,
		    const struct engine_stop *at)
{
	struct engine_vcpu *ev = &e->vcpu[vcpu];
	const struct iso_frame *f;
	struct domain *d;

	/* What the guest posted since the last exit (a LEAVE) first. */
	drain(e, vcpu);
	f = iso_outermost(&e->iso, vcpu, ev->rec_domain);
	if (!f)
		return -1;
	d = iso_domain_of_rip(&e->iso, at->rip);
	if (d && d->id == ev->rec_domain)
		return 1;
	/* Kernel code the driver called, on the task's stack (not an
	 * interrupt's, which is not the driver's call): after a grace in
	 * which the driver's own code never ran, the vCPU is stuck there,
	 * and the unwind, which abandons that kernel code, is the only way
	 * on.  The grace prefers the driver's code: unwinding there
	 * abandons only the driver's state.  Interrupts on: an interrupt's
	 * entry code runs on the task's stack before it switches to the IRQ
	 * stack, with them off (a hang taken at sysvec_apic_timer_interrupt+0xa
	 * unwound the task from inside the interrupt: CI, 2026-12-02). */
	if (!d && (at->rflags & ENGINE_RFLAGS_IF) &&
	    iso_rip_trusted(&e->iso, at->rip) &&
	    iso_on_frame_stack(f, at->rsp) &&
	    recover_hung(ev->rec_since, now_ns(), e->cfg.hang_ms / 2)) {
		e->stats.hangs_in_kernel++;
		return 1;
	}
	return 0;
}

int engine_recover_take(struct engine *e, unsigned int vcpu,
			const struct engine_stop *at, struct engine_redirect *r)
{
	struct engine_vcpu *ev = &e->vcpu[vcpu];
	const uint8_t *area = (const uint8_t *)e->cfg.shm +
			      CHARIOT_SHM_RECOVERY_OFFSET;
	uint64_t entry;
	int ret = 0, now;

	if (!engine_recover_pending(e, vcpu))
		return 0;
	pthread_mutex_lock(&e->lock);
	if (ev->rec_why == CHARIOT_FAULT_HANG) {
		now = hang_now(e, vcpu, at);
		if (now < 0) {
			e->stats.hangs_left++;
			__atomic_store_n(&ev->rec_pending, false,
					 __ATOMIC_RELEASE);
		}
		if (now <= 0)
			goto out;
	}
	__atomic_store_n(&ev->rec_pending, false, __ATOMIC_RELEASE);
	entry = recover_entry(area, e->cfg.shm_size -
			      CHARIOT_SHM_RECOVERY_OFFSET);
	if (!entry || !iso_rip_trusted(&e->iso, entry) ||
	    iso_domain_of_rip(&e->iso, entry)) {
		e->stats.recover_no_entry++;
		goto out;
	}
	*r = (struct engine_redirect){ .rip = entry, .domain = ev->rec_domain,
				       .fault_rip = ev->rec_why ==
						    CHARIOT_FAULT_HANG ? at->rip :
						    ev->rec_rip,
				       .why = (uint64_t)ev->rec_why,
				       .resume = at->rip };
	if (ev->rec_why == CHARIOT_FAULT_HANG)
		ev->entered_ns = now_ns();	/* not again before it leaves */
	e->stats.recover_redirects++;
	ret = 1;
out:
	pthread_mutex_unlock(&e->lock);
	return ret;
}

/* vCPUs inside a driver's entry longer than cfg.hang_ms: hung. */
static void watch_hangs(struct engine *e)
{
	uint64_t now = now_ns();

	for (unsigned int v = 0; v < e->cfg.vcpus; v++) {
		struct engine_vcpu *ev = &e->vcpu[v];

		if (ev->top < 0 ||
		    !recover_hung(ev->entered_ns, now, e->cfg.hang_ms))
			continue;
		if (!engine_recover_pending(e, v)) {
			want_recovery(e, v, (unsigned int)ev->top,
				      CHARIOT_FAULT_HANG, 0);
			e->stats.hangs++;
		}
		/* Until it is taken (the vCPU found in the driver's code),
		 * kicked again now and then, not at every watch. */
		if (engine_recover_pending(e, v) &&
		    now - ev->rec_kicked > RECOVER_KICK_NS) {
			ev->rec_kicked = now;
			kick(e, v);
		}
	}
}

int engine_ram_write(struct engine *e, const struct engine_trap *t,
		     uint64_t gpa, const uint8_t *data, uint32_t len,
		     struct verdict *out)
{
	unsigned int vcpu = t->vcpu;
	uint64_t rip = t->rip, t0 = now_ns();
	unsigned int logged;
	struct verdict v;
	int err;

	pthread_mutex_lock(&e->lock);
	if (e->fetch && vcpu < e->cfg.vcpus &&
	    !protect_is_on(&e->prot, vcpu)) {
		err = hole_write(e, t, gpa, data, len, out);
		pthread_mutex_unlock(&e->lock);
		return err;
	}
	e->stats.trapped_writes++;
	drain(e, vcpu);
	if (unentered(e, t)) {
		err = hole_write(e, t, gpa, data, len, out);
		e->stats.hole_writes--;
		e->stats.unentered_writes++;
		pthread_mutex_unlock(&e->lock);
		return err;
	}
	logged = e->iso.log.n;
	profile_add(&e->prof_writes, rip);
	v = verdict_judge(&e->iso, vcpu, rip, gpa, len);
	if (v.allow)
		perform(e, t, gpa, data, len);
	account(e, &v, rip, logged);
	if (e->ring.hist && (!v.allow || v.learned) && e->stats.debug_shown < 4) {
		e->stats.debug_shown++;
		fprintf(stderr, "isolation: vCPU %u rip 0x%llx: write to 0x%llx "
			"+%u not granted; ", vcpu, (unsigned long long)rip,
			(unsigned long long)gpa, len);
		ring_history(&e->ring, stderr, gpa & ~0x3full, 0x40);
	}
	if (!v.allow && !v.learned && v.domain >= 0)
		want_recovery(e, vcpu, (unsigned int)v.domain,
			      CHARIOT_FAULT_WRITE, rip);
	/* Kernel code filling the driver's own memory (a kzalloc'd buffer)
	 * opens its page as the driver's writes do: iso_open_page() opens
	 * only pages wholly in the driver's ACT, so nothing is lost. */
	if (v.domain >= 0 && !v.learned &&
	    (v.reason == VERDICT_ALLOW_ACT ||
	     v.reason == VERDICT_ALLOW_TRUSTED_CODE) &&
	    pagecache_open_allowed(iso_domain(&e->iso, v.domain), gpa)) {
		make_owner(e, (unsigned int)v.domain);
		iso_open_page(&e->iso, iso_domain(&e->iso, v.domain), gpa);
	}
	open_stack(e, t, &v, gpa);
	/* Kernel code run protected that writes too much for it goes back
	 * to being a hole at this settle. */
	leaf_wrote(&e->leaf, vcpu, rip, entries_now(e));
	err = settle(e, vcpu);
	e->stats.trap_ns += now_ns() - t0;
	pthread_mutex_unlock(&e->lock);
	if (out)
		*out = v;
	return err;
}

void engine_ram_read(struct engine *e, unsigned int vcpu, uint64_t gpa,
		     uint8_t *data, uint32_t len)
{
	const uint8_t *p = guest_mem_ptr(e->cfg.mem, gpa, len);

	if (p)
		memcpy(data, p, len);
	else
		memset(data, 0xff, len);
	pthread_mutex_lock(&e->lock);
	e->stats.ram_reads++;
	if (e->fetch) {		/* a stale hole goes at its first touch */
		drain(e, vcpu);
		settle(e, vcpu);
	}
	pthread_mutex_unlock(&e->lock);
}

int engine_fetch_fault(struct engine *e, unsigned int vcpu, uint64_t rip,
		       uint64_t rsp, const uint64_t gpa[2])
{
	uint64_t t0 = now_ns();
	bool on, was;
	int ret = 0, err;

	if (!e->fetch || vcpu >= e->cfg.vcpus)
		return 0;
	pthread_mutex_lock(&e->lock);
	on = protect_is_on(&e->prot, vcpu);
	was = fetch_hit(e, on, gpa);
	leaf_switched(&e->leaf, vcpu);
	drain(e, vcpu);
	update_holes(e, vcpu);
	if (fetch_hit(e, on, gpa)) {
		fetch_switch(e, vcpu, rip, !on);
		/* A page called often enough runs protected from the next
		 * settle on (its holes are recomputed then). */
		if (on && !e->leaf.off && driver_called(e, vcpu, rip, rsp))
			leaf_called(&e->leaf, rip, entries_now(e));
		ret = 1;
	} else if (was || e->vcpu[vcpu].hole_gen !=
			  __atomic_load_n(&e->hole_gen, __ATOMIC_ACQUIRE)) {
		/* The hole went while it ran, or just now: run again. */
		e->stats.fetch_stale++;
		ret = 1;
	}
	err = settle(e, vcpu);
	e->stats.fetch_ns += now_ns() - t0;
	pthread_mutex_unlock(&e->lock);
	return err ? err : ret;
}

bool engine_kvm_queues_ud(struct engine *e)
{
	return !e->exit_on_emulation_failure;
}

/* The write vcpu is stuck on, which KVM cannot emulate, of len bytes from
 * gpa[0] to gpa[1] (its last byte, maybe on another page): judged per
 * page; allowed, its pages open; denied, the run must end. */
static int judge_unemulated(struct engine *e, unsigned int vcpu,
			    uint64_t rip, const uint64_t gpa[2], uint32_t len)
{
	uint64_t first = PC_PAGE_SIZE - (gpa[0] & ~PC_PAGE_MASK);
	bool split = (gpa[0] & PC_PAGE_MASK) != (gpa[1] & PC_PAGE_MASK);
	struct verdict v;
	unsigned int logged = e->iso.log.n;
	int added;

	/* Writable already: not what stalls it (a watchdog kick of a busy
	 * vCPU finds such writes too). */
	if (protect_writable(&e->prot, gpa[0]) &&
	    (!split || protect_writable(&e->prot, gpa[1])))
		return 0;
	e->stats.unemulated_writes++;
	if (!split || len <= first)
		first = len;
	v = verdict_judge(&e->iso, vcpu, rip, gpa[0], (uint32_t)first);
	if (v.allow && split && len > first)
		v = verdict_judge(&e->iso, vcpu, rip, gpa[1] & PC_PAGE_MASK,
				  len - (uint32_t)first);
	account(e, &v, rip, logged);
	if (!v.allow) {
		if (e->err)
			return e->err;
		e->err = -EPERM;
		snprintf(e->errmsg, sizeof(e->errmsg), "isolation: vCPU %u: "
			 "denied write KVM cannot emulate (rip 0x%llx, gpa "
			 "0x%llx): neither droppable nor performable", vcpu,
			 (unsigned long long)rip, (unsigned long long)gpa[0]);
		return -EPERM;
	}
	added = (int)add_sys_page(e, gpa[0] & PC_PAGE_MASK);
	if (split)
		added += (int)add_sys_page(e, gpa[1] & PC_PAGE_MASK);
	return added;
}

int engine_vcpu_stalled(struct engine *e, unsigned int vcpu)
{
	uint64_t pages[2], rip = 0, gpa[2] = { 0, 0 };
	uint32_t len = 0;
	int n = 0, w = 0, added = 0;

	if (e->cfg.event_pages)
		n = e->cfg.event_pages(e->cfg.opaque, vcpu, pages, 2);
	if (e->cfg.unemulated_write)
		w = e->cfg.unemulated_write(e->cfg.opaque, vcpu, &rip, gpa,
					    &len);
	pthread_mutex_lock(&e->lock);
	drain(e, vcpu);
	if (n > 0)
		e->stats.events_blocked++;
	for (int i = 0; i < n; i++)
		added += (int)add_sys_page(e, pages[i]);
	n = add_tables(e, vcpu, true);
	if (n > 0)
		added += n;
	if (w > 0 && !added) {
		n = judge_unemulated(e, vcpu, rip, gpa, len);
		added = n < 0 ? n : added + n;
	}
	if (!added && !(e->cfg.halted && e->cfg.halted(e->cfg.opaque, vcpu)))
		added = add_user_tables(e, vcpu);
	if (!added) {	/* busy, halted, or stuck on what is not known */
		e->stats.stalls_unresolved++;
		e->stats.stall_rip = rip;
		e->stats.stall_halted = e->cfg.halted &&
					e->cfg.halted(e->cfg.opaque, vcpu);
	}
	if (settle(e, vcpu) && added >= 0)
		added = -EIO;
	pthread_mutex_unlock(&e->lock);
	return added;
}

/* Is vcpu about to run in the protected view? */
static bool in_view(struct engine *e, unsigned int vcpu)
{
	if (smm_view(e))
		return protect_is_on(&e->prot, vcpu);
	return __atomic_load_n(&e->view_on, __ATOMIC_RELAXED);
}

bool engine_in_view(struct engine *e, unsigned int vcpu)
{
	return vcpu < e->cfg.vcpus && in_view(e, vcpu);
}

uint64_t engine_view_edits(struct engine *e)
{
	return __atomic_load_n(&e->prot.stats.apply.edits, __ATOMIC_RELAXED) +
	       __atomic_load_n(&e->prot.stats.normal.edits, __ATOMIC_RELAXED);
}

int engine_run_begin(struct engine *e, unsigned int vcpu)
{
	struct engine_vcpu *ev = &e->vcpu[vcpu];
	int err = __atomic_load_n(&e->err, __ATOMIC_RELAXED);

	if (err)
		return err;	/* protection is broken: every vCPU stops */
	if (!ev->started)
		__atomic_store_n(&ev->started, true, __ATOMIC_RELEASE);
	if (__atomic_exchange_n(&ev->suspect, false, __ATOMIC_ACQ_REL)) {
		err = engine_vcpu_stalled(e, vcpu);
		if (err < 0)
			return err;
		err = 0;
	}
	/* on[vcpu] changes only on this thread: read it unlocked. */
	if (smm_view(e) ? __atomic_load_n(&ev->want, __ATOMIC_ACQUIRE) !=
			  protect_is_on(&e->prot, vcpu)
			: __atomic_load_n(&e->view_on, __ATOMIC_RELAXED)) {
		pthread_mutex_lock(&e->lock);
		err = settle(e, vcpu);
		pthread_mutex_unlock(&e->lock);
	}
	if (err)
		return err;
	if (!smm_view(e) || protect_is_on(&e->prot, vcpu))
		ev->held = &e->run_lock;
	else if (e->fetch)
		ev->held = &e->run_lock_normal;
	if (ev->held)
		pthread_rwlock_rdlock(ev->held);
	/* Hole edits happen under the writer lock: this run sees these. */
	ev->hole_gen = __atomic_load_n(&e->hole_gen, __ATOMIC_ACQUIRE);
	if (in_view(e, vcpu))
		__atomic_store_n(&ev->run_since, now_ns(), __ATOMIC_RELAXED);
	return 0;
}

void engine_run_end(struct engine *e, unsigned int vcpu)
{
	struct engine_vcpu *ev = &e->vcpu[vcpu];

	__atomic_store_n(&ev->run_since, 0, __ATOMIC_RELAXED);
	if (ev->held) {
		pthread_rwlock_unlock(ev->held);
		ev->held = NULL;
	}
}

/* May v run in the view edited (normal: the normal view)? */
static bool runs_in(struct engine *e, unsigned int v, bool normal)
{
	if (!smm_view(e))
		return true;	/* read-only-all: one view, all vCPUs */
	return protect_is_on(&e->prot, v) != normal;
}

/* protect's pause: every other vCPU that may run in the view edited (all
 * of them under read-only-all; in the SMM view the protected ones, or for
 * the normal view the others) leaves KVM_RUN and waits in
 * engine_run_begin() until the view is whole again.  A vCPU whose thread
 * started after the kicks is kicked at the next retry. */
static void pause_vcpus(void *opaque, unsigned int self, bool normal,
			bool stop)
{
	struct engine *e = opaque;
	pthread_rwlock_t *lock = normal ? &e->run_lock_normal : &e->run_lock;
	struct timespec dl;

	if (!stop) {
		pthread_rwlock_unlock(lock);
		return;
	}
	for (;;) {
		for (unsigned int v = 0; v < e->cfg.vcpus; v++)
			if (v != self && runs_in(e, v, normal))
				kick(e, v);
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_nsec += PAUSE_RETRY_NS;
		if (dl.tv_nsec >= 1000000000L) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000L;
		}
		if (!pthread_rwlock_timedwrlock(lock, &dl))
			return;
	}
}

void engine_announce(struct engine *e, uint64_t text, uint64_t etext)
{
	pthread_mutex_lock(&e->lock);
	if (text && etext > text && text != e->kernel_text &&
	    !iso_add_trusted(&e->iso, text, etext - text)) {
		e->kernel_text = text;
		e->kernel_etext = etext;
	}
	pthread_mutex_unlock(&e->lock);
}

bool engine_fetch_switching(const struct engine *e)
{
	return e->fetch;	/* set once at init */
}

bool engine_module_loaded(struct engine *e, unsigned int i)
{
	bool loaded;

	pthread_mutex_lock(&e->lock);
	loaded = i < e->cfg.nmodules && e->mod[i].loaded;
	pthread_mutex_unlock(&e->lock);
	return loaded;
}

/* Kick the vCPUs that have been in KVM_RUN in the view too long: they
 * may be stuck delivering an event (engine.h). */
static void watch(struct engine *e)
{
	uint64_t limit = (uint64_t)e->cfg.watchdog_ms * 1000000, now = now_ns();

	for (unsigned int v = 0; v < e->cfg.vcpus; v++) {
		struct engine_vcpu *ev = &e->vcpu[v];
		uint64_t since = __atomic_load_n(&ev->run_since,
						 __ATOMIC_RELAXED);

		if (!since || now - since < limit ||
		    __atomic_exchange_n(&ev->suspect, true, __ATOMIC_ACQ_REL))
			continue;
		e->cfg.kick(e->cfg.opaque, v);
		__atomic_add_fetch(&e->stats.watchdog_kicks, 1,
				   __ATOMIC_RELAXED);
	}
}

static void *watchdog(void *arg)
{
	struct engine *e = arg;
	struct timespec dl;

	pthread_mutex_lock(&e->lock);
	while (!e->watchdog_stop) {
		clock_gettime(CLOCK_MONOTONIC, &dl);
		dl.tv_nsec += (long)e->cfg.watchdog_ms * 500000;
		dl.tv_sec += dl.tv_nsec / 1000000000L;
		dl.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&e->watchdog_cond, &e->lock, &dl);
		if (!e->watchdog_stop)
			watch(e);
		if (!e->watchdog_stop && e->cfg.recover != RECOVER_OFF)
			watch_hangs(e);
	}
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

static int start_watchdog(struct engine *e)
{
	pthread_condattr_t a;
	int r;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	r = pthread_cond_init(&e->watchdog_cond, &a);
	pthread_condattr_destroy(&a);
	if (r)
		return -r;
	if (!e->cfg.watchdog_ms || !e->cfg.kick)
		return 0;
	r = pthread_create(&e->watchdog, NULL, watchdog, e);
	e->watchdog_on = !r;
	return -r;
}

/* ---- set-up ---- */

static bool ram_ok(void *opaque, uint64_t gpa, uint64_t len)
{
	struct engine *e = opaque;

	return len && guest_mem_ptr(e->cfg.mem, gpa, len);
}

static int fail(char *err, size_t errlen, int rc, const char *what)
{
	snprintf(err, errlen, "isolation: %s: %s", what, strerror(-rc));
	return rc;
}

static int check_config(const struct engine_config *c)
{
	if (!c->vcpus || c->vcpus > ISO_MAX_VCPUS ||
	    c->nmodules > ENGINE_MAX_MODULES || !c->mem || !c->shm ||
	    c->shm_size < CHARIOT_SHM_RING_OFFSET + CHARIOT_SHM_RING_SIZE ||
	    c->shm_size < CHARIOT_SHM_SYSMAP_OFFSET + CHARIOT_SHM_SYSMAP_SIZE ||
	    (unsigned int)c->mech >= PROTECT_MECHS ||
	    (c->fetch_switch && (c->mech != PROTECT_SMM_VIEW ||
				 !c->kernel_cr3 || !c->walk)))
		return -EINVAL;
	for (unsigned int i = 0; i < c->nmodules; i++)
		if (!c->modules[i] || !*c->modules[i] ||
		    strlen(c->modules[i]) >= DOMAIN_NAME_LEN)
			return -EINVAL;
	return 0;
}

static int init_locks(struct engine *e)
{
	pthread_rwlockattr_t a;
	int r;

	r = pthread_mutex_init(&e->lock, NULL);
	if (r)
		return -r;
	/* Writer first: new readers wait while a view change is pending. */
	pthread_rwlockattr_init(&a);
	pthread_rwlockattr_setkind_np(&a,
		PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	r = pthread_rwlock_init(&e->run_lock, &a);
	if (!r) {
		r = pthread_rwlock_init(&e->run_lock_normal, &a);
		if (r)
			pthread_rwlock_destroy(&e->run_lock);
	}
	pthread_rwlockattr_destroy(&a);
	if (r)
		pthread_mutex_destroy(&e->lock);
	return -r;
}

static int init_protect(struct engine *e)
{
	const struct guest_mem *m = e->cfg.mem;
	struct protect_config pc = {
		.mech = e->cfg.mech, .vcpus = e->cfg.vcpus,
		.region = { { 0, m->low_size, 0 } }, .nregion = 1,
		.fixed = { { e->cfg.shm_gpa, e->cfg.shm_gpa + e->cfg.shm_size } },
		.nfixed = 1,
		.max_open = ISO_MAX_DOMAINS * e->cfg.open_pages +
			    ENGINE_SYS_PAGES,
		.max_holes = e->fetch ? ENGINE_MAX_HOLES : 0,
		.ops = e->cfg.ops,
		.pause = pause_vcpus, .pause_opaque = e,
	};
	int err;

	if (m->high_size)
		pc.region[pc.nregion++] = (struct pt_region){
			GUEST_HIGH_START, m->high_size, m->low_size };
	if (!pc.ops) {
		e->kvm = (struct protect_kvm){ e->cfg.vm_fd, e->cfg.vcpu_fd,
					       e->cfg.vcpus, m->host };
		e->kvm_ops = protect_kvm_ops(&e->kvm);
		pc.ops = &e->kvm_ops;
		pc.max_slots = protect_kvm_max_slots(e->cfg.vm_fd);
		if (pc.mech == PROTECT_SMM_VIEW) {
			err = protect_kvm_set_smbase(&e->kvm, ENGINE_SMBASE);
			if (err)
				return err;
		}
		/* Every mechanism meets writes KVM cannot emulate (a
		 * kernel's cmpxchg16b run protected), fetch switching also
		 * its fetch faults: both are handled, not the guest's #UD. */
		e->exit_on_emulation_failure =
			!protect_kvm_exit_on_emulation_failure(e->cfg.vm_fd);
	} else {
		e->exit_on_emulation_failure = true;
	}
	return protect_init(&e->prot, &pc);
}

int engine_init(struct engine *e, const struct engine_config *cfg,
		char *err, size_t errlen)
{
	struct iso_config ic;
	struct ring_config rc = { .gpa_ok = ram_ok, .page_freed = page_freed,
				  .opaque = e };
	const char *dbg = getenv("CHARIOT_DEBUG_DENY");
	int r;

	memset(e, 0, sizeof(*e));
	r = check_config(cfg);
	if (r)
		return fail(err, errlen, r, "configuration");
	e->cfg = *cfg;
	if (!e->cfg.open_pages)
		e->cfg.open_pages = ENGINE_OPEN_PAGES;
	if (!e->cfg.act_entries)
		e->cfg.act_entries = ENGINE_ACT_ENTRIES;
	for (unsigned int i = 0; i < cfg->nmodules; i++) {
		snprintf(e->mod[i].name, sizeof(e->mod[i].name), "%s",
			 cfg->modules[i]);
		e->cfg.modules[i] = e->mod[i].name;
	}
	e->owner = -1;
	e->fetch = cfg->fetch_switch;
	leaf_init(&e->leaf, !e->fetch || cfg->leaf_off);
	e->sysmap = (uint8_t *)cfg->shm + CHARIOT_SHM_SYSMAP_OFFSET;
	memset(e->sysmap, 0, CHARIOT_SHM_SYSMAP_SIZE);
	for (unsigned int v = 0; v < ISO_MAX_VCPUS; v++)
		e->vcpu[v].top = -1;
	ic = (struct iso_config){
		.vcpus = cfg->vcpus, .act_entries = e->cfg.act_entries,
		.open_pages = e->cfg.open_pages, .learn = cfg->learn,
		.protect = on_page, .opaque = e,
	};
	r = init_locks(e);
	if (r)
		return fail(err, errlen, r, "locks");
	/* Debugging false alarms: the last records, shown at a denial. */
	if (dbg && *dbg)
		rc.history = 1u << 18;
	r = iso_init(&e->iso, &ic);
	if (!r)
		r = ring_init(&e->ring, (uint8_t *)cfg->shm +
			      CHARIOT_SHM_RING_OFFSET, CHARIOT_SHM_RING_SIZE,
			      &rc);
	if (r) {
		engine_destroy(e);
		return fail(err, errlen, r, "the update ring");
	}
	r = init_protect(e);
	if (r) {
		engine_destroy(e);
		return fail(err, errlen, r, "setting up the protected view");
	}
	r = start_watchdog(e);
	if (r) {
		engine_destroy(e);
		return fail(err, errlen, r, "starting the watchdog");
	}
	return 0;
}

void engine_destroy(struct engine *e)
{
	if (e->watchdog_on) {
		pthread_mutex_lock(&e->lock);
		e->watchdog_stop = true;
		pthread_cond_signal(&e->watchdog_cond);
		pthread_mutex_unlock(&e->lock);
		pthread_join(e->watchdog, NULL);
		e->watchdog_on = false;
	}
	pthread_cond_destroy(&e->watchdog_cond);
	ring_destroy(&e->ring);
	iso_destroy(&e->iso);
	protect_destroy(&e->prot);
	pthread_rwlock_destroy(&e->run_lock_normal);
	pthread_rwlock_destroy(&e->run_lock);
	pthread_mutex_destroy(&e->lock);
}

/* ---- the report ---- */

static double mean_us(uint64_t ns, uint64_t n)
{
	return n ? (double)ns / 1e3 / (double)n : 0.0;
}

static void json_hex(FILE *f, const char *key, uint64_t v)
{
	fprintf(f, "\"%s\": \"0x%llx\"", key, (unsigned long long)v);
}

/* Watchdog kicks that found nothing to open: the vCPU was busy, halted
 * in the view, or stuck on something not handled; where the last one
 * was. */
static void report_stalls(struct engine *e, FILE *f)
{
	char sym[ENGINE_SYMBOL_LEN];

	fprintf(f, ",\n    \"stalls_unresolved\": %llu",
		(unsigned long long)e->stats.stalls_unresolved);
	if (!e->stats.stalls_unresolved)
		return;
	symbolize(e, e->stats.stall_rip, sym, sizeof(sym));
	fputs(", \"last_stall\": {", f);
	json_hex(f, "rip", e->stats.stall_rip);
	fputs(", \"symbol\": ", f);
	json_string(f, sym[0] ? sym : NULL);
	fprintf(f, ", \"halted\": %s}", e->stats.stall_halted ? "true"
							      : "false");
}

/* Fetch switching: how often each way, at what cost, the holes. */
static void report_fetch(struct engine *e, FILE *f)
{
	const struct engine_stats *s = &e->stats;

	fprintf(f, ",\n    \"fetch_switching\": %s, \"unentered_writes\": %llu",
		e->fetch ? "true" : "false",
		(unsigned long long)s->unentered_writes);
	if (!e->fetch)
		return;
	fprintf(f, ", \"fetch_enters\": %llu, \"fetch_leaves\": %llu, "
		"\"fetch_stale\": %llu, \"fetch_us_mean\": %.1f,\n    "
		"\"hole_writes\": %llu, "
		"\"hole_updates\": %llu, "
		"\"hole_misses\": %llu, \"holes\": [%u, %u], "
		"\"normal_view_edits\": %llu, \"exit_on_emulation_failure\": %s",
		(unsigned long long)s->fetch_enters,
		(unsigned long long)s->fetch_leaves,
		(unsigned long long)s->fetch_stale,
		mean_us(s->fetch_ns, s->fetch_enters + s->fetch_leaves +
			s->fetch_stale),
		(unsigned long long)s->hole_writes,
		(unsigned long long)s->hole_updates,
		(unsigned long long)s->hole_misses, e->prot.nhole[0],
		e->prot.nhole[1],
		(unsigned long long)e->prot.stats.normal.edits,
		e->exit_on_emulation_failure ? "true" : "false");
	fprintf(f, ",\n    \"kernel_pages_run\": {\"on\": %s, "
		"\"promoted\": %llu, \"demoted\": %llu, \"now\": %u}",
		e->leaf.off ? "false" : "true",
		(unsigned long long)e->leaf.promotions,
		(unsigned long long)e->leaf.demotions, e->leaf.running);
}

static void report_top(struct engine *e, FILE *f, const char *key,
		       const struct profile *p)
{
	struct profile_ent top[PROFILE_TOP];
	size_t n = profile_top(p, top, PROFILE_TOP);
	char sym[ENGINE_SYMBOL_LEN];

	fprintf(f, "\"%s\": [", key);
	for (size_t i = 0; i < n; i++) {
		symbolize(e, top[i].rip, sym, sizeof(sym));
		fputs(i ? ", {" : "{", f);
		json_hex(f, "rip", top[i].rip);
		fputs(", \"symbol\": ", f);
		json_string(f, sym[0] ? sym : NULL);
		fprintf(f, ", \"count\": %llu}",
			(unsigned long long)top[i].count);
	}
	fprintf(f, "], \"%s_missed\": %llu", key,
		(unsigned long long)p->missed);
}

/* The busiest RIPs: whose writes were trapped, where vCPUs left drivers'
 * code for. */
static void report_profile(struct engine *e, FILE *f)
{
	fputs(",\n    \"profile\": {", f);
	report_top(e, f, "trapped_writes", &e->prof_writes);
	if (e->fetch) {
		fputs(",\n      ", f);
		report_top(e, f, "left_for", &e->prof_leaves);
	}
	fputc('}', f);
}

static void report_isolation(struct engine *e, FILE *f)
{
	const struct protect_stats *ps = &e->prot.stats;
	const struct ring_stats *rs = &e->ring.stats;

	fputs(",\n  \"isolation\": {\"mechanism\": ", f);
	json_string(f, protect_mech_name(e->cfg.mech));
	fprintf(f, ", \"policy\": \"%s\",\n    ",
		e->cfg.learn ? "learn" : "enforce");
	fprintf(f, "\"doorbells\": %llu, \"trapped_writes\": %llu, "
		"\"trap_us_mean\": %.1f, \"ram_reads\": %llu, "
		"\"write_errors\": %llu,\n    ",
		(unsigned long long)e->stats.doorbells,
		(unsigned long long)e->stats.trapped_writes,
		mean_us(e->stats.trap_ns, e->stats.trapped_writes),
		(unsigned long long)e->stats.ram_reads,
		(unsigned long long)e->stats.write_errors);
	fprintf(f, "\"switches\": %llu, \"switch_us_mean\": %.1f, "
		"\"view_edits\": %llu, \"slots_created\": %llu, "
		"\"slots_deleted\": %llu, \"view_edit_us_mean\": %.1f, "
		"\"pauses\": %llu, \"kicks\": %llu, \"slots\": %u, "
		"\"max_slots\": %u,\n    ",
		(unsigned long long)ps->switches,
		mean_us(ps->switch_ns, ps->switches),
		(unsigned long long)ps->apply.edits,
		(unsigned long long)ps->apply.created,
		(unsigned long long)ps->apply.deleted,
		mean_us(ps->apply.ns, ps->apply.edits),
		(unsigned long long)ps->pauses,
		(unsigned long long)e->stats.kicks, e->prot.view.n,
		ps->max_slots);
	fprintf(f, "\"watchdog_kicks\": %llu, \"events_blocked\": %llu, "
		"\"table_walks\": %llu, \"unemulated_writes\": %llu, "
		"\"atomic_writes\": %llu, \"atomic_raced\": %llu, "
		"\"atomic_unhandled\": %llu, "
		"\"sys_pages\": %llu, \"sys_freed\": %llu, "
		"\"sys_freed_posts\": %llu, "
		"\"vcpu_mismatch\": %llu, \"owner_switches\": %llu,\n    "
		"\"violations_dropped\": %llu, \"error\": ",
		(unsigned long long)e->stats.watchdog_kicks,
		(unsigned long long)e->stats.events_blocked,
		(unsigned long long)e->stats.table_walks,
		(unsigned long long)e->stats.unemulated_writes,
		(unsigned long long)e->stats.atomic_writes,
		(unsigned long long)e->stats.atomic_raced,
		(unsigned long long)e->stats.atomic_unhandled,
		(unsigned long long)e->stats.sys_pages,
		(unsigned long long)e->stats.sys_freed,
		(unsigned long long)e->stats.sys_freed_posts,
		(unsigned long long)e->stats.vcpu_mismatch,
		(unsigned long long)e->stats.owner_switches,
		(unsigned long long)e->iso.log.dropped);
	json_string(f, e->err ? e->errmsg : NULL);
	report_stalls(e, f);
	report_fetch(e, f);
	report_profile(e, f);
	fprintf(f, ",\n    \"ring\": {\"drains\": %llu, \"applied\": %llu, "
		"\"trusted_ranges\": %u, \"rejected\": {",
		(unsigned long long)rs->drains, (unsigned long long)rs->applied,
		e->iso.ntrusted);
	for (int r = RING_OK + 1; r < RING_ERRS; r++)
		fprintf(f, "%s\"%s\": %llu", r > RING_OK + 1 ? ", " : "",
			ring_err_name(r), (unsigned long long)rs->rejected[r]);
	fputs("}}}", f);
}

static void report_domains(struct engine *e, FILE *f)
{
	bool first = true;

	fputs(",\n  \"domains\": [", f);
	for (unsigned int i = 0; i < e->cfg.nmodules; i++) {
		const struct engine_module *m = &e->mod[i];
		const struct domain_stats *s = &m->stats;

		if (e->cfg.watch[i])
			continue;
		fprintf(f, "%s\n    {\"module\": ", first ? "" : ",");
		first = false;
		json_string(f, m->name);
		fprintf(f, ", \"loaded\": %s, \"entries\": %llu, "
			"\"trapped_writes\": %llu, \"allowed\": %llu, "
			"\"denied\": %llu, \"learned\": %llu, "
			"\"pages_opened\": %llu, \"act_entries\": %llu}",
			m->loaded ? "true" : "false",
			(unsigned long long)s->entries,
			(unsigned long long)s->trapped_writes,
			(unsigned long long)s->allowed,
			(unsigned long long)s->denied,
			(unsigned long long)s->learned,
			(unsigned long long)s->pages_opened,
			(unsigned long long)s->act_entries);
	}
	fputs(first ? "]" : "\n  ]", f);
}

/* What the guest monitor did about each fault (its records, validated). */
static void report_faults(struct engine *e, FILE *f)
{
	struct recover_fault faults[CHARIOT_FAULTS_MAX];	/* ~2 KiB */
	const uint8_t *area = (const uint8_t *)e->cfg.shm +
			      CHARIOT_SHM_RECOVERY_OFFSET;
	unsigned int n, rejected;

	n = recover_read(area, e->cfg.shm_size - CHARIOT_SHM_RECOVERY_OFFSET,
			 e->cfg.nmodules, faults, CHARIOT_FAULTS_MAX,
			 &rejected);
	fprintf(f, ",\n  \"recovery\": {\"mode\": \"%s\", \"hang_ms\": %u, "
		"\"redirects\": %llu, \"hangs\": %llu, \"hangs_in_kernel\": %llu, "
		"\"hangs_left\": %llu, \"no_entry\": %llu, "
		"\"records_rejected\": %u},\n  \"faults\": [",
		recover_mode_name(e->cfg.recover), e->cfg.hang_ms,
		(unsigned long long)e->stats.recover_redirects,
		(unsigned long long)e->stats.hangs,
		(unsigned long long)e->stats.hangs_in_kernel,
		(unsigned long long)e->stats.hangs_left,
		(unsigned long long)e->stats.recover_no_entry, rejected);
	recover_json(f, faults, n, e->cfg.modules);
	fputs(n ? "\n  ]" : "]", f);
}

static void report_violations(struct engine *e, FILE *f)
{
	const struct violation_log *log = &e->iso.log;

	fputs(",\n  \"violations\": [", f);
	for (unsigned int i = 0; i < log->n; i++) {
		const struct violation *v = &log->v[i];

		fprintf(f, "%s\n    {\"module\": ", i ? "," : "");
		json_string(f, e->vmod[i][0] ? e->vmod[i] : NULL);
		fprintf(f, ", \"vcpu\": %u, ", v->vcpu);
		json_hex(f, "rip", v->rip);
		fputs(", \"symbol\": ", f);
		json_string(f, e->vsym[i][0] ? e->vsym[i] : NULL);
		fputs(", ", f);
		json_hex(f, "gpa", v->gpa);
		fprintf(f, ", \"len\": %u, \"verdict\": \"%s\", \"reason\": ",
			v->len, v->learned ? "learned" : "denied");
		json_string(f, verdict_reason_name(v->reason));
		fputc('}', f);
	}
	fputs(log->n ? "\n  ]" : "]", f);
}

/* Is any requested module isolated (not only watched)? */
static bool isolating(const struct engine *e)
{
	for (unsigned int i = 0; i < e->cfg.nmodules; i++)
		if (!e->cfg.watch[i])
			return true;
	return false;
}

/* Debugging (CHARIOT_DEBUG_DUMP=FILE): every domain's ACT and the system
 * pages, to match against addresses the guest prints. */
static void debug_dump(struct engine *e)
{
	const char *path = getenv("CHARIOT_DEBUG_DUMP");
	FILE *f;

	if (!path || !*path || !(f = fopen(path, "w")))
		return;
	for (unsigned int i = 0; i < e->nsys_pages; i++)
		if (e->sys_page[i] != ~0ull)
			fprintf(f, "sys 0x%llx\n",
				(unsigned long long)e->sys_page[i]);
	for (unsigned int d = 0; d < ISO_MAX_DOMAINS; d++) {
		const struct domain *dom = iso_domain(&e->iso, d);

		if (!dom || !dom->live)
			continue;
		for (const struct act_entry *a = act_first(&dom->act); a;
		     a = a->next)
			fprintf(f, "act %u 0x%llx-0x%llx kind %u cookie 0x%llx\n",
				d, (unsigned long long)a->start,
				(unsigned long long)a->end, a->kind,
				(unsigned long long)a->cookie);
	}
	fclose(f);
}

int engine_report_json(struct engine *e, FILE *f)
{
	if (!e || !isolating(e)) {
		fputs(",\n  \"isolation\": null,\n  \"domains\": [],"
		      "\n  \"violations\": [],\n  \"faults\": []", f);
		return ferror(f) ? -EIO : 0;
	}
	pthread_mutex_lock(&e->lock);
	debug_dump(e);
	report_isolation(e, f);
	report_domains(e, f);
	report_violations(e, f);
	report_faults(e, f);
	pthread_mutex_unlock(&e->lock);
	return ferror(f) ? -EIO : 0;
}
