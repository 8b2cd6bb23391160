// SPDX-License-Identifier: GPL-2.0
/*
 * post.c - build update records (chariot_ring.h) into a batch on the
 * stack and post it through ring.c.  Grants here are guest-physical
 * already; grant_va.c translates a guest-virtual range into them.  Nothing
 * here touches the kernel's memory maps, so tests/model builds this file
 * and ring.c in user space and checks them against the VMM's consumer.
 */
#include <linux/kernel.h>
#include <linux/limits.h>

#include <asm/page.h>

#include "monitor.h"

/**
 * chariot_batch_flush() - post what the batch holds
 * @b: the batch; empty afterwards
 *
 * Rings the doorbell if what was added since the last flush asks for it.
 */
void chariot_batch_flush(struct chariot_batch *b)
{
	chariot_ring_post(b->rec, b->n, b->why);
	b->n = 0;
	b->why = 0;
}

/* Post a full batch as a part of the event, keeping its why. */
static void post_part(struct chariot_batch *b)
{
	if (chariot_ring_post(b->rec, b->n, b->why | CHARIOT_WHY_MORE))
		b->why |= CHARIOT_WHY_OPENED;
	b->n = 0;
}

static void add(struct chariot_batch *b, u8 type, u8 kind, u16 flags,
		unsigned int domain, unsigned int vcpu, u32 len, u64 addr,
		u64 cookie)
{
	struct chariot_ring_rec *r;

	if (b->n == CHARIOT_BATCH)
		post_part(b);
	r = &b->rec[b->n++];
	*r = (struct chariot_ring_rec){
		.type = type, .kind = kind, .flags = flags, .domain = domain,
		.vcpu = vcpu, .len = len, .addr = addr, .cookie = cookie,
	};
}

/* A range of up to 4 GiB - 1 bytes per record. */
static void add_ranges(struct chariot_batch *b, u8 type, unsigned int domain,
		       u64 addr, u64 len, u64 cookie)
{
	while (len) {
		u32 n = min_t(u64, len, U32_MAX & PAGE_MASK);

		add(b, type, 0, 0, domain, 0, n, addr, cookie);
		addr += n;
		len -= n;
	}
}

/**
 * chariot_post_create() - add DOMAIN_CREATE
 * @b:       the batch
 * @domain:  its id
 * @code:    start of its (core) code, guest-virtual
 * @len:     its length
 * @name_id: what the VMM names it by: its place in the isolate list
 */
void chariot_post_create(struct chariot_batch *b, unsigned int domain,
			 unsigned long code, unsigned long len, u64 name_id)
{
	add(b, CHARIOT_REC_DOMAIN_CREATE, 0, 0, domain, 0, len, code, name_id);
}

/**
 * chariot_post_code() - add DOMAIN_CODE: more code of a domain
 * @b:      the batch
 * @domain: its id
 * @code:   start, guest-virtual
 * @len:    length
 */
void chariot_post_code(struct chariot_batch *b, unsigned int domain,
		       unsigned long code, unsigned long len)
{
	add_ranges(b, CHARIOT_REC_DOMAIN_CODE, domain, code, len, 0);
}

/**
 * chariot_post_uncode() - add DOMAIN_UNCODE: code chariot_post_code() gave
 * is freed
 * @b:      the batch
 * @domain: its id
 * @code:   start, guest-virtual, as posted
 * @len:    length, as posted (below 4 GiB: one record)
 */
void chariot_post_uncode(struct chariot_batch *b, unsigned int domain,
			 unsigned long code, unsigned long len)
{
	add_ranges(b, CHARIOT_REC_DOMAIN_UNCODE, domain, code, len, 0);
}

/**
 * chariot_post_destroy() - add DOMAIN_DESTROY
 * @b:      the batch
 * @domain: its id
 */
void chariot_post_destroy(struct chariot_batch *b, unsigned int domain)
{
	add(b, CHARIOT_REC_DOMAIN_DESTROY, 0, 0, domain, 0, 0, 0, 0);
}

/**
 * chariot_post_page_freed() - add PAGE_FREED: system pages freed
 * @b:   the batch; it will ring
 * @pa:  the first page, guest-physical
 * @len: bytes, whole pages
 */
