/* Unit tests for the VMM's side of recovery (iso/recovery.h and the
 * engine's recovery hooks): the mode names, the hang rule, the guest's
 * recovery area read as untrusted input, the "faults" JSON; and, on an
 * engine with a fake protection backend, which vCPUs are sent to the
 * guest monitor's recovery entry: a write denied under an entry (not in
 * learn mode, not with --recover off), a hang seen by the watchdog (only
 * once the vCPU is in the driver's code), never to an entry the guest
 * did not publish or that lies outside trusted code. */
#include <stdlib.h>
#include <time.h>

#include "chariot_abi.h"
#include "iso/engine.h"
#include "iso/recovery.h"
#include "test.h"

#define RAM		(16ull << 20)
#define SHM		(RAM - CHARIOT_SHM_SIZE)
#define DRV		0xffffffffc0001000ull	/* the driver's code */
#define MON		0xffffffffc0200000ull	/* the monitor's code */
#define ENTRY		(MON + 0x123)
#define STACK		0xffffc90000010000ull	/* the entries' stack */
#define SP		(STACK + 0x3f00)	/* a stack pointer on it */

TEST(recovery_mode_names)
{
	CHECK_EQ(recover_mode_parse("reload"), RECOVER_RELOAD);
	CHECK_EQ(recover_mode_parse("unload"), RECOVER_UNLOAD);
	CHECK_EQ(recover_mode_parse("off"), RECOVER_OFF);
	CHECK_EQ(recover_mode_parse("Reload"), -1);
	CHECK_EQ(recover_mode_parse(""), -1);
	CHECK_EQ(recover_mode_parse(NULL), -1);
	CHECK(!strcmp(recover_mode_name(RECOVER_UNLOAD), "unload"));
	CHECK(!strcmp(recover_mode_name(RECOVER_MODES), "?"));
	CHECK(!strcmp(recover_source_name(CHARIOT_FAULT_WRITE), "write"));
	CHECK(!strcmp(recover_source_name(CHARIOT_FAULT_OPERATOR), "operator"));
	CHECK(recover_source_name(0) == NULL);
	CHECK(!strcmp(recover_source_name(CHARIOT_FAULT_LOCK), "lock"));
	CHECK(recover_source_name(6) == NULL);
}

TEST(recovery_hang_rule)
{
	uint64_t ms = 1000000;

	CHECK(!recover_hung(0, 10000 * ms, 100));	/* in no driver */
	CHECK(!recover_hung(5 * ms, 10000 * ms, 0));	/* no limit */
	CHECK(!recover_hung(5 * ms, 105 * ms, 100));	/* exactly the limit */
	CHECK(recover_hung(5 * ms, 106 * ms, 100));
	CHECK(!recover_hung(200 * ms, 100 * ms, 100));	/* clock behind */
}

static struct chariot_recovery *area_new(void)
{
	struct chariot_recovery *a = calloc(1, sizeof(*a));

	a->magic = CHARIOT_RECOVERY_MAGIC;
	a->entry = ENTRY;
	return a;
}

TEST(recovery_entry_needs_the_magic_and_the_whole_area)
{
	struct chariot_recovery *a = area_new();

	CHECK_EQ(recover_entry(a, sizeof(*a)), ENTRY);
	CHECK_EQ(recover_entry(a, sizeof(*a) - 1), 0);
	CHECK_EQ(recover_entry(NULL, sizeof(*a)), 0);
	a->magic = 0;
	CHECK_EQ(recover_entry(a, sizeof(*a)), 0);
	free(a);
}

