/* Unit tests for the VMM's end of the update ring: a well-formed sequence
 * applied, each kind of malformed record rejected and counted, a guest
 * lying about head, free-running indices wrapping. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "iso/ring.h"
#include "test.h"

#define RING_BYTES	4096		/* 64 records */
#define RAM_END		0x40000000ull	/* 1 GiB of guest RAM... */
#define HOLE		0x20000000ull	/* ...but no RAM in its 2nd 256 MiB */
#define KTEXT		0xffffffff81000000ull
#define DRV		0xffffffffc0000000ull
#define OBJ		0x1234000ull

struct fixture {
	struct iso iso;
	struct ring ring;
	struct chariot_ring *shm;
	uint32_t head;			/* the guest's producer index */
};

static bool gpa_ok(void *opaque, uint64_t gpa, uint64_t len)
{
	(void)opaque;
	if (gpa >= RAM_END || len > RAM_END - gpa)
		return false;
	return gpa + len <= HOLE || gpa >= HOLE + 0x10000000ull;
}

static struct fixture *setup(void)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct iso_config icfg = { .vcpus = 2, .act_entries = 256 };
	struct ring_config rcfg = { .gpa_ok = gpa_ok };

	if (!fx)
		return NULL;
	fx->shm = aligned_alloc(64, RING_BYTES);
	if (!fx->shm || iso_init(&fx->iso, &icfg) ||
	    ring_init(&fx->ring, fx->shm, RING_BYTES, &rcfg)) {
		free(fx->shm);
		free(fx);
		return NULL;
	}
	return fx;
}

static void teardown(struct fixture *fx)
{
	iso_destroy(&fx->iso);
	free(fx->shm);
	free(fx);
}

/* What the guest monitor does: fill the slot, then publish head. */
static void post(struct fixture *fx, struct chariot_ring_rec rec)
{
	rec.seq = fx->head;
	fx->shm->rec[fx->head & (fx->shm->capacity - 1)] = rec;
	fx->head++;
	__atomic_store_n(&fx->shm->head, fx->head, __ATOMIC_RELEASE);
}

static struct chariot_ring_rec create_rec(unsigned int id, uint64_t code)
{
	return (struct chariot_ring_rec){
		.type = CHARIOT_REC_DOMAIN_CREATE, .domain = id,
		.addr = code, .len = 0x10000, .cookie = 0x42 };
}

static struct chariot_ring_rec grant_rec(unsigned int id, uint64_t gpa,
					 uint32_t len, uint64_t cookie)
{
	return (struct chariot_ring_rec){
		.type = CHARIOT_REC_GRANT, .kind = CHARIOT_GRANT_KMALLOC,
		.domain = id, .addr = gpa, .len = len, .cookie = cookie };
}

static uint64_t rejected(const struct fixture *fx)
{
	uint64_t n = 0;

	for (int e = 0; e < RING_ERRS; e++)
		n += fx->ring.stats.rejected[e];
	return n;
}

TEST(ring_init_lays_out_header)
{
	struct fixture *fx = setup();
	struct ring r;
	struct ring_config cfg = { .ram_end = RAM_END };

	CHECK(fx != NULL);
	if (!fx)
		return;
	CHECK_EQ(fx->shm->magic, CHARIOT_RING_MAGIC);
	CHECK_EQ(fx->shm->version, CHARIOT_RING_VERSION);
	CHECK_EQ(fx->shm->capacity, 64);
	CHECK_EQ(fx->shm->rec_size, sizeof(struct chariot_ring_rec));
	CHECK_EQ(fx->shm->head, 0);
	CHECK_EQ(fx->shm->tail, 0);
	CHECK_EQ(ring_init(&r, fx->shm, sizeof(struct chariot_ring) + 32, &cfg),
		 -EINVAL);
	CHECK_EQ(ring_init(&r, (char *)fx->shm + 4, 1024, &cfg), -EINVAL);
	CHECK_EQ(ring_init(&r, fx->shm, sizeof(struct chariot_ring) + 64, &cfg),
		 0);
	CHECK_EQ(r.capacity, 2);
	CHECK_EQ(ring_drain(&r, &fx->iso), 0);	/* empty */
	teardown(fx);
}

