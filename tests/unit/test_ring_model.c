/* test_ring_model.c - a model check of the update ring (chariot_ring.h)
 * with both sides' own code.
 *
 * The producer is the guest monitor's code (guest/monitor/ring.c and
 * post.c, built for user space over tests/model/shim, driven by
 * tests/model/producer.c); the consumer is the VMM's (src/iso/ring.c
 * applying to src/iso/domain.c, the verdict and the open-page cache).
 * Each access the producer makes to shared memory is a yield point
 * (tests/model/shim/kernel_env.h) where the VMM may do what it can do at
 * any other vCPU's exit: drain the ring; drain, then judge a driver write
 * to its page-sized allocation and open that page if the verdict allows;
 * drain and close every page.  The scenarios: a driver's life, one
 * event at a time (a domain created, entered, a page-sized allocation
 * granted, an event bigger than a batch, the monitor reloaded, the free,
 * pages freed, a leave, the teardown) on a 4-record ring whose
 * free-running indices wrap; a free posted by one CPU while another CPU's
 * event is half posted (a first part out, the ring left non-empty) on a
 * 16-record ring; each under every schedule of at most DEPTH such actions
 * (a stateless search: each schedule replays from scratch).  And 24
 * drawn at random (allocations of 1 to 20 records, frees of any live one,
 * entries and leaves nested on two vCPUs, freed pages, frees between
 * another CPU's parts; 4- or 16-record rings), each under every schedule
 * of at most 2 actions.  Each run is checked for
 *
 *   integrity   every record posted is applied once, in order; none
 *               rejected, none dropped;
 *   promptness  an event holding an ENTER, LEAVE, REVOKE or PAGE_FREED
 *               is applied when its post returns; no page the driver
 *               may write untrapped (open in the protection) overlaps
 *               memory whose revocation has returned to the guest;
 *   economy     a post rings the doorbell at most once, but for a full
 *               ring.
 *
 * Runs are sequentially consistent at the producer's accesses, and the
 * VMM's drain runs whole between two of them: sound, as the producer
 * writes only slots at or past the head it published and the VMM reads
 * only slots below it.  x86 adds one reordering to SC, a load passing an
 * earlier store: the producer's only such pairs are a slot or head store
 * then a read of tail (a stale tail means less room: safe), and head
 * stored before the doorbell's OUT, which waits for earlier stores.
 * (Version 5's head store then read of the VMM's flag word was one more;
 * it is gone.)  Three broken worlds show that the checker fails
 * when it should: a record's bytes reaching memory after head (the
 * reordering the release store forbids), doorbells lost, and page closes
 * not applied to the protection.  It found a real race in ring version 5
 * (include/chariot_ring.h tells it), mended since.
 *
 * CHARIOT_MODEL_DEPTH=N searches deeper (default 3: 531 307 + 84 595
 * schedules in 1.2 s; 4: 20.1 + 1.7 million in 43 s). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>

#include "chariot_abi.h"
#include "iso/ring.h"
#include "iso/verdict.h"
#include "model.h"
#include "test.h"

/* Ring sizes per scenario (ring_init rounds to a power of two): the
 * driver's life on 4 records (full and kick often), the interleaved free
 * on 16 (a part of CHARIOT_BATCH stays below the kick level). */
static const struct {
	size_t bytes;
	uint32_t capacity;
	const char *name;
} scenarios[MODEL_SCENARIOS] = {
	[MODEL_LIFE] = { 384, 4, "a driver's life" },
	[MODEL_INTERLEAVED] = { 1024, 16, "a free between another CPU's parts" },
	[MODEL_RANDOM] = { 384, 4, "events drawn at random" },	/* or 16 */
};
#define RING_BYTES_MAX	1024
#define WRAP_START	0xfffffffau	/* the indices wrap during the run */
#define MAX_POINTS	1024
#define MAX_RECS	256
#define RAM_END		0x40000000ull
#define DRIVER_RIP	0xffffffffc0000040ull	/* in producer.c's CODE */
#define DRIVER_PAGE	0x200000ull		/* its page-sized allocation */
#define MAX_OPEN	4
#define MAX_REVOKED	8

