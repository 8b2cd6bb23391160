/* protect.c - the protected view of guest RAM: its slot layout, applied to
 * KVM as diffs, and the switch of a vCPU into it (protect.h). */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "iso/protect.h"

#define ID_NONE		UINT32_MAX
#define MSR_IA32_SMBASE	0x9e
#define KEEP_DELETED	2	/* pt_as.keep: deleted in this apply */

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

const char *protect_mech_name(enum protect_mech mech)
{
	static const char *const names[PROTECT_MECHS] = {
		[PROTECT_SMM_VIEW] = "smm-view",
		[PROTECT_READONLY_ALL] = "readonly-all",
	};

	return (unsigned int)mech < PROTECT_MECHS ? names[mech] : "?";
}

/* ---- the layout ---- */

struct emitter {
	struct pt_slot *out;
	unsigned int n, max;
	uint64_t chunk;
};

/* Append [gpa, end) of region r; writable stretches merge with a writable
 * neighbour, read-only ones split at chunk multiples. */
static int emit(struct emitter *em, const struct pt_region *r, uint64_t gpa,
		uint64_t end, bool ro)
{
	while (gpa < end) {
		uint64_t stop = end, off = r->host_off + (gpa - r->gpa);
		struct pt_slot *last = em->n ? &em->out[em->n - 1] : NULL;

		if (ro && em->chunk) {
			uint64_t next = (gpa | (em->chunk - 1)) + 1;

			if (next > gpa && next < stop)
				stop = next;
		}
		if (!ro && last && !last->readonly &&
		    last->gpa + last->size == gpa &&
		    last->host_off + last->size == off) {
			last->size += stop - gpa;
		} else {
			if (em->n == em->max)
				return -ENOSPC;
			em->out[em->n++] = (struct pt_slot){
				.gpa = gpa, .size = stop - gpa,
				.host_off = off, .readonly = ro };
		}
		gpa = stop;
	}
	return 0;
}

/* Region r, read-only but for the carve-outs from *k on. */
static int emit_region(struct emitter *em, const struct pt_view_spec *s,
		       const struct pt_region *r, unsigned int *k)
{
	uint64_t pos = r->gpa, end = r->gpa + r->size;
	int err = 0;

	while (*k < s->nrw && s->rw[*k].end <= pos)
		(*k)++;
	while (!err && pos < end) {
		const struct pt_range *c = *k < s->nrw ? &s->rw[*k] : NULL;
		uint64_t a, b;

		if (!c || c->start >= end)
			return emit(em, r, pos, end, true);
		a = c->start > pos ? c->start : pos;
		b = c->end < end ? c->end : end;
		err = emit(em, r, pos, a, true);
		if (!err)
			err = emit(em, r, a, b, false);
		pos = b;
		if (c->end <= end)
			(*k)++;
	}
	return err;
}

/* [gpa, end) of region r, a stretch with no hole in it. */
static int emit_piece(struct emitter *em, const struct pt_view_spec *s,
		      const struct pt_region *r, uint64_t gpa, uint64_t end,
		      unsigned int *k)
{
	struct pt_region piece = { gpa, end - gpa,
				   r->host_off + (gpa - r->gpa) };

	if (s->readonly)
		return emit_region(em, s, &piece, k);
	return emit(em, &piece, gpa, end, false);
}

/* Region r but its holes, from hole *h on. */
static int emit_holed(struct emitter *em, const struct pt_view_spec *s,
		      const struct pt_region *r, unsigned int *h,
		      unsigned int *k)
{
	uint64_t pos = r->gpa, end = r->gpa + r->size;
	int err = 0;

	while (*h < s->nhole && s->hole[*h].end <= pos)
		(*h)++;
	while (!err && pos < end) {
		const struct pt_range *c = *h < s->nhole ? &s->hole[*h] : NULL;

		if (!c || c->start >= end)
			return emit_piece(em, s, r, pos, end, k);
		if (c->start > pos)
			err = emit_piece(em, s, r, pos, c->start, k);
		pos = c->end < end ? c->end : end;
		if (c->end <= end)
			(*h)++;
	}
	return err;
}