TEST(ring_applies_well_formed_sequence)
{
	struct fixture *fx = setup();
	struct iso *iso = &fx->iso;

	CHECK(fx != NULL);
	if (!fx)
		return;
	post(fx, (struct chariot_ring_rec){ .type = CHARIOT_REC_TRUSTED_RANGE,
					    .addr = KTEXT, .len = 0x100000 });
	post(fx, create_rec(3, DRV));
	post(fx, (struct chariot_ring_rec){ .type = CHARIOT_REC_DOMAIN_CODE,
					    .domain = 3, .addr = DRV + 0x80000,
					    .len = 0x1000 });
	post(fx, grant_rec(3, OBJ, 0x200, 0xffff888001234000ull));
	post(fx, grant_rec(3, OBJ + 0x10000, 0x1000, 0xffff888001244000ull));
	post(fx, (struct chariot_ring_rec){ .type = CHARIOT_REC_ENTER,
					    .domain = 3, .vcpu = 1,
					    .addr = 0xffffc90000013e80ull,
					    .cookie = CHARIOT_ENTER_STACK(
						0xffffc90000010000ull, 0x4000) });
	CHECK_EQ(ring_drain(&fx->ring, iso), 6);
	CHECK_EQ(fx->ring.stats.applied, 6);
	CHECK_EQ(rejected(fx), 0);
	CHECK_EQ(fx->shm->tail, 6);
	CHECK(iso_rip_trusted(iso, KTEXT + 5));
	CHECK(iso_domain_of_rip(iso, DRV + 0x80fff) == iso_domain(iso, 3));
	CHECK_EQ(iso_domain(iso, 3)->name_id, 0x42);
	CHECK_EQ(act_count(&iso_domain(iso, 3)->act), 2);
	CHECK(iso_active(iso, 1) == iso_domain(iso, 3));
	CHECK_EQ(iso_outermost(iso, 1, 3)->frame, 0xffffc90000013e80ull);
	CHECK_EQ(verdict_judge(iso, 1, DRV + 8, OBJ + 0x1f8, 8).reason,
		 VERDICT_ALLOW_ACT);
	post(fx, (struct chariot_ring_rec){ .type = CHARIOT_REC_LEAVE,
					    .domain = 3, .vcpu = 1 });
	post(fx, (struct chariot_ring_rec){ .type = CHARIOT_REC_REVOKE,
					    .domain = 3, .addr = OBJ,
					    .len = 0x100 });
	post(fx, (struct chariot_ring_rec){
		.type = CHARIOT_REC_REVOKE, .domain = 3,
		.kind = CHARIOT_GRANT_KMALLOC,
		.flags = CHARIOT_REVOKE_BY_COOKIE,
		.cookie = 0xffff888001244000ull });
	CHECK_EQ(ring_drain(&fx->ring, iso), 3);
	CHECK(iso_active(iso, 1) == NULL);
	CHECK_EQ(act_coverage(&iso_domain(iso, 3)->act, OBJ, 0x200),
		 ACT_PARTIAL);
	CHECK_EQ(act_count(&iso_domain(iso, 3)->act), 1);
	post(fx, (struct chariot_ring_rec){
		.type = CHARIOT_REC_DOMAIN_DESTROY, .domain = 3 });
	CHECK_EQ(ring_drain(&fx->ring, iso), 1);
	CHECK(iso_domain(iso, 3) == NULL);
	CHECK_EQ(fx->ring.stats.applied, 10);
	CHECK_EQ(rejected(fx), 0);
	CHECK_EQ(fx->ring.stats.drains, 3);
	teardown(fx);
}

struct bad_case {
	const char *what;
	struct chariot_ring_rec rec;
	enum ring_err err;
};

