/* Unit tests for the isolation engine with a fake protection backend: the
 * test plays the guest, posting records into the ring in a RAM buffer and
 * ringing the doorbell.  An allowed write lands in RAM, a denied one does
 * not and is logged with its symbol, learn mode lands and logs; ENTER and
 * LEAVE switch the vCPU's view; pages open and close (with the revoke-kick
 * flag); another vCPU's records count a mismatch and kick it; domains
 * take turns at open pages; a reload keeps counting; the JSON report;
 * stalls (page tables, event frames, writes KVM cannot emulate, the
 * watchdog) and, from the vCPU side, the decoding of those writes. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "chariot_abi.h"
#include "iso/engine.h"
#include "test.h"
#include "vmm/vcpu.h"

#define RAM_SIZE	(16ull << 20)
#define SHM_GPA		(RAM_SIZE - CHARIOT_SHM_SIZE)
#define CODE_A		0xffffffffc0001000ull
#define CODE_B		0xffffffffc0101000ull
#define KTEXT		0xffffffff81000000ull
#define STACK		0xffffc90000010000ull	/* the entries' stack */
#define IRQ_STACK	0xffffc90000100000ull	/* another */
#define CALL_STACK	0xffffc90000200000ull	/* mapped by fake_walk */
#define DOORBELL	(CHARIOT_PORT_BASE + CHARIOT_REG_DOORBELL)

struct fx {
	unsigned int event_calls, table_calls;
	uint64_t fake_cr3;		/* what the "vCPU" runs on */
	uint64_t cr3_of[4];		/* per vCPU, if set */
	unsigned int ntables;		/* kernel-half tables its walk finds */
	uint64_t ktables_at;		/* ... from here */
	unsigned int nuser;		/* user-half tables */
	uint64_t stack_at;		/* the stack it is on */
	uint64_t stuck_rip, stuck_gpa;	/* an unemulated write, if rip */
	uint64_t stuck_gpa2;
	bool event;			/* an event is pending */
	uint8_t *ram;
	struct guest_mem mem;
	struct engine e;
	struct protect_ops ops;
	struct chariot_ring *ring;
	bool smm[4];
	unsigned int slot_calls, kicks[4];
	uint64_t code_a_moved;		/* CODE_A's pages here if set (a
					 * reload at the same address) */
};

static int fake_set_slot(void *opaque, uint32_t slot, uint64_t gpa,
			 uint64_t size, uint64_t host_off, bool ro)
{
	struct fx *f = opaque;

	(void)slot, (void)gpa, (void)size, (void)host_off, (void)ro;
	f->slot_calls++;
	return 0;
}

static int fake_set_smm(void *opaque, unsigned int vcpu, bool on)
{
	struct fx *f = opaque;

	f->smm[vcpu] = on;
	return 0;
}

static void fake_kick(void *opaque, unsigned int vcpu)
{
	struct fx *f = opaque;

	f->kicks[vcpu]++;
}

/* A pending event whose frame goes to page 0x600000. */
static int fake_event_pages(void *opaque, unsigned int vcpu, uint64_t *gpa,
			    unsigned int max)
{
	struct fx *f = opaque;

	(void)vcpu;
	f->event_calls++;
	if (!max || !f->event)
		return 0;
	gpa[0] = 0x600000;
	return 1;
}

/* The root at ROOT_OF(cr3), then the kernel half's tables at ktables_at,
 * + 0x1000, ... or the user half's at 0x780000, ... */
#define ROOT_OF(cr3)	(0xd00000 + (cr3))
static int fake_table_pages(void *opaque, unsigned int vcpu, uint64_t *cr3,
			    bool user, uint64_t *gpa, unsigned int max)
{
	struct fx *f = opaque;
	uint64_t mine = f->cr3_of[vcpu] ? f->cr3_of[vcpu] : f->fake_cr3;
	unsigned int n = 0, want = user ? f->nuser : f->ntables;

	f->table_calls++;
	if (*cr3 == mine)
		return 0;
	*cr3 = mine;
	if (max)
		gpa[n++] = ROOT_OF(mine);
	for (unsigned int i = 0; i < want && n < max; i++)
		gpa[n++] = (user ? 0x780000 : f->ktables_at) + i * 4096ull;
	return (int)n;
}

/* The cmpxchg16b at stuck_rip, or an XSAVE crossing into the page at
 * stuck_gpa2 when that is set. */
static int fake_unemulated(void *opaque, unsigned int vcpu, uint64_t *rip,
			   uint64_t gpa[2], uint32_t *len)
{
	struct fx *f = opaque;

	(void)vcpu;
	if (!f->stuck_rip)
		return 0;
	*rip = f->stuck_rip;
	gpa[0] = f->stuck_gpa;
	*len = f->stuck_gpa2 ? 4096 : 16;
	gpa[1] = f->stuck_gpa2 ? f->stuck_gpa2 + (f->stuck_gpa & 0xfff) - 1
			       : f->stuck_gpa + 15;
	return 1;
}

/* Its stacks: 0x900000 (an IST top) and the kernel stack at stack_at
 * (0x901000). */
static int fake_stack_pages(void *opaque, unsigned int vcpu, uint64_t *gpa,
			    unsigned int max)
{
	struct fx *f = opaque;

	(void)vcpu;
	if (max < 2)
		return 0;
	gpa[0] = 0x900000;
	gpa[1] = f->stack_at;
	return 2;
}

static struct fx *setup_wd(bool learn, enum protect_mech mech,
			   const char *mod_a, const char *mod_b,
			   unsigned int watchdog_ms);

/* Fetch switching: the "vCPU" runs on CR3 0x1000, kernel mode. */
static int fake_kernel_cr3(void *opaque, unsigned int vcpu, uint64_t *cr3)
{
	(void)opaque, (void)vcpu;
	*cr3 = 0x1000;
	return 0;
}

/* Kernel text at 0x800000, CODE_A's pages at 0x300000, CODE_B's at
 * 0x380000 (backwards: page n at 0x3ff000 - n * 4 KiB). */
static int fake_walk(void *opaque, uint64_t cr3, uint64_t gva, uint64_t *gpa)
{
	const struct fx *f = opaque;

	if (cr3 != 0x1000)
		return -EFAULT;
	if (gva >= KTEXT && gva < KTEXT + 0x100000)
		*gpa = 0x800000 + (gva - KTEXT);
	else if (gva >= CODE_A && gva < CODE_A + 0x10000)
		*gpa = (f->code_a_moved ? f->code_a_moved : 0x300000) +
		       (gva - CODE_A);
	else if (gva >= CALL_STACK && gva < CALL_STACK + 0x1000)
		*gpa = 0xc00000 + (gva - CALL_STACK);
	else if (gva >= CODE_B && gva < CODE_B + 0x10000)
		*gpa = 0x3ff000 - ((gva - CODE_B) & ~0xfffull) +
		       (gva & 0xfff);
	else
		return -ENOENT;
	return 0;
}

static bool fetch_mode;		/* setup_wd() turns fetch switching on */
static bool leaf_off_mode;	/* ... and kernel pages run protected off */

static struct fx *setup(bool learn, enum protect_mech mech,
			const char *mod_a, const char *mod_b)
{
	return setup_wd(learn, mech, mod_a, mod_b, 0);
}

static struct fx *setup_wd(bool learn, enum protect_mech mech,
			   const char *mod_a, const char *mod_b,
			   unsigned int watchdog_ms)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct engine_config c = {
		.vcpus = 2, .learn = learn, .mech = mech,
		.shm_gpa = SHM_GPA, .shm_size = CHARIOT_SHM_SIZE,
		.open_pages = 4, .act_entries = 64,
		.kick = fake_kick, .event_pages = fake_event_pages,
		.table_pages = fake_table_pages, .stack_pages = fake_stack_pages,
		.unemulated_write = fake_unemulated, .watchdog_ms = watchdog_ms,
		.fetch_switch = fetch_mode, .leaf_off = leaf_off_mode,
		.kernel_cr3 = fake_kernel_cr3,
		.walk = fake_walk,
	};
	char err[128];

	f->fake_cr3 = 0x1000;
	f->ntables = 2;
	f->ktables_at = 0x700000;
	f->stack_at = 0x901000;
	f->ram = aligned_alloc(4096, RAM_SIZE);
	memset(f->ram, 0, RAM_SIZE);
	guest_mem_wrap(&f->mem, f->ram, RAM_SIZE);
	f->ops = (struct protect_ops){ fake_set_slot, fake_set_smm, f };
	c.ops = &f->ops;
	c.mem = &f->mem;
	c.shm = f->ram + SHM_GPA;
	c.opaque = f;
	c.modules[c.nmodules++] = mod_a;
	if (mod_b)
		c.modules[c.nmodules++] = mod_b;
	if (engine_init(&f->e, &c, err, sizeof(err))) {
		fprintf(stderr, "  %s\n", err);
		free(f->ram);
		free(f);
		return NULL;
	}
	f->ring = (struct chariot_ring *)(f->ram + SHM_GPA +
					  CHARIOT_SHM_RING_OFFSET);
	return f;
}

