/* model.h - between the two halves of the ring model check
 * (tests/unit/test_ring_model.c): the producer half (tests/model/producer.c
 * with the monitor's ring.c and post.c, built over tests/model/shim, the
 * kernel's world) and the checker half (the VMM's code, user space's
 * world).  Plain C types only: each half has its own headers. */
#ifndef CHARIOT_MODEL_H
#define CHARIOT_MODEL_H

#include <stddef.h>
#include <stdint.h>

/* ---- the checker half: called by the producer ---- */

/* A shared-memory access of the producer is next: the VMM may act. */
void model_yield(const char *where);
/* ring.c copies a record into a slot; head is stored with release. */
void model_wrote_slot(void *dst, const void *src, size_t len);
void model_publish(uint32_t *p, uint32_t v);
/* The monitor's channel: its shared area and its doorbell (an exit). */
void *model_shm(void);
void model_doorbell(unsigned int cmd);
/* The scenario's events: what one returning owes (MODEL_EV_*). */
#define MODEL_EV_PROMPT	0x1u	/* holds an ENTER, LEAVE, REVOKE or PAGE_FREED */
#define MODEL_EV_REVOKE	0x2u	/* holds a REVOKE */
void model_event_done(unsigned int flags);
/* A number below n, the same sequence in every schedule of a search. */
unsigned int model_random(unsigned int n);
void model_fail(const char *what);

/* ---- the producer half: called by the checker ---- */

/* The doorbell reasons (the monitor's enum chariot_doorbell_reason). */
enum { MODEL_DB_ENTER, MODEL_DB_LEAVE, MODEL_DB_REVOKE, MODEL_DB_EMPTY,
       MODEL_DB_KICK, MODEL_DB_FULL, MODEL_DB_FREED, MODEL_DB_REASONS };

struct model_counts {
	int64_t doorbells[MODEL_DB_REASONS];
	int64_t full_waits;
	int64_t dropped;
};

/* Counters zeroed, the ring (laid out by the VMM) opened.  0 or -errno. */
int model_producer_start(void);
/* The scenarios: their events, each ending in model_event_done(). */
enum model_scenario {
	MODEL_LIFE,		/* a driver's life, one event at a time */
	MODEL_INTERLEAVED,	/* a free posted between another CPU's parts */
	MODEL_RANDOM,		/* events drawn by model_random() */
	MODEL_SCENARIOS
};
void model_producer_scenario(enum model_scenario which);
void model_producer_stop(void);
void model_producer_counts(struct model_counts *c);

#endif
