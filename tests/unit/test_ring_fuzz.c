/* A fuzz test of the guest -> VMM interface: the update ring is all the
 * guest can say to the isolation state, so random and half-right records
 * (each field mutated now and then from a well-formed one), and a guest
 * lying about head, must never break it.  After every record: it was
 * either applied or rejected (once); every live domain's ACT is sorted,
 * non-overlapping and inside guest RAM; an applied grant is in force; a
 * grant rejected for its address was really outside RAM; nesting stays
 * bounded.  CHARIOT_FUZZ_ITERS sets the records (default 20000; about
 * 30% of them are applied), CHARIOT_FUZZ_SEED the seed, and
 * CHARIOT_FUZZ_STATS=1 prints what was applied and rejected; a failure
 * prints the seed and the record.  (Taking the RAM check out of ring.c
 * fails it within 50 records.) */
#include <stdint.h>
#include <stdlib.h>

#include "iso/ring.h"
#include "iso/verdict.h"
#include "test.h"
#include "../common/ring_world.h"


struct fz {
	struct iso iso;
	struct ring ring;
	struct chariot_ring *shm;
	uint32_t head;
	uint64_t rng;
};

static uint64_t rnd(struct fz *f)
{
	return test_rnd(&f->rng);
}

static bool chance(struct fz *f, unsigned int in)
{
	return rnd(f) % in == 0;
}

/* An address: mostly in RAM, often at its edges or the hole's. */
static uint64_t fz_addr(struct fz *f)
{
	static const uint64_t edge[] = { 0, FZ_HOLE - 0x1000, FZ_HOLE,
		FZ_RAM - 0x1000, FZ_RAM, ~0ull - 0xfff };

	if (chance(f, 6))
		return edge[rnd(f) % 6] + (rnd(f) % 3) * 0x800;
	if (chance(f, 20))
		return rnd(f);
	return (rnd(f) % (FZ_RAM / 64)) * 64;
}

static uint32_t fz_len(struct fz *f)
{
	switch (rnd(f) % 8) {
	case 0: return 0;
	case 1: return (uint32_t)rnd(f);
	case 2: return 0x1000;
	default: return (uint32_t)(rnd(f) % 0x400) + 1;
	}
}

/* The record types, weighted toward the ones that change grants. */
static const uint8_t fz_types[] = {
	CHARIOT_REC_DOMAIN_CREATE, CHARIOT_REC_DOMAIN_CREATE,
	CHARIOT_REC_DOMAIN_CODE, CHARIOT_REC_DOMAIN_UNCODE,
	CHARIOT_REC_DOMAIN_DESTROY,
	CHARIOT_REC_GRANT, CHARIOT_REC_GRANT, CHARIOT_REC_GRANT,
	CHARIOT_REC_GRANT, CHARIOT_REC_REVOKE, CHARIOT_REC_REVOKE,
	CHARIOT_REC_ENTER, CHARIOT_REC_ENTER, CHARIOT_REC_LEAVE,
	CHARIOT_REC_LEAVE, CHARIOT_REC_TRUSTED_RANGE,
	CHARIOT_REC_TRUSTED_GONE, CHARIOT_REC_PAGE_FREED, CHARIOT_REC_THUNK, 0, CHARIOT_REC_TYPES,
};

/* A record of a random type with the fields its type uses (as
 * include/chariot_ring.h describes them), then maybe mutated. */
static struct chariot_ring_rec fz_rec(struct fz *f)
{
	struct chariot_ring_rec r = { 0 };
	uint16_t dom = (uint16_t)(rnd(f) % 4);
	uint64_t cookie = 0xffff888000000000ull + (rnd(f) % 8) * 0x1000;

	r.type = fz_types[rnd(f) % sizeof(fz_types)];
	switch (r.type) {
	case CHARIOT_REC_DOMAIN_CREATE:
		r = (struct chariot_ring_rec){ .type = r.type, .domain = dom,
			.addr = FZ_DRV + dom * 0x100000ull, .len = 0x10000,
			.cookie = 0x42 + dom };
		break;
	case CHARIOT_REC_DOMAIN_CODE:
	case CHARIOT_REC_DOMAIN_UNCODE:
		r = (struct chariot_ring_rec){ .type = r.type, .domain = dom,
			.addr = FZ_DRV + dom * 0x100000ull + 0x80000,
			.len = 0x1000 };
		break;
	case CHARIOT_REC_DOMAIN_DESTROY:
		r.domain = dom;
		break;
	case CHARIOT_REC_GRANT:
		r = (struct chariot_ring_rec){ .type = r.type, .domain = dom,
			.kind = (uint8_t)(rnd(f) % CHARIOT_GRANT_KINDS),
			.addr = fz_addr(f), .len = fz_len(f),
			.cookie = cookie };
		break;
	case CHARIOT_REC_REVOKE:
		if (chance(f, 2))
			r = (struct chariot_ring_rec){ .type = r.type,
				.domain = dom, .flags = CHARIOT_REVOKE_BY_COOKIE,
				.kind = (uint8_t)(rnd(f) % CHARIOT_GRANT_KINDS),
				.cookie = cookie };
		else
			r = (struct chariot_ring_rec){ .type = r.type,
				.domain = dom, .addr = fz_addr(f),
				.len = fz_len(f) };
		break;
	case CHARIOT_REC_ENTER:
		r = (struct chariot_ring_rec){ .type = r.type, .domain = dom,
			.vcpu = (uint16_t)(rnd(f) % 2),
			.addr = 0xffffc90000010000ull + (rnd(f) % 16) * 0x100,
			.cookie = chance(f, 4) ? 0 : CHARIOT_ENTER_STACK(
				0xffffc90000100000ull + (rnd(f) % 8) * 0x4000,
				0x4000) };
		break;
	case CHARIOT_REC_LEAVE:
		r.domain = dom;
		r.vcpu = (uint16_t)(rnd(f) % 2);
		break;
	case CHARIOT_REC_TRUSTED_RANGE:
	case CHARIOT_REC_TRUSTED_GONE:
		r.addr = 0xffffffff81000000ull;
		r.len = 0x100000;
		break;
	case CHARIOT_REC_PAGE_FREED:
		r.addr = fz_addr(f) & ~0xfffull;
		r.len = 0x1000;
		break;
	case CHARIOT_REC_THUNK:
		r.addr = 0xffffffff81e01000ull + rnd(f) % 0x2000;
		r.len = (uint32_t)(1 + rnd(f) % 0x20);
		break;
	}
	/* the mutations a broken or hostile guest makes */
	if (chance(f, 30))
		r.flags = (uint16_t)rnd(f);
	if (chance(f, 30))
		r.domain = (uint16_t)rnd(f);
	if (chance(f, 30))
		r.vcpu = (uint16_t)rnd(f);
	if (chance(f, 30))
		r.kind = (uint8_t)rnd(f);
	if (chance(f, 30))
		r.cookie = rnd(f);
	if (chance(f, 50))
		r.type = (uint8_t)rnd(f);
	return r;
}

