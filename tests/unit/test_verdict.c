/* Unit tests for the write verdict (every branch, learn mode, the
 * violation log, the counters) and the isolation state under it: domains,
 * trusted code, entry stacks, revocation closing open pages. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "iso/domain.h"
#include "test.h"

#define KTEXT		0xffffffff81000000ull	/* trusted kernel text */
#define KTEXT_LEN	0x1000000ull
#define DRV_A		0xffffffffc0000000ull	/* domain 1's code */
#define DRV_B		0xffffffffc0100000ull	/* domain 2's code */
#define DRV_LEN		0x10000ull
#define ELSEWHERE	0xffffffffc0800000ull	/* code nobody registered */
#define OBJ		0x1234000ull		/* granted to domain 1 */
#define MAX_EVENTS	16

struct event {
	unsigned int domain;
	uint64_t page;
	bool writable;
};

struct fixture {
	struct iso iso;
	struct event ev[MAX_EVENTS];
	int nev;
};

static void record(void *opaque, unsigned int domain, uint64_t page,
		   bool writable)
{
	struct fixture *fx = opaque;

	if (fx->nev < MAX_EVENTS)
		fx->ev[fx->nev++] = (struct event){ domain, page, writable };
}

/* Two vCPUs, domains 1 and 2, kernel text trusted, a page and 16 bytes
 * granted to domain 1. */
static struct fixture *setup(bool learn, unsigned int open_pages)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct iso_config cfg = {
		.vcpus = 2, .act_entries = 64, .open_pages = open_pages,
		.learn = learn, .protect = record,
	};

	if (!fx)
		return NULL;
	cfg.opaque = fx;
	if (iso_init(&fx->iso, &cfg) ||
	    iso_add_trusted(&fx->iso, KTEXT, KTEXT_LEN) ||
	    iso_domain_create(&fx->iso, 1, "e1000", 7, DRV_A, DRV_LEN) ||
	    iso_domain_create(&fx->iso, 2, NULL, 8, DRV_B, DRV_LEN) ||
	    iso_grant(&fx->iso, 1, OBJ, 0x1000, CHARIOT_GRANT_KMALLOC, 0) ||
	    iso_grant(&fx->iso, 1, OBJ + 0x2000, 16, CHARIOT_GRANT_STACK, 0)) {
		free(fx);
		return NULL;
	}
	return fx;
}

static void teardown(struct fixture *fx)
{
	iso_destroy(&fx->iso);
	free(fx);
}

static struct verdict judge(struct fixture *fx, unsigned int vcpu,
			    uint64_t rip, uint64_t gpa, uint32_t len)
{
	return verdict_judge(&fx->iso, vcpu, rip, gpa, len);
}

TEST(verdict_invalid_access_denied)
{
	struct fixture *fx = setup(true, 0);
	struct verdict v;

	CHECK(fx != NULL);
	if (!fx)
		return;
	v = judge(fx, 2, DRV_A, OBJ, 8);		/* no such vCPU */
	CHECK(!v.allow && !v.learned);		/* learn mode does not help */
	CHECK_EQ(v.reason, VERDICT_DENY_INVALID);
	CHECK_EQ(judge(fx, 0, DRV_A, OBJ, 0).reason, VERDICT_DENY_INVALID);
	CHECK_EQ(judge(fx, 0, DRV_A, UINT64_MAX - 3, 8).reason,
		 VERDICT_DENY_INVALID);
	CHECK_EQ(fx->iso.log.n, 3);
	CHECK_EQ(fx->iso.log.v[0].domain, -1);
	CHECK_EQ(fx->iso.dom[1].stats.trapped_writes, 0);
	teardown(fx);
}