enum vmm_act { VMM_NONE, VMM_DRAIN, VMM_OPEN, VMM_CLOSE, VMM_ACTS };
static const char *const vmm_act_names[VMM_ACTS] = {
	"-", "drains", "drains, lets a driver write open its page",
	"drains and closes every page",
};

enum bug { BUG_NONE, BUG_REORDER, BUG_LOST_DOORBELL, BUG_CLOSE_LOST };

struct range {
	uint64_t start, end;
};

struct held {
	void *dst;
	struct chariot_ring_rec rec;
};

struct model {
	enum bug bug;
	enum model_scenario scenario;
	size_t ring_bytes;
	uint32_t capacity;
	uint64_t seed, rng;		/* MODEL_RANDOM's draws */
	/* the schedule: a choice per yield point, the first nprefix given */
	uint8_t choice[MAX_POINTS];
	uint8_t valid[MAX_POINTS];	/* bit per enum vmm_act */
	const char *where[MAX_POINTS];
	uint8_t event[MAX_POINTS];
	unsigned int npoints, nprefix, cur_event;
	/* the VMM */
	void *shm;
	struct iso iso;
	struct ring ring;
	uint64_t open[MAX_OPEN];	/* pages writable in the protection */
	unsigned int nopen;
	uint64_t opens, closes;		/* applied to the protection */
	/* the producer, as seen from outside */
	struct chariot_ring_rec posted[MAX_RECS];
	unsigned int nposted;
	unsigned int ev_first;		/* posted before the current event */
	struct range revoked[MAX_REVOKED];	/* revocations returned */
	unsigned int nrevoked;
	unsigned int publishes, ev_publishes;	/* head stores */
	struct model_counts ev;		/* the producer's, at the event's start */
	struct held held[MAX_RECS];
	unsigned int nheld;
	bool flush_due;
	char fail[256];			/* the first property broken */
};

/* The producer's hooks have no context argument: the model being run. */
static struct model *cur;

__attribute__((format(printf, 2, 3)))
static void failf(struct model *m, const char *fmt, ...)
{
	va_list ap;

	if (m->fail[0])
		return;
	va_start(ap, fmt);
	vsnprintf(m->fail, sizeof(m->fail), fmt, ap);
	va_end(ap);
}

/* Records the VMM has read. */
static uint32_t consumed(const struct model *m)
{
	return m->ring.tail - WRAP_START;
}

/* The driver writes 8 bytes into its page-sized allocation (trapped: the
 * page is not open yet); allowed by its ACT, the page is opened. */
static void driver_write(struct model *m)
{
	struct verdict v = verdict_judge(&m->iso, 0, DRIVER_RIP, DRIVER_PAGE, 8);
	struct domain *d = iso_domain(&m->iso, 0);

	if (v.allow && v.reason == VERDICT_ALLOW_ACT && d)
		iso_open_page(&m->iso, d, DRIVER_PAGE);
}

static void close_all(struct model *m)
{
	struct domain *d = iso_domain(&m->iso, 0);
	uint64_t pages[MAX_OPEN];
	uint32_t n;

	while (d && (n = pagecache_close_range(&d->pages, 0, 0, pages,
					       MAX_OPEN)))
		for (uint32_t k = 0; k < n; k++)
			m->iso.cfg.protect(m, 0, pages[k], false);
}

static void vmm_act(struct model *m, enum vmm_act a)
{
	switch (a) {
	case VMM_NONE:
	case VMM_ACTS:
		break;
	case VMM_DRAIN:
		ring_drain(&m->ring, &m->iso);
		break;
	case VMM_OPEN:
		ring_drain(&m->ring, &m->iso);
		driver_write(m);
		break;
	case VMM_CLOSE:
		ring_drain(&m->ring, &m->iso);
		close_all(m);
		break;
	}
}

static uint8_t valid_acts(const struct model *m)
{
	uint8_t v = 1u << VMM_NONE | 1u << VMM_DRAIN | 1u << VMM_OPEN;

	if (m->nopen)
		v |= 1u << VMM_CLOSE;
	return v;
}