int pt_layout_build(const struct pt_view_spec *spec, struct pt_slot *out,
		    unsigned int max)
{
	struct emitter em = { .out = out, .max = max, .chunk = spec->chunk };
	unsigned int k = 0, h = 0;
	int err = 0;

	for (unsigned int i = 0; !err && i < spec->nregion; i++)
		err = emit_holed(&em, spec, &spec->region[i], &h, &k);
	return err ? err : (int)em.n;
}

/* ---- one address space, applied as diffs ---- */

int pt_as_init(struct pt_as *as, unsigned int as_id, unsigned int max)
{
	memset(as, 0, sizeof(*as));
	as->as_id = as_id;
	as->max = max;
	as->slot = calloc(max, sizeof(*as->slot));
	as->id_used = calloc(max, 1);
	as->keep = calloc(max, 1);
	as->fresh = calloc(max, 1);
	if (!as->slot || !as->id_used || !as->keep || !as->fresh) {
		pt_as_destroy(as);
		return -ENOMEM;
	}
	return 0;
}

void pt_as_destroy(struct pt_as *as)
{
	free(as->slot);
	free(as->id_used);
	free(as->keep);
	free(as->fresh);
	memset(as, 0, sizeof(*as));
}

static bool same_slot(const struct pt_slot *a, const struct pt_slot *b)
{
	return a->gpa == b->gpa && a->size == b->size &&
	       a->host_off == b->host_off && a->readonly == b->readonly;
}

unsigned int pt_as_plan(struct pt_as *as, struct pt_slot *want,
			unsigned int n)
{
	unsigned int i = 0, j = 0, deletions = as->n;

	memset(as->keep, 0, as->n);
	for (unsigned int w = 0; w < n; w++)
		want[w].id = ID_NONE;
	while (i < as->n && j < n) {
		if (as->slot[i].gpa < want[j].gpa) {
			i++;
		} else if (as->slot[i].gpa > want[j].gpa) {
			j++;
		} else {
			if (same_slot(&as->slot[i], &want[j])) {
				as->keep[i] = 1;
				want[j].id = as->slot[i].id;
				deletions--;
			}
			i++;
			j++;
		}
	}
	return deletions;
}

static uint32_t kvm_slot(const struct pt_as *as, uint32_t id)
{
	return (uint32_t)as->as_id << PROTECT_AS_SHIFT | id;
}

static int set_slot(const struct pt_as *as, const struct protect_ops *ops,
		    const struct pt_slot *s, bool del)
{
	return ops->set_slot(ops->opaque, kvm_slot(as, s->id), s->gpa,
			     del ? 0 : s->size, s->host_off, s->readonly);
}

static int cmp_gpa(const void *a, const void *b)
{
	const struct pt_slot *x = a, *y = b;

	return x->gpa < y->gpa ? -1 : x->gpa > y->gpa;
}

/* After a failure: as holds the old slots not deleted and the new ones
 * created, in order. */
static void settle(struct pt_as *as, const struct pt_slot *want,
		   unsigned int n)
{
	unsigned int m = 0;

	for (unsigned int i = 0; i < as->n; i++)
		if (as->keep[i] != KEEP_DELETED)
			as->slot[m++] = as->slot[i];
	for (unsigned int j = 0; j < n && m < as->max; j++)
		if (as->fresh[j] && want[j].id != ID_NONE)
			as->slot[m++] = want[j];
	as->n = m;
	qsort(as->slot, m, sizeof(*as->slot), cmp_gpa);
}

static int take_id(struct pt_as *as, uint32_t *id)
{
	for (uint32_t i = 0; i < as->max; i++)
		if (!as->id_used[i]) {
			as->id_used[i] = 1;
			*id = i;
			return 0;
		}
	return -ENOSPC;
}

static int delete_unkept(struct pt_as *as, const struct protect_ops *ops,
			 struct pt_apply_stats *st)
{
	for (unsigned int i = 0; i < as->n; i++) {
		int err;

		if (as->keep[i])
			continue;
		err = set_slot(as, ops, &as->slot[i], true);
		if (err)
			return err;
		as->id_used[as->slot[i].id] = 0;
		as->keep[i] = KEEP_DELETED;
		st->deleted++;
	}
	return 0;
}

