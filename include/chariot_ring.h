/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * chariot_ring.h - the guest -> VMM update ring, shared by both sides.
 *
 * The guest monitor module posts isolation updates (domains, grants and
 * revocations of the authorization table, entries and exits) as fixed-size
 * records into a single-producer/single-consumer ring in shared memory; the
 * VMM drains them at its next exit instead of taking one exit per update
 * (the exceptionless idea of VirtuOS).  The VMM always drains before it
 * judges a trapped write, so a grant posted before the write that needs it
 * is always seen in time.
 *
 * Indices are free-running 32-bit counters (they wrap; the slot is
 * index & (capacity - 1)).  The guest writes records then, with release
 * order, head; the VMM reads head with acquire order, copies each record
 * out once, validates it, then publishes tail.  Every field the guest
 * writes is untrusted: the VMM keeps its own copy of capacity and tail,
 * clamps head, and checks each record's seq against the index it was read
 * from, so a lying head or a stray write into the ring yields rejected
 * records, never applied ones.
 *
 * Doorbell (the CHARIOT_REG_DOORBELL command for the ring, chariot_abi.h):
 * the guest rings it only when its post made the ring non-empty, when the
 * ring is at least CHARIOT_RING_KICK_LEVEL full (before it must wait), after
 * an ENTER or a LEAVE (the vCPU's write protection changes right then),
 * after a REVOKE (open pages are not trapped, so a revocation touching one
 * must reach the VMM before the driver can write there again), and after a
 * PAGE_FREED (the page must be closed before it is reused).  When the ring
 * is full the guest rings and retries: the VMM drains during that exit.
 *
 * Up to version 5 a REVOKE rang only while the VMM flagged open pages in a
 * vmm_flags word.  tests/unit/test_ring_model.c, which checks these rules
 * on both sides' code in every schedule of up to 3 VMM actions, found that
 * racy: the VMM set the flag at the end of the exit that opened a page,
 * after that exit's drain, so a free published in between (on a ring left
 * non-empty by another CPU's event posted in parts) saw no flag, rang
 * nothing and returned with the freed object's page open.  Almost every
 * REVOKE rang anyway (its post made the ring non-empty), so the flag saved
 * nothing; it is gone.
 *
 * Bump CHARIOT_RING_VERSION on any change to the header or the record.
 */
#ifndef CHARIOT_RING_H
#define CHARIOT_RING_H

#include <linux/types.h>

#define CHARIOT_RING_MAGIC	0x474e4952u	/* "RING" */
#define CHARIOT_RING_VERSION	7u
#define CHARIOT_RING_MAX_DOMAINS 16	/* domain ids are below this */

/* Ring at least this full (of capacity cap): the guest rings the doorbell. */
#define CHARIOT_RING_KICK_LEVEL(cap)	((cap) - (cap) / 4)

enum chariot_rec_type {
	/* 0 is invalid: a slot the guest never wrote reads as zero */
	CHARIOT_REC_DOMAIN_CREATE = 1,
	CHARIOT_REC_DOMAIN_CODE = 2,
	CHARIOT_REC_DOMAIN_DESTROY = 3,
	CHARIOT_REC_GRANT = 4,
	CHARIOT_REC_REVOKE = 5,
	CHARIOT_REC_ENTER = 6,
	CHARIOT_REC_LEAVE = 7,
	CHARIOT_REC_TRUSTED_RANGE = 8,
	CHARIOT_REC_DOMAIN_UNCODE = 9,
	CHARIOT_REC_PAGE_FREED = 10,
	CHARIOT_REC_THUNK = 11,
	CHARIOT_REC_TRUSTED_GONE = 12,
	CHARIOT_REC_TYPES
};

/* Who granted a range (the ACT keeps it as the entry's tag). */
enum chariot_grant_kind {
	CHARIOT_GRANT_MODULE_DATA,	/* the module's own .data/.bss */
	CHARIOT_GRANT_KMALLOC,
	CHARIOT_GRANT_KMEM_CACHE,
	CHARIOT_GRANT_VMALLOC,		/* one physical page of a vmalloc area */
	CHARIOT_GRANT_PAGES,		/* page allocator */
	CHARIOT_GRANT_STACK,		/* the current task's kernel stack */
	CHARIOT_GRANT_IFACE,		/* an object passed through the interface */
	CHARIOT_GRANT_SKB,
	CHARIOT_GRANT_DMA,
	CHARIOT_GRANT_IOREMAP,
	CHARIOT_GRANT_KINDS
};

/* REVOKE: remove every range granted with (kind, cookie), not gpa/len. */
#define CHARIOT_REVOKE_BY_COOKIE	0x0001u

/*
 * One update, 32 bytes.  Fields by type (unused ones must be zero):
 *
 *   type             domain  vcpu  len           addr            cookie
 *   DOMAIN_CREATE    id      -     code length   code start GVA  name id
 *   DOMAIN_CODE      id      -     code length   code start GVA  -
 *   DOMAIN_DESTROY   id      -     -             -               -
 *   GRANT            id      -     bytes         GPA             cookie
 *   REVOKE           id      -     bytes         GPA             -
 *   REVOKE|BY_COOKIE id      -     -             -               cookie
 *   ENTER            id      vCPU  -             recovery frame  stack
 *   LEAVE            id      vCPU  -             -               -
 *   TRUSTED_RANGE    -       -     code length   code start GVA  -
 *   DOMAIN_UNCODE    id      -     code length   code start GVA  -
 *   PAGE_FREED       -       -     bytes         GPA             -
 *   THUNK            -       -     code length   code start GVA  -
 *   TRUSTED_GONE     -       -     code length   code start GVA  -
 *
 * ENTER's stack: the kernel stack the entry runs on (the task's, or the
 * CPU's IRQ stack for a softirq or hardirq), CHARIOT_ENTER_STACK(base,
 * bytes) with base and bytes page multiples; 0 when not known.  Driver
 * code writing on another stack runs in a context whose entry the guest
 * did not see (an interrupt that came while a kprobe handler ran, when
 * kprobes skip every probe on that CPU): the VMM does not hold it to the
 * entry's grants.
 * DOMAIN_UNCODE: a range DOMAIN_CODE gave is freed (init text, once the
 * module is live): its pages may hold anything from now on, and the VMM
 * must stop taking them for the driver's code (it switches views on
 * fetches from them).
 * PAGE_FREED: pages the guest freed whose bit is set in the system-page
 * map (chariot_abi.h); page-aligned.  Posted with a doorbell.
 * THUNK: kernel text a driver's own returns go through (the return thunk
 * its `ret`s were patched to jump to), writing nothing but the stack; at
 * most CHARIOT_THUNK_MAX_LEN bytes.  The VMM may let it run in the
 * protected view, so a return inside the driver does not switch views
 * twice.
 * TRUSTED_GONE: a range TRUSTED_RANGE gave (exactly) is unloaded (version
 * 7): its addresses may hold an isolated driver's code next, its pages
 * anything.
 * kind is the grant kind for GRANT and REVOKE|BY_COOKIE (a revocation by
 * range takes every kind).  A range larger than 4 GiB - 1 is posted as
 * several records.
 */
struct chariot_ring_rec {
	__u8 type;		/* enum chariot_rec_type */
	__u8 kind;		/* enum chariot_grant_kind */
	__u16 flags;		/* CHARIOT_REVOKE_BY_COOKIE */
	__u16 domain;
	__u16 vcpu;
	__u32 seq;		/* the free-running index it is posted at */
	__u32 len;
	__u64 addr;
	__u64 cookie;
};

#define CHARIOT_THUNK_MAX_LEN	4096u

/* ENTER's stack field: a page-aligned base, its size in pages below bit 12. */
#define CHARIOT_ENTER_STACK(base, bytes) \
	((__u64)(base) | (((__u64)(bytes) >> 12) & 0xfffu))
#define CHARIOT_ENTER_STACK_BASE(v)	((v) & ~(__u64)0xfff)
#define CHARIOT_ENTER_STACK_BYTES(v)	(((v) & 0xfffu) << 12)

/* The header, then capacity records; head and tail on their own lines. */
struct chariot_ring {
	/* written by the VMM at set-up */
	__u32 magic;		/* CHARIOT_RING_MAGIC */
	__u32 version;		/* CHARIOT_RING_VERSION */
	__u32 capacity;		/* records, a power of two */
	__u32 rec_size;		/* sizeof(struct chariot_ring_rec) */
	__u32 reserved0[12];
	/* written by the guest only */
	__u32 head;		/* records produced */
	__u32 reserved1[15];
	/* written by the VMM only */
	__u32 tail;		/* records consumed */
	__u32 reserved2[15];
	struct chariot_ring_rec rec[];
};

#endif /* CHARIOT_RING_H */
