/* fuzz_mutate.c - the fault injector against any code bytes (libFuzzer).
 * A campaign decodes the loaded driver's text as it is in guest memory and
 * patches it; whatever those bytes are, picking a mutation of any type
 * must end in a patch the injector can stand behind or a clean "no site".
 * Besides the sanitizers:
 *  - the result is 0, -ENOENT or -EINVAL (nothing else is documented);
 *  - a mutation's patches lie inside the code, hold its bytes as "old",
 *    change at least one byte, are at most MUTATE_PATCH_MAX long and do
 *    not overlap; its site is below nsites, nsites is mutate_count()'s,
 *    its address is the code's; its texts are terminated;
 *  - the same input and seed pick the same mutation;
 *  - applied, the code holds "new"; reverted, it is the original again,
 *    and applying twice is refused (-ESTALE) without writing.
 * Input: the fault type (a byte), the seed (8 bytes), a byte whose low
 * bits restrict sites to offsets a multiple of it (the --sites covered
 * list; 0: any), then the code. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inject/mutate.h"

#define BASE		0xffffffffc0001000ull

/* The functions the call-based types look for, at fixed addresses the
 * seeds' calls reach. */
static const struct mutate_symbol syms[] = {
	{ 0xffffffff81200000ull, "__kmalloc" },
	{ 0xffffffff81200100ull, "kfree" },
	{ 0xffffffff81200200ull, "memcpy" },
	{ 0xffffffff81200300ull, "_raw_spin_lock_irqsave" },
	{ 0xffffffff81200400ull, "mutex_lock" },
	{ 0xffffffff81200500ull, "_raw_spin_trylock" },
	{ 0xffffffff81200600ull, "_raw_spin_unlock" },
	{ 0xffffffff81200700ull, "_printk" },
};

#define FAIL(...)	do { fprintf(stderr, __VA_ARGS__); abort(); } while (0)

static bool terminated(const char *s)
{
	return memchr(s, '\0', MUTATE_TEXT) != NULL;
}

static void check_mutation(const struct mutate_input *in, enum fault_type t,
			   const struct mutation *m)
{
	bool changes = false;

	if (m->type != t || m->npatches < 1 || m->npatches > MUTATE_MAX_PATCHES)
		FAIL("type %d npatches %u\n", m->type, m->npatches);
	if (m->site >= m->nsites || (long)m->nsites != mutate_count(in, t))
		FAIL("site %zu of %zu, count %ld\n", m->site, m->nsites,
		     mutate_count(in, t));
	if (m->addr < in->base || m->addr >= in->base + in->len)
		FAIL("site address 0x%llx outside the code\n",
		     (unsigned long long)m->addr);
	if (!terminated(m->what) || !terminated(m->before) ||
	    !terminated(m->after))
		FAIL("a text is not terminated\n");
	for (unsigned int i = 0; i < m->npatches; i++) {
		const struct mutate_patch *p = &m->patch[i];

		if (!p->len || p->len > MUTATE_PATCH_MAX || p->off > in->len ||
		    p->len > in->len - p->off)
			FAIL("patch %u [%u, +%u) outside %zu bytes\n", i,
			     p->off, p->len, in->len);
		if (memcmp(p->old, in->code + p->off, p->len))
			FAIL("patch %u: old bytes are not the code's\n", i);
		if (memcmp(p->old, p->new, p->len))
			changes = true;
		for (unsigned int j = 0; j < i; j++)
			if (p->off < m->patch[j].off + m->patch[j].len &&
			    m->patch[j].off < p->off + p->len)
				FAIL("patches %u and %u overlap\n", j, i);
	}
	if (!changes)
		FAIL("%s at +0x%llx changes nothing (%s; %s)\n",
		     fault_type_name(t), (unsigned long long)(m->addr - in->base),
		     m->what, m->before);
}

static void check_apply(const uint8_t *code, size_t len,
			const struct mutation *m)
{
	uint8_t *buf = malloc(len), *twice = malloc(len);

	if (!buf || !twice)
		abort();
	memcpy(buf, code, len);
	if (mutate_apply(buf, len, m))
		FAIL("apply refused\n");
	for (unsigned int i = 0; i < m->npatches; i++)
		if (memcmp(buf + m->patch[i].off, m->patch[i].new,
			   m->patch[i].len))
			FAIL("applied, patch %u is not in the code\n", i);
	memcpy(twice, buf, len);
	if (mutate_apply(twice, len, m) != -ESTALE || memcmp(twice, buf, len))
		FAIL("applied twice: not refused, or written\n");
	if (mutate_revert(buf, len, m) || memcmp(buf, code, len))
		FAIL("reverted, the code is not the original\n");
	free(buf);
	free(twice);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mutate_input in = { .base = BASE, .syms = syms,
		.nsyms = sizeof(syms) / sizeof(syms[0]) };
	struct mutation a, b;
	uint32_t *only = NULL;
	enum fault_type t;
	uint8_t every;
	uint64_t seed;
	uint8_t *code;
	int r;

	if (size < 10)
		return 0;
	t = data[0] % FAULT_NTYPES;
	memcpy(&seed, data + 1, 8);
	every = data[9] & 7;
	in.len = size - 10;
	/* A copy of exactly the code: a read past it is a heap overflow. */
	code = malloc(in.len ? in.len : 1);
	if (!code)
		abort();
	memcpy(code, data + 10, in.len);
	in.code = code;
	if (every) {
		only = malloc(sizeof(*only) * (in.len / every + 1));
		if (!only)
			abort();
		for (size_t off = 0; off < in.len; off += every)
			only[in.nonly++] = off;
		in.only = only;
	}
	r = mutate_pick(&in, t, seed, &a);
	if (r && r != -ENOENT && r != -EINVAL)
		FAIL("mutate_pick: %d\n", r);
	if (r == -ENOENT && mutate_count(&in, t) != 0)
		FAIL("no site, yet mutate_count says %ld\n", mutate_count(&in, t));
	if (r == 0) {
		check_mutation(&in, t, &a);
		if (mutate_pick(&in, t, seed, &b) ||
		    memcmp(a.patch, b.patch, sizeof(a.patch)) ||
		    a.npatches != b.npatches || a.site != b.site ||
		    strcmp(a.what, b.what))
			FAIL("the same seed picked another mutation\n");
		check_apply(code, in.len, &a);
	}
	free(only);
	free(code);
	return 0;
}