static int create_fresh(struct pt_as *as, struct pt_slot *want,
			unsigned int n, const struct protect_ops *ops,
			struct pt_apply_stats *st)
{
	for (unsigned int j = 0; j < n; j++) {
		uint32_t id;
		int err;

		if (!as->fresh[j])
			continue;
		err = take_id(as, &id);
		if (err)
			return err;
		want[j].id = id;
		err = set_slot(as, ops, &want[j], false);
		if (err) {
			as->id_used[id] = 0;
			want[j].id = ID_NONE;
			return err;
		}
		st->created++;
	}
	return 0;
}

int pt_as_apply(struct pt_as *as, struct pt_slot *want, unsigned int n,
		const struct protect_ops *ops, struct pt_apply_stats *st)
{
	uint64_t t0 = now_ns(), made = st->created;
	unsigned int deletions;
	int err;

	if (n > as->max)
		return -ENOSPC;
	deletions = pt_as_plan(as, want, n);
	for (unsigned int j = 0; j < n; j++)
		as->fresh[j] = want[j].id == ID_NONE;
	err = delete_unkept(as, ops, st);
	if (!err)
		err = create_fresh(as, want, n, ops, st);
	st->ns += now_ns() - t0;
	if (deletions || st->created != made)
		st->edits++;
	if (err) {
		settle(as, want, n);
		return err;
	}
	memcpy(as->slot, want, n * sizeof(*want));
	as->n = n;
	return 0;
}

/* ---- the protection state ---- */

static bool is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

static bool aligned(uint64_t x)
{
	return !(x & (PROTECT_PAGE - 1));
}

static int check_config(const struct protect_config *c)
{
	uint64_t prev_end = 0;

	if ((unsigned int)c->mech >= PROTECT_MECHS || !c->vcpus ||
	    (c->max_holes && c->mech != PROTECT_SMM_VIEW) ||
	    !c->nregion || c->nregion > PROTECT_MAX_REGIONS ||
	    c->nfixed > PROTECT_MAX_FIXED || !c->ops || !c->ops->set_slot ||
	    (c->mech == PROTECT_SMM_VIEW && !c->ops->set_smm) ||
	    (c->chunk && (!is_pow2(c->chunk) || c->chunk < PROTECT_PAGE)))
		return -EINVAL;
	for (unsigned int i = 0; i < c->nregion; i++) {
		const struct pt_region *r = &c->region[i];

		if (!r->size || !aligned(r->gpa) || !aligned(r->size) ||
		    !aligned(r->host_off) || r->gpa < prev_end ||
		    r->size > UINT64_MAX - r->gpa)
			return -EINVAL;
		prev_end = r->gpa + r->size;
	}
	prev_end = 0;
	for (unsigned int i = 0; i < c->nfixed; i++) {
		const struct pt_range *f = &c->fixed[i];

		if (f->start >= f->end || !aligned(f->start) ||
		    !aligned(f->end) || f->start < prev_end)
			return -EINVAL;
		prev_end = f->end;
	}
	return 0;
}

/* The most slots the view can need: each region in chunks (one more for
 * a start off a chunk boundary), and per carve-out its own slot plus the
 * split of the chunk it lands in. */
static uint64_t slot_budget(const struct protect_config *c)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < c->nregion; i++)
		n += c->region[i].size / c->chunk + 2;
	return n + 2 * ((uint64_t)c->nfixed + c->max_open + c->max_holes);
}

/* The normal view: each region, plus a split per hole. */
static uint64_t normal_budget(const struct protect_config *c)
{
	return c->nregion + 2 * (uint64_t)c->max_holes;
}

/* The writable carve-outs, fixed and open, merged. */
static unsigned int build_rw(struct protect *p)
{
	unsigned int i = 0, j = 0, m = 0;

	while (i < p->cfg.nfixed || j < p->nopen) {
		struct pt_range r;

		if (j == p->nopen || (i < p->cfg.nfixed &&
				      p->cfg.fixed[i].start <= p->open[j].page)) {
			r = p->cfg.fixed[i++];
		} else {
			r.start = p->open[j++].page;
			r.end = r.start + PROTECT_PAGE;
		}
		if (m && p->rw[m - 1].end >= r.start) {
			if (r.end > p->rw[m - 1].end)
				p->rw[m - 1].end = r.end;
		} else {
			p->rw[m++] = r;
		}
	}
	return m;
}