/* Post rec (or, lying, a wrong seq), drain, check; false on a failure. */
static bool fz_step(struct fz *f, struct chariot_ring_rec rec, int *failed,
		    uint64_t seed, unsigned long i)
{
	uint64_t applied = f->ring.stats.applied;
	uint64_t rej = ring_rejected(&f->ring);
	uint64_t gpa_rej = f->ring.stats.rejected[RING_ERR_GPA];
	const char *why = NULL;
	const struct domain *d;
	uint32_t n;

	rec.seq = chance(f, 50) ? (uint32_t)rnd(f) : f->head;
	f->shm->rec[f->head & (f->shm->capacity - 1)] = rec;
	f->head++;
	__atomic_store_n(&f->shm->head, f->head, __ATOMIC_RELEASE);
	n = ring_drain(&f->ring, &f->iso);
	if (n != 1 ||
	    f->ring.stats.applied + ring_rejected(&f->ring) != applied + rej + 1)
		why = "a record not applied or rejected exactly once";
	else if ((why = iso_invariant_broken(&f->iso, fz_gpa_ok)))
		;
	else if (rec.type == CHARIOT_REC_GRANT &&
		 f->ring.stats.applied == applied + 1 &&
		 (d = iso_domain(&f->iso, rec.domain)) &&
		 act_coverage(&d->act, rec.addr, rec.len) != ACT_FULL)
		why = "an applied grant not in force";
	else if (f->ring.stats.rejected[RING_ERR_GPA] != gpa_rej &&
		 fz_gpa_ok(NULL, rec.addr, rec.len))
		why = "a grant in RAM rejected as outside it";
	if (!why)
		return true;
	fprintf(stderr, "  seed %llu record %lu (type %u kind %u flags %#x "
		"domain %u vcpu %u addr %#llx len %#x): %s\n",
		(unsigned long long)seed, i, rec.type, rec.kind, rec.flags,
		rec.domain, rec.vcpu, (unsigned long long)rec.addr, rec.len,
		why);
	*failed = 1;
	return false;
}

TEST(ring_fuzz_never_breaks_the_state)
{
	const char *it = getenv("CHARIOT_FUZZ_ITERS");
	const char *sd = getenv("CHARIOT_FUZZ_SEED");
	unsigned long iters = it ? strtoul(it, NULL, 0) : 20000;
	uint64_t seed = sd ? strtoull(sd, NULL, 0) : 0x5eed;
	struct iso_config icfg = { .vcpus = 2, .act_entries = 64 };
	struct ring_config rcfg = { .gpa_ok = fz_gpa_ok };
	struct fz *f = calloc(1, sizeof(*f));

	CHECK(f != NULL);
	if (!f)
		return;
	f->rng = seed | 1;
	f->shm = aligned_alloc(64, FZ_BYTES);
	CHECK(f->shm && !iso_init(&f->iso, &icfg) &&
	      !ring_init(&f->ring, f->shm, FZ_BYTES, &rcfg));
	for (unsigned long i = 0; f->shm && i < iters; i++) {
		if (!fz_step(f, fz_rec(f), failed, seed, i))
			break;
		/* now and then a guest lying about head: at most one
		 * ring's worth is read, the rest refused */
		if (chance(f, 500)) {
			uint32_t lie = f->head + (uint32_t)(rnd(f) % 1000);

			__atomic_store_n(&f->shm->head, lie, __ATOMIC_RELEASE);
			CHECK(ring_drain(&f->ring, &f->iso) <=
			      f->shm->capacity);
			f->head = f->ring.tail;
			__atomic_store_n(&f->shm->head, f->head,
					 __ATOMIC_RELEASE);
		}
	}
	if (getenv("CHARIOT_FUZZ_STATS")) {
		fprintf(stderr, "  applied %llu", (unsigned long long)f->ring.stats.applied);
		for (int e = 1; e < RING_ERRS; e++)
			fprintf(stderr, " %s %llu", ring_err_name(e), (unsigned long long)f->ring.stats.rejected[e]);
		fputc('\n', stderr);
	}
	iso_destroy(&f->iso);
	free(f->shm);
	free(f);
}