/* The protection as the VMM applies it (iso_config.protect). */
static void model_protect(void *opaque, unsigned int domain, uint64_t page,
			  bool writable)
{
	struct model *m = opaque;
	unsigned int i;

	(void)domain;
	for (i = 0; i < m->nopen && m->open[i] != page; i++)
		;
	if (writable && i == m->nopen && m->nopen < MAX_OPEN) {
		m->open[m->nopen++] = page;
		m->opens++;
	} else if (!writable && i < m->nopen && m->bug != BUG_CLOSE_LOST) {
		m->open[i] = m->open[--m->nopen];
		m->closes++;
	}
}

static void check_revokes(struct model *m)
{
	for (unsigned int i = 0; i < m->nopen; i++)
		for (unsigned int r = 0; r < m->nrevoked; r++)
			if (m->open[i] < m->revoked[r].end &&
			    m->revoked[r].start < m->open[i] + PC_PAGE_SIZE)
				failf(m, "promptness: page 0x%" PRIx64 " is open "
				      "though its revocation returned (%u of %u "
				      "records read)", m->open[i], consumed(m),
				      m->nposted);
}

void model_yield(const char *where)
{
	struct model *m = cur;
	unsigned int i = m->npoints;
	uint8_t c;

	if (i == MAX_POINTS) {
		failf(m, "more than %u yield points", MAX_POINTS);
		return;
	}
	m->npoints++;
	c = i < m->nprefix ? m->choice[i] : VMM_NONE;
	m->valid[i] = valid_acts(m);
	m->where[i] = where;
	m->event[i] = (uint8_t)m->cur_event;
	m->choice[i] = c;
	vmm_act(m, c);
	check_revokes(m);
	if (m->flush_due) {
		for (unsigned int k = 0; k < m->nheld; k++)
			memcpy(m->held[k].dst, &m->held[k].rec,
			       sizeof(m->held[k].rec));
		m->nheld = 0;
		m->flush_due = false;
	}
}

void model_wrote_slot(void *dst, const void *src, size_t len)
{
	struct model *m = cur;

	if (len != sizeof(struct chariot_ring_rec) || m->nposted == MAX_RECS) {
		failf(m, "a copy of %zu bytes into the ring (%u records)",
		      len, m->nposted);
		return;
	}
	memcpy(&m->posted[m->nposted++], src, len);
	if (m->bug == BUG_REORDER) {
		m->held[m->nheld].dst = dst;
		memcpy(&m->held[m->nheld++].rec, src, len);
	} else {
		memcpy(dst, src, len);
	}
}

void model_publish(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
	cur->publishes++;
	if (cur->bug == BUG_REORDER && cur->nheld)
		cur->flush_due = true;
}

void *model_shm(void)
{
	return cur->shm;
}

void model_doorbell(unsigned int cmd)
{
	struct model *m = cur;

	if (cmd != CHARIOT_CMD_RING)
		failf(m, "a doorbell with command %u", cmd);
	else if (m->bug != BUG_LOST_DOORBELL)
		ring_drain(&m->ring, &m->iso);	/* engine_port_write() */
}

unsigned int model_random(unsigned int n)
{
	return n ? (unsigned int)(test_rnd(&cur->rng) % n) : 0;
}

void model_fail(const char *what)
{
	failf(cur, "%s", what);
}

static void add_revoked(struct model *m, uint64_t start, uint64_t len)
{
	if (m->nrevoked < MAX_REVOKED)
		m->revoked[m->nrevoked++] = (struct range){ start, start + len };
	else
		failf(m, "more than %u revocations", MAX_REVOKED);
}

/* The memory the current event's REVOKEs take away: a revocation by range
 * its range, one by cookie every earlier GRANT of that cookie (the
 * scenario grants no memory twice). */