static const struct bad_case bad_cases[] = {
	{ "type 0", { .type = 0 }, RING_ERR_TYPE },
	{ "type unknown", { .type = CHARIOT_REC_TYPES }, RING_ERR_TYPE },
	{ "unused field set", { .type = CHARIOT_REC_LEAVE, .domain = 1,
				.len = 4 }, RING_ERR_FIELD },
	{ "unused cookie", { .type = CHARIOT_REC_DOMAIN_CODE, .domain = 1,
			     .addr = 0x1000, .len = 1, .cookie = 1 },
	  RING_ERR_FIELD },
	{ "unknown flag", { .type = CHARIOT_REC_REVOKE, .domain = 1,
			    .flags = 0x8000, .addr = OBJ, .len = 8 },
	  RING_ERR_FIELD },
	{ "unknown kind", { .type = CHARIOT_REC_GRANT, .domain = 1,
			    .kind = CHARIOT_GRANT_KINDS, .addr = OBJ,
			    .len = 8 }, RING_ERR_FIELD },
	{ "kind on range revoke", { .type = CHARIOT_REC_REVOKE, .domain = 1,
				    .kind = 2, .addr = OBJ, .len = 8 },
	  RING_ERR_FIELD },
	{ "revoke by cookie 0", { .type = CHARIOT_REC_REVOKE, .domain = 1,
				  .flags = CHARIOT_REVOKE_BY_COOKIE },
	  RING_ERR_FIELD },
	{ "grant len 0", { .type = CHARIOT_REC_GRANT, .domain = 1,
			   .addr = OBJ }, RING_ERR_LEN },
	{ "code wraps", { .type = CHARIOT_REC_TRUSTED_RANGE,
			  .addr = UINT64_MAX - 4, .len = 8 }, RING_ERR_LEN },
	{ "grant beyond RAM", { .type = CHARIOT_REC_GRANT, .domain = 1,
				.addr = RAM_END - 4, .len = 8 }, RING_ERR_GPA },
	{ "grant in hole", { .type = CHARIOT_REC_GRANT, .domain = 1,
			     .addr = HOLE + 0x1000, .len = 8 }, RING_ERR_GPA },
	{ "revoke wraps", { .type = CHARIOT_REC_REVOKE, .domain = 1,
			    .addr = UINT64_MAX, .len = 2 }, RING_ERR_LEN },
	{ "domain out of range", { .type = CHARIOT_REC_DOMAIN_DESTROY,
				   .domain = ISO_MAX_DOMAINS },
	  RING_ERR_DOMAIN },
	{ "domain not live", { .type = CHARIOT_REC_GRANT, .domain = 2,
			       .addr = OBJ, .len = 8 }, RING_ERR_DOMAIN },
	{ "create a live domain", { .type = CHARIOT_REC_DOMAIN_CREATE,
				    .domain = 1, .addr = 0x1000, .len = 1 },
	  RING_ERR_DOMAIN },
	{ "vcpu out of range", { .type = CHARIOT_REC_ENTER, .domain = 1,
				 .vcpu = 2 }, RING_ERR_VCPU },
	{ "enter on a stack of no pages", { .type = CHARIOT_REC_ENTER,
		.domain = 1, .cookie = 0xffffc90000010000ull }, RING_ERR_LEN },
	{ "enter on a stack that wraps", { .type = CHARIOT_REC_ENTER,
		.domain = 1, .cookie = CHARIOT_ENTER_STACK(
			0xfffffffffffff000ull, 0x2000) }, RING_ERR_LEN },
	{ "thunk longer than its bound", { .type = CHARIOT_REC_THUNK,
		.addr = KTEXT, .len = CHARIOT_THUNK_MAX_LEN + 1 }, RING_ERR_LEN },
	{ "thunk of no bytes", { .type = CHARIOT_REC_THUNK, .addr = KTEXT },
	  RING_ERR_LEN },
	{ "thunk with a domain", { .type = CHARIOT_REC_THUNK, .domain = 1,
		.addr = KTEXT, .len = 16 }, RING_ERR_FIELD },
	{ "code overlaps", { .type = CHARIOT_REC_DOMAIN_CODE, .domain = 1,
			     .addr = KTEXT, .len = 1 }, RING_ERR_STATE },
	{ "leave not entered", { .type = CHARIOT_REC_LEAVE, .domain = 1,
				 .vcpu = 0 }, RING_ERR_STATE },
};

TEST(ring_rejects_each_malformed_kind)
{
	struct fixture *fx = setup();
	unsigned int n = sizeof(bad_cases) / sizeof(bad_cases[0]);

	CHECK(fx != NULL);
	if (!fx)
		return;
	post(fx, (struct chariot_ring_rec){ .type = CHARIOT_REC_TRUSTED_RANGE,
					    .addr = KTEXT, .len = 0x1000 });
	post(fx, create_rec(1, DRV));
	CHECK_EQ(ring_drain(&fx->ring, &fx->iso), 2);
	for (unsigned int i = 0; i < n; i++) {
		const struct bad_case *c = &bad_cases[i];
		uint64_t before = fx->ring.stats.rejected[c->err];

		post(fx, c->rec);
		CHECK_EQ(ring_drain(&fx->ring, &fx->iso), 1);
		if (fx->ring.stats.rejected[c->err] != before + 1)
			fprintf(stderr, "  case '%s'\n", c->what);
		CHECK_EQ(fx->ring.stats.rejected[c->err], before + 1);
	}
	CHECK_EQ(rejected(fx), n);
	CHECK_EQ(fx->ring.stats.applied, 2);
	CHECK_EQ(act_count(&iso_domain(&fx->iso, 1)->act), 0);
	CHECK_EQ(iso_domain(&fx->iso, 1)->ncode, 1);
	CHECK_EQ(fx->iso.ntrusted, 1);
	CHECK_EQ(fx->iso.vcpu[0].depth, 0);
	teardown(fx);
}

