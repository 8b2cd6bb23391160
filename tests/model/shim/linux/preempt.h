#ifndef MODEL_LINUX_PREEMPT_H
#define MODEL_LINUX_PREEMPT_H
struct preempt_notifier { int unused; };
#endif