static void note_revoked(struct model *m)
{
	for (unsigned int i = m->ev_first; i < m->nposted; i++) {
		const struct chariot_ring_rec *r = &m->posted[i];

		if (r->type != CHARIOT_REC_REVOKE)
			continue;
		if (!(r->flags & CHARIOT_REVOKE_BY_COOKIE)) {
			add_revoked(m, r->addr, r->len);
			continue;
		}
		for (unsigned int g = 0; g < i; g++) {
			const struct chariot_ring_rec *x = &m->posted[g];

			if (x->type == CHARIOT_REC_GRANT &&
			    x->domain == r->domain && x->kind == r->kind &&
			    x->cookie == r->cookie)
				add_revoked(m, x->addr, x->len);
		}
	}
}

static int64_t doorbells(const struct model_counts *c)
{
	int64_t n = 0;

	for (unsigned int r = 0; r < MODEL_DB_REASONS; r++)
		n += c->doorbells[r];
	return n;
}

void model_event_done(unsigned int flags)
{
	struct model *m = cur;
	struct model_counts c;
	int64_t full, rung, posts;

	model_producer_counts(&c);
	/* A post publishes head once, and once more per full-ring wait. */
	full = c.full_waits - m->ev.full_waits;
	rung = doorbells(&c) - doorbells(&m->ev);
	posts = (int64_t)(m->publishes - m->ev_publishes) - full;
	if ((flags & MODEL_EV_PROMPT) && consumed(m) < m->nposted)
		failf(m, "promptness: event %u (ENTER, LEAVE, REVOKE or "
		      "PAGE_FREED) returned with %u of %u records read",
		      m->cur_event, consumed(m), m->nposted);
	if (flags & MODEL_EV_REVOKE)
		note_revoked(m);
	check_revokes(m);
	if (rung - full > posts)
		failf(m, "economy: event %u rang %" PRId64 " times in %" PRId64
		      " posts (%" PRId64 " for a full ring)", m->cur_event,
		      rung, posts, full);
	m->cur_event++;
	m->ev_first = m->nposted;
	m->ev_publishes = m->publishes;
	m->ev = c;
}

static void check_end(struct model *m)
{
	struct model_counts c;
	char why[128] = "";
	size_t at = 0;

	model_producer_counts(&c);
	for (unsigned int e = 1; e < RING_ERRS && at < sizeof(why); e++)
		if (m->ring.stats.rejected[e])
			at += (size_t)snprintf(why + at, sizeof(why) - at,
					       " %s %" PRIu64,
					       ring_err_name((enum ring_err)e),
					       m->ring.stats.rejected[e]);
	if (at)
		failf(m, "integrity: records rejected:%s", why);
	if (c.dropped)
		failf(m, "integrity: the producer dropped %" PRId64 " records",
		      c.dropped);
	if (m->ring.stats.applied != m->nposted)
		failf(m, "integrity: %" PRIu64 " records applied of %u posted",
		      m->ring.stats.applied, m->nposted);
	for (unsigned int i = 0; i < m->nposted && i < m->ring.nhist; i++)
		if (memcmp(&m->ring.hist[i], &m->posted[i],
			   sizeof(m->posted[i])))
			failf(m, "integrity: record %u applied is not the one "
			      "posted", i);
}

/* One schedule: m->choice[0..nprefix) given, no VMM action after it but
 * the doorbells' drains. */
static void run(struct model *m, struct model_counts *total)
{
	struct iso_config icfg = { .vcpus = 2, .act_entries = MAX_RECS,
				   .open_pages = MAX_OPEN,
				   .protect = model_protect, .opaque = m };
	struct ring_config rcfg = { .ram_end = RAM_END, .history = MAX_RECS };
	struct model_counts c;

	m->npoints = m->cur_event = m->nposted = m->ev_first = 0;
	m->opens = m->closes = 0;
	m->nrevoked = m->nopen = m->nheld = 0;
	m->publishes = m->ev_publishes = 0;
	memset(&m->ev, 0, sizeof(m->ev));
	m->flush_due = false;
	m->fail[0] = 0;
	cur = m;
	if (iso_init(&m->iso, &icfg)) {
		failf(m, "set-up: iso_init");
		return;
	}
	m->rng = m->seed;
	if (ring_init(&m->ring, m->shm, m->ring_bytes, &rcfg) ||
	    m->ring.capacity != m->capacity) {
		iso_destroy(&m->iso);
		failf(m, "set-up: ring_init");
		return;
	}
	m->ring.tail = WRAP_START;
	m->ring.shared->head = m->ring.shared->tail = WRAP_START;
	if (model_producer_start())
		failf(m, "the monitor could not open the ring");
	else
		model_producer_scenario(m->scenario);
	model_producer_stop();
	ring_drain(&m->ring, &m->iso);	/* the VMM's next exit */
	check_end(m);
	model_producer_counts(&c);
	for (unsigned int r = 0; r < MODEL_DB_REASONS; r++)
		total->doorbells[r] += c.doorbells[r];
	total->full_waits += c.full_waits;
	ring_destroy(&m->ring);
	iso_destroy(&m->iso);
}

