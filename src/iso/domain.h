/* domain.h - the isolation state of one VM: its domains (one per isolated
 * module: code ranges, ACT, open pages, counters), the trusted code ranges,
 * and each vCPU's stack of domain entries.
 *
 * Code ranges are guest-virtual (a write's source is its RIP); ACT ranges
 * are guest-physical.  No code byte belongs to two domains or to a domain
 * and trusted code, so a RIP names at most one writer.  Changes that close
 * open pages report each through cfg.protect, which the VMM applies to its
 * memory protection.  Not thread-safe: the VMM holds one lock around all
 * calls (ring drains and verdicts alike). */
#ifndef CHARIOT_DOMAIN_H
#define CHARIOT_DOMAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "chariot_ring.h"
#include "iso/act.h"
#include "iso/pagecache.h"
#include "iso/verdict.h"

#define ISO_MAX_DOMAINS		CHARIOT_RING_MAX_DOMAINS
#define ISO_MAX_VCPUS		64
#define ISO_MAX_TRUSTED		64
#define ISO_MAX_THUNKS		4
#define ISO_MAX_NEST		16	/* domain entries stacked on a vCPU */
#define DOMAIN_MAX_CODE		4	/* e.g. core text and init text */
#define DOMAIN_NAME_LEN		56	/* the kernel's MODULE_NAME_LEN */

struct iso_range {
	uint64_t start, end;		/* guest-virtual [start, end) */
};

/* A guest module's name as the kernel spells it, from len bytes at s
 * (letters, digits, '_' and '-', '-' taken as '_'), into out.  Returns 0,
 * -ENAMETOOLONG (empty or DOMAIN_NAME_LEN or longer) or -EINVAL. */
int domain_module_name(const char *s, size_t len,
		       char out[DOMAIN_NAME_LEN]);

struct domain_stats {
	uint64_t entries;		/* ENTERs */
	uint64_t trapped_writes;	/* verdicts charged to it */
	uint64_t allowed;		/* of those, performed (learned too) */
	uint64_t denied;		/* of those, dropped */
	uint64_t learned;		/* allowed only by learn mode */
	uint64_t pages_opened;
	uint64_t act_entries;		/* filled in by domain_stats() */
};

struct domain {
	bool live;
	unsigned int id;
	char name[DOMAIN_NAME_LEN];
	uint64_t name_id;		/* as the guest numbered it */
	struct iso_range code[DOMAIN_MAX_CODE];
	unsigned int ncode;
	struct act act;
	struct pagecache pages;
	struct domain_stats stats;
};

/* One entry into a domain on a vCPU: where recovery unwinds to. */
struct iso_frame {
	unsigned int domain;
	uint64_t frame;			/* guest-virtual recovery frame */
	uint64_t stack;			/* the stack it runs on: ENTER's */
};

struct iso_vcpu {
	unsigned int depth;		/* 0: no domain active */
	struct iso_frame stack[ISO_MAX_NEST];
};

struct iso_config {
	unsigned int vcpus;		/* 1..ISO_MAX_VCPUS */
	unsigned int act_entries;	/* each domain's ACT pool, > 0 */
	unsigned int open_pages;	/* each domain's open-page cache */
	bool learn;			/* allow would-be denials, log them */
	/* Make page (of domain) writable or trap writes to it again while
	 * the domain runs; NULL when the caller applies nothing. */
	void (*protect)(void *opaque, unsigned int domain, uint64_t page,
			bool writable);
	void *opaque;
};

struct iso {
	struct iso_config cfg;
	struct domain dom[ISO_MAX_DOMAINS];
	struct iso_range trusted[ISO_MAX_TRUSTED];
	unsigned int ntrusted;
	struct iso_range thunk[ISO_MAX_THUNKS];	/* ring.h: THUNK */
	unsigned int nthunk;
	struct iso_vcpu vcpu[ISO_MAX_VCPUS];
	struct violation_log log;
	/* Bumped each time a domain is created or destroyed or trusted
	 * code unloaded: a module loaded again may get the same addresses
	 * in other pages, and what is derived from its code's pages (the
	 * engine's holes) must not take the same ranges for the same
	 * pages. */
	uint64_t code_gen;
};

/* Returns 0 or -EINVAL. */
int iso_init(struct iso *iso, const struct iso_config *cfg);
/* Destroys every domain. */
void iso_destroy(struct iso *iso);

/* Create domain id (< ISO_MAX_DOMAINS) for the module whose code is
 * [code, code + len); name NULL: "domain<id>".  Returns 0, -EINVAL,
 * -EEXIST (id live), -EBUSY (code overlaps another domain's or trusted
 * code) or -ENOMEM. */
