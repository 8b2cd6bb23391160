/* inject.c - one fault injected into a loaded guest driver, and its
 * activation (inject.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "inject/decode.h"
#include "inject/inject.h"
#include "iso/domain.h"
#include "vmm/json.h"

#define PAGE_SIZE	4096ull
#define DR7_FIXED	0x400ull	/* bit 10 reads as 1 */
#define DR6_HITS	0xfull		/* B0-B3 */

static int bad(char *err, size_t errlen, const char *fmt, const char *arg)
{
	snprintf(err, errlen, fmt, arg);
	return -EINVAL;
}

static int parse_module(const char *s, size_t len, char *out, char *err,
			size_t errlen)
{
	int r = domain_module_name(s, len, out);

	if (r == -ENAMETOOLONG)
		return bad(err, errlen, "module name of 1 to %s characters expected",
			   "55");
	if (r)
		return bad(err, errlen, "%s", "module names are letters, digits, _ and -");
	return 0;
}

static void list_types(char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int t = 0; t < FAULT_NTYPES && off < len; t++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
					t ? ", " : "", fault_type_name(t));
}

int inject_parse(const char *arg, struct inject_spec *s, char *err,
		 size_t errlen)
{
	const char *c1 = strchr(arg, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	char type[64], types[512], *end;
	size_t tlen;
	int t;

	memset(s, 0, sizeof(*s));
	if (!c1 || !c2 || strchr(c2 + 1, ':'))
		return bad(err, errlen, "'%s': MOD:TYPE:SEED expected", arg);
	if (parse_module(arg, (size_t)(c1 - arg), s->module, err, errlen))
		return -EINVAL;
	tlen = (size_t)(c2 - c1 - 1);
	if (tlen >= sizeof(type))
		tlen = sizeof(type) - 1;
	memcpy(type, c1 + 1, tlen);
	type[tlen] = '\0';
	t = fault_type_parse(type);
	if (t < 0) {
		list_types(types, sizeof(types));
		snprintf(err, errlen, "unknown fault type '%s' (one of: %s)",
			 type, types);
		return -EINVAL;
	}
	s->type = (enum fault_type)t;
	errno = 0;
	if (!c2[1] || c2[1] == '-' || c2[1] == '+' || c2[1] == ' ')
		return bad(err, errlen, "bad seed '%s': a number expected", c2 + 1);
	s->seed = strtoull(c2 + 1, &end, 0);
	if (errno || *end)
		return bad(err, errlen, "bad seed '%s': a number expected", c2 + 1);
	return 0;
}

int inject_parse_cover(const char *arg, struct inject_spec *s, char *err,
		       size_t errlen)
{
	memset(s, 0, sizeof(*s));
	if (parse_module(arg, strlen(arg), s->module, err, errlen))
		return -EINVAL;
	s->cover = true;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

long inject_read_sites(const char *path, uint32_t **out, char *err,
		       size_t errlen)
{
	FILE *f = fopen(path, "r");
	uint32_t *v = NULL;
	size_t n = 0, cap = 0, m = 0;
	char line[128];
	long lineno = 0;

	*out = NULL;
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	while (fgets(line, sizeof(line), f)) {
		char *p = line + strspn(line, " \t"), *end;
		unsigned long long x;

		lineno++;
		if (*p == '#' || *p == '\n' || !*p)
			continue;
		errno = 0;
		x = strtoull(p, &end, 0);
		end += strspn(end, " \t\r\n");
		if (errno || end == p || *end || *p == '-' ||
		    x >= INJECT_MAX_TEXT) {
			snprintf(err, errlen, "%s:%ld: an offset into the "
				 "module's text expected", path, lineno);
			free(v);
			fclose(f);
			return -EINVAL;
		}
		if (n == cap) {
			uint32_t *w = realloc(v, (cap = cap ? 2 * cap : 256) *
					      sizeof(*v));

			if (!w) {
				free(v);
				fclose(f);
				snprintf(err, errlen, "%s: out of memory", path);
				return -ENOMEM;
			}
			v = w;
		}
		v[n++] = (uint32_t)x;
	}
	fclose(f);
	if (!n) {
		snprintf(err, errlen, "%s: no offsets (the workload ran none "
			 "of the module's instructions?)", path);
		return -ENOENT;
	}
	qsort(v, n, sizeof(*v), cmp_u32);
	for (size_t i = 0; i < n; i++)
		if (!m || v[i] != v[m - 1])
			v[m++] = v[i];
	*out = v;
	return (long)m;
}

/* ---- guest memory ---- */

/* The host bytes of [gva, gva + n) with n within one page. */
static uint8_t *guest_bytes(const struct inject_guest *g, uint64_t gva,
			    size_t n, int *err)
{
	uint64_t gpa;
	uint8_t *p;
	int r = g->walk(g->opaque, g->cr3, gva, &gpa);

	if (r) {
		*err = r < 0 ? r : -ENOENT;
		return NULL;
	}
	p = guest_mem_ptr(g->mem, gpa, n);
	if (!p)
		*err = -EFAULT;
	return p;
}

static int copy(const struct inject_guest *g, uint64_t gva, uint8_t *buf,
		size_t len, bool to_guest)
{
	while (len) {
		size_t n = (size_t)(PAGE_SIZE - (gva & (PAGE_SIZE - 1)));
		int err = 0;
		uint8_t *p;

		if (n > len)
			n = len;
		p = guest_bytes(g, gva, n, &err);
		if (!p)
			return err;
		if (to_guest)
			memcpy(p, buf, n);
		else
			memcpy(buf, p, n);
		gva += n;
		buf += n;
		len -= n;
	}
	return 0;
}

int inject_read(const struct inject_guest *g, uint64_t gva, uint8_t *buf,
		size_t len)
{
	return copy(g, gva, buf, len, false);
}

int inject_write(const struct inject_guest *g, uint64_t gva,
		 const uint8_t *buf, size_t len)
{
	return copy(g, gva, (uint8_t *)buf, len, true);
}

/* ---- set-up ---- */

int inject_init(struct injector *inj, const struct inject_spec *spec,
		enum inject_break brk, const char *kernel,
		const char *system_map)
{
	long r;

	memset(inj, 0, sizeof(*inj));
	inj->spec = *spec;
	inj->brk = spec->cover ? INJECT_BREAK_PORT : brk;	/* cover: OUTs */
	r = pthread_mutex_init(&inj->lock, NULL);
	if (r)
		return (int)-r;
	inj->nsyms_vmlinux = ksyms_load_vmlinux(&inj->syms, kernel);
	if (inj->nsyms_vmlinux == -ENOMEM)
		return -ENOMEM;
	if (system_map) {
		r = ksyms_load_system_map(&inj->syms, system_map);
		if (r < 0)
			return (int)r;
	}
	ksyms_finish(&inj->syms);
	return 0;
}

void inject_destroy(struct injector *inj)
{
	free(inj->cov);
	ksyms_free(&inj->syms);
	pthread_mutex_destroy(&inj->lock);
}

/* ---- the injection ---- */

static void set_error(struct injector *inj, const char *fmt, int err)
{
	snprintf(inj->error, sizeof(inj->error), fmt, strerror(-err));
}

/* The decoded instructions of code (free() *out), or -errno. */
static long decode(const uint8_t *code, size_t len, uint64_t base,
		   struct insn **out)
{
	struct decoder dec;
	long n;

	*out = NULL;
	if (decoder_open(&dec))
		return -EIO;
	n = decode_all(&dec, code, len, base, out);
	decoder_close(&dec);
	return n;
}

/* Where the mutated code starts running: the start of the instruction
 * (of the original code) that holds each patch's first byte.  A patch
 * may begin inside one (a bit flip, a ModRM or opcode byte changed);
 * the start of an instruction is one in the new code too. */
static void set_breakpoints(struct injector *inj, const uint8_t *orig,
			    size_t len, uint64_t base)
{
	const struct mutation *m = &inj->m;
	struct insn *in;
	long n = decode(orig, len, base, &in);

	inj->nbp = 0;
	for (unsigned int p = 0; p < m->npatches && inj->nbp < INJECT_MAX_BPS; p++) {
		uint32_t off = m->patch[p].off;
		bool dup = false;
		uint64_t a = 0;

		for (long i = 0; i < n && !a; i++)
			if (in[i].off <= off && off < in[i].off + in[i].len)
				a = in[i].addr;
		for (unsigned int b = 0; b < inj->nbp; b++)
			dup |= inj->bp[b] == a;
		if (a && !dup)
			inj->bp[inj->nbp++] = a;
	}
	free(in);
}

/* May the 2-byte OUT go at breakpoint bp of the mutated code (in, n its
 * instructions)?  Not when it would cover the first byte of an
 * instruction some direct branch jumps to. */
static bool port_fits(const struct insn *in, long n, uint64_t bp)
{
	bool at = false;

	for (long i = 0; i < n; i++)
		if (in[i].addr == bp)
			at = true;
	if (!at)
		return false;
	for (long j = 0; j < n; j++)
		if ((in[j].flags & INSN_DIRECT) && in[j].target == bp + 1)
			return false;
	return true;
}

/* Write two bytes of code another vCPU may be fetching: one 16-bit store
 * when they are in one cache line (x86 makes it atomic), else the second
 * byte first. */
static void put2(uint8_t *const p[2], const uint8_t v[2])
{
	if (p[1] == p[0] + 1 && ((uintptr_t)p[0] & 63) != 63) {
		uint16_t w;

		memcpy(&w, v, 2);
		__atomic_store_n((uint16_t *)(void *)p[0], w, __ATOMIC_RELEASE);
		return;
	}
	__atomic_store_n(p[1], v[1], __ATOMIC_RELEASE);
	__atomic_store_n(p[0], v[0], __ATOMIC_RELEASE);
}

/* A module's text as read, decoded: what the OUT placement rules see. */
struct text_view {
	const uint8_t *code;
	uint64_t base, len;
	const struct insn *in;
	long n;
};

static bool short_before_owned(const struct injector *inj,
			       const struct text_view *t, long i);

/* `out %al, $(INJECT_PORT + b)` over the first two bytes of each
 * breakpoint b (one that cannot take it is left without: it never
 * reports; nor does a one-byte one before code the kernel owns). */
static void arm(struct injector *inj, const struct inject_guest *g,
		const uint8_t *code, size_t len, uint64_t base)
{
	struct insn *in;
	long n = decode(code, len, base, &in);
	struct text_view t = { code, base, len, in, n };

	for (unsigned int b = 0; b < inj->nbp; b++) {
		uint8_t *p[2];
		int err = 0;
		long i = 0;

		if (inj->bp[b] + 2 > base + len || !port_fits(in, n, inj->bp[b]))
			continue;
		while (in[i].addr != inj->bp[b])	/* port_fits() found it */
			i++;
		if (short_before_owned(inj, &t, i))
			continue;
		p[0] = guest_bytes(g, inj->bp[b], 1, &err);
		p[1] = guest_bytes(g, inj->bp[b] + 1, 1, &err);
		if (!p[0] || !p[1])
			continue;
		for (int i = 0; i < 2; i++) {
			inj->bp_host[b][i] = p[i];
			inj->bp_saved[b][i] = *p[i];
		}
		put2(p, (const uint8_t[]){ 0xe6, (uint8_t)(INJECT_PORT + b) });
	}
	free(in);
	inj->armed = true;
}

/* Put the patched bytes back where OUTs are. */
static void disarm(struct injector *inj)
{
	for (unsigned int b = 0; inj->armed && b < inj->nbp; b++)
		if (inj->bp_host[b][0])
			put2(inj->bp_host[b], inj->bp_saved[b]);
	inj->armed = false;
}

static int mutate(struct injector *inj, const struct inject_guest *g,
		  uint64_t text, uint64_t len)
{
	struct mutate_input in = {
		.len = len, .base = text,
		.syms = inj->syms.sym, .nsyms = inj->syms.n,
		.only = inj->spec.only, .nonly = inj->spec.nonly,
	};
	uint8_t *code = malloc(len), *orig = malloc(len);
	int err;

	if (!code || !orig) {
		err = -ENOMEM;
		set_error(inj, "reading the module's text: %s", err);
		goto out;
	}
	in.code = orig;
	err = inject_read(g, text, orig, len);
	if (err) {
		set_error(inj, "reading the module's text: %s", err);
		goto out;
	}
	/* The text is padded with zeros to a page (the module loader's
	 * strict alignment): no code there, and 00 00 decodes as an add. */
	while (in.len && !orig[in.len - 1])
		in.len--;
	err = mutate_pick(&in, inj->spec.type, inj->spec.seed, &inj->m);
	if (err == -ENOENT) {
		snprintf(inj->error, sizeof(inj->error), "no site for this type");
		goto out;
	}
	if (err) {
		set_error(inj, "picking the mutation: %s", err);
		goto out;
	}
	memcpy(code, orig, len);
	err = mutate_apply(code, in.len, &inj->m);
	/* Only the patched bytes go back: the rest of the text is left as
	 * the guest has it. */
	for (unsigned int p = 0; !err && p < inj->m.npatches; p++)
		err = inject_write(g, text + inj->m.patch[p].off,
				   code + inj->m.patch[p].off,
				   inj->m.patch[p].len);
	if (err) {
		set_error(inj, "writing the mutation: %s", err);
		goto out;
	}
	inj->applied = true;
	set_breakpoints(inj, orig, in.len, text);
	if (inj->brk == INJECT_BREAK_PORT)
		arm(inj, g, code, in.len, text);
out:
	free(code);
	free(orig);
	return err;
}

/* ---- coverage (spec.cover) ---- */

struct inject_cover_site {
	uint32_t off;			/* into the text */
	bool hit;
	uint8_t *host[2];		/* its first two bytes, and */
	uint8_t saved[2];		/* what they hold without the OUT */
};

/* Is a direct call or jump the kernel itself may check or patch while
 * the OUT is there?  A static call (`call __SCT__name`: checked when the
 * module comes in and at every static_call_update()) and a direct jmp (a
 * jump label in its enabled form; checked when the module comes in and
 * at every static_branch flip) would meet the OUT instead of what they
 * expect: a kernel BUG.  A static call's trampoline is the kernel's
 * (named __SCT__*) or the module's own (its tracepoints': in its text,
 * known by the signature the kernel checks, ud1 %esp,%ecx 5 bytes in).
 * Without the kernel's symbols every call out of the module counts as a
 * static call. */
static bool kernel_patched(const struct injector *inj,
			   const struct text_view *t, const struct insn *in)
{
	static const uint8_t tramp_sig[3] = { 0x0f, 0xb9, 0xcc };
	const char *name;
	uint64_t off;

	if (!(in->flags & INSN_DIRECT))
		return false;
	if (in->flags & INSN_JMP)
		return true;
	if (!(in->flags & INSN_CALL))
		return false;
	off = in->target - t->base;
	if (in->target >= t->base && off < t->len)
		return off + 8 <= t->len &&
		       !memcmp(t->code + off + 5, tramp_sig, sizeof(tramp_sig));
	if (inj->nsyms_vmlinux <= 0)
		return true;
	name = ksyms_name(&inj->syms, in->target);
	return name && !strncmp(name, "__SCT__", 7);
}

/* May the kernel check or patch instruction in while the OUT is there
 * (the multi-byte nops ftrace and jump labels patch, static calls, jump
 * labels, the signature of a static call's trampoline: a ud1)?  A
 * one-byte pad (int3 between functions, nop) is nobody's. */
static bool kernel_owned(const struct injector *inj,
			 const struct text_view *t, const struct insn *in)
{
	const uint8_t *b = t->code + in->off;

	return ((in->flags & INSN_PAD) && in->len > 1) ||
	       (in->len >= 2 && b[0] == 0x0f && b[1] == 0xb9) ||
	       kernel_patched(inj, t, in);
}

/* Is instruction i one byte long, and the next one the kernel's (or
 * none)?  An OUT there would cover the first byte of that one: a BUG in
 * __static_call_validate() at null_blk's load. */
static bool short_before_owned(const struct injector *inj,
			       const struct text_view *t, long i)
{
	return t->in[i].len < 2 &&
	       (i + 1 >= t->n || kernel_owned(inj, t, &t->in[i + 1]));
}

/* Can instruction i of the text take an OUT that no other one's overlaps
 * (free_from: the first byte not covered yet)?  None that the kernel
 * owns; a single-byte one only where port_fits() allows, and not before
 * one the kernel owns. */
static bool cover_fits(const struct injector *inj, const struct text_view *t,
		       long i, uint64_t free_from)
{
	const struct insn *in = &t->in[i];

	if (!(in->flags & INSN_VALID) || in->addr < free_from ||
	    in->off + 2 > t->len || kernel_owned(inj, t, in))
		return false;
	return in->len >= 2 || (port_fits(t->in, t->n, in->addr) &&
				!short_before_owned(inj, t, i));
}

/* An OUT at every instruction of the text that can take one. */
static void cover_arm(struct injector *inj, const struct inject_guest *g,
		      uint64_t text, uint64_t len)
{
	uint8_t *code = malloc(len);
	struct insn *in = NULL;
	struct text_view t;
	uint64_t free_from = 0;
	long n;
	int err;

	if (!code) {
		set_error(inj, "coverage: %s", -ENOMEM);
		return;
	}
	err = inject_read(g, text, code, len);
	while (!err && len && !code[len - 1])	/* the page's zero padding */
		len--;
	n = err ? err : decode(code, len, text, &in);
	if (n >= 0)
		inj->cov = calloc((size_t)n + 1, sizeof(*inj->cov));
	if (n < 0 || !inj->cov) {
		set_error(inj, "coverage: reading the module's text: %s",
			  n < 0 ? (int)n : -ENOMEM);
		goto out;
	}
	t = (struct text_view){ code, text, len, in, n };
	for (long i = 0; i < n; i++) {
		struct inject_cover_site *c = &inj->cov[inj->ncov];

		if (!cover_fits(inj, &t, i, free_from))
			continue;
		c->host[0] = guest_bytes(g, in[i].addr, 1, &err);
		c->host[1] = guest_bytes(g, in[i].addr + 1, 1, &err);
		if (!c->host[0] || !c->host[1])
			continue;
		c->off = in[i].off;
		c->saved[0] = *c->host[0];
		c->saved[1] = *c->host[1];
		put2(c->host, (const uint8_t[]){ 0xe6, INJECT_PORT });
		free_from = in[i].addr + 2;
		inj->ncov++;
	}
	inj->armed = true;
out:
	free(in);
	free(code);
}

static struct inject_cover_site *cover_find(struct injector *inj,
					    uint64_t rip)
{
	size_t lo = 0, hi = inj->ncov;

	if (rip < inj->text || rip - inj->text >= inj->text_len)
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t a = inj->text + inj->cov[mid].off;

		if (a == rip)
			return &inj->cov[mid];
		if (a < rip)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void inject_module_loaded(struct injector *inj, const struct inject_guest *g,
			  uint64_t text, uint64_t len)
{
	bool kick = false;

	pthread_mutex_lock(&inj->lock);
	if (!inj->loaded) {
		inj->loaded = true;
		inj->text = text;
		inj->text_len = len;
		if (!len || len > INJECT_MAX_TEXT)
			snprintf(inj->error, sizeof(inj->error),
				 "module text of %" PRIu64 " bytes", len);
		else if (inj->spec.cover)
			cover_arm(inj, g, text, len);
		else
			mutate(inj, g, text, len);
		/* hw: the breakpoints, each vCPU at its next run; soon. */
		kick = inj->brk == INJECT_BREAK_HW && inj->applied;
		if (kick)
			__atomic_add_fetch(&inj->gen, 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&inj->lock);
	for (unsigned int v = 0; kick && inj->kick && v < inj->vcpus; v++)
		inj->kick(inj->kick_opaque, v);
}

/* ---- activation ---- */

static struct kvm_guest_debug debug_state(const struct injector *inj)
{
	struct kvm_guest_debug d;

	memset(&d, 0, sizeof(d));
	if (inj->brk != INJECT_BREAK_HW || !inj->nbp || inj->activated)
		return d;
	d.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP;
	d.arch.debugreg[7] = DR7_FIXED;
	for (unsigned int b = 0; b < inj->nbp; b++) {
		d.arch.debugreg[b] = inj->bp[b];
		/* L and G enable, R/W 00 (execution), LEN 00. */
		d.arch.debugreg[7] |= 3ull << (2 * b);
	}
	return d;
}

int inject_vcpu_sync(struct injector *inj, int vcpu_fd, uint64_t *gen)
{
	uint64_t now = __atomic_load_n(&inj->gen, __ATOMIC_ACQUIRE);
	struct kvm_guest_debug d;
	int err = 0;

	if (now == *gen)
		return 0;
	pthread_mutex_lock(&inj->lock);
	d = debug_state(inj);
	now = inj->gen;
	if (ioctl(vcpu_fd, KVM_SET_GUEST_DEBUG, &d) < 0) {
		err = -errno;
		if (!inj->debug_err)
			inj->debug_err = err;
	}
	pthread_mutex_unlock(&inj->lock);
	*gen = now;
	return err;
}

/* The breakpoint a #DB exit is at, or -1. */
static int ours(const struct injector *inj, const struct kvm_debug_exit_arch *a)
{
	if (a->exception != 1)
		return -1;
	for (unsigned int b = 0; b < inj->nbp; b++)
		if (a->pc == inj->bp[b])
			return (int)b;
	return -1;
}

static void activated(struct injector *inj, unsigned int vcpu, uint64_t rip)
{
	if (inj->activated)
		return;
	inj->activated = true;
	inj->activated_vcpu = vcpu;
	inj->activated_rip = rip;
}

int inject_debug_exit(struct injector *inj, unsigned int vcpu, int vcpu_fd,
		      const struct kvm_run *run)
{
	struct kvm_guest_debug d;
	int err = 0, b;

	pthread_mutex_lock(&inj->lock);
	inj->debug_exits++;
	b = ours(inj, &run->debug.arch);
	if (b >= 0) {
		activated(inj, vcpu, inj->bp[b]);
		/* Every vCPU drops the breakpoints at its next entry. */
		__atomic_add_fetch(&inj->gen, 1, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&inj->lock);
		return 0;
	}
	/* Not ours: the guest's #DB (or #BP). */
	inj->foreign_debug++;
	d = debug_state(inj);
	d.control |= KVM_GUESTDBG_ENABLE;
	d.control |= run->debug.arch.exception == 3 ? KVM_GUESTDBG_INJECT_BP
						     : KVM_GUESTDBG_INJECT_DB;
	if (ioctl(vcpu_fd, KVM_SET_GUEST_DEBUG, &d) < 0)
		err = -errno;
	pthread_mutex_unlock(&inj->lock);
	return err;
}

/* Complete the OUT that exited without running the guest; *r its
 * registers after. */
static int finish_out(int vcpu_fd, struct kvm_run *run, struct kvm_regs *r)
{
	int err = 0;

	__atomic_store_n(&run->immediate_exit, 1, __ATOMIC_RELAXED);
	if (ioctl(vcpu_fd, KVM_RUN, 0) == 0 || (errno != EINTR && errno != EAGAIN))
		err = -EIO;	/* it must not have run */
	__atomic_store_n(&run->immediate_exit, 0, __ATOMIC_RELAXED);
	if (err)
		return err;
	return ioctl(vcpu_fd, KVM_GET_REGS, r) < 0 ? -errno : 0;
}

/* Finish the OUT at bp without running the guest, then run bp again. */
static int rerun(int vcpu_fd, struct kvm_run *run, uint64_t bp)
{
	struct kvm_regs r;
	int err = finish_out(vcpu_fd, run, &r);

	if (err)
		return err;
	if (r.rip != bp + 2 && r.rip != bp)
		return -ERANGE;
	r.rip = bp;
	return ioctl(vcpu_fd, KVM_SET_REGS, &r) < 0 ? -errno : 0;
}

/* A coverage OUT: the instruction it stands on ran; put it back and run
 * it.  Another vCPU may have put it back already (both reached it). */
static int cover_exit(struct injector *inj, int vcpu_fd, struct kvm_run *run)
{
	struct inject_cover_site *c;
	struct kvm_regs r;
	int err = finish_out(vcpu_fd, run, &r);

	if (err)
		return err;
	c = cover_find(inj, r.rip - 2);
	if (!c) {			/* not ours: the guest's own OUT */
		inj->foreign_debug++;
		return 0;
	}
	if (!c->hit) {
		put2(c->host, c->saved);
		c->hit = true;
		inj->nhit++;
	}
	r.rip -= 2;
	return ioctl(vcpu_fd, KVM_SET_REGS, &r) < 0 ? -errno : 0;
}

int inject_port_exit(struct injector *inj, unsigned int vcpu, int vcpu_fd,
		     struct kvm_run *run)
{
	unsigned int b = run->io.port - INJECT_PORT;
	int err;

	pthread_mutex_lock(&inj->lock);
	inj->debug_exits++;
	if (inj->spec.cover) {
		err = cover_exit(inj, vcpu_fd, run);
		if (err && !inj->debug_err)
			inj->debug_err = err;
		pthread_mutex_unlock(&inj->lock);
		return err;
	}
	if (b >= inj->nbp || !inj->bp_host[b][0]) {
		/* A port of ours the guest wrote by itself: ignored. */
		inj->foreign_debug++;
		pthread_mutex_unlock(&inj->lock);
		return 0;
	}
	activated(inj, vcpu, inj->bp[b]);
	disarm(inj);
	err = rerun(vcpu_fd, run, inj->bp[b]);
	if (err && !inj->debug_err)
		inj->debug_err = err;
	pthread_mutex_unlock(&inj->lock);
	return err;
}

/* ---- the report ---- */

static void json_hex(FILE *f, const char *key, uint64_t v, bool known)
{
	fprintf(f, "\"%s\": ", key);
	if (known)
		fprintf(f, "\"0x%" PRIx64 "\"", v);
	else
		fputs("null", f);
}

/* ", \"cover\": ..." of a --cover run: how many instructions had an OUT,
 * how many ran, and their offsets into the text (what --sites reads). */
static void report_cover(const struct injector *inj, FILE *f)
{
	if (!inj->spec.cover) {
		fputs(",\n    \"cover\": null", f);
		return;
	}
	fprintf(f, ",\n    \"cover\": {\"armed\": %zu, \"ran\": %zu, "
		"\"sites\": [", inj->ncov, inj->nhit);
	for (size_t i = 0, k = 0; i < inj->ncov; i++) {
		if (!inj->cov[i].hit)
			continue;
		fprintf(f, "%s%s%" PRIu32, k ? "," : "",
			k % 16 ? "" : "\n      ", inj->cov[i].off);
		k++;
	}
	fputs("]}", f);
}

void inject_report_json(struct injector *inj, FILE *f)
{
	bool a;

	if (!inj) {
		fputs(",\n  \"inject\": null", f);
		return;
	}
	pthread_mutex_lock(&inj->lock);
	a = inj->applied;
	fputs(",\n  \"inject\": {\"module\": ", f);
	json_string(f, inj->spec.module);
	fputs(", \"type\": ", f);
	json_string(f, fault_type_name(inj->spec.type));
	fprintf(f, ", \"seed\": %" PRIu64 ", \"applied\": %s, \"error\": ",
		inj->spec.seed, a ? "true" : "false");
	json_string(f, a || (inj->spec.cover && inj->loaded && !inj->error[0])
			   ? NULL : inj->error[0] ? inj->error :
			   "module never loaded");
	fputs(",\n    ", f);
	json_hex(f, "text", inj->text, inj->loaded);
	fprintf(f, ", \"text_len\": %" PRIu64 ", ", inj->text_len);
	json_hex(f, "addr", inj->m.addr, a);
	if (a)
		fprintf(f, ", \"site\": %zu, \"nsites\": %zu", inj->m.site,
			inj->m.nsites);
	else
		fputs(", \"site\": null, \"nsites\": null", f);
	fputs(",\n    \"what\": ", f);
	json_string(f, a ? inj->m.what : NULL);
	fputs(", \"before\": ", f);
	json_string(f, a ? inj->m.before : NULL);
	fputs(", \"after\": ", f);
	json_string(f, a ? inj->m.after : NULL);
	fprintf(f, ",\n    \"activated\": %s, ", inj->activated ? "true" : "false");
	json_hex(f, "activated_rip", inj->activated_rip, inj->activated);
	fprintf(f, ", \"break\": \"%s\", \"breakpoints\": %u, ",
		inj->brk == INJECT_BREAK_HW ? "hw" : "port", inj->nbp);
	fprintf(f, "\"debug_exits\": %" PRIu64
		", \"foreign_debug\": %" PRIu64 ", \"kernel_symbols\": %zu, "
		"\"debug_error\": ", inj->debug_exits,
		inj->foreign_debug, inj->syms.n);
	json_string(f, inj->debug_err ? strerror(-inj->debug_err) : NULL);
	report_cover(inj, f);
	fputc('}', f);
	pthread_mutex_unlock(&inj->lock);
}