static void teardown(struct fx *f)
{
	engine_destroy(&f->e);
	free(f->ram);
	free(f);
}

/* The guest's side: post one record, ring from vcpu. */
static void post(struct fx *f, struct chariot_ring_rec r)
{
	uint32_t head = f->ring->head;

	r.seq = head;
	f->ring->rec[head & (f->ring->capacity - 1)] = r;
	__atomic_store_n(&f->ring->head, head + 1, __ATOMIC_RELEASE);
}

static int ring_bell(struct fx *f, unsigned int vcpu)
{
	uint8_t cmd[4] = { CHARIOT_CMD_RING, 0, 0, 0 };

	return engine_port_write(&f->e, vcpu, DOORBELL, cmd, 4);
}

static void create(struct fx *f, uint16_t id, uint64_t code, uint64_t name)
{
	post(f, (struct chariot_ring_rec){ .type = CHARIOT_REC_DOMAIN_CREATE,
		.domain = id, .len = 0x1000, .addr = code, .cookie = name });
}

static void destroy(struct fx *f, uint16_t id)
{
	post(f, (struct chariot_ring_rec){ .type = CHARIOT_REC_DOMAIN_DESTROY,
		.domain = id });
}

static void grant(struct fx *f, uint16_t id, uint64_t gpa, uint32_t len)
{
	post(f, (struct chariot_ring_rec){ .type = CHARIOT_REC_GRANT,
		.kind = CHARIOT_GRANT_PAGES, .domain = id, .len = len,
		.addr = gpa, .cookie = 7 });
}

static void enter(struct fx *f, uint16_t id, uint16_t vcpu)
{
	post(f, (struct chariot_ring_rec){ .type = CHARIOT_REC_ENTER,
		.domain = id, .vcpu = vcpu, .addr = 0xffffc90000001000ull,
		.cookie = CHARIOT_ENTER_STACK(STACK, 0x4000) });
}

static void leave(struct fx *f, uint16_t id, uint16_t vcpu)
{
	post(f, (struct chariot_ring_rec){ .type = CHARIOT_REC_LEAVE,
		.domain = id, .vcpu = vcpu });
}

/* A trapped 8-byte write made with the stack pointer at rsp; the verdict
 * in *v. */
static int write8_sp(struct fx *f, unsigned int vcpu, uint64_t rip,
		     uint64_t rsp, uint64_t gpa, uint64_t val, struct verdict *v)
{
	struct engine_trap t = { .vcpu = vcpu, .rip = rip, .rsp = rsp };
	uint8_t data[8];

	memcpy(data, &val, 8);
	return engine_ram_write(&f->e, &t, gpa, data, 8, v);
}

/* The same on the entries' stack. */
static int write8(struct fx *f, unsigned int vcpu, uint64_t rip, uint64_t gpa,
		  uint64_t val, struct verdict *v)
{
	return write8_sp(f, vcpu, rip, STACK + 0x3f00, gpa, val, v);
}

static uint64_t ram64(struct fx *f, uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, f->ram + gpa, 8);
	return v;
}

TEST(engine_enforce_allowed_lands_denied_does_not)
{
	struct fx *f = setup(false, PROTECT_SMM_VIEW, "drv", NULL);
	struct verdict v;

	CHECK(f != NULL);
	if (!f)
		return;
	CHECK_EQ(f->ring->magic, CHARIOT_RING_MAGIC);
	create(f, 0, CODE_A, 0);
	grant(f, 0, 0x100000, 64);
	enter(f, 0, 0);
	CHECK_EQ(ring_bell(f, 0), 1);
	CHECK(f->smm[0] && !f->smm[1]);
	CHECK(engine_module_loaded(&f->e, 0));
	CHECK(!strcmp(iso_domain(&f->e.iso, 0)->name, "drv"));

	CHECK_EQ(write8(f, 0, CODE_A + 0x10, 0x100008, 0x1122334455667788ull,
			&v), 0);
	CHECK(v.allow && v.reason == VERDICT_ALLOW_ACT);
	CHECK_EQ(ram64(f, 0x100008), 0x1122334455667788ull);

	CHECK_EQ(write8(f, 0, CODE_A + 0x20, 0x200000, 0xdead, &v), 0);
	CHECK(!v.allow && v.reason == VERDICT_DENY_NOT_IN_ACT);
	CHECK_EQ(ram64(f, 0x200000), 0);
	CHECK_EQ(f->e.iso.log.n, 1);
	CHECK(!strcmp(f->e.vsym[0], "drv+0x20"));
	CHECK(!strcmp(f->e.vmod[0], "drv"));

	/* Straddling the ACT's end: denied as partial. */
	CHECK_EQ(write8(f, 0, CODE_A + 0x30, 0x100000 + 60, 1, &v), 0);
	CHECK(!v.allow && v.reason == VERDICT_DENY_PARTIAL);

	/* Kernel code, once announced, is trusted. */
	engine_announce(&f->e, KTEXT, KTEXT + 0x1000000);
	CHECK_EQ(write8(f, 0, KTEXT + 0x40, 0x200000, 5, &v), 0);
	CHECK(v.allow && v.reason == VERDICT_ALLOW_TRUSTED_CODE);
	CHECK_EQ(ram64(f, 0x200000), 5);

	leave(f, 0, 0);
	CHECK_EQ(ring_bell(f, 0), 1);
	CHECK(!f->smm[0]);
	CHECK_EQ(f->e.mod[0].stats.entries, 1);
	CHECK_EQ(f->e.mod[0].stats.trapped_writes, 4);
	CHECK_EQ(f->e.mod[0].stats.denied, 2);
	CHECK_EQ(f->e.mod[0].stats.act_entries, 1);
	CHECK_EQ(f->e.stats.vcpu_mismatch, 0);
	teardown(f);
}

TEST(engine_learn_mode_lands_and_logs)
{
	struct fx *f = setup(true, PROTECT_SMM_VIEW, "drv", NULL);
	struct verdict v;

	if (!f)
		return;
	create(f, 0, CODE_A, 0);
	enter(f, 0, 0);
	CHECK_EQ(ring_bell(f, 0), 1);
	CHECK_EQ(write8(f, 0, CODE_A + 0x8, 0x200000, 42, &v), 0);
	CHECK(v.allow && v.learned);
	CHECK_EQ(ram64(f, 0x200000), 42);
	CHECK_EQ(f->e.iso.log.n, 1);
	CHECK(f->e.iso.log.v[0].learned);
	CHECK_EQ(f->e.mod[0].stats.learned, 1);
	teardown(f);
}

TEST(engine_doorbell_only_for_the_ring)
{
	struct fx *f = setup(false, PROTECT_SMM_VIEW, "drv", NULL);
	uint8_t init = CHARIOT_CMD_INIT, ring8 = CHARIOT_CMD_RING;
	uint8_t wide[2] = { CHARIOT_CMD_RING, 0 };

	if (!f)
		return;
	CHECK_EQ(engine_port_write(&f->e, 0, DOORBELL, &init, 1), 0);
	CHECK_EQ(engine_port_write(&f->e, 0, DOORBELL, wide, 2), 0);
	CHECK_EQ(engine_port_write(&f->e, 0, DOORBELL - 4, &ring8, 1), 0);
	CHECK_EQ(engine_port_write(&f->e, 0, DOORBELL, &ring8, 1), 1);
	CHECK_EQ(f->e.stats.doorbells, 1);
	teardown(f);
}

