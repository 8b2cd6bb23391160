#ifndef MODEL_LINUX_LIMITS_H
#define MODEL_LINUX_LIMITS_H
#include <stdint.h>
#define U32_MAX UINT32_MAX
#endif