TEST(verdict_trusted_code_allowed)
{
	struct fixture *fx = setup(false, 0);
	struct verdict v;

	CHECK(fx != NULL);
	if (!fx)
		return;
	v = judge(fx, 0, KTEXT + 0x100, 0x9999000, 8);
	CHECK(v.allow);
	CHECK_EQ(v.reason, VERDICT_ALLOW_TRUSTED_CODE);
	CHECK_EQ(v.domain, -1);			/* no domain was running */
	CHECK_EQ(iso_enter(&fx->iso, 0, 1, 0xffffc90000003f00ull, 42), 0);
	v = judge(fx, 0, KTEXT + 0x100, 0x9999000, 8);
	CHECK(v.allow);
	CHECK_EQ(v.reason, VERDICT_ALLOW_TRUSTED_CODE);
	CHECK_EQ(v.domain, 1);			/* charged to the driver */
	CHECK_EQ(fx->iso.dom[1].stats.trapped_writes, 1);
	CHECK_EQ(fx->iso.dom[1].stats.allowed, 1);
	CHECK_EQ(fx->iso.log.n, 0);
	teardown(fx);
}

TEST(verdict_no_domain_allowed)
{
	struct fixture *fx = setup(false, 0);
	struct verdict v;

	CHECK(fx != NULL);
	if (!fx)
		return;
	v = judge(fx, 1, ELSEWHERE, 0x9999000, 4);
	CHECK(v.allow);
	CHECK_EQ(v.reason, VERDICT_ALLOW_NO_DOMAIN);
	CHECK_EQ(v.domain, -1);
	/* A domain active on another vCPU changes nothing here. */
	CHECK_EQ(iso_enter(&fx->iso, 0, 1, 0, 0), 0);
	CHECK_EQ(judge(fx, 1, ELSEWHERE, 0x9999000, 4).reason,
		 VERDICT_ALLOW_NO_DOMAIN);
	teardown(fx);
}

TEST(verdict_judges_domain_code_against_its_act)
{
	struct fixture *fx = setup(false, 0);
	struct verdict v;

	CHECK(fx != NULL);
	if (!fx)
		return;
	CHECK_EQ(iso_enter(&fx->iso, 0, 1, 0, 0), 0);
	v = judge(fx, 0, DRV_A + 0x40, OBJ + 0xff8, 8);
	CHECK(v.allow);
	CHECK_EQ(v.reason, VERDICT_ALLOW_ACT);
	CHECK_EQ(v.domain, 1);
	v = judge(fx, 0, DRV_A + 0x40, OBJ + 0xffc, 8);
	CHECK(!v.allow);
	CHECK_EQ(v.reason, VERDICT_DENY_PARTIAL);
	v = judge(fx, 0, DRV_A + 0x40, OBJ + 0x1000, 8);
	CHECK(!v.allow);
	CHECK_EQ(v.reason, VERDICT_DENY_NOT_IN_ACT);
	/* Driver code reached without an ENTER is held to its ACT too. */
	CHECK_EQ(judge(fx, 1, DRV_A + 0x80, OBJ + 0x1000, 8).reason,
		 VERDICT_DENY_NOT_IN_ACT);
	CHECK_EQ(judge(fx, 1, DRV_A + 0x80, OBJ, 8).reason, VERDICT_ALLOW_ACT);
	/* Domain 2's code writing domain 1's object, even inside 1. */
	CHECK_EQ(judge(fx, 0, DRV_B, OBJ, 8).reason, VERDICT_DENY_NOT_IN_ACT);
	CHECK_EQ(fx->iso.dom[1].stats.trapped_writes, 5);
	CHECK_EQ(fx->iso.dom[1].stats.allowed, 2);
	CHECK_EQ(fx->iso.dom[1].stats.denied, 3);
	CHECK_EQ(fx->iso.dom[2].stats.denied, 1);
	CHECK_EQ(fx->iso.log.n, 4);
	CHECK_EQ(fx->iso.log.v[0].domain, 1);
	CHECK_EQ(fx->iso.log.v[0].rip, DRV_A + 0x40);
	CHECK_EQ(fx->iso.log.v[0].gpa, OBJ + 0xffc);
	CHECK_EQ(fx->iso.log.v[0].len, 8);
	CHECK_EQ(fx->iso.log.v[0].reason, VERDICT_DENY_PARTIAL);
	CHECK_EQ(fx->iso.log.v[3].domain, 2);
	teardown(fx);
}