TEST(engine_opens_whole_pages_and_closes_on_revoke)
{
	struct fx *f = setup(false, PROTECT_SMM_VIEW, "drv", NULL);
	struct verdict v;

	if (!f)
		return;
	create(f, 0, CODE_A, 0);
	grant(f, 0, 0x300000, 4096);
	enter(f, 0, 0);
	CHECK_EQ(ring_bell(f, 0), 1);
	CHECK_EQ(write8(f, 0, CODE_A, 0x300100, 1, &v), 0);
	CHECK(v.allow);
	CHECK(protect_page_open(&f->e.prot, 0x300000));
	CHECK_EQ(f->e.mod[0].stats.pages_opened, 1);

	post(f, (struct chariot_ring_rec){ .type = CHARIOT_REC_REVOKE,
		.domain = 0, .len = 16, .addr = 0x300800 });
	CHECK_EQ(ring_bell(f, 0), 1);
	CHECK(!protect_page_open(&f->e.prot, 0x300000));
	teardown(f);
}

TEST(engine_other_vcpus_records_kick_it)
{
	struct fx *f = setup(false, PROTECT_SMM_VIEW, "drv", NULL);

	if (!f)
		return;
	CHECK_EQ(engine_run_begin(&f->e, 1), 0);	/* its thread runs */
	engine_run_end(&f->e, 1);
	create(f, 0, CODE_A, 0);
	enter(f, 0, 1);
	CHECK_EQ(ring_bell(f, 0), 1);			/* drained on 0 */
	CHECK_EQ(f->e.stats.vcpu_mismatch, 1);
	CHECK_EQ(f->kicks[1], 1);
	CHECK(!f->smm[1] && !f->smm[0]);
	CHECK_EQ(engine_run_begin(&f->e, 1), 0);	/* switches itself */
	CHECK(f->smm[1]);
	CHECK(f->e.vcpu[1].held);
	engine_run_end(&f->e, 1);
	CHECK(!f->e.vcpu[1].held);
	teardown(f);
}

TEST(engine_domains_take_turns_at_open_pages)
{
	struct fx *f = setup(false, PROTECT_SMM_VIEW, "a", "b");
	struct verdict v;

	if (!f)
		return;
	create(f, 0, CODE_A, 0);
	create(f, 1, CODE_B, 1);
	grant(f, 0, 0x300000, 4096);
	grant(f, 1, 0x400000, 4096);
	enter(f, 0, 0);
	CHECK_EQ(ring_bell(f, 0), 1);
	CHECK_EQ(write8(f, 0, CODE_A, 0x300000, 1, &v), 0);
	CHECK(protect_page_open(&f->e.prot, 0x300000));

	/* b enters on vCPU 1: a's page must not stay writable for it. */
	enter(f, 1, 1);
	CHECK_EQ(ring_bell(f, 1), 1);
	CHECK(f->smm[1]);
	CHECK(!protect_page_open(&f->e.prot, 0x300000));
	CHECK_EQ(write8(f, 1, CODE_B, 0x400000, 1, &v), 0);
	CHECK(protect_page_open(&f->e.prot, 0x400000));

	/* a writes again: it gets its page back, b loses its own. */
	CHECK_EQ(write8(f, 0, CODE_A, 0x300008, 2, &v), 0);
	CHECK(v.allow);
	CHECK(protect_page_open(&f->e.prot, 0x300000));
	CHECK(!protect_page_open(&f->e.prot, 0x400000));
	CHECK_EQ(ram64(f, 0x300008), 2);
	teardown(f);
}

TEST(engine_reload_keeps_counting)
{
	struct fx *f = setup(false, PROTECT_SMM_VIEW, "drv", NULL);

	if (!f)
		return;
	create(f, 3, CODE_A, 0);
	enter(f, 3, 0);
	leave(f, 3, 0);
	CHECK_EQ(ring_bell(f, 0), 1);
	destroy(f, 3);
	CHECK_EQ(ring_bell(f, 0), 1);
	create(f, 3, CODE_B, 0);
	enter(f, 3, 0);
	leave(f, 3, 0);
	enter(f, 3, 0);
	leave(f, 3, 0);
	CHECK_EQ(ring_bell(f, 0), 1);
	CHECK_EQ(f->e.mod[0].stats.entries, 3);
	CHECK(!strcmp(iso_domain(&f->e.iso, 3)->name, "drv"));
	teardown(f);
}

TEST(engine_readonly_all_protects_every_vcpu)
{
	struct fx *f = setup(false, PROTECT_READONLY_ALL, "drv", NULL);
	struct verdict v;
	unsigned int calls;

	if (!f)
		return;
	CHECK_EQ(f->slot_calls, 0);		/* adopted vm_create's slot */
	create(f, 0, CODE_A, 0);
	enter(f, 0, 1);
	CHECK_EQ(ring_bell(f, 0), 1);		/* any vCPU may switch it */
	CHECK(f->slot_calls > 0);
	CHECK(!f->smm[0] && !f->smm[1]);
	CHECK_EQ(f->e.prot.stats.pauses, 1);
	/* vCPU 0 runs no driver: its write is let through. */
	CHECK_EQ(write8(f, 0, KTEXT, 0x500000, 9, &v), 0);
	CHECK(v.allow && v.reason == VERDICT_ALLOW_NO_DOMAIN);
	CHECK_EQ(ram64(f, 0x500000), 9);
	calls = f->slot_calls;
	leave(f, 0, 1);
	CHECK_EQ(ring_bell(f, 1), 1);
	CHECK(f->slot_calls > calls);
	CHECK_EQ(protect_view(&f->e.prot)->n, 1);
	teardown(f);
}

TEST(engine_report_json)
{
	struct fx *f = setup(false, PROTECT_SMM_VIEW, "drv", "never");
	struct verdict v;
	char *buf = NULL;
	size_t len = 0;
	FILE *mf;

	if (!f)
		return;
	create(f, 0, CODE_A, 0);
	enter(f, 0, 0);
	CHECK_EQ(ring_bell(f, 0), 1);
	CHECK_EQ(write8(f, 0, CODE_A + 0x44, 0x200000, 1, &v), 0);
	mf = open_memstream(&buf, &len);
	CHECK_EQ(engine_report_json(&f->e, mf), 0);
	fclose(mf);
	CHECK(strstr(buf, "\"mechanism\": \"smm-view\", \"policy\": \"enforce\""));
	CHECK(strstr(buf, "{\"module\": \"drv\", \"loaded\": true, \"entries\": 1"));
	CHECK(strstr(buf, "{\"module\": \"never\", \"loaded\": false"));
	CHECK(strstr(buf, "{\"module\": \"drv\", \"vcpu\": 0"));
	CHECK(strstr(buf, "\"rip\": \"0xffffffffc0001044\", \"symbol\": \"drv+0x44\", \"gpa\": \"0x200000\", \"len\": 8, \"verdict\": \"denied\""));
	CHECK(strstr(buf, "\"applied\": 2"));
	CHECK(!engine_module_loaded(&f->e, 1));
	free(buf);
	mf = open_memstream(&buf, &len);
	CHECK_EQ(engine_report_json(NULL, mf), 0);
	fclose(mf);
	CHECK(strstr(buf, "\"isolation\": null"));
	free(buf);
	teardown(f);
}

TEST(engine_page_tables_writable_when_switching_on)
{
	struct fx *f = setup(false, PROTECT_SMM_VIEW, "drv", NULL);

	if (!f)
		return;
	create(f, 0, CODE_A, 0);
	enter(f, 0, 0);
	CHECK_EQ(ring_bell(f, 0), 1);
	CHECK(f->smm[0]);
	CHECK(protect_page_open(&f->e.prot, 0x700000));
	CHECK(protect_page_open(&f->e.prot, 0x701000));
	CHECK(protect_page_open(&f->e.prot, ROOT_OF(0x1000)));
	CHECK(protect_page_open(&f->e.prot, 0x900000));	/* its stacks */
	CHECK(protect_page_open(&f->e.prot, 0x901000));
	CHECK_EQ(f->e.stats.table_walks, 1);
	CHECK_EQ(f->e.stats.sys_pages, 5);	/* root, 2 tables, 2 stacks */
	/* Off and on again on the same CR3: no new walk. */
	leave(f, 0, 0);
	enter(f, 0, 0);
	CHECK_EQ(ring_bell(f, 0), 1);
	leave(f, 0, 0);
	CHECK_EQ(ring_bell(f, 0), 1);
	enter(f, 0, 0);
	CHECK_EQ(ring_bell(f, 0), 1);
	CHECK_EQ(f->e.stats.table_walks, 1);
	/* Another address space: walked. */
	leave(f, 0, 0);
	CHECK_EQ(ring_bell(f, 0), 1);
	f->fake_cr3 = 0x2000;
	f->ntables = 3;
	enter(f, 0, 0);
	CHECK_EQ(ring_bell(f, 0), 1);
	CHECK_EQ(f->e.stats.table_walks, 2);
	CHECK_EQ(f->e.stats.sys_pages, 7);	/* its root, a new table */
	CHECK(protect_page_open(&f->e.prot, ROOT_OF(0x2000)));
	/* A domain closing its pages leaves the system pages open. */
	destroy(f, 0);
	CHECK_EQ(ring_bell(f, 0), 1);
	CHECK(protect_page_open(&f->e.prot, 0x702000));
	teardown(f);
}