TEST(recovery_records_validated)
{
	struct chariot_recovery *a = area_new();
	struct recover_fault out[CHARIOT_FAULTS_MAX];
	unsigned int rejected = 99;

	a->fault[0] = (struct chariot_fault){ .domain = 1,
		.detected_by = CHARIOT_FAULT_HANG, .flags = 0x2f,
		.recovery_us = 1500, .rip = DRV + 4 };
	memcpy(a->fault[0].symbol, "buggy\x01\x80x", 8);
	a->fault[1] = (struct chariot_fault){ .domain = 2,	/* no module 2 */
		.detected_by = CHARIOT_FAULT_WRITE };
	a->fault[2] = (struct chariot_fault){ .domain = 0, .detected_by = 9 };
	a->fault[3] = (struct chariot_fault){ .domain = 0,
		.detected_by = CHARIOT_FAULT_EXCEPTION };
	memset(a->fault[3].symbol, 'A', sizeof(a->fault[3].symbol));	/* no NUL */
	a->nfaults = 4;

	CHECK_EQ(recover_read(a, sizeof(*a), 2, out, CHARIOT_FAULTS_MAX,
			      &rejected), 2);
	CHECK_EQ(rejected, 2);
	CHECK_EQ(out[0].domain, 1);
	CHECK_EQ(out[0].detected_by, CHARIOT_FAULT_HANG);
	CHECK_EQ(out[0].recovery_us, 1500);
	CHECK_EQ(out[0].rip, DRV + 4);
	CHECK(!strcmp(out[0].symbol, "buggy??x"));
	CHECK_EQ(strlen(out[1].symbol), CHARIOT_FAULT_SYMBOL_LEN - 1);

	/* At most max; a count past the array is clamped. */
	CHECK_EQ(recover_read(a, sizeof(*a), 2, out, 1, NULL), 1);
	a->nfaults = 1000;
	CHECK_EQ(recover_read(a, sizeof(*a), 2, out, CHARIOT_FAULTS_MAX,
			      &rejected), 2);
	CHECK_EQ(rejected, CHARIOT_FAULTS_MAX - 2);	/* zeroed: no source */
	a->magic = 1;
	CHECK_EQ(recover_read(a, sizeof(*a), 2, out, CHARIOT_FAULTS_MAX,
			      &rejected), 0);
	CHECK_EQ(rejected, 0);
	free(a);
}

TEST(recovery_json)
{
	struct recover_fault x[2] = {
		{ .domain = 0, .detected_by = CHARIOT_FAULT_WRITE,
		  .flags = CHARIOT_FAULT_UNWOUND | CHARIOT_FAULT_UNLOADED |
			   CHARIOT_FAULT_RELOADED | CHARIOT_FAULT_RESTORED |
			   CHARIOT_FAULT_DONE,
		  .recovery_us = 1250, .rip = 0x10, .symbol = "f+0x1/0x2 [m]" },
		{ .domain = 1, .detected_by = CHARIOT_FAULT_EXCEPTION },
	};
	const char *mods[2] = { "m", "n" };
	char buf[2048] = "";
	FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");

	recover_json(f, x, 2, mods);
	fclose(f);
	CHECK(strstr(buf, "{\"module\": \"m\", \"detected_by\": \"write\", "
		      "\"rip\": \"0x10\", \"symbol\": \"f+0x1/0x2 [m]\", "
		      "\"unwound\": true, \"unloaded\": true, \"reloaded\": true, "
		      "\"service_restored\": true") != NULL);
	CHECK(strstr(buf, "\"recovery_ms\": 1.2") != NULL);
	CHECK(strstr(buf, "\"detected_by\": \"exception\"") != NULL);
	CHECK(strstr(buf, "\"symbol\": null") != NULL);
	CHECK(strstr(buf, "\"recovery_ms\": null}") != NULL);	/* not done */
}

/* ---- the engine's hooks ---- */

struct rfx {
	uint8_t *ram;
	struct guest_mem mem;
	struct protect_ops ops;
	struct engine e;
	struct chariot_ring *ring;
	struct chariot_recovery *area;
	unsigned int kicks[2];
};

static int no_slot(void *o, uint32_t s, uint64_t g, uint64_t n, uint64_t h,
		   bool ro)
{
	(void)o, (void)s, (void)g, (void)n, (void)h, (void)ro;
	return 0;
}

static int no_smm(void *o, unsigned int v, bool on)
{
	(void)o, (void)v, (void)on;
	return 0;
}

