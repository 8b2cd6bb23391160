/* fuzz_ring.c - a hostile guest monitor against the update ring, the
 * verdict and the open-page cache (libFuzzer).  The ring is all the
 * guest can say to the isolation state; tests/unit/test_ring_fuzz.c
 * throws random records at it, this target lets coverage steer them.
 * Each step posts a record (its fields from a small vocabulary of the
 * addresses that matter, or 40 raw bytes), lies about head, or judges a
 * write as a trapped one is judged, opening the page after an allowed
 * write as the engine does.  Besides the sanitizers, after every step:
 *  - every record read was applied or rejected, once;
 *  - the isolation state holds its invariants (tests/common);
 *  - an applied grant is in force (its range wholly in the ACT);
 *  - a verdict agrees with the ACT: allowed as ALLOW_ACT only when the
 *    target is wholly granted, denied as NOT_IN_ACT or PARTIAL only when
 *    none or part of it is; a denial is not performed (enforce);
 *  - PAGE_FREED is passed on only for whole pages of RAM;
 *  - precision of the open pages: every page the protection was told to
 *    open is wholly in its domain's ACT, and opens and closes alternate
 *    (never an open page opened, nor a closed one closed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iso/ring.h"
#include "iso/verdict.h"
#include "../common/ring_world.h"
#include "fuzz_input.h"

#define FZ_TEXT		0xffffffff81000000ull
#define FZ_OPEN_MAX	(ISO_MAX_DOMAINS * 4)

struct fz_open {
	unsigned int domain;
	uint64_t page;
};

struct fz {
	struct iso iso;
	struct ring ring;
	struct chariot_ring *shm;
	uint32_t head;
	/* The protection as the callbacks left it: the open pages. */
	struct fz_open open[FZ_OPEN_MAX];
	unsigned int nopen;
	const char *broken;	/* set by a callback that saw a violation */
};

/* PAGE_FREED reaches the VMM only for whole pages of RAM. */
static void fz_page_freed(void *opaque, uint64_t gpa, uint64_t len)
{
	struct fz *f = opaque;

	if ((gpa | len) & (PC_PAGE_SIZE - 1) || !len ||
	    !fz_gpa_ok(NULL, gpa, len))
		f->broken = "PAGE_FREED passed on for what is not whole RAM pages";
}

static int find_open(const struct fz *f, unsigned int domain, uint64_t page)
{
	for (unsigned int i = 0; i < f->nopen; i++)
		if (f->open[i].domain == domain && f->open[i].page == page)
			return (int)i;
	return -1;
}

static void fz_protect(void *opaque, unsigned int domain, uint64_t page,
		       bool writable)
{
	struct fz *f = opaque;
	int i = find_open(f, domain, page);

	if (writable) {
		if (i >= 0)
			f->broken = "an open page opened again";
		else if (f->nopen == FZ_OPEN_MAX)
			f->broken = "more pages open than the caches hold";
		else
			f->open[f->nopen++] = (struct fz_open){ domain, page };
	} else if (i < 0) {
		f->broken = "a page closed that was not open";
	} else {
		f->open[i] = f->open[--f->nopen];
	}
}

/* An address from the vocabulary: RAM and its edges, the hole's, a
 * domain's code, kernel stacks, kernel text, or 8 raw bytes. */
static bool take_addr(struct fz_in *in, uint64_t *addr)
{
	static const uint64_t base[] = {
		0, FZ_HOLE - 0x1000, FZ_HOLE + 0x2000000ull, FZ_RAM - 0x1000,
		FZ_DRV, 0xffffc90000100000ull, FZ_TEXT,
	};
	uint8_t sel;
	uint32_t off;

	if (!take(in, &sel, 1))
		return false;
	if (sel % 8 == 7)
		return take(in, addr, 8);
	if (!take(in, &off, 4))
		return false;
	/* RAM offsets in 64-byte steps reach every page; near the code and
	 * stack bases, bytes. */
	*addr = base[sel % 8] + (sel % 8 < 4 ? (uint64_t)(off % 0x100000) * 64 :
				 off % 0x400000);
	return true;
}

/* A record from typed fields: type, kind, flags, domain (0-3 mostly),
 * vcpu, len, addr, and a cookie: none or one of 8 values. */
static bool take_rec(struct fz_in *in, struct chariot_ring_rec *r)
{
	uint8_t type, kind, dom, vcpu, cookie;
	uint16_t flags;
	uint32_t len;
	uint64_t addr;

	if (!take(in, &type, 1) || !take(in, &kind, 1) || !take(in, &flags, 2) ||
	    !take(in, &dom, 1) || !take(in, &vcpu, 1) || !take(in, &len, 4) ||
	    !take_addr(in, &addr) || !take(in, &cookie, 1))
		return false;
	r->addr = addr;
	r->type = type % (CHARIOT_REC_TYPES + 1);
	r->kind = kind;
	r->flags = flags;
	r->domain = dom & 0x80 ? dom : dom % 4;
	r->vcpu = vcpu & 0x80 ? vcpu : vcpu % 2;
	r->len = len;
	/* none (0); ENTER's is its stack (at the top of the address space
	 * with bit 6: some wrap); the rest name objects */
	if (!cookie)
		r->cookie = 0;
	else if (r->type == CHARIOT_REC_ENTER && (cookie & 0x40))
		r->cookie = CHARIOT_ENTER_STACK(0xffffffffffffe000ull,
						(cookie % 4) * 0x1000);
	else if (r->type == CHARIOT_REC_ENTER)
		r->cookie = CHARIOT_ENTER_STACK(0xffffc90000100000ull +
						(cookie % 8) * 0x4000, 0x4000);
	else
		r->cookie = 0xffff888000000000ull + (cookie % 8) * 0x1000;
	return true;
}