static bool sysmap_bit(struct fx *f, uint64_t page)
{
	uint64_t bit = (page / 4096) % CHARIOT_SYSMAP_BITS;

	return (f->ram + SHM_GPA + CHARIOT_SHM_SYSMAP_OFFSET)[bit / 8] &
	       (1u << (bit % 8));
}

static void page_freed(struct fx *f, uint64_t gpa, uint32_t len)
{
	post(f, (struct chariot_ring_rec){ .type = CHARIOT_REC_PAGE_FREED,
		.addr = gpa, .len = len });
}

/* A system page the guest frees (a process's page table or stack, gone
 * with it) is closed at once: it may come back as a slab page a driver's
 * neighbour lives in.  The map in the shared area tells the guest which
 * frees to post. */
TEST(engine_freed_system_page_closed)
{
	struct fx *f = setup(false, PROTECT_SMM_VIEW, "drv", NULL);

	if (!f)
		return;
	CHECK(!sysmap_bit(f, 0x901000));
	create(f, 0, CODE_A, 0);
	enter(f, 0, 0);
	CHECK_EQ(ring_bell(f, 0), 1);
	CHECK(protect_page_open(&f->e.prot, 0x901000));
	CHECK(sysmap_bit(f, 0x901000) && sysmap_bit(f, 0x700000) &&
	      sysmap_bit(f, ROOT_OF(0x1000)));
	CHECK(!sysmap_bit(f, 0x600000));
	/* The stack and the root go (two pages, one record); a free of a
	 * page that is none is ignored. */
	page_freed(f, 0x900000, 0x2000);
	page_freed(f, ROOT_OF(0x1000), 0x1000);
	page_freed(f, 0x600000, 0x1000);
	CHECK_EQ(ring_bell(f, 0), 1);
	CHECK(!protect_page_open(&f->e.prot, 0x900000));
	CHECK(!protect_page_open(&f->e.prot, 0x901000));
	CHECK(!protect_page_open(&f->e.prot, ROOT_OF(0x1000)));
	CHECK(!sysmap_bit(f, 0x901000) && !sysmap_bit(f, ROOT_OF(0x1000)));
	CHECK(protect_page_open(&f->e.prot, 0x700000));
	CHECK(sysmap_bit(f, 0x700000));
	CHECK_EQ(f->e.stats.sys_freed, 3);
	CHECK_EQ(f->e.stats.sys_freed_posts, 3);
	/* Reused as the stack of a task the vCPU runs: opened again. */
	leave(f, 0, 0);
	CHECK_EQ(ring_bell(f, 0), 1);
	f->fake_cr3 = 0x3000;
	enter(f, 0, 0);
	CHECK_EQ(ring_bell(f, 0), 1);
	CHECK(protect_page_open(&f->e.prot, 0x901000));
	CHECK(sysmap_bit(f, 0x901000));
	/* A malformed one (not page-aligned) is rejected, changes nothing. */
	page_freed(f, 0x901800, 0x1000);
	CHECK_EQ(ring_bell(f, 0), 1);
	CHECK(protect_page_open(&f->e.prot, 0x901000));
	CHECK_EQ(f->e.ring.stats.rejected[RING_ERR_LEN], 1);
	teardown(f);
}

/* The user half of an address space is walked only when a stall asks:
 * a driver's own code seldom touches user memory, and those tables are a
 * process's, freed when it exits. */
TEST(engine_user_half_tables_only_on_a_stall)
{
	struct fx *f = setup(false, PROTECT_SMM_VIEW, "drv", NULL);

	if (!f)
		return;
	f->nuser = 2;
	create(f, 0, CODE_A, 0);
	enter(f, 0, 0);
	CHECK_EQ(ring_bell(f, 0), 1);
	CHECK(protect_page_open(&f->e.prot, 0x700000));
	CHECK(!protect_page_open(&f->e.prot, 0x780000));
	CHECK_EQ(engine_vcpu_stalled(&f->e, 0), 2);
	CHECK(protect_page_open(&f->e.prot, 0x780000));
	CHECK(protect_page_open(&f->e.prot, 0x781000));
	CHECK_EQ(engine_vcpu_stalled(&f->e, 0), 0);	/* nothing new */
	teardown(f);
}

TEST(engine_blocked_event_opens_its_frame_page)
{
	struct fx *f = setup(false, PROTECT_SMM_VIEW, "drv", NULL);

	if (!f)
		return;
	create(f, 0, CODE_A, 0);
	enter(f, 0, 0);
	CHECK_EQ(ring_bell(f, 0), 1);
	CHECK(!protect_page_open(&f->e.prot, 0x600000));
	f->event = true;
	CHECK_EQ(engine_vcpu_stalled(&f->e, 0), 1);	/* tables known */
	CHECK(protect_page_open(&f->e.prot, 0x600000));
	CHECK_EQ(f->e.stats.events_blocked, 1);
	CHECK_EQ(f->e.stats.table_walks, 2);		/* forced again */
	CHECK_EQ(engine_vcpu_stalled(&f->e, 0), 0);	/* nothing new */
	teardown(f);
}

TEST(engine_system_pages_bounded)
{
	struct fx *f = setup(false, PROTECT_SMM_VIEW, "drv", NULL);

	if (!f)
		return;
	/* The walk's max: the root and 1023 kernel-half tables fill the
	 * FIFO; the two stacks push the root and the first table out. */
	f->ntables = ENGINE_SYS_PAGES + 5;
	f->ktables_at = 0x100000;
	create(f, 0, CODE_A, 0);
	enter(f, 0, 0);
	CHECK_EQ(ring_bell(f, 0), 1);
	CHECK_EQ(f->e.nsys_pages, ENGINE_SYS_PAGES);
	CHECK(!protect_page_open(&f->e.prot, 0x100000));
	CHECK(protect_page_open(&f->e.prot, 0x101000));
	CHECK(protect_page_open(&f->e.prot,
				0x100000 + (ENGINE_SYS_PAGES - 2) * 4096ull));
	CHECK(!protect_page_open(&f->e.prot,	/* cut at max */
				 0x100000 + (ENGINE_SYS_PAGES - 1) * 4096ull));
	CHECK(protect_page_open(&f->e.prot, 0x901000));
	f->ntables = 1;
	f->ktables_at = 0xb00000;
	f->event = true;
	/* The root again, the new table and the event's page: 3 more. */
	CHECK_EQ(engine_vcpu_stalled(&f->e, 0), 3);	/* FIFO: evicts */
	CHECK(!protect_page_open(&f->e.prot, 0x101000));
	CHECK(protect_page_open(&f->e.prot, 0xb00000));
	CHECK(protect_page_open(&f->e.prot, 0x600000));
	teardown(f);
}