/* The schedule after the one just run, in depth-first order, with at most
 * depth VMM actions; false when there is none. */
static bool next_schedule(struct model *m, unsigned int depth)
{
	unsigned int used = 0;
	int j;

	for (unsigned int k = 0; k < m->npoints; k++)
		used += m->choice[k] != VMM_NONE;
	for (j = (int)m->npoints - 1; j >= 0; j--) {
		used -= m->choice[j] != VMM_NONE;
		if (used >= depth)
			continue;
		for (unsigned int c = m->choice[j] + 1u; c < VMM_ACTS; c++) {
			if (m->valid[j] & (1u << c)) {
				m->choice[j] = (uint8_t)c;
				m->nprefix = (unsigned int)j + 1;
				return true;
			}
		}
	}
	return false;
}

struct search {
	uint64_t schedules, failed;
	uint64_t opens, closes;
	unsigned int max_points;
	char first_fail[256];
	char trace[2048];
	struct model_counts counts;
};

static void keep_trace(struct search *s, const struct model *m)
{
	size_t at = 0;

	snprintf(s->first_fail, sizeof(s->first_fail), "%s", m->fail);
	for (unsigned int i = 0; i < m->npoints; i++) {
		if (m->choice[i] == VMM_NONE)
			continue;
		at += (size_t)snprintf(s->trace + at, sizeof(s->trace) - at,
				       "    event %u, before %s: the VMM %s\n",
				       m->event[i], m->where[i],
				       vmm_act_names[m->choice[i]]);
		if (at >= sizeof(s->trace))
			break;
	}
}

/* seed: MODEL_RANDOM's draws, and its ring (odd: 16 records, else 4). */
static void explore_seed(struct search *s, enum model_scenario scenario,
			 enum bug bug, unsigned int depth, uint64_t seed)
{
	struct model *m = calloc(1, sizeof(*m));

	memset(s, 0, sizeof(*s));
	if (m)
		m->shm = aligned_alloc(64, RING_BYTES_MAX);
	if (!m || !m->shm) {
		free(m);
		snprintf(s->first_fail, sizeof(s->first_fail), "no memory");
		s->failed = 1;
		return;
	}
	m->bug = bug;
	m->scenario = scenario;
	m->ring_bytes = scenarios[scenario].bytes;
	m->capacity = scenarios[scenario].capacity;
	m->seed = seed * 0x9e3779b97f4a7c15ull | 1;
	if (scenario == MODEL_RANDOM && seed % 2) {
		m->ring_bytes = scenarios[MODEL_INTERLEAVED].bytes;
		m->capacity = scenarios[MODEL_INTERLEAVED].capacity;
	}
	do {
		run(m, &s->counts);
		s->schedules++;
		s->opens += m->opens;
		s->closes += m->closes;
		if (m->npoints > s->max_points)
			s->max_points = m->npoints;
		if (m->fail[0] && !s->failed++)
			keep_trace(s, m);
	} while (next_schedule(m, depth));
	free(m->shm);
	free(m);
}

static void explore(struct search *s, enum model_scenario scenario,
		    enum bug bug, unsigned int depth)
{
	explore_seed(s, scenario, bug, depth, 0);
}

static unsigned int depth_wanted(void)
{
	const char *v = getenv("CHARIOT_MODEL_DEPTH");

	return v && *v ? (unsigned int)strtoul(v, NULL, 10) : 3;
}

