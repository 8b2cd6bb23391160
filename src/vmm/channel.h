/* channel.h - the VMM's end of the guest <-> VMM interface
 * (include/chariot_abi.h): the Chariot I/O ports and the shared-memory area.
 *
 * Everything the guest writes is untrusted: an announcement is copied out
 * of shared memory once, then validated, then kept; a panic message is
 * copied bounded and made printable.  vCPU threads call channel_io()
 * concurrently; a mutex guards the state.  Events reach the VMM through
 * on_event, called without the lock held (it may call channel_state()). */
#ifndef CHARIOT_CHANNEL_H
#define CHARIOT_CHANNEL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "chariot_abi.h"

enum channel_event {
	CHANNEL_EV_INIT,		/* guest init started (time recorded) */
	CHANNEL_EV_ANNOUNCE,		/* an announcement was accepted */
	CHANNEL_EV_ANNOUNCE_REJECTED,	/* one was malformed (reason kept) */
	CHANNEL_EV_PANIC,		/* the guest kernel panics */
	CHANNEL_EV_EXIT,		/* the guest command ended (status kept) */
	CHANNEL_EV_POWEROFF,		/* the guest kernel powers off */
};

/* What the guest has told the VMM so far. */
struct channel_state {
	bool init_seen;
	struct timespec init_time;		/* CLOCK_MONOTONIC */
	bool announced;
	struct chariot_announce announce;	/* the last accepted one */
	unsigned int announce_rejected;
	const char *reject_reason;		/* of the last rejection */
	bool panicked;
	char panic_msg[CHARIOT_PANIC_LEN];	/* NUL-terminated, printable */
	bool exited;
	uint8_t exit_status;
	unsigned int bad_accesses;		/* ignored reads/writes/commands */
};

struct channel {
	pthread_mutex_t lock;
	uint8_t *shm;		/* host pointer to the area, or NULL */
	uint64_t shm_gpa;
	uint32_t shm_size;
	void (*on_event)(void *opaque, enum channel_event ev);
	void *opaque;
	struct channel_state st;
};

/* Bind c to the shared area at host pointer shm / guest-physical gpa of
 * size bytes (at least sizeof(struct chariot_shm), at most 4 GiB - 1;
 * shm NULL: no area), zero the area and write its header.  on_event may be
 * NULL.  Returns 0 or -EINVAL. */
int channel_init(struct channel *c, void *shm, uint64_t gpa, uint64_t size,
		 void (*on_event)(void *opaque, enum channel_event ev),
		 void *opaque);
void channel_destroy(struct channel *c);

/* Bus handler (bus_handler_fn) for the CHARIOT_PORT_LEN ports at
 * CHARIOT_PORT_BASE; opaque is the struct channel. */
void channel_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		bool is_write);

/* A consistent copy of what the guest has reported. */
void channel_state(struct channel *c, struct channel_state *out);

/* The accepted announcement as a JSON object, or null.  Returns 0 or
 * -EIO. */
int channel_announce_json(const struct channel *c, FILE *f);

/* The reason a raw announcement is malformed, or NULL when it is valid;
 * channel_io() applies it to its private copy. */
const char *channel_announce_check(const struct chariot_announce *a);

#endif