TEST(engine_watchdog_kicks_a_silent_protected_vcpu)
{
	struct fx *f = setup_wd(false, PROTECT_SMM_VIEW, "drv", NULL, 5);
	struct timespec ts = { 0, 40 * 1000000 };

	if (!f)
		return;
	create(f, 0, CODE_A, 0);
	enter(f, 0, 0);
	CHECK_EQ(ring_bell(f, 0), 1);
	f->event = true;
	CHECK_EQ(engine_run_begin(&f->e, 0), 0);	/* "in KVM_RUN" */
	nanosleep(&ts, NULL);
	CHECK_EQ(f->kicks[0], 1);			/* once per run */
	engine_run_end(&f->e, 0);
	CHECK_EQ(f->event_calls, 0);
	CHECK_EQ(engine_run_begin(&f->e, 0), 0);	/* handles it */
	engine_run_end(&f->e, 0);
	CHECK_EQ(f->event_calls, 1);
	CHECK(protect_page_open(&f->e.prot, 0x600000));
	CHECK_EQ(engine_run_begin(&f->e, 1), 0);	/* unprotected */
	nanosleep(&ts, NULL);
	engine_run_end(&f->e, 1);
	CHECK_EQ(f->kicks[1], 0);
	teardown(f);
}

TEST(engine_unemulated_write_judged)
{
	struct fx *f = setup(false, PROTECT_SMM_VIEW, "drv", NULL);

	if (!f)
		return;
	engine_announce(&f->e, KTEXT, KTEXT + 0x1000000);
	create(f, 0, CODE_A, 0);
	enter(f, 0, 0);
	CHECK_EQ(ring_bell(f, 0), 1);
	/* Kernel code's cmpxchg16b on a per-CPU page: allowed, opened. */
	f->stuck_rip = KTEXT + 0x32d43c;
	f->stuck_gpa = 0x1ef38c90;
	CHECK_EQ(engine_vcpu_stalled(&f->e, 0), 1);
	CHECK(protect_page_open(&f->e.prot, 0x1ef38000));
	CHECK_EQ(f->e.stats.unemulated_writes, 1);
	CHECK(engine_error(&f->e) == NULL);
	/* Found again, on a page now writable: not the stall; untouched,
	 * and recorded as a stall nothing explained. */
	CHECK_EQ(engine_vcpu_stalled(&f->e, 0), 0);
	CHECK_EQ(f->e.stats.unemulated_writes, 1);
	CHECK_EQ(f->e.stats.stalls_unresolved, 1);
	CHECK_EQ(f->e.stats.stall_rip, KTEXT + 0x32d43c);
	/* The driver's cmpxchg16b into the shared area: writable, so no
	 * stall of its making and no (false) fail-stop. */
	f->stuck_rip = CODE_A + 0x20;
	f->stuck_gpa = SHM_GPA + 0x100;
	CHECK_EQ(engine_vcpu_stalled(&f->e, 0), 0);
	CHECK(engine_error(&f->e) == NULL);
	f->stuck_rip = KTEXT + 0x32d43c;
	/* An XSAVE area running into another physical page: both open. */
	f->stuck_gpa = 0x1fea9640;
	f->stuck_gpa2 = 0x3000000;
	CHECK_EQ(engine_vcpu_stalled(&f->e, 0), 2);
	CHECK(protect_page_open(&f->e.prot, 0x1fea9000));
	CHECK(protect_page_open(&f->e.prot, 0x3000000));
	f->stuck_gpa2 = 0;
	/* The driver's own, outside its ACT: cannot be dropped: fail-stop. */
	f->stuck_rip = CODE_A + 0x10;
	f->stuck_gpa = 0x800000;
	CHECK_EQ(engine_vcpu_stalled(&f->e, 0), -EPERM);
	CHECK(!protect_page_open(&f->e.prot, 0x800000));
	CHECK(engine_error(&f->e) != NULL);
	CHECK_EQ(f->e.iso.log.n, 1);
	CHECK(!strcmp(f->e.vsym[0], "drv+0x10"));
	CHECK_EQ(engine_run_begin(&f->e, 0), -EPERM);	/* the run ends */
	teardown(f);
}

/* ---- the vCPU side: decoding the writes KVM's emulator refuses ---- */

#define DRIP	0xffffffff81000000ull
#define GS	0xffff88801f000000ull

static int decode(const char *bytes, size_t n, uint64_t *ea, uint32_t *len)
{
	struct kvm_regs r = { .rip = DRIP, .rdi = 0x1000, .rsi = 0x2000,
			      .rsp = 0x3000, .rbx = 0x10, .r9 = 0x4000 };
	struct kvm_sregs s = { .gs = { .base = GS }, .fs = { .base = 7 } };
	uint8_t insn[15] = { 0 };

	memcpy(insn, bytes, n);
	return vcpu_decode_unemulated(insn, &r, &s, ea, len);
}

#define DECODE(b, ea, len) decode(b, sizeof(b) - 1, ea, len)

TEST(decode_cmpxchg16b_forms)
{
	uint64_t ea = 0;
	uint32_t len = 0;

	/* cmpxchg16b %gs:(%rdi): SLUB's this_cpu_cmpxchg_double */
	CHECK_EQ(DECODE("\x65\x48\x0f\xc7\x0f", &ea, &len), 1);
	CHECK_EQ(ea, GS + 0x1000);
	CHECK_EQ(len, 16);
	/* lock cmpxchg16b 8(%rsp): SIB with no index */
	CHECK_EQ(DECODE("\xf0\x48\x0f\xc7\x4c\x24\x08", &ea, &len), 1);
	CHECK_EQ(ea, 0x3008);
	/* cmpxchg16b 0x10(%rip): after the 8-byte instruction */
	CHECK_EQ(DECODE("\x48\x0f\xc7\x0d\x10\x00\x00\x00", &ea, &len), 1);
	CHECK_EQ(ea, DRIP + 8 + 0x10);
	/* cmpxchg16b -0x10(%r9,%rbx,4): REX.B, index, scale, disp8 < 0 */
	CHECK_EQ(DECODE("\x49\x0f\xc7\x4c\x99\xf0", &ea, &len), 1);
	CHECK_EQ(ea, 0x4000 + 0x10 * 4 - 0x10);
	/* cmpxchg8b: KVM emulates it */
	CHECK_EQ(DECODE("\x0f\xc7\x0f", &ea, &len), 0);
}

TEST(decode_xsave_family)
{
	uint64_t ea = 0;
	uint32_t len = 0;

	CHECK_EQ(DECODE("\x48\x0f\xc7\x2f", &ea, &len), 1);	/* xsaves64 */
	CHECK_EQ(ea, 0x1000);
	CHECK_EQ(len, 4096);
	CHECK_EQ(DECODE("\x0f\xc7\x27", &ea, &len), 1);		/* xsavec */
	CHECK_EQ(DECODE("\x0f\xae\x27", &ea, &len), 1);		/* xsave */
	CHECK_EQ(DECODE("\x0f\xae\x77\x40", &ea, &len), 1);	/* xsaveopt */
	CHECK_EQ(ea, 0x1040);
	CHECK_EQ(DECODE("\x64\x0f\xae\x06", &ea, &len), 1);	/* fxsave %fs: */
	CHECK_EQ(ea, 7 + 0x2000);
	CHECK_EQ(DECODE("\x0f\xae\x2f", &ea, &len), 0);		/* xrstor */
	CHECK_EQ(DECODE("\x0f\xae\x3f", &ea, &len), 0);		/* clflush */
	CHECK_EQ(DECODE("\x0f\xae\xf0", &ea, &len), 0);		/* mfence */
	CHECK_EQ(DECODE("\x0f\xae\xe8", &ea, &len), 0);		/* lfence */
	CHECK_EQ(DECODE("\x48\x89\x07", &ea, &len), 0);		/* mov */
}

TEST(engine_trusted_push_opens_its_stack)
{
	struct fx *f = setup(false, PROTECT_SMM_VIEW, "drv", NULL);
	struct engine_trap t = { .vcpu = 0, .rip = KTEXT + 0x10,
				 .rsp = STACK + 0x3f00,
				 .stack = { 0xa00000, 0x9ff000 } };
	uint8_t data[8] = { 0 };
	struct verdict v;

	if (!f)
		return;
	engine_announce(&f->e, KTEXT, KTEXT + 0x1000000);
	create(f, 0, CODE_A, 0);
	enter(f, 0, 0);
	CHECK_EQ(ring_bell(f, 0), 1);
	/* Kernel code writing elsewhere: nothing opens. */
	CHECK_EQ(engine_ram_write(&f->e, &t, 0x500000, data, 8, &v), 0);
	CHECK(v.allow && !protect_page_open(&f->e.prot, 0xa00000));
	/* Its push onto the stack it runs on: both stack pages open. */
	CHECK_EQ(engine_ram_write(&f->e, &t, 0xa00ff8, data, 8, &v), 0);
	CHECK(protect_page_open(&f->e.prot, 0xa00000));
	CHECK(protect_page_open(&f->e.prot, 0x9ff000));
	/* The driver's own push: judged by its ACT, nothing more. */
	t.rip = CODE_A;
	t.stack[0] = 0xb00000;
	t.stack[1] = 0xb00000;
	CHECK_EQ(engine_ram_write(&f->e, &t, 0xb00ff8, data, 8, &v), 0);
	CHECK(!v.allow && !protect_page_open(&f->e.prot, 0xb00000));
	teardown(f);
}