void chariot_post_page_freed(struct chariot_batch *b, phys_addr_t pa,
			     unsigned long len)
{
	add_ranges(b, CHARIOT_REC_PAGE_FREED, 0, pa, len, 0);
	b->why |= CHARIOT_WHY_FREED;
}

/**
 * chariot_post_trusted() - add TRUSTED_RANGE: code whose writes are the
 * kernel's
 * @b:    the batch
 * @code: start, guest-virtual
 * @len:  length
 */
void chariot_post_trusted(struct chariot_batch *b, unsigned long code,
			  unsigned long len)
{
	if (!len)
		return;
	add_ranges(b, CHARIOT_REC_TRUSTED_RANGE, 0, code, len, 0);
	chariot_count(trusted);
}

/**
 * chariot_post_trusted_gone() - add TRUSTED_GONE: the code a
 * chariot_post_trusted() of the same range gave is unloaded
 * @b:    the batch
 * @code: start, guest-virtual
 * @len:  length
 */
void chariot_post_trusted_gone(struct chariot_batch *b, unsigned long code,
			       unsigned long len)
{
	if (!len)
		return;
	add_ranges(b, CHARIOT_REC_TRUSTED_GONE, 0, code, len, 0);
}

/**
 * chariot_post_thunk() - add THUNK: kernel text a driver's returns go
 * through, writing only the stack
 * @b:    the batch
 * @code: start, guest-virtual
 * @len:  length, at most CHARIOT_THUNK_MAX_LEN
 */
void chariot_post_thunk(struct chariot_batch *b, unsigned long code,
			unsigned long len)
{
	if (!len || len > CHARIOT_THUNK_MAX_LEN)
		return;
	add(b, CHARIOT_REC_THUNK, 0, 0, 0, 0, len, code, 0);
}

/**
 * chariot_post_grant_phys() - add GRANT of a guest-physical range
 * @b:      the batch
 * @domain: the domain granted
 * @kind:   who grants
 * @cookie: the tag a REVOKE BY_COOKIE names
 * @pa:     start
 * @len:    length (may exceed 4 GiB: several records)
 */
void chariot_post_grant_phys(struct chariot_batch *b, unsigned int domain,
			     enum chariot_grant_kind kind, u64 cookie,
			     phys_addr_t pa, unsigned long len)
{
	while (len) {
		u32 n = min_t(u64, len, U32_MAX & PAGE_MASK);

		add(b, CHARIOT_REC_GRANT, kind, 0, domain, 0, n, pa, cookie);
		chariot_count(grants[kind]);
		pa += n;
		len -= n;
	}
}

/**
 * chariot_post_revoke() - add REVOKE BY_COOKIE
 * @b:      the batch
 * @domain: the domain
 * @kind:   the kind it was granted as
 * @cookie: its cookie (not 0)
 */
void chariot_post_revoke(struct chariot_batch *b, unsigned int domain,
			 enum chariot_grant_kind kind, u64 cookie)
{
	add(b, CHARIOT_REC_REVOKE, kind, CHARIOT_REVOKE_BY_COOKIE, domain, 0, 0,
	    0, cookie);
	chariot_count(revokes[kind]);
	b->why |= CHARIOT_WHY_REVOKE;
}

/**
 * chariot_post_enter() - add ENTER
 * @b:      the batch
 * @domain: the domain entered
 * @cpu:    the CPU (vCPU) it runs on
 * @frame:  its recovery frame
 * @stack:  the stack it runs on, CHARIOT_ENTER_STACK() (0: not known)
 */
void chariot_post_enter(struct chariot_batch *b, unsigned int domain,
			unsigned int cpu, const void *frame, u64 stack)
{
	add(b, CHARIOT_REC_ENTER, 0, 0, domain, cpu, 0, (unsigned long)frame,
	    stack);
	b->why |= CHARIOT_WHY_ENTER;
}

/**
 * chariot_post_leave() - add LEAVE
 * @b:      the batch
 * @domain: the domain left (the innermost one on @cpu)
 * @cpu:    the CPU
 */
void chariot_post_leave(struct chariot_batch *b, unsigned int domain,
			unsigned int cpu)
{
	add(b, CHARIOT_REC_LEAVE, 0, 0, domain, cpu, 0, 0, 0);
	b->why |= CHARIOT_WHY_LEAVE;
}
