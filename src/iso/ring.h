/* ring.h - the VMM's end of the guest -> VMM update ring
 * (include/chariot_ring.h): drain the records the guest posted, validate
 * each, apply the valid ones to the isolation state, count the rest by
 * reason.
 *
 * Nothing in shared memory is trusted: the capacity and tail used are the
 * VMM's private copies, head is clamped to one ring's worth, and each
 * record is copied out once before it is looked at.  Drain before every
 * verdict (so the grants a write needs are applied) and at every doorbell;
 * under the same lock as the verdicts (domain.h). */
#ifndef CHARIOT_RING_VMM_H
#define CHARIOT_RING_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "chariot_ring.h"
#include "iso/domain.h"

enum ring_err {
	RING_OK,
	RING_ERR_TYPE,		/* unknown record type */
	RING_ERR_FIELD,		/* unknown flag or kind, an unused field set,
				 * a cookie missing */
	RING_ERR_LEN,		/* length 0, or the range wraps */
	RING_ERR_GPA,		/* not inside guest RAM */
	RING_ERR_DOMAIN,	/* no such domain (or, to create, live) */
	RING_ERR_VCPU,		/* no such vCPU */
	RING_ERR_SEQ,		/* not posted at the index it was read from */
	RING_ERR_HEAD,		/* head beyond one ring's worth: per drain */
	RING_ERR_STATE,		/* well-formed but refused: ACT full, code
				 * overlap, bad nesting, ... */
	RING_ERRS
};

struct ring_stats {
	uint64_t drains;
	uint64_t applied;
	uint64_t rejected[RING_ERRS];	/* by reason; [RING_OK] unused */
};

struct ring_config {
	/* Is [gpa, gpa + len) guest RAM?  NULL: below ram_end. */
	bool (*gpa_ok)(void *opaque, uint64_t gpa, uint64_t len);
	/* PAGE_FREED: the guest freed [gpa, gpa + len).  May be NULL. */
	void (*page_freed)(void *opaque, uint64_t gpa, uint64_t len);
	void *opaque;
	uint64_t ram_end;
	unsigned int history;	/* records kept for ring_history() (debug) */
};

struct ring {
	struct chariot_ring *shared;
	uint32_t capacity;		/* records, a power of two */
	uint32_t tail;			/* next record to read */
	struct ring_config cfg;
	struct ring_stats stats;
	struct chariot_ring_rec *hist;	/* the last cfg.history applied */
	uint64_t nhist;
};

/* Lay a ring out over size bytes at mem (8-byte aligned; shared with the
 * guest), as many records as fit rounded down to a power of two (at least
 * 2).  Returns 0 or -EINVAL. */
int ring_init(struct ring *r, void *mem, size_t size,
	      const struct ring_config *cfg);

/* Read every record posted since the last drain (at most capacity),
 * applying the valid ones to iso.  Returns how many were read. */
uint32_t ring_drain(struct ring *r, struct iso *iso);

/* Why rec, read at free-running index seq, is malformed or does not fit
 * iso's state, or RING_OK. */
enum ring_err ring_check(const struct ring *r, const struct iso *iso,
			 const struct chariot_ring_rec *rec, uint32_t seq);

/* Debugging a false alarm (cfg.history): print to f the records kept that
 * touch [gpa, gpa + len): grants and revocations by range over it, and
 * the revocations by cookie of those grants' cookies. */
void ring_history(const struct ring *r, FILE *f, uint64_t gpa, uint64_t len);
void ring_destroy(struct ring *r);

/* "type", "gpa", ...; "?" for an unknown value. */
const char *ring_err_name(enum ring_err err);

#endif