TEST(engine_kernel_filling_driver_memory_opens_it)
{
	struct fx *f = setup(false, PROTECT_SMM_VIEW, "drv", NULL);
	struct verdict v;

	if (!f)
		return;
	engine_announce(&f->e, KTEXT, KTEXT + 0x1000000);
	create(f, 0, CODE_A, 0);
	grant(f, 0, 0x300000, 4096);		/* a whole page */
	grant(f, 0, 0x400000, 64);		/* a small object */
	enter(f, 0, 0);
	CHECK_EQ(ring_bell(f, 0), 1);
	/* memset by kernel code on the driver's whole page: opened. */
	CHECK_EQ(write8(f, 0, KTEXT + 0x100, 0x300000, 0, &v), 0);
	CHECK(v.allow && v.reason == VERDICT_ALLOW_TRUSTED_CODE);
	CHECK(protect_page_open(&f->e.prot, 0x300000));
	/* On a page shared with others' bytes: allowed, stays trapped. */
	CHECK_EQ(write8(f, 0, KTEXT + 0x100, 0x400000, 0, &v), 0);
	CHECK(v.allow && !protect_page_open(&f->e.prot, 0x400000));
	/* Kernel writes elsewhere: nothing. */
	CHECK_EQ(write8(f, 0, KTEXT + 0x100, 0x500000, 0, &v), 0);
	CHECK(!protect_page_open(&f->e.prot, 0x500000));
	teardown(f);
}

static struct fx *setup_fetch(void)
{
	struct fx *f;

	fetch_mode = true;
	f = setup(false, PROTECT_SMM_VIEW, "drv", NULL);
	fetch_mode = false;
	return f;
}

/* A run of vcpu that ends in a fetch fault at rip, whose page is at gpa,
 * with the stack at rsp. */
static int fetch_sp(struct fx *f, unsigned int vcpu, uint64_t rip,
		    uint64_t gpa, uint64_t rsp)
{
	const uint64_t pages[2] = { gpa, gpa };

	if (engine_run_begin(&f->e, vcpu))
		return -EIO;
	engine_run_end(&f->e, vcpu);
	return engine_fetch_fault(&f->e, vcpu, rip, rsp, pages);
}

/* ... on a stack fake_walk does not map (so no call is seen). */
static int fetch(struct fx *f, unsigned int vcpu, uint64_t rip, uint64_t gpa)
{
	return fetch_sp(f, vcpu, rip, gpa, STACK - 0x100);
}

TEST(engine_fetch_switching_follows_the_code)
{
	struct fx *f = setup_fetch();
	const struct protect *p;
	struct verdict v;

	CHECK(f != NULL);
	if (!f)
		return;
	p = &f->e.prot;
	engine_announce(&f->e, KTEXT, KTEXT + 0x100000);
	create(f, 0, CODE_A, 0);
	grant(f, 0, 0x100000, 64);
	CHECK_EQ(ring_bell(f, 0), 1);
	/* The driver's code is a hole in the normal view, kernel text one
	 * in the protected view. */
	CHECK(protect_in_hole(p, false, 0x300000));
	CHECK(!protect_in_hole(p, false, 0x301000));
	CHECK(protect_in_hole(p, true, 0x800000));
	CHECK(protect_in_hole(p, true, 0x8ff000));
	CHECK(!protect_in_hole(p, true, 0x300000));

	/* ENTER alone switches nothing: the first fetch of driver code does. */
	enter(f, 0, 0);
	CHECK_EQ(ring_bell(f, 0), 1);
	CHECK(!f->smm[0]);
	CHECK_EQ(fetch(f, 0, CODE_A + 0x10, 0x300000), 1);
	CHECK(f->smm[0] && !f->smm[1]);
	CHECK_EQ(f->e.stats.fetch_enters, 1);
	/* Its page tables and stacks were made writable on the way in. */
	CHECK(protect_writable(p, 0x700000) && protect_writable(p, 0x901000));

	/* In the view its writes are judged. */
	CHECK_EQ(write8(f, 0, CODE_A + 0x20, 0x100000, 1, &v), 0);
	CHECK(v.allow && v.reason == VERDICT_ALLOW_ACT);
	CHECK_EQ(write8(f, 0, CODE_A + 0x24, 0x200000, 2, &v), 0);
	CHECK(!v.allow && ram64(f, 0x200000) == 0);

	/* A call into kernel text leaves the view at its first fetch. */
	CHECK_EQ(fetch(f, 0, KTEXT + 0x40, 0x800000), 1);
	CHECK(!f->smm[0]);
	CHECK_EQ(f->e.stats.fetch_leaves, 1);
	/* A fetch fault from no hole is a real emulation failure. */
	CHECK_EQ(fetch(f, 0, KTEXT + 0x40, 0x800000), 0);
	CHECK_EQ(fetch(f, 0, CODE_A + 0x2000, 0x302000), 0);
	CHECK(!f->smm[0]);

	/* Kernel code writing into the driver's code (a probe armed): done
	 * and counted, not judged. */
	CHECK_EQ(write8(f, 0, KTEXT + 0x80, 0x300100, 0xcc, &v), 0);
	CHECK(v.allow && ram64(f, 0x300100) == 0xcc);
	CHECK_EQ(f->e.stats.hole_writes, 1);
	CHECK_EQ(f->e.mod[0].stats.trapped_writes, 2);

	/* Back into the driver on vCPU 1 too: views are per vCPU. */
	CHECK_EQ(fetch(f, 1, CODE_A + 0x30, 0x300000), 1);
	CHECK(f->smm[1] && !f->smm[0]);
	CHECK_EQ(f->e.stats.vcpu_mismatch, 0);
	teardown(f);
}

TEST(engine_fetch_holes_follow_code_ranges)
{
	struct fx *f = setup_fetch();
	const struct protect *p;

	CHECK(f != NULL);
	if (!f)
		return;
	p = &f->e.prot;
	create(f, 0, CODE_A, 0);
	post(f, (struct chariot_ring_rec){ .type = CHARIOT_REC_DOMAIN_CODE,
		.domain = 0, .len = 0x2000, .addr = CODE_B });
	CHECK_EQ(ring_bell(f, 0), 1);
	/* Init text's two pages, physically apart: two holes. */
	CHECK(protect_in_hole(p, false, 0x3ff000));
	CHECK(protect_in_hole(p, false, 0x3fe000));
	CHECK(!protect_in_hole(p, false, 0x3fd000));
	CHECK_EQ(p->nhole[0], 2);	/* 0x300000 and 0x3fe000-0x400000 */

	/* Init text freed: its holes go at the next drain; a fetch that hit
	 * one meanwhile just runs again, in the normal view. */
	post(f, (struct chariot_ring_rec){ .type = CHARIOT_REC_DOMAIN_UNCODE,
		.domain = 0, .len = 0x2000, .addr = CODE_B });
	CHECK_EQ(fetch(f, 0, CODE_B, 0x3ff000), 1);
	CHECK_EQ(fetch(f, 0, CODE_B, 0x3ff000), 0);	/* then: real */
	CHECK(!f->smm[0]);
	CHECK_EQ(f->e.stats.fetch_stale, 1);
	CHECK(!protect_in_hole(p, false, 0x3ff000));
	CHECK(protect_in_hole(p, false, 0x300000));
	CHECK_EQ(iso_domain(&f->e.iso, 0)->ncode, 1);
	/* A range never given is refused. */
	post(f, (struct chariot_ring_rec){ .type = CHARIOT_REC_DOMAIN_UNCODE,
		.domain = 0, .len = 0x1000, .addr = CODE_A });
	CHECK_EQ(ring_bell(f, 0), 1);
	CHECK_EQ(f->e.ring.stats.rejected[RING_ERR_STATE], 1);

	/* Unloaded: no hole left for reused pages. */
	destroy(f, 0);
	CHECK_EQ(ring_bell(f, 0), 1);
	CHECK_EQ(p->nhole[0], 0);
	CHECK(!protect_in_hole(p, false, 0x300000));
	teardown(f);
}

