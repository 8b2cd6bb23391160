/* Unit tests for the protected view: the slot layout (carve-outs, merging,
 * chunks, both RAM regions), its application as diffs against a fake KVM
 * that enforces KVM's rules (no overlap in an address space, ids unique),
 * pausing other vCPUs only for deletions, the SMM switch and the
 * read-only-all toggle, and failure mid-apply. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "iso/protect.h"
#include "test.h"

#define MiB	(1ull << 20)
#define PG	PROTECT_PAGE
#define RAM	(512 * MiB)
#define SHM	(RAM - 64 * 1024)

struct fake_slot {
	bool live;
	uint32_t slot;
	uint64_t gpa, size, host_off;
	bool ro;
};

#define FAKE_MAX 4096

struct fake_kvm {
	struct fake_slot s[FAKE_MAX];
	unsigned int creates, deletes;
	int fail_at;			/* fail the Nth set_slot (1-based) */
	unsigned int calls;
	bool smm[8];
	unsigned int smm_calls;
	unsigned int pauses, resumes;
	bool paused;
	unsigned int normal_pauses;
};

static struct fake_slot *fake_find(struct fake_kvm *f, uint32_t slot)
{
	for (unsigned int i = 0; i < FAKE_MAX; i++)
		if (f->s[i].live && f->s[i].slot == slot)
			return &f->s[i];
	return NULL;
}

static int fake_set_slot(void *opaque, uint32_t slot, uint64_t gpa,
			 uint64_t size, uint64_t host_off, bool ro)
{
	struct fake_kvm *f = opaque;
	struct fake_slot *s = fake_find(f, slot);

	if (f->fail_at && ++f->calls == (unsigned int)f->fail_at)
		return -ENOMEM;
	if (!size) {
		if (!s)
			return -EINVAL;
		s->live = false;
		f->deletes++;
		return 0;
	}
	if (s)
		return -EEXIST;		/* we never resize or move */
	for (unsigned int i = 0; i < FAKE_MAX; i++) {
		struct fake_slot *o = &f->s[i];

		if (o->live && o->slot >> 16 == slot >> 16 &&
		    gpa < o->gpa + o->size && o->gpa < gpa + size)
			return -EEXIST;
	}
	for (unsigned int i = 0; i < FAKE_MAX; i++)
		if (!f->s[i].live) {
			f->s[i] = (struct fake_slot){ true, slot, gpa, size,
						      host_off, ro };
			f->creates++;
			return 0;
		}
	return -ENOSPC;
}

static int fake_set_smm(void *opaque, unsigned int vcpu, bool on)
{
	struct fake_kvm *f = opaque;

	f->smm[vcpu] = on;
	f->smm_calls++;
	return 0;
}

static void fake_pause(void *opaque, unsigned int self, bool normal,
		       bool stop)
{
	struct fake_kvm *f = opaque;

	(void)self;
	f->normal_pauses += normal && stop;
	if (stop)
		f->pauses++;
	else
		f->resumes++;
	f->paused = stop;
}

static const struct pt_region low_region = { 0, RAM, 0 };

/* The protected view must tile RAM exactly: every slot in order, no gap
 * or overlap, writable exactly where a carve-out is, and the fake KVM
 * must hold exactly these slots. */
static int view_ok(const struct protect *p, const struct fake_kvm *f,
		   uint32_t as_bits)
{
	const struct pt_as *v = protect_view(p);
	bool protected = as_bits || p->non;
	uint64_t pos = 0;
	unsigned int live = 0;

	for (unsigned int i = 0; i < v->n; i++) {
		const struct pt_slot *s = &v->slot[i];
		const struct fake_slot *x = fake_find((struct fake_kvm *)f,
						      as_bits | s->id);

		if (s->gpa != pos || s->host_off != s->gpa)
			return 0;
		for (uint64_t a = s->gpa; a < s->gpa + s->size; a += PG) {
			bool rw = !protected || a >= SHM ||
				  protect_page_open(p, a);

			if (rw == s->readonly)
				return 0;
		}
		if (!x || x->gpa != s->gpa || x->size != s->size ||
		    x->ro != s->readonly)
			return 0;
		pos += s->size;
	}
	for (unsigned int k = 0; k < FAKE_MAX; k++)
		live += f->s[k].live;
	return pos == RAM && live == v->n;
}

