/* kernel_env.h - the little of the kernel that guest/monitor/ring.c and
 * post.c use, in user space, for tests/model (forced in with -include).
 *
 * Every access those files make to the shared ring goes through
 * READ_ONCE(), WRITE_ONCE(), smp_load_acquire(), smp_store_release() or
 * (a record into its slot) memcpy(); here the first four call
 * model_yield() first, the point where the model checker may run the VMM
 * (what it may do at another vCPU's exit: drain, open a page, close them),
 * and the copy is model_wrote_slot() (tests/model/model.h).  The raw spinlock is a
 * no-op: the model has one producer at a time, as the lock makes it. */
#ifndef MODEL_KERNEL_ENV_H
#define MODEL_KERNEL_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <linux/types.h>

#include "model.h"

#define READ_ONCE(x) \
	({ model_yield("READ_ONCE(" #x ")"); \
	   *(const volatile __typeof__(x) *)&(x); })
#define WRITE_ONCE(x, v) \
	do { model_yield("WRITE_ONCE(" #x ")"); \
	     *(volatile __typeof__(x) *)&(x) = (v); } while (0)
#define smp_load_acquire(p) \
	({ model_yield("smp_load_acquire(" #p ")"); \
	   __atomic_load_n(p, __ATOMIC_ACQUIRE); })
/* Through model_publish: a broken world may hold the record's bytes back
 * past head, to show what the release order prevents. */
#define smp_store_release(p, v) \
	do { model_yield("smp_store_release(" #p ")"); \
	     model_publish((p), (v)); } while (0)
/* ring.c copies whole records into the ring and nothing else. */
#define memcpy(d, s, n)	model_wrote_slot((d), (s), (n))

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)

#endif
