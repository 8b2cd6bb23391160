/* A fuzz test of the rest of what the guest can say to the VMM
 * (include/chariot_abi.h; the update ring has test_ring_fuzz.c and
 * test_ring_model.c): the I/O ports with the shared area's announcement and
 * panic message under them, and the recovery area's fault records.
 *
 * Channel: random port accesses (any offset near the block, any width,
 * reads and writes, the doorbell's commands and others) while the
 * announcement and the panic message in shared memory are rewritten from a
 * valid one a field or a byte at a time, or with noise.  Each access is
 * checked against a reference model: what a read returns, which events
 * come, what is counted as a bad access, that only a valid announcement is
 * kept (and exactly the bytes that were there), that the panic message and
 * the announcement's JSON stay bounded, printable and parseable.
 *
 * Recovery: random areas (a magic or not, any length, any fault count,
 * records with any domain, source and flags, symbols without a NUL or with
 * unprintable bytes): what recover_read() keeps is exactly the records
 * that name a module and a source, in order, their symbols cut and made
 * printable; the report's JSON of them parses and says the same.
 *
 * CHARIOT_FUZZ_ITERS sets the steps (default 20000), CHARIOT_FUZZ_SEED the
 * seed; a failure prints both. */
#include <stdlib.h>

#include "campaign/jsonr.h"
#include "iso/recovery.h"
#include "test.h"
#include "vmm/channel.h"

#define AF_GPA		0xfee00000ull

struct af {
	uint64_t rng;
	unsigned long iters;
	unsigned long seed;
};

static uint64_t rnd(struct af *f)
{
	return test_rnd(&f->rng);
}

static bool chance(struct af *f, unsigned int in)
{
	return rnd(f) % in == 0;
}

static void af_init(struct af *f, unsigned long salt)
{
	const char *it = getenv("CHARIOT_FUZZ_ITERS");
	const char *sd = getenv("CHARIOT_FUZZ_SEED");

	f->iters = it && *it ? strtoul(it, NULL, 10) : 20000;
	f->seed = sd && *sd ? strtoul(sd, NULL, 10) : 1;
	f->rng = (f->seed + salt) * 0x9e3779b97f4a7c15ull | 1;
}

static void fill(struct af *f, void *p, size_t n)
{
	uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)rnd(f);
}

/* A string field: printable, empty, unterminated or with any bytes. */
static void af_string(struct af *f, char *s, size_t n)
{
	size_t len = rnd(f) % n;

	switch (rnd(f) % 6) {
	case 0:
		memset(s, 'x', n);		/* no NUL */
		return;
	case 1:
		fill(f, s, n);
		return;
	case 2:
		len = 0;
		break;
	}
	for (size_t i = 0; i < len; i++)
		s[i] = (char)(0x20 + rnd(f) % 0x5f);
	if (chance(f, 8) && len)
		s[rnd(f) % len] = (char)(chance(f, 2) ? '"' : 0x80 + rnd(f) % 0x80);
	memset(s + len, 0, n - len);
}

static void af_valid_announce(struct chariot_announce *a)
{
	*a = (struct chariot_announce){
		.magic = CHARIOT_ABI_MAGIC, .abi_version = CHARIOT_ABI_VERSION,
		.size = sizeof(*a), .cpus = 2,
		.module_base = 0xffffffffc0000000ull, .module_size = 0x20000,
		.kernel_text = 0xffffffff81000000ull,
		.kernel_etext = 0xffffffff82000000ull,
	};
	strcpy(a->kernel_release, "6.1.0-28-amd64");
	strcpy(a->name, "chariot_monitor");
}

/* Rewrite the announcement: valid, one field off, or noise. */
static void af_announce(struct af *f, struct chariot_announce *a)
{
	static const uint64_t addrs[] = { 0, 0xffff800000000000ull,
		0xffff7fffffffffffull, ~0ull, ~0ull - 0xfff };

	af_valid_announce(a);
	switch (rnd(f) % 10) {
	case 0: a->magic = (uint32_t)rnd(f); break;
	case 1: a->abi_version = (uint32_t)(rnd(f) % 4); break;
	case 2: a->size = (uint32_t)(rnd(f) % 512); break;
	case 3: a->cpus = (uint32_t)(chance(f, 2) ? rnd(f) % 8 : rnd(f)); break;
	case 4: a->module_base = addrs[rnd(f) % 5];
		a->module_size = chance(f, 2) ? rnd(f) : rnd(f) % 0x50000000;
		break;
	case 5: a->kernel_text = addrs[rnd(f) % 5];
		a->kernel_etext = chance(f, 2) ? addrs[rnd(f) % 5] : rnd(f);
		break;
	case 6: af_string(f, a->kernel_release, sizeof(a->kernel_release));
		break;
	case 7: af_string(f, a->name, sizeof(a->name)); break;
	case 8: fill(f, a, sizeof(*a)); break;
	}
}

