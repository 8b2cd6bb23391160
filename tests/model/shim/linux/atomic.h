#ifndef MODEL_LINUX_ATOMIC_H
#define MODEL_LINUX_ATOMIC_H
#include <linux/types.h>
typedef struct { s64 counter; } atomic64_t;
#define atomic64_inc(v)		((v)->counter++)
#define atomic64_add(n, v)	((v)->counter += (n))
#define atomic64_read(v)	((v)->counter)
#endif
