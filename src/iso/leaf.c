/* leaf.c - kernel pages run in the protected view (leaf.h). */
#include <stddef.h>

#include "iso/leaf.h"

#define PAGE_MASK	(~0xfffull)

void leaf_init(struct leaf_set *l, bool off)
{
	*l = (struct leaf_set){ .off = off };
	for (unsigned int v = 0; v < LEAF_VCPUS; v++)
		l->vcpu[v].page = 1;
}

static struct leaf_page *find(struct leaf_set *l, uint64_t page)
{
	for (unsigned int i = 0; i < LEAF_SLOTS; i++)
		if (l->page[i].state != LEAF_FREE && l->page[i].va == page)
			return &l->page[i];
	return NULL;
}

/* A slot for a new page: a free one, else the watched page called least
 * (a hot page keeps its slot; a cold one gives it up).  NULL when every
 * slot holds a page run protected or banned. */
static struct leaf_page *take(struct leaf_set *l)
{
	struct leaf_page *best = NULL;

	for (unsigned int i = 0; i < LEAF_SLOTS; i++) {
		struct leaf_page *p = &l->page[i];

		if (p->state == LEAF_FREE)
			return p;
		if (p->state == LEAF_WATCH && (!best || p->calls < best->calls))
			best = p;
	}
	return best;
}

bool leaf_called(struct leaf_set *l, uint64_t va, uint64_t entries)
{
	uint64_t page = va & PAGE_MASK;
	struct leaf_page *p;

	if (l->off)
		return false;
	p = find(l, page);
	if (!p) {
		p = take(l);
		if (!p)
			return false;
		*p = (struct leaf_page){ .va = page, .first = entries,
					 .state = LEAF_WATCH };
	}
	if (p->state != LEAF_WATCH)
		return false;
	if (entries - p->first > LEAF_WINDOW) {
		p->calls = 0;		/* too sparse: a new window */
		p->first = entries;
	}
	if (++p->calls < LEAF_PROMOTE || l->running == LEAF_RUN_MAX)
		return false;
	p->state = LEAF_RUN;
	p->promoted = entries;
	p->writes = 0;
	l->running++;
	l->promotions++;
	return true;
}

static uint64_t at_least_1(uint64_t x)
{
	return x ? x : 1;
}

/* Is p's write, the run-th in a row on its vCPU, one too many? */
static bool too_many(const struct leaf_page *p, uint32_t run, uint64_t entries)
{
	uint64_t before, after;

	if (run >= LEAF_BURST)
		return true;
	if (p->writes < LEAF_MIN_WRITES)
		return false;
	/* writes per entry since > LEAF_RATE * calls per entry before,
	 * without dividing; a span of no entry counts as one. */
	before = at_least_1(p->promoted - p->first);
	after = at_least_1(entries - p->promoted);
	return (uint64_t)p->writes * before >
	       (uint64_t)LEAF_RATE * p->calls * after;
}

bool leaf_wrote(struct leaf_set *l, unsigned int vcpu, uint64_t rip,
		uint64_t entries)
{
	uint64_t page = rip & PAGE_MASK;
	struct leaf_page *p;
	uint32_t run = 0;

	if (vcpu < LEAF_VCPUS) {
		if (l->vcpu[vcpu].page != page) {
			l->vcpu[vcpu].page = page;
			l->vcpu[vcpu].run = 0;
		}
		run = ++l->vcpu[vcpu].run;
	}
	if (!l->running)
		return false;
	p = find(l, page);
	if (!p || p->state != LEAF_RUN)
		return false;
	p->writes++;
	if (!too_many(p, run, entries))
		return false;
	p->state = LEAF_BANNED;
	l->running--;
	l->demotions++;
	return true;
}

void leaf_switched(struct leaf_set *l, unsigned int vcpu)
{
	if (vcpu < LEAF_VCPUS)
		l->vcpu[vcpu].page = 1;
}

bool leaf_runs(const struct leaf_set *l, uint64_t va)
{
	uint64_t page = va & PAGE_MASK;

	if (!l->running)
		return false;
	for (unsigned int i = 0; i < LEAF_SLOTS; i++)
		if (l->page[i].state == LEAF_RUN && l->page[i].va == page)
			return true;
	return false;
}

uint64_t leaf_digest(const struct leaf_set *l, uint64_t h)
{
	for (unsigned int i = 0; l->running && i < LEAF_SLOTS; i++)
		if (l->page[i].state == LEAF_RUN)
			h = (h ^ l->page[i].va ^ i) * 0x100000001b3ull;
	return h;
}