/* The reference model of channel.c's port block. */
struct chan_ref {
	unsigned int events[CHANNEL_EV_POWEROFF + 1];
	unsigned int bad;
	bool announced, exited, panicked;
	struct chariot_announce kept;
	uint8_t exit_status;
};

static void on_event(void *opaque, enum channel_event ev)
{
	unsigned int *seen = opaque;

	seen[ev]++;
}

/* The register block as the guest should read it. */
static void reg_image(uint8_t img[CHARIOT_PORT_LEN])
{
	uint32_t v[] = { CHARIOT_ABI_MAGIC, CHARIOT_ABI_VERSION,
		(uint32_t)AF_GPA, (uint32_t)(AF_GPA >> 32), CHARIOT_SHM_SIZE };

	memset(img, 0, CHARIOT_PORT_LEN);
	for (unsigned int i = 0; i < 5; i++)
		for (unsigned int b = 0; b < 4; b++)
			img[i * 4 + b] = (uint8_t)(v[i] >> (8 * b));
}

/* Does an access of len bytes at off lie inside the port block? */
static bool in_block(uint64_t off, uint32_t len)
{
	return off < CHARIOT_PORT_LEN && len && len <= CHARIOT_PORT_LEN - off;
}

/* What one write should do to the model. */
static void ref_write(struct chan_ref *r, const struct chariot_shm *shm,
		      uint64_t off, const uint8_t *d, uint32_t len)
{
	uint32_t v = d[0];

	if (!in_block(off, len) || (len != 1 && len != 4) ||
	    (off != CHARIOT_REG_DOORBELL && off != CHARIOT_REG_EXIT)) {
		r->bad++;
		return;
	}
	if (len == 4)
		v |= (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 |
		     (uint32_t)d[3] << 24;
	if (off == CHARIOT_REG_EXIT) {
		r->exited = true;
		r->exit_status = (uint8_t)v;
		r->events[CHANNEL_EV_EXIT]++;
		return;
	}
	switch (v) {
	case CHARIOT_CMD_ANNOUNCE:
		if (channel_announce_check(&shm->announce)) {
			r->events[CHANNEL_EV_ANNOUNCE_REJECTED]++;
			break;
		}
		r->kept = shm->announce;
		r->announced = true;
		r->events[CHANNEL_EV_ANNOUNCE]++;
		break;
	case CHARIOT_CMD_PANIC:
		r->panicked = true;
		r->events[CHANNEL_EV_PANIC]++;
		break;
	case CHARIOT_CMD_INIT:
		r->events[CHANNEL_EV_INIT]++;
		break;
	case CHARIOT_CMD_POWEROFF:
		r->events[CHANNEL_EV_POWEROFF]++;
		break;
	default:
		r->bad++;
	}
}

static bool printable(const char *s, size_t n, bool tabs)
{
	size_t i;

	for (i = 0; i < n && s[i]; i++)
		if ((s[i] < 0x20 || s[i] > 0x7e) &&
		    !(tabs && (s[i] == '\n' || s[i] == '\t')))
			return false;
	return i < n;
}

/* The announcement's JSON parses and names what was kept. */
static bool announce_json_ok(struct channel *c, const struct chan_ref *r)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mf = open_memstream(&text, &len);
	struct jdoc doc = { 0 };
	bool ok;

	if (!mf || channel_announce_json(c, mf)) {
		if (mf)
			fclose(mf);
		free(text);
		return false;
	}
	fclose(mf);
	ok = !jsonr_parse(text, len, &doc);
	if (ok && r->announced)
		ok = !strcmp(jsonr_str(jsonr_get(&doc, jsonr_root(&doc), "name"),
				       ""), r->kept.name);
	else if (ok)
		ok = jsonr_root(&doc)->type == J_NULL;
	jsonr_free(&doc);
	free(text);
	return ok;
}