static void count_kick(void *opaque, unsigned int vcpu)
{
	((struct rfx *)opaque)->kicks[vcpu]++;
}

static struct rfx *rfx_new(bool learn, enum recover_mode mode,
			   unsigned int hang_ms)
{
	struct rfx *x = calloc(1, sizeof(*x));
	struct engine_config c = {
		.vcpus = 2, .learn = learn, .mech = PROTECT_SMM_VIEW,
		.shm_gpa = SHM, .shm_size = CHARIOT_SHM_SIZE,
		.recover = mode, .hang_ms = hang_ms,
		.kick = count_kick, .watchdog_ms = hang_ms ? 2 : 0,
	};
	char err[128];

	x->ram = aligned_alloc(4096, RAM);
	memset(x->ram, 0, RAM);
	guest_mem_wrap(&x->mem, x->ram, RAM);
	x->ops = (struct protect_ops){ no_slot, no_smm, x };
	c.ops = &x->ops;
	c.mem = &x->mem;
	c.shm = x->ram + SHM;
	c.opaque = x;
	c.modules[c.nmodules++] = "drv";
	if (engine_init(&x->e, &c, err, sizeof(err))) {
		fprintf(stderr, "  %s\n", err);
		free(x->ram);
		free(x);
		return NULL;
	}
	x->ring = (struct chariot_ring *)(x->ram + SHM +
					  CHARIOT_SHM_RING_OFFSET);
	x->area = (struct chariot_recovery *)(x->ram + SHM +
					      CHARIOT_SHM_RECOVERY_OFFSET);
	return x;
}

static void rfx_free(struct rfx *x)
{
	engine_destroy(&x->e);
	free(x->ram);
	free(x);
}

static void rpost(struct rfx *x, struct chariot_ring_rec r)
{
	uint32_t head = x->ring->head;

	r.seq = head;
	x->ring->rec[head & (x->ring->capacity - 1)] = r;
	__atomic_store_n(&x->ring->head, head + 1, __ATOMIC_RELEASE);
}

/* engine_recover_take() for vCPU 0 stopped at rip, rsp, interrupts on. */
static int take(struct rfx *x, uint64_t rip, uint64_t rsp,
		struct engine_redirect *r)
{
	struct engine_stop at = { rip, rsp, ENGINE_RFLAGS_IF };

	return engine_recover_take(&x->e, 0, &at, r);
}

/* The guest: the monitor's code trusted, its entry published, domain 0
 * (drv) created and entered on vCPU 0. */
static void guest_up(struct rfx *x, bool publish)
{
	uint8_t bell[4] = { CHARIOT_CMD_RING, 0, 0, 0 };

	rpost(x, (struct chariot_ring_rec){ .type = CHARIOT_REC_TRUSTED_RANGE,
		.len = 0x1000, .addr = MON });
	rpost(x, (struct chariot_ring_rec){ .type = CHARIOT_REC_DOMAIN_CREATE,
		.len = 0x1000, .addr = DRV });
	rpost(x, (struct chariot_ring_rec){ .type = CHARIOT_REC_ENTER,
		.addr = 0xffffc90000001000ull,
		.cookie = CHARIOT_ENTER_STACK(STACK, 0x4000) });
	if (publish) {
		x->area->entry = ENTRY;
		x->area->magic = CHARIOT_RECOVERY_MAGIC;
	}
	engine_port_write(&x->e, 0, CHARIOT_PORT_BASE + CHARIOT_REG_DOORBELL,
			  bell, 4);
}

/* A write by the driver outside its (empty) ACT: denied.  Returns
 * whether it was. */
static bool denied_write(struct rfx *x, unsigned int vcpu)
{
	struct engine_trap t = { .vcpu = vcpu, .rip = DRV + 0x20,
				 .rsp = STACK + 0x3f00 };
	uint8_t data[8] = { 1 };
	struct verdict v;

	engine_ram_write(&x->e, &t, 0x200000, data, 8, &v);
	return !v.allow;
}

