#ifndef MODEL_LINUX_OVERFLOW_H
#define MODEL_LINUX_OVERFLOW_H
#define struct_size(p, member, n) \
	(sizeof(*(p)) + (size_t)(n) * sizeof((p)->member[0]))
#endif