static bool chan_state_ok(struct channel *c, const struct chan_ref *r,
			  const unsigned int *seen)
{
	struct channel_state st;

	channel_state(c, &st);
	if (memcmp(seen, r->events, sizeof(r->events)) || st.bad_accesses != r->bad ||
	    st.announced != r->announced || st.exited != r->exited ||
	    st.panicked != r->panicked)
		return false;
	if (st.exited && st.exit_status != r->exit_status)
		return false;
	if (st.announced && (channel_announce_check(&st.announce) ||
			     memcmp(&st.announce, &r->kept, sizeof(r->kept))))
		return false;
	return printable(st.panic_msg, sizeof(st.panic_msg), true);
}

/* One random access; false when the channel disagrees with the model. */
static bool chan_step(struct af *f, struct channel *c, struct chariot_shm *shm,
		      struct chan_ref *r)
{
	static const uint32_t lens[] = { 1, 2, 4, 8, 4, 1, 0, 3, 0x40 };
	uint64_t off = chance(f, 8) ? rnd(f) % 0x100 : rnd(f) % 0x24;
	uint32_t len = lens[rnd(f) % 9];
	uint8_t data[0x40];

	fill(f, data, sizeof(data));
	if (chance(f, 2)) {
		off = chance(f, 6) ? CHARIOT_REG_EXIT : CHARIOT_REG_DOORBELL;
		data[0] = (uint8_t)(rnd(f) % 7);
		if (chance(f, 2))
			memset(data + 1, 0, 3);
	}
	if (chance(f, 3)) {
		uint8_t img[CHARIOT_PORT_LEN];
		bool in = in_block(off, len);

		reg_image(img);
		channel_io(c, off, data, len, false);
		for (uint32_t i = 0; i < len; i++)
			if (data[i] != (in ? img[off + i] : 0xff))
				return false;
		return true;
	}
	ref_write(r, shm, off, data, len);
	channel_io(c, off, data, len, true);
	return true;
}

TEST(abi_fuzz_channel_ports_and_shared_area)
{
	struct af f;
	struct chariot_shm *shm = calloc(1, CHARIOT_SHM_SIZE);
	struct chan_ref ref = { 0 };
	unsigned int seen[CHANNEL_EV_POWEROFF + 1] = { 0 };
	struct channel c;
	unsigned long i;

	af_init(&f, 1);
	CHECK(shm != NULL);
	if (!shm || channel_init(&c, shm, AF_GPA, CHARIOT_SHM_SIZE, on_event,
				 seen)) {
		free(shm);
		*failed = 1;
		return;
	}
	for (i = 0; i < f.iters; i++) {
		if (chance(&f, 3))
			af_announce(&f, &shm->announce);
		if (chance(&f, 8))
			af_string(&f, shm->panic_msg, sizeof(shm->panic_msg));
		if (!chan_step(&f, &c, shm, &ref) ||
		    !chan_state_ok(&c, &ref, seen) ||
		    (i % 64 == 0 && !announce_json_ok(&c, &ref)))
			break;
	}
	if (i < f.iters)
		fprintf(stderr, "  channel disagrees with the model at step %lu "
			"(CHARIOT_FUZZ_SEED=%lu)\n", i, f.seed);
	CHECK_EQ(i, f.iters);
	/* The fuzz reached every event and both verdicts on announcements. */
	for (unsigned int e = 0; e <= CHANNEL_EV_POWEROFF; e++)
		CHECK(ref.events[e] > 0);
	CHECK(ref.bad > 0);
	channel_destroy(&c);
	free(shm);
}

/* ---- the recovery area ---- */

#define AF_MODULES	3

static void af_fault(struct af *f, struct chariot_fault *x)
{
	x->domain = (uint16_t)(chance(f, 4) ? rnd(f) : rnd(f) % AF_MODULES);
	x->detected_by = (uint8_t)(chance(f, 5) ? rnd(f) : 1 + rnd(f) % 5);
	x->flags = (uint8_t)rnd(f);
	x->recovery_us = (uint32_t)rnd(f);
	x->rip = rnd(f);
	af_string(f, x->symbol, sizeof(x->symbol));
}