TEST(verdict_unknown_code_runs_with_active_domain_rights)
{
	struct fixture *fx = setup(false, 0);
	struct verdict v;

	CHECK(fx != NULL);
	if (!fx)
		return;
	CHECK_EQ(iso_enter(&fx->iso, 1, 1, 0, 0), 0);
	v = judge(fx, 1, ELSEWHERE, OBJ + 0x2000, 16);
	CHECK(v.allow);
	CHECK_EQ(v.reason, VERDICT_ALLOW_ACT);
	v = judge(fx, 1, ELSEWHERE, 0x9999000, 8);
	CHECK(!v.allow);
	CHECK_EQ(v.reason, VERDICT_DENY_NOT_IN_ACT);
	CHECK_EQ(v.domain, 1);
	teardown(fx);
}

TEST(verdict_learn_mode_allows_and_logs)
{
	struct fixture *fx = setup(true, 0);
	struct verdict v;

	CHECK(fx != NULL);
	if (!fx)
		return;
	v = judge(fx, 0, DRV_A, 0x9999000, 8);
	CHECK(v.allow && v.learned);
	CHECK_EQ(v.reason, VERDICT_DENY_NOT_IN_ACT);
	v = judge(fx, 0, DRV_A, OBJ, 8);
	CHECK(v.allow && !v.learned);
	CHECK_EQ(fx->iso.log.n, 1);
	CHECK(fx->iso.log.v[0].learned);
	CHECK_EQ(fx->iso.dom[1].stats.learned, 1);
	CHECK_EQ(fx->iso.dom[1].stats.allowed, 2);
	CHECK_EQ(fx->iso.dom[1].stats.denied, 0);
	teardown(fx);
}

TEST(verdict_log_is_bounded)
{
	struct fixture *fx = setup(false, 0);

	CHECK(fx != NULL);
	if (!fx)
		return;
	for (int i = 0; i < VIOLATION_LOG_MAX + 6; i++)
		judge(fx, 0, DRV_A, 0x9999000 + i, 1);
	CHECK_EQ(fx->iso.log.n, VIOLATION_LOG_MAX);
	CHECK_EQ(fx->iso.log.dropped, 6);
	CHECK_EQ(fx->iso.log.v[0].gpa, 0x9999000);	/* the first kept */
	CHECK_EQ(fx->iso.dom[1].stats.denied, VIOLATION_LOG_MAX + 6);
	violation_log_clear(&fx->iso.log);
	CHECK_EQ(fx->iso.log.n, 0);
	CHECK_EQ(fx->iso.log.dropped, 0);
	teardown(fx);
}

TEST(verdict_reason_names)
{
	CHECK(!strcmp(verdict_reason_name(VERDICT_ALLOW_ACT), "ALLOW_ACT"));
	CHECK(!strcmp(verdict_reason_name(VERDICT_DENY_PARTIAL),
		      "DENY_PARTIAL"));
	CHECK(!strcmp(verdict_reason_name(VERDICT_REASONS), "?"));
	for (int r = 0; r < VERDICT_REASONS; r++)
		CHECK(verdict_reason_name(r) != NULL);
}