TEST(recovery_denied_write_sends_the_vcpu_to_the_entry)
{
	struct rfx *x = rfx_new(false, RECOVER_RELOAD, 0);
	struct engine_redirect r;

	if (!x)
		return;
	guest_up(x, true);
	CHECK(!engine_recover_pending(&x->e, 0));
	CHECK(denied_write(x, 0));
	CHECK(engine_recover_pending(&x->e, 0));
	CHECK(!engine_recover_pending(&x->e, 1));
	CHECK_EQ(take(x, DRV + 0x24, SP, &r), 1);
	CHECK_EQ(r.rip, ENTRY);
	CHECK_EQ(r.domain, 0);
	CHECK_EQ(r.fault_rip, DRV + 0x20);
	CHECK_EQ(r.why, CHARIOT_FAULT_WRITE);
	CHECK_EQ(r.resume, DRV + 0x24);
	CHECK(!engine_recover_pending(&x->e, 0));
	CHECK_EQ(take(x, DRV + 0x24, SP, &r), 0);
	CHECK_EQ(x->e.stats.recover_redirects, 1);
	/* Outside any entry (vCPU 1): the write is dropped, nothing more. */
	denied_write(x, 1);
	CHECK(!engine_recover_pending(&x->e, 1));
	rfx_free(x);
}

TEST(recovery_not_in_learn_mode_nor_when_off)
{
	struct rfx *x = rfx_new(true, RECOVER_RELOAD, 0);
	struct engine_trap t = { .vcpu = 0, .rip = DRV + 0x20 };
	uint8_t data[8] = { 1 };

	if (!x)
		return;
	guest_up(x, true);
	engine_ram_write(&x->e, &t, 0x200000, data, 8, NULL);
	CHECK(!engine_recover_pending(&x->e, 0));
	rfx_free(x);

	x = rfx_new(false, RECOVER_OFF, 0);
	if (!x)
		return;
	guest_up(x, true);
	denied_write(x, 0);
	CHECK(!engine_recover_pending(&x->e, 0));
	rfx_free(x);
}

TEST(recovery_only_to_a_published_trusted_entry)
{
	struct rfx *x = rfx_new(false, RECOVER_UNLOAD, 0);
	struct engine_redirect r;

	if (!x)
		return;
	guest_up(x, false);		/* nothing published */
	denied_write(x, 0);
	CHECK_EQ(take(x, DRV + 0x24, SP, &r), 0);
	CHECK(!engine_recover_pending(&x->e, 0));	/* dropped */
	CHECK_EQ(x->e.stats.recover_no_entry, 1);

	x->area->magic = CHARIOT_RECOVERY_MAGIC;
	x->area->entry = DRV + 0x40;	/* the driver's own code */
	denied_write(x, 0);
	CHECK_EQ(take(x, DRV + 0x24, SP, &r), 0);
	x->area->entry = 0xffff888000000000ull;	/* data, not code */
	denied_write(x, 0);
	CHECK_EQ(take(x, DRV + 0x24, SP, &r), 0);
	CHECK_EQ(x->e.stats.recover_no_entry, 3);
	CHECK_EQ(x->e.stats.recover_redirects, 0);
	rfx_free(x);
}

TEST(recovery_hang_found_by_the_watchdog)
{
	struct rfx *x = rfx_new(false, RECOVER_RELOAD, 20);
	struct timespec ts = { 0, 60 * 1000000 };
	struct engine_redirect r;

	if (!x)
		return;
	guest_up(x, true);
	__atomic_store_n(&x->e.vcpu[0].started, true, __ATOMIC_RELEASE);
	CHECK(!engine_recover_pending(&x->e, 0));
	nanosleep(&ts, NULL);
	CHECK(engine_recover_pending(&x->e, 0));
	CHECK(x->kicks[0] >= 1);
	CHECK_EQ(x->kicks[1], 0);
	CHECK_EQ(x->e.stats.hangs, 1);
	/* In kernel code the driver called: not now, still pending. */
	CHECK_EQ(take(x, 0xffffffff81000000ull, SP, &r), 0);
	CHECK(engine_recover_pending(&x->e, 0));
	CHECK_EQ(take(x, DRV + 0x80, SP, &r), 1);
	CHECK_EQ(r.why, CHARIOT_FAULT_HANG);
	CHECK_EQ(r.fault_rip, DRV + 0x80);
	CHECK_EQ(r.resume, DRV + 0x80);
	/* Not again at once: the clock restarts until the guest leaves. */
	CHECK(!engine_recover_pending(&x->e, 0));
	/* A write denied while a hang waits goes as a write. */
	nanosleep(&ts, NULL);
	CHECK(engine_recover_pending(&x->e, 0));
	CHECK(denied_write(x, 0));
	CHECK_EQ(take(x, DRV + 0x24, SP, &r), 1);
	CHECK_EQ(r.why, CHARIOT_FAULT_WRITE);
	CHECK_EQ(r.fault_rip, DRV + 0x20);
	rfx_free(x);
}