static int build_view(struct protect *p)
{
	struct pt_view_spec spec = {
		.region = p->cfg.region, .nregion = p->cfg.nregion,
		.rw = p->rw, .nrw = build_rw(p),
		.readonly = p->cfg.mech == PROTECT_SMM_VIEW || p->non,
		.hole = p->hole[1], .nhole = p->nhole[1],
		.chunk = p->cfg.chunk,
	};

	return pt_layout_build(&spec, p->scratch, p->view.max);
}

static int build_normal(struct protect *p)
{
	struct pt_view_spec spec = {
		.region = p->cfg.region, .nregion = p->cfg.nregion,
		.hole = p->hole[0], .nhole = p->nhole[0],
	};

	return pt_layout_build(&spec, p->scratch, p->normal.max);
}

/* Make as hold the layout in scratch[0..n), pausing the vCPUs that run
 * in it (normal: the normal view) when a slot must go. */
static int apply_as(struct protect *p, struct pt_as *as, int n, bool normal,
		    unsigned int self, struct pt_apply_stats *st)
{
	bool pause;
	int err;

	if (n < 0)
		return n;
	pause = pt_as_plan(as, p->scratch, (unsigned int)n) && p->cfg.pause;
	if (pause) {
		p->cfg.pause(p->cfg.pause_opaque, self, normal, true);
		p->stats.pauses++;
	}
	err = pt_as_apply(as, p->scratch, (unsigned int)n, p->cfg.ops, st);
	if (pause)
		p->cfg.pause(p->cfg.pause_opaque, self, normal, false);
	return err;
}

int protect_commit(struct protect *p, unsigned int self)
{
	int err;

	if (p->normal_dirty) {
		err = apply_as(p, &p->normal, build_normal(p), true, self,
			       &p->stats.normal);
		if (err)
			return err;
		p->normal_dirty = false;
	}
	if (!p->dirty)
		return 0;
	err = apply_as(p, &p->view, build_view(p), false, self,
		       &p->stats.apply);
	if (err)
		return err;
	p->dirty = false;
	if (p->view.n > p->stats.max_slots)
		p->stats.max_slots = p->view.n;
	return 0;
}

/* The normal view starts as the slots vm_create made: one per region,
 * numbered in order (read-only-all edits them; with holes they are
 * edited too). */
static int adopt_normal_slots(struct protect *p, struct pt_as *as, int n)
{
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		p->scratch[i].id = (uint32_t)i;
		as->id_used[i] = 1;
	}
	memcpy(as->slot, p->scratch, (size_t)n * sizeof(*p->scratch));
	as->n = (unsigned int)n;
	return 0;
}

static int init_holes(struct protect *p)
{
	uint64_t budget = normal_budget(&p->cfg);
	int err;

	p->hole[0] = calloc(p->cfg.max_holes, sizeof(*p->hole[0]));
	p->hole[1] = calloc(p->cfg.max_holes, sizeof(*p->hole[1]));
	if (!p->hole[0] || !p->hole[1])
		return -ENOMEM;
	err = pt_as_init(&p->normal, 0, (unsigned int)budget);
	if (err)
		return err;
	return adopt_normal_slots(p, &p->normal, build_normal(p));
}

int protect_init(struct protect *p, const struct protect_config *cfg)
{
	uint64_t budget;
	int err;

	memset(p, 0, sizeof(*p));
	err = check_config(cfg);
	if (err)
		return err;
	p->cfg = *cfg;
	if (!p->cfg.chunk)
		p->cfg.chunk = PROTECT_DEFAULT_CHUNK;
	budget = slot_budget(&p->cfg);
	if (budget > (1u << PROTECT_AS_SHIFT) ||
	    (cfg->max_slots && budget > cfg->max_slots) ||
	    normal_budget(&p->cfg) > budget)
		return -ENOSPC;
	err = pt_as_init(&p->view, cfg->mech == PROTECT_SMM_VIEW ? 1 : 0,
			 (unsigned int)budget);
	if (err)
		return err;
	p->scratch = calloc(budget, sizeof(*p->scratch));
	p->rw = calloc(cfg->nfixed + cfg->max_open + 1, sizeof(*p->rw));
	p->open = calloc(cfg->max_open + 1, sizeof(*p->open));
	p->on = calloc(cfg->vcpus, sizeof(*p->on));
	if (!p->scratch || !p->rw || !p->open || !p->on) {
		protect_destroy(p);
		return -ENOMEM;
	}
	p->dirty = true;
	if (cfg->mech == PROTECT_READONLY_ALL) {
		err = adopt_normal_slots(p, &p->view, build_view(p));
		p->stats.max_slots = p->view.n;
	} else {
		err = cfg->max_holes ? init_holes(p) : 0;
		if (!err)
			err = protect_commit(p, PROTECT_SELF_NONE);
	}
	p->dirty = false;
	if (err)
		protect_destroy(p);
	return err;
}