/* The driver unloaded and loaded again (recovery's reload) at the same
 * address, its code now in other pages, both records drained at once:
 * the holes move to the new pages.  Left at the old ones, the reloaded
 * driver would run unprotected in the normal view, and the freed pages,
 * reused by the kernel (a stack, a page table), would stay holes. */
TEST(engine_fetch_holes_follow_a_reload_at_the_same_address)
{
	struct fx *f = setup_fetch();
	const struct protect *p;

	CHECK(f != NULL);
	if (!f)
		return;
	p = &f->e.prot;
	create(f, 0, CODE_A, 0);
	CHECK_EQ(ring_bell(f, 0), 1);
	CHECK(protect_in_hole(p, false, 0x300000));
	destroy(f, 0);
	f->code_a_moved = 0x500000;
	create(f, 0, CODE_A, 0);
	CHECK_EQ(ring_bell(f, 0), 1);
	CHECK(protect_in_hole(p, false, 0x500000));
	CHECK(!protect_in_hole(p, false, 0x300000));
	CHECK_EQ(p->nhole[0], 1);
	/* The new code's first fetch switches into the view. */
	enter(f, 0, 0);
	CHECK_EQ(ring_bell(f, 0), 1);
	CHECK_EQ(fetch(f, 0, CODE_A + 0x10, 0x500000), 1);
	CHECK(f->smm[0]);
	teardown(f);
}

/* A return thunk's page in kernel text is no hole of the protected view:
 * a driver returning to itself through it stays in the view. */
TEST(engine_fetch_thunk_page_runs_protected)
{
	struct fx *f = setup_fetch();
	const struct protect *p;

	CHECK(f != NULL);
	if (!f)
		return;
	p = &f->e.prot;
	engine_announce(&f->e, KTEXT, KTEXT + 0x100000);
	create(f, 0, CODE_A, 0);
	post(f, (struct chariot_ring_rec){ .type = CHARIOT_REC_THUNK,
		.addr = KTEXT + 0x5ff0, .len = 0x20 });	/* two pages */
	CHECK_EQ(ring_bell(f, 0), 1);
	CHECK(protect_in_hole(p, true, 0x804000));
	CHECK(!protect_in_hole(p, true, 0x805000));
	CHECK(!protect_in_hole(p, true, 0x806000));
	CHECK(protect_in_hole(p, true, 0x807000));
	CHECK_EQ(p->nhole[1], 2);
	/* Normal view: the driver's code only, as before. */
	CHECK(protect_in_hole(p, false, 0x300000));
	CHECK(!protect_in_hole(p, false, 0x805000));

	enter(f, 0, 0);
	CHECK_EQ(ring_bell(f, 0), 1);
	CHECK_EQ(fetch(f, 0, CODE_A + 0x10, 0x300000), 1);
	CHECK(f->smm[0]);
	/* Into the thunk: no hole, so no fetch fault to switch on. */
	CHECK_EQ(fetch(f, 0, KTEXT + 0x5ff0, 0x805000), 0);
	CHECK(f->smm[0]);
	/* Elsewhere in kernel text: out, as ever. */
	CHECK_EQ(fetch(f, 0, KTEXT + 0x4000, 0x804000), 1);
	CHECK(!f->smm[0]);
	CHECK_EQ(f->e.stats.fetch_leaves, 1);
	teardown(f);
}

/* The driver's code at CODE_A + off: a call rel32 to target. */
static uint64_t put_call(struct fx *f, uint64_t off, uint64_t target)
{
	uint64_t ret = CODE_A + off + 5;
	int32_t rel = (int32_t)(target - ret);

	f->ram[0x300000 + off] = 0xe8;
	memcpy(f->ram + 0x300000 + off + 1, &rel, 4);
	return ret;
}

/* A kernel page the driver calls often runs in the protected view (leaf.h);
 * one reached otherwise does not; a page that writes too much for it is a
 * hole again. */
TEST(engine_fetch_hot_kernel_page_runs_protected)
{
	struct fx *f = setup_fetch();
	const struct protect *p;
	struct verdict v;
	uint64_t ret, not_ret;
	unsigned int i;

	CHECK(f != NULL);
	if (!f)
		return;
	p = &f->e.prot;
	engine_announce(&f->e, KTEXT, KTEXT + 0x100000);
	create(f, 0, CODE_A, 0);
	grant(f, 0, 0x100000, 64);
	enter(f, 0, 0);
	CHECK_EQ(ring_bell(f, 0), 1);
	ret = put_call(f, 0x100, KTEXT + 0x2040);
	not_ret = CODE_A + 0x300;	/* after no call: an interrupt's frame */
	for (i = 0; i < LEAF_PROMOTE; i++) {
		CHECK(protect_in_hole(p, true, 0x802000));
		CHECK_EQ(fetch(f, 0, CODE_A + 0x10, 0x300000), 1);
		memcpy(f->ram + 0xc00000, &ret, 8);
		CHECK_EQ(fetch_sp(f, 0, KTEXT + 0x2040, 0x802000, CALL_STACK),
			 1);
		CHECK(!f->smm[0]);
		/* The same count into another page, not by a call. */
		CHECK_EQ(fetch(f, 0, CODE_A + 0x10, 0x300000), 1);
		memcpy(f->ram + 0xc00000, &not_ret, 8);
		CHECK_EQ(fetch_sp(f, 0, KTEXT + 0x3040, 0x803000, CALL_STACK),
			 1);
	}
	CHECK(!protect_in_hole(p, true, 0x802000));
	CHECK(protect_in_hole(p, true, 0x803000));
	CHECK(protect_in_hole(p, true, 0x801000));
	CHECK(!protect_in_hole(p, false, 0x802000));
	CHECK_EQ(f->e.leaf.promotions, 1);
	/* Called now, it runs in the view: no fetch fault to switch on. */
	CHECK_EQ(fetch(f, 0, CODE_A + 0x10, 0x300000), 1);
	CHECK(f->smm[0]);
	CHECK_EQ(fetch_sp(f, 0, KTEXT + 0x2040, 0x802000, CALL_STACK), 0);
	CHECK(f->smm[0]);
	/* Its writes are trapped and allowed, as kernel code's; too many in
	 * a row send it back to the holes. */
	for (i = 0; i < LEAF_BURST - 1; i++) {
		CHECK_EQ(write8(f, 0, KTEXT + 0x2050, 0x500000, i, &v), 0);
		CHECK(v.allow && v.reason == VERDICT_ALLOW_TRUSTED_CODE);
	}
	CHECK(!protect_in_hole(p, true, 0x802000));
	CHECK_EQ(write8(f, 0, KTEXT + 0x2050, 0x500000, i, &v), 0);
	CHECK(v.allow && ram64(f, 0x500000) == i);
	CHECK(protect_in_hole(p, true, 0x802000));
	CHECK_EQ(f->e.leaf.demotions, 1);
	CHECK_EQ(fetch_sp(f, 0, KTEXT + 0x2040, 0x802000, CALL_STACK), 1);
	CHECK(!f->smm[0]);
	teardown(f);
}

/* CHARIOT_ISO_LEAF=off (cfg.leaf_off): no page is ever promoted. */
TEST(engine_fetch_leaf_off_keeps_the_holes)
{
	struct fx *f;
	uint64_t ret;

	fetch_mode = true;
	leaf_off_mode = true;
	f = setup(false, PROTECT_SMM_VIEW, "drv", NULL);
	fetch_mode = leaf_off_mode = false;
	CHECK(f != NULL);
	if (!f)
		return;
	engine_announce(&f->e, KTEXT, KTEXT + 0x100000);
	create(f, 0, CODE_A, 0);
	enter(f, 0, 0);
	CHECK_EQ(ring_bell(f, 0), 1);
	ret = put_call(f, 0x100, KTEXT + 0x2040);
	memcpy(f->ram + 0xc00000, &ret, 8);
	for (unsigned int i = 0; i < 4 * LEAF_PROMOTE; i++) {
		CHECK_EQ(fetch(f, 0, CODE_A + 0x10, 0x300000), 1);
		CHECK_EQ(fetch_sp(f, 0, KTEXT + 0x2040, 0x802000, CALL_STACK),
			 1);
	}
	CHECK(protect_in_hole(&f->e.prot, true, 0x802000));
	CHECK_EQ(f->e.leaf.promotions, 0);
	teardown(f);
}