TEST(ring_rejects_wrong_seq)
{
	struct fixture *fx = setup();
	struct chariot_ring_rec rec = create_rec(1, DRV);

	CHECK(fx != NULL);
	if (!fx)
		return;
	rec.seq = 5;		/* posted at index 0 */
	fx->shm->rec[0] = rec;
	__atomic_store_n(&fx->shm->head, 1, __ATOMIC_RELEASE);
	CHECK_EQ(ring_drain(&fx->ring, &fx->iso), 1);
	CHECK_EQ(fx->ring.stats.rejected[RING_ERR_SEQ], 1);
	CHECK(iso_domain(&fx->iso, 1) == NULL);
	CHECK(!strcmp(ring_err_name(RING_ERR_SEQ), "seq"));
	CHECK(!strcmp(ring_err_name(RING_ERRS), "?"));
	teardown(fx);
}

TEST(ring_clamps_lying_head)
{
	struct fixture *fx = setup();

	CHECK(fx != NULL);
	if (!fx)
		return;
	post(fx, create_rec(1, DRV));
	post(fx, grant_rec(1, OBJ, 8, 0));
	post(fx, (struct chariot_ring_rec){ .type = CHARIOT_REC_REVOKE,
					    .domain = 1, .addr = OBJ,
					    .len = 8 });
	CHECK_EQ(ring_drain(&fx->ring, &fx->iso), 3);
	/* The guest claims 1000 more: one ring's worth is read, all stale. */
	__atomic_store_n(&fx->shm->head, 3 + 1000, __ATOMIC_RELEASE);
	CHECK_EQ(ring_drain(&fx->ring, &fx->iso), 64);
	CHECK_EQ(fx->ring.stats.rejected[RING_ERR_HEAD], 1);
	CHECK_EQ(fx->ring.stats.rejected[RING_ERR_SEQ], 64);
	CHECK_EQ(fx->ring.stats.applied, 3);
	CHECK_EQ(act_count(&iso_domain(&fx->iso, 1)->act), 0);	/* no replay */
	CHECK_EQ(fx->shm->tail, 67);
	/* Head behind tail is a lie too. */
	__atomic_store_n(&fx->shm->head, 10, __ATOMIC_RELEASE);
	CHECK_EQ(ring_drain(&fx->ring, &fx->iso), 64);
	CHECK_EQ(fx->ring.stats.rejected[RING_ERR_HEAD], 2);
	/* The guest rewriting capacity changes nothing on our side. */
	fx->shm->capacity = 1u << 30;
	fx->head = 67 + 64;
	__atomic_store_n(&fx->shm->head, fx->head, __ATOMIC_RELEASE);
	CHECK_EQ(ring_drain(&fx->ring, &fx->iso), 0);
	teardown(fx);
}

TEST(ring_indices_wrap)
{
	struct fixture *fx = setup();
	uint32_t start = UINT32_MAX - 20;

	CHECK(fx != NULL);
	if (!fx)
		return;
	/* As if the guest had posted 2^32 - 21 records already. */
	fx->ring.tail = start;
	fx->shm->tail = start;
	fx->head = start;
	fx->shm->head = start;
	post(fx, create_rec(1, DRV));
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 40; i++)	/* over the u32 wrap */
			post(fx, grant_rec(1, OBJ + (round * 40 + i) * 0x100,
					   0x10, 0));
		CHECK_EQ(ring_drain(&fx->ring, &fx->iso), round ? 40 : 41);
	}
	CHECK_EQ(fx->ring.stats.applied, 121);
	CHECK_EQ(rejected(fx), 0);
	CHECK_EQ(act_count(&iso_domain(&fx->iso, 1)->act), 120);
	CHECK_EQ(fx->shm->tail, start + 121);
	/* A full ring (capacity records at once) drains whole. */
	for (int i = 0; i < 64; i++)
		post(fx, (struct chariot_ring_rec){
			.type = CHARIOT_REC_REVOKE, .domain = 1,
			.addr = OBJ + i * 0x100, .len = 0x10 });
	CHECK_EQ(ring_drain(&fx->ring, &fx->iso), 64);
	CHECK_EQ(act_count(&iso_domain(&fx->iso, 1)->act), 56);
	CHECK_EQ(rejected(fx), 0);
	teardown(fx);
}

TEST(ring_ram_bound_without_callback)
{
	struct fixture *fx = setup();
	struct ring_config cfg = { .ram_end = 0x100000 };

	CHECK(fx != NULL);
	if (!fx)
		return;
	CHECK_EQ(ring_init(&fx->ring, fx->shm, RING_BYTES, &cfg), 0);
	post(fx, create_rec(1, DRV));
	post(fx, grant_rec(1, 0xff000, 0x1000, 0));
	post(fx, grant_rec(1, 0xff000, 0x1001, 0));
	CHECK_EQ(ring_drain(&fx->ring, &fx->iso), 3);
	CHECK_EQ(fx->ring.stats.applied, 2);
	CHECK_EQ(fx->ring.stats.rejected[RING_ERR_GPA], 1);
	teardown(fx);
}