TEST(iso_domain_create_rules)
{
	struct fixture *fx = setup(false, 0);
	struct iso *iso = &fx->iso;
	char long_name[DOMAIN_NAME_LEN + 1];

	CHECK(fx != NULL);
	if (!fx)
		return;
	memset(long_name, 'x', DOMAIN_NAME_LEN);
	long_name[DOMAIN_NAME_LEN] = 0;
	CHECK(!strcmp(iso_domain(iso, 1)->name, "e1000"));
	CHECK(!strcmp(iso_domain(iso, 2)->name, "domain2"));
	CHECK_EQ(iso_domain(iso, 2)->name_id, 8);
	CHECK_EQ(iso_domain_create(iso, ISO_MAX_DOMAINS, NULL, 0, 0x1000, 1),
		 -EINVAL);
	CHECK_EQ(iso_domain_create(iso, 3, NULL, 0, 0x1000, 0), -EINVAL);
	CHECK_EQ(iso_domain_create(iso, 3, long_name, 0, 0x1000, 1), -EINVAL);
	CHECK_EQ(iso_domain_create(iso, 1, NULL, 0, 0x1000, 1), -EEXIST);
	CHECK_EQ(iso_domain_create(iso, 3, NULL, 0, DRV_A + DRV_LEN - 1, 2),
		 -EBUSY);
	CHECK_EQ(iso_domain_create(iso, 3, NULL, 0, KTEXT - 1, 2), -EBUSY);
	CHECK(iso_domain(iso, 3) == NULL);
	CHECK_EQ(iso_add_trusted(iso, DRV_B + 4, 1), -EBUSY);
	CHECK_EQ(iso_add_trusted(iso, KTEXT, 1), 0);	/* trusted may overlap */
	CHECK_EQ(iso_domain_add_code(iso, 1, ELSEWHERE, 0x100), 0);
	CHECK(iso_domain_of_rip(iso, ELSEWHERE + 0xff) == iso_domain(iso, 1));
	CHECK(iso_domain_of_rip(iso, ELSEWHERE + 0x100) == NULL);
	CHECK_EQ(iso_domain_add_code(iso, 1, DRV_B, 1), -EBUSY);
	CHECK_EQ(iso_domain_add_code(iso, 5, 0x1000, 1), -ENOENT);
	CHECK_EQ(iso_domain_add_code(iso, 1, 0x1000, 1), 0);
	CHECK_EQ(iso_domain_add_code(iso, 1, 0x2000, 1), 0);
	CHECK_EQ(iso_domain_add_code(iso, 1, 0x3000, 1), -ENOSPC);
	CHECK(iso_rip_trusted(iso, KTEXT + KTEXT_LEN - 1));
	CHECK(!iso_rip_trusted(iso, KTEXT + KTEXT_LEN));
	CHECK_EQ(iso_grant(iso, 9, OBJ, 1, CHARIOT_GRANT_KMALLOC, 0), -ENOENT);
	teardown(fx);
}

TEST(iso_enter_leave_nesting)
{
	struct fixture *fx = setup(false, 0);
	struct iso *iso = &fx->iso;

	CHECK(fx != NULL);
	if (!fx)
		return;
	CHECK(iso_active(iso, 0) == NULL);
	CHECK_EQ(iso_enter(iso, 0, 1, 0xf100, 42), 0);
	CHECK_EQ(iso_enter(iso, 0, 2, 0xf200, 42), 0);	/* 1 -> kernel -> 2 */
	CHECK_EQ(iso_enter(iso, 0, 1, 0xf300, 42), 0);	/* -> 1 again */
	CHECK(iso_active(iso, 0) == iso_domain(iso, 1));
	CHECK_EQ(iso_outermost(iso, 0, 1)->frame, 0xf100);
	CHECK_EQ(iso_outermost(iso, 0, 2)->frame, 0xf200);
	CHECK(iso_outermost(iso, 1, 1) == NULL);
	CHECK_EQ(iso_leave(iso, 0, 2), -EPROTO);	/* not the innermost */
	CHECK_EQ(iso_leave(iso, 0, 1), 0);
	CHECK(iso_active(iso, 0) == iso_domain(iso, 2));
	CHECK_EQ(iso_enter(iso, 2, 1, 0, 0), -EINVAL);
	CHECK_EQ(iso_enter(iso, 0, 7, 0, 0), -ENOENT);
	CHECK_EQ(iso_leave(iso, 1, 1), -EPROTO);
	for (int i = 2; i < ISO_MAX_NEST; i++)
		CHECK_EQ(iso_enter(iso, 0, 1, 0, 0), 0);
	CHECK_EQ(iso_enter(iso, 0, 1, 0, 0), -EOVERFLOW);
	CHECK_EQ(iso_domain(iso, 1)->stats.entries, ISO_MAX_NEST);
	/* Destroying domain 1 leaves only domain 2's entry. */
	CHECK_EQ(iso_domain_destroy(iso, 1), 0);
	CHECK_EQ(iso->vcpu[0].depth, 1);
	CHECK(iso_active(iso, 0) == iso_domain(iso, 2));
	CHECK_EQ(iso_domain_destroy(iso, 1), -ENOENT);
	teardown(fx);
}