/* A hang found (hang_ms 20) and not yet taken: wait past the watchdog. */
static bool hang_found(struct rfx *x)
{
	struct timespec ts = { 0, 60 * 1000000 };

	__atomic_store_n(&x->e.vcpu[0].started, true, __ATOMIC_RELEASE);
	nanosleep(&ts, NULL);
	return engine_recover_pending(&x->e, 0);
}

TEST(recovery_hang_in_kernel_code_taken_after_a_grace)
{
	struct rfx *x = rfx_new(false, RECOVER_RELOAD, 20);
	struct engine_redirect r;
	uint64_t kernel = MON + 0x10;	/* trusted code, not the driver's */
	struct engine_stop irq_entry = { kernel, SP, 0 };	/* IF clear */

	if (!x)
		return;
	guest_up(x, true);
	CHECK(hang_found(x));
	/* Found just now (the clock is not what is tested). */
	x->e.vcpu[0].rec_since = UINT64_MAX;
	/* Spinning in kernel code the driver called (a lock it left
	 * taken): the driver's code is waited for a while first. */
	CHECK_EQ(take(x, kernel, SP, &r), 0);
	CHECK(engine_recover_pending(&x->e, 0));
	x->e.vcpu[0].rec_since = 1;	/* found long ago */
	/* On another stack (an interrupt's): not the driver's call. */
	CHECK_EQ(take(x, kernel, STACK + 0x5000, &r), 0);
	/* Untrusted code (a BPF program, data): never. */
	CHECK_EQ(take(x, 0xffff888000001000ull, SP, &r), 0);
	/* Interrupts off on that stack: an interrupt's entry code before
	 * it switches stacks (sysvec_*), not the driver's call. */
	CHECK_EQ(engine_recover_take(&x->e, 0, &irq_entry, &r), 0);
	CHECK_EQ(x->e.stats.hangs_in_kernel, 0);
	CHECK_EQ(take(x, kernel, SP, &r), 1);
	CHECK_EQ(r.why, CHARIOT_FAULT_HANG);
	CHECK_EQ(r.domain, 0);
	CHECK_EQ(r.fault_rip, kernel);
	CHECK_EQ(r.resume, kernel);
	CHECK_EQ(x->e.stats.hangs_in_kernel, 1);
	CHECK(!engine_recover_pending(&x->e, 0));
	rfx_free(x);
}

TEST(recovery_hang_dropped_when_the_call_ended)
{
	struct rfx *x = rfx_new(false, RECOVER_RELOAD, 20);
	struct engine_redirect r;

	if (!x)
		return;
	guest_up(x, true);
	CHECK(hang_found(x));
	/* The slow call returned before the vCPU was found in it. */
	rpost(x, (struct chariot_ring_rec){ .type = CHARIOT_REC_LEAVE,
		.domain = 0, .vcpu = 0 });
	CHECK_EQ(take(x, DRV + 0x80, SP, &r), 0);
	CHECK(!engine_recover_pending(&x->e, 0));
	CHECK_EQ(x->e.stats.hangs_left, 1);
	CHECK_EQ(x->e.stats.recover_redirects, 0);
	rfx_free(x);
}