void protect_destroy(struct protect *p)
{
	pt_as_destroy(&p->view);
	if (p->normal.max)
		pt_as_destroy(&p->normal);
	free(p->hole[0]);
	free(p->hole[1]);
	free(p->scratch);
	free(p->rw);
	free(p->open);
	free(p->on);
	memset(p, 0, sizeof(*p));
}

int protect_vcpu(struct protect *p, unsigned int self, unsigned int vcpu,
		 bool on)
{
	uint64_t t0 = now_ns();

	if (vcpu >= p->cfg.vcpus)
		return -EINVAL;
	if (p->on[vcpu] == on)
		return 0;
	if (p->cfg.mech == PROTECT_SMM_VIEW) {
		int err;

		if (self != vcpu)
			return -EINVAL;
		err = p->cfg.ops->set_smm(p->cfg.ops->opaque, vcpu, on);
		if (err)
			return err;
	} else if (!p->non || (p->non == 1 && !on)) {
		p->dirty = true;	/* the whole view flips */
	}
	p->on[vcpu] = on;
	p->non = on ? p->non + 1 : p->non - 1;
	p->stats.switches++;
	p->stats.switch_ns += now_ns() - t0;
	return 0;
}

/* Index of page in the open list, or where it would go. */
static unsigned int find_open(const struct protect *p, uint64_t page,
			      bool *found)
{
	unsigned int lo = 0, hi = p->nopen;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (p->open[mid].page < page)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < p->nopen && p->open[lo].page == page;
	return lo;
}

int protect_open(struct protect *p, uint64_t page)
{
	bool found;
	unsigned int i;

	page &= ~(PROTECT_PAGE - 1);
	i = find_open(p, page, &found);
	if (found) {
		p->open[i].refs++;
		return 0;
	}
	if (p->nopen == p->cfg.max_open)
		return -ENOSPC;
	memmove(&p->open[i + 1], &p->open[i],
		(p->nopen - i) * sizeof(*p->open));
	p->open[i] = (struct pt_open){ .page = page, .refs = 1 };
	p->nopen++;
	p->dirty = true;
	return 0;
}

void protect_close(struct protect *p, uint64_t page)
{
	bool found;
	unsigned int i;

	page &= ~(PROTECT_PAGE - 1);
	i = find_open(p, page, &found);
	if (!found || --p->open[i].refs)
		return;
	memmove(&p->open[i], &p->open[i + 1],
		(p->nopen - i - 1) * sizeof(*p->open));
	p->nopen--;
	p->dirty = true;
}

bool protect_page_open(const struct protect *p, uint64_t page)
{
	bool found;

	find_open(p, page & ~(PROTECT_PAGE - 1), &found);
	return found;
}

int protect_set_holes(struct protect *p, bool protected,
		      const struct pt_range *hole, unsigned int n)
{
	struct pt_range *h = p->hole[protected];
	unsigned int *nh = &p->nhole[protected];

	if (!p->cfg.max_holes)
		return -EINVAL;
	if (n > p->cfg.max_holes)
		return -ENOSPC;
	for (unsigned int i = 0; i < n; i++)
		if (hole[i].start >= hole[i].end || !aligned(hole[i].start) ||
		    !aligned(hole[i].end) ||
		    (i && hole[i].start < hole[i - 1].end))
			return -EINVAL;
	if (n == *nh && (!n || !memcmp(h, hole, n * sizeof(*h))))
		return 0;
	if (n)		/* hole may be NULL then */
		memcpy(h, hole, n * sizeof(*h));
	*nh = n;
	if (protected)
		p->dirty = true;
	else
		p->normal_dirty = true;
	return 0;
}