TEST(ring_keeps_thunks_once_and_bounded)
{
	struct fixture *fx = setup();

	CHECK(fx != NULL);
	if (!fx)
		return;
	post(fx, (struct chariot_ring_rec){ .type = CHARIOT_REC_THUNK,
					    .addr = KTEXT + 0x10, .len = 16 });
	/* The same one again (a monitor reloaded): kept once. */
	post(fx, (struct chariot_ring_rec){ .type = CHARIOT_REC_THUNK,
					    .addr = KTEXT + 0x10, .len = 16 });
	CHECK_EQ(ring_drain(&fx->ring, &fx->iso), 2);
	CHECK_EQ(fx->iso.nthunk, 1);
	CHECK_EQ(fx->iso.thunk[0].start, KTEXT + 0x10);
	CHECK_EQ(fx->iso.thunk[0].end, KTEXT + 0x20);
	for (unsigned int i = 1; i <= ISO_MAX_THUNKS; i++)
		post(fx, (struct chariot_ring_rec){ .type = CHARIOT_REC_THUNK,
			.addr = KTEXT + i * 0x1000, .len = 16 });
	CHECK_EQ(ring_drain(&fx->ring, &fx->iso), ISO_MAX_THUNKS);
	CHECK_EQ(fx->iso.nthunk, ISO_MAX_THUNKS);
	CHECK_EQ(fx->ring.stats.rejected[RING_ERR_STATE], 1);
	teardown(fx);
}

/* A module that is not isolated unloads (TRUSTED_GONE, version 7): its
 * range goes, exactly that one, and an isolated driver loaded at those
 * addresses next is a domain (it was refused, -EBUSY, while the range
 * stayed trusted). */
TEST(ring_trusted_code_goes_with_its_module)
{
	struct fixture *fx = setup();
	const uint64_t mod = DRV + 0x100000;

	CHECK(fx != NULL);
	if (!fx)
		return;
	post(fx, (struct chariot_ring_rec){ .type = CHARIOT_REC_TRUSTED_RANGE,
					    .addr = KTEXT, .len = 0x1000 });
	post(fx, (struct chariot_ring_rec){ .type = CHARIOT_REC_TRUSTED_RANGE,
					    .addr = mod, .len = 0x3000 });
	post(fx, create_rec(1, mod + 0x1000));		/* over it: refused */
	CHECK_EQ(ring_drain(&fx->ring, &fx->iso), 3);
	CHECK_EQ(fx->ring.stats.rejected[RING_ERR_STATE], 1);
	CHECK(!iso_domain(&fx->iso, 1));
	/* Not the range given (a part of it, another): refused. */
	post(fx, (struct chariot_ring_rec){ .type = CHARIOT_REC_TRUSTED_GONE,
					    .addr = mod, .len = 0x1000 });
	post(fx, (struct chariot_ring_rec){ .type = CHARIOT_REC_TRUSTED_GONE,
					    .addr = DRV, .len = 0x3000 });
	CHECK_EQ(ring_drain(&fx->ring, &fx->iso), 2);
	CHECK_EQ(fx->ring.stats.rejected[RING_ERR_STATE], 3);
	CHECK_EQ(fx->iso.ntrusted, 2);
	post(fx, (struct chariot_ring_rec){ .type = CHARIOT_REC_TRUSTED_GONE,
					    .addr = mod, .len = 0x3000 });
	post(fx, create_rec(1, mod + 0x1000));
	CHECK_EQ(ring_drain(&fx->ring, &fx->iso), 2);
	CHECK_EQ(fx->ring.stats.rejected[RING_ERR_STATE], 3);
	CHECK_EQ(fx->iso.ntrusted, 1);
	CHECK_EQ(fx->iso.trusted[0].start, KTEXT);
	CHECK(iso_domain(&fx->iso, 1) != NULL);
	/* Gone twice: the second is refused. */
	post(fx, (struct chariot_ring_rec){ .type = CHARIOT_REC_TRUSTED_GONE,
					    .addr = mod, .len = 0x3000 });
	CHECK_EQ(ring_drain(&fx->ring, &fx->iso), 1);
	CHECK_EQ(fx->ring.stats.rejected[RING_ERR_STATE], 4);
	teardown(fx);
}