static struct protect_ops fake_ops(struct fake_kvm *f)
{
	return (struct protect_ops){ fake_set_slot, fake_set_smm, f };
}

static int setup(struct protect *p, struct fake_kvm *f,
		 const struct protect_ops *ops, enum protect_mech mech)
{
	struct protect_config cfg = {
		.mech = mech, .vcpus = 2,
		.region = { low_region }, .nregion = 1,
		.fixed = { { SHM, RAM } }, .nfixed = 1,
		.max_open = 256, .chunk = 64 * MiB, .ops = ops,
		.pause = fake_pause, .pause_opaque = f,
	};

	memset(f, 0, sizeof(*f));
	if (mech == PROTECT_READONLY_ALL)	/* what vm_create made */
		fake_set_slot(f, 0, 0, RAM, 0, false);
	return protect_init(p, &cfg);
}

TEST(protect_layout_chunks_and_shm_carve_out)
{
	struct pt_range shm = { SHM, RAM };
	struct pt_view_spec spec = {
		.region = &low_region, .nregion = 1, .rw = &shm, .nrw = 1,
		.readonly = true, .chunk = 64 * MiB,
	};
	struct pt_slot s[32];

	CHECK_EQ(pt_layout_build(&spec, s, 32), 9);
	for (int i = 0; i < 7; i++) {
		CHECK_EQ(s[i].gpa, (uint64_t)i * 64 * MiB);
		CHECK_EQ(s[i].size, 64 * MiB);
		CHECK(s[i].readonly);
	}
	CHECK_EQ(s[7].gpa, 448 * MiB);
	CHECK_EQ(s[7].size, SHM - 448 * MiB);
	CHECK(s[7].readonly);
	CHECK_EQ(s[8].gpa, SHM);
	CHECK(!s[8].readonly);
	CHECK_EQ(pt_layout_build(&spec, s, 8), -ENOSPC);
	spec.readonly = false;			/* unprotected: one slot */
	CHECK_EQ(pt_layout_build(&spec, s, 32), 1);
	CHECK(!s[0].readonly && s[0].size == RAM);
}

TEST(protect_layout_pages_middle_edge_and_merge)
{
	struct pt_range rw[] = {
		{ 0, PG },				/* RAM's first page */
		{ 100 * PG, 102 * PG },			/* two, merged */
		{ 64 * MiB, 64 * MiB + PG },		/* a chunk's first */
		{ 128 * MiB - PG, 128 * MiB },		/* a chunk's last */
		{ SHM - PG, SHM }, { SHM, RAM },	/* touching the shm */
	};
	struct pt_view_spec spec = {
		.region = &low_region, .nregion = 1, .rw = rw, .nrw = 6,
		.readonly = true, .chunk = 64 * MiB,
	};
	struct pt_slot s[32];
	int n = pt_layout_build(&spec, s, 32);

	CHECK_EQ(n, 14);
	CHECK(!s[0].readonly && s[0].gpa == 0 && s[0].size == PG);
	CHECK(s[1].readonly && s[1].gpa == PG && s[1].size == 99 * PG);
	CHECK(!s[2].readonly && s[2].gpa == 100 * PG && s[2].size == 2 * PG);
	CHECK(s[3].readonly && s[3].gpa == 102 * PG &&
	      s[3].gpa + s[3].size == 64 * MiB);
	CHECK(!s[4].readonly && s[4].gpa == 64 * MiB && s[4].size == PG);
	CHECK(s[5].readonly && s[5].gpa + s[5].size == 128 * MiB - PG);
	CHECK(!s[6].readonly && s[6].gpa == 128 * MiB - PG);
	CHECK(s[7].readonly && s[7].gpa == 128 * MiB &&
	      s[7].size == 64 * MiB);
	CHECK(!s[n - 1].readonly && s[n - 1].gpa == SHM - PG &&
	      s[n - 1].size == RAM - SHM + PG);
}