int iso_domain_create(struct iso *iso, unsigned int id, const char *name,
		      uint64_t name_id, uint64_t code, uint64_t len);
/* Another code range of a live domain.  Returns 0, -EINVAL, -ENOENT,
 * -ENOSPC or -EBUSY. */
int iso_domain_add_code(struct iso *iso, unsigned int id, uint64_t code,
			uint64_t len);
/* A code range iso_domain_add_code() gave is gone (exactly that range;
 * not the first one).  Returns 0, -ENOENT or -EINVAL (no such range). */
int iso_domain_drop_code(struct iso *iso, unsigned int id, uint64_t code,
			 uint64_t len);
/* Close its open pages, drop its entries from every vCPU, free it.
 * Returns 0 or -ENOENT. */
int iso_domain_destroy(struct iso *iso, unsigned int id);
/* The live domain id, or NULL. */
struct domain *iso_domain(struct iso *iso, unsigned int id);

/* Trusted code [start, start + len).  Returns 0, -EINVAL, -ENOSPC or
 * -EBUSY (overlaps a domain's code). */
int iso_add_trusted(struct iso *iso, uint64_t start, uint64_t len);
/* Trusted code iso_add_trusted() gave (exactly that range) is unloaded.
 * Returns 0 or -EINVAL (no such range). */
int iso_drop_trusted(struct iso *iso, uint64_t start, uint64_t len);
/* A return thunk [start, start + len) (ring.h, THUNK); again the same
 * range: nothing.  Returns 0, -EINVAL or -ENOSPC. */
int iso_add_thunk(struct iso *iso, uint64_t start, uint64_t len);
/* The domain whose code holds rip, or NULL. */
struct domain *iso_domain_of_rip(struct iso *iso, uint64_t rip);
bool iso_rip_trusted(const struct iso *iso, uint64_t rip);

/* ACT changes of domain id (act.h has the tag rule); revocations close the
 * open pages they touch.  Return 0 (iso_revoke_cookie: the number of
 * entries removed), -ENOENT or act.h's errors. */
int iso_grant(struct iso *iso, unsigned int id, uint64_t gpa, uint64_t len,
	      enum chariot_grant_kind kind, uint64_t cookie);
int iso_revoke(struct iso *iso, unsigned int id, uint64_t gpa, uint64_t len);
int iso_revoke_cookie(struct iso *iso, unsigned int id,
		      enum chariot_grant_kind kind, uint64_t cookie);

/* Domain id entered on vcpu / left it (it must be the innermost).  stack:
 * the kernel stack the entry runs on, as ENTER gives it (chariot_ring.h),
 * 0 when not known.  Return 0, -EINVAL (vcpu), -ENOENT, -EOVERFLOW (too
 * deep) or -EPROTO (leaving a domain that is not the innermost). */
int iso_enter(struct iso *iso, unsigned int vcpu, unsigned int id,
	      uint64_t frame, uint64_t stack);
int iso_leave(struct iso *iso, unsigned int vcpu, unsigned int id);
/* The innermost domain on vcpu, or NULL. */
struct domain *iso_active(struct iso *iso, unsigned int vcpu);
/* Does vcpu run, at stack pointer rsp, off the stack its innermost entry
 * runs on (and that stack is known)?  Then it runs a context the guest saw
 * no entry of: an interrupt, on the CPU's IRQ stack, that came while the
 * task was inside the domain and in a kprobe handler (kprobes skip every
 * probe on a CPU while one's handler runs). */
bool iso_off_entry_stack(const struct iso *iso, unsigned int vcpu,
			 uint64_t rsp);
/* The outermost entry into domain id on vcpu (where recovery unwinds to),
 * or NULL. */
const struct iso_frame *iso_outermost(const struct iso *iso, unsigned int vcpu,
				      unsigned int id);
/* Does a vCPU at stack pointer rsp run on the stack entry f was made on
 * (f's context: not an interrupt on the IRQ stack)?  false for no f or an
 * unknown stack. */
bool iso_on_frame_stack(const struct iso_frame *f, uint64_t rsp);

/* After a write by d allowed as VERDICT_ALLOW_ACT has been performed: open
 * its page if pagecache.h's rule allows, reporting the open (and any
 * eviction) through cfg.protect.  Returns 1 when a page was opened. */
int iso_open_page(struct iso *iso, struct domain *d, uint64_t gpa);

/* d's counters, with act_entries filled in. */
void domain_stats(const struct domain *d, struct domain_stats *out);

#endif