#define FAIL(...)	do { fprintf(stderr, __VA_ARGS__); abort(); } while (0)

/* Post rec at head (or at a lying seq), drain, check. */
static void post(struct fz *f, struct chariot_ring_rec rec, bool raw_seq)
{
	uint64_t applied = f->ring.stats.applied;
	uint64_t rej = ring_rejected(&f->ring);
	const struct domain *d;

	if (!raw_seq)
		rec.seq = f->head;
	f->shm->rec[f->head & (f->shm->capacity - 1)] = rec;
	f->head++;
	__atomic_store_n(&f->shm->head, f->head, __ATOMIC_RELEASE);
	if (ring_drain(&f->ring, &f->iso) != 1 ||
	    f->ring.stats.applied + ring_rejected(&f->ring) != applied + rej + 1)
		FAIL("a record not applied or rejected exactly once\n");
	if (rec.type == CHARIOT_REC_GRANT &&
	    f->ring.stats.applied == applied + 1 &&
	    (d = iso_domain(&f->iso, rec.domain)) &&
	    act_coverage(&d->act, rec.addr, rec.len) != ACT_FULL)
		FAIL("an applied grant not in force\n");
}

/* A guest lying about head: at most one ring's worth is read. */
static void lie(struct fz *f, uint16_t by)
{
	__atomic_store_n(&f->shm->head, f->head + by, __ATOMIC_RELEASE);
	if (ring_drain(&f->ring, &f->iso) > f->shm->capacity)
		FAIL("more than a ring's worth read\n");
	f->head = f->ring.tail;
	__atomic_store_n(&f->shm->head, f->head, __ATOMIC_RELEASE);
}

/* A trapped write: the verdict, checked against the ACT, then the page
 * opened when the write was allowed by it (as engine.c does). */
static void judge(struct fz *f, struct fz_in *in)
{
	uint8_t vcpu;
	uint16_t len;
	uint64_t rip, gpa;
	struct verdict v;
	struct domain *d;
	enum act_cover cover;

	if (!take(in, &vcpu, 1) || !take_addr(in, &rip) ||
	    !take_addr(in, &gpa) || !take(in, &len, 2))
		return;
	v = verdict_judge(&f->iso, vcpu % 3, rip, gpa, len);
	if (v.domain < 0 || !(d = iso_domain(&f->iso, v.domain)))
		return;
	cover = act_coverage(&d->act, gpa, len);
	if ((v.reason == VERDICT_ALLOW_ACT && cover != ACT_FULL) ||
	    (v.reason == VERDICT_DENY_NOT_IN_ACT && cover != ACT_NONE) ||
	    (v.reason == VERDICT_DENY_PARTIAL && cover != ACT_PARTIAL))
		FAIL("verdict %s, yet the ACT covers it %d\n",
		     verdict_reason_name(v.reason), cover);
	if (v.allow != (v.reason <= VERDICT_ALLOW_ACT))
		FAIL("verdict %s performed %d\n",
		     verdict_reason_name(v.reason), v.allow);
	if (v.reason == VERDICT_ALLOW_ACT)
		iso_open_page(&f->iso, d, gpa);
}

static void check(struct fz *f)
{
	const char *why = f->broken ? f->broken :
			  iso_invariant_broken(&f->iso, fz_gpa_ok);

	for (unsigned int i = 0; !why && i < f->nopen; i++) {
		const struct domain *d = iso_domain(&f->iso, f->open[i].domain);

		if (!d || act_coverage(&d->act, f->open[i].page,
				       PC_PAGE_SIZE) != ACT_FULL)
			why = "an open page not wholly in its domain's ACT";
	}
	if (why)
		FAIL("%s\n", why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	struct fz *f = calloc(1, sizeof(*f));
	struct iso_config icfg = { .vcpus = 2, .act_entries = 64,
				   .open_pages = 4, .protect = fz_protect };
	struct ring_config rcfg = { .gpa_ok = fz_gpa_ok,
				    .page_freed = fz_page_freed };
	struct chariot_ring_rec rec;
	uint16_t by;
	uint8_t op;

	if (!f)
		abort();
	icfg.opaque = f;
	rcfg.opaque = f;
	f->shm = aligned_alloc(64, FZ_BYTES);
	if (!f->shm || iso_init(&f->iso, &icfg) ||
	    ring_init(&f->ring, f->shm, FZ_BYTES, &rcfg))
		abort();
	while (take(&in, &op, 1)) {
		switch (op % 5) {
		case 0:
		case 1:
			if (take_rec(&in, &rec))
				post(f, rec, false);
			break;
		case 2:
			if (take(&in, &rec, sizeof(rec)))
				post(f, rec, true);
			break;
		case 3:
			if (take(&in, &by, 2))
				lie(f, by);
			break;
		case 4:
			judge(f, &in);
			break;
		}
		check(f);
	}
	iso_destroy(&f->iso);
	if (f->nopen)
		FAIL("%u pages left open after every domain went\n", f->nopen);
	ring_destroy(&f->ring);
	free(f->shm);
	free(f);
	return 0;
}