TEST(protect_layout_two_regions)
{
	struct pt_region r[] = {
		{ 0, 3072 * MiB, 0 },
		{ 0x100000000ull, 1024 * MiB, 3072 * MiB },
	};
	struct pt_range rw[] = { { 0x100000000ull + 5 * PG,
				   0x100000000ull + 6 * PG } };
	struct pt_view_spec spec = {
		.region = r, .nregion = 2, .rw = rw, .nrw = 1,
		.readonly = true, .chunk = 1024 * MiB,
	};
	struct pt_slot s[16];

	CHECK_EQ(pt_layout_build(&spec, s, 16), 6);
	CHECK(s[2].readonly && s[2].gpa + s[2].size == 3072 * MiB);
	CHECK(s[3].readonly && s[3].gpa == 0x100000000ull &&
	      s[3].host_off == 3072 * MiB && s[3].size == 5 * PG);
	CHECK(!s[4].readonly && s[4].host_off == 3072 * MiB + 5 * PG);
	CHECK(s[5].readonly && s[5].gpa + s[5].size ==
	      0x100000000ull + 1024 * MiB);
}

TEST(protect_smm_view_open_close_diffs)
{
	struct fake_kvm *f = calloc(1, sizeof(*f));
	struct protect_ops ops = fake_ops(f);
	struct protect p;
	uint64_t page = 70 * MiB + 3 * PG;

	CHECK_EQ(setup(&p, f, &ops, PROTECT_SMM_VIEW), 0);
	CHECK_EQ(protect_view(&p)->n, 9);
	CHECK_EQ(f->creates, 9);
	CHECK_EQ(f->pauses, 0);			/* nothing was deleted */
	CHECK(view_ok(&p, f, 1u << 16));

	/* Open a page: only its chunk is replaced, by three slots. */
	f->creates = f->deletes = 0;
	CHECK_EQ(protect_open(&p, page + 0x10), 0);
	CHECK_EQ(protect_commit(&p, 0), 0);
	CHECK_EQ(f->deletes, 1);
	CHECK_EQ(f->creates, 3);
	CHECK_EQ(f->pauses, 1);
	CHECK_EQ(f->resumes, 1);
	CHECK(!f->paused);
	CHECK(view_ok(&p, f, 1u << 16));
	CHECK_EQ(protect_commit(&p, 0), 0);	/* nothing pending */
	CHECK_EQ(f->pauses, 1);

	/* A second domain opening it too, then one closing: still open. */
	CHECK_EQ(protect_open(&p, page), 0);
	protect_close(&p, page);
	CHECK_EQ(protect_commit(&p, 0), 0);
	CHECK(protect_page_open(&p, page));
	CHECK_EQ(f->deletes, 1);

	/* The neighbour: the writable slot grows. */
	f->creates = f->deletes = 0;
	CHECK_EQ(protect_open(&p, page + PG), 0);
	CHECK_EQ(protect_commit(&p, 0), 0);
	CHECK_EQ(f->deletes, 2);
	CHECK_EQ(f->creates, 2);
	CHECK(view_ok(&p, f, 1u << 16));

	/* Closing both merges the chunk back into one slot. */
	protect_close(&p, page);
	protect_close(&p, page + PG);
	CHECK_EQ(protect_commit(&p, 0), 0);
	CHECK_EQ(protect_view(&p)->n, 9);
	CHECK(view_ok(&p, f, 1u << 16));
	protect_destroy(&p);
	free(f);
}

TEST(protect_smm_view_many_pages)
{
	struct fake_kvm *f = calloc(1, sizeof(*f));
	struct protect_ops ops = fake_ops(f);
	struct protect p;
	uint64_t pages[256];
	unsigned int seed = 12345;

	CHECK_EQ(setup(&p, f, &ops, PROTECT_SMM_VIEW), 0);
	for (int i = 0; i < 256; i++) {
		seed = seed * 1103515245u + 12345u;
		pages[i] = (uint64_t)(seed % (SHM / PG)) * PG;
		CHECK_EQ(protect_open(&p, pages[i]), 0);
		if (i % 16 == 15) {
			CHECK_EQ(protect_commit(&p, 0), 0);
			CHECK(view_ok(&p, f, 1u << 16));
		}
	}
	CHECK(protect_view(&p)->n <= protect_view(&p)->max);
	for (int i = 0; i < 256; i++)
		protect_close(&p, pages[i]);
	CHECK_EQ(protect_commit(&p, 0), 0);
	CHECK_EQ(protect_view(&p)->n, 9);
	CHECK(view_ok(&p, f, 1u << 16));
	protect_destroy(&p);
	free(f);
}

