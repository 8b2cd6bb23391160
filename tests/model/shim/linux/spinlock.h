#ifndef MODEL_LINUX_SPINLOCK_H
#define MODEL_LINUX_SPINLOCK_H
/* One producer at a time in the model: what the lock guarantees. */
typedef struct { int held; } raw_spinlock_t;
#define DEFINE_RAW_SPINLOCK(x)	raw_spinlock_t x
#define raw_spin_lock_irqsave(l, f)	 ((void)(f), (l)->held = 1)
#define raw_spin_unlock_irqrestore(l, f) ((void)(f), (l)->held = 0)
#endif