TEST(iso_open_pages_closed_by_revocation)
{
	struct fixture *fx = setup(false, 2);
	struct iso *iso = &fx->iso;
	struct domain *d;
	struct domain_stats st;

	CHECK(fx != NULL);
	if (!fx)
		return;
	d = iso_domain(iso, 1);
	CHECK_EQ(iso_open_page(iso, d, OBJ + 8), 1);
	CHECK_EQ(iso_open_page(iso, d, OBJ + 0x2000), 0);	/* 16 bytes */
	CHECK_EQ(fx->nev, 1);
	CHECK_EQ(fx->ev[0].domain, 1);
	CHECK_EQ(fx->ev[0].page, OBJ);
	CHECK(fx->ev[0].writable);
	CHECK_EQ(iso_revoke(iso, 1, OBJ + 0x800, 8), 0);
	CHECK_EQ(fx->nev, 2);
	CHECK_EQ(fx->ev[1].page, OBJ);
	CHECK(!fx->ev[1].writable);
	/* By cookie: a two-page vmalloc grant, both pages opened. */
	CHECK_EQ(iso_grant(iso, 1, 0x50000, 0x1000, CHARIOT_GRANT_VMALLOC,
			   0xc900), 0);
	CHECK_EQ(iso_grant(iso, 1, 0x70000, 0x1000, CHARIOT_GRANT_VMALLOC,
			   0xc900), 0);
	CHECK_EQ(iso_open_page(iso, d, 0x50000), 1);
	CHECK_EQ(iso_open_page(iso, d, 0x70000), 1);
	domain_stats(d, &st);
	CHECK_EQ(st.pages_opened, 3);
	CHECK_EQ(st.act_entries, 5);
	CHECK_EQ(iso_revoke_cookie(iso, 1, CHARIOT_GRANT_VMALLOC, 0xc900), 2);
	CHECK_EQ(pagecache_count(&d->pages), 0);
	CHECK_EQ(fx->nev, 6);
	CHECK(!fx->ev[4].writable && !fx->ev[5].writable);
	CHECK_EQ(iso_revoke_cookie(iso, 1, CHARIOT_GRANT_VMALLOC, 0), -EINVAL);
	/* Destroy closes what is still open. */
	CHECK_EQ(iso_open_page(iso, d, OBJ + 0x100), 0);	/* no longer whole */
	CHECK_EQ(iso_grant(iso, 1, 0x90000, 0x1000, CHARIOT_GRANT_PAGES, 0), 0);
	CHECK_EQ(iso_open_page(iso, d, 0x90000), 1);
	CHECK_EQ(iso_domain_destroy(iso, 1), 0);
	CHECK_EQ(fx->ev[fx->nev - 1].page, 0x90000);
	CHECK(!fx->ev[fx->nev - 1].writable);
	teardown(fx);
}

TEST(iso_init_rejects_bad_config)
{
	struct iso *iso = calloc(1, sizeof(*iso));
	struct iso_config cfg = { .vcpus = 0, .act_entries = 8 };

	CHECK(iso != NULL);
	if (!iso)
		return;
	CHECK_EQ(iso_init(iso, &cfg), -EINVAL);
	cfg.vcpus = ISO_MAX_VCPUS + 1;
	CHECK_EQ(iso_init(iso, &cfg), -EINVAL);
	cfg.vcpus = 1;
	cfg.act_entries = 0;
	CHECK_EQ(iso_init(iso, &cfg), -EINVAL);
	free(iso);
}