bool protect_in_hole(const struct protect *p, bool protected, uint64_t gpa)
{
	const struct pt_range *h = p->hole[protected];
	unsigned int lo = 0, hi = p->nhole[protected];

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (h[mid].end <= gpa)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < p->nhole[protected] && gpa >= h[lo].start;
}

bool protect_writable(const struct protect *p, uint64_t gpa)
{
	for (unsigned int i = 0; i < p->cfg.nfixed; i++)
		if (gpa >= p->cfg.fixed[i].start && gpa < p->cfg.fixed[i].end)
			return true;
	return protect_page_open(p, gpa);
}

/* ---- KVM ---- */

enum protect_mech protect_probe(int vm_fd)
{
	int spaces = ioctl(vm_fd, KVM_CHECK_EXTENSION,
			   KVM_CAP_MULTI_ADDRESS_SPACE);
	int smm = ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_X86_SMM);

	return spaces >= 2 && smm > 0 ? PROTECT_SMM_VIEW : PROTECT_READONLY_ALL;
}

#ifndef KVM_CAP_EXIT_ON_EMULATION_FAILURE
#define KVM_CAP_EXIT_ON_EMULATION_FAILURE 204
#endif

int protect_kvm_exit_on_emulation_failure(int vm_fd)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_EXIT_ON_EMULATION_FAILURE, .args = { 1 },
	};

	if (ioctl(vm_fd, KVM_CHECK_EXTENSION,
		  KVM_CAP_EXIT_ON_EMULATION_FAILURE) <= 0)
		return -EOPNOTSUPP;
	return ioctl(vm_fd, KVM_ENABLE_CAP, &cap) < 0 ? -errno : 0;
}

unsigned int protect_kvm_max_slots(int vm_fd)
{
	int n = ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);

	return n > 0 ? (unsigned int)n : 0;
}

static int kvm_set_slot(void *opaque, uint32_t slot, uint64_t gpa,
			uint64_t size, uint64_t host_off, bool readonly)
{
	struct protect_kvm *k = opaque;
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.flags = readonly ? KVM_MEM_READONLY : 0,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)(k->host + host_off),
	};

	return ioctl(k->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0 ? -errno : 0;
}

/* Only the SMM flag changes.  KVM_SET_VCPU_EVENTS always rewrites the
 * exception, interrupt and NMI-injected state (read just before, and the
 * vCPU is not running); NMI pending, the SIPI vector, the interrupt shadow
 * and a triple fault are left out of flags so an NMI queued meanwhile by
 * another vCPU is not overwritten.  latched_init travels with the SMM
 * fields: an INIT sent between the two ioctls would be lost. */
static int kvm_set_smm(void *opaque, unsigned int vcpu, bool on)
{
	struct protect_kvm *k = opaque;
	struct kvm_vcpu_events ev;

	if (vcpu >= k->vcpus)
		return -EINVAL;
	if (ioctl(k->vcpu_fd[vcpu], KVM_GET_VCPU_EVENTS, &ev) < 0)
		return -errno;
	ev.flags = KVM_VCPUEVENT_VALID_SMM |
		   (ev.flags & KVM_VCPUEVENT_VALID_PAYLOAD);
	ev.smi.smm = on;
	ev.smi.smm_inside_nmi = 0;
	if (ioctl(k->vcpu_fd[vcpu], KVM_SET_VCPU_EVENTS, &ev) < 0)
		return -errno;
	return 0;
}

struct protect_ops protect_kvm_ops(struct protect_kvm *k)
{
	return (struct protect_ops){
		.set_slot = kvm_set_slot, .set_smm = kvm_set_smm, .opaque = k,
	};
}

int protect_kvm_set_smbase(struct protect_kvm *k, uint64_t smbase)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = {
		.hdr.nmsrs = 1,
		.e = { .index = MSR_IA32_SMBASE, .data = smbase },
	};

	for (unsigned int i = 0; i < k->vcpus; i++) {
		int r = ioctl(k->vcpu_fd[i], KVM_SET_MSRS, &m);

		if (r != 1)
			return r < 0 ? -errno : -EIO;
	}
	return 0;
}
