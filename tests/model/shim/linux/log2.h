#ifndef MODEL_LINUX_LOG2_H
#define MODEL_LINUX_LOG2_H
#define is_power_of_2(n)	((n) != 0 && ((n) & ((n) - 1)) == 0)
#endif