TEST(protect_open_beyond_max_refused)
{
	struct fake_kvm *f = calloc(1, sizeof(*f));
	struct protect_ops ops = fake_ops(f);
	struct protect p;

	CHECK_EQ(setup(&p, f, &ops, PROTECT_SMM_VIEW), 0);
	for (uint64_t i = 0; i < 256; i++)
		CHECK_EQ(protect_open(&p, 2 * i * PG), 0);
	CHECK_EQ(protect_open(&p, 1000 * PG + PG), -ENOSPC);
	CHECK_EQ(protect_open(&p, 0), 0);	/* open already: counted */
	CHECK_EQ(protect_commit(&p, 0), 0);
	CHECK(view_ok(&p, f, 1u << 16));
	protect_destroy(&p);
	free(f);
}

TEST(protect_smm_switch_is_per_vcpu_on_its_thread)
{
	struct fake_kvm *f = calloc(1, sizeof(*f));
	struct protect_ops ops = fake_ops(f);
	struct protect p;

	CHECK_EQ(setup(&p, f, &ops, PROTECT_SMM_VIEW), 0);
	CHECK_EQ(protect_vcpu(&p, 0, 1, true), -EINVAL);
	CHECK_EQ(protect_vcpu(&p, 1, 1, true), 0);
	CHECK(f->smm[1] && !f->smm[0] && protect_is_on(&p, 1));
	CHECK_EQ(protect_vcpu(&p, 1, 1, true), 0);	/* no change */
	CHECK_EQ(f->smm_calls, 1);
	CHECK_EQ(protect_vcpu(&p, 1, 1, false), 0);
	CHECK(!f->smm[1]);
	CHECK(!p.dirty);			/* no slot changes */
	protect_destroy(&p);
	free(f);
}

TEST(protect_readonly_all_toggles_normal_slots)
{
	struct fake_kvm *f = calloc(1, sizeof(*f));
	struct protect_ops ops = fake_ops(f);
	struct protect p;

	CHECK_EQ(setup(&p, f, &ops, PROTECT_READONLY_ALL), 0);
	CHECK_EQ(f->creates, 1);		/* only vm_create's */
	CHECK_EQ(protect_view(&p)->n, 1);
	CHECK_EQ(protect_view(&p)->slot[0].id, 0);
	CHECK(view_ok(&p, f, 0));

	/* An open page while unprotected changes nothing. */
	CHECK_EQ(protect_open(&p, 5 * PG), 0);
	CHECK_EQ(protect_commit(&p, 0), 0);
	CHECK_EQ(f->deletes, 0);

	CHECK_EQ(protect_vcpu(&p, 0, 1, true), 0);	/* any thread */
	CHECK_EQ(protect_vcpu(&p, 0, 0, true), 0);
	CHECK_EQ(protect_commit(&p, 0), 0);
	CHECK_EQ(f->deletes, 1);
	CHECK_EQ(f->pauses, 1);
	CHECK_EQ(protect_view(&p)->n, 11);	/* page split, chunks, shm */
	CHECK(view_ok(&p, f, 0));

	CHECK_EQ(protect_vcpu(&p, 0, 1, false), 0);
	CHECK(!p.dirty);			/* vCPU 0 still protected */
	CHECK_EQ(protect_vcpu(&p, 0, 0, false), 0);
	CHECK_EQ(protect_commit(&p, 0), 0);
	CHECK_EQ(protect_view(&p)->n, 1);
	CHECK(!protect_view(&p)->slot[0].readonly);
	CHECK(view_ok(&p, f, 0));
	CHECK_EQ(f->pauses, 2);
	protect_destroy(&p);
	free(f);
}

