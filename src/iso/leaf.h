/* leaf.h - kernel pages the driver calls into often, run in the protected
 * view instead of switching out of it.
 *
 * With fetch switching, kernel text is a hole of the protected view: each
 * call a driver makes into the kernel switches the vCPU out at the
 * callee's first fetch and back at its return, two exits and two view
 * switches.  Many of those calls are to small functions that write little
 * or nothing (radix_tree_lookup, __rcu_read_lock and __rcu_read_unlock
 * under brd and null_blk).  Run in the protected view, such a function
 * costs one trapped write per write it makes (allowed: it is kernel code)
 * and nothing per call.
 *
 * This set decides which pages, adaptively, by that cost:
 *  - a kernel page that direct calls from driver code switched out for
 *    LEAF_PROMOTE times within LEAF_WINDOW driver entries runs protected
 *    from then on (at most LEAF_RUN_MAX pages at once), its calls per
 *    driver entry in that window noted;
 *  - a page run protected goes back to being a hole for good when its
 *    trapped writes come LEAF_BURST in a row on one vCPU with no view
 *    switch between (a memcpy into a page of shared bytes, exiting per
 *    element), or when its writes per driver entry exceed LEAF_RATE times
 *    the calls per entry it had (a call was two switches; the factor
 *    allows for calls per entry drifting between phases of a workload:
 *    they are not seen once a page runs protected, so the rate they had
 *    is taken from the window that promoted it, a quiet phase kept out).
 * Off unless asked for (engine_config.leaf_off; CHARIOT_ISO_LEAF=on): in
 * the nested test host it cut exits (null_blk 229 745 -> 166 068 moving
 * 4 MiB) but not time, and virtio_blk ran 10-25% slower with it.  A
 * factor of 1 instead of 4 was slower still (all four drivers).  Running
 * more code in the protected view may cost what no exit counts: KVM
 * builds that address space's nested page tables too, anew after every
 * view edit.
 * It costs no precision: code in a page run protected is still kernel
 * code, its every write trapped and judged (allowed) as before.
 * Pages are guest-virtual, 4 KiB.  Not thread-safe: the engine's lock. */
#ifndef CHARIOT_ISO_LEAF_H
#define CHARIOT_ISO_LEAF_H

#include <stdbool.h>
#include <stdint.h>

#define LEAF_SLOTS	64	/* pages watched */
#define LEAF_RUN_MAX	8	/* pages run protected at once */
#define LEAF_PROMOTE	32	/* calls that switched out, to promote */
#define LEAF_WINDOW	64	/* ... within so many driver entries */
#define LEAF_MIN_WRITES	16	/* trapped writes before a rate is judged */
#define LEAF_RATE	4	/* writes per call (per entry) too many */
#define LEAF_BURST	16	/* writes in a row too many */
#define LEAF_VCPUS	64

enum leaf_state { LEAF_FREE, LEAF_WATCH, LEAF_RUN, LEAF_BANNED };

struct leaf_page {
	uint64_t va;			/* page-aligned */
	uint64_t first;			/* driver entries at the window's first
					 * call */
	uint64_t promoted;		/* driver entries when promoted */
	uint32_t calls;			/* calls that switched out */
	uint32_t writes;		/* trapped writes while run protected */
	enum leaf_state state;
};

struct leaf_set {
	struct leaf_page page[LEAF_SLOTS];
	struct {
		uint64_t page;		/* of its last trapped write, or 1 */
		uint32_t run;		/* writes in a row from it */
	} vcpu[LEAF_VCPUS];
	unsigned int running;
	bool off;			/* never promote */
	uint64_t promotions, demotions;
};

void leaf_init(struct leaf_set *l, bool off);

/* A direct call from driver code to the kernel code at va switched out of
 * the protected view, after entries driver entries in all.  Returns true
 * when va's page is to run protected from now on. */
bool leaf_called(struct leaf_set *l, uint64_t va, uint64_t entries);

/* A trapped write on vcpu by the code at rip.  Returns true when rip's
 * page, run protected, is to be a hole again. */
bool leaf_wrote(struct leaf_set *l, unsigned int vcpu, uint64_t rip,
		uint64_t entries);

/* vcpu switched views: its writes in a row end. */
void leaf_switched(struct leaf_set *l, unsigned int vcpu);

/* Does the page at va run protected? */
bool leaf_runs(const struct leaf_set *l, uint64_t va);

/* A digest of the pages run protected (the holes depend on it). */
uint64_t leaf_digest(const struct leaf_set *l, uint64_t h);

#endif