/* recover_read()'s symbol, as the guest's bytes say it should be. */
static void ref_symbol(char *out, const char *in)
{
	size_t i;

	for (i = 0; i < CHARIOT_FAULT_SYMBOL_LEN - 1 && in[i]; i++)
		out[i] = in[i] >= 0x20 && in[i] < 0x7f ? in[i] : '?';
	out[i] = 0;
}

static bool fault_matches(const struct recover_fault *got,
			  const struct chariot_fault *in)
{
	char sym[CHARIOT_FAULT_SYMBOL_LEN];

	ref_symbol(sym, in->symbol);
	return got->domain == in->domain && got->detected_by == in->detected_by &&
	       got->flags == in->flags && got->recovery_us == in->recovery_us &&
	       got->rip == in->rip && !strcmp(got->symbol, sym);
}

static bool faults_json_ok(const struct recover_fault *out, unsigned int n)
{
	static const char *const modules[AF_MODULES] = { "a", "b\"c", "d" };
	char *text = NULL;
	size_t len = 0;
	FILE *mf = open_memstream(&text, &len);
	struct jdoc doc = { 0 };
	const struct jnode *x;
	unsigned int k = 0;
	bool ok;

	if (!mf)
		return false;
	fputc('[', mf);
	recover_json(mf, out, n, modules);
	fputc(']', mf);
	fclose(mf);
	ok = !jsonr_parse(text, len, &doc);
	for (x = ok ? jsonr_first(&doc, jsonr_root(&doc)) : NULL; x && ok;
	     x = jsonr_next(&doc, x), k++) {
		const char *sym = jsonr_str(jsonr_get(&doc, x, "symbol"), "");

		ok = k < n && !strcmp(jsonr_str(jsonr_get(&doc, x, "module"), ""),
				      modules[out[k].domain]) &&
		     !strcmp(sym, out[k].symbol);
	}
	jsonr_free(&doc);
	free(text);
	return ok && k == n;
}

/* One random area read back; false when recover_read() disagrees. */
static bool recovery_step(struct af *f, struct chariot_recovery *area)
{
	struct recover_fault out[CHARIOT_FAULTS_MAX + 2];
	unsigned int max = chance(f, 4) ? rnd(f) % 8 : CHARIOT_FAULTS_MAX + 2;
	size_t len = chance(f, 8) ? rnd(f) % (sizeof(*area) + 1) : sizeof(*area);
	unsigned int n, rejected, want = 0, bad = 0, count;

	area->magic = chance(f, 8) ? (uint32_t)rnd(f) : CHARIOT_RECOVERY_MAGIC;
	area->nfaults = (uint32_t)(chance(f, 8) ? rnd(f) :
				   rnd(f) % (CHARIOT_FAULTS_MAX + 3));
	area->entry = rnd(f);
	for (unsigned int i = 0; i < CHARIOT_FAULTS_MAX; i++)
		af_fault(f, &area->fault[i]);
	n = recover_read(area, len, AF_MODULES, out, max, &rejected);
	if (area->magic != CHARIOT_RECOVERY_MAGIC || len < sizeof(*area))
		return n == 0 && rejected == 0 && !recover_entry(area, len);
	if (recover_entry(area, len) != area->entry)
		return false;
	count = area->nfaults < CHARIOT_FAULTS_MAX ? area->nfaults
						   : CHARIOT_FAULTS_MAX;
	for (unsigned int i = 0; i < count && want < max; i++) {
		const struct chariot_fault *in = &area->fault[i];

		if (in->domain >= AF_MODULES ||
		    !recover_source_name(in->detected_by)) {
			bad++;
			continue;
		}
		if (want >= n || !fault_matches(&out[want], in))
			return false;
		want++;
	}
	return n == want && rejected == bad && faults_json_ok(out, n);
}

TEST(abi_fuzz_recovery_records)
{
	struct af f;
	struct chariot_recovery *area = calloc(1, sizeof(*area));
	unsigned long i;

	af_init(&f, 2);
	CHECK(area != NULL);
	if (!area)
		return;
	for (i = 0; i < f.iters / 4; i++)
		if (!recovery_step(&f, area))
			break;
	if (i < f.iters / 4)
		fprintf(stderr, "  recover_read disagrees with the model at step "
			"%lu (CHARIOT_FUZZ_SEED=%lu)\n", i, f.seed);
	CHECK_EQ(i, f.iters / 4);
	free(area);
}