TEST(protect_failed_apply_describes_what_is_there)
{
	struct fake_kvm *f = calloc(1, sizeof(*f));
	struct protect_ops ops = fake_ops(f);
	struct protect p;

	CHECK_EQ(setup(&p, f, &ops, PROTECT_SMM_VIEW), 0);
	f->calls = 0;
	f->fail_at = 3;				/* delete, create, FAIL */
	CHECK_EQ(protect_open(&p, 10 * MiB), 0);
	CHECK_EQ(protect_commit(&p, 0), -ENOMEM);
	CHECK(!f->paused);
	/* The view says what KVM holds: 8 old slots and the one created. */
	CHECK_EQ(protect_view(&p)->n, 9);
	for (unsigned int i = 0; i < protect_view(&p)->n; i++) {
		const struct pt_slot *s = &protect_view(&p)->slot[i];
		const struct fake_slot *x = fake_find(f, 1u << 16 | s->id);

		CHECK(x && x->gpa == s->gpa && x->size == s->size);
	}
	/* And a retry completes it. */
	f->fail_at = 0;
	CHECK_EQ(protect_commit(&p, 0), 0);
	CHECK(view_ok(&p, f, 1u << 16));
	protect_destroy(&p);
	free(f);
}

TEST(protect_bad_config_refused)
{
	struct fake_kvm *f = calloc(1, sizeof(*f));
	struct protect_ops ops = fake_ops(f);
	struct protect_config cfg = {
		.mech = PROTECT_SMM_VIEW, .vcpus = 1,
		.region = { { 0, RAM, 0 } }, .nregion = 1,
		.chunk = 3 * MiB, .ops = &ops,
	};
	struct protect p;

	CHECK_EQ(protect_init(&p, &cfg), -EINVAL);	/* chunk not 2^n */
	cfg.chunk = 0;
	cfg.region[0].size = RAM + 1;
	CHECK_EQ(protect_init(&p, &cfg), -EINVAL);
	cfg.region[0].size = RAM;
	cfg.max_slots = 4;				/* KVM's limit */
	CHECK_EQ(protect_init(&p, &cfg), -ENOSPC);
	cfg.max_slots = 0;
	CHECK_EQ(protect_init(&p, &cfg), 0);
	protect_destroy(&p);
	free(f);
}

TEST(protect_layout_holes_split_regions_and_beat_carve_outs)
{
	const struct pt_region r[2] = { { 0, 16 * PG, 0 },
					{ 0x100000000ull, 8 * PG, 16 * PG } };
	const struct pt_range rw[] = { { 2 * PG, 6 * PG } };
	const struct pt_range hole[] = { { 0, PG }, { 4 * PG, 5 * PG },
					 { 15 * PG, 0x100000000ull + PG } };
	struct pt_view_spec spec = { .region = r, .nregion = 2, .rw = rw,
				     .nrw = 1, .readonly = true,
				     .hole = hole, .nhole = 3 };
	struct pt_slot out[16];
	int n = pt_layout_build(&spec, out, 16);

	/* ro [1,2) rw [2,4) rw [5,6) ro [6,15) | high ro [+1, +8) */
	CHECK_EQ(n, 5);
	CHECK(out[0].gpa == PG && out[0].size == PG && out[0].readonly);
	CHECK(out[1].gpa == 2 * PG && out[1].size == 2 * PG &&
	      !out[1].readonly);
	CHECK(out[2].gpa == 5 * PG && out[2].size == PG && !out[2].readonly);
	CHECK(out[3].gpa == 6 * PG && out[3].size == 9 * PG &&
	      out[3].readonly);
	CHECK(out[4].gpa == 0x100000000ull + PG && out[4].size == 7 * PG &&
	      out[4].host_off == 17 * PG && out[4].readonly);

	/* The normal view: writable, split only by the holes. */
	spec.readonly = false;
	spec.nrw = 0;
	n = pt_layout_build(&spec, out, 16);
	CHECK_EQ(n, 3);
	CHECK(out[0].gpa == PG && out[0].size == 3 * PG && !out[0].readonly);
	CHECK(out[1].gpa == 5 * PG && out[1].size == 10 * PG);
	CHECK(out[2].gpa == 0x100000000ull + PG && out[2].host_off == 17 * PG);
}

static int setup_holes(struct protect *p, struct fake_kvm *f)
{
	struct protect_config cfg = {
		.mech = PROTECT_SMM_VIEW, .vcpus = 2,
		.region = { low_region }, .nregion = 1,
		.fixed = { { SHM, RAM } }, .nfixed = 1,
		.max_open = 16, .chunk = 64 * MiB, .max_holes = 8,
		.pause = fake_pause, .pause_opaque = f,
	};
	static struct protect_ops ops;

	memset(f, 0, sizeof(*f));
	ops = fake_ops(f);
	cfg.ops = &ops;
	fake_set_slot(f, 0, 0, RAM, 0, false);	/* what vm_create made */
	return protect_init(p, &cfg);
}