static void report(const struct search *s, enum model_scenario scenario,
		   unsigned int depth)
{
	static const char *const names[MODEL_DB_REASONS] = {
		"enter", "leave", "revoke", "empty", "kick", "full", "freed",
	};

	fprintf(stderr, "  ring model, %s: %" PRIu64 " schedules (up to %u "
		"VMM actions among %u points), %" PRIu64 " broke a property; "
		"doorbells", scenarios[scenario].name, s->schedules, depth,
		s->max_points, s->failed);
	for (unsigned int r = 0; r < MODEL_DB_REASONS; r++)
		fprintf(stderr, " %s %" PRId64, names[r],
			s->counts.doorbells[r]);
	fprintf(stderr, "; pages opened %" PRIu64 ", closed %" PRIu64 "\n",
		s->opens, s->closes);
	if (s->failed)
		fprintf(stderr, "  first: %s\n%s", s->first_fail, s->trace);
}

/* Every schedule of a scenario keeps the contract, and the search reached
 * pages opened and closed (else it proves less than it says). */
static void check_scenario(int *failed, enum model_scenario scenario,
			   struct search *s)
{
	unsigned int depth = depth_wanted();

	explore(s, scenario, BUG_NONE, depth);
	report(s, scenario, depth);
	CHECK_EQ(s->failed, 0);
	CHECK(s->schedules > 1000);
	CHECK(s->opens > 0 && s->closes > 0);
}

TEST(ring_model_every_schedule_keeps_the_contract)
{
	struct search s;

	check_scenario(failed, MODEL_LIFE, &s);
	/* Every doorbell rule was reached too. */
	for (unsigned int r = 0; r < MODEL_DB_REASONS; r++)
		CHECK(s.counts.doorbells[r] > 0);
}

TEST(ring_model_free_between_another_cpus_parts)
{
	struct search s;

	check_scenario(failed, MODEL_INTERLEAVED, &s);
}

/* Drawn scenarios reach posts of other shapes (parts at other places,
 * frees of any allocation, nesting on two vCPUs); depth 2 for each. */
TEST(ring_model_drawn_scenarios)
{
	uint64_t schedules = 0, opens = 0;
	unsigned int seeds = 24, bad = 0;
	struct search s;

	for (unsigned int seed = 1; seed <= seeds; seed++) {
		explore_seed(&s, MODEL_RANDOM, BUG_NONE, 2, seed);
		schedules += s.schedules;
		opens += s.opens;
		if (s.failed && !bad++)
			fprintf(stderr, "  drawn scenario %u: %s\n%s", seed,
				s.first_fail, s.trace);
	}
	fprintf(stderr, "  ring model, %u drawn scenarios: %" PRIu64
		" schedules (up to 2 VMM actions), %u broke a property, "
		"pages opened %" PRIu64 "\n", seeds, schedules, bad, opens);
	CHECK_EQ(bad, 0);
	CHECK(opens > 0);
}

TEST(ring_model_finds_a_record_published_before_its_bytes)
{
	struct search s;

	/* Even with no VMM action but the doorbells' drains: a full ring's
	 * doorbell follows its head store at once. */
	explore(&s, MODEL_LIFE, BUG_REORDER, 1);
	CHECK(s.failed > 0);
	CHECK(strstr(s.first_fail, "integrity") != NULL);
	CHECK(strstr(s.first_fail, "seq ") != NULL);
}

TEST(ring_model_finds_page_closes_not_applied)
{
	struct search s;

	explore(&s, MODEL_LIFE, BUG_CLOSE_LOST, 2);
	CHECK(s.failed > 0);
	CHECK(strstr(s.first_fail, "is open though its revocation returned")
	      != NULL);
	CHECK(strstr(s.trace, "open its page") != NULL);
}

TEST(ring_model_finds_lost_doorbells)
{
	struct search s;

	explore(&s, MODEL_LIFE, BUG_LOST_DOORBELL, 0);
	CHECK_EQ(s.schedules, 1);
	CHECK_EQ(s.failed, 1);
	CHECK(strstr(s.first_fail, "promptness") != NULL);
}