TEST(engine_fetch_switching_needs_smm_view)
{
	struct fx *f;

	fetch_mode = true;
	f = setup(false, PROTECT_READONLY_ALL, "drv", NULL);
	fetch_mode = false;
	CHECK(f == NULL);
}

TEST(engine_fetch_unentered_driver_writes_pass)
{
	struct fx *f = setup_fetch();
	struct verdict v;

	CHECK(f != NULL);
	if (!f)
		return;
	create(f, 0, CODE_A, 0);
	CHECK_EQ(ring_bell(f, 0), 1);
	/* Driver code no probe saw entered: run in the view, as unprotected
	 * as under ENTER/LEAVE switching; counted, not logged. */
	CHECK_EQ(fetch(f, 0, CODE_A + 0x10, 0x300000), 1);
	CHECK_EQ(write8(f, 0, CODE_A + 0x14, 0x200000, 9, &v), 0);
	CHECK(v.allow && ram64(f, 0x200000) == 9);
	CHECK_EQ(f->e.stats.unentered_writes, 1);
	CHECK_EQ(f->e.iso.log.n, 0);
	/* Entered: judged. */
	enter(f, 0, 0);
	CHECK_EQ(write8(f, 0, CODE_A + 0x18, 0x200008, 9, &v), 0);
	CHECK(!v.allow && ram64(f, 0x200008) == 0);
	CHECK_EQ(f->e.iso.log.n, 1);
	teardown(f);
}

/* Driver code on another stack than its entry's runs in a context the
 * guest saw no entry of (an interrupt during a kprobe handler, when
 * kprobes skip every probe): let through and counted, in both switching
 * modes, not logged and not sent to recovery; on the entry's stack, and
 * with the stack not known, judged. */
static void off_stack_case(int *failed, bool fetching)
{
	struct fx *f;
	struct verdict v;

	f = fetching ? setup_fetch() :
		       setup(false, PROTECT_SMM_VIEW, "drv", NULL);
	CHECK(f != NULL);
	if (!f)
		return;
	engine_announce(&f->e, KTEXT, KTEXT + 0x1000000);
	create(f, 0, CODE_A, 0);
	enter(f, 0, 0);
	CHECK_EQ(ring_bell(f, 0), 1);
	if (fetching)
		CHECK_EQ(fetch(f, 0, CODE_A + 0x10, 0x300000), 1);
	CHECK_EQ(write8_sp(f, 0, CODE_A + 0x14, IRQ_STACK + 0x3f00, 0x200000,
			   9, &v), 0);
	CHECK(v.allow && ram64(f, 0x200000) == 9);
	CHECK_EQ(f->e.stats.unentered_writes, 1);
	CHECK_EQ(f->e.iso.log.n, 0);
	CHECK(!engine_recover_pending(&f->e, 0));
	/* The stack's last byte is on it, its end is not. */
	CHECK_EQ(write8_sp(f, 0, CODE_A + 0x14, STACK + 0x3fff, 0x200008, 9,
			   &v), 0);
	CHECK(!v.allow && ram64(f, 0x200008) == 0);
	CHECK_EQ(write8_sp(f, 0, CODE_A + 0x14, STACK + 0x4000, 0x200010, 9,
			   &v), 0);
	CHECK(v.allow && f->e.stats.unentered_writes == 2);
	CHECK_EQ(write8_sp(f, 0, CODE_A + 0x14, STACK - 8, 0x200018, 9, &v),
		 0);
	CHECK(v.allow && f->e.stats.unentered_writes == 3);
	CHECK_EQ(f->e.iso.log.n, 1);
	/* Kernel code off the stack: trusted as ever, not counted. */
	CHECK_EQ(write8_sp(f, 0, KTEXT + 0x10, IRQ_STACK + 0x3f00, 0x200020,
			   9, &v), 0);
	CHECK(v.allow && f->e.stats.unentered_writes == 3);
	/* Code of no module (an ftrace trampoline): the entry's domain's on
	 * its stack, let through off it. */
	CHECK_EQ(write8(f, 0, CODE_B + 0x10, 0x200030, 9, &v), 0);
	CHECK(!v.allow && ram64(f, 0x200030) == 0);
	CHECK_EQ(write8_sp(f, 0, CODE_B + 0x10, IRQ_STACK + 0x3f00, 0x200030,
			   9, &v), 0);
	CHECK(v.allow && f->e.stats.unentered_writes == 4);
	CHECK_EQ(f->e.iso.log.n, 2);
	/* An entry whose stack the guest did not know: judged anywhere. */
	post(f, (struct chariot_ring_rec){ .type = CHARIOT_REC_ENTER,
		.domain = 0, .vcpu = 0, .addr = 0xffffc90000001000ull });
	CHECK_EQ(ring_bell(f, 0), 1);
	CHECK_EQ(write8_sp(f, 0, CODE_A + 0x14, IRQ_STACK + 0x3f00, 0x200028,
			   9, &v), 0);
	CHECK(!v.allow && ram64(f, 0x200028) == 0);
	CHECK_EQ(f->e.iso.log.n, 3);
	teardown(f);
}

TEST(engine_driver_writes_off_the_entry_stack_pass)
{
	off_stack_case(failed, false);
	off_stack_case(failed, true);
}

TEST(engine_locked_write_performed_atomically)
{
	struct fx *f = setup(false, PROTECT_SMM_VIEW, "drv", NULL);
	/* lock cmpxchg %rdx,(%rdi) by kernel code: KVM read 0 (= rax) and
	 * would store 1, but another vCPU took the lock (2) meanwhile */
	struct rmw m = { .kind = RMW_CMPXCHG, .size = 8, .reg = 2,
			 .base = 7, .index = -1, .seg = -1 };
	struct rmw_regs r = { .rflags = 0x42, .gpr = { [2] = 1 } };
	bool fixed = false;
	struct engine_trap t = { .vcpu = 0, .rip = KTEXT + 0x10, .rmw = &m,
				 .regs = &r, .fixed = &fixed,
				 .rsp = STACK + 0x3f00 };
	uint64_t one = 1, two = 2;
	struct verdict v;

	if (!f)
		return;
	engine_announce(&f->e, KTEXT, KTEXT + 0x1000000);
	memcpy(f->ram + 0x500000, &two, 8);
	CHECK_EQ(engine_ram_write(&f->e, &t, 0x500000, (uint8_t *)&one, 8,
				  &v), 0);
	CHECK(v.allow);
	CHECK_EQ(ram64(f, 0x500000), 2);	/* not overwritten */
	CHECK(fixed);
	CHECK_EQ(r.gpr[0], 2);			/* the value it saw */
	CHECK_EQ(r.rflags & 0x40, 0);		/* ZF: it failed */
	CHECK_EQ(f->e.stats.atomic_raced, 1);
	/* Unraced: stored, nothing to fix. */
	fixed = false;
	r = (struct rmw_regs){ .rflags = 0x42, .gpr = { [0] = 2, [2] = 1 } };
	CHECK_EQ(engine_ram_write(&f->e, &t, 0x500000, (uint8_t *)&one, 8,
				  &v), 0);
	CHECK_EQ(ram64(f, 0x500000), 1);
	CHECK(!fixed);
	CHECK_EQ(f->e.stats.atomic_writes, 2);
	/* A driver's locked write outside its ACT: dropped all the same. */
	create(f, 0, CODE_A, 0);
	enter(f, 0, 0);
	CHECK_EQ(ring_bell(f, 0), 1);
	t.rip = CODE_A;
	r = (struct rmw_regs){ .rflags = 0x42, .gpr = { [0] = 1, [2] = 5 } };
	CHECK_EQ(engine_ram_write(&f->e, &t, 0x500000, (uint8_t *)&two, 8,
				  &v), 0);
	CHECK(!v.allow);
	CHECK_EQ(ram64(f, 0x500000), 1);
	CHECK_EQ(f->e.stats.atomic_writes, 2);
	teardown(f);
}
