#ifndef MODEL_LINUX_KPROBES_H
#define MODEL_LINUX_KPROBES_H
struct kprobe;
struct pt_regs;
#endif