/* The slot of address space as_bits covering gpa, or NULL. */
static const struct fake_slot *slot_at(const struct fake_kvm *f,
				       uint32_t as_bits, uint64_t gpa)
{
	for (unsigned int i = 0; i < FAKE_MAX; i++) {
		const struct fake_slot *s = &f->s[i];

		if (s->live && (s->slot >> 16) == (as_bits >> 16) &&
		    gpa >= s->gpa && gpa < s->gpa + s->size)
			return s;
	}
	return NULL;
}

TEST(protect_holes_in_both_views)
{
	struct protect p;
	struct fake_kvm *f = calloc(1, sizeof(*f));
	const struct pt_range code[] = { { 0x300000, 0x302000 },
					 { 0x500000, 0x501000 } };
	const struct pt_range ktext[] = { { 0x1000000, 0x1400000 } };
	const uint32_t AS1 = 1u << PROTECT_AS_SHIFT;

	CHECK_EQ(setup_holes(&p, f), 0);
	/* Until holes are set the normal view is vm_create's one slot. */
	CHECK(slot_at(f, 0, 0x300000) && slot_at(f, 0, 0x300000)->slot == 0);
	CHECK(!protect_in_hole(&p, false, 0x300000));

	CHECK_EQ(protect_set_holes(&p, false, code, 2), 0);
	CHECK_EQ(protect_set_holes(&p, true, ktext, 1), 0);
	CHECK(protect_in_hole(&p, false, 0x301fff));
	CHECK(!protect_in_hole(&p, false, 0x302000));
	CHECK(protect_in_hole(&p, false, 0x500000));
	CHECK(!protect_in_hole(&p, false, 0x2fffff));
	CHECK(protect_in_hole(&p, true, 0x13fffff));
	CHECK(!protect_in_hole(&p, true, 0x300000));
	CHECK_EQ(protect_commit(&p, 0), 0);
	/* Deleting the normal view's slot paused its vCPUs. */
	CHECK(f->normal_pauses == 1 && !f->paused);
	CHECK(!slot_at(f, 0, 0x300000) && !slot_at(f, 0, 0x301000));
	CHECK(!slot_at(f, 0, 0x500000));
	CHECK(slot_at(f, 0, 0x2ff000) && !slot_at(f, 0, 0x2ff000)->ro);
	CHECK(slot_at(f, 0, 0x302000) && slot_at(f, 0, 0x1000000));
	CHECK(!slot_at(f, AS1, 0x1000000) && !slot_at(f, AS1, 0x13ff000));
	CHECK(slot_at(f, AS1, 0x300000) && slot_at(f, AS1, 0x300000)->ro);
	CHECK(slot_at(f, AS1, 0x1400000) && slot_at(f, AS1, 0xfff000));

	/* Init code freed: its hole goes; an open page in a hole stays
	 * a hole. */
	CHECK_EQ(protect_set_holes(&p, false, code, 1), 0);
	CHECK_EQ(protect_open(&p, 0x1001000), 0);
	CHECK_EQ(protect_commit(&p, 0), 0);
	CHECK(slot_at(f, 0, 0x500000) && !slot_at(f, 0, 0x500000)->ro);
	CHECK(!slot_at(f, AS1, 0x1001000));

	/* Unsorted or unaligned holes are refused. */
	CHECK_EQ(protect_set_holes(&p, false, (const struct pt_range[]){
		{ 0x5000, 0x6000 }, { 0x1000, 0x2000 } }, 2), -EINVAL);
	CHECK_EQ(protect_set_holes(&p, false, (const struct pt_range[]){
		{ 0x5001, 0x6000 } }, 1), -EINVAL);
	CHECK_EQ(protect_set_holes(&p, true, NULL, 0), 0);
	CHECK_EQ(protect_commit(&p, 0), 0);
	CHECK(slot_at(f, AS1, 0x1000000) && slot_at(f, AS1, 0x1001000));
	CHECK(!slot_at(f, AS1, 0x1001000)->ro);
	protect_destroy(&p);
	free(f);
}
